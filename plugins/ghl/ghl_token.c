/* `ghl_token`: a credential provider ([auth:NAME] type = ghl_token) that
 * hands out a GoHighLevel Private Integration Token (PIT).
 *
 * A PIT is a static bearer token generated in HighLevel under Settings →
 * Private Integrations. It has no refresh: when the API refuses it (401),
 * the only remedy is a new token from the same settings page. The token
 * comes from `token` (usually ${ENV}) or from `token_file`; the file is
 * read again after a refusal and while the token stays refused, so a
 * rotated token written to it is picked up without a restart.
 *
 * A refused token is never handed out again: every later request fails at
 * once with needs_login, and the refusal is logged once. The token itself
 * is never logged or shown: quota_id is "pit-" + 12 hex digits of its hash. */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "hlbridge/hlbridge.h"
#include "ghl_util.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

#define TOKEN_MAX 4096      /* longest token accepted (PITs are ~40 chars) */
#define ID_MAX 128          /* longest location or company id */

static const hlb_option options[] = {
	{ "token", HLB_OPT_STRING, NULL, HLB_OPT_SECRET,
	  "the Private Integration Token, best as ${ENV_VAR} (or use token_file)", NULL },
	{ "token_file", HLB_OPT_PATH, NULL, 0,
	  "file holding the token (read again after a 401: a rotated token is picked up without restart)", NULL },
	{ "base_url", HLB_OPT_STRING, GHL_BASE_URL, 0, "API base URL (tests and sandboxes point elsewhere)", NULL },
	{ "user_type", HLB_OPT_ENUM, "Location", 0,
	  "Location: a sub-account's token; Company: an agency's token", "Location|Company" },
	{ "location_id", HLB_OPT_STRING, NULL, 0,
	  "the sub-account (location) the token belongs to, when user_type = Location", NULL },
	{ "company_id", HLB_OPT_STRING, NULL, 0, "the agency (company) the token belongs to", NULL },
	{ NULL, 0, NULL, 0, NULL, NULL }
};

struct pit {
	const hlb_host *host;
	hlb_instance *inst;
	const char *name;       /* the [auth:NAME] NAME */
	char *token;
	char *token_file;       /* NULL when the token is inline */
	char *base_url;
	char *location_id, *company_id;
	int company;            /* user_type = Company */
	int refused;            /* the API said 401 to this very token */
	int file_warned;        /* an unreadable token_file was logged */
	char quota_id[17];      /* "pit-" + 12 hex */
	json_object *info;
};

/* Reads the token file: at most TOKEN_MAX bytes, surrounding blanks and
 * the final newline dropped. Returns a new string, or NULL with a reason
 * in err (which never quotes the file's content). */
static char *read_token_file(const char *path, int *loose, char *err, size_t errlen)
{
	char buf[TOKEN_MAX + 2];
	struct stat st;
	size_t len = 0;
	ssize_t n;
	char *start, *end;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "'%s' is not a regular file", path);
		close(fd);
		return NULL;
	}
	if (loose)
		*loose = (st.st_mode & (S_IRWXG | S_IRWXO)) != 0;
	while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
			close(fd);
			return NULL;
		}
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	if (memchr(buf, '\0', len)) {
		snprintf(err, errlen, "'%s' holds NUL bytes: it does not hold just a token", path);
		return NULL;
	}
	if (len > TOKEN_MAX) {
		snprintf(err, errlen, "'%s' is longer than %d bytes: it does not hold just a token", path,
			 TOKEN_MAX);
		return NULL;
	}
	for (start = buf; *start == ' ' || *start == '\t' || *start == '\r' || *start == '\n'; start++)
		;
	for (end = start + strlen(start); end > start && (end[-1] == ' ' || end[-1] == '\t' ||
							   end[-1] == '\r' || end[-1] == '\n'); end--)
		;
	*end = '\0';
	if (!*start) {
		snprintf(err, errlen, "'%s' is empty: write the Private Integration Token into it", path);
		return NULL;
	}
	if (!ghl_token_ok(start, TOKEN_MAX)) {
		snprintf(err, errlen, "'%s' does not hold one token (blanks, control characters or several "
			 "lines inside)", path);
		return NULL;
	}
	return strdup(start);
}

static void set_quota_id(struct pit *p)
{
	char hex[17];

	ghl_hash_hex(p->token, strlen(p->token), hex);
	snprintf(p->quota_id, sizeof(p->quota_id), "pit-%.12s", hex);
}

static void pit_free(struct pit *p)
{
	if (!p)
		return;
	ghl_free_secret(p->token);
	free(p->token_file);
	free(p->base_url);
	free(p->location_id);
	free(p->company_id);
	json_object_put(p->info);
	free(p);
}

static int build_info(struct pit *p)
{
	p->info = ghl_auth_info(p->base_url, p->company, p->company_id, p->location_id, NULL);
	return p->info ? HLB_OK : HLB_ENOMEM;
}

