/*
 * tlsprobe.c - connect to a listener and report what it did: whether it
 * refused a plaintext request or a TLS handshake (with or without a client
 * certificate) and what certificate it presented. The evidence of
 * mtls.enforced and identity.expiry on any mesh whose inbounds can be
 * reached from conformd; OpenSSL, nothing shelled out.
 */
#include "base/tlsprobe.h"
#include "base/addr.h"

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

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "base/util.h"

static _Thread_local char tp_err[256];

const char *tlsprobe_last_error(void)
{
	return tp_err;
}

static void tp_set_error(const char *what)
{
	str_copy(tp_err, sizeof(tp_err), what);
}

/* what, then OpenSSL's last queued reason */
static void tp_set_error_ssl(const char *what)
{
	tls_error_fmt(tp_err, sizeof(tp_err), what);
}

void tls_error_fmt(char *buf, size_t len, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char ossl[160];

	if (e) {
		ERR_error_string_n(e, ossl, sizeof(ossl));
		str_fmt(buf, len, "%s: %s", what, ossl);
	} else {
		str_copy(buf, len, what);
	}
	ERR_clear_error();
}

static int tp_asn1_time(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return -1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

static void tp_name_cn(const X509_NAME *name, char *buf, size_t len)
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

int tls_cert_info_of(void *x509, struct tls_cert_info *out)
{
	X509 *cert = x509;

	memset(out, 0, sizeof(*out));
	tp_name_cn(X509_get_subject_name(cert), out->cn, sizeof(out->cn));
	tp_name_cn(X509_get_issuer_name(cert), out->issuer_cn, sizeof(out->issuer_cn));
	if (tp_asn1_time(X509_get0_notBefore(cert), &out->not_before) ||
	    tp_asn1_time(X509_get0_notAfter(cert), &out->not_after)) {
		return -1;
	}
	return 0;
}


const char *tlsprobe_status_str(enum tlsprobe_status s)
{
	switch (s) {
	case TLSPROBE_OK: return "ok";
	case TLSPROBE_CONNECT_REFUSED: return "connect-refused";
	case TLSPROBE_CONNECT_TIMEOUT: return "timeout";
	case TLSPROBE_CONNECT_ERROR: return "connect-error";
	case TLSPROBE_TLS_ALERT: return "tls-alert";
	case TLSPROBE_TLS_CLOSED: return "tls-closed";
	case TLSPROBE_TLS_ERROR: return "tls-error";
	case TLSPROBE_VERIFY_FAILED: return "verify-failed";
	}
	return "unknown";
}

/* Remembers the first fatal alert the server sent. */
static void tp_info_cb(const SSL *ssl, int where, int ret)
{
	int *alert = SSL_get_app_data(ssl);

	/* SSL_CB_READ_ALERT shares its bit with write alerts: test both bits */
	if ((where & SSL_CB_ALERT) && (where & SSL_CB_READ) && alert && *alert < 0 &&
	    (ret >> 8) == 2)
		*alert = ret & 0xff;
}

static int tp_poll(int fd, short events, int64_t deadline_ms)
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

static int tp_connect(const struct tlsprobe_opts *o, struct tlsprobe_result *res,
		       int64_t deadline)
{
	struct addr_hostport hp;
	struct sockaddr_storage sa;
	socklen_t sl = sizeof(int), salen;
	char spec[ADDR_STR_MAX], aerr[256];
	int fd, err = 0, one = 1;

	if (addr_join(o->host, o->port, spec, sizeof(spec)) < 0 ||
	    addr_parse(spec, 0, &hp, aerr, sizeof(aerr)) < 0 ||
	    addr_resolve(&hp, 0, 0, &sa, &salen, aerr, sizeof(aerr)) < 0)
		return -2;
	fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -2;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, salen) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		err = errno;
	} else if (tp_poll(fd, POLLOUT, deadline) <= 0) {
		err = ETIMEDOUT;
	} else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl)) {
		err = errno;
	}
	if (!err)
		return fd;
	close(fd);
	res->status = err == ECONNREFUSED ? TLSPROBE_CONNECT_REFUSED :
		      err == ETIMEDOUT ? TLSPROBE_CONNECT_TIMEOUT : TLSPROBE_CONNECT_ERROR;
	str_fmt(res->reason, sizeof(res->reason), "connect: %s", strerror(err));
	return -1;
}

/* ALPN wire format from "h2,http/1.1". */
static int tp_alpn_wire(const char *list, unsigned char *out, size_t cap, size_t *len)
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
static const char *tp_alert_name(int alert)
{
	switch (alert) {
	case 109: return "missing extension";
	case 116: return "certificate required";
	case 120: return "no application protocol";
	}
	return SSL_alert_desc_string_long(alert);
}

