/*
 * summary.c - the end-of-run summary (check, verdict, windows, requests,
 * p99) built from the run's store, the one truth after stop or a crash.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "report/report.h"
#include "store/store.h"
#include "cli.h"
#include "base/util.h"

static const char *fmt_latency(uint64_t us, char *buf, size_t len)
{
	if (us == 0)
		snprintf(buf, len, "-");
	else if (us < 1000)
		snprintf(buf, len, "%lluus", (unsigned long long)us);
	else if (us < 10000000)
		snprintf(buf, len, "%.1fms", (double)us / 1000.0);
	else
		snprintf(buf, len, "%.1fs", (double)us / 1e6);
	return buf;
}

int cli_summary(const struct cli_run *r, int abnormal, int write_reports)
{
	struct run_config cfg;
	struct store *s = NULL;
	struct report *rep = NULL;
	char err[512], path[PATH_MAX], reports[PATH_MAX];
	int rc = EXIT_ENV;
	size_t i;
	int colour = out_colour();
	struct stat st;

	if (cli_load_config(r->dir, &cfg, err, sizeof(err))) {
		cli_fail(EXIT_ENV, NULL, "run %s: cannot read run.json: %s", r->id, err);
		goto out;
	}
	str_copy(cfg.run_dir, sizeof(cfg.run_dir), r->dir);
	if (str_fmt(path, sizeof(path), "%s/conform.db", r->dir) ||
	    str_fmt(reports, sizeof(reports), "%s/reports", r->dir))
		goto out;
	if (stat(path, &st)) {
		cli_fail(EXIT_ENV, "the monitor ended before it stored anything; see "
			 "logs/conformd.log in the run directory", "run %s: no store at %s", r->id,
			 path);
		goto out;
	}
	if (store_open(path, 0, &s, err, sizeof(err))) {
		cli_fail(EXIT_ENV, NULL, "run %s: cannot open the store: %s", r->id, err);
		goto out;
	}
	if (report_build(s, &cfg, &rep)) {
		cli_fail(EXIT_ENV, NULL, "run %s: cannot build the report: %s", r->id,
			 store_errmsg(s));
		goto out;
	}
	if (write_reports && (mkdir_p(reports, 0700) || report_write_all(rep, reports))) {
		cli_fail(EXIT_ENV, NULL, "run %s: cannot write the reports to %s: %s", r->id,
			 reports, strerror(errno));
		goto out;
	}
	if (abnormal)
		printf("%s! run %s ended abnormally: its monitor died; the report covers what "
		       "was stored until then%s\n", colour ? "\033[1;33m" : "", r->id,
		       colour ? "\033[0m" : "");
	printf("run %s: ", r->id);
	out_verdict(stdout, verdict_name(rep->verdict), 0);
	printf("%s\n", rep->final ? "" : " (provisional)");
	if (rep->interrupted) {
		char at[32], of[32];

		printf("interrupted at %s of %s (%s): the verdicts cover what was observed "
		       "until then\n", dur_format((int64_t)(rep->reached_s * 1000.0), at, sizeof(at)),
		       dur_format(rep->run.duration_ms, of, sizeof(of)),
		       rep->stop_reason[0] ? rep->stop_reason : "stopped");
	}
	printf("\n%-22s %-12s %-17s %10s %8s %9s\n", "CHECK", "VERDICT", "WINDOWS P/F/N/I",
	       "REQUESTS", "FAILED", "P99");
	for (i = 0; i < rep->nchecks; i++) {
		const struct report_check *c = &rep->checks[i];
		char win[64], total[24], failed[24], p99[32];

		snprintf(win, sizeof(win), "%llu/%llu/%llu/%llu", (unsigned long long)c->win_pass,
			 (unsigned long long)c->win_fail, (unsigned long long)c->win_nodata,
			 (unsigned long long)c->win_inconclusive);
		printf("%-22s ", c->desc ? c->desc->id : "?");
		out_verdict(stdout, verdict_name(c->verdict), 12);
		/* a check without requests of its own (judged on handshakes,
		 * probes, certificates or events) shows dashes, not zeros */
		snprintf(total, sizeof(total), "%llu", (unsigned long long)c->totals.total);
		snprintf(failed, sizeof(failed), "%llu", (unsigned long long)c->totals.failed);
		printf(" %-17s %10s %8s %9s\n", win, c->totals.total ? total : "-",
		       c->totals.total ? failed : "-",
		       fmt_latency(hist_quantile(&c->totals.h, 0.99), p99, sizeof(p99)));
		if ((c->verdict == V_FAIL || c->verdict == V_INCONCLUSIVE ||
		     (c->verdict == V_SKIP && c->reason_id == R_NOT_REACHED)) && c->reason[0])
			printf("  %s\n", c->reason);
	}
	if (rep->ncauses) {
		char text[512];

		printf("\n%zu cause%s:\n", rep->ncauses, rep->ncauses == 1 ? "" : "s");
		for (i = 0; i < rep->ncauses; i++)
			printf("  %s\n", report_cause_text(&rep->causes[i], "->", text, sizeof(text)));
		if (rep->unexplained[0])
			printf("  no cause found for: %s\n", rep->unexplained);
	}
	if (rep->ninconclusive) {
		printf("\n%zu check%s inconclusive (%s):\n", rep->ninconclusive,
		       rep->ninconclusive == 1 ? "" : "s", rep->strict ?
		       "--strict: they fail the run" : "not failing the run; --strict makes them");
		for (i = 0; i < rep->nchecks; i++)
			if (rep->checks[i].verdict == V_INCONCLUSIVE)
				printf("  %s: %s\n", rep->checks[i].desc->id,
				       rep->checks[i].cause[0] ? rep->checks[i].cause
							       : rep->checks[i].reason);
	}
	printf("\nREQUESTS and FAILED count each check's own traffic, failures it provokes "
	       "on purpose\nincluded (timeout.http's 504s, retry.http's exhausted retries); "
	       "\"-\": judged on\nhandshakes, probes, certificates or events. The reports "
	       "give each check's reason.\n");
	printf("\nreports:\n  %s/report.html\n  %s/report.json\n  %s/junit.xml\n  %s/report.md\n",
	       reports, reports, reports, reports);
	rc = report_exit_code(rep);
	if (abnormal && rc == EXIT_CONFORMANT)
		rc = EXIT_ENV;
out:
	fflush(stdout);
	if (rep)
		report_free(rep);
	if (s)
		store_close(s);
	return rc;
}

