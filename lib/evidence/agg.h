/*
 * agg.h - the client-side per-second aggregator. Every finished request is
 * added under its key (check, outcome, code, backend, identity, second of the
 * intended send time) into a latency histogram and an attempts[8] vector.
 * agg_flush hands everything collected so far to the caller (as agg_row
 * arrays, which agg_pack_batch turns into a Collector Batch) and starts over.
 * Per-check totals since start are kept apart for the exit log line.
 * Thread-safe: many request threads add, one reporter flushes.
 */
#ifndef CONFORM_AGG_H
#define CONFORM_AGG_H

#include <stddef.h>
#include <stdint.h>

#include "checks/check.h"

struct agg;

/* New empty aggregator, NULL on OOM; agg_free(NULL) is fine. */
struct agg *agg_new(void);
void agg_free(struct agg *a);

/*
 * Record one request. Strings are truncated to the agg_row field sizes
 * (check 31, backend 31, identity 255 bytes); NULL means "". latency_us is
 * counted into the histogram; attempt is the server's attempt number
 * (0 = no reply, not counted; 8 and more land in attempts[7]).
 * Returns 0, or -1 on OOM (the request is still counted in the totals).
 */
int agg_add(struct agg *a, const char *check, unsigned outcome, int code,
	    const char *backend, const char *identity, int64_t second,
	    uint64_t latency_us, unsigned attempt);

/*
 * Detach every row collected since the last flush into a new array the caller
 * frees (free(*rows)); *n = 0 and *rows = NULL when there is nothing.
 * Rows are ordered by (second, check, outcome, code, backend, identity).
 * workload is copied into each row's workload field (NULL = "").
 * Returns 0, or -1 on OOM (then nothing is lost: rows stay for the next flush).
 */
int agg_flush(struct agg *a, const char *workload, struct agg_row **rows, size_t *n);
/* Rows currently held (not yet flushed). */
size_t agg_pending(struct agg *a);

/* Totals per check since agg_new. Fills up to max entries, returns how many
 * checks there are (ids point into the aggregator; valid until agg_free). */
struct agg_total {
	const char *check;
	uint64_t requests, ok, failed;
	uint64_t p50_us, p99_us, max_us;   /* latency of every recorded request */
};
size_t agg_totals(struct agg *a, struct agg_total *out, size_t max);

/*
 * Pack rows as one conform.v1.Batch into a new buffer the caller frees.
 * NULL on OOM. Row i becomes buckets[i] (check/outcome/code/backend/identity/
 * second/count/latency/hist/attempts; attempts trimmed of trailing zeros).
 */
uint8_t *agg_pack_batch(const char *workload, const char *token, uint64_t instance,
			uint64_t seq, const struct agg_row *rows, size_t n, size_t *len);
/* Packed size of one row as a Bucket inside a Batch (for splitting batches). */
size_t agg_row_packed_size(const struct agg_row *row);

#endif
