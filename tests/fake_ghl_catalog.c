/* fake_ghl_catalog: the rest of GHL's operation catalog in the fake (the
 * rows of shared/specs/ghl/operations.tsv that tests/fake_ghl.c does not
 * answer itself). A table of routes over collections of JSON items; each
 * item belongs to a location (or, for snapshots, to the company) and may
 * have a parent (a contact, a calendar, an appointment, a conversation, a
 * resource type, a blog). Shapes follow the response schemas of the apps/
 * specs the rows name; errors are fake_ghl's ({statusCode, message}).
 *
 * Seed (deterministic; the first SEED_LOCS locations only). k counts from 0,
 * ids are 20 characters as fake_ghl's make_id makes them (kind = the
 * collection), so the same run gives the same ids. T0 = 2025-01-06T00:00Z
 * (1736121600000 ms), D = a day, H = an hour. GET /_control/catalog-seed
 * lists every seeded id per location and collection (see fgc_seed_json).
 *   users        12: "User k", user.k.<li>@example.com, roles.locationIds [L]
 *   businesses   12: "Business k"; contacts 0 and 1 of L belong to business 0
 *   tasks        25 on contact 0 (and 3 on contact 1): "Task k", dueDate T0 + k D
 *   notes        12 on contact 0: "Note k"
 *   campaigns 3, workflows 3; contact 0 is in campaign 0 and followed by user 0
 *   groups 2; calendars 3 (0 and 1 in group 0, 2 in group 1)
 *   appointments 30 on calendar 0, one a day from T0 + 10 H (contact k mod the
 *                location's contacts), 5 on calendar 1 (T0 + k D + 12 H)
 *   block slots  5 on calendar 0, T0 + k D + 14 H
 *   appointment notes 12 on appointment 0; notifications 12 on calendar 0
 *   resources    12 equipments, 3 rooms
 *   conversations 30, lastMessageDate T0 + k H; messages 45 in conversation 0,
 *                dateAdded T0 + k min, every 5th an e-mail; message 0 is a call
 *                (recording, transcription)
 *   customFields 5 (fieldKey contact.guest_room, contact.check_in_date,
 *                contact.nights, contact.booking_source, opportunity.note)
 *   associations 12; relations 12 of association 0 from contact 0 (or
 *                "record" + L when L has no contacts) to business k
 *   blog sites 12; posts 25 in site 0 (urlSlug post-k); authors 12; categories 12
 *   snapshots    3 (the company's)
 * Contacts themselves are fake_ghl's (--contacts N seeds them): start it with
 * --contacts 2 or more for the contact-linked seed.
 *
 * Paging: skip/limit (skip [0], limit [20, 1..100]) on contacts by business,
 * notifications, resources, users search, businesses, locations search,
 * associations, relations, blog sites; limit/offset (limit [10, 1..100]) on
 * appointment notes ({notes, hasMore}), blog posts, authors, categories;
 * startAfterDate on conversations (sort desc by lastMessageDate unless
 * sort=asc; the cursor is the last item's lastMessageDate; limit [20]; total =
 * all matches); lastMessageId on messages (newest first; {lastMessageId,
 * nextPage, messages}, flat as the spec's GetMessagesByConversationResponseDto);
 * startTime/endTime (epoch ms, both
 * required) on events and blocked slots, by start time; free slots need
 * startDate/endDate (epoch ms, at most 31 days: 400 beyond) and answer
 * {"YYYY-MM-DD":{"slots":[..]}} with 09:00..16:00 UTC hourly, less the
 * hours an appointment or block slot of the calendar starts in.
 * Errors: an unknown id (item, parent, contact) -> 404; a missing required
 * member of the body (the spec's required list) or query -> 422; a body that
 * is not JSON -> 400; an appointment or block slot on a calendar that is not
 * the location's -> 400 (a created event gets the calendar's groupId, an hour's
 * endTime and empty title/contactId/assignedUserId when left out); agency
 * routes (companies, snapshots, users by e-mail, locations search and create)
 * with a location token -> 401 (fake_ghl's authClass answer). Deletes answer what the spec says ({"succeded":true},
 * {"success":true}, {"succeeded":true} with 201 for events, ...).
 * Version: 2021-04-15 for /calendars and /conversations (their specs' enum),
 * 2021-07-28 elsewhere, any for GET /conversations/messages/email/{id} (its
 * spec declares none); another -> 422.
 * Who: agency token only for companies, snapshots, users by e-mail, locations
 * search and create; either kind for users search/get/create/update/delete and
 * GET /locations/{id} (an agency token sees every location); a location token
 * (or PIT) elsewhere, for its own location only (403).
 *
 * Where the catalog departs from the specs (Prism flags these answers):
 *   - startTime/endTime/dateAdded of events and block slots are ISO strings, and
 *     the labels, keys and associationType of associations are strings: the
 *     specs type them "object" with string examples (real answers are strings).
 *   - GET /associations/ and /associations/relations/{recordId} answer
 *     {associations|relations:[..], total} plus the first item's members (the
 *     spec types the answer as one association).
 *   - GET .../transcription answers the first sentence's members plus
 *     "sentences" with all of them (the spec: one sentence object).
 * The routes (method, path, seeded collection) are the table `routes` below;
 * its names are the ghl module's operation names and show in the log. */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include "fake_http.h"
#include "fake_ghl_catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define SEED_LOCS 10
#define T0 1736121600000LL
#define HOUR 3600000LL
#define DAY (24 * HOUR)
#define MAXP 4
#define LIMIT_MAX 100

enum coll {
	C_TASK, C_NOTE, C_LINK, C_GROUP, C_CAL, C_EVENT, C_APNOTE, C_NOTIF, C_RES, C_USER, C_BIZ,
	C_CONV, C_MSG, C_WF, C_SNAP, C_CAMP, C_LOC, C_FIELD, C_ASSOC, C_REL, C_SITE, C_POST, C_AUTHOR,
	C_CAT, NCOLL
};

struct collinfo {
	const char *name;       /* in the seed listing and 404 messages */
	const char *idkey;
	const char *parent_key; /* the member naming the parent, when it has one */
	const char *time_key;   /* what lists sort and window by */
	int located;            /* items carry locationId */
};

static const struct collinfo colls[NCOLL] = {
	[C_TASK] = { "tasks", "id", "contactId", "dueDate", 0 },
	[C_NOTE] = { "notes", "id", "contactId", "dateAdded", 0 },
	[C_LINK] = { "links", "id", NULL, NULL, 0 },
	[C_GROUP] = { "groups", "id", NULL, NULL, 1 },
	[C_CAL] = { "calendars", "id", NULL, NULL, 1 },
	[C_EVENT] = { "events", "id", "contactId", "startTime", 1 },
	[C_APNOTE] = { "appointmentNotes", "id", NULL, "dateAdded", 0 },
	[C_NOTIF] = { "notifications", "_id", NULL, NULL, 0 },
	[C_RES] = { "resources", "id", "resourceType", NULL, 1 },
	[C_USER] = { "users", "id", NULL, NULL, 0 },
	[C_BIZ] = { "businesses", "id", NULL, NULL, 1 },
	[C_CONV] = { "conversations", "id", NULL, "lastMessageDate", 1 },
	[C_MSG] = { "messages", "id", "conversationId", "dateAdded", 1 },
	[C_WF] = { "workflows", "id", NULL, NULL, 1 },
	[C_SNAP] = { "snapshots", "id", NULL, NULL, 0 },
	[C_CAMP] = { "campaigns", "id", NULL, NULL, 1 },
	[C_LOC] = { "locations", "id", NULL, NULL, 0 },
	[C_FIELD] = { "customFields", "id", NULL, NULL, 1 },
	[C_ASSOC] = { "associations", "id", NULL, NULL, 1 },
	[C_REL] = { "relations", "id", "firstRecordId", NULL, 1 },
	[C_SITE] = { "blogSites", "_id", NULL, NULL, 0 },
	[C_POST] = { "blogPosts", "_id", "blogId", "publishedAt", 1 },
	[C_AUTHOR] = { "blogAuthors", "_id", NULL, NULL, 1 },
	[C_CAT] = { "blogCategories", "_id", NULL, NULL, 1 },
};

/* Link kinds (C_LINK's sub): a contact's campaigns, workflows, business,
 * followers; an opportunity's followers. */
enum { L_CAMPAIGN = 1, L_WORKFLOW, L_BUSINESS, L_FOLLOWER };
/* Event kinds (C_EVENT's sub). */
enum { E_APPT = 1, E_BLOCK };

struct item {
	char id[48];
	int loc;                /* -1: the company's */
	int sub;
	int gone;
	char parent[48];
	int64_t t;
	struct json_object *o;
};

static struct {
	struct item **v;
	size_t n, cap;
	size_t seq[SEED_LOCS + 1];  /* per location for ids; the last for the rest */
} store[NCOLL];

/* ---- the routes ----------------------------------------------------------------------- */

enum where { W_TOKEN, W_QUERY, W_QOPT, W_BODY, W_BODYLOCS, W_CONTACT, W_ITEM, W_PATH, W_OPP };
enum kind { K_LIST, K_GET, K_CREATE, K_UPDATE, K_DELETE, K_FN };
enum paging { P_NONE, P_SKIP, P_OFFSET, P_AFTERDATE, P_LASTMSG, P_WINDOW };
enum { F_TOTAL = 1, F_COUNT = 2, F_HASMORE = 4, F_SUCCESS = 8, F_FLAT = 16 };

struct ctx;
typedef void fn_t(struct ctx *);

struct rt {
	const char *name, *method, *path;  /* "{}" is one path parameter */
	unsigned char who, where, wp, wcoll;  /* wp: the parameter index W_CONTACT/ITEM/PATH/OPP read */
	unsigned char kind, coll, parent, sub;  /* parent: 1 + the parameter index of the parent */
	const char *member;     /* the answer's wrapper member; NULL: the item itself */
	const char *required;   /* body members, comma-separated */
	const char *qreq;       /* required query parameters */
	unsigned char paging, flags;
	const char *filters;    /* query parameters an item's members must equal */
	const char *ack;        /* JSON answered instead of the item */
	unsigned short status;  /* of success [200; 201 for creates] */
	fn_t *fn;
};

struct ctx {
	struct MHD_Connection *c;
	struct fh_req *rq;
	const struct rt *rt;
	int li;
	char p[MAXP][128];
	int np;
	struct json_object *body;
};

static fn_t fn_contact_create, fn_contact_delete, fn_contact_list, fn_contact_dup, fn_contact_business,
	fn_bulk_tags, fn_bulk_business, fn_link_add, fn_link_del, fn_remove_all, fn_followers, fn_slug,
	fn_free_slots, fn_msg_status, fn_typing, fn_recording, fn_transcript, fn_users_email, fn_loc_search,
	fn_loc_get, fn_loc_create, fn_company, fn_assoc_key, fn_assoc_object, fn_url_slug, fn_opp, fn_notif_create;

#define LOC "locationId"
#define BLOG_REQUIRED "title,locationId,blogId,imageUrl,description,rawHTML,status,imageAltText,categories,author," \
	"urlSlug,publishedAt"
