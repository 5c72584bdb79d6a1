/* The skeleton of an OAuth 2.0 authorization-code credential provider
 * (HLB_CAP_AUTH) that keeps its token in the state store: the part the
 * GoHighLevel provider (ghl_oauth) and the Octorate one (octorate_oauth)
 * share. Linked into both (see Makefile.am, the oauth modules' _SOURCES).
 *
 * What it does:
 *   - one refresh at a time (single flight): requests wait on `waiters`
 *     and the module's `done` hook answers them; a newer token in the
 *     store (another hlbridge process) is taken first; a credential that
 *     needs a login fails at once; a failure is answered again, without a
 *     call, for OAUTH_FAIL_QUIET_MS;
 *   - the authorization-code exchange: its checks, the form (client_id,
 *     client_secret, then the module's fields), the transfer;
 *   - marking the credential as needing a login (persisted), the login
 *     message, the common fields of auth_status and check.
 * What differs between the providers is in a table of hooks (oauth_ops):
 * the token's extra fields, how it is stored and compared, the forms'
 * fields, how answers are read.
 *
 * A provider embeds oauth_core as the first member of its state (the hooks
 * cast back), and its token struct starts with an oauth_tok, which
 * core.tok points to. */
#ifndef OAUTH_CORE_H
#define OAUTH_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "hlbridge/hlbridge.h"
#include "ghl_util.h"

#define OAUTH_TOKEN_MAX 8192     /* longest access or refresh token (or code) accepted */
#define OAUTH_ANSWER_MAX 65536   /* token endpoint answers read */
#define OAUTH_FAIL_QUIET_MS 1000 /* no new refresh this soon after a failure */
#define OAUTH_MSG_MAX 1024

/* The part of a token every provider has. */
typedef struct oauth_tok {
	char *access, *refresh;
	int64_t expires_at, obtained_at; /* ms since the epoch */
	int needs_login;
	char *reason;
} oauth_tok;

/* What failed last, to answer at once within OAUTH_FAIL_QUIET_MS. */
typedef struct oauth_failure {
	int64_t at;
	int rc;
	char msg[OAUTH_MSG_MAX];
} oauth_failure;

typedef struct oauth_core oauth_core;

typedef struct oauth_ops {
	/* Logged when a refresh found a newer token in the store (NULL: not). */
	const char *took_stored;
	/* What the store could not keep after an exchange ("token pair"). */
	const char *kept;
	/* The provider's token: its size (it starts with an oauth_tok) and
	 * how it is freed and zeroed. */
	size_t tok_size;
	void (*tok_clear)(oauth_tok *t);
	/* The current token can be handed out without a refresh. */
	int (*fresh)(oauth_core *c, int64_t now);
	/* Takes the stored token when it differs from the one in memory; 1
	 * when taken. */
	int (*reload)(oauth_core *c);
	/* The end of a refresh (or of the wait for one): answers the waiters. */
	void (*done)(oauth_core *c, int rc, const char *msg, int needs_login);
	/* Stores the current token (for oauth_mark_needs_login). */
	int (*store)(oauth_core *c);
	/* The refresh form's fields after client_id and client_secret; <0
	 * when they do not fit. */
	int (*refresh_form)(oauth_core *c, ghl_buf *form);
	/* The refresh's answer (c->refresh is NULL already). */
	void (*refreshed)(oauth_core *c, const hlb_http_response *resp);
	/* The exchange form's fields after client_id and client_secret. */
	int (*exchange_form)(oauth_core *c, ghl_buf *form, const char *code, const char *redirect_uri);
	/* The exchange's answer, for job (c->exchange is NULL already). */
	void (*exchanged)(oauth_core *c, hlb_job *job, const hlb_http_response *resp);
	/* A time as the provider shows it. */
	void (*format_time)(int64_t ms, char *buf, size_t len);
} oauth_ops;

struct oauth_core {
	const oauth_ops *ops;
	const hlb_host *host;
	hlb_instance *inst;
	const char *name;
	/* the provider's options, set by it (freed by oauth_core_fini) */
	char *client_id, *client_secret;
	char *token_url;            /* where codes are exchanged */
	const char *refresh_url;    /* where tokens are refreshed (token_url or the provider's) */
	int64_t timeout_ms;         /* of a token request */
	int64_t margin_ms;          /* refresh this long before expiry */
	char user_agent[160];

	oauth_tok *tok;             /* the common part of the provider's token */
	int have;                   /* a token is stored */
	int rejected;               /* the API said 401 to tok->access */
	hlb_http *refresh;          /* in flight */
	ghl_waiters waiters;        /* requests for the credential's own token */
	oauth_failure fail;
	int64_t relook_at;          /* last look for a login made elsewhere */
	hlb_http *exchange;
	hlb_job *exchange_job;
};

/* Sets up c (zeroed) for the provider's token `tok`; requests say
 * "User-Agent: hlbridge/VERSION (+plugin PLUGIN)". */
void oauth_core_init(oauth_core *c, const oauth_ops *ops, const hlb_host *host, hlb_instance *inst,
		     const char *plugin, oauth_tok *tok);
/* Cancels the transfers in flight, answers the waiters (stopping) and
 * frees the options. */
void oauth_core_fini(oauth_core *c);
/* Checks the client_secret, base_url and authorize_url options (an option
 * error each); the number of bad ones. `env` names the variable the
 * secret is best taken from. */
int oauth_check_options(oauth_core *c, const char *secret, const char *base_url, const char *authorize_url,
			const char *env);
/* Reads refresh_margin and timeout; the number of bad ones. */
int oauth_load_times(oauth_core *c);
/* Frees the common part of a token (not the struct) and zeroes it. */
void oauth_tok_clear(oauth_tok *t);
/* Makes t (a provider's token) the current one: a token is stored, not
 * rejected; t is left zeroed. */
void oauth_adopt(oauth_core *c, oauth_tok *t);

/* POSTs form to url (no bearer, not paced), answered to cb(arg). */
hlb_http *oauth_post_form(oauth_core *c, const char *url, const ghl_buf *form, hlb_http_cb cb, void *arg);

/* Starts a refresh unless one is in flight; `done` tells the outcome. */
void oauth_start_refresh(oauth_core *c);
/* Marks the credential as needing a new login (persisted). */
void oauth_mark_needs_login(oauth_core *c, const char *reason);
/* The message for a request that needs a login first. */
void oauth_login_message(const oauth_core *c, char *buf, size_t len);

/* auth_exchange: checks the code and sends it; `exchanged` finishes job. */
int oauth_exchange(oauth_core *c, hlb_job *job, const char *code, const char *redirect_uri);
/* After an exchange: when the store could not keep the new token (rc),
 * finishes job with the error and returns 0; else 1. */
int oauth_exchange_kept(oauth_core *c, hlb_job *job, int rc);

/* auth_status: a new object with "type" and "client_id"; NULL when out of
 * memory. */
struct json_object *oauth_status_new(const oauth_core *c, const char *type);
/* "authorized": false, "needs_login": true and the reason. */
void oauth_status_unauthorized(struct json_object *s);
/* "expires_at", "expires_in_s" and "obtained_at". */
void oauth_status_times(const oauth_core *c, struct json_object *s, int64_t now);
/* "needs_login" and, when it does, "reason". */
void oauth_status_login(const oauth_core *c, struct json_object *s);

/* check: when the credential needs a login, finishes job with the login
 * message and returns 1. */
int oauth_check_login(oauth_core *c, hlb_job *job);

#endif
