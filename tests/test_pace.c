/* Unit tests of the quota pacing buckets (core/pace.c): pure arithmetic on
 * a clock the tests move by hand. A token spent at t comes back at
 * t + interval + margin, the margin being 50 ms for a 1 s interval and 2%
 * of longer ones. */
#include "check_main.h"
#include <stdint.h>
#include <string.h>

#include "pace.h"

#define T0 1000000 /* any starting time: the clock is monotonic, not zero */

static hc_pace *p;

static void setup(void)
{
	p = hc_pace_new();
	ck_assert_ptr_nonnull(p);
}

static void teardown(void)
{
	hc_pace_free(p);
	p = NULL;
}

static hc_pace_obs obs(long status)
{
	hc_pace_obs o = HC_PACE_OBS_NONE;

	o.status = status;
	return o;
}

START_TEST(test_unlimited)
{
	for (int i = 0; i < 10000; i++)
		ck_assert_int_eq(hc_pace_take(p, T0, NULL), 0);
	ck_assert_uint_eq(hc_pace_available(p, T0), UINT32_MAX);
	ck_assert_uint_eq(hc_pace_max(p), 0);
	ck_assert_uint_eq(hc_pace_get_stats(p)->taken, 10000);
	ck_assert(hc_pace_idle(p, T0));
}
END_TEST

START_TEST(test_capacity)
{
	ck_assert_int_eq(hc_pace_configure(p, 5, 1000), 1);
	ck_assert_uint_eq(hc_pace_available(p, T0), 5);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(hc_pace_take(p, T0, NULL), 0);
	ck_assert_uint_eq(hc_pace_available(p, T0), 0);
	/* the sixth waits until the first five are back: interval + margin */
	ck_assert_int_eq(hc_pace_take(p, T0, NULL), 1050);
	ck_assert_int_eq(hc_pace_take(p, T0 + 1000, NULL), 50);
	ck_assert_int_eq(hc_pace_take(p, T0 + 1049, NULL), 1);
	ck_assert_uint_eq(hc_pace_get_stats(p)->taken, 5); /* refusals spend nothing */
	ck_assert(!hc_pace_idle(p, T0 + 1049));
	ck_assert_uint_eq(hc_pace_available(p, T0 + 1050), 5);
	ck_assert(hc_pace_idle(p, T0 + 1050));
}
END_TEST

START_TEST(test_refill_follows_spending)
{
	hc_pace_configure(p, 3, 1000);
	/* spent at 0, 300 and 600 ms: each comes back on its own */
	ck_assert_int_eq(hc_pace_take(p, T0, NULL), 0);
	ck_assert_int_eq(hc_pace_take(p, T0 + 300, NULL), 0);
	ck_assert_int_eq(hc_pace_take(p, T0 + 600, NULL), 0);
	ck_assert_int_eq(hc_pace_take(p, T0 + 700, NULL), 350);
	ck_assert_uint_eq(hc_pace_available(p, T0 + 1050), 1);
	ck_assert_uint_eq(hc_pace_available(p, T0 + 1349), 1);
	ck_assert_uint_eq(hc_pace_available(p, T0 + 1350), 2);
	ck_assert_uint_eq(hc_pace_available(p, T0 + 1650), 3);
	/* idle time does not pile up tokens beyond the capacity */
	ck_assert_uint_eq(hc_pace_available(p, T0 + 100000), 3);
}
END_TEST

/* A greedy sender (one request whenever a token is free) against the
 * stricter of the usual server rules, a sliding window: never more than
 * max in any interval, and close to max per interval over the run. */
