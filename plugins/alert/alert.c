/* The `alert` sink: posts each record as a chat message to a webhook
 * (Slack, Microsoft Teams, Discord) or as JSON to any URL.
 *
 *     [sink:ops]
 *     plugin = alert
 *     url    = ${SLACK_WEBHOOK_URL}
 *     format = slack
 *     text   = {{$.alert}}: {{$.message}}
 *
 * slack and teams post {"text": TEXT}, discord {"content": TEXT, with
 * mentions turned off}, json the record's body as it is. TEXT is `text`
 * with its {{$.path}} placeholders filled from the body, else the body's
 * `message`, else the body as compact JSON; it is cut to what the service
 * shows (Discord: 2000 characters; Slack and Teams: 3500).
 *
 * The records of a batch are posted one after the other, in order, so that
 * they appear in the channel in the order they happened (retries, which
 * the host schedules per record, may come out of order); an answer asking
 * to retry (408, 429, 5xx, no answer) sends the rest of the batch back to
 * the host's queue too, unposted, behind the Retry-After the service gave.
 * Other 4xx fail the record (it goes to the dead-letter queue).
 *
 * Webhook URLs carry their token in the path: `url` is secret, and log
 * lines and reasons show only the scheme and host. There is no `check`:
 * the only way to test a webhook is to post a message to it. */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "hlbridge/hlbridge.h"
#include "../common/strbuf.h"
#include "../common/template.h"
#include "../http/http_rules.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

#define MAX_RESPONSE 65536
#define BODY_EXCERPT 200 /* bytes of an answer quoted in a reason */
#define TEXT_BYTES_MAX (64 * 1024)
#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

enum format { F_SLACK, F_TEAMS, F_DISCORD, F_JSON };

struct delivery;

/* Characters a message may have, per service. */
static const size_t text_cap[] = { [F_SLACK] = 3500, [F_TEAMS] = 3500, [F_DISCORD] = 2000, [F_JSON] = 0 };

static const hlb_option options[] = {
	{ "url", HLB_OPT_STRING, NULL, HLB_OPT_REQUIRED | HLB_OPT_SECRET,
	  "the webhook URL (secret: it carries the token); redirects are not followed", NULL },
	{ "format", HLB_OPT_ENUM, "slack", 0,
	  "slack or teams: {\"text\": TEXT}; discord: {\"content\": TEXT}; json: the record's body as it is",
	  "slack|teams|discord|json" },
	{ "text", HLB_OPT_STRING, NULL, 0,
	  "the message, with {{$.path}} placeholders (default: the body's message, else the body as JSON)", NULL },
	{ "timeout", HLB_OPT_DURATION, "30s", 0, "longest time one post may take before it is retried", NULL },
	{ NULL, 0, NULL, 0, NULL, NULL }
};

struct sink {
	const hlb_host *host;
	hlb_instance *inst;
	char *url;
	char shown[300];
	enum format format;
	tmpl text;              /* `text`; empty when not set */
	int64_t timeout_ms;
	int has_verdict_http, has_retry_after;
	struct delivery *active;
};

/* ---- messages ----------------------------------------------------------- */

/* Slack reads <...> as links and mentions (<!channel>) and & as the start
 * of an entity: text that comes from records is escaped as its API asks,
 * while the template's own text may use that markup on purpose. */
static void add_escaped(sb_buf *b, enum format f, const char *s, size_t n)
{
	if (f != F_SLACK) {
		sb_add_cut(b, s, n);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const char *e = s[i] == '&' ? "&amp;" : s[i] == '<' ? "&lt;" : s[i] == '>' ? "&gt;" : NULL;

		if (e)
			sb_add_cut(b, e, strlen(e));
		else
			sb_add_cut(b, s + i, 1);
	}
}

static void add_value(sb_buf *b, enum format f, struct json_object *v)
{
	const char *s;

	if (json_object_is_type(v, json_type_string)) {
		add_escaped(b, f, json_object_get_string(v), (size_t)json_object_get_string_len(v));
		return;
	}
	s = json_object_to_json_string_ext(v, JSON_FLAGS);
	add_escaped(b, f, s, strlen(s));
}

