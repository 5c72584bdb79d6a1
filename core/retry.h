/* When to try a record again: capped exponential backoff with full jitter,
 * unless the destination said when (Retry-After). */
#ifndef HC_RETRY_H
#define HC_RETRY_H

#include <stdint.h>

typedef struct hc_retry_policy {
	int64_t base_ms;   /* first backoff ceiling */
	int64_t max_ms;    /* cap of every ceiling */
	int64_t limit;     /* retries after the first attempt; 0: none */
} hc_retry_policy;

/* The wait before retry number `attempt` (1 for the first retry): a
 * uniformly random value in [0, min(max, base * 2^(attempt-1))], drawn
 * from `random`. A positive `retry_after_ms` is used as it is. */
int64_t hc_retry_delay_ms(const hc_retry_policy *p, unsigned attempt, uint32_t random,
			  int64_t retry_after_ms);
/* Milliseconds from `now` (seconds since the epoch) until a Retry-After
 * value: delay-seconds or an HTTP date (past dates give 0); -1 when the
 * value is neither. */
int64_t hc_retry_after_ms(const char *value, int64_t now);

#endif
