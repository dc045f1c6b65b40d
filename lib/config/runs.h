/*
 * runs.h - the runs kept in a state directory, read back for `conform runs`
 * and `conform history` ("since when not?"), and the bound on how many are
 * kept (--keep-runs). Reads STATE/runs/<id>/run.json, reports/report.json
 * and, for the first failing window, conform.db. Prints nothing.
 */
#ifndef CONFORM_RUNS_H
#define CONFORM_RUNS_H

#include <stddef.h>
#include <stdint.h>

#include "checks/check.h"
#include "config/run.h"
#include "config/state.h"

#define RUNS_MAX 100000     /* run directories looked at in one state directory */

struct runs_check {
	char id[32];
	enum verdict verdict;   /* V_PASS, V_FAIL, V_SKIP; V_NODATA: no report yet */
};

struct runs_entry {
	char id[RUN_ID_MAX];
	char platform[16], mesh[16];
	double started;         /* unix s, 0 when unknown */
	double duration_s;      /* from the report; while running, elapsed so far */
	enum run_state state;
	int has_report;         /* reports/report.json was read */
	enum verdict verdict;   /* V_PASS, V_FAIL; V_NODATA without a report */
	size_t nfailed;         /* checks that failed */
	size_t njudged;         /* checks not skipped (selected and judged) */
	size_t nchecks;         /* entries in checks[], skipped ones included */
	struct runs_check checks[RUN_MAX_CHECKS];
};

/*
 * Every run directory of state_dir, oldest first (ids sort by time), into a
 * new array *out of *n entries (caller frees; NULL and 0 when none). A run
 * whose run.json cannot be read is skipped. 0, or -1 with err.
 */
int runs_list(const char *state_dir, struct runs_entry **out, size_t *n, char *err,
	      size_t errlen);

/* The verdict of check in e: V_NODATA when e has no report or does not run it. */
enum verdict runs_check_verdict(const struct runs_entry *e, const char *check);

/*
 * The first failing window of check in the run's store: 1 with *idx,
 * *start_s and reason (the window's reason text) filled, 0 when none failed,
 * -1 on error (err).
 */
int runs_first_fail(const char *state_dir, const char *id, const char *check, int64_t *idx,
		    int64_t *start_s, char *reason, size_t reason_len, char *err, size_t errlen);

/*
 * The state directory a run directory belongs to: when run_dir is
 * STATE/runs/<id> with a valid run id, 1 with state_dir (len bytes) and id
 * (idlen bytes) filled; 0 otherwise (a run directory copied out of its state
 * directory has no siblings to compare with). Looks at the path only.
 */
int runs_state_of(const char *run_dir, char *state_dir, size_t len, char *id, size_t idlen);

/*
 * Keep the newest keep run directories: remove older ones, but never the
 * run named by `current`, nor keep_id (may be NULL), nor one whose monitor
 * is alive. Returns how many were removed, or -1 with err (those removed
 * before the error stay removed).
 */
int runs_prune(const char *state_dir, size_t keep, const char *keep_id, char *err,
	       size_t errlen);

#endif
