/* The `ghl` module: GoHighLevel contacts and opportunities, as a sink
 * (`operation = contacts.upsert, contacts.add_tags, ...`, run in order
 * for each record) and as a source (`streams = contacts`).
 *
 * The operations are rows of ghl_ops.c; this file runs them. A record's
 * operations are sequential (each may need the contact id the one before
 * found), and so are the records of a batch: two records of one contact
 * must reach GHL in their order.
 *
 * Two-way safety. GHL's upsert matches by e-mail, then by phone, and
 * silently merges when the two match different contacts; so a record that
 * carries the other system's object (link_field) and whose object is
 * linked to a GHL contact updates that contact by id (PUT) instead, and an
 * upsert links the contact it found or created to the object. Tags are
 * never sent in an upsert or update (they would replace every tag) but
 * with the tag calls. Every write is remembered (echo_put) so that the
 * `contacts` stream does not carry hlbridge's own writes back.
 *
 * The source lists every contact of each location (POST /contacts/search,
 * page by page) and compares a content hash per contact with the one kept
 * in the state store, committed with the poll's checkpoint per location. */
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
#include "../common/role_options.h"
#include "../common/identity.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

#define PLUGIN "ghl"
#define STREAM_CONTACTS GHL_STREAM_CONTACTS
#define MAX_STEPS 32          /* operations per record, tag pruning included */
#define MAX_PAGE_SIZE 500     /* pageLimit the search accepts */
#define MAX_SEARCH_PAGES 10000
#define OBJECT_LEN 160        /* "ghl:<location>:contact:<id>" */

static const hlb_option options[] = {
	GHL_OPTION_AUTH,
	{ "location_id", HLB_OPT_LIST, NULL, 0,
	  "sink: the location of records without a locationId (one id); source (required): location ids, "
	  "comma-separated, or * for every location an agency credential is installed in", NULL },
	GHL_OPTION_BASE_URL,
	{ "operation", HLB_OPT_LIST, NULL, 0,
	  "sink (required): the operations run for each record, in order (contacts.upsert, contacts.update, "
	  "contacts.add_tags, contacts.remove_tags, opportunities.upsert)", NULL },
	{ "country", HLB_OPT_STRING, "US", 0, "sink: ISO country of phone numbers written without +", NULL },
	{ "tag_prefix", HLB_OPT_STRING, NULL, 0,
	  "sink: contacts.add_tags removes the contact's other tags with this prefix", NULL },
	{ "pipeline_id", HLB_OPT_STRING, NULL, 0, "sink: the pipeline of opportunities.upsert", NULL },
	{ "stage.", HLB_OPT_STRING, NULL, HLB_OPT_PREFIX,
	  "sink: stage.STATUS = pipelineStageId: the stage of a record whose status is STATUS", NULL },
	{ "opportunity_status.", HLB_OPT_STRING, NULL, HLB_OPT_PREFIX,
	  "sink: opportunity_status.STATUS = open|won|lost|abandoned (default open)", NULL },
	{ "link_field", HLB_OPT_JSONPATH, "$.object", 0,
	  "sink: the other system's object a record carries (system:scope:kind:id), linked to the contact", NULL },
	{ "streams", HLB_OPT_LIST, "contacts", 0, "source: what is polled (contacts)", NULL },
	{ "page_size", HLB_OPT_INT, "100", 0, "source: contacts per search request (1-500)", NULL },
	GHL_OPTION_CONCURRENCY,
	{ NULL, 0, NULL, 0, NULL, NULL }
};

static const char *const sink_only[] = { "operation", "country", "tag_prefix", "pipeline_id", "stage.",
					 "opportunity_status.", "link_field", NULL };
static const char *const source_only[] = { "streams", "page_size", "concurrency", NULL };

/* One operation of a record's list; contacts.add_tags with a tag_prefix
 * is followed by a contacts.remove_tags of the stale prefixed tags. */
struct step {
	const ghl_op *op;
	int prune;
};

struct delivery;

struct ghl {
	const hlb_host *host;
	hlb_instance *inst;
	uint32_t role;
	ghl_client *client;
	char *auth;
	/* sink */
	ghl_sink_conf conf;
	char *country, *tag_prefix, *pipeline_id;
	char *default_location;
	struct step steps[MAX_STEPS];
	size_t nsteps;
	hlb_path *link_path;
	int has_links, has_echo;
	struct delivery *active;
	/* source */
	char *locations;
	unsigned page_size;
	size_t concurrency;
	ghl_fanout *poll;
	size_t changed, deleted, echoes;
	/* the poll's progress: contacts and pages listed, the totals the
	 * locations' first pages reported, and how many did */
	uint64_t listed, pages, total;
	size_t totals_known;
};

/* ---- setup ---------------------------------------------------------------------- */

static char *dup_option(struct ghl *g, const char *key, int *oom)
{
	const char *v = g->host->option(g->inst, key);
	char *s;

	if (!v || !*v)
		return NULL;
	s = strdup(v);
	if (!s)
		*oom = 1;
	return s;
}

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

static int sink_init(struct ghl *g)
{
	const hlb_host *host = g->host;
	const char *link = host->option(g->inst, "link_field");
	char err[256];
	int oom = 0, rc;

	g->country = dup_option(g, "country", &oom);
	g->tag_prefix = dup_option(g, "tag_prefix", &oom);
	g->pipeline_id = dup_option(g, "pipeline_id", &oom);
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

static int source_init(struct ghl *g)
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
	if (streams && strspn(streams, " \t") != strlen(streams) &&
	    strcmp(streams + strspn(streams, " \t"), "contacts") != 0) {
		host->option_error(g->inst, "streams", "the ghl source has one stream: contacts (got '%s')", streams);
		return HLB_EINVAL;
	}
	rc = ghl_location_option_check(host, g->inst);
	if (rc == HLB_OK)
		rc = ghl_concurrency_option(host, g->inst, &g->concurrency);
	if (rc != HLB_OK)
		return rc;
	g->locations = strdup(host->option(g->inst, "location_id"));
	return g->locations ? HLB_OK : HLB_ENOMEM;
}

