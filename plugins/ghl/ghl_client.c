/* The shared GoHighLevel client (see ghl_client.h).
 *
 * A request goes through three steps, each a callback on the event loop:
 *   1. a token from the [auth:] provider. An agency (Company) credential
 *      calls location APIs with a location token, so the client must know
 *      the credential's userType first: it learns it from the provider's
 *      `info` on the first token it gets and keeps it;
 *   2. the transfer, paced on "ghl:<quota_id>:<location or company>";
 *   3. the answer: parsed, or classified as a failure. A 401 drops the
 *      token (auth_reject) and starts over once; a 429, 5xx, network error
 *      or malformed JSON is retried a few times after its Retry-After (or a
 *      short jittered backoff) before it is reported as retryable.
 *
 * Everything in flight is on a list of the client, so that
 * ghl_client_free() cancels it all and no callback runs afterwards. */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "ghl_client.h"

#define ERROR_LEN 512           /* one error line */
#define DEFAULT_MAX_WAIT_MS 30000
#define MAX_ID_LEN 64           /* a location id, as GHL forms them (20-24 chars) */

struct ghl_client {
	api_client core;     /* first: the request engine's part */
	char *plugin, *base_url;
	json_object *info;   /* the provider's facts, a deep copy */
	json_object *paced;  /* pace keys already configured (a set) */
	ghl_pager *pagers;
	ghl_resolve *resolves;
};

struct ghl_call {
	api_call core;      /* first: method, path, body, token, retries */
	char *location, *version;
	ghl_reply_cb cb;
	void *arg;
	int agency;         /* the token was asked for subject = location */
};

struct ghl_pager {
	ghl_client *c;
	ghl_pager *prev, *next;
	char *location, *version, *path, *items, *count, *id_field;
	ghl_page_state st;
	ghl_call *call;
	ghl_page_cb page;
	ghl_done_cb done;
	void *arg;
	int finished;
};

struct ghl_resolve {
	ghl_client *c;
	ghl_resolve *prev, *next;
	ghl_locations_cb cb;
	void *arg;
	int all;
	char **ids;
	size_t n;
	json_object *seen;  /* ids already collected (a set) */
	hlb_auth_call *auth;
	ghl_pager *pager;
	hlb_timer *timer;
	int finished;
};

/* ---- small helpers -------------------------------------------------------- */

struct json_object *ghl_json_at(struct json_object *root, const char *dotted)
{
	char part[128];
	const char *p = dotted, *dot;
	json_object *cur = root;

	if (!dotted || !*dotted)
		return root;
	while (cur && *p) {
		size_t n;

		dot = strchr(p, '.');
		n = dot ? (size_t)(dot - p) : strlen(p);
		if (n >= sizeof(part) || !json_object_is_type(cur, json_type_object))
			return NULL;
		memcpy(part, p, n);
		part[n] = '\0';
		if (!json_object_object_get_ex(cur, part, &cur))
			return NULL;
		p += n + (dot ? 1 : 0);
	}
	return cur;
}

void ghl_pace_key(const char *quota_id, const char *scope, char *buf, size_t len)
{
	snprintf(buf, len, "ghl:%s:%s", quota_id && *quota_id ? quota_id : "-",
		 scope && *scope ? scope : "-");
}

/* GHL ids are short words of letters, digits, '_' and '-': anything else
 * in a location id would change the URL it is put into. */
static int valid_id(const char *s)
{
	size_t n = 0;

	if (!s)
		return 0;
	for (; s[n]; n++)
		if (!isalnum((unsigned char)s[n]) && s[n] != '_' && s[n] != '-')
			return 0;
	return n > 0 && n <= MAX_ID_LEN;
}

/* ---- the client ------------------------------------------------------------ */

static const api_ops ghl_ops;

ghl_client *ghl_client_new(const hlb_host *host, hlb_instance *inst, const char *plugin,
			   const char *auth_name, const char *base_url)
{
	ghl_client *c;

	if (!host || !auth_name)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->plugin = strdup(plugin ? plugin : "ghl");
	c->base_url = base_url && *base_url ? strdup(base_url) : NULL;
	c->paced = json_object_new_object();
	if (!c->plugin || (base_url && *base_url && !c->base_url) || !c->paced ||
	    api_client_init(&c->core, &ghl_ops, host, inst, c->plugin, auth_name, API_DEFAULT_RETRIES,
			    DEFAULT_MAX_WAIT_MS) < 0) {
		ghl_client_free(c);
		return NULL;
	}
	return c;
}

void ghl_client_set_retries(ghl_client *c, unsigned retries, int64_t max_wait_ms)
{
	c->core.retries = retries;
	c->core.max_wait_ms = max_wait_ms;
}

struct json_object *ghl_client_info(const ghl_client *c)
{
	return c->info;
}

static void pager_free(ghl_pager *p);
static void resolve_free(ghl_resolve *r);

void ghl_client_free(ghl_client *c)
{
	if (!c)
		return;
	/* Outer work first: a resolution owns a pager, a pager a call. */
	while (c->resolves)
		ghl_resolve_cancel(c->resolves);
	while (c->pagers)
		ghl_pager_cancel(c->pagers);
	api_client_fini(&c->core);
	json_object_put(c->info);
	json_object_put(c->paced);
	free(c->plugin);
	free(c->base_url);
	free(c);
}

