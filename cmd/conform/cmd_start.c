/*
 * cmd_start.c - `conform start` (a run in the background) and `conform run`
 * (start, follow the run with a progress line until its duration is over or
 * Ctrl-C, then stop it and print the summary: the CI entry point).
 * `start --resume` restarts the dead monitor of the current run.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "control/apiclient.h"
#include "cli.h"
#include "base/util.h"

#define RUN_GRACE_MS 120000    /* after the duration, before we ask it to stop */
#define STOP_DEADLINE_MS 60000

static void on_signal(int sig)
{
	(void)sig;
	cli_interrupted = 1;
}

void cli_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static void print_started(const struct cli_run *r, const struct run_config *cfg, int json)
{
	char d[32], w[32];
	size_t i;

	if (json) {
		struct dynbuf b = DYNBUF_INIT(1 << 16);

		dynbuf_adds(&b, "{\"id\":\"");
		dynbuf_add_json_str(&b, r->id);
		dynbuf_adds(&b, "\",\"run_dir\":\"");
		dynbuf_add_json_str(&b, r->dir);
		dynbuf_adds(&b, "\",\"socket\":\"");
		dynbuf_add_json_str(&b, r->sock);
		dynbuf_addf(&b, "\",\"pid\":%ld,\"duration_s\":%lld,\"window_s\":%lld}",
			    (long)r->pid, (long long)(cfg->duration_ms / 1000),
			    (long long)(cfg->window_ms / 1000));
		printf("%s\n", b.buf ? b.buf : "{}");
		dynbuf_release(&b);
		return;
	}
	if (!strcmp(cfg->platform, "kubernetes"))
		printf("run %s started in the cluster (namespace %s)\n", r->id, cfg->m.ns);
	else
		printf("run %s started (conformd pid %ld)\n", r->id, (long)r->pid);
	printf("  dir       %s\n", r->dir);
	printf("  duration  %s, window %s, platform %s, mesh %s\n",
	       cfg->duration_ms ? dur_format(cfg->duration_ms, d, sizeof(d)) : "until stopped",
	       dur_format(cfg->window_ms, w, sizeof(w)), cfg->platform, cfg->mesh);
	printf("  checks    ");
	for (i = 0; i < cfg->nchecks; i++)
		printf("%s%s", i ? ", " : "", cfg->checks[i]);
	printf("%s\n", cfg->nchecks ? "" : "(none)");
	printf("`conform status` shows it, `conform stop` ends it.\n");
}

int cmd_start(const struct cli_opts *o)
{
	struct cli_run r;
	struct run_config cfg;
	pid_t child;
	int rc;

	if ((rc = cli_no_args(o, "start")))
		return rc;
	cli_catch_signals();
	if ((rc = cli_start_run(o, 0, &r, &cfg, &child)))
		return rc;
	if (o->set & CLI_F_RESUME) {
		if (o->json)
			printf("{\"id\":\"%s\",\"resumed\":true,\"pid\":%ld}\n", r.id, (long)r.pid);
		else
			printf("run %s resumed (conformd pid %ld); the time its monitor was down is a "
			       "monitor gap. `conform status` shows it.\n", r.id, (long)r.pid);
		return EXIT_CONFORMANT;
	}
	print_started(&r, &cfg, o->json);
	return EXIT_CONFORMANT;
}

/* Progress from /v1/status: elapsed seconds and how many checks fail. */
/* The checks failing now, by id (what Sonobuoy's progress lists as failures). */
struct failing_ids {
	size_t n;
	char id[RUN_MAX_CHECKS][32];
	const char *ptr[RUN_MAX_CHECKS];
};

