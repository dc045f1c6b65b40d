/*
 * check_split_shift.c - split.shift: a rollout step is only real when the
 * traffic follows it, so the scheduled weight change must show in the
 * replies within a bounded time.
 *
 * Promise:   a change of the split weights takes effect within the allowed
 *            convergence time.
 * Proof:     conformd applies the shift (shift_v1/shift_v2) at shift_at_ms
 *            and records a "split.shift" event with the time it was applied,
 *            T. The split route's replies name their backend (rows of
 *            split.weights and split.shift). The convergence point C is the
 *            first whole second after T from which the traffic up to the
 *            horizon (deadline + one window) holds the new weights: its v2
 *            count inside binom_interval(n, new share, STATS_ALPHA) with n at
 *            least the smallest n at which the old split would fall outside
 *            that interval on average (90/10 -> 50/50: see check_detect_min_n;
 *            a shift of under 5 points uses a 25-point skew instead).
 *            converged_s = C - T.
 * Objective: the deadline is T + shift_converge_ms. Windows ending by the
 *            deadline PASS once converged, else NODATA (still allowed to
 *            converge). Windows ending after it judge their requests after
 *            the deadline: outside the new bound = FAIL
 *            R_SPLIT_NOT_CONVERGED. Before T (or with shift_at_ms = 0):
 *            NODATA.
 */
#include "checks/check.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/stats.h"
#include "base/util.h"

#define SHIFT_MIN_N_CAP 100000
#define SHIFT_MAX_SPAN_S 100000   /* seconds of history searched for C */

struct shift_ctx {
	double p;                 /* new v2 share */
	uint64_t min_n;
	int64_t c_first;          /* first whole second after the shift */
	int64_t span;             /* seconds in ok[] / v2[] */
	uint64_t *ok, *v2;        /* per second from c_first */
};

static int in_bound(const struct shift_ctx *x, uint64_t n, uint64_t v2, uint64_t *lo,
		    uint64_t *hi)
{
	binom_interval(n, x->p, STATS_ALPHA, lo, hi);
	return v2 >= *lo && v2 <= *hi;
}

/* Earliest second C with [C, end) of the per-second arrays holding the new
 * weights on at least min_n requests; -1 if none. */
static int64_t converge_point(const struct shift_ctx *x)
{
	uint64_t *sok, *sv2, lo, hi;
	int64_t i, c = -1;

	if (x->span <= 0)
		return -1;
	sok = calloc((size_t)x->span + 1, sizeof(*sok));
	sv2 = calloc((size_t)x->span + 1, sizeof(*sv2));
	if (!sok || !sv2)
		goto out;
	for (i = x->span - 1; i >= 0; i--) {
		sok[i] = sok[i + 1] + x->ok[i];
		sv2[i] = sv2[i + 1] + x->v2[i];
	}
	for (i = 0; i < x->span && sok[i] >= x->min_n; i++) {
		if (in_bound(x, sok[i], sv2[i], &lo, &hi)) {
			c = x->c_first + i;
			break;
		}
	}
out:
	free(sok);
	free(sv2);
	return c;
}

