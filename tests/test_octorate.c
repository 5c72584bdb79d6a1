/* plugins/octorate: the pure helpers of the Octorate client (times in
 * Octorate's zoned form, Rome dates, the pager's decision, ApiError text,
 * notes append with its markers, rate, id text, big integers), the
 * reservation -> record mapping with its dedup decision, the helpers of
 * ghl_util.h the Octorate modules share with the GHL ones, and the sink's
 * record setup (plugins/octorate/octorate.c, compiled in here) against a
 * stub host: a DELETE, a record without tags, a failed allocation. */
#include "check_main.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "../plugins/octorate/octorate_client.h"
#include "../plugins/octorate/octorate_record.h"

/* The sink's realloc, made to fail on the call numbered fail_realloc_at
 * (counted from 0; -1: never). */
static int fail_realloc_at = -1;
static int realloc_calls;

static void *test_realloc(void *p, size_t n)
{
	if (realloc_calls++ == fail_realloc_at)
		return NULL;
	return realloc(p, n);
}

#define realloc test_realloc
#include "../plugins/octorate/octorate.c"
#undef realloc

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

/* lines[i] with its marker for record (key, t). */
static const char *marked(const char *line, const char *key, int64_t t)
{
	static char buf[8][256];
	static int next;
	char m[OCTO_MARKER_LEN];
	char *b = buf[next++ % 8];

	octo_note_marker(key, t, line, m, sizeof(m));
	snprintf(b, 256, "%s%s", line, m);
	return b;
}

START_TEST(test_notes)
{
	const char *lines[] = { "tag VIP added", "tag late removed" };
	char *n, want[512], m[OCTO_MARKER_LEN], m2[OCTO_MARKER_LEN];
	int oom;

	/* the marker: " [hlb:" 8 hex "]", from the record and the line */
	octo_note_marker("loc:c1", 1000, "tag VIP added", m, sizeof(m));
	ck_assert_uint_eq(strlen(m), 15);
	ck_assert(strncmp(m, " [hlb:", 6) == 0 && m[14] == ']');
	ck_assert_uint_eq(strspn(m + 6, "0123456789abcdef"), 8);
	octo_note_marker("loc:c1", 2000, "tag VIP added", m2, sizeof(m2));
	ck_assert_str_ne(m, m2);
	octo_note_marker("loc:c2", 1000, "tag VIP added", m2, sizeof(m2));
	ck_assert_str_ne(m, m2);
	octo_note_marker("loc:c1", 1000, "tag VIP adde", m2, sizeof(m2));
	ck_assert_str_ne(m, m2);

	n = octo_notes_append(NULL, lines, 2, "loc:c1", 1000, &oom);
	snprintf(want, sizeof(want), "%s\n%s", marked(lines[0], "loc:c1", 1000), marked(lines[1], "loc:c1", 1000));
	ck_assert_str_eq(n, want);
	free(n);
	n = octo_notes_append("Guest asked for a cot", lines, 1, "loc:c1", 1000, &oom);
	snprintf(want, sizeof(want), "Guest asked for a cot\n%s", marked(lines[0], "loc:c1", 1000));
	ck_assert_str_eq(n, want);
	free(n);
	/* a redelivery: the lines are there already (with noteTime's stamp) */
	snprintf(want, sizeof(want), "x\n[2026-01-01 10:00 api] %s\n%s", marked(lines[0], "loc:c1", 1000),
		 marked(lines[1], "loc:c1", 1000));
	ck_assert_ptr_null(octo_notes_append(want, lines, 2, "loc:c1", 1000, &oom));
	ck_assert_int_eq(oom, 0);
	/* only the missing line is added */
	n = octo_notes_append(marked(lines[0], "loc:c1", 1000), lines, 2, "loc:c1", 1000, &oom);
	snprintf(want, sizeof(want), "%s\n%s", marked(lines[0], "loc:c1", 1000), marked(lines[1], "loc:c1", 1000));
	ck_assert_str_eq(n, want);
	free(n);
	ck_assert_ptr_null(octo_notes_append("old", lines, 0, "loc:c1", 1000, &oom));
	/* the same line twice in one record: once */
	{
		const char *twice[] = { "tag VIP added", "tag VIP added" };

		n = octo_notes_append(NULL, twice, 2, "loc:c1", 1000, &oom);
		ck_assert_str_eq(n, marked(twice[0], "loc:c1", 1000));
		free(n);
	}
}
END_TEST

/* The review's cases: a line that is part of an older note, and an event
 * repeated (add, remove, add), are new lines; only a redelivery of the
 * same record is skipped. */
