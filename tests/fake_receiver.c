/* fake_receiver: a stand-in for the services the http sink delivers to.
 *
 * It listens on 127.0.0.1 with a port the kernel picks, prints PORT=<n> as
 * its first line of output, and accepts POST, PUT and PATCH on any path with
 * a JSON object (one record) or a JSON array (a batch) as the body. Every key
 * of an accepted request is appended to the --keys file, and a key seen
 * before is counted as a duplicate, so a test can prove at-least-once
 * delivery without double application. Fault modes (--mode, or POST
 * /_control at run time) make it answer 429, 500, 400, hang, reset the
 * connection, answer slowly, or fail every Nth request. On SIGTERM or SIGINT
 * (or after --max-seconds) it prints one summary line to stderr and exits.
 *
 * Which keys a request carries:
 *  - an object: its Idempotency-Key header, else its "id" field;
 *  - an array: the X-Idempotency-Keys header (k1,k2,...) when it names one
 *    key per element, else each element's "id", else Idempotency-Key#index.
 *
 * Quota mode (--quota N/INTERVAL_MS) plays an API with GHL-style rate
 * limits: each location key (the X-Location header, else the body's
 * "locationId", else the last segment of the URL path) may make N requests
 * in any INTERVAL_MS (--quota-window sliding, the default) or N per window
 * opened by the first request after the last one ended (--quota-window
 * fixed); one more is answered 429 with Retry-After. Every answer carries
 * X-RateLimit-Max, X-RateLimit-Remaining, X-RateLimit-Interval-Milliseconds
 * and the daily pair (--daily N per key, 200000 by default). --latency-ms
 * delays every answer; the summary counts 429s, the most requests open at
 * once, and the time from the first accepted request to the last; --arrivals
 * writes when each accepted request arrived (ms after the first).
 *
 * One thread per connection (libmicrohttpd's own mode), so a hanging or slow
 * answer holds only its connection and the others are served meanwhile; the
 * server scaffolding is tests/fake_http.[ch]. */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include "fake_http.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define CONNECTION_LIMIT 400     /* enough for a batch of concurrent records */
#define KEY_CAP 1024             /* longer keys are cut when recorded */
#define THREAD_STACK (512u << 10) /* a thread per connection: keep each small */

enum mode { M_OK, M_429, M_500, M_400, M_HANG, M_RESET, M_SLOW, M_FLAKY };

static const char *const mode_names[] = { "ok", "429", "500", "400", "hang", "reset", "slow", "flaky", NULL };

/* What the fake does; changed by POST /_control, read under `mu`. */
struct behaviour {
	enum mode mode;
	long retry_after;   /* seconds, for 429 */
	int retry_date;     /* send Retry-After as an HTTP date */
	long hang_ms;
	long delay_ms;
	long every;         /* flaky: every Nth request fails */
	long times;         /* the fault answers this many requests, then ok; 0: forever */
};

/* Every key accepted so far, for duplicate counting: open addressing. */
struct keyset {
	char **slot;
	size_t cap, len;
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;  /* wakes hanging and slow answers at shutdown */
	int stopping;
	struct behaviour b;
	long faults;        /* requests answered by the fault mode since it was set */
	char *require_name, *require_value;
	FILE *keys;
	FILE *times;        /* --arrivals: ms since the first accepted request, one a line */
	struct keyset seen;
	/* counters for the summary (peak_open: fake_http's peak in flight) */
	unsigned long accepted, duplicates, requests, s429, s5xx, s4xx, s2xx, resets;
	int64_t first_ms, last_ms;  /* first and last accepted delivery */
} fk = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

/* What quota mode decided for one request, sent back as headers. */
struct quota_view {
	int on;
	int over;          /* answered 429 */
	long remaining, daily_remaining;
	long retry_after;  /* seconds, when over */
};

/* Quota mode: one per location key, under fk.mu. */
struct qkey {
	char *key;
	int64_t *ring;     /* sliding: arrival times of the requests counted */
	size_t head, len;
	int64_t start;     /* fixed: when the window opened */
	long count;        /* fixed: requests in it */
	long daily;        /* requests counted today */
};

