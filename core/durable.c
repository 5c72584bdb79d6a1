#include "durable.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "log.h"
#include "record.h"

/* A JSON text kept once for the value a poll staged and the instance's
 * latest value: a tag snapshot is tens of kilobytes per location. */
struct text {
	size_t refs;
	char s[];
};

/* State a poll put: written with the poll's checkpoint. */
struct staged {
	char *key;
	struct text *json;
};

/* History rows a poll added, packed one after another: the time, then
 * scope, object, change and row as C strings. A first sync adds a row per
 * object; as many small allocations would cost more than the rows. */
struct hist_block {
	struct hist_block *next;
	size_t used, cap;
	char data[];
};
#define HIST_BLOCK (64u << 10)

/* What a poll staged: its state, the last value put per key, and its
 * history rows, all of them in order. Kept apart, so that a state put does
 * not look through thousands of history rows for its key. */
struct stage {
	struct staged *st;
	size_t nst, capst;
	struct hist_block *hist, *hist_tail;
	size_t nhist;
};

struct hc_cp {
	size_t remaining;        /* queued records not yet final */
	int open;                /* its poll goes on: never committed yet */
	int written;             /* written in the transaction under way */
	struct stage stage;
	struct hlb_instance *src;
	struct hc_cp *next;
};

struct pending {
	struct hlb_instance *sink;
	hlb_record *rec;
};

struct hc_batch {
	struct pending *p;
	size_t n, cap;
	struct stage stage;
	hc_cp *open;             /* the checkpoint a flush opened (the source owns it) */
	int failed;              /* a part could not be queued: this poll's
				  * checkpoint must never be written */
	int replay;              /* its poll is read again if never committed:
				  * records may wait in memory (HLB_CAP_REPLAY) */
};

/* Records queued only in the store (their sink was reading a backlog) and
 * the checkpoints waiting for them, in row order: when the sink loads the
 * row, the loaded record takes the checkpoint over. */
struct hc_orphans {
	struct orphan {
		int64_t id;
		hc_cp *cp;
	} *o;
	size_t head, n, cap;
};

static int orphan_push(struct hlb_instance *sink, int64_t id, hc_cp *cp)
{
	struct hc_orphans *q = sink->orphans;

	if (!q && !(q = sink->orphans = calloc(1, sizeof(*q))))
		return -1;
	if (q->head && q->head == q->n)
		q->head = q->n = 0;
	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 64;
		struct orphan *o = realloc(q->o, cap * sizeof(*o));

		if (!o)
			return -1;
		q->o = o;
		q->cap = cap;
	}
	q->o[q->n].id = id;
	q->o[q->n].cp = cp;
	q->n++;
	return 0;
}

void hc_durable_adopt(struct hlb_instance *sink, hlb_record *rec)
{
	struct hc_orphans *q = sink->orphans;

	/* rows go to the store and come back in the same, increasing order */
	while (q && q->head < q->n && q->o[q->head].id < rec->row_id)
		q->head++;
	if (q && q->head < q->n && q->o[q->head].id == rec->row_id)
		rec->cp = q->o[q->head++].cp;
}

/* The newest value an instance put, so a poll sees its own cursor before
 * the checkpoint holding it is committed. */
struct hc_latest {
	char *key;
	uint64_t hash;
	struct text *json;
	struct hc_latest *next;   /* hash chain */
};

/* An instance's latest state by key: a hash table, since a source may keep
 * a key per object (a reservation's dedup entry, a contact's fields) and
 * looks one up per record. */
struct hc_latest_map {
	struct hc_latest **b;
	size_t nb, n;
};

static struct text *text_new(const char *s)
{
	size_t n = strlen(s) + 1;
	struct text *t = malloc(sizeof(*t) + n);

	if (t) {
		t->refs = 1;
		memcpy(t->s, s, n);
	}
	return t;
}

static struct text *text_ref(struct text *t)
{
	t->refs++;
	return t;
}

static void text_unref(struct text *t)
{
	if (t && --t->refs == 0)
		free(t);
}

hc_batch *hc_batch_new(int replay)
{
	hc_batch *b = calloc(1, sizeof(hc_batch));

	if (b)
		b->replay = replay;
	return b;
}

