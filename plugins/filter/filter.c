/* filter: a transform that keeps or drops records by a condition on their
 * fields, e.g.  keep = $.status == "active" and $.age >= 18
 * The expression language lives in filter_expr.c. */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include <stdlib.h>

#include "hlbridge/hlbridge.h"
#include "filter_expr.h"

#ifdef PACKAGE_VERSION
#define FILTER_VERSION PACKAGE_VERSION
#else
#define FILTER_VERSION "0.1.0"
#endif

struct filter_state {
	const hlb_host *host;
	fx_node *expr;
	int keep; /* 1: keep matching records; 0: drop them */
};

static int filter_init(const hlb_host *host, hlb_instance *inst, uint32_t role, void **state)
{
	const char *keep = host->option(inst, "keep");
	const char *drop = host->option(inst, "drop");
	const char *key = keep ? "keep" : "drop";
	struct filter_state *st;
	char err[512];

	(void)role;
	if (!keep == !drop) {
		host->option_error(inst, "keep", "set exactly one of keep or drop");
		return HLB_EINVAL;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return HLB_ENOMEM;
	st->host = host;
	st->keep = keep != NULL;
	st->expr = fx_parse(host, keep ? keep : drop, err, sizeof(err));
	if (!st->expr) {
		host->option_error(inst, key, "%s", err);
		free(st);
		return HLB_EINVAL;
	}
	*state = st;
	return HLB_OK;
}

static int filter_process(void *state, hlb_record *rec, hlb_job *out)
{
	struct filter_state *st = state;
	const hlb_host *host = st->host;
	int rc;

	if (fx_eval(host, st->expr, host->record_body(rec)) != st->keep) {
		host->record_free(rec);
		return HLB_OK;
	}
	/* emit() owns the record whatever it answers; pass its error on. */
	rc = host->emit(out, rec);
	return rc < 0 ? rc : HLB_OK;
}

static void filter_fini(void *state)
{
	struct filter_state *st = state;

	if (!st)
		return;
	fx_free(st->host, st->expr);
	free(st);
}

static const hlb_option filter_options[] = {
	{ "keep", HLB_OPT_STRING, NULL, 0, "keep records for which EXPR is true", NULL },
	{ "drop", HLB_OPT_STRING, NULL, 0, "drop records for which EXPR is true", NULL },
	{ NULL, 0, NULL, 0, NULL, NULL }
};

const hlb_plugin HLB_PLUGIN_EXPORT(filter) = {
	HLB_PLUGIN_HEADER,
	.caps = HLB_CAP_TRANSFORM,
	.name = "filter",
	.version = FILTER_VERSION,
	.summary = "keep or drop records by a condition on their fields",
	.options = filter_options,
	.init = filter_init,
	.process = filter_process,
	.fini = filter_fini,
};
