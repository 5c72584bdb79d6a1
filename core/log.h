/* Logging to stderr: one line per event with time, level and instance.
 * Every line passes through the secret mask, so a secret option value can
 * never reach the log, whoever formats it. */
#ifndef HC_LOG_H
#define HC_LOG_H

#include <stdarg.h>
#include "hlbridge/abi.h"
#include "hlbridge/host.h"

void hc_log_set_level(hlb_log_level level);
hlb_log_level hc_log_get_level(void);
int hc_log_parse_level(const char *text, hlb_log_level *out);
/* Registers a value to be masked as "***" wherever it appears. */
void hc_log_add_secret(const char *value);
void hc_log_clear_secrets(void);
/* Copies `in` into `out` with every secret replaced; returns out. */
char *hc_log_mask(const char *in, char *out, size_t outlen);

/* `who` names the instance ("source:in") or is NULL for the host itself. */
void hc_log(const char *who, hlb_log_level level, const char *fmt, ...) HLB_PRINTF(3, 4);
void hc_logv(const char *who, hlb_log_level level, const char *fmt, va_list ap) HLB_PRINTF(3, 0);
/* A preformatted line (diagnostics), masked, without time or level. */
void hc_log_raw(const char *line);
/* A progress line without a newline is on stderr: the next log line
 * clears it first. */
void hc_log_progress_shown(void);

#endif
