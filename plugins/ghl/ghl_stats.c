/* The `ghl_stats` source: Social Planner statistics of GoHighLevel
 * locations, one record per (location, platform, metric, day).
 *
 * Each poll, for every location at once: GET
 * /social-media-posting/{locationId}/accounts gives the connected accounts'
 * profileIds; POST /social-media-posting/statistics?locationId=... with
 * those ids (at most 100 per request; the answers of several requests are
 * added up) gives results.platformTotals.<metric>.<platform>.series, the
 * daily values of the last 7 days. The API says "the last 7 days" without
 * dating the points: hlbridge reads the last point as today (UTC) and each
 * earlier one as the day before, so series[0] is six days ago.
 *
 * The record key and body.statId are a hash of "locationId|platform|metric|
 * day": polling the same window again upserts the same records with their
 * current values, so a sink keeps one row per day however often it runs. */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>

#include "hlbridge/hlbridge.h"
#include "ghl_client.h"

#define PLUGIN "ghl_stats"
#define STREAM "ghl.stats"
#define PROFILES_PER_REQUEST 100
#define MAX_PROFILES 1000     /* accounts of one location read at most */
#define ERROR_LEN 512

/* The platforms the statistics request accepts (its enum). */
static const char *const known_platforms[] = {
	"facebook", "instagram", "linkedin", "google", "pinterest", "youtube", "tiktok", NULL
};

static const hlb_option options[] = {
	{ "auth", HLB_OPT_AUTH, NULL, HLB_OPT_REQUIRED,
	  "the [auth:NAME] credential the requests use (ghl_token or ghl_oauth)", "ghl_token|ghl_oauth" },
	{ "location_id", HLB_OPT_LIST, NULL, HLB_OPT_REQUIRED,
	  "location (sub-account) ids, comma-separated, or * for every location an agency credential "
	  "is installed in", NULL },
	{ "interval", HLB_OPT_DURATION, "1h", 0, "time between polls (with 10% jitter)", NULL },
	{ "platforms", HLB_OPT_LIST, NULL, 0,
	  "only these platforms: facebook, instagram, linkedin, google, pinterest, youtube, tiktok "
	  "(default all)", NULL },
	{ "base_url", HLB_OPT_STRING, NULL, 0,
	  "API address, overriding the credential's (a sandbox or a test server)", NULL },
	{ NULL, 0, NULL, 0, NULL, NULL }
};

struct poll;

struct loc {
	struct poll *p;
	char *id;
	ghl_call *call;
	json_object *profiles;  /* array of profile ids */
	json_object *sums;      /* "platform|metric|day" -> [platform, metric, day, day_ms, sum, integral] */
	size_t next;            /* first profile of the next statistics request */
};

struct stats;

struct poll {
	struct stats *s;
	hlb_job *job;
	int check;
	ghl_resolve *resolve;
	struct loc *locs;
	size_t n, pending, failed, records, idle;
	int64_t now_ms;
	char first_error[ERROR_LEN];
};

struct stats {
	const hlb_host *host;
	hlb_instance *inst;
	ghl_client *client;
	char *auth, *locations;
	char **platforms;
	size_t nplatforms;
	struct poll *poll;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- setup ------------------------------------------------------------------ */

static int known_platform(const char *p, size_t len)
{
	for (const char *const *k = known_platforms; *k; k++)
		if (strlen(*k) == len && strncasecmp(*k, p, len) == 0)
			return 1;
	return 0;
}

/* Reads `platforms` into lower-case words. */
static int read_platforms(struct stats *s)
{
	const char *v = s->host->option(s->inst, "platforms");
	const char *p = v;

	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t len;
		char **grown;

		if (!end)
			end = p + strlen(p);
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		len = (size_t)(end - p);
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len) {
			if (!known_platform(p, len)) {
				s->host->option_error(s->inst, "platforms", "unknown platform \"%.*s\": use facebook, "
						      "instagram, linkedin, google, pinterest, youtube or tiktok",
						      (int)(len > 40 ? 40 : len), p);
				return HLB_EINVAL;
			}
			grown = realloc(s->platforms, (s->nplatforms + 1) * sizeof(*grown));
			if (!grown)
				return HLB_ENOMEM;
			s->platforms = grown;
			s->platforms[s->nplatforms] = strndup(p, len);
			if (!s->platforms[s->nplatforms])
				return HLB_ENOMEM;
			for (char *c = s->platforms[s->nplatforms]; *c; c++)
				*c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
			s->nplatforms++;
		}
		p = *end ? end + 1 : end;
	}
	return HLB_OK;
}

