/* fake_octorate: a stateful, seeded stand-in for the Octorate API (the parts
 * hlbridge's Octorate connector uses), built per the contract agreed with the
 * connector's author and the facts and OpenAPI document in
 * ../shared/specs/octorate (FACTS.md, octorate-openapi.yaml: ApiError,
 * ApiReservationRespDTO, ApiPage, OAuthToken2). The server scaffolding
 * (threads, latency, faults, the log) is tests/fake_http.[ch].
 *
 * Where the contract leaves room, the fake chose: ids[] ignores the other
 * search filters (the spec calls it exclusive); redirect_uri is required by
 * the token call (the spec marks it required) but any value is accepted;
 * the clock op sets an absolute offset; the quota op also holds for buckets
 * made within the window after it; an unknown accommodation is 404
 * ApiResourceMissing; a labelText change does not spread to other
 * reservations' metas with the same key (the spec says it does).
 *
 * Start-up: listens on 127.0.0.1 (port 0, or --port N), prints PORT=<n> as
 * the first line of stdout and flushes. SIGTERM/SIGINT (or --max-seconds N)
 * print one summary line to stderr and exit 0; the line starts "requests="
 * and is key=value pairs: requests 2xx 4xx 403quota 5xx resets token refresh
 * search patch accommodation get (4xx includes the 403quota ones; endpoint
 * counts include failed calls).
 *
 * Options (defaults in brackets):
 *   --port N                 listen port [0: the kernel's choice]
 *   --accommodations N       seeded accommodations, 1 to 1000 [1]: ids "100001",
 *                            "100002", ...; names "Fake Hotel N"; currency EUR;
 *                            timeZone "Europe/Rome"
 *   --reservations N         generated reservations per accommodation, 0 to 100000 [3]
 *                            (at most 200000 in all). Reservation g (1-based over all
 *                            accommodations) has id 92180000 + g, a 20-digit refer,
 *                            status CONFIRMED, channel Booking (142) / Expedia (9) /
 *                            Direct (1) by g, checkin at Rome midnight of a day in
 *                            2026-2027 and 1-7 nights, createTime 2026-06-01T08:00Z +
 *                            g minutes, updateTime an hour later, one BOOKER guest
 *                            givenName "Guest", familyName "<g>", email
 *                            "Guest.<g>@Example.COM" (a trailing space when g % 3 == 0),
 *                            phone "+39 333xxxxxxx" (odd g) or national "333xxxxxxx"
 *                            (even g), metaData [] and privateNotes "". A guest without
 *                            checkin/checkout (generated, seeded or added) gets the stay's
 *                            Rome days, yyyy-MM-dd, as in the spec's example
 *   --seed FILE              JSON replacing the generated world: {"accommodations":[{"id",
 *                            "name","currency","timeZone","reservations":[{...}]}]};
 *                            reservations are completed as reservation_add does
 *                            (createTime/updateTime default to the start time)
 *   --client-id ID [octo-client]   --client-secret S [octo-secret]
 *   --token-ttl SECONDS      access token lifetime, expires_in [86400]
 *   --quota N/MS             calls per (accommodation, access token), sliding window on
 *                            the fake's clock [100/300000]; GET /accommodation spends from
 *                            the token's own bucket
 *   --environment sandbox|production       where the fake runs [sandbox]
 *   --app-environment sandbox|production   the application's mode [sandbox]; when the
 *                            two differ every /rest call is 403 WrongEnviroment
 *   --latency-ms N           every API answer is delayed N ms (connections are suspended,
 *                            not threads)
 *   --log FILE               append one JSON line per API request (as the log op)
 *   --max-seconds N          safety exit after N seconds [0: never]
 *
 * The fake's clock is the wall clock plus the offset of the clock op; token and
 * code expiry, the quota window, createTime/updateTime and search dates use it.
 *
 * API (every answer carries request-id: <uuid>; /rest answers also
 * X-RateLimit-Remaining: the calls left in the bucket the call used, or the
 * full quota for calls that use none; errors are ApiError JSON {message, type,
 * machine_name, human_name, element, suggestion}):
 *   POST /rest/v1/identity/token    form client_id, client_secret, code, redirect_uri,
 *        grant_type=code. Missing field or another grant_type -> 400 ApiParamsExemption;
 *        wrong client -> 401 ApiKeyInvalid; codes: any "code-<x>" once, or single-use
 *        codes from issue_code, at most 180 s old on the fake's clock (age_code); used,
 *        unknown or old -> 400 ApiParamsExemption. 200 {"access_token","refresh_token",
 *        "expires_in","token_type":"Bearer","expireDate":"YYYY-MM-DD HH:MM:SS+00:00"}.
 *        Every token sees every accommodation.
 *   POST /rest/v1/identity/refresh  form client_id, client_secret, refresh_token
 *        (grant_type ignored). 200 {"access_token","expires_in","expireDate"}: no new
 *        refresh token, the old one stays valid forever. Missing field -> 400; wrong
 *        client or unknown refresh token -> 401 ApiKeyInvalid.
 *   Every other path: "Authorization: Bearer T"; missing -> 401 ApiKeyMissing;
 *        unknown or expired -> 401 ApiKeyInvalid.
 *   GET  /rest/v1/accommodation     page [0, 0..1000], name (case-insensitive substring);
 *        20 a page: {"data":[{id,name,currency,timeZone,country,givenName,
 *        familyName,email (the owner's, which the spec requires)}],"page":{...}}
 *   GET  /rest/v1/accommodation/{id}   the object; unknown -> 404 ApiResourceMissing
 *   GET  /rest/v1/reservation/{acc}    search: type STAY (default; the stay overlaps the
 *        dates) | CREATETIME | MODIFIED_BETWEEN (updateTime within the dates); the other
 *        types of the spec -> 400 ApiParamsExemption; startDate/endDate yyyy-MM-dd, Rome
 *        days, inclusive (either may be left out: unbounded); status CANCELLED|WAITING|
 *        CONFIRMED filter; ids[] (repeated or comma-separated) selects those ids only,
 *        ignoring the other filters (the spec's "exclusive"); page 0..1000 [0], size
 *        1..200 [20] (outside, or not a number -> 400 ApiValidationFailed); size > 100
 *        costs 1 more and says X-RateLimit-Additional-Cost: 1. Answer {"data":[...] by
 *        id,"page":{"page","totalPages" (0 when nothing matches),"self":{"href"},"next"
 *        (only when there is a next page),"previous" (page > 0)}}; hrefs are
 *        http://<Host>/rest/v1/reservation/<acc>?<the query>&page=N.
 *   GET  /rest/v1/reservation/{acc}/{id}   one reservation (deprecated in the spec)
 *   PATCH /rest/v1/reservation/{acc}/{id}  JSON object; only sent fields change: status
 *        (CANCELLED|WAITING|CONFIRMED; CONFIRMED -> CANCELLED is 400 ApiValidationFailed),
 *        metaData (an entry with id updates that entry, unknown id -> 400; without id the
 *        entry with its metaKey, or a new one with a fresh numeric id; metaDataType TEXT|
 *        LINK), privateNotes (replaces; null empties it), noteTime (true: the new part of
 *        privateNotes - after the old notes when the new start with them, else all - is
 *        prefixed "[YYYY-MM-DD HH:MM api] ", Rome time), houseKeepingNotes, color,
 *        tagLabel, tagColor, roomCode; other fields are ignored. A change bumps
 *        updateTime; a PATCH that changes nothing does not. 200 with the whole
 *        reservation. Not JSON -> 400 JsonParseExemption; unknown reservation -> 404
 *        ApiResourceMissing.
 *   Unknown accommodation -> 404 ApiResourceMissing. Other methods on these paths ->
 *        405 MethodNotAllowed with Allow. Unknown path -> a bare 404 (no body), as the
 *        real API answers a wrong URL. Body over 1 MiB -> 413.
 *   Quota spent -> 403 ApiQuotaException (X-RateLimit-Remaining: 0) until the window
 *        frees. Order of checks: route (404/405), body cap, environment, auth,
 *        accommodation, quota, injected fault, the request.
 *
 * Control (no auth, no quota, no latency, not counted, not logged):
 *   POST /_control {"op":...} -> {"ok":true,...} or 400/404/409 {"ok":false,"error"}:
 *     reservation_add  accommodation, reservation {fields} -> {"ok":true,"id":N}; missing
 *                      fields get defaults, createTime = updateTime = now unless given
 *     reservation_set  accommodation, id, fields {...}: top-level fields replaced (id
 *                      cannot change), updateTime = now unless given -> the reservation
 *     reservation_get  accommodation, id -> {"ok":true,"reservation":{...}}
 *     reservations     accommodation -> {"ok":true,"reservations":[...]} by id
 *     issue_code       -> {"ok":true,"code":...} (single use, 180 s)
 *     age_code         code, seconds: the code is that much older (a "code-<x>" not yet
 *                      used is registered first)
 *     clock            offset_s: the fake's clock = wall clock + offset_s (absolute, not
 *                      added up) -> {"ok":true,"offset_s","now"}
 *     fault            one of status (400-599: an ApiError of that status), reset: true,
 *                      truncate: true (the real answer cut to half), malformed: true
 *                      (200 + a body that is not JSON), latency_ms N; count [1; -1: until
 *                      fault_clear], path_prefix (of the URL path; omit: any). fake_ghl's
 *                      "kind"/"ms"/"path" spelling is accepted too. At most 64 pending.
 *     fault_clear
 *     quota            remaining: every bucket (and any created within the window) has
 *                      that many calls left
 *     latency          ms: like --latency-ms, from now on
 *     log              n [1000] -> {"ok":true,"log":[...]}
 *     stats            -> {"ok":true, counters}
 *     `accommodation` is an id or a 0-based index (omitted: the first); `id` a number or
 *     a numeric string.
 *   GET /_control/stats (and the stats op) -> {"ok":true,"requests","endpoints":{not_found,
 *     method_not_allowed,token,refresh,accommodation,accommodation_get,search,get,patch},
 *     "status":{"2xx","4xx","403quota","5xx"},"resets","wrong_environment",
 *     "codes_exchanged","refreshes","tokens_issued","faults_injected","reservations"}
 *     (endpoint counts include failed calls); GET /_control/log[?n=N] -> JSON lines.
 *   A log entry: {"ts","request_id","method","path","query","endpoint","status" (0: reset),
 *     "accommodation","auth" (whether a token was sent, never which),"body" (the request
 *     body: JSON as JSON, otherwise a string; identity calls' forms as an object; there
 *     client_secret, refresh_token and access_token read "<redacted>")}.
 */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include "fake_http.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_ACC 1000
#define MAX_RES_PER_ACC 100000
#define MAX_RES 200000             /* in all: a reservation is a couple of KiB of JSON */
#define ACC_PAGE 20
#define TOKEN_CAP 200000           /* access and refresh tokens each */
#define CODE_CAP 100000
#define BUCKET_CAP 200000
#define CODE_TTL_MS (180LL * 1000) /* "You have 3 minutes to consume the grant" */
#define TOKEN_BYTES 24
#define FIRST_RES_ID 92180000LL
#define FIRST_META_ID 5000000LL
#define SEED_CREATE_MS 1780300800000LL  /* 2026-06-01T08:00:00Z */
#define FIRST_CHECKIN_DAY 20458          /* 2026-01-05 */
#define IDS_CAP 1000                     /* ids[] values per search */
#define BODY_LOG_CAP 65536               /* request bodies kept in a log entry */

