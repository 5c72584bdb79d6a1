/* The `http` sink: sends records to a URL as JSON.
 *
 * mode = record sends one request per record, the whole batch at once on
 * the host's transfer loop, each with an Idempotency-Key header carrying the
 * record's key; the batch is finished when the last answer is in. mode =
 * array sends one request per batch whose body is a JSON array of the
 * records' bodies; its Idempotency-Key is a hash of the batch's keys, which
 * are also listed in X-Idempotency-Keys when that header stays under 8 KiB.
 *
 * Verdicts: 2xx done; 408, 429, 5xx, timeouts and connection errors retry,
 * with the destination's Retry-After when it gives one; other 4xx and 3xx
 * fail. Header values are often credentials: they are never logged.
 *
 * Quota pacing: with pace_key (and usually rate) every request spends from
 * the host's bucket for its key, and waits there for a token rather than
 * being answered 429. A pace_key may end in a $.path, read from each record
 * (pace_key = ghl:${CLIENT_ID}:$.locationId), so that one sink paces each
 * location on its own. */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "hlbridge/hlbridge.h"
#include "http_rules.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

#define KEYS_HEADER_CAP 8192  /* X-Idempotency-Keys is left out above this */
#define BODY_EXCERPT 200      /* bytes of a response body quoted in a reason */
#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define RATE_MAX_REQUESTS 1000000            /* as the host's pacing accepts */
#define RATE_MAX_MS (7LL * 24 * 3600 * 1000)

static const hlb_option options[] = {
	{ "url", HLB_OPT_STRING, NULL, HLB_OPT_REQUIRED,
	  "http:// or https:// address the records are sent to (redirects are not followed)", NULL },
	{ "method", HLB_OPT_ENUM, "POST", 0, "HTTP method of each request", "POST|PUT|PATCH" },
	{ "mode", HLB_OPT_ENUM, "record", 0,
	  "record: one request per record; array: one request per batch, a JSON array of the bodies",
	  "record|array" },
	{ "header.", HLB_OPT_STRING, NULL, HLB_OPT_PREFIX | HLB_OPT_SECRET,
	  "header.NAME = value adds a request header; values are secret and never logged", NULL },
	{ "timeout", HLB_OPT_DURATION, "30s", 0, "longest time one request may take before it is retried", NULL },
	{ "max_response", HLB_OPT_INT, "65536", 0,
	  "bytes of a response body read (used only in error messages; 1-8388608)", NULL },
	{ "pace_key", HLB_OPT_STRING, NULL, 0,
	  "quota the requests spend from; may end in a $.path read from each record "
	  "(ghl:${CLIENT_ID}:$.locationId paces each location on its own)", NULL },
	{ "rate", HLB_OPT_STRING, NULL, 0,
	  "quota per pace key (without pace_key: for the url) as COUNT/DURATION, such as 100/10s; "
	  "the server's X-RateLimit-* headers correct it", NULL },
	{ NULL, 0, NULL, 0, NULL, NULL }
};

/* Headers the sink sets itself from each batch. */
static const char *const reserved_headers[] = {
	"Idempotency-Key", "X-Idempotency-Keys", "Content-Length", "Transfer-Encoding", "Host", NULL
};

struct delivery;

struct sink {
	const hlb_host *host;
	hlb_instance *inst;
	char *url;
	char shown[512];        /* the URL as log lines show it */
	const char *method;
	int array_mode;
	int64_t timeout_ms;
	size_t max_response;
	int has_verdict_http, has_retry_after;
	/* "Name: value" lines from header.* options, then room for the two
	 * per-request headers and the NULL that ends the list. */
	char **own;
	size_t nown;
	const char **hdrs;
	struct delivery *active; /* batches in flight, so fini can cancel them */
	/* Pacing: the key, or its text before the record's path. */
	int paced;
	char *pace_prefix;
	hlb_path *pace_path;
	uint32_t rate_max;       /* 0: no rate declared */
	int64_t rate_ms;
};

struct xfer {
	struct delivery *d;
	size_t index; /* the record it carries (record mode) */
	hlb_http *http;
	int done;
};

struct delivery {
	struct sink *s;
	hlb_job *job;
	size_t n;       /* records in the batch */
	size_t nx;      /* transfers */
	size_t pending; /* transfers not answered yet, plus one while starting */
	struct delivery *prev, *next;
	struct xfer x[];
};

