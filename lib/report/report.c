/*
 * report.c - the conformance report: judged from the windows in the store
 * (so it can be rebuilt after stop, a crash or on a copied run directory)
 * and rendered as report.json (reports/SCHEMA.md), junit.xml and report.md.
 * Renderers write fields in a fixed order so golden files stay stable.
 */
#include "report/report.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "config/runs.h"
#include "evidence/outcome.h"
#include "faults/matrix.h"
#include "mesh/mesh.h"

#define REPORT_MAX (64u << 20)
#define MD_MAX_EVENTS 100

/* ---- building ---- */

static double ev_num(const cJSON *o, const char *key)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(x) && isfinite(x->valuedouble) ? x->valuedouble : NAN;
}

/* The split and retry numbers of a window's evidence (report.h), NAN if absent. */
static void window_evidence(struct report_window *rw, const char *evidence)
{
	const cJSON *a, *x;
	cJSON *j;
	double n = 0, sum = 0;
	int k = 0;

	/* most evidence carries neither: do not parse it */
	if (!strstr(evidence, "\"observed\"") && !strstr(evidence, "\"attempts"))
		return;
	j = cJSON_Parse(evidence);
	if (!cJSON_IsObject(j))
		goto out;
	rw->split_observed = ev_num(j, "observed");
	if (!isnan(rw->split_observed)) {
		/* retry evidence has an "expected" too (a success ratio): split only */
		rw->split_expected = ev_num(j, "expected");
		rw->split_lo = ev_num(j, "lo");
		rw->split_hi = ev_num(j, "hi");
	}
	rw->attempts_limit = ev_num(j, "attempts_limit");
	if (isnan(rw->attempts_limit))
		rw->attempts_limit = ev_num(j, "limit");
	rw->attempts_per_request = ev_num(j, "attempts_per_request");
	a = cJSON_GetObjectItemCaseSensitive(j, "attempts");
	if (isnan(rw->attempts_per_request) && cJSON_IsArray(a)) {
		cJSON_ArrayForEach(x, a) {
			k++;
			if (!cJSON_IsNumber(x) || !(x->valuedouble >= 0))
				goto out;
			n += x->valuedouble;
			sum += x->valuedouble * k;
		}
		if (n > 0)
			rw->attempts_per_request = sum / n;
	}
out:
	cJSON_Delete(j);
}

static void window_summary(struct report_window *rw, const struct store_window_brief *w)
{
	memset(rw, 0, sizeof(*rw));
	rw->idx = w->idx;
	rw->start_s = w->start_s;
	rw->end_s = w->end_s;
	rw->verdict = w->verdict;
	rw->reason = w->reason;
	rw->total = w->total;
	rw->ok = w->ok;
	rw->p50_ms = (double)w->p50_us / 1000.0;
	rw->p99_ms = (double)w->p99_us / 1000.0;
	rw->split_observed = rw->split_expected = rw->split_lo = rw->split_hi = NAN;
	rw->attempts_per_request = rw->attempts_limit = NAN;
	window_evidence(rw, w->evidence);
}

/* A duration for a verdict reason: "0s", "40s", "2m30s". */
static const char *rule_dur(double sec, char *buf, size_t len)
{
	int64_t ms = (int64_t)llround(sec * 1000.0);

	if (ms <= 0) {
		str_copy(buf, len, "0s");
		return buf;
	}
	return dur_format(ms, buf, len);
}

/* An objective as a percentage: "100", "99.5". */
static const char *obj_pct(double objective, char *buf, size_t len)
{
	str_fmt(buf, len, "%.1f", objective * 100.0);
	if (strlen(buf) > 2 && !strcmp(buf + strlen(buf) - 2, ".0"))
		buf[strlen(buf) - 2] = '\0';
	return buf;
}

/* The incidents of a check from the store, each with a few failing requests. */
static int load_incidents(struct store *s, struct report_check *rc)
{
	struct store_incident *inc = NULL;
	size_t n = 0, i;
	int ret = -1;

	if (store_get_incidents(s, rc->desc->id, &inc, &n))
		goto out;
	if (!n) {
		ret = 0;
		goto out;
	}
	rc->incidents = calloc(n, sizeof(*rc->incidents));
	if (!rc->incidents)
		goto out;
	for (i = 0; i < n; i++) {
		struct report_range *x = &rc->incidents[i];
		int k;

		x->start_s = inc[i].start_s;
		x->end_s = inc[i].end_s;
		x->windows = inc[i].windows;
		x->open = inc[i].open;
		str_copy(x->reason, sizeof(x->reason), inc[i].reason);
		k = store_get_samples(s, rc->desc->id, x->start_s * 1000, x->end_s * 1000,
				      x->samples, REPORT_INCIDENT_SAMPLES);
		if (k < 0)
			goto out;
		x->nsamples = (size_t)k;
		rc->nincidents++;
	}
	ret = 0;
out:
	free(inc);
	return ret;
}

/*
 * The run verdict rule. A check passes the run when
 *   (1) windows passed / (passed + failed) >= window_objective (NODATA,
 *       monitor-gap and inconclusive windows are not judged, so they count
 *       on neither side),
 *   (2) no incident (debounced FAILING span) lasted longer than
 *       incident_tolerance (0: any incident fails the check), and
 *   (3) at least one window passed.
 * When (1) or (2) broke it fails, and the reason names every part that
 * broke, then the first failing window's reason. When neither broke but a
 * window was inconclusive (a precondition outside the check's promise was
 * broken: its backend failing, its proxy restarting), the check is
 * INCONCLUSIVE with the first such window's cause: its promise was not
 * proven for the whole run, nor shown broken. Otherwise, with no window
 * passed, it fails on no data.
 */
