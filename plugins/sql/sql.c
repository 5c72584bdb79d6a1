/* The `sql` sink: upserts records into a table of a SQLite database, one
 * row per record key, for dashboards (statistics, tag history).
 *
 *     [sink:dash]
 *     plugin         = sql
 *     database       = /var/lib/hlbridge/dash.db
 *     table          = stats
 *     column.stat    = $.statId
 *     column.value   = $.value
 *
 * makes the table (key TEXT PRIMARY KEY, stat, value, updated_at TEXT) on
 * first use, adds a configured column an existing table lacks, and writes
 * each batch in one transaction: an upsert per record (a delete op deletes
 * the row, or, with on_delete = upsert, is kept as a row like the others:
 * a history keyed by the record key). A row whose values did not change is left alone, updated_at
 * included, so replaying records leaves the table exactly as it was.
 *
 * This database is a destination the user chose, like a file or a URL; it
 * is not hlbridge's state store, which plugins never reach with SQL.
 *
 * SQLite calls block: the sink keeps them short (a small busy_timeout,
 * then a retry through the host's backoff) rather than stall the event
 * loop while a dashboard holds a write lock. */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <sqlite3.h>

#include "hlbridge/hlbridge.h"
#include "../common/strbuf.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

#define IDENT_MAX 64
#define MAX_COLUMNS 200
#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

static const hlb_option options[] = {
	{ "database", HLB_OPT_PATH, NULL, HLB_OPT_REQUIRED,
	  "the SQLite database file; created (mode 0600) at the first delivery if missing", NULL },
	{ "table", HLB_OPT_STRING, NULL, HLB_OPT_REQUIRED,
	  "the table, created at the first delivery if missing (letters, digits and _)", NULL },
	{ "column.", HLB_OPT_STRING, NULL, HLB_OPT_PREFIX,
	  "column.NAME = $.path stores that value in column NAME (default: column.body = $)", NULL },
	{ "key", HLB_OPT_JSONPATH, NULL, 0, "$.path of the row key (default: the record's key)", NULL },
	{ "on_delete", HLB_OPT_ENUM, "delete", 0,
	  "what a record with the delete op does: delete its row, or upsert it like any record (a history)",
	  "delete|upsert" },
	{ "busy_timeout", HLB_OPT_DURATION, "1s", 0,
	  "how long to wait for a lock another program holds before the batch is retried later", NULL },
	{ NULL, 0, NULL, 0, NULL, NULL }
};

struct column {
	char *name;
	hlb_path *path;
};

struct sink {
	const hlb_host *host;
	hlb_instance *inst;
	char *database;
	char *table;
	struct column *cols;
	size_t ncols;
	hlb_path *key;
	int keep_deletes; /* on_delete = upsert */
	int64_t busy_ms;
	sqlite3 *db;
	sqlite3_stmt *upsert, *del;
};

/* What happened to one record of a batch. */
struct outcome {
	hlb_verdict v;
	char *why;
};

/* ---- names and SQL text ------------------------------------------------- */

