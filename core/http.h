/* HTTP service on the loop's curl multi handle (hlb_host http_*). */
#ifndef HC_HTTP_H
#define HC_HTTP_H

#include "hlbridge/host.h"
#include "loop.h"

typedef struct hc_http hc_http;

hc_http *hc_http_new(hc_loop *loop, const char *version);
/* Cancels whatever is still in flight (no callbacks), and logs what quota
 * pacing did if any request was paced. */
void hc_http_free(hc_http *svc);
struct hc_metrics;
/* Counts requests (by host and status class), 429s and the quota the API
 * says is left into m (NULL: stop counting). */
void hc_http_set_metrics(hc_http *svc, struct hc_metrics *m);
/* Transfers not ended yet: in curl, or waiting for a quota token. */
size_t hc_http_active(const hc_http *svc);
/* The most transfers handed to curl at one time. */
size_t hc_http_peak_inflight(const hc_http *svc);

/* Declares the quota of a pacing key: max_requests per interval_ms (see
 * pace.h). HLB_OK, HLB_EINVAL or HLB_ENOMEM. Requests whose hlb_http_request
 * names a key nobody declared are paced only once a response announces
 * the limit (X-RateLimit-Max). */
int hc_http_pace_configure(hc_http *svc, const char *key, uint32_t max_requests, int64_t interval_ms);
/* Holds requests with this key for delay_ms (at least 1 s): host->pace_block. */
int hc_http_pace_block(hc_http *svc, const char *key, int64_t delay_ms);

typedef struct hc_http_pace_totals {
	size_t keys;          /* buckets counted */
	size_t waiting;       /* requests queued for a token now */
	uint64_t taken;       /* requests let through */
	uint64_t waited;      /* requests that had to queue */
	uint64_t s429, s429_daily;
	uint64_t corrected;   /* tokens spent on the server's count */
	/* one key only: */
	uint32_t max;         /* 0: no limit known */
	int64_t interval_ms;
	uint32_t available;   /* tokens free now */
} hc_http_pace_totals;

/* One key's bucket (-1 if there is none), or with key NULL the sum over
 * every bucket, those dropped while idle included. */
int hc_http_pace_get(const hc_http *svc, const char *key, hc_http_pace_totals *out);

hlb_http *hc_http_request(hc_http *svc, const char *who, const hlb_http_request *req,
			  hlb_http_cb cb, void *arg);
void hc_http_cancel(hlb_http *http);
/* Backpressure: an answer to a transfer with an owner is taken in (its
 * quota bucket corrected) but its callback waits while hold(owner) says
 * so, until hc_http_wake finds it free. The engine holds a source whose
 * sinks are full, so that a poll's next pages wait as raw bytes rather
 * than as records. */
void hc_http_hold(hc_http *svc, int (*hold)(void *owner));
void hc_http_set_owner(hlb_http *http, void *owner);
/* Room may have come: held answers go from the loop, at its next turn. */
void hc_http_wake(hc_http *svc);
int hc_http_result(const hlb_http_response *resp);
long hc_http_status(const hlb_http_response *resp);
/* The value is valid until the next call (the loop is single-threaded). */
const char *hc_http_header(const hlb_http_response *resp, const char *name);
const char *hc_http_body(const hlb_http_response *resp, size_t *len);
const char *hc_http_error(const hlb_http_response *resp);

#endif
