/* fake_http: the server scaffolding of the fakes in tests/ (see fake_http.h). */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include "fake_http.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>

#define CONNECTION_LIMIT 2000u   /* a benchmark may keep ~1000 requests in flight */
#define POOL_THREADS 4u

static const char *prog = "fake_http";

void fh_set_name(const char *name)
{
	prog = name;
}

void fh_die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

char *fh_xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d)
		fh_die("out of memory");
	return d;
}

int fh_parse_long(const char *s, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0)
		return -1;
	*out = v;
	return 0;
}

int fh_getopt(int argc, char **argv, const struct option *opts, int *idx, void (*usage)(FILE *out))
{
	int ch = getopt_long(argc, argv, "", opts, idx);

	if (ch == 'h') {
		usage(stdout);
		exit(0);
	}
	if (ch == '?' || ch == ':' || (ch == -1 && optind < argc)) {
		usage(stderr);
		exit(2);
	}
	return ch;
}

void fh_opt_number(const struct option *opts, int idx, long *out)
{
	if (fh_parse_long(optarg, out) < 0)
		fh_die("--%s takes a whole number that is not negative, not '%s'", opts[idx].name, optarg);
}

int fh_parse_rate(const char *s, long max_n, long *n, int64_t *ms)
{
	char *end;
	long v;
	long long iv;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || v < 1 || v > max_n || *end != '/')
		return -1;
	iv = strtoll(end + 1, &end, 10);
	if (errno || iv < 1 || *end)
		return -1;
	*n = v;
	*ms = iv;
	return 0;
}

int64_t fh_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t fh_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t fh_hash(const char *s)
{
	uint64_t h = 14695981039346656037ull;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

uint64_t fh_mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Per-thread generator for request ids, seeded from the kernel. */
static uint64_t fast_random(void)
{
	static __thread uint64_t state;

	if (!state) {
		if (getrandom(&state, sizeof(state), 0) != (ssize_t)sizeof(state))
			state = (uint64_t)fh_wall_ms() ^ (uint64_t)(uintptr_t)&state;
		state |= 1;
	}
	state += 0x9e3779b97f4a7c15ull;
	return fh_mix64(state);
}

/* Tokens and codes come from the kernel's generator: guessable ones would
 * let a test pass by luck. */
void fh_random_hex(char *out, size_t nbytes)
{
	unsigned char b[64];

	if (nbytes > sizeof(b))
		nbytes = sizeof(b);
	if (getrandom(b, nbytes, 0) != (ssize_t)nbytes)
		for (size_t i = 0; i < nbytes; i++)
			b[i] = (unsigned char)fast_random();
	for (size_t i = 0; i < nbytes; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	out[2 * nbytes] = 0;
}

void fh_uuid(char out[37])
{
	uint64_t a = fast_random(), b = fast_random();

	snprintf(out, 37, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32), (unsigned)(a >> 16) & 0xffff,
		 (unsigned)a & 0xfff, (unsigned)(0x8000 | ((b >> 48) & 0x3fff)),
		 (unsigned long long)(b & 0xffffffffffffull));
}

/* ---- requests and answers ------------------------------------------------------------- */

const char *fh_query(struct MHD_Connection *c, const char *key)
{
	return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
}

const char *fh_header_in(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

void fh_add_header(struct fh_req *rq, const char *name, const char *fmt, ...)
{
	struct fh_header *h = NULL;
	va_list ap;

	for (size_t i = 0; i < rq->nhdr; i++)
		if (strcmp(rq->hdr[i].name, name) == 0)
			h = &rq->hdr[i];
	if (!h) {
		if (rq->nhdr >= FH_HEADERS)
			return;
		h = &rq->hdr[rq->nhdr++];
		h->name = name;
	}
	va_start(ap, fmt);
	vsnprintf(h->value, sizeof(h->value), fmt, ap);
	va_end(ap);
}

void fh_set_body(struct fh_req *rq, unsigned status, const char *ctype, char *body, size_t len)
{
	free(rq->out);
	rq->out = body;
	rq->outlen = body ? len : 0;
	rq->status = status;
	rq->ctype = ctype;
}

void fh_set_json(struct fh_req *rq, unsigned status, struct json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	char *d = s ? strdup(s) : NULL;

	/* Out of memory: a 500 with no body rather than a wrong answer. */
	fh_set_body(rq, d ? status : 500, "application/json", d, d ? strlen(d) : 0);
	json_object_put(o);
}

void fh_qbuf_init(struct fh_qbuf *q, char *s, size_t n, const char *lead)
{
	*q = (struct fh_qbuf){ .s = s, .n = n, .lead = lead, .first = 1 };
	s[0] = 0;
}

void fh_qbuf_add(struct fh_qbuf *q, const char *s, int encode)
{
	for (; *s && q->len + 4 < q->n; s++) {
		unsigned char ch = (unsigned char)*s;

		if (!encode || isalnum(ch) || strchr("-_.~", ch))
			q->s[q->len++] = (char)ch;
		else
			q->len += (size_t)snprintf(q->s + q->len, 4, "%%%02X", ch);
	}
	q->s[q->len] = 0;
}

void fh_qbuf_param(struct fh_qbuf *q, const char *key, const char *value)
{
	fh_qbuf_add(q, q->first ? q->lead : "&", 0);
	q->first = 0;
	fh_qbuf_add(q, key, 1);
	if (value) {
		fh_qbuf_add(q, "=", 0);
		fh_qbuf_add(q, value, 1);
	}
}

static enum MHD_Result query_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct fh_qbuf *q = cls;

	(void)kind;
	if (!q->drop || strcmp(key, q->drop) != 0)
		fh_qbuf_param(q, key, value);
	return MHD_YES;
}

void fh_qbuf_query(struct fh_qbuf *q, struct MHD_Connection *c, const char *drop)
{
	q->drop = drop;
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, query_arg, q);
}

