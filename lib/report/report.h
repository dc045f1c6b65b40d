/*
 * report.h - the conformance report: built from the store (so it works after
 * stop, after a crash and on a copied run directory), then rendered as
 * report.json (reports/SCHEMA.md), junit.xml and report.md.
 */
#ifndef CONFORM_REPORT_H
#define CONFORM_REPORT_H

#include <stddef.h>

#include "checks/check.h"
#include "store/store.h"
#include "base/util.h"

#define REPORT_INCIDENT_SAMPLES STORE_INCIDENT_SAMPLES
#define REPORT_HISTORY_RUNS 10   /* runs in report.html's strip, this one included */

/* An incident: one FAILING span of a check (debounced, evaluate.h). */
struct report_range {
	int64_t start_s, end_s;     /* first failing window's start .. last one's end */
	int64_t windows;            /* failing windows in the span */
	int open;                   /* still failing */
	char reason[REASON_TEXT_MAX]; /* the first failing window's reason */
	struct store_sample samples[REPORT_INCIDENT_SAMPLES]; /* failing requests in the span */
	size_t nsamples;
};

/*
 * One evaluated window, condensed for the HTML report's timeline and charts
 * and the metrics' check state. The evidence-derived numbers are NAN when the
 * window's evidence JSON does not carry them:
 *   split: "observed" (v2 share, 0..1) and with it "expected", "lo", "hi"
 *          (the target and its confidence bound);
 *   retry: "attempts_per_request", else the mean of "attempts" given as an
 *          array of counts where element k counts requests that took k+1
 *          attempts; "attempts_limit" or "limit" (most attempts allowed).
 */
struct report_window {
	int64_t idx;
	int64_t start_s, end_s;
	enum verdict verdict;
	enum reason reason;
	uint64_t total, ok;
	double p50_ms, p99_ms;     /* from the window's histogram; 0 without requests */
	double split_observed, split_expected, split_lo, split_hi;
	double attempts_per_request, attempts_limit;
};

struct report_check {
	const struct check_desc *desc;
	enum verdict verdict;      /* pass, fail, inconclusive or skip */
	char reason[REASON_TEXT_MAX];
	uint64_t win_pass, win_fail, win_nodata;
	uint64_t win_inconclusive; /* windows not judged: a precondition outside the promise broke */
	struct store_totals totals;
	struct report_range *incidents;
	size_t nincidents;
	enum reason reason_id;     /* R_MET (pass), first failing window's reason, R_NO_DATA,
				    * R_PRECONDITION (inconclusive), R_NOT_REACHED (skip) */
	uint64_t win_total;        /* windows evaluated: pass + fail + nodata + inconclusive */
	char cause[REASON_TEXT_MAX]; /* inconclusive: the first inconclusive window's reason */
	struct report_window *windows; /* nwindows entries by idx; NULL when none */
	size_t nwindows;           /* win_total, or the last few (report_build_recent) */
	char last_reason[REASON_TEXT_MAX]; /* the latest window's reason text */
	enum verdict last_verdict; /* latest window's verdict, V_NODATA when none */
	enum verdict state;        /* debounced: V_PASS passing, V_FAIL failing, V_NODATA */
	/*
	 * The run verdict rule (report.c, reports/SCHEMA.md) and the numbers it
	 * used: FAIL when win_pass / (win_pass + win_fail) < window_objective or
	 * an incident is longer than incident_tolerance_s; else INCONCLUSIVE
	 * when a window was inconclusive; else PASS when a window passed.
	 */
	double window_objective;
	double windows_passed_ratio;  /* NAN when no window was judged */
	double incident_tolerance_s;
	double longest_incident_s;    /* 0 without incidents */
	/* verdict in report.history.ids[k] (the last is this run's verdict);
	 * V_NODATA: that run has no report or did not run the check */
	enum verdict past[REPORT_HISTORY_RUNS];
};

/*
 * The runs before this one in its state directory (report_build, when the
 * run directory is STATE/runs/<id>; lib/config/runs.c reads them), for
 * report.html's link to the previous report and its strip of verdicts.
 */
struct report_history {
	size_t nruns;               /* 0: no earlier run (or no state directory) */
	char ids[REPORT_HISTORY_RUNS][RUN_ID_MAX]; /* oldest first; the last is this run */
	char prev[RUN_ID_MAX];      /* newest earlier run with a reports/report.html, or "" */
	enum verdict prev_verdict;  /* its verdict (V_NODATA when unknown) */
};

