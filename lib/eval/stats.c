/*
 * stats.c - binomial tails summed in log space (lgamma), exact enough for
 * alpha down to 1e-12 at the window sizes conform sees (n up to millions).
 */
#include "eval/stats.h"

#include <math.h>

static double log_pmf(uint64_t k, uint64_t n, double p)
{
	double dk = (double)k, dn = (double)n;

	return lgamma(dn + 1) - lgamma(dk + 1) - lgamma(dn - dk + 1) +
	       dk * log(p) + (dn - dk) * log1p(-p);
}

double binom_cdf(uint64_t k, uint64_t n, double p)
{
	double sum = 0, mode_lp, lp;
	uint64_t i;

	if (k >= n || p <= 0)
		return 1.0;
	if (p >= 1)
		return 0.0;
	/* sum from k downwards: terms shrink quickly below the mode */
	mode_lp = log_pmf(k, n, p);
	for (i = k + 1; i-- > 0;) {
		lp = log_pmf(i, n, p);
		sum += exp(lp - mode_lp);
		if (lp - mode_lp < -40 && (double)i < (double)n * p)
			break;
	}
	sum *= exp(mode_lp);
	return sum > 1 ? 1 : sum;
}

double binom_sf(uint64_t k, uint64_t n, double p)
{
	double sum = 0, first, lp;
	uint64_t i;

	if (k == 0 || p >= 1)
		return 1.0;
	if (k > n || p <= 0)
		return 0.0;
	first = log_pmf(k, n, p);
	for (i = k; i <= n; i++) {
		lp = log_pmf(i, n, p);
		sum += exp(lp - first);
		if (lp - first < -40 && (double)i > (double)n * p)
			break;
	}
	sum *= exp(first);
	return sum > 1 ? 1 : sum;
}

uint64_t binom_lower(uint64_t n, double p, double alpha)
{
	uint64_t lo = 0, hi, mid;

	if (p <= 0 || n == 0)
		return 0;
	if (p >= 1)
		return n;
	/* largest lo with P(X <= lo-1) <= alpha; cdf is monotone in k */
	hi = (uint64_t)((double)n * p) + 1;
	if (hi > n)
		hi = n;
	while (lo < hi) {
		mid = lo + (hi - lo + 1) / 2;
		if (binom_cdf(mid - 1, n, p) <= alpha)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

void binom_interval(uint64_t n, double p, double alpha, uint64_t *lo, uint64_t *hi)
{
	uint64_t a, b, mid;

	*lo = binom_lower(n, p, alpha / 2);
	if (p <= 0) {
		*hi = 0;
		return;
	}
	if (p >= 1 || n == 0) {
		*hi = n;
		return;
	}
	/* smallest hi with P(X >= hi+1) <= alpha/2 */
	a = (uint64_t)((double)n * p);
	b = n;
	while (a < b) {
		mid = a + (b - a) / 2;
		if (binom_sf(mid + 1, n, p) <= alpha / 2)
			b = mid;
		else
			a = mid + 1;
	}
	*hi = a;
}

uint64_t binom_min_n(double p, double q, double alpha, uint64_t cap)
{
	uint64_t n, plo, phi, qlo, qhi;

	for (n = 1; n <= cap; n += (n < 64 ? 1 : n / 16)) {
		binom_interval(n, p, alpha, &plo, &phi);
		binom_interval(n, q, alpha, &qlo, &qhi);
		if (phi < qlo || qhi < plo)
			return n;
	}
	return cap;
}