void fh_query_string(struct MHD_Connection *c, const char *drop, char *out, size_t n)
{
	struct fh_qbuf q;

	if (!n)
		return;
	fh_qbuf_init(&q, out, n, "");
	fh_qbuf_query(&q, c, drop);
}

int fh_json_value(const char *s, size_t len, struct json_object **out)
{
	struct json_tokener *tok;
	struct json_object *o;
	int ok;

	*out = NULL;
	if (!s || !len)
		return 0;
	tok = json_tokener_new();
	if (!tok)
		return -1;
	o = json_tokener_parse_ex(tok, s, (int)len);
	ok = json_tokener_get_error(tok) == json_tokener_success;
	for (size_t i = ok ? json_tokener_get_parse_end(tok) : len; i < len; i++)
		if (!isspace((unsigned char)s[i]))
			ok = 0;
	json_tokener_free(tok);
	if (!ok) {
		json_object_put(o);
		return 0;
	}
	*out = o;
	return 1;
}

struct json_object *fh_json_parse(const char *s, size_t len)
{
	struct json_object *o;

	return fh_json_value(s, len, &o) > 0 ? o : NULL;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes %XX and '+' in place. */
static void url_decode(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (*s == '+') {
			*o++ = ' ';
		} else if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
			*o++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = 0;
}

void fh_form_parse(struct fh_form *f, const char *body)
{
	memset(f, 0, sizeof(*f));
	if (!body || !(f->buf = strdup(body)))
		return;
	for (char *save = NULL, *p = strtok_r(f->buf, "&", &save); p && f->n < 32; p = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(p, '=');

		if (eq)
			*eq = 0;
		url_decode(p);
		f->key[f->n] = p;
		f->val[f->n] = eq ? eq + 1 : p + strlen(p);
		url_decode(f->val[f->n]);
		f->n++;
	}
}

const char *fh_form_get(const struct fh_form *f, const char *key)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->key[i], key) == 0)
			return f->val[i];
	return NULL;
}

void fh_form_free(struct fh_form *f)
{
	free(f->buf);
	memset(f, 0, sizeof(*f));
}

/* ---- the map ---------------------------------------------------------------------------- */

struct fh_map_entry {
	struct fh_map_entry *next;
	void *value;
	char key[];
};

int fh_map_init(struct fh_map *m, size_t nbucket)
{
	m->bucket = calloc(nbucket, sizeof(*m->bucket));
	m->nbucket = m->bucket ? nbucket : 0;
	m->len = 0;
	return m->bucket ? 0 : -1;
}

static struct fh_map_entry **map_slot(const struct fh_map *m, const char *key)
{
	struct fh_map_entry **pp = &m->bucket[fh_hash(key) & (m->nbucket - 1)];

