/* The metrics registry (see metrics.h). Every counted event looks its
 * series up, so a lookup allocates nothing: the caller's labels are
 * sorted on the stack, hashed and compared in place, and names are only
 * validated when a series is created. Families and their series are kept
 * in the order the exposition wants, so rendering sorts nothing. */
#ifdef HAVE_CONFIG_H
#include "build_config.h" /* _GNU_SOURCE for open_memstream */
#endif
#include "metrics.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LABELS 16 /* per series; more is a caller's bug */

enum kind { K_COUNTER, K_GAUGE, K_HISTOGRAM };
static const char *const kind_name[] = { "counter", "gauge", "histogram" };

struct family;

struct series {
	struct family *fam;
	uint64_t hash;
	size_t nlabels;
	char **lab;          /* name, value, ... sorted by name */
	char *text;          /* the escaped `a="x",b="y"` (no braces) */
	double value;        /* counter, gauge; histogram: the sum */
	uint64_t count;      /* histogram: observations */
	uint64_t *buckets;   /* histogram: nbounds + 1, not cumulative */
};

struct family {
	char *name;
	char *help;
	enum kind kind;
	uint64_t hash;
	double *bounds;
	size_t nbounds;
	struct series **ser; /* in label order */
	size_t nser, capser;
};

/* Open addressing, linear probing, never deleted from. */
struct table {
	void **slot;
	size_t cap; /* a power of two, or 0 */
	size_t used;
};

struct hc_metrics {
	size_t max_series, nseries;
	struct family **fam; /* in name order */
	size_t nfam, capfam;
	struct table ftab, stab;
};

/* The caller's labels, sorted by name, without copying them. */
struct labels {
	size_t n;
	const char *p[2 * MAX_LABELS];
};

/* ---- hashing and tables -------------------------------------------------- */

static uint64_t fnv(uint64_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	h ^= 0xff; /* a terminator, so that ("ab","c") and ("a","bc") differ */
	return h * 0x100000001b3ULL;
}

#define FNV_INIT 0xcbf29ce484222325ULL

static uint64_t labels_hash(uint64_t h, const struct labels *l)
{
	for (size_t i = 0; i < 2 * l->n; i++)
		h = fnv(h, l->p[i]);
	return h;
}

/* Room for one more entry (at most half full), or -1. */
static int table_reserve(struct table *t, uint64_t (*hash_of)(const void *))
{
	size_t ncap;
	void **ns;

	if ((t->used + 1) * 2 <= t->cap)
		return 0;
	ncap = t->cap ? t->cap * 2 : 64;
	ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return -1;
	for (size_t i = 0; i < t->cap; i++) {
		size_t j;

		if (!t->slot[i])
			continue;
		for (j = hash_of(t->slot[i]) & (ncap - 1); ns[j]; j = (j + 1) & (ncap - 1))
			;
		ns[j] = t->slot[i];
	}
	free(t->slot);
	t->slot = ns;
	t->cap = ncap;
	return 0;
}

static void table_put(struct table *t, uint64_t h, void *v)
{
	size_t j;

	for (j = h & (t->cap - 1); t->slot[j]; j = (j + 1) & (t->cap - 1))
		;
	t->slot[j] = v;
	t->used++;
}

static uint64_t family_hash_of(const void *v)
{
	return ((const struct family *)v)->hash;
}

static uint64_t series_hash_of(const void *v)
{
	return ((const struct series *)v)->hash;
}

static struct family *family_find(const hc_metrics *m, const char *name, uint64_t h)
{
	const struct table *t = &m->ftab;

	if (!t->cap)
		return NULL;
	for (size_t j = h & (t->cap - 1); t->slot[j]; j = (j + 1) & (t->cap - 1)) {
		struct family *f = t->slot[j];

		if (f->hash == h && !strcmp(f->name, name))
			return f;
	}
	return NULL;
}

