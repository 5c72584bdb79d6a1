/* hlbridge: command-line entry point. */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cli.h"
#include "hlbridge/abi.h"
#include "log.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif
#ifndef HLB_PLUGIN_DIR
#define HLB_PLUGIN_DIR "/usr/local/lib/hlbridge"
#endif
#ifndef HLB_STATE_DIR
#define HLB_STATE_DIR "/usr/local/var/lib/hlbridge"
#endif

const char *hc_default_plugin_dir(void)
{
	return HLB_PLUGIN_DIR;
}

const char *hc_default_state_dir(void)
{
	return HLB_STATE_DIR;
}

static const char usage[] =
	"Usage: hlbridge [OPTIONS] COMMAND [ARGS]\n"
	"\n"
	"Sync records between GoHighLevel and other systems through plugins.\n"
	"\n"
	"Commands:\n"
	"  run -c FILE [--once]   run the pipelines of a configuration file\n"
	"  check -c FILE          validate a configuration and run the plugins' checks\n"
	"  plugins [NAME]         list the plugins, or show one plugin's options\n"
	"  dlq SUBCOMMAND [ID]... list, show, replay or drop dead records\n"
	"  state -c FILE          print each source's checkpoint and each sink's backlog\n"
	"  auth login NAME -c FILE  authorize the credential [auth:NAME] (OAuth)\n"
	"  auth status -c FILE    show each credential's expiry and whether it needs a login\n"
	"  history -c FILE        print the change history sources keep (tag changes)\n"
	"  links [SUBCOMMAND] -c FILE  list, add or remove links between objects of\n"
	"                         two systems (GHL contacts and Octorate reservations)\n"
	"  status -c FILE         show the running hlbridge's routes, sinks and health\n"
	"  help [COMMAND]         show this help, or a command's help\n"
	"  version                print the version and the plugin ABI version\n"
	"\n"
	"Options:\n"
	"  -c, --config FILE      the configuration file (INI)\n"
	"  --plugin-dir DIR       load plugins from DIR first (repeatable)\n"
	"  --log-level LEVEL      error, warn, info (default) or debug\n"
	"  --sink NAME            dlq list, replay: only the dead records of sink NAME\n"
	"  --all                  dlq replay: every dead record\n"
	"  --location ID          history: only the rows of this location\n"
	"  --tag ID               history: only the rows of this tag\n"
	"  --limit N              history: the newest N rows (default 1000)\n"
	"  -h, --help             show help\n"
	"  -V, --version          same as the version command\n"
	"\n"
	"Default plugin directory: " HLB_PLUGIN_DIR "\n"
	"Default state directory:  " HLB_STATE_DIR "\n"
	"See hlbridge(1), hlbridge.ini(5) and hlbridge-plugin(3).\n";

