/* The validated configuration: plugin instances and the routes between
 * them. Built by validate.c from a parsed file and the loaded plugins;
 * executed by engine.c. */
#ifndef HC_GRAPH_H
#define HC_GRAPH_H

#include <stddef.h>
#include <stdint.h>
#include "config.h"
#include "loader.h"
#include "retry.h"

struct hc_engine;
struct hc_route;

struct hlb_instance {
	hc_section *sec;
	const char *file;         /* configuration file, for option_error */
	const hc_module *mod;
	uint32_t role;            /* HLB_CAP_SOURCE, _TRANSFORM, _SINK or _AUTH */
	const char *state_name;   /* its rows in the state store: the section
				   * name, "auth:NAME" for credentials */
	void *state;
	int inited;
	int invalid;              /* its section has errors: never started */
	int referenced;           /* a credential some instance uses */
	int config_errors;        /* option_error calls during init */
	hc_diag *diag;            /* where option_error reports (init time) */
	struct hc_engine *engine;

	/* source */
	int64_t interval_ms;
	struct hc_route **routes; /* routes reading from this source */
	size_t nroutes;
	struct hlb_instance **reach; /* sinks fed by it, for backpressure: first those of its
				      * routes, then those their results feed */
	size_t nreach, ndirect;
	int polling, wants_more, waiting_room, exhausted;
	hlb_timer *poll_timer;
	uint64_t polls, emitted;
	struct hc_cp *cp_head, *cp_tail;  /* checkpoints waiting for records */
	struct hc_latest_map *latest;     /* state as last put (any role) */

	/* sink */
	size_t batch;
	hc_retry_policy retry;
	int64_t retry_due;           /* when retry_timer fires */
	hlb_record *q_head, *q_tail; /* ready to deliver */
	size_t q_len;
	hlb_record *wait_head;       /* waiting for a retry */
	size_t wait_len;
	hlb_timer *retry_timer, *flush_timer;
	int backlog;                 /* the store may hold records not in memory */
	struct hc_orphans *orphans;  /* checkpoints waiting for those records */
	int64_t cursor;              /* highest queue row id held or done */
	int delivering;
	uint64_t delivered, failed, retried;

	/* transform */
	uint64_t dropped;

	/* webhooks: records of webhook jobs, queued in one transaction per
	 * loop turn (engine.c) */
	struct hc_batch *wh_batch;
	/* a running poll's progress (host->progress) */
	int64_t poll_started_ms, last_poll_wall_ms;
	uint64_t prog_records, prog_total, prog_pages;
	int64_t prog_shown_ms;
	/* sink health: the current run of failures, and the last error */
	int64_t failing_since_wall_ms;
	char *last_error;
	int64_t last_error_wall_ms;
	int64_t last_dead_wall_ms;   /* when a record last went to the DLQ */
	/* the store's queue count, for the webhook queue bound */
	uint64_t stored_depth;
	int64_t depth_checked_ms;
};

typedef struct hc_route {
	hc_section *sec;
	const char *name;
	struct hlb_instance *from;      /* a source, or NULL when from_route */
	struct hc_route *from_route;    /* chained: takes another route's output */
	struct hlb_instance **via;
	size_t nvia;
	struct hlb_instance **to;
	size_t nto;
	struct hc_route **children;     /* routes chained from this one */
	size_t nchildren;
	/* what the status page shows */
	uint64_t records_in, records_out;
	struct hc_minutes *minutes;     /* records in per minute, 24 h */
} hc_route;

typedef struct hc_graph {
	hc_config *cfg;
	struct hlb_instance **inst;
	size_t ninst;
	hc_route *routes;
	size_t nroutes;
	/* [service] */
	int64_t drain_timeout_ms;
	const char *state_dir;          /* NULL: the caller's default */
} hc_graph;

/* Checks the configuration against the plugins, reporting every problem
 * to diag. Loads plugins through the loader (adding [service] plugin_dir
 * directories, or the default, after those already set). Returns NULL only
 * on allocation failure; check diag->errors. */
hc_graph *hc_graph_build(hc_config *cfg, hc_loader *loader, const char *default_plugin_dir,
			 hc_diag *diag);
void hc_graph_free(hc_graph *g);

/* A [service] option: its value, else its declared default, else NULL. */
const char *hc_service_option(const hc_graph *g, const char *key);

/* The keys the host itself reads in a section of this role. */
const hlb_option *hc_host_options(uint32_t role);

/* Option lookup with declared defaults (used by the host table). */
const hlb_option *hc_find_option(const hlb_option *table, const char *key);
const char *hc_instance_option(struct hlb_instance *inst, const char *key);

#endif