	while (*pp && strcmp((*pp)->key, key) != 0)
		pp = &(*pp)->next;
	return pp;
}

void *fh_map_get(const struct fh_map *m, const char *key)
{
	struct fh_map_entry *e;

	if (!m->nbucket)
		return NULL;
	e = *map_slot(m, key);
	return e ? e->value : NULL;
}

int fh_map_put(struct fh_map *m, const char *key, void *value)
{
	struct fh_map_entry **pp, *e;
	size_t n = strlen(key) + 1;

	if (!m->nbucket)
		return -1;
	pp = map_slot(m, key);
	if (*pp) {
		(*pp)->value = value;
		return 0;
	}
	e = malloc(sizeof(*e) + n);
	if (!e)
		return -1;
	memcpy(e->key, key, n);
	e->value = value;
	e->next = NULL;
	*pp = e;
	m->len++;
	return 0;
}

void *fh_map_del(struct fh_map *m, const char *key)
{
	struct fh_map_entry **pp, *e;
	void *v;

	if (!m->nbucket)
		return NULL;
	pp = map_slot(m, key);
	if (!(e = *pp))
		return NULL;
	*pp = e->next;
	v = e->value;
	free(e);
	m->len--;
	return v;
}

void fh_map_each(struct fh_map *m, int (*fn)(const char *key, void *value, void *arg), void *arg)
{
	for (size_t b = 0; b < m->nbucket; b++) {
		struct fh_map_entry **pp = &m->bucket[b];

		while (*pp) {
			struct fh_map_entry *e = *pp;

			if (fn(e->key, e->value, arg)) {
				*pp = e->next;
				free(e);
				m->len--;
			} else {
				pp = &e->next;
			}
		}
	}
}

static int drop_all(const char *key, void *value, void *arg)
{
	(void)key;
	(void)value;
	(void)arg;
	return 1;
}

void fh_map_free(struct fh_map *m)
{
	if (m->bucket)
		fh_map_each(m, drop_all, NULL);
	free(m->bucket);
	memset(m, 0, sizeof(*m));
}

/* ---- faults ------------------------------------------------------------------------------ */

struct fault {
	enum fh_fault_kind kind;
	unsigned status;
	long count;              /* -1: until fault_clear */
	char *path;              /* NULL: any */
	int anywhere;            /* path is a substring of the URL path, else its prefix */
	int64_t ms;
};

static struct {
	pthread_mutex_t mu;
	struct fault f[FH_FAULT_CAP];
	size_t n;
	unsigned long injected;
	const char *junk;        /* NULL: the default */
} faults = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void fault_drop(size_t i)
{
	free(faults.f[i].path);
	memmove(&faults.f[i], &faults.f[i + 1], (faults.n - i - 1) * sizeof(faults.f[0]));
	faults.n--;
}

void fh_faults_clear(void)
{
	pthread_mutex_lock(&faults.mu);
	while (faults.n)
		fault_drop(faults.n - 1);
	pthread_mutex_unlock(&faults.mu);
}

/* Spends a shot of each matching fault of the kinds in `mask`: latency ones
 * all add up, of the others only the first counts (copied to *hit, and 1
 * returned); -1 when none of those matched. */
static int fault_take(const char *url, unsigned mask, int64_t *extra_ms, struct fault *hit)
{
	int found = -1;

	for (size_t i = 0; i < faults.n;) {
		struct fault *f = &faults.f[i];

		if (!(mask & (1u << f->kind)) || (f->kind != FH_F_LATENCY && found >= 0) ||
		    (f->path && (f->anywhere ? !strstr(url, f->path) : strncmp(url, f->path, strlen(f->path)) != 0))) {
			i++;
			continue;
		}
		faults.injected++;
		if (f->kind == FH_F_LATENCY) {
			*extra_ms += f->ms;
		} else {
			found = 1;
			*hit = *f;
			hit->path = NULL;
		}
		if (f->count > 0 && --f->count == 0)
			fault_drop(i);
		else
			i++;
	}
	return found;
}