/* Cuts text to `cap` characters (UTF-8 code points), ending with an
 * ellipsis when cut, and never in the middle of a sequence or of an
 * &entity; the escaping made. */
static void cut_chars(sb_buf *b, size_t cap)
{
	size_t chars = 0, i, keep = 0;

	if (!cap || !b->data)
		return;
	for (i = 0; i < b->len; i++) {
		if (((unsigned char)b->data[i] & 0xC0) == 0x80)
			continue;
		if (++chars == cap)
			keep = i; /* room for the ellipsis in place of the last one */
		if (chars > cap)
			break;
	}
	if (chars <= cap)
		return;
	for (size_t j = keep; j > 0 && j + 5 > keep; j--)
		if (b->data[j - 1] == ';')
			break;
		else if (b->data[j - 1] == '&') {
			keep = j - 1;
			break;
		}
	sb_cut(b, keep);
	sb_add_cut(b, "\xe2\x80\xa6", 3); /* … */
}

/* A template's placeholder (tmpl_value_fn); arg is the sink. */
static void add_placeholder(sb_buf *b, struct json_object *v, void *arg)
{
	const struct sink *s = arg;

	add_value(b, s->format, v);
}

/* The message for a body. */
static void render(const struct sink *s, struct json_object *body, sb_buf *b)
{
	struct json_object *msg;

	tmpl_render(s->host, &s->text, body, b, add_placeholder, (void *)s);
	if (b->len || b->failed)
		return;
	/* No template, or one that came out empty: services refuse an empty
	 * message, and the body itself says more than nothing. */
	if (json_object_object_get_ex(body, "message", &msg) && json_object_is_type(msg, json_type_string) &&
	    json_object_get_string_len(msg) > 0)
		add_value(b, s->format, msg);
	else
		add_value(b, s->format, body);
}

/* The request body for a record, malloc'd; NULL when out of memory. */
static char *payload(const struct sink *s, const hlb_record *r)
{
	struct json_object *body = s->host->record_body(r), *o, *am;
	sb_buf text;
	char *out = NULL;

	if (s->format == F_JSON)
		return strdup(json_object_to_json_string_ext(body, JSON_FLAGS));
	/* bytes past the cap are dropped; cut_chars then cuts to what the
	 * service shows */
	sb_init(&text, TEXT_BYTES_MAX);
	render(s, body, &text);
	cut_chars(&text, text_cap[s->format]);
	if (text.failed || !(o = json_object_new_object())) {
		sb_free(&text);
		return NULL;
	}
	if (json_object_object_add(o, s->format == F_DISCORD ? "content" : "text",
				   json_object_new_string_len(sb_str(&text), (int)text.len)) == 0 &&
	    s->format == F_DISCORD) {
		/* Text from records must not ping @everyone or anybody. */
		am = json_tokener_parse("{\"parse\":[]}");
		if (!am || json_object_object_add(o, "allowed_mentions", am) != 0) {
			json_object_put(am);
			goto done;
		}
	}
	out = strdup(json_object_to_json_string_ext(o, JSON_FLAGS));
done:
	json_object_put(o);
	sb_free(&text);
	return out;
}

/* ---- setup -------------------------------------------------------------- */

/* scheme://host[:port]/...: the path and query of a webhook are its token,
 * and user:password@ is a credential too. */
static void url_display(const char *url, char *out, size_t len)
{
	const char *sep = strstr(url, "://");
	const char *host = sep ? sep + 3 : url, *end, *at;
	int scheme = (int)(host - url);

	end = host + strcspn(host, "/?#");
	for (at = host; at < end; at++)
		if (*at == '@')
			host = at + 1;
	snprintf(out, len, "%.*s%.*s%s", scheme, url, (int)(end - host), host, *end ? "/\xe2\x80\xa6" : "");
}

static void sink_free(struct sink *s)
{
	tmpl_clear(s->host, &s->text);
	free(s->url);
	free(s);
}