static int labels_equal(const struct series *s, const struct labels *l)
{
	if (s->nlabels != l->n)
		return 0;
	for (size_t i = 0; i < 2 * l->n; i++)
		if (strcmp(s->lab[i], l->p[i]))
			return 0;
	return 1;
}

static struct series *series_find(const hc_metrics *m, const struct family *f,
				  const struct labels *l, uint64_t h)
{
	const struct table *t = &m->stab;

	if (!t->cap)
		return NULL;
	for (size_t j = h & (t->cap - 1); t->slot[j]; j = (j + 1) & (t->cap - 1)) {
		struct series *s = t->slot[j];

		if (s->hash == h && s->fam == f && labels_equal(s, l))
			return s;
	}
	return NULL;
}

/* ---- validation ---------------------------------------------------------- */

static int name_ok(const char *s, int colon)
{
	if (!s || !*s)
		return 0;
	for (size_t i = 0; s[i]; i++) {
		char c = s[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
			 (colon && c == ':') || (i && c >= '0' && c <= '9');

		if (!ok)
			return 0;
	}
	return 1;
}

static int utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned c = *p, n, cp;

		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return 0;
		for (unsigned i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		/* overlong forms, surrogates and past U+10FFFF */
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return 0;
		p += n + 1;
	}
	return 1;
}

/* Sorts the caller's NULL-terminated pairs by name; -1 for an odd list or
 * too many labels. */
static int labels_sort(const char *const *in, struct labels *l)
{
	l->n = 0;
	for (size_t i = 0; in && in[2 * i]; i++) {
		size_t j;

		if (!in[2 * i + 1] || l->n == MAX_LABELS)
			return -1;
		/* insertion sort: a handful of labels */
		for (j = l->n; j > 0 && strcmp(l->p[2 * (j - 1)], in[2 * i]) > 0; j--) {
			l->p[2 * j] = l->p[2 * (j - 1)];
			l->p[2 * j + 1] = l->p[2 * (j - 1) + 1];
		}
		l->p[2 * j] = in[2 * i];
		l->p[2 * j + 1] = in[2 * i + 1];
		l->n++;
	}
	return 0;
}

static int labels_valid(const struct labels *l, enum kind kind)
{
	for (size_t i = 0; i < l->n; i++) {
		const char *n = l->p[2 * i];

		if (!name_ok(n, 0) || !strncmp(n, "__", 2) || !utf8_ok(l->p[2 * i + 1]))
			return 0;
		if (i && !strcmp(n, l->p[2 * (i - 1)]))
			return 0; /* the same name twice */
		if (kind == K_HISTOGRAM && !strcmp(n, "le"))
			return 0;
	}
	return 1;
}

static const char *const hist_suffix[] = { "_bucket", "_sum", "_count" };

/* A histogram `x` writes x_bucket, x_sum and x_count: no other family may
 * own those names, or the exposition would be ambiguous. */
static int clashes(const hc_metrics *m, const char *name, enum kind kind)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < 3; i++) {
		size_t sl = strlen(hist_suffix[i]);
		char buf[256];
		struct family *f;

		if (kind == K_HISTOGRAM) {
			if (len + sl >= sizeof(buf))
				return 1;
			memcpy(buf, name, len);
			memcpy(buf + len, hist_suffix[i], sl + 1);
			if (family_find(m, buf, fnv(FNV_INIT, buf)))
				return 1;
		}
		if (len > sl && !strcmp(name + len - sl, hist_suffix[i]) && len - sl < sizeof(buf)) {
			memcpy(buf, name, len - sl);
			buf[len - sl] = 0;
			f = family_find(m, buf, fnv(FNV_INIT, buf));
			if (f && f->kind == K_HISTOGRAM)
				return 1;
		}
	}
	return 0;
}

