#include "retry.h"

#include <ctype.h>
#include <stdlib.h>
#include <curl/curl.h>

/* Longer waits than this are taken as a broken header, not as intent. */
#define RETRY_AFTER_CAP_MS (7LL * 24 * 3600 * 1000)

int64_t hc_retry_delay_ms(const hc_retry_policy *p, unsigned attempt, uint32_t random,
			  int64_t retry_after_ms)
{
	int64_t ceiling = p->base_ms;

	if (retry_after_ms > 0)
		return retry_after_ms;
	for (unsigned i = 1; i < attempt && ceiling < p->max_ms; i++)
		ceiling *= 2;
	if (ceiling > p->max_ms)
		ceiling = p->max_ms;
	if (ceiling <= 0)
		return 0;
	return (int64_t)((uint64_t)random % ((uint64_t)ceiling + 1));
}

int64_t hc_retry_after_ms(const char *value, int64_t now)
{
	const char *p = value;
	int64_t secs = 0;

	if (!value)
		return -1;
	while (*p == ' ' || *p == '\t')
		p++;
	if (isdigit((unsigned char)*p)) {
		while (isdigit((unsigned char)*p)) {
			secs = secs * 10 + (*p++ - '0');
			if (secs * 1000 > RETRY_AFTER_CAP_MS)
				return RETRY_AFTER_CAP_MS;
		}
		while (*p == ' ' || *p == '\t')
			p++;
		return *p ? -1 : secs * 1000;
	}
	time_t when = curl_getdate(p, NULL);
	if (when == (time_t)-1)
		return -1;
	if ((int64_t)when <= now)
		return 0;
	secs = (int64_t)when - now;
	return secs * 1000 > RETRY_AFTER_CAP_MS ? RETRY_AFTER_CAP_MS : secs * 1000;
}
