/* The state store on SQLite: one file, WAL, synchronous=FULL so that a
 * committed transaction survives a power cut. The only SQL in hlbridge. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <sqlite3.h>

#include "record.h"

/* Append-only: a released schema step is never edited, only followed. */
static const char *const migrations[] = {
	/* 1 */
	/* AUTOINCREMENT: an id is never reused, so a sink reading its backlog
	 * by "id > cursor" misses nothing, and an id a user copied from
	 * `dlq list` never comes to mean another record. */
	"CREATE TABLE queue ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  sink TEXT NOT NULL,"
	"  key TEXT NOT NULL,"
	"  stream TEXT NOT NULL,"
	"  op INTEGER NOT NULL,"
	"  time_ms INTEGER NOT NULL,"
	"  body TEXT NOT NULL,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  due_ms INTEGER NOT NULL DEFAULT 0,"
	"  last_status INTEGER NOT NULL DEFAULT 0,"
	"  last_error TEXT,"
	"  UNIQUE (sink, key));"
	"CREATE TABLE dead ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  sink TEXT NOT NULL,"
	"  key TEXT NOT NULL,"
	"  stream TEXT NOT NULL,"
	"  op INTEGER NOT NULL,"
	"  time_ms INTEGER NOT NULL,"
	"  body TEXT NOT NULL,"
	"  attempts INTEGER NOT NULL,"
	"  last_status INTEGER NOT NULL,"
	"  last_error TEXT,"
	"  failed_ms INTEGER NOT NULL);"
	"CREATE INDEX dead_sink ON dead (sink, id);"
	"CREATE TABLE state ("
	"  instance TEXT NOT NULL,"
	"  key TEXT NOT NULL,"
	"  value TEXT NOT NULL,"
	"  PRIMARY KEY (instance, key));",
	/* 2: change history kept by sources (hlbridge history) */
	"CREATE TABLE history ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  instance TEXT NOT NULL,"
	"  scope TEXT NOT NULL,"
	"  object TEXT NOT NULL,"
	"  change TEXT NOT NULL,"
	"  time_ms INTEGER NOT NULL,"
	"  row TEXT NOT NULL);"
	"CREATE INDEX history_scope ON history (scope, object, id);",
	/* 3: a sink reads its backlog by id; without this, each read walked
	 * and sorted every queued row of the sink (UNIQUE (sink, key) only) */
	"CREATE INDEX queue_sink_id ON queue (sink, id);",
	/* 4: history ids only order rows, which are never deleted: without
	 * AUTOINCREMENT a first sync's hundred thousand rows are written in
	 * two thirds of the time (no sqlite_sequence update per row) */
	"CREATE TABLE history_new ("
	"  id INTEGER PRIMARY KEY,"
	"  instance TEXT NOT NULL,"
	"  scope TEXT NOT NULL,"
	"  object TEXT NOT NULL,"
	"  change TEXT NOT NULL,"
	"  time_ms INTEGER NOT NULL,"
	"  row TEXT NOT NULL);"
	"INSERT INTO history_new SELECT id, instance, scope, object, change, time_ms, row FROM history;"
	"DROP TABLE history;"
	"ALTER TABLE history_new RENAME TO history;"
	"CREATE INDEX history_scope ON history (scope, object, id);",
	/* 5: two-way sync: links between objects of two systems (a GHL contact
	 * and its Octorate reservations), and what hlbridge last wrote to an
	 * object, so that its echo is not carried back */
	"CREATE TABLE links ("
	"  left TEXT NOT NULL,"
	"  right TEXT NOT NULL,"
	"  instance TEXT NOT NULL,"
	"  info TEXT,"
	"  created_ms INTEGER NOT NULL,"
	"  updated_ms INTEGER NOT NULL,"
	"  PRIMARY KEY (left, right)) WITHOUT ROWID;"
	"CREATE INDEX links_right ON links (right);"
	"CREATE TABLE echo ("
	"  object TEXT NOT NULL,"
	"  time_ms INTEGER NOT NULL,"
	"  instance TEXT NOT NULL,"
	"  fields TEXT NOT NULL);"
	"CREATE INDEX echo_object ON echo (object, time_ms);"
	"CREATE INDEX echo_time ON echo (time_ms);",
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

enum stmt {
	S_ENQUEUE, S_ACK, S_RETRY, S_BURY_COPY, S_LOAD, S_COUNT_PENDING, S_COUNT_RETRY, S_COUNT_DEAD,
	S_STATE_GET, S_STATE_PUT, S_STATE_EACH, S_DEAD_EACH, S_DEAD_EACH_SINK, S_DEAD_GET,
	S_REPLAY_ONE, S_REPLAY_ALL, S_REPLAY_SINK, S_DROP_ONE, S_DROP_ALL, S_DROP_SINK,
	S_HISTORY_ADD, S_HISTORY_EACH, S_BURY_NEW, S_BEGIN, S_COMMIT,
	S_LINK_UNHOOK, S_LINK_PUT, S_LINK_REMOVE, S_LINK_FIND, S_LINK_ALL, S_ECHO_PUT, S_ECHO_PRUNE, S_ECHO_SINCE, S_COUNT
};

static const char *const sql[S_COUNT] = {
	[S_ENQUEUE] = "INSERT OR IGNORE INTO queue (sink, key, stream, op, time_ms, body) VALUES (?,?,?,?,?,?)",
	[S_ACK] = "DELETE FROM queue WHERE id = ?",
	[S_RETRY] = "UPDATE queue SET attempts = ?, due_ms = ?, last_status = ?, last_error = ? WHERE id = ?",
	[S_BURY_COPY] = "INSERT INTO dead (sink, key, stream, op, time_ms, body, attempts, last_status, "
			"last_error, failed_ms) SELECT sink, key, stream, op, time_ms, body, ?, ?, ?, ? "
			"FROM queue WHERE id = ?",
	[S_LOAD] = "SELECT id, key, stream, op, time_ms, body, attempts, due_ms, last_status, last_error "
		   "FROM queue WHERE sink = ? AND id > ? ORDER BY id LIMIT ?",
	[S_COUNT_PENDING] = "SELECT count(*) FROM queue WHERE sink = ? AND attempts = 0",
	[S_COUNT_RETRY] = "SELECT count(*) FROM queue WHERE sink = ? AND attempts > 0",
	[S_COUNT_DEAD] = "SELECT count(*) FROM dead WHERE sink = ?",
	[S_STATE_GET] = "SELECT value FROM state WHERE instance = ? AND key = ?",
	[S_STATE_PUT] = "INSERT OR REPLACE INTO state (instance, key, value) VALUES (?,?,?)",
	[S_STATE_EACH] = "SELECT instance, key, value FROM state ORDER BY instance, key",
	[S_DEAD_EACH] = "SELECT id, sink, key, stream, body, last_error, attempts, last_status, failed_ms "
			"FROM dead ORDER BY id",
	[S_DEAD_EACH_SINK] = "SELECT id, sink, key, stream, body, last_error, attempts, last_status, "
			     "failed_ms FROM dead WHERE sink = ? ORDER BY id",
	[S_DEAD_GET] = "SELECT id, sink, key, stream, body, last_error, attempts, last_status, failed_ms "
		       "FROM dead WHERE id = ?",
	/* a replayed record replaces a queued one with the same key */
	[S_REPLAY_ONE] = "INSERT OR REPLACE INTO queue (sink, key, stream, op, time_ms, body) "
			 "SELECT sink, key, stream, op, time_ms, body FROM dead WHERE id = ?",
	[S_REPLAY_ALL] = "INSERT OR REPLACE INTO queue (sink, key, stream, op, time_ms, body) "
			 "SELECT sink, key, stream, op, time_ms, body FROM dead ORDER BY id",
	[S_REPLAY_SINK] = "INSERT OR REPLACE INTO queue (sink, key, stream, op, time_ms, body) "
			  "SELECT sink, key, stream, op, time_ms, body FROM dead WHERE sink = ? ORDER BY id",
	[S_DROP_ONE] = "DELETE FROM dead WHERE id = ?",
	[S_DROP_ALL] = "DELETE FROM dead",
	[S_DROP_SINK] = "DELETE FROM dead WHERE sink = ?",
	[S_HISTORY_ADD] = "INSERT INTO history (instance, scope, object, change, time_ms, row) VALUES (?,?,?,?,?,?)",
	/* NULL filters match everything; the newest `limit` rows, oldest first */
	[S_HISTORY_EACH] = "SELECT id, instance, scope, object, change, time_ms, row FROM ("
			   "SELECT * FROM history WHERE (?1 IS NULL OR instance = ?1) AND "
			   "(?2 IS NULL OR scope = ?2) AND (?3 IS NULL OR object = ?3) "
			   "ORDER BY id DESC LIMIT ?4) ORDER BY id",
	/* prepared once: parsed again for every delivery, they cost about a
	 * twentieth of a large sync's time */
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	/* a right-hand object has one partner per system and scope (a
	 * reservation, one contact per GHL location): the prefix of left up
	 * to and with its second ':' (?3) */
	[S_LINK_UNHOOK] = "DELETE FROM links WHERE right = ?2 AND left <> ?1 AND substr(left, 1, length(?3)) = ?3",
	[S_LINK_PUT] = "INSERT INTO links (left, right, instance, info, created_ms, updated_ms) VALUES (?,?,?,?,?5,?5) "
		       "ON CONFLICT (left, right) DO UPDATE SET instance = excluded.instance, info = excluded.info, "
		       "updated_ms = excluded.updated_ms",
	[S_LINK_REMOVE] = "DELETE FROM links WHERE left = ? AND right = ?",
	[S_LINK_FIND] = "SELECT left, right, instance, info, created_ms, updated_ms FROM links "
			"WHERE left = ?1 UNION ALL SELECT left, right, instance, info, created_ms, updated_ms "
			"FROM links WHERE right = ?1 AND left <> ?1 ORDER BY 5, 1, 2",
	[S_LINK_ALL] = "SELECT left, right, instance, info, created_ms, updated_ms FROM links ORDER BY 1, 5, 2",
	[S_ECHO_PUT] = "INSERT INTO echo (object, instance, fields, time_ms) VALUES (?,?,?,?)",
	[S_ECHO_PRUNE] = "DELETE FROM echo WHERE time_ms < ?",
	[S_ECHO_SINCE] = "SELECT time_ms, fields FROM echo WHERE object = ? AND time_ms > ? ORDER BY time_ms, rowid",
	[S_BURY_NEW] = "INSERT INTO dead (sink, key, stream, op, time_ms, body, attempts, last_status, "
		       "last_error, failed_ms) VALUES (?,?,?,?,?,?,?,?,?,?)",
};

struct hc_store {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *st[S_COUNT];
	char err[512];
	/* fault injection for the crash tests: die at this commit */
	long kill_at_commit, commits;
	int lazy;          /* synchronous is NORMAL for the current transaction */
	/* ":memory:" keeps no queue at all (nothing would survive the process
	 * anyway): queue calls only hand out ids; state still uses SQL, in
	 * memory, so a reload on SIGHUP finds the checkpoints. */
	int memory;
	int64_t next_id;
};

static int fail(hc_store *s, const char *what)
{
	snprintf(s->err, sizeof(s->err), "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
	return -1;
}

const char *hc_store_error(const hc_store *s)
{
	return s->err;
}

const char *hc_store_path(const hc_store *s)
{
	return s->path;
}

static int exec(hc_store *s, const char *q)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, q, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	snprintf(s->err, sizeof(s->err), "%s: %s", s->path, msg ? msg : sqlite3_errmsg(s->db));
	sqlite3_free(msg);
	return -1;
}

static int int_query(hc_store *s, const char *q, int64_t *out)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(s->db, q, -1, &st, NULL) != SQLITE_OK)
		return fail(s, "cannot read the database");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : fail(s, "cannot read the database");
}

