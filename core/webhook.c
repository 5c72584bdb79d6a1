/* Webhook intake (see webhook.h). What each answer means to the sender
 * decides the codes: GHL retries only a 429 (six times, ten minutes
 * apart), so every failure that a later delivery could get past is a 429;
 * Octorate retries anything but 200 and 406, so a delivery that can never
 * be processed is a 406 and a passing trouble a 503. */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <json-c/json.h>
#include <openssl/crypto.h>

#include "config.h"
#include "diag.h"
#include "engine.h"
#include "graph.h"
#include "log.h"
#include "metrics.h"
#include "record.h"
#include "replay.h"
#include "value.h"
#include "webhook.h"
#include "webhook_sig.h"

#define MAX_JSON_DEPTH 64
#define REPLAY_MAX_IDS 500000 /* about 50 MB at most */
#define OCTORATE_PREFIX "/webhooks/octorate/"
/* GHL retries a 429 up to six times about ten minutes apart */
#define RETRIED_TTL_MS (90 * 60 * 1000)
#define RETRIED_MAX_IDS 100000
#define INFLIGHT_TTL_MS (60 * 60 * 1000)

struct sub {
	struct hlb_instance *inst;
	char *channel, *type;
};

struct hc_webhooks {
	hc_engine *e;
	struct sub *subs;
	size_t nsubs, capsubs;
	hc_keyring *ed25519, *rsa;
	int legacy;
	int64_t window_ms;
	uint64_t queue_limit;
	char *octorate_secret;
	hc_replay *replay;
	/* ids being processed (a copy arriving meanwhile must not get a 200
	 * before the first is committed), and ids answered 429: GHL redelivers
	 * those about ten minutes later with the same timestamp, which the
	 * window alone would refuse for good */
	hc_replay *inflight, *retried;
	uint64_t accepted, rejected;
};

/* One delivery handed to its subscribers, answered when the last is done. */
struct delivery {
	hc_webhooks *w;
	hc_request *req;
	int ghl;
	size_t outstanding;
	int rc;
	char *replay_id;
	char *message;
};

hc_webhooks *hc_webhooks_new(void)
{
	return calloc(1, sizeof(hc_webhooks));
}

void hc_webhooks_free(hc_webhooks *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->nsubs; i++) {
		free(w->subs[i].channel);
		free(w->subs[i].type);
	}
	free(w->subs);
	hc_keyring_free(w->ed25519);
	hc_keyring_free(w->rsa);
	free(w->octorate_secret);
	hc_replay_free(w->replay);
	hc_replay_free(w->inflight);
	hc_replay_free(w->retried);
	free(w);
}

int hc_webhooks_subscribe(hc_webhooks *w, struct hlb_instance *inst, const char *channel,
			  const char *type)
{
	struct sub *s;

	if (!w || !inst || !channel || !type || !*type || inst->role != HLB_CAP_SOURCE ||
	    (strcmp(channel, "ghl") != 0 && strcmp(channel, "octorate") != 0))
		return HLB_EINVAL;
	if (!inst->mod->desc->webhook || inst->mod->desc->size < offsetof(hlb_plugin, webhook) +
	    sizeof(inst->mod->desc->webhook))
		return HLB_EUNSUPPORTED;
	if (w->nsubs == w->capsubs) {
		size_t cap = w->capsubs ? w->capsubs * 2 : 8;
		struct sub *n = realloc(w->subs, cap * sizeof(*n));

		if (!n)
			return HLB_ENOMEM;
		w->subs = n;
		w->capsubs = cap;
	}
	s = &w->subs[w->nsubs];
	s->inst = inst;
	s->channel = strdup(channel);
	s->type = strdup(type);
	if (!s->channel || !s->type) {
		free(s->channel);
		free(s->type);
		return HLB_ENOMEM;
	}
	w->nsubs++;
	return HLB_OK;
}

size_t hc_webhooks_subscriptions(const hc_webhooks *w)
{
	return w ? w->nsubs : 0;
}

