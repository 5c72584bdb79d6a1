/* See prom_gauge.h. */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "prom_gauge.h"
#include "../common/strbuf.h"
#include "../common/template.h"

struct label {
	char *name;
	hlb_path *path;
};

struct prom_gauge {
	const hlb_host *host;
	tmpl metric;
	size_t placeholders;     /* path pieces of the metric template */
	hlb_path *value;
	struct label labels[PROM_MAX_LABELS];
	size_t nlabels;
	json_object *last;       /* series key -> time of its last sample (ms) */
};

static int name_char(char c, int first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
	       (!first && c >= '0' && c <= '9');
}

int prom_name_ok(const char *name)
{
	if (!*name)
		return 0;
	for (const char *c = name; *c; c++)
		if (!name_char(*c, c == name))
			return 0;
	return 1;
}

static int label_name_ok(const char *name)
{
	if (!prom_name_ok(name) || strchr(name, ':') || strncmp(name, "__", 2) == 0)
		return 0;
	return strlen(name) <= PROM_NAME_MAX;
}

prom_gauge *prom_gauge_new(const hlb_host *host)
{
	prom_gauge *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->host = host;
	if (!(g->last = json_object_new_object())) {
		free(g);
		return NULL;
	}
	return g;
}

void prom_gauge_free(prom_gauge *g)
{
	if (!g)
		return;
	tmpl_clear(g->host, &g->metric);
	if (g->value)
		g->host->path_free(g->value);
	for (size_t i = 0; i < g->nlabels; i++) {
		free(g->labels[i].name);
		g->host->path_free(g->labels[i].path);
	}
	json_object_put(g->last);
	free(g);
}

int prom_gauge_metric(prom_gauge *g, const char *text, char *err, size_t errlen)
{
	int rc;

	tmpl_clear(g->host, &g->metric);
	g->placeholders = 0;
	rc = tmpl_compile(g->host, text, &g->metric, err, errlen);
	if (rc != HLB_OK)
		return rc;
	for (size_t i = 0; i < g->metric.n; i++) {
		const char *lit = g->metric.p[i].text;

		if (!lit) {
			g->placeholders++;
			continue;
		}
		for (const char *c = lit; *c; c++)
			if (!name_char(*c, i == 0 && c == lit)) {
				snprintf(err, errlen, "'%s' is not a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*, "
					 "with {{$.path}} parts)", text);
				return HLB_EINVAL;
			}
	}
	if (!g->metric.n) {
		snprintf(err, errlen, "is empty");
		return HLB_EINVAL;
	}
	return HLB_OK;
}

static int compile(prom_gauge *g, const char *text, hlb_path **out, char *err, size_t errlen)
{
	*out = g->host->path_compile(text, err, errlen);
	return *out ? HLB_OK : HLB_EINVAL;
}

int prom_gauge_value(prom_gauge *g, const char *path, char *err, size_t errlen)
{
	if (g->value)
		g->host->path_free(g->value);
	g->value = NULL;
	return compile(g, path, &g->value, err, errlen);
}

int prom_gauge_label(prom_gauge *g, const char *name, const char *path, char *err, size_t errlen)
{
	struct label *l;

	if (!label_name_ok(name)) {
		snprintf(err, errlen, "'%s' is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, not __...)",
			 name);
		return HLB_EINVAL;
	}
	for (size_t i = 0; i < g->nlabels; i++)
		if (strcmp(g->labels[i].name, name) == 0) {
			snprintf(err, errlen, "label '%s' is set twice", name);
			return HLB_EINVAL;
		}
	if (g->nlabels >= PROM_MAX_LABELS) {
		snprintf(err, errlen, "more than %d labels", PROM_MAX_LABELS);
		return HLB_EINVAL;
	}
	l = &g->labels[g->nlabels];
	if (compile(g, path, &l->path, err, errlen) != HLB_OK)
		return HLB_EINVAL;
	if (!(l->name = strdup(name))) {
		g->host->path_free(l->path);
		return HLB_ENOMEM;
	}
	g->nlabels++;
	return HLB_OK;
}

size_t prom_gauge_labels(const prom_gauge *g)
{
	return g->nlabels;
}

/* ---- a sample ------------------------------------------------------------ */

struct fill {
	size_t filled;     /* placeholders that had a value */
};

/* A placeholder of the metric name: its text with every character that
 * is not [a-zA-Z0-9_] made '_' (a colon is for recording rules). */
static void add_name_part(sb_buf *b, json_object *v, void *arg)
{
	struct fill *f = arg;
	const char *s;
	size_t start = b->len;

	if (!v || json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array))
		return;
	s = json_object_get_string(v);
	if (!*s || sb_add_cut(b, s, strlen(s)) < 0)
		return;
	for (size_t i = start; i < b->len; i++)
		if (!name_char(b->data[i], 0) || b->data[i] == ':')
			b->data[i] = '_';
	f->filled++;
}

