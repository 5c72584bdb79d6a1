/* See ghl_streams.h. */
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
#include "ghl_pager.h"
#include "ghl_streams.h"
#include "ghl_raw.h"
#include "ghl_webhook.h"

#define MAX_SETS 1000        /* request sequences per stream and location */
#define MAX_REF_SETS 10000   /* the same, from the ids of another stream (@STREAM) */
#define NAME_LEN 64
#define KEY_LEN 256

struct stream {
	const ghl_op *op;
	json_object *sets;   /* array of objects: the param values of each request sequence */
	/* param.NAME = @STREAM: NAME takes, per location, the ids STREAM (an
	 * earlier one) lists in the same poll; one sequence per id x set */
	size_t ref;          /* that stream's index, or NO_REF */
	char ref_name[NAME_LEN];
	int referenced;      /* a later stream takes this one's ids */
};

#define NO_REF ((size_t)-1)

struct ghl_streams {
	struct stream *v;
	size_t n;
	unsigned max_pages, checkpoint_pages;
	int64_t back_ms, ahead_ms;
};

void ghl_streams_free(ghl_streams *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		json_object_put(s->v[i].sets);
	free(s->v);
	free(s);
}

/* ---- configuration ----------------------------------------------------------------- */

static int from_context(const char *name)
{
	return strcmp(name, "locationId") == 0 || strcmp(name, "companyId") == 0;
}

/* 1 when `name` fills a {placeholder} of the path (a list of values is
 * then one request sequence per value). */
static int is_placeholder(const ghl_op *op, const char *name)
{
	const char *p = NULL;
	ghl_op_item it;

	while (ghl_op_placeholder_next(op, &p, &it))
		if (strcmp(it.member, name) == 0)
			return 1;
	return 0;
}

static int need(struct ghl *g, const ghl_op *op, const char *name)
{
	char key[NAME_LEN + 8];

	if (from_context(name))
		return 0;
	snprintf(key, sizeof(key), "param.%s", name);
	if (g->host->option(g->inst, key) && *g->host->option(g->inst, key))
		return 0;
	g->host->option_error(g->inst, "streams", "stream %s needs param.%s", op->info.name, name);
	return 1;
}

/* Every {placeholder} and "name!" (query or body) of the row must have
 * a value. */
static int check_required(struct ghl *g, const ghl_op *op)
{
	const char *p = NULL;
	ghl_op_item it;
	int bad = 0;

	while (ghl_op_placeholder_next(op, &p, &it))
		bad |= need(g, op, it.member);
	for (int part = 0; part < 2; part++) {
		p = part ? op->body : op->params;
		while (p && ghl_op_item_next(&p, &it))
			if (it.required)
				bad |= need(g, op, it.member);
	}
	return bad;
}

/* sets x values: each set once per value of `name`. NULL when too many
 * or out of memory (*why says which). */
static json_object *expand(json_object *sets, const char *name, const char *list, const char **why)
{
	json_object *out = json_object_new_array();
	const char *p, *w;
	size_t n;

	for (size_t i = 0; out && i < json_object_array_length(sets); i++)
		for (p = list; (w = ghl_list_next(&p, &n));) {
			json_object *set = NULL, *src = json_object_array_get_idx(sets, i);

			if (json_object_array_length(out) >= MAX_SETS) {
				*why = "too many combinations of param values";
				json_object_put(out);
				return NULL;
			}
			if (json_object_deep_copy(src, &set, NULL) != 0) {
				json_object_put(out);
				return NULL;
			}
			json_object_object_add(set, name, json_object_new_string_len(w, (int)n));
			json_object_array_add(out, set);
		}
	return out;
}

/* A param value: JSON when it is written as a JSON array, object,
 * true or false (filters, sort, flags of a body); else the text. NULL
 * when out of memory. (null is no value: the option is then left out.) */
static json_object *param_value(const char *value)
{
	const char *p = value + strspn(value, " \t");
	json_object *v;

	if (*p == '[' || *p == '{' || strcmp(p, "true") == 0 || strcmp(p, "false") == 0) {
		v = json_tokener_parse(p);
		if (v)
			return v;
	}
	return json_object_new_string(value);
}

static int is_null(const char *value)
{
	return strcmp(value + strspn(value, " \t"), "null") == 0;
}

/* param.NAME = @STREAM for stream st (the last of s): STREAM must come
 * before it. Only a path value takes ids this way. */
