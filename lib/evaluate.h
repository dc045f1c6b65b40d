/*
 * evaluate.h - turns stored evidence into window verdicts. evaluate_window is
 * the one sink every window result goes through: it loads the rows, runs the
 * check's eval (or R_NO_MESH for mesh checks under --mesh none), persists the
 * result and logs a state change once ("check X: pass -> fail (reason)").
 */
#ifndef CONFORM_EVALUATE_H
#define CONFORM_EVALUATE_H

#include "check.h"
#include "store.h"

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
 * Evaluate every window of every selected check that closed at or before
 * now_s - grace_s and was not evaluated yet (*next_idx tracks progress;
 * start it at 0). With final=1 (run over, ended set), evaluate all windows up
 * to the end, including a partial last one. 0 or -1.
 */
int evaluate_due(struct store *s, const struct run_config *cfg, double now_s, double grace_s,
		 int final, double ended, int64_t *next_idx);

#endif
