/* The daemon's HTTP face (engine_status.h): fills the status snapshot from
 * the engine and serves it, with the health rule and the scrape-time
 * gauges. */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "engine_status.h"
#include "graph.h"
#include "log.h"
#include "record.h"
#include "store.h"
#include "webhook.h"

static uint64_t sink_queued(const struct hlb_instance *sink)
{
	return sink->q_len + sink->wait_len;
}

/* Records waiting for a sink (in memory, or only in the store) and its
 * dead letters: what the status page, /health and /metrics show. */
static void sink_depth(hc_engine *e, const struct hlb_instance *sink, uint64_t *depth, uint64_t *dead)
{
	int64_t pending = 0, retrying = 0, d = 0;

	*depth = sink_queued(sink);
	*dead = 0;
	if (hc_store_counts(hc_engine_store(e), sink->sec->name, &pending, &retrying, &d) == 0) {
		if ((uint64_t)(pending + retrying) > *depth)
			*depth = (uint64_t)(pending + retrying);
		*dead = (uint64_t)d;
	}
}

static void fill_sink(hc_engine *e, const struct hlb_instance *sink, hc_sink_status *out)
{
	uint64_t depth, dead;

	sink_depth(e, sink, &depth, &dead);
	out->name = strdup(sink->sec->label);
	out->delivered = sink->delivered;
	out->retried = sink->retried;
	out->dead = sink->failed;
	out->queued = sink_queued(sink);
	out->backlog = depth - out->queued;
	out->last_error = sink->last_error ? strdup(sink->last_error) : NULL;
	out->last_error_ms = sink->last_error_wall_ms;
	out->failing_since_ms = sink->failing_since_wall_ms;
	out->state = strdup(sink->failing_since_wall_ms ? "failing" : sink->wait_len ? "retrying" : "ok");
}

static char *route_from(const hc_route *r)
{
	char buf[256];

	if (r->from)
		return strdup(r->from->sec->label);
	snprintf(buf, sizeof(buf), "route:%s", r->from_route ? r->from_route->name : "?");
	return strdup(buf);
}

/* Why the daemon is unhealthy, or NULL: a sink failing longer than
 * health_failing_after, or records sent to the dead-letter queue within it. */
static char *unhealthy_reason(const hc_service *svc, const hc_status *s)
{
	char buf[1024];

	for (size_t i = 0; i < s->nroutes; i++)
		for (size_t k = 0; k < s->routes[i].nsinks; k++) {
			const hc_sink_status *ks = &s->routes[i].sinks[k];

			if (ks->failing_since_ms && s->now_ms - ks->failing_since_ms >= svc->health_after_ms) {
				snprintf(buf, sizeof(buf), "route %s, sink %s: failing for %llds: %s",
					 s->routes[i].name, ks->name,
					 (long long)((s->now_ms - ks->failing_since_ms) / 1000),
					 ks->last_error ? ks->last_error : "(no message)");
				return strdup(buf);
			}
		}
	hc_graph *g = hc_engine_graph(svc->engine);

	for (size_t i = 0; i < g->nroutes; i++)
		for (size_t k = 0; k < g->routes[i].nto; k++) {
			const struct hlb_instance *sink = g->routes[i].to[k];

			if (sink->last_dead_wall_ms && s->now_ms - sink->last_dead_wall_ms < svc->health_after_ms) {
				snprintf(buf, sizeof(buf), "route %s, sink %s: records went to the dead-letter "
					 "queue in the last %llds: %s", g->routes[i].name, sink->sec->label,
					 (long long)(svc->health_after_ms / 1000),
					 sink->last_error ? sink->last_error : "(no message)");
				return strdup(buf);
			}
		}
	return NULL;
}

