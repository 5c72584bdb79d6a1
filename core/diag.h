/* Diagnostics: every error of a configuration is collected and reported in
 * one run, each naming its file and line. */
#ifndef HC_DIAG_H
#define HC_DIAG_H

#include <stddef.h>
#include "hlbridge/host.h"

typedef struct hc_diag {
	char **msg;
	size_t n, cap;
	unsigned errors, warnings;
} hc_diag;

/* line 0 means "no line"; file NULL means "no file". */
void hc_diag_error(hc_diag *d, const char *file, unsigned line, const char *fmt, ...) HLB_PRINTF(4, 5);
void hc_diag_warn(hc_diag *d, const char *file, unsigned line, const char *fmt, ...) HLB_PRINTF(4, 5);
/* Writes every message through the logger's secret mask to stderr. */
void hc_diag_print(const hc_diag *d);
void hc_diag_clear(hc_diag *d);

#endif
