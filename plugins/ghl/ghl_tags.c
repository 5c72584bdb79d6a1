/* The `ghl_tags` source: Social Planner tags of GoHighLevel locations.
 *
 * GHL has no webhook for these tags, so each poll lists every location's
 * tags (GET /social-media-posting/{locationId}/tags, skip/limit paging) and
 * compares the list with the snapshot kept in the state store under
 * "snap:<locationId>": {tagId: content hash + name}. New and changed tags
 * are read in full with POST .../tags/details in batches; tags that left
 * the list, or came back with deleted:true, are deletions. Each change is
 * one record on stream "ghl.tags" and one row of `hlbridge history`; the
 * new snapshot is staged with the poll, so it is committed only once every
 * record has been delivered and a crash replays rather than loses.
 *
 * Contact tags are another thing: GHL sends a ContactTagUpdate webhook
 * when a contact's tags change. With `webhooks = on` (the default; nothing
 * arrives unless [service] listen is set) each such event of one of the
 * source's locations becomes a record of the `ghl` contacts source's
 * shape (stream "ghl.contacts", key LOCATION:CONTACTID, the contact's
 * email, phone, names and sorted tags) with source "webhook", so that one
 * route serves the poller's records and these. A change that hlbridge's
 * own writes explain (echo memory) or that changes none of those fields is
 * not emitted; the fields last seen per contact are kept in the state
 * store ("hook:LOCATION:ID"), committed with the record.
 *
 * The locations of a poll run at once (up to `concurrency`), each paced by
 * its own quota bucket (ghl:<app>:<location>); one failing location is
 * logged and keeps its old snapshot (the next poll tries it again) without
 * holding the others up.
 *
 * Memory per location stays small however many locations run at once: of
 * a list entry only the fields a record needs are kept, and the changes
 * are emitted as their details batch comes, in list order. A location
 * keeps two details requests going (DETAILS_IN_FLIGHT), so that a large
 * one does not wait for each in turn. */
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
#include "ghl_ops.h"
#include "ghl_webhook.h"
#include "../common/echo.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

#define PLUGIN "ghl_tags"
#define STREAM "ghl.tags"
#define TAG_ID_MAX 128       /* longer ids are not GHL's: skipped */
#define MAX_PAGE 100
#define MAX_DETAILS_BATCH 100
#define DETAILS_IN_FLIGHT 2  /* a location's details requests at once */

static const hlb_option options[] = {
	GHL_OPTION_AUTH,
	GHL_OPTION_LOCATION_ID,
	{ "interval", HLB_OPT_DURATION, "5m", 0, "time between polls (with 10% jitter)", NULL },
	{ "search", HLB_OPT_STRING, NULL, 0, "only tags whose name matches this text (searchText)", NULL },
	{ "page_size", HLB_OPT_INT, "100", 0, "tags per list request (1-100)", NULL },
	{ "details_batch", HLB_OPT_INT, "100", 0, "tag ids per tags/details request (1-100)", NULL },
	GHL_OPTION_CONCURRENCY,
	GHL_OPTION_BASE_URL,
	{ "webhooks", HLB_OPT_BOOL, "on", 0,
	  "take GHL's ContactTagUpdate events ([service] listen) as ghl.contacts records", NULL },
	{ NULL, 0, NULL, 0, NULL, NULL }
};

struct change {
	char *id;
	ghl_tag_change kind;
	char hash[17];
	char *name;          /* the list's name, or NULL */
	char *updated;       /* the list's updatedAt, or NULL */
	int64_t updated_ms;  /* the same parsed, or -1 */
	json_object *entry;  /* a list entry marked deleted: the record's details */
	char *prev_name;     /* the name in the old snapshot, or NULL */
	int left;            /* a deletion: the tag left the list */
};

struct loc;

/* One tags/details request: the changes before `upto` not emitted yet are
 * its (deletions between need none). Answers are used in request order. */
struct batch {
	struct loc *l;
	ghl_call *call;
	json_object *details;  /* tagId -> details entry, once answered */
	size_t upto;
	int answered;
};

struct loc {
	ghl_fanout_loc head;   /* first: the run's part (the fan-out's) */
	ghl_pager *pager;
	ghl_call *call;        /* a check's request */
	json_object *old;      /* the snapshot of the last poll, or NULL */
	json_object *snap;     /* the snapshot being built */
	json_object *seen;     /* every tag id listed this time (a set) */
	struct batch batch[DETAILS_IN_FLIGHT]; /* a ring, oldest at `first` */
	size_t first, nbatch;
	struct change *changes;
	size_t nchanges, alloc;
	size_t next_detail;    /* the first change the details batches have not reached */
	size_t next_emit;      /* the first change not emitted yet */
	unsigned pages;        /* list pages seen */
};

