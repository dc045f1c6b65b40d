/*
 * fuzz_batch.c - libFuzzer target for what the collector does with a
 * message from the network: protobuf-c unpack of conform.v1.Batch, then the
 * collector's validation and conversion to agg_row. Rows that pass must
 * satisfy what the store and the evaluator rely on.
 *
 * The validation is collector_validate_batch() once lib/collector.h exports
 * it (the Makefile defines FUZZ_HAVE_VALIDATE_BATCH when it does); until
 * then this file compiles lib/collector.c into itself to reach the static
 * coll_validate().
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conform.pb-c.h"
#include "check.h"
#include "fuzz.h"
#include "hist.h"
#include "outcome.h"

#ifdef FUZZ_HAVE_VALIDATE_BATCH
#include "collector.h"
#else
#include "../../lib/collector.c"
#endif

/* the seeds in corpus/batch carry this token */
#define FUZZ_TOKEN "0123456789abcdef0123456789abcdef"

static int validate(const Conform__V1__Batch *b, struct agg_row **rows, size_t *n, char *err,
		    size_t errlen)
{
#ifdef FUZZ_HAVE_VALIDATE_BATCH
	return collector_validate_batch(b, FUZZ_TOKEN, rows, n, err, errlen);
#else
	static struct collector c;

	str_copy(c.token, sizeof(c.token), FUZZ_TOKEN);
	*n = b->n_buckets;
	return coll_validate(&c, b, rows, err, errlen);
#endif
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
	size_t n = 0, i;
	char err[256];

	if (size > (1u << 20))
		return 0;   /* the collector refuses messages over 1 MiB */
	b = conform__v1__batch__unpack(NULL, size, data);
	if (!b)
		return 0;
	if (validate(b, &rows, &n, err, sizeof(err)) == 0) {
		FUZZ_CHECK(n == b->n_buckets && (!n || rows));
		for (i = 0; i < n; i++)
			check_row(b, &rows[i]);
	} else {
		FUZZ_CHECK(terminated(err, sizeof(err)) && err[0]);
	}
	free(rows);
	conform__v1__batch__free_unpacked(b, NULL);
	return 0;
}
