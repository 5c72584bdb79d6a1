/* The jsonl plugin's descriptor. One module serves both roles; each
 * instance's state starts with its role so the callbacks can tell. */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"
#include "../common/role_options.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

struct any {
	uint32_t role;
	void *impl;
};

static const hlb_option options[] = {
	{ "path", HLB_OPT_PATH, NULL, HLB_OPT_REQUIRED,
	  "file to read (source) or write (sink); - is stdin or stdout", NULL },
	{ "key", HLB_OPT_JSONPATH, NULL, 0,
	  "source: idempotency key taken from this path (default: a hash of the line)", NULL },
	{ "stream", HLB_OPT_STRING, NULL, 0, "source: stream name of the records (default: the instance name)", NULL },
	{ "max_line", HLB_OPT_INT, "1048576", 0, "source: longest line accepted, in bytes; longer lines are skipped", NULL },
	{ "mode", HLB_OPT_ENUM, "append", 0, "sink: append to the file, or empty it before the first write", "append|truncate" },
	{ NULL, 0, NULL, 0, NULL, NULL }
};

/* Options the other role would silently ignore (refused). */
static const char *const source_only[] = { "key", "stream", "max_line", NULL };
static const char *const sink_only[] = { "mode", NULL };

static int init(const hlb_host *host, hlb_instance *inst, uint32_t role, void **state)
{
	struct any *a;
	int rc;

	if (role_options_refuse(host, inst, role, "jsonl", source_only, sink_only))
		return HLB_EINVAL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return HLB_ENOMEM;
	a->role = role;
	rc = role == HLB_CAP_SOURCE ? jsonl_source_init(host, inst, &a->impl)
				    : jsonl_sink_init(host, inst, &a->impl);
	if (rc != HLB_OK) {
		free(a);
		return rc;
	}
	*state = a;
	return HLB_OK;
}

static int check(void *state, hlb_job *job)
{
	struct any *a = state;

	return a->role == HLB_CAP_SOURCE ? jsonl_source_check(a->impl, job) : jsonl_sink_check(a->impl, job);
}

static int poll_cb(void *state, hlb_job *job)
{
	return jsonl_source_poll(((struct any *)state)->impl, job);
}

static int deliver(void *state, hlb_job *job)
{
	return jsonl_sink_deliver(((struct any *)state)->impl, job);
}

static void fini(void *state)
{
	struct any *a = state;

	if (!a)
		return;
	if (a->role == HLB_CAP_SOURCE)
		jsonl_source_fini(a->impl);
	else
		jsonl_sink_fini(a->impl);
	free(a);
}

const hlb_plugin HLB_PLUGIN_EXPORT(jsonl) = {
	HLB_PLUGIN_HEADER,
	.caps = HLB_CAP_SOURCE | HLB_CAP_SINK,
	.name = "jsonl",
	.version = PACKAGE_VERSION,
	.summary = "JSON Lines files: read records from one, or write records to one",
	.options = options,
	.init = init,
	.check = check,
	.poll = poll_cb,
	.deliver = deliver,
	.fini = fini,
};
