/*
 * mesh.h - the mesh adapter: what is validated and how it is configured and
 * observed. One const table of function pointers per mesh: `none` (the
 * baseline: no sidecars, every mesh check must fail with "no mesh",
 * none.c) and one folder per mesh; lib/mesh/registry.c lists them.
 * conformd only talks to a mesh through this table.
 *
 * Errors: slots return 0 or a negative errno-style code; -ENOTSUP means the
 * mesh cannot do it (the check that needs it then fails or is skipped with
 * that reason). Where they take err, a one-line message is written there.
 */
#ifndef CONFORM_MESH_H
#define CONFORM_MESH_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "evidence/meshview.h"
#include "faults/kinds.h"
#include "platform/platform.h"
#include "config/run.h"
#include "store/store.h"

struct mesh;   /* one per run, made by prepare */

#define MESH_MAX_WORKLOADS 8

/* What a mesh is prepared with (strings borrowed for the call only). */
struct mesh_env {
	const struct run_config *cfg;
	const struct platform_ops *pops;
	struct platform *plat;
	struct store *store;       /* events (split.set ...); may be NULL */
	/* 1 = `conformd --resume`: take over the mesh a crashed conformd of this
	 * run left running (pod addresses, run CA, sidecar configs and runtime
	 * state from the run dir, written as they changed; the sidecars
	 * themselves are adopted by the platform) instead of making a new one;
	 * whatever the proxies send to (a tap receiver) is reopened where they
	 * already send. */
	int resume;
};

/* The run's workloads when the mesh decides the topology (servers first,
 * clients with their flows, every listen address final). */
struct mesh_plan {
	size_t n;
	struct workload_spec w[MESH_MAX_WORKLOADS];
};

/* What conformd's probes look at (lib/ingest/probe.h). */
struct mesh_probe_target {
	char workload[64];
	char inbound[PLATFORM_ADDR_MAX];   /* servers: "IP:PORT" of the inbound, else "" */
	/* 1: identity.expiry from the proxy only: the prober asks
	 * workload_cert for the certificate this workload's proxy holds (a
	 * metric, a runtime API) and makes no TLS handshake for expiry with
	 * its inbound, which is still probed for mtls.enforced. For proxies
	 * no probe reaches (a client's outbound) and inbounds that show an
	 * unmeshed probe no identity certificate (Linkerd's): a handshake
	 * there would only fail and leave the check unjudged. 0: the
	 * certificate the inbound presents to a TLS probe is the evidence. */
	int cert_from_proxy;
};

struct mesh_probe_info {
	char ca[PATH_MAX];           /* run CA certificate (verify what inbounds present) */
	char client_pem[PATH_MAX];   /* a leaf of the run CA (the probe's own identity) */
	char foreign_pem[PATH_MAX];  /* a leaf of a CA nobody trusts */
	size_t n;
	struct mesh_probe_target t[MESH_MAX_WORKLOADS];
};

/* What an adapter can do (struct mesh_ops.caps). Callers branch on these,
 * never on the mesh's name. */
enum mesh_cap {
	MESH_CAP_PROXIES = 1u << 0,     /* there is a mesh: proxies carry the traffic */
	MESH_CAP_PLAN = 1u << 1,        /* plan() decides the topology (sidecars, pods) */
	MESH_CAP_IDENTITY = 1u << 2,    /* servers see a verified client identity header */
	MESH_CAP_TAP = 1u << 3,         /* tap_open/tap_read deliver per-request lines */
	MESH_CAP_PROBES = 1u << 5,      /* probe_info: inbounds to probe, certificates to read */
	MESH_CAP_WEIGHTS = 1u << 6,     /* split weights change at run time (split.shift) */
};

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

/* Which proxy saw a tapped request. */
enum mesh_tap_dir {
	MESH_TAP_UNKNOWN,
	MESH_TAP_IN,             /* the server's proxy (inbound) */
	MESH_TAP_OUT,            /* the client's proxy (outbound) */
};

/* One request as the mesh saw it (tap feed). */
struct mesh_tap_line {
	double ts;               /* unix s when the proxy logged it */
	enum mesh_tap_dir dir;
	char request_id[128];    /* the suite's x-request-id, "" when absent */
	char method[16];
	char path[256];          /* without the query string */
	char src[64], dst[64];   /* workload names (or addresses) */
	char identity[256];      /* inbound: the verified client identity, "" if none */
	char peer_id[256];       /* outbound: the verified server identity, "" if none */
	int status;              /* HTTP status, <= 0 when none */
	int64_t latency_us;
};

