/* The `ghl_events` source: GoHighLevel webhook events as records.
 *
 * Each event of a type listed in `events` ("*": every type) that GHL posts
 * to hlbridge's listener ([service] listen, POST /webhooks/ghl; the host
 * checks its signature, age and webhookId) and that belongs to one of the
 * source's locations becomes one record: stream "ghl.events.<type>", key
 * "<locationId>:<object id>" (the webhookId when the event names no
 * object), op DELETE for *Delete events, body the event with source
 * "webhook" (the event's own `source`, where a contact came from, is kept
 * as `ghlSource`).
 *
 * Webhooks are hints, not the truth: payloads lack fields and one change
 * can send two events. So
 *  - with `refetch = on` the object is re-read through the API before the
 *    record is emitted (body.object, refetched: true); an object the API no
 *    longer knows (404) is emitted as the event has it (refetched: false),
 *    and a failure GHL may outlast (a 5xx, 429, the network) ends the
 *    event with HLB_EIO, which the host answers with 429 so that GHL
 *    delivers it again later;
 *  - the same change delivered twice (same type, object and payload but
 *    for webhookId and timestamp) within `dedup_window` is emitted once
 *    (a bounded memory of recent events, DEDUP_ENTRIES);
 *  - each poll (every `interval`, 1h by default) reconciles: it lists the
 *    contacts of each location changed since the last poll (POST
 *    /contacts/search on dateUpdated) and emits them as
 *    ghl.events.ContactUpdate records with source "poll", so that a lost
 *    delivery is still synced. The first poll only notes the time. Other
 *    types are not reconciled yet (their list endpoints come with the
 *    operations catalog). */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "hlbridge/hlbridge.h"
#include "ghl_client.h"
#include "ghl_webhook.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

#define PLUGIN "ghl_events"
#define MAX_TYPES 128
#define MAX_PAGE_SIZE 500
#define MAX_SEARCH_PAGES 10000
#define DEDUP_ENTRIES 4096
#define KEY_LEN 160

static const hlb_option options[] = {
	GHL_OPTION_AUTH,
	GHL_OPTION_LOCATION_ID,
	{ "events", HLB_OPT_LIST, NULL, HLB_OPT_REQUIRED,
	  "the event types taken (ContactCreate, OpportunityStageUpdate, ...), or * for every type", NULL },
	{ "refetch", HLB_OPT_BOOL, "off", 0,
	  "re-read each event's object through the API before emitting it", NULL },
	{ "reconcile", HLB_OPT_BOOL, "on", 0,
	  "each poll lists the contacts changed since the last one (lost deliveries)", NULL },
	{ "interval", HLB_OPT_DURATION, "1h", 0, "time between reconciling polls (with 10% jitter)", NULL },
	{ "dedup_window", HLB_OPT_DURATION, "60s", 0,
	  "one change delivered twice within this time is emitted once", NULL },
	{ "page_size", HLB_OPT_INT, "100", 0, "contacts per search request of a reconciling poll (1-500)", NULL },
	GHL_OPTION_CONCURRENCY,
	GHL_OPTION_BASE_URL,
	{ NULL, 0, NULL, 0, NULL, NULL }
};

struct refetch;

struct events {
	const hlb_host *host;
	hlb_instance *inst;
	ghl_client *client;      /* reconciling polls: retries as any poll */
	ghl_client *hook_client; /* refetches: no retries, the sender waits */
	char *auth, *locations;
	char **ids;              /* the locations (none when all) */
	size_t nids;
	int all_locations;
	char **types;            /* the event types (none when all) */
	size_t ntypes;
	int all_types;
	int refetch, reconcile;
	unsigned page_size;
	size_t concurrency;
	ghl_dedup *dedup;
	struct refetch *pending; /* refetches in flight */
	ghl_fanout *poll;
	size_t emitted;          /* by the poll running */
	uint64_t listed, pages;
};

/* ---- setup ---------------------------------------------------------------------- */

