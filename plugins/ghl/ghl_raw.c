/* A file answer as a record body (see ghl_raw.h). */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include <stdint.h>
#include <stdlib.h>

#include <json-c/json.h>

#include "ghl_raw.h"

size_t ghl_base64(const unsigned char *in, size_t n, char *out)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0, i = 0;

	for (; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = abc[v >> 18 & 63];
		out[o++] = abc[v >> 12 & 63];
		out[o++] = abc[v >> 6 & 63];
		out[o++] = abc[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);

		out[o++] = abc[v >> 18 & 63];
		out[o++] = abc[v >> 12 & 63];
		out[o++] = i + 1 < n ? abc[v >> 6 & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

/* Adds each value to o; 0 only when every one was made and added. */
static int add_all(json_object *o, const char *const *keys, json_object **vals, size_t n)
{
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		if (!vals[i] || json_object_object_add(o, keys[i], vals[i]) != 0) {
			json_object_put(vals[i]);
			rc = -1;
		}
	}
	return rc;
}

json_object *ghl_raw_item(const ghl_reply *reply)
{
	static const char *const keys[] = { "contentType", "size", "fnv1a64", "data" };
	const char *type = reply->content_type && *reply->content_type ? reply->content_type
									: "application/octet-stream";
	size_t n = reply->raw_len, len;
	char hash[17], *data;
	json_object *o, *vals[4];

	/* the answer cap (GHL_MAX_RESPONSE) keeps n far from overflowing */
	if (!reply->raw || n > GHL_MAX_RESPONSE)
		return NULL;
	data = malloc(GHL_BASE64_LEN(n));
	o = json_object_new_object();
	if (!data || !o) {
		free(data);
		json_object_put(o);
		return NULL;
	}
	len = ghl_base64(reply->raw, n, data);
	ghl_hash_out(ghl_fnv1a(GHL_FNV_INIT, (const char *)reply->raw, n), hash);
	vals[0] = json_object_new_string(type);
	vals[1] = json_object_new_int64((int64_t)n);
	vals[2] = json_object_new_string(hash);
	vals[3] = json_object_new_string_len(data, (int)len);
	free(data);
	if (add_all(o, keys, vals, 4) != 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

int ghl_raw_as_json(const ghl_reply *reply, ghl_reply_cb cb, void *arg)
{
	ghl_reply copy;

	if (!reply->raw)
		return 0;
	copy = *reply;
	copy.raw = NULL;
	copy.raw_len = 0;
	copy.json = ghl_raw_item(reply);
	if (!copy.json) {
		copy.rc = HLB_ENOMEM;
		copy.error = "out of memory (the answer as a record)";
		copy.retryable = 1;
	}
	cb(arg, &copy);
	json_object_put(copy.json);
	return 1;
}
