/* The http sink's rules that need no host: checking and showing a URL,
 * turning a response into a verdict, and making text safe for a log line or
 * a header. Names carry the hsink_ prefix because a sealed build links every
 * plugin into one binary. */
#ifndef HTTP_RULES_H
#define HTTP_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "hlbridge/hlbridge.h"

/* 0 when `url` is an absolute http:// or https:// URL with a host, else -1
 * with the reason in err. */
int hsink_url_check(const char *url, char *err, size_t errlen);

/* The URL as it may appear in a log line: user:password@ and the query
 * string (where services put API keys) are left out. */
void hsink_url_display(const char *url, char *out, size_t outlen);

/* The verdict for a finished transfer: `result` from http_result, `status`
 * from http_status. The status counts only when the response arrived whole,
 * or arrived but its body exceeded max_response (HLB_ETOOBIG). */
hlb_verdict hsink_verdict(int result, long status);

/* 1 when the status is what the verdict was based on (see above). */
int hsink_status_counts(int result, long status);

/* Copies at most `max` bytes of `in` to out with control characters made
 * spaces, never cutting a UTF-8 sequence in two. */
void hsink_sanitize(const char *in, size_t len, size_t max, char *out, size_t outlen);

/* 1 when `name` is a valid HTTP header name (RFC 9110 token). */
int hsink_header_name_ok(const char *name);

/* FNV-1a, 64 bits; start with HSINK_FNV_INIT. */
#define HSINK_FNV_INIT 14695981039346656037ull
uint64_t hsink_fnv1a(uint64_t h, const void *data, size_t len);

/* Appends `key` to out (NUL-terminated) with control characters, and ','
 * when `in_list`, written as %XX, so a key can never end a header or split
 * a list. Returns the length it needs (as snprintf does). */
size_t hsink_key_escape(const char *key, int in_list, char *out, size_t outlen);

#endif
