/* The shared GoHighLevel client: what every GHL source or sink needs to
 * talk to the API, built on the host's HTTP service and credential broker.
 * Linked into each GHL module (see Makefile.am, GHL_CLIENT), never into
 * the core.
 *
 *  - ghl_client: one per instance. ghl_request() gets a token from the
 *    [auth:NAME] provider (a location token when the credential is an
 *    agency's), builds the URL, sets the GHL headers and the pace key of
 *    the (app, location) quota, reads and parses the JSON answer, retries
 *    once after a 401 with a fresh token, and classifies every failure as
 *    retryable (429, 5xx, network, malformed JSON) or not (other 4xx).
 *  - ghl_page_skip(): the skip/limit paging GHL's social tags and
 *    installedLocations use, with guards against APIs that ignore skip.
 *  - ghl_locations_resolve(): the `location_id` option (an id, a list, or
 *    `*` = every location an agency credential is installed in).
 *  - ghl_fanout: one poll over every location of `location_id`, up to
 *    `concurrency` at once.
 *  - Pure helpers (URL and pace-key building, the pager's decision, tag
 *    snapshot hashing and diffing, statistics extraction), unit-tested in
 *    tests/test_ghl_client.c.
 *
 * Every callback runs later from the event loop, never inside the call
 * that started the work. */
#ifndef GHL_CLIENT_H
#define GHL_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "hlbridge/host.h"
#include "ghl_util.h"
#include "api_call.h"

struct json_object;

/* Largest answer read from the API (the host's own cap is the same). */
#define GHL_MAX_RESPONSE (8u * 1024 * 1024)
/* Default guard of ghl_page_skip: pages per run (100 x 100 items). */
#define GHL_MAX_PAGES 100
/* Largest `location_id` list and `*` expansion. */
#define GHL_MAX_LOCATIONS 10000

typedef struct ghl_client ghl_client;
typedef struct ghl_call ghl_call;
typedef struct ghl_pager ghl_pager;
typedef struct ghl_resolve ghl_resolve;

/* The outcome of one request. Everything is borrowed: valid only during
 * the callback (take a reference with json_object_get to keep `json`). */
typedef struct ghl_reply {
	int rc;                   /* HLB_OK for a 2xx with valid (or no) JSON */
	long status;              /* HTTP status; 0 when there was no answer */
	struct json_object *json; /* parsed body; NULL when empty or on error */
	const char *error;        /* one line, "" when rc == HLB_OK; never a token */
	int retryable;            /* try again later (429, 5xx, network, bad JSON) */
	int64_t retry_after_ms;   /* the server's Retry-After, 0 when none */
	int needs_login;          /* the credential must be authorized again */
	const char *location;     /* the location it was for, or NULL */
	/* A ghl_request_raw's 2xx answer (json is NULL then): the file's bytes
	 * (never NULL then, "" when empty), their count, and the answer's
	 * Content-Type (NULL when it has none). NULL/0 for ghl_request. */
	const unsigned char *raw;
	size_t raw_len;
	const char *content_type;
} ghl_reply;

typedef void (*ghl_reply_cb)(void *arg, const ghl_reply *reply);

/* A client for `inst`, taking tokens from [auth:auth_name]; `plugin`
 * names the module in the User-Agent. base_url overrides the provider's
 * (the instance's own `base_url` option, or NULL). NULL when out of
 * memory. */
ghl_client *ghl_client_new(const hlb_host *host, hlb_instance *inst, const char *plugin,
			   const char *auth_name, const char *base_url);
/* Cancels every request, pager and resolution in flight (no callback runs
 * after this) and frees the client. */
void ghl_client_free(ghl_client *c);

/* How often a retryable failure (429, 5xx, network) is retried inside one
 * ghl_request before it is reported, and the longest wait accepted for it
 * (a longer Retry-After, such as a daily quota, is reported at once so the
 * caller can give up until its next run). Defaults: 2 retries, 30 s. */
void ghl_client_set_retries(ghl_client *c, unsigned retries, int64_t max_wait_ms);

/* The provider facts of the credential ({userType, companyId, locationId,
 * appId, base_url}) once any request or resolution has had a token; NULL
 * before. Borrowed. */
struct json_object *ghl_client_info(const ghl_client *c);

/* Sends `method` `path_and_query` (starting with '/') with header Version:
 * `version` and, when `body` is not NULL, that JSON (borrowed: serialized
 * before the call returns). `location` (may be NULL: agency calls) selects
 * the token subject for agency credentials and the pace key. cb runs
 * exactly once, later, unless the call or the client is cancelled first.
 * NULL (and no callback) when out of memory. */
