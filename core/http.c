/* The asynchronous HTTP service plugins reach through hlb_host. Bodies and
 * headers from the network are held in buffers with a cap, like curl's own
 * dynbuf: a server cannot make hlbridge allocate without bound.
 *
 * Quota pacing: a request with a pace key spends a token of that key's
 * bucket (pace.c) before curl sees it. Without a token it waits in the
 * bucket's queue, first come first served, and one loop timer per bucket
 * lets it go when the next token is due. Every response to a paced request
 * corrects its bucket from the X-RateLimit-* headers and 429s. */
#include "http.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "metrics.h"
#include "pace.h"
#include "record.h"
#include "retry.h"

#define HEADER_CAP (64 * 1024)
#define DEFAULT_BODY_CAP (8u << 20)
#define DEFAULT_TIMEOUT_MS 30000
#define PACE_KEY_CAP 512     /* longer pace keys are cut */
#define SWEEP_MIN 4096       /* buckets kept before idle ones are dropped */

struct buf {
	char *data;
	size_t len, cap, limit;
	int overflow;
};

struct hlb_http {
	hc_http *svc;
	CURL *easy;
	struct curl_slist *headers;
	hlb_http_cb cb;
	void *arg;
	char *who;
	struct buf body, head;
	char errbuf[CURL_ERROR_SIZE];
	struct hlb_http *prev, *next;
	int in_callback;   /* its callback runs: cancel must not free it */
	struct bucket *bucket;         /* NULL: not paced */
	hc_pace_ticket ticket;         /* the bucket when it took its token */
	int waiting;                   /* in its bucket's queue, not in curl */
	struct hlb_http *wnext, *wprev; /* the bucket's queue */
	void *owner;                   /* whose answers may be held (hc_http_hold) */
	int held;                      /* answered; its callback waits */
	int result;                    /* what on_done found, for a held answer */
	long status;
	const char *error;
	struct hlb_http *hnext;        /* the held answers, in arrival order */
};

/* A pacing key: its bucket and the transfers waiting for a token. */
struct bucket {
	hc_http *svc;
	char *key;
	hc_pace *pace;
	struct hlb_http *whead, *wtail;
	hlb_timer *timer;  /* due when the queue's head may go */
	int64_t timer_due;
	size_t inflight;   /* handed to curl, not answered yet */
	int pinned;        /* in use up the stack: the sweep must keep it */
	int pumping;       /* pump() runs: it sets the timer when done */
	uint64_t waited;   /* requests that had to queue */
	struct bucket *next; /* hash chain */
};

struct hlb_http_response {
	int result;
	long status;
	const struct hlb_http *t;
	const char *error;
};

struct hc_http {
	hc_loop *loop;
	struct hlb_http *active;
	char user_agent[64];
	size_t inflight, peak_inflight; /* transfers handed to curl */
	struct bucket **table;          /* pacing buckets by key */
	size_t nbuckets, tsize, sweep_at;
	hc_http_pace_totals gone;       /* of buckets dropped while idle */
	int (*hold)(void *owner);       /* answers to hold back, for now */
	struct hlb_http *held;          /* answers held back, oldest first */
	hlb_timer *release_timer;
	hc_metrics *metrics;            /* NULL: none */
};

