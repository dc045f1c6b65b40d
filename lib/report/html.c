/*
 * html.c - report.html: one self-contained page (inline CSS and SVG,
 * no script, no external resource) so it opens offline from a CI artifact
 * and reads the same without JavaScript. Long runs stay small and readable:
 * windows are grouped into at most TL_MAX_CELLS cells per band and chart.
 */
#include "report/report.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "evidence/outcome.h"
#include "config/state.h"

#define TL_MAX_CELLS 400     /* cells per band: 2 px each at most density */
#define PLOT_X 170.0         /* left edge of bands and plot areas */
#define PLOT_W 790.0
#define SVG_W 1000
#define BAND_H 18
#define BAND_GAP 8
#define CHART_TOP 22.0
#define CHART_H 110.0
#define CHART_SVG_H 160
#define MAX_INCIDENT_ROWS 200
#define MAX_EVENT_ROWS 200
#define STRIP_CELL 16        /* px per run in the history strip */

enum cell_state { CS_EMPTY, CS_NODATA, CS_PASS, CS_GAP, CS_INCONCLUSIVE, CS_FAIL };

static const struct {
	const char *cls, *label;
} cell_kinds[] = {
	[CS_EMPTY] = { "c-none", "not evaluated" },
	[CS_NODATA] = { "c-nodata", "no data" },
	[CS_PASS] = { "c-pass", "pass" },
	[CS_GAP] = { "c-gap", "monitor gap" },
	[CS_INCONCLUSIVE] = { "c-inc", "inconclusive" },
	[CS_FAIL] = { "c-fail", "fail" },
};

/* Several consecutive windows of one check, as one cell of band and charts. */
struct cell {
	uint32_t n, pass, fail, nodata, gap, inc;
	uint64_t total, ok;
	double p50, p99;                 /* highest of its windows */
	double worst;                    /* lowest success ratio of its windows */
	double obs_sum, exp_sum, lo, hi; /* split: mean observed/expected, widest bound */
	uint32_t n_split, n_exp;
	double att_sum, att_limit;
	uint32_t n_att;
};

/* Time geometry shared by every band and chart. */
struct geom {
	double t0, span;     /* unix s; span covers ncells * cell_s */
	double win_s, cell_s;
	int64_t per_cell;    /* windows per cell */
	size_t ncells;
};

/* Escaped text (element content or attribute value). */
static void ht(struct dynw *w, const char *s)
{
	if (!w->err && dynbuf_add_xml_str(w->b, s ? s : ""))
		w->err = 1;
}

/* A number with up to dec decimals, trailing zeros trimmed. */
static const char *num(double v, int dec, char *buf, size_t len)
{
	char *p;

	if (!isfinite(v))
		v = 0;
	snprintf(buf, len, "%.*f", dec, v);
	if (strchr(buf, '.')) {
		p = buf + strlen(buf) - 1;
		while (*p == '0')
			*p-- = '\0';
		if (*p == '.')
			*p = '\0';
	}
	if (!strcmp(buf, "-0"))
		snprintf(buf, len, "0");
	return buf;
}

static const char *when(double t, char *buf, size_t len)
{
	if (t <= 0) {
		str_copy(buf, len, "-");
		return buf;
	}
	return time_rfc3339(t, buf, len);
}

