/* Unit tests of the asynchronous HTTP service (core/http.c) on the event
 * loop, against a libmicrohttpd server started by each test on 127.0.0.1
 * with a port the kernel picks. */
#include "check_main.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "hlbridge/hlbridge.h"
#include "http.h"
#include "loop.h"

#define UPLOAD_CAP 4096
#define MAX_RESULTS 64

/* ---- the server --------------------------------------------------------- */

/* The last request the server answered. */
struct seen {
	char method[16];
	char url[128];
	char x_test[64];
	char user_agent[64];
	char content_type[64];
	char upload[UPLOAD_CAP];
	size_t upload_len;
};

/* Shared with the server's threads; the test reads it under the lock. */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int release_slow;  /* /slow answers once this is set */
	int slow_seen;     /* /slow requests that arrived */
	int requests;      /* requests answered or waiting */
	struct seen last;
} srv = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static struct MHD_Daemon *daemon_;
static unsigned short port;

struct upload {
	char data[UPLOAD_CAP];
	size_t len;
};

static void copy_value(struct MHD_Connection *c, const char *name, char *out, size_t outlen)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);

	snprintf(out, outlen, "%s", v ? v : "");
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body, size_t len,
			     const char *const *headers)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result rc;

	if (!r)
		return MHD_NO;
	for (const char *const *h = headers; h && h[0]; h += 2)
		MHD_add_response_header(r, h[0], h[1]);
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

/* Holds the connection until the test releases it, for at most 5 s so a
 * failing test cannot hang the server's shutdown. */
static void wait_for_release(void)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&srv.mu);
	srv.slow_seen++;
	pthread_cond_broadcast(&srv.cv);
	while (!srv.release_slow)
		if (pthread_cond_timedwait(&srv.cv, &srv.mu, &until) != 0)
			break;
	pthread_mutex_unlock(&srv.mu);
}

static enum MHD_Result serve(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			     const char *version, const char *data, size_t *data_size, void **con_cls)
{
	struct upload *up = *con_cls;
	char text[256];

	(void)cls;
	(void)version;
	if (!up) {
		/* First call: headers only. Keep a buffer for the body. */
		up = calloc(1, sizeof(*up));
		if (!up)
			return MHD_NO;
		*con_cls = up;
		return MHD_YES;
	}
	if (*data_size) {
		size_t n = *data_size;

		if (n > sizeof(up->data) - up->len)
			n = sizeof(up->data) - up->len;
		memcpy(up->data + up->len, data, n);
		up->len += n;
		*data_size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&srv.mu);
	srv.requests++;
	snprintf(srv.last.method, sizeof(srv.last.method), "%s", method);
	snprintf(srv.last.url, sizeof(srv.last.url), "%s", url);
	copy_value(c, "X-Test", srv.last.x_test, sizeof(srv.last.x_test));
	copy_value(c, "User-Agent", srv.last.user_agent, sizeof(srv.last.user_agent));
	copy_value(c, "Content-Type", srv.last.content_type, sizeof(srv.last.content_type));
	memcpy(srv.last.upload, up->data, up->len);
	srv.last.upload_len = up->len;
	pthread_mutex_unlock(&srv.mu);

	if (strcmp(url, "/echo") == 0) {
		static const char *const h[] = { "X-Reply", "yes", "X-Dup", "first", "X-Dup", "second",
						 "X-Spaced", "  padded  ", NULL };

		return reply(c, 200, "hello", 5, h);
	}
	if (strcmp(url, "/post") == 0) {
		int n = snprintf(text, sizeof(text), "got %zu bytes", up->len);

		return reply(c, 201, text, (size_t)n, NULL);
	}
	if (strcmp(url, "/big") == 0) {
		const char *arg = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "n");
		size_t n = arg ? (size_t)strtoul(arg, NULL, 10) : 0;
		char *body = malloc(n + 1);
		enum MHD_Result rc;

