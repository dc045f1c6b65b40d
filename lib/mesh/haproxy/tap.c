/*
 * tap.c - per-request log lines from the HAProxy sidecars turned into typed
 * tap records. The lines come over UDP from processes we configured, but are
 * still treated as untrusted input: bounded, field-counted, strictly parsed.
 */
#include "mesh/haproxy/tap.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "base/addr.h"
#include "base/util.h"

#define TAP_REQ_FIELDS 19
#define TAP_ERR_FIELDS 9

/* Shared middle of both request formats; DIR is spliced in. */
#define TAP_REQ_HEAD "ctap1 req %[date(0,us)] %f "
#define TAP_REQ_MID \
	" %[var(txn.rid)] %ci:%cp %si:%sp %b %s %HM %[var(txn.path)] %ST %Ta %rc %ts "

const char *tap_log_format(enum tap_dir dir)
{
	/* identities only as verified by TLS: the client's on the inbound,
	 * the server's on the outbound; the other side logs "-" */
	if (dir == TAP_DIR_IN)
		return TAP_REQ_HEAD "in" TAP_REQ_MID "%[ssl_c_s_dn(cn),url_enc] - .";
	return TAP_REQ_HEAD "out" TAP_REQ_MID "- %[ssl_s_s_dn(cn),url_enc] .";
}

const char *tap_error_log_format(enum tap_dir dir)
{
	if (dir == TAP_DIR_IN)
		return "ctap1 err %[date(0,us)] %f in %ci:%cp %fi:%fp %[fc_err_str,url_enc] .";
	return "ctap1 err %[date(0,us)] %f out %ci:%cp %fi:%fp %[fc_err_str,url_enc] .";
}

const char *tap_dir_str(enum tap_dir dir)
{
	return dir == TAP_DIR_IN ? "in" : "out";
}

struct tap_field {
	const char *p;
	size_t n;
};

static int tap_is(const struct tap_field *f, const char *s)
{
	return strlen(s) == f->n && memcmp(f->p, s, f->n) == 0;
}

static int tap_dash(const struct tap_field *f)
{
	return f->n == 1 && f->p[0] == '-';
}

/* Copy a field made only of chars in allowed (or any printable non-space
 * when allowed is NULL) into dst; "-" becomes "". */
