/*
 * resume.c - `conformd --resume`: take over a run whose monitor died. The
 * collector comes back on its port, the workloads and sidecars still running
 * are adopted, the time nobody watched becomes a monitor.gap, and the
 * evaluation restarts at the first window without a stored verdict.
 */
#include "conformd.h"
#include "config/state.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

/* Where the evaluation stopped: the first window index some selected check
 * has no stored verdict for (re-evaluating a window is harmless). */
int64_t daemon_resume_next_idx(struct daemon *d)
{
	int64_t next = -1;

	struct store_window *w = malloc(sizeof(*w));

	if (!w)
		return 0;
	for (size_t i = 0; i < d->cfg.nchecks; i++) {
		int64_t after;
		int k = store_get_window_pick(d->store, d->cfg.checks[i], STORE_LAST, w);

		if (k < 0) {
			log_kv(LOG_ERROR, "cannot read the evaluated windows", "check=%s err=\"%s\"",
			       d->cfg.checks[i], store_errmsg(d->store));
			next = 0;
			break;
		}
		after = k ? w->idx + 1 : 0;
		if (next < 0 || after < next)
			next = after;
	}
	free(w);
	return next < 0 ? 0 : next;
}

/* Record the time nobody watched: from the last heartbeat (less what may
 * not have been stored by then) to now. */
void daemon_record_gap(struct daemon *d, double *down_s)
{
	double hb = 0, now = wall_s();
	char detail[96];

	if (state_heartbeat_read(d->run_dir, &hb) < 0 || hb < d->cfg.started || hb > now) {
		log_kv(LOG_WARN, "no usable heartbeat: the gap starts at the run's start", NULL);
		hb = d->cfg.started;
	}
	/*
	 * The heartbeat says the monitor was alive, not that what it had
	 * received was stored: the tap feed's lines (UDP, never resent) wait
	 * for their flush and the commit behind it, and a kill -9 loses what
	 * came after the feed's last stored mark. Requests sent from that mark
	 * less the tap's allowed delay on are unwatched too: judged, a tap.live
	 * window would blame the tap.
	 */
	hb = state_gap_from(hb, d->tap_mark, (double)d->cfg.m.tap_max_delay_ms / 1000.0,
			    d->cfg.started);
	str_fmt(detail, sizeof(detail), "from=%lld to=%lld", (long long)floor(hb),
		(long long)ceil(now));
	daemon_event(d, "monitor.gap", "conformd", detail);
	log_kv(LOG_WARN, "monitor gap", "from=%.3f to=%.3f down_s=%.1f tap_stored_through=%.3f",
	       hb, now, now - hb, d->tap_mark);
	*down_s = now - hb;
}

/* Take the running workloads and sidecars over (instead of starting them). */
int daemon_resume_workloads(struct daemon *d, size_t *adopted, size_t *restarted, char *err,
			    size_t errlen)
{
	struct mesh_plan *plan = calloc(1, sizeof(*plan));
	struct store_event *ev = NULL;
	size_t nev = 0;
	int rc;

	if (!plan) {
		str_fmt(err, errlen, "out of memory");
		return -1;
	}
	rc = d->pops->adopt ? d->pops->adopt(d->plat, adopted, restarted, err, errlen)
			    : (str_fmt(err, errlen, "platform %s cannot adopt workloads",
				       d->pops->name), -ENOTSUP);
	if (rc == 0 && d->mops->plan(d->mesh, plan, err, errlen) == 0)
		d->meshed = 1;
	free(plan);
	if (rc < 0)
		return -1;
	/* the scheduled split shift happened already if it was recorded */
	if (store_get_events_kind(d->store, "split.shift", &ev, &nev) == 0 && nev)
		d->shift_done = 1;
	free(ev);
	d->pops->poll(d->plat);   /* start again what died meanwhile */
	return 0;
}
