/* hlbridge history -c FILE [--location ID] [--tag ID] [--limit N]: the
 * change history sources keep in the state store (ghl_tags: one row per
 * created, renamed or deleted tag), oldest first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "value.h"

#define DEFAULT_LIMIT 1000

static void print_row(const hc_history *h, void *arg)
{
	char when[40];
	char *row = hc_cli_clean(h->row, 400);

	(void)arg;
	hc_cli_iso_time(h->time_ms, 0, when, sizeof(when));
	printf("%-20s  %-12s %-20s %-24s %-8s %s\n", when, h->instance, h->scope, h->object, h->change,
	       row ? row : "?");
	free(row);
}

int hc_cmd_history(const hc_cli *cli)
{
	hc_loaded l;
	hc_store *s;
	int64_t limit = DEFAULT_LIMIT;
	int n;

	if (!cli->config) {
		fprintf(stderr, "hlbridge history: which configuration? use -c FILE\n");
		return 2;
	}
	if (cli->limit && (hc_parse_int(cli->limit, &limit) < 0 || limit < 1)) {
		fprintf(stderr, "hlbridge history: --limit takes a positive number\n");
		return 2;
	}
	if (hc_cli_open_store(cli, &l, &s) < 0) {
		hc_cli_close_store(cli, &l, NULL);
		return 1;
	}
	printf("%-20s  %-12s %-20s %-24s %-8s %s\n", "TIME (UTC)", "SOURCE", "LOCATION", "OBJECT", "CHANGE",
	       "DETAILS");
	n = hc_store_history_each(s, NULL, cli->location, cli->tag, limit, print_row, NULL);
	if (n < 0)
		fprintf(stderr, "hlbridge history: %s\n", hc_store_error(s));
	else if (n == 0)
		printf("(no history rows%s)\n", cli->location || cli->tag ? " match" : " yet");
	hc_cli_close_store(cli, &l, s);
	return hc_cli_flush("hlbridge history", n < 0);
}
