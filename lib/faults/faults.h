/*
 * faults.h - injected faults (POST /v1/faults): parse and validate a request,
 * apply it through the target workload's admin endpoint (server-errors,
 * server-latency), the platform (kill) or the mesh adapter (the mesh kinds
 * of docs/internals.md: mtls-off ... cert-expiring, reverted when they end),
 * keep the active ones with their id and expiry, and record fault.start /
 * fault.end events.
 *
 * Threads: a struct faults has its own lock; apply/list may run on the API
 * thread while the main loop calls faults_expire. The caller must have
 * called curl_global_init() before faults_new().
 */
#ifndef CONFORM_FAULTS_H
#define CONFORM_FAULTS_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "faults/kinds.h"
#include "mesh/mesh.h"
#include "platform/platform.h"
#include "store/store.h"

#define FAULTS_MAX 32            /* active at once */
#define FAULT_MAX_FOR_S 1e7      /* ~115 days */
#define FAULT_MAX_MS 600000      /* latency above 10 minutes is no test */

struct fault_req {
	enum fault_kind kind;
	char target[64];   /* workload name */
	double rate;       /* server-errors: share failed, 0..1 (default 1) */
	int code;          /* server-errors: status, 0 = default (HTTP 503, gRPC 14) */
	int64_t ms;        /* server-latency: added delay, > 0 */
	double for_s;      /* how long; 0 = until the run ends */
};

struct fault {
	int64_t id;
	struct fault_req req;
	double started;    /* unix s */
	double until;      /* unix s; 0 = until the run ends */
};

/*
 * Parse a request body object {"kind","target","rate","code","ms","for_s"}.
 * Returns 0, or -1 with a message naming the field in err
 * (e.g. "rate: must be between 0 and 1"). Unknown fields are refused.
 */
int fault_parse(const cJSON *obj, struct fault_req *out, char *err, size_t errlen);
/* The same from JSON text (len bytes). */
int fault_parse_text(const char *text, size_t len, struct fault_req *out, char *err,
		     size_t errlen);

struct faults;

/* New registry over the run's workloads; token authenticates admin requests
 * (copied). store may be NULL (no events). NULL on OOM. */
struct faults *faults_new(const struct platform_ops *pops, struct platform *plat,
			  struct store *store, const char *token);
void faults_free(struct faults *f);
/* The mesh that applies the mesh kinds (none set: they are refused). */
void faults_set_mesh(struct faults *f, const struct mesh_ops *mops, struct mesh *mesh);

/*
 * Apply a parsed request now. On success fills *out (id, until) and returns
 * 0. Errors, with a message in err: -ENOENT unknown target, -EINVAL the kind
 * does not fit the target (e.g. server-errors on a client, gRPC code > 16),
 * -EAGAIN the target is not running/ready, -ENOSPC too many active faults,
 * -EIO the workload's admin endpoint (or the mesh) did not accept it.
 * A kill or sidecar-kill is one-shot: it starts and ends at once and is not
 * kept active. Mesh kinds without a mesh: -EINVAL.
 */
int faults_apply(struct faults *f, const struct fault_req *req, double now, struct fault *out,
		 char *err, size_t errlen);

/* End faults whose time is up (fault.end events) and re-apply active ones to
 * a target that was restarted since (its fault state is lost with its
 * process). Call every tick. Returns how many ended. */
int faults_expire(struct faults *f, double now);

/* End every active fault (run over). */
void faults_end_all(struct faults *f, double now);

/* Snapshot of the active faults, oldest first; returns how many (<= max). */
size_t faults_list(struct faults *f, struct fault *out, size_t max);

/*
 * Keep the active faults in path (e.g. RUN/faults.json, rewritten atomically
 * whenever they change: before a fault is pushed, after it is reverted) so a
 * conformd resumed after a crash knows what the one before left in force.
 * Call once, before the first apply. 0, or -ENAMETOOLONG.
 */
int faults_set_state_file(struct faults *f, const char *path);

/*
 * `conformd --resume`, after the workloads and sidecars were adopted: read
 * the state file the crashed conformd left. A fault whose end time passed
 * while nobody watched is reverted now (fault.end event "... reverted after
 * monitor restart"); one still running is taken over (a workload gets its
 * setting pushed again on the next faults_expire) and ends at its original
 * end time. No file: nothing was active, 0. Returns how many were reverted,
 * or -EINVAL when the file is malformed (nothing taken over; logged).
 */
int faults_resume(struct faults *f, double now);

#endif
