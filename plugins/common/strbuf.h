/* A growing text buffer with an optional hard cap, as curl's dynbuf: the
 * one text builder of the modules (alert, threshold, sql and, through
 * ghl_util's ghl_buf, the GoHighLevel modules). Compiled into each module
 * that uses it (see Makefile.am); it calls nothing of the host.
 *
 *     sb_buf b;
 *
 *     sb_init(&b, 4096);
 *     sb_adds(&b, "name=");
 *     sb_addf(&b, "%d", 42);
 *     if (b.failed)
 *             ...;            (out of memory, or a piece past the cap)
 *     use(sb_str(&b));
 *     sb_free(&b);
 *
 * Each append returns 0, or -1 and leaves the text as it was; a failure
 * also sets the sticky `failed` flag, so a caller may append a run of
 * pieces and check once at the end. */
#ifndef HLB_STRBUF_H
#define HLB_STRBUF_H

#include <stddef.h>

#include "hlbridge/host.h"

typedef struct sb_buf {
	char *data;   /* NUL-terminated; NULL until the first append */
	size_t len;   /* bytes of text */
	size_t alloc; /* bytes allocated */
	size_t cap;   /* the longest text it may hold; 0: no cap */
	int failed;   /* sticky: an append returned -1, the text misses a piece */
} sb_buf;

/* An empty buffer holding at most `cap` bytes of text (0: no cap). A
 * zeroed sb_buf is an empty buffer without a cap. */
void sb_init(sb_buf *b, size_t cap);
/* Frees the text and empties the buffer, keeping its cap. */
void sb_free(sb_buf *b);

/* Makes room for `n` more bytes and the NUL, within the cap, for a caller
 * that writes at data + len itself (then adds n to len and ends the text
 * with a NUL). */
int sb_reserve(sb_buf *b, size_t n);

/* All or nothing: -1 (and nothing appended) when the bytes do not fit
 * under the cap or memory runs out. */
int sb_add(sb_buf *b, const char *s, size_t n);
int sb_adds(sb_buf *b, const char *s);
int sb_addf(sb_buf *b, const char *fmt, ...) HLB_PRINTF(2, 3);

/* As much of `s` as the cap leaves room for: text past the cap is dropped
 * without a failure (for messages cut to a length). -1 only when out of
 * memory. */
int sb_add_cut(sb_buf *b, const char *s, size_t n);

/* Shortens the text to `len` bytes (no-op when it is not longer). */
void sb_cut(sb_buf *b, size_t len);

/* The text: "" before the first append, never NULL. */
const char *sb_str(const sb_buf *b);

#endif
