/* Unit tests of the JSON paths plugins reach through hlb_host's path_*
 * services (core/jpath.c): compiling, reading, writing and removing. */
#include "check_main.h"
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "hlbridge/hlbridge.h"
#include "jpath.h"

static const char *doc_text =
	"{\"a\":{\"b\":{\"c\":42}},\"arr\":[10,20,30],"
	"\"nested\":[{\"id\":\"x\"},{\"id\":\"y\",\"tags\":[\"t1\",\"t2\"]}],"
	"\"nul\":null,\"str\":\"text\",\"dot.key\":1,\"q\\\"uote\":2,\"back\\\\slash\":3,"
	"\"sp ace\":4,\"\":5}";

static struct json_object *doc(void)
{
	struct json_object *o = json_tokener_parse(doc_text);

	ck_assert_ptr_nonnull(o);
	return o;
}

static hlb_path *must_compile(const char *text)
{
	char err[256] = "";
	hlb_path *p = hc_jpath_compile(text, err, sizeof(err));

	ck_assert_msg(p != NULL, "%s: %s", text, err);
	ck_assert_str_eq(hc_jpath_text(p), text);
	return p;
}

static const char *plain(struct json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
}

/* ---- compile ------------------------------------------------------------ */

/* Each bad path must fail with a message naming the path, the column and
 * what was expected there. */
static void bad_path(const char *text, unsigned col, const char *what)
{
	char err[256] = "untouched", want[64];
	hlb_path *p = hc_jpath_compile(text, err, sizeof(err));

	ck_assert_msg(p == NULL, "'%s' compiled", text ? text : "(null)");
	ck_assert_msg(strstr(err, what) != NULL, "'%s': \"%s\" lacks \"%s\"", text ? text : "(null)", err, what);
	snprintf(want, sizeof(want), "at column %u:", col);
	ck_assert_msg(strstr(err, want) != NULL, "'%s': \"%s\" lacks \"%s\"", text ? text : "(null)", err, want);
	if (text) {
		snprintf(want, sizeof(want), "'%s'", text);
		ck_assert_msg(strstr(err, want) != NULL, "'%s': \"%s\" does not quote the path", text, err);
	}
}

START_TEST(test_compile_errors)
{
	bad_path("a.b", 1, "starts with '$'");
	bad_path("", 1, "starts with '$'");
	bad_path(NULL, 1, "starts with '$'");
	bad_path(" $.a", 1, "starts with '$'");
	bad_path("$.", 2, "expected a field name after '.'");
	bad_path("$..a", 2, "expected a field name after '.'");
	bad_path("$.a.", 4, "expected a field name after '.'");
	bad_path("$a", 2, "expected '.name'");
	bad_path("$.a b", 4, "expected '.name'");
	bad_path("$.a[0]x", 7, "expected '.name'");
	bad_path("$.a]", 4, "expected '.name'");
	bad_path("$[x]", 2, "expected [N], [-N] or [\"name\"]");
	bad_path("$[]", 2, "expected [N], [-N] or [\"name\"]");
	bad_path("$[-]", 2, "expected [N], [-N] or [\"name\"]");
	bad_path("$[1", 2, "expected [N], [-N] or [\"name\"]");
	bad_path("$[1.5]", 2, "expected [N], [-N] or [\"name\"]");
	bad_path("$[ 1]", 2, "expected [N], [-N] or [\"name\"]");
	bad_path("$[+1]", 2, "expected [N], [-N] or [\"name\"]");
	bad_path("$.a[99999999999999999999999]", 4, "expected [N], [-N] or [\"name\"]");
	bad_path("$[\"abc", 2, "unterminated quoted name");
	bad_path("$[\"abc\"", 2, "unterminated quoted name");
	bad_path("$.x['abc\"]", 4, "unterminated quoted name");
	bad_path("$[\"abc\\\"]", 2, "unterminated quoted name");
	bad_path("$[\"a\"x]", 2, "unterminated quoted name");
}
END_TEST

START_TEST(test_compile_err_buffer)
{
	char small[8] = "xxxxxxx";

	/* A short buffer is cut, never overrun; no buffer at all is allowed. */
	ck_assert_ptr_null(hc_jpath_compile("$.", small, sizeof(small)));
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
	ck_assert_ptr_null(hc_jpath_compile("$.", NULL, 0));
	ck_assert_ptr_null(hc_jpath_compile("$.", small, 0));
}
END_TEST

