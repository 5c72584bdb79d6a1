/* The shared skeleton of the OAuth credential providers: see oauth_core.h. */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "oauth_core.h"

void oauth_core_init(oauth_core *c, const oauth_ops *ops, const hlb_host *host, hlb_instance *inst,
		     const char *plugin, oauth_tok *tok)
{
	c->ops = ops;
	c->host = host;
	c->inst = inst;
	c->name = host->instance_name(inst);
	c->tok = tok;
	ghl_user_agent(host, plugin, c->user_agent, sizeof(c->user_agent));
}

void oauth_core_fini(oauth_core *c)
{
	hlb_auth_result res = HLB_AUTH_RESULT_INIT;

	if (c->refresh)
		c->host->http_cancel(c->refresh);
	if (c->exchange)
		c->host->http_cancel(c->exchange);
	c->refresh = c->exchange = NULL;
	res.rc = HLB_ECANCELED;
	res.message = "hlbridge is stopping";
	ghl_waiters_answer(c->host, &c->waiters, &res);
	free(c->client_id);
	ghl_free_secret(c->client_secret);
	free(c->token_url);
	c->client_id = c->client_secret = c->token_url = NULL;
}

int oauth_check_options(oauth_core *c, const char *secret, const char *base_url, const char *authorize_url,
			const char *env)
{
	int bad = 0;

	if (!secret || !*secret || strpbrk(secret, "\r\n")) {
		c->host->option_error(c->inst, "client_secret", "must be one non-empty line (such as ${%s})", env);
		bad++;
	}
	if (!ghl_url_ok(base_url)) {
		c->host->option_error(c->inst, "base_url", "must be an http:// or https:// URL");
		bad++;
	}
	if (!ghl_url_ok(authorize_url)) {
		c->host->option_error(c->inst, "authorize_url", "must be an http:// or https:// URL");
		bad++;
	}
	return bad;
}

int oauth_load_times(oauth_core *c)
{
	int bad = 0;

	c->margin_ms = c->host->option_ms(c->inst, "refresh_margin", 300000);
	if (c->margin_ms < 0) {
		c->host->option_error(c->inst, "refresh_margin", "must not be negative");
		bad++;
	}
	c->timeout_ms = c->host->option_ms(c->inst, "timeout", 30000);
	if (c->timeout_ms <= 0) {
		c->host->option_error(c->inst, "timeout", "must be longer than 0");
		bad++;
	}
	return bad;
}

void oauth_tok_clear(oauth_tok *t)
{
	ghl_free_secret(t->access);
	ghl_free_secret(t->refresh);
	free(t->reason);
	memset(t, 0, sizeof(*t));
}

void oauth_adopt(oauth_core *c, oauth_tok *t)
{
	c->ops->tok_clear(c->tok);
	memcpy(c->tok, t, c->ops->tok_size);
	memset(t, 0, c->ops->tok_size);
	c->have = 1;
	c->rejected = 0;
}

hlb_http *oauth_post_form(oauth_core *c, const char *url, const ghl_buf *form, hlb_http_cb cb, void *arg)
{
	return ghl_post_form(c->host, c->inst, url, form, c->user_agent, NULL, c->timeout_ms, OAUTH_ANSWER_MAX,
			     NULL, cb, arg);
}

void oauth_login_message(const oauth_core *c, char *buf, size_t len)
{
	ghl_login_message(buf, len, c->name, c->have, c->tok->reason);
}

void oauth_mark_needs_login(oauth_core *c, const char *reason)
{
	int rc;

	c->tok->needs_login = 1;
	ghl_set_str(&c->tok->reason, reason);
	rc = c->ops->store(c);
	if (rc != HLB_OK)
		c->host->log(c->inst, HLB_LOG_ERROR, "could not store that the credential needs a new login: %s",
			     c->host->strerror(rc));
}

/* ---- refresh ------------------------------------------------------------- */

static void on_refresh(void *arg, const hlb_http_response *resp)
{
	oauth_core *c = arg;

	c->refresh = NULL;
	if (HLB_HOST_HAS(c->host, metric_add)) {
		long status = c->host->http_status(resp);
		const char *labels[] = { "auth", c->name, "result", status >= 200 && status < 300 ? "ok" : "failed",
					 NULL };

		c->host->metric_add(c->inst, "hlbridge_oauth_refreshes_total",
				    "OAuth token refreshes, by credential and result", labels, 1);
	}
	c->ops->refreshed(c, resp);
}

/* The form carries the refresh token: wiped after use. */
static void form_wipe(ghl_buf *form)
{
	if (form->data)
		memset(form->data, 0, form->len);
	ghl_buf_free(form);
}

