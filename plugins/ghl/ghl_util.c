/* Small pieces every GoHighLevel module needs (see ghl_util.h).
 *
 * Status: DONE — every prototype of ghl_util.h is implemented here and
 * unit-tested by tests/test_ghl_util.c; the helpers shared with the
 * Octorate modules (the part at the end) by tests/test_octorate.c.
 *
 * Pure code: no host service is called except reading host->version in
 * ghl_user_agent and, in ghl_post_form and ghl_waiters_answer, the
 * service they are asked to call, so the unit tests run it without a host. */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>

#include "ghl_util.h"

#define ERROR_BODY_EXCERPT 200     /* bytes of a non-JSON body quoted */
#define ERROR_BODY_PARSE_MAX 65536 /* larger bodies are not parsed as JSON */

void ghl_user_agent(const hlb_host *host, const char *plugin, char *buf, size_t len)
{
	if (!buf || !len)
		return;
	snprintf(buf, len, "hlbridge/%s (+plugin %s)",
		 host && host->version ? host->version : "unknown", plugin ? plugin : "ghl");
}

/* ---- form encoding ---- */

static int is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* All or nothing: the encoded length is known first, so a value that does
 * not fit leaves the buffer as it was. */
int ghl_buf_add_encoded(ghl_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	size_t n = 0;
	char *out;

	if (!s)
		s = "";
	for (p = (const unsigned char *)s; *p; p++)
		n += is_unreserved(*p) ? 1 : 3;
	if (sb_reserve(b, n) < 0)
		return -1;
	out = b->data + b->len;
	for (p = (const unsigned char *)s; *p; p++) {
		if (is_unreserved(*p)) {
			*out++ = (char)*p;
		} else {
			*out++ = '%';
			*out++ = hex[*p >> 4];
			*out++ = hex[*p & 15];
		}
	}
	*out = '\0';
	b->len += n;
	return 0;
}

int ghl_form_add(ghl_buf *b, const char *name, const char *value)
{
	size_t saved = b->len;

	if ((b->len && ghl_buf_add(b, "&", 1) < 0) || ghl_buf_add_encoded(b, name) < 0 ||
	    ghl_buf_add(b, "=", 1) < 0 || ghl_buf_add_encoded(b, value) < 0) {
		sb_cut(b, saved);
		return -1;
	}
	return 0;
}

/* ---- error bodies ---- */

void ghl_line_init(ghl_line *l, char *buf, size_t size)
{
	l->buf = buf;
	l->len = 0;
	l->size = size;
	if (buf && size)
		buf[0] = '\0';
}

void ghl_line_add(ghl_line *l, const char *s, size_t n)
{
	size_t i;

	if (!l->buf || !l->size)
		return;
	for (i = 0; i < n && l->len + 1 < l->size; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			c = ' ';
		if (c == ' ' && (l->len == 0 || l->buf[l->len - 1] == ' '))
			continue;
		l->buf[l->len++] = (char)c;
	}
	l->buf[l->len] = '\0';
}

void ghl_line_adds(ghl_line *l, const char *s)
{
	if (s)
		ghl_line_add(l, s, strlen(s));
}