int hc_service_status(const hc_service *svc, hc_status *s)
{
	hc_engine *e = svc->engine;
	hc_graph *g;

	memset(s, 0, sizeof(*s));
	s->version = strdup(PACKAGE_VERSION);
	s->now_ms = hc_wall_ms();
	s->started_ms = svc->started_ms;
	s->ready = svc->ready && e;
	if (!s->version)
		return -1;
	if (!e) {
		s->unhealthy = strdup("no configuration is running (a reload is under way)");
		return 0;
	}
	g = hc_engine_graph(e);
	hc_webhooks_counts(hc_engine_webhooks(e), &s->webhooks_accepted, &s->webhooks_rejected);
	if (g->nroutes && !(s->routes = calloc(g->nroutes, sizeof(*s->routes))))
		return -1;
	s->nroutes = g->nroutes;
	for (size_t i = 0; i < g->nroutes; i++) {
		const hc_route *r = &g->routes[i];
		hc_route_status *rs = &s->routes[i];
		int failing = 0;

		rs->name = strdup(r->name);
		rs->from = route_from(r);
		rs->records_in = r->records_in;
		rs->records_out = r->records_out;
		for (size_t k = 0; k < r->nvia; k++)
			rs->dropped += r->via[k]->dropped;
		if (r->from) {
			rs->last_poll_ms = r->from->last_poll_wall_ms;
			rs->progress = hc_engine_progress_text(r->from);
		}
		if (r->minutes)
			hc_minutes_read(r->minutes, s->now_ms, rs->per_minute);
		if (r->nto && !(rs->sinks = calloc(r->nto, sizeof(*rs->sinks))))
			return -1;
		rs->nsinks = r->nto;
		for (size_t k = 0; k < r->nto; k++) {
			fill_sink(e, r->to[k], &rs->sinks[k]);
			failing |= r->to[k]->failing_since_wall_ms != 0;
		}
		rs->state = strdup(failing ? "failing" : r->from && r->from->polling ? "polling"
			    : rs->records_in ? "ok" : "idle");
	}
	/* every sink once, though several routes may feed it */
	for (size_t i = 0; i < g->ninst; i++) {
		uint64_t depth, dead;

		if (g->inst[i]->role != HLB_CAP_SINK)
			continue;
		sink_depth(e, g->inst[i], &depth, &dead);
		s->dead_letters += dead;
	}
	s->unhealthy = unhealthy_reason(svc, s);
	s->healthy = s->unhealthy == NULL;
	return 0;
}

/* ---- endpoints ---------------------------------------------------------- */

static void respond_oom(hc_request *req)
{
	static const char msg[] = "out of memory\n";

	hc_request_respond(req, 500, "text/plain", msg, sizeof(msg) - 1, NULL);
}

static void respond_json(hc_request *req, unsigned status, struct json_object *o)
{
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	size_t n = strlen(text);
	char *body = malloc(n + 2);

	if (!body) {
		respond_oom(req);
		return;
	}
	memcpy(body, text, n);
	body[n] = '\n';
	body[n + 1] = '\0';
	hc_request_respond(req, status, "application/json", body, n + 1, NULL);
	free(body);
}

static void respond_text(hc_request *req, unsigned status, const char *type, char *text)
{
	if (!text) {
		respond_oom(req);
		return;
	}
	hc_request_respond(req, status, type, text, strlen(text), NULL);
	free(text);
}

static void serve_health(const hc_service *svc, hc_request *req)
{
	hc_status s;
	struct json_object *o = json_object_new_object();

	if (hc_service_status(svc, &s) < 0) {
		hc_status_clear(&s);
		json_object_put(o);
		respond_oom(req);
		return;
	}
	json_object_object_add(o, "status", json_object_new_string(s.healthy ? "ok" : "failing"));
	if (s.unhealthy)
		json_object_object_add(o, "reason", json_object_new_string(s.unhealthy));
	json_object_object_add(o, "dead_letters", json_object_new_int64((int64_t)s.dead_letters));
	json_object_object_add(o, "uptime_s", json_object_new_int64((s.now_ms - s.started_ms) / 1000));
	respond_json(req, s.healthy ? 200 : 503, o);
	json_object_put(o);
	hc_status_clear(&s);
}

static void serve_ready(const hc_service *svc, hc_request *req)
{
	struct json_object *o = json_object_new_object();
	int ready = svc->ready && svc->engine;

	json_object_object_add(o, "ready", json_object_new_boolean(ready));
	respond_json(req, ready ? 200 : 503, o);
	json_object_put(o);
}

