/* jsonl as a source: reads a file (or stdin) one line at a time, in chunks,
 * so memory stays bounded by the longest accepted line, not the file. A
 * line that is not JSON is reported with its number and skipped. Each poll
 * continues where the last one stopped, so an appended file is followed;
 * the position is saved as the poll's checkpoint, so a restart continues
 * after the last line whose records all reached their sinks.
 *
 * The event loop must never wait for input: a pipe, FIFO or terminal is
 * read only when it has data, and a poll that finds it empty waits on a
 * host timer rather than in read(). */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "jsonl.h"

#define READ_BUF (64 * 1024)
#define LINES_PER_POLL 1024
/* An empty pipe is tried again this often, within one poll... */
#define WAIT_MS 50
/* ...for at most this long: a running poll holds up a stop (SIGTERM waits
 * for it), so an idle one ends and the next poll takes over. */
#define WAIT_MAX_MS 500

/* What next_line() found. */
enum { LINE_ERROR = -1, LINE_END = 0, LINE_OK = 1, LINE_WAIT = 2 };

struct src {
	const hlb_host *host;
	hlb_instance *inst;
	char *path;
	int fd;
	int is_stdin;
	int regular;            /* a regular file: it may grow, and has positions */
	int ask_first;          /* read only when poll(2) says it will not wait */
	char *stream;
	hlb_path *key;
	size_t max_line;
	uint64_t lineno;
	/* read buffer, holding the file from offset `base` on */
	char *rbuf;
	size_t pos, end;
	uint64_t base;
	uint64_t line_start;    /* offset of the first line not read yet */
	int restore_pending;    /* state is read at the first poll, not in init */
	int at_eof;             /* the last read found no more input */
	int skip_nl;            /* a last line without '\n' was taken; its '\n' may follow */
	/* a line that spans reads is assembled here */
	char *line;
	size_t len, cap;
	int too_long;
	json_tokener *tok;
	uint64_t bad_lines;
	/* the poll in progress while it waits for a pipe to fill */
	hlb_job *job;
	hlb_timer *timer;
	int lines;              /* lines this poll has taken */
	int64_t waited_ms;
};

int jsonl_source_init(const hlb_host *host, hlb_instance *inst, void **state)
{
	struct src *s = calloc(1, sizeof(*s));
	const char *path = host->option(inst, "path");
	const char *key = host->option(inst, "key");
	const char *stream = host->option(inst, "stream");
	char err[256];
	struct stat st;

	if (!s)
		return HLB_ENOMEM;
	*state = s;
	s->host = host;
	s->inst = inst;
	s->fd = -1;
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
		s->fd = STDIN_FILENO;
		s->is_stdin = 1;
	} else {
		/* A FIFO blocks here until a writer opens it, as with any reader:
		 * --once then waits for the writer instead of finding nothing. */
		s->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (s->fd < 0) {
			host->option_error(inst, "path", "cannot open %s: %s", path, strerror(errno));
			jsonl_source_fini(s);
			return HLB_EIO;
		}
	}
	if (fstat(s->fd, &st) < 0) {
		host->option_error(inst, "path", "cannot stat %s: %s", path, strerror(errno));
		jsonl_source_fini(s);
		return HLB_EIO;
	}
	/* open() accepts a directory, and every read of it would fail. */
	if (S_ISDIR(st.st_mode)) {
		host->option_error(inst, "path", "%s is a directory", path);
		jsonl_source_fini(s);
		return HLB_EINVAL;
	}
	s->regular = S_ISREG(st.st_mode);
	/* read() on an empty pipe waits for the writer; the event loop must
	 * not. A descriptor of our own is made non-blocking. Standard input's
	 * flags are shared with whoever started hlbridge (and, on a terminal,
	 * with its standard output and error), so it is left as it is and
	 * read only once poll(2) says there is something to read. */
	if (!s->regular && s->is_stdin) {
		s->ask_first = 1;
	} else if (!s->regular) {
		int fl = fcntl(s->fd, F_GETFL);

		if (fl < 0 || fcntl(s->fd, F_SETFL, fl | O_NONBLOCK) < 0) {
			host->log(inst, HLB_LOG_ERROR, "%s: cannot make reading non-blocking: %s", path,
				  strerror(errno));
			jsonl_source_fini(s);
			return HLB_EIO;
		}
	}
	s->restore_pending = 1;
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

