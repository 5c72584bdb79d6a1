/* The shared Octorate client (see octorate_client.h).
 *
 * A request is three steps, each a callback on the event loop: a token
 * from the [auth:] provider; the transfer, paced on
 * "octorate:<quota_id>:<accommodation>"; the answer, parsed or classified.
 * Everything in flight is on a list of the client, so that
 * octo_client_free() cancels it all and no callback runs afterwards. */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "octorate_client.h"

#define ERROR_LEN 768
#define DEFAULT_QUOTA_WAIT_MS (10 * 60 * 1000)
#define QUOTA_WAIT_FIRST_MS 1000
#define QUOTA_WAIT_CAP_MS 60000
#define DAY_MS 86400000LL

struct octo_client {
	api_client core;      /* first: the request engine's part */
	char *plugin;
	json_object *paced;   /* pace keys configured (a set) */
	json_object *quota_spent; /* pace keys whose 403 quota was logged (a set) */
	uint32_t rate_max;
	int64_t rate_ms;
	int64_t max_quota_wait_ms;
	octo_pager *pagers;
};

struct octo_call {
	api_call core;        /* first: method, path, body, token, pace key */
	char *acc;
	octo_reply_cb cb;
	void *arg;
	int64_t quota_waited; /* ms spent waiting for the quota */
	unsigned quota_hits;
};

struct octo_pager {
	octo_client *c;
	octo_pager *prev, *next;
	char *acc, *path;
	unsigned size, page;
	octo_page_state st;
	octo_call *call;
	octo_page_cb on_page;
	octo_done_cb done;
	void *arg;
};

/* ---- pure helpers ------------------------------------------------------- */

int octo_id_ok(const char *id)
{
	size_t n = 0;

	if (!id)
		return 0;
	for (; id[n]; n++)
		if (!isalnum((unsigned char)id[n]) && id[n] != '_' && id[n] != '-')
			return 0;
	return n > 0 && n <= OCTO_ID_MAX;
}

int64_t octo_parse_time(const char *s)
{
	char buf[64];
	size_t n;
	const char *zone;

	if (!s)
		return -1;
	/* Java's ZonedDateTime adds the zone's name in brackets after the
	 * offset; the offset alone fixes the instant. */
	zone = strchr(s, '[');
	n = zone ? (size_t)(zone - s) : strlen(s);
	if (zone && s[strlen(s) - 1] != ']')
		return -1;
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return ghl_parse_time(buf);
}

void octo_format_time(int64_t ms, char *buf, size_t len)
{
	char full[40];

	/* ghl_format_time writes "...:SS.mmmZ": Octorate's form has no ms */
	ghl_format_time(ms - ((ms % 1000) + 1000) % 1000, full, sizeof(full));
	if (strlen(full) == 24 && full[19] == '.')
		memcpy(full + 19, "Z", 2);
	snprintf(buf, len, "%s", full);
}

/* Days since 1970-01-01 of the last Sunday of `month` (3 or 10) in `year`,
 * from a UTC midnight time of its last day. */
