/*
 * check_split_weights.c - split.weights: canary and blue/green rollouts rest
 * on the mesh sending each backend the share its weight says, not roughly.
 *
 * Promise:   traffic follows the configured split weights.
 * Proof:     clients send to split.conform.svc (rows of split.weights and
 *            split.shift), which splits between http-server v1 and v2; every
 *            reply names its backend's version. The v2 count among the n
 *            successful requests of a window is Binomial(n, p) with p the
 *            weight in force: split_v1/split_v2 from mesh_settings, or
 *            shift_v1/shift_v2 once the "split.shift" event was recorded.
 *            The expected weights come from the configuration and the
 *            scheduled shift only, never from runtime "split.set" events (a
 *            fault that changes the weights must fail here).
 * Objective: v2 count inside binom_interval(n, p, STATS_ALPHA): a healthy
 *            mesh fails a window with probability <= 1e-6. Minimum n: the
 *            smallest n at which a split off by 25 points (p +- 0.25, toward
 *            the middle) falls outside the interval on average (90/10: 53);
 *            below it, NODATA. Windows overlapping the shift and its
 *            convergence time (shift_converge_ms) are NODATA: split.shift
 *            judges them.
 * Across windows: one window is weak evidence at the default rate (90/10
 *            over 150 requests accepts a v2 share up to 24%), so the check
 *            also runs two one-sided Bernoulli CUSUMs over the window stream
 *            (Page 1954): per request, the log-likelihood ratio of the share
 *            doubled (p1 = min(2p, p + 0.2)) or halved (p/2) against p; the
 *            sums restart at 0 and carry from window to window in the
 *            window's evidence ("cusum_up", "cusum_down"). A sum reaching
 *            SPLIT_CUSUM_H fails the window (R_SPLIT_DRIFT) and restarts.
 *            Its false-alarm rate is at most about e^-H per request
 *            (Wald's bound on a likelihood-ratio martingale): 1.4e-11 with
 *            H = 25, or 1.8e-5 false alarms a day at 15 requests/s; a
 *            doubling to 20% is caught after ~560 requests on average
 *            (H / KL(p1 || p) = 25 / 0.0444), about 40 s at 15 requests/s
 *            (test_power.c measures both).
 * Second view: where the mesh counts the requests it sent each backend (the
 *            mesh view slot, views.c; a backend named "...-v2" is v2), its v2
 *            share must match the replies': both count the same requests
 *            save those at the window's edges (a share moves at most by the
 *            share of traffic the two hold apart, the tolerance for scrape
 *            timing) and the failed ones (a failing backend excuses the
 *            window first). Further apart than the tolerance plus 2 points,
 *            with both views over 20 requests, fails the window with
 *            R_VIEWS_DISAGREE.
 */
#include "checks/check.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/stats.h"
#include "evidence/meshview.h"
#include "store/store.h"
#include "base/util.h"

#define SPLIT_MIN_N_CAP 100000
#define SPLIT_CUSUM_H 25.0

/* The CUSUM sums carried by the previous window's evidence: 0 when that
 * window is not idx - 1 (or there is none, or no store, or it has none). */
static void cusum_prev(const struct window_data *wd, double *up, double *down)
{
	struct store_window w;
	const char *p;

	*up = *down = 0;
	if (!wd->store || wd->idx < 1 ||
	    store_get_window_pick(wd->store, "split.weights", STORE_LAST, &w) != 1 ||
	    w.idx != wd->idx - 1)
		return;
	if ((p = strstr(w.r.evidence, "\"cusum_up\":")))
		*up = strtod(p + 11, NULL);
	if ((p = strstr(w.r.evidence, "\"cusum_down\":")))
		*down = strtod(p + 13, NULL);
	if (!(*up >= 0 && *up < SPLIT_CUSUM_H))
		*up = 0;
	if (!(*down >= 0 && *down < SPLIT_CUSUM_H))
		*down = 0;
}

/* One CUSUM step over n requests, v2 of them, for share p1 against p. */
static double cusum_step(double s, uint64_t n, uint64_t v2, double p, double p1)
{
	s += (double)v2 * log(p1 / p) + (double)(n - v2) * log((1 - p1) / (1 - p));
	return s > 0 ? s : 0;
}

#define SPLIT_VIEWS_MIN_N 20
#define SPLIT_VIEWS_SLACK 0.02