static void stats_free(struct stats *s);

static int stats_init(const hlb_host *host, hlb_instance *inst, uint32_t role, void **state)
{
	struct stats *s;
	char err[256];
	char **ids = NULL;
	size_t n = 0;
	int all, rc;

	(void)role;
	*state = NULL;
	if (!HLB_HOST_HAS(host, history_add) || !host->auth_token) {
		host->log(inst, HLB_LOG_ERROR, "ghl_stats needs hlbridge with credential support (ABI 1.1); "
			  "this host is %u.%u", host->abi_major, host->abi_minor);
		return HLB_EUNSUPPORTED;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return HLB_ENOMEM;
	s->host = host;
	s->inst = inst;
	rc = ghl_locations_parse(host->option(inst, "location_id"), &all, &ids, &n, err, sizeof(err));
	ghl_ids_free(ids, n);
	if (rc != HLB_OK) {
		host->option_error(inst, "location_id", "%s", err);
		free(s);
		return rc == HLB_ENOMEM ? rc : HLB_EINVAL;
	}
	rc = read_platforms(s);
	if (rc != HLB_OK) {
		stats_free(s);
		return rc;
	}
	s->auth = strdup(host->option(inst, "auth"));
	s->locations = strdup(host->option(inst, "location_id"));
	s->client = ghl_client_new(host, inst, PLUGIN, s->auth, host->option(inst, "base_url"));
	if (!s->auth || !s->locations || !s->client) {
		stats_free(s);
		return HLB_ENOMEM;
	}
	*state = s;
	return HLB_OK;
}

/* ---- one location ------------------------------------------------------------- */

static void loc_clear(struct loc *l)
{
	ghl_call_cancel(l->call);
	l->call = NULL;
	json_object_put(l->profiles);
	json_object_put(l->sums);
	l->profiles = l->sums = NULL;
}

static void poll_free(struct poll *p)
{
	if (!p)
		return;
	ghl_resolve_cancel(p->resolve);
	for (size_t i = 0; i < p->n; i++) {
		loc_clear(&p->locs[i]);
		free(p->locs[i].id);
	}
	free(p->locs);
	free(p);
}

static void poll_finish(struct poll *p, int rc, const char *message)
{
	struct stats *s = p->s;
	hlb_job *job = p->job;

	s->poll = NULL;
	poll_free(p);
	s->host->finish(job, rc, message);
}

static void poll_end(struct poll *p)
{
	struct stats *s = p->s;
	char msg[ERROR_LEN + 128];

	s->host->log(s->inst, p->failed ? HLB_LOG_WARN : HLB_LOG_DEBUG, "poll: %zu locations, %zu records, "
		     "%zu without accounts, %zu failed", p->n, p->records, p->idle, p->failed);
	if (p->failed) {
		snprintf(msg, sizeof(msg), "%zu of %zu locations failed (first: %s); they are polled again "
			 "next time", p->failed, p->n, p->first_error);
		poll_finish(p, HLB_EFAIL, msg);
		return;
	}
	poll_finish(p, HLB_OK, NULL);
}

static void loc_done(struct loc *l, const ghl_reply *failure)
{
	struct poll *p = l->p;
	struct stats *s = p->s;

	if (failure) {
		/* Client errors name the request, which names the location. */
		const char *where = strstr(failure->error, l->id) ? "" : "location ";
		const char *hint = ghl_login_hint(failure->needs_login, failure->error);

		p->failed++;
		s->host->log(s->inst, HLB_LOG_ERROR, "%s%s%s%s%s", where, *where ? l->id : "",
			     *where ? ": " : "", failure->error, hint);
		if (!p->first_error[0])
			snprintf(p->first_error, sizeof(p->first_error), "%s%s%s%s", where, *where ? l->id : "",
				 *where ? ": " : "", failure->error);
	}
	loc_clear(l);
	if (--p->pending == 0)
		poll_end(p);
}

static void loc_fail(struct loc *l, int rc, const char *fmt, ...) HLB_PRINTF(3, 4);

static void loc_fail(struct loc *l, int rc, const char *fmt, ...)
{
	char msg[ERROR_LEN];
	ghl_reply r = { .rc = rc, .error = msg, .location = l->id };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	loc_done(l, &r);
}

static int platform_wanted(const struct stats *s, const char *platform)
{
	if (!s->nplatforms)
		return 1;
	for (size_t i = 0; i < s->nplatforms; i++)
		if (platform && strcasecmp(s->platforms[i], platform) == 0)
			return 1;
	return 0;
}

/* Adds one data point to the location's sums (several statistics requests
 * cover disjoint profiles of the same days). */
static void add_point(void *arg, const char *platform, const char *metric, const char *day, int64_t day_ms,
		      struct json_object *value)
{
	struct loc *l = arg;
	json_object *sum;
	char key[256];
	double v = json_object_get_double(value);
	int integral = json_object_is_type(value, json_type_int);

	snprintf(key, sizeof(key), "%s|%s|%s", platform, metric, day);
	if (json_object_object_get_ex(l->sums, key, &sum)) {
		double old = json_object_get_double(json_object_array_get_idx(sum, 4));
		int was = json_object_get_boolean(json_object_array_get_idx(sum, 5));

		json_object_array_put_idx(sum, 4, json_object_new_double(old + v));
		json_object_array_put_idx(sum, 5, json_object_new_boolean(was && integral));
		return;
	}
	sum = json_object_new_array();
	json_object_array_add(sum, json_object_new_string(platform));
	json_object_array_add(sum, json_object_new_string(metric));
	json_object_array_add(sum, json_object_new_string(day));
	json_object_array_add(sum, json_object_new_int64(day_ms));
	json_object_array_add(sum, json_object_new_double(v));
	json_object_array_add(sum, json_object_new_boolean(integral));
	json_object_object_add(l->sums, key, sum);
}

static void emit_sums(struct loc *l)
{
	struct poll *p = l->p;
	struct stats *s = p->s;

	json_object_object_foreach(l->sums, k, sum) {
		const char *platform = json_object_get_string(json_object_array_get_idx(sum, 0));
		const char *metric = json_object_get_string(json_object_array_get_idx(sum, 1));
		const char *day = json_object_get_string(json_object_array_get_idx(sum, 2));
		int64_t day_ms = json_object_get_int64(json_object_array_get_idx(sum, 3));
		double v = json_object_get_double(json_object_array_get_idx(sum, 4));
		int integral = json_object_get_boolean(json_object_array_get_idx(sum, 5));
		json_object *body = json_object_new_object();
		char id[17], ts[40];
		hlb_record *rec;

		(void)k;
		ghl_stat_id(l->id, platform, metric, day, id);
		ghl_format_time(day_ms, ts, sizeof(ts));
		json_object_object_add(body, "statId", json_object_new_string(id));
		json_object_object_add(body, "locationId", json_object_new_string(l->id));
		json_object_object_add(body, "platform", json_object_new_string(platform));
		json_object_object_add(body, "metric", json_object_new_string(metric));
		/* Whole numbers stay whole: 12, not 12.0. */
		json_object_object_add(body, "value", integral && v < 9.0e15 && v > -9.0e15
				       ? json_object_new_int64((int64_t)(v < 0 ? v - 0.5 : v + 0.5))
				       : json_object_new_double(v));
		json_object_object_add(body, "day", json_object_new_string(day));
		json_object_object_add(body, "timestamp", json_object_new_string(ts));
		rec = s->host->record_new(STREAM, id, HLB_OP_UPSERT, day_ms, body);
		if (!rec || s->host->emit(p->job, rec) != HLB_OK)
			s->host->log(s->inst, HLB_LOG_ERROR, "location %s: statistic %s could not be emitted",
				     l->id, id);
		else
			p->records++;
	}
}

static void request_stats(struct loc *l);

static void on_stats(void *arg, const ghl_reply *reply)
{
	struct loc *l = arg;
	struct stats *s = l->p->s;
	int n;

	l->call = NULL;
	if (reply->rc != HLB_OK) {
		loc_done(l, reply);
		return;
	}
	n = ghl_stats_extract(reply->json, l->p->now_ms, s->platforms, s->nplatforms, add_point, l);
	if (n < 0) {
		loc_fail(l, HLB_EPARSE, "POST /social-media-posting/statistics?locationId=%s: the answer has "
			 "no results object", l->id);
		return;
	}
	request_stats(l);
}

/* The next request of at most PROFILES_PER_REQUEST profiles; emits the
 * sums after the last. */
static void request_stats(struct loc *l)
{
	struct stats *s = l->p->s;
	size_t total = json_object_array_length(l->profiles);
	json_object *body, *ids;
	char path[160];

	if (l->next >= total) {
		emit_sums(l);
		loc_done(l, NULL);
		return;
	}
	body = json_object_new_object();
	ids = json_object_new_array();
	if (!body || !ids) {
		json_object_put(body);
		json_object_put(ids);
		loc_fail(l, HLB_ENOMEM, "out of memory");
		return;
	}
	json_object_object_add(body, "profileIds", ids);
	for (size_t i = 0; i < PROFILES_PER_REQUEST && l->next < total; i++, l->next++)
		json_object_array_add(ids, json_object_get(json_object_array_get_idx(l->profiles, l->next)));
	if (s->nplatforms) {
		json_object *pl = json_object_new_array();

		for (size_t i = 0; i < s->nplatforms; i++)
			json_object_array_add(pl, json_object_new_string(s->platforms[i]));
		json_object_object_add(body, "platforms", pl);
	}
	snprintf(path, sizeof(path), "/social-media-posting/statistics?locationId=%s", l->id);
	l->call = ghl_request(s->client, l->id, "POST", GHL_VERSION, path, body, on_stats, l);
	json_object_put(body);
	if (!l->call)
		loc_fail(l, HLB_ENOMEM, "POST %s: could not be started (out of memory)", path);
}

static void on_accounts(void *arg, const ghl_reply *reply)
{
	struct loc *l = arg;
	struct stats *s = l->p->s;
	json_object *accounts, *seen;
	size_t n;

	l->call = NULL;
	if (reply->rc != HLB_OK) {
		loc_done(l, reply);
		return;
	}
	accounts = ghl_json_at(reply->json, "results.accounts");
	if (!accounts || !json_object_is_type(accounts, json_type_array)) {
		loc_fail(l, HLB_EPARSE, "GET /social-media-posting/%s/accounts: the answer has no "
			 "results.accounts array", l->id);
		return;
	}
	seen = json_object_new_object();
	l->profiles = json_object_new_array();
	if (!seen || !l->profiles) {
		json_object_put(seen);
		loc_fail(l, HLB_ENOMEM, "out of memory");
		return;
	}
	n = json_object_array_length(accounts);
	for (size_t i = 0; i < n && json_object_array_length(l->profiles) < MAX_PROFILES; i++) {
		json_object *a = json_object_array_get_idx(accounts, i);
		const char *profile = ghl_json_str(a, "profileId");

		if (!profile || !*profile || !platform_wanted(s, ghl_json_str(a, "platform")) ||
		    json_object_object_get_ex(seen, profile, NULL))
			continue;
		json_object_object_add(seen, profile, NULL);
		json_object_array_add(l->profiles, json_object_new_string(profile));
	}
	json_object_put(seen);
	if (json_object_array_length(l->profiles) == 0) {
		s->host->log(s->inst, HLB_LOG_DEBUG, "location %s: no connected account%s; no statistics to read",
			     l->id, s->nplatforms ? " on the configured platforms" : "");
		l->p->idle++;
		loc_done(l, NULL);
		return;
	}
	request_stats(l);
}

static void loc_start(struct loc *l, ghl_reply_cb cb)
{
	struct stats *s = l->p->s;
	char path[160];

	l->sums = json_object_new_object();
	if (!l->id || !l->sums) {
		loc_fail(l, HLB_ENOMEM, "out of memory");
		return;
	}
	snprintf(path, sizeof(path), "/social-media-posting/%s/accounts", l->id);
	l->call = ghl_request(s->client, l->id, "GET", GHL_VERSION, path, NULL, cb, l);
	if (!l->call)
		loc_fail(l, HLB_ENOMEM, "GET %s: could not be started (out of memory)", path);
}

/* ---- poll and check ------------------------------------------------------------- */

static void on_check_accounts(void *arg, const ghl_reply *reply)
{
	struct loc *l = arg;
	struct poll *p = l->p;
	json_object *accounts = ghl_json_at(reply->json, "results.accounts");
	char msg[ERROR_LEN + 128];
	int rc = reply->rc;

	l->call = NULL;
	if (rc != HLB_OK) {
		snprintf(msg, sizeof(msg), "%s", reply->error);
	} else if (!accounts || !json_object_is_type(accounts, json_type_array)) {
		rc = HLB_EPARSE;
		snprintf(msg, sizeof(msg), "GET /social-media-posting/%s/accounts: the answer has no "
			 "results.accounts array", l->id);
	} else {
		size_t n = json_object_array_length(accounts);

		snprintf(msg, sizeof(msg), "%zu location%s; location %s has %zu connected account%s", p->n,
			 p->n == 1 ? "" : "s", l->id, n, n == 1 ? "" : "s");
	}
	poll_finish(p, rc, msg);
}

static void on_locations(void *arg, int rc, const char *message, int needs_login, char *const *ids,
			 size_t n)
{
	struct poll *p = arg;
	struct stats *s = p->s;
	char msg[ERROR_LEN + 64];

	p->resolve = NULL;
	if (rc != HLB_OK) {
		snprintf(msg, sizeof(msg), "%s%s", message ? message : s->host->strerror(rc),
			 ghl_login_hint(needs_login, message));
		poll_finish(p, rc, msg);
		return;
	}
	if (n == 0) {
		s->host->log(s->inst, HLB_LOG_WARN, "location_id = %s: no location to poll", s->locations);
		poll_end(p);
		return;
	}
	p->locs = calloc(n, sizeof(*p->locs));
	if (!p->locs) {
		poll_finish(p, HLB_ENOMEM, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		p->locs[i].p = p;
		p->locs[i].id = strdup(ids[i]);
		p->n++;
	}
	if (p->check) {
		p->pending = 1;
		loc_start(&p->locs[0], on_check_accounts);
		return;
	}
	p->pending = n + 1;
	for (size_t i = 0; i < n; i++)
		loc_start(&p->locs[i], on_accounts);
	if (--p->pending == 0)
		poll_end(p);
}

static int start(struct stats *s, hlb_job *job, int check)
{
	struct poll *p;

	if (s->poll) {
		s->host->finish(job, HLB_EINVAL, "a poll is already running");
		return HLB_EINVAL;
	}
	p = calloc(1, sizeof(*p));
	if (p) {
		p->s = s;
		p->job = job;
		p->check = check;
		p->now_ms = now_ms();
		p->resolve = ghl_locations_resolve(s->client, s->locations, on_locations, p);
	}
	if (!p || !p->resolve) {
		free(p);
		s->host->finish(job, HLB_ENOMEM, "out of memory");
		return HLB_ENOMEM;
	}
	s->poll = p;
	return HLB_OK;
}

static int stats_poll(void *state, hlb_job *job)
{
	return start(state, job, 0);
}

static int stats_check(void *state, hlb_job *job)
{
	return start(state, job, 1);
}

static void stats_free(struct stats *s)
{
	if (!s)
		return;
	poll_free(s->poll);
	ghl_client_free(s->client);
	for (size_t i = 0; i < s->nplatforms; i++)
		free(s->platforms[i]);
	free(s->platforms);
	free(s->auth);
	free(s->locations);
	free(s);
}

static void stats_fini(void *state)
{
	stats_free(state);
}

const hlb_plugin HLB_PLUGIN_EXPORT(ghl_stats) = {
	HLB_PLUGIN_HEADER,
	.caps = HLB_CAP_SOURCE,
	.name = PLUGIN,
	.version = "1.0",
	.summary = "GoHighLevel Social Planner statistics: one record per location, platform, metric and day",
	.options = options,
	.init = stats_init,
	.check = stats_check,
	.poll = stats_poll,
	.fini = stats_fini,
};
