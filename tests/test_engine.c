/* Unit tests of the runtime (core/engine.c): real engines built from INI
 * text, with the probe test plugin and the jsonl and map plugins loaded from
 * $PLUGIN_DIR and $TEST_PLUGIN_DIR, run on a real loop; the tests check what
 * reached the sinks and the counters the engine keeps per instance. */
#include "check_main.h"
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hlbridge/hlbridge.h"
#include "config.h"
#include "engine.h"
#include "graph.h"
#include "http.h"
#include "loader.h"
#include "log.h"
#include "loop.h"
#include "store.h"

#define GUARD_MS 30000 /* a run that takes longer has hung */

struct rig {
	hc_diag diag;
	hc_loader loader;
	hc_config *cfg;
	hc_graph *g;
	hc_loop *loop;
	hc_http *http;
	hc_store *store;
	hc_engine *e;
	int guard_fired;
};

static char dir[64];    /* a fresh temporary directory per test */
static int rig_durable; /* the next rig keeps its queues in dir/state */
static struct rig rig;

/* ---- helpers ------------------------------------------------------------ */

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/hlb-engine-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	memset(&rig, 0, sizeof(rig));
	hc_log_set_level(HLB_LOG_ERROR);
}

static void teardown(void)
{
	DIR *d;
	struct dirent *de;
	char path[512];

	hc_engine_free(rig.e);
	hc_store_close(rig.store);
	hc_http_free(rig.http);
	hc_loop_free(rig.loop);
	hc_graph_free(rig.g);
	hc_config_free(rig.cfg);
	hc_loader_fini(&rig.loader);
	hc_diag_clear(&rig.diag);
	hc_log_clear_secrets();
	memset(&rig, 0, sizeof(rig));
	d = opendir(dir);
	if (d) {
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
				snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
				unlink(path);
			}
		closedir(d);
	}
	rmdir(dir);
}

static const char *env_dir(const char *name)
{
	const char *v = getenv(name);

	ck_assert_msg(v && *v, "set %s (make check does)", name);
	return v;
}

static void print_diag(void)
{
	for (size_t i = 0; i < rig.diag.n; i++)
		fprintf(stderr, "  %s\n", rig.diag.msg[i]);
}

/* Parses the INI text (a printf format), loads the plugins, builds the graph
 * and the engine, without calling init. */
static void rig_build(const char *fmt, va_list ap) HLB_PRINTF(1, 0);

static void rig_build(const char *fmt, va_list ap)
{
	char text[8192];

	vsnprintf(text, sizeof(text), fmt, ap);
	ck_assert_int_eq(hc_loader_init(&rig.loader), 0);
	hc_loader_add_dir(&rig.loader, env_dir("PLUGIN_DIR"));
	hc_loader_add_dir(&rig.loader, env_dir("TEST_PLUGIN_DIR"));
	rig.cfg = hc_config_parse("engine.ini", text, &rig.diag);
	ck_assert_ptr_nonnull(rig.cfg);
	rig.g = hc_graph_build(rig.cfg, &rig.loader, NULL, &rig.diag);
	ck_assert_ptr_nonnull(rig.g);
	if (rig.diag.errors)
		print_diag();
	ck_assert_msg(rig.diag.errors == 0, "%u configuration errors in:\n%s", rig.diag.errors, text);
	rig.loop = hc_loop_new();
	ck_assert_ptr_nonnull(rig.loop);
	rig.http = hc_http_new(rig.loop, "test");
	ck_assert_ptr_nonnull(rig.http);
	{
		char err[256];

		char state[128];

		/* a test that needs the durable queue asks for a directory */
		snprintf(state, sizeof(state), "%s/state", dir);
		ck_assert_msg(hc_store_open(rig_durable ? state : ":memory:", &rig.store, err, sizeof(err)) == 0,
			      "%s", err);
	}
	rig.e = hc_engine_new(rig.g, rig.loop, rig.http, rig.store);
	ck_assert_ptr_nonnull(rig.e);
}

static void rig_new(const char *fmt, ...) HLB_PRINTF(1, 2);
static void rig_new(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rig_build(fmt, ap);
	va_end(ap);
}

/* Builds and initialises; every instance must start. */
static void rig_start(const char *fmt, ...) HLB_PRINTF(1, 2);
static void rig_start(const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rig_build(fmt, ap);
	va_end(ap);
	rc = hc_engine_init(rig.e, &rig.diag);
	if (rc != 0)
		print_diag();
	ck_assert_int_eq(rc, 0);
}

static void guard(void *arg)
{
	(void)arg;
	rig.guard_fired = 1;
	hc_loop_stop(rig.loop);
}

/* hc_engine_run under a guard timer, so a run that never ends fails the
 * test instead of hanging it. */
static int rig_run(int once)
{
	hlb_timer *t = hc_timer_start(rig.loop, GUARD_MS, 0, guard, NULL);
	int rc;

	ck_assert_ptr_nonnull(t);
	rc = hc_engine_run(rig.e, once);
	ck_assert_msg(!rig.guard_fired, "the run did not end within %d ms", GUARD_MS);
	hc_timer_stop(t);
	return rc;
}

static struct hlb_instance *inst(const char *name)
{
	for (size_t i = 0; i < rig.g->ninst; i++)
		if (strcmp(rig.g->inst[i]->sec->name, name) == 0)
			return rig.g->inst[i];
	ck_abort_msg("no instance %s", name);
	return NULL;
}

/* The whole file as a string; "" when it does not exist. The caller frees. */
static char *slurp(const char *name)
{
	char path[512];
	FILE *f;
	char *buf;
	long len;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (!f)
		return strdup("");
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)len + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	return buf;
}

static void file_is(const char *name, const char *want)
{
	char *got = slurp(name);

	ck_assert_msg(strcmp(got, want) == 0, "%s:\n--- got ---\n%s--- expected ---\n%s", name, got, want);
	free(got);
}

static size_t count_lines(const char *name)
{
	char *got = slurp(name);
	size_t n = 0;

	for (const char *p = got; *p; p++)
		n += *p == '\n';
	free(got);
	return n;
}

/* What the probe sink writes for keys FROM to TO-1 stepping by STEP: one
 * "probe-N" line each, preceded by "probe-N<dup_suffix>" when that is set. */
static char *keys(int from, int to, int step, const char *dup_suffix)
{
	size_t cap = 64 + (size_t)(to - from) * 48, len = 0;
	char *s = malloc(cap);

	ck_assert_ptr_nonnull(s);
	s[0] = 0;
	for (int i = from; i < to; i += step) {
		if (dup_suffix)
			len += (size_t)snprintf(s + len, cap - len, "probe-%d%s\n", i, dup_suffix);
		len += (size_t)snprintf(s + len, cap - len, "probe-%d\n", i);
	}
	return s;
}

static void keys_are(const char *file, int from, int to, int step, const char *dup_suffix)
{
	char *want = keys(from, to, step, dup_suffix);

	file_is(file, want);
	free(want);
}

/* The JSON lines the jsonl sink writes for probe bodies {"n":i}, each
 * followed by `extra` with every '#' in it replaced by i. */
static void bodies_are(const char *file, int count, const char *extra)
{
	size_t cap = 128 + (size_t)count * 128, len = 0;
	char *want = malloc(cap);

	ck_assert_ptr_nonnull(want);
	want[0] = 0;
	for (int i = 0; i < count; i++) {
		len += (size_t)snprintf(want + len, cap - len, "{\"n\":%d", i);
		for (const char *p = extra; *p; p++)
			if (*p == '#')
				len += (size_t)snprintf(want + len, cap - len, "%d", i);
			else
				len += (size_t)snprintf(want + len, cap - len, "%c", *p);
		len += (size_t)snprintf(want + len, cap - len, "}\n");
	}
	file_is(file, want);
	free(want);
}

/* A TCP port on 127.0.0.1 that was free a moment ago and has no listener. */
static unsigned closed_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

/* A listener on 127.0.0.1 that never accepts: a request to it hangs until
 * its timeout. Returns the socket; *port gets its port. */
static int silent_listener(unsigned *port)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 8), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* ---- the loop's timers ------------------------------------------------- */

