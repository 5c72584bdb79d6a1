/* What the status page, /health, `hlbridge status` and status.json show:
 * a snapshot the engine fills (core/engine_status.c) and renderers that
 * know nothing of the engine (core/status.c). */
#ifndef HC_STATUS_H
#define HC_STATUS_H

#include <stddef.h>
#include <stdint.h>

struct json_object;

#define HC_MINUTES 1440 /* the chart: 24 hours of records per minute */

/* Records per minute over the last 24 hours: a ring keyed by wall-clock
 * minute, so a quiet hour reads as zeros. */
typedef struct hc_minutes {
	int64_t last_minute;          /* epoch minute of slot `head` */
	uint32_t head;
	uint32_t count[HC_MINUTES];
} hc_minutes;

void hc_minutes_add(hc_minutes *m, int64_t wall_ms, uint32_t n);
/* out[0] is 1439 minutes before the minute of wall_ms, out[1439] that
 * minute; minutes never seen are 0. */
void hc_minutes_read(const hc_minutes *m, int64_t wall_ms, uint32_t out[HC_MINUTES]);

typedef struct hc_sink_status {
	char *name;
	char *state;            /* "ok", "retrying", "failing" */
	uint64_t delivered, retried, dead;
	uint64_t queued;        /* in memory and waiting for a retry */
	uint64_t backlog;       /* in the store, not yet read back */
	char *last_error;       /* NULL: none */
	int64_t last_error_ms;  /* epoch ms */
	int64_t failing_since_ms; /* epoch ms of the first failure of the
				   * current run of failures; 0 when healthy */
} hc_sink_status;

typedef struct hc_route_status {
	char *name;
	char *from;             /* the source (or route:NAME) */
	char *state;            /* "ok", "idle", "polling", "failing" */
	uint64_t records_in;    /* records the route received from its source */
	uint64_t records_out;   /* records it handed to its sinks */
	uint64_t dropped;       /* dropped by its transforms */
	int64_t last_poll_ms;   /* epoch ms; 0 never */
	char *progress;         /* a running backfill: "12000/50000 records, 60 pages,
				 * 800/s, ETA 48s"; NULL when none */
	hc_sink_status *sinks;
	size_t nsinks;
	uint32_t per_minute[HC_MINUTES]; /* records in, oldest first */
} hc_route_status;

typedef struct hc_status {
	char *version;
	int64_t now_ms;         /* epoch ms the snapshot was taken */
	int64_t started_ms;
	int ready;              /* every instance started, listener up */
	int healthy;
	char *unhealthy;        /* why not: names route, sink and last error */
	uint64_t dead_letters;  /* rows in the dead-letter queue */
	uint64_t webhooks_accepted, webhooks_rejected;
	hc_route_status *routes;
	size_t nroutes;
} hc_status;

void hc_status_clear(hc_status *s);  /* frees what the fields point to */

/* Renderers. Each returns malloc'd NUL-terminated text, NULL when out of
 * memory. The page is self-contained (inline CSS and SVG, no script, no
 * external asset) and escapes every name and error it prints. */
char *hc_status_html(const hc_status *s);
/* The terminal summary of `hlbridge status`. */
char *hc_status_text(const hc_status *s);
/* status.json, and back (for `hlbridge status`, which asks the running
 * daemon); from_json returns 0, or -1 for a document that is not one. */
struct json_object *hc_status_to_json(const hc_status *s);
int hc_status_from_json(struct json_object *j, hc_status *s);

#endif
