/* Turns a parsed configuration into a graph of instances and routes, and
 * reports every problem with its file and line before anything runs. */
#include "graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jpath.h"
#include "log.h"
#include "value.h"

#define DEFAULT_INTERVAL "1m"
#define DEFAULT_BATCH "100"
#define MIN_INTERVAL_MS 100

/* Keys the host itself reads in instance sections. */
static const hlb_option host_source_opts[] = {
	{ "plugin", HLB_OPT_STRING, NULL, HLB_OPT_REQUIRED, "the plugin this instance runs", NULL },
	{ "interval", HLB_OPT_DURATION, DEFAULT_INTERVAL, 0, "source: time between polls (with 10% jitter)", NULL },
	{ NULL, 0, NULL, 0, NULL, NULL }
};
static const hlb_option host_transform_opts[] = {
	{ "plugin", HLB_OPT_STRING, NULL, HLB_OPT_REQUIRED, "the plugin this instance runs", NULL },
	{ NULL, 0, NULL, 0, NULL, NULL }
};
static const hlb_option host_sink_opts[] = {
	{ "plugin", HLB_OPT_STRING, NULL, HLB_OPT_REQUIRED, "the plugin this instance runs", NULL },
	{ "batch", HLB_OPT_INT, DEFAULT_BATCH, 0, "sink: records per delivery (1-10000)", NULL },
	{ "retry_base", HLB_OPT_DURATION, "1s", 0, "sink: the first retry waits up to this long (full jitter)", NULL },
	{ "retry_max", HLB_OPT_DURATION, "5m", 0, "sink: no retry waits longer, unless Retry-After says so", NULL },
	{ "retry_limit", HLB_OPT_INT, "10", 0, "sink: retries before a record fails (0-1000)", NULL },
	{ NULL, 0, NULL, 0, NULL, NULL }
};
static const hlb_option host_auth_opts[] = {
	{ "type", HLB_OPT_STRING, NULL, HLB_OPT_REQUIRED, "the credential provider (a plugin, e.g. ghl_oauth)", NULL },
	{ "redirect_uri", HLB_OPT_STRING, "http://127.0.0.1:8976/callback", 0,
	  "auth: where 'hlbridge auth login' receives the authorization code (loopback)", NULL },
	{ NULL, 0, NULL, 0, NULL, NULL }
};
static const hlb_option service_opts[] = {
	{ "plugin_dir", HLB_OPT_LIST, NULL, 0, "directories to load plugins from", NULL },
	{ "log_level", HLB_OPT_ENUM, "info", 0, "error, warn, info or debug", "error|warn|info|debug" },
	{ "drain_timeout", HLB_OPT_DURATION, "10s", 0, "how long a stop waits for in-flight records", NULL },
	{ "state_dir", HLB_OPT_PATH, NULL, 0,
	  "directory of the state database (queues, checkpoints, dead letters); :memory: keeps none", NULL },
	{ "listen", HLB_OPT_STRING, NULL, 0,
	  "HOST:PORT of the HTTP listener (webhooks, /health, /ready, /metrics, status page); unset: none", NULL },
	{ "listen_connections", HLB_OPT_INT, "512", 0, "listener: connections at once (1-65535)", NULL },
	{ "listen_timeout", HLB_OPT_DURATION, "10s", 0, "listener: a request must arrive whole within this (slow or idle connections are closed)", NULL },
	{ "webhook_max_body", HLB_OPT_INT, "1048576", 0, "listener: largest request body in bytes (larger: 413)", NULL },
	{ "ghl_webhook_key", HLB_OPT_LIST, NULL, 0,
	  "GHL's Ed25519 webhook keys (X-GHL-Signature): PEM files or base64 SPKI; unset: GHL's published key", NULL },
	{ "ghl_webhook_legacy", HLB_OPT_BOOL, "off", 0,
	  "accept GHL's legacy RSA X-WH-Signature when X-GHL-Signature is absent", NULL },
	{ "ghl_webhook_rsa_key", HLB_OPT_LIST, NULL, 0, "GHL's RSA webhook keys (PEM files or base64 SPKI), for ghl_webhook_legacy", NULL },
	{ "webhook_window", HLB_OPT_DURATION, "5m", 0, "GHL deliveries whose timestamp is further from now are refused", NULL },
	{ "webhook_queue_limit", HLB_OPT_INT, "100000", 0,
	  "records waiting for a sink above which webhooks are refused (GHL: 429) until it drains", NULL },
	{ "octorate_webhook_secret", HLB_OPT_STRING, NULL, HLB_OPT_SECRET,
	  "the unguessable last part of POST /webhooks/octorate/SECRET (16+ characters); unset: no Octorate intake", NULL },
	{ "health_failing_after", HLB_OPT_DURATION, "5m", 0,
	  "/health turns 503 when a sink has failed for this long, or the dead-letter queue grew within it", NULL },
	{ NULL, 0, NULL, 0, NULL, NULL }
};
static const hlb_option route_opts[] = {
	{ "from", HLB_OPT_STRING, NULL, HLB_OPT_REQUIRED, "a source, route:NAME to take that route's output, or a sink whose plugin gives results", NULL },
	{ "via", HLB_OPT_LIST, NULL, 0, "transforms, applied in order", NULL },
	{ "to", HLB_OPT_LIST, NULL, 0, "sinks that receive every record", NULL },
	{ NULL, 0, NULL, 0, NULL, NULL }
};

