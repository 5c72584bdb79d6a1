/* status_render html|text|json|metrics [OUT]: renders a sample status
 * snapshot (core/status.c) for the shell tests: two routes, "contacts"
 * healthy with a busy day behind it, "orders" failing with an error that
 * tries to inject markup and script into the page. `metrics`: a sample
 * registry (core/metrics.c) in the exposition format, with every kind of
 * family and hostile label values. Writes to OUT, or stdout. */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "metrics.h"
#include "status.h"

#define HOSTILE "<img src=x onerror=console.error('injected')><script>console.error('injected')</script>"

static char *dup(const char *s)
{
	char *d = strdup(s);

	if (!d) {
		perror("status_render");
		exit(2);
	}
	return d;
}

static void *zalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p) {
		perror("status_render");
		exit(2);
	}
	return p;
}

static void sample(hc_status *s, int64_t now)
{
	hc_route_status *r;

	memset(s, 0, sizeof(*s));
	s->version = dup("0.1.0-test");
	s->now_ms = now;
	s->started_ms = now - 26 * 3600 * 1000LL;
	s->ready = 1;
	s->unhealthy = dup("route orders, sink crm: failing for 12m: HTTP 503 Service Unavailable");
	s->dead_letters = 7;
	s->webhooks_accepted = 1234;
	s->webhooks_rejected = 5;
	s->nroutes = 2;
	s->routes = r = zalloc(2, sizeof(*r));

	r[0].name = dup("contacts");
	r[0].from = dup("ghl_contacts");
	r[0].state = dup("polling");
	r[0].records_in = 52000;
	r[0].records_out = 51950;
	r[0].dropped = 50;
	r[0].last_poll_ms = now - 20000;
	r[0].progress = dup("12000/50000 records, 60 pages, 800/s, ETA 48s");
	for (int i = 0; i < HC_MINUTES; i++) /* a working day's hump */
		r[0].per_minute[i] = (uint32_t)(i > 480 && i < 1080 ? 20 + (i * 37) % 50 : i % 5);
	r[0].nsinks = 1;
	r[0].sinks = zalloc(1, sizeof(*r[0].sinks));
	r[0].sinks[0].name = dup("jsonl_out");
	r[0].sinks[0].state = dup("ok");
	r[0].sinks[0].delivered = 51950;

	r[1].name = dup("orders");
	r[1].from = dup("octorate_reservations");
	r[1].state = dup("failing");
	r[1].records_in = 300;
	r[1].records_out = 120;
	r[1].last_poll_ms = now - 65000;
	r[1].per_minute[HC_MINUTES - 30] = 300;
	r[1].nsinks = 2;
	r[1].sinks = zalloc(2, sizeof(*r[1].sinks));
	r[1].sinks[0].name = dup("crm");
	r[1].sinks[0].state = dup("failing");
	r[1].sinks[0].retried = 44;
	r[1].sinks[0].dead = 7;
	r[1].sinks[0].queued = 13;
	r[1].sinks[0].backlog = 160;
	r[1].sinks[0].last_error = dup("HTTP 503 Service Unavailable: " HOSTILE);
	r[1].sinks[0].last_error_ms = now - 30000;
	r[1].sinks[0].failing_since_ms = now - 12 * 60000;
	r[1].sinks[1].name = dup("audit_log");
	r[1].sinks[1].state = dup("ok");
	r[1].sinks[1].delivered = 120;
}

static char *sample_metrics(void)
{
	static const double bounds[] = { 0.005, 0.05, 0.5, 5, 50 };
	const char *route[] = { "route", "contacts", "sink", "jsonl_out", NULL };
	const char *hostile[] = { "route", "a\"b\\c\nd}{,=", "sink", "<x>", NULL };
	const char *status[] = { "host", "services.leadconnectorhq.com", "class", "2xx", NULL };
	hc_metrics *m = hc_metrics_new(1000);
	char *text;

	if (!m)
		return NULL;
	hc_metric_add(m, "hlbridge_records_in_total", "Records a route received.", route, 52000);
	hc_metric_add(m, "hlbridge_records_in_total", "Records a route received.", hostile, 3);
	hc_metric_add(m, "hlbridge_http_requests_total", "HTTP requests by host and\nstatus class.", status, 1e6);
	hc_metric_set(m, "hlbridge_queue_depth", "Records waiting \\ in memory.", route, 13);
	hc_metric_set(m, "hlbridge_quota_remaining", "Requests left in the window.", NULL, 0.25);
	hc_metric_set(m, "hlbridge_ready", "", NULL, 1);
	for (int i = 0; i < 500; i++)
		hc_metric_observe(m, "hlbridge_poll_duration_seconds", "Poll time.", bounds, 5, route, i * 0.031);
	hc_metric_observe(m, "hlbridge_poll_duration_seconds", "Poll time.", bounds, 5, hostile, 1e9);
	text = hc_metrics_render(m, NULL);
	hc_metrics_free(m);
	return text;
}

int main(int argc, char **argv)
{
	hc_status s;
	struct json_object *j = NULL;
	char *text = NULL;
	const char *out;
	FILE *f = stdout;
	int rc = 0;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: status_render html|text|json|metrics [OUT]\n");
		return 2;
	}
	sample(&s, (int64_t)time(NULL) * 1000);
	if (!strcmp(argv[1], "html"))
		text = hc_status_html(&s);
	else if (!strcmp(argv[1], "text"))
		text = hc_status_text(&s);
	else if (!strcmp(argv[1], "metrics"))
		text = sample_metrics();
	else if (!strcmp(argv[1], "json") && (j = hc_status_to_json(&s)))
		text = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	out = text;
	if (!out || (argc == 3 && !(f = fopen(argv[2], "w")))) {
		fprintf(stderr, "status_render: %s failed\n", argv[1]);
		rc = 1;
	} else if (fputs(out, f) < 0 || (f != stdout && fclose(f))) {
		perror("status_render");
		rc = 1;
	}
	free(text);
	json_object_put(j);
	hc_status_clear(&s);
	return rc;
}
