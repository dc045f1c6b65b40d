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

TEST(simulated_false_alarm_rate)
{
	/* 20000 healthy windows of 100 Bernoulli(0.1): none may fall outside */
	uint64_t lo, hi;
	int w, i, out = 0;

	binom_interval(100, 0.1, 1e-6, &lo, &hi);
	for (w = 0; w < 20000; w++) {
		uint64_t k = 0;

		for (i = 0; i < 100; i++)
			k += rand_unit() < 0.1;
		out += (k < lo || k > hi);
	}
	ASSERT_EQ(out, 0);
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