		if (!body)
			return MHD_NO;
		memset(body, 'x', n);
		rc = reply(c, 200, body, n, NULL);
		free(body);
		return rc;
	}
	if (strcmp(url, "/id") == 0) {
		const char *arg = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "i");
		int n = snprintf(text, sizeof(text), "id-%s", arg ? arg : "");

		return reply(c, 200, text, (size_t)n, NULL);
	}
	if (strcmp(url, "/slow") == 0) {
		wait_for_release();
		return reply(c, 200, "late", 4, NULL);
	}
	if (strcmp(url, "/limited") == 0) {
		static const char *const h[] = { "X-RateLimit-Max", "2", "X-RateLimit-Interval-Milliseconds", "500",
						 "X-RateLimit-Remaining", "1", NULL };

		return reply(c, 200, "ok", 2, h);
	}
	if (strcmp(url, "/throttle") == 0) {
		static const char *const h[] = { "Retry-After", "1", "X-RateLimit-Max", "100",
						 "X-RateLimit-Interval-Milliseconds", "10000",
						 "X-RateLimit-Remaining", "0", NULL };

		return reply(c, 429, "slow down", 9, h);
	}
	if (strcmp(url, "/busy") == 0) {
		static const char *const h[] = { "Retry-After", "7", NULL };

		return reply(c, 503, "busy", 4, h);
	}
	return reply(c, 404, "no such page", 12, NULL);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	free(*con_cls);
	*con_cls = NULL;
}

static void server_start(void)
{
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *info;

	pthread_mutex_lock(&srv.mu);
	srv.release_slow = 0;
	srv.slow_seen = 0;
	srv.requests = 0;
	memset(&srv.last, 0, sizeof(srv.last));
	pthread_mutex_unlock(&srv.mu);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = 0;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* A thread per connection, so /slow holds only its own. */
	daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
				   MHD_USE_ERROR_LOG, 0, NULL, NULL, serve, NULL,
				   MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				   MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
				   MHD_OPTION_END);
	ck_assert_msg(daemon_ != NULL, "cannot start the test HTTP server");
	info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
	ck_assert_ptr_nonnull(info);
	port = info->port;
	ck_assert_uint_ne(port, 0);
}

static void release_slow(void)
{
	pthread_mutex_lock(&srv.mu);
	srv.release_slow = 1;
	pthread_cond_broadcast(&srv.cv);
	pthread_mutex_unlock(&srv.mu);
}

static int slow_seen(void)
{
	int n;

	pthread_mutex_lock(&srv.mu);
	n = srv.slow_seen;
	pthread_mutex_unlock(&srv.mu);
	return n;
}

/* ---- the client side ---------------------------------------------------- */

struct result {
	int calls;
	int rc;
	long status;
	char body[256];
	size_t body_len;
	char header[128];    /* value of `want_header`, or "(none)" */
	char header2[128];   /* the same name looked up in upper case */
	char error[CURL_ERROR_SIZE + 64];
	int64_t at_ms;       /* when the callback ran */
};

static hc_loop *loop;
static hc_http *svc;
static struct result results[MAX_RESULTS];
static int done, want;
static const char *want_header;
static int guard_fired;

static void on_response(void *arg, const hlb_http_response *resp)
{
	struct result *r = arg;
	size_t len = 0;
	const char *body = hc_http_body(resp, &len);
	const char *h;

	r->calls++;
	r->at_ms = hc_now_ms();
	r->rc = hc_http_result(resp);
	r->status = hc_http_status(resp);
	r->body_len = len;
	snprintf(r->body, sizeof(r->body), "%.*s", (int)(len < sizeof(r->body) ? len : sizeof(r->body) - 1), body);
	snprintf(r->error, sizeof(r->error), "%s", hc_http_error(resp));
	if (want_header) {
		char upper[64];
		size_t i;

		h = hc_http_header(resp, want_header);
		snprintf(r->header, sizeof(r->header), "%s", h ? h : "(none)");
		for (i = 0; want_header[i] && i + 1 < sizeof(upper); i++)
			upper[i] = (char)(want_header[i] >= 'a' && want_header[i] <= 'z' ? want_header[i] - 32
											   : want_header[i]);
		upper[i] = 0;
		h = hc_http_header(resp, upper);
		snprintf(r->header2, sizeof(r->header2), "%s", h ? h : "(none)");
	}
	if (++done >= want)
		hc_loop_stop(loop);
}

static void guard(void *arg)
{
	(void)arg;
	guard_fired = 1;
	hc_loop_stop(loop);
}