START_TEST(test_window_never_exceeded)
{
	enum { MAX = 20, IV = 1000, RUN = 30000 };
	static int64_t sent[RUN];
	size_t n = 0;
	int64_t t = T0;

	hc_pace_configure(p, MAX, IV);
	while (t < T0 + RUN) {
		int64_t wait = hc_pace_take(p, t, NULL);

		if (wait == 0) {
			sent[n++] = t;
			continue;
		}
		ck_assert_int_gt(wait, 0);
		t += wait;
	}
	for (size_t i = MAX; i < n; i++)
		ck_assert_msg(sent[i] - sent[i - MAX] >= IV, "%d requests within %lld ms", MAX + 1,
			      (long long)(sent[i] - sent[i - MAX]));
	/* 30 intervals of 1050 ms fit in 30 s: at least 28 bursts of 20 */
	ck_assert_uint_ge(n, 28 * MAX);
	ck_assert_uint_le(n, 29 * MAX);
}
END_TEST

START_TEST(test_configure)
{
	hc_pace_obs o = obs(200);

	ck_assert_int_eq(hc_pace_configure(p, 0, 1000), -1);
	ck_assert_int_eq(hc_pace_configure(p, 10, 0), -1);
	ck_assert_int_eq(hc_pace_configure(p, HC_PACE_MAX_REQUESTS + 1, 1000), -1);
	ck_assert_int_eq(hc_pace_configure(p, 10, HC_PACE_MAX_INTERVAL_MS + 1), -1);
	ck_assert_uint_eq(hc_pace_max(p), 0);
	ck_assert_int_eq(hc_pace_configure(p, 10, 1000), 1);
	ck_assert_int_eq(hc_pace_configure(p, 10, 1000), 0);
	/* the server says otherwise: its figures win ... */
	o.max = 100;
	o.interval_ms = 10000;
	ck_assert_uint_eq(hc_pace_observe(p, T0, &o, NULL), HC_PACE_RESIZED);
	ck_assert_uint_eq(hc_pace_max(p), 100);
	ck_assert_int_eq(hc_pace_interval(p), 10000);
	ck_assert_uint_eq(hc_pace_observe(p, T0, &o, NULL), 0); /* said once */
	/* ... even when the connector declares the same quota again ... */
	ck_assert_int_eq(hc_pace_configure(p, 10, 1000), 0);
	ck_assert_uint_eq(hc_pace_max(p), 100);
	/* ... until it declares a new one */
	ck_assert_int_eq(hc_pace_configure(p, 50, 1000), 1);
	ck_assert_uint_eq(hc_pace_max(p), 50);
	ck_assert_int_eq(hc_pace_interval(p), 1000);
}
END_TEST

START_TEST(test_headers_resize)
{
	hc_pace_obs o = obs(200);

	/* an undeclared key learns its quota from the first response */
	o.max = 3;
	o.interval_ms = 1000;
	o.remaining = 2;
	ck_assert_uint_eq(hc_pace_observe(p, T0, &o, NULL), HC_PACE_RESIZED);
	ck_assert_uint_eq(hc_pace_max(p), 3);
	/* the server counted one request this bucket never saw */
	ck_assert_uint_eq(hc_pace_available(p, T0), 2);
	/* X-RateLimit-Max alone keeps the interval */
	o = obs(200);
	o.max = 4;
	ck_assert_uint_eq(hc_pace_observe(p, T0, &o, NULL), HC_PACE_RESIZED);
	ck_assert_int_eq(hc_pace_interval(p), 1000);
	ck_assert_uint_eq(hc_pace_available(p, T0), 3);
	/* absurd values are ignored */
	o.max = (int64_t)HC_PACE_MAX_REQUESTS + 1;
	ck_assert_uint_eq(hc_pace_observe(p, T0, &o, NULL), 0);
	ck_assert_uint_eq(hc_pace_max(p), 4);
	/* an interval without a max tells nothing new */
	o = obs(200);
	o.interval_ms = 5000;
	ck_assert_uint_eq(hc_pace_observe(p, T0, &o, NULL), 0);
	ck_assert_int_eq(hc_pace_interval(p), 1000);
}
END_TEST

