/* Unit tests of the shared GHL client (plugins/ghl/ghl_client.c): the pure
 * parts (URLs, pace keys, the skip/limit pager's decisions, location lists,
 * tag snapshots, statistics extraction, statIds), then the request flow
 * against a scripted host whose token, HTTP and timer services the test
 * answers by hand: headers, pacing, the 401 retry, 429 with Retry-After,
 * error bodies, malformed JSON, agency location tokens, paging and `*`;
 * and files (ghl_request_raw, ghl_raw_item: plugins/ghl/ghl_raw.c). */
#include "check_main.h"
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "hlbridge/hlbridge.h"
#include "../plugins/ghl/ghl_client.h"
#include "../plugins/ghl/ghl_raw.h"

/* ---- pure parts ------------------------------------------------------------- */

START_TEST(url_and_pace_key)
{
	ghl_buf b;
	char key[128];

	ghl_buf_init(&b, 1024);
	ck_assert_int_eq(ghl_url_build(&b, "http://127.0.0.1:8080/", "/social-media-posting/L1/tags"), 0);
	ck_assert_str_eq(b.data, "http://127.0.0.1:8080/social-media-posting/L1/tags");
	ghl_buf_free(&b);
	ghl_buf_init(&b, 1024);
	ck_assert_int_eq(ghl_url_build(&b, GHL_BASE_URL, "oauth/installedLocations?x=1"), 0);
	ck_assert_str_eq(b.data, "https://services.leadconnectorhq.com/oauth/installedLocations?x=1");
	ghl_buf_free(&b);
	ghl_buf_init(&b, 16);
	ck_assert_int_eq(ghl_url_build(&b, GHL_BASE_URL, "/x"), -1); /* over the cap */
	ghl_buf_free(&b);

	ghl_pace_key("pit-0123456789ab", "loc1", key, sizeof(key));
	ck_assert_str_eq(key, "ghl:pit-0123456789ab:loc1");
	ghl_pace_key("fakeapp0001-hlbtest", NULL, key, sizeof(key));
	ck_assert_str_eq(key, "ghl:fakeapp0001-hlbtest:-");
}
END_TEST

START_TEST(json_helpers)
{
	json_object *o = json_tokener_parse("{\"results\":{\"tags\":[1,2],\"count\":2,\"s\":\"x\"}}");

	ck_assert_ptr_nonnull(ghl_json_at(o, "results.tags"));
	ck_assert_int_eq(json_object_get_int(ghl_json_at(o, "results.count")), 2);
	ck_assert_ptr_null(ghl_json_at(o, "results.tags.x"));
	ck_assert_ptr_null(ghl_json_at(o, "nope"));
	ck_assert_str_eq(ghl_json_string(ghl_json_at(o, "results"), "s"), "x");
	ck_assert_ptr_null(ghl_json_string(ghl_json_at(o, "results"), "count"));
	json_object_put(o);
}
END_TEST

START_TEST(pager_stops_on_short_page)
{
	ghl_page_state st;

	ghl_page_init(&st, 100, 0);
	ck_assert_int_eq(ghl_page_step(&st, 100, -1, "a"), GHL_PAGE_MORE);
	ck_assert_int_eq(st.skip, 100);
	ck_assert_int_eq(ghl_page_step(&st, 100, -1, "b"), GHL_PAGE_MORE);
	ck_assert_int_eq(st.skip, 200);
	ck_assert_int_eq(ghl_page_step(&st, 7, -1, "c"), GHL_PAGE_DONE);
	ck_assert_int_eq(st.skip, 207);

	ghl_page_init(&st, 10, 0);
	ck_assert_int_eq(ghl_page_step(&st, 0, 0, NULL), GHL_PAGE_DONE);
}
END_TEST

START_TEST(pager_stops_on_count)
{
	ghl_page_state st;

	/* A total of 20 in pages of 10: no third request. */
	ghl_page_init(&st, 10, 0);
	ck_assert_int_eq(ghl_page_step(&st, 10, 20, "a"), GHL_PAGE_MORE);
	ck_assert_int_eq(ghl_page_step(&st, 10, 20, "k"), GHL_PAGE_DONE);

	/* A count that only says how many this page holds is not a total. */
	ghl_page_init(&st, 10, 0);
	ck_assert_int_eq(ghl_page_step(&st, 10, 10, "a"), GHL_PAGE_MORE);
	ck_assert_int_eq(ghl_page_step(&st, 10, 10, "k"), GHL_PAGE_MORE);
	ck_assert_int_eq(ghl_page_step(&st, 3, 3, "u"), GHL_PAGE_DONE);
	ck_assert_int_eq(st.pages, 3);
}
END_TEST

START_TEST(pager_guards)
{
	ghl_page_state st;

	/* An API that ignores skip answers the same page again. */
	ghl_page_init(&st, 2, 0);
	ck_assert_int_eq(ghl_page_step(&st, 2, -1, "same"), GHL_PAGE_MORE);
	ck_assert_int_eq(ghl_page_step(&st, 2, -1, "same"), GHL_PAGE_REPEATED);

	ghl_page_init(&st, 1, 3);
	ck_assert_int_eq(ghl_page_step(&st, 1, -1, "a"), GHL_PAGE_MORE);
	ck_assert_int_eq(ghl_page_step(&st, 1, -1, "b"), GHL_PAGE_MORE);
	ck_assert_int_eq(ghl_page_step(&st, 1, -1, "c"), GHL_PAGE_TOO_MANY);
	/* The last allowed page being the last page is no error. */
	ghl_page_init(&st, 5, 1);
	ck_assert_int_eq(ghl_page_step(&st, 4, -1, "a"), GHL_PAGE_DONE);
}
END_TEST

START_TEST(locations_parse)
{
	char err[256], **ids;
	size_t n;
	int all;

	ck_assert_int_eq(ghl_locations_parse(" * ", &all, &ids, &n, err, sizeof(err)), HLB_OK);
	ck_assert_int_eq(all, 1);
	ck_assert_uint_eq(n, 0);

	ck_assert_int_eq(ghl_locations_parse("loc1, loc_2 ,loc1,,loc-3", &all, &ids, &n, err, sizeof(err)),
			 HLB_OK);
	ck_assert_int_eq(all, 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(ids[0], "loc1");
	ck_assert_str_eq(ids[1], "loc_2");
	ck_assert_str_eq(ids[2], "loc-3");
	ghl_ids_free(ids, n);

	ck_assert_int_eq(ghl_locations_parse("loc1,*", &all, &ids, &n, err, sizeof(err)), HLB_EINVAL);
	ck_assert_int_eq(ghl_locations_parse("* , loc1", &all, &ids, &n, err, sizeof(err)), HLB_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "stands alone"));
	ck_assert_int_eq(ghl_locations_parse("loc1,../oauth", &all, &ids, &n, err, sizeof(err)), HLB_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "../oauth"));
	ck_assert_int_eq(ghl_locations_parse(" , ", &all, &ids, &n, err, sizeof(err)), HLB_EINVAL);
	ck_assert_ptr_null(ids);
}
END_TEST