static int load_types(struct events *e)
{
	const char *p = e->host->option(e->inst, "events");
	const char *item;
	size_t len;
	char word[80], stream[128];

	while ((item = ghl_list_next(&p, &len))) {
		char **grown;

		snprintf(word, sizeof(word), "%.*s", (int)len, item);
		if (strcmp(word, "*") == 0) {
			e->all_types = 1;
			continue;
		}
		if (len >= sizeof(word) || ghl_event_stream(stream, sizeof(stream), word) != 0) {
			e->host->option_error(e->inst, "events", "'%.*s' is not an event type (a word such as "
					      "ContactCreate, or *)", (int)len, item);
			return HLB_EINVAL;
		}
		if (e->ntypes == MAX_TYPES) {
			e->host->option_error(e->inst, "events", "at most %d event types (or *)", MAX_TYPES);
			return HLB_EINVAL;
		}
		grown = realloc(e->types, (e->ntypes + 1) * sizeof(*grown));
		if (!grown)
			return HLB_ENOMEM;
		e->types = grown;
		if (!(e->types[e->ntypes] = strdup(word)))
			return HLB_ENOMEM;
		e->ntypes++;
	}
	if (!e->all_types && !e->ntypes) {
		e->host->option_error(e->inst, "events", "needs one or more event types, or *");
		return HLB_EINVAL;
	}
	return HLB_OK;
}

static int wanted_type(const struct events *e, const char *type)
{
	if (e->all_types)
		return 1;
	for (size_t i = 0; i < e->ntypes; i++)
		if (strcmp(e->types[i], type) == 0)
			return 1;
	return 0;
}

/* The reconciling poll lists contacts: worth it when Contact* events are taken. */
static int takes_contacts(const struct events *e)
{
	if (e->all_types)
		return 1;
	for (size_t i = 0; i < e->ntypes; i++)
		if (strncmp(e->types[i], "Contact", 7) == 0)
			return 1;
	return 0;
}

static int subscribe(struct events *e)
{
	const hlb_host *host = e->host;
	int rc = HLB_OK;

	if (!HLB_HOST_HAS(host, webhook_subscribe) || !host->webhook_subscribe) {
		host->log(e->inst, HLB_LOG_WARN, "this hlbridge takes no webhooks (ABI 1.4): only the reconciling "
			  "polls emit records");
		return HLB_OK;
	}
	if (e->all_types)
		rc = host->webhook_subscribe(e->inst, "ghl", "*");
	for (size_t i = 0; rc == HLB_OK && !e->all_types && i < e->ntypes; i++)
		rc = host->webhook_subscribe(e->inst, "ghl", e->types[i]);
	if (rc != HLB_OK)
		host->log(e->inst, HLB_LOG_ERROR, "the events could not be subscribed to: %s", host->strerror(rc));
	return rc;
}

static void events_free(struct events *e);

static int setup(struct events *e)
{
	const hlb_host *host = e->host;
	int64_t page = host->option_int(e->inst, "page_size", 100);
	char err[256];
	int rc;

	if (page < 1 || page > MAX_PAGE_SIZE) {
		host->option_error(e->inst, "page_size", "must be from 1 to %d (got %" PRId64 ")", MAX_PAGE_SIZE,
				   page);
		return HLB_EINVAL;
	}
	e->page_size = (unsigned)page;
	e->refetch = host->option_bool(e->inst, "refetch", 0);
	e->reconcile = host->option_bool(e->inst, "reconcile", 1);
	if ((rc = load_types(e)) != HLB_OK || (rc = ghl_location_option_check(host, e->inst)) != HLB_OK ||
	    (rc = ghl_concurrency_option(host, e->inst, &e->concurrency)) != HLB_OK)
		return rc;
	e->auth = strdup(host->option(e->inst, "auth"));
	e->locations = strdup(host->option(e->inst, "location_id"));
	if (!e->auth || !e->locations)
		return HLB_ENOMEM;
	rc = ghl_locations_parse(e->locations, &e->all_locations, &e->ids, &e->nids, err, sizeof(err));
	if (rc != HLB_OK)
		return rc;
	e->dedup = ghl_dedup_new(DEDUP_ENTRIES, host->option_ms(e->inst, "dedup_window", 60000));
	e->client = ghl_client_new(host, e->inst, PLUGIN, e->auth, host->option(e->inst, "base_url"));
	e->hook_client = ghl_client_new(host, e->inst, PLUGIN, e->auth, host->option(e->inst, "base_url"));
	if (!e->dedup || !e->client || !e->hook_client)
		return HLB_ENOMEM;
	ghl_client_set_retries(e->hook_client, 0, 0);
	return subscribe(e);
}

