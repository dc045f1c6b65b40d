/*
 * check_timeout_http.c - timeout.http: a route timeout protects callers from
 * a stalled backend; it must cut slow requests on time and leave fast ones
 * alone.
 *
 * Promise:   route timeouts are enforced: slow requests end with 504 by the
 *            timeout, fast requests are unaffected.
 * Proof:     the route timeout.conform.svc has timeout route_timeout_ms. Two
 *            flows use it: timeout.http/slow asks the server to answer after
 *            slow_ms (longer than the timeout), timeout.http/fast asks for no
 *            delay.
 * Objective: per window, >= 99% of slow requests end as HTTP 504 and their
 *            latency p99 (histogram upper bucket bound, <= 12.5% high; max
 *            in the evidence) is <= route_timeout_ms + timeout_slack_ms, else
 *            R_TIMEOUT_NOT_ENFORCED; >= 99% of fast requests succeed with p99
 *            under half the timeout, else R_TIMEOUT_COLLATERAL. A window
 *            missing either flow is NODATA.
 */
#include "checks/check.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/outcome.h"
#include "base/util.h"

#define TIMEOUT_OBJECTIVE 0.99

static int is_504(const struct agg_row *r)
{
	return r->outcome == OUT_HTTP_5XX && r->code == 504;
}