/*
 * A cause the evidence shows for failing checks: a fault injected during
 * their failing windows whose isolation matrix row (lib/faults/matrix.h)
 * names them. "server-errors on http-server (fault #1, 12:03:10 to
 * 12:03:35) -> http.basic".
 */
#define REPORT_MAX_CAUSES 16
struct report_cause {
	char what[128];             /* "server-errors on http-server", or what the
				     * mesh refused (a mesh.refused event's text) */
	long long fault_id;         /* 0: not a fault (mesh.refused) */
	double from, to;            /* unix s; to = from for a one-shot fault */
	char checks[256];           /* "http.basic, grpc.basic" */
};

struct report {
	struct store_run run;
	enum verdict verdict;       /* pass or fail: fail when a check failed, or
				     * with strict when one was inconclusive */
	int final;                  /* run ended */
	int strict;                 /* cfg->strict: inconclusive counts as failing */
	/* a run that ended before its duration (Ctrl-C, `conform stop`, a CI
	 * timeout): interrupted, with the time it reached and why it stopped */
	int interrupted;
	double reached_s;           /* seconds of traffic the run reached */
	char stop_reason[128];      /* the run.stop event's detail ("signal INT") */
	size_t npass, nfail, ninconclusive, nskip;
	struct report_cause causes[REPORT_MAX_CAUSES];
	size_t ncauses;
	char unexplained[256];      /* failing checks no cause was found for */
	struct report_check *checks;
	size_t nchecks;
	struct store_event *events;
	size_t nevents;
	struct collector_counts { int64_t batches, duplicates, rejected; } monitor;
	struct report_history history; /* filled by report_build only, never by _recent */
};

/*
 * Build from the store (cfg selects checks). *out is new; report_free it.
 * When cfg->run_dir is STATE/runs/<id>, the earlier runs of STATE fill
 * r->history and each check's past[] (a run directory elsewhere has none;
 * an unreadable sibling is left out, never an error).
 */
int report_build(struct store *s, const struct run_config *cfg, struct report **out);
/*
 * The same verdicts, counts, totals and incidents, with only the last keep
 * windows of each check in windows[] (keep 0: all, as report_build): what a
 * live view needs, without reading a week of windows on every refresh.
 */
int report_build_recent(struct store *s, const struct run_config *cfg, size_t keep,
			struct report **out);
void report_free(struct report *r);

/* Renderers append to b. 0 or -1. */
int report_render_json(const struct report *r, struct dynbuf *b);
int report_render_junit(const struct report *r, struct dynbuf *b);
int report_render_md(const struct report *r, struct dynbuf *b);
/*
 * report.html: one self-contained page (inline CSS and SVG, no script, no
 * external resource) with the verdicts, a timeline band per check, charts
 * per window, incidents, events and the environment. Runs longer than the
 * band has pixels are drawn with several windows per cell (lib/report/html.c).
 */
int report_render_html(const struct report *r, struct dynbuf *b);
/* Render by name ("json", "junit", "md", "html"); -1 for an unknown format. */
int report_render(const struct report *r, const char *format, struct dynbuf *b);

/* One row per report format (name, file under reports/, content type, help,
 * renderer); report_render and report_write_all go through it. */
struct report_format {
	const char *name;           /* "json", the --format value */
	const char *file;           /* "report.json", under <run>/reports/ */
	const char *content_type;   /* of GET /v1/report?format= */
	const char *help;           /* one line for --help and man pages */
	int (*render)(const struct report *r, struct dynbuf *b);
};
extern const struct report_format report_formats[];
extern const size_t report_nformats;
/* The row of name, or NULL (also for NULL). */
const struct report_format *report_format_find(const char *name);
/* "json, junit, md or html" (sep between, last before the last; last NULL =
 * sep), truncated to len; returns out. */
char *report_format_names(char *out, size_t len, const char *sep, const char *last);
/* Write report.json, junit.xml, report.md and report.html into dir (atomically). */
int report_write_all(const struct report *r, const char *dir);

/*
 * The numbers the run verdict rule used, as text into buf: "windows passed
 * 96.0% (objective 100%), longest incident 40s (tolerance 0s)"; "" for a
 * skipped check. Returns buf.
 */
const char *report_rule_text(const struct report_check *c, char *buf, size_t len);

/*
 * One cause as text: "server-errors on http-server (fault #1, 12:03:10 to
 * 12:03:35) -> http.basic" (arrow as given). Returns buf.
 */
const char *report_cause_text(const struct report_cause *c, const char *arrow, char *buf,
			      size_t len);

/* Exit code of a verdict: 0 pass, 1 fail (a check failed, or with strict
 * was inconclusive). */
int report_exit_code(const struct report *r);

#endif
