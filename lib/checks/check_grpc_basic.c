/*
 * check_grpc_basic.c - grpc.basic, the baseline for gRPC: unary calls must
 * get through before retries, splits or identities can be judged.
 *
 * Promise:   unary gRPC calls between workloads succeed.
 * Proof:     the grpc-client calls conform.v1.Echo/Unary on the grpc-server
 *            at a steady open-loop rate; each call ends OK or with a precise
 *            outcome (gRPC status code, deadline, refused connection ...).
 * Objective: success >= 99% (or the run's own objective for it: run.json
 *            "objectives") in every window; a window without calls is
 *            NODATA. Failures are named by outcome and gRPC status.
 */
#include "checks/check.h"

static int grpc_basic_eval(const struct window_data *wd, struct window_result *out)
{
	if (check_eval_success_ratio(wd, out, run_config_objective(wd->cfg, wd->check)))
		return -1;
	check_evidence_fill(wd, out, NULL);
	return 0;
}

const struct check_desc check_grpc_basic = {
	.id = "grpc.basic",
	.title = "gRPC unary calls succeed",
	.promise = "unary gRPC calls between workloads succeed",
	.proof = "a gRPC client calls Echo/Unary at a steady rate; calls are "
		 "classified by outcome and status code and counted per window",
	.objective = "success >= 99% per window",
	.roles = ROLE_GRPC_SERVER | ROLE_GRPC_CLIENT,
	.needs_mesh = 0,
	.objective_ratio = 0.99,
	.eval = grpc_basic_eval,
};
