/*
 * cfg.c - generates the inbound and outbound HAProxy sidecar configs
 * of the local reference mesh from a description. Every value is validated
 * before it is written, because a space or newline in a name would silently
 * change what HAProxy is told to do.
 */
#include "mesh/haproxy/cfg.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/un.h>

#include "mesh/haproxy/tap.h"

static int hcfg_token(const char *s, size_t max)
{
	size_t n = 0;

	if (!s || !*s)
		return 0;
	for (; *s; s++, n++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-'))
			return 0;
	}
	return n <= max;
}

/* DNS-ish lowercase name: identities and authorities. */
static int hcfg_dnsname(const char *s)
{
	size_t n = 0;

	if (!s || !*s || *s == '.' || *s == '-')
		return 0;
	for (; *s; s++, n++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '.' || *s == '-'))
			return 0;
	}
	return n <= 253;
}

static int hcfg_loop_ip(const char *s)
{
	struct in_addr a;

	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return 0;
	return (ntohl(a.s_addr) >> 24) == 127;
}

/* "IP:PORT" with IP in 127/8 and PORT 1..65535. */
static int hcfg_loop_addr(const char *s)
{
	const char *colon = s ? strrchr(s, ':') : NULL;
	char ip[INET_ADDRSTRLEN];
	int64_t port;

	if (!colon || (size_t)(colon - s) >= sizeof(ip) ||
	    parse_i64(colon + 1, 1, 65535, &port))
		return 0;
	memcpy(ip, s, (size_t)(colon - s));
	ip[colon - s] = '\0';
	return hcfg_loop_ip(ip);
}

/* Absolute path without anything HAProxy's parser would treat specially. */
static int hcfg_path(const char *s, size_t max)
{
	size_t n = 0;

	if (!s || *s != '/')
		return 0;
	for (; *s; s++, n++) {
		unsigned char c = (unsigned char)*s;

		if (c <= 0x20 || c >= 0x7f || strchr("\"'#\\$", c))
			return 0;
	}
	return n < max;
}

/* 0 (the default) or a duration HAProxy takes: up to a day. */
static int hcfg_ms_valid(int64_t ms)
{
	return ms >= 0 && ms <= 86400 * 1000;
}

static int hcfg_ring_valid(const struct hcfg_sidecar *s)
{
	if (!s->tap_ring)
		return 1;
	return s->tap_addr &&
	       (s->tap_ring_size == 0 || (s->tap_ring_size >= HCFG_RING_SIZE_MIN &&
					  s->tap_ring_size <= HCFG_RING_SIZE_MAX)) &&
	       hcfg_ms_valid(s->tap_ring_connect_ms) && hcfg_ms_valid(s->tap_ring_server_ms);
}

static int hcfg_common_valid(const struct hcfg_sidecar *s)
{
	struct sockaddr_un un;

	return s && hcfg_token(s->name, 48) && hcfg_loop_ip(s->pod_ip) && hcfg_ring_valid(s) &&
	       s->port >= 0 && s->port <= 65535 &&
	       hcfg_path(s->admin_sock, sizeof(un.sun_path)) &&
	       (!s->tap_addr || hcfg_loop_addr(s->tap_addr)) &&
	       hcfg_path(s->crt, 1024) && hcfg_path(s->ca_file, 1024) &&
	       (!s->identity_header || hcfg_token(s->identity_header, 64)) &&
	       s->connect_timeout_ms >= 0 && s->client_timeout_ms >= 0 &&
	       s->server_timeout_ms >= 0 && s->maxconn >= 0 && s->maxconn <= 1000000;
}

static int64_t hcfg_or(int64_t v, int64_t dflt)
{
	return v > 0 ? v : dflt;
}

static const char *hcfg_hdr(const struct hcfg_sidecar *s)
{
	return s->identity_header ? s->identity_header : HCFG_IDENTITY_HEADER;
}

/* ms in the largest unit that keeps it exact: 3600000 -> "1h", 1500 -> "1500ms" */
static void hcfg_duration(int64_t ms, char *buf, size_t len)
{
	if (ms > 0 && ms % 3600000 == 0)
		str_fmt(buf, len, "%" PRId64 "h", ms / 3600000);
	else if (ms > 0 && ms % 60000 == 0)
		str_fmt(buf, len, "%" PRId64 "m", ms / 60000);
	else if (ms > 0 && ms % 1000 == 0)
		str_fmt(buf, len, "%" PRId64 "s", ms / 1000);
	else
		str_fmt(buf, len, "%" PRId64 "ms", ms);
}

