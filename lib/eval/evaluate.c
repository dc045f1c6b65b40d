/*
 * evaluate.c - turns stored per-second evidence into window verdicts. Every
 * window result goes through evaluate_window, the one sink that persists it
 * with the check's debounced state (rise/fall), records incidents and logs
 * each debounced state change once (relayd's hce_notify_done).
 */
#include "eval/evaluate.h"
#include "mesh/mesh.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/outcome.h"
#include "base/util.h"

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

/* ---- monitor gaps ---- */

/* A "monitor.gap" event's "from=<unix s> to=<unix s>"; 0 or -1 (malformed). */
static int gap_parse(const char *detail, int64_t *from, int64_t *to)
{
	char a[32], b[32];
	const char *p = strstr(detail, "from="), *q = strstr(detail, "to=");
	size_t n;

	if (!p || !q)
		return -1;
	p += 5;
	q += 3;
	n = strcspn(p, " ");
	if (n == 0 || n >= sizeof(a))
		return -1;
	memcpy(a, p, n);
	a[n] = '\0';
	n = strcspn(q, " ");
	if (n == 0 || n >= sizeof(b))
		return -1;
	memcpy(b, q, n);
	b[n] = '\0';
	if (parse_i64(a, 0, INT64_MAX / 2, from) || parse_i64(b, 0, INT64_MAX / 2, to) ||
	    *to < *from)
		return -1;
	return 0;
}

/* 1 when [start_s, end_s) overlaps a recorded monitor gap (first one in
 * *from, *to), 0 when not, -1 on a store error. */
static int monitor_gap(struct store *s, int64_t start_s, int64_t end_s, int64_t *from,
		       int64_t *to)
{
	struct store_event *ev = NULL;
	size_t n = 0, i;
	int found = 0;

	if (store_get_events_kind(s, "monitor.gap", &ev, &n))
		return -1;
	for (i = 0; i < n && !found; i++) {
		int64_t f, t;

		if (gap_parse(ev[i].detail, &f, &t))
			continue;
		/* a gap shorter than a second still covers the second it is in */
		if (f < end_s && (t > start_s || (t == f && f >= start_s))) {
			*from = f;
			*to = t;
			found = 1;
		}
	}
	free(ev);
	return found;
}

static const char *hms(int64_t unix_s, char *buf, size_t len)
{
	char t[40];

	/* "2026-11-22T04:11:00Z" -> "04:11:00" */
	time_rfc3339((double)unix_s, t, sizeof(t));
	str_copy(buf, len, strlen(t) >= 19 ? t + 11 : t);
	if (strlen(buf) > 8)
		buf[8] = '\0';
	return buf;
}

/* ---- debounce ---- */

const char *evaluate_state_name(enum verdict state)
{
	switch (state) {
	case V_PASS: return "passing";
	case V_FAIL: return "failing";
	default: return "nodata";
	}
}

int evaluate_debounce(struct store_check_state *st, int fall, int rise, int64_t idx,
		      int64_t start_s, int64_t end_s, const struct window_result *r,
		      struct store_incident *inc, int *inc_out, enum verdict *from)
{
	*inc_out = 0;
	*from = st->state;
	if (idx <= st->last_idx)
		return 0;   /* applied before (a re-evaluation after a restart) */
	st->last_idx = idx;
	if (fall < 1)
		fall = 1;
	if (rise < 1)
		rise = 1;
	memset(inc, 0, sizeof(*inc));
	str_copy(inc->check, sizeof(inc->check), st->check);
	switch (r->verdict) {
	case V_FAIL:
		st->pass_streak = 0;
		if (st->fail_streak == 0) {
			st->streak_start_s = start_s;
			str_copy(st->streak_reason, sizeof(st->streak_reason), r->reason_text);
		}
		if (st->fail_streak < INT32_MAX)
			st->fail_streak++;
		if (st->state == V_FAIL) {
			/* the incident goes on */
			st->incident_end_s = end_s;
			st->incident_windows++;
		} else if (st->fail_streak >= fall) {
			st->state = V_FAIL;
			st->incident_start_s = st->streak_start_s;
			st->incident_end_s = end_s;
			st->incident_windows = st->fail_streak;
			str_copy(inc->reason, sizeof(inc->reason), st->streak_reason);
		} else {
			break;
		}
		inc->start_s = st->incident_start_s;
		inc->end_s = st->incident_end_s;
		inc->windows = st->incident_windows;
		inc->open = 1;
		*inc_out = 1;
		break;
	case V_PASS:
		st->fail_streak = 0;
		if (st->pass_streak < INT32_MAX)
			st->pass_streak++;
		if (st->state == V_PASS || st->pass_streak < rise)
			break;
		if (st->state == V_FAIL && st->incident_start_s) {
			inc->start_s = st->incident_start_s;
			inc->end_s = st->incident_end_s;
			inc->windows = st->incident_windows;
			inc->open = 0;
			*inc_out = 1;
		}
		st->state = V_PASS;
		st->incident_start_s = st->incident_end_s = st->incident_windows = 0;
		break;
	default:
		/* no data, monitor gap, inconclusive: says nothing about the promise */
		break;
	}
	return 1;
}