START_TEST(test_remaining_caps)
{
	hc_pace_obs o = obs(200);

	hc_pace_configure(p, 10, 1000);
	ck_assert_int_eq(hc_pace_take(p, T0, NULL), 0);
	ck_assert_int_eq(hc_pace_take(p, T0, NULL), 0);
	/* the server agrees (2 used) or knows of fewer: nothing changes */
	o.remaining = 8;
	hc_pace_observe(p, T0 + 10, &o, NULL);
	ck_assert_uint_eq(hc_pace_available(p, T0 + 10), 8);
	o.remaining = 9;
	hc_pace_observe(p, T0 + 10, &o, NULL);
	ck_assert_uint_eq(hc_pace_available(p, T0 + 10), 8);
	/* someone else spent 5 from the same quota */
	o.remaining = 3;
	hc_pace_observe(p, T0 + 10, &o, NULL);
	ck_assert_uint_eq(hc_pace_available(p, T0 + 10), 3);
	ck_assert_uint_eq(hc_pace_get_stats(p)->corrected, 5);
	/* those five come back an interval (and margin) after the answer */
	ck_assert_uint_eq(hc_pace_available(p, T0 + 1050), 5);
	ck_assert_uint_eq(hc_pace_available(p, T0 + 1060), 10);
	/* a remaining above the max is no correction */
	o.remaining = 1000;
	hc_pace_observe(p, T0 + 2000, &o, NULL);
	ck_assert_uint_eq(hc_pace_available(p, T0 + 2000), 10);
}
END_TEST

/* The answer to a request is compared with what the bucket held when
 * that request took its token: an answer read late must not mistake
 * tokens back in the meantime for someone else's requests. */
START_TEST(test_remaining_ticket)
{
	hc_pace_ticket t1, t2, t3;
	hc_pace_obs o = obs(200);

	hc_pace_configure(p, 3, 1000);
	ck_assert_int_eq(hc_pace_take(p, T0, &t1), 0);
	ck_assert_int_eq(hc_pace_take(p, T0, &t2), 0);
	ck_assert_int_eq(hc_pace_take(p, T0, &t3), 0);
	ck_assert_uint_eq(t3.used, 3);
	ck_assert_uint_eq(t3.spent - t1.spent, 2);
	/* counted at T0 + 10 (remaining 0), read after the tokens are back */
	o.remaining = 0;
	hc_pace_observe(p, T0 + 1060, &o, &t3);
	ck_assert_uint_eq(hc_pace_available(p, T0 + 1060), 3);
	ck_assert_uint_eq(hc_pace_get_stats(p)->corrected, 0);
	/* without the ticket it would have looked like three foreign requests */
	hc_pace_observe(p, T0 + 1060, &o, NULL);
	ck_assert_uint_eq(hc_pace_available(p, T0 + 1060), 0);
	ck_assert_uint_eq(hc_pace_get_stats(p)->corrected, 3);
}
END_TEST

START_TEST(test_remaining_foreign)
{
	hc_pace_ticket t1, t2;
	hc_pace_obs o = obs(200);

	hc_pace_configure(p, 10, 1000);
	ck_assert_int_eq(hc_pace_take(p, T0, &t1), 0);
	ck_assert_int_eq(hc_pace_take(p, T0, &t2), 0);
	/* two of ours out, the server counts six: four are someone else's */
	o.remaining = 4;
	hc_pace_observe(p, T0 + 10, &o, &t1);
	ck_assert_uint_eq(hc_pace_get_stats(p)->corrected, 4);
	ck_assert_uint_eq(hc_pace_available(p, T0 + 10), 4);
	/* the answer to the other request says the same: not counted twice */
	hc_pace_observe(p, T0 + 20, &o, &t2);
	ck_assert_uint_eq(hc_pace_get_stats(p)->corrected, 4);
	ck_assert_uint_eq(hc_pace_available(p, T0 + 20), 4);
}
END_TEST