static char fired[64];
static size_t nfired;
static hc_loop *tloop;
static hlb_timer *victim, *self;
static int repeats;

static void mark(void *arg)
{
	if (nfired + 1 < sizeof(fired))
		fired[nfired++] = *(const char *)arg;
	fired[nfired] = 0;
}

static void mark_and_stop(void *arg)
{
	mark(arg);
	hc_loop_stop(tloop);
}

static void stop_victim(void *arg)
{
	mark(arg);
	hc_timer_stop(victim);
}

static void stop_self_after_3(void *arg)
{
	mark(arg);
	if (++repeats == 3)
		hc_timer_stop(self);
}

static int rearms, got_signal;

/* Re-arms itself at once, forever (well, 1000 times). */
static void rearm(void *arg)
{
	if (rearms++ == 0)
		raise(SIGTERM);
	if (rearms < 1000)
		hc_timer_start(tloop, 0, 0, rearm, arg);
}

static void on_term(int sig, void *arg)
{
	(void)arg;
	got_signal = sig;
	hc_loop_stop(tloop);
}

START_TEST(test_timer_order)
{
	static const char a = 'a', b = 'b', c = 'c', d = 'd', e = 'e', z = 'z';

	tloop = hc_loop_new();
	ck_assert_ptr_nonnull(tloop);
	nfired = 0;
	fired[0] = 0;
	hc_timer_start(tloop, 30, 0, mark, (void *)&d);
	hc_timer_start(tloop, 10, 0, mark, (void *)&c);
	hc_timer_start(tloop, 0, 0, mark, (void *)&a);
	hc_timer_start(tloop, 0, 0, mark, (void *)&b);  /* same time: in order of start */
	hc_timer_start(tloop, -5, 0, mark, (void *)&e); /* negative: now */
	hc_timer_start(tloop, 50, 0, mark_and_stop, (void *)&z);
	ck_assert_uint_eq(hc_loop_timer_count(tloop), 6);
	hc_loop_run(tloop);
	ck_assert_str_eq(fired, "abecdz");
	ck_assert_uint_eq(hc_loop_timer_count(tloop), 0);
	hc_loop_free(tloop);
}
END_TEST

START_TEST(test_timer_stop)
{
	static const char a = 'a', v = 'v', r = 'r', z = 'z';
	hlb_timer *never;

	tloop = hc_loop_new();
	ck_assert_ptr_nonnull(tloop);
	nfired = 0;
	repeats = 0;
	fired[0] = 0;
	never = hc_timer_start(tloop, 5, 0, mark, (void *)&v);
	hc_timer_stop(never);                                  /* before it fires */
	hc_timer_start(tloop, 5, 0, stop_victim, (void *)&a);  /* stops the next */
	victim = hc_timer_start(tloop, 20, 0, mark, (void *)&v);
	self = hc_timer_start(tloop, 1, 2, stop_self_after_3, (void *)&r);
	hc_timer_start(tloop, 60, 0, mark_and_stop, (void *)&z);
	hc_loop_run(tloop);
	ck_assert_ptr_null(strchr(fired, 'v'));
	ck_assert_int_eq(repeats, 3);
	ck_assert_str_eq(fired + nfired - 1, "z");
	ck_assert_uint_eq(hc_loop_timer_count(tloop), 0);
	/* timers left in a loop are freed with it (valgrind checks) */
	hc_timer_start(tloop, 1000, 0, mark, (void *)&v);
	hc_timer_start(tloop, 1000, 5, mark, (void *)&v);
	hc_loop_free(tloop);
}
END_TEST

START_TEST(test_timer_fairness)
{
	/* A timer that re-arms itself with no delay runs once per loop turn,
	 * so the signal it raises is seen at the end of that turn. */
	tloop = hc_loop_new();
	ck_assert_ptr_nonnull(tloop);
	rearms = got_signal = 0;
	ck_assert_int_eq(hc_loop_catch_signals(tloop, on_term, NULL), 0);
	hc_timer_start(tloop, 0, 0, rearm, NULL);
	hc_loop_run(tloop);
	ck_assert_int_eq(got_signal, SIGTERM);
	ck_assert_int_le(rearms, 2);
	hc_loop_free(tloop);
}
END_TEST

/* ---- delivery ----------------------------------------------------------- */

START_TEST(test_multi_poll_order)
{
	struct hlb_instance *src, *sink;

	rig_start("[source:src]\nplugin = probe\ncount = 10\nper_poll = 3\n"
		  "[sink:out]\nplugin = probe\nout = %s/out.txt\n"
		  "[route:r]\nfrom = src\nto = out\n", dir);
	ck_assert_int_eq(rig_run(1), 0);
	src = inst("src");
	sink = inst("out");
	/* 3 + 3 + 3 + 1, each poll but the last answered HLB_MORE */
	ck_assert_uint_eq(src->polls, 4);
	ck_assert_uint_eq(src->emitted, 10);
	ck_assert_uint_eq(sink->delivered, 10);
	ck_assert_uint_eq(sink->failed, 0);
	ck_assert_uint_eq(sink->retried, 0);
	ck_assert_uint_eq(sink->q_len, 0);
	keys_are("out.txt", 0, 10, 1, NULL);
}
END_TEST

START_TEST(test_small_batches)
{
	/* batch = 4 splits one poll's records over several deliveries */
	rig_start("[source:src]\nplugin = probe\ncount = 25\nper_poll = 10\n"
		  "[sink:out]\nplugin = probe\nbatch = 4\nout = %s/out.txt\n"
		  "[route:r]\nfrom = src\nto = out\n", dir);
	ck_assert_int_eq(rig_run(1), 0);
	ck_assert_uint_eq(inst("src")->polls, 3);
	ck_assert_uint_eq(inst("out")->delivered, 25);
	keys_are("out.txt", 0, 25, 1, NULL);
}
END_TEST

START_TEST(test_fan_out_one_route)
{
	rig_start("[source:src]\nplugin = probe\ncount = 10\nper_poll = 4\n"
		  "[sink:a]\nplugin = probe\nout = %1$s/a.txt\n"
		  "[sink:b]\nplugin = probe\nasync = on\nout = %1$s/b.txt\n"
		  "[route:r]\nfrom = src\nto = a, b\n", dir);
	ck_assert_int_eq(rig_run(1), 0);
	ck_assert_uint_eq(inst("src")->emitted, 10);
	ck_assert_uint_eq(inst("a")->delivered, 10);
	ck_assert_uint_eq(inst("b")->delivered, 10);
	keys_are("a.txt", 0, 10, 1, NULL);
	keys_are("b.txt", 0, 10, 1, NULL);
}
END_TEST

START_TEST(test_two_routes_independent_copies)
{
	/* Route a changes every record; route b, reading the same source, must
	 * see them as the source emitted them, whichever route runs first. */
	rig_start("[source:src]\nplugin = probe\ncount = 6\nper_poll = 4\n"
		  "[transform:mark]\nplugin = map\nset.copy = $.n\nset.route = \"a\"\n"
		  "[sink:a]\nplugin = jsonl\npath = %1$s/a.jsonl\n"
		  "[sink:b]\nplugin = jsonl\npath = %1$s/b.jsonl\n"
		  "[sink:c]\nplugin = jsonl\npath = %1$s/c.jsonl\n"
		  "[route:first]\nfrom = src\nto = b\n"
		  "[route:changed]\nfrom = src\nvia = mark\nto = a\n"
		  "[route:last]\nfrom = src\nto = c\n", dir);
	ck_assert_int_eq(rig_run(1), 0);
	bodies_are("a.jsonl", 6, ",\"copy\":#,\"route\":\"a\"");
	bodies_are("b.jsonl", 6, "");
	bodies_are("c.jsonl", 6, "");
	ck_assert_uint_eq(inst("src")->emitted, 6);
}
END_TEST

