/*
 * tapsrv.h - the local mesh's tap receiver: every sidecar logs its request
 * lines (tap.h formats) into a HAProxy `ring` whose `server` is this TCP
 * listener on 127.0.0.1; lines are newline-framed (`format raw`). Not UDP:
 * HAProxy's UDP log sockets are unconnected and autobind to 0.0.0.0, which
 * would open the run to datagrams from outside loopback.
 *
 * Threads: one reader (tapsrv_poll); tapsrv_stats from any thread.
 */
#ifndef CONFORM_HAPROXY_TAPSRV_H
#define CONFORM_HAPROXY_TAPSRV_H

#include <stddef.h>
#include <stdint.h>

#include "mesh/haproxy/tap.h"

struct tapsrv;

/* Listen on listen ("127.0.0.1:PORT", port 0 = any) and write the bound
 * "127.0.0.1:PORT" into addr. NULL with a message in err. */
struct tapsrv *tapsrv_open(const char *listen, char *addr, size_t addrlen, char *err,
			   size_t errlen);

/* Wait up to timeout_ms for connections and lines; hand every parsed line to
 * cb. Lines that do not parse, or longer than TAP_LINE_MAX, are counted as
 * rejected. Returns how many records were handed over. */
int tapsrv_poll(struct tapsrv *s, int timeout_ms, tap_record_cb cb, void *ctx);

/* Lines received, parsed and rejected so far. */
void tapsrv_stats(struct tapsrv *s, struct tap_stats *out);

/* Close the listener and every connection, free. NULL is fine. */
void tapsrv_close(struct tapsrv *s);

#endif
