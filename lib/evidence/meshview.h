/*
 * meshview.h - the mesh's own view of one window: what its proxies counted
 * between two scrapes (inbound requests by TLS and client identity per
 * server, retries per route, requests per split backend). conformd gets it
 * once per window through the mesh's view slot (mesh.h) and stores it as
 * JSON (store_put_mesh_view); mtls.identity, retry.http and split.weights
 * compare it with what the workloads saw (lib/checks/views.c).
 *
 * Plain structs with fixed bounds; names are the mesh's own (Deployment and
 * Service names, identities as the proxies print them).
 */
#ifndef CONFORM_MESHVIEW_H
#define CONFORM_MESHVIEW_H

#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

#define MV_SERVERS_MAX 8
#define MV_PEERS_MAX 4
#define MV_ROUTES_MAX 4
#define MV_BACKENDS_MAX 4
#define MV_ID_MAX 256
#define MV_JSON_MAX 8192

struct mv_peer {
	char id[MV_ID_MAX];       /* client_id as the inbound proxy counted it */
	uint64_t requests;
};

/* One server workload's inbound proxies (app ports only: the proxy's own
 * admin port, where the scrapes and the kubelet's probes land, is left out). */
struct mv_server {
	char workload[64];        /* its Deployment, "http-server-v1" */
	uint64_t requests;        /* inbound HTTP requests */
	uint64_t tls;             /* of them with tls="true" (a verified client identity) */
	struct mv_peer peers[MV_PEERS_MAX];   /* tls requests per client identity */
	size_t npeers;
};

/* A route's retries as the clients' outbound proxies counted them. */
struct mv_route {
	char name[96];            /* route_name, "http-retry" */
	uint64_t retries;         /* retry attempts dispatched */
	uint64_t successes, limit_exceeded, overflow;
};

/* Requests the clients' proxies sent to one backend of a split. */
struct mv_backend {
	char name[64];            /* backend_name, "http-server-v2" */
	uint64_t requests;
};

struct mesh_view {
	double from, to;          /* unix s of the two scrapes the counts lie between */
	size_t pods;              /* proxies scraped */
	/* a proxy restarted or appeared between the scrapes: its counts start
	 * after from, so the view undercounts; why says which ("" when whole) */
	int partial;
	char why[256];
	struct mv_server servers[MV_SERVERS_MAX];
	size_t nservers;
	struct mv_route routes[MV_ROUTES_MAX];
	size_t nroutes;
	char split_parent[64];    /* the split's parent Service, "" when none seen */
	struct mv_backend backends[MV_BACKENDS_MAX];
	size_t nbackends;
};

/*
 * The server entry for workload (added, zeroed, when new), or NULL when the
 * table is full or the name does not fit.
 */
struct mv_server *meshview_server(struct mesh_view *v, const char *workload);

/* Adds n tls requests of client identity id to s (beyond MV_PEERS_MAX
 * identities the rest is only in s->tls). */
void meshview_peer_add(struct mv_server *s, const char *id, uint64_t n);

/*
 * v as one JSON object appended to b:
 * {"from":F,"to":T,"pods":N,"partial":"why" (only when partial),
 *  "inbound":{"W":{"requests":N,"tls":N,"client_ids":{"ID":N}}},
 *  "retries":{"R":{"retries":N,"successes":N,"limit_exceeded":N,"overflow":N}},
 *  "split":{"parent":"P","backends":{"B":N}}}
 * 0, or -1 when b's cap was reached.
 */
int meshview_json(const struct mesh_view *v, struct dynbuf *b);

/*
 * The inverse of meshview_json: text (from the store, bounded by the
 * caller) into *v. Members it does not know are ignored; entries beyond the
 * bounds are dropped. 0, or -EINVAL (not such an object).
 */
int meshview_parse(const char *text, struct mesh_view *v);

#endif
