/* Unit tests of the prometheus sink's engine (plugins/prometheus/
 * prom_gauge.c): metric names from literals and templates, labels, values,
 * the reasons a record sets no gauge, and the newest sample per series,
 * with the core's JSON paths reached through a host table as a plugin
 * sees them. */
#include "check_main.h"
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "hlbridge/hlbridge.h"
#include "jpath.h"
#include "../plugins/prometheus/prom_gauge.h"

static hlb_host th = {
	.size = sizeof(hlb_host),
	.path_compile = hc_jpath_compile,
	.path_get = hc_jpath_get,
	.path_lookup = hc_jpath_lookup,
	.path_set = hc_jpath_set,
	.path_remove = hc_jpath_remove,
	.path_text = hc_jpath_text,
	.path_free = hc_jpath_free,
};

static prom_gauge *g;
static prom_sample smp;
static char why[512];

static void setup(void)
{
	char err[256];

	g = prom_gauge_new(&th);
	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(prom_gauge_value(g, "$.value", err, sizeof(err)), HLB_OK);
}

static void teardown(void)
{
	prom_gauge_free(g);
	g = NULL;
}

static void metric(const char *text)
{
	char err[256];

	ck_assert_msg(prom_gauge_metric(g, text, err, sizeof(err)) == HLB_OK, "%s: %s", text, err);
}

static void label(const char *name, const char *path)
{
	char err[256];

	ck_assert_msg(prom_gauge_label(g, name, path, err, sizeof(err)) == HLB_OK, "%s: %s", name, err);
}

/* The sample of a record (JSON text): its rc, with smp and why filled. */
static int sample(const char *json)
{
	struct json_object *body = json_tokener_parse(json);
	int rc;

	ck_assert_msg(body != NULL, "bad test JSON: %s", json);
	why[0] = '\0';
	rc = prom_gauge_sample(g, body, &smp, why, sizeof(why));
	json_object_put(body);
	return rc;
}

#define STATS "{\"statId\":\"a1\",\"locationId\":\"loc1\",\"platform\":\"facebook\",\"metric\":\"followers\"," \
	      "\"value\":%s,\"day\":\"2026-05-01\"}"

static int stats(const char *value)
{
	char json[512];

	snprintf(json, sizeof(json), STATS, value);
	return sample(json);
}

START_TEST(ghl_stats_record)
{
	metric("ghl_social_{{$.metric}}");
	label("location", "$.locationId");
	label("platform", "$.platform");
	ck_assert_int_eq(stats("120"), HLB_OK);
	ck_assert_str_eq(smp.name, "ghl_social_followers");
	ck_assert_double_eq(smp.value, 120);
	ck_assert_str_eq(smp.labels[0], "location");
	ck_assert_str_eq(smp.labels[1], "loc1");
	ck_assert_str_eq(smp.labels[2], "platform");
	ck_assert_str_eq(smp.labels[3], "facebook");
	ck_assert_ptr_null(smp.labels[4]);
}
END_TEST

START_TEST(literal_name_no_labels)
{
	metric("hlb_rooms_free");
	ck_assert_int_eq(stats("2.5"), HLB_OK);
	ck_assert_str_eq(smp.name, "hlb_rooms_free");
	ck_assert_double_eq(smp.value, 2.5);
	ck_assert_ptr_null(smp.labels[0]);
}
END_TEST

START_TEST(values)
{
	metric("m");
	ck_assert_int_eq(stats("-3"), HLB_OK);
	ck_assert_double_eq(smp.value, -3);
	ck_assert_int_eq(stats("true"), HLB_OK);
	ck_assert_double_eq(smp.value, 1);
	ck_assert_int_eq(stats("\"42\""), HLB_OK);
	ck_assert_double_eq(smp.value, 42);
	ck_assert_int_eq(stats("\"1e3\""), HLB_OK);
	ck_assert_double_eq(smp.value, 1000);
	/* not numbers */
	ck_assert_int_eq(stats("\"12 apples\""), HLB_EINVAL);
	ck_assert_msg(strstr(why, "not a number") != NULL, "%s", why);
	ck_assert_int_eq(stats("\"\""), HLB_EINVAL);
	ck_assert_int_eq(stats("\" 1\""), HLB_EINVAL);
	ck_assert_int_eq(stats("\"nan\""), HLB_EINVAL);
	ck_assert_int_eq(stats("\"inf\""), HLB_EINVAL);
	ck_assert_int_eq(stats("\"0x10\""), HLB_EINVAL);
	ck_assert_int_eq(stats("\"1e999\""), HLB_EINVAL);
	ck_assert_int_eq(stats("[1]"), HLB_EINVAL);
	ck_assert_int_eq(stats("{}"), HLB_EINVAL);
	ck_assert_int_eq(stats("null"), HLB_EINVAL);
	ck_assert_msg(strstr(why, "no value at $.value") != NULL, "%s", why);
	ck_assert_int_eq(sample("{\"metric\":\"x\"}"), HLB_EINVAL);
	ck_assert_msg(strstr(why, "no value at $.value") != NULL, "%s", why);
}
END_TEST