static int64_t last_sunday_ms(int year, int month)
{
	char day[16];
	int64_t t, days;
	int wday;

	snprintf(day, sizeof(day), "%04d-%02d-31", year, month);
	t = ghl_parse_time(day);
	days = t / DAY_MS;
	wday = (int)(((days % 7) + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
	return (days - wday) * DAY_MS;
}

void octo_rome_date(int64_t ms, char *buf, size_t len)
{
	char utc[40];
	int year;
	int64_t start, end, off = 3600000;

	ghl_format_time(ms, utc, sizeof(utc));
	year = atoi(utc);
	/* EU summer time: from 01:00 UTC of March's last Sunday to 01:00 UTC
	 * of October's last Sunday. */
	start = last_sunday_ms(year, 3) + 3600000;
	end = last_sunday_ms(year, 10) + 3600000;
	if (ms >= start && ms < end)
		off = 7200000;
	ghl_format_time(ms + off, utc, sizeof(utc));
	snprintf(buf, len, "%.10s", utc);
}

void octo_page_init(octo_page_state *st, unsigned max_pages)
{
	memset(st, 0, sizeof(*st));
	st->max_pages = max_pages ? max_pages : OCTO_MAX_PAGES;
}

octo_page_next octo_page_step(octo_page_state *st, size_t n, int has_next, const char *first_id)
{
	if (n > 0 && first_id && *first_id && st->pages > 0 && strcmp(first_id, st->first_id) == 0)
		return OCTO_PAGE_REPEATED;
	st->pages++;
	snprintf(st->first_id, sizeof(st->first_id), "%s", first_id ? first_id : "");
	if (!has_next || n == 0)
		return OCTO_PAGE_DONE;
	if (st->pages >= st->max_pages)
		return OCTO_PAGE_TOO_MANY;
	return OCTO_PAGE_MORE;
}

/* A non-empty string member, or NULL. */
static const char *text_member(json_object *o, const char *key)
{
	const char *v = ghl_json_string(o, key);

	return v && *v ? v : NULL;
}

void octo_error_text(long status, const char *body, size_t len, const char *request_id, char *buf,
		     size_t buflen, char *type_buf, size_t type_len)
{
	static const char *const extra[] = { "machine_name", "human_name", "element", "suggestion", NULL };
	json_object *root;
	const char *type, *msg;
	ghl_line l;
	int parts = 0;
	char head[48];

	if (!buf || !buflen)
		return;
	root = ghl_parse_object(body, len);
	type = text_member(root, "type");
	msg = text_member(root, "message");
	ghl_line_init(&l, buf, buflen);
	if (type_buf && type_len)
		snprintf(type_buf, type_len, "%s", type ? type : "");
	snprintf(head, sizeof(head), status > 0 ? "HTTP %ld" : "no HTTP answer", status);
	ghl_line_adds(&l, head);
	if (type) {
		ghl_line_adds(&l, " ");
		ghl_line_adds(&l, type);
	}
	if (msg) {
		ghl_line_adds(&l, ": ");
		ghl_line_adds(&l, msg);
	}
	for (const char *const *k = extra; *k; k++) {
		const char *v = text_member(root, *k);

		if (!v || (msg && strcmp(v, msg) == 0))
			continue;
		ghl_line_adds(&l, parts++ ? "; " : " (");
		ghl_line_adds(&l, *k);
		ghl_line_adds(&l, " ");
		ghl_line_adds(&l, v);
	}
	if (parts)
		ghl_line_adds(&l, ")");
	if (!type && !msg && body && len) {
		ghl_line_adds(&l, ": ");
		ghl_line_add(&l, body, len < 200 ? len : 200);
	}
	if (request_id && *request_id) {
		ghl_line_adds(&l, " [request-id ");
		ghl_line_adds(&l, request_id);
		ghl_line_adds(&l, "]");
	}
	json_object_put(root);
}

void octo_note_marker(const char *record_key, int64_t time_ms, const char *line, char *out, size_t len)
{
	char t[24], hex[17];
	uint64_t h = GHL_FNV_INIT;

	snprintf(t, sizeof(t), "%" PRId64, time_ms);
	h = ghl_fnv1a(h, record_key ? record_key : "", record_key ? strlen(record_key) : 0);
	h = ghl_fnv1a(h, "\n", 1);
	h = ghl_fnv1a(h, t, strlen(t));
	h = ghl_fnv1a(h, "\n", 1);
	h = ghl_fnv1a(h, line ? line : "", line ? strlen(line) : 0);
	ghl_hash_out(h, hex);
	snprintf(out, len, " [hlb:%.8s]", hex);
}

char *octo_notes_append(const char *old, const char *const *lines, size_t n, const char *record_key,
			int64_t time_ms, int *oom)
{
	sb_buf b;
	size_t added = 0;
	char marker[OCTO_MARKER_LEN];

	*oom = 0;
	sb_init(&b, 0);
	if (old && *old)
		sb_adds(&b, old);
	for (size_t i = 0; i < n; i++) {
		if (!lines[i] || !*lines[i])
			continue;
		/* A redelivery of the record: its lines carry their marker. The
		 * notes built so far include old ones and this record's lines. */
		octo_note_marker(record_key, time_ms, lines[i], marker, sizeof(marker));
		if (b.data && strstr(b.data, marker))
			continue;
		if (b.len)
			sb_add(&b, "\n", 1);
		sb_adds(&b, lines[i]);
		sb_adds(&b, marker);
		added++;
	}
	if (b.failed) {
		*oom = 1;
		sb_free(&b);
		return NULL;
	}
	if (!added) {
		sb_free(&b);
		return NULL;
	}
	return b.data;
}

int octo_parse_rate(const char *text, uint32_t *max, int64_t *ms)
{
	static const struct { const char *name; int64_t ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "d", 86400000 }
	};
	unsigned long long n;
	long long per = 1;
	char *end;

	if (!text || !isdigit((unsigned char)*text))
		return -1;
	errno = 0;
	n = strtoull(text, &end, 10);
	if (errno || n < 1 || n > UINT32_MAX || *end != '/')
		return -1;
	text = end + 1;
	if (isdigit((unsigned char)*text)) {
		per = strtoll(text, &end, 10);
		if (errno || per < 1 || per > 1000000000LL)
			return -1;
		text = end;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(text, units[i].name) == 0) {
			*max = (uint32_t)n;
			*ms = per * units[i].ms;
			return 0;
		}
	return -1;
}

int octo_id_text(struct json_object *v, char *buf, size_t len)
{
	const char *s;

	if (!v)
		return -1;
	if (json_object_is_type(v, json_type_string))
		s = json_object_get_string(v);
	else if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))
		/* json-c keeps a number too big for int64 as a double with
		 * its original text, which this prints back */
		s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
	else
		return -1;
	if (!s || !*s || strlen(s) >= len || strspn(s, "0123456789") != strlen(s))
		return -1;
	snprintf(buf, len, "%s", s);
	return 0;
}