static int tap_copy(const struct tap_field *f, char *dst, size_t len, const char *allowed)
{
	if (f->n >= len)
		return -1;
	for (size_t i = 0; i < f->n; i++) {
		unsigned char c = (unsigned char)f->p[i];
		int ok = allowed ? (c >= 0x21 && c < 0x7f && strchr(allowed, c) != NULL) ||
				   (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				   (c >= '0' && c <= '9')
				 : (c > 0x20 && c < 0x7f);
		if (!ok)
			return -1;
	}
	if (tap_dash(f)) {
		dst[0] = '\0';
		return 0;
	}
	memcpy(dst, f->p, f->n);
	dst[f->n] = '\0';
	return 0;
}

static int tap_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode a url_enc'ed field; the result must be printable ASCII
 * (spaces allowed). "-" becomes "". */
static int tap_decode(const struct tap_field *f, char *dst, size_t len)
{
	size_t o = 0;

	if (tap_dash(f)) {
		dst[0] = '\0';
		return 0;
	}
	for (size_t i = 0; i < f->n; i++) {
		int c = (unsigned char)f->p[i];

		if (c == '%') {
			int h, l;

			if (i + 2 >= f->n)
				return -1;
			h = tap_hexval(f->p[i + 1]);
			l = tap_hexval(f->p[i + 2]);
			if (h < 0 || l < 0)
				return -1;
			c = h * 16 + l;
			i += 2;
		}
		if (c < 0x20 || c >= 0x7f || o + 1 >= len)
			return -1;
		dst[o++] = (char)c;
	}
	dst[o] = '\0';
	return 0;
}

static int tap_num(const struct tap_field *f, int64_t min, int64_t max, int64_t *out)
{
	char buf[24];

	if (f->n == 0 || f->n >= sizeof(buf))
		return -1;
	memcpy(buf, f->p, f->n);
	buf[f->n] = '\0';
	if (buf[0] == '+')   /* parse_i64 would take it; we only allow it in %rc */
		return -1;
	return parse_i64(buf, min, max, out);
}

#define TAP_NAME_CHARS "._:-<>"
#define TAP_ADDR_CHARS ".:[]-"

static int tap_parse_req(const struct tap_field *f, struct tap_record *r)
{
	int64_t v;
	struct tap_field rc = f[14];

	r->kind = TAP_KIND_REQUEST;
	if (tap_decode(&f[5], r->request_id, sizeof(r->request_id)) ||
	    tap_copy(&f[6], r->src, sizeof(r->src), TAP_ADDR_CHARS) ||
	    tap_copy(&f[7], r->dst, sizeof(r->dst), TAP_ADDR_CHARS) ||
	    tap_copy(&f[8], r->backend, sizeof(r->backend), TAP_NAME_CHARS) ||
	    tap_copy(&f[9], r->server, sizeof(r->server), TAP_NAME_CHARS) ||
	    tap_copy(&f[10], r->method, sizeof(r->method), TAP_NAME_CHARS) ||
	    tap_copy(&f[11], r->path, sizeof(r->path), NULL))
		return -1;
	if (tap_num(&f[12], -1, 999, &v))
		return -1;
	r->status = (int)v;
	if (tap_num(&f[13], -1, INT64_C(1) << 40, &v))
		return -1;
	r->latency_ms = v;
	if (rc.n > 1 && rc.p[0] == '+') {
		r->redispatched = 1;
		rc.p++;
		rc.n--;
	}
	if (tap_num(&rc, -1, 1000, &v))
		return -1;
	r->retries = (int)v;
	if (f[15].n != 2 || tap_copy(&f[15], r->term_state, sizeof(r->term_state), "-"))
		return -1;
	if (tap_dash(&f[15]))   /* "-" alone is not a state; "--" is */
		return -1;
	if (tap_decode(&f[16], r->client_id, sizeof(r->client_id)) ||
	    tap_decode(&f[17], r->server_id, sizeof(r->server_id)))
		return -1;
	return 0;
}

int tap_parse_line(const char *line, size_t len, struct tap_record *out)
{
	struct tap_field f[TAP_REQ_FIELDS + 1];
	size_t nf = 0, start = 0;
	int64_t v;

	memset(out, 0, sizeof(*out));
	if (!line)
		return -1;
	if (len && line[len - 1] == '\n')
		len--;
	if (len == 0 || len > TAP_LINE_MAX)
		return -1;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && (line[i] < 0x20 || (unsigned char)line[i] >= 0x7f))
			return -1;
		if (i == len || line[i] == ' ') {
			if (i == start || nf == ARRAY_SIZE(f))
				return -1;   /* empty field or too many */
			f[nf].p = line + start;
			f[nf].n = i - start;
			nf++;
			start = i + 1;
		}
	}
	if (!tap_is(&f[0], "ctap1") || nf < TAP_ERR_FIELDS || !tap_is(&f[nf - 1], "."))
		return -1;
	if (tap_num(&f[2], 0, INT64_C(1) << 53, &v))
		goto bad;
	out->ts_us = v;
	if (tap_copy(&f[3], out->proxy, sizeof(out->proxy), TAP_NAME_CHARS) || tap_dash(&f[3]))
		goto bad;
	if (tap_is(&f[4], "in"))
		out->dir = TAP_DIR_IN;
	else if (tap_is(&f[4], "out"))
		out->dir = TAP_DIR_OUT;
	else
		goto bad;
	out->status = -1;
	out->latency_ms = -1;
	if (tap_is(&f[1], "req") && nf == TAP_REQ_FIELDS) {
		if (tap_parse_req(f, out))
			goto bad;
		return 0;
	}
	if (tap_is(&f[1], "err") && nf == TAP_ERR_FIELDS) {
		out->kind = TAP_KIND_CONN_ERROR;
		if (tap_copy(&f[5], out->src, sizeof(out->src), TAP_ADDR_CHARS) ||
		    tap_copy(&f[6], out->dst, sizeof(out->dst), TAP_ADDR_CHARS) ||
		    tap_decode(&f[7], out->error, sizeof(out->error)))
			goto bad;
		return 0;
	}
bad:
	memset(out, 0, sizeof(*out));
	return -1;
}

int tap_listen(const char *addr, int *port)
{
	struct addr_hostport hp;
	struct sockaddr_storage sa;
	socklen_t sl, salen;
	char err[256];
	int fd, size = TAP_RCVBUF;

	if (!addr || addr_parse(addr, ADDR_PORT_ZERO | ADDR_NUMERIC, &hp, err, sizeof(err)) ||
	    addr_resolve(&hp, ADDR_NUMERIC, 1, &sa, &salen, err, sizeof(err))) {
		errno = EINVAL;
		return -1;
	}
	sl = sizeof(sa);
	fd = socket(sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* bursts of lines must not be dropped by a small default buffer */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (bind(fd, (struct sockaddr *)&sa, salen) ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl)) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	if (port)
		*port = addr_bound_port(fd);
	return fd;
}

int tap_read_nonblock(int fd, tap_record_cb cb, void *ctx, struct tap_stats *st)
{
	char buf[TAP_LINE_MAX + 2];
	struct tap_record rec;
	int delivered = 0;

	for (int i = 0; i < 4096; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_TRUNC);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -1;
		}
		if (st)
			st->datagrams++;
		/* MSG_TRUNC makes n the real size: oversized lines are rejected */
		if ((size_t)n > sizeof(buf) || tap_parse_line(buf, (size_t)n, &rec)) {
			if (st)
				st->rejected++;
			continue;
		}
		if (st)
			st->parsed++;
		delivered++;
		if (cb)
			cb(&rec, ctx);
	}
	return delivered;
}
