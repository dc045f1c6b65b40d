/*
 * loop.c - conformd's single-threaded main loop (supervise, expire faults,
 * shift the split, evaluate windows as they close, heartbeat, prune) and the
 * finish sequence: stop the clients, evaluate what is left, write the
 * reports, stop the servers.
 */
#include "conformd.h"
#include "viewer.h"
#include "eval/evaluate.h"
#include "report/report.h"
#include "config/state.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <string.h>

/* The run's now in unix seconds, from the monotonic clock (state.h). */
static double run_now(const struct daemon *d)
{
	return state_run_now(d->cfg.started, d->anchor_mono_ms, mono_ms());
}

void daemon_set_state(struct daemon *d, enum daemon_state s)
{
	pthread_mutex_lock(&d->mu);
	d->state = s;
	pthread_mutex_unlock(&d->mu);
}

/* The collector's rejected count into the store, for the report. */
static void sync_rejected(struct daemon *d, uint64_t *synced)
{
	struct collector_stats cs;

	if (!d->coll)
		return;
	collector_get_stats(d->coll, &cs);
	if (cs.rejected > *synced) {
		if (store_counter_add(d->store, "batches.rejected",
				      (int64_t)(cs.rejected - *synced)) == 0)
			*synced = cs.rejected;
	}
}

static void evaluate_final(struct daemon *d, int64_t *next_idx)
{
	int64_t before;
	int rounds = 0;

	/* evaluate_due bounds the windows per call; loop until it is done */
	do {
		before = *next_idx;
		if (evaluate_due(d->store, &d->cfg, d->ended, 0, 1, d->ended, next_idx) < 0) {
			log_kv(LOG_ERROR, "final evaluation failed", "err=\"%s\"",
			       store_errmsg(d->store));
			break;
		}
	} while (*next_idx != before && ++rounds < 100000);
}

static int write_reports(struct daemon *d)
{
	char dir[PATH_MAX];
	struct report *r = NULL;
	int rc = -1;

	str_fmt(dir, sizeof(dir), "%s/reports", d->run_dir);
	if (mkdir_p(dir, 0700) < 0) {
		log_kv(LOG_ERROR, "cannot create reports dir", "path=%s err=\"%s\"", dir,
		       strerror(errno));
		return -1;
	}
	if (report_build(d->store, &d->cfg, &r) < 0) {
		log_kv(LOG_ERROR, "cannot build the report", "err=\"%s\"", store_errmsg(d->store));
		return -1;
	}
	if (report_write_all(r, dir) < 0) {
		log_kv(LOG_ERROR, "cannot write the reports", "dir=%s", dir);
		goto out;
	}
	log_kv(LOG_INFO, "reports written", "dir=%s verdict=%s", dir, verdict_name(r->verdict));
	rc = 0;
out:
	report_free(r);
	return rc;
}

/* Steps 1-4 of the finish sequence, plus tearing the servers down. */
void daemon_finish(struct daemon *d, int64_t *next_idx, uint64_t *rejected_synced)
{
	int killed;
	char detail[128];

	daemon_set_state(d, DS_STOPPING);
	log_kv(LOG_INFO, "stopping", "reason=%s", d->stop_reason[0] ? d->stop_reason : "error");
	if (d->plat) {
		killed = d->pops->stop(d->plat, CLIENT_ROLES, CLIENT_STOP_MS);
		if (killed > 0)
			log_kv(LOG_WARN, "clients had to be killed", "count=%d grace_ms=%d", killed,
			       CLIENT_STOP_MS);
	}
	if (d->faults)
		faults_end_all(d->faults, wall_s());
	probe_stop(d->prober);
	d->prober = NULL;
	/* the clients are done: the last tap lines are in (they follow each
	 * response by well under a millisecond); flush them before evaluating */
	tapfeed_stop(d->tap);
	d->tap = NULL;
	sync_rejected(d, rejected_synced);
	pthread_mutex_lock(&d->mu);
	d->ended = d->cfg.started > 0 ? run_now(d) : wall_s();
	pthread_mutex_unlock(&d->mu);
	if (store_set_run_ended(d->store, d->ended) < 0)
		log_kv(LOG_ERROR, "cannot mark the run ended", "err=\"%s\"", store_errmsg(d->store));
	if (d->cfg.started > 0)
		evaluate_final(d, next_idx);
	/* recorded before the reports so they say why the run stopped */
	str_fmt(detail, sizeof(detail), "%s", d->stop_reason[0] ? d->stop_reason : "error");
	daemon_event(d, "run.stop", d->cfg.id, detail);
	write_reports(d);
	if (d->plat) {
		killed = d->pops->stop(d->plat, SERVER_ROLES, SERVER_STOP_MS);
		if (killed > 0)
			log_kv(LOG_WARN, "servers had to be killed", "count=%d", killed);
		killed = d->pops->stop(d->plat, PLATFORM_ROLE_SIDECAR, SIDECAR_STOP_MS);
		if (killed > 0)
			log_kv(LOG_WARN, "sidecars had to be killed", "count=%d", killed);
	}
	daemon_set_state(d, DS_FINISHED);
}