START_TEST(name_parts_are_cleaned)
{
	metric("ghl_{{$.platform}}_{{$.metric}}");
	ck_assert_int_eq(sample("{\"platform\":\"google business\",\"metric\":\"post-views:total\",\"value\":1}"),
			 HLB_OK);
	ck_assert_str_eq(smp.name, "ghl_google_business_post_views_total");
	/* a number fills in as its text */
	ck_assert_int_eq(sample("{\"platform\":7,\"metric\":\"x\",\"value\":1}"), HLB_OK);
	ck_assert_str_eq(smp.name, "ghl_7_x");
}
END_TEST

START_TEST(name_failures)
{
	metric("{{$.metric}}");
	/* a name cannot start with a digit */
	ck_assert_int_eq(sample("{\"metric\":\"7days\",\"value\":1}"), HLB_EINVAL);
	ck_assert_msg(strstr(why, "'7days' is not a Prometheus metric name") != NULL, "%s", why);
	/* a placeholder without a value */
	ck_assert_int_eq(sample("{\"value\":1}"), HLB_EINVAL);
	ck_assert_msg(strstr(why, "has no value") != NULL, "%s", why);
	ck_assert_int_eq(sample("{\"metric\":null,\"value\":1}"), HLB_EINVAL);
	ck_assert_int_eq(sample("{\"metric\":\"\",\"value\":1}"), HLB_EINVAL);
	ck_assert_int_eq(sample("{\"metric\":{\"a\":1},\"value\":1}"), HLB_EINVAL);
}
END_TEST

START_TEST(long_name_refused)
{
	char json[1024];

	metric("m_{{$.metric}}");
	snprintf(json, sizeof(json), "{\"metric\":\"%0300d\",\"value\":1}", 0);
	ck_assert_int_eq(sample(json), HLB_EINVAL);
}
END_TEST

START_TEST(labels)
{
	char json[4096], big[PROM_LABEL_VALUE_MAX + 2];

	metric("m");
	label("a", "$.a");
	label("b", "$.b");
	/* missing and null: empty (Prometheus: no such label); numbers as text */
	ck_assert_int_eq(sample("{\"value\":1,\"b\":null}"), HLB_OK);
	ck_assert_str_eq(smp.labels[1], "");
	ck_assert_str_eq(smp.labels[3], "");
	ck_assert_int_eq(sample("{\"value\":1,\"a\":12,\"b\":\"x\\\"y\\n\"}"), HLB_OK);
	ck_assert_str_eq(smp.labels[1], "12");
	ck_assert_str_eq(smp.labels[3], "x\"y\n");
	ck_assert_int_eq(sample("{\"value\":1,\"a\":[1]}"), HLB_EINVAL);
	ck_assert_msg(strstr(why, "label a:") != NULL, "%s", why);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(json, sizeof(json), "{\"value\":1,\"a\":\"%s\"}", big);
	ck_assert_int_eq(sample(json), HLB_EINVAL);
	ck_assert_msg(strstr(why, "longer than") != NULL, "%s", why);
	big[sizeof(big) - 2] = '\0';
	snprintf(json, sizeof(json), "{\"value\":1,\"a\":\"%s\",\"b\":\"%s\"}", big, big);
	ck_assert_int_eq(sample(json), HLB_OK);
	ck_assert_uint_eq(strlen(smp.labels[3]), PROM_LABEL_VALUE_MAX);
}
END_TEST

