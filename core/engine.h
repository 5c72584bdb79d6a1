/* The runtime: initialises instances, schedules polls, carries records from
 * sources through transforms into sink queues, and delivers them. */
#ifndef HC_ENGINE_H
#define HC_ENGINE_H

#include "graph.h"
#include "http.h"
#include "loop.h"
#include "store.h"

typedef struct hc_engine hc_engine;

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