START_TEST(tag_snapshot_diff)
{
	json_object *snap = json_object_new_object();
	char h1[17], h2[17], h3[17], got[17];
	const char *prev;

	ghl_tag_hash("Summer", "2024-01-01T00:00:00.000Z", 0, h1);
	ghl_tag_hash("Summer", "2024-01-01T00:00:00.000Z", 0, h2);
	ck_assert_str_eq(h1, h2); /* stable */
	ghl_tag_hash("Summer sale", "2024-02-01T00:00:00.000Z", 0, h2);
	ghl_tag_hash("Summer", "2024-01-01T00:00:00.000Z", 1, h3);
	ck_assert_str_ne(h1, h2);
	ck_assert_str_ne(h1, h3);
	ck_assert_uint_eq(strlen(h1), 16);

	/* Unknown: created, unless it is already deleted. */
	ck_assert_int_eq(ghl_tag_classify(NULL, "t1", h1, 0, &prev), GHL_TAG_CREATED);
	ck_assert_ptr_null(prev);
	ck_assert_int_eq(ghl_tag_classify(snap, "t1", h3, 1, &prev), GHL_TAG_SAME);

	json_object_object_add(snap, "t1", ghl_tag_snap_value(h1, "Summer"));
	ck_assert_int_eq(ghl_tag_snap_get(snap, "t1", got, &prev), 1);
	ck_assert_str_eq(got, h1);
	ck_assert_str_eq(prev, "Summer");
	ck_assert_int_eq(ghl_tag_snap_get(snap, "t2", got, NULL), 0);

	ck_assert_int_eq(ghl_tag_classify(snap, "t1", h1, 0, &prev), GHL_TAG_SAME);
	ck_assert_int_eq(ghl_tag_classify(snap, "t1", h2, 0, &prev), GHL_TAG_UPDATED);
	ck_assert_str_eq(prev, "Summer"); /* the previous name of a rename */
	ck_assert_int_eq(ghl_tag_classify(snap, "t1", h3, 1, &prev), GHL_TAG_DELETED);
	ck_assert_str_eq(ghl_tag_change_name(GHL_TAG_CREATED), "created");
	ck_assert_str_eq(ghl_tag_change_name(GHL_TAG_UPDATED), "updated");
	ck_assert_str_eq(ghl_tag_change_name(GHL_TAG_DELETED), "deleted");
	json_object_put(snap);
}
END_TEST

START_TEST(tag_snapshot_long_name)
{
	char name[400], hash[17];
	const char *kept;
	json_object *snap = json_object_new_object();
	size_t i;

	/* 'é' is two bytes: a cut at 200 bytes must not split one. */
	name[0] = 'x';
	for (i = 1; i + 2 < sizeof(name); i += 2) {
		name[i] = (char)0xc3;
		name[i + 1] = (char)0xa9;
	}
	name[i] = '\0';
	ghl_tag_hash(name, "", 0, hash);
	json_object_object_add(snap, "t", ghl_tag_snap_value(hash, name));
	ck_assert_int_eq(ghl_tag_snap_get(snap, "t", hash, &kept), 1);
	ck_assert_uint_le(strlen(kept), 200);
	ck_assert_uint_eq(strlen(kept) % 2, 1); /* 'x' and whole characters */
	json_object_put(snap);
}
END_TEST

/* Modelled on the example answer of POST /social-media-posting/statistics. */
static const char *stats_sample =
	"{\"results\":{\"dayRange\":[\"Mon\",\"Tue\",\"Wed\",\"Thu\",\"Fri\",\"Sat\",\"Sun\"],"
	"\"totals\":{\"posts\":0,\"likes\":3,\"followers\":70,\"impressions\":28,\"comments\":0},"
	"\"platformTotals\":{"
	"\"impressions\":{\"google\":{\"total\":28,\"series\":[1,2,3,4,5,6,7]},"
	"\"facebook\":{\"total\":0,\"series\":[0,0,0,0,0,0,0]}},"
	"\"followers\":{\"google\":{\"total\":70,\"series\":[10,10,10,10,10,10,10]}},"
	"\"likes\":{\"google\":{\"total\":3,\"series\":[0,0,1,0,0,2,0.5]}},"
	"\"comments\":{\"google\":{\"total\":0,\"series\":[9,9,9,9,9,9,9]}}}},"
	"\"message\":\"Analytics Built Successfully\",\"traceId\":\"42fc8dd8\"}";

struct points {
	int n;
	char days[64][16];
	char what[64][64];
	double values[64];
	int64_t ms[64];
};

static void collect_point(void *arg, const char *platform, const char *metric, const char *day,
			  int64_t day_ms, struct json_object *value)
{
	struct points *p = arg;

	ck_assert_int_lt(p->n, 64);
	snprintf(p->days[p->n], sizeof(p->days[0]), "%s", day);
	snprintf(p->what[p->n], sizeof(p->what[0]), "%s/%s", platform, metric);
	p->values[p->n] = json_object_get_double(value);
	p->ms[p->n] = day_ms;
	p->n++;
}

static int find_point(const struct points *p, const char *what, const char *day)
{
	for (int i = 0; i < p->n; i++)
		if (strcmp(p->what[i], what) == 0 && strcmp(p->days[i], day) == 0)
			return i;
	return -1;
}