static int stream_ref(struct ghl *g, ghl_streams *s, struct stream *st, const char *key, const char *value)
{
	const char *name = key + 6, *ref = value + strspn(value, " \t") + 1;
	size_t len = strcspn(ref, " \t");

	if (!is_placeholder(st->op, name))
		return HLB_OK; /* a param of other streams */
	for (size_t i = 0; i + 1 < s->n; i++)
		if (strlen(s->v[i].op->info.name) == len && strncmp(s->v[i].op->info.name, ref, len) == 0 &&
		    st->ref == NO_REF) {
			st->ref = i;
			snprintf(st->ref_name, sizeof(st->ref_name), "%s", name);
			s->v[i].referenced = 1;
			return HLB_OK;
		}
	g->host->option_error(g->inst, key, "%s: '%.*s' must be a Trigger stream listed before %s in streams "
			      "(one such param per stream)", value, (int)len, ref, st->op->info.name);
	return HLB_EINVAL;
}

/* The request sequences of one stream: the param.NAME options, a list
 * for a path placeholder split into one sequence per value. */
static int stream_sets(struct ghl *g, ghl_streams *s, struct stream *st)
{
	const char *key, *value, *why = "out of memory";
	size_t cursor = 0;
	json_object *sets = json_object_new_array(), *one = json_object_new_object();

	if (!sets || !one) {
		json_object_put(sets);
		json_object_put(one);
		return HLB_ENOMEM;
	}
	json_object_array_add(sets, one);
	while (g->host->option_next(g->inst, &cursor, &key, &value, NULL)) {
		const char *name = key + 6;

		if (strncmp(key, "param.", 6) != 0 || !*name || !value || is_null(value))
			continue;
		if (value[strspn(value, " \t")] == '@') {
			int rc = stream_ref(g, s, st, key, value);

			if (rc != HLB_OK) {
				json_object_put(sets);
				return rc;
			}
			continue;
		}
		if (is_placeholder(st->op, name)) {
			json_object *more = expand(sets, name, value, &why);

			json_object_put(sets);
			sets = more;
			if (!sets) {
				g->host->option_error(g->inst, key, "%s", why);
				return strcmp(why, "out of memory") ? HLB_EINVAL : HLB_ENOMEM;
			}
			continue;
		}
		for (size_t i = 0; i < json_object_array_length(sets); i++) {
			json_object *v = param_value(value);

			if (!v) {
				json_object_put(sets);
				return HLB_ENOMEM;
			}
			json_object_object_add(json_object_array_get_idx(sets, i), name, v);
		}
	}
	st->sets = sets;
	return HLB_OK;
}

static int add_stream(struct ghl *g, ghl_streams *s, const char *name)
{
	const ghl_op *op = ghl_op_find(name);
	struct stream *v;

	if (!ghl_op_is_stream(op)) {
		g->host->option_error(g->inst, "streams", "no stream '%s': the streams are contacts and the "
				      "Trigger operations `hlbridge plugins ghl` lists", name);
		return HLB_EINVAL;
	}
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].op == op)
			return HLB_OK;
	if (check_required(g, op))
		return HLB_EINVAL;
	v = realloc(s->v, (s->n + 1) * sizeof(*v));
	if (!v)
		return HLB_ENOMEM;
	s->v = v;
	memset(&v[s->n], 0, sizeof(v[s->n]));
	v[s->n].op = op;
	v[s->n].ref = NO_REF;
	s->n++;
	return stream_sets(g, s, &v[s->n - 1]);
}

static int read_limits(struct ghl *g, ghl_streams *s)
{
	const hlb_host *host = g->host;
	int64_t pages = host->option_int(g->inst, "max_pages", 1000);
	int64_t ck = host->option_int(g->inst, "checkpoint_pages", 50);

	if (pages < 1 || pages > 1000000) {
		host->option_error(g->inst, "max_pages", "must be from 1 to 1000000");
		return HLB_EINVAL;
	}
	if (ck < 1 || ck > 1000000) {
		host->option_error(g->inst, "checkpoint_pages", "must be from 1 to 1000000");
		return HLB_EINVAL;
	}
	s->max_pages = (unsigned)pages;
	s->checkpoint_pages = (unsigned)ck;
	s->back_ms = host->option_ms(g->inst, "window_back", 7 * GHL_DAY_MS);
	s->ahead_ms = host->option_ms(g->inst, "window_ahead", 30 * GHL_DAY_MS);
	if (s->back_ms < 0 || s->ahead_ms < 0 || s->back_ms + s->ahead_ms <= 0) {
		host->option_error(g->inst, "window_back", "window_back + window_ahead must be more than 0");
		return HLB_EINVAL;
	}
	return HLB_OK;
}

int ghl_streams_init(struct ghl *g, int *contacts, ghl_streams **out)
{
	const char *p = g->host->option(g->inst, "streams"), *w;
	ghl_streams *s = calloc(1, sizeof(*s));
	size_t n;
	int rc = s ? read_limits(g, s) : HLB_ENOMEM;

	*out = NULL;
	*contacts = 0;
	if (!p)
		p = "contacts";
	/* every refused stream is told, not only the first */
	while (rc != HLB_ENOMEM && s && (w = ghl_list_next(&p, &n))) {
		char name[NAME_LEN];
		int one = HLB_OK;

		snprintf(name, sizeof(name), "%.*s", (int)n, w);
		if (strcmp(name, "contacts") == 0)
			*contacts = 1;
		else
			one = add_stream(g, s, name);
		if (one != HLB_OK)
			rc = one;
	}
	if (rc != HLB_OK || !s->n) {
		ghl_streams_free(s);
		return rc;
	}
	*out = s;
	return HLB_OK;
}

