/* The `octorate` connector: reservations of Octorate properties.
 *
 * As a source, each poll asks every configured accommodation for the
 * reservations modified in a window (GET /rest/v1/reservation/{acc},
 * type=MODIFIED_BETWEEN, dates in Rome time from the day before the last
 * committed poll to tomorrow, every page) and emits each new or changed
 * one once per change on stream "octorate.reservations" (see
 * octorate_record.h for the record and its dedup state). An accommodation
 * is a checkpoint of its own: its cursor and dedup entries are committed
 * once its records are delivered.
 *
 * The source also takes Octorate's reservation webhooks (RESERVATION_CREATED,
 * _CHANGE, _CANCELLED, _CONFIRMED; option `webhooks`): the delivery's
 * content is the reservation, built into the same record with the same
 * dedup entry as the poll's, so a change seen both ways is emitted once.
 * With `refetch = on` the reservation is read again by id first. The polls
 * stay, on their interval, as the reconcile of a lost delivery.
 *
 * As a sink, it annotates the reservations linked to a GHL contact
 * (host->link_find) with the contact's tags (a metaData entry "ghl_tags";
 * a record without `tags` leaves it alone) and appends its history to the
 * private notes, each line ending with a marker of the record, reading each
 * reservation first (PATCH replaces a field) and skipping a write that
 * would change nothing. A DELETE (a contact deleted in GHL) leaves the
 * reservations as they are. */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "hlbridge/hlbridge.h"
#include "octorate_client.h"
#include "octorate_record.h"
#include "../common/identity.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

#define PLUGIN "octorate"
#define DAY_MS 86400000LL
#define MAX_ACCOMMODATIONS 1000
#define MAX_PAGE 200
#define REASON_MAX 1024
#define META_KEY "ghl_tags"
#define META_LABEL "GHL tags"
#define MAX_HISTORY_LINES 200

static const hlb_option options[] = {
	{ "auth", HLB_OPT_AUTH, NULL, HLB_OPT_REQUIRED,
	  "the [auth:NAME] credential of the property (octorate_oauth)", "octorate_oauth" },
	{ "accommodation", HLB_OPT_LIST, NULL, HLB_OPT_REQUIRED,
	  "accommodation (property) ids the credential covers, comma-separated", NULL },
	{ "country", HLB_OPT_STRING, "IT", 0,
	  "source: region of phone numbers written without a country code (ISO 3166, e.g. IT)", NULL },
	{ "page_size", HLB_OPT_INT, "100", 0, "source: reservations per search request (1-200)", NULL },
	{ "lookback", HLB_OPT_DURATION, "2d", 0,
	  "source: the first poll reads reservations modified this long ago and later", NULL },
	{ "interval", HLB_OPT_DURATION, "5m", 0, "source: time between polls (with 10% jitter)", NULL },
	{ "rate", HLB_OPT_STRING, "100/5m", 0,
	  "calls per accommodation as COUNT/DURATION (Octorate's quota); X-RateLimit-Remaining corrects it",
	  NULL },
	{ "webhooks", HLB_OPT_BOOL, "on", 0,
	  "source: also take reservation webhooks (POST /webhooks/octorate/SECRET at [service] listen); "
	  "the polls reconcile what a lost delivery missed", NULL },
	{ "refetch", HLB_OPT_BOOL, "off", 0,
	  "source: re-read a webhook's reservation by id before emitting it (the delivery is only a hint)",
	  NULL },
	{ NULL, 0, NULL, 0, NULL, NULL }
};

struct octo;

/* ---- the source's poll -------------------------------------------------------------- */

struct poll {
	struct octo *o;
	hlb_job *job;
	size_t acc;             /* the accommodation at work */
	int64_t started_ms;
	octo_pager *pager;
	octo_call *call;        /* a check's request */
	json_object *seen;      /* reservation ids of this accommodation, this poll */
	size_t emitted, skipped, failed;
	uint64_t pages;         /* pages read, over every accommodation */
	char first_error[REASON_MAX];
};

/* ---- a webhook's delivery (one per job; several may be in flight) ----------------- */

struct hook {
	struct octo *o;
	struct hook *prev, *next;
	hlb_job *job;
	octo_call *call;        /* the refetch */
	char acc[OCTO_ID_MAX + 1];
	char id[72];
};

/* ---- the sink's delivery --------------------------------------------------------------- */

struct target {
	char acc[OCTO_ID_MAX + 1];
	char id[72];
	char object[200];
};

struct delivery {
	struct octo *o;
	hlb_job *job;
	size_t n, i;              /* records, the one at work */
	struct target *targets;   /* the reservations linked to record i */
	size_t ntargets, t;
	int started;              /* record i is set up */
	char *value;              /* the tags, joined; NULL: the record has none */
	char **lines;             /* history lines to append */
	size_t nlines;
	octo_call *call;
	json_object *patch;       /* the PATCH in flight */
	int patch_tags;           /* it writes ghl_tags (then remembered for the echo) */
	/* the outcome of record i so far */
	hlb_verdict verdict;
	long status;
	int64_t retry_after_ms;
	char reason[REASON_MAX];
	size_t patched, unchanged;
};

struct octo {
	const hlb_host *host;
	hlb_instance *inst;
	uint32_t role;
	octo_client *client;
	char *auth, *country;
	char **accs;
	size_t naccs;
	unsigned page_size;
	int64_t lookback_ms;
	int refetch;
	struct poll *poll;
	struct hook *hooks;     /* webhooks waiting for their refetch */
	struct delivery *delivery;
};

/* ---- options ------------------------------------------------------------------------- */

