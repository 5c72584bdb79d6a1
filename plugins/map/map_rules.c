/* Rule engine of the `map` transform (see map_rules.h for the semantics).
 *
 * Everything textual is compiled in map_rules_add(): field names and source
 * paths become hlb_path handles, literals become prototype JSON values and
 * templates become segment lists. map_rules_apply() then only walks paths
 * and allocates the JSON values it stores in the body. */
#include "map_rules.h"

#include <ctype.h>
#include <limits.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#define MAP_BAD_VALUE "expected a $.path, a \"quoted string\", a number, true, false or null"

/* Templates shorter than this are built on the stack. */
#define MAP_BUF_STACK 256

enum map_kind {
	MAP_SET_PATH,
	MAP_SET_LITERAL,
	MAP_SET_TEMPLATE,
	MAP_RENAME
};

/* One piece of a template: literal text, or a path to substitute. */
struct map_seg {
	size_t off, len; /* literal text, in the rule's `text` */
	hlb_path *path;  /* a substitution when not NULL */
};

struct map_rule {
	enum map_kind kind;
	hlb_path *target;            /* set: the field set; rename: the new name */
	hlb_path *source;            /* set from a path; rename: the old name */
	struct json_object *literal; /* MAP_SET_LITERAL prototype; NULL is null */
	struct map_seg *segs;        /* MAP_SET_TEMPLATE */
	size_t nsegs;
	char *text;                  /* literal text of the template segments */
};

struct map_rules {
	const hlb_host *host;
	int missing;
	struct map_rule *rules;
	size_t nrules, rules_cap;
	hlb_path **drops;
	size_t ndrops, drops_cap;
};

/* A growable byte buffer that starts on the stack. */
struct map_buf {
	char *p;
	size_t len, cap;
	char small[MAP_BUF_STACK];
};

static int map_err(char *err, size_t errlen, const char *fmt, ...) HLB_PRINTF(3, 4);

static int map_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return HLB_EINVAL;
}

int map_missing_parse(const char *text)
{
	if (!text)
		return -1;
	if (strcmp(text, "skip") == 0)
		return MAP_MISSING_SKIP;
	if (strcmp(text, "null") == 0)
		return MAP_MISSING_NULL;
	if (strcmp(text, "fail") == 0)
		return MAP_MISSING_FAIL;
	return -1;
}

map_rules *map_rules_new(const hlb_host *host, int missing_mode)
{
	map_rules *m;

	if (!host || missing_mode < MAP_MISSING_SKIP || missing_mode > MAP_MISSING_FAIL)
		return NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->host = host;
	m->missing = missing_mode;
	return m;
}

size_t map_rules_count(const map_rules *m)
{
	return m ? m->nrules + m->ndrops : 0;
}

static void map_rule_clear(const hlb_host *host, struct map_rule *r)
{
	host->path_free(r->target);
	host->path_free(r->source);
	json_object_put(r->literal);
	for (size_t i = 0; i < r->nsegs; i++)
		host->path_free(r->segs[i].path);
	free(r->segs);
	free(r->text);
	memset(r, 0, sizeof(*r));
}

void map_rules_free(map_rules *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nrules; i++)
		map_rule_clear(m->host, &m->rules[i]);
	for (size_t i = 0; i < m->ndrops; i++)
		m->host->path_free(m->drops[i]);
	free(m->rules);
	free(m->drops);
	free(m);
}

/* Grows an array of `size`-byte items so it can take one more. */
static int map_grow(void **items, size_t *cap, size_t count, size_t size)
{
	size_t ncap;
	void *p;

	if (count < *cap)
		return HLB_OK;
	ncap = *cap ? *cap * 2 : 4;
	p = realloc(*items, ncap * size);
	if (!p)
		return HLB_ENOMEM;
	*items = p;
	*cap = ncap;
	return HLB_OK;
}