/* A growable text buffer for bodies and headers. */
struct text {
	char *p;
	size_t len, cap;
	int oom;
};

/* Room for n more bytes and a NUL. */
static int text_reserve(struct text *t, size_t n)
{
	size_t cap;
	char *p;

	if (t->oom)
		return -1;
	if (t->len + n + 1 <= t->cap)
		return 0;
	for (cap = t->cap ? t->cap : 1024; cap < t->len + n + 1; cap *= 2)
		;
	p = realloc(t->p, cap);
	if (!p) {
		t->oom = 1;
		return -1;
	}
	t->p = p;
	t->cap = cap;
	return 0;
}

static int text_add(struct text *t, const char *s, size_t n)
{
	if (text_reserve(t, n) < 0)
		return -1;
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = 0;
	return 0;
}

static int text_key(struct text *t, const char *key, int in_list)
{
	size_t need = hsink_key_escape(key, in_list, NULL, 0);

	if (text_reserve(t, need) < 0)
		return -1;
	hsink_key_escape(key, in_list, t->p + t->len, t->cap - t->len);
	t->len += need;
	return 0;
}

/* ---- setup -------------------------------------------------------------- */

static int is_reserved(const char *name)
{
	for (const char *const *r = reserved_headers; *r; r++)
		if (strcasecmp(name, *r) == 0)
			return 1;
	return 0;
}

static int has_own_header(const struct sink *s, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < s->nown; i++)
		if (strncasecmp(s->own[i], name, len) == 0 && s->own[i][len] == ':')
			return 1;
	return 0;
}

static int add_own(struct sink *s, const char *name, const char *value)
{
	char **own = realloc(s->own, (s->nown + 1) * sizeof(*own));
	size_t len;

	if (!own)
		return HLB_ENOMEM;
	s->own = own;
	/* curl drops a header given as "Name:"; "Name;" sends it empty. */
	len = strlen(name) + strlen(value) + 3;
	s->own[s->nown] = malloc(len);
	if (!s->own[s->nown])
		return HLB_ENOMEM;
	if (*value)
		snprintf(s->own[s->nown], len, "%s: %s", name, value);
	else
		snprintf(s->own[s->nown], len, "%s;", name);
	s->nown++;
	return HLB_OK;
}

/* Reads every header.NAME option, reporting each bad one. */
static int load_headers(struct sink *s)
{
	const char *key, *value;
	size_t cursor = 0;
	int bad = 0, rc;

	while (s->host->option_next(s->inst, &cursor, &key, &value, NULL)) {
		const char *name = key + 7;

		if (strncmp(key, "header.", 7) != 0)
			continue;
		if (!hsink_header_name_ok(name)) {
			s->host->option_error(s->inst, key, "'%s' is not a valid HTTP header name", name);
			bad++;
			continue;
		}
		if (is_reserved(name)) {
			s->host->option_error(s->inst, key, "%s is set by the http sink itself", name);
			bad++;
			continue;
		}
		if (strpbrk(value, "\r\n")) {
			s->host->option_error(s->inst, key, "a header value must be one line");
			bad++;
			continue;
		}
		if ((rc = add_own(s, name, value)) != HLB_OK)
			return rc;
	}
	if (bad)
		return HLB_EINVAL;
	if (!has_own_header(s, "Content-Type") && (rc = add_own(s, "Content-Type", "application/json")) != HLB_OK)
		return rc;
	s->hdrs = calloc(s->nown + 3, sizeof(*s->hdrs));
	if (!s->hdrs)
		return HLB_ENOMEM;
	for (size_t i = 0; i < s->nown; i++)
		s->hdrs[i] = s->own[i];
	return HLB_OK;
}

/* "100/10s", "20/1s", "5/s", "1000/1h": a count, '/', and a duration
 * whose number may be left out (ms, s, m, h or d). */
