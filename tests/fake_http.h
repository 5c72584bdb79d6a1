/* fake_http: the libmicrohttpd scaffolding of a fake API server (used by
 * tests/fake_octorate, tests/fake_ghl and tests/fake_receiver): a loopback
 * daemon with a thread pool (or a thread per connection), bounded request
 * bodies, answers decided by the fake and delayed by suspending the
 * connection (not a thread), fault injection, a request log, PORT=<n> on
 * stdout and a clean stop on SIGTERM/SIGINT or after --max-seconds.
 *
 * The fake supplies one handler. It is called once per request, after the
 * whole body arrived, and fills the struct fh_req answer fields; fake_http
 * sends the answer, after rq->delay_ms when that is set (never for control
 * requests). Setting rq->reset closes the connection unanswered. */
#ifndef FAKE_HTTP_H
#define FAKE_HTTP_H

#include <getopt.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>
#include <microhttpd.h>

#define FH_BODY_CAP (1u << 20)   /* request bodies beyond this set too_big and are not kept */
#define FH_HEADERS 8             /* extra answer headers per request */

struct fh_header {
	const char *name;        /* a string literal */
	char value[64];
};

struct fh_req {
	/* the request */
	char *body;              /* NUL-terminated; NULL when empty */
	size_t len, cap;
	int too_big;
	int control;             /* the path starts with the control prefix */
	/* the answer, filled by the handler */
	unsigned status;         /* 0: 500 */
	char *out;               /* malloc'd, sent as is; NULL: empty body */
	size_t outlen;
	const char *ctype;       /* NULL: application/json; "": no Content-Type */
	struct fh_header hdr[FH_HEADERS];
	size_t nhdr;
	int64_t delay_ms;
	int reset;               /* close the connection without an answer */
	/* fake_http's own */
	int ready;
};

typedef void fh_handler(struct MHD_Connection *c, const char *url, const char *method, struct fh_req *rq);

struct fh_server {
	const char *control_prefix;  /* e.g. "/_control": rq->control, no latency; NULL: none */
	fh_handler *handle;
	/* the rest may stay 0 (NULL): */
	int thread_per_connection;   /* libmicrohttpd's thread per connection instead of the pool:
				      * the handler may block; rq->delay_ms is not honoured */
	unsigned connection_limit;   /* [2000] */
	size_t thread_stack;         /* of a connection's thread [libmicrohttpd's default] */
	void (*stopping)(void);      /* called once the stop came, before in-flight answers are
				      * awaited: wakes handlers that block */
	void (*summary)(char *out, size_t n);  /* the line fh_run prints to stderr after a clean stop */
};

/* ---- the command line ---- */
/* The end of a fake's option table: --help, which fh_getopt answers. */
#define FH_OPTIONS_END { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 }
/* getopt_long over long options only, doing what every fake does: --help
 * prints usage to stdout and exits 0; an unknown option, a missing argument
 * or an argument left over prints it to stderr and exits 2. Returns the
 * option's val (opts[*idx] is the option), or -1 at the end. */
int fh_getopt(int argc, char **argv, const struct option *opts, int *idx, void (*usage)(FILE *out));
/* optarg as a whole number >= 0 into *out, or fh_die naming opts[idx]. */
void fh_opt_number(const struct option *opts, int idx, long *out);
/* "N/MS" (such as 100/10000): 0 with *n from 1 to max_n and *ms >= 1; -1 if not. */
int fh_parse_rate(const char *s, long max_n, long *n, int64_t *ms);

/* ---- utilities ---- */
void fh_set_name(const char *name);   /* the prefix of messages, e.g. "fake_octorate" */
void fh_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
char *fh_xstrdup(const char *s);
int fh_parse_long(const char *s, long *out);  /* a whole number >= 0; -1 if not */
int64_t fh_mono_ms(void);
int64_t fh_wall_ms(void);
void fh_random_hex(char *out, size_t nbytes);  /* out holds 2 * nbytes + 1 */
void fh_uuid(char out[37]);
uint64_t fh_hash(const char *s);       /* FNV-1a, 64 bits */
uint64_t fh_mix64(uint64_t x);         /* the splitmix64 finaliser */

