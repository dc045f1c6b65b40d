/*
 * collector.h - conformd's side of conform.v1.Collector/Report: a gRPC server
 * on its own thread and completion queue that receives outcome batches,
 * validates them (token, sizes, outcomes, histograms), hands the valid batches
 * that arrived together to a commit callback (one at a time, or as a group)
 * and acks them only after the callback returns.
 * See docs/internals.md "Collector" for the protocol.
 */
#ifndef CONFORM_COLLECTOR_H
#define CONFORM_COLLECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "checks/check.h"
#include "store/store.h"

struct collector;
struct Conform__V1__Batch;   /* protobuf-c, build/gen/conform.pb-c.h */

/*
 * Commit callback, called on the collector thread for every valid batch.
 * rows are the batch's buckets converted to agg_row (workload filled in);
 * samples its failing-request samples (workload filled in; NULL when
 * nsamples == 0), to be stored in the same transaction as the rows
 * (store_put_batch_samples). Return 1 = stored, 0 = duplicate (acked ok, not
 * stored again), -1 = could not store (not acked; the client will resend
 * after reconnect).
 */
typedef int (*collector_commit_fn)(void *ctx, const char *workload, uint64_t instance,
				   uint64_t seq, const struct agg_row *rows, size_t n,
				   const struct store_sample *samples, size_t nsamples);

/*
 * Group commit callback, called on the collector thread with the valid
 * batches that arrived together (at most COLLECTOR_GROUP_MAX, at most one per
 * stream; store_put_batches takes them as they are). It sets every bs[i].rc
 * as collector_commit_fn returns; acks are sent only after it returns, so one
 * transaction (one fsync) can cover them all. bs and what it points to are
 * valid during the call only.
 */
#define COLLECTOR_GROUP_MAX 512
typedef void (*collector_group_fn)(void *ctx, struct store_batch *bs, size_t n);

/* Limits on a batch's samples: count, and each string (request id, backend,
 * identity) in bytes. */
#define COLLECTOR_MAX_SAMPLES 64
#define COLLECTOR_SAMPLE_STR 127

struct collector_stats {
	uint64_t batches;      /* committed */
	uint64_t duplicates;
	uint64_t rejected;     /* bad token or invalid content */
	uint64_t streams;      /* streams opened so far */
};

/*
 * Start serving on addr ("HOST:PORT", lib/base/addr.h; port 0 = any). token is the
 * per-run secret every batch must carry (copied). On success *port is the
 * bound port. Calls grpc_init(). Returns NULL and writes err on failure.
 */
struct collector *collector_start(const char *addr, const char *token,
				  collector_commit_fn commit, void *ctx, int *port,
				  char *err, size_t errlen);
/* collector_start with a group commit callback instead (conformd's way). */
struct collector *collector_start_group(const char *addr, const char *token,
					collector_group_fn group, void *ctx, int *port,
					char *err, size_t errlen);
/*
 * Validate a decoded batch against the run token and the limits of
 * docs/internals.md, and convert its buckets and samples. 0 with *rows and
 * *samples (new arrays, the caller frees both; NULL when the count is 0) and
 * their counts, or -1 with err filled and nothing allocated. Pure: no I/O,
 * no state (a fuzz target drives it).
 */
int collector_validate_batch(const struct Conform__V1__Batch *b, const char *token,
			     struct agg_row **rows, size_t *n, struct store_sample **samples,
			     size_t *nsamples, char *err, size_t errlen);
void collector_get_stats(struct collector *c, struct collector_stats *st);
/* Shut down (cancels streams, joins the thread, frees). NULL is fine. */
void collector_stop(struct collector *c);

#endif
