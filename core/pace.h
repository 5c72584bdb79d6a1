/* Quota pacing: one bucket per pacing key (say "ghl:<client>:<location>"),
 * so that hlbridge stays inside an API's request quota instead of learning
 * it from 429s.
 *
 * A bucket holds `max` tokens. A request spends one; the token comes back
 * one interval (plus a small margin) after the request's answer arrived:
 * the server counted the request by then, however long it sat in queues
 * on either side, so its window has let go of it when the token is spent
 * again. That is a token bucket whose refill follows the requests it paid
 * for rather than a clock: in steady use it refills at max per interval
 * (less the time an answer takes) like any token bucket, but it never
 * lets more than `max` requests out in any window of one interval. A
 * bucket refilled continuously would allow up to 2 * max in the interval
 * after a full burst, which a server counting requests in a window (GHL's
 * X-RateLimit-Remaining is "remaining requests in the current burst
 * window") answers with 429s.
 *
 * Spent tokens are kept as a queue of (due time, count), merged when they
 * fall due within 1/256 of an interval of each other, so a bucket's memory
 * stays small whatever `max` is.
 *
 * Nothing here reads a clock: every call takes `now` (monotonic ms), so the
 * unit tests run the arithmetic without waiting. */
#ifndef HC_PACE_H
#define HC_PACE_H

#include <stdint.h>

typedef struct hc_pace hc_pace;

/* Sanity bounds for configured values and for what a server announces. */
#define HC_PACE_MAX_REQUESTS 1000000u
#define HC_PACE_MAX_INTERVAL_MS (7LL * 24 * 3600 * 1000)
/* How long a bucket waits after the daily quota ran out when the server
 * does not say (Retry-After). */
#define HC_PACE_DAILY_WAIT_MS (3600LL * 1000)
/* How long a 429 blocks a bucket that knows no interval and got no
 * Retry-After. */
#define HC_PACE_DEFAULT_BLOCK_MS 1000

/* What one response said about the quota: -1 where the header was absent
 * or not a whole number. */
typedef struct hc_pace_obs {
	long status;
	int64_t max;             /* X-RateLimit-Max */
	int64_t interval_ms;     /* X-RateLimit-Interval-Milliseconds */
	int64_t remaining;       /* X-RateLimit-Remaining */
	int64_t daily_remaining; /* X-RateLimit-Daily-Remaining */
	int64_t retry_after_ms;  /* Retry-After, parsed */
	int64_t extra_cost;      /* X-RateLimit-Additional-Cost (Octorate) */
} hc_pace_obs;

#define HC_PACE_OBS_NONE { 0, -1, -1, -1, -1, -1, -1 }

/* What hc_pace_observe did that deserves a log line: each is reported once
 * per episode, not once per response. */
enum {
	HC_PACE_RESIZED = 1,   /* the server announced another max or interval */
	HC_PACE_BURST_429 = 2, /* the first 429 of a burst episode */
	HC_PACE_DAILY = 4,     /* the daily quota ran out: the bucket is parked */
};

/* What the bucket held when a request took its token, so that the answer
 * to that request is compared with what the server could have counted
 * then, not with the bucket later: by the time the answer is read, tokens
 * the server still counted may be back in the bucket. */
typedef struct hc_pace_ticket {
	uint64_t used;  /* tokens out just after this one was taken */
	uint64_t spent; /* the bucket's running total of tokens spent */
	int64_t due;    /* when the token comes back; 0: none recorded */
} hc_pace_ticket;

typedef struct hc_pace_stats {
	uint64_t taken;      /* tokens spent (requests let through) */
	uint64_t s429;       /* responses 429, daily ones included */
	uint64_t s429_daily; /* of which the daily quota */
	uint64_t corrected;  /* tokens spent on the server's word (Remaining) */
} hc_pace_stats;

/* A bucket without a limit: every take succeeds until a configuration or
 * a response gives it one. NULL when out of memory. */
hc_pace *hc_pace_new(void);
void hc_pace_free(hc_pace *p);

/* Sets the limit the connector declared: max requests per interval_ms.
 * Declaring the same values again changes nothing, so a limit the server
 * announced since (X-RateLimit-Max) stays in force. -1 on values out of
 * bounds, 1 when the limit changed, else 0. */
int hc_pace_configure(hc_pace *p, uint32_t max, int64_t interval_ms);

/* Spends a token: 0 when one was free (the request may go; *ticket, if
 * given, is filled in), else the milliseconds until one may be (at least
 * 1), with nothing spent. */
int64_t hc_pace_take(hc_pace *p, int64_t now, hc_pace_ticket *ticket);

/* Tells that the request that took `ticket` got its answer (or gave up)
 * at `done_at`: its token comes back one interval and the margin after
 * that rather than after the take. Until then it is due one interval and
 * the margin after the take, in case no answer ever comes. */
void hc_pace_done(hc_pace *p, const hc_pace_ticket *ticket, int64_t done_at);

/* Corrects the bucket from a response (see hc_pace_obs) to the request
 * that took `ticket` (NULL: compare with the bucket as it is now); returns
 * HC_PACE_* flags for what should be logged. */
unsigned hc_pace_observe(hc_pace *p, int64_t now, const hc_pace_obs *o, const hc_pace_ticket *ticket);

/* Holds every request until `until`, as a 429 would: for APIs whose quota
 * signal is not a 429 (Octorate's 403 ApiQuotaException), which only the
 * connector can recognise. */
void hc_pace_block(hc_pace *p, int64_t until);

/* Tokens free now (UINT32_MAX without a limit; 0 while blocked). */
uint32_t hc_pace_available(hc_pace *p, int64_t now);
/* The effective limit: 0 without one. */
uint32_t hc_pace_max(const hc_pace *p);
int64_t hc_pace_interval(const hc_pace *p);
/* Until when a 429 or the daily quota holds every request; 0 if never. */
int64_t hc_pace_blocked_until(const hc_pace *p);
/* True when the bucket remembers nothing a fresh one would not: no spent
 * token still out, no block. Such a bucket may be dropped. */
int hc_pace_idle(hc_pace *p, int64_t now);
const hc_pace_stats *hc_pace_get_stats(const hc_pace *p);

#endif
