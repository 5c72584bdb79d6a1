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

	ck_assert_str_eq(op->info.method, "DELETE");
	ck_assert_str_eq(op->info.path, "/contacts/{contactId}/tags");
	ck_assert_str_eq(op->info.scope, "contacts.write");
	ck_assert_str_eq(op->version, "2021-07-28");
	ck_assert_str_eq(ghl_op_find("contacts.upsert")->info.path, "/contacts/upsert");
	ck_assert_str_eq(ghl_op_find("opportunities.upsert")->info.scope, "opportunities.write");
	ck_assert_int_eq(ghl_op_find("contacts.search")->paging, GHL_PAGING_SEARCH_BODY);
	ck_assert_int_eq(ghl_op_is_sink(ghl_op_find("contacts.search")), 0);
	ck_assert_int_eq(ghl_op_is_sink(ghl_op_find("contacts.create_task")), 1);
	ck_assert_ptr_null(ghl_op_find("contacts.nope"));
	/* every action is a sink operation; the list is cut to the buffer */
	ghl_ops_sink_names(names, sizeof(names));
	ck_assert_ptr_nonnull(strstr(names, "contacts.update, contacts.find"));
	ck_assert_uint_lt(strlen(names), sizeof(names));
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

/* ---- the generic request builders ---- */

/* A row of the shape the catalog has, for the generic functions alone. */
static const ghl_op note_op = {
	{ "t.update_note", "Update Test Note", "Tests", "Action", "PUT", "/things/{contactId}/notes/{id}", NULL,
	  NULL, NULL, "location", 0, NULL },
	"2021-07-28", GHL_PAGING_NONE,
	"id=noteId!,locationId!,ids,q", "body!,userId,count,done,customFields,locationId", NULL, "note", NULL,
	"noteId,lastNoteId", GHL_OPF_CREATE, NULL, NULL
};

static ghl_build_rc path_of(const ghl_op *op, ghl_op_ctx *ctx, char *out, size_t len)
{
	ghl_buf path;
	ghl_build_rc rc;

	ghl_buf_init(&path, 0);
	ck_assert_int_eq(ghl_buf_add(&path, "X", 1), 0);
	rc = ghl_op_path(op, ctx, &path);
	/* on failure the buffer is as it was */
	if (rc != GHL_BUILD_OK)
		ck_assert_str_eq(path.data, "X");
	snprintf(out, len, "%s", path.data + 1);
	ghl_buf_free(&path);
	return rc;
}

