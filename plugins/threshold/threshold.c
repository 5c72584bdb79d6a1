/* The `threshold` transform: turns a stream of records into alerts, one per
 * crossing of a bound rather than one per record.
 *
 * Metric mode (no `window`): the bound is the `when` expression itself
 * (when = $.value > 1000). Count mode (`window` and `count`): the bound is
 * "more than `count` records for which `when` holds within `window`" (tag
 * bursts: when = $.change == "created", count = 3, window = 10m).
 *
 * State is kept per group (`group_by` paths, such as $.metric and
 * $.locationId). A group is armed until it alerts; it is armed again once
 * its bound is no longer met (metric: one of its records evaluates false;
 * count: its window holds `count` or fewer matches). An armed group whose
 * bound is met alerts, unless `cooldown` has not passed since its last
 * alert: then the alert waits for the group's next record that still meets
 * the bound after the cooldown.
 *
 * Windows and cooldowns run on the records' own times (their extraction
 * times), not on the clock, so a replay of queued records decides the same.
 * Which groups have alerted is kept in the state store, so that a restart
 * or a reload does not alert again for a bound that is still crossed.
 *
 * The engine (threshold_* functions) reaches nothing of the host but its
 * JSON paths, so the unit test drives it with a table of path functions. */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "hlbridge/hlbridge.h"
#include "../common/strbuf.h"
#include "../common/template.h"
#include "../filter/filter_expr.h"
#include "threshold.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

#define THR_MAX_GROUPS 10000   /* groups tracked per instance (and saved) */
#define THR_MAX_COUNT 1000     /* count mode keeps count+1 times per group */
#define THR_ID_CAP 512         /* longer group ids are cut and hashed */
#define THR_MESSAGE_CAP 4000   /* bytes of a rendered message */
#define THR_BUCKETS 4096       /* hash buckets of the group table */
#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* ---- messages ----------------------------------------------------------- */

/* A value as message text: strings as they are, anything else as JSON. */
static void add_value(sb_buf *b, struct json_object *v)
{
	const char *s;

	if (json_object_is_type(v, json_type_string)) {
		sb_add_cut(b, json_object_get_string(v), (size_t)json_object_get_string_len(v));
		return;
	}
	s = json_object_to_json_string_ext(v, JSON_FLAGS);
	sb_add_cut(b, s, strlen(s));
}

/* Text past the message cap is dropped. */
static void add_text(sb_buf *b, const char *s)
{
	sb_add_cut(b, s, strlen(s));
}

/* Cuts a capped text back to the start of a UTF-8 sequence. */
static void cut_at_utf8_start(sb_buf *b)
{
	size_t n = b->len;

	if (!b->data || n < b->cap)
		return;
	while (n > 0 && ((unsigned char)b->data[n] & 0xC0) == 0x80)
		n--;
	if (n > 0 && (unsigned char)b->data[n - 1] >= 0xC0)
		n--; /* a lead byte whose sequence the cap cut */
	sb_cut(b, n);
}

/* A template's placeholder (tmpl_value_fn). */
static void add_placeholder(sb_buf *b, struct json_object *v, void *arg)
{
	(void)arg;
	add_value(b, v);
}

/* ---- groups ------------------------------------------------------------- */

struct group {
	char *id;                   /* JSON text of the group's values (capped) */
	uint64_t hash;
	struct json_object *values; /* array, one per group_by path; NULL: none */
	int armed;                  /* may alert at the next crossing */
	int64_t last_alert;         /* record time of its last alert; 0: none */
	int64_t *times;             /* count mode: newest match times, a ring */
	size_t ntimes, head, cap;   /* entries, next slot, allocated */
	struct group *hnext;        /* hash chain */
	struct group *newer, *older; /* recency list */
};

struct thr {
	const hlb_host *host;
	char *name;
	char *when_text;
	fx_node *when;
	hlb_path **by;
	size_t nby;
	char *by_text;
	int64_t window_ms, count, cooldown_ms;
	hlb_path *value;
	tmpl message;
	int has_message;
	struct group *bucket[THR_BUCKETS];
	struct group *newest, *oldest;
	size_t ngroups;
	uint64_t evicted;
	int64_t latest; /* the latest record time seen */
	int dirty;      /* THR_SAVE_NOW, THR_SAVE_SOON or 0 */
};

static uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

static void unlink_recent(struct thr *t, struct group *g)
{
	if (g->newer)
		g->newer->older = g->older;
	else
		t->newest = g->older;
	if (g->older)
		g->older->newer = g->newer;
	else
		t->oldest = g->newer;
	g->newer = g->older = NULL;
}

