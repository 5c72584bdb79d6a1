/* Plugins linked into a sealed build (configure --enable-static-plugins)
 * through libltdl's preloading; empty in an ordinary build. */
#ifndef HC_BUILTIN_H
#define HC_BUILTIN_H

#include <stddef.h>
#include "hlbridge/plugin.h"

void hc_builtin_register(void);
size_t hc_builtin_count(void);
const char *hc_builtin_name(size_t i);
/* Opens the preloaded module through libltdl; NULL when not built in. */
const hlb_plugin *hc_builtin_find(const char *name);

#endif
