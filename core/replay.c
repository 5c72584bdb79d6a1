/* Seen webhook ids: see replay.h.
 *
 * Two structures share the entries: a hash table (open addressing, linear
 * probing, deletion by backward shift, so no tombstones) finds an id, and a
 * FIFO ring in arrival order expires them: the oldest is at the head, so
 * expiry and the cap only ever look at the head. Each operation is O(1)
 * amortised.
 *
 * Ids come from the network. An id is matched on a seeded 64-bit hash of the
 * whole string, its length and its first ID_KEEP bytes, which are all that
 * is stored: a longer id costs no more memory, and two long ids that share
 * their first ID_KEEP bytes and length are told apart by the hash (a false
 * match needs a 64-bit collision under a seed the sender does not know).
 *
 * A forgotten id leaves the table at once but stays in the ring, marked
 * dead, until it reaches the head (unless it was the newest, the usual case
 * of check-then-forget, which is dropped at once). The ring's length,
 * dead entries included, is what max_ids bounds, so memory is bounded even
 * under a stream of check-and-forget. */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include "replay.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ID_KEEP 128

struct entry {
	uint64_t hash;
	int64_t seen;
	size_t len;       /* the whole id's length */
	int dead;         /* forgotten: in the ring, no longer in the table */
	char id[];        /* its first min(len, ID_KEEP) bytes, NUL-terminated */
};

struct hc_replay {
	int64_t ttl_ms;
	size_t max_ids;
	uint64_t seed;
	struct entry **slot;  /* the table; cap a power of two */
	size_t cap, live;
	struct entry **ring;  /* arrival order: ring[head], ..., oldest first */
	size_t rcap, head, rlen;
};

/* FNV-1a over the seed and the bytes, then a final mix (splitmix64's) so
 * that the low bits the table uses depend on every input bit. */
static uint64_t hash_id(uint64_t seed, const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull ^ seed;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	return h ^ (h >> 31);
}

static uint64_t make_seed(const void *self)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 32 ^ (uint64_t)(uintptr_t)self;
}

hc_replay *hc_replay_new(int64_t ttl_ms, size_t max_ids)
{
	hc_replay *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->ttl_ms = ttl_ms;
	r->max_ids = max_ids ? max_ids : 1;
	r->seed = make_seed(r);
	return r;
}

void hc_replay_free(hc_replay *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->rlen; i++)
		free(r->ring[(r->head + i) % r->rcap]);
	free(r->ring);
	free(r->slot);
	free(r);
}

size_t hc_replay_count(const hc_replay *r)
{
	return r ? r->live : 0;
}

/* ---- the table ---------------------------------------------------------- */

static int same(const struct entry *e, uint64_t h, const char *id, size_t len)
{
	return e->hash == h && e->len == len && memcmp(e->id, id, len < ID_KEEP ? len : ID_KEEP) == 0;
}

/* The slot holding the id, or the empty slot where it would go. */
static size_t find_slot(const hc_replay *r, uint64_t h, const char *id, size_t len)
{
	size_t mask = r->cap - 1, i = (size_t)h & mask;

	while (r->slot[i] && !same(r->slot[i], h, id, len))
		i = (i + 1) & mask;
	return i;
}

static int table_grow(hc_replay *r)
{
	size_t cap = r->cap ? r->cap * 2 : 64;
	struct entry **slot = calloc(cap, sizeof(*slot));

	if (!slot)
		return -1;
	for (size_t j = 0; j < r->cap; j++) {
		size_t i;

		if (!r->slot[j])
			continue;
		for (i = (size_t)r->slot[j]->hash & (cap - 1); slot[i]; i = (i + 1) & (cap - 1))
			;
		slot[i] = r->slot[j];
	}
	free(r->slot);
	r->slot = slot;
	r->cap = cap;
	return 0;
}

/* Removes slot i, moving later entries of its probe run back so that every
 * entry stays reachable from its home slot without tombstones. */