static void link_newest(struct thr *t, struct group *g)
{
	g->older = t->newest;
	g->newer = NULL;
	if (t->newest)
		t->newest->newer = g;
	t->newest = g;
	if (!t->oldest)
		t->oldest = g;
}

static void group_free(struct group *g)
{
	free(g->id);
	json_object_put(g->values);
	free(g->times);
	free(g);
}

static void group_remove(struct thr *t, struct group *g)
{
	struct group **pp = &t->bucket[g->hash % THR_BUCKETS];

	while (*pp != g)
		pp = &(*pp)->hnext;
	*pp = g->hnext;
	unlink_recent(t, g);
	t->ngroups--;
	group_free(g);
}

/* Room for one more group: the least recently seen armed group goes, or,
 * when every group is waiting to re-arm, the least recently seen one. */
static void make_room(struct thr *t)
{
	struct group *g;

	if (t->ngroups < THR_MAX_GROUPS)
		return;
	for (g = t->oldest; g && !g->armed; g = g->newer)
		;
	group_remove(t, g ? g : t->oldest);
	t->evicted++;
}

static struct group *group_find(struct thr *t, const char *id, uint64_t hash)
{
	for (struct group *g = t->bucket[hash % THR_BUCKETS]; g; g = g->hnext)
		if (g->hash == hash && strcmp(g->id, id) == 0)
			return g;
	return NULL;
}

/* Takes `values` (may be NULL). */
static struct group *group_add(struct thr *t, const char *id, uint64_t hash, struct json_object *values)
{
	struct group *g = calloc(1, sizeof(*g));

	if (!g || !(g->id = strdup(id))) {
		free(g);
		json_object_put(values);
		return NULL;
	}
	make_room(t);
	g->hash = hash;
	g->values = values;
	g->armed = 1;
	g->hnext = t->bucket[hash % THR_BUCKETS];
	t->bucket[hash % THR_BUCKETS] = g;
	link_newest(t, g);
	t->ngroups++;
	return g;
}

/* The id of a values array: its JSON text, cut and hashed when long so
 * that keys stay short. */
static char *group_id(struct json_object *values)
{
	const char *text = values ? json_object_to_json_string_ext(values, JSON_FLAGS) : "";
	size_t len = strlen(text);
	char *id;

	if (len <= THR_ID_CAP)
		return strdup(text);
	if (!(id = malloc(THR_ID_CAP + 20)))
		return NULL;
	snprintf(id, THR_ID_CAP + 20, "%.*s~%016" PRIx64, THR_ID_CAP - 17, text, fnv1a(text, len));
	return id;
}

/* The values of the group_by paths in `body`: a missing path is null. */
static struct json_object *group_values(struct thr *t, struct json_object *body)
{
	struct json_object *a;

	if (!t->nby)
		return NULL;
	if (!(a = json_object_new_array_ext((int)t->nby)))
		return NULL;
	for (size_t i = 0; i < t->nby; i++) {
		struct json_object *v = NULL, *copy = NULL;

		if (t->host->path_lookup(t->by[i], body, &v) && v && json_object_deep_copy(v, &copy, NULL) != 0)
			goto oom;
		if (json_object_array_add(a, copy) != 0) {
			json_object_put(copy);
			goto oom;
		}
	}
	return a;
oom:
	json_object_put(a);
	return NULL;
}

/* The record's group; created only when `create` (a record that could
 * not cross leaves an unknown group alone). *g = NULL when none. */
static int group_of(struct thr *t, struct json_object *body, int create, struct group **out)
{
	struct json_object *values = group_values(t, body);
	struct group *g;
	uint64_t hash;
	char *id;

	*out = NULL;
	if (t->nby && !values)
		return HLB_ENOMEM;
	if (!(id = group_id(values))) {
		json_object_put(values);
		return HLB_ENOMEM;
	}
	hash = fnv1a(id, strlen(id));
	g = group_find(t, id, hash);
	if (g) {
		json_object_put(values);
		unlink_recent(t, g);
		link_newest(t, g);
	} else if (create) {
		g = group_add(t, id, hash, values);
		if (!g) {
			free(id);
			return HLB_ENOMEM;
		}
	} else {
		json_object_put(values);
	}
	free(id);
	*out = g;
	return HLB_OK;
}

/* ---- count windows ------------------------------------------------------ */