/* Classify a failed SSL call. */
static void tp_tls_fail(SSL *ssl, int ret, int alert, struct tlsprobe_result *res,
			 const char *stage)
{
	int e = SSL_get_error(ssl, ret);
	unsigned long oe = ERR_peek_last_error();
	long vr = SSL_get_verify_result(ssl);
	char buf[96];

	if (alert >= 0) {
		res->status = TLSPROBE_TLS_ALERT;
		res->alert = alert;
		str_fmt(res->reason, sizeof(res->reason), "%s: alert %d (%s)", stage, alert,
			tp_alert_name(alert));
	} else if (vr != X509_V_OK && ERR_GET_REASON(oe) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
		res->status = TLSPROBE_VERIFY_FAILED;
		str_fmt(res->reason, sizeof(res->reason), "%s: server certificate: %s", stage,
			X509_verify_cert_error_string(vr));
	} else if (e == SSL_ERROR_ZERO_RETURN ||
		   (e == SSL_ERROR_SYSCALL && oe == 0) ||
		   (e == SSL_ERROR_SSL && ERR_GET_REASON(oe) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
		res->status = TLSPROBE_TLS_CLOSED;
		str_fmt(res->reason, sizeof(res->reason), "%s: connection closed by server", stage);
	} else {
		res->status = TLSPROBE_TLS_ERROR;
		if (oe)
			ERR_error_string_n(oe, buf, sizeof(buf));
		else
			str_fmt(buf, sizeof(buf), "ssl error %d", e);
		str_fmt(res->reason, sizeof(res->reason), "%s: %s", stage, buf);
	}
	ERR_clear_error();
}

int tlsprobe_tls(const struct tlsprobe_opts *o, struct tlsprobe_result *res)
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
		tp_set_error("invalid probe options");
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
		tp_set_error_ssl("cannot create tls context");
		goto out;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (o->client_pem &&
	    (SSL_CTX_use_certificate_chain_file(ctx, o->client_pem) != 1 ||
	     SSL_CTX_use_PrivateKey_file(ctx, o->client_pem, SSL_FILETYPE_PEM) != 1 ||
	     SSL_CTX_check_private_key(ctx) != 1)) {
		tp_set_error_ssl("cannot load client certificate");
		goto out;
	}
	if (o->ca_path) {
		if (SSL_CTX_load_verify_locations(ctx, o->ca_path, NULL) != 1) {
			tp_set_error_ssl("cannot load ca");
			goto out;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	if (o->alpn && (tp_alpn_wire(o->alpn, wire, sizeof(wire), &wire_len) ||
			SSL_CTX_set_alpn_protos(ctx, wire, (unsigned)wire_len))) {
		tp_set_error("invalid alpn list");
		goto out;
	}
	fd = tp_connect(o, res, deadline);
	if (fd == -2) {
		tp_set_error("invalid probe address");
		goto out;
	}
	rc = 0;
	if (fd < 0)
		goto out;
	ssl = SSL_new(ctx);
	if (!ssl || !SSL_set_fd(ssl, fd)) {
		tp_set_error_ssl("cannot create tls session");
		rc = -1;
		goto out;
	}
	SSL_set_app_data(ssl, &alert);
	SSL_set_info_callback(ssl, tp_info_cb);
	for (;;) {
		int e;

		ret = SSL_connect(ssl);
		if (ret == 1)
			break;
		e = SSL_get_error(ssl, ret);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			tp_tls_fail(ssl, ret, alert, res, "handshake");
			goto cert;
		}
		if (tp_poll(fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline) <= 0) {
			res->status = TLSPROBE_CONNECT_TIMEOUT;
			str_copy(res->reason, sizeof(res->reason), "handshake: timeout");
			goto cert;
		}
	}
	/* handshake done from our side: give the server time to reject us */
	settle_end = mono_ms() + settle;
	if (settle_end > deadline)
		settle_end = deadline;
	res->status = TLSPROBE_OK;
	for (;;) {
		char buf[512];
		int e;

		ret = SSL_read(ssl, buf, sizeof(buf));
		if (ret > 0)
			break;   /* the server talks to us: accepted */
		e = SSL_get_error(ssl, ret);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			tp_tls_fail(ssl, ret, alert, res, "after handshake");
			break;
		}
		if (tp_poll(fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, settle_end) <= 0)
			break;   /* quiet: accepted */
	}
	if (res->status == TLSPROBE_OK) {
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
	if (peer && tls_cert_info_of(peer, &res->server) == 0)
		res->got_server_cert = 1;
out:
	X509_free(peer);
	if (ssl) {
		if (res->status == TLSPROBE_OK)
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

int tlsprobe_plaintext(const struct tlsprobe_opts *o, struct tlsprobe_result *res)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: conform-probe\r\nConnection: close\r\n\r\n";
	int64_t deadline;
	size_t off = 0, got = 0;
	char buf[256];
	int fd;

	memset(res, 0, sizeof(*res));
	res->alert = -1;
	if (!o || !o->host || o->port <= 0 || o->port > 65535) {
		tp_set_error("invalid probe options");
		return -1;
	}
	deadline = mono_ms() + (o->timeout_ms > 0 ? o->timeout_ms : 2000);
	fd = tp_connect(o, res, deadline);
	if (fd == -2) {
		tp_set_error("invalid probe address");
		return -1;
	}
	if (fd < 0)
		return 0;
	while (off < sizeof(req) - 1) {
		ssize_t n = send(fd, req + off, sizeof(req) - 1 - off, MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (tp_poll(fd, POLLOUT, deadline) <= 0)
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
			if (tp_poll(fd, POLLIN, deadline) <= 0) {
				res->status = TLSPROBE_CONNECT_TIMEOUT;
				break;
			}
			continue;
		}
		if (n <= 0) {
			res->status = n < 0 && errno == ECONNRESET ? TLSPROBE_CONNECT_ERROR
								   : TLSPROBE_TLS_CLOSED;
			break;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	close(fd);
	if (got >= 5 && !memcmp(buf, "HTTP/", 5)) {
		res->status = TLSPROBE_OK;
		buf[strcspn(buf, "\r\n")] = '\0';
		for (char *c = buf; *c; c++)
			if (*c < 0x20 || *c >= 0x7f)
				*c = '?';
		str_fmt(res->reason, sizeof(res->reason), "answered: %s", buf);
	} else {
		if (res->status == TLSPROBE_OK)
			res->status = TLSPROBE_TLS_CLOSED;
		str_fmt(res->reason, sizeof(res->reason), "no http answer (%zu bytes, %s)", got,
			tlsprobe_status_str(res->status));
	}
	return 0;
}