static void accs_free(struct octo *o)
{
	for (size_t i = 0; i < o->naccs; i++)
		free(o->accs[i]);
	free(o->accs);
	o->accs = NULL;
	o->naccs = 0;
}

static int parse_accs(struct octo *o, const char *list)
{
	const char *p = list, *s;
	size_t n;

	while ((s = ghl_list_next(&p, &n))) {
		char id[OCTO_ID_MAX + 2], **grown;

		snprintf(id, sizeof(id), "%.*s", (int)(n < sizeof(id) - 1 ? n : sizeof(id) - 1), s);
		if (n > OCTO_ID_MAX || !octo_id_ok(id)) {
			o->host->option_error(o->inst, "accommodation", "'%.*s' is not an accommodation id",
					      (int)(n > 80 ? 80 : n), s);
			return HLB_EINVAL;
		}
		if (o->naccs >= MAX_ACCOMMODATIONS) {
			o->host->option_error(o->inst, "accommodation", "more than %d accommodations",
					      MAX_ACCOMMODATIONS);
			return HLB_EINVAL;
		}
		grown = realloc(o->accs, (o->naccs + 1) * sizeof(*grown));
		if (!grown)
			return HLB_ENOMEM;
		o->accs = grown;
		if (!(o->accs[o->naccs] = strdup(id)))
			return HLB_ENOMEM;
		o->naccs++;
	}
	if (!o->naccs) {
		o->host->option_error(o->inst, "accommodation", "is empty: list the property ids");
		return HLB_EINVAL;
	}
	return HLB_OK;
}

static int covers(const struct octo *o, const char *acc, size_t len)
{
	for (size_t i = 0; i < o->naccs; i++)
		if (strlen(o->accs[i]) == len && strncmp(o->accs[i], acc, len) == 0)
			return 1;
	return 0;
}

static void octo_free(struct octo *o);

static int load_options(struct octo *o)
{
	const hlb_host *host = o->host;
	hlb_instance *inst = o->inst;
	const char *country = host->option(inst, "country");
	const char *rate = host->option(inst, "rate");
	int64_t page = host->option_int(inst, "page_size", 100);
	uint32_t rate_max = OCTO_RATE_MAX;
	int64_t rate_ms = OCTO_RATE_MS;
	int bad = 0, rc;

	rc = parse_accs(o, host->option(inst, "accommodation"));
	if (rc == HLB_ENOMEM)
		return rc;
	bad += rc != HLB_OK;
	if (page < 1 || page > MAX_PAGE) {
		host->option_error(inst, "page_size", "must be from 1 to %d (got %" PRId64 ")", MAX_PAGE, page);
		bad++;
	}
	o->page_size = (unsigned)page;
	o->lookback_ms = host->option_ms(inst, "lookback", 2 * DAY_MS);
	o->refetch = host->option_bool(inst, "refetch", 0);
	if (o->lookback_ms < 0 || o->lookback_ms > 3660 * DAY_MS) {
		host->option_error(inst, "lookback", "must be from 0 to 3660d");
		bad++;
	}
	if (!country || !identity_region_known(country)) {
		host->option_error(inst, "country", "'%s' is not a known ISO 3166 country code (such as IT)",
				   country ? country : "");
		bad++;
	}
	if (rate && octo_parse_rate(rate, &rate_max, &rate_ms) < 0) {
		host->option_error(inst, "rate", "expected COUNT/DURATION such as 100/5m");
		bad++;
	} else if (rate_max > OCTO_RATE_LIMIT_COUNT || rate_ms > OCTO_RATE_LIMIT_MS) {
		/* the host's pacing would refuse it, and the calls go unpaced */
		host->option_error(inst, "rate", "'%s': hlbridge paces at most %u calls per at most 7d", rate,
				   OCTO_RATE_LIMIT_COUNT);
		bad++;
	}
	if (bad)
		return HLB_EINVAL;
	o->auth = strdup(host->option(inst, "auth"));
	o->country = strdup(country);
	if (!o->auth || !o->country)
		return HLB_ENOMEM;
	o->client = octo_client_new(host, inst, PLUGIN, o->auth, rate_max, rate_ms);
	return o->client ? HLB_OK : HLB_ENOMEM;
}

/* Webhooks add to the polls: a host without them (before ABI 1.4) or one
 * that refuses the subscription still polls. */
static int subscribe(struct octo *o)
{
	static const char *const types[] = {
		"RESERVATION_CREATED", "RESERVATION_CHANGE", "RESERVATION_CANCELLED", "RESERVATION_CONFIRMED", NULL
	};
	const hlb_host *host = o->host;
	int rc;

	if (!HLB_HOST_HAS(host, webhook_subscribe) || !host->webhook_subscribe) {
		host->log(o->inst, HLB_LOG_DEBUG, "this hlbridge takes no webhooks: polling only");
		return HLB_OK;
	}
	for (size_t i = 0; types[i]; i++) {
		rc = host->webhook_subscribe(o->inst, "octorate", types[i]);
		if (rc == HLB_ENOMEM)
			return rc;
		if (rc != HLB_OK) {
			host->log(o->inst, HLB_LOG_WARN, "webhooks of type %s: %s; polling only", types[i],
				  host->strerror(rc));
			return HLB_OK;
		}
	}
	return HLB_OK;
}