/* Runs the loop until `n` callbacks have run, or fails after guard_ms. */
static void run_until(int n, int64_t guard_ms)
{
	hlb_timer *t;

	want = n;
	guard_fired = 0;
	t = hc_timer_start(loop, guard_ms, 0, guard, NULL);
	ck_assert_ptr_nonnull(t);
	if (done < want)
		hc_loop_run(loop);
	ck_assert_msg(!guard_fired, "only %d of %d transfers ended within %lld ms", done, n, (long long)guard_ms);
	hc_timer_stop(t);
}

static void stop_loop(void *arg)
{
	(void)arg;
	hc_loop_stop(loop);
}

/* Runs the loop for about `ms` milliseconds, whatever happens. */
static void run_for(int64_t ms)
{
	int saved = want;

	want = MAX_RESULTS + 1; /* callbacks must not stop it early */
	ck_assert_ptr_nonnull(hc_timer_start(loop, ms, 0, stop_loop, NULL));
	hc_loop_run(loop);
	want = saved;
}

static void stop_when_held(void *arg)
{
	if (slow_seen() >= *(int *)arg)
		hc_loop_stop(loop);
}

/* Runs the loop until the server holds `n` /slow requests. */
static void run_until_held(int n)
{
	hlb_timer *poller = hc_timer_start(loop, 1, 1, stop_when_held, &n);
	hlb_timer *t = hc_timer_start(loop, 10000, 0, guard, NULL);

	ck_assert_ptr_nonnull(poller);
	ck_assert_ptr_nonnull(t);
	guard_fired = 0;
	hc_loop_run(loop);
	hc_timer_stop(poller);
	ck_assert_msg(!guard_fired, "the server saw %d of %d slow requests", slow_seen(), n);
	hc_timer_stop(t);
}

static void server_last(struct seen *out)
{
	pthread_mutex_lock(&srv.mu);
	*out = srv.last;
	pthread_mutex_unlock(&srv.mu);
}

static int server_requests(void)
{
	int n;

	pthread_mutex_lock(&srv.mu);
	n = srv.requests;
	pthread_mutex_unlock(&srv.mu);
	return n;
}

static void setup(void)
{
	memset(results, 0, sizeof(results));
	done = want = 0;
	want_header = NULL;
	server_start();
	loop = hc_loop_new();
	ck_assert_ptr_nonnull(loop);
	svc = hc_http_new(loop, "9.8.7");
	ck_assert_ptr_nonnull(svc);
}

static void teardown(void)
{
	hc_http_free(svc);
	hc_loop_free(loop);
	svc = NULL;
	loop = NULL;
	release_slow();
	if (daemon_)
		MHD_stop_daemon(daemon_);
	daemon_ = NULL;
}

static void url(char *buf, size_t len, const char *path)
{
	snprintf(buf, len, "http://127.0.0.1:%u%s", port, path);
}

static hlb_http *get(const char *path, int64_t timeout_ms, size_t max_response, struct result *r)
{
	hlb_http_request req = HLB_HTTP_REQUEST_INIT;
	char u[128];
	hlb_http *h;

	url(u, sizeof(u), path);
	req.url = u;
	req.timeout_ms = timeout_ms;
	req.max_response = max_response;
	h = hc_http_request(svc, "test", &req, on_response, r);
	ck_assert_msg(h != NULL, "request for %s refused", u);
	return h;
}

/* ---- tests -------------------------------------------------------------- */

/* hc_http_hold: which owners are held now (a test owner is an int). */
static int held_owners[2];

static int hold_owner(void *owner)
{
	return held_owners[*(int *)owner];
}

