/* An Octorate reservation as an hlbridge record: the one mapping shared by
 * the polling source (octorate.c) and the webhook intake (whose `content`
 * is the same reservation JSON), so that both emit identical records and
 * share the dedup state ("r:<acc>:<id>" = {t: updateTime ms, h: hash}). */
#ifndef OCTORATE_RECORD_H
#define OCTORATE_RECORD_H

#include <stdint.h>

#include "hlbridge/host.h"

struct json_object;

#define OCTO_STREAM "octorate.reservations"

typedef struct octo_res {
	struct json_object *body; /* owned: pass to record_new or put it */
	char id[72];              /* reservation id, as the JSON text wrote it */
	char key[160];            /* "<acc>:<id>": the record key (no time in it) */
	char object[200];         /* "octorate:<acc>:reservation:<id>" */
	char state_key[160];      /* "r:<acc>:<id>": its dedup entry */
	int64_t time_ms;          /* updateTime, or -1 when it has none */
	char hash[17];            /* content hash of the body without updateTime */
} octo_res;

/* Builds the record body of reservation `res` of accommodation `acc`
 * (phones read with default region `country`). HLB_OK; HLB_EPARSE when it
 * has no usable id; HLB_ENOMEM. */
int octo_res_build(const char *acc, struct json_object *res, const char *country, octo_res *out);

typedef enum octo_dedup {
	OCTO_NEW = 0,      /* never seen, or changed: emit */
	OCTO_SEEN = 1,     /* this updateTime (or a newer one) was handled already;
			    * also other content with an older updateTime (out of
			    * order: the newer state was emitted) */
	OCTO_SAME = 2      /* newer updateTime, same content (an echo): skip, keep t */
} octo_dedup;

/* What a reservation is against its stored dedup entry (NULL: none). */
octo_dedup octo_res_dedup(struct json_object *stored, int64_t time_ms, const char *hash);
/* The dedup entry {t, h}: a new object. */
struct json_object *octo_res_entry(int64_t time_ms, const char *hash);

/* The whole path: builds, checks the dedup entry in the instance's state,
 * emits with `job` and stages the new entry with it (state_put with the
 * job). Returns 1 when a record was emitted, 0 when skipped, or an error. */
int octo_res_emit(const hlb_host *host, hlb_instance *inst, hlb_job *job, const char *acc,
		  struct json_object *res, const char *country);

#endif