/* A token comes back one interval (and the margin) after its request's
 * answer, which the server can only have counted before it answered. */
START_TEST(test_done)
{
	hc_pace_ticket t1, t2, t3;

	hc_pace_configure(p, 3, 1000);
	ck_assert_int_eq(hc_pace_take(p, T0, &t1), 0);
	ck_assert_int_eq(hc_pace_take(p, T0, &t2), 0);
	ck_assert_int_eq(hc_pace_take(p, T0 + 500, &t3), 0);
	ck_assert_int_eq(t1.due, T0 + 1050);
	/* the second was answered after 300 ms; the first answer's time
	 * changes nothing (0 ms) */
	hc_pace_done(p, &t2, T0 + 300);
	hc_pace_done(p, &t1, T0);
	ck_assert_uint_eq(hc_pace_available(p, T0 + 1050), 1);
	ck_assert_uint_eq(hc_pace_available(p, T0 + 1349), 1);
	ck_assert_uint_eq(hc_pace_available(p, T0 + 1350), 2);
	ck_assert_uint_eq(hc_pace_available(p, T0 + 1550), 3);
	/* an answer slower than the interval: its token is back already */
	hc_pace_done(p, &t3, T0 + 1600);
	ck_assert_uint_eq(hc_pace_available(p, T0 + 1600), 3);
	ck_assert_uint_eq(hc_pace_get_stats(p)->taken, 3);
	/* one answered late among many merged into one slot */
	hc_pace_configure(p, 100, 25600); /* merge step 100 ms, margin 512 */
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(hc_pace_take(p, T0 + 10000 + i, i == 4 ? &t1 : NULL), 0);
	hc_pace_done(p, &t1, T0 + 10000 + 2000);
	ck_assert_uint_eq(hc_pace_available(p, T0 + 10009 + 26112), 99);
	ck_assert_uint_eq(hc_pace_available(p, T0 + 12000 + 26112), 100);
}
END_TEST

START_TEST(test_429_blocks)
{
	hc_pace_obs o = obs(429);

	hc_pace_configure(p, 10, 1000);
	ck_assert_int_eq(hc_pace_take(p, T0, NULL), 0);
	o.remaining = 0;
	o.retry_after_ms = 2000;
	ck_assert_uint_eq(hc_pace_observe(p, T0, &o, NULL), HC_PACE_BURST_429);
	ck_assert_int_eq(hc_pace_blocked_until(p), T0 + 2000);
	ck_assert_int_eq(hc_pace_take(p, T0, NULL), 2000);
	ck_assert_int_eq(hc_pace_take(p, T0 + 1500, NULL), 500);
	ck_assert_uint_eq(hc_pace_available(p, T0 + 1999), 0);
	/* drained: after Retry-After it refills at 10 per second, not at once */
	ck_assert_uint_eq(hc_pace_available(p, T0 + 2000), 0);
	ck_assert_uint_eq(hc_pace_available(p, T0 + 2100), 1);
	ck_assert_uint_eq(hc_pace_available(p, T0 + 2500), 5);
	ck_assert_uint_eq(hc_pace_available(p, T0 + 3000), 10);
	/* a second 429 in the same episode is not reported again */
	o.retry_after_ms = -1;
	ck_assert_uint_eq(hc_pace_observe(p, T0 + 3000, &o, NULL), 0);
	/* no Retry-After: one interval */
	ck_assert_int_eq(hc_pace_blocked_until(p), T0 + 4000);
	ck_assert_uint_eq(hc_pace_get_stats(p)->s429, 2);
	ck_assert_uint_eq(hc_pace_get_stats(p)->s429_daily, 0);
	/* a success ends the episode; the next 429 is news */
	o = obs(200);
	ck_assert_uint_eq(hc_pace_observe(p, T0 + 5000, &o, NULL), 0);
	o = obs(429);
	ck_assert_uint_eq(hc_pace_observe(p, T0 + 5000, &o, NULL), HC_PACE_BURST_429);
	/* a 429 never shortens a block */
	o.retry_after_ms = 10;
	hc_pace_observe(p, T0 + 5000, &o, NULL);
	ck_assert_int_eq(hc_pace_blocked_until(p), T0 + 6000);
}
END_TEST

