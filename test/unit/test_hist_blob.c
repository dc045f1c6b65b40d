/*
 * test_hist_blob.c - hist_blob_quantiles gives what decoding the blob and
 * asking hist_quantile gives, for random histograms (empty, one bucket,
 * long tails, max_us below a bucket's top), and refuses what
 * hist_blob_decode refuses.
 */
#include "harness.h"
#include "evidence/hist.h"

static struct hist h, d;

TEST(quantiles_from_the_blob_match_hist_quantile)
{
	static const double q[3] = { 0.0, 0.5, 0.99 };

	h_rand_init();
	for (int round = 0; round < 2000; round++) {
		int n = (int)(h_rand_unit() * (round % 3 ? 200 : 3));
		unsigned char *blob;
		uint64_t got[3];
		size_t len = 0;

		hist_init(&h);
		for (int i = 0; i < n; i++) {
			double x = h_rand_unit();
			uint64_t us = x < 0.9 ? 500 + (uint64_t)(x * 3000) :
					       (uint64_t)(h_rand_unit() * 5e9);

			hist_add(&h, us);
		}
		if (round % 5 == 0 && h.max_us > 10)
			h.max_us /= 2;    /* a max inside the top bucket caps the answer */
		blob = hist_blob_encode(&h, &len);
		ASSERT(blob);
		hist_init(&d);
		ASSERT_EQ(hist_blob_decode(&d, blob, len), 0);
		d.max_us = h.max_us;
		ASSERT_EQ(hist_blob_quantiles(blob, len, h.max_us, q, got, 3), 0);
		for (int k = 0; k < 3; k++)
			if (got[k] != hist_quantile(&d, q[k]))
				H_FAIL("round %d, q %g: %llu from the blob, %llu decoded", round, q[k],
				       (unsigned long long)got[k],
				       (unsigned long long)hist_quantile(&d, q[k]));
		free(blob);
	}
}

TEST(malformed_blobs_are_refused)
{
	static const double q[2] = { 0.5, 0.99 };
	/* a zero delta after the first pair, an index past the last bucket, a
	 * zero count, a varint cut short */
	static const unsigned char dup[] = { 3, 1, 0, 1 }, far[] = { 0xb0, 0x02, 1 },
				   zero[] = { 3, 0 }, cut[] = { 3, 0x81 };
	uint64_t out[2];

	ASSERT_EQ(hist_blob_quantiles(dup, sizeof(dup), 0, q, out, 2), -1);
	ASSERT_EQ(hist_blob_quantiles(far, sizeof(far), 0, q, out, 2), -1);
	ASSERT_EQ(hist_blob_quantiles(zero, sizeof(zero), 0, q, out, 2), -1);
	ASSERT_EQ(hist_blob_quantiles(cut, sizeof(cut), 0, q, out, 2), -1);
	ASSERT_UEQ(out[0], 0);
	ASSERT_EQ(hist_blob_quantiles(NULL, 0, 0, q, out, 2), 0);   /* empty: no requests */
	ASSERT_UEQ(out[1], 0);
}

int main(void)
{
	RUN(quantiles_from_the_blob_match_hist_quantile);
	RUN(malformed_blobs_are_refused);
	TEST_MAIN_END();
}
