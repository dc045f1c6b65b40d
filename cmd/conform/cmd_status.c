/*
 * cmd_status.c - `conform status`: what the active run is doing. A live run
 * is asked over the API; a finished one is summarised from its store; a dead
 * monitor is reported as an environment error with where to look.
 * --watch repeats it until the run ends: redrawn on a terminal, one compact
 * block per interval for logs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "control/apiclient.h"
#include "cli.h"
#include "base/util.h"

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) && v->valuestring ? v->valuestring : "";
}

static double jnum(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* A display copy of a network string: bounded, control characters replaced. */
static const char *clean(const char *s, char *buf, size_t len)
{
	size_t i;

	str_copy(buf, len, s);
	for (i = 0; buf[i]; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = ' ';
	return buf;
}

static void print_status(const cJSON *j)
{
	const cJSON *run = cJSON_GetObjectItemCaseSensitive(j, "run");
	const cJSON *mon = cJSON_GetObjectItemCaseSensitive(j, "monitor");
	const cJSON *checks = cJSON_GetObjectItemCaseSensitive(j, "checks");
	const cJSON *wls = cJSON_GetObjectItemCaseSensitive(j, "workloads");
	const cJSON *faults = cJSON_GetObjectItemCaseSensitive(j, "faults");
	const cJSON *it;
	char a[64], b[64], c[64], when[64], buf[512];
	double dur = jnum(run, "duration_s"), el = jnum(run, "elapsed_s");
	double started = jnum(run, "started");
	int nfaults = 0;

	printf("run %s  %s/%s  %s  verdict so far: ", clean(jstr(run, "id"), a, 48),
	       clean(jstr(run, "platform"), b, 16), clean(jstr(run, "mesh"), c, 16),
	       clean(jstr(j, "state"), buf, 16));
	out_verdict(stdout, clean(jstr(j, "verdict_so_far"), when, 16), 0);
	printf("\n");
	if (el < 1)
		str_copy(a, sizeof(a), "0s");
	else
		dur_format((int64_t)el * 1000, a, sizeof(a));
	if (dur > 0) {
		double left = dur - el > 0 ? dur - el : 0;

		printf("elapsed %s of %s (%s left)", a,
		       dur_format((int64_t)dur * 1000, b, sizeof(b)),
		       dur_format((int64_t)left * 1000, c, sizeof(c)));
	} else {
		printf("elapsed %s (until stopped)", a);
	}
	printf("  window %llds", (long long)jnum(run, "window_s"));
	if (started > 0)
		printf("  started %s", out_local_time(started, when, sizeof(when)));
	printf("\nmonitor: %lld batches, %lld duplicates, %lld rejected",
	       (long long)jnum(mon, "batches"), (long long)jnum(mon, "duplicates"),
	       (long long)jnum(mon, "rejected"));
	if (jstr(mon, "store_error")[0])
		printf("; health: store error: %s (batches are not acked; the clients keep "
		       "them)", clean(jstr(mon, "store_error"), buf, 100));
	printf("\n\n");

	printf("%-22s %-12s %-14s %10s %8s  %s\n", "CHECK", "STATE", "WINDOWS P/F/N/I",
	       "REQUESTS", "FAILED", "LAST REASON");
	cJSON_ArrayForEach(it, checks) {
		const cJSON *w = cJSON_GetObjectItemCaseSensitive(it, "windows");
		const cJSON *rq = cJSON_GetObjectItemCaseSensitive(it, "requests");
		char win[64];

		snprintf(win, sizeof(win), "%lld/%lld/%lld/%lld", (long long)jnum(w, "pass"),
			 (long long)jnum(w, "fail"), (long long)jnum(w, "nodata"),
			 (long long)jnum(w, "inconclusive"));
		printf("%-22s ", clean(jstr(it, "id"), a, 32));
		/* not failing, not proven: a precondition outside the promise broke */
		if (!strcmp(jstr(it, "verdict"), "inconclusive") &&
		    strcmp(jstr(it, "state"), "failing"))
			out_verdict(stdout, "inconclusive", 12);
		else
			out_verdict(stdout, clean(jstr(it, "state"), b, 16), 12);
		printf(" %-14s %10lld %8lld  %s\n", win, (long long)jnum(rq, "total"),
		       (long long)jnum(rq, "failed"), clean(jstr(it, "cause")[0] ?
		       jstr(it, "cause") : jstr(it, "last_reason"), buf, 120));
	}
	printf("\n%-20s %-11s %8s %9s\n", "WORKLOAD", "STATE", "PID", "RESTARTS");
	cJSON_ArrayForEach(it, wls) {
		printf("%-20s %-11s %8lld %9lld\n", clean(jstr(it, "name"), a, 48),
		       clean(jstr(it, "state"), b, 16), (long long)jnum(it, "pid"),
		       (long long)jnum(it, "restarts"));
	}
	cJSON_ArrayForEach(it, faults) {
		double until = jnum(it, "until");

		if (!nfaults++)
			printf("\nactive faults:\n");
		printf("  #%lld %s on %s", (long long)jnum(it, "id"), clean(jstr(it, "kind"), a, 32),
		       clean(jstr(it, "target"), b, 48));
		if (until > 0)
			printf(" until %s", out_local_time(until, when, sizeof(when)));
		else
			printf(" until the run ends");
		printf("\n");
	}
	if (!nfaults)
		printf("\nno active faults\n");
}

/* "verdict" of reports/report.json into out ("" when unknown). */
static void report_json_verdict(const struct cli_run *r, char *out, size_t len)
{
	char path[PATH_MAX];
	char *text;
	size_t n;
	cJSON *j;

	out[0] = '\0';
	if (str_fmt(path, sizeof(path), "%s/reports/report.json", r->dir))
		return;
	text = file_read(path, 64u << 20, &n);
	if (!text)
		return;
	j = cJSON_ParseWithLength(text, n);
	free(text);
	str_copy(out, len, jstr(j, "verdict"));
	cJSON_Delete(j);
}

/*
 * The monitor died (exit 3): say since when, that the workloads go on
 * buffering their results, and exactly how to resume. --json prints a
 * status object with state "monitor-down" on stdout as well.
 */
static int monitor_down(const struct cli_run *r, int json)
{
	char hint[2 * PATH_MAX + 256], since[96] = "", at[64], ago[32];
	double hb = 0;
	pid_t left[64];
	int n = state_live_workloads(r->dir, left, 64);

	if (state_heartbeat_read(r->dir, &hb) == 0) {
		double d = wall_s() - hb;

		snprintf(since, sizeof(since), " since %s (%s ago)", out_local_time(hb, at, sizeof(at)),
			 dur_format(d > 1 ? (int64_t)d * 1000 : 1000, ago, sizeof(ago)));
	}
	if (json)
		printf("{\"run\":{\"id\":\"%s\"},\"state\":\"monitor-down\",\"monitor\":"
		       "{\"down\":true,\"last_heartbeat\":%.3f,\"workloads_left_running\":%d},"
		       "\"resume\":\"conform start --resume\"}\n", r->id, hb, n > 0 ? n : 0);
	snprintf(hint, sizeof(hint), "resume it with `conform start --resume` (the time it was "
		 "down becomes a monitor gap, not a failure); its log is %s/logs/conformd.log; "
		 "`conform stop` ends the run instead and renders the reports from the store",
		 r->dir);
	if (r->pid)
		return cli_fail(EXIT_ENV, hint, "the monitor of run %s (pid %ld) is down%s; %d "
				"workload process%s still running and buffering results", r->id,
				(long)r->pid, since, n > 0 ? n : 0, n == 1 ? "" : "es");
	return cli_fail(EXIT_ENV, hint, "the monitor of run %s is down%s; %d workload "
			"process%s still running and buffering results", r->id, since,
			n > 0 ? n : 0, n == 1 ? "" : "es");
}

#define WATCH_DEFAULT_MS 2000
#define WATCH_TIMEOUT_MS 5000

/* One compact block of the status for a log: a header line, a line per check. */
static void print_compact(const cJSON *j)
{
	const cJSON *run = cJSON_GetObjectItemCaseSensitive(j, "run");
	const cJSON *mon = cJSON_GetObjectItemCaseSensitive(j, "monitor");
	const cJSON *checks = cJSON_GetObjectItemCaseSensitive(j, "checks");
	const cJSON *faults = cJSON_GetObjectItemCaseSensitive(j, "faults");
	const cJSON *it;
	char a[64], b[64], c[64], v[16], now[64], buf[512];
	double dur = jnum(run, "duration_s"), el = jnum(run, "elapsed_s");
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(now, sizeof(now), "%H:%M:%S", &tm);
	if (el < 1)
		str_copy(a, sizeof(a), "0s");
	else
		dur_format((int64_t)el * 1000, a, sizeof(a));
	if (dur > 0)
		snprintf(b, sizeof(b), "of %s", dur_format((int64_t)dur * 1000, c, sizeof(c)));
	else
		str_copy(b, sizeof(b), "until stopped");
	printf("%s run %s %s, elapsed %s %s, so far %s; monitor %lld batches, %lld rejected; "
	       "%d active faults\n", now, clean(jstr(run, "id"), c, 48),
	       clean(jstr(j, "state"), buf, 16), a, b,
	       clean(jstr(j, "verdict_so_far"), v, sizeof(v)), (long long)jnum(mon, "batches"),
	       (long long)jnum(mon, "rejected"), cJSON_GetArraySize(faults));
	cJSON_ArrayForEach(it, checks) {
		const cJSON *w = cJSON_GetObjectItemCaseSensitive(it, "windows");

		printf("  %-20s %-6s windows %lld/%lld/%lld/%lld  %.1f req/s  p99 %.1fms  %s\n",
		       clean(jstr(it, "id"), a, 32), clean(jstr(it, "state"), b, 16),
		       (long long)jnum(w, "pass"), (long long)jnum(w, "fail"),
		       (long long)jnum(w, "nodata"), (long long)jnum(w, "inconclusive"),
		       jnum(it, "rate"), jnum(it, "p99_ms"),
		       clean(jstr(it, "last_reason"), buf, 100));
	}
}

/* Sleep ms in short steps so Ctrl-C ends the wait at once. */
static void watch_sleep(int64_t ms)
{
	int64_t end = mono_ms() + ms;

	while (!cli_interrupted && mono_ms() < end) {
		struct timespec ts = { 0, 50 * 1000000L };

		nanosleep(&ts, NULL);
	}
}

/*
 * status --watch: poll until the run ends or Ctrl-C. The run is resolved
 * once, so a concurrent `conform stop` (which clears `current`) ends the
 * watch with the final summary instead of "no active run".
 */
static int status_watch(const struct cli_opts *o, struct cli_run *r)
{
	int64_t interval = o->interval_ms > 0 ? o->interval_ms : WATCH_DEFAULT_MS;
	int tty = isatty(STDOUT_FILENO), blocks = 0, unreachable = 0;
	char err[512], iv[32];

	dur_format(interval, iv, sizeof(iv));
	cli_catch_signals();
	while (!cli_interrupted) {
		struct api_response resp;
		enum run_state st;
		cJSON *j = NULL;

		if (api_call(&r->ep, "GET", "/v1/status", NULL, WATCH_TIMEOUT_MS, &resp, err,
				sizeof(err)) == 0) {
			if (resp.status == 200)
				j = cJSON_ParseWithLength(resp.body, resp.len);
			else
				api_error_text(&resp, err, sizeof(err));
			api_response_release(&resp);
		}
		if (j) {
			if (tty) {
				fputs("\033[H\033[2J", stdout);
				print_status(j);
				printf("\nrefreshing every %s; Ctrl-C to stop watching\n", iv);
			} else {
				if (blocks++)
					printf("----\n");
				print_compact(j);
			}
			unreachable = 0;
			cJSON_Delete(j);
			fflush(stdout);
			watch_sleep(interval);
			continue;
		}
		st = state_run_state(r->dir, &r->pid);
		if (st == RUN_STATE_FINISHED) {
			if (blocks || tty)
				printf("----\n");
			printf("run %s ended\n", r->id);
			return cli_summary(r, 0, 0);
		}
		if (st != RUN_STATE_RUNNING) {
			char hint[PATH_MAX + 128];

			snprintf(hint, sizeof(hint), "its log is %s/logs/conformd.log; `conform stop` "
				 "renders the reports from the store", r->dir);
			return cli_fail(EXIT_ENV, hint, "the monitor of run %s stopped without a "
					"report", r->id);
		}
		/* starting or finishing: the socket comes and goes; say so once */
		if (!unreachable++) {
			printf("%smonitor unreachable (%s), retrying\n",
			       tty ? "\033[H\033[2J" : blocks++ ? "----\n" : "", err);
			fflush(stdout);
		}
		watch_sleep(interval < 500 ? interval : 500);
	}
	if (!tty)
		printf("----\n");
	printf("stopped watching run %s (it goes on)\n", r->id);
	return EXIT_CONFORMANT;
}

int cmd_status(const struct cli_opts *o)
{
	struct cli_run r;
	struct api_response resp;
	char err[512], hint[PATH_MAX + 128];
	cJSON *j;
	int rc;

	if ((rc = cli_no_args(o, "status")))
		return rc;
	if ((o->set & CLI_F_INTERVAL) && !o->watch)
		return cli_fail(EXIT_USAGE, "write `conform status --watch --interval 2s`",
				"--interval needs --watch");
	if (o->watch && o->json)
		return cli_fail(EXIT_USAGE, "use --watch or --json, not both",
				"--watch shows text; --json prints one status object");
	if ((rc = cli_current_run(o, &r)))
		return rc;
	if (r.state == RUN_STATE_DIED)
		return monitor_down(&r, o->json);
	if (r.state == RUN_STATE_FINISHED) {
		char verdict[16];

		report_json_verdict(&r, verdict, sizeof(verdict));
		if (o->json) {
			printf("{\"run\":{\"id\":\"%s\"},\"state\":\"finished\",\"verdict\":\"%s\"}\n",
			       r.id, !strcmp(verdict, "pass") || !strcmp(verdict, "fail") ?
			       verdict : "unknown");
			return !strcmp(verdict, "pass") ? EXIT_CONFORMANT : EXIT_NOT_CONFORMANT;
		}
		printf("run %s finished; `conform stop` clears it\n", r.id);
		return cli_summary(&r, 0, 0);
	}
	if (o->watch)
		return status_watch(o, &r);
	if (api_call(&r.ep, "GET", "/v1/status", NULL, 0, &resp, err, sizeof(err))) {
		snprintf(hint, sizeof(hint), "see %s/logs/conformd.log", r.dir);
		return cli_fail(EXIT_ENV, hint, "cannot ask the monitor of run %s (pid %ld): %s",
				r.id, (long)r.pid, err);
	}
	if (resp.status != 200) {
		api_error_text(&resp, err, sizeof(err));
		rc = cli_fail(EXIT_ENV, NULL, "status of run %s: HTTP %ld: %s", r.id, resp.status,
			      err);
		api_response_release(&resp);
		return rc;
	}
	j = cJSON_ParseWithLength(resp.body, resp.len);
	if (!j) {
		api_response_release(&resp);
		return cli_fail(EXIT_ENV, NULL, "status of run %s: the monitor's answer is not "
				"JSON", r.id);
	}
	if (o->json)
		printf("%s%s", resp.body, resp.len && resp.body[resp.len - 1] == '\n' ? "" : "\n");
	else
		print_status(j);
	cJSON_Delete(j);
	api_response_release(&resp);
	return EXIT_CONFORMANT;
}
