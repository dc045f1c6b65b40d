/*
 * test_store_errors.c - a store that cannot write says so clearly and stays
 * consistent: a full database (simulated with max_page_count) fails the
 * batch as "disk full" with nothing of it stored, and the store works again
 * once there is room; a read-only run directory is a clear open error.
 * Also the run clock (state.h): a wall-clock jump does not move it.
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "evidence/outcome.h"
#include "config/state.h"
#include "store/store.h"
#include "base/util.h"

static char tmpdir[64];

static void make_rows(struct agg_row *rows, size_t n, int64_t second0)
{
	for (size_t i = 0; i < n; i++) {
		struct agg_row *r = &rows[i];

		memset(r, 0, sizeof(*r));
		str_copy(r->check, sizeof(r->check), "http.basic");
		str_copy(r->workload, sizeof(r->workload), "http-client");
		r->outcome = OUT_OK;
		r->code = 200;
		str_fmt(r->backend, sizeof(r->backend), "b%zu", i);
		/* a long identity makes each row big: pages fill quickly */
		memset(r->identity, 'x', sizeof(r->identity) - 1);
		r->second = second0 + (int64_t)i;
		hist_init(&r->h);
		hist_add(&r->h, 1000 + i);
		r->attempts[0] = 1;
	}
}

static int integrity_ok(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int ok = 0;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		ok = !strcmp((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	sqlite3_close(db);
	return ok;
}

TEST(disk_full_stores_nothing_and_says_so)
{
	enum { NROWS = 400 };
	struct agg_row *rows = calloc(NROWS, sizeof(*rows));
	struct store_totals t;
	struct store *s = NULL;
	char path[128], err[256];

	ASSERT(rows);
	str_fmt(path, sizeof(path), "%s/full.db", tmpdir);
	ASSERT_EQ(store_open(path, 1, &s, err, sizeof(err)), 0);
	make_rows(rows, 4, 1000);
	ASSERT_EQ(store_put_batch(s, "http-client", 7, 1, rows, 4), 1);
	ASSERT(store_write_error(s) == NULL);

	/* no more pages than it has now: the next big batch cannot fit */
	ASSERT(store_set_max_pages(s, 1) > 0);
	make_rows(rows, NROWS, 2000);
	ASSERT_EQ(store_put_batch(s, "http-client", 7, 2, rows, NROWS), -1);
	ASSERT(store_write_error(s) != NULL);
	ASSERT_STR_EQ(store_write_error(s), "disk full");
	ASSERT_CONTAINS(store_errmsg(s), "full");

	/* nothing of the failed batch is stored, the first one is intact */
	ASSERT_EQ(store_get_totals(s, "http.basic", &t), 0);
	ASSERT_UEQ(t.total, 4);
	ASSERT(integrity_ok(path));

	/* room again: the resent batch is stored (not taken for a duplicate) */
	ASSERT(store_set_max_pages(s, 1 << 30) > 1);
	ASSERT_EQ(store_put_batch(s, "http-client", 7, 2, rows, NROWS), 1);
	ASSERT_EQ(store_get_totals(s, "http.basic", &t), 0);
	ASSERT_UEQ(t.total, 4 + NROWS);
	store_close(s);
	ASSERT(integrity_ok(path));
	free(rows);
}

/* The body of the read-only test: 0 = as expected. Run as a non-root user. */
static int read_only_case(const char *dir)
{
	struct store *s = NULL;
	char path[128], err[256] = "";
	struct agg_row row;
	int failed = 0;

#define RO_CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c); \
		failed = 1; goto out; } } while (0)
	str_fmt(path, sizeof(path), "%s/conform.db", dir);
	RO_CHECK(store_open(path, 1, &s, err, sizeof(err)) == 0);
	make_rows(&row, 1, 1000);
	RO_CHECK(store_put_batch(s, "http-client", 1, 1, &row, 1) == 1);
	store_close(s);
	s = NULL;
	/* the run dir and the database become read-only (a remount, a chmod) */
	RO_CHECK(chmod(path, 0400) == 0 && chmod(dir, 0500) == 0);
	if (store_open(path, 1, &s, err, sizeof(err)) == 0) {
		/* opened read-only: writing fails as read-only, stores nothing */
		RO_CHECK(store_put_batch(s, "http-client", 1, 2, &row, 1) == -1);
		RO_CHECK(store_write_error(s) && !strcmp(store_write_error(s), "read-only"));
		printf("# write error: %s (%s)\n", store_write_error(s), store_errmsg(s));
	} else {
		printf("# open error: %s\n", err);
		RO_CHECK(strstr(err, path));
		RO_CHECK(strstr(err, "readonly") || strstr(err, "read-only") ||
			 strstr(err, "unable to open") || strstr(err, "permission"));
	}
out:
	store_close(s);
	chmod(dir, 0700);
	chmod(path, 0600);
	if (!integrity_ok(path)) {
		fprintf(stderr, "integrity check failed after the read-only case\n");
		failed = 1;
	}
	fflush(stdout);
	return failed;
#undef RO_CHECK
}

