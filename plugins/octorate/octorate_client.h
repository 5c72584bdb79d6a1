/* The shared Octorate client: what the `octorate` source and sink need to
 * talk to Octorate's API (api.octorate.com/connect), built on the host's
 * HTTP service and credential broker. Linked into each Octorate module (see
 * Makefile.am, OCTORATE_CLIENT), never into the core.
 *
 *  - octo_client: one per instance. octo_request() gets a bearer token from
 *    the [auth:NAME] provider (octorate_oauth), sends base_url + a /rest/v1
 *    path paced on "octorate:<quota_id>:<accommodation>", parses the JSON
 *    answer (bounded), retries once after a 401 with a fresh token, holds
 *    the quota and tries again after a 403 ApiQuotaException (a warning
 *    for the first 403 of an episode, debug lines after it), and
 *    classifies every other failure as retryable (5xx, network, malformed or
 *    truncated JSON) or permanent (other 4xx; 403 WrongEnviroment is a
 *    configuration error). Failure messages carry Octorate's ApiError fields
 *    and the request-id header.
 *  - octo_pager: page=N&size=S paging until an answer has no page.next,
 *    with guards against repeated pages and a page count bound.
 *  - Pure helpers, unit-tested in tests/test_octorate.c: times ("…Z[UTC]"),
 *    Europe/Rome dates, the pager's decision, ApiError text, notes append
 *    with its markers, rate parsing, big integers kept as text.
 *
 * Every callback runs later from the event loop. */
#ifndef OCTORATE_CLIENT_H
#define OCTORATE_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "hlbridge/host.h"
#include "../ghl/ghl_util.h"
#include "../ghl/api_call.h"

struct json_object;

#define OCTO_BASE_URL "https://api.octorate.com/connect"
#define OCTO_AUTHORIZE_URL "https://admin.octorate.com/octobook/identity/oauth.xhtml"
/* Largest answer read from the API. */
#define OCTO_MAX_RESPONSE (8u * 1024 * 1024)
/* The spec's bound on `page` (0-based, at most 1000). */
#define OCTO_MAX_PAGES 1001
/* The quota reported for Octorate apps: 100 calls per accommodation per 5
 * minutes (FACTS.md §5, unverified); option `rate` changes it. */
#define OCTO_RATE_MAX 100
#define OCTO_RATE_MS 300000
#define OCTO_ID_MAX 64

typedef struct octo_client octo_client;
typedef struct octo_call octo_call;
typedef struct octo_pager octo_pager;

/* The outcome of one request; borrowed, valid during the callback. */
typedef struct octo_reply {
	int rc;                   /* HLB_OK for a 2xx with valid (or no) JSON */
	long status;              /* 0 when there was no answer */
	struct json_object *json; /* the parsed body, or NULL */
	const char *error;        /* one line, "" when rc == HLB_OK; never a token */
	int retryable;            /* worth another try later */
	int quota;                /* the quota was spent (403 ApiQuotaException) */
	int config;               /* a configuration problem (WrongEnviroment) */
	int needs_login;          /* the credential must be authorized again */
	int64_t retry_after_ms;   /* how long to wait, 0 when unknown */
} octo_reply;

typedef void (*octo_reply_cb)(void *arg, const octo_reply *reply);

/* A client for `inst` with tokens from [auth:auth_name]; requests are paced
 * at rate_max per rate_ms per accommodation. NULL when out of memory. */
octo_client *octo_client_new(const hlb_host *host, hlb_instance *inst, const char *plugin,
			     const char *auth_name, uint32_t rate_max, int64_t rate_ms);
/* Cancels everything in flight (no callback runs after this) and frees. */
void octo_client_free(octo_client *c);
/* Retries of transient failures inside one request, and the longest wait
 * for a spent quota before it is reported (defaults 2 and 10 minutes). */
void octo_client_set_retries(octo_client *c, unsigned retries, int64_t max_quota_wait_ms);

/* `method` base_url + `path_and_query` (starting with "/rest/"), with the
 * JSON `body` (borrowed; NULL for none), paced on `accommodation`'s key. cb
 * runs once, later, unless cancelled. NULL when out of memory. */
octo_call *octo_request(octo_client *c, const char *accommodation, const char *method,
			const char *path_and_query, struct json_object *body, octo_reply_cb cb, void *arg);
void octo_call_cancel(octo_call *call);

/* ---- paging ---- */

/* A page's items (the "data" array, borrowed). HLB_OK goes on; an error
 * stops the pager with that rc. It must not cancel the pager. */