static struct {
	long max;
	int64_t interval_ms;
	int fixed;
	long daily;
	long latency_ms;
	struct qkey **slot;  /* open addressing by key */
	size_t cap, len;
} qt;

static int parse_mode(const char *s, enum mode *out)
{
	for (int i = 0; mode_names[i]; i++)
		if (strcmp(s, mode_names[i]) == 0) {
			*out = (enum mode)i;
			return 0;
		}
	return -1;
}

/* ---- keys ---------------------------------------------------------------- */

static size_t hash(const char *s)
{
	return (size_t)fh_hash(s);
}

/* Adds `key` to the set; 1 if it was there already, 0 if new, -1 on ENOMEM. */
static int keyset_add(struct keyset *ks, const char *key)
{
	size_t i;

	if ((ks->len + 1) * 2 > ks->cap) {
		size_t cap = ks->cap ? ks->cap * 2 : 1024;
		char **slot = calloc(cap, sizeof(*slot));

		if (!slot)
			return -1;
		for (size_t j = 0; j < ks->cap; j++) {
			if (!ks->slot[j])
				continue;
			for (i = hash(ks->slot[j]) & (cap - 1); slot[i]; i = (i + 1) & (cap - 1))
				;
			slot[i] = ks->slot[j];
		}
		free(ks->slot);
		ks->slot = slot;
		ks->cap = cap;
	}
	for (i = hash(key) & (ks->cap - 1); ks->slot[i]; i = (i + 1) & (ks->cap - 1))
		if (strcmp(ks->slot[i], key) == 0)
			return 1;
	ks->slot[i] = strdup(key);
	if (!ks->slot[i])
		return -1;
	ks->len++;
	return 0;
}

static void keyset_free(struct keyset *ks)
{
	for (size_t i = 0; i < ks->cap; i++)
		free(ks->slot[i]);
	free(ks->slot);
}

/* ---- quota mode --------------------------------------------------------- */

/* The key's counters, made on first sight; the caller holds fk.mu. NULL
 * when out of memory. */
static struct qkey *qkey_get(const char *key)
{
	struct qkey *k;
	size_t i;

	if ((qt.len + 1) * 2 > qt.cap) {
		size_t cap = qt.cap ? qt.cap * 2 : 256;
		struct qkey **slot = calloc(cap, sizeof(*slot));

		if (!slot)
			return NULL;
		for (size_t j = 0; j < qt.cap; j++) {
			if (!qt.slot[j])
				continue;
			for (i = hash(qt.slot[j]->key) & (cap - 1); slot[i]; i = (i + 1) & (cap - 1))
				;
			slot[i] = qt.slot[j];
		}
		free(qt.slot);
		qt.slot = slot;
		qt.cap = cap;
	}
	for (i = hash(key) & (qt.cap - 1); qt.slot[i]; i = (i + 1) & (qt.cap - 1))
		if (strcmp(qt.slot[i]->key, key) == 0)
			return qt.slot[i];
	k = calloc(1, sizeof(*k));
	if (!k || !(k->key = strdup(key)) || (!qt.fixed && !(k->ring = calloc((size_t)qt.max, sizeof(*k->ring))))) {
		if (k)
			free(k->key);
		free(k);
		return NULL;
	}
	qt.slot[i] = k;
	qt.len++;
	return k;
}

static long ceil_seconds(int64_t ms)
{
	return ms <= 1000 ? 1 : (long)((ms + 999) / 1000);
}

/* Counts a request of `key` arriving now, or refuses it; the caller holds
 * fk.mu. Refused requests do not count, as with the usual limiters. */