void oauth_start_refresh(oauth_core *c)
{
	int64_t now = ghl_now_ms();
	char msg[OAUTH_MSG_MAX];
	ghl_buf form;

	if (c->refresh)
		return;
	/* Another hlbridge process may have refreshed (and, where refresh
	 * tokens rotate, spent the one we hold): take the store's newer one. */
	if (c->ops->reload(c)) {
		if (c->ops->took_stored)
			c->host->log(c->inst, HLB_LOG_INFO, "%s", c->ops->took_stored);
		if (c->ops->fresh(c, now)) {
			c->ops->done(c, HLB_OK, NULL, 0);
			return;
		}
	}
	if (c->tok->needs_login) {
		oauth_login_message(c, msg, sizeof(msg));
		c->rejected = 1; /* not to be handed out as still usable */
		c->ops->done(c, HLB_EFAIL, msg, 1);
		return;
	}
	if (c->fail.at && now >= c->fail.at && now - c->fail.at < OAUTH_FAIL_QUIET_MS) {
		c->ops->done(c, c->fail.rc, c->fail.msg, 0);
		return;
	}
	ghl_buf_init(&form, OAUTH_TOKEN_MAX * 2 + 1024);
	if (ghl_form_add(&form, "client_id", c->client_id) < 0 ||
	    ghl_form_add(&form, "client_secret", c->client_secret) < 0 || c->ops->refresh_form(c, &form) < 0 ||
	    !(c->refresh = oauth_post_form(c, c->refresh_url, &form, on_refresh, c))) {
		snprintf(msg, sizeof(msg), "[auth:%s] could not start the token refresh (out of memory)", c->name);
		c->ops->done(c, HLB_ENOMEM, msg, 0);
	}
	form_wipe(&form);
}

/* ---- the authorization code ------------------------------------------------ */

static void on_exchange(void *arg, const hlb_http_response *resp)
{
	oauth_core *c = arg;
	hlb_job *job = c->exchange_job;

	c->exchange = NULL;
	c->exchange_job = NULL;
	c->ops->exchanged(c, job, resp);
}

int oauth_exchange(oauth_core *c, hlb_job *job, const char *code, const char *redirect_uri)
{
	char msg[OAUTH_MSG_MAX];
	ghl_buf form;

	if (c->exchange) {
		snprintf(msg, sizeof(msg), "[auth:%s] an authorization code is being exchanged already", c->name);
		c->host->finish(job, HLB_EINVAL, msg);
		return HLB_OK;
	}
	if (!code || !*code || strlen(code) > OAUTH_TOKEN_MAX) {
		snprintf(msg, sizeof(msg), "[auth:%s] the redirect carried no usable authorization code", c->name);
		c->host->finish(job, HLB_EINVAL, msg);
		return HLB_OK;
	}
	ghl_buf_init(&form, OAUTH_TOKEN_MAX * 2 + 2048);
	if (ghl_form_add(&form, "client_id", c->client_id) < 0 ||
	    ghl_form_add(&form, "client_secret", c->client_secret) < 0 ||
	    c->ops->exchange_form(c, &form, code, redirect_uri) < 0 ||
	    !(c->exchange = oauth_post_form(c, c->token_url, &form, on_exchange, c))) {
		snprintf(msg, sizeof(msg), "[auth:%s] could not send the authorization code (out of memory)",
			 c->name);
		c->host->finish(job, HLB_ENOMEM, msg);
	} else {
		c->exchange_job = job;
	}
	form_wipe(&form);
	return HLB_OK;
}

int oauth_exchange_kept(oauth_core *c, hlb_job *job, int rc)
{
	char msg[OAUTH_MSG_MAX];

	if (rc == HLB_OK)
		return 1;
	snprintf(msg, sizeof(msg), "[auth:%s] the state store could not keep the %s (%s): run the login again",
		 c->name, c->ops->kept, c->host->strerror(rc));
	c->host->finish(job, rc, msg);
	return 0;
}

/* ---- status and check ------------------------------------------------------- */

json_object *oauth_status_new(const oauth_core *c, const char *type)
{
	json_object *s = json_object_new_object();

	if (!s)
		return NULL;
	ghl_json_add_str(s, "type", type);
	ghl_json_add_str(s, "client_id", c->client_id);
	return s;
}

void oauth_status_unauthorized(json_object *s)
{
	json_object_object_add(s, "authorized", json_object_new_boolean(0));
	json_object_object_add(s, "needs_login", json_object_new_boolean(1));
	ghl_json_add_str(s, "reason", "not authorized yet: run hlbridge auth login");
}

void oauth_status_times(const oauth_core *c, json_object *s, int64_t now)
{
	const oauth_tok *t = c->tok;
	char when[40];

	c->ops->format_time(t->expires_at, when, sizeof(when));
	ghl_json_add_str(s, "expires_at", when);
	json_object_object_add(s, "expires_in_s",
			       json_object_new_int64(t->expires_at > now ? (t->expires_at - now) / 1000 : 0));
	if (t->obtained_at > 0) {
		c->ops->format_time(t->obtained_at, when, sizeof(when));
		ghl_json_add_str(s, "obtained_at", when);
	}
}

void oauth_status_login(const oauth_core *c, json_object *s)
{
	json_object_object_add(s, "needs_login", json_object_new_boolean(c->tok->needs_login));
	if (c->tok->needs_login && c->tok->reason)
		ghl_json_add_str(s, "reason", c->tok->reason);
}

int oauth_check_login(oauth_core *c, hlb_job *job)
{
	char msg[OAUTH_MSG_MAX];

	if (c->have && !c->tok->needs_login)
		return 0;
	oauth_login_message(c, msg, sizeof(msg));
	c->host->finish(job, HLB_EFAIL, msg);
	return 1;
}