static int buf_add(struct buf *b, const char *data, size_t n)
{
	if (b->len + n + 1 > b->limit) {
		b->overflow = 1;
		return -1;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		char *d;

		while (cap < b->len + n + 1)
			cap *= 2;
		if (cap > b->limit)
			cap = b->limit;
		d = realloc(b->data, cap);
		if (!d)
			return -1;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = 0;
	return 0;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct hlb_http *t = arg;
	size_t n = size * nmemb;

	/* Returning less than n makes curl abort with CURLE_WRITE_ERROR. */
	return buf_add(&t->body, ptr, n) == 0 ? n : 0;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct hlb_http *t = arg;
	size_t n = size * nmemb;

	/* A redirect or 100-continue starts a new header block. */
	if (n > 5 && strncmp(ptr, "HTTP/", 5) == 0)
		t->head.len = 0;
	return buf_add(&t->head, ptr, n) == 0 ? n : 0;
}

static void unlink_transfer(struct hlb_http *t)
{
	if (t->prev)
		t->prev->next = t->next;
	else
		t->svc->active = t->next;
	if (t->next)
		t->next->prev = t->prev;
}

static void free_transfer(struct hlb_http *t)
{
	curl_easy_cleanup(t->easy);
	curl_slist_free_all(t->headers);
	free(t->body.data);
	free(t->head.data);
	free(t->who);
	free(t);
}

static int map_result(CURLcode rc, const struct hlb_http *t)
{
	if (rc == CURLE_OK)
		return HLB_OK;
	if (rc == CURLE_WRITE_ERROR && (t->body.overflow || t->head.overflow))
		return HLB_ETOOBIG;
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return HLB_ETIMEDOUT;
	if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
	    rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR || rc == CURLE_GOT_NOTHING ||
	    rc == CURLE_PARTIAL_FILE || rc == CURLE_SSL_CONNECT_ERROR)
		return HLB_ECONN;
	return HLB_EHTTP;
}

/* ---- pacing buckets ----------------------------------------------------- */

static size_t key_hash(const char *k)
{
	uint64_t h = 14695981039346656037ull;

	for (; *k; k++) {
		h ^= (unsigned char)*k;
		h *= 1099511628211ull;
	}
	return (size_t)h;
}

/* Keys longer than PACE_KEY_CAP are cut, the same way for every lookup. */
static const char *cut_key(const char *key, char *buf)
{
	size_t len = strlen(key);

	if (len <= PACE_KEY_CAP)
		return key;
	memcpy(buf, key, PACE_KEY_CAP);
	buf[PACE_KEY_CAP] = 0;
	return buf;
}

static struct bucket *bucket_find(const hc_http *svc, const char *key)
{
	if (!svc->tsize)
		return NULL;
	for (struct bucket *b = svc->table[key_hash(key) & (svc->tsize - 1)]; b; b = b->next)
		if (strcmp(b->key, key) == 0)
			return b;
	return NULL;
}

static int table_grow(hc_http *svc)
{
	size_t size = svc->tsize ? svc->tsize * 2 : 64;
	struct bucket **t = calloc(size, sizeof(*t));

	if (!t)
		return -1;
	for (size_t i = 0; i < svc->tsize; i++)
		for (struct bucket *b = svc->table[i], *next; b; b = next) {
			size_t slot = key_hash(b->key) & (size - 1);

			next = b->next;
			b->next = t[slot];
			t[slot] = b;
		}
	free(svc->table);
	svc->table = t;
	svc->tsize = size;
	return 0;
}

static void add_totals(hc_http_pace_totals *to, const struct bucket *b)
{
	const hc_pace_stats *st = hc_pace_get_stats(b->pace);

	to->keys++;
	to->taken += st->taken;
	to->waited += b->waited;
	to->s429 += st->s429;
	to->s429_daily += st->s429_daily;
	to->corrected += st->corrected;
	for (const struct hlb_http *t = b->whead; t; t = t->wnext)
		to->waiting++;
}

static void bucket_free(struct bucket *b)
{
	hc_timer_stop(b->timer);
	hc_pace_free(b->pace);
	free(b->key);
	free(b);
}

/* A bucket with nothing out, queued or blocked is what pace_configure or
 * the next response would make again: with keys taken from records (one
 * per location, say) the table would otherwise only ever grow. */
static void sweep(hc_http *svc)
{
	int64_t now = hc_now_ms();

	for (size_t i = 0; i < svc->tsize; i++)
		for (struct bucket **pp = &svc->table[i]; *pp;) {
			struct bucket *b = *pp;

			if (b->whead || b->inflight || b->pinned || !hc_pace_idle(b->pace, now)) {
				pp = &b->next;
				continue;
			}
			add_totals(&svc->gone, b);
			*pp = b->next;
			bucket_free(b);
			svc->nbuckets--;
		}
	svc->sweep_at = svc->nbuckets * 2 > SWEEP_MIN ? svc->nbuckets * 2 : SWEEP_MIN;
}

static struct bucket *bucket_get(hc_http *svc, const char *key)
{
	char buf[PACE_KEY_CAP + 1];
	struct bucket *b;
	size_t slot;