/* [A-Za-z_][A-Za-z0-9_]*: safe to put between double quotes as is. */
static int ident_ok(const char *s)
{
	size_t n = 0;

	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
		return 0;
	for (; *s; s++, n++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return n <= IDENT_MAX;
}

/* Appends prefix"name". Failures show in t->failed. */
static void add_quoted(sb_buf *t, const char *prefix, const char *name)
{
	sb_adds(t, prefix);
	sb_adds(t, "\"");
	sb_adds(t, name);
	sb_adds(t, "\"");
}

/* INSERT ... ON CONFLICT DO UPDATE, changing a row only when one of its
 * values differs, so that a replay leaves updated_at alone too. */
static char *upsert_sql(const struct sink *s)
{
	sb_buf t = { 0 };

	add_quoted(&t, "INSERT INTO ", s->table);
	sb_adds(&t, " (\"key\"");
	for (size_t i = 0; i < s->ncols; i++)
		add_quoted(&t, ", ", s->cols[i].name);
	sb_adds(&t, ", \"updated_at\") VALUES (?1");
	for (size_t i = 0; i <= s->ncols; i++)
		sb_addf(&t, ", ?%zu", i + 2);
	sb_adds(&t, ") ON CONFLICT(\"key\") DO UPDATE SET ");
	for (size_t i = 0; i < s->ncols; i++) {
		add_quoted(&t, "", s->cols[i].name);
		add_quoted(&t, " = excluded.", s->cols[i].name);
		sb_adds(&t, ", ");
	}
	sb_adds(&t, "\"updated_at\" = excluded.\"updated_at\" WHERE (");
	for (size_t i = 0; i < s->ncols; i++)
		add_quoted(&t, i ? ", " : "", s->cols[i].name);
	sb_adds(&t, ") IS NOT (");
	for (size_t i = 0; i < s->ncols; i++)
		add_quoted(&t, i ? ", excluded." : "excluded.", s->cols[i].name);
	sb_adds(&t, ")");
	if (t.failed) {
		sb_free(&t);
		return NULL;
	}
	return t.data;
}

static char *create_sql(const struct sink *s)
{
	sb_buf t = { 0 };

	/* Columns without a type keep each value as it was bound (SQLite's
	 * dynamic typing): integers, reals, text, NULL. */
	add_quoted(&t, "CREATE TABLE IF NOT EXISTS ", s->table);
	sb_adds(&t, " (\"key\" TEXT PRIMARY KEY NOT NULL");
	for (size_t i = 0; i < s->ncols; i++)
		add_quoted(&t, ", ", s->cols[i].name);
	sb_adds(&t, ", \"updated_at\" TEXT)");
	if (t.failed) {
		sb_free(&t);
		return NULL;
	}
	return t.data;
}

/* ---- setup -------------------------------------------------------------- */

static int add_column(struct sink *s, const char *name, const char *path_text, char *err, size_t errlen)
{
	struct column *c;
	hlb_path *path;

	if (s->ncols >= MAX_COLUMNS) {
		snprintf(err, errlen, "at most %d columns", MAX_COLUMNS);
		return HLB_EINVAL;
	}
	if (!ident_ok(name)) {
		snprintf(err, errlen, "'%s' is not a column name: use letters, digits and _, not starting with a "
			 "digit, at most %d characters", name, IDENT_MAX);
		return HLB_EINVAL;
	}
	if (strcasecmp(name, "key") == 0 || strcasecmp(name, "updated_at") == 0) {
		snprintf(err, errlen, "'%s' is a column of the sink's own (the row key and the time of its last "
			 "change)", name);
		return HLB_EINVAL;
	}
	for (size_t i = 0; i < s->ncols; i++)
		if (strcasecmp(s->cols[i].name, name) == 0) {
			snprintf(err, errlen, "column '%s' is set twice (names are case-insensitive)", name);
			return HLB_EINVAL;
		}
	if (path_text[0] != '$') {
		snprintf(err, errlen, "expected a $.path, such as $.value");
		return HLB_EINVAL;
	}
	if (!(path = s->host->path_compile(path_text, err, errlen)))
		return HLB_EINVAL;
	if (!(c = realloc(s->cols, (s->ncols + 1) * sizeof(*c))) || !(c[s->ncols].name = strdup(name))) {
		if (c)
			s->cols = c;
		s->host->path_free(path);
		return HLB_ENOMEM;
	}
	s->cols = c;
	c[s->ncols++].path = path;
	return HLB_OK;
}

static int load_columns(struct sink *s)
{
	const char *key, *value;
	size_t cursor = 0;
	char err[512];
	int bad = 0, rc;

	while (s->host->option_next(s->inst, &cursor, &key, &value, NULL)) {
		if (strncmp(key, "column.", 7) != 0)
			continue;
		rc = add_column(s, key + 7, value, err, sizeof(err));
		if (rc == HLB_ENOMEM)
			return rc;
		if (rc != HLB_OK) {
			s->host->option_error(s->inst, key, "%s", err);
			bad++;
		}
	}
	if (bad)
		return HLB_EINVAL;
	/* No mapping: the whole body, as JSON text. */
	if (!s->ncols)
		return add_column(s, "body", "$", err, sizeof(err));
	return HLB_OK;
}

/* The database's directory must exist: the sink creates files, not
 * directories, and a typo is better reported at start. */
static int check_database(struct sink *s, const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];
	struct stat st;

	if (strcmp(path, "-") == 0 || strcmp(path, ":memory:") == 0 || !*path) {
		s->host->option_error(s->inst, "database", "must be a file name");
		return HLB_EINVAL;
	}
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		s->host->option_error(s->inst, "database", "the directory %s does not exist (the sink creates the "
				      "file, not its directory)", dir);
		return HLB_EINVAL;
	}
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		s->host->option_error(s->inst, "database", "%s is not a regular file", path);
		return HLB_EINVAL;
	}
	return HLB_OK;
}

