/* `octorate_oauth`: a credential provider ([auth:NAME] type = octorate_oauth)
 * for an Octorate app, OAuth 2.0 authorization code as Octorate does it.
 *
 * `hlbridge auth login` sends the property owner to authorize_url with
 * client_id, redirect_uri and state only (no response_type or scope), and
 * trades the code that comes back (good for 3 minutes, once) at
 * /rest/v1/identity/token with grant_type=code. One token is one property:
 * a second property is a second [auth:] section.
 *
 * The access token, its expiry and the refresh token live in the state
 * store under "token". Access tokens are refreshed at /rest/v1/identity/refresh
 * ahead of expiry (refresh_margin) and after a 401 (auth_reject). The
 * refresh token does not expire and does not rotate: the answer carries
 * no new one, so the stored one is kept. One refresh at a time: requests
 * that arrive meanwhile wait for its outcome. A refresh refused for its
 * refresh token (401 naming it) marks the credential as needing a new
 * login, persisted and logged once, with a fingerprint (a hash, never the
 * secret) of client_id and client_secret: other client credentials clear
 * the mark. A refusal of the client credentials (or one that names
 * nothing) is an error naming them, not persisted: a login would not help.
 *
 * Tokens and the client secret are never logged or shown. */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "hlbridge/hlbridge.h"
#include "octorate_client.h"
#include "../ghl/oauth_core.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

#define TOKEN_MAX OAUTH_TOKEN_MAX
#define MAX_WAITERS 10000
#define FAIL_QUIET_MS OAUTH_FAIL_QUIET_MS
#define DEFAULT_EXPIRES_S 3600
#define MSG_MAX OAUTH_MSG_MAX

static const hlb_option options[] = {
	{ "client_id", HLB_OPT_STRING, NULL, HLB_OPT_REQUIRED,
	  "the Octorate app's client id (best as ${OCTORATE_CLIENT_ID})", NULL },
	{ "client_secret", HLB_OPT_STRING, NULL, HLB_OPT_REQUIRED | HLB_OPT_SECRET,
	  "the app's client secret, best as ${OCTORATE_CLIENT_SECRET}", NULL },
	{ "base_url", HLB_OPT_STRING, OCTO_BASE_URL, 0,
	  "API base URL; tokens come from base_url/rest/v1/identity/token", NULL },
	{ "authorize_url", HLB_OPT_STRING, OCTO_AUTHORIZE_URL, 0,
	  "where 'hlbridge auth login' sends the property owner to authorize the app", NULL },
	{ "refresh_margin", HLB_OPT_DURATION, "5m", 0,
	  "refresh an access token this long before it expires", NULL },
	{ "timeout", HLB_OPT_DURATION, "30s", 0, "longest time a token request may take", NULL },
	{ NULL, 0, NULL, 0, NULL, NULL }
};

struct tok {
	oauth_tok base;
	int config_changed;  /* needs_login was cleared: other client credentials */
};

struct oauth {
	oauth_core core;        /* first: the hooks cast back */
	char *base_url, *authorize_url;
	char *refresh_url, *quota_id;

	struct tok tok;
	int refused_logged;
	int client_refused_logged;  /* a refusal of the client credentials was logged */
	char client_fp[17];         /* fingerprint of client_id + client_secret */
};

/* ---- helpers --------------------------------------------------------------- */

static void tok_clear(oauth_tok *b)
{
	struct tok *t = (struct tok *)b;

	oauth_tok_clear(&t->base);
	memset(t, 0, sizeof(*t));
}

static int64_t margin_for(const struct oauth *o)
{
	return ghl_token_margin(o->core.margin_ms, o->tok.base.obtained_at, o->tok.base.expires_at);
}

static int fresh(oauth_core *c, int64_t now)
{
	const struct oauth *o = (const struct oauth *)c;

	return o->core.have && !o->core.rejected && !o->tok.base.needs_login && o->tok.base.access &&
	       now + margin_for(o) < o->tok.base.expires_at;
}

