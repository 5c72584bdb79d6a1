/* See echo.h. */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "echo.h"

static struct json_object *member(struct json_object *o, const char *name)
{
	struct json_object *v = NULL;

	return json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, name, &v) ? v : NULL;
}

static int has(struct json_object *o, const char *name)
{
	return json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, name, NULL);
}

static int in_array(struct json_object *a, struct json_object *v)
{
	size_t n = json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;

	for (size_t i = 0; i < n; i++)
		if (json_object_equal(json_object_array_get_idx(a, i), v))
			return 1;
	return 0;
}

/* Some write's "NAME<sign>" holds v. */
static int written_to_set(struct json_object *writes, const char *name, char sign, struct json_object *v)
{
	char key[128];

	if (snprintf(key, sizeof(key), "%s%c", name, sign) >= (int)sizeof(key))
		return 0;
	for (size_t i = 0; i < json_object_array_length(writes); i++)
		if (in_array(member(member(json_object_array_get_idx(writes, i), "fields"), key), v))
			return 1;
	return 0;
}

/* Each member of `from` missing in `to` was put there (sign '+', from =
 * now) or taken away (sign '-', from = before) by a write. */
static int set_explained(struct json_object *writes, const char *name, char sign, struct json_object *from,
			 struct json_object *to)
{
	size_t n = json_object_is_type(from, json_type_array) ? json_object_array_length(from) : 0;

	for (size_t i = 0; i < n; i++) {
		struct json_object *v = json_object_array_get_idx(from, i);

		if (!in_array(to, v) && !written_to_set(writes, name, sign, v))
			return 0;
	}
	return 1;
}

/* The latest write that set `name` set it to what is there now. */
static int scalar_explained(struct json_object *writes, const char *name, struct json_object *now)
{
	for (size_t i = json_object_array_length(writes); i-- > 0;) {
		struct json_object *fields = member(json_object_array_get_idx(writes, i), "fields");

		if (has(fields, name))
			return json_object_equal(member(fields, name), member(now, name)) &&
			       (has(now, name) || !member(fields, name));
	}
	return 0;
}

int echo_explains(const hlb_host *host, hlb_instance *inst, const char *object, struct json_object *before,
		  int64_t before_ms, struct json_object *now, const char *const *fields)
{
	struct json_object *writes;
	int changed = 0, explained = 1;

	if (!HLB_HOST_HAS(host, echo_since) || !object || !fields)
		return 0;
	writes = host->echo_since(inst, object, before_ms);
	if (!writes || json_object_array_length(writes) == 0) {
		json_object_put(writes);
		return 0;
	}
	for (const char *const *f = fields; *f && explained; f++) {
		struct json_object *b = member(before, *f), *n = member(now, *f);

		if (has(before, *f) == has(now, *f) && json_object_equal(b, n))
			continue;
		changed = 1;
		if (json_object_is_type(b, json_type_array) || json_object_is_type(n, json_type_array))
			explained = set_explained(writes, *f, '+', n, b) && set_explained(writes, *f, '-', b, n);
		else
			explained = scalar_explained(writes, *f, now);
	}
	json_object_put(writes);
	return changed && explained;
}
