/*
 * store.c - the run's SQLite database (store.h). One connection guarded by
 * one mutex; WAL so the CLI can read while conformd writes. Everything read
 * back is bounded and validated: a damaged row is skipped and logged, never
 * trusted.
 */
#include "store/store.h"

#include <inttypes.h>
#include <pthread.h>
#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/outcome.h"
#include "store/rowpack.h"
#include "base/util.h"

#define STORE_SCHEMA_VERSION 4
#define STORE_BUSY_MS 5000
#define STORE_MAX_ROWS (1u << 24)   /* sanity bound on one query's result */

/*
 * A check's own rows and its variants' ("X/slow"): check_id = X, or in the
 * range ["X/", "X0") which holds exactly the ids starting with "X/" ('0'
 * follows '/' in ASCII), so the (check_id, second) index still serves.
 */
#define CHECK_OF(col, base) \
	"(" col " = " base " OR (" col " >= " base " || '/' AND " col " < " base " || '0'))"
#define CHECK_MATCH CHECK_OF("check_id", "?1")
/* conformd's own evidence rows (probes, tap) are not client requests */
#define NOT_MONITOR "substr(workload, 1, 8) <> 'conformd'"
#define ROW_COLS "id, check_id, workload, outcome, code, backend, identity, second," \
	" count, sum_us, max_us, hist, attempts"

/*
 * Prepared statements kept for reuse, keyed by the address of their SQL text
 * and checked against the text itself: the batch path runs the same
 * handful of statements thousands of times a second, and parsing them each
 * time cost more than running them. Used under mu only.
 */
#define STORE_STMT_CACHE 48
struct store_stmt {
	const char *sql;
	sqlite3_stmt *st;
	int lent;               /* handed out by prepare, not yet given back */
};

struct store {
	sqlite3 *db;
	pthread_mutex_t mu;
	struct store_stmt cache[STORE_STMT_CACHE];
	char err[256];
	int errcode;            /* primary SQLite result code of the last failure */
};

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS run ("
	" k INTEGER PRIMARY KEY CHECK (k = 1),"
	" id TEXT NOT NULL, platform TEXT NOT NULL, mesh TEXT NOT NULL,"
	" started REAL NOT NULL, ended REAL NOT NULL,"
	" window_ms INTEGER NOT NULL, duration_ms INTEGER NOT NULL,"
	" config_json TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS batches ("
	" workload TEXT NOT NULL, instance INTEGER NOT NULL, seq INTEGER NOT NULL,"
	" nrows INTEGER NOT NULL, received REAL NOT NULL,"
	" PRIMARY KEY (workload, instance, seq)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS agg ("
	" id INTEGER PRIMARY KEY,"
	" check_id TEXT NOT NULL, workload TEXT NOT NULL, outcome INTEGER NOT NULL,"
	" code INTEGER NOT NULL, backend TEXT NOT NULL, identity TEXT NOT NULL,"
	" second INTEGER NOT NULL, count INTEGER NOT NULL, sum_us INTEGER NOT NULL,"
	" max_us INTEGER NOT NULL, hist BLOB, attempts BLOB);"
	"CREATE INDEX IF NOT EXISTS agg_check_second ON agg (check_id, second);"
	"CREATE TABLE IF NOT EXISTS windows ("
	" check_id TEXT NOT NULL, idx INTEGER NOT NULL,"
	" start_s INTEGER NOT NULL, end_s INTEGER NOT NULL,"
	" verdict INTEGER NOT NULL, reason INTEGER NOT NULL,"
	" reason_text TEXT NOT NULL, evidence TEXT NOT NULL,"
	" total INTEGER NOT NULL, ok INTEGER NOT NULL, failed INTEGER NOT NULL,"
	" count INTEGER NOT NULL, sum_us INTEGER NOT NULL, max_us INTEGER NOT NULL,"
	" hist BLOB, evaluated REAL NOT NULL,"
	" PRIMARY KEY (check_id, idx)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS events ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL,"
	" kind TEXT NOT NULL, subject TEXT NOT NULL, detail TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS counters ("
	" name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
	/* version 2: samples, debounce state, incidents */
	"CREATE TABLE IF NOT EXISTS samples ("
	" id INTEGER PRIMARY KEY,"
	" check_id TEXT NOT NULL, workload TEXT NOT NULL, request_id TEXT NOT NULL,"
	" outcome INTEGER NOT NULL, code INTEGER NOT NULL, latency_us INTEGER NOT NULL,"
	" backend TEXT NOT NULL, identity TEXT NOT NULL, ts_ms INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS samples_check_ts ON samples (check_id, ts_ms);"
	"CREATE TABLE IF NOT EXISTS check_state ("
	" check_id TEXT PRIMARY KEY, state INTEGER NOT NULL, last_idx INTEGER NOT NULL,"
	" fail_streak INTEGER NOT NULL, pass_streak INTEGER NOT NULL,"
	" streak_start_s INTEGER NOT NULL, streak_reason TEXT NOT NULL,"
	" incident_start_s INTEGER NOT NULL, incident_end_s INTEGER NOT NULL,"
	" incident_windows INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS incidents ("
	" check_id TEXT NOT NULL, start_s INTEGER NOT NULL, end_s INTEGER NOT NULL,"
	" windows INTEGER NOT NULL, open INTEGER NOT NULL, reason TEXT NOT NULL,"
	" PRIMARY KEY (check_id, start_s)) WITHOUT ROWID;"
	/*
	 * version 3: running totals per (check, outcome) of the client rows,
	 * kept in the batch's own transaction, so per-second rows can be pruned
	 * after the retention period without changing the report's totals; and
	 * the highest pruned batch seq per reporter instance (dedupe floor).
	 */
	"CREATE TABLE IF NOT EXISTS totals ("
	" check_id TEXT NOT NULL, outcome INTEGER NOT NULL, count INTEGER NOT NULL,"
	" sum_us INTEGER NOT NULL, max_us INTEGER NOT NULL, hist BLOB,"
	" PRIMARY KEY (check_id, outcome)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS batch_floor ("
	" workload TEXT NOT NULL, instance INTEGER NOT NULL, seq INTEGER NOT NULL,"
	" PRIMARY KEY (workload, instance)) WITHOUT ROWID;"
	/* version 4 also: the mesh's own view of each window (its proxies' counts
	 * between two scrapes, evidence/meshview.h), as JSON */
	"CREATE TABLE IF NOT EXISTS mesh_views ("
	" id INTEGER PRIMARY KEY, from_ts REAL NOT NULL, to_ts REAL NOT NULL,"
	" json TEXT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS mesh_views_to ON mesh_views (to_ts);"
	/*
	 * version 4: a passing window's evidence whole in window_evidence
	 * until store_prune_evidence (past the retention), in windows only
	 * what the report reads of it (evidence_report); the per-second rows of
	 * judged windows packed, one row per
	 * check id and STORE_PACK_SPAN_S seconds (store_pack_rows, rowpack.h),
	 * until their retention ends; and per check and verdict, how many
	 * windows and the first and
	 * last of them, kept with every window written, so status, /metrics
	 * and the verdict rule read a few rows instead of scanning a week of
	 * windows.
	 */
	"CREATE TABLE IF NOT EXISTS agg_pack ("
	" id INTEGER PRIMARY KEY, check_id TEXT NOT NULL, first_s INTEGER NOT NULL,"
	" last_s INTEGER NOT NULL, nrows INTEGER NOT NULL, data BLOB NOT NULL);"
	"CREATE INDEX IF NOT EXISTS agg_pack_check_last ON agg_pack (check_id, last_s);"
	"CREATE TABLE IF NOT EXISTS window_evidence ("
	" check_id TEXT NOT NULL, idx INTEGER NOT NULL, evidence TEXT NOT NULL,"
	" PRIMARY KEY (check_id, idx)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS window_counts ("
	" check_id TEXT NOT NULL, verdict INTEGER NOT NULL, n INTEGER NOT NULL,"
	" first_idx INTEGER NOT NULL, last_idx INTEGER NOT NULL,"
	" PRIMARY KEY (check_id, verdict)) WITHOUT ROWID;";

/*
 * version 4, in the windows table: a window whose reason text (evidence)
 * is the same as the window before it stores "" and the idx of the window
 * that holds the text in reason_from (evidence_from); NULL: its own. A week
 * of windows mostly repeats one text ("success 100.0% >= objective 99.0%
 * (100 requests)", "{}"). Older rows have NULL: they read as before. The
 * counts are computed once from the windows already there.
 */
static const char upgrade_v4_columns_sql[] =
	"ALTER TABLE windows ADD COLUMN reason_from INTEGER;"
	"ALTER TABLE windows ADD COLUMN evidence_from INTEGER;";
static const char upgrade_v4_counts_sql[] =
	"INSERT OR REPLACE INTO window_counts (check_id, verdict, n, first_idx, last_idx)"
	" SELECT check_id, verdict, count(*), min(idx), max(idx) FROM windows"
	" GROUP BY check_id, verdict;"
	/* for whoever reads the file with SQL (sqlite3, the e2e tests): every
	 * window with its texts, shared or not, as version 3 had them */
	"CREATE VIEW IF NOT EXISTS window_view AS"
	" SELECT w.check_id, w.idx, w.start_s, w.end_s, w.verdict, w.reason,"
	"  coalesce(r.reason_text, w.reason_text) AS reason_text,"
	"  coalesce(x.evidence, e.evidence, w.evidence) AS evidence,"
	"  w.total, w.ok, w.failed, w.count, w.sum_us, w.max_us, w.hist FROM windows w"
	" LEFT JOIN windows r ON r.check_id = w.check_id AND r.idx = w.reason_from"
	" LEFT JOIN windows e ON e.check_id = w.check_id AND e.idx = w.evidence_from"
	" LEFT JOIN window_evidence x ON x.check_id = w.check_id AND x.idx = w.idx;";

static int totals_rebuild(struct store *s);
static int upgrade_v4(struct store *s);
static int totals_add_batch_locked(struct store *s, const char *workload,
				   const struct agg_row *rows, size_t n);

static void set_err(struct store *s, const char *what)
{
	s->errcode = sqlite3_extended_errcode(s->db) & 0xff;
	str_fmt(s->err, sizeof(s->err), "%s: %s", what, sqlite3_errmsg(s->db));
}

const char *store_write_error(struct store *s)
{
	if (!s)
		return NULL;
	switch (s->errcode) {
	case SQLITE_FULL: return "disk full";
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_CANTOPEN: return "read-only";
	case SQLITE_IOERR: return "I/O error";
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB: return "database corrupt";
	default: return NULL;
	}
}

const char *store_errmsg(struct store *s)
{
	return s ? s->err : "no store";
}

/* Copy a text column, truncated to the destination; NULL reads as "". */
static void col_text(sqlite3_stmt *st, int i, char *dst, size_t len)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	str_copy(dst, len, t ? (const char *)t : "");
}

static uint64_t col_u64(sqlite3_stmt *st, int i)
{
	sqlite3_int64 v = sqlite3_column_int64(st, i);

	return v < 0 ? 0 : (uint64_t)v;
}

/* Clamp to SQLite's signed 64-bit integers. */
static sqlite3_int64 to_i64(uint64_t v)
{
	return v > (uint64_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)v;
}

static int exec(struct store *s, const char *sql)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		set_err(s, sql);
		return -1;
	}
	return 0;
}

/* A statement for sql: the cached one when it is free, else a new one
 * (cached when there is room). Give it back with unprepare. */
static sqlite3_stmt *prepare(struct store *s, const char *sql)
{
	struct store_stmt *free_slot = NULL;
	sqlite3_stmt *st = NULL;
	size_t i;

	for (i = 0; i < STORE_STMT_CACHE; i++) {
		struct store_stmt *c = &s->cache[i];

		if (c->sql == sql && !c->lent) {
			if (!strcmp(sqlite3_sql(c->st), sql)) {
				c->lent = 1;
				return c->st;
			}
			/* a formatted statement reused a buffer's address: drop the old one */
			sqlite3_finalize(c->st);
			memset(c, 0, sizeof(*c));
		}
		if (!c->sql && !free_slot)
			free_slot = c;
	}
	if (sqlite3_prepare_v3(s->db, sql, -1, free_slot ? SQLITE_PREPARE_PERSISTENT : 0, &st,
			       NULL) != SQLITE_OK) {
		set_err(s, "prepare");
		sqlite3_finalize(st);
		return NULL;
	}
	if (free_slot) {
		free_slot->sql = sql;
		free_slot->st = st;
		free_slot->lent = 1;
	}
	return st;
}

