/* prom_check [FILE]: a strict checker of the Prometheus text exposition
 * format 0.0.4, for the shell tests of GET /metrics. Reads FILE (stdin
 * by default); exits 0 when the text is valid, else prints
 * "line N: what is wrong" and exits 1 (2: cannot read). Warnings (a
 * counter without the _total suffix) go to stderr and do not fail.
 *
 * Checked: line syntax; metric and label name grammar; label value
 * escapes and UTF-8; float syntax (+Inf, -Inf, NaN); the optional
 * timestamp; HELP and TYPE at most once per family, TYPE before the
 * family's samples; the samples of a family contiguous; no series twice;
 * counters not negative; histograms (each series: _bucket lines with le
 * in increasing order and non-decreasing counts, a +Inf bucket equal to
 * _count, _sum and _count present); summaries (quantile labels in [0, 1],
 * _sum and _count); the text ending with a newline. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_LABELS 64
#define MAX_INPUT (64u << 20)

enum type { T_UNTYPED, T_COUNTER, T_GAUGE, T_HISTOGRAM, T_SUMMARY };
static const char *const type_name[] = { "untyped", "counter", "gauge", "histogram", "summary" };

struct family {
	char *name;
	enum type type;
	int help, typed;   /* lines seen */
	long first;        /* line of its first sample; 0 none */
	int closed;        /* another family came after it */
};

/* One histogram or summary series: its labels but le / quantile. */
struct group {
	char *key;
	long line;
	int nb, inf, sum, count;
	double last_le, last_bucket, inf_value, count_value;
};

struct sample_key {
	char *key;
	long line;
};

static long lineno;
static struct family *fams;
static size_t nfams, capfams;
static struct family *cur;     /* the family of the last line */
static struct group *groups;   /* of the current family */
static size_t ngroups, capgroups;
static struct sample_key *keys;
static size_t nkeys, capkeys;

static void fail_at(long line, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

static void fail_at(long line, const char *fmt, ...)
{
	va_list ap;

	printf("line %ld: ", line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	/* a refusal ends the run where it stands: what it had parsed is not
	 * freed, and no leak checker should count it */
	fflush(stdout);
	_exit(1);
}

#define fail(...) fail_at(lineno, __VA_ARGS__)

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p) {
		perror("prom_check");
		exit(2);
	}
	return p;
}

static char *xstrndup(const char *s, size_t n)
{
	char *d = xrealloc(NULL, n + 1);

	memcpy(d, s, n);
	d[n] = 0;
	return d;
}

/* ---- lexical pieces ------------------------------------------------------ */

static int name_start(int c, int colon)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
}

static int name_char(int c, int colon)
{
	return name_start(c, colon) || (c >= '0' && c <= '9');
}

/* The length of the name at p (0: none). */
static size_t name_len(const char *p, int colon)
{
	size_t n = 0;

	if (!name_start((unsigned char)p[0], colon))
		return 0;
	while (name_char((unsigned char)p[n], colon))
		n++;
	return n;
}

