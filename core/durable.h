/* What makes delivery at-least-once: the records one poll produced are
 * queued for their sinks in one transaction, and the plugin state the poll
 * staged (its cursor) is committed as a checkpoint only once every record
 * emitted up to it has reached a final state (delivered or dead) in every
 * sink. A crash in between re-reads from the last checkpoint; the store
 * drops re-read records still queued, and sinks get idempotency keys. */
#ifndef HC_DURABLE_H
#define HC_DURABLE_H

#include <stddef.h>
#include <stdint.h>

#include "graph.h"
#include "store.h"

typedef struct hc_batch hc_batch;

/* A checkpoint waiting for its records (kept per source, in order). */
typedef struct hc_cp hc_cp;

/* replay: the poll is read again from the last checkpoint if it is never
 * committed (HLB_CAP_REPLAY), so records a sink has room for may skip the
 * store: they wait in the sink's memory queue under the checkpoint. */
hc_batch *hc_batch_new(int replay);
void hc_batch_free(hc_batch *b);
/* A record on its way to a sink; the batch owns it until committed. */
int hc_batch_add(hc_batch *b, struct hlb_instance *sink, hlb_record *rec);
/* State a poll put (JSON text): seen at once by hc_state_latest, written
 * with the batch's checkpoint. */
int hc_state_stage(hc_batch *b, struct hlb_instance *inst, const char *key, const char *json);
size_t hc_batch_records(const hc_batch *b);
/* A history row a poll added: written with the batch's checkpoint. */
int hc_history_stage(hc_batch *b, const char *scope, const char *object, const char *change,
		     int64_t time_ms, const char *json);

/* Queues the batch's records and opens its checkpoint, in one
 * transaction. Then hands each newly queued record to `accept` (the sink's
 * memory queue), which returns 0 when the sink is full: such a record, and
 * any for a sink that reads its backlog from the store, is freed and read
 * back later. Records the store already held are freed. A replay batch
 * first offers each record to `accept` and queues in the store only those
 * refused. Returns 0, or -1 (nothing more queued, the rest freed; the
 * error is logged). */
int hc_batch_commit(hc_store *store, struct hlb_instance *src, hc_batch *b,
		    int (*accept)(struct hlb_instance *sink, hlb_record *rec));
/* The same for the records a poll emitted so far, while it goes on: they
 * are queued under the poll's checkpoint, which stays open (and is not
 * written) until hc_batch_commit closes it with the poll's state. */
int hc_batch_flush(hc_store *store, struct hlb_instance *src, hc_batch *b,
		   int (*accept)(struct hlb_instance *sink, hlb_record *rec));

/* The same, closing the checkpoint with the state and history the poll
 * staged so far (host->checkpoint): it is written once the records up to
 * here are final, and the poll's next records open a new one. */
int hc_batch_checkpoint(hc_store *store, struct hlb_instance *src, hc_batch *b,
			int (*accept)(struct hlb_instance *sink, hlb_record *rec));

/* A record reached a final state; call inside the transaction that records
 * that state. Writes every checkpoint now complete; hc_durable_settle
 * after that transaction forgets them (committed) or lets the next
 * hc_durable_final write them again (rolled back). */
int hc_durable_final(hc_store *store, hlb_record *rec);
void hc_durable_settle(struct hlb_instance *src, int committed);
/* A record a sink loaded from the store: if a checkpoint waits for it,
 * the record carries it from now on. */
void hc_durable_adopt(struct hlb_instance *sink, hlb_record *rec);
/* Frees the checkpoints of a source that were never completed. */
void hc_durable_forget(struct hlb_instance *src);

/* Latest state of an instance as the plugin last put it, committed or not
 * (a new reference), or NULL. */
struct json_object *hc_state_latest(hc_store *store, struct hlb_instance *inst, const char *key);
/* Remembers a value put outside a poll and writes it at once. */
int hc_state_put_now(hc_store *store, struct hlb_instance *inst, const char *key, const char *json);
void hc_state_forget(struct hlb_instance *inst);

#endif
