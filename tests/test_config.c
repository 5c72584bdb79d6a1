/* Unit tests of the configuration: INI parsing (core/config.c), ${VAR}
 * expansion, option values (core/value.c) and the checks against the real
 * plugins (core/validate.c). Every error is checked with its file, line
 * and text, and a file with many mistakes must report all of them.
 *
 * The fixtures in tests/data/config carry their own expectations: a line
 * ";! error: TEXT" (or ";! warning: TEXT") says that the next line that is
 * not such a line must produce a message of that kind containing TEXT. */
#include "check_main.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "diag.h"
#include "graph.h"
#include "loader.h"
#include "value.h"

#define NAME "t.ini"

/* ---- helpers ------------------------------------------------------------ */

struct run {
	hc_diag diag;
	hc_loader loader;
	int loader_up;
	hc_config *cfg;
	hc_graph *graph;
};

static const char *env_dir(const char *var)
{
	const char *v = getenv(var);

	ck_assert_msg(v && *v, "%s is not set: run the test through make check", var);
	return v;
}

/* All messages, one per line, for failure reports. */
static const char *dump(const hc_diag *d)
{
	static char buf[16384];
	size_t len = 0;

	buf[0] = 0;
	for (size_t i = 0; i < d->n && len < sizeof(buf) - 1; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "\n  %s", d->msg[i]);
	return d->n ? buf : " (no messages)";
}

static void run_parse(struct run *r, const char *text)
{
	memset(r, 0, sizeof(*r));
	r->cfg = hc_config_parse(NAME, text, &r->diag);
	ck_assert_ptr_nonnull(r->cfg);
}

/* Validates an already parsed configuration against the built plugins and
 * the test modules, as `hlbridge run` does. */
static void run_validate(struct run *r)
{
	ck_assert_int_eq(hc_loader_init(&r->loader), 0);
	r->loader_up = 1;
	ck_assert_int_eq(hc_loader_add_dir(&r->loader, env_dir("PLUGIN_DIR")), 0);
	ck_assert_int_eq(hc_loader_add_dir(&r->loader, env_dir("TEST_PLUGIN_DIR")), 0);
	r->graph = hc_graph_build(r->cfg, &r->loader, NULL, &r->diag);
	ck_assert_ptr_nonnull(r->graph);
}

static void run_build(struct run *r, const char *text)
{
	run_parse(r, text);
	run_validate(r);
}

static void run_free(struct run *r)
{
	hc_graph_free(r->graph);
	hc_config_free(r->cfg);
	if (r->loader_up)
		hc_loader_fini(&r->loader);
	hc_diag_clear(&r->diag);
}

static void expect_counts(const hc_diag *d, unsigned errors, unsigned warnings)
{
	ck_assert_msg(d->errors == errors && d->warnings == warnings,
		      "expected %u errors and %u warnings, got %u and %u:%s",
		      errors, warnings, d->errors, d->warnings, dump(d));
}

/* Finds the message "FILE:LINE: KIND: ..." (or "FILE: KIND: ..." for line 0)
 * containing `part`, skipping those already claimed in `taken`. */
static long find_msg(const hc_diag *d, const char *file, unsigned line, const char *kind,
		     const char *part, const char *taken)
{
	char prefix[4200];
	size_t n;

	if (line)
		snprintf(prefix, sizeof(prefix), "%s:%u: %s: ", file, line, kind);
	else
		snprintf(prefix, sizeof(prefix), "%s: %s: ", file, kind);
	n = strlen(prefix);
	for (size_t i = 0; i < d->n; i++)
		if ((!taken || !taken[i]) && strncmp(d->msg[i], prefix, n) == 0 &&
		    strstr(d->msg[i] + n, part))
			return (long)i;
	return -1;
}

static void expect_msg(const hc_diag *d, unsigned line, const char *kind, const char *part)
{
	ck_assert_msg(find_msg(d, NAME, line, kind, part, NULL) >= 0,
		      "no %s on line %u containing \"%s\" among:%s", kind, line, part, dump(d));
}

#define expect_error(r, line, part) expect_msg(&(r)->diag, line, "error", part)
#define expect_warning(r, line, part) expect_msg(&(r)->diag, line, "warning", part)

/* Parses and validates TEXT, which must be free of errors and warnings. */
static void run_good(struct run *r, const char *text)
{
	run_build(r, text);
	expect_counts(&r->diag, 0, 0);
}

static const char *value_of(struct run *r, hc_kind kind, const char *sec, const char *key)
{
	hc_section *s = hc_config_find(r->cfg, kind, sec);

	ck_assert_msg(s != NULL, "no [%s:%s]", hc_kind_name(kind), sec ? sec : "");
	return hc_section_value(s, key);
}

