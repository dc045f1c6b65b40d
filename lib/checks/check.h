/*
 * check.h - the conformance check catalog and the window evaluation contract.
 *
 * The catalog is one table of descriptors (catalog.c); each check lives in
 * lib/checks/check_<name>.c and documents its promise, proof and objective.
 * A check's eval function judges one window of evidence and says PASS, FAIL,
 * INCONCLUSIVE (a precondition outside its promise broke: common.c's
 * check_excuse_by_backend) or NODATA with a precise reason and evidence. Every result goes through one
 * sink (evaluate.c: evaluate_window) that persists it (and, later, debounces).
 */
#ifndef CONFORM_CHECK_H
#define CONFORM_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "evidence/hist.h"
#include "config/run.h"

struct store;

/*
 * V_INCONCLUSIVE: the window (or the check) could not be judged because a
 * precondition outside the check's promise was broken (its backend failing,
 * its proxy restarting...); the reason text names that cause. Stored as a
 * number: append only.
 */
enum verdict { V_NODATA = 0, V_PASS = 1, V_FAIL = 2, V_SKIP = 3, V_INCONCLUSIVE = 4 };
#define V__COUNT 5
/* "nodata" "pass" "fail" "skip" "inconclusive" */
const char *verdict_name(enum verdict v);

/*
 * Why a window got its verdict: a precise enum, mapped by one table
 * (reason_info) to a stable name and a verdict. Append only (stored).
 */
enum reason {
	R_MET = 0,               /* objective met */
	R_NO_DATA,              /* no requests in the window */
	R_LOW_SUCCESS,          /* success ratio below objective */
	R_STREAM_BROKEN,        /* long-lived stream reset */
	R_STREAM_LOSS,          /* stream messages lost */
	R_NO_MESH,              /* the check needs a mesh and there is none */
	R_MONITOR_GAP,          /* conformd was down */
	R_WRONG_IDENTITY,       /* server saw another or no identity */
	R_NOT_ENFORCED,         /* unauthenticated traffic was accepted */
	R_RETRY_BELOW_BOUND,    /* effective success below the retry bound */
	R_RETRY_NOT_SEEN,       /* no attempt > 1 observed */
	R_RETRY_OVER_LIMIT,     /* more attempts than allowed */
	R_SPLIT_OUT_OF_BOUND,   /* observed share outside the confidence bound */
	R_SPLIT_NOT_CONVERGED,  /* shift did not converge in time */
	R_TAP_MISSING,          /* requests missing from the tap feed */
	R_TAP_LATE,             /* tap lines later than allowed */
	R_TAP_MISMATCH,         /* tap line fields disagree with the request */
	R_TIMEOUT_NOT_ENFORCED, /* slow request not cut at the timeout */
	R_TIMEOUT_COLLATERAL,   /* fast requests hurt */
	R_CERT_EXPIRING,        /* presented certificate expires too soon */
	R_PROBE_FAILED,         /* the active probe could not run */
	R_PRECONDITION,         /* inconclusive: a precondition outside the promise broke */
	R_NOT_REACHED,          /* skip: the run ended before the check could be judged */
	R_SPLIT_DRIFT,          /* sequential test: the share drifted over several windows */
	R_VIEWS_DISAGREE,       /* the app's view and the mesh's own counts disagree */
	R__COUNT
};

struct reason_info {
	enum reason id;
	const char *name;      /* "low_success" */
	const char *human;     /* "success ratio below objective" */
};
const struct reason_info *reason_info(unsigned r);

/* One per-second aggregate as stored (mirrors proto Bucket). */
struct agg_row {
	char check[32];
	char workload[64];
	unsigned outcome;       /* enum outcome */
	int code;
	char backend[32];
	char identity[256];
	int64_t second;
	struct hist h;          /* count/sum/max filled */
	uint64_t attempts[8];
};

/* Everything a check may look at for one window. */
struct window_data {
	const struct run_config *cfg;
	const struct check_desc *check;
	int64_t idx;            /* window number, 0 = first */
	int64_t start_s;        /* [start_s, end_s) in unix seconds */
	int64_t end_s;
	const struct agg_row *rows;
	size_t nrows;
	/* the mesh this run validates; NULL name = none (see mesh.h, issue 3) */
	const char *mesh;
	/* the run's store, for checks that judge other evidence than their own
	 * rows (all client traffic, events such as split.shift); read only.
	 * NULL (unit use): such checks judge rows alone, with no events */
	struct store *store;
};

#define REASON_TEXT_MAX 512
#define EVIDENCE_MAX 2048

struct window_result {
	enum verdict verdict;
	enum reason reason;
	char reason_text[REASON_TEXT_MAX]; /* "success 0.0% < 99.0%: 50 of 50 failed, HTTP 5xx from server (503 x50)" */
	char evidence[EVIDENCE_MAX];       /* a JSON object, "{}" if none */
	uint64_t total, ok, failed;
	struct hist h;                     /* latency of this window's requests */
};

