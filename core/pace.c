/* Quota pacing buckets (see pace.h for the model). */
#include "pace.h"

#include <stdlib.h>
#include <string.h>

#define RING_MIN 8
#define MERGE_STEPS 256 /* spent tokens due within interval/256 share a slot */

struct slot {
	int64_t first; /* the earliest time one of them could come back */
	int64_t due;   /* when they all come back */
	uint64_t n;
};

struct hc_pace {
	uint32_t max;          /* effective limit; 0: none */
	int64_t interval;
	uint32_t cfg_max;      /* as last declared by hc_pace_configure */
	int64_t cfg_interval;
	struct slot *ring;     /* spent tokens, oldest first */
	size_t cap, head, len; /* cap is a power of two */
	uint64_t used;         /* sum of the ring's counts */
	uint64_t spent;        /* every token ever put in the ring */
	int64_t blocked_until;
	int throttled;         /* in a 429 episode, already reported */
	int parked;            /* the daily quota ran out, already reported */
	hc_pace_stats st;
};

/* The server counts a request when it arrives, a little after it was sent.
 * Were a token back exactly one interval after its request was sent, a
 * request that meets less delay than the one it replaces could arrive while
 * that one is still inside the server's window. Two percent of the interval
 * (and no less than 50 ms unless the interval is tiny) absorbs that. */
static int64_t margin(int64_t interval)
{
	int64_t m = interval / 50;

	if (m < 50)
		m = interval / 10 < 50 ? interval / 10 : 50;
	return m;
}

static int64_t merge_step(const hc_pace *p)
{
	return p->interval / MERGE_STEPS > 0 ? p->interval / MERGE_STEPS : 1;
}

hc_pace *hc_pace_new(void)
{
	hc_pace *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	/* Allocated up front so that spending a token can always fall back
	 * to merging into the last slot and never fails. */
	p->ring = malloc(RING_MIN * sizeof(*p->ring));
	if (!p->ring) {
		free(p);
		return NULL;
	}
	p->cap = RING_MIN;
	return p;
}

void hc_pace_free(hc_pace *p)
{
	if (!p)
		return;
	free(p->ring);
	free(p);
}

static struct slot *slot_at(hc_pace *p, size_t i)
{
	return &p->ring[(p->head + i) & (p->cap - 1)];
}

static int grow(hc_pace *p)
{
	struct slot *r;

	if (p->cap > SIZE_MAX / 2 / sizeof(*r))
		return -1;
	r = malloc(p->cap * 2 * sizeof(*r));
	if (!r)
		return -1;
	for (size_t i = 0; i < p->len; i++)
		r[i] = *slot_at(p, i);
	free(p->ring);
	p->ring = r;
	p->head = 0;
	p->cap *= 2;
	return 0;
}

/* Tokens whose time has come are free again. */
static void expire(hc_pace *p, int64_t now)
{
	while (p->len && p->ring[p->head].due <= now) {
		p->used -= p->ring[p->head].n;
		p->head = (p->head + 1) & (p->cap - 1);
		p->len--;
	}
	if (!p->len)
		p->head = 0;
}

/* Puts n tokens out until `due`. The last slot takes them when it started
 * no more than a merge step earlier: merged tokens come back with the
 * latest of them, at most one step late, which errs on the side of the
 * quota. */
static void push(hc_pace *p, int64_t due, uint64_t n)
{
	if (p->len) {
		struct slot *last = slot_at(p, p->len - 1);

		if (last->first + merge_step(p) >= due || (p->len == p->cap && grow(p) < 0)) {
			if (due > last->due)
				last->due = due;
			last->n += n;
			p->used += n;
			return;
		}
	}
	*slot_at(p, p->len) = (struct slot){ due, due, n };
	p->len++;
	p->used += n;
}

/* Puts one token out until `due`, which may be earlier than the last
 * slot's: it goes where it belongs in the order of due times. */
