/* jsonl as a sink: one compact JSON body per line, flushed once per batch.
 * A failed write or flush asks for the whole batch to be retried. The file
 * is opened at the first delivery, so `hlbridge check` never creates or
 * truncates it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include <json-c/json.h>

#include "jsonl.h"

struct sink {
	const hlb_host *host;
	hlb_instance *inst;
	char *path;
	FILE *f;
	int is_stdout;
	int truncate;
};

int jsonl_sink_init(const hlb_host *host, hlb_instance *inst, void **state)
{
	struct sink *s = calloc(1, sizeof(*s));
	const char *path = host->option(inst, "path");
	const char *mode = host->option(inst, "mode");

	if (!s)
		return HLB_ENOMEM;
	s->host = host;
	s->inst = inst;
	s->path = strdup(path);
	if (!s->path) {
		free(s);
		return HLB_ENOMEM;
	}
	s->truncate = mode && strcmp(mode, "truncate") == 0;
	if (strcmp(path, "-") == 0) {
		s->f = stdout;
		s->is_stdout = 1;
	}
	*state = s;
	return HLB_OK;
}

/* The file if it exists, else the directory that would hold it. */
static int writable(const char *path)
{
	char dir[4096];
	const char *slash;

	if (access(path, F_OK) == 0)
		return access(path, W_OK) == 0;
	slash = strrchr(path, '/');
	if (!slash)
		return access(".", W_OK) == 0;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path) + (slash == path), path);
	return access(dir, W_OK) == 0;
}

int jsonl_sink_check(void *state, hlb_job *job)
{
	struct sink *s = state;
	char msg[512];

	if (s->is_stdout) {
		s->host->finish(job, HLB_OK, "writing standard output");
		return HLB_OK;
	}
	if (!writable(s->path)) {
		snprintf(msg, sizeof(msg), "cannot write %s: %s", s->path, strerror(errno));
		s->host->finish(job, HLB_EIO, msg);
		return HLB_OK;
	}
	snprintf(msg, sizeof(msg), "%s is writable", s->path);
	s->host->finish(job, HLB_OK, msg);
	return HLB_OK;
}

int jsonl_sink_deliver(void *state, hlb_job *job)
{
	struct sink *s = state;
	size_t n = s->host->batch_size(job);
	int failed = 0;

	if (!s->f) {
		s->f = fopen(s->path, s->truncate ? "we" : "ae");
		failed = !s->f;
	}
	for (size_t i = 0; i < n && !failed; i++) {
		struct json_object *body = s->host->record_body(s->host->batch_record(job, i));
		const char *text = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN |
								   JSON_C_TO_STRING_NOSLASHESCAPE);

		if (fputs(text, s->f) == EOF || putc('\n', s->f) == EOF)
			failed = 1;
	}
	if (!failed && fflush(s->f) != 0)
		failed = 1;
	if (failed) {
		char why[512];

		snprintf(why, sizeof(why), "cannot write %s: %s", s->path, strerror(errno));
		if (s->f)
			clearerr(s->f);
		for (size_t i = 0; i < n; i++)
			s->host->verdict(job, i, HLB_RETRY, why);
		s->host->finish(job, HLB_EIO, NULL);
		return HLB_OK;
	}
	for (size_t i = 0; i < n; i++)
		s->host->verdict(job, i, HLB_DONE, NULL);
	s->host->finish(job, HLB_OK, NULL);
	return HLB_OK;
}

void jsonl_sink_fini(void *state)
{
	struct sink *s = state;

	if (!s)
		return;
	if (s->f && !s->is_stdout)
		fclose(s->f);
	else if (s->f)
		fflush(s->f);
	free(s->path);
	free(s);
}
