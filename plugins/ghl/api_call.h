/* One call to a JSON API with a bearer token from the host's credential
 * broker: the request engine the GoHighLevel client (ghl_client) and the
 * Octorate client (octorate_client) share. Linked into both families (see
 * Makefile.am, GHL_CLIENT and OCTORATE_CLIENT).
 *
 * A call is three steps, each a callback on the event loop:
 *   1. a token from the [auth:] provider;
 *   2. the transfer, paced on the client's key, with the token as
 *      "Authorization: Bearer";
 *   3. the answer: a 401 drops the token (auth_reject) and starts over
 *      once; a 408, 429, 5xx, network error or malformed JSON is retried a
 *      few times after a jittered backoff (or the server's Retry-After)
 *      before it is reported as retryable; another non-2xx is reported as
 *      it is; a 2xx is parsed as one JSON value, or, for a call marked
 *      `raw` (a file, audio), handed over as bytes.
 * What differs between the APIs is in a table of hooks (api_ops). Every
 * call in flight is on the client's list, so that api_client_fini()
 * cancels it all and no callback runs afterwards.
 *
 * A client embeds api_client as its first member, and its calls embed
 * api_call as theirs (the hooks cast back). */
#ifndef API_CALL_H
#define API_CALL_H

#include <stddef.h>
#include <stdint.h>

#include "hlbridge/host.h"

struct json_object;
struct json_tokener;

/* Retries of a transient failure inside one call, unless a client says. */
#define API_DEFAULT_RETRIES 2

/* The outcome of one call, as the engine knows it; the client's `deliver`
 * hook turns it into its own reply. Borrowed during the hook. */
typedef struct api_reply {
	int rc;                   /* HLB_OK for a 2xx with valid (or no) JSON */
	long status;              /* HTTP status; 0 when there was no answer */
	struct json_object *json; /* parsed body; NULL when empty or on error */
	const char *error;        /* one line, "" when rc == HLB_OK */
	int retryable;
	int64_t retry_after_ms;
	int needs_login;
	int quota;                /* set by a client's own hook */
	int config;               /* set by a client's own hook */
	/* A raw call's 2xx answer (json NULL): its bytes (never NULL then,
	 * "" when empty) and its Content-Type (NULL when it has none). */
	const unsigned char *raw;
	size_t raw_len;
	const char *content_type;
} api_reply;

typedef struct api_client api_client;
typedef struct api_call api_call;

typedef struct api_ops {
	size_t call_size;       /* of the client's call struct (api_call first) */
	unsigned max_response;  /* largest answer read */
	size_t text_len;        /* the error text of an answer: at most this - 1 bytes */
	size_t error_len;       /* a call's error line: at most this - 1 bytes */
	const char *refused_hint;   /* added to a 401 answered to a new token too */
	const char *request_id;     /* header quoted in a malformed answer's error, or NULL */
	int say_retries;        /* a transient failure's error says " (after N retries)" */
	int partial_status;     /* an answer cut short or too large keeps its status, and
				 * says "the answer was cut short" */
	int honour_retry_after; /* 408/429/5xx wait for Retry-After (up to max_wait_ms) */
	int text_in_401_log;    /* the 401 log line quotes the answer's error text */

	/* Frees what the client added to a call (not the call). */
	void (*clear)(api_call *call);
	/* Answers the call's caller. */
	void (*deliver)(api_call *call, const api_reply *reply);
	/* The token subject (NULL: the credential's own); `asking`: a token is
	 * about to be asked for (else: one is rejected). NULL hook: none. */
	const char *(*subject)(api_call *call, int asking);
	/* Optional: sees every token result first (the provider's facts). */
	void (*token_info)(api_call *call, const hlb_auth_result *res);
	/* Optional: a token arrived; 0 when the hook ended or restarted the
	 * call (api_call_fail, api_call_restart), 1 to send. */
	int (*token_ok)(api_call *call, const hlb_auth_result *res);
	/* The base URL the path is appended to. */
	const char *(*base_url)(api_call *call, const hlb_auth_result *res);
	/* Writes the call's pace key into call->pace (and declares its quota). */
	void (*pace)(api_call *call, const char *quota_id);
	/* Optional: one more header line into buf ("" for none). */
	void (*header)(api_call *call, char *buf, size_t len);
	/* Optional: " for location X" after "METHOD PATH" in errors. */
	void (*where)(const api_call *call, char *buf, size_t len);
	/* The error text of a non-2xx answer; type (may be ignored) gets its
	 * kind of error ("" when none). */
	void (*error_text)(api_call *call, long status, const char *body, size_t len, const char *request_id,
			   char *buf, size_t buflen, char *type, size_t type_len);
	/* Optional: a non-2xx or 2xx answer after the 401 step; 1 when the
	 * hook ended or restarted the call. */
	int (*answer)(api_call *call, long status, const hlb_http_response *resp, const char *text,
		      const char *type);
	/* Optional: parses a 2xx body (default: ghl_parse_whole). */
	struct json_object *(*parse)(api_call *call, const char *body, size_t len);
} api_ops;

struct api_client {
	const api_ops *ops;
	const hlb_host *host;
	hlb_instance *inst;
	char *auth;              /* the [auth:] section's name */
	char user_agent[128];
	unsigned retries;        /* of transient failures, per call */
	int64_t max_wait_ms;     /* longest Retry-After waited for */
	uint64_t rng;
	api_call *calls;
	struct json_tokener *tok; /* one for every answer: a new one per answer
				   * cost a sixth of a large sync's parsing */
};

struct api_call {
	api_client *e;
	api_call *prev, *next;
	char *method, *path, *body;
	size_t body_len;
	hlb_auth_call *auth;
	hlb_http *http;
	hlb_timer *timer;
	char *token;            /* the token the transfer carries (for auth_reject) */
	char pace[256];
	int rejected;           /* a 401 was answered with a new token once */
	unsigned attempts;      /* transient failures so far */
	int done;               /* its callback is running or has run */
	int raw;                /* set before api_call_start: a 2xx answer is
				 * bytes, not JSON (api_reply.raw) */
};

/* Sets up e (a zeroed api_client) for `inst` with tokens from [auth:auth];
 * "User-Agent: hlbridge/VERSION (+plugin PLUGIN)". -1 when out of memory
 * (api_client_fini frees what was made). */
int api_client_init(api_client *e, const api_ops *ops, const hlb_host *host, hlb_instance *inst,
		    const char *plugin, const char *auth, unsigned retries, int64_t max_wait_ms);
/* Cancels every call (no callback runs after this) and frees e's parts. */
void api_client_fini(api_client *e);

/* A zeroed call of ops->call_size bytes for e, or NULL. */
api_call *api_call_new(api_client *e);
/* Starts a call made by api_call_new whose client part is set: `method`
 * `path` with `body` (borrowed JSON, serialized now; NULL: none). -1 when
 * out of memory: then the call is freed (clear hook included). */
int api_call_start(api_call *call, const char *method, const char *path, struct json_object *body);
void api_call_cancel(api_call *call);

/* Ends the call with base's fields and an error line from fmt. */
void api_call_fail(api_call *call, const api_reply *base, const char *fmt, ...) HLB_PRINTF(3, 4);
/* Asks for a token again (at once), or ends the call when it cannot. */
void api_call_restart(api_call *call);
/* Asks for a token again after `wait` ms; 0 when no timer could be set. */
int api_call_wait(api_call *call, int64_t wait);

#endif
