/* Plugin loading. Everything a module claims is checked before any of its
 * code runs: a module built for another ABI, a file that is no module, or a
 * descriptor under the wrong name is refused with one line, never a crash. */
#include "loader.h"

#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <ltdl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "builtin.h"

static int valid_module_name(const char *name)
{
	if (!*name || strlen(name) > 64)
		return 0;
	for (const char *p = name; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '_')
			return 0;
	return 1;
}

int hc_loader_init(hc_loader *l)
{
	memset(l, 0, sizeof(*l));
	hc_builtin_register();
	return lt_dlinit() == 0 ? 0 : -1;
}

int hc_loader_add_dir(hc_loader *l, const char *dir)
{
	char **d = realloc(l->dirs, (l->ndirs + 1) * sizeof(*d));

	if (!d)
		return -1;
	l->dirs = d;
	l->dirs[l->ndirs] = strdup(dir);
	return l->dirs[l->ndirs] ? (int)l->ndirs++ * 0 : -1;
}

/* A module anyone can replace is a way into the process: refuse it. */
static int world_writable(const char *path, char *err, size_t errlen, const char *what)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return 0;
	if (st.st_mode & S_IWOTH) {
		snprintf(err, errlen,
			 "%s: refusing to load plugins from a world-writable %s (chmod o-w '%s')",
			 path, what, path);
		return 1;
	}
	return 0;
}

static int exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static const hlb_option *option_at(const hlb_plugin *d, size_t i);

static int check_descriptor(const char *path, const char *name, const hlb_plugin *d,
			    char *err, size_t errlen)
{
	if (d->abi_major != HLB_ABI_MAJOR) {
		snprintf(err, errlen,
			 "%s: plugin ABI %u.%u, but this hlbridge has ABI %d.%d: rebuild the plugin "
			 "against the headers of this hlbridge (pkg-config --cflags hlbridge-plugin)",
			 path, d->abi_major, d->abi_minor, HLB_ABI_MAJOR, HLB_ABI_MINOR);
		return -1;
	}
	if (d->abi_minor > HLB_ABI_MINOR) {
		snprintf(err, errlen,
			 "%s: plugin ABI %u.%u is newer than this hlbridge's ABI %d.%d: upgrade "
			 "hlbridge, or rebuild the plugin against the installed headers",
			 path, d->abi_major, d->abi_minor, HLB_ABI_MAJOR, HLB_ABI_MINOR);
		return -1;
	}
	if (d->size < offsetof(hlb_plugin, fini) + sizeof(d->fini) ||
	    (d->options && d->option_size < offsetof(hlb_option, choices) + sizeof(const char *))) {
		snprintf(err, errlen, "%s: descriptor is %u bytes, too small for ABI %u.%u: rebuild the plugin",
			 path, d->size, d->abi_major, d->abi_minor);
		return -1;
	}
	if (!d->name || strcmp(d->name, name) != 0) {
		snprintf(err, errlen,
			 "%s: descriptor names the plugin '%s', but the file is '%s': rename the file "
			 "or fix the descriptor's name", path, d->name ? d->name : "(none)", name);
		return -1;
	}
	if (!(d->caps & (HLB_CAP_SOURCE | HLB_CAP_TRANSFORM | HLB_CAP_SINK | HLB_CAP_AUTH)) ||
	    (d->caps & ~(uint32_t)(HLB_CAP_SOURCE | HLB_CAP_TRANSFORM | HLB_CAP_SINK | HLB_CAP_AUTH |
				   HLB_CAP_REPLAY | HLB_CAP_RESULTS))) {
		snprintf(err, errlen, "%s: descriptor declares no valid capability (source, transform, sink, auth)",
			 path);
		return -1;
	}
	if ((d->caps & HLB_CAP_RESULTS) && !(d->caps & HLB_CAP_SINK)) {
		snprintf(err, errlen, "%s: descriptor declares results without the sink capability (results are a "
			 "sink's)", path);
		return -1;
	}
	if ((d->caps & HLB_CAP_AUTH) &&
	    (d->size < offsetof(hlb_plugin, auth_status) + sizeof(d->auth_status) || !d->auth_token)) {
		snprintf(err, errlen, "%s: descriptor declares the auth capability without auth_token (ABI 1.1)",
			 path);
		return -1;
	}
	if (((d->caps & HLB_CAP_SOURCE) && !d->poll) || ((d->caps & HLB_CAP_TRANSFORM) && !d->process) ||
	    ((d->caps & HLB_CAP_SINK) && !d->deliver)) {
		snprintf(err, errlen,
			 "%s: descriptor declares a capability without its callback (source needs poll, "
			 "transform needs process, sink needs deliver)", path);
		return -1;
	}
	for (size_t i = 0; d->options && option_at(d, i)->key; i++) {
		const hlb_option *o = option_at(d, i);

		if ((unsigned)o->type > HLB_OPT_AUTH) {
			snprintf(err, errlen, "%s: option '%s' has an unknown type %d", path, o->key, (int)o->type);
			return -1;
		}
	}
	return 0;
}

