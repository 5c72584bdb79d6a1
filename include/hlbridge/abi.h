/* hlbridge plugin SDK: ABI version, result codes and shared enums.
 *
 * Rules that keep the ABI stable:
 *  - HLB_ABI_MAJOR changes only when a published struct or callback changes
 *    incompatibly; the host refuses modules built for another major.
 *  - HLB_ABI_MINOR grows when fields are appended to hlb_plugin or hlb_host;
 *    the host refuses modules built against a newer minor than its own, and a
 *    module may use a hlb_host field only when HLB_HOST_HAS() says it is there.
 *  - Enum values and result codes are never renumbered. */
#ifndef HLBRIDGE_ABI_H
#define HLBRIDGE_ABI_H

#include <stddef.h>
#include <stdint.h>

/* 1.0 was the first published ABI. 1.1 appended credential providers
 * (HLB_CAP_AUTH, the auth_* callbacks and host services, HLB_OPT_AUTH) and
 * history_add. 1.2 added HLB_CAP_REPLAY. 1.3 appended links, echo
 * memory and pace_block for two-way sync. 1.4 appended webhooks
 * (webhook_subscribe, the webhook callback, hlb_webhook), metrics and
 * progress. 1.5 appended the operation catalog (hlb_operation). 1.6 added
 * sinks that give results (HLB_CAP_RESULTS, host->result). */
#define HLB_ABI_MAJOR 1
#define HLB_ABI_MINOR 6

/* Result codes: 0 is success, negative values are errors (as in libuv), and
 * the few positive values are non-error outcomes. The host turns any of them
 * into text with host->strerror(). */
typedef enum hlb_rc {
	HLB_OK = 0,
	HLB_MORE = 1,           /* poll: more data is ready, call again soon */
	HLB_EINVAL = -1,        /* bad argument or value */
	HLB_ENOMEM = -2,        /* out of memory */
	HLB_EIO = -3,           /* read or write failed */
	HLB_ENOENT = -4,        /* no such file, key or object */
	HLB_EPARSE = -5,        /* malformed input (JSON, expression, rule) */
	HLB_ETOOBIG = -6,       /* input exceeds a configured or built-in bound */
	HLB_ETIMEDOUT = -7,     /* operation timed out */
	HLB_ECONN = -8,         /* connection failed or was dropped */
	HLB_EHTTP = -9,         /* HTTP-level failure (see the status) */
	HLB_ECANCELED = -10,    /* cancelled by the host (shutdown) */
	HLB_EUNSUPPORTED = -11, /* not supported by this plugin or host */
	HLB_EFAIL = -12         /* plugin-specific failure (see its message) */
} hlb_rc;

/* What an instance may be used as. A module may declare several. */
#define HLB_CAP_SOURCE    (1u << 0)
#define HLB_CAP_TRANSFORM (1u << 1)
#define HLB_CAP_SINK      (1u << 2)
/* 1.1: a credential provider, the `type` of an [auth:NAME] section. */
#define HLB_CAP_AUTH      (1u << 3)
/* 1.2, with HLB_CAP_SOURCE: a poll that was never committed is read again
 * from the source's last committed state (its cursor, offset or snapshot),
 * so its records may wait for their sinks in memory instead of the state
 * store: a crash before the poll's checkpoint re-reads them. A source whose
 * records exist nowhere else (a webhook intake) must not declare it. */
#define HLB_CAP_REPLAY    (1u << 4)
/* 1.6, with HLB_CAP_SINK: delivering a record may give a result (what a
 * lookup read, the ids a create made), handed on with host->result; a
 * route with `from = SINK` reads the results of that sink. */
#define HLB_CAP_RESULTS   (1u << 5)

/* Types of declared options. The host validates every configured value
 * against its type before any plugin code runs. */
typedef enum hlb_opt_type {
	HLB_OPT_STRING = 0,   /* any text */
	HLB_OPT_INT = 1,      /* signed 64-bit decimal integer */
	HLB_OPT_BOOL = 2,     /* on/off, true/false, yes/no, 1/0 */
	HLB_OPT_DURATION = 3, /* 250ms, 30s, 5m, 2h, 1d; a bare number is seconds */
	HLB_OPT_LIST = 4,     /* comma-separated list of words */
	HLB_OPT_ENUM = 5,     /* one of the '|'-separated words in `choices` */
	HLB_OPT_PATH = 6,     /* a file name, or "-" for stdin/stdout */
	HLB_OPT_JSONPATH = 7, /* $.a.b[0] style path into a record body */
	/* 1.1: the NAME of an [auth:NAME] section; `choices` lists the
	 * provider types accepted ("ghl_token|ghl_oauth"), NULL any. */
	HLB_OPT_AUTH = 8
} hlb_opt_type;

/* Option flags. */
#define HLB_OPT_REQUIRED (1u << 0) /* must be set in the section */
#define HLB_OPT_SECRET   (1u << 1) /* value is never logged or printed */
#define HLB_OPT_PREFIX   (1u << 2) /* key is a prefix: "set." accepts set.X */

/* Record operations. */
typedef enum hlb_op {
	HLB_OP_UPSERT = 0,
	HLB_OP_DELETE = 1
} hlb_op;

/* A sink's answer for one record of a batch. */
typedef enum hlb_verdict {
	HLB_DONE = 0,   /* accepted by the destination */
	HLB_RETRY = 1,  /* try again later (timeouts, 408, 429, 5xx) */
	HLB_FAILED = 2  /* will never succeed as it is (other 4xx, bad data) */
} hlb_verdict;

/* Log levels. */
typedef enum hlb_log_level {
	HLB_LOG_ERROR = 0,
	HLB_LOG_WARN = 1,
	HLB_LOG_INFO = 2,
	HLB_LOG_DEBUG = 3
} hlb_log_level;

#endif /* HLBRIDGE_ABI_H */
