/*
 * run.h - the resolved description of one run: what the CLI decided from its
 * flags (and later a config file) and wrote to <run-dir>/run.json, and what
 * conformd reads back. One struct, one JSON form, so both sides agree.
 */
#ifndef CONFORM_RUN_H
#define CONFORM_RUN_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define RUN_ID_MAX 48
#define RUN_MAX_CHECKS 32
/* the longest span a run setting may name: 366 days in ms */
#define RUN_MAX_SPAN_MS (366LL * 86400 * 1000)

struct check_desc;

/*
 * What the local reference mesh is told to do, and what the mesh checks
 * expect from it. Under --mesh none these are unused: mesh checks fail with
 * "no mesh provides ...". JSON: the "mesh_settings" object of run.json.
 */
struct run_mesh {
	char trust_domain[64];        /* "cluster.local" */
	char ns[32];                  /* namespace in identities: "conform" */
	int64_t cert_validity_s;      /* workload leaf validity, default 86400 */
	int64_t expiry_threshold_s;   /* identity.expiry: remaining > this, default 3600 */
	int retry_attempts;           /* retry.http: attempts allowed (1 + retries), default 4 */
	double retry_fail_share;      /* retry.http: share the server fails with 503, default 0.5 */
	unsigned split_v1, split_v2;  /* split.weights: initial weights, default 90/10 */
	int64_t shift_at_ms;          /* split.shift: when (from traffic start), default duration/3; 0 = never */
	unsigned shift_v1, shift_v2;  /* split.shift: weights after the shift, default 50/50 */
	int64_t shift_converge_ms;    /* split.shift: must converge within this, default 10000 */
	int64_t route_timeout_ms;     /* timeout.http: route timeout, default 500 */
	int64_t slow_ms;              /* timeout.http: the slow request's server delay, default 2000 */
	int64_t timeout_slack_ms;     /* timeout.http: 504 must come by timeout + slack, default 300 */
	int64_t tap_max_delay_ms;     /* tap.live: line must arrive within, default 2000 */
	double tap_max_loss;          /* tap.live: share of requests missing from tap, default 0.001 */
	char inbound_policy[32];      /* linkerd: one of run_inbound_policies, default "auto" */
};

/*
 * What mesh_settings.inbound_policy may say: "auto" (the default), "cluster"
 * (leave the cluster's or the namespace's default alone), or a value of
 * Linkerd's config.linkerd.io/default-inbound-policy (linkerd.io
 * reference/authorization-policy: all-unauthenticated, all-authenticated,
 * cluster-authenticated, cluster-unauthenticated, deny, audit).
 */
#define RUN_INBOUND_POLICIES 8
extern const char *const run_inbound_policies[RUN_INBOUND_POLICIES];

/*
 * What the CLI does with the run's reports: how many run directories the
 * state directory keeps, and where `conform run` also copies reports for CI.
 * Config file: "keep_runs" and "reports" {junit, html, md}; flags --keep-runs,
 * --junit, --html, --md override them. JSON: the "outputs" object of run.json.
 */
#define RUN_KEEP_RUNS_DEFAULT 30
#define RUN_KEEP_RUNS_MAX 100000
struct run_outputs {
	int64_t keep_runs;            /* run directories kept, 1..RUN_KEEP_RUNS_MAX, default 30 */
	char junit[PATH_MAX];         /* copy junit.xml here; "" = no copy */
	char html[PATH_MAX];          /* copy report.html here */
	char md[PATH_MAX];            /* copy report.md here */
};

