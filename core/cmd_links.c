/* hlbridge links [list [OBJECT] | add LEFT RIGHT | remove LEFT RIGHT] -c FILE:
 * the links between objects of two systems that two-way sync keeps (a GHL
 * contact and the Octorate reservations it booked). The connectors fill
 * the table; add and remove are for an operator who knows better (a guest
 * booked under another e-mail). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "record.h"
#include "sync.h"

static void print_link(const hc_link *l, void *arg)
{
	char when[40];
	char *left = hc_cli_clean(l->left, 0), *right = hc_cli_clean(l->right, 0);
	char *info = l->info ? hc_cli_clean(l->info, 200) : NULL;

	(void)arg;
	hc_cli_iso_time(l->updated_ms, 0, when, sizeof(when));
	printf("%-54s %-40s %-20s  %-12s %s\n", left ? left : "?", right ? right : "?", when, l->instance,
	       info ? info : "");
	free(left);
	free(right);
	free(info);
}

static int usage(const char *why)
{
	fprintf(stderr, "hlbridge links: %s (see 'hlbridge links --help')\n", why);
	return 2;
}

int hc_cmd_links(const hc_cli *cli)
{
	const char *sub = cli->subcommand ? cli->subcommand : "list";
	int list = !strcmp(sub, "list"), add = !strcmp(sub, "add"), rm = !strcmp(sub, "remove");
	hc_loaded l;
	hc_store *s;
	int n = 0;

	if (!cli->config)
		return usage("which configuration? use -c FILE");
	if (!list && !add && !rm)
		return usage("the subcommand is list, add or remove");
	if (list ? cli->nargs > 1 : cli->nargs != 2)
		return usage(list ? "list takes at most one OBJECT" : "add and remove take LEFT and RIGHT");
	if (!list && !strcmp(cli->args[0], cli->args[1]))
		return usage("an object cannot be linked to itself");
	for (size_t i = 0; !list && i < 2; i++)
		if (!hc_sync_object_valid(cli->args[i])) {
			fprintf(stderr, "hlbridge links: '%s' is not an object name of the form SYSTEM:SCOPE:KIND:ID "
				"(ghl:LOCATION:contact:ID, octorate:ACCOMMODATION:reservation:ID)\n", cli->args[i]);
			return 2;
		}
	if (hc_cli_open_store(cli, &l, &s) < 0) {
		hc_cli_close_store(cli, &l, NULL);
		return 1;
	}
	if (add) {
		n = hc_store_link_put(s, "hlbridge links", cli->args[0], cli->args[1], NULL, hc_wall_ms());
		if (n == 0)
			printf("linked %s and %s\n", cli->args[0], cli->args[1]);
	} else if (rm) {
		n = hc_store_link_remove(s, cli->args[0], cli->args[1]);
		if (n == 0)
			fprintf(stderr, "hlbridge links: no link between %s and %s\n", cli->args[0], cli->args[1]);
		else if (n > 0)
			printf("removed the link between %s and %s\n", cli->args[0], cli->args[1]);
		n = n == 0 ? -2 : n > 0 ? 0 : -1;
	} else {
		printf("%-54s %-40s %-20s  %-12s %s\n", "LEFT", "RIGHT", "UPDATED (UTC)", "BY", "INFO");
		n = hc_store_link_each(s, cli->nargs ? cli->args[0] : NULL, print_link, NULL);
		if (n == 0)
			printf("(no links%s)\n", cli->nargs ? " of this object" : " yet");
	}
	if (n == -1)
		fprintf(stderr, "hlbridge links: %s\n", hc_store_error(s));
	hc_cli_close_store(cli, &l, s);
	return hc_cli_flush("hlbridge links", n < 0);
}