/* Entry i of a module's option table, whose entries are option_size bytes
 * (larger than this host's when the module's SDK added fields). */
static const hlb_option *option_at(const hlb_plugin *d, size_t i)
{
	return (const hlb_option *)(const void *)((const char *)d->options + i * d->option_size);
}

/* The table in this host's layout, ending with a NULL key. */
static hlb_option *copy_options(const hlb_plugin *d)
{
	size_t n = 0;
	hlb_option *copy;

	while (d->options && option_at(d, n)->key)
		n++;
	copy = calloc(n + 1, sizeof(*copy));
	if (!copy)
		return NULL;
	for (size_t i = 0; i < n; i++)
		memcpy(&copy[i], option_at(d, i), sizeof(*copy));
	return copy;
}

int hc_loader_check_file(const char *path, const char *name, char *err, size_t errlen,
			 const hlb_plugin **desc_out, void **handle_out)
{
	lt_dlhandle h;
	const hlb_plugin *d;
	void *bound;

	/* libltdl binds lazily: a module with a symbol nothing defines would
	 * load, then end the process at its first call. Binding everything
	 * once first refuses such a module, naming the symbol. */
	bound = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!bound) {
		const char *why = dlerror();

		snprintf(err, errlen, "%s: not a loadable plugin module (%s): rebuild it against this hlbridge, "
			 "or install the libraries it needs", path, why ? why : "unknown error");
		return -1;
	}
	h = lt_dlopen(path);
	dlclose(bound);
	if (!h) {
		const char *why = lt_dlerror();

		snprintf(err, errlen, "%s: not a loadable plugin module (%s)", path, why ? why : "unknown error");
		return -1;
	}
	d = lt_dlsym(h, HLB_PLUGIN_SYMBOL);
	if (!d) {
		snprintf(err, errlen,
			 "%s: no plugin descriptor (expected the symbol %s_LTX_%s; build it with "
			 "HLB_PLUGIN_EXPORT(%s))", path, name, HLB_PLUGIN_SYMBOL, name);
		lt_dlclose(h);
		return -1;
	}
	if (check_descriptor(path, name, d, err, errlen) < 0) {
		lt_dlclose(h);
		return -1;
	}
	*desc_out = d;
	*handle_out = h;
	return 0;
}

