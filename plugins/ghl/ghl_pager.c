/* See ghl_pager.h. Member names are GHL's (FACTS.md, "Pagination"). */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "ghl_client.h"
#include "ghl_pager.h"

/* Sort values a START_AFTER_DATE list is ordered by, and the dates a
 * START_AFTER item carries when the answer's meta has no cursor. */
static const char *const sort_keys[] = { "lastMessageDate", "dateUpdated", "dateAdded", "createdAt", NULL };

void ghl_pg_init(ghl_pg *st, ghl_paging paging, unsigned limit, unsigned max_pages, int64_t from_ms, int64_t to_ms)
{
	memset(st, 0, sizeof(*st));
	st->paging = paging;
	st->limit = limit ? limit : 1;
	st->max_pages = max_pages ? max_pages : 1;
	st->page = 1;
	st->total = -1;
	st->win_span = paging == GHL_PAGING_DATE_WINDOW ? GHL_DATE_WINDOW_MS : (to_ms > from_ms ? to_ms - from_ms : 1);
	st->range_end = to_ms;
	ghl_window_at(from_ms, to_ms, st->win_span, 0, &st->win_start, &st->win_end);
}

void ghl_pg_clear(ghl_pg *st)
{
	json_object_put(st->search_after);
	st->search_after = NULL;
}

unsigned ghl_pg_limit(ghl_paging paging, unsigned page_size)
{
	if (paging == GHL_PAGING_SEARCH_BODY || page_size <= GHL_PG_LIST_MAX)
		return page_size;
	return GHL_PG_LIST_MAX;
}

int ghl_pg_in_body(ghl_paging paging)
{
	return paging == GHL_PAGING_SEARCH_BODY || paging == GHL_PAGING_SKIP_LIMIT_BODY;
}

/* "&name=value", both encoded: the query always follows a path (which
 * ghl_form_add's "no '&' first" does not know). */
static int add_pair(ghl_buf *q, const char *name, const char *value)
{
	if (ghl_buf_add(q, "&", 1) < 0 || ghl_buf_add_encoded(q, name) < 0 || ghl_buf_add(q, "=", 1) < 0)
		return -1;
	return ghl_buf_add_encoded(q, value);
}

static int add_pair_num(ghl_buf *q, const char *name, int64_t v)
{
	char num[32];

	snprintf(num, sizeof(num), "%" PRId64, v);
	return add_pair(q, name, num);
}

int ghl_pg_query(const ghl_pg *st, ghl_buf *q)
{
	int rc = 0;

	switch (st->paging) {
	case GHL_PAGING_SKIP_LIMIT:
		rc = add_pair_num(q, "skip", (int64_t)st->offset) | add_pair_num(q, "limit", st->limit);
		break;
	case GHL_PAGING_LIMIT_OFFSET:
		rc = add_pair_num(q, "limit", st->limit) | add_pair_num(q, "offset", (int64_t)st->offset);
		break;
	case GHL_PAGING_START_AFTER:
		rc = add_pair_num(q, "limit", st->limit);
		/* both or neither: one alone answers the first page again */
		if (*st->cursor && *st->cursor2)
			rc |= add_pair(q, "startAfterId", st->cursor) | add_pair(q, "startAfter", st->cursor2);
		break;
	case GHL_PAGING_START_AFTER_DATE:
		rc = add_pair_num(q, "limit", st->limit);
		if (*st->cursor)
			rc |= add_pair(q, "startAfterDate", st->cursor);
		break;
	case GHL_PAGING_LAST_MESSAGE_ID:
		rc = add_pair_num(q, "limit", st->limit);
		if (*st->cursor)
			rc |= add_pair(q, "lastMessageId", st->cursor);
		break;
	case GHL_PAGING_TIME_WINDOW:
		rc = add_pair_num(q, "startTime", st->win_start) | add_pair_num(q, "endTime", st->win_end);
		break;
	case GHL_PAGING_DATE_WINDOW:
		/* endDate is inclusive: the window's last ms, so that the day at
		 * its end is the next window's alone */
		rc = add_pair_num(q, "startDate", st->win_start) |
		     add_pair_num(q, "endDate", st->win_end > st->win_start ? st->win_end - 1 : st->win_end);
		break;
	default:
		break;
	}
	return rc < 0 ? -1 : 0;
}

