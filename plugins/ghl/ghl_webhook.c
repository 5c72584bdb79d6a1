/* See ghl_webhook.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "ghl_webhook.h"

/* ---- the contacts record ------------------------------------------------------ */

json_object *ghl_contact_record(json_object *view, const char *location, const char *id, const char *updated,
				const char *source)
{
	json_object *body = NULL;
	char object[200];

	if (json_object_deep_copy(view, &body, NULL) != 0)
		return NULL;
	snprintf(object, sizeof(object), "ghl:%s:contact:%s", location, id);
	json_object_object_add(body, "locationId", json_object_new_string(location));
	json_object_object_add(body, "contactId", json_object_new_string(id));
	json_object_object_add(body, "dateUpdated", updated ? json_object_new_string(updated) : NULL);
	json_object_object_add(body, "object", json_object_new_string(object));
	json_object_object_add(body, "source", json_object_new_string(source));
	return body;
}

int ghl_record_key(char *buf, size_t len, const char *location, const char *id)
{
	int n = snprintf(buf, len, "%s:%s", location, id);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int ghl_location_listed(char *const *ids, size_t n, int all, const char *location)
{
	if (all)
		return 1;
	for (size_t i = 0; location && i < n; i++)
		if (strcmp(ids[i], location) == 0)
			return 1;
	return 0;
}

/* ---- the object of an event ----------------------------------------------------- */

static int starts(const char *s, const char *prefix)
{
	return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

static int ends(const char *s, const char *suffix)
{
	size_t n = s ? strlen(s) : 0, m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static const char *nonempty(json_object *o, const char *key)
{
	const char *s = ghl_json_string(o, key);

	return s && *s ? s : NULL;
}

void ghl_event_ref_of(json_object *event, const char *type, ghl_event_ref *ref)
{
	json_object *appt = NULL;

	memset(ref, 0, sizeof(*ref));
	ref->type = type;
	ref->location = nonempty(event, "locationId");
	ref->is_delete = ends(type, "Delete");
	/* Appointment events carry the appointment as a member of its own. */
	if (starts(type, "Appointment") && json_object_object_get_ex(event, "appointment", &appt) &&
	    json_object_is_type(appt, json_type_object)) {
		ref->id = nonempty(appt, "id");
		ref->contact_id = nonempty(appt, "contactId");
		return;
	}
	ref->id = nonempty(event, "id");
	ref->contact_id = nonempty(event, "contactId");
	if (starts(type, "Contact"))
		ref->contact_id = ref->id;
}

/* A GHL id goes into a path as it is: letters, digits, '-' and '_' only,
 * so that an event cannot steer the request elsewhere. */
static int id_ok(const char *id)
{
	size_t n = id ? strlen(id) : 0;

	return n > 0 && n <= 64 && strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == n;
}

/* The types that can be re-read, from operations.tsv (Get Contact, Get
 * Opportunity, Get Appointment, Get Contact Note/Task by ID). A note or a
 * task is read under its contact: "/contacts/CONTACT" + path + id. */
static const struct {
	const char *prefix;
	const char *path;       /* followed by the object id */
	int under_contact;
	const char *version;
	const char *member;
} refetch_table[] = {
	{ "Contact", "/contacts/", 0, GHL_VERSION, "contact" },
	{ "Opportunity", "/opportunities/", 0, GHL_VERSION, "opportunity" },
	{ "Appointment", "/calendars/events/appointments/", 0, GHL_VERSION_2021_04_15, "event" },
	{ "Note", "/notes/", 1, GHL_VERSION, "note" },
	{ "Task", "/tasks/", 1, GHL_VERSION, "task" },
};

int ghl_refetch_of(const ghl_event_ref *ref, ghl_refetch *out)
{
	if (ref->is_delete || !id_ok(ref->id))
		return 0;
	for (size_t i = 0; i < sizeof(refetch_table) / sizeof(refetch_table[0]); i++) {
		int under, n;

		if (!starts(ref->type, refetch_table[i].prefix))
			continue;
		under = refetch_table[i].under_contact;
		if (under && !id_ok(ref->contact_id))
			return 0;
		n = snprintf(out->path, sizeof(out->path), "%s%s%s%s", under ? "/contacts/" : "",
			     under ? ref->contact_id : "", refetch_table[i].path, ref->id);
		if (n < 0 || (size_t)n >= sizeof(out->path))
			return 0;
		out->version = refetch_table[i].version;
		out->member = refetch_table[i].member;
		return 1;
	}
	return 0;
}

/* ---- the record ------------------------------------------------------------- */

int ghl_event_stream(char *buf, size_t len, const char *type)
{
	size_t n = type ? strlen(type) : 0;
	int w;

	if (!n || n > 64 || strspn(type, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != n)
		return -1;
	w = snprintf(buf, len, "ghl.events.%s", type);
	return w < 0 || (size_t)w >= len ? -1 : 0;
}

int ghl_event_key(char *buf, size_t len, const ghl_event_ref *ref, const char *webhook_id)
{
	const char *id = ref->id ? ref->id : webhook_id;

	return ghl_record_key(buf, len, ref->location ? ref->location : "-", id && *id ? id : "-");
}

json_object *ghl_event_body(json_object *event, const char *source, json_object *fresh, int refetch_tried)
{
	json_object *body = NULL, *own = NULL, *copy = NULL;

	if (!json_object_is_type(event, json_type_object) || json_object_deep_copy(event, &body, NULL) != 0)
		return NULL;
	if (json_object_object_get_ex(body, "source", &own)) {
		json_object_object_add(body, "ghlSource", json_object_get(own));
		json_object_object_del(body, "source");
	}
	json_object_object_add(body, "source", json_object_new_string(source));
	if (fresh) {
		if (json_object_deep_copy(fresh, &copy, NULL) != 0) {
			json_object_put(body);
			return NULL;
		}
		json_object_object_add(body, "object", copy);
	}
	if (fresh || refetch_tried)
		json_object_object_add(body, "refetched", json_object_new_boolean(fresh != NULL));
	return body;
}

/* ---- the memory of recent events ------------------------------------------------- */

struct seen {
	uint64_t hash;
	int64_t at_ms;
};

struct ghl_dedup {
	struct seen *ring;
	size_t cap, n, next;   /* entries in use; where the next one goes */
	int64_t window_ms;
};

ghl_dedup *ghl_dedup_new(size_t capacity, int64_t window_ms)
{
	ghl_dedup *d = calloc(1, sizeof(*d));

	if (!d || capacity == 0)
		goto fail;
	d->ring = calloc(capacity, sizeof(*d->ring));
	if (!d->ring)
		goto fail;
	d->cap = capacity;
	d->window_ms = window_ms;
	return d;
fail:
	free(d);
	return NULL;
}

void ghl_dedup_free(ghl_dedup *d)
{
	if (!d)
		return;
	free(d->ring);
	free(d);
}

static uint64_t add_str(uint64_t h, const char *s)
{
	/* a separator that cannot occur in JSON text ends each part */
	h = ghl_fnv1a(h, s ? s : "", s ? strlen(s) : 0);
	return ghl_fnv1a(h, "\x1f", 1);
}

static uint64_t event_hash(const char *type, const char *id, json_object *event)
{
	uint64_t h = add_str(add_str(GHL_FNV_INIT, type), id);

	if (!json_object_is_type(event, json_type_object))
		return h;
	json_object_object_foreach(event, key, value) {
		if (strcmp(key, "webhookId") == 0 || strcmp(key, "timestamp") == 0)
			continue;
		h = add_str(h, key);
		h = add_str(h, json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN));
	}
	return h;
}

static struct seen *find(ghl_dedup *d, uint64_t h)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->ring[i].hash == h)
			return &d->ring[i];
	return NULL;
}

int ghl_dedup_check(ghl_dedup *d, const char *type, const char *id, json_object *event, int64_t now_ms)
{
	uint64_t h;
	struct seen *s;

	if (!d)
		return -1;
	h = event_hash(type, id, event);
	s = find(d, h);
	if (s && now_ms - s->at_ms <= d->window_ms)
		return 1;
	if (s) { /* seen long ago: a new change that happens to look the same */
		s->at_ms = now_ms;
		return 0;
	}
	d->ring[d->next].hash = h;
	d->ring[d->next].at_ms = now_ms;
	d->next = (d->next + 1) % d->cap;
	if (d->n < d->cap)
		d->n++;
	return 0;
}

void ghl_dedup_forget(ghl_dedup *d, const char *type, const char *id, json_object *event)
{
	struct seen *s = d ? find(d, event_hash(type, id, event)) : NULL;

	if (s)
		s->at_ms = INT64_MIN / 2; /* outside any window */
}
