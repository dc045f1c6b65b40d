/*
 * test_power.c - the false-alarm rate and the detection power of the
 * statistical checks (split.weights, retry.http, tap.live), measured on the
 * checks' own eval functions, the ones conformd runs.
 *
 * For each check and window size (the default rate, and 10x), the window's
 * acceptance region is read off the eval itself (every possible count is
 * judged once), then:
 *   - its exact false-alarm probability under a healthy mesh, which must be
 *     <= 1e-6 (STATS_ALPHA);
 *   - 100,000 synthetic healthy windows drawn at random and judged: at most
 *     SIM_ALLOWED failing ones (expected ~0.1; 5 or more has probability
 *     below 1e-7, so a healthy build does not flake);
 *   - the smallest breakage of graded strength caught within 2 windows with
 *     probability >= 99%, asserted against the figures docs/checks.md gives.
 * A break of a check's bound (a narrower interval, a missing alpha) fails
 * the first assertion; a looser one fails the last.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "checks/check.h"
#include "eval/evaluate.h"
#include "eval/stats.h"
#include "evidence/outcome.h"
#include "fixture.h"
#include "harness.h"
#include "base/util.h"

#define SIM_WINDOWS 100000
#define SIM_ALLOWED 4
#define CATCH 0.99          /* "caught within 2 windows": with this probability */

static void base_cfg(struct run_config *c)
{
	run_config_defaults(c);
	str_copy(c->id, sizeof(c->id), "power");
	str_copy(c->mesh, sizeof(c->mesh), "haproxy");
	c->window_ms = 10000;
	c->started = T0;
	c->m.shift_at_ms = 0;
}

static void row(struct agg_row *r, const char *wl, const char *check, unsigned outcome,
		const char *backend, int64_t sec, uint64_t count, unsigned attempt)
{
	memset(r, 0, sizeof(*r));
	str_copy(r->check, sizeof(r->check), check);
	str_copy(r->workload, sizeof(r->workload), wl);
	str_copy(r->backend, sizeof(r->backend), backend);
	r->outcome = outcome;
	r->code = outcome == OUT_OK ? 200 : 503;
	r->second = sec;
	hist_init(&r->h);
	r->h.count = count;
	if (attempt)
		r->attempts[attempt - 1] = count;
}

/* The check's eval on rows, as evaluate_window calls it (no store). */
static enum verdict judge(const struct check_desc *c, const struct run_config *cfg,
			  const struct agg_row *rows, size_t n)
{
	struct window_result out;
	struct window_data wd;
	size_t i;

	memset(&out, 0, sizeof(out));
	hist_init(&out.h);
	for (i = 0; i < n; i++) {
		if (check_row_is_monitor(&rows[i]))
			continue;
		out.total += rows[i].h.count;
		if (outcome_info(rows[i].outcome)->ok)
			out.ok += rows[i].h.count;
	}
	out.failed = out.total - out.ok;
	memset(&wd, 0, sizeof(wd));
	wd.cfg = cfg;
	wd.check = c;
	wd.start_s = T0;
	wd.end_s = T0 + 10;
	wd.rows = rows;
	wd.nrows = n;
	wd.mesh = "haproxy";
	if (c->eval(&wd, &out))
		return V_NODATA;
	return out.verdict;
}

static uint64_t draw_binom(uint64_t n, double p)
{
	uint64_t k = 0, i;

	for (i = 0; i < n; i++)
		k += h_rand_unit() < p;
	return k;
}

/* P(X in [lo, hi]) for X ~ Binomial(n, p). */
static double p_inside(uint64_t n, double p, uint64_t lo, uint64_t hi)
{
	double below = lo ? binom_cdf(lo - 1, n, p) : 0;
	double above = hi < n ? binom_sf(hi + 1, n, p) : 0;

	return 1.0 - below - above;
}

/* ---- split.weights: v2 count of n requests, healthy share 10% ---- */

static enum verdict split_judge(const struct run_config *c, uint64_t n, uint64_t v2)
{
	struct agg_row r[2];

	row(&r[0], "http-client", "split.weights", OUT_OK, "v1", T0 + 1, n - v2, 1);
	row(&r[1], "http-client", "split.weights", OUT_OK, "v2", T0 + 2, v2, 1);
	return judge(&check_split_weights, c, r, 2);
}

