/* The `ghl` module as a source: the `contacts` stream lists every
 * contact of each location (POST /contacts/search, page by page) and
 * compares a content hash per contact with the one kept in the state
 * store, committed with the poll's checkpoint per location. The other
 * streams (the catalog's Trigger rows) are read after it, per location,
 * by ghl_streams.c. */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "hlbridge/hlbridge.h"
#include "ghl_module.h"
#include "ghl_streams.h"
#include "ghl_webhook.h"
#include "../common/echo.h"

int ghl_source_init(struct ghl *g)
{
	const hlb_host *host = g->host;
	const char *streams = host->option(g->inst, "streams");
	int64_t page = host->option_int(g->inst, "page_size", 100);
	int rc;

	if (!host->option(g->inst, "location_id")) {
		host->option_error(g->inst, "location_id", "a ghl source needs location_id (ids, or *)");
		return HLB_EINVAL;
	}
	if (page < 1 || page > MAX_PAGE_SIZE) {
		host->option_error(g->inst, "page_size", "must be from 1 to %d (got %" PRId64 ")", MAX_PAGE_SIZE,
				   page);
		return HLB_EINVAL;
	}
	g->page_size = (unsigned)page;
	rc = ghl_streams_init(g, &g->contacts_stream, &g->streams);
	if (rc == HLB_OK && !g->contacts_stream && !g->streams) {
		host->option_error(g->inst, "streams", "names no stream (got '%s')", streams ? streams : "");
		rc = HLB_EINVAL;
	}
	if (rc == HLB_OK)
		rc = ghl_location_option_check(host, g->inst);
	if (rc == HLB_OK)
		rc = ghl_concurrency_option(host, g->inst, &g->concurrency);
	if (rc != HLB_OK)
		return rc;
	g->locations = strdup(host->option(g->inst, "location_id"));
	return g->locations ? HLB_OK : HLB_ENOMEM;
}


/* ---- polling ------------------------------------------------------------------------ */

struct cloc {
	ghl_fanout_loc head;  /* first: the run's part (the fan-out's) */
	ghl_call *call;
	hlb_auth_call *auth;  /* a check of a source without the contacts stream */
	ghl_srun *run;        /* the trigger streams, after the contacts */
	json_object *old;     /* contactId -> its fields as last committed; or NULL */
	int64_t old_ms;       /* when the poll that saw them started */
	json_object *snap;    /* the same, being built */
	unsigned pages;
	unsigned page;        /* the next page (1-based) when there is no searchAfter */
	json_object *after;   /* the searchAfter of the next page, or NULL */
	char first_id[GHL_ID_MAX]; /* the first contact of the previous page */
	size_t seen;
	int changed;
};

static struct ghl *ghl_of(const struct cloc *l)
{
	return l->head.fanout->spec.arg;
}

static void cloc_clear(ghl_fanout_loc *head)
{
	struct cloc *l = (struct cloc *)head;

	ghl_call_cancel(l->call);
	l->call = NULL;
	if (l->auth)
		ghl_of(l)->host->auth_cancel(l->auth);
	l->auth = NULL;
	ghl_streams_cancel(&l->run);
	json_object_put(l->old);
	json_object_put(l->snap);
	json_object_put(l->after);
	l->old = l->snap = l->after = NULL;
}

static void poll_end(ghl_fanout *f)
{
	struct ghl *g = f->spec.arg;
	char msg[GHL_FANOUT_ERROR_LEN + 128];

	if (g->changed || g->deleted || g->echoes || f->failed)
		g->host->log(g->inst, f->failed ? HLB_LOG_WARN : HLB_LOG_INFO, "poll: %zu locations: %zu contacts "
			     "or items changed, %zu deleted, %zu own writes skipped, %zu locations failed", f->n,
			     g->changed, g->deleted, g->echoes, f->failed);
	if (f->failed) {
		snprintf(msg, sizeof(msg), "%zu of %zu locations failed (first: %s); their contacts and items are "
			 "read again next time", f->failed, f->n, f->first_error);
		ghl_fanout_finish(f, HLB_EFAIL, msg);
		return;
	}
	ghl_fanout_finish(f, HLB_OK, NULL);
}

static void search_next(struct cloc *l);

/* After each page: how far the poll got, for the terminal and the status
 * page. The total is known once every location's first page told its own. */
static void report_progress(struct cloc *l, size_t n, json_object *total)
{
	struct ghl *g = ghl_of(l);
	ghl_fanout *f = l->head.fanout;

	if (l->pages == 1 && total && json_object_is_type(total, json_type_int) && json_object_get_int64(total) >= 0) {
		g->total += (uint64_t)json_object_get_int64(total);
		g->totals_known++;
	}
	g->listed += n;
	g->pages++;
	if (HLB_HOST_HAS(g->host, progress) && g->host->progress)
		/* the trigger streams count too, and report no totals */
		g->host->progress(f->job, g->listed, g->totals_known == f->n && !g->streams ? g->total : 0, g->pages);
}