static struct hlb_instance *instance(hc_graph *g, const char *name)
{
	for (size_t i = 0; i < g->ninst; i++)
		if (strcmp(g->inst[i]->sec->name, name) == 0)
			return g->inst[i];
	ck_abort_msg("no instance %s", name);
	return NULL;
}

static hc_route *route(hc_graph *g, const char *name)
{
	for (size_t i = 0; i < g->nroutes; i++)
		if (strcmp(g->routes[i].name, name) == 0)
			return &g->routes[i];
	ck_abort_msg("no route %s", name);
	return NULL;
}

/* A minimal valid tail: appended to snippets that test one section. */
#define PIPE \
	"[source:in]\nplugin = jsonl\npath = in.jsonl\n" \
	"[sink:out]\nplugin = jsonl\npath = out.jsonl\n" \
	"[route:r]\nfrom = in\nto = out\n"

/* ---- fixtures with their expectations ----------------------------------- */

struct expectation {
	unsigned line;
	const char *kind;
	char text[300];
};

static void fixture_path(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/tests/data/config/%s", env_dir("top_srcdir"), name);
}

/* Reads the ";! KIND: TEXT" annotations of a fixture. */
static size_t read_expectations(const char *path, struct expectation *ex, size_t max)
{
	FILE *f = fopen(path, "r");
	char buf[1024];
	unsigned line = 0;
	size_t n = 0, pending = 0;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	while (fgets(buf, sizeof(buf), f)) {
		size_t len = strlen(buf);
		const char *text;

		ck_assert_msg(len && buf[len - 1] == '\n', "%s:%u: line too long for the test", path, line + 1);
		buf[len - 1] = 0;
		line++;
		if (strncmp(buf, ";! ", 3) != 0) {
			for (; pending; pending--)
				ex[n - pending].line = line;
			continue;
		}
		ck_assert_uint_lt(n, max);
		if (strncmp(buf + 3, "error: ", 7) == 0) {
			ex[n].kind = "error";
			text = buf + 10;
		} else {
			ck_assert_msg(strncmp(buf + 3, "warning: ", 9) == 0, "%s:%u: bad annotation", path, line);
			ex[n].kind = "warning";
			text = buf + 12;
		}
		ck_assert_uint_lt(strlen(text), sizeof(ex[n].text));
		memcpy(ex[n].text, text, strlen(text) + 1);
		n++;
		pending++;
	}
	fclose(f);
	ck_assert_msg(pending == 0, "%s: annotation at the end of the file", path);
	return n;
}

/* Loads and validates a fixture; every annotated message must appear, each
 * matched by a message of its own, and there must be no others. */
static void check_fixture(const char *name)
{
	struct expectation ex[64];
	char path[4096], taken[256] = { 0 };
	unsigned errors = 0, warnings = 0;
	struct run r;
	size_t n;

	fixture_path(name, path, sizeof(path));
	n = read_expectations(path, ex, 64);
	ck_assert_uint_gt(n, 0);
	memset(&r, 0, sizeof(r));
	r.cfg = hc_config_load(path, &r.diag);
	ck_assert_ptr_nonnull(r.cfg);
	run_validate(&r);
	ck_assert_uint_le(r.diag.n, sizeof(taken));
	for (size_t i = 0; i < n; i++) {
		long m = find_msg(&r.diag, path, ex[i].line, ex[i].kind, ex[i].text, taken);

		ck_assert_msg(m >= 0, "%s: no %s on line %u containing \"%s\" among:%s",
			      name, ex[i].kind, ex[i].line, ex[i].text, dump(&r.diag));
		taken[m] = 1;
		if (strcmp(ex[i].kind, "error") == 0)
			errors++;
		else
			warnings++;
	}
	expect_counts(&r.diag, errors, warnings);
	run_free(&r);
}

/* ---- valid configurations ----------------------------------------------- */