static void quota_decide(const char *key, struct quota_view *q)
{
	int64_t now = fh_mono_ms();
	struct qkey *k = qkey_get(key);

	q->on = 1;
	q->retry_after = -1;
	if (!k) {
		/* Out of memory: let it through rather than invent a 429. */
		q->remaining = 0;
		q->daily_remaining = 0;
		return;
	}
	if (k->daily >= qt.daily) {
		/* The daily quota: no Retry-After, like the API. */
		q->over = 1;
		q->remaining = 0;
		q->daily_remaining = 0;
		return;
	}
	if (qt.fixed) {
		if (!k->count || now >= k->start + qt.interval_ms) {
			k->start = now;
			k->count = 0;
		}
		if (k->count >= qt.max) {
			q->over = 1;
			q->retry_after = ceil_seconds(k->start + qt.interval_ms - now);
		} else {
			k->count++;
		}
		q->remaining = qt.max - k->count;
	} else {
		while (k->len && k->ring[k->head] <= now - qt.interval_ms) {
			k->head = (k->head + 1) % (size_t)qt.max;
			k->len--;
		}
		if (k->len >= (size_t)qt.max) {
			q->over = 1;
			q->retry_after = ceil_seconds(k->ring[k->head] + qt.interval_ms - now);
		} else {
			k->ring[(k->head + k->len) % (size_t)qt.max] = now;
			k->len++;
		}
		q->remaining = qt.max - (long)k->len;
	}
	if (!q->over)
		k->daily++;
	q->daily_remaining = qt.daily - k->daily;
}

/* The location a request counts against: X-Location, else the body's
 * "locationId", else the last segment of the URL path. */
static void location_key(struct MHD_Connection *c, const char *url, const struct fh_req *rq, char *out,
			 size_t outlen)
{
	const char *h = fh_header_in(c, "X-Location");
	const char *seg;

	if (h && *h) {
		snprintf(out, outlen, "%s", h);
		return;
	}
	if (rq->body) {
		struct json_object *o = json_tokener_parse(rq->body);
		struct json_object *v;

		if (json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, "locationId", &v) &&
		    (json_object_is_type(v, json_type_string) || json_object_is_type(v, json_type_int))) {
			snprintf(out, outlen, "%s", json_object_get_string(v));
			json_object_put(o);
			return;
		}
		json_object_put(o);
	}
	seg = strrchr(url, '/');
	snprintf(out, outlen, "%s", seg && seg[1] ? seg + 1 : "-");
}

static void quota_free(void)
{
	for (size_t i = 0; i < qt.cap; i++)
		if (qt.slot[i]) {
			free(qt.slot[i]->key);
			free(qt.slot[i]->ring);
			free(qt.slot[i]);
		}
	free(qt.slot);
}

/* Records one accepted key; the caller holds fk.mu. Control characters are
 * replaced so that one key stays one line of the file. */
static void accept_key(const char *key, size_t len)
{
	char k[KEY_CAP + 1];

	if (len > KEY_CAP)
		len = KEY_CAP;
	for (size_t i = 0; i < len; i++)
		k[i] = (unsigned char)key[i] < 0x20 || key[i] == 0x7f ? '?' : key[i];
	k[len] = 0;
	fk.accepted++;
	if (keyset_add(&fk.seen, k) == 1)
		fk.duplicates++;
	if (fk.keys)
		fprintf(fk.keys, "%s\n", k);
}

/* The "id" field of an element as text, or NULL. */
static const char *element_id(struct json_object *o)
{
	struct json_object *id;

	if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, "id", &id))
		return NULL;
	if (json_object_is_type(id, json_type_string) || json_object_is_type(id, json_type_int))
		return json_object_get_string(id);
	return NULL;
}

static size_t count_list(const char *list)
{
	size_t n = 1;

	for (; *list; list++)
		n += *list == ',';
	return n;
}

/* Records the keys of an accepted body; the caller holds fk.mu. */
static void accept_body(struct json_object *body, const char *idem, const char *list)
{
	if (!json_object_is_type(body, json_type_array)) {
		const char *key = idem ? idem : element_id(body);

		if (key)
			accept_key(key, strlen(key));
		else
			accept_key("-", 1);
		goto flush;
	}
	size_t n = json_object_array_length(body);

	if (list && n && count_list(list) == n) {
		for (const char *p = list;;) {
			const char *comma = strchr(p, ',');
			size_t len = comma ? (size_t)(comma - p) : strlen(p);

			accept_key(p, len);
			if (!comma)
				break;
			p = comma + 1;
		}
		goto flush;
	}
	for (size_t i = 0; i < n; i++) {
		const char *id = element_id(json_object_array_get_idx(body, i));
		char k[KEY_CAP];

		if (!id) {
			snprintf(k, sizeof(k), "%s#%zu", idem ? idem : "-", i);
			id = k;
		}
		accept_key(id, strlen(id));
	}
flush:
	if (fk.keys)
		fflush(fk.keys);
}

