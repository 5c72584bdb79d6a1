/* jsonl as a source: reads a file (or stdin) one line at a time, in chunks,
 * so memory stays bounded by the longest accepted line, not the file. A
 * line that is not JSON is reported with its number and skipped. Each poll
 * continues where the last one stopped, so an appended file is followed. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "jsonl.h"

#define READ_BUF (64 * 1024)
#define LINES_PER_POLL 256

struct src {
	const hlb_host *host;
	hlb_instance *inst;
	char *path;
	FILE *f;
	int is_stdin;
	char *stream;
	hlb_path *key;
	size_t max_line;
	uint64_t lineno;
	/* read buffer */
	char *rbuf;
	size_t pos, end;
	/* a line that spans reads is assembled here */
	char *line;
	size_t len, cap;
	int too_long;
	json_tokener *tok;
	uint64_t bad_lines;
};

int jsonl_source_init(const hlb_host *host, hlb_instance *inst, void **state)
{
	struct src *s = calloc(1, sizeof(*s));
	const char *path = host->option(inst, "path");
	const char *key = host->option(inst, "key");
	const char *stream = host->option(inst, "stream");
	char err[256];

	if (!s)
		return HLB_ENOMEM;
	*state = s;
	s->host = host;
	s->inst = inst;
	s->max_line = (size_t)host->option_int(inst, "max_line", 1 << 20);
	if (s->max_line < 2 || s->max_line > (256u << 20)) {
		host->option_error(inst, "max_line", "must be between 2 and 268435456");
		jsonl_source_fini(s);
		return HLB_EINVAL;
	}
	s->path = strdup(path);
	s->stream = strdup(stream ? stream : host->instance_name(inst));
	s->rbuf = malloc(READ_BUF);
	s->tok = json_tokener_new();
	if (!s->path || !s->stream || !s->rbuf || !s->tok) {
		jsonl_source_fini(s);
		return HLB_ENOMEM;
	}
	if (key) {
		s->key = host->path_compile(key, err, sizeof(err));
		if (!s->key) {
			host->option_error(inst, "key", "%s", err);
			jsonl_source_fini(s);
			return HLB_EINVAL;
		}
	}
	if (strcmp(path, "-") == 0) {
		s->f = stdin;
		s->is_stdin = 1;
	} else {
		s->f = fopen(path, "rbe");
		if (!s->f) {
			host->option_error(inst, "path", "cannot open %s: %s", path, strerror(errno));
			jsonl_source_fini(s);
			return HLB_EIO;
		}
	}
	return HLB_OK;
}

int jsonl_source_check(void *state, hlb_job *job)
{
	struct src *s = state;

	s->host->finish(job, HLB_OK, s->is_stdin ? "reading standard input" : "file is open for reading");
	return HLB_OK;
}

static int grow_line(struct src *s, size_t need)
{
	if (need <= s->cap)
		return 0;
	size_t cap = s->cap ? s->cap : 4096;
	while (cap < need)
		cap *= 2;
	char *l = realloc(s->line, cap);
	if (!l)
		return -1;
	s->line = l;
	s->cap = cap;
	return 0;
}

/* Next line into *out and *outlen (not NUL-terminated). 1: a line, 0: end of
 * input for now, -1: read error. */
static int next_line(struct src *s, const char **out, size_t *outlen)
{
	for (;;) {
		if (s->pos == s->end) {
			size_t n = fread(s->rbuf, 1, READ_BUF, s->f);

			s->pos = 0;
			s->end = n;
			if (n == 0) {
				if (ferror(s->f))
					return -1;
				/* A last line without '\n' still counts. */
				if (s->len || s->too_long) {
					s->lineno++;
					*out = s->line;
					*outlen = s->len;
					s->len = 0;
					if (s->too_long) {
						s->too_long = 0;
						*outlen = (size_t)-1;
					}
					return 1;
				}
				clearerr(s->f); /* so the next poll sees appended lines */
				return 0;
			}
		}
		char *start = s->rbuf + s->pos;
		char *nl = memchr(start, '\n', s->end - s->pos);
		size_t chunk = nl ? (size_t)(nl - start) : s->end - s->pos;

		s->pos += chunk + (nl ? 1 : 0);
		if (!s->too_long && s->len + chunk > s->max_line) {
			s->too_long = 1;
			s->len = 0;
		}
		if (nl && !s->too_long && s->len == 0) {
			/* the common case: the whole line is in the read buffer */
			s->lineno++;
			*out = start;
			*outlen = chunk;
			return 1;
		}
		if (!s->too_long) {
			if (grow_line(s, s->len + chunk) < 0)
				return -1;
			memcpy(s->line + s->len, start, chunk);
			s->len += chunk;
		}
		if (nl) {
			s->lineno++;
			*out = s->line;
			*outlen = s->too_long ? (size_t)-1 : s->len;
			s->len = 0;
			s->too_long = 0;
			return 1;
		}
	}
}

