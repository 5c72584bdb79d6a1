/* plugins/ghl/ghl_util.c: the capped buffer (plugins/common/strbuf.c),
 * form encoding, GHL error bodies, invalid_grant, tokens and the
 * credential's info, the hash, ISO times and the User-Agent. */
#include "check_main.h"

#include <string.h>

#include <json-c/json.h>

#include "../plugins/ghl/ghl_util.h"

START_TEST(test_buf_caps)
{
	ghl_buf b;

	ghl_buf_init(&b, 8);
	ck_assert_ptr_null(b.data);
	ck_assert_int_eq(ghl_buf_add(&b, "", 0), 0);
	ck_assert_str_eq(b.data, "");
	ck_assert_int_eq(ghl_buf_add(&b, "abcd", 4), 0);
	ck_assert_int_eq(ghl_buf_addf(&b, "%d%s", 12, "x"), 0);
	ck_assert_str_eq(b.data, "abcd12x");
	/* one more byte fits (8), two do not; a failed append changes nothing */
	ck_assert_int_eq(ghl_buf_add(&b, "yz", 2), -1);
	ck_assert_int_eq(ghl_buf_addf(&b, "%s", "yz"), -1);
	ck_assert_str_eq(b.data, "abcd12x");
	ck_assert_int_eq(ghl_buf_add(&b, "y", 1), 0);
	ck_assert_str_eq(b.data, "abcd12xy");
	ck_assert_uint_eq(b.len, 8);
	ck_assert_int_eq(ghl_buf_add(&b, "z", 1), -1);
	ghl_buf_free(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
}
END_TEST

START_TEST(test_buf_grows)
{
	ghl_buf b;
	char chunk[100];

	memset(chunk, 'a', sizeof(chunk));
	ghl_buf_init(&b, 100000);
	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(ghl_buf_add(&b, chunk, sizeof(chunk)), 0);
	ck_assert_uint_eq(b.len, 100000);
	ck_assert_uint_eq(strlen(b.data), 100000);
	ck_assert_int_eq(ghl_buf_add(&b, "a", 1), -1);
	ghl_buf_free(&b);
}
END_TEST

/* The cutting append and the sticky failure flag the other modules use. */
START_TEST(test_buf_cut_and_failed)
{
	sb_buf b = { 0 };

	ck_assert_str_eq(sb_str(&b), "");
	ck_assert_int_eq(sb_adds(&b, "no cap: "), 0);
	ck_assert_int_eq(sb_addf(&b, "%d", 42), 0);
	ck_assert_str_eq(b.data, "no cap: 42");
	ck_assert_int_eq(b.failed, 0);
	sb_free(&b);

	sb_init(&b, 5);
	ck_assert_int_eq(sb_add_cut(&b, "abc", 3), 0);
	ck_assert_int_eq(sb_add_cut(&b, "defgh", 5), 0);
	ck_assert_str_eq(b.data, "abcde");
	ck_assert_int_eq(b.failed, 0);
	ck_assert_int_eq(sb_add_cut(&b, "x", 1), 0);
	ck_assert_str_eq(b.data, "abcde");
	ck_assert_int_eq(sb_adds(&b, "x"), -1);
	ck_assert_int_eq(b.failed, 1);
	sb_cut(&b, 2);
	ck_assert_str_eq(b.data, "ab");
	ck_assert_uint_eq(b.len, 2);
	sb_cut(&b, 10);
	ck_assert_uint_eq(b.len, 2);
	sb_free(&b);
	ck_assert_int_eq(b.failed, 0);
	ck_assert_uint_eq(b.cap, 5);
}
END_TEST

START_TEST(test_token_ok)
{
	ck_assert(ghl_token_ok("pit-abc.DEF_123", 64));
	ck_assert(ghl_token_ok("abcd", 4));
	ck_assert(!ghl_token_ok("abcde", 4));
	ck_assert(!ghl_token_ok("", 64));
	ck_assert(!ghl_token_ok(NULL, 64));
	ck_assert(!ghl_token_ok("two words", 64));
	ck_assert(!ghl_token_ok("line\r\nX-Forged: 1", 64));
	ck_assert(!ghl_token_ok("caf\xc3\xa9", 64));
}
END_TEST

START_TEST(test_auth_info)
{
	json_object *o = ghl_auth_info("https://api.example", 0, "comp1", "loc1", NULL);

	ck_assert_str_eq(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
			 "{\"base_url\":\"https://api.example\",\"userType\":\"Location\",\"companyId\":\"comp1\","
			 "\"locationId\":\"loc1\"}");
	json_object_put(o);
	/* an agency's credential names no location; appId when there is one */
	o = ghl_auth_info("https://api.example", 1, "comp1", "loc1", "app9");
	ck_assert_str_eq(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
			 "{\"base_url\":\"https://api.example\",\"userType\":\"Company\",\"companyId\":\"comp1\","
			 "\"appId\":\"app9\"}");
	json_object_put(o);
}
END_TEST

START_TEST(test_encoding)
{
	ghl_buf b;

	ghl_buf_init(&b, 1024);
	ck_assert_int_eq(ghl_buf_add_encoded(&b, "a-Z_0.9~ /&=+%é"), 0);
	ck_assert_str_eq(b.data, "a-Z_0.9~%20%2F%26%3D%2B%25%C3%A9");
	ghl_buf_free(&b);

	ghl_buf_init(&b, 1024);
	ck_assert_int_eq(ghl_form_add(&b, "client_id", "abc-123"), 0);
	ck_assert_int_eq(ghl_form_add(&b, "scope", "a.readonly b/c.write"), 0);
	ck_assert_int_eq(ghl_form_add(&b, "empty", ""), 0);
	ck_assert_int_eq(ghl_form_add(&b, "null", NULL), 0);
	ck_assert_str_eq(b.data, "client_id=abc-123&scope=a.readonly%20b%2Fc.write&empty=&null=");
	ghl_buf_free(&b);

	/* a pair that does not fit leaves the form as it was */
	ghl_buf_init(&b, 12);
	ck_assert_int_eq(ghl_form_add(&b, "a", "b"), 0);
	ck_assert_int_eq(ghl_form_add(&b, "long", "value/x"), -1);
	ck_assert_str_eq(b.data, "a=b");
	ck_assert_int_eq(ghl_buf_add_encoded(&b, "//////"), -1);
	ck_assert_str_eq(b.data, "a=b");
	ghl_buf_free(&b);
}
END_TEST

static const char *err(long status, const char *body)
{
	static char buf[512];

	ghl_error_text(status, body, body ? strlen(body) : 0, buf, sizeof(buf));
	return buf;
}

START_TEST(test_error_text)
{
	ck_assert_str_eq(err(422, "{\"statusCode\":422,\"message\":[\"locationId must be a string\","
				  "\"name is required\"],\"error\":\"Unprocessable Entity\",\"traceId\":\"4f2c\"}"),
			 "HTTP 422: locationId must be a string; name is required (traceId 4f2c)");
	ck_assert_str_eq(err(401, "{\"statusCode\":401,\"message\":\"Invalid token: access token is invalid\","
				  "\"error\":\"Unauthorized\"}"),
			 "HTTP 401: Invalid token: access token is invalid");
	ck_assert_str_eq(err(400, "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid refresh token\"}"),
			 "HTTP 400: invalid_grant: Invalid refresh token");
	ck_assert_str_eq(err(403, "{\"error\":{\"code\":\"PERMISSION_DENIED\",\"message\":\"scope missing\"}}"),
			 "HTTP 403: PERMISSION_DENIED: scope missing");
	ck_assert_str_eq(err(400, "{\"error\":\"Bad Request\"}"), "HTTP 400: Bad Request");
	ck_assert_str_eq(err(500, "{\"traceId\":\"t1\"}"), "HTTP 500: traceId t1");
	/* not JSON: the first bytes, control characters removed */
	ck_assert_str_eq(err(502, "<html>\r\n<b>Bad\tgateway</b>\n</html>\n"),
			 "HTTP 502: <html> <b>Bad gateway</b> </html>");
	ck_assert_str_eq(err(503, ""), "HTTP 503");
	ck_assert_str_eq(err(503, "  \n"), "HTTP 503");
	ck_assert_str_eq(err(0, NULL), "no HTTP answer");
	/* a JSON message with a newline cannot split the log line */
	ck_assert_str_eq(err(400, "{\"message\":\"line1\\nline2\"}"), "HTTP 400: line1 line2");
	/* a JSON array or number is shown as text */
	ck_assert_str_eq(err(400, "[1,2]"), "HTTP 400: [1,2]");
}
END_TEST

START_TEST(test_error_text_bounds)
{
	char big[5000], small[16];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ghl_error_text(500, big, strlen(big), small, sizeof(small));
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
	ck_assert_str_eq(small, "HTTP 500: xxxxx");
	/* the excerpt of a long body is short */
	ck_assert_uint_le(strlen(err(500, big)), 220);
	/* a body that is not NUL-terminated is read only up to len */
	ghl_error_text(400, "{\"message\":\"ok\"}garbage", 16, small, sizeof(small));
	ck_assert_str_eq(small, "HTTP 400: ok");
	ghl_error_text(400, "abc", 3, small, 1);
	ck_assert_str_eq(small, "");
}
END_TEST

static int ig(long status, const char *body)
{
	return ghl_is_invalid_grant(status, body, strlen(body));
}

START_TEST(test_invalid_grant)
{
	ck_assert(ig(400, "{\"error\":\"invalid_grant\",\"error_description\":\"refresh token is invalid\"}"));
	ck_assert(ig(401, "{\"error\":\"invalid_grant\"}"));
	ck_assert(ig(400, "{\"statusCode\":400,\"message\":\"Invalid grant: refresh token is invalid\"}"));
	ck_assert(ig(400, "{\"error\":{\"code\":\"invalid_grant\",\"message\":\"expired\"}}"));
	ck_assert(!ig(400, "{\"error\":\"invalid_request\",\"error_description\":\"missing code\"}"));
	ck_assert(!ig(500, "{\"error\":\"invalid_grant\"}"));
	ck_assert(!ig(429, "{\"error\":\"invalid_grant\"}"));
	ck_assert(!ig(0, ""));
	ck_assert(!ig(400, "invalid_grant"));
	ck_assert(!ig(200, "{\"access_token\":\"x\"}"));
}
END_TEST

START_TEST(test_hash)
{
	char out[17];

	ghl_hash_hex("", 0, out);
	ck_assert_str_eq(out, "cbf29ce484222325");
	ghl_hash_hex("a", 1, out);
	ck_assert_str_eq(out, "af63dc4c8601ec8c");
	ghl_hash_hex("foobar", 6, out);
	ck_assert_str_eq(out, "85944171f73967e8");
}
END_TEST

START_TEST(test_time)
{
	char buf[64];

	ck_assert_int_eq(ghl_parse_time("1970-01-01T00:00:00.000Z"), 0);
	ck_assert_int_eq(ghl_parse_time("2023-08-02T00:00:00.000Z"), 1690934400000LL);
	ck_assert_int_eq(ghl_parse_time("2023-08-02T00:00:00Z"), 1690934400000LL);
	ck_assert_int_eq(ghl_parse_time("2023-08-02"), 1690934400000LL);
	ck_assert_int_eq(ghl_parse_time("2023-08-02T02:00:00+02:00"), 1690934400000LL);
	ck_assert_int_eq(ghl_parse_time("2023-08-01T19:30:00.5-0430"), 1690934400500LL);
	ck_assert_int_eq(ghl_parse_time("2024-02-29T12:34:56.789Z"), 1709210096789LL);
	ck_assert_int_eq(ghl_parse_time("2023-08-02T00:00"), 1690934400000LL);
	ck_assert_int_eq(ghl_parse_time("2023-02-29T00:00:00Z"), -1);
	ck_assert_int_eq(ghl_parse_time("2023-13-01T00:00:00Z"), -1);
	ck_assert_int_eq(ghl_parse_time("2023-08-02T24:00:00Z"), -1);
	ck_assert_int_eq(ghl_parse_time("2023-08-02T00:00:00Zjunk"), -1);
	ck_assert_int_eq(ghl_parse_time("2023-8-2"), -1);
	ck_assert_int_eq(ghl_parse_time(""), -1);
	ck_assert_int_eq(ghl_parse_time(NULL), -1);

	ghl_format_time(0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1970-01-01T00:00:00.000Z");
	ghl_format_time(1709210096789LL, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2024-02-29T12:34:56.789Z");
	ghl_format_time(-1, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1969-12-31T23:59:59.999Z");
	ghl_format_time(253402300799999LL, buf, sizeof(buf));
	ck_assert_str_eq(buf, "9999-12-31T23:59:59.999Z");
	/* round trip */
	for (int64_t t = -86400000LL * 800; t < 86400000LL * 366 * 60; t += 86400000LL * 13 + 3600017) {
		ghl_format_time(t, buf, sizeof(buf));
		ck_assert_int_eq(ghl_parse_time(buf), t);
	}
}
END_TEST

START_TEST(test_user_agent)
{
	hlb_host host;
	char buf[128];

	memset(&host, 0, sizeof(host));
	host.version = "1.2.3";
	ghl_user_agent(&host, "ghl_tags", buf, sizeof(buf));
	ck_assert_str_eq(buf, "hlbridge/1.2.3 (+plugin ghl_tags)");
	ghl_user_agent(NULL, "ghl_oauth", buf, sizeof(buf));
	ck_assert_str_eq(buf, "hlbridge/unknown (+plugin ghl_oauth)");
}
END_TEST

static Suite *test_suite(void)
{
	Suite *s = suite_create("ghl_util");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_buf_caps);
	tcase_add_test(tc, test_buf_grows);
	tcase_add_test(tc, test_buf_cut_and_failed);
	tcase_add_test(tc, test_token_ok);
	tcase_add_test(tc, test_auth_info);
	tcase_add_test(tc, test_encoding);
	tcase_add_test(tc, test_error_text);
	tcase_add_test(tc, test_error_text_bounds);
	tcase_add_test(tc, test_invalid_grant);
	tcase_add_test(tc, test_hash);
	tcase_add_test(tc, test_time);
	tcase_add_test(tc, test_user_agent);
	suite_add_tcase(s, tc);
	return s;
}
