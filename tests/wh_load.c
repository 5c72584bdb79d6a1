/* wh_load: a loopback load client for signed GHL webhooks (tests and
 * bench/webhooks).
 *
 *   wh_load --url URL --key PRIVPEM [--duration SECONDS] [--concurrency N]
 *           [--location LOC] [--type TYPE] [--count MAX] [--ids FILE] [--json]
 *
 * It keeps N POSTs in flight (libcurl multi, N keep-alive connections) for
 * --duration seconds or until --count requests were sent, then waits for
 * the answers still due and prints a summary. Each body is a
 * ContactTagUpdate-shaped GHL event with a unique webhookId and a current
 * timestamp, signed with the private key: Ed25519 in X-GHL-Signature, or
 * RSA-SHA256 in X-WH-Signature for an RSA key. Bodies are signed in batches
 * ahead of need (the first batch before the clock starts), so that the
 * signing shows less in the latencies.
 *
 * Summary (--json: one JSON object; else one `key value` a line):
 * sent (requests answered or failed), ok (status 200), status_429, other
 * (any other status), errors (no HTTP answer: refused, reset, timed out),
 * duration_s (first send to last answer), rate_per_s (ok / duration_s),
 * p50_ms, p99_ms and max_ms of the latency from handing a request to curl to
 * its answer. --ids FILE: the webhookIds answered 200, one a line.
 *
 * Exit status: 0 when the run took place (whatever the answers), 2 for bad
 * usage or a key it cannot use, 1 for other failures. */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BODY_MAX 1024
#define SIG_B64_MAX 700      /* an RSA-4096 signature is 684 characters */
#define ID_LEN 37            /* a UUID and its NUL */
#define ANSWER_TIMEOUT_S 30  /* a request without an answer by then is an error */

struct opts {
	const char *url, *key, *location, *type, *ids;
	double duration;
	long concurrency, count;
	int json;
};

/* A signed body waiting to be sent. */
struct signed_body {
	char body[BODY_MAX];
	size_t len;
	char id[ID_LEN];
	char header[40 + SIG_B64_MAX];  /* "X-GHL-Signature: ..." */
};

/* A connection's slot: its easy handle and the request it carries. */
struct slot {
	CURL *easy;
	struct curl_slist *headers;
	struct signed_body b;
	double started;
	int busy;
};

struct stats {
	unsigned long sent, ok, s429, other, errors;
	double *lat_ms;  /* one per request answered or failed */
	size_t nlat, caplat;
	double first, last;
};

static volatile sig_atomic_t stop_now;

static void on_signal(int sig)
{
	(void)sig;
	stop_now = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- bodies and signatures ---------------------------------------------- */

struct signer {
	EVP_PKEY *key;
	int ed25519;
	const char *header;  /* the signature header's name */
	unsigned run[3];     /* random per run: webhookIds of two runs differ */
	unsigned long seq;
	struct signed_body *pool;
	size_t npool, next, batch;
};

static int signer_open(struct signer *s, const char *path, size_t batch)
{
	FILE *f = fopen(path, "r");
	FILE *ur;

	if (!f) {
		perror(path);
		return -1;
	}
	s->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!s->key) {
		fprintf(stderr, "wh_load: %s: no PEM private key in it\n", path);
		return -1;
	}
	s->ed25519 = EVP_PKEY_base_id(s->key) == EVP_PKEY_ED25519;
	if (!s->ed25519 && EVP_PKEY_base_id(s->key) != EVP_PKEY_RSA) {
		fprintf(stderr, "wh_load: %s: neither an Ed25519 nor an RSA key\n", path);
		return -1;
	}
	s->header = s->ed25519 ? "X-GHL-Signature" : "X-WH-Signature";
	ur = fopen("/dev/urandom", "rb");
	if (!ur || fread(s->run, sizeof(s->run), 1, ur) != 1) {
		s->run[0] = (unsigned)time(NULL);
		s->run[1] = (unsigned)clock();
	}
	if (ur)
		fclose(ur);
	s->batch = batch;
	s->pool = calloc(batch, sizeof(*s->pool));
	if (!s->pool) {
		fputs("wh_load: out of memory\n", stderr);
		return -1;
	}
	return 0;
}

static void signer_close(struct signer *s)
{
	EVP_PKEY_free(s->key);
	free(s->pool);
}