unsigned fh_fault_before(const char *url, int *reset, int64_t *extra_ms)
{
	struct fault hit;
	unsigned status = 0;

	pthread_mutex_lock(&faults.mu);
	if (fault_take(url, 1u << FH_F_STATUS | 1u << FH_F_RESET | 1u << FH_F_LATENCY, extra_ms, &hit) >= 0) {
		if (hit.kind == FH_F_RESET)
			*reset = 1;
		else
			status = hit.status;
	}
	pthread_mutex_unlock(&faults.mu);
	return status;
}

void fh_fault_set_junk(const char *body)
{
	faults.junk = body;
}

void fh_fault_after(const char *url, struct fh_req *rq)
{
	static const char junk[] = "{\"data\":[{\"id\":,]}<html><body>502 Bad Gateway</body></html>";
	struct fault hit;
	int64_t none = 0;
	int found;

	pthread_mutex_lock(&faults.mu);
	found = fault_take(url, 1u << FH_F_TRUNCATE | 1u << FH_F_MALFORMED, &none, &hit);
	pthread_mutex_unlock(&faults.mu);
	if (found < 0)
		return;
	if (hit.kind == FH_F_MALFORMED) {
		char *d = strdup(faults.junk ? faults.junk : junk);

		fh_set_body(rq, 200, "application/json", d, d ? strlen(d) : 0);
	} else if (rq->outlen > 1) {
		rq->outlen /= 2;  /* MHD sends a Content-Length that matches */
	}
}

unsigned long fh_faults_injected(void)
{
	unsigned long n;

	pthread_mutex_lock(&faults.mu);
	n = faults.injected;
	pthread_mutex_unlock(&faults.mu);
	return n;
}

static int ctl_true(struct json_object *req, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(req, key, &v) && json_object_get_boolean(v);
}

/* The kind of a fault request: the contract's keys (status N, reset,
 * truncate, malformed, latency_ms N) or fake_ghl's "kind". -1: none or
 * several. */
static int fault_kind(struct json_object *req, struct fh_fault *f)
{
	const char *kind = fh_ctl_string(req, "kind");
	int64_t v;
	int n = 0;

	if (fh_ctl_int(req, "status", &v) > 0) {
		f->kind = FH_F_STATUS;
		f->status = (unsigned)v;
		n++;
	}
	if (fh_ctl_int(req, "latency_ms", &v) > 0) {
		f->kind = FH_F_LATENCY;
		f->ms = v;
		n++;
	}
	if (ctl_true(req, "reset")) {
		f->kind = FH_F_RESET;
		n++;
	}
	if (ctl_true(req, "truncate")) {
		f->kind = FH_F_TRUNCATE;
		n++;
	}
	if (ctl_true(req, "malformed")) {
		f->kind = FH_F_MALFORMED;
		n++;
	}
	if (kind) {
		n++;
		if (strcmp(kind, "reset") == 0) {
			f->kind = FH_F_RESET;
		} else if (strcmp(kind, "truncate") == 0 || strcmp(kind, "truncated") == 0) {
			f->kind = FH_F_TRUNCATE;
		} else if (strcmp(kind, "malformed") == 0) {
			f->kind = FH_F_MALFORMED;
		} else if (strcmp(kind, "latency") == 0 && fh_ctl_int(req, "ms", &v) > 0) {
			f->kind = FH_F_LATENCY;
			f->ms = v;
		} else if (isdigit((unsigned char)kind[0])) {
			f->kind = FH_F_STATUS;
			f->status = (unsigned)strtoul(kind, NULL, 10);
		} else {
			return -1;
		}
	}
	return n == 1 ? 0 : -1;
}

struct json_object *fh_fault_add(const struct fh_fault *f, unsigned *status)
{
	struct fault nf = { .kind = f->kind, .status = f->status, .count = f->count, .anywhere = f->anywhere,
			    .ms = f->ms };
	struct json_object *o;
	size_t pending;

	*status = 400;
	if (f->path && *f->path && !(nf.path = strdup(f->path)))
		return fh_ctl_fail("fault: out of memory");
	pthread_mutex_lock(&faults.mu);
	pending = faults.n;
	if (pending < FH_FAULT_CAP)
		faults.f[faults.n++] = nf;
	pthread_mutex_unlock(&faults.mu);
	if (pending >= FH_FAULT_CAP) {
		free(nf.path);
		*status = 409;
		return fh_ctl_fail("fault: %d faults are pending already; send fault_clear", FH_FAULT_CAP);
	}
	o = fh_ctl_ok();
	json_object_object_add(o, "pending", json_object_new_int64((int64_t)pending + 1));
	*status = 200;
	return o;
}

