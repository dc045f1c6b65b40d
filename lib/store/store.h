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

#include "checks/check.h"

struct store;

/* Open (create=1: create schema if new) the database at path. */
int store_open(const char *path, int create, struct store **out, char *err, size_t errlen);
void store_close(struct store *s);
const char *store_errmsg(struct store *s);
/*
 * What the last failure means for writes: "disk full" (SQLITE_FULL),
 * "read-only" (SQLITE_READONLY, _PERM, _CANTOPEN), "I/O error"
 * (SQLITE_IOERR), "database corrupt", or NULL when it was none of these
 * (or nothing failed). A failed write stored nothing (rolled back).
 */
const char *store_write_error(struct store *s);
/*
 * Cap the database at max_pages pages (PRAGMA max_page_count; SQLite never
 * sets it below the current size). Writes past it fail with "disk full" as
 * on a full disk: tests simulate one with it. Returns the cap in force, or -1.
 */
int64_t store_set_max_pages(struct store *s, int64_t max_pages);

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

/*
 * A failing request a client kept as an example (proto Sample): at most a few
 * per check per batch. Strings are bounded here; the collector validated them.
 */
#define STORE_SAMPLE_STR 128
struct store_sample {
	char check[32];
	char workload[64];
	char request_id[STORE_SAMPLE_STR];
	unsigned outcome;        /* enum outcome */
	int code;                /* HTTP status or gRPC status, 0 if none */
	uint64_t latency_us;
	char backend[STORE_SAMPLE_STR];
	char identity[STORE_SAMPLE_STR];
	int64_t ts_ms;           /* intended send time, unix ms */
};
/*
 * store_put_batch with the batch's failing-request samples, stored in the
 * same transaction: a duplicate batch stores neither rows nor samples (so a
 * resent batch never doubles them). Same returns as store_put_batch.
 */
int store_put_batch_samples(struct store *s, const char *workload, uint64_t instance,
			    uint64_t seq, const struct agg_row *rows, size_t n,
			    const struct store_sample *samples, size_t nsamples);
/*
 * Group commit: every batch of bs in ONE transaction (one fsync), with the
 * statements prepared once for the group. Sets each bs[i].rc as
 * store_put_batch_samples returns it (1 stored, 0 duplicate, also for a
 * batch sent twice within the group) and returns 0; or returns -1 with every
 * rc = -1 and nothing of the group stored (a write error rolls it all back).
 * The batches' memory stays the caller's.
 */
struct store_batch {
	const char *workload;
	uint64_t instance, seq;
	const struct agg_row *rows;
	size_t n;
	const struct store_sample *samples;
	size_t nsamples;
	const char *mark;        /* optional: a counter raised to mark_value in the */
	int64_t mark_value;      /* same transaction (as store_counter_raise) */
	int rc;                  /* out */
};
int store_put_batches(struct store *s, struct store_batch *bs, size_t nb);
/*
 * Up to max samples of a check and its variants with from_ms <= ts_ms < to_ms,
 * earliest first, into out (caller's array). Returns how many, or -1.
 */
int store_get_samples(struct store *s, const char *check, int64_t from_ms, int64_t to_ms,
		      struct store_sample *out, size_t max);

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

/*
 * Bounded growth. The totals are kept apart (in each batch's transaction),
 * so per-second rows can go once their windows are judged and the
 * retention period has passed: store_prune_rows deletes at most max_rows
 * rows of check and its variants with second < before_s (loose rows, then
 * whole packs, a first pack larger than max_rows too, then the older rows of
 * a pack holding the cutoff) and returns how many (call again while it
 * returns max_rows or more), -1 on error.
 * store_prune_batches deletes the dedupe records of batches received
 * before received_before (wall seconds) and raises each reporter
 * instance's floor to the highest seq it deleted, so a late resend of such
 * a batch is still acked as a duplicate; returns records deleted or -1.
 */
