/* Reads the INI file with inih. inih is fed through our own line reader so
 * that every line's number is known, over-long lines (which inih would cut
 * silently) and malformed lines are reported, and all errors of a file are
 * collected instead of only the first. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[HC_KIND_COUNT] = {
	"service", "source", "transform", "sink", "route", "auth"
};

const char *hc_kind_name(hc_kind kind)
{
	return kind < HC_KIND_COUNT ? kind_names[kind] : "?";
}

struct reader {
	const char *p;          /* next unread byte */
	const char *file;
	unsigned line;          /* number of the line last handed to inih */
	hc_diag *diag;
	hc_config *cfg;
	hc_section *cur;        /* NULL before the first section or after a bad one */
	int bad_section;        /* keys under a rejected header are ignored */
	int prev_kv;            /* last meaningful line was key = value */
	int continuation;       /* the line handed to inih continues a value */
	size_t last;            /* 1 + index in cur of the value a continuation
				 * extends; 0 when its key was refused */
};

/* ---- expansion ---------------------------------------------------------- */

static int append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t c = (*cap ? *cap : 64);
		char *b;

		while (c < *len + n + 1)
			c *= 2;
		b = realloc(*buf, c);
		if (!b)
			return -1;
		*buf = b;
		*cap = c;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = 0;
	return 0;
}

char *hc_expand_env(const char *value, char *err, size_t errlen)
{
	char *out = NULL;
	size_t len = 0, cap = 0;
	const char *p = value;

	if (append(&out, &len, &cap, "", 0) < 0)
		goto nomem;
	while (*p) {
		if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
			if (append(&out, &len, &cap, "${", 2) < 0)
				goto nomem;
			p += 3;
			continue;
		}
		if (p[0] != '$' || p[1] != '{') {
			if (append(&out, &len, &cap, p, 1) < 0)
				goto nomem;
			p++;
			continue;
		}
		const char *name = p + 2, *q = name;
		while (isalnum((unsigned char)*q) || *q == '_')
			q++;
		if (q == name || isdigit((unsigned char)*name)) {
			snprintf(err, errlen, "bad variable reference '${' (a name is [A-Za-z_][A-Za-z0-9_]*)");
			goto fail;
		}
		size_t nlen = (size_t)(q - name);
		char vname[128];
		const char *def = NULL, *end;
		size_t deflen = 0;

		if (nlen >= sizeof(vname)) {
			snprintf(err, errlen, "variable name too long");
			goto fail;
		}
		memcpy(vname, name, nlen);
		vname[nlen] = 0;
		if (q[0] == ':' && q[1] == '-') {
			def = q + 2;
			end = strchr(def, '}');
			if (end)
				deflen = (size_t)(end - def);
		} else {
			end = (*q == '}') ? q : NULL;
		}
		if (!end) {
			snprintf(err, errlen, "unterminated '${%s' (expected ${NAME} or ${NAME:-default})", vname);
			goto fail;
		}
		const char *env = getenv(vname);
		if (env && *env) {
			if (append(&out, &len, &cap, env, strlen(env)) < 0)
				goto nomem;
		} else if (def) {
			if (append(&out, &len, &cap, def, deflen) < 0)
				goto nomem;
		} else {
			snprintf(err, errlen,
				 "environment variable %s is not set or empty (set it, or write ${%s:-default})",
				 vname, vname);
			goto fail;
		}
		p = end + 1;
	}
	return out;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	free(out);
	return NULL;
}

/* ---- sections ----------------------------------------------------------- */

static int valid_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
			return 0;
	return 1;
}

static hc_section *add_section(hc_config *cfg, hc_kind kind, const char *name, unsigned line)
{
	hc_section *s;

	if (cfg->nsec == cfg->cap) {
		size_t cap = cfg->cap ? cfg->cap * 2 : 16;
		hc_section *n = realloc(cfg->sec, cap * sizeof(*n));

		if (!n)
			return NULL;
		cfg->sec = n;
		cfg->cap = cap;
	}
	s = &cfg->sec[cfg->nsec];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->line = line;
	if (name) {
		size_t n = strlen(kind_names[kind]) + strlen(name) + 2;

		s->name = strdup(name);
		s->label = malloc(n);
		if (s->label)
			snprintf(s->label, n, "%s:%s", kind_names[kind], name);
	} else {
		s->label = strdup(kind_names[kind]);
	}
	if (!s->label || (name && !s->name)) {
		free(s->name);
		free(s->label);
		return NULL;
	}
	cfg->nsec++;
	return s;
}