struct tags {
	const hlb_host *host;
	hlb_instance *inst;
	ghl_client *client;
	char *auth, *locations, *search;
	unsigned page_size, details_batch;
	size_t concurrency;     /* locations at work at once */
	ghl_fanout *poll;      /* the poll or check running, or NULL */
	size_t created, updated, deleted;  /* its changes */
	uint64_t listed, pages, total;     /* its progress (see on_tags_page) */
	size_t totals_known;
	char **hook_locations; /* the locations whose ContactTagUpdate events are taken */
	size_t nhook_locations;
	int hook_all;          /* location_id = *: every location's */
};

static struct tags *tags_of(const struct loc *l)
{
	return l->head.fanout->spec.arg;
}

/* ---- setup ------------------------------------------------------------------ */

static int int_option(struct tags *t, const char *key, int64_t dflt, int64_t max, unsigned *out)
{
	int64_t v = t->host->option_int(t->inst, key, dflt);

	if (v < 1 || v > max) {
		t->host->option_error(t->inst, key, "must be from 1 to %" PRId64 " (got %" PRId64 ")", max, v);
		return HLB_EINVAL;
	}
	*out = (unsigned)v;
	return HLB_OK;
}

static void tags_free(struct tags *t);

/* webhooks = on: ContactTagUpdate events of the source's locations. */
static int hook_init(struct tags *t)
{
	const hlb_host *host = t->host;
	char err[256];
	int rc;

	if (!host->option_bool(t->inst, "webhooks", 1))
		return HLB_OK;
	if (!HLB_HOST_HAS(host, webhook_subscribe) || !host->webhook_subscribe) {
		host->log(t->inst, HLB_LOG_INFO, "this hlbridge takes no webhooks (ABI 1.4): contact tags are "
			  "not received in real time");
		return HLB_OK;
	}
	rc = ghl_locations_parse(t->locations, &t->hook_all, &t->hook_locations, &t->nhook_locations, err,
				 sizeof(err));
	if (rc != HLB_OK)
		return rc; /* ghl_location_option_check told why */
	rc = host->webhook_subscribe(t->inst, "ghl", "ContactTagUpdate");
	if (rc != HLB_OK)
		host->log(t->inst, HLB_LOG_ERROR, "ContactTagUpdate events could not be subscribed to: %s",
			  host->strerror(rc));
	return rc;
}

static int tags_init(const hlb_host *host, hlb_instance *inst, uint32_t role, void **state)
{
	struct tags *t;
	int rc;

	(void)role;
	*state = NULL;
	rc = ghl_source_host_check(host, inst, PLUGIN);
	if (rc != HLB_OK)
		return rc;
	t = calloc(1, sizeof(*t));
	if (!t)
		return HLB_ENOMEM;
	t->host = host;
	t->inst = inst;
	if (int_option(t, "page_size", 100, MAX_PAGE, &t->page_size) != HLB_OK ||
	    int_option(t, "details_batch", 100, MAX_DETAILS_BATCH, &t->details_batch) != HLB_OK) {
		free(t);
		return HLB_EINVAL;
	}
	rc = ghl_location_option_check(host, inst);
	if (rc == HLB_OK)
		rc = ghl_concurrency_option(host, inst, &t->concurrency);
	if (rc != HLB_OK) {
		free(t);
		return rc;
	}
	t->auth = strdup(host->option(inst, "auth"));
	t->locations = strdup(host->option(inst, "location_id"));
	t->search = host->option(inst, "search") && *host->option(inst, "search")
		    ? strdup(host->option(inst, "search")) : NULL;
	t->client = ghl_client_new(host, inst, PLUGIN, t->auth, host->option(inst, "base_url"));
	if (!t->auth || !t->locations || (host->option(inst, "search") && *host->option(inst, "search") &&
	    !t->search) || !t->client) {
		tags_free(t);
		return HLB_ENOMEM;
	}
	rc = hook_init(t);
	if (rc != HLB_OK) {
		tags_free(t);
		return rc;
	}
	*state = t;
	return HLB_OK;
}

/* ---- one location ------------------------------------------------------------- */

