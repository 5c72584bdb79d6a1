/* probe: a test plugin with every capability, driven by options, that
 * exercises the host services the way real connectors will. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "hlbridge/hlbridge.h"

static const hlb_option options[] = {
	{ "count", HLB_OPT_INT, "10", 0, "source: records in all", NULL },
	{ "per_poll", HLB_OPT_INT, "3", 0, "source: records per poll (HLB_MORE until count)", NULL },
	{ "token", HLB_OPT_STRING, NULL, HLB_OPT_SECRET, "a secret the plugin logs on purpose", NULL },
	{ "http_url", HLB_OPT_STRING, NULL, 0, "source: GET this URL once per poll and emit the answer", NULL },
	{ "out", HLB_OPT_PATH, NULL, 0, "sink: append delivered keys here", NULL },
	{ "fail_key", HLB_OPT_STRING, NULL, 0, "sink: this key always fails", NULL },
	{ "retry_times", HLB_OPT_INT, "0", 0, "sink: answer retry this many times per record first", NULL },
	{ "async", HLB_OPT_BOOL, "off", 0, "sink: give verdicts from a timer, not inside deliver", NULL },
	{ "result", HLB_OPT_BOOL, "off", 0, "sink: give each record it delivers as a result, with \"by\": its name",
	  NULL },
	{ "retry_after", HLB_OPT_DURATION, "0", 0, "sink: with a retry, ask for this wait (as Retry-After would)", NULL },
	{ "dup", HLB_OPT_BOOL, "off", 0, "transform: emit each record twice", NULL },
	{ "drop_odd", HLB_OPT_BOOL, "off", 0, "transform: drop records whose n is odd", NULL },
	{ "auth", HLB_OPT_AUTH, NULL, 0, "source: ask this credential for a token each poll", "probe" },
	{ "subject", HLB_OPT_STRING, NULL, 0, "source: the subject of the token asked for", NULL },
	{ "history", HLB_OPT_BOOL, "off", 0, "source: add a history row per record", NULL },
	{ "token_base", HLB_OPT_STRING, "tok", 0, "auth: tokens are BASE-GENERATION-SUBJECT", NULL },
	{ "checkpoint_every", HLB_OPT_INT, "0", 0,
	  "source: after every N records, put position {\"next\": n} and call host->checkpoint", NULL },
	{ "stall_from", HLB_OPT_INT, "-1", 0, "sink: records whose n is at least this always get retry", NULL },
	{ "webhooks", HLB_OPT_LIST, NULL, 0,
	  "source: take these webhook events (CHANNEL:TYPE, such as ghl:* or octorate:RESERVATION_CREATED)", NULL },
	{ "webhook_result", HLB_OPT_ENUM, "ok", 0, "source: how a webhook job ends (ok, parse: never "
	  "processable, retry: later)", "ok|parse|retry" },
	{ "webhook_delay", HLB_OPT_DURATION, "0", 0, "source: finish webhook jobs from a timer this much later", NULL },
	{ NULL, 0, NULL, 0, NULL, NULL }
};

struct probe {
	const hlb_host *host;
	hlb_instance *inst;
	uint32_t role;
	int64_t count, per_poll, next, retry_times, retry_after, checkpoint_every, stall_from;
	const char *url, *out, *fail_key;
	int async, dup, drop_odd, history, result;
	const char *auth, *subject, *token_base;
	int generation;          /* auth: grows with every rejected token */
	hlb_auth_call *call;     /* source: the token call of the poll */
	const char *wh_result;
	int64_t wh_delay;
	struct wh_later *later; /* webhook jobs finishing from a timer */
	char token[128];         /* source: the token it got */
	hlb_job *pending;
	hlb_http *http;
	struct { char key[64]; int64_t tries; } seen[4096];
	size_t nseen;
};

static int subscribe(struct probe *p, const char *list);

