/* The runtime. Records flow source -> transforms -> sink queues on the one
 * loop thread; a sink delivers one batch at a time, and a source is polled
 * again only when the sinks it feeds have room, so memory stays bounded
 * however much a source has to give. */
#include "engine.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "auth.h"
#include "durable.h"
#include "log.h"
#include "metrics.h"
#include "record.h"
#include "retry.h"
#include "status.h"
#include "store.h"
#include "webhook.h"

#define ROOM_MIN 256 /* records a sink may hold before its sources pause */
#define BACKLOG_CHECK_MS 5000 /* how often a running daemon looks for replayed records */
#define POLL_FLUSH_RECORDS 1000 /* a poll's records queued at a time, before it ends */

enum job_kind { JOB_POLL, JOB_PROCESS, JOB_DELIVER, JOB_CHECK, JOB_AUTH, JOB_WEBHOOK };

struct hlb_job {
	enum job_kind kind;
	struct hlb_instance *inst;
	hc_engine *e;
	int refs;
	int finished;
	int rc;
	/* process: records emitted by the transform */
	hlb_record **out;
	size_t nout, capout;
	/* deliver */
	hlb_record **batch;
	size_t n;
	signed char *verdicts; /* -1: none given */
	char **reasons;
	/* poll: what it produced, queued when it finishes; deliver: the
	 * results it gave, queued before its verdicts are written */
	hc_batch *pending;
	/* webhook: who waits for the answer, and the job's place in the list
	 * of finished ones waiting for the next commit */
	hc_webhook_done wh_done;
	void *wh_arg;
	char *wh_message;
	struct hlb_job *wh_next;
	/* every job not yet freed, so hc_engine_free can reclaim the ones a
	 * plugin never finished (a drain that timed out, a check that hung) */
	struct hlb_job *live_prev, *live_next;
};

struct hc_engine {
	hc_graph *g;
	hc_loop *loop;
	hc_http *http;
	int once, stopping, inited;
	int checks_pending, checks_failed;
	hlb_timer *drain_timer, *check_timer;
	unsigned poll_errors, record_failures;
	uint32_t rng;
	hlb_job *live;
	int signals_caught;
	hc_store *store;
	int durable;            /* the store keeps queues (not :memory:) */
	hc_batch *collect;      /* the poll whose records are being routed */
	hlb_timer *backlog_timer;
	int store_failed;
	/* SIGHUP: asks the command whether a new configuration is ready */
	int (*reload)(void *arg);
	void *reload_arg;
	int reloading;
	hlb_auth_call *auth_calls; /* token calls not yet delivered (auth.c) */
	hc_webhooks *webhooks;
	hlb_job *wh_waiting;       /* finished webhook jobs, newest first */
	hlb_timer *wh_timer;       /* commits their records on the next turn */
	size_t wh_running;         /* webhook jobs not answered yet */
	int freeing;               /* hc_engine_free runs: no more commits */
	hc_metrics *metrics;
	/* hlbridge auth login: how the provider's exchange ended */
	int auth_rc;
	char *auth_message;
};

hlb_auth_call **hc_engine_auth_calls(hc_engine *e)
{
	return &e->auth_calls;
}

hc_graph *hc_engine_graph(const hc_engine *e)
{
	return e->g;
}

static void schedule_flush(struct hlb_instance *sink);
static void schedule_poll(struct hlb_instance *src, int64_t delay_ms);
static void maybe_done(hc_engine *e);
static int accept_queued(struct hlb_instance *sink, hlb_record *rec);
static int hold_source(void *owner);
static void store_failed(hc_engine *e);

hc_loop *hc_engine_loop(const hc_engine *e)
{
	return e->loop;
}

hc_http *hc_engine_http(const hc_engine *e)
{
	return e->http;
}

static uint32_t rnd(hc_engine *e)
{
	/* xorshift: only for jitter, no need for quality */
	e->rng ^= e->rng << 13;
	e->rng ^= e->rng >> 17;
	e->rng ^= e->rng << 5;
	return e->rng;
}

hc_engine *hc_engine_new(hc_graph *g, hc_loop *loop, hc_http *http, hc_store *store)
{
	hc_engine *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->g = g;
	e->loop = loop;
	e->http = http;
	e->store = store;
	e->durable = store && strcmp(hc_store_path(store), ":memory:") != 0;
	e->rng = (uint32_t)hc_wall_ms() | 1u;
	if (!(e->webhooks = hc_webhooks_new())) {
		free(e);
		return NULL;
	}
	if (http)
		hc_http_hold(http, hold_source);
	for (size_t i = 0; i < g->ninst; i++)
		g->inst[i]->engine = e;
	return e;
}

static int init_one(struct hlb_instance *inst, hc_diag *diag)
{
	const hlb_host *host = hc_host_table();
	const hlb_plugin *p;
	int rc = HLB_OK;

	if (inst->invalid)
		return -1;
	p = inst->mod->desc;
	inst->diag = diag;
	if (p->init)
		rc = p->init(host, inst, inst->role, &inst->state);
	inst->diag = NULL;
	if (rc != HLB_OK) {
		if (!inst->config_errors)
			hc_diag_error(diag, inst->file, inst->sec->line, "[%s] plugin %s failed to start: %s",
				      inst->sec->label, p->name, host->strerror(rc));
		return -1;
	}
	inst->inited = 1;
	return 0;
}

int hc_engine_init_roles(hc_engine *e, hc_diag *diag, uint32_t roles)
{
	int failed = 0;

	e->inited = 1;
	/* credentials first: the others may ask them for tokens from init() */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < e->g->ninst; i++) {
			struct hlb_instance *inst = e->g->inst[i];

			if (!(inst->role & roles) || (inst->role == HLB_CAP_AUTH) != (pass == 0))
				continue;
			if (init_one(inst, diag) < 0)
				failed++;
		}
	if ((roles & HLB_CAP_SOURCE) && hc_webhooks_configure(e->webhooks, e, diag) < 0)
		failed++;
	return failed ? -1 : 0;
}

int hc_engine_init(hc_engine *e, hc_diag *diag)
{
	return hc_engine_init_roles(e, diag, ~0u);
}

/* ---- jobs --------------------------------------------------------------- */

static hlb_job *job_new(hc_engine *e, enum job_kind kind, struct hlb_instance *inst)
{
	hlb_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->kind = kind;
	j->inst = inst;
	j->e = e;
	j->refs = 2; /* the caller's, and the one finish() drops */
	j->live_next = e->live;
	if (e->live)
		e->live->live_prev = j;
	e->live = j;
	return j;
}

/* Tells whoever waits for a webhook job how it ended, once. */
static void wh_answer(hlb_job *j, int rc, const char *message)
{
	hc_webhook_done done = j->wh_done;

	if (!done)
		return;
	j->wh_done = NULL;
	j->e->wh_running--;
	done(j->wh_arg, rc, message);
}