START_TEST(test_full_valid)
{
	char path[4096];
	struct run r;
	struct hlb_instance *orders, *reshape, *big_only, *archive, *audit, *big;
	hc_route *main_r, *chained;

	fixture_path("valid.ini", path, sizeof(path));
	memset(&r, 0, sizeof(r));
	r.cfg = hc_config_load(path, &r.diag);
	ck_assert_ptr_nonnull(r.cfg);
	run_validate(&r);
	expect_counts(&r.diag, 0, 0);
	ck_assert_uint_eq(r.cfg->nsec, 9);
	ck_assert_uint_eq(r.graph->ninst, 6);
	ck_assert_uint_eq(r.graph->nroutes, 2);
	ck_assert_int_eq(r.graph->drain_timeout_ms, 5000);

	orders = instance(r.graph, "orders");
	reshape = instance(r.graph, "reshape");
	big_only = instance(r.graph, "big_only");
	archive = instance(r.graph, "archive");
	audit = instance(r.graph, "audit");
	big = instance(r.graph, "big");
	ck_assert_str_eq(orders->mod->desc->name, "jsonl");
	ck_assert_uint_eq(orders->role, HLB_CAP_SOURCE);
	ck_assert_str_eq(reshape->mod->desc->name, "map");
	ck_assert_uint_eq(reshape->role, HLB_CAP_TRANSFORM);
	ck_assert_str_eq(big_only->mod->desc->name, "filter");
	ck_assert_uint_eq(archive->role, HLB_CAP_SINK);
	ck_assert_int_eq(orders->interval_ms, 30000);
	ck_assert_uint_eq(archive->batch, 50);
	ck_assert_uint_eq(audit->batch, 100);
	ck_assert_uint_eq(orders->sec->line, 9);

	/* values: inline comment cut, defaults from plugin and host */
	ck_assert_str_eq(hc_instance_option(orders, "key"), "$.id");
	ck_assert_str_eq(hc_instance_option(orders, "max_line"), "1048576");
	ck_assert_str_eq(hc_instance_option(audit, "mode"), "truncate");
	ck_assert_str_eq(hc_instance_option(archive, "mode"), "append");
	ck_assert_str_eq(hc_instance_option(big, "batch"), "100");
	ck_assert_str_eq(hc_instance_option(reshape, "set.total"), "$.amount");
	ck_assert_ptr_null(hc_instance_option(reshape, "set.other"));

	main_r = route(r.graph, "main");
	chained = route(r.graph, "big_orders");
	ck_assert_ptr_eq(main_r->from, orders);
	ck_assert_ptr_null(main_r->from_route);
	ck_assert_uint_eq(main_r->nvia, 2);
	ck_assert_ptr_eq(main_r->via[0], reshape);
	ck_assert_ptr_eq(main_r->via[1], big_only);
	ck_assert_uint_eq(main_r->nto, 2);
	ck_assert_ptr_eq(main_r->to[0], archive);
	ck_assert_ptr_eq(main_r->to[1], audit);
	ck_assert_uint_eq(main_r->nchildren, 1);
	ck_assert_ptr_eq(main_r->children[0], chained);

	ck_assert_ptr_null(chained->from);
	ck_assert_ptr_eq(chained->from_route, main_r);
	ck_assert_uint_eq(chained->nvia, 0);
	ck_assert_uint_eq(chained->nto, 1);
	ck_assert_ptr_eq(chained->to[0], big);

	/* the source feeds both routes and reaches every sink once */
	ck_assert_uint_eq(orders->nroutes, 1);
	ck_assert_ptr_eq(orders->routes[0], main_r);
	ck_assert_uint_eq(orders->nreach, 3);
	ck_assert_ptr_eq(orders->reach[0], archive);
	ck_assert_ptr_eq(orders->reach[1], audit);
	ck_assert_ptr_eq(orders->reach[2], big);
	run_free(&r);
}
END_TEST

START_TEST(test_route_chain)
{
	/* a chain of three routes and one connector (probe) used in every
	 * role; routes may be written before what they name */
	static const char text[] =
		"[route:last]\nfrom = route:middle\nto = p_out\n"
		"[route:middle]\nfrom = route:first\nvia = p_mid\n"
		"[route:first]\nfrom = p_in\nto = p_out\n"
		"[source:p_in]\nplugin = probe\ncount = 5\n"
		"[transform:p_mid]\nplugin = probe\ndup = on\n"
		"[sink:p_out]\nplugin = probe\nasync = yes\n";
	struct run r;
	hc_route *first, *middle, *last;
	struct hlb_instance *src;

	run_good(&r, text);
	first = route(r.graph, "first");
	middle = route(r.graph, "middle");
	last = route(r.graph, "last");
	src = instance(r.graph, "p_in");
	ck_assert_ptr_eq(first->from, src);
	ck_assert_ptr_eq(middle->from_route, first);
	ck_assert_ptr_eq(last->from_route, middle);
	ck_assert_uint_eq(first->nchildren, 1);
	ck_assert_ptr_eq(first->children[0], middle);
	ck_assert_uint_eq(middle->nchildren, 1);
	ck_assert_ptr_eq(middle->children[0], last);
	ck_assert_uint_eq(middle->nto, 0);
	ck_assert_uint_eq(src->nroutes, 1);
	ck_assert_uint_eq(src->nreach, 1);
	ck_assert_ptr_eq(src->reach[0], instance(r.graph, "p_out"));
	ck_assert_str_eq(instance(r.graph, "p_mid")->mod->desc->name, "probe");
	ck_assert_uint_eq(instance(r.graph, "p_mid")->role, HLB_CAP_TRANSFORM);
	ck_assert_uint_eq(instance(r.graph, "p_out")->role, HLB_CAP_SINK);
	/* interval: the host's default */
	ck_assert_int_eq(src->interval_ms, 60000);
	run_free(&r);
}
END_TEST