static int usable(const struct oauth *o, int64_t now)
{
	return o->core.have && !o->core.rejected && !o->tok.base.needs_login && o->tok.base.access &&
	       now < o->tok.base.expires_at;
}

static void login_message(const struct oauth *o, char *buf, size_t len)
{
	oauth_login_message(&o->core, buf, len);
}

/* ---- answers --------------------------------------------------------------- */

static json_object *info(const struct oauth *o)
{
	json_object *i = json_object_new_object();

	if (i)
		ghl_json_add_str(i, "base_url", o->base_url);
	return i;
}

static void answer_one(struct oauth *o, hlb_auth_call *call, int rc, const char *msg, int needs_login)
{
	hlb_auth_result res = HLB_AUTH_RESULT_INIT;
	json_object *inf = NULL;

	res.rc = rc;
	if (rc == HLB_OK) {
		res.token = o->tok.base.access;
		res.quota_id = o->quota_id;
		res.info = inf = info(o);
	} else {
		res.message = msg;
		res.needs_login = needs_login;
	}
	if (call)
		o->core.host->auth_done(call, &res);
	else
		ghl_waiters_answer(o->core.host, &o->core.waiters, &res);
	json_object_put(inf);
}

/* ---- the store ---------------------------------------------------------------- */

static int store_token(struct oauth *o, const struct tok *t)
{
	json_object *v = json_object_new_object();

	if (!v)
		return HLB_ENOMEM;
	ghl_json_add_str(v, "client_id", o->core.client_id);
	ghl_json_add_str(v, "client_fp", o->client_fp);
	ghl_json_add_str(v, "access_token", t->base.access);
	ghl_json_add_str(v, "refresh_token", t->base.refresh);
	json_object_object_add(v, "expires_at", json_object_new_int64(t->base.expires_at));
	json_object_object_add(v, "obtained_at", json_object_new_int64(t->base.obtained_at));
	json_object_object_add(v, "needs_login", json_object_new_boolean(t->base.needs_login));
	ghl_json_add_str(v, "reason", t->base.reason);
	return o->core.host->state_put(o->core.inst, NULL, "token", v);
}

static int tok_from_json(struct oauth *o, json_object *v, struct tok *t)
{
	const char *cid = ghl_json_string(v, "client_id"), *fp;
	json_object *nl;

	memset(t, 0, sizeof(*t));
	if (!v || !json_object_is_type(v, json_type_object) || (cid && strcmp(cid, o->core.client_id) != 0) ||
	    !ghl_token_ok(ghl_json_string(v, "refresh_token"), TOKEN_MAX))
		return -1;
	if (ghl_set_str(&t->base.access, ghl_json_string(v, "access_token")) || ghl_set_str(&t->base.refresh, ghl_json_string(v, "refresh_token")) ||
	    ghl_set_str(&t->base.reason, ghl_json_string(v, "reason"))) {
		tok_clear(&t->base);
		return -1;
	}
	t->base.expires_at = ghl_json_int(v, "expires_at", 0);
	t->base.obtained_at = ghl_json_int(v, "obtained_at", 0);
	t->base.needs_login = json_object_object_get_ex(v, "needs_login", &nl) && json_object_get_boolean(nl);
	/* A refusal marked under other client credentials (or before they
	 * were fingerprinted) may have been theirs: with these, the refresh
	 * token deserves another try. */
	fp = ghl_json_string(v, "client_fp");
	if (t->base.needs_login && (!fp || strcmp(fp, o->client_fp) != 0)) {
		t->base.needs_login = 0;
		t->config_changed = 1;
		ghl_set_str(&t->base.reason, NULL);
	}
	return 0;
}

/* Takes the stored token when it differs from the one in memory (a login
 * or a refresh by another hlbridge process); 1 when taken. */