/* The JSON number at p ('-' or a digit outside a string): *n gets its
 * length; true when it is an integer (no fraction, no exponent) that int64
 * cannot hold. Digits of a fraction or an exponent are part of the number,
 * never a number of their own. */
static int number_at(const char *p, const char *end, size_t *n)
{
	const char *q = p, *digits;
	size_t d;
	int integer = 1;

	if (q < end && *q == '-')
		q++;
	digits = q;
	while (q < end && isdigit((unsigned char)*q))
		q++;
	d = (size_t)(q - digits);
	if (q < end && *q == '.') {
		integer = 0;
		for (q++; q < end && isdigit((unsigned char)*q); q++)
			;
	}
	if (q < end && (*q == 'e' || *q == 'E')) {
		integer = 0;
		q++;
		if (q < end && (*q == '+' || *q == '-'))
			q++;
		while (q < end && isdigit((unsigned char)*q))
			q++;
	}
	*n = (size_t)(q - p) ? (size_t)(q - p) : 1;
	/* negative numbers are no ids: left as they are */
	return integer && digits == p && (d > 19 || (d == 19 && memcmp(p, "9223372036854775807", 19) > 0));
}

/* Copies json to out with the big integers quoted (out NULL: counts
 * them); returns how many. */
static size_t quote_pass(const char *json, size_t len, char *out, size_t *out_len)
{
	const char *p = json, *end = json + len;
	size_t big = 0, n;
	int in_str = 0, quote;
	char *w = out;

	while (p < end) {
		if (in_str || !(*p == '-' || isdigit((unsigned char)*p))) {
			if (in_str && *p == '\\' && p + 1 < end) {
				if (w) {
					*w++ = p[0];
					*w++ = p[1];
				}
				p += 2;
				continue;
			}
			if (*p == '"')
				in_str = !in_str;
			if (w)
				*w++ = *p;
			p++;
			continue;
		}
		quote = number_at(p, end, &n);
		big += quote;
		if (w) {
			if (quote)
				*w++ = '"';
			memcpy(w, p, n);
			w += n;
			if (quote)
				*w++ = '"';
		}
		p += n;
	}
	if (w) {
		*w = '\0';
		*out_len = (size_t)(w - out);
	}
	return big;
}

char *octo_quote_big_ints(const char *json, size_t len, size_t *out_len, int *oom)
{
	size_t big;
	char *out;

	*oom = 0;
	/* first pass: count; most answers have none and are not copied */
	big = quote_pass(json, len, NULL, NULL);
	if (!big)
		return NULL;
	out = malloc(len + 2 * big + 1);
	if (!out) {
		*oom = 1;
		return NULL;
	}
	quote_pass(json, len, out, out_len);
	return out;
}

/* ---- the client: the hooks of the shared engine (api_call.h) -------------------- */

