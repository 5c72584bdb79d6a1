/* The table of host services: the only door from a plugin into the host. */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "config.h"
#include "engine.h"
#include "sync.h"
#include "graph.h"
#include "jpath.h"
#include "log.h"
#include "metrics.h"
#include "record.h"
#include "retry.h"
#include "value.h"
#include "webhook.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

static void host_log(hlb_instance *inst, hlb_log_level level, const char *fmt, ...) HLB_PRINTF(3, 4);

static void host_log(hlb_instance *inst, hlb_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	hc_logv(inst ? inst->sec->label : NULL, level, fmt, ap);
	va_end(ap);
}

static const char *host_strerror(int rc)
{
	switch (rc) {
	case HLB_OK: return "success";
	case HLB_MORE: return "more data is ready";
	case HLB_EINVAL: return "invalid argument or value";
	case HLB_ENOMEM: return "out of memory";
	case HLB_EIO: return "input/output error";
	case HLB_ENOENT: return "not found";
	case HLB_EPARSE: return "malformed input";
	case HLB_ETOOBIG: return "input exceeds its limit";
	case HLB_ETIMEDOUT: return "timed out";
	case HLB_ECONN: return "connection failed";
	case HLB_EHTTP: return "HTTP error";
	case HLB_ECANCELED: return "cancelled";
	case HLB_EUNSUPPORTED: return "not supported";
	case HLB_EFAIL: return "failed";
	}
	return "unknown error";
}

static const char *host_instance_name(const hlb_instance *inst)
{
	return inst ? inst->sec->name : "";
}

static const char *host_option(hlb_instance *inst, const char *key)
{
	return hc_instance_option(inst, key);
}

static int64_t host_option_int(hlb_instance *inst, const char *key, int64_t dflt)
{
	const char *v = hc_instance_option(inst, key);
	int64_t out;

	return v && hc_parse_int(v, &out) == 0 ? out : dflt;
}

static int host_option_bool(hlb_instance *inst, const char *key, int dflt)
{
	const char *v = hc_instance_option(inst, key);
	int out;

	return v && hc_parse_bool(v, &out) == 0 ? out : dflt;
}

static int64_t host_option_ms(hlb_instance *inst, const char *key, int64_t dflt)
{
	const char *v = hc_instance_option(inst, key);
	int64_t out;

	return v && hc_parse_duration_ms(v, &out) == 0 ? out : dflt;
}

static int host_option_next(hlb_instance *inst, size_t *cursor, const char **key,
			    const char **value, unsigned *line)
{
	while (*cursor < inst->sec->nkv) {
		hc_kv *kv = &inst->sec->kv[(*cursor)++];

		if (strcmp(kv->key, "plugin") == 0)
			continue;
		*key = kv->key;
		*value = kv->value;
		if (line)
			*line = kv->line;
		return 1;
	}
	return 0;
}

static void host_option_error(hlb_instance *inst, const char *key, const char *fmt, ...) HLB_PRINTF(3, 4);

static void host_option_error(hlb_instance *inst, const char *key, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	hc_kv *kv = hc_section_get(inst->sec, key);

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	inst->config_errors++;
	if (inst->diag)
		hc_diag_error(inst->diag, inst->file, kv ? kv->line : inst->sec->line, "[%s] %s: %s",
			      inst->sec->label, key, msg);
	else
		hc_log(inst->sec->label, HLB_LOG_ERROR, "%s:%u: %s: %s", inst->file,
		       kv ? kv->line : inst->sec->line, key, msg);
}

static hlb_record *host_record_new(const char *stream, const char *key, hlb_op op, int64_t time_ms,
				   struct json_object *body)
{
	return hc_record_new(stream, key, op, time_ms, body);
}

static const char *rec_stream(const hlb_record *r) { return r->stream; }
static const char *rec_key(const hlb_record *r) { return r->key; }
static hlb_op rec_op(const hlb_record *r) { return r->op; }
static int64_t rec_time(const hlb_record *r) { return r->time_ms; }
static struct json_object *rec_body(const hlb_record *r) { return r->body; }
static int rec_set_stream(hlb_record *r, const char *s) { return hc_record_set_str(&r->stream, s); }
static int rec_set_key(hlb_record *r, const char *k) { return hc_record_set_str(&r->key, k); }
static void rec_set_op(hlb_record *r, hlb_op op) { r->op = op; }

static void rec_set_body(hlb_record *r, struct json_object *body)
{
	if (body == r->body)
		return;
	json_object_put(r->body);
	r->body = body;
}

static hlb_timer *host_timer_start(hlb_instance *inst, int64_t delay_ms, int64_t repeat_ms,
				   hlb_timer_cb cb, void *arg)
{
	return inst && inst->engine ? hc_timer_start(hc_engine_loop(inst->engine), delay_ms, repeat_ms, cb, arg)
				    : NULL;
}