static int reload_stored(oauth_core *c)
{
	struct oauth *o = (struct oauth *)c;
	json_object *v = o->core.host->state_get(o->core.inst, "token");
	struct tok t;
	int taken = 0;

	if (v && tok_from_json(o, v, &t) == 0) {
		if (!o->core.have || strcmp(t.base.refresh, o->tok.base.refresh) != 0 ||
		    t.base.needs_login != o->tok.base.needs_login ||
		    (t.base.access && (!o->tok.base.access || strcmp(t.base.access, o->tok.base.access) != 0))) {
			oauth_adopt(&o->core, &t.base);
			taken = 1;
		}
		tok_clear(&t.base);
	}
	json_object_put(v);
	return taken;
}

/* ---- HTTP ------------------------------------------------------------------------ */

/* A failed answer as one line (with Octorate's ApiError and request-id);
 * returns the rc and sets *status_out. */
static int describe(struct oauth *o, const hlb_http_response *resp, const char *what, const char *url,
		    char *msg, size_t len, char *type, size_t type_len)
{
	const hlb_host *host = o->core.host;
	int rc = host->http_result(resp);
	long status = host->http_status(resp);
	size_t blen = 0;
	const char *body = host->http_body(resp, &blen);
	const char *rid = status ? host->http_header(resp, "request-id") : NULL;
	char text[768];

	type[0] = '\0';
	if (status == 0 || rc != HLB_OK) {
		const char *e = host->http_error(resp);

		snprintf(msg, len, "[auth:%s] %s at %s failed: %s", o->core.name, what, url,
			 e && *e ? e : host->strerror(rc));
		return status == 0 ? (rc == HLB_ETIMEDOUT ? rc : HLB_ECONN) : HLB_EHTTP;
	}
	octo_error_text(status, body, blen, rid, text, sizeof(text), type, type_len);
	snprintf(msg, len, "[auth:%s] %s at %s failed: %s", o->core.name, what, url, text);
	if (strcmp(type, "WrongEnviroment") == 0)
		snprintf(msg + strlen(msg), len - strlen(msg), " -- the app's mode (SANDBOX or PRODUCTION) does "
			 "not match this property: a sandbox app reaches only its test property; ask "
			 "openapi@octorate.com to move the app to production");
	if (status >= 500 || status == 429 || status == 408 || strcmp(type, "ApiQuotaException") == 0)
		return HLB_EHTTP;
	return HLB_EFAIL;
}

/* A token answer into t; want_refresh: it must carry a refresh token. 0,
 * or -1 with why in err. */
static int parse_answer(const hlb_host *host, const hlb_http_response *resp, int want_refresh, struct tok *t,
			char *err, size_t errlen)
{
	size_t len = 0;
	const char *body = host->http_body(resp, &len);
	json_object *v = ghl_parse_object(body, len);
	int64_t now = ghl_now_ms(), expires_in, at;
	const char *access;
	int rc = -1;

	memset(t, 0, sizeof(*t));
	if (!v) {
		snprintf(err, errlen, "the answer is not a JSON object");
		goto out;
	}
	/* OAuthToken2 has both spellings */
	access = ghl_json_string(v, "access_token") ? ghl_json_string(v, "access_token") : ghl_json_string(v, "accessToken");
	if (!ghl_token_ok(access, TOKEN_MAX)) {
		snprintf(err, errlen, "the answer has no valid access_token");
		goto out;
	}
	if (want_refresh && !ghl_token_ok(ghl_json_string(v, "refresh_token"), TOKEN_MAX)) {
		snprintf(err, errlen, "the answer has no valid refresh_token");
		goto out;
	}
	expires_in = ghl_json_int(v, "expires_in", -1);
	if (expires_in > 0 && expires_in <= 366LL * 86400) {
		t->base.expires_at = now + expires_in * 1000;
	} else {
		/* expireDate is deprecated, but may be all there is */
		at = octo_parse_time(ghl_json_string(v, "expireDate"));
		t->base.expires_at = at > now ? at : now + DEFAULT_EXPIRES_S * 1000;
	}
	if (ghl_set_str(&t->base.access, access) || ghl_set_str(&t->base.refresh, ghl_json_string(v, "refresh_token"))) {
		snprintf(err, errlen, "out of memory");
		tok_clear(&t->base);
		goto out;
	}
	t->base.obtained_at = now;
	rc = 0;
out:
	json_object_put(v);
	return rc;
}

