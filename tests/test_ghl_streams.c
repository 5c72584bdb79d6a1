/* The paging decisions of the ghl source's trigger streams
 * (plugins/ghl/ghl_pager.c): the next request's paging members after
 * each answer, per convention, and the guards (a repeated page or
 * cursor, max_pages); window splitting; the resume state; item hashes. */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "check_main.h"
#include "../plugins/ghl/ghl_pager.h"

/* The query the pager adds now, as a string (static buffer). */
static const char *query(const ghl_pg *st)
{
	static char out[1024];
	ghl_buf b;

	ghl_buf_init(&b, 0);
	ck_assert_int_eq(ghl_pg_query(st, &b), 0);
	snprintf(out, sizeof(out), "%s", b.data ? b.data : "");
	ghl_buf_free(&b);
	return out;
}

/* An array of items {"id": ids[i]} (NULL-terminated). */
static json_object *items(const char *const *ids)
{
	json_object *a = json_object_new_array();

	for (; *ids; ids++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "id", json_object_new_string(*ids));
		json_object_array_add(a, o);
	}
	return a;
}

static ghl_pg_next step_ids(ghl_pg *st, const char *answer_text, const char *const *ids)
{
	json_object *answer = answer_text ? json_tokener_parse(answer_text) : NULL;
	json_object *list = items(ids);
	ghl_pg_next next = ghl_pg_step(st, answer, list, NULL);

	json_object_put(list);
	json_object_put(answer);
	return next;
}

static ghl_pg_next step_json(ghl_pg *st, const char *answer_text, const char *items_member)
{
	json_object *answer = json_tokener_parse(answer_text);
	ghl_pg_next next = ghl_pg_step(st, answer, json_object_object_get(answer, items_member), NULL);

	json_object_put(answer);
	return next;
}

START_TEST(t_skip_limit)
{
	ghl_pg st;
	static const char *const p1[] = { "a", "b", NULL }, *const p2[] = { "c", NULL };

	ghl_pg_init(&st, GHL_PAGING_SKIP_LIMIT, 2, 10, 0, 0);
	ck_assert_str_eq(query(&st), "&skip=0&limit=2");
	ck_assert_int_eq(step_ids(&st, NULL, p1), GHL_PG_MORE);
	ck_assert_str_eq(query(&st), "&skip=2&limit=2");
	ck_assert_int_eq(step_ids(&st, NULL, p2), GHL_PG_DONE);
	ghl_pg_clear(&st);
}
END_TEST

START_TEST(t_skip_limit_total)
{
	ghl_pg st;
	static const char *const p1[] = { "a", "b", NULL };

	static const char *const p2[] = { "c", "d", NULL };

	/* a full page that reaches the count is the last: no empty request */
	ghl_pg_init(&st, GHL_PAGING_SKIP_LIMIT, 2, 10, 0, 0);
	ck_assert_int_eq(step_ids(&st, "{\"count\":4}", p1), GHL_PG_MORE);
	ck_assert_int_eq(st.total, 4);
	ck_assert_int_eq(step_ids(&st, "{\"count\":4}", p2), GHL_PG_DONE);
	/* a count equal to the full page's length is that page's length,
	 * not a total: the next page is still asked for */
	ghl_pg_init(&st, GHL_PAGING_SKIP_LIMIT, 2, 10, 0, 0);
	ck_assert_int_eq(step_ids(&st, "{\"count\":2}", p1), GHL_PG_MORE);
	ck_assert_int_eq(st.total, -1);
	ck_assert_int_eq(step_ids(&st, "{\"count\":2}", p2), GHL_PG_MORE);
	/* nor does a count below what was read end the listing */
	ck_assert_int_eq(step_ids(&st, "{\"total\":3}", (const char *const[]){ "e", "f", NULL }), GHL_PG_MORE);
	ck_assert_int_eq(step_ids(&st, "{\"total\":3}", (const char *const[]){ "g", NULL }), GHL_PG_DONE);
	/* the same for a search body's total */
	ghl_pg_init(&st, GHL_PAGING_SEARCH_BODY, 2, 10, 0, 0);
	ck_assert_int_eq(step_ids(&st, "{\"total\":2}", p1), GHL_PG_MORE);
	ck_assert_int_eq(step_ids(&st, "{\"total\":4}", p2), GHL_PG_DONE);
	ck_assert_int_eq(st.total, 4);
	ghl_pg_clear(&st);
	/* meta.total for the progress */
	ghl_pg_init(&st, GHL_PAGING_LIMIT_OFFSET, 2, 10, 0, 0);
	ck_assert_int_eq(step_ids(&st, "{\"meta\":{\"total\":9}}", p1), GHL_PG_MORE);
	ck_assert_int_eq(st.total, 9);
}
END_TEST