static void apply_rule(struct report_check *rc, const struct run_config *cfg,
		       const struct store_window *first_fail, const struct store_window *last_pass,
		       const struct store_window *first_inc)
{
	uint64_t judged = rc->win_pass + rc->win_fail;
	char parts[REASON_TEXT_MAX], a[32], b[32], pct[32];
	int obj_ok, tol_ok;
	size_t i;

	rc->window_objective = cfg->window_objective;
	rc->incident_tolerance_s = (double)cfg->incident_tolerance_ms / 1000.0;
	rc->windows_passed_ratio = judged ? (double)rc->win_pass / (double)judged : NAN;
	rc->longest_incident_s = 0;
	for (i = 0; i < rc->nincidents; i++) {
		double d = (double)(rc->incidents[i].end_s - rc->incidents[i].start_s);

		if (d > rc->longest_incident_s)
			rc->longest_incident_s = d;
	}
	/* exact in integers: pass >= objective * judged, with slack for the
	 * objective's own rounding (0.99 is not exactly representable) */
	obj_ok = judged && (double)rc->win_pass >= cfg->window_objective * (double)judged - 1e-9;
	tol_ok = rc->longest_incident_s * 1000.0 <= (double)cfg->incident_tolerance_ms;

	if (first_inc)
		str_copy(rc->cause, sizeof(rc->cause), first_inc->r.reason_text);
	if ((!judged || obj_ok) && tol_ok && rc->win_inconclusive) {
		rc->verdict = V_INCONCLUSIVE;
		rc->reason_id = R_PRECONDITION;
		str_fmt(rc->reason, sizeof(rc->reason), "inconclusive: %" PRIu64 " of %" PRIu64
			" windows not judged: %.400s", rc->win_inconclusive, rc->win_total,
			rc->cause[0] ? rc->cause : "a precondition was broken");
		return;
	}
	if (obj_ok && tol_ok && rc->win_pass) {
		char counts[128];

		rc->verdict = V_PASS;
		rc->reason_id = R_MET;
		if (rc->win_nodata)
			str_fmt(counts, sizeof(counts),
				"%" PRIu64 " of %" PRIu64 " windows passed, %" PRIu64
				" without data", rc->win_pass, rc->win_total, rc->win_nodata);
		else
			str_fmt(counts, sizeof(counts), "%" PRIu64 " of %" PRIu64
				" windows passed", rc->win_pass, rc->win_total);
		/* the last passing window says what was measured ("converged to
		 * 50/50 in 0.6 s", "success 100.0% >= 99.0%"); the counts follow */
		if (last_pass && last_pass->r.reason_text[0])
			str_fmt(rc->reason, sizeof(rc->reason), "%.380s; %s",
				last_pass->r.reason_text, counts);
		else
			str_copy(rc->reason, sizeof(rc->reason), counts);
		return;
	}
	rc->verdict = V_FAIL;
	if (!judged) {
		rc->reason_id = R_NO_DATA;
		if (!rc->win_total)
			str_copy(rc->reason, sizeof(rc->reason), "no data: no window was evaluated");
		else
			str_fmt(rc->reason, sizeof(rc->reason),
				"no data: no requests in any of %" PRIu64 " windows", rc->win_total);
		return;
	}
	rc->reason_id = first_fail ? first_fail->r.reason : R_NO_DATA;
	parts[0] = '\0';
	if (!tol_ok)
		str_fmt(parts, sizeof(parts), "%zu incident%s, longest %s > tolerance %s",
			rc->nincidents, rc->nincidents == 1 ? "" : "s",
			rule_dur(rc->longest_incident_s, a, sizeof(a)),
			rule_dur(rc->incident_tolerance_s, b, sizeof(b)));
	if (!obj_ok) {
		char obj[32];

		str_fmt(parts + strlen(parts), sizeof(parts) - strlen(parts),
			"%s%s%% of windows passed < %s%%", parts[0] ? "; " : "",
			check_fmt_pct(rc->win_pass, judged, pct, sizeof(pct)),
			obj_pct(cfg->window_objective, obj, sizeof(obj)));
	}
	if (!rc->win_pass)
		str_fmt(parts + strlen(parts), sizeof(parts) - strlen(parts), "%sno window passed",
			parts[0] ? "; " : "");
	if (first_fail)
		str_fmt(rc->reason, sizeof(rc->reason), "%.200s; first failing window: %.280s",
			parts, first_fail->r.reason_text);
	else
		str_copy(rc->reason, sizeof(rc->reason), parts);
}

const char *report_rule_text(const struct report_check *c, char *buf, size_t len)
{
	char pct[32], obj[32], a[32], b[32];
	uint64_t judged = c->win_pass + c->win_fail;

	if (c->verdict == V_SKIP) {
		str_copy(buf, len, "");
		return buf;
	}
	str_fmt(buf, len, "windows passed %s%s (objective %s%%), longest incident %s"
		" (tolerance %s)",
		judged ? check_fmt_pct(c->win_pass, judged, pct, sizeof(pct)) : "-",
		judged ? "%" : "", obj_pct(c->window_objective, obj, sizeof(obj)),
		c->nincidents ? rule_dur(c->longest_incident_s, a, sizeof(a)) : "none",
		rule_dur(c->incident_tolerance_s, b, sizeof(b)));
	if (c->win_inconclusive)
		str_fmt(buf + strlen(buf), len - strlen(buf), ", %" PRIu64 " window%s inconclusive",
			c->win_inconclusive, c->win_inconclusive == 1 ? "" : "s");
	return buf;
}

/* What judge_check keeps beside the summaries: the windows the rule quotes. */
struct judge_walk {
	struct report_check *rc;
	size_t cap;
	struct store_window first_fail, last_pass, first_inc, last;
};

static int judge_window(void *ctx, const struct store_window_brief *w)
{
	struct judge_walk *j = ctx;
	struct report_check *rc = j->rc;

	if (rc->nwindows == j->cap) {
		size_t ncap = j->cap ? j->cap * 2 : 64;
		void *na = realloc(rc->windows, ncap * sizeof(*rc->windows));

		if (!na)
			return -1;
		rc->windows = na;
		j->cap = ncap;
	}
	window_summary(&rc->windows[rc->nwindows++], w);
	return 0;
}

/*
 * One check's verdict from its windows: the counts and the windows the rule
 * quotes from the store's running counts (no scan), then the summaries of
 * the charts from a walk over every window (keep 0) or the last keep ones.
 */
static int judge_check(struct store *s, const struct run_config *cfg, struct report_check *rc,
		       size_t keep)
{
	struct judge_walk *j = calloc(1, sizeof(*j));
	struct store_check_state st;
	uint64_t counts[V__COUNT];
	int64_t from = INT64_MIN;
	int ret = -1, have_fail, have_pass, have_inc = 0, have_last;

	if (!j)
		return -1;
	j->rc = rc;
	rc->last_verdict = V_NODATA;
	if (store_get_totals(s, rc->desc->id, &rc->totals) || load_incidents(s, rc) ||
	    store_get_check_state(s, rc->desc->id, &st) < 0)
		goto out;
	rc->state = st.state;
	if (store_window_counts(s, rc->desc->id, counts))
		goto out;
	rc->win_pass = counts[V_PASS];
	rc->win_fail = counts[V_FAIL];
	rc->win_nodata = counts[V_NODATA] + counts[V_SKIP];
	rc->win_inconclusive = counts[V_INCONCLUSIVE];
	if ((have_fail = store_get_window_pick(s, rc->desc->id, STORE_FIRST_FAIL,
					       &j->first_fail)) < 0 ||
	    (have_pass = store_get_window_pick(s, rc->desc->id, STORE_LAST_PASS,
					       &j->last_pass)) < 0 ||
	    (rc->win_inconclusive &&
	     (have_inc = store_get_window_pick(s, rc->desc->id, STORE_FIRST_INCONCLUSIVE,
					       &j->first_inc)) < 0) ||
	    (have_last = store_get_window_pick(s, rc->desc->id, STORE_LAST, &j->last)) < 0)
		goto out;
	if (have_last) {
		rc->last_verdict = j->last.r.verdict;
		str_copy(rc->last_reason, sizeof(rc->last_reason), j->last.r.reason_text);
		if (keep && j->last.idx > INT64_MIN + (int64_t)keep)
			from = j->last.idx - (int64_t)keep + 1;
		if (store_each_window_brief(s, rc->desc->id, from, judge_window, j))
			goto out;
	}
	rc->win_total = rc->win_pass + rc->win_fail + rc->win_nodata + rc->win_inconclusive;
	apply_rule(rc, cfg, have_fail ? &j->first_fail : NULL, have_pass ? &j->last_pass : NULL,
		   have_inc ? &j->first_inc : NULL);
	ret = 0;
out:
	free(j);
	return ret;
}

