/* Unit tests of the threshold transform's engine: crossings, re-arming,
 * cooldowns, groups, count windows, alert keys and the saved state, with
 * the core's JSON paths reached through a host table as a plugin sees them. */
#include "check_main.h"
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hlbridge/hlbridge.h"
#include "jpath.h"
#include "../plugins/threshold/threshold.h"

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

#define MIN (60 * 1000LL)
#define T0 1714564800000LL /* 2024-05-01T12:00:00Z */

static struct thr *make(const char *when)
{
	char err[256];
	struct thr *t = threshold_new(&th, "hot", when, err, sizeof(err));

	ck_assert_msg(t != NULL, "threshold_new(%s): %s", when, err);
	return t;
}

/* The last alert fed, kept for the checks that look inside it. */
static struct json_object *last_alert;
static char last_key[1024];

/* Feeds one record (JSON text) at time ms; 1 when it alerted. */
static int feed(struct thr *t, const char *json, int64_t ms)
{
	struct json_object *body = json_tokener_parse(json), *alert;
	char *key;
	int rc;

	ck_assert_msg(body != NULL, "bad test JSON: %s", json);
	rc = threshold_feed(t, body, ms, &alert, &key);
	json_object_put(body);
	ck_assert_int_ge(rc, 0);
	ck_assert_int_eq(rc == 1, alert != NULL);
	if (rc == 1) {
		json_object_put(last_alert);
		last_alert = alert;
		snprintf(last_key, sizeof(last_key), "%s", key);
		free(key);
	}
	return rc;
}