START_TEST(test_notes_repeated_events)
{
	const char *add[] = { "tag VIP added" }, *remove[] = { "tag VIP removed" }, *part[] = { "tag VIP" };
	char *n1, *n2, *n3, *n4;
	int oom;

	n1 = octo_notes_append(NULL, add, 1, "loc:c1", 1000, &oom);
	n2 = octo_notes_append(n1, remove, 1, "loc:c1", 2000, &oom);
	n3 = octo_notes_append(n2, add, 1, "loc:c1", 3000, &oom);
	ck_assert_ptr_nonnull(n3);
	ck_assert_ptr_nonnull(strstr(n3, marked(add[0], "loc:c1", 1000)));
	ck_assert_ptr_nonnull(strstr(n3, marked(remove[0], "loc:c1", 2000)));
	ck_assert_ptr_nonnull(strstr(n3, marked(add[0], "loc:c1", 3000)));
	/* the third record again: nothing */
	ck_assert_ptr_null(octo_notes_append(n3, add, 1, "loc:c1", 3000, &oom));
	/* a substring of an older line is a line of its own */
	n4 = octo_notes_append(n3, part, 1, "loc:c1", 4000, &oom);
	ck_assert_ptr_nonnull(n4);
	ck_assert_ptr_nonnull(strstr(n4, marked(part[0], "loc:c1", 4000)));
	/* and an old note without a marker does not hide a line either */
	free(n4);
	n4 = octo_notes_append("tag VIP added", add, 1, "loc:c1", 5000, &oom);
	ck_assert_ptr_nonnull(n4);
	free(n1);
	free(n2);
	free(n3);
	free(n4);
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
	/* the digits of an exponent are no integer of their own */
	text = "[1E+100000000000000000000,2e-123456789012345678901,3E123456789012345678901,"
	       "-12345678901234567890123,1.5e99999999999999999999]";
	ck_assert_ptr_null(octo_quote_big_ints(text, strlen(text), &qlen, &oom));
	ck_assert_int_eq(oom, 0);
	text = "{\"e\":1E+100000000000000000000,\"id\":27475272242861871781}";
	q = octo_quote_big_ints(text, strlen(text), &qlen, &oom);
	ck_assert_str_eq(q, "{\"e\":1E+100000000000000000000,\"id\":\"27475272242861871781\"}");
	ck_assert_uint_eq(qlen, strlen(q));
	{
		json_object *v = json_tokener_parse(q);

		ck_assert_ptr_nonnull(v);
		json_object_put(v);
	}
	free(q);

	ck_assert_int_eq(octo_parse_rate("100/5m", &max, &ms), 0);
	ck_assert_uint_eq(max, 100);
	ck_assert_int_eq(ms, 300000);
	ck_assert_int_eq(octo_parse_rate("3/s", &max, &ms), 0);
	ck_assert_int_eq(ms, 1000);
	ck_assert_int_eq(octo_parse_rate("0/5m", &max, &ms), -1);
	ck_assert_int_eq(octo_parse_rate("5/5w", &max, &ms), -1);
	/* the syntax only: the host's bounds are load_options' (tests/octorate_source.test) */
	ck_assert_int_eq(octo_parse_rate("100/8d", &max, &ms), 0);
	ck_assert_int_eq(ms, 8 * 86400000LL);
	ck_assert_int_eq(octo_parse_rate("2000000/1s", &max, &ms), 0);
	ck_assert_uint_eq(max, 2000000);
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
	/* other content with an older time: out of order, the newer is emitted */
	ck_assert_int_eq(octo_res_dedup(e, 900, "00000000000000bb"), OCTO_SEEN);
	/* the same time with other content is a change; no time: a change */
	ck_assert_int_eq(octo_res_dedup(e, 1000, "00000000000000bb"), OCTO_NEW);
	ck_assert_int_eq(octo_res_dedup(e, -1, "00000000000000bb"), OCTO_NEW);
	json_object_put(e);
}
END_TEST


/* ---- ghl_util's helpers the Octorate modules share ------------------------------------ */