static int family_valid(const hc_metrics *m, const char *name, const char *help, enum kind kind,
			const double *bounds, size_t nbounds)
{
	if (!name_ok(name, 1) || (help && !utf8_ok(help)) || clashes(m, name, kind))
		return 0;
	if (kind != K_HISTOGRAM)
		return 1;
	if (nbounds && !bounds)
		return 0;
	for (size_t i = 0; i < nbounds; i++)
		if (!isfinite(bounds[i]) || (i && bounds[i] <= bounds[i - 1]))
			return 0;
	return 1;
}

/* ---- rendering of names and values -------------------------------------- */

/* As Prometheus' Go client (strconv 'g', shortest), except that integers
 * up to 2^53 never take an exponent: counts read better as 1000000. */
static void format_value(char *out, size_t size, double v)
{
	char e[40];
	int prec, exp;

	if (isnan(v)) {
		snprintf(out, size, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(out, size, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	/* (no floor(): the core does not link libm) */
	if (fabs(v) <= 9007199254740992.0 && v == (double)(int64_t)v) {
		snprintf(out, size, "%.0f", v == 0 ? 0.0 : v);
		return;
	}
	for (prec = 0; prec < 17; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec, v);
		if (strtod(e, NULL) == v)
			break;
	}
	exp = atoi(strchr(e, 'e') + 1);
	if (exp < -4 || exp >= 6)
		snprintf(out, size, "%.*e", prec, v);
	else
		snprintf(out, size, "%.*f", prec > exp ? prec - exp : 0, v);
}

static void put_escaped(FILE *f, const char *s, int quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else if (quote && *s == '"')
			fputs("\\\"", f);
		else
			fputc(*s, f);
	}
}

/* The escaped label text of a new series, kept for every render. */
static char *labels_text(const struct labels *l)
{
	char *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	for (size_t i = 0; i < l->n; i++) {
		fprintf(f, "%s%s=\"", i ? "," : "", l->p[2 * i]);
		put_escaped(f, l->p[2 * i + 1], 1);
		fputc('"', f);
	}
	if (ferror(f)) {
		fclose(f);
		free(text);
		return NULL;
	}
	if (fclose(f)) {
		free(text);
		return NULL;
	}
	return text;
}

/* ---- families and series ------------------------------------------------- */

static void series_free(struct series *s)
{
	if (!s)
		return;
	for (size_t i = 0; s->lab && i < 2 * s->nlabels; i++)
		free(s->lab[i]);
	free(s->lab);
	free(s->text);
	free(s->buckets);
	free(s);
}

static void family_free(struct family *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->nser; i++)
		series_free(f->ser[i]);
	free(f->ser);
	free(f->name);
	free(f->help);
	free(f->bounds);
	free(f);
}

static struct series *series_new(const struct labels *l, size_t nbuckets)
{
	struct series *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->nlabels = l->n;
	s->lab = calloc(2 * l->n + 1, sizeof(*s->lab));
	s->text = labels_text(l);
	if (nbuckets)
		s->buckets = calloc(nbuckets, sizeof(*s->buckets));
	if (!s->lab || !s->text || (nbuckets && !s->buckets)) {
		series_free(s);
		return NULL;
	}
	for (size_t i = 0; i < 2 * l->n; i++)
		if (!(s->lab[i] = strdup(l->p[i]))) {
			series_free(s);
			return NULL;
		}
	return s;
}

static struct family *family_new(const char *name, const char *help, enum kind kind,
				 const double *bounds, size_t nbounds, uint64_t h)
{
	struct family *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->kind = kind;
	f->hash = h;
	f->name = strdup(name);
	f->help = strdup(help ? help : "");
	f->nbounds = kind == K_HISTOGRAM ? nbounds : 0;
	if (f->nbounds && (f->bounds = malloc(nbounds * sizeof(*f->bounds))))
		memcpy(f->bounds, bounds, nbounds * sizeof(*f->bounds));
	if (!f->name || !f->help || (f->nbounds && !f->bounds)) {
		family_free(f);
		return NULL;
	}
	return f;
}