static int blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return 0;
	return 1;
}

/* One line as one JSON value, or NULL with the reason in `why`. */
static struct json_object *parse_line(struct src *s, const char *line, size_t len, char *why, size_t whylen)
{
	struct json_object *body;
	enum json_tokener_error jerr;

	json_tokener_reset(s->tok);
	body = json_tokener_parse_ex(s->tok, line, (int)len);
	jerr = json_tokener_get_error(s->tok);
	if (jerr == json_tokener_continue) {
		/* A number or a literal could go on: json-c takes a NUL as the
		 * end of input, and the line ends here. */
		body = json_tokener_parse_ex(s->tok, "", 1);
		if (json_tokener_get_error(s->tok) != json_tokener_success) {
			json_object_put(body);
			snprintf(why, whylen, "not valid JSON (truncated)");
			return NULL;
		}
		return body;
	}
	if (jerr != json_tokener_success) {
		json_object_put(body);
		snprintf(why, whylen, "not valid JSON (%s)", json_tokener_error_desc(jerr));
		return NULL;
	}
	size_t used = json_tokener_get_parse_end(s->tok);
	if (used < len && !blank(line + used, len - used)) {
		json_object_put(body);
		snprintf(why, whylen, "not valid JSON (text after the value)");
		return NULL;
	}
	return body;
}

/* The assembled unterminated line becomes a line of its own. */
static int take_rest(struct src *s, const char **out, size_t *outlen)
{
	s->lineno++;
	s->line_start = s->base; /* the end of what was read */
	*out = s->line;
	*outlen = s->too_long ? (size_t)-1 : s->len;
	s->len = 0;
	s->too_long = 0;
	/* A file's writer may yet end that line: its '\n' is not a new one. */
	s->skip_nl = s->regular;
	return LINE_OK;
}

/* No more input for now, with a line perhaps begun. A pipe at its end has
 * nothing more to come, so the rest is its last line. A regular file may be
 * in the middle of being appended: its rest is taken only when it is one
 * whole JSON value (so a last line without '\n' is not lost), and otherwise
 * kept for the next poll to complete. */
static int at_end(struct src *s, const char **out, size_t *outlen)
{
	char why[160];

	if (!s->len && !s->too_long)
		return LINE_END;
	if (!s->regular)
		return take_rest(s, out, outlen);
	if (s->too_long || blank(s->line, s->len))
		return LINE_END;
	struct json_object *body = parse_line(s, s->line, s->len, why, sizeof(why));

	if (!body)
		return LINE_END;
	json_object_put(body);
	return take_rest(s, out, outlen);
}

/* Whether a read of standard input would return at once. */
static int ready(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int n;

	do
		n = poll(&pfd, 1, 0);
	while (n < 0 && errno == EINTR);
	/* an error or a hang-up is for read() to report */
	return n != 0;
}

/* Next line into *out and *outlen (not NUL-terminated; *outlen is -1 for a
 * line longer than max_line). LINE_OK: a line; LINE_END: no more input for
 * now; LINE_WAIT: a pipe is empty but still open; LINE_ERROR: see errno. */
