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

/* What a certificate says about itself. */
struct pki_cert_info {
	char cn[PKI_NAME_MAX];   /* subject CN, "" when absent */
	char issuer_cn[PKI_NAME_MAX];
	int64_t not_before;      /* unix seconds */
	int64_t not_after;       /* unix seconds */
};

/* Read the first certificate of a PEM file (at most 64 KiB). 0 or -1. */
int pki_cert_info_file(const char *path, struct pki_cert_info *out);

/*
 * Verify the first certificate in leaf_path against the CA certificate in
 * ca_path (chain + validity + purpose sslclient). Returns 0 when valid,
 * -1 otherwise (pki_last_error says why, e.g. "unable to get local issuer
 * certificate").
 */
int pki_verify_file(const char *ca_path, const char *leaf_path);

/* Why a TLS probe's handshake did not succeed. */
enum pki_probe_status {
	PKI_PROBE_OK = 0,          /* handshake done and the server kept talking */
	PKI_PROBE_CONNECT_REFUSED, /* TCP connect refused */
	PKI_PROBE_CONNECT_TIMEOUT, /* TCP connect or handshake timed out */
	PKI_PROBE_CONNECT_ERROR,   /* other socket error */
	PKI_PROBE_TLS_ALERT,       /* server sent a fatal alert (see alert) */
	PKI_PROBE_TLS_CLOSED,      /* server closed without an alert */
	PKI_PROBE_TLS_ERROR,       /* other TLS failure (see reason) */
	PKI_PROBE_VERIFY_FAILED,   /* we could not verify the server's cert */
};
const char *pki_probe_status_str(enum pki_probe_status s);

struct pki_probe_opts {
	const char *host;        /* IPv4 literal, required */
	int port;
	int timeout_ms;          /* whole probe; <= 0 means 2000 */
	const char *client_pem;  /* combined cert+key to present, or NULL */
	const char *ca_path;     /* verify the server against this CA, or NULL */
	const char *alpn;        /* e.g. "h2,http/1.1"; NULL = none */
	/*
	 * After the client's handshake completes, how long to wait for a
	 * server-side rejection. With TLS 1.3 the server checks the client
	 * certificate after the client considers the handshake done, so a
	 * rejection only shows as an alert on the first read. <= 0 means 300.
	 */
	int settle_ms;
};

struct pki_probe_result {
	enum pki_probe_status status;
	int alert;               /* TLS alert number when status is TLS_ALERT */
	char reason[128];        /* short human reason, "" on OK */
	int got_server_cert;     /* 1 when the server presented a certificate */
	struct pki_cert_info server; /* valid when got_server_cert */
	char alpn[32];           /* negotiated protocol, "" when none */
};

/*
 * Connect with TLS to host:port and report what happened. Returns 0 when the
 * probe ran (the handshake may still have failed: see res->status) and -1 on
 * bad options or local setup errors (unreadable client_pem ...).
 */
int pki_tls_probe(const struct pki_probe_opts *o, struct pki_probe_result *res);

/*
 * mtls.enforced's other half: send a plaintext HTTP/1.1 request to
 * host:port (o->client_pem, ca_path, alpn, settle_ms are ignored).
 * res->status is PKI_PROBE_OK when an HTTP response came back (the listener
 * accepts plaintext: a failure for a meshed inbound), else why not:
 * CONNECT_REFUSED, CONNECT_TIMEOUT, CONNECT_ERROR (reset) or TLS_CLOSED
 * (closed without an HTTP answer, what HAProxy's TLS listener does).
 * Returns 0 when the probe ran, -1 on bad options.
 */
int pki_plaintext_probe(const struct pki_probe_opts *o, struct pki_probe_result *res);

const char *pki_last_error(void);

#endif