START_TEST(t_no_cursor)
{
	ghl_pg st;

	/* a full page without the cursors to the next one is an error, not the end */
	ghl_pg_init(&st, GHL_PAGING_START_AFTER, 2, 10, 0, 0);
	ck_assert_int_eq(step_json(&st, "{\"o\":[{\"id\":\"o1\"},{\"id\":\"o2\"}]}", "o"), GHL_PG_NO_CURSOR);
	ghl_pg_init(&st, GHL_PAGING_START_AFTER, 2, 10, 0, 0);
	ck_assert_int_eq(step_json(&st, "{\"o\":[{\"id\":\"o1\"},{\"x\":1,\"dateAdded\":5}]}", "o"), GHL_PG_NO_CURSOR);
	/* a short one is the last */
	ghl_pg_init(&st, GHL_PAGING_START_AFTER, 2, 10, 0, 0);
	ck_assert_int_eq(step_json(&st, "{\"o\":[{\"id\":\"o1\"}]}", "o"), GHL_PG_DONE);
	ghl_pg_init(&st, GHL_PAGING_START_AFTER_DATE, 2, 10, 0, 0);
	ck_assert_int_eq(step_json(&st, "{\"c\":[{\"id\":\"v1\"},{\"id\":\"v2\"}]}", "c"), GHL_PG_NO_CURSOR);
	ghl_pg_init(&st, GHL_PAGING_LAST_MESSAGE_ID, 2, 10, 0, 0);
	ck_assert_int_eq(step_json(&st, "{\"nextPage\":true,\"messages\":[{\"x\":1}]}", "messages"),
			 GHL_PG_NO_CURSOR);
	ghl_pg_init(&st, GHL_PAGING_LAST_MESSAGE_ID, 2, 10, 0, 0);
	ck_assert_int_eq(step_json(&st, "{\"messages\":[{\"x\":1}]}", "messages"), GHL_PG_DONE);
}
END_TEST

START_TEST(t_limit)
{
	/* the list endpoints take at most 100, the contacts search 500 */
	ck_assert_uint_eq(ghl_pg_limit(GHL_PAGING_SKIP_LIMIT, 500), 100);
	ck_assert_uint_eq(ghl_pg_limit(GHL_PAGING_START_AFTER, 101), 100);
	ck_assert_uint_eq(ghl_pg_limit(GHL_PAGING_LIMIT_OFFSET, 20), 20);
	ck_assert_uint_eq(ghl_pg_limit(GHL_PAGING_SEARCH_BODY, 500), 500);
}
END_TEST

/* The real API nests the messages' cursor and list in an object, the
 * spec has them flat: both are read. */
START_TEST(t_message_shapes)
{
	static const char *const shapes[] = {
		"{\"messages\":{\"lastMessageId\":\"m2\",\"nextPage\":true,\"messages\":[{\"id\":\"m1\"},{\"id\":\"m2\"}]}}",
		"{\"lastMessageId\":\"m2\",\"nextPage\":true,\"messages\":[{\"id\":\"m1\"},{\"id\":\"m2\"}]}",
		"{\"messages\":{\"lastMessageId\":\"zz\",\"nextPage\":false,\"messages\":[{\"id\":\"m1\"}]}}",
		"{\"lastMessageId\":\"zz\",\"nextPage\":false,\"messages\":[{\"id\":\"m1\"}]}",
	};

	for (int i = 0; i < 4; i++) {
		json_object *answer = json_tokener_parse(shapes[i]), *list = ghl_pg_items(answer, "messages");
		ghl_pg st;

		ck_assert(json_object_is_type(list, json_type_array));
		ck_assert_uint_eq(json_object_array_length(list), i < 2 ? 2 : 1);
		ghl_pg_init(&st, GHL_PAGING_LAST_MESSAGE_ID, 2, 10, 0, 0);
		ck_assert_int_eq(ghl_pg_step(&st, answer, list, NULL), i < 2 ? GHL_PG_MORE : GHL_PG_DONE);
		if (i < 2)
			ck_assert_str_eq(query(&st), "&limit=2&lastMessageId=m2");
		json_object_put(answer);
	}
}
END_TEST