static int sign(const struct signer *s, struct signed_body *b)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char sig[SIG_B64_MAX / 4 * 3];
	size_t slen = sizeof(sig);
	int n, ok;

	if (!ctx)
		return -1;
	ok = EVP_DigestSignInit(ctx, NULL, s->ed25519 ? NULL : EVP_sha256(), NULL, s->key) == 1 &&
	     EVP_DigestSign(ctx, sig, &slen, (const unsigned char *)b->body, b->len) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -1;
	n = snprintf(b->header, sizeof(b->header), "%s: ", s->header);
	EVP_EncodeBlock((unsigned char *)b->header + n, sig, (int)slen);
	return 0;
}

static void iso_now(char *out, size_t outlen)
{
	struct timespec ts;
	struct tm tm;
	char sec[24];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, outlen, "%s.%03dZ", sec, (int)(ts.tv_nsec / 1000000));
}

/* One event, shaped like GHL's ContactTagUpdate: a contact of the location,
 * its tags and a few of its fields. */
static void make_body(struct signer *s, const struct opts *o, struct signed_body *b, const char *ts)
{
	unsigned long n = s->seq++;

	snprintf(b->id, sizeof(b->id), "%08x-%04x-4%03x-a%03x-%012lx", s->run[0], s->run[1] & 0xffff,
		 (s->run[1] >> 16) & 0xfff, s->run[2] & 0xfff, n);
	b->len = (size_t)snprintf(b->body, sizeof(b->body),
		"{\"type\":\"%s\",\"locationId\":\"%s\",\"id\":\"c%07lu\",\"webhookId\":\"%s\","
		"\"timestamp\":\"%s\",\"email\":\"contact%lu@example.org\",\"firstName\":\"Load\","
		"\"lastName\":\"Test %lu\",\"phone\":\"+1555%07lu\",\"dateAdded\":\"%s\",\"dnd\":false,"
		"\"source\":\"wh_load\",\"tags\":[\"vip\",\"load-%lu\",\"wave-%lu\"],\"customFields\":[]}",
		o->type, o->location, n % 10000000, b->id, ts, n, n, n % 10000000, ts, n % 97, n / 1000);
}

/* Refills the pool: a batch of bodies with the current time, signed. */
static int refill(struct signer *s, const struct opts *o)
{
	char ts[40];

	iso_now(ts, sizeof(ts));
	for (size_t i = 0; i < s->batch; i++) {
		make_body(s, o, &s->pool[i], ts);
		if (sign(s, &s->pool[i]) < 0) {
			fputs("wh_load: signing failed\n", stderr);
			return -1;
		}
	}
	s->npool = s->batch;
	s->next = 0;
	return 0;
}

static int next_body(struct signer *s, const struct opts *o, struct signed_body *out)
{
	if (s->next == s->npool && refill(s, o) < 0)
		return -1;
	*out = s->pool[s->next++];
	return 0;
}

/* ---- the run ------------------------------------------------------------ */

static size_t discard(char *p, size_t size, size_t n, void *u)
{
	(void)p;
	(void)u;
	return size * n;
}

static int add_latency(struct stats *st, double ms)
{
	if (st->nlat == st->caplat) {
		size_t cap = st->caplat ? st->caplat * 2 : 4096;
		double *l = realloc(st->lat_ms, cap * sizeof(*l));

		if (!l)
			return -1;
		st->lat_ms = l;
		st->caplat = cap;
	}
	st->lat_ms[st->nlat++] = ms;
	return 0;
}

static int start_request(CURLM *multi, struct slot *sl, struct signer *s, const struct opts *o)
{
	/* "Expect:": no 100-continue round trip */
	const char *lines[] = { "Content-Type: application/json", "Expect:", sl->b.header };
	struct curl_slist *h = NULL, *t;

	if (next_body(s, o, &sl->b) < 0)
		return -1;
	curl_slist_free_all(sl->headers);
	sl->headers = NULL;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		t = curl_slist_append(h, lines[i]);
		if (!t) {
			curl_slist_free_all(h);
			return -1;
		}
		h = t;
	}
	sl->headers = h;
	curl_easy_setopt(sl->easy, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(sl->easy, CURLOPT_POSTFIELDS, sl->b.body);
	curl_easy_setopt(sl->easy, CURLOPT_POSTFIELDSIZE, (long)sl->b.len);
	sl->started = now_s();
	sl->busy = 1;
	return curl_multi_add_handle(multi, sl->easy) == CURLM_OK ? 0 : -1;
}