/*
 * The earlier runs of the run's state directory into r->history and each
 * check's past[]. Best effort: a report renders without them, so a state
 * directory that cannot be listed leaves the history empty.
 */
static void attach_history(struct report *r, const struct run_config *cfg)
{
	struct report_history *h = &r->history;
	struct runs_entry *runs = NULL;
	char state[PATH_MAX], id[RUN_ID_MAX], err[256], path[PATH_MAX];
	size_t n = 0, before = 0, from, i, k;
	struct stat st;

	memset(h, 0, sizeof(*h));
	if (!runs_state_of(cfg->run_dir, state, sizeof(state), id, sizeof(id)) ||
	    runs_list(state, &runs, &n, err, sizeof(err)))
		return;
	/* ids sort by time: the runs before this one, whatever came after it */
	while (before < n && strcmp(runs[before].id, id) < 0)
		before++;
	if (!before)
		goto out;
	from = before > REPORT_HISTORY_RUNS - 1 ? before - (REPORT_HISTORY_RUNS - 1) : 0;
	for (i = from; i < before; i++) {
		str_copy(h->ids[h->nruns], sizeof(h->ids[0]), runs[i].id);
		for (k = 0; k < r->nchecks; k++)
			r->checks[k].past[h->nruns] = runs_check_verdict(&runs[i],
									 r->checks[k].desc->id);
		h->nruns++;
	}
	str_copy(h->ids[h->nruns], sizeof(h->ids[0]), id);
	for (k = 0; k < r->nchecks; k++)
		r->checks[k].past[h->nruns] = r->checks[k].verdict;
	h->nruns++;
	for (i = before; i-- > 0;) {
		char dir[PATH_MAX];

		if (state_run_dir(state, runs[i].id, dir, sizeof(dir)) ||
		    str_fmt(path, sizeof(path), "%s/reports/report.html", dir) || stat(path, &st))
			continue;
		str_copy(h->prev, sizeof(h->prev), runs[i].id);
		h->prev_verdict = runs[i].has_report ? runs[i].verdict : V_NODATA;
		break;
	}
out:
	free(runs);
}

/*
 * A run that ended before its duration is interrupted: its report says so,
 * with the time it reached and the run.stop event's reason. The run ends
 * on the monotonic clock once its duration has passed, so ending a second
 * or more short of it means something stopped it. 0 or -1.
 */
static int report_interrupted(struct store *s, const struct run_config *cfg, struct report *r)
{
	struct store_event *ev = NULL;
	size_t n = 0;
	int64_t dur_ms = r->run.duration_ms > 0 ? r->run.duration_ms : cfg->duration_ms;

	if (!r->final || r->run.started <= 0)
		return 0;
	r->reached_s = r->run.ended > r->run.started ? r->run.ended - r->run.started : 0;
	if (store_get_events_kind(s, "run.stop", &ev, &n))
		return -1;
	if (n)
		str_copy(r->stop_reason, sizeof(r->stop_reason), ev[n - 1].detail);
	free(ev);
	r->interrupted = dur_ms > 0 && r->reached_s * 1000.0 < (double)dur_ms - 1000.0;
	return 0;
}

/* In an interrupted run: skip check rc when the run ended before the time
 * it needs to be judged (split.shift before its shift); 1 when skipped. */
static int not_reached(const struct run_config *cfg, const struct report *r,
		       struct report_check *rc)
{
	char why[160], a[32], b[32];
	int64_t need = check_min_run_ms(rc->desc, cfg, why, sizeof(why));

	if (!rc->desc->min_run_ms || r->reached_s * 1000.0 >= (double)need)
		return 0;
	rc->verdict = V_SKIP;
	rc->reason_id = R_NOT_REACHED;
	str_fmt(rc->reason, sizeof(rc->reason), "not reached: the run was interrupted at %s, "
		"before %s could be judged (it needs %s: %s)", rule_dur(r->reached_s, a, sizeof(a)),
		rc->desc->id, rule_dur((double)need / 1000.0, b, sizeof(b)), why);
	return 1;
}

/* "id 3: ..." -> 3; -1 when the detail does not start so. */
static long long fault_event_id(const char *detail)
{
	int64_t v;
	char num[24];
	size_t n;

	if (strncmp(detail, "id ", 3))
		return -1;
	n = strcspn(detail + 3, ":");
	if (!n || n >= sizeof(num))
		return -1;
	memcpy(num, detail + 3, n);
	num[n] = '\0';
	return parse_i64(num, 0, INT64_MAX, &v) ? -1 : (long long)v;
}

/* Does check c have a failing window overlapping [from, to)? */
static int failed_during(const struct report_check *c, double from, double to)
{
	size_t i;

	for (i = 0; i < c->nwindows; i++)
		if (c->windows[i].verdict == V_FAIL && (double)c->windows[i].start_s < to &&
		    (double)c->windows[i].end_s > from)
			return 1;
	return 0;
}

static void add_name(char *buf, size_t len, const char *id)
{
	size_t at = strlen(buf);

	str_fmt(buf + at, len - at, "%s%s", at ? ", " : "", id);
}

/*
 * Group the failing checks by the faults the events show: a check failing
 * while a fault was on (until one window after it ended, the effect's tail)
 * whose matrix row names it is put under that fault; the rest are listed as
 * unexplained.
 */