ghl_call *ghl_request(ghl_client *c, const char *location, const char *method, const char *version,
		      const char *path_and_query, struct json_object *body, ghl_reply_cb cb, void *arg);
/* ghl_request for an answer that is a file, not JSON (a recording, a
 * download): no body; any media type accepted; a 2xx answer comes as reply->raw
 * (at most GHL_MAX_RESPONSE bytes: a larger one fails with HLB_ETOOBIG,
 * the message naming the cap). Failures are classified as ghl_request's,
 * their JSON error bodies read the same way. */
ghl_call *ghl_request_raw(ghl_client *c, const char *location, const char *method, const char *version,
			  const char *path_and_query, ghl_reply_cb cb, void *arg);
void ghl_call_cancel(ghl_call *call);

/* What to add to a failure's message when it has needs_login: "" when the
 * provider's message already names the command to run (ghl_oauth's do),
 * else a pointer to `hlbridge auth status`. Never NULL. */
const char *ghl_login_hint(int needs_login, const char *message);

/* ---- skip/limit paging -------------------------------------------------- */

/* One page of items (a borrowed JSON array). Return HLB_OK to go on, or an
 * error to stop the pager, which then reports that rc to done. It must not
 * cancel its pager or free the client: return an error instead. */
typedef int (*ghl_page_cb)(void *arg, struct json_object *items, const ghl_reply *reply);
/* The end: reply->rc HLB_OK when every page arrived; otherwise the failing
 * request's reply (or a synthesized one for the pager's guards). */
typedef void (*ghl_done_cb)(void *arg, const ghl_reply *reply);

typedef struct ghl_page_spec {
	const char *location;   /* as ghl_request */
	const char *version;
	const char *path;       /* path and query without skip/limit */
	const char *items;      /* dotted path to the array, "results.tags" */
	const char *count;      /* dotted path to the total, or NULL */
	const char *id_field;   /* member of an item that identifies it ("_id") */
	unsigned limit;         /* items per page (1..100) */
	unsigned max_pages;     /* 0: GHL_MAX_PAGES */
} ghl_page_spec;

/* GETs path?...&skip=S&limit=L for S = 0, L, 2L... until a page holds
 * fewer than L items or S reaches the count. Stops with an error when
 * max_pages is reached or a page starts with the same item as the page
 * before (an API that ignores skip would otherwise loop forever). */
ghl_pager *ghl_page_skip(ghl_client *c, const ghl_page_spec *spec, ghl_page_cb page,
			 ghl_done_cb done, void *arg);
void ghl_pager_cancel(ghl_pager *p);

/* The pager's decision after a page, kept pure for the tests. */
typedef struct ghl_page_state {
	unsigned limit, max_pages;
	unsigned pages;         /* pages seen so far */
	uint64_t skip;          /* skip of the next page */
	char first_id[128];     /* first id of the previous page, "" none */
} ghl_page_state;

typedef enum ghl_page_next {
	GHL_PAGE_MORE = 0,      /* request the next page at st->skip */
	GHL_PAGE_DONE = 1,      /* that was the last page */
	GHL_PAGE_REPEATED = 2,  /* the page repeats the previous one: error */
	GHL_PAGE_TOO_MANY = 3   /* max_pages reached with more to come: error */
} ghl_page_next;

void ghl_page_init(ghl_page_state *st, unsigned limit, unsigned max_pages);
/* `n` items arrived, the first with id `first_id` (NULL: none/unknown);
 * `count` is the total the API reports, or -1 when it reports none. */
ghl_page_next ghl_page_step(ghl_page_state *st, size_t n, int64_t count, const char *first_id);

/* ---- locations ------------------------------------------------------------ */

/* Splits a `location_id` value: "*" sets *all; otherwise a comma list of
 * ids (blanks trimmed, duplicates dropped, at most GHL_MAX_LOCATIONS).
 * HLB_OK, or HLB_EINVAL with a reason in err. Free with ghl_ids_free. */
int ghl_locations_parse(const char *value, int *all, char ***ids, size_t *n, char *err, size_t errlen);
void ghl_ids_free(char **ids, size_t n);

/* For a source's init: HLB_OK when `location_id` parses, else HLB_EINVAL
 * (told with host->option_error) or HLB_ENOMEM. */
