/* The `ghl` module as a sink: each record runs the instance's list of
 * operations (rows of ghl_ops.c) in order. See ghl.c for the two-way
 * safety rules (update by linked id, tags apart, echo memory). */
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
#include "ghl_webhook.h"
#include "../common/echo.h"
#include "../common/identity.h"

static int add_step(struct ghl *g, const ghl_op *op, int prune)
{
	if (g->nsteps == MAX_STEPS) {
		g->host->option_error(g->inst, "operation", "at most %d operations", MAX_STEPS / 2);
		return HLB_EINVAL;
	}
	g->steps[g->nsteps].op = op;
	g->steps[g->nsteps].prune = prune;
	g->nsteps++;
	return HLB_OK;
}

static size_t sink_count(void)
{
	size_t n = 0;

	for (size_t i = 0; i < ghl_ops_count; i++)
		n += (size_t)ghl_op_is_sink(&ghl_ops[i]);
	return n;
}

/* Every action's name would bury the mistake: their count, and where to see them. */
static void not_an_action(struct ghl *g, const char *word, const ghl_op *op)
{
	if (op && (op->flags & GHL_OPF_RAW))
		g->host->option_error(g->inst, "operation", "'%s' answers with a file: read it as a source's "
				      "stream, not in a sink", word);
	else if (op)
		g->host->option_error(g->inst, "operation", "'%s' is a trigger that pages through a listing: "
				      "read it as a source's stream (a sink takes actions, and as lookups the "
				      "triggers answered by one request, such as contacts.get)", word);
	else
		g->host->option_error(g->inst, "operation", "unknown operation '%s' (valid: one of the %zu actions "
				      "`hlbridge plugins ghl` lists, such as contacts.upsert or opportunities.upsert)",
				      word, sink_count());
}

/* operation = a, b, c: every name known, in order. */
static int load_operations(struct ghl *g)
{
	const char *list = g->host->option(g->inst, "operation");
	char word[64];
	int bad = 0;

	if (!list || !*list) {
		g->host->option_error(g->inst, "operation", "a ghl sink needs operation = one or more of its %zu "
				      "actions, in order (`hlbridge plugins ghl` lists them), e.g. contacts.upsert",
				      sink_count());
		return HLB_EINVAL;
	}
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");
		const char *s = p, *e = p + n;
		const ghl_op *op;

		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		p += n + (p[n] == ',');
		if (s == e)
			continue;
		snprintf(word, sizeof(word), "%.*s", (int)(e - s), s);
		op = (size_t)(e - s) < sizeof(word) ? ghl_op_find(word) : NULL;
		if (!ghl_op_is_sink(op) && !ghl_op_is_lookup(op)) {
			not_an_action(g, word, op);
			bad++;
			continue;
		}
		if (add_step(g, op, 0) != HLB_OK)
			return HLB_EINVAL;
		if (strcmp(op->info.name, "contacts.add_tags") == 0 && g->tag_prefix &&
		    add_step(g, ghl_op_find("contacts.remove_tags"), 1) != HLB_OK)
			return HLB_EINVAL;
		if (strcmp(op->info.name, "opportunities.upsert") == 0 && !g->pipeline_id) {
			g->host->option_error(g->inst, "operation", "opportunities.upsert needs pipeline_id");
			bad++;
		}
	}
	return bad ? HLB_EINVAL : HLB_OK;
}

/* stage.STATUS and opportunity_status.STATUS into their maps. */
static int load_status_maps(struct ghl *g)
{
	const char *key, *value;
	size_t cursor = 0;
	int bad = 0;

	g->conf.stages = json_object_new_object();
	g->conf.statuses = json_object_new_object();
	if (!g->conf.stages || !g->conf.statuses)
		return HLB_ENOMEM;
	while (g->host->option_next(g->inst, &cursor, &key, &value, NULL)) {
		json_object *map = NULL;
		const char *status = NULL;

		if (strncmp(key, "stage.", 6) == 0) {
			map = g->conf.stages;
			status = key + 6;
		} else if (strncmp(key, "opportunity_status.", 19) == 0) {
			map = g->conf.statuses;
			status = key + 19;
			if (strcmp(value, "open") != 0 && strcmp(value, "won") != 0 && strcmp(value, "lost") != 0 &&
			    strcmp(value, "abandoned") != 0) {
				g->host->option_error(g->inst, key, "must be open, won, lost or abandoned");
				bad++;
				continue;
			}
		} else {
			continue;
		}
		if (!*status || !*value) {
			g->host->option_error(g->inst, key, "needs a status after the dot and a value");
			bad++;
			continue;
		}
		json_object_object_add(map, status, json_object_new_string(value));
	}
	return bad ? HLB_EINVAL : HLB_OK;
}

/* A sink's location_id: one id, the default of records without one. */
static int load_default_location(struct ghl *g)
{
	const char *v = g->host->option(g->inst, "location_id");
	char err[256];
	char **ids = NULL;
	size_t n = 0;
	int all = 0, rc;

	if (!v || !*v)
		return HLB_OK;
	rc = ghl_locations_parse(v, &all, &ids, &n, err, sizeof(err));
	if (rc == HLB_OK && (all || n != 1)) {
		snprintf(err, sizeof(err), "a sink takes one location id (the default of records without a "
			 "locationId)");
		rc = HLB_EINVAL;
	}
	if (rc == HLB_OK && !(g->default_location = strdup(ids[0])))
		rc = HLB_ENOMEM;
	if (rc == HLB_EINVAL)
		g->host->option_error(g->inst, "location_id", "%s", err);
	ghl_ids_free(ids, n);
	return rc;
}

