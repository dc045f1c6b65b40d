/*
 * history7d.c - how a long run's history weighs: writes a synthetic run of
 * --days days into a real store through the daemon's own write path
 * (store_put_batch for per-second aggregates, evaluate_due for windows,
 * store_put_event), then measures the database size and how long the report
 * takes to build and render. `make bench` runs it; so does the soak smoke.
 *
 *   history7d [--days D] [--checks N] [--rate R] [--dir DIR] [--keep] [--reuse]
 *
 * Shape: the first N catalog checks under mesh "none", 10 s windows, one
 * client row per check-second holding rate requests (fractional rates carry
 * over), a latency spread with a tail; every 6 hours a 60 s fault fails most
 * requests of the second check, once a day a kill/restart is recorded, and
 * at 40 % of the run the monitor is down for min(30 min, 5 %): no rows and
 * a "monitor.gap" event, which the evaluator turns into monitor-gap windows.
 * Prints one "key: value" line per figure and ends with one "history7d ..."
 * line of key=value pairs for scripts. Exit 0, 1 on error, 2 on bad usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checks/check.h"
#include "eval/evaluate.h"
#include "evidence/outcome.h"
#include "report/report.h"
#include "config/run.h"
#include "store/store.h"
#include "base/util.h"

#define H7_T0 1763784660          /* 2025-11-22T04:11:00Z: a fixed start keeps runs alike */
#define H7_WINDOW_S 10
#define H7_CHUNK_S 3600           /* seconds of rows per batch (one transaction) */
#define H7_FAULT_EVERY_S (6 * 3600)
#define H7_FAULT_S 60
#define H7_KILL_EVERY_S 86400
#define H7_REPORT_MAX (256u << 20)

struct h7_opts {
	double days;
	int64_t nchecks;
	double rate;
	int64_t retention_s;        /* 0: keep every per-second row */
	char dir[1024];
	int keep;
	int reuse;                  /* measure DIR/conform.db as it is (same --days, --checks) */
};

struct h7_run {
	struct run_config cfg;
	const struct check_desc *checks[RUN_MAX_CHECKS];
	int64_t dur_s;
	int64_t gap_from, gap_to;   /* [from, to) seconds after T0 without the monitor */
	uint64_t rows, requests, batches, pruned;
	off_t day_bytes[400];       /* conform.db's size at the end of each day */
	int ndays;
	uint64_t xs;                /* xorshift state: the same data every time */
};

static void usage(FILE *f)
{
	fprintf(f, "usage: history7d [--days D] [--checks N] [--rate R] [--retention S] [--dir DIR]"
		" [--keep]\n"
		"  --days D     length of the synthetic run in days (default 7, e.g. 0.05)\n"
		"  --checks N   first N catalog checks (default 3: http.basic grpc.basic grpc.stream)\n"
		"  --rate R     requests per second per check (default 10)\n"
		"  --retention S  prune per-second rows older than S seconds as conformd does\n"
		"               (default 86400, the run default; 0 keeps them all)\n"
		"  --dir DIR    where conform.db (and with --keep reports/) go; default a new\n"
		"               temporary directory\n"
		"  --keep       keep the store and write reports/ next to it\n"
		"  --reuse      measure the store already in --dir (written by history7d with\n"
		"               the same --days and --checks, perhaps by an older schema:\n"
		"               it is upgraded on open) instead of writing one; implies --keep\n");
}

static double ms_since(int64_t t0_ns)
{
	return (double)(mono_ns() - t0_ns) / 1e6;
}

static long peak_rss_kb(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_SELF, &ru) ? -1 : ru.ru_maxrss;
}

static off_t file_size(const char *dir, const char *name)
{
	char path[1200];
	struct stat st;

	if (str_fmt(path, sizeof(path), "%s/%s", dir, name) || stat(path, &st))
		return 0;
	return st.st_size;
}

static uint64_t h7_rand(struct h7_run *h)
{
	h->xs ^= h->xs << 13;
	h->xs ^= h->xs >> 7;
	h->xs ^= h->xs << 17;
	return h->xs;
}

