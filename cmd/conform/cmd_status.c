/*
 * cmd_status.c - `conform status`: what the active run is doing. A live run
 * is asked over the API; a finished one is summarised from its store; a dead
 * monitor is reported as an environment error with where to look.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "apiclient.h"
#include "cli.h"
#include "util.h"

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
	printf("\nmonitor: %lld batches, %lld duplicates, %lld rejected\n\n",
	       (long long)jnum(mon, "batches"), (long long)jnum(mon, "duplicates"),
	       (long long)jnum(mon, "rejected"));

	printf("%-22s %-7s %-14s %10s %8s  %s\n", "CHECK", "STATE", "WINDOWS P/F/N", "REQUESTS",
	       "FAILED", "LAST REASON");
	cJSON_ArrayForEach(it, checks) {
		const cJSON *w = cJSON_GetObjectItemCaseSensitive(it, "windows");
		const cJSON *rq = cJSON_GetObjectItemCaseSensitive(it, "requests");
		char win[64];

		snprintf(win, sizeof(win), "%lld/%lld/%lld", (long long)jnum(w, "pass"),
			 (long long)jnum(w, "fail"), (long long)jnum(w, "nodata"));
		printf("%-22s ", clean(jstr(it, "id"), a, 32));
		out_verdict(stdout, clean(jstr(it, "state"), b, 16), 7);
		printf(" %-14s %10lld %8lld  %s\n", win, (long long)jnum(rq, "total"),
		       (long long)jnum(rq, "failed"), clean(jstr(it, "last_reason"), buf, 120));
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

int cmd_status(const struct cli_opts *o)
{
	struct cli_run r;
	struct api_response resp;
	char err[512], hint[PATH_MAX + 128];
	cJSON *j;
	int rc;

	if ((rc = cli_no_args(o, "status")) || (rc = cli_current_run(o, &r)))
		return rc;
	if (r.state == RUN_STATE_DIED) {
		snprintf(hint, sizeof(hint), "its log is %s/logs/conformd.log; `conform stop` "
			 "renders the reports from the store and clears the run", r.dir);
		if (r.pid)
			return cli_fail(EXIT_ENV, hint, "the monitor of run %s (pid %ld) is not "
					"running", r.id, (long)r.pid);
		return cli_fail(EXIT_ENV, hint, "the monitor of run %s is not running", r.id);
	}
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
	if (api_request(r.sock, "GET", "/v1/status", NULL, 0, &resp, err, sizeof(err))) {
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
