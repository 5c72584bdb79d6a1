#ifdef HAVE_CONFIG_H
#include "build_config.h" /* _GNU_SOURCE for asprintf */
#endif
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/time.h>

static hlb_log_level current = HLB_LOG_INFO;
static char **secrets;
static size_t nsecrets;

static const char *const level_names[] = { "ERROR", "WARN", "INFO", "DEBUG" };

void hc_log_set_level(hlb_log_level level)
{
	current = level;
}

hlb_log_level hc_log_get_level(void)
{
	return current;
}

int hc_log_parse_level(const char *text, hlb_log_level *out)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };

	for (int i = 0; i < 4; i++)
		if (strcmp(text, names[i]) == 0) {
			*out = (hlb_log_level)i;
			return 0;
		}
	return -1;
}

void hc_log_add_secret(const char *value)
{
	char **s;

	/* Masking very short values would garble ordinary words. */
	if (!value || strlen(value) < 3)
		return;
	for (size_t i = 0; i < nsecrets; i++)
		if (strcmp(secrets[i], value) == 0)
			return;
	s = realloc(secrets, (nsecrets + 1) * sizeof(*s));
	if (!s)
		return;
	secrets = s;
	char *copy = strdup(value);
	if (!copy)
		return;
	/* Longest first: a secret that starts with a shorter one must be
	 * masked whole, not after the shorter one's "***". */
	size_t at = 0, len = strlen(copy);
	while (at < nsecrets && strlen(secrets[at]) >= len)
		at++;
	memmove(&secrets[at + 1], &secrets[at], (nsecrets - at) * sizeof(*secrets));
	secrets[at] = copy;
	nsecrets++;
}

void hc_log_clear_secrets(void)
{
	for (size_t i = 0; i < nsecrets; i++)
		free(secrets[i]);
	free(secrets);
	secrets = NULL;
	nsecrets = 0;
}

char *hc_log_mask(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	if (!outlen)
		return out;
	while (*in && o + 1 < outlen) {
		size_t hit = 0;

		for (size_t i = 0; i < nsecrets && !hit; i++)
			if (strncmp(in, secrets[i], strlen(secrets[i])) == 0)
				hit = strlen(secrets[i]);
		if (hit) {
			for (const char *m = "***"; *m && o + 1 < outlen; m++)
				out[o++] = *m;
			in += hit;
		} else {
			out[o++] = *in++;
		}
	}
	out[o] = 0;
	return out;
}

static int progress_shown;

void hc_log_progress_shown(void)
{
	progress_shown = 1;
}

void hc_log_raw(const char *line)
{
	char masked[2048];

	hc_log_mask(line, masked, sizeof(masked));
	/* One event, one line: a newline inside a value from a file or the
	 * network must not be able to forge a second log line. */
	for (unsigned char *p = (unsigned char *)masked; *p; p++)
		if (*p < 0x20 && *p != '\t')
			*p = '?';
	/* a progress line (engine.c) is cleared first, and redrawn later */
	fprintf(stderr, "%s%s\n", progress_shown ? "\r\033[K" : "", masked);
	progress_shown = 0;
}

void hc_logv(const char *who, hlb_log_level level, const char *fmt, va_list ap)
{
	char *msg = NULL, *line = NULL;
	struct timeval tv;
	struct tm tm;

	if (level > current)
		return;
	/* Formatted whole and masked before any cut, so that no secret can
	 * escape the mask by straddling the cut. */
	if (vasprintf(&msg, fmt, ap) < 0)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	if (asprintf(&line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s%s%s%s",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     (long)(tv.tv_usec / 1000), level_names[level],
		     who ? "[" : "", who ? who : "", who ? "] " : "", msg) >= 0)
		hc_log_raw(line);
	free(line);
	free(msg);
}

void hc_log(const char *who, hlb_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	hc_logv(who, level, fmt, ap);
	va_end(ap);
}
