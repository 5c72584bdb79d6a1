/* JSON paths into record bodies: $, .name, ["quoted"], [N], [-N].
 * Exposed to plugins through hlb_host's path_* services. */
#ifndef HC_JPATH_H
#define HC_JPATH_H

#include <stddef.h>
#include <json-c/json.h>
#include "hlbridge/host.h"

hlb_path *hc_jpath_compile(const char *text, char *err, size_t errlen);
int hc_jpath_lookup(const hlb_path *path, struct json_object *root, struct json_object **value);
struct json_object *hc_jpath_get(const hlb_path *path, struct json_object *root);
int hc_jpath_set(const hlb_path *path, struct json_object *root, struct json_object *value);
int hc_jpath_remove(const hlb_path *path, struct json_object *root);
const char *hc_jpath_text(const hlb_path *path);
void hc_jpath_free(hlb_path *path);

#endif
