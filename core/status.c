/* The records-per-minute ring, and the renderers of a status snapshot:
 * status.json (both ways), the terminal summary and the HTML page (see
 * status.h). The renderers know nothing of the engine: everything they
 * print comes from hc_status, and every string in it may come from a
 * config file or the network, so the page escapes it all and the
 * terminal text drops control characters. */
#ifdef HAVE_CONFIG_H
#include "build_config.h" /* _GNU_SOURCE for open_memstream */
#endif
#include "status.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#define MINUTE_MS 60000
#define BUCKET 5                      /* minutes per bar of the chart */
#define NBUCKETS (HC_MINUTES / BUCKET)
#define ERROR_WIDTH 100               /* the terminal's last error, in bytes */

/* ---- the minutes ring ---------------------------------------------------- */

static int64_t minute_of(int64_t ms)
{
	/* floor, also before 1970, so that a minute is always 60 s wide */
	return ms >= 0 ? ms / MINUTE_MS : -((-ms + MINUTE_MS - 1) / MINUTE_MS);
}

static uint32_t slot_of(const hc_minutes *m, int64_t minute)
{
	int64_t back = m->last_minute - minute; /* 0 .. HC_MINUTES - 1 */

	return (uint32_t)((m->head + HC_MINUTES - (uint32_t)back) % HC_MINUTES);
}

static void restart(hc_minutes *m, int64_t minute)
{
	memset(m->count, 0, sizeof(m->count));
	m->head = 0;
	m->last_minute = minute;
}

/* A zeroed ring is empty: epoch minute 0 is not a time the daemon runs. */
void hc_minutes_add(hc_minutes *m, int64_t wall_ms, uint32_t n)
{
	int64_t minute = minute_of(wall_ms), d = minute - m->last_minute;
	uint32_t *c;

	if (m->last_minute == 0 || d >= HC_MINUTES || d <= -HC_MINUTES) {
		/* first use, a quiet day, or a clock stepped by more than the
		 * window: nothing kept is inside the new window */
		restart(m, minute);
		d = 0;
	}
	for (; d > 0; d--) { /* the minutes in between were quiet */
		m->head = (m->head + 1) % HC_MINUTES;
		m->count[m->head] = 0;
		m->last_minute++;
	}
	/* d < 0: the clock went back a little; that minute is still in the
	 * window, count it there and keep the newest minute as it is */
	c = &m->count[slot_of(m, minute)];
	*c = *c > UINT32_MAX - n ? UINT32_MAX : *c + n;
}

void hc_minutes_read(const hc_minutes *m, int64_t wall_ms, uint32_t out[HC_MINUTES])
{
	int64_t minute = minute_of(wall_ms);

	for (int i = 0; i < HC_MINUTES; i++) {
		int64_t x = minute - (HC_MINUTES - 1) + i;

		if (m->last_minute == 0 || x > m->last_minute || x <= m->last_minute - HC_MINUTES)
			out[i] = 0;
		else
			out[i] = m->count[slot_of(m, x)];
	}
}

/* ---- the snapshot -------------------------------------------------------- */

static void sink_clear(hc_sink_status *k)
{
	free(k->name);
	free(k->state);
	free(k->last_error);
}

static void route_clear(hc_route_status *r)
{
	free(r->name);
	free(r->from);
	free(r->state);
	free(r->progress);
	for (size_t i = 0; r->sinks && i < r->nsinks; i++)
		sink_clear(&r->sinks[i]);
	free(r->sinks);
}

void hc_status_clear(hc_status *s)
{
	if (!s)
		return;
	free(s->version);
	free(s->unhealthy);
	for (size_t i = 0; s->routes && i < s->nroutes; i++)
		route_clear(&s->routes[i]);
	free(s->routes);
	memset(s, 0, sizeof(*s));
}

/* ---- shared formatting --------------------------------------------------- */

/* Text built on a memory stream (which sets *text on fclose); NULL when
 * anything failed. */