const char *ghl_json_string(struct json_object *obj, const char *key)
{
	json_object *v;

	if (!obj || !json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* The `message` of a GHL body: a string, or an array of strings joined
 * with "; " (the 422 validation errors). Returns whether it added text. */
static int add_message(ghl_line *l, json_object *msg)
{
	size_t i, n, added = 0;

	if (!msg)
		return 0;
	if (json_object_is_type(msg, json_type_string)) {
		if (!json_object_get_string_len(msg))
			return 0;
		ghl_line_adds(l, json_object_get_string(msg));
		return 1;
	}
	if (!json_object_is_type(msg, json_type_array))
		return 0;
	n = json_object_array_length(msg);
	for (i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(msg, i);

		if (!json_object_is_type(e, json_type_string))
			continue;
		if (added++)
			ghl_line_adds(l, "; ");
		ghl_line_adds(l, json_object_get_string(e));
	}
	return added > 0;
}

struct json_object *ghl_parse_object(const char *body, size_t len)
{
	json_tokener *tok;
	json_object *obj;

	if (!body || !len || len > ERROR_BODY_PARSE_MAX)
		return NULL;
	tok = json_tokener_new();
	if (!tok)
		return NULL;
	obj = json_tokener_parse_ex(tok, body, (int)len);
	if (obj && json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(obj);
		obj = NULL;
	}
	json_tokener_free(tok);
	if (obj && !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		obj = NULL;
	}
	return obj;
}

/* Reads {statusCode, message, error, traceId}, oauth's {error,
 * error_description} and oauth-v3's {error: {code, message}}. Returns
 * whether anything was found. */
static int add_json_error(ghl_line *l, json_object *root)
{
	json_object *msg = NULL, *err = NULL;
	const char *error = ghl_json_string(root, "error");
	const char *desc = ghl_json_string(root, "error_description");
	const char *trace = ghl_json_string(root, "traceId");
	int found = 0;

	json_object_object_get_ex(root, "message", &msg);
	json_object_object_get_ex(root, "error", &err);
	if (err && json_object_is_type(err, json_type_object)) {
		/* oauth-v3's envelope */
		const char *code = ghl_json_string(err, "code");
		json_object *emsg = NULL;

		json_object_object_get_ex(err, "message", &emsg);
		if (code) {
			ghl_line_adds(l, code);
			found = 1;
		}
		if (emsg && json_object_get_string_len(emsg)) {
			if (found)
				ghl_line_adds(l, ": ");
			found |= add_message(l, emsg);
		}
	} else if (error && desc) {
		/* oauth: "invalid_grant: refresh token is invalid" */
		ghl_line_adds(l, error);
		ghl_line_adds(l, ": ");
		ghl_line_adds(l, desc);
		found = 1;
	} else if (add_message(l, msg)) {
		found = 1;
	} else if (error || desc) {
		ghl_line_adds(l, error ? error : desc);
		found = 1;
	}
	if (trace && *trace) {
		ghl_line_adds(l, found ? " (traceId " : "traceId ");
		ghl_line_adds(l, trace);
		if (found)
			ghl_line_adds(l, ")");
		found = 1;
	}
	return found;
}

void ghl_error_text(long status, const char *body, size_t len, char *buf, size_t buflen)
{
	ghl_line l = { buf, 0, buflen };
	json_object *root;
	char head[40];

	if (!buf || !buflen)
		return;
	buf[0] = '\0';
	if (status > 0)
		snprintf(head, sizeof(head), "HTTP %ld", status);
	else
		snprintf(head, sizeof(head), "no HTTP answer");
	ghl_line_adds(&l, head);
	if (!body || !len)
		return;
	ghl_line_adds(&l, ": ");
	root = ghl_parse_object(body, len);
	if (root && add_json_error(&l, root)) {
		json_object_put(root);
		return;
	}
	json_object_put(root);
	ghl_line_add(&l, body, len < ERROR_BODY_EXCERPT ? len : ERROR_BODY_EXCERPT);
	/* a body of blanks leaves ": " behind */
	while (l.len && (buf[l.len - 1] == ' ' || buf[l.len - 1] == ':'))
		buf[--l.len] = '\0';
}

static int mentions_invalid_grant(const char *s)
{
	return s && (strcasestr(s, "invalid_grant") || strcasestr(s, "invalid grant"));
}

int ghl_is_invalid_grant(long status, const char *body, size_t len)
{
	json_object *root, *err = NULL, *msg = NULL;
	int yes = 0;

	/* RFC 6749 5.2 answers 400; some servers say 401. A 5xx or a
	 * network error is never a verdict on the grant. */
	if (status != 400 && status != 401)
		return 0;
	root = ghl_parse_object(body, len);
	if (!root)
		return 0;
	json_object_object_get_ex(root, "error", &err);
	json_object_object_get_ex(root, "message", &msg);
	if (err && json_object_is_type(err, json_type_object))
		yes = mentions_invalid_grant(ghl_json_string(err, "code")) ||
		      mentions_invalid_grant(ghl_json_string(err, "message"));
	else
		yes = mentions_invalid_grant(ghl_json_string(root, "error")) ||
		      mentions_invalid_grant(ghl_json_string(root, "error_description"));
	if (!yes && msg && json_object_is_type(msg, json_type_string))
		yes = mentions_invalid_grant(json_object_get_string(msg));
	json_object_put(root);
	return yes;
}

/* ---- credentials ---- */

int ghl_token_ok(const char *token, size_t max)
{
	size_t n = 0;

	if (!token)
		return 0;
	for (const unsigned char *p = (const unsigned char *)token; *p; p++, n++)
		if (*p <= 0x20 || *p >= 0x7f || n >= max)
			return 0;
	return n > 0;
}

void ghl_json_add_str(struct json_object *o, const char *key, const char *value)
{
	if (value)
		json_object_object_add(o, key, json_object_new_string(value));
}

struct json_object *ghl_auth_info(const char *base_url, int company, const char *company_id,
				  const char *location_id, const char *app_id)
{
	json_object *info = json_object_new_object();

	if (!info)
		return NULL;
	ghl_json_add_str(info, "base_url", base_url);
	ghl_json_add_str(info, "userType", company ? "Company" : "Location");
	ghl_json_add_str(info, "companyId", company_id);
	if (!company)
		ghl_json_add_str(info, "locationId", location_id);
	ghl_json_add_str(info, "appId", app_id);
	return info;
}

/* ---- hashing and time ---- */

int64_t ghl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *ghl_dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

uint64_t ghl_fnv1a(uint64_t h, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

void ghl_hash_out(uint64_t h, char out[17])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 15; i >= 0; i--, h >>= 4)
		out[i] = hex[h & 15];
	out[16] = '\0';
}

void ghl_hash_hex(const char *s, size_t len, char out[17])
{
	ghl_hash_out(ghl_fnv1a(GHL_FNV_INIT, s, len), out);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil), so no timegm() and no TZ games are needed. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* Reads exactly `n` digits. */
static int digits(const char **p, int n, int *out)
{
	int v = 0;

	while (n--) {
		if (!isdigit((unsigned char)**p))
			return -1;
		v = v * 10 + (**p - '0');
		(*p)++;
	}
	*out = v;
	return 0;
}

static int days_in_month(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

/* YYYY-MM-DD[(T| )HH:MM[:SS[.fff…]]][Z|±HH[:]MM]; no zone means UTC. */
int64_t ghl_parse_time(const char *iso)
{
	const char *p = iso;
	int y, mo, d, h = 0, mi = 0, s = 0, ms = 0, off = 0;
	int64_t days;

	if (!p || digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
	    digits(&p, 2, &d))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		return -1;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
			return -1;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &s))
				return -1;
			if (*p == '.' || *p == ',') {
				int scale = 100;

				p++;
				if (!isdigit((unsigned char)*p))
					return -1;
				for (; isdigit((unsigned char)*p); p++, scale /= 10)
					ms += (*p - '0') * scale;
			}
		}
		/* 60 admits a leap second, read as the next one */
		if (h > 23 || mi > 59 || s > 60)
			return -1;
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p++ == '-' ? -1 : 1, oh, om = 0;

			if (digits(&p, 2, &oh))
				return -1;
			if (*p == ':')
				p++;
			if (isdigit((unsigned char)*p) && digits(&p, 2, &om))
				return -1;
			if (oh > 23 || om > 59)
				return -1;
			off = sign * (oh * 60 + om);
		}
	}
	if (*p)
		return -1;
	days = days_from_civil(y, (unsigned)mo, (unsigned)d);
	return ((days * 86400 + h * 3600 + mi * 60 + s - (int64_t)off * 60) * 1000) + ms;
}

