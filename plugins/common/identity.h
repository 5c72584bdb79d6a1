/* Contact identity for matching people across systems: e-mail and phone
 * numbers normalised the same way on both sides before they are compared
 * or sent, so that "Guest.1@Example.COM " and "guest.1@example.com", or
 * "333 123 4567" and "+39 333-123-4567", are one person. */
#ifndef HLB_COMMON_IDENTITY_H
#define HLB_COMMON_IDENTITY_H

#include <stddef.h>

/* Trimmed and lower-cased; 0, or -1 (out empty) when the result is not a
 * plausible address (no '@', spaces inside) or does not fit in `len`. */
int identity_email(const char *in, char *out, size_t len);

/* E.164 ("+393331234567"): separators dropped, "00" read as "+", a national
 * number prefixed with the calling code of `region` (ISO 3166 alpha-2,
 * "IT"; NULL or unknown: only numbers already international are
 * accepted), the trunk prefix 0 dropped where the country uses one.
 * 0, or -1 (out empty) when no valid number results. */
int identity_phone(const char *in, const char *region, char *out, size_t len);

/* 1 when `region` is a known ISO country code, else 0 (for option checks). */
int identity_region_known(const char *region);

#endif
