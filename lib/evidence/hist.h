/*
 * hist.h - log-bucketed latency histogram in microseconds. Values below 16 µs
 * have exact buckets; above, each power of two is split into 8 sub-buckets
 * (relative error <= 12.5%). Histograms add, serialise sparsely and give back
 * percentiles, so per-second aggregates can be merged into windows and runs.
 */
#ifndef CONFORM_HIST_H
#define CONFORM_HIST_H

#include <stddef.h>
#include <stdint.h>

#define HIST_BUCKETS 304   /* 0 .. 2^40 µs (~12.7 days); larger values land in the last */

struct hist {
	uint64_t count;
	uint64_t sum_us;
	uint64_t max_us;
	uint64_t b[HIST_BUCKETS];
};

void hist_init(struct hist *h);
void hist_add(struct hist *h, uint64_t us);
void hist_merge(struct hist *dst, const struct hist *src);
/* Bucket index of a value, and the lowest / highest value a bucket holds. */
unsigned hist_index(uint64_t us);
uint64_t hist_bucket_low(unsigned idx);
uint64_t hist_bucket_high(unsigned idx);
/*
 * Value at quantile q (0..1): the upper bound of the bucket holding the
 * q-th value, capped at max_us. 0 for an empty histogram.
 */
uint64_t hist_quantile(const struct hist *h, double q);

/*
 * Sparse form, as on the wire (Bucket.hist_index/hist_count) and in the
 * store: pairs of (index, count) with count > 0, indexes ascending.
 * hist_add_sparse validates: index < HIST_BUCKETS, ascending, count > 0;
 * returns -1 on bad input (and leaves h unchanged).
 */
int hist_add_sparse(struct hist *h, const uint32_t *idx, const uint64_t *cnt, size_t n);
/* Number of non-empty buckets, and fill idx/cnt (each room for HIST_BUCKETS). */
size_t hist_to_sparse(const struct hist *h, uint32_t *idx, uint64_t *cnt);

/*
 * Blob form for SQLite: a compact byte string of varint (index delta, count)
 * pairs. hist_blob_encode returns a new buffer the caller frees (NULL on OOM);
 * hist_blob_decode adds the blob into h (count/sum/max are not in the blob
 * and must be kept by the caller), -1 on malformed input.
 */
unsigned char *hist_blob_encode(const struct hist *h, size_t *len);
int hist_blob_decode(struct hist *h, const unsigned char *p, size_t len);
/*
 * hist_quantile for each q[k] of the histogram a blob holds (with max_us
 * kept by the caller), into out[k], straight from the blob: what decoding
 * it and asking hist_quantile gives, without the 304 buckets. q ascending.
 * 0, or -1 on a malformed blob (out then all 0).
 */
int hist_blob_quantiles(const unsigned char *p, size_t len, uint64_t max_us, const double *q,
			uint64_t *out, size_t nq);

#endif
