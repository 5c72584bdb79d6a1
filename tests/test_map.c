/* Unit tests of the `map` rule engine (plugins/map/map_rules.c), driven
 * through a host table that holds only the core's JSON path services. */
#include "check_main.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "hlbridge/hlbridge.h"
#include "jpath.h"
#include "../plugins/map/map_rules.h"

static hlb_host th = {
	.size = sizeof(hlb_host),
	.path_compile = hc_jpath_compile,
	.path_get = hc_jpath_get,
	.path_lookup = hc_jpath_lookup,
	.path_set = hc_jpath_set,
	.path_remove = hc_jpath_remove,
	.path_text = hc_jpath_text,
	.path_free = hc_jpath_free,
};

/* Builds rules from key/value pairs ending with NULL; every add must pass. */
static map_rules *map_make(int missing, const char *const *kv)
{
	map_rules *m = map_rules_new(&th, missing);
	char err[256];

	ck_assert_ptr_nonnull(m);
	for (size_t i = 0; kv[i]; i += 2) {
		int rc = map_rules_add(m, kv[i], kv[i + 1], err, sizeof(err));

		ck_assert_msg(rc == HLB_OK, "%s = %s: %s", kv[i], kv[i + 1], err);
	}
	return m;
}

/* Applies rules to the JSON text `in` and checks the return code and, when
 * `want` is not NULL, the resulting body. */
static void map_check(int missing, const char *const *kv, const char *in, int want_rc,
		      const char *want)
{
	map_rules *m = map_make(missing, kv);
	struct json_object *body = json_tokener_parse(in);
	int rc;

	ck_assert_msg(body != NULL, "bad test input %s", in);
	rc = map_rules_apply(m, body);
	ck_assert_msg(rc == want_rc, "%s: rc %d, expected %d", in, rc, want_rc);
	if (want)
		ck_assert_str_eq(json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN), want);
	json_object_put(body);
	map_rules_free(m);
}

#define RULES(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define OK(kv, in, want) map_check(MAP_MISSING_SKIP, kv, in, HLB_OK, want)

/* Expects one add to fail with HLB_EINVAL and a message containing `part`,
 * and the rule set to stay usable and unchanged. */
static void map_bad(const char *key, const char *value, const char *part)
{
	map_rules *m = map_rules_new(&th, MAP_MISSING_SKIP);
	char err[256] = "untouched";
	struct json_object *body;
	int rc;

	ck_assert_int_eq(map_rules_add(m, "set.keep", "1", err, sizeof(err)), HLB_OK);
	rc = map_rules_add(m, key, value, err, sizeof(err));
	ck_assert_msg(rc == HLB_EINVAL, "%s = %s: rc %d", key, value ? value : "(null)", rc);
	ck_assert_msg(strstr(err, part) != NULL, "%s = %s: message \"%s\" lacks \"%s\"", key,
		      value ? value : "(null)", err, part);
	ck_assert_uint_eq(map_rules_count(m), 1);
	body = json_object_new_object();
	ck_assert_int_eq(map_rules_apply(m, body), HLB_OK);
	ck_assert_str_eq(json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN), "{\"keep\":1}");
	json_object_put(body);
	map_rules_free(m);
}

#define BAD_VALUE "expected a $.path, a \"quoted string\", a number, true, false or null"

START_TEST(test_set_path)
{
	const char *in = "{\"a\":{\"b\":\"x\"},\"items\":[{\"n\":1},{\"n\":2},{\"n\":3}]}";

	OK(RULES("set.x", "$.a.b"), in,
	   "{\"a\":{\"b\":\"x\"},\"items\":[{\"n\":1},{\"n\":2},{\"n\":3}],\"x\":\"x\"}");
	OK(RULES("set.first", "$.items[0].n", "set.last", "$.items[-1].n", "set.mid", "$.items[1]"),
	   "{\"items\":[{\"n\":1},{\"n\":2},{\"n\":3}]}",
	   "{\"items\":[{\"n\":1},{\"n\":2},{\"n\":3}],\"first\":1,\"last\":3,\"mid\":{\"n\":2}}");
	OK(RULES("set.q", "$[\"a b\"]"), "{\"a b\":true}", "{\"a b\":true,\"q\":true}");
	OK(RULES("set.copy", "$"), "{\"a\":1}", "{\"a\":1,\"copy\":{\"a\":1}}");
	OK(RULES("set.v", "  $.a  "), "{\"a\":[1,2]}", "{\"a\":[1,2],\"v\":[1,2]}");
}
END_TEST

