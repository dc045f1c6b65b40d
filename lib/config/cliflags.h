/*
 * cliflags.h - the CLI's flags: one table (name, value, help, which verbs
 * take it), a strict parser that names the offending flag and how to fix it,
 * and the step from parsed flags to a run_config. Kept in lib/ (pure, no
 * output) so unit tests can exercise every rule without running the tool.
 */
#ifndef CONFORM_CLIFLAGS_H
#define CONFORM_CLIFLAGS_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "config/run.h"
#include "base/util.h"

/*
 * One bit per flag; a verb declares the set it accepts. A 64-bit set (not an
 * enum: enumeration constants must fit an int, and the flags outgrew 31 bits).
 */
typedef uint64_t cliflag_t;
#define CLI_F(n) ((cliflag_t)1 << (n))
#define CLI_F_PLATFORM   CLI_F(0)
#define CLI_F_MESH       CLI_F(1)
#define CLI_F_DURATION   CLI_F(2)
#define CLI_F_WINDOW     CLI_F(3)
#define CLI_F_RATE       CLI_F(4) /* --rate: requests/s per check (start, run) */
#define CLI_F_CHECKS     CLI_F(5)
#define CLI_F_STATE_DIR  CLI_F(6)
#define CLI_F_JSON       CLI_F(7)
#define CLI_F_FORMAT     CLI_F(8)
#define CLI_F_OUT        CLI_F(9)
#define CLI_F_RUN        CLI_F(10)
#define CLI_F_TARGET     CLI_F(11)
#define CLI_F_FAULT_RATE CLI_F(12) /* --rate: share of requests to fail, 0..1 (fault) */
#define CLI_F_CODE       CLI_F(13)
#define CLI_F_MS         CLI_F(14)
#define CLI_F_FOR        CLI_F(15)
#define CLI_F_HELP       CLI_F(16) /* always accepted */
#define CLI_F_WATCH      CLI_F(17) /* status --watch */
#define CLI_F_INTERVAL   CLI_F(18) /* status --watch --interval D */
#define CLI_F_METRICS    CLI_F(19) /* --metrics-addr 127.0.0.1:PORT (start, run) */
#define CLI_F_CONFIG     CLI_F(20) /* --config FILE: a run config file (start, run; config.h) */
#define CLI_F_RESUME     CLI_F(21) /* start --resume: restart the dead monitor of the current run */
#define CLI_F_KEEP_RUNS  CLI_F(22) /* --keep-runs N: run directories kept (start, run) */
#define CLI_F_JUNIT      CLI_F(23) /* run --junit PATH: also write junit.xml there */
#define CLI_F_HTML       CLI_F(24) /* run --html PATH */
#define CLI_F_MD         CLI_F(25) /* run --md PATH */
#define CLI_F_SONOBUOY   CLI_F(26) /* run --sonobuoy: be a Sonobuoy plugin (results dir, done) */
#define CLI_F_LAST       CLI_F(27) /* history --last N */
#define CLI_F_NAMESPACE  CLI_F(28) /* --namespace NS: the run's namespace (kubernetes) */
#define CLI_F_IMAGE      CLI_F(29) /* --image REF: conform's image (kubernetes) */
/* no flag: the verb takes platforms and meshes conform knows but has not
 * built in (`conform manifests` prints the objects, it runs nothing) */
#define CLI_F_PLANNED    CLI_F(30)
#define CLI_F_STRICT     CLI_F(31) /* --strict: an inconclusive check fails the run (start, run) */
#define CLI_F_CONTEXT    CLI_F(32) /* --context C: the kubeconfig context (kubernetes) */

/* The flags that shape a run (start, run). */
#define CLI_F_RUNCONF (CLI_F_PLATFORM | CLI_F_MESH | CLI_F_DURATION | CLI_F_WINDOW | \
		       CLI_F_RATE | CLI_F_CHECKS | CLI_F_METRICS | CLI_F_CONFIG | CLI_F_STRICT)

/* Where a run goes on Kubernetes (start, run). */
#define CLI_F_KUBE (CLI_F_NAMESPACE | CLI_F_IMAGE | CLI_F_CONTEXT)

#define CLI_MAX_ARGS 8
#define CLI_KEEP_RUNS_DEFAULT RUN_KEEP_RUNS_DEFAULT
#define CLI_HISTORY_LAST_DEFAULT 10

