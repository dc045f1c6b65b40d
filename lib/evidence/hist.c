/*
 * hist.c - log-bucketed latency histogram (see hist.h). Bucket layout:
 * 0..15 exact, then 8 linear sub-buckets per power of two.
 */
#include "evidence/hist.h"

#include <stdlib.h>
#include <string.h>

void hist_init(struct hist *h)
{
	memset(h, 0, sizeof(*h));
}

unsigned hist_index(uint64_t us)
{
	unsigned e;

	if (us < 16)
		return (unsigned)us;
	e = 63u - (unsigned)__builtin_clzll(us);
	if (e > 39)
		return HIST_BUCKETS - 1;
	return 16u + (e - 4u) * 8u + (unsigned)((us >> (e - 3u)) & 7u);
}

uint64_t hist_bucket_low(unsigned idx)
{
	unsigned e, sub;

	if (idx < 16)
		return idx;
	if (idx >= HIST_BUCKETS)
		idx = HIST_BUCKETS - 1;
	e = 4u + (idx - 16u) / 8u;
	sub = (idx - 16u) % 8u;
	return (uint64_t)(8u + sub) << (e - 3u);
}

uint64_t hist_bucket_high(unsigned idx)
{
	unsigned e;

	if (idx < 16)
		return idx;
	if (idx >= HIST_BUCKETS)
		idx = HIST_BUCKETS - 1;
	e = 4u + (idx - 16u) / 8u;
	return hist_bucket_low(idx) + ((uint64_t)1 << (e - 3u)) - 1u;
}

void hist_add(struct hist *h, uint64_t us)
{
	h->b[hist_index(us)]++;
	h->count++;
	h->sum_us += us;
	if (us > h->max_us)
		h->max_us = us;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
	unsigned i;

	for (i = 0; i < HIST_BUCKETS; i++)
		dst->b[i] += src->b[i];
	dst->count += src->count;
	dst->sum_us += src->sum_us;
	if (src->max_us > dst->max_us)
		dst->max_us = src->max_us;
}

uint64_t hist_quantile(const struct hist *h, double q)
{
	uint64_t total = 0, rank, seen = 0, v;
	unsigned i;

	for (i = 0; i < HIST_BUCKETS; i++)
		total += h->b[i];
	if (!total)
		return 0;
	if (q < 0)
		q = 0;
	if (q > 1)
		q = 1;
	rank = (uint64_t)(q * (double)total + 0.999999);
	if (rank < 1)
		rank = 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank)
			break;
	}
	if (i == HIST_BUCKETS)
		i = HIST_BUCKETS - 1;
	v = hist_bucket_high(i);
	if (h->max_us && v > h->max_us)
		v = h->max_us;
	return v;
}

int hist_add_sparse(struct hist *h, const uint32_t *idx, const uint64_t *cnt, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (idx[i] >= HIST_BUCKETS || cnt[i] == 0)
			return -1;
		if (i && idx[i] <= idx[i - 1])
			return -1;
	}
	for (i = 0; i < n; i++)
		h->b[idx[i]] += cnt[i];
	return 0;
}

size_t hist_to_sparse(const struct hist *h, uint32_t *idx, uint64_t *cnt)
{
	size_t n = 0;
	unsigned i;

	for (i = 0; i < HIST_BUCKETS; i++) {
		if (!h->b[i])
			continue;
		idx[n] = i;
		cnt[n] = h->b[i];
		n++;
	}
	return n;
}

static size_t put_varint(unsigned char *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (unsigned char)v;
	return n;
}

static int get_varint(const unsigned char *p, size_t len, size_t *off, uint64_t *v)
{
	uint64_t r = 0;
	unsigned shift = 0;

	while (*off < len) {
		unsigned char c = p[(*off)++];

		if (shift >= 64 || (shift == 63 && (c & 0x7e)))
			return -1;
		r |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*v = r;
			return 0;
		}
		shift += 7;
	}
	return -1;
}

unsigned char *hist_blob_encode(const struct hist *h, size_t *len)
{
	/* worst case: every bucket, 2 + 10 bytes each */
	unsigned char *p = malloc(HIST_BUCKETS * 12 + 1);
	size_t n = 0;
	unsigned i, prev = 0;

	if (!p)
		return NULL;
	for (i = 0; i < HIST_BUCKETS; i++) {
		if (!h->b[i])
			continue;
		n += put_varint(p + n, i - prev);
		n += put_varint(p + n, h->b[i]);
		prev = i;
	}
	*len = n;
	return p;
}

int hist_blob_decode(struct hist *h, const unsigned char *p, size_t len)
{
	uint64_t tmp[HIST_BUCKETS];
	size_t off = 0;
	uint64_t idx = 0;
	int first = 1;
	unsigned i;

	memset(tmp, 0, sizeof(tmp));
	while (off < len) {
		uint64_t d, c;

		if (get_varint(p, len, &off, &d) || get_varint(p, len, &off, &c))
			return -1;
		if (!first && d == 0)
			return -1;
		first = 0;
		if (d >= HIST_BUCKETS || idx + d >= HIST_BUCKETS || c == 0)
			return -1;
		idx += d;
		tmp[idx] = c;
	}
	for (i = 0; i < HIST_BUCKETS; i++)
		h->b[i] += tmp[i];
	return 0;
}

int hist_blob_quantiles(const unsigned char *p, size_t len, uint64_t max_us, const double *q,
			uint64_t *out, size_t nq)
{
	uint64_t total = 0, seen = 0, idx = 0, rank[8];
	size_t off = 0, k = 0, i;
	int first = 1;

	memset(out, 0, nq * sizeof(*out));
	if (nq > sizeof(rank) / sizeof(rank[0]))
		return -1;
	/* one pass to validate and count, as hist_blob_decode does */
	while (off < len) {
		uint64_t d, c;

		if (get_varint(p, len, &off, &d) || get_varint(p, len, &off, &c))
			return -1;
		if ((!first && d == 0) || d >= HIST_BUCKETS || idx + d >= HIST_BUCKETS || c == 0)
			return -1;
		first = 0;
		idx += d;
		total += c;
	}
	if (!total)
		return 0;
	for (i = 0; i < nq; i++) {
		double x = q[i] < 0 ? 0 : q[i] > 1 ? 1 : q[i];

		rank[i] = (uint64_t)(x * (double)total + 0.999999);
		if (rank[i] < 1)
			rank[i] = 1;
	}
	/* a second to find each rank's bucket (the blob is ascending) */
	off = 0;
	idx = 0;
	while (off < len && k < nq) {
		uint64_t d, c;

		get_varint(p, len, &off, &d);
		get_varint(p, len, &off, &c);
		idx += d;
		seen += c;
		while (k < nq && seen >= rank[k]) {
			uint64_t v = hist_bucket_high((unsigned)idx);

			out[k++] = max_us && v > max_us ? max_us : v;
		}
	}
	/* counts that wrapped around: hist_quantile answers the last bucket */
	for (; k < nq; k++) {
		uint64_t v = hist_bucket_high(HIST_BUCKETS - 1);

		out[k] = max_us && v > max_us ? max_us : v;
	}
	return 0;
}