START_TEST(test_chained_route)
{
	/* y reads x's output after x's transform; x's own sink must not see
	 * what y's transform does afterwards. */
	rig_start("[source:src]\nplugin = probe\ncount = 5\nper_poll = 2\n"
		  "[transform:tx]\nplugin = map\nset.x = $.n\n"
		  "[transform:ty]\nplugin = map\nset.y = $.x\n"
		  "[sink:sx]\nplugin = jsonl\npath = %1$s/x.jsonl\n"
		  "[sink:sy]\nplugin = jsonl\npath = %1$s/y.jsonl\n"
		  "[route:y]\nfrom = route:x\nvia = ty\nto = sy\n"
		  "[route:x]\nfrom = src\nvia = tx\nto = sx\n", dir);
	ck_assert_int_eq(rig_run(1), 0);
	bodies_are("x.jsonl", 5, ",\"x\":#");
	bodies_are("y.jsonl", 5, ",\"x\":#,\"y\":#");
	/* backpressure knows the chained sink is fed by src */
	ck_assert_uint_eq(inst("src")->nreach, 2);
}
END_TEST

START_TEST(test_chain_without_own_sink)
{
	/* a route with no sink of its own, only a route reading from it */
	rig_start("[source:src]\nplugin = probe\ncount = 4\n"
		  "[transform:tx]\nplugin = map\nset.x = $.n\n"
		  "[sink:out]\nplugin = jsonl\npath = %1$s/out.jsonl\n"
		  "[route:x]\nfrom = src\nvia = tx\n"
		  "[route:y]\nfrom = route:x\nto = out\n", dir);
	ck_assert_int_eq(rig_run(1), 0);
	bodies_are("out.jsonl", 4, ",\"x\":#");
}
END_TEST

/* ---- results of a sink -------------------------------------------------- */

START_TEST(test_sink_results)
{
	/* look's results go through a transform to out; a refused record
	 * gives none; in the store's queue, so they survive a crash */
	rig_durable = 1;
	rig_start("[source:src]\nplugin = probe\ncount = 6\nper_poll = 4\n"
		  "[sink:look]\nplugin = probe\nresult = on\nfail_key = probe-2\nout = %1$s/look.txt\n"
		  "[transform:tx]\nplugin = map\nset.x = $.n\n"
		  "[sink:out]\nplugin = jsonl\npath = %1$s/out.jsonl\n"
		  "[route:in]\nfrom = src\nto = look\n"
		  "[route:back]\nfrom = look\nvia = tx\nto = out\n", dir);
	ck_assert_int_eq(rig_run(1), 1); /* probe-2 failed */
	file_is("out.jsonl", "{\"n\":0,\"by\":\"look\",\"x\":0}\n{\"n\":1,\"by\":\"look\",\"x\":1}\n"
		"{\"n\":3,\"by\":\"look\",\"x\":3}\n{\"n\":4,\"by\":\"look\",\"x\":4}\n"
		"{\"n\":5,\"by\":\"look\",\"x\":5}\n");
	ck_assert_uint_eq(inst("look")->emitted, 5);
	/* backpressure: src feeds out too, through look's results; in the
	 * store it waits only for look, which out fills behind */
	ck_assert_uint_eq(inst("src")->nreach, 2);
	ck_assert_uint_eq(inst("src")->ndirect, 1);
	ck_assert_uint_eq(inst("look")->failed, 1);
	ck_assert_uint_eq(inst("out")->delivered, 5);
	ck_assert_uint_eq(hc_engine_queue_depth(rig.e, inst("look")), 0);
}
END_TEST

START_TEST(test_sink_results_unread)
{
	/* no route reads look: its results are dropped, nothing waits */
	rig_start("[source:src]\nplugin = probe\ncount = 3\n"
		  "[sink:look]\nplugin = probe\nresult = on\nout = %1$s/look.txt\n"
		  "[route:in]\nfrom = src\nto = look\n", dir);
	ck_assert_int_eq(rig_run(1), 0);
	ck_assert_uint_eq(inst("look")->delivered, 3);
	ck_assert_uint_eq(inst("look")->emitted, 0);
}
END_TEST

/* The configuration's errors, one per line. */
static void config_errors(const char *text, char *all, size_t len)
{
	hc_config *cfg;
	hc_graph *g;

	ck_assert_int_eq(hc_loader_init(&rig.loader), 0);
	hc_loader_add_dir(&rig.loader, env_dir("PLUGIN_DIR"));
	hc_loader_add_dir(&rig.loader, env_dir("TEST_PLUGIN_DIR"));
	cfg = hc_config_parse("r.ini", text, &rig.diag);
	ck_assert_ptr_nonnull(cfg);
	g = hc_graph_build(cfg, &rig.loader, NULL, &rig.diag);
	ck_assert_ptr_nonnull(g);
	all[0] = 0;
	for (size_t i = 0; i < rig.diag.n; i++)
		snprintf(all + strlen(all), len - strlen(all), "%s\n", rig.diag.msg[i]);
	hc_graph_free(g);
	hc_config_free(cfg);
}

START_TEST(test_sink_results_config)
{
	char all[4096];

	/* jsonl gives no results; look's results come back to look through b */
	config_errors("[source:src]\nplugin = probe\n"
		      "[sink:file]\nplugin = jsonl\npath = /dev/null\n"
		      "[sink:look]\nplugin = probe\nresult = on\n"
		      "[sink:b]\nplugin = probe\nresult = on\n"
		      "[route:in]\nfrom = src\nto = look, file\n"
		      "[route:f]\nfrom = file\nto = look\n"
		      "[route:l]\nfrom = look\nto = b\n"
		      "[route:m]\nfrom = b\nto = look\n", all, sizeof(all));
	ck_assert_msg(strstr(all, "r.ini:16: error: [route:f] from: sink 'file' (plugin jsonl) gives no results"),
		      "%s", all);
	ck_assert_msg(strstr(all, "error: [route:l] from: the results of sink 'look' come back to it (cycle)"),
		      "%s", all);
	ck_assert_msg(strstr(all, "error: [route:m] from: the results of sink 'b' come back to it (cycle)"),
		      "%s", all);
	ck_assert_uint_eq(rig.diag.errors, 3);
}
END_TEST

/* ---- transforms --------------------------------------------------------- */

START_TEST(test_transform_drop)
{
	rig_start("[source:src]\nplugin = probe\ncount = 10\n"
		  "[transform:odd]\nplugin = probe\ndrop_odd = on\n"
		  "[sink:out]\nplugin = probe\nout = %s/out.txt\n"
		  "[route:r]\nfrom = src\nvia = odd\nto = out\n", dir);
	ck_assert_int_eq(rig_run(1), 0);
	keys_are("out.txt", 0, 10, 2, NULL);
	ck_assert_uint_eq(inst("odd")->dropped, 5);
	ck_assert_uint_eq(inst("out")->delivered, 5);
}
END_TEST

START_TEST(test_transform_dup)
{
	rig_start("[source:src]\nplugin = probe\ncount = 10\n"
		  "[transform:twice]\nplugin = probe\ndup = on\n"
		  "[sink:out]\nplugin = probe\nout = %s/out.txt\n"
		  "[route:r]\nfrom = src\nvia = twice\nto = out\n", dir);
	ck_assert_int_eq(rig_run(1), 0);
	keys_are("out.txt", 0, 10, 1, "-dup");
	ck_assert_uint_eq(inst("twice")->dropped, 0);
	ck_assert_uint_eq(inst("out")->delivered, 20);
}
END_TEST

START_TEST(test_transform_chain)
{
	/* transforms run in the order of via: drop first, then copy */
	rig_start("[source:src]\nplugin = probe\ncount = 10\n"
		  "[transform:odd]\nplugin = probe\ndrop_odd = on\n"
		  "[transform:twice]\nplugin = probe\ndup = on\n"
		  "[sink:out]\nplugin = probe\nout = %s/out.txt\n"
		  "[route:r]\nfrom = src\nvia = odd, twice\nto = out\n", dir);
	ck_assert_int_eq(rig_run(1), 0);
	keys_are("out.txt", 0, 10, 2, "-dup");
	ck_assert_uint_eq(inst("odd")->dropped, 5);
	ck_assert_uint_eq(inst("out")->delivered, 10);
}
END_TEST

/* ---- sink verdicts ------------------------------------------------------ */

