/* The http sink's host-free rules (plugins/http/http_rules.c): URL checks,
 * the URL as logs show it, verdicts, safe excerpts and escaped keys. */
#include "check_main.h"

#include <string.h>

#include "../plugins/http/http_rules.h"

START_TEST(test_url_check)
{
	static const char *const good[] = {
		"http://127.0.0.1:8080/in", "https://example.com", "HTTPS://Example.com/a?b=c#d",
		"http://user:pw@host:1/x", "http://[::1]:9000/p", "http://[fe80::1]", "http://h:65535",
	};
	static const struct { const char *url, *why; } bad[] = {
		{ "ftp://example.com/x", "must start with http:// or https://" },
		{ "example.com/x", "must start with http:// or https://" },
		{ "http:///path", "has no host name" },
		{ "http://:80/", "has no host name" },
		{ "http://user@/x", "has no host name" },
		{ "http://h:/x", "has an empty port after ':'" },
		{ "http://h:0/x", "has a port that is not a number from 1 to 65535" },
		{ "http://h:65536/x", "has a port that is not a number from 1 to 65535" },
		{ "http://h:8o/x", "has a port that is not a number from 1 to 65535" },
		{ "http://[::1/x", "has an IPv6 address without its closing ]" },
		{ "http://[::1]x/", "has text after the IPv6 address" },
		{ "http://h/a b", "must not contain spaces or control characters" },
		{ "http://h/a\r\nX: y", "must not contain spaces or control characters" },
	};
	char err[128];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(hsink_url_check(good[i], err, sizeof(err)) == 0, "%s: %s", good[i], err);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		ck_assert_int_eq(hsink_url_check(bad[i].url, err, sizeof(err)), -1);
		ck_assert_str_eq(err, bad[i].why);
	}
}
END_TEST

START_TEST(test_url_display_hides_credentials)
{
	char out[256];

	hsink_url_display("https://user:pw@api.example.com:8443/hook?token=s3cret#frag", out, sizeof(out));
	ck_assert_str_eq(out, "https://api.example.com:8443/hook?...");
	hsink_url_display("http://127.0.0.1:9/in", out, sizeof(out));
	ck_assert_str_eq(out, "http://127.0.0.1:9/in");
	hsink_url_display("http://h#only-a-fragment", out, sizeof(out));
	ck_assert_str_eq(out, "http://h");
}
END_TEST