/* Latency of one request in µs: mostly 0.6-3 ms, 1 % tail up to 40 ms. */
static uint64_t h7_latency(struct h7_run *h)
{
	uint64_t x = h7_rand(h);
	uint64_t us = 600 + x % 2400;

	if (x % 100 == 7)
		us += 5000 + (x >> 20) % 35000;
	return us;
}

static int in_fault(int64_t t)
{
	return t % H7_FAULT_EVERY_S >= H7_FAULT_EVERY_S / 2 &&
	       t % H7_FAULT_EVERY_S < H7_FAULT_EVERY_S / 2 + H7_FAULT_S;
}

static const char *client_of(const struct check_desc *c)
{
	return strncmp(c->id, "grpc.", 5) ? "http-client" : "grpc-client";
}

/* Requests in second t (0-based) at a fractional rate: floor((t+1)r) - floor(tr). */
static uint64_t per_second(double rate, int64_t t)
{
	return (uint64_t)(floor((double)(t + 1) * rate) - floor((double)t * rate));
}

static void fill_row(struct h7_run *h, struct agg_row *r, const struct check_desc *c,
		     unsigned outcome, int code, int64_t sec, uint64_t n)
{
	uint64_t i;

	memset(r, 0, sizeof(*r));
	str_copy(r->check, sizeof(r->check), c->id);
	str_copy(r->workload, sizeof(r->workload), client_of(c));
	r->outcome = outcome;
	r->code = code;
	str_copy(r->backend, sizeof(r->backend), "v1");
	r->second = sec;
	hist_init(&r->h);
	for (i = 0; i < n; i++)
		hist_add(&r->h, h7_latency(h));
	h->rows++;
	h->requests += n;
}

/* The rows of check k for seconds [from, to) after T0, as one batch of its client. */
static int put_chunk(struct store *s, struct h7_run *h, size_t k, int64_t from, int64_t to,
		     struct agg_row *rows)
{
	const struct check_desc *c = h->checks[k];
	int fails = k == (h->cfg.nchecks > 1 ? 1u : 0u);
	int grpc = !strncmp(c->id, "grpc.", 5);
	size_t n = 0;
	int64_t t;
	int rc;

	for (t = from; t < to; t++) {
		uint64_t req = per_second(h->cfg.rate, t);

		if (t >= h->gap_from && t < h->gap_to)
			continue;  /* nothing reaches a monitor that is down */
		if (!req)
			continue;
		if (fails && in_fault(t)) {
			uint64_t bad = req - req / 10;

			fill_row(h, &rows[n++], c, grpc ? OUT_GRPC_ERROR : OUT_HTTP_5XX,
				 grpc ? 14 : 503, H7_T0 + t, bad);
			if (req > bad)
				fill_row(h, &rows[n++], c, OUT_OK, grpc ? 0 : 200, H7_T0 + t,
					 req - bad);
		} else {
			fill_row(h, &rows[n++], c, OUT_OK, grpc ? 0 : 200, H7_T0 + t, req);
		}
	}
	if (!n)
		return 0;
	rc = store_put_batch(s, client_of(c), 0x4837, ++h->batches, rows, n);
	if (rc != 1) {
		fprintf(stderr, "history7d: store_put_batch: %s\n", store_errmsg(s));
		return -1;
	}
	return 0;
}

/* Evaluate every window that closed by T0 + t, as conformd does as time passes. */
static int evaluate_until(struct store *s, struct h7_run *h, int64_t t, int final,
			  int64_t *next_idx)
{
	int64_t before;

	do {
		before = *next_idx;
		if (evaluate_due(s, &h->cfg, (double)(H7_T0 + t), 0, final,
				 final ? (double)(H7_T0 + h->dur_s) : 0, next_idx)) {
			fprintf(stderr, "history7d: evaluate: %s\n", store_errmsg(s));
			return -1;
		}
	} while (*next_idx != before);
	return 0;
}