static void insert(hc_pace *p, int64_t due)
{
	size_t i = p->len;

	while (i > 0 && slot_at(p, i - 1)->first > due)
		i--;
	if (i == p->len) {
		push(p, due, 1);
		return;
	}
	/* Into the slot that starts no more than a step before it, or, if
	 * there is no room for one more slot, into the next (later) one. */
	if ((i > 0 && slot_at(p, i - 1)->first + merge_step(p) >= due) || (p->len == p->cap && grow(p) < 0)) {
		struct slot *s = i > 0 && slot_at(p, i - 1)->first + merge_step(p) >= due ? slot_at(p, i - 1)
											  : slot_at(p, i);

		if (due > s->due)
			s->due = due;
		s->n++;
		p->used++;
		return;
	}
	for (size_t j = p->len; j > i; j--)
		*slot_at(p, j) = *slot_at(p, j - 1);
	*slot_at(p, i) = (struct slot){ due, due, 1 };
	p->len++;
	p->used++;
}

static void spend(hc_pace *p, int64_t due, uint64_t n)
{
	push(p, due, n);
	p->spent += n;
}

static void block(hc_pace *p, int64_t until)
{
	if (until > p->blocked_until)
		p->blocked_until = until;
}

int hc_pace_configure(hc_pace *p, uint32_t max, int64_t interval_ms)
{
	int changed;

	if (max < 1 || max > HC_PACE_MAX_REQUESTS || interval_ms < 1 || interval_ms > HC_PACE_MAX_INTERVAL_MS)
		return -1;
	if (max == p->cfg_max && interval_ms == p->cfg_interval)
		return 0;
	p->cfg_max = max;
	p->cfg_interval = interval_ms;
	changed = max != p->max || interval_ms != p->interval;
	p->max = max;
	p->interval = interval_ms;
	return changed;
}

int64_t hc_pace_take(hc_pace *p, int64_t now, hc_pace_ticket *ticket)
{
	uint64_t need, back = 0;

	if (now < p->blocked_until)
		return p->blocked_until - now;
	if (p->max)
		expire(p, now);
	if (!p->max || p->used < p->max) {
		int64_t due = p->max ? now + p->interval + margin(p->interval) : 0;

		/* Without a limit nothing is recorded: once a response tells
		 * the limit, the server's count says what was spent. */
		if (p->max)
			spend(p, due, 1);
		p->st.taken++;
		if (ticket) {
			ticket->used = p->used;
			ticket->spent = p->spent;
			ticket->due = due;
		}
		return 0;
	}
	/* After a shrink or a correction more may be out than the limit:
	 * wait until enough are back for one more. */
	need = p->used - p->max + 1;
	for (size_t i = 0; i < p->len; i++) {
		const struct slot *s = slot_at(p, i);

		back += s->n;
		if (back >= need)
			return s->due - now > 0 ? s->due - now : 1;
	}
	return 1; /* unreachable: the ring holds `used` tokens */
}

void hc_pace_done(hc_pace *p, const hc_pace_ticket *ticket, int64_t done_at)
{
	int64_t due;

	if (!p->max || !ticket->due)
		return;
	due = done_at + p->interval + margin(p->interval);
	if (due <= ticket->due)
		return;
	/* Slots cover disjoint spans of due times: the one whose span holds
	 * the token's due holds the token (or one just like it). Recent
	 * tokens are near the end. A token already back, or lost to a drain,
	 * is left alone. */
	for (size_t i = p->len; i > 0; i--) {
		struct slot *s = slot_at(p, i - 1);

		if (s->due < ticket->due)
			break;
		if (s->first <= ticket->due && s->n) {
			s->n--;
			p->used--;
			insert(p, due);
			return;
		}
	}
}

/* After a 429 the server holds the window full: nothing is free now, and
 * tokens come back evenly over the next interval from the end of the
 * block, as a drained bucket would refill. */
static void drain(hc_pace *p, int64_t from)
{
	p->len = 0;
	p->head = 0;
	p->used = 0;
	for (uint32_t i = 1; i <= p->max; i++)
		spend(p, from + (int64_t)((double)p->interval * i / p->max), 1);
}