/*
 * One row of the flag table. The same rows drive the parser, `--help`, the
 * man pages and the shell completions (`conform completion`), so they
 * cannot drift. help may continue on lines indented for `--help`.
 */
struct cliflag_desc {
	cliflag_t bit;
	const char *name;      /* "--duration" */
	const char *metavar;   /* "D", NULL for a switch */
	const char *help;
};
/* The whole table, in --help order; *n receives its length. Static, not owned. */
const struct cliflag_desc *cliflags_table(size_t *n);

struct cli_opts {
	cliflag_t set;                  /* CLI_F_* bits of the flags given */
	char platform[16];
	char mesh[16];
	int64_t duration_ms;
	int64_t window_ms;
	double rate;
	size_t nchecks;
	char checks[RUN_MAX_CHECKS][32];
	char state_dir[PATH_MAX];
	int json;
	int help;
	char format[16];               /* json, junit, md */
	char out[PATH_MAX];
	char run[RUN_ID_MAX];
	char target[64];
	double fault_rate;
	int64_t code;
	int64_t ms;
	int64_t for_ms;
	int watch;                     /* --watch */
	int64_t interval_ms;           /* --interval, 0 when not given */
	char metrics_addr[64];         /* --metrics-addr */
	char config[PATH_MAX];         /* --config FILE (not read here: see config.h) */
	int64_t keep_runs;             /* --keep-runs N, 0 when not given */
	char junit[PATH_MAX];          /* --junit PATH */
	char html[PATH_MAX];           /* --html PATH */
	char md[PATH_MAX];             /* --md PATH */
	int sonobuoy;                  /* --sonobuoy */
	int64_t last;                  /* --last N, 0 when not given */
	char namespace[64];            /* --namespace NS */
	char image[256];               /* --image REF */
	char context[256];             /* --context C */
	int planned_ok;                /* the verb took CLI_F_PLANNED */
	int nargs;                     /* positional arguments (point into argv) */
	const char *args[CLI_MAX_ARGS];
};

/* A usage error: what failed and how to fix it (both one line). */
struct cli_error {
	char msg[512];
	char hint[512];
};

/*
 * Parse argv[0..argc) (the words after the verb) into o. allowed is the set
 * of CLI_F_* the verb takes (--help always). Accepts "--flag VALUE" and
 * "--flag=VALUE"; "--" ends flags; other words are positional (at most
 * CLI_MAX_ARGS). verb names the verb in messages. Every value is validated
 * here (durations, ranges, --checks ids against the catalog, --mesh and
 * --platform names). Returns 0, or -1 with e filled.
 */
int cliflags_parse(cliflag_t allowed, const char *verb, int argc, char **argv,
		   struct cli_opts *o, struct cli_error *e);

/*
 * Split a comma-separated list of catalog ids into out (deduplicated, at most
 * max). Unknown ids fail with a message naming the id and listing the valid
 * ones. 0 or -1.
 */
int cliflags_parse_checks(const char *list, char out[][32], size_t max, size_t *n,
			  struct cli_error *e);

/*
 * Overlay the run-shaping flags of o on c (which holds defaults, or a config
 * file loaded over them: only flags given replace values) and check them
 * together (a non-zero duration must be at least one window). run (non-zero)
 * means `conform run`, where --duration 0 is refused. Without --mesh, a
 * platform means its default mesh (mesh_default_for) unless --config was given (the file
 * loader settled the mesh then). --checks keeps the objective overrides of
 * the checks it keeps. 0 or -1.
 */
int cliflags_apply(const struct cli_opts *o, int run, struct run_config *c, struct cli_error *e);

/*
 * Is what c's mesh needs installed? (the adapter's check_deps slot)
 * 0, or -1 with e filled (what is missing and how to install it).
 */
int cliflags_mesh_check(const struct run_config *c, struct cli_error *e);

/*
 * Build the POST /v1/faults body for fault kind (server-errors,
 * server-latency, kill) from o into b, after checking the kind and the flags
 * it needs (--target always, --ms for server-latency). 0 or -1.
 */
int cliflags_fault_body(const char *kind, const struct cli_opts *o, struct dynbuf *b,
			struct cli_error *e);

/* Append one "  --flag VALUE   help" line per flag in allowed to b. 0 or -1. */
int cliflags_usage(cliflag_t allowed, struct dynbuf *b);

#endif