static int is_read(const ghl_op *op)
{
	return strcmp(op->info.method, "GET") == 0;
}

/* `parallel` records at once only when no operation writes: reads of
 * different records cannot race, writes to one contact could. */
static int load_lanes(struct ghl *g)
{
	int64_t n = g->host->option_int(g->inst, "parallel", 8);

	if (n < 1 || n > 64) {
		g->host->option_error(g->inst, "parallel", "must be from 1 to 64");
		return HLB_EINVAL;
	}
	g->lanes = (size_t)n;
	for (size_t i = 0; i < g->nsteps; i++)
		if (!is_read(g->steps[i].op) && !ghl_op_is_lookup(g->steps[i].op))
			g->lanes = 1;
	return HLB_OK;
}

int ghl_sink_init(struct ghl *g)
{
	const hlb_host *host = g->host;
	const char *link = host->option(g->inst, "link_field");
	char err[256];
	int oom = 0, rc;

	g->country = ghl_dup_option(g, "country", &oom);
	g->tag_prefix = ghl_dup_option(g, "tag_prefix", &oom);
	g->pipeline_id = ghl_dup_option(g, "pipeline_id", &oom);
	if (oom)
		return HLB_ENOMEM;
	if (g->country && !identity_region_known(g->country)) {
		host->option_error(g->inst, "country", "'%s' is not a known ISO 3166 country code", g->country);
		return HLB_EINVAL;
	}
	g->conf.country = g->country;
	g->conf.tag_prefix = g->tag_prefix;
	g->conf.pipeline_id = g->pipeline_id;
	if ((rc = load_status_maps(g)) != HLB_OK || (rc = load_operations(g)) != HLB_OK ||
	    (rc = load_default_location(g)) != HLB_OK || (rc = load_lanes(g)) != HLB_OK)
		return rc;
	if (link && *link && !(g->link_path = host->path_compile(link, err, sizeof(err)))) {
		host->option_error(g->inst, "link_field", "%s", err);
		return HLB_EINVAL;
	}
	g->has_links = HLB_HOST_HAS(host, link_find) && host->link_find && host->link_put;
	g->has_echo = HLB_HOST_HAS(host, echo_put) && host->echo_put;
	if (!g->has_links || !g->has_echo)
		host->log(g->inst, HLB_LOG_WARN, "this hlbridge predates links and echo memory (ABI 1.3): "
			  "contacts are upserted without links, and written changes may come back as changes");
	for (size_t i = 0; !g->has_links && i < g->nsteps; i++)
		if (g->steps[i].op->flags & GHL_OPF_CREATE) {
			host->log(g->inst, HLB_LOG_WARN, "without link memory creates are not deduplicated: a "
				  "record delivered again creates its objects again");
			break;
		}
	return HLB_OK;
}


/* ---- the sink ---------------------------------------------------------------------------- */

/* The lanes of one delivery job: each runs a range of its records; the
 * last to end hands on the results, in the records' order (two records
 * of one key must not swap), and finishes the job. */
struct lanes {
	const hlb_host *host;
	size_t running;       /* lanes not ended */
	size_t refs;          /* lanes not freed */
	size_t n;
	hlb_record **results; /* per record: its result, not yet handed on */
};

static void lanes_free(struct lanes *l)
{
	for (size_t i = 0; l->results && i < l->n; i++)
		if (l->results[i])
			l->host->record_free(l->results[i]);
	free(l->results);
	free(l);
}

struct delivery {
	struct ghl *g;
	hlb_job *job;
	struct lanes *lanes;
	size_t n, i;          /* end of its range of records; the current one */
	int started;          /* the current record's context is set up */
	size_t s;             /* its current step */
	ghl_op_ctx ctx;
	const char *object;   /* the record's link object (in its body), or NULL */
	const ghl_op *sent;   /* the operation of the request in flight */
	json_object *sent_body; /* and its body, for the echo memory */
	ghl_call *call;
	int updated_missing;  /* an update by id found no contact: upsert instead */
	char fetching_fields[GHL_ID_MAX + 16]; /* the request in flight reads these custom fields, or "" */
	int fields_refreshed; /* ... once for this record already */
	hlb_auth_call *auth;  /* asking the credential for its companyId */
	int asked_company, asking;
	char company[GHL_ID_MAX]; /* what it told */
	json_object *found;   /* the current record's lookups: member -> answer */
	json_object *ids;     /* ... and the ids its steps made or found */
	struct delivery *prev, *next;
};

static void give(struct delivery *d, hlb_verdict v, const char *why, long status, int64_t retry_after_ms)
{
	const hlb_host *host = d->g->host;

	if (HLB_HOST_HAS(host, verdict_http) && host->verdict_http)
		host->verdict_http(d->job, d->i, v, why, status, retry_after_ms);
	else
		host->verdict(d->job, d->i, v, why);
}

static void contact_object(const ghl_op_ctx *ctx, char *buf, size_t len)
{
	snprintf(buf, len, "ghl:%s:contact:%s", ctx->location, ctx->contact_id);
}

/* The GHL contact of this location linked to the record's object: its id
 * into ctx->contact_id (the newest link when there are several). */
