/* fake_ghl: a stateful, seeded stand-in for the GoHighLevel API (the parts
 * hlbridge's GHL connectors use), for the tests, the conformance run, the
 * benchmark and the README demo. Shapes follow the v2 OpenAPI specs
 * (apps/oauth.json, apps/social-media-posting.json, apps/contacts.json,
 * apps/opportunities.json, common-schemas.json); the contacts and
 * opportunities part also follows the contract shared with the ghl
 * module's author (see "Where the fake departs" below). The server
 * scaffolding (threads, latency, faults, the log) is tests/fake_http.[ch].
 *
 * Start-up: listens on 127.0.0.1 (port 0, or --port N), prints PORT=<n> as
 * the first line of stdout and flushes. SIGTERM/SIGINT (or --max-seconds N)
 * print one summary line to stderr and exit 0; the line starts "requests="
 * and is key=value pairs: requests 2xx 400 401 403 404 422 429 5xx resets
 * peak_concurrent refreshes rotated_rejected token location_token
 * installed_locations tags_list tags_details accounts statistics
 * contacts_upsert contacts_update contacts_tags contacts_search
 * opportunities_upsert contacts_get opportunities_search pipelines (the
 * endpoint counters count every request routed there, failed ones too).
 *
 * Options (defaults in brackets):
 *   --port N                 listen port [0: the kernel's choice]
 *   --locations N            seeded locations, 1 to 10000 [3]; ids are "loc" + 17
 *                            zero-padded digits from loc00000000000000001; names
 *                            "Fake Location N"; 2-3 accounts each, on platforms from
 *                            facebook, instagram, linkedin, google (by index)
 *   --tags N                 tags per location, at most 10000 [5]: "Tag 1".."Tag N",
 *                            _id 24 hex digits, listed in creation order
 *   --contacts N             contacts per location, at most 100000, 1000000 in all [0]:
 *                            contact n (1..N) is firstName "Contact", lastName "n", name
 *                            "Contact n", email "contact.n@example.com", phone "+1555" and n
 *                            in 7 digits ("+15550000001"), no tags; dateAdded = dateUpdated =
 *                            2024-01-01T00:00:00Z + 60 s x location index (0-based) + n s
 *   --seed FILE              JSON replacing the generated locations: {"company_id":..,
 *                            "locations":[{"id":..,"name":..,"address":..,"tags":["name",..],
 *                            "platforms":["facebook",..],"contacts":[{"firstName":..,
 *                            "lastName":..,"email":..,"phone":..,"tags":[..],..}]}]} (no
 *                            "tags": --tags N generated; no "contacts": --contacts N);
 *                            seeded contact k (0-based) of location i has dateAdded =
 *                            dateUpdated = 2024-01-01T00:00:00Z + 60 s x i + (k + 1) s
 *   --company-id ID          the agency (company) [fakecompany000000001]
 *   --oauth-location ID      the location OAuth Location tokens are bound to [the first]
 *   --client-id ID           [fakeapp0001-hlbtest]   --client-secret S  [fake-secret]
 *   --app-id ID              appId /oauth/installedLocations wants [fakeapp0001]
 *   --token-ttl SECONDS      access token lifetime, expires_in [86399]
 *   --pit TOKEN[@LOCATION]   a Private Integration Token for every location, or for that
 *                            one (repeatable, at most 64; never expires)
 *   --agency-pit TOKEN       a token of the company (an agency token, as a Company OAuth
 *                            access token is), for the agency-only routes; never expires
 *   --rate N/MS              quota per resource (each location; the company for agency
 *                            calls), sliding window [100/10000]
 *   --daily N                daily quota per resource (UTC day) [200000]
 *   --latency-ms N           every API answer is delayed N ms; connections are suspended,
 *                            not threads, so 1000 in flight take ~N ms in all
 *   --log FILE               append one JSON line per API request (as /_control/log)
 *   --max-seconds N          safety exit after N seconds [0: never]
 *
 * API (Version: 2021-07-28 required everywhere but /oauth/token):
 *   POST /oauth/token        form (or a JSON object): client_id, client_secret, grant_type
 *        (authorization_code|refresh_token), code, refresh_token, user_type (Company|Location,
 *        default Location), redirect_uri (ignored). Codes: single-use ones from issue_code
 *        (their user type and location come from issue_code), or any "code-<anything>"
 *        (user_type from the form; Location -> --oauth-location). Refresh tokens rotate on
 *        every use; a used or unknown one -> 400 {"error":"invalid_grant",...}. Wrong
 *        client -> 401 {"error":"invalid_client",...}. client_credentials -> 400
 *        unsupported_grant_type. Company answers list approvedLocations (all), Location
 *        answers locationId. Not counted against any quota.
 *   POST /oauth/locationToken       agency bearer; form companyId, locationId -> 200, no
 *        refresh token; counted against the company's quota
 *   GET  /oauth/installedLocations  agency bearer; companyId and appId required (wrong
 *        appId -> 422); skip [0], limit [20, 1..100], query (name substring),
 *        isInstalled (false -> none: every location has the app), locationId
 *   GET  /social-media-posting/{loc}/tags   searchText (case-insensitive substring),
 *        skip [0], limit [10, 1..100; beyond -> 422]; results.count = all matches
 *   POST /social-media-posting/{loc}/tags/details   {"tagIds":[..]} (<= 1000) -> 201,
 *        the known ids in the asked order (unknown and deleted ones left out)
 *   GET  /social-media-posting/{loc}/accounts
 *   POST /social-media-posting/statistics?locationId=L   {"profileIds":[..] (1..100;
 *        more -> 400), "platforms":[..]} -> 201, the last 7 days ending today (UTC), only
 *        the platforms of the given profileIds of L (and in "platforms")
 *
 * Contacts (scopes contacts.*; a contact belongs to one location):
 *   POST /contacts/upsert    UpsertContactDto: locationId required; firstName, lastName,
 *        name, email, phone, companyName, source, address1, city, state, postalCode,
 *        country, website, timezone, dateOfBirth, assignedTo, gender (strings or null;
 *        null or "" clears), dnd, tags, customFields ([{id or key, field_value or
 *        value}], merged by id, shown as [{id, value}] with string values), dndSettings,
 *        inboundDndSettings, createNewIfDuplicateAllowed (checked, not kept: the
 *        location allows no duplicates). Finds the location's oldest contact with that
 *        email (trimmed, any case), else the oldest with exactly that phone, else
 *        creates one. GHL's quirk: when the email finds contact A and the phone belongs
 *        to another contact B, A is updated and the phone is left out (A keeps its
 *        phone, B is untouched). "tags" REPLACE all the contact's tags. Neither email
 *        nor phone -> 422. -> 200 {"new":bool,"contact":{..},"traceId"}.
 *   GET  /contacts/{id}      -> 200 {"contact":{..}}
 *   PUT  /contacts/{id}      UpdateContactDto (as the upsert without locationId,
 *        companyName, gender, createNewIfDuplicateAllowed); "tags" replace all tags ->
 *        200 {"succeded":true,"contact":{..}} (GHL's spelling)
 *   POST /contacts/{id}/tags   {"tags":[..]} -> 201 {"tags":[every tag after]}; tags are
 *        trimmed and lower-cased (as GHL does), kept in insertion order, a present
 *        one is not added twice; at most 1000 a contact (-> 422)
 *   DELETE /contacts/{id}/tags {"tags":[..]} -> 200 {"tags":[the remaining ones]}
 *   POST /contacts/search    {"locationId" (required), "pageLimit" (required, 1..500),
 *        "page" (1-based, default 1) or "searchAfter" ([ms, id] as each returned
 *        contact's "searchAfter" member has it; both -> 422), "query" (<= 75 characters:
 *        a substring of a name, the email, the phone or companyName, any case),
 *        "filters" ([{field, operator, value}] and {group: AND|OR, filters: [..]},
 *        4 levels; text fields id, email, phone, firstName, lastName,
 *        firstNameLowerCase, lastNameLowerCase, fullNameLowerCase, companyName, source,
 *        city, state, country, postalCode, assignedTo with eq, not_eq, contains,
 *        not_contains, exists, not_exists (any case); tags with eq, not_eq, exists,
 *        not_exists; dnd with eq; dateAdded and dateUpdated with range {gt, gte, lt,
 *        lte: ms or ISO 8601} and exists; others -> 422), "sort" ([{field: dateUpdated
 *        | dateAdded, direction: asc | desc}], one entry)} -> 200 {"contacts":[..],
 *        "total": all matches}. Order: dateUpdated (or the sort field) ascending unless
 *        desc, then id (in the same direction). page x pageLimit > 10000 -> 422 (GHL's
 *        documented window: beyond it only searchAfter pages). Unknown members ignored.
 *   A contact: id (20 characters of [0-9A-Za-z]), locationId, the string fields that
 *   are set, firstNameLowerCase, lastNameLowerCase, fullNameLowerCase, emailLowerCase,
 *   type "lead", dnd, tags, customFields, dateAdded, dateUpdated (ISO 8601 UTC with
 *   ms). name is firstName + " " + lastName unless a write gives it. Every change
 *   (a field, a tag, a custom field) sets dateUpdated to now; a write that changes
 *   nothing (the same values, the same tags in the same order, an email spelt in
 *   another case) leaves it as it was. Unknown members of an upsert or update body
 *   -> 422 "property X should not exist" (the API's whitelist validation); an unknown
 *   contact id -> 404 {"statusCode":404,"message":"Contact not found",..}.
 *
 * Opportunities and pipelines (scopes opportunities.*):
 *   Every location has one pipeline, {"id": "pipeline" + S, "name": "Bookings",
 *   "stages": [{"id": "stage" + k + S, "name", "position": k, ..}]} with k = 0 Waiting,
 *   1 Confirmed, 2 Cancelled, 3 Checked out, where S is the location id's last 12
 *   characters, '0'-padded on the left when shorter: for loc00000000000000001 the
 *   pipeline is pipeline000000000001 and stage 0 stage0000000000001.
 *   GET  /opportunities/pipelines?locationId=L -> 200 {"pipelines":[that one]}
 *   POST /opportunities/upsert   {pipelineId, locationId, contactId, name, status (open
 *        | won | lost | abandoned), pipelineStageId, monetaryValue, assignedTo,
 *        lostReasonId, id, followers ([] of strings), isRemoveAllFollowers (boolean),
 *        followersActionType (add | remove)}: the one opportunity of (contactId,
 *        pipelineId) is updated, else created (name defaults to the contact's name,
 *        status to open, the stage to 0); or the one whose "id" is given. Required ->
 *        422: pipelineId, locationId, followers, isRemoveAllFollowers and
 *        followersActionType (the spec's required list; the three are checked, no
 *        followers are kept) and contactId unless id is given. An unknown pipeline,
 *        stage, contact (of the location) or opportunity -> 400 {"statusCode":400,
 *        "message":..}. -> 200 {"opportunity":{..},"new":bool}. updatedAt moves only
 *        on a change, lastStatusChangeAt / lastStageChangeAt when those change.
 *   GET  /opportunities/search?location_id=L   contact_id, pipeline_id,
 *        pipeline_stage_id, status (open|won|lost|abandoned|all), id, q (a substring of
 *        its name or of its contact's name, email, phone or company) filter; oldest first
 *        (createdAt, then id); startAfter (ms) + startAfterId skip to after that one,
 *        then page [1] and limit [20, 1..100] page -> 200 {"opportunities":[..],
 *        "meta":{"total" (all matches),"currentPage","prevPage" (page > 1),"startAfter",
 *        "startAfterId" (of the last one returned),"nextPage","nextPageUrl" (only when
 *        more follow; the URL pages by startAfter)}}
 *   An opportunity: id (20 characters of [0-9A-Za-z]), name, monetaryValue,
 *   pipelineId, pipelineStageId, assignedTo, status, source, lastStatusChangeAt,
 *   lastStageChangeAt, createdAt, updatedAt, contactId, locationId, contact {id, name,
 *   companyName, email, phone, tags}, lostReasonId, followers [], customFields [].
 *
 * Ids: contact k (0-based, creation order in its location, seeded ones first) of
 * location i and opportunity k of location i get 20 characters of [0-9A-Za-z]: with
 * x = mix64((i << 32 | k) ^ K) (K = 0x636f6e7461637473 for contacts,
 * 0x6f70706f7274756e for opportunities; mix64 is the splitmix64 finaliser), the last
 * 11 are x in base 62 (digits, A-Z, a-z) and the first 9 mix64(x ^ K) in base 62, so
 * a run gives the same ids for the same sequence of creations.
 *
 * The rest of the operation catalog (tasks, notes, calendars, events, users, businesses,
 * conversations, locations, associations, blogs, ...; POST /contacts/, DELETE /contacts/{id},
 * GET /contacts/, duplicate search, GET/PUT/DELETE /opportunities/{id} and more) is in
 * tests/fake_ghl_catalog.c, whose header lists its seed and paging; its requests pass the
 * same auth, Version, quota, fault and log steps (counted as "catalog" in /_control/stats,
 * not in the summary line). A deleted
 * contact or opportunity is found by nothing (404), search and upsert included.
 *
 * Where the fake departs from the contract (the spec wins, or cannot be followed):
 *   - POST /contacts/upsert and POST /opportunities/upsert answer 200 for a new record
 *     too (the contract said 201): the spec declares only 200 for both; "new" tells.
 *   - UpsertOpportunityDto in the spec has no contactId, which the contract's
 *     matching per contact needs: the fake requires it as well as the
 *     spec's required followers, isRemoveAllFollowers and followersActionType (so a
 *     request the fake takes also passes Prism).
 *   - Pipeline stages are objects {id, name, ..} as the contract has them: the spec
 *     types the items of "stages" as arrays, a shape that cannot carry stage ids;
 *     Prism, validating answers, flags GET /opportunities/pipelines for it.
 *   - An unknown contact id is a 404 (contract); the spec lists no 404 for those
 *     paths, so Prism warns ("Unable to match the returned status code").
 *   - status "all" (in the spec's enum) is refused by the upsert: it is a search filter.
 *   - The spec gives POST /contacts/search no body (SearchBodyV2DTO is empty): pageLimit
 *     required and at most 500, the 10000-record page window, query <= 75 characters and
 *     the filter shapes follow GHL's own search documentation.
 *   - Fields the schemas do not declare nullable are left out rather than null (e.g.
 *     meta.nextPage on the last page).
 *
 * Auth: "Authorization: Bearer T". Missing/unknown/expired -> 401 "Invalid token: access
 * token is invalid"; a location token (OAuth Location or minted) or a PIT@LOC used on
 * another location -> 403 "The token does not have access to this location"; an agency
 * token on a location path, or a location token/PIT on an agency path -> 401 "This
 * authClass type is not allowed ..."; an unknown location with an all-location PIT -> 404.
 * Order of checks: route (404), body cap (413), auth (401/403), Version (422), quota
 * (429), injected fault, the request itself (400 for a body that is not JSON, 422 for
 * a JSON body or query of the wrong shape). The location of a contact path is the
 * contact's (another location's token -> 403); of an upsert or search the body's
 * locationId; of /opportunities/search its location_id. An unknown contact id, or a
 * body that is not a JSON object, is answered (404, 400, 422) once the token and the
 * Version passed, counted against the token's location when it has one. Every API
 * answer carries X-RateLimit-Limit-Daily, -Daily-Remaining, -Interval-Milliseconds,
 * -Max, -Remaining; 429 adds Retry-After (seconds; to UTC midnight for the daily quota).
 * Every JSON object answered carries a traceId; 422 bodies have message as an array.
 * Unknown path or method -> 404 {"statusCode":404,"message":"Cannot GET /x",...}; body
 * > 1 MiB -> 413.
 *
 * Control (no auth, no quota, no latency, not counted, not logged):
 *   POST /_control {"op":...} -> {"ok":true,...} or 400/404/409 {"ok":false,"error":..}:
 *     tag_add      location, name            -> {"ok":true,"id":"<24 hex>"} (appended)
 *     tag_rename   location, id, name        (updatedAt becomes now)
 *     tag_delete   location, id              (gone from lists and details)
 *     stats_bump   location (omit: all), by [1]: this week's statistics values grow by `by`
 *     fault        kind 500|503|reset|malformed|truncated|401|latency, count [1; -1: until
 *                  fault_clear], path (substring of the URL path; omit: any), ms (latency).
 *                  500/503/reset/401 answer instead of the request (the world is unchanged);
 *                  latency adds ms to the answer's delay; malformed (200 + a body that is
 *                  not JSON) and truncated (the real answer cut to half its length, with a
 *                  matching Content-Length) act after it. At most 64 pending.
 *     fault_clear
 *     latency      ms: like --latency-ms, from now on
 *     issue_code   user_type Company|Location [Location], location [--oauth-location]
 *                  -> {"ok":true,"code":...} (single use, 10 minutes)
 *     expire_tokens   every access token (not PITs, not refresh tokens) expires now
 *     quota_reset     forget the rate and daily counts
 *     stats_reset     zero the counters of /_control/stats
 *     contact_add  location, contact {fields as the upsert takes, companyName and gender
 *                  too}  -> {"ok":true,"id":..,"contact":{..}} (always a new contact)
 *     contact_set  location, id, fields {..}: a change "by a user in GHL" (tags replace,
 *                  customFields merge); dateUpdated becomes now even when nothing
 *                  changed (a save in GHL's screens) -> {"ok":true,"id","contact"}
 *     contact_get  location, id  -> {"ok":true,"id","contact":{..}}
 *     contacts     location  -> {"ok":true,"contacts":[every one, creation order]}
 *     opportunities  location  -> {"ok":true,"opportunities":[every one, creation order]}
 *     `location` is a location id or a 0-based index.
 *   GET /_control/stats -> {"requests":N,"endpoints":{"token","location_token",
 *     "installed_locations","tags_list","tags_details","accounts","statistics",
 *     "contacts_upsert","contacts_get","contacts_update","contacts_tags",
 *     "contacts_search","opportunities_upsert","opportunities_search","pipelines","catalog","other"},
 *     "status":{"2xx","400","401","403","404","413","422","429","5xx","other"},"in_flight",
 *     "peak_concurrent","refreshes","rotated_rejected","codes_exchanged","location_tokens",
 *     "faults_injected","resets","tags_details_ids"} (endpoint counts include failed calls)
 *   GET /_control/log[?n=N] -> the last N (at most 1000) API requests, one JSON object a
 *     line: {"ts","method","path" (with the query),"endpoint" (a catalog route's name, such as
 *     "contacts.create_task"),"body" (the request's JSON, else its text; null when empty
 *     and for the OAuth calls),"status" (0: reset),
 *     "resource","version","auth" (whether an Authorization header was sent; never the token)}
 *   GET /_control/catalog-seed -> the ids the catalog seeded (and created since), per
 *     location and collection: see tests/fake_ghl_catalog.c
 */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include "fake_http.h"
#include "fake_ghl_catalog.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_LOCATIONS 10000
#define MAX_TAGS 10000              /* per location, deleted ones do not count */
#define TOKEN_CAP 200000            /* stored tokens; the oldest are evicted beyond */
#define TOKEN_BUCKETS 65536u
#define DETAILS_IDS_CAP 1000        /* tagIds per /tags/details request */
#define PROFILE_IDS_CAP 100         /* profileIds per statistics request (spec: 400 beyond) */
#define PIT_CAP 64
#define TOKEN_HEX 20                /* random bytes in a token: 40 hex digits */
#define API_VERSION "2021-07-28"    /* the only Version the used operations accept */
#define CODE_TTL_MS (10LL * 60 * 1000)
#define REFRESH_TTL_MS (365LL * 86400 * 1000)
#define ROTATED_TTL_MS (86400LL * 1000) /* how long a used refresh token is recognised */
#define SEED_EPOCH_MS 1704067200000LL   /* 2024-01-01: createdAt of seeded tags */
#define MAX_CONTACTS 100000        /* per location (the API creates no more beyond) */
#define MAX_SEEDED_CONTACTS 1000000 /* --locations x --contacts */
#define CONTACT_TAGS_CAP 1000       /* tags per contact */
#define SEARCH_LIMIT_MAX 500        /* pageLimit of POST /contacts/search (GHL's search docs) */
#define SEARCH_WINDOW 10000         /* page x pageLimit beyond this needs searchAfter (same docs) */
#define SEARCH_QUERY_MAX 75         /* characters of "query" (same docs) */
#define FILTER_DEPTH 4              /* nested filter groups */
#define OPP_LIMIT_MAX 100           /* limit of GET /opportunities/search (spec) */
#define NSTAGES 4
#define LOC_SUFFIX 12               /* characters of a location id in pipeline and stage ids */
#define ID_CONTACT 0x636f6e7461637473ull  /* make_id kinds */
#define ID_OPP 0x6f70706f7274756eull
#define SCOPE "socialplanner/account.readonly socialplanner/tag.readonly " \
	"socialplanner/statistics.readonly oauth.readonly oauth.write locations.readonly " \
	"contacts.readonly contacts.write opportunities.readonly opportunities.write"
#define AUTHCLASS_MSG "This authClass type is not allowed to access this scope. " \
	"Please reach out to the Platform team to get it added."

enum ep {
	EP_NONE, EP_TOKEN, EP_LOCTOKEN, EP_INSTALLED, EP_TAGS, EP_DETAILS, EP_ACCOUNTS, EP_STATS,
	EP_C_UPSERT, EP_C_GET, EP_C_UPDATE, EP_C_TAGS, EP_C_SEARCH, EP_O_UPSERT, EP_O_SEARCH, EP_PIPELINES,
	EP_CATALOG, EP_COUNT
};

/* Names in /_control/stats, the log and the summary line; EP_NONE is a 404. */
static const char *const ep_names[EP_COUNT] = {
	"other", "token", "location_token", "installed_locations", "tags_list", "tags_details",
	"accounts", "statistics", "contacts_upsert", "contacts_get", "contacts_update", "contacts_tags",
	"contacts_search", "opportunities_upsert", "opportunities_search", "pipelines", "catalog"
};

static const char *const platforms[] = {
	"facebook", "instagram", "linkedin", "google", "pinterest", "youtube", "tiktok"
};
#define NPLAT 7
#define SEED_PLATFORMS 4  /* seeded accounts cycle through the first four */

