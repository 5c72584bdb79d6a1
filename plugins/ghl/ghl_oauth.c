/* `ghl_oauth`: a credential provider ([auth:NAME] type = ghl_oauth) for a
 * GoHighLevel Marketplace app, OAuth 2.0 authorization code.
 *
 * `hlbridge auth login` builds the authorize URL (auth_url) and trades the
 * code that comes back for a token pair (auth_exchange). The pair lives in
 * the state store under "token"; access tokens last about a day and are
 * refreshed ahead of expiry (refresh_margin) and after a 401. A refresh
 * token is good for one use only: the answer carries the next one, so the
 * new pair is committed to the store BEFORE the new access token is handed
 * out, and a pair the store could not keep is never used (the old refresh
 * token is already spent: the app must be authorized again).
 *
 * One refresh at a time per credential (single flight): requests that
 * arrive meanwhile wait in a bounded queue and get the outcome. An
 * invalid_grant marks the credential as needing a new login, persisted,
 * logged once, and every later request fails at once without a call to
 * GoHighLevel. Other failures are answered with a retryable error; the
 * next request tries again, but not within a second of the last failure.
 *
 * An agency (Company) token mints location tokens (POST
 * /oauth/locationToken) for the location a request names as its subject,
 * one mint at a time per location, cached in memory and in the store under
 * "loc:<id>" (the ids listed under "locations"), paced on the company's
 * quota "ghl:<client_id>:<companyId>".
 *
 * Tokens and the client secret are never logged or shown. */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "hlbridge/hlbridge.h"
#include "ghl_util.h"
#include "oauth_core.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

#define TOKEN_MAX OAUTH_TOKEN_MAX
#define ID_MAX 128              /* longest location, company or client id */
#define SCOPE_MAX 2048
#define ANSWER_MAX OAUTH_ANSWER_MAX
#define MAX_WAITERS 10000       /* requests queued behind refreshes and mints */
#define MAX_LOCATIONS 10000     /* location tokens kept */
#define FAIL_QUIET_MS OAUTH_FAIL_QUIET_MS /* no new refresh or mint this soon after a failure */
#define DEFAULT_EXPIRES_S 3600  /* when an answer has no expires_in */
#define MSG_MAX OAUTH_MSG_MAX

static const hlb_option options[] = {
	{ "client_id", HLB_OPT_STRING, NULL, HLB_OPT_REQUIRED,
	  "the Marketplace app's client id (Advanced Settings > Auth)", NULL },
	{ "client_secret", HLB_OPT_STRING, NULL, HLB_OPT_REQUIRED | HLB_OPT_SECRET,
	  "the app's client secret, best as ${ENV_VAR}", NULL },
	{ "user_type", HLB_OPT_ENUM, "Location", 0,
	  "Location: a sub-account's token; Company: an agency's, which mints location tokens",
	  "Location|Company" },
	{ "scope", HLB_OPT_LIST, NULL, 0,
	  "scopes asked for at login (default: the Social Planner's tags, accounts and posts; Company adds "
	  "oauth.readonly, oauth.write)", NULL },
	{ "base_url", HLB_OPT_STRING, GHL_BASE_URL, 0,
	  "API base URL; tokens come from base_url/oauth/token", NULL },
	{ "authorize_url", HLB_OPT_STRING, GHL_AUTHORIZE_URL, 0,
	  "where 'hlbridge auth login' sends the user to choose the account", NULL },
	{ "app_id", HLB_OPT_STRING, NULL, 0,
	  "the app's id (default: client_id up to its first '-')", NULL },
	{ "refresh_margin", HLB_OPT_DURATION, "5m", 0,
	  "refresh an access token this long before it expires", NULL },
	{ "timeout", HLB_OPT_DURATION, "30s", 0, "longest time a token request may take", NULL },
	{ NULL, 0, NULL, 0, NULL, NULL }
};

/* The stored pair and what GoHighLevel said about it. */
struct tok {
	oauth_tok base;
	char *user_type, *company_id, *location_id, *scope;
};

struct oauth;

struct loc {
	struct oauth *o;
	char *id;
	char *access;           /* NULL until minted */
	int64_t expires_at, obtained_at;
	int rejected;           /* the API said 401 to it */
	hlb_http *http;         /* mint in flight */
	char *agency_used;      /* the agency token the mint in flight carries */
	int awaiting_agency;    /* waits for the agency token's refresh */
	int retried;            /* a 401 on minting was retried once */
	ghl_waiters waiters;
	oauth_failure fail;
	struct loc *next;
};

struct oauth {
	oauth_core core;        /* first: the hooks cast back; refreshes at token_url */
	char *scope, *base_url, *authorize_url, *app_id;
	char *loc_url;
	int company;            /* configured user_type */

	struct tok tok;
	int grant_logged;

	struct loc *locs;
	size_t nlocs, nwaiting;
	int paced;              /* pace_configure done for the company key */
	char pace_key[300];
};

/* ---- small helpers ------------------------------------------------------- */

/* Ids end up in form bodies, state keys and pace keys. */
static int id_ok(const char *id)
{
	size_t n = id ? strlen(id) : 0;

	if (!n || n > ID_MAX)
		return 0;
	for (const unsigned char *c = (const unsigned char *)id; *c; c++)
		if (*c <= 0x20 || *c >= 0x7f || *c == '/' || *c == '?' || *c == '#' || *c == '%' || *c == ':')
			return 0;
	return 1;
}

static void tok_clear(oauth_tok *b)
{
	struct tok *t = (struct tok *)b;

	oauth_tok_clear(&t->base);
	free(t->user_type);
	free(t->company_id);
	free(t->location_id);
	free(t->scope);
	memset(t, 0, sizeof(*t));
}

static void iso_time(int64_t ms, char *buf, size_t len)
{
	ghl_format_time(ms, buf, len);
}

static int64_t margin_for(const struct oauth *o, int64_t obtained_at, int64_t expires_at)
{
	return ghl_token_margin(o->core.margin_ms, obtained_at, expires_at);
}

