/* Unit tests of the metrics registry (core/metrics.c): the exact
 * exposition text of small registries, escaping, the number format, what
 * is refused (names, labels, types, negative increments), the series
 * bound and value lookups. */
#include "check_main.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"

static hc_metrics *m;

static void setup(void)
{
	m = hc_metrics_new(100);
	ck_assert_ptr_nonnull(m);
}

static void teardown(void)
{
	hc_metrics_free(m);
	m = NULL;
}

static void expect(const char *want)
{
	size_t len = 12345;
	char *got = hc_metrics_render(m, &len);

	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, want);
	ck_assert_uint_eq(len, strlen(want));
	free(got);
}

START_TEST(test_empty)
{
	expect("");
}
END_TEST

START_TEST(test_counter)
{
	const char *l1[] = { "route", "b", "sink", "x", NULL };
	const char *l2[] = { "sink", "x", "route", "a", NULL }; /* any order */

	ck_assert_int_eq(hc_metric_add(m, "hlbridge_records_total", "Records in.", l1, 2), 0);
	ck_assert_int_eq(hc_metric_add(m, "hlbridge_records_total", "ignored", l2, 1), 0);
	ck_assert_int_eq(hc_metric_add(m, "hlbridge_records_total", NULL, l1, 0.5), 0);
	ck_assert_int_eq(hc_metric_add(m, "a_total", NULL, NULL, 3), 0);
	expect("# TYPE a_total counter\n"
	       "a_total 3\n"
	       "# HELP hlbridge_records_total Records in.\n"
	       "# TYPE hlbridge_records_total counter\n"
	       "hlbridge_records_total{route=\"a\",sink=\"x\"} 1\n"
	       "hlbridge_records_total{route=\"b\",sink=\"x\"} 2.5\n");
	ck_assert(hc_metric_value(m, "hlbridge_records_total", l1) == 2.5);
	ck_assert(hc_metric_value(m, "hlbridge_records_total", l2) == 1);
	ck_assert(hc_metric_value(m, "a_total", NULL) == 3);
	ck_assert(hc_metric_value(m, "nothing", NULL) == 0);
	ck_assert(hc_metric_value(m, "a_total", l1) == 0);
}
END_TEST

START_TEST(test_gauge)
{
	const char *l[] = { "bucket", "ghl", NULL };

	ck_assert_int_eq(hc_metric_set(m, "quota_remaining", "Left.", l, 10), 0);
	ck_assert_int_eq(hc_metric_set(m, "quota_remaining", "Left.", l, -3.25), 0);
	ck_assert_int_eq(hc_metric_set(m, "g", NULL, NULL, NAN), 0);
	ck_assert_int_eq(hc_metric_set(m, "h", NULL, NULL, INFINITY), 0);
	ck_assert_int_eq(hc_metric_set(m, "i", NULL, NULL, -INFINITY), 0);
	expect("# TYPE g gauge\ng NaN\n"
	       "# TYPE h gauge\nh +Inf\n"
	       "# TYPE i gauge\ni -Inf\n"
	       "# HELP quota_remaining Left.\n"
	       "# TYPE quota_remaining gauge\n"
	       "quota_remaining{bucket=\"ghl\"} -3.25\n");
	ck_assert(hc_metric_value(m, "quota_remaining", l) == -3.25);
}
END_TEST

START_TEST(test_histogram)
{
	const double b[] = { 0.1, 1, 2.5 };
	const char *l[] = { "route", "r", NULL };

	ck_assert_int_eq(hc_metric_observe(m, "poll_seconds", "Poll time.", b, 3, l, 0.05), 0);
	ck_assert_int_eq(hc_metric_observe(m, "poll_seconds", NULL, NULL, 0, l, 0.1), 0);
	ck_assert_int_eq(hc_metric_observe(m, "poll_seconds", NULL, NULL, 0, l, 2), 0);
	ck_assert_int_eq(hc_metric_observe(m, "poll_seconds", NULL, NULL, 0, l, 7), 0);
	ck_assert_int_eq(hc_metric_observe(m, "plain", NULL, NULL, 0, NULL, 1), 0);
	expect("# TYPE plain histogram\n"
	       "plain_bucket{le=\"+Inf\"} 1\n"
	       "plain_sum 1\n"
	       "plain_count 1\n"
	       "# HELP poll_seconds Poll time.\n"
	       "# TYPE poll_seconds histogram\n"
	       "poll_seconds_bucket{route=\"r\",le=\"0.1\"} 2\n"
	       "poll_seconds_bucket{route=\"r\",le=\"1\"} 2\n"
	       "poll_seconds_bucket{route=\"r\",le=\"2.5\"} 3\n"
	       "poll_seconds_bucket{route=\"r\",le=\"+Inf\"} 4\n"
	       "poll_seconds_sum{route=\"r\"} 9.15\n"
	       "poll_seconds_count{route=\"r\"} 4\n");
	ck_assert(hc_metric_value(m, "poll_seconds", l) == 4);
	/* bad bounds, NaN observations and a label named le */
	const double bad[] = { 1, 1 }, inf[] = { INFINITY };
	const char *le[] = { "le", "1", NULL };

	ck_assert_int_eq(hc_metric_observe(m, "h2", NULL, bad, 2, NULL, 1), -1);
	ck_assert_int_eq(hc_metric_observe(m, "h3", NULL, inf, 1, NULL, 1), -1);
	ck_assert_int_eq(hc_metric_observe(m, "h4", NULL, NULL, 0, le, 1), -1);
	ck_assert_int_eq(hc_metric_observe(m, "plain", NULL, NULL, 0, NULL, NAN), -1);
}
END_TEST