enum ep {
	EP_NONE, EP_METHOD, EP_TOKEN, EP_REFRESH, EP_ACC_LIST, EP_ACC_GET, EP_SEARCH, EP_RES_GET, EP_PATCH, EP_COUNT
};

static const char *const ep_names[EP_COUNT] = {
	"not_found", "method_not_allowed", "token", "refresh", "accommodation", "accommodation_get", "search", "get",
	"patch"
};

struct res {
	int64_t id;
	int64_t checkin, checkout, created, updated;  /* ms, from o */
	struct json_object *o;  /* the reservation as answered */
};

struct acc {
	char *id, *name, *currency, *tz;
	struct res *res;        /* by id */
	size_t nres, cap;
};

struct access {
	int64_t expires_ms;     /* fake clock */
};

struct code {
	int64_t issued_ms;      /* fake clock */
	int used;
};

struct bucket {
	int64_t *ring;          /* fake-clock times of spent calls */
	size_t head, len;
};

struct counters {
	unsigned long requests, ep[EP_COUNT];
	unsigned long s2xx, s4xx, s403quota, s5xx, resets, wrong_env;
	unsigned long codes_exchanged, refreshes, tokens_issued;
};

/* The world, under w.mu. */
static struct {
	pthread_mutex_t mu;
	struct acc *acc;
	size_t nacc, nres_total;
	int64_t next_id, next_meta;
	char *client_id, *client_secret;
	long token_ttl;
	long quota_max;
	int64_t quota_ms;
	int wrong_env;
	int64_t offset_ms;
	long latency_ms;
	struct fh_map access, refresh, codes, buckets;
	int preset_set;         /* the quota op: buckets made within the window start spent */
	long preset_remaining;
	int64_t preset_at;
	struct counters st;
} w = { .mu = PTHREAD_MUTEX_INITIALIZER };

static int64_t now_ms(void)
{
	return fh_wall_ms() + w.offset_ms;
}

/* ---- dates: UTC and Europe/Rome ---------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static void civil_from_ms(int64_t ms, struct tm *tm)
{
	time_t s = (time_t)floor_div(ms, 1000);

	gmtime_r(&s, tm);
}

static int64_t last_sunday(int64_t y, int m)
{
	int64_t last = days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) - 1;
	int64_t wd = ((last + 4) % 7 + 7) % 7;  /* 1970-01-01 was a Thursday; 0 = Sunday */

	return last - wd;
}

/* Rome's offset from UTC at a UTC instant: CEST from the last Sunday of
 * March to the last Sunday of October, 01:00 UTC both. */
static int64_t rome_offset_ms(int64_t utc_ms)
{
	struct tm tm;
	int64_t y, from, to;

	civil_from_ms(utc_ms, &tm);
	y = tm.tm_year + 1900;
	from = (last_sunday(y, 3) * 86400 + 3600) * 1000;
	to = (last_sunday(y, 10) * 86400 + 3600) * 1000;
	return utc_ms >= from && utc_ms < to ? 7200000 : 3600000;
}

/* The UTC instant of midnight in Rome of a day (days since the epoch);
 * midnight is never within a change of offset. */
static int64_t rome_midnight_ms(int64_t day)
{
	int64_t local = day * 86400000;

	return rome_offset_ms(local - 7200000) == 7200000 ? local - 7200000 : local - 3600000;
}

static int digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* "yyyy-MM-dd" -> days since the epoch; -1 when it is not a real date. */
static int parse_day(const char *s, int64_t *day)
{
	int y, m, d;
	struct tm tm;

	if (digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &m) || s[7] != '-' || digits(s + 8, 2, &d))
		return -1;
	if (m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	*day = days_from_civil(y, m, d);
	civil_from_ms(*day * 86400000, &tm);
	return tm.tm_mday == d && tm.tm_mon + 1 == m ? 0 : -1;
}

/* "2026-07-06T22:00:00Z[UTC]", also with fractions, "+00:00" or without
 * "[UTC]"; a bare "yyyy-MM-dd" is midnight in Rome. -1 if neither. */
static int parse_time(const char *s, int64_t *ms)
{
	int64_t day;
	int hh, mi, ss;
	const char *p = s + 19;

	if (parse_day(s, &day) < 0)
		return -1;
	if (!s[10]) {
		*ms = rome_midnight_ms(day);
		return 0;
	}
	if (s[10] != 'T' || digits(s + 11, 2, &hh) || s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
	    digits(s + 17, 2, &ss) || hh > 23 || mi > 59 || ss > 60)
		return -1;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			;
	if (*p == 'Z')
		p++;
	else if (strncmp(p, "+00:00", 6) == 0)
		p += 6;
	else
		return -1;
	if (*p && strcmp(p, "[UTC]") != 0)
		return -1;
	*ms = (day * 86400 + hh * 3600 + mi * 60 + ss) * 1000LL;
	return 0;
}

