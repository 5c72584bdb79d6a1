/* The engine of the `threshold` transform (threshold.c): the threshold_*
 * functions, which reach nothing of the host but its JSON paths, so that
 * tests/test_threshold.c drives them with a table of path functions. */
#ifndef HLB_THRESHOLD_H
#define HLB_THRESHOLD_H

#include <stddef.h>
#include <stdint.h>

#include "hlbridge/hlbridge.h"

struct json_object;
struct thr;

/* A new engine for the instance called `name` (alert name and key prefix)
 * with the bound `when`; NULL with a message in err. */
struct thr *threshold_new(const hlb_host *host, const char *name, const char *when, char *err, size_t errlen);
/* Comma-separated paths that make a group; HLB_EINVAL with err. */
int threshold_group_by(struct thr *t, const char *list, char *err, size_t errlen);
/* Count mode: more than `count` matches within window_ms (> 0). */
int threshold_window(struct thr *t, int64_t window_ms, int64_t count, char *err, size_t errlen);
void threshold_cooldown(struct thr *t, int64_t cooldown_ms);
/* The path whose value an alert reports as `value`. */
int threshold_value(struct thr *t, const char *path, char *err, size_t errlen);
/* The alert's message: text with {{$.path}} taken from the record. */
int threshold_message(struct thr *t, const char *tmpl, char *err, size_t errlen);
/* Feeds one record body at time_ms. Returns 1 with a new alert body and a
 * malloc'd key when it crosses the bound, 0 when not, or an error. */
int threshold_feed(struct thr *t, struct json_object *body, int64_t time_ms, struct json_object **alert,
		   char **key);
/* What changed since the last threshold_save: THR_SAVE_NOW (a group alerted
 * or re-armed), THR_SAVE_SOON (only the windows of groups waiting to re-arm
 * moved), or 0. */
#define THR_SAVE_SOON 1
#define THR_SAVE_NOW 2
int threshold_dirty(const struct thr *t);
/* The crossing state to keep (new reference), and back. threshold_load
 * returns 0, or -1 when the state was made for other conditions. */
struct json_object *threshold_save(struct thr *t);
int threshold_load(struct thr *t, struct json_object *state);
size_t threshold_groups(const struct thr *t);
/* Groups forgotten because THR_MAX_GROUPS were tracked. */
uint64_t threshold_evicted(const struct thr *t);
void threshold_free(struct thr *t);

#endif