static int is_instance(hc_kind k)
{
	return k == HC_SOURCE || k == HC_TRANSFORM || k == HC_SINK;
}

/* Handles a "[...]" line; `text` starts at '['. */
static void section_header(struct reader *r, const char *text)
{
	const char *close = strchr(text, ']');
	char inner[256], *colon;
	size_t n;
	int k;

	r->cur = NULL;
	r->last = 0;
	r->bad_section = 1;
	if (!close) {
		hc_diag_error(r->diag, r->file, r->line, "section header without ']'");
		return;
	}
	for (const char *t = close + 1; *t; t++)
		if (!isspace((unsigned char)*t)) {
			if (*t == ';' || *t == '#')
				break;
			hc_diag_error(r->diag, r->file, r->line, "unexpected text after the section header");
			return;
		}
	n = (size_t)(close - text - 1);
	if (n >= sizeof(inner))
		n = sizeof(inner) - 1;
	memcpy(inner, text + 1, n);
	inner[n] = 0;
	colon = strchr(inner, ':');
	if (colon)
		*colon = 0;
	for (k = 0; k < HC_KIND_COUNT; k++)
		if (strcmp(inner, kind_names[k]) == 0)
			break;
	if (k == HC_KIND_COUNT) {
		hc_diag_error(r->diag, r->file, r->line,
			      "unknown section kind '%s' (expected service, source, transform, sink, route or auth)",
			      inner);
		return;
	}
	if (k == HC_SERVICE && colon) {
		hc_diag_error(r->diag, r->file, r->line, "[service] takes no name");
		return;
	}
	if (k != HC_SERVICE && (!colon || !valid_name(colon + 1))) {
		hc_diag_error(r->diag, r->file, r->line,
			      "[%s:NAME] needs a name made of letters, digits, '_', '-' or '.'", inner);
		return;
	}
	const char *name = colon ? colon + 1 : NULL;
	for (size_t i = 0; i < r->cfg->nsec; i++) {
		hc_section *o = &r->cfg->sec[i];
		int clash = (k == HC_SERVICE || k == HC_ROUTE || k == HC_AUTH)
			? (o->kind == (hc_kind)k && (!name || strcmp(o->name, name) == 0))
			: (is_instance(o->kind) && strcmp(o->name, name) == 0);

		if (clash) {
			hc_diag_error(r->diag, r->file, r->line,
				      "duplicate name: [%s] is already defined on line %u",
				      o->label, o->line);
			return;
		}
	}
	r->cur = add_section(r->cfg, (hc_kind)k, name, r->line);
	if (!r->cur)
		hc_diag_error(r->diag, r->file, r->line, "out of memory");
	else
		r->bad_section = 0;
}

/* ---- inih glue ---------------------------------------------------------- */

/* Where an inline comment starts in [p, end): a ';' after whitespace, as
 * inih sees it. Returns end when there is none. */
static const char *inline_comment(const char *p, const char *end)
{
	for (const char *c = p; c < end; c++)
		if (*c == ';' && c > p && isspace((unsigned char)c[-1]))
			return c;
	return end;
}

/* The '=' or ':' that ends the key, or NULL; inih stops at a comment. */
static const char *key_separator(const char *p, const char *end)
{
	end = inline_comment(p, end);
	for (const char *c = p; c < end; c++)
		if (*c == '=' || *c == ':')
			return c;
	return NULL;
}

/* fgets-like reader that hands inih one line at a time. The reader decides
 * what each line is and hands inih only lines on which both agree: a line
 * with an error goes over as a blank line, and only a continuation keeps its
 * indentation (inih would otherwise take any indented line after a refused
 * one for the continuation of an earlier key). */