static int own_fresh(oauth_core *c, int64_t now)
{
	const struct oauth *o = (const struct oauth *)c;

	return o->core.have && !o->core.rejected && o->tok.base.access &&
	       now + margin_for(o, o->tok.base.obtained_at, o->tok.base.expires_at) < o->tok.base.expires_at;
}

/* Still accepted by the API, if no longer fresh: good enough when a
 * refresh fails for a reason that may pass. */
static int own_usable(const struct oauth *o, int64_t now)
{
	return o->core.have && !o->core.rejected && o->tok.base.access && now < o->tok.base.expires_at;
}

static int loc_fresh(const struct loc *l, int64_t now)
{
	return l->access && !l->rejected &&
	       now + margin_for(l->o, l->obtained_at, l->expires_at) < l->expires_at;
}

static int is_company(const struct oauth *o)
{
	return o->tok.user_type ? strcmp(o->tok.user_type, "Company") == 0 : o->company;
}

/* ---- the queue of waiting requests ---------------------------------------- */

/* The cap counts the waiters of every queue of the credential. */
static int enqueue(struct oauth *o, ghl_waiters *q, hlb_auth_call *call)
{
	if (o->nwaiting >= MAX_WAITERS || ghl_waiters_add(q, call, MAX_WAITERS) < 0)
		return -1;
	o->nwaiting++;
	return 0;
}

/* Answers every waiter of q with res and empties it. auth_done never calls
 * back into the provider, so the queue cannot change meanwhile. */
static void answer_all(struct oauth *o, ghl_waiters *q, const hlb_auth_result *res)
{
	o->nwaiting -= q->n;
	ghl_waiters_answer(o->core.host, q, res);
}

static void fail_all(struct oauth *o, ghl_waiters *q, int rc, const char *msg, int needs_login)
{
	hlb_auth_result res = HLB_AUTH_RESULT_INIT;

	res.rc = rc;
	res.message = msg;
	res.needs_login = needs_login;
	answer_all(o, q, &res);
}

static void fail_one(struct oauth *o, hlb_auth_call *call, int rc, const char *msg, int needs_login)
{
	hlb_auth_result res = HLB_AUTH_RESULT_INIT;

	res.rc = rc;
	res.message = msg;
	res.needs_login = needs_login;
	o->core.host->auth_done(call, &res);
}

/* ---- answers ------------------------------------------------------------ */

static json_object *own_info(const struct oauth *o)
{
	return ghl_auth_info(o->base_url, is_company(o), o->tok.company_id, o->tok.location_id, o->app_id);
}

static json_object *loc_info(const struct loc *l)
{
	return ghl_auth_info(l->o->base_url, 0, l->o->tok.company_id, l->id, l->o->app_id);
}

static void answer_token(struct oauth *o, ghl_waiters *q, hlb_auth_call *one, const char *token,
			 json_object *info)
{
	hlb_auth_result res = HLB_AUTH_RESULT_INIT;

	res.rc = HLB_OK;
	res.token = token;
	res.quota_id = o->core.client_id;
	res.info = info;
	if (one)
		o->core.host->auth_done(one, &res);
	if (q)
		answer_all(o, q, &res);
	json_object_put(info);
}

/* A message for the consumers starts with "[auth:NAME] "; the log line
 * has that prefix already. */
static const char *unprefixed(const struct oauth *o, const char *msg)
{
	size_t n = strlen(o->core.name);

	if (strncmp(msg, "[auth:", 6) == 0 && strncmp(msg + 6, o->core.name, n) == 0 && strncmp(msg + 6 + n, "] ", 2) == 0)
		return msg + 8 + n;
	return msg;
}

static void login_message(const struct oauth *o, char *buf, size_t len)
{
	oauth_login_message(&o->core, buf, len);
}

/* ---- the state store ---------------------------------------------------- */

static int store_token(struct oauth *o, const struct tok *t)
{
	json_object *v = json_object_new_object();

	if (!v)
		return HLB_ENOMEM;
	ghl_json_add_str(v, "client_id", o->core.client_id);
	ghl_json_add_str(v, "access_token", t->base.access);
	ghl_json_add_str(v, "refresh_token", t->base.refresh);
	json_object_object_add(v, "expires_at", json_object_new_int64(t->base.expires_at));
	json_object_object_add(v, "obtained_at", json_object_new_int64(t->base.obtained_at));
	ghl_json_add_str(v, "userType", t->user_type);
	ghl_json_add_str(v, "companyId", t->company_id);
	ghl_json_add_str(v, "locationId", t->location_id);
	ghl_json_add_str(v, "scope", t->scope);
	json_object_object_add(v, "needs_login", json_object_new_boolean(t->base.needs_login));
	ghl_json_add_str(v, "reason", t->base.reason);
	return o->core.host->state_put(o->core.inst, NULL, "token", v);
}

