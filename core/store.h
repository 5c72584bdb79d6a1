/* The state store: durable sink queues, the dead-letter queue, and plugin
 * state (cursors, snapshots) committed with their checkpoints.
 *
 * This narrow interface is all the core knows of storage (DESIGN.md 7): no
 * SQL outside store_sqlite.c, so the store can later move to a distributed
 * engine without touching the engine or the plugins. */
#ifndef HC_STORE_H
#define HC_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "hlbridge/host.h"

typedef struct hc_store hc_store;

/* A queued record as the store gives it back. */
typedef struct hc_qrow {
	int64_t id;
	const char *sink;
	hlb_record *rec;      /* owned by the callback once handed over */
	unsigned attempts;
	int64_t due_ms;       /* wall clock; 0 = ready now */
	long last_status;
	const char *last_error;
} hc_qrow;

/* A dead-letter entry. */
typedef struct hc_dead {
	int64_t id;
	const char *sink, *key, *stream, *body, *error;
	unsigned attempts;
	long last_status;
	int64_t failed_ms;
} hc_dead;

/* Opens (creating if needed) the store in `dir`: a directory created with
 * mode 0700 if missing, holding hlbridge.db with mode 0600. ":memory:"
 * keeps everything in memory (nothing survives the process). A database
 * written by a newer hlbridge, or one that is not a readable database, is
 * refused with a message in err; nothing is ever reset silently. */
int hc_store_open(const char *dir, hc_store **out, char *err, size_t errlen);
void hc_store_close(hc_store *s);
const char *hc_store_path(const hc_store *s);
/* The last error, for log lines. */
const char *hc_store_error(const hc_store *s);

/* Groups the calls that follow into one transaction. */
int hc_store_begin(hc_store *s);
/* A transaction whose loss in a power cut costs only a redelivery (the
 * outcome of a delivery): committed without waiting for the disk; the
 * next ordinary commit makes it durable too, in order. */
int hc_store_begin_lazy(hc_store *s);
int hc_store_commit(hc_store *s);
void hc_store_rollback(hc_store *s);

/* Queues a record for a sink. Returns the new row id, 0 when the sink
 * already holds a record with that key (a re-read after a restart), or -1
 * on error. */
int64_t hc_store_enqueue(hc_store *s, const char *sink, const hlb_record *rec);
/* Final and interim outcomes of a delivery. */
int hc_store_ack(hc_store *s, int64_t id);
int hc_store_retry(hc_store *s, int64_t id, unsigned attempts, int64_t due_ms, long status,
		   const char *error);
int hc_store_bury(hc_store *s, int64_t id, unsigned attempts, long status, const char *error);
/* A record that never had a queue row goes straight to the dead-letter
 * queue of `sink`. */
int hc_store_bury_new(hc_store *s, const char *sink, const hlb_record *rec, unsigned attempts, long status,
		      const char *error);
/* Calls fn for up to `limit` queued records of a sink with id > after_id,
 * in id order. Returns the number handed over, or -1. */
int hc_store_load(hc_store *s, const char *sink, int64_t after_id, size_t limit,
		  void (*fn)(const hc_qrow *row, void *arg), void *arg);
/* Backlog of a sink: waiting (never tried), retrying, dead. */
int hc_store_counts(hc_store *s, const char *sink, int64_t *pending, int64_t *retrying, int64_t *dead);

/* Plugin state. get returns a malloc'ed JSON text, or NULL when unset. */
char *hc_store_state_get(hc_store *s, const char *instance, const char *key);
int hc_store_state_put(hc_store *s, const char *instance, const char *key, const char *json);
/* Every state row: fn(instance, key, value). */
int hc_store_state_each(hc_store *s, void (*fn)(const char *instance, const char *key,
						const char *value, void *arg), void *arg);

/* Dead-letter queue. sink NULL means every sink. */
int hc_store_dead_each(hc_store *s, const char *sink, void (*fn)(const hc_dead *d, void *arg), void *arg);
int hc_store_dead_get(hc_store *s, int64_t id, void (*fn)(const hc_dead *d, void *arg), void *arg);
/* Puts dead records back in their sink's queue (attempts reset). id 0
 * means all (of `sink`, or of every sink when NULL). Returns the number
 * moved, or -1. */
int64_t hc_store_dead_replay(hc_store *s, int64_t id, const char *sink);
int64_t hc_store_dead_drop(hc_store *s, int64_t id);

/* Change history rows that sources keep (host->history_add). */
typedef struct hc_history {
	int64_t id;
	const char *instance, *scope, *object, *change, *row;
	int64_t time_ms;
} hc_history;
int hc_store_history_add(hc_store *s, const char *instance, const char *scope, const char *object,
			 const char *change, int64_t time_ms, const char *row);
/* The newest `limit` rows (0: all) matching the filters (NULL: any), oldest
 * first. Returns the number of rows, or -1. */
int hc_store_history_each(hc_store *s, const char *instance, const char *scope, const char *object,
			  int64_t limit, void (*fn)(const hc_history *h, void *arg), void *arg);

/* Links between objects of two systems (host->link_put). A right-hand
 * object keeps one partner per system and scope: putting (L, R) removes
 * (L2, R) where L2 is another object of L's system and scope (the prefix
 * up to the second ':'). Written
 * in a transaction of its own unless one is open. */
typedef struct hc_link {
	const char *left, *right, *instance, *info; /* info may be NULL */
	int64_t created_ms, updated_ms;
} hc_link;
int hc_store_link_put(hc_store *s, const char *instance, const char *left, const char *right, const char *info,
		      int64_t now_ms);
/* Returns the number removed (0 or 1), or -1. */
int hc_store_link_remove(hc_store *s, const char *left, const char *right);
/* The links of `object` on either side (NULL: every link). Returns the
 * number of links, or -1. */
int hc_store_link_each(hc_store *s, const char *object, void (*fn)(const hc_link *l, void *arg), void *arg);

/* What hlbridge wrote to an object (host->echo_put): one row per write, a
 * JSON object of fields; rows older than keep_ms are dropped on the way.
 * echo_since calls fn for each write after since_ms, oldest first, and
 * returns how many, or -1. */
int hc_store_echo_put(hc_store *s, const char *instance, const char *object, const char *fields, int64_t time_ms,
		      int64_t keep_ms);
int hc_store_echo_since(hc_store *s, const char *object, int64_t since_ms,
			void (*fn)(int64_t time_ms, const char *fields, void *arg), void *arg);

#endif
