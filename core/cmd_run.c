/* hlbridge run and hlbridge check: both load and validate the whole
 * configuration first, so that `check` says exactly what `run` would.
 * The state commands (dlq, state) load it through the same hc_cli_load. */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "engine.h"
#include "engine_status.h"
#include "graph.h"
#include "loader.h"
#include "log.h"
#include "record.h"
#include "store.h"
#include "value.h"
#include "webhook.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

struct setup {
	hc_loaded conf;
	hc_loop *loop;
	hc_http *http;
	hc_store *store;
	hc_engine *engine;
	hc_service svc;      /* the listener and metrics, kept across reloads */
};

static void teardown(struct setup *s)
{
	/* the engine answers the webhooks it holds before the listener goes */
	hc_engine_free(s->engine);
	hc_listen_stop(s->svc.listen);
	hc_metrics_free(s->svc.metrics);
	hc_store_close(s->store);
	hc_http_free(s->http);
	hc_loop_free(s->loop);
	hc_cli_unload(&s->conf);
}

static int have_config(const hc_cli *cli)
{
	if (cli->config)
		return 1;
	fprintf(stderr, "hlbridge %s: which configuration? use -c FILE\n", cli->command);
	return 0;
}

/* Parses and validates without printing; returns the error count, or -1
 * when nothing could be built. */
static int parse(hc_loaded *l, const hc_cli *cli)
{
	memset(l, 0, sizeof(*l));
	if (hc_loader_init(&l->loader) < 0) {
		fprintf(stderr, "hlbridge: cannot start the module loader (libltdl)\n");
		return -1;
	}
	for (size_t i = 0; i < cli->nplugin_dirs; i++)
		hc_loader_add_dir(&l->loader, cli->plugin_dirs[i]);
	l->cfg = hc_config_load(cli->config, &l->diag);
	if (l->cfg)
		l->graph = hc_graph_build(l->cfg, &l->loader, hc_default_plugin_dir(), &l->diag);
	if (cli->log_level) {
		/* the command line wins over [service] log_level */
		hlb_log_level lvl;

		if (hc_log_parse_level(cli->log_level, &lvl) == 0)
			hc_log_set_level(lvl);
	}
	return l->graph ? (int)l->diag.errors : -1;
}

/* Prints every message, and a count line when there are errors. */
static void report(const hc_loaded *l, const hc_cli *cli)
{
	hc_diag_print(&l->diag);
	if (l->diag.errors)
		fprintf(stderr, "%s: %u error%s, %u warning%s\n", cli->config, l->diag.errors,
			l->diag.errors == 1 ? "" : "s", l->diag.warnings, l->diag.warnings == 1 ? "" : "s");
}

int hc_cli_load(hc_loaded *l, const hc_cli *cli)
{
	if (parse(l, cli) == 0)
		return 0;
	report(l, cli);
	return -1;
}

void hc_cli_unload(hc_loaded *l)
{
	hc_graph_free(l->graph);
	hc_config_free(l->cfg);
	hc_loader_fini(&l->loader);
	hc_diag_clear(&l->diag);
}

const char *hc_state_dir(const hc_graph *g)
{
	return g->state_dir ? g->state_dir : hc_default_state_dir();
}

/* Returns 0 when the configuration is valid and every instance started.
 * `check` opens no state store it would have to create. */