static char *stream_close(FILE *f, char **text)
{
	int bad = ferror(f);

	if (fclose(f) || bad) {
		free(*text);
		return NULL;
	}
	return *text;
}

static const char *str(const char *s)
{
	return s ? s : "";
}

static void put_duration(FILE *f, int64_t ms)
{
	int64_t s = ms > 0 ? ms / 1000 : 0;

	if (s >= 86400)
		fprintf(f, "%" PRId64 "d %" PRId64 "h", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		fprintf(f, "%" PRId64 "h %" PRId64 "m", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		fprintf(f, "%" PRId64 "m %" PRId64 "s", s / 60, s % 60);
	else
		fprintf(f, "%" PRId64 "s", s);
}

static void put_time(FILE *f, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char buf[32];

	if (ms <= 0 || !gmtime_r(&t, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm))
		fputs("never", f);
	else
		fputs(buf, f);
}

/* "2024-05-01 10:00:00 UTC (5m 3s ago)" */
static void put_when(FILE *f, int64_t ms, int64_t now_ms)
{
	put_time(f, ms);
	if (ms <= 0)
		return;
	fputs(" (", f);
	put_duration(f, now_ms - ms);
	fputs(" ago)", f);
}

static uint64_t sum_minutes(const uint32_t *c, int from, int to)
{
	uint64_t n = 0;

	for (int i = from; i < to; i++)
		n += c[i];
	return n;
}

/* ---- the terminal summary ------------------------------------------------ */

/* Control characters (an escape sequence in an error message) would drive
 * the terminal: they print as '?'. `max` bytes at most (0: all), never
 * cutting a UTF-8 sequence, with "..." when cut. */
static void put_term(FILE *f, const char *s, size_t max)
{
	size_t len = strlen(str(s)), cut = len;

	if (max && len > max) {
		cut = max - 3;
		while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
			cut--;
	}
	for (size_t i = 0; i < cut; i++) {
		unsigned char c = (unsigned char)s[i];

		fputc(c < 0x20 || c == 0x7f ? '?' : c, f);
	}
	if (cut < len)
		fputs("...", f);
}

static void text_sink(FILE *f, const hc_sink_status *k, int64_t now)
{
	fputs("  sink ", f);
	put_term(f, k->name, 0);
	fputs(": ", f);
	put_term(f, k->state, 0);
	fprintf(f, ", delivered %" PRIu64 ", retried %" PRIu64 ", dead %" PRIu64
		", queued %" PRIu64 ", backlog %" PRIu64 "\n",
		k->delivered, k->retried, k->dead, k->queued, k->backlog);
	if (k->failing_since_ms > 0) {
		fputs("    failing for ", f);
		put_duration(f, now - k->failing_since_ms);
		fputc('\n', f);
	}
	if (k->last_error) {
		fputs("    last error ", f);
		put_when(f, k->last_error_ms, now);
		fputs(": ", f);
		put_term(f, k->last_error, ERROR_WIDTH);
		fputc('\n', f);
	}
}

static void text_route(FILE *f, const hc_route_status *r, int64_t now)
{
	fputs("route ", f);
	put_term(f, r->name, 0);
	fputs(" <- ", f);
	put_term(f, r->from, 0);
	fputs(": ", f);
	put_term(f, r->state, 0);
	fprintf(f, "\n  records in %" PRIu64 ", out %" PRIu64 ", dropped %" PRIu64
		"; last hour %" PRIu64 ", last 24h %" PRIu64 "\n",
		r->records_in, r->records_out, r->dropped,
		sum_minutes(r->per_minute, HC_MINUTES - 60, HC_MINUTES),
		sum_minutes(r->per_minute, 0, HC_MINUTES));
	fputs("  last poll ", f);
	put_when(f, r->last_poll_ms, now);
	fputc('\n', f);
	if (r->progress) {
		fputs("  backfill: ", f);
		put_term(f, r->progress, ERROR_WIDTH);
		fputc('\n', f);
	}
	for (size_t i = 0; i < r->nsinks; i++)
		text_sink(f, &r->sinks[i], now);
}

char *hc_status_text(const hc_status *s)
{
	char *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	fputs("hlbridge ", f);
	put_term(f, s->version, 0);
	fputs(", up ", f);
	put_duration(f, s->now_ms - s->started_ms);
	fprintf(f, ", %s, %s\n", s->ready ? "ready" : "not ready", s->healthy ? "healthy" : "UNHEALTHY");
	if (!s->healthy && s->unhealthy) {
		fputs("  ", f);
		put_term(f, s->unhealthy, ERROR_WIDTH);
		fputc('\n', f);
	}
	fprintf(f, "dead letters %" PRIu64 ", webhooks accepted %" PRIu64 ", rejected %" PRIu64 "\n",
		s->dead_letters, s->webhooks_accepted, s->webhooks_rejected);
	for (size_t i = 0; i < s->nroutes; i++) {
		fputc('\n', f);
		text_route(f, &s->routes[i], s->now_ms);
	}
	return stream_close(f, &text);
}

/* ---- the HTML page ------------------------------------------------------- */

static void put_html(FILE *f, const char *s)
{
	for (s = str(s); *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}

/* A state as a badge; the class is one of a fixed set, never the text. */
static void put_badge(FILE *f, const char *state)
{
	static const char *const good[] = { "ok", "healthy", "ready", "idle", "polling" };
	const char *cls = "bad";

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!strcmp(str(state), good[i]))
			cls = i < 3 ? "ok" : "idle";
	if (!strcmp(str(state), "retrying"))
		cls = "warn";
	fprintf(f, "<span class=\"b %s\">", cls);
	put_html(f, state ? state : "unknown");
	fputs("</span>", f);
}

static const char css[] =
	"body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}"
	"header{background:#1d2330;color:#fff;padding:12px 20px}"
	"header h1{font-size:20px;margin:0 0 4px}"
	"header p{margin:2px 0}"
	"main{padding:12px 20px}"
	"section{background:#fff;border:1px solid #d5d9e0;border-radius:6px;margin:0 0 14px;padding:10px 14px}"
	"h2{font-size:17px;margin:0 0 6px}"
	"table{border-collapse:collapse;margin:6px 0}"
	"th,td{text-align:left;padding:3px 10px 3px 0;vertical-align:top}"
	"th{color:#5a6270;font-weight:600}"
	"td.n{text-align:right;font-variant-numeric:tabular-nums}"
	".b{display:inline-block;padding:0 7px;border-radius:9px;font-size:12px;font-weight:600}"
	".ok{background:#d9f2e1;color:#16632f}.idle{background:#e3e7ee;color:#3b4350}"
	".warn{background:#fff0c7;color:#7a5300}.bad{background:#fbd9d9;color:#8f1d1d}"
	".err{color:#8f1d1d;font-family:monospace;white-space:pre-wrap;word-break:break-all}"
	".why{background:#8f1d1d;padding:4px 8px;border-radius:4px}"
	"svg{width:100%;max-width:820px;height:auto;display:block}"
	"svg text{font-size:11px;fill:#5a6270}"
	".bar{fill:#4c7bd9}.axis{stroke:#aab1bd;stroke-width:1}"
	"small{color:#5a6270}";

static void html_head(FILE *f, const hc_status *s)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	      "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
	      "<meta http-equiv=\"refresh\" content=\"60\">" /* fresh without script */
	      "<link rel=\"icon\" href=\"data:,\"><title>hlbridge status</title><style>", f);
	fputs(css, f);
	fputs("</style></head><body>\n<header><h1>hlbridge ", f);
	put_html(f, s->version);
	fputs("</h1><p>up ", f);
	put_duration(f, s->now_ms - s->started_ms);
	fputs(" &middot; ", f);
	put_badge(f, s->ready ? "ready" : "not ready");
	fputc(' ', f);
	put_badge(f, s->healthy ? "healthy" : "unhealthy");
	fprintf(f, " &middot; dead letters %" PRIu64 " &middot; webhooks %" PRIu64
		" accepted, %" PRIu64 " rejected</p>",
		s->dead_letters, s->webhooks_accepted, s->webhooks_rejected);
	if (!s->healthy && s->unhealthy) {
		fputs("<p class=\"why\">", f);
		put_html(f, s->unhealthy);
		fputs("</p>", f);
	}
	fputs("<p><small>as of ", f);
	put_time(f, s->now_ms);
	fputs("</small></p></header>\n<main>\n", f);
}

