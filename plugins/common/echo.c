/* See echo.h. */
#include <stddef.h>

#include <json-c/json.h>

#include "echo.h"

int echo_is_own_write(const hlb_host *host, hlb_instance *inst, const char *object,
		      struct json_object *observed, const char *const *fields)
{
	struct json_object *mine;
	int64_t when = 0;
	int same = 1;

	if (!HLB_HOST_HAS(host, echo_get) || !object || !fields || !*fields)
		return 0;
	mine = host->echo_get(inst, object, &when);
	if (!mine)
		return 0;
	for (const char *const *f = fields; *f && same; f++) {
		struct json_object *a = NULL, *b = NULL;
		int has_a = json_object_object_get_ex(mine, *f, &a);
		int has_b = json_object_is_type(observed, json_type_object) &&
			    json_object_object_get_ex(observed, *f, &b);

		/* A field hlbridge never wrote cannot be its echo. */
		if (!has_a || has_a != has_b || !json_object_equal(a, b))
			same = 0;
	}
	json_object_put(mine);
	return same;
}