/* Matches of the group within (now - window, now]. Later times than now
 * (records out of order) count as inside. */
static int64_t in_window(const struct thr *t, const struct group *g, int64_t now)
{
	int64_t n = 0;

	for (size_t i = 0; i < g->ntimes; i++)
		if (g->times[i] > now - t->window_ms)
			n++;
	return n;
}

/* Keeps the newest count+1 match times: enough to tell "more than count"
 * and no more, so a busy group costs a fixed amount of memory. */
static int push_time(struct thr *t, struct group *g, int64_t time_ms)
{
	size_t want = (size_t)t->count + 1;

	if (g->ntimes < want && g->ntimes == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 4;
		int64_t *p;

		if (cap > want)
			cap = want;
		if (!(p = realloc(g->times, cap * sizeof(*p))))
			return HLB_ENOMEM;
		g->times = p;
		g->cap = cap;
	}
	if (g->ntimes < want) {
		g->times[g->ntimes++] = time_ms;
		g->head = g->ntimes % want;
		return HLB_OK;
	}
	g->times[g->head] = time_ms;
	g->head = (g->head + 1) % want;
	return HLB_OK;
}

/* ---- alerts ------------------------------------------------------------- */

static void iso_time(int64_t ms, char *out, size_t len)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	if (ms < 0 || !gmtime_r(&s, &tm)) {
		snprintf(out, len, "1970-01-01T00:00:00.000Z");
		return;
	}
	snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* "10m", "90s", "1500ms": a window as a person would write it. */
static void duration_text(int64_t ms, char *out, size_t len)
{
	if (ms % 86400000 == 0)
		snprintf(out, len, "%" PRId64 "d", ms / 86400000);
	else if (ms % 3600000 == 0)
		snprintf(out, len, "%" PRId64 "h", ms / 3600000);
	else if (ms % 60000 == 0)
		snprintf(out, len, "%" PRId64 "m", ms / 60000);
	else if (ms % 1000 == 0)
		snprintf(out, len, "%" PRId64 "s", ms / 1000);
	else
		snprintf(out, len, "%" PRId64 "ms", ms);
}

static void default_message(struct thr *t, const struct group *g, struct json_object *value, int64_t seen,
			    sb_buf *b)
{
	char num[128], win[32];

	add_text(b, t->name);
	add_text(b, ": ");
	if (t->window_ms) {
		duration_text(t->window_ms, win, sizeof(win));
		snprintf(num, sizeof(num), "%" PRId64 " records within %s (more than %" PRId64 ") with ", seen, win,
			 t->count);
		add_text(b, num);
	}
	add_text(b, t->when_text);
	if (g->values) {
		add_text(b, " for ");
		for (size_t i = 0; i < json_object_array_length(g->values); i++) {
			if (i)
				add_text(b, ", ");
			add_value(b, json_object_array_get_idx(g->values, i));
		}
	}
	if (t->value && value) {
		add_text(b, " (value ");
		add_value(b, value);
		add_text(b, ")");
	}
}

static int add_field(struct json_object *o, const char *name, struct json_object *v)
{
	if (!v)
		return HLB_ENOMEM;
	if (json_object_object_add(o, name, v) != 0) {
		json_object_put(v);
		return HLB_ENOMEM;
	}
	return HLB_OK;
}

static int add_field_array(struct json_object *a, struct json_object *v)
{
	if (!v)
		return HLB_ENOMEM;
	if (json_object_array_add(a, v) != 0) {
		json_object_put(v);
		return HLB_ENOMEM;
	}
	return HLB_OK;
}

static struct json_object *copy_of(struct json_object *v)
{
	struct json_object *c = NULL;

	if (v && json_object_deep_copy(v, &c, NULL) != 0)
		return NULL;
	return c;
}

/* Adds a deep copy of v (NULL: a JSON null). */
static int add_copy(struct json_object *o, const char *name, struct json_object *v)
{
	struct json_object *c = copy_of(v);

	if (v && !c)
		return HLB_ENOMEM;
	if (json_object_object_add(o, name, c) != 0) {
		json_object_put(c);
		return HLB_ENOMEM;
	}
	return HLB_OK;
}

