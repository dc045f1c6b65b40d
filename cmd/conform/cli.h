/*
 * cli.h - shared pieces of the conform command-line tool: exit codes, the
 * verb table row, output helpers (errors, colour, progress) and the run
 * control helpers every lifecycle verb uses (find the run, spawn and wait
 * for conformd, print the final summary).
 */
#ifndef CONFORM_CLI_H
#define CONFORM_CLI_H

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <sys/types.h>

#include "base/exitcode.h"
#include "config/cliflags.h"
#include "config/run.h"
#include "config/state.h"
#include "control/apiclient.h"


struct verb {
	const char *name;
	int (*fn)(const struct cli_opts *o);
	cliflag_t flags;      /* CLI_F_* accepted */
	const char *usage;    /* "start [flags]" */
	const char *summary;  /* one line for the verb list; NULL: hidden */
	const char *help;     /* full text, lines end with \n */
};

/* Verb handlers (cmd_*.c). Each returns an exit code. */
int cmd_start(const struct cli_opts *o);
int cmd_run(const struct cli_opts *o);
int cmd_status(const struct cli_opts *o);
int cmd_stop(const struct cli_opts *o);
int cmd_report(const struct cli_opts *o);
int cmd_checks(const struct cli_opts *o);
int cmd_fault(const struct cli_opts *o);
int cmd_dashboard(const struct cli_opts *o);
int cmd_config(const struct cli_opts *o);
int cmd_manifests(const struct cli_opts *o);   /* cmd_manifests.c */
int cmd_tap(const struct cli_opts *o);         /* cmd_tap.c */
int cmd_runs(const struct cli_opts *o);        /* cmd_runs.c */
int cmd_history(const struct cli_opts *o);     /* cmd_runs.c */
int cmd_completion(const struct cli_opts *o);  /* gen.c */
int cmd_man(const struct cli_opts *o);         /* gen.c */

struct cli_run;

/* --- ci.c ------------------------------------------------------------ */

/* Copy the run's reports where o says (--junit/--html/--md or the config
 * file's "reports"; "" = none) and append report.md to $GITHUB_STEP_SUMMARY
 * when set. 0, or -1 after printing what failed. */
int ci_write_outputs(const struct cli_run *r, const struct run_outputs *o);
/* Sonobuoy plugin end: junit.xml, report.json, report.html and
 * results.tar.gz into the results dir, then its done file naming the
 * tarball. 0, or -1 after printing what failed (done is still written). */
int ci_sonobuoy_results(const struct cli_run *r);
/* A Sonobuoy plugin run that failed before its run started (flags, state
 * directory, monitor): a junit.xml with one <error> saying why, its tarball
 * and the done file naming it, and a progress update carrying the error, so
 * Sonobuoy reports the failure instead of waiting for done until its
 * timeout. 0, or -1 after printing what failed. */
int ci_sonobuoy_error(const char *why);
/* The last progress update of a finished run: completed = total, failures =
 * the ids of the checks its reports/report.json says failed. 0 or -1. */
int ci_sonobuoy_final(const struct cli_run *r, long total);
/* POST a progress update when SONOBUOY_PROGRESS_PORT is set (else 0):
 * failures are nfail check ids, error (may be NULL) goes into errors.
 * 0 when accepted (2xx), -1 otherwise. */
int ci_sonobuoy_progress(const char *msg, long total, long completed,
			 const char *const *failures, size_t nfail, const char *error);

/* The verb table of main.c (for the generated man pages and completions). */
const struct verb *cli_verbs(size_t *n);

/* --- out.c ------------------------------------------------------------ */