struct json_object *fh_fault_control(struct json_object *req, unsigned *status)
{
	struct fh_fault f = { .path = fh_ctl_string(req, "path_prefix") };
	int64_t count = 1;

	*status = 400;
	if (!f.path)
		f.path = fh_ctl_string(req, "path");
	if (fault_kind(req, &f) < 0)
		return fh_ctl_fail("fault: give exactly one of \"status\": 400-599, \"reset\": true, "
				   "\"truncate\": true, \"malformed\": true, \"latency_ms\": N");
	if (f.kind == FH_F_STATUS && (f.status < 400 || f.status > 599))
		return fh_ctl_fail("fault: \"status\" must be from 400 to 599");
	if (f.kind == FH_F_LATENCY && (f.ms < 1 || f.ms > 600000))
		return fh_ctl_fail("fault: \"latency_ms\" must be from 1 to 600000");
	if (fh_ctl_int(req, "count", &count) < 0 || count == 0 || count < -1)
		return fh_ctl_fail("fault: \"count\" must be at least 1, or -1 for until fault_clear");
	f.count = (long)count;
	return fh_fault_add(&f, status);
}

/* ---- the log ------------------------------------------------------------------------------- */

static struct {
	pthread_mutex_t mu;
	char *line[FH_LOG_RING];
	size_t head, len;
	FILE *f;
} lg = { .mu = PTHREAD_MUTEX_INITIALIZER };

void fh_log_open(const char *path)
{
	if (path && !(lg.f = fopen(path, "a")))
		fh_die("cannot append to --log %s: %s", path, strerror(errno));
}

void fh_log_add(struct json_object *entry)
{
	const char *s = json_object_to_json_string_ext(entry, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	char *d = s ? strdup(s) : NULL;

	json_object_put(entry);
	if (!d)
		return;
	pthread_mutex_lock(&lg.mu);
	if (lg.len == FH_LOG_RING) {
		free(lg.line[lg.head]);
		lg.head = (lg.head + 1) % FH_LOG_RING;
		lg.len--;
	}
	lg.line[(lg.head + lg.len++) % FH_LOG_RING] = d;
	if (lg.f) {
		fprintf(lg.f, "%s\n", d);
		fflush(lg.f);
	}
	pthread_mutex_unlock(&lg.mu);
}

struct json_object *fh_log_array(size_t last)
{
	struct json_object *a = json_object_new_array();

	pthread_mutex_lock(&lg.mu);
	if (last > lg.len)
		last = lg.len;
	for (size_t i = lg.len - last; i < lg.len; i++) {
		struct json_object *o = json_tokener_parse(lg.line[(lg.head + i) % FH_LOG_RING]);

		if (o)
			json_object_array_add(a, o);
	}
	pthread_mutex_unlock(&lg.mu);
	return a;
}

char *fh_log_text(size_t last)
{
	size_t len = 0, cap = 1;
	char *buf;

	pthread_mutex_lock(&lg.mu);
	if (last > lg.len)
		last = lg.len;
	for (size_t i = lg.len - last; i < lg.len; i++)
		cap += strlen(lg.line[(lg.head + i) % FH_LOG_RING]) + 1;
	buf = malloc(cap);
	if (buf) {
		for (size_t i = lg.len - last; i < lg.len; i++) {
			const char *line = lg.line[(lg.head + i) % FH_LOG_RING];
			size_t l = strlen(line);

			memcpy(buf + len, line, l);
			len += l;
			buf[len++] = '\n';
		}
		buf[len] = 0;
	}
	pthread_mutex_unlock(&lg.mu);
	return buf;
}

void fh_log_control(struct MHD_Connection *c, const char *url, struct fh_req *rq)
{
	const char *ns = fh_query(c, "n");
	long n = FH_LOG_RING;
	char *text;

	if (ns && fh_parse_long(ns, &n) < 0) {
		fh_set_json(rq, 400, fh_ctl_fail("%.64s: n must be a whole number", url));
		return;
	}
	text = fh_log_text((size_t)n);
	fh_set_body(rq, text ? 200 : 500, "application/x-ndjson", text, text ? strlen(text) : 0);
}

void fh_log_close(void)
{
	pthread_mutex_lock(&lg.mu);
	for (size_t i = 0; i < lg.len; i++)
		free(lg.line[(lg.head + i) % FH_LOG_RING]);
	lg.len = lg.head = 0;
	if (lg.f)
		fclose(lg.f);
	lg.f = NULL;
	pthread_mutex_unlock(&lg.mu);
}

/* ---- control answers ------------------------------------------------------------------------ */

struct json_object *fh_ctl_ok(void)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(1));
	return o;
}

