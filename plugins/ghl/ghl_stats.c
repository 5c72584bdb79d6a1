/* The `ghl_stats` source: Social Planner statistics of GoHighLevel
 * locations, one record per (location, platform, metric, day).
 *
 * Each poll, for every location (up to `concurrency` at once): GET
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "hlbridge/hlbridge.h"
#include "ghl_client.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

#define PLUGIN "ghl_stats"
#define STREAM "ghl.stats"
#define PROFILES_PER_REQUEST 100
#define MAX_PROFILES 1000     /* accounts of one location read at most */

/* The platforms the statistics request accepts (its enum). */
static const char *const known_platforms[] = {
	"facebook", "instagram", "linkedin", "google", "pinterest", "youtube", "tiktok", NULL
};

static const hlb_option options[] = {
	GHL_OPTION_AUTH,
	GHL_OPTION_LOCATION_ID,
	{ "interval", HLB_OPT_DURATION, "1h", 0, "time between polls (with 10% jitter)", NULL },
	{ "platforms", HLB_OPT_LIST, NULL, 0,
	  "only these platforms: facebook, instagram, linkedin, google, pinterest, youtube, tiktok "
	  "(default all)", NULL },
	GHL_OPTION_CONCURRENCY,
	GHL_OPTION_BASE_URL,
	{ NULL, 0, NULL, 0, NULL, NULL }
};

struct loc {
	ghl_fanout_loc head;    /* first: the run's part (the fan-out's) */
	ghl_call *call;
	json_object *profiles;  /* array of profile ids */
	json_object *sums;      /* "platform|metric|day" -> [platform, metric, day, day_ms, sum, integral] */
	size_t next;            /* first profile of the next statistics request */
};

struct stats {
	const hlb_host *host;
	hlb_instance *inst;
	ghl_client *client;
	char *auth, *locations;
	char **platforms;
	size_t nplatforms;
	size_t concurrency;     /* locations at work at once */
	ghl_fanout *poll;       /* the poll or check running, or NULL */
	size_t records, idle;   /* its records, its locations without accounts */
};

static struct stats *stats_of(const struct loc *l)
{
	return l->head.fanout->spec.arg;
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
	int rc;