START_TEST(test_escaping)
{
	const char *l[] = { "v", "a\\b\"c\nd", NULL };

	ck_assert_int_eq(hc_metric_set(m, "x", "back\\slash\nnew \"quoted\"", l, 1), 0);
	expect("# HELP x back\\\\slash\\nnew \"quoted\"\n"
	       "# TYPE x gauge\n"
	       "x{v=\"a\\\\b\\\"c\\nd\"} 1\n");
}
END_TEST

START_TEST(test_numbers)
{
	static const struct {
		double v;
		const char *s;
	} c[] = {
		{ 0, "0" }, { -0.0, "0" }, { 1000000, "1000000" },
		{ 9007199254740992.0, "9007199254740992" }, { 1e300, "1e+300" },
		{ 0.1, "0.1" }, { 0.0001, "0.0001" }, { 0.00001, "1e-05" },
		{ 1234567.5, "1.2345675e+06" }, { 123456.5, "123456.5" }, { -2.5, "-2.5" },
		{ 1.0 / 3, "0.3333333333333333" },
	};
	char want[4096] = "# TYPE g gauge\n", line[128];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char lv[8];
		const char *l[] = { "i", lv, NULL };

		snprintf(lv, sizeof(lv), "%02zu", i);
		ck_assert_int_eq(hc_metric_set(m, "g", NULL, l, c[i].v), 0);
		snprintf(line, sizeof(line), "g{i=\"%s\"} %s\n", lv, c[i].s);
		strcat(want, line);
	}
	expect(want);
}
END_TEST