/* Short clock label for an axis tick: "04:11:20", "04:11" or "11-22 04:11". */
static const char *tick_label(double t, double step, double span, char *buf, size_t len)
{
	time_t tt = (time_t)floor(t);
	struct tm tm;

	if (!gmtime_r(&tt, &tm)) {
		str_copy(buf, len, "?");
		return buf;
	}
	if (span > 86400)
		str_fmt(buf, len, "%02d-%02d %02d:%02d", tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			tm.tm_min);
	else if (step < 60)
		str_fmt(buf, len, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
	else
		str_fmt(buf, len, "%02d:%02d", tm.tm_hour, tm.tm_min);
	return buf;
}

static const char *verdict_badge(enum verdict v)
{
	switch (v) {
	case V_PASS: return "<span class=\"b b-pass\">pass</span>";
	case V_FAIL: return "<span class=\"b b-fail\">fail</span>";
	case V_SKIP: return "<span class=\"b b-skip\">skip</span>";
	case V_INCONCLUSIVE: return "<span class=\"b b-inconclusive\">inconclusive</span>";
	default: return "<span class=\"b b-nodata\">nodata</span>";
	}
}

/* ---- geometry and cells ---- */

static void geom_init(struct geom *g, const struct report *r)
{
	double end = 0, nslots;
	size_t i, k;

	g->win_s = r->run.window_ms > 0 ? (double)r->run.window_ms / 1000.0 : 10.0;
	g->t0 = r->run.started > 0 ? floor(r->run.started) : 0;
	for (i = 0; i < r->nchecks; i++) {
		const struct report_check *c = &r->checks[i];

		for (k = 0; k < c->nwindows; k++) {
			if (!g->t0 || (double)c->windows[k].start_s < g->t0)
				g->t0 = (double)c->windows[k].start_s;
			if ((double)c->windows[k].end_s > end)
				end = (double)c->windows[k].end_s;
		}
	}
	if (r->final && r->run.ended > end)
		end = r->run.ended;
	if (end < g->t0 + g->win_s)
		end = g->t0 + g->win_s;
	nslots = ceil((end - g->t0) / g->win_s);
	g->per_cell = (int64_t)ceil(nslots / TL_MAX_CELLS);
	if (g->per_cell < 1)
		g->per_cell = 1;
	g->cell_s = g->win_s * (double)g->per_cell;
	g->ncells = (size_t)ceil((end - g->t0) / g->cell_s - 1e-9);
	if (g->ncells < 1)
		g->ncells = 1;
	if (g->ncells > TL_MAX_CELLS)
		g->ncells = TL_MAX_CELLS;
	g->span = g->cell_s * (double)g->ncells;
}

static double gx(const struct geom *g, double t)
{
	return PLOT_X + (t - g->t0) / g->span * PLOT_W;
}

/* Group a check's windows into g->ncells cells; new array, caller frees. */
static struct cell *cells_build(const struct geom *g, const struct report_check *c)
{
	struct cell *cells = calloc(g->ncells, sizeof(*cells));
	size_t i;

	if (!cells)
		return NULL;
	for (i = 0; i < g->ncells; i++) {
		cells[i].lo = INFINITY;
		cells[i].hi = -INFINITY;
		cells[i].att_limit = NAN;
		cells[i].worst = 1;
	}
	for (i = 0; i < c->nwindows; i++) {
		const struct report_window *w = &c->windows[i];
		double pos = ((double)w->start_s - g->t0) / g->cell_s;
		size_t ci = pos <= 0 ? 0 : (size_t)pos;
		struct cell *x;

		if (ci >= g->ncells)
			ci = g->ncells - 1;
		x = &cells[ci];
		x->n++;
		if (w->verdict == V_FAIL)
			x->fail++;
		else if (w->reason == R_MONITOR_GAP)
			x->gap++;
		else if (w->verdict == V_INCONCLUSIVE)
			x->inc++;
		else if (w->verdict == V_PASS)
			x->pass++;
		else
			x->nodata++;
		x->total += w->total;
		x->ok += w->ok;
		if (w->total) {
			x->worst = fmin(x->worst, (double)w->ok / (double)w->total);
			x->p50 = fmax(x->p50, w->p50_ms);
			x->p99 = fmax(x->p99, w->p99_ms);
		}
		if (!isnan(w->split_observed)) {
			x->obs_sum += w->split_observed;
			x->n_split++;
			if (!isnan(w->split_lo))
				x->lo = fmin(x->lo, w->split_lo);
			if (!isnan(w->split_hi))
				x->hi = fmax(x->hi, w->split_hi);
		}
		if (!isnan(w->split_expected)) {
			x->exp_sum += w->split_expected;
			x->n_exp++;
		}
		if (!isnan(w->attempts_per_request)) {
			x->att_sum += w->attempts_per_request;
			x->n_att++;
		}
		if (!isnan(w->attempts_limit))
			x->att_limit = isnan(x->att_limit) ? w->attempts_limit
							   : fmax(x->att_limit, w->attempts_limit);
	}
	return cells;
}

static enum cell_state cell_state(const struct cell *x)
{
	if (x->fail)
		return CS_FAIL;
	if (x->gap)
		return CS_GAP;
	if (x->inc)
		return CS_INCONCLUSIVE;
	if (x->pass)
		return CS_PASS;
	if (x->nodata)
		return CS_NODATA;
	return CS_EMPTY;
}

/* ---- page parts ---- */

static const char css[] =
	"*{box-sizing:border-box}"
	"body{margin:0;background:#f6f7f9;color:#1d2330;"
	"font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif}"
	"main{max-width:1040px;margin:0 auto;padding:20px 24px 40px}"
	"h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 10px;"
	"padding-bottom:4px;border-bottom:1px solid #d9dde3}"
	"h3{font-size:15px;margin:18px 0 6px}"
	".banner{border-radius:8px;padding:14px 18px;margin-bottom:16px;color:#fff}"
	".banner.pass{background:#1f7a3d}.banner.fail{background:#b42318}"
	".banner p{margin:2px 0 0;opacity:.92}"
	".prov{background:#fff4ce;border:1px solid #e5c453;border-radius:6px;padding:6px 10px;"
	"margin-bottom:12px}"
	"dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0}"
	"dl.kv dt{color:#5b6474}dl.kv dd{margin:0;font-variant-numeric:tabular-nums}"
	"table{border-collapse:collapse;width:100%;background:#fff;font-size:13px}"
	"th,td{border:1px solid #dde1e7;padding:4px 8px;text-align:left;vertical-align:top}"
	"th{background:#eef1f5;font-weight:600}"
	"td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
	"td.t{white-space:nowrap;font-variant-numeric:tabular-nums}"
	"code{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:12.5px}"
	".b{display:inline-block;min-width:52px;text-align:center;border-radius:10px;"
	"padding:0 8px;font-size:12px;font-weight:600;color:#fff}"
	".b-pass{background:#1f7a3d}.b-fail{background:#b42318}.b-skip{background:#8a94a6}"
	".b-nodata{background:#8a94a6}"
	".card{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:10px 14px;"
	"margin-bottom:12px}"
	"svg{display:block;width:100%;height:auto;font-size:11px}"
	"svg text{fill:#4a5263}svg .lbl{fill:#1d2330;font-size:12px}"
	/* fill colours the SVG cells, background the legend swatches */
	".c-pass{fill:#2f9e55;background:#2f9e55}.c-fail{fill:#d63b2f;background:#d63b2f}"
	".c-nodata{fill:#b7bdc7;background:#b7bdc7}.c-gap{fill:#7c5cc4;background:#7c5cc4}"
	".c-inc{fill:#d9a21b;background:#d9a21b}.b-inconclusive{background:#b7791f}"
	".c-none{fill:#eceef2;background:#eceef2;outline:1px solid #d9dde3}"
	".legend{display:flex;flex-wrap:wrap;gap:4px 16px;margin:4px 0 8px;color:#4a5263}"
	".legend i{display:inline-block;width:12px;height:12px;border-radius:2px;"
	"margin-right:5px;vertical-align:-2px}"
	".axis{stroke:#c6ccd6;stroke-width:1}.grid{stroke:#eceef2;stroke-width:1}"
	".s-ok{stroke:#2f6fd6;fill:none;stroke-width:1.6;stroke-linejoin:round;stroke-linecap:round}"
	".s-p99{stroke:#d6582f;fill:none;stroke-width:1.6;stroke-linejoin:round;stroke-linecap:round}"
	".s-p50{stroke:#2f6fd6;fill:none;stroke-width:1.6;stroke-linejoin:round;stroke-linecap:round}"
	".s-obs{stroke:#2f6fd6;fill:none;stroke-width:1.6;stroke-linejoin:round;stroke-linecap:round}"
	".s-exp,.s-obj{stroke:#1d2330;fill:none;stroke-width:1;stroke-dasharray:5 4}"
	".s-band{fill:#2f6fd6;fill-opacity:.16}"
	".muted{color:#5b6474}"
	"svg.strip{display:inline-block;width:auto;height:14px;vertical-align:-2px}"
	".c-skip{fill:#eceef2;background:#eceef2}"
	"footer{margin-top:28px;color:#5b6474;font-size:12px}";

static void render_head(struct dynw *w, const struct report *r)
{
	dynw_adds(w, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
	      /* nothing may load from anywhere: the page is complete as it is */
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	      "style-src 'unsafe-inline'; img-src data:\"/>\n<title>conform ");
	ht(w, r->run.id);
	dynw_addf(w, ": %s</title>\n<style>%s</style>\n</head>\n<body>\n<main>\n",
	   r->verdict == V_PASS ? "conformant" : "not conformant", css);
}

static void render_summary(struct dynw *w, const struct report *r)
{
	char t1[40], t2[40], dur[32], win[32], n1[32], n2[32], n3[32];
	double end = r->run.ended > 0 ? r->run.ended : wall_s();
	double dur_s = r->run.started > 0 && end > r->run.started ? end - r->run.started : 0;
	size_t i;

	dynw_addf(w, "<header class=\"banner %s\" id=\"verdict\">\n<h1>%s</h1>\n<p>",
	   r->verdict == V_PASS ? "pass" : "fail",
	   r->verdict == V_PASS ? "&#x2714; conformant" : "&#x2718; not conformant");
	dynw_addf(w, "%zu passed · %zu failed · ", r->npass, r->nfail);
	if (r->ninconclusive)
		dynw_addf(w, "%zu inconclusive%s · ", r->ninconclusive,
			  r->strict ? " (strict: failing)" : "");
	dynw_addf(w, "%zu skipped · run <code>", r->nskip);
	ht(w, r->run.id);
	dynw_adds(w, "</code></p>\n</header>\n");
	if (r->interrupted) {
		char at[32], of[32];

		dynw_addf(w, "<p class=\"prov\" id=\"interrupted\">Interrupted at %s of %s (",
			  dur_format((int64_t)(r->reached_s * 1000.0), at, sizeof(at)),
			  dur_format(r->run.duration_ms, of, sizeof(of)));
		ht(w, r->stop_reason[0] ? r->stop_reason : "stopped");
		dynw_adds(w, "): the verdicts cover what was observed until then.</p>\n");
	}
	if (r->ncauses) {
		/* one fault often explains several failing checks: say so once,
		 * so a reader looks for one problem, not one per red row */
		char text[512];

		dynw_addf(w, "<div class=\"card\" id=\"causes\"><b>%zu cause%s</b><ul>\n",
			  r->ncauses, r->ncauses == 1 ? "" : "s");
		for (i = 0; i < r->ncauses; i++) {
			dynw_adds(w, "<li>");
			ht(w, report_cause_text(&r->causes[i], "\xe2\x86\x92", text, sizeof(text)));
			dynw_adds(w, "</li>\n");
		}
		if (r->unexplained[0]) {
			dynw_adds(w, "<li>no cause found for: ");
			ht(w, r->unexplained);
			dynw_adds(w, "</li>\n");
		}
		dynw_adds(w, "</ul></div>\n");
	}
	if (!r->final)
		dynw_adds(w, "<p class=\"prov\">Provisional: the run is still going; this is the report as "
		      "of the last evaluated window.</p>\n");

	dynw_adds(w, "<section id=\"summary\">\n<div class=\"card\"><dl class=\"kv\">\n<dt>run</dt><dd><code>");
	ht(w, r->run.id);
	dynw_adds(w, "</code></dd>\n<dt>platform</dt><dd>");
	ht(w, r->run.platform);
	dynw_adds(w, "</dd>\n<dt>mesh</dt><dd>");
	ht(w, r->run.mesh);
	dynw_addf(w, "</dd>\n<dt>started</dt><dd>%s</dd>\n<dt>ended</dt><dd>%s</dd>\n"
	   "<dt>duration</dt><dd>%s</dd>\n<dt>window</dt><dd>%s</dd>\n"
	   "<dt>verdict</dt><dd>%s</dd>\n",
	   when(r->run.started, t1, sizeof(t1)),
	   r->final ? when(r->run.ended, t2, sizeof(t2)) : "still running",
	   dur_format((int64_t)(dur_s * 1000.0), dur, sizeof(dur)),
	   dur_format(r->run.window_ms, win, sizeof(win)), verdict_badge(r->verdict));
	if (r->history.prev[0]) {
		/* relative: the reports of a state directory stay linked when it moves */
		dynw_adds(w, "<dt>previous run</dt><dd><a class=\"prev\" href=\"../../");
		ht(w, r->history.prev);
		dynw_adds(w, "/reports/report.html\"><code>");
		ht(w, r->history.prev);
		dynw_addf(w, "</code></a> %s</dd>\n", verdict_badge(r->history.prev_verdict));
	}
	dynw_adds(w, "</dl></div>\n");

	dynw_adds(w, "<table id=\"checks\">\n<thead><tr><th>check</th><th>verdict</th>"
	      "<th>windows pass / fail / nodata / inconclusive</th><th>requests ok / total</th><th>success</th>"
	      "<th>p50</th><th>p99</th><th>reason</th></tr></thead>\n<tbody>\n");
	for (i = 0; i < r->nchecks; i++) {
		const struct report_check *c = &r->checks[i];

		dynw_adds(w, "<tr class=\"check\" id=\"check-");
		ht(w, c->desc->id);
		dynw_adds(w, "\"><td><code>");
		ht(w, c->desc->id);
		dynw_adds(w, "</code><br/><span class=\"muted\">");
		ht(w, c->desc->title);
		dynw_addf(w, "</span></td><td>%s</td>", verdict_badge(c->verdict));
		if (c->verdict == V_SKIP) {
			dynw_adds(w, "<td class=\"n\">-</td><td class=\"n\">-</td><td class=\"n\">-</td>"
			      "<td class=\"n\">-</td><td class=\"n\">-</td><td>");
		} else {
			dynw_addf(w, "<td class=\"n\">%" PRIu64 " / %" PRIu64 " / %" PRIu64 " / %" PRIu64 "</td>"
			   "<td class=\"n\">%" PRIu64 " / %" PRIu64 "</td><td class=\"n\">%s%s</td>"
			   "<td class=\"n\">%s ms</td><td class=\"n\">%s ms</td><td>",
			   c->win_pass, c->win_fail, c->win_nodata, c->win_inconclusive, c->totals.ok,
			   c->totals.total,
			   c->totals.total ? check_fmt_pct(c->totals.ok, c->totals.total, n1,
							   sizeof(n1)) : "-", c->totals.total ? "%" : "",
			   num((double)hist_quantile(&c->totals.h, 0.50) / 1000.0, 2, n2, sizeof(n2)),
			   num((double)hist_quantile(&c->totals.h, 0.99) / 1000.0, 2, n3, sizeof(n3)));
		}
		ht(w, c->verdict == V_INCONCLUSIVE && c->cause[0] ? c->cause : c->reason);
		if (c->verdict != V_SKIP) {
			char rule[256];

			dynw_adds(w, "<br/><span class=\"muted rule\">");
			ht(w, report_rule_text(c, rule, sizeof(rule)));
			dynw_adds(w, "</span>");
		}
		dynw_adds(w, "</td></tr>\n");
	}
	dynw_adds(w, "</tbody>\n</table>\n</section>\n");
}

static const char *strip_class(enum verdict v)
{
	switch (v) {
	case V_PASS: return "c-pass";
	case V_FAIL: return "c-fail";
	case V_SKIP: return "c-skip";
	default: return "c-nodata";
	}
}

/*
 * Each check's verdict in the last runs of the state directory, oldest
 * first, this run last: "since when not?" at a glance. Only with earlier
 * runs, and only for checks some of those runs judged.
 */
static void render_history(struct dynw *w, const struct report *r)
{
	const struct report_history *h = &r->history;
	size_t i, k;

	if (h->nruns < 2)
		return;
	dynw_addf(w, "<section id=\"history\">\n<h2>Last runs</h2>\n<p class=\"muted\">Each check's "
	   "verdict in the last %zu runs of this state directory, oldest first; the last cell is "
	   "this run.</p>\n<div class=\"legend\"><span><i class=\"c-pass\"></i>pass</span>"
	   "<span><i class=\"c-fail\"></i>fail</span><span><i class=\"c-nodata\"></i>no report"
	   "</span><span><i class=\"c-skip\"></i>skipped or not run</span></div>\n"
	   "<table class=\"history\">\n<tbody>\n", h->nruns);
	for (i = 0; i < r->nchecks; i++) {
		const struct report_check *c = &r->checks[i];
		int judged = 0;

		for (k = 0; k < h->nruns; k++)
			if (c->past[k] == V_PASS || c->past[k] == V_FAIL)
				judged = 1;
		if (!judged)
			continue;
		dynw_adds(w, "<tr class=\"hist\" id=\"hist-");
		ht(w, c->desc->id);
		dynw_adds(w, "\"><td><code>");
		ht(w, c->desc->id);
		dynw_addf(w, "</code></td><td><svg xmlns=\"http://www.w3.org/2000/svg\" class=\"strip\" "
		   "viewBox=\"0 0 %zu 14\" width=\"%zu\" height=\"14\" role=\"img\" "
		   "aria-label=\"verdicts over the last runs\">", h->nruns * STRIP_CELL,
		   h->nruns * STRIP_CELL);
		for (k = 0; k < h->nruns; k++) {
			enum verdict v = c->past[k];

			dynw_addf(w, "<rect class=\"%s\" x=\"%zu\" y=\"0\" width=\"%d\" "
			   "height=\"14\"><title>", strip_class(v), k * STRIP_CELL, STRIP_CELL - 2);
			ht(w, h->ids[k]);
			dynw_addf(w, "%s: %s</title></rect>", k + 1 == h->nruns ? " (this run)" : "",
			   v == V_NODATA ? "no report" : verdict_name(v));
		}
		dynw_adds(w, "</svg></td></tr>\n");
	}
	dynw_adds(w, "</tbody>\n</table>\n</section>\n");
}

/* Time axis ticks under a plot whose bottom is y. */
static void render_time_axis(struct dynw *w, const struct geom *g, double y)
{
	static const double steps[] = { 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800,
					 3600, 7200, 10800, 21600, 43200, 86400, 172800,
					 604800 };
	double step = steps[ARRAY_SIZE(steps) - 1], t;
	char n1[32], n2[32], lab[32];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(steps); i++)
		if (g->span / steps[i] <= 8) {
			step = steps[i];
			break;
		}
	dynw_addf(w, "<line class=\"axis\" x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\"/>",
	   num(PLOT_X, 1, n1, sizeof(n1)), num(y, 1, n2, sizeof(n2)),
	   num(PLOT_X + PLOT_W, 1, lab, sizeof(lab)), num(y, 1, n2, sizeof(n2)));
	for (t = ceil(g->t0 / step) * step; t <= g->t0 + g->span + 1e-6; t += step) {
		num(gx(g, t), 1, n1, sizeof(n1));
		dynw_addf(w, "<line class=\"axis\" x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\"/>", n1,
		   num(y, 1, n2, sizeof(n2)), n1, num(y + 4, 1, lab, sizeof(lab)));
		dynw_addf(w, "<text x=\"%s\" y=\"%s\" text-anchor=\"middle\">%s</text>", n1,
		   num(y + 16, 1, n2, sizeof(n2)), tick_label(t, step, g->span, lab, sizeof(lab)));
	}
	dynw_adds(w, "\n");
}

