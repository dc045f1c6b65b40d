/*
 * platform.h - the platform adapter: where workloads run and how conformd
 * starts, watches and stops them. One const table of function pointers per
 * platform (curl's struct Curl_protocol): `local` (processes on 127.0.0.1,
 * lib/platform/local.c) now, `kubernetes` later. conformd only talks to a
 * platform through this table.
 *
 * Threads: every slot may be called from any thread; an implementation
 * locks its own state. Errors: slots return 0 or a negative errno-style
 * code and, where they take err, write a one-line message there.
 */
#ifndef CONFORM_PLATFORM_H
#define CONFORM_PLATFORM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "store/store.h"

#define PLATFORM_MAX_WORKLOADS 16
#define PLATFORM_MAX_FLOWS 8
#define PLATFORM_FLOW_MAX 512
#define PLATFORM_ADDR_MAX 64
#define PLATFORM_CMD_ARGS 8
#define PLATFORM_CMD_ARG_MAX 512
/* role_bit of helper processes that are not sample workloads (mesh sidecars);
 * above every enum role bit of check.h */
#define PLATFORM_ROLE_SIDECAR (1u << 16)

struct platform;   /* one per run, made by prepare */

/* Everything the platform needs to know about the run. */
struct platform_config {
	const char *run_dir;          /* absolute; logs/ and wl/ are made inside */
	const char *workload_bin;     /* local: path of conform-workload */
	const char *token;            /* per-run secret, handed over in the environment */
	char collector[PLATFORM_ADDR_MAX]; /* "127.0.0.1:PORT" workloads report to */
	struct store *store;          /* events go here (may be NULL in tests) */
	const char *mesh;             /* the run's mesh ("linkerd"); NULL = none
				       * (kubernetes: the pods' injection) */
	const struct run_config *run; /* the run's settings (kubernetes: the pods'
				       * inbound policy); NULL in tests = defaults */
};

/* One workload to run (a copy is kept, so it is restarted as it was). */
struct run_config;

struct workload_spec {
	char name[64];                /* "http-server": unique in the run */
	char role[32];                /* "http-server" ... (docs/internals.md) */
	unsigned role_bit;            /* enum role of check.h */
	char version[16];             /* "v1", "" for none */
	char listen[PLATFORM_ADDR_MAX]; /* servers: "127.0.0.1:0" for any port */
	char identity_header[64];     /* "" = the workload's default */
	size_t nflows;                /* clients: one --flow per served check */
	char flows[PLATFORM_MAX_FLOWS][PLATFORM_FLOW_MAX];
	/*
	 * A helper (e.g. a mesh's sidecar proxy; platforms with
	 * PLATFORM_CAP_HELPERS only): when ncommand > 0 the
	 * platform runs command[0..ncommand) (command[0] an absolute path)
	 * instead of the workload binary, without workload flags, ready file or
	 * token; output goes to its own log like a workload's. It is ready once
	 * a TCP connect to ready_connect ("IP:PORT") succeeds; addresses() then
	 * reports that as its listen address.
	 */
	size_t ncommand;
	char command[PLATFORM_CMD_ARGS][PLATFORM_CMD_ARG_MAX];
	char ready_connect[PLATFORM_ADDR_MAX];
};

enum workload_state { WL_RUNNING, WL_RESTARTING, WL_EXITED };
const char *workload_state_name(enum workload_state s); /* "running" ... */

/* What status reports about one workload. */
struct workload_status {
	char name[64];
	char role[32];
	uint64_t instance;            /* 0 when not running; changes with every new
				       * instance (PLATFORM_CAP_PROCESSES: its pid) */
	enum workload_state state;
	unsigned restarts;
};

/* Where a workload can be reached, from its ready file. */
struct workload_addr {
	uint64_t instance;               /* as in struct workload_status */
	char listen[PLATFORM_ADDR_MAX];  /* "" for clients */
	char admin[PLATFORM_ADDR_MAX];   /* "" when it has none */
};

/* What a platform's workloads are (struct platform_ops.caps). */
enum platform_cap {
	/* instances are processes of this machine: instance is their pid, and
	 * the status API shows it as such */
	PLATFORM_CAP_PROCESSES = 1u << 0,
	/* runs helper programs next to a workload (workload_spec.ncommand: a
	 * mesh's sidecars); a mesh that needs them runs only here */
	PLATFORM_CAP_HELPERS = 1u << 1,
};

