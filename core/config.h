/* The configuration file: sections of key = value pairs with line numbers,
 * ${VAR} expanded. Parsing reports syntax problems; validate.c checks the
 * result against the plugins. */
#ifndef HC_CONFIG_H
#define HC_CONFIG_H

#include <stddef.h>
#include "diag.h"

typedef enum hc_kind {
	HC_SERVICE, HC_SOURCE, HC_TRANSFORM, HC_SINK, HC_ROUTE, HC_AUTH, HC_KIND_COUNT
} hc_kind;

typedef struct hc_kv {
	char *key;
	char *value;   /* expanded */
	unsigned line;
	int used;      /* consumed by validation (unknown keys are the rest) */
} hc_kv;

typedef struct hc_section {
	hc_kind kind;
	char *name;    /* NULL for [service] */
	char *label;   /* "source:in", "service": how logs and errors name it */
	unsigned line;
	hc_kv *kv;
	size_t nkv, cap;
} hc_section;

typedef struct hc_config {
	char *file;
	hc_section *sec;
	size_t nsec, cap;
} hc_config;

const char *hc_kind_name(hc_kind kind);
/* Parses FILE. Errors go to `diag`; the result is NULL only when the file
 * cannot be read at all. */
hc_config *hc_config_load(const char *file, hc_diag *diag);
/* Same, from memory (tests, fuzzing); `name` is used in messages. */
hc_config *hc_config_parse(const char *name, const char *text, hc_diag *diag);
void hc_config_free(hc_config *cfg);

hc_section *hc_config_find(hc_config *cfg, hc_kind kind, const char *name);
hc_kv *hc_section_get(hc_section *sec, const char *key);
const char *hc_section_value(hc_section *sec, const char *key);

/* Expands ${VAR} and ${VAR:-default}; "$${" is a literal "${". Returns a
 * malloc'ed string, or NULL with a message in err. */
char *hc_expand_env(const char *value, char *err, size_t errlen);

#endif
