/*
 * test_state.c - the CLI's state directory rules: resolution order, run ids,
 * run directories and tokens, the `current` link, the start lock, and run
 * state detection with real processes (a live "conformd", a dead one, a
 * zombie, a process with another name behind the pid).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "config/state.h"
#include "base/util.h"

static char tmpdir[256];

static void mk_tmp(void)
{
	str_copy(tmpdir, sizeof(tmpdir), "/tmp/conform-test-state-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		exit(1);
	}
}

static void rm_tmp(void)
{
	char cmd[512];

	str_fmt(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd))
		fprintf(stderr, "cleanup of %s failed\n", tmpdir);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int write_file(const char *path, const char *text)
{
	return file_write_atomic(path, text, strlen(text), 0600);
}

TEST(resolve_order)
{
	char out[PATH_MAX], err[256], want[PATH_MAX], cwd[PATH_MAX];

	setenv("CONFORM_STATE_DIR", "/env/state", 1);
	setenv("XDG_STATE_HOME", "/xdg", 1);
	setenv("HOME", "/home/u", 1);
	ASSERT_EQ(state_dir_resolve("/flag/dir", out, sizeof(out), err, sizeof(err)), 0);
	ASSERT_STR_EQ(out, "/flag/dir");
	ASSERT_EQ(state_dir_resolve(NULL, out, sizeof(out), err, sizeof(err)), 0);
	ASSERT_STR_EQ(out, "/env/state");
	ASSERT_EQ(state_dir_resolve("", out, sizeof(out), err, sizeof(err)), 0);
	ASSERT_STR_EQ(out, "/env/state");
	unsetenv("CONFORM_STATE_DIR");
	ASSERT_EQ(state_dir_resolve(NULL, out, sizeof(out), err, sizeof(err)), 0);
	ASSERT_STR_EQ(out, "/xdg/conform");
	unsetenv("XDG_STATE_HOME");
	ASSERT_EQ(state_dir_resolve(NULL, out, sizeof(out), err, sizeof(err)), 0);
	ASSERT_STR_EQ(out, "/home/u/.local/state/conform");
	unsetenv("HOME");
	ASSERT_EQ(state_dir_resolve(NULL, out, sizeof(out), err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "HOME");
	/* relative paths become absolute against the working directory */
	ASSERT(getcwd(cwd, sizeof(cwd)) != NULL);
	ASSERT_EQ(state_dir_resolve("rel/dir", out, sizeof(out), err, sizeof(err)), 0);
	str_fmt(want, sizeof(want), "%s/rel/dir", cwd);
	ASSERT_STR_EQ(out, want);
}

TEST(run_ids)
{
	char a[RUN_ID_MAX], b[RUN_ID_MAX], d[PATH_MAX];

	state_new_run_id(a, sizeof(a));
	state_new_run_id(b, sizeof(b));
	ASSERT_EQ(strlen(a), 20);
	ASSERT(state_run_id_valid(a));
	ASSERT(state_run_id_valid(b));
	{
		/* the random part varies: 20 ids all alike would be a broken rng */
		char c[RUN_ID_MAX];
		int k, differ = 0;

		for (k = 0; k < 20; k++) {
			state_new_run_id(c, sizeof(c));
			if (strcmp(c + 16, a + 16))
				differ = 1;
		}
		ASSERT(differ);
	}
	ASSERT(a[8] == '-' && a[15] == '-');
	ASSERT(state_run_id_valid("20261122-041100-3fa2"));
	ASSERT(!state_run_id_valid("20261122-041100-3FA2"));
	ASSERT(!state_run_id_valid("20261122-041100-3fa"));
	ASSERT(!state_run_id_valid("../../etc/passwd..."));
	ASSERT(!state_run_id_valid("2026112x-041100-3fa2"));
	ASSERT(!state_run_id_valid(""));
	ASSERT(!state_run_id_valid(NULL));
	ASSERT_EQ(state_run_dir("/s", "20261122-041100-3fa2", d, sizeof(d)), 0);
	ASSERT_STR_EQ(d, "/s/runs/20261122-041100-3fa2");
	ASSERT_EQ(state_run_dir("/s", "../x", d, sizeof(d)), -1);
}