/* ---- one location's run ---------------------------------------------------------------- */

struct ghl_srun {
	struct ghl *g;
	ghl_streams *s;
	ghl_fanout_loc *head;
	size_t si, pi;          /* the stream and its param set at work */
	int agency;             /* the first location also reads the agency rows */
	ghl_pg pg;
	ghl_call *call;
	hlb_auth_call *auth;    /* asking the credential for its companyId */
	json_object *vars;      /* the set's values (+ companyId) */
	json_object *old;       /* id -> hash as last committed (borrowed from saved), or NULL */
	json_object *saved;     /* the stored state */
	json_object *snap;      /* id -> hash of this listing */
	char key[KEY_LEN];
	unsigned since_ckpt;
	int resumed;            /* a resume point is stored: the end must drop it */
	uint64_t listed0;       /* the poll's items listed before this sequence */
	json_object *sets;      /* the stream's sequences (borrowed, or owned_sets); NULL: none */
	json_object *owned_sets;
	json_object **lists;    /* per referenced stream: the snapshots its sequences listed */
	int fail_rc;            /* the first failed sequence's code, HLB_OK none */
	unsigned failed;        /* failed sequences */
	char fail_msg[GHL_FANOUT_ERROR_LEN];
	/* next_seq is at work: a sequence that ends before its first request
	 * (a value that cannot be sent) asks for the next one through `again`
	 * instead of a call, so that thousands of them cannot exhaust the stack */
	int in_next, again;
};

static void seq_clear(ghl_srun *r)
{
	ghl_call_cancel(r->call);
	r->call = NULL;
	if (r->auth)
		r->g->host->auth_cancel(r->auth);
	r->auth = NULL;
	ghl_pg_clear(&r->pg);
	json_object_put(r->vars);
	json_object_put(r->saved);
	json_object_put(r->snap);
	r->vars = r->saved = r->snap = NULL;
	r->old = NULL;
}

static void run_free(ghl_srun *r)
{
	seq_clear(r);
	json_object_put(r->owned_sets);
	for (size_t i = 0; r->lists && i < r->s->n; i++)
		json_object_put(r->lists[i]);
	free(r->lists);
	free(r);
}

void ghl_streams_cancel(ghl_srun **slot)
{
	ghl_srun *r = *slot;

	if (!r)
		return;
	run_free(r);
	*slot = NULL;
}

static const ghl_op *cur_op(const ghl_srun *r)
{
	return r->s->v[r->si].op;
}

static const char *loc_of(const ghl_srun *r)
{
	return (cur_op(r)->flags & GHL_OPF_AGENCY) ? NULL : r->head->id;
}

static void seq_start(ghl_srun *r);
static void request(ghl_srun *r);
static void next_seq(ghl_srun *r);

/* Ends the sequence at work without storing it as done: logged and
 * remembered, and the run goes on with the next one (a deleted contact
 * or a scope missing for one stream must not starve the others); the
 * location fails with the first error once all sequences ran. */
static void run_fail(ghl_srun *r, int rc, const char *what)
{
	char msg[GHL_FANOUT_ERROR_LEN];
	json_object *set = json_object_array_get_idx(r->sets, r->pi);

	snprintf(msg, sizeof(msg), "stream %s, location %s: %s", cur_op(r)->info.name, r->head->id, what);
	r->g->host->log(r->g->inst, HLB_LOG_ERROR, "%s (params %s)", msg,
			json_object_object_length(set) ? json_object_to_json_string_ext(set, JSON_C_TO_STRING_PLAIN)
							: "none");
	if (!r->failed++) {
		r->fail_rc = rc;
		memcpy(r->fail_msg, msg, sizeof(msg));
	}
	next_seq(r);
}

/* The sequences of a stream that takes the ids of an earlier one: each
 * set once per id that stream listed for this location (NULL: none, or
 * out of memory). */