static void find_causes(struct report *r)
{
	double win = (double)(r->run.window_ms > 0 ? r->run.window_ms : 10000) / 1000.0;
	size_t i, j, k;
	int explained[64] = { 0 };

	for (i = 0; i < r->nevents && r->ncauses < REPORT_MAX_CAUSES; i++) {
		const struct store_event *e = &r->events[i];
		const struct fault_kind_info *fi = NULL;
		struct report_cause *rc = &r->causes[r->ncauses];
		long long id = fault_event_id(e->detail);
		char kind[32];
		size_t n;

		if (strcmp(e->kind, "fault.start") || id < 0)
			continue;
		n = strcspn(e->detail + strcspn(e->detail, ":") + 2, " ");
		if (n >= sizeof(kind))
			continue;
		memcpy(kind, e->detail + strcspn(e->detail, ":") + 2, n);
		kind[n] = '\0';
		fi = fault_kind_find(kind);
		if (!fi)
			continue;
		memset(rc, 0, sizeof(*rc));
		rc->fault_id = id;
		rc->from = e->ts;
		rc->to = r->run.ended > 0 ? r->run.ended : wall_s();
		for (j = i + 1; j < r->nevents; j++)
			if (!strcmp(r->events[j].kind, "fault.end") &&
			    fault_event_id(r->events[j].detail) == id) {
				rc->to = r->events[j].ts;
				break;
			}
		str_fmt(rc->what, sizeof(rc->what), "%s on %s", fi->name, e->subject);
		for (k = 0; k < r->nchecks && k < ARRAY_SIZE(explained); k++) {
			const struct report_check *c = &r->checks[k];
			const struct fault_row *row;
			int named = 0;

			if (c->verdict != V_FAIL)
				continue;
			/* the run's mesh's matrix: what its adapter's faults break */
			for (size_t m = 0; !named && (row = fault_matrix_next(r->run.mesh, &m));)
				named = row->kind == fi->kind && !strcmp(row->target, e->subject) &&
					(fault_list_has(row->fails, c->desc->id) ||
					 fault_list_has(row->may, c->desc->id));
			if (!named || !failed_during(c, rc->from, rc->to + win))
				continue;
			add_name(rc->checks, sizeof(rc->checks), c->desc->id);
			explained[k] = 1;
		}
		if (rc->checks[0])
			r->ncauses++;
	}
	/*
	 * What the mesh refused of the run's configuration (a mesh.refused
	 * event, subject the checks it serves; until a mesh.accepted of the
	 * same subject, else the run's end): a check of those failing meanwhile
	 * rests on configuration the mesh did not take, not on a broken
	 * promise alone, and is put under it.
	 */
	for (i = 0; i < r->nevents && r->ncauses < REPORT_MAX_CAUSES; i++) {
		const struct store_event *e = &r->events[i];
		struct report_cause *rc = &r->causes[r->ncauses];

		if (strcmp(e->kind, "mesh.refused"))
			continue;
		memset(rc, 0, sizeof(*rc));
		rc->from = e->ts;
		rc->to = r->run.ended > 0 ? r->run.ended : wall_s();
		for (j = i + 1; j < r->nevents; j++)
			if (!strcmp(r->events[j].kind, "mesh.accepted") &&
			    !strcmp(r->events[j].subject, e->subject)) {
				rc->to = r->events[j].ts;
				break;
			}
		str_copy(rc->what, sizeof(rc->what), e->detail);
		for (k = 0; k < r->nchecks && k < ARRAY_SIZE(explained); k++) {
			const struct report_check *c = &r->checks[k];

			if (c->verdict != V_FAIL || explained[k] ||
			    !fault_list_has(e->subject, c->desc->id) ||
			    !failed_during(c, rc->from, rc->to + win))
				continue;
			add_name(rc->checks, sizeof(rc->checks), c->desc->id);
			explained[k] = 1;
		}
		if (rc->checks[0])
			r->ncauses++;
	}
	for (k = 0; k < r->nchecks && k < ARRAY_SIZE(explained); k++)
		if (r->checks[k].verdict == V_FAIL && !explained[k])
			add_name(r->unexplained, sizeof(r->unexplained), r->checks[k].desc->id);
}

int report_build(struct store *s, const struct run_config *cfg, struct report **out)
{
	if (report_build_recent(s, cfg, 0, out))
		return -1;
	attach_history(*out, cfg);
	return 0;
}

int report_build_recent(struct store *s, const struct run_config *cfg, size_t keep,
			struct report **out)
{
	const struct check_desc *const *all;
	struct report *r;
	size_t n, i;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -1;
	if (store_get_run(s, &r->run)) {
		/* no run row yet: describe the run from its config */
		memset(&r->run, 0, sizeof(r->run));
		str_copy(r->run.id, sizeof(r->run.id), cfg->id);
		str_copy(r->run.platform, sizeof(r->run.platform), cfg->platform);
		str_copy(r->run.mesh, sizeof(r->run.mesh), cfg->mesh);
		r->run.started = cfg->started;
		r->run.window_ms = cfg->window_ms;
		r->run.duration_ms = cfg->duration_ms;
	}
	r->final = r->run.ended > 0;
	r->strict = cfg->strict;
	if (report_interrupted(s, cfg, r))
		goto fail;
	all = catalog_all(&n);
	r->checks = calloc(n ? n : 1, sizeof(*r->checks));
	if (!r->checks)
		goto fail;
	r->nchecks = n;
	r->verdict = V_PASS;
	for (i = 0; i < n; i++) {
		struct report_check *rc = &r->checks[i];

		rc->desc = all[i];
		hist_init(&rc->totals.h);
		if (!run_config_has_check(cfg, all[i]->id)) {
			rc->verdict = V_SKIP;
			rc->reason_id = R_MET;
			str_copy(rc->reason, sizeof(rc->reason), "not selected for this run");
			continue;
		}
		if (all[i]->not_applicable &&
		    !(all[i]->needs_mesh && mesh_is_none(cfg->mesh))) {
			const char *why = all[i]->not_applicable(cfg);

			if (why) {
				rc->verdict = V_SKIP;
				rc->reason_id = R_NO_DATA;
				str_copy(rc->reason, sizeof(rc->reason), why);
				continue;
			}
		}
		if (r->interrupted && not_reached(cfg, r, rc))
			continue;
		if (judge_check(s, cfg, rc, keep))
			goto fail;
	}
	for (i = 0; i < n; i++) {
		switch (r->checks[i].verdict) {
		case V_PASS: r->npass++; break;
		case V_SKIP: r->nskip++; break;
		case V_INCONCLUSIVE: r->ninconclusive++; break;
		default: r->nfail++; break;
		}
	}
	if (r->nfail || (r->strict && r->ninconclusive))
		r->verdict = V_FAIL;
	if (store_get_events(s, &r->events, &r->nevents))
		goto fail;
	find_causes(r);
	r->monitor.batches = store_counter_get(s, "batches.accepted");
	r->monitor.duplicates = store_counter_get(s, "batches.duplicate");
	r->monitor.rejected = store_counter_get(s, "batches.rejected");
	*out = r;
	return 0;
fail:
	report_free(r);
	return -1;
}

void report_free(struct report *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nchecks; i++) {
		free(r->checks[i].incidents);
		free(r->checks[i].windows);
	}
	free(r->checks);
	free(r->events);
	free(r);
}

static const char *hms_of(double t, char *buf, size_t len)
{
	char x[40];

	time_rfc3339(t, x, sizeof(x));
	str_fmt(buf, len, "%.8s", strlen(x) >= 19 ? x + 11 : x);
	return buf;
}

const char *report_cause_text(const struct report_cause *c, const char *arrow, char *buf,
			      size_t len)
{
	char a[16], b[16];

	if (!c->fault_id)   /* not a fault: what the mesh refused (mesh.refused) */
		str_fmt(buf, len, "%s (%s to %s) %s %s", c->what, hms_of(c->from, a, sizeof(a)),
			hms_of(c->to, b, sizeof(b)), arrow, c->checks);
	else if (c->to > c->from + 0.5)
		str_fmt(buf, len, "%s (fault #%lld, %s to %s) %s %s", c->what, c->fault_id,
			hms_of(c->from, a, sizeof(a)), hms_of(c->to, b, sizeof(b)), arrow,
			c->checks);
	else
		str_fmt(buf, len, "%s (fault #%lld, at %s) %s %s", c->what, c->fault_id,
			hms_of(c->from, a, sizeof(a)), arrow, c->checks);
	return buf;
}

int report_exit_code(const struct report *r)
{
	return r->verdict == V_PASS ? 0 : 1;
}

/* ---- shared formatting ---- */

