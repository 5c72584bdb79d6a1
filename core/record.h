/* Records: the envelope every plugin exchanges (stream, idempotency key,
 * operation, extraction time, JSON body). The queue fields belong to the
 * host, which chains records without further allocation. */
#ifndef HC_RECORD_H
#define HC_RECORD_H

#include <stdint.h>
#include <json-c/json.h>
#include "hlbridge/host.h"

struct hlb_record {
	char *stream;
	char *key;
	hlb_op op;
	int64_t time_ms;
	struct json_object *body;
	/* host-only */
	struct hlb_record *next;
	unsigned attempts;
	int64_t due_ms;
	long last_status;         /* HTTP status of the last delivery, 0 if none */
	int64_t retry_after_ms;   /* what the destination asked for, 0 if nothing */
	int64_t row_id;           /* its row in the store's queue */
	struct hc_cp *cp;         /* the checkpoint waiting for it, if any */
};

hlb_record *hc_record_new(const char *stream, const char *key, hlb_op op, int64_t time_ms,
			  struct json_object *body);
hlb_record *hc_record_clone(const hlb_record *rec);
void hc_record_free(hlb_record *rec);
int hc_record_set_str(char **field, const char *value);
/* Wall-clock milliseconds since the epoch, for record times. */
int64_t hc_wall_ms(void);

#endif