START_TEST(t_free_slots)
{
	json_object *answer = json_tokener_parse("{\"2025-01-07\":{\"slots\":[\"b\"]},\"traceId\":\"t\","
						 "\"2025-01-06\":{\"slots\":[\"a\"]}}");
	json_object *list = ghl_pg_date_items(answer);
	int64_t from, to, day = GHL_DAY_MS, t0 = 20000 * GHL_DAY_MS;

	ck_assert_uint_eq(json_object_array_length(list), 2);
	ck_assert_str_eq(json_object_to_json_string_ext(json_object_array_get_idx(list, 0), JSON_C_TO_STRING_PLAIN),
			 "{\"slots\":[\"b\"],\"date\":\"2025-01-07\"}");
	json_object_put(list);
	json_object_put(answer);
	/* whole UTC days, the same all day long */
	ghl_pg_day_range(t0 + 5 * 3600000, 2 * day, 3 * day, &from, &to);
	ck_assert_int_eq(from, t0 - 2 * day);
	ck_assert_int_eq(to, t0 + 4 * day);
	ghl_pg_day_range(t0 + day - 1, 2 * day, 3 * day, &from, &to);
	ck_assert_int_eq(from, t0 - 2 * day);
	ck_assert_int_eq(to, t0 + 4 * day);
	ghl_pg_day_range(t0, 0, day, &from, &to);
	ck_assert_int_eq(from, t0);
	ck_assert_int_eq(to, t0 + day);
}
END_TEST

START_TEST(t_limit_offset)
{
	ghl_pg st;
	static const char *const p1[] = { "a", "b", "c", NULL };

	ghl_pg_init(&st, GHL_PAGING_LIMIT_OFFSET, 3, 10, 0, 0);
	ck_assert_str_eq(query(&st), "&limit=3&offset=0");
	ck_assert_int_eq(step_ids(&st, NULL, p1), GHL_PG_MORE);
	ck_assert_str_eq(query(&st), "&limit=3&offset=3");
}
END_TEST

START_TEST(t_repeated_page)
{
	ghl_pg st;
	static const char *const p1[] = { "a", "b", NULL };

	/* an API that ignores skip answers page 1 again: stop, not loop */
	ghl_pg_init(&st, GHL_PAGING_SKIP_LIMIT, 2, 100, 0, 0);
	ck_assert_int_eq(step_ids(&st, NULL, p1), GHL_PG_MORE);
	ck_assert_int_eq(step_ids(&st, NULL, p1), GHL_PG_REPEATED);
}
END_TEST

START_TEST(t_max_pages)
{
	ghl_pg st;
	static const char *const p1[] = { "a", "b", NULL }, *const p2[] = { "c", "d", NULL };

	ghl_pg_init(&st, GHL_PAGING_SKIP_LIMIT, 2, 2, 0, 0);
	ck_assert_int_eq(step_ids(&st, NULL, p1), GHL_PG_MORE);
	ck_assert_int_eq(step_ids(&st, NULL, p2), GHL_PG_TOO_MANY);
	/* the last page within the cap is no error */
	ghl_pg_init(&st, GHL_PAGING_SKIP_LIMIT, 2, 2, 0, 0);
	ck_assert_int_eq(step_ids(&st, NULL, p1), GHL_PG_MORE);
	ck_assert_int_eq(step_ids(&st, NULL, (const char *const[]){ "c", NULL }), GHL_PG_DONE);
}
END_TEST

