/*
 * tapfeed.h - conformd's tap receiver: takes the sidecars' log lines
 * (lib/mesh/haproxy/tap.h formats) and keeps those of tap.live requests, turning them into the
 * evidence rows of docs/internals.md "Evidence that is not client traffic":
 * check tap.live/out and tap.live/in, workload "conformd.tap", bucketed by
 * the intended send second of the request id, outcome ok or protocol,
 * histogram = delay from the proxy's timestamp to receipt. Rows are flushed
 * to the store once a second from the receiver's own thread.
 *
 * Transport: each sidecar logs into a HAProxy `ring` whose `server` is this
 * receiver, a TCP listener on 127.0.0.1; lines are newline-framed (`format
 * raw`). Not UDP: HAProxy's UDP log sockets are unconnected and autobind to
 * 0.0.0.0, which would open the run to datagrams from outside loopback.
 *
 * Threads: tapfeed_start makes one thread; stats may be read from any thread.
 * Errors: start returns NULL with a message in err.
 */
#ifndef CONFORM_TAPFEED_H
#define CONFORM_TAPFEED_H

#include <stddef.h>
#include <stdint.h>

#include "mesh/haproxy/pki.h"
#include "store/store.h"
#include "mesh/haproxy/tap.h"

struct tapfeed_config {
	struct store *store;
	uint64_t instance;            /* conformd's instance (batch identity) */
	const char *ns;               /* identities: NULL = defaults */
	const char *trust_domain;
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

/* Listen on listen ("127.0.0.1:0", TCP), write the bound "IP:PORT" into
 * addr and start the thread. Strings of cfg are copied. */
struct tapfeed *tapfeed_start(const char *listen, const struct tapfeed_config *cfg,
			      char *addr, size_t addrlen, char *err, size_t errlen);

struct tapfeed_stats {
	uint64_t datagrams, parsed, rejected;  /* lines received, parsed, rejected */
	uint64_t lines_live;                   /* request lines of tap.live */
	uint64_t rows_flushed;
};
void tapfeed_get_stats(struct tapfeed *t, struct tapfeed_stats *out);

/* Drain, flush what is left, stop the thread, close, free. NULL is fine. */
void tapfeed_stop(struct tapfeed *t);

#endif