int ghl_pg_body(const ghl_pg *st, json_object *body)
{
	char num[32];

	if (st->paging == GHL_PAGING_SEARCH_BODY) {
		json_object_object_add(body, "pageLimit", json_object_new_int((int)st->limit));
		if (st->search_after)
			json_object_object_add(body, "searchAfter", json_object_get(st->search_after));
		else
			json_object_object_add(body, "page", json_object_new_int((int)st->page));
	} else if (st->paging == GHL_PAGING_SKIP_LIMIT_BODY) {
		/* users/search/filter-by-email declares them strings */
		snprintf(num, sizeof(num), "%" PRIu64, st->offset);
		json_object_object_add(body, "skip", json_object_new_string(num));
		snprintf(num, sizeof(num), "%u", st->limit);
		json_object_object_add(body, "limit", json_object_new_string(num));
	}
	return 0;
}

int ghl_item_id(json_object *item, const char *key, char *buf, size_t len)
{
	json_object *v = NULL;
	const char *s;

	if (!json_object_object_get_ex(item, key ? key : "id", &v) && !key)
		json_object_object_get_ex(item, "_id", &v);
	if (!v || !(json_object_is_type(v, json_type_string) || json_object_is_type(v, json_type_int)))
		return -1;
	s = json_object_get_string(v);
	if (!*s || strlen(s) >= len)
		return -1;
	memcpy(buf, s, strlen(s) + 1);
	return 0;
}

/* A sort value as the text the next request sends: numbers as they are,
 * ISO times as epoch ms. */
static int sort_value(json_object *item, const char *const *keys, char *buf, size_t len)
{
	for (; *keys; keys++) {
		json_object *v = NULL;
		int64_t ms;

		if (!json_object_object_get_ex(item, *keys, &v) || !v)
			continue;
		if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) {
			snprintf(buf, len, "%" PRId64, json_object_get_int64(v));
			return 0;
		}
		if (!json_object_is_type(v, json_type_string))
			continue;
		ms = ghl_parse_time(json_object_get_string(v));
		if (ms >= 0)
			snprintf(buf, len, "%" PRId64, ms);
		else
			snprintf(buf, len, "%s", json_object_get_string(v));
		return 0;
	}
	return -1;
}

/* A cursor member of the answer as text ("" when absent or null). */
static void member_text(json_object *answer, const char *dotted, char *buf, size_t len)
{
	json_object *v = ghl_json_at(answer, dotted);

	*buf = 0;
	if (v && (json_object_is_type(v, json_type_string) || json_object_is_type(v, json_type_int) ||
		  json_object_is_type(v, json_type_double)))
		snprintf(buf, len, "%s", json_object_get_string(v));
}

/* The total the answer reports (total, count, meta.total), or -1. */
static int64_t answer_total(json_object *answer)
{
	static const char *const names[] = { "total", "count", "meta.total", "totalCount", NULL };

	for (const char *const *n = names; *n; n++) {
		json_object *v = ghl_json_at(answer, *n);

		if (v && json_object_is_type(v, json_type_int))
			return json_object_get_int64(v);
	}
	return -1;
}

/* Whether `total` (-1: none) says the listing ends with this page of n
 * items read at offset `before`: the rule of ghl_client.c's
 * ghl_page_step, shared by asking it. A count equal to a full page's
 * length is that page's length, not a total; a count below what was
 * already read is no total either. */
static int total_reached(const ghl_pg *st, uint64_t before, size_t n, int64_t total)
{
	ghl_page_state ps;

	if (total < 0 || n < st->limit)
		return 0;
	ghl_page_init(&ps, st->limit, UINT_MAX);
	ps.skip = before;
	return ghl_page_step(&ps, n, total, NULL) == GHL_PAGE_DONE;
}

/* The total for the progress: one that is no page length and not below
 * what was read. */
static void note_total(ghl_pg *st, uint64_t before, size_t n, int64_t total)
{
	if (total >= 0 && (uint64_t)total >= before + n && ((uint64_t)total != n || n < st->limit || before))
		st->total = total;
}

