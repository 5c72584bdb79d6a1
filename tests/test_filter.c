/* Unit tests of the filter plugin's expression engine, against the core's
 * JSON paths reached through a host table, as a plugin would see them. */
#include "check_main.h"
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hlbridge/hlbridge.h"
#include "jpath.h"
#include "../plugins/filter/filter_expr.h"

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

/* The body most cases run against. */
static const char doc[] =
	"{"
	"\"a\": 1, \"b\": 2.5, \"s\": \"hello\", \"e\": \"\", \"t\": true, \"f\": false,"
	"\"n\": null, \"o\": {\"x\": 1}, \"arr\": [1, \"two\", null, 3.0, {\"k\": 1}],"
	"\"big\": 9007199254740993, \"neg\": -3, \"u64\": 18446744073709551615,"
	"\"nested\": {\"list\": [{\"id\": 7}]}, \"odd key\": {\"x\": \"y\"},"
	"\"q\\\"k\": 1, \"a-b\": 1, \"\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87\": 1,"
	"\"esc\": \"line\\nnext \\\"q\\\" \\\\ \\/ \\u00e9 \\ud83d\\ude00\","
	"\"nul\": \"a\\u0000b\""
	"}";

/* Parses and evaluates, failing the test when the expression is refused. */
static int eval_on(const char *expr, const char *json)
{
	char err[256];
	fx_node *n = fx_parse(&th, expr, err, sizeof(err));
	struct json_object *body;
	int r;

	ck_assert_msg(n != NULL, "parse of '%s' failed: %s", expr, err);
	body = json_tokener_parse(json);
	ck_assert_msg(body != NULL || strcmp(json, "null") == 0, "bad test JSON: %s", json);
	r = fx_eval(&th, n, body);
	json_object_put(body);
	fx_free(&th, n);
	return r;
}

struct eval_case {
	const char *expr;
	int want;
};