int evaluate_record(struct store *s, const struct run_config *cfg, const char *check,
		    int64_t idx, int64_t start_s, int64_t end_s, const struct window_result *r)
{
	struct store_check_state st;
	struct store_incident inc;
	enum verdict from;
	int has_inc = 0;

	if (store_get_check_state(s, check, &st) < 0)
		return -1;
	evaluate_debounce(&st, cfg->fall, cfg->rise, idx, start_s, end_s, r, &inc, &has_inc,
			  &from);
	if (store_put_window_state(s, check, idx, start_s, end_s, r, &st, has_inc ? &inc : NULL))
		return -1;
	if (from != st.state) {
		const char *why = st.state == V_FAIL ? st.streak_reason : r->reason_text;
		char msg[64 + REASON_TEXT_MAX], detail[512];

		str_fmt(msg, sizeof(msg), "check %s: %s -> %s (%s)", check,
			evaluate_state_name(from), evaluate_state_name(st.state), why);
		log_kv(st.state == V_FAIL ? LOG_WARN : LOG_INFO, msg,
		       "check=%s window=%" PRId64 " state=%s reason=%s", check, idx,
		       evaluate_state_name(st.state), reason_info(r->reason)->name);
		/* the first "nodata -> passing" of every check is no news */
		if (from != V_NODATA || st.state != V_PASS) {
			str_fmt(detail, sizeof(detail), "%s -> %s: %s", evaluate_state_name(from),
				evaluate_state_name(st.state), why);
			if (store_put_event(s, (double)end_s, "check.state", check, detail))
				log_kv(LOG_WARN, "evaluate: cannot record state event",
				       "check=%s", check);
		}
	}
	return 0;
}

static int run_without_mesh(const struct run_config *cfg)
{
	return mesh_is_none(cfg->mesh);
}

int evaluate_window(struct store *s, const struct run_config *cfg, const struct check_desc *c,
		    int64_t idx, double ended, struct window_result *out)
{
	struct window_result *r;
	struct window_data wd;
	struct agg_row *rows = NULL;
	size_t nrows = 0, i;
	int64_t start_s, end_s;
	int64_t gap_from = 0, gap_to = 0;
	int rc = -1, gap;

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
	wd.mesh = run_without_mesh(cfg) ? NULL : cfg->mesh;
	wd.store = s;

	gap = monitor_gap(s, start_s, end_s, &gap_from, &gap_to);
	if (gap < 0) {
		log_kv(LOG_ERROR, "evaluate: cannot read monitor gaps", "check=%s error=\"%s\"",
		       c->id, store_errmsg(s));
		goto out;
	}
	if (gap) {
		char a[16], b[16];

		r->verdict = V_NODATA;
		r->reason = R_MONITOR_GAP;
		str_fmt(r->reason_text, sizeof(r->reason_text), "monitor was down from %s to %s",
			hms(gap_from, a, sizeof(a)), hms(gap_to, b, sizeof(b)));
	} else if (c->needs_mesh && !wd.mesh) {
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

	if (evaluate_record(s, cfg, c->id, idx, start_s, end_s, r)) {
		log_kv(LOG_ERROR, "evaluate: cannot store window", "check=%s idx=%" PRId64
		       " error=\"%s\"", c->id, idx, store_errmsg(s));
		goto out;
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

#define PRUNE_CHUNK 5000

int64_t evaluate_prune(struct store *s, const struct run_config *cfg, int64_t next_idx,
		       double now_wall, int64_t max_rows)
{
	int64_t cutoff, start_s, end_s, total = 0;

	if (cfg->started <= 0 || next_idx <= 0)
		return 0;
	window_bounds(cfg, next_idx, 0, &start_s, &end_s);
	/* the rows of judged windows, packed: they are read again rarely */
	for (size_t i = 0; i < cfg->nchecks; i++) {
		int64_t k, packed = 0;

		do {
			k = store_pack_rows(s, cfg->checks[i], start_s, PRUNE_CHUNK);
			if (k < 0)
				return -1;
			packed += k;
		} while (k == PRUNE_CHUNK && packed < max_rows);
	}
	if (cfg->retention_s <= 0)
		return 0;
	cutoff = (int64_t)now_wall - cfg->retention_s;
	if (start_s < cutoff)
		cutoff = start_s;       /* never a row a pending window needs */
	if (cutoff <= (int64_t)cfg->started)
		return 0;
	for (size_t i = 0; i < cfg->nchecks; i++) {
		/* the windows before the cutoff: evidence kept whole until then */
		int64_t k, before = (cutoff - (int64_t)floor(cfg->started)) / window_s(cfg), seen = 0;

		do {
			k = store_prune_evidence(s, cfg->checks[i], before, PRUNE_CHUNK);
			if (k < 0)
				return -1;
			seen += k;
		} while (k == PRUNE_CHUNK && seen < max_rows);
	}
	for (size_t i = 0; i < cfg->nchecks && total < max_rows; i++) {
		int64_t k;

		do {
			int64_t chunk = max_rows - total < PRUNE_CHUNK ? max_rows - total
								       : PRUNE_CHUNK;

			k = store_prune_rows(s, cfg->checks[i], cutoff, chunk);
			if (k < 0)
				return -1;
			total += k;
			if (k < chunk)
				break;
		} while (total < max_rows);
	}
	if (store_prune_batches(s, now_wall - (double)cfg->retention_s) < 0 ||
	    store_prune_mesh_views(s, (double)cutoff) < 0 ||
	    store_prune_samples(s, cutoff * 1000, STORE_INCIDENT_SAMPLES) < 0)
		return -1;
	return total;
}
