/*
 * cfg.h - the text of the local mesh's HAProxy sidecar configs.
 *
 * Each workload gets two HAProxy processes on its own 127.x.y.z address:
 *   inbound   POD:4143, TLS with verify required against the run CA; sets
 *             the identity header from the verified client CN (overwriting
 *             what the client sent) and forwards to the app (h2c for gRPC).
 *   outbound  POD:4140, plaintext HTTP/1.1 and h2c; routes by Host /
 *             :authority through a map file to backends whose servers are the
 *             destination's inbound sidecars, over h2 + mTLS with verifyhost
 *             = the expected server identity, source POD, http-reuse always;
 *             per-backend retries, timeout and weighted split.
 * Both log one tap line per request (lib/mesh/haproxy/tap.h formats), over
 * UDP or through a ring forwarded over TCP (tap_ring).
 *
 * The faults the mesh injects are fields of the description too, so the
 * generator alone decides where their directives go: the runtime switches
 * (tap_off_switch, retries_off_switch, timeout_off_switch) are rules reading
 * a proc variable that the runtime API flips (HCFG_VAR_*); mtls_off is a
 * variant inbound config.
 *
 * The description structs only borrow strings; nothing here allocates
 * except the dynbuf the caller passes in. Every name, address and path is
 * validated (no spaces, quotes, newlines, '#') before it lands in a config:
 * functions return -1 with errno EINVAL on a bad description (nothing is
 * appended then) and E2BIG when the dynbuf's cap is reached (out then holds
 * a partial config: discard it).
 */
#ifndef CONFORM_HAPROXY_CFG_H
#define CONFORM_HAPROXY_CFG_H

#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

#define HCFG_INBOUND_PORT 4143
#define HCFG_OUTBOUND_PORT 4140
#define HCFG_IDENTITY_HEADER "l5d-client-id"
#define HCFG_DEFAULT_RETRY_ON "500 502 503 504 conn-failure empty-response response-timeout"
#define HCFG_CFG_MAX (256 * 1024)   /* a sane cap for the dynbuf */

/*
 * The proc variables the switches read, set at run time with
 * `experimental-mode on; set var proc.NAME int(0|1)` on the admin socket.
 */
#define HCFG_VAR_TAP_OFF "tap_off"
#define HCFG_VAR_RETRIES_OFF "retries_off"
#define HCFG_VAR_TIMEOUT_OFF "timeout_off"

#define HCFG_RING_SIZE (512 * 1024)        /* tap_ring_size default, bytes */
#define HCFG_RING_SIZE_MIN (16 * 1024)
#define HCFG_RING_SIZE_MAX (64 * 1024 * 1024)
#define HCFG_LIFTED_TIMEOUT_MAX_S 3600

enum hcfg_proto { HCFG_PROTO_HTTP1, HCFG_PROTO_H2C };

struct hcfg_server {
	const char *name;        /* e.g. "v1"; [A-Za-z0-9._-] */
	const char *addr;        /* "IP:PORT" of the destination's inbound */
	int weight;              /* 0..256 */
	const char *verifyhost;  /* expected server identity (its CN / DNS SAN) */
};

struct hcfg_backend {
	const char *name;        /* referenced by routes */
	const struct hcfg_server *servers;
	size_t n_servers;
	int retries;             /* 0 = no retries (retry-on none) */
	const char *retry_on;    /* retry-on keywords; NULL = HCFG_DEFAULT_RETRY_ON */
	int64_t timeout_ms;      /* per-route response timeout -> 504; 0 = default */
	int retries_off_switch;  /* no L7 retries while proc.HCFG_VAR_RETRIES_OFF is true */
	int timeout_off_switch;  /* while proc.HCFG_VAR_TIMEOUT_OFF is true the server
				  * timeout is lifted_timeout_s instead */
	int lifted_timeout_s;    /* 1..HCFG_LIFTED_TIMEOUT_MAX_S with timeout_off_switch,
				  * else 0 */
};

struct hcfg_route {
	const char *authority;   /* host without port, lowercase */
	const char *backend;     /* a backend name */
};

struct hcfg_sidecar {
	const char *name;        /* workload name; frontends are in_<name> / out_<name> */
	const char *pod_ip;      /* IPv4 in 127.0.0.0/8 */
	int port;                /* 0 = HCFG_INBOUND_PORT / HCFG_OUTBOUND_PORT */
	const char *admin_sock;  /* absolute path of the runtime API socket */
	const char *tap_addr;    /* "127.0.0.1:PORT" or NULL for no tap */
	const char *crt;         /* combined leaf cert+key PEM */
	const char *ca_file;     /* run CA certificate */
	const char *identity_header; /* NULL = HCFG_IDENTITY_HEADER */
	int64_t connect_timeout_ms;  /* 0 = 1000 */
	int64_t client_timeout_ms;   /* 0 = 30000 */
	int64_t server_timeout_ms;   /* 0 = 30000 (backends without their own) */
	int maxconn;                 /* 0 = 4096 */

	/*
	 * tap_ring: log to a ring "tap" that HAProxy forwards over TCP to
	 * tap_addr (needs tap_addr) instead of sending UDP datagrams there.
	 * The ring holds what the receiver has not read yet; its timeouts are
	 * those of the TCP connection to the receiver.
	 */
	int tap_ring;
	size_t tap_ring_size;        /* 0 = HCFG_RING_SIZE, else HCFG_RING_SIZE_MIN..MAX */
	int64_t tap_ring_connect_ms; /* 0 = 1000 */
	int64_t tap_ring_server_ms;  /* 0 = 3600000 */
	int tap_off_switch;          /* no tap line while proc.HCFG_VAR_TAP_OFF is true */

	/* inbound only */
	const char *app_addr;    /* "IP:PORT" of the workload */
	enum hcfg_proto app_proto;
	int mtls_off;            /* ask for no client certificate (verify none) and delete
				  * the identity header instead of setting it; an outbound
				  * with it set is refused */

	/* outbound only */
	const char *map_path;    /* absolute path of the authority -> backend map */
	const struct hcfg_route *routes;
	size_t n_routes;
	const struct hcfg_backend *backends;
	size_t n_backends;
};

/* Append the inbound / outbound config text to out. 0 or -1 (errno): EINVAL
 * also when a switch is set that the sidecar cannot honour (tap_ring without
 * tap_addr, mtls_off on an outbound, a lifted timeout out of range). */
int hcfg_inbound(const struct hcfg_sidecar *s, struct dynbuf *out);
int hcfg_outbound(const struct hcfg_sidecar *s, struct dynbuf *out);
/* Append the outbound's map file (one "authority backend" per line). */
int hcfg_map(const struct hcfg_sidecar *s, struct dynbuf *out);

/*
 * Generate and write atomically (0600): for inbound the config at cfg_path;
 * for outbound the map at s->map_path first, then the config. 0 or -1.
 */
int hcfg_write_inbound(const struct hcfg_sidecar *s, const char *cfg_path);
int hcfg_write_outbound(const struct hcfg_sidecar *s, const char *cfg_path);

/* The backend name the outbound config gives backend b ("be_" + name);
 * the runtime API (haproxy_rt.h) addresses servers as that/<server>. */
int hcfg_backend_id(const char *name, char *buf, size_t len);

#endif