/* Cancels and frees the location's work (the fan-out's clear). */
static void loc_clear(ghl_fanout_loc *head)
{
	struct loc *l = (struct loc *)head;

	ghl_pager_cancel(l->pager);
	ghl_call_cancel(l->call);
	l->pager = NULL;
	l->call = NULL;
	for (size_t i = 0; i < DETAILS_IN_FLIGHT; i++) {
		ghl_call_cancel(l->batch[i].call);
		json_object_put(l->batch[i].details);
		memset(&l->batch[i], 0, sizeof(l->batch[i]));
	}
	l->first = l->nbatch = 0;
	json_object_put(l->old);
	json_object_put(l->snap);
	json_object_put(l->seen);
	l->old = l->snap = l->seen = NULL;
	for (size_t i = 0; i < l->nchanges; i++) {
		free(l->changes[i].id);
		free(l->changes[i].name);
		free(l->changes[i].updated);
		free(l->changes[i].prev_name);
		json_object_put(l->changes[i].entry);
	}
	free(l->changes);
	l->changes = NULL;
	l->nchanges = l->alloc = l->next_detail = l->next_emit = 0;
	l->pages = 0;
}

/* Every location has ended (the fan-out's end). */
static void poll_end(ghl_fanout *f)
{
	struct tags *t = f->spec.arg;
	char msg[GHL_FANOUT_ERROR_LEN + 128];
	int rc = HLB_OK;

	if (f->failed) {
		snprintf(msg, sizeof(msg), "%zu of %zu locations failed (first: %s); their tags are "
			 "polled again next time", f->failed, f->n, f->first_error);
		rc = HLB_EFAIL;
	} else {
		snprintf(msg, sizeof(msg), "%zu locations: %zu created, %zu updated, %zu deleted", f->n,
			 t->created, t->updated, t->deleted);
	}
	if (t->created || t->updated || t->deleted || f->failed)
		t->host->log(t->inst, rc == HLB_OK ? HLB_LOG_INFO : HLB_LOG_WARN, "poll: %zu locations: "
			     "%zu created, %zu updated, %zu deleted, %zu failed", f->n, t->created, t->updated,
			     t->deleted, f->failed);
	ghl_fanout_finish(f, rc, rc == HLB_OK ? NULL : msg);
}

/* entry: the list entry, or NULL for a tag that left the list. */
static int add_change(struct loc *l, const char *id, ghl_tag_change kind, const char *hash,
		      json_object *entry, const char *prev_name)
{
	struct change *c;
	const char *name = entry ? ghl_json_string(entry, "tag") : NULL;
	const char *updated = entry ? ghl_json_string(entry, "updatedAt") : NULL;

	if (l->nchanges == l->alloc) {
		size_t alloc = l->alloc ? l->alloc * 2 : 16;
		struct change *grown = realloc(l->changes, alloc * sizeof(*grown));

		if (!grown)
			return HLB_ENOMEM;
		l->changes = grown;
		l->alloc = alloc;
	}
	c = &l->changes[l->nchanges];
	memset(c, 0, sizeof(*c));
	c->id = strdup(id);
	c->prev_name = ghl_dup_or_null(prev_name);
	c->name = ghl_dup_or_null(name);
	c->updated = ghl_dup_or_null(updated);
	c->updated_ms = ghl_parse_time(updated);
	if (!c->id || (prev_name && !c->prev_name) || (name && !c->name) || (updated && !c->updated)) {
		free(c->id);
		free(c->prev_name);
		free(c->name);
		free(c->updated);
		return HLB_ENOMEM;
	}
	c->kind = kind;
	memcpy(c->hash, hash, 17);
	/* the whole entry only where it becomes the details: a deletion */
	c->entry = entry && kind == GHL_TAG_DELETED ? json_object_get(entry) : NULL;
	c->left = kind == GHL_TAG_DELETED && !entry;
	l->nchanges++;
	return HLB_OK;
}

static int entry_deleted(json_object *entry)
{
	json_object *v;

	return json_object_object_get_ex(entry, "deleted", &v) && json_object_get_boolean(v);
}

/* After each page: how far the poll got (tags listed, pages, and the
 * total once every location's first page told its count). */
static void report_progress(struct loc *l, size_t n, const ghl_reply *reply)
{
	struct tags *t = tags_of(l);
	ghl_fanout *f = l->head.fanout;
	json_object *count = ghl_json_at(reply->json, "results.count");

	if (++l->pages == 1 && count && json_object_is_type(count, json_type_int) &&
	    json_object_get_int64(count) >= 0) {
		t->total += (uint64_t)json_object_get_int64(count);
		t->totals_known++;
	}
	t->listed += n;
	t->pages++;
	if (HLB_HOST_HAS(t->host, progress) && t->host->progress)
		t->host->progress(f->job, t->listed, t->totals_known == f->n ? t->total : 0, t->pages);
}