START_TEST(test_429_without_limit)
{
	hc_pace_obs o = obs(429);

	/* nothing known about the quota: one second unless told */
	ck_assert_uint_eq(hc_pace_observe(p, T0, &o, NULL), HC_PACE_BURST_429);
	ck_assert_int_eq(hc_pace_take(p, T0, NULL), HC_PACE_DEFAULT_BLOCK_MS);
	ck_assert_int_eq(hc_pace_take(p, T0 + HC_PACE_DEFAULT_BLOCK_MS, NULL), 0);
	ck_assert_uint_eq(hc_pace_max(p), 0);
}
END_TEST

START_TEST(test_daily_parking)
{
	hc_pace_obs o = obs(201);

	hc_pace_configure(p, 100, 10000);
	/* the last request of the day succeeded: park for an hour */
	o.daily_remaining = 0;
	o.remaining = 99;
	ck_assert_uint_eq(hc_pace_observe(p, T0, &o, NULL), HC_PACE_DAILY);
	ck_assert_int_eq(hc_pace_blocked_until(p), T0 + HC_PACE_DAILY_WAIT_MS);
	ck_assert_int_eq(hc_pace_take(p, T0 + 1000, NULL), HC_PACE_DAILY_WAIT_MS - 1000);
	/* asked again an hour later, still spent: a 429 telling when the
	 * day starts; parked again, reported once, counted as daily */
	o = obs(429);
	o.daily_remaining = 0;
	o.remaining = 100;
	o.retry_after_ms = 5000;
	ck_assert_uint_eq(hc_pace_observe(p, T0 + HC_PACE_DAILY_WAIT_MS, &o, NULL), 0);
	ck_assert_int_eq(hc_pace_blocked_until(p), T0 + HC_PACE_DAILY_WAIT_MS + 5000);
	ck_assert_uint_eq(hc_pace_get_stats(p)->s429, 1);
	ck_assert_uint_eq(hc_pace_get_stats(p)->s429_daily, 1);
	/* not drained: the burst window was not the problem */
	ck_assert_uint_eq(hc_pace_available(p, T0 + HC_PACE_DAILY_WAIT_MS + 5000), 100);
	/* a new day: the next time it runs out is news again */
	o = obs(200);
	o.daily_remaining = 199999;
	ck_assert_uint_eq(hc_pace_observe(p, T0 + HC_PACE_DAILY_WAIT_MS + 6000, &o, NULL), 0);
	o.daily_remaining = 0;
	ck_assert_uint_eq(hc_pace_observe(p, T0 + HC_PACE_DAILY_WAIT_MS + 7000, &o, NULL), HC_PACE_DAILY);
}
END_TEST

START_TEST(test_shrink)
{
	hc_pace_obs o = obs(200);

	hc_pace_configure(p, 10, 1000);
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(hc_pace_take(p, T0 + i * 10, NULL), 0);
	/* the server allows only 4: 10 are out, 7 must come back first */
	o.max = 4;
	hc_pace_observe(p, T0 + 100, &o, NULL);
	ck_assert_uint_eq(hc_pace_available(p, T0 + 100), 0);
	ck_assert_int_eq(hc_pace_take(p, T0 + 100, NULL), 1050 + 60 - 100);
}
END_TEST

/* Spent tokens share slots when due within interval/256 of each other;
 * many distinct times make the ring grow. Either way the count is exact
 * and merged tokens come back no earlier than their own time. */