static const struct rt routes[] = {
	/* contacts */
	{ .name = "contacts.by_business", .method = "GET", .path = "/contacts/business/{}", .where = W_QUERY,
	  .kind = K_FN, .fn = fn_contact_business, .paging = P_SKIP },
	{ .name = "contacts.duplicate", .method = "GET", .path = "/contacts/search/duplicate", .where = W_QUERY,
	  .kind = K_FN, .fn = fn_contact_dup },
	{ .name = "contacts.list", .method = "GET", .path = "/contacts", .where = W_QUERY, .kind = K_FN,
	  .fn = fn_contact_list },
	{ .name = "contacts.create", .method = "POST", .path = "/contacts", .where = W_BODY, .kind = K_FN,
	  .fn = fn_contact_create, .required = LOC },
	{ .name = "contacts.bulk_tags", .method = "POST", .path = "/contacts/bulk/tags/update/{}", .where = W_BODY,
	  .kind = K_FN, .fn = fn_bulk_tags, .required = "contacts,tags,locationId" },
	{ .name = "contacts.bulk_business", .method = "POST", .path = "/contacts/bulk/business", .where = W_BODY,
	  .kind = K_FN, .fn = fn_bulk_business, .required = "locationId,ids" },
	{ .name = "contacts.delete", .method = "DELETE", .path = "/contacts/{}", .where = W_CONTACT, .kind = K_FN,
	  .fn = fn_contact_delete },
	{ .name = "contacts.appointments", .method = "GET", .path = "/contacts/{}/appointments", .where = W_CONTACT,
	  .kind = K_LIST, .coll = C_EVENT, .parent = 1, .sub = E_APPT, .member = "events" },
	{ .name = "contacts.tasks", .method = "GET", .path = "/contacts/{}/tasks", .where = W_CONTACT, .kind = K_LIST,
	  .coll = C_TASK, .parent = 1, .member = "tasks" },
	{ .name = "contacts.task", .method = "GET", .path = "/contacts/{}/tasks/{}", .where = W_CONTACT, .kind = K_GET,
	  .coll = C_TASK, .parent = 1, .member = "task" },
	{ .name = "contacts.create_task", .method = "POST", .path = "/contacts/{}/tasks", .where = W_CONTACT,
	  .kind = K_CREATE, .coll = C_TASK, .parent = 1, .member = "task", .required = "title,dueDate,completed" },
	{ .name = "contacts.update_task", .method = "PUT", .path = "/contacts/{}/tasks/{}", .where = W_CONTACT,
	  .kind = K_UPDATE, .coll = C_TASK, .parent = 1, .member = "task" },
	{ .name = "contacts.complete_task", .method = "PUT", .path = "/contacts/{}/tasks/{}/completed",
	  .where = W_CONTACT, .kind = K_UPDATE, .coll = C_TASK, .parent = 1, .member = "task", .required = "completed" },
	{ .name = "contacts.delete_task", .method = "DELETE", .path = "/contacts/{}/tasks/{}", .where = W_CONTACT,
	  .kind = K_DELETE, .coll = C_TASK, .parent = 1, .ack = "{\"succeded\":true}" },
	{ .name = "contacts.notes", .method = "GET", .path = "/contacts/{}/notes", .where = W_CONTACT, .kind = K_LIST,
	  .coll = C_NOTE, .parent = 1, .member = "notes" },
	{ .name = "contacts.note", .method = "GET", .path = "/contacts/{}/notes/{}", .where = W_CONTACT, .kind = K_GET,
	  .coll = C_NOTE, .parent = 1, .member = "note" },
	{ .name = "contacts.create_note", .method = "POST", .path = "/contacts/{}/notes", .where = W_CONTACT,
	  .kind = K_CREATE, .coll = C_NOTE, .parent = 1, .member = "note", .required = "body" },
	{ .name = "contacts.update_note", .method = "PUT", .path = "/contacts/{}/notes/{}", .where = W_CONTACT,
	  .kind = K_UPDATE, .coll = C_NOTE, .parent = 1, .member = "note" },
	{ .name = "contacts.delete_note", .method = "DELETE", .path = "/contacts/{}/notes/{}", .where = W_CONTACT,
	  .kind = K_DELETE, .coll = C_NOTE, .parent = 1, .ack = "{\"succeded\":true}" },
	{ .name = "contacts.remove_from_all_campaigns", .method = "DELETE", .path = "/contacts/{}/campaigns/removeAll",
	  .where = W_CONTACT, .kind = K_FN, .fn = fn_remove_all, .ack = "{\"succeded\":true}" },
	{ .name = "contacts.add_to_campaign", .method = "POST", .path = "/contacts/{}/campaigns/{}", .where = W_CONTACT,
	  .kind = K_FN, .fn = fn_link_add, .sub = L_CAMPAIGN, .ack = "{\"succeded\":true}", .status = 201 },
	{ .name = "contacts.remove_from_campaign", .method = "DELETE", .path = "/contacts/{}/campaigns/{}",
	  .where = W_CONTACT, .kind = K_FN, .fn = fn_link_del, .sub = L_CAMPAIGN, .ack = "{\"succeded\":true}" },
	{ .name = "contacts.add_to_workflow", .method = "POST", .path = "/contacts/{}/workflow/{}", .where = W_CONTACT,
	  .kind = K_FN, .fn = fn_link_add, .sub = L_WORKFLOW, .ack = "{\"succeded\":true}", .status = 200 },
	{ .name = "contacts.remove_from_workflow", .method = "DELETE", .path = "/contacts/{}/workflow/{}",
	  .where = W_CONTACT, .kind = K_FN, .fn = fn_link_del, .sub = L_WORKFLOW, .ack = "{\"succeded\":true}" },
	{ .name = "contacts.add_followers", .method = "POST", .path = "/contacts/{}/followers", .where = W_CONTACT,
	  .kind = K_FN, .fn = fn_followers, .required = "followers", .status = 201 },
	{ .name = "contacts.remove_followers", .method = "DELETE", .path = "/contacts/{}/followers",
	  .where = W_CONTACT, .kind = K_FN, .fn = fn_followers, .required = "followers" },
	/* calendars */
	{ .name = "calendars.groups", .method = "GET", .path = "/calendars/groups", .where = W_QUERY, .kind = K_LIST,
	  .coll = C_GROUP, .member = "groups" },
	{ .name = "calendars.create_group", .method = "POST", .path = "/calendars/groups", .where = W_BODY,
	  .kind = K_CREATE, .coll = C_GROUP, .member = "group", .required = "locationId,name,description,slug" },
	{ .name = "calendars.validate_group_slug", .method = "POST", .path = "/calendars/groups/validate-slug",
	  .where = W_BODY, .kind = K_FN, .fn = fn_slug, .required = "locationId,slug" },
	{ .name = "calendars.group_status", .method = "PUT", .path = "/calendars/groups/{}/status", .where = W_ITEM,
	  .wcoll = C_GROUP, .kind = K_UPDATE, .coll = C_GROUP, .required = "isActive", .ack = "{\"success\":true}" },
	{ .name = "calendars.update_group", .method = "PUT", .path = "/calendars/groups/{}", .where = W_ITEM,
	  .wcoll = C_GROUP, .kind = K_UPDATE, .coll = C_GROUP, .member = "group", .required = "name,description,slug" },
	{ .name = "calendars.delete_group", .method = "DELETE", .path = "/calendars/groups/{}", .where = W_ITEM,
	  .wcoll = C_GROUP, .kind = K_DELETE, .coll = C_GROUP, .ack = "{\"success\":true}" },
	{ .name = "calendars.events", .method = "GET", .path = "/calendars/events", .where = W_QUERY, .kind = K_LIST,
	  .coll = C_EVENT, .sub = E_APPT, .member = "events", .paging = P_WINDOW, .filters = "calendarId,groupId,userId" },
	{ .name = "calendars.blocked_slots", .method = "GET", .path = "/calendars/blocked-slots", .where = W_QUERY,
	  .kind = K_LIST, .coll = C_EVENT, .sub = E_BLOCK, .member = "events", .paging = P_WINDOW,
	  .filters = "calendarId,groupId,userId" },
	{ .name = "calendars.appointment", .method = "GET", .path = "/calendars/events/appointments/{}",
	  .where = W_ITEM, .wcoll = C_EVENT, .kind = K_GET, .coll = C_EVENT, .member = "event" },
	{ .name = "calendars.create_appointment", .method = "POST", .path = "/calendars/events/appointments",
	  .where = W_BODY, .kind = K_CREATE, .coll = C_EVENT, .sub = E_APPT,
	  .required = "calendarId,locationId,contactId,startTime", .status = 200 },
	{ .name = "calendars.update_appointment", .method = "PUT", .path = "/calendars/events/appointments/{}",
	  .where = W_ITEM, .wcoll = C_EVENT, .kind = K_UPDATE, .coll = C_EVENT },
	{ .name = "calendars.create_block_slot", .method = "POST", .path = "/calendars/events/block-slots",
	  .where = W_BODY, .kind = K_CREATE, .coll = C_EVENT, .sub = E_BLOCK, .required = "calendarId,locationId" },
	{ .name = "calendars.update_block_slot", .method = "PUT", .path = "/calendars/events/block-slots/{}",
	  .where = W_ITEM, .wcoll = C_EVENT, .kind = K_UPDATE, .coll = C_EVENT, .required = "calendarId,locationId",
	  .status = 201 },
	{ .name = "calendars.delete_event", .method = "DELETE", .path = "/calendars/events/{}", .where = W_ITEM,
	  .wcoll = C_EVENT, .kind = K_DELETE, .coll = C_EVENT, .ack = "{\"succeeded\":true}", .status = 201 },
	{ .name = "calendars.appointment_notes", .method = "GET", .path = "/calendars/appointments/{}/notes",
	  .where = W_ITEM, .wcoll = C_EVENT, .kind = K_LIST, .coll = C_APNOTE, .parent = 1, .member = "notes",
	  .paging = P_OFFSET, .flags = F_HASMORE },
	{ .name = "calendars.create_appointment_note", .method = "POST", .path = "/calendars/appointments/{}/notes",
	  .where = W_ITEM, .wcoll = C_EVENT, .kind = K_CREATE, .coll = C_APNOTE, .parent = 1, .member = "note",
	  .required = "body" },
	{ .name = "calendars.update_appointment_note", .method = "PUT", .path = "/calendars/appointments/{}/notes/{}",
	  .where = W_ITEM, .wcoll = C_EVENT, .kind = K_UPDATE, .coll = C_APNOTE, .parent = 1, .member = "note",
	  .required = "body" },
	{ .name = "calendars.delete_appointment_note", .method = "DELETE",
	  .path = "/calendars/appointments/{}/notes/{}", .where = W_ITEM, .wcoll = C_EVENT, .kind = K_DELETE,
	  .coll = C_APNOTE, .parent = 1, .ack = "{\"success\":true}" },
	{ .name = "calendars.resources", .method = "GET", .path = "/calendars/resources/{}", .where = W_QUERY,
	  .kind = K_LIST, .coll = C_RES, .parent = 1, .paging = P_SKIP },
	{ .name = "calendars.create_resource", .method = "POST", .path = "/calendars/resources/{}", .where = W_BODY,
	  .kind = K_CREATE, .coll = C_RES, .parent = 1,
	  .required = "locationId,name,description,quantity,outOfService,capacity,calendarIds" },
	{ .name = "calendars.resource", .method = "GET", .path = "/calendars/resources/{}/{}", .where = W_ITEM,
	  .wp = 1, .wcoll = C_RES, .kind = K_GET, .coll = C_RES, .parent = 1 },
	{ .name = "calendars.update_resource", .method = "PUT", .path = "/calendars/resources/{}/{}", .where = W_ITEM,
	  .wp = 1, .wcoll = C_RES, .kind = K_UPDATE, .coll = C_RES, .parent = 1 },
	{ .name = "calendars.delete_resource", .method = "DELETE", .path = "/calendars/resources/{}/{}",
	  .where = W_ITEM, .wp = 1, .wcoll = C_RES, .kind = K_DELETE, .coll = C_RES, .parent = 1,
	  .ack = "{\"success\":true}" },
	{ .name = "calendars.list", .method = "GET", .path = "/calendars", .where = W_QUERY, .kind = K_LIST,
	  .coll = C_CAL, .member = "calendars", .filters = "groupId" },
	{ .name = "calendars.create", .method = "POST", .path = "/calendars", .where = W_BODY, .kind = K_CREATE,
	  .coll = C_CAL, .member = "calendar", .required = "locationId,name", .status = 200 },
	{ .name = "calendars.get", .method = "GET", .path = "/calendars/{}", .where = W_ITEM, .wcoll = C_CAL,
	  .kind = K_GET, .coll = C_CAL, .member = "calendar" },
	{ .name = "calendars.update", .method = "PUT", .path = "/calendars/{}", .where = W_ITEM, .wcoll = C_CAL,
	  .kind = K_UPDATE, .coll = C_CAL, .member = "calendar" },
	{ .name = "calendars.delete", .method = "DELETE", .path = "/calendars/{}", .where = W_ITEM, .wcoll = C_CAL,
	  .kind = K_DELETE, .coll = C_CAL, .ack = "{\"success\":true}" },
	{ .name = "calendars.free_slots", .method = "GET", .path = "/calendars/{}/free-slots", .where = W_ITEM,
	  .wcoll = C_CAL, .kind = K_FN, .fn = fn_free_slots, .qreq = "startDate,endDate" },
	{ .name = "calendars.notifications", .method = "GET", .path = "/calendars/{}/notifications", .where = W_ITEM,
	  .wcoll = C_CAL, .kind = K_LIST, .coll = C_NOTIF, .parent = 1, .paging = P_SKIP },
	{ .name = "calendars.create_notification", .method = "POST", .path = "/calendars/{}/notifications",
	  .where = W_ITEM, .wcoll = C_CAL, .kind = K_FN, .fn = fn_notif_create, .coll = C_NOTIF, .parent = 1 },
	{ .name = "calendars.notification", .method = "GET", .path = "/calendars/{}/notifications/{}",
	  .where = W_ITEM, .wcoll = C_CAL, .kind = K_GET, .coll = C_NOTIF, .parent = 1 },
	{ .name = "calendars.update_notification", .method = "PUT", .path = "/calendars/{}/notifications/{}",
	  .where = W_ITEM, .wcoll = C_CAL, .kind = K_UPDATE, .coll = C_NOTIF, .parent = 1,
	  .ack = "{\"message\":\"Notification updated\"}" },
	{ .name = "calendars.delete_notification", .method = "DELETE", .path = "/calendars/{}/notifications/{}",
	  .where = W_ITEM, .wcoll = C_CAL, .kind = K_DELETE, .coll = C_NOTIF, .parent = 1,
	  .ack = "{\"message\":\"Notification deleted\"}" },
	/* opportunities (fake_ghl.c's) and their followers */
	{ .name = "opportunities.add_followers", .method = "POST", .path = "/opportunities/{}/followers",
	  .where = W_OPP, .kind = K_FN, .fn = fn_followers, .required = "followers", .status = 201 },
	{ .name = "opportunities.remove_followers", .method = "DELETE", .path = "/opportunities/{}/followers",
	  .where = W_OPP, .kind = K_FN, .fn = fn_followers, .required = "followers" },
	{ .name = "opportunities.status", .method = "PUT", .path = "/opportunities/{}/status", .where = W_OPP,
	  .kind = K_FN, .fn = fn_opp, .required = "status" },
	{ .name = "opportunities.create", .method = "POST", .path = "/opportunities", .where = W_BODY, .kind = K_FN,
	  .fn = fn_opp, .required = "pipelineId,locationId,name,status,contactId" },
	{ .name = "opportunities.get", .method = "GET", .path = "/opportunities/{}", .where = W_OPP, .kind = K_FN,
	  .fn = fn_opp },
	{ .name = "opportunities.update", .method = "PUT", .path = "/opportunities/{}", .where = W_OPP, .kind = K_FN,
	  .fn = fn_opp },
	{ .name = "opportunities.delete", .method = "DELETE", .path = "/opportunities/{}", .where = W_OPP,
	  .kind = K_FN, .fn = fn_opp },
	/* users */
	{ .name = "users.search", .method = "GET", .path = "/users/search", .who = FGC_EITHER, .where = W_QOPT,
	  .kind = K_LIST, .coll = C_USER, .member = "users", .qreq = "companyId", .paging = P_SKIP, .flags = F_COUNT },
	{ .name = "users.filter_by_email", .method = "POST", .path = "/users/search/filter-by-email",
	  .who = FGC_AGENCY, .where = W_TOKEN, .kind = K_FN, .fn = fn_users_email, .required = "companyId,emails" },
	{ .name = "users.by_location", .method = "GET", .path = "/users", .where = W_QUERY, .kind = K_LIST, .coll = C_USER,
	  .member = "users" },
	{ .name = "users.create", .method = "POST", .path = "/users", .who = FGC_EITHER, .where = W_BODYLOCS,
	  .kind = K_CREATE, .coll = C_USER,
	  .required = "companyId,firstName,lastName,email,password,type,role,locationIds" },
	{ .name = "users.get", .method = "GET", .path = "/users/{}", .who = FGC_EITHER, .where = W_ITEM,
	  .wcoll = C_USER, .kind = K_GET, .coll = C_USER },
	{ .name = "users.update", .method = "PUT", .path = "/users/{}", .who = FGC_EITHER, .where = W_ITEM,
	  .wcoll = C_USER, .kind = K_UPDATE, .coll = C_USER },
	{ .name = "users.delete", .method = "DELETE", .path = "/users/{}", .who = FGC_EITHER, .where = W_ITEM,
	  .wcoll = C_USER, .kind = K_DELETE, .coll = C_USER,
	  .ack = "{\"succeded\":true,\"message\":\"Queued deleting user\"}" },
	/* conversations */
	{ .name = "conversations.search", .method = "GET", .path = "/conversations/search", .where = W_QUERY,
	  .kind = K_LIST, .coll = C_CONV, .member = "conversations", .paging = P_AFTERDATE, .flags = F_TOTAL,
	  .filters = "contactId,assignedTo,status" },
	{ .name = "conversations.email", .method = "GET", .path = "/conversations/messages/email/{}",
	  .where = W_ITEM, .wcoll = C_MSG, .kind = K_GET, .coll = C_MSG },
	{ .name = "conversations.message_status", .method = "PUT", .path = "/conversations/messages/{}/status",
	  .where = W_ITEM, .wcoll = C_MSG, .kind = K_FN, .fn = fn_msg_status, .required = "status" },
	{ .name = "conversations.recording", .method = "GET", .path = "/conversations/messages/{}/locations/{}/recording",
	  .where = W_PATH, .wp = 1, .kind = K_FN, .fn = fn_recording },
	{ .name = "conversations.message", .method = "GET", .path = "/conversations/messages/{}", .where = W_ITEM,
	  .wcoll = C_MSG, .kind = K_GET, .coll = C_MSG },
	{ .name = "conversations.transcription", .method = "GET",
	  .path = "/conversations/locations/{}/messages/{}/transcription", .where = W_PATH, .kind = K_FN,
	  .fn = fn_transcript },
	{ .name = "conversations.transcription_download", .method = "GET",
	  .path = "/conversations/locations/{}/messages/{}/transcription/download", .where = W_PATH, .kind = K_FN,
	  .fn = fn_transcript, .sub = 1 },
	{ .name = "conversations.typing", .method = "POST", .path = "/conversations/providers/live-chat/typing",
	  .where = W_BODY, .kind = K_FN, .fn = fn_typing, .required = "locationId,isTyping,visitorId,conversationId" },
	{ .name = "conversations.messages", .method = "GET", .path = "/conversations/{}/messages", .where = W_ITEM,
	  .wcoll = C_CONV, .kind = K_LIST, .coll = C_MSG, .parent = 1, .member = "messages", .paging = P_LASTMSG,
	  .filters = "type" },
	{ .name = "conversations.get", .method = "GET", .path = "/conversations/{}", .where = W_ITEM, .wcoll = C_CONV,
	  .kind = K_GET, .coll = C_CONV },
	/* businesses */
	{ .name = "businesses.list", .method = "GET", .path = "/businesses", .where = W_QUERY, .kind = K_LIST,
	  .coll = C_BIZ, .member = "businesses", .paging = P_SKIP },
	{ .name = "businesses.create", .method = "POST", .path = "/businesses", .where = W_BODY, .kind = K_CREATE,
	  .coll = C_BIZ, .member = "buiseness", .required = "name,locationId", .flags = F_SUCCESS },
	{ .name = "businesses.get", .method = "GET", .path = "/businesses/{}", .where = W_ITEM, .wcoll = C_BIZ,
	  .kind = K_GET, .coll = C_BIZ, .member = "business" },
	{ .name = "businesses.update", .method = "PUT", .path = "/businesses/{}", .where = W_ITEM, .wcoll = C_BIZ,
	  .kind = K_UPDATE, .coll = C_BIZ, .member = "buiseness", .flags = F_SUCCESS },
	{ .name = "businesses.delete", .method = "DELETE", .path = "/businesses/{}", .where = W_ITEM, .wcoll = C_BIZ,
	  .kind = K_DELETE, .coll = C_BIZ, .ack = "{\"success\":true}" },
	/* workflows, snapshots, campaigns */
	{ .name = "workflows.list", .method = "GET", .path = "/workflows", .where = W_QUERY, .kind = K_LIST,
	  .coll = C_WF, .member = "workflows" },
	{ .name = "snapshots.list", .method = "GET", .path = "/snapshots", .who = FGC_AGENCY, .where = W_TOKEN,
	  .kind = K_LIST, .coll = C_SNAP, .member = "snapshots", .qreq = "companyId" },
	{ .name = "campaigns.list", .method = "GET", .path = "/campaigns", .where = W_QUERY, .kind = K_LIST,
	  .coll = C_CAMP, .member = "campaigns", .filters = "status" },
	/* locations, custom fields, companies */
	{ .name = "locations.search", .method = "GET", .path = "/locations/search", .who = FGC_AGENCY,
	  .where = W_TOKEN, .kind = K_FN, .fn = fn_loc_search, .paging = P_SKIP },
	{ .name = "locations.custom_fields", .method = "GET", .path = "/locations/{}/customFields", .where = W_PATH,
	  .kind = K_LIST, .coll = C_FIELD, .member = "customFields", .filters = "model" },
	{ .name = "locations.get", .method = "GET", .path = "/locations/{}", .who = FGC_EITHER, .where = W_PATH,
	  .kind = K_FN, .fn = fn_loc_get },
	{ .name = "locations.create", .method = "POST", .path = "/locations", .who = FGC_AGENCY, .where = W_TOKEN,
	  .kind = K_FN, .fn = fn_loc_create, .required = "name,companyId" },
	{ .name = "companies.get", .method = "GET", .path = "/companies/{}", .who = FGC_AGENCY, .where = W_TOKEN,
	  .kind = K_FN, .fn = fn_company },
	/* associations */
	{ .name = "associations.relations", .method = "GET", .path = "/associations/relations/{}", .where = W_QUERY,
	  .kind = K_LIST, .coll = C_REL, .parent = 1, .member = "relations", .paging = P_SKIP, .flags = F_TOTAL | F_FLAT,
	  .qreq = "skip,limit" },
	{ .name = "associations.create_relation", .method = "POST", .path = "/associations/relations",
	  .where = W_BODY, .kind = K_CREATE, .coll = C_REL,
	  .required = "locationId,associationId,firstRecordId,secondRecordId" },
	{ .name = "associations.delete_relation", .method = "DELETE", .path = "/associations/relations/{}",
	  .where = W_QUERY, .kind = K_DELETE, .coll = C_REL },
	{ .name = "associations.key", .method = "GET", .path = "/associations/key/{}", .where = W_QUERY,
	  .kind = K_FN, .fn = fn_assoc_key },
	{ .name = "associations.by_object_key", .method = "GET", .path = "/associations/objectKey/{}",
	  .where = W_QOPT, .kind = K_FN, .fn = fn_assoc_object },
	{ .name = "associations.find", .method = "GET", .path = "/associations", .where = W_QUERY, .kind = K_LIST,
	  .coll = C_ASSOC, .member = "associations", .paging = P_SKIP, .flags = F_TOTAL | F_FLAT, .qreq = "skip,limit" },
	{ .name = "associations.create", .method = "POST", .path = "/associations", .where = W_BODY,
	  .kind = K_CREATE, .coll = C_ASSOC,
	  .required = "locationId,key,firstObjectLabel,firstObjectKey,secondObjectLabel,secondObjectKey" },
	{ .name = "associations.get", .method = "GET", .path = "/associations/{}", .where = W_ITEM, .wcoll = C_ASSOC,
	  .kind = K_GET, .coll = C_ASSOC },
	{ .name = "associations.update", .method = "PUT", .path = "/associations/{}", .where = W_ITEM,
	  .wcoll = C_ASSOC, .kind = K_UPDATE, .coll = C_ASSOC, .required = "firstObjectLabel,secondObjectLabel" },
	{ .name = "associations.delete", .method = "DELETE", .path = "/associations/{}", .where = W_ITEM,
	  .wcoll = C_ASSOC, .kind = K_DELETE, .coll = C_ASSOC,
	  .ack = "{\"deleted\":true,\"id\":\"\",\"message\":\"Deleted successfully\"}" },
	/* blogs */
	{ .name = "blogs.slug_exists", .method = "GET", .path = "/blogs/posts/url-slug-exists", .where = W_QUERY,
	  .kind = K_FN, .fn = fn_url_slug, .qreq = "urlSlug" },
	{ .name = "blogs.authors", .method = "GET", .path = "/blogs/authors", .where = W_QUERY, .kind = K_LIST,
	  .coll = C_AUTHOR, .member = "authors", .paging = P_OFFSET, .qreq = "limit,offset" },
	{ .name = "blogs.categories", .method = "GET", .path = "/blogs/categories", .where = W_QUERY, .kind = K_LIST,
	  .coll = C_CAT, .member = "categories", .paging = P_OFFSET, .qreq = "limit,offset" },
	{ .name = "blogs.posts", .method = "GET", .path = "/blogs/posts/all", .where = W_QUERY, .kind = K_LIST,
	  .coll = C_POST, .member = "blogs", .paging = P_OFFSET, .qreq = "blogId,limit,offset",
	  .filters = "blogId,status" },
	{ .name = "blogs.sites", .method = "GET", .path = "/blogs/site/all", .where = W_QUERY, .kind = K_LIST,
	  .coll = C_SITE, .member = "data", .paging = P_SKIP, .qreq = "skip,limit" },
	{ .name = "blogs.create_post", .method = "POST", .path = "/blogs/posts", .where = W_BODY, .kind = K_CREATE,
	  .coll = C_POST, .member = "data", .status = 200,
	  .required = BLOG_REQUIRED },
	{ .name = "blogs.update_post", .method = "PUT", .path = "/blogs/posts/{}", .where = W_ITEM, .wcoll = C_POST,
	  .kind = K_UPDATE, .coll = C_POST, .member = "updatedBlogPost", .required = BLOG_REQUIRED },
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

/* ---- small helpers ------------------------------------------------------------------ */

/* ms since the epoch from a number, a string of digits, or ISO 8601 UTC
 * (an offset is ignored); -1 when none of those. */
static int64_t ms_of(struct json_object *v)
{
	const char *s;
	struct tm tm;
	int ms = 0;

	if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))
		return json_object_get_int64(v);
	if (!json_object_is_type(v, json_type_string))
		return -1;
	s = json_object_get_string(v);
	if (*s >= '0' && *s <= '9' && !strchr(s, '-'))
		return strtoll(s, NULL, 10);
	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
		   &tm.tm_sec, &ms) < 3)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm) * 1000 + ms;
}