/* One page of the list: each entry against the old snapshot. */
static int on_tags_page(void *arg, struct json_object *items, const ghl_reply *reply)
{
	struct loc *l = arg;
	struct tags *t = tags_of(l);
	size_t n = json_object_array_length(items);

	report_progress(l, n, reply);
	for (size_t i = 0; i < n; i++) {
		json_object *entry = json_object_array_get_idx(items, i);
		const char *id = ghl_json_string(entry, "_id");
		const char *name = ghl_json_string(entry, "tag");
		const char *prev = NULL;
		int deleted = entry_deleted(entry);
		ghl_tag_change kind;
		char hash[17];

		if (!id || !*id || strlen(id) > TAG_ID_MAX) {
			t->host->log(t->inst, HLB_LOG_WARN, "location %s: skipping a tag without a usable _id",
				     l->head.id);
			continue;
		}
		if (json_object_object_get_ex(l->seen, id, NULL))
			continue; /* listed twice (the list moved between pages) */
		json_object_object_add(l->seen, id, NULL);
		ghl_tag_hash(name, ghl_json_string(entry, "updatedAt"), deleted, hash);
		kind = ghl_tag_classify(l->old, id, hash, deleted, &prev);
		if (!deleted)
			json_object_object_add(l->snap, id, ghl_tag_snap_value(hash, name));
		if (kind != GHL_TAG_SAME && add_change(l, id, kind, hash, entry, prev) != HLB_OK)
			return HLB_ENOMEM;
	}
	return HLB_OK;
}

static void loc_details(struct loc *l);
static void loc_emit(struct loc *l, size_t upto, json_object *details);
static void loc_end(struct loc *l);

static void on_details(void *arg, const ghl_reply *reply)
{
	struct batch *b = arg;
	struct loc *l = b->l;
	json_object *list;
	size_t n;

	b->call = NULL;
	if (reply->rc != HLB_OK) {
		ghl_fanout_done(&l->head, reply);
		return;
	}
	list = ghl_json_at(reply->json, "results.tags");
	if (!list || !json_object_is_type(list, json_type_array)) {
		ghl_fanout_fail(&l->head, HLB_EPARSE, "POST /social-media-posting/%s/tags/details: the answer has no "
			 "results.tags array", l->head.id);
		return;
	}
	b->details = json_object_new_object();
	if (!b->details) {
		ghl_fanout_fail(&l->head, HLB_ENOMEM, "out of memory");
		return;
	}
	n = json_object_array_length(list);
	for (size_t i = 0; i < n; i++) {
		json_object *d = json_object_array_get_idx(list, i);
		const char *id = ghl_json_string(d, "_id");

		if (id && *id)
			json_object_object_add(b->details, id, json_object_get(d));
	}
	b->answered = 1;
	/* in list order: the oldest answered batches emit their changes, and
	 * let go of their details */
	while (l->nbatch && l->batch[l->first].answered) {
		struct batch *o = &l->batch[l->first];

		loc_emit(l, o->upto, o->details);
		json_object_put(o->details);
		memset(o, 0, sizeof(*o));
		l->first = (l->first + 1) % DETAILS_IN_FLIGHT;
		l->nbatch--;
	}
	loc_details(l);
}

/* Requests the details of the next batch of new or changed tags: 1 when
 * one went out, 0 when none is left, -1 when the location failed. */
static int start_batch(struct loc *l)
{
	struct tags *t = tags_of(l);
	struct batch *b = &l->batch[(l->first + l->nbatch) % DETAILS_IN_FLIGHT];
	json_object *body, *ids;
	char path[160];
	size_t batch = 0;

	body = json_object_new_object();
	ids = json_object_new_array();
	if (!body || !ids) {
		json_object_put(body);
		json_object_put(ids);
		ghl_fanout_fail(&l->head, HLB_ENOMEM, "out of memory");
		return -1;
	}
	json_object_object_add(body, "tagIds", ids);
	for (; l->next_detail < l->nchanges && batch < t->details_batch; l->next_detail++) {
		struct change *c = &l->changes[l->next_detail];

		if (c->kind != GHL_TAG_CREATED && c->kind != GHL_TAG_UPDATED)
			continue;
		json_object_array_add(ids, json_object_new_string(c->id));
		batch++;
	}
	if (!batch) {
		json_object_put(body);
		return 0;
	}
	snprintf(path, sizeof(path), "/social-media-posting/%s/tags/details", l->head.id);
	memset(b, 0, sizeof(*b));
	b->l = l;
	b->upto = l->next_detail;
	b->call = ghl_request(t->client, l->head.id, "POST", GHL_VERSION, path, body, on_details, b);
	json_object_put(body);
	if (!b->call) {
		ghl_fanout_fail(&l->head, HLB_ENOMEM, "POST %s: could not be started (out of memory)", path);
		return -1;
	}
	l->nbatch++;
	return 1;
}