static void job_free(hlb_job *j)
{
	if (j->wh_done)
		wh_answer(j, HLB_ECANCELED, "hlbridge stopped before the event was queued");
	free(j->wh_message);
	if (j->live_prev)
		j->live_prev->live_next = j->live_next;
	else
		j->e->live = j->live_next;
	if (j->live_next)
		j->live_next->live_prev = j->live_prev;
	for (size_t i = 0; i < j->n; i++)
		if (j->reasons)
			free(j->reasons[i]);
	free(j->reasons);
	free(j->verdicts);
	free(j->batch);
	free(j->out);
	hc_batch_free(j->pending);
	free(j);
}

static void job_unref(hlb_job *j)
{
	if (--j->refs > 0)
		return;
	job_free(j);
}

int hc_job_emit(hlb_job *j, hlb_record *rec);

int hc_job_checkpoint(hlb_job *j)
{
	if (!j || j->kind != JOB_POLL || j->finished)
		return HLB_EINVAL;
	/* without a durable store a poll's records wait for its end anyway */
	if (!j->e->durable || j->e->store_failed)
		return HLB_OK;
	if (hc_batch_checkpoint(j->e->store, j->inst, j->pending, accept_queued) < 0) {
		store_failed(j->e);
		return HLB_EIO;
	}
	return HLB_OK;
}

size_t hc_job_batch_size(const hlb_job *j)
{
	return j && j->kind == JOB_DELIVER ? j->n : 0;
}

const hlb_record *hc_job_batch_record(const hlb_job *j, size_t i)
{
	return j && j->kind == JOB_DELIVER && i < j->n ? j->batch[i] : NULL;
}

void hc_job_verdict_http(hlb_job *j, size_t i, hlb_verdict v, const char *reason,
			 long http_status, int64_t retry_after_ms)
{
	if (!j || j->kind != JOB_DELIVER || i >= j->n || j->finished)
		return;
	if (v != HLB_DONE && v != HLB_RETRY && v != HLB_FAILED)
		v = HLB_RETRY;
	j->verdicts[i] = (signed char)v;
	free(j->reasons[i]);
	j->reasons[i] = reason ? strdup(reason) : NULL;
	j->batch[i]->last_status = http_status;
	j->batch[i]->retry_after_ms = retry_after_ms > 0 ? retry_after_ms : 0;
}

void hc_job_verdict(hlb_job *j, size_t i, hlb_verdict v, const char *reason)
{
	hc_job_verdict_http(j, i, v, reason, 0, 0);
}

/* ---- routing ------------------------------------------------------------ */

static void enqueue(struct hlb_instance *sink, hlb_record *rec)
{
	rec->next = NULL;
	if (sink->q_tail)
		sink->q_tail->next = rec;
	else
		sink->q_head = rec;
	sink->q_tail = rec;
	sink->q_len++;
	schedule_flush(sink);
}

static void run_route(hc_engine *e, hc_route *r, size_t step, hlb_record *rec);

static void count(hc_engine *e, const char *name, const char *help, const char *label,
		  const char *value, double v)
{
	const char *labels[] = { label, value, NULL };

	if (e->metrics)
		hc_metric_add(e->metrics, name, help, label ? labels : NULL, v);
}

static void count_route_in(hc_engine *e, hc_route *r)
{
	r->records_in++;
	if (!r->minutes)
		r->minutes = calloc(1, sizeof(*r->minutes));
	if (r->minutes)
		hc_minutes_add(r->minutes, hc_wall_ms(), 1);
	count(e, "hlbridge_route_records_in_total", "Records a route received from its source",
	      "route", r->name, 1);
}


/* Records routed during a poll wait in its batch, to be queued durably in
 * one transaction when the poll finishes. */
static void to_sink(hc_engine *e, struct hlb_instance *sink, hlb_record *rec)
{
	if (!e->collect) {
		enqueue(sink, rec);
		return;
	}
	if (hc_batch_add(e->collect, sink, rec) < 0) {
		hc_log(sink->sec->label, HLB_LOG_ERROR, "out of memory holding a record");
		e->record_failures++;
	}
}

/* Hands a record that passed all of a route's transforms to its sinks and
 * to the routes chained from it; every receiver but the last gets a copy. */
/* Receiver i of n gets its own copy; the last one gets the record itself,
 * so the common single receiver costs no copy. NULL (logged) when a copy
 * cannot be made. */
static hlb_record *copy_for(hc_engine *e, hlb_record *rec, size_t i, size_t n, const char *who)
{
	hlb_record *mine = (i + 1 == n) ? rec : hc_record_clone(rec);

	if (!mine) {
		hc_log(who, HLB_LOG_ERROR, "out of memory copying record %s", rec->key);
		e->record_failures++;
	}
	return mine;
}

static void fan_out(hc_engine *e, hc_route *r, hlb_record *rec)
{
	size_t n = r->nto + r->nchildren;

	if (n == 0) {
		hc_record_free(rec);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		hlb_record *mine = copy_for(e, rec, i, n, r->sec->label);

		if (!mine)
			continue;
		if (i < r->nto) {
			r->records_out++;
			count(e, "hlbridge_route_records_out_total", "Records a route handed to its sinks",
			      "route", r->name, 1);
			to_sink(e, r->to[i], mine);
		}
		else
			run_route(e, r->children[i - r->nto], 0, mine);
	}
}

static void run_route(hc_engine *e, hc_route *r, size_t step, hlb_record *rec)
{
	if (step == r->nvia) {
		fan_out(e, r, rec);
		return;
	}
	struct hlb_instance *t = r->via[step];
	hlb_job j;
	char key[128];

	memset(&j, 0, sizeof(j));
	j.kind = JOB_PROCESS;
	j.inst = t;
	j.e = e;
	snprintf(key, sizeof(key), "%s", rec->key);
	int rc = t->mod->desc->process(t->state, rec, &j);
	if (rc < 0) {
		hc_log(t->sec->label, HLB_LOG_WARN, "record %s failed: %s", key, hc_host_table()->strerror(rc));
		e->record_failures++;
	} else if (j.nout == 0) {
		t->dropped++;
		count(e, "hlbridge_transform_records_dropped_total", "Records a transform dropped",
		      "transform", t->sec->label, 1);
	}
	for (size_t i = 0; i < j.nout; i++)
		run_route(e, r, step + 1, j.out[i]);
	free(j.out);
}

static void dispatch(hc_engine *e, struct hlb_instance *src, hlb_record *rec)
{
	size_t n = src->nroutes;

	src->emitted++;
	if (n == 0) {
		hc_record_free(rec);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		hlb_record *mine = copy_for(e, rec, i, n, src->routes[i]->sec->label);

		count_route_in(e, src->routes[i]);
		if (mine)
			run_route(e, src->routes[i], 0, mine);
	}
}

/* Dispatches into `batch` (queued in one transaction later), restoring
 * whatever batch an outer call collects into. */
static void dispatch_into(hc_engine *e, hc_batch *batch, struct hlb_instance *from, hlb_record *rec)
{
	hc_batch *outer = e->collect;

	e->collect = batch;
	dispatch(e, from, rec);
	e->collect = outer;
}

static hc_batch *wh_batch(struct hlb_instance *src)
{
	if (!src->wh_batch)
		src->wh_batch = hc_batch_new(0);
	return src->wh_batch;
}