START_TEST(test_hold_and_wake)
{
	static int owner0 = 0, owner1 = 1;
	hlb_http *a, *b, *c;

	hc_http_hold(svc, hold_owner);
	held_owners[0] = 1;
	held_owners[1] = 0;
	a = get("/echo", 10000, 0, &results[0]);
	b = get("/echo", 10000, 0, &results[1]);
	c = get("/echo", 10000, 0, &results[2]);
	hc_http_set_owner(a, &owner0);
	hc_http_set_owner(b, &owner0);
	hc_http_set_owner(c, &owner1);
	/* the unheld owner's answer comes; the held ones wait as answers */
	run_until(1, 10000);
	run_for(200);
	ck_assert_int_eq(results[2].calls, 1);
	ck_assert_int_eq(results[0].calls, 0);
	ck_assert_int_eq(results[1].calls, 0);
	ck_assert_int_eq(server_requests(), 3);
	ck_assert_uint_eq(hc_http_active(svc), 2);
	/* a wake while still held answers nothing */
	hc_http_wake(svc);
	run_for(50);
	ck_assert_int_eq(results[0].calls + results[1].calls, 0);
	/* a held answer can be cancelled: no callback, nothing leaks */
	hc_http_cancel(b);
	ck_assert_uint_eq(hc_http_active(svc), 1);
	held_owners[0] = 0;
	hc_http_wake(svc);
	run_until(2, 10000);
	ck_assert_int_eq(results[0].calls, 1);
	ck_assert_int_eq(results[0].rc, HLB_OK);
	ck_assert_int_eq(results[0].status, 200);
	ck_assert_str_eq(results[0].body, "hello");
	ck_assert_int_eq(results[1].calls, 0);
	ck_assert_uint_eq(hc_http_active(svc), 0);
	/* held at the end: hc_http_free (teardown) frees it without a call */
	held_owners[0] = 1;
	a = get("/echo", 10000, 0, &results[3]);
	hc_http_set_owner(a, &owner0);
	run_for(300);
	ck_assert_int_eq(results[3].calls, 0);
	ck_assert_uint_eq(hc_http_active(svc), 1);
}
END_TEST

START_TEST(test_get)
{
	struct seen last;
	hlb_http_request req = HLB_HTTP_REQUEST_INIT;
	const char *headers[] = { "X-Test: probe 1", NULL };
	char u[128];

	url(u, sizeof(u), "/echo");
	req.url = u;
	req.headers = headers;
	want_header = "x-reply";
	ck_assert_ptr_nonnull(hc_http_request(svc, "test", &req, on_response, &results[0]));
	ck_assert_uint_eq(hc_http_active(svc), 1);
	run_until(1, 10000);
	ck_assert_int_eq(results[0].calls, 1);
	ck_assert_int_eq(results[0].rc, HLB_OK);
	ck_assert_int_eq(results[0].status, 200);
	ck_assert_str_eq(results[0].body, "hello");
	ck_assert_uint_eq(results[0].body_len, 5);
	ck_assert_str_eq(results[0].error, "");
	/* header names match whatever their case */
	ck_assert_str_eq(results[0].header, "yes");
	ck_assert_str_eq(results[0].header2, "yes");
	ck_assert_uint_eq(hc_http_active(svc), 0);
	/* what the server received */
	server_last(&last);
	ck_assert_str_eq(last.method, "GET");
	ck_assert_str_eq(last.url, "/echo");
	ck_assert_str_eq(last.x_test, "probe 1");
	ck_assert_str_eq(last.user_agent, "hlbridge/9.8.7");
	ck_assert_uint_eq(last.upload_len, 0);
}
END_TEST

/* Looks one header up inside the callback, where the response lives. */
static const char *header_names[] = { "X-Dup", "X-Spaced", "X-Missing", "X-Rep", "Content-Length" };
static char header_values[5][64];

static void on_headers(void *arg, const hlb_http_response *resp)
{
	(void)arg;
	for (size_t i = 0; i < 5; i++) {
		const char *v = hc_http_header(resp, header_names[i]);

		snprintf(header_values[i], sizeof(header_values[i]), "%s", v ? v : "(none)");
	}
	done++;
	hc_loop_stop(loop);
}

START_TEST(test_header_lookup)
{
	hlb_http_request req = HLB_HTTP_REQUEST_INIT;
	char u[128];

	url(u, sizeof(u), "/echo");
	req.url = u;
	ck_assert_ptr_nonnull(hc_http_request(svc, "test", &req, on_headers, NULL));
	run_until(1, 10000);
	ck_assert_str_eq(header_values[0], "second");  /* the last of a repeated header */
	ck_assert_str_eq(header_values[1], "padded");  /* surrounding blanks trimmed */
	ck_assert_str_eq(header_values[2], "(none)");
	ck_assert_str_eq(header_values[3], "(none)");  /* a prefix of X-Reply is not X-Reply */
	ck_assert_str_eq(header_values[4], "5");
}
END_TEST

