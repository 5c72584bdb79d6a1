/* See sync.h. */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "engine.h"
#include "log.h"
#include "record.h"
#include "sync.h"

/* Longest object name: ids of both APIs are far shorter. */
#define SYNC_MAX_OBJECT 512
/* How long a write is remembered: far longer than any poll interval. */
#define SYNC_ECHO_KEEP_MS (30LL * 24 * 3600 * 1000)
/* Longest pace_block: a day, as the longest daily quota wait. */
#define SYNC_MAX_BLOCK_MS (24LL * 3600 * 1000)

int hc_sync_object_valid(const char *object)
{
	const char *p = object;
	size_t len = object ? strlen(object) : 0;

	if (len == 0 || len > SYNC_MAX_OBJECT)
		return 0;
	for (const char *c = object; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return 0;
	/* system, scope and kind are not empty; the id is the rest */
	for (int i = 0; i < 3; i++) {
		const char *colon = strchr(p, ':');

		if (!colon || colon == p)
			return 0;
		p = colon + 1;
	}
	return *p != '\0';
}

static hc_store *store_of(hlb_instance *inst)
{
	return inst && inst->engine ? hc_engine_store(inst->engine) : NULL;
}

int hc_sync_link_put(hlb_instance *inst, const char *left, const char *right, struct json_object *info)
{
	hc_store *s = store_of(inst);
	int rc = HLB_OK;

	if (!s || !hc_sync_object_valid(left) || !hc_sync_object_valid(right) || !strcmp(left, right))
		rc = HLB_EINVAL;
	else if (hc_store_link_put(s, inst->state_name, left, right,
				   info ? json_object_to_json_string_ext(info, JSON_C_TO_STRING_PLAIN) : NULL,
				   hc_wall_ms()) < 0) {
		hc_log(inst->sec->label, HLB_LOG_ERROR, "%s", hc_store_error(s));
		rc = HLB_EIO;
	}
	json_object_put(info);
	return rc;
}

static void add_link(const hc_link *l, void *arg)
{
	struct json_object *o = json_object_new_object();
	struct json_object *info = l->info ? json_tokener_parse(l->info) : NULL;

	json_object_object_add(o, "left", json_object_new_string(l->left));
	json_object_object_add(o, "right", json_object_new_string(l->right));
	json_object_object_add(o, "info", info);
	json_object_object_add(o, "created_ms", json_object_new_int64(l->created_ms));
	json_object_object_add(o, "updated_ms", json_object_new_int64(l->updated_ms));
	json_object_array_add(arg, o);
}

struct json_object *hc_sync_link_find(hlb_instance *inst, const char *object)
{
	hc_store *s = store_of(inst);
	struct json_object *all;

	if (!s || !object)
		return NULL;
	all = json_object_new_array();
	if (all && hc_store_link_each(s, object, add_link, all) < 0) {
		hc_log(inst->sec->label, HLB_LOG_ERROR, "%s", hc_store_error(s));
		json_object_put(all);
		return NULL;
	}
	return all;
}

static void add_write(int64_t time_ms, const char *fields, void *arg)
{
	struct json_object *w = json_object_new_object();

	json_object_object_add(w, "time_ms", json_object_new_int64(time_ms));
	json_object_object_add(w, "fields", json_tokener_parse(fields));
	json_object_array_add(arg, w);
}

struct json_object *hc_sync_echo_since(hlb_instance *inst, const char *object, int64_t since_ms)
{
	hc_store *s = store_of(inst);
	struct json_object *all;

	if (!s || !object)
		return NULL;
	all = json_object_new_array();
	if (all && hc_store_echo_since(s, object, since_ms, add_write, all) < 0) {
		hc_log(inst->sec->label, HLB_LOG_ERROR, "%s", hc_store_error(s));
		json_object_put(all);
		return NULL;
	}
	return all;
}

int hc_sync_echo_put(hlb_instance *inst, const char *object, struct json_object *fields)
{
	hc_store *s = store_of(inst);
	int rc = HLB_OK;

	if (!s || !hc_sync_object_valid(object) || !json_object_is_type(fields, json_type_object)) {
		json_object_put(fields);
		return HLB_EINVAL;
	}
	if (hc_store_echo_put(s, inst->state_name, object,
			      json_object_to_json_string_ext(fields, JSON_C_TO_STRING_PLAIN), hc_wall_ms(),
			      SYNC_ECHO_KEEP_MS) < 0) {
		hc_log(inst->sec->label, HLB_LOG_ERROR, "%s", hc_store_error(s));
		rc = HLB_EIO;
	}
	json_object_put(fields);
	return rc;
}

void hc_sync_pace_block(hlb_instance *inst, const char *key, int64_t delay_ms)
{
	/* a plugin's figure, bounded like a Retry-After */
	if (delay_ms > SYNC_MAX_BLOCK_MS)
		delay_ms = SYNC_MAX_BLOCK_MS;
	if (inst && inst->engine && hc_http_pace_block(hc_engine_http(inst->engine), key, delay_ms) == HLB_OK)
		hc_log(inst->sec->label, HLB_LOG_WARN, "pacing %s: the API says the quota is spent; requests with "
		       "this key wait %lld ms", key, (long long)(delay_ms >= 1000 ? delay_ms : 1000));
}
