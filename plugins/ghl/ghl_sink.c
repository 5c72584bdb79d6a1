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

/* operation = a, b, c: every name known, in order. */
static int load_operations(struct ghl *g)
{
	const char *list = g->host->option(g->inst, "operation");
	char names[512], word[64];
	int bad = 0;

	if (!list || !*list) {
		g->host->option_error(g->inst, "operation", "a ghl sink needs operation = (one or more of: %s)",
				      (ghl_ops_sink_names(names, sizeof(names)), names));
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
		if (!ghl_op_is_sink(op)) {
			ghl_ops_sink_names(names, sizeof(names));
			g->host->option_error(g->inst, "operation", "unknown operation '%s' (valid: %s)", word, names);
			bad++;
			continue;
		}
		if (add_step(g, op, 0) != HLB_OK)
			return HLB_EINVAL;
		if (strcmp(op->name, "contacts.add_tags") == 0 && g->tag_prefix &&
		    add_step(g, ghl_op_find("contacts.remove_tags"), 1) != HLB_OK)
			return HLB_EINVAL;
		if (strcmp(op->name, "opportunities.upsert") == 0 && !g->pipeline_id) {
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
	    (rc = load_default_location(g)) != HLB_OK)
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
	return HLB_OK;
}


/* ---- the sink ---------------------------------------------------------------------------- */

struct delivery {
	struct ghl *g;
	hlb_job *job;
	size_t n, i;          /* records; the current one */
	int started;          /* the current record's context is set up */
	size_t s;             /* its current step */
	ghl_op_ctx ctx;
	const char *object;   /* the record's link object (in its body), or NULL */
	const ghl_op *sent;   /* the operation of the request in flight */
	json_object *sent_body; /* and its body, for the echo memory */
	ghl_call *call;
	int updated_missing;  /* an update by id found no contact: upsert instead */
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
	int tags_added = strcmp(op->name, "contacts.add_tags") == 0;

	if (!g->has_echo || !*d->ctx.contact_id || !d->sent_body)
		return;
	contact_object(&d->ctx, object, sizeof(object));
	fields = json_object_new_object();
	if (!fields)
		goto fail;
	if (tags_added || strcmp(op->name, "contacts.remove_tags") == 0) {
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

static void record_end(struct delivery *d, hlb_verdict v, const char *why, long status, int64_t retry_after_ms)
{
	give(d, v, why, status, retry_after_ms);
	ghl_op_ctx_clear(&d->ctx);
	d->started = 0;
	d->i++;
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

/* Sends the current record's next request: 1 when one is in flight, 0
 * when the record has its verdict. */
static int step_run(struct delivery *d)
{
	struct ghl *g = d->g;

	while (d->s < g->nsteps) {
		const struct step *st = &g->steps[d->s];
		const ghl_op *op = st->op;
		json_object *body = NULL;
		ghl_build_rc rc;
		ghl_buf path;

		if (strcmp(op->name, "contacts.upsert") == 0 && !d->updated_missing) {
			/* the contact is known: update it by id, never match it again */
			if (!*d->ctx.contact_id)
				find_linked_contact(d);
			if (*d->ctx.contact_id)
				op = ghl_op_find("contacts.update");
		} else if (strcmp(op->name, "contacts.upsert") != 0 && !*d->ctx.contact_id) {
			/* an earlier step's contact, else the record's, else the linked one */
			const char *id = ghl_json_string(d->ctx.rec, "contactId");

			if (id && *id && strlen(id) < sizeof(d->ctx.contact_id))
				snprintf(d->ctx.contact_id, sizeof(d->ctx.contact_id), "%s", id);
			else
				find_linked_contact(d);
		}
		d->ctx.prune = st->prune;
		rc = op->build(&d->ctx, &body);
		if (rc == GHL_BUILD_SKIP) {
			d->s++;
			continue;
		}
		ghl_buf_init(&path, 4096);
		if (rc == GHL_BUILD_OK)
			rc = ghl_op_path(op, &d->ctx, &path);
		if (rc == GHL_BUILD_OK) {
			d->sent = op;
			d->call = ghl_request(g->client, d->ctx.location, op->method, op->version, path.data, body,
					      on_reply, d);
			if (!d->call)
				rc = GHL_BUILD_NOMEM;
		}
		ghl_buf_free(&path);
		json_object_put(d->sent_body);
		d->sent_body = rc == GHL_BUILD_OK ? body : NULL;
		if (rc != GHL_BUILD_OK)
			json_object_put(body);
		if (rc == GHL_BUILD_OK)
			return 1;
		if (rc == GHL_BUILD_FAIL) {
			char why[GHL_OP_ERROR_LEN + 64];

			snprintf(why, sizeof(why), "%s: %s", op->name, d->ctx.error);
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
	json_object_put(d->sent_body);
	if (d->started)
		ghl_op_ctx_clear(&d->ctx);
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

		delivery_free(d);
		host->finish(job, HLB_OK, NULL);
	}
}

static void on_reply(void *arg, const ghl_reply *reply)
{
	struct delivery *d = arg;
	const ghl_op *op = d->sent;
	int is_contact_write = strcmp(op->name, "contacts.upsert") == 0 || strcmp(op->name, "contacts.update") == 0;

	d->call = NULL;
	if (reply->rc != HLB_OK) {
		char why[1024];

		if (strcmp(op->name, "contacts.update") == 0 && reply->status == 404 &&
		    strcmp(d->g->steps[d->s].op->name, "contacts.upsert") == 0 && !d->updated_missing) {
			/* the linked contact was deleted in GHL: find or create one */
			d->g->host->log(d->g->inst, HLB_LOG_INFO, "contact %s (linked to %s) is gone; upserting",
					d->ctx.contact_id, d->object ? d->object : "-");
			d->updated_missing = 1;
			d->ctx.contact_id[0] = 0;
			run(d);
			return;
		}
		snprintf(why, sizeof(why), "%s: %s%s", op->name, reply->error,
			 ghl_login_hint(reply->needs_login, reply->error));
		if (reply->retryable)
			record_end(d, HLB_RETRY, why, reply->status, reply->retry_after_ms);
		else
			record_end(d, HLB_FAILED, why, reply->status, 0);
		run(d);
		return;
	}
	if (op->result && op->result(&d->ctx, reply->json) != GHL_BUILD_OK) {
		char why[GHL_OP_ERROR_LEN + 64];

		/* the write happened; its answer is not understood: retried */
		snprintf(why, sizeof(why), "%s: %s", op->name, d->ctx.error);
		record_end(d, HLB_RETRY, why, reply->status, 0);
		run(d);
		return;
	}
	if (is_contact_write)
		link_contact(d);
	remember_write(d, op);
	d->s++;
	run(d);
}

int ghl_sink_deliver(void *state, hlb_job *job)
{
	struct ghl *g = state;
	struct delivery *d;

	d = calloc(1, sizeof(*d));
	if (!d)
		return HLB_ENOMEM; /* the host retries the batch */
	d->g = g;
	d->job = job;
	d->n = g->host->batch_size(job);
	d->next = g->active;
	if (d->next)
		d->next->prev = d;
	g->active = d;
	run(d);
	return HLB_OK;
}

/* A sink's check names the requests each record makes; GHL is not
 * contacted (the operations write). */
int ghl_sink_check(struct ghl *g, hlb_job *job)
{
	char msg[1024], names[600] = "";

	for (size_t i = 0; i < g->nsteps; i++) {
		size_t used = strlen(names);

		snprintf(names + used, sizeof(names) - used, "%s%s %s%s", i ? ", " : "", g->steps[i].op->method,
			 g->steps[i].op->path, g->steps[i].prune ? " (stale tags)" : "");
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
	json_object_put(g->conf.stages);
	json_object_put(g->conf.statuses);
	free(g->country);
	free(g->tag_prefix);
	free(g->pipeline_id);
	free(g->default_location);
}
