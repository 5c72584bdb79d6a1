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
	json_object_put(ctx->vars);
	ctx->contact = ctx->tags = ctx->vars = NULL;
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
	json_object *cf = NULL;
	int has_email = email && identity_email(email, e, sizeof(e)) == 0;
	int has_phone = phone && identity_phone(phone, country, p, sizeof(p)) == 0;

	/* an upsert finds the contact by them; an update by id (contactId)
	 * needs neither */
	if (!has_email && !has_phone && (email || phone))
		return fail(ctx, "neither the e-mail '%s' nor the phone '%s' is usable", email ? email : "",
			    phone ? phone : "");
	if (!has_email && !has_phone && upsert)
		return fail(ctx, "the record has neither an email nor a phone");
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
	/* as given: {fieldKey: value} is resolved to ids by the sink */
	if (json_object_object_get_ex(ctx->rec, "customFields", &cf) &&
	    (json_object_is_type(cf, json_type_object) || json_object_is_type(cf, json_type_array)))
		json_object_object_add(body, "customFields", json_object_get(cf));
	return GHL_BUILD_OK;
}

ghl_build_rc ghl_build_contact_upsert(ghl_op_ctx *ctx, json_object **body)
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

ghl_build_rc ghl_build_contact_update(ghl_op_ctx *ctx, json_object **body)
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
ghl_build_rc ghl_result_contact(ghl_op_ctx *ctx, json_object *answer)
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

ghl_build_rc ghl_build_add_tags(ghl_op_ctx *ctx, json_object **body)
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

ghl_build_rc ghl_build_remove_tags(ghl_op_ctx *ctx, json_object **body)
{
	json_object *tags = ctx->prune ? stale_tags(ctx) : rec_tags(ctx, "remove_tags");

	if (tags && json_object_array_length(tags) && need_contact(ctx) != GHL_BUILD_OK) {
		json_object_put(tags);
		return GHL_BUILD_FAIL;
	}
	return tags_body(tags, body);
}

/* {"tags":[every tag after the call]} */
ghl_build_rc ghl_result_tags(ghl_op_ctx *ctx, json_object *answer)
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

ghl_build_rc ghl_build_opportunity_upsert(ghl_op_ctx *ctx, json_object **body)
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

/* ---- the catalog ------------------------------------------------------------------- */

const ghl_op *ghl_op_find(const char *name)
{
	for (size_t i = 0; name && i < ghl_ops_count; i++)
		if (strcmp(ghl_ops[i].info.name, name) == 0)
			return &ghl_ops[i];
	return NULL;
}

int ghl_op_is_sink(const ghl_op *op)
{
	return op && op->info.kind && strcmp(op->info.kind, "Action") == 0;
}

int ghl_op_is_stream(const ghl_op *op)
{
	return op && op->info.kind && strcmp(op->info.kind, "Trigger") == 0;
}

int ghl_op_is_lookup(const ghl_op *op)
{
	return ghl_op_is_stream(op) && op->paging == GHL_PAGING_NONE && !(op->flags & GHL_OPF_RAW);
}

const char *ghl_op_lookup_member(const ghl_op *op)
{
	const char *name = op->item ? op->item : op->items ? op->items : strchr(op->info.name, '.') + 1;
	const char *dot = strrchr(name, '.');

	return dot ? dot + 1 : name;
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
		n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", ghl_ops[i].info.name);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}


/* ---- generic requests -------------------------------------------------------------- */

int ghl_op_item_next(const char **p, ghl_op_item *it)
{
	const char *s;
	size_t n;

	while ((s = ghl_list_next(p, &n))) {
		char tmp[128];
		size_t k = 0;
		char *eq;

		if (n >= sizeof(tmp))
			continue;
		it->required = 0;
		for (size_t i = 0; i < n; i++) {
			if (s[i] == '!')
				it->required = 1;
			else
				tmp[k++] = s[i];
		}
		tmp[k] = 0;
		eq = strchr(tmp, '=');
		if (eq)
			*eq++ = 0;
		if (!*tmp || strlen(tmp) >= sizeof(it->name) || (eq && (!*eq || strlen(eq) >= sizeof(it->member))))
			continue;
		snprintf(it->name, sizeof(it->name), "%s", tmp);
		snprintf(it->member, sizeof(it->member), "%s", eq ? eq : tmp);
		return 1;
	}
	return 0;
}

/* A scalar as text: a non-empty string, or a number's or boolean's JSON
 * text; NULL for anything else. */
static const char *scalar_text(json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_string:
		return json_object_get_string_len(v) ? json_object_get_string(v) : NULL;
	case json_type_int:
	case json_type_double:
	case json_type_boolean:
		return json_object_get_string(v);
	default:
		return NULL;
	}
}