struct json_object *fh_ctl_fail(const char *fmt, ...)
{
	struct json_object *o = json_object_new_object();
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", json_object_new_string(msg));
	return o;
}

const char *fh_ctl_string(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int fh_ctl_int(struct json_object *o, const char *key, int64_t *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return -1;
	*out = json_object_get_int64(v);
	return 1;
}

/* ---- latency: suspended connections and the timer that resumes them ------------------------ */

struct pending {
	int64_t due;
	struct MHD_Connection *c;
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stopping;
	struct pending *heap;
	size_t len, cap;
	pthread_t thread;
	long in_flight;          /* requests not yet completed, under mu */
	long api, api_peak;      /* the same without control requests, and its peak */
} tq = { .mu = PTHREAD_MUTEX_INITIALIZER };

void fh_in_flight(long *now, long *peak)
{
	pthread_mutex_lock(&tq.mu);
	if (now)
		*now = tq.api;
	if (peak)
		*peak = tq.api_peak;
	pthread_mutex_unlock(&tq.mu);
}

void fh_peak_reset(void)
{
	pthread_mutex_lock(&tq.mu);
	tq.api_peak = tq.api;
	pthread_mutex_unlock(&tq.mu);
}

static void heap_swap(size_t a, size_t b)
{
	struct pending t = tq.heap[a];

	tq.heap[a] = tq.heap[b];
	tq.heap[b] = t;
}

static int heap_reserve(void)
{
	size_t cap;
	struct pending *h;

	if (tq.len < tq.cap)
		return 0;
	cap = tq.cap ? tq.cap * 2 : 256;
	h = realloc(tq.heap, cap * sizeof(*h));
	if (!h)
		return -1;
	tq.heap = h;
	tq.cap = cap;
	return 0;
}

static void heap_push(int64_t due, struct MHD_Connection *c)
{
	size_t i = tq.len++;

	tq.heap[i].due = due;
	tq.heap[i].c = c;
	while (i && tq.heap[(i - 1) / 2].due > tq.heap[i].due) {
		heap_swap(i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static struct MHD_Connection *heap_pop(void)
{
	struct MHD_Connection *c = tq.heap[0].c;
	size_t i = 0;

	tq.heap[0] = tq.heap[--tq.len];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < tq.len && tq.heap[l].due < tq.heap[m].due)
			m = l;
		if (r < tq.len && tq.heap[r].due < tq.heap[m].due)
			m = r;
		if (m == i)
			break;
		heap_swap(i, m);
		i = m;
	}
	return c;
}

/* Parks the connection for `ms` without holding a thread; 0 when it cannot
 * (stopping, out of memory) and the answer must go now. */
static int suspend_for(struct MHD_Connection *c, int64_t ms)
{
	int ok = 0;

	pthread_mutex_lock(&tq.mu);
	if (!tq.stopping && heap_reserve() == 0) {
		/* Suspended before the timer can see it: resuming a connection
		 * that is not suspended is undefined. */
		MHD_suspend_connection(c);
		heap_push(fh_mono_ms() + ms, c);
		if (tq.heap[0].c == c)
			pthread_cond_signal(&tq.cv);
		ok = 1;
	}
	pthread_mutex_unlock(&tq.mu);
	return ok;
}

static void *timer_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&tq.mu);
	for (;;) {
		struct MHD_Connection *due[64];
		size_t n = 0;
		int64_t now = fh_mono_ms();

		while (tq.len && n < 64 && (tq.stopping || tq.heap[0].due <= now))
			due[n++] = heap_pop();
		if (n) {
			/* Resumed outside our lock: MHD takes its own. */
			pthread_mutex_unlock(&tq.mu);
			for (size_t i = 0; i < n; i++)
				MHD_resume_connection(due[i]);
			pthread_mutex_lock(&tq.mu);
			continue;
		}
		if (tq.stopping)
			break;
		if (tq.len) {
			struct timespec ts;
			int64_t at = tq.heap[0].due;

			ts.tv_sec = (time_t)(at / 1000);
			ts.tv_nsec = (long)(at % 1000) * 1000000;
			pthread_cond_timedwait(&tq.cv, &tq.mu, &ts);
		} else {
			pthread_cond_wait(&tq.cv, &tq.mu);
		}
	}
	pthread_mutex_unlock(&tq.mu);
	return NULL;
}