START_TEST(test_shared_helpers)
{
	const char *p = " 100001 ,, 100002\t,", *item;
	char buf[32], msg[256];
	size_t n;
	uint64_t rng = 42;
	json_tokener *tok = NULL;
	json_object *o;
	ghl_line l;

	item = ghl_list_next(&p, &n);
	ck_assert_int_eq((int)n, 6);
	ck_assert(strncmp(item, "100001", 6) == 0);
	item = ghl_list_next(&p, &n);
	ck_assert(item && n == 6 && strncmp(item, "100002", 6) == 0);
	ck_assert_ptr_null(ghl_list_next(&p, &n));
	p = " , ";
	ck_assert_ptr_null(ghl_list_next(&p, &n));

	{
		char *u = ghl_url_join("http://h:1//", "/rest/v1/x");

		ck_assert_str_eq(u, "http://h:1/rest/v1/x");
		free(u);
	}
	ck_assert(ghl_url_ok("https://a.b/c") && ghl_url_ok("http://127.0.0.1:80"));
	ck_assert(!ghl_url_ok("ftp://x") && !ghl_url_ok("http://a b") && !ghl_url_ok(NULL));
	ck_assert_int_eq(ghl_token_margin(300000, 0, 2000), 1000);
	ck_assert_int_eq(ghl_token_margin(300000, 0, 86400000), 300000);

	o = ghl_parse_whole(&tok, "{\"n\":\"12\",\"m\":7,\"s\":\"x\"}  \n", 26);
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(ghl_json_int(o, "n", -1), 12);
	ck_assert_int_eq(ghl_json_int(o, "m", -1), 7);
	ck_assert_int_eq(ghl_json_int(o, "s", -1), -1);
	ck_assert_int_eq(ghl_json_int(o, "none", -1), -1);
	ck_assert_str_eq(ghl_json_string(o, "s"), "x");
	ck_assert_ptr_null(ghl_json_string(o, "m"));
	json_object_put(o);
	/* the tokener is reused; trailing garbage is no JSON */
	ck_assert_ptr_null(ghl_parse_whole(&tok, "{} x", 4));
	ck_assert_ptr_null(ghl_parse_whole(&tok, "{\"a\":", 5));
	o = ghl_parse_whole(&tok, "[1]", 3);
	ck_assert_ptr_nonnull(o);
	json_object_put(o);
	json_tokener_free(tok);
	ck_assert_ptr_null(ghl_parse_object("[1]", 3));

	for (unsigned a = 0; a < 10; a++) {
		int64_t w = ghl_backoff_ms(&rng, a, 500), cap = 500LL << (a < 6 ? a : 6);

		ck_assert(w >= cap / 2 && w <= cap);
	}

	ghl_line_init(&l, buf, sizeof(buf));
	ghl_line_adds(&l, "a\n\tb  c");
	ghl_line_adds(&l, NULL);
	ck_assert_str_eq(buf, "a b c");
	ghl_line_adds(&l, "0123456789012345678901234567890123456789");
	ck_assert_uint_eq(strlen(buf), sizeof(buf) - 1);

	ghl_login_message(msg, sizeof(msg), "hotel", 0, NULL);
	ck_assert_str_eq(msg, "[auth:hotel] is not authorized yet: run 'hlbridge auth login hotel -c CONFIG'");
	ghl_login_message(msg, sizeof(msg), "hotel", 1, "refused");
	ck_assert_str_eq(msg, "[auth:hotel] must be authorized again (refused): run 'hlbridge auth login hotel -c "
			 "CONFIG'");
	{
		char *sec = strdup("secret"), *dst = NULL;

		ck_assert_int_eq(ghl_set_str(&dst, "v"), 0);
		ck_assert_str_eq(dst, "v");
		ck_assert_int_eq(ghl_set_str(&dst, NULL), 0);
		ck_assert_ptr_null(dst);
		ghl_free_secret(sec);
		ghl_free_secret(NULL);
	}
}
END_TEST

/* ---- the sink's record setup, against a stub host ------------------------------------- */

struct stub_rec {
	const char *key;
	hlb_op op;
	int64_t time_ms;
	json_object *body;
};

#define STUB_MAX 8
static struct {
	struct stub_rec recs[STUB_MAX];
	size_t n;
	hlb_verdict verdict[STUB_MAX];
	char reason[STUB_MAX][256];
	int given[STUB_MAX];
	json_object *links;   /* what link_find answers (a new reference each time) */
	int finished, finish_rc;
	int auth_calls;       /* requests the sink started (each asks for a token) */
	char last_log[512];
	hlb_log_level last_level;
} stub;

static void stub_log(hlb_instance *inst, hlb_log_level level, const char *fmt, ...) HLB_PRINTF(3, 4);

static void stub_log(hlb_instance *inst, hlb_log_level level, const char *fmt, ...)
{
	va_list ap;

	(void)inst;
	stub.last_level = level;
	va_start(ap, fmt);
	vsnprintf(stub.last_log, sizeof(stub.last_log), fmt, ap);
	va_end(ap);
}

