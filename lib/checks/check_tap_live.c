/*
 * check_tap_live.c - tap.live: when something breaks, operators watch the
 * mesh's tap; a tap that drops or garbles requests sends them the wrong way.
 *
 * Promise:   the tap shows every request a workload makes, promptly and
 *            correctly.
 * Proof:     the http-client's tap.live requests (client rows) against the
 *            tap lines conformd read from the client's outbound and the
 *            server's inbound sidecar (conformd.tap rows of tap.live/out and
 *            tap.live/in). Both are bucketed by the request's intended send
 *            second (it is in the request id), so a window compares the same
 *            requests on both sides and needs no boundary slack. The tap is
 *            judged on whether it shows what the requests met, not on
 *            whether they succeeded: a tap row is ok (OUT_OK: 200 and the
 *            mesh identity), protocol (garbled method, path or peer: always
 *            wrong), or http_other (another status, or on the inbound
 *            another client identity), right when client requests of the
 *            same second met that status and, inbound, that identity (a 503
 *            shown as 503 is a correct tap; so is no identity where the
 *            server saw none).
 * Objective: per direction, missing = answered client requests - tap lines,
 *            and missing / answered <= tap_max_loss (R_TAP_MISSING); no
 *            mismatching line (R_TAP_MISMATCH); tap delay p99 (histogram
 *            upper bucket bound, <= 12.5% high) <= tap_max_delay_ms
 *            (R_TAP_LATE). A window without answered client requests (ones
 *            that got an HTTP status) is NODATA.
 */
#include "checks/check.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/outcome.h"
#include "base/util.h"

struct tap_dir {
	const char *id;          /* "tap.live/out" */
	const char *name;        /* "outbound" */
	uint64_t lines, ok, mismatch, missing;
	struct hist delay;
};

/* Did the client get an HTTP answer (so the proxies saw the request)? */
static int client_answered(const struct agg_row *r)
{
	return outcome_info(r->outcome)->ok ||
	       ((r->outcome == OUT_HTTP_5XX || r->outcome == OUT_HTTP_4XX ||
		 r->outcome == OUT_HTTP_OTHER) && r->code > 0);
}

static int client_code(const struct agg_row *r)
{
	return outcome_info(r->outcome)->ok && r->code <= 0 ? 200 : r->code;
}

/*
 * Tap rows of direction id that showed another status (or identity) than a
 * healthy request gets, and that no client request of the same second met:
 * those lines are wrong. Client requests are used up as they are matched, so
 * 5 lines saying 503 need 5 requests answered 503. -1 out of memory.
 */
static int64_t unmatched_other(const struct window_data *wd, const char *id, int inbound)
{
	uint64_t *left;
	int64_t bad = 0;
	size_t i, j;

	left = calloc(wd->nrows ? wd->nrows : 1, sizeof(*left));
	if (!left)
		return -1;
	for (j = 0; j < wd->nrows; j++)
		if (!check_row_is_monitor(&wd->rows[j]) && !strcmp(wd->rows[j].check, "tap.live") &&
		    client_answered(&wd->rows[j]))
			left[j] = wd->rows[j].h.count;
	for (i = 0; i < wd->nrows; i++) {
		const struct agg_row *t = &wd->rows[i];
		uint64_t need;

		if (strcmp(t->workload, "conformd.tap") || strcmp(t->check, id) ||
		    t->outcome != OUT_HTTP_OTHER)
			continue;
		need = t->h.count;
		for (j = 0; j < wd->nrows && need; j++) {
			const struct agg_row *c = &wd->rows[j];
			uint64_t take;

			if (!left[j] || c->second != t->second || client_code(c) != t->code ||
			    (inbound && strcmp(c->identity, t->identity)))
				continue;
			take = left[j] < need ? left[j] : need;
			left[j] -= take;
			need -= take;
		}
		bad += (int64_t)need;
	}
	free(left);
	return bad;
}

