/* The retry policy: full-jitter backoff bounds, the cap, Retry-After. */
#include "check_main.h"

#include <time.h>

#include "retry.h"

static const hc_retry_policy policy = { .base_ms = 1000, .max_ms = 60000, .limit = 10 };

START_TEST(test_ceiling_doubles_then_caps)
{
	/* the largest draw gives the ceiling itself */
	static const struct { unsigned attempt; int64_t ceiling; } cases[] = {
		{ 1, 1000 }, { 2, 2000 }, { 3, 4000 }, { 6, 32000 }, { 7, 60000 }, { 40, 60000 }, { 4000, 60000 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t top = (uint32_t)cases[i].ceiling;

		ck_assert_int_eq(hc_retry_delay_ms(&policy, cases[i].attempt, top, 0), cases[i].ceiling);
		ck_assert_int_eq(hc_retry_delay_ms(&policy, cases[i].attempt, top + 1, 0), 0);
		ck_assert_int_eq(hc_retry_delay_ms(&policy, cases[i].attempt, 0, 0), 0);
	}
}
END_TEST

START_TEST(test_full_jitter_spreads)
{
	/* draws cover the whole range [0, ceiling], not a narrow band */
	int64_t lo = INT64_MAX, hi = -1;
	uint32_t x = 12345;

	for (int i = 0; i < 10000; i++) {
		x = x * 1103515245u + 12345u;
		int64_t d = hc_retry_delay_ms(&policy, 3, x, 0);

		ck_assert_int_ge(d, 0);
		ck_assert_int_le(d, 4000);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	ck_assert_int_lt(lo, 200);
	ck_assert_int_gt(hi, 3800);
}
END_TEST

START_TEST(test_retry_after_wins)
{
	ck_assert_int_eq(hc_retry_delay_ms(&policy, 1, 999, 120000), 120000);
	ck_assert_int_eq(hc_retry_delay_ms(&policy, 9, 5, 1), 1);
}
END_TEST

START_TEST(test_retry_after_parse)
{
	/* Tue, 01 Dec 2026 00:00:00 GMT */
	const int64_t now = 1796083200;

	ck_assert_int_eq(hc_retry_after_ms("120", now), 120000);
	ck_assert_int_eq(hc_retry_after_ms(" 0 ", now), 0);
	ck_assert_int_eq(hc_retry_after_ms("Tue, 01 Dec 2026 00:00:30 GMT", now), 30000);
	ck_assert_int_eq(hc_retry_after_ms("Mon, 30 Nov 2026 23:00:00 GMT", now), 0);
	ck_assert_int_eq(hc_retry_after_ms("soon", now), -1);
	ck_assert_int_eq(hc_retry_after_ms("12abc", now), -1);
	ck_assert_int_eq(hc_retry_after_ms("", now), -1);
	ck_assert_int_eq(hc_retry_after_ms(NULL, now), -1);
	/* absurd values are capped at a week, not overflowed */
	ck_assert_int_eq(hc_retry_after_ms("99999999999999999999", now), 7LL * 24 * 3600 * 1000);
}
END_TEST

static Suite *test_suite(void)
{
	Suite *s = suite_create("retry");
	TCase *tc = tcase_create("retry");

	tcase_add_test(tc, test_ceiling_doubles_then_caps);
	tcase_add_test(tc, test_full_jitter_spreads);
	tcase_add_test(tc, test_retry_after_wins);
	tcase_add_test(tc, test_retry_after_parse);
	suite_add_tcase(s, tc);
	return s;
}