static char *read_line(char *str, int num, void *stream)
{
	struct reader *r = stream;
	const char *line, *nl, *t, *end;
	unsigned errors = r->diag->errors;
	size_t len;

	if (!*r->p)
		return NULL;
	nl = strchr(r->p, '\n');
	len = nl ? (size_t)(nl - r->p) : strlen(r->p);
	line = r->p;
	r->p += len + (nl ? 1 : 0);
	r->line++;
	r->continuation = 0;
	if (len && line[len - 1] == '\r')
		len--;

	/* inih needs room for "\r\n\0" beyond the longest line it can read. */
	if (num < 4 || len > (size_t)num - 3) {
		hc_diag_error(r->diag, r->file, r->line,
			      "line is %zu bytes long; the INI parser reads at most %d: "
			      "shorten it, continue the value on indented lines, or use a variable",
			      len, num < 4 ? 0 : num - 3);
		len = 0;
	}
	end = line + len;
	for (t = line; t < end && isspace((unsigned char)*t); t++)
		;
	if (t == end || *t == ';' || *t == '#') {
		/* blank or comment */
	} else if (t > line && r->prev_kv) {
		/* Not every inih strips comments from continuations: do it here. */
		r->continuation = 1;
		end = inline_comment(t, end);
		while (end > t && isspace((unsigned char)end[-1]))
			end--;
	} else if (*t == '[') {
		char hdr[512];
		size_t n = (size_t)(end - t);

		if (n >= sizeof(hdr))
			n = sizeof(hdr) - 1;
		memcpy(hdr, t, n);
		hdr[n] = 0;
		section_header(r, hdr);
		r->prev_kv = 0;
	} else {
		const char *sep = key_separator(t, end);

		if (!sep || sep == t)
			hc_diag_error(r->diag, r->file, r->line,
				      sep ? "missing key before '='"
					  : "expected 'key = value', a [section] or a comment");
		else
			r->prev_kv = 1;
	}
	if (r->diag->errors != errors) {
		r->prev_kv = 0;
		r->continuation = 0;
		t = end = line;
	}
	if (r->continuation)
		t = line;
	memcpy(str, t, (size_t)(end - t));
	str[end - t] = '\n';
	str[end - t + 1] = 0;
	return str;
}

static int add_kv(hc_section *s, const char *key, char *value, unsigned line)
{
	if (s->nkv == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		hc_kv *n = realloc(s->kv, cap * sizeof(*n));

		if (!n)
			return -1;
		s->kv = n;
		s->cap = cap;
	}
	s->kv[s->nkv].key = strdup(key);
	if (!s->kv[s->nkv].key)
		return -1;
	s->kv[s->nkv].value = value;
	s->kv[s->nkv].line = line;
	s->kv[s->nkv].used = 0;
	s->nkv++;
	return 0;
}

/* Appends a continuation line to the value it continues. The key is ours,
 * not the name inih passes: inih keeps at most 49 bytes of it. */
static void continue_value(struct reader *r, const char *value)
{
	hc_kv *kv;
	char err[256], *expanded, *joined;
	size_t a, b;

	if (!r->cur || !r->last)
		return; /* its key was refused, and said so */
	kv = &r->cur->kv[r->last - 1];
	expanded = hc_expand_env(value, err, sizeof(err));
	if (!expanded) {
		hc_diag_error(r->diag, r->file, r->line, "[%s] %s: %s", r->cur->label, kv->key, err);
		return;
	}
	a = strlen(kv->value);
	b = strlen(expanded);
	joined = realloc(kv->value, a + b + 2);
	if (!joined) {
		hc_diag_error(r->diag, r->file, r->line, "out of memory");
		free(expanded);
		return;
	}
	/* "key =" followed by indented lines: the value starts on the next */
	if (a)
		joined[a++] = '\n';
	memcpy(joined + a, expanded, b + 1);
	kv->value = joined;
	free(expanded);
}

static int on_pair(void *user, const char *section, const char *name, const char *value)
{
	struct reader *r = user;
	char err[256];
	char *expanded;

	(void)section;
	if (r->continuation) {
		continue_value(r, value);
		return 1;
	}
	r->last = 0;
	if (!r->cur) {
		if (!r->bad_section)
			hc_diag_error(r->diag, r->file, r->line,
				      "'%s' is outside any section (start with [service], [source:NAME], ...)",
				      name);
		return 1;
	}
	expanded = hc_expand_env(value, err, sizeof(err));
	if (!expanded) {
		hc_diag_error(r->diag, r->file, r->line, "[%s] %s: %s", r->cur->label, name, err);
		return 1;
	}
	hc_kv *dup = hc_section_get(r->cur, name);
	if (dup) {
		hc_diag_error(r->diag, r->file, r->line,
			      "[%s] '%s' is set twice (first on line %u)", r->cur->label, name, dup->line);
		free(expanded);
		return 1;
	}
	if (add_kv(r->cur, name, expanded, r->line) < 0) {
		hc_diag_error(r->diag, r->file, r->line, "out of memory");
		free(expanded);
		return 1;
	}
	r->last = r->cur->nkv;
	return 1;
}