START_TEST(test_post)
{
	hlb_http_request req = HLB_HTTP_REQUEST_INIT;
	const char *headers[] = { "Content-Type: application/json", NULL };
	static const char body[] = "{\"a\":\"x\0y\"}";
	struct seen last;
	char u[128];

	url(u, sizeof(u), "/post");
	req.method = "POST";
	req.url = u;
	req.headers = headers;
	req.body = body;
	req.body_len = sizeof(body) - 1; /* with the NUL inside: not a C string */
	ck_assert_ptr_nonnull(hc_http_request(svc, "test", &req, on_response, &results[0]));
	run_until(1, 10000);
	ck_assert_int_eq(results[0].rc, HLB_OK);
	ck_assert_int_eq(results[0].status, 201);
	ck_assert_str_eq(results[0].body, "got 11 bytes");
	server_last(&last);
	ck_assert_str_eq(last.method, "POST");
	ck_assert_str_eq(last.content_type, "application/json");
	ck_assert_uint_eq(last.upload_len, sizeof(body) - 1);
	ck_assert_mem_eq(last.upload, body, sizeof(body) - 1);
}
END_TEST

START_TEST(test_put_copies_body)
{
	hlb_http_request req = HLB_HTTP_REQUEST_INIT;
	struct seen last;
	char body[64], u[128];

	/* The host copies the request: the caller's buffers may go at once. */
	url(u, sizeof(u), "/post");
	snprintf(body, sizeof(body), "first version");
	req.method = "PUT";
	req.url = u;
	req.body = body;
	req.body_len = strlen(body);
	ck_assert_ptr_nonnull(hc_http_request(svc, "test", &req, on_response, &results[0]));
	memset(body, '#', sizeof(body));
	memset(u, 0, sizeof(u));
	run_until(1, 10000);
	ck_assert_int_eq(results[0].rc, HLB_OK);
	server_last(&last);
	ck_assert_str_eq(last.method, "PUT");
	ck_assert_uint_eq(last.upload_len, 13);
	ck_assert_mem_eq(last.upload, "first version", 13);
}
END_TEST

START_TEST(test_too_big)
{
	get("/big?n=100000", 0, 1000, &results[0]);
	get("/big?n=1000", 0, 1000, &results[1]);   /* exactly the cap: fine */
	get("/big?n=1001", 0, 1000, &results[2]);   /* one byte over */
	get("/big?n=20000", 0, 0, &results[3]);     /* 0: the 8 MiB default */
	run_until(4, 10000);
	ck_assert_int_eq(results[0].rc, HLB_ETOOBIG);
	ck_assert_ptr_nonnull(strstr(results[0].error, "limit"));
	ck_assert_int_eq(results[1].rc, HLB_OK);
	ck_assert_uint_eq(results[1].body_len, 1000);
	ck_assert_int_eq(results[2].rc, HLB_ETOOBIG);
	ck_assert_int_eq(results[3].rc, HLB_OK);
	ck_assert_uint_eq(results[3].body_len, 20000);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(results[i].calls, 1);
}
END_TEST

START_TEST(test_timeout)
{
	int64_t start = hc_now_ms();

	get("/slow", 200, 0, &results[0]);
	run_until(1, 10000);
	ck_assert_int_eq(results[0].rc, HLB_ETIMEDOUT);
	ck_assert_str_ne(results[0].error, "");
	ck_assert_int_ge(results[0].at_ms - start, 190);
	ck_assert_int_lt(results[0].at_ms - start, 3000);
	ck_assert_int_eq(slow_seen(), 1);
}
END_TEST

START_TEST(test_refused)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	hlb_http_request req = HLB_HTTP_REQUEST_INIT;
	char u[128];

	/* A port that was just free and has nobody listening on it. */
	ck_assert_int_ge(fd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	snprintf(u, sizeof(u), "http://127.0.0.1:%u/", ntohs(sa.sin_port));
	req.url = u;
	ck_assert_ptr_nonnull(hc_http_request(svc, "test", &req, on_response, &results[0]));
	run_until(1, 10000);
	ck_assert_int_eq(results[0].rc, HLB_ECONN);
	ck_assert_int_eq(results[0].status, 0);
	ck_assert_str_ne(results[0].error, "");
	ck_assert_uint_eq(results[0].body_len, 0);
	ck_assert_str_eq(results[0].body, "");
}
END_TEST