static int put_events(struct store *s, struct h7_run *h)
{
	char d[256];
	int64_t t;
	size_t k;
	int rc = 0;

	str_fmt(d, sizeof(d), "traffic started, duration %.2f days (synthetic)", h->dur_s / 86400.0);
	rc |= store_put_event(s, H7_T0 + 0.2, "run.start", h->cfg.id, d);
	for (k = 0; k < h->cfg.nchecks && k < 2; k++)
		rc |= store_put_event(s, H7_T0 + 0.1, "workload.start",
				      k ? "grpc-server" : "http-server", "pid 4242");
	for (t = 0; t + H7_FAULT_EVERY_S / 2 < h->dur_s; t += H7_FAULT_EVERY_S) {
		double at = (double)(H7_T0 + t + H7_FAULT_EVERY_S / 2);

		rc |= store_put_event(s, at, "fault.start", "grpc-server",
				      "server-errors rate=0.9 code=14 for 60s");
		rc |= store_put_event(s, at + H7_FAULT_S, "fault.end", "grpc-server",
				      "server-errors ended");
	}
	for (t = H7_KILL_EVERY_S / 3; t < h->dur_s; t += H7_KILL_EVERY_S) {
		rc |= store_put_event(s, (double)(H7_T0 + t), "fault.start", "http-server", "kill");
		rc |= store_put_event(s, H7_T0 + t + 0.01, "workload.exit", "http-server",
				      "exited by signal 9 (KILL), expected (fault), restart in 500ms");
		rc |= store_put_event(s, H7_T0 + t + 0.6, "workload.restart", "http-server",
				      "restarted, pid 4343");
	}
	if (h->gap_to > h->gap_from) {
		/* the form evaluate.c reads: its windows become monitor gaps */
		str_fmt(d, sizeof(d), "from=%" PRId64 " to=%" PRId64 " conformd was down (synthetic)",
			(int64_t)H7_T0 + h->gap_from, (int64_t)H7_T0 + h->gap_to);
		rc |= store_put_event(s, (double)(H7_T0 + h->gap_to), "monitor.gap", h->cfg.id, d);
	}
	if (rc)
		fprintf(stderr, "history7d: put event: %s\n", store_errmsg(s));
	return rc ? -1 : 0;
}

static int setup_run(struct store *s, struct h7_run *h)
{
	struct store_run *run = calloc(1, sizeof(*run));
	char *json = NULL;
	int rc = -1;

	if (!run)
		return -1;
	str_copy(run->id, sizeof(run->id), h->cfg.id);
	str_copy(run->platform, sizeof(run->platform), h->cfg.platform);
	str_copy(run->mesh, sizeof(run->mesh), h->cfg.mesh);
	run->started = h->cfg.started;
	run->window_ms = h->cfg.window_ms;
	run->duration_ms = h->cfg.duration_ms;
	json = run_config_to_json(&h->cfg);
	str_copy(run->config_json, sizeof(run->config_json),
		 json && strlen(json) < sizeof(run->config_json) ? json : "{}");
	if (store_put_run(s, run)) {
		fprintf(stderr, "history7d: put run: %s\n", store_errmsg(s));
		goto out;
	}
	rc = 0;
out:
	free(json);
	free(run);
	return rc;
}

/* 0, 1 for --help (printed), -1 on a bad argument (usage printed). */
static int parse_args(int argc, char **argv, struct h7_opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->days = 7;
	o->nchecks = 3;
	o->rate = 10;
	o->retention_s = 86400;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--keep")) {
			o->keep = 1;
			continue;
		}
		if (!strcmp(a, "--reuse")) {
			o->reuse = o->keep = 1;
			continue;
		}
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 1;
		}
		if (!v)
			goto bad;
		if (!strcmp(a, "--days")) {
			if (parse_double(v, 0.001, 366, &o->days))
				goto bad;
		} else if (!strcmp(a, "--checks")) {
			if (parse_i64(v, 1, RUN_MAX_CHECKS, &o->nchecks))
				goto bad;
		} else if (!strcmp(a, "--rate")) {
			if (parse_double(v, 0.01, 100000, &o->rate))
				goto bad;
		} else if (!strcmp(a, "--retention")) {
			if (parse_i64(v, 0, 366 * 86400, &o->retention_s))
				goto bad;
		} else if (!strcmp(a, "--dir")) {
			if (!*v || str_copy(o->dir, sizeof(o->dir), v))
				goto bad;
		} else {
			goto bad;
		}
		i++;
	}
	return 0;
bad:
	fprintf(stderr, "history7d: bad argument %s%s%s\n", argv[i], i + 1 < argc ? " " : "",
		i + 1 < argc ? argv[i + 1] : "");
	usage(stderr);
	return -1;
}