/* The acceptance region of split.weights at n, read off its eval. */
static void split_region(const struct run_config *c, uint64_t n, uint64_t *lo, uint64_t *hi)
{
	uint64_t v;

	*lo = n + 1;
	*hi = 0;
	for (v = 0; v <= n; v++) {
		if (split_judge(c, n, v) != V_PASS)
			continue;
		if (v < *lo)
			*lo = v;
		*hi = v;
	}
}

/* Smallest v2 share (in 0.5-point steps above 10%) caught within 2 windows. */
static double split_power(uint64_t n, uint64_t lo, uint64_t hi)
{
	int i;

	for (i = 1; i < 180; i++) {
		double q = 0.1 + 0.005 * i, miss = p_inside(n, q, lo, hi);

		if (1.0 - miss * miss >= CATCH)
			return q;
	}
	return 1.0;
}

TEST(split_weights)
{
	static const uint64_t ns[2] = { 150, 1500 };  /* 15/s (the floor) and 150/s, 10 s */
	static const double want[2] = { 0.295, 0.155 }; /* docs/checks.md */
	struct run_config c;
	double got[2];
	int k;

	base_cfg(&c);
	h_rand_init();
	for (k = 0; k < 2; k++) {
		uint64_t n = ns[k], lo, hi, nfail = 0;
		double alpha, q;
		int w;

		split_region(&c, n, &lo, &hi);
		ASSERT(lo <= hi);
		alpha = 1.0 - p_inside(n, 0.1, lo, hi);
		q = split_power(n, lo, hi);
		printf("# split.weights n=%llu: accepts v2 in [%llu, %llu] = [%.1f%%, %.1f%%], "
		       "false alarm %.2g per window, catches v2 >= %.1f%% within 2 windows\n",
		       (unsigned long long)n, (unsigned long long)lo, (unsigned long long)hi,
		       100.0 * (double)lo / (double)n, 100.0 * (double)hi / (double)n, alpha,
		       q * 100.0);
		ASSERT(alpha <= STATS_ALPHA);
		for (w = 0; w < SIM_WINDOWS; w++)
			nfail += split_judge(&c, n, draw_binom(n, 0.1)) == V_FAIL;
		printf("# split.weights n=%llu: %llu of %d healthy windows failed\n",
		       (unsigned long long)n, (unsigned long long)nfail, SIM_WINDOWS);
		ASSERT(nfail <= SIM_ALLOWED);
		got[k] = q;
	}
	for (k = 0; k < 2; k++)
		ASSERT_NEAR(got[k], want[k], 1e-9);
}

/* ---- retry.http: n requests, each attempt fails with f = 0.5, A = 4 ---- */

/* one window: ok requests spread over attempts as a healthy mesh would */
static enum verdict retry_judge(const struct run_config *c, uint64_t n, uint64_t ok)
{
	struct agg_row r[3];
	uint64_t retried = ok / 2;

	/* the attempt mix does not move the bound; a retried reply must be there */
	row(&r[0], "http-client", "retry.http", OUT_OK, "v1", T0 + 1, ok - retried, 1);
	row(&r[1], "http-client", "retry.http", OUT_OK, "v1", T0 + 2, retried, 2);
	row(&r[2], "http-client", "retry.http", OUT_HTTP_5XX, "", T0 + 3, n - ok, 0);
	return judge(&check_retry_http, c, r, 3);
}

/* The least ok count of n that passes. */
static uint64_t retry_threshold(const struct run_config *c, uint64_t n)
{
	uint64_t ok;

	for (ok = 0; ok <= n; ok++)
		if (retry_judge(c, n, ok) == V_PASS)
			return ok;
	return n + 1;
}

/* healthy window drawn attempt by attempt, so over-limit and not-seen are
 * exercised too */
static enum verdict retry_draw(const struct run_config *c, uint64_t n, double f, int a_max)
{
	struct agg_row r[5];
	uint64_t at[4] = { 0 }, failed = 0, i;
	int a;

	for (i = 0; i < n; i++) {
		for (a = 1; a <= a_max; a++)
			if (h_rand_unit() >= f)
				break;
		if (a <= a_max)
			at[a - 1]++;
		else
			failed++;
	}
	for (a = 0; a < 4; a++)
		row(&r[a], "http-client", "retry.http", OUT_OK, "v1", T0 + a, at[a], (unsigned)a + 1);
	row(&r[4], "http-client", "retry.http", OUT_HTTP_5XX, "", T0 + 5, failed, 0);
	return judge(&check_retry_http, c, r, 5);
}

