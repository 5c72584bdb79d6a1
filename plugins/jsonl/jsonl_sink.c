/* jsonl as a sink: one compact JSON body per line, written once per batch.
 * A failed write asks for the whole batch to be retried; in a regular file
 * the part of the batch that did get written is cut off again first, so
 * the file never keeps half a line and the retry does not repeat records.
 * The batch is assembled in memory and written with write(2): a stdio
 * buffer could keep part of a failed batch and write it out later. The
 * file is opened at the first delivery, so `hlbridge check` never creates
 * or truncates it. */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "jsonl.h"

#define BUF_KEEP (1u << 20)

struct sink {
	const hlb_host *host;
	hlb_instance *inst;
	char *path;
	int fd;         /* -1 until the first delivery */
	int is_stdout;
	int truncate;
	int regular;    /* a regular file: a failed batch can be cut off */
	int append;     /* O_APPEND: every write lands at the end */
	char *buf;      /* one batch's lines */
	size_t cap;
};

int jsonl_sink_init(const hlb_host *host, hlb_instance *inst, void **state)
{
	struct sink *s = calloc(1, sizeof(*s));
	const char *path = host->option(inst, "path");
	const char *mode = host->option(inst, "mode");
	struct stat st;

	if (!s)
		return HLB_ENOMEM;
	s->host = host;
	s->inst = inst;
	s->fd = -1;
	s->path = strdup(path);
	if (!s->path) {
		free(s);
		return HLB_ENOMEM;
	}
	s->truncate = mode && strcmp(mode, "truncate") == 0;
	s->is_stdout = strcmp(path, "-") == 0;
	/* Every delivery would fail, and check would call it writable. */
	if (!s->is_stdout && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		host->option_error(inst, "path", "%s is a directory", path);
		free(s->path);
		free(s);
		return HLB_EINVAL;
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

/* Cuts off what a failed batch left, so its retry writes it whole. */
static void cut_back(struct sink *s, off_t off)
{
	if (ftruncate(s->fd, off) == 0 && lseek(s->fd, off, SEEK_SET) == off)
		return;
	s->host->log(s->inst, HLB_LOG_ERROR, "%s: cannot cut off a failed batch at byte %lld (%s); "
		     "the file may end in a partial line", s->path, (long long)off, strerror(errno));
}

/* How far back from the end a partial last line is looked for. */
#define PARTIAL_SCAN_MAX (64 << 20)

/* A kill -9 in the middle of a batch's write can leave its last line cut
 * short. That batch was never acknowledged, so its records come again; the
 * partial line is cut off, lest the next line be glued to it. */
static void cut_partial_line(struct sink *s, off_t size)
{
	char buf[4096];
	off_t end = size;
	int rfd, found = 0;

	if (size <= 0 || (rfd = open(s->path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	while (end > 0 && size - end < PARTIAL_SCAN_MAX && !found) {
		size_t n = end > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)end;

		if (pread(rfd, buf, n, end - (off_t)n) != (ssize_t)n)
			break;
		end -= (off_t)n;
		for (size_t i = n; i-- > 0 && !found;)
			if (buf[i] == '\n') {
				end += (off_t)i + 1;
				found = 1;
			}
	}
	/* only what this sink writes: a record (a JSON object) begun */
	if ((found || end == 0) && end < size && (pread(rfd, buf, 1, end) != 1 || buf[0] != '{'))
		found = -1;
	close(rfd);
	if ((!found && end > 0) || found < 0 || end == size)
		return; /* a whole last line, or nothing this sink would cut */
	s->host->log(s->inst, HLB_LOG_WARN, "%s: cut off a partial last line (%lld bytes) left by an interrupted "
		     "write; its records are delivered again", s->path, (long long)(size - end));
	cut_back(s, end);
}

static int open_output(struct sink *s)
{
	struct stat st;
	int fl;

	if (s->is_stdout) {
		/* whatever stdio holds for it goes first */
		fflush(stdout);
		s->fd = STDOUT_FILENO;
	} else {
		s->fd = open(s->path, O_WRONLY | O_CREAT | O_CLOEXEC | (s->truncate ? O_TRUNC : O_APPEND), 0666);
		if (s->fd < 0)
			return -1;
	}
	s->regular = fstat(s->fd, &st) == 0 && S_ISREG(st.st_mode);
	fl = fcntl(s->fd, F_GETFL);
	s->append = fl >= 0 && (fl & O_APPEND);
	if (s->regular && s->append)
		cut_partial_line(s, st.st_size);
	return 0;
}

static int add_line(struct sink *s, size_t *len, const char *text)
{
	size_t n = strlen(text);

	if (*len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 16384;

		while (cap < *len + n + 1)
			cap *= 2;
		char *b = realloc(s->buf, cap);
		if (!b)
			return -1;
		s->buf = b;
		s->cap = cap;
	}
	memcpy(s->buf + *len, text, n);
	s->buf[*len + n] = '\n';
	*len += n + 1;
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* Standard output may have been made non-blocking by a
			 * program that shares it: wait, as a blocking write would. */
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };

			if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
				return -1;
			continue;
		}
		if (w < 0)
			return -1;
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int jsonl_sink_deliver(void *state, hlb_job *job)
{
	struct sink *s = state;
	size_t n = s->host->batch_size(job), len = 0;
	off_t off = -1;
	int err = 0;

	if (s->fd < 0 && open_output(s) < 0)
		err = errno;
	for (size_t i = 0; i < n && !err; i++) {
		struct json_object *body = s->host->record_body(s->host->batch_record(job, i));
		const char *text = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN |
								   JSON_C_TO_STRING_NOSLASHESCAPE);

		if (!text || add_line(s, &len, text) < 0)
			err = ENOMEM;
	}
	if (!err && s->regular) {
		off = lseek(s->fd, 0, s->append ? SEEK_END : SEEK_CUR);
		if (off < 0)
			err = errno;
	}
	if (!err && write_all(s->fd, s->buf, len) < 0) {
		err = errno;
		if (off >= 0)
			cut_back(s, off);
	}
	if (err) {
		char why[512];

		snprintf(why, sizeof(why), "cannot write %s: %s", s->path, strerror(err));
		for (size_t i = 0; i < n; i++)
			s->host->verdict(job, i, HLB_RETRY, why);
		s->host->finish(job, HLB_EIO, NULL);
		return HLB_OK;
	}
	for (size_t i = 0; i < n; i++)
		s->host->verdict(job, i, HLB_DONE, NULL);
	s->host->finish(job, HLB_OK, NULL);
	/* one unusually large batch need not stay allocated */
	if (s->cap > BUF_KEEP) {
		free(s->buf);
		s->buf = NULL;
		s->cap = 0;
	}
	return HLB_OK;
}

void jsonl_sink_fini(void *state)
{
	struct sink *s = state;

	if (!s)
		return;
	if (s->fd >= 0 && !s->is_stdout)
		close(s->fd);
	free(s->buf);
	free(s->path);
	free(s);
}
