/*
 * test_runs.c - the runs of a state directory read back (run.json,
 * reports/report.json) and the --keep-runs pruning: oldest first, never the
 * `current` run, never the run being started, never a run whose dir is absent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "config/runs.h"
#include "base/util.h"

static char state[PATH_MAX];

static void make_run(const char *id, const char *report)
{
	struct run_config c;
	char dir[PATH_MAX], path[PATH_MAX];

	state_run_dir(state, id, dir, sizeof(dir));
	state_run_dir_create(dir, NULL, 0);
	run_config_defaults(&c);
	str_copy(c.mesh, sizeof(c.mesh), "none");
	str_copy(c.id, sizeof(c.id), id);
	c.started = 1765000000;
	str_fmt(path, sizeof(path), "%s/run.json", dir);
	run_config_save(&c, path);
	if (report) {
		str_fmt(path, sizeof(path), "%s/reports/report.json", dir);
		file_write_atomic(path, report, strlen(report), 0644);
	}
}

static int exists(const char *id)
{
	char dir[PATH_MAX];
	struct stat st;

	state_run_dir(state, id, dir, sizeof(dir));
	return stat(dir, &st) == 0;
}

static void fresh_state(void)
{
	char cmd[PATH_MAX + 16];

	if (state[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", state);
		if (system(cmd)) {}
	}
	snprintf(state, sizeof(state), "%s/conform-test-runs.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(state))
		abort();
	state_dir_create(state, NULL, 0);
}

static const char *ids[] = {
	"20261201-000000-aaaa", "20261202-000000-bbbb", "20261203-000000-cccc",
	"20261204-000000-dddd", "20261205-000000-eeee",
};

TEST(list_reads_reports)
{
	struct runs_entry *r = NULL;
	size_t n = 0;
	char err[256];

	fresh_state();
	make_run(ids[1], "{\"verdict\":\"fail\",\"run\":{\"started_unix\":1765000010,"
		 "\"duration_s\":42},\"checks\":[{\"id\":\"http.basic\",\"verdict\":\"pass\"},"
		 "{\"id\":\"mtls.identity\",\"verdict\":\"fail\"},"
		 "{\"id\":\"tap.live\",\"verdict\":\"skip\"}]}");
	make_run(ids[0], "{\"verdict\":\"pass\",\"checks\":[]}");
	make_run(ids[2], NULL);
	ASSERT_EQ(runs_list(state, &r, &n, err, sizeof(err)), 0);
	ASSERT_EQ(n, 3);
	ASSERT_STR_EQ(r[0].id, ids[0]);     /* oldest first */
	ASSERT_STR_EQ(r[1].id, ids[1]);
	ASSERT_EQ(r[1].verdict, V_FAIL);
	ASSERT_EQ(r[1].nfailed, 1);
	ASSERT_EQ(r[1].njudged, 2);
	ASSERT_NEAR(r[1].duration_s, 42, 1e-9);
	ASSERT_NEAR(r[1].started, 1765000010, 1e-9);
	ASSERT_EQ(runs_check_verdict(&r[1], "mtls.identity"), V_FAIL);
	ASSERT_EQ(runs_check_verdict(&r[1], "tap.live"), V_SKIP);
	ASSERT_EQ(runs_check_verdict(&r[1], "grpc.basic"), V_NODATA);
	ASSERT_EQ(r[2].has_report, 0);
	ASSERT_EQ(r[2].verdict, V_NODATA);
	ASSERT_STR_EQ(r[2].mesh, "none");
	free(r);
}

TEST(prune_keeps_newest_and_current)
{
	char err[256];
	size_t i;

	fresh_state();
	for (i = 0; i < ARRAY_SIZE(ids); i++)
		make_run(ids[i], "{\"verdict\":\"pass\",\"checks\":[]}");
	/* the oldest is current: it stays, the next oldest go instead */
	ASSERT_EQ(state_current_set(state, ids[0]), 0);
	ASSERT_EQ(runs_prune(state, 2, ids[4], err, sizeof(err)), 3);
	ASSERT(exists(ids[0]));
	ASSERT(!exists(ids[1]));
	ASSERT(!exists(ids[2]));
	ASSERT(!exists(ids[3]));
	ASSERT(exists(ids[4]));
	/* within the bound: nothing goes */
	ASSERT_EQ(runs_prune(state, 2, NULL, err, sizeof(err)), 0);
	ASSERT(exists(ids[0]) && exists(ids[4]));
	/* keep_id protects the run being started even when it is not current */
	ASSERT_EQ(state_current_clear(state), 0);
	ASSERT_EQ(runs_prune(state, 1, ids[0], err, sizeof(err)), 1);
	ASSERT(exists(ids[0]));
	ASSERT(!exists(ids[4]));
}

int main(void)
{
	RUN(list_reads_reports);
	RUN(prune_keeps_newest_and_current);
	{
		char cmd[PATH_MAX + 16];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", state);
		if (system(cmd)) {}
	}
	TEST_MAIN_END();
}