	key = cut_key(key, buf);
	if ((b = bucket_find(svc, key)))
		return b;
	if (svc->nbuckets >= svc->sweep_at)
		sweep(svc);
	/* A table that cannot grow still works, with longer chains. */
	if (svc->nbuckets >= svc->tsize && table_grow(svc) < 0 && !svc->tsize)
		return NULL;
	b = calloc(1, sizeof(*b));
	if (!b || !(b->key = strdup(key)) || !(b->pace = hc_pace_new())) {
		if (b)
			free(b->key);
		free(b);
		return NULL;
	}
	b->svc = svc;
	slot = key_hash(key) & (svc->tsize - 1);
	b->next = svc->table[slot];
	svc->table[slot] = b;
	svc->nbuckets++;
	return b;
}

static void wait_push(struct bucket *b, struct hlb_http *t)
{
	t->waiting = 1;
	t->wnext = NULL;
	t->wprev = b->wtail;
	if (b->wtail)
		b->wtail->wnext = t;
	else
		b->whead = t;
	b->wtail = t;
}

static void wait_unlink(struct hlb_http *t)
{
	struct bucket *b = t->bucket;

	if (t->wprev)
		t->wprev->wnext = t->wnext;
	else
		b->whead = t->wnext;
	if (t->wnext)
		t->wnext->wprev = t->wprev;
	else
		b->wtail = t->wprev;
	t->waiting = 0;
	t->wnext = t->wprev = NULL;
}

static void on_pace_timer(void *arg);

/* Arms the bucket's timer `wait` ms from now, unless it is due then anyway.
 * -1 when no timer can be had. */
static int arm(struct bucket *b, int64_t wait)
{
	int64_t due = hc_now_ms() + wait;

	if (b->timer && b->timer_due == due)
		return 0;
	hc_timer_stop(b->timer);
	b->timer = hc_timer_start(b->svc->loop, wait, 0, on_pace_timer, b);
	b->timer_due = due;
	return b->timer ? 0 : -1;
}