/* Keeps the provider's facts for the next requests. */
static void remember_info(ghl_client *c, json_object *info)
{
	json_object *copy = NULL;

	if (!info || json_object_deep_copy(info, &copy, NULL) != 0)
		return;
	json_object_put(c->info);
	c->info = copy;
}

static int is_agency(const ghl_client *c)
{
	const char *type = ghl_json_string(c->info, "userType");

	return type && strcasecmp(type, "Company") == 0;
}

/* The OAuth endpoints (installed locations) belong to the credential's
 * API, so they follow the [auth:] section's base_url even when the
 * instance points its own calls elsewhere (a validating proxy per spec). */
static const char *base_url_of(const ghl_client *c, const char *path)
{
	const char *b = ghl_json_string(c->info, "base_url");

	if (c->base_url && strncmp(path, "/oauth/", 7) != 0)
		return c->base_url;
	if (b && *b)
		return b;
	return c->base_url ? c->base_url : GHL_BASE_URL;
}

static void configure_pace(ghl_client *c, const char *key)
{
	if (json_object_object_get_ex(c->paced, key, NULL))
		return;
	if (c->core.host->pace_configure(c->core.inst, key, GHL_BURST_MAX, GHL_BURST_INTERVAL_MS) == HLB_OK)
		json_object_object_add(c->paced, key, NULL);
}

/* ---- one request: the hooks of the shared engine (api_call.h) ------------------ */

static ghl_client *client_of(const api_call *core)
{
	return (ghl_client *)(void *)core->e;
}

static void call_clear(api_call *core)
{
	ghl_call *call = (ghl_call *)(void *)core;

	free(call->location);
	free(call->version);
}

static void call_deliver(api_call *core, const api_reply *r)
{
	ghl_call *call = (ghl_call *)(void *)core;
	ghl_reply reply = { .rc = r->rc, .status = r->status, .json = r->json, .error = r->error,
			    .retryable = r->retryable, .retry_after_ms = r->retry_after_ms,
			    .needs_login = r->needs_login, .location = call->location,
			    .raw = r->raw, .raw_len = r->raw_len, .content_type = r->content_type };

	call->cb(call->arg, &reply);
}

/* An agency's credential gives location tokens for a location's APIs;
 * once the client knows the credential is one, it asks for them at once. */
static const char *call_subject(api_call *core, int asking)
{
	ghl_call *call = (ghl_call *)(void *)core;
	ghl_client *c = client_of(core);

	if (asking && call->location && c->info && is_agency(c))
		call->agency = 1;
	return call->agency ? call->location : NULL;
}

/* A location token's facts may describe the location rather than the
 * credential: only the credential's own token teaches the client. */
static void call_token_info(api_call *core, const hlb_auth_result *res)
{
	ghl_call *call = (ghl_call *)(void *)core;

	if (res->info && !call->agency)
		remember_info(client_of(core), res->info);
}

static int call_token_ok(api_call *core, const hlb_auth_result *res)
{
	ghl_call *call = (ghl_call *)(void *)core;
	ghl_client *c = client_of(core);
	const char *own;

	(void)res;
	/* The first token told the client what kind of credential it is: an
	 * agency's needs a location token for a location's APIs. */
	if (call->location && !call->agency && is_agency(c)) {
		call->agency = 1;
		api_call_restart(core);
		return 0;
	}
	/* A sub-account's token works for its own location only: saying so
	 * beats sending a request GoHighLevel answers 403. */
	own = call->location && !call->agency ? ghl_json_string(c->info, "locationId") : NULL;
	if (own && *own && strcmp(own, call->location) != 0) {
		api_reply r = { .rc = HLB_EINVAL };

		api_call_fail(core, &r, "%s %s: [auth:%s] is a credential of location %s; it cannot act for "
			      "location %s: use one of that location, or an agency's (user_type = Company)",
			      core->method, core->path, c->core.auth, own, call->location);
		return 0;
	}
	return 1;
}

static const char *call_base_url(api_call *core, const hlb_auth_result *res)
{
	(void)res;
	return base_url_of(client_of(core), core->path);
}

static void call_pace(api_call *core, const char *quota_id)
{
	ghl_call *call = (ghl_call *)(void *)core;
	ghl_client *c = client_of(core);
	const char *scope = call->location ? call->location : ghl_json_string(c->info, "companyId");

	if (!scope)
		scope = ghl_json_string(c->info, "locationId");
	ghl_pace_key(quota_id, scope, core->pace, sizeof(core->pace));
	configure_pace(c, core->pace);
}

static void call_header(api_call *core, char *buf, size_t len)
{
	snprintf(buf, len, "Version: %s", ((ghl_call *)(void *)core)->version);
}

/* " for location X", unless the path already names it. */
static void call_where(const api_call *core, char *buf, size_t len)
{
	const ghl_call *call = (const ghl_call *)(const void *)core;

	if (call->location && !strstr(core->path, call->location))
		snprintf(buf, len, " for location %s", call->location);
}

static void call_error_text(api_call *core, long status, const char *body, size_t len, const char *request_id,
			    char *buf, size_t buflen, char *type, size_t type_len)
{
	(void)core;
	(void)request_id;
	(void)type;
	(void)type_len;
	ghl_error_text(status, body, len, buf, buflen);
}

