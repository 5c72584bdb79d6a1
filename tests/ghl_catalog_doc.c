/* Prints doc/ghl-operations.md, the reference of the `ghl` module's
 * operations, from the catalog itself (plugins/ghl/ghl_catalog.c), so
 * that the page cannot drift from what the module does:
 *
 *	tests/ghl_catalog_doc > doc/ghl-operations.md
 *
 * tests/ghl_catalog.test compares the checked-in page with this output. */
#include <stdio.h>
#include <string.h>

#include "../plugins/ghl/ghl_ops.h"

#define NAME_MAX_LEN 64

/* Calls fn for each {placeholder} of op's path, with the member that
 * fills it. */
static void each_placeholder(const ghl_op *op, void (*fn)(const ghl_op *, const ghl_op_item *, void *), void *arg)
{
	const char *p = NULL;
	ghl_op_item it;

	while (ghl_op_placeholder_next(op, &p, &it))
		fn(op, &it, arg);
}

static int in_path(const ghl_op *op, const char *name)
{
	char ph[NAME_MAX_LEN + 2];

	snprintf(ph, sizeof(ph), "{%s}", name);
	return strstr(op->info.path, ph) != NULL;
}

static const char *paging_text(ghl_paging paging)
{
	switch (paging) {
	case GHL_PAGING_SEARCH_BODY:
		return "`page` and `pageLimit` (then `searchAfter`) in the JSON body";
	case GHL_PAGING_SKIP_LIMIT:
		return "`skip` and `limit` in the query";
	case GHL_PAGING_SKIP_LIMIT_BODY:
		return "`skip` and `limit` (as strings) in the JSON body";
	case GHL_PAGING_LIMIT_OFFSET:
		return "`limit` and `offset` in the query";
	case GHL_PAGING_START_AFTER:
		return "`startAfterId` and `startAfter` cursors with `limit`";
	case GHL_PAGING_START_AFTER_DATE:
		return "`startAfterDate` (the last item's sort value) with `limit`";
	case GHL_PAGING_LAST_MESSAGE_ID:
		return "`lastMessageId` with `limit`, until `nextPage` is false";
	case GHL_PAGING_TIME_WINDOW:
		return "one request per time window (`startTime`/`endTime`, epoch ms)";
	case GHL_PAGING_DATE_WINDOW:
		return "one request per window of at most 31 days (`startDate`/`endDate`, epoch ms)";
	case GHL_PAGING_NONE:
	default:
		return NULL;
	}
}

/* "`a` (required), `b`" of a params or body list; path placeholders
 * skipped (skip_path). */
static void print_list(const ghl_op *op, const char *list, int skip_path)
{
	const char *p = list;
	int first = 1;
	ghl_op_item it;

	while (ghl_op_item_next(&p, &it)) {
		if (skip_path && in_path(op, it.name))
			continue;
		printf("%s`%s`", first ? "" : ", ", it.name);
		if (strcmp(it.name, it.member) != 0)
			printf(" (from `%s`)", it.member);
		if (it.required)
			printf(" (required)");
		first = 0;
	}
}

static int has_query(const ghl_op *op)
{
	const char *p = op->params;
	ghl_op_item it;

	while (ghl_op_item_next(&p, &it))
		if (!in_path(op, it.name))
			return 1;
	return 0;
}

static void print_placeholder(const ghl_op *op, const ghl_op_item *it, void *arg)
{
	int *first = arg;

	(void)op;
	printf("%s`{%s}`", *first ? "" : ", ", it->name);
	if (strcmp(it->name, it->member) != 0)
		printf(" from `%s`", it->member);
	else if (strcmp(it->name, "locationId") == 0)
		printf(" from the location");
	*first = 0;
}

static void print_marks(const hlb_operation *info)
{
	const char *sep = "";

	if (!info->marks && !info->note)
		return;
	printf("- Notes: ");
	if (info->marks & HLB_OPMARK_DEPRECATED) {
		printf("**deprecated**");
		sep = "; ";
	}
	if (info->marks & HLB_OPMARK_AGENCY_ONLY) {
		printf("%s**agency only**", sep);
		sep = "; ";
	}
	if (info->marks & HLB_OPMARK_INEXACT) {
		printf("%s**closest endpoint**", sep);
		sep = "; ";
	}
	if (info->note)
		printf("%s%s", sep, info->note);
	printf("\n");
}