/* Copies s[0..n) without surrounding white space into a new string. */
static char *map_trimdup(const char *s, size_t n)
{
	while (n && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return strndup(s, n);
}

/* Characters that may stay bare in a ".name" path segment; anything else is
 * written as ["name"] so field names never collide with path syntax. */
static int map_plain_char(unsigned char c)
{
	return isalnum(c) || c == '_' || c == '-';
}

/* Compiles a dotted field name ("a.b.c") into the path $.a.b.c. `what` names
 * the name's role in messages. */
static int map_name_path(const map_rules *m, const char *name, const char *what,
			 hlb_path **out, char *err, size_t errlen)
{
	size_t n = strlen(name), len = 0;
	char *text, cerr[256];
	const char *seg = name;

	*out = NULL;
	if (n == 0)
		return map_err(err, errlen, "missing %s", what);
	for (const char *p = name;; p++) {
		if (*p == '.' || *p == 0) {
			if (p == seg)
				return map_err(err, errlen, "empty field name in \"%s\"", name);
			seg = p + 1;
		} else if (*p == '[' || *p == ']') {
			return map_err(err, errlen, "\"%s\" is not a dotted field name (a.b.c); "
				       "[ and ] are not allowed", name);
		}
		if (*p == 0)
			break;
	}
	/* "$", and per character at most a backslash escape, plus ["" ] and
	 * a NUL: 1 + 2n + 4 * (number of segments <= n) + 1. */
	text = malloc(6 * n + 2);
	if (!text)
		return HLB_ENOMEM;
	text[len++] = '$';
	seg = name;
	while (*seg) {
		size_t sl = strcspn(seg, ".");
		int plain = 1;

		for (size_t i = 0; i < sl; i++)
			plain = plain && map_plain_char((unsigned char)seg[i]);
		if (plain) {
			text[len++] = '.';
			memcpy(text + len, seg, sl);
			len += sl;
		} else {
			text[len++] = '[';
			text[len++] = '"';
			for (size_t i = 0; i < sl; i++) {
				if (seg[i] == '"' || seg[i] == '\\')
					text[len++] = '\\';
				text[len++] = seg[i];
			}
			text[len++] = '"';
			text[len++] = ']';
		}
		seg += sl;
		if (*seg == '.')
			seg++;
	}
	text[len] = 0;
	*out = m->host->path_compile(text, cerr, sizeof(cerr));
	free(text);
	if (!*out)
		return map_err(err, errlen, "%s", cerr);
	return HLB_OK;
}

static int map_compile_source(const map_rules *m, const char *text, hlb_path **out,
			      char *err, size_t errlen)
{
	char cerr[256];

	*out = m->host->path_compile(text, cerr, sizeof(cerr));
	if (!*out)
		return map_err(err, errlen, "%s", cerr);
	return HLB_OK;
}

static int map_add_seg(struct map_rule *r, size_t *cap, size_t off, size_t len, hlb_path *path)
{
	if (map_grow((void **)&r->segs, cap, r->nsegs, sizeof(*r->segs)) != HLB_OK)
		return HLB_ENOMEM;
	r->segs[r->nsegs].off = off;
	r->segs[r->nsegs].len = len;
	r->segs[r->nsegs].path = path;
	r->nsegs++;
	return HLB_OK;
}

/* Finds "}}" in s[0..n); NULL if absent. */
static const char *map_find_close(const char *s, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++)
		if (s[i] == '}' && s[i + 1] == '}')
			return s + i;
	return NULL;
}

/* Compiles the {{ ... }} at s (just past "{{", n bytes to the end of the
 * value) into a path, and reports through *used how much it consumed. The
 * path text is taken as is, so it may hold quotes: {{$["a b"]}}. */
static int map_parse_subst(const map_rules *m, const char *s, size_t n, size_t *used,
			   hlb_path **path, char *err, size_t errlen)
{
	const char *close = map_find_close(s, n);
	char *text;
	int rc;

	*path = NULL;
	*used = 0;
	if (!close)
		return map_err(err, errlen, "unterminated {{ (expected {{$.path}})");
	text = map_trimdup(s, (size_t)(close - s));
	if (!text)
		return HLB_ENOMEM;
	if (text[0] != '$')
		rc = map_err(err, errlen, "expected a $.path inside {{ }}, not \"%s\"", text);
	else
		rc = map_compile_source(m, text, path, err, errlen);
	free(text);
	*used = (size_t)(close - s) + 2;
	return rc;
}

/* Parses a value that starts with a double quote: a string literal, or a
 * template when it contains {{$.path}}. Escapes: \" \\ and \{ (a brace that
 * does not open a substitution, so "\{{" is a literal "{{"). */
