/*
 * pki.c - the local mesh's certificate authority: a per-run EC P-256 CA, leaf
 * certificates carrying Linkerd-style identities, PEM files HAProxy can load,
 * and TLS probes that tell whether an inbound sidecar refuses a handshake.
 */
#include "mesh/haproxy/pki.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/util.h"

#define PKI_PEM_MAX (64 * 1024)

struct pki_ca {
	EVP_PKEY *key;
	X509 *cert;
};

static _Thread_local char pki_err[256];

const char *pki_last_error(void)
{
	return pki_err;
}

static void pki_set_error(const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char ossl[160];

	if (e) {
		ERR_error_string_n(e, ossl, sizeof(ossl));
		str_fmt(pki_err, sizeof(pki_err), "%s: %s", what, ossl);
	} else {
		str_copy(pki_err, sizeof(pki_err), what);
	}
	ERR_clear_error();
}

/* [a-z0-9-], 1..63 chars, dots allowed when dots != 0 (trust domain). */
static int pki_valid_label(const char *s, int dots)
{
	size_t n = 0;

	if (!s || !*s)
		return 0;
	for (; *s; s++, n++) {
		if ((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-')
			continue;
		if (dots && *s == '.')
			continue;
		return 0;
	}
	return n <= (dots ? 253u : 63u);
}

int pki_identity(const char *workload, const char *ns, const char *td,
		 char *buf, size_t len)
{
	if (!ns || !*ns)
		ns = PKI_DEFAULT_NAMESPACE;
	if (!td || !*td)
		td = PKI_DEFAULT_TRUST_DOMAIN;
	if (!pki_valid_label(workload, 0) || !pki_valid_label(ns, 0) ||
	    !pki_valid_label(td, 1)) {
		str_copy(pki_err, sizeof(pki_err), "invalid workload, namespace or trust domain");
		return -1;
	}
	if (str_fmt(buf, len, "%s.%s.serviceaccount.identity.%s", workload, ns, td)) {
		str_copy(pki_err, sizeof(pki_err), "identity too long");
		return -1;
	}
	return 0;
}

static int pki_add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int rc;

	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return -1;
	rc = X509_add_ext(cert, ext, -1) ? 0 : -1;
	X509_EXTENSION_free(ext);
	return rc;
}

static int pki_random_serial(X509 *cert)
{
	BIGNUM *bn = BN_new();
	int rc = -1;

	/* 127 bits: positive, never zero in practice, within RFC 5280's 20 octets */
	if (bn && BN_rand(bn, 127, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) &&
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)))
		rc = 0;
	BN_free(bn);
	return rc;
}

/* A certificate with version, serial, validity, subject CN and public key. */
static X509 *pki_cert_base(EVP_PKEY *key, const char *cn, int64_t valid_s)
{
	X509 *cert = X509_new();
	X509_NAME *name;

	if (!cert)
		return NULL;
	if (!X509_set_version(cert, 2) || pki_random_serial(cert) ||
	    !X509_gmtime_adj(X509_getm_notBefore(cert), -60) ||
	    !X509_gmtime_adj(X509_getm_notAfter(cert), (long)valid_s) ||
	    !X509_set_pubkey(cert, key))
		goto fail;
	name = X509_get_subject_name(cert);
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					(const unsigned char *)cn, -1, -1, 0))
		goto fail;
	return cert;
fail:
	X509_free(cert);
	return NULL;
}

struct pki_ca *pki_ca_new(const char *cn, int64_t valid_s)
{
	struct pki_ca *ca = NULL;

