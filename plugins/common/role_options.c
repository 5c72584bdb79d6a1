/* See role_options.h. */
#include <string.h>

#include "role_options.h"

static int key_matches(const char *key, const char *opt)
{
	size_t n = strlen(opt);

	return n && opt[n - 1] == '.' ? strncmp(key, opt, n) == 0 : strcmp(key, opt) == 0;
}

int role_options_refuse(const hlb_host *host, hlb_instance *inst, uint32_t role, const char *plugin,
			const char *const *source_only, const char *const *sink_only)
{
	const char *const *other = role == HLB_CAP_SOURCE ? sink_only : source_only;
	const char *key, *value;
	size_t cursor = 0;
	int bad = 0;

	while (other && host->option_next(inst, &cursor, &key, &value, NULL))
		for (const char *const *o = other; *o; o++)
			if (key_matches(key, *o)) {
				host->option_error(inst, key, "only a %s %s takes this option", plugin,
						   role == HLB_CAP_SOURCE ? "sink" : "source");
				bad++;
			}
	return bad;
}