/* Keeps up to DETAILS_IN_FLIGHT details requests going (one location's
 * quota is its own); when none is left, the location ends. */
static void loc_details(struct loc *l)
{
	while (l->nbatch < DETAILS_IN_FLIGHT) {
		int rc = start_batch(l);

		if (rc < 0)
			return;
		if (rc == 0)
			break;
	}
	if (!l->nbatch)
		loc_end(l);
}

static json_object *new_str(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

/* Adds under a literal key, known to be new: json-c neither copies nor
 * looks it up (a record has a dozen such fields). The literal lives in
 * this module, which the host unloads only after freeing every record. */
static void put(json_object *o, const char *literal, json_object *v)
{
	json_object_object_add_ex(o, literal, v, JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_KEY_IS_CONSTANT);
}

/* What the list said of a tag whose details did not come (it went away
 * between the list and the details request). */
static json_object *list_fields(const struct change *c)
{
	json_object *o = json_object_new_object();

	put(o, "_id", json_object_new_string(c->id));
	put(o, "tag", new_str(c->name));
	put(o, "updatedAt", new_str(c->updated));
	return o;
}

/* What a record and its history row share: the name, the time, the hash
 * in the key, and whether the tag was renamed. */
struct facts {
	const char *name, *change;
	int64_t when;
	char hash[17];
	int renamed;
};

static void facts_of(const struct loc *l, const struct change *c, struct facts *f)
{
	f->name = c->name ? c->name : c->prev_name;
	f->change = ghl_tag_change_name(c->kind);
	f->when = c->kind != GHL_TAG_DELETED && c->updated_ms >= 0 ? c->updated_ms : l->head.fanout->started_ms;
	f->renamed = c->kind == GHL_TAG_UPDATED && c->prev_name && f->name && strcmp(c->prev_name, f->name) != 0;
	memcpy(f->hash, c->hash, sizeof(f->hash));
	if (c->left) {
		/* Left the list: a key of its own, apart from the live versions. */
		char buf[40];
		int len = snprintf(buf, sizeof(buf), "deleted\x1f%s", c->hash);

		ghl_hash_hex(buf, (size_t)len, f->hash);
	}
}

static void emit_change(struct loc *l, struct change *c, json_object *batch_details)
{
	struct tags *t = tags_of(l);
	hlb_job *job = l->head.fanout->job;
	json_object *body, *details = NULL;
	struct facts f;
	char ts[40], key[256];
	hlb_record *rec;

	facts_of(l, c, &f);
	if (c->kind != GHL_TAG_DELETED) {
		if (batch_details && json_object_object_get_ex(batch_details, c->id, &details))
			json_object_get(details);
		else
			details = list_fields(c);
	} else {
		details = c->entry ? json_object_get(c->entry) : NULL;
	}
	ghl_format_time(f.when, ts, sizeof(ts));
	snprintf(key, sizeof(key), "%s/%s/%s", l->head.id, c->id, f.hash);

	body = json_object_new_object();
	put(body, "locationId", json_object_new_string(l->head.id));
	put(body, "tagId", json_object_new_string(c->id));
	put(body, "tagName", new_str(f.name));
	if (f.renamed)
		put(body, "previousName", new_str(c->prev_name));
	put(body, "timestamp", json_object_new_string(ts));
	put(body, "change", json_object_new_string(f.change));
	put(body, "source", json_object_new_string("poll"));
	put(body, "details", details);
	rec = t->host->record_new(STREAM, key, c->kind == GHL_TAG_DELETED ? HLB_OP_DELETE : HLB_OP_UPSERT,
				  f.when, body);
	if (!rec || t->host->emit(job, rec) != HLB_OK)
		t->host->log(t->inst, HLB_LOG_ERROR, "location %s: tag %s could not be emitted", l->head.id, c->id);
	if (c->kind == GHL_TAG_CREATED)
		t->created++;
	else if (c->kind == GHL_TAG_UPDATED)
		t->updated++;
	else
		t->deleted++;
}

/* The history row of a change: added with the location's snapshot, so
 * that a checkpoint never holds the rows of a location half done. */
static void add_history(struct loc *l, const struct change *c)
{
	struct tags *t = tags_of(l);
	json_object *row = json_object_new_object();
	struct facts f;

	facts_of(l, c, &f);
	put(row, "tagName", new_str(f.name));
	if (f.renamed)
		put(row, "previousName", new_str(c->prev_name));
	put(row, "hash", json_object_new_string(f.hash));
	if (t->host->history_add(t->inst, l->head.fanout->job, l->head.id, c->id, f.change, f.when, row) != HLB_OK)
		t->host->log(t->inst, HLB_LOG_WARN, "location %s: the history row of tag %s was not kept",
			     l->head.id, c->id);
}

/* Emits the changes before `upto` not emitted yet, in list order, with
 * the details a batch brought, and lets go of what they held. */
static void loc_emit(struct loc *l, size_t upto, json_object *details)
{
	for (; l->next_emit < upto; l->next_emit++) {
		struct change *c = &l->changes[l->next_emit];

		emit_change(l, c, details);
		json_object_put(c->entry);
		c->entry = NULL;
	}
}

/* Every details batch is in: the rest of the changes, then their history
 * rows and the snapshot, after every record they cover. The location is
 * a checkpoint of its own: once its records are delivered its snapshot
 * and rows are committed, whatever the other locations still do. */
static void loc_end(struct loc *l)
{
	struct tags *t = tags_of(l);
	hlb_job *job = l->head.fanout->job;
	char key[128];

	loc_emit(l, l->nchanges, NULL); /* deletions after the last batch */
	/* An unchanged location keeps its stored snapshot as it is. */
	if (l->nchanges || !l->old) {
		for (size_t i = 0; i < l->nchanges; i++)
			add_history(l, &l->changes[i]);
		snprintf(key, sizeof(key), "snap:%s", l->head.id);
		if (t->host->state_put(t->inst, job, key, l->snap) != HLB_OK)
			t->host->log(t->inst, HLB_LOG_ERROR, "location %s: the tag snapshot was not saved; "
				     "the same changes will be reported again", l->head.id);
		l->snap = NULL;
		if (HLB_HOST_HAS(t->host, checkpoint) && t->host->checkpoint(job) != HLB_OK)
			t->host->log(t->inst, HLB_LOG_ERROR, "location %s: its checkpoint could not be "
				     "queued; this poll is read again after a restart", l->head.id);
	}
	ghl_fanout_done(&l->head, NULL);
}

static void on_tags_done(void *arg, const ghl_reply *reply)
{
	struct loc *l = arg;

	l->pager = NULL;
	if (reply->rc != HLB_OK) {
		ghl_fanout_done(&l->head, reply);
		return;
	}
	/* Tags the old snapshot knows and the list no longer shows. */
	if (l->old) {
		json_object_object_foreach(l->old, id, value) {
			char hash[17];
			const char *name = NULL;

			(void)value;
			if (json_object_object_get_ex(l->seen, id, NULL) ||
			    !ghl_tag_snap_get(l->old, id, hash, &name))
				continue;
			if (add_change(l, id, GHL_TAG_DELETED, hash, NULL, name) != HLB_OK) {
				ghl_fanout_fail(&l->head, HLB_ENOMEM, "out of memory");
				return;
			}
		}
	}
	loc_details(l);
}

static int tags_path(struct tags *t, const char *location, ghl_buf *path)
{
	ghl_buf_init(path, 4096);
	if (ghl_buf_addf(path, "/social-media-posting/%s/tags", location) < 0)
		return HLB_ETOOBIG;
	if (t->search && (ghl_buf_add(path, "?searchText=", 12) < 0 ||
			  ghl_buf_add_encoded(path, t->search) < 0))
		return HLB_ETOOBIG;
	return HLB_OK;
}

/* Starts one location's poll (the fan-out's start). */
static void loc_start(ghl_fanout_loc *head)
{
	struct loc *l = (struct loc *)head;
	struct tags *t = tags_of(l);
	ghl_page_spec spec = { 0 };
	ghl_buf path;
	char key[128];

	snprintf(key, sizeof(key), "snap:%s", l->head.id);
	l->old = t->host->state_get(t->inst, key);
	if (l->old && !json_object_is_type(l->old, json_type_object)) {
		t->host->log(t->inst, HLB_LOG_WARN, "location %s: the stored tag snapshot is not an object; "
			     "every tag is reported again", l->head.id);
		json_object_put(l->old);
		l->old = NULL;
	}
	l->snap = json_object_new_object();
	l->seen = json_object_new_object();
	if (!l->snap || !l->seen) {
		ghl_fanout_fail(&l->head, HLB_ENOMEM, "out of memory");
		return;
	}
	if (tags_path(t, l->head.id, &path) != HLB_OK) {
		ghl_buf_free(&path);
		ghl_fanout_fail(&l->head, HLB_ETOOBIG, "the search text is too long");
		return;
	}
	spec.location = l->head.id;
	spec.version = GHL_VERSION;
	spec.path = path.data;
	spec.items = "results.tags";
	spec.count = "results.count";
	spec.id_field = "_id";
	spec.limit = t->page_size;
	l->pager = ghl_page_skip(t->client, &spec, on_tags_page, on_tags_done, l);
	ghl_buf_free(&path);
	if (!l->pager)
		ghl_fanout_fail(&l->head, HLB_ENOMEM, "the tag list could not be requested (out of memory)");
}

/* ---- check --------------------------------------------------------------------------- */

static void on_check_page(void *arg, const ghl_reply *reply)
{
	struct loc *l = arg;
	ghl_fanout *f = l->head.fanout;
	json_object *list = ghl_json_at(reply->json, "results.tags");
	char msg[GHL_FANOUT_ERROR_LEN + 128];
	int rc = reply->rc;

	l->call = NULL;
	if (rc != HLB_OK) {
		snprintf(msg, sizeof(msg), "%s", reply->error);
	} else if (!list || !json_object_is_type(list, json_type_array)) {
		rc = HLB_EPARSE;
		snprintf(msg, sizeof(msg), "GET /social-media-posting/%s/tags: the answer has no results.tags "
			 "array", l->head.id);
	} else {
		snprintf(msg, sizeof(msg), "%zu location%s; location %s lists %zu tag%s on its first page",
			 f->n, f->n == 1 ? "" : "s", l->head.id, json_object_array_length(list),
			 json_object_array_length(list) == 1 ? "" : "s");
	}
	ghl_fanout_finish(f, rc, msg);
}

/* A check reads the first page of the first location's tags. */
static void check_location(ghl_fanout_loc *head)
{
	struct loc *l = (struct loc *)head;
	struct tags *t = tags_of(l);
	ghl_buf path;
	int ok;

	ok = tags_path(t, l->head.id, &path) == HLB_OK &&
	     ghl_buf_addf(&path, "%cskip=0&limit=%u", t->search ? '&' : '?', t->page_size) == 0;
	l->call = ok ? ghl_request(t->client, l->head.id, "GET", GHL_VERSION, path.data, NULL, on_check_page, l)
		     : NULL;
	ghl_buf_free(&path);
	if (!l->call)
		ghl_fanout_finish(head->fanout, HLB_ENOMEM, "the tag list could not be requested (out of memory)");
}

/* ---- the poll ------------------------------------------------------------------- */

static int start(struct tags *t, hlb_job *job, int check)
{
	const ghl_fanout_spec spec = {
		.client = t->client,
		.locations = t->locations,
		.loc_size = sizeof(struct loc),
		.concurrency = t->concurrency,
		.arg = t,
		.start = loc_start,
		.check = check_location,
		.clear = loc_clear,
		.end = poll_end,
	};
	int rc = ghl_fanout_start(&spec, job, check, &t->poll);

	if (rc == HLB_OK) { /* its locations start later, from the loop */
		t->created = t->updated = t->deleted = 0;
		t->listed = t->pages = t->total = 0;
		t->totals_known = 0;
	}
	return rc;
}

static int tags_poll(void *state, hlb_job *job)
{
	return start(state, job, 0);
}

static int tags_check(void *state, hlb_job *job)
{
	return start(state, job, 1);
}

/* ---- ContactTagUpdate events ------------------------------------------------------ */

/* A contact's fields as this source last emitted them, and when:
 * {"t": ms, "v": view} under "hook:LOCATION:ID"; NULL when never. */
static json_object *hook_seen(struct tags *t, const char *key, int64_t *when)
{
	json_object *saved = t->host->state_get(t->inst, key), *v = NULL, *at = NULL;

	*when = 0;
	if (saved && json_object_object_get_ex(saved, "v", &v) && json_object_is_type(v, json_type_object)) {
		json_object_get(v);
		if (json_object_object_get_ex(saved, "t", &at))
			*when = json_object_get_int64(at);
	} else {
		v = NULL;
	}
	json_object_put(saved);
	return v;
}

/* Emits the contact of one event, unless nothing the record carries
 * changed or hlbridge's own writes explain the change. */
static int hook_contact(struct tags *t, hlb_job *job, const hlb_webhook *ev, const char *loc, const char *id,
			const char **why)
{
	json_object *view, *before, *body, *seen;
	char key[GHL_ID_MAX * 2 + 8], rkey[GHL_ID_MAX * 2 + 2], object[GHL_ID_MAX * 2 + 16], updated[40];
	const char *date = ghl_json_string(ev->body, "dateUpdated");
	int64_t before_ms, now = ghl_now_ms(), when = ev->time_ms > 0 ? ev->time_ms : now;
	hlb_record *rec;
	int rc = HLB_OK;

	view = ghl_contact_view(ev->body, NULL);
	if (!view)
		return HLB_ENOMEM;
	snprintf(key, sizeof(key), "hook:%s:%s", loc, id);
	snprintf(object, sizeof(object), "ghl:%s:contact:%s", loc, id);
	before = hook_seen(t, key, &before_ms);
	if (before && json_object_equal(before, view)) {
		*why = "none of the contact's carried fields changed";
	} else if (echo_explains(t->host, t->inst, object, before, before_ms, view, ghl_contact_fields)) {
		*why = "the change is hlbridge's own write";
	} else {
		if (!date)
			ghl_format_time(when, updated, sizeof(updated));
		body = ghl_contact_record(view, loc, id, date ? date : updated, "webhook");
		ghl_record_key(rkey, sizeof(rkey), loc, id);
		rec = body ? t->host->record_new(GHL_STREAM_CONTACTS, rkey, HLB_OP_UPSERT, when, body) : NULL;
		rc = rec ? t->host->emit(job, rec) : HLB_ENOMEM;
	}
	json_object_put(before);
	seen = rc == HLB_OK ? json_object_new_object() : NULL;
	if (seen) {
		json_object_object_add(seen, "t", json_object_new_int64(now));
		json_object_object_add(seen, "v", view);
		view = NULL;
		rc = t->host->state_put(t->inst, job, key, seen);
	}
	json_object_put(view);
	return rc;
}

static int tags_webhook(void *state, hlb_job *job, const hlb_webhook *ev)
{
	struct tags *t = state;
	const char *loc = ghl_json_string(ev->body, "locationId");
	const char *id = ghl_json_string(ev->body, "id");
	const char *why = NULL;
	char msg[160];
	int rc;

	if (!ev->type || strcmp(ev->type, "ContactTagUpdate") != 0) {
		t->host->finish(job, HLB_OK, "not a ContactTagUpdate event: ignored");
		return HLB_OK;
	}
	if (!loc || !*loc || strlen(loc) >= GHL_ID_MAX || !id || !*id || strlen(id) >= GHL_ID_MAX) {
		t->host->finish(job, HLB_EPARSE, "ContactTagUpdate without a usable locationId and id");
		return HLB_EPARSE;
	}
	if (!ghl_location_listed(t->hook_locations, t->nhook_locations, t->hook_all, loc)) {
		t->host->finish(job, HLB_OK, "ContactTagUpdate of another location: ignored");
		return HLB_OK;
	}
	rc = hook_contact(t, job, ev, loc, id, &why);
	if (rc != HLB_OK) {
		snprintf(msg, sizeof(msg), "contact %s of location %s could not be emitted: %s", id, loc,
			 t->host->strerror(rc));
		t->host->finish(job, rc, msg);
		return rc;
	}
	if (why)
		t->host->log(t->inst, HLB_LOG_DEBUG, "ContactTagUpdate of contact %s: %s; not emitted", id, why);
	t->host->finish(job, HLB_OK, why);
	return HLB_OK;
}

static void tags_free(struct tags *t)
{
	if (!t)
		return;
	ghl_fanout_free(t->poll);
	ghl_client_free(t->client);
	free(t->auth);
	free(t->locations);
	free(t->search);
	ghl_ids_free(t->hook_locations, t->nhook_locations);
	free(t);
}

static void tags_fini(void *state)
{
	tags_free(state);
}

const hlb_plugin HLB_PLUGIN_EXPORT(ghl_tags) = {
	HLB_PLUGIN_HEADER,
	/* a poll never committed lists the tags again against the last
	 * committed snapshot, and finds the same changes */
	.caps = HLB_CAP_SOURCE | HLB_CAP_REPLAY,
	.name = PLUGIN,
	.version = PACKAGE_VERSION,
	.summary = "GoHighLevel Social Planner tags: created, changed and deleted tags of each location",
	.options = options,
	.init = tags_init,
	.check = tags_check,
	.poll = tags_poll,
	.fini = tags_fini,
	.webhook = tags_webhook,
};
