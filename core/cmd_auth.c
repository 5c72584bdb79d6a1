/* hlbridge auth login NAME -c FILE: the authorization-code flow of a
 * credential provider; hlbridge auth status -c FILE: what each [auth:]
 * section holds (expiry, whether it must be authorized again), never a
 * token. Both start the credentials alone, on the configuration's store. */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "auth.h"
#include "cli.h"
#include "engine.h"
#include "log.h"
#include "redirect.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

#define LOGIN_TIMEOUT_MS (10 * 60 * 1000) /* a person is reading and clicking */

struct auth_env {
	hc_loaded conf;
	hc_store *store;
	hc_loop *loop;
	hc_http *http;
	hc_engine *engine;
};

static void env_close(struct auth_env *a)
{
	hc_engine_free(a->engine);
	hc_store_close(a->store);
	hc_http_free(a->http);
	hc_loop_free(a->loop);
	hc_cli_unload(&a->conf);
}

/* Loads FILE, opens its store and starts the [auth:] instances. With
 * `inspect`, a store that does not exist yet is not created (one in memory
 * stands in) and *no_store says so. */
static int env_open(struct auth_env *a, const hc_cli *cli, int inspect, int *no_store)
{
	const char *dir;
	char err[1024];
	int rc;

	memset(a, 0, sizeof(*a));
	if (hc_cli_load(&a->conf, cli) < 0)
		return -1;
	dir = hc_state_dir(a->conf.graph);
	if (inspect && !hc_cli_store_exists(NULL, dir, 1)) {
		dir = ":memory:";
		*no_store = 1;
	}
	if (hc_store_open(dir, &a->store, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", cli->config, err);
		return -1;
	}
	a->loop = hc_loop_new();
	a->http = a->loop ? hc_http_new(a->loop, PACKAGE_VERSION) : NULL;
	a->engine = a->http ? hc_engine_new(a->conf.graph, a->loop, a->http, a->store) : NULL;
	if (!a->engine) {
		fprintf(stderr, "hlbridge: out of memory\n");
		return -1;
	}
	rc = hc_engine_init_roles(a->engine, &a->conf.diag, HLB_CAP_AUTH);
	hc_diag_print(&a->conf.diag);
	hc_diag_clear(&a->conf.diag);
	return rc;
}

static void list_auth(const hc_graph *g, FILE *out)
{
	size_t n = 0;

	for (size_t i = 0; i < g->ninst; i++)
		if (g->inst[i]->role == HLB_CAP_AUTH)
			fprintf(out, "%s%s", n++ ? ", " : " (it has: ", g->inst[i]->sec->name);
	fputs(n ? ")\n" : " (it has no [auth:] section)\n", out);
}

/* 32 hex digits from the kernel: the `state` that ties the redirect to
 * this login, so that no other page can feed us a code. */
static int make_csrf(char out[33])
{
	unsigned char raw[16];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, raw, sizeof(raw)) : -1;

	if (fd >= 0)
		close(fd);
	if (n != (ssize_t)sizeof(raw))
		return -1;
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
	return 0;
}