static void ghl_free(struct ghl *g);

static int init(const hlb_host *host, hlb_instance *inst, uint32_t role, void **state)
{
	struct ghl *g;
	int rc;

	*state = NULL;
	if (role != HLB_CAP_SOURCE && role != HLB_CAP_SINK)
		return HLB_EUNSUPPORTED;
	rc = ghl_source_host_check(host, inst, PLUGIN);
	if (rc != HLB_OK)
		return rc;
	if (role_options_refuse(host, inst, role, "ghl", source_only, sink_only))
		return HLB_EINVAL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return HLB_ENOMEM;
	g->host = host;
	g->inst = inst;
	g->role = role;
	rc = role == HLB_CAP_SINK ? sink_init(g) : source_init(g);
	if (rc == HLB_OK) {
		g->auth = strdup(host->option(inst, "auth"));
		g->client = g->auth ? ghl_client_new(host, inst, PLUGIN, g->auth, host->option(inst, "base_url"))
				    : NULL;
		if (!g->client)
			rc = HLB_ENOMEM;
	}
	if (rc != HLB_OK) {
		ghl_free(g);
		return rc;
	}
	*state = g;
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

static int deliver(void *state, hlb_job *job)
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

/* ---- the source ------------------------------------------------------------------------ */

struct cloc {
	ghl_fanout_loc head;  /* first: the run's part (the fan-out's) */
	ghl_call *call;
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
			     "changed, %zu deleted, %zu own writes skipped, %zu locations failed", f->n, g->changed,
			     g->deleted, g->echoes, f->failed);
	if (f->failed) {
		snprintf(msg, sizeof(msg), "%zu of %zu locations failed (first: %s); their contacts are polled "
			 "again next time", f->failed, f->n, f->first_error);
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
		g->host->progress(f->job, g->listed, g->totals_known == f->n ? g->total : 0, g->pages);
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
	ghl_fanout_done(&l->head, NULL);
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
	l->call = ghl_request(g->client, l->head.id, op->method, op->version, op->path, body, on_search, l);
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

/* A check searches the first location for one contact. */
static void cloc_check(ghl_fanout_loc *head)
{
	struct cloc *l = (struct cloc *)head;
	struct ghl *g = ghl_of(l);
	json_object *body = json_object_new_object();

	if (body) {
		json_object_object_add(body, "locationId", json_object_new_string(l->head.id));
		json_object_object_add(body, "pageLimit", json_object_new_int(1));
		l->call = ghl_request(g->client, l->head.id, "POST", GHL_VERSION, "/contacts/search", body, on_check, l);
		json_object_put(body);
	}
	if (!l->call)
		ghl_fanout_finish(head->fanout, HLB_ENOMEM, "the contacts could not be searched (out of memory)");
}

static int start(struct ghl *g, hlb_job *job, int check)
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

static int ghl_poll(void *state, hlb_job *job)
{
	struct ghl *g = state;

	if (g->role != HLB_CAP_SOURCE) {
		g->host->finish(job, HLB_EUNSUPPORTED, "not a source");
		return HLB_EUNSUPPORTED;
	}
	return start(g, job, 0);
}

static int ghl_check(void *state, hlb_job *job)
{
	struct ghl *g = state;
	char msg[1024], names[600] = "";

	if (g->role == HLB_CAP_SOURCE)
		return start(g, job, 1);
	for (size_t i = 0; i < g->nsteps; i++) {
		size_t used = strlen(names);

		snprintf(names + used, sizeof(names) - used, "%s%s %s%s", i ? ", " : "", g->steps[i].op->method,
			 g->steps[i].op->path, g->steps[i].prune ? " (stale tags)" : "");
	}
	snprintf(msg, sizeof(msg), "per record: %s (GHL was not contacted)", names);
	g->host->finish(job, HLB_OK, msg);
	return HLB_OK;
}

/* ---- teardown -------------------------------------------------------------------------- */

static void ghl_free(struct ghl *g)
{
	if (!g)
		return;
	while (g->active)
		delivery_free(g->active);
	ghl_fanout_free(g->poll);
	ghl_client_free(g->client);
	if (g->link_path)
		g->host->path_free(g->link_path);
	json_object_put(g->conf.stages);
	json_object_put(g->conf.statuses);
	free(g->auth);
	free(g->country);
	free(g->tag_prefix);
	free(g->pipeline_id);
	free(g->default_location);
	free(g->locations);
	free(g);
}

static void fini(void *state)
{
	ghl_free(state);
}

const hlb_plugin HLB_PLUGIN_EXPORT(ghl) = {
	HLB_PLUGIN_HEADER,
	/* a poll never committed searches again against the last committed
	 * hashes, and finds the same changes */
	.caps = HLB_CAP_SOURCE | HLB_CAP_SINK | HLB_CAP_REPLAY,
	.name = PLUGIN,
	.version = PACKAGE_VERSION,
	.summary = "GoHighLevel contacts and opportunities: upserts, tags and stages (sink), contact changes (source)",
	.options = options,
	.init = init,
	.check = ghl_check,
	.poll = ghl_poll,
	.deliver = deliver,
	.fini = fini,
};