START_TEST(test_env_expansion)
{
	static const char text[] =
		"[source:in]\n"
		"plugin = jsonl\n"
		"path = ${HLB_TEST_DIR}/in.jsonl\n"
		"stream = ${HLB_TEST_UNSET:-fallback}\n"
		"key = $.${HLB_TEST_FIELD:-ignored}\n"
		"[sink:out]\n"
		"plugin = jsonl\n"
		"path = ${HLB_TEST_EMPTY:-}out-$${HLB_TEST_DIR}.jsonl\n"
		"stream = cost $5, $HOME, $$, ${HLB_TEST_DIR}${HLB_TEST_FIELD}\n"
		"[route:r]\nfrom = in\nto = out\n";
	struct run r;

	setenv("HLB_TEST_DIR", "/data", 1);
	setenv("HLB_TEST_FIELD", "id", 1);
	setenv("HLB_TEST_EMPTY", "", 1);
	unsetenv("HLB_TEST_UNSET");
	run_good(&r, text);
	ck_assert_str_eq(value_of(&r, HC_SOURCE, "in", "path"), "/data/in.jsonl");
	ck_assert_str_eq(value_of(&r, HC_SOURCE, "in", "stream"), "fallback");
	ck_assert_str_eq(value_of(&r, HC_SOURCE, "in", "key"), "$.id");
	ck_assert_str_eq(value_of(&r, HC_SINK, "out", "path"), "out-${HLB_TEST_DIR}.jsonl");
	ck_assert_str_eq(value_of(&r, HC_SINK, "out", "stream"), "cost $5, $HOME, $$, /dataid");
	run_free(&r);
	unsetenv("HLB_TEST_DIR");
	unsetenv("HLB_TEST_FIELD");
	unsetenv("HLB_TEST_EMPTY");
}
END_TEST

START_TEST(test_continuation)
{
	static const char text[] =
		"[transform:m]\n"
		"plugin = map\n"
		"drop = a,\n"
		"   b,\n"
		"\n"
		"; a comment does not end the value\n"
		"\tc   ; nor does an inline one\n"
		"set.x = 1\n"
		"[sink:out]\n"
		"plugin = jsonl\n"
		"path =\n"
		"  out.jsonl\n"
		"[source:in]\nplugin = jsonl\npath = in.jsonl\n"
		"[route:r]\nfrom = in\nvia = m\nto = out\n";
	struct run r;
	hc_kv *kv;

	run_good(&r, text);
	kv = hc_section_get(hc_config_find(r.cfg, HC_TRANSFORM, "m"), "drop");
	ck_assert_ptr_nonnull(kv);
	ck_assert_str_eq(kv->value, "a,\nb,\nc");
	ck_assert_uint_eq(kv->line, 3);
	ck_assert_str_eq(value_of(&r, HC_TRANSFORM, "m", "set.x"), "1");
	/* a value that starts on the next line does not start with '\n' */
	ck_assert_str_eq(value_of(&r, HC_SINK, "out", "path"), "out.jsonl");
	run_free(&r);
}
END_TEST

START_TEST(test_continuation_long_key)
{
	/* inih keeps at most 49 bytes of a key for continuations; the value
	 * must still go to the right key */
	static const char text[] =
		"[transform:m]\n"
		"plugin = map\n"
		"set.a_field_name_that_is_longer_than_fifty_bytes_in_all = \"one\n"
		"  two\"\n"
		PIPE;
	struct run r;
	hc_section *m;

	run_parse(&r, text);
	expect_counts(&r.diag, 0, 0);
	m = hc_config_find(r.cfg, HC_TRANSFORM, "m");
	ck_assert_uint_eq(m->nkv, 2);
	ck_assert_str_eq(m->kv[1].key, "set.a_field_name_that_is_longer_than_fifty_bytes_in_all");
	ck_assert_str_eq(m->kv[1].value, "\"one\ntwo\"");
	run_free(&r);
}
END_TEST

