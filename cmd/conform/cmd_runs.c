/*
 * cmd_runs.c - `conform runs` and `conform history`: the runs kept in the
 * state directory side by side, so a nightly job answers "since when not?"
 * across runs, not only inside one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks/check.h"
#include "cli.h"
#include "config/runs.h"
#include "base/util.h"

static const char *run_verdict(const struct runs_entry *e)
{
	if (e->has_report)
		return verdict_name(e->verdict);
	return run_state_name(e->state);
}

static char verdict_letter(enum verdict v)
{
	switch (v) {
	case V_PASS: return 'P';
	case V_FAIL: return 'F';
	case V_SKIP: return '-';
	case V_INCONCLUSIVE: return 'I';
	case V_NODATA: return '?';
	}
	return '?';
}

static int load(const struct cli_opts *o, char *state, size_t slen, struct runs_entry **runs,
		size_t *n)
{
	char err[512];
	int rc = cli_state_dir(o, state, slen);

	if (rc)
		return rc;
	if (runs_list(state, runs, n, err, sizeof(err)))
		return cli_fail(EXIT_ENV, NULL, "cannot list the runs: %s", err);
	return 0;
}

int cmd_runs(const struct cli_opts *o)
{
	struct runs_entry *runs = NULL;
	struct dynbuf b = DYNBUF_INIT(64u << 20);
	char state[PATH_MAX];
	size_t n = 0, i;
	int rc;

	if ((rc = cli_no_args(o, "runs")) || (rc = load(o, state, sizeof(state), &runs, &n)))
		return rc;
	if (o->json) {
		dynbuf_adds(&b, "{\"state_dir\":\"");
		dynbuf_add_json_str(&b, state);
		dynbuf_adds(&b, "\",\"runs\":[");
		for (i = 0; i < n; i++) {
			const struct runs_entry *e = &runs[i];
			char t[64];

			dynbuf_addf(&b, "%s{\"id\":\"%s\",\"started\":", i ? "," : "", e->id);
			if (e->started > 0)
				dynbuf_addf(&b, "\"%s\"", time_rfc3339(e->started, t, sizeof(t)));
			else
				dynbuf_adds(&b, "null");
			dynbuf_addf(&b, ",\"duration_s\":%.0f,\"platform\":\"", e->duration_s);
			dynbuf_add_json_str(&b, e->platform);
			dynbuf_adds(&b, "\",\"mesh\":\"");
			dynbuf_add_json_str(&b, e->mesh);
			dynbuf_addf(&b, "\",\"verdict\":\"%s\",\"checks\":%zu,\"failed\":%zu}",
				    run_verdict(e), e->njudged, e->nfailed);
		}
		if (dynbuf_adds(&b, "]}\n")) {
			rc = cli_fail(EXIT_ENV, NULL, "runs: out of memory");
			goto out;
		}
		fputs(b.buf, stdout);
		goto out;
	}
	if (!n) {
		printf("no runs in %s\n", state);
		goto out;
	}
	printf("%-22s %-19s %10s %-8s %-8s %-13s %s\n", "RUN", "STARTED", "DURATION",
	       "PLATFORM", "MESH", "VERDICT", "FAILED");
	for (i = 0; i < n; i++) {
		const struct runs_entry *e = &runs[i];
		char when[32] = "-", dur[32], failed[32];

		if (e->started > 0)
			out_local_time(e->started, when, sizeof(when));
		dur_format((int64_t)(e->duration_s * 1000.0), dur, sizeof(dur));
		snprintf(failed, sizeof(failed), "%zu of %zu", e->nfailed, e->njudged);
		printf("%-22s %-19s %10s %-8s %-8s ", e->id, when, dur, e->platform, e->mesh);
		out_verdict(stdout, run_verdict(e), 13);
		printf(" %s\n", e->has_report ? failed : "-");
	}
out:
	dynbuf_release(&b);
	free(runs);
	return rc;
}

/* The checks to show: CHECK, else every id some run judged (not skipped),
 * in the order of the latest run that has it. */
static size_t history_checks(const struct cli_opts *o, const struct runs_entry *runs, size_t n,
			     const char **ids, size_t max)
{
	size_t cnt = 0, i, k, j;

	if (o->nargs == 1) {
		ids[0] = o->args[0];
		return 1;
	}
	for (i = n; i-- > 0;) {
		for (k = 0; k < runs[i].nchecks; k++) {
			if (runs[i].checks[k].verdict == V_SKIP)
				continue;
			for (j = 0; j < cnt; j++)
				if (!strcmp(ids[j], runs[i].checks[k].id))
					break;
			if (j == cnt && cnt < max)
				ids[cnt++] = runs[i].checks[k].id;
		}
	}
	return cnt;
}

/*
 * For the latest run where check failed: the first run of that streak of
 * failing runs (runs without the check or without a report end it).
 * -1 when it never failed.
 */