static int has_value(json_object *v)
{
	return v && (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v));
}

/* Where `name` has a value: a JSON value of vars or the record (*v,
 * borrowed), else a string the ctx knows (*s). 0 when it has none (JSON
 * null and "" are none). The operation's own part of the record
 * (ctx->scope) comes before the record. contactId is ctx->contact_id first: the contact
 * the latest contact operation answered (every yield of a contactId sets
 * it too), which an upsert may have changed since a contacts.find. */
static int lookup(const ghl_op_ctx *ctx, const char *name, json_object **v, const char **s)
{
	*v = NULL;
	*s = NULL;
	if (strcmp(name, "contactId") == 0 && *ctx->contact_id)
		return !!(*s = ctx->contact_id);
	if (json_object_object_get_ex(ctx->vars, name, v) && has_value(*v))
		return 1;
	if (ctx->scope && json_object_object_get_ex(ctx->rec, ctx->scope, v) &&
	    json_object_is_type(*v, json_type_object) && json_object_object_get_ex(*v, name, v) && has_value(*v))
		return 1;
	if (json_object_object_get_ex(ctx->rec, name, v) && has_value(*v))
		return 1;
	*v = NULL;
	if (strcmp(name, "locationId") == 0 && *ctx->location)
		return !!(*s = ctx->location);
	return 0;
}

int ghl_op_wants_company(const ghl_op *op)
{
	return strstr(op->info.path, "{companyId}") || (op->params && strstr(op->params, "companyId")) ||
	       (op->body && strstr(op->body, "companyId"));
}

const char *ghl_op_value(const ghl_op_ctx *ctx, const char *name)
{
	json_object *v;
	const char *s;

	if (!lookup(ctx, name, &v, &s))
		return NULL;
	return s ? s : scalar_text(v);
}

static ghl_build_rc missing(const ghl_op *op, ghl_op_ctx *ctx, const ghl_op_item *it)
{
	if (strcmp(it->name, it->member) != 0)
		return fail(ctx, "%s (%s) needs %s (%s): the record has no %s and no earlier operation yielded one",
			    op->info.title, op->info.name, it->name, it->member, it->member);
	return fail(ctx, "%s (%s) needs %s: the record has no %s and no earlier operation yielded one",
		    op->info.title, op->info.name, it->name, it->member);
}

/* 1 when the path has the placeholder {name}. */
static int path_has(const char *path, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = strchr(path, '{'); p; p = strchr(p + 1, '{'))
		if (strncmp(p + 1, name, n) == 0 && p[1 + n] == '}')
			return 1;
	return 0;
}

/* The item of `params` that names the placeholder `name` (its alias),
 * else `name` itself, required. */
static void placeholder_item(const ghl_op *op, const char *name, size_t n, ghl_op_item *it)
{
	const char *p = op->params;
	int found = 0;

	while (!found && p && ghl_op_item_next(&p, it))
		found = strlen(it->name) == n && strncmp(it->name, name, n) == 0;
	if (!found) {
		snprintf(it->name, sizeof(it->name), "%.*s", (int)n, name);
		snprintf(it->member, sizeof(it->member), "%s", it->name);
	}
	it->required = 1; /* a path cannot go without it */
}

int ghl_op_placeholder_next(const ghl_op *op, const char **p, ghl_op_item *it)
{
	const char *open = strchr(*p ? *p : op->info.path, '{'), *close = open ? strchr(open, '}') : NULL;

	if (!close)
		return 0;
	placeholder_item(op, open + 1, (size_t)(close - open - 1), it);
	*p = close + 1;
	return 1;
}

