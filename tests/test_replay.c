/* Unit tests of the seen-id set for webhook replays (core/replay.c), on a
 * clock the tests move by hand. */
#include "check_main.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "replay.h"

#define T0 1700000000000LL
#define TTL 300000  /* 5 minutes */

static hc_replay *r;

static void teardown(void)
{
	hc_replay_free(r);
	r = NULL;
}

static hc_replay *make(int64_t ttl, size_t max)
{
	hc_replay *x = hc_replay_new(ttl, max);

	ck_assert_ptr_nonnull(x);
	return x;
}

START_TEST(test_replay_within_ttl)
{
	r = make(TTL, 1000);
	ck_assert_int_eq(hc_replay_check(r, "wh-1", T0), 0);
	ck_assert_int_eq(hc_replay_check(r, "wh-2", T0), 0);
	ck_assert_int_eq(hc_replay_check(r, "wh-1", T0), 1);
	ck_assert_int_eq(hc_replay_check(r, "wh-1", T0 + TTL - 1), 1);
	ck_assert_int_eq(hc_replay_check(r, "wh-2", T0 + 1), 1);
	ck_assert_uint_eq(hc_replay_count(r), 2);
	/* a replay does not refresh the id's time */
	ck_assert_int_eq(hc_replay_check(r, "wh-1", T0 + TTL), 0);
	/* ids differ by every byte, and the empty id is an id */
	ck_assert_int_eq(hc_replay_check(r, "wh-1x", T0 + TTL), 0);
	ck_assert_int_eq(hc_replay_check(r, "", T0 + TTL), 0);
	ck_assert_int_eq(hc_replay_check(r, "", T0 + TTL), 1);
}
END_TEST

START_TEST(test_expiry)
{
	r = make(TTL, 1000);
	ck_assert_int_eq(hc_replay_check(r, "a", T0), 0);
	ck_assert_int_eq(hc_replay_check(r, "b", T0 + 1000), 0);
	/* "a" is forgotten exactly ttl after it was seen, "b" a second later */
	ck_assert_int_eq(hc_replay_check(r, "c", T0 + TTL), 0);
	ck_assert_uint_eq(hc_replay_count(r), 2);
	ck_assert_int_eq(hc_replay_check(r, "b", T0 + TTL), 1);
	ck_assert_int_eq(hc_replay_check(r, "a", T0 + TTL), 0);
	ck_assert_int_eq(hc_replay_check(r, "zz", T0 + 10 * TTL), 0);
	ck_assert_uint_eq(hc_replay_count(r), 1);
}
END_TEST

/* A clock that steps back keeps ids out of time order in the FIFO: an id
 * found expired is still not a replay. */
START_TEST(test_clock_back)
{
	r = make(TTL, 1000);
	ck_assert_int_eq(hc_replay_check(r, "a", T0 + 5000), 0);
	ck_assert_int_eq(hc_replay_check(r, "b", T0), 0);
	ck_assert_int_eq(hc_replay_check(r, "a", T0 + 4000), 1); /* seen "in the future": a replay */
	ck_assert_int_eq(hc_replay_check(r, "b", T0 + TTL), 0);  /* "a" at the head is not yet expired */
	ck_assert_int_eq(hc_replay_check(r, "b", T0 + TTL + 1), 1);
	ck_assert_uint_eq(hc_replay_count(r), 2);
}
END_TEST

START_TEST(test_cap)
{
	char id[32];

	r = make(TTL, 100);
	for (int i = 0; i < 150; i++) {
		snprintf(id, sizeof(id), "id-%d", i);
		ck_assert_int_eq(hc_replay_check(r, id, T0 + i), 0);
	}
	ck_assert_uint_eq(hc_replay_count(r), 100);
	/* the oldest 50 went first */
	for (int i = 149; i >= 50; i--) {
		snprintf(id, sizeof(id), "id-%d", i);
		ck_assert_msg(hc_replay_check(r, id, T0 + 200) == 1, "%s", id);
	}
	ck_assert_int_eq(hc_replay_check(r, "id-49", T0 + 200), 0);
	ck_assert_uint_eq(hc_replay_count(r), 100);
	ck_assert_int_eq(hc_replay_check(r, "id-50", T0 + 200), 0); /* evicted by id-49 */
	hc_replay_free(r);
	r = make(TTL, 1);
	ck_assert_int_eq(hc_replay_check(r, "x", T0), 0);
	ck_assert_int_eq(hc_replay_check(r, "x", T0), 1);
	ck_assert_int_eq(hc_replay_check(r, "y", T0), 0);
	ck_assert_int_eq(hc_replay_check(r, "x", T0), 0);
	ck_assert_uint_eq(hc_replay_count(r), 1);
}
END_TEST