/* The alert's body; NULL when out of memory. */
static struct json_object *alert_body(struct thr *t, const struct group *g, struct json_object *body,
				      int64_t time_ms, int64_t seen)
{
	struct json_object *a = json_object_new_object(), *value = NULL;
	sb_buf msg;
	char when[80], win[32];
	int rc;

	if (!a)
		return NULL;
	sb_init(&msg, THR_MESSAGE_CAP);
	iso_time(time_ms, when, sizeof(when));
	if (t->value && !t->host->path_lookup(t->value, body, &value))
		value = NULL;
	if (t->has_message)
		tmpl_render(t->host, &t->message, body, &msg, add_placeholder, NULL);
	else
		default_message(t, g, value, seen, &msg);
	cut_at_utf8_start(&msg);
	rc = msg.failed ? HLB_ENOMEM : add_field(a, "alert", json_object_new_string(t->name));
	if (rc == HLB_OK)
		rc = add_copy(a, "group", g->values);
	if (rc == HLB_OK && t->value)
		rc = add_copy(a, "value", value);
	if (rc == HLB_OK)
		rc = add_field(a, "bound", json_object_new_string(t->when_text));
	if (rc == HLB_OK && t->window_ms) {
		duration_text(t->window_ms, win, sizeof(win));
		rc = add_field(a, "count", json_object_new_int64(t->count));
		if (rc == HLB_OK)
			rc = add_field(a, "window", json_object_new_string(win));
		if (rc == HLB_OK)
			rc = add_field(a, "seen", json_object_new_int64(seen));
	}
	if (rc == HLB_OK)
		rc = add_field(a, "message", json_object_new_string_len(sb_str(&msg), (int)msg.len));
	if (rc == HLB_OK)
		rc = add_field(a, "time", json_object_new_string(when));
	/* A copy: the record itself may go on (pass = on) and be changed. */
	if (rc == HLB_OK)
		rc = add_copy(a, "record", body);
	sb_free(&msg);
	if (rc != HLB_OK) {
		json_object_put(a);
		return NULL;
	}
	return a;
}

/* name:TIME, or name:GROUP:TIME: the same crossing always has the same key,
 * so a sink that sees it twice (a replay) can tell. */
static char *alert_key(const struct thr *t, const struct group *g, int64_t time_ms)
{
	size_t len = strlen(t->name) + strlen(g->id) + 32;
	char *key = malloc(len);

	if (!key)
		return NULL;
	if (g->values)
		snprintf(key, len, "%s:%s:%" PRId64, t->name, g->id, time_ms);
	else
		snprintf(key, len, "%s:%" PRId64, t->name, time_ms);
	return key;
}

/* ---- the engine --------------------------------------------------------- */

struct thr *threshold_new(const hlb_host *host, const char *name, const char *when, char *err, size_t errlen)
{
	struct thr *t = calloc(1, sizeof(*t));

	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->host = host;
	if (!(t->name = strdup(name)) || !(t->when_text = strdup(when))) {
		snprintf(err, errlen, "out of memory");
		threshold_free(t);
		return NULL;
	}
	t->when = fx_parse(host, when, err, errlen);
	if (!t->when) {
		threshold_free(t);
		return NULL;
	}
	return t;
}

/* Splits on the commas that are outside quotes and brackets, so that
 * $["a,b"] stays one path. */
int threshold_group_by(struct thr *t, const char *list, char *err, size_t errlen)
{
	const char *s = list;

	free(t->by_text);
	if (!(t->by_text = strdup(list)))
		return HLB_ENOMEM;
	while (*s) {
		const char *p = s;
		int depth = 0, quote = 0;
		char *text, perr[256];
		hlb_path **by, *path;

		for (; *p && (quote || depth || *p != ','); p++) {
			if (quote && *p == '\\' && p[1])
				p++;
			else if (*p == '"')
				quote = !quote;
			else if (!quote && *p == '[')
				depth++;
			else if (!quote && *p == ']' && depth)
				depth--;
		}
		if (!(text = tmpl_trimmed(s, (size_t)(p - s))))
			return HLB_ENOMEM;
		if (text[0] != '$') {
			snprintf(err, errlen, "expected $.path, comma-separated, not \"%s\"", text);
			free(text);
			return HLB_EINVAL;
		}
		if (!(path = t->host->path_compile(text, perr, sizeof(perr)))) {
			snprintf(err, errlen, "%s: %s", text, perr);
			free(text);
			return HLB_EINVAL;
		}
		free(text);
		if (!(by = realloc(t->by, (t->nby + 1) * sizeof(*by)))) {
			t->host->path_free(path);
			return HLB_ENOMEM;
		}
		t->by = by;
		t->by[t->nby++] = path;
		s = *p ? p + 1 : p;
	}
	if (!t->nby) {
		snprintf(err, errlen, "expected at least one $.path");
		return HLB_EINVAL;
	}
	return HLB_OK;
}

