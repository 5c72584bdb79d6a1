/* hlbridge status -c FILE: asks the running daemon (at [service] listen)
 * for status.json and prints the summary the status page shows. A daemon
 * that does not answer gets the state database's queue counts instead. */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "cli.h"
#include "graph.h"
#include "status.h"
#include "store.h"

#define STATUS_MAX_BYTES (4 * 1024 * 1024)

struct body {
	char *p;
	size_t len;
	int overflow;
};

static size_t on_data(char *data, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t add = size * n;
	char *p;

	if (b->len + add > STATUS_MAX_BYTES) {
		b->overflow = 1;
		return 0;
	}
	if (!(p = realloc(b->p, b->len + add + 1)))
		return 0;
	memcpy(p + b->len, data, add);
	b->p = p;
	b->len += add;
	b->p[b->len] = '\0';
	return add;
}

/* status.json from http://ADDR/; NULL with why set when there is none. */
static struct json_object *fetch(const char *addr, char *why, size_t len)
{
	struct body b = { NULL, 0, 0 };
	char url[300], err[CURL_ERROR_SIZE] = "";
	CURL *c = curl_easy_init();
	long status = 0;
	CURLcode rc;
	struct json_object *o = NULL;

	if (!c) {
		snprintf(why, len, "out of memory");
		return NULL;
	}
	snprintf(url, sizeof(url), "http://%s/status.json", addr);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK)
		snprintf(why, len, "%s: %s", url, b.overflow ? "the answer is too large" :
			 *err ? err : curl_easy_strerror(rc));
	else if (status != 200)
		snprintf(why, len, "%s: HTTP %ld", url, status);
	else if (!(o = json_tokener_parse(b.p ? b.p : "")))
		snprintf(why, len, "%s: the answer is not JSON", url);
	free(b.p);
	return o;
}

/* The daemon is not answering: what the state database says. */
static int print_store(const hc_cli *cli)
{
	hc_loaded l;
	hc_store *s;
	int n = 0;

	if (hc_cli_open_store(cli, &l, &s) < 0) {
		hc_cli_close_store(cli, &l, NULL);
		return 1;
	}
	printf("queues in %s:\n", hc_store_path(s));
	for (size_t i = 0; i < l.graph->ninst; i++) {
		struct hlb_instance *inst = l.graph->inst[i];
		int64_t pending = 0, retrying = 0, dead = 0;

		if (inst->role != HLB_CAP_SINK)
			continue;
		if (hc_store_counts(s, inst->sec->name, &pending, &retrying, &dead) < 0) {
			n = -1;
			break;
		}
		printf("  %-30s %lld pending, %lld retrying, %lld dead\n", inst->sec->label,
		       (long long)pending, (long long)retrying, (long long)dead);
	}
	hc_cli_close_store(cli, &l, s);
	return n < 0 ? 1 : 0;
}

int hc_cmd_status(const hc_cli *cli)
{
	hc_loaded l;
	const char *addr;
	char why[600];
	struct json_object *o;
	hc_status st;
	int rc;

	if (!cli->config) {
		fprintf(stderr, "hlbridge status: which configuration? use -c FILE\n");
		return 2;
	}
	if (hc_cli_load(&l, cli) < 0 || !l.graph) {
		hc_cli_unload(&l);
		return 2;
	}
	addr = hc_service_option(l.graph, "listen");
	if (!addr) {
		hc_cli_unload(&l);
		fprintf(stderr, "hlbridge status: %s has no [service] listen, so a running hlbridge "
			"cannot be asked; showing the state database\n", cli->config);
		return print_store(cli) ? 1 : 3;
	}
	o = fetch(addr, why, sizeof(why));
	hc_cli_unload(&l);
	if (!o) {
		fprintf(stderr, "hlbridge status: no running hlbridge answers (%s); showing the state "
			"database\n", why);
		return print_store(cli) ? 1 : 3;
	}
	if (hc_status_from_json(o, &st) < 0) {
		json_object_put(o);
		fprintf(stderr, "hlbridge status: http://%s/status.json is not hlbridge's status\n", addr);
		return 1;
	}
	json_object_put(o);
	char *text = hc_status_text(&st);

	if (text)
		fputs(text, stdout);
	rc = !text ? 1 : st.healthy ? 0 : 1;
	free(text);
	hc_status_clear(&st);
	return rc;
}