static const struct eval_case eval_cases[] = {
	/* == and != by type */
	{ "$.a == 1", 1 },
	{ "$.a == 1.0", 1 },
	{ "$.a == 1e0", 1 },
	{ "$.a == 2", 0 },
	{ "$.a == \"1\"", 0 },
	{ "$.a == true", 0 },
	{ "$.b == 2.5", 1 },
	{ "$.b == 25e-1", 1 },
	{ "$.b == 0.25E+1", 1 },
	{ "$.b == 2", 0 },
	{ "$.s == \"hello\"", 1 },
	{ "$.s == \"hell\"", 0 },
	{ "$.s == \"hello \"", 0 },
	{ "$.e == \"\"", 1 },
	{ "$.t == true", 1 },
	{ "$.t == false", 0 },
	{ "$.f == false", 1 },
	{ "$.t == 1", 0 },
	{ "$.t == \"true\"", 0 },
	{ "$.a != 1", 0 },
	{ "$.a != 2", 1 },
	{ "$.a != \"1\"", 1 },
	{ "$.s != \"hello\"", 0 },
	{ "$.o == 1", 0 },
	{ "$.o != 1", 1 },
	{ "$.arr == 1", 0 },
	{ "$.neg == -3", 1 },
	{ "$.neg == -3.0", 1 },
	/* integers compare exactly, even past 2^53 and against doubles */
	{ "$.big == 9007199254740993", 1 },
	{ "$.big == 9007199254740992", 0 },
	{ "$.big == 9007199254740992.0", 0 },
	{ "$.big > 9007199254740992.0", 1 },
	{ "$.big < 9007199254740994", 1 },
	{ "$.u64 > 9223372036854775807", 1 },
	{ "$.u64 == 18446744073709551615", 1 },
	{ "$.u64 < 99999999999999999999999", 1 },
	{ "$.neg > -9223372036854775808", 1 },
	/* null: present-and-null only; a missing path equals nothing */
	{ "$.n == null", 1 },
	{ "$.n != null", 0 },
	{ "$.missing == null", 0 },
	{ "$.missing != null", 1 },
	{ "$.a == null", 0 },
	{ "$.a != null", 1 },
	{ "$.arr[2] == null", 1 },
	{ "$.arr[9] == null", 0 },
	{ "$.n == 0", 0 },
	{ "$.n == false", 0 },
	{ "$.n == \"\"", 0 },
	/* missing paths: everything false but != */
	{ "$.missing == 1", 0 },
	{ "$.missing != 1", 1 },
	{ "$.missing < 1", 0 },
	{ "$.missing <= 1", 0 },
	{ "$.missing > 1", 0 },
	{ "$.missing >= 1", 0 },
	{ "$.missing contains \"a\"", 0 },
	{ "$.o.missing.deeper == 1", 0 },
	/* ordering of numbers */
	{ "$.a < 2", 1 },
	{ "$.a < 1", 0 },
	{ "$.a <= 1", 1 },
	{ "$.a <= 0.999", 0 },
	{ "$.a > 0.5", 1 },
	{ "$.a > 1", 0 },
	{ "$.a >= 1", 1 },
	{ "$.a >= 1.5", 0 },
	{ "$.b > 2", 1 },
	{ "$.b < 2.5", 0 },
	{ "$.b <= 2.5", 1 },
	{ "$.b >= 3", 0 },
	{ "$.neg < -2.5", 1 },
	{ "$.neg > -3", 0 },
	{ "$.neg >= -3", 1 },
	{ "$.neg <= -3e0", 1 },
	{ "$.neg < -3.5", 0 },
	/* ordering of strings, bytewise */
	{ "$.s < \"world\"", 1 },
	{ "$.s > \"hell\"", 1 },
	{ "$.s >= \"hello\"", 1 },
	{ "$.s <= \"hello\"", 1 },
	{ "$.s < \"hello\"", 0 },
	{ "$.s > \"help\"", 0 },
	{ "$.s > \"Hello\"", 1 },
	{ "$.e < \"a\"", 1 },
	{ "$.s > \"\"", 1 },
	/* ordering across types is never true */
	{ "$.s < 5", 0 },
	{ "$.s > 5", 0 },
	{ "$.a < \"5\"", 0 },
	{ "$.a > \"0\"", 0 },
	{ "$.o > 0", 0 },
	{ "$.arr < 1", 0 },
	{ "$.n < 1", 0 },
	{ "$.n >= 0", 0 },
	{ "$.t > 0", 0 },
	/* exists */
	{ "$.a exists", 1 },
	{ "$.n exists", 1 },
	{ "$.missing exists", 0 },
	{ "$.o.x exists", 1 },
	{ "$.o.y exists", 0 },
	{ "$.a.x exists", 0 },
	{ "$.n.x exists", 0 },
	{ "$.s[0] exists", 0 },
	{ "$.o[0] exists", 0 },
	{ "$.arr.x exists", 0 },
	{ "$.arr[2] exists", 1 },
	{ "$.arr[4] exists", 1 },
	{ "$.arr[5] exists", 0 },
	{ "$.arr[-1] exists", 1 },
	{ "$.arr[-5] exists", 1 },
	{ "$.arr[-6] exists", 0 },
	{ "$.arr[-9223372036854775808] exists", 0 },
	{ "$ exists", 1 },
	/* paths */
	{ "$.arr[0] == 1", 1 },
	{ "$.arr[1] == \"two\"", 1 },
	{ "$.arr[-2] == 3", 1 },
	{ "$.arr[-1].k == 1", 1 },
	{ "$.arr[4].k == 1", 1 },
	{ "$.nested.list[0].id == 7", 1 },
	{ "$.nested.list[-1].id >= 7", 1 },
	{ "$[\"odd key\"].x == \"y\"", 1 },
	{ "$['odd key'].x == \"y\"", 1 },
	{ "$[\"odd key\"] exists", 1 },
	{ "$[\"odd\"] exists", 0 },
	{ "$[\"q\\\"k\"] == 1", 1 },
	{ "$[\"q\\\"k\"] exists", 1 },
	{ "$.a-b == 1", 1 },
	{ "$.\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87 == 1", 1 },
	{ "$[\"a\"] == 1", 1 },
	/* string literals: escapes decode as in JSON */
	{ "$.esc == \"line\\nnext \\\"q\\\" \\\\ \\/ \\u00e9 \\ud83d\\ude00\"", 1 },
	{ "$.esc == \"line\\nnext \\\"q\\\" \\\\ / \xc3\xa9 \xf0\x9f\x98\x80\"", 1 },
	{ "$.esc == \"line\\nnext\"", 0 },
	{ "$.esc contains \"\\u00E9 \\uD83D\\uDE00\"", 1 },
	{ "$.esc contains \"\\t\"", 0 },
	{ "$.nul == \"a\\u0000b\"", 1 },
	{ "$.nul == \"a\"", 0 },
	{ "$.nul contains \"\\u0000b\"", 1 },
	{ "$.nul > \"a\"", 1 },
	/* contains */
	{ "$.s contains \"ell\"", 1 },
	{ "$.s contains \"hello\"", 1 },
	{ "$.s contains \"h\"", 1 },
	{ "$.s contains \"o\"", 1 },
	{ "$.s contains \"lo!\"", 0 },
	{ "$.s contains \"hello!\"", 0 },
	{ "$.s contains \"xyz\"", 0 },
	{ "$.s contains \"\"", 1 },
	{ "$.s contains 1", 0 },
	{ "$.e contains \"\"", 1 },
	{ "$.e contains \"a\"", 0 },
	{ "$.arr contains 1", 1 },
	{ "$.arr contains 1.0", 1 },
	{ "$.arr contains 3", 1 },
	{ "$.arr contains 4", 0 },
	{ "$.arr contains \"two\"", 1 },
	{ "$.arr contains \"tw\"", 0 },
	{ "$.arr contains null", 1 },
	{ "$.arr contains true", 0 },
	{ "$.nested.list contains 7", 0 },
	{ "$.o contains \"x\"", 0 },
	{ "$.a contains 1", 0 },
	{ "$.n contains null", 0 },
	/* and, or, not */
	{ "$.a == 1 and $.s == \"hello\"", 1 },
	{ "$.a == 1 and $.s == \"x\"", 0 },
	{ "$.a == 2 and $.s == \"hello\"", 0 },
	{ "$.a == 2 or $.s == \"hello\"", 1 },
	{ "$.a == 1 or $.s == \"x\"", 1 },
	{ "$.a == 2 or $.s == \"x\"", 0 },
	{ "not $.a == 1", 0 },
	{ "not $.a == 2", 1 },
	{ "not not $.a == 1", 1 },
	{ "not $.missing exists", 1 },
	{ "$.a == 1 and $.b == 2.5 and $.t == true and $.n == null", 1 },
	{ "$.a == 1 and $.b == 2.5 and $.t == false and $.n == null", 0 },
	{ "$.a == 0 or $.b == 0 or $.t == false or $.n == null", 1 },
	{ "$.a == 0 or $.b == 0 or $.t == false or $.n != null", 0 },
	/* precedence: not > and > or */
	{ "$.a == 2 and $.a == 2 or $.a == 1", 1 },
	{ "$.a == 1 or $.a == 2 and $.a == 3", 1 },
	{ "not $.a == 1 or $.a == 1", 1 },
	{ "not $.a == 2 and $.a == 2", 0 },
	{ "not $.a == 1 and $.a == 1 or $.s == \"hello\"", 1 },
	/* parentheses */
	{ "($.a == 2 or $.a == 1) and $.s == \"hello\"", 1 },
	{ "$.a == 2 or ($.a == 1 and $.s == \"x\")", 0 },
	{ "($.a == 1 or $.a == 2) and $.a == 3", 0 },
	{ "not ($.a == 1 and $.b == 2.5)", 0 },
	{ "not ($.a == 2 or $.b == 2)", 1 },
	{ "(((($.a == 1))))", 1 },
	{ "($.a == 1) and not ($.s == \"x\" or $.t == false)", 1 },
	{ "not (not ($.a == 1))", 1 },
	/* spacing */
	{ "$.a==1", 1 },
	{ "  $.a==1  ", 1 },
	{ "\t$.s!=\"x\"\n", 1 },
	{ "$.a<2", 1 },
	{ "($.a>=1)and($.b<=2.5)", 1 },
	{ "$.a <=1 or$.a>2", 1 },
	{ "not($.a==2)", 1 },
};