int hc_job_emit(hlb_job *j, hlb_record *rec)
{
	if (!j || !rec)
		return HLB_EINVAL;
	if (j->kind == JOB_POLL && !j->finished) {
		dispatch_into(j->e, j->pending, j->inst, rec);
		/* a long poll queues as it goes, not all at its end */
		if (j->e->durable && !j->e->store_failed &&
		    hc_batch_records(j->pending) >= POLL_FLUSH_RECORDS &&
		    hc_batch_flush(j->e->store, j->inst, j->pending, accept_queued) < 0)
			store_failed(j->e);
		return HLB_OK;
	}
	if (j->kind == JOB_WEBHOOK && !j->finished) {
		hc_batch *b = wh_batch(j->inst);

		if (!b) {
			hc_record_free(rec);
			return HLB_ENOMEM;
		}
		dispatch_into(j->e, b, j->inst, rec);
		return HLB_OK;
	}
	if (j->kind == JOB_PROCESS) {
		if (j->nout == j->capout) {
			size_t cap = j->capout ? j->capout * 2 : 4;
			hlb_record **o = realloc(j->out, cap * sizeof(*o));

			if (!o) {
				hc_record_free(rec);
				return HLB_ENOMEM;
			}
			j->out = o;
			j->capout = cap;
		}
		j->out[j->nout++] = rec;
		return HLB_OK;
	}
	hc_record_free(rec);
	return HLB_EINVAL;
}

/* A delivery's results go down the routes reading from the sink, into a
 * batch queued when the delivery finishes (deliver_finished). */
int hc_job_result(hlb_job *j, size_t i, hlb_record *rec)
{
	struct hlb_instance *sink = j ? j->inst : NULL;

	if (!rec)
		return HLB_EINVAL;
	if (!j || j->kind != JOB_DELIVER || j->finished || i >= j->n ||
	    !(sink->mod->desc->caps & HLB_CAP_RESULTS)) {
		hc_record_free(rec);
		return HLB_EINVAL;
	}
	if (!sink->nroutes) {
		hc_record_free(rec);
		return HLB_OK;
	}
	if (!j->pending && !(j->pending = hc_batch_new(0))) {
		hc_record_free(rec);
		return HLB_ENOMEM;
	}
	dispatch_into(j->e, j->pending, sink, rec);
	return HLB_OK;
}

/* ---- sources ------------------------------------------------------------ */

static size_t sink_room(const struct hlb_instance *s)
{
	return s->batch * 4 > ROOM_MIN ? s->batch * 4 : ROOM_MIN;
}

/* Full past its room and `more` records: reading its backlog counts too. */
static int sink_full(const struct hlb_instance *s, size_t more)
{
	return s->q_len + s->wait_len >= sink_room(s) + more || s->backlog;
}

/* With a durable queue a full sink takes its records into the store only,
 * so a source waits only when every sink it feeds is full: one slow sink
 * does not hold up the others. Without one (state_dir = :memory:) memory
 * is the queue, and the slowest sink sets the pace. */
static int has_room(const struct hlb_instance *src)
{
	size_t full = 0, full_direct = 0;

	for (size_t i = 0; i < src->nreach; i++) {
		int f = sink_full(src->reach[i], 0);

		full += (size_t)f;
		full_direct += (size_t)(f && i < src->ndirect);
	}
	/* a sink fed by results fills only behind the sink feeding it:
	 * the source waits for its own sinks */
	if (src->engine->durable)
		return full_direct < src->ndirect || src->ndirect == 0;
	return full == 0;
}

/* A polling source whose sinks are full has its HTTP answers held (http.c):
 * its next pages wait as bytes, and the records it already made get through
 * first. */
static int hold_source(void *owner)
{
	struct hlb_instance *src = owner;

	return src->role == HLB_CAP_SOURCE && src->polling && !src->engine->stopping && !has_room(src);
}

/* The memory queue takes a record (queued in the store, or a replay poll's
 * waiting only here), unless the sink is full and the store can hold it
 * until there is room. Full here is the room and one flush more: a poll's
 * records made before its answers were held (hold_source) still fit. */
static int accept_queued(struct hlb_instance *sink, hlb_record *rec)
{
	/* A reload hands the queues over in the store: a record only in
	 * memory now would wait for a delivery that never comes. */
	if (!rec->row_id && rec->cp && sink->engine->reloading)
		return 0;
	if (sink->engine->durable && sink_full(sink, POLL_FLUSH_RECORDS)) {
		sink->backlog = 1;
		return 0;
	}
	enqueue(sink, rec);
	return 1;
}

/* The source has moved past records that are not queued: only a restart,
 * from the last checkpoint, reads them again. */
static void store_failed(hc_engine *e)
{
	hc_log(NULL, HLB_LOG_ERROR, "the state store failed; stopping so that a restart "
	       "resumes from the last checkpoint");
	e->store_failed = 1;
	e->stopping = 1;
	hc_loop_stop(e->loop);
}

/* ---- progress ------------------------------------------------------------ */

#define PROGRESS_EVERY_MS 1000

/* "12000/50000 records, 60 pages, 800/s, ETA 48s" */
static void progress_text(const struct hlb_instance *src, char *out, size_t len)
{
	int64_t ms = hc_now_ms() - src->poll_started_ms;
	double rate = ms > 0 ? (double)src->prog_records * 1000.0 / (double)ms : 0;
	int n;

	if (src->prog_total)
		n = snprintf(out, len, "%llu/%llu records", (unsigned long long)src->prog_records,
			     (unsigned long long)src->prog_total);
	else
		n = snprintf(out, len, "%llu records", (unsigned long long)src->prog_records);
	if (n < 0 || (size_t)n >= len)
		return;
	n += snprintf(out + n, len - (size_t)n, ", %llu page%s, %.0f/s",
		      (unsigned long long)src->prog_pages, src->prog_pages == 1 ? "" : "s", rate);
	if (n > 0 && (size_t)n < len && src->prog_total > src->prog_records && rate > 0)
		snprintf(out + n, len - (size_t)n, ", ETA %.0fs",
			 (double)(src->prog_total - src->prog_records) / rate);
}

void hc_job_progress(hlb_job *j, uint64_t records, uint64_t total, uint64_t pages)
{
	struct hlb_instance *src;
	int64_t now = hc_now_ms();
	char text[160];

	if (!j || j->kind != JOB_POLL || j->finished)
		return;
	src = j->inst;
	src->prog_records = records;
	src->prog_total = total;
	src->prog_pages = pages;
	/* a terminal gets a line that rewrites itself, once a second, once
	 * the poll has run for a second (short polls stay quiet) */
	if (!isatty(STDERR_FILENO) || now - src->poll_started_ms < PROGRESS_EVERY_MS ||
	    now - src->prog_shown_ms < PROGRESS_EVERY_MS)
		return;
	src->prog_shown_ms = now;
	progress_text(src, text, sizeof(text));
	fprintf(stderr, "\r[%s] %s\033[K", src->sec->label, text);
	fflush(stderr);
	hc_log_progress_shown();
}

