/*
 * check_grpc_stream.c - grpc.stream: long-lived bidi streams are what mesh
 * proxies break quietly (idle timeouts, drains, certificate rotation), so a
 * stream is held open for the whole run and every message must come back.
 *
 * Promise:   a long-lived bidirectional gRPC stream survives for hours.
 * Proof:     the grpc-client keeps one conform.v1.Echo/Bidi stream open and
 *            sends numbered messages at a steady rate. An echoed message is
 *            OUT_OK; a message never echoed is OUT_STREAM_LOST; each time the
 *            stream breaks (and is reopened) counts one OUT_STREAM_RESET.
 * Objective: per window, zero stream resets (else FAIL R_STREAM_BROKEN) and
 *            at most 1% of messages not echoed (else FAIL R_STREAM_LOSS).
 *            Reconnects and lost messages are counted in the evidence.
 */
#include "checks/check.h"

#include <inttypes.h>

#include "evidence/outcome.h"
#include "base/util.h"

static int grpc_stream_eval(const struct window_data *wd, struct window_result *out)
{
	uint64_t resets = 0, lost = 0, messages, failed_msgs;
	char pct[16], why[REASON_TEXT_MAX], extra[128];
	size_t i;

	for (i = 0; i < wd->nrows; i++) {
		if (wd->rows[i].outcome == OUT_STREAM_RESET)
			resets += wd->rows[i].h.count;
		else if (wd->rows[i].outcome == OUT_STREAM_LOST)
			lost += wd->rows[i].h.count;
	}
	/* a reset is an event of the stream, not a message */
	messages = out->total - resets;
	failed_msgs = messages - out->ok;
	str_fmt(extra, sizeof(extra),
		"\"messages\":%" PRIu64 ",\"reconnects\":%" PRIu64 ",\"lost\":%" PRIu64,
		messages, resets, lost);
	check_evidence_fill(wd, out, extra);

	if (!out->total) {
		out->verdict = V_NODATA;
		out->reason = R_NO_DATA;
		str_copy(out->reason_text, sizeof(out->reason_text),
			 "no stream messages in window");
		return 0;
	}
	check_describe_failures(wd->rows, wd->nrows, 1u << OUT_STREAM_RESET, why, sizeof(why));
	if (resets) {
		out->verdict = V_FAIL;
		out->reason = R_STREAM_BROKEN;
		str_fmt(out->reason_text, sizeof(out->reason_text),
			"%s x%" PRIu64 " (%" PRIu64 " reconnects), %" PRIu64 " of %" PRIu64
			" messages not echoed%s%s",
			outcome_info(OUT_STREAM_RESET)->human, resets, resets, failed_msgs,
			messages, why[0] ? ": " : "", why);
		return 0;
	}
	/* at most (1 - objective) of the messages may go unanswered */
	if ((double)failed_msgs > (1.0 - run_config_objective(wd->cfg, wd->check)) * (double)messages + 1e-9) {
		out->verdict = V_FAIL;
		out->reason = R_STREAM_LOSS;
		str_fmt(out->reason_text, sizeof(out->reason_text),
			"stream loss %s%% > %.1f%%: %" PRIu64 " of %" PRIu64 " messages not echoed: %s",
			check_fmt_pct(failed_msgs, messages, pct, sizeof(pct)),
			(1.0 - run_config_objective(wd->cfg, wd->check)) * 100.0, failed_msgs, messages,
			why[0] ? why : "no failure recorded");
		return 0;
	}
	out->verdict = V_PASS;
	out->reason = R_MET;
	str_fmt(out->reason_text, sizeof(out->reason_text),
		"stream held: %" PRIu64 " of %" PRIu64 " messages echoed, no resets",
		out->ok, messages);
	return 0;
}

const struct check_desc check_grpc_stream = {
	.id = "grpc.stream",
	.title = "a long-lived gRPC stream survives",
	.promise = "a long-lived bidirectional gRPC stream survives for hours",
	.proof = "a gRPC client keeps one Echo/Bidi stream open and sends numbered "
		 "messages; every message must be echoed, every break is counted",
	.objective = "no stream resets and <= 1% messages lost per window",
	.roles = ROLE_GRPC_SERVER | ROLE_GRPC_CLIENT,
	.needs_mesh = 0,
	.objective_ratio = 0.99,
	.eval = grpc_stream_eval,
};
