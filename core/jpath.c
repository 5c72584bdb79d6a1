/* JSON paths: compiled once at configuration time, walked per record. */
#include "jpath.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hlbridge/abi.h"

enum seg_kind { SEG_KEY, SEG_INDEX };

struct seg {
	enum seg_kind kind;
	long index;  /* SEG_INDEX; negative counts from the end */
	char *key;   /* SEG_KEY */
};

struct hlb_path {
	char *text;
	size_t nseg;
	struct seg seg[];
};

static void set_err(char *err, size_t errlen, const char *text, size_t col, const char *what)
{
	if (err && errlen)
		snprintf(err, errlen, "bad JSON path '%s' at column %zu: %s", text, col + 1, what);
}

static int is_name_char(unsigned char c)
{
	return c != '.' && c != '[' && c != ']' && c != '"' && c != '\'' && !isspace(c) && c != 0;
}

/* Parses a bracketed quoted key starting at p (just after '['). Returns the
 * malloc'ed key and moves *pp past the closing ']', or NULL. */
static char *parse_quoted(const char **pp)
{
	const char *p = *pp;
	char quote = *p++;
	size_t cap = strlen(p) + 1, n = 0;
	char *out = malloc(cap);

	if (!out)
		return NULL;
	while (*p && *p != quote) {
		if (*p == '\\' && p[1])
			p++;
		out[n++] = *p++;
	}
	if (*p != quote || p[1] != ']') {
		free(out);
		return NULL;
	}
	out[n] = 0;
	*pp = p + 2;
	return out;
}

static int count_segments(const char *text)
{
	/* An upper bound: every segment starts with '.' or '['. */
	int n = 0;

	for (const char *p = text; *p; p++)
		if (*p == '.' || *p == '[')
			n++;
	return n;
}

hlb_path *hc_jpath_compile(const char *text, char *err, size_t errlen)
{
	hlb_path *path;
	const char *p = text;

	if (!text || text[0] != '$') {
		set_err(err, errlen, text ? text : "", 0, "a path starts with '$'");
		return NULL;
	}
	path = calloc(1, sizeof(*path) + (size_t)count_segments(text) * sizeof(struct seg));
	if (!path || !(path->text = strdup(text))) {
		free(path);
		set_err(err, errlen, text, 0, "out of memory");
		return NULL;
	}
	p++;
	while (*p) {
		struct seg *s = &path->seg[path->nseg];
		size_t col = (size_t)(p - text);

		if (*p == '.') {
			const char *start = ++p;

			while (is_name_char((unsigned char)*p))
				p++;
			if (p == start) {
				set_err(err, errlen, text, col, "expected a field name after '.'");
				goto fail;
			}
			s->kind = SEG_KEY;
			s->key = strndup(start, (size_t)(p - start));
		} else if (*p == '[' && (p[1] == '"' || p[1] == '\'')) {
			p++;
			s->kind = SEG_KEY;
			s->key = parse_quoted(&p);
			if (!s->key) {
				set_err(err, errlen, text, col, "unterminated quoted name (expected [\"name\"])");
				goto fail;
			}
		} else if (*p == '[') {
			char *end;
			long v;

			errno = 0;
			v = strtol(p + 1, &end, 10);
			if (end == p + 1 || *end != ']' || errno || !(isdigit((unsigned char)p[1]) || p[1] == '-')) {
				set_err(err, errlen, text, col, "expected [N], [-N] or [\"name\"]");
				goto fail;
			}
			s->kind = SEG_INDEX;
			s->index = v;
			p = end + 1;
		} else {
			set_err(err, errlen, text, col, "expected '.name', '[N]' or '[\"name\"]'");
			goto fail;
		}
		if (s->kind == SEG_KEY && !s->key) {
			set_err(err, errlen, text, col, "out of memory");
			goto fail;
		}
		path->nseg++;
	}
	return path;
fail:
	hc_jpath_free(path);
	return NULL;
}

/* Resolves an index against an array's length; -1 when out of range. */
static long resolve_index(long index, size_t len)
{
	if (index < 0)
		index += (long)len;
	if (index < 0 || (size_t)index >= len)
		return -1;
	return index;
}

/* One step down. Returns 1 when the segment resolves, storing the child in
 * *out; JSON null is a resolved NULL, which is why the result is separate. */
