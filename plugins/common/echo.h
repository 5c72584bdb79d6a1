/* Echo prevention for two-way sync, shared by the connectors.
 *
 * A sink that writes to an object tells the host what it set there
 * (host->echo_put: scalar fields by name, a set-valued field NAME as the
 * members it added, "NAME+", and removed, "NAME-"). When a source of the
 * other direction later sees that object changed since it last looked,
 * echo_explains says whether hlbridge's own writes since then account for
 * every difference: then the change is hlbridge's echo, and carrying it
 * back would start a ping-pong. A difference they do not explain (a
 * user's edit made meanwhile, or one that undoes an earlier write) is a
 * real change. */
#ifndef HLB_COMMON_ECHO_H
#define HLB_COMMON_ECHO_H

#include <stdint.h>

#include "hlbridge/host.h"

struct json_object;

/* 1 when `before` (the object's fields as the source last saw them, at
 * before_ms; NULL: never seen) and `now` differ in some member named in
 * `fields` (NULL-terminated), and the writes to `object` after before_ms
 * explain each such difference: a scalar member by the latest write that
 * set it, to the same value; an array of strings (a set) by writes'
 * "NAME+" holding every member added and "NAME-" every member removed.
 * 0 otherwise, also when nothing differs, nothing was written, or the
 * host predates ABI 1.3. */
int echo_explains(const hlb_host *host, hlb_instance *inst, const char *object, struct json_object *before,
		  int64_t before_ms, struct json_object *now, const char *const *fields);

#endif