/* ---- refresh ------------------------------------------------------------------ */

static void refresh_done(oauth_core *c, int rc, const char *msg, int needs_login)
{
	struct oauth *o = (struct oauth *)c;

	if (rc == HLB_OK || usable(o, ghl_now_ms()))
		answer_one(o, NULL, HLB_OK, NULL, 0);
	else
		answer_one(o, NULL, rc, msg, needs_login);
}

/* Whether a refused refresh (401) is about the refresh token: Octorate's
 * ApiError names the field (machine_name refresh_token), its element
 * (Token) or says so in its message. A refusal of the client (machine_name
 * client_id, element Application) or one that names nothing is not. */
static int refuses_refresh_token(const hlb_host *host, const hlb_http_response *resp)
{
	size_t len = 0;
	const char *body = host->http_body(resp, &len);
	json_object *e = ghl_parse_object(body, len);
	const char *field = ghl_json_string(e, "machine_name"), *element = ghl_json_string(e, "element");
	const char *message = ghl_json_string(e, "message");
	int yes = (field && strcasestr(field, "refresh")) || (element && strcasecmp(element, "Token") == 0) ||
		  (message && strcasestr(message, "refresh token"));

	json_object_put(e);
	return yes;
}

static void on_refresh(oauth_core *c, const hlb_http_response *resp)
{
	struct oauth *o = (struct oauth *)c;
	const hlb_host *host = o->core.host;
	long status = host->http_status(resp);
	char msg[MSG_MAX], err[256], type[64], when[40];
	struct tok t;
	ghl_line l;
	size_t skip;
	int rc, refused;

	if (host->http_result(resp) == HLB_OK && status >= 200 && status < 300) {
		if (parse_answer(host, resp, 0, &t, err, sizeof(err)) < 0) {
			snprintf(o->core.fail.msg, sizeof(o->core.fail.msg), "[auth:%s] refreshing the access token at %s: "
				 "HTTP %ld, but %s", o->core.name, o->refresh_url, status, err);
			o->core.fail.rc = HLB_EHTTP;
			o->core.fail.at = ghl_now_ms();
			host->log(o->core.inst, HLB_LOG_ERROR, "%s", o->core.fail.msg);
			refresh_done(&o->core, o->core.fail.rc, o->core.fail.msg, 0);
			return;
		}
		/* No new refresh token comes back: the one we hold stays valid. */
		if (!t.base.refresh && ghl_set_str(&t.base.refresh, o->tok.base.refresh)) {
			tok_clear(&t.base);
			refresh_done(&o->core, HLB_ENOMEM, "out of memory", 0);
			return;
		}
		rc = store_token(o, &t);
		if (rc != HLB_OK)
			host->log(o->core.inst, HLB_LOG_WARN, "could not store the refreshed access token (%s): using it "
				  "anyway; the refresh token is unchanged", host->strerror(rc));
		oauth_adopt(&o->core, &t.base);
		o->core.fail.at = 0;
		o->client_refused_logged = 0;
		octo_format_time(o->tok.base.expires_at, when, sizeof(when));
		host->log(o->core.inst, HLB_LOG_INFO, "access token refreshed, expires %s", when);
		refresh_done(&o->core, HLB_OK, NULL, 0);
		return;
	}
	rc = describe(o, resp, "refreshing the access token", o->refresh_url, msg, sizeof(msg), type,
		      sizeof(type));
	refused = host->http_result(resp) == HLB_OK &&
		  (status == 401 || strcmp(type, "ApiKeyInvalid") == 0 || strcmp(type, "ApiKeyMissing") == 0);
	if (refused && !refuses_refresh_token(host, resp)) {
		/* The app's client_id/client_secret, or a refusal that does not
		 * say: fixing the configuration helps, a login does not. Not
		 * persisted; the next request tries again (not within a second). */
		o->core.fail.rc = HLB_EFAIL;
		o->core.fail.at = ghl_now_ms();
		ghl_line_init(&l, o->core.fail.msg, sizeof(o->core.fail.msg));
		ghl_line_adds(&l, msg);
		ghl_line_adds(&l, " -- Octorate refused the app's client credentials (or did not say what it "
			      "refused): check client_id and client_secret of [auth:");
		ghl_line_adds(&l, o->core.name);
		ghl_line_adds(&l, "]");
		/* the log line names the instance already: "[auth:NAME] " left out */
		skip = strlen(o->core.name) + 8;
		host->log(o->core.inst, o->client_refused_logged ? HLB_LOG_DEBUG : HLB_LOG_ERROR, "%s",
			  o->core.fail.msg + (l.len > skip ? skip : 0));
		o->client_refused_logged = 1;
		refresh_done(&o->core, o->core.fail.rc, o->core.fail.msg, 0);
		return;
	}
	if (refused) {
		snprintf(err, sizeof(err), "Octorate refused the refresh token (HTTP %ld%s%s)", status,
			 *type ? " " : "", type);
		if (!o->refused_logged)
			host->log(o->core.inst, HLB_LOG_ERROR, "%s: the property must authorize the app again: "
				  "hlbridge auth login %s -c CONFIG (%s)", err, o->core.name, msg);
		o->refused_logged = 1;
		o->core.rejected = 1;
		oauth_mark_needs_login(&o->core, err);
		login_message(o, msg, sizeof(msg));
		refresh_done(&o->core, HLB_EFAIL, msg, 1);
		return;
	}
	o->core.fail.rc = rc;
	o->core.fail.at = ghl_now_ms();
	snprintf(o->core.fail.msg, sizeof(o->core.fail.msg), "%s", msg);
	host->log(o->core.inst, HLB_LOG_WARN, "%s%s", msg,
		  usable(o, o->core.fail.at) ? "; the current access token is still good: using it" : "");
	refresh_done(&o->core, rc, msg, 0);
}