static const char *const platform_titles[NPLAT] = {
	"Facebook", "Instagram", "LinkedIn", "Google", "Pinterest", "YouTube", "TikTok"
};
static const char *const platform_types[NPLAT] = {
	"page", "business", "page", "location", "business", "channel", "business"
};

struct tag {
	char id[25];        /* 24 hex digits, like a Mongo ObjectId */
	char *name;
	int64_t created_ms, updated_ms;  /* wall clock */
};

/* Contact fields that are plain strings, by their API names. */
enum cf {
	CF_FIRST, CF_LAST, CF_NAME, CF_EMAIL, CF_PHONE, CF_COMPANY, CF_SOURCE, CF_ADDRESS1, CF_CITY,
	CF_STATE, CF_POSTAL, CF_COUNTRY, CF_WEBSITE, CF_TIMEZONE, CF_BIRTH, CF_ASSIGNED, CF_GENDER, NCF
};
static const char *const cf_names[NCF] = {
	"firstName", "lastName", "name", "email", "phone", "companyName", "source", "address1", "city",
	"state", "postalCode", "country", "website", "timezone", "dateOfBirth", "assignedTo", "gender"
};

struct opp;

struct contact {
	char id[21];
	int loc;
	char *f[NCF];                   /* NULL: not set */
	int dnd;
	char **tags;                    /* lower case, in insertion order */
	size_t ntags, tcap;
	struct json_object *custom;     /* [{"id","value"}] or NULL */
	int64_t added_ms, updated_ms;   /* wall clock */
	int deleted;                    /* DELETE /contacts/{id}: kept, but found by nothing */
	struct opp *opp;                /* its opportunity in the location's one pipeline */
	struct contact *hnext;          /* w.cbucket chain */
};

enum opp_status { OS_OPEN, OS_WON, OS_LOST, OS_ABANDONED };
static const char *const opp_status_names[] = { "open", "won", "lost", "abandoned", NULL };
static const char *const stage_names[NSTAGES] = { "Waiting", "Confirmed", "Cancelled", "Checked out" };

struct opp {
	char id[21];
	struct contact *contact;
	char *name, *assigned_to, *lost_reason;
	int stage;
	enum opp_status status;
	double value;
	int64_t created_ms, updated_ms, status_ms, stage_ms;  /* wall clock */
	int deleted;            /* DELETE /opportunities/{id} */
};

struct location {
	char *id, *name, *address;
	struct tag *tags;
	size_t ntags, cap;
	uint32_t tag_seq;   /* never reused, so ids stay unique after deletes */
	long bump;          /* added to this week's statistics (stats_bump) */
	unsigned char plat[NPLAT];
	int nplat;
	struct contact **contacts;      /* creation order; never deleted */
	size_t ncontacts, ccap;
	struct opp **opps;              /* creation order; never deleted */
	size_t nopps, ocap;
};

enum tok_kind { TK_ACCESS, TK_REFRESH, TK_ROTATED, TK_CODE };

/* Tokens, refresh tokens, used refresh tokens and codes: one table, a hash
 * chain for lookup and an age list for eviction. */
struct tok {
	char s[2 * TOKEN_HEX + 1];
	unsigned char kind;
	unsigned char company;  /* user type Company (loc is then -1) */
	int loc;
	int64_t expires_ms;     /* monotonic */
	struct tok *hnext, *older, *newer;
};

struct pit {
	char *token;
	int loc;                /* -1: every location */
	int company;            /* --agency-pit: the company's token, as an OAuth Company one */
};

/* One per resource (each location, then the company), under w.mu. */
struct quota {
	int64_t *ring;          /* arrival times in the sliding window */
	size_t head, len;
	long day, daily;
};

/* The fault op's kinds, as fake_http's. */
static const struct {
	const char *name;
	enum fh_fault_kind kind;
	unsigned status;
} fault_kinds[] = {
	{ "500", FH_F_STATUS, 500 }, { "503", FH_F_STATUS, 503 }, { "reset", FH_F_RESET, 0 },
	{ "malformed", FH_F_MALFORMED, 0 }, { "truncated", FH_F_TRUNCATE, 0 }, { "401", FH_F_STATUS, 401 },
	{ "latency", FH_F_LATENCY, 0 }
};
/* What the malformed fault answers with 200: not JSON. */
static const char malformed_body[] =
	"{\"success\":true,\"statusCode\":200,\"results\":{tags:[,]}<html>upstream error</html>";

struct counters {
	unsigned long requests, ep[EP_COUNT];
	unsigned long s2xx, s400, s401, s403, s404, s413, s422, s429, s5xx, sother;
	unsigned long refreshes, rotated_rejected, codes_exchanged, location_tokens;
	unsigned long resets, details_ids;
};

/* The world, under w.mu. */
static struct {
	pthread_mutex_t mu;
	struct location *loc;
	size_t nloc;
	int *lindex;            /* open addressing by id: index + 1 */
	size_t lcap;
	char *company_id, *client_id, *client_secret, *app_id, *oauth_location;
	const char *user_id;
	int oauth_loc;
	long token_ttl;
	struct pit pits[PIT_CAP];
	size_t npits;
	struct tok **bucket, *oldest, *newest;
	size_t ntok;
	long rate_max, daily;
	int64_t rate_ms;
	struct quota *quota;    /* nloc + 1 */
	unsigned long faults_base;      /* fake_http's faults injected before stats_reset */
	long latency_ms;
	struct contact **cbucket;       /* every contact by id, chained */
	size_t cbuckets, ncontacts;
	struct counters st;
} w = { .mu = PTHREAD_MUTEX_INITIALIZER };

/* What the X-RateLimit-* headers of one answer say. */
struct rate_view {
	int set;
	long remaining, daily_remaining;
	long retry_after;       /* seconds; -1: no Retry-After */
};

/* One API request being decided: fake_http's request and answer, and
 * what the fake makes of it. */
struct call {
	struct fh_req *rq;
	enum ep ep;
	int resource;           /* location index, w.nloc for the company, -1 none */
	struct rate_view rl;
	int cat;                /* EP_CATALOG: the catalog's route */
	struct fgc_where wh;
};

void fg_iso_time(int64_t ms, char *out, size_t n)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	size_t len;

	gmtime_r(&s, &tm);
	len = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + len, n - len, ".%03dZ", (int)(ms % 1000));
}

/* ---- the world: locations and tags ---------------------------------------- */

static int loc_find(const char *id)
{
	if (!w.lcap)
		return -1;
	for (size_t i = fh_hash(id) & (w.lcap - 1); w.lindex[i]; i = (i + 1) & (w.lcap - 1))
		if (strcmp(w.loc[w.lindex[i] - 1].id, id) == 0)
			return w.lindex[i] - 1;
	return -1;
}

static void loc_index_build(void)
{
	w.lcap = 16;
	while (w.lcap < 2 * w.nloc)
		w.lcap *= 2;
	w.lindex = calloc(w.lcap, sizeof(*w.lindex));
	if (!w.lindex)
		fh_die("out of memory");
	for (size_t k = 0; k < w.nloc; k++) {
		size_t i = fh_hash(w.loc[k].id) & (w.lcap - 1);

		while (w.lindex[i])
			i = (i + 1) & (w.lcap - 1);
		w.lindex[i] = (int)k + 1;
	}
}

static struct location *loc_add(const char *id, const char *name, const char *address)
{
	struct location *l;
	char buf[64];

	if (w.nloc >= MAX_LOCATIONS)
		fh_die("more than %d locations", MAX_LOCATIONS);
	if (!w.loc) {
		w.loc = calloc(MAX_LOCATIONS, sizeof(*w.loc));
		if (!w.loc)
			fh_die("out of memory");
	}
	l = &w.loc[w.nloc++];
	l->id = fh_xstrdup(id);
	snprintf(buf, sizeof(buf), "Fake Location %zu", w.nloc);
	l->name = fh_xstrdup(name ? name : buf);
	snprintf(buf, sizeof(buf), "%zu Fake Street, Testville, TX 75001, USA", w.nloc);
	l->address = fh_xstrdup(address ? address : buf);
	return l;
}

/* A new tag at the end of the location's list; NULL at the cap. */
static struct tag *tag_append(struct location *l, const char *name, int64_t created_ms)
{
	size_t li = (size_t)(l - w.loc);
	uint64_t tail;
	struct tag *t;

	if (l->ntags >= MAX_TAGS)
		return NULL;
	if (l->ntags == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct tag *n = realloc(l->tags, cap * sizeof(*n));

		if (!n)
			return NULL;
		l->tags = n;
		l->cap = cap;
	}
	t = &l->tags[l->ntags];
	t->name = strdup(name);
	if (!t->name)
		return NULL;
	/* Unique as long as (location, sequence) is: the xor is a bijection. */
	tail = (((uint64_t)li << 32) | l->tag_seq++) ^ 0x5a17c3e9b2d4f061ull;
	snprintf(t->id, sizeof(t->id), "%08x%016llx", 0x65f00000u + (unsigned)li, (unsigned long long)tail);
	t->created_ms = t->updated_ms = created_ms;
	l->ntags++;
	return t;
}

static struct tag *tag_find(struct location *l, const char *id)
{
	for (size_t i = 0; i < l->ntags; i++)
		if (strcmp(l->tags[i].id, id) == 0)
			return &l->tags[i];
	return NULL;
}

static void tag_remove(struct location *l, struct tag *t)
{
	size_t i = (size_t)(t - l->tags);

	free(t->name);
	memmove(t, t + 1, (l->ntags - i - 1) * sizeof(*t));
	l->ntags--;
}

/* ---- the world: contacts, the pipeline and opportunities ------------------ */

static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* 20 alphanumerics like GHL's ids, unique per (kind, location, sequence):
 * the last 11 spell mix64 of them in base 62 (a bijection, and 62^11 >
 * 2^64), the first 9 are noise derived from that. */
static void make_id(char out[21], uint64_t kind, size_t li, size_t seq)
{
	uint64_t a = fh_mix64((((uint64_t)li << 32) | (uint32_t)seq) ^ kind), h = fh_mix64(a ^ kind);

	for (int i = 19; i >= 9; i--, a /= 62)
		out[i] = b62[a % 62];
	for (int i = 8; i >= 0; i--, h /= 62)
		out[i] = b62[h % 62];
	out[20] = 0;
}

/* The last LOC_SUFFIX characters of the location's id, '0'-padded on the left. */
static void loc_suffix(const struct location *l, char out[LOC_SUFFIX + 1])
{
	size_t n = strlen(l->id);

	if (n >= LOC_SUFFIX) {
		memcpy(out, l->id + n - LOC_SUFFIX, LOC_SUFFIX);
	} else {
		memset(out, '0', LOC_SUFFIX - n);
		memcpy(out + LOC_SUFFIX - n, l->id, n);
	}
	out[LOC_SUFFIX] = 0;
}

static void pipeline_id(const struct location *l, char out[32])
{
	char sfx[LOC_SUFFIX + 1];

	loc_suffix(l, sfx);
	snprintf(out, 32, "pipeline%s", sfx);
}

static void stage_id(const struct location *l, int k, char out[32])
{
	char sfx[LOC_SUFFIX + 1];

	loc_suffix(l, sfx);
	snprintf(out, 32, "stage%d%s", k, sfx);
}

/* The stage of the location's pipeline with that id, or -1. */
static int stage_find(const struct location *l, const char *id)
{
	for (int k = 0; k < NSTAGES; k++) {
		char s[32];

		stage_id(l, k, s);
		if (strcmp(s, id) == 0)
			return k;
	}
	return -1;
}

static struct contact *contact_find(const char *id)
{
	if (!w.cbuckets)
		return NULL;
	for (struct contact *c = w.cbucket[fh_hash(id) & (w.cbuckets - 1)]; c; c = c->hnext)
		if (strcmp(c->id, id) == 0)
			return c->deleted ? NULL : c;
	return NULL;
}

/* Doubles the id table; when that fails the chains just grow longer. */
static void contact_rehash(void)
{
	size_t nb = w.cbuckets ? w.cbuckets * 2 : 1024;
	struct contact **b = calloc(nb, sizeof(*b));

	if (!b)
		return;
	for (size_t i = 0; i < w.cbuckets; i++)
		for (struct contact *c = w.cbucket[i], *next; c; c = next) {
			size_t k = fh_hash(c->id) & (nb - 1);

			next = c->hnext;
			c->hnext = b[k];
			b[k] = c;
		}
	free(w.cbucket);
	w.cbucket = b;
	w.cbuckets = nb;
}

/* A new contact without fields at the end of the location's list; NULL at
 * the cap or out of memory. */
static struct contact *contact_new(size_t li, int64_t now)
{
	struct location *l = &w.loc[li];
	struct contact *c;
	size_t k;