static int events_init(const hlb_host *host, hlb_instance *inst, uint32_t role, void **state)
{
	struct events *e;
	int rc;

	*state = NULL;
	if (role != HLB_CAP_SOURCE)
		return HLB_EUNSUPPORTED;
	rc = ghl_source_host_check(host, inst, PLUGIN);
	if (rc != HLB_OK)
		return rc;
	e = calloc(1, sizeof(*e));
	if (!e)
		return HLB_ENOMEM;
	e->host = host;
	e->inst = inst;
	rc = setup(e);
	if (rc != HLB_OK) {
		events_free(e);
		return rc;
	}
	*state = e;
	return HLB_OK;
}

/* ---- events ------------------------------------------------------------------------ */

/* An event waiting for its object to be re-read. */
struct refetch {
	struct events *e;
	hlb_job *job;
	ghl_call *call;
	json_object *event;      /* a copy: the host's is valid during the callback only */
	char *type;
	char *dedup_id;          /* what the dedup memory has it under */
	char stream[128], key[KEY_LEN], path[256];
	const char *member;
	int is_delete;
	int64_t when;
	struct refetch *prev, *next;
};

static void refetch_free(struct refetch *r)
{
	GHL_LIST_DEL(r->e->pending, r);
	ghl_call_cancel(r->call);
	json_object_put(r->event);
	free(r->type);
	free(r->dedup_id);
	free(r);
}

/* Emits the record of one event and ends its job. */
static int emit_event(struct events *e, hlb_job *job, json_object *event, const char *stream, const char *key,
		      int is_delete, int64_t when, json_object *fresh, int refetch_tried)
{
	json_object *body = ghl_event_body(event, "webhook", fresh, refetch_tried);
	hlb_record *rec = body ? e->host->record_new(stream, key, is_delete ? HLB_OP_DELETE : HLB_OP_UPSERT, when,
						     body) : NULL;
	int rc = rec ? e->host->emit(job, rec) : HLB_ENOMEM;

	if (rc != HLB_OK) {
		char msg[KEY_LEN + 64];

		snprintf(msg, sizeof(msg), "%s %s could not be emitted: %s", stream, key, e->host->strerror(rc));
		e->host->finish(job, rc, msg);
		return rc;
	}
	e->host->finish(job, HLB_OK, NULL);
	return HLB_OK;
}

static void on_refetch(void *arg, const ghl_reply *reply)
{
	struct refetch *r = arg;
	struct events *e = r->e;
	json_object *fresh = NULL;
	char msg[600];

	r->call = NULL;
	if (reply->rc == HLB_OK) {
		json_object_object_get_ex(reply->json, r->member, &fresh);
		if (!json_object_is_type(fresh, json_type_object))
			fresh = NULL;
	} else if (reply->retryable || reply->status >= 500 || reply->status == 0) {
		/* GHL delivers it again after a 429: the host's answer to HLB_EIO */
		ghl_dedup_forget(e->dedup, r->type, r->dedup_id, r->event);
		snprintf(msg, sizeof(msg), "%s: GET %s: %s; the sender is asked to deliver it again", r->stream,
			 r->path, reply->error);
		e->host->log(e->inst, HLB_LOG_WARN, "%s", msg);
		e->host->finish(r->job, HLB_EIO, msg);
		refetch_free(r);
		return;
	} else if (reply->status != 404) {
		e->host->log(e->inst, HLB_LOG_WARN, "%s %s: GET %s: %s%s; emitted as the event has it", r->stream,
			     r->key, r->path, reply->error, ghl_login_hint(reply->needs_login, reply->error));
	}
	emit_event(e, r->job, r->event, r->stream, r->key, r->is_delete, r->when, fresh, 1);
	refetch_free(r);
}

