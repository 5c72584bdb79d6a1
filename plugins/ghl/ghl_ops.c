/* See ghl_ops.h. Paths, scopes and Version values are those of
 * ../shared/specs/ghl/operations.tsv. */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "ghl_client.h"
#include "ghl_ops.h"
#include "../common/identity.h"

#define TAG_MAX 256   /* longer tags are not GHL's: refused */

const char *const ghl_contact_fields[] = { "email", "phone", "firstName", "lastName", "tags", NULL };

static ghl_build_rc fail(ghl_op_ctx *ctx, const char *fmt, ...) HLB_PRINTF(2, 3);

static ghl_build_rc fail(ghl_op_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx->error, sizeof(ctx->error), fmt, ap);
	va_end(ap);
	return GHL_BUILD_FAIL;
}

static const char *rec_str(const ghl_op_ctx *ctx, const char *key)
{
	const char *s = ghl_json_string(ctx->rec, key);

	return s && *s ? s : NULL;
}

/* Copies a string member of the record into the body, when it has one. */
static void copy_str(json_object *body, const ghl_op_ctx *ctx, const char *key)
{
	const char *s = rec_str(ctx, key);

	if (s)
		json_object_object_add(body, key, json_object_new_string(s));
}

void ghl_op_ctx_init(ghl_op_ctx *ctx, const ghl_sink_conf *conf, json_object *rec, const char *location)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->conf = conf;
	ctx->rec = rec;
	/* an id that does not fit is no GHL id: "no location" */
	if (location && strlen(location) < sizeof(ctx->location))
		memcpy(ctx->location, location, strlen(location) + 1);
}

void ghl_op_ctx_clear(ghl_op_ctx *ctx)
{
	json_object_put(ctx->contact);
	json_object_put(ctx->tags);
	ctx->contact = ctx->tags = NULL;
}

/* ---- tags -------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* GHL keeps tags lower-cased; a tag it would change is compared as GHL
 * will have it. */
static int tag_lower(const char *in, char *out, size_t len)
{
	size_t n = strlen(in);

	while (n && isspace((unsigned char)in[n - 1]))
		n--;
	while (n && isspace((unsigned char)*in)) {
		in++;
		n--;
	}
	if (!n || n >= len)
		return -1;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[n] = 0;
	return 0;
}

/* The record's tags at `key` (an array of strings or one string) as a new
 * array of lower-cased tags without duplicates, in their order; NULL
 * when out of memory. */
static json_object *rec_tags(const ghl_op_ctx *ctx, const char *key)
{
	json_object *v = NULL, *out = json_object_new_array();
	size_t n;

	if (!out || !json_object_object_get_ex(ctx->rec, key, &v) || !v)
		return out;
	n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 1;
	for (size_t i = 0; i < n; i++) {
		json_object *t = json_object_is_type(v, json_type_array) ? json_object_array_get_idx(v, i) : v;
		char tag[TAG_MAX];
		int dup = 0;

		if (!json_object_is_type(t, json_type_string) ||
		    tag_lower(json_object_get_string(t), tag, sizeof(tag)) < 0)
			continue;
		for (size_t j = 0; j < json_object_array_length(out) && !dup; j++)
			dup = strcmp(json_object_get_string(json_object_array_get_idx(out, j)), tag) == 0;
		if (!dup)
			json_object_array_add(out, json_object_new_string(tag));
	}
	return out;
}

json_object *ghl_tags_sorted(json_object *tags)
{
	size_t n = json_object_is_type(tags, json_type_array) ? json_object_array_length(tags) : 0;
	json_object *out = json_object_new_array();
	char **v = n ? calloc(n, sizeof(*v)) : NULL;
	size_t k = 0;

	if (!out || (n && !v)) {
		json_object_put(out);
		free(v);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *t = json_object_array_get_idx(tags, i);
		char tag[TAG_MAX];

		if (!json_object_is_type(t, json_type_string) ||
		    tag_lower(json_object_get_string(t), tag, sizeof(tag)) < 0)
			continue;
		if (!(v[k] = strdup(tag)))
			goto nomem;
		k++;
	}
	if (k)
		qsort(v, k, sizeof(*v), cmp_str);
	for (size_t i = 0; i < k; i++)
		if (i == 0 || strcmp(v[i], v[i - 1]) != 0)
			json_object_array_add(out, json_object_new_string(v[i]));
	for (size_t i = 0; i < k; i++)
		free(v[i]);
	free(v);
	return out;
nomem:
	for (size_t i = 0; i < k; i++)
		free(v[i]);
	free(v);
	json_object_put(out);
	return NULL;
}