static void find_linked_contact(struct delivery *d)
{
	struct ghl *g = d->g;
	json_object *links;
	char prefix[OBJECT_LEN];
	size_t plen;

	if (!d->object || !g->has_links || *d->ctx.contact_id)
		return;
	snprintf(prefix, sizeof(prefix), "ghl:%s:contact:", d->ctx.location);
	plen = strlen(prefix);
	links = g->host->link_find(g->inst, d->object);
	for (size_t i = 0; links && i < json_object_array_length(links); i++) {
		json_object *l = json_object_array_get_idx(links, i);
		const char *sides[2] = { ghl_json_string(l, "left"), ghl_json_string(l, "right") };

		for (int k = 0; k < 2; k++)
			if (sides[k] && strncmp(sides[k], prefix, plen) == 0 && sides[k][plen] &&
			    strlen(sides[k] + plen) < sizeof(d->ctx.contact_id))
				snprintf(d->ctx.contact_id, sizeof(d->ctx.contact_id), "%s", sides[k] + plen);
	}
	json_object_put(links);
}

static void record_start(struct delivery *d)
{
	struct ghl *g = d->g;
	const hlb_record *r = g->host->batch_record(d->job, d->i);
	json_object *body = g->host->record_body(r), *obj;
	const char *loc = ghl_json_string(body, "locationId");

	ghl_op_ctx_init(&d->ctx, &g->conf, body, loc && *loc ? loc : g->default_location);
	obj = g->link_path ? g->host->path_get(g->link_path, body) : NULL;
	d->object = json_object_is_type(obj, json_type_string) && json_object_get_string_len(obj) ?
		    json_object_get_string(obj) : NULL;
	d->s = 0;
	d->sent = NULL;
	d->updated_missing = 0;
	d->fields_refreshed = 0;
	d->started = 1;
}

/* What hlbridge set on the contact with the request just answered, for
 * the contacts source's echo check: the person's fields it sent, or the
 * tags it added ("tags+") or removed ("tags-"), never the contact as the
 * API answered it (that may hold a user's edit made meanwhile). After
 * every write, not only the last of the record, so that a poll that reads
 * the contact between two of them knows the first. */
static void remember_write(struct delivery *d, const ghl_op *op)
{
	struct ghl *g = d->g;
	char object[OBJECT_LEN];
	json_object *fields, *v;
	int tags_added = strcmp(op->info.name, "contacts.add_tags") == 0;

	if (!g->has_echo || !*d->ctx.contact_id || !d->sent_body)
		return;
	contact_object(&d->ctx, object, sizeof(object));
	fields = json_object_new_object();
	if (!fields)
		goto fail;
	if (tags_added || strcmp(op->info.name, "contacts.remove_tags") == 0) {
		if (json_object_object_get_ex(d->sent_body, "tags", &v))
			json_object_object_add(fields, tags_added ? "tags+" : "tags-", json_object_get(v));
	} else {
		for (const char *const *f = ghl_contact_fields; *f; f++)
			if (json_object_object_get_ex(d->sent_body, *f, &v))
				json_object_object_add(fields, *f, json_object_get(v));
	}
	if (json_object_object_length(fields) == 0) {
		json_object_put(fields);
		return;
	}
	if (g->host->echo_put(g->inst, object, fields) == HLB_OK)
		return;
fail:
	g->host->log(g->inst, HLB_LOG_WARN, "%s: the write could not be remembered; the contacts stream may carry "
		     "it back", object);
}

/* Adds `v` (a new reference taken here) to obj under `key`; 0 or -1. */
static int put_member(json_object *obj, const char *key, json_object *v)
{
	json_object_get(v);
	if (json_object_object_add(obj, key, v) == 0)
		return 0;
	json_object_put(v);
	return -1;
}

/* After a step that succeeded: the ids it made or found, for the result's
 * "ids" (what it yielded to later steps, and the contact a contact's
 * answer named), never a value the record or the credential brought. */
static int note_ids(struct delivery *d, const ghl_op *op, json_object *answer)
{
	const char *p = op->yields, *s;
	size_t n;
	json_object *v;

	if (!d->ids && !(d->ids = json_object_new_object()))
		return -1;
	while (p && (s = ghl_list_next(&p, &n))) {
		char name[64];

		snprintf(name, sizeof(name), "%.*s", (int)(n < sizeof(name) ? n : 0), s);
		if (*name && json_object_object_get_ex(d->ctx.vars, name, &v) && put_member(d->ids, name, v) != 0)
			return -1;
	}
	/* the contact a contact's answer names (contacts.get, .duplicate, .upsert) */
	const char *id = op->item && strcmp(op->item, "contact") == 0 ?
			 ghl_json_string(ghl_json_at(answer, "contact"), "id") : NULL;

	if (id && *id) {
		v = json_object_new_string(id);
		if (!v || json_object_object_add(d->ids, "contactId", v) != 0) {
			json_object_put(v);
			return -1;
		}
	}
	return 0;
}

/* What delivering the record gave, for the routes reading this sink's
 * results: its body with each lookup's answer and the ids the operations
 * made ("ids"), under its own stream, key and operation. A body that is
 * no JSON object is the result's "body". */
