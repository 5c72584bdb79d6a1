/* The HTTP listener: libmicrohttpd driven by the event loop (its epoll
 * descriptor is one of the loop's watched fds), so handlers run on the
 * loop's thread like every other callback and never block it. A handler
 * gets a request whose body has arrived in full (within the bounds) and
 * answers now or later: an unanswered request's connection is suspended
 * until hc_request_respond. */
#ifndef HC_LISTEN_H
#define HC_LISTEN_H

#include <stddef.h>
#include <stdint.h>
#include "loop.h"

typedef struct hc_listen hc_listen;
typedef struct hc_request hc_request;

typedef struct hc_listen_limits {
	size_t max_body;          /* a longer body is answered 413 unread */
	size_t max_header;        /* memory per connection for headers */
	unsigned max_connections;
	unsigned timeout_s;       /* a request must arrive whole within this */
} hc_listen_limits;

typedef void (*hc_request_handler)(void *arg, hc_request *req);

/* addr is "HOST:PORT" (an IPv4 or [IPv6] literal; port 0 picks one).
 * NULL with err set when it cannot listen. */
hc_listen *hc_listen_start(hc_loop *loop, const char *addr, const hc_listen_limits *limits,
			   hc_request_handler handler, void *arg, char *err, size_t errlen);
/* Answers what is still waiting with 503, then closes. */
void hc_listen_stop(hc_listen *l);
uint16_t hc_listen_port(const hc_listen *l);

const char *hc_request_method(const hc_request *r);
const char *hc_request_path(const hc_request *r);
/* A request header, or NULL. */
const char *hc_request_header(const hc_request *r, const char *name);
const char *hc_request_body(const hc_request *r, size_t *len);
/* Answers the request (once; later calls do nothing). `headers` is a
 * NULL-terminated list of "Name: value" strings, or NULL. The body is
 * copied. */
void hc_request_respond(hc_request *r, unsigned status, const char *content_type,
			const char *body, size_t len, const char *const *headers);

#endif
