/* See octorate_record.h. */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "octorate_client.h"
#include "octorate_record.h"
#include "../common/identity.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

static json_object *member(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v) ||
	    json_object_is_type(v, json_type_null))
		return NULL;
	return v;
}

/* The guest who booked: type BOOKER, else the first guest. */
static json_object *booker(json_object *res)
{
	json_object *guests = member(res, "guests");
	size_t n;

	if (!guests || !json_object_is_type(guests, json_type_array))
		return NULL;
	n = json_object_array_length(guests);
	for (size_t i = 0; i < n; i++) {
		json_object *g = json_object_array_get_idx(guests, i);
		const char *type = ghl_json_string(g, "type");

		if (type && strcasecmp(type, "BOOKER") == 0)
			return g;
	}
	return n ? json_object_array_get_idx(guests, 0) : NULL;
}

static json_object *new_str(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

/* A copy of a scalar member (number, string, bool), or NULL. */
static json_object *copy_of(json_object *o, const char *key)
{
	json_object *v = member(o, key), *copy = NULL;

	if (!v || json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array))
		return NULL;
	if (json_object_deep_copy(v, &copy, NULL) != 0)
		return NULL;
	return copy;
}

/* A time member as "2020-07-06T22:00:00Z", or NULL when absent or not a
 * time; *ms gets the instant. */
static json_object *time_of(json_object *o, const char *key, int64_t *ms)
{
	int64_t t = octo_parse_time(ghl_json_string(o, key));
	char buf[40];

	if (ms)
		*ms = t;
	if (t < 0)
		return NULL;
	octo_format_time(t, buf, sizeof(buf));
	return json_object_new_string(buf);
}

/* An id member (product, channelId) as a string of its digits. */
static json_object *id_of(json_object *o, const char *key)
{
	char buf[72];

	return octo_id_text(member(o, key), buf, sizeof(buf)) == 0 ? json_object_new_string(buf) : NULL;
}

static void put(json_object *o, const char *literal, json_object *v)
{
	json_object_object_add_ex(o, literal, v, JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_KEY_IS_CONSTANT);
}

int octo_res_build(const char *acc, struct json_object *res, const char *country, octo_res *out)
{
	json_object *b = booker(res), *body, *refer;
	char email[320], phone[40];
	const char *e = ghl_json_string(b, "email"), *p = ghl_json_string(b, "phone"), *text;
	int64_t t;

	memset(out, 0, sizeof(*out));
	out->time_ms = -1;
	if (!acc || octo_id_text(member(res, "id"), out->id, sizeof(out->id)) != 0)
		return HLB_EPARSE;
	snprintf(out->key, sizeof(out->key), "%s:%s", acc, out->id);
	snprintf(out->object, sizeof(out->object), "octorate:%s:reservation:%s", acc, out->id);
	snprintf(out->state_key, sizeof(out->state_key), "r:%s:%s", acc, out->id);
	body = json_object_new_object();
	if (!body)
		return HLB_ENOMEM;
	put(body, "accommodationId", json_object_new_string(acc));
	put(body, "reservationId", json_object_new_string(out->id));
	/* refer may have 20 digits: kept as the text it was, never a number */
	refer = id_of(res, "refer");
	put(body, "refer", refer ? refer : new_str(ghl_json_string(res, "refer")));
	put(body, "status", new_str(ghl_json_string(res, "status")));
	put(body, "firstName", new_str(ghl_json_string(b, "givenName")));
	put(body, "lastName", new_str(ghl_json_string(b, "familyName")));
	put(body, "email", e && identity_email(e, email, sizeof(email)) == 0 ? json_object_new_string(email) : NULL);
	put(body, "phone", p && identity_phone(p, country, phone, sizeof(phone)) == 0
			   ? json_object_new_string(phone) : NULL);
	put(body, "language", new_str(ghl_json_string(b, "language")));
	put(body, "checkin", time_of(res, "checkin", NULL));
	put(body, "checkout", time_of(res, "checkout", NULL));
	put(body, "createTime", time_of(res, "createTime", NULL));
	put(body, "room", id_of(res, "product"));
	put(body, "total", copy_of(res, "totalGross"));
	put(body, "currency", new_str(ghl_json_string(res, "currency")));
	put(body, "channel", new_str(ghl_json_string(res, "channelName")));
	put(body, "channelId", copy_of(res, "channelId"));
	put(body, "guests", copy_of(res, "totalGuest"));
	put(body, "object", json_object_new_string(out->object));
	/* The hash leaves updateTime out: a change that moves only the time
	 * (hlbridge's own metaData or notes write) is no change for GHL. */
	text = json_object_to_json_string_ext(body, JSON_FLAGS);
	ghl_hash_hex(text, strlen(text), out->hash);
	put(body, "updateTime", time_of(res, "updateTime", &t));
	out->time_ms = t;
	out->body = body;
	return HLB_OK;
}

octo_dedup octo_res_dedup(struct json_object *stored, int64_t time_ms, const char *hash)
{
	json_object *t, *h;
	int64_t stored_ms;

	if (!stored || !json_object_is_type(stored, json_type_object))
		return OCTO_NEW;
	stored_ms = json_object_object_get_ex(stored, "t", &t) ? json_object_get_int64(t) : -1;
	if (json_object_object_get_ex(stored, "h", &h) && json_object_is_type(h, json_type_string) &&
	    strcmp(json_object_get_string(h), hash) == 0)
		return stored_ms >= time_ms ? OCTO_SEEN : OCTO_SAME;
	/* Different content with an older time: a delivery out of order (a
	 * webhook's retry, a slow page) must not move GHL back to an old
	 * status; what is stored is newer. A reservation edited back gets a
	 * new updateTime, so it is a change. */
	if (time_ms >= 0 && time_ms < stored_ms)
		return OCTO_SEEN;
	return OCTO_NEW;
}

struct json_object *octo_res_entry(int64_t time_ms, const char *hash)
{
	json_object *e = json_object_new_object();

	if (!e)
		return NULL;
	json_object_object_add(e, "t", json_object_new_int64(time_ms));
	json_object_object_add(e, "h", json_object_new_string(hash));
	return e;
}

int octo_res_emit(const hlb_host *host, hlb_instance *inst, hlb_job *job, const char *acc,
		  struct json_object *res, const char *country)
{
	octo_res r;
	json_object *stored;
	octo_dedup d;
	hlb_record *rec;
	int rc = octo_res_build(acc, res, country, &r);

	if (rc != HLB_OK)
		return rc;
	stored = host->state_get(inst, r.state_key);
	d = octo_res_dedup(stored, r.time_ms, r.hash);
	json_object_put(stored);
	if (d == OCTO_SEEN) {
		json_object_put(r.body);
		return 0;
	}
	if (d == OCTO_NEW) {
		rec = host->record_new(OCTO_STREAM, r.key, HLB_OP_UPSERT, r.time_ms >= 0 ? r.time_ms : 0, r.body);
		r.body = NULL;
		if (!rec)
			return HLB_ENOMEM;
		rc = host->emit(job, rec);
		if (rc != HLB_OK)
			return rc;
	}
	json_object_put(r.body);
	rc = host->state_put(inst, job, r.state_key, octo_res_entry(r.time_ms, r.hash));
	if (rc != HLB_OK)
		return rc;
	return d == OCTO_NEW ? 1 : 0;
}