static int octo_init(const hlb_host *host, hlb_instance *inst, uint32_t role, void **state)
{
	struct octo *o;
	int rc;

	*state = NULL;
	if (!HLB_HOST_HAS(host, history_add) || !host->auth_token) {
		host->log(inst, HLB_LOG_ERROR, "octorate needs hlbridge with credential support (ABI 1.1)");
		return HLB_EUNSUPPORTED;
	}
	if (role == HLB_CAP_SINK && !HLB_HOST_HAS(host, link_find)) {
		host->log(inst, HLB_LOG_ERROR, "the octorate sink needs hlbridge with links (ABI 1.3); this host "
			  "is %u.%u", host->abi_major, host->abi_minor);
		return HLB_EUNSUPPORTED;
	}
	o = calloc(1, sizeof(*o));
	if (!o)
		return HLB_ENOMEM;
	o->host = host;
	o->inst = inst;
	o->role = role;
	rc = load_options(o);
	if (rc == HLB_OK && role == HLB_CAP_SOURCE && host->option_bool(inst, "webhooks", 1))
		rc = subscribe(o);
	if (rc != HLB_OK) {
		octo_free(o);
		return rc;
	}
	*state = o;
	return HLB_OK;
}

/* ---- the source ------------------------------------------------------------------------- */

static void poll_next(struct poll *p);

static void poll_free(struct poll *p)
{
	if (!p)
		return;
	octo_pager_cancel(p->pager);
	octo_call_cancel(p->call);
	json_object_put(p->seen);
	if (p->o->poll == p)
		p->o->poll = NULL;
	free(p);
}

static void poll_finish(struct poll *p, int rc, const char *msg)
{
	const hlb_host *host = p->o->host;
	hlb_job *job = p->job;

	poll_free(p);
	host->finish(job, rc, msg);
}

static int on_res_page(void *arg, struct json_object *items)
{
	struct poll *p = arg;
	struct octo *o = p->o;
	const char *acc = o->accs[p->acc];
	size_t n = json_object_array_length(items);

	for (size_t i = 0; i < n; i++) {
		json_object *res = json_object_array_get_idx(items, i), *id;
		char idt[72];
		int rc;

		if (!json_object_object_get_ex(res, "id", &id) || octo_id_text(id, idt, sizeof(idt)) != 0) {
			o->host->log(o->inst, HLB_LOG_WARN, "accommodation %s: skipping a reservation without a "
				     "usable id", acc);
			continue;
		}
		/* the list may shift between pages: a reservation once per poll */
		if (json_object_object_get_ex(p->seen, idt, NULL))
			continue;
		json_object_object_add(p->seen, idt, NULL);
		rc = octo_res_emit(o->host, o->inst, p->job, acc, res, o->country);
		if (rc < 0)
			return rc;
		if (rc > 0)
			p->emitted++;
		else
			p->skipped++;
	}
	/* the pager does not hand on the answer's totalPages: the total is unknown */
	p->pages++;
	if (HLB_HOST_HAS(o->host, progress) && o->host->progress)
		o->host->progress(p->job, p->emitted + p->skipped, 0, p->pages);
	return HLB_OK;
}

static void on_res_done(void *arg, const octo_reply *reply)
{
	struct poll *p = arg;
	struct octo *o = p->o;
	const char *acc = o->accs[p->acc];
	char key[OCTO_ID_MAX + 16];
	json_object *cur;

	p->pager = NULL;
	if (reply->rc != HLB_OK) {
		p->failed++;
		o->host->log(o->inst, HLB_LOG_ERROR, "accommodation %s: %s%s", acc, reply->error,
			     reply->needs_login ? "" : "; polled again next time");
		if (!p->first_error[0])
			snprintf(p->first_error, sizeof(p->first_error), "accommodation %s: %s", acc, reply->error);
	} else {
		/* The next window starts the day before this poll began. */
		snprintf(key, sizeof(key), "cursor:%s", acc);
		cur = json_object_new_object();
		if (cur)
			json_object_object_add(cur, "ms", json_object_new_int64(p->started_ms));
		if (!cur || o->host->state_put(o->inst, p->job, key, cur) != HLB_OK)
			o->host->log(o->inst, HLB_LOG_ERROR, "accommodation %s: the cursor was not saved", acc);
		if (HLB_HOST_HAS(o->host, checkpoint) && o->host->checkpoint(p->job) != HLB_OK)
			o->host->log(o->inst, HLB_LOG_ERROR, "accommodation %s: its checkpoint could not be queued",
				     acc);
	}
	p->acc++;
	poll_next(p);
}

/* The start of the window: the Rome day before the last committed poll, or
 * now - lookback for the first. */
static int64_t window_start(struct poll *p, const char *acc)
{
	struct octo *o = p->o;
	char key[OCTO_ID_MAX + 16];
	json_object *cur, *ms;
	int64_t start = p->started_ms - o->lookback_ms;

	snprintf(key, sizeof(key), "cursor:%s", acc);
	cur = o->host->state_get(o->inst, key);
	if (cur && json_object_object_get_ex(cur, "ms", &ms) && json_object_get_int64(ms) > 0)
		start = json_object_get_int64(ms) - DAY_MS;
	json_object_put(cur);
	return start;
}

static void poll_next(struct poll *p)
{
	struct octo *o = p->o;
	char path[256], from[16], to[16], msg[REASON_MAX + 128];
	const char *acc;

	if (p->acc >= o->naccs) {
		if (p->emitted || p->failed)
			o->host->log(o->inst, p->failed ? HLB_LOG_WARN : HLB_LOG_INFO, "poll: %zu accommodations: "
				     "%zu reservations emitted, %zu unchanged, %zu failed", o->naccs, p->emitted,
				     p->skipped, p->failed);
		if (p->failed) {
			snprintf(msg, sizeof(msg), "%zu of %zu accommodations failed (first: %s)", p->failed, o->naccs,
				 p->first_error);
			poll_finish(p, HLB_EFAIL, msg);
		} else {
			poll_finish(p, HLB_OK, NULL);
		}
		return;
	}
	acc = o->accs[p->acc];
	json_object_put(p->seen);
	p->seen = json_object_new_object();
	octo_rome_date(window_start(p, acc), from, sizeof(from));
	octo_rome_date(p->started_ms + DAY_MS, to, sizeof(to));
	snprintf(path, sizeof(path), "/rest/v1/reservation/%s?type=MODIFIED_BETWEEN&startDate=%s&endDate=%s",
		 acc, from, to);
	p->pager = p->seen ? octo_page(o->client, acc, path, o->page_size, OCTO_MAX_PAGES, on_res_page,
				       on_res_done, p) : NULL;
	if (!p->pager)
		poll_finish(p, HLB_ENOMEM, "out of memory");
}

