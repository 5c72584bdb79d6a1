/* Unit tests of plugin loading (core/loader.c): the real plugins load with
 * their descriptors, and every bad module (other ABI, wrong name, no
 * descriptor, not a module, world-writable) is refused with one line that
 * names the file and says what to do. */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include "check_main.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>

#include <ltdl.h>

#include "loader.h"

static hc_loader L;
static char err[2048];

static void setup(void)
{
	ck_assert_int_eq(hc_loader_init(&L), 0);
	strcpy(err, "untouched");
}

static void teardown(void)
{
	hc_loader_fini(&L);
}

static const char *env_dir(const char *var)
{
	const char *v = getenv(var);

	ck_assert_msg(v && *v, "%s is not set: run the test through make check", var);
	return v;
}

static void add_dir(const char *dir)
{
	ck_assert_int_eq(hc_loader_add_dir(&L, dir), 0);
}

static const hc_module *get_ok(const char *name)
{
	const hc_module *m = hc_loader_get(&L, name, err, sizeof(err));

	ck_assert_msg(m != NULL, "%s: %s", name, err);
	return m;
}

/* Loading `name` must fail with a message containing each of the parts
 * (a list ending with NULL). */
static void get_bad(const char *name, const char *const *parts)
{
	ck_assert_msg(hc_loader_get(&L, name, err, sizeof(err)) == NULL, "%s was loaded", name);
	for (size_t i = 0; parts[i]; i++)
		ck_assert_msg(strstr(err, parts[i]) != NULL, "%s: \"%s\" lacks \"%s\"", name, err, parts[i]);
	ck_assert_msg(strchr(err, '\n') == NULL, "%s: not one line: \"%s\"", name, err);
}

#define PARTS(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* ---- temporary plugin directories --------------------------------------- */

/* Each test case works under one directory that the parent process makes
 * and removes (unchecked fixture), so nothing is left behind even when a
 * test fails in its child process. */