/* "1234", "12.3k", "4.5M": short enough for the chart's corner. */
static void put_short(FILE *f, uint64_t n)
{
	if (n >= 1000000)
		fprintf(f, "%.1fM", (double)n / 1e6);
	else if (n >= 10000)
		fprintf(f, "%.1fk", (double)n / 1e3);
	else
		fprintf(f, "%" PRIu64, n);
}

/* Geometry of the chart, in the SVG's own units. */
#define CX 44   /* left of the plot: room for the max label */
#define CY 14   /* top of the plot */
#define CW 576  /* NBUCKETS bars of 2 units */
#define CH 100  /* the tallest bar */

/* 24 hours of records as one step-shaped path of 288 five-minute bars:
 * a few KB per route whatever the traffic. */
static void html_chart(FILE *f, const hc_route_status *r)
{
	uint64_t b[NBUCKETS], max = 0, total = 0;

	for (int i = 0; i < NBUCKETS; i++) {
		b[i] = sum_minutes(r->per_minute, i * BUCKET, (i + 1) * BUCKET);
		max = b[i] > max ? b[i] : max;
		total += b[i];
	}
	fprintf(f, "<svg viewBox=\"0 0 %d %d\" role=\"img\"><title>Records received by route ",
		CX + CW + 8, CY + CH + 22);
	put_html(f, r->name);
	fprintf(f, " per %d minutes over the last 24 hours: %" PRIu64 " in all, at most %" PRIu64
		" in %d minutes</title>", BUCKET, total, max, BUCKET);
	/* the axes and the hour ticks, every 3 hours from -24 h to now */
	fprintf(f, "<path class=\"axis\" d=\"M%d %dH%dM%d %dV%d", CX, CY + CH, CX + CW, CX, CY, CY + CH);
	for (int h = 0; h <= 24; h += 3)
		fprintf(f, "M%d %dv4", CX + h * CW / 24, CY + CH);
	fputs("\"/>", f);
	for (int h = 0; h < 24; h += 6)
		fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">-%dh</text>",
			CX + h * CW / 24, CY + CH + 17, 24 - h);
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">now</text>", CX + CW, CY + CH + 17);
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", CX - 4, CY + 4);
	put_short(f, max);
	fprintf(f, "</text><text x=\"%d\" y=\"%d\" text-anchor=\"end\">0</text>", CX - 4, CY + CH);
	fprintf(f, "<text x=\"%d\" y=\"%d\">records / %d min</text>", CX + 4, CY - 3, BUCKET);
	if (max) {
		/* one V per change of height: a quiet night is a single h */
		uint64_t y = CY + CH, run = 0;

		fprintf(f, "<path class=\"bar\" d=\"M%d %d", CX, CY + CH);
		for (int i = 0; i < NBUCKETS; i++) {
			uint64_t yi = (uint64_t)(CY + CH) - (b[i] * CH + max - 1) / max;

			if (yi != y) {
				if (run)
					fprintf(f, "h%" PRIu64, run);
				fprintf(f, "V%" PRIu64, yi);
				y = yi;
				run = 0;
			}
			run += CW / NBUCKETS;
		}
		fprintf(f, "h%" PRIu64 "V%dZ\"/>", run, CY + CH);
	}
	fputs("</svg>", f);
}

