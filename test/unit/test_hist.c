/*
 * test_hist.c - the latency histogram: bucket layout is monotone and
 * contiguous, quantiles land within the promised 12.5% on known
 * distributions, sparse and blob forms round-trip, malformed input is refused.
 */
#include "harness.h"
#include "evidence/hist.h"

TEST(index_bounds_monotone)
{
	unsigned i;
	uint64_t v;

	for (v = 0; v < 16; v++)
		ASSERT_EQ(hist_index(v), v);
	for (i = 0; i + 1 < HIST_BUCKETS; i++) {
		ASSERT(hist_bucket_low(i) <= hist_bucket_high(i));
		/* buckets tile the axis: no gaps, no overlaps */
		ASSERT_UEQ(hist_bucket_high(i) + 1, hist_bucket_low(i + 1));
		ASSERT_EQ(hist_index(hist_bucket_low(i)), i);
		ASSERT_EQ(hist_index(hist_bucket_high(i)), i);
	}
	for (v = 1; v < (1u << 20); v = v * 3 + 1)
		ASSERT(hist_index(v) >= hist_index(v - 1));
	ASSERT_EQ(hist_index(UINT64_MAX), HIST_BUCKETS - 1);
	ASSERT_EQ(hist_index((uint64_t)1 << 45), HIST_BUCKETS - 1);
	/* relative width of a bucket above 16 µs is at most 1/8 */
	for (i = 16; i + 1 < HIST_BUCKETS; i++)
		ASSERT((hist_bucket_high(i) - hist_bucket_low(i) + 1) * 8 <= hist_bucket_low(i));
}

TEST(quantiles_uniform)
{
	struct hist h;
	uint64_t v;

	hist_init(&h);
	ASSERT_UEQ(hist_quantile(&h, 0.5), 0);
	for (v = 1; v <= 10000; v++)
		hist_add(&h, v * 100);   /* 100 µs .. 1 s */
	ASSERT_UEQ(h.count, 10000);
	ASSERT_UEQ(h.max_us, 1000000);
	ASSERT_UEQ(h.sum_us, 100ull * 10000 * 10001 / 2);
	ASSERT_NEAR((double)hist_quantile(&h, 0.50), 500000.0, 500000.0 * 0.125);
	ASSERT_NEAR((double)hist_quantile(&h, 0.90), 900000.0, 900000.0 * 0.125);
	ASSERT_NEAR((double)hist_quantile(&h, 0.99), 990000.0, 990000.0 * 0.125);
	/* upper bound of the bucket, capped at the max seen */
	ASSERT(hist_quantile(&h, 0.50) >= 500000);
	ASSERT_UEQ(hist_quantile(&h, 1.0), 1000000);
	ASSERT(hist_quantile(&h, 0.0) <= hist_quantile(&h, 0.5));
}

TEST(quantiles_bimodal_and_merge)
{
	struct hist a, b;
	int i;

	hist_init(&a);
	hist_init(&b);
	for (i = 0; i < 980; i++)
		hist_add(&a, 1000);      /* 1 ms */
	for (i = 0; i < 20; i++)
		hist_add(&b, 2000000);   /* 2 s stragglers */
	hist_merge(&a, &b);
	ASSERT_UEQ(a.count, 1000);
	ASSERT_UEQ(a.max_us, 2000000);
	ASSERT_NEAR((double)hist_quantile(&a, 0.50), 1000.0, 125.0);
	ASSERT_NEAR((double)hist_quantile(&a, 0.98), 1000.0, 125.0);
	ASSERT_NEAR((double)hist_quantile(&a, 0.99), 2000000.0, 250000.0);
	/* exact buckets below 16 µs */
	hist_init(&b);
	hist_add(&b, 7);
	ASSERT_UEQ(hist_quantile(&b, 0.5), 7);
}

TEST(sparse_round_trip)
{
	struct hist h, g;
	uint32_t idx[HIST_BUCKETS];
	uint64_t cnt[HIST_BUCKETS];
	size_t n, i;

	hist_init(&h);
	hist_init(&g);
	hist_add(&h, 3);
	hist_add(&h, 3);
	hist_add(&h, 900);
	hist_add(&h, 123456789);
	n = hist_to_sparse(&h, idx, cnt);
	ASSERT_EQ(n, 3);
	ASSERT_EQ(idx[0], 3);
	ASSERT_UEQ(cnt[0], 2);
	ASSERT_EQ(hist_add_sparse(&g, idx, cnt, n), 0);
	for (i = 0; i < HIST_BUCKETS; i++)
		ASSERT_UEQ(g.b[i], h.b[i]);
}