START_TEST(stats_extract)
{
	json_object *answer = json_tokener_parse(stats_sample);
	/* 2024-03-10T15:30:00Z: today is the 10th, the series starts on the 4th. */
	int64_t now = ghl_parse_time("2024-03-10T15:30:00.000Z");
	struct points p = { 0 };
	char *only_fb[] = { "facebook" };
	int i;

	ck_assert_ptr_nonnull(answer);
	ck_assert_int_eq(ghl_stats_extract(answer, now, NULL, 0, collect_point, &p), 28);
	ck_assert_int_eq(p.n, 28); /* 3 metrics, 4 series of 7; comments are not read */
	i = find_point(&p, "google/impressions", "2024-03-10");
	ck_assert_int_ge(i, 0);
	ck_assert(p.values[i] == 7);
	ck_assert_int_eq(p.ms[i], ghl_parse_time("2024-03-10T00:00:00.000Z"));
	i = find_point(&p, "google/impressions", "2024-03-04");
	ck_assert_int_ge(i, 0);
	ck_assert(p.values[i] == 1);
	ck_assert_int_lt(find_point(&p, "google/impressions", "2024-03-03"), 0);
	i = find_point(&p, "google/likes", "2024-03-10");
	ck_assert(p.values[i] == 0.5);
	ck_assert_int_lt(find_point(&p, "google/comments", "2024-03-10"), 0);

	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(ghl_stats_extract(answer, now, only_fb, 1, collect_point, &p), 7);
	ck_assert_int_ge(find_point(&p, "facebook/impressions", "2024-03-07"), 0);
	json_object_put(answer);

	answer = json_tokener_parse("{\"message\":\"x\"}");
	ck_assert_int_eq(ghl_stats_extract(answer, now, NULL, 0, collect_point, &p), HLB_EPARSE);
	json_object_put(answer);
	answer = json_tokener_parse("{\"results\":{}}");
	ck_assert_int_eq(ghl_stats_extract(answer, now, NULL, 0, collect_point, &p), 0);
	json_object_put(answer);
}
END_TEST

START_TEST(stat_id_stable)
{
	char a[17], b[17], c[17];

	ghl_stat_id("loc1", "google", "impressions", "2024-03-10", a);
	ghl_stat_id("loc1", "google", "impressions", "2024-03-10", b);
	ck_assert_str_eq(a, b);
	ck_assert_uint_eq(strlen(a), 16);
	ghl_stat_id("loc1", "google", "impressions", "2024-03-09", c);
	ck_assert_str_ne(a, c);
	ghl_stat_id("loc2", "google", "impressions", "2024-03-10", c);
	ck_assert_str_ne(a, c);
	/* The documented recipe, so other tools can compute it too. */
	ghl_hash_hex("loc1|google|impressions|2024-03-10", 34, c);
	ck_assert_str_eq(a, c);
}
END_TEST