json_object *ghl_contact_view(json_object *contact, json_object *tags)
{
	static const char *const strs[] = { "email", "phone", "firstName", "lastName", NULL };
	json_object *view = json_object_new_object(), *t = NULL;

	if (!view)
		return NULL;
	for (const char *const *k = strs; *k; k++) {
		const char *s = ghl_json_string(contact, *k);

		json_object_object_add(view, *k, s && *s ? json_object_new_string(s) : NULL);
	}
	if (!tags)
		json_object_object_get_ex(contact, "tags", &tags);
	t = ghl_tags_sorted(tags);
	if (!t) {
		json_object_put(view);
		return NULL;
	}
	json_object_object_add(view, "tags", t);
	return view;
}

/* ---- contacts ------------------------------------------------------------------ */

/* The person's fields of an upsert or update; never "tags" (in both, tags
 * replace every tag of the contact). The update's DTO has no companyName:
 * the API refuses a member it does not declare. */
static ghl_build_rc contact_body(ghl_op_ctx *ctx, json_object *body, int upsert)
{
	const char *email = rec_str(ctx, "email"), *phone = rec_str(ctx, "phone");
	const char *country = ctx->conf ? ctx->conf->country : NULL;
	char e[300], p[32];
	int has_email = email && identity_email(email, e, sizeof(e)) == 0;
	int has_phone = phone && identity_phone(phone, country, p, sizeof(p)) == 0;

	if (!has_email && !has_phone) {
		if (email || phone)
			return fail(ctx, "neither the e-mail '%s' nor the phone '%s' is usable", email ? email : "",
				    phone ? phone : "");
		return fail(ctx, "the record has neither an email nor a phone");
	}
	if (has_email)
		json_object_object_add(body, "email", json_object_new_string(e));
	if (has_phone)
		json_object_object_add(body, "phone", json_object_new_string(p));
	copy_str(body, ctx, "firstName");
	copy_str(body, ctx, "lastName");
	copy_str(body, ctx, "name");
	if (upsert)
		copy_str(body, ctx, "companyName");
	copy_str(body, ctx, "source");
	return GHL_BUILD_OK;
}

static ghl_build_rc build_upsert(ghl_op_ctx *ctx, json_object **body)
{
	ghl_build_rc rc;

	if (!*ctx->location)
		return fail(ctx, "no location: the record has no locationId and location_id names none");
	*body = json_object_new_object();
	if (!*body)
		return GHL_BUILD_NOMEM;
	json_object_object_add(*body, "locationId", json_object_new_string(ctx->location));
	rc = contact_body(ctx, *body, 1);
	if (rc != GHL_BUILD_OK) {
		json_object_put(*body);
		*body = NULL;
	}
	return rc;
}

static ghl_build_rc build_update(ghl_op_ctx *ctx, json_object **body)
{
	ghl_build_rc rc;

	*body = json_object_new_object();
	if (!*body)
		return GHL_BUILD_NOMEM;
	rc = contact_body(ctx, *body, 0);
	if (rc != GHL_BUILD_OK) {
		json_object_put(*body);
		*body = NULL;
	}
	return rc;
}

static void set_contact_id(ghl_op_ctx *ctx, const char *id)
{
	if (id && *id && strlen(id) < sizeof(ctx->contact_id))
		snprintf(ctx->contact_id, sizeof(ctx->contact_id), "%s", id);
}