void hc_webhooks_counts(const hc_webhooks *w, uint64_t *accepted, uint64_t *rejected)
{
	*accepted = w ? w->accepted : 0;
	*rejected = w ? w->rejected : 0;
}

/* ---- configuration ------------------------------------------------------ */

struct keys_arg {
	hc_keyring *ring;
	hc_diag *diag;
	const char *file, *key;
	int failed;
};

static void add_key(const char *item, size_t len, void *arg)
{
	struct keys_arg *a = arg;
	char spec[4096], err[256];

	if (len == 0)
		return;
	if (len >= sizeof(spec)) {
		hc_diag_error(a->diag, a->file, 0, "[service] %s: a key name or value is too long", a->key);
		a->failed = 1;
		return;
	}
	memcpy(spec, item, len);
	spec[len] = '\0';
	if (hc_keyring_add(a->ring, spec, err, sizeof(err)) < 0) {
		hc_diag_error(a->diag, a->file, 0, "[service] %s: %s", a->key, err);
		a->failed = 1;
	}
}

static hc_keyring *load_keys(hc_graph *g, hc_diag *d, const char *key, hc_key_kind kind,
			     const char *dflt)
{
	struct keys_arg a = { hc_keyring_new(kind), d, g->cfg->file, key, 0 };
	const char *v = hc_service_option(g, key);

	if (!a.ring)
		return NULL;
	if (!v)
		v = dflt;
	if (v)
		hc_list_each(v, add_key, &a);
	if (a.failed) {
		hc_keyring_free(a.ring);
		return NULL;
	}
	return a.ring;
}

int hc_webhooks_configure(hc_webhooks *w, hc_engine *e, hc_diag *d)
{
	hc_graph *g = hc_engine_graph(e);
	const char *file = g->cfg->file;
	const char *v;
	int64_t n;

	w->e = e;
	hc_parse_bool(hc_service_option(g, "ghl_webhook_legacy"), &w->legacy);
	hc_parse_duration_ms(hc_service_option(g, "webhook_window"), &w->window_ms);
	/* 0: no bound */
	w->queue_limit = UINT64_MAX;
	if (hc_parse_int(hc_service_option(g, "webhook_queue_limit"), &n) == 0 && n > 0)
		w->queue_limit = (uint64_t)n;
	if (!(w->ed25519 = load_keys(g, d, "ghl_webhook_key", HC_KEY_ED25519, hc_ghl_published_key)))
		return -1;
	if (w->legacy) {
		if (!hc_service_option(g, "ghl_webhook_rsa_key")) {
			hc_diag_error(d, file, 0, "[service] ghl_webhook_legacy = on needs "
				      "ghl_webhook_rsa_key (GHL's RSA public key, PEM file or base64)");
			return -1;
		}
		if (!(w->rsa = load_keys(g, d, "ghl_webhook_rsa_key", HC_KEY_RSA, NULL)))
			return -1;
	}
	v = hc_service_option(g, "octorate_webhook_secret");
	if (v) {
		if (strlen(v) < 16 || strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					  "0123456789-_.~") != strlen(v)) {
			hc_diag_error(d, file, 0, "[service] octorate_webhook_secret: use 16 or more "
				      "letters, digits, '-', '_', '.' or '~' (it is part of a URL path)");
			return -1;
		}
		if (!(w->octorate_secret = strdup(v)))
			return -1;
	}
	/* a replay needs remembering only while its timestamp would pass */
	w->replay = hc_replay_new(2 * w->window_ms, REPLAY_MAX_IDS);
	w->inflight = hc_replay_new(INFLIGHT_TTL_MS, REPLAY_MAX_IDS);
	w->retried = hc_replay_new(RETRIED_TTL_MS, RETRIED_MAX_IDS);
	return w->replay && w->inflight && w->retried ? 0 : -1;
}

/* ---- answers ------------------------------------------------------------ */