START_TEST(test_comments_and_bom)
{
	static const char text[] =
		"\xEF\xBB\xBF; starts with a UTF-8 byte order mark\r\n"
		"# hash comment\r\n"
		"   ; indented comment\r\n"
		"[service] ; comment after a header\r\n"
		"log_level = warn ; inline comment\r\n"
		"\r\n"
		"[source:in]\r\n"
		"plugin=jsonl\r\n"
		"path: in;not-a-comment.jsonl\r\n"
		"stream = a#b\r\n"
		"[sink:out]\nplugin = jsonl\npath = out.jsonl\n"
		"[route:r]\nfrom = in\nto = out";
	struct run r;

	run_good(&r, text);
	ck_assert_uint_eq(r.cfg->nsec, 4);
	ck_assert_uint_eq(r.cfg->sec[0].line, 4);
	ck_assert_str_eq(value_of(&r, HC_SERVICE, NULL, "log_level"), "warn");
	ck_assert_str_eq(value_of(&r, HC_SOURCE, "in", "plugin"), "jsonl");
	ck_assert_str_eq(value_of(&r, HC_SOURCE, "in", "path"), "in;not-a-comment.jsonl");
	ck_assert_str_eq(value_of(&r, HC_SOURCE, "in", "stream"), "a#b");
	ck_assert_uint_eq(hc_section_get(hc_config_find(r.cfg, HC_SOURCE, "in"), "path")->line, 9);
	ck_assert_str_eq(value_of(&r, HC_ROUTE, "r", "to"), "out");
	run_free(&r);
}
END_TEST

START_TEST(test_longest_line)
{
	/* 197 bytes pass whole; 198 are refused, never cut */
	char text[1024], value[200];
	struct run r;

	memset(value, 'v', sizeof(value));
	value[197 - strlen("stream = ")] = 0;
	snprintf(text, sizeof(text), "[source:in]\nplugin = jsonl\npath = in.jsonl\nstream = %s\n"
		 "[sink:out]\nplugin = jsonl\npath = out.jsonl\n[route:r]\nfrom = in\nto = out\n", value);
	run_good(&r, text);
	ck_assert_str_eq(value_of(&r, HC_SOURCE, "in", "stream"), value);
	run_free(&r);

	strcat(value, "v");
	snprintf(text, sizeof(text), "[source:in]\nplugin = jsonl\npath = in.jsonl\nstream = %s\n", value);
	run_parse(&r, text);
	expect_counts(&r.diag, 1, 0);
	expect_error(&r, 4, "line is 198 bytes long; the INI parser reads at most 197");
	ck_assert_ptr_null(value_of(&r, HC_SOURCE, "in", "stream"));
	run_free(&r);
}
END_TEST

/* ---- errors -------------------------------------------------------------- */

START_TEST(test_syntax_errors)
{
	setenv("HLB_TEST_SET", "x", 1);
	unsetenv("HLB_TEST_UNSET");
	check_fixture("syntax.ini");
	unsetenv("HLB_TEST_SET");
}
END_TEST

START_TEST(test_plugin_errors)
{
	check_fixture("plugins.ini");
}
END_TEST

START_TEST(test_route_errors)
{
	check_fixture("routes.ini");
}
END_TEST

START_TEST(test_no_routes)
{
	struct run r;

	run_build(&r, "[source:in]\nplugin = jsonl\npath = in.jsonl\n");
	expect_counts(&r.diag, 1, 1);
	expect_error(&r, 0, "no [route:NAME] section: nothing would run");
	expect_warning(&r, 1, "[source:in] is not used by any route");
	run_free(&r);

	run_build(&r, "");
	expect_counts(&r.diag, 1, 0);
	expect_error(&r, 0, "no [route:NAME] section");
	run_free(&r);
}
END_TEST

START_TEST(test_unused_is_warning)
{
	struct run r;

	run_build(&r, PIPE "[transform:spare]\nplugin = map\n");
	expect_counts(&r.diag, 0, 1);
	expect_warning(&r, 10, "[transform:spare] is not used by any route");
	run_free(&r);
}
END_TEST

START_TEST(test_cycle_each_way)
{
	/* whichever route comes first, the cycle is reported once, and a
	 * route that only reads from the cycle is not blamed for it */
	static const char *const texts[] = {
		"[route:a]\nfrom = route:b\n[route:b]\nfrom = route:a\nto = out\n"
		"[route:c]\nfrom = route:a\nto = out\n" PIPE,
		"[route:c]\nfrom = route:a\nto = out\n"
		"[route:a]\nfrom = route:b\n[route:b]\nfrom = route:a\nto = out\n" PIPE,
	};
	static const unsigned line[] = { 2, 5 };

	for (size_t i = 0; i < 2; i++) {
		struct run r;

		run_build(&r, texts[i]);
		expect_counts(&r.diag, 1, 0);
		expect_error(&r, line[i], "[route:a] from: the routes chained through");
		run_free(&r);
	}
}
END_TEST

