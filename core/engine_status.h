/* The daemon's HTTP face: one object that outlives configuration reloads
 * (the listener and the metrics registry stay; the engine is swapped) and
 * serves the webhooks, /health, /ready, /metrics, the status page and
 * status.json. */
#ifndef HC_ENGINE_STATUS_H
#define HC_ENGINE_STATUS_H

#include <stdint.h>
#include "engine.h"
#include "listen.h"
#include "metrics.h"
#include "status.h"

typedef struct hc_service {
	hc_engine *engine;     /* the running one; NULL between engines */
	hc_metrics *metrics;
	hc_listen *listen;
	int64_t started_ms;    /* epoch ms */
	int ready;
	int64_t health_after_ms;
} hc_service;

/* The hc_request_handler of the listener; arg is the hc_service. */
void hc_service_handle(void *arg, hc_request *req);
/* Fills s from the engine (hc_status_clear it after). 0, or -1 when out of
 * memory. */
int hc_service_status(const hc_service *svc, hc_status *s);

#endif