	if (l->ncontacts >= MAX_CONTACTS)
		return NULL;
	if (w.ncontacts >= 2 * w.cbuckets)
		contact_rehash();
	if (!w.cbuckets)
		return NULL;
	if (l->ncontacts == l->ccap) {
		size_t cap = l->ccap ? l->ccap * 2 : 16;
		struct contact **n = realloc(l->contacts, cap * sizeof(*n));

		if (!n)
			return NULL;
		l->contacts = n;
		l->ccap = cap;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	make_id(c->id, ID_CONTACT, li, l->ncontacts);
	c->loc = (int)li;
	c->added_ms = c->updated_ms = now;
	k = fh_hash(c->id) & (w.cbuckets - 1);
	c->hnext = w.cbucket[k];
	w.cbucket[k] = c;
	w.ncontacts++;
	l->contacts[l->ncontacts++] = c;
	return c;
}

static void contact_free(struct contact *c)
{
	for (int i = 0; i < NCF; i++)
		free(c->f[i]);
	for (size_t i = 0; i < c->ntags; i++)
		free(c->tags[i]);
	free(c->tags);
	json_object_put(c->custom);
	free(c);
}

/* Sets one string field (NULL or "" clears it): 1 when it changed, 0 when
 * not, -1 out of memory. */
static int set_field(char **slot, const char *v)
{
	char *d;

	if (v && !*v)
		v = NULL;
	if (!v ? !*slot : *slot && strcmp(*slot, v) == 0)
		return 0;
	d = v ? strdup(v) : NULL;
	if (v && !d)
		return -1;
	free(*slot);
	*slot = d;
	return 1;
}

/* s without leading and trailing white space: *len characters from the result. */
static const char *trimmed(const char *s, size_t *len)
{
	size_t n;

	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	*len = n;
	return s;
}

/* A tag as GHL keeps it: trimmed and lower case; "" for a blank one, NULL
 * out of memory. */
static char *tag_norm(const char *raw)
{
	size_t n;
	const char *s = trimmed(raw, &n);
	char *t = strndup(s, n);

	for (size_t i = 0; t && i < n; i++)
		t[i] = (char)tolower((unsigned char)t[i]);
	return t;
}

static ssize_t contact_tag_index(const struct contact *c, const char *norm)
{
	for (size_t i = 0; i < c->ntags; i++)
		if (strcmp(c->tags[i], norm) == 0)
			return (ssize_t)i;
	return -1;
}

/* Adds a tag unless present: 1 added, 0 present or blank, -1 out of memory
 * or at the cap. */
static int contact_tag_add(struct contact *c, const char *raw)
{
	char *t = tag_norm(raw);

	if (!t)
		return -1;
	if (!*t || contact_tag_index(c, t) >= 0) {
		free(t);
		return 0;
	}
	if (c->ntags >= CONTACT_TAGS_CAP) {
		free(t);
		return -1;
	}
	if (c->ntags == c->tcap) {
		size_t cap = c->tcap ? c->tcap * 2 : 4;
		char **n = realloc(c->tags, cap * sizeof(*n));

		if (!n) {
			free(t);
			return -1;
		}
		c->tags = n;
		c->tcap = cap;
	}
	c->tags[c->ntags++] = t;
	return 1;
}

/* 1 when the tag was there and is gone, 0 when it was not there, -1 out of memory. */
static int contact_tag_remove(struct contact *c, const char *raw)
{
	char *t = tag_norm(raw);
	ssize_t i;

	if (!t)
		return -1;
	i = contact_tag_index(c, t);
	free(t);
	if (i < 0)
		return 0;
	free(c->tags[i]);
	memmove(&c->tags[i], &c->tags[i + 1], (c->ntags - (size_t)i - 1) * sizeof(*c->tags));
	c->ntags--;
	return 1;
}

/* "tags" in an upsert or update replace every tag: 1 changed, 0 the same
 * list, -1 out of memory (the contact is then unchanged). */
static int contact_tags_replace(struct contact *c, struct json_object *arr)
{
	struct contact n = { .tags = NULL };
	int same, rc = 0;

	for (size_t i = 0; i < json_object_array_length(arr) && rc >= 0; i++)
		rc = contact_tag_add(&n, json_object_get_string(json_object_array_get_idx(arr, i)));
	same = rc >= 0 && n.ntags == c->ntags;
	for (size_t i = 0; same && i < n.ntags; i++)
		same = strcmp(n.tags[i], c->tags[i]) == 0;
	if (rc < 0 || same) {
		for (size_t i = 0; i < n.ntags; i++)
			free(n.tags[i]);
		free(n.tags);
		return rc < 0 ? -1 : 0;
	}
	for (size_t i = 0; i < c->ntags; i++)
		free(c->tags[i]);
	free(c->tags);
	c->tags = n.tags;
	c->ntags = n.ntags;
	c->tcap = n.tcap;
	return 1;
}

/* A custom field's value as the contact shows it: a string. */
static const char *custom_value(struct json_object *item)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(item, "field_value", &v))
		json_object_object_get_ex(item, "value", &v);
	if (!v || json_object_is_type(v, json_type_null))
		return "";
	if (json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

static const char *custom_id(struct json_object *item)
{
	struct json_object *v;

	if (json_object_object_get_ex(item, "id", &v) && json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	if (json_object_object_get_ex(item, "key", &v) && json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

/* "customFields" merge by id (or key) into the contact's: 1 changed, 0
 * not, -1 out of memory. */
static int contact_custom_merge(struct contact *c, struct json_object *arr)
{
	int changed = 0;

	if (!c->custom && json_object_array_length(arr) && !(c->custom = json_object_new_array()))
		return -1;
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *item = json_object_array_get_idx(arr, i), *e = NULL, *cur;
		const char *id = custom_id(item);
		char *val = strdup(custom_value(item));

		if (!val)
			return -1;
		for (size_t k = 0; k < json_object_array_length(c->custom) && !e; k++) {
			struct json_object *x = json_object_array_get_idx(c->custom, k), *xid;

			if (json_object_object_get_ex(x, "id", &xid) && strcmp(json_object_get_string(xid), id) == 0)
				e = x;
		}
		if (e && json_object_object_get_ex(e, "value", &cur) && strcmp(json_object_get_string(cur), val) == 0) {
			free(val);
			continue;
		}
		if (!e) {
			e = json_object_new_object();
			json_object_object_add(e, "id", json_object_new_string(id));
			json_object_array_add(c->custom, e);
		}
		json_object_object_add(e, "value", json_object_new_string(val));
		free(val);
		changed = 1;
	}
	return changed;
}

/* What a write may carry, per kind of write (the spec's DTOs: what
 * UpsertContactDto and UpdateContactDto do not list is refused, as the
 * API's whitelisting validation does). */
enum ck { CK_STR, CK_BOOL, CK_TAGS, CK_CUSTOM, CK_OBJ, CK_FLAG, CK_LOCATION };
#define IN_UPSERT 1u
#define IN_UPDATE 2u
#define IN_CONTROL 4u
#define IN_ALL (IN_UPSERT | IN_UPDATE | IN_CONTROL)

static const struct ckey {
	const char *key;
	enum ck kind;
	int cf;
	unsigned in;
} contact_keys[] = {
	{ "firstName", CK_STR, CF_FIRST, IN_ALL },
	{ "lastName", CK_STR, CF_LAST, IN_ALL },
	{ "name", CK_STR, CF_NAME, IN_ALL },
	{ "email", CK_STR, CF_EMAIL, IN_ALL },
	{ "phone", CK_STR, CF_PHONE, IN_ALL },
	{ "companyName", CK_STR, CF_COMPANY, IN_UPSERT | IN_CONTROL },
	{ "source", CK_STR, CF_SOURCE, IN_ALL },
	{ "address1", CK_STR, CF_ADDRESS1, IN_ALL },
	{ "city", CK_STR, CF_CITY, IN_ALL },
	{ "state", CK_STR, CF_STATE, IN_ALL },
	{ "postalCode", CK_STR, CF_POSTAL, IN_ALL },
	{ "country", CK_STR, CF_COUNTRY, IN_ALL },
	{ "website", CK_STR, CF_WEBSITE, IN_ALL },
	{ "timezone", CK_STR, CF_TIMEZONE, IN_ALL },
	{ "dateOfBirth", CK_STR, CF_BIRTH, IN_ALL },
	{ "assignedTo", CK_STR, CF_ASSIGNED, IN_ALL },
	{ "gender", CK_STR, CF_GENDER, IN_UPSERT | IN_CONTROL },
	{ "dnd", CK_BOOL, -1, IN_ALL },
	{ "tags", CK_TAGS, -1, IN_ALL },
	{ "customFields", CK_CUSTOM, -1, IN_ALL },
	{ "dndSettings", CK_OBJ, -1, IN_UPSERT | IN_UPDATE },
	{ "inboundDndSettings", CK_OBJ, -1, IN_UPSERT | IN_UPDATE },
	{ "createNewIfDuplicateAllowed", CK_FLAG, -1, IN_UPSERT },
	{ "locationId", CK_LOCATION, -1, IN_UPSERT },
};

static const struct ckey *ckey_find(const char *k)
{
	for (size_t i = 0; i < sizeof(contact_keys) / sizeof(contact_keys[0]); i++)
		if (strcmp(contact_keys[i].key, k) == 0)
			return &contact_keys[i];
	return NULL;
}

/* Good enough for the API's "email must be an email": one @, something
 * before it, a dot in what follows, no blanks. */
static int email_ok(const char *s)
{
	size_t n;
	const char *t = trimmed(s, &n), *at = memchr(t, '@', n);

	if (!at || at == t || memchr(at + 1, '@', n - (size_t)(at - t) - 1))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (isspace((unsigned char)t[i]))
			return 0;
	return memchr(at + 1, '.', n - (size_t)(at - t) - 1) && t[n - 1] != '.';
}

static int is_string(struct json_object *v)
{
	return json_object_is_type(v, json_type_string);
}

/* Why a contact write cannot be done (message in msg, 1), or 0. */
static int contact_invalid(struct json_object *body, unsigned in, char *msg, size_t n)
{
	json_object_object_foreach(body, k, v) {
		const struct ckey *ck = ckey_find(k);
		int null = json_object_is_type(v, json_type_null);

		if (!ck || !(ck->in & in)) {
			snprintf(msg, n, "property %.64s should not exist", k);
			return 1;
		}
		switch (ck->kind) {
		case CK_STR:
			if (!null && !is_string(v)) {
				snprintf(msg, n, "%s must be a string", k);
				return 1;
			}
			if (ck->cf == CF_EMAIL && !null && *json_object_get_string(v) && !email_ok(json_object_get_string(v))) {
				snprintf(msg, n, "email must be an email");
				return 1;
			}
			break;
		case CK_BOOL:
		case CK_FLAG:
			if (!null && !json_object_is_type(v, json_type_boolean)) {
				snprintf(msg, n, "%s must be a boolean value", k);
				return 1;
			}
			break;
		case CK_TAGS:
			if (!json_object_is_type(v, json_type_array)) {
				snprintf(msg, n, "tags must be an array");
				return 1;
			}
			if (json_object_array_length(v) > CONTACT_TAGS_CAP) {
				snprintf(msg, n, "tags must contain no more than %d elements", CONTACT_TAGS_CAP);
				return 1;
			}
			for (size_t i = 0; i < json_object_array_length(v); i++)
				if (!is_string(json_object_array_get_idx(v, i))) {
					snprintf(msg, n, "each value in tags must be a string");
					return 1;
				}
			break;
		case CK_CUSTOM:
			if (!json_object_is_type(v, json_type_array)) {
				snprintf(msg, n, "customFields must be an array");
				return 1;
			}
			for (size_t i = 0; i < json_object_array_length(v); i++) {
				struct json_object *item = json_object_array_get_idx(v, i);

				if (!json_object_is_type(item, json_type_object) || !custom_id(item)) {
					snprintf(msg, n, "each value in customFields must be an object with an id (or key)");
					return 1;
				}
			}
			break;
		case CK_OBJ:
			if (!null && !json_object_is_type(v, json_type_object)) {
				snprintf(msg, n, "%s must be an object", k);
				return 1;
			}
			break;
		case CK_LOCATION:
			break;
		}
	}
	return 0;
}

/* "name" follows firstName and lastName unless a write gives it. */
static int contact_rename(struct contact *c)
{
	const char *f = c->f[CF_FIRST] ? c->f[CF_FIRST] : "", *l = c->f[CF_LAST] ? c->f[CF_LAST] : "";
	size_t n = strlen(f) + strlen(l) + 2;
	char *full = malloc(n);
	int rc;

	if (!full)
		return -1;
	snprintf(full, n, "%s%s%s", f, *f && *l ? " " : "", l);
	rc = set_field(&c->f[CF_NAME], full);
	free(full);
	return rc;
}

/* Writes a body that contact_invalid accepted into the contact: 1 when
 * something changed, 0 when not, -1 out of memory. keep_phone: the upsert
 * found the contact by e-mail and the phone belongs to another one. The
 * caller sets dateUpdated. */
static int contact_apply(struct contact *c, struct json_object *body, int keep_phone)
{
	int changed = 0, rc = 0, renamed = 0, named = 0;

	json_object_object_foreach(body, k, v) {
		const struct ckey *ck = ckey_find(k);

		if (!ck)
			continue;
		rc = 0;
		switch (ck->kind) {
		case CK_STR: {
			const char *s = is_string(v) ? json_object_get_string(v) : NULL;
			size_t len;

			if (ck->cf == CF_PHONE && keep_phone)
				break;
			if (ck->cf == CF_EMAIL && s) {
				char *e;

				s = trimmed(s, &len);
				/* Another spelling of the same address changes nothing. */
				if (c->f[CF_EMAIL] && strlen(c->f[CF_EMAIL]) == len && !strncasecmp(c->f[CF_EMAIL], s, len))
					break;
				if (!(e = strndup(s, len)))
					return -1;
				rc = set_field(&c->f[CF_EMAIL], e);
				free(e);
			} else {
				rc = set_field(&c->f[ck->cf], s);
			}
			renamed |= ck->cf == CF_FIRST || ck->cf == CF_LAST;
			named |= ck->cf == CF_NAME;
			break;
		}
		case CK_BOOL:
			rc = json_object_get_boolean(v) != c->dnd;
			c->dnd = json_object_get_boolean(v);
			break;
		case CK_TAGS:
			rc = contact_tags_replace(c, v);
			break;
		case CK_CUSTOM:
			rc = contact_custom_merge(c, v);
			break;
		default:
			break;
		}
		if (rc < 0)
			return -1;
		changed |= rc;
	}
	if (renamed && !named) {
		if ((rc = contact_rename(c)) < 0)
			return -1;
		changed |= rc;
	}
	return changed;
}

/* The oldest contact of the location with that e-mail (trimmed, any case). */
static struct contact *contact_by_email(const struct location *l, const char *email)
{
	size_t n;
	const char *e = trimmed(email, &n);

	for (size_t i = 0; i < l->ncontacts; i++) {
		const char *ce = l->contacts[i]->f[CF_EMAIL];

		if (ce && !l->contacts[i]->deleted && strlen(ce) == n && strncasecmp(ce, e, n) == 0)
			return l->contacts[i];
	}
	return NULL;
}

/* The oldest contact of the location with exactly that phone. */
static struct contact *contact_by_phone(const struct location *l, const char *phone)
{
	for (size_t i = 0; i < l->ncontacts; i++) {
		const char *cp = l->contacts[i]->f[CF_PHONE];

		if (cp && !l->contacts[i]->deleted && strcmp(cp, phone) == 0)
			return l->contacts[i];
	}
	return NULL;
}

/* Seeded contact n (1-based) of a location. */
static void seed_contact(size_t li, long n)
{
	char s[64];
	struct contact *c = contact_new(li, SEED_EPOCH_MS + (int64_t)li * 60000 + (int64_t)n * 1000);

	if (!c)
		fh_die("out of memory seeding contacts");
	snprintf(s, sizeof(s), "%ld", n);
	if (set_field(&c->f[CF_FIRST], "Contact") < 0 || set_field(&c->f[CF_LAST], s) < 0 ||
	    contact_rename(c) < 0)
		fh_die("out of memory seeding contacts");
	snprintf(s, sizeof(s), "contact.%ld@example.com", n);
	if (set_field(&c->f[CF_EMAIL], s) < 0)
		fh_die("out of memory seeding contacts");
	snprintf(s, sizeof(s), "+1555%07ld", n);
	if (set_field(&c->f[CF_PHONE], s) < 0)
		fh_die("out of memory seeding contacts");
}

static void seed_contacts_default(size_t li, long ncontacts)
{
	if (w.ncontacts + (size_t)ncontacts > MAX_SEEDED_CONTACTS)
		fh_die("more than %d seeded contacts in all", MAX_SEEDED_CONTACTS);
	for (long n = 1; n <= ncontacts; n++)
		seed_contact(li, n);
}

/* A new opportunity of the contact in its location's pipeline, NULL out of memory. */
static struct opp *opp_new(struct contact *c, int64_t now)
{
	struct location *l = &w.loc[c->loc];
	struct opp *o;

	if (l->nopps == l->ocap) {
		size_t cap = l->ocap ? l->ocap * 2 : 16;
		struct opp **n = realloc(l->opps, cap * sizeof(*n));

		if (!n)
			return NULL;
		l->opps = n;
		l->ocap = cap;
	}
	o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	make_id(o->id, ID_OPP, (size_t)c->loc, l->nopps);
	o->contact = c;
	o->created_ms = o->updated_ms = o->status_ms = o->stage_ms = now;
	c->opp = o;
	l->opps[l->nopps++] = o;
	return o;
}

static void opp_free(struct opp *o)
{
	free(o->name);
	free(o->assigned_to);
	free(o->lost_reason);
	free(o);
}

static void seed_default(long nloc, long ntags, long ncontacts)
{
	for (long i = 1; i <= nloc; i++) {
		char id[32];
		struct location *l;

		snprintf(id, sizeof(id), "loc%017ld", i);
		l = loc_add(id, NULL, NULL);
		/* 2 or 3 accounts, starting at a platform that moves with the index. */
		l->nplat = 2 + (int)((i - 1) % 2);
		for (int p = 0; p < l->nplat; p++)
			l->plat[p] = (unsigned char)(((i - 1) + p) % SEED_PLATFORMS);
		for (long t = 1; t <= ntags; t++) {
			char name[32];

			snprintf(name, sizeof(name), "Tag %ld", t);
			if (!tag_append(l, name, SEED_EPOCH_MS + (i - 1) * 60000 + t * 1000))
				fh_die("out of memory seeding tags");
		}
		seed_contacts_default((size_t)(i - 1), ncontacts);
	}
}

static int platform_index(const char *s)
{
	for (int p = 0; p < NPLAT; p++)
		if (strcmp(s, platforms[p]) == 0)
			return p;
	return -1;
}

static const char *seed_string(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* A location's "contacts" of a --seed file: objects of contact fields. */
static void seed_file_contacts(const char *path, size_t i, struct json_object *arr)
{
	for (size_t k = 0; k < json_object_array_length(arr); k++) {
		struct json_object *o = json_object_array_get_idx(arr, k);
		struct contact *c;
		char msg[256];

		if (!json_object_is_type(o, json_type_object))
			fh_die("--seed %s: locations[%zu].contacts[%zu] must be an object", path, i, k);
		if (contact_invalid(o, IN_CONTROL, msg, sizeof(msg)))
			fh_die("--seed %s: locations[%zu].contacts[%zu]: %s", path, i, k, msg);
		if (w.ncontacts >= MAX_SEEDED_CONTACTS)
			fh_die("--seed %s: more than %d contacts in all", path, MAX_SEEDED_CONTACTS);
		c = contact_new(w.nloc - 1, SEED_EPOCH_MS + (int64_t)i * 60000 + (int64_t)(k + 1) * 1000);
		if (!c || contact_apply(c, o, 0) < 0)
			fh_die("--seed %s: locations[%zu]: out of memory or more than %d contacts", path, i, MAX_CONTACTS);
	}
}

/* --seed FILE: {"company_id":..., "locations":[{"id","name","address","tags":[..],
 * "platforms":[..],"contacts":[{..}]}]}; each location without tags gets --tags N
 * generated, without contacts --contacts N. */
static void seed_file(const char *path, long ntags, long ncontacts)
{
	struct json_object *root = json_object_from_file(path);
	struct json_object *locs, *v;
	const char *s;

	if (!json_object_is_type(root, json_type_object))
		fh_die("--seed %s: not a JSON object (%s)", path, json_util_get_last_err() ? json_util_get_last_err() : "");
	if ((s = seed_string(root, "company_id"))) {
		free(w.company_id);
		w.company_id = fh_xstrdup(s);
	}
	if (!json_object_object_get_ex(root, "locations", &locs) || !json_object_is_type(locs, json_type_array))
		fh_die("--seed %s: \"locations\" must be an array of objects", path);
	for (size_t i = 0; i < json_object_array_length(locs); i++) {
		struct json_object *lo = json_object_array_get_idx(locs, i);
		struct json_object *arr;
		struct location *l;
		const char *id = json_object_is_type(lo, json_type_object) ? seed_string(lo, "id") : NULL;

		if (!id || !*id || strlen(id) > 64)
			fh_die("--seed %s: locations[%zu] needs an \"id\" string of 1 to 64 characters", path, i);
		if (loc_find(id) >= 0)
			fh_die("--seed %s: location id %s appears twice", path, id);
		l = loc_add(id, seed_string(lo, "name"), seed_string(lo, "address"));
		free(w.lindex);
		loc_index_build();
		if (json_object_object_get_ex(lo, "platforms", &arr) && json_object_is_type(arr, json_type_array)) {
			for (size_t p = 0; p < json_object_array_length(arr) && l->nplat < NPLAT; p++) {
				int k = platform_index(json_object_get_string(json_object_array_get_idx(arr, p)));

				if (k < 0)
					fh_die("--seed %s: locations[%zu].platforms[%zu] is not one of facebook, instagram, "
					    "linkedin, google, pinterest, youtube, tiktok", path, i, p);
				l->plat[l->nplat++] = (unsigned char)k;
			}
		} else {
			l->nplat = 2 + (int)(i % 2);
			for (int p = 0; p < l->nplat; p++)
				l->plat[p] = (unsigned char)((i + (size_t)p) % SEED_PLATFORMS);
		}
		if (json_object_object_get_ex(lo, "tags", &arr) && json_object_is_type(arr, json_type_array)) {
			for (size_t t = 0; t < json_object_array_length(arr); t++) {
				v = json_object_array_get_idx(arr, t);
				if (!json_object_is_type(v, json_type_string))
					fh_die("--seed %s: locations[%zu].tags[%zu] must be a string", path, i, t);
				if (!tag_append(l, json_object_get_string(v), SEED_EPOCH_MS + (int64_t)t * 1000))
					fh_die("--seed %s: locations[%zu]: more than %d tags", path, i, MAX_TAGS);
			}
		} else {
			for (long t = 1; t <= ntags; t++) {
				char name[32];

				snprintf(name, sizeof(name), "Tag %ld", t);
				if (!tag_append(l, name, SEED_EPOCH_MS + t * 1000))
					fh_die("out of memory seeding tags");
			}
		}
		if (json_object_object_get_ex(lo, "contacts", &arr) && json_object_is_type(arr, json_type_array))
			seed_file_contacts(path, i, arr);
		else
			seed_contacts_default(w.nloc - 1, ncontacts);
	}
	json_object_put(root);
	if (!w.nloc)
		fh_die("--seed %s: no locations", path);
}

/* ---- tokens ---------------------------------------------------------------- */

static size_t tok_bucket(const char *s)
{
	return fh_hash(s) & (TOKEN_BUCKETS - 1);
}

static struct tok *tok_find(const char *s)
{
	for (struct tok *t = w.bucket[tok_bucket(s)]; t; t = t->hnext)
		if (strcmp(t->s, s) == 0)
			return t;
	return NULL;
}

static void tok_remove(struct tok *t)
{
	struct tok **pp = &w.bucket[tok_bucket(t->s)];

	while (*pp != t)
		pp = &(*pp)->hnext;
	*pp = t->hnext;
	if (t->older)
		t->older->newer = t->newer;
	else
		w.oldest = t->newer;
	if (t->newer)
		t->newer->older = t->older;
	else
		w.newest = t->older;
	w.ntok--;
	free(t);
}

/* A new random token; the oldest one is evicted when the table is full.
 * NULL when out of memory. */
static struct tok *tok_new(enum tok_kind kind, int company, int loc, int64_t ttl_ms)
{
	struct tok *t = calloc(1, sizeof(*t));
	size_t b;

	if (!t)
		return NULL;
	if (w.ntok >= TOKEN_CAP)
		tok_remove(w.oldest);
	do
		fh_random_hex(t->s, TOKEN_HEX);
	while (tok_find(t->s));
	t->kind = (unsigned char)kind;
	t->company = (unsigned char)company;
	t->loc = loc;
	t->expires_ms = fh_mono_ms() + ttl_ms;
	b = tok_bucket(t->s);
	t->hnext = w.bucket[b];
	w.bucket[b] = t;
	t->older = w.newest;
	if (w.newest)
		w.newest->newer = t;
	else
		w.oldest = t;
	w.newest = t;
	w.ntok++;
	return t;
}

static void tok_free_all(void)
{
	while (w.oldest)
		tok_remove(w.oldest);
	free(w.bucket);
}

/* ---- quota ----------------------------------------------------------------- */

static long utc_day(void)
{
	return (long)(time(NULL) / 86400);
}

static void quota_trim(struct quota *q, int64_t now)
{
	while (q->len && q->ring[q->head] <= now - w.rate_ms) {
		q->head = (q->head + 1) % (size_t)w.rate_max;
		q->len--;
	}
	if (q->day != utc_day()) {
		q->day = utc_day();
		q->daily = 0;
	}
}

/* The headers' view of a resource without counting a request. */
static void quota_peek(int res, struct rate_view *v)
{
	v->set = 1;
	v->retry_after = -1;
	v->remaining = w.rate_max;
	v->daily_remaining = w.daily;
	if (res < 0 || !w.quota[res].ring)
		return;
	quota_trim(&w.quota[res], fh_mono_ms());
	v->remaining = w.rate_max - (long)w.quota[res].len;
	v->daily_remaining = w.daily - w.quota[res].daily;
}

/* Counts a request against the resource now, or refuses it (0); refused
 * requests do not count. */
static int quota_take(int res, struct rate_view *v)
{
	struct quota *q = &w.quota[res];
	int64_t now = fh_mono_ms();

	v->set = 1;
	v->retry_after = -1;
	if (!q->ring) {
		q->ring = calloc((size_t)w.rate_max, sizeof(*q->ring));
		if (!q->ring) {
			/* Out of memory: let it through rather than invent a 429. */
			v->remaining = w.rate_max;
			v->daily_remaining = w.daily;
			return 1;
		}
	}
	quota_trim(q, now);
	if (q->daily >= w.daily) {
		time_t t = time(NULL);

		v->remaining = 0;
		v->daily_remaining = 0;
		v->retry_after = 86400 - (long)(t % 86400);
		return 0;
	}
	if (q->len >= (size_t)w.rate_max) {
		int64_t wait = q->ring[q->head] + w.rate_ms - now;

		v->remaining = 0;
		v->daily_remaining = w.daily - q->daily;
		v->retry_after = wait <= 1000 ? 1 : (long)((wait + 999) / 1000);
		return 0;
	}
	q->ring[(q->head + q->len) % (size_t)w.rate_max] = now;
	q->len++;
	q->daily++;
	v->remaining = w.rate_max - (long)q->len;
	v->daily_remaining = w.daily - q->daily;
	return 1;
}

static void quota_reset(void)
{
	for (size_t i = 0; i <= w.nloc; i++) {
		free(w.quota[i].ring);
		memset(&w.quota[i], 0, sizeof(w.quota[i]));
	}
}

/* ---- answers --------------------------------------------------------------- */

static void put_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

static void put_int(struct json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

static void put_bool(struct json_object *o, const char *k, int v)
{
	json_object_object_add(o, k, json_object_new_boolean(v));
}

static void put_double(struct json_object *o, const char *k, double v)
{
	json_object_object_add(o, k, json_object_new_double(v));
}

/* Makes `o` the answer (and frees it); objects get a traceId. */
static void set_json(struct fh_req *rq, unsigned status, struct json_object *o)
{
	if (json_object_is_type(o, json_type_object) && !json_object_object_get_ex(o, "traceId", NULL)) {
		char tid[37];

		fh_uuid(tid);
		put_str(o, "traceId", tid);
	}
	fh_set_json(rq, status, o);
}

static const char *reason_phrase(unsigned status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 413: return "Payload Too Large";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Error";
	}
}

/* The API's error body: {statusCode, message, error, traceId}; 422 has
 * message as an array (common-schemas.json). */
static void set_error(struct fh_req *rq, unsigned status, const char *message)
{
	struct json_object *o = json_object_new_object();

	put_int(o, "statusCode", status);
	if (status == 422) {
		struct json_object *a = json_object_new_array();

		json_object_array_add(a, json_object_new_string(message));
		json_object_object_add(o, "message", a);
	} else {
		put_str(o, "message", message);
	}
	if (status != 429)
		put_str(o, "error", reason_phrase(status));
	set_json(rq, status, o);
}

static void set_error_fmt(struct fh_req *rq, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_error_fmt(struct fh_req *rq, unsigned status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	set_error(rq, status, msg);
}

/* The OAuth endpoint's own error shape: {error, error_description}. */
static void set_oauth_error(struct fh_req *rq, unsigned status, const char *error, const char *description)
{
	struct json_object *o = json_object_new_object();

	put_str(o, "error", error);
	put_str(o, "error_description", description);
	set_json(rq, status, o);
}

static void set_unauthorized(struct fh_req *rq)
{
	set_error(rq, 401, "Invalid token: access token is invalid");
}

/* ---- request parsing -------------------------------------------------------- */

/* application/x-www-form-urlencoded, at most 32 fields; or, when the body
 * is a JSON object, its string fields (the v3 API accepts JSON too). */
static void form_parse(struct fh_form *f, const struct fh_req *rq)
{
	struct json_object *o;

	if (rq->body && rq->body[0] == '{' && (o = json_tokener_parse(rq->body))) {
		size_t len = 0;

		memset(f, 0, sizeof(*f));
		if (!(f->buf = strdup(rq->body))) {
			json_object_put(o);
			return;
		}

		if (json_object_is_type(o, json_type_object)) {
			json_object_object_foreach(o, k, v) {
				size_t need = strlen(k) + strlen(json_object_get_string(v)) + 2;

				if (f->n >= 32 || !json_object_is_type(v, json_type_string) || len + need > rq->len)
					continue;
				/* Room in buf: the JSON text is longer than its keys and values. */
				f->key[f->n] = strcpy(f->buf + len, k);
				len += strlen(k) + 1;
				f->val[f->n++] = strcpy(f->buf + len, json_object_get_string(v));
				len += strlen(json_object_get_string(v)) + 1;
			}
		}
		json_object_put(o);
		return;
	}
	fh_form_parse(f, rq->body);
}

/* A skip/limit query parameter: 1 if fine (*out set), else a 422 is answered. */
static int paging_param(struct MHD_Connection *c, struct fh_req *rq, const char *name, long dflt, long min, long max,
			long *out)
{
	const char *s = fh_query(c, name);

	*out = dflt;
	if (!s || !*s)
		return 1;
	if (fh_parse_long(s, out) < 0) {
		set_error_fmt(rq, 422, "%s must be a number conforming to the specified constraints", name);
		return 0;
	}
	if (*out < min) {
		set_error_fmt(rq, 422, "%s must not be less than %ld", name, min);
		return 0;
	}
	if (*out > max) {
		set_error_fmt(rq, 422, "%s must not be greater than %ld", name, max);
		return 0;
	}
	return 1;
}

/* The body as a JSON object (an empty body counts as {}); NULL after
 * answering 400 (not JSON, as the API's body parser says) or 422. */
static struct json_object *json_body(struct fh_req *rq)
{
	struct json_object *o;
	int ok;

	if (!rq->len)
		return json_object_new_object();
	ok = fh_json_value(rq->body, rq->len, &o);
	if (ok < 0) {
		set_error(rq, 500, "Internal server error");
		return NULL;
	}
	if (!ok) {
		set_error(rq, 400, "Unexpected token in JSON body");
		return NULL;
	}
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		set_error(rq, 422, "the request body must be a JSON object");
		return NULL;
	}
	return o;
}

/* A string array field: 1 when fine, else 422 answered. Missing counts as
 * not an array. */
static int string_array(struct fh_req *rq, struct json_object *body, const char *name, int required,
			struct json_object **out)
{
	struct json_object *a;

	*out = NULL;
	if (!json_object_object_get_ex(body, name, &a) || json_object_is_type(a, json_type_null)) {
		if (!required)
			return 1;
		set_error_fmt(rq, 422, "%s must be an array", name);
		return 0;
	}
	if (!json_object_is_type(a, json_type_array)) {
		set_error_fmt(rq, 422, "%s must be an array", name);
		return 0;
	}
	for (size_t i = 0; i < json_object_array_length(a); i++)
		if (!json_object_is_type(json_object_array_get_idx(a, i), json_type_string)) {
			set_error_fmt(rq, 422, "each value in %s must be a string", name);
			return 0;
		}
	*out = a;
	return 1;
}

/* ---- OAuth ------------------------------------------------------------------- */

static void add_approved_locations(struct json_object *o)
{
	struct json_object *a = json_object_new_array_ext((int)w.nloc);

	for (size_t i = 0; i < w.nloc; i++)
		json_object_array_add(a, json_object_new_string(w.loc[i].id));
	json_object_object_add(o, "approvedLocations", a);
}

/* A new access + refresh pair for a grant (company, or a location). */
static void issue_pair(struct fh_req *rq, int company, int loc)
{
	struct tok *at = tok_new(TK_ACCESS, company, loc, (int64_t)w.token_ttl * 1000);
	struct tok *rt = at ? tok_new(TK_REFRESH, company, loc, REFRESH_TTL_MS) : NULL;
	struct json_object *o;

	if (!at || !rt) {
		set_error(rq, 500, "Internal server error");
		return;
	}
	o = json_object_new_object();
	put_str(o, "access_token", at->s);
	put_str(o, "token_type", "Bearer");
	put_int(o, "expires_in", w.token_ttl);
	put_str(o, "refresh_token", rt->s);
	put_str(o, "scope", SCOPE);
	put_str(o, "userType", company ? "Company" : "Location");
	put_str(o, "companyId", w.company_id);
	if (company) {
		add_approved_locations(o);
		put_bool(o, "isBulkInstallation", 1);
	} else {
		put_str(o, "locationId", w.loc[loc].id);
	}
	put_str(o, "userId", w.user_id);
	set_json(rq, 200, o);
}

static void h_token(struct fh_req *rq)
{
	struct fh_form f;
	const char *id, *secret, *grant, *ut;
	int company = 0;

	form_parse(&f, rq);
	id = fh_form_get(&f, "client_id");
	secret = fh_form_get(&f, "client_secret");
	grant = fh_form_get(&f, "grant_type");
	ut = fh_form_get(&f, "user_type");
	if (!id || !secret || strcmp(id, w.client_id) != 0 || strcmp(secret, w.client_secret) != 0) {
		set_oauth_error(rq, 401, "invalid_client", "Invalid client: client_id or client_secret is wrong");
		goto out;
	}
	if (!grant || (strcmp(grant, "authorization_code") && strcmp(grant, "refresh_token") &&
		       strcmp(grant, "client_credentials"))) {
		set_error(rq, 422, "grant_type must be one of the following values: authorization_code, "
			  "refresh_token, client_credentials");
		goto out;
	}
	if (ut && *ut && strcmp(ut, "Company") && strcmp(ut, "Location")) {
		set_error(rq, 422, "user_type must be one of the following values: Company, Location");
		goto out;
	}
	company = ut && strcmp(ut, "Company") == 0;
	if (strcmp(grant, "client_credentials") == 0) {
		set_oauth_error(rq, 400, "unsupported_grant_type", "The fake supports authorization_code and refresh_token");
	} else if (strcmp(grant, "authorization_code") == 0) {
		const char *code = fh_form_get(&f, "code");
		struct tok *t = code ? tok_find(code) : NULL;
		int loc = w.oauth_loc;

		if (t && t->kind == TK_CODE && t->expires_ms > fh_mono_ms()) {
			company = t->company;
			loc = t->loc;
			tok_remove(t);
		} else if (!code || strncmp(code, "code-", 5) != 0) {
			set_oauth_error(rq, 400, "invalid_grant", "Invalid grant: authorization code is invalid");
			goto out;
		}
		w.st.codes_exchanged++;
		issue_pair(rq, company, company ? -1 : loc);
	} else {
		const char *rt = fh_form_get(&f, "refresh_token");
		struct tok *t = rt ? tok_find(rt) : NULL;

		if (t && t->kind == TK_REFRESH && t->expires_ms > fh_mono_ms()) {
			/* Rotation: the used token is remembered only to count reuse. */
			t->kind = TK_ROTATED;
			t->expires_ms = fh_mono_ms() + ROTATED_TTL_MS;
			w.st.refreshes++;
			issue_pair(rq, t->company, t->loc);
			goto out;
		}
		if (t && t->kind == TK_ROTATED)
			w.st.rotated_rejected++;
		set_oauth_error(rq, 400, "invalid_grant", "Invalid grant: refresh token is invalid");
	}
out:
	fh_form_free(&f);
}

static void h_location_token(struct fh_req *rq)
{
	struct fh_form f;
	const char *cid, *lid;
	struct json_object *o;
	struct tok *t;
	int loc;

	form_parse(&f, rq);
	cid = fh_form_get(&f, "companyId");
	lid = fh_form_get(&f, "locationId");
	if (!cid || !*cid) {
		set_error(rq, 422, "companyId should not be empty");
	} else if (!lid || !*lid) {
		set_error(rq, 422, "locationId should not be empty");
	} else if (strcmp(cid, w.company_id) != 0) {
		set_error(rq, 403, "The token does not have access to this company");
	} else if ((loc = loc_find(lid)) < 0) {
		set_error(rq, 400, "Location not found or the app is not installed in it");
	} else if (!(t = tok_new(TK_ACCESS, 0, loc, (int64_t)w.token_ttl * 1000))) {
		set_error(rq, 500, "Internal server error");
	} else {
		w.st.location_tokens++;
		o = json_object_new_object();
		put_str(o, "access_token", t->s);
		put_str(o, "token_type", "Bearer");
		put_int(o, "expires_in", w.token_ttl);
		put_str(o, "scope", SCOPE);
		put_str(o, "locationId", w.loc[loc].id);
		put_str(o, "userId", w.user_id);
		set_json(rq, 200, o);
	}
	fh_form_free(&f);
}

static void h_installed(struct MHD_Connection *c, struct fh_req *rq)
{
	const char *cid = fh_query(c, "companyId"), *app = fh_query(c, "appId");
	const char *name = fh_query(c, "query"), *inst = fh_query(c, "isInstalled"), *only = fh_query(c, "locationId");
	struct json_object *o, *a;
	long skip, limit, count = 0;

	if (!cid || !*cid) {
		set_error(rq, 422, "companyId should not be empty");
		return;
	}
	if (!app || !*app) {
		set_error(rq, 422, "appId should not be empty");
		return;
	}
	if (strcmp(app, w.app_id) != 0) {
		set_error_fmt(rq, 422, "appId must be the id of an app installed in company %s", w.company_id);
		return;
	}
	if (strcmp(cid, w.company_id) != 0) {
		set_error(rq, 403, "The token does not have access to this company");
		return;
	}
	if (!paging_param(c, rq, "skip", 0, 0, 1000000000, &skip) || !paging_param(c, rq, "limit", 20, 1, 100, &limit))
		return;
	o = json_object_new_object();
	a = json_object_new_array();
	/* Every seeded location has the app installed. */
	if (!(inst && strcmp(inst, "false") == 0)) {
		for (size_t i = 0; i < w.nloc; i++) {
			const struct location *l = &w.loc[i];
			struct json_object *e;

			if ((name && *name && !strcasestr(l->name, name)) || (only && *only && strcmp(only, l->id)))
				continue;
			if (count++ < skip || (long)json_object_array_length(a) >= limit)
				continue;
			e = json_object_new_object();
			put_str(e, "_id", l->id);
			put_str(e, "name", l->name);
			put_str(e, "address", l->address);
			put_bool(e, "isInstalled", 1);
			json_object_array_add(a, e);
		}
	}
	json_object_object_add(o, "locations", a);
	put_int(o, "count", count);
	set_json(rq, 200, o);
}

/* ---- Social Planner ------------------------------------------------------------ */

static struct json_object *tag_json(const struct location *l, const struct tag *t)
{
	struct json_object *o = json_object_new_object();
	char ts[32];

	put_str(o, "tag", t->name);
	put_str(o, "locationId", l->id);
	put_str(o, "_id", t->id);
	put_str(o, "createdBy", w.user_id);
	put_bool(o, "deleted", 0);
	fg_iso_time(t->created_ms, ts, sizeof(ts));
	put_str(o, "createdAt", ts);
	fg_iso_time(t->updated_ms, ts, sizeof(ts));
	put_str(o, "updatedAt", ts);
	return o;
}

static struct json_object *planner_envelope(unsigned status, const char *message, struct json_object *results)
{
	struct json_object *o = json_object_new_object();

	put_bool(o, "success", 1);
	put_int(o, "statusCode", status);
	put_str(o, "message", message);
	json_object_object_add(o, "results", results);
	return o;
}

static void h_tags(struct MHD_Connection *c, struct fh_req *rq, int li)
{
	const struct location *l = &w.loc[li];
	const char *search = fh_query(c, "searchText");
	struct json_object *r, *a;
	long skip, limit, count = 0;

	if (!paging_param(c, rq, "skip", 0, 0, 1000000000, &skip) || !paging_param(c, rq, "limit", 10, 1, 100, &limit))
		return;
	a = json_object_new_array();
	for (size_t i = 0; i < l->ntags; i++) {
		if (search && *search && !strcasestr(l->tags[i].name, search))
			continue;
		if (count++ < skip || (long)json_object_array_length(a) >= limit)
			continue;
		json_object_array_add(a, tag_json(l, &l->tags[i]));
	}
	r = json_object_new_object();
	json_object_object_add(r, "tags", a);
	put_int(r, "count", count);
	set_json(rq, 200, planner_envelope(200, "Fetched Tags by Location ID", r));
}

static void h_details(struct fh_req *rq, int li)
{
	const struct location *l = &w.loc[li];
	struct json_object *body = json_body(rq), *ids, *r, *a;
	size_t n;

	if (!body)
		return;
	if (!string_array(rq, body, "tagIds", 1, &ids))
		goto out;
	n = json_object_array_length(ids);
	if (n > DETAILS_IDS_CAP) {
		set_error_fmt(rq, 422, "tagIds must contain no more than %d elements", DETAILS_IDS_CAP);
		goto out;
	}
	w.st.details_ids += n;
	a = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		const char *id = json_object_get_string(json_object_array_get_idx(ids, i));
		const struct tag *t = NULL;
		size_t j;

		for (j = 0; j < i; j++)
			if (strcmp(id, json_object_get_string(json_object_array_get_idx(ids, j))) == 0)
				break;
		if (j < i)
			continue;   /* asked twice, answered once */
		for (size_t k = 0; k < l->ntags && !t; k++)
			if (strcmp(l->tags[k].id, id) == 0)
				t = &l->tags[k];
		if (t)
			json_object_array_add(a, tag_json(l, t));
	}
	r = json_object_new_object();
	json_object_object_add(r, "tags", a);
	put_int(r, "count", (int64_t)json_object_array_length(a));
	set_json(rq, 201, planner_envelope(201, "Fetched Tags by Tag IDs", r));
out:
	json_object_put(body);
}

/* Account ids: unique per (location index, platform). */
static void account_ids(size_t li, int p, char profile[25], char oauth[25])
{
	uint64_t k = ((uint64_t)li << 8) | (unsigned)p;

	snprintf(profile, 25, "%08x%016llx", 0x67a5a9aau + (unsigned)p,
		 (unsigned long long)(k ^ 0x776c837de4aa5b12ull));
	snprintf(oauth, 25, "%08x%016llx", 0x65b1c0deu + (unsigned)p, (unsigned long long)(k ^ 0x1f2e3d4c5b6a7988ull));
}

static void h_accounts(struct fh_req *rq, int li)
{
	const struct location *l = &w.loc[li];
	struct json_object *r = json_object_new_object(), *a = json_object_new_array();

	for (int i = 0; i < l->nplat; i++) {
		int p = l->plat[i];
		struct json_object *e = json_object_new_object(), *meta = json_object_new_object();
		char profile[25], oauth[25], id[128], name[128];

		account_ids((size_t)li, p, profile, oauth);
		snprintf(id, sizeof(id), "%s_%s_%s", oauth, l->id, profile);
		snprintf(name, sizeof(name), "%s %s", l->name, platform_titles[p]);
		put_str(e, "id", id);
		put_str(e, "oauthId", oauth);
		put_str(e, "profileId", profile);
		put_str(e, "name", name);
		put_str(e, "platform", platforms[p]);
		put_str(e, "type", platform_types[p]);
		put_str(e, "expire", "2030-01-01T00:00:00.000Z");
		put_bool(e, "isExpired", 0);
		if (p == 3)
			put_bool(meta, "hasGoogleUpdated", 1);
		put_bool(meta, "canDelete", 1);
		json_object_object_add(e, "meta", meta);
		json_object_array_add(a, e);
	}
	json_object_object_add(r, "accounts", a);
	json_object_object_add(r, "groups", json_object_new_array());
	set_json(rq, 200, planner_envelope(200, "Fetched Accounts", r));
}

/* ---- statistics -------------------------------------------------------------------- */

enum metric { M_IMPRESSIONS, M_REACH, M_LIKES, M_COMMENTS, M_SHARES, M_POSTS, M_FOLLOWERS, M_COUNT };

/* One metric of one platform on one day: days 0-6 are the previous week,
 * 7-13 this week (13 is today). Deterministic from (location, platform,
 * metric, day); this week's values grow with the location's bump. */
static long stat_value(const struct location *l, int p, enum metric m, int day)
{
	static const long range[M_COUNT] = { 1000, 500, 100, 20, 10, 4, 0 };
	static const long base[M_COUNT] = { 100, 50, 5, 0, 0, 0, 0 };
	uint64_t h = fh_hash(l->id);
	long v;

	h = fh_mix64(h ^ ((uint64_t)p << 40) ^ ((uint64_t)m << 32));
	if (m == M_FOLLOWERS) {
		/* A running total: a base plus a few followers a day. */
		v = 1000 + (long)(h % 5000) + day * (long)(fh_mix64(h) % 7);
	} else {
		v = base[m] + (long)(fh_mix64(h ^ (uint64_t)day) % (uint64_t)range[m]);
	}
	return day >= 7 ? v + l->bump : v;
}

/* Percent change from `prev` to `cur`, two decimals. */
static double change(long cur, long prev)
{
	if (!prev)
		return cur ? 100.0 : 0.0;
	double x = (double)(cur - prev) * 10000.0 / (double)prev;

	return (double)(long long)(x + (x < 0 ? -0.5 : 0.5)) / 100.0;
}

static struct json_object *series_json(const long *v)
{
	struct json_object *a = json_object_new_array_ext(7);

	for (int d = 0; d < 7; d++)
		json_object_array_add(a, json_object_new_int64(v[d]));
	return a;
}

static struct json_object *day_range(void)
{
	static const char *const names[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	struct json_object *a = json_object_new_array_ext(7);
	time_t now = time(NULL);

	for (int d = 6; d >= 0; d--) {
		time_t t = now - (time_t)d * 86400;
		struct tm tm;

		gmtime_r(&t, &tm);
		json_object_array_add(a, json_object_new_string(names[tm.tm_wday]));
	}
	return a;
}

/* The sum of a metric over this week (cur) and last week (prev). */
static void week_sums(const struct location *l, int p, enum metric m, long *cur, long *prev)
{
	*cur = *prev = 0;
	for (int d = 0; d < 7; d++) {
		*prev += stat_value(l, p, m, d);
		*cur += stat_value(l, p, m, d + 7);
	}
}

static struct json_object *breakdown(const struct location *l, const int *plats, int n, enum metric m)
{
	struct json_object *o = json_object_new_object(), *ps = json_object_new_object();
	long total = 0, total_prev = 0;

	for (int i = 0; i < n; i++) {
		struct json_object *e = json_object_new_object();
		long cur, prev;

		week_sums(l, plats[i], m, &cur, &prev);
		total += cur;
		total_prev += prev;
		put_int(e, "value", cur);
		put_double(e, "change", change(cur, prev));
		json_object_object_add(ps, platforms[plats[i]], e);
	}
	put_int(o, "total", total);
	put_double(o, "totalChange", change(total, total_prev));
	json_object_object_add(o, "platforms", ps);
	return o;
}

/* platformTotals.<metric>: {platform: {total, series[7]}}; followers'
 * total is the latest count, the others' the week's sum. */
static struct json_object *platform_totals(const struct location *l, const int *plats, int n, enum metric m)
{
	struct json_object *o = json_object_new_object();

	for (int i = 0; i < n; i++) {
		struct json_object *e = json_object_new_object();
		long v[7], total = 0;

		for (int d = 0; d < 7; d++) {
			v[d] = stat_value(l, plats[i], m, d + 7);
			total += v[d];
		}
		put_int(e, "total", m == M_FOLLOWERS ? v[6] : total);
		json_object_object_add(e, "series", series_json(v));
		json_object_object_add(o, platforms[plats[i]], e);
	}
	return o;
}

static struct json_object *demographics(long followers)
{
	static const char *const ages[] = { "13-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+" };
	static const int age_pct[] = { 3, 17, 31, 22, 14, 8, 5 };
	static const char *const genders[] = { "male", "female", "unknown" };
	static const int gender_pct[] = { 48, 47, 5 };
	struct json_object *o = json_object_new_object(), *g = json_object_new_object(), *gt = json_object_new_object();
	struct json_object *a = json_object_new_object(), *at = json_object_new_object();

	for (int i = 0; i < 3; i++) {
		struct json_object *e = json_object_new_object();

		put_int(e, "total", followers * gender_pct[i] / 100);
		put_int(e, "percentage", gender_pct[i]);
		json_object_object_add(gt, genders[i], e);
	}
	json_object_object_add(g, "totals", gt);
	for (int i = 0; i < 7; i++)
		put_int(at, ages[i], followers * age_pct[i] / 100);
	json_object_object_add(a, "totals", at);
	json_object_object_add(o, "gender", g);
	json_object_object_add(o, "age", a);
	return o;
}

static void h_statistics(struct fh_req *rq, int li)
{
	const struct location *l = &w.loc[li];
	struct json_object *body = json_body(rq), *ids, *filter, *r, *o, *x;
	int plats[NPLAT], n = 0, want[NPLAT] = { 0 };
	long sum[4][7] = { { 0 } }; /* posts, impressions, likes, comments per day */
	long followers = 0;

	if (!body)
		return;
	if (!string_array(rq, body, "profileIds", 1, &ids) || !string_array(rq, body, "platforms", 0, &filter))
		goto out;
	if (json_object_array_length(ids) < 1) {
		set_error(rq, 422, "profileIds must contain at least 1 elements");
		goto out;
	}
	if (json_object_array_length(ids) > PROFILE_IDS_CAP) {
		set_error_fmt(rq, 400, "Statistics can be requested for at most %d accounts", PROFILE_IDS_CAP);
		goto out;
	}
	for (size_t i = 0; filter && i < json_object_array_length(filter); i++)
		if (platform_index(json_object_get_string(json_object_array_get_idx(filter, i))) < 0) {
			set_error(rq, 422, "each value in platforms must be one of the following values: facebook, "
				  "instagram, linkedin, google, pinterest, youtube, tiktok");
			goto out;
		}
	/* Platforms of the asked accounts of this location, in the filter. */
	for (size_t i = 0; i < json_object_array_length(ids); i++) {
		const char *id = json_object_get_string(json_object_array_get_idx(ids, i));

		for (int k = 0; k < l->nplat; k++) {
			char profile[25], oauth[25];

			account_ids((size_t)li, l->plat[k], profile, oauth);
			if (strcmp(id, profile) == 0)
				want[l->plat[k]] = 1;
		}
	}
	for (size_t i = 0; filter && i < NPLAT; i++) {
		int in = 0;

		for (size_t j = 0; j < json_object_array_length(filter); j++)
			in |= strcmp(platforms[i], json_object_get_string(json_object_array_get_idx(filter, j))) == 0;
		want[i] &= in;
	}
	for (int p = 0; p < NPLAT; p++)
		if (want[p])
			plats[n++] = p;

	r = json_object_new_object();
	json_object_object_add(r, "dayRange", day_range());
	x = json_object_new_object(); /* postPerformance.posts */
	for (int i = 0; i < n; i++) {
		long v[7];

		for (int d = 0; d < 7; d++) {
			v[d] = stat_value(l, plats[i], M_POSTS, d + 7);
			sum[0][d] += v[d];
			sum[1][d] += stat_value(l, plats[i], M_IMPRESSIONS, d + 7);
			sum[2][d] += stat_value(l, plats[i], M_LIKES, d + 7);
			sum[3][d] += stat_value(l, plats[i], M_COMMENTS, d + 7);
		}
		followers += stat_value(l, plats[i], M_FOLLOWERS, 13);
		json_object_object_add(x, platforms[plats[i]], series_json(v));
	}
	o = json_object_new_object();
	{
		long t[4] = { 0 };

		for (int k = 0; k < 4; k++)
			for (int d = 0; d < 7; d++)
				t[k] += sum[k][d];
		put_int(o, "posts", t[0]);
		put_int(o, "likes", t[2]);
		put_int(o, "followers", followers);
		put_int(o, "impressions", t[1]);
		put_int(o, "comments", t[3]);
	}
	json_object_object_add(r, "totals", o);
	o = json_object_new_object();
	json_object_object_add(o, "posts", x);
	json_object_object_add(o, "impressions", series_json(sum[1]));
	json_object_object_add(o, "likes", series_json(sum[2]));
	json_object_object_add(o, "comments", series_json(sum[3]));
	json_object_object_add(r, "postPerformance", o);

	o = json_object_new_object();
	json_object_object_add(o, "posts", breakdown(l, plats, n, M_POSTS));
	json_object_object_add(o, "impressions", breakdown(l, plats, n, M_IMPRESSIONS));
	json_object_object_add(o, "reach", breakdown(l, plats, n, M_REACH));
	x = json_object_new_object();
	for (int i = 0; i < n; i++) {
		struct json_object *e = json_object_new_object();
		long cur[3], prev[3];

		week_sums(l, plats[i], M_LIKES, &cur[0], &prev[0]);
		week_sums(l, plats[i], M_COMMENTS, &cur[1], &prev[1]);
		week_sums(l, plats[i], M_SHARES, &cur[2], &prev[2]);
		put_int(e, "likes", cur[0]);
		put_int(e, "comments", cur[1]);
		put_int(e, "shares", cur[2]);
		put_double(e, "change", change(cur[0] + cur[1] + cur[2], prev[0] + prev[1] + prev[2]));
		json_object_object_add(x, platforms[plats[i]], e);
	}
	json_object_object_add(o, "engagement", x);
	json_object_object_add(r, "breakdowns", o);

	o = json_object_new_object();
	json_object_object_add(o, "impressions", platform_totals(l, plats, n, M_IMPRESSIONS));
	json_object_object_add(o, "followers", platform_totals(l, plats, n, M_FOLLOWERS));
	json_object_object_add(o, "likes", platform_totals(l, plats, n, M_LIKES));
	json_object_object_add(r, "platformTotals", o);
	json_object_object_add(r, "demographics", demographics(followers));

	o = json_object_new_object();
	json_object_object_add(o, "results", r);
	put_str(o, "message", "Analytics Built Successfully");
	set_json(rq, 201, o);
out:
	json_object_put(body);
}

/* ---- contacts ---------------------------------------------------------------------- */

static void put_time(struct json_object *o, const char *k, int64_t ms)
{
	char ts[32];

	fg_iso_time(ms, ts, sizeof(ts));
	put_str(o, k, ts);
}

/* s in lower case, under key k (GHL's *LowerCase search fields). */
static void put_lower(struct json_object *o, const char *k, const char *s)
{
	char *t = strdup(s);

	if (!t)
		return;
	for (char *p = t; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	put_str(o, k, t);
	free(t);
}

/* A copy, not a reference: control answers are written out after w.mu is released. */
static struct json_object *custom_json(const struct contact *c)
{
	size_t n = c->custom ? json_object_array_length(c->custom) : 0;
	struct json_object *a = json_object_new_array_ext((int)n);

	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(c->custom, i), *o = json_object_new_object(), *v;

		json_object_object_get_ex(e, "id", &v);
		put_str(o, "id", json_object_get_string(v));
		json_object_object_get_ex(e, "value", &v);
		put_str(o, "value", json_object_get_string(v));
		json_object_array_add(a, o);
	}
	return a;
}

static struct json_object *tags_json(const struct contact *c)
{
	struct json_object *a = json_object_new_array_ext((int)c->ntags);

	for (size_t i = 0; i < c->ntags; i++)
		json_object_array_add(a, json_object_new_string(c->tags[i]));
	return a;
}

/* A contact as GetContectByIdSchema has it; fields not set are left out
 * (the schema has no nullable ones). */
static struct json_object *contact_json(const struct contact *c)
{
	struct json_object *o = json_object_new_object();

	put_str(o, "id", c->id);
	put_str(o, "locationId", w.loc[c->loc].id);
	for (int i = 0; i < NCF; i++)
		if (c->f[i])
			put_str(o, cf_names[i], c->f[i]);
	if (c->f[CF_FIRST])
		put_lower(o, "firstNameLowerCase", c->f[CF_FIRST]);
	if (c->f[CF_LAST])
		put_lower(o, "lastNameLowerCase", c->f[CF_LAST]);
	if (c->f[CF_NAME])
		put_lower(o, "fullNameLowerCase", c->f[CF_NAME]);
	if (c->f[CF_EMAIL])
		put_lower(o, "emailLowerCase", c->f[CF_EMAIL]);
	put_str(o, "type", "lead");
	put_bool(o, "dnd", c->dnd);
	json_object_object_add(o, "tags", tags_json(c));
	json_object_object_add(o, "customFields", custom_json(c));
	put_time(o, "dateAdded", c->added_ms);
	put_time(o, "dateUpdated", c->updated_ms);
	return o;
}

/* A string member of the body: NULL when absent, not a string or blank. */
static const char *body_text(struct json_object *body, const char *key)
{
	struct json_object *v;
	size_t n;

	if (!json_object_object_get_ex(body, key, &v) || !is_string(v))
		return NULL;
	trimmed(json_object_get_string(v), &n);
	return n ? json_object_get_string(v) : NULL;
}

/* POST /contacts/upsert: by e-mail, else by phone; when the e-mail finds
 * one contact and the phone another, the e-mail's wins and the phone is
 * left out (GHL's "ignore the second field to prevent duplication"). */
static void h_contact_upsert(struct fh_req *rq, int li)
{
	struct json_object *body = json_body(rq), *o;
	const char *email, *phone;
	struct contact *c, *by_phone;
	int64_t now = fh_wall_ms();
	int isnew = 0, rc;
	char msg[256];

	if (!body)
		return;
	if (contact_invalid(body, IN_UPSERT, msg, sizeof(msg))) {
		set_error(rq, 422, msg);
		goto out;
	}
	if (li < 0) {
		set_error(rq, 422, "locationId should not be empty");
		goto out;
	}
	email = body_text(body, "email");
	phone = body_text(body, "phone");
	if (!email && !phone) {
		set_error(rq, 422, "email or phone is required to upsert a contact");
		goto out;
	}
	c = email ? contact_by_email(&w.loc[li], email) : NULL;
	by_phone = phone ? contact_by_phone(&w.loc[li], phone) : NULL;
	if (!c && !(c = by_phone)) {
		if (w.loc[li].ncontacts >= MAX_CONTACTS) {
			set_error_fmt(rq, 422, "the fake keeps at most %d contacts a location", MAX_CONTACTS);
			goto out;
		}
		if (!(c = contact_new((size_t)li, now))) {
			set_error(rq, 500, "Internal server error");
			goto out;
		}
		isnew = 1;
	}
	rc = contact_apply(c, body, by_phone && by_phone != c);
	if (rc < 0) {
		set_error(rq, 500, "Internal server error");
		goto out;
	}
	if (rc)
		c->updated_ms = now;
	o = json_object_new_object();
	put_bool(o, "new", isnew);
	json_object_object_add(o, "contact", contact_json(c));
	/* 200 whether new or not: the spec declares no 201 here. */
	set_json(rq, 200, o);
out:
	json_object_put(body);
}

/* 1 when the body has only the keys listed (NULL-terminated), else 422. */
static int only_keys(struct fh_req *rq, struct json_object *body, const char *const *keys)
{
	json_object_object_foreach(body, k, v) {
		size_t i;

		(void)v;
		for (i = 0; keys[i] && strcmp(keys[i], k) != 0; i++)
			;
		if (!keys[i]) {
			set_error_fmt(rq, 422, "property %.64s should not exist", k);
			return 0;
		}
	}
	return 1;
}

/* POST and DELETE /contacts/{id}/tags {"tags":[..]}. */
static void h_contact_tags(struct fh_req *rq, struct contact *c, int del)
{
	static const char *const keys[] = { "tags", NULL };
	struct json_object *body = json_body(rq), *tags, *o;
	size_t n, fresh = 0;
	int changed = 0;

	if (!body)
		return;
	if (!only_keys(rq, body, keys) || !string_array(rq, body, "tags", 1, &tags))
		goto out;
	n = json_object_array_length(tags);
	for (size_t i = 0; i < n && !del; i++) {
		char *t = tag_norm(json_object_get_string(json_object_array_get_idx(tags, i)));

		fresh += t && *t && contact_tag_index(c, t) < 0;
		free(t);
	}
	if (c->ntags + fresh > CONTACT_TAGS_CAP) {
		set_error_fmt(rq, 422, "a contact has at most %d tags in the fake", CONTACT_TAGS_CAP);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const char *t = json_object_get_string(json_object_array_get_idx(tags, i));
		int rc = del ? contact_tag_remove(c, t) : contact_tag_add(c, t);

		if (rc < 0) {
			set_error(rq, 500, "Internal server error");
			goto out;
		}
		changed |= rc;
	}
	if (changed)
		c->updated_ms = fh_wall_ms();
	o = json_object_new_object();
	json_object_object_add(o, "tags", tags_json(c));
	set_json(rq, del ? 200 : 201, o);
out:
	json_object_put(body);
}

/* GET, PUT /contacts/{id} and its /tags; c is NULL for an unknown id. */
static void h_contact(struct fh_req *rq, enum ep ep, const char *method, struct contact *c)
{
	struct json_object *body, *o;
	char msg[256];
	int rc;

	if (!c) {
		set_error(rq, 404, "Contact not found");
		return;
	}
	if (ep == EP_C_TAGS) {
		h_contact_tags(rq, c, strcmp(method, "DELETE") == 0);
		return;
	}
	if (ep == EP_C_GET) {
		o = json_object_new_object();
		json_object_object_add(o, "contact", contact_json(c));
		set_json(rq, 200, o);
		return;
	}
	if (!(body = json_body(rq)))
		return;
	if (contact_invalid(body, IN_UPDATE, msg, sizeof(msg))) {
		set_error(rq, 422, msg);
	} else if ((rc = contact_apply(c, body, 0)) < 0) {
		set_error(rq, 500, "Internal server error");
	} else {
		if (rc)
			c->updated_ms = fh_wall_ms();
		o = json_object_new_object();
		put_bool(o, "succeded", 1);   /* sic: UpdateContactsSuccessfulResponseDto */
		json_object_object_add(o, "contact", contact_json(c));
		set_json(rq, 200, o);
	}
	json_object_put(body);
}

/* ---- contact search ------------------------------------------------------------------ */

/* "2026-11-30T12:00:00.000Z", without the fraction or the Z, or "2026-11-30",
 * all UTC, as ms since the epoch; -1 when it is none of those. */
static int parse_iso_ms(const char *s, int64_t *out)
{
	int y, mo, d, h = 0, mi = 0, se = 0, ms = 0, n = 0;
	struct tm tm;

	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
		return -1;
	s += n;
	if (*s == 'T') {
		if (sscanf(s, "T%2d:%2d:%2d%n", &h, &mi, &se, &n) != 3 || n != 9)
			return -1;
		s += n;
		if (*s == '.') {
			int scale = 100;

			for (s++; isdigit((unsigned char)*s); s++, scale /= 10)
				ms += (*s - '0') * scale;
		}
		if (*s == 'Z')
			s++;
	}
	if (*s || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*out = (int64_t)timegm(&tm) * 1000 + ms;
	return 0;
}

/* A time in a filter: ms since the epoch as a number, or an ISO string. */
static int filter_time(struct json_object *v, int64_t *out)
{
	if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) {
		*out = json_object_get_int64(v);
		return 0;
	}
	return is_string(v) ? parse_iso_ms(json_object_get_string(v), out) : -1;
}

enum ff { FF_TEXT, FF_TAGS, FF_TIME, FF_DND };

/* The filterable fields: text ones compare without regard to case. */
static const struct ffield {
	const char *name;
	enum ff kind;
	int cf;             /* FF_TEXT: the field, -1 for id; FF_TIME: 0 dateAdded, 1 dateUpdated */
} filter_fields[] = {
	{ "id", FF_TEXT, -1 }, { "email", FF_TEXT, CF_EMAIL }, { "phone", FF_TEXT, CF_PHONE },
	{ "firstName", FF_TEXT, CF_FIRST }, { "lastName", FF_TEXT, CF_LAST },
	{ "firstNameLowerCase", FF_TEXT, CF_FIRST }, { "lastNameLowerCase", FF_TEXT, CF_LAST },
	{ "fullNameLowerCase", FF_TEXT, CF_NAME }, { "companyName", FF_TEXT, CF_COMPANY },
	{ "source", FF_TEXT, CF_SOURCE }, { "city", FF_TEXT, CF_CITY }, { "state", FF_TEXT, CF_STATE },
	{ "country", FF_TEXT, CF_COUNTRY }, { "postalCode", FF_TEXT, CF_POSTAL },
	{ "assignedTo", FF_TEXT, CF_ASSIGNED }, { "tags", FF_TAGS, -1 }, { "dnd", FF_DND, -1 },
	{ "dateAdded", FF_TIME, 0 }, { "dateUpdated", FF_TIME, 1 },
};

static const struct ffield *ffield_find(const char *name)
{
	for (size_t i = 0; name && i < sizeof(filter_fields) / sizeof(filter_fields[0]); i++)
		if (strcmp(filter_fields[i].name, name) == 0)
			return &filter_fields[i];
	return NULL;
}

/* Which operators the fake knows for which kind of field. */
static int filter_op_ok(enum ff kind, const char *op)
{
	static const char *const text[] = { "eq", "not_eq", "contains", "not_contains", "exists", "not_exists", NULL };
	static const char *const tags[] = { "eq", "not_eq", "exists", "not_exists", NULL };
	static const char *const time[] = { "range", "exists", NULL };
	static const char *const dnd[] = { "eq", NULL };
	const char *const *ops = kind == FF_TEXT ? text : kind == FF_TAGS ? tags : kind == FF_TIME ? time : dnd;

	for (size_t i = 0; op && ops[i]; i++)
		if (strcmp(ops[i], op) == 0)
			return 1;
	return 0;
}

static int filters_invalid(struct json_object *filters, int depth, char *msg, size_t n);

/* One filter, or a group {group: AND|OR, filters: [..]}. */
static int filter_invalid(struct json_object *f, int depth, char *msg, size_t n)
{
	struct json_object *g, *v = NULL;
	const struct ffield *ff;
	const char *op;

	if (!json_object_is_type(f, json_type_object)) {
		snprintf(msg, n, "each value in filters must be an object");
		return 1;
	}
	if (json_object_object_get_ex(f, "group", &g)) {
		const char *gs = is_string(g) ? json_object_get_string(g) : "";

		if (strcmp(gs, "AND") && strcmp(gs, "OR")) {
			snprintf(msg, n, "a filter group must be AND or OR");
			return 1;
		}
		if (!json_object_object_get_ex(f, "filters", &v) || depth >= FILTER_DEPTH) {
			snprintf(msg, n, "a filter group needs filters (at most %d levels deep)", FILTER_DEPTH);
			return 1;
		}
		return filters_invalid(v, depth + 1, msg, n);
	}
	ff = ffield_find(seed_string(f, "field"));
	op = seed_string(f, "operator");
	if (!ff || !filter_op_ok(ff->kind, op)) {
		snprintf(msg, n, "filter on field %.64s with operator %.32s is not supported by the fake",
			 seed_string(f, "field") ? seed_string(f, "field") : "(none)", op ? op : "(none)");
		return 1;
	}
	if (!strcmp(op, "exists") || !strcmp(op, "not_exists"))
		return 0;
	json_object_object_get_ex(f, "value", &v);
	if (!strcmp(op, "range")) {
		int any = 0;
		int64_t t;

		if (!json_object_is_type(v, json_type_object)) {
			snprintf(msg, n, "a range filter needs a value with gt, gte, lt or lte");
			return 1;
		}
		json_object_object_foreach(v, k, x) {
			if (strcmp(k, "gt") && strcmp(k, "gte") && strcmp(k, "lt") && strcmp(k, "lte"))
				continue;
			if (filter_time(x, &t) < 0) {
				snprintf(msg, n, "range values must be ms since the epoch or ISO 8601 times");
				return 1;
			}
			any = 1;
		}
		if (!any) {
			snprintf(msg, n, "a range filter needs a value with gt, gte, lt or lte");
			return 1;
		}
		return 0;
	}
	if (ff->kind == FF_DND ? !json_object_is_type(v, json_type_boolean) : !is_string(v)) {
		snprintf(msg, n, "the value of a filter on %s must be a %s", ff->name,
			 ff->kind == FF_DND ? "boolean" : "string");
		return 1;
	}
	return 0;
}

static int filters_invalid(struct json_object *filters, int depth, char *msg, size_t n)
{
	if (!json_object_is_type(filters, json_type_array)) {
		snprintf(msg, n, "filters must be an array");
		return 1;
	}
	for (size_t i = 0; i < json_object_array_length(filters); i++)
		if (filter_invalid(json_object_array_get_idx(filters, i), depth, msg, n))
			return 1;
	return 0;
}

static int filters_match(const struct contact *c, struct json_object *filters, int any);

/* Whether a contact passes one filter that filter_invalid accepted. */
static int filter_match(const struct contact *c, struct json_object *f)
{
	struct json_object *g, *v = NULL;
	const struct ffield *ff;
	const char *op, *val = NULL;

	if (json_object_object_get_ex(f, "group", &g)) {
		json_object_object_get_ex(f, "filters", &v);
		return filters_match(c, v, strcmp(json_object_get_string(g), "OR") == 0);
	}
	ff = ffield_find(seed_string(f, "field"));
	op = seed_string(f, "operator");
	json_object_object_get_ex(f, "value", &v);
	switch (ff->kind) {
	case FF_TEXT:
		val = ff->cf < 0 ? c->id : c->f[ff->cf];
		if (!strcmp(op, "exists") || !strcmp(op, "not_exists"))
			return !val == !strcmp(op, "not_exists");
		if (!strcmp(op, "eq") || !strcmp(op, "not_eq"))
			return (val && strcasecmp(val, json_object_get_string(v)) == 0) == !strcmp(op, "eq");
		return (val && strcasestr(val, json_object_get_string(v))) == !strcmp(op, "contains");
	case FF_TAGS:
		if (!strcmp(op, "exists") || !strcmp(op, "not_exists"))
			return !c->ntags == !strcmp(op, "not_exists");
		{
			char *t = tag_norm(json_object_get_string(v));
			int has = t && contact_tag_index(c, t) >= 0;

			free(t);
			return has == !strcmp(op, "eq");
		}
	case FF_DND:
		return c->dnd == json_object_get_boolean(v);
	case FF_TIME: {
		int64_t at = ff->cf ? c->updated_ms : c->added_ms, t;
		int ok = 1;

		if (!strcmp(op, "exists"))
			return 1;
		json_object_object_foreach(v, k, x) {
			if (filter_time(x, &t) < 0)
				continue;
			if (!strcmp(k, "gt"))
				ok &= at > t;
			else if (!strcmp(k, "gte"))
				ok &= at >= t;
			else if (!strcmp(k, "lt"))
				ok &= at < t;
			else if (!strcmp(k, "lte"))
				ok &= at <= t;
		}
		return ok;
	}
	}
	return 0;
}

/* All of the filters (any: one of them) pass; no filters pass everything. */
static int filters_match(const struct contact *c, struct json_object *filters, int any)
{
	size_t n = filters ? json_object_array_length(filters) : 0;

	for (size_t i = 0; i < n; i++)
		if (filter_match(c, json_object_array_get_idx(filters, i)) == any)
			return any;
	return n == 0 || !any;
}

/* "query": a substring of a name, the e-mail, the phone or the company. */
static int query_match(const struct contact *c, const char *q)
{
	static const int fields[] = { CF_NAME, CF_FIRST, CF_LAST, CF_EMAIL, CF_PHONE, CF_COMPANY };

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (c->f[fields[i]] && strcasestr(c->f[fields[i]], q))
			return 1;
	return 0;
}

struct hit {
	int64_t key;    /* the sort field, ms */
	const struct contact *c;
};

static int hit_cmp(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return strcmp(x->c->id, y->c->id);
}

/* A whole number member in [min, max] or absent (*out = dflt): 1, else 422. */
static int body_int(struct fh_req *rq, struct json_object *body, const char *name, int64_t dflt, int64_t min,
		    int64_t max, int64_t *out)
{
	struct json_object *v;

	*out = dflt;
	if (!json_object_object_get_ex(body, name, &v) || json_object_is_type(v, json_type_null))
		return 1;
	if (!json_object_is_type(v, json_type_int)) {
		set_error_fmt(rq, 422, "%s must be a number conforming to the specified constraints", name);
		return 0;
	}
	*out = json_object_get_int64(v);
	if (*out < min || *out > max) {
		set_error_fmt(rq, 422, "%s must not be %s than %lld", name, *out < min ? "less" : "greater",
			      (long long)(*out < min ? min : max));
		return 0;
	}
	return 1;
}

struct search {
	int64_t limit, page;
	struct json_object *after;      /* [ms, id] or NULL */
	struct json_object *filters;
	const char *query;
	int by_added, desc;
};

/* The search body's paging, sort, query and filters: 1, else an error is answered. */
static int search_parse(struct fh_req *rq, struct json_object *body, struct search *s)
{
	struct json_object *v;
	char msg[256];

	memset(s, 0, sizeof(*s));
	if (!json_object_object_get_ex(body, "pageLimit", NULL)) {
		set_error(rq, 422, "pageLimit should not be empty");
		return 0;
	}
	if (!body_int(rq, body, "pageLimit", 0, 1, SEARCH_LIMIT_MAX, &s->limit) ||
	    !body_int(rq, body, "page", 0, 1, SEARCH_WINDOW, &s->page))
		return 0;
	if (json_object_object_get_ex(body, "searchAfter", &v) && !json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) != 2 ||
		    !json_object_is_type(json_object_array_get_idx(v, 0), json_type_int) ||
		    !is_string(json_object_array_get_idx(v, 1))) {
			set_error(rq, 422, "searchAfter must be the [number, string] of a returned contact's searchAfter");
			return 0;
		}
		s->after = v;
	}
	if (s->after && s->page) {
		set_error(rq, 422, "page cannot be used with searchAfter");
		return 0;
	}
	if (!s->page)
		s->page = 1;
	if (s->page * s->limit > SEARCH_WINDOW) {
		set_error_fmt(rq, 422, "page x pageLimit must not exceed %d: use searchAfter beyond", SEARCH_WINDOW);
		return 0;
	}
	if (json_object_object_get_ex(body, "query", &v) && !json_object_is_type(v, json_type_null)) {
		if (!is_string(v) || strlen(json_object_get_string(v)) > SEARCH_QUERY_MAX) {
			set_error_fmt(rq, 422, "query must be a string of at most %d characters", SEARCH_QUERY_MAX);
			return 0;
		}
		s->query = json_object_get_string(v);
	}
	if (json_object_object_get_ex(body, "filters", &v) && !json_object_is_type(v, json_type_null)) {
		if (filters_invalid(v, 0, msg, sizeof(msg))) {
			set_error(rq, 422, msg);
			return 0;
		}
		s->filters = v;
	}
	if (json_object_object_get_ex(body, "sort", &v) && !json_object_is_type(v, json_type_null)) {
		struct json_object *e = json_object_is_type(v, json_type_array) && json_object_array_length(v) == 1 ?
					json_object_array_get_idx(v, 0) : NULL;
		const char *field = e ? seed_string(e, "field") : NULL, *dir = e ? seed_string(e, "direction") : NULL;

		if (!field || (strcmp(field, "dateUpdated") && strcmp(field, "dateAdded")) ||
		    (dir && strcmp(dir, "asc") && strcmp(dir, "desc"))) {
			set_error(rq, 422, "sort: the fake sorts by one field, dateUpdated or dateAdded, asc or desc");
			return 0;
		}
		s->by_added = strcmp(field, "dateAdded") == 0;
		s->desc = dir && strcmp(dir, "desc") == 0;
	}
	return 1;
}

/* POST /contacts/search: matches ordered by dateUpdated (or the sort
 * field), then id; "page" or "searchAfter" (a contact's [ms, id]) pages. */
static void h_contact_search(struct fh_req *rq, int li)
{
	struct json_object *body = json_body(rq), *o, *a;
	const struct location *l;
	struct search s;
	struct hit *hits = NULL;
	size_t n = 0, from = 0;

	if (!body)
		return;
	if (!search_parse(rq, body, &s))
		goto out;
	if (li < 0) {
		set_error(rq, 422, "locationId should not be empty");
		goto out;
	}
	l = &w.loc[li];
	if (l->ncontacts && !(hits = malloc(l->ncontacts * sizeof(*hits)))) {
		set_error(rq, 500, "Internal server error");
		goto out;
	}
	for (size_t i = 0; i < l->ncontacts; i++) {
		const struct contact *c = l->contacts[i];

		if (c->deleted || (s.query && !query_match(c, s.query)) || !filters_match(c, s.filters, 0))
			continue;
		hits[n].key = s.by_added ? c->added_ms : c->updated_ms;
		hits[n++].c = c;
	}
	if (n)
		qsort(hits, n, sizeof(*hits), hit_cmp);
	if (s.desc)
		for (size_t i = 0; i < n / 2; i++) {
			struct hit t = hits[i];

			hits[i] = hits[n - 1 - i];
			hits[n - 1 - i] = t;
		}
	if (s.after) {
		struct contact key = { .id = "" };
		struct hit at = { json_object_get_int64(json_object_array_get_idx(s.after, 0)), &key };

		snprintf(key.id, sizeof(key.id), "%s", json_object_get_string(json_object_array_get_idx(s.after, 1)));
		/* Past the cursor: in ascending order what is not above it, in
		 * descending order what is not below it. */
		while (from < n && (s.desc ? hit_cmp(&hits[from], &at) >= 0 : hit_cmp(&hits[from], &at) <= 0))
			from++;
	} else {
		from = (size_t)((s.page - 1) * s.limit);
	}
	a = json_object_new_array();
	for (size_t i = from; i < n && i < from + (size_t)s.limit; i++) {
		struct json_object *e = contact_json(hits[i].c), *sa = json_object_new_array_ext(2);

		json_object_array_add(sa, json_object_new_int64(hits[i].key));
		json_object_array_add(sa, json_object_new_string(hits[i].c->id));
		json_object_object_add(e, "searchAfter", sa);
		json_object_array_add(a, e);
	}
	o = json_object_new_object();
	json_object_object_add(o, "contacts", a);
	put_int(o, "total", (int64_t)n);
	set_json(rq, 200, o);
out:
	free(hits);
	json_object_put(body);
}

/* ---- pipelines and opportunities --------------------------------------------------- */

static struct json_object *pipeline_json(const struct location *l)
{
	struct json_object *p = json_object_new_object(), *a = json_object_new_array_ext(NSTAGES);
	char id[32];

	pipeline_id(l, id);
	put_str(p, "id", id);
	put_str(p, "name", "Bookings");
	for (int k = 0; k < NSTAGES; k++) {
		struct json_object *s = json_object_new_object();

		stage_id(l, k, id);
		put_str(s, "id", id);
		put_str(s, "name", stage_names[k]);
		put_int(s, "position", k);
		put_bool(s, "showInFunnel", 1);
		put_bool(s, "showInPieChart", 1);
		json_object_array_add(a, s);
	}
	json_object_object_add(p, "stages", a);
	put_bool(p, "showInFunnel", 1);
	put_bool(p, "showInPieChart", 1);
	put_str(p, "locationId", l->id);
	return p;
}

static void h_pipelines(struct fh_req *rq, int li)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array_ext(1);

	json_object_array_add(a, pipeline_json(&w.loc[li]));
	json_object_object_add(o, "pipelines", a);
	set_json(rq, 200, o);
}

/* An opportunity as SearchOpportunitiesResponseSchema has it. */
static struct json_object *opp_json(const struct opp *op)
{
	const struct contact *c = op->contact;
	const struct location *l = &w.loc[c->loc];
	struct json_object *o = json_object_new_object(), *ct = json_object_new_object();
	char id[32];

	put_str(o, "id", op->id);
	put_str(o, "name", op->name ? op->name : "");
	if (op->value == (double)(int64_t)op->value)
		put_int(o, "monetaryValue", (int64_t)op->value);
	else
		put_double(o, "monetaryValue", op->value);
	pipeline_id(l, id);
	put_str(o, "pipelineId", id);
	stage_id(l, op->stage, id);
	put_str(o, "pipelineStageId", id);
	if (op->assigned_to)
		put_str(o, "assignedTo", op->assigned_to);
	put_str(o, "status", opp_status_names[op->status]);
	put_str(o, "source", "");
	put_time(o, "lastStatusChangeAt", op->status_ms);
	put_time(o, "lastStageChangeAt", op->stage_ms);
	put_time(o, "createdAt", op->created_ms);
	put_time(o, "updatedAt", op->updated_ms);
	put_str(o, "contactId", c->id);
	put_str(o, "locationId", l->id);
	put_str(ct, "id", c->id);
	if (c->f[CF_NAME])
		put_str(ct, "name", c->f[CF_NAME]);
	if (c->f[CF_COMPANY])
		put_str(ct, "companyName", c->f[CF_COMPANY]);
	if (c->f[CF_EMAIL])
		put_str(ct, "email", c->f[CF_EMAIL]);
	if (c->f[CF_PHONE])
		put_str(ct, "phone", c->f[CF_PHONE]);
	json_object_object_add(ct, "tags", tags_json(c));
	json_object_object_add(o, "contact", ct);
	if (op->lost_reason)
		put_str(o, "lostReasonId", op->lost_reason);
	json_object_object_add(o, "followers", json_object_new_array());
	json_object_object_add(o, "customFields", json_object_new_array());
	return o;
}

static int status_index(const char *s)
{
	for (int i = 0; s && opp_status_names[i]; i++)
		if (strcmp(s, opp_status_names[i]) == 0)
			return i;
	return -1;
}

/* The upsert body's members and types (UpsertOpportunityDto, plus contactId): 1, else 422. */
static int opp_body_ok(struct fh_req *rq, struct json_object *body)
{
	static const char *const keys[] = {
		"id", "pipelineId", "locationId", "contactId", "followers", "isRemoveAllFollowers",
		"followersActionType", "name", "status", "pipelineStageId", "monetaryValue", "assignedTo",
		"lostReasonId", NULL
	};
	static const char *const strings[] = {
		"id", "pipelineId", "locationId", "contactId", "name", "pipelineStageId", "assignedTo", "lostReasonId", NULL
	};
	struct json_object *v, *f;
	const char *act;

	if (!only_keys(rq, body, keys))
		return 0;
	for (size_t i = 0; strings[i]; i++)
		if (json_object_object_get_ex(body, strings[i], &v) && !is_string(v) &&
		    !json_object_is_type(v, json_type_null)) {
			set_error_fmt(rq, 422, "%s must be a string", strings[i]);
			return 0;
		}
	if (json_object_object_get_ex(body, "status", &v) && status_index(json_object_get_string(v)) < 0) {
		set_error(rq, 422, "status must be one of the following values: open, won, lost, abandoned");
		return 0;
	}
	if (json_object_object_get_ex(body, "monetaryValue", &v) && !json_object_is_type(v, json_type_int) &&
	    !json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_null)) {
		set_error(rq, 422, "monetaryValue must be a number");
		return 0;
	}
	/* Required by the spec, though the fake keeps no followers. */
	act = seed_string(body, "followersActionType");
	if (!act || (strcmp(act, "add") && strcmp(act, "remove"))) {
		set_error(rq, 422, "followersActionType must be one of the following values: add, remove");
		return 0;
	}
	if (!json_object_object_get_ex(body, "isRemoveAllFollowers", &v) ||
	    !json_object_is_type(v, json_type_boolean)) {
		set_error(rq, 422, "isRemoveAllFollowers must be a boolean value");
		return 0;
	}
	return string_array(rq, body, "followers", 1, &f);
}