static int timeout_http_eval(const struct window_data *wd, struct window_result *out)
{
	const struct run_mesh *m = &wd->cfg->m;
	uint64_t slow = 0, cut = 0, slow_ok = 0, fast = 0, fast_ok = 0, p99_cut, p99_fast;
	uint64_t bound_us = (uint64_t)(m->route_timeout_ms + m->timeout_slack_ms) * 1000;
	struct hist h_cut, h_slow_ok, h_fast;
	struct agg_row *other = NULL, *fast_bad = NULL;
	size_t nother = 0, nfast_bad = 0, i;
	int ok_code = 200, rc = -1;
	char why[REASON_TEXT_MAX], extra[320];

	hist_init(&h_cut);
	hist_init(&h_slow_ok);
	hist_init(&h_fast);
	other = calloc(wd->nrows ? wd->nrows : 1, sizeof(*other));
	fast_bad = calloc(wd->nrows ? wd->nrows : 1, sizeof(*fast_bad));
	if (!other || !fast_bad)
		goto out;
	for (i = 0; i < wd->nrows; i++) {
		const struct agg_row *r = &wd->rows[i];
		int ok = outcome_info(r->outcome)->ok;

		if (check_row_is_monitor(r))
			continue;
		if (!strcmp(r->check, "timeout.http/slow")) {
			slow += r->h.count;
			if (is_504(r)) {
				cut += r->h.count;
				hist_merge(&h_cut, &r->h);
			} else if (ok) {
				if (!slow_ok && r->code)
					ok_code = r->code;
				slow_ok += r->h.count;
				hist_merge(&h_slow_ok, &r->h);
			} else {
				other[nother++] = *r;
			}
		} else if (!strcmp(r->check, "timeout.http/fast")) {
			fast += r->h.count;
			if (ok) {
				fast_ok += r->h.count;
				hist_merge(&h_fast, &r->h);
			} else {
				fast_bad[nfast_bad++] = *r;
			}
		}
	}
	p99_cut = hist_quantile(&h_cut, 0.99);
	p99_fast = hist_quantile(&h_fast, 0.99);
	str_fmt(extra, sizeof(extra),
		"\"slow\":{\"requests\":%" PRIu64 ",\"cut_504\":%" PRIu64 ",\"ok\":%" PRIu64
		",\"p99_504_ms\":%.3f,\"max_504_ms\":%.3f,\"max_ok_ms\":%.3f},\"fast\":{\"requests\":%"
		PRIu64 ",\"ok\":%" PRIu64 ",\"p99_ms\":%.3f},\"timeout_ms\":%" PRId64
		",\"slack_ms\":%" PRId64, slow, cut, slow_ok, p99_cut / 1000.0, h_cut.max_us / 1000.0,
		h_slow_ok.max_us / 1000.0, fast, fast_ok, p99_fast / 1000.0, m->route_timeout_ms,
		m->timeout_slack_ms);
	check_evidence_fill(wd, out, extra);

	if (!slow || !fast) {
		check_set(out, V_NODATA, R_NO_DATA, "no %s requests in window",
			  !slow && !fast ? "timeout.http" : !slow ? "slow" : "fast");
	} else if ((double)cut < TIMEOUT_OBJECTIVE * (double)slow - 1e-9) {
		struct dynbuf b = DYNBUF_INIT(REASON_TEXT_MAX);

		if (slow_ok)
			dynbuf_addf(&b, "slow requests ended %d after %.0f ms (x%" PRIu64 ")", ok_code,
				    h_slow_ok.max_us / 1000.0, slow_ok);
		if (nother) {
			check_describe_failures(other, nother, 0, why, sizeof(why));
			dynbuf_addf(&b, "%sslow requests ended with %s", slow_ok ? ", " : "", why);
		}
		check_set(out, V_FAIL, R_TIMEOUT_NOT_ENFORCED,
			  "%s; route timeout %" PRId64 " ms not enforced (%" PRIu64 " of %" PRIu64
			  " slow requests cut with 504)", b.buf ? b.buf : "", m->route_timeout_ms,
			  cut, slow);
		dynbuf_release(&b);
	} else if (p99_cut > bound_us) {
		check_set(out, V_FAIL, R_TIMEOUT_NOT_ENFORCED,
			  "504 came after %.1f ms (p99, max %.1f ms); must come by %" PRId64
			  " ms (timeout %" PRId64 " ms + slack %" PRId64 " ms)", p99_cut / 1000.0,
			  h_cut.max_us / 1000.0, m->route_timeout_ms + m->timeout_slack_ms,
			  m->route_timeout_ms, m->timeout_slack_ms);
	} else if ((double)fast_ok < TIMEOUT_OBJECTIVE * (double)fast - 1e-9) {
		check_describe_failures(fast_bad, nfast_bad, 0, why, sizeof(why));
		check_set(out, V_FAIL, R_TIMEOUT_COLLATERAL,
			  "%" PRIu64 " of %" PRIu64 " fast requests failed: %s", fast - fast_ok, fast,
			  why);
	} else if (p99_fast * 2 > (uint64_t)m->route_timeout_ms * 1000) {
		check_set(out, V_FAIL, R_TIMEOUT_COLLATERAL,
			  "fast requests p99 %.1f ms, not well under the %" PRId64 " ms timeout "
			  "(must stay below half of it)", p99_fast / 1000.0, m->route_timeout_ms);
	} else {
		check_set(out, V_PASS, R_MET,
			  "%" PRIu64 " of %" PRIu64 " slow requests cut with 504 by %.1f ms (p99; "
			  "timeout %" PRId64 " ms + slack %" PRId64 " ms); %" PRIu64 " fast requests "
			  "ok, p99 %.1f ms", cut, slow, p99_cut / 1000.0, m->route_timeout_ms,
			  m->timeout_slack_ms, fast, p99_fast / 1000.0);
	}
	rc = 0;
	/* a backend failing on its own fails slow and fast requests alike; the
	 * timeout is still proven broken by a slow request answered past it or
	 * a 504 that came late, whatever the backend does */
	if (out->verdict == V_FAIL && !slow_ok &&
	    !(out->reason == R_TIMEOUT_NOT_ENFORCED &&
	      (double)cut >= TIMEOUT_OBJECTIVE * (double)slow - 1e-9))
		rc = check_excuse_by_backend(wd, out);
out:
	free(other);
	free(fast_bad);
	return rc;
}

const struct check_desc check_timeout_http = {
	.id = "timeout.http",
	.title = "route timeouts are enforced",
	.promise = "route timeouts are enforced: slow requests end with 504 by the timeout, "
		   "fast ones are unaffected",
	.proof = "a route with a timeout serves a slow flow (server delay beyond the timeout) "
		 "and a fast one; slow requests must end 504 by timeout + slack, fast ones succeed",
	.objective = ">= 99% slow requests 504 with p99 <= timeout + slack; >= 99% fast ok with "
		     "p99 < timeout / 2",
	.roles = ROLE_HTTP_SERVER | ROLE_HTTP_CLIENT,
	.needs_mesh = 1,
	.objective_ratio = 0.99,
	.eval = timeout_http_eval,
};