/* mkdir -p with mode 0700 for what it creates. */
static int make_dir(const char *dir, char *err, size_t errlen)
{
	char buf[4096];
	struct stat st;

	if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf)) {
		snprintf(err, errlen, "state_dir is too long");
		return -1;
	}
	for (char *p = buf + 1; ; p++) {
		if (*p == '/' || *p == 0) {
			char c = *p;

			*p = 0;
			if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
				snprintf(err, errlen, "cannot create the state directory %s: %s "
					 "(create it, or set [service] state_dir)", buf, strerror(errno));
				return -1;
			}
			*p = c;
			if (!c)
				break;
		}
	}
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "state_dir %s is not a directory", dir);
		return -1;
	}
	if (access(dir, R_OK | W_OK | X_OK) != 0) {
		snprintf(err, errlen, "cannot use the state directory %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* The database file is created 0600 before SQLite opens it, so its WAL and
 * shared-memory files, which SQLite creates with the database's mode, are
 * private too. */
static int private_file(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0) {
		snprintf(err, errlen, "cannot open the state database %s: %s", path, strerror(errno));
		return -1;
	}
	if (fchmod(fd, 0600) != 0) {
		snprintf(err, errlen, "cannot make %s private (chmod 600): %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int migrate(hc_store *s)
{
	int64_t version = 0, tables = 0;

	if (int_query(s, "PRAGMA user_version", &version) < 0)
		return -1;
	if (version > SCHEMA_VERSION) {
		snprintf(s->err, sizeof(s->err),
			 "%s was written by a newer hlbridge (schema %lld; this one knows up to %d): "
			 "upgrade hlbridge, or set [service] state_dir to another directory",
			 s->path, (long long)version, SCHEMA_VERSION);
		return -1;
	}
	if (version == 0) {
		if (int_query(s, "SELECT count(*) FROM sqlite_master", &tables) < 0)
			return -1;
		if (tables > 0) {
			snprintf(s->err, sizeof(s->err),
				 "%s is an SQLite database but not hlbridge's: move it away, or set "
				 "[service] state_dir to another directory", s->path);
			return -1;
		}
	}
	for (int64_t v = version; v < SCHEMA_VERSION; v++) {
		char q[64];

		if (exec(s, "BEGIN IMMEDIATE") < 0)
			return -1;
		snprintf(q, sizeof(q), "PRAGMA user_version = %lld", (long long)v + 1);
		if (exec(s, migrations[v]) < 0 || exec(s, q) < 0 || exec(s, "COMMIT") < 0) {
			exec(s, "ROLLBACK");
			return -1;
		}
	}
	return 0;
}

static int check_integrity(hc_store *s)
{
	sqlite3_stmt *st;
	int ok = 0;

	if (sqlite3_prepare_v2(s->db, "PRAGMA quick_check(1)", -1, &st, NULL) != SQLITE_OK)
		return fail(s, "cannot read the database (is it an hlbridge state database?)");
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *r = (const char *)sqlite3_column_text(st, 0);

		ok = r && strcmp(r, "ok") == 0;
		if (!ok)
			snprintf(s->err, sizeof(s->err),
				 "%s is damaged (%s): restore it from a backup or move it away; "
				 "hlbridge does not reset it", s->path, r ? r : "?");
	} else {
		fail(s, "cannot read the database (is it an hlbridge state database?)");
	}
	sqlite3_finalize(st);
	return ok ? 0 : -1;
}

int hc_store_open(const char *dir, hc_store **out, char *err, size_t errlen)
{
	hc_store *s = calloc(1, sizeof(*s));
	int memory = strcmp(dir, ":memory:") == 0;

	*out = NULL;
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->memory = memory;
	if (memory) {
		s->path = strdup(":memory:");
	} else {
		size_t n = strlen(dir) + sizeof("/hlbridge.db");

		if (make_dir(dir, err, errlen) < 0) {
			free(s);
			return -1;
		}
		s->path = malloc(n);
		if (s->path)
			snprintf(s->path, n, "%s/hlbridge.db", dir);
	}
	if (!s->path || (!memory && private_file(s->path, err, errlen) < 0)) {
		if (!s->path)
			snprintf(err, errlen, "out of memory");
		free(s->path);
		free(s);
		return -1;
	}
	if (sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open the state database %s: %s", s->path,
			 s->db ? sqlite3_errmsg(s->db) : "out of memory");
		hc_store_close(s);
		return -1;
	}
	sqlite3_busy_timeout(s->db, 5000);
	if (getenv("HLB_FAULT_KILL_AT_COMMIT"))
		s->kill_at_commit = atol(getenv("HLB_FAULT_KILL_AT_COMMIT"));
	if (check_integrity(s) < 0 ||
	    (!memory && exec(s, "PRAGMA journal_mode = WAL") < 0) ||
	    exec(s, "PRAGMA synchronous = FULL") < 0 ||
	    /* Fewer, larger checkpoints of the WAL into the database (each one
	     * syncs the disk), and the queue's hot pages kept in memory. */
	    (!memory && exec(s, "PRAGMA wal_autocheckpoint = 8192") < 0) ||
	    exec(s, "PRAGMA cache_size = -8192") < 0 || migrate(s) < 0)
		goto fail;
	for (int i = 0; i < S_COUNT; i++)
		if (sqlite3_prepare_v3(s->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) != SQLITE_OK) {
			fail(s, "cannot prepare a statement");
			goto fail;
		}
	*out = s;
	return 0;
fail:
	snprintf(err, errlen, "%s", s->err);
	hc_store_close(s);
	return -1;
}

void hc_store_close(hc_store *s)
{
	if (!s)
		return;
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	free(s->path);
	free(s);
}

/* BEGIN or COMMIT, prepared once. */
static int tx(hc_store *s, enum stmt which)
{
	sqlite3_stmt *st = s->st[which];
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return 0;
	snprintf(s->err, sizeof(s->err), "%s: %s", s->path, sqlite3_errmsg(s->db));
	return -1;
}

int hc_store_begin(hc_store *s)
{
	if (s->lazy && exec(s, "PRAGMA synchronous = FULL") == 0)
		s->lazy = 0;
	return tx(s, S_BEGIN);
}

int hc_store_begin_lazy(hc_store *s)
{
	/* In WAL mode a NORMAL commit is not synced; frames stay in order, so
	 * the next FULL commit syncs them with its own. */
	if (!s->lazy && exec(s, "PRAGMA synchronous = NORMAL") == 0)
		s->lazy = 1;
	return tx(s, S_BEGIN);
}

int hc_store_commit(hc_store *s)
{
	/* The crash tests kill the process in the middle of a transaction,
	 * its writes done and its commit not, the moment a random kill -9
	 * can only rarely hit. */
	if (s->kill_at_commit && ++s->commits == s->kill_at_commit)
		kill(getpid(), SIGKILL);
	return tx(s, S_COMMIT);
}

void hc_store_rollback(hc_store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		exec(s, "ROLLBACK");
}

/* Runs a prepared statement that returns no rows. */
static int run(hc_store *s, enum stmt which, const char *what)
{
	sqlite3_stmt *st = s->st[which];
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : fail(s, what);
}

/* Binds sink, key, stream, op, time_ms and body, the first six parameters
 * of S_ENQUEUE and S_BURY_NEW. */
static void bind_record(sqlite3_stmt *st, const char *sink, const hlb_record *rec)
{
	sqlite3_bind_text(st, 1, sink, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, rec->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, rec->stream, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, rec->op);
	sqlite3_bind_int64(st, 5, rec->time_ms);
	sqlite3_bind_text(st, 6, json_object_to_json_string_ext(rec->body, JSON_C_TO_STRING_PLAIN), -1,
			  SQLITE_STATIC);
}

int64_t hc_store_enqueue(hc_store *s, const char *sink, const hlb_record *rec)
{
	if (s->memory)
		return ++s->next_id;
	bind_record(s->st[S_ENQUEUE], sink, rec);
	if (run(s, S_ENQUEUE, "cannot queue a record") < 0)
		return -1;
	return sqlite3_changes(s->db) ? sqlite3_last_insert_rowid(s->db) : 0;
}

int hc_store_ack(hc_store *s, int64_t id)
{
	if (s->memory)
		return 0;
	sqlite3_bind_int64(s->st[S_ACK], 1, id);
	return run(s, S_ACK, "cannot mark a record delivered");
}

int hc_store_retry(hc_store *s, int64_t id, unsigned attempts, int64_t due_ms, long status,
		   const char *error)
{
	sqlite3_stmt *st = s->st[S_RETRY];

	if (s->memory)
		return 0;
	sqlite3_bind_int(st, 1, (int)attempts);
	sqlite3_bind_int64(st, 2, due_ms);
	sqlite3_bind_int64(st, 3, status);
	sqlite3_bind_text(st, 4, error, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, id);
	return run(s, S_RETRY, "cannot reschedule a record");
}

int hc_store_bury(hc_store *s, int64_t id, unsigned attempts, long status, const char *error)
{
	if (s->memory)
		return 0;
	sqlite3_stmt *st = s->st[S_BURY_COPY];

	sqlite3_bind_int(st, 1, (int)attempts);
	sqlite3_bind_int64(st, 2, status);
	sqlite3_bind_text(st, 3, error, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, hc_wall_ms());
	sqlite3_bind_int64(st, 5, id);
	if (run(s, S_BURY_COPY, "cannot move a record to the dead-letter queue") < 0)
		return -1;
	return hc_store_ack(s, id);
}

int hc_store_bury_new(hc_store *s, const char *sink, const hlb_record *rec, unsigned attempts, long status,
		      const char *error)
{
	if (s->memory)
		return 0;
	sqlite3_stmt *st = s->st[S_BURY_NEW];

	bind_record(st, sink, rec);
	sqlite3_bind_int(st, 7, (int)attempts);
	sqlite3_bind_int64(st, 8, status);
	sqlite3_bind_text(st, 9, error, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 10, hc_wall_ms());
	return run(s, S_BURY_NEW, "cannot put a record in the dead-letter queue");
}

static const char *col_text(sqlite3_stmt *st, int i)
{
	const char *t = (const char *)sqlite3_column_text(st, i);

	return t ? t : "";
}

int hc_store_load(hc_store *s, const char *sink, int64_t after_id, size_t limit,
		  void (*fn)(const hc_qrow *row, void *arg), void *arg)
{
	sqlite3_stmt *st = s->st[S_LOAD];
	int n = 0, rc;

	sqlite3_bind_text(st, 1, sink, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, after_id);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		hc_qrow row;
		struct json_object *body = json_tokener_parse(col_text(st, 5));

		memset(&row, 0, sizeof(row));
		row.id = sqlite3_column_int64(st, 0);
		row.sink = sink;
		row.rec = hc_record_new(col_text(st, 2), col_text(st, 1), (hlb_op)sqlite3_column_int(st, 3),
					sqlite3_column_int64(st, 4), body);
		row.attempts = (unsigned)sqlite3_column_int(st, 6);
		row.due_ms = sqlite3_column_int64(st, 7);
		row.last_status = (long)sqlite3_column_int64(st, 8);
		row.last_error = col_text(st, 9);
		if (!row.rec)
			break;
		fn(&row, arg);
		n++;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? n : fail(s, "cannot read the queue");
}

static int count(hc_store *s, enum stmt which, const char *sink, int64_t *out)
{
	sqlite3_stmt *st = s->st[which];
	int rc;

	sqlite3_bind_text(st, 1, sink, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	*out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_ROW ? 0 : fail(s, "cannot count the queue");
}

int hc_store_counts(hc_store *s, const char *sink, int64_t *pending, int64_t *retrying, int64_t *dead)
{
	return count(s, S_COUNT_PENDING, sink, pending) | count(s, S_COUNT_RETRY, sink, retrying) |
	       count(s, S_COUNT_DEAD, sink, dead);
}

char *hc_store_state_get(hc_store *s, const char *instance, const char *key)
{
	sqlite3_stmt *st = s->st[S_STATE_GET];
	char *v = NULL;

	sqlite3_bind_text(st, 1, instance, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = strdup(col_text(st, 0));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return v;
}

int hc_store_state_put(hc_store *s, const char *instance, const char *key, const char *json)
{
	sqlite3_stmt *st = s->st[S_STATE_PUT];

	sqlite3_bind_text(st, 1, instance, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, json, -1, SQLITE_STATIC);
	return run(s, S_STATE_PUT, "cannot save plugin state");
}

int hc_store_state_each(hc_store *s, void (*fn)(const char *, const char *, const char *, void *), void *arg)
{
	sqlite3_stmt *st = s->st[S_STATE_EACH];
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn(col_text(st, 0), col_text(st, 1), col_text(st, 2), arg);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : fail(s, "cannot read plugin state");
}

int hc_store_history_add(hc_store *s, const char *instance, const char *scope, const char *object,
			 const char *change, int64_t time_ms, const char *row)
{
	sqlite3_stmt *st = s->st[S_HISTORY_ADD];

	sqlite3_bind_text(st, 1, instance, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, scope, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, object, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, change, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, time_ms);
	sqlite3_bind_text(st, 6, row, -1, SQLITE_STATIC);
	return run(s, S_HISTORY_ADD, "cannot save a history row");
}

int hc_store_history_each(hc_store *s, const char *instance, const char *scope, const char *object,
			  int64_t limit, void (*fn)(const hc_history *h, void *arg), void *arg)
{
	sqlite3_stmt *st = s->st[S_HISTORY_EACH];
	int rc, n = 0;

	if (instance)
		sqlite3_bind_text(st, 1, instance, -1, SQLITE_STATIC);
	if (scope)
		sqlite3_bind_text(st, 2, scope, -1, SQLITE_STATIC);
	if (object)
		sqlite3_bind_text(st, 3, object, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, limit > 0 ? limit : INT64_MAX);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		hc_history h = {
			.id = sqlite3_column_int64(st, 0),
			.instance = col_text(st, 1),
			.scope = col_text(st, 2),
			.object = col_text(st, 3),
			.change = col_text(st, 4),
			.time_ms = sqlite3_column_int64(st, 5),
			.row = col_text(st, 6),
		};

		fn(&h, arg);
		n++;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? n : fail(s, "cannot read the history");
}

static int dead_rows(hc_store *s, sqlite3_stmt *st, void (*fn)(const hc_dead *, void *), void *arg)
{
	int rc, n = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		hc_dead d;

		d.id = sqlite3_column_int64(st, 0);
		d.sink = col_text(st, 1);
		d.key = col_text(st, 2);
		d.stream = col_text(st, 3);
		d.body = col_text(st, 4);
		d.error = col_text(st, 5);
		d.attempts = (unsigned)sqlite3_column_int(st, 6);
		d.last_status = (long)sqlite3_column_int64(st, 7);
		d.failed_ms = sqlite3_column_int64(st, 8);
		fn(&d, arg);
		n++;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? n : fail(s, "cannot read the dead-letter queue");
}

int hc_store_dead_each(hc_store *s, const char *sink, void (*fn)(const hc_dead *, void *), void *arg)
{
	sqlite3_stmt *st = s->st[sink ? S_DEAD_EACH_SINK : S_DEAD_EACH];

	if (sink)
		sqlite3_bind_text(st, 1, sink, -1, SQLITE_STATIC);
	return dead_rows(s, st, fn, arg);
}

int hc_store_dead_get(hc_store *s, int64_t id, void (*fn)(const hc_dead *, void *), void *arg)
{
	sqlite3_bind_int64(s->st[S_DEAD_GET], 1, id);
	return dead_rows(s, s->st[S_DEAD_GET], fn, arg);
}

int64_t hc_store_dead_replay(hc_store *s, int64_t id, const char *sink)
{
	enum stmt copy = id ? S_REPLAY_ONE : sink ? S_REPLAY_SINK : S_REPLAY_ALL;
	enum stmt drop = id ? S_DROP_ONE : sink ? S_DROP_SINK : S_DROP_ALL;
	int64_t moved;

	if (hc_store_begin(s) < 0)
		return -1;
	if (id) {
		sqlite3_bind_int64(s->st[copy], 1, id);
		sqlite3_bind_int64(s->st[drop], 1, id);
	} else if (sink) {
		sqlite3_bind_text(s->st[copy], 1, sink, -1, SQLITE_STATIC);
		sqlite3_bind_text(s->st[drop], 1, sink, -1, SQLITE_STATIC);
	}
	if (run(s, copy, "cannot replay") < 0)
		goto fail;
	moved = sqlite3_changes(s->db);
	if (run(s, drop, "cannot replay") < 0 || hc_store_commit(s) < 0)
		goto fail;
	return moved;
fail:
	hc_store_rollback(s);
	return -1;
}

int64_t hc_store_dead_drop(hc_store *s, int64_t id)
{
	sqlite3_bind_int64(s->st[S_DROP_ONE], 1, id);
	if (run(s, S_DROP_ONE, "cannot drop a dead record") < 0)
		return -1;
	return sqlite3_changes(s->db);
}

/* ---- links and echo memory (two-way sync) ------------------------------- */

int hc_store_link_put(hc_store *s, const char *instance, const char *left, const char *right, const char *info,
		      int64_t now_ms)
{
	const char *colon = strchr(left, ':');
	size_t sys;

	colon = colon ? strchr(colon + 1, ':') : NULL;
	sys = colon ? (size_t)(colon - left) + 1 : strlen(left);
	int own = sqlite3_get_autocommit(s->db); /* no transaction open: make one */
	sqlite3_stmt *st;

	if (own && hc_store_begin(s) < 0)
		return -1;
	st = s->st[S_LINK_UNHOOK];
	sqlite3_bind_text(st, 1, left, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, right, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, left, (int)sys, SQLITE_STATIC);
	if (run(s, S_LINK_UNHOOK, "cannot save a link") < 0)
		goto fail;
	st = s->st[S_LINK_PUT];
	sqlite3_bind_text(st, 1, left, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, right, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, instance, -1, SQLITE_STATIC);
	if (info)
		sqlite3_bind_text(st, 4, info, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now_ms);
	if (run(s, S_LINK_PUT, "cannot save a link") < 0)
		goto fail;
	return own ? hc_store_commit(s) : 0;
fail:
	if (own)
		hc_store_rollback(s);
	return -1;
}

int hc_store_link_remove(hc_store *s, const char *left, const char *right)
{
	sqlite3_stmt *st = s->st[S_LINK_REMOVE];

	sqlite3_bind_text(st, 1, left, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, right, -1, SQLITE_STATIC);
	if (run(s, S_LINK_REMOVE, "cannot remove a link") < 0)
		return -1;
	return sqlite3_changes(s->db);
}

int hc_store_link_each(hc_store *s, const char *object, void (*fn)(const hc_link *l, void *arg), void *arg)
{
	sqlite3_stmt *st = s->st[object ? S_LINK_FIND : S_LINK_ALL];
	int rc, n = 0;

	if (object)
		sqlite3_bind_text(st, 1, object, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		hc_link l = {
			.left = col_text(st, 0),
			.right = col_text(st, 1),
			.instance = col_text(st, 2),
			.info = sqlite3_column_type(st, 3) == SQLITE_NULL ? NULL : col_text(st, 3),
			.created_ms = sqlite3_column_int64(st, 4),
			.updated_ms = sqlite3_column_int64(st, 5),
		};

		fn(&l, arg);
		n++;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? n : fail(s, "cannot read the links");
}

int hc_store_echo_put(hc_store *s, const char *instance, const char *object, const char *fields, int64_t time_ms,
		      int64_t keep_ms)
{
	sqlite3_stmt *st = s->st[S_ECHO_PRUNE];

	/* What was written long ago can no longer come back as an echo. */
	sqlite3_bind_int64(st, 1, time_ms - keep_ms);
	if (run(s, S_ECHO_PRUNE, "cannot prune what was written") < 0)
		return -1;
	st = s->st[S_ECHO_PUT];
	sqlite3_bind_text(st, 1, object, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, instance, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, fields, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, time_ms);
	return run(s, S_ECHO_PUT, "cannot save what was written");
}

int hc_store_echo_since(hc_store *s, const char *object, int64_t since_ms,
			void (*fn)(int64_t time_ms, const char *fields, void *arg), void *arg)
{
	sqlite3_stmt *st = s->st[S_ECHO_SINCE];
	int rc, n = 0;

	sqlite3_bind_text(st, 1, object, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, since_ms);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		fn(sqlite3_column_int64(st, 0), col_text(st, 1), arg);
		n++;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? n : fail(s, "cannot read what was written");
}