static int emit(struct cloc *l, const char *id, hlb_op op, int64_t when, json_object *body)
{
	struct ghl *g = ghl_of(l);
	char key[GHL_ID_MAX * 2 + 2];
	hlb_record *rec;

	ghl_record_key(key, sizeof(key), l->head.id, id);
	rec = g->host->record_new(STREAM_CONTACTS, key, op, when, body);
	if (rec && g->host->emit(l->head.fanout->job, rec) == HLB_OK)
		return HLB_OK;
	g->host->log(g->inst, HLB_LOG_ERROR, "location %s: contact %s could not be emitted", l->head.id, id);
	return HLB_EFAIL;
}

/* One contact of a search page: emitted when new or changed, unless
 * hlbridge's own writes since the last poll explain the change. */
static int on_contact(struct cloc *l, json_object *c)
{
	struct ghl *g = ghl_of(l);
	const char *id = ghl_json_string(c, "id");
	const char *updated = ghl_json_string(c, "dateUpdated");
	json_object *view, *old = NULL, *body = NULL;
	char object[OBJECT_LEN];
	int64_t when;

	if (!id || !*id || strlen(id) >= GHL_ID_MAX) {
		g->host->log(g->inst, HLB_LOG_WARN, "location %s: skipping a contact without a usable id", l->head.id);
		return HLB_OK;
	}
	if (json_object_object_get_ex(l->snap, id, NULL))
		return HLB_OK; /* listed twice (the list moved between pages) */
	/* Only what the record carries: a change elsewhere in the contact
	 * (its address, its dateUpdated) would be a record of nothing new. */
	view = ghl_contact_view(c, NULL);
	if (!view)
		return HLB_ENOMEM;
	json_object_object_add(l->snap, id, view);
	if (l->old)
		json_object_object_get_ex(l->old, id, &old);
	if (old && json_object_equal(old, view))
		return HLB_OK;
	l->changed = 1;
	snprintf(object, sizeof(object), "ghl:%s:contact:%s", l->head.id, id);
	if (echo_explains(g->host, g->inst, object, old, l->old_ms, view, ghl_contact_fields)) {
		g->host->log(g->inst, HLB_LOG_DEBUG, "%s: the change is hlbridge's own write; not emitted", object);
		g->echoes++;
		return HLB_OK;
	}
	body = ghl_contact_record(view, l->head.id, id, updated, "poll");
	if (!body)
		return HLB_ENOMEM;
	when = ghl_parse_time(updated);
	if (emit(l, id, HLB_OP_UPSERT, when >= 0 ? when : l->head.fanout->started_ms, body) != HLB_OK) {
		/* not saved as seen, so that the next poll reports it */
		if (old)
			json_object_object_add(l->snap, id, json_object_get(old));
		else
			json_object_object_del(l->snap, id);
		return HLB_OK;
	}
	g->changed++;
	return HLB_OK;
}

/* The contacts are done: then the trigger streams, if any. */
static void loc_next(struct cloc *l)
{
	struct ghl *g = ghl_of(l);

	if (g->streams)
		ghl_streams_loc_start(g, g->streams, &l->head, &l->run);
	else
		ghl_fanout_done(&l->head, NULL);
}

/* The listing is complete: contacts it no longer shows are deletions
 * (unless it showed fewer than the API counts: then it was cut short, and
 * absence proves nothing); then the fields seen are committed with the
 * records. */