void ghl_format_time(int64_t ms, char *buf, size_t len)
{
	int64_t days, rem, y;
	unsigned m, d;

	if (!buf || !len)
		return;
	days = ms / 86400000;
	rem = ms % 86400000;
	if (rem < 0) {
		rem += 86400000;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999 || len < 25) {
		snprintf(buf, len, "%04" PRId64 "-%02u-%02uT%02d:%02d:%02d.%03dZ", y, m, d,
			 (int)(rem / 3600000), (int)(rem / 60000 % 60), (int)(rem / 1000 % 60), (int)(rem % 1000));
		return;
	}
	/* By hand: one per record, and snprintf was a tenth of building it. */
	{
		const unsigned v[] = { (unsigned)y, m, d, (unsigned)(rem / 3600000), (unsigned)(rem / 60000 % 60),
				       (unsigned)(rem / 1000 % 60), (unsigned)(rem % 1000) };
		static const unsigned width[] = { 4, 2, 2, 2, 2, 2, 3 };
		static const char after[] = "--T::.Z";
		char *p = buf;

		for (int i = 0; i < 7; i++) {
			for (unsigned w = width[i], x = v[i]; w; w--, x /= 10)
				p[w - 1] = (char)('0' + x % 10);
			p += width[i];
			*p++ = after[i];
		}
		*p = '\0';
	}
}