TEST(retry_http)
{
	static const uint64_t ns[2] = { 100, 1000 };   /* 10/s and 100/s, 10 s */
	/* success short of 93.75% by at least this much is caught in 2 windows */
	static const double want[2] = { 0.200, 0.055 }; /* docs/checks.md */
	struct run_config c;
	double p, got[2];
	int k;

	base_cfg(&c);
	h_rand_init();
	p = 1.0 - pow(c.m.retry_fail_share, c.m.retry_attempts);
	for (k = 0; k < 2; k++) {
		uint64_t n = ns[k], t = retry_threshold(&c, n), nfail = 0;
		double alpha = t ? binom_cdf(t - 1, n, p) : 0, d = p;
		int w, i;

		for (i = 1; 0.005 * i < p; i++) {
			double miss = binom_sf(t, n, p - 0.005 * i);

			d = 0.005 * i;

			if (1.0 - miss * miss >= CATCH)
				break;
		}
		printf("# retry.http n=%llu: passes ok >= %llu (%.1f%%; healthy %.2f%%), false alarm "
		       "%.2g per window, catches success short by >= %.1f points within 2 "
		       "windows\n", (unsigned long long)n, (unsigned long long)t,
		       100.0 * (double)t / (double)n, 100.0 * p, alpha, d * 100.0);
		ASSERT(alpha <= STATS_ALPHA);
		for (w = 0; w < SIM_WINDOWS; w++)
			nfail += retry_draw(&c, n, c.m.retry_fail_share, c.m.retry_attempts) == V_FAIL;
		printf("# retry.http n=%llu: %llu of %d healthy windows failed\n",
		       (unsigned long long)n, (unsigned long long)nfail, SIM_WINDOWS);
		ASSERT(nfail <= SIM_ALLOWED);
		got[k] = d;
	}
	for (k = 0; k < 2; k++)
		ASSERT_NEAR(got[k], want[k], 1e-9);
	/* a mesh that retries once fewer (3 attempts: 87.5%): how often caught */
	{
		uint64_t t = retry_threshold(&c, 100);
		double miss = binom_sf(t, 100, 1.0 - pow(c.m.retry_fail_share, 3));

		printf("# retry.http n=100: a budget of 3 attempts instead of 4 is caught within 2 "
		       "windows with probability %.3f\n", 1.0 - miss * miss);
	}
}

/* ---- tap.live: n answered requests, lines lost per direction ---- */

static enum verdict tap_judge(const struct run_config *c, uint64_t n, uint64_t lost)
{
	struct agg_row r[3];

	row(&r[0], "http-client", "tap.live", OUT_OK, "v1", T0 + 1, n, 1);
	row(&r[1], "conformd.tap", "tap.live/out", OUT_OK, "", T0 + 1, n - lost, 0);
	row(&r[2], "conformd.tap", "tap.live/in", OUT_OK, "", T0 + 1, n, 0);
	return judge(&check_tap_live, c, r, 3);
}

TEST(tap_live_loss)
{
	static const uint64_t ns[2] = { 100, 1000 };
	static const double want[2] = { 0.024, 0.0041 }; /* docs/checks.md: loss per line */
	struct run_config c;
	double got[2];
	int k;

	base_cfg(&c);
	h_rand_init();
	for (k = 0; k < 2; k++) {
		uint64_t n = ns[k], lost, allowed = 0, nfail = 0;
		double l;
		int w;

		/* the most lines a window may lose and pass, read off the eval */
		for (lost = 0; lost <= n && tap_judge(&c, n, lost) == V_PASS; lost++)
			allowed = lost;
		ASSERT(tap_judge(&c, n, allowed) == V_PASS);
		ASSERT(tap_judge(&c, n, allowed + 1) == V_FAIL);
		/* a tap that loses each line with probability l is caught within 2
		 * windows when P(lost > allowed) over 2 windows >= CATCH */
		for (l = 0.0001; l < 1; l *= 1.05) {
			double miss = binom_cdf(allowed, n, l);

			if (1.0 - miss * miss >= CATCH)
				break;
		}
		printf("# tap.live n=%llu: passes at most %llu missing lines per direction "
		       "(tap_max_loss %.3g); a healthy tap (no loss) never fails; a tap losing "
		       "%.2g%% of lines is caught within 2 windows\n", (unsigned long long)n,
		       (unsigned long long)allowed, c.m.tap_max_loss, l * 100.0);
		/* healthy: nothing lost, never fails, whatever the draw of n */
		for (w = 0; w < SIM_WINDOWS; w++)
			nfail += tap_judge(&c, n - (uint64_t)(h_rand_unit() * 10), 0) == V_FAIL;
		ASSERT_UEQ(nfail, 0);
		got[k] = l;
	}
	for (k = 0; k < 2; k++)   /* l moves in 5% steps */
		ASSERT(fabs(got[k] - want[k]) < 0.05 * want[k]);
}

