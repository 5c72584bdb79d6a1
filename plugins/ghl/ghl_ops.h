/* The operations of the `ghl` module: one row per GoHighLevel API
 * operation, as data (name, category, kind, method, path template,
 * Version, scope, paging) so that a listing can print the table and a new
 * operation is one more row; and per row the functions that turn a
 * record into the request body and read the answer back.
 *
 * Body builders and result handlers are pure (no I/O, no host): they work
 * on a ghl_op_ctx, the state of one record going through its list of
 * operations, and are unit-testable without a server. */
#ifndef GHL_OPS_H
#define GHL_OPS_H

#include <stddef.h>

#include "ghl_util.h"

struct json_object;

typedef enum ghl_op_kind {
	GHL_OP_TRIGGER = 0,  /* reads: a source's stream */
	GHL_OP_ACTION = 1    /* writes: a sink's operation */
} ghl_op_kind;

typedef enum ghl_paging {
	GHL_PAGING_NONE = 0,
	GHL_PAGING_SEARCH_BODY = 1,  /* page + pageLimit (+ searchAfter) in a JSON body */
	GHL_PAGING_SKIP_LIMIT = 2    /* skip & limit in the query (ghl_page_skip) */
} ghl_paging;

/* What a builder or handler answers. */
typedef enum ghl_build_rc {
	GHL_BUILD_OK = 0,      /* send the request */
	GHL_BUILD_SKIP = 1,    /* nothing to do for this record (no tags, ...) */
	GHL_BUILD_FAIL = -1,   /* the record cannot be sent as it is: ctx->error says why */
	GHL_BUILD_NOMEM = -2
} ghl_build_rc;

/* A sink instance's settings the builders read. */
typedef struct ghl_sink_conf {
	const char *country;          /* region for national phone numbers */
	const char *tag_prefix;       /* NULL: add_tags only adds */
	const char *pipeline_id;      /* NULL: none configured */
	struct json_object *stages;   /* record status -> pipelineStageId */
	struct json_object *statuses; /* record status -> open|won|lost|abandoned */
} ghl_sink_conf;

#define GHL_ID_MAX 64
#define GHL_OP_ERROR_LEN 512

/* One record going through its operations. */
typedef struct ghl_op_ctx {
	const ghl_sink_conf *conf;
	struct json_object *rec;      /* the record's body, borrowed */
	char location[GHL_ID_MAX];    /* the location it is for */
	char contact_id[GHL_ID_MAX];  /* "" until known */
	struct json_object *contact;  /* the contact as last answered (owned), or NULL */
	struct json_object *tags;     /* its tags as last answered (owned array), or NULL */
	int prune;                    /* remove_tags: the stale tag_prefix tags, not remove_tags */
	char error[GHL_OP_ERROR_LEN];
} ghl_op_ctx;

typedef struct ghl_op ghl_op;

struct ghl_op {
	const char *name;       /* "contacts.upsert" */
	const char *category;   /* "Contacts", as in operations.tsv */
	ghl_op_kind kind;
	const char *method;
	const char *path;       /* "/contacts/{contactId}/tags": {contactId} and {locationId} come from the ctx */
	const char *version;    /* the Version header */
	const char *scope;      /* the OAuth scope it needs */
	ghl_paging paging;
	/* The request body (a new object in *body; NULL for none). NULL: the
	 * operation takes no body. */
	ghl_build_rc (*build)(ghl_op_ctx *ctx, struct json_object **body);
	/* Reads a 2xx answer (may be NULL) into ctx. NULL: nothing to keep. */
	ghl_build_rc (*result)(ghl_op_ctx *ctx, struct json_object *answer);
};

extern const ghl_op ghl_ops[];
extern const size_t ghl_ops_count;

/* The row named `name`, or NULL. */
const ghl_op *ghl_op_find(const char *name);
/* 1 when a sink may list it in `operation` (an action with a builder). */
int ghl_op_is_sink(const ghl_op *op);
/* "a, b, c": the names ghl_op_is_sink accepts, for error messages. */
void ghl_ops_sink_names(char *buf, size_t len);

/* The request path of `op` for ctx: {contactId} and {locationId} filled
 * in (percent-encoded). GHL_BUILD_FAIL with ctx->error when one is not
 * known. */
ghl_build_rc ghl_op_path(const ghl_op *op, ghl_op_ctx *ctx, ghl_buf *out);

void ghl_op_ctx_init(ghl_op_ctx *ctx, const ghl_sink_conf *conf, struct json_object *rec,
		     const char *location);
void ghl_op_ctx_clear(ghl_op_ctx *ctx);

/* Members of a contact carried across systems and remembered for echo
 * prevention, NULL-terminated. */
extern const char *const ghl_contact_fields[];
/* {email, phone, firstName, lastName, tags (lower-case, sorted)} of a
 * contact (GHL's shape; `tags` NULL: the contact's own "tags"); absent
 * or non-string values are JSON null, so that two views compare equal
 * member by member. A new object, NULL when out of memory. */
struct json_object *ghl_contact_view(struct json_object *contact, struct json_object *tags);
/* A new array of the strings of `tags`, lower-cased, sorted, without
 * duplicates (non-strings dropped). */
struct json_object *ghl_tags_sorted(struct json_object *tags);

#endif