START_TEST(test_eval_case)
{
	const struct eval_case *c = &eval_cases[_i];
	int got = eval_on(c->expr, doc);

	ck_assert_msg(got == c->want, "%s: got %d, want %d", c->expr, got, c->want);
}
END_TEST

/* Expressions run against bodies that are not objects. */
START_TEST(test_eval_other_bodies)
{
	ck_assert_int_eq(eval_on("$[0] == 1", "[1, 2]"), 1);
	ck_assert_int_eq(eval_on("$[-1] == 2", "[1, 2]"), 1);
	ck_assert_int_eq(eval_on("$ contains 2", "[1, 2]"), 1);
	ck_assert_int_eq(eval_on("$ == 1", "1"), 1);
	ck_assert_int_eq(eval_on("$ contains \"b\"", "\"abc\""), 1);
	ck_assert_int_eq(eval_on("$ == null", "null"), 1);
	ck_assert_int_eq(eval_on("$ exists", "null"), 1);
	ck_assert_int_eq(eval_on("$ != null", "null"), 0);
	ck_assert_int_eq(eval_on("$.a exists", "null"), 0);
	ck_assert_int_eq(eval_on("$.a != 1", "null"), 1);
	ck_assert_int_eq(eval_on("$.a exists", "{}"), 0);
	ck_assert_int_eq(eval_on("$.a.b == null", "{\"a\": {\"b\": null}}"), 1);
	ck_assert_int_eq(eval_on("$.a[0] exists", "{\"a\": []}"), 0);
	ck_assert_int_eq(eval_on("$.a[-1] exists", "{\"a\": []}"), 0);
	ck_assert_int_eq(eval_on("$.x > 1", "{\"x\": 1.0000000001}"), 1);
	ck_assert_int_eq(eval_on("$.x < -1", "{\"x\": -1.0000000001}"), 1);
	ck_assert_int_eq(eval_on("$.x == -1", "{\"x\": -1.0000000001}"), 0);
}
END_TEST