static void html_sinks(FILE *f, const hc_route_status *r, int64_t now)
{
	if (!r->nsinks)
		return;
	fputs("<table><tr><th>sink</th><th>state</th><th>delivered</th><th>retried</th><th>dead</th>"
	      "<th>queued</th><th>backlog</th><th>last error</th></tr>", f);
	for (size_t i = 0; i < r->nsinks; i++) {
		const hc_sink_status *k = &r->sinks[i];

		fputs("<tr><td>", f);
		put_html(f, k->name);
		fputs("</td><td>", f);
		put_badge(f, k->state);
		if (k->failing_since_ms > 0) {
			fputs(" <small>for ", f);
			put_duration(f, now - k->failing_since_ms);
			fputs("</small>", f);
		}
		fprintf(f, "</td><td class=\"n\">%" PRIu64 "</td><td class=\"n\">%" PRIu64
			"</td><td class=\"n\">%" PRIu64 "</td><td class=\"n\">%" PRIu64
			"</td><td class=\"n\">%" PRIu64 "</td><td>",
			k->delivered, k->retried, k->dead, k->queued, k->backlog);
		if (k->last_error) {
			fputs("<small>", f);
			put_when(f, k->last_error_ms, now);
			fputs("</small><div class=\"err\">", f);
			put_html(f, k->last_error);
			fputs("</div>", f);
		} else {
			fputs("&mdash;", f);
		}
		fputs("</td></tr>", f);
	}
	fputs("</table>", f);
}