	if (!cn || !*cn || strlen(cn) > 64 || valid_s <= 0 || valid_s > 20LL * 365 * 86400) {
		str_copy(pki_err, sizeof(pki_err), "invalid ca name or validity");
		return NULL;
	}
	ca = calloc(1, sizeof(*ca));
	if (!ca)
		goto fail;
	ca->key = EVP_EC_gen("P-256");
	if (!ca->key)
		goto fail;
	ca->cert = pki_cert_base(ca->key, cn, valid_s);
	if (!ca->cert)
		goto fail;
	if (!X509_set_issuer_name(ca->cert, X509_get_subject_name(ca->cert)) ||
	    pki_add_ext(ca->cert, ca->cert, NID_basic_constraints, "critical,CA:TRUE") ||
	    pki_add_ext(ca->cert, ca->cert, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    pki_add_ext(ca->cert, ca->cert, NID_subject_key_identifier, "hash") ||
	    !X509_sign(ca->cert, ca->key, EVP_sha256()))
		goto fail;
	return ca;
fail:
	pki_set_error("cannot create ca");
	pki_ca_free(ca);
	return NULL;
}

void pki_ca_free(struct pki_ca *ca)
{
	if (!ca)
		return;
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	free(ca);
}

/* Read at most PKI_PEM_MAX bytes of path into a memory BIO. */
static BIO *pki_bio_file(const char *path)
{
	size_t len;
	char *data = file_read(path, PKI_PEM_MAX, &len);
	BIO *bio;

	if (!data) {
		str_fmt(pki_err, sizeof(pki_err), "cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	bio = BIO_new(BIO_s_mem());
	if (bio && BIO_write(bio, data, (int)len) != (int)len) {
		BIO_free(bio);
		bio = NULL;
	}
	free(data);
	return bio;
}

static X509 *pki_read_cert(const char *path)
{
	BIO *bio = pki_bio_file(path);
	X509 *cert;

	if (!bio)
		return NULL;
	cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (!cert)
		pki_set_error("no certificate in pem");
	return cert;
}

struct pki_ca *pki_ca_load(const char *cert_path, const char *key_path)
{
	struct pki_ca *ca = calloc(1, sizeof(*ca));
	BIO *bio = NULL;

	if (!ca)
		return NULL;
	ca->cert = pki_read_cert(cert_path);
	if (!ca->cert)
		goto fail;
	bio = pki_bio_file(key_path);
	if (!bio)
		goto fail;
	ca->key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (!ca->key || X509_check_private_key(ca->cert, ca->key) != 1) {
		pki_set_error("ca key missing or not matching the certificate");
		goto fail;
	}
	return ca;
fail:
	pki_ca_free(ca);
	return NULL;
}

/* Write the PEM text of cert and/or key to path atomically with mode. */
static int pki_write_pem(const char *path, X509 *cert, EVP_PKEY *key, int mode)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int rc = -1;

	if (!bio || (cert && !PEM_write_bio_X509(bio, cert)) ||
	    (key && !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)) ||
	    (len = BIO_get_mem_data(bio, &data)) <= 0) {
		pki_set_error("cannot encode pem");
		goto out;
	}
	if (file_write_atomic(path, data, (size_t)len, mode)) {
		str_fmt(pki_err, sizeof(pki_err), "cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	BIO_free(bio);
	return rc;
}

int pki_ca_write(const struct pki_ca *ca, const char *cert_path, const char *key_path)
{
	if (!ca || !cert_path)
		return -1;
	if (pki_write_pem(cert_path, ca->cert, NULL, 0644))
		return -1;
	if (key_path && pki_write_pem(key_path, NULL, ca->key, 0600))
		return -1;
	return 0;
}

int pki_leaf_write(const struct pki_ca *ca, const struct pki_leaf_opts *o,
		   const char *cert_path, const char *key_path,
		   const char *combined_path)
{
	char id[PKI_NAME_MAX], san[2 * PKI_NAME_MAX + 64];
	const char *ns, *td;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	int rc = -1;

	if (!ca || !o || o->valid_s <= 0 || o->valid_s > 20LL * 365 * 86400) {
		str_copy(pki_err, sizeof(pki_err), "invalid leaf options");
		return -1;
	}
	if (pki_identity(o->workload, o->ns, o->trust_domain, id, sizeof(id)))
		return -1;
	ns = o->ns && *o->ns ? o->ns : PKI_DEFAULT_NAMESPACE;
	td = o->trust_domain && *o->trust_domain ? o->trust_domain : PKI_DEFAULT_TRUST_DOMAIN;
	if (str_fmt(san, sizeof(san), "DNS:%s,URI:spiffe://%s/ns/%s/sa/%s",
		    id, td, ns, o->workload)) {
		str_copy(pki_err, sizeof(pki_err), "identity too long");
		return -1;
	}
	key = EVP_EC_gen("P-256");
	if (key)
		cert = pki_cert_base(key, id, o->valid_s);
	if (!cert || !X509_set_issuer_name(cert, X509_get_subject_name(ca->cert)) ||
	    pki_add_ext(cert, ca->cert, NID_basic_constraints, "critical,CA:FALSE") ||
	    pki_add_ext(cert, ca->cert, NID_key_usage, "critical,digitalSignature") ||
	    pki_add_ext(cert, ca->cert, NID_ext_key_usage, "serverAuth,clientAuth") ||
	    pki_add_ext(cert, ca->cert, NID_subject_alt_name, san) ||
	    pki_add_ext(cert, ca->cert, NID_subject_key_identifier, "hash") ||
	    pki_add_ext(cert, ca->cert, NID_authority_key_identifier, "keyid:always") ||
	    !X509_sign(cert, ca->key, EVP_sha256())) {
		pki_set_error("cannot issue leaf");
		goto out;
	}
	if ((cert_path && pki_write_pem(cert_path, cert, NULL, 0644)) ||
	    (key_path && pki_write_pem(key_path, NULL, key, 0600)) ||
	    (combined_path && pki_write_pem(combined_path, cert, key, 0600)))
		goto out;
	rc = 0;
out:
	X509_free(cert);
	EVP_PKEY_free(key);
	return rc;
}

int pki_write_workload(const struct pki_ca *ca, const char *dir,
		       const struct pki_leaf_opts *o)
{
	char crt[1024], key[1024], pem[1024];

	if (!o || !o->workload || !pki_valid_label(o->workload, 0)) {
		str_copy(pki_err, sizeof(pki_err), "invalid workload name");
		return -1;
	}
	if (str_fmt(crt, sizeof(crt), "%s/%s.crt", dir, o->workload) ||
	    str_fmt(key, sizeof(key), "%s/%s.key", dir, o->workload) ||
	    str_fmt(pem, sizeof(pem), "%s/%s.pem", dir, o->workload)) {
		str_copy(pki_err, sizeof(pki_err), "path too long");
		return -1;
	}
	return pki_leaf_write(ca, o, crt, key, pem);
}

static int pki_asn1_time(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return -1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

static void pki_name_cn(const X509_NAME *name, char *buf, size_t len)
{
	int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	const X509_NAME_ENTRY *e;
	unsigned char *utf8 = NULL;
	int n;

	buf[0] = '\0';
	if (idx < 0)
		return;
	e = X509_NAME_get_entry(name, idx);
	n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
	if (n < 0)
		return;
	/* keep printable ASCII only: the CN ends up in logs and reports */
	for (int i = 0; i < n && (size_t)i + 1 < len; i++) {
		buf[i] = (utf8[i] >= 0x20 && utf8[i] < 0x7f) ? (char)utf8[i] : '?';
		buf[i + 1] = '\0';
	}
	OPENSSL_free(utf8);
}

static int pki_info_from_cert(X509 *cert, struct pki_cert_info *out)
{
	memset(out, 0, sizeof(*out));
	pki_name_cn(X509_get_subject_name(cert), out->cn, sizeof(out->cn));
	pki_name_cn(X509_get_issuer_name(cert), out->issuer_cn, sizeof(out->issuer_cn));
	if (pki_asn1_time(X509_get0_notBefore(cert), &out->not_before) ||
	    pki_asn1_time(X509_get0_notAfter(cert), &out->not_after)) {
		str_copy(pki_err, sizeof(pki_err), "bad certificate validity");
		return -1;
	}
	return 0;
}

int pki_cert_info_file(const char *path, struct pki_cert_info *out)
{
	X509 *cert = pki_read_cert(path);
	int rc;

	if (!cert)
		return -1;
	rc = pki_info_from_cert(cert, out);
	X509_free(cert);
	return rc;
}

int pki_verify_file(const char *ca_path, const char *leaf_path)
{
	X509 *ca = pki_read_cert(ca_path), *leaf = NULL;
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	int rc = -1;

	if (!ca)
		goto out;
	leaf = pki_read_cert(leaf_path);
	if (!leaf)
		goto out;
	store = X509_STORE_new();
	ctx = X509_STORE_CTX_new();
	if (!store || !ctx || !X509_STORE_add_cert(store, ca) ||
	    !X509_STORE_CTX_init(ctx, store, leaf, NULL)) {
		pki_set_error("cannot set up verification");
		goto out;
	}
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
	if (X509_verify_cert(ctx) == 1) {
		rc = 0;
	} else {
		str_copy(pki_err, sizeof(pki_err),
			 X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		ERR_clear_error();
	}
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(leaf);
	X509_free(ca);
	return rc;
}

/* ---- TLS probe ---- */

const char *pki_probe_status_str(enum pki_probe_status s)
{
	switch (s) {
	case PKI_PROBE_OK: return "ok";
	case PKI_PROBE_CONNECT_REFUSED: return "connect-refused";
	case PKI_PROBE_CONNECT_TIMEOUT: return "timeout";
	case PKI_PROBE_CONNECT_ERROR: return "connect-error";
	case PKI_PROBE_TLS_ALERT: return "tls-alert";
	case PKI_PROBE_TLS_CLOSED: return "tls-closed";
	case PKI_PROBE_TLS_ERROR: return "tls-error";
	case PKI_PROBE_VERIFY_FAILED: return "verify-failed";
	}
	return "unknown";
}

/* Remembers the first fatal alert the server sent. */
static void pki_info_cb(const SSL *ssl, int where, int ret)
{
	int *alert = SSL_get_app_data(ssl);

	/* SSL_CB_READ_ALERT shares its bit with write alerts: test both bits */
	if ((where & SSL_CB_ALERT) && (where & SSL_CB_READ) && alert && *alert < 0 &&
	    (ret >> 8) == 2)
		*alert = ret & 0xff;
}

static int pki_poll(int fd, short events, int64_t deadline_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int64_t left = deadline_ms - mono_ms();
	int n;

	if (left <= 0)
		return 0;
	do {
		n = poll(&p, 1, (int)left);
	} while (n < 0 && errno == EINTR);
	return n;
}

static int pki_connect(const struct pki_probe_opts *o, struct pki_probe_result *res,
		       int64_t deadline)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(int);
	int fd, err = 0, one = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)o->port);
	if (inet_pton(AF_INET, o->host, &sa.sin_addr) != 1)
		return -2;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -2;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		err = errno;
	} else if (pki_poll(fd, POLLOUT, deadline) <= 0) {
		err = ETIMEDOUT;
	} else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl)) {
		err = errno;
	}
	if (!err)
		return fd;
	close(fd);
	res->status = err == ECONNREFUSED ? PKI_PROBE_CONNECT_REFUSED :
		      err == ETIMEDOUT ? PKI_PROBE_CONNECT_TIMEOUT : PKI_PROBE_CONNECT_ERROR;
	str_fmt(res->reason, sizeof(res->reason), "connect: %s", strerror(err));
	return -1;
}