/* ---- serving -------------------------------------------------------------------------------- */

static enum MHD_Result send_answer(struct MHD_Connection *c, struct fh_req *rq)
{
	struct MHD_Response *r;
	enum MHD_Result rc;

	if (rq->out) {
		r = MHD_create_response_from_buffer(rq->outlen, rq->out, MHD_RESPMEM_MUST_FREE);
		if (r)
			rq->out = NULL;  /* MHD frees it now */
	} else {
		r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	}
	if (!r)
		return MHD_NO;
	if (!rq->ctype || *rq->ctype)
		MHD_add_response_header(r, "Content-Type", rq->ctype ? rq->ctype : "application/json");
	for (size_t i = 0; i < rq->nhdr; i++)
		MHD_add_response_header(r, rq->hdr[i].name, rq->hdr[i].value);
	rc = MHD_queue_response(c, rq->status ? rq->status : 500, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result answer(const struct fh_server *s, struct MHD_Connection *c, const char *url,
			      const char *method, struct fh_req *rq)
{
	s->handle(c, url, method, rq);
	if (rq->reset)
		return MHD_NO;  /* libmicrohttpd closes the connection unanswered */
	rq->ready = 1;
	if (!rq->control && rq->delay_ms > 0 && !s->thread_per_connection && suspend_for(c, rq->delay_ms))
		return MHD_YES; /* called again once resumed */
	return send_answer(c, rq);
}

static int body_append(struct fh_req *rq, const char *data, size_t n)
{
	if (rq->too_big || rq->len + n > FH_BODY_CAP) {
		rq->too_big = 1;
		return 0;
	}
	if (rq->len + n + 1 > rq->cap) {
		size_t cap = rq->cap ? rq->cap : 4096;
		char *b;

		while (cap < rq->len + n + 1)
			cap *= 2;
		b = realloc(rq->body, cap);
		if (!b)
			return -1;
		rq->body = b;
		rq->cap = cap;
	}
	memcpy(rq->body + rq->len, data, n);
	rq->len += n;
	rq->body[rq->len] = 0;
	return 0;
}

static enum MHD_Result serve(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			     const char *version, const char *data, size_t *data_size, void **con_cls)
{
	const struct fh_server *s = cls;
	struct fh_req *rq = *con_cls;

	(void)version;
	if (!rq) {
		const char *cl = fh_header_in(c, "Content-Length");
		size_t plen = s->control_prefix ? strlen(s->control_prefix) : 0;

		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		rq->control = plen && strncmp(url, s->control_prefix, plen) == 0 && (url[plen] == 0 || url[plen] == '/');
		pthread_mutex_lock(&tq.mu);
		tq.in_flight++;
		if (!rq->control && ++tq.api > tq.api_peak)
			tq.api_peak = tq.api;
		pthread_mutex_unlock(&tq.mu);
		/* Refused without keeping a byte when the length is announced. */
		if (cl && strtoull(cl, NULL, 10) > FH_BODY_CAP)
			rq->too_big = 1;
		return MHD_YES;
	}
	if (*data_size) {
		size_t n = *data_size;

		*data_size = 0;
		return body_append(rq, data, n) < 0 ? MHD_NO : MHD_YES;
	}
	if (rq->ready)
		return send_answer(c, rq);
	return answer(s, c, url, method, rq);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct fh_req *rq = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (!rq)
		return;
	pthread_mutex_lock(&tq.mu);
	tq.in_flight--;
	if (!rq->control)
		tq.api--;
	pthread_mutex_unlock(&tq.mu);
	free(rq->body);
	free(rq->out);
	free(rq);
	*con_cls = NULL;
}

/* The reset fault closes connections on purpose: libmicrohttpd's complaint
 * about it would only be noise. */
static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (strstr(msg, "Application reported internal error") || strstr(msg, "closed by application"))
		return;
	fprintf(stderr, "%s: libmicrohttpd: %s", prog, msg);
}

/* A thousand connections in flight need a thousand descriptors. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 8192) {
		rl.rlim_cur = rl.rlim_max < 8192 ? rl.rlim_max : 8192;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static struct MHD_Daemon *start_daemon(const struct fh_server *s, long port)
{
	struct sockaddr_in sa;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	/* A pool polls with suspendable connections; a thread per connection
	 * blocks in its own thread, with a stack of its own size. */
	struct MHD_OptionItem pool[] = {
		{ MHD_OPTION_THREAD_POOL_SIZE, POOL_THREADS, NULL },
		{ MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024, NULL },
		{ MHD_OPTION_END, 0, NULL }
	}, per_connection[] = {
		{ MHD_OPTION_THREAD_STACK_SIZE, (intptr_t)s->thread_stack, NULL },
		{ MHD_OPTION_END, 0, NULL }
	};