static const char *blanks(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static int utf8_ok(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	while (p < end) {
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
		if ((size_t)(end - p) <= n)
			return 0;
		for (unsigned i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return 0;
		p += n + 1;
	}
	return 1;
}

/* A float as Prometheus writes it: decimal with an optional exponent, or
 * +Inf, -Inf, Inf, NaN. Hex floats and C's "inf"/"nan" spellings are not
 * Prometheus. Returns the length, 0 for none. */
static size_t float_len(const char *p, double *v)
{
	static const struct {
		const char *s;
		double v;
	} special[] = { { "+Inf", INFINITY }, { "-Inf", -INFINITY }, { "Inf", INFINITY }, { "NaN", NAN } };
	size_t n = 0, digits = 0;

	for (size_t i = 0; i < 4; i++) {
		size_t l = strlen(special[i].s);

		if (!strncmp(p, special[i].s, l)) {
			*v = special[i].v;
			return l;
		}
	}
	if (p[n] == '+' || p[n] == '-')
		n++;
	while (isdigit((unsigned char)p[n]))
		n++, digits++;
	if (p[n] == '.')
		for (n++; isdigit((unsigned char)p[n]); n++)
			digits++;
	if (!digits)
		return 0;
	if (p[n] == 'e' || p[n] == 'E') {
		size_t e = n + 1;

		if (p[e] == '+' || p[e] == '-')
			e++;
		if (!isdigit((unsigned char)p[e]))
			return 0;
		while (isdigit((unsigned char)p[e]))
			e++;
		n = e;
	}
	*v = strtod(p, NULL);
	return n;
}

/* ---- families ------------------------------------------------------------ */

static struct family *family_get(const char *name, size_t len)
{
	for (size_t i = 0; i < nfams; i++)
		if (strlen(fams[i].name) == len && !strncmp(fams[i].name, name, len))
			return &fams[i];
	if (nfams == capfams) {
		capfams = capfams ? capfams * 2 : 64;
		fams = xrealloc(fams, capfams * sizeof(*fams));
		cur = NULL; /* moved; found again below by the caller */
	}
	memset(&fams[nfams], 0, sizeof(fams[nfams]));
	fams[nfams].name = xstrndup(name, len);
	return &fams[nfams++];
}

static struct family *family_find(const char *name, size_t len)
{
	for (size_t i = 0; i < nfams; i++)
		if (strlen(fams[i].name) == len && !strncmp(fams[i].name, name, len))
			return &fams[i];
	return NULL;
}

static void groups_check(const struct family *f)
{
	for (size_t i = 0; i < ngroups; i++) {
		struct group *g = &groups[i];

		if (f->type == T_HISTOGRAM) {
			if (!g->inf)
				fail_at(g->line, "histogram %s: no le=\"+Inf\" bucket", f->name);
			if (!g->count)
				fail_at(g->line, "histogram %s: no %s_count", f->name, f->name);
			if (!g->sum)
				fail_at(g->line, "histogram %s: no %s_sum", f->name, f->name);
			if (g->inf_value != g->count_value)
				fail_at(g->line, "histogram %s: the +Inf bucket (%g) is not _count (%g)",
					f->name, g->inf_value, g->count_value);
		} else {
			if (!g->count)
				fail_at(g->line, "summary %s: no %s_count", f->name, f->name);
			if (!g->sum)
				fail_at(g->line, "summary %s: no %s_sum", f->name, f->name);
		}
	}
	for (size_t i = 0; i < ngroups; i++)
		free(groups[i].key);
	ngroups = 0;
}

/* Every line belongs to a family: a change closes the previous one, and
 * a closed family may not come back. */
static struct family *enter(const char *name, size_t len)
{
	size_t at = cur ? (size_t)(cur - fams) : SIZE_MAX;
	struct family *f = family_get(name, len);

	if (at != SIZE_MAX)
		cur = &fams[at];
	if (f == cur)
		return f;
	if (f->closed)
		fail("the lines of %s are not together (it came before line %ld)", f->name,
		     f->first ? f->first : lineno);
	if (cur) {
		groups_check(cur);
		cur->closed = 1;
	}
	cur = f;
	return f;
}

/* ---- # lines ------------------------------------------------------------- */

static void help_text(const char *p)
{
	for (; *p; p++)
		if (*p == '\\' && p[1] != '\\' && p[1] != 'n')
			fail("HELP: bad escape \\%c (only \\\\ and \\n)", p[1] ? p[1] : ' ');
		else if (*p == '\\')
			p++;
}

static void comment(const char *p)
{
	int help = !strncmp(p, "# HELP", 6), type = !strncmp(p, "# TYPE", 6);
	struct family *f;
	size_t n;

	if ((!help && !type) || (p[6] != ' ' && p[6] != '\t'))
		return; /* a plain comment */
	p = blanks(p + 6);
	if (!(n = name_len(p, 1)))
		fail("%s: a metric name is expected", help ? "HELP" : "TYPE");
	if (p[n] && p[n] != ' ' && p[n] != '\t')
		fail("%s: bad metric name", help ? "HELP" : "TYPE");
	f = enter(p, n);
	p += n;
	if (help) {
		if (f->help++)
			fail("a second HELP for %s", f->name);
		if (*p)
			help_text(p + 1);
		return;
	}
	if (f->typed++)
		fail("a second TYPE for %s", f->name);
	if (f->first)
		fail("TYPE of %s after its samples (line %ld)", f->name, f->first);
	p = blanks(p);
	for (int t = 0; t <= T_SUMMARY; t++) {
		size_t l = strlen(type_name[t]);

		if (!strncmp(p, type_name[t], l) && !*blanks(p + l)) {
			f->type = (enum type)t;
			return;
		}
	}
	fail("TYPE of %s: unknown type \"%s\"", f->name, p);
}

/* ---- samples ------------------------------------------------------------- */

struct label {
	char *name, *value;
};

/* Parses {a="x",...} at p; returns the end. Values come back unescaped. */
static const char *parse_labels(const char *p, struct label *l, size_t *nl)
{
	*nl = 0;
	p = blanks(p + 1);
	while (*p != '}') {
		size_t n = name_len(p, 0);
		char *v;
		size_t vl = 0;
		const char *q;

		if (!n)
			fail("a label name is expected at \"%.20s\"", p);
		if (!strncmp(p, "__", 2))
			fail("label name %.*s: names starting with __ are reserved", (int)n, p);
		if (*nl == MAX_LABELS)
			fail("more than %d labels", MAX_LABELS);
		for (size_t i = 0; i < *nl; i++)
			if (strlen(l[i].name) == n && !strncmp(l[i].name, p, n))
				fail("label %.*s twice", (int)n, p);
		l[*nl].name = xstrndup(p, n);
		p = blanks(p + n);
		if (*p != '=')
			fail("'=' is expected after label %s", l[*nl].name);
		p = blanks(p + 1);
		if (*p != '"')
			fail("a quoted value is expected for label %s", l[*nl].name);
		for (q = p + 1; *q && *q != '"'; q++)
			if (*q == '\\' && q[1])
				q++;
		if (!*q)
			fail("label %s: unterminated value", l[*nl].name);
		v = xrealloc(NULL, (size_t)(q - p));
		for (p++; p < q; p++) {
			if (*p != '\\') {
				v[vl++] = *p;
				continue;
			}
			p++;
			if (*p == 'n')
				v[vl++] = '\n';
			else if (*p == '\\' || *p == '"')
				v[vl++] = *p;
			else
				fail("label %s: bad escape \\%c (only \\\\, \\\" and \\n)", l[*nl].name, *p);
		}
		v[vl] = 0;
		if (!utf8_ok(v, vl))
			fail("label %s: the value is not UTF-8", l[*nl].name);
		l[(*nl)++].value = v;
		p = blanks(q + 1);
		if (*p == ',')
			p = blanks(p + 1);
		else if (*p != '}')
			fail("',' or '}' is expected after label %s", l[*nl - 1].name);
	}
	return p + 1;
}

static int label_cmp(const void *a, const void *b)
{
	return strcmp(((const struct label *)a)->name, ((const struct label *)b)->name);
}

/* The labels, sorted, as one string; `skip` (le, quantile) left out. */
static char *labels_key(const char *name, struct label *l, size_t nl, const char *skip)
{
	size_t len = strlen(name) + 2, at;
	char *k;

	qsort(l, nl, sizeof(*l), label_cmp);
	for (size_t i = 0; i < nl; i++)
		len += strlen(l[i].name) + strlen(l[i].value) + 2;
	k = xrealloc(NULL, len);
	at = (size_t)sprintf(k, "%s", name);
	for (size_t i = 0; i < nl; i++) {
		if (skip && !strcmp(l[i].name, skip))
			continue;
		at += (size_t)sprintf(k + at, "\x01%s\x02%s", l[i].name, l[i].value);
	}
	return k;
}

static const char *label_value(const struct label *l, size_t nl, const char *name)
{
	for (size_t i = 0; i < nl; i++)
		if (!strcmp(l[i].name, name))
			return l[i].value;
	return NULL;
}

static struct group *group_of(char *key)
{
	for (size_t i = 0; i < ngroups; i++)
		if (!strcmp(groups[i].key, key)) {
			free(key);
			return &groups[i];
		}
	if (ngroups == capgroups) {
		capgroups = capgroups ? capgroups * 2 : 16;
		groups = xrealloc(groups, capgroups * sizeof(*groups));
	}
	memset(&groups[ngroups], 0, sizeof(groups[ngroups]));
	groups[ngroups].key = key;
	groups[ngroups].line = lineno;
	return &groups[ngroups++];
}

static double le_value(const char *le)
{
	double v;
	size_t n = le ? float_len(le, &v) : 0;

	if (!n || le[n] || isnan(v))
		fail("le=\"%s\" is not a bucket bound", le ? le : "");
	return v;
}

static void histogram_sample(struct family *f, const char *suffix, struct label *l, size_t nl, double v)
{
	const char *le = label_value(l, nl, "le");
	struct group *g;

	if (!*suffix)
		fail("histogram %s: a sample needs a _bucket, _sum or _count suffix", f->name);
	if (strcmp(suffix, "_bucket") && le)
		fail("histogram %s: le on %s%s", f->name, f->name, suffix);
	g = group_of(labels_key("", l, nl, "le"));
	if (!strcmp(suffix, "_bucket")) {
		double b;

		if (!le)
			fail("histogram %s: a bucket without le", f->name);
		b = le_value(le);
		if (g->inf)
			fail("histogram %s: a bucket after le=\"+Inf\"", f->name);
		if (g->nb && b <= g->last_le)
			fail("histogram %s: le=\"%s\" is not above the previous bucket's", f->name, le);
		if (isnan(v) || v < 0 || (g->nb && v < g->last_bucket))
			fail("histogram %s: bucket le=\"%s\" holds %g, less than the bucket before", f->name, le, v);
		g->nb++;
		g->last_le = b;
		g->last_bucket = v;
		if (isinf(b) && b > 0) {
			g->inf = 1;
			g->inf_value = v;
		}
	} else if (!strcmp(suffix, "_count")) {
		if (g->count++)
			fail("histogram %s: _count twice", f->name);
		g->count_value = v;
	} else if (g->sum++) {
		fail("histogram %s: _sum twice", f->name);
	}
}

static void summary_sample(struct family *f, const char *suffix, struct label *l, size_t nl)
{
	const char *q = label_value(l, nl, "quantile");
	struct group *g = group_of(labels_key("", l, nl, "quantile"));

	if (!*suffix) {
		double v;
		size_t n = q ? float_len(q, &v) : 0;

		if (!n || q[n] || !(v >= 0 && v <= 1))
			fail("summary %s: quantile=\"%s\" is not in [0, 1]", f->name, q ? q : "");
	} else if (q) {
		fail("summary %s: quantile on %s%s", f->name, f->name, suffix);
	} else if (!strcmp(suffix, "_count") ? g->count++ : g->sum++) {
		fail("summary %s: %s twice", f->name, suffix);
	}
}

/* The family a sample name belongs to: x_bucket to histogram x, and so
 * on; `suffix` gets what follows the family's name. */
static struct family *family_of(const char *name, size_t len, const char **suffix)
{
	static const char *const sfx[] = { "_bucket", "_sum", "_count" };

	for (size_t i = 0; i < 3; i++) {
		size_t sl = strlen(sfx[i]);
		struct family *f;

		if (len <= sl || strncmp(name + len - sl, sfx[i], sl))
			continue;
		f = family_find(name, len - sl);
		if (f && (f->type == T_HISTOGRAM || (f->type == T_SUMMARY && i > 0))) {
			*suffix = sfx[i];
			return enter(name, len - sl);
		}
	}
	*suffix = "";
	return enter(name, len);
}

static void sample(const char *p)
{
	struct label l[MAX_LABELS];
	size_t n = name_len(p, 1), nl = 0;
	const char *suffix;
	struct family *f;
	double v;
	char *name;

	if (!n)
		fail("a metric name is expected at \"%.20s\"", p);
	name = xstrndup(p, n);
	f = family_of(p, n, &suffix);
	p += n;
	if (*p == '{')
		p = parse_labels(p, l, &nl);
	if (*p != ' ' && *p != '\t')
		fail("a blank and a value are expected after %s%s", name, nl ? "{...}" : "");
	p = blanks(p);
	if (!(n = float_len(p, &v)) || (p[n] && p[n] != ' ' && p[n] != '\t'))
		fail("\"%.*s\" is not a float value", (int)strcspn(p, " \t"), p);
	p = blanks(p + n);
	if (*p) { /* a timestamp: milliseconds, an integer */
		size_t t = *p == '-' ? 1 : 0;

		if (!isdigit((unsigned char)p[t]))
			fail("\"%s\" is not a timestamp", p);
		while (isdigit((unsigned char)p[t]))
			t++;
		if (t > 19 || *blanks(p + t))
			fail("\"%s\" is not a timestamp (or text follows it)", p);
	}
	if (!f->first)
		f->first = lineno;
	if (f->type == T_COUNTER && (isnan(v) || v < 0))
		fail("counter %s is negative", name);
	if (f->type == T_COUNTER && (n = strlen(name)) > 0 && (n < 6 || strcmp(name + n - 6, "_total")))
		fprintf(stderr, "line %ld: warning: counter %s does not end in _total\n", lineno, name);
	if (f->type == T_HISTOGRAM)
		histogram_sample(f, suffix, l, nl, v);
	else if (f->type == T_SUMMARY)
		summary_sample(f, suffix, l, nl);
	if (nkeys == capkeys) {
		capkeys = capkeys ? capkeys * 2 : 256;
		keys = xrealloc(keys, capkeys * sizeof(*keys));
	}
	keys[nkeys].key = labels_key(name, l, nl, NULL);
	keys[nkeys++].line = lineno;
	for (size_t i = 0; i < nl; i++) {
		free(l[i].name);
		free(l[i].value);
	}
	free(name);
}

static int key_cmp(const void *a, const void *b)
{
	const struct sample_key *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : (x->line > y->line) - (x->line < y->line);
}

static void duplicates(void)
{
	if (nkeys < 2)
		return;
	qsort(keys, nkeys, sizeof(*keys), key_cmp);
	for (size_t i = 1; i < nkeys; i++)
		if (!strcmp(keys[i].key, keys[i - 1].key))
			fail_at(keys[i].line, "the same series as line %ld", keys[i - 1].line);
}

/* ---- the text ------------------------------------------------------------ */

static char *slurp(FILE *f, size_t *len)
{
	size_t cap = 65536, n = 0, r;
	char *buf = xrealloc(NULL, cap + 1);

	while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap) {
			if (cap >= MAX_INPUT) {
				fprintf(stderr, "prom_check: input larger than %u bytes\n", MAX_INPUT);
				exit(2);
			}
			cap *= 2;
			buf = xrealloc(buf, cap + 1);
		}
	}
	if (ferror(f)) {
		perror("prom_check");
		exit(2);
	}
	buf[n] = 0;
	*len = n;
	return buf;
}