/* START_AFTER: meta's cursors, else the last item's id and date. */
static ghl_pg_next step_start_after(ghl_pg *st, json_object *answer, json_object *last)
{
	char id[GHL_PG_CURSOR_LEN], after[GHL_PG_CURSOR_LEN];

	member_text(answer, "meta.startAfterId", id, sizeof(id));
	member_text(answer, "meta.startAfter", after, sizeof(after));
	if (!*id && ghl_item_id(last, NULL, id, sizeof(id)) < 0)
		return GHL_PG_NO_CURSOR;
	if (!*after && sort_value(last, sort_keys + 1, after, sizeof(after)) < 0)
		return GHL_PG_NO_CURSOR;
	if (strcmp(id, st->cursor) == 0 && strcmp(after, st->cursor2) == 0)
		return GHL_PG_REPEATED;
	memcpy(st->cursor, id, sizeof(id));
	memcpy(st->cursor2, after, sizeof(after));
	return GHL_PG_MORE;
}

/* A member of the answer or of its "messages" object: the real API
 * nests the cursor there, the spec has it flat. */
static json_object *msg_member(json_object *answer, const char *name)
{
	json_object *nested = ghl_json_at(answer, "messages"), *v = NULL;

	if (json_object_is_type(nested, json_type_object) && json_object_object_get_ex(nested, name, &v) && v)
		return v;
	return json_object_object_get_ex(answer, name, &v) ? v : NULL;
}

static ghl_pg_next step_cursor(ghl_pg *st, json_object *answer, json_object *last, size_t n)
{
	char next[GHL_PG_CURSOR_LEN] = "";
	json_object *more, *v;

	if (st->paging == GHL_PAGING_LAST_MESSAGE_ID) {
		more = msg_member(answer, "nextPage");
		if (more && !json_object_get_boolean(more))
			return GHL_PG_DONE;
		v = msg_member(answer, "lastMessageId");
		if (v && (json_object_is_type(v, json_type_string) || json_object_is_type(v, json_type_int)))
			snprintf(next, sizeof(next), "%s", json_object_get_string(v));
		if (!*next && ghl_item_id(last, NULL, next, sizeof(next)) < 0)
			return more || n >= st->limit ? GHL_PG_NO_CURSOR : GHL_PG_DONE;
	} else if (sort_value(last, sort_keys, next, sizeof(next)) < 0) {
		return GHL_PG_NO_CURSOR;
	}
	if (strcmp(next, st->cursor) == 0)
		return GHL_PG_REPEATED;
	memcpy(st->cursor, next, sizeof(next));
	return GHL_PG_MORE;
}

static ghl_pg_next step_list(ghl_pg *st, json_object *answer, json_object *items, size_t n)
{
	json_object *last = n ? json_object_array_get_idx(items, n - 1) : NULL, *after = NULL;
	int64_t total = answer_total(answer);
	uint64_t before = st->offset;

	note_total(st, before, n, total);
	switch (st->paging) {
	case GHL_PAGING_SKIP_LIMIT:
	case GHL_PAGING_SKIP_LIMIT_BODY:
	case GHL_PAGING_LIMIT_OFFSET:
		st->offset += n;
		if (n < st->limit || total_reached(st, before, n, total))
			return GHL_PG_DONE;
		return GHL_PG_MORE;
	case GHL_PAGING_SEARCH_BODY:
		if (n < st->limit)
			return GHL_PG_DONE;
		st->offset += n;
		if (total_reached(st, before, n, total))
			return GHL_PG_DONE;
		json_object_put(st->search_after);
		st->search_after = NULL;
		if (json_object_object_get_ex(last, "searchAfter", &after) && json_object_is_type(after, json_type_array))
			st->search_after = json_object_get(after);
		st->page++;
		return GHL_PG_MORE;
	case GHL_PAGING_START_AFTER:
		if (n < st->limit)
			return GHL_PG_DONE;
		return step_start_after(st, answer, last);
	case GHL_PAGING_START_AFTER_DATE:
		if (n < st->limit)
			return GHL_PG_DONE;
		return step_cursor(st, answer, last, n);
	case GHL_PAGING_LAST_MESSAGE_ID:
		if (!n)
			return GHL_PG_DONE;
		return step_cursor(st, answer, last, n);
	default:
		return GHL_PG_DONE;
	}
}

