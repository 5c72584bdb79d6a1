/* hlbridge plugins [NAME]: what is installed, and what each plugin takes. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "graph.h"
#include "loader.h"
#include "value.h"

/* one row of the option table: key, type, default, flags, help */
#define ROW "  %-16s %-15s %-10s %-15s %s\n"

static void flags_text(const hlb_option *o, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s",
		 (o->flags & HLB_OPT_REQUIRED) ? "required " : "",
		 (o->flags & HLB_OPT_SECRET) ? "secret " : "",
		 (o->flags & HLB_OPT_PREFIX) ? "prefix " : "");
	size_t n = strlen(buf);
	if (n && buf[n - 1] == ' ')
		buf[n - 1] = 0;
}

static void print_option(const hlb_option *o)
{
	char flags[64], key[64];

	flags_text(o, flags, sizeof(flags));
	snprintf(key, sizeof(key), "%s%s", o->key, (o->flags & HLB_OPT_PREFIX) ? "*" : "");
	printf(ROW, key,
	       o->type == HLB_OPT_ENUM && o->choices ? o->choices : hc_opt_type_name(o->type),
	       /* a secret's default is not shown either: it may be a real value */
	       (o->flags & HLB_OPT_SECRET) ? "-" : !o->default_value ? "-" : *o->default_value ? o->default_value : "\"\"",
	       flags[0] ? flags : "-", o->help ? o->help : "");
}

static void print_host_options(uint32_t caps)
{
	static const uint32_t roles[] = { HLB_CAP_SOURCE, HLB_CAP_TRANSFORM, HLB_CAP_SINK, HLB_CAP_AUTH };
	const char *seen[32];
	size_t nseen = 0;

	for (size_t r = 0; r < sizeof(roles) / sizeof(roles[0]); r++) {
		if (!(caps & roles[r]))
			continue;
		for (const hlb_option *o = hc_host_options(roles[r]); o->key; o++) {
			size_t k = 0;

			while (k < nseen && strcmp(seen[k], o->key) != 0)
				k++;
			if (k < nseen)
				continue;
			if (nseen < 32)
				seen[nseen++] = o->key;
			print_option(o);
		}
	}
}

static int show_plugin(const hc_module *m)
{
	const hlb_plugin *p = m->desc;
	char caps[64];

	hc_caps_text(p->caps, caps, sizeof(caps));
	printf("%s %s — %s\n", p->name, p->version ? p->version : "?", p->summary ? p->summary : "");
	printf("  file:         %s\n", m->path);
	printf("  ABI:          %u.%u\n", p->abi_major, p->abi_minor);
	printf("  capabilities: %s\n\n", caps);
	printf(ROW, "OPTION", "TYPE", "DEFAULT", "FLAGS", "HELP");
	/* the keys the host reads, once each, for every role the plugin has */
	print_host_options(p->caps);
	for (const hlb_option *o = m->options; o->key; o++)
		print_option(o);
	return 0;
}

int hc_cmd_plugins(const hc_cli *cli)
{
	hc_loader l;
	char err[1024], caps[64];
	char **names;
	size_t n;
	int bad = 0;

	if (hc_loader_init(&l) < 0) {
		fprintf(stderr, "hlbridge: cannot start the module loader (libltdl)\n");
		return 1;
	}
	for (size_t i = 0; i < cli->nplugin_dirs; i++)
		hc_loader_add_dir(&l, cli->plugin_dirs[i]);
	hc_loader_add_dir(&l, hc_default_plugin_dir());
	if (cli->nargs) {
		const hc_module *m = hc_loader_get(&l, cli->args[0], err, sizeof(err));

		if (m)
			show_plugin(m);
		else
			fprintf(stderr, "hlbridge: %s\n", err);
		hc_loader_fini(&l);
		return m ? 0 : 1;
	}
	names = hc_loader_names(&l, &n);
	printf("%-15s %-8s %-4s %-24s %s\n", "PLUGIN", "VERSION", "ABI", "CAPABILITIES", "SUMMARY");
	for (size_t i = 0; i < n; i++) {
		const hc_module *m = hc_loader_get(&l, names[i], err, sizeof(err));

		if (!m) {
			fprintf(stderr, "hlbridge: %s\n", err);
			bad++;
			continue;
		}
		hc_caps_text(m->desc->caps, caps, sizeof(caps));
		printf("%-15s %-8s %u.%-2u %-24s %s\n", m->desc->name, m->desc->version ? m->desc->version : "?",
		       m->desc->abi_major, m->desc->abi_minor, caps, m->desc->summary ? m->desc->summary : "");
	}
	if (n == 0) {
		fprintf(stderr, "hlbridge: no plugins found (searched %zu director%s; add --plugin-dir DIR)\n",
			l.ndirs, l.ndirs == 1 ? "y" : "ies");
		bad++;
	}
	hc_loader_free_names(names, n);
	hc_loader_fini(&l);
	return bad ? 1 : 0;
}