static const hlb_option *host_opts(uint32_t role)
{
	return role == HLB_CAP_SOURCE ? host_source_opts
	       : role == HLB_CAP_SINK ? host_sink_opts
	       : role == HLB_CAP_AUTH ? host_auth_opts : host_transform_opts;
}

static const hlb_option *find_in(const hlb_option *table, const char *key);

const char *hc_service_option(const hc_graph *g, const char *key)
{
	const char *v = hc_section_value(hc_config_find(g->cfg, HC_SERVICE, NULL), key);
	const hlb_option *o;

	if (v)
		return v;
	o = find_in(service_opts, key);
	return o ? o->default_value : NULL;
}

const hlb_option *hc_host_options(uint32_t role)
{
	return host_opts(role);
}

const hlb_option *hc_find_option(const hlb_option *table, const char *key)
{
	for (const hlb_option *o = table; o && o->key; o++) {
		if (o->flags & HLB_OPT_PREFIX) {
			size_t n = strlen(o->key);

			if (strncmp(key, o->key, n) == 0 && key[n])
				return o;
		} else if (strcmp(key, o->key) == 0) {
			return o;
		}
	}
	return NULL;
}

static const hlb_option *find_in(const hlb_option *table, const char *key)
{
	for (const hlb_option *o = table; o && o->key; o++)
		if (strcmp(o->key, key) == 0)
			return o;
	return NULL;
}

const char *hc_instance_option(struct hlb_instance *inst, const char *key)
{
	const char *v = hc_section_value(inst->sec, key);
	const hlb_option *o;

	if (v)
		return v;
	/* A plugin's own default wins over the host's for shared keys. */
	o = hc_find_option(inst->mod ? inst->mod->options : NULL, key);
	if (o && !(o->flags & HLB_OPT_PREFIX))
		return o->default_value;
	o = find_in(host_opts(inst->role), key);
	return o ? o->default_value : NULL;
}

/* ---- "did you mean" ----------------------------------------------------- */

static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64];

	if (la >= 63 || lb >= 63)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

static void consider(const char *key, const char *cand, const char **best, size_t *bestd)
{
	size_t d = distance(key, cand);

	if (d < *bestd) {
		*bestd = d;
		*best = cand;
	}
}

static const char *suggest(const char *key, const hlb_option *a, const hlb_option *b)
{
	const char *best = NULL;
	size_t bestd = strlen(key) <= 4 ? 2 : 3;

	for (const hlb_option *o = a; o && o->key; o++)
		consider(key, o->key, &best, &bestd);
	for (const hlb_option *o = b; o && o->key; o++)
		consider(key, o->key, &best, &bestd);
	return best;
}