TEST(run_dir_and_token)
{
	char state[PATH_MAX], dir[PATH_MAX], p[PATH_MAX], err[256], tok[40];
	char *text;
	struct stat st;
	size_t n, i;

	str_fmt(state, sizeof(state), "%s/st1", tmpdir);
	ASSERT_EQ(state_dir_create(state, err, sizeof(err)), 0);
	ASSERT_EQ(stat(state, &st), 0);
	ASSERT_EQ(st.st_mode & 0777, 0700);
	ASSERT_EQ(state_run_dir(state, "20261122-041100-3fa2", dir, sizeof(dir)), 0);
	ASSERT_EQ(state_run_dir_create(dir, err, sizeof(err)), 0);
	ASSERT_EQ(stat(dir, &st), 0);
	ASSERT_EQ(st.st_mode & 0777, 0700);
	str_fmt(p, sizeof(p), "%s/logs", dir);
	ASSERT_EQ(stat(p, &st), 0);
	str_fmt(p, sizeof(p), "%s/reports", dir);
	ASSERT_EQ(stat(p, &st), 0);
	str_fmt(p, sizeof(p), "%s/wl", dir);
	ASSERT_EQ(stat(p, &st), 0);
	/* never reuse a run directory */
	ASSERT_EQ(state_run_dir_create(dir, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "exists");

	ASSERT_EQ(state_token_create(dir, tok, sizeof(tok), err, sizeof(err)), 0);
	ASSERT_EQ(strlen(tok), 32);
	for (i = 0; i < 32; i++)
		ASSERT(strchr("0123456789abcdef", tok[i]) != NULL);
	str_fmt(p, sizeof(p), "%s/token", dir);
	ASSERT_EQ(stat(p, &st), 0);
	ASSERT_EQ(st.st_mode & 0777, 0600);
	text = file_read(p, 1024, &n);
	ASSERT(text != NULL);
	ASSERT_STR_EQ(text, tok);
	free(text);
}

TEST(current_link)
{
	char state[PATH_MAX], p[PATH_MAX], id[RUN_ID_MAX], target[PATH_MAX], err[256];
	ssize_t n;

	str_fmt(state, sizeof(state), "%s/st2", tmpdir);
	ASSERT_EQ(state_dir_create(state, err, sizeof(err)), 0);
	ASSERT_EQ(state_current_get(state, id, sizeof(id)), 0);
	ASSERT_EQ(state_current_set(state, "20261122-041100-3fa2"), 0);
	ASSERT_EQ(state_current_get(state, id, sizeof(id)), 1);
	ASSERT_STR_EQ(id, "20261122-041100-3fa2");
	/* relative target, so a copied state directory keeps working */
	str_fmt(p, sizeof(p), "%s/current", state);
	n = readlink(p, target, sizeof(target) - 1);
	ASSERT(n > 0);
	target[n] = '\0';
	ASSERT_STR_EQ(target, "runs/20261122-041100-3fa2");
	/* replacing is atomic and leaves no temporary behind */
	ASSERT_EQ(state_current_set(state, "20261122-041200-0001"), 0);
	ASSERT_EQ(state_current_get(state, id, sizeof(id)), 1);
	ASSERT_STR_EQ(id, "20261122-041200-0001");
	str_fmt(p, sizeof(p), "%s/current.tmp.%ld", state, (long)getpid());
	ASSERT(access(p, F_OK) != 0);
	ASSERT_EQ(state_current_set(state, "../evil"), -1);
	ASSERT_EQ(state_current_clear(state), 0);
	ASSERT_EQ(state_current_get(state, id, sizeof(id)), 0);
	ASSERT_EQ(state_current_clear(state), 0); /* absent is fine */
	/* a link to something that is not a run is an error, not a run */
	str_fmt(p, sizeof(p), "%s/current", state);
	ASSERT_EQ(symlink("/etc", p), 0);
	ASSERT_EQ(state_current_get(state, id, sizeof(id)), -1);
	ASSERT_EQ(state_current_clear(state), 0);
}

TEST(latest_run)
{
	char state[PATH_MAX], dir[PATH_MAX], id[RUN_ID_MAX], err[256];

	str_fmt(state, sizeof(state), "%s/st3", tmpdir);
	ASSERT_EQ(state_latest_run(state, id, sizeof(id)), 0); /* no runs/ at all */
	ASSERT_EQ(state_dir_create(state, err, sizeof(err)), 0);
	ASSERT_EQ(state_latest_run(state, id, sizeof(id)), 0);
	ASSERT_EQ(state_run_dir(state, "20261122-041100-ffff", dir, sizeof(dir)), 0);
	ASSERT_EQ(state_run_dir_create(dir, err, sizeof(err)), 0);
	ASSERT_EQ(state_run_dir(state, "20261123-000000-0000", dir, sizeof(dir)), 0);
	ASSERT_EQ(state_run_dir_create(dir, err, sizeof(err)), 0);
	str_fmt(dir, sizeof(dir), "%s/runs/zzz-not-a-run", state);
	ASSERT_EQ(mkdir(dir, 0700), 0);
	ASSERT_EQ(state_latest_run(state, id, sizeof(id)), 1);
	ASSERT_STR_EQ(id, "20261123-000000-0000");
}

TEST(lock_excludes)
{
	char state[PATH_MAX], err[256];
	int fd1 = -1, fd2 = -1;
	int64_t t0;

	str_fmt(state, sizeof(state), "%s/st4", tmpdir);
	ASSERT_EQ(state_dir_create(state, err, sizeof(err)), 0);
	ASSERT_EQ(state_lock(state, 0, &fd1, err, sizeof(err)), 0);
	/* flock conflicts between open file descriptions, even in one process */
	t0 = mono_ms();
	ASSERT_EQ(state_lock(state, 200, &fd2, err, sizeof(err)), -1);
	ASSERT_EQ(errno, EWOULDBLOCK);
	ASSERT(mono_ms() - t0 >= 190);
	ASSERT_CONTAINS(err, "another conform start");
	/* the lock fd must not leak into conformd */
	ASSERT(fcntl(fd1, F_GETFD) & FD_CLOEXEC);
	state_unlock(fd1);
	ASSERT_EQ(state_lock(state, 0, &fd2, err, sizeof(err)), 0);
	state_unlock(fd2);
}

/* Start "conformd" (a copy of sleep under that name) and return its pid. */
static pid_t spawn_named(const char *path, const char *secs)
{
	pid_t p = fork();

	if (p == 0) {
		execl(path, path, secs, (char *)NULL);
		_exit(127);
	}
	return p;
}

/* Wait (bounded) until /proc shows the exec happened: cmdline names path. */
static int wait_exec(pid_t pid, const char *prog)
{
	int i;

	for (i = 0; i < 200; i++) {
		if (state_pid_is_prog(pid, prog))
			return 0;
		sleep_ms(10);
	}
	return -1;
}

TEST(pid_checks)
{
	char fake[PATH_MAX], dir[PATH_MAX], p[PATH_MAX], err[256], cmd[PATH_MAX * 2];
	pid_t pid, got = 0, z;
	int st, i;

	str_fmt(dir, sizeof(dir), "%s/st5/runs/20261122-041100-3fa2", tmpdir);
	ASSERT_EQ(mkdir_p(dir, 0700), 0);
	ASSERT_EQ(state_pid_read(dir, &got), 0);
	str_fmt(p, sizeof(p), "%s/conformd.pid", dir);
	ASSERT_EQ(write_file(p, "12ab\n"), 0);
	ASSERT_EQ(state_pid_read(dir, &got), -1);
	ASSERT_EQ(write_file(p, "-5\n"), 0);
	ASSERT_EQ(state_pid_read(dir, &got), -1);
	ASSERT_EQ(write_file(p, "4242\n"), 0);
	ASSERT_EQ(state_pid_read(dir, &got), 1);
	ASSERT_EQ(got, 4242);

	/* our own process is not conformd */
	ASSERT(!state_pid_is_conformd(getpid()));
	ASSERT(state_pid_is_prog(getpid(), "test_state"));
	ASSERT(!state_pid_is_conformd(0));
	ASSERT(!state_pid_is_conformd(-1));

	/* a real process named conformd */
	str_fmt(fake, sizeof(fake), "%s/conformd", tmpdir);
	str_fmt(cmd, sizeof(cmd), "cp /bin/sleep '%s'", fake);
	ASSERT_EQ(system(cmd), 0);
	pid = spawn_named(fake, "30");
	ASSERT(pid > 0);
	ASSERT_EQ(wait_exec(pid, "conformd"), 0);
	ASSERT(state_pid_is_conformd(pid));
	kill(pid, SIGKILL);
	/* a zombie (killed, not reaped) is not alive */
	for (i = 0; i < 200 && state_pid_is_conformd(pid); i++)
		sleep_ms(10);
	ASSERT(!state_pid_is_conformd(pid));
	ASSERT_EQ(kill(pid, 0), 0); /* still a zombie: the pid exists */
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	ASSERT(!state_pid_is_conformd(pid));

	/* a zombie that exited by itself */
	z = fork();
	if (z == 0)
		_exit(0);
	for (i = 0; i < 200 && state_pid_is_prog(z, "test_state"); i++)
		sleep_ms(10);
	ASSERT(!state_pid_is_prog(z, "test_state"));
	ASSERT_EQ(kill(z, 0), 0);
	ASSERT_EQ(waitpid(z, &st, 0), z);
	(void)err;
}

TEST(run_state_detection)
{
	char fake[PATH_MAX], dir[PATH_MAX], p[PATH_MAX], txt[32], err[256];
	pid_t pid, got;
	int st;

	str_fmt(dir, sizeof(dir), "%s/st6/runs/20261122-041100-3fa2", tmpdir);
	ASSERT_EQ(state_run_state(dir, &got), RUN_STATE_NONE);
	ASSERT_EQ(mkdir_p(dir, 0700), 0);
	str_fmt(p, sizeof(p), "%s/reports", dir);
	ASSERT_EQ(mkdir(p, 0700), 0);
	/* nothing: the monitor never got going or died before its pid file */
	ASSERT_EQ(state_run_state(dir, &got), RUN_STATE_DIED);
	ASSERT_EQ(got, 0);

	/* live "conformd" behind the pid file */
	str_fmt(fake, sizeof(fake), "%s/conformd", tmpdir);
	if (access(fake, X_OK)) {
		char cmd[PATH_MAX * 2];

		str_fmt(cmd, sizeof(cmd), "cp /bin/sleep '%s'", fake);
		ASSERT_EQ(system(cmd), 0);
	}
	pid = spawn_named(fake, "30");
	ASSERT_EQ(wait_exec(pid, "conformd"), 0);
	str_fmt(p, sizeof(p), "%s/conformd.pid", dir);
	str_fmt(txt, sizeof(txt), "%ld\n", (long)pid);
	ASSERT_EQ(write_file(p, txt), 0);
	ASSERT_EQ(state_run_state(dir, &got), RUN_STATE_RUNNING);
	ASSERT_EQ(got, pid);
	/* still running while it writes the reports */
	str_fmt(p, sizeof(p), "%s/reports/report.json", dir);
	ASSERT_EQ(write_file(p, "{}"), 0);
	ASSERT_EQ(state_run_state(dir, &got), RUN_STATE_RUNNING);
	ASSERT_EQ(unlink(p), 0);

	/* it dies, the pid file stays: monitor died */
	kill(pid, SIGKILL);
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	ASSERT_EQ(state_run_state(dir, &got), RUN_STATE_DIED);
	ASSERT_EQ(got, pid);

	/* a live process with another name behind the pid is not the monitor */
	str_fmt(p, sizeof(p), "%s/conformd.pid", dir);
	str_fmt(txt, sizeof(txt), "%ld\n", (long)getpid());
	ASSERT_EQ(write_file(p, txt), 0);
	ASSERT_EQ(state_run_state(dir, &got), RUN_STATE_DIED);

	/* clean exit: pid file removed, report written */
	ASSERT_EQ(unlink(p), 0);
	str_fmt(p, sizeof(p), "%s/reports/report.json", dir);
	ASSERT_EQ(write_file(p, "{}"), 0);
	ASSERT_EQ(state_run_state(dir, &got), RUN_STATE_FINISHED);
	ASSERT_EQ(got, 0);
	ASSERT_STR_EQ(run_state_name(RUN_STATE_DIED), "monitor-died");
	(void)err;
}

TEST(live_workloads)
{
	char fake[PATH_MAX], dir[PATH_MAX], p[PATH_MAX], txt[128], cmd[PATH_MAX * 2];
	pid_t pid, pids[8];
	int st;

	str_fmt(dir, sizeof(dir), "%s/st7/runs/20261122-041100-3fa2", tmpdir);
	ASSERT_EQ(state_live_workloads(dir, pids, 8), 0); /* no wl/ yet */
	str_fmt(p, sizeof(p), "%s/wl", dir);
	ASSERT_EQ(mkdir_p(p, 0700), 0);
	str_fmt(fake, sizeof(fake), "%s/conform-workload", tmpdir);
	str_fmt(cmd, sizeof(cmd), "cp /bin/sleep '%s'", fake);
	ASSERT_EQ(system(cmd), 0);
	pid = spawn_named(fake, "30");
	ASSERT_EQ(wait_exec(pid, "conform-workload"), 0);
	str_fmt(p, sizeof(p), "%s/wl/http-server.ready", dir);
	str_fmt(txt, sizeof(txt), "{\"pid\":%ld,\"role\":\"http-server\"}", (long)pid);
	ASSERT_EQ(write_file(p, txt), 0);
	/* our own pid is not a workload; junk and other files are ignored */
	str_fmt(p, sizeof(p), "%s/wl/grpc-server.ready", dir);
	str_fmt(txt, sizeof(txt), "{\"pid\":%ld}", (long)getpid());
	ASSERT_EQ(write_file(p, txt), 0);
	str_fmt(p, sizeof(p), "%s/wl/junk.ready", dir);
	ASSERT_EQ(write_file(p, "{\"pid\":"), 0);
	str_fmt(p, sizeof(p), "%s/wl/notes.txt", dir);
	str_fmt(txt, sizeof(txt), "{\"pid\":%ld}", (long)pid);
	ASSERT_EQ(write_file(p, txt), 0);
	ASSERT_EQ(state_live_workloads(dir, pids, 8), 1);
	ASSERT_EQ(pids[0], pid);
	ASSERT_EQ(state_live_workloads(dir, pids, 0), 0);
	kill(pid, SIGKILL);
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	ASSERT_EQ(state_live_workloads(dir, pids, 8), 0);
}

/* the gap starts at the heartbeat, or earlier where the tap feed's stored
 * mark less its allowed delay says so; never before the run started */
TEST(gap_from)
{
	/* no tap feed: the heartbeat */
	ASSERT_NEAR(state_gap_from(1000.0, 0, 2.0, 900.0), 1000.0, 1e-9);
	/* stored through 999.4, lines may come 2 s late: requests from 997.4 */
	ASSERT_NEAR(state_gap_from(1000.0, 999.4, 2.0, 900.0), 997.4, 1e-9);
	/* a larger allowed delay reaches further back (a fixed lead would not) */
	ASSERT_NEAR(state_gap_from(1000.0, 999.4, 10.0, 900.0), 989.4, 1e-9);
	/* a mark newer than the heartbeat (both a second apart) moves nothing */
	ASSERT_NEAR(state_gap_from(1000.0, 1003.0, 2.0, 900.0), 1000.0, 1e-9);
	/* never before the start */
	ASSERT_NEAR(state_gap_from(901.0, 900.5, 2.0, 900.0), 900.0, 1e-9);
}

int main(void)
{
	mk_tmp();
	RUN(resolve_order);
	RUN(run_ids);
	RUN(run_dir_and_token);
	RUN(current_link);
	RUN(latest_run);
	RUN(lock_excludes);
	RUN(pid_checks);
	RUN(run_state_detection);
	RUN(live_workloads);
	RUN(gap_from);
	rm_tmp();
	TEST_MAIN_END();
}