/* The API's zoned form: 2026-07-06T22:00:00Z[UTC]. */
static void fmt_time(int64_t ms, char *out, size_t n)
{
	struct tm tm;

	civil_from_ms(ms, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ[UTC]", &tm);
}

/* A Rome day, yyyy-MM-dd: a guest's checkin and checkout. */
static void fmt_rome_day(int64_t ms, char *out, size_t n)
{
	struct tm tm;

	civil_from_ms(ms + rome_offset_ms(ms), &tm);
	strftime(out, n, "%Y-%m-%d", &tm);
}

/* ---- answers ---------------------------------------------------------------------------------- */

static void put_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

static void put_int(struct json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

static const char *human_name(const char *type)
{
	static const char *const names[][2] = {
		{ "ApiParamsExemption", "Invalid parameters" },
		{ "JsonParseExemption", "Invalid Json" },
		{ "ApiValidationFailed", "Validation failed" },
		{ "ApiKeyMissing", "Missing access token" },
		{ "ApiKeyInvalid", "Invalid access token" },
		{ "ApiSecurityException", "Access denied" },
		{ "ApiQuotaException", "Quota exceeded" },
		{ "WrongEnviroment", "Wrong environment" },
		{ "ApiResourceMissing", "Resource missing" },
		{ "MethodNotAllowed", "Method not allowed" },
		{ "InternalServerError", "Internal server error" },
		{ "ApiPartnerServerError", "Partner server error" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(type, names[i][0]) == 0)
			return names[i][1];
	return "Error";
}

/* An ApiError answer. `field` (machine_name) and `element` may be NULL. */
static void api_error(struct fh_req *rq, unsigned status, const char *type, const char *field, const char *element,
		      const char *suggestion, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

static void api_error(struct fh_req *rq, unsigned status, const char *type, const char *field, const char *element,
		      const char *suggestion, const char *fmt, ...)
{
	struct json_object *o = json_object_new_object();
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	put_str(o, "message", msg);
	put_str(o, "type", type);
	put_str(o, "machine_name", field ? field : "");
	put_str(o, "human_name", human_name(type));
	put_str(o, "element", element ? element : "");
	put_str(o, "suggestion", suggestion ? suggestion : "");
	fh_set_json(rq, status, o);
}

#define PARAMS_ERROR(rq, field, ...) \
	api_error(rq, 400, "ApiParamsExemption", field, NULL, "Check the parameters of the request", __VA_ARGS__)
#define VALIDATION_ERROR(rq, field, element, ...) \
	api_error(rq, 400, "ApiValidationFailed", field, element, "Check the values of the request", __VA_ARGS__)

/* What an injected status fault answers. */
static void fault_error(struct fh_req *rq, unsigned status)
{
	const char *type = status == 550 ? "ApiPartnerServerError" : status >= 500 ? "InternalServerError" :
			   status == 401 ? "ApiKeyInvalid" : status == 403 ? "ApiSecurityException" :
			   status == 404 || status == 422 ? "ApiResourceMissing" : status == 405 ? "MethodNotAllowed" :
			   "ApiParamsExemption";

	api_error(rq, status, type, NULL, NULL, "An injected fault of the fake", "Injected fault: HTTP %u", status);
}

/* ---- the world: accommodations and reservations -------------------------------------------- */

static struct json_object *acc_light(const struct acc *a)
{
	struct json_object *o = json_object_new_object();

	put_str(o, "id", a->id);
	put_str(o, "name", a->name);
	put_str(o, "currency", a->currency);
	put_str(o, "timeZone", a->tz);
	return o;
}

static struct json_object *acc_json(const struct acc *a)
{
	struct json_object *o = acc_light(a);

	put_str(o, "country", "IT");
	/* the owner's contact, which the spec requires of a property */
	put_str(o, "givenName", "Fake");
	put_str(o, "familyName", "Owner");
	put_str(o, "email", "owner@fake-hotel.example");
	return o;
}

static struct acc *acc_find(const char *id)
{
	for (size_t i = 0; i < w.nacc; i++)
		if (strcmp(w.acc[i].id, id) == 0)
			return &w.acc[i];
	return NULL;
}

static struct acc *acc_add(const char *id, const char *name, const char *currency, const char *tz)
{
	struct acc *a;
	char buf[64];

	if (w.nacc >= MAX_ACC)
		fh_die("more than %d accommodations", MAX_ACC);
	if (!w.acc && !(w.acc = calloc(MAX_ACC, sizeof(*w.acc))))
		fh_die("out of memory");
	a = &w.acc[w.nacc++];
	a->id = fh_xstrdup(id);
	snprintf(buf, sizeof(buf), "Fake Hotel %zu", w.nacc);
	a->name = fh_xstrdup(name ? name : buf);
	a->currency = fh_xstrdup(currency ? currency : "EUR");
	a->tz = fh_xstrdup(tz ? tz : "Europe/Rome");
	return a;
}

/* Index of the reservation with this id, or of where it would go (*found 0). */
static size_t res_pos(const struct acc *a, int64_t id, int *found)
{
	size_t lo = 0, hi = a->nres;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (a->res[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < a->nres && a->res[lo].id == id;
	return lo;
}

static struct res *res_find(struct acc *a, int64_t id)
{
	int found;
	size_t i = res_pos(a, id, &found);

	return found ? &a->res[i] : NULL;
}

static int res_id_taken(int64_t id)
{
	for (size_t i = 0; i < w.nacc; i++)
		if (res_find(&w.acc[i], id))
			return 1;
	return 0;
}

static int64_t time_field(struct json_object *o, const char *key)
{
	struct json_object *v;
	int64_t ms = 0;

	if (json_object_object_get_ex(o, key, &v))
		parse_time(json_object_get_string(v), &ms);
	return ms;
}

/* The cached times of a reservation, after any change of its JSON. */
static void res_cache(struct res *r)
{
	r->checkin = time_field(r->o, "checkin");
	r->checkout = time_field(r->o, "checkout");
	r->created = time_field(r->o, "createTime");
	r->updated = time_field(r->o, "updateTime");
}

static void set_time(struct json_object *o, const char *key, int64_t ms)
{
	char ts[48];

	fmt_time(ms, ts, sizeof(ts));
	put_str(o, key, ts);
}

/* Takes ownership of o; -1 at the caps or out of memory (o is freed). */
static int res_insert(struct acc *a, int64_t id, struct json_object *o)
{
	int found;
	size_t i;

	if (a->nres >= MAX_RES_PER_ACC || w.nres_total >= MAX_RES)
		goto fail;
	if (a->nres == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 8;
		struct res *n = realloc(a->res, cap * sizeof(*n));

		if (!n)
			goto fail;
		a->res = n;
		a->cap = cap;
	}
	i = res_pos(a, id, &found);
	memmove(&a->res[i + 1], &a->res[i], (a->nres - i) * sizeof(a->res[0]));
	a->res[i].id = id;
	a->res[i].o = o;
	res_cache(&a->res[i]);
	a->nres++;
	w.nres_total++;
	if (id >= w.next_id)
		w.next_id = id + 1;
	return 0;
fail:
	json_object_put(o);
	return -1;
}

static int has(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && !json_object_is_type(v, json_type_null);
}

static int is_status(const char *s)
{
	return s && (!strcmp(s, "CANCELLED") || !strcmp(s, "WAITING") || !strcmp(s, "CONFIRMED"));
}

/* A time field in the API's form: given (any form parse_time takes) or dflt. */
static int norm_time(struct json_object *o, const char *key, int64_t dflt, char *err, size_t n)
{
	struct json_object *v;
	int64_t ms = dflt;

	if (json_object_object_get_ex(o, key, &v) && !json_object_is_type(v, json_type_null) &&
	    (!json_object_is_type(v, json_type_string) || parse_time(json_object_get_string(v), &ms) < 0)) {
		snprintf(err, n, "\"%s\" must be a time like 2026-07-06T22:00:00Z[UTC] or a date like 2026-07-07", key);
		return -1;
	}
	set_time(o, key, ms);
	return 0;
}

static int norm_metadata(struct json_object *o, char *err, size_t n)
{
	struct json_object *a;

	if (!has(o, "metaData")) {
		json_object_object_add(o, "metaData", json_object_new_array());
		return 0;
	}
	json_object_object_get_ex(o, "metaData", &a);
	if (!json_object_is_type(a, json_type_array)) {
		snprintf(err, n, "\"metaData\" must be an array of objects");
		return -1;
	}
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *m = json_object_array_get_idx(a, i);

		if (!json_object_is_type(m, json_type_object)) {
			snprintf(err, n, "\"metaData\" must be an array of objects");
			return -1;
		}
		if (!has(m, "id"))
			put_int(m, "id", w.next_meta++);
	}
	return 0;
}

static void dflt_str(struct json_object *o, const char *key, const char *v)
{
	if (!has(o, key))
		put_str(o, key, v);
}

static void dflt_int(struct json_object *o, const char *key, int64_t v)
{
	if (!has(o, key))
		put_int(o, key, v);
}

/* Completes a reservation the way the API answers one: defaults for what is
 * missing, times in the zoned form, the accommodation. 0, or -1 and err. */
static int res_complete(const struct acc *a, struct json_object *o, int64_t id, int64_t now, char *err, size_t n)
{
	struct json_object *v;
	int64_t checkin_dflt = rome_midnight_ms(floor_div(now + rome_offset_ms(now), 86400000) + 30);
	int64_t checkin;
	char refer[32], in_day[16], out_day[16];

	put_int(o, "id", id);
	if (has(o, "status") && (!json_object_object_get_ex(o, "status", &v) ||
				 !is_status(json_object_get_string(v)))) {
		snprintf(err, n, "\"status\" must be CANCELLED, WAITING or CONFIRMED");
		return -1;
	}
	dflt_str(o, "status", "CONFIRMED");
	if (json_object_object_get_ex(o, "refer", &v) && json_object_is_type(v, json_type_int))
		put_str(o, "refer", json_object_get_string(v));
	snprintf(refer, sizeof(refer), "27475272%012lld", (long long)id);
	dflt_str(o, "refer", refer);
	dflt_int(o, "channelId", 1);
	dflt_str(o, "channelName", "Direct");
	dflt_str(o, "channelRefer", "");
	if (norm_time(o, "checkin", checkin_dflt, err, n) < 0)
		return -1;
	checkin = time_field(o, "checkin");
	if (norm_time(o, "checkout", rome_midnight_ms(floor_div(checkin + rome_offset_ms(checkin), 86400000) + 3), err,
		      n) < 0 || norm_time(o, "createTime", now, err, n) < 0 ||
	    norm_time(o, "updateTime", time_field(o, "createTime"), err, n) < 0)
		return -1;
	dflt_int(o, "product", 234760);
	dflt_int(o, "pmsProduct", 57600);
	if (!has(o, "totalGross"))
		json_object_object_add(o, "totalGross", json_object_new_double(0));
	if (!has(o, "roomGross"))
		json_object_object_add(o, "roomGross", json_object_get(json_object_object_get(o, "totalGross")));
	dflt_int(o, "totalGuest", 1);
	dflt_int(o, "totalChildren", 0);
	dflt_int(o, "totalInfants", 0);
	dflt_str(o, "currency", a->currency);
	dflt_str(o, "paymentStatus", "UNPAID");
	dflt_str(o, "privateNotes", "");
	if (!has(o, "guests"))
		json_object_object_add(o, "guests", json_object_new_array());
	if (!json_object_is_type(json_object_object_get(o, "guests"), json_type_array)) {
		snprintf(err, n, "\"guests\" must be an array");
		return -1;
	}
	/* a guest's stay in Rome days, required by ApiReservationGuestDTO (the
	 * spec's example: 2020-07-07 for a checkin at 2020-07-06T22:00:00Z) */
	fmt_rome_day(checkin, in_day, sizeof(in_day));
	fmt_rome_day(time_field(o, "checkout"), out_day, sizeof(out_day));
	v = json_object_object_get(o, "guests");
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		struct json_object *g = json_object_array_get_idx(v, i);

		if (json_object_is_type(g, json_type_object)) {
			dflt_str(g, "checkin", in_day);
			dflt_str(g, "checkout", out_day);
		}
	}
	if (norm_metadata(o, err, n) < 0)
		return -1;
	json_object_object_add(o, "accommodation", acc_light(a));
	return 0;
}

/* Reservation g of the generated world (1-based over all accommodations). */
static struct json_object *res_generated(const struct acc *a, long g, int64_t id)
{
	static const char *const chan[] = { "Booking", "Expedia", "Direct" };
	static const char *const chan_ref[] = { "BK", "EX", "" };
	static const int chan_id[] = { 142, 9, 1 };
	static const char *const lang[] = { "IT", "EN", "DE", "FR" };
	static const char *const nat[] = { "IT", "GB", "DE", "FR" };
	static const char *const pay[] = { "UNPAID", "PARTIALLY_PAID", "PAID" };
	struct json_object *o = json_object_new_object(), *guests = json_object_new_array();
	struct json_object *b = json_object_new_object();
	int64_t day = FIRST_CHECKIN_DAY + (g * 37) % 700, created = SEED_CREATE_MS + g * 60000LL;
	char s[96];
	int c = (int)((g - 1) % 3);

	put_int(o, "id", id);
	put_str(o, "status", "CONFIRMED");
	put_int(o, "channelId", chan_id[c]);
	put_str(o, "channelName", chan[c]);
	snprintf(s, sizeof(s), "%s%08ld", chan_ref[c], 40000000 + g);
	put_str(o, "channelRefer", c == 2 ? "" : s);
	set_time(o, "checkin", rome_midnight_ms(day));
	set_time(o, "checkout", rome_midnight_ms(day + 1 + g % 7));
	set_time(o, "createTime", created);
	set_time(o, "updateTime", created + 3600000);
	put_int(o, "product", 234760 + g % 3);
	put_int(o, "pmsProduct", 57600 + g % 5);
	json_object_object_add(o, "totalGross", json_object_new_double(80.5 + (double)((g * 37) % 900)));
	json_object_object_add(o, "roomGross", json_object_get(json_object_object_get(o, "totalGross")));
	put_int(o, "totalGuest", 1 + g % 3);
	put_str(o, "currency", a->currency);
	put_str(o, "paymentStatus", pay[g % 3]);
	put_str(o, "paymentType", "CREDITCARD");
	put_str(b, "type", "BOOKER");
	put_str(b, "givenName", "Guest");
	snprintf(s, sizeof(s), "%ld", g);
	put_str(b, "familyName", s);
	snprintf(s, sizeof(s), "Guest.%ld@Example.COM%s", g, g % 3 == 0 ? " " : "");
	put_str(b, "email", s);
	snprintf(s, sizeof(s), g % 2 ? "+39 %lld" : "%lld", 3330000000LL + g);
	put_str(b, "phone", s);
	put_str(b, "language", lang[g % 4]);
	put_str(b, "nationality", nat[g % 4]);
	json_object_array_add(guests, b);
	json_object_object_add(o, "guests", guests);
	return o;
}

static void seed_default(long nacc, long nres)
{
	long g = 0;

	if (nacc * nres > MAX_RES)
		fh_die("--accommodations x --reservations must be at most %d", MAX_RES);
	for (long i = 1; i <= nacc; i++) {
		char id[32], err[256];
		struct acc *a;

		snprintf(id, sizeof(id), "%ld", 100000 + i);
		a = acc_add(id, NULL, NULL, NULL);
		for (long k = 0; k < nres; k++) {
			int64_t rid = FIRST_RES_ID + ++g;
			struct json_object *o = res_generated(a, g, rid);

			if (res_complete(a, o, rid, now_ms(), err, sizeof(err)) < 0 || res_insert(a, rid, o) < 0)
				fh_die("cannot generate reservation %ld: %s", g, err);
		}
	}
}

static const char *obj_string(struct json_object *o, const char *key)
{
	return fh_ctl_string(o, key);
}

/* An id in JSON: a number or a numeric string; -1 if neither. */
static int64_t json_id(struct json_object *v)
{
	long n;

	if (json_object_is_type(v, json_type_int))
		return json_object_get_int64(v) > 0 ? json_object_get_int64(v) : -1;
	if (json_object_is_type(v, json_type_string) && fh_parse_long(json_object_get_string(v), &n) == 0 && n > 0)
		return n;
	return -1;
}

/* Adds a copy of `fields` as a new reservation: its id (> 0), or -1 with err. */
static int64_t res_add(struct acc *a, struct json_object *fields, char *err, size_t n)
{
	struct json_object *o, *copy = NULL, *v;
	int64_t id = w.next_id;

	if (json_object_object_get_ex(fields, "id", &v) && !json_object_is_type(v, json_type_null)) {
		if ((id = json_id(v)) < 0) {
			snprintf(err, n, "\"id\" must be a positive number");
			return -1;
		}
		if (res_id_taken(id)) {
			snprintf(err, n, "reservation id %lld exists already", (long long)id);
			return -1;
		}
	}
	if (json_object_deep_copy(fields, &copy, NULL) != 0) {
		snprintf(err, n, "out of memory");
		return -1;
	}
	/* The id first, as the API lists it. */
	o = json_object_new_object();
	put_int(o, "id", id);
	json_object_object_foreach(copy, k, fv)
		json_object_object_add(o, k, json_object_get(fv));
	json_object_put(copy);
	if (res_complete(a, o, id, now_ms(), err, n) < 0) {
		json_object_put(o);
		return -1;
	}
	if (res_insert(a, id, o) < 0) {
		snprintf(err, n, "the fake keeps at most %d reservations per accommodation, %d in all", MAX_RES_PER_ACC,
			 MAX_RES);
		return -1;
	}
	return id;
}

/* --seed FILE: {"accommodations":[{"id","name","currency","timeZone","reservations":[..]}]} */
static void seed_file(const char *path)
{
	struct json_object *root = json_object_from_file(path), *accs, *list;
	char err[256];

	if (!json_object_is_type(root, json_type_object))
		fh_die("--seed %s: not a JSON object (%s)", path,
		       json_util_get_last_err() ? json_util_get_last_err() : "");
	if (!json_object_object_get_ex(root, "accommodations", &accs) || !json_object_is_type(accs, json_type_array) ||
	    !json_object_array_length(accs))
		fh_die("--seed %s: \"accommodations\" must be an array of at least one object", path);
	for (size_t i = 0; i < json_object_array_length(accs); i++) {
		struct json_object *ao = json_object_array_get_idx(accs, i);
		const char *id = json_object_is_type(ao, json_type_object) ? obj_string(ao, "id") : NULL;
		struct acc *a;

		if (!id || !*id || strlen(id) > 64 || strchr(id, '/'))
			fh_die("--seed %s: accommodations[%zu] needs an \"id\" string of 1 to 64 characters, no '/'", path, i);
		if (acc_find(id))
			fh_die("--seed %s: accommodation id %s appears twice", path, id);
		a = acc_add(id, obj_string(ao, "name"), obj_string(ao, "currency"), obj_string(ao, "timeZone"));
		if (!json_object_object_get_ex(ao, "reservations", &list))
			continue;
		if (!json_object_is_type(list, json_type_array))
			fh_die("--seed %s: accommodations[%zu].reservations must be an array", path, i);
		for (size_t k = 0; k < json_object_array_length(list); k++) {
			struct json_object *r = json_object_array_get_idx(list, k);

			if (!json_object_is_type(r, json_type_object))
				fh_die("--seed %s: accommodations[%zu].reservations[%zu] must be an object", path, i, k);
			if (res_add(a, r, err, sizeof(err)) < 0)
				fh_die("--seed %s: accommodations[%zu].reservations[%zu]: %s", path, i, k, err);
		}
	}
	json_object_put(root);
}

/* ---- tokens, codes and the quota ---------------------------------------------------------------- */

static int drop_expired_access(const char *key, void *value, void *arg)
{
	struct access *t = value;

	(void)key;
	if (t->expires_ms > *(int64_t *)arg)
		return 0;
	free(t);
	return 1;
}

/* A new access token valid for --token-ttl; NULL when out of room. */
static const char *access_new(char out[2 * TOKEN_BYTES + 1], int64_t *expires_ms)
{
	struct access *t;
	int64_t now = now_ms();

	if (w.access.len >= TOKEN_CAP)
		fh_map_each(&w.access, drop_expired_access, &now);
	if (w.access.len >= TOKEN_CAP || !(t = malloc(sizeof(*t))))
		return NULL;
	do
		fh_random_hex(out, TOKEN_BYTES);
	while (fh_map_get(&w.access, out));
	t->expires_ms = *expires_ms = now + (int64_t)w.token_ttl * 1000;
	if (fh_map_put(&w.access, out, t) < 0) {
		free(t);
		return NULL;
	}
	w.st.tokens_issued++;
	return out;
}

static struct code *code_new(const char *s, int64_t issued)
{
	struct code *c;

	if (w.codes.len >= CODE_CAP || !(c = calloc(1, sizeof(*c))))
		return NULL;
	c->issued_ms = issued;
	if (fh_map_put(&w.codes, s, c) < 0) {
		free(c);
		return NULL;
	}
	return c;
}

static void bucket_trim(struct bucket *b, int64_t now)
{
	while (b->len && b->ring[b->head] <= now - w.quota_ms) {
		b->head = (b->head + 1) % (size_t)w.quota_max;
		b->len--;
	}
}

/* Spends `k` calls at time t without checking. */
static void bucket_spend(struct bucket *b, long k, int64_t t)
{
	for (long i = 0; i < k && b->len < (size_t)w.quota_max; i++)
		b->ring[(b->head + b->len++) % (size_t)w.quota_max] = t;
}

static struct bucket *bucket_get(const char *key, int64_t now)
{
	struct bucket *b = fh_map_get(&w.buckets, key);

	if (b || w.buckets.len >= BUCKET_CAP)
		return b;
	if (!(b = calloc(1, sizeof(*b))) || !(b->ring = calloc((size_t)w.quota_max, sizeof(*b->ring))) ||
	    fh_map_put(&w.buckets, key, b) < 0) {
		if (b)
			free(b->ring);
		free(b);
		return NULL;
	}
	if (w.preset_set && now - w.preset_at < w.quota_ms)
		bucket_spend(b, w.quota_max - w.preset_remaining, w.preset_at);
	return b;
}

/* Spends `cost` calls of the (token, accommodation) bucket: 1 and the
 * remaining calls in *left, or 0 when the quota is spent. A bucket that
 * cannot be made (the caps, memory) lets the call through. */
static int quota_take(const char *token, const char *acc, long cost, long *left)
{
	char key[2 * TOKEN_BYTES + 80];
	int64_t now = now_ms();
	struct bucket *b;

	snprintf(key, sizeof(key), "%s\x1f%s", token, acc ? acc : "");
	*left = w.quota_max;
	if (!(b = bucket_get(key, now)))
		return 1;
	bucket_trim(b, now);
	if ((long)b->len + cost > w.quota_max) {
		*left = w.quota_max - (long)b->len;
		return 0;
	}
	bucket_spend(b, cost, now);
	*left = w.quota_max - (long)b->len;
	return 1;
}

static int preset_bucket(const char *key, void *value, void *arg)
{
	struct bucket *b = value;

	(void)key;
	(void)arg;
	b->head = b->len = 0;
	bucket_spend(b, w.quota_max - w.preset_remaining, w.preset_at);
	return 0;
}

static int free_value(const char *key, void *value, void *arg)
{
	(void)key;
	(void)arg;
	free(value);
	return 1;
}

static int free_bucket(const char *key, void *value, void *arg)
{
	struct bucket *b = value;

	(void)key;
	(void)arg;
	free(b->ring);
	free(b);
	return 1;
}

/* ---- identity ------------------------------------------------------------------------------------- */

static void expire_date(int64_t ms, char *out, size_t n)
{
	struct tm tm;

	civil_from_ms(ms, &tm);
	strftime(out, n, "%Y-%m-%d %H:%M:%S+00:00", &tm);
}

/* 1 when the form names this application; else answered. */
static int client_ok(struct fh_req *rq, const struct fh_form *f, const char *const *required)
{
	const char *id = fh_form_get(f, "client_id"), *secret = fh_form_get(f, "client_secret");

	for (size_t i = 0; required[i]; i++) {
		const char *v = fh_form_get(f, required[i]);

		if (!v || !*v) {
			PARAMS_ERROR(rq, required[i], "Missing parameter: %s", required[i]);
			return 0;
		}
	}
	if (strcmp(id, w.client_id) != 0 || strcmp(secret, w.client_secret) != 0) {
		api_error(rq, 401, "ApiKeyInvalid", "client_id", "Application", "Check client_id and client_secret",
			  "Invalid client credentials");
		return 0;
	}
	return 1;
}

/* 1 when the code may be exchanged now (and is spent); else answered. */
static int code_spend(struct fh_req *rq, const char *s)
{
	struct code *c = fh_map_get(&w.codes, s);
	int64_t now = now_ms();

	if (!c && strncmp(s, "code-", 5) == 0)
		c = code_new(s, now);
	if (!c) {
		PARAMS_ERROR(rq, "code", "Invalid grant: the code is unknown");
		return 0;
	}
	if (c->used) {
		PARAMS_ERROR(rq, "code", "Invalid grant: the code was used already");
		return 0;
	}
	if (now - c->issued_ms > CODE_TTL_MS) {
		PARAMS_ERROR(rq, "code", "Invalid grant: the code is older than 3 minutes; ask the authorization again");
		return 0;
	}
	c->used = 1;
	return 1;
}

static void h_token(struct fh_req *rq)
{
	static const char *const required[] = { "client_id", "client_secret", "code", "redirect_uri", "grant_type", NULL };
	char at[2 * TOKEN_BYTES + 1], rt[2 * TOKEN_BYTES + 1], date[40];
	struct json_object *o;
	struct fh_form f;
	int64_t exp;

	fh_form_parse(&f, rq->body);
	if (!client_ok(rq, &f, required))
		goto out;
	if (strcmp(fh_form_get(&f, "grant_type"), "code") != 0) {
		PARAMS_ERROR(rq, "grant_type", "grant_type must be 'code'");
		goto out;
	}
	if (!code_spend(rq, fh_form_get(&f, "code")))
		goto out;
	if (w.refresh.len >= TOKEN_CAP || !access_new(at, &exp)) {
		api_error(rq, 500, "InternalServerError", NULL, NULL, NULL, "The fake's token store is full");
		goto out;
	}
	do
		fh_random_hex(rt, TOKEN_BYTES);
	while (fh_map_get(&w.refresh, rt));
	/* The map keeps the key; the value only has to be non-NULL. */
	if (fh_map_put(&w.refresh, rt, &w.refresh) < 0) {
		api_error(rq, 500, "InternalServerError", NULL, NULL, NULL, "Out of memory");
		goto out;
	}
	w.st.codes_exchanged++;
	expire_date(exp, date, sizeof(date));
	o = json_object_new_object();
	put_str(o, "access_token", at);
	put_str(o, "refresh_token", rt);
	put_int(o, "expires_in", w.token_ttl);
	put_str(o, "token_type", "Bearer");
	put_str(o, "expireDate", date);
	fh_set_json(rq, 200, o);
out:
	fh_form_free(&f);
}

static void h_refresh(struct fh_req *rq)
{
	static const char *const required[] = { "client_id", "client_secret", "refresh_token", NULL };
	char at[2 * TOKEN_BYTES + 1], date[40];
	struct json_object *o;
	struct fh_form f;
	int64_t exp;

	fh_form_parse(&f, rq->body);
	if (!client_ok(rq, &f, required))
		goto out;
	if (!fh_map_get(&w.refresh, fh_form_get(&f, "refresh_token"))) {
		api_error(rq, 401, "ApiKeyInvalid", "refresh_token", "Token", "Ask the property owner to authorize again",
			  "Invalid refresh token");
		goto out;
	}
	if (!access_new(at, &exp)) {
		api_error(rq, 500, "InternalServerError", NULL, NULL, NULL, "The fake's token store is full");
		goto out;
	}
	w.st.refreshes++;
	expire_date(exp, date, sizeof(date));
	o = json_object_new_object();
	put_str(o, "access_token", at);
	put_int(o, "expires_in", w.token_ttl);
	put_str(o, "expireDate", date);
	fh_set_json(rq, 200, o);
out:
	fh_form_free(&f);
}

/* ---- accommodations ----------------------------------------------------------------------------- */

/* A whole-number query parameter within [min, max]; 1 when fine. */
static int int_param(struct MHD_Connection *c, struct fh_req *rq, const char *name, long dflt, long min, long max,
		     long *out)
{
	const char *s = fh_query(c, name);

	*out = dflt;
	if (!s)
		return 1;
	if (fh_parse_long(s, out) < 0 || *out < min || *out > max) {
		VALIDATION_ERROR(rq, name, NULL, "%s must be a whole number from %ld to %ld", name, min, max);
		return 0;
	}
	return 1;
}

/* http://<Host><path>?<query without page>&page=N */
static void page_link(struct MHD_Connection *c, const char *path, long page, struct json_object *into, const char *k)
{
	const char *host = fh_header_in(c, "Host");
	struct json_object *l = json_object_new_object();
	char q[2048], href[2600];

	fh_query_string(c, "page", q, sizeof(q));
	snprintf(href, sizeof(href), "http://%.128s%.256s?%s%spage=%ld", host ? host : "127.0.0.1", path, q,
		 *q ? "&" : "", page);
	put_str(l, "href", href);
	json_object_object_add(into, k, l);
}

static struct json_object *page_json(struct MHD_Connection *c, const char *path, long page, long total_pages)
{
	struct json_object *p = json_object_new_object();

	put_int(p, "page", page);
	put_int(p, "totalPages", total_pages);
	page_link(c, path, page, p, "self");
	if (page + 1 < total_pages)
		page_link(c, path, page + 1, p, "next");
	if (page > 0)
		page_link(c, path, page - 1, p, "previous");
	return p;
}

static void h_acc_list(struct MHD_Connection *c, struct fh_req *rq, const char *url)
{
	const char *name = fh_query(c, "name");
	struct json_object *o, *data;
	long page, total = 0;

	if (!int_param(c, rq, "page", 0, 0, 1000, &page))
		return;
	data = json_object_new_array();
	for (size_t i = 0; i < w.nacc; i++) {
		if (name && *name && !strcasestr(w.acc[i].name, name))
			continue;
		if (total++ / ACC_PAGE == page)
			json_object_array_add(data, acc_json(&w.acc[i]));
	}
	o = json_object_new_object();
	json_object_object_add(o, "data", data);
	json_object_object_add(o, "page", page_json(c, url, page, (total + ACC_PAGE - 1) / ACC_PAGE));
	fh_set_json(rq, 200, o);
}

/* ---- reservations: search -------------------------------------------------------------------------- */

struct ids {
	int64_t v[IDS_CAP];
	size_t n;
	int bad;
};

static enum MHD_Result ids_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct ids *ids = cls;
	char *buf, *save = NULL;

	(void)kind;
	if (strcmp(key, "ids[]") != 0 && strcmp(key, "ids") != 0)
		return MHD_YES;
	if (!value || !*value || !(buf = strdup(value))) {
		ids->bad = 1;
		return MHD_YES;
	}
	for (char *p = strtok_r(buf, ",", &save); p && !ids->bad; p = strtok_r(NULL, ",", &save)) {
		long n;

		if (fh_parse_long(p, &n) < 0 || ids->n >= IDS_CAP)
			ids->bad = 1;
		else
			ids->v[ids->n++] = n;
	}
	free(buf);
	return MHD_YES;
}

struct search {
	int type;                /* 0 STAY, 1 CREATETIME, 2 MODIFIED_BETWEEN */
	int64_t from, to;        /* [from, to) in ms; INT64 limits when open */
	const char *status;
	struct ids *ids;
	int by_ids;
};

static int search_match(const struct search *s, const struct res *r)
{
	if (s->by_ids) {
		for (size_t i = 0; i < s->ids->n; i++)
			if (s->ids->v[i] == r->id)
				return 1;
		return 0;
	}
	if (s->status && strcmp(s->status, json_object_get_string(json_object_object_get(r->o, "status"))) != 0)
		return 0;
	switch (s->type) {
	case 0: return r->checkin < s->to && r->checkout > s->from;
	case 1: return r->created >= s->from && r->created < s->to;
	default: return r->updated >= s->from && r->updated < s->to;
	}
}

/* The type and dates of a search; 1 when fine, else answered. */
static int search_params(struct MHD_Connection *c, struct fh_req *rq, struct search *s)
{
	static const char *const others[] = { "ACTIVE", "CHECKIN", "CHECKOUT", "TODAYARRIVALS", "TOMORROWARRIVALS",
		"NEXT3ARRIVALS", "NEXT7ARRIVALS", "TODAYDEPARTURES", "MODIFIED", "NEWLY", "IN_HOUSE", "NO_CHECKOUT",
		"CANCELLATION", NULL };
	const char *type = fh_query(c, "type"), *sd = fh_query(c, "startDate"), *ed = fh_query(c, "endDate");
	int64_t d1, d2;

	s->from = INT64_MIN;
	s->to = INT64_MAX;
	s->status = fh_query(c, "status");
	if (!type || !strcmp(type, "STAY"))
		s->type = 0;
	else if (!strcmp(type, "CREATETIME"))
		s->type = 1;
	else if (!strcmp(type, "MODIFIED_BETWEEN"))
		s->type = 2;
	else {
		for (size_t i = 0; others[i]; i++)
			if (!strcmp(type, others[i])) {
				PARAMS_ERROR(rq, "type", "The fake implements type STAY, CREATETIME and MODIFIED_BETWEEN, "
					     "not %s", type);
				return 0;
			}
		PARAMS_ERROR(rq, "type", "No enum constant ReservationSearchType.%.64s", type);
		return 0;
	}
	if (s->status && *s->status && !is_status(s->status)) {
		PARAMS_ERROR(rq, "status", "The fake filters status CANCELLED, WAITING and CONFIRMED, not %.64s", s->status);
		return 0;
	}
	if (s->status && !*s->status)
		s->status = NULL;
	if ((sd && parse_day(sd, &d1) < 0) || (ed && parse_day(ed, &d2) < 0)) {
		PARAMS_ERROR(rq, sd && parse_day(sd, &d1) < 0 ? "startDate" : "endDate",
			     "Dates must be in format yyyy-MM-dd");
		return 0;
	}
	if (sd && ed && d2 < d1) {
		VALIDATION_ERROR(rq, "endDate", NULL, "endDate is before startDate");
		return 0;
	}
	if (sd)
		s->from = rome_midnight_ms(d1);
	if (ed)
		s->to = rome_midnight_ms(d2 + 1);
	return 1;
}

static void h_search(struct MHD_Connection *c, struct fh_req *rq, const char *url, struct acc *a)
{
	struct ids *ids = calloc(1, sizeof(*ids));
	struct search s = { .ids = ids };
	struct json_object *o, *data;
	long page, size, total = 0;

	if (!ids) {
		api_error(rq, 500, "InternalServerError", NULL, NULL, NULL, "Out of memory");
		return;
	}
	if (!int_param(c, rq, "page", 0, 0, 1000, &page) || !int_param(c, rq, "size", 20, 1, 200, &size) ||
	    !search_params(c, rq, &s))
		goto out;
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, ids_arg, ids);
	if (ids->bad) {
		PARAMS_ERROR(rq, "ids[]", "ids[] must be reservation ids (numbers), at most %d", IDS_CAP);
		goto out;
	}
	s.by_ids = ids->n > 0;
	data = json_object_new_array();
	for (size_t i = 0; i < a->nres; i++) {
		if (!search_match(&s, &a->res[i]))
			continue;
		if (total++ / size == page)
			json_object_array_add(data, json_object_get(a->res[i].o));
	}
	o = json_object_new_object();
	json_object_object_add(o, "data", data);
	json_object_object_add(o, "page", page_json(c, url, page, (total + size - 1) / size));
	fh_set_json(rq, 200, o);
out:
	free(ids);
}

/* ---- reservations: PATCH ------------------------------------------------------------------------ */

static struct res *res_lookup(struct acc *a, const char *idstr)
{
	long id;

	return fh_parse_long(idstr, &id) == 0 ? res_find(a, id) : NULL;
}

/* One metaData entry of a PATCH applied to the reservation copy `o`; 1 when
 * fine, else answered. */
static int patch_meta_entry(struct fh_req *rq, struct json_object *metas, struct json_object *in)
{
	static const char *const keys[] = { "metaKey", "labelText", "metaDataType", "value", NULL };
	struct json_object *target = NULL, *v;
	const char *key = obj_string(in, "metaKey"), *type = obj_string(in, "metaDataType");

	if (!json_object_is_type(in, json_type_object)) {
		VALIDATION_ERROR(rq, "metaData", "Reservation", "metaData entries must be objects");
		return 0;
	}
	if (type && strcmp(type, "TEXT") && strcmp(type, "LINK")) {
		VALIDATION_ERROR(rq, "metaData.metaDataType", "Reservation", "metaDataType must be TEXT or LINK");
		return 0;
	}
	for (size_t i = 0; keys[i]; i++)
		if (json_object_object_get_ex(in, keys[i], &v) && !json_object_is_type(v, json_type_null) &&
		    !json_object_is_type(v, json_type_string)) {
			VALIDATION_ERROR(rq, keys[i], "Reservation", "metaData %s must be a string", keys[i]);
			return 0;
		}
	if (json_object_object_get_ex(in, "id", &v) && !json_object_is_type(v, json_type_null)) {
		int64_t id = json_id(v);

		for (size_t i = 0; i < json_object_array_length(metas) && !target; i++) {
			struct json_object *m = json_object_array_get_idx(metas, i);

			if (json_object_get_int64(json_object_object_get(m, "id")) == id)
				target = m;
		}
		if (!target) {
			VALIDATION_ERROR(rq, "metaData.id", "Reservation", "metaData id %s is not a meta of this reservation",
					 json_object_get_string(v));
			return 0;
		}
	} else {
		if (!key || !*key) {
			VALIDATION_ERROR(rq, "metaData.metaKey", "Reservation", "A new metaData entry needs a metaKey");
			return 0;
		}
		for (size_t i = 0; i < json_object_array_length(metas) && !target; i++) {
			struct json_object *m = json_object_array_get_idx(metas, i);
			const char *k = obj_string(m, "metaKey");

			if (k && strcmp(k, key) == 0)
				target = m;
		}
		if (!target) {
			target = json_object_new_object();
			put_int(target, "id", w.next_meta++);
			put_str(target, "metaKey", key);
			put_str(target, "labelText", key);
			put_str(target, "metaDataType", "TEXT");
			put_str(target, "value", "");
			json_object_array_add(metas, target);
		}
	}
	for (size_t i = 0; keys[i]; i++)
		if (json_object_object_get_ex(in, keys[i], &v))
			json_object_object_add(target, keys[i], json_object_get(v));
	return 1;
}

static int patch_meta(struct fh_req *rq, struct json_object *o, struct json_object *list)
{
	struct json_object *metas;

	if (!json_object_is_type(list, json_type_array)) {
		VALIDATION_ERROR(rq, "metaData", "Reservation", "metaData must be an array");
		return 0;
	}
	if (!json_object_object_get_ex(o, "metaData", &metas) || !json_object_is_type(metas, json_type_array)) {
		metas = json_object_new_array();
		json_object_object_add(o, "metaData", metas);
	}
	for (size_t i = 0; i < json_object_array_length(list); i++)
		if (!patch_meta_entry(rq, metas, json_object_array_get_idx(list, i)))
			return 0;
	return 1;
}

/* privateNotes, with noteTime's stamp before the part that is new. */
static int patch_notes(struct fh_req *rq, struct json_object *o, struct json_object *notes, int stamp)
{
	const char *old = obj_string(o, "privateNotes"), *nw;
	size_t keep = 0, lead = 0, len;
	char ts[48], *buf;
	struct tm tm;
	int64_t now = now_ms();

	if (json_object_is_type(notes, json_type_null)) {
		put_str(o, "privateNotes", "");
		return 1;
	}
	if (!json_object_is_type(notes, json_type_string)) {
		VALIDATION_ERROR(rq, "privateNotes", "Reservation", "privateNotes must be a string");
		return 0;
	}
	nw = json_object_get_string(notes);
	len = strlen(nw);
	if (old && *old && strncmp(nw, old, strlen(old)) == 0)
		keep = strlen(old);
	while (keep + lead < len && isspace((unsigned char)nw[keep + lead]))
		lead++;
	if (!stamp || keep + lead == len || (old && strcmp(old, nw) == 0)) {
		put_str(o, "privateNotes", nw);
		return 1;
	}
	civil_from_ms(now + rome_offset_ms(now), &tm);
	strftime(ts, sizeof(ts), "[%Y-%m-%d %H:%M api] ", &tm);
	if (!(buf = malloc(len + strlen(ts) + 1))) {
		api_error(rq, 500, "InternalServerError", NULL, NULL, NULL, "Out of memory");
		return 0;
	}
	memcpy(buf, nw, keep + lead);
	strcpy(buf + keep + lead, ts);
	strcat(buf, nw + keep + lead);
	put_str(o, "privateNotes", buf);
	free(buf);
	return 1;
}

/* The other writable fields a PATCH may carry, with their JSON type. */
static int patch_plain(struct fh_req *rq, struct json_object *o, struct json_object *body)
{
	static const struct { const char *key; enum json_type type; } plain[] = {
		{ "houseKeepingNotes", json_type_string }, { "color", json_type_string },
		{ "tagLabel", json_type_int }, { "tagColor", json_type_int }, { "roomCode", json_type_object },
	};
	struct json_object *v;

	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		if (!json_object_object_get_ex(body, plain[i].key, &v))
			continue;
		if (!json_object_is_type(v, json_type_null) && !json_object_is_type(v, plain[i].type)) {
			VALIDATION_ERROR(rq, plain[i].key, "Reservation", "%s has the wrong type", plain[i].key);
			return 0;
		}
		json_object_object_add(o, plain[i].key, json_object_get(v));
	}
	return 1;
}

static int patch_status(struct fh_req *rq, struct json_object *o, struct json_object *v)
{
	const char *to = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
	const char *from = obj_string(o, "status");

	if (json_object_is_type(v, json_type_null))
		return 1;
	if (!is_status(to)) {
		VALIDATION_ERROR(rq, "status", "Reservation", "status must be CANCELLED, WAITING or CONFIRMED");
		return 0;
	}
	if (from && strcmp(from, "CONFIRMED") == 0 && strcmp(to, "CANCELLED") == 0) {
		api_error(rq, 400, "ApiValidationFailed", "status", "Reservation",
			  "Use PUT or DELETE to cancel a confirmed reservation",
			  "Direct transition from CONFIRMED to CANCELLED is not allowed via PATCH");
		return 0;
	}
	put_str(o, "status", to);
	return 1;
}

static void h_patch(struct fh_req *rq, struct acc *a, const char *idstr)
{
	struct json_object *body = fh_json_parse(rq->body, rq->len), *o = NULL, *v;
	struct res *r = res_lookup(a, idstr);
	const char *before;
	char *old = NULL;

	if (!body || !json_object_is_type(body, json_type_object)) {
		api_error(rq, 400, "JsonParseExemption", NULL, "Reservation", "Send a JSON object",
			  "The request body is not a JSON object");
		goto out;
	}
	if (!r) {
		api_error(rq, 404, "ApiResourceMissing", "id", "Reservation", "Make sure the reservation exists",
			  "Reservation %.32s not found in accommodation %s", idstr, a->id);
		goto out;
	}
	before = json_object_to_json_string_ext(r->o, JSON_C_TO_STRING_PLAIN);
	if (!before || !(old = strdup(before)) || json_object_deep_copy(r->o, &o, NULL) != 0) {
		api_error(rq, 500, "InternalServerError", NULL, NULL, NULL, "Out of memory");
		goto out;
	}
	if (json_object_object_get_ex(body, "status", &v) && !patch_status(rq, o, v))
		goto out;
	if (json_object_object_get_ex(body, "metaData", &v) && !json_object_is_type(v, json_type_null) &&
	    !patch_meta(rq, o, v))
		goto out;
	if (json_object_object_get_ex(body, "privateNotes", &v) &&
	    !patch_notes(rq, o, v, json_object_get_boolean(json_object_object_get(body, "noteTime"))))
		goto out;
	if (!patch_plain(rq, o, body))
		goto out;
	if (strcmp(old, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)) != 0) {
		set_time(o, "updateTime", now_ms());
		json_object_put(r->o);
		r->o = o;
		o = NULL;
		res_cache(r);
	}
	fh_set_json(rq, 200, json_object_get(r->o));
out:
	free(old);
	json_object_put(o);
	json_object_put(body);
}