static struct opp *opp_find(const struct location *l, const char *id)
{
	for (size_t i = 0; i < l->nopps; i++)
		if (!l->opps[i]->deleted && strcmp(l->opps[i]->id, id) == 0)
			return l->opps[i];
	return NULL;
}

/* Writes the checked body into the opportunity: 1 changed, 0 not, -1 out of memory. */
static int opp_apply(struct opp *op, struct json_object *body, int stage, int64_t now)
{
	struct json_object *v;
	int changed = 0, rc;
	const char *st;

	if (stage >= 0 && stage != op->stage) {
		op->stage = stage;
		op->stage_ms = now;
		changed = 1;
	}
	st = body_text(body, "status");
	if (st && status_index(st) != (int)op->status) {
		op->status = (enum opp_status)status_index(st);
		op->status_ms = now;
		changed = 1;
	}
	if (json_object_object_get_ex(body, "monetaryValue", &v) && json_object_get_double(v) != op->value) {
		op->value = json_object_get_double(v);
		changed = 1;
	}
	if (json_object_object_get_ex(body, "name", &v)) {
		if ((rc = set_field(&op->name, json_object_get_string(v))) < 0)
			return -1;
		changed |= rc;
	}
	if (json_object_object_get_ex(body, "assignedTo", &v)) {
		if ((rc = set_field(&op->assigned_to, json_object_get_string(v))) < 0)
			return -1;
		changed |= rc;
	}
	if (json_object_object_get_ex(body, "lostReasonId", &v)) {
		if ((rc = set_field(&op->lost_reason, json_object_get_string(v))) < 0)
			return -1;
		changed |= rc;
	}
	return changed;
}

