#include "builtin.h"

#include <string.h>
#include <ltdl.h>

#ifdef HLB_STATIC_PLUGINS

/* libltdl's table of preloaded symbols: for each module an entry with its
 * file name and a NULL address, followed by the module's symbols. */
static char names[32][64];
static const char *entries[32];
static size_t count;

void hc_builtin_register(void)
{
	LTDL_SET_PRELOADED_SYMBOLS();
	count = 0;
	for (const lt_dlsymlist *s = lt_preloaded_symbols; s->name; s++) {
		const char *base, *dot;
		size_t len;

		if (s->address || strcmp(s->name, "@PROGRAM@") == 0 || count == 32)
			continue;
		base = strrchr(s->name, '/');
		base = base ? base + 1 : s->name;
		dot = strchr(base, '.');
		len = dot ? (size_t)(dot - base) : strlen(base);
		if (len == 0 || len >= sizeof(names[0]))
			continue;
		memcpy(names[count], base, len);
		names[count][len] = 0;
		entries[count] = s->name;
		count++;
	}
}

size_t hc_builtin_count(void)
{
	return count;
}

const char *hc_builtin_name(size_t i)
{
	return i < count ? names[i] : NULL;
}

const hlb_plugin *hc_builtin_find(const char *name)
{
	for (size_t i = 0; i < count; i++)
		if (strcmp(names[i], name) == 0) {
			lt_dlhandle h = lt_dlopen(entries[i]);

			return h ? lt_dlsym(h, HLB_PLUGIN_SYMBOL) : NULL;
		}
	return NULL;
}

#else

void hc_builtin_register(void)
{
}

size_t hc_builtin_count(void)
{
	return 0;
}

const char *hc_builtin_name(size_t i)
{
	(void)i;
	return NULL;
}

const hlb_plugin *hc_builtin_find(const char *name)
{
	(void)name;
	return NULL;
}

#endif