static void progress_end(struct hlb_instance *src)
{
	char text[160];

	if (src->prog_shown_ms) {
		progress_text(src, text, sizeof(text));
		fprintf(stderr, "\r[%s] %s, done\033[K\n", src->sec->label, text);
	}
	src->prog_shown_ms = 0;
	src->prog_records = src->prog_total = src->prog_pages = 0;
}

/* For the status page: NULL when no poll is showing progress. */
char *hc_engine_progress_text(const struct hlb_instance *src)
{
	char text[160];

	if (!src->polling || (!src->prog_records && !src->prog_pages))
		return NULL;
	progress_text(src, text, sizeof(text));
	return strdup(text);
}

static void poll_finished(hlb_job *j)
{
	struct hlb_instance *src = j->inst;
	hc_engine *e = j->e;

	src->polling = 0;
	src->polls++;
	src->last_poll_wall_ms = hc_wall_ms();
	if (e->metrics) {
		static const double bounds[] = { 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300 };
		const char *labels[] = { "source", src->sec->label, NULL };

		hc_metric_observe(e->metrics, "hlbridge_poll_duration_seconds", "How long polls took",
				  bounds, sizeof(bounds) / sizeof(bounds[0]), labels,
				  (double)(hc_now_ms() - src->poll_started_ms) / 1000.0);
		if (j->rc < 0)
			count(e, "hlbridge_poll_errors_total", "Polls that failed", "source", src->sec->label, 1);
	}
	progress_end(src);
	if (hc_batch_commit(e->store, src, j->pending, accept_queued) < 0) {
		store_failed(e);
		return;
	}
	if (j->rc < 0) {
		e->poll_errors++;
		hc_log(src->sec->label, HLB_LOG_ERROR, "poll failed: %s", hc_host_table()->strerror(j->rc));
	}
	if (e->stopping) {
		maybe_done(e);
		return;
	}
	if (j->rc == HLB_MORE) {
		if (has_room(src))
			schedule_poll(src, 0);
		else
			src->waiting_room = 1;
		return;
	}
	if (e->once) {
		src->exhausted = 1;
		maybe_done(e);
		return;
	}
	/* 10% jitter spreads many sources with the same interval. */
	int64_t jitter = src->interval_ms / 10;
	schedule_poll(src, src->interval_ms - jitter + (jitter ? (int64_t)(rnd(e) % (uint32_t)(2 * jitter + 1)) : 0));
}

static void start_poll(void *arg)
{
	struct hlb_instance *src = arg;
	hc_engine *e = src->engine;
	hlb_job *j;

	src->poll_timer = NULL;
	if (e->stopping || src->polling)
		return;
	j = job_new(e, JOB_POLL, src);
	if (j && !(j->pending = hc_batch_new(e->durable && (src->mod->desc->caps & HLB_CAP_REPLAY)))) {
		j->refs = 1;
		job_unref(j);
		j = NULL;
	}
	if (!j) {
		schedule_poll(src, 1000);
		return;
	}
	src->polling = 1;
	src->poll_started_ms = hc_now_ms();
	src->prog_records = src->prog_total = src->prog_pages = 0;
	src->prog_shown_ms = 0;
	int rc = src->mod->desc->poll(src->state, j);
	if (!j->finished && rc < 0)
		hc_job_finish(j, rc, NULL);
	job_unref(j);
}

static void schedule_poll(struct hlb_instance *src, int64_t delay_ms)
{
	if (src->poll_timer)
		hc_timer_stop(src->poll_timer);
	src->poll_timer = hc_timer_start(src->engine->loop, delay_ms, 0, start_poll, src);
}

static void wake_sources(hc_engine *e)
{
	hc_http_wake(e->http);
	for (size_t i = 0; i < e->g->ninst; i++) {
		struct hlb_instance *src = e->g->inst[i];

		if (src->role == HLB_CAP_SOURCE && src->waiting_room && has_room(src)) {
			src->waiting_room = 0;
			schedule_poll(src, 0);
		}
	}
}

/* ---- sinks -------------------------------------------------------------- */

static void release_retries(void *arg)
{
	struct hlb_instance *sink = arg;
	int64_t now = hc_now_ms(), next = -1;
	hlb_record **pp = &sink->wait_head;

	sink->retry_timer = NULL;
	while (*pp) {
		hlb_record *r = *pp;

		if (r->due_ms <= now || sink->engine->stopping) {
			*pp = r->next;
			sink->wait_len--;
			enqueue(sink, r);
		} else {
			if (next < 0 || r->due_ms < next)
				next = r->due_ms;
			pp = &r->next;
		}
	}
	if (next >= 0) {
		sink->retry_due = next;
		sink->retry_timer = hc_timer_start(sink->engine->loop, next - now, 0, release_retries, sink);
	}
}

static void park(struct hlb_instance *sink, hlb_record *r, int64_t delay)
{
	r->due_ms = hc_now_ms() + delay;
	r->next = sink->wait_head;
	sink->wait_head = r;
	sink->wait_len++;
	sink->retried++;
	count(sink->engine, "hlbridge_sink_records_retried_total", "Record deliveries a sink will retry",
	      "sink", sink->sec->label, 1);
	/* One timer per sink, set for the earliest record waiting. */
	if (sink->retry_timer && sink->retry_due <= r->due_ms)
		return;
	hc_timer_stop(sink->retry_timer);
	sink->retry_due = r->due_ms;
	sink->retry_timer = hc_timer_start(sink->engine->loop, delay, 0, release_retries, sink);
}

/* Parks a record after a retry verdict; returns the wall-clock time it is
 * due, for the store. */
static int64_t park_for_retry(struct hlb_instance *sink, hlb_record *r)
{
	int64_t delay = hc_retry_delay_ms(&sink->retry, r->attempts, rnd(sink->engine), r->retry_after_ms);

	park(sink, r, delay);
	return hc_wall_ms() + delay;
}

static void load_row(const hc_qrow *row, void *arg)
{
	struct hlb_instance *sink = arg;
	hlb_record *r = row->rec;
	int64_t wait = row->due_ms - hc_wall_ms();

	r->row_id = row->id;
	r->attempts = row->attempts;
	r->last_status = row->last_status;
	hc_durable_adopt(sink, r);
	if (row->id > sink->cursor)
		sink->cursor = row->id;
	if (wait > 0 && !sink->engine->stopping)
		park(sink, r, wait);
	else
		enqueue(sink, r);
}

/* Reads queued records of a sink from the store while it has room: those
 * left by an earlier run, and those replayed from the dead-letter queue. */
static void load_backlog(struct hlb_instance *sink)
{
	hc_engine *e = sink->engine;
	size_t room = sink_room(sink), held = sink->q_len + sink->wait_len;

	if (!sink->backlog || held >= room / 2)
		return;
	int n = hc_store_load(e->store, sink->sec->name, sink->cursor, room - held, load_row, sink);
	if (n < 0) {
		hc_log(sink->sec->label, HLB_LOG_ERROR, "cannot read queued records: %s", hc_store_error(e->store));
		sink->backlog = 0; /* tried again at the next backlog check */
		return;
	}
	if ((size_t)n < room - held)
		sink->backlog = 0;
	if (n)
		hc_log(sink->sec->label, HLB_LOG_DEBUG, "%d queued record%s read from the store", n, n == 1 ? "" : "s");
}