enum role {
	ROLE_HTTP_SERVER = 1 << 0,
	ROLE_GRPC_SERVER = 1 << 1,
	ROLE_HTTP_CLIENT = 1 << 2,
	ROLE_GRPC_CLIENT = 1 << 3,
};

struct check_desc {
	const char *id;          /* "http.basic" */
	const char *title;       /* "HTTP requests succeed" */
	const char *promise;     /* one sentence */
	const char *proof;       /* how it is proven */
	const char *objective;   /* human: "success >= 99% per window" */
	unsigned roles;          /* workloads it needs (enum role bits) */
	int needs_mesh;          /* FAIL with R_NO_MESH under --mesh none */
	double objective_ratio;  /* default objective, e.g. 0.99 */
	/* Judge one window. Must fill out->verdict/reason/reason_text and may fill
	 * evidence; counts and histogram are pre-filled by the caller from rows.
	 * Returns 0, or -1 on an internal error (the window becomes NODATA). */
	int (*eval)(const struct window_data *wd, struct window_result *out);
	/* Optional: NULL when the check applies to a run configured as cfg, else
	 * why not (e.g. split.shift with no shift scheduled); the report then
	 * skips the check with that reason instead of failing it on no data.
	 * Not consulted under --mesh none for mesh checks (they fail there). */
	const char *(*not_applicable)(const struct run_config *cfg);
	/* Optional: the run time (ms from the start of traffic) the check needs
	 * before it can be judged at all under cfg, with why in buf (e.g.
	 * "the shift at 40s and 10s to converge"); NULL means one window. A run
	 * whose --duration is shorter is refused at start; a run stopped early
	 * skips the check with that reason. */
	int64_t (*min_run_ms)(const struct run_config *cfg, char *why, size_t len);
};

/* The run time check c needs (its min_run_ms, else one window) and why. */
int64_t check_min_run_ms(const struct check_desc *c, const struct run_config *cfg,
			 char *why, size_t len);
/*
 * Is cfg's finite duration too short for one of its selected checks to be
 * judged? Checks that do not apply (a mesh check under --mesh none, a check
 * whose not_applicable says why) are not asked. 1 with "--duration 12s is too
 * short for split.shift: it needs 14s (the shift at 4s and 10s to converge)"
 * in err (the first such check), else 0.
 */
int check_run_too_short(const struct run_config *cfg, char *err, size_t len);

/*
 * The precondition of the checks that send to http-server v1 beside
 * http.basic (retry.http, timeout.http): is the backend itself failing in
 * [wd->start_s, wd->end_s)? Judged on http.basic's own requests (the same
 * server, no retry, no route timeout) from wd->store: 1 when their success
 * is below http.basic's objective, with the cause in buf ("backend
 * http-server failing 100.0% of 50 requests on http.conform.svc: HTTP 5xx
 * from server (503 x50) (see http.basic)"); 0 when healthy or unknown (no
 * store, http.basic not selected, no requests); -1 on a store error.
 */
int check_backend_failing(const struct window_data *wd, char *buf, size_t len);
/*
 * Did a workload on the check's path (its roles' workloads and their
 * proxies: events whose subject starts with "http-client", "http-server",
 * ...) exit or restart during the window (from 2 s before it)? 1 with the
 * cause in buf ("http-client.out restarted at 04:11:12 (restart 1 (handover
 * from pid 10), pid 11)"), 0 when not or without a store, -1 on a store error.
 */
int check_path_restarted(const struct window_data *wd, char *buf, size_t len);
/*
 * A failing window out of a check whose failure a broken precondition can
 * explain becomes INCONCLUSIVE (R_PRECONDITION) when check_backend_failing
 * or check_path_restarted says so: the reason names the cause first, then
 * what the window showed. Anything else is left as it is. 0, or -1 on a
 * store error.
 */
int check_excuse_by_backend(const struct window_data *wd, struct window_result *out);

/* The catalog, in display order. */
const struct check_desc *const *catalog_all(size_t *n);
const struct check_desc *catalog_find(const char *id);

/* Shared helper for success-ratio checks: fills verdict/reason/reason_text
 * from out->total/ok/failed and the rows' failure outcomes. */
int check_eval_success_ratio(const struct window_data *wd, struct window_result *out,
			     double objective);

/* Reason by stable name ("low_success"), or -1. */
int reason_by_name(const char *name);

/* The canonical gRPC status name ("UNAVAILABLE" for 14), "UNKNOWN_CODE" if
 * out of range. */
const char *check_grpc_code_name(int code);

/*
 * Describe the failed requests of rows into buf, most frequent outcome first,
 * e.g. "HTTP 5xx from server (503 x48, 502 x2), connection refused x2" or
 * "gRPC error status (code 14 UNAVAILABLE x48)". Outcomes in skip_mask
 * (bits of enum outcome) are left out. Always NUL-terminates; "" when no
 * failures. Returns the number of failed requests described.
 */