static void give_result(struct delivery *d)
{
	const hlb_host *host = d->g->host;
	const hlb_record *r = host->batch_record(d->job, d->i);
	json_object *in = host->record_body(r), *body;
	hlb_record *out;
	int bad;

	if (!HLB_HOST_HAS(host, result) || !host->result)
		return;
	body = json_object_new_object();
	bad = !body;
	if (!bad && json_object_is_type(in, json_type_object)) {
		json_object_object_foreach(in, k, v)
			bad |= put_member(body, k, v);
	} else if (!bad) {
		bad |= put_member(body, "body", in);
	}
	if (!bad && d->found) {
		json_object_object_foreach(d->found, fk, fv)
			bad |= put_member(body, fk, fv);
	}
	if (!bad && d->ids && json_object_object_length(d->ids))
		bad |= put_member(body, "ids", d->ids);
	if (bad) {
		json_object_put(body);
		host->log(d->g->inst, HLB_LOG_ERROR, "record %s: out of memory building its result",
			  host->record_key(r));
		return;
	}
	out = host->record_new(host->record_stream(r), host->record_key(r), host->record_op(r),
			       host->record_time(r), body);
	if (out && d->lanes->results)
		d->lanes->results[d->i] = out; /* handed on in order when the lanes end */
	else
		host->log(d->g->inst, HLB_LOG_ERROR, "record %s: out of memory keeping its result",
			  host->record_key(r));
}

static void record_end(struct delivery *d, hlb_verdict v, const char *why, long status, int64_t retry_after_ms)
{
	if (v == HLB_DONE)
		give_result(d);
	give(d, v, why, status, retry_after_ms);
	ghl_op_ctx_clear(&d->ctx);
	json_object_put(d->found);
	json_object_put(d->ids);
	d->found = d->ids = NULL;
	d->started = 0;
	d->i++;
}

/* A lookup's answer (NULL: none, as a 404 of a get says) into the result. */
static int keep_found(struct delivery *d, const ghl_op *op, json_object *answer)
{
	json_object *v = answer;

	if (answer && (op->item || op->items))
		v = ghl_json_at(answer, op->item ? op->item : op->items);
	if (!d->found && !(d->found = json_object_new_object()))
		return -1;
	return put_member(d->found, ghl_op_lookup_member(op), v);
}

/* The contact the upsert found or created, linked to the record's object
 * (with the identity it was matched by). */
static void link_contact(struct delivery *d)
{
	struct ghl *g = d->g;
	char object[OBJECT_LEN];
	json_object *info;

	if (!d->object || !g->has_links || !*d->ctx.contact_id)
		return;
	contact_object(&d->ctx, object, sizeof(object));
	info = json_object_new_object();
	if (info) {
		const char *email = ghl_json_string(d->ctx.contact, "email");
		const char *phone = ghl_json_string(d->ctx.contact, "phone");

		json_object_object_add(info, "email", email ? json_object_new_string(email) : NULL);
		json_object_object_add(info, "phone", phone ? json_object_new_string(phone) : NULL);
	}
	if (g->host->link_put(g->inst, object, d->object, info) != HLB_OK)
		g->host->log(g->inst, HLB_LOG_WARN, "%s: the link to %s could not be kept", object, d->object);
}

static void on_reply(void *arg, const ghl_reply *reply);

/* ---- creates once per record key ------------------------------------------------------ */

/* The objects a create links: "ghl:LOC:<operation>:" (the prefix of the
 * created object) and "hlb:<instance>:<operation>:<record key>" (the
 * record), so that two records, or two operations of one record, never
 * share a link, and the same record delivered again finds its own. 0 when
 * the record has no key (or it does not fit): not deduplicated. */
static int create_objects(struct delivery *d, const ghl_op *op, char *ghl, size_t glen, char *rec, size_t rlen)
{
	const hlb_host *host = d->g->host;
	const char *key = host->record_key(host->batch_record(d->job, d->i));
	const char *loc = *d->ctx.location ? d->ctx.location : "agency";
	int n;

	if (!d->g->has_links || !key || !*key)
		return 0;
	n = snprintf(rec, rlen, "hlb:%s:%s:%s", host->instance_name(d->g->inst), op->info.name, key);
	if (n < 0 || (size_t)n >= rlen)
		return 0;
	n = snprintf(ghl, glen, "ghl:%s:%s:", loc, op->info.name);
	return n > 0 && (size_t)n < glen;
}

/* The id a create of this record made before (a redelivery), into
 * *id; 0 when none. */
static int created_before(struct delivery *d, const ghl_op *op, char *id, size_t len)
{
	char ghl[OBJECT_LEN], rec[OBJECT_LEN * 3];
	json_object *links;
	size_t plen;
	int found = 0;

	if (!(op->flags & GHL_OPF_CREATE) || !create_objects(d, op, ghl, sizeof(ghl), rec, sizeof(rec)))
		return 0;
	plen = strlen(ghl);
	links = d->g->host->link_find(d->g->inst, rec);
	for (size_t i = 0; links && i < json_object_array_length(links); i++) {
		const char *left = ghl_json_string(json_object_array_get_idx(links, i), "left");

		if (left && strncmp(left, ghl, plen) == 0 && left[plen] && strlen(left + plen) < len) {
			snprintf(id, len, "%s", left + plen); /* the newest wins */
			found = 1;
		}
	}
	json_object_put(links);
	return found;
}

