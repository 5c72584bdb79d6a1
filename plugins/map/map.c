/* The `map` transform: reshapes record bodies with set, rename and drop rules,
 * keeping every field it is not told to touch. The rules themselves live in
 * map_rules.c; this file only wires them to the host. */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "hlbridge/hlbridge.h"
#include "map_rules.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

struct map_state {
	const hlb_host *host;
	hlb_instance *inst;
	map_rules *rules;
};

static const hlb_option map_options[] = {
	{ "set.", HLB_OPT_STRING, NULL, HLB_OPT_PREFIX,
	  "set.FIELD = $.path | literal | \"text {{$.path}}\"; set and rename rules run in file order, "
	  "each seeing the result of the ones before", NULL },
	{ "rename.", HLB_OPT_STRING, NULL, HLB_OPT_PREFIX,
	  "rename.OLD = NEW (dotted names; the field moves to the end of its new parent)", NULL },
	{ "drop", HLB_OPT_LIST, NULL, 0,
	  "fields to remove, comma-separated (applied after all set and rename rules)", NULL },
	{ "missing", HLB_OPT_ENUM, "skip", 0,
	  "what a path that does not resolve does (a field holding null resolves): skip leaves "
	  "the target unset, null sets null, fail rejects the record", "null|skip|fail" },
	{ NULL, 0, NULL, 0, NULL, NULL }
};

static void map_fini(void *state)
{
	struct map_state *st = state;

	if (!st)
		return;
	map_rules_free(st->rules);
	free(st);
}

/* Compiles every rule, reporting each bad one before failing, so one run of
 * the daemon shows all the mistakes in a section. */
static int map_load_rules(struct map_state *st)
{
	const hlb_host *host = st->host;
	size_t cursor = 0;
	const char *key, *value;
	unsigned line;
	int bad = 0;

	while (host->option_next(st->inst, &cursor, &key, &value, &line)) {
		char err[512];
		int rc;

		if (strcmp(key, "missing") == 0)
			continue;
		rc = map_rules_add(st->rules, key, value, err, sizeof(err));
		if (rc == HLB_ENOMEM) {
			host->log(st->inst, HLB_LOG_ERROR, "out of memory");
			return HLB_ENOMEM;
		}
		if (rc != HLB_OK) {
			host->option_error(st->inst, key, "%s", err);
			bad = 1;
		}
	}
	return bad ? HLB_EINVAL : HLB_OK;
}

static int map_init(const hlb_host *host, hlb_instance *inst, uint32_t role, void **state)
{
	struct map_state *st;
	int missing, rc;

	(void)role; /* transform is the only capability */
	*state = NULL;
	missing = map_missing_parse(host->option(inst, "missing"));
	if (missing < 0) {
		/* The host validates enums, so this only guards a mismatch
		 * between the option table and map_missing_parse(). */
		host->option_error(inst, "missing", "expected null, skip or fail");
		return HLB_EINVAL;
	}
	st = calloc(1, sizeof(*st));
	if (!st || !(st->rules = map_rules_new(host, missing))) {
		free(st);
		host->log(inst, HLB_LOG_ERROR, "out of memory");
		return HLB_ENOMEM;
	}
	st->host = host;
	st->inst = inst;
	rc = map_load_rules(st);
	if (rc != HLB_OK) {
		map_fini(st);
		return rc;
	}
	if (map_rules_count(st->rules) == 0)
		host->log(inst, HLB_LOG_WARN, "no set, rename or drop rules: records pass unchanged");
	*state = st;
	return HLB_OK;
}

static int map_process(void *state, hlb_record *rec, hlb_job *out)
{
	struct map_state *st = state;
	int rc = map_rules_apply(st->rules, st->host->record_body(rec));

	if (rc != HLB_OK) {
		/* The host counts the failure; the detail helps when debugging
		 * a rule set without flooding the log at normal levels. */
		const char *key = st->host->record_key(rec);

		st->host->log(st->inst, HLB_LOG_DEBUG, "record %s rejected: %s", key ? key : "(no key)",
			      st->host->strerror(rc));
		st->host->record_free(rec);
		return rc;
	}
	return st->host->emit(out, rec);
}

const hlb_plugin HLB_PLUGIN_EXPORT(map) = {
	HLB_PLUGIN_HEADER,
	.caps = HLB_CAP_TRANSFORM,
	.name = "map",
	.version = PACKAGE_VERSION,
	.summary = "reshape records: set, rename and drop fields",
	.options = map_options,
	.init = map_init,
	.process = map_process,
	.fini = map_fini,
};