/* A job's poll state (a check's too), or NULL with the job finished and
 * the reason in *rc: one at a time, or out of memory. */
static struct poll *poll_new(struct octo *o, hlb_job *job, int *rc)
{
	struct poll *p;

	if (o->poll) {
		o->host->finish(job, *rc = HLB_EINVAL, "a poll is already running");
		return NULL;
	}
	if (!(p = calloc(1, sizeof(*p)))) {
		o->host->finish(job, *rc = HLB_ENOMEM, "out of memory");
		return NULL;
	}
	p->o = o;
	p->job = job;
	p->started_ms = ghl_now_ms();
	o->poll = p; /* freed by fini if the job is still running */
	return p;
}

static int octo_poll(void *state, hlb_job *job)
{
	int rc = HLB_OK;
	struct poll *p = poll_new(state, job, &rc);

	if (p)
		poll_next(p);
	return rc;
}

static void on_check(void *arg, const octo_reply *reply)
{
	struct poll *p = arg;
	char msg[REASON_MAX + 128];
	json_object *name;

	p->call = NULL;
	if (reply->rc != HLB_OK) {
		poll_finish(p, reply->rc, reply->error);
		return;
	}
	snprintf(msg, sizeof(msg), "accommodation %s (%s) is readable with [auth:%s]", p->o->accs[0],
		 json_object_object_get_ex(reply->json, "name", &name) ? json_object_get_string(name) : "?",
		 p->o->auth);
	poll_finish(p, HLB_OK, msg);
}

static int octo_check(void *state, hlb_job *job)
{
	struct octo *o = state;
	int rc = HLB_OK;
	struct poll *p = poll_new(o, job, &rc);
	char path[128];

	if (!p)
		return rc;
	snprintf(path, sizeof(path), "/rest/v1/accommodation/%s", o->accs[0]);
	p->call = octo_request(o->client, o->accs[0], "GET", path, NULL, on_check, p);
	if (!p->call) {
		poll_finish(p, HLB_ENOMEM, "out of memory");
		return HLB_ENOMEM;
	}
	return HLB_OK;
}

/* ---- the sink -----------------------------------------------------------------------------
 *
 * run() works through the batch in a loop: a record either gets its
 * verdict at once (no contact, no link, nothing to write) or starts a
 * request and waits; the request's callback moves on and calls run()
 * again. Nothing calls back into the loop from inside it, so a batch of
 * any size takes no more stack than one record. */

static void record_clear(struct delivery *d)
{
	free(d->targets);
	d->targets = NULL;
	d->ntargets = d->t = 0;
	free(d->value);
	d->value = NULL;
	for (size_t i = 0; i < d->nlines; i++)
		free(d->lines[i]);
	free(d->lines);
	d->lines = NULL;
	d->nlines = 0;
	json_object_put(d->patch);
	d->patch = NULL;
	d->patch_tags = 0;
	d->started = 0;
	d->verdict = HLB_DONE;
	d->status = 0;
	d->retry_after_ms = 0;
	d->reason[0] = '\0';
}

static void delivery_free(struct delivery *d)
{
	if (!d)
		return;
	octo_call_cancel(d->call);
	record_clear(d);
	if (d->o->delivery == d)
		d->o->delivery = NULL;
	free(d);
}

/* The verdict of record i; the loop goes on with the next. */
static void record_end(struct delivery *d)
{
	const hlb_host *host = d->o->host;

	if (HLB_HOST_HAS(host, verdict_http) && host->verdict_http)
		host->verdict_http(d->job, d->i, d->verdict, d->verdict == HLB_DONE ? NULL : d->reason, d->status,
				   d->retry_after_ms);
	else
		host->verdict(d->job, d->i, d->verdict, d->verdict == HLB_DONE ? NULL : d->reason);
	record_clear(d);
	d->i++;
}

static void record_fail(struct delivery *d, hlb_verdict v, const char *fmt, ...) HLB_PRINTF(3, 4);

static void record_fail(struct delivery *d, hlb_verdict v, const char *fmt, ...)
{
	va_list ap;

	d->verdict = v;
	va_start(ap, fmt);
	vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
	va_end(ap);
	record_end(d);
}

/* A reservation's failure: the record's verdict is the worst so far (a
 * retry beats a failure: its redelivery rewrites only what changed). */
static void target_failed(struct delivery *d, const struct target *t, const octo_reply *r)
{
	hlb_verdict v = r->retryable || r->quota ? HLB_RETRY : HLB_FAILED;

	d->o->host->log(d->o->inst, HLB_LOG_WARN, "reservation %s/%s: %s", t->acc, t->id, r->error);
	if (d->verdict == HLB_DONE || (v == HLB_RETRY && d->verdict == HLB_FAILED)) {
		d->verdict = v;
		d->status = r->status;
		d->retry_after_ms = r->retry_after_ms;
		snprintf(d->reason, sizeof(d->reason), "reservation %s/%s: %s", t->acc, t->id, r->error);
	}
}