/*
 * The tap ring, between global and defaults. A ring forwarded over TCP
 * (HAProxy connects out from 127.0.0.1) rather than a UDP log target:
 * HAProxy's UDP log sockets autobind to 0.0.0.0:<ephemeral>, i.e. they would
 * accept datagrams from outside loopback. The ring only has to hold what the
 * receiver has not read yet (lines leave it ~0.2 ms after the response); the
 * default 512 KiB is ~1.5 s of the busiest sidecar at 200 req/s per check.
 * It is kept small on purpose: a ring's pages become resident as lines are
 * first written into it, so a 4 MiB ring made a quiet sidecar's RSS climb
 * for 12 minutes (a soak saw a leak in the split's v2 inbound at 20 lines/s).
 * Directives: HAProxy 2.6 configuration manual, section 3.9 "Rings".
 */
static int hcfg_ring(const struct hcfg_sidecar *s, struct dynbuf *o)
{
	char conn[32], srv[32];

	if (!s->tap_ring)
		return 0;
	hcfg_duration(hcfg_or(s->tap_ring_connect_ms, 1000), conn, sizeof(conn));
	hcfg_duration(hcfg_or(s->tap_ring_server_ms, 3600 * 1000), srv, sizeof(srv));
	return dynbuf_addf(o,
		"ring tap\n"
		"    description \"conform tap feed\"\n"
		"    format raw\n"
		"    maxlen 4096\n"
		"    size %zu\n"
		"    timeout connect %s\n"
		"    timeout server %s\n"
		"    server conformd %s\n"
		"\n",
		s->tap_ring_size ? s->tap_ring_size : (size_t)HCFG_RING_SIZE, conn, srv,
		s->tap_addr);
}

static int hcfg_head(const struct hcfg_sidecar *s, struct dynbuf *o, const char *what)
{
	if (dynbuf_addf(o,
		"# generated by conform: %s sidecar of %s; do not edit\n"
		"global\n"
		"    maxconn %d\n"
		"    stats socket %s mode 600 level admin\n"
		"    stats timeout 30s\n"
		"    ssl-default-bind-options ssl-min-ver TLSv1.2\n"
		"    ssl-default-server-options ssl-min-ver TLSv1.2\n"
		"    ssl-server-verify required\n"
		"    hard-stop-after 10s\n"
		"\n",
		what, s->name, s->maxconn ? s->maxconn : 4096, s->admin_sock) ||
	    hcfg_ring(s, o))
		return -1;
	return dynbuf_addf(o,
		"defaults\n"
		"    mode http\n"
		"    timeout connect %" PRId64 "ms\n"
		"    timeout client %" PRId64 "ms\n"
		"    timeout server %" PRId64 "ms\n"
		"    timeout http-request 10s\n"
		"    timeout http-keep-alive 10s\n"
		"\n",
		hcfg_or(s->connect_timeout_ms, 1000), hcfg_or(s->client_timeout_ms, 30000),
		hcfg_or(s->server_timeout_ms, 30000));
}

/* log target, tap formats, the variables those formats read, the tap-off
 * switch (a silent log level drops the request's line) */
static int hcfg_tap(const struct hcfg_sidecar *s, struct dynbuf *o, enum tap_dir dir)
{
	if (s->tap_addr &&
	    dynbuf_addf(o,
		"    log %s len 4096 format raw local0 info\n"
		"    log-format \"%s\"\n"
		"    error-log-format \"%s\"\n",
		s->tap_ring ? "ring@tap" : s->tap_addr, tap_log_format(dir),
		tap_error_log_format(dir)))
		return -1;
	if (dynbuf_adds(o,
		"    http-request set-var(txn.rid) req.fhdr(x-request-id),url_enc\n"
		"    http-request set-var(txn.path) path\n"))
		return -1;
	if (s->tap_off_switch &&
	    dynbuf_adds(o, "    http-request set-log-level silent if { var(proc."
			HCFG_VAR_TAP_OFF ") -m bool }\n"))
		return -1;
	return 0;
}

