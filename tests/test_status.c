/* Unit tests of core/status.c: the records-per-minute ring (gaps, wrap,
 * a clock going back, a day-long jump), status.json both ways (a round
 * trip is exact; garbage is refused and leaves nothing allocated), the
 * HTML page (escapes a hostile route name, runs no script, loads
 * nothing, stays small) and the terminal summary. */
#include "check_main.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "status.h"

#define MIN 60000LL
#define T0 (1700000000000LL / MIN * MIN) /* a minute boundary in 2023 */

static uint32_t out[HC_MINUTES];

/* ---- the ring ------------------------------------------------------------ */

START_TEST(test_minutes_basic)
{
	hc_minutes m;

	memset(&m, 0, sizeof(m));
	hc_minutes_read(&m, T0, out);
	for (int i = 0; i < HC_MINUTES; i++)
		ck_assert_uint_eq(out[i], 0);
	hc_minutes_add(&m, T0 + 1000, 3);
	hc_minutes_add(&m, T0 + 59999, 2);
	hc_minutes_add(&m, T0 + MIN, 7);         /* the next minute */
	hc_minutes_add(&m, T0 + 5 * MIN + 1, 1); /* a gap of 3 quiet minutes */
	hc_minutes_read(&m, T0 + 5 * MIN, out);
	ck_assert_uint_eq(out[1439], 1);
	ck_assert_uint_eq(out[1438], 0);
	ck_assert_uint_eq(out[1437], 0);
	ck_assert_uint_eq(out[1436], 0);
	ck_assert_uint_eq(out[1435], 7);
	ck_assert_uint_eq(out[1434], 5);
	ck_assert_uint_eq(out[1433], 0);
	/* read later: the same minutes slide left, the new ones are zeros */
	hc_minutes_read(&m, T0 + 65 * MIN, out);
	ck_assert_uint_eq(out[1439 - 60], 1);
	ck_assert_uint_eq(out[1439 - 64], 7);
	ck_assert_uint_eq(out[1439 - 65], 5);
	ck_assert_uint_eq(out[1439], 0);
	/* read earlier than the newest minute: the window ends there */
	hc_minutes_read(&m, T0 + MIN, out);
	ck_assert_uint_eq(out[1439], 7);
	ck_assert_uint_eq(out[1438], 5);
}
END_TEST

START_TEST(test_minutes_wrap)
{
	hc_minutes m;
	uint64_t sum = 0;

	memset(&m, 0, sizeof(m));
	/* three days, one add per minute of (minute % 7) records */
	for (int i = 0; i < 3 * HC_MINUTES; i++)
		hc_minutes_add(&m, T0 + i * MIN + 500, (uint32_t)(i % 7));
	hc_minutes_read(&m, T0 + (3 * HC_MINUTES - 1) * MIN, out);
	for (int i = 0; i < HC_MINUTES; i++) {
		int minute = 3 * HC_MINUTES - HC_MINUTES + i;

		ck_assert_uint_eq(out[i], (uint32_t)(minute % 7));
		sum += out[i];
	}
	ck_assert(sum > 0);
	/* 1439 minutes later the newest minute is the oldest shown */
	hc_minutes_read(&m, T0 + (3 * HC_MINUTES - 1 + 1439) * MIN, out);
	ck_assert_uint_eq(out[0], (uint32_t)((3 * HC_MINUTES - 1) % 7));
	for (int i = 1; i < HC_MINUTES; i++)
		ck_assert_uint_eq(out[i], 0);
	/* and a minute after that, nothing */
	hc_minutes_read(&m, T0 + (4 * HC_MINUTES - 1) * MIN, out);
	for (int i = 0; i < HC_MINUTES; i++)
		ck_assert_uint_eq(out[i], 0);
}
END_TEST

