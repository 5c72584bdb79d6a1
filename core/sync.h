/* Host services for two-way sync (ABI 1.3): links between objects of two
 * systems and the memory of what hlbridge itself wrote (echo prevention),
 * both kept in the state store so that they survive restarts and are
 * shared by every instance (the sink that writes and the source of the
 * other direction that must recognise its echo). */
#ifndef HC_SYNC_H
#define HC_SYNC_H

#include "hlbridge/host.h"

int hc_sync_link_put(hlb_instance *inst, const char *left, const char *right, struct json_object *info);
struct json_object *hc_sync_link_find(hlb_instance *inst, const char *object);
int hc_sync_echo_put(hlb_instance *inst, const char *object, struct json_object *fields);
struct json_object *hc_sync_echo_since(hlb_instance *inst, const char *object, int64_t since_ms);
void hc_sync_pace_block(hlb_instance *inst, const char *key, int64_t delay_ms);

/* "system:scope:kind:id" with no empty part and no control character: the
 * names link_put and echo_put accept. */
int hc_sync_object_valid(const char *object);

#endif
