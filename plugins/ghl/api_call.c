/* One call to a JSON API with a bearer token (see api_call.h). */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "api_call.h"
#include "ghl_util.h"

#define TOKEN_HEADER_MAX 8192   /* "Authorization: Bearer ..." */
#define URL_MAX 8192
#define REQUEST_TIMEOUT_MS 60000
#define BACKOFF_BASE_MS 500
#define LINE_MAX_ 1024          /* the longest error line or text of any client */
#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

static size_t cap(size_t want, size_t have)
{
	return want && want < have ? want : have;
}

int api_client_init(api_client *e, const api_ops *ops, const hlb_host *host, hlb_instance *inst,
		    const char *plugin, const char *auth, unsigned retries, int64_t max_wait_ms)
{
	e->ops = ops;
	e->host = host;
	e->inst = inst;
	e->auth = auth ? strdup(auth) : NULL;
	if (!e->auth)
		return -1;
	ghl_user_agent(host, plugin, e->user_agent, sizeof(e->user_agent));
	e->retries = retries;
	e->max_wait_ms = max_wait_ms;
	e->rng = (uint64_t)(uintptr_t)e ^ 0x9e3779b97f4a7c15ULL;
	return 0;
}

void api_client_fini(api_client *e)
{
	while (e->calls)
		api_call_cancel(e->calls);
	if (e->tok)
		json_tokener_free(e->tok);
	e->tok = NULL;
	free(e->auth);
	e->auth = NULL;
}

api_call *api_call_new(api_client *e)
{
	api_call *call = calloc(1, e->ops->call_size);

	if (call)
		call->e = e;
	return call;
}

static void call_free(api_call *call)
{
	if (call->e->ops->clear)
		call->e->ops->clear(call);
	free(call->method);
	free(call->path);
	free(call->body);
	ghl_free_secret(call->token);
	free(call);
}

void api_call_cancel(api_call *call)
{
	api_client *e;

	if (!call || call->done)
		return;
	e = call->e;
	if (call->auth)
		e->host->auth_cancel(call->auth);
	if (call->http)
		e->host->http_cancel(call->http);
	if (call->timer)
		e->host->timer_stop(call->timer);
	GHL_LIST_DEL(e->calls, call);
	call_free(call);
}

/* Ends the call: unlinked before the callback, so that the callback may
 * free the client, and freed after it. */
static void call_reply(api_call *call, api_reply *reply)
{
	GHL_LIST_DEL(call->e->calls, call);
	call->done = 1;
	if (!reply->error)
		reply->error = "";
	call->e->ops->deliver(call, reply);
	call_free(call);
}

void api_call_fail(api_call *call, const api_reply *base, const char *fmt, ...)
{
	char msg[LINE_MAX_];
	api_reply reply = *base;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, cap(call->e->ops->error_len, sizeof(msg)), fmt, ap);
	va_end(ap);
	reply.error = msg;
	call_reply(call, &reply);
}

static const char *subject_of(api_call *call, int asking)
{
	return call->e->ops->subject ? call->e->ops->subject(call, asking) : NULL;
}

/* " for location X" or "" into buf. */
static const char *where(const api_call *call, char *buf, size_t len)
{
	buf[0] = '\0';
	if (call->e->ops->where)
		call->e->ops->where(call, buf, len);
	return buf;
}

static void on_token(void *arg, const hlb_auth_result *res);
static void on_http(void *arg, const hlb_http_response *resp);

/* Asks for the token the call needs: HLB_OK, or an error when the
 * provider could not be asked at all. */
static int start_token(api_call *call)
{
	api_client *e = call->e;
	const char *subject = subject_of(call, 1);

	call->auth = e->host->auth_token(e->inst, e->auth, subject, on_token, call);
	return call->auth ? HLB_OK : HLB_ENOMEM;
}

void api_call_restart(api_call *call)
{
	if (start_token(call) != HLB_OK) {
		api_reply r = { .rc = HLB_ENOMEM, .retryable = 1 };

		api_call_fail(call, &r, "%s %s: [auth:%s] could not be asked for a token", call->method, call->path,
			      call->e->auth);
	}
}

static void on_retry_timer(void *arg)
{
	api_call *call = arg;

	call->timer = NULL; /* a one-shot timer is freed after it fires */
	api_call_restart(call);
}

int api_call_wait(api_call *call, int64_t wait)
{
	call->timer = call->e->host->timer_start(call->e->inst, wait, 0, on_retry_timer, call);
	return call->timer != NULL;
}

/* A transient failure: waits and starts over while retries are left and
 * the wait is short enough; otherwise reports it as retryable. */