/* Writes a delivery's outcome for one record; a record that reached a final
 * state may complete its source's checkpoint. A record that only ever
 * waited in memory (a replay poll's, hc_batch_new) has no row: a retry
 * keeps it there (its checkpoint waits, and a crash re-reads it), and a
 * dead one is written to the dead-letter queue now. */
static int store_outcome(hc_engine *e, struct hlb_instance *sink, hlb_record *r, int v, int64_t due_wall,
			 const char *why)
{
	if (r->row_id <= 0) {
		if (!r->cp || v == HLB_RETRY)
			return 0;
		if (v != HLB_DONE && hc_store_bury_new(e->store, sink->sec->name, r, r->attempts, r->last_status,
						      why) < 0)
			return -1;
		return hc_durable_final(e->store, r);
	}
	if (v == HLB_RETRY)
		return hc_store_retry(e->store, r->row_id, r->attempts, due_wall, r->last_status, why);
	if ((v == HLB_DONE ? hc_store_ack(e->store, r->row_id)
			   : hc_store_bury(e->store, r->row_id, r->attempts, r->last_status, why)) < 0)
		return -1;
	return hc_durable_final(e->store, r);
}

/* A failed attempt: the sink's last error, and when its failures began. */
static void note_failure(struct hlb_instance *sink, const char *why)
{
	int64_t now = hc_wall_ms();
	char *copy = strdup(why);

	if (copy) {
		free(sink->last_error);
		sink->last_error = copy;
	}
	sink->last_error_wall_ms = now;
	if (!sink->failing_since_wall_ms)
		sink->failing_since_wall_ms = now;
}

static void deliver_finished(hlb_job *j)
{
	struct hlb_instance *sink = j->inst;
	hc_engine *e = j->e;

	int stored, results_lost = 0;

	/* Results before verdicts: a crash between the two delivers the
	 * records again, and their results come again under the same keys.
	 * Results that cannot be queued leave the verdicts unwritten. */
	if (j->pending && hc_batch_records(j->pending) &&
	    hc_batch_commit(e->store, sink, j->pending, accept_queued) < 0) {
		results_lost = 1;
		store_failed(e);
	}
	stored = !results_lost && hc_store_begin_lazy(e->store) == 0;
	sink->delivering = 0;
	for (size_t i = 0; i < j->n; i++) {
		hlb_record *r = j->batch[i];
		int v = j->verdicts[i];
		const char *why = j->reasons[i] ? j->reasons[i] : "";

		if (v == HLB_DONE) {
			sink->delivered++;
			sink->failing_since_wall_ms = 0;
			count(e, "hlbridge_sink_records_delivered_total", "Records a sink delivered",
			      "sink", sink->sec->label, 1);
			if (stored && store_outcome(e, sink, r, HLB_DONE, 0, NULL) < 0)
				stored = 0;
			hc_record_free(r);
			continue;
		}
		r->attempts++;
		if (!*why)
			why = v < 0 ? "no verdict from the sink" : hc_host_table()->strerror(j->rc);
		note_failure(sink, why);
		if (v == HLB_FAILED || r->attempts > (unsigned)sink->retry.limit) {
			sink->failed++;
			sink->last_dead_wall_ms = hc_wall_ms();
			count(e, "hlbridge_sink_records_dead_total",
			      "Records a sink gave up on (now in the dead-letter queue)", "sink",
			      sink->sec->label, 1);
			e->record_failures++;
			hc_log(sink->sec->label, HLB_LOG_ERROR,
			       "record %s failed after %u attempt%s%s: %s; it is in the dead-letter queue",
			       r->key, r->attempts, r->attempts == 1 ? "" : "s",
			       v == HLB_FAILED ? "" : " (retry_limit reached)", why);
			if (stored && store_outcome(e, sink, r, HLB_FAILED, 0, why) < 0)
				stored = 0;
			hc_record_free(r);
			continue;
		}
		hc_log(sink->sec->label, HLB_LOG_WARN, "record %s will be retried (attempt %u of %lld)%s: %s",
		       r->key, r->attempts + 1, (long long)sink->retry.limit + 1,
		       r->retry_after_ms ? " as the destination asked (Retry-After)" : "", why);
		int64_t due = park_for_retry(sink, r);
		if (stored && store_outcome(e, sink, r, HLB_RETRY, due, why) < 0)
			stored = 0;
	}
	/* A lost outcome only means a redelivery after a restart. */
	if (results_lost) {
		hc_log(sink->sec->label, HLB_LOG_ERROR, "the results of a delivery could not be queued; "
		       "its records will be delivered again after a restart");
	} else if (!stored || hc_store_commit(e->store) < 0) {
		hc_log(sink->sec->label, HLB_LOG_ERROR, "cannot record delivery outcomes: %s; "
		       "those records will be delivered again after a restart", hc_store_error(e->store));
		hc_store_rollback(e->store);
		stored = 0;
	}
	/* checkpoints the outcomes completed: kept until their write is in */
	for (size_t i = 0; i < e->g->ninst; i++)
		if (e->g->inst[i]->role == HLB_CAP_SOURCE)
			hc_durable_settle(e->g->inst[i], stored);
	load_backlog(sink);
	if (sink->q_len)
		schedule_flush(sink);
	wake_sources(e);
	maybe_done(e);
}

static void flush(void *arg)
{
	struct hlb_instance *sink = arg;
	hc_engine *e = sink->engine;
	size_t n = sink->q_len < sink->batch ? sink->q_len : sink->batch;
	hlb_job *j;

	sink->flush_timer = NULL;
	if (sink->delivering || n == 0 || e->reloading)
		return;
	j = job_new(e, JOB_DELIVER, sink);
	if (j) {
		j->batch = calloc(n, sizeof(*j->batch));
		j->verdicts = malloc(n);
		j->reasons = calloc(n, sizeof(*j->reasons));
	}
	if (!j || !j->batch || !j->verdicts || !j->reasons) {
		if (j) {
			j->refs = 1;
			job_unref(j);
		}
		hc_log(sink->sec->label, HLB_LOG_ERROR, "out of memory; delivery will be tried again");
		sink->flush_timer = hc_timer_start(e->loop, 1000, 0, flush, sink);
		return;
	}
	memset(j->verdicts, -1, n);
	for (size_t i = 0; i < n; i++) {
		hlb_record *r = sink->q_head;

		sink->q_head = r->next;
		r->next = NULL;
		j->batch[i] = r;
	}
	if (!sink->q_head)
		sink->q_tail = NULL;
	sink->q_len -= n;
	j->n = n;
	sink->delivering = 1;
	int rc = sink->mod->desc->deliver(sink->state, j);
	if (!j->finished && rc < 0)
		hc_job_finish(j, rc, NULL);
	job_unref(j);
}

static void schedule_flush(struct hlb_instance *sink)
{
	/* Deferred to the next loop turn so a poll's records form batches. */
	if (!sink->delivering && !sink->flush_timer)
		sink->flush_timer = hc_timer_start(sink->engine->loop, 0, 0, flush, sink);
}

