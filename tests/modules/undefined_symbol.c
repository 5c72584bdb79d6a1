/* A module whose code calls a function nothing defines: lazy binding would
 * load it and end the process at the first call; the loader must refuse it
 * at load time, naming the symbol. */
#include "hlbridge/plugin.h"

int hlb_test_no_such_function(void);

static int init(const hlb_host *host, hlb_instance *inst, uint32_t role, void **state)
{
	(void)host;
	(void)inst;
	(void)role;
	*state = NULL;
	return hlb_test_no_such_function();
}

static int process(void *state, hlb_record *rec, hlb_job *out)
{
	(void)state;
	(void)rec;
	(void)out;
	return HLB_OK;
}

const hlb_plugin HLB_PLUGIN_EXPORT(undefined_symbol) = {
	HLB_PLUGIN_HEADER,
	.caps = HLB_CAP_TRANSFORM,
	.name = "undefined_symbol",
	.version = "1.0",
	.summary = "test module with an undefined symbol",
	.init = init,
	.process = process,
};