/* "conform: <msg>\nhint: <hint>\n" on stderr; returns code. hint may be NULL. */
int cli_fail(int code, const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A usage error from the flag parser: prints it, returns EXIT_USAGE. */
int cli_usage_fail(const struct cli_error *e);
/* The message of the latest cli_fail (truncated to 511 bytes), "" before one. */
const char *cli_last_error(void);
/* Refuse positional arguments the verb does not take (EXIT_USAGE) or 0. */
int cli_no_args(const struct cli_opts *o, const char *verb);
/* stdout is a TTY and NO_COLOR is unset. */
int out_colour(void);
/* stderr is a TTY (progress lines are redrawn in place). */
int out_err_tty(void);
/* Print a verdict word padded to width, coloured when out_colour(). */
void out_verdict(FILE *f, const char *verdict, int width);
/* Redraw the progress line on stderr (TTY) or print it as a plain line. */
void out_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* End a TTY progress line (newline if one is showing). */
void out_progress_done(void);
/* Print the last max_lines lines of a file to stderr, indented. */
void out_tail(const char *path, int max_lines);
/* Local time "2026-11-22 05:11:00" of unix seconds into buf. */
const char *out_local_time(double unix_s, char *buf, size_t len);

/* --- runctl.c --------------------------------------------------------- */

/* Resolve the state directory from --state-dir / env (EXIT_USAGE/ENV on error) into out. */
int cli_state_dir(const struct cli_opts *o, char *out, size_t len);

/* Set by SIGINT/SIGTERM once cli_catch_signals() ran (cmd_start.c). */
extern volatile sig_atomic_t cli_interrupted;
void cli_catch_signals(void);

/* Load RUN_DIR/run.json into c. 0 or -1 with err. */
int cli_load_config(const char *run_dir, struct run_config *c, char *err, size_t errlen);

/* The current run, if any. */
struct cli_run {
	char state_dir[PATH_MAX];
	char id[RUN_ID_MAX];
	char dir[PATH_MAX];
	char sock[PATH_MAX];
	struct api_endpoint ep;   /* the API: today the run's unix socket */
	enum run_state state;
	pid_t pid;
};
/*
 * Fill r with the current run of the state directory. Returns 0, or an exit
 * code after printing why (EXIT_ENV "no active run").
 */
int cli_current_run(const struct cli_opts *o, struct cli_run *r);

/*
 * Create and start a run: lock, refuse if a run is active, make the run
 * directory, token and run.json, spawn conformd and wait until it reports
 * running; then point `current` at it. For `run` (is_run), --duration 0 is
 * refused. Returns 0 with r and *child (conformd's pid, our child) filled,
 * or an exit code after printing why.
 */
int cli_start_run(const struct cli_opts *o, int is_run, struct cli_run *r,
		  struct run_config *cfg, pid_t *child);

/*
 * Wait for conformd (pid) to exit, at most deadline_ms, with a progress line
 * labelled what. child != 0: pid is our child, reap it and store its wait
 * status in *wstatus (may be NULL). 0 when gone, -1 on timeout.
 */
int cli_wait_exit(pid_t pid, int child, long deadline_ms, const char *what, int *wstatus);

/*
 * The end of a run: print the summary (check, verdict, windows, requests,
 * p99) and report paths, clear `current`. abnormal: the monitor died, so
 * render the reports from the store first and say so. Returns the exit code
 * (verdict; EXIT_ENV when the reports cannot be read, or when a run that
 * ended abnormally shows no failure).
 */
int cli_finish(struct cli_run *r, int abnormal);
/*
 * Print the summary of a run from its store (as cli_finish, without touching
 * `current`); write_reports renders reports/ first. Returns the exit code.
 */
int cli_summary(const struct cli_run *r, int abnormal, int write_reports);

/* --- kube.c: --platform kubernetes, through kubectl ---------------------- */

/* A kubeconfig, kubectl, and a cluster that answers (within seconds). 0, or
 * EXIT_ENV after printing what to check. */
int kube_preflight(const struct cli_opts *o);
/* After kube_preflight, for the run cfg describes: what its mesh needs of
 * the cluster (Linkerd: kube.c says what). 0, or EXIT_ENV after printing
 * what is missing and what to do; nothing is applied either way. */
int kube_mesh_preflight(const struct cli_opts *o, const struct run_config *cfg);
/* After kube_preflight: the namespace of the pod's service account when the
 * CLI runs in a pod without a kubeconfig (it wrote STATE/kubeconfig from the
 * service account), else "". The run goes there unless --namespace. */
const char *kube_incluster_namespace(void);
/*
 * Start run r (its local directory holds run.json and token) in the
 * cluster: apply the namespace, conformd's objects and the Secret
 * conform-run, wait for conformd's pod and for it to report running; r->ep
 * then reaches it. 0, or an exit code after printing why.
 */
int kube_start_run(const struct cli_opts *o, struct cli_run *r, struct run_config *cfg,
		   const char *token);
/* For a run of cfg->platform kubernetes: point r->ep at its conformd
 * (kubectl proxy and the service proxy) and set r->state. 0 (also for
 * another platform: nothing done), or an exit code after printing why. */
int kube_attach(struct cli_run *r, const struct run_config *cfg);
/* Copy every report format from conformd into RUN/reports/. 0 or EXIT_ENV. */
int kube_fetch_reports(const struct cli_run *r);
/* `stop` in the cluster: POST /v1/stop, wait for finished, copy the
 * reports, print the verdicts, clear `current`. Returns the exit code. */
int kube_stop_run(struct cli_run *r);
/* `run` in the cluster: follow the run until it finishes (stop it after
 * its duration or on Ctrl-C), copy the reports, print the verdicts, clear
 * `current`. Returns the exit code. */
int kube_run_follow(struct cli_run *r, const struct run_config *cfg);

#endif