START_TEST(test_concurrent)
{
	enum { N = 50 };
	char path[32], want_body[32];

	for (int i = 0; i < N; i++) {
		snprintf(path, sizeof(path), "/id?i=%d", i);
		get(path, 0, 0, &results[i]);
	}
	ck_assert_uint_eq(hc_http_active(svc), N);
	run_until(N, 20000);
	ck_assert_int_eq(done, N);
	for (int i = 0; i < N; i++) {
		snprintf(want_body, sizeof(want_body), "id-%d", i);
		ck_assert_int_eq(results[i].calls, 1);
		ck_assert_int_eq(results[i].rc, HLB_OK);
		ck_assert_str_eq(results[i].body, want_body);
	}
	ck_assert_uint_eq(hc_http_active(svc), 0);
	ck_assert_int_eq(server_requests(), N);
}
END_TEST

START_TEST(test_cancel)
{
	hlb_http *h;

	/* Cancelled before the loop ever ran: nothing happens at all. */
	hc_http_cancel(get("/echo", 0, 0, &results[2]));
	ck_assert_uint_eq(hc_http_active(svc), 0);
	/* Cancelled while the server holds the request. */
	h = get("/slow", 0, 0, &results[0]);
	run_until_held(1);
	hc_http_cancel(h);
	ck_assert_uint_eq(hc_http_active(svc), 0);
	/* Let the server answer and the loop run: no callback may come. */
	release_slow();
	get("/echo", 0, 0, &results[1]);
	run_until(1, 10000);
	run_for(200);
	ck_assert_int_eq(results[1].calls, 1);
	ck_assert_int_eq(results[1].rc, HLB_OK);
	ck_assert_int_eq(results[0].calls, 0);
	ck_assert_int_eq(results[2].calls, 0);
	ck_assert_int_eq(slow_seen(), 1);
	hc_http_cancel(NULL);
}
END_TEST

START_TEST(test_free_in_flight)
{
	get("/slow", 0, 0, &results[0]);
	get("/slow", 0, 0, &results[1]);
	run_until_held(2);
	/* hc_http_free cancels both without a callback (valgrind sees leaks) */
	hc_http_free(svc);
	svc = hc_http_new(loop, "9.8.7");
	ck_assert_ptr_nonnull(svc);
	release_slow();
	get("/echo", 0, 0, &results[2]);
	run_until(1, 10000);
	run_for(200);
	ck_assert_int_eq(results[0].calls, 0);
	ck_assert_int_eq(results[1].calls, 0);
	ck_assert_int_eq(results[2].calls, 1);
	ck_assert_int_eq(results[2].rc, HLB_OK);
}
END_TEST

START_TEST(test_status_is_data)
{
	want_header = "retry-after";
	get("/busy", 0, 0, &results[0]);
	get("/nowhere", 0, 0, &results[1]);
	run_until(2, 10000);
	ck_assert_int_eq(results[0].rc, HLB_OK);
	ck_assert_int_eq(results[0].status, 503);
	ck_assert_str_eq(results[0].body, "busy");
	ck_assert_str_eq(results[0].header, "7");
	ck_assert_str_eq(results[0].error, "");
	ck_assert_int_eq(results[1].rc, HLB_OK);
	ck_assert_int_eq(results[1].status, 404);
}
END_TEST

START_TEST(test_bad_requests)
{
	hlb_http_request req = HLB_HTTP_REQUEST_INIT;
	hlb_http_request old = HLB_HTTP_REQUEST_INIT;

	/* no URL */
	ck_assert_ptr_null(hc_http_request(svc, "test", &req, on_response, &results[0]));
	ck_assert_ptr_null(hc_http_request(svc, "test", NULL, on_response, &results[0]));
	/* a struct too small to hold max_response */
	old.url = "http://127.0.0.1:1/";
	old.size = (uint32_t)offsetof(hlb_http_request, max_response);
	ck_assert_ptr_null(hc_http_request(svc, "test", &old, on_response, &results[0]));
	ck_assert_uint_eq(hc_http_active(svc), 0);
	/* Only http and https: a plugin cannot read local files. */
	req.url = "file:///etc/passwd";
	ck_assert_ptr_nonnull(hc_http_request(svc, "test", &req, on_response, &results[0]));
	run_until(1, 10000);
	ck_assert_int_ne(results[0].rc, HLB_OK);
	ck_assert_uint_eq(results[0].body_len, 0);
}
END_TEST