static json_object *ref_sets(ghl_srun *r, const struct stream *st)
{
	json_object *out = json_object_new_array(), *seen = json_object_new_object(), *snaps = r->lists[st->ref];
	int full = 0;

	for (size_t k = 0; out && seen && !full && k < json_object_array_length(snaps); k++) {
		json_object_object_foreach(json_object_array_get_idx(snaps, k), id, hash) {
			(void)hash;
			if (!out || json_object_object_get_ex(seen, id, NULL))
				continue;
			if (json_object_array_length(out) >= MAX_REF_SETS) {
				/* bounded by the data a server sends: a loud, partial read */
				r->g->host->log(r->g->inst, HLB_LOG_WARN, "stream %s, location %s: %s listed more than "
						"%d ids; only the first %d are read this poll", st->op->info.name,
						r->head->id, r->s->v[st->ref].op->info.name, MAX_REF_SETS,
						MAX_REF_SETS);
				full = 1;
				break;
			}
			json_object_object_add(seen, id, NULL);
			for (size_t i = 0; out && i < json_object_array_length(st->sets); i++) {
				json_object *set = NULL;

				if (json_object_deep_copy(json_object_array_get_idx(st->sets, i), &set, NULL) != 0 ||
				    json_object_object_add(set, st->ref_name, json_object_new_string(id)) != 0 ||
				    json_object_array_add(out, set) != 0) {
					json_object_put(set);
					json_object_put(out);
					out = NULL;
				}
			}
		}
	}
	json_object_put(seen);
	return out;
}

/* Enters stream r->si: its sequences in r->sets. */
static void stream_enter(ghl_srun *r)
{
	const struct stream *st = &r->s->v[r->si];

	json_object_put(r->owned_sets);
	r->owned_sets = NULL;
	r->sets = st->sets;
	/* the agency rows are the company's: read once, with the first location */
	if ((st->op->flags & GHL_OPF_AGENCY) && !r->agency) {
		r->sets = NULL;
	} else if (st->ref != NO_REF) {
		r->sets = r->owned_sets = ref_sets(r, st);
		if (!r->sets)
			r->g->host->log(r->g->inst, HLB_LOG_ERROR, "stream %s, location %s: out of memory",
					st->op->info.name, r->head->id);
		else if (!json_object_array_length(r->sets))
			r->g->host->log(r->g->inst, HLB_LOG_INFO, "stream %s, location %s: %s listed no %s",
					st->op->info.name, r->head->id, r->s->v[st->ref].op->info.name, st->ref_name);
	}
}

/* A referenced stream's sequence listed its items: kept for the
 * streams that take their ids. */
static void keep_list(ghl_srun *r)
{
	if (!r->s->v[r->si].referenced || !r->snap)
		return;
	if (!r->lists[r->si])
		r->lists[r->si] = json_object_new_array();
	if (r->lists[r->si])
		json_object_array_add(r->lists[r->si], json_object_get(r->snap));
}

static void next_seq(ghl_srun *r)
{
	if (r->in_next) {
		r->again = 1;
		return;
	}
	r->in_next = 1;
	do {
		r->again = 0;
		seq_clear(r);
		r->pi++;
		while (r->si < r->s->n && r->pi >= (r->sets ? json_object_array_length(r->sets) : 0)) {
			r->pi = 0;
			if (++r->si < r->s->n)
				stream_enter(r);
		}
		if (r->si >= r->s->n) {
			/* the run is freed by the fan-out's clear: not touched after */
			r->in_next = 0;
			if (r->failed > 1)
				ghl_fanout_fail(r->head, r->fail_rc, "%s (and %u more failed request sequences: see "
						"the log)", r->fail_msg, r->failed - 1);
			else if (r->failed)
				ghl_fanout_fail(r->head, r->fail_rc, "%s", r->fail_msg);
			else
				ghl_fanout_done(r->head, NULL);
			return;
		}
		seq_start(r);
	} while (r->again);
	r->in_next = 0;
}

/* The state: {"h": {id: hash}} and, inside a backfill, "resume": the
 * pager's state with "snap", the hashes listed so far. */
static int save(ghl_srun *r, int resume)
{
	const hlb_host *host = r->g->host;
	hlb_job *job = r->head->fanout->job;
	json_object *state = json_object_new_object(), *res = NULL, *snap = NULL;

	if (!state)
		return HLB_ENOMEM;
	if (resume) {
		res = ghl_pg_save(&r->pg);
		if (!res || json_object_deep_copy(r->snap, &snap, NULL) != 0) {
			json_object_put(res);
			json_object_put(state);
			return HLB_ENOMEM;
		}
		json_object_object_add(res, "snap", snap);
		json_object_object_add(state, "resume", res);
		if (r->old)
			json_object_object_add(state, "h", json_object_get(r->old));
	} else {
		json_object_object_add(state, "h", json_object_get(r->snap));
	}
	if (host->state_put(r->g->inst, job, r->key, state) != HLB_OK)
		return HLB_EFAIL;
	if (HLB_HOST_HAS(host, checkpoint) && host->checkpoint(job) != HLB_OK)
		return HLB_EFAIL;
	return HLB_OK;
}