static long history_streak(const struct runs_entry *runs, size_t n, const char *check,
			   long *latest)
{
	long i, first;

	*latest = -1;
	for (i = (long)n - 1; i >= 0; i--)
		if (runs_check_verdict(&runs[i], check) == V_FAIL)
			break;
	if (i < 0)
		return -1;
	*latest = i;
	first = i;
	while (first > 0 && runs_check_verdict(&runs[first - 1], check) == V_FAIL)
		first--;
	return first;
}

int cmd_history(const struct cli_opts *o)
{
	struct runs_entry *runs = NULL;
	struct dynbuf b = DYNBUF_INIT(64u << 20);
	const char *ids[RUN_MAX_CHECKS * 4];
	char state[PATH_MAX];
	size_t n = 0, nids, i, from, last;
	int rc, any_failing = 0;

	if (o->nargs > 1)
		return cli_fail(EXIT_USAGE, "write `conform history [CHECK]`",
				"history takes at most one check id, got %d words", o->nargs);
	if (o->nargs == 1 && !catalog_find(o->args[0]))
		return cli_fail(EXIT_USAGE, "`conform checks` lists the ids",
				"history: unknown check '%s'", o->args[0]);
	if ((rc = load(o, state, sizeof(state), &runs, &n)))
		return rc;
	last = o->last ? (size_t)o->last : CLI_HISTORY_LAST_DEFAULT;
	from = n > last ? n - last : 0;
	nids = history_checks(o, runs, n, ids, ARRAY_SIZE(ids));

	if (o->json) {
		dynbuf_adds(&b, "{\"runs\":[");
		for (i = from; i < n; i++)
			dynbuf_addf(&b, "%s\"%s\"", i > from ? "," : "", runs[i].id);
		dynbuf_adds(&b, "],\"checks\":[");
	} else if (!n) {
		printf("no runs in %s\n", state);
		goto out;
	} else {
		printf("last %zu run%s, oldest first: %s .. %s (P pass, F fail, - skipped, "
		       "? no verdict)\n\n", n - from, n - from == 1 ? "" : "s", runs[from].id,
		       runs[n - 1].id);
	}
	for (i = 0; i < nids; i++) {
		char strip[1024], reason[REASON_TEXT_MAX] = "", err[512], t[64];
		int64_t widx = -1, wstart = 0;
		long latest, first;
		size_t k, sl = 0;
		enum verdict now = n ? runs_check_verdict(&runs[n - 1], ids[i]) : V_NODATA;

		for (k = from; k < n && sl + 1 < sizeof(strip); k++)
			strip[sl++] = verdict_letter(runs_check_verdict(&runs[k], ids[i]));
		strip[sl] = '\0';
		if (now == V_FAIL)
			any_failing = 1;
		first = history_streak(runs, n, ids[i], &latest);
		if (first >= 0 && runs_first_fail(state, runs[first].id, ids[i], &widx, &wstart,
						  reason, sizeof(reason), err, sizeof(err)) < 0)
			fprintf(stderr, "conform: history: %s\n", err);
		if (o->json) {
			dynbuf_addf(&b, "%s{\"id\":\"", i ? "," : "");
			dynbuf_add_json_str(&b, ids[i]);
			dynbuf_adds(&b, "\",\"verdicts\":[");
			for (k = from; k < n; k++)
				dynbuf_addf(&b, "%s\"%s\"", k > from ? "," : "",
					    verdict_name(runs_check_verdict(&runs[k], ids[i])));
			dynbuf_adds(&b, "],\"latest_failure\":");
			if (first < 0) {
				dynbuf_adds(&b, "null}");
				continue;
			}
			dynbuf_addf(&b, "{\"run\":\"%s\",\"first_run\":\"%s\",\"first_window\":",
				    runs[latest].id, runs[first].id);
			if (widx < 0) {
				dynbuf_adds(&b, "null}}");
				continue;
			}
			dynbuf_addf(&b, "{\"idx\":%lld,\"start\":\"%s\",\"reason\":\"",
				    (long long)widx, time_rfc3339((double)wstart, t, sizeof(t)));
			dynbuf_add_json_str(&b, reason);
			dynbuf_adds(&b, "\"}}}");
			continue;
		}
		printf("%-18s %s", ids[i], strip);
		if (first < 0) {
			printf("  never failed in %zu run%s\n", n, n == 1 ? "" : "s");
			continue;
		}
		if (latest == (long)n - 1)
			printf("  failing since run %s", runs[first].id);
		else
			printf("  last failed in run %s, failing since run %s", runs[latest].id,
			       runs[first].id);
		if (widx >= 0)
			printf(", window %lld at %s: %s", (long long)widx,
			       out_local_time((double)wstart, t, sizeof(t)), reason);
		printf("\n");
	}
	if (o->json) {
		if (dynbuf_adds(&b, "]}\n")) {
			rc = cli_fail(EXIT_ENV, NULL, "history: out of memory");
			goto out;
		}
		fputs(b.buf, stdout);
	}
	rc = any_failing ? EXIT_NOT_CONFORMANT : EXIT_CONFORMANT;
out:
	dynbuf_release(&b);
	free(runs);
	return rc;
}
