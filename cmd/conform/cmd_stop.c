/*
 * cmd_stop.c - `conform stop`: ask the monitor to finish, wait for it, print
 * the summary and clear the active run. A finished run only needs the
 * summary; a dead monitor gets its reports rendered here from the store.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "control/apiclient.h"
#include "cli.h"
#include "base/util.h"

#define STOP_DEADLINE_MS 60000

/* A dead monitor leaves its workloads running: stop them (TERM, then KILL). */
static void stop_orphans(const struct cli_run *r)
{
	pid_t pids[64];
	int n, i, left, tries;

	n = state_live_workloads(r->dir, pids, 64);
	if (n <= 0)
		return;
	for (i = 0; i < n; i++)
		kill(pids[i], SIGTERM);
	for (tries = 0; tries < 100; tries++) { /* up to 10 s */
		struct timespec ts = { 0, 100 * 1000 * 1000 };

		for (left = 0, i = 0; i < n; i++)
			left += state_pid_left_alive(r->dir, pids[i]) > 0;
		if (!left)
			break;
		nanosleep(&ts, NULL);
	}
	for (i = 0; i < n; i++)
		if (state_pid_left_alive(r->dir, pids[i]) > 0)
			kill(pids[i], SIGKILL);
	fprintf(stderr, "conform: stopped %d workload%s the dead monitor left running\n", n,
		n == 1 ? "" : "s");
}

int cmd_stop(const struct cli_opts *o)
{
	struct cli_run r;
	struct api_response resp;
	char err[512], hint[PATH_MAX + 160];
	int rc;

	if ((rc = cli_no_args(o, "stop")) || (rc = cli_current_run(o, &r)))
		return rc;
	if (r.ep.kind == API_EP_HTTP)   /* in a cluster (kube.c) */
		return kube_stop_run(&r);
	if (r.state == RUN_STATE_FINISHED)
		return cli_finish(&r, 0);
	if (r.state == RUN_STATE_DIED) {
		fprintf(stderr, "conform: the monitor of run %s is not running; rendering the "
			"reports from its store\n", r.id);
		stop_orphans(&r);
		return cli_finish(&r, 1);
	}

	if (api_call(&r.ep, "POST", "/v1/stop", "{}", 0, &resp, err, sizeof(err))) {
		/* SIGTERM makes conformd finish the same way as /v1/stop */
		fprintf(stderr, "conform: cannot reach the monitor of run %s (%s); sending it "
			"SIGTERM\n", r.id, err);
		if (kill(r.pid, SIGTERM) && errno != ESRCH)
			return cli_fail(EXIT_ENV, NULL, "cannot signal conformd (pid %ld): %s",
					(long)r.pid, strerror(errno));
	} else {
		long status = resp.status;

		if (status != 202 && status != 200) {
			api_error_text(&resp, err, sizeof(err));
			api_response_release(&resp);
			return cli_fail(EXIT_ENV, NULL, "stop of run %s refused: HTTP %ld: %s", r.id,
					status, err);
		}
		api_response_release(&resp);
	}
	if (cli_wait_exit(r.pid, 0, STOP_DEADLINE_MS, "stopping", NULL)) {
		snprintf(hint, sizeof(hint), "see %s/logs/conformd.log; `kill %ld` ends it, then "
			 "`conform stop` renders the reports", r.dir, (long)r.pid);
		return cli_fail(EXIT_ENV, hint, "conformd (pid %ld) did not finish within %d s",
				(long)r.pid, STOP_DEADLINE_MS / 1000);
	}
	r.state = state_run_state(r.dir, &r.pid);
	if (r.pid) /* a clean exit removes the pid file */
		fprintf(stderr, "conform: conformd of run %s did not exit cleanly (it left %s/"
			"conformd.pid); see its logs/conformd.log\n", r.id, r.dir);
	if (r.state != RUN_STATE_FINISHED) {
		fprintf(stderr, "conform: the monitor of run %s exited without writing its "
			"reports; rendering them from the store\n", r.id);
		return cli_finish(&r, 1);
	}
	return cli_finish(&r, 0);
}
