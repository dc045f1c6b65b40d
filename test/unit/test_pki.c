/*
 * test_pki.c - the run CA and workload leaves: chain verifies, identities and
 * SANs are where HAProxy and Linkerd expect them, validity is honoured, key
 * files are private, and a leaf from a foreign CA does not verify.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "harness.h"
#include "mesh/haproxy/pki.h"
#include "base/util.h"

static char dir[256];
static struct pki_ca *ca;

static void path_in(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static X509 *read_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *c = NULL;

	if (f) {
		c = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
	}
	return c;
}

static int mode_of(const char *path)
{
	struct stat st;

	if (stat(path, &st))
		return -1;
	return (int)(st.st_mode & 0777);
}

TEST(identity_name)
{
	char id[PKI_NAME_MAX];

	ASSERT_EQ(pki_identity("http-client", NULL, NULL, id, sizeof(id)), 0);
	ASSERT_STR_EQ(id, "http-client.conform.serviceaccount.identity.cluster.local");
	ASSERT_EQ(pki_identity("web", "prod", "example.org", id, sizeof(id)), 0);
	ASSERT_STR_EQ(id, "web.prod.serviceaccount.identity.example.org");
	ASSERT_EQ(pki_identity("Web", NULL, NULL, id, sizeof(id)), -1);
	ASSERT_EQ(pki_identity("a b", NULL, NULL, id, sizeof(id)), -1);
	ASSERT_EQ(pki_identity("x", "a.b", NULL, id, sizeof(id)), -1);
	ASSERT_EQ(pki_identity("", NULL, NULL, id, sizeof(id)), -1);
	ASSERT_EQ(pki_identity("web", NULL, NULL, id, 10), -1);
}

TEST(ca_and_leaf_verify)
{
	struct pki_leaf_opts o = { .workload = "http-client", .valid_s = 3600 };
	char ca_crt[512], ca_key[512], crt[512], pem[512], key[512];
	struct tls_cert_info info;
	X509 *c;

	path_in(ca_crt, sizeof(ca_crt), "ca.crt");
	path_in(ca_key, sizeof(ca_key), "ca.key");
	path_in(crt, sizeof(crt), "http-client.crt");
	path_in(key, sizeof(key), "http-client.key");
	path_in(pem, sizeof(pem), "http-client.pem");
	ASSERT_EQ(pki_ca_write(ca, ca_crt, ca_key), 0);
	ASSERT_EQ(pki_write_workload(ca, dir, &o), 0);
	ASSERT_EQ(pki_verify_file(ca_crt, crt), 0);
	ASSERT_EQ(pki_verify_file(ca_crt, pem), 0);   /* combined file: cert first */

	c = read_cert(ca_crt);
	ASSERT(c);
	ASSERT_EQ(X509_check_ca(c), 1);
	X509_free(c);

	ASSERT_EQ(pki_cert_info_file(crt, &info), 0);
	ASSERT_STR_EQ(info.cn, "http-client.conform.serviceaccount.identity.cluster.local");
	ASSERT_STR_EQ(info.issuer_cn, "conform test ca");
	ASSERT(info.not_after - time(NULL) > 3500 && info.not_after - time(NULL) <= 3600);

	ASSERT_EQ(mode_of(key), 0600);
	ASSERT_EQ(mode_of(pem), 0600);
	ASSERT_EQ(mode_of(ca_key), 0600);
	ASSERT_EQ(mode_of(crt), 0644);
}

TEST(leaf_extensions)
{
	struct pki_leaf_opts o = { .workload = "grpc-server", .ns = "prod",
				   .trust_domain = "example.org", .valid_s = 600 };
	char crt[512];
	GENERAL_NAMES *sans;
	int dns = 0, uri = 0;
	uint32_t xku;
	X509 *c;

	path_in(crt, sizeof(crt), "ext.crt");
	ASSERT_EQ(pki_leaf_write(ca, &o, crt, NULL, NULL), 0);
	c = read_cert(crt);
	ASSERT(c);
	sans = X509_get_ext_d2i(c, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
		const char *s = (const char *)ASN1_STRING_get0_data(g->d.ia5);

		if (g->type == GEN_DNS && !strcmp(s, "grpc-server.prod.serviceaccount.identity.example.org"))
			dns = 1;
		if (g->type == GEN_URI && !strcmp(s, "spiffe://example.org/ns/prod/sa/grpc-server"))
			uri = 1;
	}
	GENERAL_NAMES_free(sans);
	xku = X509_get_extended_key_usage(c);
	ASSERT_EQ(X509_check_ca(c), 0);
	X509_free(c);
	ASSERT_EQ(dns, 1);
	ASSERT_EQ(uri, 1);
	ASSERT((xku & XKU_SSL_SERVER) && (xku & XKU_SSL_CLIENT));
}

TEST(serials_random)
{
	struct pki_leaf_opts o = { .workload = "a", .valid_s = 600 };
	char p1[512], p2[512];
	X509 *a, *b;

	path_in(p1, sizeof(p1), "s1.crt");
	path_in(p2, sizeof(p2), "s2.crt");
	ASSERT_EQ(pki_leaf_write(ca, &o, p1, NULL, NULL), 0);
	ASSERT_EQ(pki_leaf_write(ca, &o, p2, NULL, NULL), 0);
	a = read_cert(p1);
	b = read_cert(p2);
	ASSERT(a && b);
	ASSERT(ASN1_INTEGER_cmp(X509_get0_serialNumber(a), X509_get0_serialNumber(b)) != 0);
	X509_free(a);
	X509_free(b);
}

