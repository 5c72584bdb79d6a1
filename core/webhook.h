/* Webhook intake: which sources take which events, and the checks a
 * delivery passes before a source sees it (GHL: Ed25519 or legacy RSA
 * signature, timestamp window, webhookId replay; Octorate: the path
 * secret). An accepted delivery is answered only once every subscribed
 * source finished with it and its records are committed to the durable
 * queue (engine.c), so a 200 is never followed by a loss. */
#ifndef HC_WEBHOOK_H
#define HC_WEBHOOK_H

#include <stdint.h>
#include "listen.h"

struct hc_engine;
struct hlb_instance;
struct hc_metrics;
typedef struct hc_webhooks hc_webhooks;
typedef struct hc_diag hc_diag;

hc_webhooks *hc_webhooks_new(void);
void hc_webhooks_free(hc_webhooks *w);
/* Reads the [service] webhook options of the engine's configuration;
 * problems go to diag. 0, or -1. */
int hc_webhooks_configure(hc_webhooks *w, struct hc_engine *e, hc_diag *diag);
/* host->webhook_subscribe */
int hc_webhooks_subscribe(hc_webhooks *w, struct hlb_instance *inst, const char *channel,
			  const char *type);
size_t hc_webhooks_subscriptions(const hc_webhooks *w);
/* POST /webhooks/ghl and POST /webhooks/octorate/SECRET; returns 0 when
 * the path is not a webhook path (the caller serves it). */
int hc_webhooks_handle(hc_webhooks *w, hc_request *req);
/* accepted and rejected deliveries so far */
void hc_webhooks_counts(const hc_webhooks *w, uint64_t *accepted, uint64_t *rejected);

#endif
