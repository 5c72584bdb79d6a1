/* hlbridge state -c FILE: what the state database holds for a
 * configuration: each source's checkpoint and each sink's backlog. Also
 * the opening of an existing state database, shared with hlbridge dlq. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "log.h"

/* Inspecting must never create anything: hc_store_open would create the
 * directory and an empty database, so the file is looked for first. */
int hc_cli_store_exists(const char *who, const char *dir, int with_config)
{
	char path[4096];
	struct stat st;

	if (strcmp(dir, ":memory:") == 0)
		return 0;
	if (snprintf(path, sizeof(path), "%s/hlbridge.db", dir) >= (int)sizeof(path)) {
		if (who)
			fprintf(stderr, "%s: state_dir is too long\n", who);
		return 0;
	}
	if (stat(path, &st) == 0)
		return 1;
	if (!who)
		return 0;
	if (errno != ENOENT)
		fprintf(stderr, "%s: cannot use the state database %s: %s\n", who, path, strerror(errno));
	else if (with_config)
		fprintf(stderr, "%s: no state database in %s: hlbridge has not run with this configuration yet\n",
			who, dir);
	else
		fprintf(stderr, "%s: no state database in %s: hlbridge has not run with the default state "
			"directory yet (give -c FILE for a configuration's [service] state_dir)\n", who, dir);
	return 0;
}

int hc_cli_open_store(const hc_cli *cli, hc_loaded *l, hc_store **out)
{
	const char *who = cli->config ? cli->config : "hlbridge";
	const char *dir = hc_default_state_dir();
	char err[1024];

	*out = NULL;
	memset(l, 0, sizeof(*l));
	if (cli->config) {
		if (hc_cli_load(l, cli) < 0)
			return -1;
		dir = hc_state_dir(l->graph);
	}
	if (strcmp(dir, ":memory:") == 0) {
		fprintf(stderr, "%s: the configuration keeps no state (state_dir = :memory:)\n", who);
		return -1;
	}
	if (!hc_cli_store_exists(who, dir, cli->config != NULL))
		return -1;
	if (hc_store_open(dir, out, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", who, err);
		return -1;
	}
	return 0;
}

void hc_cli_close_store(const hc_cli *cli, hc_loaded *l, hc_store *s)
{
	hc_store_close(s);
	/* without -c nothing was loaded, and the loader was never started */
	if (cli->config)
		hc_cli_unload(l);
}

char *hc_cli_clean(const char *in, size_t max)
{
	/* "***" may be longer than the secret it replaces */
	size_t outlen = 3 * strlen(in) + 4, n;
	char *out = malloc(outlen);

	if (!out)
		return NULL;
	hc_log_mask(in, out, outlen);
	/* one record, one line: no text from a destination may forge another */
	for (unsigned char *p = (unsigned char *)out; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
	n = strlen(out);
	if (max < 4 || n <= max)
		return out;
	/* cut on a character boundary, not inside a UTF-8 sequence */
	n = max - 3;
	while (n > 0 && ((unsigned char)out[n] & 0xc0) == 0x80)
		n--;
	memcpy(out + n, "...", 4);
	return out;
}

struct state_row {
	char *instance, *key, *value;
	int shown;
};

struct state_rows {
	struct state_row *row;
	size_t n, cap;
	int oom;
};

static void collect_row(const char *instance, const char *key, const char *value, void *arg)
{
	struct state_rows *r = arg;
	struct state_row *row;

	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct state_row *grown = realloc(r->row, cap * sizeof(*grown));

		if (!grown) {
			r->oom = 1;
			return;
		}
		r->row = grown;
		r->cap = cap;
	}
	row = &r->row[r->n];
	row->instance = strdup(instance);
	row->key = strdup(key);
	row->value = strdup(value);
	row->shown = 0;
	if (!row->instance || !row->key || !row->value) {
		free(row->instance);
		free(row->key);
		free(row->value);
		r->oom = 1;
		return;
	}
	r->n++;
}

static void free_rows(struct state_rows *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->row[i].instance);
		free(r->row[i].key);
		free(r->row[i].value);
	}
	free(r->row);
}

static int has_state(const struct state_rows *r, const char *instance)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->row[i].instance, instance) == 0)
			return 1;
	return 0;
}