/* ---- quota pacing ------------------------------------------------------- */

static hlb_http *paced(const char *path, const char *key, struct result *r)
{
	hlb_http_request req = HLB_HTTP_REQUEST_INIT;
	char u[128];
	hlb_http *h;

	url(u, sizeof(u), path);
	req.url = u;
	req.pace_key = key;
	h = hc_http_request(svc, "test", &req, on_response, r);
	ck_assert_msg(h != NULL, "request for %s refused", u);
	return h;
}

START_TEST(test_pace_queue)
{
	enum { N = 7 };
	hc_http_pace_totals pt;
	char path[32], want_body[32];
	int64_t start = hc_now_ms();

	ck_assert_int_eq(hc_http_pace_configure(svc, "k", 3, 400), HLB_OK);
	for (int i = 0; i < N; i++) {
		snprintf(path, sizeof(path), "/id?i=%d", i);
		paced(path, "k", &results[i]);
	}
	/* three go at once, the others queue for tokens */
	ck_assert_uint_eq(hc_http_active(svc), N);
	ck_assert_int_eq(hc_http_pace_get(svc, "k", &pt), 0);
	ck_assert_uint_eq(pt.waiting, 4);
	ck_assert_uint_eq(pt.available, 0);
	ck_assert_uint_eq(pt.max, 3);
	ck_assert_int_eq(pt.interval_ms, 400);
	run_until(N, 10000);
	for (int i = 0; i < N; i++) {
		int64_t at = results[i].at_ms - start;

		snprintf(want_body, sizeof(want_body), "id-%d", i);
		ck_assert_str_eq(results[i].body, want_body);
		/* tokens come back 400 ms + a 40 ms margin after they were spent */
		if (i < 3)
			ck_assert_int_lt(at, 400);
		else if (i < 6)
			ck_assert_int_ge(at, 440);
		else
			ck_assert_int_ge(at, 880);
	}
	ck_assert_int_lt(results[N - 1].at_ms - start, 3000);
	/* first come, first served: a later request never finishes a wave
	 * (440 ms) before an earlier one; within a wave, transfers released
	 * together may end in any order by a few milliseconds */
	for (int i = 3; i < N; i++)
		ck_assert_int_le(results[i - 1].at_ms - (i == 3 ? 440 : 0), results[i].at_ms + 100);
	ck_assert_int_eq(hc_http_pace_get(svc, "k", &pt), 0);
	ck_assert_uint_eq(pt.taken, N);
	ck_assert_uint_eq(pt.waited, 4);
	ck_assert_uint_eq(pt.waiting, 0);
	ck_assert_uint_eq(hc_http_active(svc), 0);
	ck_assert_uint_le(hc_http_peak_inflight(svc), 3);
	/* other keys, and requests without a key, do not wait */
	paced("/echo", "other", &results[N]);
	get("/echo", 0, 0, &results[N + 1]);
	run_until(N + 2, 10000);
	ck_assert_int_eq(hc_http_pace_get(svc, "other", &pt), 0);
	ck_assert_uint_eq(pt.waited, 0);
	ck_assert_int_eq(hc_http_pace_get(svc, "nobody", &pt), -1);
	ck_assert_int_eq(hc_http_pace_get(svc, NULL, &pt), 0);
	ck_assert_uint_eq(pt.keys, 2);
	ck_assert_uint_eq(pt.taken, N + 1);
}
END_TEST

START_TEST(test_pace_cancel)
{
	hlb_http *h[4];

	ck_assert_int_eq(hc_http_pace_configure(svc, "k", 1, 300), HLB_OK);
	for (int i = 0; i < 4; i++)
		h[i] = paced("/echo", "k", &results[i]);
	/* a queued transfer leaves without a callback; the rest keep order */
	hc_http_cancel(h[1]);
	ck_assert_uint_eq(hc_http_active(svc), 3);
	run_until(2, 10000);
	ck_assert_int_eq(results[0].calls, 1);
	ck_assert_int_eq(results[1].calls, 0);
	ck_assert_int_eq(results[2].calls, 1);
	ck_assert_int_eq(results[3].calls, 0);
	/* freeing the service drops what still waits, without callbacks */
	hc_http_free(svc);
	svc = hc_http_new(loop, "9.8.7");
	ck_assert_ptr_nonnull(svc);
	run_for(500);
	ck_assert_int_eq(results[3].calls, 0);
	ck_assert_uint_eq(hc_loop_timer_count(loop), 0);
}
END_TEST