static void render_legend_cells(struct dynw *w, const struct geom *g)
{
	static const enum cell_state order[] = { CS_PASS, CS_FAIL, CS_INCONCLUSIVE, CS_GAP,
						 CS_NODATA, CS_EMPTY };
	char d[32];
	size_t i;

	dynw_adds(w, "<div class=\"legend\">");
	for (i = 0; i < ARRAY_SIZE(order); i++)
		dynw_addf(w, "<span><i class=\"%s\"></i>%s</span>", cell_kinds[order[i]].cls,
		   cell_kinds[order[i]].label);
	dur_format((int64_t)llround(g->cell_s * 1000.0), d, sizeof(d));
	if (g->per_cell > 1)
		dynw_addf(w, "<span>1 cell = %" PRId64 " windows (%s); a cell is fail if any window in it "
		   "failed, else monitor gap, else pass</span>", g->per_cell, d);
	else
		dynw_addf(w, "<span>1 cell = 1 window (%s)</span>", d);
	dynw_adds(w, "</div>\n");
}

/* One band: runs of equal cells become one rect each. */
static void render_band(struct dynw *w, const struct geom *g, const struct cell *cells, double y)
{
	char n1[32], n2[32], n3[32], t1[40], t2[40];
	size_t i = 0, j;

	while (i < g->ncells) {
		enum cell_state st = cell_state(&cells[i]);
		uint64_t np = 0, nf = 0, nn = 0, ng = 0, ni = 0;
		double x0, x1;

		char inc_text[48];

		for (j = i; j < g->ncells && cell_state(&cells[j]) == st; j++) {
			np += cells[j].pass;
			nf += cells[j].fail;
			nn += cells[j].nodata;
			ng += cells[j].gap;
			ni += cells[j].inc;
		}
		str_fmt(inc_text, sizeof(inc_text), ", %" PRIu64 " inconclusive", ni);
		x0 = gx(g, g->t0 + (double)i * g->cell_s);
		x1 = gx(g, g->t0 + (double)j * g->cell_s);
		dynw_addf(w, "<rect class=\"%s\" x=\"%s\" y=\"%s\" width=\"%s\" height=\"%d\"><title>%s .. %s: "
		   "%s (%" PRIu64 " pass, %" PRIu64 " fail, %" PRIu64 " nodata, %" PRIu64
		   " monitor gap%s)</title></rect>",
		   cell_kinds[st].cls, num(x0, 2, n1, sizeof(n1)), num(y, 1, n2, sizeof(n2)),
		   num(x1 - x0, 2, n3, sizeof(n3)), BAND_H,
		   when(g->t0 + (double)i * g->cell_s, t1, sizeof(t1)),
		   when(g->t0 + (double)j * g->cell_s, t2, sizeof(t2)), cell_kinds[st].label,
		   np, nf, nn, ng, ni ? inc_text : "");
		i = j;
	}
	dynw_adds(w, "\n");
}

