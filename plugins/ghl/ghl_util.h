/* Small pieces every GoHighLevel module needs: the API's constants, the
 * User-Agent, form encoding, and the reading of GHL's error bodies.
 * Linked into each GHL module (see Makefile.am, GHL_CLIENT). */
#ifndef GHL_UTIL_H
#define GHL_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "hlbridge/host.h"
#include "../common/strbuf.h"

struct json_object;
struct json_tokener;

#define GHL_BASE_URL "https://services.leadconnectorhq.com"
#define GHL_AUTHORIZE_URL "https://marketplace.gohighlevel.com/v2/oauth/chooselocation"
/* The Version header of the v2 APIs these modules call (social-media-posting,
 * oauth): see ../shared/specs/ghl/FACTS.md, "Base URL and Version header". */
#define GHL_VERSION "2021-07-28"
/* Calendars and conversations use this one. */
#define GHL_VERSION_2021_04_15 "2021-04-15"
/* The burst quota per app and location (or company): 100 requests / 10 s. */
#define GHL_BURST_MAX 100
#define GHL_BURST_INTERVAL_MS 10000

/* "User-Agent: hlbridge/VERSION (+plugin NAME)" into buf. */
void ghl_user_agent(const hlb_host *host, const char *plugin, char *buf, size_t len);

/* The capped text buffer of the GHL modules is the modules' common one
 * (../common/strbuf.h); these names stay for the GHL code and its tests. */
typedef sb_buf ghl_buf;
#define ghl_buf_init sb_init
#define ghl_buf_add sb_add
#define ghl_buf_addf sb_addf
#define ghl_buf_free sb_free

/* Percent-encodes `s` for a query string or form body (RFC 3986
 * unreserved characters stay) and appends it. */
int ghl_buf_add_encoded(ghl_buf *b, const char *s);
/* Appends "&name=value" (no '&' when b is empty), both encoded. */
int ghl_form_add(ghl_buf *b, const char *name, const char *value);

/* Turns a GHL error answer into one line for logs and the dead-letter
 * queue, e.g. "HTTP 422: locationId must be a string; name is required
 * (traceId 4f2c...)". Reads {statusCode, message (string or array of
 * strings), error, traceId} and oauth's {error, error_description}; falls
 * back to the first bytes of the body, cleaned of control characters. Never
 * longer than buflen - 1. */
void ghl_error_text(long status, const char *body, size_t len, char *buf, size_t buflen);

/* True when an OAuth token endpoint refused a grant for good
 * ({"error":"invalid_grant"} and friends): re-authorization is needed. */
int ghl_is_invalid_grant(long status, const char *body, size_t len);

/* A bearer token goes into "Authorization: Bearer <token>": true when it
 * is one word of visible ASCII of 1 to `max` bytes, which can neither split
 * nor forge a header. */
int ghl_token_ok(const char *token, size_t max);

/* The facts a GHL credential hands out with its tokens (hlb_auth_result's
 * info), as ghl_client reads them: {base_url, userType ("Company" when
 * `company`, else "Location"), companyId, locationId (Location only),
 * appId}, NULL values left out. A new object; NULL when out of memory. */
struct json_object *ghl_auth_info(const char *base_url, int company, const char *company_id,
				  const char *location_id, const char *app_id);

/* strdup(s), or NULL for NULL (check: NULL with s set is out of memory). */
char *ghl_dup_or_null(const char *s);

/* The wall clock in milliseconds since the epoch. */
int64_t ghl_now_ms(void);

/* Stable 64-bit FNV-1a hash of `s` as 16 hex digits (ids, content hashes). */
void ghl_hash_hex(const char *s, size_t len, char out[17]);
/* The same in parts: h = ghl_fnv1a(GHL_FNV_INIT, a, n) continued with
 * ghl_fnv1a(h, b, m) hashes a followed by b; ghl_hash_out writes it. */
#define GHL_FNV_INIT 14695981039346656037ULL
uint64_t ghl_fnv1a(uint64_t h, const char *s, size_t len);
void ghl_hash_out(uint64_t h, char out[17]);

/* Milliseconds since the epoch from an ISO 8601 time such as
 * "2023-08-02T00:00:00.000Z"; -1 when it is not one. And back, UTC. */
int64_t ghl_parse_time(const char *iso);
void ghl_format_time(int64_t ms, char *buf, size_t len);

/* ---- shared by the GHL and the Octorate modules ---- */

/* base_url (trailing '/' dropped) + path_and_query (a '/' put between
 * when it has none) into out; -1 when base_url is empty or out is full. */
int ghl_url_build(ghl_buf *out, const char *base_url, const char *path_and_query);