/* A tap line to the caller of tap_read (called on the reading thread). */
typedef void (*mesh_tap_cb)(const struct mesh_tap_line *line, void *ctx);

/* Counters of the tap feed, since prepare. */
struct mesh_tap_stats {
	uint64_t received;       /* lines or events that arrived */
	uint64_t parsed;         /* of them, understood */
	uint64_t rejected;       /* malformed, oversize */
};

/* A fault injected by the mesh itself (not by the workload's admin hook). */
struct mesh_fault {
	enum fault_kind kind;    /* a kind whose row in faults/kinds.c says FAULT_BY_MESH */
	char target[64];
	double rate;
	int code;
	int64_t ms;
};

struct mesh_ops {
	const char *name;   /* its registry name, "none" */
	unsigned caps;      /* enum mesh_cap bits */
	/* Fault kinds it can inject: bit (1u << enum fault_kind) per kind; a
	 * kind outside is refused before inject_fault is called. */
	unsigned faults;
	/* Are the programs it needs installed? 0, or -ENOENT with err saying
	 * which is missing and how to install it. Called by the CLI before a
	 * run starts and by prepare. May be NULL (nothing needed). */
	int (*check_deps)(char *err, size_t errlen);
	/* Make the run's mesh state: certificates, CA, proxy configs under the
	 * run dir. *out is new, freed by release. -ENOENT: a binary the mesh
	 * needs is missing (err says which and how to install it). */
	int (*prepare)(const struct mesh_env *env, struct mesh **out, char *err, size_t errlen);
	/* The workloads to run, or -ENOTSUP: conformd builds the spine
	 * topology itself and asks route() for the addresses. */
	int (*plan)(struct mesh *m, struct mesh_plan *out, char *err, size_t errlen);
	/* Start the sidecars of workload w (inbound for servers, outbound for
	 * clients) through the platform; may rewrite w (e.g. the address a
	 * server must listen on behind its inbound). */
	int (*start_sidecars)(struct mesh *m, struct workload_spec *w, char *err, size_t errlen);
	/* Name of the header that carries the verified client identity to servers. */
	const char *(*identity_header)(struct mesh *m);
	/* Address ("host:port") a client uses to reach server, whose own listen
	 * address is server_addr: the server itself, or a sidecar in front. */
	int (*route)(struct mesh *m, const char *server, const char *server_addr,
		     char *out, size_t len);
	/* Apply a feature (retry policy, split weights, timeout, mTLS policy). */
	int (*configure)(struct mesh *m, const struct mesh_feature *f, char *err, size_t errlen);
	/* Start the tap feed (after prepare, before the workloads start); the
	 * adapter owns its transport (a receiver its proxies send to, a tap API
	 * stream). 0, -ENOTSUP without tap, < 0 with err. */
	int (*tap_open)(struct mesh *m, char *err, size_t errlen);
	/* Wait up to timeout_ms for tapped requests and hand each to cb on this
	 * thread. One reader at a time. Returns how many were handed over, or
	 * < 0 (-ENOTSUP, or the feed broke: the caller keeps calling). */
	int (*tap_read)(struct mesh *m, int timeout_ms, mesh_tap_cb cb, void *ctx);
	/* Counters of the tap feed (any thread); zeros without tap. */
	void (*tap_stats)(struct mesh *m, struct mesh_tap_stats *out);
	/* The identity the mesh asserts for workload name (what a server sees
	 * in the identity header and what tap shows as client_id / server_id).
	 * 0, -ENOTSUP without a mesh, -EINVAL for a name it cannot carry. */
	int (*identity_of)(struct mesh *m, const char *name, char *out, size_t len);
	/* Inject a fault in the mesh (proxy side); 0, -ENOTSUP (no mesh),
	 * -EINVAL (kind does not fit the target), -EAGAIN (sidecar not up). */
	int (*inject_fault)(struct mesh *m, const struct mesh_fault *f, char *err, size_t errlen);
	/* Undo an injected fault (same f as given to inject_fault). */
	int (*revert_fault)(struct mesh *m, const struct mesh_fault *f, char *err, size_t errlen);
	/* Every main-loop tick: give restarted sidecars their runtime state
	 * back (weights, fault switches). */
	void (*tick)(struct mesh *m);
	/* What the probes look at; -ENOTSUP without a mesh. Called from the
	 * prober's thread, as workload_cert below. */
	int (*probe_info)(struct mesh *m, struct mesh_probe_info *out);
	/* The certificate workload name's proxy presents, read from the proxy
	 * itself (for targets with cert_from_proxy). 0 with its subject CN in
	 * cn and *not_after (unix s); -ENOENT not a meshed workload, -ENOTSUP
	 * the mesh cannot tell, -EIO the proxy did not answer in time. Called
	 * from the prober's thread (lib/ingest/probe.c), concurrently with the
	 * other slots: it may share no connection or mutable state with them. */
	int (*workload_cert)(struct mesh *m, const char *name, char *cn, size_t cnlen,
			     int64_t *not_after);
	/*
	 * Optional (NULL: the mesh keeps no counts of its own, as none and
	 * haproxy). The mesh's own view since the previous call: conformd
	 * asks for it once per window, at the window's end, and calls it on a
	 * thread of its own (cmd/conformd/viewer.c), never twice at once but
	 * concurrently with the other slots: it may share no connection or
	 * mutable state with them.
	 * The adapter scrapes every workload proxy it can, keeps the scrape
	 * for the next call, and fills *out with the counts between the two
	 * (counter resets and restarted proxies handled: such a proxy marks
	 * the view partial, out->partial with why). Blocks for the scrapes
	 * (bounded by its client's timeouts). 0 with *out filled; -EAGAIN the
	 * first call or after a failed one (a baseline was taken, nothing to
	 * count from yet); -EIO a scrape failed, with err saying which proxy
	 * and why (no view this window, and the next call takes a new
	 * baseline: a count spanning two windows would be judged against one);
	 * -ENOTSUP the mesh cannot tell.
	 */
	int (*view)(struct mesh *m, struct mesh_view *out, char *err, size_t errlen);
	/* Free everything (sidecars must have been stopped). NULL is fine. */
	void (*release)(struct mesh *m);
	/*
	 * What catalog check check_id is judged on with this mesh, for
	 * `conform checks --mesh M` (no run, no prepare: it answers from the
	 * adapter's tables alone). 0 with *line the evidence in one line (the
	 * app's view and the mesh's); -ENOTSUP with *line why the check has no
	 * evidence here (the capability it needs that the adapter lacks, e.g.
	 * no proxy asserts an identity); -ENOENT with *line NULL for an id the
	 * adapter does not know. *line is a static string, never NULL on 0 or
	 * -ENOTSUP. Every catalog check must get 0 or -ENOTSUP
	 * (test_contracts).
	 */
	int (*evidence)(const char *check_id, const char **line);
};


