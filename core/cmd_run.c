/* hlbridge run and hlbridge check: both load and validate the whole
 * configuration first, so that `check` says exactly what `run` would. */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "engine.h"
#include "graph.h"
#include "loader.h"
#include "log.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

struct setup {
	hc_diag diag;
	hc_loader loader;
	hc_config *cfg;
	hc_graph *graph;
	hc_loop *loop;
	hc_http *http;
	hc_engine *engine;
};

static void teardown(struct setup *s)
{
	hc_engine_free(s->engine);
	hc_http_free(s->http);
	hc_loop_free(s->loop);
	hc_graph_free(s->graph);
	hc_config_free(s->cfg);
	hc_loader_fini(&s->loader);
	hc_diag_clear(&s->diag);
}

static int have_config(const hc_cli *cli)
{
	if (cli->config)
		return 1;
	fprintf(stderr, "hlbridge %s: which configuration? use -c FILE\n", cli->command);
	return 0;
}

/* Returns 0 when the configuration is valid and every instance started. */
static int setup(struct setup *s, const hc_cli *cli)
{
	memset(s, 0, sizeof(*s));
	if (hc_loader_init(&s->loader) < 0) {
		fprintf(stderr, "hlbridge: cannot start the module loader (libltdl)\n");
		return -1;
	}
	for (size_t i = 0; i < cli->nplugin_dirs; i++)
		hc_loader_add_dir(&s->loader, cli->plugin_dirs[i]);
	s->cfg = hc_config_load(cli->config, &s->diag);
	if (s->cfg)
		s->graph = hc_graph_build(s->cfg, &s->loader, hc_default_plugin_dir(), &s->diag);
	if (cli->log_level) {
		/* the command line wins over [service] log_level */
		hlb_log_level lvl;

		if (hc_log_parse_level(cli->log_level, &lvl) == 0)
			hc_log_set_level(lvl);
	}
	if (!s->graph || s->diag.errors) {
		hc_diag_print(&s->diag);
		if (s->diag.errors)
			fprintf(stderr, "%s: %u error%s, %u warning%s\n", cli->config, s->diag.errors,
				s->diag.errors == 1 ? "" : "s", s->diag.warnings, s->diag.warnings == 1 ? "" : "s");
		return -1;
	}
	s->loop = hc_loop_new();
	s->http = s->loop ? hc_http_new(s->loop, PACKAGE_VERSION) : NULL;
	s->engine = s->http ? hc_engine_new(s->graph, s->loop, s->http) : NULL;
	if (!s->engine) {
		fprintf(stderr, "hlbridge: out of memory\n");
		return -1;
	}
	int rc = hc_engine_init(s->engine, &s->diag);
	hc_diag_print(&s->diag);
	if (rc < 0 || s->diag.errors) {
		fprintf(stderr, "%s: %u error%s, %u warning%s\n", cli->config, s->diag.errors,
			s->diag.errors == 1 ? "" : "s", s->diag.warnings, s->diag.warnings == 1 ? "" : "s");
		return -1;
	}
	return 0;
}

int hc_cmd_run(const hc_cli *cli)
{
	struct setup s;
	int rc;

	if (!have_config(cli))
		return 2;
	if (setup(&s, cli) < 0) {
		teardown(&s);
		return 2;
	}
	rc = hc_engine_run(s.engine, cli->once);
	teardown(&s);
	return rc;
}

int hc_cmd_check(const hc_cli *cli)
{
	struct setup s;
	int failed;

	if (!have_config(cli))
		return 2;
	if (setup(&s, cli) < 0) {
		teardown(&s);
		return 1;
	}
	failed = hc_engine_check(s.engine, 30000);
	if (failed)
		fprintf(stderr, "%s: %d plugin check%s failed\n", cli->config, failed, failed == 1 ? "" : "s");
	else
		printf("%s: OK (%zu instances, %zu routes)\n", cli->config, s.graph->ninst, s.graph->nroutes);
	teardown(&s);
	return failed ? 1 : 0;
}