static int tap_live_eval(const struct window_data *wd, struct window_result *out)
{
	const struct run_mesh *m = &wd->cfg->m;
	struct tap_dir dir[2];
	struct hist delay;
	uint64_t client_ok = 0, p99, max_missing = 0;
	struct dynbuf why = DYNBUF_INIT(REASON_TEXT_MAX * 2);
	char extra[512];
	size_t i, k;
	int nbad = 0;

	memset(dir, 0, sizeof(dir));
	dir[0].id = "tap.live/out";
	dir[0].name = "outbound";
	dir[1].id = "tap.live/in";
	dir[1].name = "inbound";
	hist_init(&dir[0].delay);
	hist_init(&dir[1].delay);
	hist_init(&delay);
	for (i = 0; i < wd->nrows; i++) {
		const struct agg_row *r = &wd->rows[i];

		if (!check_row_is_monitor(r)) {
			if (!strcmp(r->check, "tap.live") && client_answered(r))
				client_ok += r->h.count;
			continue;
		}
		if (strcmp(r->workload, "conformd.tap"))
			continue;
		for (k = 0; k < 2; k++) {
			if (strcmp(r->check, dir[k].id))
				continue;
			dir[k].lines += r->h.count;
			if (r->outcome == OUT_OK || r->outcome == OUT_HTTP_OTHER)
				dir[k].ok += r->h.count;
			else
				dir[k].mismatch += r->h.count;
			hist_merge(&dir[k].delay, &r->h);
			hist_merge(&delay, &r->h);
		}
	}
	for (k = 0; k < 2; k++) {
		int64_t other = unmatched_other(wd, dir[k].id, k == 1);

		if (other < 0)
			return -1;
		dir[k].mismatch += (uint64_t)other;
		dir[k].ok -= (uint64_t)other;
	}
	for (k = 0; k < 2; k++) {
		dir[k].missing = client_ok > dir[k].lines ? client_ok - dir[k].lines : 0;
		if (dir[k].missing > max_missing)
			max_missing = dir[k].missing;
	}
	p99 = hist_quantile(&delay, 0.99);
	str_fmt(extra, sizeof(extra),
		"\"client_ok\":%" PRIu64 ",\"out\":{\"lines\":%" PRIu64 ",\"missing\":%" PRIu64
		",\"mismatch\":%" PRIu64 ",\"delay_p99_ms\":%.3f},\"in\":{\"lines\":%" PRIu64
		",\"missing\":%" PRIu64 ",\"mismatch\":%" PRIu64 ",\"delay_p99_ms\":%.3f},"
		"\"delay_p99_ms\":%.3f,\"delay_max_ms\":%.3f", client_ok, dir[0].lines,
		dir[0].missing, dir[0].mismatch, hist_quantile(&dir[0].delay, 0.99) / 1000.0,
		dir[1].lines, dir[1].missing, dir[1].mismatch,
		hist_quantile(&dir[1].delay, 0.99) / 1000.0, p99 / 1000.0, delay.max_us / 1000.0);
	check_evidence_fill(wd, out, extra);

	if (!client_ok) {
		check_set(out, V_NODATA, R_NO_DATA, "no answered tap.live requests in window");
		goto out;
	}
	/* missing beyond the allowed share, per direction */
	for (k = 0; k < 2; k++) {
		if (!((double)dir[k].missing > m->tap_max_loss * (double)client_ok + 1e-9))
			continue;
		dynbuf_addf(&why, "%s%" PRIu64 " of %" PRIu64 " requests never appeared in the tap "
			    "feed (%s)", nbad++ ? ", " : "", dir[k].missing, client_ok, dir[k].name);
	}
	if (nbad) {
		check_set(out, V_FAIL, R_TAP_MISSING, "%s; allowed loss %.3g%%", why.buf,
			  m->tap_max_loss * 100.0);
		goto out;
	}
	for (k = 0; k < 2; k++) {
		if (!dir[k].mismatch)
			continue;
		dynbuf_addf(&why, "%s%" PRIu64 " of %" PRIu64 " %s tap lines disagree with the "
			    "request (status, method, path or identity)", nbad++ ? ", " : "",
			    dir[k].mismatch, dir[k].lines, dir[k].name);
	}
	if (nbad) {
		check_set(out, V_FAIL, R_TAP_MISMATCH, "%s", why.buf);
		goto out;
	}
	if (p99 > (uint64_t)m->tap_max_delay_ms * 1000) {
		check_set(out, V_FAIL, R_TAP_LATE,
			  "tap delay p99 %.1f ms > allowed %" PRId64 " ms (max %.1f ms, %" PRIu64
			  " lines)", p99 / 1000.0, m->tap_max_delay_ms, delay.max_us / 1000.0,
			  delay.count);
		goto out;
	}
	check_set(out, V_PASS, R_MET,
		  "%" PRIu64 " of %" PRIu64 " requests in both tap feeds (%" PRIu64 " outbound, %"
		  PRIu64 " inbound lines), delay p99 %.1f ms <= %" PRId64 " ms",
		  client_ok - max_missing, client_ok, dir[0].lines, dir[1].lines, p99 / 1000.0,
		  m->tap_max_delay_ms);
out:
	dynbuf_release(&why);
	/* a proxy on the tap's path restarting loses the lines of the requests
	 * it hands over: the restart, not the tap, is what the window shows.
	 * A backend failing is no excuse: the tap must show its failures. */
	if (out->verdict == V_FAIL) {
		char cause[REASON_TEXT_MAX], seen[REASON_TEXT_MAX];
		int restarted = check_path_restarted(wd, cause, sizeof(cause));

		if (restarted < 0)
			return -1;
		if (restarted) {
			str_copy(seen, sizeof(seen), out->reason_text);
			check_set(out, V_INCONCLUSIVE, R_PRECONDITION, "%.300s; not judged: %.180s",
				  cause, seen);
		}
	}
	return 0;
}

const struct check_desc check_tap_live = {
	.id = "tap.live",
	.title = "the tap shows every request",
	.promise = "the mesh tap shows every request a workload makes, promptly and correctly",
	.proof = "conformd reads the sidecars' tap lines and matches them to the client's "
		 "requests by request id, per send second, on the outbound and inbound side",
	.objective = "per window and direction: missing <= tap_max_loss, no mismatching line, "
		     "tap delay p99 <= tap_max_delay_ms",
	.roles = ROLE_HTTP_SERVER | ROLE_HTTP_CLIENT,
	.needs_mesh = 1,
	.objective_ratio = 0.0,
	.eval = tap_live_eval,
};
