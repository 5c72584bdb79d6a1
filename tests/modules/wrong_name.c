/* The file is wrong_name.so but the descriptor says "other". */
#include "hlbridge/hlbridge.h"

static int process(void *state, hlb_record *rec, hlb_job *out)
{
	(void)state;
	(void)rec;
	(void)out;
	return HLB_OK;
}

const hlb_plugin HLB_PLUGIN_EXPORT(wrong_name) = {
	HLB_PLUGIN_HEADER,
	.caps = HLB_CAP_TRANSFORM,
	.name = "other",
	.version = "1",
	.summary = "misnamed",
	.process = process,
};
