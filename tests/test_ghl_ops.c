/* plugins/ghl/ghl_ops.c: the operation table and its body builders and
 * result handlers, without a server. */
#include "check_main.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "../plugins/ghl/ghl_ops.h"

static json_object *parse(const char *text)
{
	json_object *o = json_tokener_parse(text);

	ck_assert_ptr_nonnull(o);
	return o;
}

static const char *js(json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
}

static ghl_sink_conf conf;

static void setup(void)
{
	memset(&conf, 0, sizeof(conf));
	conf.country = "IT";
	conf.tag_prefix = "octorate:";
	conf.pipeline_id = "pipe1";
	conf.stages = parse("{\"confirmed\":\"stageC\",\"cancelled\":\"stageX\"}");
	conf.statuses = parse("{\"cancelled\":\"abandoned\"}");
}

static void teardown(void)
{
	json_object_put(conf.stages);
	json_object_put(conf.statuses);
}

/* Builds `op` for a record; the body (or NULL) as text into out. */
static ghl_build_rc build(const char *op_name, ghl_op_ctx *ctx, char *out, size_t len)
{
	const ghl_op *op = ghl_op_find(op_name);
	json_object *body = NULL;
	ghl_build_rc rc;

	ck_assert_ptr_nonnull(op);
	rc = op->build(ctx, &body);
	snprintf(out, len, "%s", body ? js(body) : "");
	json_object_put(body);
	return rc;
}

START_TEST(test_table)
{
	const ghl_op *op = ghl_op_find("contacts.remove_tags");
	char names[256];

	ck_assert_str_eq(op->method, "DELETE");
	ck_assert_str_eq(op->path, "/contacts/{contactId}/tags");
	ck_assert_str_eq(op->scope, "contacts.write");
	ck_assert_str_eq(op->version, "2021-07-28");
	ck_assert_str_eq(ghl_op_find("contacts.upsert")->path, "/contacts/upsert");
	ck_assert_str_eq(ghl_op_find("opportunities.upsert")->scope, "opportunities.write");
	ck_assert_int_eq(ghl_op_find("contacts.search")->paging, GHL_PAGING_SEARCH_BODY);
	ck_assert_int_eq(ghl_op_is_sink(ghl_op_find("contacts.search")), 0);
	ck_assert_ptr_null(ghl_op_find("contacts.nope"));
	ghl_ops_sink_names(names, sizeof(names));
	ck_assert_str_eq(names, "contacts.update, contacts.upsert, contacts.add_tags, contacts.remove_tags, "
			 "opportunities.upsert");
}
END_TEST

START_TEST(test_upsert_body)
{
	json_object *rec = parse("{\"email\":\" Anna@Example.COM \",\"phone\":\"333 123 4567\",\"firstName\":\"Anna\","
				 "\"tags\":[\"x\"],\"status\":\"confirmed\"}");
	ghl_op_ctx ctx;
	char out[512];

	ghl_op_ctx_init(&ctx, &conf, rec, "loc1");
	ck_assert_int_eq(build("contacts.upsert", &ctx, out, sizeof(out)), GHL_BUILD_OK);
	/* normalised, and never the tags */
	ck_assert_str_eq(out, "{\"locationId\":\"loc1\",\"email\":\"anna@example.com\",\"phone\":\"+393331234567\","
			 "\"firstName\":\"Anna\"}");
	ck_assert_int_eq(build("contacts.update", &ctx, out, sizeof(out)), GHL_BUILD_OK);
	ck_assert_ptr_null(strstr(out, "tags"));
	ck_assert_ptr_null(strstr(out, "locationId"));
	ghl_op_ctx_clear(&ctx);
	json_object_put(rec);

	rec = parse("{\"firstName\":\"Nobody\",\"phone\":\"n/a\"}");
	ghl_op_ctx_init(&ctx, &conf, rec, "loc1");
	ck_assert_int_eq(build("contacts.upsert", &ctx, out, sizeof(out)), GHL_BUILD_FAIL);
	ck_assert_ptr_nonnull(strstr(ctx.error, "usable"));
	ghl_op_ctx_clear(&ctx);
	json_object_put(rec);
}
END_TEST