static void link_created(struct delivery *d, const ghl_op *op, const char *id)
{
	char ghl[OBJECT_LEN + GHL_ID_MAX], rec[OBJECT_LEN * 3];

	/* an id longer than an id can be would be kept cut: not found again */
	if (!(op->flags & GHL_OPF_CREATE) || !id || strlen(id) >= GHL_ID_MAX ||
	    !create_objects(d, op, ghl, OBJECT_LEN, rec, sizeof(rec)))
		return;
	snprintf(ghl + strlen(ghl), sizeof(ghl) - strlen(ghl), "%s", id);
	if (d->g->host->link_put(d->g->inst, ghl, rec, NULL) != HLB_OK)
		d->g->host->log(d->g->inst, HLB_LOG_WARN, "%s: the link to %s could not be kept; a redelivery "
				"would create it again", ghl, rec);
}

/* ---- custom fields by fieldKey ------------------------------------------------------ */

/* Custom fields are defined per object: an opportunity's are not a
 * contact's. */
static const char *fields_model(const ghl_op *op)
{
	return strncmp(op->info.name, "opportunities.", 14) == 0 ? "opportunity" : "contact";
}

/* Where the definitions of `model` in the record's location are kept. */
static void fields_key(const struct delivery *d, const char *model, char *buf, size_t len)
{
	snprintf(buf, len, "%s:%s", model, d->ctx.location);
}

/* Asks for the location's custom field definitions of `model`: 1 when
 * the request is in flight (the step runs again on its answer). */
static int fetch_fields(struct delivery *d, const char *model, ghl_build_rc *rc)
{
	const ghl_op *op = ghl_op_find("locations.custom_fields");
	ghl_op_ctx q;
	ghl_buf path;

	if (!op) {
		*rc = GHL_BUILD_FAIL;
		snprintf(d->ctx.error, sizeof(d->ctx.error), "customFields by fieldKey: this build has no "
			 "locations.custom_fields");
		return 0;
	}
	/* only the location and the model: no member of the record in the query */
	ghl_op_ctx_init(&q, NULL, NULL, d->ctx.location);
	q.vars = json_object_new_object();
	if (!q.vars || json_object_object_add(q.vars, "model", json_object_new_string(model)) != 0) {
		ghl_op_ctx_clear(&q);
		*rc = GHL_BUILD_NOMEM;
		return 0;
	}
	ghl_buf_init(&path, 1024);
	*rc = ghl_op_path(op, &q, &path);
	if (*rc == GHL_BUILD_OK) {
		d->sent = op;
		fields_key(d, model, d->fetching_fields, sizeof(d->fetching_fields));
		d->call = ghl_request(d->g->client, d->ctx.location, op->info.method, op->version, path.data, NULL,
				      on_reply, d);
		if (!d->call) {
			d->fetching_fields[0] = 0;
			*rc = GHL_BUILD_NOMEM;
		}
	} else {
		snprintf(d->ctx.error, sizeof(d->ctx.error), "%s", q.error);
	}
	ghl_buf_free(&path);
	ghl_op_ctx_clear(&q);
	return *rc == GHL_BUILD_OK;
}

/* {fieldKey: value} of the body into [{id, field_value}]: GHL_BUILD_OK
 * when resolved (or nothing to do), GHL_BUILD_SKIP when the definitions
 * are being fetched. */
static ghl_build_rc resolve_fields(struct delivery *d, const ghl_op *op, json_object *body)
{
	struct ghl *g = d->g;
	const char *model = fields_model(op);
	json_object *defs = NULL;
	char unknown[128], key[GHL_ID_MAX + 16];
	ghl_build_rc rc;

	if (!ghl_custom_fields_pending(body))
		return GHL_BUILD_OK;
	fields_key(d, model, key, sizeof(key));
	if (!json_object_object_get_ex(g->custom_fields, key, &defs))
		return fetch_fields(d, model, &rc) ? GHL_BUILD_SKIP : rc;
	rc = ghl_custom_fields_resolve(body, defs, unknown, sizeof(unknown));
	if (rc != GHL_BUILD_FAIL)
		return rc;
	if (!d->fields_refreshed) {
		/* a field made since the definitions were read */
		d->fields_refreshed = 1;
		return fetch_fields(d, model, &rc) ? GHL_BUILD_SKIP : rc;
	}
	snprintf(d->ctx.error, sizeof(d->ctx.error), "customFields: location %s has no %s custom field '%s'",
		 d->ctx.location, model, unknown);
	return GHL_BUILD_FAIL;
}

/* ---- the steps of a record ------------------------------------------------------------ */

/* The operation step `st` runs now: an upsert of a known contact is an
 * update by its id, never a new match; others take the contact of an
 * earlier step, else the record's, else the linked one. */
static const ghl_op *step_op(struct delivery *d, const struct step *st)
{
	const ghl_op *op = st->op;

	if (strcmp(op->info.name, "contacts.upsert") == 0 && !d->updated_missing) {
		if (!*d->ctx.contact_id)
			find_linked_contact(d);
		if (*d->ctx.contact_id)
			op = ghl_op_find("contacts.update");
	} else if (strcmp(op->info.name, "contacts.upsert") != 0 && !*d->ctx.contact_id &&
		   strcmp(op->info.name, "contacts.find") != 0) {
		const char *id = ghl_json_string(d->ctx.rec, "contactId");

		if (id && *id && strlen(id) < sizeof(d->ctx.contact_id))
			snprintf(d->ctx.contact_id, sizeof(d->ctx.contact_id), "%s", id);
		else
			find_linked_contact(d);
	}
	return op;
}

/* The credential's companyId into the record's vars (where the agency
 * operations find it) when the record has none, once a request has told
 * it. */