START_TEST(bad_options)
{
	char err[256];

	ck_assert_int_eq(prom_gauge_metric(g, "", err, sizeof(err)), HLB_EINVAL);
	ck_assert_int_eq(prom_gauge_metric(g, "9lives", err, sizeof(err)), HLB_EINVAL);
	ck_assert_int_eq(prom_gauge_metric(g, "ghl-social", err, sizeof(err)), HLB_EINVAL);
	ck_assert_msg(strstr(err, "not a Prometheus metric name") != NULL, "%s", err);
	ck_assert_int_eq(prom_gauge_metric(g, "ghl_{{metric}}", err, sizeof(err)), HLB_EINVAL);
	ck_assert_int_eq(prom_gauge_metric(g, "ghl_{{$.metric", err, sizeof(err)), HLB_EINVAL);
	ck_assert_int_eq(prom_gauge_metric(g, "a:b_{{$.x}}", err, sizeof(err)), HLB_OK);
	ck_assert_int_eq(prom_gauge_label(g, "__name__", "$.a", err, sizeof(err)), HLB_EINVAL);
	ck_assert_int_eq(prom_gauge_label(g, "a:b", "$.a", err, sizeof(err)), HLB_EINVAL);
	ck_assert_int_eq(prom_gauge_label(g, "1a", "$.a", err, sizeof(err)), HLB_EINVAL);
	ck_assert_int_eq(prom_gauge_label(g, "ok", "no path", err, sizeof(err)), HLB_EINVAL);
	ck_assert_int_eq(prom_gauge_label(g, "ok", "$.a", err, sizeof(err)), HLB_OK);
	ck_assert_int_eq(prom_gauge_label(g, "ok", "$.b", err, sizeof(err)), HLB_EINVAL);
	ck_assert_msg(strstr(err, "twice") != NULL, "%s", err);
	ck_assert_int_eq(prom_gauge_value(g, "value", err, sizeof(err)), HLB_EINVAL);
	for (int i = 1; i < PROM_MAX_LABELS; i++) {
		char name[16];

		snprintf(name, sizeof(name), "l%d", i);
		ck_assert_int_eq(prom_gauge_label(g, name, "$.a", err, sizeof(err)), HLB_OK);
	}
	ck_assert_int_eq(prom_gauge_label(g, "one_more", "$.a", err, sizeof(err)), HLB_EINVAL);
	ck_assert_uint_eq(prom_gauge_labels(g), PROM_MAX_LABELS);
}
END_TEST

/* A week of daily points: the gauge keeps the last day's, whatever order
 * they come in; each series on its own. */
START_TEST(newest_sample_wins)
{
	const int64_t day = 86400000LL, d0 = 1777593600000LL;

	metric("ghl_social_{{$.metric}}");
	label("platform", "$.platform");
	ck_assert_int_eq(stats("10"), HLB_OK);
	ck_assert_int_eq(prom_gauge_fresh(g, &smp, d0 + 6 * day), 1);
	ck_assert_int_eq(prom_gauge_fresh(g, &smp, d0), 0);
	ck_assert_int_eq(prom_gauge_fresh(g, &smp, d0 + 5 * day), 0);
	/* the same day again (a value corrected): set */
	ck_assert_int_eq(prom_gauge_fresh(g, &smp, d0 + 6 * day), 1);
	ck_assert_int_eq(prom_gauge_fresh(g, &smp, d0 + 7 * day), 1);
	/* no time: always */
	ck_assert_int_eq(prom_gauge_fresh(g, &smp, 0), 1);
	/* another platform is another series */
	ck_assert_int_eq(sample("{\"platform\":\"instagram\",\"metric\":\"followers\",\"value\":1}"), HLB_OK);
	ck_assert_int_eq(prom_gauge_fresh(g, &smp, d0), 1);
	/* another metric too */
	ck_assert_int_eq(sample("{\"platform\":\"facebook\",\"metric\":\"likes\",\"value\":1}"), HLB_OK);
	ck_assert_int_eq(prom_gauge_fresh(g, &smp, d0), 1);
}
END_TEST

/* Label values that would join into the same text stay apart. */
START_TEST(series_keys_do_not_collide)
{
	metric("m");
	label("a", "$.a");
	label("b", "$.b");
	ck_assert_int_eq(sample("{\"value\":1,\"a\":\"x|1:y\",\"b\":\"\"}"), HLB_OK);
	ck_assert_int_eq(prom_gauge_fresh(g, &smp, 1000), 1);
	ck_assert_int_eq(sample("{\"value\":1,\"a\":\"x\",\"b\":\"y|0:\"}"), HLB_OK);
	ck_assert_int_eq(prom_gauge_fresh(g, &smp, 500), 1);
}
END_TEST

static Suite *test_suite(void)
{
	Suite *s = suite_create("prometheus");
	TCase *tc = tcase_create("gauge");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, ghl_stats_record);
	tcase_add_test(tc, literal_name_no_labels);
	tcase_add_test(tc, values);
	tcase_add_test(tc, name_parts_are_cleaned);
	tcase_add_test(tc, name_failures);
	tcase_add_test(tc, long_name_refused);
	tcase_add_test(tc, labels);
	tcase_add_test(tc, bad_options);
	tcase_add_test(tc, newest_sample_wins);
	tcase_add_test(tc, series_keys_do_not_collide);
	suite_add_tcase(s, tc);
	return s;
}