static int poll_status(const struct cli_run *r, double *elapsed, int *failing, char *state,
		       size_t statelen, struct failing_ids *ids)
{
	struct api_response resp;
	char err[256];
	cJSON *j;
	const cJSON *run, *el, *checks, *c, *st;

	if (api_call(&r->ep, "GET", "/v1/status", NULL, 2000, &resp, err, sizeof(err)))
		return -1;
	j = resp.status == 200 ? cJSON_ParseWithLength(resp.body, resp.len) : NULL;
	api_response_release(&resp);
	if (!j)
		return -1;
	run = cJSON_GetObjectItemCaseSensitive(j, "run");
	el = cJSON_GetObjectItemCaseSensitive(run, "elapsed_s");
	if (cJSON_IsNumber(el))
		*elapsed = el->valuedouble;
	st = cJSON_GetObjectItemCaseSensitive(j, "state");
	if (cJSON_IsString(st) && st->valuestring)
		str_copy(state, statelen, st->valuestring);
	*failing = 0;
	if (ids)
		ids->n = 0;
	checks = cJSON_GetObjectItemCaseSensitive(j, "checks");
	cJSON_ArrayForEach(c, checks) {
		const cJSON *cs = cJSON_GetObjectItemCaseSensitive(c, "state");
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "id");

		if (cJSON_IsString(cs) && cs->valuestring &&
		    (!strcmp(cs->valuestring, "fail") || !strcmp(cs->valuestring, "failing"))) {
			(*failing)++;
			if (ids && ids->n < RUN_MAX_CHECKS && cJSON_IsString(id) &&
			    id->valuestring) {
				str_copy(ids->id[ids->n], sizeof(ids->id[0]), id->valuestring);
				ids->ptr[ids->n] = ids->id[ids->n];
				ids->n++;
			}
		}
	}
	cJSON_Delete(j);
	return 0;
}

static void request_stop(const struct cli_run *r, pid_t child)
{
	struct api_response resp;
	char err[256];

	if (!api_call(&r->ep, "POST", "/v1/stop", "{}", 5000, &resp, err, sizeof(err))) {
		int ok = resp.status == 202 || resp.status == 200;

		api_response_release(&resp);
		if (ok)
			return;
	}
	/* the API did not take it: SIGTERM makes conformd finish the same way */
	kill(child, SIGTERM);
}

