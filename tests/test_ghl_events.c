/* plugins/ghl/ghl_webhook.c: the contacts record, the object of an event,
 * the refetch path table, the event record's stream, key and body, the
 * location filter and the memory of recent events. */
#include "check_main.h"

#include <string.h>

#include <json-c/json.h>

#include "../plugins/ghl/ghl_webhook.h"

static json_object *parse(const char *text)
{
	json_object *o = json_tokener_parse(text);

	ck_assert_ptr_nonnull(o);
	return o;
}

static const char *str(json_object *o, const char *key)
{
	json_object *v = NULL;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

START_TEST(test_contact_record)
{
	json_object *view = parse("{\"email\":\"a@b.c\",\"phone\":null,\"firstName\":\"A\",\"lastName\":null,"
				  "\"tags\":[\"x\",\"y\"]}");
	json_object *body = ghl_contact_record(view, "LOC", "CID", "2024-01-01T00:00:00.000Z", "webhook");
	char key[16];

	ck_assert_ptr_nonnull(body);
	ck_assert_str_eq(str(body, "locationId"), "LOC");
	ck_assert_str_eq(str(body, "contactId"), "CID");
	ck_assert_str_eq(str(body, "object"), "ghl:LOC:contact:CID");
	ck_assert_str_eq(str(body, "source"), "webhook");
	ck_assert_str_eq(str(body, "dateUpdated"), "2024-01-01T00:00:00.000Z");
	ck_assert_str_eq(str(body, "email"), "a@b.c");
	/* the view itself is left as it was */
	ck_assert(!json_object_object_get_ex(view, "source", NULL));
	json_object_put(body);
	body = ghl_contact_record(view, "LOC", "CID", NULL, "poll");
	ck_assert(json_object_object_get_ex(body, "dateUpdated", NULL));
	ck_assert_ptr_null(str(body, "dateUpdated"));
	json_object_put(body);
	json_object_put(view);

	ck_assert_int_eq(ghl_record_key(key, sizeof(key), "LOC", "CID"), 0);
	ck_assert_str_eq(key, "LOC:CID");
	ck_assert_int_eq(ghl_record_key(key, sizeof(key), "LOCATION", "0123456789"), -1);
}
END_TEST

START_TEST(test_event_ref)
{
	json_object *task = parse("{\"type\":\"TaskCreate\",\"locationId\":\"L1\",\"id\":\"T1\",\"contactId\":\"C1\"}");
	json_object *appt = parse("{\"type\":\"AppointmentDelete\",\"locationId\":\"L1\","
				  "\"appointment\":{\"id\":\"A1\",\"contactId\":\"C2\"}}");
	json_object *contact = parse("{\"type\":\"ContactDelete\",\"locationId\":\"\",\"id\":\"C3\"}");
	json_object *msg = parse("{\"type\":\"InboundMessage\",\"locationId\":\"L1\",\"messageId\":\"M\"}");
	ghl_event_ref r;

	ghl_event_ref_of(task, "TaskCreate", &r);
	ck_assert_str_eq(r.location, "L1");
	ck_assert_str_eq(r.id, "T1");
	ck_assert_str_eq(r.contact_id, "C1");
	ck_assert_int_eq(r.is_delete, 0);
	ghl_event_ref_of(appt, "AppointmentDelete", &r);
	ck_assert_str_eq(r.id, "A1");
	ck_assert_str_eq(r.contact_id, "C2");
	ck_assert_int_eq(r.is_delete, 1);
	/* an empty locationId is none; a contact is its own contact */
	ghl_event_ref_of(contact, "ContactDelete", &r);
	ck_assert_ptr_null(r.location);
	ck_assert_str_eq(r.contact_id, "C3");
	ghl_event_ref_of(msg, "InboundMessage", &r);
	ck_assert_ptr_null(r.id);
	json_object_put(task);
	json_object_put(appt);
	json_object_put(contact);
	json_object_put(msg);
}
END_TEST

/* The refetch path table: one row per re-readable type, against
 * operations.tsv. */
START_TEST(test_refetch_paths)
{
	static const struct {
		const char *type, *id, *contact, *path, *version, *member;
	} rows[] = {
		{ "ContactCreate", "C1", NULL, "/contacts/C1", "2021-07-28", "contact" },
		{ "ContactTagUpdate", "C1", NULL, "/contacts/C1", "2021-07-28", "contact" },
		{ "OpportunityStageUpdate", "O1", "C1", "/opportunities/O1", "2021-07-28", "opportunity" },
		{ "AppointmentUpdate", "A1", "C1", "/calendars/events/appointments/A1", "2021-04-15", "event" },
		{ "NoteCreate", "N1", "C1", "/contacts/C1/notes/N1", "2021-07-28", "note" },
		{ "TaskComplete", "T1", "C1", "/contacts/C1/tasks/T1", "2021-07-28", "task" },
	};
	ghl_refetch rf;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		ghl_event_ref r = { rows[i].type, "L", rows[i].id, rows[i].contact, 0 };

		if (strncmp(rows[i].type, "Contact", 7) == 0)
			r.contact_id = r.id;
		ck_assert_int_eq(ghl_refetch_of(&r, &rf), 1);
		ck_assert_str_eq(rf.path, rows[i].path);
		ck_assert_str_eq(rf.version, rows[i].version);
		ck_assert_str_eq(rf.member, rows[i].member);
	}
	{
		/* TaskCreate may come without contactId: not re-readable */
		ghl_event_ref task = { "TaskCreate", "L", "T1", NULL, 0 };
		ghl_event_ref gone = { "ContactDelete", "L", "C1", "C1", 1 };
		ghl_event_ref other = { "InboundMessage", "L", "M1", NULL, 0 };
		ghl_event_ref noid = { "ContactUpdate", "L", NULL, NULL, 0 };
		/* an id that would steer the path elsewhere */
		ghl_event_ref evil = { "ContactUpdate", "L", "../oauth/token", NULL, 0 };
		ghl_event_ref evil2 = { "NoteCreate", "L", "N1", "C1/../x", 0 };

		ck_assert_int_eq(ghl_refetch_of(&task, &rf), 0);
		ck_assert_int_eq(ghl_refetch_of(&gone, &rf), 0);
		ck_assert_int_eq(ghl_refetch_of(&other, &rf), 0);
		ck_assert_int_eq(ghl_refetch_of(&noid, &rf), 0);
		ck_assert_int_eq(ghl_refetch_of(&evil, &rf), 0);
		ck_assert_int_eq(ghl_refetch_of(&evil2, &rf), 0);
	}
}
END_TEST