/* Set the split weights through the mesh (it records split.set). */
int daemon_split_set(struct daemon *d, unsigned v1, unsigned v2)
{
	struct mesh_feature f;
	char err[256], q[300];

	memset(&f, 0, sizeof(f));
	f.kind = MESH_SPLIT;
	str_copy(f.service, sizeof(f.service), "http-server");
	str_copy(f.backends[0], sizeof(f.backends[0]), "v1");
	str_copy(f.backends[1], sizeof(f.backends[1]), "v2");
	f.weights[0] = v1;
	f.weights[1] = v2;
	f.nbackends = 2;
	if (d->mops->configure(d->mesh, &f, err, sizeof(err)) < 0) {
		log_kv(LOG_ERROR, "cannot set the split weights", "v1=%u v2=%u err=%s", v1, v2,
		       log_quote(err, q, sizeof(q)));
		return -1;
	}
	return 0;
}

int daemon_wants_split(const struct run_config *c)
{
	return run_config_has_check(c, "split.weights") || run_config_has_check(c, "split.shift");
}

/* The scheduled shift: at started + shift_at_ms, once. */
static void split_shift(struct daemon *d, double now)
{
	const struct run_mesh *m = &d->cfg.m;
	char detail[64];

	if (d->shift_done || m->shift_at_ms <= 0 || !daemon_wants_split(&d->cfg) ||
	    now < d->cfg.started + (double)m->shift_at_ms / 1000.0)
		return;
	d->shift_done = 1;
	if (daemon_split_set(d, m->shift_v1, m->shift_v2) < 0)
		return;
	str_fmt(detail, sizeof(detail), "v1=%u v2=%u", m->shift_v1, m->shift_v2);
	daemon_event(d, "split.shift", "split.conform.svc", detail);
	log_kv(LOG_INFO, "split shifted", "v1=%u v2=%u", m->shift_v1, m->shift_v2);
}

/*
 * The mesh's own counts, once per window: at each window boundary the
 * adapter scrapes its proxies and hands over the deltas since the last
 * boundary, stored as the window's mesh view (the checks compare it with
 * the workloads' view). The span is re-stamped on the run clock, the one
 * windows are cut on. A failed scrape is an event (once per failing
 * streak), never a failed check: the checks then judge the app's view.
 */