START_TEST(test_generic_path)
{
	json_object *rec = parse("{\"contactId\":\"c 1/é\",\"noteId\":\"n1\",\"ids\":[\"a&b\",2,true,{}],"
				 "\"q\":\"x y\",\"id\":\"not-this\"}");
	ghl_op_ctx ctx;
	char out[512];

	ghl_op_ctx_init(&ctx, &conf, rec, "loc/1");
	/* the alias id=noteId, percent-encoding, the location, arrays repeated */
	ck_assert_int_eq(path_of(&note_op, &ctx, out, sizeof(out)), GHL_BUILD_OK);
	ck_assert_str_eq(out, "/things/c%201%2F%C3%A9/notes/n1?locationId=loc%2F1&ids=a%26b&ids=2&ids=true&q=x%20y");
	/* vars come before the record */
	ctx.vars = parse("{\"noteId\":\"fromvar\",\"q\":7}");
	ck_assert_int_eq(path_of(&note_op, &ctx, out, sizeof(out)), GHL_BUILD_OK);
	ck_assert_str_eq(out, "/things/c%201%2F%C3%A9/notes/fromvar?locationId=loc%2F1&ids=a%26b&ids=2&ids=true&q=7");
	ck_assert_str_eq(ghl_op_value(&ctx, "q"), "7");
	ck_assert_str_eq(ghl_op_value(&ctx, "locationId"), "loc/1");
	ck_assert_ptr_null(ghl_op_value(&ctx, "ids"));
	ck_assert_ptr_null(ghl_op_value(&ctx, "nothing"));
	ghl_op_ctx_clear(&ctx);
	json_object_put(rec);

	/* a required alias missing names both names */
	rec = parse("{\"contactId\":\"c1\",\"noteId\":\"\"}");
	ghl_op_ctx_init(&ctx, &conf, rec, "loc1");
	ck_assert_int_eq(path_of(&note_op, &ctx, out, sizeof(out)), GHL_BUILD_FAIL);
	ck_assert_str_eq(ctx.error, "Update Test Note (t.update_note) needs id (noteId): the record has no noteId "
			 "and no earlier operation yielded one");
	ghl_op_ctx_clear(&ctx);
	json_object_put(rec);

	/* a required query member missing (no location) */
	rec = parse("{\"contactId\":\"c1\",\"noteId\":\"n\"}");
	ghl_op_ctx_init(&ctx, &conf, rec, NULL);
	ck_assert_int_eq(path_of(&note_op, &ctx, out, sizeof(out)), GHL_BUILD_FAIL);
	ck_assert_ptr_nonnull(strstr(ctx.error, "needs locationId: the record has no locationId"));
	ghl_op_ctx_clear(&ctx);
	json_object_put(rec);

	/* a placeholder without alias is required as itself; the upserted
	 * contact comes before the record's contactId */
	rec = parse("{\"noteId\":\"n\"}");
	ghl_op_ctx_init(&ctx, &conf, rec, "L");
	ck_assert_int_eq(path_of(ghl_op_find("contacts.create_task"), &ctx, out, sizeof(out)), GHL_BUILD_FAIL);
	ck_assert_str_eq(ctx.error, "Create Contact Task (contacts.create_task) needs contactId: the record has no "
			 "contactId and no earlier operation yielded one");
	snprintf(ctx.contact_id, sizeof(ctx.contact_id), "up1");
	ck_assert_int_eq(path_of(ghl_op_find("contacts.create_task"), &ctx, out, sizeof(out)), GHL_BUILD_OK);
	ck_assert_ptr_nonnull(strstr(out, "/contacts/up1/tasks"));
	ghl_op_ctx_clear(&ctx);
	json_object_put(rec);
}
END_TEST

START_TEST(test_generic_body)
{
	json_object *rec = parse("{\"body\":\"hi\",\"count\":3,\"done\":false,\"userId\":null,"
				 "\"customFields\":{\"contact.room\":\"12\"},\"extra\":1}");
	json_object *body = NULL;
	ghl_op_ctx ctx;

	ghl_op_ctx_init(&ctx, &conf, rec, "loc1");
	ck_assert_int_eq(ghl_op_body(&note_op, &ctx, &body), GHL_BUILD_OK);
	/* JSON values as they are, null as absent, the location filled in, nothing unlisted */
	ck_assert_str_eq(js(body), "{\"body\":\"hi\",\"count\":3,\"done\":false,\"customFields\":{\"contact.room\":"
			 "\"12\"},\"locationId\":\"loc1\"}");
	json_object_put(body);
	ghl_op_ctx_clear(&ctx);
	json_object_put(rec);

	rec = parse("{\"count\":3}");
	ghl_op_ctx_init(&ctx, &conf, rec, "loc1");
	body = (json_object *)1;
	ck_assert_int_eq(ghl_op_body(&note_op, &ctx, &body), GHL_BUILD_FAIL);
	ck_assert_ptr_null(body);
	ck_assert_ptr_nonnull(strstr(ctx.error, "needs body: the record has no body"));
	/* a row whose API takes a list gets the object in one */
	{
		ghl_op list_op = note_op;

		list_op.flags |= GHL_OPF_BODY_ARRAY;
		json_object_object_add(rec, "body", json_object_new_string("b"));
		ck_assert_int_eq(ghl_op_body(&list_op, &ctx, &body), GHL_BUILD_OK);
		ck_assert_str_eq(js(body), "[{\"body\":\"b\",\"count\":3,\"locationId\":\"loc1\"}]");
		json_object_put(body);
		json_object_object_del(rec, "body");
	}
	/* a row without body members sends none */
	ck_assert_int_eq(ghl_op_body(ghl_op_find("contacts.delete"), &ctx, &body), GHL_BUILD_OK);
	ck_assert_ptr_null(body);
	ghl_op_ctx_clear(&ctx);
	json_object_put(rec);

	/* the operation's own part of the record comes first: one record,
	 * a task and a note with a body each */
	rec = parse("{\"body\":\"shared\",\"count\":3,\"create_note\":{\"body\":\"the note\"},"
		    "\"create_task\":{\"body\":\"the task\"}}");
	ghl_op_ctx_init(&ctx, &conf, rec, "loc1");
	ctx.scope = "create_note";
	ck_assert_int_eq(ghl_op_body(&note_op, &ctx, &body), GHL_BUILD_OK);
	ck_assert_str_eq(js(body), "{\"body\":\"the note\",\"count\":3,\"locationId\":\"loc1\"}");
	json_object_put(body);
	ctx.scope = "update_note";
	ck_assert_int_eq(ghl_op_body(&note_op, &ctx, &body), GHL_BUILD_OK);
	ck_assert_str_eq(js(body), "{\"body\":\"shared\",\"count\":3,\"locationId\":\"loc1\"}");
	json_object_put(body);
	ghl_op_ctx_clear(&ctx);
	json_object_put(rec);
}
END_TEST