START_TEST(test_sink_retry)
{
	struct hlb_instance *sink;

	rig_start("[source:src]\nplugin = probe\ncount = 3\n"
		  "[sink:out]\nplugin = probe\nretry_times = 1\nretry_base = 20ms\nout = %s/out.txt\n"
		  "[route:r]\nfrom = src\nto = out\n", dir);
	ck_assert_int_eq(rig_run(1), 0);
	sink = inst("out");
	ck_assert_uint_eq(sink->retried, 3);
	ck_assert_uint_eq(sink->delivered, 3);
	ck_assert_uint_eq(sink->failed, 0);
	ck_assert_uint_eq(sink->wait_len, 0);
	/* each key written once, on the second try */
	ck_assert_uint_eq(count_lines("out.txt"), 3);
	{
		char *got = slurp("out.txt");

		for (int i = 0; i < 3; i++) {
			char key[32];

			snprintf(key, sizeof(key), "probe-%d\n", i);
			ck_assert_msg(strstr(got, key) != NULL, "%s missing from:\n%s", key, got);
		}
		free(got);
	}
}
END_TEST

/* A wait the destination asks for replaces the backoff: with a 1 ms base,
 * only the 400 ms Retry-After explains the time the run takes. */
START_TEST(test_sink_retry_after)
{
	int64_t start = hc_now_ms();
	struct hlb_instance *sink;

	rig_start("[source:src]\nplugin = probe\ncount = 2\n"
		  "[sink:out]\nplugin = probe\nretry_times = 1\nretry_after = 400ms\n"
		  "retry_base = 1ms\nretry_max = 1ms\nout = %s/out.txt\n"
		  "[route:r]\nfrom = src\nto = out\n", dir);
	ck_assert_int_eq(rig_run(1), 0);
	sink = inst("out");
	ck_assert_uint_eq(sink->retried, 2);
	ck_assert_uint_eq(sink->delivered, 2);
	ck_assert_int_ge(hc_now_ms() - start, 400);
}
END_TEST

/* retry_limit counts retries after the first attempt. */
START_TEST(test_sink_retry_limit)
{
	struct hlb_instance *sink;

	rig_start("[source:src]\nplugin = probe\ncount = 2\n"
		  "[sink:out]\nplugin = probe\nretry_times = 5\nretry_limit = 2\nretry_base = 1ms\n"
		  "out = %s/out.txt\n[route:r]\nfrom = src\nto = out\n", dir);
	ck_assert_int_eq(rig_run(1), 1);
	sink = inst("out");
	ck_assert_uint_eq(sink->retried, 4);   /* two retries each */
	ck_assert_uint_eq(sink->failed, 2);
	ck_assert_uint_eq(sink->delivered, 0);
	ck_assert_uint_eq(count_lines("out.txt"), 0);
}
END_TEST

START_TEST(test_sink_failure)
{
	struct hlb_instance *sink;
	char *want;

	rig_start("[source:src]\nplugin = probe\ncount = 10\n"
		  "[sink:out]\nplugin = probe\nfail_key = probe-3\nout = %s/out.txt\n"
		  "[route:r]\nfrom = src\nto = out\n", dir);
	ck_assert_int_eq(rig_run(1), 1);
	sink = inst("out");
	ck_assert_uint_eq(sink->failed, 1);
	ck_assert_uint_eq(sink->delivered, 9);
	ck_assert_uint_eq(sink->retried, 0); /* a failed record is not retried */
	want = keys(0, 10, 1, NULL);
	memmove(strstr(want, "probe-3\n"), strstr(want, "probe-4\n"), strlen(strstr(want, "probe-4\n")) + 1);
	file_is("out.txt", want);
	free(want);
}
END_TEST

START_TEST(test_async_sink)
{
	struct hlb_instance *sink;

	rig_start("[source:src]\nplugin = probe\ncount = 30\nper_poll = 7\n"
		  "[sink:out]\nplugin = probe\nasync = on\nbatch = 5\nout = %s/out.txt\n"
		  "[route:r]\nfrom = src\nto = out\n", dir);
	ck_assert_int_eq(rig_run(1), 0);
	sink = inst("out");
	ck_assert_uint_eq(sink->delivered, 30);
	ck_assert_int_eq(sink->delivering, 0);
	keys_are("out.txt", 0, 30, 1, NULL);
}
END_TEST

/* ---- backpressure ------------------------------------------------------- */

/* The sink's and source's callbacks are wrapped to look at the queue at the
 * two moments that matter: when a poll starts (there must be room) and when
 * a batch is taken (the queue is then at its largest since the last one).
 * The sink is also made slow on purpose: a batch is handed to the real
 * deliver only once the source waits for room (or has nothing left), so the
 * queue fills up to the limit whatever the speed of the machine. */
static hc_module bp_sink_mod, bp_src_mod;
static hlb_plugin bp_sink_desc, bp_src_desc;
static struct hlb_instance *bp_src, *bp_sink;
static size_t bp_peak, bp_peak_at_poll, bp_polls, bp_held;
static int (*bp_deliver)(void *, hlb_job *);
static int (*bp_poll)(void *, hlb_job *);
static void *bp_state;
static hlb_job *bp_pending;

static int bp_deliver_wrap(void *state, hlb_job *job)
{
	size_t queued = bp_sink->q_len + bp_sink->wait_len + hc_job_batch_size(job);

	if (queued > bp_peak)
		bp_peak = queued;
	ck_assert_ptr_null(bp_pending); /* one batch at a time */
	bp_state = state;
	bp_pending = job;
	return HLB_OK;
}

static void bp_gate(void *arg)
{
	hlb_job *job = bp_pending;

	(void)arg;
	if (!job || !(bp_src->waiting_room || bp_src->exhausted))
		return;
	bp_held += bp_src->waiting_room;
	bp_pending = NULL;
	bp_deliver(bp_state, job);
}

static int bp_poll_wrap(void *state, hlb_job *job)
{
	size_t queued = bp_sink->q_len + bp_sink->wait_len;

	bp_polls++;
	if (queued > bp_peak_at_poll)
		bp_peak_at_poll = queued;
	return bp_poll(state, job);
}

static void wrap_instance(struct hlb_instance *in, hc_module *mod, hlb_plugin *desc)
{
	*mod = *in->mod;
	*desc = *in->mod->desc;
	mod->desc = desc;
	in->mod = mod;
}

START_TEST(test_backpressure)
{
	/* room = max(4 * batch, 256) */
	static const struct { unsigned batch, per_poll; size_t room; } cases[] = {
		{ 20, 100, 256 },
		{ 100, 100, 400 },
		{ 300, 64, 1200 },
		{ 500, 7, 2000 },
	};
	unsigned batch = cases[_i].batch, per_poll = cases[_i].per_poll;
	size_t room = cases[_i].room;
	hlb_timer *gate;
	char *got;

	rig_new("[source:src]\nplugin = probe\ncount = 5000\nper_poll = %2$u\n"
		"[sink:slow]\nplugin = probe\nbatch = %3$u\nout = %1$s/out.txt\n"
		"[route:r]\nfrom = src\nto = slow\n", dir, per_poll, batch);
	bp_src = inst("src");
	bp_sink = inst("slow");
	bp_peak = bp_peak_at_poll = bp_polls = bp_held = 0;
	bp_pending = NULL;
	wrap_instance(bp_sink, &bp_sink_mod, &bp_sink_desc);
	bp_deliver = bp_sink_desc.deliver;
	bp_sink_desc.deliver = bp_deliver_wrap;
	wrap_instance(bp_src, &bp_src_mod, &bp_src_desc);
	bp_poll = bp_src_desc.poll;
	bp_src_desc.poll = bp_poll_wrap;
	ck_assert_int_eq(hc_engine_init(rig.e, &rig.diag), 0);
	gate = hc_timer_start(rig.loop, 1, 1, bp_gate, NULL);
	ck_assert_ptr_nonnull(gate);

	ck_assert_int_eq(rig_run(1), 0);
	hc_timer_stop(gate);
	ck_assert_uint_eq(bp_src->emitted, 5000);
	ck_assert_uint_eq(bp_sink->delivered, 5000);
	ck_assert_uint_eq(bp_polls, (5000 + per_poll - 1) / per_poll);
	/* the source was held back, again and again */
	ck_assert_uint_ge(bp_held, (5000 - room - per_poll) / batch - 1);
	/* a poll starts only while the sink has room ... */
	ck_assert_msg(bp_peak_at_poll < room, "a poll started with %zu queued (room %zu)", bp_peak_at_poll, room);
	/* ... so the queue never holds more than the room and one poll */
	ck_assert_msg(bp_peak <= room - 1 + per_poll, "peak %zu > room %zu - 1 + %u", bp_peak, room, per_poll);
	/* and it was not held back before the room was full */
	ck_assert_msg(bp_peak >= room, "peak %zu never reached the room %zu", bp_peak, room);
	ck_assert_uint_eq(count_lines("out.txt"), 5000);
	got = slurp("out.txt");
	ck_assert_str_eq(strrchr(got, 'p'), "probe-4999\n");
	free(got);
}
END_TEST