/* ---- answers ------------------------------------------------------------- */

/* An answer that is not counted: /_control and /_stats. */
static void send_reply(struct fh_req *rq, unsigned status, const char *body, const char *hname, const char *hvalue)
{
	char *d = strdup(body);

	if (!d) {
		rq->reset = 1;  /* out of memory: closed unanswered */
		return;
	}
	fh_set_body(rq, status, "application/json", d, strlen(d));
	if (hname)
		fh_add_header(rq, hname, "%s", hvalue);
}

/* Answers a delivery and counts the status; /_control and /_stats use
 * send_reply so that they do not show up in the counts. In quota mode the
 * answer carries the rate limit headers. */
static void reply(struct fh_req *rq, const struct quota_view *q, unsigned status, const char *body, const char *hname,
		  const char *hvalue)
{
	if (q->on) {
		fh_add_header(rq, "X-RateLimit-Max", "%ld", qt.max);
		fh_add_header(rq, "X-RateLimit-Remaining", "%ld", q->remaining);
		fh_add_header(rq, "X-RateLimit-Interval-Milliseconds", "%lld", (long long)qt.interval_ms);
		fh_add_header(rq, "X-RateLimit-Limit-Daily", "%ld", qt.daily);
		fh_add_header(rq, "X-RateLimit-Daily-Remaining", "%ld", q->daily_remaining);
	}
	pthread_mutex_lock(&fk.mu);
	if (status == 429)
		fk.s429++;
	else if (status >= 500)
		fk.s5xx++;
	else if (status >= 400)
		fk.s4xx++;
	else if (status >= 200 && status < 300)
		fk.s2xx++;
	pthread_mutex_unlock(&fk.mu);
	send_reply(rq, status, body, hname, hvalue);
}

/* Waits `ms`, or less when the fake is stopping; 0 if the wait ran out. */
static int wait_ms(long ms)
{
	struct timespec until;
	int stopping;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&fk.mu);
	while (!fk.stopping)
		if (pthread_cond_timedwait(&fk.cv, &fk.mu, &until) == ETIMEDOUT)
			break;
	stopping = fk.stopping;
	pthread_mutex_unlock(&fk.mu);
	return stopping;
}

static void summary_line(char *out, size_t outlen)
{
	long peak_open;

	fh_in_flight(NULL, &peak_open);
	pthread_mutex_lock(&fk.mu);
	snprintf(out, outlen,
		 "accepted=%lu duplicates=%lu requests=%lu status_429=%lu status_5xx=%lu status_4xx=%lu "
		 "status_2xx=%lu resets=%lu peak_open=%ld span_ms=%lld quota_keys=%zu",
		 fk.accepted, fk.duplicates, fk.requests, fk.s429, fk.s5xx, fk.s4xx, fk.s2xx, fk.resets,
		 peak_open, (long long)(fk.last_ms - fk.first_ms), qt.len);
	pthread_mutex_unlock(&fk.mu);
}

/* POST /_control {"mode":"429","retry_after":"2",...}: numbers may be given
 * as JSON numbers or strings. The fault count starts again from zero. */