static int render_name(prom_gauge *g, json_object *body, prom_sample *s, char *why, size_t whylen)
{
	struct fill f = { 0 };
	sb_buf b;
	int ok;

	sb_init(&b, PROM_NAME_MAX + 1);
	tmpl_render(g->host, &g->metric, body, &b, add_name_part, &f);
	if (f.filled < g->placeholders) {
		snprintf(why, whylen, "the metric name's {{$.path}} has no value in the record");
		sb_free(&b);
		return HLB_EINVAL;
	}
	ok = b.len <= PROM_NAME_MAX && !b.failed && prom_name_ok(sb_str(&b));
	if (ok)
		snprintf(s->name, sizeof(s->name), "%s", sb_str(&b));
	else
		snprintf(why, whylen, "'%.*s' is not a Prometheus metric name", PROM_NAME_MAX, sb_str(&b));
	sb_free(&b);
	return ok ? HLB_OK : HLB_EINVAL;
}

/* A whole finite number: "12", "-3.5", "1e3"; not "", " 1", "0x10", "nan". */
static int number_text(const char *s, double *out)
{
	char *end;
	double d;

	if (!*s || !strchr("+-.0123456789", *s) || strpbrk(s, "xX"))
		return 0;
	errno = 0;
	d = strtod(s, &end);
	if (*end || errno == ERANGE || !isfinite(d))
		return 0;
	*out = d;
	return 1;
}

static int read_value(prom_gauge *g, json_object *body, double *out, char *why, size_t whylen)
{
	json_object *v = NULL;
	const char *path = g->host->path_text(g->value);

	if (!g->host->path_lookup(g->value, body, &v) || !v) {
		snprintf(why, whylen, "the record has no value at %s", path);
		return HLB_EINVAL;
	}
	switch (json_object_get_type(v)) {
	case json_type_int:
	case json_type_double:
		*out = json_object_get_double(v);
		if (isfinite(*out))
			return HLB_OK;
		break;
	case json_type_boolean:
		*out = json_object_get_boolean(v) ? 1 : 0;
		return HLB_OK;
	case json_type_string:
		if (number_text(json_object_get_string(v), out))
			return HLB_OK;
		break;
	default:
		break;
	}
	snprintf(why, whylen, "the value at %s is not a number: %.80s", path,
		 json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	return HLB_EINVAL;
}

/* Label i's value into the sample's text at *used. */
static int read_label(prom_gauge *g, size_t i, json_object *body, prom_sample *s, size_t *used, char *why,
		      size_t whylen)
{
	const struct label *l = &g->labels[i];
	json_object *v = NULL;
	const char *text = "";
	size_t n;

	if (g->host->path_lookup(l->path, body, &v) && v) {
		if (json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array)) {
			snprintf(why, whylen, "label %s: the value at %s is not a string or number", l->name,
				 g->host->path_text(l->path));
			return HLB_EINVAL;
		}
		text = json_object_get_string(v);
	}
	n = strlen(text);
	if (n > PROM_LABEL_VALUE_MAX) {
		snprintf(why, whylen, "label %s: the value is longer than %d bytes", l->name, PROM_LABEL_VALUE_MAX);
		return HLB_EINVAL;
	}
	memcpy(s->text + *used, text, n + 1);
	s->labels[2 * i] = l->name;
	s->labels[2 * i + 1] = s->text + *used;
	*used += n + 1;
	return HLB_OK;
}

int prom_gauge_sample(prom_gauge *g, json_object *body, prom_sample *s, char *why, size_t whylen)
{
	size_t used = 0;
	int rc;

	s->name[0] = '\0';
	s->labels[0] = NULL;
	if ((rc = render_name(g, body, s, why, whylen)) != HLB_OK ||
	    (rc = read_value(g, body, &s->value, why, whylen)) != HLB_OK)
		return rc;
	for (size_t i = 0; i < g->nlabels; i++)
		if ((rc = read_label(g, i, body, s, &used, why, whylen)) != HLB_OK)
			return rc;
	s->labels[2 * g->nlabels] = NULL;
	return HLB_OK;
}

/* ---- the newest sample per series ---------------------------------------- */

int prom_gauge_fresh(prom_gauge *g, const prom_sample *s, int64_t time_ms)
{
	json_object *t = NULL, *ms;
	sb_buf key;
	int fresh = 1;

	if (time_ms <= 0)
		return 1;
	/* the name, then each label value (in the configured order) with its
	 * length, so that no two series share a key */
	sb_init(&key, 0);
	sb_adds(&key, s->name);
	for (size_t i = 0; s->labels[i]; i += 2)
		sb_addf(&key, "|%zu:%s", strlen(s->labels[i + 1]), s->labels[i + 1]);
	if (key.failed) {
		sb_free(&key);
		return -1;
	}
	if (json_object_object_get_ex(g->last, sb_str(&key), &t))
		fresh = time_ms >= json_object_get_int64(t);
	if (fresh && (t || (size_t)json_object_object_length(g->last) < PROM_MAX_TRACKED)) {
		if (t)
			json_object_set_int64(t, time_ms);
		else if (!(ms = json_object_new_int64(time_ms)))
			fresh = -1;
		else if (json_object_object_add(g->last, sb_str(&key), ms) != 0) {
			json_object_put(ms);
			fresh = -1;
		}
	}
	sb_free(&key);
	return fresh;
}