static void finish_request(CURLM *multi, struct slot *sl, CURLcode rc, struct stats *st, FILE *ids)
{
	long status = 0;
	double t = now_s();

	curl_multi_remove_handle(multi, sl->easy);
	sl->busy = 0;
	st->sent++;
	st->last = t;
	if (add_latency(st, (t - sl->started) * 1000.0) < 0)
		fputs("wh_load: out of memory for latencies; percentiles leave some out\n", stderr);
	if (rc != CURLE_OK) {
		st->errors++;
		return;
	}
	curl_easy_getinfo(sl->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status == 200) {
		st->ok++;
		if (ids)
			fprintf(ids, "%s\n", sl->b.id);
	} else if (status == 429) {
		st->s429++;
	} else {
		st->other++;
	}
}

static int slot_init(struct slot *sl, const struct opts *o)
{
	sl->easy = curl_easy_init();
	if (!sl->easy)
		return -1;
	curl_easy_setopt(sl->easy, CURLOPT_URL, o->url);
	curl_easy_setopt(sl->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(sl->easy, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(sl->easy, CURLOPT_TIMEOUT, (long)ANSWER_TIMEOUT_S);
	curl_easy_setopt(sl->easy, CURLOPT_PRIVATE, sl);
	return 0;
}

static int more_to_send(const struct opts *o, const struct stats *st, unsigned long started, double t)
{
	return !stop_now && t - st->first < o->duration && (o->count <= 0 || started < (unsigned long)o->count);
}

static int run(const struct opts *o, struct signer *s, struct slot *slots, struct stats *st, FILE *ids)
{
	CURLM *multi = curl_multi_init();
	unsigned long started = 0;
	long busy = 0;
	int still, rc = 0;

	if (!multi)
		return -1;
	curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, o->concurrency);
	curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, o->concurrency);
	st->first = st->last = now_s();
	do {
		double t = now_s();
		CURLMsg *m;

		for (long i = 0; i < o->concurrency && more_to_send(o, st, started, t); i++) {
			if (slots[i].busy)
				continue;
			if (start_request(multi, &slots[i], s, o) < 0) {
				rc = -1;
				stop_now = 1;
				break;
			}
			started++;
			busy++;
		}
		curl_multi_perform(multi, &still);
		while ((m = curl_multi_info_read(multi, &still))) {
			struct slot *sl;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&sl);
			finish_request(multi, sl, m->data.result, st, ids);
			busy--;
		}
		if (busy && curl_multi_poll(multi, NULL, 0, 50, NULL) != CURLM_OK)
			break;
	} while (busy || more_to_send(o, st, started, now_s()));
	curl_multi_cleanup(multi);
	return rc;
}

/* ---- the summary -------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The nearest-rank percentile q of the sorted latencies. */
static double pct(const struct stats *st, double q)
{
	size_t k;

	if (!st->nlat)
		return 0;
	k = (size_t)(q * (double)st->nlat + 0.999999);
	return st->lat_ms[(k ? k : 1) - 1];
}

static void summary(const struct opts *o, struct stats *st)
{
	double dur = st->last - st->first;

	qsort(st->lat_ms, st->nlat, sizeof(double), cmp_double);
	if (dur <= 0)
		dur = 1e-9;
	if (o->json)
		printf("{\"sent\":%lu,\"ok\":%lu,\"status_429\":%lu,\"other\":%lu,\"errors\":%lu,"
		       "\"duration_s\":%.3f,\"rate_per_s\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f}\n",
		       st->sent, st->ok, st->s429, st->other, st->errors, dur, (double)st->ok / dur,
		       pct(st, 0.50), pct(st, 0.99), st->nlat ? st->lat_ms[st->nlat - 1] : 0.0);
	else
		printf("sent %lu\nok %lu\nstatus_429 %lu\nother %lu\nerrors %lu\nduration_s %.3f\n"
		       "rate_per_s %.1f\np50_ms %.3f\np99_ms %.3f\nmax_ms %.3f\n",
		       st->sent, st->ok, st->s429, st->other, st->errors, dur, (double)st->ok / dur,
		       pct(st, 0.50), pct(st, 0.99), st->nlat ? st->lat_ms[st->nlat - 1] : 0.0);
}

