/* What the three parts of the `ghl` module share: ghl.c (options, init,
 * the descriptor), ghl_sink.c (operations per record) and ghl_source.c
 * (streams). Internal to the module. */
#ifndef GHL_MODULE_H
#define GHL_MODULE_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "hlbridge/hlbridge.h"
#include "ghl_client.h"
#include "ghl_ops.h"

#define PLUGIN "ghl"
#define STREAM_CONTACTS GHL_STREAM_CONTACTS
#define MAX_STEPS 32          /* operations per record, tag pruning included */
#define MAX_PAGE_SIZE 500     /* pageLimit the search accepts */
#define MAX_SEARCH_PAGES 10000
#define OBJECT_LEN 160        /* "ghl:<location>:contact:<id>" */

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
	size_t lanes;                   /* records of a delivery run at once (1 unless all read) */
	struct delivery *active;
	struct json_object *custom_fields; /* location id -> its customFields answer (sink) */
	/* source */
	char *locations;
	unsigned page_size;
	size_t concurrency;
	ghl_fanout *poll;
	int contacts_stream;            /* `contacts` is among the streams */
	struct ghl_streams *streams;    /* the trigger streams (ghl_streams.c), or NULL */
	size_t changed, deleted, echoes;
	/* the poll's progress: contacts and pages listed, the totals the
	 * locations' first pages reported, and how many did */
	uint64_t listed, pages, total;
	size_t totals_known;
};


/* An option's value as a new string; NULL when unset or empty (*oom set
 * when out of memory). */
char *ghl_dup_option(struct ghl *g, const char *key, int *oom);

int ghl_sink_init(struct ghl *g);
int ghl_sink_deliver(void *state, hlb_job *job);
int ghl_sink_check(struct ghl *g, hlb_job *job);
void ghl_sink_free(struct ghl *g);

int ghl_source_init(struct ghl *g);
int ghl_source_start(struct ghl *g, hlb_job *job, int check);
void ghl_source_free(struct ghl *g);

#endif
