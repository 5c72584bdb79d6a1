/* What the GHL modules share about webhook events and the records made of
 * them: the contacts record (the `ghl` source's polls and ghl_tags'
 * ContactTagUpdate events build it with one function), and for ghl_events
 * the object an event is about, the request that re-reads it (refetch),
 * the record's stream, key and body, and a small memory of recent events
 * that drops the second delivery of one change.
 *
 * Pure (no host, no I/O), unit-tested in tests/test_ghl_events.c. */
#ifndef GHL_WEBHOOK_H
#define GHL_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "ghl_util.h"

struct json_object;

/* ---- the contacts record (stream ghl.contacts, key LOCATION:ID) ---- */

#define GHL_STREAM_CONTACTS "ghl.contacts"

/* The body of a ghl.contacts record: a copy of `view` (ghl_contact_view:
 * email, phone, firstName, lastName, sorted tags) with locationId,
 * contactId, dateUpdated (`updated`, may be NULL), object
 * ("ghl:LOCATION:contact:ID") and source ("poll" or "webhook"). A new
 * object; NULL when out of memory. */
struct json_object *ghl_contact_record(struct json_object *view, const char *location, const char *id,
				       const char *updated, const char *source);
/* "LOCATION:ID" into buf; -1 when it does not fit. */
int ghl_record_key(char *buf, size_t len, const char *location, const char *id);

/* 1 when `location` is one of ids[0..n), or for any event (with or
 * without a location: company-wide ones have none) when `all`
 * (location_id = *). */
int ghl_location_listed(char *const *ids, size_t n, int all, const char *location);

/* ---- ghl_events: the object of an event ---- */

/* What an event is about. Pointers are borrowed from the event. */
typedef struct ghl_event_ref {
	const char *type;        /* "ContactCreate" */
	const char *location;    /* locationId, or NULL */
	const char *id;          /* the object's id (appointment.id for Appointment*), or NULL */
	const char *contact_id;  /* contactId (appointment.contactId), or NULL */
	int is_delete;           /* a *Delete event: the object is gone */
} ghl_event_ref;

/* Reads `event` (a GHL webhook body) of `type`. */
void ghl_event_ref_of(struct json_object *event, const char *type, ghl_event_ref *ref);

/* How an object is re-read: GET `path` with Version `version`; the answer
 * holds it under `member`. */
typedef struct ghl_refetch {
	char path[256];
	const char *version;
	const char *member;
} ghl_refetch;

/* 1 with *out set when the object of `ref` can be re-read (Contact*,
 * Opportunity*, Appointment*, Note* and Task* with a contactId; never a
 * *Delete); 0 when it cannot (another type, an id missing or unusable). */
int ghl_refetch_of(const ghl_event_ref *ref, ghl_refetch *out);

/* "ghl.events.<type>" into buf; -1 when it does not fit or the type is not
 * a word of [A-Za-z0-9_]. */
int ghl_event_stream(char *buf, size_t len, const char *type);
/* The record key: "LOCATION:ID", else "LOCATION:WEBHOOKID" when the event
 * names no object ("-" for a missing location or webhook id). -1 when it
 * does not fit. */
int ghl_event_key(char *buf, size_t len, const ghl_event_ref *ref, const char *webhook_id);

/* The record body: a copy of the event with source = `source` ("webhook",
 * "poll"); the event's own `source` (where the contact or opportunity came
 * from) is kept as `ghlSource`. With `fresh` (borrowed; NULL: none) the
 * re-read object is added as `object` and refetched: true; refetched is
 * false when `refetch_tried` and there is no fresh object. NULL when out
 * of memory or the event is not an object. */
struct json_object *ghl_event_body(struct json_object *event, const char *source, struct json_object *fresh,
				   int refetch_tried);

/* ---- the memory of recent events ---- */

/* A bounded set of (type, object id, payload hash) seen within `window_ms`:
 * a second event with the same three inside the window is the same change
 * delivered twice. The oldest entries go first when it is full. */
typedef struct ghl_dedup ghl_dedup;

ghl_dedup *ghl_dedup_new(size_t capacity, int64_t window_ms);
void ghl_dedup_free(ghl_dedup *d);
/* The payload hash ignores the members that differ between two deliveries
 * of one change (webhookId, timestamp). 1 when seen within the window
 * (then nothing changes), 0 when new (then it is remembered), -1 when out
 * of memory. */
int ghl_dedup_check(ghl_dedup *d, const char *type, const char *id, struct json_object *event, int64_t now_ms);
/* Forgets an entry check remembered (the event was not emitted after all,
 * so a redelivery must not be dropped). */
void ghl_dedup_forget(ghl_dedup *d, const char *type, const char *id, struct json_object *event);

#endif
