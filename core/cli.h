/* Command-line commands. */
#ifndef HC_CLI_H
#define HC_CLI_H

#include <stddef.h>

typedef struct hc_cli {
	const char *command;
	const char *config;      /* -c FILE */
	const char **plugin_dirs; /* --plugin-dir, in order */
	size_t nplugin_dirs;
	const char *format;      /* --format */
	const char *log_level;
	int once;
	int help;
	const char **args;       /* positional arguments after the command */
	size_t nargs;
} hc_cli;

int hc_cmd_run(const hc_cli *cli);
int hc_cmd_check(const hc_cli *cli);
int hc_cmd_plugins(const hc_cli *cli);

/* Shared by the commands: the built-in default plugin directory. */
const char *hc_default_plugin_dir(void);

#endif