static int emit_item(ghl_srun *r, const char *id, json_object *item)
{
	const hlb_host *host = r->g->host;
	char key[GHL_ID_MAX * 2 + 2];
	json_object *body = NULL;
	hlb_record *rec;

	if (json_object_is_type(item, json_type_object)) {
		if (json_object_deep_copy(item, &body, NULL) != 0)
			return HLB_ENOMEM;
	} else {
		body = json_object_new_object();
		if (!body)
			return HLB_ENOMEM;
		json_object_object_add(body, "value", json_object_get(item));
	}
	if (loc_of(r))
		json_object_object_add(body, "locationId", json_object_new_string(r->head->id));
	ghl_record_key(key, sizeof(key), loc_of(r) ? r->head->id : "agency", id);
	rec = host->record_new(cur_op(r)->info.name, key, HLB_OP_UPSERT, r->head->fanout->started_ms, body);
	if (!rec || host->emit(r->head->fanout->job, rec) != HLB_OK)
		return HLB_EFAIL;
	return HLB_OK;
}

/* The member naming an item: free slots' items are days */
static const char *item_key(const ghl_op *op)
{
	return op->paging == GHL_PAGING_DATE_WINDOW && !op->id_key ? "date" : op->id_key;
}

/* A day of free slots is a calendar's: the values of the path (the
 * calendarId) go into the item and before its date in its id ("CAL:
 * 2026-12-01"), so that two calendars' days are two records. */
static int day_scope(ghl_srun *r, json_object *item, char *scope, size_t len)
{
	const char *p = NULL, *v;
	ghl_op_item it;
	size_t used = 0;

	while (ghl_op_placeholder_next(cur_op(r), &p, &it)) {
		if (strcmp(it.member, "locationId") == 0 || !(v = ghl_json_string(r->vars, it.member)))
			continue;
		if (json_object_object_add(item, it.member, json_object_new_string(v)) != 0)
			return -1;
		if (used < len)
			used += (size_t)snprintf(scope + used, len - used, "%s:", v);
	}
	/* cut short, the scope and its date are too long for an id: on_item
	 * lets the hash stand in */
	return 0;
}

/* One item: emitted when its id is new or its hash changed. */
static int on_item(ghl_srun *r, json_object *item)
{
	char id[GHL_PG_CURSOR_LEN], hash[17];
	const char *old;

	char scope[GHL_ID_MAX] = "";

	if (cur_op(r)->paging == GHL_PAGING_DATE_WINDOW && day_scope(r, item, scope, sizeof(scope)) < 0)
		return HLB_ENOMEM;
	ghl_item_hash(item, hash);
	if (ghl_item_id(item, item_key(cur_op(r)), id, sizeof(id)) < 0 || strlen(id) + strlen(scope) >= GHL_ID_MAX)
		memcpy(id, hash, sizeof(hash)); /* no id: the content is its identity */
	else if (*scope) {
		size_t a = strlen(scope), b = strlen(id);

		/* a + b < GHL_ID_MAX <= sizeof(id), checked above */
		memmove(id + a, id, b + 1);
		memcpy(id, scope, a);
	}
	if (json_object_object_get_ex(r->snap, id, NULL))
		return HLB_OK; /* listed twice (the list moved between pages) */
	old = r->old ? ghl_json_string(r->old, id) : NULL;
	if (old && strcmp(old, hash) == 0) {
		json_object_object_add(r->snap, id, json_object_new_string(hash));
		return HLB_OK;
	}
	if (emit_item(r, id, item) != HLB_OK) {
		/* not saved as seen, so that the next poll reports it */
		if (old)
			json_object_object_add(r->snap, id, json_object_new_string(old));
		return HLB_OK;
	}
	r->g->changed++;
	json_object_object_add(r->snap, id, json_object_new_string(hash));
	return HLB_OK;
}

static void progress(ghl_srun *r, size_t n)
{
	struct ghl *g = r->g;

	g->listed += n;
	g->pages++;
	/* the total of the listing at work, when its answers give one: an ETA
	 * for the long backfills */
	if (HLB_HOST_HAS(g->host, progress) && g->host->progress)
		g->host->progress(r->head->fanout->job, g->listed,
				  r->pg.total >= 0 ? r->listed0 + (uint64_t)r->pg.total : 0, g->pages);
}

/* The items of an answer: the row's list, or its one object. */
static json_object *answer_items(const ghl_op *op, json_object *answer, json_object **one)
{
	json_object *obj;

	*one = NULL;
	if (op->items)
		return ghl_pg_items(answer, op->items);
	if (op->paging == GHL_PAGING_DATE_WINDOW)
		return (*one = ghl_pg_date_items(op->item ? ghl_json_at(answer, op->item) : answer));
	obj = op->item ? ghl_json_at(answer, op->item) : answer;
	if (!obj)
		return NULL;
	if (json_object_is_type(obj, json_type_array))
		return obj;
	*one = json_object_new_array();
	if (!*one)
		return NULL;
	if (obj == answer && json_object_object_get_ex(obj, "traceId", NULL)) {
		/* the request's trace id, new at each answer, is no member of
		 * the item: kept, it would make every poll's record a change */
		json_object *copy = NULL;

		if (json_object_deep_copy(obj, &copy, NULL) != 0) {
			json_object_put(*one);
			*one = NULL;
			return NULL;
		}
		json_object_object_del(copy, "traceId");
		json_object_array_add(*one, copy);
		return *one;
	}
	json_object_array_add(*one, json_object_get(obj));
	return *one;
}

