/* Message templates of the modules (alert's `text`, threshold's `message`):
 * literal text with {{$.path}} placeholders filled from a record's body.
 * Compiled into each module that uses it (see Makefile.am); it reaches
 * the host only through the hlb_host it is handed (JSON paths). */
#ifndef HLB_TEMPLATE_H
#define HLB_TEMPLATE_H

#include <stddef.h>

#include "hlbridge/hlbridge.h"
#include "strbuf.h"

struct json_object;

/* A compiled template: literal pieces and paths, in order. A zeroed
 * tmpl is an empty template. */
typedef struct tmpl_piece {
	char *text;     /* literal text, or NULL for a path */
	hlb_path *path;
} tmpl_piece;

typedef struct tmpl {
	tmpl_piece *p;
	size_t n;
} tmpl;

/* "text {{$.a}} more": every "{{" opens a placeholder that "}}" closes.
 * HLB_OK; HLB_EINVAL with the reason (and column) in err; HLB_ENOMEM. On
 * an error t holds what was compiled so far: tmpl_clear it. */
int tmpl_compile(const hlb_host *host, const char *src, tmpl *t, char *err, size_t errlen);
void tmpl_clear(const hlb_host *host, tmpl *t);

/* Appends a placeholder's value to the text. */
typedef void (*tmpl_value_fn)(sb_buf *b, struct json_object *value, void *arg);

/* Renders t for `body` into b: literal text as it is (cut at b's cap), each
 * path's value through add_value; a path that does not resolve renders as
 * nothing. */
void tmpl_render(const hlb_host *host, const tmpl *t, struct json_object *body, sb_buf *b,
		 tmpl_value_fn add_value, void *arg);

/* A copy of s[0..n) without the blanks and tabs around it; NULL when out
 * of memory. */
char *tmpl_trimmed(const char *s, size_t n);

#endif