static int id_ok(const char *id)
{
	size_t n = strlen(id);

	if (!n || n > ID_MAX)
		return 0;
	for (const unsigned char *c = (const unsigned char *)id; *c; c++)
		if (*c <= 0x20 || *c >= 0x7f || *c == '/' || *c == '?' || *c == '#' || *c == '%')
			return 0;
	return 1;
}

static int load_options(struct pit *p)
{
	const hlb_host *host = p->host;
	const char *token = host->option(p->inst, "token");
	const char *file = host->option(p->inst, "token_file");
	const char *user_type = host->option(p->inst, "user_type");
	const char *base_url = host->option(p->inst, "base_url");
	const char *loc = host->option(p->inst, "location_id");
	const char *company = host->option(p->inst, "company_id");
	char err[512];
	int bad = 0, loose = 0;

	p->company = user_type && strcmp(user_type, "Company") == 0;
	if (!base_url || (strncmp(base_url, "https://", 8) != 0 && strncmp(base_url, "http://", 7) != 0)) {
		host->option_error(p->inst, "base_url", "must be an http:// or https:// URL");
		bad++;
	}
	if (loc && !id_ok(loc)) {
		host->option_error(p->inst, "location_id", "is not a location id (one word, at most %d characters)",
				   ID_MAX);
		bad++;
	}
	if (company && !id_ok(company)) {
		host->option_error(p->inst, "company_id", "is not a company id (one word, at most %d characters)",
				   ID_MAX);
		bad++;
	}
	if (token && *token && file) {
		host->option_error(p->inst, "token", "set either token or token_file, not both");
		bad++;
	} else if ((!token || !*token) && !file) {
		host->option_error(p->inst, "token",
				   "set token (such as token = ${GHL_PIT}) or token_file: one of the two is needed");
		bad++;
	} else if (file) {
		p->token = read_token_file(file, &loose, err, sizeof(err));
		if (!p->token) {
			host->option_error(p->inst, "token_file", "%s", err);
			bad++;
		} else if (loose) {
			host->log(p->inst, HLB_LOG_WARN, "token_file '%s' can be read by other users: "
				  "chmod 600 it", file);
		}
	} else if (!ghl_token_ok(token, TOKEN_MAX)) {
		host->option_error(p->inst, "token", "is not one token (blanks or control characters inside, "
				   "or longer than %d bytes)", TOKEN_MAX);
		bad++;
	} else {
		p->token = strdup(token);
	}
	if (bad)
		return HLB_EINVAL;
	if ((file && !(p->token_file = strdup(file))) || !p->token || !(p->base_url = strdup(base_url)) ||
	    (loc && !(p->location_id = strdup(loc))) || (company && !(p->company_id = strdup(company))))
		return HLB_ENOMEM;
	set_quota_id(p);
	return build_info(p);
}

static int init(const hlb_host *host, hlb_instance *inst, uint32_t role, void **state)
{
	struct pit *p;
	int rc;

	if (role != HLB_CAP_AUTH || !HLB_HOST_HAS(host, auth_done))
		return HLB_EUNSUPPORTED;
	p = calloc(1, sizeof(*p));
	if (!p)
		return HLB_ENOMEM;
	p->host = host;
	p->inst = inst;
	p->name = host->instance_name(inst);
	rc = load_options(p);
	if (rc != HLB_OK) {
		pit_free(p);
		return rc;
	}
	*state = p;
	return HLB_OK;
}

/* Reads token_file again. Returns 1 when it now holds another token (then
 * in use), 0 when it holds the same, -1 when it cannot be read. */
static int reload_file(struct pit *p)
{
	char err[512];
	char *fresh;

	if (!p->token_file)
		return 0;
	fresh = read_token_file(p->token_file, NULL, err, sizeof(err));
	if (!fresh) {
		/* once, not at every request while the file is away */
		if (!p->file_warned)
			p->host->log(p->inst, HLB_LOG_WARN, "token_file: %s", err);
		p->file_warned = 1;
		return -1;
	}
	p->file_warned = 0;
	if (strcmp(fresh, p->token) == 0) {
		free(fresh);
		return 0;
	}
	ghl_free_secret(p->token);
	p->token = fresh;
	set_quota_id(p);
	return 1;
}

static void answer_refused(struct pit *p, hlb_auth_call *call)
{
	hlb_auth_result res = HLB_AUTH_RESULT_INIT;
	char msg[512];

	if (p->token_file)
		snprintf(msg, sizeof(msg), "[auth:%s] GoHighLevel refused the Private Integration Token (401): "
			 "generate a new one in HighLevel under Settings > Private Integrations and write it to "
			 "%s (read again without a restart)", p->name, p->token_file);
	else
		snprintf(msg, sizeof(msg), "[auth:%s] GoHighLevel refused the Private Integration Token (401): "
			 "generate a new one in HighLevel under Settings > Private Integrations, set it in the "
			 "configuration's token and reload hlbridge", p->name);
	res.rc = HLB_EFAIL;
	res.message = msg;
	res.needs_login = 1;
	p->host->auth_done(call, &res);
}