static void print_answer(const ghl_op *op)
{
	if (op->flags & GHL_OPF_RAW) {
		printf("- Answer: a file, not JSON: one record with its `contentType`, `size`, `fnv1a64` digest "
		       "and `data` (base64)\n");
		return;
	}
	printf("- Answer: ");
	if (op->items)
		printf("the list in `%s`", op->items);
	else if (op->item)
		printf("the object in `%s`", op->item);
	else
		printf("the answer itself");
	if (op->id_key)
		printf(", identified by `%s`", op->id_key);
	if (op->yields)
		printf("; its id is known to later operations as `%s`", op->yields);
	printf("\n");
}

static void param_line(const ghl_op *op, const ghl_op_item *it, void *arg)
{
	(void)op;
	(void)arg;
	if (strcmp(it->name, "locationId") == 0 || strcmp(it->name, "companyId") == 0)
		return;
	printf("param.%s = <%s>\n", it->member, it->member);
}

static void trigger_snippet(const ghl_op *op)
{
	const char *p = op->params;
	ghl_op_item it;

	printf("[source:x]\nplugin = ghl\nauth = ghl\nlocation_id = LOC\nstreams = %s\n", op->info.name);
	each_placeholder(op, param_line, NULL);
	while (ghl_op_item_next(&p, &it))
		if (it.required && !in_path(op, it.name) && strcmp(it.member, "locationId") != 0 &&
		    strcmp(it.member, "companyId") != 0)
			printf("param.%s = <%s>\n", it.member, it.member);
}

static void reads_placeholder(const ghl_op *op, const ghl_op_item *it, void *arg)
{
	int *first = arg;

	(void)op;
	if (strcmp(it->name, "locationId") == 0)
		return;
	printf("%s%s!", *first ? "" : ", ", it->member);
	*first = 0;
}

static void reads_list(const ghl_op *op, const char *list, int *first)
{
	const char *p = list;
	ghl_op_item it;

	while (ghl_op_item_next(&p, &it)) {
		if (in_path(op, it.name) || strcmp(it.member, "locationId") == 0)
			continue;
		printf("%s%s%s", *first ? "" : ", ", it.member, it.required ? "!" : "");
		*first = 0;
	}
}

static void action_snippet(const ghl_op *op)
{
	int first = 1;

	if (ghl_op_is_lookup(op))
		printf("\n# or, as a lookup for the records of a route (the answer goes into the sink's result as "
		       "\"%s\";\n# a route with from = x reads the results)\n", ghl_op_lookup_member(op));
	printf("[sink:x]\nplugin = ghl\nauth = ghl\noperation = %s\n", op->info.name);
	printf("# reads (! = required): ");
	each_placeholder(op, reads_placeholder, &first);
	reads_list(op, op->params, &first);
	reads_list(op, op->body, &first);
	if (op->build)
		printf("%sthe members the module builds the body from", first ? "" : "; ");
	else if (first)
		printf("nothing but the location");
	printf("\n");
}