static const struct {
	const char *name;
	const char *help;
} command_help[] = {
	{ "run",
	  "Usage: hlbridge run -c FILE [--once] [--plugin-dir DIR]... [--log-level LEVEL]\n"
	  "\n"
	  "Runs every route of FILE: polls each source on its interval, passes the\n"
	  "records through the route's transforms and delivers them to its sinks.\n"
	  "SIGINT or SIGTERM stops polling, waits up to [service] drain_timeout for\n"
	  "records in flight, and exits 0 (failures are logged as they happen).\n"
	  "\n"
	  "  --once   poll each source once, deliver everything, then exit:\n"
	  "           0 when every record was delivered or filtered out,\n"
	  "           1 when a poll or a record failed, 2 on a configuration error.\n" },
	{ "check",
	  "Usage: hlbridge check -c FILE [--plugin-dir DIR]...\n"
	  "\n"
	  "Validates FILE: syntax, sections, plugins, options and routes, reporting\n"
	  "every error with its file and line. Then starts each instance and runs\n"
	  "its plugin's check (for example, that a file can be read).\n"
	  "Exits 0 when valid, 1 when not, 2 on a usage error (no -c).\n" },
	{ "plugins",
	  "Usage: hlbridge plugins [--plugin-dir DIR]... [NAME [--format=tsv]]\n"
	  "\n"
	  "Without NAME, lists every plugin found in the plugin directories (and\n"
	  "those built in) with version, ABI, capabilities and summary; modules that\n"
	  "cannot be loaded are reported with the reason. With NAME, prints that\n"
	  "plugin's options (key, type, default, flags and help) and, for a connector\n"
	  "with an operation catalog (ghl), every operation: name, category, trigger\n"
	  "or action, method and path, scope, token type and marks (deprecated,\n"
	  "agency only, closest endpoint).\n"
	  "\n"
	  "  --format=tsv  only the catalog, tab-separated, with a header line and the\n"
	  "                columns category, kind, name, http_method, path, spec_file,\n"
	  "                operationId, required_scope (those of GHL's operations.tsv)\n"
	  "Exits 1 when no plugin was found or a module could not be loaded, 2 when\n"
	  "--format is not tsv or the plugin has no catalog.\n" },
	{ "dlq",
	  "Usage: hlbridge dlq list -c FILE [--sink NAME]\n"
	  "       hlbridge dlq show ID [-c FILE]\n"
	  "       hlbridge dlq replay -c FILE (ID... | --all) [--sink NAME]\n"
	  "       hlbridge dlq drop ID... [-c FILE]\n"
	  "\n"
	  "The dead-letter queue holds the records a sink refused, or that still\n"
	  "failed after retry_limit retries, in the state database of FILE's\n"
	  "[service] state_dir (without -c, of the default state directory).\n"
	  "FILE is validated first, its plugins found as 'run' finds them (give the\n"
	  "same --plugin-dir options).\n"
	  "\n"
	  "  list     one line per dead record: id, sink, key, attempts, last HTTP\n"
	  "           status, when it failed (UTC) and the error\n"
	  "  show     every field of one record, and its body\n"
	  "  replay   puts the records back in their sink's queue: a running\n"
	  "           hlbridge delivers them within seconds, a stopped one when it\n"
	  "           next starts; --all replays every dead record (of --sink NAME)\n"
	  "  drop     deletes the records for good\n"
	  "\n"
	  "Exits 0 on success, 1 when an id, a sink or the state database does not\n"
	  "exist or the configuration is invalid, 2 on a usage error.\n" },
	{ "state",
	  "Usage: hlbridge state -c FILE [--plugin-dir DIR]...\n"
	  "\n"
	  "Prints, from the state database of FILE's [service] state_dir, the saved\n"
	  "state of each source (its checkpoint, such as a file position) and the\n"
	  "backlog of each sink: records pending (never tried), retrying, and dead.\n"
	  "Exits 0 on success, 1 when the configuration is invalid or has no state\n"
	  "database yet, 2 on a usage error.\n" },
	{ "auth",
	  "Usage: hlbridge auth login NAME -c FILE [--plugin-dir DIR]...\n"
	  "       hlbridge auth status -c FILE [--plugin-dir DIR]...\n"
	  "\n"
	  "Credentials are [auth:NAME] sections; their tokens live in the state\n"
	  "database of FILE's [service] state_dir, never in FILE.\n"
	  "\n"
	  "  login    runs the OAuth authorization-code flow of [auth:NAME]: prints\n"
	  "           the URL to open and approve the app, listens on the section's\n"
	  "           redirect_uri (a loopback http:// URL) for the code, exchanges\n"
	  "           it for tokens and stores them. Gives up after 10 minutes.\n"
	  "  status   prints each credential's type, expiry and whether it must be\n"
	  "           authorized again; never a token\n"
	  "\n"
	  "Exits 0 on success; 1 when the login failed, or (status) when a\n"
	  "credential did not start or needs a login; 2 on a usage error.\n" },
	{ "history",
	  "Usage: hlbridge history -c FILE [--location ID] [--tag ID] [--limit N]\n"
	  "\n"
	  "Prints the change history the sources of FILE keep in its state\n"
	  "database, oldest first: ghl_tags adds a row for every tag created,\n"
	  "renamed or deleted. Columns: time (UTC), source, location, object\n"
	  "(the tag id), change and details. --limit N shows the newest N rows\n"
	  "(default 1000).\n"
	  "Exits 0 on success, 1 when the configuration is invalid or has no state\n"
	  "database yet, 2 on a usage error.\n" },
	{ "status",
	  "Usage: hlbridge status -c FILE [--plugin-dir DIR]...\n"
	  "\n"
	  "Asks the hlbridge running FILE, at its [service] listen address, for\n"
	  "its status (GET /status.json) and prints what the status page shows:\n"
	  "whether it is ready and healthy, and per route its source, state,\n"
	  "records in and out, a running backfill's progress, and per sink the\n"
	  "records delivered, retried and dead, the queue and the last error.\n"
	  "When no hlbridge answers (or FILE has no listen), it prints the\n"
	  "queues of the state database instead.\n"
	  "Exits 0 when hlbridge runs and is healthy, 1 when it is unhealthy or\n"
	  "on an error, 2 on a usage or configuration error, 3 when no running\n"
	  "hlbridge answered.\n" },
	{ "links",
	  "Usage: hlbridge links [list [OBJECT]] -c FILE [--plugin-dir DIR]...\n"
	  "       hlbridge links add LEFT RIGHT -c FILE\n"
	  "       hlbridge links remove LEFT RIGHT -c FILE\n"
	  "\n"
	  "Two-way sync links objects of two systems, named SYSTEM:SCOPE:KIND:ID:\n"
	  "a GHL contact (ghl:LOCATION:contact:ID, the left side, which may have\n"
	  "many partners) and the Octorate reservations it booked\n"
	  "(octorate:ACCOMMODATION:reservation:ID, the right side, which has one\n"
	  "partner per system and scope: one contact per GHL location). The\n"
	  "connectors record the links as they sync;\n"
	  "the octorate sink annotates only linked reservations.\n"
	  "\n"
	  "  list     one line per link (of OBJECT, on either side): left, right,\n"
	  "           when it was last confirmed (UTC), the instance that made it\n"
	  "           and what it matched on\n"
	  "  add      links LEFT and RIGHT, replacing RIGHT's link to another\n"
	  "           object of LEFT's system\n"
	  "  remove   removes one link\n"
	  "\n"
	  "Exits 0 on success, 1 when the configuration is invalid, has no state\n"
	  "database yet or the link to remove does not exist, 2 on a usage error.\n" },
	{ "version", "Usage: hlbridge version\n\nPrints the hlbridge version and its plugin ABI version.\n" },
	{ "help", "Usage: hlbridge help [COMMAND]\n" },
};