static octo_client *client_of(const api_call *core)
{
	return (octo_client *)(void *)core->e;
}

static void call_clear(api_call *core)
{
	free(((octo_call *)(void *)core)->acc);
}

static void call_deliver(api_call *core, const api_reply *r)
{
	octo_call *call = (octo_call *)(void *)core;
	octo_reply reply = { .rc = r->rc, .status = r->status, .json = r->json, .error = r->error,
			     .retryable = r->retryable, .quota = r->quota, .config = r->config,
			     .needs_login = r->needs_login, .retry_after_ms = r->retry_after_ms };

	call->cb(call->arg, &reply);
}

static const char *call_base_url(api_call *core, const hlb_auth_result *res)
{
	const char *base = text_member(res->info, "base_url");

	(void)core;
	return base ? base : OCTO_BASE_URL;
}

/* Declares the quota of a pace key once (the options were checked against
 * the host's limits: a refusal is said once, not at every request). */
static void call_pace(api_call *core, const char *quota_id)
{
	octo_client *c = client_of(core);
	const char *acc = ((octo_call *)(void *)core)->acc;
	int rc;

	snprintf(core->pace, sizeof(core->pace), "octorate:%s:%s", quota_id && *quota_id ? quota_id : "-",
		 acc ? acc : "-");
	if (json_object_object_get_ex(c->paced, core->pace, NULL) || !c->core.host->pace_configure)
		return;
	rc = c->core.host->pace_configure(c->core.inst, core->pace, c->rate_max, c->rate_ms);
	if (rc != HLB_OK)
		c->core.host->log(c->core.inst, HLB_LOG_ERROR, "the quota %" PRIu32 " per %" PRId64 " ms of %s was "
				  "refused (%s): its requests are not paced", c->rate_max, c->rate_ms, core->pace,
				  c->core.host->strerror(rc));
	json_object_object_add(c->paced, core->pace, NULL);
}

static void call_error_text(api_call *core, long status, const char *body, size_t len, const char *request_id,
			    char *buf, size_t buflen, char *type, size_t type_len)
{
	(void)core;
	octo_error_text(status, body, len, request_id, buf, buflen, type, type_len);
}

/* 403 ApiQuotaException: every request of this accommodation holds for a
 * while (host->pace_block), and this one tries again after it, waiting
 * longer each time, until max_quota_wait_ms is spent. */
static void call_quota(octo_call *call, long status, int64_t retry_after, const char *what)
{
	api_call *core = &call->core;
	octo_client *c = client_of(core);
	const hlb_host *host = c->core.host;
	int64_t wait = retry_after;

	if (wait <= 0) {
		wait = (int64_t)QUOTA_WAIT_FIRST_MS << (call->quota_hits < 6 ? call->quota_hits : 6);
		if (wait > QUOTA_WAIT_CAP_MS)
			wait = QUOTA_WAIT_CAP_MS;
	}
	call->quota_hits++;
	if (HLB_HOST_HAS(host, pace_block) && host->pace_block)
		host->pace_block(c->core.inst, core->pace, wait);
	if (call->quota_waited + wait <= c->max_quota_wait_ms) {
		/* The host logs the hold too: a warning for the first 403 of an
		 * episode (until a call on this key gets an answer), then debug. */
		int first = !json_object_object_get_ex(c->quota_spent, core->pace, NULL);

		if (first)
			json_object_object_add(c->quota_spent, core->pace, NULL);
		call->quota_waited += wait;
		host->log(c->core.inst, first ? HLB_LOG_WARN : HLB_LOG_DEBUG, "%s %s: %s; the quota of %s is spent: "
			  "waiting %" PRId64 " ms", core->method, core->path, what, call->acc ? call->acc : "the app",
			  wait);
		if (api_call_wait(core, wait))
			return;
	}
	{
		api_reply reply = { .rc = HLB_EHTTP, .status = status, .retryable = 1, .quota = 1,
				    .retry_after_ms = wait };

		api_call_fail(core, &reply, "%s %s: %s (the quota is still spent after %" PRId64 " ms)", core->method,
			      core->path, what, call->quota_waited);
	}
}