START_TEST(test_pace_learns)
{
	hc_http_pace_totals pt;
	int64_t start;

	/* an undeclared key is not limited until the server says so */
	paced("/limited", "learn", &results[0]);
	run_until(1, 10000);
	ck_assert_int_eq(hc_http_pace_get(svc, "learn", &pt), 0);
	ck_assert_uint_eq(pt.max, 2);
	ck_assert_int_eq(pt.interval_ms, 500);
	ck_assert_uint_eq(pt.available, 1);
	start = hc_now_ms();
	paced("/limited", "learn", &results[1]);
	paced("/limited", "learn", &results[2]);
	run_until(3, 10000);
	ck_assert_int_lt(results[1].at_ms - start, 400);
	ck_assert_int_ge(results[2].at_ms - start, 300);
	ck_assert_int_eq(results[2].status, 200);
}
END_TEST

START_TEST(test_pace_429)
{
	hc_http_pace_totals pt;
	int64_t start = hc_now_ms();

	ck_assert_int_eq(hc_http_pace_configure(svc, "t", 100, 10000), HLB_OK);
	paced("/throttle", "t", &results[0]);
	run_until(1, 10000);
	ck_assert_int_eq(results[0].status, 429);
	/* Retry-After: 1 holds the key for a second; others go on */
	paced("/echo", "t", &results[1]);
	paced("/echo", "u", &results[2]);
	run_until(2, 10000);
	ck_assert_int_eq(results[2].calls, 1);
	ck_assert_int_eq(results[1].calls, 0);
	run_until(3, 10000);
	ck_assert_int_ge(results[1].at_ms - start, 1000);
	ck_assert_int_eq(results[1].status, 200);
	ck_assert_int_eq(hc_http_pace_get(svc, "t", &pt), 0);
	ck_assert_uint_eq(pt.s429, 1);
	ck_assert_uint_eq(pt.s429_daily, 0);
}
END_TEST

START_TEST(test_pace_bad)
{
	hlb_http_request old = HLB_HTTP_REQUEST_INIT;
	char u[128];

	ck_assert_int_eq(hc_http_pace_configure(svc, "", 1, 1000), HLB_EINVAL);
	ck_assert_int_eq(hc_http_pace_configure(svc, NULL, 1, 1000), HLB_EINVAL);
	ck_assert_int_eq(hc_http_pace_configure(svc, "k", 0, 1000), HLB_EINVAL);
	ck_assert_int_eq(hc_http_pace_configure(svc, "k", 1, 0), HLB_EINVAL);
	/* a plugin built before pace_key: the field is not read */
	ck_assert_int_eq(hc_http_pace_configure(svc, "k", 1, 60000), HLB_OK);
	url(u, sizeof(u), "/echo");
	old.url = u;
	old.pace_key = "k";
	old.size = (uint32_t)offsetof(hlb_http_request, pace_key);
	for (int i = 0; i < 3; i++)
		ck_assert_ptr_nonnull(hc_http_request(svc, "test", &old, on_response, &results[i]));
	run_until(3, 10000);
	/* an empty key is no key */
	paced("/echo", "", &results[3]);
	run_until(4, 10000);
}
END_TEST

static Suite *test_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("http");

	/* fixtures run in the forked child, where the server's threads live */
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_get);
	tcase_add_test(tc, test_header_lookup);
	tcase_add_test(tc, test_post);
	tcase_add_test(tc, test_put_copies_body);
	tcase_add_test(tc, test_too_big);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_concurrent);
	tcase_add_test(tc, test_cancel);
	tcase_add_test(tc, test_hold_and_wake);
	tcase_add_test(tc, test_free_in_flight);
	tcase_add_test(tc, test_status_is_data);
	tcase_add_test(tc, test_bad_requests);
	tcase_add_test(tc, test_pace_queue);
	tcase_add_test(tc, test_pace_cancel);
	tcase_add_test(tc, test_pace_learns);
	tcase_add_test(tc, test_pace_429);
	tcase_add_test(tc, test_pace_bad);
	suite_add_tcase(s, tc);
	return s;
}