static int start_refetch(struct events *e, hlb_job *job, const hlb_webhook *ev, const ghl_event_ref *ref,
			 const ghl_refetch *rf, const char *stream, const char *key, const char *dedup_id)
{
	struct refetch *r = calloc(1, sizeof(*r));

	if (!r)
		return HLB_ENOMEM;
	r->e = e;
	r->job = job;
	r->member = rf->member;
	r->is_delete = ref->is_delete;
	r->when = ev->time_ms > 0 ? ev->time_ms : ghl_now_ms();
	snprintf(r->stream, sizeof(r->stream), "%s", stream);
	snprintf(r->key, sizeof(r->key), "%s", key);
	snprintf(r->path, sizeof(r->path), "%s", rf->path);
	r->type = strdup(ev->type);
	r->dedup_id = strdup(dedup_id);
	if (json_object_deep_copy(ev->body, &r->event, NULL) != 0)
		r->event = NULL;
	GHL_LIST_ADD(e->pending, r);
	if (r->type && r->dedup_id && r->event)
		r->call = ghl_request(e->hook_client, ref->location, "GET", rf->version, rf->path, NULL, on_refetch, r);
	if (!r->call) {
		refetch_free(r);
		return HLB_ENOMEM;
	}
	return HLB_OK;
}

static int ignore(struct events *e, hlb_job *job, const char *why)
{
	e->host->log(e->inst, HLB_LOG_DEBUG, "event ignored: %s", why);
	e->host->finish(job, HLB_OK, why);
	return HLB_OK;
}

static int events_webhook(void *state, hlb_job *job, const hlb_webhook *ev)
{
	struct events *e = state;
	ghl_event_ref ref;
	ghl_refetch rf;
	char stream[128], key[KEY_LEN];
	const char *dedup_id;
	int rc;

	if (!ev->type || !wanted_type(e, ev->type))
		return ignore(e, job, "an event type this source does not take");
	if (!json_object_is_type(ev->body, json_type_object) || ghl_event_stream(stream, sizeof(stream), ev->type)) {
		e->host->finish(job, HLB_EPARSE, "the event has no usable type or is not a JSON object");
		return HLB_EPARSE;
	}
	ghl_event_ref_of(ev->body, ev->type, &ref);
	if (!ghl_location_listed(e->ids, e->nids, e->all_locations, ref.location))
		return ignore(e, job, "an event of another location");
	if (ghl_event_key(key, sizeof(key), &ref, ev->id) != 0) {
		e->host->finish(job, HLB_EPARSE, "the event's locationId or object id is too long");
		return HLB_EPARSE;
	}
	dedup_id = ref.id ? ref.id : ev->id ? ev->id : "";
	rc = ghl_dedup_check(e->dedup, ev->type, dedup_id, ev->body, ghl_now_ms());
	if (rc == 1)
		return ignore(e, job, "the same change was delivered a moment ago");
	if (e->refetch && ghl_refetch_of(&ref, &rf)) {
		rc = start_refetch(e, job, ev, &ref, &rf, stream, key, dedup_id);
		if (rc != HLB_OK) {
			ghl_dedup_forget(e->dedup, ev->type, dedup_id, ev->body);
			e->host->finish(job, rc, "the object could not be re-read (out of memory)");
		}
		return rc;
	}
	rc = emit_event(e, job, ev->body, stream, key, ref.is_delete, ev->time_ms > 0 ? ev->time_ms : ghl_now_ms(),
			NULL, e->refetch);
	if (rc != HLB_OK)
		ghl_dedup_forget(e->dedup, ev->type, dedup_id, ev->body);
	return rc;
}

/* ---- the reconciling poll ----------------------------------------------------------- */