static void target_oom(struct delivery *d, const struct target *t)
{
	octo_reply r = { .rc = HLB_ENOMEM, .retryable = 1, .error = "out of memory" };

	target_failed(d, t, &r);
}

static void run(struct delivery *d);

static void on_patch(void *arg, const octo_reply *reply)
{
	struct delivery *d = arg;
	struct octo *o = d->o;
	struct target *t = &d->targets[d->t];
	json_object *fields;

	d->call = NULL;
	if (reply->rc != HLB_OK) {
		target_failed(d, t, reply);
	} else {
		d->patched++;
		/* what hlbridge wrote, for the GHL side's echo check */
		fields = d->patch_tags ? json_object_new_object() : NULL;
		if (fields) {
			json_object_object_add(fields, META_KEY, json_object_new_string(d->value));
			if (o->host->echo_put(o->inst, t->object, fields) != HLB_OK)
				o->host->log(o->inst, HLB_LOG_WARN, "reservation %s/%s: what was written could not "
					     "be remembered (its echo may come back)", t->acc, t->id);
		}
	}
	json_object_put(d->patch);
	d->patch = NULL;
	d->patch_tags = 0;
	d->t++;
	run(d);
}

/* The reservation's ghl_tags entry: its id (borrowed) and value. */
static void current_meta(json_object *res, json_object **id, const char **value)
{
	json_object *meta, *e, *k;
	size_t n;

	*id = NULL;
	*value = NULL;
	if (!json_object_object_get_ex(res, "metaData", &meta) || !json_object_is_type(meta, json_type_array))
		return;
	n = json_object_array_length(meta);
	for (size_t i = 0; i < n; i++) {
		e = json_object_array_get_idx(meta, i);
		if (!json_object_object_get_ex(e, "metaKey", &k) || !json_object_is_type(k, json_type_string) ||
		    strcmp(json_object_get_string(k), META_KEY) != 0)
			continue;
		json_object_object_get_ex(e, "id", id);
		*value = ghl_json_string(e, "value");
		return;
	}
}

/* The PATCH body, or NULL (nothing to change, or out of memory: *oom).
 * Plain idempotence: the tags are written when the reservation holds
 * another value, the notes when a history line is not there yet. */
static json_object *build_patch(struct delivery *d, json_object *res, int *oom)
{
	const hlb_record *rec = d->o->host->batch_record(d->job, d->i);
	json_object *meta_id, *patch, *list, *entry;
	const char *current;
	char *notes;
	int write_tags;

	*oom = 0;
	current_meta(res, &meta_id, &current);
	notes = octo_notes_append(ghl_json_string(res, "privateNotes"), (const char *const *)d->lines, d->nlines,
				  d->o->host->record_key(rec), d->o->host->record_time(rec), oom);
	if (*oom)
		return NULL;
	/* no entry reads as no tags: an empty entry is not written */
	write_tags = d->value && strcmp(current ? current : "", d->value) != 0;
	if (!write_tags && !notes)
		return NULL;
	patch = json_object_new_object();
	if (!patch) {
		free(notes);
		*oom = 1;
		return NULL;
	}
	if (write_tags) {
		list = json_object_new_array();
		entry = json_object_new_object();
		if (meta_id)
			json_object_object_add(entry, "id", json_object_get(meta_id));
		json_object_object_add(entry, "metaKey", json_object_new_string(META_KEY));
		json_object_object_add(entry, "labelText", json_object_new_string(META_LABEL));
		json_object_object_add(entry, "metaDataType", json_object_new_string("TEXT"));
		json_object_object_add(entry, "value", json_object_new_string(d->value));
		json_object_array_add(list, entry);
		json_object_object_add(patch, "metaData", list);
		d->patch_tags = 1;
	}
	if (notes) {
		json_object_object_add(patch, "privateNotes", json_object_new_string(notes));
		json_object_object_add(patch, "noteTime", json_object_new_boolean(1));
		free(notes);
	}
	return patch;
}

static json_object *find_res(json_object *answer, const char *id)
{
	json_object *data, *idv;
	char idt[72];
	size_t n;

	if (!json_object_object_get_ex(answer, "data", &data) || !json_object_is_type(data, json_type_array))
		return NULL;
	n = json_object_array_length(data);
	for (size_t i = 0; i < n; i++) {
		json_object *r = json_object_array_get_idx(data, i);

		if (json_object_object_get_ex(r, "id", &idv) && octo_id_text(idv, idt, sizeof(idt)) == 0 &&
		    strcmp(idt, id) == 0)
			return r;
	}
	return NULL;
}

static void on_read(void *arg, const octo_reply *reply)
{
	struct delivery *d = arg;
	struct octo *o = d->o;
	struct target *t = &d->targets[d->t];
	json_object *res;
	char path[256];
	int oom;

	d->call = NULL;
	res = reply->rc == HLB_OK ? find_res(reply->json, t->id) : NULL;
	if (reply->rc != HLB_OK) {
		target_failed(d, t, reply);
	} else if (!res) {
		octo_reply r = { .rc = HLB_ENOENT, .status = 404,
				 .error = "not found in the accommodation (deleted, or a link to a wrong id)" };

		target_failed(d, t, &r);
	} else if (!(d->patch = build_patch(d, res, &oom))) {
		if (oom)
			target_oom(d, t);
		else
			d->unchanged++;
	} else {
		snprintf(path, sizeof(path), "/rest/v1/reservation/%s/%s", t->acc, t->id);
		d->call = octo_request(o->client, t->acc, "PATCH", path, d->patch, on_patch, d);
		if (d->call)
			return;
		target_oom(d, t);
		json_object_put(d->patch);
		d->patch = NULL;
		d->patch_tags = 0;
	}
	d->t++;
	run(d);
}