static const hc_module *remember(hc_loader *l, const char *name, const char *path,
				 void *handle, const hlb_plugin *d)
{
	hc_module *m;

	if (l->nmods == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		hc_module **mods = realloc(l->mods, cap * sizeof(*mods));

		if (!mods)
			return NULL;
		l->mods = mods;
		l->cap = cap;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->name = strdup(name);
	m->path = strdup(path);
	m->handle = handle;
	/* A module built for an older minor has a shorter descriptor: the
	 * fields it lacks read as NULL from this copy. */
	memcpy(&m->desc_copy, d, d->size < sizeof(m->desc_copy) ? d->size : sizeof(m->desc_copy));
	m->desc = &m->desc_copy;
	m->options = copy_options(d);
	if (!m->name || !m->path || !m->options) {
		free(m->name);
		free(m->path);
		free(m->options);
		free(m);
		return NULL;
	}
	l->mods[l->nmods++] = m;
	return m;
}

const hc_module *hc_loader_get(hc_loader *l, const char *name, char *err, size_t errlen)
{
	const hlb_plugin *d;
	void *h;
	char path[4400];

	for (size_t i = 0; i < l->nmods; i++)
		if (strcmp(l->mods[i]->name, name) == 0)
			return l->mods[i];
	if (!valid_module_name(name)) {
		snprintf(err, errlen, "'%s' is not a plugin name (lowercase letters, digits and '_')", name);
		return NULL;
	}
	d = hc_builtin_find(name);
	if (d) {
		const hc_module *m;

		if (check_descriptor("(built in)", name, d, err, errlen) < 0)
			return NULL;
		m = remember(l, name, "(built in)", NULL, d);
		if (!m)
			snprintf(err, errlen, "out of memory");
		return m;
	}
	for (size_t i = 0; i < l->ndirs; i++) {
		/* Only shared objects inside the plugin directory are opened: a
		 * libtool .la could name one anywhere, so it is never followed;
		 * the build tree's .libs beside it is looked at instead. */
		for (int e = 0; e < 2; e++) {
			char dir[4110];

			snprintf(dir, sizeof(dir), "%s%s", l->dirs[i], e ? "/.libs" : "");
			snprintf(path, sizeof(path), "%s/%s.so", dir, name);
			if (!exists(path))
				continue;
			if (world_writable(dir, err, errlen, "directory") ||
			    (e && world_writable(l->dirs[i], err, errlen, "directory")) ||
			    world_writable(path, err, errlen, "file"))
				return NULL;
			if (hc_loader_check_file(path, name, err, errlen, &d, &h) < 0)
				return NULL;
			const hc_module *m = remember(l, name, path, h, d);
			if (!m) {
				snprintf(err, errlen, "out of memory");
				lt_dlclose(h);
			}
			return m;
		}
	}
	if (l->ndirs == 0)
		snprintf(err, errlen, "unknown plugin '%s': no plugin directory is set "
			 "([service] plugin_dir or --plugin-dir)", name);
	else
		snprintf(err, errlen, "unknown plugin '%s': no %s.so in %s%s (see 'hlbridge plugins')",
			 name, name, l->dirs[0], l->ndirs > 1 ? " or the other plugin directories" : "");
	return NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_name(char ***names, size_t *n, size_t *cap, const char *name, size_t len)
{
	char buf[128];

	if (len >= sizeof(buf))
		return 0;
	memcpy(buf, name, len);
	buf[len] = 0;
	if (!valid_module_name(buf))
		return 0;
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		char **p = realloc(*names, c * sizeof(*p));

		if (!p)
			return -1;
		*names = p;
		*cap = c;
	}
	(*names)[*n] = strdup(buf);
	if (!(*names)[*n])
		return -1;
	(*n)++;
	return 0;
}

char **hc_loader_names(hc_loader *l, size_t *count)
{
	char **names = NULL;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < hc_builtin_count(); i++) {
		const char *b = hc_builtin_name(i);

		add_name(&names, &n, &cap, b, strlen(b));
	}
	for (size_t i = 0; i < l->ndirs; i++) {
		DIR *dir = opendir(l->dirs[i]);
		struct dirent *e;

		if (!dir)
			continue;
		while ((e = readdir(dir))) {
			size_t len = strlen(e->d_name);

			if (len > 3 && (strcmp(e->d_name + len - 3, ".so") == 0 ||
					strcmp(e->d_name + len - 3, ".la") == 0))
				add_name(&names, &n, &cap, e->d_name, len - 3);
		}
		closedir(dir);
	}
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		if (w && strcmp(names[w - 1], names[i]) == 0)
			free(names[i]);
		else
			names[w++] = names[i];
	}
	*count = w;
	return names;
}

void hc_loader_free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

void hc_loader_fini(hc_loader *l)
{
	for (size_t i = 0; i < l->nmods; i++) {
		/* Keep modules mapped under valgrind so leak reports can name
		 * plugin frames; an exiting process unmaps them anyway. */
		if (l->mods[i]->handle && !getenv("HLB_KEEP_MODULES"))
			lt_dlclose(l->mods[i]->handle);
		free(l->mods[i]->name);
		free(l->mods[i]->path);
		free(l->mods[i]->options);
		free(l->mods[i]);
	}
	free(l->mods);
	for (size_t i = 0; i < l->ndirs; i++)
		free(l->dirs[i]);
	free(l->dirs);
	memset(l, 0, sizeof(*l));
	lt_dlexit();
}

void hc_caps_text(uint32_t caps, char *buf, size_t len)
{
	static const struct {
		uint32_t cap;
		const char *name;
	} names[] = { { HLB_CAP_SOURCE, "source" }, { HLB_CAP_TRANSFORM, "transform" },
		      { HLB_CAP_SINK, "sink" }, { HLB_CAP_AUTH, "auth" }, { HLB_CAP_REPLAY, "replay" },
		      { HLB_CAP_RESULTS, "results" } };
	size_t n = 0;

	buf[0] = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && n < len; i++)
		if (caps & names[i].cap)
			n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "", names[i].name);
}
