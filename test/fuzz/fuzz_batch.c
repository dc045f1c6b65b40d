/*
 * fuzz_batch.c - libFuzzer target for what the collector does with a
 * message from the network: protobuf-c unpack of conform.v1.Batch, then the
 * collector's validation (collector_validate_batch) and conversion to
 * agg_row and samples. Rows and samples that pass must satisfy what the
 * store and the evaluator rely on.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conform.pb-c.h"
#include "checks/check.h"
#include "fuzz.h"
#include "evidence/hist.h"
#include "evidence/outcome.h"

#include "ingest/collector.h"

/* the seeds in corpus/batch carry this token */
#define FUZZ_TOKEN "0123456789abcdef0123456789abcdef"

static int validate(const Conform__V1__Batch *b, struct agg_row **rows, size_t *n,
		    struct store_sample **samples, size_t *nsamples, char *err, size_t errlen)
{
	return collector_validate_batch(b, FUZZ_TOKEN, rows, n, samples, nsamples, err, errlen);
}

static int terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

/* What a valid row promises the store, the evaluator and the report. */
static void check_row(const Conform__V1__Batch *b, const struct agg_row *r)
{
	uint64_t sum = 0, att = 0;
	size_t i;

	FUZZ_CHECK(terminated(r->check, sizeof(r->check)) && r->check[0]);
	FUZZ_CHECK(terminated(r->workload, sizeof(r->workload)) &&
		   !strcmp(r->workload, b->workload));
	FUZZ_CHECK(terminated(r->backend, sizeof(r->backend)) &&
		   terminated(r->identity, sizeof(r->identity)));
	FUZZ_CHECK(outcome_valid(r->outcome));
	FUZZ_CHECK(r->h.count > 0 && r->h.max_us <= r->h.sum_us);
	for (i = 0; i < HIST_BUCKETS; i++) {
		/* a bucket above the total: the bucket counts wrapped around */
		FUZZ_CHECK(r->h.b[i] <= r->h.count);
		sum += r->h.b[i];
	}
	FUZZ_CHECK(sum == r->h.count);
	for (i = 0; i < 8; i++) {
		/* an entry above the total: the attempts sum wrapped around */
		FUZZ_CHECK(r->attempts[i] <= r->h.count);
		att += r->attempts[i];
	}
	FUZZ_CHECK(att <= r->h.count);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Conform__V1__Batch *b;
	struct agg_row *rows = NULL;
	struct store_sample *samples = NULL;
	size_t n = 0, ns = 0, i;
	char err[256];

	if (size > (1u << 20))
		return 0;   /* the collector refuses messages over 1 MiB */
	b = conform__v1__batch__unpack(NULL, size, data);
	if (!b)
		return 0;
	if (validate(b, &rows, &n, &samples, &ns, err, sizeof(err)) == 0) {
		FUZZ_CHECK(n == b->n_buckets && (!n || rows));
		for (i = 0; i < n; i++)
			check_row(b, &rows[i]);
		FUZZ_CHECK(ns == b->n_samples && ns <= COLLECTOR_MAX_SAMPLES && (!ns || samples));
		for (i = 0; i < ns; i++) {
			const struct store_sample *x = &samples[i];

			FUZZ_CHECK(terminated(x->request_id, sizeof(x->request_id)) &&
				   x->request_id[0] && terminated(x->check, sizeof(x->check)) &&
				   terminated(x->backend, sizeof(x->backend)) &&
				   terminated(x->identity, sizeof(x->identity)));
			FUZZ_CHECK(outcome_valid(x->outcome));
		}
	} else {
		FUZZ_CHECK(terminated(err, sizeof(err)) && err[0]);
	}
	free(rows);
	free(samples);
	conform__v1__batch__free_unpacked(b, NULL);
	return 0;
}