struct run_config {
	char id[RUN_ID_MAX];          /* "20261122-041100-3fa2" */
	char platform[16];            /* "local" */
	char mesh[16];                /* a name of lib/mesh/registry.c */
	char run_dir[PATH_MAX];       /* absolute */
	int64_t duration_ms;          /* 0 = until stopped */
	int64_t window_ms;            /* default 10000 */
	double rate;                  /* requests/s per check, default 10 */
	int64_t request_timeout_ms;   /* default 2000 */
	char identity_header[64];     /* default "l5d-client-id" */
	size_t nchecks;               /* selected checks, catalog ids */
	char checks[RUN_MAX_CHECKS][32];
	double started;               /* unix s, set by conformd when traffic starts */
	int collector_port;           /* set by conformd (0 until bound) */
	int api_port;                 /* conformd --api-addr: the bound TCP port; 0 = unix socket only */
	char metrics_addr[64];        /* "127.0.0.1:PORT": /metrics on TCP too; "" = off */
	/* verdicts over time (JSON "verdicts": fall, rise, window_objective,
	 * incident_tolerance_ms): debounce and the run rule */
	int fall;                     /* failing windows in a row before FAILING, default 2 */
	int rise;                     /* passing windows in a row before PASSING again, default 2 */
	double window_objective;      /* share of judged windows that must pass, default 1.0 */
	int64_t incident_tolerance_ms;/* incidents up to this long do not fail the run, default 0 */
	int strict;                   /* an inconclusive check fails the run, default 0 ("strict") */
	double objectives[RUN_MAX_CHECKS]; /* per-check objective override (index of checks[]), 0 = the check's default;
	                               * JSON "objectives": {"check id": ratio}, overridden ones only */
	int64_t retention_s;          /* keep per-second aggregates this long, default 86400 (JSON "retention_s") */
	struct run_mesh m;            /* mesh settings ("mesh_settings") */
	struct run_outputs out;       /* the CLI's report handling ("outputs") */
};

/* Defaults for every field (all catalog checks selected). */
void run_config_defaults(struct run_config *c);
/*
 * JSON form (run.json). to_json returns a new string the caller frees.
 * from_json fills c (starting from defaults); on error returns -1 and writes
 * "field: what was expected" into err.
 */
char *run_config_to_json(const struct run_config *c);
int run_config_from_json(const char *text, struct run_config *c, char *err, size_t errlen);
int run_config_load(const char *path, struct run_config *c, char *err, size_t errlen);
int run_config_save(const struct run_config *c, const char *path);
/* Is check id selected in this run? */
int run_config_has_check(const struct run_config *c, const char *id);
/*
 * The default-inbound-policy the run puts on its meshed pods, "" for none
 * (the cluster's default stays): mesh_settings.inbound_policy, where "auto"
 * is all-authenticated when the run judges mtls.enforced (an unmeshed
 * caller is then refused on every port no Server names, not only on those
 * the run's Servers name) and none when it does not (the run changes no
 * more of the cluster's posture than its checks need).
 */
const char *run_config_inbound_policy(const struct run_config *c);
/* When split.shift shifts (ms from the start of traffic): shift_at_ms, or
 * before it is resolved a third of a finite duration; 0 = never. */
int64_t run_config_shift_at_ms(const struct run_config *c);

/*
 * The bounds of the run settings a user gives: one table read by the flag
 * parser, the config file, run.json and their error hints, so a value one
 * of them takes the others take too.
 */
enum run_setting {
	RUN_S_DURATION,          /* ms; 0 = until stopped */
	RUN_S_WINDOW,            /* ms, whole seconds */
	RUN_S_RATE,              /* requests per second per check */
	RUN_S_REQUEST_TIMEOUT,   /* ms */
	RUN_S_RETENTION,         /* ms, whole seconds */
	RUN_S_NSETTINGS
};
struct run_bound {
	const char *name;        /* "rate": the config field */
	double min, max;         /* inclusive */
	int zero_ok;             /* 0 is allowed besides [min, max] (duration) */
	int whole_s;             /* a multiple of 1000 ms */
	const char *text;        /* the bounds for hints: "0.001..100000" */
};
extern const struct run_bound run_bounds[RUN_S_NSETTINGS];
/* Is v allowed for setting s? */
int run_bound_ok(enum run_setting s, double v);
/*
 * The success objective check d is judged against in this run: the override
 * in c->objectives (run.json "objectives") when d is selected and has one,
 * else d->objective_ratio. c may be NULL (the default).
 */
double run_config_objective(const struct run_config *c, const struct check_desc *d);

#endif