int threshold_window(struct thr *t, int64_t window_ms, int64_t count, char *err, size_t errlen)
{
	if (window_ms <= 0) {
		snprintf(err, errlen, "must be longer than 0");
		return HLB_EINVAL;
	}
	if (count < 0 || count > THR_MAX_COUNT) {
		snprintf(err, errlen, "must be from 0 to %d", THR_MAX_COUNT);
		return HLB_EINVAL;
	}
	t->window_ms = window_ms;
	t->count = count;
	return HLB_OK;
}

void threshold_cooldown(struct thr *t, int64_t cooldown_ms)
{
	t->cooldown_ms = cooldown_ms > 0 ? cooldown_ms : 0;
}

int threshold_value(struct thr *t, const char *path, char *err, size_t errlen)
{
	if (t->value)
		t->host->path_free(t->value);
	t->value = t->host->path_compile(path, err, errlen);
	return t->value ? HLB_OK : HLB_EINVAL;
}

int threshold_message(struct thr *t, const char *text, char *err, size_t errlen)
{
	int rc;

	tmpl_clear(t->host, &t->message);
	rc = tmpl_compile(t->host, text, &t->message, err, errlen);
	if (rc != HLB_OK)
		tmpl_clear(t->host, &t->message);
	t->has_message = rc == HLB_OK;
	return rc;
}

/* Whether the group's bound is met at time_ms, re-arming it when it is
 * not (or was not, in count mode, just before this record). */
static int bound_met(struct thr *t, struct group *g, int match, int64_t time_ms, int64_t *seen)
{
	if (!t->window_ms) {
		if (!match && !g->armed) {
			g->armed = 1;
			t->dirty = THR_SAVE_NOW;
		}
		return match;
	}
	/* The count falls only as matches leave the window: just before this
	 * record it was at its lowest since the group's previous record. */
	if (!g->armed && in_window(t, g, time_ms) <= t->count) {
		g->armed = 1;
		t->dirty = THR_SAVE_NOW;
	}
	if (!match)
		return 0;
	if (push_time(t, g, time_ms) != HLB_OK)
		return -1;
	/* A group waiting to re-arm keeps its window across a restart, or a
	 * burst that goes on through one would re-arm it too soon. */
	if (!g->armed && t->dirty < THR_SAVE_SOON)
		t->dirty = THR_SAVE_SOON;
	*seen = in_window(t, g, time_ms);
	return *seen > t->count;
}

int threshold_feed(struct thr *t, struct json_object *body, int64_t time_ms, struct json_object **alert,
		   char **key)
{
	int match = fx_eval(t->host, t->when, body);
	struct group *g;
	int64_t seen = 0;
	int met, rc;

	*alert = NULL;
	*key = NULL;
	if (time_ms > t->latest)
		t->latest = time_ms;
	rc = group_of(t, body, match, &g);
	if (rc != HLB_OK)
		return rc;
	if (!g)
		return 0;
	met = bound_met(t, g, match, time_ms, &seen);
	if (met < 0)
		return HLB_ENOMEM;
	if (!met || !g->armed)
		return 0;
	/* Within the cooldown the group stays armed: its next record that
	 * still meets the bound after the cooldown alerts. */
	if (g->last_alert && t->cooldown_ms && time_ms - g->last_alert < t->cooldown_ms)
		return 0;
	*alert = alert_body(t, g, body, time_ms, seen);
	*key = *alert ? alert_key(t, g, time_ms) : NULL;
	if (!*key) {
		json_object_put(*alert);
		*alert = NULL;
		return HLB_ENOMEM;
	}
	g->armed = 0;
	g->last_alert = time_ms;
	t->dirty = THR_SAVE_NOW;
	return 1;
}

int threshold_dirty(const struct thr *t)
{
	return t->dirty;
}

size_t threshold_groups(const struct thr *t)
{
	return t->ngroups;
}

uint64_t threshold_evicted(const struct thr *t)
{
	return t->evicted;
}

/* What the saved state must match to be used: the conditions it was
 * made under. A changed `when` or `window` starts afresh. */
static char *fingerprint(const struct thr *t)
{
	size_t len = strlen(t->when_text) + (t->by_text ? strlen(t->by_text) : 0) + 64;
	char *f = malloc(len);

	if (f)
		snprintf(f, len, "%s\n%s\n%" PRId64 "\n%" PRId64, t->when_text, t->by_text ? t->by_text : "",
			 t->window_ms, t->count);
	return f;
}