/* Base64 (RFC 4648 section 10's vectors) and the record of a file. */
START_TEST(raw_item)
{
	static const char *const vec[][2] = { { "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
					       { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
					       { "foobar", "Zm9vYmFy" } };
	static const unsigned char bin[] = { 0x00, 0xff, 0x10, 'R', 'I', 'F', 'F', 0x00 };
	char out[GHL_BASE64_LEN(16)];
	ghl_reply r = { .rc = HLB_OK, .status = 200 };
	json_object *o;

	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		ck_assert_uint_eq(ghl_base64((const unsigned char *)vec[i][0], strlen(vec[i][0]), out),
				  strlen(vec[i][1]));
		ck_assert_str_eq(out, vec[i][1]);
	}
	/* no raw bytes: no item */
	ck_assert_ptr_null(ghl_raw_item(&r));
	r.raw = bin;
	r.raw_len = sizeof(bin);
	r.content_type = "audio/x-wav";
	o = ghl_raw_item(&r);
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(ghl_json_string(o, "contentType"), "audio/x-wav");
	ck_assert_int_eq(json_object_get_int64(ghl_json_at(o, "size")), 8);
	ck_assert_str_eq(ghl_json_string(o, "data"), "AP8QUklGRgA=");
	ghl_hash_hex((const char *)bin, sizeof(bin), out);
	ck_assert_str_eq(ghl_json_string(o, "fnv1a64"), out);
	ck_assert_int_eq(json_object_object_length(o), 4);
	json_object_put(o);
	/* FNV-1a 64 of "hello", the published value; no type: octet-stream */
	r.raw = (const unsigned char *)"hello";
	r.raw_len = 5;
	r.content_type = NULL;
	o = ghl_raw_item(&r);
	ck_assert_str_eq(ghl_json_string(o, "fnv1a64"), "a430d84680aabd0b");
	ck_assert_str_eq(ghl_json_string(o, "contentType"), "application/octet-stream");
	ck_assert_str_eq(ghl_json_string(o, "data"), "aGVsbG8=");
	json_object_put(o);
	/* an empty file is one too */
	r.raw = (const unsigned char *)"";
	r.raw_len = 0;
	o = ghl_raw_item(&r);
	ck_assert_int_eq(json_object_get_int64(ghl_json_at(o, "size")), 0);
	ck_assert_str_eq(ghl_json_string(o, "data"), "");
	json_object_put(o);
}
END_TEST

/* ---- a scripted host --------------------------------------------------------- */

struct hlb_http_response {
	int result;
	long status;
	const char *body;
	size_t len;
	const char *retry_after;
	const char *content_type;
};

struct hlb_http { int unused; };
struct hlb_auth_call { int unused; };
struct hlb_timer { int unused; };

static struct script {
	/* the pending token request */
	int nauth;
	hlb_auth_cb auth_cb;
	void *auth_arg;
	char subject[64];
	int has_subject;
	/* the pending transfer */
	int nhttp;
	hlb_http_cb http_cb;
	void *http_arg;
	char method[16], url[1024], pace[256], body[4096];
	char headers[8][512];
	int nheaders;
	/* the pending timer */
	hlb_timer_cb timer_cb;
	void *timer_arg;
	int64_t timer_delay;
	int ntimers;
	/* other calls */
	int rejects, paces, cancels;
	char rejected[128], paced[256];
	char last_log[1024];
} S;

static struct hlb_http the_http;
static struct hlb_auth_call the_auth;
static struct hlb_timer the_timer;

static void s_log(hlb_instance *inst, hlb_log_level level, const char *fmt, ...) HLB_PRINTF(3, 4);
static void s_log(hlb_instance *inst, hlb_log_level level, const char *fmt, ...)
{
	va_list ap;

	(void)inst;
	(void)level;
	va_start(ap, fmt);
	vsnprintf(S.last_log, sizeof(S.last_log), fmt, ap);
	va_end(ap);
}

static const char *s_strerror(int rc)
{
	return rc == HLB_OK ? "ok" : "failed";
}

static hlb_auth_call *s_auth_token(hlb_instance *inst, const char *auth, const char *subject, hlb_auth_cb cb,
				   void *arg)
{
	(void)inst;
	ck_assert_str_eq(auth, "pit");
	ck_assert_ptr_null(S.auth_cb); /* one at a time in these tests */
	S.nauth++;
	S.auth_cb = cb;
	S.auth_arg = arg;
	S.has_subject = subject != NULL;
	snprintf(S.subject, sizeof(S.subject), "%s", subject ? subject : "");
	return &the_auth;
}

static void s_auth_cancel(hlb_auth_call *call)
{
	(void)call;
	S.auth_cb = NULL;
	S.cancels++;
}

static void s_auth_reject(hlb_instance *inst, const char *auth, const char *subject, const char *token)
{
	(void)inst;
	(void)auth;
	(void)subject;
	S.rejects++;
	snprintf(S.rejected, sizeof(S.rejected), "%s", token);
}

static hlb_http *s_http_request(hlb_instance *inst, const hlb_http_request *req, hlb_http_cb cb, void *arg)
{
	(void)inst;
	ck_assert_ptr_null(S.http_cb);
	S.nhttp++;
	S.http_cb = cb;
	S.http_arg = arg;
	snprintf(S.method, sizeof(S.method), "%s", req->method ? req->method : "GET");
	snprintf(S.url, sizeof(S.url), "%s", req->url);
	snprintf(S.pace, sizeof(S.pace), "%s", req->pace_key ? req->pace_key : "");
	snprintf(S.body, sizeof(S.body), "%.*s", (int)req->body_len, req->body ? (const char *)req->body : "");
	S.nheaders = 0;
	for (const char *const *h = req->headers; h && *h && S.nheaders < 8; h++)
		snprintf(S.headers[S.nheaders++], sizeof(S.headers[0]), "%s", *h);
	ck_assert_uint_eq(req->max_response, GHL_MAX_RESPONSE);
	return &the_http;
}

static void s_http_cancel(hlb_http *h)
{
	(void)h;
	S.http_cb = NULL;
	S.cancels++;
}

static int s_http_result(const hlb_http_response *r) { return r->result; }
static long s_http_status(const hlb_http_response *r) { return r->status; }
static const char *s_http_body(const hlb_http_response *r, size_t *len) { *len = r->len; return r->body; }
static const char *s_http_error(const hlb_http_response *r) { return r->result ? "connection refused" : ""; }

static const char *s_http_header(const hlb_http_response *r, const char *name)
{
	if (strcasecmp(name, "Content-Type") == 0)
		return r->content_type;
	return strcasecmp(name, "Retry-After") == 0 ? r->retry_after : NULL;
}

static int64_t s_retry_after_ms(const char *v)
{
	return v ? atoll(v) * 1000 : -1;
}

static hlb_timer *s_timer_start(hlb_instance *inst, int64_t delay, int64_t repeat, hlb_timer_cb cb, void *arg)
{
	(void)inst;
	(void)repeat;
	ck_assert_ptr_null(S.timer_cb);
	S.ntimers++;
	S.timer_cb = cb;
	S.timer_arg = arg;
	S.timer_delay = delay;
	return &the_timer;
}

static void s_timer_stop(hlb_timer *t)
{
	(void)t;
	S.timer_cb = NULL;
}

static int s_pace_configure(hlb_instance *inst, const char *key, uint32_t max, int64_t ms)
{
	(void)inst;
	ck_assert_uint_eq(max, GHL_BURST_MAX);
	ck_assert_int_eq(ms, GHL_BURST_INTERVAL_MS);
	S.paces++;
	snprintf(S.paced, sizeof(S.paced), "%s", key);
	return HLB_OK;
}

static hlb_host host = {
	.size = sizeof(hlb_host),
	.abi_major = HLB_ABI_MAJOR,
	.abi_minor = HLB_ABI_MINOR,
	.version = "9.9.9",
	.log = s_log,
	.strerror = s_strerror,
	.timer_start = s_timer_start,
	.timer_stop = s_timer_stop,
	.http_request = s_http_request,
	.http_cancel = s_http_cancel,
	.http_result = s_http_result,
	.http_status = s_http_status,
	.http_header = s_http_header,
	.http_body = s_http_body,
	.http_error = s_http_error,
	.retry_after_ms = s_retry_after_ms,
	.pace_configure = s_pace_configure,
	.auth_token = s_auth_token,
	.auth_cancel = s_auth_cancel,
	.auth_reject = s_auth_reject,
};

static const char *LOCATION_INFO = "{\"userType\":\"Location\",\"locationId\":\"loc1\",\"companyId\":\"co1\"}";
static const char *AGENCY_INFO = "{\"userType\":\"Company\",\"companyId\":\"co1\",\"appId\":\"app1\","
				 "\"base_url\":\"http://127.0.0.1:1\"}";

static void give_token(const char *token, const char *info)
{
	hlb_auth_result res = HLB_AUTH_RESULT_INIT;
	hlb_auth_cb cb = S.auth_cb;
	json_object *i = info ? json_tokener_parse(info) : NULL;

	ck_assert_ptr_nonnull(cb);
	S.auth_cb = NULL;
	res.rc = token ? HLB_OK : HLB_EFAIL;
	res.token = token;
	res.quota_id = "pit-0123456789ab";
	res.info = i;
	res.message = token ? NULL : "the refresh token was refused";
	res.needs_login = token ? 0 : 1;
	cb(S.auth_arg, &res);
	json_object_put(i);
}

static void answer(int result, long status, const char *body, const char *retry_after)
{
	struct hlb_http_response r = { result, status, body, body ? strlen(body) : 0, retry_after, NULL };
	hlb_http_cb cb = S.http_cb;

	ck_assert_ptr_nonnull(cb);
	S.http_cb = NULL;
	cb(S.http_arg, &r);
}

/* A 2xx (or other) answer of len bytes, any of them NUL, with a type. */
static void answer_bytes(long status, const char *body, size_t len, const char *type)
{
	struct hlb_http_response r = { HLB_OK, status, body, len, NULL, type };
	hlb_http_cb cb = S.http_cb;

	ck_assert_ptr_nonnull(cb);
	S.http_cb = NULL;
	cb(S.http_arg, &r);
}

static void fire_timer(void)
{
	hlb_timer_cb cb = S.timer_cb;

	ck_assert_ptr_nonnull(cb);
	S.timer_cb = NULL;
	cb(S.timer_arg);
}

static int has_header(const char *h)
{
	for (int i = 0; i < S.nheaders; i++)
		if (strcmp(S.headers[i], h) == 0)
			return 1;
	return 0;
}

static struct got {
	int calls, rc, retryable, needs_login;
	long status;
	int64_t retry_after;
	char error[512], json[1024], location[64];
	int has_raw;            /* the reply's raw was not NULL */
	size_t raw_len;
	char raw[64], type[64], item[256];
} G;

static void on_reply(void *arg, const ghl_reply *r)
{
	(void)arg;
	G.calls++;
	G.rc = r->rc;
	G.status = r->status;
	G.retryable = r->retryable;
	G.needs_login = r->needs_login;
	G.retry_after = r->retry_after_ms;
	snprintf(G.error, sizeof(G.error), "%s", r->error ? r->error : "(null)");
	snprintf(G.json, sizeof(G.json), "%s", r->json ? json_object_to_json_string_ext(r->json,
		 JSON_C_TO_STRING_PLAIN) : "");
	snprintf(G.location, sizeof(G.location), "%s", r->location ? r->location : "");
	G.has_raw = r->raw != NULL;
	G.raw_len = r->raw_len;
	memcpy(G.raw, r->raw ? (const void *)r->raw : "", r->raw_len < sizeof(G.raw) ? r->raw_len : 0);
	snprintf(G.type, sizeof(G.type), "%s", r->content_type ? r->content_type : "(null)");
}

/* ghl_raw_as_json's callback: the item it made, as text. */
static void on_item_reply(void *arg, const ghl_reply *r)
{
	on_reply(arg, r);
	snprintf(G.item, sizeof(G.item), "%s", r->json ? json_object_to_json_string_ext(r->json,
		 JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE) : "");
}

/* A raw request's reply handed on as JSON. */
static void on_raw_as_json(void *arg, const ghl_reply *r)
{
	if (!ghl_raw_as_json(r, on_item_reply, arg))
		on_item_reply(arg, r);
}

static ghl_client *setup(void)
{
	ghl_client *c;

	memset(&S, 0, sizeof(S));
	memset(&G, 0, sizeof(G));
	c = ghl_client_new(&host, NULL, "ghl_tags", "pit", "http://127.0.0.1:9/");
	ck_assert_ptr_nonnull(c);
	return c;
}

START_TEST(request_headers_and_pacing)
{
	ghl_client *c = setup();
	json_object *body = json_tokener_parse("{\"tagIds\":[\"t1\"]}");

	ck_assert_ptr_nonnull(ghl_request(c, "loc1", "GET", GHL_VERSION, "/social-media-posting/loc1/tags",
					  NULL, on_reply, NULL));
	ck_assert_int_eq(G.calls, 0); /* never inside the call */
	ck_assert_int_eq(S.has_subject, 0);
	give_token("secret-token-1", LOCATION_INFO);
	ck_assert_str_eq(S.url, "http://127.0.0.1:9/social-media-posting/loc1/tags");
	ck_assert_str_eq(S.method, "GET");
	ck_assert(has_header("Authorization: Bearer secret-token-1"));
	ck_assert(has_header("Version: 2021-07-28"));
	ck_assert(has_header("Accept: application/json"));
	ck_assert(has_header("User-Agent: hlbridge/9.9.9 (+plugin ghl_tags)"));
	ck_assert(!has_header("Content-Type: application/json"));
	ck_assert_str_eq(S.pace, "ghl:pit-0123456789ab:loc1");
	ck_assert_int_eq(S.paces, 1);
	answer(HLB_OK, 200, "{\"results\":{\"tags\":[],\"count\":0}}", NULL);
	ck_assert_int_eq(G.calls, 1);
	ck_assert_int_eq(G.rc, HLB_OK);
	ck_assert_str_eq(G.json, "{\"results\":{\"tags\":[],\"count\":0}}");
	ck_assert_str_eq(G.error, "");
	ck_assert_str_eq(G.location, "loc1");

	/* Same key again: no second pace_configure. A body: Content-Type. */
	ck_assert_ptr_nonnull(ghl_request(c, "loc1", "POST", GHL_VERSION, "/social-media-posting/loc1/tags/details",
					  body, on_reply, NULL));
	json_object_put(body);
	give_token("secret-token-1", LOCATION_INFO);
	ck_assert(has_header("Content-Type: application/json"));
	ck_assert_str_eq(S.body, "{\"tagIds\":[\"t1\"]}");
	ck_assert_int_eq(S.paces, 1);
	answer(HLB_OK, 201, "", NULL); /* an empty body is no error */
	ck_assert_int_eq(G.rc, HLB_OK);
	ck_assert_str_eq(G.json, "");

	/* No location: the company's bucket. */
	ck_assert_ptr_nonnull(ghl_request(c, NULL, "GET", GHL_VERSION, "/x", NULL, on_reply, NULL));
	give_token("secret-token-1", LOCATION_INFO);
	ck_assert_str_eq(S.pace, "ghl:pit-0123456789ab:co1");
	ck_assert_int_eq(S.paces, 2);
	answer(HLB_OK, 200, "{}", NULL);
	ghl_client_free(c);
}
END_TEST

START_TEST(request_401_once)
{
	ghl_client *c = setup();

	ghl_request(c, "loc1", "GET", GHL_VERSION, "/a", NULL, on_reply, NULL);
	give_token("old-token", LOCATION_INFO);
	answer(HLB_OK, 401, "{\"statusCode\":401,\"message\":\"Invalid token\"}", NULL);
	ck_assert_int_eq(S.rejects, 1);
	ck_assert_str_eq(S.rejected, "old-token");
	ck_assert_int_eq(G.calls, 0);
	give_token("new-token", LOCATION_INFO);
	ck_assert(has_header("Authorization: Bearer new-token"));
	answer(HLB_OK, 200, "{\"ok\":true}", NULL);
	ck_assert_int_eq(G.rc, HLB_OK);

	/* A second 401 is the answer. */
	ghl_request(c, "loc1", "GET", GHL_VERSION, "/a", NULL, on_reply, NULL);
	give_token("t1", LOCATION_INFO);
	answer(HLB_OK, 401, "{\"statusCode\":401,\"message\":\"Invalid token\"}", NULL);
	give_token("t2", LOCATION_INFO);
	answer(HLB_OK, 401, "{\"statusCode\":401,\"message\":\"Invalid token\",\"traceId\":\"tr-9\"}", NULL);
	ck_assert_int_eq(G.calls, 2);
	ck_assert_int_eq(G.rc, HLB_EHTTP);
	ck_assert_int_eq(G.status, 401);
	ck_assert_int_eq(G.retryable, 0);
	ck_assert_ptr_nonnull(strstr(G.error, "Invalid token"));
	ck_assert_ptr_nonnull(strstr(G.error, "tr-9"));
	ck_assert_ptr_null(strstr(G.error, "t2"));
	ghl_client_free(c);
}
END_TEST

START_TEST(request_429_retry_after)
{
	ghl_client *c = setup();

	ghl_request(c, "loc1", "GET", GHL_VERSION, "/a", NULL, on_reply, NULL);
	give_token("tok", LOCATION_INFO);
	answer(HLB_OK, 429, "{\"statusCode\":429,\"message\":\"Too many requests\"}", "2");
	ck_assert_int_eq(G.calls, 0);
	ck_assert_int_eq(S.timer_delay, 2000);
	ck_assert_ptr_nonnull(strstr(S.last_log, "retrying in 2000 ms"));
	fire_timer();
	give_token("tok", LOCATION_INFO);
	answer(HLB_OK, 200, "{}", NULL);
	ck_assert_int_eq(G.rc, HLB_OK);

	/* A daily quota's long Retry-After is reported at once. */
	ghl_request(c, "loc1", "GET", GHL_VERSION, "/a", NULL, on_reply, NULL);
	give_token("tok", LOCATION_INFO);
	answer(HLB_OK, 429, "{\"statusCode\":429,\"message\":\"daily\"}", "3600");
	ck_assert_int_eq(G.calls, 2);
	ck_assert_int_eq(G.rc, HLB_EHTTP);
	ck_assert_int_eq(G.retryable, 1);
	ck_assert_int_eq(G.retry_after, 3600000);

	/* 5xx: retried with a backoff, then reported as retryable. */
	ghl_client_set_retries(c, 1, 30000);
	ghl_request(c, "loc1", "GET", GHL_VERSION, "/a", NULL, on_reply, NULL);
	give_token("tok", LOCATION_INFO);
	answer(HLB_OK, 503, "upstream down", NULL);
	ck_assert_int_gt(S.timer_delay, 0);
	ck_assert_int_le(S.timer_delay, 500);
	fire_timer();
	give_token("tok", LOCATION_INFO);
	answer(HLB_ECONN, 0, NULL, NULL);
	ck_assert_int_eq(G.calls, 3);
	ck_assert_int_eq(G.rc, HLB_ECONN);
	ck_assert_int_eq(G.retryable, 1);
	ck_assert_ptr_nonnull(strstr(G.error, "connection refused"));
	ghl_client_free(c);
}
END_TEST

START_TEST(request_errors)
{
	ghl_client *c = setup();

	ghl_client_set_retries(c, 0, 0);
	ghl_request(c, "loc1", "POST", GHL_VERSION, "/b", NULL, on_reply, NULL);
	give_token("tok", LOCATION_INFO);
	answer(HLB_OK, 422, "{\"statusCode\":422,\"message\":[\"tagIds must be an array\",\"x\"],"
	       "\"error\":\"Unprocessable Entity\",\"traceId\":\"abc-1\"}", NULL);
	ck_assert_int_eq(G.rc, HLB_EHTTP);
	ck_assert_int_eq(G.retryable, 0);
	ck_assert_ptr_nonnull(strstr(G.error, "POST /b"));
	ck_assert_ptr_nonnull(strstr(G.error, "HTTP 422"));
	ck_assert_ptr_nonnull(strstr(G.error, "tagIds must be an array"));
	ck_assert_ptr_nonnull(strstr(G.error, "abc-1"));

	/* Malformed and truncated JSON: retryable, with a clear message. */
	ghl_request(c, "loc1", "GET", GHL_VERSION, "/c", NULL, on_reply, NULL);
	give_token("tok", LOCATION_INFO);
	answer(HLB_OK, 200, "{\"results\":{\"tags\":[", NULL);
	ck_assert_int_eq(G.rc, HLB_EPARSE);
	ck_assert_int_eq(G.retryable, 1);
	ck_assert_ptr_nonnull(strstr(G.error, "malformed"));
	ghl_request(c, "loc1", "GET", GHL_VERSION, "/c", NULL, on_reply, NULL);
	give_token("tok", LOCATION_INFO);
	answer(HLB_OK, 200, "{} trailing", NULL);
	ck_assert_int_eq(G.rc, HLB_EPARSE);

	/* No token: the provider's message and needs_login pass through. */
	ghl_request(c, "loc1", "GET", GHL_VERSION, "/d", NULL, on_reply, NULL);
	give_token(NULL, NULL);
	ck_assert_int_eq(G.rc, HLB_EFAIL);
	ck_assert_int_eq(G.needs_login, 1);
	ck_assert_int_eq(G.retryable, 0);
	ck_assert_ptr_nonnull(strstr(G.error, "refresh token was refused"));
	ck_assert_ptr_nonnull(strstr(G.error, "no token from [auth:pit]"));
	ck_assert_str_ne(ghl_login_hint(1, G.error), "");
	ck_assert_str_eq(ghl_login_hint(0, G.error), "");
	ck_assert_str_eq(ghl_login_hint(1, "run 'hlbridge auth login app -c CONFIG'"), "");
	ck_assert_int_eq(S.nhttp, 3); /* no request without a token */
	ghl_client_free(c);
}
END_TEST

START_TEST(request_agency_location_token)
{
	ghl_client *c = setup();

	ghl_request(c, "loc7", "GET", GHL_VERSION, "/social-media-posting/loc7/tags", NULL, on_reply, NULL);
	/* The client does not know the credential yet: it asks for its own. */
	ck_assert_int_eq(S.has_subject, 0);
	give_token("agency-token", AGENCY_INFO);
	ck_assert_int_eq(S.nhttp, 0);
	ck_assert_int_eq(S.has_subject, 1);
	ck_assert_str_eq(S.subject, "loc7");
	give_token("location-token", "{\"userType\":\"Location\",\"locationId\":\"loc7\"}");
	ck_assert(has_header("Authorization: Bearer location-token"));
	ck_assert_str_eq(S.pace, "ghl:pit-0123456789ab:loc7");
	/* The instance's base_url wins over the provider's. */
	ck_assert_str_eq(S.url, "http://127.0.0.1:9/social-media-posting/loc7/tags");
	answer(HLB_OK, 401, "{}", NULL);
	ck_assert_int_eq(S.rejects, 1);
	ck_assert_str_eq(S.subject, "loc7"); /* asks for a location token again */
	give_token("location-token-2", NULL);
	answer(HLB_OK, 200, "{}", NULL);
	ck_assert_int_eq(G.rc, HLB_OK);

	/* Known now: straight to the location token. */
	ghl_request(c, "loc8", "GET", GHL_VERSION, "/x", NULL, on_reply, NULL);
	ck_assert_int_eq(S.has_subject, 1);
	ck_assert_str_eq(S.subject, "loc8");
	ghl_client_free(c); /* cancels the pending token request */
	ck_assert_ptr_null(S.auth_cb);
	ck_assert_int_eq(G.calls, 1);
}
END_TEST

static struct pages {
	int pages, items, done, rc;
	char error[512];
} P;

static int on_page_items(void *arg, struct json_object *items, const ghl_reply *r)
{
	(void)arg;
	(void)r;
	P.pages++;
	P.items += (int)json_object_array_length(items);
	return HLB_OK;
}

static void on_pages_done(void *arg, const ghl_reply *r)
{
	(void)arg;
	P.done++;
	P.rc = r->rc;
	snprintf(P.error, sizeof(P.error), "%s", r->error);
}

START_TEST(pager_flow)
{
	ghl_client *c = setup();
	ghl_page_spec spec = { .location = "loc1", .version = GHL_VERSION,
			       .path = "/social-media-posting/loc1/tags?searchText=a%20b",
			       .items = "results.tags", .count = "results.count", .id_field = "_id", .limit = 2 };

	memset(&P, 0, sizeof(P));
	ck_assert_ptr_nonnull(ghl_page_skip(c, &spec, on_page_items, on_pages_done, NULL));
	give_token("tok", LOCATION_INFO);
	ck_assert_str_eq(S.url, "http://127.0.0.1:9/social-media-posting/loc1/tags?searchText=a%20b&skip=0&limit=2");
	answer(HLB_OK, 200, "{\"results\":{\"tags\":[{\"_id\":\"a\"},{\"_id\":\"b\"}],\"count\":5}}", NULL);
	give_token("tok", LOCATION_INFO);
	ck_assert_ptr_nonnull(strstr(S.url, "&skip=2&limit=2"));
	answer(HLB_OK, 200, "{\"results\":{\"tags\":[{\"_id\":\"c\"},{\"_id\":\"d\"}],\"count\":5}}", NULL);
	give_token("tok", LOCATION_INFO);
	ck_assert_ptr_nonnull(strstr(S.url, "&skip=4&limit=2"));
	answer(HLB_OK, 200, "{\"results\":{\"tags\":[{\"_id\":\"e\"}],\"count\":5}}", NULL);
	ck_assert_int_eq(P.done, 1);
	ck_assert_int_eq(P.rc, HLB_OK);
	ck_assert_int_eq(P.pages, 3);
	ck_assert_int_eq(P.items, 5);

	/* skip ignored: the second page repeats the first, stop with an error. */
	memset(&P, 0, sizeof(P));
	spec.path = "/social-media-posting/loc1/tags";
	ghl_page_skip(c, &spec, on_page_items, on_pages_done, NULL);
	give_token("tok", LOCATION_INFO);
	ck_assert_ptr_nonnull(strstr(S.url, "/tags?skip=0&limit=2"));
	answer(HLB_OK, 200, "{\"results\":{\"tags\":[{\"_id\":\"a\"},{\"_id\":\"b\"}]}}", NULL);
	give_token("tok", LOCATION_INFO);
	answer(HLB_OK, 200, "{\"results\":{\"tags\":[{\"_id\":\"a\"},{\"_id\":\"b\"}]}}", NULL);
	ck_assert_int_eq(P.done, 1);
	ck_assert_int_eq(P.rc, HLB_EFAIL);
	ck_assert_int_eq(P.pages, 1); /* the repeated page is not handed out */
	ck_assert_ptr_nonnull(strstr(P.error, "ignore skip"));

	/* A page without the array. */
	memset(&P, 0, sizeof(P));
	ghl_page_skip(c, &spec, on_page_items, on_pages_done, NULL);
	give_token("tok", LOCATION_INFO);
	answer(HLB_OK, 200, "{\"results\":{}}", NULL);
	ck_assert_int_eq(P.rc, HLB_EPARSE);
	ck_assert_ptr_nonnull(strstr(P.error, "results.tags"));

	/* Cancelled by the client's end: no callback. */
	memset(&P, 0, sizeof(P));
	ghl_page_skip(c, &spec, on_page_items, on_pages_done, NULL);
	give_token("tok", LOCATION_INFO);
	ghl_client_free(c);
	ck_assert_ptr_null(S.http_cb);
	ck_assert_int_eq(P.done, 0);
}
END_TEST

static struct resolved {
	int calls, rc, needs_login;
	size_t n;
	char ids[8][64];
	char message[512];
} R;

static void on_resolved(void *arg, int rc, const char *message, int needs_login, char *const *ids, size_t n)
{
	(void)arg;
	R.calls++;
	R.rc = rc;
	R.needs_login = needs_login;
	R.n = n;
	for (size_t i = 0; i < n && i < 8; i++)
		snprintf(R.ids[i], sizeof(R.ids[0]), "%s", ids[i]);
	snprintf(R.message, sizeof(R.message), "%s", message ? message : "");
}

START_TEST(resolve_list_and_star)
{
	ghl_client *c = setup();

	memset(&R, 0, sizeof(R));
	ck_assert_ptr_nonnull(ghl_locations_resolve(c, "l1,l2", on_resolved, NULL));
	ck_assert_int_eq(R.calls, 0);
	fire_timer();
	ck_assert_int_eq(R.calls, 1);
	ck_assert_int_eq(R.rc, HLB_OK);
	ck_assert_uint_eq(R.n, 2);
	ck_assert_str_eq(R.ids[1], "l2");

	/* `*` with a Location credential: a configuration error that says what to do. */
	memset(&R, 0, sizeof(R));
	ck_assert_ptr_nonnull(ghl_locations_resolve(c, "*", on_resolved, NULL));
	give_token("tok", LOCATION_INFO);
	ck_assert_int_eq(R.rc, HLB_EINVAL);
	ck_assert_ptr_nonnull(strstr(R.message, "agency (Company) credential"));
	ghl_client_free(c);

	c = setup();
	memset(&R, 0, sizeof(R));
	ghl_locations_resolve(c, "*", on_resolved, NULL);
	give_token("agency", AGENCY_INFO);
	give_token("agency", AGENCY_INFO);
	ck_assert_int_eq(S.has_subject, 0); /* an agency call: the agency's own token */
	/* /oauth/ calls go to the credential's base_url, not the instance's */
	ck_assert_str_eq(S.url, "http://127.0.0.1:1/oauth/installedLocations?companyId=co1&appId=app1"
			 "&isInstalled=true&skip=0&limit=100");
	ck_assert_str_eq(S.pace, "ghl:pit-0123456789ab:co1");
	answer(HLB_OK, 200, "{\"locations\":[{\"_id\":\"L1\",\"name\":\"a\",\"address\":\"\"},"
	       "{\"_id\":\"L2\",\"isInstalled\":false},{\"_id\":\"bad/id\"},{\"_id\":\"L3\"},{\"_id\":\"L1\"}],"
	       "\"count\":5}", NULL);
	ck_assert_int_eq(R.calls, 1);
	ck_assert_int_eq(R.rc, HLB_OK);
	ck_assert_uint_eq(R.n, 2);
	ck_assert_str_eq(R.ids[0], "L1");
	ck_assert_str_eq(R.ids[1], "L3");

	/* No token: needs_login comes through. */
	memset(&R, 0, sizeof(R));
	ghl_locations_resolve(c, "*", on_resolved, NULL);
	give_token(NULL, NULL);
	ck_assert_int_ne(R.rc, HLB_OK);
	ck_assert_int_eq(R.needs_login, 1);
	ck_assert_ptr_nonnull(strstr(R.message, "refresh token was refused"));
	ghl_client_free(c);
}
END_TEST

/* ghl_request_raw: the same token, headers, pacing and error reading as
 * ghl_request, but a 2xx answer is bytes with a type, not JSON. */
START_TEST(request_raw)
{
	ghl_client *c = setup();
	static const char wav[] = "RIFF\x24\0\0\0WAVE";

	ck_assert_ptr_nonnull(ghl_request_raw(c, "loc1", "GET", "2021-04-15",
					      "/conversations/messages/m1/locations/loc1/recording", on_reply, NULL));
	ck_assert_int_eq(G.calls, 0);
	give_token("tok", LOCATION_INFO);
	ck_assert(has_header("Authorization: Bearer tok"));
	ck_assert(has_header("Version: 2021-04-15"));
	ck_assert(has_header("Accept: */*"));
	ck_assert(!has_header("Accept: application/json"));
	ck_assert_str_eq(S.pace, "ghl:pit-0123456789ab:loc1");
	answer_bytes(200, wav, sizeof(wav) - 1, "audio/x-wav");
	ck_assert_int_eq(G.calls, 1);
	ck_assert_int_eq(G.rc, HLB_OK);
	ck_assert_str_eq(G.json, "");
	ck_assert_int_eq(G.has_raw, 1);
	ck_assert_uint_eq(G.raw_len, 12);
	ck_assert_int_eq(memcmp(G.raw, wav, 12), 0);
	ck_assert_str_eq(G.type, "audio/x-wav");
	ck_assert_str_eq(G.location, "loc1");

	/* An error answer is read as GHL's JSON error body, as ghl_request's. */
	ghl_client_set_retries(c, 0, 0);
	ghl_request_raw(c, "loc1", "GET", "2021-04-15", "/r", on_reply, NULL);
	give_token("tok", LOCATION_INFO);
	answer(HLB_OK, 404, "{\"statusCode\":404,\"message\":\"Recording not found\"}", NULL);
	ck_assert_int_eq(G.rc, HLB_EHTTP);
	ck_assert_int_eq(G.status, 404);
	ck_assert_int_eq(G.has_raw, 0);
	ck_assert_ptr_nonnull(strstr(G.error, "GET /r"));
	ck_assert_ptr_nonnull(strstr(G.error, "Recording not found"));

	/* A file over the answer cap: an error naming it. */
	ghl_request_raw(c, "loc1", "GET", "2021-04-15", "/big", on_reply, NULL);
	give_token("tok", LOCATION_INFO);
	answer(HLB_ETOOBIG, 200, NULL, NULL);
	ck_assert_int_eq(G.rc, HLB_ETOOBIG);
	ck_assert_int_eq(G.has_raw, 0);
	ck_assert_ptr_nonnull(strstr(G.error, "larger than 8388608 bytes"));
	ck_assert_ptr_nonnull(strstr(G.error, "cap"));

	/* A 5xx is retried as ghl_request's; an empty file and no type are fine;
	 * ghl_raw_as_json turns the answer into its record. */
	ghl_client_set_retries(c, 1, 30000);
	ghl_request_raw(c, "loc1", "GET", "2021-04-15", "/t", on_raw_as_json, NULL);
	give_token("tok", LOCATION_INFO);
	answer_bytes(502, "bad gateway", 11, "text/html");
	ck_assert_int_eq(G.calls, 3);
	fire_timer();
	give_token("tok", LOCATION_INFO);
	answer_bytes(200, NULL, 0, NULL);
	ck_assert_int_eq(G.calls, 4);
	ck_assert_int_eq(G.rc, HLB_OK);
	ck_assert_int_eq(G.has_raw, 0); /* the copy handed on has json instead */
	ck_assert_str_eq(G.item, "{\"contentType\":\"application/octet-stream\",\"size\":0,"
			 "\"fnv1a64\":\"cbf29ce484222325\",\"data\":\"\"}");

	/* ghl_request is unchanged: JSON, no raw. */
	ghl_request(c, "loc1", "GET", GHL_VERSION, "/j", NULL, on_raw_as_json, NULL);
	give_token("tok", LOCATION_INFO);
	ck_assert(has_header("Accept: application/json"));
	answer_bytes(200, "{\"a\":1}", 7, "application/json");
	ck_assert_int_eq(G.has_raw, 0);
	ck_assert_str_eq(G.item, "{\"a\":1}");

	/* Cancelled before the answer: no callback. */
	ghl_call_cancel(ghl_request_raw(c, "loc1", "GET", "2021-04-15", "/x", on_reply, NULL));
	ck_assert_int_eq(G.calls, 5);
	ghl_client_free(c);
}
END_TEST

static Suite *test_suite(void)
{
	Suite *s = suite_create("ghl_client");
	TCase *pure = tcase_create("pure");
	TCase *flow = tcase_create("flow");

	tcase_add_test(pure, url_and_pace_key);
	tcase_add_test(pure, json_helpers);
	tcase_add_test(pure, pager_stops_on_short_page);
	tcase_add_test(pure, pager_stops_on_count);
	tcase_add_test(pure, pager_guards);
	tcase_add_test(pure, locations_parse);
	tcase_add_test(pure, tag_snapshot_diff);
	tcase_add_test(pure, tag_snapshot_long_name);
	tcase_add_test(pure, stats_extract);
	tcase_add_test(pure, stat_id_stable);
	tcase_add_test(pure, raw_item);
	tcase_add_test(flow, request_headers_and_pacing);
	tcase_add_test(flow, request_401_once);
	tcase_add_test(flow, request_429_retry_after);
	tcase_add_test(flow, request_errors);
	tcase_add_test(flow, request_agency_location_token);
	tcase_add_test(flow, request_raw);
	tcase_add_test(flow, pager_flow);
	tcase_add_test(flow, resolve_list_and_star);
	suite_add_tcase(s, pure);
	suite_add_tcase(s, flow);
	return s;
}