static const char *wrong_env_hint =
	" -- the app's mode (SANDBOX or PRODUCTION, GET /rest/v1/api/configuration) does not match the "
	"property it calls: a sandbox app reaches only its test property; ask openapi@octorate.com to move "
	"the app to production, or use the test property";

/* Octorate's own answers: a spent quota, a sandbox app on a real property. */
static int call_answer(api_call *core, long status, const hlb_http_response *resp, const char *text,
		       const char *type)
{
	octo_client *c = client_of(core);

	if (status == 403 && strcmp(type, "ApiQuotaException") == 0) {
		const char *ra = c->core.host->http_header(resp, "Retry-After");
		int64_t after = ra ? c->core.host->retry_after_ms(ra) : -1;

		call_quota((octo_call *)(void *)core, status, after > 0 ? after : 0, text);
		return 1;
	}
	/* any other answer on this key ends an episode of a spent quota */
	json_object_object_del(c->quota_spent, core->pace);
	if (status == 403 && strcmp(type, "WrongEnviroment") == 0) {
		api_reply r = { .rc = HLB_EHTTP, .status = status, .config = 1 };

		api_call_fail(core, &r, "%s %s: %s%s", core->method, core->path, text, wrong_env_hint);
		return 1;
	}
	return 0;
}

/* The answer, with integers beyond int64 (20-digit ids) kept as text. */
static json_object *call_parse(api_call *core, const char *text, size_t len)
{
	size_t qlen = 0;
	int oom;
	char *quoted = octo_quote_big_ints(text, len, &qlen, &oom);
	json_object *obj = oom ? NULL : ghl_parse_whole(&core->e->tok, quoted ? quoted : text, quoted ? qlen : len);

	free(quoted);
	return obj;
}

static const api_ops octo_ops = {
	.call_size = sizeof(octo_call),
	.max_response = OCTO_MAX_RESPONSE,
	.text_len = ERROR_LEN,
	.error_len = ERROR_LEN + 256,
	.refused_hint = " (a new token was refused too: see hlbridge auth status -c CONFIG)",
	.request_id = "request-id",
	.partial_status = 1,
	.text_in_401_log = 1,
	.clear = call_clear,
	.deliver = call_deliver,
	.base_url = call_base_url,
	.pace = call_pace,
	.error_text = call_error_text,
	.answer = call_answer,
	.parse = call_parse,
};

octo_client *octo_client_new(const hlb_host *host, hlb_instance *inst, const char *plugin,
			     const char *auth_name, uint32_t rate_max, int64_t rate_ms)
{
	octo_client *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->plugin = strdup(plugin ? plugin : "octorate");
	c->paced = json_object_new_object();
	c->quota_spent = json_object_new_object();
	/* transient failures: a few short backoffs, no Retry-After to bound */
	if (!c->plugin || !c->paced || !c->quota_spent ||
	    api_client_init(&c->core, &octo_ops, host, inst, c->plugin, auth_name, API_DEFAULT_RETRIES, INT64_MAX) < 0) {
		octo_client_free(c);
		return NULL;
	}
	c->rate_max = rate_max ? rate_max : OCTO_RATE_MAX;
	c->rate_ms = rate_ms > 0 ? rate_ms : OCTO_RATE_MS;
	c->max_quota_wait_ms = DEFAULT_QUOTA_WAIT_MS;
	return c;
}

void octo_client_set_retries(octo_client *c, unsigned retries, int64_t max_quota_wait_ms)
{
	c->core.retries = retries;
	c->max_quota_wait_ms = max_quota_wait_ms;
}

void octo_client_free(octo_client *c)
{
	if (!c)
		return;
	while (c->pagers)
		octo_pager_cancel(c->pagers);
	api_client_fini(&c->core);
	json_object_put(c->paced);
	json_object_put(c->quota_spent);
	free(c->plugin);
	free(c);
}

void octo_call_cancel(octo_call *call)
{
	api_call_cancel(call ? &call->core : NULL);
}

octo_call *octo_request(octo_client *c, const char *accommodation, const char *method,
			const char *path_and_query, struct json_object *body, octo_reply_cb cb, void *arg)
{
	octo_call *call;

	if (!c || !method || !path_and_query || !cb)
		return NULL;
	call = (octo_call *)(void *)api_call_new(&c->core);
	if (!call)
		return NULL;
	call->cb = cb;
	call->arg = arg;
	call->acc = ghl_dup_or_null(accommodation);
	if (accommodation && !call->acc) {
		free(call);
		return NULL;
	}
	return api_call_start(&call->core, method, path_and_query, body) == 0 ? call : NULL;
}