ghl_pg_next ghl_pg_step(ghl_pg *st, json_object *answer, json_object *items, const char *id_key)
{
	size_t n = json_object_is_type(items, json_type_array) ? json_object_array_length(items) : 0;
	char first[GHL_PG_CURSOR_LEN] = "";
	ghl_pg_next next;

	st->pages++;
	if (st->paging == GHL_PAGING_TIME_WINDOW || st->paging == GHL_PAGING_DATE_WINDOW) {
		/* each window is a new question: the same first item is no repeat */
		if (st->win_end >= st->range_end)
			return GHL_PG_DONE;
		st->win_start = st->win_end;
		st->win_end = st->win_start + st->win_span < st->range_end ? st->win_start + st->win_span : st->range_end;
		return st->pages >= st->max_pages ? GHL_PG_TOO_MANY : GHL_PG_MORE;
	}
	if (n && ghl_item_id(json_object_array_get_idx(items, 0), id_key, first, sizeof(first)) < 0)
		ghl_item_hash(json_object_array_get_idx(items, 0), first);
	if (*first && *st->first_id && strcmp(first, st->first_id) == 0)
		return GHL_PG_REPEATED;
	memcpy(st->first_id, first, sizeof(first));
	next = step_list(st, answer, items, n);
	if (next == GHL_PG_MORE && st->pages >= st->max_pages)
		return GHL_PG_TOO_MANY;
	return next;
}

/* ---- answers ------------------------------------------------------------------- */

json_object *ghl_pg_items(json_object *answer, const char *path)
{
	json_object *v = ghl_json_at(answer, path), *inner = NULL;
	const char *last = strrchr(path, '.');

	if (!json_object_is_type(v, json_type_object))
		return v;
	if (json_object_object_get_ex(v, last ? last + 1 : path, &inner) && json_object_is_type(inner, json_type_array))
		return inner;
	return v;
}

/* "YYYY-MM-DD" */
static int is_date(const char *s)
{
	static const char pat[] = "dddd-dd-dd";

	for (size_t i = 0; i < sizeof(pat) - 1; i++)
		if (pat[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pat[i])
			return 0;
	return s[sizeof(pat) - 1] == 0;
}

json_object *ghl_pg_date_items(json_object *answer)
{
	json_object *out = json_object_new_array();

	if (!out || !json_object_is_type(answer, json_type_object))
		return out;
	json_object_object_foreach(answer, key, val) {
		json_object *item = NULL;

		if (!is_date(key))
			continue;
		if (json_object_is_type(val, json_type_object)) {
			if (json_object_deep_copy(val, &item, NULL) != 0)
				item = NULL;
		} else if ((item = json_object_new_object())) {
			json_object_object_add(item, "slots", json_object_get(val));
		}
		if (!item || json_object_object_add(item, "date", json_object_new_string(key)) != 0 ||
		    json_object_array_add(out, item) != 0) {
			json_object_put(item);
			json_object_put(out);
			return NULL;
		}
	}
	return out;
}

void ghl_pg_day_range(int64_t now, int64_t back, int64_t ahead, int64_t *from, int64_t *to)
{
	int64_t a = now - back, b = now + ahead;

	*from = a - ((a % GHL_DAY_MS) + GHL_DAY_MS) % GHL_DAY_MS;
	*to = b % GHL_DAY_MS ? b - ((b % GHL_DAY_MS) + GHL_DAY_MS) % GHL_DAY_MS + GHL_DAY_MS : b;
}

/* ---- resume state ---------------------------------------------------------- */

json_object *ghl_pg_save(const ghl_pg *st)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "paging", json_object_new_int((int)st->paging));
	json_object_object_add(o, "offset", json_object_new_int64((int64_t)st->offset));
	json_object_object_add(o, "page", json_object_new_int((int)st->page));
	json_object_object_add(o, "cursor", json_object_new_string(st->cursor));
	json_object_object_add(o, "cursor2", json_object_new_string(st->cursor2));
	json_object_object_add(o, "first", json_object_new_string(st->first_id));
	json_object_object_add(o, "win_start", json_object_new_int64(st->win_start));
	json_object_object_add(o, "win_end", json_object_new_int64(st->win_end));
	if (st->search_after)
		json_object_object_add(o, "searchAfter", json_object_get(st->search_after));
	return o;
}

