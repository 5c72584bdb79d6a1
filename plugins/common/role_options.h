/* A plugin that is both a source and a sink declares one option table for
 * both roles; an option only the other role reads would be silently
 * ignored, so it is refused instead. */
#ifndef HLB_COMMON_ROLE_OPTIONS_H
#define HLB_COMMON_ROLE_OPTIONS_H

#include <stdint.h>

#include "hlbridge/host.h"

/* Reports (option_error) each configured option of `inst` that only the
 * other role takes: sink_only when `role` is HLB_CAP_SOURCE, else
 * source_only (NULL-terminated; a name ending in '.' matches as a prefix).
 * `plugin` names the module in the message. Returns how many. */
int role_options_refuse(const hlb_host *host, hlb_instance *inst, uint32_t role, const char *plugin,
			const char *const *source_only, const char *const *sink_only);

#endif
