/*
 * check_retry_http.c - retry.http: a mesh that promises retries must turn a
 * flaky backend into a reliable one, and must not retry without bound.
 *
 * Promise:   failed HTTP attempts are retried, within the configured budget.
 * Proof:     the route retry.conform.svc retries 5xx up to retry_attempts
 *            attempts; its backend fails each attempt with probability
 *            f = retry_fail_share (?fail=). Servers count how often they saw
 *            a request id, so each reply carries its attempt number
 *            (agg_row.attempts[i] = replies at attempt i+1).
 * Objective: with A attempts a request succeeds with p = 1 - f^A, so the ok
 *            count of n requests is Binomial(n, p): the window passes when
 *            ok >= binom_lower(n, p, STATS_ALPHA) (a healthy mesh fails a
 *            window with probability <= 1e-6), replies at attempt > 1 were
 *            seen, and no reply came at an attempt > A. Minimum n: the
 *            smallest n at which a mesh that does not retry (success 1 - f)
 *            lands below the bound on average, and at which a healthy mesh
 *            shows no retried reply with probability <= 1e-6; below it the
 *            window is NODATA (defaults f = 0.5, A = 4: 25 requests).
 * Second view: where the mesh counts retries itself (the mesh view slot,
 *            views.c; the retry counters of every route), the retries the
 *            clients' proxies dispatched must match those the servers'
 *            attempt numbers show: at least sum (k - 1) over the replies at
 *            attempt k, at most that plus A - 1 for every request whose
 *            reply carried no attempt number, both within the tolerance for
 *            scrape timing; else the window fails with R_VIEWS_DISAGREE.
 */
#include "checks/check.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "evidence/meshview.h"
#include "evidence/outcome.h"
#include "eval/stats.h"
#include "base/util.h"

#define RETRY_MIN_N_CAP 100000

/* a percentage with up to 2 decimals, trailing zeros dropped: 93.75, 50, 87.5 */
static const char *fmt_pct2(double share, char *buf, size_t len)
{
	size_t n;

	str_fmt(buf, len, "%.2f", share * 100.0);
	n = strlen(buf);
	while (n && buf[n - 1] == '0')
		buf[--n] = '\0';
	if (n && buf[n - 1] == '.')
		buf[--n] = '\0';
	return buf;
}

/* Probability that a request's reply shows an attempt > 1 (first attempt
 * failed, a later one answered). */
static double retried_share(double f, int a)
{
	if (a < 2)
		return 0;
	return f * (1.0 - pow(f, a - 1));
}

static uint64_t retry_min_n(double f, int a)
{
	double p = 1.0 - pow(f, a), q = 1.0 - f, g = retried_share(f, a);
	uint64_t n_detect = 1, n_seen = 1;

	if (p > q)
		n_detect = check_detect_min_n(p, q, STATS_ALPHA, 1, RETRY_MIN_N_CAP);
	if (g > 0 && g < 1)
		n_seen = (uint64_t)ceil(log(STATS_ALPHA) / log1p(-g));
	if (n_seen > RETRY_MIN_N_CAP)
		n_seen = RETRY_MIN_N_CAP;
	return n_detect > n_seen ? n_detect : n_seen;
}

/*
 * The two views of the window's retries: the mesh's member of the evidence
 * into ev ("mesh":{...} or "mesh":"why none"), and the disagreement, if
 * any, into why (""). 0 or -1 (store error).
 */
static int retry_compare(const struct window_data *wd, const uint64_t att[8], uint64_t n,
			 int a, char *ev, size_t evlen, char *why, size_t whylen)
{
	struct mesh_view v;
	char note[300], qnote[320];
	uint64_t app = 0, counted = 0, app_max, mesh = 0;
	double tol = 0;
	size_t k;
	int rc;

	why[0] = '\0';
	rc = check_mesh_view(wd, &v, &tol, note, sizeof(note));
	if (rc < 0)
		return -1;
	if (rc == 0 || !v.nroutes) {
		struct dynbuf q = DYNBUF_INIT(sizeof(qnote));

		dynbuf_add_json_str(&q, rc == 0 ? (note[0] ? note : "none") :
				    "no retry counters in the mesh view");
		str_fmt(ev, evlen, ",\"mesh\":\"%s\"", q.buf ? q.buf : "");
		dynbuf_release(&q);
		return 0;
	}
	for (k = 0; k < 8; k++) {
		app += (uint64_t)k * att[k];
		counted += att[k];
	}
	app_max = app + (n > counted ? n - counted : 0) * (uint64_t)(a > 1 ? a - 1 : 0);
	for (k = 0; k < v.nroutes; k++)
		mesh += v.routes[k].retries;
	str_fmt(ev, evlen, ",\"mesh\":{\"retries\":%" PRIu64 ",\"routes\":%zu,\"from\":%.3f,"
		"\"to\":%.3f,\"tolerance\":%.3f},\"app_retries\":[%" PRIu64 ",%" PRIu64 "]",
		mesh, v.nroutes, v.from, v.to, tol, app, app_max);
	if (check_views_short(mesh, app, tol))
		str_fmt(why, whylen, "servers saw %" PRIu64 " retried attempts (attempt numbers of "
			"%" PRIu64 " replies), the clients' proxies counted %" PRIu64 " retries "
			"(tolerance %.0f%% for scrape timing)", app, counted, mesh, tol * 100.0);
	else if (check_views_short(app_max, mesh, tol))
		str_fmt(why, whylen, "the clients' proxies counted %" PRIu64 " retries, servers "
			"saw at most %" PRIu64 " (attempt numbers of %" PRIu64 " of %" PRIu64
			" replies; tolerance %.0f%% for scrape timing)", mesh, app_max, counted, n,
			tol * 100.0);
	return 0;
}