/* "octorate:<acc>:reservation:<id>" of an accommodation this sink covers:
 * into t, 1; otherwise 0. */
static int parse_target(const struct octo *o, const char *obj, struct target *t)
{
	const char *acc, *rest, *id;
	size_t alen;

	if (!obj || strncmp(obj, "octorate:", 9) != 0)
		return 0;
	acc = obj + 9;
	rest = strchr(acc, ':');
	if (!rest || strncmp(rest, ":reservation:", 13) != 0)
		return 0;
	alen = (size_t)(rest - acc);
	id = rest + 13;
	if (!alen || alen > OCTO_ID_MAX || !covers(o, acc, alen) || !*id || strlen(id) >= sizeof(t->id) ||
	    strspn(id, "0123456789") != strlen(id))
		return 0;
	snprintf(t->acc, sizeof(t->acc), "%.*s", (int)alen, acc);
	snprintf(t->id, sizeof(t->id), "%s", id);
	snprintf(t->object, sizeof(t->object), "%s", obj);
	return 1;
}

static int add_line(struct delivery *d, const char *s)
{
	char **grown, *copy;

	if (!s || !*s || d->nlines >= MAX_HISTORY_LINES)
		return 0;
	grown = realloc(d->lines, (d->nlines + 1) * sizeof(*grown));
	if (!grown)
		return -1;
	d->lines = grown;
	if (!(copy = strdup(s)))
		return -1;
	/* one note line per entry: a line must not split in the notes */
	for (char *c = copy; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	d->lines[d->nlines++] = copy;
	return 0;
}

/* `history`: a string (one line per line) or an array of strings or
 * objects (one compact JSON line each). */
static int read_history(struct delivery *d, json_object *h)
{
	if (!h)
		return 0;
	if (json_object_is_type(h, json_type_string)) {
		char *text = strdup(json_object_get_string(h)), *save = NULL;
		int rc = 0;

		if (!text)
			return -1;
		for (char *l = strtok_r(text, "\r\n", &save); l && rc == 0; l = strtok_r(NULL, "\r\n", &save))
			rc = add_line(d, l);
		free(text);
		return rc;
	}
	if (json_object_is_type(h, json_type_array)) {
		size_t n = json_object_array_length(h);

		for (size_t i = 0; i < n; i++) {
			json_object *e = json_object_array_get_idx(h, i);
			const char *s = json_object_is_type(e, json_type_string) ? json_object_get_string(e)
					: json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN);

			if (e && add_line(d, s) < 0)
				return -1;
		}
	}
	return 0;
}

/* The tags (an array of strings) joined with ", ", into *out. 0, or -1
 * when out of memory. */
static int join_tags(json_object *tags, char **out)
{
	sb_buf b;
	size_t n = json_object_array_length(tags);

	sb_init(&b, 0);
	sb_add(&b, "", 0);
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(tags, i);

		if (!json_object_is_type(e, json_type_string))
			continue;
		if (b.len)
			sb_adds(&b, ", ");
		sb_adds(&b, json_object_get_string(e));
	}
	if (b.failed) {
		sb_free(&b);
		return -1;
	}
	*out = b.data;
	return 0;
}

/* The reservations linked to `obj` in the covered accommodations, into
 * d->targets. HLB_OK, or an error (the record's verdict given). */
static int find_targets(struct delivery *d, const char *obj)
{
	struct octo *o = d->o;
	json_object *links = o->host->link_find(o->inst, obj);
	int rc = HLB_OK;

	if (!links) {
		record_fail(d, HLB_RETRY, "the links of %s could not be read from the state store", obj);
		return HLB_EFAIL;
	}
	for (size_t i = 0; i < json_object_array_length(links) && rc == HLB_OK; i++) {
		json_object *l = json_object_array_get_idx(links, i);
		const char *ls = ghl_json_string(l, "left"), *rs = ghl_json_string(l, "right");
		struct target t, *grown;

		if (!ls || !rs || !parse_target(o, strcmp(ls, obj) == 0 ? rs : ls, &t))
			continue;
		grown = realloc(d->targets, (d->ntargets + 1) * sizeof(*grown));
		if (!grown) {
			/* never a DONE that skipped a reservation */
			record_fail(d, HLB_RETRY, "out of memory reading the links of %s", obj);
			rc = HLB_ENOMEM;
			break;
		}
		d->targets = grown;
		d->targets[d->ntargets++] = t;
	}
	json_object_put(links);
	return rc;
}

/* Sets up record i: 1 when it has reservations to write, 0 when it got its
 * verdict already. */