/* ---- plugin state ------------------------------------------------------- */

struct json_object *hc_engine_state_get(hlb_instance *inst, const char *key)
{
	if (!inst || !inst->engine || !key)
		return NULL;
	return hc_state_latest(inst->engine->store, inst, key);
}

int hc_engine_state_put(hlb_instance *inst, hlb_job *job, const char *key, struct json_object *value)
{
	const char *json;
	int rc;

	if (!inst || !inst->engine || !key) {
		json_object_put(value);
		return HLB_EINVAL;
	}
	json = json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN);
	if (job && job->kind == JOB_POLL && !job->finished && job->inst == inst)
		rc = hc_state_stage(job->pending, inst, key, json);
	else if (job && job->kind == JOB_WEBHOOK && !job->finished && job->inst == inst)
		rc = wh_batch(inst) ? hc_state_stage(inst->wh_batch, inst, key, json) : -1;
	else
		rc = hc_state_put_now(inst->engine->store, inst, key, json);
	json_object_put(value);
	return rc < 0 ? HLB_EIO : HLB_OK;
}

/* ---- completion --------------------------------------------------------- */

static void check_finished(hlb_job *j, const char *message)
{
	hc_engine *e = j->e;

	if (j->rc < 0) {
		e->checks_failed++;
		hc_log(j->inst->sec->label, HLB_LOG_ERROR, "check failed: %s%s%s",
		       hc_host_table()->strerror(j->rc), message ? ": " : "", message ? message : "");
	} else {
		hc_log(j->inst->sec->label, HLB_LOG_INFO, "check passed%s%s", message ? ": " : "",
		       message ? message : "");
	}
	if (--e->checks_pending == 0)
		hc_loop_stop(e->loop);
}

/* ---- webhooks ------------------------------------------------------------ */

/* Queues the records of every webhook job of this loop turn, one
 * transaction per source, then answers the jobs that finished: group
 * commit, so a burst of deliveries costs a few disk syncs, not one each. */
static void wh_commit(void *arg)
{
	hc_engine *e = arg;
	int rc = HLB_OK;
	hlb_job *list = NULL;

	e->wh_timer = NULL;
	for (size_t i = 0; i < e->g->ninst; i++) {
		struct hlb_instance *src = e->g->inst[i];
		hc_batch *b = src->wh_batch;

		if (!b)
			continue;
		src->wh_batch = NULL;
		if (!e->store_failed && hc_batch_commit(e->store, src, b, accept_queued) < 0) {
			rc = HLB_EIO;
			store_failed(e);
		} else if (e->store_failed) {
			rc = HLB_EIO;
		}
		hc_batch_free(b);
	}
	/* oldest first, as they arrived */
	while (e->wh_waiting) {
		hlb_job *j = e->wh_waiting;

		e->wh_waiting = j->wh_next;
		j->wh_next = list;
		list = j;
	}
	while (list) {
		hlb_job *j = list;

		list = j->wh_next;
		wh_answer(j, j->rc < 0 ? j->rc : rc, j->wh_message);
		job_unref(j);
	}
	if (e->stopping && !e->freeing)
		maybe_done(e);
}

static void webhook_finished(hlb_job *j, const char *message)
{
	hc_engine *e = j->e;

	/* finished from fini() while the engine is freed: job_free answers */
	if (e->freeing)
		return;
	if (message && !(j->wh_message = strdup(message)))
		hc_log(j->inst->sec->label, HLB_LOG_WARN, "out of memory keeping a webhook's message");
	j->refs++; /* the list's */
	j->wh_next = e->wh_waiting;
	e->wh_waiting = j;
	if (!e->wh_timer)
		e->wh_timer = hc_timer_start(e->loop, 0, 0, wh_commit, e);
	if (!e->wh_timer)
		wh_commit(e);
}

int hc_engine_webhook(hc_engine *e, struct hlb_instance *src, const hlb_webhook *ev,
		      hc_webhook_done done, void *arg)
{
	hlb_job *j;
	int rc;

	/* A reload drains this engine while the next one waits: webhooks are
	 * still taken, and what they queue the next one reads from the store. */
	if ((e->stopping && !e->reloading) || e->store_failed)
		return HLB_ECANCELED;
	if (!(j = job_new(e, JOB_WEBHOOK, src)))
		return HLB_ENOMEM;
	j->wh_done = done;
	j->wh_arg = arg;
	e->wh_running++;
	rc = src->mod->desc->webhook(src->state, j, ev);
	if (!j->finished && rc < 0)
		hc_job_finish(j, rc, NULL);
	job_unref(j);
	return HLB_OK;
}

uint64_t hc_engine_queue_depth(hc_engine *e, struct hlb_instance *src)
{
	uint64_t most = 0;
	int64_t now = hc_now_ms();

	for (size_t i = 0; i < src->nreach; i++) {
		struct hlb_instance *sink = src->reach[i];
		uint64_t n = sink->q_len + sink->wait_len;

		if (sink->backlog && e->durable) {
			/* the store's count is a query: at most once a second */
			if (now - sink->depth_checked_ms >= 1000) {
				int64_t pending = 0, retrying = 0, dead = 0;

				if (hc_store_counts(e->store, sink->sec->name, &pending, &retrying, &dead) == 0)
					sink->stored_depth = (uint64_t)(pending + retrying);
				sink->depth_checked_ms = now;
			}
			if (sink->stored_depth > n)
				n = sink->stored_depth;
		}
		if (n > most)
			most = n;
	}
	return most;
}

struct hc_webhooks *hc_engine_webhooks(const hc_engine *e)
{
	return e->webhooks;
}

void hc_engine_set_metrics(hc_engine *e, struct hc_metrics *m)
{
	e->metrics = m;
}

struct hc_metrics *hc_engine_metrics(const hc_engine *e)
{
	return e ? e->metrics : NULL;
}

void hc_job_finish(hlb_job *j, int rc, const char *message)
{
	if (!j || j->finished || j->kind == JOB_PROCESS)
		return;
	j->finished = 1;
	j->rc = rc;
	if (message && j->kind != JOB_CHECK && j->kind != JOB_AUTH)
		hc_log(j->inst->sec->label, rc < 0 ? HLB_LOG_ERROR : HLB_LOG_DEBUG, "%s", message);
	switch (j->kind) {
	case JOB_POLL: poll_finished(j); break;
	case JOB_WEBHOOK: webhook_finished(j, message); break;
	case JOB_DELIVER: deliver_finished(j); break;
	case JOB_CHECK: check_finished(j, message); break;
	case JOB_AUTH:
		j->e->auth_rc = rc;
		free(j->e->auth_message);
		j->e->auth_message = message ? strdup(message) : NULL;
		hc_loop_stop(j->e->loop);
		break;
	case JOB_PROCESS: break;
	}
	job_unref(j);
}

static int sink_idle(const struct hlb_instance *s)
{
	return !s->delivering && s->q_len == 0 && s->wait_len == 0 && !s->backlog;
}