static size_t stub_batch_size(const hlb_job *job)
{
	(void)job;
	return stub.n;
}

static const hlb_record *stub_batch_record(const hlb_job *job, size_t i)
{
	(void)job;
	return (const hlb_record *)&stub.recs[i];
}

static const char *stub_record_key(const hlb_record *r)
{
	return ((const struct stub_rec *)r)->key;
}

static hlb_op stub_record_op(const hlb_record *r)
{
	return ((const struct stub_rec *)r)->op;
}

static int64_t stub_record_time(const hlb_record *r)
{
	return ((const struct stub_rec *)r)->time_ms;
}

static json_object *stub_record_body(const hlb_record *r)
{
	return ((const struct stub_rec *)r)->body;
}

static void stub_verdict_http(hlb_job *job, size_t i, hlb_verdict v, const char *reason, long status,
			      int64_t retry_after_ms)
{
	(void)job;
	(void)status;
	(void)retry_after_ms;
	ck_assert_uint_lt(i, stub.n);
	ck_assert_int_eq(stub.given[i], 0);
	stub.given[i] = 1;
	stub.verdict[i] = v;
	snprintf(stub.reason[i], sizeof(stub.reason[i]), "%s", reason ? reason : "");
}

static void stub_finish(hlb_job *job, int rc, const char *message)
{
	(void)job;
	(void)message;
	stub.finished++;
	stub.finish_rc = rc;
}

static json_object *stub_link_find(hlb_instance *inst, const char *object)
{
	(void)inst;
	(void)object;
	return stub.links ? json_object_get(stub.links) : NULL;
}

/* A request asks for a token first: counted, and refused (the request
 * fails as out of memory, at once). */
static hlb_auth_call *stub_auth_token(hlb_instance *inst, const char *auth, const char *subject, hlb_auth_cb cb,
				      void *arg)
{
	(void)inst;
	(void)auth;
	(void)subject;
	(void)cb;
	(void)arg;
	stub.auth_calls++;
	return NULL;
}

static hlb_host stub_host(void)
{
	hlb_host h;

	memset(&h, 0, sizeof(h));
	h.size = sizeof(h);
	h.log = stub_log;
	h.batch_size = stub_batch_size;
	h.batch_record = stub_batch_record;
	h.record_key = stub_record_key;
	h.record_op = stub_record_op;
	h.record_time = stub_record_time;
	h.record_body = stub_record_body;
	h.verdict_http = stub_verdict_http;
	h.finish = stub_finish;
	h.link_find = stub_link_find;
	h.auth_token = stub_auth_token;
	return h;
}

static void stub_reset(void)
{
	for (size_t i = 0; i < stub.n; i++)
		json_object_put(stub.recs[i].body);
	json_object_put(stub.links);
	memset(&stub, 0, sizeof(stub));
	fail_realloc_at = -1;
	realloc_calls = 0;
}

static void stub_add(const char *key, hlb_op op, const char *body)
{
	ck_assert_uint_lt(stub.n, STUB_MAX);
	stub.recs[stub.n].key = key;
	stub.recs[stub.n].op = op;
	stub.recs[stub.n].time_ms = 1000;
	stub.recs[stub.n].body = json_tokener_parse(body);
	ck_assert_ptr_nonnull(stub.recs[stub.n].body);
	stub.n++;
}

/* Delivers the stub batch with a sink covering accommodation 100001. */
static void stub_deliver(void)
{
	hlb_host h = stub_host();
	struct octo o;
	char *acc = strdup("100001");

	memset(&o, 0, sizeof(o));
	o.host = &h;
	o.accs = &acc;
	o.naccs = 1;
	o.client = octo_client_new(&h, NULL, "octorate", "hotel", OCTO_RATE_MAX, OCTO_RATE_MS);
	ck_assert_ptr_nonnull(o.client);
	ck_assert_int_eq(octo_deliver(&o, (hlb_job *)&o), HLB_OK);
	ck_assert_int_eq(stub.finished, 1);
	ck_assert_int_eq(stub.finish_rc, HLB_OK);
	ck_assert_ptr_null(o.delivery);
	for (size_t i = 0; i < stub.n; i++)
		ck_assert_int_eq(stub.given[i], 1);
	octo_client_free(o.client);
	free(acc);
}

#define LINK "{\"left\":\"ghl:L1:contact:c1\",\"right\":\"octorate:100001:reservation:92180001\"}"