static int64_t header_num(const hlb_http_response *r, const char *name)
{
	const char *v = hc_http_header(r, name);
	int64_t n = 0;

	if (!v || !isdigit((unsigned char)*v))
		return -1;
	for (; isdigit((unsigned char)*v); v++) {
		if (n > (INT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (*v - '0');
	}
	return *v ? -1 : n;
}

/* Corrects the transfer's bucket from its response, and says so in the log
 * once per episode rather than once per response. */
static void observe(struct bucket *b, const struct hlb_http *t, const hlb_http_response *r)
{
	hc_pace_obs o = HC_PACE_OBS_NONE;
	int64_t now = hc_now_ms();
	unsigned ev;

	o.status = r->status;
	o.max = header_num(r, "X-RateLimit-Max");
	o.interval_ms = header_num(r, "X-RateLimit-Interval-Milliseconds");
	o.remaining = header_num(r, "X-RateLimit-Remaining");
	o.daily_remaining = header_num(r, "X-RateLimit-Daily-Remaining");
	o.extra_cost = header_num(r, "X-RateLimit-Additional-Cost");
	if (b->svc->metrics && o.remaining >= 0) {
		const char *labels[] = { "bucket", b->key, NULL };

		hc_metric_set(b->svc->metrics, "hlbridge_quota_remaining",
			      "Requests left in a quota bucket, as the API last said (X-RateLimit-Remaining)",
			      labels, (double)o.remaining);
	}
	if (r->status == 429 || o.daily_remaining == 0) {
		const char *ra = hc_http_header(r, "Retry-After");

		o.retry_after_ms = ra ? hc_retry_after_ms(ra, hc_wall_ms() / 1000) : -1;
	}
	ev = hc_pace_observe(b->pace, now, &o, &t->ticket);
	if (ev & HC_PACE_RESIZED)
		hc_log(t->who, HLB_LOG_INFO, "pacing %s: the server allows %" PRIu32 " requests per %" PRId64 " ms",
		       b->key, hc_pace_max(b->pace), hc_pace_interval(b->pace));
	if (ev & HC_PACE_DAILY)
		hc_log(t->who, HLB_LOG_WARN,
		       "pacing %s: %sthe daily quota is spent; requests with this key wait %" PRId64 " s%s",
		       b->key, r->status == 429 ? "HTTP 429: " : "",
		       (hc_pace_blocked_until(b->pace) - now + 999) / 1000,
		       o.retry_after_ms >= 0 ? " (Retry-After)" : " before asking again");
	if (ev & HC_PACE_BURST_429)
		hc_log(t->who, HLB_LOG_WARN, "pacing %s: HTTP 429, the burst quota%s is spent; requests with this key "
		       "wait %" PRId64 " ms%s", b->key, hc_pace_max(b->pace) ? "" : " (of unknown size)",
		       hc_pace_blocked_until(b->pace) - now, o.retry_after_ms >= 0 ? " (Retry-After)" : "");
}

/* ---- transfers ---------------------------------------------------------- */

static void started(struct hlb_http *t)
{
	hc_http *svc = t->svc;

	if (++svc->inflight > svc->peak_inflight)
		svc->peak_inflight = svc->inflight;
	if (t->bucket)
		t->bucket->inflight++;
}

static void link_transfer(struct hlb_http *t)
{
	hc_http *svc = t->svc;

	t->prev = NULL;
	t->next = svc->active;
	if (t->next)
		t->next->prev = t;
	svc->active = t;
}

static void pump(struct bucket *b);

/* Runs a transfer's callback and frees it. */
static void answer(struct hlb_http *t, int result, long status, const char *error)
{
	struct hlb_http_response resp;

	memset(&resp, 0, sizeof(resp));
	resp.result = result;
	resp.status = status;
	resp.t = t;
	resp.error = error;
	unlink_transfer(t);
	t->in_callback = 1;
	if (t->cb)
		t->cb(t->arg, &resp);
	free_transfer(t);
}

static void hold_answer(struct hlb_http *t, int result, long status, const char *error)
{
	struct hlb_http **pp = &t->svc->held;

	t->held = 1;
	t->result = result;
	t->status = status;
	t->error = error; /* t->errbuf, or a string that lives for ever */
	while (*pp)
		pp = &(*pp)->hnext;
	*pp = t;
}

static void held_unlink(struct hlb_http *t)
{
	for (struct hlb_http **pp = &t->svc->held; *pp; pp = &(*pp)->hnext)
		if (*pp == t) {
			*pp = t->hnext;
			break;
		}
	t->held = 0;
	t->hnext = NULL;
}

/* Ends a transfer: corrects its bucket, runs the callback, frees it.
 * `sent` tells whether curl had it (else it never left). The callback of
 * an answer whose owner is held (hc_http_hold) waits for hc_http_wake. */
static void complete(struct hlb_http *t, int result, long status, const char *error, int sent)
{
	struct bucket *b = t->bucket;

	if (b)
		b->pinned++; /* the callback may ask for buckets: never this one gone */
	if (b && sent)
		hc_pace_done(b->pace, &t->ticket, hc_now_ms());
	if (b && status > 0) {
		struct hlb_http_response resp = { .result = result, .status = status, .t = t, .error = error };

		observe(b, t, &resp);
	}
	if (sent && t->owner && t->svc->hold && t->svc->hold(t->owner))
		hold_answer(t, result, status, error);
	else
		answer(t, result, status, error);
	if (b) {
		b->pinned--;
		/* A correction may let the queue go sooner, or later. */
		if (b->whead && !b->pumping)
			pump(b);
	}
}

/* Hands a transfer that waited for its token to curl. */
static void launch(struct hlb_http *t)
{
	if (curl_multi_add_handle(hc_loop_curl(t->svc->loop), t->easy) != CURLM_OK) {
		complete(t, HLB_ECONN, 0, "the transfer could not be started", 0);
		return;
	}
	started(t);
}

/* Lets queued transfers go while their bucket has tokens, then sets the
 * timer for the next token. */
static void pump(struct bucket *b)
{
	b->pumping = 1;
	b->pinned++;
	while (b->whead) {
		struct hlb_http *t = b->whead;
		int64_t wait = hc_pace_take(b->pace, hc_now_ms(), &t->ticket);

		if (wait > 0) {
			if (arm(b, wait) == 0)
				break;
			/* Without a timer nothing would wake the queue: fail
			 * it now, and its owners will try again. */
			wait_unlink(t);
			complete(t, HLB_ENOMEM, 0, "out of memory while waiting for a quota token", 0);
			continue;
		}
		wait_unlink(t);
		launch(t);
	}
	if (!b->whead && b->timer) {
		hc_timer_stop(b->timer);
		b->timer = NULL;
	}
	b->pinned--;
	b->pumping = 0;
}

static void on_pace_timer(void *arg)
{
	struct bucket *b = arg;

	b->timer = NULL; /* one-shot: freed by the loop after this call */
	pump(b);
}

/* Answers the held transfers whose owners are no longer held, oldest
 * first; each callback may hold its owner again, or cancel others. */
static void release_held(void *arg)
{
	hc_http *svc = arg;

	svc->release_timer = NULL;
	for (;;) {
		struct hlb_http *t = svc->held;

		while (t && svc->hold && svc->hold(t->owner))
			t = t->hnext;
		if (!t)
			break;
		held_unlink(t);
		answer(t, t->result, t->status, t->error);
	}
}

void hc_http_hold(hc_http *svc, int (*hold)(void *owner))
{
	svc->hold = hold;
}

void hc_http_set_owner(hlb_http *t, void *owner)
{
	t->owner = owner;
}

void hc_http_wake(hc_http *svc)
{
	if (svc && svc->held && !svc->release_timer)
		svc->release_timer = hc_timer_start(svc->loop, 0, 0, release_held, svc);
}

/* Requests by destination host and status class: "2xx" ... "5xx", or
 * "error" when no answer came. */
static void count_request(hc_http *svc, CURL *easy, long status)
{
	char host[128] = "unknown", cls[8];
	const char *url = NULL, *h;
	size_t n;

	curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &url);
	if (url && (h = strstr(url, "://"))) {
		h += 3;
		n = strcspn(h, "/?#");
		if (n && n < sizeof(host)) {
			memcpy(host, h, n);
			host[n] = '\0';
		}
	}
	if (status >= 100 && status <= 599)
		snprintf(cls, sizeof(cls), "%ldxx", status / 100);
	else
		snprintf(cls, sizeof(cls), "error");
	const char *labels[] = { "host", host, "class", cls, NULL };

	hc_metric_add(svc->metrics, "hlbridge_http_requests_total",
		      "HTTP requests hlbridge made, by host and status class", labels, 1);
	if (status == 429)
		hc_metric_add(svc->metrics, "hlbridge_http_429_total",
			      "HTTP 429 (rate limited) answers, by host", labels, 1);
}

void hc_http_set_metrics(hc_http *svc, hc_metrics *m)
{
	svc->metrics = m;
}

static void on_done(CURL *easy, CURLcode rc, void *arg)
{
	hc_http *svc = arg;
	struct hlb_http *t = NULL;
	long status = 0;
	int result;
	const char *error;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
	if (!t)
		return;
	svc->inflight--;
	if (t->bucket)
		t->bucket->inflight--;
	result = map_result(rc, t);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	if (svc->metrics)
		count_request(svc, easy, status);
	if (result == HLB_ETOOBIG)
		error = t->body.overflow ? "response body exceeds the configured limit"
					 : "response headers exceed 64 KiB";
	else if (rc != CURLE_OK)
		error = t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc);
	else
		error = "";
	complete(t, result, status, error, 1);
}