START_TEST(t_start_after_meta)
{
	ghl_pg st;

	ghl_pg_init(&st, GHL_PAGING_START_AFTER, 2, 10, 0, 0);
	ck_assert_str_eq(query(&st), "&limit=2");
	ck_assert_int_eq(step_json(&st, "{\"opportunities\":[{\"id\":\"o1\"},{\"id\":\"o2\"}],"
				   "\"meta\":{\"startAfterId\":\"o2\",\"startAfter\":1700000000000,\"total\":5}}",
				   "opportunities"), GHL_PG_MORE);
	/* both cursors, never one alone */
	ck_assert_str_eq(query(&st), "&limit=2&startAfterId=o2&startAfter=1700000000000");
	/* the same cursors again: the API ignored them */
	ck_assert_int_eq(step_json(&st, "{\"opportunities\":[{\"id\":\"o3\"},{\"id\":\"o4\"}],"
				   "\"meta\":{\"startAfterId\":\"o2\",\"startAfter\":1700000000000}}",
				   "opportunities"), GHL_PG_REPEATED);
}
END_TEST

START_TEST(t_start_after_items)
{
	ghl_pg st;

	/* no meta: the last item's id and its date */
	ghl_pg_init(&st, GHL_PAGING_START_AFTER, 2, 10, 0, 0);
	ck_assert_int_eq(step_json(&st, "{\"contacts\":[{\"id\":\"c1\",\"dateAdded\":\"2023-08-02T00:00:00.000Z\"},"
				   "{\"id\":\"c2\",\"dateAdded\":\"2023-08-03T00:00:00.000Z\"}]}", "contacts"),
			 GHL_PG_MORE);
	ck_assert_str_eq(query(&st), "&limit=2&startAfterId=c2&startAfter=1691020800000");
	ck_assert_int_eq(step_json(&st, "{\"contacts\":[{\"id\":\"c3\"}]}", "contacts"), GHL_PG_DONE);
}
END_TEST

START_TEST(t_search_body)
{
	ghl_pg st;
	json_object *body = json_object_new_object();

	ghl_pg_init(&st, GHL_PAGING_SEARCH_BODY, 2, 10, 0, 0);
	ck_assert(ghl_pg_in_body(st.paging));
	ghl_pg_body(&st, body);
	ck_assert_str_eq(json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN), "{\"pageLimit\":2,\"page\":1}");
	json_object_put(body);
	ck_assert_int_eq(step_json(&st, "{\"contacts\":[{\"id\":\"a\"},{\"id\":\"b\",\"searchAfter\":[17,\"b\"]}]}",
				   "contacts"), GHL_PG_MORE);
	body = json_object_new_object();
	ghl_pg_body(&st, body);
	ck_assert_str_eq(json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN),
			 "{\"pageLimit\":2,\"searchAfter\":[17,\"b\"]}");
	json_object_put(body);
	/* without searchAfter: the page number */
	ck_assert_int_eq(step_json(&st, "{\"contacts\":[{\"id\":\"c\"},{\"id\":\"d\"}]}", "contacts"), GHL_PG_MORE);
	body = json_object_new_object();
	ghl_pg_body(&st, body);
	ck_assert_str_eq(json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN), "{\"pageLimit\":2,\"page\":3}");
	json_object_put(body);
	ghl_pg_clear(&st);
}
END_TEST

START_TEST(t_skip_limit_body)
{
	ghl_pg st;
	json_object *body = json_object_new_object();

	ghl_pg_init(&st, GHL_PAGING_SKIP_LIMIT_BODY, 5, 10, 0, 0);
	ck_assert_str_eq(query(&st), "");
	ghl_pg_body(&st, body);
	ck_assert_str_eq(json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN),
			 "{\"skip\":\"0\",\"limit\":\"5\"}");
	json_object_put(body);
}
END_TEST

START_TEST(t_start_after_date)
{
	ghl_pg st;

	ghl_pg_init(&st, GHL_PAGING_START_AFTER_DATE, 2, 10, 0, 0);
	ck_assert_str_eq(query(&st), "&limit=2");
	ck_assert_int_eq(step_json(&st, "{\"conversations\":[{\"id\":\"v1\",\"lastMessageDate\":1700000002000},"
				   "{\"id\":\"v2\",\"lastMessageDate\":1700000001000}]}", "conversations"), GHL_PG_MORE);
	ck_assert_str_eq(query(&st), "&limit=2&startAfterDate=1700000001000");
	ck_assert_int_eq(step_json(&st, "{\"conversations\":[{\"id\":\"v3\",\"lastMessageDate\":1700000001000},"
				   "{\"id\":\"v4\",\"lastMessageDate\":1700000001000}]}", "conversations"),
			 GHL_PG_REPEATED);
}
END_TEST