int hcfg_inbound(const struct hcfg_sidecar *s, struct dynbuf *o)
{
	if (!hcfg_common_valid(s) || !hcfg_loop_addr(s->app_addr) ||
	    (s->app_proto != HCFG_PROTO_HTTP1 && s->app_proto != HCFG_PROTO_H2C)) {
		errno = EINVAL;
		return -1;
	}
	if (hcfg_head(s, o, "inbound") ||
	    dynbuf_addf(o,
		"frontend in_%s\n"
		"    bind %s:%d ssl crt %s ca-file %s verify %s alpn h2,http/1.1\n",
		s->name, s->pod_ip, s->port ? s->port : HCFG_INBOUND_PORT, s->crt, s->ca_file,
		s->mtls_off ? "none" : "required") ||
	    hcfg_tap(s, o, TAP_DIR_IN) ||
	    /* set-header replaces every occurrence the client sent; without a
	     * verified client nothing may pass for an identity */
	    (s->mtls_off ?
	     dynbuf_addf(o, "    http-request del-header %s\n", hcfg_hdr(s)) :
	     dynbuf_addf(o, "    http-request set-header %s %%[ssl_c_s_dn(cn)]\n", hcfg_hdr(s))) ||
	    dynbuf_addf(o,
		"    default_backend app\n"
		"\n"
		"backend app\n"
		"    server app %s%s\n",
		s->app_addr, s->app_proto == HCFG_PROTO_H2C ? " proto h2" : "")) {
		errno = E2BIG;
		return -1;
	}
	return 0;
}

int hcfg_backend_id(const char *name, char *buf, size_t len)
{
	if (!hcfg_token(name, 48) || str_fmt(buf, len, "be_%s", name)) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* retry-on keywords HAProxy 2.6 knows */
static int hcfg_retry_on_valid(const char *list)
{
	static const char *const kw[] = {
		"none", "conn-failure", "empty-response", "junk-response",
		"response-timeout", "0rtt-rejected", "all-retryable-errors",
		"401", "403", "404", "408", "425", "500", "501", "502", "503", "504",
	};
	char word[32];
	size_t n;

	if (!list || !*list)
		return 0;
	while (*list) {
		int found = 0;

		n = strcspn(list, " ");
		if (n == 0 || n >= sizeof(word))
			return 0;
		memcpy(word, list, n);
		word[n] = '\0';
		for (size_t i = 0; i < ARRAY_SIZE(kw); i++)
			found |= !strcmp(word, kw[i]);
		if (!found)
			return 0;
		list += n;
		if (*list == ' ' && *++list == '\0')
			return 0;
	}
	return 1;
}

static int hcfg_backend_valid(const struct hcfg_backend *b)
{
	if (!hcfg_token(b->name, 48) || !b->servers || b->n_servers == 0 ||
	    b->n_servers > 64 || b->retries < 0 || b->retries > 10 ||
	    b->timeout_ms < 0 || b->timeout_ms > 3600 * 1000 ||
	    (b->retry_on && !hcfg_retry_on_valid(b->retry_on)) ||
	    (b->timeout_off_switch ?
	     b->lifted_timeout_s < 1 || b->lifted_timeout_s > HCFG_LIFTED_TIMEOUT_MAX_S :
	     b->lifted_timeout_s != 0))
		return 0;
	for (size_t i = 0; i < b->n_servers; i++) {
		const struct hcfg_server *v = &b->servers[i];

		if (!hcfg_token(v->name, 48) || !hcfg_loop_addr(v->addr) ||
		    v->weight < 0 || v->weight > 256 || !hcfg_dnsname(v->verifyhost))
			return 0;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(b->servers[j].name, v->name))
				return 0;
	}
	return 1;
}

static int hcfg_outbound_valid(const struct hcfg_sidecar *s)
{
	if (!hcfg_common_valid(s) || s->mtls_off || !hcfg_path(s->map_path, 1024) ||
	    (s->n_routes && !s->routes) || (s->n_backends && !s->backends))
		return 0;
	for (size_t i = 0; i < s->n_backends; i++) {
		if (!hcfg_backend_valid(&s->backends[i]))
			return 0;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(s->backends[j].name, s->backends[i].name))
				return 0;
	}
	for (size_t i = 0; i < s->n_routes; i++) {
		int found = 0;

		if (!hcfg_dnsname(s->routes[i].authority))
			return 0;
		for (size_t j = 0; j < s->n_backends; j++)
			found |= s->routes[i].backend && !strcmp(s->routes[i].backend, s->backends[j].name);
		if (!found)
			return 0;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(s->routes[j].authority, s->routes[i].authority))
				return 0;
	}
	return 1;
}