/* {"contact":{...}} of an upsert, update or get. */
static ghl_build_rc contact_result(ghl_op_ctx *ctx, json_object *answer)
{
	json_object *contact = NULL, *tags = NULL;

	if (!json_object_object_get_ex(answer, "contact", &contact) ||
	    !json_object_is_type(contact, json_type_object) || !ghl_json_string(contact, "id"))
		return fail(ctx, "the answer has no contact with an id");
	set_contact_id(ctx, ghl_json_string(contact, "id"));
	json_object_put(ctx->contact);
	ctx->contact = json_object_get(contact);
	if (json_object_object_get_ex(contact, "tags", &tags) && json_object_is_type(tags, json_type_array)) {
		json_object_put(ctx->tags);
		ctx->tags = json_object_get(tags);
	}
	return GHL_BUILD_OK;
}

static ghl_build_rc need_contact(ghl_op_ctx *ctx)
{
	if (!*ctx->contact_id)
		set_contact_id(ctx, rec_str(ctx, "contactId"));
	if (!*ctx->contact_id)
		return fail(ctx, "no contact id (no contacts.upsert before it found one, the record has no "
			    "contactId, and its object is linked to no contact)");
	return GHL_BUILD_OK;
}

static ghl_build_rc tags_body(json_object *tags, json_object **body)
{
	if (!tags)
		return GHL_BUILD_NOMEM;
	if (!json_object_array_length(tags)) {
		json_object_put(tags);
		return GHL_BUILD_SKIP;
	}
	*body = json_object_new_object();
	if (!*body) {
		json_object_put(tags);
		return GHL_BUILD_NOMEM;
	}
	json_object_object_add(*body, "tags", tags);
	return GHL_BUILD_OK;
}

static ghl_build_rc build_add_tags(ghl_op_ctx *ctx, json_object **body)
{
	json_object *tags = rec_tags(ctx, "tags");

	if (tags && json_object_array_length(tags) && need_contact(ctx) != GHL_BUILD_OK) {
		json_object_put(tags);
		return GHL_BUILD_FAIL;
	}
	return tags_body(tags, body);
}

static int has_prefix(const char *tag, const char *prefix)
{
	size_t n = strlen(prefix);

	for (size_t i = 0; i < n; i++)
		if (tolower((unsigned char)tag[i]) != tolower((unsigned char)prefix[i]))
			return 0;
	return 1;
}

static int in_array(json_object *arr, const char *s)
{
	for (size_t i = 0; i < json_object_array_length(arr); i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(arr, i)), s) == 0)
			return 1;
	return 0;
}

/* The contact's tags with tag_prefix that the record does not carry:
 * the stale status tags an add_tags replaces. Only a record that brings
 * a tag with the prefix replaces any: one without has no status to say. */
static json_object *stale_tags(ghl_op_ctx *ctx)
{
	json_object *keep = rec_tags(ctx, "tags"), *out = json_object_new_array();
	const char *prefix = ctx->conf ? ctx->conf->tag_prefix : NULL;
	size_t n = json_object_is_type(ctx->tags, json_type_array) ? json_object_array_length(ctx->tags) : 0;

	int brings = 0;

	if (!keep || !out) {
		json_object_put(keep);
		json_object_put(out);
		return NULL;
	}
	for (size_t i = 0; prefix && *prefix && i < json_object_array_length(keep); i++)
		brings |= has_prefix(json_object_get_string(json_object_array_get_idx(keep, i)), prefix);
	for (size_t i = 0; brings && i < n; i++) {
		json_object *t = json_object_array_get_idx(ctx->tags, i);
		char tag[TAG_MAX];

		if (json_object_is_type(t, json_type_string) &&
		    tag_lower(json_object_get_string(t), tag, sizeof(tag)) == 0 && has_prefix(tag, prefix) &&
		    !in_array(keep, tag) && !in_array(out, tag))
			json_object_array_add(out, json_object_new_string(tag));
	}
	json_object_put(keep);
	return out;
}

static ghl_build_rc build_remove_tags(ghl_op_ctx *ctx, json_object **body)
{
	json_object *tags = ctx->prune ? stale_tags(ctx) : rec_tags(ctx, "remove_tags");

	if (tags && json_object_array_length(tags) && need_contact(ctx) != GHL_BUILD_OK) {
		json_object_put(tags);
		return GHL_BUILD_FAIL;
	}
	return tags_body(tags, body);
}