hc_http *hc_http_new(hc_loop *loop, const char *version)
{
	hc_http *svc = calloc(1, sizeof(*svc));

	if (!svc)
		return NULL;
	svc->loop = loop;
	svc->sweep_at = SWEEP_MIN;
	snprintf(svc->user_agent, sizeof(svc->user_agent), "hlbridge/%s", version);
	hc_loop_on_transfer(loop, on_done, svc);
	return svc;
}

void hc_http_free(hc_http *svc)
{
	hc_http_pace_totals all;

	if (!svc)
		return;
	while (svc->active)
		hc_http_cancel(svc->active);
	hc_timer_stop(svc->release_timer);
	hc_http_pace_get(svc, NULL, &all);
	/* What pacing did over the run, for operators and bench/quota. */
	if (all.keys)
		hc_log(NULL, HLB_LOG_INFO, "pacing: %zu key%s, %" PRIu64 " requests, %" PRIu64 " waited for a token, %"
		       PRIu64 " answered 429 (%" PRIu64 " daily quota), %" PRIu64
		       " tokens spent on the server's count; at most %zu transfers in flight",
		       all.keys, all.keys == 1 ? "" : "s", all.taken, all.waited, all.s429, all.s429_daily,
		       all.corrected, svc->peak_inflight);
	for (size_t i = 0; i < svc->tsize; i++)
		for (struct bucket *b = svc->table[i], *next; b; b = next) {
			next = b->next;
			bucket_free(b);
		}
	free(svc->table);
	free(svc);
}