unsigned hc_pace_observe(hc_pace *p, int64_t now, const hc_pace_obs *o, const hc_pace_ticket *ticket)
{
	unsigned ev = 0;

	/* The server's own figures win over the declared ones: a connector
	 * may guess wrong, or the API change its limits. */
	if (o->max > 0 && o->max <= HC_PACE_MAX_REQUESTS) {
		int64_t iv = o->interval_ms > 0 && o->interval_ms <= HC_PACE_MAX_INTERVAL_MS ? o->interval_ms
											: p->interval;

		if (iv > 0 && ((uint32_t)o->max != p->max || iv != p->interval)) {
			p->max = (uint32_t)o->max;
			p->interval = iv;
			ev |= HC_PACE_RESIZED;
		}
	}

	/* The daily quota is spent: nothing goes until it is renewed, which
	 * the server may tell (Retry-After); otherwise ask again in an hour. */
	if (o->daily_remaining == 0) {
		block(p, now + (o->retry_after_ms >= 0 ? o->retry_after_ms : HC_PACE_DAILY_WAIT_MS));
		if (o->status == 429) {
			p->st.s429++;
			p->st.s429_daily++;
		}
		if (!p->parked)
			ev |= HC_PACE_DAILY;
		p->parked = 1;
		return ev;
	}
	if (o->daily_remaining > 0 || (o->status >= 200 && o->status < 300))
		p->parked = 0;

	if (o->status == 429) {
		int64_t iv = p->interval > 0 ? p->interval : HC_PACE_DEFAULT_BLOCK_MS;
		int64_t until = now + (o->retry_after_ms >= 0 ? o->retry_after_ms : iv);

		p->st.s429++;
		block(p, until);
		if (p->max)
			drain(p, p->blocked_until);
		if (!p->throttled)
			ev |= HC_PACE_BURST_429;
		p->throttled = 1;
		return ev;
	}
	p->throttled = 0;

	/* The server counted more requests in its window than this bucket
	 * could have had out when it counted: someone else spends from the
	 * same quota, or a restart forgot what was spent. The difference
	 * counts as spent now. The server counted at some time between the
	 * request's token and now, so the most it can have seen of ours is
	 * what was out at the token plus what was spent since; tokens back
	 * in the bucket meanwhile (the answer took its time) are no sign of
	 * anyone else. */
	if (p->max && o->remaining >= 0) {
		uint64_t server_used = (uint64_t)o->remaining < p->max ? p->max - (uint64_t)o->remaining : 0;
		uint64_t ours;

		expire(p, now);
		ours = ticket ? ticket->used + (p->spent - ticket->spent) : p->used;
		if (server_used > ours) {
			uint64_t extra = server_used - ours;

			p->st.corrected += extra;
			spend(p, now + p->interval + margin(p->interval), extra);
		}
	} else if (p->max && o->extra_cost > 0) {
		/* A heavier call cost more than its token, and no Remaining
		 * says how much the server counted: take the server's word. */
		uint64_t extra = o->extra_cost < (int64_t)p->max ? (uint64_t)o->extra_cost : p->max;

		p->st.corrected += extra;
		spend(p, now + p->interval + margin(p->interval), extra);
	}
	return ev;
}

void hc_pace_block(hc_pace *p, int64_t until)
{
	block(p, until);
	if (p->max)
		drain(p, p->blocked_until);
}

uint32_t hc_pace_available(hc_pace *p, int64_t now)
{
	if (now < p->blocked_until)
		return 0;
	if (!p->max)
		return UINT32_MAX;
	expire(p, now);
	return p->used < p->max ? (uint32_t)(p->max - p->used) : 0;
}

uint32_t hc_pace_max(const hc_pace *p)
{
	return p->max;
}

int64_t hc_pace_interval(const hc_pace *p)
{
	return p->interval;
}

int64_t hc_pace_blocked_until(const hc_pace *p)
{
	return p->blocked_until;
}

int hc_pace_idle(hc_pace *p, int64_t now)
{
	expire(p, now);
	return p->len == 0 && now >= p->blocked_until;
}

const hc_pace_stats *hc_pace_get_stats(const hc_pace *p)
{
	return &p->st;
}
