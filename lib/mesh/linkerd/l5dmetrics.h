/*
 * l5dmetrics.h - the evidence the checks take from a Linkerd proxy's
 * :4191/metrics scrape (or from the delta of two, see prom_delta): request
 * and response totals by TLS and peer identity, outbound route retries, the
 * per-backend request counts of a traffic split, and the identity
 * certificate's expiry. Version-aware, because family and label names moved
 * between releases (sources: linkerd/linkerd2-proxy, paths in l5dmetrics.c).
 *
 * Everything here reads a parsed prom_set and fills plain structs; nothing
 * is kept between calls, so the caller decides what a scrape or a delta is.
 */
#ifndef CONFORM_L5DMETRICS_H
#define CONFORM_L5DMETRICS_H

#include <stddef.h>
#include <stdint.h>

#include "mesh/linkerd/promtext.h"

/* The releases whose metric names conform knows; a newer one reads as the
 * newest known, an older one as the oldest. */
enum l5d_version {
	L5D_2_14 = 214,   /* proxy v2.210: identity_cert_*, no route retry families */
	L5D_2_16 = 216,   /* proxy v2.246: control_identity_cert_*, route retry families */
	L5D_2_18 = 218,   /* proxy v2.294: no inbound authority label */
	/* metrics as 2.18; the policy controller also reads the request timeout
	 * of a gateway.networking.k8s.io HTTPRoute rule (linkerd2 #14750, first
	 * in edge-25.11.3; 2.16-2.19 read it on policy.linkerd.io routes only) */
	L5D_2_20 = 220,
};

/*
 * Reads a Linkerd version as the CLI and the charts print it: "2.16",
 * "2.18.1", "stable-2.14.10", "version-2.16", "enterprise-2.18.0". Minor
 * versions between known ones take the older known one (2.15 -> 2.14,
 * 2.17 -> 2.16), later ones the newest; edge releases ("edge-25.4.4") by
 * the edge release each 2.x was marked on. 0 or -EINVAL (not 2.x, or before
 * 2.14; an edge release before 2.15's).
 */
int l5d_version_parse(const char *s, enum l5d_version *out);

enum l5d_dir { L5D_INBOUND, L5D_OUTBOUND };

#define L5D_PEERS_MAX 16
#define L5D_ID_MAX 256

/* Requests per peer identity (client_id inbound, server_id outbound). */
struct l5d_peer {
	char id[L5D_ID_MAX];
	uint64_t requests;
};

/* One direction of a proxy's HTTP traffic. */
struct l5d_traffic {
	uint64_t requests;          /* request_total */
	uint64_t requests_tls;      /* ... with tls="true" (mTLS with a peer identity) */
	uint64_t requests_plain;    /* ... with any other tls value */
	uint64_t responses;         /* response_total */
	uint64_t success, failure;  /* by classification */
	uint64_t status_2xx, status_3xx, status_4xx, status_5xx;
	uint64_t no_status;         /* responses without status_code (no response) */
	struct l5d_peer peers[L5D_PEERS_MAX];   /* tls="true" requests per identity */
	size_t npeers;
	uint64_t peers_dropped;     /* requests of identities beyond L5D_PEERS_MAX */
};

/*
 * Sums dir's traffic of the scrape s into *out (zeroed first), restricted
 * to the samples that also satisfy the n extra matchers (may be 0), e.g.
 * {target_port="8080"} inbound or {dst_service="http-server"} outbound.
 * Returns 0; -EINVAL with err set when a matcher uses a label version v does
 * not have (the inbound authority label is gone since 2.18).
 */
int l5d_traffic(const struct prom_set *s, enum l5d_version v, enum l5d_dir dir,
		const struct prom_matcher *extra, size_t n, struct l5d_traffic *out, char *err,
		size_t errlen);

/* Outbound route retries (2.16+), summed over the route's series. */
struct l5d_retries {
	uint64_t requests;          /* retries dispatched */
	uint64_t successes;         /* retried requests that succeeded */
	uint64_t limit_exceeded;    /* not retried: limit reached */
	uint64_t overflow;          /* not retried: budget exhausted */
	size_t series;              /* samples seen (0: no retry policy saw traffic) */
};

/*
 * The retry counters of route_name (NULL: every route) for grpc 0 (HTTP)
 * or 1 (gRPC). Returns 0; -ENOTSUP with err set on 2.14 (no such families).
 */
int l5d_retries(const struct prom_set *s, enum l5d_version v, int grpc, const char *route_name,
		struct l5d_retries *out, char *err, size_t errlen);

#define L5D_BACKENDS_MAX 8

struct l5d_backend {
	char name[128];             /* backend_name, e.g. the v2 Service */
	uint64_t requests;
};

/* A traffic split as the client's proxy saw it. */
struct l5d_split {
	struct l5d_backend backends[L5D_BACKENDS_MAX];   /* in order of first appearance */
	size_t nbackends;
	uint64_t total;
};

/*
 * Requests per backend of the routes whose parent is Service parent_name
 * (NULL: any) from outbound_{http,grpc}_route_backend_requests_total.
 * Returns 0; -E2BIG with err set when more than L5D_BACKENDS_MAX backends
 * appear (the counts so far are kept).
 */
int l5d_split(const struct prom_set *s, int grpc, const char *parent_name, struct l5d_split *out,
	      char *err, size_t errlen);

/*
 * The proxy's identity certificate expiry (unix s) into *expiry. The name
 * moved in 2.16; both are tried, v's first. *name (may be NULL) gets the
 * family found. 0, or -ENOENT with err set when the scrape has neither.
 */
int l5d_cert_expiry(const struct prom_set *s, enum l5d_version v, double *expiry,
		    const char **name, char *err, size_t errlen);

/* Counter resets between two scrapes of one pod's proxy (prom_delta). */
struct l5d_resets {
	char pod[128];
	uint64_t series;            /* series whose counter went down */
	int restarted;              /* process_start_time_seconds changed */
};

/*
 * The delta of two scrapes of pod's proxy: *delta (caller frees with
 * prom_set_free) and what was reset, for the run's events. prev may be NULL.
 * 0 or -ENOMEM.
 */
int l5d_scrape_delta(const char *pod, const struct prom_set *prev, const struct prom_set *cur,
		     struct prom_set **delta, struct l5d_resets *resets);

#endif