static int retry_http_eval(const struct window_data *wd, struct window_result *out)
{
	const struct run_mesh *m = &wd->cfg->m;
	uint64_t att[8] = { 0 }, n = 0, ok = 0, lo, min_n, retried = 0, over = 0;
	double f = m->retry_fail_share, p;
	int a = m->retry_attempts, highest = 0;
	char pobs[16], pbound[16], pexp[16], pfail[16], extra[1024], mev[640];
	char vwhy[REASON_TEXT_MAX];
	size_t i, k;

	if (a < 1)
		a = 1;
	p = 1.0 - pow(f, a);
	for (i = 0; i < wd->nrows; i++) {
		const struct agg_row *r = &wd->rows[i];

		if (check_row_is_monitor(r))
			continue;
		n += r->h.count;
		if (outcome_info(r->outcome)->ok)
			ok += r->h.count;
		for (k = 0; k < 8; k++)
			att[k] += r->attempts[k];
	}
	for (k = 0; k < 8; k++) {
		if (!att[k])
			continue;
		highest = (int)k + 1;
		if (k >= 1)
			retried += att[k];
		if ((int)k + 1 > a)
			over += att[k];
	}
	min_n = retry_min_n(f, a);
	lo = binom_lower(n, p, STATS_ALPHA);
	str_fmt(extra, sizeof(extra),
		"\"expected\":%.6g,\"bound\":%" PRIu64 ",\"min_n\":%" PRIu64
		",\"attempts\":[%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
		",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "],\"limit\":%d",
		p, lo, min_n, att[0], att[1], att[2], att[3], att[4], att[5], att[6], att[7], a);
	if (retry_compare(wd, att, n, a, mev, sizeof(mev), vwhy, sizeof(vwhy)))
		return -1;
	if (strlen(extra) + strlen(mev) < sizeof(extra))
		memcpy(extra + strlen(extra), mev, strlen(mev) + 1);
	check_evidence_fill(wd, out, extra);

	fmt_pct2(p, pexp, sizeof(pexp));
	fmt_pct2(f, pfail, sizeof(pfail));
	check_fmt_pct(ok, n, pobs, sizeof(pobs));
	check_fmt_pct(lo, n, pbound, sizeof(pbound));
	if (!n) {
		check_set(out, V_NODATA, R_NO_DATA, "no retry.http requests in window");
	} else if (n < min_n) {
		check_set(out, V_NODATA, R_NO_DATA,
			  "only %" PRIu64 " requests in window; %" PRIu64 " needed to tell "
			  "retries (%s%% success) from none (%s%%)", n, min_n, pexp,
			  fmt_pct2(1.0 - f, pfail, sizeof(pfail)));
	} else if (ok < lo) {
		check_set(out, V_FAIL, R_RETRY_BELOW_BOUND,
			  "success %s%% below bound %s%% (expected %s%% with %d attempts at %s%% "
			  "failure): retries not effective; %" PRIu64 " of %" PRIu64
			  " requests failed, %" PRIu64 " replies needed a retry",
			  pobs, pbound, pexp, a, pfail, n - ok, n, retried);
	} else if (over) {
		check_set(out, V_FAIL, R_RETRY_OVER_LIMIT,
			  "%" PRIu64 " replies came after more than %d attempts (highest attempt "
			  "%d%s): retry budget exceeded", over, a, highest, highest >= 8 ? "+" : "");
	} else if (!retried && retried_share(f, a) > 0) {
		check_set(out, V_FAIL, R_RETRY_NOT_SEEN,
			  "no reply came at attempt > 1 among %" PRIu64 " requests with %s%% "
			  "failure per attempt: the mesh did not retry", n, pfail);
	} else {
		check_set(out, V_PASS, R_MET,
			  "success %s%% >= bound %s%% (expected %s%% with %d attempts at %s%% "
			  "failure); %" PRIu64 " replies needed a retry, highest attempt %d",
			  pobs, pbound, pexp, a, pfail, retried, highest);
	}
	/* the bound assumes the backend fails only the share asked of it: a
	 * backend failing on its own says nothing about retries. Attempts
	 * beyond the budget are the mesh's doing whatever the backend does. */
	if ((out->reason == R_RETRY_BELOW_BOUND || out->reason == R_RETRY_NOT_SEEN) &&
	    check_excuse_by_backend(wd, out))
		return -1;
	/* judged windows only: too few requests say nothing either way */
	if (vwhy[0] && (out->verdict == V_PASS || out->verdict == V_FAIL))
		check_views_fail(out, "%s", vwhy);
	return 0;
}

const struct check_desc check_retry_http = {
	.id = "retry.http",
	.title = "failed HTTP attempts are retried",
	.promise = "failed HTTP attempts are retried within the configured budget",
	.proof = "a backend failing half of all attempts with 503 behind a route that retries "
		 "5xx; servers number each request's attempts, so replies show retries and "
		 "their count",
	.objective = "success >= binomial lower bound of 1 - f^A (alpha 1e-6), retries seen, "
		     "no reply beyond A attempts",
	.roles = ROLE_HTTP_SERVER | ROLE_HTTP_CLIENT,
	.needs_mesh = 1,
	.objective_ratio = 0.0,
	.eval = retry_http_eval,
};