int cmd_run(const struct cli_opts *o)
{
	struct cli_run r;
	struct run_config cfg;
	pid_t child;
	int64_t t0, stop_at = 0, last_shown = -1, last_progress = -1;
	int rc, wst = 0, exited = 0, abnormal;
	char d[32];

	if ((rc = cli_no_args(o, "run")))
		goto not_started;
	if (!(o->set & (CLI_F_DURATION | CLI_F_CONFIG))) {
		rc = cli_fail(EXIT_USAGE, "write e.g. `conform run --duration 30m`",
			      "`conform run` needs --duration");
		goto not_started;
	}
	cli_catch_signals();
	if ((rc = cli_start_run(o, 1, &r, &cfg, &child)))
		goto not_started;
	printf("run %s started: %s, window %lld s, dir %s\n", r.id,
	       dur_format(cfg.duration_ms, d, sizeof(d)), (long long)(cfg.window_ms / 1000),
	       r.dir);
	fflush(stdout);
	if (!child) {   /* conformd runs in the cluster */
		rc = kube_run_follow(&r, &cfg);
		if (rc != EXIT_ENV && ci_write_outputs(&r, &cfg.out) && rc == EXIT_CONFORMANT)
			rc = EXIT_ENV;
		if (o->sonobuoy && rc != EXIT_ENV && ci_sonobuoy_results(&r) &&
		    rc == EXIT_CONFORMANT)
			rc = EXIT_ENV;
		return rc;
	}

	t0 = mono_ms();
	for (;;) {
		int64_t now = mono_ms(), el = now - t0;

		/* Sonobuoy: a progress update per window */
		if (o->sonobuoy && cfg.window_ms > 0 && el / cfg.window_ms != last_progress) {
			double elapsed = (double)el / 1000.0;
			int failing = 0;
			char state[32] = "", msg[160], tot[32];
			struct failing_ids ids = { 0 };

			last_progress = el / cfg.window_ms;
			poll_status(&r, &elapsed, &failing, state, sizeof(state), &ids);
			snprintf(msg, sizeof(msg), "run %s: %llds of %s, %d check%s failing", r.id,
				 (long long)elapsed, dur_format(cfg.duration_ms, tot, sizeof(tot)),
				 failing, failing == 1 ? "" : "s");
			if (ci_sonobuoy_progress(msg, (long)(cfg.duration_ms / cfg.window_ms),
						 (long)(elapsed * 1000.0 / (double)cfg.window_ms),
						 ids.ptr, ids.n, NULL))
				fprintf(stderr, "conform: sonobuoy progress update not accepted\n");
		}
		int step = out_err_tty() ? 1 : 10;

		if (waitpid(child, &wst, WNOHANG) == child) {
			exited = 1;
			break;
		}
		if (cli_interrupted && !stop_at) {
			out_progress_done();
			fprintf(stderr, "conform: interrupted, stopping run %s (the reports are "
				"still written)\n", r.id);
			request_stop(&r, child);
			stop_at = now;
		}
		if (!stop_at && el > cfg.duration_ms + RUN_GRACE_MS) {
			out_progress_done();
			fprintf(stderr, "conform: run %s is past its duration, stopping it\n", r.id);
			request_stop(&r, child);
			stop_at = now;
		}
		if (stop_at && now - stop_at > STOP_DEADLINE_MS) {
			out_progress_done();
			cli_fail(EXIT_ENV, "see logs/conformd.log in the run directory",
				 "conformd (pid %ld) did not finish within %d s; killing it",
				 (long)child, STOP_DEADLINE_MS / 1000);
			kill(child, SIGTERM);
			if (cli_wait_exit(child, 1, 10000, "stopping", &wst)) {
				kill(child, SIGKILL);
				waitpid(child, &wst, 0);
			}
			exited = 1;
			break;
		}
		if (el / 1000 / step != last_shown) {
			double elapsed = (double)el / 1000.0;
			int failing = 0;
			char state[32] = "";
			char tot[32];

			last_shown = el / 1000 / step;
			poll_status(&r, &elapsed, &failing, state, sizeof(state), NULL);
			out_progress("run %s: %llds of %s, %d check%s failing%s%s", r.id,
				     (long long)elapsed, dur_format(cfg.duration_ms, tot, sizeof(tot)),
				     failing, failing == 1 ? "" : "s",
				     stop_at || !strcmp(state, "stopping") ? ", stopping" : "",
				     "");
		}
		{
			struct timespec ts = { 0, 100 * 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
	}
	out_progress_done();
	abnormal = 0;
	if (!exited || !WIFEXITED(wst) || WEXITSTATUS(wst) != 0) {
		char why[64];

		if (WIFSIGNALED(wst))
			snprintf(why, sizeof(why), "killed by signal %d", WTERMSIG(wst));
		else
			snprintf(why, sizeof(why), "exit status %d", WEXITSTATUS(wst));
		fprintf(stderr, "conform: conformd of run %s ended with %s; see "
			"%s/logs/conformd.log\n", r.id, why, r.dir);
	}
	/* the reports are the run's result: without them the end was abnormal */
	if (state_run_state(r.dir, NULL) != RUN_STATE_FINISHED) {
		fprintf(stderr, "conform: conformd of run %s exited without writing reports\n",
			r.id);
		abnormal = 1;
	}
	rc = cli_finish(&r, abnormal);
	if (ci_write_outputs(&r, &cfg.out) && rc == EXIT_CONFORMANT)
		rc = EXIT_ENV;
	if (o->sonobuoy) {
		if (ci_sonobuoy_results(&r) && rc == EXIT_CONFORMANT)
			rc = EXIT_ENV;
		if (cfg.window_ms > 0 &&
		    ci_sonobuoy_final(&r, (long)(cfg.duration_ms / cfg.window_ms)))
			fprintf(stderr, "conform: sonobuoy progress update not accepted\n");
	}
	return rc;
not_started:
	/* Sonobuoy waits for the done file until its timeout: say why now */
	if (o->sonobuoy)
		ci_sonobuoy_error(cli_last_error());
	return rc;
}