START_TEST(test_compile_ok)
{
	static const char *const good[] = {
		"$", "$.a", "$.a.b.c", "$[0]", "$[-1]", "$.a[12][-3]", "$[\"x y\"]", "$['x']",
		"$[\"\"]", "$.a_b-c$1", "$[\"a\\\"b\"].c", NULL
	};

	for (size_t i = 0; good[i]; i++)
		hc_jpath_free(must_compile(good[i]));
	/* Freeing nothing is harmless; text of nothing is "". */
	hc_jpath_free(NULL);
	ck_assert_str_eq(hc_jpath_text(NULL), "");
}
END_TEST

/* ---- get and lookup ----------------------------------------------------- */

/* Gets `path` from the test document and compares its JSON text, or expects
 * no result when `want` is NULL. */
static void get_is(const char *path, const char *want)
{
	struct json_object *root = doc();
	hlb_path *p = must_compile(path);
	struct json_object *v = hc_jpath_get(p, root);

	if (want) {
		ck_assert_msg(v != NULL, "%s did not resolve", path);
		ck_assert_msg(strcmp(plain(v), want) == 0, "%s: %s, expected %s", path, plain(v), want);
	} else {
		ck_assert_msg(v == NULL, "%s: got %s, expected nothing", path, plain(v));
	}
	hc_jpath_free(p);
	json_object_put(root);
}

START_TEST(test_get_nested)
{
	get_is("$.a.b.c", "42");
	get_is("$.a.b", "{\"c\":42}");
	get_is("$.arr[0]", "10");
	get_is("$.arr[2]", "30");
	get_is("$.nested[1].id", "\"y\"");
	get_is("$.nested[1].tags[1]", "\"t2\"");
	get_is("$.nested[0][\"id\"]", "\"x\"");
	get_is("$.str", "\"text\"");
}
END_TEST

START_TEST(test_get_root)
{
	struct json_object *root = doc();
	hlb_path *p = must_compile("$");

	ck_assert_ptr_eq(hc_jpath_get(p, root), root);
	hc_jpath_free(p);
	json_object_put(root);
}
END_TEST

START_TEST(test_get_negative_index)
{
	get_is("$.arr[-1]", "30");
	get_is("$.arr[-3]", "10");
	get_is("$.arr[-4]", NULL);
	get_is("$.arr[3]", NULL);
	get_is("$.nested[-1].tags[-2]", "\"t1\"");
}
END_TEST

START_TEST(test_get_quoted)
{
	get_is("$[\"dot.key\"]", "1");
	get_is("$['dot.key']", "1");
	get_is("$.dot.key", NULL);
	get_is("$[\"q\\\"uote\"]", "2");
	get_is("$[\"back\\\\slash\"]", "3");
	get_is("$[\"sp ace\"]", "4");
	get_is("$[\"\"]", "5");
	get_is("$[\"a\"][\"b\"].c", "42");
}
END_TEST

START_TEST(test_get_wrong_types)
{
	get_is("$.missing", NULL);
	get_is("$.a.missing.c", NULL);
	get_is("$.arr.x", NULL);     /* a key into an array */
	get_is("$.a[0]", NULL);      /* an index into an object */
	get_is("$.str[0]", NULL);    /* into a string */
	get_is("$.str.length", NULL);
	get_is("$.nul.x", NULL);     /* through null */
	get_is("$.nul[0]", NULL);
}
END_TEST

START_TEST(test_lookup_null_vs_missing)
{
	struct json_object *root = doc(), *v = (struct json_object *)1;
	hlb_path *nul = must_compile("$.nul"), *missing = must_compile("$.nope");
	hlb_path *through = must_compile("$.nul.x"), *num = must_compile("$.arr[1]");

	ck_assert_int_eq(hc_jpath_lookup(nul, root, &v), 1);
	ck_assert_ptr_null(v);
	v = (struct json_object *)1;
	ck_assert_int_eq(hc_jpath_lookup(missing, root, &v), 0);
	ck_assert_ptr_null(v);
	v = (struct json_object *)1;
	ck_assert_int_eq(hc_jpath_lookup(through, root, &v), 0);
	ck_assert_ptr_null(v);
	ck_assert_int_eq(hc_jpath_lookup(num, root, &v), 1);
	ck_assert_int_eq(json_object_get_int(v), 20);
	/* get cannot tell the two apart: both are NULL */
	ck_assert_ptr_null(hc_jpath_get(nul, root));
	ck_assert_ptr_null(hc_jpath_get(missing, root));
	/* no path resolves nothing */
	ck_assert_int_eq(hc_jpath_lookup(NULL, root, &v), 0);
	ck_assert_ptr_null(v);
	hc_jpath_free(nul);
	hc_jpath_free(missing);
	hc_jpath_free(through);
	hc_jpath_free(num);
	json_object_put(root);
}
END_TEST