/* Give a statement from prepare back: a cached one is reset for its next
 * use (bindings cleared), any other finalized. NULL is fine. */
static void unprepare(struct store *s, sqlite3_stmt *st)
{
	size_t i;

	if (!st)
		return;
	for (i = 0; i < STORE_STMT_CACHE; i++) {
		if (s->cache[i].st == st) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			s->cache[i].lent = 0;
			return;
		}
	}
	sqlite3_finalize(st);
}

/* Run a statement that returns no rows. 0 or -1. */
static int step_done(struct store *s, sqlite3_stmt *st, const char *what)
{
	if (sqlite3_step(st) != SQLITE_DONE) {
		set_err(s, what);
		return -1;
	}
	return 0;
}

/* Step a statement that yields at most one row: 1 (a row), 0 (none), -1. */
static int step_one(struct store *s, sqlite3_stmt *st, const char *what)
{
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		return 1;
	case SQLITE_DONE:
		return 0;
	default:
		set_err(s, what);
		return -1;
	}
}

static int user_version(struct store *s, int *v)
{
	sqlite3_stmt *st = prepare(s, "PRAGMA user_version");
	int rc = -1;

	if (!st)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*v = sqlite3_column_int(st, 0);
		rc = 0;
	} else {
		set_err(s, "read schema version");
	}
	unprepare(s, st);
	return rc;
}

/* The version 4 columns (unless the table has them: it was made by this
 * version) and the window counts from the windows there are. */
static int upgrade_v4(struct store *s)
{
	sqlite3_stmt *st = prepare(s, "SELECT count(*) FROM pragma_table_info('windows')"
				   " WHERE name = 'reason_from'");
	int have = 0;

	if (!st)
		return -1;
	if (step_one(s, st, "read windows columns") == 1)
		have = sqlite3_column_int(st, 0);
	unprepare(s, st);
	if (!have && exec(s, upgrade_v4_columns_sql))
		return -1;
	return exec(s, upgrade_v4_counts_sql);
}

int store_open(const char *path, int create, struct store **out, char *err, size_t errlen)
{
	struct store *s;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	int ver = 0;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s) {
		str_fmt(err, errlen, "store: out of memory");
		return -1;
	}
	if (pthread_mutex_init(&s->mu, NULL)) {
		free(s);
		str_fmt(err, errlen, "store: mutex init failed");
		return -1;
	}
	if (create)
		flags |= SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
		str_fmt(err, errlen, "%s: %s", path, s->db ? sqlite3_errmsg(s->db) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, STORE_BUSY_MS);
	/*
	 * WAL + synchronous=FULL: every commit (one per batch) is fsynced
	 * before it returns, so an acked batch survives a power cut (NORMAL
	 * only syncs at checkpoints: a crash of the machine could lose the last
	 * acked batches, which the clients no longer hold). A failed write
	 * (SQLITE_FULL, _READONLY, _IOERR) rolls the transaction back: the
	 * database stays consistent and the batch is not acked.
	 */
	/*
	 * A 512 KiB page cache (SQLite's default is 2 MB): the hot pages are the
	 * right edges of a few B-trees, and a cache that fills for minutes as
	 * the file grows reads as memory growth in a soak.
	 */
	if (exec(s, "PRAGMA journal_mode=WAL") || exec(s, "PRAGMA synchronous=FULL") ||
	    exec(s, "PRAGMA cache_size=-512") || user_version(s, &ver))
		goto fail_msg;
	if ((ver == 0 && create) || (ver >= 1 && ver < STORE_SCHEMA_VERSION)) {
		/* new, or an older version: every statement is IF NOT EXISTS,
		 * so the schema upgrades in place; a store from before the
		 * running totals gets them computed from its rows, one from
		 * before version 4 its window counts */
		if (exec(s, "BEGIN IMMEDIATE"))
			goto fail_msg;
		if (exec(s, schema_sql) || ((ver == 1 || ver == 2) && totals_rebuild(s)) ||
		    upgrade_v4(s) || exec(s, "PRAGMA user_version=4")) {
			exec(s, "ROLLBACK");
			goto fail_msg;
		}
		if (exec(s, "COMMIT"))
			goto fail_msg;
	} else if (ver != STORE_SCHEMA_VERSION) {
		str_fmt(err, errlen, "%s: %s (schema version %d, want %d)", path,
			ver ? "unsupported store" : "not a conform store", ver,
			STORE_SCHEMA_VERSION);
		goto fail;
	}
	*out = s;
	return 0;
fail_msg:
	str_fmt(err, errlen, "%s: %s", path, s->err);
fail:
	sqlite3_close(s->db);
	pthread_mutex_destroy(&s->mu);
	free(s);
	return -1;
}

int64_t store_set_max_pages(struct store *s, int64_t max_pages)
{
	char sql[64];
	sqlite3_stmt *st;
	int64_t v = -1;

	pthread_mutex_lock(&s->mu);
	str_fmt(sql, sizeof(sql), "PRAGMA max_page_count=%lld", (long long)max_pages);
	st = prepare(s, sql);
	if (st && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else if (st)
		set_err(s, "max_page_count");
	unprepare(s, st);
	pthread_mutex_unlock(&s->mu);
	return v;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < STORE_STMT_CACHE; i++)
		sqlite3_finalize(s->cache[i].st);
	sqlite3_close(s->db);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* ---- run ---- */

int store_put_run(struct store *s, const struct store_run *r)
{
	sqlite3_stmt *st;
	int rc = -1;

	pthread_mutex_lock(&s->mu);
	st = prepare(s, "INSERT OR REPLACE INTO run (k, id, platform, mesh, started, ended,"
		     " window_ms, duration_ms, config_json) VALUES (1,?,?,?,?,?,?,?,?)");
	if (!st)
		goto out;
	sqlite3_bind_text(st, 1, r->id, (int)strnlen(r->id, sizeof(r->id)), SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, r->platform, (int)strnlen(r->platform, sizeof(r->platform)),
			  SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, r->mesh, (int)strnlen(r->mesh, sizeof(r->mesh)), SQLITE_TRANSIENT);
	sqlite3_bind_double(st, 4, r->started);
	sqlite3_bind_double(st, 5, r->ended);
	sqlite3_bind_int64(st, 6, r->window_ms);
	sqlite3_bind_int64(st, 7, r->duration_ms);
	sqlite3_bind_text(st, 8, r->config_json, (int)strnlen(r->config_json, sizeof(r->config_json)),
			  SQLITE_TRANSIENT);
	rc = step_done(s, st, "put run");
out:
	unprepare(s, st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store_get_run(struct store *s, struct store_run *r)
{
	sqlite3_stmt *st;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	pthread_mutex_lock(&s->mu);
	st = prepare(s, "SELECT id, platform, mesh, started, ended, window_ms, duration_ms,"
		     " config_json FROM run WHERE k = 1");
	if (!st)
		goto out;
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		col_text(st, 0, r->id, sizeof(r->id));
		col_text(st, 1, r->platform, sizeof(r->platform));
		col_text(st, 2, r->mesh, sizeof(r->mesh));
		r->started = sqlite3_column_double(st, 3);
		r->ended = sqlite3_column_double(st, 4);
		r->window_ms = sqlite3_column_int64(st, 5);
		r->duration_ms = sqlite3_column_int64(st, 6);
		col_text(st, 7, r->config_json, sizeof(r->config_json));
		rc = 0;
		break;
	case SQLITE_DONE:
		str_copy(s->err, sizeof(s->err), "get run: no run recorded");
		break;
	default:
		set_err(s, "get run");
	}
out:
	unprepare(s, st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store_set_run_ended(struct store *s, double ended)
{
	sqlite3_stmt *st;
	int rc = -1;

	pthread_mutex_lock(&s->mu);
	st = prepare(s, "UPDATE run SET ended = ? WHERE k = 1");
	if (!st)
		goto out;
	sqlite3_bind_double(st, 1, ended);
	if (step_done(s, st, "set run ended"))
		goto out;
	if (sqlite3_changes(s->db) != 1) {
		str_copy(s->err, sizeof(s->err), "set run ended: no run recorded");
		goto out;
	}
	rc = 0;
out:
	unprepare(s, st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* ---- counters (callers hold the mutex) ---- */

/* counter name: value added to it (raise 0), or raised to value when that
 * is more (raise 1, a mark that only moves forward) */
static int counter_put_locked(struct store *s, const char *name, int64_t value, int raise)
{
	sqlite3_stmt *st;
	int rc;

	st = prepare(s, raise ? "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT"
		     " (name) DO UPDATE SET value = MAX(value, excluded.value)"
		     : "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT"
		     " (name) DO UPDATE SET value = value + excluded.value");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, value);
	rc = step_done(s, st, raise ? "counter raise" : "counter add");
	unprepare(s, st);
	return rc;
}

static int counter_add_locked(struct store *s, const char *name, int64_t delta)
{
	return counter_put_locked(s, name, delta, 0);
}

static int counter_put(struct store *s, const char *name, int64_t value, int raise)
{
	int rc;

	pthread_mutex_lock(&s->mu);
	rc = counter_put_locked(s, name, value, raise);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store_counter_add(struct store *s, const char *name, int64_t delta)
{
	return counter_put(s, name, delta, 0);
}

int store_counter_raise(struct store *s, const char *name, int64_t value)
{
	return counter_put(s, name, value, 1);
}

int64_t store_counter_get(struct store *s, const char *name)
{
	sqlite3_stmt *st;
	int64_t v = 0;

	pthread_mutex_lock(&s->mu);
	st = prepare(s, "SELECT value FROM counters WHERE name = ?");
	if (st) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
	}
	unprepare(s, st);
	pthread_mutex_unlock(&s->mu);
	return v;
}

/* ---- batches and per-second aggregates ---- */

/* attempts as a blob of 8 little-endian u64, NULL when all zero */
static void bind_attempts(sqlite3_stmt *st, int i, const uint64_t *a)
{
	unsigned char buf[64];
	int any = 0;
	unsigned k, j;

	for (k = 0; k < 8; k++) {
		for (j = 0; j < 8; j++)
			buf[k * 8 + j] = (unsigned char)(a[k] >> (8 * j));
		any |= a[k] != 0;
	}
	if (any)
		sqlite3_bind_blob(st, i, buf, sizeof(buf), SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static int col_attempts(sqlite3_stmt *st, int i, uint64_t *a)
{
	const unsigned char *p = sqlite3_column_blob(st, i);
	int n = sqlite3_column_bytes(st, i);
	unsigned k, j;

	memset(a, 0, 8 * sizeof(*a));
	if (!p || n == 0)
		return 0;
	if (n != 64)
		return -1;
	for (k = 0; k < 8; k++)
		for (j = 0; j < 8; j++)
			a[k] |= (uint64_t)p[k * 8 + j] << (8 * j);
	return 0;
}

static int bind_hist(sqlite3_stmt *st, int i, const struct hist *h)
{
	size_t len = 0;
	unsigned char *blob = hist_blob_encode(h, &len);

	if (!blob)
		return -1;
	sqlite3_bind_blob(st, i, blob, (int)len, SQLITE_TRANSIENT);
	free(blob);
	return 0;
}

static int col_hist(sqlite3_stmt *st, int i, struct hist *h)
{
	const unsigned char *p = sqlite3_column_blob(st, i);
	int n = sqlite3_column_bytes(st, i);

	if (!p || n <= 0)
		return 0;
	return hist_blob_decode(h, p, (size_t)n);
}

static int insert_row(struct store *s, sqlite3_stmt *st, const char *workload,
		      const struct agg_row *r)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	sqlite3_bind_text(st, 1, r->check, (int)strnlen(r->check, sizeof(r->check)),
			  SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, workload, (int)strnlen(workload, sizeof(r->workload) - 1),
			  SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 3, (int)r->outcome);
	sqlite3_bind_int(st, 4, r->code);
	sqlite3_bind_text(st, 5, r->backend, (int)strnlen(r->backend, sizeof(r->backend)),
			  SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 6, r->identity, (int)strnlen(r->identity, sizeof(r->identity)),
			  SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 7, r->second);
	sqlite3_bind_int64(st, 8, to_i64(r->h.count));
	sqlite3_bind_int64(st, 9, to_i64(r->h.sum_us));
	sqlite3_bind_int64(st, 10, to_i64(r->h.max_us));
	if (bind_hist(st, 11, &r->h)) {
		str_copy(s->err, sizeof(s->err), "put batch: out of memory");
		return -1;
	}
	bind_attempts(st, 12, r->attempts);
	return step_done(s, st, "insert aggregate");
}

static int insert_sample(struct store *s, sqlite3_stmt *st, const char *workload,
			 const struct store_sample *x)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	sqlite3_bind_text(st, 1, x->check, (int)strnlen(x->check, sizeof(x->check) - 1),
			  SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, workload, (int)strnlen(workload, sizeof(x->workload) - 1),
			  SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, x->request_id,
			  (int)strnlen(x->request_id, sizeof(x->request_id) - 1), SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 4, (int)x->outcome);
	sqlite3_bind_int(st, 5, x->code);
	sqlite3_bind_int64(st, 6, to_i64(x->latency_us));
	sqlite3_bind_text(st, 7, x->backend, (int)strnlen(x->backend, sizeof(x->backend) - 1),
			  SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 8, x->identity, (int)strnlen(x->identity, sizeof(x->identity) - 1),
			  SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 9, x->ts_ms);
	return step_done(s, st, "insert sample");
}

/*
 * 1 when seq is at or below the reporter instance's pruned floor: such a
 * batch was stored once and its dedupe record has since been pruned
 * (store_prune), so it is a duplicate. 0, or -1 on a store error.
 */
static int below_floor_locked(struct store *s, const char *workload, uint64_t instance,
			      uint64_t seq)
{
	sqlite3_stmt *st;
	int rc = -1;

	st = prepare(s, "SELECT seq FROM batch_floor WHERE workload = ? AND instance = ?");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, workload, (int)strnlen(workload, 63), SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)instance);
	rc = step_one(s, st, "batch floor");
	if (rc == 1)
		rc = (uint64_t)sqlite3_column_int64(st, 0) >= seq;
	unprepare(s, st);
	return rc;
}

int store_put_batch(struct store *s, const char *workload, uint64_t instance, uint64_t seq,
		    const struct agg_row *rows, size_t n)
{
	return store_put_batch_samples(s, workload, instance, seq, rows, n, NULL, 0);
}

int store_put_batch_samples(struct store *s, const char *workload, uint64_t instance,
			    uint64_t seq, const struct agg_row *rows, size_t n,
			    const struct store_sample *samples, size_t nsamples)
{
	struct store_batch b = {
		.workload = workload, .instance = instance, .seq = seq, .rows = rows, .n = n,
		.samples = samples, .nsamples = nsamples,
	};

	if (store_put_batches(s, &b, 1) < 0)
		return -1;
	return b.rc;
}

/*
 * One batch inside the group's open transaction, with the group's prepared
 * statements: b->rc = 1 stored, 0 duplicate. 0, or -1 on a write error (the
 * caller rolls the whole group back).
 */
static int put_one_locked(struct store *s, sqlite3_stmt *st, sqlite3_stmt *ins,
			  sqlite3_stmt *sins, struct store_batch *b, uint64_t *acc, uint64_t *dups)
{
	size_t i;
	int dup;

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	sqlite3_bind_text(st, 1, b->workload, (int)strnlen(b->workload, 63), SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)b->instance);  /* bit pattern kept */
	sqlite3_bind_int64(st, 3, (sqlite3_int64)b->seq);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)b->n);
	sqlite3_bind_double(st, 5, wall_s());
	dup = below_floor_locked(s, b->workload, b->instance, b->seq);
	if (dup < 0)
		return -1;
	if (!dup) {
		if (step_done(s, st, "insert batch"))
			return -1;
		/* a resend of a batch earlier in this same group lands here too */
		dup = sqlite3_changes(s->db) == 0;
	}
	if (dup) {
		/* seen before: acked again, stored once */
		(*dups)++;
		b->rc = 0;
		return 0;
	}
	for (i = 0; i < b->n; i++)
		if (insert_row(s, ins, b->workload, &b->rows[i]))
			return -1;
	if (totals_add_batch_locked(s, b->workload, b->rows, b->n))
		return -1;
	for (i = 0; i < b->nsamples; i++)
		if (insert_sample(s, sins, b->workload, &b->samples[i]))
			return -1;
	(*acc)++;
	b->rc = 1;
	return 0;
}