/* After client_id and client_secret: Octorate's refresh has no grant_type. */
static int refresh_form(oauth_core *c, ghl_buf *form)
{
	return ghl_form_add(form, "refresh_token", c->tok->refresh);
}

/* ---- callbacks ------------------------------------------------------------------ */

static int auth_token(void *state, hlb_auth_call *call)
{
	struct oauth *o = state;
	int64_t now = ghl_now_ms();
	char msg[MSG_MAX];

	/* a login from another process, looked for at most once a second */
	if ((!o->core.have || o->tok.base.needs_login) && (!o->core.relook_at || now - o->core.relook_at >= FAIL_QUIET_MS)) {
		o->core.relook_at = now;
		if (reload_stored(&o->core) && !o->tok.base.needs_login)
			o->core.host->log(o->core.inst, HLB_LOG_INFO, "found a new authorization in the state store: using it");
	}
	if (!o->core.have || o->tok.base.needs_login) {
		login_message(o, msg, sizeof(msg));
		answer_one(o, call, HLB_EFAIL, msg, 1);
		return HLB_OK;
	}
	if (fresh(&o->core, now)) {
		answer_one(o, call, HLB_OK, NULL, 0);
		return HLB_OK;
	}
	if (ghl_waiters_add(&o->core.waiters, call, MAX_WAITERS) < 0) {
		snprintf(msg, sizeof(msg), "[auth:%s] too many token requests waiting", o->core.name);
		answer_one(o, call, HLB_ETOOBIG, msg, 0);
		return HLB_OK;
	}
	oauth_start_refresh(&o->core);
	return HLB_OK;
}