START_TEST(t_last_message_id)
{
	ghl_pg st;
	json_object *answer;

	ghl_pg_init(&st, GHL_PAGING_LAST_MESSAGE_ID, 2, 10, 0, 0);
	ck_assert_str_eq(query(&st), "&limit=2");
	answer = json_tokener_parse("{\"messages\":{\"lastMessageId\":\"m2\",\"nextPage\":true,"
				    "\"messages\":[{\"id\":\"m1\"},{\"id\":\"m2\"}]}}");
	ck_assert_int_eq(ghl_pg_step(&st, answer, json_object_object_get(json_object_object_get(answer, "messages"),
									 "messages"), NULL), GHL_PG_MORE);
	json_object_put(answer);
	ck_assert_str_eq(query(&st), "&limit=2&lastMessageId=m2");
	answer = json_tokener_parse("{\"messages\":{\"lastMessageId\":\"m4\",\"nextPage\":false,"
				    "\"messages\":[{\"id\":\"m3\"},{\"id\":\"m4\"}]}}");
	ck_assert_int_eq(ghl_pg_step(&st, answer, json_object_object_get(json_object_object_get(answer, "messages"),
									 "messages"), NULL), GHL_PG_DONE);
	json_object_put(answer);
}
END_TEST

START_TEST(t_windows)
{
	int64_t s, e, from = 1000, to = 1000 + 70 * GHL_DAY_MS;
	ghl_pg st;
	char want[128];
	static const char *const none[] = { NULL };

	ck_assert_uint_eq(ghl_windows_count(from, to, GHL_DATE_WINDOW_MS), 3);
	ghl_window_at(from, to, GHL_DATE_WINDOW_MS, 2, &s, &e);
	ck_assert_int_eq(s, from + 62 * GHL_DAY_MS);
	ck_assert_int_eq(e, to);
	ck_assert_uint_eq(ghl_windows_count(0, 31 * GHL_DAY_MS, GHL_DATE_WINDOW_MS), 1);

	ghl_pg_init(&st, GHL_PAGING_DATE_WINDOW, 100, 10, from, to);
	/* endDate is inclusive: the window's last ms */
	snprintf(want, sizeof(want), "&startDate=%lld&endDate=%lld", (long long)from,
		 (long long)(from + 31 * GHL_DAY_MS - 1));
	ck_assert_str_eq(query(&st), want);
	ck_assert_int_eq(step_ids(&st, NULL, none), GHL_PG_MORE);
	ck_assert_int_eq(step_ids(&st, NULL, none), GHL_PG_MORE);
	snprintf(want, sizeof(want), "&startDate=%lld&endDate=%lld", (long long)(from + 62 * GHL_DAY_MS),
		 (long long)to - 1);
	ck_assert_str_eq(query(&st), want);
	ck_assert_int_eq(step_ids(&st, NULL, none), GHL_PG_DONE);

	/* events: the whole range in one request */
	ghl_pg_init(&st, GHL_PAGING_TIME_WINDOW, 100, 10, from, to);
	snprintf(want, sizeof(want), "&startTime=%lld&endTime=%lld", (long long)from, (long long)to);
	ck_assert_str_eq(query(&st), want);
	ck_assert_int_eq(step_ids(&st, NULL, (const char *const[]){ "e1", NULL }), GHL_PG_DONE);
}
END_TEST

START_TEST(t_none)
{
	ghl_pg st;

	ghl_pg_init(&st, GHL_PAGING_NONE, 100, 10, 0, 0);
	ck_assert_str_eq(query(&st), "");
	ck_assert_int_eq(step_ids(&st, NULL, (const char *const[]){ "a", NULL }), GHL_PG_DONE);
}
END_TEST