/* ---- split.weights across windows: the CUSUM over the window stream ---- */

/* Store window idx's split requests (n, v2 of them) and evaluate it through
 * the sink, as conformd does; the window's verdict and reason. */
static enum verdict split_window(struct store *s, const struct run_config *c, int64_t idx,
				 uint64_t n, uint64_t v2, uint64_t *seq, enum reason *why)
{
	struct agg_row r[2];
	struct window_result out;
	int64_t t = T0 + idx * 10;

	row(&r[0], "http-client", "split.weights", OUT_OK, "v1", t + 1, n - v2, 1);
	row(&r[1], "http-client", "split.weights", OUT_OK, "v2", t + 2, v2, 1);
	r[0].h.sum_us = r[1].h.sum_us = 0;
	if (store_put_batch(s, "http-client", 7, ++*seq, r, 2) != 1 ||
	    evaluate_window(s, c, &check_split_weights, idx, 0, &out))
		return V__COUNT;
	*why = out.reason;
	return out.verdict;
}

/*
 * Healthy: 20,000 windows of 150 requests at 10% (3,000,000 requests, about
 * 2.3 days at 15 requests/s): the per-window bound and the CUSUM together
 * fail at most 1 (expected ~4e-5 from the CUSUM, ~0.006 from the bound).
 * A persistent doubling to 20%, which passes nearly every single window, is
 * caught by the CUSUM within 12 windows (2 minutes) in 99% of 200 runs.
 */
TEST(split_weights_sequential)
{
	struct run_config c;
	struct store *s;
	uint64_t seq = 0, nfail = 0, caught = 0, worst = 0, sum = 0;
	enum reason why = R_MET;
	int64_t idx;
	int trial;

	base_cfg(&c);
	c.duration_ms = 0;
	h_rand_init();
	s = fixture_store_open();
	ASSERT(s);
	for (idx = 0; idx < 20000; idx++) {
		enum verdict v = split_window(s, &c, idx, 150, draw_binom(150, 0.1), &seq, &why);

		ASSERT(v != V__COUNT);
		nfail += v == V_FAIL;
	}
	store_close(s);
	printf("# split.weights: %llu of 20000 healthy windows failed (bound and CUSUM)\n",
	       (unsigned long long)nfail);
	ASSERT(nfail <= 1);
	for (trial = 0; trial < 200; trial++) {
		uint64_t w;

		s = fixture_store_open();
		ASSERT(s);
		seq = 0;
		for (w = 0; w < 60; w++) {
			enum verdict v = split_window(s, &c, (int64_t)w, 150, draw_binom(150, 0.2),
						      &seq, &why);

			ASSERT(v != V__COUNT);
			if (v == V_FAIL)
				break;
		}
		store_close(s);
		sum += w + 1;
		if (w + 1 > worst)
			worst = w + 1;
		caught += w + 1 <= 12;
	}
	printf("# split.weights: a persistent 20%% v2 share is caught after %.1f windows on "
	       "average (worst %llu of 200 runs), %llu of 200 within 12 windows\n",
	       (double)sum / 200.0, (unsigned long long)worst, (unsigned long long)caught);
	ASSERT(caught >= 198);
}

int main(void)
{
	if (fixture_tmpdir_make_fast("power"))
		return 2;
	log_init("test_power", LOG_ERROR);
	RUN(split_weights);
	RUN(retry_http);
	RUN(tap_live_loss);
	RUN(split_weights_sequential);
	fixture_tmpdir_remove();
	TEST_MAIN_END();
}