int ghl_location_option_check(const hlb_host *host, hlb_instance *inst);

/* rc HLB_OK with the ids (borrowed during the call), or an error and a
 * message (with needs_login when the credential must be authorized). */
typedef void (*ghl_locations_cb)(void *arg, int rc, const char *message, int needs_login,
				 char *const *ids, size_t n);

/* Resolves `value`: a list is answered as it is (later, from the loop);
 * `*` asks GET /oauth/installedLocations with the agency token for every
 * location where the app is installed, and is an error for a Location
 * credential. */
ghl_resolve *ghl_locations_resolve(ghl_client *c, const char *value, ghl_locations_cb cb, void *arg);
void ghl_resolve_cancel(ghl_resolve *r);

/* The options every GHL source has, for its hlb_option table. */
#define GHL_OPTION_AUTH \
	{ "auth", HLB_OPT_AUTH, NULL, HLB_OPT_REQUIRED, \
	  "the [auth:NAME] credential the requests use (ghl_token or ghl_oauth)", "ghl_token|ghl_oauth" }
#define GHL_OPTION_LOCATION_ID \
	{ "location_id", HLB_OPT_LIST, NULL, HLB_OPT_REQUIRED, \
	  "location (sub-account) ids, comma-separated, or * for every location an agency credential " \
	  "is installed in", NULL }
#define GHL_CONCURRENCY_MAX 10000
#define GHL_OPTION_CONCURRENCY \
	{ "concurrency", HLB_OPT_INT, "64", 0, \
	  "locations polled at once (1-10000): more is faster, each costs memory", NULL }
/* Reads `concurrency` (option_error and HLB_EINVAL when out of range). */
int ghl_concurrency_option(const hlb_host *host, hlb_instance *inst, size_t *out);

#define GHL_OPTION_BASE_URL \
	{ "base_url", HLB_OPT_STRING, NULL, 0, \
	  "API address, overriding the credential's (a sandbox or a test server)", NULL }

/* ---- one poll over every location ---------------------------------------------
 * The run of a source's poll (or check): resolves `location_id`, starts the
 * work of the locations at once, up to spec.concurrency of them (each waits
 * for its own quota only),
 * counts the locations that fail without holding the others up, and tells
 * the module when the last one has ended. The module keeps its own state
 * per location in a struct whose first member is a ghl_fanout_loc:
 *
 *     struct loc { ghl_fanout_loc head; ghl_call *call; ... };
 *
 * and ends each location's work with ghl_fanout_done or ghl_fanout_fail. */

#define GHL_FANOUT_ERROR_LEN 512

typedef struct ghl_fanout ghl_fanout;

typedef struct ghl_fanout_loc {
	ghl_fanout *fanout;
	char *id;               /* the location id */
} ghl_fanout_loc;

typedef struct ghl_fanout_spec {
	ghl_client *client;
	const char *locations;  /* the `location_id` option (borrowed for the run) */
	size_t loc_size;        /* sizeof the module's struct, ghl_fanout_loc first */
	size_t concurrency;     /* locations at work at once (0: all): bounds the
				 * memory of a poll over thousands of locations */
	void *arg;              /* the module's, for its callbacks */
	/* Starts the work of one location (poll). */
	void (*start)(ghl_fanout_loc *l);
	/* Starts the check of the first location (check); it ends the run with
	 * ghl_fanout_finish, or with ghl_fanout_done/fail as a poll does. */
	void (*check)(ghl_fanout_loc *l);
	/* Cancels and frees what the module keeps for one location (not its
	 * id); runs when the location ends and when the run is freed, so it
	 * must leave the location cleared. */
	void (*clear)(ghl_fanout_loc *l);
	/* Every location has ended (or there was none): the module reports,
	 * and ends the run with ghl_fanout_finish. */
	void (*end)(ghl_fanout *f);
} ghl_fanout_spec;

/* Read-only for the module. */
struct ghl_fanout {
	ghl_fanout_spec spec;
	hlb_job *job;
	int check;
	int64_t started_ms;     /* when the run began, ms since the epoch */
	size_t n;               /* locations resolved */
	size_t failed;          /* locations ended with a failure */
	char first_error[GHL_FANOUT_ERROR_LEN];  /* the first of them, "" none */
	/* private */
	ghl_fanout **slot;
	ghl_resolve *resolve;
	unsigned char *locs;    /* n structs of spec.loc_size bytes */
	size_t pending;         /* locations not ended, started or not */
	size_t next, running;   /* the next to start; those at work */
	int filling;
};

