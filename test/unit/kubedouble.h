/*
 * kubedouble.h - the unit tests' handle on the API server double
 * (test/tools/kubedouble): started as a child on 127.0.0.1:0 in the test's
 * tmpdir, its port read back from a file, stopped with TERM; a double that
 * dies from a signal or exits non-zero (a sanitizer build reports leaks that
 * way) fails the stop. One per test binary.
 */
#ifndef CONFORM_TEST_KUBEDOUBLE_H
#define CONFORM_TEST_KUBEDOUBLE_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "base/util.h"

#define TOKEN "conform-double-token"

static char tmpdir[256];          /* the test's own directory */
static char server[64];           /* "http://127.0.0.1:PORT" once started */
static pid_t double_pid = -1;

/* Start the double with the token TOKEN (and --controllers on when asked:
 * Deployments make pods). 0, or -1 when it did not come up within 5 s. */
static int double_start_with(int controllers)
{
	const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
	char bin[512], portf[512], logf[512];
	int64_t end;
	char *s;

	str_fmt(bin, sizeof(bin), "%s/test/tools/kubedouble", build);
	str_fmt(portf, sizeof(portf), "%s/port", tmpdir);
	str_fmt(logf, sizeof(logf), "%s/double.log", tmpdir);
	double_pid = fork();
	if (double_pid == 0) {
		/* its output to a log, never to our stdout (a pipe a runner waits on) */
		if (!freopen(logf, "w", stderr) || !freopen("/dev/null", "w", stdout))
			_exit(127);
		if (controllers)
			execl(bin, bin, "--port-file", portf, "--token", TOKEN, "--controllers",
			      "on", (char *)NULL);
		else
			execl(bin, bin, "--port-file", portf, "--token", TOKEN, (char *)NULL);
		_exit(127);
	}
	if (double_pid < 0)
		return -1;
	for (end = mono_ms() + 5000; mono_ms() < end; usleep(20000)) {
		s = file_read(portf, 64, NULL);
		if (s) {
			s[strcspn(s, "\n")] = '\0';
			str_fmt(server, sizeof(server), "http://127.0.0.1:%s", s);
			free(s);
			return 0;
		}
	}
	fprintf(stderr, "kubedouble did not write %s within 5 s\n", portf);
	return -1;
}

static int double_stop(void)
{
	int st = 0;

	if (double_pid <= 0)
		return 0;
	kill(double_pid, SIGTERM);
	waitpid(double_pid, &st, 0);
	double_pid = -1;
	if (WIFSIGNALED(st)) {
		fprintf(stderr, "kubedouble died from signal %d\n", WTERMSIG(st));
		return -1;
	}
	if (WEXITSTATUS(st)) {
		fprintf(stderr, "kubedouble exited %d\n", WEXITSTATUS(st));
		return -1;
	}
	return 0;
}

/* a libcurl write callback that drops the body */
static size_t discard(char *p, size_t s, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return s * n;
}

#endif
