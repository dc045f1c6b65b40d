/*
 * tlsprobe.h - probe a listener: TLS handshakes with or without a client
 * certificate, a plaintext HTTP request, and what certificate it presents
 * (lib/base/tlsprobe.c). Errors of setup: tlsprobe_last_error (per thread).
 */
#ifndef CONFORM_TLSPROBE_H
#define CONFORM_TLSPROBE_H

#include <stddef.h>
#include <stdint.h>

#define TLS_NAME_MAX 256

/* What a certificate says about itself. */
struct tls_cert_info {
	char cn[TLS_NAME_MAX];   /* subject CN, "" when absent */
	char issuer_cn[TLS_NAME_MAX];
	int64_t not_before;      /* unix seconds */
	int64_t not_after;       /* unix seconds */
};

/* Fill out from an OpenSSL X509 (given as void so that callers need no
 * OpenSSL headers). 0, or -1 when its validity cannot be read. */
int tls_cert_info_of(void *x509, struct tls_cert_info *out);

/* Why a TLS probe's handshake did not succeed. */
enum tlsprobe_status {
	TLSPROBE_OK = 0,          /* handshake done and the server kept talking */
	TLSPROBE_CONNECT_REFUSED, /* TCP connect refused */
	TLSPROBE_CONNECT_TIMEOUT, /* TCP connect or handshake timed out */
	TLSPROBE_CONNECT_ERROR,   /* other socket error */
	TLSPROBE_TLS_ALERT,       /* server sent a fatal alert (see alert) */
	TLSPROBE_TLS_CLOSED,      /* server closed without an alert */
	TLSPROBE_TLS_ERROR,       /* other TLS failure (see reason) */
	TLSPROBE_VERIFY_FAILED,   /* we could not verify the server's cert */
};
const char *tlsprobe_status_str(enum tlsprobe_status s);

struct tlsprobe_opts {
	const char *host;        /* IP literal (IPv6 without brackets) or name, required */
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

struct tlsprobe_result {
	enum tlsprobe_status status;
	int alert;               /* TLS alert number when status is TLS_ALERT */
	char reason[128];        /* short human reason, "" on OK */
	int got_server_cert;     /* 1 when the server presented a certificate */
	struct tls_cert_info server; /* valid when got_server_cert */
	char alpn[32];           /* negotiated protocol, "" when none */
};

/*
 * Connect with TLS to host:port and report what happened. Returns 0 when the
 * probe ran (the handshake may still have failed: see res->status) and -1 on
 * bad options or local setup errors (unreadable client_pem ...).
 */
int tlsprobe_tls(const struct tlsprobe_opts *o, struct tlsprobe_result *res);

/*
 * mtls.enforced's other half: send a plaintext HTTP/1.1 request to
 * host:port (o->client_pem, ca_path, alpn, settle_ms are ignored).
 * res->status is TLSPROBE_OK when an HTTP response came back (the listener
 * accepts plaintext: a failure for a meshed inbound), else why not:
 * CONNECT_REFUSED, CONNECT_TIMEOUT, CONNECT_ERROR (reset) or TLS_CLOSED
 * (closed without an HTTP answer, what a TLS-only listener does).
 * Returns 0 when the probe ran, -1 on bad options.
 */
int tlsprobe_plaintext(const struct tlsprobe_opts *o, struct tlsprobe_result *res);

/* "what: <OpenSSL's last queued reason>" into buf, and the queue cleared. */
void tls_error_fmt(char *buf, size_t len, const char *what);

/* Why the last call on this thread returned -1. */
const char *tlsprobe_last_error(void);

#endif