uint64_t check_describe_failures(const struct agg_row *rows, size_t nrows,
				 unsigned skip_mask, char *buf, size_t len);

/*
 * Fill out->evidence with the standard evidence object:
 * {"total":N,"ok":N,"failed":N,"outcomes":{"http_5xx":{"count":N,"codes":{"503":N}}},
 *  "p50_ms":X,"p99_ms":X,"max_ms":X} with extra appended inside the object
 * (already formatted JSON members such as  "reconnects":2,"lost":0  or
 * NULL). Without the per-code detail when the whole would not fit
 * EVIDENCE_MAX; 0, or -1 when even that did not fit and "{}" was used.
 */
int check_evidence_fill(const struct window_data *wd, struct window_result *out,
			const char *extra);

/* Format part/whole as a percentage rounded down to 0.1 ("98.9") into buf,
 * so a ratio below an objective never prints as equal to it. */
const char *check_fmt_pct(uint64_t part, uint64_t whole, char *buf, size_t len);

/* Is r conformd's own evidence (workload "conformd.probe", "conformd.tap")
 * rather than a client's request? */
int check_row_is_monitor(const struct agg_row *r);

/* Set verdict, reason and the formatted reason text of out in one go. */
void check_set(struct window_result *out, enum verdict v, enum reason r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * The smallest window size n (capped at cap) at which a count of X ~
 * Binomial(n, q) -- the broken case -- falls, on average, outside the
 * acceptance interval of p -- the healthy case -- at alpha: the lower bound
 * alone when lower_only (retries), else the two-sided interval (splits).
 * Below it a window cannot tell healthy from broken and is NODATA.
 */
uint64_t check_detect_min_n(double p, double q, double alpha, int lower_only, uint64_t cap);

/* ---- the traffic split (split.weights, split.shift) ---- */

/* v2's share of the split by weights (v1, v2); 0 when both are 0. */
double check_split_share(unsigned v1, unsigned v2);
/*
 * The client rows on the split route with from_s <= second < to_s: those of
 * split.weights and of split.shift (both send to split.conform.svc), from
 * wd->store (without a store: wd's own rows in that range). New array the
 * caller frees; 0 or -1 (store error, out of memory).
 */
int check_split_rows(const struct window_data *wd, int64_t from_s, int64_t to_s,
		     struct agg_row **rows, size_t *n);
/* Successful client requests among rows with from_s <= second < to_s, and
 * how many of them backend "v2" answered. */
void check_split_count(const struct agg_row *rows, size_t n, int64_t from_s, int64_t to_s,
		       uint64_t *ok, uint64_t *v2);
/* When the scheduled shift was applied: 1 and *ts (the first "split.shift"
 * event), 0 when it was not (yet) or there is no store, -1 on a store error. */
int check_split_shift_time(struct store *s, double *ts);

/* ---- the mesh's own view beside the app's (views.c) ---- */

struct mesh_view;

/* Requests either view may count and the other not at each scrape (in
 * flight while the proxies were read) */
#define VIEWS_SLACK 5
/* Seconds of traffic either view may hold and the other not, beyond the
 * scrapes' distance from the window's edges: the clients file a request
 * under the second it was sent, the proxies count it as it passes (one
 * second either side at each edge) */
#define VIEWS_EDGE_S 2.0

/*
 * The mesh's view of wd's window (store_get_mesh_view; the mesh view slot
 * of mesh.h fills it once per window): 1 with *v and the relative
 * tolerance *tol its scrape timing allows: the seconds by which the
 * scrapes miss the window's edges plus VIEWS_EDGE_S, over the window's
 * length (at most 0.5). 0 when there is none to compare with (no store, no
 * scrape for the window, or a partial one: a proxy restarted or a pod came
 * or went between the scrapes, so its counts start late), with why in note
 * (may be NULL; "" when there is simply none). -1 on a store error.
 */
int check_mesh_view(const struct window_data *wd, struct mesh_view *v, double *tol,
		    char *note, size_t len);
/* Is mesh, what the proxies counted, short of app, what the workloads saw,
 * beyond tolerance tol and VIEWS_SLACK? */
int check_views_short(uint64_t mesh, uint64_t app, double tol);
/*
 * Fail out with R_VIEWS_DISAGREE and "the app and the mesh disagree: " +
 * the formatted text; when out already failed on the app's view alone, its
 * text follows ("; the app's view alone: ...").
 */
void check_views_fail(struct window_result *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The descriptors, one per lib/checks/check_<name>.c (listed by catalog.c). */
extern const struct check_desc check_http_basic;
extern const struct check_desc check_grpc_basic;
extern const struct check_desc check_grpc_stream;
extern const struct check_desc check_mtls_identity;
extern const struct check_desc check_mtls_enforced;
extern const struct check_desc check_retry_http;
extern const struct check_desc check_split_weights;
extern const struct check_desc check_split_shift;
extern const struct check_desc check_tap_live;
extern const struct check_desc check_timeout_http;
extern const struct check_desc check_identity_expiry;

#endif