static int init(const hlb_host *host, hlb_instance *inst, uint32_t role, void **state)
{
	struct probe *p = calloc(1, sizeof(*p));
	const char *token = host->option(inst, "token");

	if (!p)
		return HLB_ENOMEM;
	p->host = host;
	p->inst = inst;
	p->role = role;
	p->count = host->option_int(inst, "count", 10);
	p->per_poll = host->option_int(inst, "per_poll", 3);
	p->retry_times = host->option_int(inst, "retry_times", 0);
	p->checkpoint_every = host->option_int(inst, "checkpoint_every", 0);
	p->stall_from = host->option_int(inst, "stall_from", -1);
	p->retry_after = host->option_ms(inst, "retry_after", 0);
	p->url = host->option(inst, "http_url");
	p->out = host->option(inst, "out");
	p->fail_key = host->option(inst, "fail_key");
	p->async = host->option_bool(inst, "async", 0);
	p->result = host->option_bool(inst, "result", 0);
	p->dup = host->option_bool(inst, "dup", 0);
	p->drop_odd = host->option_bool(inst, "drop_odd", 0);
	p->history = host->option_bool(inst, "history", 0);
	p->auth = host->option(inst, "auth");
	p->subject = host->option(inst, "subject");
	p->token_base = host->option(inst, "token_base");
	if (p->per_poll < 1) {
		host->option_error(inst, "per_poll", "must be at least 1");
		free(p);
		return HLB_EINVAL;
	}
	if (token)
		host->log(inst, HLB_LOG_INFO, "connecting with token %s", token);
	p->wh_result = host->option(inst, "webhook_result");
	p->wh_delay = host->option_ms(inst, "webhook_delay", 0);
	if (role == HLB_CAP_SOURCE && subscribe(p, host->option(inst, "webhooks")) < 0) {
		free(p);
		return HLB_EINVAL;
	}
	*state = p;
	return HLB_OK;
}

/* ---- webhooks: each event becomes one record of stream probe.webhook ---- */

static int subscribe(struct probe *p, const char *list)
{
	char item[128];

	while (list && *list) {
		size_t n = strcspn(list, ",");
		char *colon;

		snprintf(item, sizeof(item), "%.*s", (int)n, list);
		list += n + (list[n] == ',');
		colon = strchr(item, ':');
		if (!colon) {
			p->host->option_error(p->inst, "webhooks", "'%s' is not CHANNEL:TYPE", item);
			return -1;
		}
		*colon = '\0';
		while (*item == ' ')
			memmove(item, item + 1, strlen(item));
		if (p->host->webhook_subscribe(p->inst, item, colon + 1) != HLB_OK) {
			p->host->option_error(p->inst, "webhooks", "cannot subscribe to %s:%s", item, colon + 1);
			return -1;
		}
	}
	return 0;
}

struct wh_later {
	struct probe *p;
	hlb_job *job;
	int rc;
	hlb_timer *timer;
	struct wh_later *next;
};

static void wh_finish(void *arg)
{
	struct wh_later *l = arg, **pp;

	for (pp = &l->p->later; *pp != l; pp = &(*pp)->next)
		;
	*pp = l->next;
	l->p->host->finish(l->job, l->rc, l->rc < 0 ? "probe was told to fail this webhook" : NULL);
	free(l);
}

static int webhook(void *state, hlb_job *job, const hlb_webhook *ev)
{
	struct probe *p = state;
	int rc = !strcmp(p->wh_result, "parse") ? HLB_EPARSE : !strcmp(p->wh_result, "retry") ? HLB_EIO : HLB_OK;
	char key[200];

	if (rc == HLB_OK) {
		struct json_object *body = json_object_new_object();

		snprintf(key, sizeof(key), "%s:%s", ev->channel, ev->id ? ev->id : "-");
		json_object_object_add(body, "channel", json_object_new_string(ev->channel));
		json_object_object_add(body, "type", json_object_new_string(ev->type));
		if (ev->id)
			json_object_object_add(body, "id", json_object_new_string(ev->id));
		json_object_object_add(body, "time_ms", json_object_new_int64(ev->time_ms));
		json_object_object_add(body, "event", json_object_get(ev->body));
		p->host->emit(job, p->host->record_new("probe.webhook", key, HLB_OP_UPSERT, ev->time_ms, body));
	}
	if (p->wh_delay > 0) {
		struct wh_later *l = malloc(sizeof(*l));

		if (!l)
			return HLB_ENOMEM;
		*l = (struct wh_later){ p, job, rc, NULL, p->later };
		if (!(l->timer = p->host->timer_start(p->inst, p->wh_delay, 0, wh_finish, l))) {
			free(l);
			return HLB_ENOMEM;
		}
		p->later = l;
		return HLB_OK;
	}
	p->host->finish(job, rc, rc < 0 ? "probe was told to fail this webhook" : NULL);
	return HLB_OK;
}

static int check(void *state, hlb_job *job)
{
	struct probe *p = state;

	p->host->finish(job, HLB_OK, "probe is fine");
	return HLB_OK;
}

static void emit_n(struct probe *p, hlb_job *job, int64_t n, const char *extra)
{
	char key[64];
	struct json_object *body = json_object_new_object();

	snprintf(key, sizeof(key), "probe-%lld", (long long)n);
	json_object_object_add(body, "n", json_object_new_int64(n));
	if (extra)
		json_object_object_add(body, "http", json_object_new_string(extra));
	if (p->token[0])
		json_object_object_add(body, "token", json_object_new_string(p->token));
	if (p->history) {
		struct json_object *row = json_object_new_object();

		json_object_object_add(row, "n", json_object_new_int64(n));
		p->host->history_add(p->inst, job, "scope-a", key, n ? "updated" : "created", 1000 * n, row);
	}
	p->host->emit(job, p->host->record_new("probe", key, HLB_OP_UPSERT, 0, body));
}