START_TEST(test_minutes_backwards)
{
	hc_minutes m;

	memset(&m, 0, sizeof(m));
	hc_minutes_add(&m, T0 + 10 * MIN, 4);
	/* the clock goes back 3 minutes: counted in that minute */
	hc_minutes_add(&m, T0 + 7 * MIN, 2);
	hc_minutes_read(&m, T0 + 10 * MIN, out);
	ck_assert_uint_eq(out[1439], 4);
	ck_assert_uint_eq(out[1436], 2);
	/* and forward again: both stay */
	hc_minutes_add(&m, T0 + 11 * MIN, 1);
	hc_minutes_read(&m, T0 + 11 * MIN, out);
	ck_assert_uint_eq(out[1439], 1);
	ck_assert_uint_eq(out[1438], 4);
	ck_assert_uint_eq(out[1435], 2);
	/* back by more than the window (a stepped clock): start over */
	hc_minutes_add(&m, T0 - 2 * HC_MINUTES * MIN, 9);
	hc_minutes_read(&m, T0 - 2 * HC_MINUTES * MIN, out);
	ck_assert_uint_eq(out[1439], 9);
	for (int i = 0; i < 1439; i++)
		ck_assert_uint_eq(out[i], 0);
	/* the minutes counted before the step are gone */
	hc_minutes_read(&m, T0 + 11 * MIN, out);
	for (int i = 0; i < HC_MINUTES; i++)
		ck_assert_uint_eq(out[i], 0);
}
END_TEST

START_TEST(test_minutes_jump)
{
	hc_minutes m;

	memset(&m, 0, sizeof(m));
	hc_minutes_add(&m, T0, 5);
	hc_minutes_add(&m, T0 + 25 * 60 * MIN, 1); /* 25 hours later */
	hc_minutes_read(&m, T0 + 25 * 60 * MIN, out);
	ck_assert_uint_eq(out[1439], 1);
	for (int i = 0; i < 1439; i++)
		ck_assert_uint_eq(out[i], 0);
	/* exactly 1439 minutes later the first minute is still shown */
	memset(&m, 0, sizeof(m));
	hc_minutes_add(&m, T0, 5);
	hc_minutes_add(&m, T0 + 1439 * MIN, 1);
	hc_minutes_read(&m, T0 + 1439 * MIN, out);
	ck_assert_uint_eq(out[0], 5);
	ck_assert_uint_eq(out[1439], 1);
	/* counts saturate instead of wrapping */
	hc_minutes_add(&m, T0 + 1439 * MIN, UINT32_MAX);
	hc_minutes_read(&m, T0 + 1439 * MIN, out);
	ck_assert_uint_eq(out[1439], UINT32_MAX);
}
END_TEST

/* ---- a snapshot ---------------------------------------------------------- */

static char *dup(const char *s)
{
	char *d = s ? strdup(s) : NULL;

	ck_assert(!s || d);
	return d;
}

static void sample(hc_status *s, const char *route0)
{
	memset(s, 0, sizeof(*s));
	s->version = dup("0.1.0");
	s->now_ms = T0 + 3723000;
	s->started_ms = T0;
	s->ready = 1;
	s->healthy = 0;
	s->unhealthy = dup("route orders, sink crm: failing for 10m: HTTP 503");
	s->dead_letters = 3;
	s->webhooks_accepted = 120;
	s->webhooks_rejected = 4;
	s->nroutes = 2;
	s->routes = calloc(2, sizeof(*s->routes));
	ck_assert_ptr_nonnull(s->routes);
	hc_route_status *r = &s->routes[0];

	r->name = dup(route0);
	r->from = dup("ghl_contacts");
	r->state = dup("ok");
	r->records_in = 1000;
	r->records_out = 990;
	r->dropped = 10;
	r->last_poll_ms = T0 + 3600000;
	r->progress = dup("12000/50000 records, 60 pages, 800/s, ETA 48s");
	for (int i = 0; i < HC_MINUTES; i++)
		r->per_minute[i] = (uint32_t)(i % 60 == 0 ? 500 : i % 3);
	r->nsinks = 1;
	r->sinks = calloc(1, sizeof(*r->sinks));
	ck_assert_ptr_nonnull(r->sinks);
	r->sinks[0].name = dup("jsonl_out");
	r->sinks[0].state = dup("ok");
	r->sinks[0].delivered = 990;
	r = &s->routes[1];
	r->name = dup("orders");
	r->from = dup("route:contacts");
	r->state = dup("failing");
	r->records_in = UINT64_MAX; /* past INT64_MAX: JSON keeps it exact */
	r->nsinks = 2;
	r->sinks = calloc(2, sizeof(*r->sinks));
	ck_assert_ptr_nonnull(r->sinks);
	r->sinks[0].name = dup("crm");
	r->sinks[0].state = dup("failing");
	r->sinks[0].retried = 17;
	r->sinks[0].dead = 3;
	r->sinks[0].queued = 5;
	r->sinks[0].backlog = 40;
	r->sinks[0].last_error = dup("HTTP 503 <b>Service Unavailable</b> & \"retry\" later\n\x1b[31mred");
	r->sinks[0].last_error_ms = T0 + 3700000;
	r->sinks[0].failing_since_ms = T0 + 3123000;
	r->sinks[1].name = dup("audit");
	r->sinks[1].state = dup("retrying");
}