/* "from, via, to": the keys of a host-defined section, for messages. */
static void key_list(const hlb_option *table, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = 0;
	for (const hlb_option *o = table; o && o->key && n < len; o++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "", o->key);
}

/* `plugin` is NULL for the host's own sections ([service], routes). */
static void unknown_key(hc_diag *d, const char *file, hc_section *sec, hc_kv *kv,
			const hlb_option *a, const hlb_option *b, const char *owner,
			const char *plugin)
{
	const char *s = suggest(kv->key, a, b);
	char known[256];

	if (s) {
		hc_diag_error(d, file, kv->line, "[%s] unknown option '%s' for %s; did you mean '%s'?",
			      sec->label, kv->key, owner, s);
	} else if (plugin) {
		hc_diag_error(d, file, kv->line,
			      "[%s] unknown option '%s' for %s (see 'hlbridge plugins %s')",
			      sec->label, kv->key, owner, plugin);
	} else {
		key_list(a, known, sizeof(known));
		hc_diag_error(d, file, kv->line, "[%s] unknown option '%s' for %s (known: %s)",
			      sec->label, kv->key, owner, known);
	}
}

/* ---- checks ------------------------------------------------------------- */

static void check_value(hc_diag *d, const char *file, hc_section *sec, hc_kv *kv, const hlb_option *o)
{
	char err[256];

	if (o->flags & HLB_OPT_SECRET)
		hc_log_add_secret(kv->value);
	if (hc_check_value(o, kv->value, err, sizeof(err)) < 0) {
		/* err says what was expected, never the value: it may be secret */
		hc_diag_error(d, file, kv->line, "[%s] %s: %s", sec->label, kv->key, err);
		return;
	}
	if (o->type == HLB_OPT_JSONPATH) {
		hlb_path *p = hc_jpath_compile(kv->value, err, sizeof(err));

		if (!p)
			hc_diag_error(d, file, kv->line, "[%s] %s: %s", sec->label, kv->key, err);
		hc_jpath_free(p);
	}
}

static void check_service(hc_graph *g, hc_section *sec, hc_diag *d)
{
	const char *file = g->cfg->file;

	for (size_t i = 0; i < sec->nkv; i++) {
		hc_kv *kv = &sec->kv[i];
		const hlb_option *o = find_in(service_opts, kv->key);

		if (!o) {
			unknown_key(d, file, sec, kv, service_opts, NULL, "[service]", NULL);
			continue;
		}
		check_value(d, file, sec, kv, o);
	}
	g->state_dir = hc_section_value(sec, "state_dir");
	const char *v = hc_section_value(sec, "drain_timeout");
	if (v)
		hc_parse_duration_ms(v, &g->drain_timeout_ms);
	v = hc_section_value(sec, "log_level");
	hlb_log_level lvl;
	if (v && hc_log_parse_level(v, &lvl) == 0)
		hc_log_set_level(lvl);
}

static void add_dir(const char *item, size_t len, void *arg)
{
	char buf[4096];

	if (len >= sizeof(buf))
		return;
	memcpy(buf, item, len);
	buf[len] = 0;
	hc_loader_add_dir(arg, buf);
}

static const char *role_name(uint32_t role)
{
	return role == HLB_CAP_SOURCE ? "source" : role == HLB_CAP_SINK ? "sink"
	       : role == HLB_CAP_AUTH ? "auth" : "transform";
}

/* A sink's retry policy; values that do not parse were reported already. */
static void check_retry(hc_diag *d, const char *file, struct hlb_instance *inst)
{
	hc_retry_policy *p = &inst->retry;
	hc_kv *kv;

	hc_parse_duration_ms(hc_instance_option(inst, "retry_base"), &p->base_ms);
	hc_parse_duration_ms(hc_instance_option(inst, "retry_max"), &p->max_ms);
	if (hc_parse_int(hc_instance_option(inst, "retry_limit"), &p->limit) == 0 &&
	    (p->limit < 0 || p->limit > 1000)) {
		kv = hc_section_get(inst->sec, "retry_limit");
		hc_diag_error(d, file, kv ? kv->line : inst->sec->line, "[%s] retry_limit must be 0 to 1000",
			      inst->sec->label);
	}
	if (p->max_ms < p->base_ms) {
		kv = hc_section_get(inst->sec, "retry_max");
		hc_diag_error(d, file, kv ? kv->line : inst->sec->line,
			      "[%s] retry_max must not be shorter than retry_base", inst->sec->label);
	}
}

