/*
 * evaluate.c - turns stored per-second evidence into window verdicts. Every
 * window result goes through evaluate_window, the one sink that persists it
 * and logs each check's state change once (relayd's hce_notify_done).
 */
#include "evaluate.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "outcome.h"
#include "util.h"

/* A run longer than this many windows is not plausible: guards the loops. */
#define EVAL_MAX_WINDOWS 10000000

static int64_t window_s(const struct run_config *cfg)
{
	int64_t w = cfg->window_ms / 1000;

	return w > 0 ? w : 1;
}

void window_bounds(const struct run_config *cfg, int64_t idx, double ended,
		   int64_t *start_s, int64_t *end_s)
{
	int64_t base = (int64_t)floor(cfg->started);
	int64_t w = window_s(cfg);

	*start_s = base + idx * w;
	*end_s = *start_s + w;
	if (ended > 0) {
		/* a request sent during the run's last second belongs to it */
		int64_t cut = (int64_t)ceil(ended);

		if (*end_s > cut)
			*end_s = cut;
		if (*end_s < *start_s)
			*end_s = *start_s;
	}
}

/* ---- per-check last state, for logging changes once ---- */

#define STATE_SLOTS 64

static struct {
	char id[32];
	enum verdict v;
} last_state[STATE_SLOTS];
static size_t nlast;
static pthread_mutex_t last_mu = PTHREAD_MUTEX_INITIALIZER;

/* Record v for check id; returns the previous verdict, or -1 if none. */
static int swap_state(const char *id, enum verdict v)
{
	int prev = -1;
	size_t i;

	pthread_mutex_lock(&last_mu);
	for (i = 0; i < nlast; i++)
		if (!strcmp(last_state[i].id, id))
			break;
	if (i < nlast) {
		prev = (int)last_state[i].v;
		last_state[i].v = v;
	} else if (nlast < STATE_SLOTS) {
		str_copy(last_state[nlast].id, sizeof(last_state[nlast].id), id);
		last_state[nlast].v = v;
		nlast++;
	}
	pthread_mutex_unlock(&last_mu);
	return prev;
}

static int mesh_none(const struct run_config *cfg)
{
	return !cfg->mesh[0] || !strcmp(cfg->mesh, "none");
}

int evaluate_window(struct store *s, const struct run_config *cfg, const struct check_desc *c,
		    int64_t idx, double ended, struct window_result *out)
{
	struct window_result *r;
	struct window_data wd;
	struct agg_row *rows = NULL;
	size_t nrows = 0, i;
	int64_t start_s, end_s;
	int rc = -1, prev;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -1;
	window_bounds(cfg, idx, ended, &start_s, &end_s);
	if (store_get_rows(s, c->id, start_s, end_s, &rows, &nrows)) {
		log_kv(LOG_ERROR, "evaluate: cannot read rows", "check=%s idx=%" PRId64 " error=\"%s\"",
		       c->id, idx, store_errmsg(s));
		goto out;
	}
	hist_init(&r->h);
	for (i = 0; i < nrows; i++) {
		/* requests are what clients sent; conformd's probe and tap rows
		 * are evidence the check reads itself (as the report's totals) */
		if (check_row_is_monitor(&rows[i]))
			continue;
		r->total += rows[i].h.count;
		if (outcome_info(rows[i].outcome)->ok)
			r->ok += rows[i].h.count;
		hist_merge(&r->h, &rows[i].h);
	}
	r->failed = r->total - r->ok;
	str_copy(r->evidence, sizeof(r->evidence), "{}");

	memset(&wd, 0, sizeof(wd));
	wd.cfg = cfg;
	wd.check = c;
	wd.idx = idx;
	wd.start_s = start_s;
	wd.end_s = end_s;
	wd.rows = rows;
	wd.nrows = nrows;
	wd.mesh = mesh_none(cfg) ? NULL : cfg->mesh;
	wd.store = s;

	if (c->needs_mesh && !wd.mesh) {
		char promise[REASON_TEXT_MAX];
		size_t n;

		str_copy(promise, sizeof(promise), c->promise ? c->promise : c->id);
		n = strlen(promise);
		if (n && promise[n - 1] == '.')
			promise[n - 1] = '\0';
		r->verdict = V_FAIL;
		r->reason = R_NO_MESH;
		str_fmt(r->reason_text, sizeof(r->reason_text), "no mesh provides %s", promise);
	} else if (!c->eval || c->eval(&wd, r)) {
		r->verdict = V_NODATA;
		r->reason = R_NO_DATA;
		str_copy(r->reason_text, sizeof(r->reason_text), "internal error evaluating window");
		log_kv(LOG_ERROR, "evaluate: check failed to evaluate", "check=%s idx=%" PRId64,
		       c->id, idx);
	}
	if (!r->evidence[0])
		str_copy(r->evidence, sizeof(r->evidence), "{}");

	if (store_put_window(s, c->id, idx, start_s, end_s, r)) {
		log_kv(LOG_ERROR, "evaluate: cannot store window", "check=%s idx=%" PRId64
		       " error=\"%s\"", c->id, idx, store_errmsg(s));
		goto out;
	}
	prev = swap_state(c->id, r->verdict);
	if (prev != (int)r->verdict) {
		char msg[64 + REASON_TEXT_MAX];

		str_fmt(msg, sizeof(msg), "check %s: %s -> %s (%s)", c->id,
			prev < 0 ? "none" : verdict_name((enum verdict)prev),
			verdict_name(r->verdict), r->reason_text);
		log_kv(r->verdict == V_FAIL ? LOG_WARN : LOG_INFO, msg,
		       "check=%s window=%" PRId64 " verdict=%s reason=%s", c->id, idx,
		       verdict_name(r->verdict), reason_info(r->reason)->name);
	}
	if (out)
		*out = *r;
	rc = 0;
out:
	free(rows);
	free(r);
	return rc;
}

int evaluate_due(struct store *s, const struct run_config *cfg, double now_s, double grace_s,
		 int final, double ended, int64_t *next_idx)
{
	const struct check_desc *const *all;
	int64_t idx, start_s, end_s, limit;
	size_t n, i;

	if (cfg->started <= 0)
		return 0;  /* no traffic yet: no window has opened */
	if (final && ended <= 0)
		ended = now_s;
	all = catalog_all(&n);
	limit = *next_idx + EVAL_MAX_WINDOWS;
	for (idx = *next_idx; idx < limit; idx++) {
		if (final) {
			window_bounds(cfg, idx, ended, &start_s, &end_s);
			if (end_s <= start_s)
				break;  /* past the end of the run */
		} else {
			window_bounds(cfg, idx, 0, &start_s, &end_s);
			if ((double)end_s > now_s - grace_s)
				break;  /* still open, or closed too recently */
		}
		for (i = 0; i < n; i++) {
			if (!run_config_has_check(cfg, all[i]->id))
				continue;
			if (evaluate_window(s, cfg, all[i], idx, final ? ended : 0, NULL))
				return -1;
		}
		*next_idx = idx + 1;
	}
	return 0;
}