static int blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return 0;
	return 1;
}

static void line_key(struct src *s, struct json_object *body, const char *line, size_t len,
		     char *key, size_t keylen)
{
	if (s->key) {
		struct json_object *v = s->host->path_get(s->key, body);

		if (json_object_is_type(v, json_type_string)) {
			snprintf(key, keylen, "%s", json_object_get_string(v));
			return;
		}
		if (v && !json_object_is_type(v, json_type_object) && !json_object_is_type(v, json_type_array)) {
			snprintf(key, keylen, "%s", json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
			return;
		}
		s->host->log(s->inst, HLB_LOG_WARN, "%s:%" PRIu64 ": %s is %s; using a hash of the line as key",
			     s->path, s->lineno, s->host->path_text(s->key), v ? "not a scalar" : "missing");
	}
	/* FNV-1a: stable across runs, so a re-read line gets the same key. */
	uint64_t h = 14695981039346656037ull;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)line[i];
		h *= 1099511628211ull;
	}
	snprintf(key, keylen, "%016" PRIx64, h);
}

static void bad_line(struct src *s, const char *why)
{
	s->bad_lines++;
	s->host->log(s->inst, HLB_LOG_WARN, "%s:%" PRIu64 ": %s; line skipped", s->path, s->lineno, why);
}

int jsonl_source_poll(void *state, hlb_job *job)
{
	struct src *s = state;
	const char *line;
	size_t len;
	char key[256];

	for (int n = 0; n < LINES_PER_POLL; n++) {
		int rc = next_line(s, &line, &len);

		if (rc < 0) {
			char msg[512];

			snprintf(msg, sizeof(msg), "%s: read error after line %" PRIu64 ": %s", s->path, s->lineno,
				 strerror(errno));
			s->host->finish(job, HLB_EIO, msg);
			return HLB_OK;
		}
		if (rc == 0) {
			s->host->finish(job, HLB_OK, NULL);
			return HLB_OK;
		}
		if (len == (size_t)-1) {
			char why[96];

			snprintf(why, sizeof(why), "longer than max_line (%zu bytes)", s->max_line);
			bad_line(s, why);
			continue;
		}
		if (blank(line, len))
			continue;
		json_tokener_reset(s->tok);
		struct json_object *body = json_tokener_parse_ex(s->tok, line, (int)len);
		enum json_tokener_error jerr = json_tokener_get_error(s->tok);

		if (jerr != json_tokener_success) {
			char why[160];

			snprintf(why, sizeof(why), "not valid JSON (%s)",
				 jerr == json_tokener_continue ? "truncated" : json_tokener_error_desc(jerr));
			bad_line(s, why);
			json_object_put(body);
			continue;
		}
		size_t used = json_tokener_get_parse_end(s->tok);
		if (used < len && !blank(line + used, len - used)) {
			bad_line(s, "not valid JSON (text after the value)");
			json_object_put(body);
			continue;
		}
		line_key(s, body, line, len, key, sizeof(key));
		hlb_record *rec = s->host->record_new(s->stream, key, HLB_OP_UPSERT, 0, body);
		if (!rec) {
			s->host->finish(job, HLB_ENOMEM, "out of memory");
			return HLB_OK;
		}
		s->host->emit(job, rec);
	}
	s->host->finish(job, HLB_MORE, NULL);
	return HLB_OK;
}

void jsonl_source_fini(void *state)
{
	struct src *s = state;

	if (!s)
		return;
	if (s->bad_lines)
		s->host->log(s->inst, HLB_LOG_WARN, "%s: %" PRIu64 " bad line%s skipped", s->path,
			     s->bad_lines, s->bad_lines == 1 ? "" : "s");
	if (s->f && !s->is_stdin)
		fclose(s->f);
	if (s->key)
		s->host->path_free(s->key);
	if (s->tok)
		json_tokener_free(s->tok);
	free(s->path);
	free(s->stream);
	free(s->rbuf);
	free(s->line);
	free(s);
}