static char *json_text(const hc_status *s)
{
	struct json_object *j = hc_status_to_json(s);
	char *t;

	ck_assert_ptr_nonnull(j);
	t = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
	json_object_put(j);
	ck_assert_ptr_nonnull(t);
	return t;
}

START_TEST(test_json_round_trip)
{
	hc_status s, back;
	struct json_object *j;
	char *a, *b;

	sample(&s, "contacts");
	a = json_text(&s);
	j = json_tokener_parse(a);
	ck_assert_ptr_nonnull(j);
	memset(&back, 0, sizeof(back));
	ck_assert_int_eq(hc_status_from_json(j, &back), 0);
	json_object_put(j);
	b = json_text(&back);
	ck_assert_str_eq(a, b);
	ck_assert_uint_eq(back.nroutes, 2);
	ck_assert_uint_eq(back.routes[1].records_in, UINT64_MAX);
	ck_assert_uint_eq(back.routes[0].per_minute[60], 500);
	ck_assert_str_eq(back.routes[1].sinks[0].last_error, s.routes[1].sinks[0].last_error);
	ck_assert_ptr_null(back.routes[1].progress);
	ck_assert_ptr_null(back.routes[1].sinks[1].last_error);
	ck_assert_ptr_nonnull(strstr(a, "\"per_minute\":[500,1,2,0,1,2"));
	free(a);
	free(b);
	hc_status_clear(&s);
	hc_status_clear(&back);
	ck_assert_ptr_null(s.routes);
}
END_TEST

/* Each document breaks status.json in one place; none may be accepted,
 * and none may leak what was read before the break (valgrind). */
START_TEST(test_json_garbage)
{
	static const struct {
		const char *from, *to;
	} edit[] = {
		{ "\"version\":\"0.1.0\"", "\"version\":1" },
		{ "\"ready\":true", "\"ready\":1" },
		{ "\"dead_letters\":3", "\"dead_letters\":-3" },
		{ "\"dead_letters\":3", "\"dead_letters\":3.5" },
		{ "\"webhooks_rejected\":4,", "" },
		{ "\"name\":\"orders\"", "\"name\":null" },
		{ "\"per_minute\":[500,", "\"per_minute\":[" },
		{ "\"per_minute\":[500,", "\"per_minute\":[-1," },
		{ "\"per_minute\":[500,", "\"per_minute\":[4294967296," },
		{ "\"per_minute\":[500,", "\"per_minute\":[\"0\"," },
		{ "\"dead\":3", "\"dead\":\"3\"" },
		{ "\"last_error\":null", "\"last_error\":[]" },
		{ "\"sinks\":[{", "\"sinks\":[7,{" },
		{ "\"routes\":[", "\"routes\":[null," },
		{ "\"routes\":[", "\"routes\":{},\"r\":[" },
	};
	hc_status s, back;
	char *good;

	sample(&s, "contacts");
	good = json_text(&s);
	hc_status_clear(&s);
	for (size_t i = 0; i < sizeof(edit) / sizeof(edit[0]); i++) {
		char *at = strstr(good, edit[i].from), doc[65536];
		struct json_object *j;

		ck_assert_msg(at != NULL, "edit %zu: no %s", i, edit[i].from);
		snprintf(doc, sizeof(doc), "%.*s%s%s", (int)(at - good), good, edit[i].to,
			 at + strlen(edit[i].from));
		j = json_tokener_parse(doc);
		if (!j)
			continue; /* not even JSON (the routes object edit) */
		memset(&back, 0x5a, sizeof(back));
		ck_assert_msg(hc_status_from_json(j, &back) == -1, "edit %zu accepted", i);
		json_object_put(j);
	}
	/* not an object at all */
	struct json_object *n = json_object_new_int(5);

	ck_assert_int_eq(hc_status_from_json(n, &back), -1);
	ck_assert_int_eq(hc_status_from_json(NULL, &back), -1);
	json_object_put(n);
	free(good);
}
END_TEST

