/* plugins/octorate: the pure helpers of the Octorate client (times in
 * Octorate's zoned form, Rome dates, the pager's decision, ApiError text,
 * notes append, rate, id text) and the reservation -> record mapping with
 * its dedup decision. */
#include "check_main.h"

#include <string.h>

#include <json-c/json.h>

#include "../plugins/octorate/octorate_client.h"
#include "../plugins/octorate/octorate_record.h"

START_TEST(test_parse_time)
{
	/* 2020-07-06T22:00:00Z */
	const int64_t t = 1594072800000LL;

	ck_assert_int_eq(octo_parse_time("2020-07-06T22:00:00Z[UTC]"), t);
	ck_assert_int_eq(octo_parse_time("2020-07-06T22:00:00Z"), t);
	ck_assert_int_eq(octo_parse_time("2020-07-07T00:00:00+02:00[Europe/Rome]"), t);
	ck_assert_int_eq(octo_parse_time("2020-07-06 22:00:00+00:00"), t);
	ck_assert_int_eq(octo_parse_time("2020-07-06T22:00:00.000Z[UTC]"), t);
	ck_assert_int_eq(octo_parse_time("2020-07-06"), 1593993600000LL);
	ck_assert_int_eq(octo_parse_time("2020-07-06T22:00:00Z[UTC"), -1);
	ck_assert_int_eq(octo_parse_time("[UTC]"), -1);
	ck_assert_int_eq(octo_parse_time("yesterday"), -1);
	ck_assert_int_eq(octo_parse_time(NULL), -1);
}
END_TEST

