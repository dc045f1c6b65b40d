/*
 * probe.h - conformd's active probes of the mesh, the evidence of
 * mtls.enforced and identity.expiry (docs/internals.md "Evidence that is not
 * client traffic"). Every interval the prober asks the mesh what to look at
 * (mesh_ops.probe_info) and writes one conformd.probe batch:
 *   mtls.enforced    per server inbound: a plaintext request, a TLS client
 *                    without certificate, a TLS client with a certificate of
 *                    a CA nobody trusts. ok = refused; http_other = accepted
 *                    (code = the HTTP status of a plaintext answer, 0 for an
 *                    accepted TLS handshake); connect_failed = no listener.
 *   identity.expiry  the certificate each inbound presents (a TLS handshake
 *                    with the run's probe certificate) and the client
 *                    certificate each outbound has loaded (runtime API
 *                    `show ssl cert <file>`, i.e. what the running process
 *                    presents, not the file on disk). code = seconds left,
 *                    identity = CN; tls_failed when it could not be read.
 *
 * Threads: one thread per prober. Errors: start returns NULL on OOM.
 */
#ifndef CONFORM_PROBE_H
#define CONFORM_PROBE_H

#include <stdint.h>

#include "mesh/mesh.h"
#include "store/store.h"

struct prober;

struct probe_config {
	const struct mesh_ops *mops;
	struct mesh *mesh;
	struct store *store;
	uint64_t instance;        /* conformd's instance (batch identity) */
	int64_t interval_ms;      /* <= 0 means 2000 */
	int mtls;                 /* write mtls.enforced rows */
	int expiry;               /* write identity.expiry rows */
};

struct prober *probe_start(const struct probe_config *cfg);
/* Stop after the round in progress and free. NULL is fine. */
void probe_stop(struct prober *p);


#endif
