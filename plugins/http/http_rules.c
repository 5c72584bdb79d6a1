/* The http sink's host-free rules: URL checks, verdicts, safe text. */
#include "http_rules.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Length of the scheme prefix ("http://" or "https://"), or 0. */
static size_t scheme_len(const char *url)
{
	if (strncasecmp(url, "http://", 7) == 0)
		return 7;
	if (strncasecmp(url, "https://", 8) == 0)
		return 8;
	return 0;
}

int hsink_url_check(const char *url, char *err, size_t errlen)
{
	size_t skip = scheme_len(url);
	const char *auth, *end, *host, *at, *port = NULL;

	if (!skip) {
		snprintf(err, errlen, "must start with http:// or https://");
		return -1;
	}
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			snprintf(err, errlen, "must not contain spaces or control characters");
			return -1;
		}
	auth = url + skip;
	end = auth + strcspn(auth, "/?#");
	host = auth;
	for (at = auth; at < end; at++)
		if (*at == '@')
			host = at + 1;
	if (host < end && *host == '[') {
		const char *close = memchr(host, ']', (size_t)(end - host));

		if (!close || close == host + 1) {
			snprintf(err, errlen, "has an IPv6 address without its closing ]");
			return -1;
		}
		if (close + 1 < end && close[1] != ':') {
			snprintf(err, errlen, "has text after the IPv6 address");
			return -1;
		}
		if (close + 1 < end)
			port = close + 2;
	} else {
		const char *colon = memchr(host, ':', (size_t)(end - host));

		if (colon == host || host == end) {
			snprintf(err, errlen, "has no host name");
			return -1;
		}
		if (colon)
			port = colon + 1;
	}
	if (port) {
		unsigned long v = 0;

		if (port == end) {
			snprintf(err, errlen, "has an empty port after ':'");
			return -1;
		}
		for (const char *p = port; p < end; p++) {
			if (!isdigit((unsigned char)*p) || (v = v * 10 + (unsigned long)(*p - '0')) > 65535) {
				snprintf(err, errlen, "has a port that is not a number from 1 to 65535");
				return -1;
			}
		}
		if (v == 0) {
			snprintf(err, errlen, "has a port that is not a number from 1 to 65535");
			return -1;
		}
	}
	return 0;
}

void hsink_url_display(const char *url, char *out, size_t outlen)
{
	size_t skip = scheme_len(url);
	const char *auth = url + skip, *end, *host = auth, *path, *query;

	end = auth + strcspn(auth, "/?#");
	for (const char *p = auth; p < end; p++)
		if (*p == '@')
			host = p + 1;
	path = end;
	query = path + strcspn(path, "?#");
	snprintf(out, outlen, "%.*s%.*s%.*s%s", (int)skip, url, (int)(end - host), host, (int)(query - path),
		 path, *query == '?' ? "?..." : "");
}

int hsink_status_counts(int result, long status)
{
	return status >= 100 && (result == HLB_OK || result == HLB_ETOOBIG);
}

hlb_verdict hsink_verdict(int result, long status)
{
	/* No whole status line: a timeout, a refused or dropped connection,
	 * a truncated answer. The request may or may not have been applied;
	 * the idempotency key makes trying again safe. */
	if (!hsink_status_counts(result, status))
		return HLB_RETRY;
	if (status >= 200 && status < 300)
		return HLB_DONE;
	if (status == 408 || status == 429 || status >= 500 || status < 200)
		return HLB_RETRY;
	/* Other 4xx will not change by asking again; 3xx is a wrong url,
	 * since following a redirect could resend a body to another host. */
	return HLB_FAILED;
}

void hsink_sanitize(const char *in, size_t len, size_t max, char *out, size_t outlen)
{
	size_t n = len < max ? len : max, o = 0;

	if (!outlen)
		return;
	if (n < len)
		/* Back off to the start of a UTF-8 sequence cut by the limit. */
		while (n > 0 && ((unsigned char)in[n] & 0xC0) == 0x80)
			n--;
	for (size_t i = 0; i < n && o + 1 < outlen; i++) {
		unsigned char c = (unsigned char)in[i];

		out[o++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	/* Trailing blanks (a body's final newline) say nothing. */
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = 0;
}

int hsink_header_name_ok(const char *name)
{
	if (!*name)
		return 0;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("!#$%&'*+-.^_`|~", *p))
			return 0;
	return 1;
}

uint64_t hsink_fnv1a(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	return h;
}

size_t hsink_key_escape(const char *key, int in_list, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0, w = 0; /* needed, written */

	for (const char *p = key; *p; p++) {
		unsigned char c = (unsigned char)*p;
		char e[3] = { (char)c, 0, 0 };
		size_t n = 1;

		if (c < 0x20 || c == 0x7f || (in_list && c == ',')) {
			e[0] = '%';
			e[1] = hex[c >> 4];
			e[2] = hex[c & 15];
			n = 3;
		}
		/* Once a piece does not fit, nothing after it is written. */
		if (w == o && o + n < outlen) {
			memcpy(out + w, e, n);
			w += n;
		}
		o += n;
	}
	if (outlen)
		out[w] = 0;
	return o;
}
