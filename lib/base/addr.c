/*
 * addr.c - HOST:PORT parsing, resolution (getaddrinfo), listeners and
 * connections for every TCP address conform takes: workload listeners, the
 * collector a client reports to (a Service name in a cluster), probes, tap,
 * the API and /metrics. One parser, so every flag accepts the same forms and
 * says the same thing when it cannot.
 */
#include "base/addr.h"
#include "base/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

/* A DNS name as RFC 1123 allows it: labels of letters, digits and '-'. */
static int addr_name_ok(const char *h)
{
	size_t label = 0, i;

	if (!*h || strlen(h) > 253)
		return 0;
	for (i = 0; h[i]; i++) {
		char c = h[i];

		if (c == '.') {
			if (!label)
				return 0;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
		if ((c == '-') && (!label || h[i + 1] == '.' || !h[i + 1]))
			return 0;
		if (++label > 63)
			return 0;
	}
	return 1;
}

int addr_parse(const char *s, unsigned flags, struct addr_hostport *out, char *err,
	       size_t errlen)
{
	const char *colon, *h = s;
	size_t hl;
	int64_t p;
	struct in_addr a4;
	struct in6_addr a6;

	memset(out, 0, sizeof(*out));
	if (!s || !*s) {
		str_fmt(err, errlen, "empty address; give HOST:PORT, e.g. 127.0.0.1:9090");
		return -1;
	}
	colon = strrchr(s, ':');
	if (*s == '[') {
		const char *rb = strchr(s, ']');

		if (!rb) {
			str_fmt(err, errlen, "'%.80s': '[' without ']'; write an IPv6 address as "
				"[ADDR]:PORT, e.g. [::1]:9090", s);
			return -1;
		}
		if (rb[1] != ':') {
			str_fmt(err, errlen, "'%.80s': no port after ']'; give [ADDR]:PORT, "
				"e.g. [::1]:9090", s);
			return -1;
		}
		h = s + 1;
		hl = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		if (!colon) {
			str_fmt(err, errlen, "'%.80s': no port; give HOST:PORT, e.g. %.80s:9090",
				s, s);
			return -1;
		}
		hl = (size_t)(colon - s);
		if (memchr(s, ':', hl)) {
			str_fmt(err, errlen, "'%.80s': an IPv6 address needs brackets, "
				"e.g. [::1]:9090", s);
			return -1;
		}
	}
	if (!hl) {
		str_fmt(err, errlen, "'%.80s': no host before the port; give HOST:PORT, "
			"e.g. 127.0.0.1%.20s", s, colon);
		return -1;
	}
	if (hl >= sizeof(out->host)) {
		str_fmt(err, errlen, "'%.40s...': host longer than %zu characters", s,
			sizeof(out->host) - 1);
		return -1;
	}
	memcpy(out->host, h, hl);
	out->host[hl] = '\0';
	if (parse_i64(colon + 1, (flags & ADDR_PORT_ZERO) ? 0 : 1, 65535, &p) < 0) {
		str_fmt(err, errlen, "'%.80s': port '%.16s' is not a number %s..65535", s,
			colon + 1, (flags & ADDR_PORT_ZERO) ? "0" : "1");
		return -1;
	}
	out->port = (int)p;
	if (inet_pton(AF_INET6, out->host, &a6) == 1) {
		if (*s != '[') {
			str_fmt(err, errlen, "'%.80s': an IPv6 address needs brackets, "
				"e.g. [::1]:9090", s);
			return -1;
		}
		out->family = AF_INET6;
	} else if (*s == '[') {
		str_fmt(err, errlen, "'%.80s': '%s' in brackets is not an IPv6 address", s,
			out->host);
		return -1;
	} else if (inet_pton(AF_INET, out->host, &a4) == 1) {
		out->family = AF_INET;
	} else if (flags & ADDR_NUMERIC) {
		str_fmt(err, errlen, "'%.80s': '%s' is not a numeric IP address (names are "
			"not resolved here); give e.g. 127.0.0.1:%d", s, out->host, out->port);
		return -1;
	} else if (!addr_name_ok(out->host)) {
		str_fmt(err, errlen, "'%.80s': '%s' is neither an IP address nor a host name",
			s, out->host);
		return -1;
	} else {
		out->family = AF_UNSPEC;
	}
	if ((flags & ADDR_LOOPBACK) && out->family != AF_UNSPEC) {
		int lo = out->family == AF_INET ? (ntohl(a4.s_addr) >> 24) == 127
						: IN6_IS_ADDR_LOOPBACK(&a6);

		if (!lo) {
			str_fmt(err, errlen, "'%.80s': only loopback addresses (127.0.0.0/8, "
				"[::1]) are allowed here", s);
			return -1;
		}
	}
	return 0;
}

int addr_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_LOOPBACK(a))
			return 1;
		return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
	}
	return 0;
}