START_TEST(test_empty_to)
{
	struct run r;

	run_build(&r, PIPE "[route:nowhere]\nfrom = in\nto = ,\n");
	expect_counts(&r.diag, 1, 0);
	expect_error(&r, 12, "[route:nowhere] to: names no sink");
	run_free(&r);
}
END_TEST

START_TEST(test_error_resync)
{
	/* after a refused line, indented lines are not taken for the
	 * continuation of an earlier value, and a refused key's continuation
	 * goes nowhere */
	static const char text[] =
		"[source:in]\n"
		"plugin = jsonl\n"
		"this is no option\n"
		"  path = in.jsonl\n"
		"[sink:out]\n"
		"path = out.jsonl\n"
		"plugin = jsonl\n"
		"plugin = again\n"
		"  more\n"
		"this neither\n"
		"  [route:r]\n"
		"from = in\n"
		"to = out\n";
	struct run r;

	run_build(&r, text);
	expect_counts(&r.diag, 3, 0);
	expect_error(&r, 3, "expected 'key = value', a [section] or a comment");
	expect_error(&r, 8, "[sink:out] 'plugin' is set twice (first on line 7)");
	expect_error(&r, 10, "expected 'key = value', a [section] or a comment");
	ck_assert_str_eq(value_of(&r, HC_SOURCE, "in", "plugin"), "jsonl");
	ck_assert_str_eq(value_of(&r, HC_SOURCE, "in", "path"), "in.jsonl");
	ck_assert_str_eq(value_of(&r, HC_SINK, "out", "plugin"), "jsonl");
	ck_assert_str_eq(value_of(&r, HC_ROUTE, "r", "from"), "in");
	ck_assert_uint_eq(hc_config_find(r.cfg, HC_ROUTE, "r")->nkv, 2);
	run_free(&r);
}
END_TEST

START_TEST(test_inline_comment_key)
{
	/* "key ; = x": the ';' starts a comment, so there is no '=' */
	struct run r;

	run_parse(&r, "[service]\nlog_level ; = debug\n");
	expect_counts(&r.diag, 1, 0);
	expect_error(&r, 2, "expected 'key = value', a [section] or a comment");
	ck_assert_ptr_null(value_of(&r, HC_SERVICE, NULL, "log_level"));
	run_free(&r);
}
END_TEST

START_TEST(test_unknown_key_hints)
{
	struct run r;

	run_build(&r, "[service]\nworkers = 4\n" PIPE "[route:r2]\nfrom = in\nto = out\npriority = 1\n");
	expect_counts(&r.diag, 2, 0);
	expect_error(&r, 2, "[service] unknown option 'workers' for [service] "
		     "(known: plugin_dir, log_level, drain_timeout, state_dir, listen, listen_connections, "
		     "listen_timeout, webhook_max_body, ghl_webhook_key, ghl_webhook_legacy, ghl_webhook_rsa_key, "
		     "webhook_window, webhook_queue_limit, octorate_webhook_secret, health_failing_after)");
	expect_error(&r, 15, "[route:r2] unknown option 'priority' for routes (known: from, via, to)");
	run_free(&r);
}
END_TEST

START_TEST(test_load_missing_file)
{
	hc_diag d = { 0 };

	ck_assert_ptr_null(hc_config_load("/nonexistent/hlbridge.ini", &d));
	ck_assert_uint_eq(d.errors, 1);
	ck_assert_str_eq(d.msg[0], "/nonexistent/hlbridge.ini: error: cannot open the configuration: "
			 "No such file or directory");
	hc_diag_clear(&d);
}
END_TEST

/* ---- ${VAR} expansion ---------------------------------------------------- */