START_TEST(test_ring)
{
	enum { N = 5000 };

	hc_pace_configure(p, N, 25600); /* merge step 100 ms */
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(hc_pace_take(p, T0 + i * 5, NULL), 0); /* 25 s of sending */
	ck_assert_uint_eq(hc_pace_available(p, T0 + N * 5), 0);
	/* the first token (spent at T0) is back no earlier than T0 + 25600 + 512 */
	ck_assert_uint_eq(hc_pace_available(p, T0 + 25600 + 511), 0);
	ck_assert_uint_ge(hc_pace_available(p, T0 + 25600 + 512 + 100), 1);
	/* and no later than one merge step after */
	ck_assert_uint_ge(hc_pace_available(p, T0 + 25600 + 512 + 100), 20);
	ck_assert_uint_eq(hc_pace_available(p, T0 + N * 5 + 25600 + 512 + 100), N);
	/* sparse spending, one slot each, grows the ring past its start */
	for (int i = 0; i < 200; i++)
		ck_assert_int_eq(hc_pace_take(p, T0 + 100000 + i * 101, NULL), 0);
	ck_assert_uint_eq(hc_pace_available(p, T0 + 100000 + 200 * 101), N - 200);
	ck_assert_uint_eq(hc_pace_available(p, T0 + 100000 + 26112), N - 199);
	ck_assert(!hc_pace_idle(p, T0 + 100000 + 199 * 101 + 26111));
	ck_assert(hc_pace_idle(p, T0 + 100000 + 199 * 101 + 26112));
}
END_TEST

/* Octorate: a heavier call says what it cost beyond its token
 * (X-RateLimit-Additional-Cost) when no Remaining tells; and a quota signal
 * that is not a 429 (403 ApiQuotaException) blocks through hc_pace_block. */
START_TEST(test_extra_cost_and_block)
{
	hc_pace_obs o = obs(200);

	ck_assert_int_eq(hc_pace_configure(p, 10, 1000), 1);
	ck_assert_int_eq(hc_pace_take(p, T0, NULL), 0);
	o.extra_cost = 3;
	hc_pace_observe(p, T0, &o, NULL);
	ck_assert_uint_eq(hc_pace_available(p, T0), 6);
	ck_assert_uint_eq(hc_pace_get_stats(p)->corrected, 3);
	/* with Remaining the server's count already includes the cost */
	o.remaining = 6;
	hc_pace_observe(p, T0, &o, NULL);
	ck_assert_uint_eq(hc_pace_available(p, T0), 6);
	hc_pace_block(p, T0 + 5000);
	ck_assert_uint_eq(hc_pace_available(p, T0 + 4999), 0);
	ck_assert_int_eq(hc_pace_take(p, T0 + 1000, NULL), 4000);
	ck_assert_int_eq(hc_pace_blocked_until(p), T0 + 5000);
	/* after the block the tokens come back evenly, as after a 429 */
	ck_assert_int_eq(hc_pace_take(p, T0 + 5100, NULL), 0);
}
END_TEST


static Suite *test_suite(void)
{
	Suite *s = suite_create("pace");
	TCase *tc = tcase_create("pace");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_unlimited);
	tcase_add_test(tc, test_capacity);
	tcase_add_test(tc, test_refill_follows_spending);
	tcase_add_test(tc, test_window_never_exceeded);
	tcase_add_test(tc, test_configure);
	tcase_add_test(tc, test_headers_resize);
	tcase_add_test(tc, test_remaining_caps);
	tcase_add_test(tc, test_remaining_ticket);
	tcase_add_test(tc, test_remaining_foreign);
	tcase_add_test(tc, test_done);
	tcase_add_test(tc, test_429_blocks);
	tcase_add_test(tc, test_429_without_limit);
	tcase_add_test(tc, test_daily_parking);
	tcase_add_test(tc, test_shrink);
	tcase_add_test(tc, test_ring);
	tcase_add_test(tc, test_extra_cost_and_block);
	suite_add_tcase(s, tc);
	return s;
}
