#ifdef HAVE_CONFIG_H
#include "build_config.h" /* _GNU_SOURCE for asprintf */
#endif
#include "diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static void add(hc_diag *d, const char *kind, const char *file, unsigned line,
		const char *fmt, va_list ap) HLB_PRINTF(5, 0);

static void add(hc_diag *d, const char *kind, const char *file, unsigned line,
		const char *fmt, va_list ap)
{
	char *body = NULL, *full = NULL;
	int n;

	/* Whole, not cut: the logger masks secrets before it cuts a line. */
	if (vasprintf(&body, fmt, ap) < 0)
		return;
	if (file && line)
		n = asprintf(&full, "%s:%u: %s: %s", file, line, kind, body);
	else if (file)
		n = asprintf(&full, "%s: %s: %s", file, kind, body);
	else
		n = asprintf(&full, "%s: %s", kind, body);
	free(body);
	if (n < 0)
		return;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		char **m = realloc(d->msg, cap * sizeof(*m));

		if (!m) {
			free(full);
			return;
		}
		d->msg = m;
		d->cap = cap;
	}
	d->msg[d->n++] = full;
}

void hc_diag_error(hc_diag *d, const char *file, unsigned line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add(d, "error", file, line, fmt, ap);
	va_end(ap);
	d->errors++;
}

void hc_diag_warn(hc_diag *d, const char *file, unsigned line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add(d, "warning", file, line, fmt, ap);
	va_end(ap);
	d->warnings++;
}

void hc_diag_print(const hc_diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		hc_log_raw(d->msg[i]);
}

void hc_diag_clear(hc_diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->msg[i]);
	free(d->msg);
	memset(d, 0, sizeof(*d));
}
