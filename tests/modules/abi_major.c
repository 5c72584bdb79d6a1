/* A module built for a future major ABI: the loader must refuse it without
 * reading anything past the three leading fields. */
#include "hlbridge/hlbridge.h"

struct future_plugin {
	uint32_t abi_major, abi_minor, size;
	/* a layout this host does not know */
	double something_new;
};

const struct future_plugin abi_major_LTX_hlb_plugin = {
	HLB_ABI_MAJOR + 1, 0, sizeof(struct future_plugin), 1.0
};