/* ---- set ---------------------------------------------------------------- */

/* Sets `path` in the JSON `in` to the JSON `value`, checks the result code
 * and the whole document afterwards. */
static void set_is(const char *in, const char *path, const char *value, int want_rc, const char *want)
{
	struct json_object *root = json_tokener_parse(in);
	hlb_path *p = must_compile(path);
	int rc;

	ck_assert_msg(root != NULL, "bad test input %s", in);
	rc = hc_jpath_set(p, root, json_tokener_parse(value));
	ck_assert_msg(rc == want_rc, "%s in %s: rc %d, expected %d", path, in, rc, want_rc);
	ck_assert_msg(strcmp(plain(root), want) == 0, "%s in %s: %s, expected %s", path, in, plain(root), want);
	hc_jpath_free(p);
	json_object_put(root);
}

START_TEST(test_set_create)
{
	set_is("{}", "$.a", "1", HLB_OK, "{\"a\":1}");
	set_is("{}", "$.a.b.c", "\"v\"", HLB_OK, "{\"a\":{\"b\":{\"c\":\"v\"}}}");
	set_is("{\"a\":{\"x\":1}}", "$.a.b.c", "true", HLB_OK, "{\"a\":{\"x\":1,\"b\":{\"c\":true}}}");
	set_is("{}", "$[\"x.y\"][\"z\"]", "2", HLB_OK, "{\"x.y\":{\"z\":2}}");
	set_is("{\"k\":[{}]}", "$.k[0].new", "3", HLB_OK, "{\"k\":[{\"new\":3}]}");
}
END_TEST

START_TEST(test_set_replace)
{
	set_is("{\"a\":1,\"b\":2}", "$.a", "{\"n\":1}", HLB_OK, "{\"a\":{\"n\":1},\"b\":2}");
	set_is("{\"a\":{\"b\":1}}", "$.a.b", "null", HLB_OK, "{\"a\":{\"b\":null}}");
	set_is("{\"a\":null}", "$.a", "[1]", HLB_OK, "{\"a\":[1]}");
}
END_TEST

START_TEST(test_set_array)
{
	set_is("{\"a\":[1,2,3]}", "$.a[0]", "9", HLB_OK, "{\"a\":[9,2,3]}");
	set_is("{\"a\":[1,2,3]}", "$.a[-1]", "9", HLB_OK, "{\"a\":[1,2,9]}");
	set_is("{\"a\":[1,2,3]}", "$.a[3]", "4", HLB_OK, "{\"a\":[1,2,3,4]}");
	set_is("{\"a\":[1,2,3]}", "$.a[-4]", "9", HLB_EINVAL, "{\"a\":[1,2,3]}");
	set_is("[[0]]", "$[0][0]", "\"z\"", HLB_OK, "[[\"z\"]]");
	/* an index never creates an array */
	set_is("{}", "$.a[0]", "1", HLB_ENOENT, "{}");
	set_is("{}", "$.a[0].b", "1", HLB_ENOENT, "{}");
	/* nor is a key put into an array */
	set_is("{\"a\":[1]}", "$.a.b", "1", HLB_EINVAL, "{\"a\":[1]}");
}
END_TEST

START_TEST(test_set_no_clobber)
{
	set_is("{\"a\":\"str\"}", "$.a.b", "1", HLB_EINVAL, "{\"a\":\"str\"}");
	set_is("{\"a\":5}", "$.a.b.c", "1", HLB_ENOENT, "{\"a\":5}");
	set_is("{\"a\":{\"b\":[1]}}", "$.a.b.c", "1", HLB_EINVAL, "{\"a\":{\"b\":[1]}}");
	set_is("{\"a\":{}}", "$.a[0]", "1", HLB_EINVAL, "{\"a\":{}}");
	set_is("[1]", "$.a", "1", HLB_EINVAL, "[1]");
}
END_TEST