/* ---- routing and access ------------------------------------------------------------------------- */

#define REST "/rest/v1/"

struct route {
	enum ep ep;
	char acc[72];            /* the {acc}/{id} path segment */
	char id[32];             /* the {id} of a reservation */
	const char *allow;       /* for 405 */
};

/* One path segment after `p` ("x" or "x/..."), copied; its end or NULL. */
static const char *segment(const char *p, char *out, size_t n)
{
	size_t len = strcspn(p, "/");

	if (!len || len >= n)
		return NULL;
	memcpy(out, p, len);
	out[len] = 0;
	return p + len;
}

static void route(const char *url, const char *method, struct route *r)
{
	int get = !strcmp(method, "GET"), post = !strcmp(method, "POST"), patch = !strcmp(method, "PATCH");
	const char *p;

	memset(r, 0, sizeof(*r));
	if (!strcmp(url, REST "identity/token") || !strcmp(url, REST "identity/refresh")) {
		r->allow = "POST";
		r->ep = !post ? EP_METHOD : url[strlen(REST "identity/")] == 't' ? EP_TOKEN : EP_REFRESH;
	} else if (!strcmp(url, REST "accommodation")) {
		r->allow = "GET";
		r->ep = get ? EP_ACC_LIST : EP_METHOD;
	} else if (!strncmp(url, REST "accommodation/", strlen(REST "accommodation/"))) {
		p = segment(url + strlen(REST "accommodation/"), r->acc, sizeof(r->acc));
		r->allow = "GET";
		r->ep = !p || *p ? EP_NONE : get ? EP_ACC_GET : EP_METHOD;
	} else if (!strncmp(url, REST "reservation/", strlen(REST "reservation/"))) {
		p = segment(url + strlen(REST "reservation/"), r->acc, sizeof(r->acc));
		if (p && !*p) {
			r->allow = "GET";
			r->ep = get ? EP_SEARCH : EP_METHOD;
		} else if (p && (p = segment(p + 1, r->id, sizeof(r->id))) && !*p) {
			r->allow = "GET, PATCH";
			r->ep = get ? EP_RES_GET : patch ? EP_PATCH : EP_METHOD;
		}
	}
}

