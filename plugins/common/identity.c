/* See identity.h. Numbers are normalised by rule, not validated against
 * numbering plans: the aim is that the same person's number written two
 * ways becomes one string, not that every string is a dialable number. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "identity.h"

#define E164_MAX_DIGITS 15
/* The shortest numbers in use (Niue, Saint Helena) have 4 or 5 digits
 * after a 3-digit code; fewer is a typo or an extension. */
#define E164_MIN_DIGITS 7
#define EMAIL_MAX 254

/* A region, its calling code, and the national trunk prefix dropped
 * before the calling code is put in front ("" where the country has
 * none, as Italy, whose leading 0 is part of a landline number). */
struct region {
	char iso[3];
	char code[4];
	char trunk[3];
};

static const struct region regions[] = {
	{ "AD", "376", "" },   { "AE", "971", "0" },  { "AL", "355", "0" },  { "AR", "54", "0" },
	{ "AT", "43", "0" },   { "AU", "61", "0" },   { "BA", "387", "0" },  { "BE", "32", "0" },
	{ "BG", "359", "0" },  { "BR", "55", "0" },   { "BY", "375", "8" },  { "CA", "1", "1" },
	{ "CH", "41", "0" },   { "CL", "56", "" },    { "CN", "86", "0" },   { "CO", "57", "" },
	{ "CY", "357", "" },   { "CZ", "420", "" },   { "DE", "49", "0" },   { "DK", "45", "" },
	{ "EE", "372", "" },   { "EG", "20", "0" },   { "ES", "34", "" },    { "FI", "358", "0" },
	{ "FR", "33", "0" },   { "GB", "44", "0" },   { "GI", "350", "" },   { "GR", "30", "" },
	{ "HK", "852", "" },   { "HR", "385", "0" },  { "HU", "36", "06" },  { "ID", "62", "0" },
	{ "IE", "353", "0" },  { "IL", "972", "0" },  { "IN", "91", "0" },   { "IS", "354", "" },
	{ "IT", "39", "" },    { "JP", "81", "0" },   { "KE", "254", "0" },  { "KR", "82", "0" },
	{ "KZ", "7", "8" },    { "LI", "423", "" },   { "LT", "370", "8" },  { "LU", "352", "" },
	{ "LV", "371", "" },   { "MA", "212", "0" },  { "MC", "377", "" },   { "MD", "373", "0" },
	{ "ME", "382", "0" },  { "MK", "389", "0" },  { "MT", "356", "" },   { "MX", "52", "" },
	{ "MY", "60", "0" },   { "NG", "234", "0" },  { "NL", "31", "0" },   { "NO", "47", "" },
	{ "NZ", "64", "0" },   { "PE", "51", "0" },   { "PH", "63", "0" },   { "PK", "92", "0" },
	{ "PL", "48", "" },    { "PT", "351", "" },   { "RO", "40", "0" },   { "RS", "381", "0" },
	{ "RU", "7", "8" },    { "SA", "966", "0" },  { "SE", "46", "0" },   { "SG", "65", "" },
	{ "SI", "386", "0" },  { "SK", "421", "0" },  { "SM", "378", "" },   { "TH", "66", "0" },
	{ "TN", "216", "" },   { "TR", "90", "0" },   { "TW", "886", "0" },  { "UA", "380", "0" },
	{ "US", "1", "1" },    { "UY", "598", "0" },  { "VA", "39", "" },    { "VE", "58", "0" },
	{ "VN", "84", "0" },   { "ZA", "27", "0" },
};

static const struct region *region_find(const char *iso)
{
	if (!iso || strlen(iso) != 2)
		return NULL;
	for (size_t i = 0; i < sizeof(regions) / sizeof(regions[0]); i++)
		if (strcasecmp(regions[i].iso, iso) == 0)
			return &regions[i];
	return NULL;
}

int identity_region_known(const char *region)
{
	return region_find(region) != NULL;
}

int identity_email(const char *in, char *out, size_t len)
{
	const char *end, *at = NULL;
	size_t n = 0;

	if (out && len)
		*out = 0;
	if (!in || !out || !len)
		return -1;
	while (isspace((unsigned char)*in))
		in++;
	end = in + strlen(in);
	while (end > in && isspace((unsigned char)end[-1]))
		end--;
	if ((size_t)(end - in) >= len || end - in > EMAIL_MAX)
		return -1;
	for (const char *p = in; p < end; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch <= ' ' || ch == 0x7f || ch == ',' || ch == ';' || ch == '<' || ch == '>')
			goto bad;
		if (ch == '@') {
			if (at)
				goto bad;
			at = p;
		}
		out[n++] = (char)tolower(ch);
	}
	out[n] = 0;
	/* a local part, and a domain with a dot that neither starts nor ends it */
	if (!at || at == in || at + 1 == end || !memchr(at + 1, '.', (size_t)(end - at - 1)) ||
	    at[1] == '.' || end[-1] == '.')
		goto bad;
	return 0;
bad:
	*out = 0;
	return -1;
}

/* The digits of `in` after an optional international prefix: separators
 * (blanks, - . / and parentheses) dropped, "(0)" in an international
 * number dropped (the "+44 (0)20 ..." way of showing the trunk prefix).
 * *intl tells whether the number started with + or 00. -1 for anything
 * else in the text, or too many digits. */
static int digits_of(const char *in, char *digits, size_t cap, int *intl)
{
	size_t n = 0;
	const char *p = in;

	while (isspace((unsigned char)*p))
		p++;
	*intl = 0;
	if (*p == '+') {
		*intl = 1;
		p++;
	} else if (p[0] == '0' && p[1] == '0') {
		*intl = 1;
		p += 2;
	}
	for (; *p; p++) {
		if (isdigit((unsigned char)*p)) {
			if (n + 1 >= cap)
				return -1;
			digits[n++] = *p;
		} else if (*intl && strncmp(p, "(0)", 3) == 0) {
			p += 2;
		} else if (!strchr(" \t-./()", *p)) {
			return -1;
		}
	}
	digits[n] = 0;
	return (int)n;
}

int identity_phone(const char *in, const char *region, char *out, size_t len)
{
	char digits[E164_MAX_DIGITS + 8], e164[sizeof(digits) + 8]; /* lengths checked below */
	const struct region *r = region_find(region);
	const char *national;
	int intl, n;

	if (out && len)
		*out = 0;
	if (!in || !out || !len)
		return -1;
	n = digits_of(in, digits, sizeof(digits), &intl);
	if (n <= 0)
		return -1;
	if (intl) {
		if (digits[0] == '0' || n > E164_MAX_DIGITS)
			return -1; /* no calling code starts with 0 */
		snprintf(e164, sizeof(e164), "+%s", digits);
	} else {
		size_t tl;

		if (!r)
			return -1;
		national = digits;
		tl = strlen(r->trunk);
		/* NANP's trunk 1 only in front of a full 10-digit number */
		if (tl && strncmp(national, r->trunk, tl) == 0 &&
		    (strcmp(r->trunk, "1") != 0 || strlen(national) == 11))
			national += tl;
		if (!*national || (*national == '0' && tl) ||
		    strlen(r->code) + strlen(national) > E164_MAX_DIGITS)
			return -1;
		if (strcmp(r->code, "1") == 0 && strlen(national) != 10)
			return -1; /* NANP: area code and 7 digits, always */
		snprintf(e164, sizeof(e164), "+%s%s", r->code, national);
	}
	if (strlen(e164) - 1 < E164_MIN_DIGITS || strlen(e164) >= len)
		return -1;
	memcpy(out, e164, strlen(e164) + 1);
	return 0;
}