static int parse_rate(const char *text, uint32_t *max, int64_t *ms)
{
	static const struct { const char *name; int64_t ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "d", 86400000 }
	};
	unsigned long long n;
	long long per = 1;
	char *end;

	if (!isdigit((unsigned char)*text))
		return -1;
	errno = 0;
	n = strtoull(text, &end, 10);
	if (errno || n < 1 || n > RATE_MAX_REQUESTS || *end != '/')
		return -1;
	text = end + 1;
	if (isdigit((unsigned char)*text)) {
		per = strtoll(text, &end, 10);
		if (errno || per < 1 || per > RATE_MAX_MS)
			return -1;
		text = end;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(text, units[i].name) == 0) {
			if (per > RATE_MAX_MS / units[i].ms)
				return -1;
			*max = (uint32_t)n;
			*ms = per * units[i].ms;
			return 0;
		}
	return -1;
}

/* Reads pace_key and rate; reports what is wrong with them. */
static int load_pacing(struct sink *s, int *bad)
{
	const hlb_host *host = s->host;
	const char *key = host->option(s->inst, "pace_key");
	const char *rate = host->option(s->inst, "rate");
	const char *path = NULL;
	char err[256];

	if (rate && parse_rate(rate, &s->rate_max, &s->rate_ms) < 0) {
		host->option_error(s->inst, "rate", "expected COUNT/DURATION such as 100/10s, with COUNT from 1 to "
				   "1000000 and DURATION at most 7d");
		(*bad)++;
	}
	if (!key && !rate)
		return HLB_OK;
	if (!HLB_HOST_HAS(host, pace_configure) || !host->pace_configure) {
		host->option_error(s->inst, key ? "pace_key" : "rate", "this hlbridge cannot pace requests");
		(*bad)++;
		return HLB_OK;
	}
	s->paced = 1;
	if (key && !*key) {
		host->option_error(s->inst, "pace_key", "must not be empty");
		(*bad)++;
		return HLB_OK;
	}
	/* ${VAR} is expanded already: a '$' left is the start of a path. */
	for (const char *d = key; d && (d = strchr(d, '$')); d++)
		if (d[1] == '.' || d[1] == '[') {
			path = d;
			break;
		}
	if (path) {
		s->pace_path = host->path_compile(path, err, sizeof(err));
		if (!s->pace_path) {
			host->option_error(s->inst, "pace_key", "%s", err);
			(*bad)++;
			return HLB_OK;
		}
		if (s->array_mode) {
			host->option_error(s->inst, "pace_key", "a key read from each record needs mode = record");
			(*bad)++;
			return HLB_OK;
		}
		s->pace_prefix = strndup(key, (size_t)(path - key));
	} else if (key) {
		s->pace_prefix = strdup(key);
	} else {
		/* A rate without a key: the URL is the quota. */
		size_t len = strlen(s->shown) + 5;

		s->pace_prefix = malloc(len);
		if (s->pace_prefix)
			snprintf(s->pace_prefix, len, "url:%s", s->shown);
	}
	if (!s->pace_prefix)
		return HLB_ENOMEM;
	if (!s->pace_path && s->rate_max && !*bad)
		return host->pace_configure(s->inst, s->pace_prefix, s->rate_max, s->rate_ms);
	return HLB_OK;
}

static void sink_free(struct sink *s)
{
	for (size_t i = 0; i < s->nown; i++)
		free(s->own[i]);
	free(s->own);
	free(s->hdrs);
	free(s->url);
	free(s->pace_prefix);
	if (s->pace_path)
		s->host->path_free(s->pace_path);
	free(s);
}