START_TEST(test_format_time)
{
	char buf[40];

	octo_format_time(1594072800000LL, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2020-07-06T22:00:00Z");
	octo_format_time(1594072800999LL, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2020-07-06T22:00:00Z");
}
END_TEST

START_TEST(test_rome_date)
{
	char buf[16];

	/* winter: UTC+1 */
	octo_rome_date(octo_parse_time("2026-01-15T22:59:59Z"), buf, sizeof(buf));
	ck_assert_str_eq(buf, "2026-01-15");
	octo_rome_date(octo_parse_time("2026-01-15T23:00:00Z"), buf, sizeof(buf));
	ck_assert_str_eq(buf, "2026-01-16");
	/* summer: UTC+2 */
	octo_rome_date(octo_parse_time("2026-07-06T21:59:59Z"), buf, sizeof(buf));
	ck_assert_str_eq(buf, "2026-07-06");
	octo_rome_date(octo_parse_time("2026-07-06T22:00:00Z"), buf, sizeof(buf));
	ck_assert_str_eq(buf, "2026-07-07");
	/* 2026: summer time from 29 March 01:00 UTC to 25 October 01:00 UTC */
	octo_rome_date(octo_parse_time("2026-03-28T23:30:00Z"), buf, sizeof(buf));
	ck_assert_str_eq(buf, "2026-03-29");
	octo_rome_date(octo_parse_time("2026-10-24T22:30:00Z"), buf, sizeof(buf));
	ck_assert_str_eq(buf, "2026-10-25");
	octo_rome_date(octo_parse_time("2026-10-25T23:30:00Z"), buf, sizeof(buf));
	ck_assert_str_eq(buf, "2026-10-26");
	octo_rome_date(octo_parse_time("2026-10-25T22:30:00Z"), buf, sizeof(buf));
	ck_assert_str_eq(buf, "2026-10-25");
}
END_TEST

START_TEST(test_paging)
{
	octo_page_state st;

	octo_page_init(&st, 3);
	ck_assert_int_eq(octo_page_step(&st, 2, 1, "1"), OCTO_PAGE_MORE);
	ck_assert_int_eq(octo_page_step(&st, 2, 1, "3"), OCTO_PAGE_MORE);
	ck_assert_int_eq(octo_page_step(&st, 1, 0, "5"), OCTO_PAGE_DONE);
	/* a server that ignores page answers the same page again */
	octo_page_init(&st, 0);
	ck_assert_int_eq(octo_page_step(&st, 2, 1, "1"), OCTO_PAGE_MORE);
	ck_assert_int_eq(octo_page_step(&st, 2, 1, "1"), OCTO_PAGE_REPEATED);
	/* the bound */
	octo_page_init(&st, 2);
	ck_assert_int_eq(octo_page_step(&st, 2, 1, "1"), OCTO_PAGE_MORE);
	ck_assert_int_eq(octo_page_step(&st, 2, 1, "3"), OCTO_PAGE_TOO_MANY);
	/* an empty page ends it, whatever next says */
	octo_page_init(&st, 0);
	ck_assert_int_eq(octo_page_step(&st, 0, 1, NULL), OCTO_PAGE_DONE);
}
END_TEST

START_TEST(test_error_text)
{
	const char *body = "{\"message\":\"Quota exceeded\",\"type\":\"ApiQuotaException\",\"machine_name\":\"quota\","
			   "\"human_name\":\"Too many calls\",\"element\":\"reservation\",\"suggestion\":\"wait\"}";
	char buf[512], type[64];

	octo_error_text(403, body, strlen(body), "req-1", buf, sizeof(buf), type, sizeof(type));
	ck_assert_str_eq(type, "ApiQuotaException");
	ck_assert_str_eq(buf, "HTTP 403 ApiQuotaException: Quota exceeded (machine_name quota; human_name Too many "
			 "calls; element reservation; suggestion wait) [request-id req-1]");
	octo_error_text(404, "", 0, NULL, buf, sizeof(buf), type, sizeof(type));
	ck_assert_str_eq(buf, "HTTP 404");
	ck_assert_str_eq(type, "");
	octo_error_text(502, "bad\ngateway", 11, "", buf, sizeof(buf), type, sizeof(type));
	ck_assert_str_eq(buf, "HTTP 502: bad gateway");
	/* cut to the buffer, never past it */
	octo_error_text(403, body, strlen(body), "req-1", buf, 20, type, sizeof(type));
	ck_assert_uint_eq(strlen(buf), 19);
}
END_TEST

START_TEST(test_notes)
{
	const char *lines[] = { "tag VIP added", "tag late removed" };
	char *n;
	int oom;

	n = octo_notes_append(NULL, lines, 2, &oom);
	ck_assert_str_eq(n, "tag VIP added\ntag late removed");
	free(n);
	n = octo_notes_append("Guest asked for a cot", lines, 1, &oom);
	ck_assert_str_eq(n, "Guest asked for a cot\ntag VIP added");
	free(n);
	/* a redelivery: the lines are there already (with noteTime's prefix) */
	ck_assert_ptr_null(octo_notes_append("x\n[2026-01-01 10:00 api] tag VIP added\ntag late removed", lines, 2,
					     &oom));
	ck_assert_int_eq(oom, 0);
	/* only the missing line is added */
	n = octo_notes_append("tag VIP added", lines, 2, &oom);
	ck_assert_str_eq(n, "tag VIP added\ntag late removed");
	free(n);
	ck_assert_ptr_null(octo_notes_append("old", lines, 0, &oom));
}
END_TEST

START_TEST(test_rate_and_ids)
{
	uint32_t max;
	int64_t ms;
	char buf[72];
	const char *text = "[92180827, 27475272242861871781, \"123\", \"12a\", 1.5]";
	size_t qlen;
	int oom;
	char *q = octo_quote_big_ints(text, strlen(text), &qlen, &oom);
	json_object *big = json_tokener_parse(q);

	ck_assert_str_eq(q, "[92180827, \"27475272242861871781\", \"123\", \"12a\", 1.5]");
	free(q);
	/* strings, fractions and exponents stay; an int64 stays a number */
	text = "{\"a\":\"99999999999999999999\",\"b\":1.99999999999999999999,\"c\":9223372036854775807,"
	       "\"d\":12345678901234567890e2,\"e\":\"x\\\"9\"}";
	ck_assert_ptr_null(octo_quote_big_ints(text, strlen(text), &qlen, &oom));
	ck_assert_int_eq(oom, 0);

	ck_assert_int_eq(octo_parse_rate("100/5m", &max, &ms), 0);
	ck_assert_uint_eq(max, 100);
	ck_assert_int_eq(ms, 300000);
	ck_assert_int_eq(octo_parse_rate("3/s", &max, &ms), 0);
	ck_assert_int_eq(ms, 1000);
	ck_assert_int_eq(octo_parse_rate("0/5m", &max, &ms), -1);
	ck_assert_int_eq(octo_parse_rate("5/5w", &max, &ms), -1);
	ck_assert_int_eq(octo_id_text(json_object_array_get_idx(big, 0), buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "92180827");
	/* beyond int64: the text as written, never through a double */
	ck_assert_int_eq(octo_id_text(json_object_array_get_idx(big, 1), buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "27475272242861871781");
	ck_assert_int_eq(octo_id_text(json_object_array_get_idx(big, 2), buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "123");
	ck_assert_int_eq(octo_id_text(json_object_array_get_idx(big, 3), buf, sizeof(buf)), -1);
	ck_assert_int_eq(octo_id_text(json_object_array_get_idx(big, 4), buf, sizeof(buf)), -1);
	ck_assert_int_eq(octo_id_ok("112696"), 1);
	ck_assert_int_eq(octo_id_ok("11/2"), 0);
	json_object_put(big);
}
END_TEST

static const char *res_json =
	"{\"id\":92180827123456789012,\"refer\":\"27475272242861871781\",\"status\":\"CONFIRMED\","
	"\"channelId\":142,\"channelName\":\"Booking\",\"checkin\":\"2020-07-06T22:00:00Z[UTC]\","
	"\"checkout\":\"2020-07-14T07:00:00Z[UTC]\",\"createTime\":\"2020-04-26T15:20:50Z[UTC]\","
	"\"updateTime\":\"2020-06-18T16:04:31+02:00[Europe/Rome]\",\"product\":234762,\"totalGross\":552.5,"
	"\"totalGuest\":1,\"currency\":\"EUR\",\"guests\":[{\"type\":\"GUEST\",\"givenName\":\"X\"},"
	"{\"type\":\"BOOKER\",\"givenName\":\"Elisa\",\"familyName\":\"Rossi\",\"email\":\" Elisa.R@Example.COM \","
	"\"phone\":\"333 123 4567\",\"language\":\"IT\"}],\"metaData\":[],\"privateNotes\":\"n\"}";

START_TEST(test_record)
{
	size_t qlen;
	int oom;
	char *q = octo_quote_big_ints(res_json, strlen(res_json), &qlen, &oom);
	json_object *res = json_tokener_parse(q), *v, *body;
	octo_res r, r2;
	char hash[17];

	free(q);
	ck_assert_ptr_nonnull(res);
	ck_assert_int_eq(octo_res_build("112696", res, "IT", &r), HLB_OK);
	body = r.body;
	ck_assert_str_eq(r.id, "92180827123456789012");
	ck_assert_str_eq(r.key, "112696:92180827123456789012");
	ck_assert_str_eq(r.object, "octorate:112696:reservation:92180827123456789012");
	ck_assert_str_eq(r.state_key, "r:112696:92180827123456789012");
	ck_assert_int_eq(r.time_ms, octo_parse_time("2020-06-18T14:04:31Z"));
#define FIELD(k, want) do { \
		ck_assert(json_object_object_get_ex(body, k, &v)); \
		ck_assert_str_eq(json_object_get_string(v), want); \
	} while (0)
	FIELD("accommodationId", "112696");
	FIELD("reservationId", "92180827123456789012");
	FIELD("refer", "27475272242861871781");
	ck_assert(json_object_is_type(json_object_object_get(body, "refer"), json_type_string));
	FIELD("status", "CONFIRMED");
	FIELD("firstName", "Elisa");
	FIELD("lastName", "Rossi");
	FIELD("email", "elisa.r@example.com");
	FIELD("phone", "+393331234567");
	FIELD("language", "IT");
	FIELD("checkin", "2020-07-06T22:00:00Z");
	FIELD("checkout", "2020-07-14T07:00:00Z");
	FIELD("createTime", "2020-04-26T15:20:50Z");
	FIELD("updateTime", "2020-06-18T14:04:31Z");
	FIELD("room", "234762");
	FIELD("total", "552.5");
	FIELD("currency", "EUR");
	FIELD("channel", "Booking");
	FIELD("channelId", "142");
	FIELD("guests", "1");
	FIELD("object", "octorate:112696:reservation:92180827123456789012");
#undef FIELD
	memcpy(hash, r.hash, sizeof(hash));
	json_object_put(r.body);

	/* only updateTime (and metaData) moved: the same hash */
	json_object_object_add(res, "updateTime", json_object_new_string("2020-06-19T10:00:00Z[UTC]"));
	json_object_object_add(res, "metaData", json_object_new_array());
	ck_assert_int_eq(octo_res_build("112696", res, "IT", &r2), HLB_OK);
	ck_assert_str_eq(r2.hash, hash);
	json_object_put(r2.body);
	/* a real change: another hash */
	json_object_object_add(res, "status", json_object_new_string("CANCELLED"));
	ck_assert_int_eq(octo_res_build("112696", res, "IT", &r2), HLB_OK);
	ck_assert_str_ne(r2.hash, hash);
	json_object_put(r2.body);
	/* no id: no record */
	json_object_object_del(res, "id");
	ck_assert_int_eq(octo_res_build("112696", res, "IT", &r2), HLB_EPARSE);
	json_object_put(res);
}
END_TEST

START_TEST(test_dedup)
{
	json_object *e = octo_res_entry(1000, "00000000000000aa");

	ck_assert_int_eq(octo_res_dedup(NULL, 1000, "00000000000000aa"), OCTO_NEW);
	ck_assert_int_eq(octo_res_dedup(e, 1000, "00000000000000aa"), OCTO_SEEN);
	ck_assert_int_eq(octo_res_dedup(e, 900, "00000000000000aa"), OCTO_SEEN);
	ck_assert_int_eq(octo_res_dedup(e, 2000, "00000000000000aa"), OCTO_SAME);
	ck_assert_int_eq(octo_res_dedup(e, 2000, "00000000000000bb"), OCTO_NEW);
	json_object_put(e);
}
END_TEST

static Suite *test_suite(void)
{
	Suite *s = suite_create("octorate");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_parse_time);
	tcase_add_test(tc, test_format_time);
	tcase_add_test(tc, test_rome_date);
	tcase_add_test(tc, test_paging);
	tcase_add_test(tc, test_error_text);
	tcase_add_test(tc, test_notes);
	tcase_add_test(tc, test_rate_and_ids);
	tcase_add_test(tc, test_record);
	tcase_add_test(tc, test_dedup);
	suite_add_tcase(s, tc);
	return s;
}