/* {"tags":[every tag after the call]} */
static ghl_build_rc tags_result(ghl_op_ctx *ctx, json_object *answer)
{
	json_object *tags = NULL;

	if (json_object_object_get_ex(answer, "tags", &tags) && json_object_is_type(tags, json_type_array)) {
		json_object_put(ctx->tags);
		ctx->tags = json_object_get(tags);
	}
	return GHL_BUILD_OK;
}

/* ---- opportunities ------------------------------------------------------------------ */

static const char *map_status(json_object *map, const char *status)
{
	json_object *v = NULL;

	if (!map || !status || !json_object_object_get_ex(map, status, &v))
		return NULL;
	return json_object_get_string(v);
}

/* opportunityName, else the person's name, else the contact's. */
static int opportunity_name(ghl_op_ctx *ctx, char *buf, size_t len)
{
	const char *name = rec_str(ctx, "opportunityName");
	const char *first = rec_str(ctx, "firstName"), *last = rec_str(ctx, "lastName");

	if (!first && !last) {
		first = ghl_json_string(ctx->contact, "firstName");
		last = ghl_json_string(ctx->contact, "lastName");
	}
	if (name)
		snprintf(buf, len, "%s", name);
	else if ((first && *first) || (last && *last))
		snprintf(buf, len, "%s%s%s", first ? first : "", first && *first && last && *last ? " " : "",
			 last ? last : "");
	else if (rec_str(ctx, "name") || rec_str(ctx, "email"))
		snprintf(buf, len, "%s", rec_str(ctx, "name") ? rec_str(ctx, "name") : rec_str(ctx, "email"));
	else
		return -1;
	return 0;
}

static json_object *monetary_value(const ghl_op_ctx *ctx)
{
	json_object *v = NULL;
	char *end;
	double d;

	if (!json_object_object_get_ex(ctx->rec, "monetaryValue", &v) || !v)
		json_object_object_get_ex(ctx->rec, "total", &v);
	if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))
		return json_object_get(v);
	if (!json_object_is_type(v, json_type_string))
		return NULL;
	d = strtod(json_object_get_string(v), &end);
	return end != json_object_get_string(v) && !*end ? json_object_new_double(d) : NULL;
}

static ghl_build_rc build_opportunity(ghl_op_ctx *ctx, json_object **body)
{
	const ghl_sink_conf *conf = ctx->conf;
	const char *status = rec_str(ctx, "status");
	const char *stage = map_status(conf ? conf->stages : NULL, status);
	const char *state = map_status(conf ? conf->statuses : NULL, status);
	char name[256];
	json_object *b, *value;

	if (!conf || !conf->pipeline_id)
		return fail(ctx, "no pipeline_id is configured");
	if (!*ctx->location)
		return fail(ctx, "no location: the record has no locationId and location_id names none");
	if (!status)
		return fail(ctx, "the record has no status to choose the pipeline stage by");
	if (!stage)
		return fail(ctx, "no pipeline stage for status '%s' (set stage.<status>)", status);
	if (need_contact(ctx) != GHL_BUILD_OK)
		return GHL_BUILD_FAIL;
	if (opportunity_name(ctx, name, sizeof(name)) < 0)
		return fail(ctx, "no name for the opportunity (opportunityName, firstName/lastName)");
	b = json_object_new_object();
	if (!b)
		return GHL_BUILD_NOMEM;
	json_object_object_add(b, "pipelineId", json_object_new_string(conf->pipeline_id));
	json_object_object_add(b, "locationId", json_object_new_string(ctx->location));
	json_object_object_add(b, "contactId", json_object_new_string(ctx->contact_id));
	json_object_object_add(b, "name", json_object_new_string(name));
	json_object_object_add(b, "status", json_object_new_string(state ? state : "open"));
	json_object_object_add(b, "pipelineStageId", json_object_new_string(stage));
	if ((value = monetary_value(ctx)))
		json_object_object_add(b, "monetaryValue", value);
	/* Required by the spec's UpsertOpportunityDto; "add" of no follower
	 * leaves the followers as they are. */
	json_object_object_add(b, "followers", json_object_new_array());
	json_object_object_add(b, "isRemoveAllFollowers", json_object_new_boolean(0));
	json_object_object_add(b, "followersActionType", json_object_new_string("add"));
	*body = b;
	return GHL_BUILD_OK;
}