static int init_run(const struct h7_opts *o, struct h7_run *h)
{
	const struct check_desc *const *all;
	int64_t len, t;
	size_t n, k;

	memset(h, 0, sizeof(*h));
	run_config_defaults(&h->cfg);
	all = catalog_all(&n);
	if ((size_t)o->nchecks > n) {
		fprintf(stderr, "history7d: --checks %" PRId64 ": the catalog has %zu checks\n",
			o->nchecks, n);
		return -1;
	}
	str_copy(h->cfg.id, sizeof(h->cfg.id), "20251122-041100-h7d0");
	str_copy(h->cfg.mesh, sizeof(h->cfg.mesh), "none");
	str_copy(h->cfg.run_dir, sizeof(h->cfg.run_dir), o->dir);
	h->dur_s = (int64_t)llround(o->days * 86400);
	if (h->dur_s < H7_WINDOW_S)
		h->dur_s = H7_WINDOW_S;
	h->cfg.duration_ms = h->dur_s * 1000;
	h->cfg.window_ms = H7_WINDOW_S * 1000;
	h->cfg.rate = o->rate;
	h->cfg.retention_s = o->retention_s;
	h->cfg.started = H7_T0;
	h->cfg.nchecks = (size_t)o->nchecks;
	for (k = 0; k < h->cfg.nchecks; k++) {
		h->checks[k] = all[k];
		str_copy(h->cfg.checks[k], sizeof(h->cfg.checks[k]), all[k]->id);
	}
	/* the gap: at 40 % of the run, min(30 min, 5 % of it), on window bounds */
	h->gap_from = h->dur_s * 2 / 5 / H7_WINDOW_S * H7_WINDOW_S;
	len = (h->dur_s / 20 < 1800 ? h->dur_s / 20 : 1800) / H7_WINDOW_S * H7_WINDOW_S;
	/* a fault inside the gap would be invisible: start the gap 10 min after it */
	for (t = h->gap_from; t < h->gap_from + len; t++)
		if (in_fault(t)) {
			h->gap_from = (t / H7_FAULT_EVERY_S * H7_FAULT_EVERY_S + H7_FAULT_EVERY_S / 2 +
				       H7_FAULT_S + 600) / H7_WINDOW_S * H7_WINDOW_S;
			break;
		}
	h->gap_to = h->gap_from + len;
	h->xs = 0x9e3779b97f4a7c15ull;
	return 0;
}

/*
 * As conformd's main loop does, with the clock at T0 + t: per-second rows
 * past the retention go (their totals stay). Records conform.db's size at
 * each day's end, so the growth per day after the first is measured.
 */
static int prune_until(struct store *s, struct h7_run *h, int64_t t, int64_t next_idx)
{
	int64_t n = 0;

	if (h->cfg.retention_s > 0) {
		n = evaluate_prune(s, &h->cfg, next_idx, (double)(H7_T0 + t), INT64_MAX);
		if (n < 0) {
			fprintf(stderr, "history7d: prune: %s\n", store_errmsg(s));
			return -1;
		}
		h->pruned += (uint64_t)n;
	}
	if (t % 86400 == 0 && h->ndays < (int)ARRAY_SIZE(h->day_bytes))
		h->day_bytes[h->ndays++] = file_size(h->cfg.run_dir, "conform.db");
	return 0;
}

static int generate(struct store *s, struct h7_run *h, double *rows_ms, double *eval_ms)
{
	struct agg_row *rows = calloc(2 * H7_CHUNK_S, sizeof(*rows));
	int64_t t, to, next_idx = 0, t0;
	size_t k;
	int rc = -1;

	if (!rows) {
		fprintf(stderr, "history7d: out of memory\n");
		return -1;
	}
	*rows_ms = *eval_ms = 0;
	if (setup_run(s, h) || put_events(s, h))
		goto out;
	for (t = 0; t < h->dur_s; t = to) {
		to = t + H7_CHUNK_S < h->dur_s ? t + H7_CHUNK_S : h->dur_s;
		t0 = mono_ns();
		for (k = 0; k < h->cfg.nchecks; k++)
			if (put_chunk(s, h, k, t, to, rows))
				goto out;
		*rows_ms += ms_since(t0);
		t0 = mono_ns();
		if (to < h->dur_s && evaluate_until(s, h, to, 0, &next_idx))
			goto out;
		*eval_ms += ms_since(t0);
		if (prune_until(s, h, to, next_idx))
			goto out;
	}
	t0 = mono_ns();
	if (store_set_run_ended(s, (double)(H7_T0 + h->dur_s))) {
		fprintf(stderr, "history7d: set ended: %s\n", store_errmsg(s));
		goto out;
	}
	if (evaluate_until(s, h, h->dur_s, 1, &next_idx))
		goto out;
	*eval_ms += ms_since(t0);
	rc = 0;
out:
	free(rows);
	return rc;
}