/* Is backend name the v2 of the split ("v2", "...-v2")? */
static int split_is_v2(const char *name)
{
	size_t n = strlen(name);

	return !strcmp(name, "v2") || (n > 3 && !strcmp(name + n - 3, "-v2"));
}

/*
 * The two views of the window's split: the mesh's evidence member into ev,
 * a disagreement into why (""). 0 or -1 (store error).
 */
static int split_compare(const struct window_data *wd, uint64_t n, uint64_t v2, char *ev,
			 size_t evlen, char *why, size_t whylen)
{
	struct mesh_view v;
	char note[300], pa[16], pm[16];
	uint64_t total = 0, mv2 = 0;
	double tol = 0, sa, sm;
	int rc;

	why[0] = '\0';
	rc = check_mesh_view(wd, &v, &tol, note, sizeof(note));
	if (rc < 0)
		return -1;
	if (rc == 0 || !v.nbackends) {
		struct dynbuf q = DYNBUF_INIT(sizeof(note) + 64);

		dynbuf_add_json_str(&q, rc == 0 ? (note[0] ? note : "none") :
				    "no split backends in the mesh view");
		str_fmt(ev, evlen, ",\"mesh\":\"%s\"", q.buf ? q.buf : "");
		dynbuf_release(&q);
		return 0;
	}
	for (size_t k = 0; k < v.nbackends; k++) {
		total += v.backends[k].requests;
		if (split_is_v2(v.backends[k].name))
			mv2 += v.backends[k].requests;
	}
	str_fmt(ev, evlen, ",\"mesh\":{\"n\":%" PRIu64 ",\"v2\":%" PRIu64 ",\"from\":%.3f,"
		"\"to\":%.3f,\"tolerance\":%.3f}", total, mv2, v.from, v.to, tol);
	if (n < SPLIT_VIEWS_MIN_N || total < SPLIT_VIEWS_MIN_N)
		return 0;
	sa = (double)v2 / (double)n;
	sm = (double)mv2 / (double)total;
	if (fabs(sa - sm) > tol + SPLIT_VIEWS_SLACK)
		str_fmt(why, whylen, "replies named v2 on %s%% of %" PRIu64 " requests, the "
			"clients' proxies sent %s%% of %" PRIu64 " to the v2 backend (tolerance "
			"%.0f%% for scrape timing + %.0f points)", check_fmt_pct(v2, n, pa, sizeof(pa)),
			n, check_fmt_pct(mv2, total, pm, sizeof(pm)), total, tol * 100.0,
			SPLIT_VIEWS_SLACK * 100.0);
	return 0;
}

