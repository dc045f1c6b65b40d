/*
 * mesh.h - the mesh adapter: what is validated and how it is configured and
 * observed. One const table of function pointers per mesh: `none` (the
 * baseline: no sidecars, every mesh check must fail with "no mesh",
 * mesh_none.c), `haproxy` (the local reference mesh) and later `linkerd`.
 * conformd only talks to a mesh through this table.
 *
 * Errors: slots return 0 or a negative errno-style code; -ENOTSUP means the
 * mesh cannot do it (the check that needs it then fails or is skipped with
 * that reason). Where they take err, a one-line message is written there.
 */
#ifndef CONFORM_MESH_H
#define CONFORM_MESH_H

#include <stddef.h>
#include <stdint.h>

#include "platform.h"
#include "run.h"

struct mesh;   /* one per run, made by prepare */

/* A mesh feature to configure for the run's checks. */
enum mesh_feature_kind {
	MESH_RETRY,      /* retry policy on a route */
	MESH_SPLIT,      /* traffic split weights between backends */
	MESH_TIMEOUT,    /* route timeout */
	MESH_MTLS,       /* mTLS policy: require authenticated clients */
};

struct mesh_feature {
	enum mesh_feature_kind kind;
	char service[64];        /* the server workload (route) it applies to */
	int retries;             /* MESH_RETRY: extra attempts allowed */
	char backends[4][32];    /* MESH_SPLIT: backend versions ("v1", "v2") */
	unsigned weights[4];     /* MESH_SPLIT: their weights */
	size_t nbackends;
	int64_t timeout_ms;      /* MESH_TIMEOUT */
	int required;            /* MESH_MTLS: 1 = refuse plaintext */
};

/* One request as the mesh saw it (tap feed). */
struct mesh_tap_line {
	double ts;               /* unix s when the proxy logged it */
	char request_id[128];
	char src[64], dst[64];   /* workload names (or addresses) */
	char identity[256];      /* verified client identity, "" if none */
	int status;              /* HTTP status */
	int64_t latency_us;
};

/* Counters of one proxy (cumulative; the caller keeps deltas and detects
 * resets when a counter goes down). */
struct mesh_proxy_stats {
	uint64_t requests;
	uint64_t responses_5xx;
	uint64_t retries;
	uint64_t tls_handshake_failures;
	double started;          /* unix s the proxy started (reset detection) */
};

/* A fault injected by the mesh itself (not by the workload's admin hook). */
struct mesh_fault {
	char kind[32];           /* "server-errors", "server-latency" ... */
	char target[64];
	double rate;
	int code;
	int64_t ms;
};

struct mesh_ops {
	const char *name;   /* "none", "haproxy" */
	/* Make the run's mesh state: certificates, CA, proxy configs under the
	 * run dir. *out is new, freed by release. */
	int (*prepare)(const struct run_config *cfg, const struct platform_ops *pops,
		       struct platform *plat, struct mesh **out, char *err, size_t errlen);
	/* Start the sidecars of workload w (inbound for servers, outbound for
	 * clients) through the platform; may rewrite w (e.g. the address a
	 * server must listen on behind its inbound). */
	int (*start_sidecars)(struct mesh *m, struct workload_spec *w, char *err, size_t errlen);
	/* Stop the sidecars of workload name (after the workload stopped). */
	int (*stop_sidecars)(struct mesh *m, const char *name);
	/* Name of the header that carries the verified client identity to servers. */
	const char *(*identity_header)(struct mesh *m);
	/* Address ("host:port") a client uses to reach server, whose own listen
	 * address is server_addr: the server itself, or a sidecar in front. */
	int (*route)(struct mesh *m, const char *server, const char *server_addr,
		     char *out, size_t len);
	/* Apply a feature (retry policy, split weights, timeout, mTLS policy). */
	int (*configure)(struct mesh *m, const struct mesh_feature *f, char *err, size_t errlen);
	/* Open the tap feed; *fd becomes readable when lines are waiting. */
	int (*tap_open)(struct mesh *m, int *fd);
	/* Read up to max parsed tap lines without blocking; returns how many, or < 0. */
	int (*tap_read)(struct mesh *m, struct mesh_tap_line *out, size_t max);
	/* Read the proxy statistics of workload name's sidecar(s). */
	int (*proxy_stats)(struct mesh *m, const char *name, struct mesh_proxy_stats *out);
	/* Inject a fault in the mesh (proxy side); 0, or -ENOTSUP. */
	int (*inject_fault)(struct mesh *m, const struct mesh_fault *f, char *err, size_t errlen);
	/* Free everything (sidecars must have been stopped). NULL is fine. */
	void (*release)(struct mesh *m);
};

extern const struct mesh_ops mesh_none;

/* Adapter by name ("none", "haproxy"), or NULL when not built in. */
const struct mesh_ops *mesh_find(const char *name);

#endif
