/*
 * cmd_report.c - `conform report`: render a run's report straight from its
 * store, so it works while the run goes on, after stop, after a crash and on
 * a run directory copied elsewhere. The monitor is never asked.
 */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "report/report.h"
#include "store/store.h"
#include "cli.h"
#include "base/util.h"

/* --run ID, else the current run, else the most recent one. */
static int pick_run(const struct cli_opts *o, struct cli_run *r)
{
	struct stat st;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = cli_state_dir(o, r->state_dir, sizeof(r->state_dir))))
		return rc;
	if (o->run[0]) {
		str_copy(r->id, sizeof(r->id), o->run);
	} else {
		rc = state_current_get(r->state_dir, r->id, sizeof(r->id));
		if (rc <= 0)
			rc = state_latest_run(r->state_dir, r->id, sizeof(r->id));
		if (rc < 0)
			return cli_fail(EXIT_ENV, NULL, "cannot list the runs in %s: %s",
					r->state_dir, strerror(errno));
		if (rc == 0)
			return cli_fail(EXIT_ENV, "start one with `conform start` or `conform run`, "
					"or pass --state-dir", "no runs in %s", r->state_dir);
	}
	if (state_run_dir(r->state_dir, r->id, r->dir, sizeof(r->dir)))
		return cli_fail(EXIT_USAGE, NULL, "--run %s: not a run id", r->id);
	if (stat(r->dir, &st))
		return cli_fail(o->run[0] ? EXIT_USAGE : EXIT_ENV,
				"the runs are the directories under STATE/runs/",
				"run %s: no directory %s", r->id, r->dir);
	return 0;
}

/*
 * A run in a cluster: its store is on conformd's volume. The reports are
 * copied into RUN/reports/ (by `stop`, else now from the running conformd)
 * and the one asked for is printed or written to --out.
 */
static int report_from_cluster(const struct cli_opts *o, struct cli_run *r,
			       const struct run_config *cfg, const char *format)
{
	const struct report_format *f = report_format_find(format);
	char path[PATH_MAX], *text;
	size_t n;
	struct stat st;
	int rc;

	if (!f)
		return cli_fail(EXIT_USAGE, NULL, "--format %s: unknown", format);
	str_fmt(path, sizeof(path), "%s/reports/%s", r->dir, f->file);
	if (stat(path, &st)) {
		if ((rc = kube_attach(r, cfg)) || (rc = kube_fetch_reports(r)))
			return rc;
	}
	text = file_read(path, 256u << 20, &n);
	if (!text)
		return cli_fail(EXIT_ENV, NULL, "run %s: cannot read %s: %s", r->id, path,
				strerror(errno));
	rc = EXIT_CONFORMANT;
	if (o->out[0]) {
		if (file_write_atomic(o->out, text, n, 0644))
			rc = cli_fail(EXIT_ENV, "check that the directory exists and is writable",
				      "--out %s: %s", o->out, strerror(errno));
		else
			fprintf(stderr, "conform: wrote the %s report of run %s to %s\n", format,
				r->id, o->out);
	} else if (fwrite(text, 1, n, stdout) != n || fflush(stdout)) {
		rc = cli_fail(EXIT_ENV, NULL, "cannot write the report to stdout: %s",
			      strerror(errno));
	}
	free(text);
	return rc;
}

int cmd_report(const struct cli_opts *o)
{
	struct cli_run r;
	struct run_config cfg;
	struct store *s = NULL;
	struct report *rep = NULL;
	struct dynbuf b = DYNBUF_INIT(256u << 20);
	const char *format = o->format[0] ? o->format : "md";
	char err[512], path[PATH_MAX];
	struct stat st;
	int rc;

	if ((rc = cli_no_args(o, "report")) || (rc = pick_run(o, &r)))
		return rc;
	rc = EXIT_ENV;
	if (cli_load_config(r.dir, &cfg, err, sizeof(err))) {
		cli_fail(EXIT_ENV, NULL, "run %s: cannot read run.json: %s", r.id, err);
		goto out;
	}
	/* where the run is now (it may have been copied): its siblings are its history */
	str_copy(cfg.run_dir, sizeof(cfg.run_dir), r.dir);
	if (!strcmp(cfg.platform, "kubernetes")) {
		rc = report_from_cluster(o, &r, &cfg, format);
		goto out;
	}
	if (str_fmt(path, sizeof(path), "%s/conform.db", r.dir) || stat(path, &st)) {
		cli_fail(EXIT_ENV, "the monitor stored nothing for this run; see its "
			 "logs/conformd.log", "run %s: no store at %s", r.id, path);
		goto out;
	}
	if (store_open(path, 0, &s, err, sizeof(err))) {
		cli_fail(EXIT_ENV, NULL, "run %s: cannot open the store: %s", r.id, err);
		goto out;
	}
	if (report_build(s, &cfg, &rep)) {
		cli_fail(EXIT_ENV, NULL, "run %s: cannot build the report: %s", r.id,
			 store_errmsg(s));
		goto out;
	}
	if (report_render(rep, format, &b) || !b.buf) {
		cli_fail(EXIT_ENV, NULL, "run %s: cannot render the %s report", r.id, format);
		goto out;
	}
	if (o->out[0]) {
		if (file_write_atomic(o->out, b.buf, b.len, 0644)) {
			cli_fail(EXIT_ENV, "check that the directory exists and is writable",
				 "--out %s: %s", o->out, strerror(errno));
			goto out;
		}
		fprintf(stderr, "conform: wrote the %s report of run %s to %s\n", format, r.id,
			o->out);
	} else if (fwrite(b.buf, 1, b.len, stdout) != b.len || fflush(stdout)) {
		cli_fail(EXIT_ENV, NULL, "cannot write the report to stdout: %s", strerror(errno));
		goto out;
	}
	rc = report_exit_code(rep);
out:
	dynbuf_release(&b);
	if (rep)
		report_free(rep);
	if (s)
		store_close(s);
	return rc;
}