static void render_timeline(struct dynw *w, const struct report *r, const struct geom *g,
			    struct cell *const *cells)
{
	char n1[32];
	size_t i, nrows = 0, row = 0;
	int h;

	for (i = 0; i < r->nchecks; i++)
		if (cells[i])
			nrows++;
	dynw_adds(w, "<section id=\"timeline\">\n<h2>Timeline</h2>\n");
	render_legend_cells(w, g);
	if (!nrows) {
		dynw_adds(w, "<p class=\"muted\">No check was evaluated.</p>\n</section>\n");
		return;
	}
	h = (int)nrows * (BAND_H + BAND_GAP) + 30;
	dynw_addf(w, "<div class=\"card\"><svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\" "
	   "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" "
	   "aria-label=\"window verdicts over time per check\">\n", SVG_W, h, SVG_W, h);
	for (i = 0; i < r->nchecks; i++) {
		double y;

		if (!cells[i])
			continue;
		y = 4 + (double)row++ * (BAND_H + BAND_GAP);
		dynw_addf(w, "<text class=\"lbl\" x=\"%d\" y=\"%s\" text-anchor=\"end\">",
		   (int)PLOT_X - 8, num(y + BAND_H - 5, 1, n1, sizeof(n1)));
		ht(w, r->checks[i].desc->id);
		dynw_adds(w, "</text>");
		dynw_addf(w, "<rect class=\"c-none\" x=\"%d\" y=\"%s\" width=\"%d\" height=\"%d\"/>",
		   (int)PLOT_X, num(y, 1, n1, sizeof(n1)), (int)PLOT_W, BAND_H);
		render_band(w, g, cells[i], y);
	}
	render_time_axis(w, g, (double)h - 26);
	dynw_adds(w, "</svg></div>\n</section>\n");
}