/* ---- requests and answers ---- */
const char *fh_query(struct MHD_Connection *c, const char *key);
const char *fh_header_in(struct MHD_Connection *c, const char *name);
void fh_add_header(struct fh_req *rq, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void fh_set_body(struct fh_req *rq, unsigned status, const char *ctype, char *body, size_t len);
void fh_set_json(struct fh_req *rq, unsigned status, struct json_object *o);  /* consumes o */
/* The query string rebuilt (percent-encoded), without a leading '?'; the
 * parameter `drop` left out (NULL: none). Cut at `n` - 1 characters. */
void fh_query_string(struct MHD_Connection *c, const char *drop, char *out, size_t n);
/* Exactly one JSON value and blanks; NULL otherwise. */
struct json_object *fh_json_parse(const char *s, size_t len);
/* The same, telling null and failures apart: 1 with *out the value (NULL for
 * null), 0 when s is not exactly one JSON value and blanks, -1 out of memory. */
int fh_json_value(const char *s, size_t len, struct json_object **out);

/* A URL or query string built in the caller's buffer s of n (>= 1) bytes;
 * what does not fit with 4 bytes to spare is left out, a %XX never cut. */
struct fh_qbuf {
	char *s;
	size_t len, n;
	const char *lead;        /* before the first parameter: "?" or "" */
	const char *drop;        /* fh_qbuf_query leaves this parameter out */
	int first;
};
void fh_qbuf_init(struct fh_qbuf *q, char *s, size_t n, const char *lead);
/* encode: every byte but A-Z a-z 0-9 - _ . ~ as %XX */
void fh_qbuf_add(struct fh_qbuf *q, const char *s, int encode);
/* lead or '&', then key=value percent-encoded (value NULL: the key alone) */
void fh_qbuf_param(struct fh_qbuf *q, const char *key, const char *value);
/* every query parameter of the request, in its order, but `drop` (NULL: none) */
void fh_qbuf_query(struct fh_qbuf *q, struct MHD_Connection *c, const char *drop);

/* application/x-www-form-urlencoded, at most 32 fields. */
struct fh_form {
	char *buf;
	size_t n;
	char *key[32], *val[32];
};
void fh_form_parse(struct fh_form *f, const char *body);
const char *fh_form_get(const struct fh_form *f, const char *key);
void fh_form_free(struct fh_form *f);

/* ---- a string-keyed hash map (not locked; values owned by the caller) ---- */
struct fh_map_entry;
struct fh_map {
	struct fh_map_entry **bucket;
	size_t nbucket, len;
};
int fh_map_init(struct fh_map *m, size_t nbucket);  /* nbucket: a power of two */
void *fh_map_get(const struct fh_map *m, const char *key);
int fh_map_put(struct fh_map *m, const char *key, void *value);  /* -1: out of memory */
void *fh_map_del(struct fh_map *m, const char *key);             /* the value, or NULL */
/* Calls fn for every entry; an entry whose fn returns 1 is removed. */
void fh_map_each(struct fh_map *m, int (*fn)(const char *key, void *value, void *arg), void *arg);
void fh_map_free(struct fh_map *m);  /* the values are the caller's to free first */

/* ---- faults (locked inside) ---- */
#define FH_FAULT_CAP 64          /* faults pending at once */
enum fh_fault_kind { FH_F_STATUS, FH_F_RESET, FH_F_TRUNCATE, FH_F_MALFORMED, FH_F_LATENCY };
struct fh_fault {
	enum fh_fault_kind kind;
	unsigned status;         /* FH_F_STATUS */
	long count;              /* shots, at least 1; -1: until cleared */
	const char *path;        /* matched against the URL path; NULL or "": any */
	int anywhere;            /* path may stand anywhere in it, not only at its start */
	int64_t ms;              /* FH_F_LATENCY */
};
/* POST /_control {"op":"fault",...} in fake_http's own spelling (status N,
 * reset, truncate, malformed, latency_ms N, count, path_prefix; or "kind"):
 * the answer to send (status in *status). */
struct json_object *fh_fault_control(struct json_object *req, unsigned *status);
/* A fault checked by the caller (path is copied): the control answer, 200
 * {"ok":true,"pending":N}, 409 when FH_FAULT_CAP are pending, or 400. */
struct json_object *fh_fault_add(const struct fh_fault *f, unsigned *status);
/* The 200 body of a malformed fault (not copied; NULL: fake_http's own). */
void fh_fault_set_junk(const char *body);
void fh_faults_clear(void);
/* Before the request is served: the status of a status fault to answer
 * instead (0: none), *reset set for a reset fault; matching latency faults
 * add to *extra_ms. */
unsigned fh_fault_before(const char *url, int *reset, int64_t *extra_ms);
/* After it was served: a malformed or truncate fault applied to rq->out. */
void fh_fault_after(const char *url, struct fh_req *rq);
unsigned long fh_faults_injected(void);

/* ---- the request log (locked inside) ---- */
#define FH_LOG_RING 1000         /* entries kept */
void fh_log_open(const char *path);  /* NULL: only the in-memory ring */
void fh_log_add(struct json_object *entry);  /* consumes entry */
struct json_object *fh_log_array(size_t last);  /* the last `last` entries, oldest first */
char *fh_log_text(size_t last);                 /* the same as JSON lines; malloc'd */
/* GET <url>[?n=N]: the last N [all] entries as JSON lines (application/x-ndjson);
 * 400 when n is not a whole number. */
void fh_log_control(struct MHD_Connection *c, const char *url, struct fh_req *rq);
void fh_log_close(void);

/* ---- control answers ---- */
struct json_object *fh_ctl_ok(void);
struct json_object *fh_ctl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *fh_ctl_string(struct json_object *o, const char *key);
int fh_ctl_int(struct json_object *o, const char *key, int64_t *out);  /* 0 absent, 1 set, -1 not an integer */

/* ---- running ---- */
/* Requests that are not control requests, begun (headers in) and not yet
 * completed: how many now, and the most at once since the start or
 * fh_peak_reset (which makes it the number now). Either pointer may be NULL. */
void fh_in_flight(long *now, long *peak);
void fh_peak_reset(void);

/* Serves on 127.0.0.1:port (0: the kernel's choice), prints PORT=<n>, and
 * returns after SIGTERM/SIGINT or max_seconds (0: never) once in-flight
 * answers went out (and s->summary's line was printed). Returns 0, or -1
 * when the server could not start. */
int fh_run(const struct fh_server *s, long port, long max_seconds);

#endif
