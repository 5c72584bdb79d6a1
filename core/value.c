#include "value.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int hc_parse_int(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || *end || errno)
		return -1;
	*out = v;
	return 0;
}

int hc_parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "1", "on", "yes", "true" };
	static const char *const no[] = { "0", "off", "no", "false" };

	for (int i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return *out = 1, 0;
		if (strcasecmp(s, no[i]) == 0)
			return *out = 0, 0;
	}
	return -1;
}

/* DIGITS[.DIGITS][UNIT], in exact decimal arithmetic: with doubles, "4.35m"
 * came out as 260999 ms, and "1e3" or "0x10" were taken as numbers. */
int hc_parse_duration_ms(const char *s, int64_t *out)
{
	static const struct { const char *unit; int64_t ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "d", 86400000 }, { "", 1000 }
	};
	const int64_t max = 9000000000000000; /* about 285,000 years */
	int64_t whole = 0, frac = 0, scale = 1;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		if (whole > (max - 9) / 10)
			return -1;
		whole = whole * 10 + (*p - '0');
	}
	if (*p == '.') {
		if (!isdigit((unsigned char)*++p))
			return -1;
		/* 11 decimals reach below a microsecond even in days; more
		 * are read but ignored */
		for (; isdigit((unsigned char)*p); p++)
			if (scale < 100000000000) {
				frac = frac * 10 + (*p - '0');
				scale *= 10;
			}
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(p, units[i].unit) == 0) {
			int64_t ms = units[i].ms;

			if (whole > max / ms)
				return -1;
			/* frac < scale <= 10^11 and ms <= 8.64 * 10^7: no overflow */
			*out = whole * ms + frac * ms / scale;
			return 0;
		}
	return -1;
}

int hc_in_choices(const char *choices, const char *value)
{
	size_t n = strlen(value);

	for (const char *p = choices; p && *p;) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);

		if (len == n && strncmp(p, value, n) == 0)
			return 1;
		p = bar ? bar + 1 : NULL;
	}
	return 0;
}

int hc_check_value(const hlb_option *opt, const char *value, char *err, size_t errlen)
{
	int64_t i;
	int b;

	switch (opt->type) {
	case HLB_OPT_INT:
		if (hc_parse_int(value, &i) == 0)
			return 0;
		snprintf(err, errlen, "expected an integer");
		return -1;
	case HLB_OPT_BOOL:
		if (hc_parse_bool(value, &b) == 0)
			return 0;
		snprintf(err, errlen, "expected on/off, yes/no, true/false or 1/0");
		return -1;
	case HLB_OPT_DURATION:
		if (hc_parse_duration_ms(value, &i) == 0)
			return 0;
		snprintf(err, errlen, "expected a duration such as 250ms, 30s, 5m, 2h or 1d");
		return -1;
	case HLB_OPT_ENUM:
		if (hc_in_choices(opt->choices, value))
			return 0;
		snprintf(err, errlen, "expected one of %s", opt->choices ? opt->choices : "(none)");
		return -1;
	case HLB_OPT_PATH:
	case HLB_OPT_JSONPATH:
	case HLB_OPT_AUTH:
		if (*value)
			return 0;
		snprintf(err, errlen, "expected a %s", opt->type == HLB_OPT_PATH ? "file name"
			 : opt->type == HLB_OPT_AUTH ? "name of an [auth:NAME] section" : "$.path");
		return -1;
	case HLB_OPT_STRING:
	case HLB_OPT_LIST:
		return 0;
	}
	snprintf(err, errlen, "unknown option type");
	return -1;
}

size_t hc_list_each(const char *list, void (*fn)(const char *item, size_t len, void *arg), void *arg)
{
	size_t n = 0;
	const char *p = list;

	while (p && *p) {
		const char *comma = strchr(p, ',');
		const char *end = comma ? comma : p + strlen(p);
		const char *a = p, *b = end;

		while (a < b && isspace((unsigned char)*a))
			a++;
		while (b > a && isspace((unsigned char)b[-1]))
			b--;
		if (b > a) {
			if (fn)
				fn(a, (size_t)(b - a), arg);
			n++;
		}
		p = comma ? comma + 1 : NULL;
	}
	return n;
}

const char *hc_opt_type_name(hlb_opt_type type)
{
	static const char *const names[] = {
		"string", "int", "bool", "duration", "list", "enum", "path", "jsonpath", "auth"
	};

	return (unsigned)type < sizeof(names) / sizeof(names[0]) ? names[type] : "?";
}
