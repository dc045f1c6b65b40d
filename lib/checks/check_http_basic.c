/*
 * check_http_basic.c - http.basic, the baseline every other HTTP check
 * stands on: if plain requests do not get through, nothing else can hold.
 *
 * Promise:   HTTP requests between workloads succeed.
 * Proof:     the http-client sends GET /echo to the http-server at a steady
 *            open-loop rate; every answer is classified (lib/evidence/outcome.h) and
 *            aggregated per second. A window's success ratio is ok / total.
 * Objective: success >= 99% (or the run's own objective for it: run.json
 *            "objectives") in every window; a window without requests is
 *            NODATA. Failures are named by outcome and status code.
 */
#include "checks/check.h"

static int http_basic_eval(const struct window_data *wd, struct window_result *out)
{
	if (check_eval_success_ratio(wd, out, run_config_objective(wd->cfg, wd->check)))
		return -1;
	check_evidence_fill(wd, out, NULL);
	return 0;
}

const struct check_desc check_http_basic = {
	.id = "http.basic",
	.title = "HTTP requests succeed",
	.promise = "HTTP requests between workloads succeed",
	.proof = "an HTTP client sends GET /echo at a steady rate; answers are "
		 "classified by outcome and counted per window",
	.objective = "success >= 99% per window",
	.roles = ROLE_HTTP_SERVER | ROLE_HTTP_CLIENT,
	.needs_mesh = 0,
	.objective_ratio = 0.99,
	.eval = http_basic_eval,
};