START_TEST(test_generic_result)
{
	json_object *answer = parse("{\"note\":{\"id\":\"N9\",\"body\":\"x\"}}");
	json_object *bad = parse("{\"succeeded\":true}");
	static const ghl_op contact_op = {
		{ "t.create", "T", "Tests", "Action", "POST", "/c", NULL, NULL, NULL, "location", 0, NULL },
		"2021-07-28", GHL_PAGING_NONE, NULL, NULL, NULL, "contact", "_id", "contactId", 0,
		NULL, NULL
	};
	json_object *canswer = parse("{\"contact\":{\"_id\":\"C7\"}}");
	ghl_op_ctx ctx;

	ghl_op_ctx_init(&ctx, &conf, NULL, "loc1");
	ck_assert_int_eq(ghl_op_result(&note_op, &ctx, answer), GHL_BUILD_OK);
	ck_assert_str_eq(ghl_op_value(&ctx, "noteId"), "N9");
	ck_assert_str_eq(ghl_op_value(&ctx, "lastNoteId"), "N9");
	ck_assert_str_eq(ghl_op_answer_id(&note_op, answer), "N9");
	ck_assert_str_eq(ctx.contact_id, "");
	ck_assert_int_eq(ghl_op_result(&note_op, &ctx, bad), GHL_BUILD_FAIL);
	ck_assert_str_eq(ctx.error, "the answer has no note.id");
	/* no yields: nothing to read */
	ck_assert_int_eq(ghl_op_result(ghl_op_find("contacts.delete"), &ctx, bad), GHL_BUILD_OK);
	/* a contact's id is the ctx's contact too, with its id_key */
	ck_assert_int_eq(ghl_op_result(&contact_op, &ctx, canswer), GHL_BUILD_OK);
	ck_assert_str_eq(ctx.contact_id, "C7");
	ck_assert_str_eq(ghl_op_value(&ctx, "contactId"), "C7");
	ck_assert_int_eq(ghl_op_yield(&note_op, &ctx, "N10"), GHL_BUILD_OK);
	ck_assert_str_eq(ghl_op_value(&ctx, "noteId"), "N10");
	ghl_op_ctx_clear(&ctx);
	json_object_put(answer);
	json_object_put(bad);
	json_object_put(canswer);
}
END_TEST