static ghl_build_rc add_company(struct delivery *d)
{
	const char *company = ghl_json_string(ghl_client_info(d->g->client), "companyId");
	json_object *v;

	if ((!company || !*company) && *d->company)
		company = d->company;
	/* the record's own companyId comes first: the credential's is the fallback */
	if (!company || !*company || json_object_object_get_ex(d->ctx.vars, "companyId", NULL) ||
	    ghl_op_value(&d->ctx, "companyId"))
		return GHL_BUILD_OK;
	if (!d->ctx.vars && !(d->ctx.vars = json_object_new_object()))
		return GHL_BUILD_NOMEM;
	if (!(v = json_object_new_string(company)) || json_object_object_add(d->ctx.vars, "companyId", v) != 0) {
		json_object_put(v);
		return GHL_BUILD_NOMEM;
	}
	return GHL_BUILD_OK;
}

static void run(struct delivery *d);

/* The credential's facts: its companyId, for a row that takes one. */
static void on_company(void *arg, const hlb_auth_result *res)
{
	struct delivery *d = arg;
	const char *company = res->rc == HLB_OK ? ghl_json_string(res->info, "companyId") : NULL;

	d->auth = NULL;
	/* without it, the step names what is missing */
	if (company && strlen(company) < sizeof(d->company))
		snprintf(d->company, sizeof(d->company), "%s", company);
	if (!d->asking)
		run(d);
}

/* 1 when the step asks the credential for its companyId first: the
 * client knows the credential's facts only once a request has had a
 * token, and the first request of a sink may be the one needing them. */
static int ask_company(struct delivery *d, const ghl_op *op)
{
	const hlb_host *host = d->g->host;
	const char *known = ghl_json_string(ghl_client_info(d->g->client), "companyId");

	if (d->asked_company || !ghl_op_wants_company(op) || (known && *known) ||
	    ghl_op_value(&d->ctx, "companyId") || !HLB_HOST_HAS(host, auth_cancel))
		return 0;
	d->asked_company = 1;
	d->asking = 1;
	d->auth = host->auth_token(d->g->inst, d->g->auth, NULL, on_company, d);
	d->asking = 0;
	return d->auth != NULL;
}

/* Sends the request of `op`: GHL_BUILD_OK when one is in flight,
 * GHL_BUILD_SKIP when the step is done without one. */
static ghl_build_rc step_send(struct delivery *d, const ghl_op *op)
{
	struct ghl *g = d->g;
	json_object *body = NULL;
	char id[GHL_ID_MAX];
	ghl_build_rc rc;
	ghl_buf path;

	if (created_before(d, op, id, sizeof(id))) {
		g->host->log(g->inst, HLB_LOG_INFO, "%s: record %s created %s before; not created again",
			     op->info.name, g->host->record_key(g->host->batch_record(d->job, d->i)), id);
		rc = ghl_op_yield(op, &d->ctx, id);
		if (rc == GHL_BUILD_OK && note_ids(d, op, NULL) != 0)
			rc = GHL_BUILD_NOMEM;
		return rc == GHL_BUILD_OK ? GHL_BUILD_SKIP : rc;
	}
	if (ask_company(d, op))
		return GHL_BUILD_OK;
	rc = add_company(d);
	if (rc == GHL_BUILD_OK)
		rc = ghl_op_body(op, &d->ctx, &body);
	if (rc == GHL_BUILD_OK)
		rc = resolve_fields(d, op, body);
	if (rc != GHL_BUILD_OK) {
		json_object_put(body);
		/* a fetch of the custom fields is in flight: not a skip */
		return rc == GHL_BUILD_SKIP && d->call ? GHL_BUILD_OK : rc;
	}
	ghl_buf_init(&path, 4096);
	rc = ghl_op_path(op, &d->ctx, &path);
	if (rc == GHL_BUILD_OK) {
		d->sent = op;
		/* agency operations use the company token; the location only fills values */
		d->call = ghl_request(g->client, (op->flags & GHL_OPF_AGENCY) ? NULL : d->ctx.location,
				      op->info.method, op->version, path.data, body, on_reply, d);
		if (!d->call)
			rc = GHL_BUILD_NOMEM;
	}
	ghl_buf_free(&path);
	json_object_put(d->sent_body);
	d->sent_body = rc == GHL_BUILD_OK ? body : NULL;
	if (rc != GHL_BUILD_OK)
		json_object_put(body);
	return rc;
}

/* Sends the current record's next request: 1 when one is in flight, 0
 * when the record has its verdict. */
static int step_run(struct delivery *d)
{
	struct ghl *g = d->g;

	while (d->s < g->nsteps) {
		const struct step *st = &g->steps[d->s];
		const ghl_op *op = step_op(d, st);
		ghl_build_rc rc;

		d->ctx.prune = st->prune;
		d->ctx.scope = strchr(op->info.name, '.') + 1;
		rc = step_send(d, op);
		if (rc == GHL_BUILD_SKIP) {
			d->s++;
			continue;
		}
		if (rc == GHL_BUILD_OK)
			return 1;
		if (rc == GHL_BUILD_FAIL) {
			char why[GHL_OP_ERROR_LEN + 64];

			snprintf(why, sizeof(why), "%s: %s", op->info.name, d->ctx.error);
			record_end(d, HLB_FAILED, why, 0, 0);
		} else {
			record_end(d, HLB_RETRY, "out of memory", 0, 0);
		}
		return 0;
	}
	record_end(d, HLB_DONE, NULL, 0, 0);
	return 0;
}