static struct hlb_instance *check_section(hc_graph *g, hc_section *sec, hc_loader *loader, hc_diag *d);

/* An instance whose own section has errors is not started; the others are,
 * so that the errors their plugins find are reported in the same run. */
static struct hlb_instance *check_instance(hc_graph *g, hc_section *sec, hc_loader *loader, hc_diag *d)
{
	unsigned before = d->errors;
	struct hlb_instance *inst = check_section(g, sec, loader, d);

	if (inst)
		inst->invalid = d->errors > before || !inst->mod;
	return inst;
}

static struct hlb_instance *check_section(hc_graph *g, hc_section *sec, hc_loader *loader, hc_diag *d)
{
	const char *file = g->cfg->file;
	struct hlb_instance *inst = calloc(1, sizeof(*inst));
	uint32_t role = sec->kind == HC_SOURCE ? HLB_CAP_SOURCE
			: sec->kind == HC_SINK ? HLB_CAP_SINK
			: sec->kind == HC_AUTH ? HLB_CAP_AUTH : HLB_CAP_TRANSFORM;
	/* a credential names its provider with `type`, an instance its plugin */
	const char *pkey = role == HLB_CAP_AUTH ? "type" : "plugin";
	hc_kv *pk = hc_section_get(sec, pkey);
	char err[1024];

	if (!inst)
		return NULL;
	inst->sec = sec;
	inst->file = file;
	inst->role = role;
	inst->state_name = role == HLB_CAP_AUTH ? sec->label : sec->name;
	inst->diag = d;
	if (!pk) {
		hc_diag_error(d, file, sec->line, "[%s] has no '%s = NAME' (see 'hlbridge plugins')",
			      sec->label, pkey);
		return inst;
	}
	inst->mod = hc_loader_get(loader, pk->value, err, sizeof(err));
	if (!inst->mod) {
		hc_diag_error(d, file, pk->line, "[%s] %s", sec->label, err);
		return inst;
	}
	const hlb_plugin *p = inst->mod->desc;
	if (!(p->caps & role)) {
		char caps[64];

		hc_caps_text(p->caps, caps, sizeof(caps));
		if (role == HLB_CAP_AUTH)
			hc_diag_error(d, file, pk->line, "[%s] type: plugin '%s' is no credential provider (it is: %s)",
				      sec->label, p->name, caps);
		else
			hc_diag_error(d, file, pk->line, "[%s] plugin '%s' cannot be a %s (it is: %s)",
				      sec->label, p->name, role_name(role), caps);
		return inst;
	}
	for (size_t i = 0; i < sec->nkv; i++) {
		hc_kv *kv = &sec->kv[i];
		const hlb_option *o = hc_find_option(inst->mod->options, kv->key);

		if (!o)
			o = find_in(host_opts(role), kv->key);
		if (!o) {
			char owner[96];

			snprintf(owner, sizeof(owner), "plugin %s", p->name);
			unknown_key(d, file, sec, kv, inst->mod->options, host_opts(role), owner, p->name);
			continue;
		}
		check_value(d, file, sec, kv, o);
	}
	for (const hlb_option *o = inst->mod->options; o->key; o++)
		if ((o->flags & HLB_OPT_REQUIRED) && !(o->flags & HLB_OPT_PREFIX) &&
		    !hc_section_get(sec, o->key))
			hc_diag_error(d, file, sec->line, "[%s] plugin %s needs '%s' (%s)",
				      sec->label, p->name, o->key, o->help ? o->help : "required");
	if (role == HLB_CAP_SOURCE &&
	    hc_parse_duration_ms(hc_instance_option(inst, "interval"), &inst->interval_ms) == 0 &&
	    inst->interval_ms < MIN_INTERVAL_MS) {
		hc_kv *kv = hc_section_get(sec, "interval");

		/* polling in a tight loop helps nobody and burns API quota */
		hc_diag_error(d, file, kv ? kv->line : sec->line, "[%s] interval must be at least 100ms",
			      sec->label);
	}
	if (role == HLB_CAP_SINK) {
		int64_t b = 0;

		/* a value that is no integer was reported above */
		if (hc_parse_int(hc_instance_option(inst, "batch"), &b) < 0)
			b = 1;
		if (b < 1 || b > 10000) {
			hc_kv *kv = hc_section_get(sec, "batch");

			hc_diag_error(d, file, kv ? kv->line : sec->line, "[%s] batch must be 1 to 10000", sec->label);
			b = 1;
		}
		inst->batch = (size_t)b;
		check_retry(d, file, inst);
	}
	return inst;
}