static void on_http(void *arg, const hlb_http_response *resp)
{
	struct probe *p = arg;
	hlb_job *job = p->pending;
	char text[256];
	size_t len = 0;
	const char *body = p->host->http_body(resp, &len);
	const char *hdr = p->host->http_header(resp, "X-Probe");

	p->pending = NULL;
	p->http = NULL;
	if (p->host->http_result(resp) != HLB_OK) {
		p->host->finish(job, p->host->http_result(resp), p->host->http_error(resp));
		return;
	}
	snprintf(text, sizeof(text), "%ld %.*s %s", p->host->http_status(resp), (int)(len > 100 ? 100 : len),
		 body, hdr ? hdr : "-");
	emit_n(p, job, p->next++, text);
	p->host->finish(job, p->next < p->count ? HLB_MORE : HLB_OK, NULL);
}

static int emit_poll(struct probe *p, hlb_job *job);

/* The token a poll asked for: emitted in each record's body. */
static void on_token(void *arg, const hlb_auth_result *res)
{
	struct probe *p = arg;
	hlb_job *job = p->pending;

	p->call = NULL;
	p->pending = NULL;
	if (res->rc != HLB_OK) {
		p->host->finish(job, res->rc, res->message);
		return;
	}
	snprintf(p->token, sizeof(p->token), "%s quota=%s", res->token, res->quota_id ? res->quota_id : "-");
	emit_poll(p, job);
}

static int poll_cb(void *state, hlb_job *job)
{
	struct probe *p = state;

	if (p->auth) {
		p->pending = job;
		p->call = p->host->auth_token(p->inst, p->auth, p->subject, on_token, p);
		/* the answer never comes inside auth_token */
		if (!p->call || !p->pending) {
			p->pending = NULL;
			return HLB_EFAIL;
		}
		return HLB_OK;
	}
	return emit_poll(p, job);
}

static int emit_poll(struct probe *p, hlb_job *job)
{
	if (p->url) {
		hlb_http_request req = HLB_HTTP_REQUEST_INIT;
		const char *headers[] = { "X-Test: probe", NULL };

		req.url = p->url;
		req.headers = headers;
		req.timeout_ms = 5000;
		p->pending = job;
		p->http = p->host->http_request(p->inst, &req, on_http, p);
		if (!p->http) {
			p->pending = NULL;
			return HLB_EINVAL;
		}
		return HLB_OK;
	}
	for (int64_t i = 0; i < p->per_poll && p->next < p->count; i++) {
		emit_n(p, job, p->next++, NULL);
		if (p->checkpoint_every > 0 && p->next % p->checkpoint_every == 0) {
			struct json_object *pos = json_object_new_object();

			json_object_object_add(pos, "next", json_object_new_int64(p->next));
			p->host->state_put(p->inst, job, "position", pos);
			if (p->host->checkpoint(job) != HLB_OK)
				p->host->log(p->inst, HLB_LOG_ERROR, "checkpoint refused");
		}
	}
	p->host->finish(job, p->next < p->count ? HLB_MORE : HLB_OK, NULL);
	return HLB_OK;
}

static int process(void *state, hlb_record *rec, hlb_job *out)
{
	struct probe *p = state;
	struct json_object *n = NULL;

	json_object_object_get_ex(p->host->record_body(rec), "n", &n);
	if (p->drop_odd && (json_object_get_int64(n) & 1)) {
		p->host->record_free(rec);
		return HLB_OK;
	}
	if (p->dup) {
		hlb_record *copy = p->host->record_clone(rec);
		char key[80];

		snprintf(key, sizeof(key), "%s-dup", p->host->record_key(rec));
		p->host->record_set_key(copy, key);
		p->host->emit(out, copy);
	}
	return p->host->emit(out, rec);
}

static int64_t *tries_of(struct probe *p, const char *key)
{
	for (size_t i = 0; i < p->nseen; i++)
		if (strcmp(p->seen[i].key, key) == 0)
			return &p->seen[i].tries;
	if (p->nseen == sizeof(p->seen) / sizeof(p->seen[0]))
		return NULL;
	snprintf(p->seen[p->nseen].key, sizeof(p->seen[0].key), "%s", key);
	p->seen[p->nseen].tries = 0;
	return &p->seen[p->nseen++].tries;
}

/* The record, with "by": this sink's name, as its result. */
static void give_result(struct probe *p, hlb_job *job, size_t i)
{
	const hlb_host *h = p->host;
	hlb_record *r = h->record_clone(h->batch_record(job, i));

	if (r)
		json_object_object_add(h->record_body(r), "by", json_object_new_string(h->instance_name(p->inst)));
	if (!r || h->result(job, i, r) != HLB_OK)
		h->log(p->inst, HLB_LOG_ERROR, "cannot give the result of %s", h->record_key(h->batch_record(job, i)));
}