struct rloc {
	ghl_fanout_loc head;     /* first: the run's part */
	ghl_call *call;
	int64_t since;           /* contacts updated after this (ms) are listed */
	int64_t newest;          /* the latest dateUpdated listed */
	json_object *after;      /* searchAfter of the next page, or NULL */
	unsigned page, pages;
	uint64_t seen;
};

static struct events *events_of(const struct rloc *l)
{
	return l->head.fanout->spec.arg;
}

static void rloc_clear(ghl_fanout_loc *head)
{
	struct rloc *l = (struct rloc *)head;

	ghl_call_cancel(l->call);
	l->call = NULL;
	json_object_put(l->after);
	l->after = NULL;
}

static void poll_end(ghl_fanout *f)
{
	struct events *e = f->spec.arg;
	char msg[GHL_FANOUT_ERROR_LEN + 128];

	if (e->emitted || f->failed)
		e->host->log(e->inst, f->failed ? HLB_LOG_WARN : HLB_LOG_INFO, "reconcile: %zu locations: %zu "
			     "contacts changed, %zu locations failed", f->n, e->emitted, f->failed);
	if (f->failed) {
		snprintf(msg, sizeof(msg), "%zu of %zu locations failed (first: %s); they are reconciled again next "
			 "time", f->failed, f->n, f->first_error);
		ghl_fanout_finish(f, HLB_EFAIL, msg);
		return;
	}
	ghl_fanout_finish(f, HLB_OK, NULL);
}

/* Saves how far the location got, with its records. */
static void rloc_end(struct rloc *l, int64_t mark)
{
	struct events *e = events_of(l);
	hlb_job *job = l->head.fanout->job;
	char key[KEY_LEN];

	snprintf(key, sizeof(key), "hwm:%s", l->head.id);
	if (e->host->state_put(e->inst, job, key, json_object_new_int64(mark)) != HLB_OK)
		e->host->log(e->inst, HLB_LOG_ERROR, "location %s: the reconcile mark was not saved; the same "
			     "contacts will be listed again", l->head.id);
	if (HLB_HOST_HAS(e->host, checkpoint) && e->host->checkpoint(job) != HLB_OK)
		e->host->log(e->inst, HLB_LOG_ERROR, "location %s: its checkpoint could not be queued", l->head.id);
	ghl_fanout_done(&l->head, NULL);
}

static int emit_contact(struct rloc *l, json_object *contact)
{
	struct events *e = events_of(l);
	const char *id = ghl_json_string(contact, "id");
	int64_t updated = ghl_parse_time(ghl_json_string(contact, "dateUpdated"));
	json_object *event = NULL, *body;
	char key[KEY_LEN];
	hlb_record *rec;

	if (!id || !*id || ghl_record_key(key, sizeof(key), l->head.id, id) != 0)
		return HLB_OK; /* no usable id: nothing to key a record by */
	if (json_object_deep_copy(contact, &event, NULL) != 0)
		return HLB_ENOMEM;
	json_object_object_del(event, "searchAfter");
	json_object_object_add(event, "type", json_object_new_string("ContactUpdate"));
	json_object_object_add(event, "locationId", json_object_new_string(l->head.id));
	body = ghl_event_body(event, "poll", NULL, 0);
	json_object_put(event);
	rec = body ? e->host->record_new("ghl.events.ContactUpdate", key, HLB_OP_UPSERT,
					 updated >= 0 ? updated : l->head.fanout->started_ms, body) : NULL;
	if (!rec || e->host->emit(l->head.fanout->job, rec) != HLB_OK)
		return HLB_EFAIL;
	if (updated > l->newest)
		l->newest = updated;
	e->emitted++;
	return HLB_OK;
}

static void search_next(struct rloc *l);