static void print_op(const ghl_op *op)
{
	const hlb_operation *info = &op->info;
	const char *paging = paging_text(op->paging);
	int first = 1;

	printf("### `%s` — %s\n\n", info->name, info->title);
	printf("- %s: `%s %s` (`Version: %s`; %s, operationId `%s`)\n", info->kind, info->method, info->path,
	       op->version ? op->version : "none", info->spec, info->operation_id);
	printf("- Scope: %s; token: %s%s\n", info->scope, info->token,
	       op->flags & GHL_OPF_AGENCY ? " (called with the agency token)" : "");
	print_marks(info);
	if (paging)
		printf("- Paging: %s\n", paging);
	if (strchr(info->path, '{')) {
		printf("- Path: ");
		each_placeholder(op, print_placeholder, &first);
		printf("\n");
	}
	if (has_query(op)) {
		printf("- Query: ");
		print_list(op, op->params, 1);
		printf("\n");
	}
	if (op->body && !*op->body) {
		printf("- Body: an empty JSON object, `{}` (the API requires one)\n");
	} else if (op->body) {
		printf("- Body%s: ", op->flags & GHL_OPF_BODY_ARRAY ? " (a one-element array of)" : "");
		print_list(op, op->body, 0);
		printf("\n");
	} else if (op->build) {
		printf("- Body: built by the module from the record\n");
	}
	print_answer(op);
	if (op->flags & GHL_OPF_CREATE)
		printf("- Creates an object: once per record key, not again when the record is delivered again\n");
	printf("\n```ini\n");
	if (ghl_op_is_stream(op))
		trigger_snippet(op);
	if (!ghl_op_is_stream(op) || ghl_op_is_lookup(op))
		action_snippet(op);
	printf("```\n\n");
}

static void print_intro(void)
{
	size_t triggers = 0;

	for (size_t i = 0; i < ghl_ops_count; i++)
		triggers += ghl_op_is_stream(&ghl_ops[i]);
	printf("# GoHighLevel operations of the `ghl` module\n\n"
	       "<!-- Generated by tests/ghl_catalog_doc from plugins/ghl/ghl_catalog.c; do not edit.\n"
	       "     Regenerate: make tests/ghl_catalog_doc && tests/ghl_catalog_doc > doc/ghl-operations.md -->\n\n");
	printf("The `ghl` module knows %zu operations of the GoHighLevel (LeadConnector) API: %zu triggers and "
	       "%zu actions. `hlbridge plugins ghl` lists them; `--format=tsv` prints the table.\n\n",
	       ghl_ops_count, triggers, ghl_ops_count - triggers);
	printf("- A **trigger** reads: name it in `streams =` of a `[source:NAME]` with `plugin = ghl`. "
	       "Each item of its answer becomes a record.\n"
	       "- An **action** writes: name it in `operation =` of a `[sink:NAME]` with `plugin = ghl`; "
	       "the operations run for each record in the order given.\n"
	       "- A trigger answered by one request (a get by id, an unpaged list) is also a **lookup**: named "
	       "in a sink's `operation =`, it runs for each record of the routes into that sink, and its answer "
	       "goes into the sink's result, which a route with `from = SINK` reads (lookup enrichment).\n\n");
	printf("Where the values of a request come from: a path placeholder `{name}`, a query member and a body "
	       "member take the value named so (or the member an alias names: `{id}` from `noteId`), looked up\n\n"
	       "1. among the ids earlier operations of the same record yielded (an action's \"known to later "
	       "operations as\"), and a source's `param.NAME` options;\n"
	       "2. in the record's members (actions);\n"
	       "3. for `locationId`, the location (the record's `locationId`, else `location_id =`); for "
	       "`companyId`, the credential's company.\n\n"
	       "A member marked required that has no value fails the record (a trigger's configuration is "
	       "refused). Paging members (`skip`, `limit`, `offset`, `page`, `startAfter`...) and the time "
	       "windows of the window triggers are added by the module, not configured.\n\n");
	printf("Marks: **deprecated** (the vendor deprecated the endpoint), **agency only** (needs an agency, "
	       "company, credential), **closest endpoint** (no endpoint does exactly what the name says; the "
	       "note tells what this one does).\n\n");
}

int main(void)
{
	const char *category = NULL;

	print_intro();
	for (size_t i = 0; i < ghl_ops_count; i++) {
		const ghl_op *op = &ghl_ops[i];

		if (!category || strcmp(category, op->info.category) != 0) {
			size_t t = 0, a = 0;

			category = op->info.category;
			for (size_t j = i; j < ghl_ops_count && strcmp(ghl_ops[j].info.category, category) == 0; j++)
				*(ghl_op_is_stream(&ghl_ops[j]) ? &t : &a) += 1;
			printf("## %s\n\n%zu triggers, %zu actions.\n\n", category, t, a);
		}
		print_op(op);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("ghl_catalog_doc");
		return 1;
	}
	return 0;
}
