/* Seen webhook ids, for replay rejection. An id needs remembering only as
 * long as its delivery would pass the timestamp window: an older replay is
 * refused by its timestamp. So entries expire after `ttl_ms`, and memory is
 * bounded by `max_ids` (the oldest go first when it is full). */
#ifndef HC_REPLAY_H
#define HC_REPLAY_H

#include <stddef.h>
#include <stdint.h>

typedef struct hc_replay hc_replay;

hc_replay *hc_replay_new(int64_t ttl_ms, size_t max_ids);
void hc_replay_free(hc_replay *r);
/* 1 when `id` was seen within ttl_ms before now_ms (a replay), else
 * records it (seen at now_ms) and returns 0; -1 out of memory. */
int hc_replay_check(hc_replay *r, const char *id, int64_t now_ms);
/* Forgets `id` (its delivery was not accepted after all: a retry must be
 * processed). */
void hc_replay_forget(hc_replay *r, const char *id);
size_t hc_replay_count(const hc_replay *r);

#endif