static void free_stage(struct stage *st)
{
	for (size_t i = 0; i < st->nst; i++) {
		free(st->st[i].key);
		text_unref(st->st[i].json);
	}
	free(st->st);
	while (st->hist) {
		struct hist_block *next = st->hist->next;

		free(st->hist);
		st->hist = next;
	}
	memset(st, 0, sizeof(*st));
}

void hc_batch_free(hc_batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++)
		hc_record_free(b->p[i].rec);
	free(b->p);
	free_stage(&b->stage);
	free(b);
}

int hc_batch_add(hc_batch *b, struct hlb_instance *sink, hlb_record *rec)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		struct pending *p = realloc(b->p, cap * sizeof(*p));

		if (!p) {
			hc_record_free(rec);
			return -1;
		}
		b->p = p;
		b->cap = cap;
	}
	b->p[b->n].sink = sink;
	b->p[b->n].rec = rec;
	b->n++;
	return 0;
}

size_t hc_batch_records(const hc_batch *b)
{
	return b->n;
}

static int set_staged(struct stage *stage, const char *key, struct text *json)
{
	struct staged *st;

	for (size_t i = 0; i < stage->nst; i++)
		if (strcmp(stage->st[i].key, key) == 0) {
			text_unref(stage->st[i].json);
			stage->st[i].json = text_ref(json);
			return 0;
		}
	if (stage->nst == stage->capst) {
		size_t cap = stage->capst ? stage->capst * 2 : 4;

		st = realloc(stage->st, cap * sizeof(*st));
		if (!st)
			return -1;
		stage->st = st;
		stage->capst = cap;
	}
	st = &stage->st[stage->nst];
	st->key = strdup(key);
	if (!st->key)
		return -1;
	st->json = text_ref(json);
	stage->nst++;
	return 0;
}

static int write_stage(hc_store *store, const char *instance, const struct stage *stage)
{
	for (size_t i = 0; i < stage->nst; i++)
		if (hc_store_state_put(store, instance, stage->st[i].key, stage->st[i].json->s) < 0)
			return -1;
	for (const struct hist_block *h = stage->hist; h; h = h->next)
		for (size_t at = 0; at < h->used;) {
			int64_t time_ms;
			const char *scope, *object, *change, *json;

			memcpy(&time_ms, h->data + at, sizeof(time_ms));
			scope = h->data + at + sizeof(time_ms);
			object = scope + strlen(scope) + 1;
			change = object + strlen(object) + 1;
			json = change + strlen(change) + 1;
			at = (size_t)(json + strlen(json) + 1 - h->data);
			if (hc_store_history_add(store, instance, scope, object, change, time_ms, json) < 0)
				return -1;
		}
	return 0;
}

static int write_cp(hc_store *store, hc_cp *cp)
{
	return write_stage(store, cp->src->state_name, &cp->stage);
}

static void free_cp(hc_cp *cp)
{
	free_stage(&cp->stage);
	free(cp);
}

/* Commits the complete checkpoints at the head of a source's list: they
 * go in order, so a later one never overtakes an earlier one. */
static int advance(hc_store *store, struct hlb_instance *src)
{
	hc_cp *cp = src->cp_head;

	while (cp && cp->written)
		cp = cp->next;
	for (; cp && cp->remaining == 0 && !cp->open; cp = cp->next) {
		if (write_cp(store, cp) < 0)
			return -1;
		cp->written = 1;
	}
	return 0;
}

void hc_durable_settle(struct hlb_instance *src, int committed)
{
	if (!committed) {
		/* rolled back: written again by the next advance */
		for (hc_cp *cp = src->cp_head; cp; cp = cp->next)
			cp->written = 0;
		return;
	}
	while (src->cp_head && src->cp_head->written) {
		hc_cp *cp = src->cp_head;

		src->cp_head = cp->next;
		if (!src->cp_head)
			src->cp_tail = NULL;
		free_cp(cp);
	}
}

/* Offers a replay batch's records to their sinks' memory queues first: a
 * record a sink takes waits there under the checkpoint, and stays out of
 * the store. Returns how many are left for the store. */