static struct hlb_instance *find_instance(hc_graph *g, const char *name, uint32_t role)
{
	for (size_t i = 0; i < g->ninst; i++)
		if (strcmp(g->inst[i]->sec->name, name) == 0 && g->inst[i]->role == role)
			return g->inst[i];
	return NULL;
}

static struct hlb_instance *find_any(hc_graph *g, const char *name)
{
	for (size_t i = 0; i < g->ninst; i++)
		if (strcmp(g->inst[i]->sec->name, name) == 0)
			return g->inst[i];
	return NULL;
}

struct list_ctx {
	hc_graph *g;
	hc_route *r;
	hc_kv *kv;
	hc_diag *d;
	uint32_t role;
};

static void add_member(const char *item, size_t len, void *arg)
{
	struct list_ctx *c = arg;
	char name[256];
	struct hlb_instance *inst, ***arr;
	size_t *n;

	if (len >= sizeof(name))
		len = sizeof(name) - 1;
	memcpy(name, item, len);
	name[len] = 0;
	inst = find_instance(c->g, name, c->role);
	if (!inst) {
		struct hlb_instance *other = find_any(c->g, name);

		if (other)
			hc_diag_error(c->d, c->g->cfg->file, c->kv->line,
				      "[%s] %s: '%s' is a %s, not a %s", c->r->sec->label, c->kv->key,
				      name, role_name(other->role), role_name(c->role));
		else
			hc_diag_error(c->d, c->g->cfg->file, c->kv->line,
				      "[%s] %s: no [%s:%s] section", c->r->sec->label, c->kv->key,
				      role_name(c->role), name);
		return;
	}
	arr = c->role == HLB_CAP_SINK ? &c->r->to : &c->r->via;
	n = c->role == HLB_CAP_SINK ? &c->r->nto : &c->r->nvia;
	for (size_t i = 0; i < *n; i++)
		if ((*arr)[i] == inst) {
			hc_diag_error(c->d, c->g->cfg->file, c->kv->line,
				      c->role == HLB_CAP_SINK ? "[%s] %s: '%s' is listed twice"
				      : "[%s] %s: '%s' is listed twice, which would make a cycle",
				      c->r->sec->label, c->kv->key, name);
			return;
		}
	struct hlb_instance **grown = realloc(*arr, (*n + 1) * sizeof(**arr));
	if (!grown)
		return;
	*arr = grown;
	(*arr)[(*n)++] = inst;
}

static hc_route *find_route(hc_graph *g, const char *name)
{
	for (size_t i = 0; i < g->nroutes; i++)
		if (strcmp(g->routes[i].name, name) == 0)
			return &g->routes[i];
	return NULL;
}