static void delivery_free(struct delivery *d)
{
	struct ghl *g = d->g;

	if (d->prev)
		d->prev->next = d->next;
	else
		g->active = d->next;
	if (d->next)
		d->next->prev = d->prev;
	ghl_call_cancel(d->call);
	if (d->auth)
		g->host->auth_cancel(d->auth);
	json_object_put(d->sent_body);
	json_object_put(d->found);
	json_object_put(d->ids);
	if (d->started)
		ghl_op_ctx_clear(&d->ctx);
	if (--d->lanes->refs == 0)
		lanes_free(d->lanes);
	free(d);
}

/* Works through the records until one waits for an answer or all have
 * their verdict. */
static void run(struct delivery *d)
{
	while (d->i < d->n) {
		if (!d->started)
			record_start(d);
		if (step_run(d))
			return;
	}
	{
		hlb_job *job = d->job;
		const hlb_host *host = d->g->host;
		struct lanes *l = d->lanes;

		if (--l->running) {
			delivery_free(d);
			return;
		}
		for (size_t i = 0; l->results && i < l->n; i++) {
			if (l->results[i] && host->result(job, i, l->results[i]) != HLB_OK)
				host->log(d->g->inst, HLB_LOG_ERROR, "record %s: its result could not be handed on",
					  host->record_key(host->batch_record(job, i)));
			l->results[i] = NULL; /* the host's now */
		}
		delivery_free(d);
		host->finish(job, HLB_OK, NULL);
	}
}

/* The answer of a custom fields fetch: kept for the location, and the
 * step runs again. */
static void fields_reply(struct delivery *d, const ghl_reply *reply)
{
	struct ghl *g = d->g;
	char why[1024];

	if (reply->rc == HLB_OK && json_object_is_type(reply->json, json_type_object) &&
	    (g->custom_fields || (g->custom_fields = json_object_new_object()))) {
		json_object_object_add(g->custom_fields, d->fetching_fields, json_object_get(reply->json));
		d->fetching_fields[0] = 0;
		run(d);
		return;
	}
	d->fetching_fields[0] = 0;
	snprintf(why, sizeof(why), "customFields: the custom fields of location %s could not be read: %s%s",
		 d->ctx.location, reply->rc != HLB_OK ? reply->error :
		 json_object_is_type(reply->json, json_type_object) ? "out of memory" : "the answer is no JSON object",
		 ghl_login_hint(reply->needs_login, reply->error));
	if (reply->rc == HLB_OK || reply->retryable)
		record_end(d, HLB_RETRY, why, reply->status, reply->retry_after_ms);
	else
		record_end(d, HLB_FAILED, why, reply->status, 0);
	run(d);
}

/* contacts.find found no duplicate: the later steps see no contactId. */
static void found_none(struct delivery *d)
{
	if (d->ctx.vars)
		json_object_object_del(d->ctx.vars, "contactId");
	d->ctx.contact_id[0] = 0;
	d->g->host->log(d->g->inst, HLB_LOG_DEBUG, "contacts.find: no contact matches record %zu", d->i);
	d->s++;
	run(d);
}

/* A lookup found nothing: not a failure, its member of the result is
 * null; the record goes on. */
static void found_nothing(struct delivery *d, const ghl_op *op, const char *how)
{
	d->g->host->log(d->g->inst, HLB_LOG_INFO, "%s: %s: %s is null in the result", op->info.name, how,
			ghl_op_lookup_member(op));
	if (keep_found(d, op, NULL) != 0)
		record_end(d, HLB_RETRY, "out of memory", 0, 0);
	else
		d->s++;
	run(d);
}

/* A failed request: 1 when it is the step's outcome after all (a
 * delete of what is gone, a find of nothing) and the record went on. */
static int failure_is_done(struct delivery *d, const ghl_op *op, const ghl_reply *reply)
{
	if (reply->status != 404)
		return 0;
	if (strcmp(op->info.method, "DELETE") == 0) {
		d->g->host->log(d->g->inst, HLB_LOG_INFO, "%s: already gone (404): done", op->info.name);
		d->s++;
		run(d);
		return 1;
	}
	if (strcmp(op->info.name, "contacts.find") == 0) {
		found_none(d);
		return 1;
	}
	if (ghl_op_is_lookup(op)) {
		found_nothing(d, op, "not found (404)");
		return 1;
	}
	return 0;
}