static int split_shift_eval(const struct window_data *wd, struct window_result *out)
{
	const struct run_mesh *m = &wd->cfg->m;
	struct shift_ctx x;
	struct agg_row *rows = NULL;
	size_t nrows = 0, i;
	double ts = 0, p_old, conv_s = (double)m->shift_converge_ms / 1000.0, deadline, converged_s = -1;
	int64_t d_first, horizon, from, wsec = wd->cfg->window_ms / 1000, c;
	uint64_t n = 0, v2 = 0, lo = 0, hi = 0;
	char pobs[16], plo[16], phi[16], conv[32], extra[320];
	int found, rc = -1;

	memset(&x, 0, sizeof(x));
	if (wsec < 1)
		wsec = 1;
	if (m->shift_at_ms <= 0) {
		check_evidence_fill(wd, out, NULL);
		check_set(out, V_NODATA, R_NO_DATA, "no shift scheduled (shift_at_ms = 0)");
		return 0;
	}
	found = check_split_shift_time(wd->store, &ts);
	if (found < 0)
		return -1;
	if (!found || (double)wd->end_s <= ts) {
		check_evidence_fill(wd, out, NULL);
		check_set(out, V_NODATA, R_NO_DATA, "shift not reached yet (scheduled at %.1f s)",
			  (double)m->shift_at_ms / 1000.0);
		return 0;
	}

	x.p = check_split_share(m->shift_v1, m->shift_v2);
	p_old = check_split_share(m->split_v1, m->split_v2);
	/* the failure to tell apart is the old split still in force */
	if (fabs(x.p - p_old) < 0.05)
		p_old = x.p <= 0.5 ? x.p + 0.25 : x.p - 0.25;
	x.min_n = check_detect_min_n(x.p, p_old, STATS_ALPHA, 0, SHIFT_MIN_N_CAP);
	x.c_first = (int64_t)ceil(ts);
	deadline = ts + conv_s;
	d_first = (int64_t)ceil(deadline);
	horizon = d_first + wsec;
	if (horizon > wd->end_s)
		horizon = wd->end_s;
	if (horizon - x.c_first > SHIFT_MAX_SPAN_S)
		x.c_first = horizon - SHIFT_MAX_SPAN_S;
	x.span = horizon - x.c_first;
	if (x.span > 0) {
		x.ok = calloc((size_t)x.span, sizeof(*x.ok));
		x.v2 = calloc((size_t)x.span, sizeof(*x.v2));
		if (!x.ok || !x.v2 || check_split_rows(wd, x.c_first, horizon, &rows, &nrows))
			goto out;
		for (i = 0; i < nrows; i++) {
			uint64_t o, t;
			int64_t k = rows[i].second - x.c_first;

			if (k < 0 || k >= x.span)
				continue;
			check_split_count(&rows[i], 1, rows[i].second, rows[i].second + 1, &o, &t);
			x.ok[k] += o;
			x.v2[k] += t;
		}
		free(rows);
		rows = NULL;
	}
	c = converge_point(&x);
	if (c >= 0) {
		converged_s = (double)c - ts;
		if (converged_s < 0)
			converged_s = 0;
		str_fmt(conv, sizeof(conv), "%.1f", converged_s);
	} else {
		str_copy(conv, sizeof(conv), "null");
	}

	/* the requests judged: this window's after the deadline, reaching back
	 * to the deadline when the window alone has too few */
	if (wd->end_s > d_first) {
		from = wd->start_s > d_first ? wd->start_s : d_first;
		if (check_split_rows(wd, d_first, wd->end_s, &rows, &nrows))
			goto out;
		check_split_count(rows, nrows, from, wd->end_s, &n, &v2);
		if (n < x.min_n && from > d_first)
			check_split_count(rows, nrows, d_first, wd->end_s, &n, &v2);
	}
	binom_interval(n, x.p, STATS_ALPHA, &lo, &hi);
	str_fmt(extra, sizeof(extra),
		"\"shift_at\":%.3f,\"deadline\":%.3f,\"converged_s\":%s,\"observed\":%.4f,"
		"\"expected\":%.4f,\"lo\":%.4f,\"hi\":%.4f,\"n\":%" PRIu64 ",\"v2\":%" PRIu64
		",\"min_n\":%" PRIu64, ts, deadline, conv, n ? (double)v2 / (double)n : 0.0, x.p,
		n ? (double)lo / (double)n : 0.0, n ? (double)hi / (double)n : 0.0, n, v2, x.min_n);
	check_evidence_fill(wd, out, extra);
	check_fmt_pct(v2, n, pobs, sizeof(pobs));
	check_fmt_pct(lo, n, plo, sizeof(plo));
	check_fmt_pct(hi, n, phi, sizeof(phi));

	if (wd->end_s <= d_first) {
		if (c >= 0)
			check_set(out, V_PASS, R_MET, "converged to %u/%u in %.1f s (allowed %.1f s)",
				  m->shift_v1, m->shift_v2, converged_s, conv_s);
		else
			check_set(out, V_NODATA, R_NO_DATA,
				  "converging to %u/%u: shift %.1f s ago (allowed %.1f s)",
				  m->shift_v1, m->shift_v2, (double)wd->end_s - ts, conv_s);
	} else if (n < x.min_n) {
		check_set(out, V_NODATA, R_NO_DATA,
			  "only %" PRIu64 " split requests after the convergence deadline; %" PRIu64
			  " needed to judge weights %u/%u", n, x.min_n, m->shift_v1, m->shift_v2);
	} else if (v2 < lo || v2 > hi) {
		check_set(out, V_FAIL, R_SPLIT_NOT_CONVERGED,
			  "share of v2 %s%% still outside [%s%%, %s%%] %.1f s after the shift to "
			  "%u/%u (expected %.1f%%, allowed %.1f s, %" PRIu64 " of %" PRIu64
			  " requests)", pobs, plo, phi, (double)wd->end_s - ts, m->shift_v1,
			  m->shift_v2, x.p * 100.0, conv_s, v2, n);
	} else if (c >= 0) {
		check_set(out, V_PASS, R_MET,
			  "converged to %u/%u in %.1f s (allowed %.1f s); share of v2 %s%% inside "
			  "[%s%%, %s%%]", m->shift_v1, m->shift_v2, converged_s, conv_s, pobs, plo,
			  phi);
	} else {
		check_set(out, V_PASS, R_MET,
			  "weights %u/%u hold after the deadline: share of v2 %s%% inside "
			  "[%s%%, %s%%]", m->shift_v1, m->shift_v2, pobs, plo, phi);
	}
	/* as split.weights: a backend failing on its own skews the share */
	rc = check_excuse_by_backend(wd, out);
out:
	free(rows);
	free(x.ok);
	free(x.v2);
	return rc;
}

/* The shift and the time it is given to converge: before then the check
 * has nothing to judge (a run stopped earlier skips it, a shorter
 * --duration is refused). */
static int64_t split_shift_min_run_ms(const struct run_config *cfg, char *why, size_t len)
{
	int64_t at = run_config_shift_at_ms(cfg);
	char a[32], b[32];

	str_fmt(why, len, "the shift at %s and %s to converge", dur_format(at, a, sizeof(a)),
		dur_format(cfg->m.shift_converge_ms, b, sizeof(b)));
	return at + cfg->m.shift_converge_ms;
}

static const char *split_shift_not_applicable(const struct run_config *cfg)
{
	if (run_config_shift_at_ms(cfg) > 0)
		return NULL;
	return "no shift scheduled: give the run a --duration (the shift comes at a third "
	       "of it) or set mesh_settings.shift.at in a --config file";
}

const struct check_desc check_split_shift = {
	.id = "split.shift",
	.title = "a split weight change takes effect",
	.promise = "a change of the split weights takes effect within the allowed time",
	.proof = "the split route's weights are shifted once during the run; the versions "
		 "answering must follow the new weights, inside a binomial bound, by the "
		 "convergence deadline",
	.objective = "converged within shift_converge_ms (default 10 s); new weights hold after it",
	.roles = ROLE_HTTP_SERVER | ROLE_HTTP_CLIENT,
	.needs_mesh = 1,
	.objective_ratio = 0.0,
	.eval = split_shift_eval,
	.not_applicable = split_shift_not_applicable,
	.min_run_ms = split_shift_min_run_ms,
};