static int login(const hc_cli *cli)
{
	struct auth_env a;
	struct hlb_instance *inst;
	hc_redirect *r = NULL;
	char csrf[33], url[4096], err[1024], *code = NULL;
	const char *name = cli->args[1], *redirect, *message;
	int rc = 1;

	if (env_open(&a, cli, 0, NULL) < 0 && !a.engine)
		goto out;
	if (strcmp(hc_store_path(a.store), ":memory:") == 0) {
		fprintf(stderr, "%s: [service] state_dir = :memory: would lose the tokens at exit: set a "
			"state directory\n", cli->config);
		goto out;
	}
	inst = hc_auth_find(a.conf.graph, name);
	if (!inst) {
		fprintf(stderr, "%s: no [auth:%s] section", cli->config, name);
		list_auth(a.conf.graph, stderr);
		goto out;
	}
	if (!inst->inited)
		goto out; /* its errors were printed */
	if (!inst->mod->desc->auth_url || !inst->mod->desc->auth_exchange) {
		fprintf(stderr, "%s: [auth:%s] (type %s) needs no login: its secret comes from the configuration\n",
			cli->config, name, inst->mod->desc->name);
		goto out;
	}
	redirect = hc_instance_option(inst, "redirect_uri");
	if (make_csrf(csrf) < 0) {
		fprintf(stderr, "hlbridge: cannot read /dev/urandom\n");
		goto out;
	}
	/* listen before showing the URL: the redirect may come at once */
	if (hc_redirect_listen(redirect, &r, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: [auth:%s] %s\n", cli->config, name, err);
		goto out;
	}
	if (inst->mod->desc->auth_url(inst->state, redirect, csrf, url, sizeof(url)) != HLB_OK) {
		fprintf(stderr, "%s: [auth:%s] cannot build the authorization URL\n", cli->config, name);
		goto out;
	}
	printf("Open this URL in a browser and approve the app:\n%s\n\nWaiting for the redirect on %s ...\n",
	       url, redirect);
	fflush(stdout);
	if (hc_redirect_wait(r, csrf, LOGIN_TIMEOUT_MS, &code, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: [auth:%s] %s\n", cli->config, name, err);
		goto out;
	}
	hc_redirect_close(r);
	r = NULL;
	hc_log_add_secret(code);
	rc = hc_engine_auth_exchange(a.engine, inst, code, redirect, &message);
	if (rc == HLB_OK) {
		printf("[auth:%s] %s\n", name, message ? message : "authorized");
		rc = 0;
	} else {
		fprintf(stderr, "%s: [auth:%s] the code exchange failed: %s\n", cli->config, name,
			message ? message : hc_host_table()->strerror(rc));
		rc = 1;
	}
out:
	free(code);
	hc_redirect_close(r);
	env_close(&a);
	return hc_cli_flush("hlbridge auth", rc);
}

static void print_value(const char *key, struct json_object *v)
{
	const char *text = json_object_is_type(v, json_type_string) ? json_object_get_string(v)
			   : json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
	char *clean = hc_cli_clean(text ? text : "null", 200);

	printf("  %-16s %s\n", key, clean ? clean : "?");
	free(clean);
}

/* Exit 1 when a credential did not start or must be authorized again. */
static int status(const hc_cli *cli)
{
	struct auth_env a;
	int bad = 0, n = 0, no_store = 0;

	/* looking must not create a database: without one, nothing is stored */
	if (env_open(&a, cli, 1, &no_store) < 0 && !a.engine) {
		env_close(&a);
		return 1;
	}
	for (size_t i = 0; i < a.conf.graph->ninst; i++) {
		struct hlb_instance *inst = a.conf.graph->inst[i];
		struct json_object *st;

		if (inst->role != HLB_CAP_AUTH)
			continue;
		printf("%s%s (type %s)\n", n++ ? "\n" : "", inst->sec->label,
		       inst->mod ? inst->mod->desc->name : "?");
		if (!inst->inited) {
			printf("  %-16s %s\n", "error", "did not start (see the messages above)");
			bad = 1;
			continue;
		}
		st = inst->mod->desc->auth_status ? inst->mod->desc->auth_status(inst->state) : NULL;
		if (st && json_object_is_type(st, json_type_object)) {
			json_object_object_foreach(st, key, v)
				print_value(key, v);
			struct json_object *nl;
			if (json_object_object_get_ex(st, "needs_login", &nl) && json_object_get_boolean(nl))
				bad = 1;
		} else {
			printf("  %-16s %s\n", "status", "(the provider reports nothing)");
		}
		json_object_put(st);
	}
	if (!n)
		printf("%s has no [auth:] section\n", cli->config);
	if (no_store)
		printf("%s(no state database yet: nothing has been authorized or stored)\n", n ? "\n" : "");
	env_close(&a);
	return hc_cli_flush("hlbridge auth", bad);
}

int hc_cmd_auth(const hc_cli *cli)
{
	const char *sub = cli->nargs ? cli->args[0] : NULL;

	if (!cli->config) {
		fprintf(stderr, "hlbridge auth: which configuration? use -c FILE\n");
		return 2;
	}
	if (sub && strcmp(sub, "login") == 0) {
		if (cli->nargs != 2) {
			fprintf(stderr, "hlbridge auth login: name one [auth:NAME] section: hlbridge auth login NAME "
				"-c FILE\n");
			return 2;
		}
		return login(cli);
	}
	if (sub && strcmp(sub, "status") == 0 && cli->nargs == 1)
		return status(cli);
	fprintf(stderr, "hlbridge auth: expected 'login NAME' or 'status' (see 'hlbridge auth --help')\n");
	return 2;
}
