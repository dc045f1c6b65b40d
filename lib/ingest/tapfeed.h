/*
 * tapfeed.h - conformd's tap feed: reads the mesh's tapped requests through
 * the adapter (mesh_ops.tap_open/tap_read, whatever its transport) and keeps
 * those of tap.live requests, turning them into the evidence rows of
 * docs/internals.md "Evidence that is not client traffic": check
 * tap.live/out and tap.live/in, workload "conformd.tap", bucketed by the
 * intended send second of the request id, outcome ok or protocol, histogram
 * = delay from the proxy's timestamp to receipt. Rows are flushed to the
 * store once a second from the feed's own thread. Mesh-neutral: the
 * identities it expects come from mesh_ops.identity_of.
 *
 * Threads: tapfeed_start makes one thread; stats may be read from any thread.
 * Errors: start returns NULL with a message in err.
 */
#ifndef CONFORM_TAPFEED_H
#define CONFORM_TAPFEED_H

#include <stddef.h>
#include <stdint.h>

#include "mesh/mesh.h"
#include "store/store.h"

/*
 * The store counter that says up to when (unix ms) every tap line the feed
 * received is stored: raised with each flush's rows, in their transaction
 * (and alone on an idle flush). The lines come over UDP and are never resent, so after a
 * crash what arrived after this mark is gone; a resumed monitor starts its
 * gap from it (state_gap_from).
 */
#define TAPFEED_MARK "tap.stored_through_ms"

struct tapfeed_config {
	const struct mesh_ops *mops;  /* with MESH_CAP_TAP */
	struct mesh *mesh;
	struct store *store;
	uint64_t instance;            /* conformd's instance (batch identity) */
	const char *server;           /* workload tap.live requests must reach ("http-server") */
	const char *path;             /* path they ask for ("/echo") */
};

/* What a tap.live request id says: <check>.<workload>.<instance hex>.<k>.<ms>. */
struct tapfeed_rid {
	char check[32];
	char workload[64];
	uint64_t instance;
	uint64_t k;
	int64_t ms;                   /* intended send time, unix ms */
};

/* Parse a request id (bounded, strict). 0 or -1. */
int tapfeed_parse_rid(const char *rid, struct tapfeed_rid *out);

struct tapfeed;

/* Open the mesh's tap (tap_open) and start the thread. Strings of cfg are
 * copied; the mesh must outlive the feed. */
struct tapfeed *tapfeed_start(const struct tapfeed_config *cfg, char *err, size_t errlen);

struct tapfeed_stats {
	uint64_t datagrams, parsed, rejected;  /* lines received, parsed, rejected */
	uint64_t lines_live;                   /* request lines of tap.live */
	uint64_t rows_flushed;
};
void tapfeed_get_stats(struct tapfeed *t, struct tapfeed_stats *out);

/* Drain, flush what is left, stop the thread, close, free. NULL is fine. */
void tapfeed_stop(struct tapfeed *t);

#endif