/* ---- the table ------------------------------------------------------------------- */

#define V GHL_VERSION

const ghl_op ghl_ops[] = {
	{ "contacts.get", "Contacts", GHL_OP_TRIGGER, "GET", "/contacts/{contactId}", V,
	  "contacts.readonly", GHL_PAGING_NONE, NULL, contact_result },
	{ "contacts.search", "Contacts", GHL_OP_TRIGGER, "POST", "/contacts/search", V,
	  "contacts.readonly", GHL_PAGING_SEARCH_BODY, NULL, NULL },
	{ "contacts.update", "Contacts", GHL_OP_ACTION, "PUT", "/contacts/{contactId}", V,
	  "contacts.write", GHL_PAGING_NONE, build_update, contact_result },
	{ "contacts.upsert", "Contacts", GHL_OP_ACTION, "POST", "/contacts/upsert", V,
	  "contacts.write", GHL_PAGING_NONE, build_upsert, contact_result },
	{ "contacts.add_tags", "Contacts", GHL_OP_ACTION, "POST", "/contacts/{contactId}/tags", V,
	  "contacts.write", GHL_PAGING_NONE, build_add_tags, tags_result },
	{ "contacts.remove_tags", "Contacts", GHL_OP_ACTION, "DELETE", "/contacts/{contactId}/tags", V,
	  "contacts.write", GHL_PAGING_NONE, build_remove_tags, tags_result },
	{ "opportunities.upsert", "Opportunities", GHL_OP_ACTION, "POST", "/opportunities/upsert", V,
	  "opportunities.write", GHL_PAGING_NONE, build_opportunity, NULL },
};

const size_t ghl_ops_count = sizeof(ghl_ops) / sizeof(ghl_ops[0]);

const ghl_op *ghl_op_find(const char *name)
{
	for (size_t i = 0; name && i < ghl_ops_count; i++)
		if (strcmp(ghl_ops[i].name, name) == 0)
			return &ghl_ops[i];
	return NULL;
}

int ghl_op_is_sink(const ghl_op *op)
{
	return op && op->kind == GHL_OP_ACTION && op->build;
}

void ghl_ops_sink_names(char *buf, size_t len)
{
	size_t used = 0;

	if (len)
		*buf = 0;
	for (size_t i = 0; i < ghl_ops_count && used < len; i++) {
		int n;

		if (!ghl_op_is_sink(&ghl_ops[i]))
			continue;
		n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", ghl_ops[i].name);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

/* Appends the path; on failure `out` is left as it was. */
static ghl_build_rc path_fill(const ghl_op *op, ghl_op_ctx *ctx, ghl_buf *out)
{
	const char *p = op->path;

	while (*p) {
		const char *open = strchr(p, '{'), *close, *value;

		if (!open)
			return ghl_buf_add(out, p, strlen(p)) < 0 ? GHL_BUILD_NOMEM : GHL_BUILD_OK;
		close = strchr(open, '}');
		if (!close || ghl_buf_add(out, p, (size_t)(open - p)) < 0)
			return GHL_BUILD_NOMEM;
		if (strncmp(open, "{contactId}", 11) == 0)
			value = ctx->contact_id;
		else if (strncmp(open, "{locationId}", 12) == 0)
			value = ctx->location;
		else
			value = "";
		if (!*value)
			return fail(ctx, "no value for %.*s in %s", (int)(close - open + 1), open, op->path);
		if (ghl_buf_add_encoded(out, value) < 0)
			return GHL_BUILD_NOMEM;
		p = close + 1;
	}
	return GHL_BUILD_OK;
}

ghl_build_rc ghl_op_path(const ghl_op *op, ghl_op_ctx *ctx, ghl_buf *out)
{
	size_t len = out->len;
	ghl_build_rc rc = path_fill(op, ctx, out);

	if (rc != GHL_BUILD_OK)
		sb_cut(out, len);
	return rc;
}
