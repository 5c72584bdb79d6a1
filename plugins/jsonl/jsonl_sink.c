/* jsonl as a sink: one compact JSON body per line, flushed once per batch.
 * A failed write or flush asks for the whole batch to be retried. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "jsonl.h"

struct sink {
	const hlb_host *host;
	hlb_instance *inst;
	char *path;
	FILE *f;
	int is_stdout;
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
	if (strcmp(path, "-") == 0) {
		s->f = stdout;
		s->is_stdout = 1;
	} else {
		s->f = fopen(path, mode && strcmp(mode, "truncate") == 0 ? "we" : "ae");
		if (!s->f) {
			host->option_error(inst, "path", "cannot open %s for writing: %s", path, strerror(errno));
			free(s->path);
			free(s);
			return HLB_EIO;
		}
	}
	*state = s;
	return HLB_OK;
}

int jsonl_sink_check(void *state, hlb_job *job)
{
	struct sink *s = state;

	s->host->finish(job, HLB_OK, s->is_stdout ? "writing standard output" : "file is open for writing");
	return HLB_OK;
}

int jsonl_sink_deliver(void *state, hlb_job *job)
{
	struct sink *s = state;
	size_t n = s->host->batch_size(job);
	int failed = 0;

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
