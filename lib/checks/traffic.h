/*
 * traffic.h - which sample workloads a run needs and what traffic its checks
 * send, decided once from the check catalog and the run's settings: the
 * flows (client, server, route, rate, timeout, the server behaviour a flow
 * asks for). A mesh adapter only answers where a client sends a flow
 * (address, authority) and configures the routes; conformd's spine does
 * the same without a mesh. lib/checks/traffic.c holds the one table.
 */
#ifndef CONFORM_TRAFFIC_H
#define CONFORM_TRAFFIC_H

#include <stddef.h>
#include <stdint.h>

#include "config/run.h"

#define TRAFFIC_MAX_FLOWS 16
/* a split is judged on a binomial count: at least this many requests a
 * window, whatever --rate says */
#define TRAFFIC_SPLIT_MIN_PER_WINDOW 150.0

/* One sample workload (the same names on every platform). */
struct traffic_workload {
	const char *name;          /* "http-server-v2" */
	const char *role;          /* conform-workload --role: "http-server" */
	unsigned role_bit;         /* enum role of checks/check.h */
	const char *version;       /* "v1", "v2", "" for clients */
};
extern const struct traffic_workload traffic_workloads[];
extern const size_t traffic_nworkloads;
/* Index of name in traffic_workloads, or -1. */
int traffic_workload_index(const char *name);

enum traffic_kind { TRAFFIC_HTTP, TRAFFIC_GRPC_UNARY, TRAFFIC_GRPC_BIDI };

/* One client's traffic for one check (or one part of it). */
struct traffic_flow {
	const char *check;         /* the flow's check id, "timeout.http/slow" */
	const char *client;        /* the workload that sends it */
	const char *server;        /* the workload (service) it reaches */
	const char *route;         /* the mesh route it takes: "http", "split", "retry"... */
	enum traffic_kind kind;
	double rate;               /* requests per second */
	int64_t timeout_ms;        /* the client's own deadline */
	double fail;               /* > 0: the server fails this share of first attempts */
	int64_t delay_ms;          /* > 0: the server answers this late */
};

struct traffic_plan {
	unsigned used;             /* bit i: traffic_workloads[i] runs */
	size_t nflows;
	struct traffic_flow flows[TRAFFIC_MAX_FLOWS];
};

/*
 * The workloads and flows of run c, in start order. meshed 0 (no mesh):
 * only the checks that need no mesh get traffic (the others fail with "no
 * mesh" without any). 0, or -1 when a table bound is exceeded.
 */
int traffic_plan_make(const struct run_config *c, int meshed, struct traffic_plan *out);

/* Does the plan run workload name? */
int traffic_uses(const struct traffic_plan *p, const char *name);

/*
 * A flow as conform-workload's --flow takes it, sent to addr ("IP:PORT")
 * with authority (the Host / :authority the mesh routes on; NULL = none).
 * 0, or -1 when it does not fit in len.
 */
int traffic_flow_spec(const struct traffic_flow *f, const char *addr, const char *authority,
		      char *out, size_t len);

#endif