int64_t store_prune_rows(struct store *s, const char *check, int64_t before_s, int64_t max_rows);
/*
 * Pack the per-second rows of check and its variants with second before
 * before_s rounded down to a multiple of STORE_PACK_SPAN_S: one row per
 * check id and span holds them (rowpack.h) until store_prune_rows deletes
 * them as it deletes loose rows (whole packs, and the older rows of a pack
 * that holds its cutoff, rewritten). Reads see packed
 * and loose rows alike. At most max_rows rows in one transaction; returns
 * how many were packed (call again while it returns max_rows), -1 on error
 * (nothing changed). Call it for seconds of judged windows only: a late row
 * for a packed second is packed apart and read with the rest.
 */
#define STORE_PACK_SPAN_S 600
int64_t store_pack_rows(struct store *s, const char *check, int64_t before_s, int64_t max_rows);
int64_t store_prune_batches(struct store *s, double received_before);
/* Delete the failing-request samples taken before before_ms (unix ms) but
 * the first keep_per_incident of each incident of their check (the ones the
 * report shows), which are kept for the whole run: a days-long incident
 * keeps that many, not all it took. Returns samples deleted or -1. */
int64_t store_prune_samples(struct store *s, int64_t before_ms, int keep_per_incident);
/* How many failing-request samples an incident keeps for the whole run (and
 * the report shows). */
#define STORE_INCIDENT_SAMPLES 5

struct store_window {
	char check[32];
	int64_t idx;
	int64_t start_s, end_s;
	struct window_result r;
};
/*
 * A passing window keeps in its row only what the report reads of its
 * evidence (split share and bounds, retry attempts); the whole evidence is
 * kept apart and read back with it until store_prune_evidence deletes it
 * for the windows of check with idx < before_idx (at most max_windows at a
 * time): past the retention they read back reduced. Verdicts, reasons,
 * counts and histograms stay; failing, inconclusive and no-data windows
 * keep their evidence whole. Returns how many were deleted, -1 on error.
 */
int64_t store_prune_evidence(struct store *s, const char *check, int64_t before_idx,
			     int64_t max_windows);
/* Insert or replace the result of window idx of a check. */
int store_put_window(struct store *s, const char *check, int64_t idx, int64_t start_s,
		     int64_t end_s, const struct window_result *r);
/* All windows of a check ordered by idx; new array, caller frees. A week of
 * windows is tens of thousands of these (5 KB each): long runs walk them with
 * store_each_window or ask for counts and single windows instead. */
int store_get_windows(struct store *s, const char *check, struct store_window **w, size_t *n);
/*
 * The windows of a check with idx >= from_idx, one at a time by idx: fn gets
 * each (valid during the call only) and stops the walk by returning
 * non-zero. The store is locked meanwhile, so fn must not call it. Returns 0
 * when all were seen, fn's non-zero value, or -1 on a store error.
 */
int store_each_window(struct store *s, const char *check, int64_t from_idx,
		      int (*fn)(void *ctx, const struct store_window *w), void *ctx);
/*
 * What the report's charts and tables show of a window, for walking a week
 * of them quickly: no reason text, the latency as its p50 and p99 (as
 * hist_quantile gives them; 0 without requests or with a damaged
 * histogram), the evidence as the window's row holds it: whole, or for a
 * passing window what the report reads of it (split share and bounds,
 * retry attempts); valid during the call only.
 */
struct store_window_brief {
	int64_t idx;
	int64_t start_s, end_s;
	enum verdict verdict;
	enum reason reason;
	uint64_t total, ok;
	uint64_t p50_us, p99_us;
	const char *evidence;
};
/* As store_each_window, with briefs. */
int store_each_window_brief(struct store *s, const char *check, int64_t from_idx,
			    int (*fn)(void *ctx, const struct store_window_brief *w), void *ctx);