/* ---- shared by the GHL and the Octorate modules ---- */

int ghl_url_build(ghl_buf *out, const char *base_url, const char *path_and_query)
{
	size_t n;

	if (!base_url || !*base_url || !path_and_query)
		return -1;
	n = strlen(base_url);
	while (n && base_url[n - 1] == '/')
		n--;
	if (ghl_buf_add(out, base_url, n) < 0)
		return -1;
	if (path_and_query[0] != '/' && ghl_buf_add(out, "/", 1) < 0)
		return -1;
	return ghl_buf_add(out, path_and_query, strlen(path_and_query));
}


uint64_t ghl_random_next(uint64_t *state)
{
	/* xorshift64: jitter only, no need for more */
	uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ULL;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

int64_t ghl_backoff_ms(uint64_t *rng, unsigned attempt, int64_t base_ms)
{
	int64_t cap = base_ms << (attempt < 6 ? attempt : 6);

	return cap / 2 + (int64_t)(ghl_random_next(rng) % (uint64_t)(cap / 2 + 1));
}

struct json_object *ghl_parse_whole(struct json_tokener **tok, const char *body, size_t len)
{
	json_object *obj;
	size_t end;

	if (!*tok)
		*tok = json_tokener_new();
	if (!*tok || !body || len > INT_MAX)
		return NULL;
	json_tokener_reset(*tok);
	obj = json_tokener_parse_ex(*tok, body, (int)len);
	if (!obj || json_tokener_get_error(*tok) != json_tokener_success) {
		json_object_put(obj);
		return NULL;
	}
	end = json_tokener_get_parse_end(*tok);
	while (end < len && isspace((unsigned char)body[end]))
		end++;
	if (end != len) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

int64_t ghl_json_int(struct json_object *obj, const char *key, int64_t dflt)
{
	json_object *v;

	if (!obj || !json_object_is_type(obj, json_type_object) || !json_object_object_get_ex(obj, key, &v))
		return dflt;
	if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))
		return json_object_get_int64(v);
	if (json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);
		char *end;
		long long n = strtoll(s, &end, 10);

		return end != s && *end == '\0' ? n : dflt;
	}
	return dflt;
}