START_TEST(test_custom_fields)
{
	json_object *defs = parse("{\"customFields\":[{\"id\":\"F1\",\"fieldKey\":\"contact.guest_room\"},"
				  "{\"id\":\"F2\",\"fieldKey\":\"contact.nights\"},{\"name\":\"no id\"}]}");
	json_object *body = parse("{\"customFields\":{\"contact.guest_room\":\"12\",\"nights\":3,\"F1\":\"x\"}}");
	json_object *arr = parse("{\"customFields\":[{\"id\":\"F1\",\"field_value\":\"1\"}]}");
	char unknown[64];

	ck_assert_int_eq(ghl_custom_fields_pending(body), 1);
	ck_assert_int_eq(ghl_custom_fields_resolve(body, defs, unknown, sizeof(unknown)), GHL_BUILD_OK);
	ck_assert_str_eq(js(body), "{\"customFields\":[{\"id\":\"F1\",\"field_value\":\"12\"},{\"id\":\"F2\","
			 "\"field_value\":3},{\"id\":\"F1\",\"field_value\":\"x\"}]}");
	ck_assert_int_eq(ghl_custom_fields_pending(body), 0);
	/* an array passes unchanged */
	ck_assert_int_eq(ghl_custom_fields_pending(arr), 0);
	ck_assert_int_eq(ghl_custom_fields_resolve(arr, defs, unknown, sizeof(unknown)), GHL_BUILD_OK);
	ck_assert_str_eq(js(arr), "{\"customFields\":[{\"id\":\"F1\",\"field_value\":\"1\"}]}");
	json_object_put(body);
	body = parse("{\"customFields\":{\"contact.guest_room\":\"12\",\"contact.nope\":1}}");
	ck_assert_int_eq(ghl_custom_fields_resolve(body, defs, unknown, sizeof(unknown)), GHL_BUILD_FAIL);
	ck_assert_str_eq(unknown, "contact.nope");
	ck_assert_int_eq(ghl_custom_fields_pending(body), 1);
	json_object_put(body);
	json_object_put(arr);
	json_object_put(defs);
}
END_TEST

/* Adds "x-<name>" for every member a `params`/`body` list names (the
 * member after '=', without '!'). */
static void add_members(json_object *rec, const char *list)
{
	char buf[1024], *save = NULL;

	if (!list)
		return;
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(w, '='), *bang, name[128];

		while (*w == ' ')
			w++;
		snprintf(name, sizeof(name), "%s", eq ? eq + 1 : w);
		if ((bang = strchr(name, '!')))
			*bang = 0;
		json_object_object_add(rec, name, json_object_new_string("v"));
	}
}

/* Every action row: a record with every member its path, params and body
 * name builds a path with no placeholder left and a body with every
 * required member. */
START_TEST(test_all_actions_build)
{
	size_t checked = 0;

	for (size_t i = 0; i < ghl_ops_count; i++) {
		const ghl_op *op = &ghl_ops[i];
		json_object *rec, *body = NULL;
		ghl_op_ctx ctx;
		ghl_buf path;
		ghl_build_rc rc;

		if (!ghl_op_is_sink(op) || op->build)
			continue; /* the builders have their own tests */
		rec = json_object_new_object();
		for (const char *p = strchr(op->info.path, '{'); p; p = strchr(p + 1, '{')) {
			char name[128];

			snprintf(name, sizeof(name), "%.*s", (int)strcspn(p + 1, "}"), p + 1);
			json_object_object_add(rec, name, json_object_new_string("v"));
		}
		add_members(rec, op->params);
		add_members(rec, op->body);
		ghl_op_ctx_init(&ctx, &conf, rec, "loc1");
		ghl_buf_init(&path, 0);
		rc = ghl_op_path(op, &ctx, &path);
		if (rc != GHL_BUILD_OK || strchr(path.data, '{'))
			ck_abort_msg("%s: path %s: %s", op->info.name, path.data ? path.data : "", ctx.error);
		rc = ghl_op_body(op, &ctx, &body);
		if (rc != GHL_BUILD_OK)
			ck_abort_msg("%s: body: %s", op->info.name, ctx.error);
		if (op->body && !body)
			ck_abort_msg("%s: no body", op->info.name);
		if (!op->body && body)
			ck_abort_msg("%s: a body it does not list", op->info.name);
		if (op->info.method[0] == 'G' && op->body)
			ck_abort_msg("%s: a GET with a body", op->info.name);
		json_object_put(body);
		ghl_buf_free(&path);
		ghl_op_ctx_clear(&ctx);
		json_object_put(rec);
		checked++;
	}
	ck_assert_uint_gt(checked, 50);
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
	tcase_add_test(tc, test_generic_path);
	tcase_add_test(tc, test_generic_body);
	tcase_add_test(tc, test_generic_result);
	tcase_add_test(tc, test_custom_fields);
	tcase_add_test(tc, test_all_actions_build);
	suite_add_tcase(s, tc);
	return s;
}