static hlb_http *host_http_request(hlb_instance *inst, const hlb_http_request *req, hlb_http_cb cb, void *arg)
{
	if (!inst || !inst->engine)
		return NULL;
	hlb_http *t = hc_http_request(hc_engine_http(inst->engine), inst->sec->label, req, cb, arg);

	if (t && inst->role == HLB_CAP_SOURCE)
		hc_http_set_owner(t, inst);
	return t;
}

static int host_pace_configure(hlb_instance *inst, const char *key, uint32_t max_requests, int64_t interval_ms)
{
	if (!inst || !inst->engine)
		return HLB_EINVAL;
	return hc_http_pace_configure(hc_engine_http(inst->engine), key, max_requests, interval_ms);
}

static int64_t host_retry_after_ms(const char *value)
{
	return hc_retry_after_ms(value, hc_wall_ms() / 1000);
}

static int host_webhook_subscribe(hlb_instance *inst, const char *channel, const char *type)
{
	if (!inst || !inst->engine)
		return HLB_EINVAL;
	return hc_webhooks_subscribe(hc_engine_webhooks(inst->engine), inst, channel, type);
}

/* A plugin's metric: bad names and the series bound are the plugin's to
 * report, so they come back as result codes. */
static int host_metric(hlb_instance *inst, int gauge, const char *name, const char *help,
		       const char *const *labels, double value)
{
	hc_metrics *m = inst ? hc_engine_metrics(inst->engine) : NULL;
	int rc;

	if (!m || !name)
		return m ? HLB_EINVAL : HLB_OK;
	rc = gauge ? hc_metric_set(m, name, help, labels, value) : hc_metric_add(m, name, help, labels, value);
	return rc == 0 ? HLB_OK : rc == -2 ? HLB_ETOOBIG : HLB_EINVAL;
}

static int host_metric_add(hlb_instance *inst, const char *name, const char *help,
			   const char *const *labels, double value)
{
	return host_metric(inst, 0, name, help, labels, value);
}

static int host_metric_set(hlb_instance *inst, const char *name, const char *help,
			   const char *const *labels, double value)
{
	return host_metric(inst, 1, name, help, labels, value);
}

static const hlb_host table = {
	.size = sizeof(hlb_host),
	.abi_major = HLB_ABI_MAJOR,
	.abi_minor = HLB_ABI_MINOR,
	.version = PACKAGE_VERSION,
	.log = host_log,
	.strerror = host_strerror,
	.instance_name = host_instance_name,
	.option = host_option,
	.option_int = host_option_int,
	.option_bool = host_option_bool,
	.option_ms = host_option_ms,
	.option_next = host_option_next,
	.option_error = host_option_error,
	.record_new = host_record_new,
	.record_clone = hc_record_clone,
	.record_free = hc_record_free,
	.record_stream = rec_stream,
	.record_key = rec_key,
	.record_op = rec_op,
	.record_time = rec_time,
	.record_body = rec_body,
	.record_set_stream = rec_set_stream,
	.record_set_key = rec_set_key,
	.record_set_op = rec_set_op,
	.record_set_body = rec_set_body,
	.emit = hc_job_emit,
	.batch_size = hc_job_batch_size,
	.batch_record = hc_job_batch_record,
	.verdict = hc_job_verdict,
	.finish = hc_job_finish,
	.timer_start = host_timer_start,
	.timer_stop = hc_timer_stop,
	.path_compile = hc_jpath_compile,
	.path_get = hc_jpath_get,
	.path_lookup = hc_jpath_lookup,
	.path_set = hc_jpath_set,
	.path_remove = hc_jpath_remove,
	.path_text = hc_jpath_text,
	.path_free = hc_jpath_free,
	.http_request = host_http_request,
	.http_cancel = hc_http_cancel,
	.http_result = hc_http_result,
	.http_status = hc_http_status,
	.http_header = hc_http_header,
	.http_body = hc_http_body,
	.http_error = hc_http_error,
	.verdict_http = hc_job_verdict_http,
	.retry_after_ms = host_retry_after_ms,
	.state_get = hc_engine_state_get,
	.state_put = hc_engine_state_put,
	.pace_configure = host_pace_configure,
	.auth_token = hc_auth_token,
	.auth_cancel = hc_auth_cancel,
	.auth_reject = hc_auth_reject,
	.auth_subject = hc_auth_subject,
	.auth_done = hc_auth_done,
	.history_add = hc_engine_history_add,
	.checkpoint = hc_job_checkpoint,
	.link_put = hc_sync_link_put,
	.link_find = hc_sync_link_find,
	.echo_put = hc_sync_echo_put,
	.echo_since = hc_sync_echo_since,
	.pace_block = hc_sync_pace_block,
	.webhook_subscribe = host_webhook_subscribe,
	.metric_add = host_metric_add,
	.metric_set = host_metric_set,
	.progress = hc_job_progress,
	.result = hc_job_result,
};

const hlb_host *hc_host_table(void)
{
	return &table;
}