/* POST /opportunities/upsert: the one opportunity of (contactId, pipelineId)
 * is updated, else created; or the one named by "id". */
static void h_opp_upsert(struct fh_req *rq, int li)
{
	struct json_object *body = json_body(rq), *o;
	const char *pid, *cid, *oid, *sid;
	struct location *l;
	struct contact *c = NULL;
	struct opp *op = NULL;
	int64_t now = fh_wall_ms();
	int stage = -1, isnew = 0, rc;
	char want[32];

	if (!body)
		return;
	if (!opp_body_ok(rq, body))
		goto out;
	if (li < 0) {
		set_error(rq, 422, "locationId should not be empty");
		goto out;
	}
	l = &w.loc[li];
	pid = body_text(body, "pipelineId");
	cid = body_text(body, "contactId");
	oid = body_text(body, "id");
	sid = body_text(body, "pipelineStageId");
	if (!pid) {
		set_error(rq, 422, "pipelineId should not be empty");
		goto out;
	}
	if (!oid && !cid) {
		set_error(rq, 422, "contactId should not be empty");
		goto out;
	}
	pipeline_id(l, want);
	if (strcmp(pid, want) != 0) {
		set_error(rq, 400, "Pipeline not found");
		goto out;
	}
	if (sid && (stage = stage_find(l, sid)) < 0) {
		set_error(rq, 400, "Pipeline stage not found in the pipeline");
		goto out;
	}
	if (cid && (!(c = contact_find(cid)) || c->loc != li)) {
		set_error(rq, 400, "Contact not found");
		goto out;
	}
	if (oid && (!(op = opp_find(l, oid)) || (c && op->contact != c))) {
		set_error(rq, 400, op ? "The opportunity belongs to another contact" : "Opportunity not found");
		goto out;
	}
	if (!op && !(op = c->opp)) {
		if (!(op = opp_new(c, now)) || set_field(&op->name, c->f[CF_NAME] ? c->f[CF_NAME] : c->id) < 0) {
			set_error(rq, 500, "Internal server error");
			goto out;
		}
		isnew = 1;
	}
	if ((rc = opp_apply(op, body, stage, now)) < 0) {
		set_error(rq, 500, "Internal server error");
		goto out;
	}
	if (rc)
		op->updated_ms = now;
	o = json_object_new_object();
	json_object_object_add(o, "opportunity", opp_json(op));
	put_bool(o, "new", isnew);
	/* 200 whether new or not: the spec declares no 201 here. */
	set_json(rq, 200, o);
out:
	json_object_put(body);
}