START_TEST(test_expand_env)
{
	static const struct {
		const char *in, *out;
	} good[] = {
		{ "", "" },
		{ "plain text", "plain text" },
		{ "${HLB_T_A}", "alpha" },
		{ "<${HLB_T_A}|${HLB_T_B}>", "<alpha|beta>" },
		{ "${HLB_T_UNSET:-dflt}", "dflt" },
		{ "${HLB_T_UNSET:-}", "" },
		{ "${HLB_T_UNSET:-a b:c}", "a b:c" },
		{ "${HLB_T_EMPTY:-dflt}", "dflt" },
		{ "${HLB_T_A:-dflt}", "alpha" },
		{ "$${HLB_T_A}", "${HLB_T_A}" },
		{ "$${", "${" },
		{ "$HLB_T_A $ $$ {x}", "$HLB_T_A $ $$ {x}" },
		{ "${_u}", "under" },
	};
	static const struct {
		const char *in, *err;
	} bad[] = {
		{ "${HLB_T_UNSET}", "environment variable HLB_T_UNSET is not set or empty "
				    "(set it, or write ${HLB_T_UNSET:-default})" },
		{ "a ${HLB_T_A} ${HLB_T_UNSET} b", "environment variable HLB_T_UNSET is not set" },
		{ "${HLB_T_A", "unterminated '${HLB_T_A' (expected ${NAME} or ${NAME:-default})" },
		{ "${HLB_T_A:-x", "unterminated '${HLB_T_A'" },
		{ "${", "bad variable reference '${'" },
		{ "${}", "bad variable reference '${'" },
		{ "${1A}", "bad variable reference '${'" },
		{ "${-x}", "bad variable reference '${'" },
	};
	char err[256], longname[200];

	setenv("HLB_T_A", "alpha", 1);
	setenv("HLB_T_B", "beta", 1);
	setenv("HLB_T_EMPTY", "", 1);
	setenv("_u", "under", 1);
	unsetenv("HLB_T_UNSET");
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char *out = hc_expand_env(good[i].in, err, sizeof(err));

		ck_assert_msg(out != NULL, "%s: %s", good[i].in, err);
		ck_assert_msg(strcmp(out, good[i].out) == 0, "%s: \"%s\", expected \"%s\"",
			      good[i].in, out, good[i].out);
		free(out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strcpy(err, "untouched");
		ck_assert_msg(hc_expand_env(bad[i].in, err, sizeof(err)) == NULL, "%s accepted", bad[i].in);
		ck_assert_msg(strstr(err, bad[i].err) != NULL, "%s: \"%s\" lacks \"%s\"",
			      bad[i].in, err, bad[i].err);
	}
	longname[0] = '$';
	longname[1] = '{';
	memset(longname + 2, 'N', 150);
	strcpy(longname + 152, "}");
	ck_assert_ptr_null(hc_expand_env(longname, err, sizeof(err)));
	ck_assert_str_eq(err, "variable name too long");
	unsetenv("HLB_T_A");
	unsetenv("HLB_T_B");
	unsetenv("HLB_T_EMPTY");
	unsetenv("_u");
}
END_TEST

/* ---- option values ------------------------------------------------------- */

START_TEST(test_duration)
{
	static const struct {
		const char *in;
		int64_t ms;
	} good[] = {
		{ "250ms", 250 }, { "30s", 30000 }, { "5m", 300000 }, { "2h", 7200000 },
		{ "1d", 86400000 }, { "10", 10000 }, { "0", 0 }, { "0s", 0 }, { "1.5s", 1500 },
		{ "4.35m", 261000 }, { "1.005s", 1005 }, { "0.5", 500 }, { "1.25m", 75000 }, { "1.5ms", 1 },
		{ "100000d", 8640000000000 },
	};
	static const char *const bad[] = {
		"", "-1", "-1s", "5x", "s", "ms", "5 s", " 5s", "5s ", "+5", "5S", "5sec", "1e3",
		"0x10", "inf", "nan", ".5s", "5.s", "1.2.3s", "200000000000d", "99999999999999999999",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int64_t ms = -1;

		ck_assert_msg(hc_parse_duration_ms(good[i].in, &ms) == 0, "\"%s\" refused", good[i].in);
		ck_assert_msg(ms == good[i].ms, "\"%s\": %lld, expected %lld", good[i].in,
			      (long long)ms, (long long)good[i].ms);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t ms = 0;

		ck_assert_msg(hc_parse_duration_ms(bad[i], &ms) < 0, "\"%s\" accepted as %lld", bad[i],
			      (long long)ms);
	}
}
END_TEST