static int split_weights_eval(const struct window_data *wd, struct window_result *out)
{
	const struct run_mesh *m = &wd->cfg->m;
	struct agg_row *rows = NULL;
	size_t nrows = 0;
	uint64_t n, v2, lo, hi, min_n;
	unsigned w1 = m->split_v1, w2 = m->split_v2;
	double ts = 0, p, q;
	char pobs[16], plo[16], phi[16], extra[1024], mev[512], vwhy[REASON_TEXT_MAX];
	double up = 0, down = 0, p_up, p_down;
	int shifted, rc = -1;

	shifted = check_split_shift_time(wd->store, &ts);
	if (shifted < 0 || check_split_rows(wd, wd->start_s, wd->end_s, &rows, &nrows))
		goto out;
	if (shifted && (double)wd->end_s > ts) {
		double settled = ts + (double)m->shift_converge_ms / 1000.0;

		if ((double)wd->start_s < ceil(settled)) {
			check_evidence_fill(wd, out, NULL);
			check_set(out, V_NODATA, R_NO_DATA,
				  "weights changed in this window: shift to %u/%u at %.1f s, "
				  "converging for %.1f s (judged by split.shift)", m->shift_v1,
				  m->shift_v2, ts - floor(wd->cfg->started),
				  (double)m->shift_converge_ms / 1000.0);
			rc = 0;
			goto out;
		}
		w1 = m->shift_v1;
		w2 = m->shift_v2;
	}
	p = check_split_share(w1, w2);
	q = p <= 0.5 ? p + 0.25 : p - 0.25;
	min_n = check_detect_min_n(p, q, STATS_ALPHA, 0, SPLIT_MIN_N_CAP);
	check_split_count(rows, nrows, wd->start_s, wd->end_s, &n, &v2);
	binom_interval(n, p, STATS_ALPHA, &lo, &hi);
	/* the sequential test runs only where a share can move both ways */
	p_up = fmin(2 * p, p + 0.2);
	p_down = p / 2;
	if (p > 0 && p < 1) {
		cusum_prev(wd, &up, &down);
		up = cusum_step(up, n, v2, p, p_up);
		down = cusum_step(down, n, v2, p, p_down);
	}
	str_fmt(extra, sizeof(extra),
		"\"observed\":%.4f,\"expected\":%.4f,\"lo\":%.4f,\"hi\":%.4f,\"n\":%" PRIu64
		",\"v2\":%" PRIu64 ",\"weights\":\"%u/%u\",\"min_n\":%" PRIu64
		",\"cusum_up\":%.4f,\"cusum_down\":%.4f,\"cusum_h\":%.1f",
		n ? (double)v2 / (double)n : 0.0, p, n ? (double)lo / (double)n : 0.0,
		n ? (double)hi / (double)n : 0.0, n, v2, w1, w2, min_n,
		up >= SPLIT_CUSUM_H ? 0.0 : up, down >= SPLIT_CUSUM_H ? 0.0 : down, SPLIT_CUSUM_H);
	if (split_compare(wd, n, v2, mev, sizeof(mev), vwhy, sizeof(vwhy)))
		goto out;
	if (strlen(extra) + strlen(mev) < sizeof(extra))
		memcpy(extra + strlen(extra), mev, strlen(mev) + 1);
	check_evidence_fill(wd, out, extra);

	check_fmt_pct(v2, n, pobs, sizeof(pobs));
	check_fmt_pct(lo, n, plo, sizeof(plo));
	check_fmt_pct(hi, n, phi, sizeof(phi));
	if (!n)
		check_set(out, V_NODATA, R_NO_DATA, "no successful split requests in window");
	else if (n < min_n)
		check_set(out, V_NODATA, R_NO_DATA,
			  "only %" PRIu64 " split requests in window; %" PRIu64 " needed to judge "
			  "weights %u/%u", n, min_n, w1, w2);
	else if (v2 < lo || v2 > hi)
		check_set(out, V_FAIL, R_SPLIT_OUT_OF_BOUND,
			  "share of v2 %s%% outside [%s%%, %s%%] (expected %.1f%% for weights "
			  "%u/%u, %" PRIu64 " of %" PRIu64 " requests)", pobs, plo, phi, p * 100.0,
			  w1, w2, v2, n);
	else if (up >= SPLIT_CUSUM_H || down >= SPLIT_CUSUM_H)
		check_set(out, V_FAIL, R_SPLIT_DRIFT,
			  "share of v2 persistently %s %.1f%% over the last windows (CUSUM for "
			  "%.1f%% reached %.1f >= %.0f; this window %s%% of %" PRIu64 " requests)",
			  up >= SPLIT_CUSUM_H ? "above" : "below", p * 100.0,
			  (up >= SPLIT_CUSUM_H ? p_up : p_down) * 100.0,
			  up >= SPLIT_CUSUM_H ? up : down, SPLIT_CUSUM_H, pobs, n);
	else
		check_set(out, V_PASS, R_MET,
			  "share of v2 %s%% inside [%s%%, %s%%] (expected %.1f%% for weights "
			  "%u/%u, %" PRIu64 " requests)", pobs, plo, phi, p * 100.0, w1, w2, n);
	/* the share counts answered requests: a backend failing on its own
	 * skews it without the split being wrong (see http.basic) */
	rc = check_excuse_by_backend(wd, out);
	/* judged windows only (not too few requests, not a failing backend) */
	if (!rc && vwhy[0] && n >= min_n && (out->verdict == V_PASS || out->verdict == V_FAIL))
		check_views_fail(out, "%s", vwhy);
out:
	free(rows);
	return rc;
}

const struct check_desc check_split_weights = {
	.id = "split.weights",
	.title = "traffic follows the split weights",
	.promise = "traffic follows the configured split weights",
	.proof = "requests to a route split between v1 and v2 name the version that answered; "
		 "the v2 count per window must lie inside a binomial bound of the configured "
		 "weight",
	.objective = "v2 share inside the exact binomial interval (alpha 1e-6) per window",
	.roles = ROLE_HTTP_SERVER | ROLE_HTTP_CLIENT,
	.needs_mesh = 1,
	.objective_ratio = 0.0,
	.eval = split_weights_eval,
};
