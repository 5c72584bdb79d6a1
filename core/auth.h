/* Credentials: the host's side of ABI 1.1's providers. An [auth:NAME]
 * section is an instance of a provider module (role HLB_CAP_AUTH); other
 * instances ask it for tokens through the host, which keeps every call
 * until it is answered and delivers answers from the event loop, so that
 * neither side ever runs inside the other's callback. */
#ifndef HC_AUTH_H
#define HC_AUTH_H

#include "graph.h"

struct hc_engine;

/* The [auth:NAME] instance of a graph, or NULL. */
struct hlb_instance *hc_auth_find(hc_graph *g, const char *name);

/* The host table's entries. */
hlb_auth_call *hc_auth_token(hlb_instance *inst, const char *auth, const char *subject,
			     hlb_auth_cb cb, void *arg);
void hc_auth_cancel(hlb_auth_call *call);
void hc_auth_reject(hlb_instance *inst, const char *auth, const char *subject, const char *token);
const char *hc_auth_subject(const hlb_auth_call *call);
void hc_auth_done(hlb_auth_call *call, const hlb_auth_result *res);

/* Frees every call still kept (after all plugins' fini), without
 * running callbacks. */
void hc_auth_free_all(struct hc_engine *e);

#endif
