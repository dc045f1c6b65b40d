/*
 * store.h - the run's SQLite database (WAL) in <run-dir>/conform.db: run,
 * batches seen (dedupe), per-second aggregates, windows, events, counters.
 * Reports are rendered from it, so it is the truth after stop or a crash.
 *
 * Thread safety: one struct store may be used from several threads; every
 * call takes the store's mutex. Errors: functions return 0 or -1 and leave a
 * message retrievable with store_errmsg().
 */
#ifndef CONFORM_STORE_H
#define CONFORM_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "check.h"

struct store;

/* Open (create=1: create schema if new) the database at path. */
int store_open(const char *path, int create, struct store **out, char *err, size_t errlen);
void store_close(struct store *s);
const char *store_errmsg(struct store *s);

struct store_run {
	char id[RUN_ID_MAX];
	char platform[16];
	char mesh[16];
	double started;        /* unix s */
	double ended;          /* 0 while running */
	int64_t window_ms;
	int64_t duration_ms;
	char config_json[8192];/* run.json as given */
};
int store_put_run(struct store *s, const struct store_run *r);
int store_get_run(struct store *s, struct store_run *r);  /* -1 if none */
int store_set_run_ended(struct store *s, double ended);

/*
 * Commit one batch atomically: if (workload, instance, seq) was seen, store
 * nothing and return 0 (duplicate); else insert the rows and the batch key in
 * one transaction and return 1. -1 on error (nothing stored).
 * The same transaction adds 1 to the counter "batches.accepted" (stored) or
 * "batches.duplicate" (duplicate); callers count only "batches.rejected".
 */
int store_put_batch(struct store *s, const char *workload, uint64_t instance, uint64_t seq,
		    const struct agg_row *rows, size_t n);

/* Rows of one check and of its variants ("X/slow": check_id = X or starts
 * with "X/") with from_s <= second < to_s, by second. Each row keeps its full
 * check id. *rows is a new array the caller frees (NULL when n == 0). */
int store_get_rows(struct store *s, const char *check, int64_t from_s, int64_t to_s,
		   struct agg_row **rows, size_t *n);

/* Rows of every check with from_s <= second < to_s (mtls.identity judges all
 * client traffic); same ownership as store_get_rows. */
int store_get_rows_all(struct store *s, int64_t from_s, int64_t to_s, struct agg_row **rows,
		       size_t *n);

/* Totals of one check over all its client rows, variants included, conformd's
 * own evidence rows (workload "conformd...") excluded: the report's
 * requests/latency, equal to what the clients say they sent. */
struct store_totals {
	uint64_t total, ok, failed;
	struct hist h;
	uint64_t by_outcome[16];
};
int store_get_totals(struct store *s, const char *check, struct store_totals *t);

struct store_window {
	char check[32];
	int64_t idx;
	int64_t start_s, end_s;
	struct window_result r;
};
/* Insert or replace the result of window idx of a check. */
int store_put_window(struct store *s, const char *check, int64_t idx, int64_t start_s,
		     int64_t end_s, const struct window_result *r);
/* All windows of a check ordered by idx; new array, caller frees. */
int store_get_windows(struct store *s, const char *check, struct store_window **w, size_t *n);

struct store_event {
	int64_t id;
	double ts;
	char kind[32];       /* "workload.start", "workload.exit", "workload.restart",
				"fault.start", "fault.end", "run.start", "run.stop" ... */
	char subject[64];    /* workload name, fault target, check id */
	char detail[512];    /* human text, e.g. "exited by signal 9 (KILL), restart in 500ms" */
};
int store_put_event(struct store *s, double ts, const char *kind, const char *subject,
		    const char *detail);
int store_get_events(struct store *s, struct store_event **ev, size_t *n);
/* Only the events of one kind ("split.shift"), in time order; same ownership. */
int store_get_events_kind(struct store *s, const char *kind, struct store_event **ev,
			  size_t *n);

/* Named counters (e.g. "batches.accepted", "batches.duplicate",
 * "batches.rejected"): add delta, read value (0 if unknown). */
int store_counter_add(struct store *s, const char *name, int64_t delta);
int64_t store_counter_get(struct store *s, const char *name);

#endif
