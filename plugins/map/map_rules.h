/* The rule engine of the `map` transform: compiles set/rename/drop rules once
 * and applies them to record bodies. It reaches JSON paths only through the
 * host table, so it can be unit-tested with any table that fills path_*.
 *
 * Semantics:
 *  - set and rename rules run in the order they were added (file order), and
 *    each one sees the body as left by the ones before it, as in a jq
 *    pipeline: `set.a = 1` then `set.b = $.a` gives b = 1.
 *  - drop rules run after every set and rename rule, wherever they appear.
 *  - A set of a new field appends it to its parent object; a set of an
 *    existing field replaces the value where it stands. rename removes the
 *    old field and then sets the new one, so the field moves to the end of
 *    its (new) parent unless the new name already existed there.
 *  - Values read through a path are deep copies, so a later rule that changes
 *    the target never reaches back into the source.
 *  - A source that does not resolve follows the missing mode. A source that
 *    holds JSON null resolves, so the missing mode leaves it alone: set
 *    copies the null, a template inserts the text null and rename moves it.
 *  - If the body is partially updated when apply fails, the caller is
 *    expected to drop it. */
#ifndef MAP_RULES_H
#define MAP_RULES_H

#include <stddef.h>

#include "hlbridge/hlbridge.h"

struct json_object;

/* What a source path that does not resolve does to its rule. */
enum map_missing {
	MAP_MISSING_SKIP = 0, /* leave the target unset */
	MAP_MISSING_NULL = 1, /* set the target to null */
	MAP_MISSING_FAIL = 2  /* reject the record with HLB_ENOENT */
};

typedef struct map_rules map_rules;

/* "skip", "null" or "fail" to a map_missing value; -1 for anything else. */
int map_missing_parse(const char *text);

/* NULL when out of memory. The host must provide the path_* services. */
map_rules *map_rules_new(const hlb_host *host, int missing_mode);

/* Adds one configured option: key "set.FIELD", "rename.FIELD" or "drop".
 * Returns HLB_OK, HLB_EINVAL with a message in err (a bad rule), or
 * HLB_ENOMEM. A failed add leaves the rule set as it was. */
int map_rules_add(map_rules *m, const char *key, const char *value, char *err, size_t errlen);

/* Number of set/rename rules plus dropped fields. */
size_t map_rules_count(const map_rules *m);

/* Reshapes body in place. Returns HLB_OK; HLB_EPARSE when body is not an
 * object; HLB_ENOENT when a source is missing and the mode is fail;
 * HLB_EINVAL when a target cannot be set because the body has a non-object
 * where the target needs an object (say, set.a.b when a is a string);
 * HLB_ENOMEM. */
int map_rules_apply(const map_rules *m, struct json_object *body);

void map_rules_free(map_rules *m);

#endif /* MAP_RULES_H */