static int all_idle(hc_engine *e)
{
	/* a webhook accepted before the stop is answered before the end */
	if (e->wh_running || e->wh_timer)
		return 0;
	for (size_t i = 0; i < e->g->ninst; i++) {
		const struct hlb_instance *inst = e->g->inst[i];

		/* A source no route reads from is never polled: do not wait for it. */
		if (inst->role == HLB_CAP_SOURCE && inst->nroutes &&
		    (inst->polling || (e->once && !e->stopping && !inst->exhausted)))
			return 0;
		/* A reload hands queued records over through the store: only the
		 * deliveries under way must end. */
		if (inst->role == HLB_CAP_SINK && (e->reloading ? inst->delivering : !sink_idle(inst)))
			return 0;
	}
	return 1;
}

static void maybe_done(hc_engine *e)
{
	if ((e->once || e->stopping) && all_idle(e))
		hc_loop_stop(e->loop);
}

/* Records replayed from the dead-letter queue while running land in the
 * store only; look for them now and then. */
static void check_backlogs(void *arg)
{
	hc_engine *e = arg;

	if (e->stopping)
		return;
	for (size_t i = 0; i < e->g->ninst; i++)
		if (e->g->inst[i]->role == HLB_CAP_SINK) {
			e->g->inst[i]->backlog = 1;
			load_backlog(e->g->inst[i]);
		}
}

static void drain_expired(void *arg)
{
	hc_engine *e = arg;

	e->drain_timer = NULL;
	hc_log(NULL, HLB_LOG_WARN, "drain timeout reached; stopping with records still queued");
	hc_loop_stop(e->loop);
}

static void begin_stop(hc_engine *e);

static void on_signal(int sig, void *arg)
{
	hc_engine *e = arg;

	if (sig == SIGHUP) {
		/* The new configuration is loaded and started beside this one; only
		 * when it is good does this one drain and hand over. Queues live in
		 * the store by sink name, so unchanged routes keep theirs. */
		if (e->stopping || e->once || !e->reload) {
			hc_log(NULL, HLB_LOG_WARN, "SIGHUP ignored (%s)",
			       e->stopping ? "stopping" : e->once ? "--once" : "no configuration file to reload");
			return;
		}
		hc_log(NULL, HLB_LOG_INFO, "SIGHUP: reloading the configuration");
		if (e->reload(e->reload_arg) != 0) {
			hc_log(NULL, HLB_LOG_ERROR, "the new configuration is not valid (see above); "
			       "the running one stays");
			return;
		}
		e->reloading = 1;
		begin_stop(e);
		return;
	}
	if (e->stopping && e->reloading) {
		/* the drain under way ends this run instead of handing over */
		e->reloading = 0;
		hc_log(NULL, HLB_LOG_INFO, "signal %d during a reload: stopping instead; draining "
		       "in-flight records", sig);
		return;
	}
	if (e->stopping) {
		hc_log(NULL, HLB_LOG_WARN, "second signal: stopping now");
		hc_loop_stop(e->loop);
		return;
	}
	e->reloading = 0;
	hc_log(NULL, HLB_LOG_INFO, "signal %d: no new polls; draining in-flight records (up to %lld ms)",
	       sig, (long long)e->g->drain_timeout_ms);
	begin_stop(e);
}

void hc_engine_on_reload(hc_engine *e, int (*fn)(void *arg), void *arg)
{
	e->reload = fn;
	e->reload_arg = arg;
}

int hc_engine_reloading(const hc_engine *e)
{
	return e->reloading;
}

/* Stops polling and drains: records in flight get delivered (retries get
 * one last try) until every sink is idle or drain_timeout passes. */
static void begin_stop(hc_engine *e)
{
	e->stopping = 1;
	hc_http_wake(e->http); /* a stopping engine holds no answers */
	for (size_t i = 0; i < e->g->ninst; i++) {
		struct hlb_instance *inst = e->g->inst[i];

		if (inst->poll_timer) {
			hc_timer_stop(inst->poll_timer);
			inst->poll_timer = NULL;
		}
		inst->waiting_room = 0;
		/* Records waiting for a retry get one last try now, unless the
		 * next configuration takes them over from the store. */
		if (inst->retry_timer && !e->reloading) {
			hc_timer_stop(inst->retry_timer);
			release_retries(inst);
		}
	}
	e->drain_timer = hc_timer_start(e->loop, e->g->drain_timeout_ms, 0, drain_expired, e);
	maybe_done(e);
}

static void summary(hc_engine *e)
{
	for (size_t i = 0; i < e->g->ninst; i++) {
		struct hlb_instance *inst = e->g->inst[i];

		if (inst->role == HLB_CAP_SOURCE)
			hc_log(inst->sec->label, HLB_LOG_INFO, "%llu record%s from %llu poll%s",
			       (unsigned long long)inst->emitted, inst->emitted == 1 ? "" : "s",
			       (unsigned long long)inst->polls, inst->polls == 1 ? "" : "s");
		else if (inst->role == HLB_CAP_SINK) {
			char results[48] = "";

			/* a sink some route reads the results of */
			if (inst->nroutes)
				snprintf(results, sizeof(results), ", %llu results given",
					 (unsigned long long)inst->emitted);
			hc_log(inst->sec->label, HLB_LOG_INFO,
			       "%llu delivered, %llu failed, %llu retries, %zu left queued%s",
			       (unsigned long long)inst->delivered, (unsigned long long)inst->failed,
			       (unsigned long long)inst->retried, inst->q_len + inst->wait_len, results);
		}
		else
			hc_log(inst->sec->label, HLB_LOG_DEBUG, "%llu records dropped",
			       (unsigned long long)inst->dropped);
	}
}

int hc_engine_run(hc_engine *e, int once)
{
	size_t sources = 0;

	e->once = once;
	if (hc_loop_catch_signals(e->loop, on_signal, e) == 0)
		e->signals_caught = 1;
	/* What an earlier run left queued goes first. */
	for (size_t i = 0; i < e->g->ninst; i++)
		if (e->g->inst[i]->role == HLB_CAP_SINK) {
			e->g->inst[i]->backlog = 1;
			load_backlog(e->g->inst[i]);
		}
	if (!once)
		e->backlog_timer = hc_timer_start(e->loop, BACKLOG_CHECK_MS, BACKLOG_CHECK_MS, check_backlogs, e);
	for (size_t i = 0; i < e->g->ninst; i++) {
		struct hlb_instance *inst = e->g->inst[i];

		if (inst->role == HLB_CAP_SOURCE && inst->nroutes) {
			schedule_poll(inst, 0);
			sources++;
		}
	}
	hc_log(NULL, HLB_LOG_INFO, "running %zu source%s%s", sources, sources == 1 ? "" : "s",
	       once ? " once" : "");
	hc_loop_run(e->loop);
	if (e->drain_timer) {
		hc_timer_stop(e->drain_timer);
		e->drain_timer = NULL;
	}
	hc_timer_stop(e->backlog_timer);
	e->backlog_timer = NULL;
	summary(e);
	if (e->poll_errors || e->record_failures)
		hc_log(NULL, HLB_LOG_WARN, "%u poll error%s, %u failed record%s", e->poll_errors,
		       e->poll_errors == 1 ? "" : "s", e->record_failures, e->record_failures == 1 ? "" : "s");
	/* A daemon stopped by a signal has done its job; --once reports
	 * whether everything it read got through. */
	if (e->store_failed)
		return 1;
	return once && (e->poll_errors || e->record_failures) ? 1 : 0;
}

