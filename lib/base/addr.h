/*
 * addr.h - one way to read, resolve, bind and connect "HOST:PORT" addresses.
 * HOST is an IPv4 literal, a bracketed IPv6 literal ("[::1]:9090") or a DNS
 * name (a Kubernetes Service: "conformd.conform.svc.cluster.local:9090");
 * names go through getaddrinfo. Every function writes a lowercase message
 * into err saying what was wrong and how to fix it; the caller prefixes the
 * flag or setting the address came from.
 */
#ifndef CONFORM_ADDR_H
#define CONFORM_ADDR_H

#include <stddef.h>
#include <sys/socket.h>

#define ADDR_HOST_MAX 254   /* a DNS name is at most 253 characters */
#define ADDR_STR_MAX 270    /* "[" host "]:" port, NUL */

enum addr_flags {
	ADDR_PORT_ZERO = 1 << 0,  /* port 0 accepted (a listener asking for any port) */
	ADDR_NUMERIC = 1 << 1,    /* host must be an IP literal: names are refused */
	ADDR_LOOPBACK = 1 << 2,   /* every address the host resolves to must be loopback */
};

struct addr_hostport {
	char host[ADDR_HOST_MAX]; /* without brackets: "::1", "127.0.0.1", "name.svc" */
	int port;                 /* 0..65535 */
	int family;               /* AF_INET or AF_INET6 for a literal, AF_UNSPEC for a name */
};

/*
 * Read s ("HOST:PORT" or "[IPV6]:PORT") into out. Checks the syntax only:
 * a name is not resolved here (ADDR_LOOPBACK is checked for literals and
 * "localhost"; addr_resolve checks it for names). Returns 0, or -1 with err.
 */
int addr_parse(const char *s, unsigned flags, struct addr_hostport *out, char *err,
	       size_t errlen);

/*
 * Resolve hp (TCP). passive: for a listener (a literal is used as is, no
 * wildcard is ever chosen for us). Fills *ss and *sslen with the first result;
 * with ADDR_LOOPBACK, every result must be a loopback address. Returns 0,
 * or -1 with err (e.g. "cannot resolve 'x.invalid': ...").
 */
int addr_resolve(const struct addr_hostport *hp, unsigned flags, int passive,
		 struct sockaddr_storage *ss, socklen_t *sslen, char *err, size_t errlen);

/*
 * Parse, resolve, and listen on s (TCP, SO_REUSEADDR, close-on-exec,
 * backlog). Returns the listening socket (the caller closes it) and the
 * bound port in *port (may be NULL), or -1 with err.
 */
int addr_listen(const char *s, unsigned flags, int backlog, int *port, char *err,
		size_t errlen);

/*
 * Parse, resolve and connect to s (TCP), trying each address the host
 * resolves to in order, each within timeout_ms (<= 0: 5000). Returns the
 * connected, blocking, close-on-exec socket (the caller closes it), or -1
 * with err naming the last failure.
 */
int addr_connect(const char *s, unsigned flags, int timeout_ms, char *err, size_t errlen);

/* 1 when sa is 127.0.0.0/8, ::1 or an IPv4-mapped 127/8 address, else 0. */
int addr_is_loopback(const struct sockaddr *sa);

/*
 * Write sa as "1.2.3.4:80" or "[::1]:80" into out. Returns 0, or -1 when it
 * does not fit or sa is not AF_INET/AF_INET6 (out is then "").
 */
int addr_format(const struct sockaddr *sa, char *out, size_t len);

/* Write host and port as "HOST:PORT", bracketing an IPv6 literal. 0 or -1. */
int addr_join(const char *host, int port, char *out, size_t len);

/* The local port fd is bound to, or -1. */
int addr_bound_port(int fd);

#endif