	if (s->thread_per_connection)
		flags |= MHD_USE_THREAD_PER_CONNECTION;
	else
		flags |= MHD_ALLOW_SUSPEND_RESUME |
			 (MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES ? MHD_USE_EPOLL : MHD_USE_POLL);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, serve, (void *)s,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				MHD_OPTION_ARRAY, s->thread_per_connection ? per_connection : pool,
				MHD_OPTION_CONNECTION_LIMIT, s->connection_limit ? s->connection_limit : CONNECTION_LIMIT,
				MHD_OPTION_CONNECTION_TIMEOUT, 60u,
				MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
				MHD_OPTION_END);
}

static void wait_for_signal(sigset_t *sigs, long max_seconds)
{
	time_t deadline = max_seconds ? time(NULL) + max_seconds : 0;

	for (;;) {
		struct timespec tick = { 1, 0 };
		int sig = sigtimedwait(sigs, NULL, &tick);

		if (sig == SIGTERM || sig == SIGINT)
			return;
		if (deadline && time(NULL) >= deadline) {
			fprintf(stderr, "%s: --max-seconds %ld reached; stopping\n", prog, max_seconds);
			return;
		}
	}
}

/* Every suspended connection is resumed before the daemon stops (stopping
 * with one suspended is undefined), and resumed answers get a moment to go
 * out before the daemon closes every connection. */
static void drain(void)
{
	pthread_mutex_lock(&tq.mu);
	tq.stopping = 1;
	pthread_cond_signal(&tq.cv);
	pthread_mutex_unlock(&tq.mu);
	pthread_join(tq.thread, NULL);
	for (int i = 0; i < 100; i++) {
		long busy;

		pthread_mutex_lock(&tq.mu);
		busy = tq.in_flight;
		pthread_mutex_unlock(&tq.mu);
		if (busy <= 0)
			break;
		nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	}
}

int fh_run(const struct fh_server *s, long port, long max_seconds)
{
	const union MHD_DaemonInfo *info;
	pthread_condattr_t ca;
	struct MHD_Daemon *d;
	sigset_t sigs;

	raise_fd_limit();
	/* Blocked here, so every server thread inherits the mask and the
	 * signals reach only sigtimedwait. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&tq.cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&tq.thread, NULL, timer_main, NULL) != 0)
		fh_die("cannot start the timer thread");

	d = start_daemon(s, port);
	if (!d || !(info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)) || !info->port) {
		fprintf(stderr, "%s: cannot start the HTTP server on 127.0.0.1:%ld (port in use?)\n", prog, port);
		if (d)
			MHD_stop_daemon(d);
		drain();
		pthread_cond_destroy(&tq.cv);
		free(tq.heap);
		return -1;
	}
	printf("PORT=%u\n", (unsigned)info->port);
	fflush(stdout);
	wait_for_signal(&sigs, max_seconds);
	if (s->stopping)
		s->stopping();
	drain();
	MHD_stop_daemon(d);
	pthread_cond_destroy(&tq.cv);
	free(tq.heap);
	tq.heap = NULL;
	if (s->summary) {
		char line[1024];

		s->summary(line, sizeof(line));
		fprintf(stderr, "%s\n", line);
	}
	return 0;
}