static int init(const hlb_host *host, hlb_instance *inst, uint32_t role, void **state)
{
	struct sink *s;
	const char *url = host->option(inst, "url");
	const char *mode = host->option(inst, "mode");
	const char *method = host->option(inst, "method");
	int64_t max_response = host->option_int(inst, "max_response", 65536);
	char err[128];
	int bad = 0, rc;

	if (role != HLB_CAP_SINK)
		return HLB_EUNSUPPORTED;
	s = calloc(1, sizeof(*s));
	if (!s)
		return HLB_ENOMEM;
	s->host = host;
	s->inst = inst;
	/* Every bad option is reported before init fails, so one run shows
	 * all the mistakes in the section. */
	if (!url || hsink_url_check(url, err, sizeof(err)) < 0) {
		host->option_error(inst, "url", "%s", url ? err : "is required");
		bad++;
	}
	if (max_response < 1 || max_response > (8 << 20)) {
		host->option_error(inst, "max_response", "must be between 1 and 8388608 bytes");
		bad++;
	}
	s->timeout_ms = host->option_ms(inst, "timeout", 30000);
	if (s->timeout_ms <= 0) {
		host->option_error(inst, "timeout", "must be longer than 0");
		bad++;
	}
	rc = load_headers(s);
	if (url)
		hsink_url_display(url, s->shown, sizeof(s->shown));
	s->array_mode = mode && strcmp(mode, "array") == 0;
	if (rc == HLB_OK)
		rc = load_pacing(s, &bad);
	if (rc == HLB_OK && bad)
		rc = HLB_EINVAL;
	if (rc == HLB_OK && !(s->url = strdup(url)))
		rc = HLB_ENOMEM;
	if (rc != HLB_OK) {
		sink_free(s);
		return rc;
	}
	/* The host validated the choice; a literal outlives the option text. */
	s->method = "POST";
	if (method && strcmp(method, "PUT") == 0)
		s->method = "PUT";
	else if (method && strcmp(method, "PATCH") == 0)
		s->method = "PATCH";
	s->max_response = (size_t)max_response;
	s->has_verdict_http = HLB_HOST_HAS(host, verdict_http) && host->verdict_http;
	s->has_retry_after = HLB_HOST_HAS(host, retry_after_ms) && host->retry_after_ms;
	*state = s;
	return HLB_OK;
}

/* A request to the URL could create or change data at the destination, and
 * HEAD or OPTIONS are not harmless everywhere: check only reads the URL. */
static int check(void *state, hlb_job *job)
{
	struct sink *s = state;
	char msg[1400], pace[700] = "";

	if (s->paced && s->rate_max)
		snprintf(pace, sizeof(pace), ", at most %" PRIu32 " per %" PRId64 " ms per pace key %s%s%s",
			 s->rate_max, s->rate_ms, s->pace_prefix, s->pace_path ? s->host->path_text(s->pace_path) : "",
			 s->pace_path ? " (one key per value)" : "");
	else if (s->paced)
		snprintf(pace, sizeof(pace), ", paced per key %s%s as the server's X-RateLimit-* headers say",
			 s->pace_prefix, s->pace_path ? s->host->path_text(s->pace_path) : "");
	snprintf(msg, sizeof(msg), "%s %s, one request per %s%s (the URL is well-formed; it was not contacted)",
		 s->method, s->shown, s->array_mode ? "batch" : "record", pace);
	s->host->finish(job, HLB_OK, msg);
	return HLB_OK;
}

/* ---- delivery ----------------------------------------------------------- */

static void give(struct sink *s, hlb_job *job, size_t i, hlb_verdict v, const char *why, long status,
		 int64_t retry_after_ms)
{
	if (s->has_verdict_http)
		s->host->verdict_http(job, i, v, why, status, retry_after_ms);
	else
		s->host->verdict(job, i, v, why);
}

/* Writes the reason for a verdict other than done: method, URL, then the
 * status and the start of the body, or the transfer error. */
static void explain(struct sink *s, const hlb_http_response *resp, int result, long status, char *why,
		    size_t whylen)
{
	char excerpt[BODY_EXCERPT * 2 + 1];
	size_t len = 0;
	const char *body;

	if (hsink_status_counts(result, status)) {
		body = s->host->http_body(resp, &len);
		hsink_sanitize(body ? body : "", body ? len : 0, BODY_EXCERPT, excerpt, sizeof(excerpt));
		snprintf(why, whylen, "%s %s: HTTP %ld%s%s%s", s->method, s->shown, status,
			 status >= 300 && status < 400 ? " (redirects are not followed: set url to the final address)"
						       : "",
			 *excerpt ? ": " : "", excerpt);
		return;
	}
	const char *err = s->host->http_error(resp);
	hsink_sanitize(err ? err : "", err ? strlen(err) : 0, BODY_EXCERPT, excerpt, sizeof(excerpt));
	snprintf(why, whylen, "%s %s: %s%s%s%s", s->method, s->shown, s->host->strerror(result),
		 *excerpt ? " (" : "", excerpt, *excerpt ? ")" : "");
}

static void delivery_done(struct delivery *d)
{
	struct sink *s = d->s;
	hlb_job *job = d->job;

	if (d->prev)
		d->prev->next = d->next;
	else
		s->active = d->next;
	if (d->next)
		d->next->prev = d->prev;
	free(d);
	s->host->finish(job, HLB_OK, NULL);
}