TEST(sparse_rejects_bad_input)
{
	struct hist g;
	uint32_t idx[3] = { 5, 4, 6 };
	uint64_t cnt[3] = { 1, 1, 1 };
	uint32_t big[1] = { HIST_BUCKETS };
	uint64_t zero[1] = { 0 };
	uint32_t dup[2] = { 5, 5 };
	uint64_t one2[2] = { 1, 1 };
	unsigned i;

	hist_init(&g);
	ASSERT_EQ(hist_add_sparse(&g, idx, cnt, 3), -1);     /* not ascending */
	ASSERT_EQ(hist_add_sparse(&g, big, cnt, 1), -1);     /* out of range */
	ASSERT_EQ(hist_add_sparse(&g, idx, zero, 1), -1);    /* zero count */
	ASSERT_EQ(hist_add_sparse(&g, dup, one2, 2), -1);    /* duplicate */
	for (i = 0; i < HIST_BUCKETS; i++)
		ASSERT_UEQ(g.b[i], 0);                       /* untouched */
}

TEST(blob_round_trip)
{
	struct hist h, g;
	unsigned char *p;
	size_t len = 0;
	unsigned i;

	hist_init(&h);
	hist_init(&g);
	for (i = 0; i < 5000; i++)
		hist_add(&h, (uint64_t)i * i * 37);
	hist_add(&h, UINT64_MAX);
	p = hist_blob_encode(&h, &len);
	ASSERT(p);
	ASSERT(len > 0);
	ASSERT_EQ(hist_blob_decode(&g, p, len), 0);
	for (i = 0; i < HIST_BUCKETS; i++)
		ASSERT_UEQ(g.b[i], h.b[i]);
	free(p);
	/* empty histogram: empty blob, decodes to nothing */
	hist_init(&h);
	p = hist_blob_encode(&h, &len);
	ASSERT(p);
	ASSERT_EQ(len, 0);
	ASSERT_EQ(hist_blob_decode(&g, p, 0), 0);
	free(p);
}

TEST(blob_rejects_malformed)
{
	struct hist g;
	/* truncated varint */
	static const unsigned char trunc[] = { 0x05, 0x81 };
	/* odd number of varints: index without count */
	static const unsigned char odd[] = { 0x05 };
	/* count zero */
	static const unsigned char zero[] = { 0x05, 0x00 };
	/* index past the end: 300 + 10 */
	static const unsigned char past[] = { 0xac, 0x02, 0x01, 0x0a, 0x01 };
	/* repeated index (delta 0 after the first) */
	static const unsigned char rep[] = { 0x05, 0x01, 0x00, 0x01 };
	/* varint longer than 64 bits */
	static const unsigned char huge[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					      0xff, 0xff, 0x01, 0x01 };
	unsigned i;

	hist_init(&g);
	ASSERT_EQ(hist_blob_decode(&g, trunc, sizeof(trunc)), -1);
	ASSERT_EQ(hist_blob_decode(&g, odd, sizeof(odd)), -1);
	ASSERT_EQ(hist_blob_decode(&g, zero, sizeof(zero)), -1);
	ASSERT_EQ(hist_blob_decode(&g, past, sizeof(past)), -1);
	ASSERT_EQ(hist_blob_decode(&g, rep, sizeof(rep)), -1);
	ASSERT_EQ(hist_blob_decode(&g, huge, sizeof(huge)), -1);
	for (i = 0; i < HIST_BUCKETS; i++)
		ASSERT_UEQ(g.b[i], 0);   /* a rejected blob adds nothing */
}

int main(void)
{
	RUN(index_bounds_monotone);
	RUN(quantiles_uniform);
	RUN(quantiles_bimodal_and_merge);
	RUN(sparse_round_trip);
	RUN(sparse_rejects_bad_input);
	RUN(blob_round_trip);
	RUN(blob_rejects_malformed);
	TEST_MAIN_END();
}