static void on_reply(void *arg, const ghl_reply *reply)
{
	struct delivery *d = arg;
	const ghl_op *op = d->sent;
	int is_contact_write = strcmp(op->info.name, "contacts.upsert") == 0 ||
			       strcmp(op->info.name, "contacts.update") == 0 ||
			       strcmp(op->info.name, "contacts.create") == 0;
	int is_tags_write = strcmp(op->info.name, "contacts.add_tags") == 0 ||
			    strcmp(op->info.name, "contacts.remove_tags") == 0;
	ghl_build_rc rc;

	d->call = NULL;
	if (*d->fetching_fields) {
		fields_reply(d, reply);
		return;
	}
	if (reply->rc != HLB_OK) {
		char why[1024];

		if (strcmp(op->info.name, "contacts.update") == 0 && reply->status == 404 &&
		    strcmp(d->g->steps[d->s].op->info.name, "contacts.upsert") == 0 && !d->updated_missing) {
			/* the linked contact was deleted in GHL: find or create one */
			d->g->host->log(d->g->inst, HLB_LOG_INFO, "contact %s (linked to %s) is gone; upserting",
					d->ctx.contact_id, d->object ? d->object : "-");
			d->updated_missing = 1;
			d->ctx.contact_id[0] = 0;
			if (d->ctx.vars)
				json_object_object_del(d->ctx.vars, "contactId");
			run(d);
			return;
		}
		if (failure_is_done(d, op, reply))
			return;
		snprintf(why, sizeof(why), "%s: %s%s%s", op->info.name, reply->status == 404 && is_read(op) ?
			 "not found: " : "", reply->error, ghl_login_hint(reply->needs_login, reply->error));
		if (reply->retryable)
			record_end(d, HLB_RETRY, why, reply->status, reply->retry_after_ms);
		else
			record_end(d, HLB_FAILED, why, reply->status, 0);
		run(d);
		return;
	}
	if (is_read(op) && op->item && !json_object_is_type(ghl_json_at(reply->json, op->item), json_type_object)) {
		char why[256];

		if (strcmp(op->info.name, "contacts.find") == 0) {
			found_none(d);
			return;
		}
		if (ghl_op_is_lookup(op)) {
			/* a 200 that found nothing ({"contact": null}) reads as a 404 */
			found_nothing(d, op, "found nothing");
			return;
		}
		snprintf(why, sizeof(why), "%s: not found (the answer has no %s)", op->info.name, op->item);
		record_end(d, HLB_FAILED, why, reply->status, 0);
		run(d);
		return;
	}
	rc = op->result ? op->result(&d->ctx, reply->json) : ghl_op_result(op, &d->ctx, reply->json);
	if (rc != GHL_BUILD_OK && !op->result && (op->flags & GHL_OPF_CREATE)) {
		/* created, but which id is not known: a retry would create it twice */
		d->g->host->log(d->g->inst, HLB_LOG_WARN, "%s: %s; the later operations do not know its id",
				op->info.name, d->ctx.error);
	} else if (rc != GHL_BUILD_OK) {
		char why[GHL_OP_ERROR_LEN + 64];

		/* the write happened; its answer is not understood: retried */
		snprintf(why, sizeof(why), "%s: %s", op->info.name, d->ctx.error);
		record_end(d, HLB_RETRY, why, reply->status, 0);
		run(d);
		return;
	}
	if ((ghl_op_is_lookup(op) && keep_found(d, op, reply->json) != 0) || note_ids(d, op, reply->json) != 0) {
		record_end(d, HLB_RETRY, "out of memory", 0, 0);
		run(d);
		return;
	}
	link_created(d, op, ghl_op_answer_id(op, reply->json));
	if (is_contact_write)
		link_contact(d);
	/* only writes to the contact itself: a task's or a user's members are not the contact's */
	if (is_contact_write || is_tags_write)
		remember_write(d, op);
	d->s++;
	run(d);
}

int ghl_sink_deliver(void *state, hlb_job *job)
{
	struct ghl *g = state;
	size_t n = g->host->batch_size(job), k = g->lanes < n ? g->lanes : n ? n : 1;
	struct lanes *lanes = calloc(1, sizeof(*lanes));
	struct delivery *d[64];

	if (!lanes)
		return HLB_ENOMEM; /* the host retries the batch */
	lanes->host = g->host;
	lanes->n = n;
	if (n && HLB_HOST_HAS(g->host, result) && g->host->result &&
	    !(lanes->results = calloc(n, sizeof(*lanes->results)))) {
		free(lanes);
		return HLB_ENOMEM;
	}
	for (size_t l = 0; l < k; l++)
		if (!(d[l] = calloc(1, sizeof(*d[l])))) {
			while (l--)
				free(d[l]);
			lanes_free(lanes);
			return HLB_ENOMEM;
		}
	lanes->running = lanes->refs = k;
	/* all lanes exist before any runs: one may end at once */
	for (size_t l = 0; l < k; l++) {
		d[l]->g = g;
		d[l]->job = job;
		d[l]->lanes = lanes;
		d[l]->i = l * n / k;
		d[l]->n = (l + 1) * n / k;
		d[l]->next = g->active;
		if (d[l]->next)
			d[l]->next->prev = d[l];
		g->active = d[l];
	}
	for (size_t l = 0; l < k; l++)
		run(d[l]);
	return HLB_OK;
}

/* A sink's check names the requests each record makes; GHL is not
 * contacted (the operations write). */
int ghl_sink_check(struct ghl *g, hlb_job *job)
{
	char msg[1024], names[600] = "";

	for (size_t i = 0; i < g->nsteps; i++) {
		size_t used = strlen(names);

		snprintf(names + used, sizeof(names) - used, "%s%s %s%s", i ? ", " : "", g->steps[i].op->info.method,
			 g->steps[i].op->info.path, g->steps[i].prune ? " (stale tags)" : "");
	}
	snprintf(msg, sizeof(msg), "per record: %s (GHL was not contacted)", names);
	g->host->finish(job, HLB_OK, msg);
	return HLB_OK;
}

void ghl_sink_free(struct ghl *g)
{
	while (g->active)
		delivery_free(g->active);
	if (g->link_path)
		g->host->path_free(g->link_path);
	json_object_put(g->custom_fields);
	json_object_put(g->conf.stages);
	json_object_put(g->conf.statuses);
	free(g->country);
	free(g->tag_prefix);
	free(g->pipeline_id);
	free(g->default_location);
}