static void db_close(struct sink *s)
{
	sqlite3_finalize(s->upsert);
	sqlite3_finalize(s->del);
	sqlite3_close(s->db);
	s->upsert = s->del = NULL;
	s->db = NULL;
}

static void sink_free(struct sink *s)
{
	db_close(s);
	for (size_t i = 0; i < s->ncols; i++) {
		free(s->cols[i].name);
		s->host->path_free(s->cols[i].path);
	}
	free(s->cols);
	if (s->key)
		s->host->path_free(s->key);
	free(s->database);
	free(s->table);
	free(s);
}

static int init(const hlb_host *host, hlb_instance *inst, uint32_t role, void **state)
{
	const char *database = host->option(inst, "database");
	const char *table = host->option(inst, "table");
	const char *key = host->option(inst, "key");
	struct sink *s;
	char err[256];
	int bad = 0, rc;

	if (role != HLB_CAP_SINK)
		return HLB_EUNSUPPORTED;
	if (!(s = calloc(1, sizeof(*s))))
		return HLB_ENOMEM;
	s->host = host;
	s->inst = inst;
	if (!database || check_database(s, database) != HLB_OK)
		bad++;
	if (!table || !ident_ok(table)) {
		host->option_error(inst, "table", "'%s' is not a table name: use letters, digits and _, not "
				   "starting with a digit, at most %d characters", table ? table : "", IDENT_MAX);
		bad++;
	} else if (strncasecmp(table, "sqlite_", 7) == 0) {
		host->option_error(inst, "table", "names starting with sqlite_ are SQLite's own");
		bad++;
	}
	if (key && !(s->key = host->path_compile(key, err, sizeof(err)))) {
		host->option_error(inst, "key", "%s", err);
		bad++;
	}
	s->keep_deletes = host->option(inst, "on_delete") && strcmp(host->option(inst, "on_delete"), "upsert") == 0;
	s->busy_ms = host->option_ms(inst, "busy_timeout", 1000);
	if (s->busy_ms < 0 || s->busy_ms > 60000) {
		host->option_error(inst, "busy_timeout", "must be from 0 to 60s");
		bad++;
	}
	rc = load_columns(s);
	if (rc == HLB_OK && bad)
		rc = HLB_EINVAL;
	if (rc == HLB_OK && (!(s->database = strdup(database)) || !(s->table = strdup(table))))
		rc = HLB_ENOMEM;
	if (rc != HLB_OK) {
		sink_free(s);
		return rc;
	}
	*state = s;
	return HLB_OK;
}

/* ---- opening the database ----------------------------------------------- */

/* Errors worth trying again: someone else holds the lock, the disk is
 * full or failing, the file cannot be opened just now. Anything else (a
 * schema that does not fit, a read-only or corrupt file, a constraint)
 * will fail the same way until a person changes something. */
static hlb_verdict verdict_for(int code)
{
	switch (code & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_CANTOPEN:
	case SQLITE_PROTOCOL:
	case SQLITE_NOMEM:
		return HLB_RETRY;
	default:
		return HLB_FAILED;
	}
}

/* Runs one statement; on failure writes why. */
static int exec(struct sink *s, const char *sql, char *why, size_t len)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		snprintf(why, len, "%s: %s", s->database, sqlite3_errmsg(s->db));
	return rc;
}

/* The file is made 0600 before SQLite opens it (its -wal and -shm files
 * take the database's mode): dashboards data is often private. */
static int create_private(struct sink *s, char *why, size_t len)
{
	int fd = open(s->database, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd >= 0) {
		close(fd);
		s->host->log(s->inst, HLB_LOG_INFO, "created %s", s->database);
		return SQLITE_OK;
	}
	if (errno == EEXIST)
		return SQLITE_OK;
	snprintf(why, len, "cannot create %s: %s", s->database, strerror(errno));
	return errno == EACCES || errno == EROFS ? SQLITE_PERM : SQLITE_CANTOPEN;
}