static void give_verdicts(struct probe *p, hlb_job *job)
{
	size_t n = p->host->batch_size(job);
	FILE *f = p->out ? fopen(p->out, "a") : NULL;

	for (size_t i = 0; i < n; i++) {
		const char *key = p->host->record_key(p->host->batch_record(job, i));
		int64_t *tries = tries_of(p, key);

		if (p->fail_key && strcmp(key, p->fail_key) == 0) {
			p->host->verdict(job, i, HLB_FAILED, "probe refuses this key");
		} else if (p->stall_from >= 0 && strncmp(key, "probe-", 6) == 0 && atoll(key + 6) >= p->stall_from) {
			p->host->verdict_http(job, i, HLB_RETRY, "probe stalls this key", 503, p->retry_after);
		} else if (tries && (*tries)++ < p->retry_times) {
			p->host->verdict_http(job, i, HLB_RETRY, "probe asks for a retry", 503, p->retry_after);
		} else {
			if (f)
				fprintf(f, "%s\n", key);
			if (p->result)
				give_result(p, job, i);
			p->host->verdict(job, i, HLB_DONE, NULL);
		}
	}
	if (f)
		fclose(f);
	p->host->finish(job, HLB_OK, NULL);
}

static void later(void *arg)
{
	struct probe *p = arg;
	hlb_job *job = p->pending;

	p->pending = NULL;
	give_verdicts(p, job);
}

static int deliver(void *state, hlb_job *job)
{
	struct probe *p = state;

	if (p->async) {
		p->pending = job;
		p->host->timer_start(p->inst, 1, 0, later, p);
		return HLB_OK;
	}
	give_verdicts(p, job);
	return HLB_OK;
}

static void fini(void *state)
{
	struct probe *p = state;

	if (p && p->http)
		p->host->http_cancel(p->http);
	if (p && p->call)
		p->host->auth_cancel(p->call);
	/* jobs left unfinished: the host answers them as cancelled */
	while (p && p->later) {
		struct wh_later *l = p->later;

		p->later = l->next;
		p->host->timer_stop(l->timer);
		free(l);
	}
	free(p);
}

/* auth: answers at once (the host must defer the callback), with a token
 * that changes when one is rejected. */
static int auth_token(void *state, hlb_auth_call *call)
{
	struct probe *p = state;
	const char *subject = p->host->auth_subject(call);
	hlb_auth_result res = HLB_AUTH_RESULT_INIT;
	char token[128];

	if (subject && strcmp(subject, "refused") == 0) {
		res.rc = HLB_EFAIL;
		res.message = "refused on purpose";
		res.needs_login = 1;
	} else {
		snprintf(token, sizeof(token), "%s-%d-%s", p->token_base, p->generation, subject ? subject : "own");
		res.token = token;
		res.quota_id = "probe-app";
	}
	p->host->auth_done(call, &res);
	return HLB_OK;
}

static void auth_reject(void *state, const char *subject, const char *token)
{
	struct probe *p = state;

	(void)subject;
	(void)token;
	p->generation++;
}

static struct json_object *auth_status(void *state)
{
	struct probe *p = state;
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "generation", json_object_new_int(p->generation));
	json_object_object_add(o, "needs_login", json_object_new_boolean(0));
	return o;
}

/* Built twice: as probe, and with PROBE_REPLAY as probe_replay, whose
 * polls the host treats as read again after a crash (HLB_CAP_REPLAY), so
 * that its records may skip the store. */
#ifdef PROBE_REPLAY
#define PROBE_NAME probe_replay
#define PROBE_CAPS HLB_CAP_REPLAY
#else
#define PROBE_NAME probe
#define PROBE_CAPS 0
#endif
#define PROBE_STR_(x) #x
#define PROBE_STR(x) PROBE_STR_(x)

const hlb_plugin HLB_PLUGIN_EXPORT(PROBE_NAME) = {
	HLB_PLUGIN_HEADER,
	.caps = HLB_CAP_SOURCE | HLB_CAP_TRANSFORM | HLB_CAP_SINK | HLB_CAP_AUTH | HLB_CAP_RESULTS | PROBE_CAPS,
	.name = PROBE_STR(PROBE_NAME),
	.version = "1.0",
	.summary = "test plugin: emits, copies, drops and answers on command",
	.options = options,
	.init = init,
	.check = check,
	.poll = poll_cb,
	.process = process,
	.deliver = deliver,
	.fini = fini,
	.auth_token = auth_token,
	.auth_reject = auth_reject,
	.auth_status = auth_status,
	.webhook = webhook,
};