static void check_timeout(void *arg)
{
	hc_engine *e = arg;

	e->check_timer = NULL;
	for (hlb_job *j = e->live; j; j = j->live_next)
		if (j->kind == JOB_CHECK && !j->finished)
			hc_log(j->inst->sec->label, HLB_LOG_ERROR, "check did not finish in time");
	e->checks_failed += e->checks_pending;
	e->checks_pending = 0;
	hc_loop_stop(e->loop);
}

int hc_engine_check(hc_engine *e, int64_t timeout_ms)
{
	hlb_job **jobs = calloc(e->g->ninst + 1, sizeof(*jobs));
	size_t n = 0;

	if (!jobs)
		return 1;
	e->checks_failed = 0;
	e->checks_pending = 0;
	for (size_t i = 0; i < e->g->ninst; i++)
		if (e->g->inst[i]->inited && e->g->inst[i]->mod->desc->check)
			e->checks_pending++;
	for (size_t i = 0; i < e->g->ninst && e->checks_pending; i++) {
		struct hlb_instance *inst = e->g->inst[i];

		if (!inst->inited || !inst->mod->desc->check)
			continue;
		hlb_job *j = job_new(e, JOB_CHECK, inst);
		if (!j) {
			e->checks_failed++;
			e->checks_pending--;
			continue;
		}
		int rc = inst->mod->desc->check(inst->state, j);
		if (!j->finished && rc < 0)
			hc_job_finish(j, rc, NULL);
		jobs[n++] = j;
	}
	if (e->checks_pending > 0) {
		e->check_timer = hc_timer_start(e->loop, timeout_ms, 0, check_timeout, e);
		hc_loop_run(e->loop);
		hc_timer_stop(e->check_timer);
		e->check_timer = NULL;
	}
	/* Jobs still unfinished after a timeout stay owned by their plugin
	 * callbacks, which fini() cancels; drop only the caller's reference. */
	for (size_t i = 0; i < n; i++)
		job_unref(jobs[i]);
	free(jobs);
	return e->checks_failed;
}

static void free_chain(hlb_record *r)
{
	while (r) {
		hlb_record *next = r->next;

		hc_record_free(r);
		r = next;
	}
}

void hc_engine_free(hc_engine *e)
{
	if (!e)
		return;
	/* Webhooks already finished are queued and answered now. */
	if (e->wh_timer) {
		hc_timer_stop(e->wh_timer);
		wh_commit(e);
	}
	e->freeing = 1;
	/* A plugin that finishes its pending job from fini() must not start
	 * new polls or deliveries. */
	e->stopping = 1;
	/* credentials last: the others cancel their token calls in fini() */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < e->g->ninst; i++) {
			struct hlb_instance *inst = e->g->inst[i];

			if ((inst->role == HLB_CAP_AUTH) != (pass == 1))
				continue;
			if (inst->inited && inst->mod->desc->fini)
				inst->mod->desc->fini(inst->state);
			inst->inited = 0;
		}
	hc_auth_free_all(e);
	/* Jobs the plugins never finished: a delivery still owns its batch. */
	while (e->live) {
		hlb_job *j = e->live;

		if (!j->finished)
			for (size_t i = 0; i < j->n; i++)
				hc_record_free(j->batch[i]);
		job_free(j);
	}
	/* The loop outlives the engine: leave no timer or signal handler in it
	 * that points back here. */
	for (size_t i = 0; i < e->g->ninst; i++) {
		struct hlb_instance *inst = e->g->inst[i];

		hc_timer_stop(inst->poll_timer);
		hc_timer_stop(inst->retry_timer);
		hc_timer_stop(inst->flush_timer);
		inst->poll_timer = inst->retry_timer = inst->flush_timer = NULL;
		free_chain(inst->q_head);
		free_chain(inst->wait_head);
		inst->q_head = inst->q_tail = inst->wait_head = NULL;
		inst->q_len = inst->wait_len = 0;
		inst->delivering = inst->polling = inst->waiting_room = 0;
		hc_batch_free(inst->wh_batch);
		inst->wh_batch = NULL;
		free(inst->last_error);
		inst->last_error = NULL;
		hc_durable_forget(inst);
		hc_state_forget(inst);
	}
	for (size_t i = 0; i < e->g->nroutes; i++) {
		free(e->g->routes[i].minutes);
		e->g->routes[i].minutes = NULL;
	}
	hc_webhooks_free(e->webhooks);
	hc_timer_stop(e->drain_timer);
	hc_timer_stop(e->check_timer);
	hc_timer_stop(e->backlog_timer);
	if (e->signals_caught)
		hc_loop_catch_signals(e->loop, NULL, NULL);
	free(e->auth_message);
	free(e);
}

int hc_engine_auth_exchange(hc_engine *e, struct hlb_instance *inst, const char *code,
			    const char *redirect_uri, const char **message)
{
	hlb_job *j;
	int rc;

	*message = NULL;
	if (!inst->inited || !inst->mod->desc->auth_exchange)
		return HLB_EUNSUPPORTED;
	j = job_new(e, JOB_AUTH, inst);
	if (!j)
		return HLB_ENOMEM;
	e->auth_rc = HLB_EFAIL;
	/* job_new's two references: ours (dropped below) and finish()'s */
	rc = inst->mod->desc->auth_exchange(inst->state, j, code, redirect_uri);
	if (rc < 0 && !j->finished)
		hc_job_finish(j, rc, NULL);
	if (!j->finished)
		hc_loop_run(e->loop);
	rc = j->finished ? e->auth_rc : HLB_ECANCELED;
	job_unref(j);
	*message = e->auth_message;
	return rc;
}

hc_store *hc_engine_store(const hc_engine *e)
{
	return e->store;
}

int hc_engine_history_add(hlb_instance *inst, hlb_job *job, const char *scope, const char *object,
			  const char *change, int64_t time_ms, struct json_object *row)
{
	const char *json;
	int rc;

	if (!inst || !inst->engine || !scope || !object || !change) {
		json_object_put(row);
		return HLB_EINVAL;
	}
	json = row ? json_object_to_json_string_ext(row, JSON_C_TO_STRING_PLAIN) : "{}";
	if (job && job->kind == JOB_POLL && !job->finished && job->inst == inst)
		rc = hc_history_stage(job->pending, scope, object, change, time_ms, json);
	else if (job && job->kind == JOB_WEBHOOK && !job->finished && job->inst == inst)
		rc = wh_batch(inst) ? hc_history_stage(inst->wh_batch, scope, object, change, time_ms,
						       json) : -1;
	else
		rc = hc_store_history_add(inst->engine->store, inst->state_name, scope, object, change,
					  time_ms, json);
	json_object_put(row);
	return rc < 0 ? HLB_EIO : HLB_OK;
}