/* Whether an opportunity passes the search's query filters. */
static int opp_match(struct MHD_Connection *c, const struct location *l, const struct opp *op)
{
	const char *cid = fh_query(c, "contact_id"), *pid = fh_query(c, "pipeline_id");
	const char *sid = fh_query(c, "pipeline_stage_id"), *st = fh_query(c, "status");
	const char *id = fh_query(c, "id"), *q = fh_query(c, "q");
	char s[32];

	if (cid && *cid && strcmp(cid, op->contact->id))
		return 0;
	pipeline_id(l, s);
	if (pid && *pid && strcmp(pid, s))
		return 0;
	stage_id(l, op->stage, s);
	if (sid && *sid && strcmp(sid, s))
		return 0;
	if (st && *st && strcmp(st, "all") && strcmp(st, opp_status_names[op->status]))
		return 0;
	if (id && *id && strcmp(id, op->id))
		return 0;
	return !q || !*q || (op->name && strcasestr(op->name, q)) || query_match(op->contact, q);
}

/* The URL of the page after the one answered: the same filters, the last
 * opportunity as the startAfter cursor. */
static void next_page_url(struct MHD_Connection *c, const struct opp *last, long limit, char *out, size_t n)
{
	static const char *const keep[] = {
		"location_id", "contact_id", "pipeline_id", "pipeline_stage_id", "status", "id", "q", NULL
	};
	const char *host = fh_header_in(c, "Host");
	struct fh_qbuf q;
	char buf[2048], num[32];

	fh_qbuf_init(&q, buf, sizeof(buf), "?");
	fh_qbuf_add(&q, "http://", 0);
	fh_qbuf_add(&q, host && strlen(host) < 256 ? host : "127.0.0.1", 0);
	fh_qbuf_add(&q, "/opportunities/search", 0);
	for (size_t i = 0; keep[i]; i++) {
		const char *v = fh_query(c, keep[i]);

		if (v && *v)
			fh_qbuf_param(&q, keep[i], v);
	}
	snprintf(num, sizeof(num), "%ld", limit);
	fh_qbuf_param(&q, "limit", num);
	snprintf(num, sizeof(num), "%lld", (long long)last->created_ms);
	fh_qbuf_param(&q, "startAfter", num);
	fh_qbuf_param(&q, "startAfterId", last->id);
	snprintf(out, n, "%s", buf);
}