static size_t take_in_memory(hc_batch *b, hc_cp *cp, int (*accept)(struct hlb_instance *sink, hlb_record *rec))
{
	size_t left = 0;

	for (size_t i = 0; i < b->n; i++) {
		hlb_record *rec = b->p[i].rec;

		if (cp && b->replay) {
			rec->row_id = 0;
			rec->cp = cp;
			cp->remaining++;
			if (accept(b->p[i].sink, rec)) {
				b->p[i].rec = NULL; /* the sink's now */
				continue;
			}
			rec->cp = NULL;
			cp->remaining--;
		}
		left++;
	}
	return left;
}

static void link_cp(struct hlb_instance *src, hc_cp *cp)
{
	if (src->cp_tail)
		src->cp_tail->next = cp;
	else
		src->cp_head = cp;
	src->cp_tail = cp;
}

/* FLUSH queues what a poll emitted so far under the poll's checkpoint,
 * opened now and kept open, so that a poll's records never wait in memory
 * for its end; CHECKPOINT closes it with what was staged so far while the
 * poll goes on (host->checkpoint); FINAL closes it at the poll's end, and
 * only it waits for the disk (synchronous = FULL). A closed checkpoint is
 * written once every record before it is final. */
enum commit_mode { FLUSH, CHECKPOINT, FINAL };

/* Nothing to wait for, and no older checkpoint to wait behind. */
static int ready(const struct hlb_instance *src, const hc_cp *cp, int fresh)
{
	return cp->remaining == 0 && (fresh ? !src->cp_head : src->cp_head == cp);
}

static int commit(hc_store *store, struct hlb_instance *src, hc_batch *b,
		  int (*accept)(struct hlb_instance *sink, hlb_record *rec), enum commit_mode mode)
{
	hc_cp *cp = b->open;
	int fresh = 0, written = 0, closing = mode != FLUSH;
	size_t left;

	/* After a part was lost, the poll's state would skip its records: it
	 * is dropped, and an open checkpoint stays open (so never written)
	 * until the restart that reads the poll again. What else it emitted
	 * may still be queued; the re-read finds those already there. */
	if (b->failed) {
		free_stage(&b->stage);
		cp = NULL;
	}
	if (!cp && !b->failed && (b->stage.nst || b->stage.nhist || mode == FLUSH)) {
		cp = calloc(1, sizeof(*cp));
		if (!cp)
			goto fail;
		cp->src = src;
		fresh = 1;
	}
	left = take_in_memory(b, cp, accept);
	/* a flush can be lost in a power cut at no cost but a re-read: the
	 * checkpoint that would skip its records is not written with it */
	if (left || mode == FINAL || (mode == CHECKPOINT && cp && ready(src, cp, fresh))) {
		if ((mode == FINAL ? hc_store_begin(store) : hc_store_begin_lazy(store)) < 0)
			goto fail;
		for (size_t i = 0; i < b->n; i++) {
			if (!b->p[i].rec)
				continue;
			int64_t id = hc_store_enqueue(store, b->p[i].sink->sec->name, b->p[i].rec);

			if (id < 0)
				goto fail;
			b->p[i].rec->row_id = id;
			if (cp && id > 0) {
				b->p[i].rec->cp = cp;
				cp->remaining++;
			}
		}
		if (closing && cp && ready(src, cp, fresh)) {
			if (write_stage(store, src->state_name, &b->stage) < 0)
				goto fail;
			written = 1;
		}
		if (hc_store_commit(store) < 0)
			goto fail;
	}
	if (closing && cp) {
		/* an open checkpoint has staged nothing yet: the closing commit
		 * brings all of it */
		cp->stage = b->stage;
		memset(&b->stage, 0, sizeof(b->stage));
		cp->open = 0;
		b->open = NULL;
		if (written) {
			if (!fresh) {
				src->cp_head = cp->next;
				if (!src->cp_head)
					src->cp_tail = NULL;
			}
			free_cp(cp);
		}
	} else if (cp) {
		cp->open = 1;
		b->open = cp;
	}
	if (cp && fresh && !written)
		link_cp(src, cp);
	for (size_t i = 0; i < b->n; i++) {
		struct pending *p = &b->p[i];

		if (!p->rec)
			continue;
		int64_t id = p->rec->row_id;

		if (id > 0 && !p->sink->backlog && accept(p->sink, p->rec)) {
			if (id > p->sink->cursor)
				p->sink->cursor = id;
		} else {
			if (p->rec->cp && orphan_push(p->sink, p->rec->row_id, p->rec->cp) < 0)
				hc_log(p->sink->sec->label, HLB_LOG_ERROR, "out of memory: a checkpoint "
				       "will wait until the next start");
			hc_record_free(p->rec);
		}
		p->rec = NULL;
	}
	b->n = 0;
	return 0;
fail:
	hc_log(src->sec->label, HLB_LOG_ERROR, "cannot queue %zu records: %s; they will be read again",
	       b->n, hc_store_error(store));
	hc_store_rollback(store);
	for (size_t i = 0; i < b->n; i++) {
		if (!b->p[i].rec)
			continue;
		if (b->p[i].rec->cp == cp && cp)
			cp->remaining--;
		hc_record_free(b->p[i].rec);
		b->p[i].rec = NULL;
	}
	if (cp && fresh) {
		/* Records a sink took in memory still point at it: it waits
		 * for them, open, so it is never written. */
		if (cp->remaining) {
			cp->open = 1;
			b->open = cp;
			link_cp(src, cp);
		} else {
			free_cp(cp);
		}
	}
	b->n = 0;
	b->failed = 1;
	return -1;
}

