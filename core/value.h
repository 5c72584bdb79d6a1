/* Parsing of option values by declared type. One place, used by validation
 * (to reject bad values with their line) and by the typed host getters. */
#ifndef HC_VALUE_H
#define HC_VALUE_H

#include <stddef.h>
#include <stdint.h>
#include "hlbridge/plugin.h"

int hc_parse_int(const char *s, int64_t *out);
int hc_parse_bool(const char *s, int *out);
/* "250ms", "30s", "5m", "2h", "1d", or a bare number of seconds. */
int hc_parse_duration_ms(const char *s, int64_t *out);
/* Checks `value` against an option's type; on failure writes what is
 * expected into err (never the value itself: it may be secret). */
/* True when value is one of the "|"-separated words of choices. */
int hc_in_choices(const char *choices, const char *value);
int hc_check_value(const hlb_option *opt, const char *value, char *err, size_t errlen);
/* Splits a comma list in place-independent fashion: calls fn for each
 * trimmed, non-empty item. Returns the number of items. */
size_t hc_list_each(const char *list, void (*fn)(const char *item, size_t len, void *arg), void *arg);
const char *hc_opt_type_name(hlb_opt_type type);

#endif