static void count(hc_webhooks *w, const char *channel, const char *outcome, const char *reason)
{
	const char *labels[] = { "channel", channel, "outcome", outcome, "reason", reason, NULL };
	hc_metrics *m = hc_engine_metrics(w->e);

	if (strcmp(outcome, "accepted") == 0)
		w->accepted++;
	else
		w->rejected++;
	if (m)
		hc_metric_add(m, "hlbridge_webhooks_total",
			      "Webhook deliveries received, by channel, outcome and reason", labels, 1);
}

static void answer(hc_request *req, unsigned status, const char *status_word, const char *detail,
		   int retry_after_s)
{
	char body[512], ra[32];
	const char *headers[] = { ra, NULL };
	struct json_object *o = json_object_new_object();
	const char *text;

	json_object_object_add(o, "status", json_object_new_string(status_word));
	if (detail)
		json_object_object_add(o, "detail", json_object_new_string(detail));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	snprintf(body, sizeof(body), "%s\n", text ? text : "{}");
	json_object_put(o);
	snprintf(ra, sizeof(ra), "Retry-After: %d", retry_after_s);
	hc_request_respond(req, status, "application/json", body, strlen(body),
			   retry_after_s > 0 ? headers : NULL);
}

static void reject(hc_webhooks *w, hc_request *req, const char *channel, unsigned status,
		   const char *reason, const char *detail)
{
	count(w, channel, "rejected", reason);
	hc_log("webhook", HLB_LOG_WARN, "%s delivery refused (%u %s)%s%s", channel, status, reason,
	       detail ? ": " : "", detail ? detail : "");
	answer(req, status, reason, detail, status == 429 || status == 503 ? 60 : 0);
}

/* This id was answered 429: its redelivery may be older than the window. */
static void retry_allowed(hc_webhooks *w, const char *id)
{
	if (hc_replay_check(w->retried, id, hc_wall_ms()) < 0)
		hc_log("webhook", HLB_LOG_WARN, "out of memory: the redelivery of %s may be refused as stale", id);
}

/* 1 when `id` was answered 429 within RETRIED_TTL_MS. */
static int was_retried(hc_webhooks *w, const char *id)
{
	int seen = hc_replay_check(w->retried, id, hc_wall_ms());

	if (seen == 0)
		hc_replay_forget(w->retried, id);
	return seen == 1;
}

static void delivery_free(struct delivery *d)
{
	free(d->replay_id);
	free(d->message);
	free(d);
}

static void delivery_done(void *arg, int rc, const char *message)
{
	struct delivery *d = arg;

	/* the worst answer wins: a retry beats a refusal beats success */
	if (rc < 0 && (d->rc >= 0 || (rc != HLB_EPARSE && rc != HLB_EINVAL))) {
		d->rc = rc;
		free(d->message);
		d->message = message ? strdup(message) : NULL;
	}
	if (--d->outstanding)
		return;
	hc_webhooks *w = d->w;
	const char *ch = d->ghl ? "ghl" : "octorate";

	if (d->replay_id)
		hc_replay_forget(w->inflight, d->replay_id);
	if (d->rc >= 0) {
		count(w, ch, "accepted", "ok");
		answer(d->req, 200, "accepted", NULL, 0);
	} else {
		/* the sender may deliver it again: it must be processed then */
		if (d->replay_id)
			hc_replay_forget(w->replay, d->replay_id);
		if (d->rc == HLB_EPARSE || d->rc == HLB_EINVAL)
			reject(w, d->req, ch, d->ghl ? 400 : 406, "unprocessable", d->message);
		else {
			if (d->replay_id)
				retry_allowed(w, d->replay_id);
			reject(w, d->req, ch, d->ghl ? 429 : 503, "not_queued",
			       d->message ? d->message : hc_host_table()->strerror(d->rc));
		}
	}
	delivery_free(d);
}

static int subscribed(const struct sub *s, const char *channel, const char *type)
{
	return strcmp(s->channel, channel) == 0 && (strcmp(s->type, "*") == 0 || strcmp(s->type, type) == 0);
}