START_TEST(test_set_path_copies)
{
	/* A later change to the copy must not reach the source, and copying an
	 * object into itself must not make a cycle. */
	OK(RULES("set.b", "$.a", "set.b.x", "2"), "{\"a\":{\"x\":1}}",
	   "{\"a\":{\"x\":1},\"b\":{\"x\":2}}");
	OK(RULES("set.a.self", "$.a"), "{\"a\":{\"x\":1}}", "{\"a\":{\"x\":1,\"self\":{\"x\":1}}}");
}
END_TEST

START_TEST(test_set_literals)
{
	OK(RULES("set.s", "\"hello\"", "set.e", "\"\"", "set.i", "42", "set.n", "-7", "set.z", "0",
		 "set.f", "0.1", "set.g", "-2.50", "set.x", "1e3", "set.t", "true", "set.F", "false",
		 "set.u", "null"),
	   "{}",
	   "{\"s\":\"hello\",\"e\":\"\",\"i\":42,\"n\":-7,\"z\":0,\"f\":0.1,\"g\":-2.50,\"x\":1e3,"
	   "\"t\":true,\"F\":false,\"u\":null}");
	OK(RULES("set.p", "2.5e-3", "set.q", "1E+2"), "{}", "{\"p\":2.5e-3,\"q\":1E+2}");
	OK(RULES("set.big", "9223372036854775807", "set.small", "-9223372036854775808"), "{}",
	   "{\"big\":9223372036854775807,\"small\":-9223372036854775808}");
	OK(RULES("set.s", "  \"  padded  \"  "), "{}", "{\"s\":\"  padded  \"}");
}
END_TEST

START_TEST(test_set_escapes)
{
	OK(RULES("set.s", "\"say \\\"hi\\\" \\\\ ok\""), "{}", "{\"s\":\"say \\\"hi\\\" \\\\ ok\"}");
	/* \{ keeps a brace from opening a substitution. */
	OK(RULES("set.s", "\"\\{{$.a}}\""), "{\"a\":1}", "{\"a\":1,\"s\":\"{{$.a}}\"}");
	OK(RULES("set.s", "\"a } }} { b\""), "{}", "{\"s\":\"a } }} { b\"}");
}
END_TEST

START_TEST(test_literal_fresh_per_record)
{
	map_rules *m = map_make(MAP_MISSING_SKIP, RULES("set.s", "\"v\""));
	struct json_object *b1 = json_object_new_object(), *b2 = json_object_new_object();
	struct json_object *s1, *s2;

	ck_assert_int_eq(map_rules_apply(m, b1), HLB_OK);
	ck_assert_int_eq(map_rules_apply(m, b2), HLB_OK);
	ck_assert(json_object_object_get_ex(b1, "s", &s1));
	ck_assert(json_object_object_get_ex(b2, "s", &s2));
	ck_assert_ptr_ne(s1, s2);
	json_object_set_string(s1, "changed");
	ck_assert_str_eq(json_object_get_string(s2), "v");
	json_object_put(b1);
	json_object_put(b2);
	map_rules_free(m);
}
END_TEST

