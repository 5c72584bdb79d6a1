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

#endif
