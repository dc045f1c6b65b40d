/* test_stats.c - binomial tails against closed forms and simulation. */
#include <math.h>

#include "harness.h"
#include "eval/stats.h"
#include "base/util.h"

TEST(cdf_closed_forms)
{
	/* Binomial(4, 0.5): P(X<=0)=1/16, P(X<=2)=11/16 */
	ASSERT_NEAR(binom_cdf(0, 4, 0.5), 1.0 / 16, 1e-12);
	ASSERT_NEAR(binom_cdf(2, 4, 0.5), 11.0 / 16, 1e-12);
	ASSERT_NEAR(binom_cdf(4, 4, 0.5), 1.0, 1e-12);
	ASSERT_NEAR(binom_sf(4, 4, 0.5), 1.0 / 16, 1e-12);
	ASSERT_NEAR(binom_sf(0, 4, 0.5), 1.0, 1e-12);
	ASSERT_NEAR(binom_cdf(3, 10, 0.1) + binom_sf(4, 10, 0.1), 1.0, 1e-12);
	/* p = 0.9375 (4 attempts at 50%): P(X = n) = p^n */
	ASSERT_NEAR(binom_sf(20, 20, 0.9375), pow(0.9375, 20), 1e-12);
}

TEST(edges)
{
	uint64_t lo, hi;

	binom_interval(100, 0.0, 1e-6, &lo, &hi);
	ASSERT_EQ(lo, 0);
	ASSERT_EQ(hi, 0);
	binom_interval(100, 1.0, 1e-6, &lo, &hi);
	ASSERT_EQ(lo, 100);
	ASSERT_EQ(hi, 100);
	ASSERT_EQ(binom_lower(0, 0.5, 1e-6), 0);
}

TEST(interval_holds_alpha)
{
	uint64_t lo, hi, n = 100;
	double p = 0.1;

	binom_interval(n, p, 1e-6, &lo, &hi);
	/* the bound is as tight as allowed: one step inward exceeds alpha/2 */
	ASSERT(lo == 0 || binom_cdf(lo - 1, n, p) <= 5e-7);
	ASSERT(binom_cdf(lo, n, p) > 5e-7 || lo == 0);
	ASSERT(binom_sf(hi + 1, n, p) <= 5e-7);
	ASSERT(binom_sf(hi, n, p) > 5e-7);
	/* 50/50 traffic sent to a 90/10 route is far outside */
	ASSERT(50 > hi);
	ASSERT(10 >= lo && 10 <= hi);
}

TEST(retry_bound)
{
	/* 50% failing server, 4 attempts: success 93.75%. Without retries ~50%. */
	uint64_t n = 100, lo = binom_lower(n, 1 - pow(0.5, 4), 1e-6);

	ASSERT(lo > 60 && lo < 93);
	ASSERT(binom_cdf(lo - 1, n, 0.9375) <= 1e-6);
	ASSERT(binom_sf(lo, n, 0.5) < 1e-6); /* no retries: caught */
}

/*
 * 20000 healthy windows of 100 Bernoulli(0.1). Each falls outside the
 * interval with probability q <= alpha = 1e-6, so the count outside is at most
 * Binomial(20000, 1e-6) (mean 0.02): 4 or more happens with probability
 * < 1e-8, while an interval of the wrong width (alpha 1e-3: ~20 outside) fails.
 * Demanding 0 outside would fail a healthy build ~2% of runs.
 */
#define SIM_WINDOWS_STATS 20000
#define SIM_ALLOWED_OUT 3

TEST(simulated_false_alarm_rate)
{
	uint64_t lo, hi;
	int w, i, out = 0;

	/* the allowance is sized from alpha, not from what this run saw */
	ASSERT(binom_sf(SIM_ALLOWED_OUT + 1, SIM_WINDOWS_STATS, 1e-6) < 1e-6);
	binom_interval(100, 0.1, 1e-6, &lo, &hi);
	ASSERT((lo ? binom_cdf(lo - 1, 100, 0.1) : 0) + binom_sf(hi + 1, 100, 0.1) <= 1e-6);
	h_rand_init();
	for (w = 0; w < SIM_WINDOWS_STATS; w++) {
		uint64_t k = 0;

		for (i = 0; i < 100; i++)
			k += h_rand_unit() < 0.1;
		out += (k < lo || k > hi);
	}
	printf("# %d of %d windows outside [%" PRIu64 ", %" PRIu64 "]\n", out,
	       SIM_WINDOWS_STATS, lo, hi);
	ASSERT(out <= SIM_ALLOWED_OUT);
}

TEST(min_n)
{
	uint64_t n = binom_min_n(0.1, 0.5, 1e-6, 100000);

	ASSERT(n > 10 && n < 200);
}

int main(void)
{
	RUN(cdf_closed_forms);
	RUN(edges);
	RUN(interval_holds_alpha);
	RUN(retry_bound);
	RUN(simulated_false_alarm_rate);
	RUN(min_n);
	TEST_MAIN_END();
}