/* For a source's init: HLB_OK when the host has credential support (ABI
 * 1.1: auth_token, history_add), else HLB_EUNSUPPORTED, logged. */
int ghl_source_host_check(const hlb_host *host, hlb_instance *inst, const char *plugin);

/* Starts a run for `job` (check: 1 for a check) and stores it in *slot,
 * which is set back to NULL when the run ends or is freed. HLB_OK; or, with
 * the job finished, HLB_EINVAL when *slot holds a run still going, or
 * HLB_ENOMEM. The locations start later, from the event loop. */
int ghl_fanout_start(const ghl_fanout_spec *spec, hlb_job *job, int check, ghl_fanout **slot);
/* One location has ended: `failure` (NULL: it succeeded) is logged, with a
 * login hint when it needs one, and counted; the last one runs spec.end. */
void ghl_fanout_done(ghl_fanout_loc *l, const ghl_reply *failure);
/* ghl_fanout_done with a failure of code rc and a formatted message. */
void ghl_fanout_fail(ghl_fanout_loc *l, int rc, const char *fmt, ...) HLB_PRINTF(3, 4);
/* Frees the run and finishes its job with rc and message. */
void ghl_fanout_finish(ghl_fanout *f, int rc, const char *message);
/* Frees the run without finishing its job (the module is stopping). */
void ghl_fanout_free(ghl_fanout *f);

/* ---- pure helpers ----------------------------------------------------------- */

/* "ghl:<quota_id>:<scope>"; scope is the location or company id ("-" when
 * unknown). */
void ghl_pace_key(const char *quota_id, const char *scope, char *buf, size_t len);
/* The JSON value at a dotted path ("results.tags"), borrowed, or NULL. */
struct json_object *ghl_json_at(struct json_object *root, const char *dotted);

/* ---- Social Planner tags: snapshots ------------------------------------------
 * A location's snapshot is a JSON object {tagId: "<16 hex hash><name>"}:
 * the content hash of the list entry (name, updatedAt, deleted) followed by
 * the name, so a rename can report the previous name. Deleted tags are not
 * kept. */

typedef enum ghl_tag_change {
	GHL_TAG_SAME = 0,
	GHL_TAG_CREATED = 1,
	GHL_TAG_UPDATED = 2,
	GHL_TAG_DELETED = 3
} ghl_tag_change;

const char *ghl_tag_change_name(ghl_tag_change ch); /* "created", ... */
/* Content hash of one list entry. */
void ghl_tag_hash(const char *name, const char *updated_at, int deleted, char out[17]);
/* What a list entry (hash, deleted flag) means against the old snapshot
 * (NULL: none). *prev_name gets the name kept in the snapshot, borrowed,
 * or NULL. */
ghl_tag_change ghl_tag_classify(struct json_object *old_snap, const char *tag_id, const char *hash,
				int deleted, const char **prev_name);
/* The snapshot value of a live tag: a new string object. */
struct json_object *ghl_tag_snap_value(const char *hash, const char *name);
/* The hash and name kept for tag_id in a snapshot; 0 when absent. */
int ghl_tag_snap_get(struct json_object *snap, const char *tag_id, char hash[17], const char **name);

/* ---- Social Planner statistics ----------------------------------------------- */

#define GHL_STATS_DAYS 7

/* One data point: `day` "YYYY-MM-DD" at `day_ms` (00:00 UTC); value is
 * borrowed (a number). */
typedef void (*ghl_stat_cb)(void *arg, const char *platform, const char *metric, const char *day,
			    int64_t day_ms, struct json_object *value);

/* Walks results.platformTotals.<metric>.<platform>.series[] of a
 * POST /social-media-posting/statistics answer for the metrics
 * impressions, followers and likes. The series covers the last 7 days:
 * series[6] is today (UTC, from now_ms), series[0] six days ago. Platforms
 * not in `platforms` (NULL: all) are skipped. Returns the number of
 * points, or HLB_EPARSE when the answer has no results. */
int ghl_stats_extract(struct json_object *answer, int64_t now_ms, char *const *platforms,
		      size_t nplatforms, ghl_stat_cb cb, void *arg);
/* statId: ghl_hash_hex("locationId|platform|metric|day"). */
void ghl_stat_id(const char *location, const char *platform, const char *metric, const char *day,
		 char out[17]);

#endif /* GHL_CLIENT_H */
