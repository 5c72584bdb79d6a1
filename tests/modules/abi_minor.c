/* A module built against a newer minor ABI than this host's. */
#include "hlbridge/hlbridge.h"

static int process(void *state, hlb_record *rec, hlb_job *out)
{
	(void)state;
	(void)rec;
	(void)out;
	return HLB_OK;
}

const hlb_plugin HLB_PLUGIN_EXPORT(abi_minor) = {
	.abi_major = HLB_ABI_MAJOR,
	.abi_minor = HLB_ABI_MINOR + 1,
	.size = sizeof(hlb_plugin),
	.caps = HLB_CAP_TRANSFORM,
	.name = "abi_minor",
	.version = "1",
	.summary = "built for a newer host",
	.process = process,
};