static void html_route(FILE *f, const hc_route_status *r, int64_t now)
{
	fputs("<section><h2>", f);
	put_html(f, r->name);
	fputs(" ", f);
	put_badge(f, r->state);
	fputs("</h2><table><tr><th>source</th><td>", f);
	put_html(f, r->from);
	fprintf(f, "</td></tr><tr><th>records</th><td>%" PRIu64 " in, %" PRIu64 " out, %" PRIu64
		" dropped</td></tr><tr><th>last poll</th><td>", r->records_in, r->records_out, r->dropped);
	put_when(f, r->last_poll_ms, now);
	fputs("</td></tr>", f);
	if (r->progress) {
		fputs("<tr><th>backfill</th><td>", f);
		put_html(f, r->progress);
		fputs("</td></tr>", f);
	}
	fputs("</table>", f);
	html_sinks(f, r, now);
	html_chart(f, r);
	fputs("</section>\n", f);
}

char *hc_status_html(const hc_status *s)
{
	char *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	html_head(f, s);
	if (!s->nroutes)
		fputs("<section>No routes.</section>\n", f);
	for (size_t i = 0; i < s->nroutes; i++)
		html_route(f, &s->routes[i], s->now_ms);
	fputs("</main></body></html>\n", f);
	return stream_close(f, &text);
}

/* ---- status.json --------------------------------------------------------- */