static int record_start(struct delivery *d)
{
	struct octo *o = d->o;
	const hlb_host *host = o->host;
	const hlb_record *rec = host->batch_record(d->job, d->i);
	json_object *body = host->record_body(rec), *tags = NULL;
	const char *loc = ghl_json_string(body, "locationId"), *cid = ghl_json_string(body, "contactId");
	const char *obj = ghl_json_string(body, "object");
	char own[300];

	d->started = 1;
	if (obj && strncmp(obj, "ghl:", 4) != 0)
		obj = NULL;
	if (!obj && loc && cid) {
		snprintf(own, sizeof(own), "ghl:%s:contact:%s", loc, cid);
		obj = own;
	}
	if (host->record_op(rec) == HLB_OP_DELETE) {
		/* a contact deleted in GHL: the booking stays as it is */
		host->log(o->inst, HLB_LOG_INFO, "%s was deleted in GHL: its reservations are left as they are",
			  obj ? obj : host->record_key(rec));
		record_end(d);
		return 0;
	}
	if (!obj) {
		record_fail(d, HLB_FAILED, "the record names no GHL contact (object, or locationId and contactId)");
		return 0;
	}
	/* no `tags` member (or null): the tags are not this record's news,
	 * ghl_tags stays as it is */
	json_object_object_get_ex(body, "tags", &tags);
	if (tags && !json_object_is_type(tags, json_type_array)) {
		record_fail(d, HLB_FAILED, "the record's tags are not an array");
		return 0;
	}
	if ((tags && join_tags(tags, &d->value) < 0) || read_history(d, json_object_object_get(body, "history")) < 0) {
		record_fail(d, HLB_RETRY, "out of memory");
		return 0;
	}
	if (!d->value && !d->nlines) {
		host->log(o->inst, HLB_LOG_DEBUG, "%s: the record has neither tags nor history: nothing to write",
			  obj);
		record_end(d);
		return 0;
	}
	if (find_targets(d, obj) != HLB_OK)
		return 0;
	if (!d->ntargets) {
		record_fail(d, HLB_FAILED, "no Octorate reservation is linked to GHL contact %s/%s",
			    loc ? loc : "?", cid ? cid : obj);
		return 0;
	}
	d->t = 0;
	return 1;
}

/* Starts the read of the current record's next reservation: 1 when a
 * request is in flight, 0 when the record has its verdict. */
static int target_step(struct delivery *d)
{
	char path[256];

	while (d->t < d->ntargets) {
		struct target *t = &d->targets[d->t];

		/* GET .../{acc}/{id} is deprecated: the search with ids[] reads one */
		snprintf(path, sizeof(path), "/rest/v1/reservation/%s?ids%%5B%%5D=%s", t->acc, t->id);
		d->call = octo_request(d->o->client, t->acc, "GET", path, NULL, on_read, d);
		if (d->call)
			return 1;
		target_oom(d, t);
		d->t++;
	}
	record_end(d);
	return 0;
}

/* Works through the records until one waits for an answer or all have
 * their verdict. */
static void run(struct delivery *d)
{
	while (d->i < d->n) {
		if (!d->started && !record_start(d))
			continue;
		if (target_step(d))
			return;
	}
	{
		const hlb_host *host = d->o->host;
		hlb_job *job = d->job;

		if (d->patched || d->unchanged)
			host->log(d->o->inst, HLB_LOG_DEBUG, "%zu reservations written, %zu already up to date",
				  d->patched, d->unchanged);
		delivery_free(d);
		host->finish(job, HLB_OK, NULL);
	}
}

static int octo_deliver(void *state, hlb_job *job)
{
	struct octo *o = state;
	struct delivery *d;

	if (o->delivery) {
		o->host->finish(job, HLB_EINVAL, "a delivery is already running");
		return HLB_EINVAL;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		o->host->finish(job, HLB_ENOMEM, "out of memory");
		return HLB_ENOMEM;
	}
	d->o = o;
	d->job = job;
	d->n = o->host->batch_size(job);
	d->verdict = HLB_DONE;
	o->delivery = d;
	run(d);
	return HLB_OK;
}

/* ---- webhooks ------------------------------------------------------------------------------
 *
 * A delivery's job ends with: HLB_OK (emitted, unchanged, or not this
 * instance's accommodation), HLB_EPARSE (no reservation in it: Octorate is
 * told to stop with a 406) or HLB_EIO and the like (it delivers again). */

static void hook_free(struct hook *h)
{
	if (!h)
		return;
	octo_call_cancel(h->call);
	GHL_LIST_DEL(h->o->hooks, h);
	free(h);
}

/* The record of reservation `res` of h->acc through the poll's path (the
 * same build and dedup entry); ends the job. */
static int hook_emit(struct octo *o, hlb_job *job, const char *acc, json_object *res)
{
	const hlb_host *host = o->host;
	int rc = octo_res_emit(host, o->inst, job, acc, res, o->country);
	char msg[256];

	if (rc < 0) {
		snprintf(msg, sizeof(msg), "accommodation %s: the reservation could not be emitted: %s", acc,
			 host->strerror(rc));
		host->finish(job, rc, msg);
		return rc;
	}
	host->finish(job, HLB_OK, rc > 0 ? "emitted" : "unchanged (already emitted)");
	return HLB_OK;
}

static void on_refetch(void *arg, const octo_reply *reply)
{
	struct hook *h = arg;
	struct octo *o = h->o;
	const hlb_host *host = o->host;
	hlb_job *job = h->job;
	char acc[OCTO_ID_MAX + 1], id[72], msg[REASON_MAX + 128];
	json_object *res;

	h->call = NULL;
	snprintf(acc, sizeof(acc), "%s", h->acc);
	snprintf(id, sizeof(id), "%s", h->id);
	/* h goes before finish(), as a poll's state does: finish may run anything */
	res = reply->rc == HLB_OK ? json_object_get(find_res(reply->json, id)) : NULL;
	hook_free(h);
	if (reply->rc != HLB_OK) {
		/* whatever the cause, a later delivery may succeed; the poll
		 * reconciles if it never does. The host logs the refusal. */
		snprintf(msg, sizeof(msg), "reservation %s/%s could not be read again: %s", acc, id, reply->error);
		host->finish(job, HLB_EIO, msg);
		return;
	}
	if (!res) {
		host->log(o->inst, HLB_LOG_WARN, "webhook: reservation %s/%s is not in its accommodation: ignored",
			  acc, id);
		host->finish(job, HLB_OK, "the reservation is not readable: ignored");
		return;
	}
	hook_emit(o, job, acc, res);
	json_object_put(res);
}