START_TEST(test_sink_delete_leaves_reservation)
{
	stub_reset();
	stub.links = json_tokener_parse("[" LINK "]");
	/* the ghl contacts source's DELETE: no tags member, nothing written */
	stub_add("L1:c1", HLB_OP_DELETE, "{\"locationId\":\"L1\",\"contactId\":\"c1\",\"object\":\"ghl:L1:contact:c1\"}");
	stub_deliver();
	ck_assert_int_eq(stub.auth_calls, 0);
	ck_assert_int_eq(stub.verdict[0], HLB_DONE);
	ck_assert_int_eq(stub.last_level, HLB_LOG_INFO);
	ck_assert_ptr_nonnull(strstr(stub.last_log, "ghl:L1:contact:c1 was deleted in GHL"));
	stub_reset();
}
END_TEST

START_TEST(test_sink_without_tags)
{
	stub_reset();
	stub.links = json_tokener_parse("[" LINK "]");
	/* neither tags nor history: DONE, nothing read or written */
	stub_add("L1:c1", HLB_OP_UPSERT, "{\"locationId\":\"L1\",\"contactId\":\"c1\"}");
	/* tags null is no tags either */
	stub_add("L1:c1", HLB_OP_UPSERT, "{\"locationId\":\"L1\",\"contactId\":\"c1\",\"tags\":null,\"history\":[]}");
	/* tags of another type: a bad record */
	stub_add("L1:c1", HLB_OP_UPSERT, "{\"locationId\":\"L1\",\"contactId\":\"c1\",\"tags\":\"VIP\"}");
	stub_deliver();
	ck_assert_int_eq(stub.auth_calls, 0);
	ck_assert_int_eq(stub.verdict[0], HLB_DONE);
	ck_assert_int_eq(stub.verdict[1], HLB_DONE);
	ck_assert_int_eq(stub.verdict[2], HLB_FAILED);
	ck_assert_str_eq(stub.reason[2], "the record's tags are not an array");
	stub_reset();
}
END_TEST

/* A failed realloc while collecting the linked reservations: the record is
 * retried, never DONE with a reservation skipped. */
START_TEST(test_sink_oom_targets)
{
	stub_reset();
	stub.links = json_tokener_parse("[" LINK ",{\"left\":\"ghl:L1:contact:c1\","
					"\"right\":\"octorate:100001:reservation:92180002\"}]");
	stub_add("L1:c1", HLB_OP_UPSERT, "{\"locationId\":\"L1\",\"contactId\":\"c1\",\"tags\":[\"VIP\"]}");
	/* the control: both reservations are read (the stub refuses the token) */
	stub_deliver();
	ck_assert_int_eq(stub.auth_calls, 2);
	ck_assert_int_eq(stub.verdict[0], HLB_RETRY);
	ck_assert_str_eq(stub.reason[0], "reservation 100001/92180001: out of memory");
	/* the second target's realloc fails */
	stub.auth_calls = stub.given[0] = stub.finished = 0;
	realloc_calls = 0;
	fail_realloc_at = 1;
	stub_deliver();
	ck_assert_int_eq(realloc_calls, 2);
	/* no reservation was read: the first alone would have been written */
	ck_assert_int_eq(stub.auth_calls, 0);
	ck_assert_int_eq(stub.verdict[0], HLB_RETRY);
	ck_assert_str_eq(stub.reason[0], "out of memory reading the links of ghl:L1:contact:c1");
	stub_reset();
}
END_TEST

/* Records that get their verdict at once are worked through in a loop. */
START_TEST(test_sink_unlinked_batch)
{
	stub_reset();
	stub.links = json_object_new_array();
	for (int i = 0; i < STUB_MAX; i++)
		stub_add("L1:c2", HLB_OP_UPSERT, "{\"locationId\":\"L1\",\"contactId\":\"c2\",\"tags\":[\"VIP\"]}");
	stub_deliver();
	for (int i = 0; i < STUB_MAX; i++) {
		ck_assert_int_eq(stub.verdict[i], HLB_FAILED);
		ck_assert_str_eq(stub.reason[i], "no Octorate reservation is linked to GHL contact L1/c2");
	}
	stub_reset();
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
	tcase_add_test(tc, test_notes_repeated_events);
	tcase_add_test(tc, test_rate_and_ids);
	tcase_add_test(tc, test_record);
	tcase_add_test(tc, test_dedup);
	tcase_add_test(tc, test_shared_helpers);
	tcase_add_test(tc, test_sink_delete_leaves_reservation);
	tcase_add_test(tc, test_sink_without_tags);
	tcase_add_test(tc, test_sink_oom_targets);
	tcase_add_test(tc, test_sink_unlinked_batch);
	suite_add_tcase(s, tc);
	return s;
}