/* The bearer token of the request, or NULL after answering 401. */
static const char *authenticate(struct MHD_Connection *c, struct fh_req *rq)
{
	const char *h = fh_header_in(c, "Authorization");
	struct access *t;

	if (!h || strncasecmp(h, "Bearer ", 7) != 0 || !h[7]) {
		api_error(rq, 401, "ApiKeyMissing", "Authorization", NULL, "Send Authorization: Bearer <access_token>",
			  "Access token missing");
		return NULL;
	}
	h += 7;
	while (*h == ' ')
		h++;
	t = fh_map_get(&w.access, h);
	if (!t || t->expires_ms <= now_ms()) {
		api_error(rq, 401, "ApiKeyInvalid", "Authorization", NULL, "Refresh the access token",
			  t ? "Access token expired" : "Access token invalid");
		return NULL;
	}
	return h;
}

/* The cost of a search: 1, and 1 more for a page of over 100. */
static long call_cost(struct MHD_Connection *c, enum ep ep)
{
	const char *s = fh_query(c, "size");
	long size;

	return ep == EP_SEARCH && s && fh_parse_long(s, &size) == 0 && size > 100 && size <= 200 ? 2 : 1;
}

struct verdict {
	struct route r;
	struct acc *a;
	long left;
	int quota;               /* refused for the quota */
};