const char *ghl_list_next(const char **p, size_t *len)
{
	const char *s = *p;

	while (s && *s) {
		size_t n = strcspn(s, ",");
		const char *e = s + n, *start = s;

		s = *e ? e + 1 : e;
		while (start < e && isspace((unsigned char)*start))
			start++;
		while (e > start && isspace((unsigned char)e[-1]))
			e--;
		if (e > start) {
			*p = s;
			*len = (size_t)(e - start);
			return start;
		}
	}
	if (p)
		*p = s;
	*len = 0;
	return NULL;
}

void ghl_free_secret(char *s)
{
	if (s) {
		/* not left behind in freed memory */
		memset(s, 0, strlen(s));
		free(s);
	}
}

int ghl_set_str(char **dst, const char *src)
{
	char *copy = src ? strdup(src) : NULL;

	if (src && !copy)
		return -1;
	free(*dst);
	*dst = copy;
	return 0;
}

char *ghl_url_join(const char *base, const char *path)
{
	size_t n = strlen(base);
	char *out;

	while (n && base[n - 1] == '/')
		n--;
	out = malloc(n + strlen(path) + 1);
	if (out) {
		memcpy(out, base, n);
		strcpy(out + n, path);
	}
	return out;
}

int ghl_url_ok(const char *url)
{
	return url && (strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0) &&
	       !strpbrk(url, " \t\r\n");
}

int64_t ghl_token_margin(int64_t margin_ms, int64_t obtained_at, int64_t expires_at)
{
	int64_t life = expires_at - obtained_at;

	return life > 0 && margin_ms > life / 2 ? life / 2 : margin_ms;
}

void ghl_login_message(char *buf, size_t len, const char *name, int authorized, const char *reason)
{
	if (!authorized)
		snprintf(buf, len, "[auth:%s] is not authorized yet: run 'hlbridge auth login %s -c CONFIG'", name,
			 name);
	else
		snprintf(buf, len, "[auth:%s] must be authorized again (%s): run 'hlbridge auth login %s -c CONFIG'",
			 name, reason ? reason : "needs login", name);
}

struct ghl_waiter {
	hlb_auth_call *call;
	struct ghl_waiter *next;
};

int ghl_waiters_add(ghl_waiters *q, hlb_auth_call *call, size_t max)
{
	struct ghl_waiter *w;

	if (q->n >= max || !(w = calloc(1, sizeof(*w))))
		return -1;
	w->call = call;
	if (q->tail)
		q->tail->next = w;
	else
		q->head = w;
	q->tail = w;
	q->n++;
	return 0;
}

void ghl_waiters_answer(const hlb_host *host, ghl_waiters *q, const hlb_auth_result *res)
{
	struct ghl_waiter *w = q->head;

	q->head = q->tail = NULL;
	q->n = 0;
	while (w) {
		struct ghl_waiter *next = w->next;

		host->auth_done(w->call, res);
		free(w);
		w = next;
	}
}

hlb_http *ghl_post_form(const hlb_host *host, hlb_instance *inst, const char *url, const ghl_buf *form,
			const char *user_agent, const char *const *extra, int64_t timeout_ms, size_t max_response,
			const char *pace_key, hlb_http_cb cb, void *arg)
{
	hlb_http_request req = HLB_HTTP_REQUEST_INIT;
	const char *hdrs[4 + GHL_POST_EXTRA_MAX];
	char ua[256];
	size_t n = 0;

	snprintf(ua, sizeof(ua), "User-Agent: %s", user_agent ? user_agent : "hlbridge");
	hdrs[n++] = "Content-Type: application/x-www-form-urlencoded";
	hdrs[n++] = "Accept: application/json";
	hdrs[n++] = ua;
	for (size_t i = 0; extra && extra[i] && i < GHL_POST_EXTRA_MAX; i++)
		hdrs[n++] = extra[i];
	hdrs[n] = NULL;
	req.method = "POST";
	req.url = url;
	req.headers = hdrs;
	req.body = form->data;
	req.body_len = form->len;
	req.timeout_ms = timeout_ms;
	req.max_response = max_response;
	req.pace_key = pace_key;
	return host->http_request(inst, &req, cb, arg);
}