size_t hc_http_active(const hc_http *svc)
{
	size_t n = 0;

	for (const struct hlb_http *t = svc->active; t; t = t->next)
		n++;
	return n;
}

size_t hc_http_peak_inflight(const hc_http *svc)
{
	return svc->peak_inflight;
}

int hc_http_pace_configure(hc_http *svc, const char *key, uint32_t max_requests, int64_t interval_ms)
{
	struct bucket *b;

	if (!svc || !key || !*key || max_requests < 1 || max_requests > HC_PACE_MAX_REQUESTS ||
	    interval_ms < 1 || interval_ms > HC_PACE_MAX_INTERVAL_MS)
		return HLB_EINVAL;
	b = bucket_get(svc, key);
	if (!b)
		return HLB_ENOMEM;
	if (hc_pace_configure(b->pace, max_requests, interval_ms) > 0 && b->whead && !b->pumping)
		pump(b);
	return HLB_OK;
}

int hc_http_pace_block(hc_http *svc, const char *key, int64_t delay_ms)
{
	struct bucket *b;

	if (!svc || !key || !*key)
		return HLB_EINVAL;
	b = bucket_get(svc, key);
	if (!b)
		return HLB_ENOMEM;
	if (delay_ms > HC_PACE_MAX_INTERVAL_MS)
		delay_ms = HC_PACE_MAX_INTERVAL_MS;
	hc_pace_block(b->pace, hc_now_ms() + (delay_ms >= 1000 ? delay_ms : 1000));
	return HLB_OK;
}

int hc_http_pace_get(const hc_http *svc, const char *key, hc_http_pace_totals *out)
{
	char buf[PACE_KEY_CAP + 1];
	const struct bucket *b;

	memset(out, 0, sizeof(*out));
	if (!key) {
		*out = svc->gone;
		for (size_t i = 0; i < svc->tsize; i++)
			for (b = svc->table[i]; b; b = b->next)
				add_totals(out, b);
		return 0;
	}
	b = bucket_find(svc, cut_key(key, buf));
	if (!b)
		return -1;
	add_totals(out, b);
	out->max = hc_pace_max(b->pace);
	out->interval_ms = hc_pace_interval(b->pace);
	out->available = hc_pace_available(b->pace, hc_now_ms());
	return 0;
}