/* Adds the configured columns an existing table lacks; fails when the
 * table has no key column to upsert on. */
static int add_missing_columns(struct sink *s, char *why, size_t len)
{
	sb_buf sql = { 0 };
	sqlite3_stmt *st;
	char *have;
	int rc, has_key = 0, has_updated = 0;

	add_quoted(&sql, "PRAGMA table_info(", s->table);
	sb_adds(&sql, ")");
	if (sql.failed || !(have = calloc(s->ncols + 1, 1))) {
		sb_free(&sql);
		snprintf(why, len, "out of memory");
		return SQLITE_NOMEM;
	}
	rc = sqlite3_prepare_v2(s->db, sql.data, -1, &st, NULL);
	while (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 1);

		if (!name)
			continue;
		has_key |= strcasecmp(name, "key") == 0;
		has_updated |= strcasecmp(name, "updated_at") == 0;
		for (size_t i = 0; i < s->ncols; i++)
			if (strcasecmp(name, s->cols[i].name) == 0)
				have[i] = 1;
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_finalize(st);
	sb_free(&sql);
	if (rc != SQLITE_OK) {
		snprintf(why, len, "%s: table %s: %s", s->database, s->table, sqlite3_errmsg(s->db));
		free(have);
		return rc;
	}
	if (!has_key) {
		snprintf(why, len, "%s: table %s exists without a \"key\" column: choose another table, or drop it so "
			 "that the sink makes it again", s->database, s->table);
		free(have);
		return SQLITE_ERROR;
	}
	have[s->ncols] = (char)has_updated;
	for (size_t i = 0; i <= s->ncols && rc == SQLITE_OK; i++) {
		sb_buf alter = { 0 };

		if (have[i])
			continue;
		add_quoted(&alter, "ALTER TABLE ", s->table);
		add_quoted(&alter, " ADD COLUMN ", i < s->ncols ? s->cols[i].name : "updated_at");
		rc = alter.failed ? SQLITE_NOMEM : exec(s, alter.data, why, len);
		if (rc == SQLITE_OK)
			s->host->log(s->inst, HLB_LOG_INFO, "added column %s to table %s",
				     i < s->ncols ? s->cols[i].name : "updated_at", s->table);
		sb_free(&alter);
	}
	free(have);
	return rc;
}

static int prepare(struct sink *s, char *why, size_t len)
{
	sb_buf del = { 0 };
	char *up = upsert_sql(s);
	int rc;

	add_quoted(&del, "DELETE FROM ", s->table);
	sb_adds(&del, " WHERE \"key\" = ?1");
	if (!up || del.failed) {
		free(up);
		sb_free(&del);
		snprintf(why, len, "out of memory");
		return SQLITE_NOMEM;
	}
	rc = sqlite3_prepare_v2(s->db, up, -1, &s->upsert, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s->db, del.data, -1, &s->del, NULL);
	if (rc != SQLITE_OK)
		snprintf(why, len, "%s: table %s: %s%s", s->database, s->table, sqlite3_errmsg(s->db),
			 strstr(sqlite3_errmsg(s->db), "ON CONFLICT") ? " (its \"key\" column must be its PRIMARY KEY "
									  "or UNIQUE)" : "");
	free(up);
	sb_free(&del);
	return rc;
}

/* Opens the database and makes the table fit; SQLITE_OK, or a code with
 * the reason in why (the connection is closed again then). */
static int db_open(struct sink *s, char *why, size_t len)
{
	char *create;
	int rc;

	if (s->db)
		return SQLITE_OK;
	if ((rc = create_private(s, why, len)) != SQLITE_OK)
		return rc;
	rc = sqlite3_open_v2(s->database, &s->db, SQLITE_OPEN_READWRITE, NULL);
	if (rc != SQLITE_OK) {
		snprintf(why, len, "cannot open %s: %s", s->database, s->db ? sqlite3_errmsg(s->db) : "out of memory");
		db_close(s);
		return rc;
	}
	sqlite3_busy_timeout(s->db, (int)s->busy_ms);
	/* WAL: a dashboard reading the table does not block the sink, nor
	 * the sink the dashboard. FULL: a batch answered done survives a
	 * power cut. */
	if (!(create = create_sql(s))) {
		snprintf(why, len, "out of memory");
		rc = SQLITE_NOMEM;
	}
	if (rc == SQLITE_OK)
		rc = exec(s, "PRAGMA journal_mode = WAL", why, len);
	if (rc == SQLITE_OK)
		rc = exec(s, "PRAGMA synchronous = FULL", why, len);
	if (rc == SQLITE_OK)
		rc = exec(s, create, why, len);
	if (rc == SQLITE_OK)
		rc = add_missing_columns(s, why, len);
	if (rc == SQLITE_OK)
		rc = prepare(s, why, len);
	free(create);
	if (rc != SQLITE_OK)
		db_close(s);
	return rc;
}

