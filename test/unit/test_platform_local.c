/*
 * test_platform_local.c - the local supervisor's account of exits: only an
 * exit conformd caused (the process ended on its own after being asked, or by
 * the TERM/KILL it was sent) is marked "(expected: ...)"; a process that dies
 * from any other signal while being stopped (a SEGV at shutdown) is recorded
 * as the crash it is, naming what was sent. Real child processes (/bin/sh
 * helpers), events read back from the store.
 */
#include <errno.h>
#include <signal.h>
#include <time.h>

#include "fixture.h"
#include "harness.h"
#include "platform/platform.h"

#define SH "/bin/sh"

static struct store *st;
static struct platform *plat;

/* a platform in a fresh run dir of fixture_tmpdir, events into st */
static int setup(const char *name)
{
	struct platform_config pc;
	char dir[256], err[256];

	st = fixture_store_open();
	if (!st)
		return -1;
	str_fmt(dir, sizeof(dir), "%s/%s", fixture_tmpdir, name);
	memset(&pc, 0, sizeof(pc));
	pc.run_dir = dir;
	pc.workload_bin = SH;
	pc.token = "test-token";
	str_copy(pc.collector, sizeof(pc.collector), "127.0.0.1:1");
	pc.store = st;
	if (platform_local.prepare(&pc, &plat, err, sizeof(err)) < 0) {
		fprintf(stderr, "prepare: %s\n", err);
		return -1;
	}
	return 0;
}

static void teardown(void)
{
	platform_local.release(plat);
	plat = NULL;
	store_close(st);
	st = NULL;
}

/* start helper NAME running `sh -c SCRIPT` */
static int start_sh(const char *name, const char *script)
{
	struct workload_spec s;
	char err[256];
	int rc;

	memset(&s, 0, sizeof(s));
	str_copy(s.name, sizeof(s.name), name);
	str_copy(s.role, sizeof(s.role), "helper");
	s.role_bit = PLATFORM_ROLE_SIDECAR;
	s.ncommand = 3;
	str_copy(s.command[0], sizeof(s.command[0]), SH);
	str_copy(s.command[1], sizeof(s.command[1]), "-c");
	str_copy(s.command[2], sizeof(s.command[2]), script);
	rc = platform_local.start(plat, &s, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "start %s: %s\n", name, err);
	/* let the shell set its traps before anything is sent to it */
	nanosleep(&(struct timespec){ 0, 300 * 1000000L }, NULL);
	return rc;
}

/* the detail of the last workload.exit event of NAME, or "" */
static const char *last_exit(const char *name)
{
	static char detail[512];
	struct store_event *ev = NULL;
	size_t n = 0, i;

	detail[0] = '\0';
	if (store_get_events_kind(st, "workload.exit", &ev, &n) < 0)
		return detail;
	for (i = 0; i < n; i++)
		if (!strcmp(ev[i].subject, name))
			str_copy(detail, sizeof(detail), ev[i].detail);
	free(ev);
	return detail;
}

TEST(term_at_stop_is_expected)
{
	ASSERT_EQ(setup("term"), 0);
	ASSERT_EQ(start_sh("plain", "exec sleep 30"), 0);
	ASSERT_EQ(platform_local.stop(plat, PLATFORM_ROLE_SIDECAR, 5000), 0);
	ASSERT_STR_EQ(last_exit("plain"), "exited by signal 15 (TERM) (expected: stop)");
	teardown();
}

TEST(own_exit_at_stop_is_expected)
{
	ASSERT_EQ(setup("own"), 0);
	ASSERT_EQ(start_sh("polite", "trap 'exit 0' TERM; while :; do sleep 0.05; done"), 0);
	ASSERT_EQ(platform_local.stop(plat, PLATFORM_ROLE_SIDECAR, 5000), 0);
	ASSERT_STR_EQ(last_exit("polite"), "exited with status 0 (expected: stop)");
	teardown();
}

/* the plant of issue 11: a SEGV at shutdown must not pass as "expected" */
TEST(segv_at_stop_is_a_crash)
{
	const char *d;

	ASSERT_EQ(setup("segv"), 0);
	ASSERT_EQ(start_sh("crashy", "trap 'kill -SEGV $$' TERM; while :; do sleep 0.05; done"), 0);
	ASSERT_EQ(platform_local.stop(plat, PLATFORM_ROLE_SIDECAR, 5000), 0);
	d = last_exit("crashy");
	ASSERT_STR_EQ(d, "exited by signal 11 (SEGV), not by a signal conformd sent "
		      "(sent: TERM, for stop)");
	ASSERT(!strstr(d, "(expected"));
	teardown();
}

TEST(kill_fault_is_expected_and_restarted)
{
	int64_t end;

	ASSERT_EQ(setup("kill"), 0);
	ASSERT_EQ(start_sh("victim", "exec sleep 30"), 0);
	ASSERT_EQ(platform_local.kill(plat, "victim", SIGKILL), 0);
	end = mono_ms() + 5000;
	while (!last_exit("victim")[0] && mono_ms() < end) {
		platform_local.poll(plat);
		nanosleep(&(struct timespec){ 0, 20 * 1000000L }, NULL);
	}
	ASSERT_CONTAINS(last_exit("victim"), "exited by signal 9 (KILL) (expected: kill fault), "
			"restart 1 in ");
	ASSERT_EQ(platform_local.kill(plat, "nobody", SIGKILL), -ENOENT);
	platform_local.stop(plat, PLATFORM_ROLE_SIDECAR, 5000);
	teardown();
}

int main(void)
{
	if (fixture_tmpdir_make("platform"))
		return 2;
	log_init("test_platform_local", LOG_ERROR);
	RUN(term_at_stop_is_expected);
	RUN(own_exit_at_stop_is_expected);
	RUN(segv_at_stop_is_a_crash);
	RUN(kill_fault_is_expected_and_restarted);
	fixture_tmpdir_remove();
	TEST_MAIN_END();
}