static void on_search(void *arg, const ghl_reply *reply)
{
	struct rloc *l = arg;
	struct events *e = events_of(l);
	json_object *list = ghl_json_at(reply->json, "contacts"), *total = ghl_json_at(reply->json, "total");
	json_object *after = NULL;
	size_t n;

	l->call = NULL;
	if (reply->rc != HLB_OK) {
		ghl_fanout_done(&l->head, reply);
		return;
	}
	if (!json_object_is_type(list, json_type_array)) {
		ghl_fanout_fail(&l->head, HLB_EPARSE, "POST /contacts/search for location %s: the answer has no "
				"contacts array", l->head.id);
		return;
	}
	n = json_object_array_length(list);
	for (size_t i = 0; i < n; i++)
		if (emit_contact(l, json_object_array_get_idx(list, i)) != HLB_OK) {
			ghl_fanout_fail(&l->head, HLB_EFAIL, "location %s: a changed contact could not be emitted",
					l->head.id);
			return;
		}
	l->seen += n;
	e->listed += n;
	e->pages++;
	if (HLB_HOST_HAS(e->host, progress) && e->host->progress)
		e->host->progress(l->head.fanout->job, e->listed, 0, e->pages);
	if (n < e->page_size || (json_object_is_type(total, json_type_int) &&
				 l->seen >= (uint64_t)json_object_get_int64(total))) {
		rloc_end(l, l->newest > l->since ? l->newest : l->since);
		return;
	}
	if (l->pages >= MAX_SEARCH_PAGES) {
		ghl_fanout_fail(&l->head, HLB_ETOOBIG, "location %s: more than %d pages of changed contacts",
				l->head.id, MAX_SEARCH_PAGES);
		return;
	}
	json_object_put(l->after);
	l->after = NULL;
	if (json_object_object_get_ex(json_object_array_get_idx(list, n - 1), "searchAfter", &after) &&
	    json_object_is_type(after, json_type_array))
		l->after = json_object_get(after);
	l->page++;
	search_next(l);
}

/* POST /contacts/search {locationId, pageLimit, filters: dateUpdated > since,
 * sort: dateUpdated ascending, page | searchAfter} */
static void search_next(struct rloc *l)
{
	struct events *e = events_of(l);
	json_object *body = json_object_new_object(), *filters, *filter, *range, *sort, *by;

	if (!body) {
		ghl_fanout_fail(&l->head, HLB_ENOMEM, "out of memory");
		return;
	}
	filters = json_object_new_array();
	filter = json_object_new_object();
	range = json_object_new_object();
	sort = json_object_new_array();
	by = json_object_new_object();
	json_object_object_add(range, "gt", json_object_new_int64(l->since));
	json_object_object_add(filter, "field", json_object_new_string("dateUpdated"));
	json_object_object_add(filter, "operator", json_object_new_string("range"));
	json_object_object_add(filter, "value", range);
	json_object_array_add(filters, filter);
	json_object_object_add(by, "field", json_object_new_string("dateUpdated"));
	json_object_object_add(by, "direction", json_object_new_string("asc"));
	json_object_array_add(sort, by);
	json_object_object_add(body, "locationId", json_object_new_string(l->head.id));
	json_object_object_add(body, "pageLimit", json_object_new_int((int)e->page_size));
	json_object_object_add(body, "filters", filters);
	json_object_object_add(body, "sort", sort);
	if (l->after)
		json_object_object_add(body, "searchAfter", json_object_get(l->after));
	else
		json_object_object_add(body, "page", json_object_new_int((int)l->page));
	l->pages++;
	l->call = ghl_request(e->client, l->head.id, "POST", GHL_VERSION, "/contacts/search", body, on_search, l);
	json_object_put(body);
	if (!l->call)
		ghl_fanout_fail(&l->head, HLB_ENOMEM, "POST /contacts/search: could not be started (out of memory)");
}

static void rloc_start(ghl_fanout_loc *head)
{
	struct rloc *l = (struct rloc *)head;
	struct events *e = events_of(l);
	char key[KEY_LEN];
	json_object *mark;

	snprintf(key, sizeof(key), "hwm:%s", l->head.id);
	mark = e->host->state_get(e->inst, key);
	if (!json_object_is_type(mark, json_type_int)) {
		/* The first poll: what changed before it is no lost delivery. */
		json_object_put(mark);
		e->host->log(e->inst, HLB_LOG_INFO, "location %s: contacts changed from now on are reconciled",
			     l->head.id);
		rloc_end(l, l->head.fanout->started_ms);
		return;
	}
	l->since = l->newest = json_object_get_int64(mark);
	json_object_put(mark);
	l->page = 1;
	search_next(l);
}