static int64_t query_ms(struct ctx *x, const char *name)
{
	const char *s = fh_query(x->c, name);
	long v;

	return s && fh_parse_long(s, &v) == 0 ? v : -1;
}

static struct json_object *js(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A JSON object from printf-style text: the seed's and the answers' shapes. */
static struct json_object *js(const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	struct json_object *o;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	o = json_tokener_parse(buf);
	if (!o)
		fh_die("fake_ghl_catalog: bad seed JSON %s", buf);
	return o;
}

static const char *mstr(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string)
		? json_object_get_string(v) : NULL;
}

/* ---- the store ------------------------------------------------------------------------- */

static struct item *item_find(int coll, const char *id)
{
	for (size_t i = 0; i < store[coll].n; i++) {
		struct item *it = store[coll].v[i];

		if (!it->gone && strcmp(it->id, id) == 0)
			return it;
	}
	return NULL;
}

/* A new item owning o, with a fresh id (or the given one); never NULL. */
static struct item *item_add(int coll, int loc, const char *parent, int sub, struct json_object *o, const char *id)
{
	const struct collinfo *ci = &colls[coll];
	struct item *it = calloc(1, sizeof(*it));
	size_t slot = loc >= 0 && loc < SEED_LOCS ? (size_t)loc : SEED_LOCS;
	struct json_object *t;