/* ---- charts ---- */

/* A "nice" upper bound for an axis holding v (1, 2, 2.5, 5 x 10^n). */
static double nice_max(double v)
{
	double p, m;

	if (!(v > 0) || !isfinite(v))
		return 1;
	p = pow(10, floor(log10(v)));
	m = v / p;
	if (m <= 1)
		return p;
	if (m <= 2)
		return 2 * p;
	if (m <= 2.5)
		return 2.5 * p;
	if (m <= 5)
		return 5 * p;
	return 10 * p;
}

struct chart {
	const struct geom *g;
	double ymin, ymax;
	int nticks;          /* grid lines above ymin */
};

/* Axis 0..ymax with 2-5 "nice" steps holding v. */
static void chart_scale(struct chart *ch, double v)
{
	double step = nice_max(v / 4);

	ch->ymin = 0;
	ch->nticks = (int)ceil(v / step - 1e-9);
	if (ch->nticks < 2)
		ch->nticks = 2;
	ch->ymax = step * ch->nticks;
}

static double cy(const struct chart *ch, double v)
{
	double f = (v - ch->ymin) / (ch->ymax - ch->ymin);

	if (f < 0)
		f = 0;
	if (f > 1)
		f = 1;
	return CHART_TOP + CHART_H - f * CHART_H;
}

