/* hlbridge plugin SDK: the table of host services.
 *
 * A plugin never links against the core: everything it needs from the host
 * reaches it through the hlb_host table handed to init(). The table is
 * append-only (like SQLite's extension routines): new services are added at
 * the end, and `size` tells a plugin which ones this host has. Use
 * HLB_HOST_HAS(host, member) before calling anything added after 1.0. */
#ifndef HLBRIDGE_HOST_H
#define HLBRIDGE_HOST_H

#include "abi.h"

#ifdef __cplusplus
extern "C" {
#endif

struct json_object;

typedef struct hlb_instance hlb_instance; /* one configured section */
typedef struct hlb_record hlb_record;     /* envelope around a JSON body */
typedef struct hlb_job hlb_job;           /* a poll, check, process or deliver */
typedef struct hlb_timer hlb_timer;
typedef struct hlb_path hlb_path;         /* a compiled $.a.b[0] path */
typedef struct hlb_http hlb_http;         /* an HTTP transfer in flight */
typedef struct hlb_http_response hlb_http_response;
typedef struct hlb_auth_call hlb_auth_call; /* a token request (1.1) */
typedef struct hlb_webhook hlb_webhook;     /* a verified webhook event (1.4) */

#if defined(__GNUC__)
#define HLB_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define HLB_PRINTF(fmt, args)
#endif

/* An outgoing HTTP request. Set `size` to sizeof(hlb_http_request) (the
 * HLB_HTTP_REQUEST_INIT macro does) so fields can be appended later. All
 * pointers need only live until http_request() returns: the host copies. */
typedef struct hlb_http_request {
	uint32_t size;
	const char *method;          /* "GET", "POST", ...; NULL means GET */
	const char *url;
	const char *const *headers;  /* "Name: value" strings, NULL-terminated */
	const void *body;            /* NULL for none */
	size_t body_len;
	int64_t timeout_ms;          /* whole transfer; 0 means 30 s */
	size_t max_response;         /* body cap in bytes; 0 means 8 MiB */
	/* Appended later: a host reads it only when `size` covers it. The
	 * quota this request spends from, such as "ghl:<client>:<location>";
	 * NULL: not paced. See pace_configure. */
	const char *pace_key;
} hlb_http_request;

#define HLB_HTTP_REQUEST_INIT { sizeof(hlb_http_request), NULL, NULL, NULL, NULL, 0, 0, 0, NULL }

/* 1.1: what a credential provider answers to a token request. Pointers
 * are valid only during the callback that receives it. */
typedef struct hlb_auth_result {
	uint32_t size;             /* sizeof(hlb_auth_result) */
	int rc;                    /* HLB_OK, or why there is no token */
	const char *token;         /* the bearer access token when HLB_OK */
	const char *quota_id;      /* who the API counts the requests against
				    * (an app's client id, a token's own id) */
	struct json_object *info;  /* provider facts (GHL: userType, companyId,
				    * locationId); NULL when none */
	const char *message;       /* why not (never a secret); NULL when HLB_OK */
	int needs_login;           /* the credential must be authorized again
				    * with `hlbridge auth login` */
} hlb_auth_result;

#define HLB_AUTH_RESULT_INIT { sizeof(hlb_auth_result), 0, NULL, NULL, NULL, NULL, 0 }

typedef void (*hlb_auth_cb)(void *arg, const hlb_auth_result *res);

/* Called on the event loop when a transfer ends, successfully or not. The
 * response is valid only during the call. */
typedef void (*hlb_http_cb)(void *arg, const hlb_http_response *resp);
typedef void (*hlb_timer_cb)(void *arg);

typedef struct hlb_host {
	uint32_t size;       /* sizeof(hlb_host) in the host that built it */
	uint32_t abi_major;
	uint32_t abi_minor;
	const char *version; /* hlbridge package version */

	/* Logging: one line, with level, time and the instance name. Values of
	 * secret options are masked even if a plugin passes them here. */
	void (*log)(hlb_instance *inst, hlb_log_level level, const char *fmt, ...) HLB_PRINTF(3, 4);
	const char *(*strerror)(int rc);
	const char *(*instance_name)(const hlb_instance *inst);

	/* Options: already validated against the plugin's table and with
	 * ${VAR} expanded. option() returns the configured value, else the
	 * declared default, else NULL. Typed getters return `dflt` when unset. */
	const char *(*option)(hlb_instance *inst, const char *key);
	int64_t (*option_int)(hlb_instance *inst, const char *key, int64_t dflt);
	int (*option_bool)(hlb_instance *inst, const char *key, int dflt);
	int64_t (*option_ms)(hlb_instance *inst, const char *key, int64_t dflt);
	/* Iterates the configured options in file order (for prefix options).
	 * Start with *cursor = 0; returns 1 while it yields an option. */
	int (*option_next)(hlb_instance *inst, size_t *cursor, const char **key,
			   const char **value, unsigned *line);
	/* Reports a bad option value found by the plugin (say, a malformed
	 * expression) as a configuration error naming file, line, section and
	 * key. The plugin then fails init() with HLB_EINVAL. */
	void (*option_error)(hlb_instance *inst, const char *key, const char *fmt, ...) HLB_PRINTF(3, 4);

	/* Records. record_new takes ownership of `body` (NULL: empty object);
	 * strings are copied. record_body returns the body for reading or
	 * in-place change; record_set_body takes ownership of the new body. */
	hlb_record *(*record_new)(const char *stream, const char *key, hlb_op op,
				  int64_t time_ms, struct json_object *body);
	hlb_record *(*record_clone)(const hlb_record *rec);
	void (*record_free)(hlb_record *rec);
	const char *(*record_stream)(const hlb_record *rec);
	const char *(*record_key)(const hlb_record *rec);
	hlb_op (*record_op)(const hlb_record *rec);
	int64_t (*record_time)(const hlb_record *rec);
	struct json_object *(*record_body)(const hlb_record *rec);
	int (*record_set_stream)(hlb_record *rec, const char *stream);
	int (*record_set_key)(hlb_record *rec, const char *key);
	void (*record_set_op)(hlb_record *rec, hlb_op op);
	void (*record_set_body)(hlb_record *rec, struct json_object *body);

	/* Jobs. poll and process emit records (ownership passes to the host).
	 * deliver reads its batch and gives one verdict per record; records
	 * without a verdict when the job finishes are retried. poll, check and
	 * deliver end with finish(), now or later from a callback; `message`
	 * may be NULL. After finish() the job must not be touched. */
	int (*emit)(hlb_job *job, hlb_record *rec);
	size_t (*batch_size)(const hlb_job *job);
	const hlb_record *(*batch_record)(const hlb_job *job, size_t i);
	void (*verdict)(hlb_job *job, size_t i, hlb_verdict v, const char *reason);
	void (*finish)(hlb_job *job, int rc, const char *message);

	/* Timers on the event loop. repeat_ms = 0 fires once; a one-shot timer
	 * is freed after it fires, and must not be stopped then. */
	hlb_timer *(*timer_start)(hlb_instance *inst, int64_t delay_ms, int64_t repeat_ms,
				  hlb_timer_cb cb, void *arg);
	void (*timer_stop)(hlb_timer *timer);

	/* JSON paths: $ (the body), .name, ["quoted name"], [N] (N < 0 counts
	 * from the end). path_get returns a borrowed pointer or NULL when the
	 * path does not resolve. path_set takes ownership of `value` and
	 * creates missing objects on the way; an array index may replace an
	 * element or append one (index == length), nothing farther. */
	hlb_path *(*path_compile)(const char *text, char *err, size_t errlen);
	struct json_object *(*path_get)(const hlb_path *path, struct json_object *root);
	/* Like path_get, but tells a JSON null (returns 1, *value = NULL) from
	 * a path that does not resolve (returns 0). */
	int (*path_lookup)(const hlb_path *path, struct json_object *root, struct json_object **value);
	int (*path_set)(const hlb_path *path, struct json_object *root, struct json_object *value);
	int (*path_remove)(const hlb_path *path, struct json_object *root);
	const char *(*path_text)(const hlb_path *path);
	void (*path_free)(hlb_path *path);

	/* Asynchronous HTTP on the host's curl multi handle. The callback runs
	 * exactly once unless the transfer is cancelled first; the handle is
	 * invalid once the callback has returned (cancelling it from inside
	 * the callback does nothing). Redirects are not followed (a 3xx is
	 * the answer), only http and https are allowed, and at most 512
	 * connections go to one host at once (more transfers wait their
	 * turn). http_header returns the last header of that name of the
	 * final response, valid until the next http_header call. */
	hlb_http *(*http_request)(hlb_instance *inst, const hlb_http_request *req,
				  hlb_http_cb cb, void *arg);
	void (*http_cancel)(hlb_http *http);
	int (*http_result)(const hlb_http_response *resp);  /* HLB_OK or an error */
	long (*http_status)(const hlb_http_response *resp); /* 0 if no response */
	const char *(*http_header)(const hlb_http_response *resp, const char *name);
	const char *(*http_body)(const hlb_http_response *resp, size_t *len);
	const char *(*http_error)(const hlb_http_response *resp); /* text or "" */

	/* Like verdict, with what a sink learned over HTTP: the status (0 if
	 * none) and how long the destination asked to wait before a retry
	 * (its Retry-After, in ms; 0 if it did not say). The host waits that
	 * long instead of its own backoff, and keeps status and reason for
	 * the record's last error. */
	void (*verdict_http)(hlb_job *job, size_t i, hlb_verdict v, const char *reason,
			     long http_status, int64_t retry_after_ms);
	/* Parses a Retry-After value (delay-seconds or an HTTP date) into
	 * milliseconds from now; -1 when it is neither. */
	int64_t (*retry_after_ms)(const char *value);

	/* Plugin state: small JSON values per instance (cursors, snapshots),
	 * kept in the state store across restarts. state_get returns a new
	 * reference (json_object_put it) or NULL, and always sees the value
	 * last put. state_put takes ownership of `value`; given the running
	 * poll job, the value is committed only with that poll's checkpoint,
	 * when every record the poll emitted has been delivered or parked in
	 * the dead-letter queue, so a crash re-reads rather than skips. With
	 * job NULL it is written at once. */
	struct json_object *(*state_get)(hlb_instance *inst, const char *key);
	int (*state_put)(hlb_instance *inst, hlb_job *job, const char *key, struct json_object *value);

	/* Quota pacing. Declares that requests with this pace_key share a
	 * quota of max_requests per interval_ms (GHL: 100 per 10000 per app
	 * and location). A paced request waits, without blocking anything
	 * else, until the quota has room; the host also follows the server's
	 * X-RateLimit-* headers and holds the key after a 429 until its
	 * Retry-After. Declaring the same quota again is cheap and changes
	 * nothing. HLB_OK, or HLB_EINVAL for an empty key or a zero value. */
	int (*pace_configure)(hlb_instance *inst, const char *key, uint32_t max_requests, int64_t interval_ms);

	/* ---- 1.1 ---- */

	/* Credentials. auth_token asks the provider of [auth:NAME] (an option
	 * of type HLB_OPT_AUTH names it) for an access token for `subject`:
	 * NULL for the credential's own, or, say, a location id that an
	 * agency credential mints a token for. cb runs exactly once, always
	 * later from the event loop (never inside auth_token), unless the
	 * call is cancelled first. NULL when out of memory or no such [auth:]
	 * section. A plugin cancels its calls still pending in fini(). */
	hlb_auth_call *(*auth_token)(hlb_instance *inst, const char *auth, const char *subject,
				     hlb_auth_cb cb, void *arg);
	void (*auth_cancel)(hlb_auth_call *call);
	/* The API refused `token` (401): the provider drops it, so that the
	 * next auth_token gets a fresh one (a refresh), not the same again. */
	void (*auth_reject)(hlb_instance *inst, const char *auth, const char *subject, const char *token);
	/* For providers: the subject of a call (NULL for the credential's own),
	 * and its answer. A provider calls auth_done exactly once per call it
	 * was handed, now or later; the result is copied. */
	const char *(*auth_subject)(const hlb_auth_call *call);
	void (*auth_done)(hlb_auth_call *call, const hlb_auth_result *res);

	/* History: appends a row to the change history that `hlbridge history`
	 * prints. `scope` and `object` are what rows are selected by (GHL tags:
	 * the location and the tag id), `change` one word (created, updated,
	 * deleted), `row` the details (ownership passes; NULL: none). Given the
	 * running poll job, the row is committed with that poll's checkpoint,
	 * like state_put, so a replayed poll does not write it twice; with job
	 * NULL at once. */
	int (*history_add)(hlb_instance *inst, hlb_job *job, const char *scope, const char *object,
			   const char *change, int64_t time_ms, struct json_object *row);

	/* 1.2: a consistent point inside a running poll. What the poll put
	 * (state_put, history_add) up to here covers only the records it
	 * emitted up to here: that part of the poll's checkpoint is committed
	 * as soon as those records are delivered, without waiting for the
	 * rest of the poll, and a crash after it reads only the rest again.
	 * A source that works through independent parts (GHL: locations)
	 * calls it after each part. HLB_OK, or an error (then the poll's
	 * checkpoint is never written, as when a record cannot be queued). */
	int (*checkpoint)(hlb_job *job);

	/* ---- 1.3: two-way sync ---- */

	/* Links between objects of two systems, kept in the state store and
	 * listed by `hlbridge links`. Objects are named "system:scope:kind:id"
	 * ("ghl:LOCATION:contact:ID", "octorate:ACCOMMODATION:reservation:ID").
	 * `left` is the side that may have many partners (a contact books
	 * many reservations), `right` the side that has one partner per
	 * system and scope (one contact per GHL location): link_put replaces
	 * a link of `right` to another object of the same system and scope
	 * as `left`. `info` (ownership passes; NULL: none) is kept with
	 * the link. Written at once. HLB_OK or an error. */
	int (*link_put)(hlb_instance *inst, const char *left, const char *right, struct json_object *info);
	/* The links of `object` on either side: a new JSON array (put it) of
	 * {"left","right","info","created_ms","updated_ms"}, oldest first,
	 * empty when none; NULL on a store error. */
	struct json_object *(*link_find)(hlb_instance *inst, const char *object);
	/* Echo prevention: what hlbridge itself wrote to an object (named as
	 * for links). A sink calls echo_put after each successful write with
	 * the fields it set (ownership passes); by convention a set-valued
	 * field (tags) is written as "NAME+" (members added) and "NAME-"
	 * (members removed). A source that sees an object changed since it
	 * last looked at since_ms asks echo_since for the writes after that:
	 * a new JSON array of {"time_ms","fields"}, oldest first (empty when
	 * none; NULL on a store error). A change those writes explain is
	 * hlbridge's own echo and must not be carried back. Writes are kept
	 * 30 days. */
	int (*echo_put)(hlb_instance *inst, const char *object, struct json_object *fields);
	struct json_object *(*echo_since)(hlb_instance *inst, const char *object, int64_t since_ms);
	/* Quota pacing for APIs that signal exhaustion without a 429 (Octorate:
	 * 403 ApiQuotaException): holds every request with this pace key for
	 * delay_ms (at least 1 s when 0 or less), as a 429 does. */
	void (*pace_block)(hlb_instance *inst, const char *key, int64_t delay_ms);

	/* ---- 1.4: webhooks, metrics, progress ---- */

	/* A source takes the events of `type` ("ContactTagUpdate"; "*" for
	 * every type) arriving on `channel` ("ghl": POST /webhooks/ghl,
	 * "octorate": POST /webhooks/octorate/SECRET) at the host's HTTP
	 * listener ([service] listen). Called from init(); the plugin's
	 * webhook() callback then gets each event whose signature or path
	 * secret the host verified. HLB_OK; HLB_EINVAL for an unknown channel
	 * or an instance that is not a source; HLB_EUNSUPPORTED when the
	 * plugin has no webhook callback. */
	int (*webhook_subscribe)(hlb_instance *inst, const char *channel, const char *type);
	/* Metrics served on GET /metrics (Prometheus text format). `name`
	 * follows Prometheus rules ([a-zA-Z_:][a-zA-Z0-9_:]*, counters end in
	 * _total); `labels` is a NULL-terminated list of name, value pairs
	 * (NULL: none); `help` is one line. metric_add adds to a counter,
	 * metric_set sets a gauge. The number of series is bounded: beyond
	 * it, HLB_ETOOBIG. HLB_OK or HLB_EINVAL (bad name, label or a name
	 * already used with the other type). */
	int (*metric_add)(hlb_instance *inst, const char *name, const char *help,
			  const char *const *labels, double value);
	int (*metric_set)(hlb_instance *inst, const char *name, const char *help,
			  const char *const *labels, double value);
	/* A long poll says how far it got: records so far, records in all
	 * (0: unknown) and pages so far. The host shows progress (rate, ETA)
	 * on a terminal and on the status page. Cheap; call it per page. */
	void (*progress)(hlb_job *job, uint64_t records, uint64_t total, uint64_t pages);

	/* ---- 1.6: results of a sink ---- */

	/* A sink of a module with HLB_CAP_RESULTS hands on what delivering
	 * record i of `batch` gave (ownership of `rec` passes): the routes
	 * reading `from` this sink take it, as they would a source's record.
	 * Give it before the delivery's finish(), and only for a record whose
	 * verdict is HLB_DONE (the host does not check that): results are
	 * handed on in the order given, and the host queues a delivery's
	 * results before it writes its verdicts, so a
	 * crash in between delivers the record again and gives its result
	 * again (give the result the record's key, so that the sinks after
	 * this one see a redelivery, not a new record). When no route reads
	 * this sink's results the record is dropped. HLB_OK; HLB_EINVAL when
	 * the job is not a running delivery of such a sink. */
	int (*result)(hlb_job *batch, size_t i, hlb_record *rec);
} hlb_host;

/* 1.4: what a source's webhook() callback is handed. Valid during the
 * call only (copy what a later callback needs). */
struct hlb_webhook {
	uint32_t size;                 /* sizeof(hlb_webhook) */
	const char *channel;           /* "ghl", "octorate" */
	const char *type;              /* the event type: GHL `type`, Octorate `type` */
	const char *id;                /* GHL webhookId, Octorate delivery `id`; NULL if none */
	int64_t time_ms;               /* the event's time (epoch ms); 0 if none */
	struct json_object *body;      /* the event: the GHL body; Octorate: `content`
					* decoded from its JSON string */
	struct json_object *envelope;  /* the whole delivery as received (GHL:
					* the same object as body) */
};

/* True when the host's table contains `member` (added in a later minor). */
#define HLB_HOST_HAS(host, member) \
	((host)->size >= offsetof(hlb_host, member) + sizeof((host)->member))

#ifdef __cplusplus
}
#endif

#endif /* HLBRIDGE_HOST_H */