	if (!it)
		fh_die("out of memory");
	if (store[coll].n == store[coll].cap) {
		size_t cap = store[coll].cap ? store[coll].cap * 2 : 64;
		struct item **v = realloc(store[coll].v, cap * sizeof(*v));

		if (!v)
			fh_die("out of memory");
		store[coll].v = v;
		store[coll].cap = cap;
	}
	if (id) {
		snprintf(it->id, sizeof(it->id), "%s", id);
	} else {
		char buf[21];

		/* loc + 1 keeps the company's apart; past SEED_LOCS the sequence is shared */
		fg_make_id(buf, 0x636174616c6f6700ull ^ ((uint64_t)coll << 56), (size_t)(loc + 1), store[coll].seq[slot]++);
		memcpy(it->id, buf, sizeof(buf));
	}
	it->loc = loc;
	it->sub = sub;
	snprintf(it->parent, sizeof(it->parent), "%s", parent ? parent : "");
	it->o = o;
	if (strcmp(ci->idkey, "-") != 0)
		json_object_object_add(o, ci->idkey, json_object_new_string(it->id));
	if (ci->located && loc >= 0)
		json_object_object_add(o, "locationId", json_object_new_string(fg_loc_id((size_t)loc)));
	if (ci->parent_key && parent && *parent)
		json_object_object_add(o, ci->parent_key, json_object_new_string(parent));
	it->t = ci->time_key && json_object_object_get_ex(o, ci->time_key, &t) ? ms_of(t) : 0;
	store[coll].v[store[coll].n++] = it;
	return it;
}

static void item_retime(int coll, struct item *it)
{
	struct json_object *t;

	if (colls[coll].time_key && json_object_object_get_ex(it->o, colls[coll].time_key, &t))
		it->t = ms_of(t);
}

/* ---- routing -------------------------------------------------------------------------- */

/* The path without a trailing slash matched against a pattern; params copied. */
static int match(const char *pat, const char *url, char p[MAXP][128], int *np)
{
	size_t ul = strlen(url);

	while (ul > 1 && url[ul - 1] == '/')
		ul--;
	*np = 0;
	while (*pat && ul) {
		if (pat[0] == '{') {
			size_t n = 0;

			while (n < ul && url[n] != '/')
				n++;
			if (!n || n >= 128 || *np >= MAXP)
				return 0;
			memcpy(p[*np], url, n);
			p[(*np)++][n] = 0;
			url += n;
			ul -= n;
			pat += 2;
			continue;
		}
		if (*pat != *url)
			return 0;
		pat++;
		url++;
		ul--;
	}
	return !*pat && !ul;
}

int fgc_route(const char *url, const char *method)
{
	char p[MAXP][128];
	int np;

	for (size_t r = 0; r < NROUTES; r++)
		if (strcmp(routes[r].method, method) == 0 && match(routes[r].path, url, p, &np))
			return (int)r;
	return -1;
}

const char *fgc_name(int r)
{
	return routes[r].name;
}

static void where_item(struct fgc_where *wh, int loc)
{
	if (loc < 0)
		wh->unknown = 1;
	else
		wh->loc = fg_loc_id((size_t)loc);
}

void fgc_where(int r, struct MHD_Connection *c, const struct fh_req *rq, const char *url, struct fgc_where *wh)
{
	const struct rt *rt = &routes[r];
	char p[MAXP][128];
	int np;
	struct item *it;
	struct json_object *o, *v;

	memset(wh, 0, sizeof(*wh));
	wh->who = rt->who;
	/* the calendars and conversations APIs take an older Version; the
	 * e-mail by id declares none: any is taken */
	if (!strcmp(rt->name, "conversations.email"))
		wh->version = "*";
	else if (!strncmp(rt->path, "/calendars", 10) || !strncmp(rt->path, "/conversations", 14))
		wh->version = "2021-04-15";
	match(rt->path, url, p, &np);
	switch (rt->where) {
	case W_TOKEN:
		wh->unknown = 1;
		break;
	case W_QOPT:
		wh->loc = fh_query(c, LOC);
		wh->unknown = !wh->loc;
		break;
	case W_QUERY:
		wh->loc = fh_query(c, LOC);
		break;
	case W_BODY:
	case W_BODYLOCS:
		o = rq->len ? json_tokener_parse(rq->body) : NULL;
		if (!json_object_is_type(o, json_type_object)) {
			wh->unknown = 1;
		} else if (rt->where == W_BODYLOCS) {
			if (json_object_object_get_ex(o, "locationIds", &v) && json_object_is_type(v, json_type_array) &&
			    json_object_array_length(v) && mstr(o, "companyId"))
				snprintf(wh->buf, sizeof(wh->buf), "%s",
					 json_object_get_string(json_object_array_get_idx(v, 0)));
			wh->loc = wh->buf;
			wh->unknown = !wh->buf[0];
		} else if (mstr(o, LOC)) {
			snprintf(wh->buf, sizeof(wh->buf), "%s", mstr(o, LOC));
			wh->loc = wh->buf;
		}
		json_object_put(o);
		break;
	case W_CONTACT:
		where_item(wh, fg_contact_loc(p[rt->wp]));
		break;
	case W_OPP:
		where_item(wh, fg_opp_loc(p[rt->wp]));
		break;
	case W_ITEM:
		it = item_find(rt->wcoll, p[rt->wp]);
		where_item(wh, it ? it->loc : -1);
		break;
	case W_PATH:
		snprintf(wh->buf, sizeof(wh->buf), "%s", p[rt->wp]);
		wh->loc = wh->buf;
		if (rt->who == FGC_EITHER && fg_loc_find(wh->buf) < 0)
			wh->unknown = 1;
		break;
	}
}

/* ---- generic handlers ------------------------------------------------------------------- */

static int parent_ok(const struct ctx *x, const struct item *it)
{
	const char *want;

	if (!x->rt->parent)
		return 1;
	want = x->p[x->rt->parent - 1];
	if (strcmp(it->parent, want) == 0)
		return 1;
	/* a relation belongs to both its records */
	return x->rt->coll == C_REL && mstr(it->o, "secondRecordId") && strcmp(mstr(it->o, "secondRecordId"), want) == 0;
}

/* An item member equal to the query value (or an array holding it). */
static int member_is(struct json_object *o, const char *k, const char *want)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, k, &v))
		return 0;
	if (json_object_is_type(v, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(v); i++)
			if (strcmp(json_object_get_string(json_object_array_get_idx(v, i)), want) == 0)
				return 1;
		return 0;
	}
	return strcmp(json_object_get_string(v), want) == 0;
}

static int filters_ok(struct ctx *x, const struct item *it)
{
	const char *f = x->rt->filters;

	while (f && *f) {
		const char *comma = strchr(f, ',');
		size_t n = comma ? (size_t)(comma - f) : strlen(f);
		char name[64];
		const char *q;

		snprintf(name, sizeof(name), "%.*s", (int)n, f);
		q = fh_query(x->c, name);
		if (q && *q) {
			/* a user matches an event through assignedUserId */
			const char *key = strcmp(name, "userId") == 0 && x->rt->coll == C_EVENT ? "assignedUserId" : name;

			if (!member_is(it->o, key, q))
				return 0;
		}
		f = comma ? comma + 1 : NULL;
	}
	return 1;
}

static int in_scope(const struct ctx *x, const struct item *it)
{
	return !it->gone && (x->li < 0 || it->loc == x->li) && parent_ok(x, it) &&
	       (!x->rt->sub || it->sub == x->rt->sub);
}

/* A query number in [min, max]; 0 after answering 422. */
static int qnum(struct ctx *x, const char *name, long dflt, long min, long max, long *out)
{
	const char *s = fh_query(x->c, name);
	char msg[128];

	*out = dflt;
	if (!s || !*s)
		return 1;
	if (fh_parse_long(s, out) < 0 || *out < min || *out > max) {
		snprintf(msg, sizeof(msg), "%s must be a number from %ld to %ld", name, min, max);
		fg_error(x->rq, 422, msg);
		return 0;
	}
	return 1;
}

static int by_time_asc(const void *a, const void *b)
{
	const struct item *x = *(struct item *const *)a, *y = *(struct item *const *)b;

	return x->t < y->t ? -1 : x->t > y->t ? 1 : strcmp(x->id, y->id);
}

static int by_time_desc(const void *a, const void *b)
{
	return by_time_asc(b, a);
}

/* The items of a list in order, before paging; NULL after answering. */
static struct item **gather(struct ctx *x, size_t *n)
{
	struct item **v = malloc((store[x->rt->coll].n + 1) * sizeof(*v));
	int64_t from = 0, to = 0;

	*n = 0;
	if (!v) {
		fg_error(x->rq, 500, "Internal server error");
		return NULL;
	}
	if (x->rt->paging == P_WINDOW) {
		from = query_ms(x, "startTime");
		to = query_ms(x, "endTime");
		if (from < 0 || to < 0) {
			free(v);
			fg_error(x->rq, 422, "startTime and endTime must be epoch milliseconds");
			return NULL;
		}
	}
	for (size_t i = 0; i < store[x->rt->coll].n; i++) {
		struct item *it = store[x->rt->coll].v[i];

		if (in_scope(x, it) && filters_ok(x, it) && (x->rt->paging != P_WINDOW || (it->t >= from && it->t <= to)))
			v[(*n)++] = it;
	}
	if (x->rt->paging == P_WINDOW)
		qsort(v, *n, sizeof(*v), by_time_asc);
	else if (x->rt->paging == P_LASTMSG)
		qsort(v, *n, sizeof(*v), by_time_desc);
	else if (x->rt->paging == P_AFTERDATE) {
		const char *s = fh_query(x->c, "sort");

		qsort(v, *n, sizeof(*v), s && strcmp(s, "asc") == 0 ? by_time_asc : by_time_desc);
	}
	return v;
}

/* Where a page starts and how long it is; 0 after answering. */
static int page(struct ctx *x, struct item **v, size_t n, size_t *start, size_t *len)
{
	long a = 0, lim = (long)n;
	const char *s;
	int asc;

	switch (x->rt->paging) {
	case P_SKIP:
		if (!qnum(x, "skip", 0, 0, 1000000, &a) || !qnum(x, "limit", 20, 1, LIMIT_MAX, &lim))
			return 0;
		break;
	case P_OFFSET:
		if (!qnum(x, "offset", 0, 0, 1000000, &a) || !qnum(x, "limit", 10, 1, LIMIT_MAX, &lim))
			return 0;
		break;
	case P_AFTERDATE:
		if (!qnum(x, "limit", 20, 1, LIMIT_MAX, &lim))
			return 0;
		s = fh_query(x->c, "sort");
		asc = s && strcmp(s, "asc") == 0;
		if ((s = fh_query(x->c, "startAfterDate")) && *s) {
			int64_t after = strtoll(s, NULL, 10);

			while ((size_t)a < n && (asc ? v[a]->t <= after : v[a]->t >= after))
				a++;
		}
		break;
	case P_LASTMSG:
		if (!qnum(x, "limit", 20, 1, LIMIT_MAX, &lim))
			return 0;
		if ((s = fh_query(x->c, "lastMessageId")) && *s) {
			while ((size_t)a < n && strcmp(v[a]->id, s) != 0)
				a++;
			a = (size_t)a < n ? a + 1 : (long)n;
		}
		break;
	default:
		break;
	}
	*start = (size_t)a < n ? (size_t)a : n;
	*len = n - *start < (size_t)lim ? n - *start : (size_t)lim;
	return 1;
}

