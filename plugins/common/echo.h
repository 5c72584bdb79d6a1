/* Echo prevention for two-way sync, shared by the connectors.
 *
 * A sink that writes to an object remembers what it wrote there
 * (host->echo_put). When a source of the other direction later sees that
 * object changed, it asks echo_is_own_write: if the fields it would carry
 * across are exactly what hlbridge itself wrote, the change is hlbridge's
 * own echo, and carrying it back would start a ping-pong. */
#ifndef HLB_COMMON_ECHO_H
#define HLB_COMMON_ECHO_H

#include "hlbridge/host.h"

struct json_object;

/* 1 when the remembered write to `object` covers every member named in
 * `fields` (NULL-terminated) and each equals the same member of
 * `observed` (an absent member equals only an absent one); 0 otherwise,
 * also when nothing is remembered or the host predates ABI 1.3. */
int echo_is_own_write(const hlb_host *host, hlb_instance *inst, const char *object,
		      struct json_object *observed, const char *const *fields);

#endif