START_TEST(test_verdicts)
{
	static const struct { int result; long status; hlb_verdict v; } cases[] = {
		{ HLB_OK, 200, HLB_DONE }, { HLB_OK, 201, HLB_DONE }, { HLB_OK, 204, HLB_DONE },
		{ HLB_OK, 408, HLB_RETRY }, { HLB_OK, 429, HLB_RETRY }, { HLB_OK, 500, HLB_RETRY },
		{ HLB_OK, 503, HLB_RETRY }, { HLB_OK, 599, HLB_RETRY },
		{ HLB_OK, 400, HLB_FAILED }, { HLB_OK, 401, HLB_FAILED }, { HLB_OK, 404, HLB_FAILED },
		{ HLB_OK, 422, HLB_FAILED }, { HLB_OK, 301, HLB_FAILED }, { HLB_OK, 308, HLB_FAILED },
		/* transfer errors: whatever status arrived, the answer is incomplete */
		{ HLB_ETIMEDOUT, 0, HLB_RETRY }, { HLB_ETIMEDOUT, 200, HLB_RETRY },
		{ HLB_ECONN, 0, HLB_RETRY }, { HLB_ECONN, 200, HLB_RETRY }, { HLB_EHTTP, 0, HLB_RETRY },
		/* a body over max_response: the status line did arrive */
		{ HLB_ETOOBIG, 200, HLB_DONE }, { HLB_ETOOBIG, 400, HLB_FAILED }, { HLB_ETOOBIG, 502, HLB_RETRY },
		{ HLB_ETOOBIG, 0, HLB_RETRY },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(hsink_verdict(cases[i].result, cases[i].status) == cases[i].v, "result %d status %ld",
			      cases[i].result, cases[i].status);
	ck_assert_int_eq(hsink_status_counts(HLB_OK, 200), 1);
	ck_assert_int_eq(hsink_status_counts(HLB_ETOOBIG, 500), 1);
	ck_assert_int_eq(hsink_status_counts(HLB_ECONN, 200), 0);
	ck_assert_int_eq(hsink_status_counts(HLB_OK, 0), 0);
}
END_TEST

START_TEST(test_sanitize)
{
	char out[64];
	/* "é" is two bytes: a cut after its first byte backs off before it */
	const char *s = "ab\xc3\xa9";

	hsink_sanitize("line1\nline2\r\n\t\x7f" "end\n", 19, 200, out, sizeof(out));
	ck_assert_str_eq(out, "line1 line2    end");
	hsink_sanitize(s, strlen(s), 3, out, sizeof(out));
	ck_assert_str_eq(out, "ab");
	hsink_sanitize(s, strlen(s), 4, out, sizeof(out));
	ck_assert_str_eq(out, s);
	hsink_sanitize("0123456789", 10, 200, out, 5);
	ck_assert_str_eq(out, "0123");
	hsink_sanitize("", 0, 200, out, sizeof(out));
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_header_names)
{
	ck_assert_int_eq(hsink_header_name_ok("Authorization"), 1);
	ck_assert_int_eq(hsink_header_name_ok("X-Api_Key.v2"), 1);
	ck_assert_int_eq(hsink_header_name_ok(""), 0);
	ck_assert_int_eq(hsink_header_name_ok("Bad Name"), 0);
	ck_assert_int_eq(hsink_header_name_ok("Bad:Name"), 0);
	ck_assert_int_eq(hsink_header_name_ok("Bad(Name)"), 0);
}
END_TEST

START_TEST(test_fnv_is_stable)
{
	/* the published FNV-1a 64 test vectors */
	ck_assert_uint_eq(hsink_fnv1a(HSINK_FNV_INIT, "", 0), 0xcbf29ce484222325ull);
	ck_assert_uint_eq(hsink_fnv1a(HSINK_FNV_INIT, "a", 1), 0xaf63dc4c8601ec8cull);
	ck_assert_uint_eq(hsink_fnv1a(HSINK_FNV_INIT, "foobar", 6), 0x85944171f73967e8ull);
	/* hashing in pieces gives the same as at once */
	ck_assert_uint_eq(hsink_fnv1a(hsink_fnv1a(HSINK_FNV_INIT, "foo", 3), "bar", 3), 0x85944171f73967e8ull);
}
END_TEST

START_TEST(test_key_escape)
{
	char out[32];

	ck_assert_uint_eq(hsink_key_escape("plain-key", 0, out, sizeof(out)), 9);
	ck_assert_str_eq(out, "plain-key");
	ck_assert_uint_eq(hsink_key_escape("a\r\nb,c", 0, out, sizeof(out)), 10);
	ck_assert_str_eq(out, "a%0D%0Ab,c");
	ck_assert_uint_eq(hsink_key_escape("a\r\nb,c", 1, out, sizeof(out)), 12);
	ck_assert_str_eq(out, "a%0D%0Ab%2Cc");
	/* measuring without a buffer, and a buffer that is too short */
	ck_assert_uint_eq(hsink_key_escape("x\ty", 0, NULL, 0), 5);
	ck_assert_uint_eq(hsink_key_escape("ab\ncd", 0, out, 4), 7);
	ck_assert_str_eq(out, "ab");
}
END_TEST

static Suite *test_suite(void)
{
	Suite *s = suite_create("http_rules");
	TCase *tc = tcase_create("http_rules");

	tcase_add_test(tc, test_url_check);
	tcase_add_test(tc, test_url_display_hides_credentials);
	tcase_add_test(tc, test_verdicts);
	tcase_add_test(tc, test_sanitize);
	tcase_add_test(tc, test_header_names);
	tcase_add_test(tc, test_fnv_is_stable);
	tcase_add_test(tc, test_key_escape);
	suite_add_tcase(s, tc);
	return s;
}