static void check_route(hc_graph *g, hc_route *r, hc_diag *d)
{
	const char *file = g->cfg->file;
	hc_section *sec = r->sec;
	struct list_ctx c = { g, r, NULL, d, 0 };

	for (size_t i = 0; i < sec->nkv; i++)
		if (!find_in(route_opts, sec->kv[i].key))
			unknown_key(d, file, sec, &sec->kv[i], route_opts, NULL, "routes", NULL);
	hc_kv *from = hc_section_get(sec, "from");
	if (!from) {
		hc_diag_error(d, file, sec->line, "[%s] has no 'from = SOURCE'", sec->label);
	} else if (strncmp(from->value, "route:", 6) == 0) {
		r->from_route = find_route(g, from->value + 6);
		if (!r->from_route)
			hc_diag_error(d, file, from->line, "[%s] from: no [%s] section", sec->label, from->value);
		else if (r->from_route == r) {
			hc_diag_error(d, file, from->line, "[%s] from: a route cannot read its own output (cycle)",
				      sec->label);
			r->from_route = NULL; /* reported: not a cycle again below */
		}
	} else {
		r->from = find_instance(g, from->value, HLB_CAP_SOURCE);
		if (!r->from) {
			struct hlb_instance *other = find_any(g, from->value);

			if (other && other->role == HLB_CAP_SINK && other->mod &&
			    (other->mod->desc->caps & HLB_CAP_RESULTS))
				r->from = other; /* the results of that sink */
			else if (other && other->role == HLB_CAP_SINK && other->mod)
				hc_diag_error(d, file, from->line, "[%s] from: sink '%s' (plugin %s) gives no "
					      "results: a route reads from a source, a route:NAME, or a sink "
					      "whose plugin gives results (such as ghl)", sec->label, from->value,
					      other->mod->desc->name);
			else if (other && other->role == HLB_CAP_SINK)
				; /* its plugin did not load: reported with its section */
			else if (other)
				hc_diag_error(d, file, from->line, "[%s] from: '%s' is a %s, not a source",
					      sec->label, from->value, role_name(other->role));
			else
				hc_diag_error(d, file, from->line, "[%s] from: no [source:%s] section",
					      sec->label, from->value);
		}
	}
	c.kv = hc_section_get(sec, "via");
	c.role = HLB_CAP_TRANSFORM;
	if (c.kv)
		hc_list_each(c.kv->value, add_member, &c);
	c.kv = hc_section_get(sec, "to");
	c.role = HLB_CAP_SINK;
	if (c.kv && hc_list_each(c.kv->value, add_member, &c) == 0)
		hc_diag_error(d, file, c.kv->line, "[%s] to: names no sink", sec->label);
}

/* Routes chained with from = route:NAME must not loop back on themselves. */
static void check_cycles(hc_graph *g, hc_diag *d)
{
	for (size_t i = 0; i < g->nroutes; i++) {
		hc_route *r = &g->routes[i];
		size_t steps = 0;

		/* A walk that does not come back to r but goes on too long
		 * has entered a cycle further up: that cycle's own routes
		 * report it, and the first of them breaks it. */
		for (hc_route *p = r->from_route; p && ++steps <= g->nroutes; p = p->from_route) {
			if (p == r) {
				hc_diag_error(d, g->cfg->file, hc_section_get(r->sec, "from")->line,
					      "[%s] from: the routes chained through 'from = route:…' form a cycle",
					      r->sec->label);
				r->from_route = NULL; /* keep later walks finite */
				break;
			}
		}
	}
	for (size_t i = 0; i < g->nroutes; i++) {
		hc_route *r = &g->routes[i], *p = r->from_route;

		if (!p)
			continue;
		hc_route **c = realloc(p->children, (p->nchildren + 1) * sizeof(*c));
		if (!c)
			continue;
		p->children = c;
		p->children[p->nchildren++] = r;
	}
	for (size_t i = 0; i < g->nroutes; i++) {
		hc_route *r = &g->routes[i];

		if (!r->nto && !r->nchildren && !hc_section_get(r->sec, "to"))
			hc_diag_error(d, g->cfg->file, r->sec->line,
				      "[%s] has no 'to = SINK' and no route reads from it", r->sec->label);
	}
}

/* "auth = NAME" options: the section must exist and be of a type the
 * option accepts (its `choices`). */
