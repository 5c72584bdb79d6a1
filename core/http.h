/* HTTP service on the loop's curl multi handle (hlb_host http_*). */
#ifndef HC_HTTP_H
#define HC_HTTP_H

#include "hlbridge/host.h"
#include "loop.h"

typedef struct hc_http hc_http;

hc_http *hc_http_new(hc_loop *loop, const char *version);
/* Cancels whatever is still in flight (no callbacks). */
void hc_http_free(hc_http *svc);
size_t hc_http_active(const hc_http *svc);

hlb_http *hc_http_request(hc_http *svc, const char *who, const hlb_http_request *req,
			  hlb_http_cb cb, void *arg);
void hc_http_cancel(hlb_http *http);
int hc_http_result(const hlb_http_response *resp);
long hc_http_status(const hlb_http_response *resp);
/* The value is valid until the next call (the loop is single-threaded). */
const char *hc_http_header(const hlb_http_response *resp, const char *name);
const char *hc_http_body(const hlb_http_response *resp, size_t *len);
const char *hc_http_error(const hlb_http_response *resp);

#endif
