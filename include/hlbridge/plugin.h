/* hlbridge plugin SDK: the module descriptor.
 *
 * A module exports exactly one hlb_plugin, named with HLB_PLUGIN_EXPORT(name)
 * where `name` is the module's file name without extension. The prefix is
 * libltdl's convention (<name>_LTX_<symbol>), which lets the same module be
 * loaded from a .so or linked into a sealed binary with -dlpreopen.
 *
 *     const hlb_plugin HLB_PLUGIN_EXPORT(example) = {
 *         HLB_PLUGIN_HEADER,
 *         .name = "example", .version = "1.0", ...
 *     };
 */
#ifndef HLBRIDGE_PLUGIN_H
#define HLBRIDGE_PLUGIN_H

#include "abi.h"
#include "host.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One declared option. A table ends with an entry whose key is NULL. */
typedef struct hlb_option {
	const char *key;
	hlb_opt_type type;
	const char *default_value; /* NULL: no default */
	uint32_t flags;            /* HLB_OPT_REQUIRED | HLB_OPT_SECRET | HLB_OPT_PREFIX */
	const char *help;          /* one line */
	const char *choices;       /* HLB_OPT_ENUM: "a|b|c" */
} hlb_option;

/* 1.5: one operation of a connector's catalog (the API calls it can make),
 * listed by `hlbridge plugins NAME` so that users and packagers see what a
 * connector covers without reading its code. A table ends with an entry
 * whose name is NULL. */
typedef struct hlb_operation {
	const char *name;         /* what the configuration says: "contacts.create_task" */
	const char *title;        /* the vendor's name for it: "Create Contact Task" */
	const char *category;     /* "Contacts" */
	const char *kind;         /* "Trigger" (a source stream) or "Action" (a sink operation) */
	const char *method;       /* "POST" */
	const char *path;         /* "/contacts/{contactId}/tasks" */
	const char *spec;         /* the API description it is checked against: "apps/contacts.json" */
	const char *operation_id; /* its operationId there */
	const char *scope;        /* the permission it needs */
	const char *token;        /* the credential it needs: "location", "agency", "agency or location" */
	uint32_t marks;           /* HLB_OPMARK_* */
	const char *note;         /* one line, or NULL */
} hlb_operation;

#define HLB_OPMARK_DEPRECATED  (1u << 0) /* the vendor deprecated it */
#define HLB_OPMARK_AGENCY_ONLY (1u << 1) /* needs an agency (company) credential */
#define HLB_OPMARK_INEXACT     (1u << 2) /* the closest endpoint to what was asked for: see note */

typedef struct hlb_plugin {
	/* These three fields come first in every ABI version, forever. */
	uint32_t abi_major;
	uint32_t abi_minor;
	uint32_t size; /* sizeof(hlb_plugin) in the SDK the module was built with */

	uint32_t caps; /* HLB_CAP_SOURCE | HLB_CAP_TRANSFORM | HLB_CAP_SINK */
	const char *name;
	const char *version;
	const char *summary; /* one line */
	const hlb_option *options;
	uint32_t option_size; /* sizeof(hlb_option) in the module's SDK, so the
			       * option entry can grow too; HLB_PLUGIN_HEADER sets it */

	/* Called once per configured instance. `role` is the one capability
	 * this instance is used as. Store per-instance data in *state.
	 * Returns HLB_OK or an error (logged by the plugin with host->log). */
	int (*init)(const hlb_host *host, hlb_instance *inst, uint32_t role, void **state);
	/* Optional: verify connectivity or access; end with host->finish(). */
	int (*check)(void *state, hlb_job *job);
	/* Source: emit records with host->emit(), end with host->finish():
	 * HLB_MORE asks to be polled again as soon as the pipeline has room. */
	int (*poll)(void *state, hlb_job *job);
	/* Transform: takes ownership of `rec`; emits it (changed or not), other
	 * records, or nothing (then frees it). Synchronous. */
	int (*process)(void *state, hlb_record *rec, hlb_job *out);
	/* Sink: a verdict per record of the batch, then host->finish(). */
	int (*deliver)(void *state, hlb_job *batch);
	void (*fini)(void *state);

	/* ---- 1.1: credential providers (HLB_CAP_AUTH) ----
	 * An [auth:NAME] section with `type = MODULE` is an instance of this
	 * module (role HLB_CAP_AUTH); its state (tokens) lives in the state
	 * store through host->state_get/state_put. */
	/* Answer a token request with host->auth_done(call, ...), now or later. */
	int (*auth_token)(void *state, hlb_auth_call *call);
	/* The API refused this token: do not hand it out again. */
	void (*auth_reject)(void *state, const char *subject, const char *token);
	/* Interactive authorization (hlbridge auth login), optional: the URL
	 * the user opens, which comes back to redirect_uri with ?code= and
	 * ?state=csrf; then exchange(code) on the event loop, ending with
	 * host->finish(job, rc, message). NULL for credentials without it. */
	int (*auth_url)(void *state, const char *redirect_uri, const char *csrf, char *url, size_t len);
	int (*auth_exchange)(void *state, hlb_job *job, const char *code, const char *redirect_uri);
	/* What `hlbridge auth status` shows: a JSON object of words and
	 * numbers (expiry, needs_login, ...), never a secret. New reference. */
	struct json_object *(*auth_status)(void *state);

	/* ---- 1.4: webhooks ----
	 * A source that called host->webhook_subscribe gets each verified
	 * event of its types here, as a job like a poll: it emits records
	 * with host->emit(), may state_put(inst, job, ...) (committed with the
	 * records, like a poll's checkpoint), and ends with host->finish(job,
	 * rc, message), now or later (say, after re-reading the object through
	 * the API). The host commits the records to the durable queue before
	 * it answers the sender. rc: HLB_OK accepted (with or without records);
	 * HLB_EPARSE or HLB_EINVAL: this delivery can never be processed (the
	 * sender is told not to retry); any other error: the sender should
	 * deliver it again later. */
	int (*webhook)(void *state, hlb_job *job, const hlb_webhook *event);

	/* ---- 1.5: the operation catalog ----
	 * Optional. Entries are operation_size bytes apart, at least
	 * sizeof(hlb_operation): a module may keep its own rows with an
	 * hlb_operation as their first member and point here at the first. */
	const hlb_operation *operations;
	uint32_t operation_size;
} hlb_plugin;

#define HLB_PLUGIN_HEADER \
	.abi_major = HLB_ABI_MAJOR, .abi_minor = HLB_ABI_MINOR, .size = sizeof(hlb_plugin), \
	.option_size = sizeof(hlb_option)

#define HLB_PLUGIN_SYMBOL "hlb_plugin"
#define HLB_PLUGIN_EXPORT_(name) name##_LTX_hlb_plugin
#define HLB_PLUGIN_EXPORT(name) HLB_PLUGIN_EXPORT_(name)

#ifdef __cplusplus
}
#endif

#endif /* HLBRIDGE_PLUGIN_H */
