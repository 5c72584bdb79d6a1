/* The growing text buffer of the modules (see strbuf.h). */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

/* Without a cap a text may grow this far, which keeps len + n + 1 from
 * overflowing. */
#define SB_NO_CAP (SIZE_MAX / 2)

static size_t limit_of(const sb_buf *b)
{
	return b->cap ? b->cap : SB_NO_CAP;
}

void sb_init(sb_buf *b, size_t cap)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->cap = cap;
	b->failed = 0;
}

void sb_free(sb_buf *b)
{
	free(b->data);
	sb_init(b, b->cap);
}

static int fail(sb_buf *b)
{
	b->failed = 1;
	return -1;
}

int sb_reserve(sb_buf *b, size_t n)
{
	size_t limit = limit_of(b), need, alloc;
	char *p;

	if (n > limit || b->len > limit - n)
		return fail(b);
	need = b->len + n + 1;
	if (need <= b->alloc)
		return 0;
	alloc = b->alloc ? b->alloc : 64;
	while (alloc < need)
		alloc = alloc > SIZE_MAX / 2 ? need : alloc * 2;
	if (alloc > limit + 1)
		alloc = limit + 1;
	p = realloc(b->data, alloc);
	if (!p)
		return fail(b);
	if (!b->data)
		p[0] = '\0';
	b->data = p;
	b->alloc = alloc;
	return 0;
}

int sb_add(sb_buf *b, const char *s, size_t n)
{
	if (!s && n)
		return fail(b);
	if (sb_reserve(b, n) < 0)
		return -1;
	if (n)
		memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int sb_adds(sb_buf *b, const char *s)
{
	return sb_add(b, s, s ? strlen(s) : 0);
}

int sb_addf(sb_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return fail(b);
	if (sb_reserve(b, (size_t)n) < 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

int sb_add_cut(sb_buf *b, const char *s, size_t n)
{
	size_t limit = limit_of(b);
	size_t room = b->len < limit ? limit - b->len : 0;

	return sb_add(b, s, n < room ? n : room);
}

void sb_cut(sb_buf *b, size_t len)
{
	if (len >= b->len)
		return;
	b->len = len;
	b->data[len] = '\0';
}

const char *sb_str(const sb_buf *b)
{
	return b->data ? b->data : "";
}