/* Hands the event to every subscriber; the answer comes from delivery_done. */
static void fan_out(hc_webhooks *w, hc_request *req, const hlb_webhook *ev, const char *replay_id)
{
	int ghl = strcmp(ev->channel, "ghl") == 0;
	struct delivery *d;
	size_t n = 0;

	for (size_t i = 0; i < w->nsubs; i++)
		n += subscribed(&w->subs[i], ev->channel, ev->type);
	if (n == 0) {
		/* nobody wants it: done, and the sender need not try again */
		count(w, ev->channel, "accepted", "no_subscriber");
		answer(req, 200, "ignored", "no source takes this event type", 0);
		return;
	}
	for (size_t i = 0; i < w->nsubs; i++)
		if (subscribed(&w->subs[i], ev->channel, ev->type) &&
		    hc_engine_queue_depth(w->e, w->subs[i].inst) >= w->queue_limit) {
			if (replay_id) {
				hc_replay_forget(w->replay, replay_id);
				retry_allowed(w, replay_id);
			}
			reject(w, req, ev->channel, ghl ? 429 : 503, "queue_full",
			       "the queue is above webhook_queue_limit; deliver again later");
			return;
		}
	if (!(d = calloc(1, sizeof(*d))) || (replay_id && !(d->replay_id = strdup(replay_id)))) {
		free(d);
		if (replay_id) {
			hc_replay_forget(w->replay, replay_id);
			retry_allowed(w, replay_id);
		}
		reject(w, req, ev->channel, ghl ? 429 : 503, "out_of_memory", NULL);
		return;
	}
	if (replay_id && hc_replay_check(w->inflight, replay_id, hc_wall_ms()) < 0)
		hc_log("webhook", HLB_LOG_WARN, "out of memory tracking webhook %s", replay_id);
	d->w = w;
	d->req = req;
	d->ghl = ghl;
	d->outstanding = n + 1; /* one for this loop, so no answer goes out mid-way */
	for (size_t i = 0; i < w->nsubs; i++) {
		if (!subscribed(&w->subs[i], ev->channel, ev->type))
			continue;
		int rc = hc_engine_webhook(w->e, w->subs[i].inst, ev, delivery_done, d);

		if (rc < 0)
			delivery_done(d, rc, "the source cannot take it now");
	}
	delivery_done(d, HLB_OK, NULL);
}

/* ---- GHL ---------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* An event time: ISO 8601 with "Z" or an offset (Octorate adds a zone
 * name: "...Z[UTC]"), or epoch seconds or milliseconds. 0, or -1 when it
 * is none of these (or out of range). */
static int parse_time(struct json_object *v, int64_t *ms)
{
	static const unsigned char mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	const char *s;
	int y, mo, d, h, mi, sec, oh, om;
	int64_t frac = 0, scale = 1000;

	if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) {
		double x = json_object_get_double(v);

		/* finite, and before the year 5000 in milliseconds */
		if (!(x >= 0 && x < 1e14))
			return -1;
		*ms = (int64_t)(x < 1e11 ? x * 1000 : x);
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return -1;
	s = json_object_get_string(v);
	if (strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
	    digits(s + 8, 2, &d) || s[10] != 'T' || digits(s + 11, 2, &h) || s[13] != ':' ||
	    digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &sec))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 60)
		return -1;
	s += 19;
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++)
			if (scale > 1) {
				scale /= 10;
				frac += (*s - '0') * scale;
			}
	}
	*ms = ((days_from_civil(y, (unsigned)mo, (unsigned)d) * 24 + h) * 60 + mi) * 60000 +
	      (int64_t)sec * 1000 + frac;
	if (*s == 'Z') {
		s++;
	} else if ((*s == '+' || *s == '-') && !digits(s + 1, 2, &oh) && s[3] == ':' &&
		   !digits(s + 4, 2, &om) && oh <= 23 && om <= 59) {
		*ms -= (*s == '+' ? 1 : -1) * (int64_t)(oh * 60 + om) * 60000;
		s += 6;
	} else {
		return -1;
	}
	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1])
			return -1;
		s = close + 1;
	}
	return *s ? -1 : 0;
}