/* A number with up to 3 decimals, trailing zeros trimmed: "60", "1.5". */
static const char *fmt_num(double v, char *buf, size_t len)
{
	char *p;

	if (!isfinite(v))
		v = 0;
	snprintf(buf, len, "%.3f", v);
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

static double run_duration_s(const struct report *r)
{
	double end = r->run.ended > 0 ? r->run.ended : wall_s();

	if (r->run.started <= 0 || end < r->run.started)
		return 0;
	return end - r->run.started;
}

static double us_to_ms(uint64_t us)
{
	return (double)us / 1000.0;
}

/* A sample's intended send time with milliseconds: "2025-11-22T04:11:12.345Z". */
static const char *sample_time(int64_t ts_ms, char *buf, size_t len)
{
	char t[40];
	size_t n;

	time_rfc3339((double)(ts_ms / 1000), t, sizeof(t));
	n = strlen(t);
	if (n && t[n - 1] == 'Z')
		t[n - 1] = '\0';
	str_fmt(buf, len, "%s.%03dZ", t, (int)(ts_ms % 1000 < 0 ? 0 : ts_ms % 1000));
	return buf;
}

/* One sample as text: "<request id> <outcome> <code> <latency> ms identity=<id> backend=<b>" */
static const char *sample_line(const struct store_sample *sm, char *buf, size_t len)
{
	char lat[32];

	str_fmt(buf, len, "%s %s %d %s ms identity=%s backend=%s", sm->request_id,
		outcome_info(sm->outcome)->name, sm->code, fmt_num(us_to_ms(sm->latency_us),
		lat, sizeof(lat)), sm->identity[0] ? sm->identity : "-",
		sm->backend[0] ? sm->backend : "-");
	return buf;
}

/* ---- report.json: a small pretty-printing writer with fixed key order ---- */

#define JW_DEPTH 16

struct jw {
	struct dynbuf *b;
	int depth;
	int count[JW_DEPTH];
	int err;
};

static void jw_raw(struct jw *w, const char *s)
{
	if (!w->err && dynbuf_adds(w->b, s))
		w->err = 1;
}

static void jw_indent(struct jw *w)
{
	int i;

	jw_raw(w, "\n");
	for (i = 0; i < w->depth; i++)
		jw_raw(w, "  ");
}

static void jw_key(struct jw *w, const char *key)
{
	if (w->depth > 0) {
		if (w->count[w->depth]++)
			jw_raw(w, ",");
		jw_indent(w);
	}
	if (key) {
		jw_raw(w, "\"");
		if (!w->err && dynbuf_add_json_str(w->b, key))
			w->err = 1;
		jw_raw(w, "\": ");
	}
}

static void jw_open(struct jw *w, const char *key, const char *brace)
{
	jw_key(w, key);
	jw_raw(w, brace);
	if (w->depth + 1 >= JW_DEPTH) {
		w->err = 1;
		return;
	}
	w->count[++w->depth] = 0;
}

static void jw_close(struct jw *w, const char *brace)
{
	int had = w->count[w->depth];

	if (w->depth > 0)
		w->depth--;
	if (had)
		jw_indent(w);
	jw_raw(w, brace);
}

static void jw_str(struct jw *w, const char *key, const char *v)
{
	jw_key(w, key);
	jw_raw(w, "\"");
	if (!w->err && dynbuf_add_json_str(w->b, v))
		w->err = 1;
	jw_raw(w, "\"");
}

static void jw_num(struct jw *w, const char *key, double v)
{
	char buf[64];

	jw_key(w, key);
	jw_raw(w, fmt_num(v, buf, sizeof(buf)));
}

static void jw_u64(struct jw *w, const char *key, uint64_t v)
{
	char buf[32];

	jw_key(w, key);
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	jw_raw(w, buf);
}

static void jw_lit(struct jw *w, const char *key, const char *lit)
{
	jw_key(w, key);
	jw_raw(w, lit);
}

static void jw_time(struct jw *w, const char *key, const char *key_unix, double t)
{
	char buf[40];

	if (t <= 0) {
		jw_lit(w, key, "null");
		jw_lit(w, key_unix, "null");
		return;
	}
	jw_str(w, key, time_rfc3339(t, buf, sizeof(buf)));
	jw_num(w, key_unix, t);
}

static void json_check(struct jw *w, const struct report_check *c)
{
	const struct hist *h = &c->totals.h;
	size_t i;
	unsigned o;

	jw_open(w, NULL, "{");
	jw_str(w, "id", c->desc->id);
	jw_str(w, "title", c->desc->title);
	jw_str(w, "promise", c->desc->promise ? c->desc->promise : "");
	jw_str(w, "objective", c->desc->objective ? c->desc->objective : "");
	jw_str(w, "verdict", verdict_name(c->verdict));
	jw_str(w, "reason", c->reason);
	if (c->verdict == V_SKIP && c->reason_id != R_NOT_REACHED)
		jw_lit(w, "reason_code", "null");
	else
		jw_str(w, "reason_code", reason_info(c->reason_id)->name);
	if (c->cause[0])
		jw_str(w, "cause", c->cause);
	else
		jw_lit(w, "cause", "null");

	jw_open(w, "windows", "{");
	jw_u64(w, "total", c->win_total);
	jw_u64(w, "pass", c->win_pass);
	jw_u64(w, "fail", c->win_fail);
	jw_u64(w, "nodata", c->win_nodata);
	jw_u64(w, "inconclusive", c->win_inconclusive);
	jw_close(w, "}");

	jw_open(w, "requests", "{");
	jw_u64(w, "total", c->totals.total);
	jw_u64(w, "ok", c->totals.ok);
	jw_u64(w, "failed", c->totals.failed);
	jw_open(w, "by_outcome", "{");
	for (o = 0; o < OUT__COUNT && o < ARRAY_SIZE(c->totals.by_outcome); o++)
		if (c->totals.by_outcome[o])
			jw_u64(w, outcome_info(o)->name, c->totals.by_outcome[o]);
	jw_close(w, "}");
	jw_close(w, "}");

	jw_open(w, "latency_ms", "{");
	jw_num(w, "p50", us_to_ms(hist_quantile(h, 0.50)));
	jw_num(w, "p90", us_to_ms(hist_quantile(h, 0.90)));
	jw_num(w, "p99", us_to_ms(hist_quantile(h, 0.99)));
	jw_num(w, "max", us_to_ms(h->max_us));
	jw_num(w, "mean", h->count ? us_to_ms(h->sum_us) / (double)h->count : 0);
	jw_close(w, "}");

	if (c->verdict == V_SKIP) {
		jw_lit(w, "verdict_rule", "null");
	} else {
		jw_open(w, "verdict_rule", "{");
		jw_num(w, "window_objective", c->window_objective);
		if (isnan(c->windows_passed_ratio))
			jw_lit(w, "windows_passed_ratio", "null");
		else
			jw_num(w, "windows_passed_ratio", c->windows_passed_ratio);
		jw_num(w, "incident_tolerance_s", c->incident_tolerance_s);
		jw_num(w, "longest_incident_s", c->longest_incident_s);
		jw_close(w, "}");
	}

	jw_open(w, "incidents", "[");
	for (i = 0; i < c->nincidents; i++) {
		const struct report_range *x = &c->incidents[i];
		size_t k;

		jw_open(w, NULL, "{");
		jw_time(w, "start", "start_unix", (double)x->start_s);
		jw_time(w, "end", "end_unix", (double)x->end_s);
		jw_num(w, "duration_s", (double)(x->end_s - x->start_s));
		jw_u64(w, "windows", (uint64_t)x->windows);
		jw_lit(w, "open", x->open ? "true" : "false");
		jw_str(w, "reason", x->reason);
		jw_open(w, "samples", "[");
		for (k = 0; k < x->nsamples; k++) {
			const struct store_sample *sm = &x->samples[k];
			char ts[40];

			jw_open(w, NULL, "{");
			jw_str(w, "request_id", sm->request_id);
			jw_str(w, "outcome", outcome_info(sm->outcome)->name);
			jw_num(w, "code", sm->code);
			jw_num(w, "latency_ms", us_to_ms(sm->latency_us));
			jw_str(w, "identity", sm->identity);
			jw_str(w, "backend", sm->backend);
			jw_str(w, "ts", sample_time(sm->ts_ms, ts, sizeof(ts)));
			jw_close(w, "}");
		}
		jw_close(w, "]");
		jw_close(w, "}");
	}
	jw_close(w, "]");
	jw_close(w, "}");
}

int report_render_json(const struct report *r, struct dynbuf *b)
{
	struct jw w;
	size_t i;

	memset(&w, 0, sizeof(w));
	w.b = b;
	jw_open(&w, NULL, "{");
	jw_str(&w, "schema", "conform.report/v1");
	jw_open(&w, "run", "{");
	jw_str(&w, "id", r->run.id);
	jw_str(&w, "platform", r->run.platform);
	jw_str(&w, "mesh", r->run.mesh);
	jw_time(&w, "started", "started_unix", r->run.started);
	jw_time(&w, "ended", "ended_unix", r->run.ended);
	jw_num(&w, "duration_s", run_duration_s(r));
	jw_num(&w, "window_s", (double)r->run.window_ms / 1000.0);
	jw_lit(&w, "final", r->final ? "true" : "false");
	jw_lit(&w, "interrupted", r->interrupted ? "true" : "false");
	if (r->final)
		jw_num(&w, "reached_s", r->reached_s);
	else
		jw_lit(&w, "reached_s", "null");
	jw_str(&w, "stop_reason", r->stop_reason);
	jw_lit(&w, "strict", r->strict ? "true" : "false");
	jw_close(&w, "}");
	jw_str(&w, "verdict", r->verdict == V_PASS ? "pass" : "fail");
	jw_open(&w, "summary", "{");
	jw_u64(&w, "checks", r->nchecks);
	jw_u64(&w, "pass", r->npass);
	jw_u64(&w, "fail", r->nfail);
	jw_u64(&w, "inconclusive", r->ninconclusive);
	jw_u64(&w, "skip", r->nskip);
	jw_close(&w, "}");
	jw_open(&w, "causes", "[");
	for (i = 0; i < r->ncauses; i++) {
		const struct report_cause *c = &r->causes[i];
		char text[512];

		jw_open(&w, NULL, "{");
		jw_str(&w, "cause", c->what);
		jw_num(&w, "fault_id", (double)c->fault_id);
		jw_time(&w, "from", "from_unix", c->from);
		jw_time(&w, "to", "to_unix", c->to);
		jw_str(&w, "checks", c->checks);
		jw_str(&w, "text", report_cause_text(c, "->", text, sizeof(text)));
		jw_close(&w, "}");
	}
	jw_close(&w, "]");
	jw_str(&w, "unexplained", r->unexplained);
	jw_open(&w, "checks", "[");
	for (i = 0; i < r->nchecks; i++)
		json_check(&w, &r->checks[i]);
	jw_close(&w, "]");
	jw_open(&w, "events", "[");
	for (i = 0; i < r->nevents; i++) {
		const struct store_event *e = &r->events[i];

		jw_open(&w, NULL, "{");
		jw_time(&w, "ts", "ts_unix", e->ts);
		jw_str(&w, "kind", e->kind);
		jw_str(&w, "subject", e->subject);
		jw_str(&w, "detail", e->detail);
		jw_close(&w, "}");
	}
	jw_close(&w, "]");
	jw_open(&w, "monitor", "{");
	jw_u64(&w, "batches", (uint64_t)(r->monitor.batches > 0 ? r->monitor.batches : 0));
	jw_u64(&w, "duplicates", (uint64_t)(r->monitor.duplicates > 0 ? r->monitor.duplicates : 0));
	jw_u64(&w, "rejected", (uint64_t)(r->monitor.rejected > 0 ? r->monitor.rejected : 0));
	jw_close(&w, "}");
	jw_close(&w, "}");
	jw_raw(&w, "\n");
	return w.err ? -1 : 0;
}

/* ---- junit.xml ---- */

static int xml_attr(struct dynbuf *b, const char *name, const char *v)
{
	return dynbuf_addf(b, " %s=\"", name) || dynbuf_add_xml_str(b, v) ||
	       dynbuf_adds(b, "\"");
}

static const char *fmt_range(int64_t start_s, int64_t end_s, char *buf, size_t len)
{
	char a[40], z[40];

	str_fmt(buf, len, "%s .. %s", time_rfc3339((double)start_s, a, sizeof(a)),
		time_rfc3339((double)end_s, z, sizeof(z)));
	return buf;
}

int report_render_junit(const struct report *r, struct dynbuf *b)
{
	char num[64], ts[40], classname[64], range[96], rule[256];
	uint64_t nfail = 0, nskip = 0;
	size_t i, k;
	double dur = run_duration_s(r);
	int rc = 0;

	/* an inconclusive check is skipped with its cause, unless strict makes
	 * it count as failing */
	for (i = 0; i < r->nchecks; i++) {
		enum verdict v = r->checks[i].verdict;

		if (v == V_SKIP || (v == V_INCONCLUSIVE && !r->strict))
			nskip++;
		else if (v != V_PASS)
			nfail++;
	}
	/* JUnit timestamps carry no zone designator */
	time_rfc3339(r->run.started, ts, sizeof(ts));
	if (strlen(ts) && ts[strlen(ts) - 1] == 'Z')
		ts[strlen(ts) - 1] = '\0';
	str_fmt(classname, sizeof(classname), "conform.%s", r->run.mesh[0] ? r->run.mesh : "none");
	fmt_num(dur, num, sizeof(num));

	rc |= dynbuf_adds(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	rc |= dynbuf_addf(b, "<testsuite name=\"conform\" tests=\"%zu\" failures=\"%" PRIu64
			  "\" errors=\"0\" skipped=\"%" PRIu64 "\" time=\"%s\"",
			  r->nchecks, nfail, nskip, num);
	rc |= xml_attr(b, "timestamp", ts);
	rc |= dynbuf_adds(b, ">\n  <properties>\n");
	rc |= dynbuf_adds(b, "    <property name=\"run.id\"");
	rc |= xml_attr(b, "value", r->run.id);
	rc |= dynbuf_adds(b, "/>\n    <property name=\"platform\"");
	rc |= xml_attr(b, "value", r->run.platform);
	rc |= dynbuf_adds(b, "/>\n    <property name=\"mesh\"");
	rc |= xml_attr(b, "value", r->run.mesh);
	rc |= dynbuf_addf(b, "/>\n    <property name=\"final\" value=\"%s\"/>\n",
			  r->final ? "true" : "false");
	if (r->interrupted)
		rc |= dynbuf_addf(b, "    <property name=\"interrupted\" value=\"%s\"/>\n",
				  fmt_num(r->reached_s, ts, sizeof(ts)));
	rc |= dynbuf_adds(b, "  </properties>\n");
	for (i = 0; i < r->nchecks && !rc; i++) {
		const struct report_check *c = &r->checks[i];

		rc |= dynbuf_adds(b, "  <testcase");
		rc |= xml_attr(b, "classname", classname);
		rc |= xml_attr(b, "name", c->desc->id);
		rc |= dynbuf_addf(b, " time=\"%s\"", c->verdict == V_SKIP ? "0" : num);
		if (c->verdict == V_PASS) {
			rc |= dynbuf_adds(b, "/>\n");
			continue;
		}
		rc |= dynbuf_adds(b, ">\n");
		if (c->verdict == V_SKIP || (c->verdict == V_INCONCLUSIVE && !r->strict)) {
			rc |= dynbuf_adds(b, "    <skipped");
			rc |= xml_attr(b, "message", c->reason);
			rc |= dynbuf_adds(b, "/>\n  </testcase>\n");
			continue;
		}
		rc |= dynbuf_adds(b, "    <failure");
		rc |= xml_attr(b, "message", c->reason);
		rc |= xml_attr(b, "type", reason_info(c->reason_id)->name);
		rc |= dynbuf_adds(b, ">");
		rc |= dynbuf_add_xml_str(b, c->desc->title);
		rc |= dynbuf_adds(b, ": ");
		rc |= dynbuf_add_xml_str(b, c->reason);
		rc |= dynbuf_adds(b, "\nrule: ");
		rc |= dynbuf_add_xml_str(b, report_rule_text(c, rule, sizeof(rule)));
		rc |= dynbuf_adds(b, "\n");
		if (c->nincidents)
			rc |= dynbuf_adds(b, "incidents:\n");
		for (k = 0; k < c->nincidents; k++) {
			const struct report_range *x = &c->incidents[k];
			char line[512];
			size_t j;

			rc |= dynbuf_addf(b, "  %s (%" PRId64 " failing window%s%s): ",
					  fmt_range(x->start_s, x->end_s, range, sizeof(range)),
					  x->windows, x->windows == 1 ? "" : "s",
					  x->open ? ", open" : "");
			rc |= dynbuf_add_xml_str(b, x->reason);
			rc |= dynbuf_adds(b, "\n");
			for (j = 0; j < x->nsamples; j++) {
				rc |= dynbuf_adds(b, "    request ");
				rc |= dynbuf_add_xml_str(b, sample_line(&x->samples[j], line,
									sizeof(line)));
				rc |= dynbuf_adds(b, "\n");
			}
		}
		rc |= dynbuf_adds(b, "</failure>\n  </testcase>\n");
	}
	rc |= dynbuf_adds(b, "</testsuite>\n");
	return rc ? -1 : 0;
}

/* ---- report.md ---- */

/* Text for a Markdown table cell or paragraph: no pipes, no HTML, no line breaks. */
static int md_text(struct dynbuf *b, const char *s)
{
	int rc = 0;

	for (; s && *s && !rc; s++) {
		switch (*s) {
		case '|': rc = dynbuf_adds(b, "\\|"); break;
		case '\\': rc = dynbuf_adds(b, "\\\\"); break;
		case '*': rc = dynbuf_adds(b, "\\*"); break;
		case '_': rc = dynbuf_adds(b, "\\_"); break;
		case '`': rc = dynbuf_adds(b, "\\`"); break;
		case '<': rc = dynbuf_adds(b, "&lt;"); break;
		case '>': rc = dynbuf_adds(b, "&gt;"); break;
		case '&': rc = dynbuf_adds(b, "&amp;"); break;
		case '\n': case '\r': case '\t': rc = dynbuf_adds(b, " "); break;
		default:
			rc = ((unsigned char)*s < 0x20) ? 0 : dynbuf_add(b, s, 1);
		}
	}
	return rc;
}

static const char *md_symbol(enum verdict v)
{
	switch (v) {
	case V_PASS: return "✅ pass";
	case V_FAIL: return "❌ fail";
	case V_SKIP: return "⏭️ skip";
	case V_INCONCLUSIVE: return "❓ inconclusive";
	default: return "❔ nodata";
	}
}

static const char *md_time(double t, char *buf, size_t len)
{
	if (t <= 0) {
		str_copy(buf, len, "-");
		return buf;
	}
	return time_rfc3339(t, buf, len);
}

int report_render_md(const struct report *r, struct dynbuf *b)
{
	char t1[40], t2[40], dur[32], num[64], rule[256];
	size_t i, k, nfail = 0;
	int rc = 0;

	rc |= dynbuf_addf(b, "## conform: %s\n\n", r->verdict == V_PASS ?
			  "✅ conformant" : "❌ not conformant");
	rc |= dynbuf_adds(b, "Run ");
	rc |= md_text(b, r->run.id);
	rc |= dynbuf_adds(b, " · platform ");
	rc |= md_text(b, r->run.platform);
	rc |= dynbuf_adds(b, " · mesh ");
	rc |= md_text(b, r->run.mesh);
	rc |= dynbuf_addf(b, " · %s → %s (%s)%s\n\n", md_time(r->run.started, t1, sizeof(t1)),
			  r->final ? md_time(r->run.ended, t2, sizeof(t2)) : "now",
			  dur_format((int64_t)(run_duration_s(r) * 1000.0), dur, sizeof(dur)),
			  r->final ? "" : " · provisional, the run is still going");
	if (r->interrupted) {
		rc |= dynbuf_addf(b, "**Interrupted** at %s of %s (",
				  dur_format((int64_t)(r->reached_s * 1000.0), dur, sizeof(dur)),
				  dur_format(r->run.duration_ms, num, sizeof(num)));
		rc |= md_text(b, r->stop_reason[0] ? r->stop_reason : "stopped");
		rc |= dynbuf_adds(b, "): verdicts cover what was observed until then.\n\n");
	}
	if (r->ncauses) {
		rc |= dynbuf_addf(b, "%zu cause%s:\n\n", r->ncauses, r->ncauses == 1 ? "" : "s");
		for (i = 0; i < r->ncauses; i++) {
			char text[512];

			rc |= dynbuf_adds(b, "- ");
			rc |= md_text(b, report_cause_text(&r->causes[i], "→", text, sizeof(text)));
			rc |= dynbuf_adds(b, "\n");
		}
		if (r->unexplained[0]) {
			rc |= dynbuf_adds(b, "- no cause found for: ");
			rc |= md_text(b, r->unexplained);
			rc |= dynbuf_adds(b, "\n");
		}
		rc |= dynbuf_adds(b, "\n");
	}
	if (r->ninconclusive)
		rc |= dynbuf_addf(b, "%zu check%s inconclusive (%s).\n\n", r->ninconclusive,
				  r->ninconclusive == 1 ? "" : "s", r->strict ?
				  "--strict: they fail the run" : "they do not fail the run; "
				  "--strict makes them");

	rc |= dynbuf_adds(b, "| check | verdict | windows pass/fail/nodata/inconclusive | requests ok/total | p99 |"
			     " reason and verdict rule |\n|---|---|---|---|---|---|\n");
	for (i = 0; i < r->nchecks; i++) {
		const struct report_check *c = &r->checks[i];

		rc |= dynbuf_addf(b, "| %s — ", c->desc->id);
		rc |= md_text(b, c->desc->title);
		rc |= dynbuf_addf(b, " | %s | ", md_symbol(c->verdict));
		if (c->verdict == V_SKIP) {
			rc |= dynbuf_adds(b, "- | - | - | - |\n");
			continue;
		}
		if (c->verdict == V_FAIL)
			nfail++;
		rc |= dynbuf_addf(b, "%" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64 " | ",
				  c->win_pass, c->win_fail, c->win_nodata, c->win_inconclusive);
		/* checks judged on probes, certificates or events have no requests
		 * of their own: a dash, not "0/0" and "0 ms" */
		if (c->totals.total)
			rc |= dynbuf_addf(b, "%" PRIu64 "/%" PRIu64 " | %s ms | ", c->totals.ok,
					  c->totals.total,
					  fmt_num(us_to_ms(hist_quantile(&c->totals.h, 0.99)),
						  num, sizeof(num)));
		else
			rc |= dynbuf_adds(b, "- | - | ");
		rc |= md_text(b, c->reason);
		rc |= dynbuf_adds(b, "<br>");
		rc |= md_text(b, report_rule_text(c, rule, sizeof(rule)));
		rc |= dynbuf_adds(b, " |\n");
	}

	if (nfail) {
		rc |= dynbuf_adds(b, "\n### Failures\n");
		for (i = 0; i < r->nchecks; i++) {
			const struct report_check *c = &r->checks[i];

			if (c->verdict != V_FAIL)
				continue;
			rc |= dynbuf_addf(b, "\n**%s** (", c->desc->id);
			rc |= md_text(b, c->desc->title);
			rc |= dynbuf_adds(b, "): ");
			rc |= md_text(b, c->reason);
			rc |= dynbuf_adds(b, "\n");
			if (!c->nincidents)
				continue;
			rc |= dynbuf_adds(b, "\n| incident from | to | failing windows | reason |"
					     " sample failing requests |\n|---|---|---|---|---|\n");
			for (k = 0; k < c->nincidents; k++) {
				const struct report_range *x = &c->incidents[k];
				char line[512];
				size_t j;

				rc |= dynbuf_addf(b, "| %s | %s%s | %" PRId64 " | ",
						  md_time((double)x->start_s, t1, sizeof(t1)),
						  md_time((double)x->end_s, t2, sizeof(t2)),
						  x->open ? " (open)" : "", x->windows);
				rc |= md_text(b, x->reason);
				rc |= dynbuf_adds(b, " | ");
				for (j = 0; j < x->nsamples; j++) {
					if (j)
						rc |= dynbuf_adds(b, "; ");
					rc |= md_text(b, sample_line(&x->samples[j], line,
								     sizeof(line)));
				}
				if (!x->nsamples)
					rc |= dynbuf_adds(b, "-");
				rc |= dynbuf_adds(b, " |\n");
			}
		}
	}

	if (r->ninconclusive) {
		rc |= dynbuf_adds(b, "\n### Inconclusive\n\n");
		for (i = 0; i < r->nchecks; i++) {
			const struct report_check *c = &r->checks[i];

			if (c->verdict != V_INCONCLUSIVE)
				continue;
			rc |= dynbuf_addf(b, "- **%s**: ", c->desc->id);
			rc |= md_text(b, c->cause[0] ? c->cause : c->reason);
			rc |= dynbuf_adds(b, "\n");
		}
	}

	if (r->nevents) {
		size_t from = r->nevents > MD_MAX_EVENTS ? r->nevents - MD_MAX_EVENTS : 0;

		rc |= dynbuf_adds(b, "\n### Events\n\n");
		if (from)
			rc |= dynbuf_addf(b, "(%zu earlier events in report.json)\n\n", from);
		rc |= dynbuf_adds(b, "| time | kind | subject | detail |\n|---|---|---|---|\n");
		for (i = from; i < r->nevents; i++) {
			const struct store_event *e = &r->events[i];

			rc |= dynbuf_addf(b, "| %s | ", md_time(e->ts, t1, sizeof(t1)));
			rc |= md_text(b, e->kind);
			rc |= dynbuf_adds(b, " | ");
			rc |= md_text(b, e->subject);
			rc |= dynbuf_adds(b, " | ");
			rc |= md_text(b, e->detail);
			rc |= dynbuf_adds(b, " |\n");
		}
	}
	rc |= dynbuf_addf(b, "\nMonitor: %" PRId64 " batches, %" PRId64 " duplicates, %" PRId64
			  " rejected.\n", r->monitor.batches, r->monitor.duplicates,
			  r->monitor.rejected);
	return rc ? -1 : 0;
}

/* The one table of report formats: `--format`, the API's ?format=, the files
 * a finished run writes, their content types and help lines all read it. */
const struct report_format report_formats[] = {
	{ "json", "report.json", "application/json", "the whole report, schema in reports/SCHEMA.md",
	  report_render_json },
	{ "junit", "junit.xml", "application/xml", "JUnit XML, one test case per check (CI)",
	  report_render_junit },
	{ "md", "report.md", "text/markdown", "Markdown summary (CI step summaries, terminals)",
	  report_render_md },
	{ "html", "report.html", "text/html; charset=utf-8",
	  "one self-contained page with the window strips and incidents", report_render_html },
};
const size_t report_nformats = sizeof(report_formats) / sizeof(report_formats[0]);

const struct report_format *report_format_find(const char *name)
{
	size_t i;

	for (i = 0; name && i < report_nformats; i++)
		if (!strcmp(name, report_formats[i].name))
			return &report_formats[i];
	return NULL;
}

char *report_format_names(char *out, size_t len, const char *sep, const char *last)
{
	const char *names[16];
	size_t i;

	for (i = 0; i < report_nformats && i < 16; i++)
		names[i] = report_formats[i].name;
	return str_join(out, len, names, i, sep, last, 0);
}

int report_render(const struct report *r, const char *format, struct dynbuf *b)
{
	const struct report_format *f = report_format_find(format);

	return f ? f->render(r, b) : -1;
}

int report_write_all(const struct report *r, const char *dir)
{
	struct dynbuf b = DYNBUF_INIT(REPORT_MAX);
	char path[4096];
	size_t i;
	int rc = -1;

	if (mkdir_p(dir, 0700))
		goto out;
	for (i = 0; i < report_nformats; i++) {
		dynbuf_reset(&b);
		if (report_formats[i].render(r, &b))
			goto out;
		if (str_fmt(path, sizeof(path), "%s/%s", dir, report_formats[i].file)) {
			errno = ENAMETOOLONG;
			goto out;
		}
		if (file_write_atomic(path, b.buf ? b.buf : "", b.len, 0644))
			goto out;
	}
	rc = 0;
out:
	dynbuf_release(&b);
	return rc;
}