static int setup(struct setup *s, const hc_cli *cli, int with_store)
{
	char err[1024];
	int errors;

	memset(s, 0, sizeof(*s));
	errors = parse(&s->conf, cli);
	if (errors < 0) {
		report(&s->conf, cli);
		return -1;
	}
	/* With errors in the file, the instances that are fine still start
	 * (on a store in memory), so that what their plugins find is
	 * reported in this run too, not after the first fixes. */
	const char *dir = errors ? ":memory:" : hc_state_dir(s->conf.graph);
	/* `check` uses a database that exists (credentials keep their tokens
	 * there), and never creates one */
	if (!with_store && !hc_cli_store_exists(NULL, dir, 1))
		dir = ":memory:";
	if (hc_store_open(dir, &s->store, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", cli->config, err);
		return -1;
	}
	s->loop = hc_loop_new();
	s->http = s->loop ? hc_http_new(s->loop, PACKAGE_VERSION) : NULL;
	s->engine = s->http ? hc_engine_new(s->conf.graph, s->loop, s->http, s->store) : NULL;
	if (!s->engine) {
		fprintf(stderr, "hlbridge: out of memory\n");
		return -1;
	}
	int rc = hc_engine_init(s->engine, &s->conf.diag);
	report(&s->conf, cli);
	return rc < 0 || s->conf.diag.errors ? -1 : 0;
}

static int64_t service_ms(const hc_graph *g, const char *key)
{
	int64_t ms = 0;

	hc_parse_duration_ms(hc_service_option(g, key), &ms);
	return ms;
}

static int64_t service_int(const hc_graph *g, const char *key)
{
	int64_t n = 0;

	hc_parse_int(hc_service_option(g, key), &n);
	return n;
}

/* Metrics, and the HTTP listener when [service] listen is set. */
static int start_service(struct setup *s, const hc_cli *cli)
{
	const hc_graph *g = s->conf.graph;
	const char *addr = hc_service_option(g, "listen");
	char err[512];

	s->svc.started_ms = hc_wall_ms();
	s->svc.health_after_ms = service_ms(g, "health_failing_after");
	if (!(s->svc.metrics = hc_metrics_new(20000))) {
		fprintf(stderr, "hlbridge: out of memory\n");
		return -1;
	}
	hc_engine_set_metrics(s->engine, s->svc.metrics);
	hc_http_set_metrics(s->http, s->svc.metrics);
	s->svc.engine = s->engine;
	if (!addr) {
		if (hc_webhooks_subscriptions(hc_engine_webhooks(s->engine)))
			hc_log(NULL, HLB_LOG_WARN, "some sources take webhooks, but [service] listen is not "
			       "set: they only poll");
		return 0;
	}
	hc_listen_limits lim = {
		.max_body = (size_t)service_int(g, "webhook_max_body"),
		.max_header = 32 * 1024,
		.max_connections = (unsigned)service_int(g, "listen_connections"),
		.timeout_s = (unsigned)((service_ms(g, "listen_timeout") + 999) / 1000),
	};
	if (lim.max_body == 0 || lim.max_connections == 0 || lim.max_connections > 65535) {
		fprintf(stderr, "%s: [service] webhook_max_body and listen_connections (1-65535) must be "
			"above 0\n", cli->config);
		return -1;
	}
	s->svc.listen = hc_listen_start(s->loop, addr, &lim, hc_service_handle, &s->svc, err, sizeof(err));
	if (!s->svc.listen) {
		fprintf(stderr, "%s: [service] %s\n", cli->config, err);
		return -1;
	}
	hc_log(NULL, HLB_LOG_INFO, "listening on http://%s (port %u): POST /webhooks/ghl, "
	       "/health, /ready, /metrics, status page at /", addr, (unsigned)hc_listen_port(s->svc.listen));
	return 0;
}

/* SIGHUP: the next configuration, loaded and started beside the running
 * one, on the same loop; it takes over when the running one has ended the
 * deliveries under way. */
struct reload {
	const hc_cli *cli;
	struct setup *cur;
	struct setup next;
	int ready;
	int own_store;   /* the next one opened another state_dir */
};

static void drop_next(struct reload *r)
{
	hc_engine_free(r->next.engine);
	if (r->own_store)
		hc_store_close(r->next.store);
	hc_cli_unload(&r->next.conf);
	memset(&r->next, 0, sizeof(r->next));
	r->ready = 0;
}

static int prepare_reload(void *arg)
{
	struct reload *r = arg;
	struct setup *n = &r->next;
	char err[1024];
	const char *dir;

	if (r->ready)
		drop_next(r);
	memset(n, 0, sizeof(*n));
	if (parse(&n->conf, r->cli) != 0) {
		report(&n->conf, r->cli);
		hc_cli_unload(&n->conf);
		return -1;
	}
	dir = hc_state_dir(n->conf.graph);
	r->own_store = strcmp(dir, hc_state_dir(r->cur->conf.graph)) != 0;
	n->store = r->cur->store;
	if (r->own_store && hc_store_open(dir, &n->store, err, sizeof(err)) < 0) {
		hc_log(NULL, HLB_LOG_ERROR, "%s: %s", r->cli->config, err);
		r->own_store = 0;
		n->store = NULL;
		hc_cli_unload(&n->conf);
		return -1;
	}
	n->engine = hc_engine_new(n->conf.graph, r->cur->loop, r->cur->http, n->store);
	if (!n->engine || hc_engine_init(n->engine, &n->conf.diag) < 0 || n->conf.diag.errors) {
		report(&n->conf, r->cli);
		drop_next(r);
		return -1;
	}
	report(&n->conf, r->cli); /* warnings */
	r->ready = 1;
	return 0;
}

int hc_cmd_run(const hc_cli *cli)
{
	struct setup s;
	struct reload r;
	int rc;

	if (!have_config(cli))
		return 2;
	if (setup(&s, cli, 1) < 0 || (!cli->once && start_service(&s, cli) < 0)) {
		teardown(&s);
		return 2;
	}
	memset(&r, 0, sizeof(r));
	r.cli = cli;
	r.cur = &s;
	for (;;) {
		hc_engine_on_reload(s.engine, prepare_reload, &r);
		s.svc.engine = s.engine;
		s.svc.ready = 1;
		rc = hc_engine_run(s.engine, cli->once);
		s.svc.ready = 0;
		if (!hc_engine_reloading(s.engine) || !r.ready || rc != 0)
			break;
		s.svc.engine = NULL;
		hc_engine_free(s.engine);
		hc_engine_set_metrics(r.next.engine, s.svc.metrics);
		if (r.own_store) {
			hc_store_close(s.store);
			s.store = r.next.store;
		}
		hc_cli_unload(&s.conf);
		s.conf = r.next.conf;
		s.engine = r.next.engine;
		memset(&r.next, 0, sizeof(r.next));
		r.ready = 0;
		hc_log(NULL, HLB_LOG_INFO, "configuration reloaded from %s", cli->config);
	}
	if (r.ready)
		drop_next(&r);
	teardown(&s);
	return rc;
}

int hc_cmd_check(const hc_cli *cli)
{
	struct setup s;
	int failed;

	if (!have_config(cli))
		return 2;
	if (setup(&s, cli, 0) < 0) {
		teardown(&s);
		return 1;
	}
	failed = hc_engine_check(s.engine, 30000);
	if (failed)
		fprintf(stderr, "%s: %d plugin check%s failed\n", cli->config, failed, failed == 1 ? "" : "s");
	else
		printf("%s: OK (%zu instances, %zu routes)\n", cli->config, s.conf.graph->ninst,
		       s.conf.graph->nroutes);
	teardown(&s);
	return failed ? 1 : 0;
}