/* ---- writing ------------------------------------------------------------ */

static void iso_time(int64_t ms, char *out, size_t len)
{
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;

	if (ms < 0 || !gmtime_r(&sec, &tm)) {
		snprintf(out, len, "1970-01-01T00:00:00.000Z");
		return;
	}
	snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* Binds a JSON value with the SQLite type that fits it. The record's body
 * outlives the statement's step, so its strings are bound in place. */
static int bind_value(sqlite3_stmt *st, int i, struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return sqlite3_bind_null(st, i);
	case json_type_boolean:
		return sqlite3_bind_int(st, i, json_object_get_boolean(v));
	case json_type_int: {
		int64_t n = json_object_get_int64(v);

		/* beyond int64: keep the digits rather than a clamped number */
		if (n == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX)
			return sqlite3_bind_text(st, i, json_object_to_json_string_ext(v, JSON_FLAGS), -1,
						 SQLITE_TRANSIENT);
		return sqlite3_bind_int64(st, i, n);
	}
	case json_type_double:
		return sqlite3_bind_double(st, i, json_object_get_double(v));
	case json_type_string:
		return sqlite3_bind_text(st, i, json_object_get_string(v), json_object_get_string_len(v),
					 SQLITE_STATIC);
	default:
		return sqlite3_bind_text(st, i, json_object_to_json_string_ext(v, JSON_FLAGS), -1, SQLITE_TRANSIENT);
	}
}

/* The row key of a record; NULL with why when it has none. The text
 * lives as long as the record. */