/* Null against missing at every kind of step: the first paths hold null in
 * null_doc, the rest do not resolve (a step past a null included). */
static const char null_doc[] = "{\"n\": null, \"o\": {\"n\": null}, \"arr\": [null], \"q k\": null}";

static const struct {
	const char *path;
	int present;
} presence_cases[] = {
	{ "$.n", 1 },
	{ "$.o.n", 1 },
	{ "$.arr[0]", 1 },
	{ "$.arr[-1]", 1 },
	{ "$[\"q k\"]", 1 },
	{ "$.m", 0 },
	{ "$.o.m", 0 },
	{ "$.arr[1]", 0 },
	{ "$.arr[-2]", 0 },
	{ "$[\"q x\"]", 0 },
	{ "$.n.x", 0 },
	{ "$.n[0]", 0 },
	{ "$.o.n[\"x\"]", 0 },
};

/* Each test with its result on a null and on a missing path. */
static const struct {
	const char *test;
	int if_null, if_missing;
} presence_ops[] = {
	{ "exists", 1, 0 },
	{ "== null", 1, 0 },
	{ "!= null", 0, 1 },
	{ "== 0", 0, 0 },
	{ "!= 0", 1, 1 },
	{ "== false", 0, 0 },
	{ "!= \"\"", 1, 1 },
	{ "< 1", 0, 0 },
	{ ">= \"\"", 0, 0 },
	{ "contains null", 0, 0 },
};