START_TEST(test_template)
{
	const char *in = "{\"name\":\"Ann\",\"n\":3,\"f\":1.5,\"ok\":true,\"o\":{\"k\":[1,\"a\"]},\"l\":[\"x\"]}";

	OK(RULES("set.t", "\"Hi {{$.name}}, you have {{$.n}} ({{$.f}}, {{$.ok}})\""), in,
	   "{\"name\":\"Ann\",\"n\":3,\"f\":1.5,\"ok\":true,\"o\":{\"k\":[1,\"a\"]},\"l\":[\"x\"],"
	   "\"t\":\"Hi Ann, you have 3 (1.5, true)\"}");
	OK(RULES("set.t", "\"{{$.o}}\""), "{\"o\":{\"k\":[1,\"a\"]}}",
	   "{\"o\":{\"k\":[1,\"a\"]},\"t\":\"{\\\"k\\\":[1,\\\"a\\\"]}\"}");
	OK(RULES("set.t", "\"{{ $.a }}{{$.b}}\""), "{\"a\":\"x\",\"b\":\"y\"}",
	   "{\"a\":\"x\",\"b\":\"y\",\"t\":\"xy\"}");
	OK(RULES("set.t", "\"<{{$[\"a b\"]}}>\""), "{\"a b\":\"q\"}", "{\"a b\":\"q\",\"t\":\"<q>\"}");
	OK(RULES("set.t", "\"{{$.l[-1]}}-\\\"{{$.l[0]}}\\\"\""), "{\"l\":[\"x\"]}",
	   "{\"l\":[\"x\"],\"t\":\"x-\\\"x\\\"\"}");
}
END_TEST

START_TEST(test_template_long)
{
	/* Longer than the on-stack buffer, to cover its growth. */
	char want[1200], in[700];
	const char *v = "0123456789012345678901234567890123456789012345678901234567890123456789"
			"0123456789012345678901234567890123456789012345678901234567890123456789"
			"0123456789012345678901234567890123456789012345678901234567890123456789"
			"0123456789012345678901234567890123456789012345678901234567890123456789";

	snprintf(in, sizeof(in), "{\"v\":\"%s\"}", v);
	snprintf(want, sizeof(want), "{\"v\":\"%s\",\"t\":\"%s|%s\"}", v, v, v);
	OK(RULES("set.t", "\"{{$.v}}|{{$.v}}\""), in, want);
	/* A missing path after the buffer grew. */
	map_check(MAP_MISSING_SKIP, RULES("set.t", "\"{{$.v}}|{{$.v}}{{$.nope}}\""), in, HLB_OK, in);
}
END_TEST

START_TEST(test_template_missing)
{
	const char *const *kv = RULES("set.t", "\"a {{$.nope}} b\"");

	map_check(MAP_MISSING_SKIP, kv, "{\"t\":\"old\"}", HLB_OK, "{\"t\":\"old\"}");
	map_check(MAP_MISSING_SKIP, kv, "{}", HLB_OK, "{}");
	map_check(MAP_MISSING_NULL, kv, "{}", HLB_OK, "{\"t\":null}");
	map_check(MAP_MISSING_FAIL, kv, "{}", HLB_ENOENT, NULL);
	map_check(MAP_MISSING_FAIL, RULES("set.t", "\"{{$.a}}\""), "{\"a\":0}", HLB_OK,
		  "{\"a\":0,\"t\":\"0\"}");
}
END_TEST

START_TEST(test_path_missing)
{
	const char *const *kv = RULES("set.x", "$.a.b[2]", "set.y", "1");

	map_check(MAP_MISSING_SKIP, kv, "{\"a\":{\"b\":[1]}}", HLB_OK, "{\"a\":{\"b\":[1]},\"y\":1}");
	map_check(MAP_MISSING_SKIP, kv, "{\"x\":5}", HLB_OK, "{\"x\":5,\"y\":1}");
	map_check(MAP_MISSING_NULL, kv, "{\"x\":5}", HLB_OK, "{\"x\":null,\"y\":1}");
	map_check(MAP_MISSING_NULL, kv, "{}", HLB_OK, "{\"x\":null,\"y\":1}");
	map_check(MAP_MISSING_FAIL, kv, "{}", HLB_ENOENT, NULL);
	map_check(MAP_MISSING_FAIL, kv, "{\"a\":{\"b\":[1,2,false]}}", HLB_OK,
		  "{\"a\":{\"b\":[1,2,false]},\"x\":false,\"y\":1}");
}
END_TEST

/* A source holding null resolves: set copies the null, a template prints it
 * and rename moves it, in every missing mode, since the mode is only for
 * sources that do not resolve. */