	(void)role;
	*state = NULL;
	rc = ghl_source_host_check(host, inst, PLUGIN);
	if (rc != HLB_OK)
		return rc;
	s = calloc(1, sizeof(*s));
	if (!s)
		return HLB_ENOMEM;
	s->host = host;
	s->inst = inst;
	rc = ghl_location_option_check(host, inst);
	if (rc == HLB_OK)
		rc = ghl_concurrency_option(host, inst, &s->concurrency);
	if (rc != HLB_OK) {
		free(s);
		return rc;
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

/* Cancels and frees the location's work (the fan-out's clear). */
static void loc_clear(ghl_fanout_loc *head)
{
	struct loc *l = (struct loc *)head;

	ghl_call_cancel(l->call);
	l->call = NULL;
	json_object_put(l->profiles);
	json_object_put(l->sums);
	l->profiles = l->sums = NULL;
}

/* Every location has ended (the fan-out's end). */
static void poll_end(ghl_fanout *f)
{
	struct stats *s = f->spec.arg;
	char msg[GHL_FANOUT_ERROR_LEN + 128];

	s->host->log(s->inst, f->failed ? HLB_LOG_WARN : HLB_LOG_DEBUG, "poll: %zu locations, %zu records, "
		     "%zu without accounts, %zu failed", f->n, s->records, s->idle, f->failed);
	if (f->failed) {
		snprintf(msg, sizeof(msg), "%zu of %zu locations failed (first: %s); they are polled again "
			 "next time", f->failed, f->n, f->first_error);
		ghl_fanout_finish(f, HLB_EFAIL, msg);
		return;
	}
	ghl_fanout_finish(f, HLB_OK, NULL);
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
	struct stats *s = stats_of(l);

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
		ghl_stat_id(l->head.id, platform, metric, day, id);
		ghl_format_time(day_ms, ts, sizeof(ts));
		json_object_object_add(body, "statId", json_object_new_string(id));
		json_object_object_add(body, "locationId", json_object_new_string(l->head.id));
		json_object_object_add(body, "platform", json_object_new_string(platform));
		json_object_object_add(body, "metric", json_object_new_string(metric));
		/* Whole numbers stay whole: 12, not 12.0. */
		json_object_object_add(body, "value", integral && v < 9.0e15 && v > -9.0e15
				       ? json_object_new_int64((int64_t)(v < 0 ? v - 0.5 : v + 0.5))
				       : json_object_new_double(v));
		json_object_object_add(body, "day", json_object_new_string(day));
		json_object_object_add(body, "timestamp", json_object_new_string(ts));
		rec = s->host->record_new(STREAM, id, HLB_OP_UPSERT, day_ms, body);
		if (!rec || s->host->emit(l->head.fanout->job, rec) != HLB_OK)
			s->host->log(s->inst, HLB_LOG_ERROR, "location %s: statistic %s could not be emitted",
				     l->head.id, id);
		else
			s->records++;
	}
}

static void request_stats(struct loc *l);

static void on_stats(void *arg, const ghl_reply *reply)
{
	struct loc *l = arg;
	struct stats *s = stats_of(l);
	int n;

	l->call = NULL;
	if (reply->rc != HLB_OK) {
		ghl_fanout_done(&l->head, reply);
		return;
	}
	n = ghl_stats_extract(reply->json, l->head.fanout->started_ms, s->platforms, s->nplatforms, add_point,
			      l);
	if (n < 0) {
		ghl_fanout_fail(&l->head, HLB_EPARSE, "POST /social-media-posting/statistics?locationId=%s: the "
				"answer has no results object", l->head.id);
		return;
	}
	request_stats(l);
}

/* The next request of at most PROFILES_PER_REQUEST profiles; emits the
 * sums after the last. */
static void request_stats(struct loc *l)
{
	struct stats *s = stats_of(l);
	size_t total = json_object_array_length(l->profiles);
	json_object *body, *ids;
	char path[160];

	if (l->next >= total) {
		emit_sums(l);
		ghl_fanout_done(&l->head, NULL);
		return;
	}
	body = json_object_new_object();
	ids = json_object_new_array();
	if (!body || !ids) {
		json_object_put(body);
		json_object_put(ids);
		ghl_fanout_fail(&l->head, HLB_ENOMEM, "out of memory");
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
	snprintf(path, sizeof(path), "/social-media-posting/statistics?locationId=%s", l->head.id);
	l->call = ghl_request(s->client, l->head.id, "POST", GHL_VERSION, path, body, on_stats, l);
	json_object_put(body);
	if (!l->call)
		ghl_fanout_fail(&l->head, HLB_ENOMEM, "POST %s: could not be started (out of memory)", path);
}

static void on_accounts(void *arg, const ghl_reply *reply)
{
	struct loc *l = arg;
	struct stats *s = stats_of(l);
	json_object *accounts, *seen;
	size_t n;

	l->call = NULL;
	if (reply->rc != HLB_OK) {
		ghl_fanout_done(&l->head, reply);
		return;
	}
	accounts = ghl_json_at(reply->json, "results.accounts");
	if (!accounts || !json_object_is_type(accounts, json_type_array)) {
		ghl_fanout_fail(&l->head, HLB_EPARSE, "GET /social-media-posting/%s/accounts: the answer has "
				"no results.accounts array", l->head.id);
		return;
	}
	seen = json_object_new_object();
	l->profiles = json_object_new_array();
	if (!seen || !l->profiles) {
		json_object_put(seen);
		ghl_fanout_fail(&l->head, HLB_ENOMEM, "out of memory");
		return;
	}
	n = json_object_array_length(accounts);
	for (size_t i = 0; i < n && json_object_array_length(l->profiles) < MAX_PROFILES; i++) {
		json_object *a = json_object_array_get_idx(accounts, i);
		const char *profile = ghl_json_string(a, "profileId");

		if (!profile || !*profile || !platform_wanted(s, ghl_json_string(a, "platform")) ||
		    json_object_object_get_ex(seen, profile, NULL))
			continue;
		json_object_object_add(seen, profile, NULL);
		json_object_array_add(l->profiles, json_object_new_string(profile));
	}
	json_object_put(seen);
	if (json_object_array_length(l->profiles) == 0) {
		s->host->log(s->inst, HLB_LOG_DEBUG, "location %s: no connected account%s; no statistics to read",
			     l->head.id, s->nplatforms ? " on the configured platforms" : "");
		s->idle++;
		ghl_fanout_done(&l->head, NULL);
		return;
	}
	request_stats(l);
}

static void loc_start(struct loc *l, ghl_reply_cb cb)
{
	struct stats *s = stats_of(l);
	char path[160];

	l->sums = json_object_new_object();
	if (!l->sums) {
		ghl_fanout_fail(&l->head, HLB_ENOMEM, "out of memory");
		return;
	}
	snprintf(path, sizeof(path), "/social-media-posting/%s/accounts", l->head.id);
	l->call = ghl_request(s->client, l->head.id, "GET", GHL_VERSION, path, NULL, cb, l);
	if (!l->call)
		ghl_fanout_fail(&l->head, HLB_ENOMEM, "GET %s: could not be started (out of memory)", path);
}

/* ---- poll and check ------------------------------------------------------------- */

static void poll_location(ghl_fanout_loc *head)
{
	loc_start((struct loc *)head, on_accounts);
}

static void on_check_accounts(void *arg, const ghl_reply *reply)
{
	struct loc *l = arg;
	ghl_fanout *f = l->head.fanout;
	json_object *accounts = ghl_json_at(reply->json, "results.accounts");
	char msg[GHL_FANOUT_ERROR_LEN + 128];
	int rc = reply->rc;

	l->call = NULL;
	if (rc != HLB_OK) {
		snprintf(msg, sizeof(msg), "%s", reply->error);
	} else if (!accounts || !json_object_is_type(accounts, json_type_array)) {
		rc = HLB_EPARSE;
		snprintf(msg, sizeof(msg), "GET /social-media-posting/%s/accounts: the answer has no "
			 "results.accounts array", l->head.id);
	} else {
		size_t n = json_object_array_length(accounts);

		snprintf(msg, sizeof(msg), "%zu location%s; location %s has %zu connected account%s", f->n,
			 f->n == 1 ? "" : "s", l->head.id, n, n == 1 ? "" : "s");
	}
	ghl_fanout_finish(f, rc, msg);
}

static void check_location(ghl_fanout_loc *head)
{
	loc_start((struct loc *)head, on_check_accounts);
}

static int start(struct stats *s, hlb_job *job, int check)
{
	const ghl_fanout_spec spec = {
		.client = s->client,
		.locations = s->locations,
		.loc_size = sizeof(struct loc),
		.concurrency = s->concurrency,
		.arg = s,
		.start = poll_location,
		.check = check_location,
		.clear = loc_clear,
		.end = poll_end,
	};
	int rc = ghl_fanout_start(&spec, job, check, &s->poll);

	if (rc == HLB_OK) /* its locations start later, from the loop */
		s->records = s->idle = 0;
	return rc;
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
	ghl_fanout_free(s->poll);
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
	/* every poll reads the whole window again: one never committed
	 * is simply read once more */
	.caps = HLB_CAP_SOURCE | HLB_CAP_REPLAY,
	.name = PLUGIN,
	.version = PACKAGE_VERSION,
	.summary = "GoHighLevel Social Planner statistics: one record per location, platform, metric and day",
	.options = options,
	.init = stats_init,
	.check = stats_check,
	.poll = stats_poll,
	.fini = stats_fini,
};
