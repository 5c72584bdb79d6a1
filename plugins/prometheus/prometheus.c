/* The `prometheus` sink: numeric fields of records as gauges on hlbridge's
 * own GET /metrics ([service] listen), so that a Grafana dashboard shows,
 * say, GoHighLevel Social Planner statistics without another database.
 *
 *     [sink:metrics]
 *     plugin         = prometheus
 *     metric         = ghl_social_{{$.metric}}
 *     value          = $.value
 *     label.location = $.locationId
 *     label.platform = $.platform
 *
 * Each record sets one gauge series (host->metric_set). A series keeps its
 * newest sample by record time (`latest`): ghl_stats emits a week of daily
 * points per poll, and the gauge shows the last day's, not whichever came
 * last. Gauges live in memory: after a restart a series is back at the
 * next record. A delete record changes nothing (a gauge cannot be removed
 * through the host). A record without a number at `value`, or one that
 * makes no valid name or label, gets FAILED with the reason; a series
 * beyond the host's bound FAILED "too many series". */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "hlbridge/hlbridge.h"
#include "prom_gauge.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

#define REASON_MAX 512

static const hlb_option options[] = {
	{ "metric", HLB_OPT_STRING, NULL, HLB_OPT_REQUIRED,
	  "the gauge's name, or a template filled from the record: ghl_social_{{$.metric}}", NULL },
	{ "value", HLB_OPT_JSONPATH, "$.value", 0, "$.path of the number (true/false count as 1/0)", NULL },
	{ "label.", HLB_OPT_JSONPATH, NULL, HLB_OPT_PREFIX,
	  "label.NAME = $.path gives the series label NAME that value (a missing one: no label)", NULL },
	{ "help", HLB_OPT_STRING, NULL, 0, "the metrics' HELP line (default: which sink and path set them)", NULL },
	{ "latest", HLB_OPT_BOOL, "on", 0,
	  "a record older (record time) than the series' last sample leaves the gauge alone", NULL },
	{ NULL, 0, NULL, 0, NULL, NULL }
};

struct sink {
	const hlb_host *host;
	hlb_instance *inst;
	prom_gauge *gauge;
	char *help;
	int latest;
	prom_sample sample;   /* the record at work (large: kept off the stack) */
};

static void sink_free(struct sink *s)
{
	if (!s)
		return;
	prom_gauge_free(s->gauge);
	free(s->help);
	free(s);
}

static int load_labels(struct sink *s)
{
	const char *key, *value;
	size_t cursor = 0;
	char err[512];
	int bad = 0, rc;

	while (s->host->option_next(s->inst, &cursor, &key, &value, NULL)) {
		if (strncmp(key, "label.", 6) != 0)
			continue;
		rc = prom_gauge_label(s->gauge, key + 6, value, err, sizeof(err));
		if (rc == HLB_ENOMEM)
			return rc;
		if (rc != HLB_OK) {
			s->host->option_error(s->inst, key, "%s", err);
			bad++;
		}
	}
	return bad ? HLB_EINVAL : HLB_OK;
}

static int load_options(struct sink *s)
{
	const hlb_host *host = s->host;
	const char *metric = host->option(s->inst, "metric"), *value = host->option(s->inst, "value");
	const char *help = host->option(s->inst, "help");
	char err[512], dflt[600];
	int rc, bad = 0;

	rc = prom_gauge_metric(s->gauge, metric ? metric : "", err, sizeof(err));
	if (rc == HLB_ENOMEM)
		return rc;
	if (rc != HLB_OK) {
		host->option_error(s->inst, "metric", "%s", err);
		bad++;
	}
	rc = prom_gauge_value(s->gauge, value ? value : "$.value", err, sizeof(err));
	if (rc != HLB_OK) {
		host->option_error(s->inst, "value", "%s", err);
		bad++;
	}
	rc = load_labels(s);
	if (rc == HLB_ENOMEM)
		return rc;
	bad += rc != HLB_OK;
	if (bad)
		return HLB_EINVAL;
	if (!help) {
		snprintf(dflt, sizeof(dflt), "%s of the records of hlbridge sink %s", value ? value : "$.value",
			 host->instance_name(s->inst));
		help = dflt;
	}
	s->help = strdup(help);
	s->latest = host->option_bool(s->inst, "latest", 1);
	return s->help ? HLB_OK : HLB_ENOMEM;
}