static void check_auth_refs(hc_graph *g, hc_diag *d)
{
	for (size_t i = 0; i < g->ninst; i++) {
		struct hlb_instance *inst = g->inst[i];

		if (!inst->mod || inst->role == HLB_CAP_AUTH)
			continue;
		for (const hlb_option *o = inst->mod->options; o->key; o++) {
			/* a declared default names a credential too */
			const char *name = o->type == HLB_OPT_AUTH ? hc_instance_option(inst, o->key) : NULL;
			hc_kv *kv = name ? hc_section_get(inst->sec, o->key) : NULL;
			unsigned line = kv ? kv->line : inst->sec->line;
			struct hlb_instance *a;

			if (!name)
				continue;
			a = find_instance(g, name, HLB_CAP_AUTH);
			if (!a) {
				hc_diag_error(d, g->cfg->file, line, "[%s] %s: no [auth:%s] section",
					      inst->sec->label, o->key, name);
				continue;
			}
			a->referenced = 1;
			if (a->mod && o->choices && !hc_in_choices(o->choices, a->mod->desc->name))
				hc_diag_error(d, g->cfg->file, line,
					      "[%s] %s: [auth:%s] is of type %s, but plugin %s needs one of %s",
					      inst->sec->label, o->key, name, a->mod->desc->name,
					      inst->mod->desc->name, o->choices);
		}
	}
}

static void check_unused(hc_graph *g, hc_diag *d)
{
	for (size_t i = 0; i < g->ninst; i++) {
		struct hlb_instance *inst = g->inst[i];
		int used = inst->referenced;

		for (size_t j = 0; j < g->nroutes && !used; j++) {
			hc_route *r = &g->routes[j];

			used = r->from == inst;
			for (size_t k = 0; k < r->nvia && !used; k++)
				used = r->via[k] == inst;
			for (size_t k = 0; k < r->nto && !used; k++)
				used = r->to[k] == inst;
		}
		if (!used)
			hc_diag_warn(d, g->cfg->file, inst->sec->line,
				     inst->role == HLB_CAP_AUTH ? "[%s] is not used by any instance"
				     : "[%s] is not used by any route", inst->sec->label);
	}
}

static void add_reach(struct hlb_instance *src, struct hlb_instance *sink)
{
	for (size_t i = 0; i < src->nreach; i++)
		if (src->reach[i] == sink)
			return;
	struct hlb_instance **r = realloc(src->reach, (src->nreach + 1) * sizeof(*r));
	if (!r)
		return;
	src->reach = r;
	src->reach[src->nreach++] = sink;
}

static void collect_reach(struct hlb_instance *src, hc_route *r, size_t depth)
{
	if (depth > 64)
		return;
	for (size_t i = 0; i < r->nto; i++)
		add_reach(src, r->to[i]);
	for (size_t i = 0; i < r->nchildren; i++)
		collect_reach(src, r->children[i], depth + 1);
}

static void wire_sources(hc_graph *g)
{
	for (size_t i = 0; i < g->nroutes; i++) {
		hc_route *r = &g->routes[i];
		struct hlb_instance *src = r->from;

		if (!src)
			continue;
		hc_route **rs = realloc(src->routes, (src->nroutes + 1) * sizeof(*rs));
		if (!rs)
			continue;
		src->routes = rs;
		src->routes[src->nroutes++] = r;
		collect_reach(src, r, 0);
	}
	/* A source also feeds the sinks that the results of its sinks reach:
	 * the memory-queue backpressure and the webhook queue bound count
	 * them, after its own sinks. (reach grows as it is walked; results
	 * cycles are refused, and add_reach adds a sink once.) */
	for (size_t i = 0; i < g->ninst; i++) {
		struct hlb_instance *src = g->inst[i];

		if (src->role != HLB_CAP_SOURCE)
			continue;
		src->ndirect = src->nreach;
		for (size_t k = 0; k < src->nreach; k++) {
			struct hlb_instance *s = src->reach[k];

			for (size_t m = 0; s->nroutes && m < s->nreach; m++)
				add_reach(src, s->reach[m]);
		}
	}
}