START_TEST(test_stream_and_key)
{
	ghl_event_ref r = { "ContactCreate", "L1", "C1", "C1", 0 };
	ghl_event_ref anon = { "InboundMessage", NULL, NULL, NULL, 0 };
	char buf[64];

	ck_assert_int_eq(ghl_event_stream(buf, sizeof(buf), "ContactCreate"), 0);
	ck_assert_str_eq(buf, "ghl.events.ContactCreate");
	ck_assert_int_eq(ghl_event_stream(buf, sizeof(buf), "Bad.Type"), -1);
	ck_assert_int_eq(ghl_event_stream(buf, sizeof(buf), ""), -1);
	ck_assert_int_eq(ghl_event_stream(buf, sizeof(buf), NULL), -1);
	ck_assert_int_eq(ghl_event_stream(buf, 12, "ContactCreate"), -1);
	ck_assert_int_eq(ghl_event_key(buf, sizeof(buf), &r, "W1"), 0);
	ck_assert_str_eq(buf, "L1:C1");
	ck_assert_int_eq(ghl_event_key(buf, sizeof(buf), &anon, "W1"), 0);
	ck_assert_str_eq(buf, "-:W1");
	ck_assert_int_eq(ghl_event_key(buf, sizeof(buf), &anon, NULL), 0);
	ck_assert_str_eq(buf, "-:-");
}
END_TEST

START_TEST(test_event_body)
{
	json_object *ev = parse("{\"type\":\"ContactCreate\",\"id\":\"C1\",\"source\":\"xyz form\"}");
	json_object *fresh = parse("{\"id\":\"C1\",\"email\":\"e@x\"}");
	json_object *body, *obj = NULL, *v = NULL;

	body = ghl_event_body(ev, "webhook", NULL, 0);
	ck_assert_str_eq(str(body, "source"), "webhook");
	ck_assert_str_eq(str(body, "ghlSource"), "xyz form");
	ck_assert_str_eq(str(body, "type"), "ContactCreate");
	ck_assert(!json_object_object_get_ex(body, "refetched", NULL));
	ck_assert(!json_object_object_get_ex(body, "object", NULL));
	json_object_put(body);
	/* the event is not changed */
	ck_assert_str_eq(str(ev, "source"), "xyz form");

	body = ghl_event_body(ev, "webhook", fresh, 1);
	ck_assert(json_object_object_get_ex(body, "object", &obj));
	ck_assert_str_eq(str(obj, "email"), "e@x");
	ck_assert(json_object_object_get_ex(body, "refetched", &v) && json_object_get_boolean(v));
	json_object_put(body);

	body = ghl_event_body(ev, "webhook", NULL, 1);
	ck_assert(json_object_object_get_ex(body, "refetched", &v) && !json_object_get_boolean(v));
	json_object_put(body);

	/* an event that is not an object makes no body */
	obj = json_object_new_array();
	ck_assert_ptr_null(ghl_event_body(obj, "poll", NULL, 0));
	json_object_put(obj);
	json_object_put(ev);
	json_object_put(fresh);
}
END_TEST

