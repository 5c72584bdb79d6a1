/* Token calls between credential consumers and providers (see auth.h). */
#include "auth.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "engine.h"
#include "log.h"
#include "loop.h"

struct hlb_auth_call {
	hc_engine *e;
	struct hlb_instance *provider; /* NULL: answered by the host itself */
	char *subject;
	hlb_auth_cb cb;
	void *arg;
	int answered, cancelled;
	int in_token;                 /* inside the provider's auth_token */
	hlb_auth_result res;          /* copied from the provider's answer */
	hlb_timer *timer;             /* delivers the answer */
	hlb_auth_call *prev, *next;   /* every call the engine keeps */
};

struct hlb_instance *hc_auth_find(hc_graph *g, const char *name)
{
	for (size_t i = 0; g && name && i < g->ninst; i++)
		if (g->inst[i]->role == HLB_CAP_AUTH && strcmp(g->inst[i]->sec->name, name) == 0)
			return g->inst[i];
	return NULL;
}

static void unlink_call(hlb_auth_call *c)
{
	hlb_auth_call **head = hc_engine_auth_calls(c->e);

	if (c->prev)
		c->prev->next = c->next;
	else
		*head = c->next;
	if (c->next)
		c->next->prev = c->prev;
}

static void free_call(hlb_auth_call *c)
{
	unlink_call(c);
	hc_timer_stop(c->timer);
	free(c->subject);
	free((char *)c->res.token);
	free((char *)c->res.quota_id);
	free((char *)c->res.message);
	json_object_put(c->res.info);
	free(c);
}

static void deliver(void *arg)
{
	hlb_auth_call *c = arg;

	c->timer = NULL; /* a one-shot timer is freed after it fires */
	c->cb(c->arg, &c->res);
	free_call(c);
}

static char *dup_or_null(const char *s, int *oom)
{
	char *d = s ? strdup(s) : NULL;

	if (s && !d)
		*oom = 1;
	return d;
}

void hc_auth_done(hlb_auth_call *c, const hlb_auth_result *res)
{
	int oom = 0;

	if (!c || c->answered)
		return;
	c->answered = 1;
	if (c->cancelled) {
		free_call(c);
		return;
	}
	/* the provider keeps what it passed: the answer is delivered later */
	c->res.size = sizeof(c->res);
	c->res.rc = res ? res->rc : HLB_EFAIL;
	if (res && res->size >= offsetof(hlb_auth_result, needs_login) + sizeof(res->needs_login)) {
		c->res.token = dup_or_null(res->rc == HLB_OK ? res->token : NULL, &oom);
		c->res.quota_id = dup_or_null(res->quota_id, &oom);
		c->res.message = dup_or_null(res->message, &oom);
		c->res.needs_login = res->needs_login;
		if (res->info && json_object_deep_copy(res->info, &c->res.info, NULL) < 0)
			oom = 1;
	}
	if (c->res.rc == HLB_OK && !c->res.token && !oom) {
		c->res.rc = HLB_EFAIL;
		free((char *)c->res.message);
		c->res.message = dup_or_null("the credential provider answered without a token", &oom);
	}
	if (oom) {
		free((char *)c->res.token);
		c->res.token = NULL;
		c->res.rc = HLB_ENOMEM;
	}
	c->timer = hc_timer_start(hc_engine_loop(c->e), 0, 0, deliver, c);
	/* Out of memory for the timer: inside auth_token the consumer hears
	 * it from its NULL return (hc_auth_token); later, it is answered here,
	 * outside any call of its own. */
	if (!c->timer && !c->in_token) {
		c->cb(c->arg, &c->res);
		free_call(c);
	}
}

static hlb_auth_call *fail_call(hlb_auth_call *c, int rc, const char *message)
{
	hlb_auth_result r = HLB_AUTH_RESULT_INIT;

	r.rc = rc;
	r.message = message;
	hc_auth_done(c, &r);
	return c;
}

hlb_auth_call *hc_auth_token(hlb_instance *inst, const char *auth, const char *subject,
			     hlb_auth_cb cb, void *arg)
{
	hc_engine *e = inst ? inst->engine : NULL;
	struct hlb_instance *p;
	hlb_auth_call *c, **head;
	int rc;

	if (!e || !auth || !cb)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->e = e;
	c->cb = cb;
	c->arg = arg;
	if (subject && !(c->subject = strdup(subject))) {
		free(c);
		return NULL;
	}
	head = hc_engine_auth_calls(e);
	c->next = *head;
	if (*head)
		(*head)->prev = c;
	*head = c;
	p = hc_auth_find(hc_engine_graph(e), auth);
	if (!p || !p->inited) {
		c->in_token = 1;
		fail_call(c, p ? HLB_EFAIL : HLB_ENOENT,
			  p ? "the credential did not start (see the errors above)" : "no such [auth:] section");
		c->in_token = 0;
		if (!c->timer) {
			free_call(c);
			return NULL;
		}
		return c;
	}
	c->provider = p;
	c->in_token = 1;
	rc = p->mod->desc->auth_token(p->state, c);
	/* a provider that refuses without answering still owes an answer */
	if (rc < 0 && !c->answered)
		fail_call(c, rc, "the credential provider refused the request");
	c->in_token = 0;
	if (c->answered && !c->timer) {
		free_call(c); /* its answer could not be deferred */
		return NULL;
	}
	return c;
}

void hc_auth_cancel(hlb_auth_call *c)
{
	if (!c)
		return;
	if (c->answered)
		free_call(c);
	else
		c->cancelled = 1; /* freed when the provider answers, or at the end */
}

void hc_auth_reject(hlb_instance *inst, const char *auth, const char *subject, const char *token)
{
	struct hlb_instance *p = inst && inst->engine ? hc_auth_find(hc_engine_graph(inst->engine), auth) : NULL;

	if (p && p->inited && p->mod->desc->auth_reject && token)
		p->mod->desc->auth_reject(p->state, subject, token);
}

const char *hc_auth_subject(const hlb_auth_call *c)
{
	return c ? c->subject : NULL;
}

void hc_auth_free_all(hc_engine *e)
{
	hlb_auth_call **head = hc_engine_auth_calls(e);

	while (*head)
		free_call(*head);
}