static int opp_cmp(const void *a, const void *b)
{
	const struct opp *x = *(const struct opp *const *)a, *y = *(const struct opp *const *)b;

	if (x->created_ms != y->created_ms)
		return x->created_ms < y->created_ms ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* GET /opportunities/search?location_id=L: oldest first (createdAt, then
 * id); startAfter + startAfterId skip to after that opportunity, then
 * page/limit count pages from there. */
static void h_opp_search(struct MHD_Connection *c, struct fh_req *rq, int li)
{
	const struct location *l = &w.loc[li];
	const char *st = fh_query(c, "status"), *sa = fh_query(c, "startAfter"), *said = fh_query(c, "startAfterId");
	struct json_object *o, *a, *meta;
	const struct opp *last = NULL, **all = NULL;
	long page, limit, total = 0, skip;
	int64_t after = 0;
	int more = 0;

	if (!paging_param(c, rq, "page", 1, 1, 1000000000, &page) ||
	    !paging_param(c, rq, "limit", 20, 1, OPP_LIMIT_MAX, &limit))
		return;
	if (st && *st && strcmp(st, "all") && status_index(st) < 0) {
		set_error(rq, 422, "status must be one of the following values: open, won, lost, abandoned, all");
		return;
	}
	if (sa && *sa) {
		long v;

		if (fh_parse_long(sa, &v) < 0) {
			set_error(rq, 422, "startAfter must be a number conforming to the specified constraints");
			return;
		}
		after = v;
	}
	if (l->nopps && !(all = malloc(l->nopps * sizeof(*all)))) {
		set_error(rq, 500, "Internal server error");
		return;
	}
	for (size_t i = 0; i < l->nopps; i++)
		if (!l->opps[i]->deleted && opp_match(c, l, l->opps[i]))
			all[total++] = l->opps[i];
	if (total)
		qsort(all, (size_t)total, sizeof(*all), opp_cmp);
	skip = (page - 1) * limit;
	a = json_object_new_array();
	for (long i = 0; i < total; i++) {
		const struct opp *op = all[i];

		if (sa && *sa && (op->created_ms < after ||
				  (op->created_ms == after && said && strcmp(op->id, said) <= 0)))
			continue;
		if (skip > 0) {
			skip--;
		} else if ((long)json_object_array_length(a) < limit) {
			json_object_array_add(a, opp_json(op));
			last = op;
		} else {
			more = 1;
			break;
		}
	}
	free(all);
	meta = json_object_new_object();
	put_int(meta, "total", total);
	put_int(meta, "currentPage", page);
	if (page > 1)
		put_int(meta, "prevPage", page - 1);
	if (last) {
		put_int(meta, "startAfter", last->created_ms);
		put_str(meta, "startAfterId", last->id);
	}
	if (more) {
		char url[2048];

		put_int(meta, "nextPage", page + 1);
		next_page_url(c, last, limit, url, sizeof(url));
		put_str(meta, "nextPageUrl", url);
	}
	o = json_object_new_object();
	json_object_object_add(o, "opportunities", a);
	json_object_object_add(o, "meta", meta);
	set_json(rq, 200, o);
}

/* ---- routing and access ------------------------------------------------------------ */

#define SMP "/social-media-posting/"

/* /contacts/...: the id of a contact path goes to id. */
static enum ep route_contacts(const char *rest, const char *method, char *id, size_t idlen)
{
	int get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
	const char *slash = strchr(rest, '/');
	size_t n = slash ? (size_t)(slash - rest) : strlen(rest);

	if (strcmp(rest, "upsert") == 0)
		return post ? EP_C_UPSERT : EP_NONE;
	if (strcmp(rest, "search") == 0)
		return post ? EP_C_SEARCH : EP_NONE;
	if (!n || n >= idlen)
		return EP_NONE;
	snprintf(id, idlen, "%.*s", (int)n, rest);
	if (!slash)
		return get ? EP_C_GET : strcmp(method, "PUT") == 0 ? EP_C_UPDATE : EP_NONE;
	if (strcmp(slash, "/tags") == 0)
		return post || strcmp(method, "DELETE") == 0 ? EP_C_TAGS : EP_NONE;
	return EP_NONE;
}

/* Which operation a request is; location paths copy their {locationId},
 * contact paths their {contactId}. */
static enum ep route(const char *url, const char *method, char *loc, size_t loclen)
{
	int get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
	const char *rest, *slash;

	if (strncmp(url, "/contacts/", 10) == 0)
		return route_contacts(url + 10, method, loc, loclen);
	if (strcmp(url, "/opportunities/upsert") == 0)
		return post ? EP_O_UPSERT : EP_NONE;
	if (strcmp(url, "/opportunities/search") == 0)
		return get ? EP_O_SEARCH : EP_NONE;
	if (strcmp(url, "/opportunities/pipelines") == 0)
		return get ? EP_PIPELINES : EP_NONE;
	if (strcmp(url, "/oauth/token") == 0)
		return post ? EP_TOKEN : EP_NONE;
	if (strcmp(url, "/oauth/locationToken") == 0)
		return post ? EP_LOCTOKEN : EP_NONE;
	if (strcmp(url, "/oauth/installedLocations") == 0)
		return get ? EP_INSTALLED : EP_NONE;
	if (strcmp(url, SMP "statistics") == 0)
		return post ? EP_STATS : EP_NONE;
	if (strncmp(url, SMP, strlen(SMP)) != 0)
		return EP_NONE;
	rest = url + strlen(SMP);
	slash = strchr(rest, '/');
	if (!slash || slash == rest || (size_t)(slash - rest) >= loclen)
		return EP_NONE;
	snprintf(loc, loclen, "%.*s", (int)(slash - rest), rest);
	if (strcmp(slash, "/tags") == 0)
		return get ? EP_TAGS : EP_NONE;
	if (strcmp(slash, "/tags/details") == 0)
		return post ? EP_DETAILS : EP_NONE;
	if (strcmp(slash, "/accounts") == 0)
		return get ? EP_ACCOUNTS : EP_NONE;
	return EP_NONE;
}

struct auth {
	int company;    /* an agency token */
	int pit;
	int loc;        /* the one location the token may use; -1: any */
};

/* 1 when the request's Bearer token is valid now (*a filled); else a 401
 * is answered. */
static int authenticate(struct MHD_Connection *c, struct fh_req *rq, struct auth *a)
{
	const char *h = fh_header_in(c, "Authorization");
	struct tok *t;

	memset(a, 0, sizeof(*a));
	a->loc = -1;
	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		goto invalid;
	h += 7;
	while (*h == ' ')
		h++;
	for (size_t i = 0; i < w.npits; i++)
		if (strcmp(h, w.pits[i].token) == 0) {
			a->company = w.pits[i].company;
			a->pit = !a->company;
			a->loc = w.pits[i].loc;
			return 1;
		}
	t = tok_find(h);
	if (!t || t->kind != TK_ACCESS || t->expires_ms <= fh_mono_ms())
		goto invalid;
	a->company = t->company;
	a->loc = t->company ? -1 : t->loc;
	return 1;
invalid:
	set_unauthorized(rq);
	return 0;
}

/* Every request but the token exchange gets here; 0 after answering.
 * unknown: which location the request is about cannot be told yet (a
 * contact id that does not exist, a body that is not a JSON object): only
 * the token and Version are checked, and the resource is the token's
 * location if it has one. */
static int check_access(struct MHD_Connection *c, struct call *k, const char *locid, int unknown)
{
	struct fh_req *rq = k->rq;
	enum ep ep = k->ep;
	const char *version, *want;
	struct auth a;
	int agency = ep == EP_LOCTOKEN || ep == EP_INSTALLED;
	int li;

	if (!authenticate(c, rq, &a))
		return 0;
	if (ep == EP_CATALOG)
		agency = k->wh.who == FGC_AGENCY || (k->wh.who == FGC_EITHER && a.company && !a.pit);
	if (agency != (a.company && !a.pit)) {
		set_error(rq, 401, AUTHCLASS_MSG);
		return 0;
	}
	version = fh_header_in(c, "Version");
	want = ep == EP_CATALOG && k->wh.version ? k->wh.version : API_VERSION;
	/* "*": the route's spec declares no Version; any one is taken */
	if (!version || (strcmp(want, "*") != 0 && strcmp(version, want) != 0)) {
		set_error_fmt(rq, 422, "version header must be one of: %s", want);
		return 0;
	}
	if (agency) {
		k->resource = (int)w.nloc;
		return 1;
	}
	if (unknown) {
		k->resource = a.loc;
		return 1;
	}
	if (!locid || !*locid) {
		set_error(rq, 422, "locationId should not be empty");
		return 0;
	}
	li = loc_find(locid);
	if (a.loc >= 0 && a.loc != li) {
		set_error(rq, 403, "The token does not have access to this location");
		return 0;
	}
	if (li < 0) {
		set_error(rq, 404, "Location not found");
		return 0;
	}
	k->resource = li;
	return 1;
}

/* The "locationId" of a JSON body, looked at before the token is: a copy,
 * NULL when absent; *unknown when the body is no JSON object (answered 400
 * or 422 once the token passed). */
static char *body_location(const struct fh_req *rq, int *unknown)
{
	struct json_object *o = rq->len ? json_tokener_parse(rq->body) : NULL;
	const char *s;
	char *loc = NULL;

	*unknown = rq->len && !json_object_is_type(o, json_type_object);
	if (!*unknown && (s = seed_string(o, "locationId")) && !(loc = strdup(s)))
		*unknown = 1;
	json_object_put(o);
	return loc;
}

/* The token, the Version and the location of an API request; 0 after answering. */
static int access_for(struct MHD_Connection *c, struct call *k, const char *arg, struct contact **contact)
{
	const char *where = arg;
	char *copy = NULL;
	int unknown = 0, ok;

	switch (k->ep) {
	case EP_STATS:
	case EP_PIPELINES:
		where = fh_query(c, "locationId");
		break;
	case EP_O_SEARCH:
		where = fh_query(c, "location_id");
		break;
	case EP_C_UPSERT:
	case EP_C_SEARCH:
	case EP_O_UPSERT:
		where = copy = body_location(k->rq, &unknown);
		break;
	case EP_CATALOG:
		where = k->wh.loc;
		unknown = k->wh.unknown;
		break;
	case EP_C_GET:
	case EP_C_UPDATE:
	case EP_C_TAGS:
		*contact = contact_find(arg);
		unknown = !*contact;
		where = *contact ? w.loc[(*contact)->loc].id : NULL;
		break;
	default:
		break;
	}
	ok = check_access(c, k, where, unknown);
	free(copy);
	return ok;
}

/* The answer of a fault that answers instead of the request. */
static void fault_error(struct fh_req *rq, unsigned status)
{
	if (status == 401)
		set_unauthorized(rq);
	else if (status == 503)
		set_error(rq, 503, "Service Unavailable");
	else
		set_error(rq, status, "Internal server error");
}

/* The answer to an API request, without sending it: the status, body and
 * headers, rq->delay_ms, rq->reset; k->ep, k->resource. The caller holds w.mu. */
static void decide(struct MHD_Connection *c, const char *url, const char *method, struct call *k)
{
	struct fh_req *rq = k->rq;
	char locid[128] = "";
	enum ep ep = route(url, method, locid, sizeof(locid));
	struct contact *contact = NULL;
	int64_t extra = 0;
	unsigned fault;
	int li;

	if (ep == EP_NONE && (k->cat = fgc_route(url, method)) >= 0) {
		ep = EP_CATALOG;
		fgc_where(k->cat, c, rq, url, &k->wh);
	}
	k->ep = ep;
	k->resource = -1;
	rq->delay_ms = w.latency_ms;
	if (ep == EP_NONE) {
		char msg[300];

		snprintf(msg, sizeof(msg), "Cannot %.16s %.256s", method, url);
		set_error(rq, 404, msg);
		goto headers;
	}
	if (rq->too_big) {
		set_error(rq, 413, "request entity too large");
		goto headers;
	}
	if (ep == EP_TOKEN) {
		k->resource = (int)w.nloc;  /* shown, not counted */
	} else {
		if (!access_for(c, k, locid, &contact))
			goto headers;
		if (k->resource >= 0 && !quota_take(k->resource, &k->rl)) {
			struct json_object *o = json_object_new_object();

			put_int(o, "statusCode", 429);
			put_str(o, "message", "Too Many Requests");
			set_json(rq, 429, o);
			goto headers;
		}
	}
	fault = fh_fault_before(url, &rq->reset, &extra);
	rq->delay_ms += extra;
	if (fault)
		fault_error(rq, fault);
	if (fault || rq->reset)
		goto headers;
	li = k->resource;
	switch (ep) {
	case EP_TOKEN: h_token(rq); break;
	case EP_LOCTOKEN: h_location_token(rq); break;
	case EP_INSTALLED: h_installed(c, rq); break;
	case EP_TAGS: h_tags(c, rq, li); break;
	case EP_DETAILS: h_details(rq, li); break;
	case EP_ACCOUNTS: h_accounts(rq, li); break;
	case EP_STATS: h_statistics(rq, li); break;
	case EP_C_UPSERT: h_contact_upsert(rq, li); break;
	case EP_C_GET:
	case EP_C_UPDATE:
	case EP_C_TAGS: h_contact(rq, ep, method, contact); break;
	case EP_C_SEARCH: h_contact_search(rq, li); break;
	case EP_O_UPSERT: h_opp_upsert(rq, li); break;
	case EP_O_SEARCH: h_opp_search(c, rq, li); break;
	case EP_PIPELINES: h_pipelines(rq, li); break;
	case EP_CATALOG: fgc_handle(k->cat, c, rq, url, li == (int)w.nloc ? -1 : li); break;
	default: break;
	}
	fh_fault_after(url, rq);
headers:
	if (!k->rl.set)
		quota_peek(k->resource, &k->rl);
	fh_add_header(rq, "X-RateLimit-Limit-Daily", "%ld", w.daily);
	fh_add_header(rq, "X-RateLimit-Daily-Remaining", "%ld", k->rl.daily_remaining);
	fh_add_header(rq, "X-RateLimit-Interval-Milliseconds", "%lld", (long long)w.rate_ms);
	fh_add_header(rq, "X-RateLimit-Max", "%ld", w.rate_max);
	fh_add_header(rq, "X-RateLimit-Remaining", "%ld", k->rl.remaining);
	if (k->rl.retry_after >= 0)
		fh_add_header(rq, "Retry-After", "%ld", k->rl.retry_after);
}

/* ---- the log and the counters ------------------------------------------------------ */

static void count_status(unsigned status)
{
	if (status >= 200 && status < 300)
		w.st.s2xx++;
	else if (status >= 500)
		w.st.s5xx++;
	else
		switch (status) {
		case 400: w.st.s400++; break;
		case 401: w.st.s401++; break;
		case 403: w.st.s403++; break;
		case 404: w.st.s404++; break;
		case 413: w.st.s413++; break;
		case 422: w.st.s422++; break;
		case 429: w.st.s429++; break;
		default: w.st.sother++; break;
		}
}

/* The request body in the log: its JSON, else its text; null when empty
 * and for the OAuth calls, whose bodies carry secrets and codes. */
static void log_body(struct json_object *o, const struct call *k)
{
	const struct fh_req *rq = k->rq;
	struct json_object *v = NULL;

	if (k->ep != EP_TOKEN && k->ep != EP_LOCTOKEN && rq->len && fh_json_value(rq->body, rq->len, &v) <= 0)
		v = json_object_new_string_len(rq->body, (int)(rq->len < 4096 ? rq->len : 4096));
	json_object_object_add(o, "body", v);
}

/* Counts an answered API request and logs it; the caller holds w.mu. The
 * log says whether a token was sent, never which. */
static void record(struct MHD_Connection *c, const char *url, const char *method, const struct call *k)
{
	const struct fh_req *rq = k->rq;
	const char *version = fh_header_in(c, "Version");
	struct json_object *o = json_object_new_object();
	struct fh_qbuf q;
	char ts[32], path[2048];

	w.st.requests++;
	w.st.ep[k->ep]++;
	if (rq->reset)
		w.st.resets++;
	else
		count_status(rq->status);
	fh_qbuf_init(&q, path, sizeof(path), "?");
	fh_qbuf_add(&q, url, 0);
	fh_qbuf_query(&q, c, NULL);
	fg_iso_time(fh_wall_ms(), ts, sizeof(ts));
	put_str(o, "ts", ts);
	put_str(o, "method", method);
	put_str(o, "path", path);
	put_str(o, "endpoint", k->ep == EP_NONE ? "not_found" : k->ep == EP_CATALOG ? fgc_name(k->cat) : ep_names[k->ep]);
	log_body(o, k);
	put_int(o, "status", rq->reset ? 0 : rq->status);
	if (k->resource >= 0)
		put_str(o, "resource", k->resource < (int)w.nloc ? w.loc[k->resource].id : w.company_id);
	else
		json_object_object_add(o, "resource", NULL);
	if (version)
		put_str(o, "version", version);
	else
		json_object_object_add(o, "version", NULL);
	put_bool(o, "auth", fh_header_in(c, "Authorization") != NULL);
	fh_log_add(o);
}

static struct json_object *stats_json(void)
{
	struct json_object *o = json_object_new_object(), *e = json_object_new_object(), *s = json_object_new_object();
	long in_flight, peak;

	fh_in_flight(&in_flight, &peak);
	put_int(o, "requests", (int64_t)w.st.requests);
	for (int i = 1; i < EP_COUNT; i++)
		put_int(e, ep_names[i], (int64_t)w.st.ep[i]);
	put_int(e, "other", (int64_t)w.st.ep[EP_NONE]);
	json_object_object_add(o, "endpoints", e);
	put_int(s, "2xx", (int64_t)w.st.s2xx);
	put_int(s, "400", (int64_t)w.st.s400);
	put_int(s, "401", (int64_t)w.st.s401);
	put_int(s, "403", (int64_t)w.st.s403);
	put_int(s, "404", (int64_t)w.st.s404);
	put_int(s, "413", (int64_t)w.st.s413);
	put_int(s, "422", (int64_t)w.st.s422);
	put_int(s, "429", (int64_t)w.st.s429);
	put_int(s, "5xx", (int64_t)w.st.s5xx);
	put_int(s, "other", (int64_t)w.st.sother);
	json_object_object_add(o, "status", s);
	put_int(o, "in_flight", in_flight);
	put_int(o, "peak_concurrent", peak);
	put_int(o, "refreshes", (int64_t)w.st.refreshes);
	put_int(o, "rotated_rejected", (int64_t)w.st.rotated_rejected);
	put_int(o, "codes_exchanged", (int64_t)w.st.codes_exchanged);
	put_int(o, "location_tokens", (int64_t)w.st.location_tokens);
	put_int(o, "faults_injected", (int64_t)(fh_faults_injected() - w.faults_base));
	put_int(o, "resets", (int64_t)w.st.resets);
	put_int(o, "tags_details_ids", (int64_t)w.st.details_ids);
	return o;
}

static void summary_line(char *out, size_t n)
{
	long peak;

	fh_in_flight(NULL, &peak);
	pthread_mutex_lock(&w.mu);
	snprintf(out, n,
		 "requests=%lu 2xx=%lu 400=%lu 401=%lu 403=%lu 404=%lu 422=%lu 429=%lu 5xx=%lu resets=%lu "
		 "peak_concurrent=%ld refreshes=%lu rotated_rejected=%lu token=%lu location_token=%lu "
		 "installed_locations=%lu tags_list=%lu tags_details=%lu accounts=%lu statistics=%lu "
		 "contacts_upsert=%lu contacts_update=%lu contacts_tags=%lu contacts_search=%lu "
		 "opportunities_upsert=%lu contacts_get=%lu opportunities_search=%lu pipelines=%lu",
		 w.st.requests, w.st.s2xx, w.st.s400, w.st.s401, w.st.s403, w.st.s404, w.st.s422, w.st.s429,
		 w.st.s5xx, w.st.resets, peak, w.st.refreshes, w.st.rotated_rejected, w.st.ep[EP_TOKEN],
		 w.st.ep[EP_LOCTOKEN], w.st.ep[EP_INSTALLED], w.st.ep[EP_TAGS], w.st.ep[EP_DETAILS],
		 w.st.ep[EP_ACCOUNTS], w.st.ep[EP_STATS], w.st.ep[EP_C_UPSERT], w.st.ep[EP_C_UPDATE],
		 w.st.ep[EP_C_TAGS], w.st.ep[EP_C_SEARCH], w.st.ep[EP_O_UPSERT], w.st.ep[EP_C_GET],
		 w.st.ep[EP_O_SEARCH], w.st.ep[EP_PIPELINES]);
	pthread_mutex_unlock(&w.mu);
}

/* ---- control ------------------------------------------------------------------------- */

/* "location": an id or a 0-based index; -2 when absent, -1 when unknown. */
static int ctl_location(struct json_object *o)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, "location", &v) || json_object_is_type(v, json_type_null))
		return -2;
	if (json_object_is_type(v, json_type_int)) {
		int64_t i = json_object_get_int64(v);

		return i >= 0 && i < (int64_t)w.nloc ? (int)i : -1;
	}
	return json_object_is_type(v, json_type_string) ? loc_find(json_object_get_string(v)) : -1;
}

static int64_t ctl_int(struct json_object *o, const char *key, int64_t dflt)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return dflt;
	return json_object_get_int64(v);
}

static struct json_object *ctl_tag(struct json_object *req, const char *op, unsigned *status)
{
	int li = ctl_location(req);
	const char *name = fh_ctl_string(req, "name"), *id = fh_ctl_string(req, "id");
	struct location *l;
	struct tag *t;

	*status = 400;
	if (li < 0)
		return fh_ctl_fail("%s: \"location\" must be a location id or index (0..%zu)", op, w.nloc - 1);
	l = &w.loc[li];
	if (strcmp(op, "tag_add") == 0) {
		struct json_object *o;

		if (!name || !*name || strlen(name) > 1000)
			return fh_ctl_fail("tag_add: \"name\" must be a string of 1 to 1000 characters");
		if (!(t = tag_append(l, name, fh_wall_ms()))) {
			*status = 409;
			return fh_ctl_fail("tag_add: location %s has %d tags, the most the fake keeps", l->id, MAX_TAGS);
		}
		o = fh_ctl_ok();
		put_str(o, "id", t->id);
		*status = 200;
		return o;
	}
	if (!id)
		return fh_ctl_fail("%s: \"id\" (a tag id) is required", op);
	if (!(t = tag_find(l, id))) {
		*status = 404;
		return fh_ctl_fail("%s: location %s has no tag %.64s", op, l->id, id);
	}
	if (strcmp(op, "tag_delete") == 0) {
		tag_remove(l, t);
	} else {
		char *n;

		if (!name || !*name || strlen(name) > 1000 || !(n = strdup(name)))
			return fh_ctl_fail("tag_rename: \"name\" must be a string of 1 to 1000 characters");
		free(t->name);
		t->name = n;
		t->updated_ms = fh_wall_ms();
	}
	*status = 200;
	return fh_ctl_ok();
}

static struct json_object *ctl_fault(struct json_object *req, unsigned *status)
{
	const char *kind = fh_ctl_string(req, "kind");
	int64_t count = ctl_int(req, "count", 1), ms = ctl_int(req, "ms", 0);
	struct fh_fault f = { .path = fh_ctl_string(req, "path"), .anywhere = 1, .count = (long)count, .ms = ms };
	size_t k = 0;

	*status = 400;
	while (kind && k < sizeof(fault_kinds) / sizeof(fault_kinds[0]) && strcmp(kind, fault_kinds[k].name) != 0)
		k++;
	if (!kind || k == sizeof(fault_kinds) / sizeof(fault_kinds[0]))
		return fh_ctl_fail("fault: \"kind\" must be one of 500, 503, reset, malformed, truncated, 401, latency");
	if (count == 0 || count < -1)
		return fh_ctl_fail("fault: \"count\" must be at least 1, or -1 for until fault_clear");
	f.kind = fault_kinds[k].kind;
	f.status = fault_kinds[k].status;
	if (f.kind == FH_F_LATENCY && (ms < 1 || ms > 600000))
		return fh_ctl_fail("fault: a latency fault needs \"ms\" from 1 to 600000");
	return fh_fault_add(&f, status);
}

static struct json_object *ctl_issue_code(struct json_object *req, unsigned *status)
{
	const char *ut = fh_ctl_string(req, "user_type");
	int company = ut && strcmp(ut, "Company") == 0;
	int li = ctl_location(req);
	struct json_object *o;
	struct tok *t;

	*status = 400;
	if (ut && !company && strcmp(ut, "Location") != 0)
		return fh_ctl_fail("issue_code: \"user_type\" must be Company or Location");
	if (li == -1)
		return fh_ctl_fail("issue_code: \"location\" must be a location id or index (0..%zu)", w.nloc - 1);
	if (!(t = tok_new(TK_CODE, company, company ? -1 : li == -2 ? w.oauth_loc : li, CODE_TTL_MS)))
		return fh_ctl_fail("issue_code: out of memory");
	o = fh_ctl_ok();
	put_str(o, "code", t->s);
	*status = 200;
	return o;
}

/* contact_add, contact_set, contact_get, contacts, opportunities: what a
 * user does and sees in GHL itself. */
static struct json_object *ctl_contacts(struct json_object *req, const char *op, unsigned *status)
{
	int li = ctl_location(req);
	const char *id = fh_ctl_string(req, "id");
	struct json_object *o, *arg = NULL;
	struct contact *c = NULL;
	struct location *l;
	char msg[256];

	*status = 400;
	if (li < 0)
		return fh_ctl_fail("%s: \"location\" must be a location id or index (0..%zu)", op, w.nloc - 1);
	l = &w.loc[li];
	if (!strcmp(op, "contacts") || !strcmp(op, "opportunities")) {
		struct json_object *a = json_object_new_array();

		if (*op == 'c')
			for (size_t i = 0; i < l->ncontacts; i++) {
				if (!l->contacts[i]->deleted)
					json_object_array_add(a, contact_json(l->contacts[i]));
			}
		else
			for (size_t i = 0; i < l->nopps; i++) {
				if (!l->opps[i]->deleted)
					json_object_array_add(a, opp_json(l->opps[i]));
			}
		o = fh_ctl_ok();
		json_object_object_add(o, op, a);
		*status = 200;
		return o;
	}
	if (strcmp(op, "contact_add") != 0) {
		if (!id)
			return fh_ctl_fail("%s: \"id\" (a contact id) is required", op);
		if (!(c = contact_find(id)) || c->loc != li) {
			*status = 404;
			return fh_ctl_fail("%s: location %s has no contact %.64s", op, l->id, id);
		}
	}
	if (strcmp(op, "contact_get") != 0) {
		const char *member = c ? "fields" : "contact";

		if (!json_object_object_get_ex(req, member, &arg) || !json_object_is_type(arg, json_type_object))
			return fh_ctl_fail("%s: \"%s\" must be an object of contact fields", op, member);
		if (contact_invalid(arg, IN_CONTROL, msg, sizeof(msg)))
			return fh_ctl_fail("%s: %s", op, msg);
		if (!c && !(c = contact_new((size_t)li, fh_wall_ms()))) {
			*status = 409;
			return fh_ctl_fail("contact_add: location %s has %d contacts, the most the fake keeps (or out of memory)",
					l->id, MAX_CONTACTS);
		}
		if (contact_apply(c, arg, 0) < 0) {
			*status = 500;
			return fh_ctl_fail("%s: out of memory", op);
		}
		/* A save in GHL's own screens: dateUpdated moves even when nothing changed. */
		c->updated_ms = fh_wall_ms();
	}
	o = fh_ctl_ok();
	put_str(o, "id", c->id);
	json_object_object_add(o, "contact", contact_json(c));
	*status = 200;
	return o;
}

/* POST /_control: one operation on the world; the caller holds w.mu. */
static struct json_object *ctl_op(struct json_object *req, unsigned *status)
{
	const char *op = fh_ctl_string(req, "op");