static int step(json_object *cur, const struct seg *s, json_object **out)
{
	*out = NULL;
	if (s->kind == SEG_KEY)
		return json_object_is_type(cur, json_type_object) &&
		       json_object_object_get_ex(cur, s->key, out);
	if (!json_object_is_type(cur, json_type_array))
		return 0;
	long i = resolve_index(s->index, json_object_array_length(cur));
	if (i < 0)
		return 0;
	*out = json_object_array_get_idx(cur, (size_t)i);
	return 1;
}

int hc_jpath_lookup(const hlb_path *path, json_object *root, json_object **value)
{
	json_object *cur = root;

	*value = NULL;
	if (!path)
		return 0;
	for (size_t i = 0; i < path->nseg; i++)
		if (!cur || !step(cur, &path->seg[i], &cur))
			return 0;
	*value = cur;
	return 1;
}

json_object *hc_jpath_get(const hlb_path *path, json_object *root)
{
	json_object *v;

	return hc_jpath_lookup(path, root, &v) ? v : NULL;
}

/* True when every segment after `from` is a key: only then can the rest of
 * the path be built from new, empty objects. */
static int keys_after(const hlb_path *path, size_t from)
{
	for (size_t i = from + 1; i < path->nseg; i++)
		if (path->seg[i].kind != SEG_KEY)
			return 0;
	return 1;
}

/* Walks to the parent of the last segment, creating objects for missing
 * keys when `create` is set. Nothing is created unless the whole path can
 * then be completed, so a set that fails leaves the document as it was. */
static json_object *walk_parent(const hlb_path *path, json_object *root, int create)
{
	json_object *cur = root;

	for (size_t i = 0; i + 1 < path->nseg; i++) {
		const struct seg *s = &path->seg[i];
		json_object *next = NULL;

		step(cur, s, &next);
		if (!next && create && s->kind == SEG_KEY && json_object_is_type(cur, json_type_object) &&
		    keys_after(path, i)) {
			next = json_object_new_object();
			if (!next)
				return NULL;
			if (json_object_object_add(cur, s->key, next) != 0) {
				json_object_put(next);
				return NULL;
			}
		}
		if (!next)
			return NULL;
		cur = next;
	}
	return cur;
}

int hc_jpath_set(const hlb_path *path, json_object *root, json_object *value)
{
	json_object *parent;
	const struct seg *last;

	if (!path || !root || path->nseg == 0) {
		json_object_put(value);
		return HLB_EINVAL;
	}
	parent = walk_parent(path, root, 1);
	last = &path->seg[path->nseg - 1];
	if (parent && last->kind == SEG_KEY && json_object_is_type(parent, json_type_object))
		return json_object_object_add(parent, last->key, value) == 0 ? HLB_OK : HLB_ENOMEM;
	if (parent && last->kind == SEG_INDEX && json_object_is_type(parent, json_type_array)) {
		size_t len = json_object_array_length(parent);
		long i = last->index < 0 ? resolve_index(last->index, len) : last->index;

		/* Replace or append; a far index would pad the array with nulls,
		 * an allocation as large as the number asks for. */
		if (i >= 0 && (size_t)i <= len)
			return json_object_array_put_idx(parent, (size_t)i, value) == 0 ? HLB_OK : HLB_ENOMEM;
	}
	json_object_put(value);
	return parent ? HLB_EINVAL : HLB_ENOENT;
}

int hc_jpath_remove(const hlb_path *path, json_object *root)
{
	json_object *parent;
	const struct seg *last;

	if (!path || !root || path->nseg == 0)
		return HLB_EINVAL;
	parent = walk_parent(path, root, 0);
	if (!parent)
		return HLB_ENOENT;
	last = &path->seg[path->nseg - 1];
	if (last->kind == SEG_KEY) {
		if (!json_object_is_type(parent, json_type_object) ||
		    !json_object_object_get_ex(parent, last->key, NULL))
			return HLB_ENOENT;
		json_object_object_del(parent, last->key);
		return HLB_OK;
	}
	if (!json_object_is_type(parent, json_type_array))
		return HLB_ENOENT;
	long i = resolve_index(last->index, json_object_array_length(parent));
	if (i < 0)
		return HLB_ENOENT;
	return json_object_array_del_idx(parent, (size_t)i, 1) == 0 ? HLB_OK : HLB_EINVAL;
}

const char *hc_jpath_text(const hlb_path *path)
{
	return path ? path->text : "";
}

void hc_jpath_free(hlb_path *path)
{
	if (!path)
		return;
	for (size_t i = 0; i < path->nseg; i++)
		free(path->seg[i].key);
	free(path->text);
	free(path);
}