struct platform_ops {
	const char *name;   /* "local" */
	unsigned caps;      /* enum platform_cap bits */
	/* Set up per-run state (directories, child environment); *out is new,
	 * freed by release. pc's strings are copied. */
	int (*prepare)(const struct platform_config *pc, struct platform **out,
		       char *err, size_t errlen);
	/* Start a workload (returns as soon as it is launched; readiness is
	 * seen through addresses()). Records a workload.start event. */
	int (*start)(struct platform *p, const struct workload_spec *spec,
		     char *err, size_t errlen);
	/* Stop every workload whose role_bit is in roles: TERM, wait up to
	 * grace_ms for all of them, then KILL the rest (logged). Their exits are
	 * expected ("(expected: stop)" in the event) only when they end on their
	 * own or by the TERM/KILL sent; one ended by any other signal (a SEGV at
	 * shutdown) is recorded as a crash. They are not restarted. Blocks; does not hold locks
	 * while waiting. Returns how many had to be killed, or < 0. */
	int (*stop)(struct platform *p, unsigned roles, int64_t grace_ms);
	/* Reap exited workloads without blocking and restart crashed ones
	 * whose backoff has passed (exponential, 500 ms doubling to 30 s, reset
	 * after 60 s up). Records workload.exit / workload.restart events.
	 * Call it every tick. Returns the number of exits seen. */
	int (*poll)(struct platform *p);
	/* Deliver sig to a running workload now (the kill fault). The exit is
	 * marked expected when sig (or its own exit) ended it, and the workload
	 * is restarted as after a crash.
	 * -ENOENT unknown name, -ESRCH not running. */
	int (*kill)(struct platform *p, const char *name, int sig);
	/* Restart a running workload now (SIGTERM, then start it again at once,
	 * no backoff): used after its configuration files changed. The exit is
	 * expected. -ENOENT unknown name, -ESRCH not running. */
	int (*restart)(struct platform *p, const char *name);
	/* Addresses from the current instance's ready file. -EAGAIN while it is
	 * not ready yet (or restarting), -ENOENT unknown, -ECHILD it exited. */
	int (*addresses)(struct platform *p, const char *name, struct workload_addr *out);
	/* Where a workload's output goes (for error messages), e.g. its log file. */
	int (*log_path)(struct platform *p, const char *name, char *out, size_t len);
	/* Snapshot of every workload, in start order; returns how many (<= max). */
	size_t (*list)(struct platform *p, struct workload_status *out, size_t max);
	/* Free everything (workloads must have been stopped). NULL is fine. */
	void (*release)(struct platform *p);
	/*
	 * Take over the workloads of a previous conformd of this run that died
	 * (`conformd --resume`): every workload still running is watched,
	 * stopped, killed and restarted from now on as if this conformd had
	 * started it; one that is gone is started again at once with a
	 * workload.exit event. How the platform finds them is its own (local:
	 * RUN/supervisor.json, kept up to date with every start, restart, exit
	 * and learned address, each pid checked against the program it runs;
	 * kubernetes: the Deployments labelled with the run). Call it on a
	 * fresh platform (nothing started yet). 0 with *adopted (alive) and
	 * *restarted (gone) set, or < 0 with err (-ENOENT: nothing to adopt).
	 */
	int (*adopt)(struct platform *p, size_t *adopted, size_t *restarted, char *err,
		     size_t errlen);
};

extern const struct platform_ops platform_local;
/* lib/platform/kubernetes/platform.c: conformd in a pod of the cluster */
extern const struct platform_ops platform_kubernetes;
struct kube_config;
/* The API server a platform_kubernetes instance talks to (copied by a mesh
 * of that cluster, which then needs no configuration of its own). p must
 * come from platform_kubernetes.prepare; the result lives as long as p. */
const struct kube_config *platform_kubernetes_cluster(const struct platform *p);

/* The platform registry (lib/platform/registry.c): one row per platform
 * conform knows, built in or planned. */
struct platform_entry {
	const char *name;                 /* "local" */
	const struct platform_ops *ops;   /* NULL: known, not built into this conform */
	const char *help;                 /* one line */
};
extern const struct platform_entry platform_registry[];
extern const size_t platform_nregistry;

/* Adapter by name, or NULL when unknown or not built in. */
const struct platform_ops *platform_find(const char *name);
/* Registry row by name (built in or not), or NULL. */
const struct platform_entry *platform_entry_find(const char *name);
/* Names of the built-in platforms, as mesh_names. */
char *platform_names(char *out, size_t len, const char *sep, const char *last, int quote);

#endif
