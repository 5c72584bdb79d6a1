/* The asynchronous HTTP service plugins reach through hlb_host. Bodies and
 * headers from the network are held in buffers with a cap, like curl's own
 * dynbuf: a server cannot make hlbridge allocate without bound. */
#include "http.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

#define HEADER_CAP (64 * 1024)
#define DEFAULT_BODY_CAP (8u << 20)
#define DEFAULT_TIMEOUT_MS 30000

struct buf {
	char *data;
	size_t len, cap, limit;
	int overflow;
};

struct hlb_http {
	hc_http *svc;
	CURL *easy;
	struct curl_slist *headers;
	hlb_http_cb cb;
	void *arg;
	char *who;
	struct buf body, head;
	char errbuf[CURL_ERROR_SIZE];
	struct hlb_http *prev, *next;
	int in_callback;   /* its callback runs: cancel must not free it */
};

struct hlb_http_response {
	int result;
	long status;
	const struct hlb_http *t;
	const char *error;
};

struct hc_http {
	hc_loop *loop;
	struct hlb_http *active;
	char user_agent[64];
};

static int buf_add(struct buf *b, const char *data, size_t n)
{
	if (b->len + n + 1 > b->limit) {
		b->overflow = 1;
		return -1;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		char *d;

		while (cap < b->len + n + 1)
			cap *= 2;
		if (cap > b->limit)
			cap = b->limit;
		d = realloc(b->data, cap);
		if (!d)
			return -1;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = 0;
	return 0;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct hlb_http *t = arg;
	size_t n = size * nmemb;

	/* Returning less than n makes curl abort with CURLE_WRITE_ERROR. */
	return buf_add(&t->body, ptr, n) == 0 ? n : 0;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct hlb_http *t = arg;
	size_t n = size * nmemb;

	/* A redirect or 100-continue starts a new header block. */
	if (n > 5 && strncmp(ptr, "HTTP/", 5) == 0)
		t->head.len = 0;
	return buf_add(&t->head, ptr, n) == 0 ? n : 0;
}

static void unlink_transfer(struct hlb_http *t)
{
	if (t->prev)
		t->prev->next = t->next;
	else
		t->svc->active = t->next;
	if (t->next)
		t->next->prev = t->prev;
}

static void free_transfer(struct hlb_http *t)
{
	curl_easy_cleanup(t->easy);
	curl_slist_free_all(t->headers);
	free(t->body.data);
	free(t->head.data);
	free(t->who);
	free(t);
}

static int map_result(CURLcode rc, const struct hlb_http *t)
{
	if (rc == CURLE_OK)
		return HLB_OK;
	if (rc == CURLE_WRITE_ERROR && (t->body.overflow || t->head.overflow))
		return HLB_ETOOBIG;
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return HLB_ETIMEDOUT;
	if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
	    rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR || rc == CURLE_GOT_NOTHING ||
	    rc == CURLE_PARTIAL_FILE || rc == CURLE_SSL_CONNECT_ERROR)
		return HLB_ECONN;
	return HLB_EHTTP;
}

static void on_done(CURL *easy, CURLcode rc, void *arg)
{
	hc_http *svc = arg;
	struct hlb_http *t = NULL;
	struct hlb_http_response resp;

	(void)svc;
	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
	if (!t)
		return;
	memset(&resp, 0, sizeof(resp));
	resp.result = map_result(rc, t);
	resp.t = t;
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &resp.status);
	if (resp.result == HLB_ETOOBIG)
		resp.error = t->body.overflow ? "response body exceeds the configured limit"
					      : "response headers exceed 64 KiB";
	else if (rc != CURLE_OK)
		resp.error = t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc);
	else
		resp.error = "";
	unlink_transfer(t);
	t->in_callback = 1;
	if (t->cb)
		t->cb(t->arg, &resp);
	free_transfer(t);
}

hc_http *hc_http_new(hc_loop *loop, const char *version)
{
	hc_http *svc = calloc(1, sizeof(*svc));

	if (!svc)
		return NULL;
	svc->loop = loop;
	snprintf(svc->user_agent, sizeof(svc->user_agent), "hlbridge/%s", version);
	hc_loop_on_transfer(loop, on_done, svc);
	return svc;
}

