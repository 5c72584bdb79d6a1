/* Command-line commands. */
#ifndef HC_CLI_H
#define HC_CLI_H

#include <stddef.h>

#include "diag.h"
#include "graph.h"
#include "loader.h"
#include "store.h"

typedef struct hc_cli {
	const char *command;
	const char *subcommand;  /* dlq list|show|replay|drop, links list|add|remove */
	const char *config;      /* -c FILE */
	const char **plugin_dirs; /* --plugin-dir, in order */
	size_t nplugin_dirs;
	const char *log_level;
	const char *sink;        /* --sink NAME (dlq) */
	int all;                 /* --all (dlq replay) */
	const char *location;    /* --location ID (history) */
	const char *tag;         /* --tag ID (history) */
	const char *limit;       /* --limit N (history) */
	int once;
	int help;
	const char *format;      /* --format tsv (plugins NAME) */
	const char **args;       /* positional arguments after the (sub-)command */
	size_t nargs;
} hc_cli;

int hc_cmd_run(const hc_cli *cli);
int hc_cmd_check(const hc_cli *cli);
int hc_cmd_plugins(const hc_cli *cli);
int hc_cmd_dlq(const hc_cli *cli);
int hc_cmd_state(const hc_cli *cli);
int hc_cmd_auth(const hc_cli *cli);
int hc_cmd_history(const hc_cli *cli);
int hc_cmd_links(const hc_cli *cli);
int hc_cmd_status(const hc_cli *cli);

/* Shared by the commands: the built-in default directories. */
const char *hc_default_plugin_dir(void);
const char *hc_default_state_dir(void);

/* A configuration file read and validated against its plugins, the same
 * way for every command that takes -c FILE. */
typedef struct hc_loaded {
	hc_diag diag;
	hc_loader loader;
	hc_config *cfg;
	hc_graph *graph;
} hc_loaded;

/* Loads cli->config into l. On errors prints them with a count and
 * returns -1; warnings stay in l->diag for the caller to print. Call
 * hc_cli_unload in both cases. */
int hc_cli_load(hc_loaded *l, const hc_cli *cli);
void hc_cli_unload(hc_loaded *l);
/* [service] state_dir, or the default. */
const char *hc_state_dir(const hc_graph *g);

/* Opens the existing state database of cli->config (loaded into l), or of
 * the default state directory without -c. Never creates one. Prints why
 * on failure and returns -1. */
int hc_cli_open_store(const hc_cli *cli, hc_loaded *l, hc_store **out);
/* Whether `dir` holds a state database; when not and `who` is set, says
 * why on stderr (with_config: the directory came from -c FILE). */
int hc_cli_store_exists(const char *who, const char *dir, int with_config);
/* Closes what hc_cli_open_store opened, whether it succeeded or not. */
void hc_cli_close_store(const hc_cli *cli, hc_loaded *l, hc_store *s);
/* A malloc'ed copy of text from the database fit for one output line:
 * secrets masked, control characters replaced, and cut to `max` bytes
 * with "..." (0: not cut). NULL when out of memory. */
char *hc_cli_clean(const char *in, size_t max);
/* Flushes standard output: returns 1 when writing it failed or `failed`
 * is set, else 0. */
int hc_cli_flush(const char *who, int failed);
/* "2026-11-30T12:00:00Z" (with_ms: "…:00.123Z"), UTC. */
void hc_cli_iso_time(int64_t ms, int with_ms, char *buf, size_t len);

#endif
