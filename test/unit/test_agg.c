/*
 * test_agg.c - the client aggregator: keying, histograms and attempts per
 * row, flush detaching and resetting, per-check totals, and the Batch it
 * packs decoding back to the same numbers.
 */
#include "evidence/agg.h"
#include "conform.pb-c.h"
#include "harness.h"
#include "evidence/outcome.h"

TEST(keys_and_rows)
{
	struct agg *a = agg_new();
	struct agg_row *rows = NULL;
	size_t n = 0;

	ASSERT(a);
	ASSERT_EQ(agg_add(a, "http.basic", OUT_OK, 200, "v1", "", 100, 1000, 1), 0);
	ASSERT_EQ(agg_add(a, "http.basic", OUT_OK, 200, "v1", "", 100, 3000, 2), 0);
	ASSERT_EQ(agg_add(a, "http.basic", OUT_OK, 200, "v2", "", 100, 500, 1), 0);
	ASSERT_EQ(agg_add(a, "http.basic", OUT_HTTP_5XX, 503, "v1", "", 100, 200, 9), 0);
	ASSERT_EQ(agg_add(a, "http.basic", OUT_OK, 200, "v1", "", 101, 700, 0), 0);
	ASSERT_EQ(agg_add(a, "grpc.basic", OUT_OK, 0, "v1", "id-a", 100, 10, 1), 0);
	ASSERT_EQ(agg_pending(a), 5);
	ASSERT_EQ(agg_flush(a, "http-client", &rows, &n), 0);
	ASSERT_EQ(n, 5);
	ASSERT_EQ(agg_pending(a), 0);
	/* sorted by second, then check, outcome, code, backend */
	ASSERT_STR_EQ(rows[0].check, "grpc.basic");
	ASSERT_STR_EQ(rows[0].identity, "id-a");
	ASSERT_STR_EQ(rows[1].backend, "v1");
	ASSERT_EQ(rows[1].outcome, OUT_OK);
	ASSERT_UEQ(rows[1].h.count, 2);
	ASSERT_UEQ(rows[1].h.sum_us, 4000);
	ASSERT_UEQ(rows[1].h.max_us, 3000);
	ASSERT_UEQ(rows[1].attempts[0], 1);
	ASSERT_UEQ(rows[1].attempts[1], 1);
	ASSERT_STR_EQ(rows[1].workload, "http-client");
	ASSERT_STR_EQ(rows[2].backend, "v2");
	ASSERT_EQ(rows[3].outcome, OUT_HTTP_5XX);
	ASSERT_EQ(rows[3].code, 503);
	ASSERT_UEQ(rows[3].attempts[7], 1);    /* attempt 9 lands in the last slot */
	ASSERT_EQ(rows[4].second, 101);
	ASSERT_UEQ(rows[4].attempts[0], 0);    /* attempt 0 = no reply: not counted */
	free(rows);
	/* nothing left: an empty flush */
	ASSERT_EQ(agg_flush(a, "x", &rows, &n), 0);
	ASSERT_EQ(n, 0);
	ASSERT(rows == NULL);
	agg_free(a);
}

TEST(totals_survive_flush)
{
	struct agg *a = agg_new();
	struct agg_total t[4];
	struct agg_row *rows;
	size_t n;
	int i;

	ASSERT(a);
	for (i = 0; i < 10; i++)
		agg_add(a, "http.basic", i < 7 ? OUT_OK : OUT_TIMEOUT, 0, "", "", 5, 1, 0);
	ASSERT_EQ(agg_flush(a, "w", &rows, &n), 0);
	free(rows);
	agg_add(a, "grpc.stream", OUT_STREAM_RESET, 14, "", "", 6, 0, 0);
	agg_add(a, "http.basic", OUT_CLIENT_OVERLOAD, 0, "", "", 6, 0, 0);
	ASSERT_EQ(agg_totals(a, t, 4), 2);
	ASSERT_STR_EQ(t[0].check, "http.basic");
	ASSERT_UEQ(t[0].requests, 11);
	ASSERT_UEQ(t[0].ok, 7);
	ASSERT_UEQ(t[0].failed, 4);
	ASSERT_UEQ(t[0].max_us, 1);
	ASSERT_UEQ(t[0].p99_us, 1);
	ASSERT_STR_EQ(t[1].check, "grpc.stream");
	ASSERT_UEQ(t[1].failed, 1);
	agg_free(a);
}

TEST(truncates_long_strings)
{
	struct agg *a = agg_new();
	struct agg_row *rows;
	size_t n;
	char big[600];

	ASSERT(a);
	memset(big, 'i', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	agg_add(a, "c", OUT_OK, 0, big, big, 1, 1, 1);
	ASSERT_EQ(agg_flush(a, "w", &rows, &n), 0);
	ASSERT_EQ(n, 1);
	ASSERT_EQ(strlen(rows[0].backend), 31);
	ASSERT_EQ(strlen(rows[0].identity), 255);
	free(rows);
	agg_free(a);
}

TEST(pack_roundtrip)
{
	struct agg *a = agg_new();
	struct agg_row *rows;
	size_t n, len, i;
	uint8_t *buf;
	Conform__V1__Batch *b;
	uint64_t hsum = 0;

	ASSERT(a);
	for (i = 0; i < 100; i++)
		agg_add(a, "grpc.basic", OUT_OK, 0, "v1", "me", 42, i * 100, i % 3 + 1);
	agg_add(a, "grpc.basic", OUT_GRPC_ERROR, 14, "", "", 42, 5000, 0);
	ASSERT_EQ(agg_flush(a, "grpc-client", &rows, &n), 0);
	ASSERT_EQ(n, 2);
	ASSERT(agg_row_packed_size(&rows[0]) > 20);
	buf = agg_pack_batch("grpc-client", "tok", 0xabcdefull, 7, rows, n, &len);
	ASSERT(buf);
	b = conform__v1__batch__unpack(NULL, len, buf);
	ASSERT(b);
	ASSERT_STR_EQ(b->workload, "grpc-client");
	ASSERT_STR_EQ(b->token, "tok");
	ASSERT_UEQ(b->instance, 0xabcdefull);
	ASSERT_UEQ(b->seq, 7);
	ASSERT_EQ(b->n_buckets, 2);
	ASSERT_STR_EQ(b->buckets[0]->check, "grpc.basic");
	ASSERT_UEQ(b->buckets[0]->count, 100);
	ASSERT_UEQ(b->buckets[0]->latency_max_us, 9900);
	ASSERT_UEQ(b->buckets[0]->latency_sum_us, 495000);
	ASSERT_EQ(b->buckets[0]->n_attempts, 3);
	ASSERT_UEQ(b->buckets[0]->attempts[0], 34);
	ASSERT_EQ(b->buckets[0]->n_hist_index, b->buckets[0]->n_hist_count);
	for (i = 0; i < b->buckets[0]->n_hist_count; i++)
		hsum += b->buckets[0]->hist_count[i];
	ASSERT_UEQ(hsum, 100);
	ASSERT_EQ(b->buckets[1]->outcome, OUT_GRPC_ERROR);
	ASSERT_EQ(b->buckets[1]->code, 14);
	ASSERT_EQ(b->buckets[1]->n_attempts, 0);
	conform__v1__batch__free_unpacked(b, NULL);
	free(buf);
	free(rows);
	agg_free(a);
}

int main(void)
{
	RUN(keys_and_rows);
	RUN(totals_survive_flush);
	RUN(truncates_long_strings);
	RUN(pack_roundtrip);
	TEST_MAIN_END();
}