static struct json_object *parse_json(const char *text, size_t len)
{
	struct json_tokener *tok = json_tokener_new_ex(MAX_JSON_DEPTH);
	struct json_object *o;

	if (!tok)
		return NULL;
	o = json_tokener_parse_ex(tok, text, (int)len);
	if (o && (json_tokener_get_error(tok) != json_tokener_success ||
		  tok->char_offset != (int)len)) {
		/* trailing bytes after the document */
		size_t off = (size_t)tok->char_offset;

		while (off < len && (text[off] == ' ' || text[off] == '\n' || text[off] == '\r' ||
				     text[off] == '\t'))
			off++;
		if (off < len) {
			json_object_put(o);
			o = NULL;
		}
	}
	json_tokener_free(tok);
	return o;
}

static const char *str_field(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) ?
	       json_object_get_string(v) : NULL;
}

static void handle_ghl(hc_webhooks *w, hc_request *req)
{
	size_t len;
	const char *body = hc_request_body(req, &len);
	const char *sig = hc_request_header(req, "X-GHL-Signature");
	const char *legacy = hc_request_header(req, "X-WH-Signature");
	struct json_object *o, *ts;
	hc_sig_result r;
	const char *type, *id;
	int64_t t = 0, now = hc_wall_ms();

	if (sig)
		r = hc_sig_verify(w->ed25519, body, len, sig);
	else if (legacy && w->legacy && w->rsa)
		r = hc_sig_verify(w->rsa, body, len, legacy);
	else {
		reject(w, req, "ghl", 401, "missing_signature",
		       legacy ? "X-WH-Signature (legacy RSA) is off: set ghl_webhook_legacy = on"
			      : "no X-GHL-Signature header");
		return;
	}
	if (r != HC_SIG_OK) {
		reject(w, req, "ghl", 401, r == HC_SIG_MALFORMED ? "malformed_signature" : "bad_signature",
		       "the signature does not match the body with any configured key");
		return;
	}
	if (!(o = parse_json(body, len)) || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		reject(w, req, "ghl", 400, "malformed_json", "the body is not a JSON object");
		return;
	}
	if (!(type = str_field(o, "type")) || !*type) {
		json_object_put(o);
		reject(w, req, "ghl", 400, "no_type", "the event has no \"type\"");
		return;
	}
	if (json_object_object_get_ex(o, "timestamp", &ts)) {
		if (parse_time(ts, &t) < 0) {
			json_object_put(o);
			reject(w, req, "ghl", 400, "bad_timestamp", "\"timestamp\" is not a time");
			return;
		}
		id = str_field(o, "webhookId");
		if ((t < now - w->window_ms || t > now + w->window_ms) &&
		    !(id && *id && t >= now - RETRIED_TTL_MS && t <= now && was_retried(w, id))) {
			json_object_put(o);
			reject(w, req, "ghl", 401, "stale",
			       "\"timestamp\" is outside webhook_window (a replay, or a clock off)");
			return;
		}
	}
	id = str_field(o, "webhookId");
	if (id && *id) {
		int seen = hc_replay_check(w->replay, id, now);

		if (seen < 0) {
			json_object_put(o);
			reject(w, req, "ghl", 429, "out_of_memory", NULL);
			return;
		}
		if (seen) {
			int busy = hc_replay_check(w->inflight, id, now);

			if (busy == 0)
				hc_replay_forget(w->inflight, id);
			json_object_put(o);
			if (busy != 0) {
				/* the first copy is not committed yet: no 200 before that */
				reject(w, req, "ghl", 429, "in_progress",
				       "this webhookId is being processed; deliver it again later");
				return;
			}
			/* answered 200: GHL need not deliver it again */
			count(w, "ghl", "duplicate", "replayed_webhook_id");
			answer(req, 200, "duplicate", "this webhookId was already accepted", 0);
			return;
		}
	}
	hlb_webhook ev = { sizeof(ev), "ghl", type, id && *id ? id : NULL, t, o, o };

	fan_out(w, req, &ev, id && *id ? id : NULL);
	json_object_put(o);
}