hlb_http *hc_http_request(hc_http *svc, const char *who, const hlb_http_request *req,
			  hlb_http_cb cb, void *arg)
{
	struct hlb_http *t;
	const char *method, *pace_key = NULL;

	if (!req || req->size < offsetof(hlb_http_request, max_response) + sizeof(req->max_response) ||
	    !req->url)
		return NULL;
	/* A plugin built before pace_key existed passes a shorter struct. */
	if (req->size >= offsetof(hlb_http_request, pace_key) + sizeof(req->pace_key))
		pace_key = req->pace_key;
	t = calloc(1, sizeof(*t));
	if (!t || !(t->easy = curl_easy_init())) {
		free(t);
		return NULL;
	}
	t->svc = svc;
	t->cb = cb;
	t->arg = arg;
	t->who = strdup(who ? who : "");
	t->body.limit = req->max_response ? req->max_response + 1 : DEFAULT_BODY_CAP + 1;
	t->head.limit = HEADER_CAP;
	method = req->method ? req->method : "GET";

	CURL *e = t->easy;
	curl_easy_setopt(e, CURLOPT_URL, req->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, svc->user_agent);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(req->timeout_ms > 0 ? req->timeout_ms : DEFAULT_TIMEOUT_MS));
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
	curl_easy_setopt(e, CURLOPT_PRIVATE, t);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	if (strcmp(method, "GET") != 0)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	if (req->body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, req->body);
	} else if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	}
	for (const char *const *h = req->headers; h && *h; h++) {
		struct curl_slist *l = curl_slist_append(t->headers, *h);

		if (!l)
			goto fail;
		t->headers = l;
	}
	/* curl adds "Expect: 100-continue" to large bodies, costing a round trip. */
	struct curl_slist *l = curl_slist_append(t->headers, "Expect:");
	if (!l)
		goto fail;
	t->headers = l;
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
	if (pace_key && *pace_key) {
		struct bucket *b = bucket_get(svc, pace_key);
		int64_t wait;

		if (!b)
			goto fail;
		t->bucket = b;
		/* First come, first served: with others queued, queue too. */
		wait = b->whead ? 0 : hc_pace_take(b->pace, hc_now_ms(), &t->ticket);
		if (b->whead || wait > 0) {
			/* With others queued the timer is set already; alone,
			 * this one sets it, replacing any left from before. */
			if (!b->pumping && (!b->whead || !b->timer) && arm(b, wait > 0 ? wait : 1) < 0)
				goto fail;
			wait_push(b, t);
			b->waited++;
			link_transfer(t);
			return t;
		}
	}
	if (curl_multi_add_handle(hc_loop_curl(svc->loop), e) != CURLM_OK)
		goto fail;
	started(t);
	link_transfer(t);
	return t;
fail:
	free_transfer(t);
	return NULL;
}

void hc_http_cancel(hlb_http *t)
{
	/* From inside its own callback the transfer is over and is freed when
	 * the callback returns. */
	if (!t || t->in_callback)
		return;
	if (t->held) {
		held_unlink(t); /* answered: curl has it no more */
	} else if (t->waiting) {
		struct bucket *b = t->bucket;

		/* Its token was never spent. */
		wait_unlink(t);
		if (!b->whead && !b->pumping) {
			hc_timer_stop(b->timer);
			b->timer = NULL;
		}
	} else {
		curl_multi_remove_handle(hc_loop_curl(t->svc->loop), t->easy);
		t->svc->inflight--;
		if (t->bucket)
			t->bucket->inflight--;
	}
	unlink_transfer(t);
	free_transfer(t);
}

int hc_http_result(const hlb_http_response *r)
{
	return r->result;
}

long hc_http_status(const hlb_http_response *r)
{
	return r->status;
}

const char *hc_http_body(const hlb_http_response *r, size_t *len)
{
	if (len)
		*len = r->t->body.len;
	return r->t->body.data ? r->t->body.data : "";
}

const char *hc_http_error(const hlb_http_response *r)
{
	return r->error ? r->error : "";
}

/* Finds the last header of that name in the final response; the value is
 * copied into a small per-response slot so the caller gets a C string. */
const char *hc_http_header(const hlb_http_response *r, const char *name)
{
	static char value[1024];
	const struct buf *h = &r->t->head;
	size_t nlen = strlen(name);
	const char *found = NULL;
	size_t flen = 0;

	for (const char *p = h->data; p && *p;) {
		const char *eol = strstr(p, "\r\n");
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		if (len > nlen && p[nlen] == ':' && strncasecmp(p, name, nlen) == 0) {
			const char *v = p + nlen + 1;

			while (v < p + len && (*v == ' ' || *v == '\t'))
				v++;
			found = v;
			flen = (size_t)(p + len - v);
			while (flen && isspace((unsigned char)found[flen - 1]))
				flen--;
		}
		p = eol ? eol + 2 : p + len;
	}
	if (!found)
		return NULL;
	if (flen >= sizeof(value))
		flen = sizeof(value) - 1;
	memcpy(value, found, flen);
	value[flen] = 0;
	return value;
}