START_TEST(test_null_vs_missing)
{
	char expr[64];

	for (size_t i = 0; i < sizeof(presence_ops) / sizeof(presence_ops[0]); i++) {
		int want = presence_cases[_i].present ? presence_ops[i].if_null : presence_ops[i].if_missing;

		snprintf(expr, sizeof(expr), "%s %s", presence_cases[_i].path, presence_ops[i].test);
		ck_assert_msg(eval_on(expr, null_doc) == want, "%s: want %d", expr, want);
		snprintf(expr, sizeof(expr), "not %s %s", presence_cases[_i].path, presence_ops[i].test);
		ck_assert_msg(eval_on(expr, null_doc) == !want, "%s: want %d", expr, !want);
	}
}
END_TEST

/* One tree, many bodies: the result follows the body, not earlier calls. */
START_TEST(test_eval_reuse)
{
	char err[256];
	fx_node *n = fx_parse(&th, "$.n >= 10 and not $.skip exists", err, sizeof(err));
	char json[64];
	int i, kept = 0;

	ck_assert_msg(n != NULL, "%s", err);
	for (i = 0; i < 40; i++) {
		struct json_object *body;

		snprintf(json, sizeof(json), "{\"n\": %d%s}", i, i % 4 == 0 ? ", \"skip\": 1" : "");
		body = json_tokener_parse(json);
		ck_assert_ptr_nonnull(body);
		kept += fx_eval(&th, n, body);
		json_object_put(body);
	}
	/* 10..39 is 30 values, of which 12, 16, ... 36 (7 of them) skip. */
	ck_assert_int_eq(kept, 30 - 7);
	fx_free(&th, n);
}
END_TEST

/* A long flat chain must parse and evaluate as a list, in order. */
START_TEST(test_long_chain)
{
	size_t terms = 5000, i, cap = terms * 24 + 32, len = 0;
	char *text = malloc(cap);
	char err[256];
	fx_node *n;
	struct json_object *hit = json_tokener_parse("{\"a\": 4999}");
	struct json_object *miss = json_tokener_parse("{\"a\": 5000}");

	ck_assert_ptr_nonnull(text);
	for (i = 0; i < terms; i++)
		len += (size_t)snprintf(text + len, cap - len, "%s$.a == %zu", i ? " or " : "", i);
	n = fx_parse(&th, text, err, sizeof(err));
	ck_assert_msg(n != NULL, "%s", err);
	ck_assert_int_eq(fx_eval(&th, n, hit), 1);
	ck_assert_int_eq(fx_eval(&th, n, miss), 0);
	fx_free(&th, n);
	json_object_put(hit);
	json_object_put(miss);
	free(text);
}
END_TEST

START_TEST(test_null_safety)
{
	char err[64] = "x";

	ck_assert_int_eq(fx_eval(&th, NULL, NULL), 0);
	fx_free(&th, NULL);
	ck_assert_ptr_null(fx_parse(&th, NULL, err, sizeof(err)));
	ck_assert_str_eq(err, "no expression");
	/* No message buffer is fine, a short one truncates. */
	ck_assert_ptr_null(fx_parse(&th, "$.a ==", NULL, 0));
	ck_assert_ptr_null(fx_parse(&th, "$.a == \"unterminated", err, 8));
	ck_assert_str_eq(err, "untermi");
}
END_TEST

struct error_case {
	const char *expr;
	const char *want[3]; /* substrings the message must hold */
};

