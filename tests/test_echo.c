/* Echo prevention (plugins/common/echo.c): which differences between what
 * a source saw last and what it sees now hlbridge's own writes explain. */
#include "check_main.h"

#include <stddef.h>
#include <string.h>

#include <json-c/json.h>

#include "../plugins/common/echo.h"

/* The writes the fake host knows: {"time_ms", "fields"}, oldest first. */
static struct json_object *writes;

static struct json_object *fake_echo_since(hlb_instance *inst, const char *object, int64_t since_ms)
{
	struct json_object *out = json_object_new_array();

	(void)inst;
	ck_assert_str_eq(object, "ghl:L:contact:C");
	for (size_t i = 0; i < json_object_array_length(writes); i++) {
		struct json_object *w = json_object_array_get_idx(writes, i), *t;

		json_object_object_get_ex(w, "time_ms", &t);
		if (json_object_get_int64(t) > since_ms)
			json_object_array_add(out, json_object_get(w));
	}
	return out;
}

static hlb_host host;
static const char *const fields[] = { "email", "phone", "tags", NULL };

static void setup(void)
{
	memset(&host, 0, sizeof(host));
	host.size = sizeof(host);
	host.echo_since = fake_echo_since;
	writes = json_object_new_array();
}

static void teardown(void)
{
	json_object_put(writes);
}

static void wrote(int64_t t, const char *fields_json)
{
	struct json_object *w = json_object_new_object();

	json_object_object_add(w, "time_ms", json_object_new_int64(t));
	json_object_object_add(w, "fields", json_tokener_parse(fields_json));
	json_object_array_add(writes, w);
}

/* echo_explains on JSON texts (before may be NULL: never seen). */
static int explains(const char *before, int64_t before_ms, const char *now)
{
	struct json_object *b = before ? json_tokener_parse(before) : NULL, *n = json_tokener_parse(now);
	int r = echo_explains(&host, NULL, "ghl:L:contact:C", b, before_ms, n, fields);

	json_object_put(b);
	json_object_put(n);
	return r;
}

START_TEST(test_own_writes)
{
	/* a contact hlbridge created: every field and tag is its own */
	wrote(100, "{\"email\":\"a@x.it\",\"phone\":\"+39333\"}");
	wrote(101, "{\"tags+\":[\"octorate:confirmed\"]}");
	ck_assert_int_eq(explains(NULL, 0, "{\"email\":\"a@x.it\",\"phone\":\"+39333\",\"tags\":[\"octorate:confirmed\"]}"), 1);
	/* the status tag replaced (added, then the old one removed) */
	wrote(200, "{\"tags+\":[\"octorate:cancelled\"]}");
	wrote(201, "{\"tags-\":[\"octorate:confirmed\"]}");
	ck_assert_int_eq(explains("{\"email\":\"a@x.it\",\"tags\":[\"octorate:confirmed\",\"vip\"]}", 150,
				  "{\"email\":\"a@x.it\",\"tags\":[\"octorate:cancelled\",\"vip\"]}"), 1);
}
END_TEST

START_TEST(test_user_changes)
{
	wrote(200, "{\"tags+\":[\"octorate:waiting\"]}");
	/* nothing written since the source looked */
	ck_assert_int_eq(explains("{\"tags\":[]}", 250, "{\"tags\":[\"octorate:waiting\"]}"), 0);
	/* a user's tag added meanwhile, beside hlbridge's */
	ck_assert_int_eq(explains("{\"tags\":[]}", 150, "{\"tags\":[\"octorate:waiting\",\"vip\"]}"), 0);
	/* a user undoing hlbridge's earlier write: nothing written since */
	ck_assert_int_eq(explains("{\"tags\":[\"octorate:waiting\"]}", 250, "{\"tags\":[]}"), 0);
	/* a field hlbridge set, then a user changed to something else */
	wrote(300, "{\"email\":\"b@x.it\"}");
	ck_assert_int_eq(explains("{\"email\":\"a@x.it\"}", 250, "{\"email\":\"c@x.it\"}"), 0);
	ck_assert_int_eq(explains("{\"email\":\"a@x.it\"}", 250, "{\"email\":\"b@x.it\"}"), 1);
	/* the latest write counts: b then d, and the contact shows b */
	wrote(310, "{\"email\":\"d@x.it\"}");
	ck_assert_int_eq(explains("{\"email\":\"a@x.it\"}", 250, "{\"email\":\"b@x.it\"}"), 0);
	/* no difference at all is no echo to drop */
	ck_assert_int_eq(explains("{\"email\":\"d@x.it\"}", 250, "{\"email\":\"d@x.it\"}"), 0);
	/* a field that disappeared, where hlbridge wrote none */
	ck_assert_int_eq(explains("{\"phone\":\"+39333\"}", 250, "{}"), 0);
}
END_TEST

START_TEST(test_old_host)
{
	wrote(100, "{\"email\":\"a@x.it\"}");
	host.size = offsetof(hlb_host, echo_put); /* an ABI 1.2 host */
	ck_assert_int_eq(explains(NULL, 0, "{\"email\":\"a@x.it\"}"), 0);
}
END_TEST

static Suite *test_suite(void)
{
	Suite *s = suite_create("echo");
	TCase *tc = tcase_create("explains");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_own_writes);
	tcase_add_test(tc, test_user_changes);
	tcase_add_test(tc, test_old_host);
	suite_add_tcase(s, tc);
	return s;
}