START_TEST(test_null_source)
{
	for (int mode = MAP_MISSING_SKIP; mode <= MAP_MISSING_FAIL; mode++) {
		map_check(mode, RULES("set.x", "$.a"), "{\"a\":null,\"x\":5}", HLB_OK,
			  "{\"a\":null,\"x\":null}");
		map_check(mode, RULES("set.x", "$.o.n", "set.y", "$.l[-1]"),
			  "{\"o\":{\"n\":null},\"l\":[1,null]}", HLB_OK,
			  "{\"o\":{\"n\":null},\"l\":[1,null],\"x\":null,\"y\":null}");
		map_check(mode, RULES("set.t", "\"a={{$.a}} l={{$.l[0]}}\""), "{\"a\":null,\"l\":[null]}",
			  HLB_OK, "{\"a\":null,\"l\":[null],\"t\":\"a=null l=null\"}");
		map_check(mode, RULES("rename.o.n", "m"), "{\"o\":{\"n\":null},\"m\":1}", HLB_OK,
			  "{\"o\":{},\"m\":null}");
		/* A null set by an earlier rule is there for later ones. */
		map_check(mode, RULES("set.a", "null", "set.b", "$.a", "set.t", "\"<{{$.b}}>\""), "{}",
			  HLB_OK, "{\"a\":null,\"b\":null,\"t\":\"<null>\"}");
	}
	/* Past a null the path does not resolve, and the mode applies. */
	map_check(MAP_MISSING_SKIP, RULES("set.x", "$.a.b"), "{\"a\":null}", HLB_OK, "{\"a\":null}");
	map_check(MAP_MISSING_FAIL, RULES("set.x", "$.a.b"), "{\"a\":null}", HLB_ENOENT, NULL);
	map_check(MAP_MISSING_FAIL, RULES("set.t", "\"{{$.a[0]}}\""), "{\"a\":null}", HLB_ENOENT, NULL);
	map_check(MAP_MISSING_NULL, RULES("rename.a.b", "c"), "{\"a\":null}", HLB_OK,
		  "{\"a\":null,\"c\":null}");
	map_check(MAP_MISSING_FAIL, RULES("rename.a.b", "c"), "{\"a\":null}", HLB_ENOENT, NULL);
}
END_TEST

START_TEST(test_nested_target)
{
	OK(RULES("set.a.b.c", "1"), "{}", "{\"a\":{\"b\":{\"c\":1}}}");
	OK(RULES("set.a.y", "2"), "{\"a\":{\"x\":1},\"z\":0}", "{\"a\":{\"x\":1,\"y\":2},\"z\":0}");
	/* A null on the way is replaced by an object, like a missing field. */
	OK(RULES("set.a.b", "1"), "{\"a\":null}", "{\"a\":{\"b\":1}}");
	/* Names that are not plain words are quoted in the target path. */
	OK(RULES("set.my-field.0", "1", "set.a$b", "2"), "{}", "{\"my-field\":{\"0\":1},\"a$b\":2}");
	/* A non-object in the way rejects the record. */
	map_check(MAP_MISSING_SKIP, RULES("set.a.b", "1"), "{\"a\":\"s\"}", HLB_EINVAL, NULL);
	map_check(MAP_MISSING_SKIP, RULES("set.a.b.c", "1"), "{\"a\":[1]}", HLB_EINVAL, NULL);
	map_check(MAP_MISSING_NULL, RULES("set.a.b", "$.nope"), "{\"a\":1}", HLB_EINVAL, NULL);
}
END_TEST

START_TEST(test_overwrite)
{
	/* An existing field keeps its place. */
	OK(RULES("set.a", "3"), "{\"a\":1,\"b\":2}", "{\"a\":3,\"b\":2}");
	OK(RULES("set.a", "$.b"), "{\"a\":{\"deep\":1},\"b\":2}", "{\"a\":2,\"b\":2}");
	OK(RULES("set.a", "\"x\"", "set.a", "\"y\""), "{}", "{\"a\":\"y\"}");
}
END_TEST