/* A listing that cannot go on from where it is (a page repeats, a page
 * gives no cursor) must not resume there at every poll for ever: its
 * resume point goes, the next poll lists from the start. */
static void drop_resume(ghl_srun *r)
{
	json_object *state;

	if (!r->resumed)
		return;
	state = json_object_new_object();
	if (!state)
		return;
	json_object_object_add(state, "h", r->old ? json_object_get(r->old) : json_object_new_object());
	/* committed now: the poll fails, and what it put after its last
	 * checkpoint would not be */
	if (r->g->host->state_put(r->g->inst, r->head->fanout->job, r->key, state) != HLB_OK ||
	    (HLB_HOST_HAS(r->g->host, checkpoint) && r->g->host->checkpoint(r->head->fanout->job) != HLB_OK))
		r->g->host->log(r->g->inst, HLB_LOG_ERROR, "stream %s, location %s: its resume point could not be "
				"dropped", cur_op(r)->info.name, r->head->id);
	r->resumed = 0;
}

static void after_page(ghl_srun *r, json_object *answer, json_object *items)
{
	char msg[256];

	switch (ghl_pg_step(&r->pg, answer, items, item_key(cur_op(r)))) {
	case GHL_PG_MORE:
		if (++r->since_ckpt >= r->s->checkpoint_pages) {
			r->since_ckpt = 0;
			r->resumed = 1;
			if (save(r, 1) != HLB_OK)
				r->g->host->log(r->g->inst, HLB_LOG_ERROR, "stream %s, location %s: the backfill's "
						"checkpoint was not saved", cur_op(r)->info.name, r->head->id);
		}
		request(r);
		return;
	case GHL_PG_DONE:
		/* an unchanged listing has nothing to store */
		if ((r->resumed || !r->old || !json_object_equal(r->old, r->snap)) && save(r, 0) != HLB_OK)
			r->g->host->log(r->g->inst, HLB_LOG_ERROR, "stream %s, location %s: the items seen were not "
					"saved; the same changes will be reported again", cur_op(r)->info.name,
					r->head->id);
		keep_list(r);
		next_seq(r);
		return;
	case GHL_PG_REPEATED:
		snprintf(msg, sizeof(msg), "page %u repeats the page before (the API ignored the paging); stopped",
			 r->pg.pages);
		drop_resume(r);
		run_fail(r, HLB_EFAIL, msg);
		return;
	case GHL_PG_NO_CURSOR:
		snprintf(msg, sizeof(msg), "page %u of %s is full but gives no cursor to the next one; stopped",
			 r->pg.pages, cur_op(r)->info.name);
		drop_resume(r);
		run_fail(r, HLB_EPARSE, msg);
		return;
	case GHL_PG_TOO_MANY:
		/* the next poll goes on from here */
		save(r, 1);
		snprintf(msg, sizeof(msg), "more than max_pages = %u pages in one poll; stopped (the next poll "
			 "continues; raise max_pages to read more at once)", r->s->max_pages);
		run_fail(r, HLB_ETOOBIG, msg);
		return;
	}
}

static void on_reply(void *arg, const ghl_reply *reply)
{
	ghl_srun *r = arg;
	const ghl_op *op = cur_op(r);
	json_object *one = NULL, *items;
	char msg[GHL_FANOUT_ERROR_LEN];
	size_t n;

	r->call = NULL;
	if (ghl_raw_as_json(reply, on_reply, r))
		return; /* a file (GHL_OPF_RAW): handed on again as its record */
	if ((op->flags & GHL_OPF_RAW) && reply->rc == HLB_ETOOBIG) {
		/* a file over the answer bound: a record that says so, once,
		 * rather than a stream that fails at every poll */
		ghl_reply big = *reply;
		json_object *item = json_object_new_object();

		r->g->host->log(r->g->inst, HLB_LOG_WARN, "stream %s, location %s: %s", op->info.name, r->head->id,
				reply->error);
		if (item) {
			json_object_object_add(item, "tooLarge", json_object_new_boolean(1));
			json_object_object_add(item, "limit", json_object_new_int64(GHL_MAX_RESPONSE));
		}
		big.rc = item ? HLB_OK : HLB_ENOMEM;
		big.json = item;
		on_reply(r, &big);
		json_object_put(item);
		return;
	}
	if (reply->rc != HLB_OK && reply->status == 404 && op->paging == GHL_PAGING_NONE && !op->items &&
	    strchr(op->info.path, '{')) {
		/* the object is gone: it lists nothing now, which is no error */
		r->g->host->log(r->g->inst, HLB_LOG_INFO, "stream %s, location %s: %s answered 404: the object is gone",
				op->info.name, r->head->id, op->info.path);
		after_page(r, NULL, NULL);
		return;
	}
	if (reply->rc != HLB_OK) {
		snprintf(msg, sizeof(msg), "%s%s", reply->error, ghl_login_hint(reply->needs_login, reply->error));
		run_fail(r, reply->rc, msg);
		return;
	}
	items = answer_items(op, reply->json, &one);
	if (!items && !op->items && !reply->json) {
		after_page(r, reply->json, NULL);
		return;
	}
	if (!items || !json_object_is_type(items, json_type_array)) {
		json_object_put(one);
		snprintf(msg, sizeof(msg), "%s %s: the answer has no %s array", op->info.method, op->info.path,
			 op->items ? op->items : "item");
		run_fail(r, HLB_EPARSE, msg);
		return;
	}
	n = json_object_array_length(items);
	for (size_t i = 0; i < n; i++)
		if (on_item(r, json_object_array_get_idx(items, i)) != HLB_OK) {
			json_object_put(one);
			run_fail(r, HLB_ENOMEM, "out of memory");
			return;
		}
	progress(r, n);
	after_page(r, reply->json, items);
	json_object_put(one);
}