static ghl_build_rc path_fill(const ghl_op *op, ghl_op_ctx *ctx, ghl_buf *out)
{
	const char *p = op->info.path;

	while (*p) {
		const char *open = strchr(p, '{'), *close, *value;
		ghl_op_item it;

		if (!open)
			return ghl_buf_add(out, p, strlen(p)) < 0 ? GHL_BUILD_NOMEM : GHL_BUILD_OK;
		close = strchr(open, '}');
		if (!close || (size_t)(close - open - 1) >= sizeof(it.name))
			return fail(ctx, "%s: malformed path %s", op->info.name, op->info.path);
		if (ghl_buf_add(out, p, (size_t)(open - p)) < 0)
			return GHL_BUILD_NOMEM;
		placeholder_item(op, open + 1, (size_t)(close - open - 1), &it);
		value = ghl_op_value(ctx, it.member);
		if (!value)
			return missing(op, ctx, &it);
		if (ghl_buf_add_encoded(out, value) < 0)
			return GHL_BUILD_NOMEM;
		p = close + 1;
	}
	return GHL_BUILD_OK;
}

static int query_add(ghl_buf *out, int *first, const char *name, const char *value)
{
	if (ghl_buf_add(out, *first ? "?" : "&", 1) < 0 || ghl_buf_add_encoded(out, name) < 0 ||
	    ghl_buf_add(out, "=", 1) < 0 || ghl_buf_add_encoded(out, value) < 0)
		return -1;
	*first = 0;
	return 0;
}

/* Every query member of `params` that has a value; an array is the
 * member repeated ("ids=a&ids=b"). */
static ghl_build_rc query_fill(const ghl_op *op, ghl_op_ctx *ctx, ghl_buf *out)
{
	const char *p = op->params;
	int first = !strchr(op->info.path, '?');
	ghl_op_item it;

	while (p && ghl_op_item_next(&p, &it)) {
		json_object *v;
		const char *s;

		if (path_has(op->info.path, it.name))
			continue;
		if (!lookup(ctx, it.member, &v, &s)) {
			if (it.required)
				return missing(op, ctx, &it);
			continue;
		}
		if (s || !json_object_is_type(v, json_type_array)) {
			const char *text = s ? s : scalar_text(v);

			if (!text)
				return fail(ctx, "%s (%s): %s must be a string, a number or an array of them",
					    op->info.title, op->info.name, it.member);
			if (query_add(out, &first, it.name, text) < 0)
				return GHL_BUILD_NOMEM;
			continue;
		}
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			const char *text = scalar_text(json_object_array_get_idx(v, i));

			if (text && query_add(out, &first, it.name, text) < 0)
				return GHL_BUILD_NOMEM;
		}
	}
	return GHL_BUILD_OK;
}

ghl_build_rc ghl_op_path(const ghl_op *op, ghl_op_ctx *ctx, ghl_buf *out)
{
	size_t len = out->len;
	ghl_build_rc rc = path_fill(op, ctx, out);

	if (rc == GHL_BUILD_OK)
		rc = query_fill(op, ctx, out);
	if (rc != GHL_BUILD_OK)
		sb_cut(out, len);
	return rc;
}

ghl_build_rc ghl_op_body(const ghl_op *op, ghl_op_ctx *ctx, json_object **body)
{
	const char *p = op->body;
	ghl_op_item it;
	json_object *b;

	*body = NULL;
	if (op->build)
		return op->build(ctx, body);
	if (!p)
		return GHL_BUILD_OK;
	if (!(b = json_object_new_object()))
		return GHL_BUILD_NOMEM;
	while (ghl_op_item_next(&p, &it)) {
		json_object *v;
		const char *s;

		if (!lookup(ctx, it.member, &v, &s)) {
			if (!it.required)
				continue;
			json_object_put(b);
			return missing(op, ctx, &it);
		}
		/* JSON values go as they are: numbers, booleans, arrays, objects */
		v = s ? json_object_new_string(s) : json_object_get(v);
		if (!v || json_object_object_add(b, it.name, v) != 0) {
			json_object_put(v);
			json_object_put(b);
			return GHL_BUILD_NOMEM;
		}
	}
	if (op->flags & GHL_OPF_BODY_ARRAY) {
		json_object *a = json_object_new_array();

		if (!a || json_object_array_add(a, b) != 0) {
			json_object_put(a);
			json_object_put(b);
			return GHL_BUILD_NOMEM;
		}
		b = a;
	}
	*body = b;
	return GHL_BUILD_OK;
}