/* Gauges that are read, not counted: queue depth and dead letters per
 * sink, uptime. */
static void scrape_gauges(const hc_service *svc)
{
	hc_engine *e = svc->engine;
	hc_graph *g;

	hc_metric_set(svc->metrics, "hlbridge_start_time_seconds", "When hlbridge started (Unix time)",
		      NULL, (double)svc->started_ms / 1000.0);
	hc_metric_set(svc->metrics, "hlbridge_ready", "1 when every instance started and the listener is up",
		      NULL, svc->ready && e ? 1 : 0);
	if (!e)
		return;
	g = hc_engine_graph(e);
	for (size_t i = 0; i < g->ninst; i++) {
		const struct hlb_instance *sink = g->inst[i];
		const char *labels[] = { "sink", sink->sec->label, NULL };
		uint64_t depth, dead;

		if (sink->role != HLB_CAP_SINK)
			continue;
		sink_depth(e, sink, &depth, &dead);
		hc_metric_set(svc->metrics, "hlbridge_sink_queue_depth",
			      "Records waiting for a sink (new and to be retried)", labels, (double)depth);
		hc_metric_set(svc->metrics, "hlbridge_sink_dead_letters",
			      "Records of a sink in the dead-letter queue", labels, (double)dead);
	}
}

static void serve_metrics(const hc_service *svc, hc_request *req)
{
	size_t len;
	char *text;

	scrape_gauges(svc);
	text = hc_metrics_render(svc->metrics, &len);
	if (!text) {
		respond_oom(req);
		return;
	}
	hc_request_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len, NULL);
	free(text);
}

static void serve_status(const hc_service *svc, hc_request *req, int html)
{
	hc_status s;

	if (hc_service_status(svc, &s) < 0) {
		hc_status_clear(&s);
		respond_oom(req);
		return;
	}
	if (html) {
		respond_text(req, 200, "text/html; charset=utf-8", hc_status_html(&s));
	} else {
		struct json_object *o = hc_status_to_json(&s);

		if (o)
			respond_json(req, 200, o);
		else
			respond_oom(req);
		json_object_put(o);
	}
	hc_status_clear(&s);
}

void hc_service_handle(void *arg, hc_request *req)
{
	hc_service *svc = arg;
	const char *path = hc_request_path(req);
	const char *method = hc_request_method(req);
	static const char not_found[] = "{\"status\":\"not_found\",\"detail\":\"try /, /health, /ready, "
					"/metrics, /status.json, POST /webhooks/ghl\"}\n";

	if (svc->engine && hc_webhooks_handle(hc_engine_webhooks(svc->engine), req))
		return;
	if (!svc->engine && strncmp(path, "/webhooks/", 10) == 0) {
		static const char msg[] = "{\"status\":\"reloading\"}\n";
		static const char *const ra[] = { "Retry-After: 5", NULL };

		/* GHL retries a 429 only */
		hc_request_respond(req, strcmp(path, "/webhooks/ghl") == 0 ? 429 : 503,
				   "application/json", msg, sizeof(msg) - 1, ra);
		return;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		static const char msg[] = "{\"status\":\"method_not_allowed\"}\n";
		static const char *const allow[] = { "Allow: GET, HEAD", NULL };

		hc_request_respond(req, 405, "application/json", msg, sizeof(msg) - 1, allow);
		return;
	}
	if (strcmp(path, "/health") == 0)
		serve_health(svc, req);
	else if (strcmp(path, "/ready") == 0)
		serve_ready(svc, req);
	else if (strcmp(path, "/metrics") == 0)
		serve_metrics(svc, req);
	else if (strcmp(path, "/") == 0 || strcmp(path, "/status") == 0)
		serve_status(svc, req, 1);
	else if (strcmp(path, "/status.json") == 0)
		serve_status(svc, req, 0);
	else
		hc_request_respond(req, 404, "application/json", not_found, sizeof(not_found) - 1, NULL);
}