static void h_list(struct ctx *x)
{
	size_t n, start, len;
	struct item **v = gather(x, &n);
	struct json_object *a, *o;

	if (!v)
		return;
	if (!page(x, v, n, &start, &len)) {
		free(v);
		return;
	}
	a = json_object_new_array();
	for (size_t i = start; i < start + len; i++)
		json_object_array_add(a, json_object_get(v[i]->o));
	if (x->rt->paging == P_LASTMSG) {
		/* the spec's flat {lastMessageId, nextPage, messages} */
		o = json_object_new_object();
		if (len)
			json_object_object_add(o, "lastMessageId", json_object_new_string(v[start + len - 1]->id));
		json_object_object_add(o, "nextPage", json_object_new_boolean(start + len < n));
		json_object_object_add(o, "messages", a);
		free(v);
		fg_json(x->rq, 200, o);
		return;
	}
	if (!x->rt->member) {
		free(v);
		fg_json(x->rq, 200, a);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, x->rt->member, a);
	if (x->rt->flags & F_TOTAL)
		json_object_object_add(o, "total", json_object_new_int64((int64_t)n));
	if (x->rt->flags & F_COUNT)
		json_object_object_add(o, "count", json_object_new_int64((int64_t)n));
	if (x->rt->flags & F_HASMORE)
		json_object_object_add(o, "hasMore", json_object_new_boolean(start + len < n));
	/* the spec types these lists as one association: its members lead, the list follows */
	if ((x->rt->flags & F_FLAT) && len) {
		json_object_object_foreach(v[start]->o, fk, fv) {
			if (!json_object_object_get_ex(o, fk, NULL))
				json_object_object_add(o, fk, json_object_get(fv));
		}
	}
	free(v);
	fg_json(x->rq, 200, o);
}

static struct item *target(struct ctx *x)
{
	struct item *it = x->np ? item_find(x->rt->coll, x->p[x->np - 1]) : NULL;
	char msg[96];

	if (it && (x->li < 0 || it->loc == x->li) && parent_ok(x, it))
		return it;
	snprintf(msg, sizeof(msg), "%s: no such id", colls[x->rt->coll].name);
	fg_error(x->rq, 404, msg);
	return NULL;
}

static void answer_item(struct ctx *x, struct item *it, unsigned status)
{
	struct json_object *o;

	if (x->rt->ack && x->rt->kind != K_CREATE) {
		o = json_tokener_parse(x->rt->ack);
		if (json_object_object_get_ex(o, "id", NULL))
			json_object_object_add(o, "id", json_object_new_string(it->id));
	} else if (!x->rt->member) {
		/* a copy: fake_ghl adds a traceId to the bare object answered */
		o = NULL;
		json_object_deep_copy(it->o, &o, NULL);
		/* one conversation has a numeric channel type (GetConversationByIdResponse) */
		if (x->rt->coll == C_CONV)
			json_object_object_add(o, "type", json_object_new_int(1));
	} else {
		o = json_object_new_object();
		if (x->rt->flags & F_SUCCESS)
			json_object_object_add(o, "success", json_object_new_boolean(1));
		json_object_object_add(o, x->rt->member, json_object_get(it->o));
	}
	fg_json(x->rq, status, o);
}

static void merge(struct json_object *dst, struct json_object *src)
{
	json_object_object_foreach(src, k, v) {
		struct json_object *copy = NULL;

		if (json_object_deep_copy(v, &copy, NULL) == 0)
			json_object_object_add(dst, k, copy);
	}
}

/* The location a created item belongs to. */
static int create_loc(struct ctx *x)
{
	struct json_object *v;

	if (x->li >= 0)
		return x->li;
	if (json_object_object_get_ex(x->body, "locationIds", &v) && json_object_array_length(v))
		return fg_loc_find(json_object_get_string(json_object_array_get_idx(v, 0)));
	return mstr(x->body, LOC) ? fg_loc_find(mstr(x->body, LOC)) : -1;
}

/* A relation shows its association's members (the spec answers both with one DTO). */
static int relation_fill(struct ctx *x, struct json_object *o)
{
	static const char *const keys[] = { "key", "firstObjectLabel", "firstObjectKey", "secondObjectLabel",
					    "secondObjectKey", "associationType" };
	const char *aid = mstr(o, "associationId");
	struct item *a = aid ? item_find(C_ASSOC, aid) : NULL;
	struct json_object *v;

	if (!a) {
		if (x)
			fg_error(x->rq, 400, "Association not found");
		return 0;
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_object_object_get_ex(a->o, keys[i], &v)) {
			struct json_object *copy = NULL;

			json_object_deep_copy(v, &copy, NULL);
			json_object_object_add(o, keys[i], copy);
		}
	return 1;
}

static void put_default(struct json_object *o, const char *k, const char *v)
{
	if (!json_object_object_get_ex(o, k, NULL))
		json_object_object_add(o, k, json_object_new_string(v));
}

/* A new event needs a calendar of its location; what the list schema requires
 * and the body left out gets a default (the calendar's group, an hour long). */
static int event_fill(struct ctx *x, struct json_object *o)
{
	const char *cal = mstr(o, "calendarId");
	struct item *c = cal ? item_find(C_CAL, cal) : NULL;
	struct json_object *st;
	char end[32];

	if (!c || c->loc != x->li) {
		fg_error(x->rq, 400, "Calendar not found");
		return 0;
	}
	put_default(o, "groupId", mstr(c->o, "groupId") ? mstr(c->o, "groupId") : "");
	put_default(o, "title", "");
	put_default(o, "contactId", "");
	put_default(o, "assignedUserId", "");
	put_default(o, "appointmentStatus", x->rt->sub == E_BLOCK ? "blocked" : "confirmed");
	if (json_object_object_get_ex(o, "startTime", &st) && ms_of(st) >= 0) {
		fg_iso_time(ms_of(st) + HOUR, end, sizeof(end));
		put_default(o, "endTime", end);
	}
	return 1;
}

static void h_create(struct ctx *x)
{
	const struct collinfo *ci = &colls[x->rt->coll];
	struct json_object *o = json_object_new_object();
	const char *parent = x->rt->parent ? x->p[x->rt->parent - 1] : ci->parent_key ? mstr(x->body, ci->parent_key)
										   : NULL;
	struct item *it;
	char now[32];

	merge(o, x->body);
	json_object_object_del(o, "password");
	fg_iso_time(fh_wall_ms(), now, sizeof(now));
	json_object_object_add(o, "dateAdded", json_object_new_string(now));
	json_object_object_add(o, "dateUpdated", json_object_new_string(now));
	json_object_object_add(o, "updatedAt", json_object_new_string(now));
	if (x->rt->coll == C_EVENT && !json_object_object_get_ex(o, "users", NULL))
		json_object_object_add(o, "users", json_object_new_array());
	if (x->rt->coll == C_EVENT && !event_fill(x, o)) {
		json_object_put(o);
		return;
	}
	if (x->rt->coll == C_REL && !relation_fill(x, o)) {
		json_object_put(o);
		return;
	}
	if (x->rt->coll == C_TASK && !json_object_object_get_ex(o, "completed", NULL))
		json_object_object_add(o, "completed", json_object_new_boolean(0));
	if (x->rt->coll == C_RES && !json_object_object_get_ex(o, "isActive", NULL))
		json_object_object_add(o, "isActive", json_object_new_boolean(1));
	if (x->rt->coll == C_POST && !json_object_object_get_ex(o, "archived", NULL))
		json_object_object_add(o, "archived", json_object_new_boolean(0));
	/* required in the spec's answer; the API makes user-defined ones */
	if (x->rt->coll == C_ASSOC && !json_object_object_get_ex(o, "associationType", NULL))
		json_object_object_add(o, "associationType", json_object_new_string("USER_DEFINED"));
	it = item_add(x->rt->coll, create_loc(x), parent, x->rt->sub, o, NULL);
	answer_item(x, it, x->rt->status ? x->rt->status : 201);
}

static void h_update(struct ctx *x)
{
	struct item *it = target(x);
	char now[32];

	if (!it)
		return;
	json_object_object_del(x->body, "password");
	json_object_object_del(x->body, colls[x->rt->coll].idkey);
	merge(it->o, x->body);
	fg_iso_time(fh_wall_ms(), now, sizeof(now));
	if (json_object_object_get_ex(it->o, "dateUpdated", NULL))
		json_object_object_add(it->o, "dateUpdated", json_object_new_string(now));
	if (json_object_object_get_ex(it->o, "updatedAt", NULL))
		json_object_object_add(it->o, "updatedAt", json_object_new_string(now));
	item_retime(x->rt->coll, it);
	answer_item(x, it, x->rt->status ? x->rt->status : 200);
}

static void h_delete(struct ctx *x)
{
	struct item *it = target(x);

	if (!it)
		return;
	it->gone = 1;
	answer_item(x, it, x->rt->status ? x->rt->status : 200);
}

/* ---- the body and the required members ------------------------------------------------- */

static int has(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) && !json_object_is_type(v, json_type_null) &&
	       !(json_object_is_type(v, json_type_string) && !*json_object_get_string(v));
}

/* 1 when every name of the list is there (query or body); else 422. */
static int required(struct ctx *x, const char *list, int query)
{
	while (list && *list) {
		const char *comma = strchr(list, ',');
		size_t n = comma ? (size_t)(comma - list) : strlen(list);
		char name[64], msg[128];
		const char *q;

		snprintf(name, sizeof(name), "%.*s", (int)n, list);
		if (query ? !(q = fh_query(x->c, name)) || !*q : !has(x->body, name)) {
			snprintf(msg, sizeof(msg), "%s should not be empty", name);
			fg_error(x->rq, 422, msg);
			return 0;
		}
		list = comma ? comma + 1 : NULL;
	}
	return 1;
}

static int parse_body(struct ctx *x)
{
	struct json_object *o;
	int ok;

	if (!x->rq->len) {
		x->body = json_object_new_object();
		return 1;
	}
	ok = fh_json_value(x->rq->body, x->rq->len, &o);
	if (ok <= 0) {
		fg_error(x->rq, 400, "Unexpected token in JSON body");
		return 0;
	}
	/* the notifications are created from an array of them */
	if (!json_object_is_type(o, x->rt->fn == fn_notif_create ? json_type_array : json_type_object)) {
		json_object_put(o);
		fg_error(x->rq, 422, x->rt->fn == fn_notif_create ? "the request body must be an array"
								     : "the request body must be a JSON object");
		return 0;
	}
	x->body = o;
	return 1;
}

void fgc_handle(int r, struct MHD_Connection *c, struct fh_req *rq, const char *url, int li)
{
	struct ctx x = { .c = c, .rq = rq, .rt = &routes[r], .li = li };
	const struct rt *rt = x.rt;

	match(rt->path, url, x.p, &x.np);
	if ((rt->where == W_CONTACT && fg_contact_loc(x.p[rt->wp]) < 0) ||
	    (rt->where == W_OPP && fg_opp_loc(x.p[rt->wp]) < 0)) {
		fg_error(rq, 404, rt->where == W_CONTACT ? "Contact not found" : "Opportunity not found");
		return;
	}
	if (rt->where == W_ITEM && !item_find(rt->wcoll, x.p[rt->wp])) {
		char msg[96];

		snprintf(msg, sizeof(msg), "%s: no such id", colls[rt->wcoll].name);
		fg_error(rq, 404, msg);
		return;
	}
	if (!parse_body(&x))
		return;
	if (required(&x, rt->required, 0) && required(&x, rt->qreq, 1)) {
		switch (rt->kind) {
		case K_LIST: h_list(&x); break;
		case K_GET: {
			struct item *it = target(&x);

			if (it)
				answer_item(&x, it, 200);
			break;
		}
		case K_CREATE: h_create(&x); break;
		case K_UPDATE: h_update(&x); break;
		case K_DELETE: h_delete(&x); break;
		case K_FN: rt->fn(&x); break;
		}
	}
	json_object_put(x.body);
}

/* ---- special handlers ------------------------------------------------------------------- */

static void ack(struct ctx *x, const char *json, unsigned dflt)
{
	fg_json(x->rq, x->rt->status ? x->rt->status : dflt, json_tokener_parse(json));
}

