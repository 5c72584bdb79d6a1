#include "record.h"

#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

int64_t hc_wall_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

int hc_record_set_str(char **field, const char *value)
{
	char *copy = strdup(value ? value : "");

	if (!copy)
		return HLB_ENOMEM;
	free(*field);
	*field = copy;
	return HLB_OK;
}

hlb_record *hc_record_new(const char *stream, const char *key, hlb_op op, int64_t time_ms,
			  struct json_object *body)
{
	hlb_record *r = calloc(1, sizeof(*r));

	if (!r || hc_record_set_str(&r->stream, stream) || hc_record_set_str(&r->key, key)) {
		json_object_put(body);
		hc_record_free(r);
		return NULL;
	}
	r->op = op;
	r->time_ms = time_ms ? time_ms : hc_wall_ms();
	r->body = body ? body : json_object_new_object();
	if (!r->body) {
		hc_record_free(r);
		return NULL;
	}
	return r;
}

hlb_record *hc_record_clone(const hlb_record *rec)
{
	struct json_object *body = NULL;

	if (json_object_deep_copy(rec->body, &body, NULL) != 0)
		return NULL;
	return hc_record_new(rec->stream, rec->key, rec->op, rec->time_ms, body);
}

void hc_record_free(hlb_record *rec)
{
	if (!rec)
		return;
	free(rec->stream);
	free(rec->key);
	json_object_put(rec->body);
	free(rec);
}
