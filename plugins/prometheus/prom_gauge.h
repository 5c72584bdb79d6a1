/* The engine of the `prometheus` sink (prometheus.c): what gauge sample a
 * record body makes (metric name, labels, value) and whether it is newer
 * than the series' last one. It reaches nothing of the host but its JSON
 * paths, so that tests/test_prometheus.c drives it with a table of path
 * functions. */
#ifndef HLB_PROM_GAUGE_H
#define HLB_PROM_GAUGE_H

#include <stddef.h>
#include <stdint.h>

#include "hlbridge/hlbridge.h"

struct json_object;

#define PROM_NAME_MAX 200        /* a metric name's bytes */
#define PROM_MAX_LABELS 16
#define PROM_LABEL_VALUE_MAX 1024
#define PROM_MAX_TRACKED 100000  /* series whose last sample time is kept */

typedef struct prom_gauge prom_gauge;

/* One sample; `labels` is the NULL-terminated name, value list that
 * metric_set takes, pointing into the sample. */
typedef struct prom_sample {
	char name[PROM_NAME_MAX + 1];
	const char *labels[2 * PROM_MAX_LABELS + 1];
	double value;
	char text[PROM_MAX_LABELS * (PROM_LABEL_VALUE_MAX + 1)];
} prom_sample;

prom_gauge *prom_gauge_new(const hlb_host *host);
void prom_gauge_free(prom_gauge *g);

/* The metric name: a literal (ghl_social_followers) or a template whose
 * {{$.path}} pieces are filled from the record (ghl_social_{{$.metric}}),
 * each character outside [a-zA-Z0-9_] of a filled value made '_'. The
 * literal text must be name characters. HLB_OK, HLB_EINVAL with err,
 * HLB_ENOMEM. */
int prom_gauge_metric(prom_gauge *g, const char *tmpl_text, char *err, size_t errlen);
/* The $.path of the value (a number, true/false as 1/0, or a string that
 * is a whole finite number). */
int prom_gauge_value(prom_gauge *g, const char *path, char *err, size_t errlen);
/* A label: `name` ([a-zA-Z_][a-zA-Z0-9_]*, not __...) from $.path. A
 * missing or null value is the empty label (Prometheus: no label). */
int prom_gauge_label(prom_gauge *g, const char *name, const char *path, char *err, size_t errlen);
size_t prom_gauge_labels(const prom_gauge *g);

/* The sample of `body` into *s: HLB_OK, or HLB_EINVAL with the reason in
 * why (no number at the value path, a name that is not one, an object as
 * a label value, ...). */
int prom_gauge_sample(prom_gauge *g, struct json_object *body, prom_sample *s, char *why, size_t whylen);

/* Whether a sample of this series at time_ms may set it: 1 when it is at
 * least as new as the last one that did (then it becomes the last), 0
 * when older (a day's statistic replayed after the next day's); time_ms
 * 0 (unknown) is always 1. -1 when out of memory. */
int prom_gauge_fresh(prom_gauge *g, const prom_sample *s, int64_t time_ms);

/* Whether a metric name matches [a-zA-Z_:][a-zA-Z0-9_:]*. */
int prom_name_ok(const char *name);

#endif