/* Prints the saved state of one instance, one "key = value" line each. */
static void print_state_of(struct state_rows *r, const char *instance)
{
	for (size_t i = 0; i < r->n; i++) {
		char *key, *value;

		if (strcmp(r->row[i].instance, instance) != 0)
			continue;
		r->row[i].shown = 1;
		key = hc_cli_clean(r->row[i].key, 0);
		value = hc_cli_clean(r->row[i].value, 0);
		printf("  %s = %s\n", key ? key : "?", value ? value : "?");
		free(key);
		free(value);
	}
}

static int print_sink(hc_store *s, struct hlb_instance *sink, struct state_rows *r)
{
	int64_t pending, retrying, dead;

	printf("[%s]\n", sink->sec->label);
	if (hc_store_counts(s, sink->sec->name, &pending, &retrying, &dead) < 0) {
		fprintf(stderr, "hlbridge state: %s\n", hc_store_error(s));
		return -1;
	}
	printf("  pending = %lld\n  retrying = %lld\n  dead = %lld\n", (long long)pending,
	       (long long)retrying, (long long)dead);
	print_state_of(r, sink->sec->name);
	return 0;
}

/* State kept for instances the file no longer has (renamed or removed):
 * shown so that it is not mistaken for the state of the current ones. */
static void print_leftovers(struct state_rows *r, const char *file)
{
	for (size_t i = 0; i < r->n; i++) {
		char *name;

		if (r->row[i].shown)
			continue;
		/* credentials hold tokens: never printed, even when left over */
		if (strncmp(r->row[i].instance, "auth:", 5) == 0) {
			r->row[i].shown = 1;
			continue;
		}
		name = hc_cli_clean(r->row[i].instance, 0);
		printf("[%s] (not in %s)\n", name ? name : "?", file);
		free(name);
		print_state_of(r, r->row[i].instance);
	}
}

static int print_state(const hc_cli *cli, hc_graph *g, hc_store *s)
{
	struct state_rows r;
	int rc = 0;

	memset(&r, 0, sizeof(r));
	if (hc_store_state_each(s, collect_row, &r) < 0 || r.oom) {
		fprintf(stderr, "hlbridge state: %s\n", r.oom ? "out of memory" : hc_store_error(s));
		free_rows(&r);
		return -1;
	}
	printf("state database: %s\n", hc_store_path(s));
	for (size_t i = 0; i < g->ninst && rc == 0; i++) {
		struct hlb_instance *inst = g->inst[i];

		if (inst->role == HLB_CAP_SINK) {
			rc = print_sink(s, inst, &r);
		} else if (inst->role == HLB_CAP_SOURCE) {
			printf("[%s]\n", inst->sec->label);
			if (!has_state(&r, inst->sec->name))
				printf("  (no checkpoint yet)\n");
			print_state_of(&r, inst->sec->name);
		} else if (inst->role == HLB_CAP_AUTH) {
			/* tokens: what may be shown of them is auth status's job */
			printf("[%s]\n  (credentials: see 'hlbridge auth status -c %s')\n", inst->sec->label,
			       cli->config);
		} else if (has_state(&r, inst->sec->name)) {
			/* a transform may keep state too */
			printf("[%s]\n", inst->sec->label);
			print_state_of(&r, inst->sec->name);
		}
	}
	if (rc == 0)
		print_leftovers(&r, cli->config);
	free_rows(&r);
	return rc;
}

int hc_cmd_state(const hc_cli *cli)
{
	hc_loaded l;
	hc_store *s;
	int rc;

	if (!cli->config) {
		fprintf(stderr, "hlbridge state: which configuration? use -c FILE\n");
		return 2;
	}
	if (cli->nargs) {
		fprintf(stderr, "hlbridge state: unexpected argument '%s' (see 'hlbridge state --help')\n",
			cli->args[0]);
		return 2;
	}
	if (hc_cli_open_store(cli, &l, &s) < 0) {
		hc_cli_close_store(cli, &l, s);
		return 1;
	}
	rc = print_state(cli, l.graph, s);
	hc_cli_close_store(cli, &l, s);
	return hc_cli_flush("hlbridge state", rc);
}

int hc_cli_flush(const char *who, int failed)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "%s: cannot write the output: %s\n", who, strerror(errno));
		return 1;
	}
	return failed ? 1 : 0;
}
