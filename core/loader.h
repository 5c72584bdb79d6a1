/* Finds, loads and checks plugin modules through libltdl. */
#ifndef HC_LOADER_H
#define HC_LOADER_H

#include <stddef.h>
#include "hlbridge/plugin.h"

typedef struct hc_module {
	char *name;
	char *path;              /* file it came from, or "(built in)" */
	void *handle;            /* lt_dlhandle */
	const hlb_plugin *desc;  /* points at desc_copy */
	hlb_plugin desc_copy;     /* the module's descriptor in this host's size */
	/* desc->options in this host's layout (the module's entries may be
	 * larger, from a newer SDK); ends with a NULL key. Use this, never
	 * desc->options. */
	hlb_option *options;
} hc_module;

typedef struct hc_loader {
	char **dirs;
	size_t ndirs;
	hc_module **mods;        /* each module stays where it is: callers keep
				  * the pointers hc_loader_get returns */
	size_t nmods, cap;
} hc_loader;

/* Starts libltdl (and the preloaded set of a sealed build). */
int hc_loader_init(hc_loader *l);
int hc_loader_add_dir(hc_loader *l, const char *dir);
/* Loads NAME once (later calls return the same module). On failure returns
 * NULL and writes one line into err naming the file and what to do. */
const hc_module *hc_loader_get(hc_loader *l, const char *name, char *err, size_t errlen);
/* Every module name found in the plugin directories or built in, sorted,
 * without duplicates. Free with hc_loader_free_names. */
char **hc_loader_names(hc_loader *l, size_t *n);
void hc_loader_free_names(char **names, size_t n);
/* Loads one module file by path and checks its descriptor. */
int hc_loader_check_file(const char *path, const char *name, char *err, size_t errlen,
			 const hlb_plugin **desc_out, void **handle_out);
void hc_loader_fini(hc_loader *l);
/* "source, sink" */
void hc_caps_text(uint32_t caps, char *buf, size_t len);

#endif