static const char *alert_str(const char *field)
{
	struct json_object *v;

	ck_assert_ptr_nonnull(last_alert);
	if (!json_object_object_get_ex(last_alert, field, &v))
		return NULL;
	if (json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

static void teardown(void)
{
	json_object_put(last_alert);
	last_alert = NULL;
	last_key[0] = 0;
}

START_TEST(metric_one_alert_per_crossing)
{
	struct thr *t = make("$.value > 1000");
	char err[256];
	int alerts = 0;

	ck_assert_int_eq(threshold_value(t, "$.value", err, sizeof(err)), HLB_OK);
	ck_assert_int_eq(feed(t, "{\"value\": 10}", T0), 0);
	for (int i = 0; i < 5; i++) {
		char rec[64];

		snprintf(rec, sizeof(rec), "{\"value\": %d}", 1500 + i);
		alerts += feed(t, rec, T0 + (i + 1) * 1000);
	}
	ck_assert_int_eq(alerts, 1);
	/* the first record above the bound is the one reported */
	ck_assert_str_eq(alert_str("alert"), "hot");
	ck_assert_str_eq(alert_str("value"), "1500");
	ck_assert_str_eq(alert_str("bound"), "$.value > 1000");
	ck_assert_str_eq(alert_str("time"), "2024-05-01T12:00:01.000Z");
	ck_assert_str_eq(alert_str("message"), "hot: $.value > 1000 (value 1500)");
	ck_assert_str_eq(alert_str("record"), "{\"value\":1500}");
	ck_assert_str_eq(last_key, "hot:1714564801000");
	ck_assert_int_eq(threshold_dirty(t), THR_SAVE_NOW);
	threshold_free(t);
}
END_TEST

START_TEST(metric_rearms_below_the_bound)
{
	struct thr *t = make("$.value > 1000");

	ck_assert_int_eq(feed(t, "{\"value\": 2000}", T0), 1);
	ck_assert_int_eq(feed(t, "{\"value\": 3000}", T0 + 1), 0);
	ck_assert_int_eq(feed(t, "{\"value\": 1000}", T0 + 2), 0); /* not > 1000: re-armed */
	ck_assert_int_eq(feed(t, "{\"value\": 1001}", T0 + 3), 1);
	ck_assert_str_eq(last_key, "hot:1714564800003");
	/* a record without the field does not meet the bound either */
	ck_assert_int_eq(feed(t, "{\"other\": 1}", T0 + 4), 0);
	ck_assert_int_eq(feed(t, "{\"value\": 5000}", T0 + 5), 1);
	threshold_free(t);
}
END_TEST

START_TEST(cooldown_suppresses_then_defers)
{
	struct thr *t = make("$.value > 1000");

	threshold_cooldown(t, 10 * MIN);
	ck_assert_int_eq(feed(t, "{\"value\": 2000}", T0), 1);
	ck_assert_int_eq(feed(t, "{\"value\": 10}", T0 + 1 * MIN), 0);
	/* re-armed, but within the cooldown: no alert */
	ck_assert_int_eq(feed(t, "{\"value\": 2000}", T0 + 2 * MIN), 0);
	ck_assert_int_eq(feed(t, "{\"value\": 2001}", T0 + 9 * MIN), 0);
	/* still above once the cooldown has passed: the alert comes now */
	ck_assert_int_eq(feed(t, "{\"value\": 2002}", T0 + 10 * MIN), 1);
	ck_assert_ptr_null(alert_str("value")); /* no value option */
	ck_assert_str_eq(alert_str("message"), "hot: $.value > 1000");
	/* and not again while it stays above, cooldown or not */
	ck_assert_int_eq(feed(t, "{\"value\": 2003}", T0 + 30 * MIN), 0);
	/* a cooldown does not hold a group that never re-armed */
	ck_assert_int_eq(feed(t, "{\"value\": 5}", T0 + 31 * MIN), 0);
	ck_assert_int_eq(feed(t, "{\"value\": 2004}", T0 + 32 * MIN), 1);
	threshold_free(t);
}
END_TEST

START_TEST(groups_cross_on_their_own)
{
	struct thr *t = make("$.value > 1000");
	char err[256];

	ck_assert_int_eq(threshold_group_by(t, "$.metric, $.locationId", err, sizeof(err)), HLB_OK);
	ck_assert_int_eq(feed(t, "{\"metric\": \"cpu\", \"locationId\": \"L1\", \"value\": 2000}", T0), 1);
	ck_assert_str_eq(alert_str("group"), "[\"cpu\",\"L1\"]");
	ck_assert_str_eq(last_key, "hot:[\"cpu\",\"L1\"]:1714564800000");
	ck_assert_str_eq(alert_str("message"), "hot: $.value > 1000 for cpu, L1");
	ck_assert_int_eq(feed(t, "{\"metric\": \"cpu\", \"locationId\": \"L2\", \"value\": 2000}", T0 + 1), 1);
	ck_assert_int_eq(feed(t, "{\"metric\": \"mem\", \"locationId\": \"L1\", \"value\": 2000}", T0 + 2), 1);
	ck_assert_int_eq(feed(t, "{\"metric\": \"cpu\", \"locationId\": \"L1\", \"value\": 3000}", T0 + 3), 0);
	/* one group going below re-arms only that group */
	ck_assert_int_eq(feed(t, "{\"metric\": \"cpu\", \"locationId\": \"L2\", \"value\": 1}", T0 + 4), 0);
	ck_assert_int_eq(feed(t, "{\"metric\": \"cpu\", \"locationId\": \"L1\", \"value\": 3000}", T0 + 5), 0);
	ck_assert_int_eq(feed(t, "{\"metric\": \"cpu\", \"locationId\": \"L2\", \"value\": 3000}", T0 + 6), 1);
	/* a missing group value is null, a group of its own */
	ck_assert_int_eq(feed(t, "{\"metric\": \"cpu\", \"value\": 3000}", T0 + 7), 1);
	ck_assert_str_eq(alert_str("group"), "[\"cpu\",null]");
	ck_assert_uint_eq(threshold_groups(t), 4);
	threshold_free(t);
}
END_TEST

START_TEST(count_mode_window)
{
	struct thr *t = make("$.change == \"created\"");
	char err[256];

	ck_assert_int_eq(threshold_window(t, 10 * MIN, 3, err, sizeof(err)), HLB_OK);
	/* three within the window is fine; others do not count */
	ck_assert_int_eq(feed(t, "{\"change\": \"created\"}", T0), 0);
	ck_assert_int_eq(feed(t, "{\"change\": \"deleted\"}", T0 + 1 * MIN), 0);
	ck_assert_int_eq(feed(t, "{\"change\": \"created\"}", T0 + 2 * MIN), 0);
	ck_assert_int_eq(feed(t, "{\"change\": \"created\"}", T0 + 3 * MIN), 0);
	ck_assert_int_eq(feed(t, "{\"change\": \"renamed\"}", T0 + 4 * MIN), 0);
	/* the fourth within 10 minutes crosses */
	ck_assert_int_eq(feed(t, "{\"change\": \"created\"}", T0 + 5 * MIN), 1);
	ck_assert_str_eq(alert_str("count"), "3");
	ck_assert_str_eq(alert_str("seen"), "4");
	ck_assert_str_eq(alert_str("window"), "10m");
	ck_assert_str_eq(alert_str("message"), "hot: 4 records within 10m (more than 3) with $.change == \"created\"");
	/* more of the same burst: no more alerts */
	ck_assert_int_eq(feed(t, "{\"change\": \"created\"}", T0 + 6 * MIN), 0);
	ck_assert_int_eq(feed(t, "{\"change\": \"created\"}", T0 + 7 * MIN), 0);
	/* long after: the window emptied (re-armed), and one match is fine */
	ck_assert_int_eq(feed(t, "{\"change\": \"created\"}", T0 + 60 * MIN), 0);
	ck_assert_int_eq(feed(t, "{\"change\": \"created\"}", T0 + 61 * MIN), 0);
	ck_assert_int_eq(feed(t, "{\"change\": \"created\"}", T0 + 62 * MIN), 0);
	ck_assert_int_eq(feed(t, "{\"change\": \"created\"}", T0 + 63 * MIN), 1);
	ck_assert_str_eq(last_key, "hot:1714568580000");
	threshold_free(t);
}
END_TEST

START_TEST(count_mode_slides)
{
	struct thr *t = make("$.change == \"created\"");
	char err[256];

	ck_assert_int_eq(threshold_window(t, 10 * MIN, 2, err, sizeof(err)), HLB_OK);
	/* one every 6 minutes: never more than two within 10 minutes */
	for (int i = 0; i < 20; i++)
		ck_assert_int_eq(feed(t, "{\"change\": \"created\"}", T0 + i * 6 * MIN), 0);
	/* two more right away make four within the window */
	ck_assert_int_eq(feed(t, "{\"change\": \"created\"}", T0 + 114 * MIN + 1), 1);
	ck_assert_int_eq(feed(t, "{\"change\": \"created\"}", T0 + 114 * MIN + 2), 0);
	/* a non-matching record after the window has slid re-arms the group */
	ck_assert_int_eq(feed(t, "{\"change\": \"deleted\"}", T0 + 200 * MIN), 0);
	ck_assert_int_eq(feed(t, "{\"change\": \"created\"}", T0 + 201 * MIN), 0);
	ck_assert_int_eq(feed(t, "{\"change\": \"created\"}", T0 + 201 * MIN), 0);
	ck_assert_int_eq(feed(t, "{\"change\": \"created\"}", T0 + 201 * MIN), 1);
	threshold_free(t);
}
END_TEST

START_TEST(count_zero_alerts_on_the_first_match)
{
	struct thr *t = make("$.level == \"error\"");
	char err[256];

	ck_assert_int_eq(threshold_window(t, 1 * MIN, 0, err, sizeof(err)), HLB_OK);
	ck_assert_int_eq(feed(t, "{\"level\": \"error\"}", T0), 1);
	ck_assert_int_eq(feed(t, "{\"level\": \"error\"}", T0 + 1000), 0);
	ck_assert_int_eq(feed(t, "{\"level\": \"error\"}", T0 + 2 * MIN), 1);
	threshold_free(t);
}
END_TEST

START_TEST(keys_are_stable)
{
	char keys[2][3][1024];

	for (int run = 0; run < 2; run++) {
		struct thr *t = make("$.v > 1");
		char err[256];
		int n = 0;

		ck_assert_int_eq(threshold_group_by(t, "$.g", err, sizeof(err)), HLB_OK);
		for (int i = 0; i < 12; i++) {
			char rec[64];

			snprintf(rec, sizeof(rec), "{\"g\": \"%c\", \"v\": %d}", 'a' + i % 2, i % 4 < 2 ? 5 : 0);
			if (feed(t, rec, T0 + i * 1000) && n < 3)
				snprintf(keys[run][n++], sizeof(keys[run][0]), "%s", last_key);
		}
		ck_assert_int_eq(n, 3);
		threshold_free(t);
	}
	for (int i = 0; i < 3; i++)
		ck_assert_str_eq(keys[0][i], keys[1][i]);
	ck_assert_str_eq(keys[0][0], "hot:[\"a\"]:1714564800000");
	ck_assert_str_eq(keys[0][1], "hot:[\"b\"]:1714564801000");
	ck_assert_str_eq(keys[0][2], "hot:[\"a\"]:1714564804000");
}
END_TEST

START_TEST(long_group_values_make_short_keys)
{
	struct thr *t = make("$.v > 1");
	char err[256], rec[3000];

	ck_assert_int_eq(threshold_group_by(t, "$.g", err, sizeof(err)), HLB_OK);
	memset(rec, 0, sizeof(rec));
	strcpy(rec, "{\"v\": 5, \"g\": \"");
	memset(rec + strlen(rec), 'x', 2000);
	strcat(rec, "\"}");
	ck_assert_int_eq(feed(t, rec, T0), 1);
	ck_assert_uint_lt(strlen(last_key), 600);
	/* the whole value is still in the alert */
	ck_assert_uint_eq(strlen(alert_str("group")), 2004);
	ck_assert_int_eq(feed(t, rec, T0 + 1), 0);
	threshold_free(t);
}
END_TEST

START_TEST(saved_state_survives_a_restart)
{
	struct thr *a = make("$.v > 10"), *b, *c;
	struct json_object *saved;
	char err[256];

	ck_assert_int_eq(threshold_group_by(a, "$.g", err, sizeof(err)), HLB_OK);
	ck_assert_int_eq(feed(a, "{\"g\": \"x\", \"v\": 50}", T0), 1);
	ck_assert_int_eq(feed(a, "{\"g\": \"y\", \"v\": 50}", T0), 1);
	ck_assert_int_eq(feed(a, "{\"g\": \"y\", \"v\": 1}", T0 + 1), 0);
	ck_assert_int_eq(feed(a, "{\"g\": \"z\", \"v\": 1}", T0 + 1), 0);
	saved = threshold_save(a);
	ck_assert_ptr_nonnull(saved);
	ck_assert_int_eq(threshold_dirty(a), 0);
	threshold_free(a);

	b = make("$.v > 10");
	ck_assert_int_eq(threshold_group_by(b, "$.g", err, sizeof(err)), HLB_OK);
	ck_assert_int_eq(threshold_load(b, saved), 0);
	/* only x is waiting to re-arm; y re-armed before the restart */
	ck_assert_uint_eq(threshold_groups(b), 1);
	ck_assert_int_eq(feed(b, "{\"g\": \"x\", \"v\": 60}", T0 + 2), 0);
	ck_assert_int_eq(feed(b, "{\"g\": \"y\", \"v\": 60}", T0 + 2), 1);
	ck_assert_int_eq(feed(b, "{\"g\": \"x\", \"v\": 0}", T0 + 3), 0);
	ck_assert_int_eq(feed(b, "{\"g\": \"x\", \"v\": 60}", T0 + 4), 1);
	ck_assert_str_eq(alert_str("group"), "[\"x\"]");
	threshold_free(b);

	/* other conditions: the state is not theirs */
	c = make("$.v > 20");
	ck_assert_int_eq(threshold_group_by(c, "$.g", err, sizeof(err)), HLB_OK);
	ck_assert_int_eq(threshold_load(c, saved), -1);
	ck_assert_int_eq(feed(c, "{\"g\": \"x\", \"v\": 60}", T0 + 2), 1);
	threshold_free(c);
	json_object_put(saved);
}
END_TEST

START_TEST(saved_count_window_survives)
{
	struct thr *a = make("$.c == 1"), *b;
	struct json_object *saved;
	char err[256];

	ck_assert_int_eq(threshold_window(a, 10 * MIN, 2, err, sizeof(err)), HLB_OK);
	ck_assert_int_eq(feed(a, "{\"c\": 1}", T0), 0);
	ck_assert_int_eq(feed(a, "{\"c\": 1}", T0 + 1 * MIN), 0);
	ck_assert_int_eq(feed(a, "{\"c\": 1}", T0 + 2 * MIN), 1);
	json_object_put(threshold_save(a));
	ck_assert_int_eq(threshold_dirty(a), 0);
	ck_assert_int_eq(feed(a, "{\"c\": 1}", T0 + 3 * MIN), 0); /* the ring wraps */
	/* a match of a group waiting to re-arm: its window is worth saving */
	ck_assert_int_eq(threshold_dirty(a), THR_SAVE_SOON);
	saved = threshold_save(a);
	threshold_free(a);

	b = make("$.c == 1");
	ck_assert_int_eq(threshold_window(b, 10 * MIN, 2, err, sizeof(err)), HLB_OK);
	ck_assert_int_eq(threshold_load(b, saved), 0);
	/* the burst still fills the window: no new alert */
	ck_assert_int_eq(feed(b, "{\"c\": 1}", T0 + 4 * MIN), 0);
	ck_assert_int_eq(feed(b, "{\"c\": 1}", T0 + 5 * MIN), 0);
	/* at 12.5 minutes the 3, 4 and 5 minute matches still fill it */
	ck_assert_int_eq(feed(b, "{\"c\": 1}", T0 + 12 * MIN + 30000), 0);
	/* at 15.5 only 12.5 and the new one are left: re-armed, no alert */
	ck_assert_int_eq(feed(b, "{\"c\": 1}", T0 + 15 * MIN + 30000), 0);
	ck_assert_int_eq(feed(b, "{\"c\": 1}", T0 + 16 * MIN), 1);
	threshold_free(b);
	json_object_put(saved);
}
END_TEST

START_TEST(cooldown_is_saved)
{
	struct thr *a = make("$.v > 10"), *b;
	struct json_object *saved;

	threshold_cooldown(a, 10 * MIN);
	ck_assert_int_eq(feed(a, "{\"v\": 50}", T0), 1);
	ck_assert_int_eq(feed(a, "{\"v\": 5}", T0 + MIN), 0);
	saved = threshold_save(a);
	threshold_free(a);
	b = make("$.v > 10");
	threshold_cooldown(b, 10 * MIN);
	ck_assert_int_eq(threshold_load(b, saved), 0);
	ck_assert_int_eq(feed(b, "{\"v\": 50}", T0 + 2 * MIN), 0);
	ck_assert_int_eq(feed(b, "{\"v\": 50}", T0 + 11 * MIN), 1);
	threshold_free(b);
	json_object_put(saved);
}
END_TEST

START_TEST(message_template)
{
	struct thr *t = make("$.value > 1000");
	char err[256];

	ck_assert_int_eq(threshold_message(t, "{{$.metric}} at {{ $.value }}{{$.missing}} in {{$.loc.name}}!", err,
					   sizeof(err)), HLB_OK);
	ck_assert_int_eq(feed(t, "{\"metric\": \"cpu\", \"value\": 1234.5, \"loc\": {\"name\": \"Rome\"}}", T0), 1);
	ck_assert_str_eq(alert_str("message"), "cpu at 1234.5 in Rome!");
	ck_assert_int_eq(threshold_message(t, "a {{$.x", err, sizeof(err)), HLB_EINVAL);
	ck_assert_msg(strstr(err, "unterminated {{ at column 3") != NULL, "%s", err);
	ck_assert_int_eq(threshold_message(t, "{{x}}", err, sizeof(err)), HLB_EINVAL);
	ck_assert_msg(strstr(err, "expected a $.path") != NULL, "%s", err);
	threshold_free(t);
}
END_TEST

START_TEST(bad_options)
{
	struct thr *t;
	char err[256];

	ck_assert_ptr_null(threshold_new(&th, "x", "$.a >", err, sizeof(err)));
	ck_assert_msg(strstr(err, "unexpected end of expression") != NULL, "%s", err);
	t = make("$.a == 1");
	ck_assert_int_eq(threshold_group_by(t, "$.a, b", err, sizeof(err)), HLB_EINVAL);
	ck_assert_msg(strstr(err, "not \"b\"") != NULL, "%s", err);
	ck_assert_int_eq(threshold_window(t, 0, 3, err, sizeof(err)), HLB_EINVAL);
	ck_assert_int_eq(threshold_window(t, 1000, 1001, err, sizeof(err)), HLB_EINVAL);
	ck_assert_int_eq(threshold_window(t, 1000, -1, err, sizeof(err)), HLB_EINVAL);
	ck_assert_int_eq(threshold_value(t, "$.[", err, sizeof(err)), HLB_EINVAL);
	threshold_free(t);
	/* a comma inside a quoted name does not split the list */
	t = make("$.v > 1");
	ck_assert_int_eq(threshold_group_by(t, "$[\"a,b\"], $.c", err, sizeof(err)), HLB_OK);
	ck_assert_int_eq(feed(t, "{\"a,b\": 1, \"c\": 2, \"v\": 5}", T0), 1);
	ck_assert_str_eq(alert_str("group"), "[1,2]");
	threshold_free(t);
}
END_TEST

START_TEST(group_cap)
{
	struct thr *t = make("$.v > 1");
	char err[256], rec[64];
	int alerts = 0;

	ck_assert_int_eq(threshold_group_by(t, "$.g", err, sizeof(err)), HLB_OK);
	for (int i = 0; i < 10001; i++) {
		snprintf(rec, sizeof(rec), "{\"g\": %d, \"v\": 5}", i);
		alerts += feed(t, rec, T0 + i);
	}
	ck_assert_int_eq(alerts, 10001);
	ck_assert_uint_eq(threshold_groups(t), 10000);
	ck_assert_uint_eq(threshold_evicted(t), 1);
	/* every group alerted (none armed): the oldest went; group 1 is kept */
	ck_assert_int_eq(feed(t, "{\"g\": 1, \"v\": 5}", T0 + 20000), 0);
	threshold_free(t);
}
END_TEST

static Suite *test_suite(void)
{
	Suite *s = suite_create("threshold");
	TCase *tc = tcase_create("engine");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, metric_one_alert_per_crossing);
	tcase_add_test(tc, metric_rearms_below_the_bound);
	tcase_add_test(tc, cooldown_suppresses_then_defers);
	tcase_add_test(tc, groups_cross_on_their_own);
	tcase_add_test(tc, count_mode_window);
	tcase_add_test(tc, count_mode_slides);
	tcase_add_test(tc, count_zero_alerts_on_the_first_match);
	tcase_add_test(tc, keys_are_stable);
	tcase_add_test(tc, long_group_values_make_short_keys);
	tcase_add_test(tc, saved_state_survives_a_restart);
	tcase_add_test(tc, saved_count_window_survives);
	tcase_add_test(tc, cooldown_is_saved);
	tcase_add_test(tc, message_template);
	tcase_add_test(tc, bad_options);
	tcase_add_test(tc, group_cap);
	suite_add_tcase(s, tc);
	return s;
}
