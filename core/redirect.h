/* The loopback end of an OAuth authorization-code flow: hlbridge auth login
 * listens on the configured redirect_uri for the one request the user's
 * browser makes after approving the app, and takes the code from it. */
#ifndef HC_REDIRECT_H
#define HC_REDIRECT_H

#include <stddef.h>
#include <stdint.h>

typedef struct hc_redirect hc_redirect;

/* Starts listening on the host and port of `uri`, which must be an
 * http:// URL on a loopback address (127.0.0.1, localhost or [::1]): the
 * code must never travel further than this machine. */
int hc_redirect_listen(const char *uri, hc_redirect **out, char *err, size_t errlen);
/* Waits up to timeout_ms for a request to the URI's path whose `state`
 * equals csrf, answers the browser, and returns the `code` (malloc'ed).
 * Requests to other paths or with another state are answered and ignored;
 * an `error` from the authorization server ends the wait with it. */
int hc_redirect_wait(hc_redirect *r, const char *csrf, int64_t timeout_ms, char **code,
		     char *err, size_t errlen);
void hc_redirect_close(hc_redirect *r);

/* Decodes %XX and '+' in place (query strings). */
void hc_url_decode(char *s);

#endif