/* ---- the page and the summary -------------------------------------------- */

START_TEST(test_html)
{
	hc_status s;
	char *h;

	sample(&s, "<script>alert(1)</script>");
	h = hc_status_html(&s);
	ck_assert_ptr_nonnull(h);
	ck_assert(!strncmp(h, "<!DOCTYPE html>", 15));
	ck_assert_ptr_nonnull(strstr(h, "<meta charset=\"utf-8\">"));
	ck_assert_ptr_nonnull(strstr(h, "<style>"));
	ck_assert_ptr_null(strstr(h, "<script"));
	ck_assert_ptr_null(strstr(h, "http://"));
	ck_assert_ptr_null(strstr(h, "https://"));
	ck_assert_ptr_null(strstr(h, "src="));
	/* the one link is the empty inline icon, so that a browser does not
	 * ask for /favicon.ico */
	ck_assert_ptr_nonnull(strstr(h, "<link rel=\"icon\" href=\"data:,\">"));
	ck_assert_ptr_null(strstr(strstr(h, "href=\"data:,\"") + 1, "href="));
	ck_assert_ptr_null(strstr(h, "url("));
	ck_assert_ptr_nonnull(strstr(h, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	ck_assert_ptr_nonnull(strstr(h, "HTTP 503 &lt;b&gt;Service Unavailable&lt;/b&gt; &amp; &quot;retry&quot;"));
	ck_assert_ptr_nonnull(strstr(h, "orders"));
	ck_assert_ptr_nonnull(strstr(h, "route:contacts"));
	ck_assert_ptr_nonnull(strstr(h, "12000/50000 records"));
	ck_assert_ptr_nonnull(strstr(h, "0.1.0"));
	ck_assert_ptr_nonnull(strstr(h, "up 1h 2m"));
	ck_assert_ptr_nonnull(strstr(h, "route orders, sink crm: failing for 10m"));
	ck_assert_ptr_nonnull(strstr(h, "dead letters 3"));
	ck_assert_ptr_nonnull(strstr(h, "120 accepted, 4 rejected"));
	ck_assert_ptr_nonnull(strstr(h, "<svg"));
	ck_assert_ptr_nonnull(strstr(h, "<title>Records received by route"));
	ck_assert_ptr_nonnull(strstr(h, ">now</text>"));
	/* the tallest 5-minute bar of route 0: 500 + 1 + 2 + 0 + 1 */
	ck_assert_ptr_nonnull(strstr(h, "at most 504 in 5 minutes"));
	ck_assert_ptr_nonnull(strstr(h, ">504</text>"));
	ck_assert_ptr_nonnull(strstr(h, "</html>\n"));
	free(h);
	hc_status_clear(&s);
}
END_TEST

/* Ten busy routes with two sinks each still make a small page. */
START_TEST(test_html_size)
{
	hc_status s;
	char *h;

	sample(&s, "contacts");
	hc_route_status *r = realloc(s.routes, 10 * sizeof(*r));

	ck_assert_ptr_nonnull(r);
	s.routes = r;
	for (size_t i = 2; i < 10; i++) {
		char name[32];

		snprintf(name, sizeof(name), "route_number_%zu", i);
		memset(&r[i], 0, sizeof(r[i]));
		r[i].name = dup(name);
		r[i].from = dup("octorate_reservations");
		r[i].state = dup("polling");
		r[i].last_poll_ms = s.now_ms - 1000;
		for (int k = 0; k < HC_MINUTES; k++)
			r[i].per_minute[k] = (uint32_t)(k * 7919u % 100000);
		r[i].nsinks = 2;
		r[i].sinks = calloc(2, sizeof(*r[i].sinks));
		ck_assert_ptr_nonnull(r[i].sinks);
		for (int k = 0; k < 2; k++) {
			r[i].sinks[k].name = dup("a_sink_name");
			r[i].sinks[k].state = dup("retrying");
			r[i].sinks[k].last_error = dup("HTTP 429 Too Many Requests: rate limit of 100 per 10 s reached");
			r[i].sinks[k].last_error_ms = s.now_ms - 5000;
		}
	}
	s.nroutes = 10;
	h = hc_status_html(&s);
	ck_assert_ptr_nonnull(h);
	ck_assert_msg(strlen(h) < 60000, "page of %zu bytes", strlen(h));
	free(h);
	hc_status_clear(&s);
}
END_TEST

START_TEST(test_text)
{
	hc_status s;
	char *t;

	sample(&s, "contacts");
	/* a long error is cut for the terminal */
	free(s.routes[0].sinks[0].last_error);
	s.routes[0].sinks[0].last_error = malloc(400);
	ck_assert_ptr_nonnull(s.routes[0].sinks[0].last_error);
	memset(s.routes[0].sinks[0].last_error, 'x', 399);
	s.routes[0].sinks[0].last_error[399] = 0;
	t = hc_status_text(&s);
	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_nonnull(strstr(t, "hlbridge 0.1.0, up 1h 2m, ready, UNHEALTHY\n"));
	ck_assert_ptr_nonnull(strstr(t, "  route orders, sink crm: failing for 10m: HTTP 503\n"));
	ck_assert_ptr_nonnull(strstr(t, "dead letters 3, webhooks accepted 120, rejected 4\n"));
	ck_assert_ptr_nonnull(strstr(t, "route contacts <- ghl_contacts: ok\n"));
	ck_assert_ptr_nonnull(strstr(t, "  records in 1000, out 990, dropped 10;"));
	ck_assert_ptr_nonnull(strstr(t, "  backfill: 12000/50000 records, 60 pages, 800/s, ETA 48s\n"));
	ck_assert_ptr_nonnull(strstr(t, "  sink jsonl_out: ok, delivered 990, retried 0, dead 0, queued 0, backlog 0\n"));
	ck_assert_ptr_nonnull(strstr(t, "route orders <- route:contacts: failing\n"));
	ck_assert_ptr_nonnull(strstr(t, "  sink crm: failing, delivered 0, retried 17, dead 3, queued 5, backlog 40\n"));
	ck_assert_ptr_nonnull(strstr(t, "    failing for 10m 0s\n"));
	ck_assert_ptr_nonnull(strstr(t, "  sink audit: retrying,"));
	/* control characters never reach the terminal */
	ck_assert_ptr_null(strchr(t, '\x1b'));
	ck_assert_ptr_nonnull(strstr(t, "later??[31mred"));
	/* the 400-byte error: 97 bytes and "..." */
	char *x = strstr(t, "xxxx");

	ck_assert_ptr_nonnull(x);
	ck_assert_uint_eq(strspn(x, "x"), 97);
	ck_assert(!strncmp(x + 97, "...\n", 4));
	free(t);
	hc_status_clear(&s);
}
END_TEST

static Suite *test_suite(void)
{
	Suite *s = suite_create("status");
	TCase *ring = tcase_create("minutes");
	TCase *render = tcase_create("render");

	tcase_add_test(ring, test_minutes_basic);
	tcase_add_test(ring, test_minutes_wrap);
	tcase_add_test(ring, test_minutes_backwards);
	tcase_add_test(ring, test_minutes_jump);
	tcase_add_test(render, test_json_round_trip);
	tcase_add_test(render, test_json_garbage);
	tcase_add_test(render, test_html);
	tcase_add_test(render, test_html_size);
	tcase_add_test(render, test_text);
	suite_add_tcase(s, ring);
	suite_add_tcase(s, render);
	return s;
}