static void fn_contact_create(struct ctx *x) { fg_contact_create(x->rq, x->li); }
static void fn_contact_delete(struct ctx *x) { fg_contact_delete(x->rq, x->p[0]); }
static void fn_contact_list(struct ctx *x) { fg_contact_list(x->c, x->rq, x->li); }
static void fn_contact_dup(struct ctx *x) { fg_contact_duplicate(x->c, x->rq, x->li); }
static void fn_opp(struct ctx *x)
{
	fg_opp(x->c, x->rq, x->rt->method, x->np ? x->p[0] : NULL, strstr(x->rt->path, "/status") ? "status" : NULL,
	       x->li);
}

static struct item *link_find(const char *parent, int sub, const char *id)
{
	for (size_t i = 0; i < store[C_LINK].n; i++) {
		struct item *it = store[C_LINK].v[i];

		if (!it->gone && it->sub == sub && strcmp(it->parent, parent) == 0 && strcmp(it->id, id) == 0)
			return it;
	}
	return NULL;
}

static void link_set(int loc, const char *parent, int sub, const char *id)
{
	if (!link_find(parent, sub, id))
		item_add(C_LINK, loc, parent, sub, json_object_new_object(), id);
}

static void fn_link_add(struct ctx *x)
{
	link_set(x->li, x->p[0], x->rt->sub, x->p[1]);
	ack(x, x->rt->ack, 201);
}

static void fn_link_del(struct ctx *x)
{
	struct item *it = link_find(x->p[0], x->rt->sub, x->p[1]);

	if (!it) {
		fg_error(x->rq, 404, x->rt->sub == L_CAMPAIGN ? "The contact is not in that campaign"
							       : "The contact is not in that workflow");
		return;
	}
	it->gone = 1;
	ack(x, x->rt->ack, 200);
}

static void fn_remove_all(struct ctx *x)
{
	for (size_t i = 0; i < store[C_LINK].n; i++) {
		struct item *it = store[C_LINK].v[i];

		if (it->sub == L_CAMPAIGN && strcmp(it->parent, x->p[0]) == 0)
			it->gone = 1;
	}
	ack(x, x->rt->ack, 200);
}

static struct json_object *links_of(const char *parent, int sub)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < store[C_LINK].n; i++) {
		struct item *it = store[C_LINK].v[i];

		if (!it->gone && it->sub == sub && strcmp(it->parent, parent) == 0)
			json_object_array_add(a, json_object_new_string(it->id));
	}
	return a;
}

/* POST/DELETE .../followers {"followers":[user ids]}. */
static void fn_followers(struct ctx *x)
{
	int del = strcmp(x->rt->method, "DELETE") == 0;
	struct json_object *f, *changed = json_object_new_array(), *o = json_object_new_object();
	const char *all = fh_query(x->c, "isRemoveAllFollowers");

	json_object_object_get_ex(x->body, "followers", &f);
	if (!json_object_is_type(f, json_type_array)) {
		json_object_put(changed);
		json_object_put(o);
		fg_error(x->rq, 422, "followers must be an array");
		return;
	}
	if (del && all && strcmp(all, "true") == 0) {
		for (size_t i = 0; i < store[C_LINK].n; i++) {
			struct item *it = store[C_LINK].v[i];

			if (!it->gone && it->sub == L_FOLLOWER && strcmp(it->parent, x->p[0]) == 0) {
				it->gone = 1;
				json_object_array_add(changed, json_object_new_string(it->id));
			}
		}
	}
	for (size_t i = 0; i < json_object_array_length(f); i++) {
		const char *id = json_object_get_string(json_object_array_get_idx(f, i));
		struct item *it = link_find(x->p[0], L_FOLLOWER, id);

		if (!id || !*id || strlen(id) >= 48 || (del ? !it : it != NULL))
			continue;
		if (del)
			it->gone = 1;
		else
			link_set(x->li, x->p[0], L_FOLLOWER, id);
		json_object_array_add(changed, json_object_new_string(id));
	}
	json_object_object_add(o, "followers", links_of(x->p[0], L_FOLLOWER));
	json_object_object_add(o, del ? "followersRemoved" : "followersAdded", changed);
	fg_json(x->rq, del ? 200 : 201, o);
}

/* GET /contacts/business/{businessId}: the contacts linked to it. */
static void fn_contact_business(struct ctx *x)
{
	struct json_object *a = json_object_new_array(), *o;
	long skip, lim;
	size_t n = 0;

	if (!qnum(x, "skip", 0, 0, 1000000, &skip) || !qnum(x, "limit", 20, 1, LIMIT_MAX, &lim)) {
		json_object_put(a);
		return;
	}
	for (size_t i = 0; i < store[C_LINK].n; i++) {
		struct item *it = store[C_LINK].v[i];
		struct json_object *c;

		if (it->gone || it->sub != L_BUSINESS || strcmp(it->id, x->p[0]) != 0 || it->loc != x->li ||
		    fg_contact_loc(it->parent) < 0)
			continue;
		if ((long)n >= skip && (long)json_object_array_length(a) < lim && (c = fg_contact_json(it->parent)))
			json_object_array_add(a, c);
		n++;
	}
	o = json_object_new_object();
	json_object_object_add(o, "contacts", a);
	json_object_object_add(o, "count", json_object_new_int64((int64_t)n));
	fg_json(x->rq, 200, o);
}

/* POST /contacts/bulk/business {locationId, ids, businessId (null: none)}. */
static void fn_bulk_business(struct ctx *x)
{
	struct json_object *ids, *done = json_object_new_array(), *o;
	const char *biz = mstr(x->body, "businessId");

	json_object_object_get_ex(x->body, "ids", &ids);
	if (!json_object_is_type(ids, json_type_array) || (biz && *biz && !item_find(C_BIZ, biz))) {
		json_object_put(done);
		fg_error(x->rq, biz && *biz ? 400 : 422, biz && *biz ? "Business not found" : "ids must be an array");
		return;
	}
	for (size_t i = 0; i < json_object_array_length(ids); i++) {
		const char *id = json_object_get_string(json_object_array_get_idx(ids, i));

		if (!id || fg_contact_loc(id) != x->li)
			continue;
		for (size_t k = 0; k < store[C_LINK].n; k++) {
			struct item *it = store[C_LINK].v[k];

			if (it->sub == L_BUSINESS && strcmp(it->parent, id) == 0)
				it->gone = 1;
		}
		if (biz && *biz)
			link_set(x->li, id, L_BUSINESS, biz);
		json_object_array_add(done, json_object_new_string(id));
	}
	o = json_object_new_object();
	json_object_object_add(o, "success", json_object_new_boolean(1));
	json_object_object_add(o, "ids", done);
	fg_json(x->rq, 200, o);
}

/* POST /contacts/bulk/tags/update/{add|remove}. */
static void fn_bulk_tags(struct ctx *x)
{
	struct json_object *cs, *tags, *resp, *o;
	int del = strcmp(x->p[0], "remove") == 0, errors = 0;

	json_object_object_get_ex(x->body, "contacts", &cs);
	json_object_object_get_ex(x->body, "tags", &tags);
	if (!del && strcmp(x->p[0], "add") != 0) {
		fg_error(x->rq, 422, "type must be one of the following values: add, remove");
		return;
	}
	if (!json_object_is_type(cs, json_type_array) || !json_object_is_type(tags, json_type_array)) {
		fg_error(x->rq, 422, "contacts and tags must be arrays");
		return;
	}
	resp = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(cs); i++) {
		const char *id = json_object_get_string(json_object_array_get_idx(cs, i));
		int ok = id && fg_contact_loc(id) == x->li && fg_contact_tags(id, tags, del) == 0;

		errors += !ok;
		json_object_array_add(resp, json_object_new_string(ok ? "success" : "Contact not found"));
	}
	o = json_object_new_object();
	json_object_object_add(o, "succeded", json_object_new_boolean(errors == 0));
	json_object_object_add(o, "errorCount", json_object_new_int(errors));
	json_object_object_add(o, "responses", resp);
	fg_json(x->rq, 201, o);
}

/* POST /calendars/{id}/notifications [{..}, ..] -> 200, the ones created. */
static void fn_notif_create(struct ctx *x)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < json_object_array_length(x->body); i++) {
		struct json_object *e = json_object_array_get_idx(x->body, i), *o = json_object_new_object();

		if (!json_object_is_type(e, json_type_object) || !has(e, "notificationType")) {
			json_object_put(o);
			json_object_put(a);
			fg_error(x->rq, 422, "each notification must be an object with notificationType");
			return;
		}
		merge(o, e);
		json_object_object_add(o, "deleted", json_object_new_boolean(0));
		if (!json_object_object_get_ex(o, "isActive", NULL))
			json_object_object_add(o, "isActive", json_object_new_boolean(1));
		json_object_array_add(a, json_object_get(item_add(C_NOTIF, x->li, x->p[0], 0, o, NULL)->o));
	}
	fg_json(x->rq, 200, a);
}

static void fn_slug(struct ctx *x)
{
	const char *slug = mstr(x->body, "slug");
	int taken = 0;

	for (size_t i = 0; i < store[C_GROUP].n && slug; i++) {
		struct item *it = store[C_GROUP].v[i];

		taken |= !it->gone && it->loc == x->li && member_is(it->o, "slug", slug);
	}
	ack(x, taken ? "{\"available\":false}" : "{\"available\":true}", 200);
}

static void fn_free_slots(struct ctx *x)
{
	int64_t from = query_ms(x, "startDate"), to = query_ms(x, "endDate");
	struct json_object *o;

	if (from < 0 || to < 0 || to < from) {
		fg_error(x->rq, 422, "startDate and endDate must be epoch milliseconds, startDate first");
		return;
	}
	if (to - from > 31 * DAY) {
		fg_error(x->rq, 400, "The date range can be at most 31 days");
		return;
	}
	o = json_object_new_object();
	for (int64_t day = from - from % DAY; day <= to; day += DAY) {
		struct json_object *slots = json_object_new_array(), *d;
		char date[32];

		for (int h = 9; h < 17; h++) {
			int64_t s = day + h * HOUR;
			int busy = 0;

			if (s < from || s > to)
				continue;
			for (size_t i = 0; i < store[C_EVENT].n && !busy; i++) {
				struct item *it = store[C_EVENT].v[i];

				busy = !it->gone && it->t >= s && it->t < s + HOUR && member_is(it->o, "calendarId", x->p[0]);
			}
			if (!busy) {
				fg_iso_time(s, date, sizeof(date));
				json_object_array_add(slots, json_object_new_string(date));
			}
		}
		fg_iso_time(day, date, sizeof(date));
		date[10] = 0;
		d = json_object_new_object();
		json_object_object_add(d, "slots", slots);
		json_object_object_add(o, date, d);
	}
	fg_json(x->rq, 200, o);
}

static void fn_msg_status(struct ctx *x)
{
	struct item *it = item_find(C_MSG, x->p[0]);
	struct json_object *o = json_object_new_object();

	json_object_object_add(it->o, "status", json_object_new_string(mstr(x->body, "status") ? mstr(x->body, "status")
											     : "read"));
	json_object_object_add(o, "conversationId", json_object_new_string(it->parent));
	json_object_object_add(o, "messageId", json_object_new_string(it->id));
	json_object_object_add(o, "status", json_object_new_string(mstr(it->o, "status")));
	json_object_object_add(o, "msg", json_object_new_string("Message status updated"));
	fg_json(x->rq, 200, o);
}

static void fn_typing(struct ctx *x)
{
	if (!item_find(C_CONV, mstr(x->body, "conversationId") ? mstr(x->body, "conversationId") : "")) {
		fg_error(x->rq, 404, "Conversation not found");
		return;
	}
	ack(x, "{\"success\":true}", 201);
}

/* The call message of the path's location, or NULL after a 404. */
static struct item *call_message(struct ctx *x, const char *id)
{
	struct item *it = item_find(C_MSG, id);

	if (!it || it->loc != x->li || !member_is(it->o, "messageType", "TYPE_CALL")) {
		fg_error(x->rq, 404, "Recording not found");
		return NULL;
	}
	return it;
}

static void fn_recording(struct ctx *x)
{
	static const char wav[] = "RIFF\x24\0\0\0WAVEfmt \x10\0\0\0\1\0\1\0\x40\x1f\0\0\x80\x3e\0\0\2\0\x10\0data\0\0\0\0";
	char *body = malloc(sizeof(wav) - 1);

	if (!call_message(x, x->p[0])) {
		free(body);
		return;
	}
	if (!body) {
		fg_error(x->rq, 500, "Internal server error");
		return;
	}
	memcpy(body, wav, sizeof(wav) - 1);
	fh_set_body(x->rq, 200, "audio/x-wav", body, sizeof(wav) - 1);
}