static void call_transient(api_call *call, int rc, long status, int64_t retry_after_ms, const char *what)
{
	api_client *e = call->e;
	int64_t wait = retry_after_ms;
	char loc[160], after[48] = "";

	if (wait <= 0)
		wait = ghl_backoff_ms(&e->rng, call->attempts, BACKOFF_BASE_MS);
	where(call, loc, sizeof(loc));
	if (call->attempts < e->retries && wait <= e->max_wait_ms) {
		call->attempts++;
		e->host->log(e->inst, HLB_LOG_WARN, "%s %s%s: %s; retrying in %" PRId64 " ms (retry %u of %u)",
			     call->method, call->path, loc, what, wait, call->attempts, e->retries);
		if (api_call_wait(call, wait))
			return;
	}
	{
		api_reply reply = { .rc = rc, .status = status, .retryable = 1,
				    .retry_after_ms = retry_after_ms > 0 ? retry_after_ms : 0 };

		if (call->attempts && e->ops->say_retries)
			snprintf(after, sizeof(after), " (after %u retr%s)", call->attempts,
				 call->attempts == 1 ? "y" : "ies");
		api_call_fail(call, &reply, "%s %s%s: %s%s", call->method, call->path, loc, what, after);
	}
}

static void send_request(api_call *call, const hlb_auth_result *res)
{
	api_client *e = call->e;
	hlb_http_request req = HLB_HTTP_REQUEST_INIT;
	char extra[128] = "", ua[160];
	const char *headers[7];
	ghl_buf url, auth;
	size_t h = 0;

	ghl_free_secret(call->token);
	call->token = strdup(res->token);
	if (!call->token) {
		api_reply r = { .rc = HLB_ENOMEM, .retryable = 1 };

		api_call_fail(call, &r, "%s %s: out of memory", call->method, call->path);
		return;
	}
	e->ops->pace(call, res->quota_id);
	ghl_buf_init(&url, URL_MAX);
	ghl_buf_init(&auth, TOKEN_HEADER_MAX);
	if (ghl_url_build(&url, e->ops->base_url(call, res), call->path) < 0 ||
	    ghl_buf_addf(&auth, "Authorization: Bearer %s", call->token) < 0) {
		api_reply r = { .rc = HLB_ETOOBIG };

		ghl_buf_free(&url);
		ghl_buf_free(&auth);
		api_call_fail(call, &r, "%s %s: the URL or the token is too long", call->method, call->path);
		return;
	}
	if (e->ops->header)
		e->ops->header(call, extra, sizeof(extra));
	snprintf(ua, sizeof(ua), "User-Agent: %s", e->user_agent);
	headers[h++] = auth.data;
	if (extra[0])
		headers[h++] = extra;
	headers[h++] = call->raw ? "Accept: */*" : "Accept: application/json";
	if (call->body)
		headers[h++] = "Content-Type: application/json";
	headers[h++] = ua;
	headers[h] = NULL;
	req.method = call->method;
	req.url = url.data;
	req.headers = headers;
	req.body = call->body;
	req.body_len = call->body_len;
	req.timeout_ms = REQUEST_TIMEOUT_MS;
	req.max_response = e->ops->max_response;
	req.pace_key = call->pace;
	call->http = e->host->http_request(e->inst, &req, on_http, call);
	/* The host copied what it needs; the token must not linger in memory
	 * longer than necessary either. */
	memset(auth.data, 0, auth.len);
	ghl_buf_free(&auth);
	ghl_buf_free(&url);
	if (!call->http) {
		api_reply r = { .rc = HLB_ENOMEM, .retryable = 1 };

		api_call_fail(call, &r, "%s %s: the request could not be started", call->method, call->path);
	}
}

static void on_token(void *arg, const hlb_auth_result *res)
{
	api_call *call = arg;
	api_client *e = call->e;

	call->auth = NULL;
	if (e->ops->token_info)
		e->ops->token_info(call, res);
	if (res->rc != HLB_OK || !res->token || !*res->token) {
		/* The provider's message says what to do (a login, a new
		 * token): it is passed on as it is. */
		api_reply r = { .rc = res->rc != HLB_OK ? res->rc : HLB_EFAIL, .retryable = !res->needs_login,
				.needs_login = res->needs_login };

		api_call_fail(call, &r, "%s %s: no token from [auth:%s]: %s", call->method, call->path, e->auth,
			      res->message ? res->message : e->host->strerror(res->rc));
		return;
	}
	if (e->ops->token_ok && !e->ops->token_ok(call, res))
		return;
	send_request(call, res);
}

static int64_t retry_after(const api_client *e, const hlb_http_response *resp)
{
	const char *v = e->host->http_header(resp, "Retry-After");
	int64_t ms = v ? e->host->retry_after_ms(v) : -1;

	return ms > 0 ? ms : 0;
}

