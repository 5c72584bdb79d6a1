/* hlbridge plugins [NAME]: what is installed, and what each plugin takes. */
#include <stddef.h>
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

static const hlb_operation *operation_at(const hlb_plugin *p, size_t i)
{
	return (const hlb_operation *)(const void *)((const char *)p->operations + i * p->operation_size);
}

/* The catalog, if the module has one of a size this host can read. */
static const hlb_operation *catalog_of(const hlb_plugin *p)
{
	if (p->size < offsetof(hlb_plugin, operation_size) + sizeof(p->operation_size) || !p->operations ||
	    p->operation_size < sizeof(hlb_operation))
		return NULL;
	return p->operations;
}

static void marks_text(uint32_t marks, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s%s", marks & HLB_OPMARK_DEPRECATED ? "deprecated" : "",
		 (marks & HLB_OPMARK_DEPRECATED) && (marks & (HLB_OPMARK_AGENCY_ONLY | HLB_OPMARK_INEXACT)) ? ", " : "",
		 marks & HLB_OPMARK_AGENCY_ONLY ? "agency only" : "",
		 (marks & HLB_OPMARK_AGENCY_ONLY) && (marks & HLB_OPMARK_INEXACT) ? ", " : "",
		 marks & HLB_OPMARK_INEXACT ? "closest endpoint" : "");
}

/* A catalog cell: no tab or line break may split the row. */
static void tsv_cell(const char *s, int last)
{
	for (; s && *s; s++)
		putchar(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s);
	putchar(last ? '\n' : '\t');
}

static int print_catalog_tsv(const hlb_plugin *p)
{
	printf("category\tkind\tname\thttp_method\tpath\tspec_file\toperationId\trequired_scope\n");
	for (size_t i = 0; operation_at(p, i)->name; i++) {
		const hlb_operation *o = operation_at(p, i);

		tsv_cell(o->category, 0);
		tsv_cell(o->kind, 0);
		tsv_cell(o->title, 0);
		tsv_cell(o->method, 0);
		tsv_cell(o->path, 0);
		tsv_cell(o->spec, 0);
		tsv_cell(o->operation_id, 0);
		tsv_cell(o->scope, 1);
	}
	return 0;
}

static void print_catalog(const hlb_plugin *p)
{
	size_t n = 0, triggers = 0;
	const char *category = NULL;

	for (; operation_at(p, n)->name; n++)
		triggers += operation_at(p, n)->kind && strcmp(operation_at(p, n)->kind, "Trigger") == 0;
	printf("\nOPERATIONS (%zu: %zu triggers, streams of a source; %zu actions, operations of a sink)\n", n,
	       triggers, n - triggers);
	for (size_t i = 0; i < n; i++) {
		const hlb_operation *o = operation_at(p, i);
		char marks[64], where[512];

		if (!category || !o->category || strcmp(category, o->category) != 0) {
			category = o->category;
			printf("\n  %s\n", category ? category : "");
		}
		marks_text(o->marks, marks, sizeof(marks));
		snprintf(where, sizeof(where), "%s %s", o->method ? o->method : "?", o->path ? o->path : "?");
		printf("  %-34s %-7s %-60s %s; %s token%s%s%s\n", o->name, o->kind ? o->kind : "?", where,
		       o->scope ? o->scope : "-", o->token ? o->token : "any", *marks ? " [" : "", marks,
		       *marks ? "]" : "");
		if (o->title)
			printf("  %-34s         %s%s%s\n", "", o->title, o->note ? ": " : "", o->note ? o->note : "");
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
	if (catalog_of(p))
		print_catalog(p);
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
		int rc = m ? 0 : 1;

		if (!m)
			fprintf(stderr, "hlbridge: %s\n", err);
		else if (!cli->format)
			show_plugin(m);
		else if (strcmp(cli->format, "tsv") != 0) {
			fprintf(stderr, "hlbridge: --format takes tsv (got '%s')\n", cli->format);
			rc = 2;
		} else if (!catalog_of(m->desc)) {
			fprintf(stderr, "hlbridge: plugin '%s' has no operation catalog to print as tsv\n", m->desc->name);
			rc = 2;
		} else {
			rc = print_catalog_tsv(m->desc);
		}
		hc_loader_fini(&l);
		return rc;
	}
	if (cli->format) {
		fprintf(stderr, "hlbridge: --format needs a plugin NAME (hlbridge plugins ghl --format=tsv)\n");
		hc_loader_fini(&l);
		return 2;
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