static int auth_token(void *state, hlb_auth_call *call)
{
	struct pit *p = state;
	hlb_auth_result res = HLB_AUTH_RESULT_INIT;
	const char *subject = p->host->auth_subject(call);
	char msg[512];

	if (p->refused && reload_file(p) == 1) {
		p->refused = 0;
		p->host->log(p->inst, HLB_LOG_INFO, "token_file %s holds a new token: using it", p->token_file);
	}
	if (p->refused) {
		answer_refused(p, call);
		return HLB_OK;
	}
	/* A location's PIT works for that location only; an agency's PIT is
	 * handed out as it is, and the API decides what it may do. */
	if (subject && !p->company && p->location_id && strcmp(subject, p->location_id) != 0) {
		snprintf(msg, sizeof(msg), "[auth:%s] is a Private Integration Token of location %s; it cannot "
			 "act for location %s: use a token of that location or an agency's (user_type = Company)",
			 p->name, p->location_id, subject);
		res.rc = HLB_EFAIL;
		res.message = msg;
		p->host->auth_done(call, &res);
		return HLB_OK;
	}
	res.rc = HLB_OK;
	res.token = p->token;
	res.quota_id = p->quota_id;
	res.info = p->info;
	p->host->auth_done(call, &res);
	return HLB_OK;
}

static void auth_reject(void *state, const char *subject, const char *token)
{
	struct pit *p = state;

	(void)subject;
	/* Refused with a token we no longer hand out: already replaced. */
	if (!token || p->refused || strcmp(token, p->token) != 0)
		return;
	if (reload_file(p) == 1) {
		p->host->log(p->inst, HLB_LOG_INFO, "the API refused the token; token_file %s holds a new one: "
			     "using it", p->token_file);
		return;
	}
	p->refused = 1;
	p->host->log(p->inst, HLB_LOG_ERROR, "GoHighLevel refused the Private Integration Token %s (401): "
		     "generate a new one in HighLevel under Settings > Private Integrations and %s", p->quota_id,
		     p->token_file ? "write it to token_file (picked up without a restart)"
				   : "set it in token (then reload hlbridge)");
}

static json_object *auth_status(void *state)
{
	struct pit *p = state;
	json_object *o = json_object_new_object();
	char source[600];

	if (!o)
		return NULL;
	if (p->token_file)
		snprintf(source, sizeof(source), "token_file %s", p->token_file);
	else
		snprintf(source, sizeof(source), "token");
	ghl_json_add_str(o, "type", "ghl_token");
	ghl_json_add_str(o, "user_type", p->company ? "Company" : "Location");
	ghl_json_add_str(o, "locationId", p->location_id);
	ghl_json_add_str(o, "companyId", p->company_id);
	ghl_json_add_str(o, "id", p->quota_id);
	ghl_json_add_str(o, "expires", "never (rotated from the HighLevel settings)");
	ghl_json_add_str(o, "source", source);
	json_object_object_add(o, "refused", json_object_new_boolean(p->refused));
	return o;
}

/* No request is sent: which endpoint a PIT may call depends on the scopes
 * chosen for it, and the sources' own checks call theirs. */
static int check(void *state, hlb_job *job)
{
	struct pit *p = state;
	char msg[600];

	if (p->refused) {
		p->host->finish(job, HLB_EFAIL, "the API refused the token: generate a new Private Integration "
				"Token in HighLevel under Settings > Private Integrations");
		return HLB_OK;
	}
	snprintf(msg, sizeof(msg), "Private Integration Token %s from %s%s, %s%s%s", p->quota_id,
		 p->token_file ? "token_file " : "token", p->token_file ? p->token_file : "",
		 p->company ? "agency" : "location", p->location_id && !p->company ? " " : "",
		 p->location_id && !p->company ? p->location_id : "");
	p->host->finish(job, HLB_OK, msg);
	return HLB_OK;
}

static void fini(void *state)
{
	pit_free(state);
}

const hlb_plugin HLB_PLUGIN_EXPORT(ghl_token) = {
	HLB_PLUGIN_HEADER,
	.caps = HLB_CAP_AUTH,
	.name = "ghl_token",
	.version = PACKAGE_VERSION,
	.summary = "GoHighLevel Private Integration Token, from token = ${ENV} or token_file",
	.options = options,
	.init = init,
	.check = check,
	.fini = fini,
	.auth_token = auth_token,
	.auth_reject = auth_reject,
	.auth_url = NULL,
	.auth_exchange = NULL,
	.auth_status = auth_status,
};