/* ALPN wire format from "h2,http/1.1". */
static int pki_alpn_wire(const char *list, unsigned char *out, size_t cap, size_t *len)
{
	size_t n = 0;

	while (*list) {
		const char *end = strchr(list, ',');
		size_t l = end ? (size_t)(end - list) : strlen(list);

		if (l == 0 || l > 255 || n + 1 + l > cap)
			return -1;
		out[n++] = (unsigned char)l;
		memcpy(out + n, list, l);
		n += l;
		list += l + (end ? 1 : 0);
	}
	*len = n;
	return 0;
}

/* OpenSSL 3.0 has no name for some TLS 1.3 alerts. */
static const char *pki_alert_name(int alert)
{
	switch (alert) {
	case 109: return "missing extension";
	case 116: return "certificate required";
	case 120: return "no application protocol";
	}
	return SSL_alert_desc_string_long(alert);
}

/* Classify a failed SSL call. */
static void pki_tls_fail(SSL *ssl, int ret, int alert, struct pki_probe_result *res,
			 const char *stage)
{
	int e = SSL_get_error(ssl, ret);
	unsigned long oe = ERR_peek_last_error();
	long vr = SSL_get_verify_result(ssl);
	char buf[96];

	if (alert >= 0) {
		res->status = PKI_PROBE_TLS_ALERT;
		res->alert = alert;
		str_fmt(res->reason, sizeof(res->reason), "%s: alert %d (%s)", stage, alert,
			pki_alert_name(alert));
	} else if (vr != X509_V_OK && ERR_GET_REASON(oe) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
		res->status = PKI_PROBE_VERIFY_FAILED;
		str_fmt(res->reason, sizeof(res->reason), "%s: server certificate: %s", stage,
			X509_verify_cert_error_string(vr));
	} else if (e == SSL_ERROR_ZERO_RETURN ||
		   (e == SSL_ERROR_SYSCALL && oe == 0) ||
		   (e == SSL_ERROR_SSL && ERR_GET_REASON(oe) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
		res->status = PKI_PROBE_TLS_CLOSED;
		str_fmt(res->reason, sizeof(res->reason), "%s: connection closed by server", stage);
	} else {
		res->status = PKI_PROBE_TLS_ERROR;
		if (oe)
			ERR_error_string_n(oe, buf, sizeof(buf));
		else
			str_fmt(buf, sizeof(buf), "ssl error %d", e);
		str_fmt(res->reason, sizeof(res->reason), "%s: %s", stage, buf);
	}
	ERR_clear_error();
}

int pki_tls_probe(const struct pki_probe_opts *o, struct pki_probe_result *res)
{
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	X509 *peer = NULL;
	int fd = -1, rc = -1, ret, alert = -1, timeout, settle;
	int64_t deadline, settle_end;
	unsigned char wire[128];
	size_t wire_len;
	sigset_t pipe_set, old_set;

	memset(res, 0, sizeof(*res));
	res->alert = -1;
	if (!o || !o->host || o->port <= 0 || o->port > 65535) {
		str_copy(pki_err, sizeof(pki_err), "invalid probe options");
		return -1;
	}
	timeout = o->timeout_ms > 0 ? o->timeout_ms : 2000;
	settle = o->settle_ms > 0 ? o->settle_ms : 300;
	deadline = mono_ms() + timeout;
	/* a server closing under us must not kill the caller with SIGPIPE */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);

	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		pki_set_error("cannot create tls context");
		goto out;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (o->client_pem &&
	    (SSL_CTX_use_certificate_chain_file(ctx, o->client_pem) != 1 ||
	     SSL_CTX_use_PrivateKey_file(ctx, o->client_pem, SSL_FILETYPE_PEM) != 1 ||
	     SSL_CTX_check_private_key(ctx) != 1)) {
		pki_set_error("cannot load client certificate");
		goto out;
	}
	if (o->ca_path) {
		if (SSL_CTX_load_verify_locations(ctx, o->ca_path, NULL) != 1) {
			pki_set_error("cannot load ca");
			goto out;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	if (o->alpn && (pki_alpn_wire(o->alpn, wire, sizeof(wire), &wire_len) ||
			SSL_CTX_set_alpn_protos(ctx, wire, (unsigned)wire_len))) {
		str_copy(pki_err, sizeof(pki_err), "invalid alpn list");
		goto out;
	}
	fd = pki_connect(o, res, deadline);
	if (fd == -2) {
		str_copy(pki_err, sizeof(pki_err), "invalid probe address");
		goto out;
	}
	rc = 0;
	if (fd < 0)
		goto out;
	ssl = SSL_new(ctx);
	if (!ssl || !SSL_set_fd(ssl, fd)) {
		pki_set_error("cannot create tls session");
		rc = -1;
		goto out;
	}
	SSL_set_app_data(ssl, &alert);
	SSL_set_info_callback(ssl, pki_info_cb);
	for (;;) {
		int e;

		ret = SSL_connect(ssl);
		if (ret == 1)
			break;
		e = SSL_get_error(ssl, ret);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			pki_tls_fail(ssl, ret, alert, res, "handshake");
			goto cert;
		}
		if (pki_poll(fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline) <= 0) {
			res->status = PKI_PROBE_CONNECT_TIMEOUT;
			str_copy(res->reason, sizeof(res->reason), "handshake: timeout");
			goto cert;
		}
	}
	/* handshake done from our side: give the server time to reject us */
	settle_end = mono_ms() + settle;
	if (settle_end > deadline)
		settle_end = deadline;
	res->status = PKI_PROBE_OK;
	for (;;) {
		char buf[512];
		int e;

		ret = SSL_read(ssl, buf, sizeof(buf));
		if (ret > 0)
			break;   /* the server talks to us: accepted */
		e = SSL_get_error(ssl, ret);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			pki_tls_fail(ssl, ret, alert, res, "after handshake");
			break;
		}
		if (pki_poll(fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, settle_end) <= 0)
			break;   /* quiet: accepted */
	}
	if (res->status == PKI_PROBE_OK) {
		const unsigned char *p = NULL;
		unsigned int plen = 0;

		SSL_get0_alpn_selected(ssl, &p, &plen);
		if (p && plen < sizeof(res->alpn)) {
			memcpy(res->alpn, p, plen);
			res->alpn[plen] = '\0';
		}
	}
cert:
	peer = SSL_get1_peer_certificate(ssl);
	if (peer && pki_info_from_cert(peer, &res->server) == 0)
		res->got_server_cert = 1;
out:
	X509_free(peer);
	if (ssl) {
		if (res->status == PKI_PROBE_OK)
			SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	SSL_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	ERR_clear_error();
	{
		sigset_t pending;
		struct timespec zero = { 0, 0 };

		sigpending(&pending);
		if (sigismember(&pending, SIGPIPE))
			sigtimedwait(&pipe_set, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &old_set, NULL);
	return rc;
}

int pki_plaintext_probe(const struct pki_probe_opts *o, struct pki_probe_result *res)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: conform-probe\r\nConnection: close\r\n\r\n";
	int64_t deadline;
	size_t off = 0, got = 0;
	char buf[256];
	int fd;

	memset(res, 0, sizeof(*res));
	res->alert = -1;
	if (!o || !o->host || o->port <= 0 || o->port > 65535) {
		str_copy(pki_err, sizeof(pki_err), "invalid probe options");
		return -1;
	}
	deadline = mono_ms() + (o->timeout_ms > 0 ? o->timeout_ms : 2000);
	fd = pki_connect(o, res, deadline);
	if (fd == -2) {
		str_copy(pki_err, sizeof(pki_err), "invalid probe address");
		return -1;
	}
	if (fd < 0)
		return 0;
	while (off < sizeof(req) - 1) {
		ssize_t n = send(fd, req + off, sizeof(req) - 1 - off, MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (pki_poll(fd, POLLOUT, deadline) <= 0)
				break;
			continue;
		}
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	/* read what comes back, up to a status line */
	while (got < sizeof(buf) - 1 && !memchr(buf, '\n', got)) {
		ssize_t n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);

		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (pki_poll(fd, POLLIN, deadline) <= 0) {
				res->status = PKI_PROBE_CONNECT_TIMEOUT;
				break;
			}
			continue;
		}
		if (n <= 0) {
			res->status = n < 0 && errno == ECONNRESET ? PKI_PROBE_CONNECT_ERROR
								   : PKI_PROBE_TLS_CLOSED;
			break;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	close(fd);
	if (got >= 5 && !memcmp(buf, "HTTP/", 5)) {
		res->status = PKI_PROBE_OK;
		buf[strcspn(buf, "\r\n")] = '\0';
		for (char *c = buf; *c; c++)
			if (*c < 0x20 || *c >= 0x7f)
				*c = '?';
		str_fmt(res->reason, sizeof(res->reason), "answered: %s", buf);
	} else {
		if (res->status == PKI_PROBE_OK)
			res->status = PKI_PROBE_TLS_CLOSED;
		str_fmt(res->reason, sizeof(res->reason), "no http answer (%zu bytes, %s)", got,
			pki_probe_status_str(res->status));
	}
	return 0;
}
