/*
 * conformd.h - the monitor's one state object, shared by main.c (startup,
 * main loop, finish sequence) and handlers.c (the API handlers, which run
 * on the API server's thread).
 */
#ifndef CONFORMD_H
#define CONFORMD_H

#include "base/exitcode.h"
#include "control/api.h"
#include "ingest/collector.h"
#include "faults/faults.h"
#include "mesh/mesh.h"
#include "platform/platform.h"
#include "ingest/probe.h"
#include "config/run.h"
#include "store/store.h"
#include "ingest/tapfeed.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>

enum daemon_state { DS_STARTING, DS_RUNNING, DS_STOPPING, DS_FINISHED };

struct viewer;

struct daemon {
	/* mu guards cfg, state and ended: written by the main thread, read by
	 * the handlers. The modules below lock themselves. */
	pthread_mutex_t mu;
	struct run_config cfg;
	enum daemon_state state;
	double ended;

	char run_dir[PATH_MAX];
	char token[128];
	struct store *store;
	struct collector *coll;
	struct api *api;
	struct api *api_tcp;             /* --api-addr, NULL when off */
	struct metrics_server *metrics;  /* --metrics-addr, NULL when off */
	const struct platform_ops *pops;
	struct platform *plat;
	const struct mesh_ops *mops;
	struct mesh *mesh;
	struct faults *faults;
	/* the mesh's evidence (NULL under --mesh none) */
	uint64_t instance;             /* conformd's own batches: conformd.probe/.tap */
	struct tapfeed *tap;
	struct prober *prober;
	int meshed;                    /* the mesh planned the topology */
	int shift_done;
	/* the mesh's own view (mops->view), once per window on the run clock */
	double view_next;              /* when to ask next (0: not yet, ask now) */
	double view_prev;              /* when the last answer's scrape was taken */
	int view_failing;              /* the last ask failed (an event was recorded) */
	struct viewer *viewer;         /* the thread that reads it (viewer.c); NULL until asked */
	int view_skipped;              /* boundaries passed while a view was still being read */

	/* crash safety: the run clock (state.h) and a resumed monitor */
	int resume;                    /* --resume: take over a run whose monitor died */
	double tap_mark;               /* resume: the dead feed's TAPFEED_MARK (unix s), 0 none */
	int64_t anchor_mono_ms;        /* mono_ms() at cfg.started */
	int64_t eval_hold_until_ms;    /* mono: after a resume, let resent batches in first */
	/* under mu: the last store write failure ("disk full", "read-only",
	 * "I/O error"), "" while writes succeed; shown by GET /v1/status */
	char store_error[160];

	int wake_rd, wake_wr;          /* self-pipe: signals and POST /v1/stop */
	atomic_int stop_requested;
	char stop_reason[64];
};

const char *daemon_state_name(enum daemon_state s);
/* Ask the main loop to finish (thread- and signal-safe). */
void daemon_request_stop(struct daemon *d);

/* ---- between the daemon's files (main.c, workloads.c, resume.c, loop.c) ---- */
#define TICK_MS 200
#define EVAL_GRACE_S 3.0
#define READY_TIMEOUT_MS 20000
#define CLIENT_STOP_MS 15000
#define SERVER_STOP_MS 5000
#define ALL_ROLES (ROLE_HTTP_SERVER | ROLE_GRPC_SERVER | ROLE_HTTP_CLIENT | ROLE_GRPC_CLIENT)
#define CLIENT_ROLES (ROLE_HTTP_CLIENT | ROLE_GRPC_CLIENT)
#define SERVER_ROLES (ROLE_HTTP_SERVER | ROLE_GRPC_SERVER)
#define SIDECAR_STOP_MS 5000
#define PROBE_INTERVAL_MS 2000
#define HEARTBEAT_MS 1000
#define REBIND_MS 15000          /* resume: the old ports may sit in TIME_WAIT */
/* resume: the clients reconnect with a backoff of at most 5 s, then resend
 * what was not acked; evaluate after that so their windows are complete */
#define RESUME_EVAL_HOLD_MS 8000
#define STORE_ERROR_LOG_MS 5000
#define PRUNE_EVERY_MS 10000     /* rows past the retention period go this often */
#define PRUNE_MAX_ROWS 50000     /* ... at most this many a time, in chunks */

/* The signal (INT, TERM) that asked the daemon to stop, 0 for none. */
int daemon_last_signal(void);
void daemon_event(struct daemon *d, const char *kind, const char *subject, const char *detail);
void daemon_wait_tick(struct daemon *d, int ms);
int daemon_start_workloads(struct daemon *d, char *err, size_t errlen);
int daemon_resume_workloads(struct daemon *d, size_t *adopted, size_t *restarted, char *err,
			    size_t errlen);
void daemon_record_gap(struct daemon *d, double *down_s);
int64_t daemon_resume_next_idx(struct daemon *d);
void daemon_set_state(struct daemon *d, enum daemon_state s);
void daemon_finish(struct daemon *d, int64_t *next_idx, uint64_t *rejected_synced);
void daemon_loop(struct daemon *d, int64_t *next_idx, uint64_t *rejected_synced);
int daemon_split_set(struct daemon *d, unsigned v1, unsigned v2);
int daemon_wants_split(const struct run_config *c);


extern const struct api_route daemon_routes[];
extern const size_t daemon_nroutes;

/* metrics.c: GET /metrics (Prometheus text, lib/report/metrics.h) as an API route
 * handler (ctx = the daemon), and the optional loopback TCP listener of
 * --metrics-addr: spec "127.0.0.1:PORT" (port 0 = any; the bound port goes
 * to *port); non-loopback addresses are refused. NULL + err on failure. */
int daemon_h_metrics(void *ctx, const struct api_request *req, struct api_response *resp);
struct metrics_server;
struct metrics_server *metrics_server_start(struct daemon *d, const char *spec, int *port,
					    char *err, size_t errlen);
void metrics_server_stop(struct metrics_server *m);   /* NULL is fine */

/*
 * seed.c: conformd in a pod (--seed DIR). DIR holds the run the CLI handed
 * over (run.json; the Secret conform-run); run_dir is on conformd's volume.
 * Decides what this start does: SEED_START (run_dir made, or remade, from
 * the seed), SEED_RESUME (the same run started and did not finish: take it
 * over), SEED_FINISHED (the same run finished: serve its reports). A
 * finished or never started previous run is moved to ../runs/ID; one in
 * progress under another id is refused. 0, or -1 with err.
 */
enum seed_action { SEED_START, SEED_RESUME, SEED_FINISHED };
int daemon_seed(const char *seed_dir, const char *run_dir, enum seed_action *act, char *err,
		size_t errlen);

#endif