static void copy_text(json_object *o, const char *key, char *buf, size_t len)
{
	const char *s = ghl_json_string(o, key);

	snprintf(buf, len, "%s", s ? s : "");
}

int ghl_pg_load(ghl_pg *st, json_object *saved)
{
	json_object *after = NULL;

	if (!json_object_is_type(saved, json_type_object) ||
	    ghl_json_int(saved, "paging", -1) != (int64_t)st->paging)
		return -1;
	st->offset = (uint64_t)ghl_json_int(saved, "offset", 0);
	st->page = (unsigned)ghl_json_int(saved, "page", 1);
	copy_text(saved, "cursor", st->cursor, sizeof(st->cursor));
	copy_text(saved, "cursor2", st->cursor2, sizeof(st->cursor2));
	copy_text(saved, "first", st->first_id, sizeof(st->first_id));
	if (st->paging == GHL_PAGING_TIME_WINDOW || st->paging == GHL_PAGING_DATE_WINDOW) {
		st->win_start = ghl_json_int(saved, "win_start", st->win_start);
		st->win_end = ghl_json_int(saved, "win_end", st->win_end);
	}
	json_object_put(st->search_after);
	st->search_after = NULL;
	if (json_object_object_get_ex(saved, "searchAfter", &after) && json_object_is_type(after, json_type_array))
		st->search_after = json_object_get(after);
	return 0;
}

/* ---- windows -------------------------------------------------------------------- */

size_t ghl_windows_count(int64_t from, int64_t to, int64_t span)
{
	if (to <= from || span <= 0)
		return 1;
	return (size_t)((to - from + span - 1) / span);
}

void ghl_window_at(int64_t from, int64_t to, int64_t span, size_t i, int64_t *start, int64_t *end)
{
	if (span <= 0)
		span = 1;
	*start = from + (int64_t)i * span;
	*end = *start + span < to ? *start + span : to;
	if (*end < *start)
		*end = *start;
}

/* ---- content hash ------------------------------------------------------------------ */

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static uint64_t hash_value(uint64_t h, json_object *v, int depth)
{
	if (depth > 64 || !v || (!json_object_is_type(v, json_type_object) && !json_object_is_type(v, json_type_array))) {
		const char *s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);

		return ghl_fnv1a(h, s, strlen(s));
	}
	if (json_object_is_type(v, json_type_array)) {
		h = ghl_fnv1a(h, "[", 1);
		for (size_t i = 0; i < json_object_array_length(v); i++)
			h = ghl_fnv1a(hash_value(h, json_object_array_get_idx(v, i), depth + 1), ",", 1);
		return ghl_fnv1a(h, "]", 1);
	}
	{
		size_t n = (size_t)json_object_object_length(v), k = 0;
		const char **keys = n ? malloc(n * sizeof(*keys)) : NULL;

		h = ghl_fnv1a(h, "{", 1);
		if (n && !keys) { /* out of memory: the unsorted text still tells a change */
			const char *text = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);

			return ghl_fnv1a(h, text, strlen(text));
		}
		json_object_object_foreach(v, key, val) {
			(void)val;
			keys[k++] = key;
		}
		if (k > 1) /* keys is NULL for an empty object: qsort wants an array */
			qsort(keys, k, sizeof(*keys), cmp_key);
		for (size_t i = 0; i < k; i++) {
			json_object *m = NULL;

			json_object_object_get_ex(v, keys[i], &m);
			h = ghl_fnv1a(h, keys[i], strlen(keys[i]) + 1);
			h = ghl_fnv1a(hash_value(h, m, depth + 1), ",", 1);
		}
		free(keys);
		return ghl_fnv1a(h, "}", 1);
	}
}

void ghl_item_hash(json_object *item, char out[17])
{
	ghl_hash_out(hash_value(GHL_FNV_INIT, item, 0), out);
}