START_TEST(test_rename)
{
	/* The renamed field moves to the end of its new parent... */
	OK(RULES("rename.a", "c"), "{\"a\":1,\"b\":2}", "{\"b\":2,\"c\":1}");
	/* ...unless the new name was there: then it takes that place. */
	OK(RULES("rename.a", "b"), "{\"a\":1,\"b\":2,\"c\":3}", "{\"b\":1,\"c\":3}");
	OK(RULES("rename.a", "a"), "{\"a\":1,\"b\":2}", "{\"b\":2,\"a\":1}");
	OK(RULES("rename.a.b", "c.d"), "{\"a\":{\"b\":[1],\"k\":0}}", "{\"a\":{\"k\":0},\"c\":{\"d\":[1]}}");
	OK(RULES("rename.a.b", "a"), "{\"a\":{\"b\":{\"x\":1}},\"z\":0}", "{\"a\":{\"x\":1},\"z\":0}");
	OK(RULES("rename.a", "a.b"), "{\"a\":{\"x\":1}}", "{\"a\":{\"b\":{\"x\":1}}}");
	OK(RULES("rename.a", " new.place "), "{\"a\":1}", "{\"new\":{\"place\":1}}");
	OK(RULES("rename.a", "we\"ird"), "{\"a\":1}", "{\"we\\\"ird\":1}");
	/* A null is a value like any other. */
	map_check(MAP_MISSING_FAIL, RULES("rename.a", "b"), "{\"a\":null,\"c\":1}", HLB_OK,
		  "{\"c\":1,\"b\":null}");
}
END_TEST

START_TEST(test_rename_missing)
{
	const char *const *kv = RULES("rename.a.x", "b");

	map_check(MAP_MISSING_SKIP, kv, "{\"a\":{},\"b\":1}", HLB_OK, "{\"a\":{},\"b\":1}");
	map_check(MAP_MISSING_NULL, kv, "{\"a\":{},\"b\":1}", HLB_OK, "{\"a\":{},\"b\":null}");
	map_check(MAP_MISSING_NULL, kv, "{}", HLB_OK, "{\"b\":null}");
	map_check(MAP_MISSING_FAIL, kv, "{\"a\":\"s\"}", HLB_ENOENT, NULL);
	map_check(MAP_MISSING_SKIP, RULES("rename.a", "b.c"), "{\"a\":1,\"b\":2}", HLB_EINVAL, NULL);
}
END_TEST

START_TEST(test_drop)
{
	OK(RULES("drop", "a"), "{\"a\":1,\"b\":2}", "{\"b\":2}");
	OK(RULES("drop", "a, c.d ,e"), "{\"a\":1,\"b\":2,\"c\":{\"d\":3,\"f\":4},\"e\":[]}",
	   "{\"b\":2,\"c\":{\"f\":4}}");
	/* Missing fields, or a non-object on the way, are nothing to drop. */
	OK(RULES("drop", "x, a.b.c, s.t"), "{\"a\":{},\"s\":\"v\"}", "{\"a\":{},\"s\":\"v\"}");
	/* Several drop options add up. */
	OK(RULES("drop", "a", "drop", "b"), "{\"a\":1,\"b\":2,\"c\":3}", "{\"c\":3}");
}
END_TEST

START_TEST(test_drop_runs_last)
{
	/* drop comes first in the file yet runs after set and rename. */
	OK(RULES("drop", "tmp, old", "set.tmp", "$.a", "set.b", "$.tmp", "rename.x", "old"),
	   "{\"a\":1,\"x\":2}", "{\"a\":1,\"b\":1}");
}
END_TEST

START_TEST(test_sequential)
{
	OK(RULES("set.a", "1", "set.b", "$.a"), "{}", "{\"a\":1,\"b\":1}");
	OK(RULES("set.a", "\"x\"", "set.t", "\"<{{$.a}}>\""), "{\"a\":\"old\"}",
	   "{\"a\":\"x\",\"t\":\"<x>\"}");
	/* After a rename the old name is gone for later rules. */
	map_check(MAP_MISSING_FAIL, RULES("rename.a", "b", "set.c", "$.a"), "{\"a\":1}", HLB_ENOENT,
		  NULL);
	OK(RULES("rename.a", "b", "set.c", "$.b"), "{\"a\":1}", "{\"b\":1,\"c\":1}");
}
END_TEST

START_TEST(test_untouched_kept)
{
	OK(RULES("set.n.x", "1", "rename.r", "r2", "drop", "d"),
	   "{\"keep\":{\"deep\":[1,{\"y\":null}]},\"r\":true,\"d\":0,\"n\":{\"w\":\"s\"},\"z\":-1.25}",
	   "{\"keep\":{\"deep\":[1,{\"y\":null}]},\"n\":{\"w\":\"s\",\"x\":1},\"z\":-1.25,\"r2\":true}");
	OK(RULES("drop", "nothing"), "{\"a\":1}", "{\"a\":1}");
}
END_TEST