static void fn_transcript(struct ctx *x)
{
	static const char *const lines[] = { "Hello, I would like to book a room.", "Sure, for which dates?" };
	struct json_object *a, *o;

	if (!call_message(x, x->p[1]))
		return;
	if (x->rt->sub) {
		char *t = strdup("Agent: Hello, I would like to book a room.\nCaller: Sure, for which dates?\n");

		if (t)
			fh_set_body(x->rq, 200, "text/plain", t, strlen(t));
		else
			fg_error(x->rq, 500, "Internal server error");
		return;
	}
	/* the spec answers one sentence object; the whole list follows in "sentences" */
	a = json_object_new_array();
	for (int i = 0; i < 2; i++)
		json_object_array_add(a, js("{\"mediaChannel\":%d,\"sentenceIndex\":%d,\"startTime\":%d,\"endTime\":%d,"
					    "\"transcript\":\"%s\",\"confidence\":0.9}", i + 1, i, i * 4000,
					    i * 4000 + 3500, lines[i]));
	o = NULL;
	json_object_deep_copy(json_object_array_get_idx(a, 0), &o, NULL);
	json_object_object_add(o, "sentences", a);
	fg_json(x->rq, 200, o);
}

static int company_ok(struct ctx *x, const char *id)
{
	if (id && strcmp(id, fg_company_id()) == 0)
		return 1;
	fg_error(x->rq, 400, "companyId does not match the token's company");
	return 0;
}

/* Whether one of a comma-separated list is that e-mail (any case, blanks around). */
static int email_listed(const char *list, const char *email)
{
	size_t n = strlen(email);

	while (list && *list) {
		const char *comma = strchr(list, ','), *end;

		while (*list == ' ')
			list++;
		end = comma ? comma : list + strlen(list);
		while (end > list && end[-1] == ' ')
			end--;
		if ((size_t)(end - list) == n && strncasecmp(list, email, n) == 0)
			return 1;
		list = comma ? comma + 1 : NULL;
	}
	return 0;
}

/* POST /users/search/filter-by-email {companyId, emails, skip, limit (strings)}. */
static void fn_users_email(struct ctx *x)
{
	struct json_object *emails, *a = json_object_new_array(), *o;
	long skip = 0, lim = 25, n = 0;

	if (!company_ok(x, mstr(x->body, "companyId"))) {
		json_object_put(a);
		return;
	}
	if (mstr(x->body, "skip"))
		skip = strtol(mstr(x->body, "skip"), NULL, 10);
	if (mstr(x->body, "limit"))
		lim = strtol(mstr(x->body, "limit"), NULL, 10);
	/* the spec's emails is one string (comma-separated); an array is taken too */
	json_object_object_get_ex(x->body, "emails", &emails);
	for (size_t i = 0; i < store[C_USER].n; i++) {
		struct item *it = store[C_USER].v[i];
		const char *mine = mstr(it->o, "email");
		int hit = 0;

		if (it->gone || !mine)
			continue;
		if (json_object_is_type(emails, json_type_array))
			for (size_t k = 0; k < json_object_array_length(emails); k++)
				hit |= strcasecmp(mine, json_object_get_string(json_object_array_get_idx(emails, k))) == 0;
		else
			hit = email_listed(json_object_get_string(emails), mine);
		if (!hit)
			continue;
		if (n >= skip && (long)json_object_array_length(a) < lim)
			json_object_array_add(a, json_object_get(it->o));
		n++;
	}
	o = json_object_new_object();
	json_object_object_add(o, "users", a);
	json_object_object_add(o, "count", json_object_new_int64(n));
	fg_json(x->rq, 200, o);
}