static void settle(struct delivery *d)
{
	if (--d->pending == 0)
		delivery_done(d);
}

static void on_response(void *arg, const hlb_http_response *resp)
{
	struct xfer *x = arg;
	struct delivery *d = x->d;
	struct sink *s = d->s;
	int result = s->host->http_result(resp);
	long status = s->host->http_status(resp);
	hlb_verdict v = hsink_verdict(result, status);
	int64_t wait = 0;
	char why[1024];

	x->http = NULL;
	x->done = 1;
	/* A status from a response that did not arrive whole is no answer. */
	if (!hsink_status_counts(result, status))
		status = 0;
	if (v == HLB_RETRY && status && s->has_retry_after) {
		/* http_header's value lives only until the next call: use it now */
		const char *ra = s->host->http_header(resp, "Retry-After");

		wait = ra ? s->host->retry_after_ms(ra) : 0;
		if (wait < 0)
			wait = 0;
	}
	if (v != HLB_DONE)
		explain(s, resp, result, status, why, sizeof(why));
	if (s->array_mode) {
		for (size_t i = 0; i < d->n; i++)
			give(s, d->job, i, v, v == HLB_DONE ? NULL : why, status, wait);
	} else {
		give(s, d->job, x->index, v, v == HLB_DONE ? NULL : why, status, wait);
	}
	settle(d);
}

/* Starts one transfer; a transfer that cannot start is retried later. */
static void start(struct delivery *d, struct xfer *x, const char *body, size_t len, const char *pace_key)
{
	struct sink *s = d->s;
	hlb_http_request req = HLB_HTTP_REQUEST_INIT;
	hlb_http *h;

	req.method = s->method;
	req.url = s->url;
	req.headers = s->hdrs;
	req.body = body;
	req.body_len = len;
	req.timeout_ms = s->timeout_ms;
	req.max_response = s->max_response;
	req.pace_key = pace_key;
	h = s->host->http_request(s->inst, &req, on_response, x);
	if (!h) {
		char why[700];

		snprintf(why, sizeof(why), "%s %s: the request could not be started", s->method, s->shown);
		x->done = 1;
		if (s->array_mode)
			for (size_t i = 0; i < d->n; i++)
				give(s, d->job, i, HLB_RETRY, why, 0, 0);
		else
			give(s, d->job, x->index, HLB_RETRY, why, 0, 0);
		settle(d);
		return;
	}
	/* A host may answer before returning; the handle is gone then. */
	if (!x->done)
		x->http = h;
}

/* The pace key of a record: the prefix and the text of the value at the
 * path; a record without that value is paced under the prefix alone (or
 * "-"). The host's bucket for a new key gets the declared rate. */
static const char *record_pace_key(struct sink *s, const hlb_record *r, struct text *key)
{
	struct json_object *v;
	const char *text;

	if (!s->paced)
		return NULL;
	if (!s->pace_path)
		return s->pace_prefix;
	key->len = 0;
	text_add(key, s->pace_prefix, strlen(s->pace_prefix));
	v = s->host->path_get(s->pace_path, s->host->record_body(r));
	text = v ? json_object_get_string(v) : NULL;
	if (text)
		text_add(key, text, strlen(text));
	if (key->oom)
		return NULL;
	if (!key->len)
		text_add(key, "-", 1);
	if (s->rate_max)
		s->host->pace_configure(s->inst, key->p, s->rate_max, s->rate_ms);
	return key->p;
}

static void deliver_records(struct delivery *d)
{
	struct sink *s = d->s;
	const hlb_host *host = s->host;
	struct text idem = { 0 }, key = { 0 };

	for (size_t i = 0; i < d->n; i++) {
		const hlb_record *r = host->batch_record(d->job, i);
		const char *body = json_object_to_json_string_ext(host->record_body(r), JSON_FLAGS);
		const char *pace_key;

		idem.len = 0;
		text_add(&idem, "Idempotency-Key: ", 17);
		text_key(&idem, host->record_key(r), 0);
		d->x[i].index = i;
		pace_key = record_pace_key(s, r, &key);
		if (idem.oom || (s->paced && !pace_key)) {
			/* Without its key the request could be applied twice. */
			d->x[i].done = 1;
			give(s, d->job, i, HLB_RETRY, "out of memory", 0, 0);
			settle(d);
			continue;
		}
		s->hdrs[s->nown] = idem.p;
		s->hdrs[s->nown + 1] = NULL;
		start(d, &d->x[i], body, strlen(body), pace_key);
	}
	free(idem.p);
	free(key.p);
}