START_TEST(test_bool)
{
	static const char *const yes[] = { "1", "on", "yes", "true", "TRUE", "Yes", "On" };
	static const char *const no[] = { "0", "off", "no", "false", "FALSE", "No", "OFF" };
	static const char *const bad[] = { "", "2", "maybe", "y", "n", "onn", "true ", "01" };
	int b;

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		b = -1;
		ck_assert_msg(hc_parse_bool(yes[i], &b) == 0 && b == 1, "\"%s\"", yes[i]);
		b = -1;
		ck_assert_msg(hc_parse_bool(no[i], &b) == 0 && b == 0, "\"%s\"", no[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(hc_parse_bool(bad[i], &b) < 0, "\"%s\" accepted", bad[i]);
}
END_TEST

START_TEST(test_int)
{
	static const struct {
		const char *in;
		int64_t v;
	} good[] = {
		{ "0", 0 }, { "42", 42 }, { "-7", -7 },
		{ "9223372036854775807", INT64_MAX }, { "-9223372036854775808", INT64_MIN },
	};
	static const char *const bad[] = {
		"", "abc", "12a", "1.5", "0x", "9223372036854775808", "-9223372036854775809",
		"99999999999999999999999",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int64_t v = 1;

		ck_assert_msg(hc_parse_int(good[i].in, &v) == 0, "\"%s\" refused", good[i].in);
		ck_assert_msg(v == good[i].v, "\"%s\": %lld", good[i].in, (long long)v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t v = 0;

		ck_assert_msg(hc_parse_int(bad[i], &v) < 0, "\"%s\" accepted as %lld", bad[i], (long long)v);
	}
}
END_TEST

static void count_item(const char *item, size_t len, void *arg)
{
	char *out = arg;

	strncat(out, item, len);
	strcat(out, "|");
}

START_TEST(test_list)
{
	char out[64] = "";

	ck_assert_uint_eq(hc_list_each(" a, bb ,,\tc , ", count_item, out), 3);
	ck_assert_str_eq(out, "a|bb|c|");
	ck_assert_uint_eq(hc_list_each("", NULL, NULL), 0);
	ck_assert_uint_eq(hc_list_each(" , ,", NULL, NULL), 0);
}
END_TEST

START_TEST(test_check_value)
{
	static const hlb_option e = { "mode", HLB_OPT_ENUM, NULL, 0, NULL, "a|bb|c" };
	static const hlb_option p = { "path", HLB_OPT_PATH, NULL, 0, NULL, NULL };
	static const hlb_option j = { "key", HLB_OPT_JSONPATH, NULL, 0, NULL, NULL };
	char err[128];

	ck_assert_int_eq(hc_check_value(&e, "bb", err, sizeof(err)), 0);
	ck_assert_int_eq(hc_check_value(&e, "c", err, sizeof(err)), 0);
	ck_assert_int_lt(hc_check_value(&e, "b", err, sizeof(err)), 0);
	ck_assert_str_eq(err, "expected one of a|bb|c");
	ck_assert_int_lt(hc_check_value(&e, "a|bb", err, sizeof(err)), 0);
	ck_assert_int_lt(hc_check_value(&e, "", err, sizeof(err)), 0);
	ck_assert_int_eq(hc_check_value(&p, "-", err, sizeof(err)), 0);
	ck_assert_int_lt(hc_check_value(&p, "", err, sizeof(err)), 0);
	ck_assert_str_eq(err, "expected a file name");
	ck_assert_int_lt(hc_check_value(&j, "", err, sizeof(err)), 0);
	ck_assert_str_eq(err, "expected a $.path");
}
END_TEST

static Suite *test_suite(void)
{
	Suite *s = suite_create("config");
	TCase *good = tcase_create("valid");
	TCase *bad = tcase_create("errors");
	TCase *env = tcase_create("expansion");
	TCase *val = tcase_create("values");

	tcase_add_test(good, test_full_valid);
	tcase_add_test(good, test_route_chain);
	tcase_add_test(good, test_env_expansion);
	tcase_add_test(good, test_continuation);
	tcase_add_test(good, test_continuation_long_key);
	tcase_add_test(good, test_comments_and_bom);
	tcase_add_test(good, test_longest_line);
	suite_add_tcase(s, good);
	tcase_add_test(bad, test_syntax_errors);
	tcase_add_test(bad, test_plugin_errors);
	tcase_add_test(bad, test_route_errors);
	tcase_add_test(bad, test_no_routes);
	tcase_add_test(bad, test_unused_is_warning);
	tcase_add_test(bad, test_cycle_each_way);
	tcase_add_test(bad, test_empty_to);
	tcase_add_test(bad, test_error_resync);
	tcase_add_test(bad, test_inline_comment_key);
	tcase_add_test(bad, test_unknown_key_hints);
	tcase_add_test(bad, test_load_missing_file);
	suite_add_tcase(s, bad);
	tcase_add_test(env, test_expand_env);
	suite_add_tcase(s, env);
	tcase_add_test(val, test_duration);
	tcase_add_test(val, test_bool);
	tcase_add_test(val, test_int);
	tcase_add_test(val, test_list);
	tcase_add_test(val, test_check_value);
	suite_add_tcase(s, val);
	return s;
}