static int map_parse_quoted(const map_rules *m, struct map_rule *r, const char *s, size_t n,
			    char *err, size_t errlen)
{
	size_t i = 1, len = 0, start = 0, cap = 0;
	char *text = malloc(n);
	int rc = HLB_OK;

	if (!text)
		return HLB_ENOMEM;
	for (;;) {
		char c;

		if (i >= n) {
			rc = map_err(err, errlen, "missing closing quote in %s", s);
			goto fail;
		}
		c = s[i];
		if (c == '"')
			break;
		if (c == '\\') {
			char e = i + 1 < n ? s[i + 1] : 0;

			if (e != '"' && e != '\\' && e != '{') {
				rc = e ? map_err(err, errlen, "unknown escape \\%c (use \\\", \\\\ or \\{)", e)
				       : map_err(err, errlen, "missing closing quote in %s", s);
				goto fail;
			}
			text[len++] = e;
			i += 2;
		} else if (c == '{' && i + 1 < n && s[i + 1] == '{') {
			hlb_path *path;
			size_t used;

			rc = map_parse_subst(m, s + i + 2, n - i - 2, &used, &path, err, errlen);
			if (rc != HLB_OK)
				goto fail;
			if ((len > start && (rc = map_add_seg(r, &cap, start, len - start, NULL)) != HLB_OK) ||
			    (rc = map_add_seg(r, &cap, 0, 0, path)) != HLB_OK) {
				m->host->path_free(path);
				goto fail;
			}
			start = len;
			i += 2 + used;
		} else {
			text[len++] = c;
			i++;
		}
	}
	if (i + 1 != n) {
		const char *rest = s + i + 1;

		while (isspace((unsigned char)*rest))
			rest++;
		rc = map_err(err, errlen, "unexpected text after the closing quote: %s", rest);
		goto fail;
	}
	if (r->nsegs == 0) {
		r->kind = MAP_SET_LITERAL;
		r->literal = json_object_new_string_len(text, (int)len);
		free(text);
		return r->literal ? HLB_OK : HLB_ENOMEM;
	}
	if (len > start && (rc = map_add_seg(r, &cap, start, len - start, NULL)) != HLB_OK)
		goto fail;
	r->kind = MAP_SET_TEMPLATE;
	r->text = text;
	return HLB_OK;
fail:
	free(text);
	return rc;
}

/* Classifies s as a JSON number: 0 when it is not one, 1 for an integer,
 * 2 when it has a fraction or an exponent. */
static int map_number_kind(const char *s)
{
	int frac = 0;

	if (*s == '-')
		s++;
	if (!isdigit((unsigned char)*s))
		return 0;
	if (*s == '0')
		s++;
	else
		while (isdigit((unsigned char)*s))
			s++;
	if (*s == '.') {
		s++;
		if (!isdigit((unsigned char)*s))
			return 0;
		while (isdigit((unsigned char)*s))
			s++;
		frac = 1;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!isdigit((unsigned char)*s))
			return 0;
		while (isdigit((unsigned char)*s))
			s++;
		frac = 1;
	}
	return *s ? 0 : 1 + frac;
}

static int map_parse_number(struct map_rule *r, const char *v, int kind, char *err, size_t errlen)
{
	errno = 0;
	if (kind == 1) {
		long long i = strtoll(v, NULL, 10);

		if (errno == ERANGE)
			return map_err(err, errlen, "number out of range: %s", v);
		r->literal = json_object_new_int64(i);
	} else {
		double d = strtod(v, NULL);

		if (errno == ERANGE && (d > 1.0 || d < -1.0))
			return map_err(err, errlen, "number out of range: %s", v);
		/* Keep the text as written: 0.1 would otherwise print as
		 * 0.10000000000000001. */
		r->literal = json_object_new_double_s(d, v);
	}
	return r->literal ? HLB_OK : HLB_ENOMEM;
}

static int map_parse_set_value(const map_rules *m, struct map_rule *r, const char *v,
			       char *err, size_t errlen)
{
	int kind;

	if (v[0] == '$') {
		r->kind = MAP_SET_PATH;
		return map_compile_source(m, v, &r->source, err, errlen);
	}
	if (v[0] == '"')
		return map_parse_quoted(m, r, v, strlen(v), err, errlen);
	r->kind = MAP_SET_LITERAL;
	if (strcmp(v, "null") == 0)
		return HLB_OK;
	if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0) {
		r->literal = json_object_new_boolean(v[0] == 't');
		return r->literal ? HLB_OK : HLB_ENOMEM;
	}
	kind = map_number_kind(v);
	if (kind)
		return map_parse_number(r, v, kind, err, errlen);
	if (v[0] == '\'')
		return map_err(err, errlen, "%s (strings take double quotes)", MAP_BAD_VALUE);
	return map_err(err, errlen, "%s", MAP_BAD_VALUE);
}