static const struct error_case error_cases[] = {
	{ "", { "empty expression" } },
	{ "   \t ", { "empty expression" } },
	{ "$.a", { "expected a comparison operator after $.a at end of expression" } },
	{ "$.a 1", { "expected a comparison operator after $.a at column 5", "found '1'" } },
	{ "$.a exist", { "expected a comparison operator after $.a at column 5", "'exist'" } },
	{ "$.a EXISTS", { "after $.a at column 5", "keywords are lowercase" } },
	{ "$.a == \"abc", { "unterminated string at column 8" } },
	{ "$.a == \"abc\\", { "unterminated string at column 8" } },
	{ "$.a == \"a\\qb\"", { "invalid escape '\\q' in string at column 10" } },
	{ "$.a == \"\\u12g4\"", { "invalid \\u escape in string at column 9" } },
	{ "$.a == \"\\ud800\"", { "invalid \\u escape", "column 9" } },
	{ "$.a == \"\\udc00\\ud800\"", { "invalid \\u escape", "column 9" } },
	{ "($.a == 1", { "unbalanced parenthesis", "'(' at column 1 is never closed" } },
	{ "(($.a == 1) or ($.b == 2)", { "unbalanced parenthesis", "column 1" } },
	{ "$.a == 1)", { "unbalanced parenthesis", "unexpected ')' at column 9" } },
	{ "()", { "unexpected ')' at column 2", "expected a $path" } },
	{ "($.a == 1 $.b exists)", { "unexpected '$.b' at column 11", "'and', 'or' or ')'" } },
	{ "xyz == 1", { "unexpected 'xyz' at column 1", "expected a $path, 'not' or '('" } },
	{ "$.a == 1 and xyz", { "unexpected 'xyz' at column 14" } },
	{ "$.a == 1 AND $.b == 2", { "unexpected 'AND' at column 10", "keywords are lowercase" } },
	{ "Not $.a exists", { "unexpected 'Not' at column 1", "keywords are lowercase" } },
	{ "$.a == 1 $.b == 2", { "unexpected '$.b' at column 10", "'and', 'or' or end of expression" } },
	{ "$.a == 1 or or $.b exists", { "unexpected 'or' at column 13" } },
	{ "$.a == 1 and", { "unexpected end of expression", "expected a $path" } },
	{ "not", { "unexpected end of expression" } },
	{ "$.a = 1", { "unexpected '=' at column 5", "did you mean '=='?" } },
	{ "$.a ! 1", { "unexpected '!' at column 5" } },
	{ "$.a == 1 & $.b == 2", { "unexpected '&' at column 10" } },
	{ "$.a == 1 && $.b == 2", { "unexpected '&' at column 10" } },
	{ "$.\xc3\xa9 == 1 and \xc3\xa9", { "unexpected '\xc3\xa9' at column 14" } },
	{ "$.a ==", { "unexpected end of expression", "after ==" } },
	{ "$.a == foo", { "unexpected 'foo' at column 8", "after ==" } },
	{ "$.a contains", { "unexpected end of expression", "after contains" } },
	{ "$.a == $.b", { "unexpected '$.b' at column 8", "compares with literals only" } },
	{ "$.a < true", { "< needs a number or a string, not true, at column 7" } },
	{ "$.a >= null", { ">= needs a number or a string, not null" } },
	{ "$.a == 1.", { "malformed number '1.' at column 8" } },
	{ "$.a == 01", { "malformed number '01' at column 8" } },
	{ "$.a == -", { "malformed number '-' at column 8" } },
	{ "$.a == 1e", { "malformed number '1e'" } },
	{ "$.a == 12abc", { "malformed number '12abc'" } },
	{ "$.a == 1e999", { "number '1e999' out of range at column 8" } },
	{ "1 == $.a", { "unexpected '1' at column 1", "a $path on the left" } },
	{ "\"x\" == $.a", { "unexpected '\"x\"' at column 1" } },
	{ "true", { "unexpected 'true' at column 1" } },
	{ "$.a[x] == 1", { "bad JSON path '$.a[x]'", "the path starts at column 1" } },
	{ "$.a == 1 or $.b.[0] exists", { "bad JSON path '$.b.[0]'", "field name", "path starts at column 13" } },
	{ "$a == 1", { "bad JSON path '$a'" } },
	{ "$.a[0]x == 1", { "bad JSON path '$.a[0]x'" } },
	{ "$[\"abc == 1", { "unterminated quoted name in path at column 2" } },
	{ "$[\"a\"x == 1", { "expected ']' after the quoted name in path at column 6" } },
	{ "$.a[0 == 1", { "missing ']' for the '[' in path at column 4" } },
	{ "$.a[] == 1", { "bad JSON path '$.a[]'" } },
};

START_TEST(test_error_case)
{
	const struct error_case *c = &error_cases[_i];
	char err[256];
	fx_node *n;
	size_t i;

	memset(err, 0, sizeof(err));
	n = fx_parse(&th, c->expr, err, sizeof(err));
	ck_assert_msg(n == NULL, "'%s' parsed but should not", c->expr);
	for (i = 0; i < 3 && c->want[i]; i++)
		ck_assert_msg(strstr(err, c->want[i]) != NULL, "'%s': message \"%s\" lacks \"%s\"",
			      c->expr, err, c->want[i]);
}
END_TEST

