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
#include "ghl_module.h"
#include "../common/role_options.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

static const hlb_option options[] = {
	GHL_OPTION_AUTH,
	{ "location_id", HLB_OPT_LIST, NULL, 0,
	  "sink: the location of records without a locationId (one id); source (required): location ids, "
	  "comma-separated, or * for every location an agency credential is installed in", NULL },
	GHL_OPTION_BASE_URL,
	{ "operation", HLB_OPT_LIST, NULL, 0,
	  "sink (required): the actions run for each record, in order (any Action `hlbridge plugins ghl` lists: "
	  "contacts.upsert, contacts.create_task, ...); the ids one yields (contactId, taskId, ...) fill the "
	  "later ones, and record[NAME] (create_task.title) is read before the record's own members; a trigger "
	  "answered by one request (contacts.get, ...) is a lookup whose answer goes into the sink's result "
	  "(a route with from = this sink reads them)", NULL },
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
	{ "parallel", HLB_OPT_INT, "8", 0,
	  "sink: records of a delivery read at once (1-64) when every operation only reads (lookups, finds); a "
	  "sink that writes takes its records one at a time, in order", NULL },
	{ "streams", HLB_OPT_LIST, "contacts", 0,
	  "source: what is polled: contacts (the two-way stream) and any Trigger operation `hlbridge plugins ghl` "
	  "lists (contacts.search, calendars.events, ...)", NULL },
	{ "param.", HLB_OPT_STRING, NULL, HLB_OPT_PREFIX,
	  "source: param.NAME = v1, v2: a value of the streams' paths, queries and bodies ({contactId}, ...); a "
	  "list for a path value reads the stream once per value; a value written as a JSON array or object, "
	  "true or false is sent as that JSON (filters = [{...}]); a path value @STREAM (a stream listed earlier "
	  "in streams) takes the ids that stream lists in the same poll", NULL },
	{ "page_size", HLB_OPT_INT, "100", 0,
	  "source: items per request (1-500: the contacts search's pageLimit; the other list streams ask for at "
	  "most 100, their endpoints' limit)", NULL },
	{ "max_pages", HLB_OPT_INT, "1000", 0,
	  "source: pages of one stream per location and poll; more is an error and the next poll goes on", NULL },
	{ "checkpoint_pages", HLB_OPT_INT, "50", 0,
	  "source: a long listing saves where it is every this many pages (a restart goes on from there)", NULL },
	{ "window_back", HLB_OPT_DURATION, "7d", 0,
	  "source: the time-window streams (calendar events, free slots) read from now minus this ...", NULL },
	{ "window_ahead", HLB_OPT_DURATION, "30d", 0, "source: ... to now plus this", NULL },
	GHL_OPTION_CONCURRENCY,
	{ NULL, 0, NULL, 0, NULL, NULL }
};

static const char *const sink_only[] = { "operation", "country", "tag_prefix", "pipeline_id", "stage.",
					 "opportunity_status.", "link_field", "parallel", NULL };
static const char *const source_only[] = { "streams", "page_size", "concurrency", "param.", "max_pages",
					   "checkpoint_pages", "window_back", "window_ahead", NULL };

/* ---- setup ---------------------------------------------------------------------- */

char *ghl_dup_option(struct ghl *g, const char *key, int *oom)
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
	rc = role == HLB_CAP_SINK ? ghl_sink_init(g) : ghl_source_init(g);
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


static int ghl_poll(void *state, hlb_job *job)
{
	struct ghl *g = state;

	if (g->role != HLB_CAP_SOURCE) {
		g->host->finish(job, HLB_EUNSUPPORTED, "not a source");
		return HLB_EUNSUPPORTED;
	}
	return ghl_source_start(g, job, 0);
}

static int ghl_check(void *state, hlb_job *job)
{
	struct ghl *g = state;

	return g->role == HLB_CAP_SOURCE ? ghl_source_start(g, job, 1) : ghl_sink_check(g, job);
}

/* ---- teardown -------------------------------------------------------------------------- */

static void ghl_free(struct ghl *g)
{
	if (!g)
		return;
	ghl_sink_free(g);
	ghl_source_free(g);
	ghl_client_free(g->client);
	free(g->auth);
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
	.caps = HLB_CAP_SOURCE | HLB_CAP_SINK | HLB_CAP_REPLAY | HLB_CAP_RESULTS,
	.name = PLUGIN,
	.version = PACKAGE_VERSION,
	.summary = "GoHighLevel API: 69 actions (sink operations) and 55 triggers (source streams), "
		   "contacts two-way",
	.options = options,
	.init = init,
	.check = ghl_check,
	.poll = ghl_poll,
	.deliver = ghl_sink_deliver,
	.operations = &ghl_ops[0].info,
	.operation_size = sizeof(ghl_op),
	.fini = fini,
};