static const api_ops ghl_ops = {
	.call_size = sizeof(ghl_call),
	.max_response = GHL_MAX_RESPONSE,
	.text_len = ERROR_LEN,
	.error_len = ERROR_LEN,
	.refused_hint = " (a new token was refused too: check the credential and its scopes)",
	.say_retries = 1,
	.honour_retry_after = 1,
	.clear = call_clear,
	.deliver = call_deliver,
	.subject = call_subject,
	.token_info = call_token_info,
	.token_ok = call_token_ok,
	.base_url = call_base_url,
	.pace = call_pace,
	.header = call_header,
	.where = call_where,
	.error_text = call_error_text,
};

void ghl_call_cancel(ghl_call *call)
{
	api_call_cancel(call ? &call->core : NULL);
}

static ghl_call *request(ghl_client *c, const char *location, const char *method, const char *version,
			 const char *path_and_query, struct json_object *body, int raw, ghl_reply_cb cb,
			 void *arg)
{
	ghl_call *call;

	if (!c || !method || !version || !path_and_query || !cb)
		return NULL;
	call = (ghl_call *)(void *)api_call_new(&c->core);
	if (!call)
		return NULL;
	call->cb = cb;
	call->arg = arg;
	call->core.raw = raw;
	call->location = ghl_dup_or_null(location);
	call->version = strdup(version);
	if ((location && !call->location) || !call->version) {
		call_clear(&call->core);
		free(call);
		return NULL;
	}
	return api_call_start(&call->core, method, path_and_query, body) == 0 ? call : NULL;
}

ghl_call *ghl_request(ghl_client *c, const char *location, const char *method, const char *version,
		      const char *path_and_query, struct json_object *body, ghl_reply_cb cb, void *arg)
{
	return request(c, location, method, version, path_and_query, body, 0, cb, arg);
}

ghl_call *ghl_request_raw(ghl_client *c, const char *location, const char *method, const char *version,
			  const char *path_and_query, ghl_reply_cb cb, void *arg)
{
	return request(c, location, method, version, path_and_query, NULL, 1, cb, arg);
}

const char *ghl_login_hint(int needs_login, const char *message)
{
	if (!needs_login || (message && strstr(message, "hlbridge auth")))
		return "";
	return " (the credential needs attention: see hlbridge auth status -c CONFIG)";
}

/* ---- skip/limit paging ----------------------------------------------------------- */

void ghl_page_init(ghl_page_state *st, unsigned limit, unsigned max_pages)
{
	memset(st, 0, sizeof(*st));
	st->limit = limit ? limit : 1;
	st->max_pages = max_pages ? max_pages : GHL_MAX_PAGES;
}

/* `count` is read as the total only when it says more than this page
 * alone: GHL documents `count` loosely, and a count that is the page's own
 * length would otherwise stop the paging after the first full page. */
ghl_page_next ghl_page_step(ghl_page_state *st, size_t n, int64_t count, const char *first_id)
{
	uint64_t skip = st->skip;

	if (n > 0 && first_id && *first_id && st->pages > 0 && strcmp(first_id, st->first_id) == 0)
		return GHL_PAGE_REPEATED;
	st->pages++;
	snprintf(st->first_id, sizeof(st->first_id), "%s", first_id ? first_id : "");
	st->skip = skip + n;
	if (n < st->limit)
		return GHL_PAGE_DONE;
	if (count >= 0 && (uint64_t)count != n && (uint64_t)count >= skip + n && st->skip >= (uint64_t)count)
		return GHL_PAGE_DONE;
	if (st->pages >= st->max_pages)
		return GHL_PAGE_TOO_MANY;
	return GHL_PAGE_MORE;
}

static void pager_free(ghl_pager *p)
{
	free(p->location);
	free(p->version);
	free(p->path);
	free(p->items);
	free(p->count);
	free(p->id_field);
	free(p);
}

void ghl_pager_cancel(ghl_pager *p)
{
	if (!p || p->finished)
		return;
	ghl_call_cancel(p->call);
	GHL_LIST_DEL(p->c->pagers, p);
	pager_free(p);
}

static void pager_finish(ghl_pager *p, const ghl_reply *reply)
{
	GHL_LIST_DEL(p->c->pagers, p);
	p->finished = 1;
	p->done(p->arg, reply);
	pager_free(p);
}

static void pager_fail(ghl_pager *p, int rc, const char *fmt, ...) HLB_PRINTF(3, 4);

static void pager_fail(ghl_pager *p, int rc, const char *fmt, ...)
{
	char msg[ERROR_LEN];
	ghl_reply reply = { .rc = rc, .error = msg, .location = p->location };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pager_finish(p, &reply);
}

static int pager_next(ghl_pager *p);

static int64_t json_count(json_object *v)
{
	if (!v)
		return -1;
	if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) {
		int64_t n = json_object_get_int64(v);

		return n >= 0 ? n : -1;
	}
	if (json_object_is_type(v, json_type_string)) {
		char *end;
		long long n = strtoll(json_object_get_string(v), &end, 10);

		return *end == '\0' && n >= 0 ? n : -1;
	}
	return -1;
}

