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
 *            requests on both sides and needs no boundary slack. A tap row
 *            is ok when status, method, path and identities match the
 *            request, protocol otherwise; its histogram is the tap delay.
 * Objective: per direction, missing = client ok - tap lines, and missing /
 *            client ok <= tap_max_loss (R_TAP_MISSING); no mismatching line
 *            (R_TAP_MISMATCH); tap delay p99 (histogram upper bucket bound,
 *            <= 12.5% high) <= tap_max_delay_ms (R_TAP_LATE). A window
 *            without successful client requests is NODATA.
 */
#include "checks/check.h"

#include <inttypes.h>
#include <string.h>

#include "evidence/outcome.h"
#include "base/util.h"

struct tap_dir {
	const char *id;          /* "tap.live/out" */
	const char *name;        /* "outbound" */
	uint64_t lines, ok, mismatch, missing;
	struct hist delay;
};

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
			if (!strcmp(r->check, "tap.live") && outcome_info(r->outcome)->ok)
				client_ok += r->h.count;
			continue;
		}
		if (strcmp(r->workload, "conformd.tap"))
			continue;
		for (k = 0; k < 2; k++) {
			if (strcmp(r->check, dir[k].id))
				continue;
			dir[k].lines += r->h.count;
			if (r->outcome == OUT_OK)
				dir[k].ok += r->h.count;
			else
				dir[k].mismatch += r->h.count;
			hist_merge(&dir[k].delay, &r->h);
			hist_merge(&delay, &r->h);
		}
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
		check_set(out, V_NODATA, R_NO_DATA, "no successful tap.live requests in window");
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