static int init(const hlb_host *host, hlb_instance *inst, uint32_t role, void **state)
{
	const char *url = host->option(inst, "url");
	const char *format = host->option(inst, "format");
	const char *text = host->option(inst, "text");
	struct sink *s;
	char err[512];
	int bad = 0, rc = HLB_OK;

	if (role != HLB_CAP_SINK)
		return HLB_EUNSUPPORTED;
	if (!(s = calloc(1, sizeof(*s))))
		return HLB_ENOMEM;
	s->host = host;
	s->inst = inst;
	if (!url || hsink_url_check(url, err, sizeof(err)) < 0) {
		host->option_error(inst, "url", "%s", url ? err : "is required");
		bad++;
	}
	s->format = !format || strcmp(format, "slack") == 0 ? F_SLACK
		    : strcmp(format, "teams") == 0	  ? F_TEAMS
		    : strcmp(format, "discord") == 0	  ? F_DISCORD
							  : F_JSON;
	if (text && s->format == F_JSON) {
		host->option_error(inst, "text", "format = json posts the body as it is: text is not used");
		bad++;
	} else if (text && (rc = tmpl_compile(host, text, &s->text, err, sizeof(err))) == HLB_EINVAL) {
		host->option_error(inst, "text", "%s", err);
		bad++;
		rc = HLB_OK;
	}
	s->timeout_ms = host->option_ms(inst, "timeout", 30000);
	if (s->timeout_ms <= 0) {
		host->option_error(inst, "timeout", "must be longer than 0");
		bad++;
	}
	if (rc == HLB_OK && bad)
		rc = HLB_EINVAL;
	if (rc == HLB_OK && !(s->url = strdup(url)))
		rc = HLB_ENOMEM;
	if (rc != HLB_OK) {
		sink_free(s);
		return rc;
	}
	url_display(url, s->shown, sizeof(s->shown));
	s->has_verdict_http = HLB_HOST_HAS(host, verdict_http) && host->verdict_http;
	s->has_retry_after = HLB_HOST_HAS(host, retry_after_ms) && host->retry_after_ms;
	*state = s;
	return HLB_OK;
}

/* ---- delivery ----------------------------------------------------------- */

/* One batch, posted a record at a time. */
struct delivery {
	struct sink *s;
	hlb_job *job;
	size_t n, i;      /* records, and the one being posted */
	hlb_http *http;
	int starting;     /* inside http_request() */
	int answered;     /* ...and its answer came already */
	int stop;         /* the destination asked to wait: retry the rest */
	char why[1024];
	long status;
	int64_t wait_ms;
	struct delivery *prev, *next;
};