START_TEST(test_forget)
{
	r = make(TTL, 3);
	ck_assert_int_eq(hc_replay_check(r, "a", T0), 0);
	ck_assert_int_eq(hc_replay_check(r, "b", T0), 0);
	hc_replay_forget(r, "a");           /* not the newest: marked */
	hc_replay_forget(r, "nobody");
	ck_assert_uint_eq(hc_replay_count(r), 1);
	ck_assert_int_eq(hc_replay_check(r, "a", T0 + 1), 0); /* a retry is processed */
	ck_assert_int_eq(hc_replay_check(r, "a", T0 + 2), 1);
	hc_replay_forget(r, "a");           /* the newest: dropped at once */
	hc_replay_forget(r, "a");
	ck_assert_uint_eq(hc_replay_count(r), 1);
	ck_assert_int_eq(hc_replay_check(r, "b", T0 + 3), 1);
	/* a stream of check-and-forget stays within the cap and loses "b"
	 * only to the cap */
	for (int i = 0; i < 1000; i++) {
		ck_assert_int_eq(hc_replay_check(r, "c", T0 + 4), 0);
		hc_replay_forget(r, "c");
	}
	ck_assert_int_eq(hc_replay_check(r, "b", T0 + 5), 1);
	ck_assert_uint_eq(hc_replay_count(r), 1);
	hc_replay_forget(r, "b");
	ck_assert_uint_eq(hc_replay_count(r), 0);
}
END_TEST

/* Ids longer than what is stored are still told apart, whole. */
START_TEST(test_long_ids)
{
	char a[400], b[400];

	r = make(TTL, 1000);
	memset(a, 'x', sizeof(a) - 1);
	a[sizeof(a) - 1] = '\0';
	memcpy(b, a, sizeof(a));
	b[300] = 'y';
	ck_assert_int_eq(hc_replay_check(r, a, T0), 0);
	ck_assert_int_eq(hc_replay_check(r, b, T0), 0);
	ck_assert_int_eq(hc_replay_check(r, a, T0), 1);
	ck_assert_int_eq(hc_replay_check(r, b, T0), 1);
	b[300] = '\0';  /* a prefix of a, longer than what is stored */
	ck_assert_int_eq(hc_replay_check(r, b, T0), 0);
	ck_assert_uint_eq(hc_replay_count(r), 3);
	hc_replay_forget(r, a);
	ck_assert_int_eq(hc_replay_check(r, b, T0), 1);
	ck_assert_int_eq(hc_replay_check(r, a, T0), 0);
}
END_TEST

/* 100,000 ids: all remembered, then half forgotten, then all expired;
 * the table is rebuilt and entries moved back many times on the way. */
START_TEST(test_many)
{
	enum { N = 100000 };
	char id[32];

	r = make(TTL, 2 * N);
	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "wh-%08x", i * 2654435761u);
		ck_assert_int_eq(hc_replay_check(r, id, T0 + i / 100), 0);
	}
	ck_assert_uint_eq(hc_replay_count(r), N);
	for (int i = 0; i < N; i += 2) {
		snprintf(id, sizeof(id), "wh-%08x", i * 2654435761u);
		hc_replay_forget(r, id);
	}
	ck_assert_uint_eq(hc_replay_count(r), N / 2);
	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "wh-%08x", i * 2654435761u);
		ck_assert_int_eq(hc_replay_check(r, id, T0 + 2000), i % 2);
	}
	ck_assert_uint_eq(hc_replay_count(r), N);
	/* the first batch expires, the re-added half stays */
	ck_assert_int_eq(hc_replay_check(r, "late", T0 + TTL + 1000), 0);
	ck_assert_uint_eq(hc_replay_count(r), N / 2 + 1);
	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "wh-%08x", i * 2654435761u);
		ck_assert_int_eq(hc_replay_check(r, id, T0 + TTL + 1000), i % 2 == 0);
	}
	ck_assert_int_eq(hc_replay_check(r, "later", T0 + 10 * TTL), 0);
	ck_assert_uint_eq(hc_replay_count(r), 1);
}
END_TEST

static Suite *test_suite(void)
{
	Suite *s = suite_create("replay");
	TCase *tc = tcase_create("replay");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_replay_within_ttl);
	tcase_add_test(tc, test_expiry);
	tcase_add_test(tc, test_clock_back);
	tcase_add_test(tc, test_cap);
	tcase_add_test(tc, test_forget);
	tcase_add_test(tc, test_long_ids);
	tcase_add_test(tc, test_many);
	suite_add_tcase(s, tc);
	return s;
}
