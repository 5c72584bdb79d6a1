/* The paging decisions of the ghl source's trigger streams, one per
 * convention of ghl_ops.h's ghl_paging: what the next request sends, and
 * whether there is a next request, given the answer to the last one.
 * Pure (no I/O), so that each convention and guard is unit-tested
 * without a server (tests/test_ghl_streams.c); ghl_streams.c runs it.
 *
 * The guards: an API that ignores a cursor answers the same page again
 * and again, so a page starting with the item the page before started
 * with, or a cursor equal to the one just sent, stops the stream with an
 * error; and max_pages bounds one poll. */
#ifndef GHL_PAGER_H
#define GHL_PAGER_H

#include <stddef.h>
#include <stdint.h>

#include "ghl_ops.h"
#include "ghl_util.h"

struct json_object;

#define GHL_PG_CURSOR_LEN 256
#define GHL_DAY_MS (24LL * 3600 * 1000)
/* free-slots accepts at most 31 days per request */
#define GHL_DATE_WINDOW_MS (31 * GHL_DAY_MS)

typedef struct ghl_pg {
	ghl_paging paging;
	unsigned limit, max_pages;
	unsigned pages;            /* answers seen so far */
	uint64_t offset;           /* skip / offset of the next request */
	unsigned page;             /* SEARCH_BODY: the next page (1-based) without searchAfter */
	struct json_object *search_after; /* SEARCH_BODY: the last item's searchAfter (owned), or NULL */
	char cursor[GHL_PG_CURSOR_LEN];   /* startAfterId / startAfterDate / lastMessageId; "" none */
	char cursor2[GHL_PG_CURSOR_LEN];  /* START_AFTER: startAfter (ms) */
	char first_id[GHL_PG_CURSOR_LEN]; /* the first item of the page before, "" none */
	int64_t win_start, win_end;       /* windows: the current [start, end), epoch ms */
	int64_t range_end, win_span;
	int64_t total;                    /* the total the answers report when plausible, else -1 */
} ghl_pg;

typedef enum ghl_pg_next {
	GHL_PG_MORE = 0,     /* send the next request */
	GHL_PG_DONE = 1,     /* that was the last one */
	GHL_PG_REPEATED = 2, /* the API ignored the paging: error */
	GHL_PG_TOO_MANY = 3, /* max_pages reached with more to come: error */
	GHL_PG_NO_CURSOR = 4 /* a full page names no next one: error (ending would drop the rest) */
} ghl_pg_next;

/* GHL's list endpoints take at most 100 items a request; the contacts
 * search's pageLimit (SEARCH_BODY) takes 500. */
#define GHL_PG_LIST_MAX 100
unsigned ghl_pg_limit(ghl_paging paging, unsigned page_size);

/* `from_ms`..`to_ms` is the range of the window conventions (ignored by
 * the others); DATE_WINDOW cuts it into windows of at most 31 days,
 * TIME_WINDOW asks it in one. */
void ghl_pg_init(ghl_pg *st, ghl_paging paging, unsigned limit, unsigned max_pages, int64_t from_ms,
		 int64_t to_ms);
void ghl_pg_clear(ghl_pg *st);

/* 1 when the convention pages in a JSON body (SEARCH_BODY,
 * SKIP_LIMIT_BODY), 0 when in the query. */
int ghl_pg_in_body(ghl_paging paging);
/* Appends the next request's paging members to a query ("&a=1&b=2",
 * encoded; the caller puts the '?'): -1 when out of memory. */
int ghl_pg_query(const ghl_pg *st, ghl_buf *q);
/* Adds them to a JSON body: -1 when out of memory. */
int ghl_pg_body(const ghl_pg *st, struct json_object *body);

/* The answer to the last request arrived, with `items` (an array,
 * borrowed; NULL: none) of which `id_key` identifies one: moves st to
 * the next request. */
ghl_pg_next ghl_pg_step(ghl_pg *st, struct json_object *answer, struct json_object *items, const char *id_key);

/* The items of an answer at the dotted `path` (borrowed): the array
 * there, or when that is an object holding an array under the path's
 * last name (the real API's {"messages": {"lastMessageId", "nextPage",
 * "messages": [...]}} where the spec has them flat), that array. NULL:
 * none. */
struct json_object *ghl_pg_items(struct json_object *answer, const char *path);

/* An answer keyed by date ({"2025-01-06": {"slots": [...]}}, free
 * slots) as one item per date: [{"date": "2025-01-06", "slots": [...]}]
 * (a new array; members that are no date are left out). NULL when out
 * of memory. */
struct json_object *ghl_pg_date_items(struct json_object *answer);
/* The DATE_WINDOW range for `now`: from UTC midnight of now - back to
 * the UTC midnight at or after now + ahead, so that the windows, and
 * what they answer, stay the same all day. */
void ghl_pg_day_range(int64_t now, int64_t back, int64_t ahead, int64_t *from, int64_t *to);

/* The state as JSON, to resume a backfill after a crash; and back (0, or
 * -1 when `saved` is not one of this convention's). */
struct json_object *ghl_pg_save(const ghl_pg *st);
int ghl_pg_load(ghl_pg *st, struct json_object *saved);

/* The windows of [from, to) of at most `span` ms: how many, and the
 * i-th one. */
size_t ghl_windows_count(int64_t from, int64_t to, int64_t span);
void ghl_window_at(int64_t from, int64_t to, int64_t span, size_t i, int64_t *start, int64_t *end);

/* An item's id as text (a string or a number member `key`) into buf;
 * 0, or -1 when it has none that fits. */
int ghl_item_id(struct json_object *item, const char *key, char *buf, size_t len);
/* The content hash of an item (its JSON with the keys sorted, so that
 * the order the API writes them in does not matter) as 16 hex digits. */
void ghl_item_hash(struct json_object *item, char out[17]);

#endif