static uint64_t count_gaps(const struct report_check *c)
{
	uint64_t n = 0, i;

	for (i = 0; c->windows && i < c->nwindows; i++)
		n += c->windows[i].reason == R_MONITOR_GAP;
	return n;
}

/* Build the report and render each format, timing each; reports/ with --keep. */
/*
 * What `conform status` and /metrics build on every refresh: the same
 * verdicts from counts and the last windows only. Timed, and held to agree
 * with the full report r.
 */
static int measure_status(struct store *s, struct h7_run *h, const struct report *r)
{
	struct report *lr = NULL;
	int64_t t0 = mono_ns();
	int rc = -1;

	if (report_build_recent(s, &h->cfg, 30, &lr)) {
		fprintf(stderr, "history7d: report_build_recent failed: %s\n", store_errmsg(s));
		return -1;
	}
	printf("status build:      %.1f ms (counts and the last 30 windows per check)\n",
	       ms_since(t0));
	if (lr->verdict != r->verdict || lr->nchecks != r->nchecks)
		goto differ;
	for (size_t i = 0; i < r->nchecks; i++) {
		const struct report_check *a = &r->checks[i], *b = &lr->checks[i];

		if (a->verdict != b->verdict || strcmp(a->reason, b->reason) ||
		    a->win_pass != b->win_pass || a->win_fail != b->win_fail ||
		    a->win_nodata != b->win_nodata || a->totals.total != b->totals.total ||
		    a->last_verdict != b->last_verdict || strcmp(a->last_reason, b->last_reason) ||
		    (a->nwindows && b->nwindows &&
		     a->windows[a->nwindows - 1].idx != b->windows[b->nwindows - 1].idx))
			goto differ;
	}
	rc = 0;
	goto out;
differ:
	fprintf(stderr, "history7d: the status build disagrees with the full report\n");
out:
	report_free(lr);
	return rc;
}