/* ---- errors ------------------------------------------------------------- */

START_TEST(test_poll_error)
{
	struct hlb_instance *src;

	rig_start("[source:src]\nplugin = probe\nhttp_url = http://127.0.0.1:%2$u/\n"
		  "[sink:out]\nplugin = probe\nout = %1$s/out.txt\n"
		  "[route:r]\nfrom = src\nto = out\n", dir, closed_port());
	ck_assert_int_eq(rig_run(1), 1);
	src = inst("src");
	ck_assert_uint_eq(src->polls, 1);
	ck_assert_uint_eq(src->emitted, 0);
	ck_assert_int_eq(src->polling, 0);
	ck_assert_uint_eq(inst("out")->delivered, 0);
	file_is("out.txt", "");
	ck_assert_uint_eq(hc_http_active(rig.http), 0);
}
END_TEST

START_TEST(test_init_failure)
{
	/* probe refuses per_poll = 0 through option_error: the error names the
	 * file, the line of the key and the section */
	rig_new("[source:src]\nplugin = probe\nper_poll = 0\n"
		"[sink:out]\nplugin = probe\n"
		"[route:r]\nfrom = src\nto = out\n");
	ck_assert_int_eq(hc_engine_init(rig.e, &rig.diag), -1);
	ck_assert_uint_eq(rig.diag.errors, 1);
	ck_assert_ptr_nonnull(strstr(rig.diag.msg[rig.diag.n - 1], "engine.ini:3:"));
	ck_assert_ptr_nonnull(strstr(rig.diag.msg[rig.diag.n - 1], "[source:src] per_poll: must be at least 1"));
	ck_assert_int_eq(inst("src")->inited, 0);
	ck_assert_int_eq(inst("out")->inited, 1);
}
END_TEST

START_TEST(test_unused_source_once)
{
	/* a source no route reads from is a warning; --once must still end */
	rig_start("[source:src]\nplugin = probe\ncount = 3\n"
		  "[source:spare]\nplugin = probe\n"
		  "[sink:out]\nplugin = probe\nout = %s/out.txt\n"
		  "[route:r]\nfrom = src\nto = out\n", dir);
	ck_assert_uint_eq(rig.diag.warnings, 1);
	ck_assert_int_eq(rig_run(1), 0);
	ck_assert_uint_eq(inst("spare")->polls, 0);
	keys_are("out.txt", 0, 3, 1, NULL);
}
END_TEST

START_TEST(test_check)
{
	rig_start("[source:src]\nplugin = probe\n"
		  "[sink:out]\nplugin = jsonl\npath = %s/out.jsonl\n"
		  "[route:r]\nfrom = src\nto = out\n", dir);
	ck_assert_int_eq(hc_engine_check(rig.e, 5000), 0);
}
END_TEST