/* Everything before the request itself; 1 when it may be served. */
static int admit(struct MHD_Connection *c, struct fh_req *rq, struct verdict *v)
{
	const char *token;
	long cost;

	if (rq->too_big) {
		api_error(rq, 413, "ApiParamsExemption", NULL, NULL, "Send less", "Request body larger than 1 MiB");
		return 0;
	}
	if (w.wrong_env) {
		w.st.wrong_env++;
		api_error(rq, 403, "WrongEnviroment", NULL, NULL, "Check where are you trying to execute your call",
			  "The application is not allowed in this environment");
		return 0;
	}
	if (v->r.ep == EP_TOKEN || v->r.ep == EP_REFRESH)
		return 1;
	if (!(token = authenticate(c, rq)))
		return 0;
	if (v->r.ep != EP_ACC_LIST && !(v->a = acc_find(v->r.acc))) {
		api_error(rq, 404, "ApiResourceMissing", "accommodation", "Accommodation", "Make sure the resource exists",
			  "Accommodation %s not found", v->r.acc);
		return 0;
	}
	cost = call_cost(c, v->r.ep);
	if (!quota_take(token, v->a ? v->a->id : NULL, cost, &v->left)) {
		v->quota = 1;
		api_error(rq, 403, "ApiQuotaException", NULL, NULL,
			  "Wait for new quota, optimize your calls in order to do as few as you can",
			  "Quota exceeded: %ld calls per %lld ms per accommodation and token", w.quota_max,
			  (long long)w.quota_ms);
		return 0;
	}
	if (cost > 1)
		fh_add_header(rq, "X-RateLimit-Additional-Cost", "%ld", cost - 1);
	return 1;
}

static void serve_api(struct MHD_Connection *c, const char *url, struct fh_req *rq, struct verdict *v)
{
	switch (v->r.ep) {
	case EP_TOKEN: h_token(rq); break;
	case EP_REFRESH: h_refresh(rq); break;
	case EP_ACC_LIST: h_acc_list(c, rq, url); break;
	case EP_ACC_GET: fh_set_json(rq, 200, acc_json(v->a)); break;
	case EP_SEARCH: h_search(c, rq, url, v->a); break;
	case EP_RES_GET: {
		struct res *r = res_lookup(v->a, v->r.id);

		if (r)
			fh_set_json(rq, 200, json_object_get(r->o));
		else
			api_error(rq, 404, "ApiResourceMissing", "id", "Reservation", "Make sure the reservation exists",
				  "Reservation %.32s not found in accommodation %s", v->r.id, v->a->id);
		break;
	}
	case EP_PATCH: h_patch(rq, v->a, v->r.id); break;
	default: break;
	}
}

/* ---- the log and the counters --------------------------------------------------------------------- */

/* A request body for the log: JSON as JSON, a form as an object without
 * its secrets, anything else as a (cut) string. */
static int is_secret(const char *key)
{
	return !strcmp(key, "client_secret") || !strcmp(key, "refresh_token") || !strcmp(key, "access_token");
}