const char *ghl_op_answer_id(const ghl_op *op, json_object *answer)
{
	json_object *obj = op->item ? ghl_json_at(answer, op->item) : answer, *idv = NULL;

	/* a create sent as a one-element array answers one too
	 * (calendars.create_notification) */
	if (json_object_is_type(obj, json_type_array) && json_object_array_length(obj) == 1)
		obj = json_object_array_get_idx(obj, 0);
	if (json_object_is_type(obj, json_type_object))
		json_object_object_get_ex(obj, op->id_key ? op->id_key : "id", &idv);
	return scalar_text(idv);
}

ghl_build_rc ghl_op_yield(const ghl_op *op, ghl_op_ctx *ctx, const char *id)
{
	const char *p = op->yields, *s;
	size_t n;

	if (!p || !*p)
		return GHL_BUILD_OK;
	if (!ctx->vars && !(ctx->vars = json_object_new_object()))
		return GHL_BUILD_NOMEM;
	while ((s = ghl_list_next(&p, &n))) {
		char name[64];
		json_object *v;

		if (n >= sizeof(name))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)n, s);
		if (!(v = json_object_new_string(id)) || json_object_object_add(ctx->vars, name, v) != 0) {
			json_object_put(v);
			return GHL_BUILD_NOMEM;
		}
		if (strcmp(name, "contactId") == 0)
			set_contact_id(ctx, id);
	}
	return GHL_BUILD_OK;
}

ghl_build_rc ghl_op_result(const ghl_op *op, ghl_op_ctx *ctx, json_object *answer)
{
	const char *id = ghl_op_answer_id(op, answer);
	ghl_build_rc rc;

	if (!op->yields || !*op->yields)
		return GHL_BUILD_OK;
	if (!id)
		return fail(ctx, "the answer has no %s%s%s", op->item ? op->item : "", op->item ? "." : "",
			    op->id_key ? op->id_key : "id");
	if ((rc = ghl_op_yield(op, ctx, id)) != GHL_BUILD_OK)
		return rc;
	if (op->item && strcmp(op->item, "contact") == 0) {
		set_contact_id(ctx, id);
		json_object_put(ctx->contact);
		ctx->contact = json_object_get(ghl_json_at(answer, op->item));
	}
	return GHL_BUILD_OK;
}

/* ---- custom fields by fieldKey ------------------------------------------------------ */

int ghl_custom_fields_pending(json_object *body)
{
	json_object *cf = NULL;

	return json_object_object_get_ex(body, "customFields", &cf) && json_object_is_type(cf, json_type_object);
}

/* The id of the definition in `defs` that `key` names: its fieldKey or id,
 * else the fieldKey without its object prefix ("guest_room" for
 * "contact.guest_room"). */
static const char *custom_field_id(json_object *defs, const char *key)
{
	json_object *list = ghl_json_at(defs, "customFields");
	size_t n = json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;

	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++) {
			json_object *d = json_object_array_get_idx(list, i);
			const char *id = ghl_json_string(d, "id"), *fk = ghl_json_string(d, "fieldKey"), *dot;

			if (!id || !*id)
				continue;
			if (pass == 0 && ((fk && strcmp(fk, key) == 0) || strcmp(id, key) == 0))
				return id;
			if (pass == 1 && fk && (dot = strchr(fk, '.')) && strcmp(dot + 1, key) == 0)
				return id;
		}
	return NULL;
}

ghl_build_rc ghl_custom_fields_resolve(json_object *body, json_object *defs, char *unknown, size_t len)
{
	json_object *cf = NULL, *out;

	if (len)
		*unknown = 0;
	if (!ghl_custom_fields_pending(body))
		return GHL_BUILD_OK;
	json_object_object_get_ex(body, "customFields", &cf);
	if (!(out = json_object_new_array()))
		return GHL_BUILD_NOMEM;
	json_object_object_foreach(cf, key, value) {
		const char *id = custom_field_id(defs, key);
		json_object *f;

		if (!id) {
			snprintf(unknown, len, "%s", key);
			json_object_put(out);
			return GHL_BUILD_FAIL;
		}
		if (!(f = json_object_new_object()) || json_object_array_add(out, f) != 0) {
			json_object_put(f);
			json_object_put(out);
			return GHL_BUILD_NOMEM;
		}
		json_object_object_add(f, "id", json_object_new_string(id));
		json_object_object_add(f, "field_value", json_object_get(value));
	}
	json_object_object_add(body, "customFields", out);
	return GHL_BUILD_OK;
}
