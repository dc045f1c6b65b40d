/*
 * metrics.c - Prometheus text exposition 0.0.4 of a run, rendered from the
 * report (so /metrics, status and reports agree), plus the parser of the
 * loopback-only --metrics-addr. Pure: no sockets, no store access here.
 */
#include "report/metrics.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "evidence/outcome.h"

/* Upper bounds of the duration histogram, in seconds (and their label text). */
static const struct {
	const char *le;
	uint64_t us;
} le_bounds[] = {
	{ "0.001", 1000 }, { "0.0025", 2500 }, { "0.005", 5000 }, { "0.01", 10000 },
	{ "0.025", 25000 }, { "0.05", 50000 }, { "0.1", 100000 }, { "0.25", 250000 },
	{ "0.5", 500000 }, { "1", 1000000 }, { "2.5", 2500000 }, { "5", 5000000 },
	{ "10", 10000000 },
};

/* A label value: backslash, double quote and line feed escaped. */
static void mlabel(struct dynw *w, const char *s)
{
	char c[2] = { 0, 0 };

	for (; s && *s; s++) {
		switch (*s) {
		case '\\': dynw_adds(w, "\\\\"); break;
		case '"': dynw_adds(w, "\\\""); break;
		case '\n': dynw_adds(w, "\\n"); break;
		default:
			c[0] = *s;
			dynw_adds(w, c);
		}
	}
}