/* The path and query (ghl_op_path) with the paging members after them,
 * and the body (ghl_op_body) with them in it. */
/* A builder's answer as the poll's: a record that cannot be built is a
 * configuration the user can fix (EINVAL). */
static int rc_of_build(ghl_build_rc rc)
{
	return rc == GHL_BUILD_OK ? HLB_OK : rc == GHL_BUILD_FAIL ? HLB_EINVAL : HLB_ENOMEM;
}

static int build(ghl_srun *r, ghl_op_ctx *ctx, ghl_buf *path, json_object **body)
{
	const ghl_op *op = cur_op(r);
	size_t len;

	int rc;

	*body = NULL;
	if ((rc = rc_of_build(ghl_op_path(op, ctx, path))) != HLB_OK)
		return rc;
	len = path->len;
	if (!ghl_pg_in_body(op->paging) && ghl_pg_query(&r->pg, path) < 0)
		return HLB_ENOMEM;
	if (path->len > len && !strchr(path->data, '?'))
		path->data[len] = '?';
	if ((rc = rc_of_build(ghl_op_body(op, ctx, body))) != HLB_OK)
		return rc;
	if (ghl_pg_in_body(op->paging)) {
		if (!*body && !(*body = json_object_new_object()))
			return HLB_ENOMEM;
		ghl_pg_body(&r->pg, *body);
	}
	return HLB_OK;
}

static void request(ghl_srun *r)
{
	const ghl_op *op = cur_op(r);
	const char *cid = ghl_json_string(r->vars, "contactId");
	ghl_op_ctx ctx;
	ghl_buf path;
	json_object *body = NULL;
	char err[GHL_OP_ERROR_LEN];
	int rc;

	ghl_op_ctx_init(&ctx, NULL, NULL, loc_of(r));
	ctx.vars = json_object_get(r->vars); /* the ctx owns one reference */
	if (cid && strlen(cid) < sizeof(ctx.contact_id))
		memcpy(ctx.contact_id, cid, strlen(cid) + 1);
	ghl_buf_init(&path, 8192);
	rc = build(r, &ctx, &path, &body);
	snprintf(err, sizeof(err), "%s", rc == HLB_EINVAL ? ctx.error : "out of memory");
	ghl_op_ctx_clear(&ctx);
	if (rc == HLB_OK && (op->flags & GHL_OPF_RAW))
		r->call = ghl_request_raw(r->g->client, loc_of(r), op->info.method, op->version, path.data,
					  on_reply, r);
	else if (rc == HLB_OK)
		r->call = ghl_request(r->g->client, loc_of(r), op->info.method, op->version, path.data, body,
				      on_reply, r);
	json_object_put(body);
	ghl_buf_free(&path);
	if (rc != HLB_OK)
		run_fail(r, rc, err);
	else if (!r->call)
		run_fail(r, HLB_ENOMEM, "the request could not be started (out of memory)");
}

static void make_key(ghl_srun *r)
{
	json_object *set = json_object_array_get_idx(r->sets, r->pi);
	char hash[17] = "-";

	if (json_object_object_length(set))
		ghl_item_hash(set, hash);
	snprintf(r->key, sizeof(r->key), "stream:%s:%s:%s", cur_op(r)->info.name,
		 loc_of(r) ? r->head->id : "agency", hash);
}

/* companyId from the credential's facts, unless a param gives it. */
static void add_company(ghl_srun *r, json_object *info)
{
	const char *company = ghl_json_string(info, "companyId");

	if (company && *company && !json_object_object_get_ex(r->vars, "companyId", NULL))
		json_object_object_add(r->vars, "companyId", json_object_new_string(company));
}

