/* The metrics registry behind GET /metrics: counters, gauges and
 * histograms with labels, rendered in the Prometheus text exposition
 * format 0.0.4. The host counts into it as things happen (records,
 * HTTP requests, webhooks, polls); plugins reach it through
 * host->metric_add / metric_set. Single-threaded (the event loop). */
#ifndef HC_METRICS_H
#define HC_METRICS_H

#include <stddef.h>

typedef struct hc_metrics hc_metrics;

/* max_series bounds the number of label sets over all families, so that
 * values from the network cannot grow it without end. */
hc_metrics *hc_metrics_new(size_t max_series);
void hc_metrics_free(hc_metrics *m);

/* `labels`: NULL-terminated list of name, value pairs, or NULL. Names must
 * match [a-zA-Z_:][a-zA-Z0-9_:]* (label names [a-zA-Z_][a-zA-Z0-9_]*, not
 * starting with "__"); label values are any UTF-8 (escaped on output).
 * The first call for a name fixes its type and help. Return 0; -1 for a
 * bad name or label, a name of another type, or a negative counter
 * increment; -2 when the series bound is reached. */
int hc_metric_add(hc_metrics *m, const char *name, const char *help,
		  const char *const *labels, double v);
int hc_metric_set(hc_metrics *m, const char *name, const char *help,
		  const char *const *labels, double v);
/* Histogram: `bounds` are the upper bounds in increasing order (the +Inf
 * bucket is implicit), fixed by the first call for the name. */
int hc_metric_observe(hc_metrics *m, const char *name, const char *help,
		      const double *bounds, size_t nbounds,
		      const char *const *labels, double v);
/* The value of a counter or gauge series (for tests and the status page);
 * 0 when there is none. */
double hc_metric_value(const hc_metrics *m, const char *name, const char *const *labels);

/* The exposition text (families in name order, series in label order),
 * malloc'd and NUL-terminated; NULL when out of memory. */
char *hc_metrics_render(const hc_metrics *m, size_t *len);

#endif
