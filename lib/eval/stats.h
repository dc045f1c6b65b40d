/*
 * stats.h - exact binomial tails and acceptance bounds. The statistical checks
 * (split.weights, retry.http) accept a window only when its count lies inside
 * a bound chosen so that a healthy mesh falls outside with probability below
 * alpha (1e-6 by default): days of windows without false alarms.
 */
#ifndef CONFORM_STATS_H
#define CONFORM_STATS_H

#include <stdint.h>

#define STATS_ALPHA 1e-6

/* P(X <= k) and P(X >= k) for X ~ Binomial(n, p). */
double binom_cdf(uint64_t k, uint64_t n, double p);
double binom_sf(uint64_t k, uint64_t n, double p);

/*
 * Two-sided acceptance interval [*lo, *hi] for X ~ Binomial(n, p):
 * P(X < lo) <= alpha/2 and P(X > hi) <= alpha/2, as tight as that allows.
 */
void binom_interval(uint64_t n, double p, double alpha, uint64_t *lo, uint64_t *hi);

/* One-sided lower bound: the largest lo with P(X < lo) <= alpha. */
uint64_t binom_lower(uint64_t n, double p, double alpha);

/*
 * Smallest n for which a two-sided test at alpha can tell p from q
 * (the intervals of p and q at n do not overlap), capped at cap; used to say
 * NODATA instead of guessing when a window has too few requests.
 */
uint64_t binom_min_n(double p, double q, double alpha, uint64_t cap);

#endif