/* A group is worth keeping when it waits to re-arm, or when its cooldown
 * still runs; any other group is as good as a new one. */
static int worth_saving(const struct thr *t, const struct group *g)
{
	return !g->armed || (t->cooldown_ms && g->last_alert && t->latest - g->last_alert < t->cooldown_ms);
}

static struct json_object *group_save(const struct thr *t, const struct group *g)
{
	struct json_object *o = json_object_new_object(), *times = NULL;
	int rc;

	if (!o)
		return NULL;
	rc = add_field(o, "armed", json_object_new_boolean(g->armed));
	if (rc == HLB_OK)
		rc = add_field(o, "last_alert", json_object_new_int64(g->last_alert));
	if (rc == HLB_OK && g->values)
		rc = add_copy(o, "values", g->values);
	if (rc == HLB_OK && t->window_ms && !g->armed) {
		/* Oldest first: a load pushes them back in this order. A full
		 * ring's oldest entry is at head. */
		size_t start = g->ntimes == (size_t)t->count + 1 ? g->head : 0;

		rc = add_field(o, "times", times = json_object_new_array_ext((int)g->ntimes));
		for (size_t i = 0; rc == HLB_OK && i < g->ntimes; i++) {
			struct json_object *v = json_object_new_int64(g->times[(start + i) % g->ntimes]);

			rc = add_field_array(times, v);
		}
	}
	if (rc != HLB_OK) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

struct json_object *threshold_save(struct thr *t)
{
	struct json_object *s = json_object_new_object(), *groups = json_object_new_object();
	char *f = fingerprint(t);
	int rc = s && groups && f ? HLB_OK : HLB_ENOMEM;