/* Some messages in full, so their wording cannot drift unnoticed. */
START_TEST(test_error_exact)
{
	char err[256];

	ck_assert_ptr_null(fx_parse(&th, "$.a.b == \"x", err, sizeof(err)));
	ck_assert_str_eq(err, "unterminated string at column 10");
	ck_assert_ptr_null(fx_parse(&th, "$.a.b  $.c", err, sizeof(err)));
	ck_assert_str_eq(err, "expected a comparison operator after $.a.b at column 8, found '$.c' "
			      "(==, !=, <, <=, >, >=, exists or contains)");
	ck_assert_ptr_null(fx_parse(&th, "$.a == 1 xyz", err, sizeof(err)));
	ck_assert_str_eq(err, "unexpected 'xyz' at column 10: expected 'and', 'or' or end of expression");
	ck_assert_ptr_null(fx_parse(&th, "$.a == 1 or ($.b == 2", err, sizeof(err)));
	ck_assert_str_eq(err, "unbalanced parenthesis: the '(' at column 13 is never closed");
}
END_TEST

START_TEST(test_error_long_token_quoted_short)
{
	char text[300], err[256];

	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	ck_assert_ptr_null(fx_parse(&th, text, err, sizeof(err)));
	ck_assert_msg(strstr(err, "unexpected 'xxxx") != NULL, "%s", err);
	ck_assert_msg(strlen(err) < 120, "message not capped: %s", err);
}
END_TEST

static void nest(char *buf, size_t size, const char *open, int times, const char *core,
		 const char *close)
{
	size_t len = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < times; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s", open);
	len += (size_t)snprintf(buf + len, size - len, "%s", core);
	for (i = 0; close && i < times; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s", close);
}

START_TEST(test_nesting_limit)
{
	char text[2048], err[256];
	fx_node *n;

	nest(text, sizeof(text), "(", 64, "$.a == 1", ")");
	n = fx_parse(&th, text, err, sizeof(err));
	ck_assert_msg(n != NULL, "%s", err);
	fx_free(&th, n);
	nest(text, sizeof(text), "(", 65, "$.a == 1", ")");
	ck_assert_ptr_null(fx_parse(&th, text, err, sizeof(err)));
	ck_assert_msg(strstr(err, "nested too deeply at column 65") != NULL, "%s", err);
	nest(text, sizeof(text), "not ", 65, "$.a exists", NULL);
	ck_assert_ptr_null(fx_parse(&th, text, err, sizeof(err)));
	ck_assert_msg(strstr(err, "nested too deeply") != NULL, "%s", err);
	nest(text, sizeof(text), "not ", 64, "$.a exists", NULL);
	n = fx_parse(&th, text, err, sizeof(err));
	ck_assert_msg(n != NULL, "%s", err);
	fx_free(&th, n);
}
END_TEST

static Suite *test_suite(void)
{
	Suite *s = suite_create("filter");
	TCase *tc = tcase_create("eval");

	tcase_add_loop_test(tc, test_eval_case, 0, (int)(sizeof(eval_cases) / sizeof(eval_cases[0])));
	tcase_add_loop_test(tc, test_null_vs_missing, 0,
			    (int)(sizeof(presence_cases) / sizeof(presence_cases[0])));
	tcase_add_test(tc, test_eval_other_bodies);
	tcase_add_test(tc, test_eval_reuse);
	tcase_add_test(tc, test_long_chain);
	tcase_add_test(tc, test_null_safety);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_loop_test(tc, test_error_case, 0, (int)(sizeof(error_cases) / sizeof(error_cases[0])));
	tcase_add_test(tc, test_error_exact);
	tcase_add_test(tc, test_error_long_token_quoted_short);
	tcase_add_test(tc, test_nesting_limit);
	suite_add_tcase(s, tc);
	return s;
}