START_TEST(t_resume)
{
	ghl_pg st, back;
	json_object *saved;
	static const char *const p1[] = { "a", "b", NULL };

	ghl_pg_init(&st, GHL_PAGING_SKIP_LIMIT, 2, 10, 0, 0);
	ck_assert_int_eq(step_ids(&st, NULL, p1), GHL_PG_MORE);
	saved = ghl_pg_save(&st);
	ghl_pg_init(&back, GHL_PAGING_SKIP_LIMIT, 2, 10, 0, 0);
	ck_assert_int_eq(ghl_pg_load(&back, saved), 0);
	ck_assert_str_eq(query(&back), "&skip=2&limit=2");
	/* the resumed pager still knows the page before */
	ck_assert_int_eq(step_ids(&back, NULL, p1), GHL_PG_REPEATED);
	/* another convention's state is not loaded */
	ghl_pg_init(&back, GHL_PAGING_LIMIT_OFFSET, 2, 10, 0, 0);
	ck_assert_int_eq(ghl_pg_load(&back, saved), -1);
	json_object_put(saved);

	ghl_pg_init(&st, GHL_PAGING_START_AFTER, 2, 10, 0, 0);
	ck_assert_int_eq(step_json(&st, "{\"o\":[{\"id\":\"o1\"},{\"id\":\"o2\"}],"
				   "\"meta\":{\"startAfterId\":\"o2\",\"startAfter\":17}}", "o"), GHL_PG_MORE);
	saved = ghl_pg_save(&st);
	ghl_pg_init(&back, GHL_PAGING_START_AFTER, 2, 10, 0, 0);
	ck_assert_int_eq(ghl_pg_load(&back, saved), 0);
	ck_assert_str_eq(query(&back), "&limit=2&startAfterId=o2&startAfter=17");
	json_object_put(saved);
}
END_TEST

START_TEST(t_hash)
{
	json_object *a = json_tokener_parse("{\"id\":\"x\",\"b\":[1,{\"d\":2,\"c\":3}],\"a\":null}");
	json_object *b = json_tokener_parse("{\"a\":null,\"b\":[1,{\"c\":3,\"d\":2}],\"id\":\"x\"}");
	json_object *c = json_tokener_parse("{\"a\":null,\"b\":[1,{\"c\":4,\"d\":2}],\"id\":\"x\"}");
	char ha[17], hb[17], hc[17], id[64];

	ghl_item_hash(a, ha);
	ghl_item_hash(b, hb);
	ghl_item_hash(c, hc);
	ck_assert_str_eq(ha, hb);
	ck_assert_str_ne(ha, hc);
	ck_assert_int_eq(ghl_item_id(a, NULL, id, sizeof(id)), 0);
	ck_assert_str_eq(id, "x");
	ck_assert_int_eq(ghl_item_id(a, "nope", id, sizeof(id)), -1);
	json_object_put(a);
	json_object_put(b);
	json_object_put(c);
	a = json_tokener_parse("{\"_id\":42}");
	ck_assert_int_eq(ghl_item_id(a, NULL, id, sizeof(id)), 0);
	ck_assert_str_eq(id, "42");
	json_object_put(a);
}
END_TEST

static Suite *test_suite(void)
{
	Suite *s = suite_create("ghl_streams");
	TCase *tc = tcase_create("pager");

	tcase_add_test(tc, t_skip_limit);
	tcase_add_test(tc, t_skip_limit_total);
	tcase_add_test(tc, t_no_cursor);
	tcase_add_test(tc, t_limit);
	tcase_add_test(tc, t_message_shapes);
	tcase_add_test(tc, t_free_slots);
	tcase_add_test(tc, t_limit_offset);
	tcase_add_test(tc, t_repeated_page);
	tcase_add_test(tc, t_max_pages);
	tcase_add_test(tc, t_start_after_meta);
	tcase_add_test(tc, t_start_after_items);
	tcase_add_test(tc, t_search_body);
	tcase_add_test(tc, t_skip_limit_body);
	tcase_add_test(tc, t_start_after_date);
	tcase_add_test(tc, t_last_message_id);
	tcase_add_test(tc, t_windows);
	tcase_add_test(tc, t_none);
	tcase_add_test(tc, t_resume);
	tcase_add_test(tc, t_hash);
	suite_add_tcase(s, tc);
	return s;
}