/* ---- main --------------------------------------------------------------- */

static void usage(FILE *out)
{
	fputs("usage: wh_load --url URL --key PRIVATE.pem [--duration SECONDS] [--concurrency N]\n"
	      "               [--location LOC] [--type TYPE] [--count MAX] [--ids FILE] [--json]\n"
	      "Sends signed GHL webhooks (Ed25519 key: X-GHL-Signature; RSA key: X-WH-Signature),\n"
	      "N in flight, for SECONDS (default 5) or MAX requests, and prints sent, ok, status_429,\n"
	      "other, errors, duration_s, rate_per_s (ok/s), p50_ms, p99_ms, max_ms.\n"
	      "--ids FILE: the webhookIds answered 200, one a line. Defaults: --concurrency 16,\n"
	      "--location loc-load, --type ContactTagUpdate.\n", out);
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option opts[] = {
		{ "url", required_argument, NULL, 'u' },      { "key", required_argument, NULL, 'k' },
		{ "duration", required_argument, NULL, 'd' }, { "concurrency", required_argument, NULL, 'c' },
		{ "location", required_argument, NULL, 'l' }, { "type", required_argument, NULL, 't' },
		{ "count", required_argument, NULL, 'n' },    { "ids", required_argument, NULL, 'i' },
		{ "json", no_argument, NULL, 'j' },           { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char *end;
	int c;

	*o = (struct opts){ .location = "loc-load", .type = "ContactTagUpdate", .duration = 5, .concurrency = 16 };
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'u': o->url = optarg; break;
		case 'k': o->key = optarg; break;
		case 'l': o->location = optarg; break;
		case 't': o->type = optarg; break;
		case 'i': o->ids = optarg; break;
		case 'j': o->json = 1; break;
		case 'd':
			o->duration = strtod(optarg, &end);
			if (*end || !(o->duration > 0 && o->duration < 1e6))
				goto bad;
			break;
		case 'c':
			o->concurrency = strtol(optarg, &end, 10);
			if (*end || o->concurrency < 1 || o->concurrency > 10000)
				goto bad;
			break;
		case 'n':
			o->count = strtol(optarg, &end, 10);
			if (*end || o->count < 1)
				goto bad;
			break;
		case 'h': usage(stdout); exit(0);
		default: goto bad;
		}
	}
	/* the strings go into a fixed-size body unescaped */
	if (!o->url || !o->key || optind != argc || strlen(o->location) > 64 || strlen(o->type) > 64 ||
	    strpbrk(o->location, "\"\\") || strpbrk(o->type, "\"\\"))
		goto bad;
	return 0;
bad:
	usage(stderr);
	return -1;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct signer s = { 0 };
	struct stats st = { 0 };
	struct slot *slots;
	FILE *ids = NULL;
	int rc = 1;

	if (parse_args(argc, argv, &o) < 0)
		return 2;
	if (signer_open(&s, o.key, (size_t)(o.concurrency < 32 ? 64 : o.concurrency * 2)) < 0) {
		signer_close(&s);
		return 2;
	}
	slots = calloc((size_t)o.concurrency, sizeof(*slots));
	if (!slots || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fputs("wh_load: out of memory\n", stderr);
		free(slots);
		signer_close(&s);
		return 1;
	}
	if (o.ids && !(ids = fopen(o.ids, "w")))
		perror(o.ids);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	for (long i = 0; i < o.concurrency; i++)
		if (slot_init(&slots[i], &o) < 0)
			goto out;
	if ((o.ids && !ids) || refill(&s, &o) < 0)
		goto out;
	if (run(&o, &s, slots, &st, ids) == 0)
		rc = 0;
	summary(&o, &st);
out:
	for (long i = 0; i < o.concurrency; i++) {
		if (slots[i].easy)
			curl_easy_cleanup(slots[i].easy);
		curl_slist_free_all(slots[i].headers);
	}
	if (ids && fclose(ids) != 0) {
		perror(o.ids);
		rc = 1;
	}
	free(slots);
	free(st.lat_ms);
	signer_close(&s);
	curl_global_cleanup();
	return rc;
}