static int measure_report(struct store *s, struct h7_run *h, const struct h7_opts *o,
			  size_t *html_len)
{
	static const char *const fmts[] = { "json", "junit", "md", "html" };
	struct dynbuf b = DYNBUF_INIT(H7_REPORT_MAX);
	struct report *r = NULL;
	int64_t t0;
	uint64_t windows = 0, incidents = 0, gaps = 0, want_win;
	char path[1200];
	size_t i, judged = 0;
	int rc = -1;

	t0 = mono_ns();
	if (report_build(s, &h->cfg, &r)) {
		fprintf(stderr, "history7d: report_build failed: %s\n", store_errmsg(s));
		goto out;
	}
	printf("report_build:      %.1f ms\n", ms_since(t0));
	if (measure_status(s, h, r))
		goto out;
	for (i = 0; i < r->nchecks; i++) {
		if (r->checks[i].verdict == V_SKIP)
			continue;  /* the catalog's other checks: not selected */
		judged++;
		windows += r->checks[i].win_total;
		gaps += count_gaps(&r->checks[i]);
		incidents += r->checks[i].nincidents;
	}
	printf("report:            verdict %s, %zu checks, %" PRIu64 " windows (%" PRIu64
	       " monitor gaps), %" PRIu64 " incidents, %zu events\n", verdict_name(r->verdict),
	       judged, windows, gaps, incidents, r->nevents);
	for (i = 0; i < ARRAY_SIZE(fmts); i++) {
		dynbuf_reset(&b);
		t0 = mono_ns();
		if (report_render(r, fmts[i], &b)) {
			fprintf(stderr, "history7d: render %s failed\n", fmts[i]);
			goto out;
		}
		printf("render %-5s        %.1f ms, %zu bytes\n", fmts[i], ms_since(t0), b.len);
		if (!strcmp(fmts[i], "html")) {
			*html_len = b.len;
			if (b.len < 16 || strncmp(b.buf, "<!DOCTYPE html>", 15)) {
				fprintf(stderr, "history7d: report.html does not start as a page\n");
				goto out;
			}
		}
	}
	/* the synthetic run is built to be judged: it must say so */
	want_win = (uint64_t)h->cfg.nchecks * (uint64_t)((h->dur_s + H7_WINDOW_S - 1) / H7_WINDOW_S);
	if (judged != h->cfg.nchecks || windows != want_win) {
		fprintf(stderr, "history7d: report judged %zu checks and %" PRIu64
			" windows, want %zu and %" PRIu64 "\n", judged, windows, h->cfg.nchecks,
			want_win);
		goto out;
	}
	if (h->gap_to > h->gap_from && !gaps) {
		fprintf(stderr, "history7d: the monitor gap shows in no window\n");
		goto out;
	}
	if (h->dur_s > H7_FAULT_EVERY_S / 2 + H7_FAULT_S && h->cfg.nchecks > 1 &&
	    (r->verdict != V_FAIL || !incidents)) {
		fprintf(stderr, "history7d: the faults made no incident (verdict %s)\n",
			verdict_name(r->verdict));
		goto out;
	}
	if (o->keep) {
		if (str_fmt(path, sizeof(path), "%s/reports", o->dir) || report_write_all(r, path)) {
			fprintf(stderr, "history7d: cannot write %s/reports: %s\n", o->dir,
				strerror(errno));
			goto out;
		}
		printf("reports:           %s\n", path);
	}
	rc = 0;
out:
	dynbuf_release(&b);
	report_free(r);
	return rc;
}

static void remove_store(const char *dir, int made_dir)
{
	static const char *const names[] = { "conform.db", "conform.db-wal", "conform.db-shm" };
	char path[1200];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (!str_fmt(path, sizeof(path), "%s/%s", dir, names[i]))
			unlink(path);
	if (made_dir)
		rmdir(dir);
}