static int grow(void *arrp, size_t *cap, size_t n, size_t elem)
{
	void **arr = arrp;
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 8;
	p = realloc(*arr, ncap * elem);
	if (!p)
		return -1;
	*arr = p;
	*cap = ncap;
	return 0;
}

static int series_cmp(const struct series *a, const struct series *b)
{
	for (size_t i = 0; i < 2 * a->nlabels && i < 2 * b->nlabels; i++) {
		int c = strcmp(a->lab[i], b->lab[i]);

		if (c)
			return c;
	}
	return (a->nlabels > b->nlabels) - (a->nlabels < b->nlabels);
}

/* Inserts into a sorted array of n pointers (room for one more). */
static void insert_sorted(void **arr, size_t n, void *v, int (*cmp)(const void *, const void *))
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (cmp(arr[mid], v) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	memmove(arr + lo + 1, arr + lo, (n - lo) * sizeof(*arr));
	arr[lo] = v;
}

static int series_cmpv(const void *a, const void *b)
{
	return series_cmp(a, b);
}

static int family_cmpv(const void *a, const void *b)
{
	return strcmp(((const struct family *)a)->name, ((const struct family *)b)->name);
}

/* Makes room everywhere first, so that nothing can fail half-inserted. */
static int create(hc_metrics *m, struct family *f, int new_family, struct series *s)
{
	if (table_reserve(&m->stab, series_hash_of) < 0 ||
	    grow(&f->ser, &f->capser, f->nser, sizeof(*f->ser)) < 0)
		return -1;
	if (new_family && (table_reserve(&m->ftab, family_hash_of) < 0 ||
			   grow(&m->fam, &m->capfam, m->nfam, sizeof(*m->fam)) < 0))
		return -1;
	if (new_family) {
		table_put(&m->ftab, f->hash, f);
		insert_sorted((void **)m->fam, m->nfam++, f, family_cmpv);
	}
	s->fam = f;
	table_put(&m->stab, s->hash, s);
	insert_sorted((void **)f->ser, f->nser++, s, series_cmpv);
	m->nseries++;
	return 0;
}

/* The series of (name, labels), created on first use: 0, -1 or -2. */
static int get_series(hc_metrics *m, const char *name, const char *help, enum kind kind,
		      const double *bounds, size_t nbounds, const char *const *labels,
		      struct series **out)
{
	struct labels l;
	struct family *f, *nf = NULL;
	struct series *s;
	uint64_t fh, sh;

	if (!m || !name || labels_sort(labels, &l) < 0)
		return -1;
	fh = fnv(FNV_INIT, name);
	f = family_find(m, name, fh);
	if (f && f->kind != kind)
		return -1;
	sh = labels_hash(fh, &l);
	if (f && (*out = series_find(m, f, &l, sh)))
		return 0;
	if (!labels_valid(&l, kind) ||
	    (!f && !family_valid(m, name, help, kind, bounds, nbounds)))
		return -1;
	if (m->max_series && m->nseries >= m->max_series)
		return -2;
	if (!f && !(f = nf = family_new(name, help, kind, bounds, nbounds, fh)))
		return -1;
	s = series_new(&l, kind == K_HISTOGRAM ? f->nbounds + 1 : 0);
	if (!s || (s->hash = sh, create(m, f, nf != NULL, s) < 0)) {
		series_free(s);
		family_free(nf);
		return -1;
	}
	*out = s;
	return 0;
}

/* ---- the API ------------------------------------------------------------- */

hc_metrics *hc_metrics_new(size_t max_series)
{
	hc_metrics *m = calloc(1, sizeof(*m));

	if (m)
		m->max_series = max_series;
	return m;
}

void hc_metrics_free(hc_metrics *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nfam; i++)
		family_free(m->fam[i]);
	free(m->fam);
	free(m->ftab.slot);
	free(m->stab.slot);
	free(m);
}

