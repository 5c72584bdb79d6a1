/* The HTTP listener on libmicrohttpd in external-select epoll mode: MHD's
 * one epoll descriptor is watched by the event loop and MHD_run() never
 * blocks, so request handling shares the loop's thread with everything
 * else. A request answered later is suspended (MHD_ALLOW_SUSPEND_RESUME)
 * and resumed by hc_request_respond. */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif

#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <microhttpd.h>

#include "listen.h"
#include "log.h"

#define STOP_FLUSH_MS 1000
#define SWEEP_MS 500

/* A connection, from MHD's connection notifications. MHD's own timeout
 * is an idle one: a client that sends a header line now and then would
 * hold its connection for ever (slow loris). So a request must arrive
 * whole within listen_timeout of the connection's start or of the end of
 * its previous request, or its socket is shut down. */
struct conn {
	int fd;
	int64_t waiting_since; /* 0: a request is being handled */
	struct conn *prev, *next;
};

struct hc_request {
	hc_listen *l;
	struct MHD_Connection *conn;
	const char *method, *path;  /* MHD's, valid for the request's life */
	char *body;
	size_t len, cap;
	int too_big;
	int handled;     /* handed to the handler */
	int held;        /* the handler answers later */
	int suspended;
	int responded;
	int orphan;      /* its connection ended while the handler held it */
	unsigned status;
	struct MHD_Response *resp;
	hc_request *prev, *next; /* held requests */
};

struct hc_listen {
	hc_loop *loop;
	struct MHD_Daemon *d;
	hc_listen_limits lim;
	hc_request_handler handler;
	void *arg;
	int resumed;     /* MHD must run again to send resumed answers */
	hc_request *held;
	uint16_t port;
	struct conn *conns;
	hlb_timer *sweep;
};

static void unlink_held(hc_request *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else if (r->l->held == r)
		r->l->held = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
}

static void free_request(hc_request *r)
{
	if (r->resp)
		MHD_destroy_response(r->resp);
	free(r->body);
	free(r);
}

static int append_body(hc_request *r, const char *data, size_t n)
{
	size_t max = r->l->lim.max_body;

	if (r->too_big || r->len + n > max) {
		/* the rest is read and dropped: the answer is 413 */
		r->too_big = 1;
		free(r->body);
		r->body = NULL;
		r->len = r->cap = 0;
		return 0;
	}
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 1024;
		char *b;

		while (cap < r->len + n + 1)
			cap *= 2;
		if (cap > max + 1)
			cap = max + 1;
		if (!(b = realloc(r->body, cap)))
			return -1;
		r->body = b;
		r->cap = cap;
	}
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = '\0';
	return 0;
}

/* busy: the request arrived whole; not busy: the connection waits for
 * the next one, from now. */
static void conn_busy(struct MHD_Connection *c, int busy)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn *k = ci ? ci->socket_context : NULL;

	if (k)
		k->waiting_since = busy ? 0 : hc_now_ms();
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	hc_listen *l = cls;
	struct conn *k = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);

		if (!ci || !(k = calloc(1, sizeof(*k))))
			return; /* untracked: MHD's idle timeout still applies */
		k->fd = ci->connect_fd;
		k->waiting_since = hc_now_ms();
		k->next = l->conns;
		if (l->conns)
			l->conns->prev = k;
		l->conns = k;
		*socket_context = k;
		return;
	}
	if (!k)
		return;
	if (k->prev)
		k->prev->next = k->next;
	else
		l->conns = k->next;
	if (k->next)
		k->next->prev = k->prev;
	free(k);
	*socket_context = NULL;
}

/* Shuts down the sockets of connections whose request is overdue; MHD
 * then sees them end and closes them. */
static void sweep(void *arg)
{
	hc_listen *l = arg;
	int64_t now = hc_now_ms(), limit = (int64_t)l->lim.timeout_s * 1000;

	for (struct conn *k = l->conns; k; k = k->next)
		if (k->waiting_since && now - k->waiting_since > limit && k->fd >= 0) {
			shutdown(k->fd, SHUT_RDWR);
			k->fd = -1;
			l->resumed = 1; /* MHD runs at once and notices */
		}
}

static enum MHD_Result queue(hc_request *r)
{
	enum MHD_Result ok = MHD_queue_response(r->conn, r->status, r->resp);

	MHD_destroy_response(r->resp);
	r->resp = NULL;
	return ok;
}

/* Octorate retries every answer but 200 and 406: a body too large for
 * ever must be a 406 there. */