static double cell_cx(const struct geom *g, size_t i)
{
	return gx(g, g->t0 + ((double)i + 0.5) * g->cell_s);
}

/* Open a chart: frame, y grid with labels (unit appended), time axis. */
static void chart_open(struct dynw *w, const struct chart *ch, const char *cls, const char *title,
		       const char *unit, double scale)
{
	char n1[32], n2[32], n3[32];
	int k;

	dynw_addf(w, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart %s\" viewBox=\"0 0 %d %d\" "
	   "width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"", cls, SVG_W, CHART_SVG_H,
	   SVG_W, CHART_SVG_H);
	ht(w, title);
	dynw_adds(w, "\">");
	dynw_addf(w, "<text class=\"lbl\" x=\"%d\" y=\"13\">", (int)PLOT_X);
	ht(w, title);
	dynw_adds(w, "</text>");
	for (k = 0; k <= ch->nticks; k++) {
		double v = ch->ymin + (ch->ymax - ch->ymin) * k / ch->nticks;
		double y = cy(ch, v);

		dynw_addf(w, "<line class=\"grid\" x1=\"%d\" y1=\"%s\" x2=\"%d\" y2=\"%s\"/>", (int)PLOT_X,
		   num(y, 1, n1, sizeof(n1)), (int)(PLOT_X + PLOT_W), n1);
		dynw_addf(w, "<text x=\"%d\" y=\"%s\" text-anchor=\"end\">%s%s</text>", (int)PLOT_X - 6,
		   num(y + 4, 1, n2, sizeof(n2)), num(v * scale, 3, n3, sizeof(n3)), unit);
	}
	render_time_axis(w, ch->g, CHART_TOP + CHART_H);
}

/*
 * A line through the cells where have(i) holds; breaks where it does not.
 * A lone point is a zero-length segment that round caps draw as a dot.
 */
static void chart_line(struct dynw *w, const struct chart *ch, const char *cls,
		       const struct cell *cells, int (*have)(const struct cell *),
		       double (*val)(const struct cell *))
{
	char n1[32], n2[32];
	size_t i;
	int open = 0, any = 0;

	for (i = 0; i < ch->g->ncells; i++) {
		if (!have(&cells[i])) {
			open = 0;
			continue;
		}
		if (!any)
			dynw_addf(w, "<path class=\"%s\" d=\"", cls);
		any = 1;
		dynw_addf(w, "%s%s %s", open ? "L" : "M", num(cell_cx(ch->g, i), 1, n1, sizeof(n1)),
		   num(cy(ch, val(&cells[i])), 1, n2, sizeof(n2)));
		if (!open && (i + 1 >= ch->g->ncells || !have(&cells[i + 1])))
			dynw_adds(w, "h0.01");
		open = 1;
	}
	if (any)
		dynw_adds(w, "\"/>");
}

static int has_req(const struct cell *x) { return x->total > 0; }
static double v_success(const struct cell *x) { return x->worst; }
static double v_p50(const struct cell *x) { return x->p50; }
static double v_p99(const struct cell *x) { return x->p99; }
static int has_split(const struct cell *x) { return x->n_split > 0; }
static double v_obs(const struct cell *x) { return x->obs_sum / x->n_split; }
static int has_exp(const struct cell *x) { return x->n_exp > 0; }
static double v_exp(const struct cell *x) { return x->exp_sum / x->n_exp; }
static int has_att(const struct cell *x) { return x->n_att > 0; }
static double v_att(const struct cell *x) { return x->att_sum / x->n_att; }
static int has_limit(const struct cell *x) { return !isnan(x->att_limit); }
static double v_limit(const struct cell *x) { return x->att_limit; }

static void legend_item(struct dynw *w, const char *color, const char *text, int dashed)
{
	dynw_addf(w, "<span><i style=\"background:%s%s\"></i>%s</span>", color,
	   dashed ? ";height:2px;vertical-align:3px" : "", text);
}