static int next_line(struct src *s, const char **out, size_t *outlen)
{
	for (;;) {
		if (s->pos == s->end) {
			ssize_t n;

			if (s->ask_first && !ready(s->fd))
				return LINE_WAIT;
			do
				n = read(s->fd, s->rbuf, READ_BUF);
			while (n < 0 && errno == EINTR);
			s->base += s->end;
			s->pos = 0;
			s->end = 0;
			if (n < 0)
				return errno == EAGAIN || errno == EWOULDBLOCK ? LINE_WAIT : LINE_ERROR;
			s->at_eof = n == 0;
			if (n == 0)
				return at_end(s, out, outlen);
			s->end = (size_t)n;
		}
		if (s->skip_nl) {
			s->skip_nl = 0;
			if (s->rbuf[s->pos] == '\n') {
				s->pos++;
				s->line_start = s->base + s->pos;
				continue;
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
		if (nl)
			s->line_start = s->base + s->pos;
		if (nl && !s->too_long && s->len == 0) {
			/* the common case: the whole line is in the read buffer */
			s->lineno++;
			*out = start;
			*outlen = chunk;
			return LINE_OK;
		}
		if (!s->too_long) {
			if (grow_line(s, s->len + chunk) < 0)
				return LINE_ERROR;
			memcpy(s->line + s->len, start, chunk);
			s->len += chunk;
		}
		if (nl) {
			s->lineno++;
			*out = s->line;
			*outlen = s->too_long ? (size_t)-1 : s->len;
			s->len = 0;
			s->too_long = 0;
			return LINE_OK;
		}
	}
}

/* The record's key: the value at the key path as it is (record_new copies
 * it, however long), else a hash of the line in `hash`. */
static const char *line_key(struct src *s, struct json_object *body, const char *line, size_t len,
			    char hash[17])
{
	if (s->key) {
		struct json_object *v = s->host->path_get(s->key, body);

		if (json_object_is_type(v, json_type_string))
			return json_object_get_string(v);
		if (v && !json_object_is_type(v, json_type_object) && !json_object_is_type(v, json_type_array))
			return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
		s->host->log(s->inst, HLB_LOG_WARN, "%s:%" PRIu64 ": %s is %s; using a hash of the line as key",
			     s->path, s->lineno, s->host->path_text(s->key), v ? "not a scalar" : "missing");
	}
	/* FNV-1a: stable across runs, so a re-read line gets the same key. */
	uint64_t h = 14695981039346656037ull;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)line[i];
		h *= 1099511628211ull;
	}
	snprintf(hash, 17, "%016" PRIx64, h);
	return hash;
}

static void bad_line(struct src *s, const char *why)
{
	s->bad_lines++;
	s->host->log(s->inst, HLB_LOG_WARN, "%s:%" PRIu64 ": %s; line skipped", s->path, s->lineno, why);
}

/* Only a regular file read by name has positions worth keeping. */
static int keeps_position(const struct src *s)
{
	return !s->is_stdin && s->regular;
}

/* Staged with this poll: committed once its records have all landed. */
static void save_position(struct src *s, hlb_job *job)
{
	struct json_object *pos;

	if (!keeps_position(s) || !HLB_HOST_HAS(s->host, state_put))
		return;
	pos = json_object_new_object();
	json_object_object_add(pos, "offset", json_object_new_int64((int64_t)s->line_start));
	json_object_object_add(pos, "line", json_object_new_int64((int64_t)s->lineno));
	if (s->host->state_put(s->inst, job, "position", pos) != HLB_OK)
		s->host->log(s->inst, HLB_LOG_WARN, "%s: cannot save the read position", s->path);
}

/* Continues after the last checkpoint of an earlier run. */
static void restore_position(struct src *s)
{
	struct json_object *pos, *off = NULL, *line = NULL;
	struct stat st;
	char before;

	if (!keeps_position(s) || !HLB_HOST_HAS(s->host, state_get))
		return;
	pos = s->host->state_get(s->inst, "position");
	if (!pos)
		return;
	json_object_object_get_ex(pos, "offset", &off);
	json_object_object_get_ex(pos, "line", &line);
	int64_t offset = json_object_get_int64(off);
	if (fstat(s->fd, &st) == 0 && offset >= 0 && offset <= st.st_size &&
	    lseek(s->fd, (off_t)offset, SEEK_SET) == (off_t)offset) {
		s->base = s->line_start = (uint64_t)offset;
		s->lineno = (uint64_t)json_object_get_int64(line);
		/* The last run took a last line without '\n'; if the file now
		 * goes on with one, it ends that line rather than a new one. */
		s->skip_nl = offset > 0 && pread(s->fd, &before, 1, (off_t)offset - 1) == 1 && before != '\n';
		if (offset)
			s->host->log(s->inst, HLB_LOG_INFO, "%s: continuing after line %" PRIu64 " (byte %lld)",
				     s->path, s->lineno, (long long)offset);
	} else {
		s->host->log(s->inst, HLB_LOG_WARN, "%s is shorter than the saved position (truncated or "
			     "replaced?); reading it from the start", s->path);
	}
	json_object_put(pos);
}