/* ---- Octorate ----------------------------------------------------------- */

static int secret_ok(const hc_webhooks *w, const char *given)
{
	size_t n = strlen(w->octorate_secret);

	return strlen(given) == n && CRYPTO_memcmp(given, w->octorate_secret, n) == 0;
}

static void handle_octorate(hc_webhooks *w, hc_request *req, const char *secret)
{
	size_t len;
	const char *body = hc_request_body(req, &len);
	struct json_object *env, *content, *c, *t;
	const char *type, *hmac;
	char idbuf[32];
	const char *id = NULL;
	int64_t ms = 0;

	if (!w->octorate_secret || !secret_ok(w, secret)) {
		reject(w, req, "octorate", 404, "unknown_path", NULL);
		return;
	}
	if (!(env = parse_json(body, len)) || !json_object_is_type(env, json_type_object)) {
		json_object_put(env);
		reject(w, req, "octorate", 406, "malformed_json", "the delivery is not a JSON object");
		return;
	}
	if (!(type = str_field(env, "type")) || !*type) {
		json_object_put(env);
		reject(w, req, "octorate", 406, "no_type", "the delivery has no \"type\"");
		return;
	}
	if (!json_object_object_get_ex(env, "content", &c)) {
		json_object_put(env);
		reject(w, req, "octorate", 406, "no_content", "the delivery has no \"content\"");
		return;
	}
	/* `content` is a JSON document inside a string; take an object too */
	content = json_object_is_type(c, json_type_string)
		  ? parse_json(json_object_get_string(c), (size_t)json_object_get_string_len(c))
		  : json_object_get(c);
	if (!content || !json_object_is_type(content, json_type_object)) {
		json_object_put(content);
		json_object_put(env);
		reject(w, req, "octorate", 406, "malformed_content", "\"content\" is not a JSON object");
		return;
	}
	if ((hmac = str_field(env, "hmac")))
		hc_log("webhook", HLB_LOG_DEBUG, "octorate delivery %s hmac %s (algorithm unpublished: "
		       "not checked; the path secret authenticates it)", type, hmac);
	if (json_object_object_get_ex(env, "id", &t)) {
		snprintf(idbuf, sizeof(idbuf), "%s", json_object_get_string(t));
		id = idbuf;
	}
	if (json_object_object_get_ex(env, "createTime", &t) && parse_time(t, &ms) < 0)
		ms = 0;
	hlb_webhook ev = { sizeof(ev), "octorate", type, id, ms, content, env };

	/* No replay cache here: Octorate retries a delivery with the same id
	 * until it gets a 200, and the source's reservation dedup makes a
	 * second copy harmless. */
	fan_out(w, req, &ev, NULL);
	json_object_put(content);
	json_object_put(env);
}

int hc_webhooks_handle(hc_webhooks *w, hc_request *req)
{
	const char *path = hc_request_path(req);
	int ghl = strcmp(path, "/webhooks/ghl") == 0;
	int octo = strncmp(path, OCTORATE_PREFIX, strlen(OCTORATE_PREFIX)) == 0;

	if (!ghl && !octo)
		return 0;
	if (strcmp(hc_request_method(req), "POST") != 0) {
		static const char msg[] = "{\"status\":\"method_not_allowed\"}\n";
		static const char *const allow[] = { "Allow: POST", NULL };

		hc_request_respond(req, 405, "application/json", msg, sizeof(msg) - 1, allow);
		return 1;
	}
	if (ghl)
		handle_ghl(w, req);
	else
		handle_octorate(w, req, path + strlen(OCTORATE_PREFIX));
	return 1;
}