static void render_check_charts(struct dynw *w, const struct report_check *c,
				const struct geom *g, const struct cell *cells)
{
	struct chart ch = { g, 0, 1, 4 };
	char n1[32], n2[32], n3[32];
	double maxv = 0, objective = c->desc->objective_ratio;
	size_t i;
	int nsplit = 0, natt = 0;

	for (i = 0; i < g->ncells; i++) {
		nsplit += cells[i].n_split > 0;
		natt += cells[i].n_att > 0;
	}
	dynw_adds(w, "<div class=\"card check-charts\" id=\"charts-");
	ht(w, c->desc->id);
	dynw_adds(w, "\">\n<h3><code>");
	ht(w, c->desc->id);
	dynw_adds(w, "</code> ");
	ht(w, c->desc->title);
	dynw_addf(w, " %s</h3>\n", verdict_badge(c->verdict));

	/* success ratio, with the objective */
	ch.ymin = 0;
	ch.ymax = 1;
	chart_open(w, &ch, "success", "success ratio per window", "%", 100);
	if (objective > 0 && objective <= 1)
		dynw_addf(w, "<line class=\"s-obj\" x1=\"%d\" y1=\"%s\" x2=\"%d\" y2=\"%s\"/>", (int)PLOT_X,
		   num(cy(&ch, objective), 1, n1, sizeof(n1)), (int)(PLOT_X + PLOT_W), n1);
	chart_line(w, &ch, "s-ok", cells, has_req, v_success);
	dynw_adds(w, "</svg>\n<div class=\"legend\">");
	legend_item(w, "#2f6fd6", "success ratio", 0);
	if (objective > 0 && objective <= 1) {
		str_fmt(n2, sizeof(n2), "objective %s%%", num(objective * 100, 2, n1, sizeof(n1)));
		legend_item(w, "#1d2330", n2, 1);
	}
	if (g->per_cell > 1)
		dynw_adds(w, "<span>each point is the lowest of the windows in its cell</span>");
	dynw_adds(w, "</div>\n");

	/* latency */
	for (i = 0; i < g->ncells; i++)
		if (cells[i].total && cells[i].p99 > maxv)
			maxv = cells[i].p99;
	chart_scale(&ch, maxv > 0 ? maxv : 1);
	chart_open(w, &ch, "latency", "latency per window (ms)", "", 1);
	chart_line(w, &ch, "s-p99", cells, has_req, v_p99);
	chart_line(w, &ch, "s-p50", cells, has_req, v_p50);
	dynw_adds(w, "</svg>\n<div class=\"legend\">");
	legend_item(w, "#d6582f", "p99", 0);
	legend_item(w, "#2f6fd6", "p50", 0);
	if (g->per_cell > 1)
		dynw_adds(w, "<span>each point is the highest of the windows in its cell</span>");
	dynw_adds(w, "</div>\n");

	/* split: v2 share against the target and its confidence bound */
	if (nsplit) {
		ch.ymax = 1;
		ch.nticks = 4;
		chart_open(w, &ch, "split", "v2 share per window", "%", 100);
		for (i = 0; i < g->ncells; i++) {
			const struct cell *x = &cells[i];
			double x0, x1;

			if (!x->n_split || !(x->hi >= x->lo))
				continue;
			x0 = gx(g, g->t0 + (double)i * g->cell_s);
			x1 = gx(g, g->t0 + (double)(i + 1) * g->cell_s);
			dynw_addf(w, "<rect class=\"s-band\" x=\"%s\" y=\"%s\" width=\"%s\" ",
			   num(x0, 2, n1, sizeof(n1)), num(cy(&ch, x->hi), 1, n2, sizeof(n2)),
			   num(x1 - x0, 2, n3, sizeof(n3)));
			dynw_addf(w, "height=\"%s\"/>", num(cy(&ch, x->lo) - cy(&ch, x->hi), 1, n1,
						     sizeof(n1)));
		}
		chart_line(w, &ch, "s-exp", cells, has_exp, v_exp);
		chart_line(w, &ch, "s-obs", cells, has_split, v_obs);
		dynw_adds(w, "</svg>\n<div class=\"legend\">");
		legend_item(w, "#2f6fd6", "observed v2 share", 0);
		legend_item(w, "rgba(47,111,214,.3)", "confidence bound", 0);
		legend_item(w, "#1d2330", "target", 1);
		dynw_adds(w, "</div>\n");
	}

	/* retry: attempts per request */
	if (natt) {
		maxv = 1;
		for (i = 0; i < g->ncells; i++) {
			if (cells[i].n_att && v_att(&cells[i]) > maxv)
				maxv = v_att(&cells[i]);
			if (!isnan(cells[i].att_limit) && cells[i].att_limit > maxv)
				maxv = cells[i].att_limit;
		}
		chart_scale(&ch, maxv * 1.1);
		chart_open(w, &ch, "retry", "attempts per request", "", 1);
		chart_line(w, &ch, "s-exp", cells, has_limit, v_limit);
		chart_line(w, &ch, "s-obs", cells, has_att, v_att);
		dynw_adds(w, "</svg>\n<div class=\"legend\">");
		legend_item(w, "#2f6fd6", "attempts per request", 0);
		legend_item(w, "#1d2330", "most attempts allowed", 1);
		dynw_adds(w, "</div>\n");
	}
	dynw_adds(w, "</div>\n");
}