static int prom_init(const hlb_host *host, hlb_instance *inst, uint32_t role, void **state)
{
	struct sink *s;
	int rc;

	*state = NULL;
	if (!HLB_HOST_HAS(host, metric_set) || !host->metric_set) {
		host->log(inst, HLB_LOG_ERROR, "the prometheus sink needs hlbridge with metrics (ABI 1.4); this "
			  "host is %u.%u", host->abi_major, host->abi_minor);
		return HLB_EUNSUPPORTED;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return HLB_ENOMEM;
	s->host = host;
	s->inst = inst;
	s->gauge = prom_gauge_new(host);
	rc = s->gauge ? load_options(s) : HLB_ENOMEM;
	if (rc != HLB_OK) {
		sink_free(s);
		return rc;
	}
	*state = s;
	return HLB_OK;
}

/* One record's verdict; *why gets the reason of a failure. */
static hlb_verdict set_one(struct sink *s, const hlb_record *rec, char *why, size_t whylen)
{
	const hlb_host *host = s->host;
	prom_sample *smp = &s->sample;
	int fresh, rc;

	if (host->record_op(rec) == HLB_OP_DELETE)
		return HLB_DONE;
	if (prom_gauge_sample(s->gauge, host->record_body(rec), smp, why, whylen) != HLB_OK)
		return HLB_FAILED;
	fresh = s->latest ? prom_gauge_fresh(s->gauge, smp, host->record_time(rec)) : 1;
	if (fresh < 0) {
		snprintf(why, whylen, "out of memory");
		return HLB_RETRY;
	}
	if (!fresh)
		return HLB_DONE;
	rc = host->metric_set(s->inst, smp->name, s->help, smp->labels, smp->value);
	if (rc == HLB_OK)
		return HLB_DONE;
	if (rc == HLB_ETOOBIG)
		snprintf(why, whylen, "too many series");
	else if (rc == HLB_EINVAL)
		snprintf(why, whylen, "%s: refused by the host (a bad name or label, or a name in use by another "
			 "metric type)", smp->name);
	else
		snprintf(why, whylen, "%s: %s", smp->name, host->strerror(rc));
	return rc == HLB_ENOMEM ? HLB_RETRY : HLB_FAILED;
}

static int prom_deliver(void *state, hlb_job *job)
{
	struct sink *s = state;
	const hlb_host *host = s->host;
	size_t n = host->batch_size(job), failed = 0;
	char why[REASON_MAX];

	for (size_t i = 0; i < n; i++) {
		hlb_verdict v;

		why[0] = '\0';
		v = set_one(s, host->batch_record(job, i), why, sizeof(why));
		if (v != HLB_DONE && failed++ == 0)
			host->log(s->inst, HLB_LOG_WARN, "record %s: %s", host->record_key(host->batch_record(job, i)),
				  why);
		host->verdict(job, i, v, v == HLB_DONE ? NULL : why);
	}
	if (failed > 1)
		host->log(s->inst, HLB_LOG_WARN, "%zu of %zu records set no gauge", failed, n);
	host->finish(job, HLB_OK, NULL);
	return HLB_OK;
}

static void prom_fini(void *state)
{
	sink_free(state);
}

const hlb_plugin HLB_PLUGIN_EXPORT(prometheus) = {
	HLB_PLUGIN_HEADER,
	.caps = HLB_CAP_SINK,
	.name = "prometheus",
	.version = PACKAGE_VERSION,
	.summary = "numeric fields of records as gauges on hlbridge's GET /metrics",
	.options = options,
	.init = prom_init,
	.deliver = prom_deliver,
	.fini = prom_fini,
};
