/*
 * workload.h - shared types of conform-workload: parsed options and flows,
 * the stop signal, the fault hooks set through the admin listener, and the
 * entry point of each role. See docs/internals.md "conform-workload".
 */
#ifndef CONFORM_WORKLOAD_H
#define CONFORM_WORKLOAD_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "evidence/agg.h"
#include "evidence/hist.h"

#define WL_MAX_FLOWS 32
#define WL_ID_MAX 192           /* request ids: <check>.<name>.<instance hex>.<k>.<unix ms> */

enum wl_role { WL_HTTP_SERVER, WL_GRPC_SERVER, WL_HTTP_CLIENT, WL_GRPC_CLIENT };
enum wl_method { WL_UNARY, WL_BIDI };

struct wl_flow {
	char check[32];
	char url[512];            /* HTTP: full URL with fail/delay_ms added */
	char target[256];         /* gRPC host:port */
	enum wl_method method;
	char authority[256];      /* "" = default */
	double rate;              /* per second, > 0 */
	int64_t timeout_ms;
	double fail;              /* HTTP ?fail= share, 0 = none */
	int64_t delay_ms;         /* ask the server to answer late */
	int64_t max_inflight;     /* cap; beyond it requests count as overload */
};

struct wl_opts {
	enum wl_role role;
	const char *role_name;
	char name[64];
	char version[32];
	char listen[128];
	char admin[128];
	char collector[128];
	char ready_file[PATH_MAX];
	char identity_header[64];
	struct wl_flow flows[WL_MAX_FLOWS];
	size_t nflows;
	int64_t batch_interval_ms;
	int64_t buffer_batches;
	char token[256];          /* CONFORM_TOKEN, "" when unset */
	uint64_t instance;        /* random per process */
	int64_t wall_base_us;     /* wall_us() - mono µs at start: intended time -> unix */
};

/* ---- main.c: the stop signal ---- */
/* True once SIGTERM/SIGINT arrived (they are blocked in every thread and
 * collected here, so no handler runs inside library code). Cheap to call. */
int wl_should_stop(void);
/* Wait up to ms for SIGTERM/SIGINT; returns wl_should_stop(). */
int wl_wait_stop(int64_t ms);

/* ---- flow.c ---- */
/* Parse one --flow spec for the role into f; -1 with err filled. */
int wl_flow_parse(const char *spec, enum wl_role role, struct wl_flow *f, char *err,
		  size_t errlen);
/*
 * Listen on spec ("HOST:PORT", port 0 = any; lib/base/addr.h) for a server or
 * the admin hook: *fd is the listening socket (the caller or the HTTP server
 * it is handed to closes it), bound the address as bound ("127.0.0.1:41234").
 * Logs and returns -1 on failure.
 */
int wl_listen(const char *spec, int *fd, char *bound, size_t len);
/* Write the ready file (if o->ready_file is set); listen/admin may be "". */
int wl_write_ready(const struct wl_opts *o, const char *listen, const char *admin);
/* Unix second of an intended send time given in mono ns. */
int64_t wl_unix_second(const struct wl_opts *o, int64_t mono_ns_at);
/* Request id for request k of flow fi, intended to be sent at mono due_ns:
 * "<check>.<name>.<instance hex>.<k>.<intended send unix ms>" (the mesh's tap
 * evidence buckets by that time, docs/internals.md). */
void wl_request_id(const struct wl_opts *o, size_t fi, uint64_t k, int64_t due_ns, char *buf,
		   size_t len);
/* Log the per-check totals lines. */
void wl_log_totals(struct agg *agg);

/*
 * Open-loop schedule keeping of one flow (one sending thread's share, or the
 * sum of them): requests due, sent, not sent (client overload), sent more
 * than WL_LATE_US after their due time, and the send lag of every sent
 * request. Lag is measured when the request is handed to the transport.
 * A request is "missed" when it was not sent or sent late.
 */
#define WL_LATE_US 1000
struct wl_sched {
	uint64_t due, sent, overload, late;
	struct hist lag;          /* µs from due time to hand-off, sent requests only */
};
void wl_sched_init(struct wl_sched *s);
/* One due request: sent (lag_ns from its due time) or not (overload). */
void wl_sched_note(struct wl_sched *s, int sent, int64_t lag_ns);
void wl_sched_merge(struct wl_sched *dst, const struct wl_sched *src);
/* Log "msg=schedule check=C due= sent= overload= late= missed_pct= lag_p50_us=
 * lag_p99_us= lag_max_us= threads=": the bench reads this line. */
void wl_sched_log(const char *check, const struct wl_sched *s, unsigned threads);
/* Sending threads for flows adding up to total_rate per second: one per
 * WL_RATE_PER_THREAD, at most the CPUs online and WL_MAX_THREADS. */
#define WL_RATE_PER_THREAD 4000.0
#define WL_MAX_THREADS 8
unsigned wl_send_threads(double total_rate);

/* ---- admin.c: fault hooks ---- */
struct wl_fault {
	double error_rate;        /* 0..1 */
	int error_code;           /* HTTP status or gRPC status */
	int64_t latency_ms;
};
/* Start the admin listener on addr; grpc selects the gRPC error code range
 * and default. Writes the bound "addr:port" into bound. */
int wl_admin_start(const struct wl_opts *o, int grpc, char *bound, size_t len);
void wl_admin_stop(void);
void wl_fault_get(struct wl_fault *f);
/* Constant-time token compare; an empty expected token never matches. */
int wl_token_ok(const char *want, const char *got);

/* ---- reporter.c: the Collector client ---- */
struct reporter;
struct reporter *reporter_start(const struct wl_opts *o, struct agg *agg);
/* Flush the last aggregate, wait up to wait_ms for all acks, stop, free. */
void reporter_finish(struct reporter *r, int64_t wait_ms);
/*
 * Keep a failing request as a sample for the next batch: the first
 * REPORTER_SAMPLES_PER_CHECK per check per batch, at most
 * REPORTER_SAMPLES_MAX in all (the collector's limit); later ones are
 * ignored. Strings are truncated to 127 bytes; NULL means "". Thread-safe;
 * r NULL is fine (nothing kept). ts_ms: intended send time, unix ms.
 */
#define REPORTER_SAMPLES_PER_CHECK 5
#define REPORTER_SAMPLES_MAX 64
void reporter_sample(struct reporter *r, const char *check, const char *request_id,
		     unsigned outcome, int code, uint64_t latency_us, const char *backend,
		     const char *identity, int64_t ts_ms);
/* Unix ms of an intended send time given in mono ns (samples' ts_ms). */
static inline int64_t wl_unix_ms(const struct wl_opts *o, int64_t mono_ns_at)
{
	int64_t us = o->wall_base_us + mono_ns_at / 1000;

	return us >= 0 ? us / 1000 : 0;
}

/* ---- roles: each returns the process exit code ---- */
int http_server_run(const struct wl_opts *o);
int grpc_server_run(const struct wl_opts *o);
int http_client_run(const struct wl_opts *o);
int grpc_client_run(const struct wl_opts *o);

#endif