int main(int argc, char **argv)
{
	FILE *in = stdin;
	size_t len;
	char *text, *p, *end;

	if (argc > 2 || (argc == 2 && !strcmp(argv[1], "--help"))) {
		fprintf(stderr, "usage: prom_check [FILE]\n");
		return 2;
	}
	if (argc == 2 && strcmp(argv[1], "-") && !(in = fopen(argv[1], "r"))) {
		fprintf(stderr, "prom_check: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	text = slurp(in, &len);
	if (in != stdin)
		fclose(in);
	if (memchr(text, 0, len))
		fail_at((long)1, "a NUL byte in the text");
	for (p = text; p < text + len; p = end + 1) {
		lineno++;
		if (!(end = strchr(p, '\n')))
			fail("the text does not end with a newline");
		*end = 0;
		if (strchr(p, '\r'))
			fail("a carriage return (lines end with \\n alone)");
		if (!utf8_ok(p, (size_t)(end - p)))
			fail("the line is not UTF-8");
		if (!*blanks(p))
			continue; /* empty lines are allowed */
		if (*p == '#')
			comment(p);
		else if (*p == ' ' || *p == '\t')
			fail("a line starts with a blank");
		else
			sample(p);
	}
	lineno++;
	if (cur)
		groups_check(cur);
	duplicates();
	for (size_t i = 0; i < nkeys; i++)
		free(keys[i].key);
	for (size_t i = 0; i < nfams; i++)
		free(fams[i].name);
	free(keys);
	free(fams);
	free(groups);
	free(text);
	return 0;
}
