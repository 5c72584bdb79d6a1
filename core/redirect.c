/* A one-request HTTP listener for the OAuth redirect (see redirect.h). It
 * is deliberately tiny and blocking: it runs in `hlbridge auth login`,
 * before any event loop, and reads at most one bounded request at a time. */
#include "redirect.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "loop.h"

#define REQUEST_CAP 8192     /* a browser's GET with headers fits easily */
#define READ_TIMEOUT_MS 5000 /* per connection: a silent client is dropped */

struct hc_redirect {
	int fd;
	char path[512];
};

static int parse_uri(const char *uri, char *host, size_t hostlen, char *port, size_t portlen,
		     char *path, size_t pathlen)
{
	const char *p, *end;
	size_t n;

	if (strncmp(uri, "http://", 7) != 0)
		return -1;
	p = uri + 7;
	if (*p == '[') {
		end = strchr(p, ']');
		if (!end)
			return -1;
		n = (size_t)(end - p - 1);
		if (n >= hostlen)
			return -1;
		memcpy(host, p + 1, n);
		host[n] = 0;
		p = end + 1;
	} else {
		n = strcspn(p, ":/?");
		if (n == 0 || n >= hostlen)
			return -1;
		memcpy(host, p, n);
		host[n] = 0;
		p += n;
	}
	snprintf(port, portlen, "80");
	if (*p == ':') {
		n = strcspn(++p, "/?");
		if (n == 0 || n >= portlen)
			return -1;
		memcpy(port, p, n);
		port[n] = 0;
		p += n;
	}
	n = strcspn(p, "?#");
	if (n >= pathlen)
		return -1;
	memcpy(path, n ? p : "/", n ? n : 1);
	path[n ? n : 1] = 0;
	return 0;
}

static int is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
	return 0;
}

int hc_redirect_listen(const char *uri, hc_redirect **out, char *err, size_t errlen)
{
	char host[256], port[16];
	struct addrinfo hints, *ai = NULL;
	hc_redirect *r;
	int one = 1, rc;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r->fd = -1;
	if (parse_uri(uri, host, sizeof(host), port, sizeof(port), r->path, sizeof(r->path)) < 0) {
		snprintf(err, errlen, "redirect_uri '%s' is not an http://HOST:PORT/PATH URL", uri);
		goto fail;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0) {
		snprintf(err, errlen, "redirect_uri '%s': %s", uri, gai_strerror(rc));
		goto fail;
	}
	if (!is_loopback(ai->ai_addr)) {
		snprintf(err, errlen, "redirect_uri '%s' is not on a loopback address: use 127.0.0.1, localhost "
			 "or [::1], so that the authorization code never leaves this machine", uri);
		goto fail;
	}
	r->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (r->fd < 0 || setsockopt(r->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(r->fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(r->fd, 8) < 0) {
		snprintf(err, errlen, "cannot listen on %s port %s for redirect_uri '%s': %s", host, port, uri,
			 strerror(errno));
		goto fail;
	}
	freeaddrinfo(ai);
	*out = r;
	return 0;
fail:
	if (ai)
		freeaddrinfo(ai);
	hc_redirect_close(r);
	return -1;
}

void hc_redirect_close(hc_redirect *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	free(r);
}

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

void hc_url_decode(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (*s == '+') {
			*o++ = ' ';
		} else if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
			*o++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = 0;
}

/* The value of `name` in a query string (malloc'ed, decoded), or NULL. */
static char *query_param(const char *query, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = query; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
		if (strncmp(p, name, n) == 0 && p[n] == '=') {
			size_t len = strcspn(p + n + 1, "&");
			char *v = strndup(p + n + 1, len);

			if (v)
				hc_url_decode(v);
			return v;
		}
	}
	return NULL;
}

static void answer(int fd, int status, const char *text)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf),
			 "HTTP/1.1 %d %s\r\nContent-Type: text/html; charset=utf-8\r\nConnection: close\r\n"
			 "Cache-Control: no-store\r\n\r\n<!doctype html><title>hlbridge</title><p>%s</p>\n",
			 status, status == 200 ? "OK" : status == 404 ? "Not Found" : "Bad Request", text);

	if (n > 0 && write(fd, buf, (size_t)n) < 0) {
		/* the browser went away: nothing to tell it */
	}
}

/* Reads one request head; returns its length, or -1. */
static ssize_t read_head(int fd, char *buf, size_t cap)
{
	size_t len = 0;

	while (len + 1 < cap) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, READ_TIMEOUT_MS) <= 0)
			return -1;
		n = read(fd, buf + len, cap - 1 - len);
		if (n <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = 0;
		if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
			return (ssize_t)len;
	}
	return -1;
}

/* 1: got the code, 0: not this request, -1: the server said no. */
static int handle(hc_redirect *r, int fd, const char *csrf, char **code, char *err, size_t errlen)
{
	char buf[REQUEST_CAP], *target, *sp, *query;
	char *state = NULL, *error = NULL, *desc = NULL;
	int rc = 0;

	if (read_head(fd, buf, sizeof(buf)) < 0 || strncmp(buf, "GET ", 4) != 0)
		return 0;
	target = buf + 4;
	sp = strchr(target, ' ');
	if (!sp)
		return 0;
	*sp = 0;
	query = strchr(target, '?');
	if (query)
		*query++ = 0;
	if (strcmp(target, r->path) != 0) {
		answer(fd, 404, "Not the authorization redirect.");
		return 0;
	}
	state = query_param(query, "state");
	/* Only the redirect of this login counts: any web page could make the
	 * browser call this port with a code (or an error) of its own. */
	if (!state || strcmp(state, csrf) != 0) {
		answer(fd, 400, "This redirect does not belong to the login under way (state mismatch).");
		goto out;
	}
	error = query_param(query, "error");
	if (error) {
		desc = query_param(query, "error_description");
		snprintf(err, errlen, "the authorization server answered: %s%s%s", error, desc ? ": " : "",
			 desc ? desc : "");
		answer(fd, 400, "The authorization failed; see the terminal running hlbridge.");
		rc = -1;
		goto out;
	}
	*code = query_param(query, "code");
	if (!*code || !**code) {
		free(*code);
		*code = NULL;
		answer(fd, 400, "The redirect carries no authorization code.");
		goto out;
	}
	answer(fd, 200, "hlbridge received the authorization. You can close this window.");
	rc = 1;
out:
	free(state);
	free(error);
	free(desc);
	return rc;
}

int hc_redirect_wait(hc_redirect *r, const char *csrf, int64_t timeout_ms, char **code,
		     char *err, size_t errlen)
{
	int64_t deadline = hc_now_ms() + timeout_ms;

	*code = NULL;
	for (;;) {
		int64_t left = deadline - hc_now_ms();
		struct pollfd p = { r->fd, POLLIN, 0 };
		int fd, rc;

		if (left <= 0) {
			snprintf(err, errlen, "no authorization arrived within %lld s",
				 (long long)(timeout_ms / 1000));
			return -1;
		}
		rc = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (rc < 0 && errno != EINTR) {
			snprintf(err, errlen, "waiting for the redirect: %s", strerror(errno));
			return -1;
		}
		if (rc <= 0)
			continue;
		fd = accept(r->fd, NULL, NULL);
		if (fd < 0)
			continue;
		rc = handle(r, fd, csrf, code, err, errlen);
		close(fd);
		if (rc != 0)
			return rc > 0 ? 0 : -1;
	}
}
