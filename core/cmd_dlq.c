/* hlbridge dlq list|show|replay|drop: the dead-letter queue, read and
 * changed through the store API while a daemon may be running on the same
 * database (SQLite's locking keeps the two consistent). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "cli.h"

#define ERROR_WIDTH 80
#define LIST_ROW "%-6s %-12s %-20s %8s %6s %-20s %s\n"

/* Usage errors exit 2, named after the sub-command. */
static int usage(const hc_cli *cli, const char *what)
{
	fprintf(stderr, "hlbridge dlq %s: %s (see 'hlbridge dlq --help')\n", cli->subcommand, what);
	return 2;
}

static int parse_id(const hc_cli *cli, const char *text, int64_t *id)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno || end == text || *end || v <= 0) {
		fprintf(stderr, "hlbridge dlq %s: '%s' is not a dead record id (the ID column of "
			"'hlbridge dlq list')\n", cli->subcommand, text);
		return -1;
	}
	*id = v;
	return 0;
}

/* All ids of the command line, checked before anything is changed. */
static int64_t *parse_ids(const hc_cli *cli)
{
	int64_t *ids = calloc(cli->nargs + 1, sizeof(*ids));

	if (!ids)
		fprintf(stderr, "hlbridge dlq: out of memory\n");
	for (size_t i = 0; ids && i < cli->nargs; i++)
		if (parse_id(cli, cli->args[i], &ids[i]) < 0) {
			free(ids);
			return NULL;
		}
	return ids;
}

void hc_cli_iso_time(int64_t ms, int with_ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char sec[32];

	if (!gmtime_r(&t, &tm) || !strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm)) {
		snprintf(buf, len, "-");
		return;
	}
	if (with_ms)
		snprintf(buf, len, "%s.%03dZ", sec, (int)(ms % 1000));
	else
		snprintf(buf, len, "%sZ", sec);
}

static void status_text(long status, char *buf, size_t len)
{
	if (status > 0)
		snprintf(buf, len, "%ld", status);
	else
		snprintf(buf, len, "-");
}

static struct hlb_instance *find_sink(hc_graph *g, const char *name)
{
	for (size_t i = 0; i < g->ninst; i++)
		if (g->inst[i]->role == HLB_CAP_SINK && strcmp(g->inst[i]->sec->name, name) == 0)
			return g->inst[i];
	return NULL;
}

/* "FILE has no [sink:NAME]; its sinks: a, b", so the fix is in sight. */
static void no_such_sink(const hc_cli *cli, hc_graph *g, const char *name, const char *what)
{
	size_t n = 0;

	fprintf(stderr, "%s: %s: no [sink:%s] in the file; ", cli->config, what, name);
	for (size_t i = 0; i < g->ninst; i++)
		if (g->inst[i]->role == HLB_CAP_SINK)
			fprintf(stderr, "%s%s", n++ ? ", " : "its sinks are: ", g->inst[i]->sec->name);
	fprintf(stderr, "%s\n", n ? "" : "it has no sinks");
}

/* ---- list ---------------------------------------------------------------- */

static void list_row(const hc_dead *d, void *arg)
{
	size_t *n = arg;
	char id[24], attempts[16], status[24], when[40];
	char *sink = hc_cli_clean(d->sink, 0), *key = hc_cli_clean(d->key, 0);
	char *error = hc_cli_clean(d->error, ERROR_WIDTH);

	if (!(*n)++)
		printf(LIST_ROW, "ID", "SINK", "KEY", "ATTEMPTS", "STATUS", "FAILED", "ERROR");
	snprintf(id, sizeof(id), "%" PRId64, d->id);
	snprintf(attempts, sizeof(attempts), "%u", d->attempts);
	status_text(d->last_status, status, sizeof(status));
	hc_cli_iso_time(d->failed_ms, 0, when, sizeof(when));
	printf(LIST_ROW, id, sink ? sink : "?", key ? key : "?", attempts, status, when,
	       error ? error : "?");
	free(sink);
	free(key);
	free(error);
}

static int dlq_list(const hc_cli *cli, hc_loaded *l, hc_store *s)
{
	size_t n = 0;

	if (cli->sink && !find_sink(l->graph, cli->sink)) {
		no_such_sink(cli, l->graph, cli->sink, "--sink");
		return 1;
	}
	if (hc_store_dead_each(s, cli->sink, list_row, &n) < 0) {
		fprintf(stderr, "hlbridge dlq list: %s\n", hc_store_error(s));
		return 1;
	}
	if (!n)
		printf("no dead records%s%s\n", cli->sink ? " for sink " : "", cli->sink ? cli->sink : "");
	return 0;
}

/* ---- show ---------------------------------------------------------------- */