static void auth_reject(void *state, const char *subject, const char *token)
{
	struct oauth *o = state;

	(void)subject;
	if (token && o->core.have && o->tok.base.access && strcmp(o->tok.base.access, token) == 0)
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
	sb_adds(&b, o->authorize_url);
	ghl_buf_add(&b, strchr(o->authorize_url, '?') ? "&" : "?", 1);
	sb_adds(&b, "client_id=");
	ghl_buf_add_encoded(&b, o->core.client_id);
	sb_adds(&b, "&redirect_uri=");
	ghl_buf_add_encoded(&b, redirect_uri);
	sb_adds(&b, "&state=");
	ghl_buf_add_encoded(&b, csrf);
	if (b.failed)
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
	long status = host->http_status(resp);
	char msg[MSG_MAX], err[256], type[64], when[40];
	struct tok t;
	int rc;

	if (host->http_result(resp) != HLB_OK || status < 200 || status > 299) {
		rc = describe(o, resp, "exchanging the authorization code", o->core.token_url, msg, sizeof(msg), type,
			      sizeof(type));
		if (status == 400 && strcmp(type, "WrongEnviroment") != 0)
			snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), " -- an authorization code is good "
				 "for 3 minutes and once: run 'hlbridge auth login %s -c CONFIG' again and approve "
				 "at once", o->core.name);
		host->finish(job, rc, msg);
		return;
	}
	if (parse_answer(host, resp, 1, &t, err, sizeof(err)) < 0) {
		snprintf(msg, sizeof(msg), "[auth:%s] exchanging the authorization code at %s: HTTP %ld, but %s",
			 o->core.name, o->core.token_url, status, err);
		host->finish(job, HLB_EHTTP, msg);
		return;
	}
	if (!oauth_exchange_kept(c, job, store_token(o, &t))) {
		tok_clear(&t.base);
		return;
	}
	oauth_adopt(&o->core, &t.base);
	o->core.fail.at = 0;
	o->refused_logged = 0;
	octo_format_time(o->tok.base.expires_at, when, sizeof(when));
	snprintf(msg, sizeof(msg), "authorized: Octorate app %s, token expires %s", o->core.client_id, when);
	host->finish(job, HLB_OK, msg);
}

/* After client_id and client_secret: Octorate's grant_type is "code". */
static int exchange_form(oauth_core *c, ghl_buf *form, const char *code, const char *redirect_uri)
{
	(void)c;
	if (ghl_form_add(form, "code", code) < 0 || ghl_form_add(form, "redirect_uri", redirect_uri ? redirect_uri : "") < 0)
		return -1;
	return ghl_form_add(form, "grant_type", "code");
}

static int auth_exchange(void *state, hlb_job *job, const char *code, const char *redirect_uri)
{
	struct oauth *o = state;

	return oauth_exchange(&o->core, job, code, redirect_uri);
}

static json_object *auth_status(void *state)
{
	struct oauth *o = state;
	json_object *s = oauth_status_new(&o->core, "octorate_oauth");

	if (!s)
		return NULL;
	if (!o->core.have) {
		oauth_status_unauthorized(s);
		return s;
	}
	json_object_object_add(s, "authorized", json_object_new_boolean(1));
	oauth_status_times(&o->core, s, ghl_now_ms());
	json_object_object_add(s, "has_refresh_token", json_object_new_boolean(o->tok.base.refresh != NULL));
	oauth_status_login(&o->core, s);
	return s;
}

/* Tells what is stored; sends nothing. */
static int check(void *state, hlb_job *job)
{
	struct oauth *o = state;
	char msg[MSG_MAX], when[40];

	if (oauth_check_login(&o->core, job))
		return HLB_OK;
	octo_format_time(o->tok.base.expires_at, when, sizeof(when));
	snprintf(msg, sizeof(msg), "authorized: Octorate app %s, access token expires %s (refreshed when needed)",
		 o->core.client_id, when);
	o->core.host->finish(job, HLB_OK, msg);
	return HLB_OK;
}

/* ---- setup ------------------------------------------------------------------------ */

static void oauth_free(struct oauth *o)
{
	if (!o)
		return;
	oauth_core_fini(&o->core);
	tok_clear(&o->tok.base);
	free(o->base_url);
	free(o->authorize_url);
	free(o->refresh_url);
	free(o->quota_id);
	free(o);
}