int store_put_batches(struct store *s, struct store_batch *bs, size_t nb)
{
	sqlite3_stmt *st = NULL, *ins = NULL, *sins = NULL;
	uint64_t acc = 0, dups = 0;
	int rc = -1, began = 0;
	size_t i;

	for (i = 0; i < nb; i++)
		bs[i].rc = -1;
	if (!nb)
		return 0;
	pthread_mutex_lock(&s->mu);
	if (exec(s, "BEGIN IMMEDIATE"))
		goto out;
	began = 1;
	st = prepare(s, "INSERT OR IGNORE INTO batches (workload, instance, seq, nrows, received)"
		     " VALUES (?, ?, ?, ?, ?)");
	ins = prepare(s, "INSERT INTO agg (check_id, workload, outcome, code, backend, identity,"
		      " second, count, sum_us, max_us, hist, attempts)"
		      " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
	sins = prepare(s, "INSERT INTO samples (check_id, workload, request_id, outcome,"
		       " code, latency_us, backend, identity, ts_ms)"
		       " VALUES (?,?,?,?,?,?,?,?,?)");
	if (!st || !ins || !sins)
		goto out;
	for (i = 0; i < nb; i++)
		if (put_one_locked(s, st, ins, sins, &bs[i], &acc, &dups) ||
		    (bs[i].mark && counter_put_locked(s, bs[i].mark, bs[i].mark_value, 1)))
			goto out;
	if ((acc && counter_add_locked(s, "batches.accepted", (int64_t)acc)) ||
	    (dups && counter_add_locked(s, "batches.duplicate", (int64_t)dups)) ||
	    exec(s, "COMMIT"))
		goto out;
	began = 0;
	rc = 0;
out:
	if (rc < 0)
		for (i = 0; i < nb; i++)
			bs[i].rc = -1;   /* rolled back: nothing of the group is stored */
	if (began && !sqlite3_get_autocommit(s->db) &&
	    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
		log_kv(LOG_WARN, "store rollback failed", "error=\"%s\"", sqlite3_errmsg(s->db));
	unprepare(s, st);
	unprepare(s, ins);
	unprepare(s, sins);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* ---- pruning (bounded growth) ---- */

/* Step a prepared DELETE (NULL: prepare failed), finalize it and unlock:
 * the rows it deleted, or -1. */
static int64_t delete_unlock(struct store *s, sqlite3_stmt *st, const char *what)
{
	int64_t n = -1;

	if (st && !step_done(s, st, what))
		n = sqlite3_changes(s->db);
	unprepare(s, st);
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* The rows of a pack kept by a trim: those at or after `from`, with their ids. */
struct pack_trim {
	struct agg_row *rows;
	int64_t *ids;
	size_t n, cap, dropped;
	int64_t from;
};

static int pack_trim_add(void *ctx, const struct agg_row *r, int64_t id)
{
	struct pack_trim *t = ctx;

	if (r->second < t->from) {
		t->dropped++;
		return 0;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		void *nr = realloc(t->rows, cap * sizeof(*t->rows)), *ni;

		if (!nr)
			return -2;
		t->rows = nr;
		ni = realloc(t->ids, cap * sizeof(*t->ids));
		if (!ni)
			return -2;
		t->ids = ni;
		t->cap = cap;
	}
	t->rows[t->n] = *r;
	t->ids[t->n++] = id;
	return 0;
}

/*
 * The packs of check whose span holds before_s lose their rows before it
 * (rewritten, or deleted when none is left), so retention is exact for
 * packed rows too. Returns the rows dropped, -1 on error.
 */
static int64_t trim_packs_locked(struct store *s, const char *check, int64_t before_s)
{
	struct dynbuf b = DYNBUF_INIT(64u << 20);
	sqlite3_stmt *st = NULL, *up = NULL;
	int64_t dropped = 0, ids[64];
	size_t nids = 0, i;
	int step;

	/* the packs to trim: few (one per check id and span), ids first */
	st = prepare(s, "SELECT id FROM agg_pack WHERE " CHECK_MATCH
		     " AND first_s < ?2 AND last_s >= ?2 LIMIT 64");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, check, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, before_s);
	while ((step = sqlite3_step(st)) == SQLITE_ROW)
		ids[nids++] = sqlite3_column_int64(st, 0);
	unprepare(s, st);
	st = NULL;
	if (step != SQLITE_DONE) {
		set_err(s, "trim packs");
		return -1;
	}
	for (i = 0; i < nids; i++) {
		struct pack_trim t = { NULL, NULL, 0, 0, 0, before_s };
		int k;

		st = prepare(s, "SELECT data FROM agg_pack WHERE id = ?");
		if (!st)
			goto fail;
		sqlite3_bind_int64(st, 1, ids[i]);
		k = step_one(s, st, "trim packs");
		if (k < 0)
			goto fail;
		if (!k) {
			unprepare(s, st);
			st = NULL;
			continue;
		}
		k = rowpack_decode(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
				   pack_trim_add, &t);
		unprepare(s, st);
		st = NULL;
		if (k == -2) {
			str_copy(s->err, sizeof(s->err), "trim packs: out of memory");
			free(t.rows);
			free(t.ids);
			goto fail;
		}
		/* a damaged pack goes whole: its rows cannot be read anyway */
		if (k || !t.n) {
			up = prepare(s, "DELETE FROM agg_pack WHERE id = ?");
			if (up)
				sqlite3_bind_int64(up, 1, ids[i]);
		} else if (!rowpack_encode(t.rows, t.ids, t.n, &b)) {
			up = prepare(s, "UPDATE agg_pack SET first_s = ?2, nrows = ?3, data = ?4"
				     " WHERE id = ?1");
			if (up) {
				sqlite3_bind_int64(up, 1, ids[i]);
				sqlite3_bind_int64(up, 2, t.rows[0].second);
				sqlite3_bind_int64(up, 3, (sqlite3_int64)t.n);
				sqlite3_bind_blob(up, 4, b.buf, (int)b.len, SQLITE_TRANSIENT);
			}
		} else {
			str_copy(s->err, sizeof(s->err), "trim packs: out of memory");
		}
		free(t.rows);
		free(t.ids);
		if (!up || step_done(s, up, "trim packs"))
			goto fail;
		unprepare(s, up);
		up = NULL;
		dropped += (int64_t)t.dropped;
	}
	dynbuf_release(&b);
	return dropped;
fail:
	unprepare(s, st);
	unprepare(s, up);
	dynbuf_release(&b);
	return -1;
}

int64_t store_prune_rows(struct store *s, const char *check, int64_t before_s, int64_t max_rows)
{
	sqlite3_stmt *st;
	int64_t n = -1, budget = max_rows > 0 ? max_rows : 1, id = 0, rows = 0;
	int k;

	pthread_mutex_lock(&s->mu);
	st = prepare(s, "DELETE FROM agg WHERE id IN (SELECT id FROM agg WHERE " CHECK_MATCH
		     " AND second < ?2 LIMIT ?3)");
	if (!st)
		goto out;
	sqlite3_bind_text(st, 1, check, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, before_s);
	sqlite3_bind_int64(st, 3, budget);
	if (step_done(s, st, "prune rows"))
		goto out;
	n = sqlite3_changes(s->db);
	unprepare(s, st);
	st = NULL;
	/* then whole packs all of whose rows are older, one at a time */
	while (n < budget) {
		st = prepare(s, "SELECT id, nrows FROM agg_pack WHERE " CHECK_MATCH
			     " AND last_s < ?2 ORDER BY last_s LIMIT 1");
		if (!st) {
			n = -1;
			goto out;
		}
		sqlite3_bind_text(st, 1, check, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, before_s);
		k = step_one(s, st, "prune rows");
		if (k == 1) {
			id = sqlite3_column_int64(st, 0);
			rows = sqlite3_column_int64(st, 1);
		}
		unprepare(s, st);
		st = NULL;
		if (k <= 0) {
			if (k < 0)
				n = -1;
			break;
		}
		if (n > 0 && n + rows > budget)
			break;          /* the next call takes it */
		st = prepare(s, "DELETE FROM agg_pack WHERE id = ?");
		if (!st) {
			n = -1;
			goto out;
		}
		sqlite3_bind_int64(st, 1, id);
		k = step_done(s, st, "prune rows");
		unprepare(s, st);
		st = NULL;
		if (k) {
			n = -1;
			goto out;
		}
		n += rows > 0 ? rows : 0;
	}
	/* and the older rows of a pack that holds the cutoff */
	if (n >= 0 && n < budget) {
		int64_t t = trim_packs_locked(s, check, before_s);

		n = t < 0 ? -1 : n + t;
	}
out:
	unprepare(s, st);
	pthread_mutex_unlock(&s->mu);
	return n;
}

int64_t store_prune_samples(struct store *s, int64_t before_ms, int keep_per_incident)
{
	sqlite3_stmt *st;

	pthread_mutex_lock(&s->mu);
	/*
	 * An incident's first keep_per_incident samples (by time, of its check
	 * or of the checks that are its variants) are the evidence the report
	 * shows: kept. Only samples before the cut are ranked; a newer one
	 * ranks after all of them anyway, so the first ones are the same.
	 */
	st = prepare(s, "DELETE FROM samples WHERE ts_ms < ?1 AND id NOT IN (SELECT id FROM"
		     " (SELECT x.id AS id, row_number() OVER (PARTITION BY i.check_id, i.start_s"
		     " ORDER BY x.ts_ms, x.id) AS n FROM incidents i JOIN samples x ON "
		     CHECK_OF("x.check_id", "i.check_id") " AND x.ts_ms >= i.start_s * 1000 AND x.ts_ms < i.end_s * 1000"
		     " WHERE x.ts_ms < ?1) WHERE n <= ?2)");
	if (st) {
		sqlite3_bind_int64(st, 1, before_ms);
		sqlite3_bind_int(st, 2, keep_per_incident);
	}
	return delete_unlock(s, st, "prune samples");
}

int64_t store_prune_batches(struct store *s, double received_before)
{
	sqlite3_stmt *fl = NULL, *del = NULL;
	int64_t n = -1;
	int began = 0;

	pthread_mutex_lock(&s->mu);
	if (exec(s, "BEGIN IMMEDIATE"))
		goto out;
	began = 1;
	fl = prepare(s, "INSERT INTO batch_floor (workload, instance, seq)"
		     " SELECT workload, instance, max(seq) FROM batches WHERE received < ?"
		     " GROUP BY workload, instance ON CONFLICT (workload, instance)"
		     " DO UPDATE SET seq = max(seq, excluded.seq)");
	del = prepare(s, "DELETE FROM batches WHERE received < ?");
	if (!fl || !del)
		goto out;
	sqlite3_bind_double(fl, 1, received_before);
	sqlite3_bind_double(del, 1, received_before);
	if (step_done(s, fl, "prune batches") || step_done(s, del, "prune batches"))
		goto out;
	n = sqlite3_changes(s->db);
	if (exec(s, "COMMIT")) {
		n = -1;
		goto out;
	}
	began = 0;
out:
	if (began && !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	unprepare(s, fl);
	unprepare(s, del);
	pthread_mutex_unlock(&s->mu);
	return n;
}

int store_get_samples(struct store *s, const char *check, int64_t from_ms, int64_t to_ms,
		      struct store_sample *out, size_t max)
{
	sqlite3_stmt *st;
	size_t len = 0;
	int rc = -1, step = SQLITE_DONE;

	pthread_mutex_lock(&s->mu);
	st = prepare(s, "SELECT check_id, workload, request_id, outcome, code, latency_us,"
		     " backend, identity, ts_ms FROM samples WHERE " CHECK_MATCH
		     " AND ts_ms >= ?2 AND ts_ms < ?3 ORDER BY ts_ms, id LIMIT ?4");
	if (!st)
		goto out;
	sqlite3_bind_text(st, 1, check, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, from_ms);
	sqlite3_bind_int64(st, 3, to_ms);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)(max > 1000 ? 1000 : max));
	while (len < max && (step = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_sample *x = &out[len++];
		int o;

		memset(x, 0, sizeof(*x));
		col_text(st, 0, x->check, sizeof(x->check));
		col_text(st, 1, x->workload, sizeof(x->workload));
		col_text(st, 2, x->request_id, sizeof(x->request_id));
		o = sqlite3_column_int(st, 3);
		x->outcome = outcome_valid((unsigned)o) ? (unsigned)o : OUT_OTHER;
		x->code = sqlite3_column_int(st, 4);
		x->latency_us = col_u64(st, 5);
		col_text(st, 6, x->backend, sizeof(x->backend));
		col_text(st, 7, x->identity, sizeof(x->identity));
		x->ts_ms = sqlite3_column_int64(st, 8);
	}
	if (step != SQLITE_DONE && step != SQLITE_ROW) {
		set_err(s, "get samples");
		goto out;
	}
	rc = (int)len;
out:
	unprepare(s, st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/*
 * Read one agg row. Returns 0, or -1 for a damaged row (skipped by callers):
 * a histogram blob that does not decode, negative counts, a bad attempts blob.
 */
static int read_row(sqlite3_stmt *st, struct agg_row *r)
{
	int64_t id = sqlite3_column_int64(st, 0);
	int outcome;

	memset(r, 0, sizeof(*r));
	col_text(st, 1, r->check, sizeof(r->check));
	col_text(st, 2, r->workload, sizeof(r->workload));
	outcome = sqlite3_column_int(st, 3);
	r->outcome = outcome_valid((unsigned)outcome) ? (unsigned)outcome : OUT_OTHER;
	r->code = sqlite3_column_int(st, 4);
	col_text(st, 5, r->backend, sizeof(r->backend));
	col_text(st, 6, r->identity, sizeof(r->identity));
	r->second = sqlite3_column_int64(st, 7);
	if (sqlite3_column_int64(st, 8) < 0 || sqlite3_column_int64(st, 9) < 0 ||
	    sqlite3_column_int64(st, 10) < 0)
		goto bad;
	hist_init(&r->h);
	if (col_hist(st, 11, &r->h))
		goto bad;
	r->h.count = col_u64(st, 8);
	r->h.sum_us = col_u64(st, 9);
	r->h.max_us = col_u64(st, 10);
	if (col_attempts(st, 12, r->attempts))
		goto bad;
	return 0;
bad:
	log_kv(LOG_WARN, "store: skipped a damaged aggregate row", "row=%" PRId64, id);
	return -1;
}

/* ---- running totals (schema 3) ---- */

#define TOT_GROUPS 16

/* Rows being added to the totals, by (base check, outcome). */
struct tot_groups {
	size_t n;
	struct {
		char check[32];  /* a variant "X/slow" counts for X */
		unsigned outcome;
		struct hist h;
	} g[TOT_GROUPS];
};

/* A totals row's count, sum_us, max_us, hist at columns i..i+3 into *h; a
 * damaged histogram loses the latency spread, never the counts. */
static void col_totals(sqlite3_stmt *st, int i, const char *check, struct hist *h)
{
	hist_init(h);
	if (col_hist(st, i + 3, h)) {
		log_kv(LOG_WARN, "store: damaged totals histogram", "check=%s", check);
		hist_init(h);
	}
	h->count = col_u64(st, i);
	h->sum_us = col_u64(st, i + 1);
	h->max_us = col_u64(st, i + 2);
}

/* Merge one group into its totals row: read, add, write back. */
static int totals_put_locked(struct store *s, const char *check, unsigned outcome,
			     const struct hist *add)
{
	sqlite3_stmt *get, *put = NULL;
	struct hist h;
	int rc = -1, step;

	hist_init(&h);
	get = prepare(s, "SELECT count, sum_us, max_us, hist FROM totals"
		      " WHERE check_id = ? AND outcome = ?");
	if (!get)
		goto out;
	sqlite3_bind_text(get, 1, check, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(get, 2, (int)outcome);
	step = step_one(s, get, "get totals");
	if (step < 0)
		goto out;
	if (step == 1)
		col_totals(get, 0, check, &h);
	hist_merge(&h, add);
	put = prepare(s, "INSERT OR REPLACE INTO totals (check_id, outcome, count, sum_us,"
		      " max_us, hist) VALUES (?,?,?,?,?,?)");
	if (!put)
		goto out;
	sqlite3_bind_text(put, 1, check, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(put, 2, (int)outcome);
	sqlite3_bind_int64(put, 3, to_i64(h.count));
	sqlite3_bind_int64(put, 4, to_i64(h.sum_us));
	sqlite3_bind_int64(put, 5, to_i64(h.max_us));
	if (bind_hist(put, 6, &h)) {
		str_copy(s->err, sizeof(s->err), "put totals: out of memory");
		goto out;
	}
	rc = step_done(s, put, "put totals");
out:
	unprepare(s, get);
	unprepare(s, put);
	return rc;
}

static int totals_flush_locked(struct store *s, struct tot_groups *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (totals_put_locked(s, t->g[i].check, t->g[i].outcome, &t->g[i].h))
			return -1;
	t->n = 0;
	return 0;
}

/* Add one client row to its group, writing the groups out when full. */
static int totals_add_locked(struct store *s, struct tot_groups *t, const struct agg_row *r)
{
	size_t i, len = strcspn(r->check, "/");

	if (len >= sizeof(t->g[0].check))
		len = sizeof(t->g[0].check) - 1;
	for (i = 0; i < t->n; i++)
		if (t->g[i].outcome == r->outcome && !strncmp(t->g[i].check, r->check, len) &&
		    t->g[i].check[len] == '\0')
			break;
	if (i == t->n) {
		if (t->n == TOT_GROUPS && totals_flush_locked(s, t))
			return -1;
		i = t->n++;
		memcpy(t->g[i].check, r->check, len);
		t->g[i].check[len] = '\0';
		t->g[i].outcome = r->outcome;
		hist_init(&t->g[i].h);
	}
	hist_merge(&t->g[i].h, &r->h);
	return 0;
}

/* A batch's client rows into the totals (conformd's own rows are not requests). */
static int totals_add_batch_locked(struct store *s, const char *workload,
				   const struct agg_row *rows, size_t n)
{
	struct tot_groups *t;
	size_t i;
	int rc = -1;

	if (!n || !strncmp(workload, "conformd", 8))
		return 0;
	t = calloc(1, sizeof(*t));
	if (!t) {
		str_copy(s->err, sizeof(s->err), "put batch: out of memory");
		return -1;
	}
	for (i = 0; i < n; i++)
		if (totals_add_locked(s, t, &rows[i]))
			goto out;
	rc = totals_flush_locked(s, t);
out:
	free(t);
	return rc;
}

/* Upgrade from schema 1 or 2: the totals of every row already stored. */
static int totals_rebuild(struct store *s)
{
	struct tot_groups *t = calloc(1, sizeof(*t));
	sqlite3_stmt *st = NULL;
	struct agg_row r;
	int rc = -1, step;

	if (!t) {
		str_copy(s->err, sizeof(s->err), "upgrade: out of memory");
		return -1;
	}
	st = prepare(s, "SELECT " ROW_COLS " FROM agg WHERE " NOT_MONITOR);
	if (!st)
		goto out;
	while ((step = sqlite3_step(st)) == SQLITE_ROW)
		if (read_row(st, &r) == 0 && totals_add_locked(s, t, &r))
			goto out;
	if (step != SQLITE_DONE) {
		set_err(s, "upgrade totals");
		goto out;
	}
	rc = totals_flush_locked(s, t);
out:
	unprepare(s, st);
	free(t);
	return rc;
}

/*
 * The end of a list query that grew arr to len elements: set the error when
 * the rows stopped on anything but SQLITE_DONE (step; a failure before that
 * has set it already: failed), finalize, unlock, and hand the array over
 * (NULL when empty or on error: then it is freed). *rc gets 0 or -1.
 */
static void *finish_list(struct store *s, sqlite3_stmt *st, int failed, int step,
			 const char *what, void *arr, size_t *len, int *rc)
{
	if (!failed && step != SQLITE_DONE) {
		set_err(s, what);
		failed = 1;
	}
	unprepare(s, st);
	pthread_mutex_unlock(&s->mu);
	if (failed || !*len) {
		free(arr);
		arr = NULL;
		*len = 0;
	}
	*rc = failed ? -1 : 0;
	return arr;
}

/*
 * Room for more elements in a growing result array: doubles *cap (from 16),
 * at most STORE_MAX_ROWS. Returns the (maybe moved) array, or NULL with
 * s->err set ("<what>: too many" / "<what>: out of memory"); on NULL the old
 * array is untouched and still the caller's to free.
 */
static void *store_grow(struct store *s, void *arr, size_t *cap, size_t elem, const char *what)
{
	size_t ncap = *cap ? *cap * 2 : 16;
	void *na;

	if (ncap > STORE_MAX_ROWS) {
		str_fmt(s->err, sizeof(s->err), "%s: too many", what);
		return NULL;
	}
	na = realloc(arr, ncap * elem);
	if (!na) {
		str_fmt(s->err, sizeof(s->err), "%s: out of memory", what);
		return NULL;
	}
	*cap = ncap;
	return na;
}


/* Run a SELECT of ROW_COLS (bound by the caller) into a new array. */
/* Rows gathered from packs and loose rows for [from, to) (store_get_rows). */
struct rows_out {
	struct store *s;
	struct agg_row *arr;
	int64_t *ids;           /* each row's store id: the order within a second */
	size_t len, cap;
	int64_t from, to;
};

/* -2 when memory runs out (a damaged pack makes rowpack_decode say -1) */
static struct agg_row *rows_out_slot(struct rows_out *o)
{
	if (o->len == o->cap) {
		size_t cap = o->cap;
		void *na = store_grow(o->s, o->arr, &cap, sizeof(*o->arr), "get rows"), *ni;

		if (!na)
			return NULL;
		o->arr = na;
		ni = realloc(o->ids, cap * sizeof(*o->ids));
		if (!ni) {
			str_copy(o->s->err, sizeof(o->s->err), "get rows: out of memory");
			return NULL;
		}
		o->ids = ni;
		o->cap = cap;
	}
	return &o->arr[o->len];
}

static int rows_out_add(void *ctx, const struct agg_row *r, int64_t id)
{
	struct rows_out *o = ctx;
	struct agg_row *slot;

	if (r->second < o->from || r->second >= o->to)
		return 0;
	slot = rows_out_slot(o);
	if (!slot)
		return -2;
	*slot = *r;
	o->ids[o->len++] = id;
	return 0;
}

/* The rows of every pack st yields (column 0 its id, 1 its data). */
static int rows_from_packs(struct rows_out *o, sqlite3_stmt *st)
{
	int step;

	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *p = sqlite3_column_blob(st, 1);
		int k = rowpack_decode(p, (size_t)sqlite3_column_bytes(st, 1), rows_out_add, o);

		if (k == -2)
			return -1;
		if (k)
			log_kv(LOG_WARN, "store: skipped a damaged row pack", "pack=%" PRId64,
			       (int64_t)sqlite3_column_int64(st, 0));
	}
	if (step != SQLITE_DONE) {
		set_err(o->s, "get rows");
		return -1;
	}
	return 0;
}

static int rows_from_loose(struct rows_out *o, sqlite3_stmt *st)
{
	int step;

	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct agg_row *slot = rows_out_slot(o);

		if (!slot)
			return -1;
		if (read_row(st, slot) == 0)
			o->ids[o->len++] = sqlite3_column_int64(st, 0);
	}
	if (step != SQLITE_DONE) {
		set_err(o->s, "get rows");
		return -1;
	}
	return 0;
}

struct row_key {
	int64_t second, id;
	size_t ord;
};

static int row_key_cmp(const void *a, const void *b)
{
	const struct row_key *x = a, *y = b;

	if (x->second != y->second)
		return x->second < y->second ? -1 : 1;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->ord < y->ord ? -1 : x->ord > y->ord;
}

/* By second and id, as the loose rows alone come (ORDER BY second, id). */
static int rows_sort(struct rows_out *o)
{
	struct row_key *k;
	struct agg_row *na;
	size_t i;

	for (i = 1; i < o->len && (o->arr[i - 1].second < o->arr[i].second ||
				    (o->arr[i - 1].second == o->arr[i].second &&
				     o->ids[i - 1] <= o->ids[i])); i++)
		;
	if (i >= o->len)
		return 0;
	k = malloc(o->len * sizeof(*k));
	na = malloc(o->len * sizeof(*na));
	if (!k || !na) {
		free(k);
		free(na);
		str_copy(o->s->err, sizeof(o->s->err), "get rows: out of memory");
		return -1;
	}
	for (i = 0; i < o->len; i++) {
		k[i].second = o->arr[i].second;
		k[i].id = o->ids[i];
		k[i].ord = i;
	}
	qsort(k, o->len, sizeof(*k), row_key_cmp);
	for (i = 0; i < o->len; i++)
		na[i] = o->arr[k[i].ord];
	free(k);
	free(o->arr);
	o->arr = na;
	o->cap = o->len;
	return 0;
}

/*
 * Packed rows first (pack_sql binds ?1 check when it has one, ?2 from, ?3
 * to), then loose rows (loose_sql, the same bindings), sorted by second.
 */
static int get_rows_locked(struct store *s, const char *check, const char *pack_sql,
			   const char *loose_sql, int64_t from_s, int64_t to_s,
			   struct agg_row **rows, size_t *n)
{
	struct rows_out o = { s, NULL, NULL, 0, 0, from_s, to_s };
	const char *const sqls[2] = { pack_sql, loose_sql };
	int rc = -1, k;

	for (k = 0; k < 2; k++) {
		sqlite3_stmt *st = prepare(s, sqls[k]);
		int r;

		if (!st)
			goto out;
		if (check)
			sqlite3_bind_text(st, 1, check, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, from_s);
		sqlite3_bind_int64(st, 3, to_s);
		r = k ? rows_from_loose(&o, st) : rows_from_packs(&o, st);
		unprepare(s, st);
		if (r)
			goto out;
	}
	rc = rows_sort(&o);
out:
	free(o.ids);
	if (rc || !o.len) {
		free(o.arr);
		o.arr = NULL;
		o.len = 0;
	}
	*rows = o.arr;
	*n = o.len;
	return rc;
}

int store_get_rows(struct store *s, const char *check, int64_t from_s, int64_t to_s,
		   struct agg_row **rows, size_t *n)
{
	int rc;

	pthread_mutex_lock(&s->mu);
	rc = get_rows_locked(s, check,
			     "SELECT id, data FROM agg_pack WHERE " CHECK_MATCH
			     " AND last_s >= ?2 AND first_s < ?3 ORDER BY first_s, id",
			     "SELECT " ROW_COLS " FROM agg WHERE " CHECK_MATCH
			     " AND second >= ?2 AND second < ?3 ORDER BY second, id",
			     from_s, to_s, rows, n);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store_get_rows_all(struct store *s, int64_t from_s, int64_t to_s, struct agg_row **rows,
		       size_t *n)
{
	int rc;

	pthread_mutex_lock(&s->mu);
	rc = get_rows_locked(s, NULL,
			     "SELECT id, data FROM agg_pack WHERE ?1 IS NULL"
			     " AND last_s >= ?2 AND first_s < ?3 ORDER BY first_s, id",
			     "SELECT " ROW_COLS " FROM agg WHERE ?1 IS NULL"
			     " AND second >= ?2 AND second < ?3 ORDER BY second, id",
			     from_s, to_s, rows, n);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* Insert one pack of rows[0..n) (one check id). 0 or -1. */
static int put_pack_locked(struct store *s, const struct agg_row *rows, const int64_t *ids,
			   size_t n, struct dynbuf *b)
{
	sqlite3_stmt *st;
	int rc;

	if (rowpack_encode(rows, ids, n, b)) {
		str_copy(s->err, sizeof(s->err), "pack rows: out of memory");
		return -1;
	}
	st = prepare(s, "INSERT INTO agg_pack (check_id, first_s, last_s, nrows, data)"
		     " VALUES (?,?,?,?,?)");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, rows[0].check, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, rows[0].second);
	sqlite3_bind_int64(st, 3, rows[n - 1].second);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)n);
	sqlite3_bind_blob(st, 5, b->buf, (int)b->len, SQLITE_TRANSIENT);
	rc = step_done(s, st, "pack rows");
	unprepare(s, st);
	return rc;
}

int64_t store_pack_rows(struct store *s, const char *check, int64_t before_s, int64_t max_rows)
{
	struct dynbuf b = DYNBUF_INIT(64u << 20);
	struct agg_row *rows = NULL;
	int64_t *ids = NULL, before = before_s - (before_s % STORE_PACK_SPAN_S + STORE_PACK_SPAN_S) %
					      STORE_PACK_SPAN_S;
	size_t n = 0, cap = 0, i, from;
	sqlite3_stmt *st = NULL;
	int64_t rc = -1;
	int began = 0, step;

	pthread_mutex_lock(&s->mu);
	if (exec(s, "BEGIN IMMEDIATE"))
		goto out;
	began = 1;
	st = prepare(s, "SELECT " ROW_COLS " FROM agg WHERE " CHECK_MATCH
		     " AND second < ?2 ORDER BY check_id, second, id LIMIT ?3");
	if (!st)
		goto out;
	sqlite3_bind_text(st, 1, check, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, before);
	sqlite3_bind_int64(st, 3, max_rows > 0 ? max_rows : 1);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			size_t c = cap;
			void *na = store_grow(s, rows, &c, sizeof(*rows), "pack rows"), *ni;

			if (!na)
				goto out;
			rows = na;
			ni = realloc(ids, c * sizeof(*ids));
			if (!ni) {
				str_copy(s->err, sizeof(s->err), "pack rows: out of memory");
				goto out;
			}
			ids = ni;
			cap = c;
		}
		if (read_row(st, &rows[n]) == 0)   /* a damaged row stays, for the prune */
			ids[n++] = sqlite3_column_int64(st, 0);
	}
	if (step != SQLITE_DONE) {
		set_err(s, "pack rows");
		goto out;
	}
	unprepare(s, st);
	st = NULL;
	/* one pack per check id and span, in order */
	for (from = 0, i = 1; i <= n; i++) {
		if (i < n && !strcmp(rows[i].check, rows[from].check) &&
		    rows[i].second / STORE_PACK_SPAN_S == rows[from].second / STORE_PACK_SPAN_S)
			continue;
		if (put_pack_locked(s, rows + from, ids + from, i - from, &b))
			goto out;
		from = i;
	}
	st = prepare(s, "DELETE FROM agg WHERE id = ?");
	if (!st)
		goto out;
	for (i = 0; i < n; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, ids[i]);
		if (step_done(s, st, "pack rows"))
			goto out;
	}
	if (exec(s, "COMMIT"))
		goto out;
	began = 0;
	rc = (int64_t)n;
out:
	unprepare(s, st);
	if (began && !sqlite3_get_autocommit(s->db) &&
	    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
		log_kv(LOG_WARN, "store rollback failed", "error=\"%s\"", sqlite3_errmsg(s->db));
	pthread_mutex_unlock(&s->mu);
	dynbuf_release(&b);
	free(rows);
	free(ids);
	return rc;
}

int store_get_totals(struct store *s, const char *check, struct store_totals *t)
{
	sqlite3_stmt *st;
	int rc = -1, step;

	memset(t, 0, sizeof(*t));
	hist_init(&t->h);
	pthread_mutex_lock(&s->mu);
	st = prepare(s, "SELECT outcome, count, sum_us, max_us, hist FROM totals"
		     " WHERE check_id = ?");
	if (!st)
		goto out;
	sqlite3_bind_text(st, 1, check, -1, SQLITE_TRANSIENT);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		int o = sqlite3_column_int(st, 0);
		unsigned outcome = outcome_valid((unsigned)o) ? (unsigned)o : OUT_OTHER;
		struct hist h;

		col_totals(st, 1, check, &h);
		t->total += h.count;
		if (outcome_info(outcome)->ok)
			t->ok += h.count;
		else
			t->failed += h.count;
		if (outcome < ARRAY_SIZE(t->by_outcome))
			t->by_outcome[outcome] += h.count;
		hist_merge(&t->h, &h);
	}
	if (step != SQLITE_DONE) {
		set_err(s, "get totals");
		goto out;
	}
	rc = 0;
out:
	unprepare(s, st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* ---- windows ---- */

/*
 * A passing window's evidence reduced to what the report reads of it (the
 * split share and its bounds, the retry attempts), as a new string the
 * caller frees with cJSON_free; NULL when it is not a JSON object or memory
 * runs out.
 */
static char *evidence_report(const char *evidence)
{
	static const char *const keep[] = { "observed", "expected", "lo", "hi",
					    "attempts_limit", "limit", "attempts_per_request",
					    "attempts" };
	cJSON *j = cJSON_Parse(evidence), *o = NULL;
	char *out = NULL;
	size_t i;

	if (!cJSON_IsObject(j))
		goto out;
	o = cJSON_CreateObject();
	if (!o)
		goto out;
	for (i = 0; i < ARRAY_SIZE(keep); i++) {
		cJSON *x = cJSON_DetachItemFromObjectCaseSensitive(j, keep[i]);

		if (x)
			cJSON_AddItemToObject(o, keep[i], x);
	}
	out = cJSON_PrintUnformatted(o);
out:
	cJSON_Delete(o);
	cJSON_Delete(j);
	return out;
}

int64_t store_prune_evidence(struct store *s, const char *check, int64_t before_idx,
			     int64_t max_windows)
{
	sqlite3_stmt *st;

	pthread_mutex_lock(&s->mu);
	st = prepare(s, "DELETE FROM window_evidence WHERE check_id = ?1 AND idx IN"
		     " (SELECT idx FROM window_evidence WHERE check_id = ?1 AND idx < ?2"
		     "  ORDER BY idx LIMIT ?3)");
	if (st) {
		sqlite3_bind_text(st, 1, check, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, before_idx);
		sqlite3_bind_int64(st, 3, max_windows > 0 ? max_windows : 1);
	}
	return delete_unlock(s, st, "prune evidence");
}

/*
 * Where the texts of window idx of a check are: the idx of the window that
 * holds its reason text (evidence) and that text, copied into the caller's
 * buffers. 1 when the window exists, 0 when not, -1 on error.
 */
static int window_texts_locked(struct store *s, const char *check, int64_t idx,
			       int64_t *reason_src, char *reason, size_t rlen,
			       int64_t *ev_src, char *ev, size_t elen)
{
	sqlite3_stmt *st;
	int rc;

	st = prepare(s, "SELECT coalesce(w.reason_from, w.idx), r.reason_text,"
		     " coalesce(w.evidence_from, w.idx), e.evidence FROM windows w"
		     " JOIN windows r ON r.check_id = w.check_id"
		     "  AND r.idx = coalesce(w.reason_from, w.idx)"
		     " JOIN windows e ON e.check_id = w.check_id"
		     "  AND e.idx = coalesce(w.evidence_from, w.idx)"
		     " WHERE w.check_id = ?1 AND w.idx = ?2");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, check, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, idx);
	rc = step_one(s, st, "read window texts");
	if (rc == 1) {
		*reason_src = sqlite3_column_int64(st, 0);
		col_text(st, 1, reason, rlen);
		*ev_src = sqlite3_column_int64(st, 2);
		col_text(st, 3, ev, elen);
	}
	unprepare(s, st);
	return rc;
}

/*
 * Window idx is about to be replaced: the windows that share its own texts
 * get them back. The first of them takes the text and the others point to
 * it. Rewrites can leave a sharer anywhere after idx (its neighbour
 * rewritten with another text), so they are looked for in the whole rest of
 * the check's windows: a rewrite is rare (a resumed monitor judging a
 * window again), a new window never looks.
 */
static int detach_dependents_locked(struct store *s, const char *check, int64_t idx,
				    struct store_window *scratch)
{
	static const char *const first[2] = {
		"SELECT min(idx) FROM windows WHERE check_id = ?1 AND idx > ?2 AND reason_from = ?2",
		"SELECT min(idx) FROM windows WHERE check_id = ?1 AND idx > ?2 AND evidence_from = ?2",
	};
	static const char *const take[2] = {
		"UPDATE windows SET reason_text = ?3, reason_from = NULL"
		" WHERE check_id = ?1 AND idx = ?2",
		"UPDATE windows SET evidence = ?3, evidence_from = NULL"
		" WHERE check_id = ?1 AND idx = ?2",
	};
	static const char *const repoint[2] = {
		"UPDATE windows SET reason_from = ?3"
		" WHERE check_id = ?1 AND idx > ?3 AND reason_from = ?2",
		"UPDATE windows SET evidence_from = ?3"
		" WHERE check_id = ?1 AND idx > ?3 AND evidence_from = ?2",
	};
	int64_t rsrc = -1, esrc = -1, f;
	int k, rc;

	rc = window_texts_locked(s, check, idx, &rsrc, scratch->r.reason_text,
				 sizeof(scratch->r.reason_text), &esrc, scratch->r.evidence,
				 sizeof(scratch->r.evidence));
	if (rc <= 0)
		return rc;
	for (k = 0; k < 2; k++) {
		const char *text = k ? scratch->r.evidence : scratch->r.reason_text;
		sqlite3_stmt *st;

		if ((k ? esrc : rsrc) != idx)
			continue;       /* it shares another window's text: nobody points here */
		st = prepare(s, first[k]);
		if (!st)
			return -1;
		sqlite3_bind_text(st, 1, check, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, idx);
		rc = step_one(s, st, "find window text sharers");
		f = rc == 1 && sqlite3_column_type(st, 0) != SQLITE_NULL ?
			sqlite3_column_int64(st, 0) : idx;
		unprepare(s, st);
		if (rc < 0)
			return -1;
		if (f == idx)
			continue;       /* nobody shares it */
		st = prepare(s, take[k]);
		if (!st)
			return -1;
		sqlite3_bind_text(st, 1, check, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, f);
		sqlite3_bind_text(st, 3, text, -1, SQLITE_TRANSIENT);
		rc = step_done(s, st, "detach window text");
		unprepare(s, st);
		if (rc)
			return -1;
		st = prepare(s, repoint[k]);
		if (!st)
			return -1;
		sqlite3_bind_text(st, 1, check, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, idx);
		sqlite3_bind_int64(st, 3, f);
		rc = step_done(s, st, "repoint window text");
		unprepare(s, st);
		if (rc)
			return -1;
	}
	return 0;
}

/* The verdict window idx of a check has now: 1 and *v, 0 when none, -1. */
static int window_verdict_locked(struct store *s, const char *check, int64_t idx, int *v)
{
	sqlite3_stmt *st = prepare(s, "SELECT verdict FROM windows WHERE check_id = ? AND idx = ?");
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, check, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, idx);
	rc = step_one(s, st, "read window verdict");
	if (rc == 1)
		*v = sqlite3_column_int(st, 0);
	unprepare(s, st);
	return rc;
}

/*
 * window_counts after window idx changed from verdict old (-1: new window)
 * to verdict v: the old verdict loses one (its first/last found again when
 * idx was one of them), the new one gains idx.
 */
static int counts_move_locked(struct store *s, const char *check, int64_t idx, int old, int v)
{
	sqlite3_stmt *st;
	int rc;

	if (old == v)
		return 0;
	if (old >= 0) {
		st = prepare(s, "UPDATE window_counts SET n = n - 1,"
			     " first_idx = CASE WHEN first_idx = ?3 THEN coalesce((SELECT min(idx)"
			     "  FROM windows WHERE check_id = ?1 AND verdict = ?2), -1)"
			     "  ELSE first_idx END,"
			     " last_idx = CASE WHEN last_idx = ?3 THEN coalesce((SELECT max(idx)"
			     "  FROM windows WHERE check_id = ?1 AND verdict = ?2), -1)"
			     "  ELSE last_idx END"
			     " WHERE check_id = ?1 AND verdict = ?2");
		if (!st)
			return -1;
		sqlite3_bind_text(st, 1, check, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 2, old);
		sqlite3_bind_int64(st, 3, idx);
		rc = step_done(s, st, "count windows");
		unprepare(s, st);
		if (rc || exec(s, "DELETE FROM window_counts WHERE n <= 0"))
			return -1;
	}
	st = prepare(s, "INSERT INTO window_counts (check_id, verdict, n, first_idx, last_idx)"
		     " VALUES (?1, ?2, 1, ?3, ?3) ON CONFLICT (check_id, verdict) DO UPDATE SET"
		     " n = n + 1, first_idx = min(first_idx, excluded.first_idx),"
		     " last_idx = max(last_idx, excluded.last_idx)");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, check, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, v);
	sqlite3_bind_int64(st, 3, idx);
	rc = step_done(s, st, "count windows");
	unprepare(s, st);
	return rc;
}