static void give(struct sink *s, hlb_job *job, size_t i, hlb_verdict v, const char *why, long status,
		 int64_t wait_ms)
{
	if (s->has_verdict_http)
		s->host->verdict_http(job, i, v, why, status, wait_ms);
	else
		s->host->verdict(job, i, v, why);
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

/* The reason for a verdict other than done: the status and the start of
 * the answer, or the transfer error. */
static void explain(struct delivery *d, const hlb_http_response *resp, int result, long status)
{
	const hlb_host *host = d->s->host;
	char excerpt[BODY_EXCERPT * 2 + 1];
	const char *text;
	size_t len = 0;

	if (hsink_status_counts(result, status)) {
		text = host->http_body(resp, &len);
		hsink_sanitize(text ? text : "", text ? len : 0, BODY_EXCERPT, excerpt, sizeof(excerpt));
		snprintf(d->why, sizeof(d->why), "POST %s: HTTP %ld%s%s%s", d->s->shown, status,
			 status >= 300 && status < 400 ? " (redirects are not followed: set url to the final address)"
						       : "",
			 *excerpt ? ": " : "", excerpt);
		return;
	}
	text = host->http_error(resp);
	hsink_sanitize(text ? text : "", text ? strlen(text) : 0, BODY_EXCERPT, excerpt, sizeof(excerpt));
	snprintf(d->why, sizeof(d->why), "POST %s: %s%s%s%s", d->s->shown, host->strerror(result),
		 *excerpt ? " (" : "", excerpt, *excerpt ? ")" : "");
}

static void pump(struct delivery *d);

static void on_response(void *arg, const hlb_http_response *resp)
{
	struct delivery *d = arg;
	struct sink *s = d->s;
	int result = s->host->http_result(resp);
	long status = s->host->http_status(resp);
	hlb_verdict v = hsink_verdict(result, status);
	int64_t wait = 0;

	d->http = NULL;
	if (!hsink_status_counts(result, status))
		status = 0; /* a status without its whole answer is no answer */
	if (v == HLB_RETRY && status && s->has_retry_after) {
		const char *ra = s->host->http_header(resp, "Retry-After");

		wait = ra ? s->host->retry_after_ms(ra) : 0;
		if (wait < 0)
			wait = 0;
	}
	if (v != HLB_DONE)
		explain(d, resp, result, status);
	give(s, d->job, d->i, v, v == HLB_DONE ? NULL : d->why, status, wait);
	d->i++;
	if (v == HLB_RETRY) {
		d->stop = 1;
		d->status = status;
		d->wait_ms = wait;
	}
	if (d->starting) {
		d->answered = 1; /* pump() goes on when http_request returns */
		return;
	}
	pump(d);
}

/* Posts the next record, or ends the batch. A loop rather than recursion,
 * since a host may answer inside http_request. */
static void pump(struct delivery *d)
{
	struct sink *s = d->s;
	const hlb_host *host = s->host;

	while (d->i < d->n) {
		const hlb_record *r = host->batch_record(d->job, d->i);
		hlb_http_request req = HLB_HTTP_REQUEST_INIT;
		const char *headers[3];
		char *body, *idem;
		size_t need;
		hlb_http *h;

		if (d->stop) {
			/* Spare the service (a 429 is for the webhook, not for
			 * one message): the rest waits as long as this one. */
			char held[sizeof(d->why) + 64];

			snprintf(held, sizeof(held), "not posted, as the message before it got %s", d->why);
			for (; d->i < d->n; d->i++)
				give(s, d->job, d->i, HLB_RETRY, held, d->status, d->wait_ms);
			break;
		}
		need = hsink_key_escape(host->record_key(r), 0, NULL, 0) + 18;
		body = payload(s, r);
		idem = malloc(need);
		if (!body || !idem) {
			free(body);
			free(idem);
			give(s, d->job, d->i++, HLB_RETRY, "out of memory", 0, 0);
			continue;
		}
		memcpy(idem, "Idempotency-Key: ", 17);
		hsink_key_escape(host->record_key(r), 0, idem + 17, need - 17);
		headers[0] = "Content-Type: application/json";
		headers[1] = idem;
		headers[2] = NULL;
		req.method = "POST";
		req.url = s->url;
		req.headers = headers;
		req.body = body;
		req.body_len = strlen(body);
		req.timeout_ms = s->timeout_ms;
		req.max_response = MAX_RESPONSE;
		d->starting = 1;
		d->answered = 0;
		h = host->http_request(s->inst, &req, on_response, d);
		d->starting = 0;
		free(body);
		free(idem);
		if (d->answered)
			continue;
		if (!h) {
			snprintf(d->why, sizeof(d->why), "POST %s: the request could not be started", s->shown);
			give(s, d->job, d->i++, HLB_RETRY, d->why, 0, 0);
			continue;
		}
		d->http = h;
		return;
	}
	delivery_done(d);
}

static int deliver(void *state, hlb_job *job)
{
	struct sink *s = state;
	struct delivery *d = calloc(1, sizeof(*d));

	if (!d)
		return HLB_ENOMEM; /* the host retries the batch */
	d->s = s;
	d->job = job;
	d->n = s->host->batch_size(job);
	d->next = s->active;
	if (d->next)
		d->next->prev = d;
	s->active = d;
	pump(d);
	return HLB_OK;
}

/* A post in flight is cancelled; its batch stays with the host, which
 * owns unfinished jobs at shutdown. */
static void fini(void *state)
{
	struct sink *s = state;

	if (!s)
		return;
	while (s->active) {
		struct delivery *d = s->active;

		s->active = d->next;
		if (d->http)
			s->host->http_cancel(d->http);
		free(d);
	}
	sink_free(s);
}

const hlb_plugin HLB_PLUGIN_EXPORT(alert) = {
	HLB_PLUGIN_HEADER,
	.caps = HLB_CAP_SINK,
	.name = "alert",
	.version = PACKAGE_VERSION,
	.summary = "posts records as chat messages to a Slack, Teams or Discord webhook, or as JSON",
	.options = options,
	.init = init,
	.deliver = deliver,
	.fini = fini,
};