static int load_options(struct oauth *o)
{
	const hlb_host *host = o->core.host;
	hlb_instance *inst = o->core.inst;
	const char *client_id = host->option(inst, "client_id");
	const char *secret = host->option(inst, "client_secret");
	const char *base_url = host->option(inst, "base_url");
	const char *authorize_url = host->option(inst, "authorize_url");
	int bad = 0;

	if (!client_id || !*client_id || strlen(client_id) > 256 || strpbrk(client_id, " \t\r\n:/")) {
		host->option_error(inst, "client_id", "is not a client id (one word, at most 256 characters)");
		bad++;
	}
	bad += oauth_check_options(&o->core, secret, base_url, authorize_url, "OCTORATE_CLIENT_SECRET");
	bad += oauth_load_times(&o->core);
	if (bad)
		return HLB_EINVAL;
	/* a fingerprint, never the secret: tells a changed configuration */
	{
		uint64_t h = ghl_fnv1a(GHL_FNV_INIT, "octorate_oauth", 15);

		h = ghl_fnv1a(h, client_id, strlen(client_id) + 1);
		ghl_hash_out(ghl_fnv1a(h, secret, strlen(secret)), o->client_fp);
	}
	/* Octorate counts calls per app and property: one token is one
	 * property, one [auth:] section each. */
	if (!(o->core.client_id = strdup(client_id)) || !(o->core.client_secret = strdup(secret)) ||
	    !(o->base_url = strdup(base_url)) || !(o->authorize_url = strdup(authorize_url)) ||
	    !(o->core.token_url = ghl_url_join(base_url, "/rest/v1/identity/token")) ||
	    !(o->refresh_url = ghl_url_join(base_url, "/rest/v1/identity/refresh")) ||
	    asprintf(&o->quota_id, "%s/%s", client_id, o->core.name) < 0) {
		o->quota_id = NULL;
		return HLB_ENOMEM;
	}
	return HLB_OK;
}

/* ---- the core's hooks ------------------------------------------------------------ */

static int store_own(oauth_core *c)
{
	struct oauth *o = (struct oauth *)c;

	return store_token(o, &o->tok);
}

static const oauth_ops ops = {
	.took_stored = NULL,
	.tok_size = sizeof(struct tok),
	.tok_clear = tok_clear,
	.kept = "token",
	.fresh = fresh,
	.reload = reload_stored,
	.done = refresh_done,
	.store = store_own,
	.refresh_form = refresh_form,
	.refreshed = on_refresh,
	.exchange_form = exchange_form,
	.exchanged = on_exchange,
	.format_time = octo_format_time,
};

static int init(const hlb_host *host, hlb_instance *inst, uint32_t role, void **state)
{
	struct oauth *o;
	json_object *v;
	struct tok t;
	int rc;

	if (role != HLB_CAP_AUTH || !HLB_HOST_HAS(host, auth_done))
		return HLB_EUNSUPPORTED;
	o = calloc(1, sizeof(*o));
	if (!o)
		return HLB_ENOMEM;
	oauth_core_init(&o->core, &ops, host, inst, "octorate_oauth", &o->tok.base);
	rc = load_options(o);
	if (rc != HLB_OK) {
		oauth_free(o);
		return rc;
	}
	o->core.refresh_url = o->refresh_url;
	v = host->state_get(inst, "token");
	if (v && tok_from_json(o, v, &t) == 0) {
		if (t.config_changed)
			host->log(inst, HLB_LOG_INFO, "the client credentials are not those the credential was marked "
				  "as needing a login with: trying its refresh token again");
		oauth_adopt(&o->core, &t.base);
		o->refused_logged = o->tok.base.needs_login;
	} else if (v) {
		host->log(inst, HLB_LOG_WARN, "the stored token is unusable or of another app: authorize with "
			  "hlbridge auth login %s -c CONFIG", o->core.name);
	}
	json_object_put(v);
	*state = o;
	return HLB_OK;
}

static void fini(void *state)
{
	oauth_free(state);
}

const hlb_plugin HLB_PLUGIN_EXPORT(octorate_oauth) = {
	HLB_PLUGIN_HEADER,
	.caps = HLB_CAP_AUTH,
	.name = "octorate_oauth",
	.version = PACKAGE_VERSION,
	.summary = "Octorate app (OAuth 2.0 per property): login, refresh ahead of expiry and after a 401",
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