static void on_http(void *arg, const hlb_http_response *resp)
{
	api_call *call = arg;
	api_client *e = call->e;
	const api_ops *ops = e->ops;
	int result = e->host->http_result(resp);
	long status = e->host->http_status(resp);
	size_t len = 0, tlen = cap(ops->text_len, LINE_MAX_);
	const char *body = e->host->http_body(resp, &len);
	const char *rid = status && ops->request_id ? e->host->http_header(resp, ops->request_id) : NULL;
	char text[LINE_MAX_], type[64] = "", rid_copy[128], loc[160];

	call->http = NULL;
	snprintf(rid_copy, sizeof(rid_copy), "%s", rid ? rid : "");
	if (result == HLB_ETOOBIG) {
		api_reply r = { .rc = HLB_ETOOBIG, .status = ops->partial_status ? status : 0 };

		api_call_fail(call, &r, "%s %s: the answer is larger than %u bytes%s", call->method, call->path,
			      ops->max_response, call->raw ? " (the cap on an answer read, files included)" : "");
		return;
	}
	if (result != HLB_OK || status == 0) {
		const char *err = e->host->http_error(resp);

		snprintf(text, tlen, "%s%s", status && ops->partial_status ? "the answer was cut short: " : "",
			 err && *err ? err : e->host->strerror(result));
		call_transient(call, result != HLB_OK ? result : HLB_ECONN, ops->partial_status ? status : 0, 0, text);
		return;
	}
	ops->error_text(call, status, body, len, rid_copy, text, tlen, type, sizeof(type));
	if (status == 401 && !call->rejected) {
		/* The provider drops the token and mints or refreshes another. */
		call->rejected = 1;
		e->host->auth_reject(e->inst, e->auth, subject_of(call, 0), call->token);
		if (ops->text_in_401_log)
			e->host->log(e->inst, HLB_LOG_INFO, "[auth:%s] %s %s: %s; asking for a new token", e->auth,
				     call->method, call->path, text);
		else
			e->host->log(e->inst, HLB_LOG_INFO, "[auth:%s] %s %s: HTTP 401, asking for a new token",
				     e->auth, call->method, call->path);
		api_call_restart(call);
		return;
	}
	if (ops->answer && ops->answer(call, status, resp, text, type))
		return;
	if (status == 408 || status == 429 || status >= 500) {
		call_transient(call, HLB_EHTTP, status, ops->honour_retry_after ? retry_after(e, resp) : 0, text);
		return;
	}
	if (status < 200 || status > 299) {
		api_reply r = { .rc = HLB_EHTTP, .status = status };
		/* The text leaves room for the hint. */
		size_t room = cap(ops->error_len, LINE_MAX_) - 64 - 1;

		api_call_fail(call, &r, "%s %s%s: %.*s%s", call->method, call->path, where(call, loc, sizeof(loc)),
			      (int)(strlen(text) < room ? strlen(text) : room), text,
			      status == 401 && ops->refused_hint ? ops->refused_hint : "");
		return;
	}
	if (call->raw) {
		/* a file is handed over as it came: no JSON to check */
		api_reply r = { .rc = HLB_OK, .status = status,
				.raw = (const unsigned char *)(body ? body : ""), .raw_len = body ? len : 0,
				.content_type = e->host->http_header(resp, "Content-Type") };

		call_reply(call, &r);
		return;
	}
	{
		api_reply r = { .rc = HLB_OK, .status = status };
		size_t i = 0;

		while (i < len && isspace((unsigned char)body[i]))
			i++;
		if (i < len) {
			r.json = ops->parse ? ops->parse(call, body, len) : ghl_parse_whole(&e->tok, body, len);
			if (!r.json) {
				snprintf(text, tlen, "HTTP %ld with a malformed or truncated JSON body (%zu bytes)%s%s%s",
					 status, len, *rid_copy ? " [request-id " : "", rid_copy, *rid_copy ? "]" : "");
				call_transient(call, HLB_EPARSE, status, 0, text);
				return;
			}
		}
		call_reply(call, &r);
		json_object_put(r.json);
	}
}

int api_call_start(api_call *call, const char *method, const char *path, struct json_object *body)
{
	api_client *e = call->e;

	call->method = strdup(method);
	call->path = strdup(path);
	if (body) {
		call->body = ghl_dup_or_null(json_object_to_json_string_ext(body, JSON_FLAGS));
		call->body_len = call->body ? strlen(call->body) : 0;
	}
	if (!call->method || !call->path || (body && !call->body) || start_token(call) != HLB_OK) {
		call_free(call);
		return -1;
	}
	GHL_LIST_ADD(e->calls, call);
	return 0;
}