static int seq_vars(ghl_srun *r)
{
	json_object *set = json_object_array_get_idx(r->sets, r->pi);

	if (json_object_deep_copy(set, &r->vars, NULL) != 0)
		return HLB_ENOMEM;
	add_company(r, ghl_client_info(r->g->client));
	return HLB_OK;
}

static void on_company(void *arg, const hlb_auth_result *res)
{
	ghl_srun *r = arg;

	r->auth = NULL;
	/* without it, ghl_op_path names what is missing */
	if (res->rc == HLB_OK)
		add_company(r, res->info);
	request(r);
}

/* The pager's state and the items listed before it, both or neither:
 * a cursor without its snapshot would report every item before it as
 * new at the next poll. */
static void resume_load(ghl_srun *r, json_object *resume)
{
	const ghl_op *op = cur_op(r);
	json_object *snap = NULL, *copy = NULL;
	ghl_pg pg = r->pg;
	const char *why = NULL;

	pg.search_after = NULL;
	if (ghl_pg_load(&pg, resume) != 0)
		why = "its paging state is not this stream's";
	else if (!json_object_object_get_ex(resume, "snap", &snap) || !json_object_is_type(snap, json_type_object))
		why = "the items listed before it were not saved";
	else if (json_object_deep_copy(snap, &copy, NULL) != 0)
		why = "out of memory";
	if (why) {
		ghl_pg_clear(&pg);
		json_object_put(copy);
		r->g->host->log(r->g->inst, HLB_LOG_WARN, "stream %s, location %s: the saved resume point is not "
				"used (%s); listing from the start", op->info.name, r->head->id, why);
		return;
	}
	ghl_pg_clear(&r->pg);
	r->pg = pg;
	r->snap = copy;
	r->resumed = 1;
	r->g->host->log(r->g->inst, HLB_LOG_INFO, "stream %s, location %s: resuming the listing after %d items",
			op->info.name, r->head->id, json_object_object_length(copy));
}

static void seq_start(ghl_srun *r)
{
	const ghl_op *op = cur_op(r);
	int64_t now = ghl_now_ms(), from = now - r->s->back_ms, to = now + r->s->ahead_ms;
	json_object *resume = NULL;

	make_key(r);
	/* whole UTC days: the same windows, the same answers, all day */
	if (op->paging == GHL_PAGING_DATE_WINDOW)
		ghl_pg_day_range(now, r->s->back_ms, r->s->ahead_ms, &from, &to);
	ghl_pg_init(&r->pg, op->paging, ghl_pg_limit(op->paging, r->g->page_size), r->s->max_pages, from, to);
	r->since_ckpt = 0;
	r->resumed = 0;
	r->listed0 = r->g->listed;
	r->saved = r->g->host->state_get(r->g->inst, r->key);
	if (r->saved && json_object_object_get_ex(r->saved, "h", &r->old) &&
	    !json_object_is_type(r->old, json_type_object))
		r->old = NULL;
	/* a backfill cut short (a crash, max_pages) goes on where it stopped */
	if (r->saved && json_object_object_get_ex(r->saved, "resume", &resume)) {
		r->resumed = 1; /* used or not, the end drops it */
		resume_load(r, resume);
	}
	if (!r->snap)
		r->snap = json_object_new_object();
	if (!r->snap || seq_vars(r) != HLB_OK) {
		run_fail(r, HLB_ENOMEM, "out of memory");
		return;
	}
	/* the credential's facts are known once a request has had a token:
	 * the first poll asks for them */
	if (ghl_op_wants_company(op) && !json_object_object_get_ex(r->vars, "companyId", NULL) &&
	    HLB_HOST_HAS(r->g->host, auth_cancel)) {
		r->auth = r->g->host->auth_token(r->g->inst, r->g->auth, NULL, on_company, r);
		if (r->auth)
			return;
	}
	request(r);
}

void ghl_streams_loc_start(struct ghl *g, ghl_streams *s, ghl_fanout_loc *head, ghl_srun **slot)
{
	ghl_srun *r = calloc(1, sizeof(*r));

	if (!r) {
		ghl_fanout_fail(head, HLB_ENOMEM, "out of memory");
		return;
	}
	r->g = g;
	r->s = s;
	r->head = head;
	r->agency = (void *)head == (void *)head->fanout->locs;
	r->lists = calloc(s->n, sizeof(*r->lists));
	if (!r->lists) {
		free(r);
		ghl_fanout_fail(head, HLB_ENOMEM, "out of memory");
		return;
	}
	*slot = r;
	r->si = 0;
	stream_enter(r);
	r->pi = (size_t)-1; /* next_seq starts at pi + 1: the first set of the first stream */
	next_seq(r);
}