static int show_help(const char *command)
{
	if (!command) {
		fputs(usage, stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(command_help) / sizeof(command_help[0]); i++)
		if (strcmp(command, command_help[i].name) == 0) {
			fputs(command_help[i].help, stdout);
			return 0;
		}
	fprintf(stderr, "hlbridge: unknown command '%s' (see 'hlbridge --help')\n", command);
	return 2;
}

static int is_command(const char *name)
{
	for (size_t i = 0; i < sizeof(command_help) / sizeof(command_help[0]); i++)
		if (strcmp(name, command_help[i].name) == 0)
			return 1;
	return 0;
}

/* An option of another command is refused rather than ignored, so that
 * `hlbridge state --sink x` cannot look as if it had filtered anything. */
static int options_fit(const hc_cli *cli)
{
	if ((cli->sink || cli->all) && strcmp(cli->command, "dlq") != 0) {
		fprintf(stderr, "hlbridge %s: %s is an option of 'hlbridge dlq' only\n", cli->command,
			cli->sink ? "--sink" : "--all");
		return 0;
	}
	if ((cli->location || cli->tag || cli->limit) && strcmp(cli->command, "history") != 0) {
		fprintf(stderr, "hlbridge %s: %s is an option of 'hlbridge history' only\n", cli->command,
			cli->location ? "--location" : cli->tag ? "--tag" : "--limit");
		return 0;
	}
	return 1;
}

static int version(void)
{
	printf("hlbridge %s (plugin ABI %d.%d)\n", PACKAGE_VERSION, HLB_ABI_MAJOR, HLB_ABI_MINOR);
	return 0;
}

static int need_value(int argc, char **argv, int i)
{
	if (i + 1 >= argc || argv[i + 1][0] == 0) {
		fprintf(stderr, "hlbridge: %s needs a value (see 'hlbridge --help')\n", argv[i]);
		return 0;
	}
	return 1;
}

int main(int argc, char **argv)
{
	hc_cli cli;
	int rc;

	memset(&cli, 0, sizeof(cli));
	cli.plugin_dirs = calloc((size_t)argc + 1, sizeof(*cli.plugin_dirs));
	cli.args = calloc((size_t)argc + 1, sizeof(*cli.args));
	if (!cli.plugin_dirs || !cli.args)
		return 2;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			cli.help = 1;
		} else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
			cli.command = cli.command ? cli.command : "version";
		} else if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
			if (!need_value(argc, argv, i))
				goto usage_error;
			cli.config = argv[++i];
		} else if (strncmp(a, "--config=", 9) == 0) {
			cli.config = a + 9;
		} else if (strcmp(a, "--plugin-dir") == 0) {
			if (!need_value(argc, argv, i))
				goto usage_error;
			cli.plugin_dirs[cli.nplugin_dirs++] = argv[++i];
		} else if (strncmp(a, "--plugin-dir=", 13) == 0) {
			cli.plugin_dirs[cli.nplugin_dirs++] = a + 13;
		} else if (strcmp(a, "--log-level") == 0) {
			if (!need_value(argc, argv, i))
				goto usage_error;
			cli.log_level = argv[++i];
		} else if (strncmp(a, "--log-level=", 12) == 0) {
			cli.log_level = a + 12;
		} else if (strcmp(a, "--sink") == 0) {
			if (!need_value(argc, argv, i))
				goto usage_error;
			cli.sink = argv[++i];
		} else if (strncmp(a, "--sink=", 7) == 0) {
			if (!a[7]) {
				fprintf(stderr, "hlbridge: --sink needs a value (see 'hlbridge dlq --help')\n");
				goto usage_error;
			}
			cli.sink = a + 7;
		} else if (strcmp(a, "--location") == 0 || strcmp(a, "--tag") == 0 || strcmp(a, "--limit") == 0) {
			if (!need_value(argc, argv, i))
				goto usage_error;
			if (strcmp(a, "--location") == 0)
				cli.location = argv[++i];
			else if (strcmp(a, "--tag") == 0)
				cli.tag = argv[++i];
			else
				cli.limit = argv[++i];
		} else if (strcmp(a, "--format") == 0) {
			if (!need_value(argc, argv, i))
				goto usage_error;
			cli.format = argv[++i];
		} else if (strncmp(a, "--format=", 9) == 0) {
			cli.format = a + 9;
		} else if (strcmp(a, "--all") == 0) {
			cli.all = 1;
		} else if (strcmp(a, "--once") == 0) {
			cli.once = 1;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "hlbridge: unknown option '%s' (see 'hlbridge --help')\n", a);
			goto usage_error;
		} else if (!cli.command) {
			cli.command = a;
		} else if (!cli.subcommand && (strcmp(cli.command, "dlq") == 0 || strcmp(cli.command, "links") == 0)) {
			cli.subcommand = a;
		} else {
			cli.args[cli.nargs++] = a;
		}
	}
	if (cli.log_level) {
		hlb_log_level lvl;

		if (hc_log_parse_level(cli.log_level, &lvl) < 0) {
			fprintf(stderr, "hlbridge: --log-level must be error, warn, info or debug\n");
			goto usage_error;
		}
		hc_log_set_level(lvl);
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!cli.command)
		rc = cli.help ? show_help(NULL) : (fputs(usage, stderr), 2);
	else if (strcmp(cli.command, "help") == 0)
		rc = show_help(cli.nargs ? cli.args[0] : NULL);
	else if (cli.help || !is_command(cli.command))
		rc = show_help(cli.command);
	else if (!options_fit(&cli))
		rc = 2;
	else if (strcmp(cli.command, "version") == 0)
		rc = version();
	else if (strcmp(cli.command, "run") == 0)
		rc = hc_cmd_run(&cli);
	else if (strcmp(cli.command, "check") == 0)
		rc = hc_cmd_check(&cli);
	else if (strcmp(cli.command, "plugins") == 0)
		rc = hc_cmd_plugins(&cli);
	else if (strcmp(cli.command, "dlq") == 0)
		rc = hc_cmd_dlq(&cli);
	else if (strcmp(cli.command, "state") == 0)
		rc = hc_cmd_state(&cli);
	else if (strcmp(cli.command, "auth") == 0)
		rc = hc_cmd_auth(&cli);
	else if (strcmp(cli.command, "history") == 0)
		rc = hc_cmd_history(&cli);
	else if (strcmp(cli.command, "links") == 0)
		rc = hc_cmd_links(&cli);
	else if (strcmp(cli.command, "status") == 0)
		rc = hc_cmd_status(&cli);
	else
		rc = show_help(cli.command);
	curl_global_cleanup();
	hc_log_clear_secrets();
	free(cli.plugin_dirs);
	free(cli.args);
	return rc;
usage_error:
	free(cli.plugin_dirs);
	free(cli.args);
	return 2;
}