typedef int (*octo_page_cb)(void *arg, struct json_object *items);
typedef void (*octo_done_cb)(void *arg, const octo_reply *reply);

/* GETs path&page=0&size=S, page=1, ... until an answer has no page.next. */
octo_pager *octo_page(octo_client *c, const char *accommodation, const char *path, unsigned size,
		      unsigned max_pages, octo_page_cb page, octo_done_cb done, void *arg);
void octo_pager_cancel(octo_pager *p);

typedef struct octo_page_state {
	unsigned pages, max_pages;
	char first_id[OCTO_ID_MAX + 1]; /* first id of the previous page */
} octo_page_state;

typedef enum octo_page_next {
	OCTO_PAGE_MORE = 0,
	OCTO_PAGE_DONE = 1,
	OCTO_PAGE_REPEATED = 2, /* same first item as the page before: the API ignores page */
	OCTO_PAGE_TOO_MANY = 3
} octo_page_next;

void octo_page_init(octo_page_state *st, unsigned max_pages);
/* n items arrived, the first with id first_id (NULL: none); has_next: the
 * answer's page object has a `next`. */
octo_page_next octo_page_step(octo_page_state *st, size_t n, int has_next, const char *first_id);

/* ---- pure helpers ---- */

/* Milliseconds since the epoch of Octorate's times: "2020-07-06T22:00:00Z[UTC]",
 * "2020-06-17 10:22:30+00:00", "2020-07-06T22:00:00+02:00[Europe/Rome]",
 * "2020-07-06"; -1 when it is none of these. */
int64_t octo_parse_time(const char *s);
/* "2020-07-06T22:00:00Z" (buf of at least 21 bytes). */
void octo_format_time(int64_t ms, char *buf, size_t len);
/* The calendar date in Europe/Rome (CET/CEST, EU rules) of a UTC instant,
 * "YYYY-MM-DD" (buf of at least 11 bytes). */
void octo_rome_date(int64_t ms, char *buf, size_t len);

/* One line from an Octorate error answer: "HTTP 403 ApiQuotaException:
 * message (human_name ...; element ...; suggestion ...) [request-id X]".
 * *type gets the ApiError type copied into type_buf ("" when none). */
void octo_error_text(long status, const char *body, size_t len, const char *request_id, char *buf,
		     size_t buflen, char *type_buf, size_t type_len);

/* The marker that ends a history line in the notes, " [hlb:<8 hex>]": a
 * hash of the record (its key and time) and the line, so that a
 * redelivery of the record finds its lines and another record's same line
 * (an event repeated: add, remove, add) does not. */
#define OCTO_MARKER_LEN 16
void octo_note_marker(const char *record_key, int64_t time_ms, const char *line, char *out, size_t len);

/* The notes after appending `lines` (history lines of the record
 * record_key at time_ms) to `old`, each on a line of its own ended by its
 * marker: a new string (free it), or NULL when there is nothing to add (no
 * lines, or every line's marker is in `old` already: a redelivery). *oom
 * is set when memory ran out. */
char *octo_notes_append(const char *old, const char *const *lines, size_t n, const char *record_key,
			int64_t time_ms, int *oom);

/* "COUNT/DURATION" (100/5m, 20/1s, 5/s): 0, or -1 when malformed. The
 * host paces at most OCTO_RATE_LIMIT_COUNT calls per at most
 * OCTO_RATE_LIMIT_MS: the caller checks the bounds. */
#define OCTO_RATE_LIMIT_COUNT 1000000u
#define OCTO_RATE_LIMIT_MS (7LL * 86400000)
int octo_parse_rate(const char *text, uint32_t *max, int64_t *ms);

/* The text of a JSON id (a number of any size, or a string of digits):
 * the token as written, never through a double. 0, or -1. */
int octo_id_text(struct json_object *v, char *buf, size_t len);

/* json-c clamps an integer beyond uint64 (a 20-digit reservation id) to
 * UINT64_MAX: before parsing, such integers are turned into strings of the
 * same digits, so the token text survives. A new buffer of *out_len bytes
 * (free it), or NULL when the text has none (parse it as it is) or memory
 * ran out (*oom). Strings, negative numbers, fractions and exponents (their
 * digits too: 1E+100000000000000000000 stays a number) are left alone. */
char *octo_quote_big_ints(const char *json, size_t len, size_t *out_len, int *oom);

/* Accommodation ids are short words of digits and letters (URL-safe). */
int octo_id_ok(const char *id);

#endif /* OCTORATE_CLIENT_H */