START_TEST(test_jsonl_round_trip)
{
	char *want, *p, *q;
	const char *top = env_dir("top_srcdir");
	char in[512];
	FILE *f;
	long len;

	/* A file read by the jsonl source comes out of the jsonl sink line for
	 * line (blank lines skipped). */
	rig_start("[source:in]\nplugin = jsonl\npath = %2$s/tests/data/engine/records.jsonl\nkey = $.id\n"
		  "[sink:out]\nplugin = jsonl\npath = %1$s/out.jsonl\nbatch = 2\n"
		  "[route:r]\nfrom = in\nto = out\n", dir, top);
	ck_assert_int_eq(rig_run(1), 0);
	snprintf(in, sizeof(in), "%s/tests/data/engine/records.jsonl", top);
	f = fopen(in, "rb");
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	want = calloc(1, (size_t)len + 1);
	ck_assert_ptr_nonnull(want);
	ck_assert_uint_eq(fread(want, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	for (p = q = want; *p; p++)
		if (!(*p == '\n' && (p == want || p[-1] == '\n')))
			*q++ = *p;
	*q = 0;
	file_is("out.jsonl", want);
	free(want);
	ck_assert_uint_eq(inst("in")->emitted, 5);
	ck_assert_uint_eq(inst("out")->delivered, 5);
}
END_TEST

/* ---- signals ------------------------------------------------------------ */

static uint64_t polls_at_signal;
static int signals_to_send;

static void send_sigterm(void *arg)
{
	(void)arg;
	polls_at_signal = inst("src")->polls;
	for (int i = 0; i < signals_to_send; i++)
		raise(SIGTERM);
}

START_TEST(test_sigterm_drains)
{
	struct hlb_instance *src, *sink;
	int64_t start = hc_now_ms();

	rig_start("[service]\ndrain_timeout = 20s\n"
		  "[source:src]\nplugin = probe\ncount = 100000000\nper_poll = 50\ninterval = 1h\n"
		  "[sink:out]\nplugin = probe\nasync = on\n"
		  "[route:r]\nfrom = src\nto = out\n");
	signals_to_send = 1;
	ck_assert_ptr_nonnull(hc_timer_start(rig.loop, 100, 0, send_sigterm, NULL));
	ck_assert_int_eq(rig_run(0), 0);
	src = inst("src");
	sink = inst("out");
	ck_assert_uint_gt(polls_at_signal, 0);
	/* no poll started after the signal was handled (one may have been due
	 * in the same loop turn as the signal) */
	ck_assert_uint_le(src->polls, polls_at_signal + 1);
	ck_assert_uint_lt(src->emitted, 100000000);
	/* and everything emitted was delivered before the run returned */
	ck_assert_uint_eq(sink->delivered, src->emitted);
	ck_assert_uint_eq(sink->q_len, 0);
	ck_assert_uint_eq(sink->wait_len, 0);
	ck_assert_int_eq(sink->delivering, 0);
	/* it ended when the drain was done, not when drain_timeout ran out */
	ck_assert_int_lt(hc_now_ms() - start, 5000);
}
END_TEST

/* ---- checkpoints -------------------------------------------------------- */

static char *seen_position;
static int64_t seen_retrying;

static void look_at_store(void *arg)
{
	(void)arg;
	seen_position = hc_store_state_get(rig.store, "src", "position");
	seen_retrying = (int64_t)inst("out")->wait_len;
	raise(SIGTERM);
}

/* A source's position is committed only once the records read before it
 * have reached a final state: while they wait for a retry it is not. */
START_TEST(test_checkpoint_waits_for_delivery)
{
	char path[512], *pos;
	FILE *f;

	snprintf(path, sizeof(path), "%s/in.jsonl", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	for (int i = 0; i < 5; i++)
		fprintf(f, "{\"id\":\"r%d\"}\n", i);
	fclose(f);
	seen_position = NULL;
	rig_start("[source:src]\nplugin = jsonl\npath = %s\nkey = $.id\ninterval = 1h\n"
		  "[sink:out]\nplugin = probe\nretry_times = 1\nretry_after = 10s\nout = %s/out.txt\n"
		  "[route:r]\nfrom = src\nto = out\n", path, dir);
	ck_assert_ptr_nonnull(hc_timer_start(rig.loop, 300, 0, look_at_store, NULL));
	ck_assert_int_eq(rig_run(0), 0);
	/* at 300 ms all five waited for their retry, and nothing was committed */
	ck_assert_int_eq(seen_retrying, 5);
	ck_assert_ptr_null(seen_position);
	/* the stop gave them their last try; now the position is in */
	ck_assert_uint_eq(inst("out")->delivered, 5);
	pos = hc_store_state_get(rig.store, "src", "position");
	ck_assert_ptr_nonnull(pos);
	ck_assert_str_eq(pos, "{\"offset\":60,\"line\":5}"); /* 5 lines of 12 bytes */
	free(pos);
}
END_TEST

/* Stops the run once the fine sink has everything (however slow the
 * machine, say under valgrind). */
static void stop_when_fine_done(void *arg)
{
	(void)arg;
	if (inst("fine")->delivered < 3000)
		return;
	for (int i = 0; i < 2; i++) /* the second one ends the drain of the stuck sink */
		raise(SIGTERM);
}

/* With a durable queue, a sink that takes nothing does not hold up another
 * sink fed by the same source: its records wait in the store. */
START_TEST(test_stuck_sink_blocks_no_other)
{
	struct hlb_instance *stuck, *fine;

	rig_durable = 1;
	rig_start("[source:src]\nplugin = probe\ncount = 3000\nper_poll = 100\ninterval = 1h\n"
		  "[sink:stuck]\nplugin = probe\nretry_times = 1000\nretry_after = 1h\n"
		  "[sink:fine]\nplugin = probe\nout = %s/fine.txt\n"
		  "[route:r]\nfrom = src\nto = stuck, fine\n", dir);
	rig_durable = 0;
	ck_assert_ptr_nonnull(hc_timer_start(rig.loop, 50, 50, stop_when_fine_done, NULL));
	ck_assert_int_eq(rig_run(0), 0);
	stuck = inst("stuck");
	fine = inst("fine");
	ck_assert_uint_eq(inst("src")->emitted, 3000);
	ck_assert_uint_eq(fine->delivered, 3000);
	ck_assert_uint_eq(count_lines("fine.txt"), 3000);
	ck_assert_uint_eq(stuck->delivered, 0);
	/* the stuck sink's records are all queued in the store */
	{
		int64_t pending, retrying, dead;

		ck_assert_int_eq(hc_store_counts(rig.store, "stuck", &pending, &retrying, &dead), 0);
		ck_assert_int_eq(pending + retrying, 3000);
	}
}
END_TEST

START_TEST(test_sigterm_releases_retries)
{
	int64_t start = hc_now_ms();
	struct hlb_instance *sink;

	/* Records waiting 10 s for a retry get their last try at once. */
	rig_start("[source:src]\nplugin = probe\ncount = 5\nper_poll = 5\ninterval = 1h\n"
		  "[sink:out]\nplugin = probe\nretry_times = 1\nretry_after = 10s\nout = %s/out.txt\n"
		  "[route:r]\nfrom = src\nto = out\n", dir);
	signals_to_send = 1;
	ck_assert_ptr_nonnull(hc_timer_start(rig.loop, 100, 0, send_sigterm, NULL));
	ck_assert_int_eq(rig_run(0), 0);
	sink = inst("out");
	ck_assert_uint_eq(sink->retried, 5);
	ck_assert_uint_eq(sink->delivered, 5);
	ck_assert_uint_eq(sink->wait_len, 0);
	ck_assert_uint_eq(count_lines("out.txt"), 5);
	ck_assert_int_lt(hc_now_ms() - start, 900);
}
END_TEST

START_TEST(test_drain_timeout)
{
	unsigned port;
	int fd = silent_listener(&port);
	int64_t start = hc_now_ms();

	/* The poll's request hangs; the drain gives up after drain_timeout,
	 * and freeing the engine reclaims the unfinished poll. */
	rig_start("[service]\ndrain_timeout = 300ms\n"
		  "[source:src]\nplugin = probe\nhttp_url = http://127.0.0.1:%2$u/\n"
		  "[sink:out]\nplugin = probe\nout = %1$s/out.txt\n"
		  "[route:r]\nfrom = src\nto = out\n", dir, port);
	signals_to_send = 1;
	ck_assert_ptr_nonnull(hc_timer_start(rig.loop, 100, 0, send_sigterm, NULL));
	ck_assert_int_eq(rig_run(0), 0);
	ck_assert_int_ge(hc_now_ms() - start, 390);
	ck_assert_int_lt(hc_now_ms() - start, 3000); /* the request's own timeout is 5 s */
	ck_assert_int_eq(inst("src")->polling, 1);
	ck_assert_uint_eq(hc_http_active(rig.http), 1);
	hc_engine_free(rig.e);
	rig.e = NULL;
	ck_assert_uint_eq(hc_http_active(rig.http), 0);
	close(fd);
}
END_TEST

START_TEST(test_second_signal)
{
	unsigned port;
	int fd = silent_listener(&port);
	int64_t start = hc_now_ms();

	/* A second signal stops at once, without waiting for the drain. */
	rig_start("[service]\ndrain_timeout = 20s\n"
		  "[source:src]\nplugin = probe\nhttp_url = http://127.0.0.1:%2$u/\n"
		  "[sink:out]\nplugin = probe\nout = %1$s/out.txt\n"
		  "[route:r]\nfrom = src\nto = out\n", dir, port);
	signals_to_send = 2;
	ck_assert_ptr_nonnull(hc_timer_start(rig.loop, 100, 0, send_sigterm, NULL));
	ck_assert_int_eq(rig_run(0), 0);
	ck_assert_int_lt(hc_now_ms() - start, 3000);
	ck_assert_int_eq(inst("src")->polling, 1);
	hc_engine_free(rig.e);
	rig.e = NULL;
	close(fd);
}
END_TEST

/* A sink that takes a batch and never answers. */
static hc_module hold_mod;
static hlb_plugin hold_desc;
static hlb_job *held_job;

static int hold_deliver(void *state, hlb_job *job)
{
	(void)state;
	held_job = job;
	return HLB_OK;
}

START_TEST(test_drain_timeout_delivery)
{
	struct hlb_instance *sink;
	int64_t start = hc_now_ms();

	/* The batch a sink never answers is freed with the engine. */
	rig_new("[service]\ndrain_timeout = 200ms\n"
		"[source:src]\nplugin = probe\ncount = 10\nper_poll = 10\ninterval = 1h\n"
		"[sink:out]\nplugin = probe\nbatch = 4\n"
		"[route:r]\nfrom = src\nto = out\n");
	sink = inst("out");
	wrap_instance(sink, &hold_mod, &hold_desc);
	hold_desc.deliver = hold_deliver;
	held_job = NULL;
	ck_assert_int_eq(hc_engine_init(rig.e, &rig.diag), 0);
	signals_to_send = 1;
	ck_assert_ptr_nonnull(hc_timer_start(rig.loop, 50, 0, send_sigterm, NULL));
	ck_assert_int_eq(rig_run(0), 0);
	ck_assert_int_ge(hc_now_ms() - start, 240);
	ck_assert_ptr_nonnull(held_job);
	ck_assert_uint_eq(hc_job_batch_size(held_job), 4);
	ck_assert_int_eq(sink->delivering, 1);
	ck_assert_uint_eq(sink->q_len, 6);
	ck_assert_uint_eq(sink->delivered, 0);
	hc_engine_free(rig.e);
	rig.e = NULL;
}
END_TEST

static void send_second_sigterm(void *arg)
{
	(void)arg;
	raise(SIGTERM);
}

START_TEST(test_free_leaves_no_timers)
{
	struct hlb_instance *sink;

	/* Stopped by a second signal with records parked for a retry: freeing
	 * the engine takes its timers out of the loop, which outlives it. */
	rig_start("[source:src]\nplugin = probe\ncount = 3\nper_poll = 3\ninterval = 1h\n"
		  "[sink:out]\nplugin = probe\nretry_times = 4\nretry_after = 10s\n"
		  "[route:r]\nfrom = src\nto = out\n");
	signals_to_send = 1;
	ck_assert_ptr_nonnull(hc_timer_start(rig.loop, 100, 0, send_sigterm, NULL));
	ck_assert_ptr_nonnull(hc_timer_start(rig.loop, 300, 0, send_second_sigterm, NULL));
	ck_assert_int_eq(rig_run(0), 0);
	sink = inst("out");
	ck_assert_uint_eq(sink->retried, 6); /* the first try, and the last one at the signal */
	ck_assert_uint_eq(sink->wait_len, 3);
	ck_assert_ptr_nonnull(sink->retry_timer);
	ck_assert_uint_gt(hc_loop_timer_count(rig.loop), 0);
	hc_engine_free(rig.e);
	rig.e = NULL;
	ck_assert_uint_eq(hc_loop_timer_count(rig.loop), 0);
}
END_TEST

/* ---- secrets ------------------------------------------------------------ */

START_TEST(test_secret_masked)
{
	char path[512];
	int fd, saved, rc;
	char *log;

	hc_log_set_level(HLB_LOG_INFO);
	rig_new("[source:src]\nplugin = probe\ntoken = s3cr3t-value-123\n"
		"[sink:out]\nplugin = probe\n"
		"[route:r]\nfrom = src\nto = out\n");
	/* probe logs its token in init(); catch stderr around it */
	snprintf(path, sizeof(path), "%s/stderr.txt", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	fflush(stderr);
	saved = dup(2);
	ck_assert_int_ge(saved, 0);
	dup2(fd, 2);
	close(fd);
	rc = hc_engine_init(rig.e, &rig.diag);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	ck_assert_int_eq(rc, 0);
	log = slurp("stderr.txt");
	ck_assert_msg(strstr(log, "[source:src] connecting with token ***") != NULL, "log:\n%s", log);
	ck_assert_msg(strstr(log, "s3cr3t") == NULL, "the secret leaked:\n%s", log);
	free(log);
}
END_TEST

/* ---- credentials and history (ABI 1.1) ----------------------------------- */

static void count_row(const hc_history *h, void *arg)
{
	(void)h;
	(void)arg;
}

static void history_row(const hc_history *h, void *arg)
{
	char *out = arg;
	size_t len = strlen(out);

	snprintf(out + len, 1024 - len, "%s %s %s %s %lld %s\n", h->instance, h->scope, h->object, h->change,
		 (long long)h->time_ms, h->row);
}

START_TEST(test_auth_broker)
{
	char *out;

	/* the probe provider answers inside auth_token; the source must
	 * still get its answer later, from the loop */
	rig_start("[auth:cred]\ntype = probe\ntoken_base = T\n"
		  "[source:src]\nplugin = probe\ncount = 2\nper_poll = 2\nauth = cred\nsubject = loc1\n"
		  "[sink:out]\nplugin = jsonl\npath = %s/out.jsonl\n"
		  "[route:r]\nfrom = src\nto = out\n", dir);
	ck_assert_int_eq(rig_run(1), 0);
	out = slurp("out.jsonl");
	ck_assert_msg(strstr(out, "\"token\":\"T-0-loc1 quota=probe-app\""), "got %s", out);
	free(out);
	/* a rejected token is replaced: the provider hears of it */
	hc_host_table()->auth_reject(inst("src"), "cred", "loc1", "T-0-loc1");
	struct hlb_instance *cred = inst("cred");
	struct json_object *st = cred->mod->desc->auth_status(cred->state);
	ck_assert_str_eq(json_object_to_json_string_ext(st, JSON_C_TO_STRING_PLAIN),
			 "{\"generation\":1,\"needs_login\":false}");
	json_object_put(st);
}
END_TEST

START_TEST(test_auth_refused)
{
	/* a provider's refusal reaches the poll as an error, with its message */
	rig_start("[auth:cred]\ntype = probe\n"
		  "[source:src]\nplugin = probe\ncount = 2\nauth = cred\nsubject = refused\n"
		  "[sink:out]\nplugin = probe\nout = %s/out.txt\n"
		  "[route:r]\nfrom = src\nto = out\n", dir);
	ck_assert_int_eq(rig_run(1), 1);
	ck_assert_uint_eq(inst("out")->delivered, 0);
}
END_TEST

START_TEST(test_auth_config_errors)
{
	char all[4096];

	config_errors("[auth:cred]\ntype = jsonl\n"
		      "[auth:spare]\ntype = probe\n"
		      "[source:s1]\nplugin = probe\nauth = nosuch\n"
		      "[source:s2]\nplugin = probe\nauth = cred\n"
		      "[sink:out]\nplugin = probe\n"
		      "[route:r1]\nfrom = s1\nto = out\n[route:r2]\nfrom = s2\nto = out\n", all, sizeof(all));
	/* jsonl is no credential provider; s1 names no section; spare is unused */
	ck_assert_msg(strstr(all, "r.ini:2: error: [auth:cred] type: plugin 'jsonl' is no credential provider"),
		      "%s", all);
	ck_assert_msg(strstr(all, "r.ini:7: error: [source:s1] auth: no [auth:nosuch] section"), "%s", all);
	ck_assert_msg(strstr(all, "[auth:spare] is not used by any instance"), "%s", all);
}
END_TEST

START_TEST(test_history_with_checkpoint)
{
	char rows[1024] = "";

	rig_durable = 1;
	rig_start("[source:src]\nplugin = probe\ncount = 3\nper_poll = 3\nhistory = on\n"
		  "[sink:out]\nplugin = probe\nout = %s/out.txt\n"
		  "[route:r]\nfrom = src\nto = out\n", dir);
	rig_durable = 0;
	ck_assert_int_eq(rig_run(1), 0);
	/* written with the poll's checkpoint, once every record was delivered */
	ck_assert_int_eq(hc_store_history_each(rig.store, NULL, "scope-a", NULL, 0, history_row, rows), 3);
	ck_assert_str_eq(rows, "src scope-a probe-0 created 0 {\"n\":0}\n"
			       "src scope-a probe-1 updated 1000 {\"n\":1}\n"
			       "src scope-a probe-2 updated 2000 {\"n\":2}\n");
	rows[0] = 0;
	ck_assert_int_eq(hc_store_history_each(rig.store, NULL, NULL, "probe-1", 0, history_row, rows), 1);
	rows[0] = 0;
	ck_assert_int_eq(hc_store_history_each(rig.store, NULL, NULL, NULL, 1, history_row, rows), 1);
	ck_assert_msg(strstr(rows, "probe-2"), "the newest row: %s", rows);
}
END_TEST

START_TEST(test_long_poll_flushes)
{
	/* 2500 records from one poll are queued in flushes while it goes on;
	 * its checkpoint (here: the history rows it staged) is written once,
	 * when the last of them is delivered */
	rig_durable = 1;
	rig_start("[source:src]\nplugin = probe\ncount = 2500\nper_poll = 2500\nhistory = on\n"
		  "[sink:out]\nplugin = probe\nbatch = 500\nout = %s/out.txt\n"
		  "[route:r]\nfrom = src\nto = out\n", dir);
	rig_durable = 0;
	ck_assert_int_eq(rig_run(1), 0);
	ck_assert_uint_eq(inst("src")->polls, 1);
	ck_assert_uint_eq(inst("out")->delivered, 2500);
	ck_assert_ptr_null(inst("src")->cp_head);
	ck_assert_int_eq(hc_store_history_each(rig.store, NULL, "scope-a", NULL, 0, count_row, NULL), 2500);
	keys_are("out.txt", 0, 2500, 1, NULL);
}
END_TEST

/* ---- replay sources (ABI 1.2) ------------------------------------------- */

static void dead_key(const hc_dead *d, void *arg)
{
	snprintf(arg, 64, "%s", d->key);
}

START_TEST(test_replay_skips_store)
{
	/* A replay source's records that fit their sink wait in memory, not
	 * in the queue table: the sink never sees a queue row. The checkpoint
	 * (the history rows) is still written only once all are delivered. */
	rig_durable = 1;
	rig_start("[source:src]\nplugin = probe_replay\ncount = 2500\nper_poll = 2500\nhistory = on\n"
		  "[sink:out]\nplugin = probe\nbatch = 500\nout = %s/out.txt\n"
		  "[route:r]\nfrom = src\nto = out\n", dir);
	rig_durable = 0;
	ck_assert_int_eq(rig_run(1), 0);
	ck_assert_uint_eq(inst("out")->delivered, 2500);
	ck_assert_int_eq(inst("out")->cursor, 0);
	ck_assert_ptr_null(inst("src")->cp_head);
	ck_assert_int_eq(hc_store_history_each(rig.store, NULL, "scope-a", NULL, 0, count_row, NULL), 2500);
	keys_are("out.txt", 0, 2500, 1, NULL);
}
END_TEST

START_TEST(test_replay_retry_and_dead)
{
	char key[64] = "";
	int64_t pending = -1, retrying = -1, dead = -1;

	/* retried in memory, then delivered; the failed one goes to the
	 * dead-letter queue although it never had a queue row */
	rig_durable = 1;
	rig_start("[source:src]\nplugin = probe_replay\ncount = 10\nper_poll = 10\nhistory = on\n"
		  "[sink:out]\nplugin = probe\nretry_times = 1\nretry_base = 20ms\nfail_key = probe-3\n"
		  "out = %s/out.txt\n"
		  "[route:r]\nfrom = src\nto = out\n", dir);
	rig_durable = 0;
	ck_assert_int_eq(rig_run(1), 1);
	ck_assert_uint_eq(inst("out")->delivered, 9);
	ck_assert_uint_eq(inst("out")->failed, 1);
	ck_assert_uint_ge(inst("out")->retried, 9);
	ck_assert_int_eq(inst("out")->cursor, 0);
	ck_assert_int_eq(hc_store_dead_each(rig.store, "out", dead_key, key), 1);
	ck_assert_str_eq(key, "probe-3");
	ck_assert_int_eq(hc_store_counts(rig.store, "out", &pending, &retrying, &dead), 0);
	ck_assert_int_eq(pending, 0);
	ck_assert_int_eq(retrying, 0);
	ck_assert_int_eq(dead, 1);
	/* every record reached a final state: the checkpoint is in */
	ck_assert_ptr_null(inst("src")->cp_head);
	ck_assert_int_eq(hc_store_history_each(rig.store, NULL, "scope-a", NULL, 0, count_row, NULL), 10);
}
END_TEST

START_TEST(test_replay_spills_when_full)
{
	/* one poll of 5000 records into a sink with room for 400 (and one
	 * flush more): what does not fit goes to the store and comes back,
	 * every record once and in order */
	rig_durable = 1;
	rig_start("[source:src]\nplugin = probe_replay\ncount = 5000\nper_poll = 5000\nhistory = on\n"
		  "[sink:out]\nplugin = probe\nbatch = 100\nout = %s/out.txt\n"
		  "[route:r]\nfrom = src\nto = out\n", dir);
	rig_durable = 0;
	ck_assert_int_eq(rig_run(1), 0);
	ck_assert_uint_eq(inst("out")->delivered, 5000);
	ck_assert_int_gt(inst("out")->cursor, 0);
	ck_assert_ptr_null(inst("src")->cp_head);
	ck_assert_int_eq(hc_store_history_each(rig.store, NULL, "scope-a", NULL, 0, count_row, NULL), 5000);
	keys_are("out.txt", 0, 5000, 1, NULL);
}
END_TEST

static char *seen_pos;
static int seen_rows;

static void look_at_checkpoint(void *arg)
{
	(void)arg;
	seen_pos = hc_store_state_get(rig.store, "src", "position");
	seen_rows = hc_store_history_each(rig.store, NULL, "scope-a", NULL, 0, count_row, NULL);
	raise(SIGTERM);
}

START_TEST(test_checkpoint_inside_poll)
{
	/* One poll of 30 records with a checkpoint after every 10; the sink
	 * takes the first 15 and stalls from probe-15 on. The first
	 * checkpoint (10 records, position 10, 10 history rows) is committed
	 * while the poll's other records wait; the second never is. */
	char *pos;

	seen_pos = NULL;
	seen_rows = -1;
	rig_durable = 1;
	rig_start("[source:src]\nplugin = probe_replay\ncount = 30\nper_poll = 30\nhistory = on\n"
		  "checkpoint_every = 10\ninterval = 1h\n"
		  "[sink:out]\nplugin = probe\nstall_from = 15\nretry_after = 10s\nout = %s/out.txt\n"
		  "[route:r]\nfrom = src\nto = out\n", dir);
	rig_durable = 0;
	ck_assert_ptr_nonnull(hc_timer_start(rig.loop, 300, 0, look_at_checkpoint, NULL));
	ck_assert_int_eq(rig_run(0), 0);
	ck_assert_ptr_nonnull(seen_pos);
	ck_assert_str_eq(seen_pos, "{\"next\":10}");
	ck_assert_int_eq(seen_rows, 10);
	free(seen_pos);
	/* after the stop, still: the records from 15 on never got through */
	pos = hc_store_state_get(rig.store, "src", "position");
	ck_assert_str_eq(pos, "{\"next\":10}");
	free(pos);
	ck_assert_int_eq(hc_store_history_each(rig.store, NULL, "scope-a", NULL, 0, count_row, NULL), 10);
	ck_assert_uint_eq(inst("out")->delivered, 15);
}
END_TEST

static Suite *test_suite(void)
{
	Suite *s = suite_create("engine");
	TCase *deliver = tcase_create("delivery");
	TCase *transform = tcase_create("transforms");
	TCase *verdicts = tcase_create("verdicts");
	TCase *bp = tcase_create("backpressure");
	TCase *errors = tcase_create("errors");
	TCase *sig = tcase_create("signals");
	TCase *secret = tcase_create("secrets");
	TCase *timers = tcase_create("timers");
	TCase *all[] = { timers, deliver, transform, verdicts, bp, errors, sig, secret };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		tcase_add_checked_fixture(all[i], setup, teardown);
		tcase_set_timeout(all[i], 60);
	}
	tcase_add_test(timers, test_timer_order);
	tcase_add_test(timers, test_timer_stop);
	tcase_add_test(timers, test_timer_fairness);
	suite_add_tcase(s, timers);
	tcase_add_test(deliver, test_multi_poll_order);
	tcase_add_test(deliver, test_small_batches);
	tcase_add_test(deliver, test_fan_out_one_route);
	tcase_add_test(deliver, test_two_routes_independent_copies);
	tcase_add_test(deliver, test_chained_route);
	tcase_add_test(deliver, test_chain_without_own_sink);
	tcase_add_test(deliver, test_jsonl_round_trip);
	tcase_add_test(deliver, test_sink_results);
	tcase_add_test(deliver, test_sink_results_unread);
	tcase_add_test(deliver, test_sink_results_config);
	suite_add_tcase(s, deliver);
	tcase_add_test(transform, test_transform_drop);
	tcase_add_test(transform, test_transform_dup);
	tcase_add_test(transform, test_transform_chain);
	suite_add_tcase(s, transform);
	tcase_add_test(verdicts, test_sink_retry);
	tcase_add_test(verdicts, test_sink_retry_after);
	tcase_add_test(verdicts, test_sink_retry_limit);
	tcase_add_test(verdicts, test_sink_failure);
	tcase_add_test(verdicts, test_async_sink);
	suite_add_tcase(s, verdicts);
	tcase_add_loop_test(bp, test_backpressure, 0, 4);
	suite_add_tcase(s, bp);
	tcase_add_test(errors, test_poll_error);
	tcase_add_test(errors, test_init_failure);
	tcase_add_test(errors, test_unused_source_once);
	tcase_add_test(errors, test_check);
	suite_add_tcase(s, errors);
	tcase_add_test(sig, test_sigterm_drains);
	tcase_add_test(sig, test_sigterm_releases_retries);
	tcase_add_test(sig, test_checkpoint_waits_for_delivery);
	tcase_add_test(sig, test_stuck_sink_blocks_no_other);
	tcase_add_test(sig, test_drain_timeout);
	tcase_add_test(sig, test_second_signal);
	tcase_add_test(sig, test_drain_timeout_delivery);
	tcase_add_test(sig, test_free_leaves_no_timers);
	suite_add_tcase(s, sig);
	tcase_add_test(secret, test_secret_masked);
	tcase_add_test(errors, test_auth_broker);
	tcase_add_test(errors, test_auth_refused);
	tcase_add_test(errors, test_auth_config_errors);
	tcase_add_test(errors, test_history_with_checkpoint);
	tcase_add_test(errors, test_long_poll_flushes);
	tcase_add_test(errors, test_replay_skips_store);
	tcase_add_test(errors, test_replay_retry_and_dead);
	tcase_add_test(errors, test_replay_spills_when_full);
	tcase_add_test(sig, test_checkpoint_inside_poll);
	suite_add_tcase(s, secret);
	return s;
}