static void print_body(const char *text)
{
	struct json_object *body = json_tokener_parse(text);

	/* the store holds what it was given as JSON; print it as is otherwise */
	if (body)
		printf("%s\n", json_object_to_json_string_ext(body, JSON_C_TO_STRING_PRETTY |
				JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		printf("%s\n", text);
	json_object_put(body);
}

static void show_row(const hc_dead *d, void *arg)
{
	char status[24], when[40];
	char *sink = hc_cli_clean(d->sink, 0), *key = hc_cli_clean(d->key, 0);
	char *stream = hc_cli_clean(d->stream, 0), *error = hc_cli_clean(d->error, 0);

	(void)arg;
	status_text(d->last_status, status, sizeof(status));
	hc_cli_iso_time(d->failed_ms, 1, when, sizeof(when));
	printf("id:          %" PRId64 "\n", d->id);
	printf("sink:        %s\n", sink ? sink : "?");
	printf("key:         %s\n", key ? key : "?");
	printf("stream:      %s\n", stream ? stream : "?");
	printf("attempts:    %u\n", d->attempts);
	printf("last status: %s\n", status);
	printf("failed:      %s\n", when);
	printf("error:       %s\n", error ? error : "?");
	printf("body:\n");
	print_body(d->body);
	free(sink);
	free(key);
	free(stream);
	free(error);
}

static int dlq_show(const hc_cli *cli, hc_store *s, int64_t id)
{
	int n = hc_store_dead_get(s, id, show_row, NULL);

	if (n < 0) {
		fprintf(stderr, "hlbridge dlq show: %s\n", hc_store_error(s));
		return 1;
	}
	if (n == 0) {
		fprintf(stderr, "hlbridge dlq show: no dead record %" PRId64 " in %s (see 'hlbridge dlq list -c %s')\n",
			id, hc_store_path(s), cli->config ? cli->config : "FILE");
		return 1;
	}
	return 0;
}

/* ---- replay -------------------------------------------------------------- */

/* Where each id is to go, learned before anything moves. */
struct target {
	char *sink;
};

static void take_sink(const hc_dead *d, void *arg)
{
	struct target *t = arg;

	free(t->sink);
	t->sink = strdup(d->sink);
}

/* Checks one id: it exists, and its sink is one of FILE's (and --sink's). */
static int check_target(const hc_cli *cli, hc_loaded *l, hc_store *s, int64_t id)
{
	struct target t = { NULL };
	char what[64];
	int n = hc_store_dead_get(s, id, take_sink, &t), ok = 0;

	snprintf(what, sizeof(what), "dead record %" PRId64, id);
	if (n < 0)
		fprintf(stderr, "hlbridge dlq replay: %s\n", hc_store_error(s));
	else if (n == 0 || !t.sink)
		fprintf(stderr, "hlbridge dlq replay: no dead record %" PRId64 " in %s\n", id, hc_store_path(s));
	else if (!find_sink(l->graph, t.sink))
		no_such_sink(cli, l->graph, t.sink, what);
	else if (cli->sink && strcmp(cli->sink, t.sink) != 0)
		fprintf(stderr, "hlbridge dlq replay: dead record %" PRId64 " is of sink %s, not %s\n", id, t.sink,
			cli->sink);
	else
		ok = 1;
	free(t.sink);
	return ok ? 0 : -1;
}

struct orphans {
	hc_graph *g;
	char *first;      /* the first sink the file no longer has */
	size_t n;         /* dead records of such sinks */
};

static void find_orphan(const hc_dead *d, void *arg)
{
	struct orphans *o = arg;

	if (find_sink(o->g, d->sink))
		return;
	if (!o->n++)
		o->first = strdup(d->sink);
}

/* --all without --sink replays sink by sink, so that no record is put in
 * the queue of a sink the file does not have; such records stop it. */
static int check_all(const hc_cli *cli, hc_loaded *l, hc_store *s)
{
	struct orphans o = { l->graph, NULL, 0 };
	char what[96];

	if (hc_store_dead_each(s, NULL, find_orphan, &o) < 0) {
		fprintf(stderr, "hlbridge dlq replay: %s\n", hc_store_error(s));
		return -1;
	}
	if (!o.n)
		return 0;
	snprintf(what, sizeof(what), "%zu dead record%s of sink %s", o.n, o.n == 1 ? "" : "s",
		 o.first ? o.first : "?");
	no_such_sink(cli, l->graph, o.first ? o.first : "?", what);
	fprintf(stderr, "%s: nothing replayed: replay the others with --sink NAME, or drop those "
		"(their ids are in 'hlbridge dlq list')\n", cli->config);
	free(o.first);
	return -1;
}

static int64_t replay_all(const hc_cli *cli, hc_loaded *l, hc_store *s)
{
	int64_t total = 0;

	if (cli->sink)
		return hc_store_dead_replay(s, 0, cli->sink);
	for (size_t i = 0; i < l->graph->ninst; i++) {
		struct hlb_instance *inst = l->graph->inst[i];
		int64_t n;

		if (inst->role != HLB_CAP_SINK)
			continue;
		n = hc_store_dead_replay(s, 0, inst->sec->name);
		if (n < 0)
			return -1;
		total += n;
	}
	return total;
}

static int dlq_replay(const hc_cli *cli, hc_loaded *l, hc_store *s, const int64_t *ids)
{
	int64_t total = 0;

	if (cli->sink && !find_sink(l->graph, cli->sink)) {
		no_such_sink(cli, l->graph, cli->sink, "--sink");
		return 1;
	}
	for (size_t i = 0; i < cli->nargs; i++)
		if (check_target(cli, l, s, ids[i]) < 0)
			return 1;
	if (cli->all && !cli->sink && check_all(cli, l, s) < 0)
		return 1;
	if (cli->all)
		total = replay_all(cli, l, s);
	for (size_t i = 0; i < cli->nargs && total >= 0; i++) {
		int64_t n = hc_store_dead_replay(s, ids[i], NULL);

		total = n < 0 ? -1 : total + n;
	}
	if (total < 0) {
		fprintf(stderr, "hlbridge dlq replay: %s\n", hc_store_error(s));
		return 1;
	}
	if (total == 0)
		printf("replayed 0 records: there were none\n");
	else
		printf("replayed %" PRId64 " record%s: a running hlbridge delivers %s within seconds, "
		       "a stopped one when it next starts\n", total, total == 1 ? "" : "s",
		       total == 1 ? "it" : "them");
	return 0;
}

/* ---- drop ---------------------------------------------------------------- */

static int dlq_drop(const hc_cli *cli, hc_store *s, const int64_t *ids)
{
	int64_t dropped = 0;
	int missing = 0;

	for (size_t i = 0; i < cli->nargs; i++) {
		int64_t n = hc_store_dead_drop(s, ids[i]);

		if (n < 0) {
			fprintf(stderr, "hlbridge dlq drop: %s\n", hc_store_error(s));
			return 1;
		}
		if (n == 0) {
			fprintf(stderr, "hlbridge dlq drop: no dead record %" PRId64 " in %s\n", ids[i],
				hc_store_path(s));
			missing++;
		}
		dropped += n;
	}
	printf("dropped %" PRId64 " record%s\n", dropped, dropped == 1 ? "" : "s");
	return missing ? 1 : 0;
}

/* ---- dispatch ------------------------------------------------------------ */

/* What each sub-command takes: wrong combinations are usage errors, found
 * before the database is opened. */
static int check_usage(const hc_cli *cli)
{
	const char *sub = cli->subcommand;
	int list = strcmp(sub, "list") == 0, replay = strcmp(sub, "replay") == 0;

	if ((list || replay) && !cli->config)
		return usage(cli, "which configuration? use -c FILE");
	if (cli->sink && !list && !replay)
		return usage(cli, "--sink is for list and replay");
	if (cli->all && !replay)
		return usage(cli, "--all is for replay");
	if (list && cli->nargs)
		return usage(cli, "takes no ids (use 'hlbridge dlq show ID' for one record)");
	if (strcmp(sub, "show") == 0 && cli->nargs != 1)
		return usage(cli, "give one id");
	if (replay && cli->all && cli->nargs)
		return usage(cli, "give ids or --all, not both");
	if (replay && !cli->all && !cli->nargs)
		return usage(cli, "which records? give their ids, or --all");
	if (strcmp(sub, "drop") == 0 && !cli->nargs)
		return usage(cli, "which records? give their ids");
	return 0;
}

static int run_subcommand(const hc_cli *cli, const int64_t *ids)
{
	hc_loaded l;
	hc_store *s;
	int rc;

	if (hc_cli_open_store(cli, &l, &s) < 0) {
		hc_cli_close_store(cli, &l, s);
		return 1;
	}
	if (strcmp(cli->subcommand, "list") == 0)
		rc = dlq_list(cli, &l, s);
	else if (strcmp(cli->subcommand, "show") == 0)
		rc = dlq_show(cli, s, ids[0]);
	else if (strcmp(cli->subcommand, "replay") == 0)
		rc = dlq_replay(cli, &l, s, ids);
	else
		rc = dlq_drop(cli, s, ids);
	hc_cli_close_store(cli, &l, s);
	return rc;
}

int hc_cmd_dlq(const hc_cli *cli)
{
	static const char *const subs[] = { "list", "show", "replay", "drop" };
	int64_t *ids;
	size_t i = 0;
	int rc;

	if (!cli->subcommand) {
		fprintf(stderr, "hlbridge dlq: which sub-command? list, show, replay or drop "
			"(see 'hlbridge dlq --help')\n");
		return 2;
	}
	while (i < sizeof(subs) / sizeof(subs[0]) && strcmp(cli->subcommand, subs[i]) != 0)
		i++;
	if (i == sizeof(subs) / sizeof(subs[0])) {
		fprintf(stderr, "hlbridge dlq: unknown sub-command '%s': list, show, replay or drop "
			"(see 'hlbridge dlq --help')\n", cli->subcommand);
		return 2;
	}
	if ((rc = check_usage(cli)) != 0)
		return rc;
	ids = parse_ids(cli);
	if (!ids)
		return 2;
	rc = run_subcommand(cli, ids);
	free(ids);
	return hc_cli_flush("hlbridge dlq", rc);
}