TEST(read_only_dir_is_a_clear_error)
{
	char dir[128];
	pid_t pid;
	int st = 0;

	str_fmt(dir, sizeof(dir), "%s/ro", tmpdir);
	ASSERT_EQ(mkdir(dir, 0700), 0);
	if (geteuid() != 0) {
		ASSERT_EQ(read_only_case(dir), 0);
		return;
	}
	/* root ignores permissions: run the case as nobody in a child */
	ASSERT_EQ(chmod(tmpdir, 0711), 0);
	ASSERT_EQ(chown(dir, 65534, 65534), 0);
	fflush(NULL);
	pid = fork();
	ASSERT(pid >= 0);
	if (pid == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(99);
		_exit(read_only_case(dir));
	}
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	ASSERT(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
}

TEST(run_clock_ignores_wall_jumps)
{
	struct state_clock saved = { .started = 1000.5, .started_mono_ms = 50000 };
	int64_t anchor;

	str_copy(saved.boot_id, sizeof(saved.boot_id), "boot-a");
	/* 30 s into the run by the monotonic clock, whatever the wall says */
	ASSERT_NEAR(state_run_now(1000.5, 50000, 80000), 1030.5, 1e-9);
	/* a resume on the same boot keeps the saved anchor even if the wall
	 * clock jumped an hour ahead meanwhile */
	anchor = state_clock_anchor(&saved, "boot-a", 1000.5, 1000.5 + 3600 + 30, 80000);
	ASSERT_EQ(anchor, 50000);
	ASSERT_NEAR(state_run_now(1000.5, anchor, 80000), 1030.5, 1e-9);
	/* another boot: the monotonic clock restarted; the wall clock, once */
	anchor = state_clock_anchor(&saved, "boot-b", 1000.5, 1040.5, 7000);
	ASSERT_NEAR(state_run_now(1000.5, anchor, 7000), 1040.5, 1e-3);
	/* no saved anchor: the same */
	anchor = state_clock_anchor(NULL, "boot-a", 1000.5, 1010.5, 90000);
	ASSERT_NEAR(state_run_now(1000.5, anchor, 91000), 1011.5, 1e-3);
}

TEST(heartbeat_and_clock_files)
{
	struct state_clock c = { .started = 1795326965.25, .started_mono_ms = 123456 }, back;
	double hb = 0;

	str_copy(c.boot_id, sizeof(c.boot_id), "0e9aa78b-f76b-43d2-9c63-40c408f2a25d");
	ASSERT_EQ(state_heartbeat_read(tmpdir, &hb), -1);
	ASSERT_EQ(state_heartbeat_write(tmpdir, 1795326999.5), 0);
	ASSERT_EQ(state_heartbeat_read(tmpdir, &hb), 0);
	ASSERT_NEAR(hb, 1795326999.5, 1e-3);
	ASSERT_EQ(state_clock_save(tmpdir, &c), 0);
	ASSERT_EQ(state_clock_load(tmpdir, &back), 0);
	ASSERT_NEAR(back.started, c.started, 1e-6);
	ASSERT_EQ(back.started_mono_ms, 123456);
	ASSERT_STR_EQ(back.boot_id, c.boot_id);
}

int main(void)
{
	char cmd[128];

	str_copy(tmpdir, sizeof(tmpdir), "/tmp/conform-store-errors.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(disk_full_stores_nothing_and_says_so);
	RUN(read_only_dir_is_a_clear_error);
	RUN(run_clock_ignores_wall_jumps);
	RUN(heartbeat_and_clock_files);
	str_fmt(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	TEST_MAIN_END();
}