static void mesh_view(struct daemon *d, double now)
{
	double w = (double)d->cfg.window_ms / 1000.0, at;
	struct mesh_view v;
	struct dynbuf b = DYNBUF_INIT(STORE_MESH_VIEW_MAX);
	char err[512], q[600];
	int rc;

	if (!d->meshed || !d->mops->view || d->cfg.started <= 0 || w <= 0)
		return;
	if (!d->viewer && viewer_start(d->mops, d->mesh, &d->viewer)) {
		/* no view for now: the checks judge the app's view */
		if (!d->view_failing) {
			d->view_failing = 1;
			daemon_event(d, "mesh.view", d->mops->name, "cannot start the thread that "
				     "reads the proxies");
		}
		return;
	}
	/* an answer to the last ask: the counts between its scrape and the one before */
	if (viewer_take(d->viewer, &rc, &v, err, sizeof(err), &at)) {
		if (rc == 0) {
			v.from = d->view_prev;
			v.to = at;
			if (meshview_json(&v, &b) ||
			    store_put_mesh_view(d->store, v.from, v.to, b.buf))
				log_kv(LOG_WARN, "cannot store the mesh view", "err=\"%s\"",
				       store_errmsg(d->store));
		}
		if (rc == 0 || rc == -EAGAIN) {
			d->view_prev = at;
			if (d->view_failing) {
				d->view_failing = 0;
				daemon_event(d, "mesh.view", d->mops->name, "the proxies answer "
					     "again; the next window has the mesh's view");
			}
		} else if (!d->view_failing) {
			d->view_failing = 1;
			log_kv(LOG_WARN, "cannot read the mesh's own view", "err=%s",
			       log_quote(err[0] ? err : "no reason given", q, sizeof(q)));
			daemon_event(d, "mesh.view", d->mops->name, err[0] ? err : "no reason given");
		}
	}
	if (now >= d->view_next) {
		/* ask at this boundary; the next one after now comes after */
		d->view_next = d->cfg.started + (floor((now - d->cfg.started) / w) + 1) * w;
		if (viewer_ask(d->viewer, now) == -EBUSY && !d->view_skipped++)
			/* the scrape of the last boundary still runs: its answer
			 * will span more than one window (check_mesh_view widens
			 * the tolerance by the span's misfit) */
			log_kv(LOG_WARN, "the mesh view's scrape outlasts a window", "window_ms=%"
			       PRId64 " skipped=boundaries until it answers", d->cfg.window_ms);
	}
	dynbuf_release(&b);
}

static void heartbeat(struct daemon *d, int64_t *last_ms)
{
	int64_t now = mono_ms();

	if (*last_ms && now - *last_ms < HEARTBEAT_MS)
		return;
	*last_ms = now;
	if (state_heartbeat_write(d->run_dir, wall_s()) < 0)
		log_kv(LOG_WARN, "cannot write the heartbeat", "dir=%s err=\"%s\"", d->run_dir,
		       strerror(errno));
}

/*
 * Windows are evaluated and the run ends on the run clock (monotonic since
 * the start): a wall-clock jump moves neither. Window boundaries stay whole
 * unix seconds from cfg.started, like the clients' timestamps.
 */
/* Per-second rows past the retention period go, a bounded number every PRUNE_EVERY_MS. */
static void prune(struct daemon *d, int64_t next_idx, int64_t *last_ms)
{
	int64_t now = mono_ms(), n;

	if (*last_ms && now - *last_ms < PRUNE_EVERY_MS)
		return;
	*last_ms = now;
	n = evaluate_prune(d->store, &d->cfg, next_idx, wall_s(), PRUNE_MAX_ROWS);
	if (n < 0)
		log_kv(LOG_WARN, "pruning failed", "err=\"%s\"", store_errmsg(d->store));
	else if (n > 0)
		log_kv(LOG_DEBUG, "pruned per-second rows", "rows=%" PRId64 " retention_s=%" PRId64,
		       n, d->cfg.retention_s);
}

void daemon_loop(struct daemon *d, int64_t *next_idx, uint64_t *rejected_synced)
{
	int64_t hb = 0, pruned = 0;

	while (!atomic_load(&d->stop_requested)) {
		double now;

		heartbeat(d, &hb);
		daemon_wait_tick(d, TICK_MS);
		d->pops->poll(d->plat);
		now = run_now(d);
		faults_expire(d->faults, wall_s());
		if (d->meshed) {
			d->mops->tick(d->mesh);
			split_shift(d, now);
			mesh_view(d, now);
		}
		sync_rejected(d, rejected_synced);
		if (mono_ms() >= d->eval_hold_until_ms &&
		    evaluate_due(d->store, &d->cfg, now, EVAL_GRACE_S, 0, 0, next_idx) < 0)
			log_kv(LOG_ERROR, "evaluation failed", "err=\"%s\"", store_errmsg(d->store));
		prune(d, *next_idx, &pruned);
		if (d->cfg.duration_ms > 0 &&
		    now >= d->cfg.started + (double)d->cfg.duration_ms / 1000.0) {
			str_copy(d->stop_reason, sizeof(d->stop_reason), "duration elapsed");
			break;
		}
	}
	if (!d->stop_reason[0] && daemon_last_signal())
		str_fmt(d->stop_reason, sizeof(d->stop_reason), "signal %s",
			daemon_last_signal() == SIGINT ? "INT" : "TERM");
	if (!d->stop_reason[0])
		str_copy(d->stop_reason, sizeof(d->stop_reason), "stop requested");
}