START_TEST(test_not_object)
{
	map_rules *m = map_make(MAP_MISSING_SKIP, RULES("set.a", "1"));
	const char *ins[] = { "[1,2]", "\"s\"", "42", "true" };

	for (size_t i = 0; i < sizeof(ins) / sizeof(ins[0]); i++) {
		struct json_object *body = json_tokener_parse(ins[i]);

		ck_assert_int_eq(map_rules_apply(m, body), HLB_EPARSE);
		ck_assert_str_eq(json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN), ins[i]);
		json_object_put(body);
	}
	ck_assert_int_eq(map_rules_apply(m, NULL), HLB_EPARSE);
	map_rules_free(m);
}
END_TEST

START_TEST(test_bad_set_values)
{
	map_bad("set.a", "word", BAD_VALUE);
	map_bad("set.a", "", BAD_VALUE);
	map_bad("set.a", "   ", BAD_VALUE);
	map_bad("set.a", NULL, BAD_VALUE);
	map_bad("set.a", "True", BAD_VALUE);
	map_bad("set.a", "nullx", BAD_VALUE);
	map_bad("set.a", "01", BAD_VALUE);
	map_bad("set.a", "+1", BAD_VALUE);
	map_bad("set.a", ".5", BAD_VALUE);
	map_bad("set.a", "1.", BAD_VALUE);
	map_bad("set.a", "1e", BAD_VALUE);
	map_bad("set.a", "-", BAD_VALUE);
	map_bad("set.a", "12abc", BAD_VALUE);
	map_bad("set.a", "'text'", "strings take double quotes");
	map_bad("set.a", "9223372036854775808", "number out of range");
	map_bad("set.a", "1e999", "number out of range");
}
END_TEST

START_TEST(test_bad_paths)
{
	map_bad("set.a", "$.", "bad JSON path '$.'");
	map_bad("set.a", "$x", "bad JSON path '$x'");
	map_bad("set.a", "$.a[", "expected [N]");
	map_bad("set.a", "$.a[\"b]", "unterminated quoted name");
}
END_TEST

START_TEST(test_bad_strings)
{
	map_bad("set.a", "\"open", "missing closing quote");
	map_bad("set.a", "\"open\\\"", "missing closing quote");
	map_bad("set.a", "\"ends in \\", "missing closing quote");
	map_bad("set.a", "\"a\\n\"", "unknown escape \\n");
	map_bad("set.a", "\"a\" b", "unexpected text after the closing quote: b");
	map_bad("set.a", "\"a\"\"b\"", "unexpected text after the closing quote");
}
END_TEST

START_TEST(test_bad_templates)
{
	map_bad("set.a", "\"x {{$.a\"", "unterminated {{");
	map_bad("set.a", "\"x {{$.a}\"", "unterminated {{");
	map_bad("set.a", "\"{{a}}\"", "expected a $.path inside {{ }}, not \"a\"");
	map_bad("set.a", "\"{{}}\"", "expected a $.path inside {{ }}");
	map_bad("set.a", "\"{{$.a[}}\"", "bad JSON path '$.a['");
	map_bad("set.a", "\"{{$.a}} {{$.b.}}\"", "bad JSON path '$.b.'");
	map_bad("set.a", "\"{{$.a}}\" x", "unexpected text after the closing quote");
	map_bad("set.a", "\"{{$.a}}", "missing closing quote");
}
END_TEST