static void table_remove_at(hc_replay *r, size_t i)
{
	size_t mask = r->cap - 1, j = i;

	r->slot[i] = NULL;
	r->live--;
	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (!r->slot[j])
			return;
		home = (size_t)r->slot[j]->hash & mask;
		/* leave it when its home lies cyclically in (i, j] */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		r->slot[i] = r->slot[j];
		r->slot[j] = NULL;
		i = j;
	}
}

static void table_remove(hc_replay *r, const struct entry *e)
{
	size_t i = find_slot(r, e->hash, e->id, e->len);

	if (r->slot[i] == e)
		table_remove_at(r, i);
}

/* ---- the ring ----------------------------------------------------------- */

static int ring_grow(hc_replay *r)
{
	size_t rcap = r->rcap ? r->rcap * 2 : 64;
	struct entry **ring;

	if (rcap > r->max_ids)
		rcap = r->max_ids;
	ring = malloc(rcap * sizeof(*ring));
	if (!ring)
		return -1;
	for (size_t i = 0; i < r->rlen; i++)
		ring[i] = r->ring[(r->head + i) % r->rcap];
	free(r->ring);
	r->ring = ring;
	r->rcap = rcap;
	r->head = 0;
	return 0;
}

static void pop_oldest(hc_replay *r)
{
	struct entry *e = r->ring[r->head];

	r->head = (r->head + 1) % r->rcap;
	r->rlen--;
	if (!e->dead)
		table_remove(r, e);
	free(e);
}

static int expired(const hc_replay *r, const struct entry *e, int64_t now_ms)
{
	return now_ms - e->seen >= r->ttl_ms;
}

/* Drops the expired and dead entries at the head. */
static void trim(hc_replay *r, int64_t now_ms)
{
	while (r->rlen && (r->ring[r->head]->dead || expired(r, r->ring[r->head], now_ms)))
		pop_oldest(r);
}

/* ---- the interface ------------------------------------------------------ */

static struct entry *entry_new(uint64_t h, const char *id, size_t len, int64_t now_ms)
{
	size_t keep = len < ID_KEEP ? len : ID_KEEP;
	struct entry *e = malloc(sizeof(*e) + keep + 1);

	if (!e)
		return NULL;
	e->hash = h;
	e->seen = now_ms;
	e->len = len;
	e->dead = 0;
	memcpy(e->id, id, keep);
	e->id[keep] = '\0';
	return e;
}

int hc_replay_check(hc_replay *r, const char *id, int64_t now_ms)
{
	size_t len = strlen(id), i;
	uint64_t h = hash_id(r->seed, id, len);
	struct entry *e;

	trim(r, now_ms);
	if (r->cap && r->slot[i = find_slot(r, h, id, len)]) {
		e = r->slot[i];
		/* the clock went back, or an entry is out of arrival order */
		if (!expired(r, e, now_ms))
			return 1;
		table_remove_at(r, i);
		e->dead = 1;
	}
	while (r->rlen >= r->max_ids)  /* room for one more: the oldest goes */
		pop_oldest(r);
	if ((r->live + 1) * 2 > r->cap && table_grow(r) < 0)
		return -1;
	if (r->rlen == r->rcap && ring_grow(r) < 0)
		return -1;
	e = entry_new(h, id, len, now_ms);
	if (!e)
		return -1;
	r->slot[find_slot(r, h, id, len)] = e;
	r->live++;
	r->ring[(r->head + r->rlen++) % r->rcap] = e;
	return 0;
}

void hc_replay_forget(hc_replay *r, const char *id)
{
	size_t len = strlen(id), i, last;
	uint64_t h = hash_id(r->seed, id, len);
	struct entry *e;

	if (!r->cap || !(e = r->slot[i = find_slot(r, h, id, len)]))
		return;
	table_remove_at(r, i);
	last = (r->head + r->rlen - 1) % r->rcap;
	if (r->ring[last] == e) {
		r->rlen--;
		free(e);
	} else {
		e->dead = 1;
	}
}