START_TEST(test_set_bad_args)
{
	struct json_object *root = json_object_new_object();
	hlb_path *whole = must_compile("$"), *a = must_compile("$.a");

	/* Ownership of the value passes even on failure: valgrind would see
	 * these leak otherwise. */
	ck_assert_int_eq(hc_jpath_set(whole, root, json_object_new_int(1)), HLB_EINVAL);
	ck_assert_int_eq(hc_jpath_set(NULL, root, json_object_new_int(1)), HLB_EINVAL);
	ck_assert_int_eq(hc_jpath_set(a, NULL, json_object_new_int(1)), HLB_EINVAL);
	ck_assert_str_eq(plain(root), "{}");
	hc_jpath_free(whole);
	hc_jpath_free(a);
	json_object_put(root);
}
END_TEST

/* ---- remove ------------------------------------------------------------- */

static void remove_is(const char *in, const char *path, int want_rc, const char *want)
{
	struct json_object *root = json_tokener_parse(in);
	hlb_path *p = must_compile(path);
	int rc;

	ck_assert_msg(root != NULL, "bad test input %s", in);
	rc = hc_jpath_remove(p, root);
	ck_assert_msg(rc == want_rc, "%s in %s: rc %d, expected %d", path, in, rc, want_rc);
	ck_assert_msg(strcmp(plain(root), want) == 0, "%s in %s: %s, expected %s", path, in, plain(root), want);
	hc_jpath_free(p);
	json_object_put(root);
}

START_TEST(test_remove_key)
{
	remove_is("{\"a\":1,\"b\":2}", "$.a", HLB_OK, "{\"b\":2}");
	remove_is("{\"a\":{\"b\":1,\"c\":2}}", "$.a.b", HLB_OK, "{\"a\":{\"c\":2}}");
	remove_is("{\"a\":null}", "$.a", HLB_OK, "{}");
	remove_is("{\"x.y\":1}", "$[\"x.y\"]", HLB_OK, "{}");
}
END_TEST

START_TEST(test_remove_index)
{
	remove_is("{\"a\":[1,2,3]}", "$.a[1]", HLB_OK, "{\"a\":[1,3]}");
	remove_is("{\"a\":[1,2,3]}", "$.a[-1]", HLB_OK, "{\"a\":[1,2]}");
	remove_is("[{\"k\":[1,2]}]", "$[0].k[0]", HLB_OK, "[{\"k\":[2]}]");
}
END_TEST

START_TEST(test_remove_missing)
{
	remove_is("{\"a\":1}", "$.b", HLB_ENOENT, "{\"a\":1}");
	remove_is("{\"a\":1}", "$.x.y", HLB_ENOENT, "{\"a\":1}");
	remove_is("{\"a\":[1]}", "$.a[1]", HLB_ENOENT, "{\"a\":[1]}");
	remove_is("{\"a\":[1]}", "$.a[-2]", HLB_ENOENT, "{\"a\":[1]}");
	remove_is("{\"a\":[1]}", "$.a.b", HLB_ENOENT, "{\"a\":[1]}");
	remove_is("{\"a\":{}}", "$.a[0]", HLB_ENOENT, "{\"a\":{}}");
	remove_is("{\"a\":1}", "$", HLB_EINVAL, "{\"a\":1}");
}
END_TEST

static Suite *test_suite(void)
{
	Suite *s = suite_create("jpath");
	TCase *compile = tcase_create("compile");
	TCase *get = tcase_create("get");
	TCase *set = tcase_create("set");
	TCase *rm = tcase_create("remove");

	tcase_add_test(compile, test_compile_errors);
	tcase_add_test(compile, test_compile_err_buffer);
	tcase_add_test(compile, test_compile_ok);
	suite_add_tcase(s, compile);
	tcase_add_test(get, test_get_nested);
	tcase_add_test(get, test_get_root);
	tcase_add_test(get, test_get_negative_index);
	tcase_add_test(get, test_get_quoted);
	tcase_add_test(get, test_get_wrong_types);
	tcase_add_test(get, test_lookup_null_vs_missing);
	suite_add_tcase(s, get);
	tcase_add_test(set, test_set_create);
	tcase_add_test(set, test_set_replace);
	tcase_add_test(set, test_set_array);
	tcase_add_test(set, test_set_no_clobber);
	tcase_add_test(set, test_set_bad_args);
	suite_add_tcase(s, set);
	tcase_add_test(rm, test_remove_key);
	tcase_add_test(rm, test_remove_index);
	tcase_add_test(rm, test_remove_missing);
	suite_add_tcase(s, rm);
	return s;
}