static void family(struct dynw *w, const char *name, const char *type, const char *help)
{
	dynw_addf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{check="ID"[,key="val"]} */
static void check_series(struct dynw *w, const char *name, const char *check, const char *key,
			 const char *val)
{
	dynw_addf(w, "%s{check=\"", name);
	mlabel(w, check);
	if (key) {
		dynw_addf(w, "\",%s=\"", key);
		mlabel(w, val);
	}
	dynw_adds(w, "\"} ");
}

static int selected(const struct report_check *c)
{
	return c->verdict != V_SKIP;
}

static void render_histogram(struct dynw *w, const struct report_check *c)
{
	const struct hist *h = &c->totals.h;
	const char *name = "conform_request_duration_seconds";
	uint64_t cum = 0;
	unsigned i = 0;
	size_t k;

	for (k = 0; k < ARRAY_SIZE(le_bounds); k++) {
		/* a bucket counts once all the values it can hold are <= le */
		for (; i < HIST_BUCKETS && hist_bucket_high(i) <= le_bounds[k].us; i++)
			cum += h->b[i];
		if (cum > h->count)
			cum = h->count;
		dynw_addf(w, "%s_bucket{check=\"", name);
		mlabel(w, c->desc->id);
		dynw_addf(w, "\",le=\"%s\"} %" PRIu64 "\n", le_bounds[k].le, cum);
	}
	dynw_addf(w, "%s_bucket{check=\"", name);
	mlabel(w, c->desc->id);
	dynw_addf(w, "\",le=\"+Inf\"} %" PRIu64 "\n", h->count);
	dynw_addf(w, "%s_sum{check=\"", name);
	mlabel(w, c->desc->id);
	dynw_addf(w, "\"} %.6f\n", (double)h->sum_us / 1e6);
	dynw_addf(w, "%s_count{check=\"", name);
	mlabel(w, c->desc->id);
	dynw_addf(w, "\"} %" PRIu64 "\n", h->count);
}

int metrics_render(const struct report *r, double now, struct dynbuf *b)
{
	struct dynw w = { b, 0 };
	double end = r->run.ended > 0 ? r->run.ended : now, elapsed = 0;
	size_t i;
	unsigned o;

	if (r->run.started > 0 && end > r->run.started)
		elapsed = end - r->run.started;

	family(&w, "conform_run_info", "gauge", "The run being monitored (always 1).");
	dynw_adds(&w, "conform_run_info{run_id=\"");
	mlabel(&w, r->run.id);
	dynw_adds(&w, "\",platform=\"");
	mlabel(&w, r->run.platform);
	dynw_adds(&w, "\",mesh=\"");
	mlabel(&w, r->run.mesh);
	dynw_adds(&w, "\"} 1\n");
	family(&w, "conform_run_elapsed_seconds", "gauge",
	       "Seconds since the run started (its whole duration once ended).");
	dynw_addf(&w, "conform_run_elapsed_seconds %.3f\n", elapsed);
	family(&w, "conform_run_final", "gauge", "1 once the run has ended, else 0.");
	dynw_addf(&w, "conform_run_final %d\n", r->final ? 1 : 0);
	family(&w, "conform_monitor_up", "gauge", "1 while the monitor answers.");
	dynw_adds(&w, "conform_monitor_up 1\n");
	family(&w, "conform_batches_total", "counter",
	       "Outcome batches received from the workloads, by result.");
	dynw_addf(&w, "conform_batches_total{result=\"accepted\"} %" PRId64 "\n",
	   r->monitor.batches > 0 ? r->monitor.batches : 0);
	dynw_addf(&w, "conform_batches_total{result=\"duplicate\"} %" PRId64 "\n",
	   r->monitor.duplicates > 0 ? r->monitor.duplicates : 0);
	dynw_addf(&w, "conform_batches_total{result=\"rejected\"} %" PRId64 "\n",
	   r->monitor.rejected > 0 ? r->monitor.rejected : 0);

	family(&w, "conform_check_state", "gauge",
	       "Verdict of the latest evaluated window: 0 nodata, 1 pass, 2 fail, 4 inconclusive.");
	for (i = 0; i < r->nchecks; i++) {
		const struct report_check *c = &r->checks[i];

		if (!selected(c))
			continue;
		check_series(&w, "conform_check_state", c->desc->id, NULL, NULL);
		dynw_addf(&w, "%d\n", c->last_verdict == V_PASS ? 1 : c->last_verdict == V_FAIL ? 2 :
			  c->last_verdict == V_INCONCLUSIVE ? 4 : 0);
	}
	family(&w, "conform_check_windows_total", "counter",
	       "Evaluated windows per check, by verdict.");
	for (i = 0; i < r->nchecks; i++) {
		const struct report_check *c = &r->checks[i];

		if (!selected(c))
			continue;
		check_series(&w, "conform_check_windows_total", c->desc->id, "result", "pass");
		dynw_addf(&w, "%" PRIu64 "\n", c->win_pass);
		check_series(&w, "conform_check_windows_total", c->desc->id, "result", "fail");
		dynw_addf(&w, "%" PRIu64 "\n", c->win_fail);
		check_series(&w, "conform_check_windows_total", c->desc->id, "result", "nodata");
		dynw_addf(&w, "%" PRIu64 "\n", c->win_nodata);
		check_series(&w, "conform_check_windows_total", c->desc->id, "result",
			     "inconclusive");
		dynw_addf(&w, "%" PRIu64 "\n", c->win_inconclusive);
	}
	family(&w, "conform_requests_total", "counter",
	       "Requests the workloads made per check, by outcome.");
	for (i = 0; i < r->nchecks; i++) {
		const struct report_check *c = &r->checks[i];

		if (!selected(c))
			continue;
		/* every outcome, zero or not, so rate() sees each series from the start */
		for (o = 0; o < OUT__COUNT && o < ARRAY_SIZE(c->totals.by_outcome); o++) {
			check_series(&w, "conform_requests_total", c->desc->id, "outcome",
				     outcome_info(o)->name);
			dynw_addf(&w, "%" PRIu64 "\n", c->totals.by_outcome[o]);
		}
	}
	family(&w, "conform_request_duration_seconds", "histogram",
	       "Request latency per check, from the workloads' histograms.");
	for (i = 0; i < r->nchecks; i++)
		if (selected(&r->checks[i]))
			render_histogram(&w, &r->checks[i]);
	family(&w, "conform_incidents_total", "counter",
	       "Incidents per check: spans of consecutive failing windows.");
	for (i = 0; i < r->nchecks; i++) {
		const struct report_check *c = &r->checks[i];

		if (!selected(c))
			continue;
		check_series(&w, "conform_incidents_total", c->desc->id, NULL, NULL);
		dynw_addf(&w, "%zu\n", c->nincidents);
	}
	return w.err ? -1 : 0;
}

int metrics_parse_addr(const char *s, char *addr, size_t addrlen, int *family_out, int *port,
		       char *err, size_t errlen)
{
	struct addr_hostport hp;
	char why[512];

	if (addr_parse(s, METRICS_ADDR_FLAGS, &hp, why, sizeof(why)) < 0) {
		str_fmt(err, errlen, "--metrics-addr %s%s", why,
			strstr(why, "only loopback") ? ": /metrics is not authenticated" : "");
		return -1;
	}
	if (str_copy(addr, addrlen, hp.host)) {
		str_fmt(err, errlen, "--metrics-addr: address too long");
		return -1;
	}
	*family_out = hp.family;
	*port = hp.port;
	return 0;
}