static void refuse_too_big(hc_request *r)
{
	static const char msg[] = "{\"status\":\"too_large\",\"detail\":\"request body larger than "
				  "webhook_max_body\"}\n";

	hc_request_respond(r, strncmp(r->path, "/webhooks/octorate/", 19) == 0 ? 406 : 413,
			   "application/json", msg, sizeof(msg) - 1, NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	hc_listen *l = cls;
	hc_request *r = *con_cls;

	if (!r) {
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");

		if (!(r = calloc(1, sizeof(*r))))
			return MHD_NO;
		r->l = l;
		r->conn = c;
		r->method = method;
		r->path = url;
		*con_cls = r;
		/* a body announced too large is refused before it is read */
		if (cl && strtoull(cl, NULL, 10) > l->lim.max_body) {
			r->too_big = 1;
			r->handled = 1;
			refuse_too_big(r);
			return queue(r);
		}
		return MHD_YES;
	}
	if (*upload_size) {
		int rc = append_body(r, upload, *upload_size);

		*upload_size = 0;
		return rc < 0 ? MHD_NO : MHD_YES;
	}
	if (r->resp)
		return queue(r);
	if (r->handled) /* resumed without an answer: out of memory */
		return r->responded ? MHD_NO : MHD_YES;
	r->handled = 1;
	conn_busy(c, 1);
	if (r->too_big) {
		refuse_too_big(r);
		return queue(r);
	}
	l->handler(l->arg, r);
	/* a held request keeps no body: handlers read it while called */
	free(r->body);
	r->body = NULL;
	r->len = r->cap = 0;
	if (r->resp)
		return queue(r);
	if (r->responded)
		return MHD_NO; /* out of memory building the answer */
	r->held = 1;
	r->suspended = 1;
	r->next = l->held;
	if (l->held)
		l->held->prev = r;
	l->held = r;
	MHD_suspend_connection(c);
	return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	hc_request *r = *con_cls;

	*con_cls = NULL;
	conn_busy(c, 0);
	if (!r)
		return;
	if (r->held && !r->responded) {
		/* the handler still has it: hc_request_respond frees it */
		unlink_held(r);
		r->orphan = 1;
		return;
	}
	free_request(r);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) HLB_PRINTF(2, 0);

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	hc_log("listen", HLB_LOG_DEBUG, "%s", line);
}

static void run(void *arg)
{
	hc_listen *l = arg;

	l->resumed = 0;
	MHD_run(l->d);
}

static int64_t next_timeout(void *arg)
{
	hc_listen *l = arg;
	MHD_UNSIGNED_LONG_LONG ms;

	if (l->resumed)
		return 0;
	if (MHD_get_timeout(l->d, &ms) == MHD_YES)
		return ms > 1000 ? 1000 : (int64_t)ms;
	return -1;
}

static int parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *sslen, int *v6,
		      char *err, size_t errlen)
{
	char host[128];
	const char *colon = strrchr(addr, ':');
	const char *h = addr;
	size_t hl;
	struct addrinfo hints = { 0 }, *res = NULL;
	char *end;
	long port;
	int rc;

	if (!colon || colon == addr) {
		snprintf(err, errlen, "listen = %s: expected HOST:PORT, such as 127.0.0.1:8080", addr);
		return -1;
	}
	port = strtol(colon + 1, &end, 10);
	if (*end || end == colon + 1 || port < 0 || port > 65535) {
		snprintf(err, errlen, "listen = %s: the port is not a number from 0 to 65535", addr);
		return -1;
	}
	hl = (size_t)(colon - addr);
	if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host)) {
		snprintf(err, errlen, "listen = %s: expected HOST:PORT, such as 127.0.0.1:8080", addr);
		return -1;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	hints.ai_flags = AI_NUMERICHOST;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, NULL, &hints, &res)) != 0 || !res) {
		snprintf(err, errlen, "listen = %s: '%s' is not an IP address (%s)", addr, host,
			 gai_strerror(rc));
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = res->ai_addrlen;
	*v6 = res->ai_family == AF_INET6;
	freeaddrinfo(res);
	if (*v6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
	else
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	return 0;
}

hc_listen *hc_listen_start(hc_loop *loop, const char *addr, const hc_listen_limits *limits,
			   hc_request_handler handler, void *arg, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	int v6 = 0;
	hc_listen *l;
	const union MHD_DaemonInfo *info;

	if (parse_addr(addr, &ss, &sslen, &v6, err, errlen) < 0)
		return NULL;
	if (!(l = calloc(1, sizeof(*l)))) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->loop = loop;
	l->lim = *limits;
	l->handler = handler;
	l->arg = arg;
	l->d = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
				(v6 ? MHD_USE_IPv6 : 0),
				0, NULL, NULL, on_request, l,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				MHD_OPTION_CONNECTION_LIMIT, limits->max_connections,
				MHD_OPTION_CONNECTION_TIMEOUT, limits->timeout_s,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, limits->max_header,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, l,
				MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, l,
				MHD_OPTION_NOTIFY_CONNECTION, on_connection, l,
				MHD_OPTION_END);
	if (!l->d) {
		snprintf(err, errlen, "listen = %s: cannot listen there (address in use, or not "
			 "an address of this machine)", addr);
		free(l);
		return NULL;
	}
	info = MHD_get_daemon_info(l->d, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || info->epoll_fd < 0) {
		snprintf(err, errlen, "listen = %s: libmicrohttpd has no epoll support", addr);
		MHD_stop_daemon(l->d);
		free(l);
		return NULL;
	}
	hc_loop_watch(loop, info->epoll_fd, run, next_timeout, l);
	if (limits->timeout_s)
		l->sweep = hc_timer_start(loop, SWEEP_MS, SWEEP_MS, sweep, l);
	info = MHD_get_daemon_info(l->d, MHD_DAEMON_INFO_BIND_PORT);
	l->port = info ? info->port : 0;
	return l;
}

