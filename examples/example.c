/* example: an out-of-tree hlbridge transform plugin.
 *
 * It shouts one field: the string at `field` is upper-cased (ASCII letters)
 * and `prefix` is put in front of it.
 *
 *     [transform:shout]
 *     plugin = example
 *     field  = $.name
 *     prefix = VIP-
 *
 * turns {"name":"Ada"} into {"name":"VIP-ADA"}. A record whose field is
 * missing or not a string passes unchanged. (INI values are taken as
 * written, without quotes, and trailing blanks are trimmed.)
 *
 * It includes only the SDK header and reaches the host only through the
 * hlb_host table handed to init(); it never links against hlbridge.
 * Build:   cc -shared -fPIC $(pkg-config --cflags hlbridge-plugin) example.c \
 *              -o example.so $(pkg-config --libs json-c)
 * See examples/README.md and hlbridge-plugin(3). */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <hlbridge/hlbridge.h>

struct example {
	const hlb_host *host;
	hlb_instance *inst;
	hlb_path *field;    /* compiled once, used for every record */
	char *prefix;
	size_t prefix_len;
};

/* The host checks every configured key and value against this table before
 * init() runs: a typo such as `feild = ...` is a configuration error with
 * its file and line, and `field` must be a well-formed $.path. */
static const hlb_option example_options[] = {
	{ "field", HLB_OPT_JSONPATH, NULL, HLB_OPT_REQUIRED,
	  "the string field to upper-case, e.g. $.name", NULL },
	{ "prefix", HLB_OPT_STRING, "", 0, "text put in front of the upper-cased value", NULL },
	{ NULL, 0, NULL, 0, NULL, NULL }
};

static void example_fini(void *state)
{
	struct example *ex = state;

	if (!ex)
		return;
	if (ex->field)
		ex->host->path_free(ex->field);
	free(ex->prefix);
	free(ex);
}

static int example_init(const hlb_host *host, hlb_instance *inst, uint32_t role, void **state)
{
	struct example *ex;
	const char *prefix = host->option(inst, "prefix"); /* the default "" when unset */
	char err[256];

	(void)role; /* transform is this module's only capability */
	ex = calloc(1, sizeof(*ex));
	if (!ex)
		return HLB_ENOMEM;
	ex->host = host;
	ex->inst = inst;
	ex->prefix_len = prefix ? strlen(prefix) : 0;
	ex->prefix = malloc(ex->prefix_len + 1);
	if (!ex->prefix) {
		free(ex);
		return HLB_ENOMEM;
	}
	memcpy(ex->prefix, prefix ? prefix : "", ex->prefix_len + 1);
	ex->field = host->path_compile(host->option(inst, "field"), err, sizeof(err));
	if (!ex->field) {
		/* reported as "FILE:LINE: error: [transform:NAME] field: ..." */
		host->option_error(inst, "field", "%s", err);
		example_fini(ex);
		return HLB_EINVAL;
	}
	*state = ex;
	return HLB_OK;
}

/* Takes ownership of rec: it must be emitted or freed. */
static int example_process(void *state, hlb_record *rec, hlb_job *out)
{
	struct example *ex = state;
	const hlb_host *host = ex->host;
	struct json_object *v = host->path_get(ex->field, host->record_body(rec));
	size_t len;
	char *text;

	if (!json_object_is_type(v, json_type_string)) {
		host->log(ex->inst, HLB_LOG_DEBUG, "record %s: %s is not a string; unchanged",
			  host->record_key(rec), host->path_text(ex->field));
		return host->emit(out, rec);
	}
	const char *old = json_object_get_string(v);

	len = (size_t)json_object_get_string_len(v);
	text = malloc(ex->prefix_len + len + 1);
	if (!text) {
		host->record_free(rec);
		return HLB_ENOMEM; /* the host logs it and counts a failed record */
	}
	memcpy(text, ex->prefix, ex->prefix_len);
	for (size_t i = 0; i < len; i++) {
		char c = old[i];

		text[ex->prefix_len + i] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
	}
	text[ex->prefix_len + len] = 0;
	struct json_object *shouted = json_object_new_string_len(text, (int)(ex->prefix_len + len));
	int rc = HLB_ENOMEM;

	free(text);
	/* path_set takes ownership of the new value and replaces the old one. */
	if (shouted)
		rc = host->path_set(ex->field, host->record_body(rec), shouted);
	if (rc != HLB_OK) {
		host->record_free(rec);
		return rc;
	}
	return host->emit(out, rec);
}

/* The one exported symbol: example_LTX_hlb_plugin. The name must match the
 * file name (example.so). */
const hlb_plugin HLB_PLUGIN_EXPORT(example) = {
	HLB_PLUGIN_HEADER,
	.caps = HLB_CAP_TRANSFORM,
	.name = "example",
	.version = "1.0",
	.summary = "upper-case one string field and put a prefix in front of it",
	.options = example_options,
	.init = example_init,
	.process = example_process,
	.fini = example_fini,
};