static char base[64];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void base_make(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(base, sizeof(base), "%s/hlbtest-loader.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(base));
}

static void base_remove(void)
{
	ck_assert_int_eq(nftw(base, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

struct tmpdir {
	char path[128];
};

static void tmp_make(struct tmpdir *t)
{
	snprintf(t->path, sizeof(t->path), "%s/d.XXXXXX", base);
	ck_assert_ptr_nonnull(mkdtemp(t->path));
}

static const char *tmp_file(struct tmpdir *t, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", t->path, name);
	return buf;
}

/* Writes `size` bytes from `data` into DIR/name, with mode 0644. */
static void tmp_write(struct tmpdir *t, const char *name, const void *data, size_t size)
{
	char path[4096];
	FILE *f;

	f = fopen(tmp_file(t, name, path, sizeof(path)), "wb");
	ck_assert_msg(f != NULL, "cannot create %s", path);
	ck_assert_uint_eq(fwrite(data, 1, size, f), size);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, 0644), 0);
}

static void tmp_copy(struct tmpdir *t, const char *from, const char *name)
{
	FILE *f = fopen(from, "rb");
	static char buf[4 << 20];
	size_t n;

	ck_assert_msg(f != NULL, "cannot open %s", from);
	n = fread(buf, 1, sizeof(buf), f);
	ck_assert_int_eq(feof(f), 1);
	fclose(f);
	tmp_write(t, name, buf, n);
}

/* ---- good plugins ------------------------------------------------------- */

static void check_plugin(const char *name, uint32_t caps)
{
	const hc_module *m = get_ok(name);
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s.so", env_dir("PLUGIN_DIR"), name);
	ck_assert_str_eq(m->name, name);
	ck_assert_str_eq(m->path, path);
	ck_assert_ptr_nonnull(m->handle);
	ck_assert_uint_eq(m->desc->abi_major, HLB_ABI_MAJOR);
	ck_assert_uint_eq(m->desc->abi_minor, HLB_ABI_MINOR);
	ck_assert_uint_eq(m->desc->size, sizeof(hlb_plugin));
	ck_assert_str_eq(m->desc->name, name);
	ck_assert_str_eq(m->desc->version, PACKAGE_VERSION);
	ck_assert_uint_eq(m->desc->caps, caps);
	ck_assert_ptr_nonnull(m->desc->summary);
	ck_assert_ptr_nonnull(m->desc->options);
	ck_assert_ptr_nonnull(m->desc->init);
	ck_assert_ptr_nonnull(m->desc->fini);
}

START_TEST(test_load_plugins)
{
	const hc_module *m;

	add_dir(env_dir("PLUGIN_DIR"));
	check_plugin("jsonl", HLB_CAP_SOURCE | HLB_CAP_SINK);
	check_plugin("map", HLB_CAP_TRANSFORM);
	check_plugin("filter", HLB_CAP_TRANSFORM);
	ck_assert_uint_eq(L.nmods, 3);
	m = get_ok("jsonl");
	ck_assert_ptr_nonnull(m->desc->poll);
	ck_assert_ptr_nonnull(m->desc->deliver);
	ck_assert_str_eq(m->desc->options[0].key, "path");
	ck_assert_uint_eq(m->desc->options[0].flags & HLB_OPT_REQUIRED, HLB_OPT_REQUIRED);
	ck_assert_ptr_nonnull(get_ok("map")->desc->process);
}
END_TEST

START_TEST(test_load_once)
{
	const hc_module *a, *b;

	add_dir(env_dir("PLUGIN_DIR"));
	add_dir(env_dir("TEST_PLUGIN_DIR"));
	a = get_ok("map");
	ck_assert_ptr_eq(get_ok("probe"), get_ok("probe"));
	b = get_ok("map");
	ck_assert_ptr_eq(a, b);
	ck_assert_ptr_eq(a->handle, b->handle);
	ck_assert_uint_eq(L.nmods, 2);
	ck_assert_uint_eq(get_ok("probe")->desc->caps, HLB_CAP_SOURCE | HLB_CAP_TRANSFORM | HLB_CAP_SINK | HLB_CAP_AUTH |
			  HLB_CAP_RESULTS);
}
END_TEST

START_TEST(test_first_dir_wins)
{
	struct tmpdir t;
	char path[4096], so[4096];

	tmp_make(&t);
	snprintf(so, sizeof(so), "%s/filter.so", env_dir("PLUGIN_DIR"));
	tmp_copy(&t, so, "filter.so");
	add_dir(t.path);
	add_dir(env_dir("PLUGIN_DIR"));
	ck_assert_str_eq(get_ok("filter")->path, tmp_file(&t, "filter.so", path, sizeof(path)));
}
END_TEST

START_TEST(test_caps_text)
{
	char buf[64];

	hc_caps_text(HLB_CAP_SOURCE | HLB_CAP_SINK, buf, sizeof(buf));
	ck_assert_str_eq(buf, "source, sink");
	hc_caps_text(HLB_CAP_TRANSFORM, buf, sizeof(buf));
	ck_assert_str_eq(buf, "transform");
	hc_caps_text(HLB_CAP_SOURCE | HLB_CAP_TRANSFORM | HLB_CAP_SINK, buf, sizeof(buf));
	ck_assert_str_eq(buf, "source, transform, sink");
	hc_caps_text(HLB_CAP_TRANSFORM | HLB_CAP_SINK, buf, sizeof(buf));
	ck_assert_str_eq(buf, "transform, sink");
	hc_caps_text(HLB_CAP_SOURCE | HLB_CAP_AUTH, buf, sizeof(buf));
	ck_assert_str_eq(buf, "source, auth");
}
END_TEST

/* ---- bad modules --------------------------------------------------------- */

static const char *test_module(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s.so: ", env_dir("TEST_PLUGIN_DIR"), name);
	return buf;
}

START_TEST(test_abi_major)
{
	char file[4096], theirs[64], ours[64];

	add_dir(env_dir("TEST_PLUGIN_DIR"));
	snprintf(theirs, sizeof(theirs), "plugin ABI %d.0,", HLB_ABI_MAJOR + 1);
	snprintf(ours, sizeof(ours), "this hlbridge has ABI %d.%d", HLB_ABI_MAJOR, HLB_ABI_MINOR);
	get_bad("abi_major", PARTS(test_module("abi_major", file, sizeof(file)), theirs, ours,
				   "rebuild the plugin"));
	ck_assert_msg(strncmp(err, file, strlen(file)) == 0, "\"%s\" does not start with the file", err);
	ck_assert_uint_eq(L.nmods, 0);
}
END_TEST

START_TEST(test_abi_minor)
{
	char file[4096], theirs[64], ours[64];

	add_dir(env_dir("TEST_PLUGIN_DIR"));
	snprintf(theirs, sizeof(theirs), "plugin ABI %d.%d is newer", HLB_ABI_MAJOR, HLB_ABI_MINOR + 1);
	snprintf(ours, sizeof(ours), "ABI %d.%d", HLB_ABI_MAJOR, HLB_ABI_MINOR);
	get_bad("abi_minor", PARTS(test_module("abi_minor", file, sizeof(file)), theirs, ours,
				   "upgrade hlbridge"));
	ck_assert_uint_eq(L.nmods, 0);
}
END_TEST

START_TEST(test_wrong_name)
{
	char file[4096];

	add_dir(env_dir("TEST_PLUGIN_DIR"));
	get_bad("wrong_name", PARTS(test_module("wrong_name", file, sizeof(file)),
				    "descriptor names the plugin 'other', but the file is 'wrong_name'"));
	ck_assert_uint_eq(L.nmods, 0);
}
END_TEST

START_TEST(test_no_descriptor)
{
	char file[4096];

	add_dir(env_dir("TEST_PLUGIN_DIR"));
	get_bad("no_descriptor", PARTS(test_module("no_descriptor", file, sizeof(file)),
				       "no plugin descriptor",
				       "expected the symbol no_descriptor_LTX_hlb_plugin",
				       "HLB_PLUGIN_EXPORT(no_descriptor)"));
	ck_assert_uint_eq(L.nmods, 0);
}
END_TEST

START_TEST(test_not_a_module)
{
	static const char junk[] = "this is a text file, not a shared object\n";
	struct tmpdir t;
	char path[4096], want[4200];

	tmp_make(&t);
	tmp_write(&t, "junk.so", junk, sizeof(junk) - 1);
	add_dir(t.path);
	snprintf(want, sizeof(want), "%s: not a loadable plugin module",
		 tmp_file(&t, "junk.so", path, sizeof(path)));
	get_bad("junk", PARTS(want));
	ck_assert_uint_eq(L.nmods, 0);
}
END_TEST

START_TEST(test_unknown_plugin)
{
	char want[4200];

	get_bad("nosuch", PARTS("unknown plugin 'nosuch': no plugin directory is set"));

	add_dir(env_dir("PLUGIN_DIR"));
	snprintf(want, sizeof(want), "unknown plugin 'nosuch': no nosuch.so in %s (",
		 env_dir("PLUGIN_DIR"));
	get_bad("nosuch", PARTS(want));

	add_dir(env_dir("TEST_PLUGIN_DIR"));
	snprintf(want, sizeof(want), "in %s or the other plugin directories", env_dir("PLUGIN_DIR"));
	get_bad("nosuch", PARTS(want));
	ck_assert_uint_eq(L.nmods, 0);
}
END_TEST

START_TEST(test_invalid_names)
{
	static const char *const names[] = {
		"../x", "Map", "", "a/b", "map.so", "map-2", " map", "/tmp/map", NULL
	};
	char want[256], longest[66];

	add_dir(env_dir("PLUGIN_DIR"));
	memset(longest, 'a', 65);
	longest[65] = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *name = names[i] ? names[i] : longest;

		snprintf(want, sizeof(want), "'%s' is not a plugin name (lowercase letters, digits and '_')",
			 name);
		get_bad(name, PARTS(want));
	}
	ck_assert_uint_eq(L.nmods, 0);
	/* 64 bytes is still a name */
	longest[64] = 0;
	snprintf(want, sizeof(want), "unknown plugin '%s'", longest);
	get_bad(longest, PARTS(want));
}
END_TEST

START_TEST(test_world_writable)
{
	struct tmpdir t;
	char so[4096], file[4096], want[8400];
	const hc_module *m;

	tmp_make(&t);
	snprintf(so, sizeof(so), "%s/jsonl.so", env_dir("PLUGIN_DIR"));
	tmp_copy(&t, so, "jsonl.so");
	tmp_file(&t, "jsonl.so", file, sizeof(file));
	add_dir(t.path);

	ck_assert_int_eq(chmod(t.path, 0777), 0);
	snprintf(want, sizeof(want), "%s: refusing to load plugins from a world-writable directory "
		 "(chmod o-w '%s')", t.path, t.path);
	get_bad("jsonl", PARTS(want));

	ck_assert_int_eq(chmod(t.path, 0755), 0);
	ck_assert_int_eq(chmod(file, 0666), 0);
	snprintf(want, sizeof(want), "%s: refusing to load plugins from a world-writable file "
		 "(chmod o-w '%s')", file, file);
	get_bad("jsonl", PARTS(want));
	ck_assert_uint_eq(L.nmods, 0);

	/* group-writable is the owner's business */
	ck_assert_int_eq(chmod(file, 0664), 0);
	m = get_ok("jsonl");
	ck_assert_str_eq(m->path, file);
	ck_assert_str_eq(m->desc->name, "jsonl");
}
END_TEST

START_TEST(test_check_file)
{
	char path[4096];
	const hlb_plugin *d = NULL;
	void *h = NULL;

	snprintf(path, sizeof(path), "%s/map.so", env_dir("PLUGIN_DIR"));
	ck_assert_int_eq(hc_loader_check_file(path, "map", err, sizeof(err), &d, &h), 0);
	ck_assert_ptr_nonnull(h);
	ck_assert_str_eq(d->name, "map");
	ck_assert_int_eq(lt_dlclose(h), 0);
}
END_TEST

/* ---- listing -------------------------------------------------------------- */

static int listed(char **names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return 1;
	return 0;
}

START_TEST(test_names_exact)
{
	struct tmpdir a, b;
	char **names;
	size_t n;

	tmp_make(&a);
	tmp_make(&b);
	tmp_write(&a, "beta.so", "", 0);
	tmp_write(&a, "alpha.la", "", 0);
	tmp_write(&a, "alpha.so", "", 0);
	tmp_write(&a, "Upper.so", "", 0);
	tmp_write(&a, "notes.txt", "", 0);
	tmp_write(&a, "gamma.lai", "", 0);
	tmp_write(&a, ".so", "", 0);
	tmp_write(&b, "alpha.so", "", 0);
	tmp_write(&b, "delta.so", "", 0);
	tmp_write(&b, "2nd.so", "", 0);
	add_dir(a.path);
	add_dir(b.path);
	add_dir("/nonexistent/plugins");
	names = hc_loader_names(&L, &n);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(names[0], "2nd");
	ck_assert_str_eq(names[1], "alpha");
	ck_assert_str_eq(names[2], "beta");
	ck_assert_str_eq(names[3], "delta");
	hc_loader_free_names(names, n);
}
END_TEST

START_TEST(test_names_real)
{
	static const char *const want[] = {
		"abi_major", "abi_minor", "filter", "jsonl", "map", "no_descriptor", "probe", "undefined_symbol",
		"wrong_name"
	};
	char **names;
	size_t n;

	add_dir(env_dir("PLUGIN_DIR"));
	add_dir(env_dir("TEST_PLUGIN_DIR"));
	add_dir(env_dir("PLUGIN_DIR"));
	names = hc_loader_names(&L, &n);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_msg(listed(names, n, want[i]), "%s not listed", want[i]);
	for (size_t i = 1; i < n; i++)
		ck_assert_msg(strcmp(names[i - 1], names[i]) < 0, "not sorted or repeated: %s, %s",
			      names[i - 1], names[i]);
	hc_loader_free_names(names, n);

	/* listing loads nothing */
	ck_assert_uint_eq(L.nmods, 0);
}
END_TEST

START_TEST(test_names_empty)
{
	char **names;
	size_t n = 99;

	names = hc_loader_names(&L, &n);
	ck_assert_uint_eq(n, 0);
	hc_loader_free_names(names, n);
}
END_TEST

static Suite *test_suite(void)
{
	Suite *s = suite_create("loader");
	TCase *good = tcase_create("load");
	TCase *bad = tcase_create("refuse");
	TCase *list = tcase_create("names");

	tcase_add_unchecked_fixture(good, base_make, base_remove);
	tcase_add_checked_fixture(good, setup, teardown);
	tcase_add_test(good, test_load_plugins);
	tcase_add_test(good, test_load_once);
	tcase_add_test(good, test_first_dir_wins);
	tcase_add_test(good, test_caps_text);
	tcase_add_test(good, test_check_file);
	suite_add_tcase(s, good);
	tcase_add_unchecked_fixture(bad, base_make, base_remove);
	tcase_add_checked_fixture(bad, setup, teardown);
	tcase_add_test(bad, test_abi_major);
	tcase_add_test(bad, test_abi_minor);
	tcase_add_test(bad, test_wrong_name);
	tcase_add_test(bad, test_no_descriptor);
	tcase_add_test(bad, test_not_a_module);
	tcase_add_test(bad, test_unknown_plugin);
	tcase_add_test(bad, test_invalid_names);
	tcase_add_test(bad, test_world_writable);
	suite_add_tcase(s, bad);
	tcase_add_unchecked_fixture(list, base_make, base_remove);
	tcase_add_checked_fixture(list, setup, teardown);
	tcase_add_test(list, test_names_exact);
	tcase_add_test(list, test_names_real);
	tcase_add_test(list, test_names_empty);
	suite_add_tcase(s, list);
	return s;
}