static void control(struct fh_req *rq)
{
	struct json_object *o = json_tokener_parse(rq->body ? rq->body : "");
	struct behaviour b;
	struct json_object *v;
	static const struct { const char *name; size_t off; } nums[] = {
		{ "retry_after", offsetof(struct behaviour, retry_after) },
		{ "hang_ms", offsetof(struct behaviour, hang_ms) },
		{ "delay_ms", offsetof(struct behaviour, delay_ms) },
		{ "every", offsetof(struct behaviour, every) },
		{ "times", offsetof(struct behaviour, times) },
	};

	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		send_reply(rq, 400, "{\"error\":\"control body must be a JSON object\"}", NULL, NULL);
		return;
	}
	pthread_mutex_lock(&fk.mu);
	b = fk.b;
	pthread_mutex_unlock(&fk.mu);
	if (json_object_object_get_ex(o, "mode", &v) && parse_mode(json_object_get_string(v), &b.mode) < 0) {
		json_object_put(o);
		send_reply(rq, 400, "{\"error\":\"unknown mode\"}", NULL, NULL);
		return;
	}
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		if (!json_object_object_get_ex(o, nums[i].name, &v))
			continue;
		if (fh_parse_long(json_object_get_string(v), (long *)((char *)&b + nums[i].off)) < 0) {
			json_object_put(o);
			send_reply(rq, 400, "{\"error\":\"numbers must be whole and not negative\"}", NULL, NULL);
			return;
		}
	}
	if (json_object_object_get_ex(o, "retry_after_date", &v))
		b.retry_date = json_object_get_boolean(v);
	json_object_put(o);
	if (b.every < 1)
		b.every = 1;
	pthread_mutex_lock(&fk.mu);
	fk.b = b;
	fk.faults = 0;
	pthread_mutex_unlock(&fk.mu);
	send_reply(rq, 200, "{\"ok\":true}", NULL, NULL);
}

static int valid_json(const struct fh_req *rq, struct json_object **out)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o;
	int ok;

	if (!tok)
		return 0;
	o = json_tokener_parse_ex(tok, rq->body ? rq->body : "", (int)rq->len);
	ok = json_tokener_get_error(tok) == json_tokener_success &&
	     json_tokener_get_parse_end(tok) == rq->len &&
	     (json_object_is_type(o, json_type_object) || json_object_is_type(o, json_type_array));
	json_tokener_free(tok);
	if (!ok) {
		json_object_put(o);
		return 0;
	}
	*out = o;
	return 1;
}

static void accept_request(struct MHD_Connection *c, struct fh_req *rq, const struct quota_view *q)
{
	const char *idem = fh_header_in(c, "Idempotency-Key");
	const char *list = fh_header_in(c, "X-Idempotency-Keys");
	struct json_object *body;

	if (!valid_json(rq, &body)) {
		reply(rq, q, 400, "{\"error\":\"body is not a JSON object or array\"}", NULL, NULL);
		return;
	}
	pthread_mutex_lock(&fk.mu);
	accept_body(body, idem, list);
	fk.last_ms = fh_mono_ms();
	if (!fk.first_ms)
		fk.first_ms = fk.last_ms;
	if (fk.times)
		fprintf(fk.times, "%lld\n", (long long)(fk.last_ms - fk.first_ms));
	pthread_mutex_unlock(&fk.mu);
	json_object_put(body);
	reply(rq, q, 200, "{\"ok\":true}", NULL, NULL);
}

