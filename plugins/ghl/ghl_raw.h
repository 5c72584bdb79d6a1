/* A GHL answer that is a file, not JSON (ghl_request_raw: a call's
 * recording, a transcription download), as the body of a record: the
 * catalog rows flagged GHL_OPF_RAW. */
#ifndef GHL_RAW_H
#define GHL_RAW_H

#include <stddef.h>

#include "ghl_client.h"

struct json_object;

/* {"contentType": the answer's type ("application/octet-stream" when it
 * named none), "size": bytes, "fnv1a64": 16 hex digits of the bytes'
 * 64-bit FNV-1a hash, "data": the bytes in base64 (RFC 4648, padded)}.
 * Plugins link json-c only, so no SHA-256: the hash tells a changed file
 * from the same one, it is no cryptographic digest. A new object; NULL
 * when out of memory (or when reply has no raw bytes). */
struct json_object *ghl_raw_item(const ghl_reply *reply);

/* For a caller that reads every answer as JSON: when reply carries raw
 * bytes, calls cb once with a copy of reply whose json is
 * ghl_raw_item(reply) (raw NULL), or with an HLB_ENOMEM failure, and
 * returns 1; otherwise returns 0 and calls nothing. */
int ghl_raw_as_json(const ghl_reply *reply, ghl_reply_cb cb, void *arg);

/* Base64 of n bytes into out (at least GHL_BASE64_LEN(n) bytes, the NUL
 * included); returns the length written. */
#define GHL_BASE64_LEN(n) (((n) + 2) / 3 * 4 + 1)
size_t ghl_base64(const unsigned char *in, size_t n, char *out);

#endif
