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
 */
#include "checks/check.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

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

static int retry_http_eval(const struct window_data *wd, struct window_result *out)
{
	const struct run_mesh *m = &wd->cfg->m;
	uint64_t att[8] = { 0 }, n = 0, ok = 0, lo, min_n, retried = 0, over = 0;
	double f = m->retry_fail_share, p;
	int a = m->retry_attempts, highest = 0;
	char pobs[16], pbound[16], pexp[16], pfail[16], extra[256];
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
	if (out->reason == R_RETRY_BELOW_BOUND || out->reason == R_RETRY_NOT_SEEN)
		return check_excuse_by_backend(wd, out);
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