/* Windows of a check by verdict: counts[V_NODATA .. V_INCONCLUSIVE]. 0 or -1. */
int store_window_counts(struct store *s, const char *check, uint64_t counts[V__COUNT]);
/* One window of a check: the first failing, the last passing, the last, the
 * first inconclusive. 1 and *w, 0 when there is none, -1 on error. */
enum store_pick { STORE_FIRST_FAIL, STORE_LAST_PASS, STORE_LAST, STORE_FIRST_INCONCLUSIVE };
int store_get_window_pick(struct store *s, const char *check, enum store_pick pick,
			  struct store_window *w);

/*
 * Debounce state of one check (evaluate.c), persisted with each window so a
 * restarted conformd continues the streaks. state: V_NODATA until the first
 * debounced state, then V_PASS (PASSING) or V_FAIL (FAILING).
 */
struct store_check_state {
	char check[32];
	enum verdict state;
	int64_t last_idx;        /* last window applied, -1 = none */
	int fail_streak, pass_streak;
	int64_t streak_start_s;  /* start of the first failing window of the fail streak */
	char streak_reason[REASON_TEXT_MAX]; /* that window's reason text */
	int64_t incident_start_s;/* start of the open incident, 0 = none */
	int64_t incident_end_s;  /* end of its last failing window so far */
	int64_t incident_windows;/* its failing windows so far */
};
/* An incident: one FAILING span of a check. end_s is the end of its last
 * failing window so far; open while the check is FAILING. */
struct store_incident {
	char check[32];
	int64_t start_s, end_s;
	int64_t windows;         /* failing windows in the span */
	int open;
	char reason[REASON_TEXT_MAX]; /* the first failing window's reason */
};
/* 1 and *st when the check has a state, 0 (st reset, last_idx -1) when not, -1. */
int store_get_check_state(struct store *s, const char *check, struct store_check_state *st);
/*
 * One transaction: store window idx (as store_put_window), the check's new
 * debounce state and, when inc is not NULL, insert the incident or update
 * the one with the same (check, start_s): its end, windows and open flag
 * (its reason is kept). 0 or -1 (nothing stored).
 */
int store_put_window_state(struct store *s, const char *check, int64_t idx, int64_t start_s,
			   int64_t end_s, const struct window_result *r,
			   const struct store_check_state *st, const struct store_incident *inc);
/* All incidents of a check by start (new array, caller frees; NULL when none). */
int store_get_incidents(struct store *s, const char *check, struct store_incident **inc,
			size_t *n);

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

/*
 * The mesh's own view of a window (evidence/meshview.h as JSON, at most
 * STORE_MESH_VIEW_MAX bytes): its proxies' counts between the scrapes at
 * unix s from and to. 0 or -1.
 */
#define STORE_MESH_VIEW_MAX 16384
int store_put_mesh_view(struct store *s, double from, double to, const char *json);
/*
 * The view that covers most of the window [start_s, end_s), at least half
 * of it: 1 with a new string in *json (the caller frees it) and its span in
 * *from, *to; 0 when none does (*json NULL); -1 on error.
 */
int store_get_mesh_view(struct store *s, int64_t start_s, int64_t end_s, char **json,
			double *from, double *to);
/*
 * Delete the views that ended before unix s before: a view is read when its
 * window is judged (the window's evidence keeps what the check made of it),
 * so past the retention it is only bytes (~1 KB a window). Rows deleted, or -1.
 */
int64_t store_prune_mesh_views(struct store *s, double before);

/* Named counters (e.g. "batches.accepted", "batches.duplicate",
 * "batches.rejected"): add delta, read value (0 if unknown). */
int store_counter_add(struct store *s, const char *name, int64_t delta);
int64_t store_counter_get(struct store *s, const char *name);
/* A mark that only moves forward: name becomes value if that is more
 * (e.g. "tap.stored_through_ms"). 0 or -1. */
int store_counter_raise(struct store *s, const char *name, int64_t value);

#endif