void hc_http_free(hc_http *svc)
{
	if (!svc)
		return;
	while (svc->active)
		hc_http_cancel(svc->active);
	free(svc);
}

size_t hc_http_active(const hc_http *svc)
{
	size_t n = 0;

	for (const struct hlb_http *t = svc->active; t; t = t->next)
		n++;
	return n;
}

hlb_http *hc_http_request(hc_http *svc, const char *who, const hlb_http_request *req,
			  hlb_http_cb cb, void *arg)
{
	struct hlb_http *t;
	const char *method;

	if (!req || req->size < offsetof(hlb_http_request, max_response) + sizeof(req->max_response) ||
	    !req->url)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t || !(t->easy = curl_easy_init())) {
		free(t);
		return NULL;
	}
	t->svc = svc;
	t->cb = cb;
	t->arg = arg;
	t->who = strdup(who ? who : "");
	t->body.limit = req->max_response ? req->max_response + 1 : DEFAULT_BODY_CAP + 1;
	t->head.limit = HEADER_CAP;
	method = req->method ? req->method : "GET";

	CURL *e = t->easy;
	curl_easy_setopt(e, CURLOPT_URL, req->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, svc->user_agent);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(req->timeout_ms > 0 ? req->timeout_ms : DEFAULT_TIMEOUT_MS));
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
	curl_easy_setopt(e, CURLOPT_PRIVATE, t);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	if (strcmp(method, "GET") != 0)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	if (req->body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, req->body);
	} else if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	}
	for (const char *const *h = req->headers; h && *h; h++) {
		struct curl_slist *l = curl_slist_append(t->headers, *h);

		if (!l)
			goto fail;
		t->headers = l;
	}
	/* curl adds "Expect: 100-continue" to large bodies, costing a round trip. */
	struct curl_slist *l = curl_slist_append(t->headers, "Expect:");
	if (!l)
		goto fail;
	t->headers = l;
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
	if (curl_multi_add_handle(hc_loop_curl(svc->loop), e) != CURLM_OK)
		goto fail;
	t->next = svc->active;
	if (t->next)
		t->next->prev = t;
	svc->active = t;
	return t;
fail:
	free_transfer(t);
	return NULL;
}

void hc_http_cancel(hlb_http *t)
{
	/* From inside its own callback the transfer is over and is freed when
	 * the callback returns. */
	if (!t || t->in_callback)
		return;
	curl_multi_remove_handle(hc_loop_curl(t->svc->loop), t->easy);
	unlink_transfer(t);
	free_transfer(t);
}

int hc_http_result(const hlb_http_response *r)
{
	return r->result;
}

long hc_http_status(const hlb_http_response *r)
{
	return r->status;
}

const char *hc_http_body(const hlb_http_response *r, size_t *len)
{
	if (len)
		*len = r->t->body.len;
	return r->t->body.data ? r->t->body.data : "";
}

const char *hc_http_error(const hlb_http_response *r)
{
	return r->error ? r->error : "";
}

/* Finds the last header of that name in the final response; the value is
 * copied into a small per-response slot so the caller gets a C string. */
const char *hc_http_header(const hlb_http_response *r, const char *name)
{
	static char value[1024];
	const struct buf *h = &r->t->head;
	size_t nlen = strlen(name);
	const char *found = NULL;
	size_t flen = 0;

	for (const char *p = h->data; p && *p;) {
		const char *eol = strstr(p, "\r\n");
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		if (len > nlen && p[nlen] == ':' && strncasecmp(p, name, nlen) == 0) {
			const char *v = p + nlen + 1;

			while (v < p + len && (*v == ' ' || *v == '\t'))
				v++;
			found = v;
			flen = (size_t)(p + len - v);
			while (flen && isspace((unsigned char)found[flen - 1]))
				flen--;
		}
		p = eol ? eol + 2 : p + len;
	}
	if (!found)
		return NULL;
	if (flen >= sizeof(value))
		flen = sizeof(value) - 1;
	memcpy(value, found, flen);
	value[flen] = 0;
	return value;
}