START_TEST(test_location_listed)
{
	char l1[] = "L1", l2[] = "L2";
	char *ids[] = { l1, l2 };

	ck_assert_int_eq(ghl_location_listed(ids, 2, 0, "L2"), 1);
	ck_assert_int_eq(ghl_location_listed(ids, 2, 0, "L3"), 0);
	ck_assert_int_eq(ghl_location_listed(ids, 2, 0, NULL), 0);
	ck_assert_int_eq(ghl_location_listed(NULL, 0, 1, "L3"), 1);
	ck_assert_int_eq(ghl_location_listed(NULL, 0, 1, NULL), 1);
}
END_TEST

START_TEST(test_dedup)
{
	ghl_dedup *d = ghl_dedup_new(2, 1000);
	json_object *a = parse("{\"type\":\"ContactUpdate\",\"id\":\"C1\",\"email\":\"a\",\"webhookId\":\"w1\","
			       "\"timestamp\":\"t1\"}");
	json_object *a2 = parse("{\"type\":\"ContactUpdate\",\"id\":\"C1\",\"email\":\"a\",\"webhookId\":\"w2\","
				"\"timestamp\":\"t2\"}");
	json_object *b = parse("{\"type\":\"ContactUpdate\",\"id\":\"C1\",\"email\":\"b\"}");
	json_object *c = parse("{\"type\":\"ContactUpdate\",\"id\":\"C2\",\"email\":\"c\"}");

	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(ghl_dedup_check(d, "ContactUpdate", "C1", a, 0), 0);
	/* another delivery of the same change: only webhookId and timestamp differ */
	ck_assert_int_eq(ghl_dedup_check(d, "ContactUpdate", "C1", a2, 500), 1);
	/* another type of event for the same payload is not the same */
	ck_assert_int_eq(ghl_dedup_check(d, "ContactTagUpdate", "C1", a2, 500), 0);
	/* after the window it is a new change */
	ck_assert_int_eq(ghl_dedup_check(d, "ContactUpdate", "C1", a2, 2000), 0);
	ck_assert_int_eq(ghl_dedup_check(d, "ContactUpdate", "C1", a, 2100), 1);
	/* forgotten (not emitted): a redelivery is taken */
	ghl_dedup_forget(d, "ContactUpdate", "C1", a);
	ck_assert_int_eq(ghl_dedup_check(d, "ContactUpdate", "C1", a, 2200), 0);
	/* bounded: two entries; the oldest goes first */
	ck_assert_int_eq(ghl_dedup_check(d, "ContactUpdate", "C1", b, 2300), 0);
	ck_assert_int_eq(ghl_dedup_check(d, "ContactUpdate", "C2", c, 2400), 0);
	ck_assert_int_eq(ghl_dedup_check(d, "ContactUpdate", "C2", c, 2500), 1);
	ck_assert_int_eq(ghl_dedup_check(d, "ContactUpdate", "C1", b, 2500), 1);
	ck_assert_int_eq(ghl_dedup_check(d, "ContactUpdate", "C1", a, 2500), 0);
	ck_assert_int_eq(ghl_dedup_check(NULL, "x", "y", a, 0), -1);
	ck_assert_ptr_null(ghl_dedup_new(0, 1));
	ghl_dedup_free(d);
	ghl_dedup_free(NULL);
	json_object_put(a);
	json_object_put(a2);
	json_object_put(b);
	json_object_put(c);
}
END_TEST

static Suite *test_suite(void)
{
	Suite *s = suite_create("ghl_events");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_contact_record);
	tcase_add_test(tc, test_event_ref);
	tcase_add_test(tc, test_refetch_paths);
	tcase_add_test(tc, test_stream_and_key);
	tcase_add_test(tc, test_event_body);
	tcase_add_test(tc, test_location_listed);
	tcase_add_test(tc, test_dedup);
	suite_add_tcase(s, tc);
	return s;
}