	if (rc == HLB_OK)
		rc = add_field(s, "conditions", json_object_new_string(f));
	if (rc == HLB_OK) {
		rc = add_field(s, "groups", groups);
		groups = NULL;
	}
	/* Oldest first, so that a load keeps the recency order. */
	for (const struct group *g = t->oldest; rc == HLB_OK && g; g = g->newer)
		if (worth_saving(t, g))
			rc = add_field(json_object_object_get(s, "groups"), g->id, group_save(t, g));
	free(f);
	json_object_put(groups);
	if (rc != HLB_OK) {
		json_object_put(s);
		return NULL;
	}
	t->dirty = 0;
	return s;
}

static void group_load(struct thr *t, const char *id, struct json_object *o)
{
	struct json_object *v, *values = NULL;
	struct group *g;
	uint64_t hash = fnv1a(id, strlen(id));

	if (!json_object_is_type(o, json_type_object) || group_find(t, id, hash))
		return;
	if (json_object_object_get_ex(o, "values", &v) && json_object_is_type(v, json_type_array))
		values = copy_of(v);
	if (!!values != !!t->nby)
		return; /* made with or without group_by: not ours */
	if (!(g = group_add(t, id, hash, values)))
		return;
	if (json_object_object_get_ex(o, "armed", &v))
		g->armed = json_object_get_boolean(v);
	if (json_object_object_get_ex(o, "last_alert", &v))
		g->last_alert = json_object_get_int64(v);
	if (g->last_alert > t->latest)
		t->latest = g->last_alert;
	if (t->window_ms && json_object_object_get_ex(o, "times", &v) && json_object_is_type(v, json_type_array))
		for (size_t i = 0; i < json_object_array_length(v); i++)
			if (push_time(t, g, json_object_get_int64(json_object_array_get_idx(v, i))) != HLB_OK)
				break;
}

int threshold_load(struct thr *t, struct json_object *state)
{
	struct json_object *cond, *groups;
	char *f = fingerprint(t);
	int same;

	if (!f)
		return -1;
	same = json_object_object_get_ex(state, "conditions", &cond) &&
	       json_object_is_type(cond, json_type_string) && strcmp(json_object_get_string(cond), f) == 0;
	free(f);
	if (!same)
		return -1;
	if (!json_object_object_get_ex(state, "groups", &groups) || !json_object_is_type(groups, json_type_object))
		return 0;
	json_object_object_foreach(groups, id, o)
		group_load(t, id, o);
	return 0;
}

void threshold_free(struct thr *t)
{
	if (!t)
		return;
	while (t->oldest)
		group_remove(t, t->oldest);
	for (size_t i = 0; i < t->nby; i++)
		t->host->path_free(t->by[i]);
	free(t->by);
	free(t->by_text);
	if (t->value)
		t->host->path_free(t->value);
	tmpl_clear(t->host, &t->message);
	fx_free(t->host, t->when);
	free(t->when_text);
	free(t->name);
	free(t);
}

/* ---- the plugin --------------------------------------------------------- */

struct state {
	const hlb_host *host;
	hlb_instance *inst;
	struct thr *t;
	char *stream;
	int pass;
	int can_save;       /* the host has a state store */
	int64_t saved_ms;   /* when the state was last written (monotonic) */
	uint64_t warned_evicted;
};

static const hlb_option options[] = {
	{ "when", HLB_OPT_STRING, NULL, HLB_OPT_REQUIRED,
	  "the bound, a filter expression such as $.value > 1000 (with window: what is counted)", NULL },
	{ "group_by", HLB_OPT_LIST, NULL, 0,
	  "$.paths, comma-separated, whose values make a group with its own crossings (default: one group)",
	  NULL },
	{ "window", HLB_OPT_DURATION, NULL, 0,
	  "count mode: the bound is more than `count` records matching `when` within this time", NULL },
	{ "count", HLB_OPT_INT, NULL, 0, "count mode: how many matches within `window` are still fine (0-1000)",
	  NULL },
	{ "cooldown", HLB_OPT_DURATION, NULL, 0, "least time between two alerts of a group (default 0)", NULL },
	{ "pass", HLB_OPT_BOOL, "off", 0, "on: pass every record on besides the alerts; off: only alerts", NULL },
	{ "stream", HLB_OPT_STRING, "alert", 0, "stream of the alert records", NULL },
	{ "name", HLB_OPT_STRING, NULL, 0, "the alert's name (default: the instance name)", NULL },
	{ "value", HLB_OPT_JSONPATH, NULL, 0, "$.path of the value an alert reports", NULL },
	{ "message", HLB_OPT_STRING, NULL, 0,
	  "the alert's text, with {{$.path}} placeholders filled from the record that crossed", NULL },
	{ NULL, 0, NULL, 0, NULL, NULL }
};

static void state_free(struct state *s)
{
	threshold_free(s->t);
	free(s->stream);
	free(s);
}

/* Applies the options after `when`, reporting every bad one. */
static int configure(struct state *s)
{
	const hlb_host *host = s->host;
	hlb_instance *inst = s->inst;
	const char *by = host->option(inst, "group_by");
	const char *value = host->option(inst, "value");
	const char *message = host->option(inst, "message");
	const char *window = host->option(inst, "window");
	const char *count = host->option(inst, "count");
	char err[512];
	int bad = 0, rc;

	if (by && (rc = threshold_group_by(s->t, by, err, sizeof(err))) != HLB_OK) {
		if (rc != HLB_EINVAL)
			return rc;
		host->option_error(inst, "group_by", "%s", err);
		bad++;
	}
	if (window && !count) {
		host->option_error(inst, "window", "needs count: alert when more than `count` records match "
				   "within the window");
		bad++;
	} else if (count && !window) {
		host->option_error(inst, "count", "needs window: more than `count` matches within what time?");
		bad++;
	} else if (window && threshold_window(s->t, host->option_ms(inst, "window", 0),
					      host->option_int(inst, "count", 0), err, sizeof(err)) != HLB_OK) {
		host->option_error(inst, host->option_ms(inst, "window", 0) <= 0 ? "window" : "count", "%s", err);
		bad++;
	}
	threshold_cooldown(s->t, host->option_ms(inst, "cooldown", 0));
	if (value && (rc = threshold_value(s->t, value, err, sizeof(err))) != HLB_OK) {
		host->option_error(inst, "value", "%s", err);
		bad++;
	}
	if (message && (rc = threshold_message(s->t, message, err, sizeof(err))) != HLB_OK) {
		if (rc != HLB_EINVAL)
			return rc;
		host->option_error(inst, "message", "%s", err);
		bad++;
	}
	return bad ? HLB_EINVAL : HLB_OK;
}

static void load_state(struct state *s)
{
	struct json_object *saved = s->host->state_get(s->inst, "groups");

	if (!saved)
		return;
	if (threshold_load(s->t, saved) < 0)
		s->host->log(s->inst, HLB_LOG_INFO, "the conditions changed since the crossing state was saved: "
			     "every group starts armed");
	else if (threshold_groups(s->t))
		s->host->log(s->inst, HLB_LOG_DEBUG, "%zu groups restored from the state store",
			     threshold_groups(s->t));
	json_object_put(saved);
}

static int init(const hlb_host *host, hlb_instance *inst, uint32_t role, void **state)
{
	const char *when = host->option(inst, "when");
	const char *name = host->option(inst, "name");
	const char *stream = host->option(inst, "stream");
	struct state *s;
	char err[512];
	int rc;

	if (role != HLB_CAP_TRANSFORM)
		return HLB_EUNSUPPORTED;
	if (!when) {
		host->option_error(inst, "when", "is required");
		return HLB_EINVAL;
	}
	if (!(s = calloc(1, sizeof(*s))))
		return HLB_ENOMEM;
	s->host = host;
	s->inst = inst;
	s->pass = host->option_bool(inst, "pass", 0);
	s->t = threshold_new(host, name ? name : host->instance_name(inst), when, err, sizeof(err));
	if (!s->t) {
		host->option_error(inst, "when", "%s", err);
		state_free(s);
		return HLB_EINVAL;
	}
	rc = configure(s);
	if (rc == HLB_OK && !(s->stream = strdup(stream ? stream : "alert")))
		rc = HLB_ENOMEM;
	if (rc == HLB_OK && stream && !*stream) {
		host->option_error(inst, "stream", "must not be empty");
		rc = HLB_EINVAL;
	}
	if (rc == HLB_OK && name && !*name) {
		host->option_error(inst, "name", "must not be empty");
		rc = HLB_EINVAL;
	}
	if (rc != HLB_OK) {
		state_free(s);
		return rc;
	}
	s->can_save = host->state_get && host->state_put;
	if (s->can_save)
		load_state(s);
	*state = s;
	return HLB_OK;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The crossing state is written at once when a group alerts or re-arms,
 * which is at most twice per crossing; the windows of groups waiting to
 * re-arm, which move with every match, at most once a second (and at
 * shutdown). It is handed the process job: a host that commits state
 * with the poll's checkpoint then keeps the two together; the hosts so far
 * write it at once, as with NULL. */
static void save_state(struct state *s, hlb_job *out, int now)
{
	struct json_object *saved;
	int dirty = threshold_dirty(s->t);

	if (!s->can_save || !dirty)
		return;
	if (dirty == THR_SAVE_SOON && !now && mono_ms() - s->saved_ms < 1000)
		return;
	s->saved_ms = mono_ms();
	saved = threshold_save(s->t);
	if (!saved || s->host->state_put(s->inst, out, "groups", saved) != HLB_OK)
		s->host->log(s->inst, HLB_LOG_WARN, "could not save the crossing state: after a restart, "
			     "groups already alerted may alert again");
}

static int process(void *state, hlb_record *rec, hlb_job *out)
{
	struct state *s = state;
	const hlb_host *host = s->host;
	struct json_object *alert = NULL;
	char *key = NULL;
	int64_t time_ms = host->record_time(rec);
	int rc = threshold_feed(s->t, host->record_body(rec), time_ms, &alert, &key);

	if (rc < 0) {
		host->record_free(rec);
		return rc;
	}
	if (threshold_evicted(s->t) != s->warned_evicted) {
		if (!s->warned_evicted)
			host->log(s->inst, HLB_LOG_WARN, "more than %d groups: the least recently seen are "
				  "forgotten (check group_by)", THR_MAX_GROUPS);
		s->warned_evicted = threshold_evicted(s->t);
	}
	save_state(s, out, 0);
	if (s->pass) {
		rc = host->emit(out, rec);
		if (rc < 0) {
			json_object_put(alert);
			free(key);
			return rc;
		}
	} else {
		host->record_free(rec);
	}
	if (alert) {
		hlb_record *a = host->record_new(s->stream, key, HLB_OP_UPSERT, time_ms, alert);

		free(key);
		if (!a)
			return HLB_ENOMEM;
		host->log(s->inst, HLB_LOG_INFO, "alert %s", host->record_key(a));
		rc = host->emit(out, a);
		if (rc < 0)
			return rc;
	}
	return HLB_OK;
}

static void fini(void *state)
{
	if (!state)
		return;
	save_state(state, NULL, 1);
	state_free(state);
}

const hlb_plugin HLB_PLUGIN_EXPORT(threshold) = {
	HLB_PLUGIN_HEADER,
	.caps = HLB_CAP_TRANSFORM,
	.name = "threshold",
	.version = PACKAGE_VERSION,
	.summary = "emits one alert record each time a metric or a count over a window crosses a bound",
	.options = options,
	.init = init,
	.process = process,
	.fini = fini,
};