static void render_incidents(struct dynw *w, const struct report *r)
{
	char t1[40], t2[40], d[32];
	size_t i, j, k, shown = 0, total = 0;

	for (i = 0; i < r->nchecks; i++)
		total += r->checks[i].nincidents;
	dynw_adds(w, "<section id=\"incidents\">\n<h2>Incidents</h2>\n");
	if (!total) {
		dynw_adds(w, "<p class=\"muted\">No incident: no check was failing (a check fails after "
		      "consecutive failing windows).</p>\n</section>\n");
		return;
	}
	dynw_adds(w, "<table>\n<thead><tr><th>check</th><th>start</th><th>end</th><th>duration</th>"
	      "<th>windows</th><th>reason</th><th>sample failing requests</th></tr></thead>\n"
	      "<tbody>\n");
	for (i = 0; i < r->nchecks; i++) {
		const struct report_check *c = &r->checks[i];

		for (k = 0; k < c->nincidents && shown < MAX_INCIDENT_ROWS; k++, shown++) {
			const struct report_range *x = &c->incidents[k];

			dynw_adds(w, "<tr class=\"incident\"><td><code>");
			ht(w, c->desc->id);
			dynw_addf(w, "</code></td><td class=\"t\">%s</td><td class=\"t\">%s%s</td>"
			   "<td class=\"n\">%s</td><td class=\"n\">%" PRId64 "</td><td>",
			   when((double)x->start_s, t1, sizeof(t1)),
			   when((double)x->end_s, t2, sizeof(t2)), x->open ? " (open)" : "",
			   dur_format((x->end_s - x->start_s) * 1000, d, sizeof(d)), x->windows);
			ht(w, x->reason);
			dynw_adds(w, "</td><td>");
			for (j = 0; j < x->nsamples; j++) {
				const struct store_sample *sm = &x->samples[j];

				dynw_adds(w, j ? "<br><code>" : "<code>");
				ht(w, sm->request_id);
				dynw_addf(w, "</code> %s %d, %" PRIu64 ".%03" PRIu64 " ms",
				   outcome_info(sm->outcome)->name, sm->code, sm->latency_us / 1000,
				   sm->latency_us % 1000);
				if (sm->identity[0]) {
					dynw_adds(w, ", identity ");
					ht(w, sm->identity);
				}
				if (sm->backend[0]) {
					dynw_adds(w, ", backend ");
					ht(w, sm->backend);
				}
			}
			if (!x->nsamples)
				dynw_adds(w, "<span class=\"muted\">-</span>");
			dynw_adds(w, "</td></tr>\n");
		}
	}
	dynw_adds(w, "</tbody>\n</table>\n");
	if (shown < total)
		dynw_addf(w, "<p class=\"muted\">%zu more incidents are listed in report.json.</p>\n",
		   total - shown);
	dynw_adds(w, "</section>\n");
}

static void render_events(struct dynw *w, const struct report *r)
{
	char t1[40];
	size_t i, from = r->nevents > MAX_EVENT_ROWS ? r->nevents - MAX_EVENT_ROWS : 0;

	dynw_adds(w, "<section id=\"events\">\n<h2>Events</h2>\n");
	if (!r->nevents) {
		dynw_adds(w, "<p class=\"muted\">No events.</p>\n</section>\n");
		return;
	}
	if (from)
		dynw_addf(w, "<p class=\"muted\">The last %d events; %zu earlier ones are in "
		   "report.json.</p>\n", MAX_EVENT_ROWS, from);
	dynw_adds(w, "<table>\n<thead><tr><th>time</th><th>kind</th><th>subject</th><th>detail</th>"
	      "</tr></thead>\n<tbody>\n");
	for (i = from; i < r->nevents; i++) {
		const struct store_event *e = &r->events[i];

		dynw_addf(w, "<tr class=\"event\"><td class=\"t\">%s</td><td><code>",
		   when(e->ts, t1, sizeof(t1)));
		ht(w, e->kind);
		dynw_adds(w, "</code></td><td>");
		ht(w, e->subject);
		dynw_adds(w, "</td><td>");
		ht(w, e->detail);
		dynw_adds(w, "</td></tr>\n");
	}
	dynw_adds(w, "</tbody>\n</table>\n</section>\n");
}

static void render_environment(struct dynw *w, const struct report *r)
{
	char d1[32], d2[32];

	dynw_adds(w, "<section id=\"environment\">\n<h2>Environment</h2>\n<div class=\"card\">"
	      "<dl class=\"kv\">\n<dt>platform</dt><dd>");
	ht(w, r->run.platform);
	dynw_adds(w, "</dd>\n<dt>mesh</dt><dd>");
	ht(w, r->run.mesh);
	dynw_addf(w, "</dd>\n<dt>conform version</dt><dd>%s</dd>\n<dt>window size</dt><dd>%s</dd>\n"
	   "<dt>planned duration</dt><dd>%s</dd>\n<dt>monitor</dt><dd>%" PRId64 " batches, %"
	   PRId64 " duplicates, %" PRId64 " rejected</dd>\n</dl></div>\n</section>\n",
	   CONFORM_VERSION, dur_format(r->run.window_ms, d1, sizeof(d1)),
	   r->run.duration_ms > 0 ? dur_format(r->run.duration_ms, d2, sizeof(d2))
				  : "until stopped",
	   r->monitor.batches, r->monitor.duplicates, r->monitor.rejected);
}

int report_render_html(const struct report *r, struct dynbuf *b)
{
	struct dynw w = { b, 0 };
	struct geom g;
	struct cell **cells;
	size_t i;
	int any = 0;

	cells = calloc(r->nchecks ? r->nchecks : 1, sizeof(*cells));
	if (!cells)
		return -1;
	geom_init(&g, r);
	for (i = 0; i < r->nchecks; i++) {
		if (r->checks[i].verdict == V_SKIP)
			continue;
		cells[i] = cells_build(&g, &r->checks[i]);
		if (!cells[i])
			w.err = 1;
	}
	render_head(&w, r);
	render_summary(&w, r);
	render_history(&w, r);
	render_timeline(&w, r, &g, cells);
	dynw_adds(&w, "<section id=\"charts\">\n<h2>Per-window charts</h2>\n");
	for (i = 0; i < r->nchecks && !w.err; i++) {
		if (!cells[i] || !r->checks[i].nwindows)
			continue;
		render_check_charts(&w, &r->checks[i], &g, cells[i]);
		any = 1;
	}
	if (!any)
		dynw_adds(&w, "<p class=\"muted\">No window was evaluated yet.</p>\n");
	dynw_adds(&w, "</section>\n");
	render_incidents(&w, r);
	render_events(&w, r);
	render_environment(&w, r);
	dynw_addf(&w, "<footer>conform %s · report.html is self-contained: the same data as "
	   "report.json, drawn.</footer>\n</main>\n</body>\n</html>\n", CONFORM_VERSION);
	for (i = 0; i < r->nchecks; i++)
		free(cells[i]);
	free(cells);
	return w.err ? -1 : 0;
}