static void on_page(void *arg, const ghl_reply *reply)
{
	ghl_pager *p = arg;
	json_object *items, *first;
	const char *first_id = NULL;
	char idbuf[64];
	ghl_page_next next;
	size_t n;
	uint64_t skip = p->st.skip;
	int rc;

	p->call = NULL;
	if (reply->rc != HLB_OK) {
		pager_finish(p, reply);
		return;
	}
	items = ghl_json_at(reply->json, p->items);
	if (!items || !json_object_is_type(items, json_type_array)) {
		pager_fail(p, HLB_EPARSE, "GET %s (skip %" PRIu64 "): the answer has no \"%s\" array",
			   p->path, skip, p->items);
		return;
	}
	n = json_object_array_length(items);
	first = n ? json_object_array_get_idx(items, 0) : NULL;
	if (first && p->id_field) {
		json_object *id;

		if (json_object_object_get_ex(first, p->id_field, &id)) {
			if (json_object_is_type(id, json_type_string)) {
				first_id = json_object_get_string(id);
			} else if (json_object_is_type(id, json_type_int)) {
				snprintf(idbuf, sizeof(idbuf), "%" PRId64, json_object_get_int64(id));
				first_id = idbuf;
			}
		}
	}
	next = ghl_page_step(&p->st, n, p->count ? json_count(ghl_json_at(reply->json, p->count)) : -1,
			     first_id);
	if (next == GHL_PAGE_REPEATED) {
		pager_fail(p, HLB_EFAIL, "GET %s: the page at skip %" PRIu64 " repeats the previous page "
			   "(first item %s): the API seems to ignore skip; stopping", p->path, skip, first_id);
		return;
	}
	rc = p->page(p->arg, items, reply);
	if (rc != HLB_OK) {
		pager_fail(p, rc, "GET %s: stopped at skip %" PRIu64, p->path, skip);
		return;
	}
	if (next == GHL_PAGE_DONE) {
		ghl_reply ok = { .rc = HLB_OK, .status = reply->status, .error = "", .location = p->location };

		pager_finish(p, &ok);
		return;
	}
	if (next == GHL_PAGE_TOO_MANY) {
		pager_fail(p, HLB_ETOOBIG, "GET %s: more than %u pages of %u items; stopping (raise the "
			   "page size, or narrow the query)", p->path, p->st.max_pages, p->st.limit);
		return;
	}
	rc = pager_next(p);
	if (rc != HLB_OK)
		pager_fail(p, rc, "GET %s: out of memory", p->path);
}

static int pager_next(ghl_pager *p)
{
	char *path;
	int len;

	len = asprintf(&path, "%s%cskip=%" PRIu64 "&limit=%u", p->path, strchr(p->path, '?') ? '&' : '?',
		       p->st.skip, p->st.limit);
	if (len < 0)
		return HLB_ENOMEM;
	p->call = ghl_request(p->c, p->location, "GET", p->version, path, NULL, on_page, p);
	free(path);
	return p->call ? HLB_OK : HLB_ENOMEM;
}

ghl_pager *ghl_page_skip(ghl_client *c, const ghl_page_spec *spec, ghl_page_cb page,
			 ghl_done_cb done, void *arg)
{
	ghl_pager *p;

	if (!c || !spec || !spec->path || !spec->items || !page || !done)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->c = c;
	p->page = page;
	p->done = done;
	p->arg = arg;
	p->location = ghl_dup_or_null(spec->location);
	p->version = strdup(spec->version ? spec->version : GHL_VERSION);
	p->path = strdup(spec->path);
	p->items = strdup(spec->items);
	p->count = ghl_dup_or_null(spec->count);
	p->id_field = ghl_dup_or_null(spec->id_field);
	ghl_page_init(&p->st, spec->limit, spec->max_pages);
	if ((spec->location && !p->location) || !p->version || !p->path || !p->items ||
	    (spec->count && !p->count) || (spec->id_field && !p->id_field)) {
		pager_free(p);
		return NULL;
	}
	GHL_LIST_ADD(c->pagers, p);
	if (pager_next(p) != HLB_OK) {
		GHL_LIST_DEL(c->pagers, p);
		pager_free(p);
		return NULL;
	}
	return p;
}

/* ---- locations ---------------------------------------------------------------------- */