static void too_many(struct fh_req *rq, const struct quota_view *q, const struct behaviour *b)
{
	char value[64];

	if (b->retry_date) {
		time_t when = time(NULL) + b->retry_after;
		struct tm tm;

		gmtime_r(&when, &tm);
		strftime(value, sizeof(value), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	} else {
		snprintf(value, sizeof(value), "%ld", b->retry_after);
	}
	reply(rq, q, 429, "{\"error\":\"too many requests\"}", "Retry-After", value);
}

/* Every request, in the thread of its connection, once its body is in; a
 * wait cut short by the stop, and the reset mode, close the connection
 * unanswered. */
static void handle(struct MHD_Connection *c, const char *url, const char *method, struct fh_req *rq)
{
	struct quota_view q = { 0 };
	struct behaviour b;
	unsigned long n;
	enum mode mode;

	if (strcmp(url, "/_control") == 0 && strcmp(method, "POST") == 0) {
		control(rq);
		return;
	}
	if (strcmp(url, "/_stats") == 0 && strcmp(method, "GET") == 0) {
		char line[512];

		summary_line(line, sizeof(line));
		send_reply(rq, 200, line, NULL, NULL);
		return;
	}
	if (strcmp(method, "POST") != 0 && strcmp(method, "PUT") != 0 && strcmp(method, "PATCH") != 0) {
		reply(rq, &q, 405, "{\"error\":\"use POST, PUT or PATCH\"}", "Allow", "POST, PUT, PATCH");
		return;
	}

	if (qt.max) {
		char key[KEY_CAP];

		location_key(c, url, rq, key, sizeof(key));
		pthread_mutex_lock(&fk.mu);
		quota_decide(key, &q);
		pthread_mutex_unlock(&fk.mu);
	}
	/* The quota counted the request when it arrived; the answer comes
	 * after the latency, as from a server that does the work first. */
	if (qt.latency_ms && wait_ms(qt.latency_ms)) {
		rq->reset = 1;
		return;
	}
	pthread_mutex_lock(&fk.mu);
	n = ++fk.requests;
	b = fk.b;
	mode = b.mode;
	if (mode != M_OK && b.times && fk.faults >= b.times)
		mode = M_OK;
	else if (mode != M_OK)
		fk.faults++;
	pthread_mutex_unlock(&fk.mu);
	if (q.over) {
		char ra[32];

		snprintf(ra, sizeof(ra), "%ld", q.retry_after);
		reply(rq, &q, 429, "{\"error\":\"rate limit exceeded\"}", q.retry_after >= 0 ? "Retry-After" : NULL, ra);
		return;
	}

	if (fk.require_name) {
		const char *v = fh_header_in(c, fk.require_name);

		if (!v || strcmp(v, fk.require_value) != 0) {
			reply(rq, &q, 401, "{\"error\":\"missing or wrong credentials\"}", NULL, NULL);
			return;
		}
	}
	if (rq->too_big) {
		reply(rq, &q, 413, "{\"error\":\"body larger than 1 MiB\"}", NULL, NULL);
		return;
	}

	switch (mode) {
	case M_OK:
		break;
	case M_429:
		too_many(rq, &q, &b);
		return;
	case M_500:
		reply(rq, &q, 500, "{\"error\":\"internal error\"}", NULL, NULL);
		return;
	case M_400:
		reply(rq, &q, 400, "{\"error\":\"rejected by the fake\"}", NULL, NULL);
		return;
	case M_HANG:
		if (wait_ms(b.hang_ms)) {
			rq->reset = 1;
			return;
		}
		break;
	case M_RESET:
		pthread_mutex_lock(&fk.mu);
		fk.resets++;
		pthread_mutex_unlock(&fk.mu);
		rq->reset = 1; /* libmicrohttpd closes the connection unanswered */
		return;
	case M_SLOW:
		if (wait_ms(b.delay_ms)) {
			rq->reset = 1;
			return;
		}
		break;
	case M_FLAKY:
		if (n % (unsigned long)b.every == 0) {
			reply(rq, &q, 500, "{\"error\":\"flaky\"}", NULL, NULL);
			return;
		}
		break;
	}
	accept_request(c, rq, &q);
}

/* Wakes hanging and slow answers once the stop came. */
static void stopping(void)
{
	pthread_mutex_lock(&fk.mu);
	fk.stopping = 1;
	pthread_cond_broadcast(&fk.cv);
	pthread_mutex_unlock(&fk.mu);
}

/* ---- main ---------------------------------------------------------------- */

static void usage(FILE *out)
{
	(void)out;  /* the receiver's usage goes to stderr, --help's too */
	fputs("usage: fake_receiver [--mode ok|429|500|400|hang|reset|slow|flaky] [--keys FILE]\n"
	      "         [--retry-after SECONDS] [--retry-after-date] [--hang-ms MS] [--delay-ms MS]\n"
	      "         [--every N] [--times N] [--require-header 'Name: value'] [--max-seconds N]\n"
	      "         [--quota N/INTERVAL_MS] [--quota-window sliding|fixed] [--daily N] [--latency-ms MS]\n"
	      "         [--arrivals FILE]\n"
	      "Prints PORT=<n>, serves until SIGTERM or SIGINT, then prints a summary to stderr.\n"
	      "--times N: the fault mode answers the first N requests, then the fake answers ok.\n"
	      "POST /_control with {\"mode\":...,\"retry_after\":...,\"times\":...} changes the mode;\n"
	      "GET /_stats returns the summary line.\n"
	      "--quota: N requests per INTERVAL_MS per location (X-Location, the body's locationId, or\n"
	      "the URL's last segment), with GHL-style X-RateLimit-* headers and 429 beyond;\n"
	      "--latency-ms delays every answer.\n", stderr);
}

static void parse_args(int argc, char **argv, long *max_seconds)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "keys", required_argument, NULL, 'k' },
		{ "retry-after", required_argument, NULL, 'r' },
		{ "retry-after-date", no_argument, NULL, 'D' },
		{ "hang-ms", required_argument, NULL, 'H' },
		{ "delay-ms", required_argument, NULL, 'd' },
		{ "every", required_argument, NULL, 'e' },
		{ "times", required_argument, NULL, 't' },
		{ "require-header", required_argument, NULL, 'R' },
		{ "max-seconds", required_argument, NULL, 'S' },
		{ "quota", required_argument, NULL, 'Q' },
		{ "quota-window", required_argument, NULL, 'W' },
		{ "daily", required_argument, NULL, 'Y' },
		{ "latency-ms", required_argument, NULL, 'L' },
		{ "arrivals", required_argument, NULL, 'T' },
		FH_OPTIONS_END
	};
	int ch, idx = 0;

	fk.b.retry_after = 1;
	fk.b.hang_ms = 10000;
	fk.b.delay_ms = 200;
	fk.b.every = 3;
	while ((ch = fh_getopt(argc, argv, opts, &idx, usage)) != -1) {
		long *num = NULL;

		switch (ch) {
		case 'm':
			if (parse_mode(optarg, &fk.b.mode) < 0)
				fh_die("unknown mode '%s'", optarg);
			break;
		case 'k':
			fk.keys = fopen(optarg, "w");
			if (!fk.keys)
				fh_die("cannot write %s: %s", optarg, strerror(errno));
			break;
		case 'D': fk.b.retry_date = 1; break;
		case 'r': num = &fk.b.retry_after; break;
		case 'H': num = &fk.b.hang_ms; break;
		case 'd': num = &fk.b.delay_ms; break;
		case 'e': num = &fk.b.every; break;
		case 't': num = &fk.b.times; break;
		case 'S': num = max_seconds; break;
		case 'Y': num = &qt.daily; break;
		case 'T':
			fk.times = fopen(optarg, "w");
			if (!fk.times)
				fh_die("cannot write %s: %s", optarg, strerror(errno));
			break;
		case 'L': num = &qt.latency_ms; break;
		case 'W':
			if (strcmp(optarg, "fixed") == 0)
				qt.fixed = 1;
			else if (strcmp(optarg, "sliding") != 0)
				fh_die("--quota-window takes sliding or fixed");
			break;
		case 'Q':
			if (fh_parse_rate(optarg, 1000000, &qt.max, &qt.interval_ms) < 0)
				fh_die("--quota takes N/INTERVAL_MS, such as 100/10000");
			break;
		case 'R': {
			const char *colon = strchr(optarg, ':');
			const char *v;

			if (!colon || colon == optarg)
				fh_die("--require-header takes 'Name: value'");
			v = colon + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			fk.require_name = strndup(optarg, (size_t)(colon - optarg));
			fk.require_value = strdup(v);
			if (!fk.require_name || !fk.require_value)
				fh_die("out of memory");
			break;
		}
		}
		if (num)
			fh_opt_number(opts, idx, num);
	}
	if (fk.b.every < 1)
		fh_die("--every must be at least 1");
	if (qt.daily < 1)
		qt.daily = 200000;
}

int main(int argc, char **argv)
{
	static const struct fh_server server = {
		.handle = handle, .thread_per_connection = 1, .connection_limit = CONNECTION_LIMIT,
		.thread_stack = THREAD_STACK, .stopping = stopping, .summary = summary_line
	};
	long max_seconds = 0;
	int rc;

	fh_set_name("fake_receiver");
	parse_args(argc, argv, &max_seconds);
	rc = fh_run(&server, 0, max_seconds);
	if (fk.keys)
		fclose(fk.keys);
	if (fk.times)
		fclose(fk.times);
	keyset_free(&fk.seen);
	quota_free();
	free(fk.require_name);
	free(fk.require_value);
	return rc == 0 ? 0 : 2;
}