/* ---- paging ---------------------------------------------------------------- */

static void pager_free(octo_pager *p)
{
	free(p->acc);
	free(p->path);
	free(p);
}

void octo_pager_cancel(octo_pager *p)
{
	if (!p)
		return;
	octo_call_cancel(p->call);
	GHL_LIST_DEL(p->c->pagers, p);
	pager_free(p);
}

static void pager_finish(octo_pager *p, const octo_reply *reply)
{
	GHL_LIST_DEL(p->c->pagers, p);
	p->done(p->arg, reply);
	pager_free(p);
}

static void pager_fail(octo_pager *p, int rc, const char *fmt, ...) HLB_PRINTF(3, 4);

static void pager_fail(octo_pager *p, int rc, const char *fmt, ...)
{
	char msg[ERROR_LEN];
	octo_reply r = { .rc = rc, .error = msg };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pager_finish(p, &r);
}

static int pager_next(octo_pager *p);

static void on_page(void *arg, const octo_reply *reply)
{
	octo_pager *p = arg;
	json_object *items, *page, *next = NULL;
	char first[OCTO_ID_MAX + 1] = "";
	octo_page_next step;
	size_t n;
	int rc;

	p->call = NULL;
	if (reply->rc != HLB_OK) {
		pager_finish(p, reply);
		return;
	}
	if (!json_object_object_get_ex(reply->json, "data", &items) ||
	    !json_object_is_type(items, json_type_array)) {
		pager_fail(p, HLB_EPARSE, "GET %s (page %u): the answer has no \"data\" array", p->path, p->page);
		return;
	}
	n = json_object_array_length(items);
	if (n) {
		json_object *id;

		if (json_object_object_get_ex(json_object_array_get_idx(items, 0), "id", &id))
			octo_id_text(id, first, sizeof(first));
	}
	if (json_object_object_get_ex(reply->json, "page", &page))
		json_object_object_get_ex(page, "next", &next);
	step = octo_page_step(&p->st, n, next && !json_object_is_type(next, json_type_null), first);
	if (step == OCTO_PAGE_REPEATED) {
		pager_fail(p, HLB_EFAIL, "GET %s: page %u repeats the page before (first reservation %s): "
			   "stopping", p->path, p->page, first);
		return;
	}
	rc = p->on_page(p->arg, items);
	if (rc != HLB_OK) {
		pager_fail(p, rc, "GET %s: stopped at page %u", p->path, p->page);
		return;
	}
	if (step == OCTO_PAGE_DONE) {
		octo_reply ok = { .rc = HLB_OK, .status = reply->status, .error = "" };

		pager_finish(p, &ok);
		return;
	}
	if (step == OCTO_PAGE_TOO_MANY) {
		pager_fail(p, HLB_ETOOBIG, "GET %s: more than %u pages of %u; stopping (raise page_size)", p->path,
			   p->st.max_pages, p->size);
		return;
	}
	p->page++;
	if (pager_next(p) != HLB_OK)
		pager_fail(p, HLB_ENOMEM, "GET %s: out of memory", p->path);
}

static int pager_next(octo_pager *p)
{
	char *path;

	if (asprintf(&path, "%s%cpage=%u&size=%u", p->path, strchr(p->path, '?') ? '&' : '?', p->page,
		     p->size) < 0)
		return HLB_ENOMEM;
	p->call = octo_request(p->c, p->acc, "GET", path, NULL, on_page, p);
	free(path);
	return p->call ? HLB_OK : HLB_ENOMEM;
}

octo_pager *octo_page(octo_client *c, const char *accommodation, const char *path, unsigned size,
		      unsigned max_pages, octo_page_cb page, octo_done_cb done, void *arg)
{
	octo_pager *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->c = c;
	p->acc = ghl_dup_or_null(accommodation);
	p->path = strdup(path);
	p->size = size ? size : 100;
	p->on_page = page;
	p->done = done;
	p->arg = arg;
	octo_page_init(&p->st, max_pages);
	if ((accommodation && !p->acc) || !p->path) {
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