int main(int argc, char **argv)
{
	struct h7_opts o;
	struct h7_run *h = NULL;
	struct store *s = NULL;
	char dbpath[1200], err[512];
	double rows_ms = 0, eval_ms = 0, gen_ms = 0, per_day = 0, growth = -1;
	off_t db_bytes = 0;
	long rss_gen;
	size_t html_len = 0;
	int made_dir = 0, ours = 1, rc = 1;
	int64_t t0;

	log_init("history7d", LOG_ERROR);
	setvbuf(stdout, NULL, _IOLBF, 0);   /* figures show as they come, also into a pipe */
	switch (parse_args(argc, argv, &o)) {
	case 0:
		break;
	case 1:
		return 0;
	default:
		return 2;
	}
	if (!o.dir[0]) {
		const char *tmp = getenv("TMPDIR");

		if (str_fmt(o.dir, sizeof(o.dir), "%s/conform-history7d.XXXXXX",
			    tmp && *tmp ? tmp : "/tmp") || !mkdtemp(o.dir)) {
			fprintf(stderr, "history7d: cannot make a temporary directory: %s\n",
				strerror(errno));
			return 1;
		}
		made_dir = 1;
	} else if (mkdir_p(o.dir, 0700)) {
		fprintf(stderr, "history7d: %s: %s\n", o.dir, strerror(errno));
		return 1;
	}
	if (str_fmt(dbpath, sizeof(dbpath), "%s/conform.db", o.dir)) {
		fprintf(stderr, "history7d: --dir too long\n");
		ours = 0;
		goto out;
	}
	if (o.reuse) {
		ours = 0;   /* not ours: leave it */
		if (!o.dir[0] || made_dir || access(dbpath, F_OK)) {
			fprintf(stderr, "history7d: --reuse: no %s\n", dbpath);
			goto out;
		}
	} else if (access(dbpath, F_OK) == 0) {
		fprintf(stderr, "history7d: %s exists; give an empty --dir\n", dbpath);
		ours = 0;   /* not ours: leave it */
		goto out;
	}
	h = calloc(1, sizeof(*h));
	if (!h || init_run(&o, h))
		goto out;
	printf("history7d: %g days, %zu checks, %g req/s per check, %d s windows, store %s\n",
	       o.days, h->cfg.nchecks, o.rate, H7_WINDOW_S, dbpath);

	if (o.reuse)
		goto measure;
	t0 = mono_ns();
	if (store_open(dbpath, 1, &s, err, sizeof(err))) {
		fprintf(stderr, "history7d: %s\n", err);
		goto out;
	}
	if (generate(s, h, &rows_ms, &eval_ms))
		goto out;
	store_close(s);   /* the last close checkpoints the WAL: the file is the data */
	s = NULL;
	gen_ms = ms_since(t0);
	rss_gen = peak_rss_kb();
	db_bytes = file_size(o.dir, "conform.db") + file_size(o.dir, "conform.db-wal");
	per_day = (double)db_bytes / ((double)h->cfg.nchecks * (double)h->dur_s / 86400.0);
	printf("generate:          %.1f s (rows %.1f s, evaluate %.1f s): %" PRIu64 " rows, %"
	       PRIu64 " requests, %" PRIu64 " batches\n", gen_ms / 1e3, rows_ms / 1e3,
	       eval_ms / 1e3, h->rows, h->requests, h->batches);
	printf("database:          %lld bytes (%.1f MB), %.0f bytes (%.2f MB) per check-day on"
	       " average\n", (long long)db_bytes, (double)db_bytes / 1e6, per_day, per_day / 1e6);
	if (h->cfg.retention_s > 0)
		printf("pruned:            %" PRIu64 " of %" PRIu64 " per-second rows (retention %"
		       PRId64 " s)\n", h->pruned, h->rows, h->cfg.retention_s);
	else
		printf("pruned:            nothing (--retention 0: all per-second rows kept)\n");
	if (h->ndays >= 2) {
		growth = (double)(h->day_bytes[h->ndays - 1] - h->day_bytes[0]) /
			 (double)(h->ndays - 1) / (double)h->cfg.nchecks;
		printf("growth:            %.0f bytes (%.2f MB) per check-day after day 1"
		       " (conform.db at each day's end:", growth, growth / 1e6);
		for (int d = 0; d < h->ndays; d++)
			printf(" %.1f", (double)h->day_bytes[d] / 1e6);
		printf(" MB)\n");
	}
	printf("peak RSS:          %ld kB after generating\n", rss_gen);

measure:
	if (o.reuse) {
		db_bytes = file_size(o.dir, "conform.db") + file_size(o.dir, "conform.db-wal");
		per_day = (double)db_bytes / ((double)h->cfg.nchecks * (double)h->dur_s / 86400.0);
		printf("database:          %lld bytes (%.1f MB) as found\n", (long long)db_bytes,
		       (double)db_bytes / 1e6);
	}
	t0 = mono_ns();
	if (store_open(dbpath, 0, &s, err, sizeof(err))) {
		fprintf(stderr, "history7d: reopen: %s\n", err);
		goto out;
	}
	printf("open:              %.1f ms\n", ms_since(t0));
	if (measure_report(s, h, &o, &html_len))
		goto out;
	printf("peak RSS:          %ld kB after the report\n", peak_rss_kb());
	printf("history7d days=%g checks=%zu rate=%g retention_s=%" PRId64 " rows=%" PRIu64
	       " pruned=%" PRIu64 " gen_s=%.1f db_bytes=%lld bytes_per_check_day=%.0f"
	       " growth_per_check_day=%.0f html_bytes=%zu peak_rss_kb=%ld\n", o.days,
	       h->cfg.nchecks, o.rate, h->cfg.retention_s, h->rows, h->pruned, gen_ms / 1e3,
	       (long long)db_bytes, per_day, growth, html_len, peak_rss_kb());
	rc = 0;
out:
	store_close(s);
	if (o.keep && ours)
		printf("kept:              %s\n", o.dir);
	else if (ours)
		remove_store(o.dir, made_dir);
	free(h);
	return rc;
}
