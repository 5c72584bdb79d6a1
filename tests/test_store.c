/* The SQLite state store: files and modes, refusals, the queue, the
 * dead-letter queue and plugin state. */
#include "check_main.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <sqlite3.h>

#include "durable.h"
#include "graph.h"
#include "record.h"
#include "store.h"

static char dir[64];
static char err[1024];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/hlb-store-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static char *path_in(const char *name)
{
	static char p[256];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

static hc_store *open_ok(const char *d)
{
	hc_store *s = NULL;

	ck_assert_msg(hc_store_open(d, &s, err, sizeof(err)) == 0, "open %s: %s", d, err);
	return s;
}

static void open_fails(const char *d, const char *want)
{
	hc_store *s = NULL;

	ck_assert_int_eq(hc_store_open(d, &s, err, sizeof(err)), -1);
	ck_assert_ptr_null(s);
	ck_assert_msg(strstr(err, want) != NULL, "error '%s' lacks '%s'", err, want);
}

static hlb_record *rec(const char *key, int n)
{
	struct json_object *body = json_object_new_object();

	json_object_object_add(body, "n", json_object_new_int(n));
	return hc_record_new("s", key, HLB_OP_UPSERT, 1000 + n, body);
}

START_TEST(test_creates_private_files)
{
	char sub[256];
	struct stat st;
	hc_store *s;

	snprintf(sub, sizeof(sub), "%s", path_in("a/b/state"));
	s = open_ok(sub);

	ck_assert_int_eq(stat(sub, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	ck_assert_int_eq(stat(path_in("a/b/state/hlbridge.db"), &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	hc_store_close(s);
	/* a widened mode is narrowed again */
	ck_assert_int_eq(chmod(path_in("a/b/state/hlbridge.db"), 0644), 0);
	s = open_ok(sub);
	ck_assert_int_eq(stat(path_in("a/b/state/hlbridge.db"), &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	hc_store_close(s);
}
END_TEST

START_TEST(test_refusals)
{
	sqlite3 *db;
	int fd;

	/* the state dir is a file */
	fd = open(path_in("file"), O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	open_fails(path_in("file"), "not a directory");
	/* not a database at all */
	ck_assert_int_eq(mkdir(path_in("junk"), 0700), 0);
	fd = open(path_in("junk/hlbridge.db"), O_WRONLY | O_CREAT, 0600);
	ck_assert_int_eq(write(fd, "this is not a database, it is a text file of some length\n", 58), 58);
	close(fd);
	open_fails(path_in("junk"), "hlbridge.db");
	/* someone else's database */
	ck_assert_int_eq(mkdir(path_in("other"), 0700), 0);
	ck_assert_int_eq(sqlite3_open(path_in("other/hlbridge.db"), &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "CREATE TABLE t (x)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	open_fails(path_in("other"), "not hlbridge's");
	/* written by a newer hlbridge */
	hc_store_close(open_ok(path_in("newer")));
	ck_assert_int_eq(sqlite3_open(path_in("newer/hlbridge.db"), &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	open_fails(path_in("newer"), "newer hlbridge (schema 99");
	/* a damaged database is reported, never reset */
	{
		hc_store *s = open_ok(path_in("damaged"));
		char big[600];

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = 0;
		ck_assert_int_eq(hc_store_begin(s), 0);
		for (int i = 0; i < 200; i++) {
			char k[16];

			snprintf(k, sizeof(k), "k%d", i);
			ck_assert_int_eq(hc_store_state_put(s, "src", k, big), 0);
		}
		ck_assert_int_eq(hc_store_commit(s), 0);
		hc_store_close(s);
		fd = open(path_in("damaged/hlbridge.db"), O_WRONLY);
		ck_assert_int_ge(fd, 0);
		for (off_t off = 4096; off < 40960; off += 4096)
			ck_assert_int_eq(pwrite(fd, big, 512, off), 512);
		close(fd);
		open_fails(path_in("damaged"), "hlbridge.db");
		struct stat st;
		ck_assert_int_eq(stat(path_in("damaged/hlbridge.db"), &st), 0);
		ck_assert_int_gt(st.st_size, 40960);
	}
}
END_TEST

struct loaded {
	int64_t ids[16];
	char keys[16][16];
	unsigned attempts[16];
	int64_t due[16];
	int n;
};

static void on_row(const hc_qrow *row, void *arg)
{
	struct loaded *l = arg;

	l->ids[l->n] = row->id;
	snprintf(l->keys[l->n], sizeof(l->keys[0]), "%s", row->rec->key);
	l->attempts[l->n] = row->attempts;
	l->due[l->n] = row->due_ms;
	l->n++;
	hc_record_free(row->rec);
}

START_TEST(test_queue)
{
	hc_store *s = open_ok(dir);
	hlb_record *a = rec("a", 1), *b = rec("b", 2), *a2 = rec("a", 3);
	int64_t ia, ib, pending, retrying, dead;
	struct loaded l = { .n = 0 };

	ia = hc_store_enqueue(s, "out", a);
	ib = hc_store_enqueue(s, "out", b);
	ck_assert_int_gt(ia, 0);
	ck_assert_int_gt(ib, ia);
	/* the same key again for the same sink is a re-read: ignored */
	ck_assert_int_eq(hc_store_enqueue(s, "out", a2), 0);
	/* another sink has its own queue */
	ck_assert_int_gt(hc_store_enqueue(s, "other", a2), 0);
	ck_assert_int_eq(hc_store_retry(s, ib, 2, 123456, 503, "busy"), 0);
	ck_assert_int_eq(hc_store_load(s, "out", 0, 10, on_row, &l), 2);
	ck_assert_str_eq(l.keys[0], "a");
	ck_assert_str_eq(l.keys[1], "b");
	ck_assert_uint_eq(l.attempts[1], 2);
	ck_assert_int_eq(l.due[1], 123456);
	/* paging: after the first id, with a limit */
	l.n = 0;
	ck_assert_int_eq(hc_store_load(s, "out", ia, 10, on_row, &l), 1);
	ck_assert_int_eq(l.ids[0], ib);
	l.n = 0;
	ck_assert_int_eq(hc_store_load(s, "out", 0, 1, on_row, &l), 1);
	ck_assert_int_eq(hc_store_counts(s, "out", &pending, &retrying, &dead), 0);
	ck_assert_int_eq(pending, 1);
	ck_assert_int_eq(retrying, 1);
	ck_assert_int_eq(dead, 0);
	ck_assert_int_eq(hc_store_ack(s, ia), 0);
	ck_assert_int_eq(hc_store_bury(s, ib, 3, 400, "bad request"), 0);
	ck_assert_int_eq(hc_store_counts(s, "out", &pending, &retrying, &dead), 0);
	ck_assert_int_eq(pending + retrying, 0);
	ck_assert_int_eq(dead, 1);
	/* once delivered, the key may come again */
	ck_assert_int_gt(hc_store_enqueue(s, "out", a2), 0);
	hc_record_free(a);
	hc_record_free(b);
	hc_record_free(a2);
	hc_store_close(s);
}
END_TEST

struct deads {
	int64_t ids[8];
	char sink[8][16], error[8][32];
	long status[8];
	unsigned attempts[8];
	int n;
};

static void on_dead(const hc_dead *d, void *arg)
{
	struct deads *x = arg;

	x->ids[x->n] = d->id;
	snprintf(x->sink[x->n], sizeof(x->sink[0]), "%s", d->sink);
	snprintf(x->error[x->n], sizeof(x->error[0]), "%s", d->error);
	x->status[x->n] = d->last_status;
	x->attempts[x->n] = d->attempts;
	x->n++;
}

START_TEST(test_dead_letters)
{
	hc_store *s = open_ok(dir);
	hlb_record *r[3] = { rec("x", 1), rec("y", 2), rec("z", 3) };
	struct deads d = { .n = 0 };
	struct loaded l = { .n = 0 };

	for (int i = 0; i < 3; i++) {
		int64_t id = hc_store_enqueue(s, i == 2 ? "two" : "one", r[i]);

		ck_assert_int_eq(hc_store_bury(s, id, 4, 500 + i, "gave up"), 0);
		hc_record_free(r[i]);
	}
	ck_assert_int_eq(hc_store_dead_each(s, NULL, on_dead, &d), 3);
	int64_t id_x = d.ids[0];
	ck_assert_str_eq(d.error[0], "gave up");
	ck_assert_int_eq(d.status[1], 501);
	ck_assert_uint_eq(d.attempts[2], 4);
	d.n = 0;
	ck_assert_int_eq(hc_store_dead_each(s, "two", on_dead, &d), 1);
	ck_assert_str_eq(d.sink[0], "two");
	d.n = 0;
	ck_assert_int_eq(hc_store_dead_get(s, 999, on_dead, &d), 0);
	/* replay one: back in its sink's queue, attempts reset */
	ck_assert_int_eq(hc_store_dead_replay(s, id_x, NULL), 1);
	ck_assert_int_eq(hc_store_load(s, "one", 0, 10, on_row, &l), 1);
	ck_assert_str_eq(l.keys[0], "x");
	ck_assert_uint_eq(l.attempts[0], 0);
	/* replay a sink, drop the rest */
	ck_assert_int_eq(hc_store_dead_replay(s, 0, "two"), 1);
	d.n = 0;
	ck_assert_int_eq(hc_store_dead_each(s, NULL, on_dead, &d), 1);
	ck_assert_int_eq(hc_store_dead_drop(s, d.ids[0]), 1);
	ck_assert_int_eq(hc_store_dead_drop(s, d.ids[0]), 0);
	d.n = 0;
	ck_assert_int_eq(hc_store_dead_each(s, NULL, on_dead, &d), 0);
	hc_store_close(s);
}
END_TEST

static void count_state(const char *instance, const char *key, const char *value, void *arg)
{
	(void)instance;
	(void)key;
	(void)value;
	(*(int *)arg)++;
}

START_TEST(test_state_and_transactions)
{
	hc_store *s = open_ok(dir);
	char *v;
	int n = 0;

	ck_assert_ptr_null(hc_store_state_get(s, "src", "pos"));
	ck_assert_int_eq(hc_store_state_put(s, "src", "pos", "{\"offset\":1}"), 0);
	/* a rolled-back transaction leaves nothing behind */
	ck_assert_int_eq(hc_store_begin(s), 0);
	ck_assert_int_eq(hc_store_state_put(s, "src", "pos", "{\"offset\":2}"), 0);
	hc_store_rollback(s);
	v = hc_store_state_get(s, "src", "pos");
	ck_assert_str_eq(v, "{\"offset\":1}");
	free(v);
	hc_store_close(s);
	/* and a committed one survives a reopen */
	s = open_ok(dir);
	ck_assert_int_eq(hc_store_begin(s), 0);
	ck_assert_int_eq(hc_store_state_put(s, "src", "pos", "{\"offset\":3}"), 0);
	ck_assert_int_eq(hc_store_state_put(s, "other", "k", "1"), 0);
	ck_assert_int_eq(hc_store_commit(s), 0);
	hc_store_close(s);
	s = open_ok(dir);
	v = hc_store_state_get(s, "src", "pos");
	ck_assert_str_eq(v, "{\"offset\":3}");
	free(v);
	ck_assert_int_eq(hc_store_state_each(s, count_state, &n), 0);
	ck_assert_int_eq(n, 2);
	hc_store_close(s);
}
END_TEST

START_TEST(test_memory)
{
	hc_store *s = open_ok(":memory:");
	hlb_record *r = rec("m", 1);

	ck_assert_int_gt(hc_store_enqueue(s, "out", r), 0);
	ck_assert_str_eq(hc_store_path(s), ":memory:");
	hc_record_free(r);
	hc_store_close(s);
	/* nothing was written to the working directory */
	ck_assert_int_ne(access(":memory:/hlbridge.db", F_OK), 0);
}
END_TEST

/* Links: the right side keeps one partner per system, the left side many;
 * a link put again is confirmed, not duplicated; both sides find it. */
static void link_line(const hc_link *l, void *arg)
{
	char *out = arg;
	size_t len = strlen(out);

	snprintf(out + len, 512 - len, "%s>%s%s%s;", l->left, l->right, l->info ? " " : "", l->info ? l->info : "");
}

static void echo_line(int64_t time_ms, const char *fields, void *arg)
{
	char *out = arg;
	size_t len = strlen(out);

	snprintf(out + len, 512 - len, "%lld %s;", (long long)time_ms, fields);
}

START_TEST(test_links_and_echo)
{
	hc_store *s = open_ok(dir);
	char out[512] = "";

	ck_assert_int_eq(hc_store_link_put(s, "in", "ghl:L:contact:A", "octorate:1:reservation:7", "{\"m\":1}", 10), 0);
	ck_assert_int_eq(hc_store_link_put(s, "in", "ghl:L:contact:A", "octorate:1:reservation:8", NULL, 11), 0);
	/* the same link again: confirmed, not doubled */
	ck_assert_int_eq(hc_store_link_put(s, "in", "ghl:L:contact:A", "octorate:1:reservation:7", "{\"m\":2}", 12), 0);
	ck_assert_int_eq(hc_store_link_each(s, "ghl:L:contact:A", link_line, out), 2);
	ck_assert_str_eq(out, "ghl:L:contact:A>octorate:1:reservation:7 {\"m\":2};ghl:L:contact:A>octorate:1:reservation:8;");
	/* reservation 8 moves to contact B: one GHL partner per reservation */
	ck_assert_int_eq(hc_store_link_put(s, "in", "ghl:L:contact:B", "octorate:1:reservation:8", NULL, 13), 0);
	out[0] = 0;
	ck_assert_int_eq(hc_store_link_each(s, "octorate:1:reservation:8", link_line, out), 1);
	ck_assert_str_eq(out, "ghl:L:contact:B>octorate:1:reservation:8;");
	/* a partner in another system does not replace it */
	ck_assert_int_eq(hc_store_link_put(s, "in", "crm:X:person:9", "octorate:1:reservation:8", NULL, 14), 0);
	ck_assert_int_eq(hc_store_link_each(s, "octorate:1:reservation:8", link_line, out), 2);
	/* nor does a contact of another location (one partner per system and scope) */
	ck_assert_int_eq(hc_store_link_put(s, "in", "ghl:M:contact:D", "octorate:1:reservation:8", NULL, 14), 0);
	ck_assert_int_eq(hc_store_link_each(s, "octorate:1:reservation:8", link_line, out), 3);
	ck_assert_int_eq(hc_store_link_remove(s, "ghl:M:contact:D", "octorate:1:reservation:8"), 1);
	ck_assert_int_eq(hc_store_link_remove(s, "crm:X:person:9", "octorate:1:reservation:8"), 1);
	ck_assert_int_eq(hc_store_link_remove(s, "crm:X:person:9", "octorate:1:reservation:8"), 0);
	/* inside an open transaction the link goes with it */
	ck_assert_int_eq(hc_store_begin(s), 0);
	ck_assert_int_eq(hc_store_link_put(s, "in", "ghl:L:contact:C", "octorate:1:reservation:9", NULL, 15), 0);
	hc_store_rollback(s);
	ck_assert_int_eq(hc_store_link_each(s, "ghl:L:contact:C", link_line, out), 0);

	ck_assert_int_eq(hc_store_echo_since(s, "ghl:L:contact:A", 0, echo_line, out), 0);
	ck_assert_int_eq(hc_store_echo_put(s, "out", "ghl:L:contact:A", "{\"tags+\":[\"a\"]}", 99, 1000), 0);
	ck_assert_int_eq(hc_store_echo_put(s, "out", "ghl:L:contact:A", "{\"email\":\"x\"}", 150, 1000), 0);
	hc_store_close(s);
	s = open_ok(dir);
	out[0] = 0;
	ck_assert_int_eq(hc_store_link_each(s, NULL, link_line, out), 2);
	/* every write after the time asked, oldest first */
	out[0] = 0;
	ck_assert_int_eq(hc_store_echo_since(s, "ghl:L:contact:A", 0, echo_line, out), 2);
	ck_assert_str_eq(out, "99 {\"tags+\":[\"a\"]};150 {\"email\":\"x\"};");
	out[0] = 0;
	ck_assert_int_eq(hc_store_echo_since(s, "ghl:L:contact:A", 99, echo_line, out), 1);
	/* a write older than the memory's span is dropped by the next put */
	ck_assert_int_eq(hc_store_echo_put(s, "out", "ghl:L:contact:B", "{}", 1120, 1000), 0);
	ck_assert_int_eq(hc_store_echo_since(s, "ghl:L:contact:A", 0, echo_line, out), 1);
	hc_store_close(s);
}
END_TEST

/* Schema 4 rebuilt history without AUTOINCREMENT: a schema 3 database keeps
 * its rows, ids and order, and goes on numbering after them. */
static void history_line(const hc_history *h, void *arg)
{
	char *out = arg;
	size_t len = strlen(out);

	snprintf(out + len, 256 - len, "%lld %s %s;", (long long)h->id, h->object, h->change);
}

START_TEST(test_history_migrates)
{
	sqlite3 *db;
	hc_store *s;
	char rows[256] = "";

	hc_store_close(open_ok(path_in("v3")));
	ck_assert_int_eq(sqlite3_open(path_in("v3/hlbridge.db"), &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db,
		"DROP TABLE history; DROP TABLE links; DROP TABLE echo;"
		"CREATE TABLE history (id INTEGER PRIMARY KEY AUTOINCREMENT, instance TEXT NOT NULL,"
		"  scope TEXT NOT NULL, object TEXT NOT NULL, change TEXT NOT NULL, time_ms INTEGER NOT NULL,"
		"  row TEXT NOT NULL);"
		"CREATE INDEX history_scope ON history (scope, object, id);"
		"INSERT INTO history VALUES (7, 'src', 'loc', 'a', 'created', 1, '{}');"
		"INSERT INTO history VALUES (9, 'src', 'loc', 'b', 'deleted', 2, '{}');"
		"PRAGMA user_version = 3;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	s = open_ok(path_in("v3"));
	ck_assert_int_eq(hc_store_history_add(s, "src", "loc", "c", "updated", 3, "{}"), 0);
	ck_assert_int_eq(hc_store_history_each(s, NULL, "loc", NULL, 0, history_line, rows), 3);
	ck_assert_str_eq(rows, "7 a created;9 b deleted;10 c updated;");
	hc_store_close(s);
	ck_assert_int_eq(sqlite3_open(path_in("v3/hlbridge.db"), &db), SQLITE_OK);
	{
		sqlite3_stmt *st;

		ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT sql FROM sqlite_master WHERE name = 'history'", -1,
						    &st, NULL), SQLITE_OK);
		ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
		ck_assert_ptr_null(strstr((const char *)sqlite3_column_text(st, 0), "AUTOINCREMENT"));
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
}
END_TEST

/* Checkpoints written in a transaction that rolls back are written again
 * by the next one, in order; a replay batch keeps its records out of the
 * queue table. */
static hlb_record *taken[4];
static size_t ntaken;

static int take(struct hlb_instance *sink, hlb_record *rec)
{
	(void)sink;
	taken[ntaken++] = rec;
	return 1;
}

static int count_history(hc_store *s)
{
	char rows[256] = "";

	return hc_store_history_each(s, NULL, "scope", NULL, 0, history_line, rows);
}

START_TEST(test_checkpoint_rollback)
{
	hc_store *s = open_ok(path_in("cp"));
	hc_section src_sec = { .name = "src", .label = "source:src" }, sink_sec = { .name = "out", .label = "sink:out" };
	struct hlb_instance src = { .sec = &src_sec, .role = HLB_CAP_SOURCE, .state_name = "src" };
	struct hlb_instance sink = { .sec = &sink_sec, .role = HLB_CAP_SINK };
	hc_batch *b = hc_batch_new(1);
	int64_t pending = -1, retrying = -1, dead = -1;
	char *pos;

	ntaken = 0;
	/* part 1 of a poll, closed by a checkpoint; part 2 closed by its end */
	ck_assert_int_eq(hc_batch_add(b, &sink, hc_record_new("s", "k1", HLB_OP_UPSERT, 1, NULL)), 0);
	ck_assert_int_eq(hc_state_stage(b, &src, "pos", "1"), 0);
	ck_assert_int_eq(hc_history_stage(b, "scope", "k1", "created", 1, "{}"), 0);
	ck_assert_int_eq(hc_batch_checkpoint(s, &src, b, take), 0);
	ck_assert_int_eq(hc_batch_add(b, &sink, hc_record_new("s", "k2", HLB_OP_UPSERT, 2, NULL)), 0);
	ck_assert_int_eq(hc_state_stage(b, &src, "pos", "2"), 0);
	ck_assert_int_eq(hc_history_stage(b, "scope", "k2", "created", 2, "{}"), 0);
	ck_assert_int_eq(hc_batch_commit(s, &src, b, take), 0);
	ck_assert_uint_eq(ntaken, 2);
	ck_assert_int_eq(hc_store_counts(s, "out", &pending, &retrying, &dead), 0);
	ck_assert_int_eq(pending, 0); /* both waited in memory only */
	/* k1 is delivered, but that transaction rolls back */
	ck_assert_int_eq(hc_store_begin_lazy(s), 0);
	ck_assert_int_eq(hc_durable_final(s, taken[0]), 0);
	hc_store_rollback(s);
	hc_durable_settle(&src, 0);
	ck_assert_ptr_null(hc_store_state_get(s, "src", "pos"));
	ck_assert_int_eq(count_history(s), 0);
	ck_assert_ptr_nonnull(src.cp_head);
	/* k2 is delivered: the first checkpoint is written again, then the second */
	ck_assert_int_eq(hc_store_begin_lazy(s), 0);
	ck_assert_int_eq(hc_durable_final(s, taken[1]), 0);
	ck_assert_int_eq(hc_store_commit(s), 0);
	hc_durable_settle(&src, 1);
	pos = hc_store_state_get(s, "src", "pos");
	ck_assert_str_eq(pos, "2");
	free(pos);
	ck_assert_int_eq(count_history(s), 2);
	ck_assert_ptr_null(src.cp_head);
	hc_record_free(taken[0]);
	hc_record_free(taken[1]);
	hc_batch_free(b);
	hc_state_forget(&src);
	hc_durable_forget(&src);
	hc_durable_forget(&sink);
	hc_store_close(s);
}
END_TEST

static Suite *test_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("store");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_creates_private_files);
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_history_migrates);
	tcase_add_test(tc, test_checkpoint_rollback);
	tcase_add_test(tc, test_queue);
	tcase_add_test(tc, test_dead_letters);
	tcase_add_test(tc, test_state_and_transactions);
	tcase_add_test(tc, test_memory);
	tcase_add_test(tc, test_links_and_echo);
	suite_add_tcase(s, tc);
	return s;
}