int hc_batch_flush(hc_store *store, struct hlb_instance *src, hc_batch *b,
		   int (*accept)(struct hlb_instance *sink, hlb_record *rec))
{
	return b->n ? commit(store, src, b, accept, FLUSH) : 0;
}

int hc_batch_checkpoint(hc_store *store, struct hlb_instance *src, hc_batch *b,
			int (*accept)(struct hlb_instance *sink, hlb_record *rec))
{
	return commit(store, src, b, accept, CHECKPOINT);
}

int hc_batch_commit(hc_store *store, struct hlb_instance *src, hc_batch *b,
		    int (*accept)(struct hlb_instance *sink, hlb_record *rec))
{
	return commit(store, src, b, accept, FINAL);
}

int hc_durable_final(hc_store *store, hlb_record *rec)
{
	hc_cp *cp = rec->cp;

	rec->cp = NULL;
	if (!cp)
		return 0;
	if (cp->remaining)
		cp->remaining--;
	return cp->remaining ? 0 : advance(store, cp->src);
}

void hc_durable_forget(struct hlb_instance *src)
{
	if (src->orphans) {
		free(src->orphans->o);
		free(src->orphans);
		src->orphans = NULL;
	}
	while (src->cp_head) {
		hc_cp *cp = src->cp_head;

		src->cp_head = cp->next;
		free_cp(cp);
	}
	src->cp_tail = NULL;
}

static uint64_t key_hash(const char *key)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return h;
}

static struct hc_latest *find_latest(struct hlb_instance *inst, const char *key)
{
	struct hc_latest_map *m = inst->latest;
	uint64_t h;

	if (!m || !m->n)
		return NULL;
	h = key_hash(key);
	for (struct hc_latest *l = m->b[h & (m->nb - 1)]; l; l = l->next)
		if (l->hash == h && strcmp(l->key, key) == 0)
			return l;
	return NULL;
}

/* Doubles the buckets when the chains grow past 1 on average. */
static int latest_grow(struct hc_latest_map *m)
{
	size_t nb = m->nb ? m->nb * 2 : 64;
	struct hc_latest **b = calloc(nb, sizeof(*b));

	if (!b)
		return -1;
	for (size_t i = 0; i < m->nb; i++)
		while (m->b[i]) {
			struct hc_latest *l = m->b[i];

			m->b[i] = l->next;
			l->next = b[l->hash & (nb - 1)];
			b[l->hash & (nb - 1)] = l;
		}
	free(m->b);
	m->b = b;
	m->nb = nb;
	return 0;
}