/* Inside a transaction: the window, its shared texts and the counts. */
static int put_window_locked(struct store *s, const char *check, int64_t idx, int64_t start_s,
			     int64_t end_s, const struct window_result *r)
{
	struct store_window *prev = malloc(sizeof(*prev));
	sqlite3_stmt *st = NULL;
	int64_t rsrc = -1, esrc = -1;
	int rc = -1, old = -1, k, same_reason = 0, same_ev = 0, pv = -1;
	const char *ev = r->evidence;
	char *rep = NULL;

	if (!prev) {
		str_copy(s->err, sizeof(s->err), "put window: out of memory");
		return -1;
	}
	if ((k = window_verdict_locked(s, check, idx, &old)) < 0)
		goto out;
	if (!k)
		old = -1;
	else if (detach_dependents_locked(s, check, idx, prev))
		goto out;
	/* the texts of the window before: shared when they are the same */
	if (idx > INT64_MIN &&
	    (k = window_texts_locked(s, check, idx - 1, &rsrc, prev->r.reason_text,
				     sizeof(prev->r.reason_text), &esrc, prev->r.evidence,
				     sizeof(prev->r.evidence))) < 0)
		goto out;
	/* a passing window: in the row what the report reads, whole apart */
	if (r->verdict == V_PASS) {
		rep = evidence_report(r->evidence);
		if (rep && strlen(rep) < strnlen(r->evidence, sizeof(r->evidence)))
			ev = rep;
	}
	if (k == 1) {
		same_reason = !strncmp(prev->r.reason_text, r->reason_text, sizeof(r->reason_text));
		/* evidence only within one verdict: a reduced one is never taken
		 * for a failing window's */
		same_ev = !strncmp(prev->r.evidence, ev, sizeof(r->evidence)) &&
			  window_verdict_locked(s, check, idx - 1, &pv) == 1 &&
			  pv == (int)r->verdict;
	}
	st = prepare(s, "INSERT OR REPLACE INTO windows (check_id, idx, start_s, end_s, verdict,"
		     " reason, reason_text, evidence, total, ok, failed, count, sum_us, max_us,"
		     " hist, evaluated, reason_from, evidence_from)"
		     " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
	if (!st)
		goto out;
	sqlite3_bind_text(st, 1, check, (int)strnlen(check, 31), SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, idx);
	sqlite3_bind_int64(st, 3, start_s);
	sqlite3_bind_int64(st, 4, end_s);
	sqlite3_bind_int(st, 5, (int)r->verdict);
	sqlite3_bind_int(st, 6, (int)r->reason);
	if (same_reason)
		sqlite3_bind_text(st, 7, "", 0, SQLITE_STATIC);
	else
		sqlite3_bind_text(st, 7, r->reason_text,
				  (int)strnlen(r->reason_text, sizeof(r->reason_text)),
				  SQLITE_TRANSIENT);
	if (same_ev)
		sqlite3_bind_text(st, 8, "", 0, SQLITE_STATIC);
	else
		sqlite3_bind_text(st, 8, ev, (int)strnlen(ev, sizeof(r->evidence)),
				  SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 9, to_i64(r->total));
	sqlite3_bind_int64(st, 10, to_i64(r->ok));
	sqlite3_bind_int64(st, 11, to_i64(r->failed));
	sqlite3_bind_int64(st, 12, to_i64(r->h.count));
	sqlite3_bind_int64(st, 13, to_i64(r->h.sum_us));
	sqlite3_bind_int64(st, 14, to_i64(r->h.max_us));
	if (bind_hist(st, 15, &r->h)) {
		str_copy(s->err, sizeof(s->err), "put window: out of memory");
		goto out;
	}
	/* no longer read: 0 takes no bytes in the row (kept for older readers) */
	sqlite3_bind_int(st, 16, 0);
	if (same_reason)
		sqlite3_bind_int64(st, 17, rsrc);
	if (same_ev)
		sqlite3_bind_int64(st, 18, esrc);
	if (step_done(s, st, "put window"))
		goto out;
	unprepare(s, st);
	st = NULL;
	if (ev != r->evidence || old >= 0) {
		st = prepare(s, ev != r->evidence ?
			     "INSERT OR REPLACE INTO window_evidence (check_id, idx, evidence)"
			     " VALUES (?1, ?2, ?3)" :
			     "DELETE FROM window_evidence WHERE check_id = ?1 AND idx = ?2");
		if (!st)
			goto out;
		sqlite3_bind_text(st, 1, check, (int)strnlen(check, 31), SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, idx);
		if (ev != r->evidence)
			sqlite3_bind_text(st, 3, r->evidence,
					  (int)strnlen(r->evidence, sizeof(r->evidence)),
					  SQLITE_TRANSIENT);
		if (step_done(s, st, "put window evidence"))
			goto out;
	}
	if (counts_move_locked(s, check, idx, old, (int)r->verdict))
		goto out;
	rc = 0;
out:
	unprepare(s, st);
	cJSON_free(rep);
	free(prev);
	return rc;
}

int store_put_window(struct store *s, const char *check, int64_t idx, int64_t start_s,
		     int64_t end_s, const struct window_result *r)
{
	int rc = -1, began = 0;

	pthread_mutex_lock(&s->mu);
	if (exec(s, "BEGIN IMMEDIATE"))
		goto out;
	began = 1;
	if (put_window_locked(s, check, idx, start_s, end_s, r) || exec(s, "COMMIT"))
		goto out;
	began = 0;
	rc = 0;
out:
	if (began && !sqlite3_get_autocommit(s->db) &&
	    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
		log_kv(LOG_WARN, "store rollback failed", "error=\"%s\"", sqlite3_errmsg(s->db));
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* ---- debounce state and incidents ---- */

int store_get_check_state(struct store *s, const char *check, struct store_check_state *x)
{
	sqlite3_stmt *st;
	int rc = -1, v;

	memset(x, 0, sizeof(*x));
	str_copy(x->check, sizeof(x->check), check);
	x->state = V_NODATA;
	x->last_idx = -1;
	pthread_mutex_lock(&s->mu);
	st = prepare(s, "SELECT state, last_idx, fail_streak, pass_streak, streak_start_s,"
		      " streak_reason, incident_start_s, incident_end_s, incident_windows"
		     " FROM check_state WHERE check_id = ?");
	if (!st)
		goto out;
	sqlite3_bind_text(st, 1, check, -1, SQLITE_TRANSIENT);
	rc = step_one(s, st, "get check state");
	if (rc == 1) {
		v = sqlite3_column_int(st, 0);
		x->state = (v == V_PASS || v == V_FAIL) ? (enum verdict)v : V_NODATA;
		x->last_idx = sqlite3_column_int64(st, 1);
		x->fail_streak = sqlite3_column_int(st, 2);
		x->pass_streak = sqlite3_column_int(st, 3);
		if (x->fail_streak < 0)
			x->fail_streak = 0;
		if (x->pass_streak < 0)
			x->pass_streak = 0;
		x->streak_start_s = sqlite3_column_int64(st, 4);
		col_text(st, 5, x->streak_reason, sizeof(x->streak_reason));
		x->incident_start_s = sqlite3_column_int64(st, 6);
		x->incident_end_s = sqlite3_column_int64(st, 7);
		x->incident_windows = sqlite3_column_int64(st, 8);
	}
out:
	unprepare(s, st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int put_state_locked(struct store *s, const struct store_check_state *x)
{
	sqlite3_stmt *st;
	int rc;

	st = prepare(s, "INSERT OR REPLACE INTO check_state (check_id, state, last_idx,"
		     " fail_streak, pass_streak, streak_start_s, streak_reason, incident_start_s,"
		     " incident_end_s, incident_windows) VALUES (?,?,?,?,?,?,?,?,?,?)");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, x->check, (int)strnlen(x->check, sizeof(x->check) - 1),
			  SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, (int)x->state);
	sqlite3_bind_int64(st, 3, x->last_idx);
	sqlite3_bind_int(st, 4, x->fail_streak);
	sqlite3_bind_int(st, 5, x->pass_streak);
	sqlite3_bind_int64(st, 6, x->streak_start_s);
	sqlite3_bind_text(st, 7, x->streak_reason,
			  (int)strnlen(x->streak_reason, sizeof(x->streak_reason) - 1),
			  SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 8, x->incident_start_s);
	sqlite3_bind_int64(st, 9, x->incident_end_s);
	sqlite3_bind_int64(st, 10, x->incident_windows);
	rc = step_done(s, st, "put check state");
	unprepare(s, st);
	return rc;
}

static int put_incident_locked(struct store *s, const struct store_incident *x)
{
	sqlite3_stmt *st;
	int rc;

	st = prepare(s, "INSERT INTO incidents (check_id, start_s, end_s, windows, open, reason)"
		     " VALUES (?,?,?,?,?,?) ON CONFLICT (check_id, start_s) DO UPDATE SET"
		     " end_s = excluded.end_s, windows = excluded.windows, open = excluded.open");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, x->check, (int)strnlen(x->check, sizeof(x->check) - 1),
			  SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, x->start_s);
	sqlite3_bind_int64(st, 3, x->end_s);
	sqlite3_bind_int64(st, 4, x->windows);
	sqlite3_bind_int(st, 5, x->open ? 1 : 0);
	sqlite3_bind_text(st, 6, x->reason, (int)strnlen(x->reason, sizeof(x->reason) - 1),
			  SQLITE_TRANSIENT);
	rc = step_done(s, st, "put incident");
	unprepare(s, st);
	return rc;
}

int store_put_window_state(struct store *s, const char *check, int64_t idx, int64_t start_s,
			   int64_t end_s, const struct window_result *r,
			   const struct store_check_state *st, const struct store_incident *inc)
{
	int rc = -1, began = 0;

	pthread_mutex_lock(&s->mu);
	if (exec(s, "BEGIN IMMEDIATE"))
		goto out;
	began = 1;
	if (put_window_locked(s, check, idx, start_s, end_s, r) || put_state_locked(s, st) ||
	    (inc && put_incident_locked(s, inc)) || exec(s, "COMMIT"))
		goto out;
	began = 0;
	rc = 0;
out:
	if (began && !sqlite3_get_autocommit(s->db) &&
	    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
		log_kv(LOG_WARN, "store rollback failed", "error=\"%s\"", sqlite3_errmsg(s->db));
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store_get_incidents(struct store *s, const char *check, struct store_incident **inc,
			size_t *n)
{
	sqlite3_stmt *st;
	struct store_incident *arr = NULL;
	size_t len = 0, cap = 0;
	int rc, step = SQLITE_DONE, failed = 1;

	*inc = NULL;
	*n = 0;
	pthread_mutex_lock(&s->mu);
	st = prepare(s, "SELECT check_id, start_s, end_s, windows, open, reason FROM incidents"
		     " WHERE check_id = ? ORDER BY start_s");
	if (!st)
		goto out;
	sqlite3_bind_text(st, 1, check, -1, SQLITE_TRANSIENT);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_incident *x;

		if (len == cap) {
			void *na = store_grow(s, arr, &cap, sizeof(*arr), "get incidents");

			if (!na)
				goto out;
			arr = na;
		}
		x = &arr[len];
		memset(x, 0, sizeof(*x));
		col_text(st, 0, x->check, sizeof(x->check));
		x->start_s = sqlite3_column_int64(st, 1);
		x->end_s = sqlite3_column_int64(st, 2);
		x->windows = sqlite3_column_int64(st, 3);
		x->open = sqlite3_column_int(st, 4) != 0;
		col_text(st, 5, x->reason, sizeof(x->reason));
		if (x->end_s < x->start_s) {
			log_kv(LOG_WARN, "store: skipped a damaged incident", "check=%s", x->check);
			continue;
		}
		len++;
	}
	failed = 0;
out:
	*inc = finish_list(s, st, failed, step, "get incidents", arr, &len, &rc);
	*n = len;
	return rc;
}

/* A window's columns with its texts looked up where it shares them (v4). */
#define WINDOW_SELECT "SELECT w.check_id, w.idx, w.start_s, w.end_s, w.verdict, w.reason," \
	" coalesce(r.reason_text, w.reason_text), coalesce(x.evidence, e.evidence, w.evidence)," \
	" w.total," \
	" w.ok, w.failed, w.count, w.sum_us, w.max_us, w.hist FROM windows w" \
	" LEFT JOIN windows r ON r.check_id = w.check_id AND r.idx = w.reason_from" \
	" LEFT JOIN windows e ON e.check_id = w.check_id AND e.idx = w.evidence_from" \
	" LEFT JOIN window_evidence x ON x.check_id = w.check_id AND x.idx = w.idx"

/* One row of WINDOW_SELECT into *x; a damaged histogram is dropped, not the window. */
static void read_window(sqlite3_stmt *st, struct store_window *x)
{
	int v, reason;

	memset(x, 0, sizeof(*x));
	col_text(st, 0, x->check, sizeof(x->check));
	x->idx = sqlite3_column_int64(st, 1);
	x->start_s = sqlite3_column_int64(st, 2);
	x->end_s = sqlite3_column_int64(st, 3);
	v = sqlite3_column_int(st, 4);
	reason = sqlite3_column_int(st, 5);
	x->r.verdict = (v >= V_NODATA && v < V__COUNT) ? (enum verdict)v : V_NODATA;
	x->r.reason = (reason >= 0 && reason < R__COUNT) ? (enum reason)reason : R_NO_DATA;
	col_text(st, 6, x->r.reason_text, sizeof(x->r.reason_text));
	col_text(st, 7, x->r.evidence, sizeof(x->r.evidence));
	x->r.total = col_u64(st, 8);
	x->r.ok = col_u64(st, 9);
	x->r.failed = col_u64(st, 10);
	hist_init(&x->r.h);
	if (col_hist(st, 14, &x->r.h)) {
		log_kv(LOG_WARN, "store: damaged window histogram", "check=%s idx=%" PRId64,
		       x->check, x->idx);
		hist_init(&x->r.h);
	} else {
		x->r.h.count = col_u64(st, 11);
		x->r.h.sum_us = col_u64(st, 12);
		x->r.h.max_us = col_u64(st, 13);
	}
}

/*
 * sql (binding check and from_idx) row by row, each handed to row(st, arg)
 * under the store's mutex until it returns non-zero (returned). 0, or -1 on
 * a read error.
 */
static int each_window_row(struct store *s, const char *sql, const char *check,
			   int64_t from_idx, int (*row)(sqlite3_stmt *st, void *arg), void *arg)
{
	sqlite3_stmt *st;
	int rc = -1, step;

	pthread_mutex_lock(&s->mu);
	st = prepare(s, sql);
	if (!st)
		goto out;
	sqlite3_bind_text(st, 1, check, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, from_idx);
	while ((step = sqlite3_step(st)) == SQLITE_ROW)
		if ((rc = row(st, arg)))
			goto out;
	if (step != SQLITE_DONE) {
		set_err(s, "get windows");
		rc = -1;
		goto out;
	}
	rc = 0;
out:
	unprepare(s, st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

struct each_window {
	int (*fn)(void *ctx, const struct store_window *w);
	int (*brief)(void *ctx, const struct store_window_brief *w);
	void *ctx;
	const char *check;
	struct store_window *x;
};

static int window_row(sqlite3_stmt *st, void *arg)
{
	struct each_window *e = arg;

	read_window(st, e->x);
	return e->fn(e->ctx, e->x);
}

int store_each_window(struct store *s, const char *check, int64_t from_idx,
		      int (*fn)(void *ctx, const struct store_window *w), void *ctx)
{
	struct each_window e = { .fn = fn, .ctx = ctx, .x = malloc(sizeof(*e.x)) };
	int rc;

	if (!e.x) {
		str_copy(s->err, sizeof(s->err), "get windows: out of memory");
		return -1;
	}
	rc = each_window_row(s, WINDOW_SELECT " WHERE w.check_id = ? AND w.idx >= ? ORDER BY w.idx",
			     check, from_idx, window_row, &e);
	free(e.x);
	return rc;
}

static int window_brief_row(sqlite3_stmt *st, void *arg)
{
	static const double q[2] = { 0.50, 0.99 };
	struct each_window *e = arg;
	struct store_window_brief x;
	const unsigned char *h = sqlite3_column_blob(st, 8);
	const unsigned char *ev = sqlite3_column_text(st, 9);
	uint64_t qs[2] = { 0, 0 };
	int v = sqlite3_column_int(st, 3), reason = sqlite3_column_int(st, 4);

	memset(&x, 0, sizeof(x));
	x.idx = sqlite3_column_int64(st, 0);
	x.start_s = sqlite3_column_int64(st, 1);
	x.end_s = sqlite3_column_int64(st, 2);
	x.verdict = (v >= V_NODATA && v < V__COUNT) ? (enum verdict)v : V_NODATA;
	x.reason = (reason >= 0 && reason < R__COUNT) ? (enum reason)reason : R_NO_DATA;
	x.total = col_u64(st, 5);
	x.ok = col_u64(st, 6);
	if (h && hist_blob_quantiles(h, (size_t)sqlite3_column_bytes(st, 8), col_u64(st, 7),
				     q, qs, 2))
		log_kv(LOG_WARN, "store: damaged window histogram", "check=%s idx=%" PRId64,
		       e->check, x.idx);
	x.p50_us = qs[0];
	x.p99_us = qs[1];
	x.evidence = ev ? (const char *)ev : "";
	return e->brief(e->ctx, &x);
}

int store_each_window_brief(struct store *s, const char *check, int64_t from_idx,
			    int (*fn)(void *ctx, const struct store_window_brief *w), void *ctx)
{
	struct each_window e = { .brief = fn, .ctx = ctx, .check = check };

	return each_window_row(s, "SELECT w.idx, w.start_s, w.end_s, w.verdict, w.reason, w.total,"
			       " w.ok, w.max_us, w.hist, coalesce(e.evidence, w.evidence) FROM"
			       " windows w LEFT JOIN windows e ON e.check_id = w.check_id AND"
			       " e.idx = w.evidence_from WHERE w.check_id = ? AND w.idx >= ?"
			       " ORDER BY w.idx", check, from_idx, window_brief_row, &e);
}

struct windows_array {
	struct store *s;
	struct store_window *arr;
	size_t len, cap;
};

static int windows_append(void *ctx, const struct store_window *w)
{
	struct windows_array *a = ctx;

	if (a->len == a->cap) {
		void *na = store_grow(a->s, a->arr, &a->cap, sizeof(*a->arr), "get windows");

		if (!na)
			return -1;
		a->arr = na;
	}
	a->arr[a->len++] = *w;
	return 0;
}

int store_get_windows(struct store *s, const char *check, struct store_window **w, size_t *n)
{
	struct windows_array a = { s, NULL, 0, 0 };
	int rc = store_each_window(s, check, INT64_MIN, windows_append, &a);

	if (rc || !a.len) {
		free(a.arr);
		a.arr = NULL;
		a.len = 0;
	}
	*w = a.arr;
	*n = a.len;
	return rc ? -1 : 0;
}

int store_window_counts(struct store *s, const char *check, uint64_t counts[V__COUNT])
{
	sqlite3_stmt *st;
	int rc = -1, step;

	memset(counts, 0, V__COUNT * sizeof(*counts));
	pthread_mutex_lock(&s->mu);
	st = prepare(s, "SELECT verdict, n FROM window_counts WHERE check_id = ?");
	if (!st)
		goto out;
	sqlite3_bind_text(st, 1, check, -1, SQLITE_TRANSIENT);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		int v = sqlite3_column_int(st, 0);

		counts[(v >= V_NODATA && v < V__COUNT) ? v : V_NODATA] += col_u64(st, 1);
	}
	if (step != SQLITE_DONE) {
		set_err(s, "count windows");
		goto out;
	}
	rc = 0;
out:
	unprepare(s, st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store_get_window_pick(struct store *s, const char *check, enum store_pick pick,
			  struct store_window *w)
{
	_Static_assert(V_PASS == 1 && V_FAIL == 2 && V_INCONCLUSIVE == 4,
		       "verdicts are stored as numbers");
	/* which window: from the counts, one row each (no scan of the windows) */
	static const char *const sql[] = {
		[STORE_FIRST_FAIL] = "SELECT first_idx FROM window_counts"
				     " WHERE check_id = ? AND verdict = 2",
		[STORE_LAST_PASS] = "SELECT last_idx FROM window_counts"
				    " WHERE check_id = ? AND verdict = 1",
		[STORE_LAST] = "SELECT max(last_idx) FROM window_counts WHERE check_id = ?"
			       " HAVING count(*) > 0",
		[STORE_FIRST_INCONCLUSIVE] = "SELECT first_idx FROM window_counts"
					     " WHERE check_id = ? AND verdict = 4",
	};
	sqlite3_stmt *st;
	int64_t idx = 0;
	int rc = -1;

	memset(w, 0, sizeof(*w));
	if ((unsigned)pick >= ARRAY_SIZE(sql))
		return -1;
	pthread_mutex_lock(&s->mu);
	st = prepare(s, sql[pick]);
	if (!st)
		goto out;
	sqlite3_bind_text(st, 1, check, -1, SQLITE_TRANSIENT);
	rc = step_one(s, st, "get window");
	if (rc == 1)
		idx = sqlite3_column_int64(st, 0);
	unprepare(s, st);
	st = NULL;
	if (rc != 1)
		goto out;
	st = prepare(s, WINDOW_SELECT " WHERE w.check_id = ? AND w.idx = ?");
	if (!st) {
		rc = -1;
		goto out;
	}
	sqlite3_bind_text(st, 1, check, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, idx);
	rc = step_one(s, st, "get window");
	if (rc == 1)
		read_window(st, w);
out:
	unprepare(s, st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* ---- events ---- */

int store_put_event(struct store *s, double ts, const char *kind, const char *subject,
		    const char *detail)
{
	struct store_event e;
	sqlite3_stmt *st;
	int rc = -1;

	/* bound to what store_get_events can hand back */
	str_copy(e.kind, sizeof(e.kind), kind ? kind : "");
	str_copy(e.subject, sizeof(e.subject), subject ? subject : "");
	str_copy(e.detail, sizeof(e.detail), detail ? detail : "");
	pthread_mutex_lock(&s->mu);
	st = prepare(s, "INSERT INTO events (ts, kind, subject, detail) VALUES (?,?,?,?)");
	if (!st)
		goto out;
	sqlite3_bind_double(st, 1, ts);
	sqlite3_bind_text(st, 2, e.kind, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, e.subject, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, e.detail, -1, SQLITE_TRANSIENT);
	rc = step_done(s, st, "put event");
out:
	unprepare(s, st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* Events in time order, all of them (kind NULL) or of one kind. */
static int get_events(struct store *s, const char *kind, struct store_event **ev, size_t *n)
{
	sqlite3_stmt *st;
	struct store_event *arr = NULL;
	size_t len = 0, cap = 0;
	int rc, step = SQLITE_DONE, failed = 1;

	*ev = NULL;
	*n = 0;
	pthread_mutex_lock(&s->mu);
	st = prepare(s, kind ? "SELECT id, ts, kind, subject, detail FROM events"
			       " WHERE kind = ? ORDER BY ts, id"
			     : "SELECT id, ts, kind, subject, detail FROM events ORDER BY ts, id");
	if (!st)
		goto out;
	if (kind)
		sqlite3_bind_text(st, 1, kind, -1, SQLITE_TRANSIENT);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_event *e;

		if (len == cap) {
			void *na = store_grow(s, arr, &cap, sizeof(*arr), "get events");

			if (!na)
				goto out;
			arr = na;
		}
		e = &arr[len++];
		e->id = sqlite3_column_int64(st, 0);
		e->ts = sqlite3_column_double(st, 1);
		col_text(st, 2, e->kind, sizeof(e->kind));
		col_text(st, 3, e->subject, sizeof(e->subject));
		col_text(st, 4, e->detail, sizeof(e->detail));
	}
	failed = 0;
out:
	*ev = finish_list(s, st, failed, step, "get events", arr, &len, &rc);
	*n = len;
	return rc;
}

int store_get_events(struct store *s, struct store_event **ev, size_t *n)
{
	return get_events(s, NULL, ev, n);
}

int store_get_events_kind(struct store *s, const char *kind, struct store_event **ev,
			  size_t *n)
{
	if (!kind) {
		*ev = NULL;
		*n = 0;
		str_copy(s->err, sizeof(s->err), "get events: no kind");
		return -1;
	}
	return get_events(s, kind, ev, n);
}

/* ---- the mesh's view of each window (schema 4) ---- */

int store_put_mesh_view(struct store *s, double from, double to, const char *json)
{
	sqlite3_stmt *st;
	int rc = -1;

	pthread_mutex_lock(&s->mu);
	if (!json || strlen(json) > STORE_MESH_VIEW_MAX || !(to >= from)) {
		str_copy(s->err, sizeof(s->err), "put mesh view: empty, over "
			 "STORE_MESH_VIEW_MAX or ending before it starts");
		goto out_unlocked;
	}
	st = prepare(s, "INSERT INTO mesh_views (from_ts, to_ts, json) VALUES (?,?,?)");
	if (!st)
		goto out_unlocked;
	sqlite3_bind_double(st, 1, from);
	sqlite3_bind_double(st, 2, to);
	sqlite3_bind_text(st, 3, json, -1, SQLITE_TRANSIENT);
	rc = step_done(s, st, "put mesh view");
	unprepare(s, st);
out_unlocked:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int64_t store_prune_mesh_views(struct store *s, double before)
{
	sqlite3_stmt *st;
	int64_t n = -1;

	pthread_mutex_lock(&s->mu);
	st = prepare(s, "DELETE FROM mesh_views WHERE to_ts < ?");
	if (st) {
		sqlite3_bind_double(st, 1, before);
		if (!step_done(s, st, "prune mesh views"))
			n = sqlite3_changes(s->db);
	}
	unprepare(s, st);
	pthread_mutex_unlock(&s->mu);
	return n;
}

int store_get_mesh_view(struct store *s, int64_t start_s, int64_t end_s, char **json,
			double *from, double *to)
{
	sqlite3_stmt *st;
	double best = 0;
	int rc = -1, step;

	*json = NULL;
	pthread_mutex_lock(&s->mu);
	/* the views overlapping the window; the one covering most of it wins */
	st = prepare(s, "SELECT from_ts, to_ts, json FROM mesh_views"
			" WHERE to_ts > ? AND from_ts < ? ORDER BY to_ts LIMIT 16");
	if (!st)
		goto out;
	sqlite3_bind_double(st, 1, (double)start_s);
	sqlite3_bind_double(st, 2, (double)end_s);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		double f = sqlite3_column_double(st, 0), t = sqlite3_column_double(st, 1);
		double ov = (t < (double)end_s ? t : (double)end_s) -
			    (f > (double)start_s ? f : (double)start_s);
		const unsigned char *j = sqlite3_column_text(st, 2);
		char *dup;

		if (ov <= best || ov * 2 < (double)(end_s - start_s) || !j)
			continue;
		dup = strdup((const char *)j);
		if (!dup) {
			str_copy(s->err, sizeof(s->err), "get mesh view: out of memory");
			free(*json);
			*json = NULL;
			goto out;
		}
		free(*json);
		*json = dup;
		best = ov;
		*from = f;
		*to = t;
	}
	if (step != SQLITE_DONE) {
		set_err(s, "get mesh view");
		free(*json);
		*json = NULL;
		goto out;
	}
	rc = *json ? 1 : 0;
out:
	unprepare(s, st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}
