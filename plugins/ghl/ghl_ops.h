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

#include "hlbridge/plugin.h"
#include "ghl_util.h"

struct json_object;

/* How a trigger's list is paged (FACTS.md, "Paging"). */
typedef enum ghl_paging {
	GHL_PAGING_NONE = 0,
	GHL_PAGING_SEARCH_BODY = 1,     /* page + pageLimit (+ searchAfter) in a JSON body */
	GHL_PAGING_SKIP_LIMIT = 2,      /* skip & limit in the query (ghl_page_skip) */
	GHL_PAGING_SKIP_LIMIT_BODY = 3, /* skip & limit, as strings, in the JSON body */
	GHL_PAGING_LIMIT_OFFSET = 4,    /* limit & offset in the query */
	GHL_PAGING_START_AFTER = 5,     /* startAfterId AND startAfter (one alone repeats page 1), limit */
	GHL_PAGING_START_AFTER_DATE = 6,/* startAfterDate = the last item's sort value, limit */
	GHL_PAGING_LAST_MESSAGE_ID = 7, /* lastMessageId + limit until nextPage is false */
	GHL_PAGING_TIME_WINDOW = 8,     /* one request per startTime/endTime window (epoch ms) */
	GHL_PAGING_DATE_WINDOW = 9      /* one request per startDate/endDate window (epoch ms, <= 31 days) */
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

/* One record going through its operations (or one request of a trigger). */
typedef struct ghl_op_ctx {
	const ghl_sink_conf *conf;
	struct json_object *rec;      /* the record's body, borrowed (a trigger: NULL) */
	char location[GHL_ID_MAX];    /* the location it is for ("" for agency calls) */
	char contact_id[GHL_ID_MAX];  /* "" until known */
	struct json_object *contact;  /* the contact as last answered (owned), or NULL */
	struct json_object *tags;     /* its tags as last answered (owned array), or NULL */
	/* Values known besides the record's members (owned object, or NULL):
	 * the ids earlier operations yielded ("taskId": "..."), a trigger's
	 * param.NAME options, the credential's companyId. Looked up before
	 * the record. */
	struct json_object *vars;
	int prune;                    /* remove_tags: the stale tag_prefix tags, not remove_tags */
	/* The operation's own part of the record (NULL: none): values are
	 * read from record[scope] before the record itself, so that one
	 * record can give a task and a note each its own "body"
	 * (create_task.body, create_note.body). The sink sets it to the part
	 * of the operation's name after the dot. */
	const char *scope;
	char error[GHL_OP_ERROR_LEN];
} ghl_op_ctx;

/* Row flags. */
#define GHL_OPF_CREATE  (1u << 0) /* creates an object: once per record key (no duplicate on redelivery) */
#define GHL_OPF_AGENCY  (1u << 1) /* called with the agency (company) token: no location */
#define GHL_OPF_RAW     (1u << 2) /* the answer is a file (audio, text), not JSON: see ghl_raw.h */
/* The body is a JSON array holding the one object built from `body`
 * (POST /calendars/{calendarId}/notifications takes a list). */
#define GHL_OPF_BODY_ARRAY (1u << 3)

typedef struct ghl_op ghl_op;

/* One operation. The first member is what `hlbridge plugins ghl` lists
 * (the descriptor points at the table, with sizeof(ghl_op) as stride);
 * the rest says how to call it.
 *
 * Where values come from. A {name} of the path, and each name of
 * `query` and `body`, takes the value of that name from ctx->vars, else
 * the record's member, else: locationId the ctx's location, companyId
 * the credential's company (in vars). A name written "name!" is required:
 * without a value the record fails with an error naming it (or a
 * trigger's configuration is refused). "name=member" reads another
 * member ("{id}" of a note is "id=noteId"). */
struct ghl_op {
	hlb_operation info;     /* name ("contacts.create_task"), title, category, kind (Trigger: a source's
				 * stream; Action: a sink's operation), method, path, ... */
	const char *version;    /* the Version header */
	ghl_paging paging;
	const char *params;     /* path aliases and query members: "locationId!,query,id=noteId" */
	const char *body;       /* JSON body members: "title!,body,dueDate!"; NULL: no body */
	const char *items;      /* trigger: the answer's member holding the list ("a.b" nested); NULL: one object */
	const char *item;       /* the answer's member holding the one object (a get, a create's result);
				 * NULL: the answer */
	const char *id_key;     /* what identifies an item: NULL means "id" */
	const char *yields;     /* action: the names its result's id is known by to later operations: "taskId" */
	unsigned flags;         /* GHL_OPF_* */
	/* The request body (a new object in *body; NULL for none). NULL:
	 * ghl_op_body builds it from `body`. */
	ghl_build_rc (*build)(ghl_op_ctx *ctx, struct json_object **body);
	/* Reads a 2xx answer (may be NULL) into ctx. NULL: ghl_op_result. */
	ghl_build_rc (*result)(ghl_op_ctx *ctx, struct json_object *answer);
};

/* The catalog (ghl_catalog.c), in operations.tsv's order, ending with a
 * row whose info.name is NULL; ghl_ops_count rows before it. */
extern const ghl_op ghl_ops[];
extern const size_t ghl_ops_count;

/* The row named `name`, or NULL. */
const ghl_op *ghl_op_find(const char *name);
/* 1 when a sink may list it in `operation` (an action). */
int ghl_op_is_sink(const ghl_op *op);
/* 1 when a source may list it in `streams` (a trigger). */
int ghl_op_is_stream(const ghl_op *op);
/* 1 when a sink may list it as a lookup: a trigger answered by one
 * request (a get by id, an unpaged list), not a file. Its answer goes
 * into the record's result (host->result) as ghl_op_lookup_member. */
int ghl_op_is_lookup(const ghl_op *op);
/* The result's member for a lookup's answer: the last part of its item
 * or items member ("contact", "tasks"), else of its name. */
const char *ghl_op_lookup_member(const ghl_op *op);
/* "a, b, c": the names ghl_op_is_sink accepts, for error messages. */
void ghl_ops_sink_names(char *buf, size_t len);

/* The request path and query of `op` for ctx: every {name} filled in and
 * every `params` query member that has a value appended (all
 * percent-encoded). GHL_BUILD_FAIL with ctx->error naming the missing
 * value; `out` is left as it was on failure. */
ghl_build_rc ghl_op_path(const ghl_op *op, ghl_op_ctx *ctx, ghl_buf *out);
/* The JSON body from `body` (op->build when it has one). *body NULL when
 * the operation sends none. */
ghl_build_rc ghl_op_body(const ghl_op *op, ghl_op_ctx *ctx, struct json_object **body);
/* The generic answer reader: the id of the object at `item` (or of the
 * answer) into ctx->vars under each name of `yields`. */
ghl_build_rc ghl_op_result(const ghl_op *op, ghl_op_ctx *ctx, struct json_object *answer);
/* The id of the answer's object (at `item`, member `id_key`), or NULL. */
const char *ghl_op_answer_id(const ghl_op *op, struct json_object *answer);
/* `id` into ctx->vars under each name of `yields` (and ctx->contact_id
 * for contactId): what a create's answer, or the object an earlier
 * delivery of the record created, tells the later operations. */
ghl_build_rc ghl_op_yield(const ghl_op *op, ghl_op_ctx *ctx, const char *id);
/* The value of `name` for ctx (vars, record, location), as a string, or
 * NULL. */
const char *ghl_op_value(const ghl_op_ctx *ctx, const char *name);
/* 1 when the row takes a companyId (path, query or body): the credential's,
 * unless a value gives it. */
int ghl_op_wants_company(const ghl_op *op);

/* 1 when body's customFields is an object {fieldKey: value}, which GHL
 * does not take: it must be resolved first. */
int ghl_custom_fields_pending(struct json_object *body);
/* Turns body's customFields {fieldKey: value} into GHL's [{"id",
 * "field_value"}] with a location's definitions `defs` (the answer of
 * GET /locations/{locationId}/customFields); a key is a fieldKey, an id,
 * or a fieldKey without its "contact." / "opportunity." prefix. An array
 * stays as it is. GHL_BUILD_FAIL with the first unknown key in
 * `unknown` (the body unchanged). */
ghl_build_rc ghl_custom_fields_resolve(struct json_object *body, struct json_object *defs, char *unknown,
				       size_t len);

/* One item of a row's `params` or `body` list: "name", "name!"
 * (required; the '!' may stand anywhere), "name=member" (the value is
 * member's). */
typedef struct ghl_op_item {
	char name[64];
	char member[64]; /* where its value is read: the name unless aliased */
	int required;
} ghl_op_item;

/* The next item of the list *p (advanced) into *it; 0 at the end. Items
 * too long to be a member name are skipped (a table typo, caught by the
 * table test). */
int ghl_op_item_next(const char **p, ghl_op_item *it);
/* The next {placeholder} of op's path after *p (NULL: the first) into *it,
 * with the member that fills it (its alias in `params`, else itself),
 * always required; 0 after the last. */
int ghl_op_placeholder_next(const ghl_op *op, const char **p, ghl_op_item *it);

/* The builders and readers of the operations that need more than the
 * generic ones (contacts two-way sync, tags, opportunity stages). */
ghl_build_rc ghl_build_contact_upsert(ghl_op_ctx *ctx, struct json_object **body);
ghl_build_rc ghl_build_contact_update(ghl_op_ctx *ctx, struct json_object **body);
ghl_build_rc ghl_build_add_tags(ghl_op_ctx *ctx, struct json_object **body);
ghl_build_rc ghl_build_remove_tags(ghl_op_ctx *ctx, struct json_object **body);
ghl_build_rc ghl_build_opportunity_upsert(ghl_op_ctx *ctx, struct json_object **body);
ghl_build_rc ghl_result_contact(ghl_op_ctx *ctx, struct json_object *answer);
ghl_build_rc ghl_result_tags(ghl_op_ctx *ctx, struct json_object *answer);

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