/* getaddrinfo for hp; the caller frees *res. */
static int addr_gai(const struct addr_hostport *hp, int passive, struct addrinfo **res,
		    char *err, size_t errlen)
{
	struct addrinfo hints;
	char port[8];
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = hp->family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = AI_NUMERICSERV | (hp->family != AF_UNSPEC ? AI_NUMERICHOST : 0) |
			 (passive ? AI_PASSIVE : 0);
	str_fmt(port, sizeof(port), "%d", hp->port);
	rc = getaddrinfo(hp->host, port, &hints, res);
	if (rc) {
		str_fmt(err, errlen, "cannot resolve '%s': %s; check the name (and DNS), "
			"or give an IP address", hp->host,
			rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		*res = NULL;
		return -1;
	}
	return 0;
}

static int addr_check_loopback(const struct addr_hostport *hp, const struct addrinfo *res,
			       char *err, size_t errlen)
{
	const struct addrinfo *ai;
	char a[ADDR_STR_MAX];

	for (ai = res; ai; ai = ai->ai_next) {
		if (!addr_is_loopback(ai->ai_addr)) {
			addr_format(ai->ai_addr, a, sizeof(a));
			str_fmt(err, errlen, "'%s' resolves to %s, which is not a loopback "
				"address; give 127.0.0.1 or [::1] here", hp->host, a);
			return -1;
		}
	}
	return 0;
}

int addr_resolve(const struct addr_hostport *hp, unsigned flags, int passive,
		 struct sockaddr_storage *ss, socklen_t *sslen, char *err, size_t errlen)
{
	struct addrinfo *res = NULL;
	int rc = -1;

	if (addr_gai(hp, passive, &res, err, errlen) < 0)
		goto out;
	if ((flags & ADDR_LOOPBACK) && addr_check_loopback(hp, res, err, errlen) < 0)
		goto out;
	if (res->ai_addrlen > sizeof(*ss)) {
		str_fmt(err, errlen, "'%s': address too long", hp->host);
		goto out;
	}
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = res->ai_addrlen;
	rc = 0;
out:
	if (res)
		freeaddrinfo(res);
	return rc;
}

int addr_format(const struct sockaddr *sa, char *out, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (len)
		out[0] = '\0';
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)sa;

		if (!inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip)))
			return -1;
		return str_fmt(out, len, "%s:%u", ip, (unsigned)ntohs(a->sin_port));
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;

		if (!inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip)))
			return -1;
		return str_fmt(out, len, "[%s]:%u", ip, (unsigned)ntohs(a->sin6_port));
	}
	return -1;
}

int addr_join(const char *host, int port, char *out, size_t len)
{
	if (strchr(host, ':'))
		return str_fmt(out, len, "[%s]:%d", host, port);
	return str_fmt(out, len, "%s:%d", host, port);
}

int addr_bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}

int addr_listen(const char *s, unsigned flags, int backlog, int *port, char *err,
		size_t errlen)
{
	struct addr_hostport hp;
	struct sockaddr_storage ss;
	socklen_t sl;
	char a[ADDR_STR_MAX];
	int fd = -1, one = 1;

	if (addr_parse(s, flags, &hp, err, errlen) < 0 ||
	    addr_resolve(&hp, flags, 1, &ss, &sl, err, errlen) < 0)
		return -1;
	addr_format((struct sockaddr *)&ss, a, sizeof(a));
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		str_fmt(err, errlen, "socket for %s: %s", a, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)   /* [::]:P means IPv6 only, as written */
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		int e = errno;

		str_fmt(err, errlen, "cannot bind %s: %s%s", a, strerror(e),
			e == EADDRINUSE ? " (pick another port, or 0 for any)" :
			e == EADDRNOTAVAIL ? " (no interface of this machine has that address)" :
			"");
		goto fail;
	}
	if (listen(fd, backlog > 0 ? backlog : 64) < 0) {
		str_fmt(err, errlen, "cannot listen on %s: %s", a, strerror(errno));
		goto fail;
	}
	if (port && (*port = addr_bound_port(fd)) < 0) {
		str_fmt(err, errlen, "getsockname on %s: %s", a, strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/* Connect fd to ai within timeout_ms; 0 or -1 with errno set. */
static int addr_connect_one(int fd, const struct addrinfo *ai, int timeout_ms)
{
	struct pollfd pfd;
	int fl, rc, soerr = 0;
	socklen_t sl = sizeof(soerr);

	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
	if (rc < 0 && errno != EINPROGRESS)
		return -1;
	if (rc < 0) {
		pfd.fd = fd;
		pfd.events = POLLOUT;
		do
			rc = poll(&pfd, 1, timeout_ms);
		while (rc < 0 && errno == EINTR);
		if (rc == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (rc < 0)
			return -1;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
			return -1;
		if (soerr) {
			errno = soerr;
			return -1;
		}
	}
	return fcntl(fd, F_SETFL, fl);
}

int addr_connect(const char *s, unsigned flags, int timeout_ms, char *err, size_t errlen)
{
	struct addr_hostport hp;
	struct addrinfo *res = NULL, *ai;
	char a[ADDR_STR_MAX];
	int fd = -1;

	if (timeout_ms <= 0)
		timeout_ms = 5000;
	if (addr_parse(s, flags & ~ADDR_PORT_ZERO, &hp, err, errlen) < 0 ||
	    addr_gai(&hp, 0, &res, err, errlen) < 0)
		goto out;
	if ((flags & ADDR_LOOPBACK) && addr_check_loopback(&hp, res, err, errlen) < 0)
		goto out;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && addr_connect_one(fd, ai, timeout_ms) == 0)
			goto out;
		addr_format(ai->ai_addr, a, sizeof(a));
		str_fmt(err, errlen, "cannot connect to %s (%s): %s", s, a, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
out:
	if (res)
		freeaddrinfo(res);
	return fd;
}