void ghl_ids_free(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

static int ids_add(char ***ids, size_t *n, const char *id, size_t len)
{
	char **grown, *copy;

	if (*n >= GHL_MAX_LOCATIONS)
		return HLB_ETOOBIG;
	copy = strndup(id, len);
	if (!copy)
		return HLB_ENOMEM;
	grown = realloc(*ids, (*n + 1) * sizeof(**ids));
	if (!grown) {
		free(copy);
		return HLB_ENOMEM;
	}
	grown[(*n)++] = copy;
	*ids = grown;
	return HLB_OK;
}

int ghl_locations_parse(const char *value, int *all, char ***ids, size_t *n, char *err, size_t errlen)
{
	const char *p = value;
	json_object *seen;
	int rc = HLB_OK;

	*all = 0;
	*ids = NULL;
	*n = 0;
	if (!value) {
		snprintf(err, errlen, "location_id is not set: give a location id, a comma list, or *");
		return HLB_EINVAL;
	}
	while (isspace((unsigned char)*p))
		p++;
	if (p[0] == '*') {
		const char *q = p + 1;

		while (isspace((unsigned char)*q))
			q++;
		if (*q) {
			snprintf(err, errlen, "location_id: * (every installed location) stands alone");
			return HLB_EINVAL;
		}
		*all = 1;
		return HLB_OK;
	}
	seen = json_object_new_object();
	if (!seen)
		return HLB_ENOMEM;
	while (*p && rc == HLB_OK) {
		const char *end = strchr(p, ',');
		size_t len;
		char id[MAX_ID_LEN + 2];

		if (!end)
			end = p + strlen(p);
		while (p < end && isspace((unsigned char)*p))
			p++;
		len = (size_t)(end - p);
		while (len && isspace((unsigned char)p[len - 1]))
			len--;
		if (len) {
			snprintf(id, sizeof(id), "%.*s", (int)(len < sizeof(id) - 1 ? len : sizeof(id) - 1), p);
			if (len > MAX_ID_LEN || !valid_id(id)) {
				snprintf(err, errlen, "location_id: \"%.*s\" is not a location id (letters, digits, "
					 "'_' and '-', at most %d)", (int)(len > 80 ? 80 : len), p, MAX_ID_LEN);
				rc = HLB_EINVAL;
			} else if (!json_object_object_get_ex(seen, id, NULL)) {
				json_object_object_add(seen, id, NULL);
				rc = ids_add(ids, n, p, len);
				if (rc == HLB_ETOOBIG)
					snprintf(err, errlen, "location_id: more than %d locations", GHL_MAX_LOCATIONS);
			}
		}
		p = *end ? end + 1 : end;
	}
	json_object_put(seen);
	if (rc == HLB_OK && *n == 0) {
		snprintf(err, errlen, "location_id is empty: give a location id, a comma list, or *");
		rc = HLB_EINVAL;
	}
	if (rc != HLB_OK) {
		if (rc == HLB_ENOMEM)
			snprintf(err, errlen, "out of memory");
		ghl_ids_free(*ids, *n);
		*ids = NULL;
		*n = 0;
	}
	return rc;
}

int ghl_location_option_check(const hlb_host *host, hlb_instance *inst)
{
	char err[256];
	char **ids = NULL;
	size_t n = 0;
	int all, rc;

	rc = ghl_locations_parse(host->option(inst, "location_id"), &all, &ids, &n, err, sizeof(err));
	ghl_ids_free(ids, n);
	if (rc == HLB_OK)
		return HLB_OK;
	host->option_error(inst, "location_id", "%s", err);
	return rc == HLB_ENOMEM ? rc : HLB_EINVAL;
}

static void resolve_free(ghl_resolve *r)
{
	ghl_ids_free(r->ids, r->n);
	json_object_put(r->seen);
	free(r);
}

void ghl_resolve_cancel(ghl_resolve *r)
{
	ghl_client *c;

	if (!r || r->finished)
		return;
	c = r->c;
	if (r->auth)
		c->core.host->auth_cancel(r->auth);
	if (r->timer)
		c->core.host->timer_stop(r->timer);
	ghl_pager_cancel(r->pager);
	GHL_LIST_DEL(c->resolves, r);
	resolve_free(r);
}

static void resolve_finish(ghl_resolve *r, int rc, const char *message, int needs_login)
{
	GHL_LIST_DEL(r->c->resolves, r);
	r->finished = 1;
	r->cb(r->arg, rc, message, needs_login, rc == HLB_OK ? r->ids : NULL, rc == HLB_OK ? r->n : 0);
	resolve_free(r);
}

static void on_resolve_timer(void *arg)
{
	ghl_resolve *r = arg;

	r->timer = NULL;
	resolve_finish(r, HLB_OK, NULL, 0);
}

static int on_installed_page(void *arg, struct json_object *items, const ghl_reply *reply)
{
	ghl_resolve *r = arg;
	ghl_client *c = r->c;
	size_t n = json_object_array_length(items);

	(void)reply;
	for (size_t i = 0; i < n; i++) {
		json_object *loc = json_object_array_get_idx(items, i), *inst;
		const char *id = ghl_json_string(loc, "_id");
		int rc;

		if (json_object_object_get_ex(loc, "isInstalled", &inst) &&
		    json_object_is_type(inst, json_type_boolean) && !json_object_get_boolean(inst))
			continue;
		if (!valid_id(id)) {
			c->core.host->log(c->core.inst, HLB_LOG_WARN, "[auth:%s] GET /oauth/installedLocations: skipping "
				     "an entry without a usable _id", c->core.auth);
			continue;
		}
		if (json_object_object_get_ex(r->seen, id, NULL))
			continue;
		json_object_object_add(r->seen, id, NULL);
		rc = ids_add(&r->ids, &r->n, id, strlen(id));
		if (rc != HLB_OK)
			return rc;
	}
	return HLB_OK;
}

static void on_installed_done(void *arg, const ghl_reply *reply)
{
	ghl_resolve *r = arg;
	char msg[ERROR_LEN];

	r->pager = NULL;
	if (reply->rc != HLB_OK) {
		snprintf(msg, sizeof(msg), "location_id = *: listing the installed locations failed: %s",
			 reply->error);
		resolve_finish(r, reply->rc, msg, reply->needs_login);
		return;
	}
	resolve_finish(r, HLB_OK, NULL, 0);
}

static void on_resolve_token(void *arg, const hlb_auth_result *res)
{
	ghl_resolve *r = arg;
	ghl_client *c = r->c;
	const char *company, *app;
	ghl_buf query, path;
	ghl_page_spec spec = { 0 };
	char msg[ERROR_LEN];

	r->auth = NULL;
	if (res->info)
		remember_info(c, res->info);
	if (res->rc != HLB_OK) {
		snprintf(msg, sizeof(msg), "location_id = *: no token from [auth:%s]: %s", c->core.auth,
			 res->message ? res->message : c->core.host->strerror(res->rc));
		resolve_finish(r, res->rc, msg, res->needs_login);
		return;
	}
	if (!is_agency(c)) {
		snprintf(msg, sizeof(msg), "location_id = * lists the locations of an agency, but [auth:%s] "
			 "is a Location (sub-account) credential: use an agency (Company) credential, or "
			 "list the location ids", c->core.auth);
		resolve_finish(r, HLB_EINVAL, msg, 0);
		return;
	}
	company = ghl_json_string(c->info, "companyId");
	app = ghl_json_string(c->info, "appId");
	if (!company || !*company || !app || !*app) {
		snprintf(msg, sizeof(msg), "location_id = *: [auth:%s] does not tell its %s (a Private "
			 "Integration Token belongs to no app): use an OAuth app credential (ghl_oauth), or "
			 "list the location ids", c->core.auth, !company || !*company ? "companyId" : "appId");
		resolve_finish(r, HLB_EINVAL, msg, 0);
		return;
	}
	ghl_buf_init(&query, 2048);
	ghl_buf_init(&path, 4096);
	if (ghl_form_add(&query, "companyId", company) < 0 || ghl_form_add(&query, "appId", app) < 0 ||
	    ghl_form_add(&query, "isInstalled", "true") < 0 ||
	    ghl_buf_addf(&path, "/oauth/installedLocations?%s", query.data) < 0) {
		ghl_buf_free(&query);
		ghl_buf_free(&path);
		resolve_finish(r, HLB_ETOOBIG, "location_id = *: the companyId or appId is too long", 0);
		return;
	}
	spec.version = GHL_VERSION;
	spec.path = path.data;
	spec.items = "locations";
	spec.count = "count";
	spec.id_field = "_id";
	spec.limit = 100;
	spec.max_pages = GHL_MAX_LOCATIONS / 100;
	r->pager = ghl_page_skip(c, &spec, on_installed_page, on_installed_done, r);
	ghl_buf_free(&query);
	ghl_buf_free(&path);
	if (!r->pager)
		resolve_finish(r, HLB_ENOMEM, "location_id = *: out of memory", 0);
}

ghl_resolve *ghl_locations_resolve(ghl_client *c, const char *value, ghl_locations_cb cb, void *arg)
{
	ghl_resolve *r;
	char err[256];

	if (!c || !cb)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->c = c;
	r->cb = cb;
	r->arg = arg;
	r->seen = json_object_new_object();
	if (!r->seen || ghl_locations_parse(value, &r->all, &r->ids, &r->n, err, sizeof(err)) != HLB_OK) {
		/* init() has checked the value: only memory can fail here. */
		resolve_free(r);
		return NULL;
	}
	GHL_LIST_ADD(c->resolves, r);
	if (r->all)
		r->auth = c->core.host->auth_token(c->core.inst, c->core.auth, NULL, on_resolve_token, r);
	else
		r->timer = c->core.host->timer_start(c->core.inst, 0, 0, on_resolve_timer, r);
	if (!r->auth && !r->timer) {
		GHL_LIST_DEL(c->resolves, r);
		resolve_free(r);
		return NULL;
	}
	return r;
}

/* ---- one poll over every location ------------------------------------------------------- */

static ghl_fanout_loc *fanout_loc(const ghl_fanout *f, size_t i)
{
	return (ghl_fanout_loc *)(void *)(f->locs + i * f->spec.loc_size);
}

void ghl_fanout_free(ghl_fanout *f)
{
	if (!f)
		return;
	if (f->slot && *f->slot == f)
		*f->slot = NULL;
	ghl_resolve_cancel(f->resolve);
	for (size_t i = 0; i < f->n; i++) {
		ghl_fanout_loc *l = fanout_loc(f, i);

		f->spec.clear(l);
		free(l->id);
	}
	free(f->locs);
	free(f);
}

void ghl_fanout_finish(ghl_fanout *f, int rc, const char *message)
{
	const hlb_host *host = f->spec.client->core.host;
	hlb_job *job = f->job;

	ghl_fanout_free(f);
	host->finish(job, rc, message);
}

/* Logs a location's failure and keeps the first for the run's message. */
static void fanout_count_failure(ghl_fanout *f, const ghl_fanout_loc *l, const ghl_reply *failure)
{
	ghl_client *c = f->spec.client;
	const char *id = l->id ? l->id : "?";
	/* Client errors name the request, which names the location. */
	const char *where = strstr(failure->error, id) ? "" : "location ";
	const char *hint = ghl_login_hint(failure->needs_login, failure->error);

	f->failed++;
	c->core.host->log(c->core.inst, HLB_LOG_ERROR, "%s%s%s%s%s", where, *where ? id : "", *where ? ": " : "",
		     failure->error, hint);
	if (!f->first_error[0])
		snprintf(f->first_error, sizeof(f->first_error), "%s%s%s%s", where, *where ? id : "",
			 *where ? ": " : "", failure->error);
}

/* Starts locations while fewer than spec.concurrency are at work. A
 * location that ends inside its start calls back here: `filling` keeps that
 * from nesting, and the caller holds a count in `pending` so that the run
 * cannot end (and be freed) under this loop. */
static void fanout_fill(ghl_fanout *f)
{
	if (f->filling)
		return;
	f->filling = 1;
	while (f->next < f->n && (!f->spec.concurrency || f->running < f->spec.concurrency)) {
		ghl_fanout_loc *l = fanout_loc(f, f->next++);

		f->running++;
		if (l->id)
			f->spec.start(l);
		else
			ghl_fanout_fail(l, HLB_ENOMEM, "out of memory");
	}
	f->filling = 0;
}

void ghl_fanout_done(ghl_fanout_loc *l, const ghl_reply *failure)
{
	ghl_fanout *f = l->fanout;

	if (failure)
		fanout_count_failure(f, l, failure);
	f->spec.clear(l);
	if (f->running)
		f->running--;
	if (--f->pending == 0) {
		f->spec.end(f);
		return;
	}
	if (!f->filling && f->next < f->n) {
		f->pending++;
		fanout_fill(f);
		if (--f->pending == 0)
			f->spec.end(f);
	}
}

void ghl_fanout_fail(ghl_fanout_loc *l, int rc, const char *fmt, ...)
{
	char msg[GHL_FANOUT_ERROR_LEN];
	ghl_reply r = { .rc = rc, .error = msg, .location = l->id };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ghl_fanout_done(l, &r);
}

static void fanout_on_locations(void *arg, int rc, const char *message, int needs_login, char *const *ids,
				size_t n)
{
	ghl_fanout *f = arg;
	ghl_client *c = f->spec.client;
	char msg[GHL_FANOUT_ERROR_LEN + 64];

	f->resolve = NULL;
	if (rc != HLB_OK) {
		snprintf(msg, sizeof(msg), "%s%s", message ? message : c->core.host->strerror(rc),
			 ghl_login_hint(needs_login, message));
		ghl_fanout_finish(f, rc, msg);
		return;
	}
	if (n == 0) {
		c->core.host->log(c->core.inst, HLB_LOG_WARN, "location_id = %s: no location to poll", f->spec.locations);
		f->spec.end(f);
		return;
	}
	f->locs = calloc(n, f->spec.loc_size);
	if (!f->locs) {
		ghl_fanout_finish(f, HLB_ENOMEM, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		fanout_loc(f, i)->fanout = f;
		fanout_loc(f, i)->id = strdup(ids[i]);
	}
	f->n = n;
	if (f->check) {
		f->pending = 1;
		if (fanout_loc(f, 0)->id)
			f->spec.check(fanout_loc(f, 0));
		else
			ghl_fanout_finish(f, HLB_ENOMEM, "out of memory");
		return;
	}
	/* The locations at once (up to the limit): each waits for its own
	 * quota only. The one extra count keeps a location that ends at once
	 * from ending the run before the others have started. */
	f->pending = n + 1;
	fanout_fill(f);
	if (--f->pending == 0)
		f->spec.end(f);
}

int ghl_concurrency_option(const hlb_host *host, hlb_instance *inst, size_t *out)
{
	int64_t v = host->option_int(inst, "concurrency", 64);

	if (v < 1 || v > GHL_CONCURRENCY_MAX) {
		host->option_error(inst, "concurrency", "must be from 1 to %d (got %lld)", GHL_CONCURRENCY_MAX,
				   (long long)v);
		return HLB_EINVAL;
	}
	*out = (size_t)v;
	return HLB_OK;
}

int ghl_source_host_check(const hlb_host *host, hlb_instance *inst, const char *plugin)
{
	if (HLB_HOST_HAS(host, history_add) && host->auth_token)
		return HLB_OK;
	host->log(inst, HLB_LOG_ERROR, "%s needs hlbridge with credential support (ABI 1.1); this host is %u.%u",
		  plugin, host->abi_major, host->abi_minor);
	return HLB_EUNSUPPORTED;
}

int ghl_fanout_start(const ghl_fanout_spec *spec, hlb_job *job, int check, ghl_fanout **slot)
{
	const hlb_host *host = spec->client->core.host;
	ghl_fanout *f;

	if (slot && *slot) {
		host->finish(job, HLB_EINVAL, "a poll is already running");
		return HLB_EINVAL;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		host->finish(job, HLB_ENOMEM, "out of memory");
		return HLB_ENOMEM;
	}
	f->spec = *spec;
	f->job = job;
	f->check = check;
	f->started_ms = ghl_now_ms();
	f->slot = slot;
	f->resolve = ghl_locations_resolve(spec->client, spec->locations, fanout_on_locations, f);
	if (!f->resolve) {
		free(f);
		host->finish(job, HLB_ENOMEM, "out of memory");
		return HLB_ENOMEM;
	}
	if (slot)
		*slot = f;
	return HLB_OK;
}

/* ---- Social Planner tags ---------------------------------------------------------------- */

#define SNAP_NAME_MAX 200 /* bytes of a tag name kept for "previousName" */

const char *ghl_tag_change_name(ghl_tag_change ch)
{
	switch (ch) {
	case GHL_TAG_CREATED: return "created";
	case GHL_TAG_UPDATED: return "updated";
	case GHL_TAG_DELETED: return "deleted";
	case GHL_TAG_SAME: break;
	}
	return "unchanged";
}

void ghl_tag_hash(const char *name, const char *updated_at, int deleted, char out[17])
{
	uint64_t h = GHL_FNV_INIT;

	/* "name\x1fupdatedAt\x1f0|1": unit separators keep ("ab", "c") apart
	 * from ("a", "bc"). Hashed in parts, one tag at a time, no copy. */
	if (name)
		h = ghl_fnv1a(h, name, strlen(name));
	h = ghl_fnv1a(h, "\x1f", 1);
	if (updated_at)
		h = ghl_fnv1a(h, updated_at, strlen(updated_at));
	h = ghl_fnv1a(h, deleted ? "\x1f" "1" : "\x1f" "0", 2);
	ghl_hash_out(h, out);
}

int ghl_tag_snap_get(struct json_object *snap, const char *tag_id, char hash[17], const char **name)
{
	json_object *v;
	const char *s;

	if (!snap || !json_object_object_get_ex(snap, tag_id, &v) || !json_object_is_type(v, json_type_string))
		return 0;
	s = json_object_get_string(v);
	if (strlen(s) < 16)
		return 0;
	memcpy(hash, s, 16);
	hash[16] = '\0';
	if (name)
		*name = s + 16;
	return 1;
}

struct json_object *ghl_tag_snap_value(const char *hash, const char *name)
{
	char buf[16 + SNAP_NAME_MAX + 1];
	size_t n = name ? strlen(name) : 0;

	if (n > SNAP_NAME_MAX) {
		/* Cut at a character boundary: never in the middle of UTF-8. */
		n = SNAP_NAME_MAX;
		while (n && ((unsigned char)name[n] & 0xc0) == 0x80)
			n--;
	}
	snprintf(buf, sizeof(buf), "%.16s%.*s", hash, (int)n, name ? name : "");
	return json_object_new_string(buf);
}

ghl_tag_change ghl_tag_classify(struct json_object *old_snap, const char *tag_id, const char *hash,
				int deleted, const char **prev_name)
{
	char old_hash[17];
	const char *name = NULL;
	int known = ghl_tag_snap_get(old_snap, tag_id, old_hash, &name);

	if (prev_name)
		*prev_name = known ? name : NULL;
	if (!known)
		return deleted ? GHL_TAG_SAME : GHL_TAG_CREATED;
	if (deleted)
		return GHL_TAG_DELETED;
	return strcmp(old_hash, hash) == 0 ? GHL_TAG_SAME : GHL_TAG_UPDATED;
}

/* ---- Social Planner statistics -------------------------------------------------------------- */

#define DAY_MS 86400000LL
#define SERIES_MAX 31 /* points read from one series */

static const char *const stat_metrics[] = { "impressions", "followers", "likes", NULL };

static int platform_wanted(const char *platform, char *const *platforms, size_t n)
{
	if (!platforms || !n)
		return 1;
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(platforms[i], platform) == 0)
			return 1;
	return 0;
}

static int number_value(json_object *v)
{
	return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
}

int ghl_stats_extract(struct json_object *answer, int64_t now_ms, char *const *platforms,
		      size_t nplatforms, ghl_stat_cb cb, void *arg)
{
	json_object *results = ghl_json_at(answer, "results"), *totals;
	int64_t today = now_ms - ((now_ms % DAY_MS) + DAY_MS) % DAY_MS;
	int points = 0;

	if (!results || !json_object_is_type(results, json_type_object))
		return HLB_EPARSE;
	totals = ghl_json_at(results, "platformTotals");
	if (!totals || !json_object_is_type(totals, json_type_object))
		return 0;
	for (const char *const *m = stat_metrics; *m; m++) {
		json_object *by_platform;

		if (!json_object_object_get_ex(totals, *m, &by_platform) ||
		    !json_object_is_type(by_platform, json_type_object))
			continue;
		json_object_object_foreach(by_platform, platform, entry) {
			json_object *series;
			size_t n, first;

			if (!platform_wanted(platform, platforms, nplatforms) ||
			    !json_object_is_type(entry, json_type_object) ||
			    !json_object_object_get_ex(entry, "series", &series) ||
			    !json_object_is_type(series, json_type_array))
				continue;
			/* The last point is today; older points precede it. */
			n = json_object_array_length(series);
			first = n > SERIES_MAX ? n - SERIES_MAX : 0;
			for (size_t i = first; i < n; i++) {
				json_object *v = json_object_array_get_idx(series, i);
				int64_t day_ms = today - (int64_t)(n - 1 - i) * DAY_MS;
				char day[32];

				if (!number_value(v))
					continue;
				ghl_format_time(day_ms, day, sizeof(day));
				day[10] = '\0';
				cb(arg, platform, *m, day, day_ms, v);
				points++;
			}
		}
	}
	return points;
}

void ghl_stat_id(const char *location, const char *platform, const char *metric, const char *day,
		 char out[17])
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "%s|%s|%s|%s", location, platform, metric, day);

	if (n < 0)
		n = 0;
	ghl_hash_hex(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1, out);
}