uint16_t hc_listen_port(const hc_listen *l)
{
	return l->port;
}

/* The answers queued last (the stop's, and those of webhooks the engine
 * finished while it stopped) still go out: no new connection is taken,
 * and MHD runs until the open ones are done, a second at most. */
static void flush(hc_listen *l)
{
	const union MHD_DaemonInfo *info;
	int64_t until = hc_now_ms() + STOP_FLUSH_MS;
	struct pollfd p = { .fd = -1, .events = POLLIN };

	info = MHD_get_daemon_info(l->d, MHD_DAEMON_INFO_EPOLL_FD);
	if (info)
		p.fd = info->epoll_fd;
	MHD_socket ls = MHD_quiesce_daemon(l->d);

	if (ls != MHD_INVALID_SOCKET)
		close(ls);
	while (hc_now_ms() < until) {
		MHD_run(l->d);
		info = MHD_get_daemon_info(l->d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
		if (!info || info->num_connections == 0)
			break;
		poll(&p, 1, 10);
	}
}

void hc_listen_stop(hc_listen *l)
{
	static const char msg[] = "{\"error\":\"hlbridge is stopping\"}\n";

	if (!l)
		return;
	while (l->held)
		hc_request_respond(l->held, 503, "application/json", msg, sizeof(msg) - 1, NULL);
	hc_loop_watch(l->loop, -1, NULL, NULL, NULL);
	if (l->sweep)
		hc_timer_stop(l->sweep);
	flush(l);
	MHD_stop_daemon(l->d);
	free(l);
}

const char *hc_request_method(const hc_request *r)
{
	return r->method;
}

const char *hc_request_path(const hc_request *r)
{
	return r->path;
}

const char *hc_request_header(const hc_request *r, const char *name)
{
	return r->orphan ? NULL : MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *hc_request_body(const hc_request *r, size_t *len)
{
	*len = r->len;
	return r->body ? r->body : "";
}

void hc_request_respond(hc_request *r, unsigned status, const char *content_type,
			const char *body, size_t len, const char *const *headers)
{
	struct MHD_Response *resp;

	if (r->responded)
		return;
	r->responded = 1;
	if (r->orphan) {
		free_request(r);
		return;
	}
	resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (resp) {
		if (content_type)
			MHD_add_response_header(resp, "Content-Type", content_type);
		MHD_add_response_header(resp, "Cache-Control", "no-store");
		for (size_t i = 0; headers && headers[i]; i++) {
			const char *colon = strchr(headers[i], ':');
			char name[64];
			size_t n = colon ? (size_t)(colon - headers[i]) : 0;

			if (!colon || n == 0 || n >= sizeof(name))
				continue;
			memcpy(name, headers[i], n);
			name[n] = '\0';
			MHD_add_response_header(resp, name, colon[1] == ' ' ? colon + 2 : colon + 1);
		}
	}
	r->resp = resp;
	r->status = status;
	if (r->suspended) {
		r->suspended = 0;
		r->held = 0;
		unlink_held(r);
		r->l->resumed = 1;
		MHD_resume_connection(r->conn);
	}
}