static const char *row_key(struct sink *s, const hlb_record *r, char *buf, size_t buflen, char *why,
			   size_t len)
{
	struct json_object *v;

	if (!s->key)
		return s->host->record_key(r);
	v = s->host->path_get(s->key, s->host->record_body(r));
	if (json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	if (json_object_is_type(v, json_type_int)) {
		snprintf(buf, buflen, "%s", json_object_to_json_string_ext(v, JSON_FLAGS));
		return buf;
	}
	snprintf(why, len, "the key %s is %s: a row key must be a string or an integer",
		 s->host->path_text(s->key), v ? "not a string or an integer" : "missing or null");
	return NULL;
}

/* Writes one record; SQLITE_DONE, or a code with the reason in why. */
static int write_record(struct sink *s, const hlb_record *r, char *why, size_t len)
{
	const hlb_host *host = s->host;
	struct json_object *body = host->record_body(r);
	char keybuf[32], when[80];
	const char *key = row_key(s, r, keybuf, sizeof(keybuf), why, len);
	sqlite3_stmt *st;
	int rc = SQLITE_OK;

	if (!key)
		return SQLITE_MISMATCH;
	if (host->record_op(r) == HLB_OP_DELETE && !s->keep_deletes) {
		st = s->del;
		rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	} else {
		st = s->upsert;
		rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
		for (size_t i = 0; i < s->ncols && rc == SQLITE_OK; i++) {
			struct json_object *v = NULL;

			if (!host->path_lookup(s->cols[i].path, body, &v))
				v = NULL; /* missing: NULL, like a JSON null */
			rc = bind_value(st, (int)i + 2, v);
		}
		iso_time(host->record_time(r), when, sizeof(when));
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_text(st, (int)s->ncols + 2, when, -1, SQLITE_TRANSIENT);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		snprintf(why, len, "%s: table %s: %s", s->database, s->table, sqlite3_errmsg(s->db));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

/* Errors of one record's values or constraints: the statement is undone,
 * the transaction goes on with the other records. */
static int record_level(int code)
{
	switch (code & 0xff) {
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_TOOBIG:
	case SQLITE_RANGE:
		return 1;
	default:
		return 0;
	}
}

static void give_all(struct sink *s, hlb_job *job, size_t n, hlb_verdict v, const char *why)
{
	for (size_t i = 0; i < n; i++)
		s->host->verdict(job, i, v, why);
}

static int deliver(void *state, hlb_job *job)
{
	struct sink *s = state;
	const hlb_host *host = s->host;
	size_t n = host->batch_size(job);
	struct outcome *out;
	char why[1024];
	int rc;

	if (n == 0) {
		host->finish(job, HLB_OK, NULL);
		return HLB_OK;
	}
	if ((rc = db_open(s, why, sizeof(why))) != SQLITE_OK) {
		give_all(s, job, n, verdict_for(rc), why);
		host->finish(job, HLB_OK, NULL);
		return HLB_OK;
	}
	if (!(out = calloc(n, sizeof(*out))))
		return HLB_ENOMEM; /* the host retries the batch */
	rc = exec(s, "BEGIN IMMEDIATE", why, sizeof(why));
	for (size_t i = 0; i < n && rc == SQLITE_OK; i++) {
		int w = write_record(s, host->batch_record(job, i), why, sizeof(why));

		if (w == SQLITE_DONE)
			continue;
		if (!record_level(w)) {
			rc = w;
			break;
		}
		out[i].v = HLB_FAILED;
		out[i].why = strdup(why);
	}
	if (rc == SQLITE_OK)
		rc = exec(s, "COMMIT", why, sizeof(why));
	if (rc != SQLITE_OK) {
		/* Nothing of the batch stays: every record is retried (or
		 * failed, for an error that will not go away). */
		hlb_verdict v = verdict_for(rc);

		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		if (v == HLB_FAILED || (rc & 0xff) != SQLITE_BUSY)
			db_close(s); /* open afresh next time: the schema may have changed */
		for (size_t i = 0; i < n; i++)
			if (out[i].v != HLB_FAILED)
				out[i].v = v;
	}
	for (size_t i = 0; i < n; i++) {
		host->verdict(job, i, out[i].v, out[i].v == HLB_DONE ? NULL : out[i].why ? out[i].why : why);
		free(out[i].why);
	}
	free(out);
	host->finish(job, HLB_OK, NULL);
	return HLB_OK;
}

/* Reads the database, if it exists, without creating or changing it. */
static int check(void *state, hlb_job *job)
{
	struct sink *s = state;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	sb_buf sql = { 0 };
	char msg[1200];
	int rc = HLB_OK;

	if (access(s->database, F_OK) != 0) {
		snprintf(msg, sizeof(msg), "%s does not exist yet: it is created (mode 0600) with table %s at the "
			 "first delivery", s->database, s->table);
		s->host->finish(job, HLB_OK, msg);
		return HLB_OK;
	}
	add_quoted(&sql, "SELECT count(*) FROM ", s->table);
	if (sqlite3_open_v2(s->database, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		snprintf(msg, sizeof(msg), "cannot open %s: %s", s->database,
			 db ? sqlite3_errmsg(db) : "out of memory");
		rc = HLB_EIO;
	} else if (sql.failed || sqlite3_prepare_v2(db, sql.data, -1, &st, NULL) != SQLITE_OK) {
		/* most likely no such table: it is made at the first delivery */
		snprintf(msg, sizeof(msg), "%s: table %s: %s (it is created at the first delivery)", s->database,
			 s->table, sql.failed ? "out of memory" : sqlite3_errmsg(db));
	} else if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(msg, sizeof(msg), "%s: table %s has %lld rows", s->database, s->table,
			 (long long)sqlite3_column_int64(st, 0));
	} else {
		snprintf(msg, sizeof(msg), "%s: table %s: %s", s->database, s->table, sqlite3_errmsg(db));
		rc = HLB_EIO;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	sb_free(&sql);
	s->host->finish(job, rc, msg);
	return HLB_OK;
}

static void fini(void *state)
{
	if (state)
		sink_free(state);
}

const hlb_plugin HLB_PLUGIN_EXPORT(sql) = {
	HLB_PLUGIN_HEADER,
	.caps = HLB_CAP_SINK,
	.name = "sql",
	.version = PACKAGE_VERSION,
	.summary = "upserts records into a SQLite table, one row per key, for dashboards",
	.options = options,
	.init = init,
	.check = check,
	.deliver = deliver,
	.fini = fini,
};