/* The delivery's reservation, a new reference. The host decoded `content`
 * already; only when its text holds integers beyond int64 (a 20-digit
 * refer) is it parsed again as the client parses an answer, keeping their
 * digits as text, so that both paths build the same record. NULL: none,
 * or out of memory (*oom). */
static json_object *hook_content(const hlb_webhook *ev, int *oom)
{
	json_object *content, *res = NULL;
	struct json_tokener *tok = NULL;
	size_t qlen = 0;
	char *quoted = NULL;

	*oom = 0;
	if (ev->envelope && json_object_object_get_ex(ev->envelope, "content", &content) &&
	    json_object_is_type(content, json_type_string))
		quoted = octo_quote_big_ints(json_object_get_string(content),
					     (size_t)json_object_get_string_len(content), &qlen, oom);
	if (*oom)
		return NULL;
	if (quoted) {
		res = ghl_parse_whole(&tok, quoted, qlen);
		if (tok)
			json_tokener_free(tok);
		free(quoted);
		if (res)
			return res;
	}
	return ev->body ? json_object_get(ev->body) : NULL;
}

/* Its id and accommodation.id as text: 0, or -1 when either is missing. */
static int hook_target(json_object *res, char *acc, size_t acclen, char *id, size_t idlen)
{
	json_object *a = NULL, *v = NULL, *aid = NULL;

	if (!res || !json_object_is_type(res, json_type_object) || !json_object_object_get_ex(res, "id", &v) ||
	    octo_id_text(v, id, idlen) != 0)
		return -1;
	if (!json_object_object_get_ex(res, "accommodation", &a) || !json_object_object_get_ex(a, "id", &aid) ||
	    octo_id_text(aid, acc, acclen) != 0 || !octo_id_ok(acc))
		return -1;
	return 0;
}

static int hook_refetch(struct octo *o, hlb_job *job, const char *acc, const char *id)
{
	struct hook *h = calloc(1, sizeof(*h));
	char path[256];

	if (!h) {
		o->host->finish(job, HLB_ENOMEM, "out of memory");
		return HLB_ENOMEM;
	}
	h->o = o;
	h->job = job;
	snprintf(h->acc, sizeof(h->acc), "%s", acc);
	snprintf(h->id, sizeof(h->id), "%s", id);
	GHL_LIST_ADD(o->hooks, h);
	/* as the sink reads one: the search by ids[] (GET .../{acc}/{id} is deprecated) */
	snprintf(path, sizeof(path), "/rest/v1/reservation/%s?ids%%5B%%5D=%s", acc, id);
	h->call = octo_request(o->client, acc, "GET", path, NULL, on_refetch, h);
	if (!h->call) {
		hook_free(h);
		o->host->finish(job, HLB_ENOMEM, "out of memory");
		return HLB_ENOMEM;
	}
	return HLB_OK;
}

static int octo_webhook(void *state, hlb_job *job, const hlb_webhook *ev)
{
	struct octo *o = state;
	const hlb_host *host = o->host;
	char acc[OCTO_ID_MAX + 1], id[72];
	json_object *res;
	int oom, rc;

	res = hook_content(ev, &oom);
	if (oom) {
		host->finish(job, HLB_ENOMEM, "out of memory");
		return HLB_ENOMEM;
	}
	if (hook_target(res, acc, sizeof(acc), id, sizeof(id)) != 0) {
		json_object_put(res);
		host->log(o->inst, HLB_LOG_DEBUG, "webhook %s (%s): the content is no reservation with an id and "
			  "accommodation.id", ev->id ? ev->id : "?", ev->type ? ev->type : "?");
		host->finish(job, HLB_EPARSE, "the content is no reservation with an id and accommodation.id");
		return HLB_EPARSE;
	}
	if (!covers(o, acc, strlen(acc))) {
		json_object_put(res);
		host->log(o->inst, HLB_LOG_DEBUG, "webhook %s: accommodation %s is not configured here: ignored",
			  ev->id ? ev->id : "?", acc);
		host->finish(job, HLB_OK, "not an accommodation of this source");
		return HLB_OK;
	}
	host->log(o->inst, HLB_LOG_DEBUG, "webhook %s: %s of reservation %s/%s", ev->id ? ev->id : "?",
		  ev->type ? ev->type : "?", acc, id);
	if (o->refetch) {
		json_object_put(res);
		return hook_refetch(o, job, acc, id);
	}
	rc = hook_emit(o, job, acc, res);
	json_object_put(res);
	return rc;
}

/* ---- teardown ------------------------------------------------------------------------------- */

static void octo_free(struct octo *o)
{
	if (!o)
		return;
	poll_free(o->poll);
	delivery_free(o->delivery);
	while (o->hooks)
		hook_free(o->hooks);
	octo_client_free(o->client);
	accs_free(o);
	free(o->auth);
	free(o->country);
	free(o);
}

static void octo_fini(void *state)
{
	octo_free(state);
}

const hlb_plugin HLB_PLUGIN_EXPORT(octorate) = {
	HLB_PLUGIN_HEADER,
	/* a poll never committed reads the same window again from the last
	 * committed cursor, and its dedup entries are committed with it */
	.caps = HLB_CAP_SOURCE | HLB_CAP_SINK | HLB_CAP_REPLAY,
	.name = PLUGIN,
	.version = PACKAGE_VERSION,
	.summary = "Octorate reservations: a source of new and changed ones, a sink annotating linked ones",
	.options = options,
	.init = octo_init,
	.check = octo_check,
	.poll = octo_poll,
	.deliver = octo_deliver,
	.fini = octo_fini,
	.webhook = octo_webhook,
};