static int hcfg_add_backend(const struct hcfg_sidecar *s, const struct hcfg_backend *b,
			    struct dynbuf *o)
{
	if (dynbuf_addf(o, "backend be_%s\n", b->name))
		return -1;
	/* the switches open the backend: its only http-request rules */
	if (b->retries_off_switch &&
	    dynbuf_adds(o, "    http-request disable-l7-retry if { var(proc."
			HCFG_VAR_RETRIES_OFF ") -m bool }\n"))
		return -1;
	if (b->timeout_off_switch &&
	    dynbuf_addf(o, "    http-request set-timeout server %ds if { var(proc."
			HCFG_VAR_TIMEOUT_OFF ") -m bool }\n", b->lifted_timeout_s))
		return -1;
	if (dynbuf_adds(o,
		"    balance roundrobin\n"
		"    http-reuse always\n"))
		return -1;
	if (b->retries > 0) {
		/* buffering the request lets HAProxy replay small bodies */
		if (dynbuf_addf(o,
			"    option http-buffer-request\n"
			"    retry-on %s\n"
			"    retries %d\n",
			b->retry_on ? b->retry_on : HCFG_DEFAULT_RETRY_ON, b->retries))
			return -1;
	} else if (dynbuf_adds(o, "    retry-on none\n    retries 0\n")) {
		return -1;
	}
	if (b->timeout_ms > 0 &&
	    dynbuf_addf(o, "    timeout server %" PRId64 "ms\n", b->timeout_ms))
		return -1;
	for (size_t i = 0; i < b->n_servers; i++) {
		const struct hcfg_server *v = &b->servers[i];

		if (dynbuf_addf(o,
			"    server %s %s weight %d ssl crt %s ca-file %s verify required"
			" verifyhost %s alpn h2 source %s\n",
			v->name, v->addr, v->weight, s->crt, s->ca_file, v->verifyhost, s->pod_ip))
			return -1;
	}
	return dynbuf_adds(o, "\n");
}

int hcfg_outbound(const struct hcfg_sidecar *s, struct dynbuf *o)
{
	if (!hcfg_outbound_valid(s)) {
		errno = EINVAL;
		return -1;
	}
	if (hcfg_head(s, o, "outbound") ||
	    dynbuf_addf(o,
		"frontend out_%s\n"
		"    bind %s:%d\n",
		s->name, s->pod_ip, s->port ? s->port : HCFG_OUTBOUND_PORT) ||
	    hcfg_tap(s, o, TAP_DIR_OUT) ||
	    /* the app must not be able to claim an identity */
	    dynbuf_addf(o,
		"    http-request del-header %s\n"
		"    use_backend %%[req.hdr(host),host_only,map(%s)]\n"
		"\n",
		hcfg_hdr(s), s->map_path))
		goto big;
	for (size_t i = 0; i < s->n_backends; i++)
		if (hcfg_add_backend(s, &s->backends[i], o))
			goto big;
	return 0;
big:
	errno = E2BIG;
	return -1;
}

int hcfg_map(const struct hcfg_sidecar *s, struct dynbuf *o)
{
	if (!hcfg_outbound_valid(s)) {
		errno = EINVAL;
		return -1;
	}
	if (dynbuf_addf(o, "# generated by conform: authority -> backend of %s\n", s->name))
		goto big;
	for (size_t i = 0; i < s->n_routes; i++)
		if (dynbuf_addf(o, "%s be_%s\n", s->routes[i].authority, s->routes[i].backend))
			goto big;
	return 0;
big:
	errno = E2BIG;
	return -1;
}

static int hcfg_write(const char *path, struct dynbuf *b)
{
	int rc;

	if (!path) {
		errno = EINVAL;
		return -1;
	}
	rc = file_write_atomic(path, b->buf ? b->buf : "", b->len, 0600);
	return rc;
}

int hcfg_write_inbound(const struct hcfg_sidecar *s, const char *cfg_path)
{
	struct dynbuf b = DYNBUF_INIT(HCFG_CFG_MAX);
	int rc = -1;

	if (hcfg_inbound(s, &b))
		goto out;
	rc = hcfg_write(cfg_path, &b);
out:
	dynbuf_release(&b);
	return rc;
}

int hcfg_write_outbound(const struct hcfg_sidecar *s, const char *cfg_path)
{
	struct dynbuf b = DYNBUF_INIT(HCFG_CFG_MAX);
	int rc = -1;

	if (hcfg_map(s, &b) || hcfg_write(s->map_path, &b))
		goto out;
	dynbuf_reset(&b);
	if (hcfg_outbound(s, &b))
		goto out;
	rc = hcfg_write(cfg_path, &b);
out:
	dynbuf_release(&b);
	return rc;
}