static void loc_end(struct cloc *l, int64_t total)
{
	struct ghl *g = ghl_of(l);
	hlb_job *job = l->head.fanout->job;
	char key[GHL_ID_MAX + 16];
	json_object *state;
	size_t seen = (size_t)json_object_object_length(l->snap);

	if (l->old && total >= 0 && seen < (uint64_t)total) {
		g->host->log(g->inst, HLB_LOG_WARN, "location %s: the search listed %zu contacts of %lld; no contact "
			     "is reported deleted this time", l->head.id, seen, (long long)total);
		/* keep what the listing missed, so it is not reported new later */
		json_object_object_foreach(l->old, mid, mv)
			if (!json_object_object_get_ex(l->snap, mid, NULL))
				json_object_object_add(l->snap, mid, json_object_get(mv));
	} else if (l->old) {
		json_object_object_foreach(l->old, id, value) {
			json_object *body;
			char object[OBJECT_LEN];

			(void)value;
			if (json_object_object_get_ex(l->snap, id, NULL) || strlen(id) >= GHL_ID_MAX)
				continue;
			snprintf(object, sizeof(object), "ghl:%s:contact:%s", l->head.id, id);
			body = json_object_new_object();
			json_object_object_add(body, "locationId", json_object_new_string(l->head.id));
			json_object_object_add(body, "contactId", json_object_new_string(id));
			json_object_object_add(body, "object", json_object_new_string(object));
			json_object_object_add(body, "source", json_object_new_string("poll"));
			l->changed = 1;
			if (emit(l, id, HLB_OP_DELETE, l->head.fanout->started_ms, body) != HLB_OK) {
				json_object_object_add(l->snap, id, json_object_get(value));
				continue;
			}
			g->deleted++;
		}
	}
	if (l->changed || !l->old) {
		/* with the poll's start: a write after it is new to the next poll */
		snprintf(key, sizeof(key), "contacts:%s", l->head.id);
		state = json_object_new_object();
		if (state) {
			json_object_object_add(state, "t", json_object_new_int64(l->head.fanout->started_ms));
			json_object_object_add(state, "c", l->snap);
			l->snap = NULL;
		}
		if (!state || g->host->state_put(g->inst, job, key, state) != HLB_OK)
			g->host->log(g->inst, HLB_LOG_ERROR, "location %s: the contacts seen were not saved; the "
				     "same changes will be reported again", l->head.id);
		if (HLB_HOST_HAS(g->host, checkpoint) && g->host->checkpoint(job) != HLB_OK)
			g->host->log(g->inst, HLB_LOG_ERROR, "location %s: its checkpoint could not be queued; this "
				     "poll is read again after a restart", l->head.id);
	}
	loc_next(l);
}

static void on_search(void *arg, const ghl_reply *reply)
{
	struct cloc *l = arg;
	struct ghl *g = ghl_of(l);
	json_object *list = ghl_json_at(reply->json, "contacts"), *last, *after = NULL;
	json_object *total = ghl_json_at(reply->json, "total");
	const char *first;
	size_t n;

	l->call = NULL;
	if (reply->rc != HLB_OK) {
		ghl_fanout_done(&l->head, reply);
		return;
	}
	if (!list || !json_object_is_type(list, json_type_array)) {
		ghl_fanout_fail(&l->head, HLB_EPARSE, "POST /contacts/search for location %s: the answer has no "
				"contacts array", l->head.id);
		return;
	}
	n = json_object_array_length(list);
	first = n ? ghl_json_string(json_object_array_get_idx(list, 0), "id") : NULL;
	if (first && l->pages > 1 && strcmp(first, l->first_id) == 0) {
		ghl_fanout_fail(&l->head, HLB_EFAIL, "POST /contacts/search for location %s: page %u repeats the "
				"page before (the API ignores the paging); stopped", l->head.id, l->pages);
		return;
	}
	snprintf(l->first_id, sizeof(l->first_id), "%s", first ? first : "");
	for (size_t i = 0; i < n; i++)
		if (on_contact(l, json_object_array_get_idx(list, i)) != HLB_OK) {
			ghl_fanout_fail(&l->head, HLB_ENOMEM, "out of memory");
			return;
		}
	l->seen += n;
	report_progress(l, n, total);
	if (n < g->page_size || (total && json_object_is_type(total, json_type_int) &&
				 (int64_t)l->seen >= json_object_get_int64(total))) {
		loc_end(l, total && json_object_is_type(total, json_type_int) ? json_object_get_int64(total) : -1);
		return;
	}
	if (l->pages >= MAX_SEARCH_PAGES) {
		ghl_fanout_fail(&l->head, HLB_ETOOBIG, "location %s: more than %d pages of contacts; stopped",
				l->head.id, MAX_SEARCH_PAGES);
		return;
	}
	last = json_object_array_get_idx(list, n - 1);
	json_object_put(l->after);
	l->after = NULL;
	if (json_object_object_get_ex(last, "searchAfter", &after) && json_object_is_type(after, json_type_array))
		l->after = json_object_get(after);
	l->page++;
	search_next(l);
}

/* POST /contacts/search {locationId, pageLimit, page | searchAfter} */
static void search_next(struct cloc *l)
{
	struct ghl *g = ghl_of(l);
	const ghl_op *op = ghl_op_find("contacts.search");
	json_object *body = json_object_new_object();

	if (!body) {
		ghl_fanout_fail(&l->head, HLB_ENOMEM, "out of memory");
		return;
	}
	json_object_object_add(body, "locationId", json_object_new_string(l->head.id));
	json_object_object_add(body, "pageLimit", json_object_new_int((int)g->page_size));
	if (l->after)
		json_object_object_add(body, "searchAfter", json_object_get(l->after));
	else
		json_object_object_add(body, "page", json_object_new_int((int)l->page));
	l->pages++;
	l->call = ghl_request(g->client, l->head.id, op->info.method, op->version, op->info.path, body, on_search, l);
	json_object_put(body);
	if (!l->call)
		ghl_fanout_fail(&l->head, HLB_ENOMEM, "POST /contacts/search: could not be started (out of memory)");
}