	*status = 200;
	if (!op) {
		*status = 400;
		return fh_ctl_fail("the control body needs \"op\"; see the top of tests/fake_ghl.c");
	}
	if (strncmp(op, "tag_", 4) == 0 && (!strcmp(op, "tag_add") || !strcmp(op, "tag_rename") || !strcmp(op, "tag_delete")))
		return ctl_tag(req, op, status);
	if (strcmp(op, "stats_bump") == 0) {
		int li = ctl_location(req);
		int64_t by = ctl_int(req, "by", 1);

		if (li == -1) {
			*status = 400;
			return fh_ctl_fail("stats_bump: \"location\" must be a location id or index (0..%zu)", w.nloc - 1);
		}
		for (size_t i = 0; i < w.nloc; i++)
			if (li == -2 || (size_t)li == i)
				w.loc[i].bump += (long)by;
		return fh_ctl_ok();
	}
	if (!strcmp(op, "contact_add") || !strcmp(op, "contact_set") || !strcmp(op, "contact_get") ||
	    !strcmp(op, "contacts") || !strcmp(op, "opportunities"))
		return ctl_contacts(req, op, status);
	if (strcmp(op, "fault") == 0)
		return ctl_fault(req, status);
	if (strcmp(op, "fault_clear") == 0) {
		fh_faults_clear();
		return fh_ctl_ok();
	}
	if (strcmp(op, "issue_code") == 0)
		return ctl_issue_code(req, status);
	if (strcmp(op, "expire_tokens") == 0) {
		int64_t past = fh_mono_ms() - 1;

		for (struct tok *t = w.oldest; t; t = t->newer)
			if (t->kind == TK_ACCESS)
				t->expires_ms = past;
		return fh_ctl_ok();
	}
	if (strcmp(op, "quota_reset") == 0) {
		quota_reset();
		return fh_ctl_ok();
	}
	if (strcmp(op, "stats_reset") == 0) {
		memset(&w.st, 0, sizeof(w.st));
		w.faults_base = fh_faults_injected();
		fh_peak_reset();
		return fh_ctl_ok();
	}
	if (strcmp(op, "latency") == 0) {
		int64_t ms = ctl_int(req, "ms", 0);

		if (ms < 0 || ms > 600000) {
			*status = 400;
			return fh_ctl_fail("latency: \"ms\" must be from 0 to 600000");
		}
		w.latency_ms = (long)ms;
		return fh_ctl_ok();
	}
	*status = 400;
	return fh_ctl_fail("unknown op '%.64s'; see the top of tests/fake_ghl.c", op);
}

static void control(struct MHD_Connection *c, const char *url, const char *method, struct fh_req *rq)
{
	struct json_object *req, *o;
	unsigned status;

	if (strcmp(url, "/_control/stats") == 0 && strcmp(method, "GET") == 0) {
		pthread_mutex_lock(&w.mu);
		o = stats_json();
		pthread_mutex_unlock(&w.mu);
		fh_set_json(rq, 200, o);
		return;
	}
	if (strcmp(url, "/_control/catalog-seed") == 0 && strcmp(method, "GET") == 0) {
		pthread_mutex_lock(&w.mu);
		o = fgc_seed_json();
		pthread_mutex_unlock(&w.mu);
		fh_set_json(rq, 200, o);
		return;
	}
	if (strcmp(url, "/_control/log") == 0 && strcmp(method, "GET") == 0) {
		fh_log_control(c, url, rq);
		return;
	}
	if (strcmp(url, "/_control") != 0 || strcmp(method, "POST") != 0) {
		fh_set_json(rq, 404, fh_ctl_fail("control endpoints: POST /_control, GET /_control/stats, "
						 "GET /_control/log, GET /_control/catalog-seed"));
		return;
	}
	if (rq->too_big) {
		fh_set_json(rq, 413, fh_ctl_fail("control body larger than 1 MiB"));
		return;
	}
	req = rq->body ? json_tokener_parse(rq->body) : NULL;
	if (!json_object_is_type(req, json_type_object)) {
		json_object_put(req);
		fh_set_json(rq, 400, fh_ctl_fail("the control body must be a JSON object with \"op\""));
		return;
	}
	pthread_mutex_lock(&w.mu);
	o = ctl_op(req, &status);
	pthread_mutex_unlock(&w.mu);
	json_object_put(req);
	fh_set_json(rq, status, o);
}

/* Every request, once its body is in: an API request is decided and
 * recorded under w.mu; fake_http sends the answer, after the latency. */
static void handle(struct MHD_Connection *c, const char *url, const char *method, struct fh_req *rq)
{
	struct call k = { .rq = rq };

	if (rq->control) {
		control(c, url, method, rq);
		return;
	}
	pthread_mutex_lock(&w.mu);
	decide(c, url, method, &k);
	record(c, url, method, &k);
	pthread_mutex_unlock(&w.mu);
}

/* ---- main ------------------------------------------------------------------------------ */

static void usage(FILE *out)
{
	fputs("usage: fake_ghl [--port N] [--locations N] [--tags N] [--contacts N] [--seed FILE]\n"
	      "         [--company-id ID] [--oauth-location ID] [--client-id ID] [--client-secret S]\n"
	      "         [--app-id ID] [--token-ttl SECONDS] [--pit TOKEN[@LOCATION]]... [--agency-pit TOKEN]... [--rate N/MS]\n"
	      "         [--daily N] [--latency-ms N] [--log FILE] [--max-seconds N]\n"
	      "A fake GoHighLevel API (OAuth, Social Planner tags/accounts/statistics, contacts,\n"
	      "opportunities and pipelines) on 127.0.0.1.\n"
	      "Prints PORT=<n>, serves until SIGTERM or SIGINT, then prints a summary to stderr.\n"
	      "POST /_control, GET /_control/stats and GET /_control/log drive it; the options and\n"
	      "control operations are described at the top of tests/fake_ghl.c.\n", out);
}

struct options {
	long port, nloc, ntags, ncontacts, max_seconds;
	const char *seed, *log;
	const char *pits[PIT_CAP];
	unsigned char agency[PIT_CAP];
	size_t npits;
};

static void parse_args(int argc, char **argv, struct options *op)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "locations", required_argument, NULL, 'l' },
		{ "tags", required_argument, NULL, 't' },
		{ "contacts", required_argument, NULL, 'c' },
		{ "seed", required_argument, NULL, 's' },
		{ "company-id", required_argument, NULL, 'C' },
		{ "oauth-location", required_argument, NULL, 'O' },
		{ "client-id", required_argument, NULL, 'i' },
		{ "client-secret", required_argument, NULL, 'k' },
		{ "app-id", required_argument, NULL, 'a' },
		{ "token-ttl", required_argument, NULL, 'T' },
		{ "pit", required_argument, NULL, 'P' },
		{ "agency-pit", required_argument, NULL, 'A' },
		{ "rate", required_argument, NULL, 'r' },
		{ "daily", required_argument, NULL, 'd' },
		{ "latency-ms", required_argument, NULL, 'L' },
		{ "log", required_argument, NULL, 'g' },
		{ "max-seconds", required_argument, NULL, 'S' },
		FH_OPTIONS_END
	};
	int ch, idx = 0;

	while ((ch = fh_getopt(argc, argv, opts, &idx, usage)) != -1) {
		long *num = NULL;

		switch (ch) {
		case 'p': num = &op->port; break;
		case 'l': num = &op->nloc; break;
		case 't': num = &op->ntags; break;
		case 'c': num = &op->ncontacts; break;
		case 'S': num = &op->max_seconds; break;
		case 'T': num = &w.token_ttl; break;
		case 'd': num = &w.daily; break;
		case 'L': num = &w.latency_ms; break;
		case 's': op->seed = optarg; break;
		case 'g': op->log = optarg; break;
		case 'C': free(w.company_id); w.company_id = fh_xstrdup(optarg); break;
		case 'O': free(w.oauth_location); w.oauth_location = fh_xstrdup(optarg); break;
		case 'i': free(w.client_id); w.client_id = fh_xstrdup(optarg); break;
		case 'k': free(w.client_secret); w.client_secret = fh_xstrdup(optarg); break;
		case 'a': free(w.app_id); w.app_id = fh_xstrdup(optarg); break;
		case 'P':
			if (op->npits >= PIT_CAP)
				fh_die("at most %d --pit options", PIT_CAP);
			if (!*optarg || *optarg == '@')
				fh_die("--pit takes TOKEN or TOKEN@LOCATION");
			op->pits[op->npits++] = optarg;
			break;
		case 'A':
			if (op->npits >= PIT_CAP)
				fh_die("at most %d --pit and --agency-pit options", PIT_CAP);
			op->agency[op->npits] = 1;
			op->pits[op->npits++] = optarg;
			break;
		case 'r':
			if (fh_parse_rate(optarg, 100000, &w.rate_max, &w.rate_ms) < 0)
				fh_die("--rate takes N/INTERVAL_MS, such as 100/10000, not '%s'", optarg);
			break;
		}
		if (num)
			fh_opt_number(opts, idx, num);
	}
	if (op->port > 65535)
		fh_die("--port must be at most 65535");
	if (op->nloc < 1 || op->nloc > MAX_LOCATIONS)
		fh_die("--locations must be from 1 to %d", MAX_LOCATIONS);
	if (op->ntags > MAX_TAGS)
		fh_die("--tags must be at most %d", MAX_TAGS);
	if (op->ncontacts > MAX_CONTACTS)
		fh_die("--contacts must be at most %d", MAX_CONTACTS);
	if (w.token_ttl < 1 || w.token_ttl > 10L * 365 * 86400)
		fh_die("--token-ttl must be from 1 second to 10 years");
	if (w.daily < 1)
		fh_die("--daily must be at least 1");
	if (w.latency_ms > 600000)
		fh_die("--latency-ms must be at most 600000");
}

static void setup_world(struct options *op)
{
	w.bucket = calloc(TOKEN_BUCKETS, sizeof(*w.bucket));
	if (!w.bucket)
		fh_die("out of memory");
	if (op->seed) {
		seed_file(op->seed, op->ntags, op->ncontacts);
	} else {
		seed_default(op->nloc, op->ntags, op->ncontacts);
		loc_index_build();
	}
	w.oauth_loc = 0;
	if (w.oauth_location && (w.oauth_loc = loc_find(w.oauth_location)) < 0)
		fh_die("--oauth-location %s is not a seeded location (e.g. %s)", w.oauth_location, w.loc[0].id);
	for (size_t i = 0; i < op->npits; i++) {
		const char *at = op->agency[i] ? NULL : strrchr(op->pits[i], '@');

		w.pits[i].loc = -1;
		w.pits[i].company = op->agency[i];
		if (at) {
			w.pits[i].loc = loc_find(at + 1);
			if (w.pits[i].loc < 0)
				fh_die("--pit ...@%s: not a seeded location (e.g. %s)", at + 1, w.loc[0].id);
			w.pits[i].token = strndup(op->pits[i], (size_t)(at - op->pits[i]));
		} else {
			w.pits[i].token = strdup(op->pits[i]);
		}
		if (!w.pits[i].token)
			fh_die("out of memory");
	}
	w.npits = op->npits;
	fgc_seed();
	w.quota = calloc(w.nloc + 1, sizeof(*w.quota));
	if (!w.quota)
		fh_die("out of memory");
	fh_log_open(op->log);
}

static void free_world(void)
{
	for (size_t i = 0; i < w.nloc; i++) {
		struct location *l = &w.loc[i];

		for (size_t t = 0; t < l->ntags; t++)
			free(l->tags[t].name);
		free(l->tags);
		for (size_t k = 0; k < l->ncontacts; k++)
			contact_free(l->contacts[k]);
		free(l->contacts);
		for (size_t k = 0; k < l->nopps; k++)
			opp_free(l->opps[k]);
		free(l->opps);
		free(l->id);
		free(l->name);
		free(l->address);
	}
	fgc_free();
	free(w.loc);
	free(w.lindex);
	free(w.cbucket);
	tok_free_all();
	for (size_t i = 0; i < w.npits; i++)
		free(w.pits[i].token);
	quota_reset();
	free(w.quota);
	fh_faults_clear();
	fh_log_close();
	free(w.company_id);
	free(w.client_id);
	free(w.client_secret);
	free(w.app_id);
	free(w.oauth_location);
}

int main(int argc, char **argv)
{
	static const struct fh_server server = {
		.control_prefix = "/_control", .handle = handle, .summary = summary_line
	};
	struct options op = { .nloc = 3, .ntags = 5 };
	int rc;

	fh_set_name("fake_ghl");
	fh_fault_set_junk(malformed_body);
	w.company_id = fh_xstrdup("fakecompany000000001");
	w.client_id = fh_xstrdup("fakeapp0001-hlbtest");
	w.client_secret = fh_xstrdup("fake-secret");
	w.app_id = fh_xstrdup("fakeapp0001");
	w.user_id = "fakeuser000000000001";
	w.token_ttl = 86399;
	w.rate_max = 100;
	w.rate_ms = 10000;
	w.daily = 200000;
	parse_args(argc, argv, &op);
	setup_world(&op);
	rc = fh_run(&server, op.port, op.max_seconds);
	free_world();
	return rc == 0 ? 0 : 2;
}

/* ---- what the catalog (tests/fake_ghl_catalog.c) uses ---------------------------------- */

void fg_error(struct fh_req *rq, unsigned status, const char *message) { set_error(rq, status, message); }
void fg_json(struct fh_req *rq, unsigned status, struct json_object *o) { set_json(rq, status, o); }
size_t fg_nloc(void) { return w.nloc; }
const char *fg_loc_id(size_t li) { return w.loc[li].id; }
const char *fg_loc_name(size_t li) { return w.loc[li].name; }
int fg_loc_find(const char *id) { return loc_find(id); }
const char *fg_company_id(void) { return w.company_id; }
void fg_make_id(char out[21], uint64_t kind, size_t li, size_t seq) { make_id(out, kind, li, seq); }
size_t fg_ncontacts(size_t li) { return w.loc[li].ncontacts; }

const char *fg_contact_id(size_t li, size_t k)
{
	return w.loc[li].contacts[k]->deleted ? NULL : w.loc[li].contacts[k]->id;
}

int fg_contact_loc(const char *id)
{
	struct contact *c = contact_find(id);

	return c ? c->loc : -1;
}

struct json_object *fg_contact_json(const char *id)
{
	struct contact *c = contact_find(id);

	return c ? contact_json(c) : NULL;
}

int fg_contact_tags(const char *id, struct json_object *tags, int del)
{
	struct contact *c = contact_find(id);
	int changed = 0;

	if (!c)
		return -1;
	for (size_t i = 0; i < json_object_array_length(tags); i++) {
		const char *t = json_object_get_string(json_object_array_get_idx(tags, i));
		int rc = !t ? 0 : del ? contact_tag_remove(c, t) : c->ntags < CONTACT_TAGS_CAP ? contact_tag_add(c, t) : 0;

		if (rc < 0)
			return -1;
		changed |= rc;
	}
	if (changed)
		c->updated_ms = fh_wall_ms();
	return 0;
}

/* POST /contacts/: as the upsert, but a contact with that e-mail or phone
 * is a 400 (the location allows no duplicates) naming it in meta. */
void fg_contact_create(struct fh_req *rq, int li)
{
	struct json_object *body = json_body(rq), *o, *meta;
	const char *email, *phone;
	struct contact *c;
	char msg[256];

	if (!body)
		return;
	if (contact_invalid(body, IN_UPSERT, msg, sizeof(msg))) {
		set_error(rq, 422, msg);
		goto out;
	}
	email = body_text(body, "email");
	phone = body_text(body, "phone");
	c = email ? contact_by_email(&w.loc[li], email) : NULL;
	if (c || (phone && (c = contact_by_phone(&w.loc[li], phone)))) {
		o = json_object_new_object();
		put_int(o, "statusCode", 400);
		put_str(o, "message", "This location does not allow duplicated contacts.");
		meta = json_object_new_object();
		put_str(meta, "contactId", c->id);
		put_str(meta, "matchingField", email && c->f[CF_EMAIL] && !strcasecmp(c->f[CF_EMAIL], email) ? "email" : "phone");
		json_object_object_add(o, "meta", meta);
		set_json(rq, 400, o);
		goto out;
	}
	if (!(c = contact_new((size_t)li, fh_wall_ms())) || contact_apply(c, body, 0) < 0) {
		set_error(rq, 500, "Internal server error");
		goto out;
	}
	o = json_object_new_object();
	json_object_object_add(o, "contact", contact_json(c));
	set_json(rq, 201, o);
out:
	json_object_put(body);
}

void fg_contact_delete(struct fh_req *rq, const char *id)
{
	struct contact *c = contact_find(id);
	struct json_object *o = json_object_new_object();

	if (c)
		c->deleted = 1;
	if (c && c->opp)
		c->opp->deleted = 1;
	put_bool(o, "succeded", 1);
	set_json(rq, 200, o);
}

/* GET /contacts/ (deprecated): creation order (dateAdded), startAfterId AND
 * startAfter page (one alone starts over), limit [20, 1..100], query. */
void fg_contact_list(struct MHD_Connection *c, struct fh_req *rq, int li)
{
	struct location *l = &w.loc[li];
	const char *after_id = fh_query(c, "startAfterId"), *after = fh_query(c, "startAfter"), *q = fh_query(c, "query");
	struct json_object *a = json_object_new_array(), *o, *meta;
	const struct contact *last = NULL;
	size_t total = 0, start = 0;
	long limit;

	if (!paging_param(c, rq, "limit", 20, 1, 100, &limit)) {
		json_object_put(a);
		return;
	}
	if (after_id && *after_id && after && *after)
		for (size_t i = 0; i < l->ncontacts; i++)
			if (strcmp(l->contacts[i]->id, after_id) == 0)
				start = i + 1;
	for (size_t i = 0; i < l->ncontacts; i++) {
		const struct contact *ct = l->contacts[i];

		if (ct->deleted || (q && *q && !query_match(ct, q)))
			continue;
		total++;
		if (i >= start && (long)json_object_array_length(a) < limit) {
			json_object_array_add(a, contact_json(ct));
			last = ct;
		}
	}
	o = json_object_new_object();
	meta = json_object_new_object();
	put_int(meta, "total", (int64_t)total);
	if (last) {
		char url[512];

		put_str(meta, "startAfterId", last->id);
		put_int(meta, "startAfter", last->added_ms);
		snprintf(url, sizeof(url), "/contacts/?locationId=%s&startAfter=%lld&startAfterId=%s", l->id,
			 (long long)last->added_ms, last->id);
		put_str(meta, "nextPageUrl", url);
	}
	json_object_object_add(o, "contacts", a);
	put_int(o, "count", (int64_t)total);
	json_object_object_add(o, "meta", meta);
	set_json(rq, 200, o);
}

/* GET /contacts/search/duplicate?locationId&email|number -> {"contact": .. or null}. */
void fg_contact_duplicate(struct MHD_Connection *c, struct fh_req *rq, int li)
{
	const char *email = fh_query(c, "email"), *number = fh_query(c, "number");
	struct contact *ct = NULL;
	struct json_object *o;

	if ((!email || !*email) && (!number || !*number)) {
		set_error(rq, 422, "email or number should not be empty");
		return;
	}
	if (email && *email)
		ct = contact_by_email(&w.loc[li], email);
	if (!ct && number && *number)
		ct = contact_by_phone(&w.loc[li], number);
	o = json_object_new_object();
	json_object_object_add(o, "contact", ct ? contact_json(ct) : NULL);
	set_json(rq, 200, o);
}

static struct opp *opp_any(const char *id, int *li)
{
	for (size_t i = 0; i < w.nloc; i++) {
		struct opp *op = opp_find(&w.loc[i], id);

		if (op) {
			*li = (int)i;
			return op;
		}
	}
	return NULL;
}

int fg_opp_loc(const char *id)
{
	int li = -1;

	return opp_any(id, &li) ? li : -1;
}

/* POST /opportunities/ (one a contact, as the upsert's model), GET, PUT, DELETE
 * /opportunities/{id} and PUT .../status. */
static void opp_create(struct fh_req *rq, int li, struct json_object *body)
{
	struct location *l = &w.loc[li];
	const char *sid = body_text(body, "pipelineStageId"), *cid = body_text(body, "contactId");
	const char *pid = body_text(body, "pipelineId");
	struct contact *ct = cid ? contact_find(cid) : NULL;
	struct opp *op;
	struct json_object *o;
	int stage = -1;
	char want[32];

	pipeline_id(l, want);
	if (!pid || strcmp(pid, want) != 0 || (sid && (stage = stage_find(l, sid)) < 0)) {
		set_error(rq, 400, "Pipeline or stage not found");
		return;
	}
	if (status_index(body_text(body, "status")) < 0) {
		set_error(rq, 422, "status must be one of the following values: open, won, lost, abandoned");
		return;
	}
	if (!ct || ct->loc != li) {
		set_error(rq, 400, "Contact not found");
		return;
	}
	if (ct->opp && !ct->opp->deleted) {
		set_error(rq, 400, "Can not create duplicate opportunity for the contact.");
		return;
	}
	if (!(op = opp_new(ct, fh_wall_ms())) || opp_apply(op, body, stage < 0 ? 0 : stage, fh_wall_ms()) < 0) {
		set_error(rq, 500, "Internal server error");
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "opportunity", opp_json(op));
	set_json(rq, 201, o);
}

void fg_opp(struct MHD_Connection *c, struct fh_req *rq, const char *method, const char *id, const char *sub, int li)
{
	struct json_object *body, *o;
	struct opp *op = NULL;
	int oli = -1, stage = -1;
	const char *sid;

	(void)c;
	if (strcmp(method, "POST") != 0 && !(op = opp_any(id, &oli))) {
		set_error(rq, 404, "Opportunity not found");
		return;
	}
	if (!strcmp(method, "GET") || !strcmp(method, "DELETE")) {
		o = json_object_new_object();
		if (*method == 'G') {
			json_object_object_add(o, "opportunity", opp_json(op));
		} else {
			op->deleted = 1;
			put_bool(o, "succeded", 1);
		}
		set_json(rq, 200, o);
		return;
	}
	if (!(body = json_body(rq)))
		return;
	if (!op) {
		opp_create(rq, li, body);
	} else if (body_text(body, "status") && status_index(body_text(body, "status")) < 0) {
		set_error(rq, 422, "status must be one of the following values: open, won, lost, abandoned");
	} else if ((sid = body_text(body, "pipelineStageId")) && (stage = stage_find(&w.loc[oli], sid)) < 0) {
		set_error(rq, 400, "Pipeline stage not found in the pipeline");
	} else {
		int rc = opp_apply(op, body, stage, fh_wall_ms());

		if (rc > 0)
			op->updated_ms = fh_wall_ms();
		o = json_object_new_object();
		if (sub)
			put_bool(o, "succeded", 1);
		else
			json_object_object_add(o, "opportunity", opp_json(op));
		set_json(rq, 200, o);
	}
	json_object_put(body);
}