static struct json_object *body_for_log(const struct fh_req *rq, enum ep ep)
{
	int identity = ep == EP_TOKEN || ep == EP_REFRESH;
	struct json_object *o;
	struct fh_form f;

	if (!rq->body || !rq->len)
		return NULL;
	if (rq->len <= BODY_LOG_CAP && (o = fh_json_parse(rq->body, rq->len))) {
		if (identity && json_object_is_type(o, json_type_object)) {
			json_object_object_foreach(o, k, v) {
				(void)v;
				if (is_secret(k))
					put_str(o, k, "<redacted>");
			}
		}
		/* Secrets in any other shape are not worth the risk. */
		if (!identity || json_object_is_type(o, json_type_object))
			return o;
		json_object_put(o);
		return json_object_new_string("<redacted>");
	}
	if (!identity)
		return json_object_new_string_len(rq->body, (int)(rq->len < BODY_LOG_CAP ? rq->len : BODY_LOG_CAP));
	fh_form_parse(&f, rq->body);
	o = json_object_new_object();
	for (size_t i = 0; i < f.n; i++)
		put_str(o, f.key[i], is_secret(f.key[i]) ? "<redacted>" : f.val[i]);
	fh_form_free(&f);
	return o;
}

static void count_status(unsigned status, int quota)
{
	if (status >= 200 && status < 300)
		w.st.s2xx++;
	else if (status >= 400 && status < 500)
		w.st.s4xx++;
	else if (status >= 500)
		w.st.s5xx++;
	if (quota)
		w.st.s403quota++;
}

static void record(struct MHD_Connection *c, const char *url, const char *method, const struct fh_req *rq,
		   const struct verdict *v, const char *request_id)
{
	struct json_object *o = json_object_new_object();
	char ts[48], q[2048];

	w.st.requests++;
	w.st.ep[v->r.ep]++;
	if (rq->reset)
		w.st.resets++;
	else
		count_status(rq->status, v->quota);
	fmt_time(now_ms(), ts, sizeof(ts));
	fh_query_string(c, NULL, q, sizeof(q));
	put_str(o, "ts", ts);
	put_str(o, "request_id", request_id);
	put_str(o, "method", method);
	put_str(o, "path", url);
	put_str(o, "query", q);
	put_str(o, "endpoint", ep_names[v->r.ep]);
	put_int(o, "status", rq->reset ? 0 : rq->status);
	json_object_object_add(o, "accommodation", v->r.acc[0] ? json_object_new_string(v->r.acc) : NULL);
	json_object_object_add(o, "auth", json_object_new_boolean(fh_header_in(c, "Authorization") != NULL));
	json_object_object_add(o, "body", body_for_log(rq, v->r.ep));
	fh_log_add(o);
}

static struct json_object *stats_json(void)
{
	struct json_object *o = fh_ctl_ok(), *e = json_object_new_object(), *s = json_object_new_object();

	put_int(o, "requests", (int64_t)w.st.requests);
	for (int i = 0; i < EP_COUNT; i++)
		put_int(e, ep_names[i], (int64_t)w.st.ep[i]);
	json_object_object_add(o, "endpoints", e);
	put_int(s, "2xx", (int64_t)w.st.s2xx);
	put_int(s, "4xx", (int64_t)w.st.s4xx);
	put_int(s, "403quota", (int64_t)w.st.s403quota);
	put_int(s, "5xx", (int64_t)w.st.s5xx);
	json_object_object_add(o, "status", s);
	put_int(o, "resets", (int64_t)w.st.resets);
	put_int(o, "wrong_environment", (int64_t)w.st.wrong_env);
	put_int(o, "codes_exchanged", (int64_t)w.st.codes_exchanged);
	put_int(o, "refreshes", (int64_t)w.st.refreshes);
	put_int(o, "tokens_issued", (int64_t)w.st.tokens_issued);
	put_int(o, "faults_injected", (int64_t)fh_faults_injected());
	put_int(o, "reservations", (int64_t)w.nres_total);
	return o;
}

static void summary_line(char *out, size_t n)
{
	pthread_mutex_lock(&w.mu);
	snprintf(out, n,
		 "requests=%lu 2xx=%lu 4xx=%lu 403quota=%lu 5xx=%lu resets=%lu token=%lu refresh=%lu search=%lu "
		 "patch=%lu accommodation=%lu get=%lu",
		 w.st.requests, w.st.s2xx, w.st.s4xx, w.st.s403quota, w.st.s5xx, w.st.resets, w.st.ep[EP_TOKEN],
		 w.st.ep[EP_REFRESH], w.st.ep[EP_SEARCH], w.st.ep[EP_PATCH], w.st.ep[EP_ACC_LIST] + w.st.ep[EP_ACC_GET],
		 w.st.ep[EP_RES_GET]);
	pthread_mutex_unlock(&w.mu);
}

/* An API request, decided and recorded under w.mu. */
static void api(struct MHD_Connection *c, const char *url, const char *method, struct fh_req *rq)
{
	struct verdict v = { .left = -1 };
	char request_id[37];
	unsigned fault;
	int64_t extra = 0;

	fh_uuid(request_id);
	fh_add_header(rq, "request-id", "%s", request_id);
	pthread_mutex_lock(&w.mu);
	rq->delay_ms = w.latency_ms;
	route(url, method, &v.r);
	if (v.r.ep == EP_NONE) {
		fh_set_body(rq, 404, "", NULL, 0);  /* bare, as for a wrong URL */
		goto done;
	}
	if (v.r.ep == EP_METHOD) {
		fh_add_header(rq, "Allow", "%s", v.r.allow);
		api_error(rq, 405, "MethodNotAllowed", NULL, NULL, "See the Allow header",
			  "Method %.16s is not allowed here", method);
		goto headers;
	}
	if (!admit(c, rq, &v))
		goto headers;
	if ((fault = fh_fault_before(url, &rq->reset, &extra)))
		fault_error(rq, fault);
	rq->delay_ms += extra;
	if (fault || rq->reset)
		goto headers;
	serve_api(c, url, rq, &v);
	fh_fault_after(url, rq);
headers:
	fh_add_header(rq, "X-RateLimit-Remaining", "%ld", v.left >= 0 ? v.left : w.quota_max);
done:
	record(c, url, method, rq, &v, request_id);
	pthread_mutex_unlock(&w.mu);
}

/* ---- control ------------------------------------------------------------------------------------- */

/* "accommodation": an id or a 0-based index; the first when absent. */
static struct acc *ctl_acc(struct json_object *req)
{
	struct json_object *v;
	char buf[32];

	if (!json_object_object_get_ex(req, "accommodation", &v) || json_object_is_type(v, json_type_null))
		return &w.acc[0];
	if (json_object_is_type(v, json_type_int)) {
		int64_t i = json_object_get_int64(v);

		if (i >= 0 && i < (int64_t)w.nacc)
			return &w.acc[i];
		snprintf(buf, sizeof(buf), "%lld", (long long)i);
		return acc_find(buf);
	}
	return json_object_is_type(v, json_type_string) ? acc_find(json_object_get_string(v)) : NULL;
}

static struct json_object *ctl_reservation(struct json_object *req, const char *op, unsigned *status)
{
	struct acc *a = ctl_acc(req);
	struct json_object *v, *o, *fields;
	struct res *r = NULL;
	char err[256];
	int64_t id;

	*status = 400;
	if (!a)
		return fh_ctl_fail("%s: \"accommodation\" must be an accommodation id or index (0..%zu)", op, w.nacc - 1);
	if (!strcmp(op, "reservations")) {
		struct json_object *list = json_object_new_array();

		for (size_t i = 0; i < a->nres; i++)
			json_object_array_add(list, json_object_get(a->res[i].o));
		o = fh_ctl_ok();
		json_object_object_add(o, "reservations", list);
		*status = 200;
		return o;
	}
	if (!strcmp(op, "reservation_add")) {
		if (!json_object_object_get_ex(req, "reservation", &fields) || !json_object_is_type(fields, json_type_object))
			return fh_ctl_fail("reservation_add: \"reservation\" must be an object of reservation fields");
		if ((id = res_add(a, fields, err, sizeof(err))) < 0) {
			*status = strstr(err, "exists") ? 409 : 400;
			return fh_ctl_fail("reservation_add: %s", err);
		}
		o = fh_ctl_ok();
		put_int(o, "id", id);
		*status = 200;
		return o;
	}
	if (!json_object_object_get_ex(req, "id", &v) || (id = json_id(v)) < 0)
		return fh_ctl_fail("%s: \"id\" (a reservation id) is required", op);
	if (!(r = res_find(a, id))) {
		*status = 404;
		return fh_ctl_fail("%s: accommodation %s has no reservation %lld", op, a->id, (long long)id);
	}
	if (!strcmp(op, "reservation_set")) {
		struct json_object *copy = NULL;

		if (!json_object_object_get_ex(req, "fields", &fields) || !json_object_is_type(fields, json_type_object))
			return fh_ctl_fail("reservation_set: \"fields\" must be an object");
		if (json_object_object_get_ex(fields, "id", &v) && json_id(v) != id)
			return fh_ctl_fail("reservation_set: the id of a reservation cannot change");
		if (json_object_deep_copy(r->o, &copy, NULL) != 0)
			return fh_ctl_fail("reservation_set: out of memory");
		json_object_object_foreach(fields, k, fv)
			json_object_object_add(copy, k, json_object_get(fv));
		if (!has(fields, "updateTime"))
			set_time(copy, "updateTime", now_ms());
		if (res_complete(a, copy, id, now_ms(), err, sizeof(err)) < 0) {
			json_object_put(copy);
			return fh_ctl_fail("reservation_set: %s", err);
		}
		json_object_put(r->o);
		r->o = copy;
		res_cache(r);
	}
	o = fh_ctl_ok();
	json_object_object_add(o, "reservation", json_object_get(r->o));
	*status = 200;
	return o;
}

static struct json_object *ctl_code(struct json_object *req, const char *op, unsigned *status)
{
	char s[2 * TOKEN_BYTES + 1];
	const char *code = fh_ctl_string(req, "code");
	struct json_object *o;
	struct code *c;
	int64_t secs;

	*status = 400;
	if (!strcmp(op, "issue_code")) {
		do
			fh_random_hex(s, TOKEN_BYTES / 2);
		while (fh_map_get(&w.codes, s));
		if (!code_new(s, now_ms()))
			return fh_ctl_fail("issue_code: the fake keeps at most %d codes", CODE_CAP);
		o = fh_ctl_ok();
		put_str(o, "code", s);
		*status = 200;
		return o;
	}
	if (!code || fh_ctl_int(req, "seconds", &secs) <= 0)
		return fh_ctl_fail("age_code: \"code\" (a string) and \"seconds\" (a number) are required");
	c = fh_map_get(&w.codes, code);
	if (!c && strncmp(code, "code-", 5) == 0)
		c = code_new(code, now_ms());
	if (!c) {
		*status = 404;
		return fh_ctl_fail("age_code: no code %.64s was issued", code);
	}
	c->issued_ms -= secs * 1000;
	*status = 200;
	return fh_ctl_ok();
}

static struct json_object *ctl_settings(struct json_object *req, const char *op, unsigned *status)
{
	struct json_object *o;
	int64_t n;
	char ts[48];