static int remember(struct hlb_instance *inst, const char *key, struct text *json)
{
	struct hc_latest *l = find_latest(inst, key);

	if (!l) {
		struct hc_latest_map *m = inst->latest;

		if (!m && !(m = inst->latest = calloc(1, sizeof(*m))))
			return -1;
		if (m->n >= m->nb && latest_grow(m) < 0)
			return -1;
		l = calloc(1, sizeof(*l));
		if (!l || !(l->key = strdup(key))) {
			free(l);
			return -1;
		}
		l->hash = key_hash(key);
		l->next = m->b[l->hash & (m->nb - 1)];
		m->b[l->hash & (m->nb - 1)] = l;
		m->n++;
	}
	text_unref(l->json);
	l->json = text_ref(json);
	return 0;
}

struct json_object *hc_state_latest(hc_store *store, struct hlb_instance *inst, const char *key)
{
	/* A credential's tokens are written at once and may be rotated by
	 * another process (hlbridge auth login, a second daemon): always
	 * read what the store holds. */
	struct hc_latest *l = inst->role == HLB_CAP_AUTH ? NULL : find_latest(inst, key);
	char *stored = NULL;
	struct json_object *v;

	if (!l) {
		stored = hc_store_state_get(store, inst->state_name, key);
		if (!stored)
			return NULL;
	}
	v = json_tokener_parse(l ? l->json->s : stored);
	free(stored);
	return v;
}

int hc_state_put_now(hc_store *store, struct hlb_instance *inst, const char *key, const char *json)
{
	if (inst->role != HLB_CAP_AUTH) {
		struct text *t = text_new(json);
		int rc = t ? remember(inst, key, t) : -1;

		text_unref(t);
		return rc < 0 ? -1 : hc_store_state_put(store, inst->state_name, key, json);
	}
	/* A rotated refresh token is the only one that works: it must reach
	 * the disk (synchronous = FULL) before the new access token is used,
	 * whatever the deliveries around it committed lazily. */
	if (hc_store_begin(store) < 0)
		return -1;
	if (hc_store_state_put(store, inst->state_name, key, json) < 0 || hc_store_commit(store) < 0) {
		hc_store_rollback(store);
		return -1;
	}
	return 0;
}

int hc_history_stage(hc_batch *b, const char *scope, const char *object, const char *change,
		     int64_t time_ms, const char *json)
{
	const char *parts[] = { scope, object, change, json };
	size_t len[4], need = sizeof(time_ms);
	struct hist_block *h = b->stage.hist_tail;
	char *at;

	for (int i = 0; i < 4; i++) {
		len[i] = strlen(parts[i]) + 1;
		need += len[i];
	}
	if (!h || h->cap - h->used < need) {
		/* small first: a checkpoint per location may hold one row */
		size_t cap = h ? (h->cap * 2 < HIST_BLOCK ? h->cap * 2 : HIST_BLOCK) : 512;

		if (cap < need)
			cap = need;

		h = malloc(sizeof(*h) + cap);
		if (!h)
			return -1;
		h->next = NULL;
		h->used = 0;
		h->cap = cap;
		if (b->stage.hist_tail)
			b->stage.hist_tail->next = h;
		else
			b->stage.hist = h;
		b->stage.hist_tail = h;
	}
	at = h->data + h->used;
	memcpy(at, &time_ms, sizeof(time_ms));
	at += sizeof(time_ms);
	for (int i = 0; i < 4; i++) {
		memcpy(at, parts[i], len[i]);
		at += len[i];
	}
	h->used += need;
	b->stage.nhist++;
	return 0;
}

int hc_state_stage(hc_batch *b, struct hlb_instance *inst, const char *key, const char *json)
{
	struct text *t = text_new(json);
	int rc = t && remember(inst, key, t) == 0 && set_staged(&b->stage, key, t) == 0 ? 0 : -1;

	text_unref(t);
	return rc;
}

void hc_state_forget(struct hlb_instance *inst)
{
	struct hc_latest_map *m = inst->latest;

	if (!m)
		return;
	for (size_t i = 0; i < m->nb; i++)
		while (m->b[i]) {
			struct hc_latest *l = m->b[i];

			m->b[i] = l->next;
			free(l->key);
			text_unref(l->json);
			free(l);
		}
	free(m->b);
	free(m);
	inst->latest = NULL;
}