TEST(short_validity_expires)
{
	struct pki_leaf_opts o = { .workload = "expiring", .valid_s = 60 };
	char crt[512];
	struct tls_cert_info info;
	int64_t left;

	path_in(crt, sizeof(crt), "expiring.crt");
	ASSERT_EQ(pki_leaf_write(ca, &o, crt, NULL, NULL), 0);
	ASSERT_EQ(pki_cert_info_file(crt, &info), 0);
	left = info.not_after - (int64_t)time(NULL);
	ASSERT(left > 50 && left <= 60);
	ASSERT(info.not_before < (int64_t)time(NULL));
	o.valid_s = 0;
	ASSERT_EQ(pki_leaf_write(ca, &o, crt, NULL, NULL), -1);
}

TEST(foreign_leaf_fails)
{
	struct pki_ca *foreign = pki_ca_new("conform foreign ca", 3600);
	struct pki_leaf_opts o = { .workload = "http-client", .valid_s = 3600 };
	char ca_crt[512], fcrt[512];

	ASSERT(foreign);
	path_in(ca_crt, sizeof(ca_crt), "ca.crt");
	path_in(fcrt, sizeof(fcrt), "foreign-leaf.crt");
	ASSERT_EQ(pki_leaf_write(foreign, &o, fcrt, NULL, NULL), 0);
	pki_ca_free(foreign);
	ASSERT_EQ(pki_ca_write(ca, ca_crt, NULL), 0);
	ASSERT_EQ(pki_verify_file(ca_crt, fcrt), -1);
	ASSERT_CONTAINS(pki_last_error(), "issuer");
}

TEST(ca_reload)
{
	char ca_crt[512], ca_key[512], crt[512];
	struct pki_leaf_opts o = { .workload = "later", .valid_s = 600 };
	struct pki_ca *again;

	path_in(ca_crt, sizeof(ca_crt), "ca2.crt");
	path_in(ca_key, sizeof(ca_key), "ca2.key");
	path_in(crt, sizeof(crt), "later.crt");
	ASSERT_EQ(pki_ca_write(ca, ca_crt, ca_key), 0);
	again = pki_ca_load(ca_crt, ca_key);
	ASSERT(again);
	ASSERT_EQ(pki_leaf_write(again, &o, crt, NULL, NULL), 0);
	pki_ca_free(again);
	ASSERT_EQ(pki_verify_file(ca_crt, crt), 0);
	ASSERT(pki_ca_load(ca_crt, crt) == NULL);   /* no key there */
}

TEST(probe_refused)
{
	struct tlsprobe_opts o = { .host = "127.0.0.1", .port = 1, .timeout_ms = 1000 };
	struct tlsprobe_result r;

	ASSERT_EQ(tlsprobe_tls(&o, &r), 0);
	ASSERT_EQ(r.status, TLSPROBE_CONNECT_REFUSED);
	ASSERT_EQ(tlsprobe_plaintext(&o, &r), 0);
	ASSERT_EQ(r.status, TLSPROBE_CONNECT_REFUSED);
	o.host = "not-an-ip";
	ASSERT_EQ(tlsprobe_tls(&o, &r), -1);
	ASSERT_EQ(tlsprobe_plaintext(&o, &r), -1);
}

/* A listener that accepts and closes: TLS sees a close, plaintext no answer;
 * one that answers HTTP: the plaintext probe reports it. */
static void *serve_two(void *arg)
{
	int lfd = *(int *)arg;
	static const char ans[] = "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";

	for (int i = 0; i < 3; i++) {
		int c = accept(lfd, NULL, NULL);
		char buf[256];

		if (c < 0)
			return NULL;
		if (i == 2 && read(c, buf, sizeof(buf)) > 0 && write(c, ans, sizeof(ans) - 1) < 0)
			perror("write");
		close(c);
	}
	return NULL;
}

TEST(probe_closed_and_answered)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	struct tlsprobe_opts o = { .host = "127.0.0.1", .timeout_ms = 2000 };
	struct tlsprobe_result r;
	pthread_t t;
	int lfd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ASSERT(lfd >= 0);
	ASSERT_EQ(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ASSERT_EQ(listen(lfd, 4), 0);
	getsockname(lfd, (struct sockaddr *)&sa, &sl);
	o.port = ntohs(sa.sin_port);
	pthread_create(&t, NULL, serve_two, &lfd);
	ASSERT_EQ(tlsprobe_tls(&o, &r), 0);
	if (r.status != TLSPROBE_TLS_CLOSED && r.status != TLSPROBE_TLS_ERROR)
		H_FAIL("tls probe of a closing listener: %s (%s)", tlsprobe_status_str(r.status), r.reason);
	ASSERT_EQ(r.got_server_cert, 0);
	ASSERT_EQ(tlsprobe_plaintext(&o, &r), 0);
	ASSERT(r.status != TLSPROBE_OK);
	ASSERT_EQ(tlsprobe_plaintext(&o, &r), 0);
	ASSERT_EQ(r.status, TLSPROBE_OK);
	ASSERT_CONTAINS(r.reason, "HTTP/1.1 200 OK");
	pthread_join(t, NULL);
	close(lfd);
}

int main(void)
{
	char cmd[512];

	snprintf(dir, sizeof(dir), "/tmp/conform-test-pki-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	ca = pki_ca_new("conform test ca", 86400);
	if (!ca)
		return 1;
	RUN(identity_name);
	RUN(ca_and_leaf_verify);
	RUN(leaf_extensions);
	RUN(serials_random);
	RUN(short_validity_expires);
	RUN(foreign_leaf_fails);
	RUN(ca_reload);
	RUN(probe_refused);
	RUN(probe_closed_and_answered);
	pki_ca_free(ca);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	TEST_MAIN_END();
}