int hc_metric_add(hc_metrics *m, const char *name, const char *help,
		  const char *const *labels, double v)
{
	struct series *s;
	int rc;

	if (!(v >= 0)) /* negative or NaN: a counter only goes up */
		return -1;
	rc = get_series(m, name, help, K_COUNTER, NULL, 0, labels, &s);
	if (rc == 0)
		s->value += v;
	return rc;
}

int hc_metric_set(hc_metrics *m, const char *name, const char *help,
		  const char *const *labels, double v)
{
	struct series *s;
	int rc = get_series(m, name, help, K_GAUGE, NULL, 0, labels, &s);

	if (rc == 0)
		s->value = v;
	return rc;
}

int hc_metric_observe(hc_metrics *m, const char *name, const char *help,
		      const double *bounds, size_t nbounds,
		      const char *const *labels, double v)
{
	struct series *s;
	size_t i;
	int rc;

	if (isnan(v))
		return -1;
	rc = get_series(m, name, help, K_HISTOGRAM, bounds, nbounds, labels, &s);
	if (rc)
		return rc;
	for (i = 0; i < s->fam->nbounds && v > s->fam->bounds[i]; i++)
		;
	s->buckets[i]++;
	s->count++;
	s->value += v;
	return 0;
}

double hc_metric_value(const hc_metrics *m, const char *name, const char *const *labels)
{
	struct labels l;
	const struct family *f;
	const struct series *s;
	uint64_t fh;

	if (!m || !name || labels_sort(labels, &l) < 0)
		return 0;
	fh = fnv(FNV_INIT, name);
	if (!(f = family_find(m, name, fh)) || !(s = series_find(m, f, &l, labels_hash(fh, &l))))
		return 0;
	/* a histogram answers its number of observations */
	return f->kind == K_HISTOGRAM ? (double)s->count : s->value;
}

static void put_sample(FILE *out, const char *name, const char *suffix, const char *labels,
		       const char *extra, double v)
{
	char num[64];
	int braces = *labels || extra;

	format_value(num, sizeof(num), v);
	fprintf(out, "%s%s%s%s%s%s%s %s\n", name, suffix, braces ? "{" : "", labels,
		*labels && extra ? "," : "", extra ? extra : "", braces ? "}" : "", num);
}

static void put_histogram(FILE *out, const struct family *f, const struct series *s)
{
	uint64_t cum = 0;
	char le[80], num[64];

	for (size_t i = 0; i <= f->nbounds; i++) {
		cum += s->buckets[i];
		if (i < f->nbounds)
			format_value(num, sizeof(num), f->bounds[i]);
		snprintf(le, sizeof(le), "le=\"%s\"", i < f->nbounds ? num : "+Inf");
		put_sample(out, f->name, "_bucket", s->text, le, (double)cum);
	}
	put_sample(out, f->name, "_sum", s->text, NULL, s->value);
	put_sample(out, f->name, "_count", s->text, NULL, (double)s->count);
}

static void put_family(FILE *out, const struct family *f)
{
	if (*f->help) {
		fprintf(out, "# HELP %s ", f->name);
		put_escaped(out, f->help, 0);
		fputc('\n', out);
	}
	fprintf(out, "# TYPE %s %s\n", f->name, kind_name[f->kind]);
	for (size_t i = 0; i < f->nser; i++) {
		if (f->kind == K_HISTOGRAM)
			put_histogram(out, f, f->ser[i]);
		else
			put_sample(out, f->name, "", f->ser[i]->text, NULL, f->ser[i]->value);
	}
}

char *hc_metrics_render(const hc_metrics *m, size_t *len)
{
	char *text = NULL;
	size_t n = 0;
	FILE *out = open_memstream(&text, &n);
	int bad;

	if (!out)
		return NULL;
	for (size_t i = 0; m && i < m->nfam; i++)
		put_family(out, m->fam[i]);
	bad = ferror(out);
	if (fclose(out) || bad) {
		free(text);
		return NULL;
	}
	if (len)
		*len = n;
	return text;
}