/* One line of text in a fixed buffer: control characters become blanks (a
 * server's message must not split a log line), runs of blanks are folded,
 * and what does not fit is cut. */
typedef struct ghl_line {
	char *buf;
	size_t len, size;
} ghl_line;

void ghl_line_init(ghl_line *l, char *buf, size_t size);
void ghl_line_add(ghl_line *l, const char *s, size_t n);
void ghl_line_adds(ghl_line *l, const char *s); /* NULL adds nothing */

/* A small JSON object (a body of at most 64 KiB); NULL when it is none. */
struct json_object *ghl_parse_object(const char *body, size_t len);
/* A whole body as exactly one JSON value (trailing white space allowed),
 * with the tokener *tok, made on first use and reused (free it with
 * json_tokener_free); NULL when it is not one or memory ran out. */
struct json_object *ghl_parse_whole(struct json_tokener **tok, const char *body, size_t len);
/* A string member of an object, or NULL when absent or not a string. */
const char *ghl_json_string(struct json_object *obj, const char *key);
/* An integer member (a number, or a string of digits), else dflt. */
int64_t ghl_json_int(struct json_object *obj, const char *key, int64_t dflt);
/* Adds key: value (a string) when value is not NULL. */
void ghl_json_add_str(struct json_object *o, const char *key, const char *value);

/* Doubly linked lists of structs with `prev` and `next` members. */
#define GHL_LIST_ADD(head, item) do { \
		(item)->prev = NULL; \
		(item)->next = (head); \
		if (head) \
			(head)->prev = (item); \
		(head) = (item); \
	} while (0)

#define GHL_LIST_DEL(head, item) do { \
		if ((item)->prev) \
			(item)->prev->next = (item)->next; \
		else if ((head) == (item)) \
			(head) = (item)->next; \
		if ((item)->next) \
			(item)->next->prev = (item)->prev; \
		(item)->prev = (item)->next = NULL; \
	} while (0)

/* xorshift64 (jitter, not secrets): the next value of *state. */
uint64_t ghl_random_next(uint64_t *state);
/* The wait before retry number `attempt` (0 first): between half and all
 * of base_ms << attempt (the shift capped at 6), at random. */
int64_t ghl_backoff_ms(uint64_t *rng, unsigned attempt, int64_t base_ms);

/* The next item of a comma-separated list at *p (blanks around it
 * trimmed, empty items skipped): its start, with its length in *len, and
 * *p moved past it; NULL at the end. */
const char *ghl_list_next(const char **p, size_t *len);

/* ---- credential providers ---- */

/* Zeroes and frees a secret string (NULL: nothing). */
void ghl_free_secret(char *s);
/* *dst = a copy of src (NULL: NULL), the old value freed; -1 when out of
 * memory (then *dst is unchanged). */
int ghl_set_str(char **dst, const char *src);
/* base (trailing '/' dropped) + path, malloc'd; NULL when out of memory. */
char *ghl_url_join(const char *base, const char *path);
/* An http:// or https:// URL without blanks. */
int ghl_url_ok(const char *url);
/* How long before expiry a token is refreshed: margin_ms, but never more
 * than half its lifetime (a short-lived token is not refreshed on every
 * request). */
int64_t ghl_token_margin(int64_t margin_ms, int64_t obtained_at, int64_t expires_at);
/* "[auth:NAME] is not authorized yet: run 'hlbridge auth login NAME -c
 * CONFIG'", or "... must be authorized again (REASON): run ...". */
void ghl_login_message(char *buf, size_t len, const char *name, int authorized, const char *reason);

/* POSTs `form` (application/x-www-form-urlencoded; Accept: JSON) to url
 * with "User-Agent: user_agent", the NULL-terminated `extra` headers
 * (NULL: none; at most GHL_POST_EXTRA_MAX), a timeout, a cap on the
 * answer and a pace key (NULL: not paced): host->http_request's transfer,
 * or NULL. */
#define GHL_POST_EXTRA_MAX 4
hlb_http *ghl_post_form(const hlb_host *host, hlb_instance *inst, const char *url, const ghl_buf *form,
			const char *user_agent, const char *const *extra, int64_t timeout_ms, size_t max_response,
			const char *pace_key, hlb_http_cb cb, void *arg);

/* Token requests waiting for a refresh, answered in arrival order. */
typedef struct ghl_waiters {
	struct ghl_waiter *head, *tail;
	size_t n;
} ghl_waiters;

/* Queues call; -1 (not queued) when `max` wait already or out of memory. */
int ghl_waiters_add(ghl_waiters *q, hlb_auth_call *call, size_t max);
/* Answers every waiter with res (host->auth_done) and empties q. */
void ghl_waiters_answer(const hlb_host *host, ghl_waiters *q, const hlb_auth_result *res);

#endif