/* Reads a stored pair into t. 0, or -1 with why in err. */
static int tok_from_json(struct oauth *o, json_object *v, struct tok *t, char *err, size_t errlen)
{
	const char *cid = ghl_json_string(v, "client_id");

	memset(t, 0, sizeof(*t));
	if (!v || !json_object_is_type(v, json_type_object)) {
		snprintf(err, errlen, "the stored token is not a JSON object");
		return -1;
	}
	if (cid && strcmp(cid, o->core.client_id) != 0) {
		snprintf(err, errlen, "the stored authorization belongs to another app (client_id %s)", cid);
		return -1;
	}
	if (!ghl_token_ok(ghl_json_string(v, "access_token"), TOKEN_MAX) ||
	    !ghl_token_ok(ghl_json_string(v, "refresh_token"), TOKEN_MAX)) {
		snprintf(err, errlen, "the stored token pair is incomplete");
		return -1;
	}
	if (ghl_set_str(&t->base.access, ghl_json_string(v, "access_token")) || ghl_set_str(&t->base.refresh, ghl_json_string(v, "refresh_token")) ||
	    ghl_set_str(&t->user_type, ghl_json_string(v, "userType")) || ghl_set_str(&t->company_id, ghl_json_string(v, "companyId")) ||
	    ghl_set_str(&t->location_id, ghl_json_string(v, "locationId")) || ghl_set_str(&t->scope, ghl_json_string(v, "scope")) ||
	    ghl_set_str(&t->base.reason, ghl_json_string(v, "reason"))) {
		tok_clear(&t->base);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	t->base.expires_at = ghl_json_int(v, "expires_at", 0);
	t->base.obtained_at = ghl_json_int(v, "obtained_at", 0);
	{
		json_object *nl;

		t->base.needs_login = json_object_object_get_ex(v, "needs_login", &nl) && json_object_get_boolean(nl);
	}
	return 0;
}

/* The pair as the store has it now. Returns 1 when it differs from the
 * one in memory (another hlbridge process refreshed it) and was taken. */
static int reload_stored(oauth_core *c)
{
	struct oauth *o = (struct oauth *)c;
	json_object *v = o->core.host->state_get(o->core.inst, "token");
	char err[256];
	struct tok t;
	int taken = 0;

	if (!v)
		return 0;
	if (tok_from_json(o, v, &t, err, sizeof(err)) == 0) {
		if (!o->core.have || !o->tok.base.refresh || strcmp(t.base.refresh, o->tok.base.refresh) != 0 ||
		    t.base.needs_login != o->tok.base.needs_login) {
			oauth_adopt(&o->core, &t.base);
			taken = 1;
		}
		tok_clear(&t.base);
	}
	json_object_put(v);
	return taken;
}

static void store_loc(struct loc *l)
{
	struct oauth *o = l->o;
	json_object *v = json_object_new_object();
	char key[ID_MAX + 8];
	int rc;

	if (!v)
		return;
	ghl_json_add_str(v, "access_token", l->access);
	json_object_object_add(v, "expires_at", json_object_new_int64(l->expires_at));
	json_object_object_add(v, "obtained_at", json_object_new_int64(l->obtained_at));
	ghl_json_add_str(v, "companyId", o->tok.company_id);
	snprintf(key, sizeof(key), "loc:%s", l->id);
	rc = o->core.host->state_put(o->core.inst, NULL, key, v);
	/* A location token can be minted again: losing it costs a request. */
	if (rc != HLB_OK)
		o->core.host->log(o->core.inst, HLB_LOG_WARN, "could not store the token of location %s: %s", l->id,
			     o->core.host->strerror(rc));
}

static void store_loc_index(struct oauth *o)
{
	json_object *ids = json_object_new_array();
	int rc;

	if (!ids)
		return;
	for (struct loc *l = o->locs; l; l = l->next)
		if (l->access)
			json_object_array_add(ids, json_object_new_string(l->id));
	rc = o->core.host->state_put(o->core.inst, NULL, "locations", ids);
	if (rc != HLB_OK)
		o->core.host->log(o->core.inst, HLB_LOG_WARN, "could not store the list of location tokens: %s",
			     o->core.host->strerror(rc));
}

/* ---- location entries ----------------------------------------------------- */

static struct loc *loc_find(struct oauth *o, const char *id)
{
	for (struct loc *l = o->locs; l; l = l->next)
		if (strcmp(l->id, id) == 0)
			return l;
	return NULL;
}

/* A new entry, with the token the store keeps for it, if any and if it
 * was minted for the current company. */
static struct loc *loc_add(struct oauth *o, const char *id)
{
	struct loc *l;
	json_object *v;
	char key[ID_MAX + 8];

	if (o->nlocs >= MAX_LOCATIONS || !(l = calloc(1, sizeof(*l))))
		return NULL;
	l->o = o;
	if (!(l->id = strdup(id))) {
		free(l);
		return NULL;
	}
	snprintf(key, sizeof(key), "loc:%s", id);
	v = o->core.host->state_get(o->core.inst, key);
	if (v && ghl_token_ok(ghl_json_string(v, "access_token"), TOKEN_MAX) &&
	    (!ghl_json_string(v, "companyId") || !o->tok.company_id || strcmp(ghl_json_string(v, "companyId"), o->tok.company_id) == 0)) {
		l->access = strdup(ghl_json_string(v, "access_token"));
		l->expires_at = ghl_json_int(v, "expires_at", 0);
		l->obtained_at = ghl_json_int(v, "obtained_at", 0);
	}
	json_object_put(v);
	l->next = o->locs;
	o->locs = l;
	o->nlocs++;
	return l;
}

static void loc_free(struct oauth *o, struct loc *l)
{
	if (l->http)
		o->core.host->http_cancel(l->http);
	fail_all(o, &l->waiters, HLB_ECANCELED, "hlbridge is stopping", 0);
	ghl_free_secret(l->access);
	ghl_free_secret(l->agency_used);
	free(l->id);
	free(l);
}

static void loc_drop_all(struct oauth *o)
{
	while (o->locs) {
		struct loc *l = o->locs;

		o->locs = l->next;
		loc_free(o, l);
	}
	o->nlocs = 0;
}

static void load_locations(struct oauth *o)
{
	json_object *ids = o->core.host->state_get(o->core.inst, "locations");
	size_t n;

	if (ids && json_object_is_type(ids, json_type_array)) {
		n = json_object_array_length(ids);
		for (size_t i = 0; i < n && i < MAX_LOCATIONS; i++) {
			json_object *e = json_object_array_get_idx(ids, i);
			const char *id = json_object_is_type(e, json_type_string) ? json_object_get_string(e) : NULL;

			if (id_ok(id) && !loc_find(o, id))
				loc_add(o, id);
		}
	}
	json_object_put(ids);
}

/* ---- HTTP to the token endpoints ---------------------------------------------- */

/* Sends a form to url; bearer may be NULL. */
static hlb_http *post_form(struct oauth *o, const char *url, const ghl_buf *form, const char *bearer,
			   const char *pace_key, hlb_http_cb cb, void *arg)
{
	char auth[TOKEN_MAX + 32];
	const char *extra[] = { auth, "Version: " GHL_VERSION, NULL };
	hlb_http *h;

	if (bearer)
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", bearer);
	h = ghl_post_form(o->core.host, o->core.inst, url, form, o->core.user_agent, bearer ? extra : NULL,
			  o->core.timeout_ms, ANSWER_MAX, pace_key, cb, arg);
	if (bearer)
		memset(auth, 0, sizeof(auth));
	return h;
}

/* How a failed answer is reported: rc and one line. */
static int classify(struct oauth *o, const hlb_http_response *resp, const char *what, const char *url,
		    char *msg, size_t len)
{
	const hlb_host *host = o->core.host;
	int rc = host->http_result(resp);
	long status = host->http_status(resp);
	size_t blen = 0;
	const char *body = host->http_body(resp, &blen);
	char text[512];

	if (status == 0) {
		const char *e = host->http_error(resp);

		snprintf(msg, len, "[auth:%s] %s at %s failed: %s", o->core.name, what, url,
			 e && *e ? e : host->strerror(rc));
		return rc == HLB_ETIMEDOUT ? HLB_ETIMEDOUT : HLB_ECONN;
	}
	if (rc != HLB_OK) {
		/* an answer cut short (too big, reset): worth another try */
		const char *e = host->http_error(resp);

		snprintf(msg, len, "[auth:%s] %s at %s failed: HTTP %ld, but %s", o->core.name, what, url, status,
			 e && *e ? e : host->strerror(rc));
		return HLB_EHTTP;
	}
	ghl_error_text(status, body, blen, text, sizeof(text));
	snprintf(msg, len, "[auth:%s] %s at %s failed: %s", o->core.name, what, url, text);
	if (status >= 500 || status == 429 || status == 408)
		return HLB_EHTTP;
	return HLB_EFAIL;
}

/* Reads a token answer into t (a new pair). 0, or -1 with why. */
static int parse_answer(const hlb_host *host, const hlb_http_response *resp, int want_refresh, struct tok *t,
			char *err, size_t errlen)
{
	size_t len = 0;
	const char *body = host->http_body(resp, &len);
	json_object *v = ghl_parse_object(body, len);
	int64_t expires_in, now = ghl_now_ms();
	int rc = -1;

	memset(t, 0, sizeof(*t));
	if (!v) {
		snprintf(err, errlen, "the answer is not a JSON object");
		goto out;
	}
	if (!ghl_token_ok(ghl_json_string(v, "access_token"), TOKEN_MAX)) {
		snprintf(err, errlen, "the answer has no valid access_token");
		goto out;
	}
	if (want_refresh && !ghl_token_ok(ghl_json_string(v, "refresh_token"), TOKEN_MAX)) {
		snprintf(err, errlen, "the answer has no valid refresh_token");
		goto out;
	}
	if ((ghl_json_string(v, "companyId") && !id_ok(ghl_json_string(v, "companyId"))) ||
	    (ghl_json_string(v, "locationId") && !id_ok(ghl_json_string(v, "locationId")))) {
		snprintf(err, errlen, "the answer has a malformed companyId or locationId");
		goto out;
	}
	expires_in = ghl_json_int(v, "expires_in", DEFAULT_EXPIRES_S);
	if (expires_in <= 0 || expires_in > 366LL * 86400)
		expires_in = DEFAULT_EXPIRES_S;
	if (ghl_set_str(&t->base.access, ghl_json_string(v, "access_token")) || ghl_set_str(&t->base.refresh, ghl_json_string(v, "refresh_token")) ||
	    ghl_set_str(&t->user_type, ghl_json_string(v, "userType")) || ghl_set_str(&t->company_id, ghl_json_string(v, "companyId")) ||
	    ghl_set_str(&t->location_id, ghl_json_string(v, "locationId")) || ghl_set_str(&t->scope, ghl_json_string(v, "scope"))) {
		snprintf(err, errlen, "out of memory");
		tok_clear(&t->base);
		goto out;
	}
	t->base.obtained_at = now;
	t->base.expires_at = now + expires_in * 1000;
	rc = 0;
out:
	json_object_put(v);
	return rc;
}

/* ---- refresh -------------------------------------------------------------- */

static void loc_mint(struct loc *l);
static void loc_fail(struct loc *l, int rc, const char *msg, int needs_login, int remember);

/* The end of a refresh (or of the wait for one): answers the credential's
 * own waiters and moves the locations that waited for the agency token on. */
static void refresh_done(oauth_core *c, int rc, const char *msg, int needs_login)
{
	struct oauth *o = (struct oauth *)c;
	int64_t now = ghl_now_ms();
	int ok = rc == HLB_OK || own_usable(o, now);

	if (ok)
		answer_token(o, &o->core.waiters, NULL, o->tok.base.access, own_info(o));
	else
		fail_all(o, &o->core.waiters, rc, msg, needs_login);
	for (struct loc *l = o->locs; l; l = l->next) {
		if (!l->awaiting_agency)
			continue;
		l->awaiting_agency = 0;
		if (ok)
			loc_mint(l);
		else
			loc_fail(l, rc, msg, needs_login, 0);
	}
}

static void on_refresh(oauth_core *c, const hlb_http_response *resp)
{
	struct oauth *o = (struct oauth *)c;
	const hlb_host *host = o->core.host;
	long status = host->http_status(resp);
	size_t blen = 0;
	const char *body = host->http_body(resp, &blen);
	char msg[MSG_MAX], err[256], text[512];
	struct tok t;
	int rc;

	if (host->http_result(resp) == HLB_OK && status == 200) {
		if (parse_answer(host, resp, 1, &t, err, sizeof(err)) < 0) {
			snprintf(o->core.fail.msg, sizeof(o->core.fail.msg), "[auth:%s] refreshing the access token at %s: "
				 "HTTP 200, but %s", o->core.name, o->core.token_url, err);
			o->core.fail.rc = HLB_EHTTP;
			o->core.fail.at = ghl_now_ms();
			host->log(o->core.inst, HLB_LOG_ERROR, "refreshing the access token at %s: HTTP 200, but %s",
				  o->core.token_url, err);
			refresh_done(&o->core, o->core.fail.rc, o->core.fail.msg, 0);
			return;
		}
		/* A refresh answer may leave out who the token is for. */
		if ((!t.user_type && ghl_set_str(&t.user_type, o->tok.user_type)) ||
		    (!t.company_id && ghl_set_str(&t.company_id, o->tok.company_id)) ||
		    (!t.location_id && ghl_set_str(&t.location_id, o->tok.location_id)) ||
		    (!t.scope && ghl_set_str(&t.scope, o->tok.scope)))
			rc = HLB_ENOMEM;
		else
			rc = store_token(o, &t);
		if (rc != HLB_OK) {
			/* The old refresh token is spent and the new one
			 * would be lost with this process: never use a pair
			 * the store could not keep. */
			tok_clear(&t.base);
			snprintf(err, sizeof(err), "the state store could not keep the refreshed token pair (%s)",
				 host->strerror(rc));
			host->log(o->core.inst, HLB_LOG_ERROR, "%s: the app must be authorized again: hlbridge auth "
				  "login %s -c CONFIG", err, o->core.name);
			o->core.rejected = 1;
			oauth_mark_needs_login(&o->core, err);
			login_message(o, msg, sizeof(msg));
			refresh_done(&o->core, HLB_EFAIL, msg, 1);
			return;
		}
		oauth_adopt(&o->core, &t.base);
		o->core.fail.at = 0;
		iso_time(o->tok.base.expires_at, text, sizeof(text));
		host->log(o->core.inst, HLB_LOG_INFO, "access token refreshed, expires %s", text);
		refresh_done(&o->core, HLB_OK, NULL, 0);
		return;
	}
	if (host->http_result(resp) == HLB_OK && ghl_is_invalid_grant(status, body, blen)) {
		ghl_error_text(status, body, blen, text, sizeof(text));
		snprintf(err, sizeof(err), "GoHighLevel refused the refresh token (invalid_grant)");
		if (!o->grant_logged)
			host->log(o->core.inst, HLB_LOG_ERROR, "%s: the app must be authorized again: hlbridge auth "
				  "login %s -c CONFIG (%s)", err, o->core.name, text);
		o->grant_logged = 1;
		oauth_mark_needs_login(&o->core, err);
		login_message(o, msg, sizeof(msg));
		o->core.rejected = 1;
		refresh_done(&o->core, HLB_EFAIL, msg, 1);
		return;
	}
	o->core.fail.rc = classify(o, resp, "refreshing the access token", o->core.token_url, o->core.fail.msg,
			      sizeof(o->core.fail.msg));
	o->core.fail.at = ghl_now_ms();
	if (own_usable(o, o->core.fail.at)) {
		iso_time(o->tok.base.expires_at, text, sizeof(text));
		host->log(o->core.inst, HLB_LOG_WARN, "%s; the current access token is good until %s: using it",
			  unprefixed(o, o->core.fail.msg), text);
	} else {
		host->log(o->core.inst, HLB_LOG_WARN, "%s", unprefixed(o, o->core.fail.msg));
	}
	refresh_done(&o->core, o->core.fail.rc, o->core.fail.msg, 0);
}

/* After client_id and client_secret. */
static int refresh_form(oauth_core *c, ghl_buf *form)
{
	struct oauth *o = (struct oauth *)c;

	if (ghl_form_add(form, "grant_type", "refresh_token") < 0 ||
	    ghl_form_add(form, "refresh_token", o->tok.base.refresh) < 0)
		return -1;
	return ghl_form_add(form, "user_type", is_company(o) ? "Company" : "Location");
}

/* ---- location tokens ------------------------------------------------------- */

static void loc_fail(struct loc *l, int rc, const char *msg, int needs_login, int remember)
{
	if (remember) {
		l->fail.at = ghl_now_ms();
		l->fail.rc = rc;
		snprintf(l->fail.msg, sizeof(l->fail.msg), "%s", msg);
	}
	fail_all(l->o, &l->waiters, rc, msg, needs_login);
}

/* Moves a location's waiters on: answer, wait, or mint. */
static void loc_advance(struct loc *l)
{
	struct oauth *o = l->o;
	int64_t now = ghl_now_ms();
	char msg[MSG_MAX];

	if (l->http || l->awaiting_agency)
		return;
	if (loc_fresh(l, now)) {
		answer_token(o, &l->waiters, NULL, l->access, loc_info(l));
		return;
	}
	if (!l->waiters.head)
		return;
	if (o->tok.base.needs_login || !o->core.have) {
		login_message(o, msg, sizeof(msg));
		loc_fail(l, HLB_EFAIL, msg, 1, 0);
		return;
	}
	if (l->fail.at && now - l->fail.at < FAIL_QUIET_MS && now >= l->fail.at) {
		loc_fail(l, l->fail.rc, l->fail.msg, 0, 0);
		return;
	}
	if (!own_fresh(&o->core, now)) {
		l->awaiting_agency = 1;
		oauth_start_refresh(&o->core);
		return;
	}
	loc_mint(l);
}

static void on_mint(void *arg, const hlb_http_response *resp)
{
	struct loc *l = arg;
	struct oauth *o = l->o;
	const hlb_host *host = o->core.host;
	long status = host->http_status(resp);
	char msg[MSG_MAX], err[256];
	struct tok t;
	int had = l->access != NULL;

	l->http = NULL;
	if (host->http_result(resp) == HLB_OK && status == 200) {
		if (parse_answer(host, resp, 0, &t, err, sizeof(err)) < 0) {
			snprintf(msg, sizeof(msg), "[auth:%s] minting a token for location %s at %s: HTTP 200, but %s",
				 o->core.name, l->id, o->loc_url, err);
			ghl_free_secret(l->agency_used);
			l->agency_used = NULL;
			loc_fail(l, HLB_EHTTP, msg, 0, 1);
			return;
		}
		ghl_free_secret(l->access);
		l->access = t.base.access;
		t.base.access = NULL;
		l->expires_at = t.base.expires_at;
		l->obtained_at = t.base.obtained_at;
		l->rejected = 0;
		l->retried = 0;
		l->fail.at = 0;
		tok_clear(&t.base);
		ghl_free_secret(l->agency_used);
		l->agency_used = NULL;
		store_loc(l);
		if (!had)
			store_loc_index(o);
		answer_token(o, &l->waiters, NULL, l->access, loc_info(l));
		return;
	}
	if (host->http_result(resp) == HLB_OK && status == 401 && !l->retried) {
		/* The agency token was refused: drop it, refresh, mint once more. */
		l->retried = 1;
		if (l->agency_used && o->tok.base.access && strcmp(l->agency_used, o->tok.base.access) == 0)
			o->core.rejected = 1;
		ghl_free_secret(l->agency_used);
		l->agency_used = NULL;
		loc_advance(l);
		return;
	}
	ghl_free_secret(l->agency_used);
	l->agency_used = NULL;
	snprintf(err, sizeof(err), "minting a token for location %s", l->id);
	l->retried = 0;
	{
		int rc = classify(o, resp, err, o->loc_url, msg, sizeof(msg));

		loc_fail(l, rc, msg, 0, 1);
	}
}

static void loc_mint(struct loc *l)
{
	struct oauth *o = l->o;
	const hlb_host *host = o->core.host;
	char msg[MSG_MAX];
	ghl_buf form;

	if (l->http)
		return;
	if (!o->tok.company_id) {
		snprintf(msg, sizeof(msg), "[auth:%s] the agency token names no companyId: location tokens cannot "
			 "be minted; authorize again with hlbridge auth login %s -c CONFIG", o->core.name, o->core.name);
		loc_fail(l, HLB_EFAIL, msg, 1, 0);
		return;
	}
	/* Minting counts against the company's quota. */
	if (!o->paced && HLB_HOST_HAS(host, pace_configure) && host->pace_configure) {
		snprintf(o->pace_key, sizeof(o->pace_key), "ghl:%s:%s", o->core.client_id, o->tok.company_id);
		o->paced = host->pace_configure(o->core.inst, o->pace_key, GHL_BURST_MAX, GHL_BURST_INTERVAL_MS) ==
			   HLB_OK;
	}
	ghl_buf_init(&form, 1024);
	ghl_free_secret(l->agency_used);
	l->agency_used = strdup(o->tok.base.access);
	if (!l->agency_used || ghl_form_add(&form, "companyId", o->tok.company_id) < 0 ||
	    ghl_form_add(&form, "locationId", l->id) < 0 ||
	    !(l->http = post_form(o, o->loc_url, &form, o->tok.base.access, o->paced ? o->pace_key : NULL,
				  on_mint, l))) {
		snprintf(msg, sizeof(msg), "[auth:%s] could not start minting a token for location %s "
			 "(out of memory)", o->core.name, l->id);
		loc_fail(l, HLB_ENOMEM, msg, 0, 0);
	}
	ghl_buf_free(&form);
}

static void location_token(struct oauth *o, hlb_auth_call *call, const char *id)
{
	struct loc *l = loc_find(o, id);
	char msg[MSG_MAX];

	if (!l && !(l = loc_add(o, id))) {
		snprintf(msg, sizeof(msg), "[auth:%s] cannot keep a token for location %s: more than %d locations "
			 "or out of memory", o->core.name, id, MAX_LOCATIONS);
		fail_one(o, call, HLB_ETOOBIG, msg, 0);
		return;
	}
	if (loc_fresh(l, ghl_now_ms())) {
		answer_token(o, NULL, call, l->access, loc_info(l));
		return;
	}
	if (enqueue(o, &l->waiters, call) < 0) {
		snprintf(msg, sizeof(msg), "[auth:%s] too many token requests waiting (%d)", o->core.name, MAX_WAITERS);
		fail_one(o, call, HLB_ETOOBIG, msg, 0);
		return;
	}
	loc_advance(l);
}

/* ---- the descriptor's callbacks ----------------------------------------------- */

/* `hlbridge auth login` may have stored a new pair from another process
 * while this one waits for it: looked for at most once a second. */
static int relogged(struct oauth *o)
{
	int64_t now = ghl_now_ms();

	if (o->core.relook_at && now >= o->core.relook_at && now - o->core.relook_at < FAIL_QUIET_MS)
		return 0;
	o->core.relook_at = now;
	if (!reload_stored(&o->core) || o->tok.base.needs_login)
		return 0;
	o->core.host->log(o->core.inst, HLB_LOG_INFO, "found a new authorization in the state store: using it");
	o->core.fail.at = 0;
	o->grant_logged = 0;
	o->paced = 0; /* the company may have changed */
	return 1;
}

static int auth_token(void *state, hlb_auth_call *call)
{
	struct oauth *o = state;
	const char *subject = o->core.host->auth_subject(call);
	char msg[MSG_MAX];

	if ((!o->core.have || o->tok.base.needs_login) && !relogged(o)) {
		login_message(o, msg, sizeof(msg));
		fail_one(o, call, HLB_EFAIL, msg, 1);
		return HLB_OK;
	}
	if (subject && !(o->tok.location_id && strcmp(subject, o->tok.location_id) == 0)) {
		if (!is_company(o)) {
			snprintf(msg, sizeof(msg), "[auth:%s] is a Location credential for %s; it cannot act for "
				 "location %s: use user_type = Company", o->core.name,
				 o->tok.location_id ? o->tok.location_id : "another location", subject);
			fail_one(o, call, HLB_EFAIL, msg, 0);
			return HLB_OK;
		}
		if (!id_ok(subject)) {
			snprintf(msg, sizeof(msg), "[auth:%s] '%.*s' is not a location id", o->core.name, ID_MAX, subject);
			fail_one(o, call, HLB_EINVAL, msg, 0);
			return HLB_OK;
		}
		location_token(o, call, subject);
		return HLB_OK;
	}
	if (own_fresh(&o->core, ghl_now_ms())) {
		answer_token(o, NULL, call, o->tok.base.access, own_info(o));
		return HLB_OK;
	}
	if (enqueue(o, &o->core.waiters, call) < 0) {
		snprintf(msg, sizeof(msg), "[auth:%s] too many token requests waiting (%d)", o->core.name, MAX_WAITERS);
		fail_one(o, call, HLB_ETOOBIG, msg, 0);
		return HLB_OK;
	}
	oauth_start_refresh(&o->core);
	return HLB_OK;
}

static void auth_reject(void *state, const char *subject, const char *token)
{
	struct oauth *o = state;
	struct loc *l = subject ? loc_find(o, subject) : NULL;

	if (!token)
		return;
	if (l && l->access && strcmp(l->access, token) == 0) {
		l->rejected = 1;
		return;
	}
	/* Any other token was replaced already: nothing to do. */
	if (o->core.have && o->tok.base.access && strcmp(o->tok.base.access, token) == 0)
		o->core.rejected = 1;
}

static int auth_url(void *state, const char *redirect_uri, const char *csrf, char *url, size_t len)
{
	struct oauth *o = state;
	ghl_buf b;
	int rc = HLB_OK;

	if (!url || !len)
		return HLB_EINVAL;
	ghl_buf_init(&b, len - 1);
	if (ghl_buf_add(&b, o->authorize_url, strlen(o->authorize_url)) < 0 ||
	    ghl_buf_add(&b, strchr(o->authorize_url, '?') ? "&" : "?", 1) < 0 ||
	    ghl_buf_addf(&b, "response_type=code&redirect_uri=") < 0 ||
	    ghl_buf_add_encoded(&b, redirect_uri) < 0 || ghl_buf_addf(&b, "&client_id=") < 0 ||
	    ghl_buf_add_encoded(&b, o->core.client_id) < 0 || ghl_buf_addf(&b, "&scope=") < 0 ||
	    ghl_buf_add_encoded(&b, o->scope) < 0 || ghl_buf_addf(&b, "&state=") < 0 ||
	    ghl_buf_add_encoded(&b, csrf) < 0)
		rc = HLB_ETOOBIG;
	else
		snprintf(url, len, "%s", b.data);
	ghl_buf_free(&b);
	return rc;
}

static void on_exchange(oauth_core *c, hlb_job *job, const hlb_http_response *resp)
{
	struct oauth *o = (struct oauth *)c;
	const hlb_host *host = o->core.host;
	char msg[MSG_MAX], err[256], when[40];
	struct tok t;
	int rc;

	if (host->http_result(resp) != HLB_OK || host->http_status(resp) != 200) {
		rc = classify(o, resp, "exchanging the authorization code", o->core.token_url, msg, sizeof(msg));
		host->finish(job, rc, msg);
		return;
	}
	if (parse_answer(host, resp, 1, &t, err, sizeof(err)) < 0) {
		snprintf(msg, sizeof(msg), "[auth:%s] exchanging the authorization code at %s: HTTP 200, but %s",
			 o->core.name, o->core.token_url, err);
		host->finish(job, HLB_EHTTP, msg);
		return;
	}
	if (!t.user_type)
		ghl_set_str(&t.user_type, o->company ? "Company" : "Location");
	if (!oauth_exchange_kept(c, job, store_token(o, &t))) {
		tok_clear(&t.base);
		return;
	}
	/* Location tokens of another company are of no use now. */
	if (!o->tok.company_id || !t.company_id || strcmp(o->tok.company_id, t.company_id) != 0) {
		loc_drop_all(o);
		store_loc_index(o);
		o->paced = 0;
	}
	oauth_adopt(&o->core, &t.base);
	o->core.fail.at = 0;
	o->grant_logged = 0;
	if ((strcmp(o->tok.user_type, "Company") == 0) != o->company)
		host->log(o->core.inst, HLB_LOG_WARN, "user_type is %s, but the account chosen gave a %s token",
			  o->company ? "Company" : "Location", o->tok.user_type);
	iso_time(o->tok.base.expires_at, when, sizeof(when));
	snprintf(msg, sizeof(msg), "authorized: %s %s, token expires %s", o->tok.user_type,
		 strcmp(o->tok.user_type, "Company") == 0
			 ? (o->tok.company_id ? o->tok.company_id : "?")
			 : (o->tok.location_id ? o->tok.location_id : "?"),
		 when);
	host->finish(job, HLB_OK, msg);
}

/* After client_id and client_secret. */
static int exchange_form(oauth_core *c, ghl_buf *form, const char *code, const char *redirect_uri)
{
	struct oauth *o = (struct oauth *)c;

	if (ghl_form_add(form, "grant_type", "authorization_code") < 0 || ghl_form_add(form, "code", code) < 0 ||
	    ghl_form_add(form, "user_type", o->company ? "Company" : "Location") < 0)
		return -1;
	return redirect_uri ? ghl_form_add(form, "redirect_uri", redirect_uri) : 0;
}

static int auth_exchange(void *state, hlb_job *job, const char *code, const char *redirect_uri)
{
	struct oauth *o = state;

	return oauth_exchange(&o->core, job, code, redirect_uri);
}

static json_object *auth_status(void *state)
{
	struct oauth *o = state;
	json_object *s = oauth_status_new(&o->core, "ghl_oauth");
	int64_t now = ghl_now_ms();
	size_t nloc = 0;

	if (!s)
		return NULL;
	if (!o->core.have) {
		ghl_json_add_str(s, "user_type", o->company ? "Company" : "Location");
		oauth_status_unauthorized(s);
		return s;
	}
	ghl_json_add_str(s, "user_type", is_company(o) ? "Company" : "Location");
	ghl_json_add_str(s, "companyId", o->tok.company_id);
	ghl_json_add_str(s, "locationId", o->tok.location_id);
	oauth_status_times(&o->core, s, now);
	oauth_status_login(&o->core, s);
	for (struct loc *l = o->locs; l; l = l->next)
		if (l->access && l->expires_at > now)
			nloc++;
	json_object_object_add(s, "location_tokens", json_object_new_int64((int64_t)nloc));
	ghl_json_add_str(s, "scope", o->tok.scope);
	return s;
}

/* Tells what is stored; sends nothing: a refresh from here would spend the
 * refresh token a running hlbridge holds. */
static int check(void *state, hlb_job *job)
{
	struct oauth *o = state;
	char msg[MSG_MAX], when[40];

	if (oauth_check_login(&o->core, job))
		return HLB_OK;
	iso_time(o->tok.base.expires_at, when, sizeof(when));
	snprintf(msg, sizeof(msg), "authorized: %s %s, access token expires %s (refreshed when needed)",
		 is_company(o) ? "Company" : "Location",
		 is_company(o) ? (o->tok.company_id ? o->tok.company_id : "?")
			       : (o->tok.location_id ? o->tok.location_id : "?"),
		 when);
	o->core.host->finish(job, HLB_OK, msg);
	return HLB_OK;
}

/* ---- setup ---------------------------------------------------------------- */

/* scope = a, b c: words split on commas and blanks, joined with spaces. */
static char *join_scope(const char *list)
{
	char *out = malloc(strlen(list) + 1), *w = out;
	const char *p = list;

	if (!out)
		return NULL;
	while (*p) {
		size_t n;

		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		n = strcspn(p, ", \t");
		if (!n)
			break;
		if (w != out)
			*w++ = ' ';
		memcpy(w, p, n);
		w += n;
		p += n;
	}
	*w = '\0';
	return out;
}

static void oauth_free(struct oauth *o)
{
	if (!o)
		return;
	o->nwaiting -= o->core.waiters.n;
	oauth_core_fini(&o->core);
	loc_drop_all(o);
	tok_clear(&o->tok.base);
	free(o->scope);
	free(o->base_url);
	free(o->authorize_url);
	free(o->app_id);
	free(o->loc_url);
	free(o);
}

static int load_options(struct oauth *o)
{
	const hlb_host *host = o->core.host;
	hlb_instance *inst = o->core.inst;
	const char *client_id = host->option(inst, "client_id");
	const char *secret = host->option(inst, "client_secret");
	const char *user_type = host->option(inst, "user_type");
	const char *scope = host->option(inst, "scope");
	const char *base_url = host->option(inst, "base_url");
	const char *authorize_url = host->option(inst, "authorize_url");
	const char *app_id = host->option(inst, "app_id");
	int bad = 0;

	o->company = user_type && strcmp(user_type, "Company") == 0;
	if (!id_ok(client_id)) {
		host->option_error(inst, "client_id", "is not a client id (one word, at most %d characters)", ID_MAX);
		bad++;
	}
	bad += oauth_check_options(&o->core, secret, base_url, authorize_url, "GHL_CLIENT_SECRET");
	if (app_id && !id_ok(app_id)) {
		host->option_error(inst, "app_id", "is not an app id (one word, at most %d characters)", ID_MAX);
		bad++;
	}
	bad += oauth_load_times(&o->core);
	if (scope) {
		o->scope = join_scope(scope);
		if (o->scope && (!*o->scope || strlen(o->scope) > SCOPE_MAX)) {
			host->option_error(inst, "scope", "must list between 1 and %d characters of scopes", SCOPE_MAX);
			bad++;
		}
	} else {
		o->scope = strdup(o->company ? "socialplanner/tag.readonly socialplanner/account.readonly "
				  "socialplanner/post.readonly oauth.readonly oauth.write"
				  : "socialplanner/tag.readonly socialplanner/account.readonly "
				  "socialplanner/post.readonly");
	}
	if (bad)
		return HLB_EINVAL;
	if (!o->scope || !(o->core.client_id = strdup(client_id)) || !(o->core.client_secret = strdup(secret)) ||
	    !(o->base_url = strdup(base_url)) || !(o->authorize_url = strdup(authorize_url)) ||
	    !(o->app_id = app_id ? strdup(app_id) : strndup(client_id, strcspn(client_id, "-"))) ||
	    !(o->core.token_url = ghl_url_join(base_url, "/oauth/token")) ||
	    !(o->loc_url = ghl_url_join(base_url, "/oauth/locationToken")))
		return HLB_ENOMEM;
	return HLB_OK;
}

static void load_state(struct oauth *o)
{
	json_object *v = o->core.host->state_get(o->core.inst, "token");
	char err[256];
	struct tok t;

	if (!v)
		return;
	if (tok_from_json(o, v, &t, err, sizeof(err)) == 0) {
		oauth_adopt(&o->core, &t.base);
		if (o->tok.base.needs_login)
			o->grant_logged = 1; /* said when it happened */
		load_locations(o);
	} else {
		o->core.host->log(o->core.inst, HLB_LOG_WARN, "%s: authorize with hlbridge auth login %s -c CONFIG", err,
			     o->core.name);
	}
	json_object_put(v);
}

/* ---- the core's hooks ------------------------------------------------------ */

static int store_own(oauth_core *c)
{
	struct oauth *o = (struct oauth *)c;

	return store_token(o, &o->tok);
}

static const oauth_ops ops = {
	.took_stored = "took the newer token pair from the state store",
	.tok_size = sizeof(struct tok),
	.tok_clear = tok_clear,
	.kept = "token pair",
	.fresh = own_fresh,
	.reload = reload_stored,
	.done = refresh_done,
	.store = store_own,
	.refresh_form = refresh_form,
	.refreshed = on_refresh,
	.exchange_form = exchange_form,
	.exchanged = on_exchange,
	.format_time = ghl_format_time,
};

static int init(const hlb_host *host, hlb_instance *inst, uint32_t role, void **state)
{
	struct oauth *o;
	int rc;

	if (role != HLB_CAP_AUTH || !HLB_HOST_HAS(host, auth_done))
		return HLB_EUNSUPPORTED;
	o = calloc(1, sizeof(*o));
	if (!o)
		return HLB_ENOMEM;
	oauth_core_init(&o->core, &ops, host, inst, "ghl_oauth", &o->tok.base);
	rc = load_options(o);
	if (rc != HLB_OK) {
		oauth_free(o);
		return rc;
	}
	o->core.refresh_url = o->core.token_url;
	load_state(o);
	*state = o;
	return HLB_OK;
}

static void fini(void *state)
{
	oauth_free(state);
}

const hlb_plugin HLB_PLUGIN_EXPORT(ghl_oauth) = {
	HLB_PLUGIN_HEADER,
	.caps = HLB_CAP_AUTH,
	.name = "ghl_oauth",
	.version = PACKAGE_VERSION,
	.summary = "GoHighLevel Marketplace app (OAuth 2.0): login, refresh, agency location tokens",
	.options = options,
	.init = init,
	.check = check,
	.fini = fini,
	.auth_token = auth_token,
	.auth_reject = auth_reject,
	.auth_url = auth_url,
	.auth_exchange = auth_exchange,
	.auth_status = auth_status,
};
