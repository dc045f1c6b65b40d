/*
 * pki.c - the local mesh's certificate authority: a per-run EC P-256 CA, leaf
 * certificates carrying Linkerd-style identities and PEM files HAProxy can
 * load. (The TLS probes that read what a listener presents are generic:
 * lib/base/tlsprobe.c.)
 */
#include "mesh/haproxy/pki.h"

#include <errno.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
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
	tls_error_fmt(pki_err, sizeof(pki_err), what);
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

int pki_cert_info_file(const char *path, struct tls_cert_info *out)
{
	X509 *cert = pki_read_cert(path);
	int rc;

	if (!cert)
		return -1;
	rc = tls_cert_info_of(cert, out);
	if (rc < 0)
		str_copy(pki_err, sizeof(pki_err), "bad certificate validity");
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