static void cloc_start(ghl_fanout_loc *head)
{
	struct cloc *l = (struct cloc *)head;
	struct ghl *g = ghl_of(l);
	char key[GHL_ID_MAX + 16];
	json_object *saved;

	if (!g->contacts_stream) {
		loc_next(l);
		return;
	}
	snprintf(key, sizeof(key), "contacts:%s", l->head.id);
	saved = g->host->state_get(g->inst, key);
	if (saved && (!json_object_object_get_ex(saved, "c", &l->old) || !json_object_is_type(l->old, json_type_object))) {
		g->host->log(g->inst, HLB_LOG_WARN, "location %s: the stored contacts are not readable; every contact "
			     "is reported again", l->head.id);
		l->old = NULL;
	}
	if (l->old) {
		json_object *t = NULL;

		json_object_get(l->old);
		json_object_object_get_ex(saved, "t", &t);
		l->old_ms = json_object_get_int64(t);
	}
	json_object_put(saved);
	l->snap = json_object_new_object();
	if (!l->snap) {
		ghl_fanout_fail(&l->head, HLB_ENOMEM, "out of memory");
		return;
	}
	l->page = 1;
	search_next(l);
}

static void on_check(void *arg, const ghl_reply *reply)
{
	struct cloc *l = arg;
	ghl_fanout *f = l->head.fanout;
	json_object *total = ghl_json_at(reply->json, "total");
	char msg[GHL_FANOUT_ERROR_LEN + 128];

	l->call = NULL;
	if (reply->rc != HLB_OK)
		snprintf(msg, sizeof(msg), "%s%s", reply->error, ghl_login_hint(reply->needs_login, reply->error));
	else
		snprintf(msg, sizeof(msg), "%zu location%s; location %s has %s contacts", f->n, f->n == 1 ? "" : "s",
			 l->head.id, total ? json_object_get_string(total) : "some");
	ghl_fanout_finish(f, reply->rc, msg);
}

static void on_check_token(void *arg, const hlb_auth_result *res)
{
	struct cloc *l = arg;
	struct ghl *g = ghl_of(l);
	ghl_fanout *f = l->head.fanout;
	char msg[GHL_FANOUT_ERROR_LEN + 128];

	l->auth = NULL;
	if (res->rc != HLB_OK)
		snprintf(msg, sizeof(msg), "[auth:%s] gives no token: %s%s", g->auth, res->message ? res->message : "",
			 ghl_login_hint(res->needs_login, res->message ? res->message : ""));
	else
		snprintf(msg, sizeof(msg), "%zu location%s; [auth:%s] gives a token (a check reads no trigger "
			 "stream: the first poll does)", f->n, f->n == 1 ? "" : "s", g->auth);
	ghl_fanout_finish(f, res->rc, msg);
}

/* A check searches the first location for one contact; a source without
 * the contacts stream (its triggers may need other scopes, or an agency
 * token) only asks its credential for a token. */
static void cloc_check(ghl_fanout_loc *head)
{
	struct cloc *l = (struct cloc *)head;
	struct ghl *g = ghl_of(l);
	json_object *body;

	if (!g->contacts_stream && HLB_HOST_HAS(g->host, auth_cancel)) {
		l->auth = g->host->auth_token(g->inst, g->auth, NULL, on_check_token, l);
		if (!l->auth)
			ghl_fanout_finish(head->fanout, HLB_ENOMEM,
					  "the credential could not be asked (out of memory)");
		return;
	}
	body = json_object_new_object();
	if (body) {
		json_object_object_add(body, "locationId", json_object_new_string(l->head.id));
		json_object_object_add(body, "pageLimit", json_object_new_int(1));
		l->call = ghl_request(g->client, l->head.id, "POST", GHL_VERSION, "/contacts/search", body, on_check, l);
		json_object_put(body);
	}
	if (!l->call)
		ghl_fanout_finish(head->fanout, HLB_ENOMEM, "the contacts could not be searched (out of memory)");
}

int ghl_source_start(struct ghl *g, hlb_job *job, int check)
{
	const ghl_fanout_spec spec = {
		.client = g->client,
		.locations = g->locations,
		.loc_size = sizeof(struct cloc),
		.concurrency = g->concurrency,
		.arg = g,
		.start = cloc_start,
		.check = cloc_check,
		.clear = cloc_clear,
		.end = poll_end,
	};
	int rc = ghl_fanout_start(&spec, job, check, &g->poll);

	if (rc == HLB_OK) {
		g->changed = g->deleted = g->echoes = 0;
		g->listed = g->pages = g->total = 0;
		g->totals_known = 0;
	}
	return rc;
}


void ghl_source_free(struct ghl *g)
{
	ghl_fanout_free(g->poll);
	ghl_streams_free(g->streams);
	free(g->locations);
}