START_TEST(test_refused)
{
	const char *badlabel[][3] = {
		{ "1a", "v", NULL }, { "a-b", "v", NULL }, { "__x", "v", NULL },
		{ "", "v", NULL }, { "a:b", "v", NULL }, { "ok", "\xff", NULL },
		{ "ok", "\xc0\xaf", NULL }, { "ok", "\xed\xa0\x80", NULL },
	};
	const char *odd[] = { "a", NULL };
	const char *dup[] = { "a", "1", "a", "2", NULL };
	const char *utf[] = { "ok", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", NULL };

	ck_assert_int_eq(hc_metric_add(m, "1abc", NULL, NULL, 1), -1);
	ck_assert_int_eq(hc_metric_add(m, "a b", NULL, NULL, 1), -1);
	ck_assert_int_eq(hc_metric_add(m, "", NULL, NULL, 1), -1);
	ck_assert_int_eq(hc_metric_add(m, NULL, NULL, NULL, 1), -1);
	ck_assert_int_eq(hc_metric_add(m, "é", NULL, NULL, 1), -1);
	ck_assert_int_eq(hc_metric_add(m, "ok:name_total", NULL, NULL, 1), 0);
	ck_assert_int_eq(hc_metric_add(m, "_ok", NULL, NULL, 1), 0);
	for (size_t i = 0; i < sizeof(badlabel) / sizeof(badlabel[0]); i++)
		ck_assert_int_eq(hc_metric_add(m, "c_total", NULL, badlabel[i], 1), -1);
	ck_assert_int_eq(hc_metric_add(m, "c_total", NULL, odd, 1), -1);
	ck_assert_int_eq(hc_metric_add(m, "c_total", NULL, dup, 1), -1);
	ck_assert_int_eq(hc_metric_add(m, "c_total", NULL, utf, 1), 0);
	ck_assert_int_eq(hc_metric_add(m, "c_total", "bad help \xff", NULL, 1), 0); /* family exists */
	ck_assert_int_eq(hc_metric_add(m, "d_total", "bad help \xff", NULL, 1), -1);
	/* negative or NaN increments */
	ck_assert_int_eq(hc_metric_add(m, "c_total", NULL, NULL, -1), -1);
	ck_assert_int_eq(hc_metric_add(m, "c_total", NULL, NULL, NAN), -1);
	/* a name keeps its type */
	ck_assert_int_eq(hc_metric_set(m, "c_total", NULL, NULL, 1), -1);
	ck_assert_int_eq(hc_metric_observe(m, "c_total", NULL, NULL, 0, NULL, 1), -1);
	ck_assert_int_eq(hc_metric_set(m, "g", NULL, NULL, 1), 0);
	ck_assert_int_eq(hc_metric_add(m, "g", NULL, NULL, 1), -1);
	/* the names a histogram writes are its own */
	ck_assert_int_eq(hc_metric_observe(m, "h", NULL, NULL, 0, NULL, 1), 0);
	ck_assert_int_eq(hc_metric_add(m, "h_count", NULL, NULL, 1), -1);
	ck_assert_int_eq(hc_metric_set(m, "h_sum", NULL, NULL, 1), -1);
	ck_assert_int_eq(hc_metric_set(m, "h_bucket", NULL, NULL, 1), -1);
	ck_assert_int_eq(hc_metric_set(m, "x_count", NULL, NULL, 1), 0);
	ck_assert_int_eq(hc_metric_observe(m, "x", NULL, NULL, 0, NULL, 1), -1);
	ck_assert(hc_metric_value(m, "c_total", NULL) == 1);
}
END_TEST

START_TEST(test_series_bound)
{
	hc_metrics *small = hc_metrics_new(3);
	char v[16];
	const char *l[] = { "id", v, NULL };

	ck_assert_ptr_nonnull(small);
	for (int i = 0; i < 3; i++) {
		snprintf(v, sizeof(v), "%d", i);
		ck_assert_int_eq(hc_metric_add(small, "c_total", NULL, l, 1), 0);
	}
	snprintf(v, sizeof(v), "3");
	ck_assert_int_eq(hc_metric_add(small, "c_total", NULL, l, 1), -2);
	ck_assert_int_eq(hc_metric_set(small, "other", NULL, NULL, 1), -2);
	ck_assert_int_eq(hc_metric_observe(small, "hist", NULL, NULL, 0, NULL, 1), -2);
	/* existing series still count, and a refused family leaves no trace */
	snprintf(v, sizeof(v), "1");
	ck_assert_int_eq(hc_metric_add(small, "c_total", NULL, l, 1), 0);
	ck_assert(hc_metric_value(small, "c_total", l) == 2);
	char *t = hc_metrics_render(small, NULL);

	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_null(strstr(t, "other"));
	ck_assert_ptr_null(strstr(t, "hist"));
	free(t);
	hc_metrics_free(small);
}
END_TEST

/* Many families and series: the hash tables grow and keep finding
 * everything, and the output stays sorted. */
START_TEST(test_many)
{
	hc_metrics *big = hc_metrics_new(0);
	char name[32], v[16];
	const char *l[] = { "k", v, NULL };
	char *t;

	ck_assert_ptr_nonnull(big);
	for (int i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "f%03d_total", i % 97);
		snprintf(v, sizeof(v), "%04d", i);
		ck_assert_int_eq(hc_metric_add(big, name, NULL, l, i), 0);
	}
	for (int i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "f%03d_total", i % 97);
		snprintf(v, sizeof(v), "%04d", i);
		ck_assert(hc_metric_value(big, name, l) == i);
	}
	t = hc_metrics_render(big, NULL);
	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_nonnull(strstr(t, "f000_total{k=\"0000\"} 0\nf000_total{k=\"0097\"} 97\n"));
	ck_assert(strstr(t, "# TYPE f001_total") < strstr(t, "# TYPE f002_total"));
	free(t);
	hc_metrics_free(big);
}
END_TEST

/* The registry is on the path of every record: a million updates of one
 * series take well under a second (10000 only under HLB_WRAP or HLB_FAST). */
START_TEST(test_speed)
{
	const char *l[] = { "route", "contacts", "sink", "ghl", "outcome", "ok", NULL };
	int n = getenv("HLB_WRAP") || getenv("HLB_FAST") ? 10000 : 1000000;
	struct timespec a, b;
	double secs;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < n; i++)
		hc_metric_add(m, "hlbridge_records_out_total", "Records out.", l, 1);
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	ck_assert(hc_metric_value(m, "hlbridge_records_out_total", l) == n);
	if (n == 1000000)
		ck_assert_msg(secs < 1.0, "1M adds took %.3f s", secs); /* 0.22 s here */
}
END_TEST

static Suite *test_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("registry");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_counter);
	tcase_add_test(tc, test_gauge);
	tcase_add_test(tc, test_histogram);
	tcase_add_test(tc, test_escaping);
	tcase_add_test(tc, test_numbers);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_series_bound);
	tcase_add_test(tc, test_many);
	tcase_add_test(tc, test_speed);
	suite_add_tcase(s, tc);
	return s;
}