static void on_check(void *arg, const ghl_reply *reply)
{
	struct rloc *l = arg;
	ghl_fanout *f = l->head.fanout;
	struct events *e = f->spec.arg;
	char msg[GHL_FANOUT_ERROR_LEN + 200];

	l->call = NULL;
	if (reply->rc != HLB_OK)
		snprintf(msg, sizeof(msg), "%s%s", reply->error, ghl_login_hint(reply->needs_login, reply->error));
	else
		snprintf(msg, sizeof(msg), "%zu location%s; location %s's contacts can be searched; event types "
			 "taken: %s%s", f->n, f->n == 1 ? "" : "s", l->head.id,
			 e->all_types ? "every one" : e->host->option(e->inst, "events"),
			 e->refetch ? ", each re-read before it is emitted" : "");
	ghl_fanout_finish(f, reply->rc, msg);
}

/* A check searches the first location for one contact. */
static void rloc_check(ghl_fanout_loc *head)
{
	struct rloc *l = (struct rloc *)head;
	struct events *e = events_of(l);
	json_object *body = json_object_new_object();

	if (body) {
		json_object_object_add(body, "locationId", json_object_new_string(l->head.id));
		json_object_object_add(body, "pageLimit", json_object_new_int(1));
		l->call = ghl_request(e->client, l->head.id, "POST", GHL_VERSION, "/contacts/search", body, on_check, l);
		json_object_put(body);
	}
	if (!l->call)
		ghl_fanout_finish(head->fanout, HLB_ENOMEM, "the contacts could not be searched (out of memory)");
}

static int start(struct events *e, hlb_job *job, int check)
{
	const ghl_fanout_spec spec = {
		.client = e->client,
		.locations = e->locations,
		.loc_size = sizeof(struct rloc),
		.concurrency = e->concurrency,
		.arg = e,
		.start = rloc_start,
		.check = rloc_check,
		.clear = rloc_clear,
		.end = poll_end,
	};
	int rc = ghl_fanout_start(&spec, job, check, &e->poll);

	if (rc == HLB_OK) {
		e->emitted = 0;
		e->listed = e->pages = 0;
	}
	return rc;
}

static int events_poll(void *state, hlb_job *job)
{
	struct events *e = state;

	if (!e->reconcile || !takes_contacts(e)) {
		e->host->finish(job, HLB_OK, NULL);
		return HLB_OK;
	}
	return start(e, job, 0);
}

static int events_check(void *state, hlb_job *job)
{
	return start(state, job, 1);
}

/* ---- teardown ------------------------------------------------------------------------ */

static void events_free(struct events *e)
{
	if (!e)
		return;
	while (e->pending)
		refetch_free(e->pending);
	ghl_fanout_free(e->poll);
	ghl_client_free(e->client);
	ghl_client_free(e->hook_client);
	ghl_dedup_free(e->dedup);
	ghl_ids_free(e->ids, e->nids);
	for (size_t i = 0; i < e->ntypes; i++)
		free(e->types[i]);
	free(e->types);
	free(e->auth);
	free(e->locations);
	free(e);
}

static void events_fini(void *state)
{
	events_free(state);
}

const hlb_plugin HLB_PLUGIN_EXPORT(ghl_events) = {
	HLB_PLUGIN_HEADER,
	/* a reconciling poll never committed lists again from the last
	 * committed mark, and finds the same contacts */
	.caps = HLB_CAP_SOURCE | HLB_CAP_REPLAY,
	.name = PLUGIN,
	.version = PACKAGE_VERSION,
	.summary = "GoHighLevel webhook events (ghl.events.<type>), re-read on demand, reconciled by polling",
	.options = options,
	.init = events_init,
	.check = events_check,
	.poll = events_poll,
	.fini = events_fini,
	.webhook = events_webhook,
};
