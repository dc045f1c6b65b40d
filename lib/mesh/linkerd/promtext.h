/*
 * promtext.h - a parser for the Prometheus text exposition format 0.0.4, as
 * served by the Linkerd proxy on :4191/metrics (legacy families and the
 * prometheus-client ones mixed in one body, possibly ending with "# EOF").
 *
 * A scrape becomes a prom_set: a compact, immutable array of samples whose
 * names and label values point into one private copy of the text (escapes
 * decoded in place). Checks never walk samples themselves: they sum what
 * they need with a selector (sample name + label matchers, prom_sum) or
 * visit the matching samples (prom_each).
 *
 * Grammar accepted (prometheus/common expfmt text_parse.go is the reference):
 *   # HELP name escaped-text          (escapes \\ and \n)
 *   # TYPE name counter|gauge|histogram|summary|untyped|unknown|info|stateset|gaugehistogram
 *   # anything else                   (a comment)
 *   name[{label="value",...[,]}] value [timestamp_ms]
 * Names [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*,
 * label values with the escapes \\ \" \n only, values as Go's ParseFloat
 * reads them (+Inf, -Inf, NaN, decimals, exponents; no hex), an optional
 * integer timestamp in milliseconds. A trailing '\r' is tolerated. Blank
 * lines are skipped.
 *
 * Bounds: lines over PROM_LINE_MAX bytes, more than PROM_LABELS_MAX labels
 * on a sample, names over PROM_NAME_MAX, label values over PROM_VALUE_MAX,
 * more than PROM_SAMPLES_MAX samples or a body over PROM_BODY_MAX are
 * rejected with an error naming the line. NUL bytes are rejected.
 */
#ifndef CONFORM_PROMTEXT_H
#define CONFORM_PROMTEXT_H

#include <stddef.h>
#include <stdint.h>

#define PROM_LINE_MAX (64 * 1024)
#define PROM_NAME_MAX 256
#define PROM_VALUE_MAX 4096
#define PROM_LABELS_MAX 64
#define PROM_SAMPLES_MAX 500000
#define PROM_BODY_MAX (64u * 1024 * 1024)

enum prom_type {
	PROM_UNTYPED = 0,   /* no TYPE line, "untyped" or "unknown" */
	PROM_COUNTER,
	PROM_GAUGE,
	PROM_HISTOGRAM,
	PROM_SUMMARY,
	PROM_OTHER,         /* info, stateset, gaugehistogram: kept, never differenced */
};

struct prom_set;

/*
 * Parses len bytes of text (need not be NUL-terminated) into a new set,
 * stored in *out (the caller frees it with prom_set_free).
 * Returns 0; -EINVAL for malformed text with "line N: what" in err;
 * -E2BIG when a bound above is exceeded (also with the line); -ENOMEM.
 * On error *out is NULL. err may be NULL.
 */
int prom_parse(const char *text, size_t len, struct prom_set **out, char *err, size_t errlen);

/* Frees a set from prom_parse or prom_delta; NULL is fine. */
void prom_set_free(struct prom_set *s);

/* Number of samples (in the order of the text). */
size_t prom_count(const struct prom_set *s);

/* Sample i's name ("response_total", "x_bucket"); i < prom_count(s). */
const char *prom_name(const struct prom_set *s, size_t i);

/* Sample i's value. */
double prom_value(const struct prom_set *s, size_t i);

/* Sample i's timestamp in ms into *ts_ms; 0 when it has one, -ENOENT otherwise. */
int prom_timestamp(const struct prom_set *s, size_t i, int64_t *ts_ms);

/* Value of label name on sample i, or NULL when the sample has no such label.
 * The string lives as long as the set. */
const char *prom_label(const struct prom_set *s, size_t i, const char *name);

/* Number of labels of sample i, and the j-th one (in text order). */
size_t prom_nlabels(const struct prom_set *s, size_t i);
void prom_label_at(const struct prom_set *s, size_t i, size_t j, const char **name,
		   const char **value);

/*
 * Type of sample name: the TYPE of its family, found as the name itself or
 * the name less one of the suffixes _total _bucket _count _sum _created
 * _gcount _gsum _info. PROM_UNTYPED when no TYPE line names it.
 */
enum prom_type prom_type_of(const struct prom_set *s, const char *name);

/*
 * A label matcher. As in PromQL, an absent label reads as "": {x=""}
 * matches samples without x, {x!=""} those that have a non-empty x.
 */
enum prom_op { PROM_EQ, PROM_NE };
struct prom_matcher {
	const char *label;
	enum prom_op op;
	const char *value;
};

/* 1 when sample i satisfies every one of the n matchers (n may be 0). */
int prom_matches(const struct prom_set *s, size_t i, const struct prom_matcher *m, size_t n);

/*
 * Sum of the values of the samples called name that satisfy the n matchers.
 * NaN samples are skipped. *nmatched (may be NULL) gets how many matched;
 * 0 matched gives 0.0 (tell "no such series" from zero with nmatched).
 */
double prom_sum(const struct prom_set *s, const char *name, const struct prom_matcher *m,
		size_t n, size_t *nmatched);

/*
 * Calls fn(s, i, arg) for each sample called name that satisfies the n
 * matchers, in text order; stops when fn returns non-zero and returns that.
 * 0 when every call returned 0.
 */
int prom_each(const struct prom_set *s, const char *name, const struct prom_matcher *m, size_t n,
	      int (*fn)(const struct prom_set *s, size_t i, void *arg), void *arg);

/*
 * Deltas between two scrapes of one proxy. For every sample of cur:
 *  - cumulative series (family TYPE counter, histogram or summary, except a
 *    summary's quantile samples): cur - prev; a series new in cur counts
 *    from 0 (delta = cur); a series whose value went down is a reset: the
 *    delta is the new value, never negative;
 *  - anything else (gauges, untyped): the value of cur.
 * When both scrapes carry process_start_time_seconds and it changed, the
 * process restarted: every cumulative series is a reset (delta = cur).
 * The result is a new set with cur's names and labels (same selectors);
 * the caller frees it. prev may be NULL (first scrape: delta = cur).
 * resets (may be NULL) gets the number of reset series, restarted (may be
 * NULL) 1 when process_start_time_seconds changed.
 * Returns 0, or -ENOMEM (then *out is NULL).
 */
int prom_delta(const struct prom_set *prev, const struct prom_set *cur, struct prom_set **out,
	       uint64_t *resets, int *restarted);

#endif
