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
 * All locations of a poll run at once, each paced by its own quota bucket
 * (ghl:<app>:<location>); one failing location is logged and keeps its old
 * snapshot (the next poll tries it again) without holding the others up. */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "hlbridge/hlbridge.h"
#include "ghl_client.h"

#define PLUGIN "ghl_tags"
#define STREAM "ghl.tags"
#define TAG_ID_MAX 128       /* longer ids are not GHL's: skipped */
#define MAX_PAGE 100
#define MAX_DETAILS_BATCH 100
#define ERROR_LEN 512

static const hlb_option options[] = {
	{ "auth", HLB_OPT_AUTH, NULL, HLB_OPT_REQUIRED,
	  "the [auth:NAME] credential the requests use (ghl_token or ghl_oauth)", "ghl_token|ghl_oauth" },
	{ "location_id", HLB_OPT_LIST, NULL, HLB_OPT_REQUIRED,
	  "location (sub-account) ids, comma-separated, or * for every location an agency credential "
	  "is installed in", NULL },
	{ "interval", HLB_OPT_DURATION, "5m", 0, "time between polls (with 10% jitter)", NULL },
	{ "search", HLB_OPT_STRING, NULL, 0, "only tags whose name matches this text (searchText)", NULL },
	{ "page_size", HLB_OPT_INT, "100", 0, "tags per list request (1-100)", NULL },
	{ "details_batch", HLB_OPT_INT, "100", 0, "tag ids per tags/details request (1-100)", NULL },
	{ "base_url", HLB_OPT_STRING, NULL, 0,
	  "API address, overriding the credential's (a sandbox or a test server)", NULL },
	{ NULL, 0, NULL, 0, NULL, NULL }
};

struct change {
	char *id;
	ghl_tag_change kind;
	char hash[17];
	json_object *entry;  /* the list entry (NULL for a tag that left the list) */
	char *prev_name;     /* the name in the old snapshot, or NULL */
};

struct poll;

struct loc {
	struct poll *p;
	char *id;
	ghl_pager *pager;
	ghl_call *call;
	json_object *old;      /* the snapshot of the last poll, or NULL */
	json_object *snap;     /* the snapshot being built */
	json_object *seen;     /* every tag id listed this time (a set) */
	json_object *details;  /* tagId -> tags/details entry */
	struct change *changes;
	size_t nchanges, alloc, next_detail;
};

struct tags;

struct poll {
	struct tags *t;
	hlb_job *job;
	int check;
	ghl_resolve *resolve;
	struct loc *locs;
	size_t n, pending, failed;
	size_t created, updated, deleted;
	int64_t now_ms;
	char first_error[ERROR_LEN];
};

