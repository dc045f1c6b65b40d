/*
 * kinds.h - the one table of fault kinds: name, who applies it (the target
 * workload's admin hook, the platform, or the mesh adapter), what it may
 * target, which parameters it takes and its help line. The fault parser,
 * the mesh seam (struct mesh_fault), `conform fault --help`, man pages,
 * completion and error hints all read it, so a kind is added in one place.
 * No dependencies: the mesh and platform headers include it.
 */
#ifndef CONFORM_FAULT_KINDS_H
#define CONFORM_FAULT_KINDS_H

#include <stddef.h>

enum fault_kind {
	FAULT_SERVER_ERRORS, FAULT_SERVER_LATENCY, FAULT_KILL,
	/* mesh faults: applied by the mesh adapter */
	FAULT_MTLS_OFF, FAULT_WRONG_IDENTITY, FAULT_RETRIES_OFF, FAULT_SPLIT_SKEW,
	FAULT_TAP_OFF, FAULT_TIMEOUT_OFF, FAULT_SIDECAR_KILL, FAULT_CERT_EXPIRING,
	FAULT_NKINDS
};

/* Who carries a fault out. */
enum fault_applier {
	FAULT_BY_WORKLOAD,   /* the target's admin endpoint (server faults) */
	FAULT_BY_PLATFORM,   /* the platform (kill) */
	FAULT_BY_MESH,       /* the mesh adapter (struct mesh_ops.inject_fault) */
};

/* Which workloads a kind may target. */
enum fault_target {
	FAULT_T_SERVER = 1u << 0,
	FAULT_T_CLIENT = 1u << 1,
	FAULT_T_ANY = FAULT_T_SERVER | FAULT_T_CLIENT,
};

/* Parameters a kind takes besides --target and --for. */
enum fault_param {
	FAULT_P_RATE = 1u << 0,   /* --rate 0..1 */
	FAULT_P_CODE = 1u << 1,   /* --code N */
	FAULT_P_MS = 1u << 2,     /* --ms N (required) */
	FAULT_P_FOR = 1u << 3,    /* --for D is meaningful (not for one-shot kinds) */
};

struct fault_kind_info {
	enum fault_kind kind;
	const char *name;        /* "server-errors" */
	enum fault_applier by;
	unsigned targets;        /* enum fault_target bits */
	unsigned params;         /* enum fault_param bits */
	const char *usage;       /* "--rate R [--code N]", "" */
	const char *help;        /* what it does, one line */
	/* the checks it must fail, and may: the isolation matrix (matrix.h) */
};

/* The table, in enum order; fault_kinds[k].kind == k. */
extern const struct fault_kind_info fault_kinds[FAULT_NKINDS];

/* Info by kind (NULL when out of range) or by name (NULL when unknown). */
const struct fault_kind_info *fault_kind_info(enum fault_kind k);
const struct fault_kind_info *fault_kind_find(const char *name);
const char *fault_kind_name(enum fault_kind k); /* "server-errors", "unknown" */
int fault_kind_is_mesh(enum fault_kind k);

struct dynbuf;
/* One line per kind for --help and man pages: name, parameters, what it
 * does, "(mesh)" for mesh kinds, and the checks it must fail. 0 or -1. */
int fault_kinds_usage(struct dynbuf *b);

/* Every name joined by sep ("server-errors, server-latency, ..."), truncated
 * to len; returns out. For error hints. */
char *fault_kind_names(char *out, size_t len, const char *sep);

#endif