static void deliver_array(struct delivery *d)
{
	struct sink *s = d->s;
	const hlb_host *host = s->host;
	struct text body = { 0 }, idem = { 0 }, list = { 0 };
	uint64_t h = HSINK_FNV_INIT;
	char hash[64];

	text_add(&body, "[", 1);
	text_add(&list, "X-Idempotency-Keys: ", 20);
	for (size_t i = 0; i < d->n; i++) {
		const hlb_record *r = host->batch_record(d->job, i);
		const char *key = host->record_key(r);
		const char *json = json_object_to_json_string_ext(host->record_body(r), JSON_FLAGS);

		if (i) {
			text_add(&body, ",", 1);
			h = hsink_fnv1a(h, "\n", 1);
			if (list.len <= KEYS_HEADER_CAP)
				text_add(&list, ",", 1);
		}
		text_add(&body, json, strlen(json));
		h = hsink_fnv1a(h, key, strlen(key));
		if (list.len <= KEYS_HEADER_CAP)
			text_key(&list, key, 1);
	}
	text_add(&body, "]", 1);
	snprintf(hash, sizeof(hash), "Idempotency-Key: %016" PRIx64, h);
	text_add(&idem, hash, strlen(hash));
	d->x[0].index = 0;
	if (body.oom || idem.oom) {
		d->x[0].done = 1;
		for (size_t i = 0; i < d->n; i++)
			give(s, d->job, i, HLB_RETRY, "out of memory", 0, 0);
		settle(d);
	} else {
		s->hdrs[s->nown] = idem.p;
		s->hdrs[s->nown + 1] = list.oom || list.len > KEYS_HEADER_CAP ? NULL : list.p;
		s->hdrs[s->nown + 2] = NULL;
		start(d, &d->x[0], body.p, body.len, s->paced ? s->pace_prefix : NULL);
	}
	free(body.p);
	free(idem.p);
	free(list.p);
}

static int deliver(void *state, hlb_job *job)
{
	struct sink *s = state;
	size_t n = s->host->batch_size(job);
	size_t nx = s->array_mode ? 1 : n;
	struct delivery *d;

	if (n == 0) {
		s->host->finish(job, HLB_OK, NULL);
		return HLB_OK;
	}
	d = calloc(1, sizeof(*d) + nx * sizeof(d->x[0]));
	if (!d)
		return HLB_ENOMEM; /* the host retries the batch */
	d->s = s;
	d->job = job;
	d->n = n;
	d->nx = nx;
	for (size_t i = 0; i < nx; i++)
		d->x[i].d = d;
	d->next = s->active;
	if (d->next)
		d->next->prev = d;
	s->active = d;
	/* The extra count keeps the batch open until every transfer started,
	 * even if one finishes while the others are still being started. */
	d->pending = nx + 1;
	if (s->array_mode)
		deliver_array(d);
	else
		deliver_records(d);
	s->hdrs[s->nown] = NULL;
	settle(d);
	return HLB_OK;
}

/* Transfers still in flight are cancelled; their batch stays with the host,
 * which owns unfinished jobs at shutdown. */
static void fini(void *state)
{
	struct sink *s = state;

	if (!s)
		return;
	while (s->active) {
		struct delivery *d = s->active;

		s->active = d->next;
		for (size_t i = 0; i < d->nx; i++)
			if (d->x[i].http)
				s->host->http_cancel(d->x[i].http);
		free(d);
	}
	sink_free(s);
}

const hlb_plugin HLB_PLUGIN_EXPORT(http) = {
	HLB_PLUGIN_HEADER,
	.caps = HLB_CAP_SINK,
	.name = "http",
	.version = PACKAGE_VERSION,
	.summary = "sends records to a URL as JSON, one request per record or per batch",
	.options = options,
	.init = init,
	.check = check,
	.deliver = deliver,
	.fini = fini,
};