struct tags {
	const hlb_host *host;
	hlb_instance *inst;
	ghl_client *client;
	char *auth, *locations, *search;
	unsigned page_size, details_batch;
	struct poll *poll;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

static int tags_init(const hlb_host *host, hlb_instance *inst, uint32_t role, void **state)
{
	struct tags *t;
	char err[256];
	char **ids = NULL;
	size_t n = 0;
	int all, rc;

	(void)role;
	*state = NULL;
	if (!HLB_HOST_HAS(host, history_add) || !host->auth_token) {
		host->log(inst, HLB_LOG_ERROR, "ghl_tags needs hlbridge with credential support (ABI 1.1); "
			  "this host is %u.%u", host->abi_major, host->abi_minor);
		return HLB_EUNSUPPORTED;
	}
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
	rc = ghl_locations_parse(host->option(inst, "location_id"), &all, &ids, &n, err, sizeof(err));
	ghl_ids_free(ids, n);
	if (rc != HLB_OK) {
		host->option_error(inst, "location_id", "%s", err);
		free(t);
		return rc == HLB_ENOMEM ? rc : HLB_EINVAL;
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
	*state = t;
	return HLB_OK;
}

/* ---- one location ------------------------------------------------------------- */

static void loc_clear(struct loc *l)
{
	ghl_pager_cancel(l->pager);
	ghl_call_cancel(l->call);
	l->pager = NULL;
	l->call = NULL;
	json_object_put(l->old);
	json_object_put(l->snap);
	json_object_put(l->seen);
	json_object_put(l->details);
	l->old = l->snap = l->seen = l->details = NULL;
	for (size_t i = 0; i < l->nchanges; i++) {
		free(l->changes[i].id);
		free(l->changes[i].prev_name);
		json_object_put(l->changes[i].entry);
	}
	free(l->changes);
	l->changes = NULL;
	l->nchanges = l->alloc = 0;
}

static void poll_free(struct poll *p)
{
	if (!p)
		return;
	ghl_resolve_cancel(p->resolve);
	for (size_t i = 0; i < p->n; i++) {
		loc_clear(&p->locs[i]);
		free(p->locs[i].id);
	}
	free(p->locs);
	free(p);
}

static void poll_end(struct poll *p)
{
	struct tags *t = p->t;
	hlb_job *job = p->job;
	char msg[ERROR_LEN + 128];
	int rc = HLB_OK;

	if (p->failed) {
		snprintf(msg, sizeof(msg), "%zu of %zu locations failed (first: %s); their tags are "
			 "polled again next time", p->failed, p->n, p->first_error);
		rc = HLB_EFAIL;
	} else {
		snprintf(msg, sizeof(msg), "%zu locations: %zu created, %zu updated, %zu deleted", p->n,
			 p->created, p->updated, p->deleted);
	}
	if (p->created || p->updated || p->deleted || p->failed)
		t->host->log(t->inst, rc == HLB_OK ? HLB_LOG_INFO : HLB_LOG_WARN, "poll: %zu locations: "
			     "%zu created, %zu updated, %zu deleted, %zu failed", p->n, p->created, p->updated,
			     p->deleted, p->failed);
	t->poll = NULL;
	poll_free(p);
	t->host->finish(job, rc, rc == HLB_OK ? NULL : msg);
}

static void loc_done(struct loc *l, const ghl_reply *failure)
{
	struct poll *p = l->p;
	struct tags *t = p->t;

	if (failure) {
		/* Client errors name the request, which names the location. */
		const char *where = strstr(failure->error, l->id) ? "" : "location ";
		const char *hint = ghl_login_hint(failure->needs_login, failure->error);

		p->failed++;
		t->host->log(t->inst, HLB_LOG_ERROR, "%s%s%s%s%s", where, *where ? l->id : "",
			     *where ? ": " : "", failure->error, hint);
		if (!p->first_error[0])
			snprintf(p->first_error, sizeof(p->first_error), "%s%s%s%s", where, *where ? l->id : "",
				 *where ? ": " : "", failure->error);
	}
	loc_clear(l);
	if (--p->pending == 0)
		poll_end(p);
}

static void loc_fail(struct loc *l, int rc, const char *fmt, ...) HLB_PRINTF(3, 4);

static void loc_fail(struct loc *l, int rc, const char *fmt, ...)
{
	char msg[ERROR_LEN];
	ghl_reply r = { .rc = rc, .error = msg, .location = l->id };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	loc_done(l, &r);
}

static int add_change(struct loc *l, const char *id, ghl_tag_change kind, const char *hash,
		      json_object *entry, const char *prev_name)
{
	struct change *c;

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
	c->prev_name = prev_name ? strdup(prev_name) : NULL;
	if (!c->id || (prev_name && !c->prev_name)) {
		free(c->id);
		free(c->prev_name);
		return HLB_ENOMEM;
	}
	c->kind = kind;
	memcpy(c->hash, hash, 17);
	c->entry = entry ? json_object_get(entry) : NULL;
	l->nchanges++;
	return HLB_OK;
}

static int entry_deleted(json_object *entry)
{
	json_object *v;

	return json_object_object_get_ex(entry, "deleted", &v) && json_object_get_boolean(v);
}

/* One page of the list: each entry against the old snapshot. */
static int on_tags_page(void *arg, struct json_object *items, const ghl_reply *reply)
{
	struct loc *l = arg;
	struct tags *t = l->p->t;
	size_t n = json_object_array_length(items);

	(void)reply;
	for (size_t i = 0; i < n; i++) {
		json_object *entry = json_object_array_get_idx(items, i);
		const char *id = ghl_json_str(entry, "_id");
		const char *name = ghl_json_str(entry, "tag");
		const char *prev = NULL;
		int deleted = entry_deleted(entry);
		ghl_tag_change kind;
		char hash[17];

		if (!id || !*id || strlen(id) > TAG_ID_MAX) {
			t->host->log(t->inst, HLB_LOG_WARN, "location %s: skipping a tag without a usable _id",
				     l->id);
			continue;
		}
		if (json_object_object_get_ex(l->seen, id, NULL))
			continue; /* listed twice (the list moved between pages) */
		json_object_object_add(l->seen, id, NULL);
		ghl_tag_hash(name, ghl_json_str(entry, "updatedAt"), deleted, hash);
		kind = ghl_tag_classify(l->old, id, hash, deleted, &prev);
		if (!deleted)
			json_object_object_add(l->snap, id, ghl_tag_snap_value(hash, name));
		if (kind != GHL_TAG_SAME && add_change(l, id, kind, hash, entry, prev) != HLB_OK)
			return HLB_ENOMEM;
	}
	return HLB_OK;
}

static void loc_details(struct loc *l);
static void loc_emit(struct loc *l);

static void on_details(void *arg, const ghl_reply *reply)
{
	struct loc *l = arg;
	json_object *list;
	size_t n;

	l->call = NULL;
	if (reply->rc != HLB_OK) {
		loc_done(l, reply);
		return;
	}
	list = ghl_json_at(reply->json, "results.tags");
	if (!list || !json_object_is_type(list, json_type_array)) {
		loc_fail(l, HLB_EPARSE, "POST /social-media-posting/%s/tags/details: the answer has no "
			 "results.tags array", l->id);
		return;
	}
	n = json_object_array_length(list);
	for (size_t i = 0; i < n; i++) {
		json_object *d = json_object_array_get_idx(list, i);
		const char *id = ghl_json_str(d, "_id");

		if (id && *id)
			json_object_object_add(l->details, id, json_object_get(d));
	}
	loc_details(l);
}

/* Reads the details of the next batch of new or changed tags; emits when
 * they have all been read. */
static void loc_details(struct loc *l)
{
	struct tags *t = l->p->t;
	json_object *body, *ids;
	char path[160];
	size_t batch = 0;

	body = json_object_new_object();
	ids = json_object_new_array();
	if (!body || !ids) {
		json_object_put(body);
		json_object_put(ids);
		loc_fail(l, HLB_ENOMEM, "out of memory");
		return;
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
		loc_emit(l);
		return;
	}
	snprintf(path, sizeof(path), "/social-media-posting/%s/tags/details", l->id);
	l->call = ghl_request(t->client, l->id, "POST", GHL_VERSION, path, body, on_details, l);
	json_object_put(body);
	if (!l->call)
		loc_fail(l, HLB_ENOMEM, "POST %s: could not be started (out of memory)", path);
}

static json_object *new_str(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static void emit_change(struct loc *l, const struct change *c)
{
	struct poll *p = l->p;
	struct tags *t = p->t;
	json_object *body, *row, *details = NULL;
	const char *name = c->entry ? ghl_json_str(c->entry, "tag") : NULL;
	const char *change = ghl_tag_change_name(c->kind);
	char ts[40], key[256], hash[17];
	int64_t when = p->now_ms;
	int renamed;
	hlb_record *rec;

	if (!name)
		name = c->prev_name;
	if (c->kind != GHL_TAG_DELETED) {
		int64_t upd = ghl_parse_time(ghl_json_str(c->entry, "updatedAt"));

		if (upd >= 0)
			when = upd;
		if (!json_object_object_get_ex(l->details, c->id, &details))
			details = c->entry; /* gone between the list and the details */
	} else {
		details = c->entry;
	}
	renamed = c->kind == GHL_TAG_UPDATED && c->prev_name && name && strcmp(c->prev_name, name) != 0;
	memcpy(hash, c->hash, sizeof(hash));
	if (c->kind == GHL_TAG_DELETED && !c->entry) {
		/* Left the list: a key of its own, apart from the live versions. */
		char buf[40];
		int len = snprintf(buf, sizeof(buf), "deleted\x1f%s", c->hash);

		ghl_hash_hex(buf, (size_t)len, hash);
	}
	ghl_format_time(when, ts, sizeof(ts));
	snprintf(key, sizeof(key), "%s/%s/%s", l->id, c->id, hash);

	body = json_object_new_object();
	json_object_object_add(body, "locationId", json_object_new_string(l->id));
	json_object_object_add(body, "tagId", json_object_new_string(c->id));
	json_object_object_add(body, "tagName", new_str(name));
	if (renamed)
		json_object_object_add(body, "previousName", new_str(c->prev_name));
	json_object_object_add(body, "timestamp", json_object_new_string(ts));
	json_object_object_add(body, "change", json_object_new_string(change));
	json_object_object_add(body, "source", json_object_new_string("poll"));
	json_object_object_add(body, "details", details ? json_object_get(details) : NULL);
	rec = t->host->record_new(STREAM, key, c->kind == GHL_TAG_DELETED ? HLB_OP_DELETE : HLB_OP_UPSERT,
				  when, body);
	if (!rec || t->host->emit(p->job, rec) != HLB_OK)
		t->host->log(t->inst, HLB_LOG_ERROR, "location %s: tag %s could not be emitted", l->id, c->id);

	row = json_object_new_object();
	json_object_object_add(row, "tagName", new_str(name));
	if (renamed)
		json_object_object_add(row, "previousName", new_str(c->prev_name));
	json_object_object_add(row, "hash", json_object_new_string(hash));
	if (t->host->history_add(t->inst, p->job, l->id, c->id, change, when, row) != HLB_OK)
		t->host->log(t->inst, HLB_LOG_WARN, "location %s: the history row of tag %s was not kept",
			     l->id, c->id);
	if (c->kind == GHL_TAG_CREATED)
		p->created++;
	else if (c->kind == GHL_TAG_UPDATED)
		p->updated++;
	else
		p->deleted++;
}

static void loc_emit(struct loc *l)
{
	struct poll *p = l->p;
	struct tags *t = p->t;
	char key[128];

	for (size_t i = 0; i < l->nchanges; i++)
		emit_change(l, &l->changes[i]);
	/* An unchanged location keeps its stored snapshot as it is. */
	if (l->nchanges || !l->old) {
		snprintf(key, sizeof(key), "snap:%s", l->id);
		if (t->host->state_put(t->inst, p->job, key, l->snap) != HLB_OK)
			t->host->log(t->inst, HLB_LOG_ERROR, "location %s: the tag snapshot was not saved; "
				     "the same changes will be reported again", l->id);
		l->snap = NULL;
	}
	loc_done(l, NULL);
}

static void on_tags_done(void *arg, const ghl_reply *reply)
{
	struct loc *l = arg;

	l->pager = NULL;
	if (reply->rc != HLB_OK) {
		loc_done(l, reply);
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
				loc_fail(l, HLB_ENOMEM, "out of memory");
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

static void loc_start(struct loc *l)
{
	struct tags *t = l->p->t;
	ghl_page_spec spec = { 0 };
	ghl_buf path;
	char key[128];

	snprintf(key, sizeof(key), "snap:%s", l->id);
	l->old = t->host->state_get(t->inst, key);
	if (l->old && !json_object_is_type(l->old, json_type_object)) {
		t->host->log(t->inst, HLB_LOG_WARN, "location %s: the stored tag snapshot is not an object; "
			     "every tag is reported again", l->id);
		json_object_put(l->old);
		l->old = NULL;
	}
	l->snap = json_object_new_object();
	l->seen = json_object_new_object();
	l->details = json_object_new_object();
	if (!l->snap || !l->seen || !l->details) {
		loc_fail(l, HLB_ENOMEM, "out of memory");
		return;
	}
	if (tags_path(t, l->id, &path) != HLB_OK) {
		ghl_buf_free(&path);
		loc_fail(l, HLB_ETOOBIG, "the search text is too long");
		return;
	}
	spec.location = l->id;
	spec.version = GHL_VERSION;
	spec.path = path.data;
	spec.items = "results.tags";
	spec.count = "results.count";
	spec.id_field = "_id";
	spec.limit = t->page_size;
	l->pager = ghl_page_skip(t->client, &spec, on_tags_page, on_tags_done, l);
	ghl_buf_free(&path);
	if (!l->pager)
		loc_fail(l, HLB_ENOMEM, "the tag list could not be requested (out of memory)");
}

/* ---- the poll ------------------------------------------------------------------- */

static void on_check_page(void *arg, const ghl_reply *reply);

static void on_locations(void *arg, int rc, const char *message, int needs_login, char *const *ids,
			 size_t n)
{
	struct poll *p = arg;
	struct tags *t = p->t;

	p->resolve = NULL;
	if (rc != HLB_OK) {
		hlb_job *job = p->job;
		char msg[ERROR_LEN + 64];

		snprintf(msg, sizeof(msg), "%s%s", message ? message : t->host->strerror(rc),
			 ghl_login_hint(needs_login, message));
		t->poll = NULL;
		poll_free(p);
		t->host->finish(job, rc, msg);
		return;
	}
	if (n == 0) {
		t->host->log(t->inst, HLB_LOG_WARN, "location_id = %s: no location to poll", t->locations);
		poll_end(p);
		return;
	}
	p->locs = calloc(n, sizeof(*p->locs));
	if (!p->locs) {
		hlb_job *job = p->job;

		t->poll = NULL;
		poll_free(p);
		t->host->finish(job, HLB_ENOMEM, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		p->locs[i].p = p;
		p->locs[i].id = strdup(ids[i]);
		p->n++;
	}
	if (p->check) {
		struct loc *l = &p->locs[0];
		ghl_buf path;
		int ok;

		ghl_buf_init(&path, 4096);
		ok = l->id && tags_path(t, l->id, &path) == HLB_OK &&
		     ghl_buf_addf(&path, "%cskip=0&limit=%u", t->search ? '&' : '?', t->page_size) == 0;

		p->pending = 1;
		l->call = ok ? ghl_request(t->client, l->id, "GET", GHL_VERSION, path.data, NULL,
					    on_check_page, p) : NULL;
		ghl_buf_free(&path);
		if (!l->call) {
			hlb_job *job = p->job;

			t->poll = NULL;
			poll_free(p);
			t->host->finish(job, HLB_ENOMEM, "the tag list could not be requested (out of memory)");
		}
		return;
	}
	/* Every location at once: each waits for its own quota only. */
	p->pending = n + 1;
	for (size_t i = 0; i < n; i++) {
		if (p->locs[i].id)
			loc_start(&p->locs[i]);
		else
			loc_fail(&p->locs[i], HLB_ENOMEM, "out of memory");
	}
	if (--p->pending == 0)
		poll_end(p);
}

static struct poll *poll_new(struct tags *t, hlb_job *job, int check)
{
	struct poll *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->t = t;
	p->job = job;
	p->check = check;
	p->now_ms = now_ms();
	p->resolve = ghl_locations_resolve(t->client, t->locations, on_locations, p);
	if (!p->resolve) {
		free(p);
		return NULL;
	}
	return p;
}

static int tags_poll(void *state, hlb_job *job)
{
	struct tags *t = state;

	if (t->poll) {
		t->host->finish(job, HLB_EINVAL, "a poll is already running");
		return HLB_EINVAL;
	}
	t->poll = poll_new(t, job, 0);
	if (!t->poll) {
		t->host->finish(job, HLB_ENOMEM, "out of memory");
		return HLB_ENOMEM;
	}
	return HLB_OK;
}

/* ---- check --------------------------------------------------------------------------- */

static void on_check_page(void *arg, const ghl_reply *reply)
{
	struct poll *p = arg;
	struct tags *t = p->t;
	hlb_job *job = p->job;
	json_object *list = ghl_json_at(reply->json, "results.tags");
	char msg[ERROR_LEN + 128];
	int rc = reply->rc;

	p->locs[0].call = NULL;
	if (rc != HLB_OK) {
		snprintf(msg, sizeof(msg), "%s", reply->error);
	} else if (!list || !json_object_is_type(list, json_type_array)) {
		rc = HLB_EPARSE;
		snprintf(msg, sizeof(msg), "GET /social-media-posting/%s/tags: the answer has no results.tags "
			 "array", p->locs[0].id);
	} else {
		snprintf(msg, sizeof(msg), "%zu location%s; location %s lists %zu tag%s on its first page",
			 p->n, p->n == 1 ? "" : "s", p->locs[0].id, json_object_array_length(list),
			 json_object_array_length(list) == 1 ? "" : "s");
	}
	t->poll = NULL;
	poll_free(p);
	t->host->finish(job, rc, msg);
}

static int tags_check(void *state, hlb_job *job)
{
	struct tags *t = state;

	if (t->poll) {
		t->host->finish(job, HLB_EINVAL, "a poll is running");
		return HLB_EINVAL;
	}
	t->poll = poll_new(t, job, 1);
	if (!t->poll) {
		t->host->finish(job, HLB_ENOMEM, "out of memory");
		return HLB_ENOMEM;
	}
	return HLB_OK;
}

static void tags_free(struct tags *t)
{
	if (!t)
		return;
	poll_free(t->poll);
	ghl_client_free(t->client);
	free(t->auth);
	free(t->locations);
	free(t->search);
	free(t);
}

static void tags_fini(void *state)
{
	tags_free(state);
}

const hlb_plugin HLB_PLUGIN_EXPORT(ghl_tags) = {
	HLB_PLUGIN_HEADER,
	.caps = HLB_CAP_SOURCE,
	.name = PLUGIN,
	.version = "1.0",
	.summary = "GoHighLevel Social Planner tags: created, changed and deleted tags of each location",
	.options = options,
	.init = tags_init,
	.check = tags_check,
	.poll = tags_poll,
	.fini = tags_fini,
};