	*status = 400;
	if (!strcmp(op, "clock")) {
		if (fh_ctl_int(req, "offset_s", &n) <= 0 || n < -3650LL * 86400 || n > 3650LL * 86400)
			return fh_ctl_fail("clock: \"offset_s\" must be a number of seconds (within 10 years)");
		w.offset_ms = n * 1000;
		o = fh_ctl_ok();
		put_int(o, "offset_s", n);
		fmt_time(now_ms(), ts, sizeof(ts));
		put_str(o, "now", ts);
		*status = 200;
		return o;
	}
	if (!strcmp(op, "quota")) {
		if (fh_ctl_int(req, "remaining", &n) <= 0 || n < 0)
			return fh_ctl_fail("quota: \"remaining\" must be a number >= 0");
		w.preset_set = 1;
		w.preset_remaining = n > w.quota_max ? w.quota_max : (long)n;
		w.preset_at = now_ms();
		fh_map_each(&w.buckets, preset_bucket, NULL);
		*status = 200;
		return fh_ctl_ok();
	}
	/* latency */
	if (fh_ctl_int(req, "ms", &n) <= 0 || n < 0 || n > 600000)
		return fh_ctl_fail("latency: \"ms\" must be from 0 to 600000");
	w.latency_ms = (long)n;
	*status = 200;
	return fh_ctl_ok();
}

/* POST /_control: one operation; the caller holds w.mu. */
static struct json_object *ctl_op(struct json_object *req, unsigned *status)
{
	const char *op = fh_ctl_string(req, "op");
	struct json_object *o;
	int64_t n = 1000;

	*status = 200;
	if (!op) {
		*status = 400;
		return fh_ctl_fail("the control body needs \"op\"; see the top of tests/fake_octorate.c");
	}
	if (!strcmp(op, "reservation_add") || !strcmp(op, "reservation_set") || !strcmp(op, "reservation_get") ||
	    !strcmp(op, "reservations"))
		return ctl_reservation(req, op, status);
	if (!strcmp(op, "issue_code") || !strcmp(op, "age_code"))
		return ctl_code(req, op, status);
	if (!strcmp(op, "clock") || !strcmp(op, "quota") || !strcmp(op, "latency"))
		return ctl_settings(req, op, status);
	if (!strcmp(op, "fault"))
		return fh_fault_control(req, status);
	if (!strcmp(op, "fault_clear")) {
		fh_faults_clear();
		return fh_ctl_ok();
	}
	if (!strcmp(op, "stats"))
		return stats_json();
	if (!strcmp(op, "log")) {
		if (fh_ctl_int(req, "n", &n) < 0 || n < 0) {
			*status = 400;
			return fh_ctl_fail("log: \"n\" must be a number >= 0");
		}
		o = fh_ctl_ok();
		json_object_object_add(o, "log", fh_log_array((size_t)n));
		return o;
	}
	*status = 400;
	return fh_ctl_fail("unknown op '%.64s'; see the top of tests/fake_octorate.c", op);
}

static void control(struct MHD_Connection *c, const char *url, const char *method, struct fh_req *rq)
{
	struct json_object *req, *o;
	unsigned status = 200;

	if (!strcmp(url, "/_control/stats") && !strcmp(method, "GET")) {
		pthread_mutex_lock(&w.mu);
		o = stats_json();
		pthread_mutex_unlock(&w.mu);
	} else if (!strcmp(url, "/_control/log") && !strcmp(method, "GET")) {
		const char *ns = fh_query(c, "n");
		long n = 1000;
		char *text;

		if (ns && fh_parse_long(ns, &n) < 0) {
			fh_set_json(rq, 400, fh_ctl_fail("/_control/log: n must be a whole number"));
			return;
		}
		text = fh_log_text((size_t)n);
		fh_set_body(rq, text ? 200 : 500, "application/x-ndjson", text, text ? strlen(text) : 0);
		return;
	} else if (strcmp(url, "/_control") != 0 || strcmp(method, "POST") != 0) {
		status = 404;
		o = fh_ctl_fail("control endpoints: POST /_control, GET /_control/stats, GET /_control/log");
	} else if (rq->too_big) {
		status = 413;
		o = fh_ctl_fail("control body larger than 1 MiB");
	} else if (!(req = fh_json_parse(rq->body, rq->len)) || !json_object_is_type(req, json_type_object)) {
		json_object_put(req);
		status = 400;
		o = fh_ctl_fail("the control body must be a JSON object with \"op\"");
	} else {
		pthread_mutex_lock(&w.mu);
		o = ctl_op(req, &status);
		/* Serialised under the lock: the answer may share stored objects. */
		fh_set_json(rq, status, o);
		pthread_mutex_unlock(&w.mu);
		json_object_put(req);
		return;
	}
	fh_set_json(rq, status, o);
}

static void handle(struct MHD_Connection *c, const char *url, const char *method, struct fh_req *rq)
{
	if (rq->control)
		control(c, url, method, rq);
	else
		api(c, url, method, rq);
}

/* ---- main ---------------------------------------------------------------------------------------- */

static void usage(FILE *out)
{
	fputs("usage: fake_octorate [--port N] [--accommodations N] [--reservations N] [--seed FILE]\n"
	      "         [--client-id ID] [--client-secret S] [--token-ttl SECONDS] [--quota N/MS]\n"
	      "         [--environment sandbox|production] [--app-environment sandbox|production]\n"
	      "         [--latency-ms N] [--log FILE] [--max-seconds N]\n"
	      "A fake Octorate API (identity, accommodations, reservation search and PATCH) on 127.0.0.1.\n"
	      "Prints PORT=<n>, serves until SIGTERM or SIGINT, then prints a summary to stderr.\n"
	      "POST /_control drives it; the options and control operations are described at the\n"
	      "top of tests/fake_octorate.c.\n", out);
}

struct options {
	long port, nacc, nres, max_seconds;
	const char *seed, *log, *env, *app_env;
};

static void parse_quota(const char *s)
{
	char *end;
	long long iv;

	errno = 0;
	w.quota_max = strtol(s, &end, 10);
	if (errno || w.quota_max < 1 || w.quota_max > 100000 || *end != '/')
		fh_die("--quota takes N/INTERVAL_MS, such as 100/300000, not '%s'", s);
	iv = strtoll(end + 1, &end, 10);
	if (errno || iv < 1 || *end)
		fh_die("--quota takes N/INTERVAL_MS, such as 100/300000, not '%s'", s);
	w.quota_ms = iv;
}

static void parse_args(int argc, char **argv, struct options *op)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "accommodations", required_argument, NULL, 'a' },
		{ "reservations", required_argument, NULL, 'r' },
		{ "seed", required_argument, NULL, 's' },
		{ "client-id", required_argument, NULL, 'i' },
		{ "client-secret", required_argument, NULL, 'k' },
		{ "token-ttl", required_argument, NULL, 'T' },
		{ "quota", required_argument, NULL, 'q' },
		{ "environment", required_argument, NULL, 'e' },
		{ "app-environment", required_argument, NULL, 'E' },
		{ "latency-ms", required_argument, NULL, 'L' },
		{ "log", required_argument, NULL, 'g' },
		{ "max-seconds", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int ch, idx = 0;

	while ((ch = getopt_long(argc, argv, "", opts, &idx)) != -1) {
		long *num = NULL;

		switch (ch) {
		case 'p': num = &op->port; break;
		case 'a': num = &op->nacc; break;
		case 'r': num = &op->nres; break;
		case 'S': num = &op->max_seconds; break;
		case 'T': num = &w.token_ttl; break;
		case 'L': num = &w.latency_ms; break;
		case 's': op->seed = optarg; break;
		case 'g': op->log = optarg; break;
		case 'e': op->env = optarg; break;
		case 'E': op->app_env = optarg; break;
		case 'i': free(w.client_id); w.client_id = fh_xstrdup(optarg); break;
		case 'k': free(w.client_secret); w.client_secret = fh_xstrdup(optarg); break;
		case 'q': parse_quota(optarg); break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
		if (num && fh_parse_long(optarg, num) < 0)
			fh_die("--%s takes a whole number that is not negative, not '%s'", opts[idx].name, optarg);
	}
	if (optind < argc) {
		usage(stderr);
		exit(2);
	}
	if (op->port > 65535)
		fh_die("--port must be at most 65535");
	if (op->nacc < 1 || op->nacc > MAX_ACC)
		fh_die("--accommodations must be from 1 to %d", MAX_ACC);
	if (op->nres > MAX_RES_PER_ACC)
		fh_die("--reservations must be at most %d", MAX_RES_PER_ACC);
	if (w.token_ttl < 1 || w.token_ttl > 10L * 365 * 86400)
		fh_die("--token-ttl must be from 1 second to 10 years");
	if (w.latency_ms > 600000)
		fh_die("--latency-ms must be at most 600000");
	for (int i = 0; i < 2; i++) {
		const char *e = i ? op->app_env : op->env;

		if (strcmp(e, "sandbox") != 0 && strcmp(e, "production") != 0)
			fh_die("--%senvironment takes sandbox or production, not '%s'", i ? "app-" : "", e);
	}
	w.wrong_env = strcmp(op->env, op->app_env) != 0;
}

static void setup_world(const struct options *op)
{
	if (fh_map_init(&w.access, 65536) < 0 || fh_map_init(&w.refresh, 65536) < 0 ||
	    fh_map_init(&w.codes, 4096) < 0 || fh_map_init(&w.buckets, 65536) < 0)
		fh_die("out of memory");
	if (op->seed)
		seed_file(op->seed);
	else
		seed_default(op->nacc, op->nres);
	fh_log_open(op->log);
}

static void free_world(void)
{
	for (size_t i = 0; i < w.nacc; i++) {
		struct acc *a = &w.acc[i];

		for (size_t k = 0; k < a->nres; k++)
			json_object_put(a->res[k].o);
		free(a->res);
		free(a->id);
		free(a->name);
		free(a->currency);
		free(a->tz);
	}
	free(w.acc);
	fh_map_each(&w.access, free_value, NULL);
	fh_map_each(&w.codes, free_value, NULL);
	fh_map_each(&w.buckets, free_bucket, NULL);
	fh_map_free(&w.access);
	fh_map_free(&w.refresh);  /* its values are not allocated */
	fh_map_free(&w.codes);
	fh_map_free(&w.buckets);
	fh_faults_clear();
	fh_log_close();
	free(w.client_id);
	free(w.client_secret);
}

int main(int argc, char **argv)
{
	static const struct fh_server server = { .control_prefix = "/_control", .handle = handle };
	struct options op = { .nacc = 1, .nres = 3, .env = "sandbox", .app_env = "sandbox" };
	char line[512];
	int rc;

	fh_set_name("fake_octorate");
	w.client_id = fh_xstrdup("octo-client");
	w.client_secret = fh_xstrdup("octo-secret");
	w.token_ttl = 86400;
	w.quota_max = 100;
	w.quota_ms = 300000;
	w.next_id = FIRST_RES_ID + 1;
	w.next_meta = FIRST_META_ID + 1;
	parse_args(argc, argv, &op);
	setup_world(&op);
	rc = fh_run(&server, op.port, op.max_seconds);
	if (rc == 0) {
		summary_line(line, sizeof(line));
		fprintf(stderr, "%s\n", line);
	}
	free_world();
	return rc == 0 ? 0 : 2;
}