static void end_poll(struct src *s, int rc, const char *message)
{
	hlb_job *job = s->job;

	s->job = NULL;
	if (rc >= 0)
		save_position(s, job);
	s->host->finish(job, rc, message);
}

static void read_lines(struct src *s);

static void wake(void *arg)
{
	struct src *s = arg;

	s->timer = NULL; /* a one-shot timer is freed once it has fired */
	s->waited_ms += WAIT_MS;
	read_lines(s);
}

/* Reads up to LINES_PER_POLL lines into the running poll. */
static void read_lines(struct src *s)
{
	const char *line, *key;
	size_t len;
	char hash[17], why[160];

	while (s->lines < LINES_PER_POLL) {
		int rc = next_line(s, &line, &len);

		if (rc == LINE_ERROR) {
			char msg[512];

			snprintf(msg, sizeof(msg), "%s: read error after line %" PRIu64 ": %s", s->path, s->lineno,
				 strerror(errno));
			end_poll(s, HLB_EIO, msg);
			return;
		}
		if (rc == LINE_END) {
			end_poll(s, HLB_OK, NULL);
			return;
		}
		if (rc == LINE_WAIT) {
			/* A poll's records reach the sinks only when it ends, so one
			 * that has lines ends now. One without must not end as done
			 * (--once would take the pipe for exhausted), so it asks for
			 * more; it waits a little first, not to spin. */
			if (s->lines || s->waited_ms >= WAIT_MAX_MS) {
				end_poll(s, HLB_MORE, NULL);
				return;
			}
			s->timer = s->host->timer_start(s->inst, WAIT_MS, 0, wake, s);
			if (!s->timer)
				end_poll(s, HLB_ENOMEM, "cannot start a timer");
			return;
		}
		s->lines++;
		if (len == (size_t)-1) {
			snprintf(why, sizeof(why), "longer than max_line (%zu bytes)", s->max_line);
			bad_line(s, why);
			continue;
		}
		if (blank(line, len))
			continue;
		struct json_object *body = parse_line(s, line, len, why, sizeof(why));
		if (!body) {
			bad_line(s, why);
			continue;
		}
		key = line_key(s, body, line, len, hash);
		hlb_record *rec = s->host->record_new(s->stream, key, HLB_OP_UPSERT, 0, body);
		if (!rec) {
			end_poll(s, HLB_ENOMEM, "out of memory");
			return;
		}
		s->host->emit(s->job, rec);
	}
	end_poll(s, HLB_MORE, NULL);
}

int jsonl_source_poll(void *state, hlb_job *job)
{
	struct src *s = state;

	if (s->restore_pending) {
		s->restore_pending = 0;
		restore_position(s);
	}
	s->job = job;
	s->lines = 0;
	s->waited_ms = 0;
	read_lines(s);
	return HLB_OK;
}

/* A line begun at the end of the input and never ended is reported when
 * the run ends (a regular file's kept it for a writer to finish). */
static void report_rest(struct src *s)
{
	char why[200];

	if (!s->len && !s->too_long)
		return;
	/* Stopped in the middle of a file: the rest was simply not read yet. */
	if (s->regular && !s->at_eof)
		return;
	if (!s->too_long && blank(s->line, s->len))
		return;
	s->lineno++;
	if (s->too_long) {
		snprintf(why, sizeof(why), "longer than max_line (%zu bytes)", s->max_line);
	} else {
		struct json_object *body = parse_line(s, s->line, s->len, why, sizeof(why));

		/* Only a pipe still open at the stop leaves a whole value. */
		if (body)
			snprintf(why, sizeof(why), "no end of line before the run ended");
		json_object_put(body);
	}
	bad_line(s, why);
}

void jsonl_source_fini(void *state)
{
	struct src *s = state;

	if (!s)
		return;
	if (s->timer)
		s->host->timer_stop(s->timer);
	report_rest(s);
	if (s->bad_lines)
		s->host->log(s->inst, HLB_LOG_WARN, "%s: %" PRIu64 " bad line%s skipped", s->path,
			     s->bad_lines, s->bad_lines == 1 ? "" : "s");
	if (s->fd >= 0 && !s->is_stdin)
		close(s->fd);
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
