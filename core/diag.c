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
	char body[1024], full[1400];

	vsnprintf(body, sizeof(body), fmt, ap);
	if (file && line)
		snprintf(full, sizeof(full), "%s:%u: %s: %s", file, line, kind, body);
	else if (file)
		snprintf(full, sizeof(full), "%s: %s: %s", file, kind, body);
	else
		snprintf(full, sizeof(full), "%s: %s", kind, body);
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		char **m = realloc(d->msg, cap * sizeof(*m));

		if (!m)
			return;
		d->msg = m;
		d->cap = cap;
	}
	d->msg[d->n] = strdup(full);
	if (d->msg[d->n])
		d->n++;
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