hc_config *hc_config_parse(const char *name, const char *text, hc_diag *diag)
{
	hc_config *cfg = calloc(1, sizeof(*cfg));
	struct reader r;

	if (!cfg || !(cfg->file = strdup(name))) {
		free(cfg);
		hc_diag_error(diag, name, 0, "out of memory");
		return NULL;
	}
	memset(&r, 0, sizeof(r));
	r.p = text;
	r.file = cfg->file;
	r.diag = diag;
	r.cfg = cfg;
	/* UTF-8 byte order mark */
	if ((unsigned char)r.p[0] == 0xEF && (unsigned char)r.p[1] == 0xBB && (unsigned char)r.p[2] == 0xBF)
		r.p += 3;
	int rc = ini_parse_stream(read_line, &r, on_pair, &r);
	/* Our reader already rejects what inih would, and hands it no line it
	 * reported; anything left is a line inih itself refused. */
	if (rc > 0)
		hc_diag_error(diag, cfg->file, (unsigned)rc, "syntax error");
	else if (rc < 0)
		hc_diag_error(diag, cfg->file, 0, "the INI parser failed (%d)", rc);
	return cfg;
}

hc_config *hc_config_load(const char *file, hc_diag *diag)
{
	FILE *f = fopen(file, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0;
	hc_config *cfg;

	if (!f) {
		hc_diag_error(diag, file, 0, "cannot open the configuration: %s", strerror(errno));
		return NULL;
	}
	for (;;) {
		if (cap - len < 4096) {
			/* A configuration is small; cap it so a wrong path (a device, a
			 * huge log) cannot eat memory. */
			if (cap >= (8u << 20)) {
				hc_diag_error(diag, file, 0, "the file is larger than 8 MiB; is it a configuration?");
				fclose(f);
				free(buf);
				return NULL;
			}
			char *b = realloc(buf, cap ? cap * 2 : 8192);
			if (!b) {
				fclose(f);
				free(buf);
				hc_diag_error(diag, file, 0, "out of memory");
				return NULL;
			}
			buf = b;
			cap = cap ? cap * 2 : 8192;
		}
		size_t n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	int bad = ferror(f);
	fclose(f);
	buf[len] = 0;
	if (bad) {
		hc_diag_error(diag, file, 0, "read error");
		free(buf);
		return NULL;
	}
	if (memchr(buf, 0, len)) {
		hc_diag_error(diag, file, 0, "the file contains NUL bytes; is it a text INI file?");
		free(buf);
		return NULL;
	}
	cfg = hc_config_parse(file, buf, diag);
	free(buf);
	return cfg;
}

void hc_config_free(hc_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->nsec; i++) {
		hc_section *s = &cfg->sec[i];

		for (size_t j = 0; j < s->nkv; j++) {
			free(s->kv[j].key);
			free(s->kv[j].value);
		}
		free(s->kv);
		free(s->name);
		free(s->label);
	}
	free(cfg->sec);
	free(cfg->file);
	free(cfg);
}

hc_section *hc_config_find(hc_config *cfg, hc_kind kind, const char *name)
{
	for (size_t i = 0; i < cfg->nsec; i++) {
		hc_section *s = &cfg->sec[i];

		if (s->kind == kind && ((!name && !s->name) || (name && s->name && strcmp(s->name, name) == 0)))
			return s;
	}
	return NULL;
}

hc_kv *hc_section_get(hc_section *sec, const char *key)
{
	for (size_t i = 0; sec && i < sec->nkv; i++)
		if (strcmp(sec->kv[i].key, key) == 0)
			return &sec->kv[i];
	return NULL;
}

const char *hc_section_value(hc_section *sec, const char *key)
{
	hc_kv *kv = hc_section_get(sec, key);

	return kv ? kv->value : NULL;
}