static int map_add_rule(map_rules *m, struct map_rule *r)
{
	if (map_grow((void **)&m->rules, &m->rules_cap, m->nrules, sizeof(*m->rules)) != HLB_OK)
		return HLB_ENOMEM;
	m->rules[m->nrules++] = *r;
	return HLB_OK;
}

/* Compiles a comma-separated list of dotted names; all or nothing. */
static int map_add_drops(map_rules *m, const char *value, char *err, size_t errlen)
{
	size_t first = m->ndrops;
	const char *p = value;
	int rc = HLB_OK;

	for (;;) {
		size_t n = strcspn(p, ",");
		char *name = map_trimdup(p, n);
		hlb_path *path;

		if (!name) {
			rc = HLB_ENOMEM;
			break;
		}
		if (!name[0])
			rc = map_err(err, errlen, "empty entry in the drop list");
		else
			rc = map_name_path(m, name, "field name", &path, err, errlen);
		free(name);
		if (rc == HLB_OK) {
			rc = map_grow((void **)&m->drops, &m->drops_cap, m->ndrops, sizeof(*m->drops));
			if (rc == HLB_OK)
				m->drops[m->ndrops++] = path;
			else
				m->host->path_free(path);
		}
		if (rc != HLB_OK || p[n] == 0)
			break;
		p += n + 1;
	}
	if (rc != HLB_OK) {
		while (m->ndrops > first)
			m->host->path_free(m->drops[--m->ndrops]);
	}
	return rc;
}

int map_rules_add(map_rules *m, const char *key, const char *value, char *err, size_t errlen)
{
	struct map_rule r = { 0 };
	char *v;
	int rc;

	if (err && errlen)
		err[0] = 0;
	if (!m || !key)
		return map_err(err, errlen, "no rule");
	if (!value)
		value = "";
	if (strcmp(key, "drop") == 0)
		return map_add_drops(m, value, err, errlen);
	v = map_trimdup(value, strlen(value));
	if (!v)
		return HLB_ENOMEM;
	if (strncmp(key, "set.", 4) == 0) {
		rc = map_name_path(m, key + 4, "field name after \"set.\"", &r.target, err, errlen);
		if (rc == HLB_OK)
			rc = map_parse_set_value(m, &r, v, err, errlen);
	} else if (strncmp(key, "rename.", 7) == 0) {
		r.kind = MAP_RENAME;
		rc = map_name_path(m, key + 7, "field name after \"rename.\"", &r.source, err, errlen);
		if (rc == HLB_OK)
			rc = map_name_path(m, v, "new field name (rename.OLD = NEW)", &r.target,
					   err, errlen);
	} else {
		rc = map_err(err, errlen, "unknown rule \"%s\" (expected set.FIELD, rename.FIELD or drop)",
			     key);
	}
	free(v);
	if (rc == HLB_OK)
		rc = map_add_rule(m, &r);
	if (rc != HLB_OK) {
		if (rc == HLB_ENOMEM)
			map_err(err, errlen, "out of memory");
		map_rule_clear(m->host, &r);
	}
	return rc;
}

/* Stores value (owned) at target; a target blocked by a non-object on the
 * way (set.a.b with a string in a) is the record's fault: HLB_EINVAL. */
static int map_put(const map_rules *m, const hlb_path *target, struct json_object *body,
		   struct json_object *value)
{
	int rc = m->host->path_set(target, body, value);

	return rc == HLB_OK || rc == HLB_ENOMEM ? rc : HLB_EINVAL;
}

static int map_unresolved(const map_rules *m, const struct map_rule *r, struct json_object *body)
{
	switch (m->missing) {
	case MAP_MISSING_NULL:
		return map_put(m, r->target, body, NULL);
	case MAP_MISSING_FAIL:
		return HLB_ENOENT;
	default:
		return HLB_OK;
	}
}

static int map_put_copy(const map_rules *m, const hlb_path *target, struct json_object *body,
			struct json_object *src)
{
	struct json_object *copy = NULL;