/* The mesh registry (lib/mesh/registry.c): one row per mesh conform knows,
 * built in or planned. Flags, the config file, help and error hints read it. */
struct mesh_entry {
	const char *name;             /* "none" */
	const struct mesh_ops *ops;   /* NULL: known, not built into this conform */
	const char *platforms;        /* platforms it runs on, comma-separated */
	const char *help;             /* one line */
};
extern const struct mesh_entry mesh_registry[];
extern const size_t mesh_nregistry;

/* Adapter by name, or NULL when unknown or not built in. */
const struct mesh_ops *mesh_find(const char *name);
/* Registry row by name (built in or not), or NULL when unknown. */
const struct mesh_entry *mesh_entry_find(const char *name);
/* The mesh a run on platform gets when none is named: the first built-in
 * row that runs there. */
const char *mesh_default_for(const char *platform);
/* Does mesh m run on platform p? */
int mesh_runs_on(const struct mesh_entry *m, const char *platform);
/* Names of the built-in meshes: "a, b or c" (sep between, last
 * before the last; last NULL = sep); quote 1 puts each in double quotes. */
char *mesh_names(char *out, size_t len, const char *sep, const char *last, int quote);
/* Is name the baseline without a mesh: "" or a built-in adapter that puts no
 * proxies in the traffic ("none")? A mesh not built into this binary (a
 * report of a copied run) counts as a mesh. Checks that need one fail. */
int mesh_is_none(const char *name);
/* Is fault kind k one that ops can inject? */
int mesh_can_fault(const struct mesh_ops *ops, enum fault_kind k);

#endif