static void put(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

/* Names and ids may come from a --seed file: set as strings, never printed into JSON text. */
static struct json_object *location_json(size_t li)
{
	struct json_object *o = js("{\"address\":\"%zu Main Street\",\"city\":\"Springfield\",\"state\":\"IL\","
				   "\"country\":\"US\",\"postalCode\":\"62701\",\"email\":\"front.desk.%zu@example.com\","
				   "\"phone\":\"+1555010%04zu\",\"timezone\":\"UTC\",\"domain\":\"\","
				   "\"website\":\"https://example.com\",\"settings\":{},\"social\":{}}",
				   li + 1, li + 1, li % 10000);

	put(o, "id", fg_loc_id(li));
	put(o, "companyId", fg_company_id());
	put(o, "name", fg_loc_name(li) ? fg_loc_name(li) : "");
	return o;
}

static void fn_loc_search(struct ctx *x)
{
	struct json_object *a = json_object_new_array(), *o;
	long skip, lim, n = 0;
	const char *cid = fh_query(x->c, "companyId");

	if (!qnum(x, "skip", 0, 0, 1000000, &skip) || !qnum(x, "limit", 10, 1, 1000, &lim) ||
	    (cid && !company_ok(x, cid))) {
		json_object_put(a);
		return;
	}
	for (size_t li = 0; li < fg_nloc(); li++, n++)
		if (n >= skip && (long)json_object_array_length(a) < lim)
			json_object_array_add(a, location_json(li));
	for (size_t i = 0; i < store[C_LOC].n; i++, n++)
		if (n >= skip && (long)json_object_array_length(a) < lim)
			json_object_array_add(a, json_object_get(store[C_LOC].v[i]->o));
	o = json_object_new_object();
	json_object_object_add(o, "locations", a);
	fg_json(x->rq, 200, o);
}

static void fn_loc_get(struct ctx *x)
{
	int li = fg_loc_find(x->p[0]);
	struct item *it = li < 0 ? item_find(C_LOC, x->p[0]) : NULL;
	struct json_object *o;

	if (li < 0 && (!it || x->li >= 0)) {
		fg_error(x->rq, 404, "Location not found");
		return;
	}
	o = json_object_new_object();
	if (it)
		json_object_object_add(o, "location", json_object_get(it->o));
	else
		json_object_object_add(o, "location", location_json((size_t)li));
	fg_json(x->rq, 200, o);
}

/* POST /locations/: a sub-account the fake keeps apart (it has no quota or contacts). */
static void fn_loc_create(struct ctx *x)
{
	struct json_object *o = json_object_new_object();
	struct item *it;

	if (!company_ok(x, mstr(x->body, "companyId"))) {
		json_object_put(o);
		return;
	}
	merge(o, x->body);
	it = item_add(C_LOC, -1, NULL, 0, o, NULL);
	answer_item(x, it, 200);
}

static void fn_company(struct ctx *x)
{
	struct json_object *co, *o;

	if (strcmp(x->p[0], fg_company_id()) != 0) {
		fg_error(x->rq, 404, "Company not found");
		return;
	}
	co = js("{\"name\":\"Fake Agency\",\"email\":\"agency@example.com\",\"phone\":\"+15550000000\","
		"\"website\":\"https://example.com\",\"domain\":\"example.com\",\"status\":\"active\",\"plan\":297}");
	put(co, "id", fg_company_id());
	o = json_object_new_object();
	json_object_object_add(o, "company", co);
	fg_json(x->rq, 200, o);
}

static void assoc_first(struct ctx *x, const char *k1, const char *k2, const char *want)
{
	for (size_t i = 0; i < store[C_ASSOC].n; i++) {
		struct item *it = store[C_ASSOC].v[i];

		if (!it->gone && (x->li < 0 || it->loc == x->li) &&
		    (member_is(it->o, k1, want) || (k2 && member_is(it->o, k2, want)))) {
			struct json_object *o = NULL;

			json_object_deep_copy(it->o, &o, NULL);
			fg_json(x->rq, 200, o);
			return;
		}
	}
	fg_error(x->rq, 404, "Association not found");
}

static void fn_assoc_key(struct ctx *x) { assoc_first(x, "key", NULL, x->p[0]); }
static void fn_assoc_object(struct ctx *x) { assoc_first(x, "firstObjectKey", "secondObjectKey", x->p[0]); }

static void fn_url_slug(struct ctx *x)
{
	const char *slug = fh_query(x->c, "urlSlug"), *post = fh_query(x->c, "postId");
	int taken = 0;

	for (size_t i = 0; i < store[C_POST].n; i++) {
		struct item *it = store[C_POST].v[i];

		taken |= !it->gone && it->loc == x->li && member_is(it->o, "urlSlug", slug) &&
			 !(post && strcmp(post, it->id) == 0);
	}
	ack(x, taken ? "{\"exists\":true}" : "{\"exists\":false}", 200);
}

/* ---- the seed ---------------------------------------------------------------------------- */

static const char *nth(int coll, int loc, size_t k)
{
	size_t seen = 0;

	for (size_t i = 0; i < store[coll].n; i++)
		if (store[coll].v[i]->loc == loc && seen++ == k)
			return store[coll].v[i]->id;
	return "";
}

static void seed_people(int li, const char *lid)
{
	for (int k = 0; k < 12; k++) {
		struct json_object *o = js("{\"name\":\"User %d\",\"firstName\":\"User\",\"lastName\":\"%d\","
					   "\"email\":\"user.%d.%d@example.com\",\"phone\":\"+1555020%04d\",\"extension\":\"\","
					   "\"permissions\":{\"contactsEnabled\":true},"
					   "\"roles\":{\"type\":\"account\",\"role\":\"%s\",\"locationIds\":[]}}",
					   k, k, k, li, k, k ? "user" : "admin"), *roles, *ids;

		json_object_object_get_ex(o, "roles", &roles);
		json_object_object_get_ex(roles, "locationIds", &ids);
		json_object_array_add(ids, json_object_new_string(lid));
		item_add(C_USER, li, NULL, 0, o, NULL);
	}
	for (int k = 0; k < 12; k++)
		item_add(C_BIZ, li, NULL, 0,
			 js("{\"name\":\"Business %d\",\"phone\":\"+1555030%04d\",\"email\":\"biz.%d@example.com\","
			    "\"website\":\"https://biz%d.example.com\",\"address\":\"%d Market St\",\"city\":\"Springfield\","
			    "\"description\":\"Seeded business %d\"}", k, k, k, k, k + 1, k), NULL);
	for (int k = 0; k < 3; k++) {
		item_add(C_CAMP, li, NULL, 0, js("{\"name\":\"Campaign %d\",\"status\":\"%s\"}", k, k ? "draft" : "published"),
			 NULL);
		item_add(C_WF, li, NULL, 0,
			 js("{\"name\":\"Workflow %d\",\"status\":\"published\",\"version\":%d,"
			    "\"createdAt\":\"2024-01-0%dT00:00:00.000Z\",\"updatedAt\":\"2024-02-0%dT00:00:00.000Z\"}",
			    k, k + 1, k + 1, k + 1), NULL);
	}
}

static void seed_contact_data(int li)
{
	size_t nc = fg_ncontacts((size_t)li);
	const char *c0 = nc ? fg_contact_id((size_t)li, 0) : NULL, *u0 = nth(C_USER, li, 0);
	char t[32];

	if (!c0)
		return;
	for (int k = 0; k < 28; k++) {
		const char *cid = k < 25 ? c0 : nc > 1 ? fg_contact_id((size_t)li, 1) : NULL;

		if (!cid)
			break;
		fg_iso_time(T0 + k * DAY, t, sizeof(t));
		item_add(C_TASK, li, cid, 0,
			 js("{\"title\":\"Task %d\",\"body\":\"Seeded task %d\",\"assignedTo\":\"%s\",\"dueDate\":\"%s\","
			    "\"completed\":%s}", k, k, u0, t, k % 5 == 4 ? "true" : "false"), NULL);
	}
	for (int k = 0; k < 12; k++) {
		fg_iso_time(T0 + k * HOUR, t, sizeof(t));
		item_add(C_NOTE, li, c0, 0, js("{\"body\":\"Note %d\",\"userId\":\"%s\",\"dateAdded\":\"%s\"}", k, u0, t),
			 NULL);
	}
	link_set(li, c0, L_CAMPAIGN, nth(C_CAMP, li, 0));
	link_set(li, c0, L_FOLLOWER, u0);
	link_set(li, c0, L_BUSINESS, nth(C_BIZ, li, 0));
	if (nc > 1)
		link_set(li, fg_contact_id((size_t)li, 1), L_BUSINESS, nth(C_BIZ, li, 0));
}

static void seed_event(int li, int sub, const char *cal, const char *group, const char *cid, const char *u0,
		       int64_t start, int k)
{
	char s[32], e[32];

	fg_iso_time(start, s, sizeof(s));
	fg_iso_time(start + HOUR, e, sizeof(e));
	item_add(C_EVENT, li, cid, sub,
		 js("{\"contactId\":\"%s\",\"title\":\"%s %d\",\"calendarId\":\"%s\",\"groupId\":\"%s\",\"assignedUserId\":\"%s\","
		    "\"appointmentStatus\":\"%s\",\"address\":\"Room %d\",\"startTime\":\"%s\",\"endTime\":\"%s\","
		    "\"isRecurring\":false,\"users\":[\"%s\"],\"dateAdded\":\"%s\",\"dateUpdated\":\"%s\"}",
		    cid, sub == E_APPT ? "Appointment" : "Blocked", k, cal,
		    group, u0, sub == E_APPT ? "confirmed" : "blocked", k + 1, s, e, u0, s, s), NULL);
}

static void seed_calendars(int li)
{
	size_t nc = fg_ncontacts((size_t)li);
	const char *u0 = nth(C_USER, li, 0), *cal, *ev;
	char t[32];

	for (int k = 0; k < 2; k++)
		item_add(C_GROUP, li, NULL, 0,
			 js("{\"name\":\"Group %d\",\"description\":\"Seeded group %d\",\"slug\":\"group-%d\","
			    "\"isActive\":true}", k, k, k), NULL);
	for (int k = 0; k < 3; k++)
		item_add(C_CAL, li, NULL, 0,
			 js("{\"name\":\"Calendar %d\",\"description\":\"Seeded calendar %d\",\"groupId\":\"%s\","
			    "\"isActive\":true,\"eventType\":\"RoundRobin_OptimizeForAvailability\",\"slotDuration\":60,"
			    "\"teamMembers\":[{\"userId\":\"%s\"}],\"notifications\":[]}",
			    k, k, nth(C_GROUP, li, k < 2 ? 0 : 1), u0), NULL);
	cal = nth(C_CAL, li, 0);
	for (int k = 0; k < 30; k++) {
		const char *cid = nc ? fg_contact_id((size_t)li, (size_t)k % nc) : NULL;

		seed_event(li, E_APPT, cal, nth(C_GROUP, li, 0), cid ? cid : "", u0, T0 + k * DAY + 10 * HOUR, k);
	}
	for (int k = 0; k < 5; k++) {
		seed_event(li, E_APPT, nth(C_CAL, li, 1), nth(C_GROUP, li, 0), "", u0, T0 + k * DAY + 12 * HOUR, 30 + k);
		seed_event(li, E_BLOCK, cal, nth(C_GROUP, li, 0), "", u0, T0 + k * DAY + 14 * HOUR, k);
	}
	ev = nth(C_EVENT, li, 0);
	for (int k = 0; k < 12; k++) {
		fg_iso_time(T0 + k * HOUR, t, sizeof(t));
		item_add(C_APNOTE, li, ev, 0,
			 js("{\"body\":\"Appointment note %d\",\"userId\":\"%s\",\"dateAdded\":\"%s\","
			    "\"createdBy\":{\"id\":\"%s\",\"name\":\"User 0\"}}", k, u0, t, u0), NULL);
		item_add(C_NOTIF, li, cal, 0,
			 js("{\"receiverType\":\"contact\",\"channel\":\"email\",\"notificationType\":\"%s\","
			    "\"isActive\":true,\"deleted\":false,\"subject\":\"Notice %d\",\"body\":\"Notice %d\","
			    "\"additionalEmailIds\":[],\"selectedUsers\":[]}", k % 2 ? "reminder" : "booked", k, k), NULL);
	}
	for (int k = 0; k < 15; k++)
		item_add(C_RES, li, k < 12 ? "equipments" : "rooms", 0,
			 js("{\"name\":\"%s %d\",\"description\":\"Seeded\",\"isActive\":true,\"quantity\":%d,"
			    "\"outOfService\":0,\"capacity\":%d,\"calendarIds\":[\"%s\"]}", k < 12 ? "Equipment" : "Room",
			    k, k + 1, 2, cal), NULL);
}

static void seed_conversations(int li)
{
	size_t nc = fg_ncontacts((size_t)li);
	const char *conv;
	char t[32];

	for (int k = 0; k < 30; k++) {
		const char *cid = nc ? fg_contact_id((size_t)li, (size_t)k % nc) : "";

		item_add(C_CONV, li, NULL, 0,
			 js("{\"contactId\":\"%s\",\"type\":\"TYPE_PHONE\",\"unreadCount\":%d,\"fullName\":\"Contact %d\","
			    "\"lastMessageBody\":\"Message %d\",\"lastMessageType\":\"TYPE_SMS\",\"lastMessageDate\":%lld,"
			    "\"status\":\"open\",\"inbox\":true,\"starred\":false,\"deleted\":false,\"contactName\":\"Contact %d\","
			    "\"email\":\"contact.%d@example.com\",\"phone\":\"+1555000%04d\"}",
			    cid ? cid : "", k % 3, k + 1, k, (long long)(T0 + k * HOUR), k + 1, k + 1, k + 1), NULL);
	}
	conv = nth(C_CONV, li, 0);
	for (int k = 0; k < 45; k++) {
		const char *type = k == 0 ? "TYPE_CALL" : k % 5 == 0 ? "TYPE_EMAIL" : "TYPE_SMS";

		fg_iso_time(T0 + k * 60000, t, sizeof(t));
		item_add(C_MSG, li, conv, 0,
			 js("{\"type\":%d,\"messageType\":\"%s\",\"contactId\":\"%s\",\"dateAdded\":\"%s\","
			    "\"body\":\"Message %d\",\"subject\":\"Subject %d\",\"direction\":\"%s\",\"status\":\"delivered\","
			    "\"contentType\":\"text/plain\",\"attachments\":[],\"threadId\":\"thread%d\","
			    "\"from\":\"front.desk@example.com\","
			    "\"to\":[\"guest@example.com\"]}", k == 0 ? 1 : k % 5 == 0 ? 3 : 2, type,
			    nc ? fg_contact_id((size_t)li, 0) : "", t, k, k, k % 2 ? "outbound" : "inbound", k), NULL);
	}
}

static void seed_fields_and_associations(int li)
{
	static const char *const f[5][4] = {
		{ "Guest room", "contact.guest_room", "TEXT", "contact" },
		{ "Check-in date", "contact.check_in_date", "DATE", "contact" },
		{ "Nights", "contact.nights", "NUMERICAL", "contact" },
		{ "Booking source", "contact.booking_source", "SINGLE_OPTIONS", "contact" },
		{ "Note", "opportunity.note", "LARGE_TEXT", "opportunity" },
	};
	size_t nc = fg_ncontacts((size_t)li);
	char record[64];

	for (int k = 0; k < 5; k++)
		item_add(C_FIELD, li, NULL, 0,
			 js("{\"name\":\"%s\",\"fieldKey\":\"%s\",\"dataType\":\"%s\",\"model\":\"%s\",\"position\":%d,"
			    "\"placeholder\":\"\",\"picklistOptions\":%s}", f[k][0], f[k][1], f[k][2], f[k][3], k * 50,
			    k == 3 ? "[\"Direct\",\"Booking.com\"]" : "[]"), NULL);
	for (int k = 0; k < 12; k++)
		item_add(C_ASSOC, li, NULL, 0,
			 js("{\"key\":\"contact_business_%d\",\"firstObjectLabel\":\"Contact\",\"firstObjectKey\":\"contact\","
			    "\"secondObjectLabel\":\"Business %d\",\"secondObjectKey\":\"%s\",\"associationType\":\"USER_DEFINED\"}",
			    k, k, k ? "custom_objects.rooms" : "business"), NULL);
	snprintf(record, sizeof(record), "%s%.40s", nc ? "" : "record",
		 nc ? fg_contact_id((size_t)li, 0) : fg_loc_id((size_t)li));
	for (int k = 0; k < 12; k++) {
		struct json_object *o = js("{\"associationId\":\"%s\",\"secondRecordId\":\"%s\"}", nth(C_ASSOC, li, 0),
					   nth(C_BIZ, li, (size_t)k));

		relation_fill(NULL, o);
		item_add(C_REL, li, record, 0, o, NULL);
	}
}

static void seed_blogs(int li)
{
	const char *site;
	char t[32];

	for (int k = 0; k < 12; k++) {
		fg_iso_time(T0 + k * DAY, t, sizeof(t));
		item_add(C_SITE, li, NULL, 0, js("{\"name\":\"Blog %d\"}", k), NULL);
		item_add(C_AUTHOR, li, NULL, 0,
			 js("{\"name\":\"Author %d\",\"updatedAt\":\"%s\",\"canonicalLink\":\"https://example.com/a/%d\"}",
			    k, t, k), NULL);
		item_add(C_CAT, li, NULL, 0,
			 js("{\"label\":\"Category %d\",\"name\":\"Category %d\",\"urlSlug\":\"category-%d\",\"updatedAt\":\"%s\","
			    "\"canonicalLink\":\"https://example.com/c/%d\"}", k, k, k, t, k), NULL);
	}
	site = nth(C_SITE, li, 0);
	for (int k = 0; k < 25; k++) {
		fg_iso_time(T0 + k * DAY, t, sizeof(t));
		item_add(C_POST, li, site, 0,
			 js("{\"title\":\"Post %d\",\"description\":\"Seeded post %d\",\"imageUrl\":\"https://example.com/%d.png\","
			    "\"status\":\"PUBLISHED\",\"imageAltText\":\"Post %d\",\"urlSlug\":\"post-%d\","
			    "\"categories\":[],\"tags\":[],\"archived\":false,"
			    "\"author\":\"%s\",\"publishedAt\":\"%s\",\"updatedAt\":\"%s\"}", k, k, k, k, k,
			    nth(C_AUTHOR, li, 0), t, t), NULL);
	}
}

void fgc_seed(void)
{
	size_t n = fg_nloc() < SEED_LOCS ? fg_nloc() : SEED_LOCS;

	for (int k = 0; k < 3; k++)
		item_add(C_SNAP, -1, NULL, 0, js("{\"name\":\"Snapshot %d\",\"type\":\"%s\"}", k, k ? "imported" : "own"),
			 NULL);
	for (size_t i = 0; i < n; i++) {
		int li = (int)i;

		seed_people(li, fg_loc_id(i));
		seed_contact_data(li);
		seed_calendars(li);
		seed_conversations(li);
		seed_fields_and_associations(li);
		seed_blogs(li);
	}
}

void fgc_free(void)
{
	for (int c = 0; c < NCOLL; c++) {
		for (size_t i = 0; i < store[c].n; i++) {
			json_object_put(store[c].v[i]->o);
			free(store[c].v[i]);
		}
		free(store[c].v);
		memset(&store[c], 0, sizeof(store[c]));
	}
}

/* {"companyId", "snapshots":[..], "locations":[{"id", "contacts":[..], "<collection>":[ids], "parents":
 * {"<collection>":[parent of each]}, "eventsWindow":{startTime,endTime}}]}: every live item, creation order. */
struct json_object *fgc_seed_json(void)
{
	struct json_object *o = json_object_new_object(), *locs = json_object_new_array(), *snaps = json_object_new_array();
	size_t n = fg_nloc() < SEED_LOCS ? fg_nloc() : SEED_LOCS;

	json_object_object_add(o, "companyId", json_object_new_string(fg_company_id()));
	for (size_t i = 0; i < store[C_SNAP].n; i++)
		if (!store[C_SNAP].v[i]->gone)
			json_object_array_add(snaps, json_object_new_string(store[C_SNAP].v[i]->id));
	json_object_object_add(o, "snapshots", snaps);
	for (size_t li = 0; li < n; li++) {
		struct json_object *l = json_object_new_object(), *cs = json_object_new_array(),
				   *parents = json_object_new_object(), *blocks = json_object_new_array();

		json_object_object_add(l, "id", json_object_new_string(fg_loc_id(li)));
		for (size_t k = 0; k < fg_ncontacts(li); k++)
			if (fg_contact_id(li, k))
				json_object_array_add(cs, json_object_new_string(fg_contact_id(li, k)));
		json_object_object_add(l, "contacts", cs);
		for (int c = 0; c < NCOLL; c++) {
			struct json_object *ids = json_object_new_array(), *ps = json_object_new_array();

			if (c == C_LINK || c == C_SNAP || c == C_LOC) {
				json_object_put(ids);
				json_object_put(ps);
				continue;
			}
			for (size_t i = 0; i < store[c].n; i++) {
				const struct item *it = store[c].v[i];

				if (it->gone || it->loc != (int)li)
					continue;
				if (c == C_EVENT && it->sub == E_BLOCK) {
					json_object_array_add(blocks, json_object_new_string(it->id));
					continue;
				}
				json_object_array_add(ids, json_object_new_string(it->id));
				json_object_array_add(ps, json_object_new_string(it->parent));
			}
			json_object_object_add(l, colls[c].name, ids);
			json_object_object_add(parents, colls[c].name, ps);
		}
		json_object_object_add(l, "blockSlots", blocks);
		json_object_object_add(l, "parents", parents);
		json_object_object_add(l, "eventsWindow",
				       js("{\"startTime\":%lld,\"endTime\":%lld}", (long long)T0, (long long)(T0 + 31 * DAY)));
		json_object_array_add(locs, l);
	}
	json_object_object_add(o, "locations", locs);
	return o;
}
