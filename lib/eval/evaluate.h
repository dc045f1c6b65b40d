/*
 * evaluate.h - turns stored evidence into window verdicts. evaluate_window is
 * the one sink every window result goes through: it loads the rows, runs the
 * check's eval (or R_NO_MESH for mesh checks under --mesh none, or
 * R_MONITOR_GAP for a window conformd was down in), persists the result with
 * the check's debounced state, and logs a debounced state change once
 * ("check X: passing -> failing (reason)").
 *
 * Debounce (a health check's rise/fall): a check turns FAILING after cfg->fall
 * failing windows in a row and PASSING after cfg->rise passing ones; until
 * either happens it is "nodata". NODATA windows (no requests, monitor gaps)
 * and INCONCLUSIVE ones (a precondition outside the promise broke) neither
 * advance nor reset a streak: an outage of the monitor says nothing
 * about the mesh, so F, gap, F with fall=2 is FAILING. Each FAILING span is an
 * incident: from the start of the first failing window of the streak that
 * tripped it to the end of its last failing window, open while FAILING.
 */
#ifndef CONFORM_EVALUATE_H
#define CONFORM_EVALUATE_H

#include "checks/check.h"
#include "store/store.h"

/* Window idx of a run: [started + idx*window, started + (idx+1)*window),
 * in whole unix seconds; the run's end (ended > 0) cuts the last one short. */
void window_bounds(const struct run_config *cfg, int64_t idx, double ended,
		   int64_t *start_s, int64_t *end_s);

/*
 * Evaluate window idx of check c, persist it and (when out is not NULL)
 * copy the result there. 0 or -1 (store error).
 */
int evaluate_window(struct store *s, const struct run_config *cfg, const struct check_desc *c,
		    int64_t idx, double ended, struct window_result *out);

/*
 * Apply one window's verdict to a check's debounce state (pure; no I/O).
 * A window at or before st->last_idx was applied already and changes
 * nothing (returns 0). Returns 1 when st changed. *inc_out is set to 1 and
 * inc filled when an incident opened, grew or closed (to store); *from is
 * the state before (equal to st->state when it did not change).
 */
int evaluate_debounce(struct store_check_state *st, int fall, int rise, int64_t idx,
		      int64_t start_s, int64_t end_s, const struct window_result *r,
		      struct store_incident *inc, int *inc_out, enum verdict *from);

/*
 * Persist window idx of check c with its debounced state (one transaction)
 * and, on a debounced change, log it and record a "check.state" event
 * (subject = check id, detail "passing -> failing: <reason>"; the first
 * "nodata -> passing" is logged only). The sink's second half: callers that
 * have a result already (tests, replays) use it directly. 0 or -1.
 */
int evaluate_record(struct store *s, const struct run_config *cfg, const char *check,
		    int64_t idx, int64_t start_s, int64_t end_s, const struct window_result *r);

/* Debounced state names: "passing", "failing", "nodata". */
const char *evaluate_state_name(enum verdict state);

/*
 * Evaluate every window of every selected check that closed at or before
 * now_s - grace_s and was not evaluated yet (*next_idx tracks progress;
 * start it at 0). With final=1 (run over, ended set), evaluate all windows up
 * to the end, including a partial last one. 0 or -1.
 */
int evaluate_due(struct store *s, const struct run_config *cfg, double now_s, double grace_s,
		 int final, double ended, int64_t *next_idx);

/*
 * Bounded growth: pack the per-second rows of the windows evaluated (before
 * window next_idx) into one store row per check and span (store_pack_rows),
 * even with no retention; past the retention, passing windows keep of their
 * evidence what the report reads (store_prune_evidence); delete per-second
 * rows older than cfg->retention_s (by
 * now_wall) whose windows were all evaluated (before window next_idx), and
 * the dedupe records of batches received before the retention period, and
 * the failing-request samples that old outside any incident. The report's
 * totals are kept apart (store.h); windows, incidents (with their samples)
 * and events stay. At most max_rows rows per call, in chunks, so the collector
 * waits for one chunk at a time; returns the rows deleted or -1.
 */
int64_t evaluate_prune(struct store *s, const struct run_config *cfg, int64_t next_idx,
		       double now_wall, int64_t max_rows);

#endif