/* 1 when the results of `from` come back to it through the routes
 * reading sinks' results: a walk over the sinks they reach, each once. */
static int results_come_back(const hc_graph *g, const struct hlb_instance *from)
{
	const struct hlb_instance **seen = calloc(g->ninst + 1, sizeof(*seen));
	size_t nseen = 0, next = 0;
	int back = 0;

	if (!seen)
		return 0;
	seen[nseen++] = from;
	for (; next < nseen && !back; next++) {
		const struct hlb_instance *s = seen[next];

		for (size_t i = 0; i < s->nreach && !back; i++) {
			const struct hlb_instance *t = s->reach[i];
			size_t k = 0;

			back = t == from;
			while (k < nseen && seen[k] != t)
				k++;
			if (k == nseen && t->nroutes && nseen < g->ninst)
				seen[nseen++] = t;
		}
	}
	free(seen);
	return back;
}

/* A sink fed, through other sinks' results, by its own results would
 * deliver forever. */
static void check_result_cycles(hc_graph *g, hc_diag *d)
{
	for (size_t i = 0; i < g->ninst; i++) {
		struct hlb_instance *s = g->inst[i];

		if (s->role != HLB_CAP_SINK || !s->nroutes || !results_come_back(g, s))
			continue;
		hc_diag_error(d, g->cfg->file, hc_section_get(s->routes[0]->sec, "from")->line,
			      "[%s] from: the results of sink '%s' come back to it (cycle)",
			      s->routes[0]->sec->label, s->sec->name);
	}
}

hc_graph *hc_graph_build(hc_config *cfg, hc_loader *loader, const char *default_plugin_dir, hc_diag *d)
{
	hc_graph *g = calloc(1, sizeof(*g));
	hc_section *service;
	size_t nroutes = 0;

	if (!g)
		return NULL;
	g->cfg = cfg;
	g->drain_timeout_ms = 10000;
	service = hc_config_find(cfg, HC_SERVICE, NULL);
	if (service)
		check_service(g, service, d);
	const char *dirs = hc_section_value(service, "plugin_dir");
	if (dirs)
		hc_list_each(dirs, add_dir, loader);
	else if (default_plugin_dir)
		hc_loader_add_dir(loader, default_plugin_dir);

	for (size_t i = 0; i < cfg->nsec; i++)
		nroutes += cfg->sec[i].kind == HC_ROUTE;
	g->inst = calloc(cfg->nsec + 1, sizeof(*g->inst));
	g->routes = calloc(nroutes + 1, sizeof(*g->routes));
	if (!g->inst || !g->routes) {
		hc_graph_free(g);
		return NULL;
	}
	for (size_t i = 0; i < cfg->nsec; i++) {
		hc_section *sec = &cfg->sec[i];

		if (sec->kind == HC_SOURCE || sec->kind == HC_TRANSFORM || sec->kind == HC_SINK ||
		    sec->kind == HC_AUTH) {
			struct hlb_instance *inst = check_instance(g, sec, loader, d);

			if (inst)
				g->inst[g->ninst++] = inst;
		} else if (sec->kind == HC_ROUTE) {
			g->routes[g->nroutes].sec = sec;
			g->routes[g->nroutes].name = sec->name;
			g->nroutes++;
		}
	}
	for (size_t i = 0; i < g->nroutes; i++)
		check_route(g, &g->routes[i], d);
	check_cycles(g, d);
	check_auth_refs(g, d);
	check_unused(g, d);
	if (g->nroutes == 0)
		hc_diag_error(d, cfg->file, 0, "no [route:NAME] section: nothing would run");
	wire_sources(g);
	check_result_cycles(g, d);
	return g;
}

void hc_graph_free(hc_graph *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->ninst; i++) {
		free(g->inst[i]->routes);
		free(g->inst[i]->reach);
		free(g->inst[i]);
	}
	for (size_t i = 0; i < g->nroutes; i++) {
		free(g->routes[i].via);
		free(g->routes[i].to);
		free(g->routes[i].children);
	}
	free(g->inst);
	free(g->routes);
	free(g);
}