START_TEST(test_bad_names)
{
	map_bad("set.", "1", "missing field name after \"set.\"");
	map_bad("set.a..b", "1", "empty field name in \"a..b\"");
	map_bad("set.a.", "1", "empty field name in \"a.\"");
	map_bad("set..a", "1", "empty field name in \".a\"");
	map_bad("set.a[0]", "1", "\"a[0]\" is not a dotted field name");
	map_bad("rename.", "b", "missing field name after \"rename.\"");
	map_bad("rename.a", "", "missing new field name (rename.OLD = NEW)");
	map_bad("rename.a", "b..c", "empty field name in \"b..c\"");
	map_bad("rename.a", "b[1]", "\"b[1]\" is not a dotted field name");
	map_bad("rename.a[1]", "b", "\"a[1]\" is not a dotted field name");
	map_bad("drop", "a,,b", "empty entry in the drop list");
	map_bad("drop", "", "empty entry in the drop list");
	map_bad("drop", "a, b.", "empty field name in \"b.\"");
	map_bad("drop", "a, x[0]", "\"x[0]\" is not a dotted field name");
	map_bad("shift", "1", "unknown rule \"shift\"");
	map_bad("missing", "skip", "unknown rule \"missing\"");
}
END_TEST

START_TEST(test_bad_keeps_nothing)
{
	/* A drop list with one bad entry adds none of its entries. */
	map_rules *m = map_rules_new(&th, MAP_MISSING_SKIP);
	struct json_object *body = json_tokener_parse("{\"a\":1,\"b\":2}");
	char err[128];

	ck_assert_int_eq(map_rules_add(m, "drop", "a, b[0]", err, sizeof(err)), HLB_EINVAL);
	ck_assert_uint_eq(map_rules_count(m), 0);
	ck_assert_int_eq(map_rules_add(m, "drop", "b", err, sizeof(err)), HLB_OK);
	ck_assert_uint_eq(map_rules_count(m), 1);
	ck_assert_int_eq(map_rules_apply(m, body), HLB_OK);
	ck_assert_str_eq(json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN), "{\"a\":1}");
	json_object_put(body);
	map_rules_free(m);
}
END_TEST

START_TEST(test_missing_parse)
{
	ck_assert_int_eq(map_missing_parse("skip"), MAP_MISSING_SKIP);
	ck_assert_int_eq(map_missing_parse("null"), MAP_MISSING_NULL);
	ck_assert_int_eq(map_missing_parse("fail"), MAP_MISSING_FAIL);
	ck_assert_int_eq(map_missing_parse("Skip"), -1);
	ck_assert_int_eq(map_missing_parse(""), -1);
	ck_assert_int_eq(map_missing_parse(NULL), -1);
	ck_assert_ptr_null(map_rules_new(&th, 3));
	ck_assert_ptr_null(map_rules_new(NULL, MAP_MISSING_SKIP));
	map_rules_free(NULL);
}
END_TEST

static Suite *test_suite(void)
{
	Suite *s = suite_create("map");
	TCase *set = tcase_create("set");
	TCase *rename = tcase_create("rename");
	TCase *drop = tcase_create("drop");
	TCase *order = tcase_create("order");
	TCase *errors = tcase_create("errors");

	tcase_add_test(set, test_set_path);
	tcase_add_test(set, test_set_path_copies);
	tcase_add_test(set, test_set_literals);
	tcase_add_test(set, test_set_escapes);
	tcase_add_test(set, test_literal_fresh_per_record);
	tcase_add_test(set, test_template);
	tcase_add_test(set, test_template_long);
	tcase_add_test(set, test_template_missing);
	tcase_add_test(set, test_path_missing);
	tcase_add_test(set, test_null_source);
	tcase_add_test(set, test_nested_target);
	tcase_add_test(set, test_overwrite);
	suite_add_tcase(s, set);

	tcase_add_test(rename, test_rename);
	tcase_add_test(rename, test_rename_missing);
	suite_add_tcase(s, rename);

	tcase_add_test(drop, test_drop);
	tcase_add_test(drop, test_drop_runs_last);
	suite_add_tcase(s, drop);

	tcase_add_test(order, test_sequential);
	tcase_add_test(order, test_untouched_kept);
	tcase_add_test(order, test_not_object);
	suite_add_tcase(s, order);

	tcase_add_test(errors, test_bad_set_values);
	tcase_add_test(errors, test_bad_paths);
	tcase_add_test(errors, test_bad_strings);
	tcase_add_test(errors, test_bad_templates);
	tcase_add_test(errors, test_bad_names);
	tcase_add_test(errors, test_bad_keeps_nothing);
	tcase_add_test(errors, test_missing_parse);
	suite_add_tcase(s, errors);
	return s;
}