START_TEST(test_contact_result_and_path)
{
	json_object *rec = parse("{\"tags\":\"Octorate:CANCELLED\"}");
	json_object *answer = parse("{\"new\":true,\"contact\":{\"id\":\"c1/x\",\"email\":\"a@b.it\","
				    "\"tags\":[\"vip\",\"octorate:confirmed\"]}}");
	ghl_op_ctx ctx;
	ghl_buf path;
	char out[512];

	ghl_op_ctx_init(&ctx, &conf, rec, "loc1");
	ghl_buf_init(&path, 0);
	ck_assert_int_eq(ghl_op_path(ghl_op_find("contacts.add_tags"), &ctx, &path), GHL_BUILD_FAIL);
	ck_assert_int_eq(ghl_op_find("contacts.upsert")->result(&ctx, answer), GHL_BUILD_OK);
	ck_assert_str_eq(ctx.contact_id, "c1/x");
	ck_assert_int_eq(ghl_op_path(ghl_op_find("contacts.add_tags"), &ctx, &path), GHL_BUILD_OK);
	ck_assert_str_eq(path.data, "/contacts/c1%2Fx/tags");
	ghl_buf_free(&path);
	ck_assert_int_eq(build("contacts.add_tags", &ctx, out, sizeof(out)), GHL_BUILD_OK);
	ck_assert_str_eq(out, "{\"tags\":[\"octorate:cancelled\"]}");
	/* the stale status tag goes, the others stay */
	ctx.prune = 1;
	ck_assert_int_eq(build("contacts.remove_tags", &ctx, out, sizeof(out)), GHL_BUILD_OK);
	ck_assert_str_eq(out, "{\"tags\":[\"octorate:confirmed\"]}");
	ghl_op_ctx_clear(&ctx);
	json_object_put(rec);
	json_object_put(answer);
}
END_TEST

START_TEST(test_prune_needs_a_prefixed_tag)
{
	json_object *rec = parse("{\"contactId\":\"c1\",\"tags\":[\"vip\"]}");
	ghl_op_ctx ctx;
	char out[256];

	ghl_op_ctx_init(&ctx, &conf, rec, "loc1");
	ctx.tags = parse("[\"octorate:confirmed\",\"vip\"]");
	ctx.prune = 1;
	ck_assert_int_eq(build("contacts.remove_tags", &ctx, out, sizeof(out)), GHL_BUILD_SKIP);
	ctx.prune = 0;
	ck_assert_int_eq(build("contacts.remove_tags", &ctx, out, sizeof(out)), GHL_BUILD_SKIP);
	ghl_op_ctx_clear(&ctx);
	json_object_put(rec);
}
END_TEST

START_TEST(test_opportunity)
{
	json_object *rec = parse("{\"firstName\":\"Anna\",\"lastName\":\"Rossi\",\"status\":\"cancelled\","
				 "\"total\":\"120.5\",\"contactId\":\"c9\"}");
	ghl_op_ctx ctx;
	char out[512];

	ghl_op_ctx_init(&ctx, &conf, rec, "loc1");
	ck_assert_int_eq(build("opportunities.upsert", &ctx, out, sizeof(out)), GHL_BUILD_OK);
	ck_assert_str_eq(out, "{\"pipelineId\":\"pipe1\",\"locationId\":\"loc1\",\"contactId\":\"c9\","
			 "\"name\":\"Anna Rossi\",\"status\":\"abandoned\",\"pipelineStageId\":\"stageX\","
			 "\"monetaryValue\":120.5,\"followers\":[],\"isRemoveAllFollowers\":false,"
			 "\"followersActionType\":\"add\"}");
	ghl_op_ctx_clear(&ctx);
	json_object_put(rec);

	rec = parse("{\"firstName\":\"Anna\",\"status\":\"lost\",\"contactId\":\"c9\"}");
	ghl_op_ctx_init(&ctx, &conf, rec, "loc1");
	ck_assert_int_eq(build("opportunities.upsert", &ctx, out, sizeof(out)), GHL_BUILD_FAIL);
	ck_assert_ptr_nonnull(strstr(ctx.error, "stage.<status>"));
	ghl_op_ctx_clear(&ctx);
	json_object_put(rec);

	rec = parse("{\"firstName\":\"Anna\",\"status\":\"confirmed\"}");
	ghl_op_ctx_init(&ctx, &conf, rec, "loc1");
	ck_assert_int_eq(build("opportunities.upsert", &ctx, out, sizeof(out)), GHL_BUILD_FAIL);
	ck_assert_ptr_nonnull(strstr(ctx.error, "no contact id"));
	ghl_op_ctx_clear(&ctx);
	json_object_put(rec);
}
END_TEST

START_TEST(test_contact_view)
{
	json_object *c = parse("{\"id\":\"c1\",\"email\":\"a@b.it\",\"firstName\":\"A\",\"phone\":\"\","
			       "\"tags\":[\"Zeta\",\"alpha\",\"zeta\"]}");
	json_object *v = ghl_contact_view(c, NULL);

	ck_assert_str_eq(js(v), "{\"email\":\"a@b.it\",\"phone\":null,\"firstName\":\"A\",\"lastName\":null,"
			 "\"tags\":[\"alpha\",\"zeta\"]}");
	json_object_put(v);
	json_object_put(c);
}
END_TEST

static Suite *test_suite(void)
{
	Suite *s = suite_create("ghl_ops");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_table);
	tcase_add_test(tc, test_upsert_body);
	tcase_add_test(tc, test_contact_result_and_path);
	tcase_add_test(tc, test_prune_needs_a_prefixed_tag);
	tcase_add_test(tc, test_opportunity);
	tcase_add_test(tc, test_contact_view);
	suite_add_tcase(s, tc);
	return s;
}
