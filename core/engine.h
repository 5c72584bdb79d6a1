/* The runtime: initialises instances, schedules polls, carries records from
 * sources through transforms into sink queues, and delivers them. */
#ifndef HC_ENGINE_H
#define HC_ENGINE_H

#include "graph.h"
#include "http.h"
#include "loop.h"
#include "store.h"

typedef struct hc_engine hc_engine;

struct hc_metrics;
struct hc_webhooks;

hc_engine *hc_engine_new(hc_graph *g, hc_loop *loop, hc_http *http, hc_store *store);
/* Calls every instance's init(); problems found by plugins land in diag.
 * Returns 0 when all instances started. */
int hc_engine_init(hc_engine *e, hc_diag *diag);
/* The same for the instances of some roles only (HLB_CAP_* bits), such as
 * the credentials alone for `hlbridge auth`. */
int hc_engine_init_roles(hc_engine *e, hc_diag *diag, uint32_t roles);
/* hlbridge auth login: runs the provider's exchange of an authorization
 * code on the loop until it finishes. *message (owned by the engine) is
 * what the provider said. */
int hc_engine_auth_exchange(hc_engine *e, struct hlb_instance *inst, const char *code,
			    const char *redirect_uri, const char **message);
/* Runs the plugins' check callbacks; returns the number that failed. */
int hc_engine_check(hc_engine *e, int64_t timeout_ms);
/* Runs until a signal (or, with once, until every source was polled once
 * and everything was delivered). Returns the process exit status. */
int hc_engine_run(hc_engine *e, int once);
/* SIGHUP calls fn, which loads and starts the new configuration beside the
 * running one and returns 0 when it is ready; the engine then ends its
 * deliveries under way and hc_engine_run returns with hc_engine_reloading
 * true (the queues stay in the store for the new engine). */
void hc_engine_on_reload(hc_engine *e, int (*fn)(void *arg), void *arg);
int hc_engine_reloading(const hc_engine *e);
/* Calls fini() and frees queued records. */
void hc_engine_free(hc_engine *e);

/* Webhooks. Runs the source's webhook() callback on `ev` as a job; done
 * is called exactly once (HLB_OK, or why not) after the records it emitted
 * are committed to the durable queue. HLB_OK, or an error (done is not
 * called then). */
typedef void (*hc_webhook_done)(void *arg, int rc, const char *message);
int hc_engine_webhook(hc_engine *e, struct hlb_instance *src, const hlb_webhook *ev,
		      hc_webhook_done done, void *arg);
/* Records waiting for the fullest sink that `src` feeds (memory, retries
 * and the store's backlog; the store's count is at most a second old). */
uint64_t hc_engine_queue_depth(hc_engine *e, struct hlb_instance *src);
struct hc_webhooks *hc_engine_webhooks(const hc_engine *e);
/* The metrics registry (kept by the caller across reloads); NULL: none. */
void hc_engine_set_metrics(hc_engine *e, struct hc_metrics *m);
struct hc_metrics *hc_engine_metrics(const hc_engine *e);
void hc_job_progress(hlb_job *job, uint64_t records, uint64_t total, uint64_t pages);
/* host->result: what delivering record i gave, for the routes from the sink. */
int hc_job_result(hlb_job *job, size_t i, hlb_record *rec);
/* A running poll's progress as text, malloc'd; NULL when it shows none. */
char *hc_engine_progress_text(const struct hlb_instance *src);

/* The host services table handed to plugins. */
const hlb_host *hc_host_table(void);

/* Job services behind the host table (host.c forwards to these). */
int hc_job_emit(hlb_job *job, hlb_record *rec);
int hc_job_checkpoint(hlb_job *job);
size_t hc_job_batch_size(const hlb_job *job);
const hlb_record *hc_job_batch_record(const hlb_job *job, size_t i);
void hc_job_verdict(hlb_job *job, size_t i, hlb_verdict v, const char *reason);
void hc_job_verdict_http(hlb_job *job, size_t i, hlb_verdict v, const char *reason,
			 long http_status, int64_t retry_after_ms);
void hc_job_finish(hlb_job *job, int rc, const char *message);
struct json_object *hc_engine_state_get(hlb_instance *inst, const char *key);
int hc_engine_state_put(hlb_instance *inst, hlb_job *job, const char *key, struct json_object *value);
hc_loop *hc_engine_loop(const hc_engine *e);
hc_graph *hc_engine_graph(const hc_engine *e);
hlb_auth_call **hc_engine_auth_calls(hc_engine *e);
int hc_engine_history_add(hlb_instance *inst, hlb_job *job, const char *scope, const char *object,
			  const char *change, int64_t time_ms, struct json_object *row);
hc_http *hc_engine_http(const hc_engine *e);
hc_store *hc_engine_store(const hc_engine *e);

#endif