	if (!src)
		return map_put(m, target, body, NULL);
	if (json_object_deep_copy(src, &copy, NULL) != 0)
		return HLB_ENOMEM;
	return map_put(m, target, body, copy);
}

static int map_buf_add(struct map_buf *b, const char *s, size_t n)
{
	if (b->cap - b->len < n) {
		size_t ncap = b->cap;
		char *p;

		while (ncap - b->len < n)
			ncap *= 2;
		p = b->p == b->small ? malloc(ncap) : realloc(b->p, ncap);
		if (!p)
			return HLB_ENOMEM;
		if (b->p == b->small)
			memcpy(p, b->small, b->len);
		b->p = p;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	return HLB_OK;
}

/* Appends a substituted value: strings raw, everything else as compact JSON
 * (a JSON null, v == NULL, prints as null). */
static int map_buf_value(struct map_buf *b, struct json_object *v)
{
	size_t n;
	const char *s;

	if (json_object_is_type(v, json_type_string))
		return map_buf_add(b, json_object_get_string(v), (size_t)json_object_get_string_len(v));
	s = json_object_to_json_string_length(v, JSON_C_TO_STRING_PLAIN, &n);
	return s ? map_buf_add(b, s, n) : HLB_ENOMEM;
}

static int map_apply_template(const map_rules *m, const struct map_rule *r, struct json_object *body)
{
	struct map_buf b;
	struct json_object *value;
	int rc = HLB_OK;

	b.p = b.small;
	b.len = 0;
	b.cap = sizeof(b.small);
	for (size_t i = 0; i < r->nsegs && rc == HLB_OK; i++) {
		const struct map_seg *seg = &r->segs[i];
		struct json_object *v;

		if (!seg->path) {
			rc = map_buf_add(&b, r->text + seg->off, seg->len);
			continue;
		}
		if (!m->host->path_lookup(seg->path, body, &v)) {
			if (b.p != b.small)
				free(b.p);
			return map_unresolved(m, r, body);
		}
		rc = map_buf_value(&b, v);
	}
	if (rc == HLB_OK && b.len > INT_MAX)
		rc = HLB_ETOOBIG;
	value = rc == HLB_OK ? json_object_new_string_len(b.p, (int)b.len) : NULL;
	if (b.p != b.small)
		free(b.p);
	if (rc != HLB_OK)
		return rc;
	return value ? map_put(m, r->target, body, value) : HLB_ENOMEM;
}

static int map_apply_rename(const map_rules *m, const struct map_rule *r, struct json_object *body)
{
	struct json_object *v;

	if (!m->host->path_lookup(r->source, body, &v))
		return map_unresolved(m, r, body);
	/* Our reference keeps the value alive across the removal and is then
	 * handed to path_set: the value moves, nothing is copied. A null is
	 * v == NULL, which json_object_get() and path_set() take as is. */
	json_object_get(v);
	m->host->path_remove(r->source, body);
	return map_put(m, r->target, body, v);
}

static int map_apply_rule(const map_rules *m, const struct map_rule *r, struct json_object *body)
{
	struct json_object *v;

	switch (r->kind) {
	case MAP_SET_PATH:
		/* A deep copy, not a shared reference: a shared subtree would
		 * see later rules (set.b.x after set.b = $.a changes a too) and
		 * set.a.self = $.a would make a cycle. A source holding null
		 * resolves, and map_put_copy() stores the null. */
		if (!m->host->path_lookup(r->source, body, &v))
			return map_unresolved(m, r, body);
		return map_put_copy(m, r->target, body, v);
	case MAP_SET_LITERAL:
		/* A fresh copy per record, as the body may be changed downstream. */
		return map_put_copy(m, r->target, body, r->literal);
	case MAP_SET_TEMPLATE:
		return map_apply_template(m, r, body);
	case MAP_RENAME:
		return map_apply_rename(m, r, body);
	}
	return HLB_EINVAL;
}

int map_rules_apply(const map_rules *m, struct json_object *body)
{
	if (!json_object_is_type(body, json_type_object))
		return HLB_EPARSE;
	for (size_t i = 0; i < m->nrules; i++) {
		int rc = map_apply_rule(m, &m->rules[i], body);

		if (rc != HLB_OK)
			return rc;
	}
	/* A field that is not there is already dropped. */
	for (size_t i = 0; i < m->ndrops; i++)
		m->host->path_remove(m->drops[i], body);
	return HLB_OK;
}
