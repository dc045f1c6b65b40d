/*
 * pki.h - the run's certificate authority and per-workload identities for the
 * local reference mesh, plus the TLS probes behind mtls.enforced and
 * identity.expiry. Pure OpenSSL (libcrypto for certificates, libssl only for
 * the probe); nothing is shelled out.
 *
 * Identities are Linkerd-style names:
 *   <workload>.<namespace>.serviceaccount.identity.<trust-domain>
 * carried as the leaf's subject CN and DNS SAN, with a SPIFFE URI SAN
 * spiffe://<trust-domain>/ns/<namespace>/sa/<workload> next to them.
 *
 * Errors: functions return 0 or -1; on -1 a short lowercase reason is
 * available from pki_last_error() (per thread, overwritten by the next call).
 */
#ifndef CONFORM_PKI_H
#define CONFORM_PKI_H

#include <stddef.h>
#include <stdint.h>

#include "base/tlsprobe.h"

#define PKI_DEFAULT_NAMESPACE "conform"
#define PKI_DEFAULT_TRUST_DOMAIN "cluster.local"
#define PKI_NAME_MAX 256

/* A CA: private key + self-signed certificate (EC P-256, CA:TRUE). Opaque. */
struct pki_ca;

/*
 * Make a new CA with subject CN cn, valid from now-60 s for valid_s seconds
 * (valid_s > 0). Returns a CA the caller frees with pki_ca_free, or NULL.
 */
struct pki_ca *pki_ca_new(const char *cn, int64_t valid_s);
/* Load a CA written by pki_ca_write (so a restarted monitor keeps its CA). */
struct pki_ca *pki_ca_load(const char *cert_path, const char *key_path);
void pki_ca_free(struct pki_ca *ca);
/* Write the CA certificate (0644, the "ca-file") and key (0600), atomically.
 * key_path may be NULL to write only the certificate. */
int pki_ca_write(const struct pki_ca *ca, const char *cert_path, const char *key_path);

/*
 * Build the identity name for workload/ns/trust domain into buf
 * (ns, td NULL or "" = defaults). Every part must be a DNS label-ish token
 * ([a-z0-9-], dots allowed in td). Returns 0, or -1 when invalid/too long.
 */
int pki_identity(const char *workload, const char *ns, const char *td,
		 char *buf, size_t len);

struct pki_leaf_opts {
	const char *workload;     /* required: the service account name */
	const char *ns;           /* NULL = PKI_DEFAULT_NAMESPACE */
	const char *trust_domain; /* NULL = PKI_DEFAULT_TRUST_DOMAIN */
	int64_t valid_s;          /* > 0; a test may use 60 */
};

/*
 * Issue a leaf for o under ca (random 128-bit serial, EKU serverAuth +
 * clientAuth, CN + DNS SAN = identity, URI SAN = SPIFFE id) and write it.
 * Any of the three paths may be NULL to skip that file:
 *   cert_path     the certificate (0644)
 *   key_path      the private key (0600)
 *   combined_path certificate followed by key, HAProxy's "crt" file (0600)
 * Files are written atomically. Returns 0 or -1.
 */
int pki_leaf_write(const struct pki_ca *ca, const struct pki_leaf_opts *o,
		   const char *cert_path, const char *key_path,
		   const char *combined_path);

/*
 * Convenience for a run's pki/ directory: writes dir/ca.crt (+ dir/ca.key
 * when ca_key is non-zero) and, per workload, dir/<wl>.crt, dir/<wl>.key and
 * dir/<wl>.pem (combined). Used by tests and the mesh adapter alike.
 */
int pki_write_workload(const struct pki_ca *ca, const char *dir,
		       const struct pki_leaf_opts *o);

/* Read the first certificate of a PEM file (at most 64 KiB). 0 or -1. */
int pki_cert_info_file(const char *path, struct tls_cert_info *out);

/*
 * Verify the first certificate in leaf_path against the CA certificate in
 * ca_path (chain + validity + purpose sslclient). Returns 0 when valid,
 * -1 otherwise (pki_last_error says why, e.g. "unable to get local issuer
 * certificate").
 */
int pki_verify_file(const char *ca_path, const char *leaf_path);

const char *pki_last_error(void);

#endif