/* Adds key: value, failing (returning -1) when the value is NULL. */
static int put(struct json_object *o, const char *key, struct json_object *v)
{
	if (!v || json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

/* A NULL string is JSON null (a NULL json_object in json-c). */
static int put_str(struct json_object *o, const char *key, const char *s)
{
	if (!s)
		return json_object_object_add(o, key, NULL) < 0 ? -1 : 0;
	return put(o, key, json_object_new_string(s));
}

static int push(struct json_object *a, struct json_object *v)
{
	if (!v || json_object_array_add(a, v) < 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

static struct json_object *sink_json(const hc_sink_status *k)
{
	struct json_object *o = json_object_new_object();

	if (!o || put_str(o, "name", str(k->name)) || put_str(o, "state", str(k->state)) ||
	    put(o, "delivered", json_object_new_uint64(k->delivered)) ||
	    put(o, "retried", json_object_new_uint64(k->retried)) ||
	    put(o, "dead", json_object_new_uint64(k->dead)) ||
	    put(o, "queued", json_object_new_uint64(k->queued)) ||
	    put(o, "backlog", json_object_new_uint64(k->backlog)) ||
	    put_str(o, "last_error", k->last_error) ||
	    put(o, "last_error_ms", json_object_new_int64(k->last_error_ms)) ||
	    put(o, "failing_since_ms", json_object_new_int64(k->failing_since_ms))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *route_json(const hc_route_status *r)
{
	struct json_object *o = json_object_new_object(), *sinks = NULL, *pm = NULL;

	if (!o || put_str(o, "name", str(r->name)) || put_str(o, "from", str(r->from)) ||
	    put_str(o, "state", str(r->state)) ||
	    put(o, "records_in", json_object_new_uint64(r->records_in)) ||
	    put(o, "records_out", json_object_new_uint64(r->records_out)) ||
	    put(o, "dropped", json_object_new_uint64(r->dropped)) ||
	    put(o, "last_poll_ms", json_object_new_int64(r->last_poll_ms)) ||
	    put_str(o, "progress", r->progress) ||
	    put(o, "sinks", sinks = json_object_new_array()) ||
	    put(o, "per_minute", pm = json_object_new_array()))
		goto fail;
	for (size_t i = 0; i < r->nsinks; i++)
		if (push(sinks, sink_json(&r->sinks[i])))
			goto fail;
	for (int i = 0; i < HC_MINUTES; i++)
		if (push(pm, json_object_new_int64(r->per_minute[i])))
			goto fail;
	return o;
fail:
	json_object_put(o);
	return NULL;
}

struct json_object *hc_status_to_json(const hc_status *s)
{
	struct json_object *o = json_object_new_object(), *routes = NULL;

	if (!o || put_str(o, "version", str(s->version)) ||
	    put(o, "now_ms", json_object_new_int64(s->now_ms)) ||
	    put(o, "started_ms", json_object_new_int64(s->started_ms)) ||
	    put(o, "ready", json_object_new_boolean(s->ready)) ||
	    put(o, "healthy", json_object_new_boolean(s->healthy)) ||
	    put_str(o, "unhealthy", s->unhealthy) ||
	    put(o, "dead_letters", json_object_new_uint64(s->dead_letters)) ||
	    put(o, "webhooks_accepted", json_object_new_uint64(s->webhooks_accepted)) ||
	    put(o, "webhooks_rejected", json_object_new_uint64(s->webhooks_rejected)) ||
	    put(o, "routes", routes = json_object_new_array()))
		goto fail;
	for (size_t i = 0; i < s->nroutes; i++)
		if (push(routes, route_json(&s->routes[i])))
			goto fail;
	return o;
fail:
	json_object_put(o);
	return NULL;
}

/* ---- status.json, read back ---------------------------------------------- */

/* Each getter answers -1 for a missing member or one of another type. */
static struct json_object *member(struct json_object *o, const char *key, json_type type)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, type))
		return NULL;
	return v;
}

static int get_i64(struct json_object *o, const char *key, int64_t *out)
{
	struct json_object *v = member(o, key, json_type_int);

	if (!v)
		return -1;
	*out = json_object_get_int64(v);
	return 0;
}

static int get_u64(struct json_object *o, const char *key, uint64_t *out)
{
	struct json_object *v = member(o, key, json_type_int);

	/* json-c keeps a number past INT64_MAX as unsigned: get_int64
	 * answers INT64_MAX for it, and a negative number stays negative */
	if (!v || json_object_get_int64(v) < 0)
		return -1;
	*out = json_object_get_uint64(v);
	return 0;
}

static int get_bool(struct json_object *o, const char *key, int *out)
{
	struct json_object *v = member(o, key, json_type_boolean);

	if (!v)
		return -1;
	*out = json_object_get_boolean(v);
	return 0;
}

/* A string, copied; `nullable`: JSON null (or no member) gives NULL. */
static int get_str(struct json_object *o, const char *key, int nullable, char **out)
{
	struct json_object *v = NULL;

	*out = NULL;
	if (!json_object_object_get_ex(o, key, &v) || !v)
		return nullable ? 0 : -1;
	if (!json_object_is_type(v, json_type_string))
		return -1;
	*out = strdup(json_object_get_string(v));
	return *out ? 0 : -1;
}

static int sink_from(struct json_object *o, hc_sink_status *k)
{
	if (!json_object_is_type(o, json_type_object))
		return -1;
	return get_str(o, "name", 0, &k->name) || get_str(o, "state", 0, &k->state) ||
	       get_u64(o, "delivered", &k->delivered) || get_u64(o, "retried", &k->retried) ||
	       get_u64(o, "dead", &k->dead) || get_u64(o, "queued", &k->queued) ||
	       get_u64(o, "backlog", &k->backlog) || get_str(o, "last_error", 1, &k->last_error) ||
	       get_i64(o, "last_error_ms", &k->last_error_ms) ||
	       get_i64(o, "failing_since_ms", &k->failing_since_ms) ? -1 : 0;
}

static int minutes_from(struct json_object *a, uint32_t out[HC_MINUTES])
{
	if (!a || json_object_array_length(a) != HC_MINUTES)
		return -1;
	for (size_t i = 0; i < HC_MINUTES; i++) {
		struct json_object *v = json_object_array_get_idx(a, i);
		int64_t n;

		if (!json_object_is_type(v, json_type_int) || (n = json_object_get_int64(v)) < 0 ||
		    n > UINT32_MAX)
			return -1;
		out[i] = (uint32_t)n;
	}
	return 0;
}

static int route_from(struct json_object *o, hc_route_status *r)
{
	struct json_object *sinks;

	if (!json_object_is_type(o, json_type_object) ||
	    get_str(o, "name", 0, &r->name) || get_str(o, "from", 0, &r->from) ||
	    get_str(o, "state", 0, &r->state) || get_u64(o, "records_in", &r->records_in) ||
	    get_u64(o, "records_out", &r->records_out) || get_u64(o, "dropped", &r->dropped) ||
	    get_i64(o, "last_poll_ms", &r->last_poll_ms) || get_str(o, "progress", 1, &r->progress) ||
	    minutes_from(member(o, "per_minute", json_type_array), r->per_minute) ||
	    !(sinks = member(o, "sinks", json_type_array)))
		return -1;
	r->nsinks = json_object_array_length(sinks);
	if (r->nsinks && !(r->sinks = calloc(r->nsinks, sizeof(*r->sinks)))) {
		r->nsinks = 0;
		return -1;
	}
	for (size_t i = 0; i < r->nsinks; i++)
		if (sink_from(json_object_array_get_idx(sinks, i), &r->sinks[i]))
			return -1;
	return 0;
}

/* Builds into a scratch snapshot: `s` is written only on success, and a
 * failure frees whatever was built. */
int hc_status_from_json(struct json_object *j, hc_status *s)
{
	hc_status t;
	struct json_object *routes;

	memset(&t, 0, sizeof(t));
	if (!json_object_is_type(j, json_type_object) ||
	    get_str(j, "version", 0, &t.version) || get_i64(j, "now_ms", &t.now_ms) ||
	    get_i64(j, "started_ms", &t.started_ms) || get_bool(j, "ready", &t.ready) ||
	    get_bool(j, "healthy", &t.healthy) || get_str(j, "unhealthy", 1, &t.unhealthy) ||
	    get_u64(j, "dead_letters", &t.dead_letters) ||
	    get_u64(j, "webhooks_accepted", &t.webhooks_accepted) ||
	    get_u64(j, "webhooks_rejected", &t.webhooks_rejected) ||
	    !(routes = member(j, "routes", json_type_array)))
		goto fail;
	t.nroutes = json_object_array_length(routes);
	if (t.nroutes && !(t.routes = calloc(t.nroutes, sizeof(*t.routes)))) {
		t.nroutes = 0;
		goto fail;
	}
	for (size_t i = 0; i < t.nroutes; i++)
		if (route_from(json_object_array_get_idx(routes, i), &t.routes[i]))
			goto fail;
	*s = t;
	return 0;
fail:
	hc_status_clear(&t);
	return -1;
}
