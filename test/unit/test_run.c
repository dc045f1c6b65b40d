/*
 * test_run.c - run.json: defaults, a full round trip through JSON and a
 * file, and strict parsing that names the field on unknown names, wrong
 * types and out-of-range values; the same for "mesh_settings", whose
 * shift_at_ms defaults to a third of a finite run.
 */
#include "checks/check.h"
#include "harness.h"
#include "config/run.h"
#include "base/util.h"

TEST(defaults)
{
	struct run_config c;
	size_t n;

	run_config_defaults(&c);
	ASSERT_STR_EQ(c.platform, "local");
	ASSERT_STR_EQ(c.mesh, "none");
	ASSERT_EQ(c.window_ms, 10000);
	ASSERT_EQ(c.request_timeout_ms, 2000);
	ASSERT_NEAR(c.rate, 10.0, 1e-12);
	ASSERT_STR_EQ(c.identity_header, "l5d-client-id");
	catalog_all(&n);
	ASSERT_EQ(c.nchecks, n);
	ASSERT(run_config_has_check(&c, "http.basic"));
	ASSERT(run_config_has_check(&c, "grpc.stream"));
	ASSERT(!run_config_has_check(&c, "nope"));
}

TEST(json_round_trip)
{
	struct run_config a, b;
	char err[256] = "";
	char *text;

	run_config_defaults(&a);
	str_copy(a.id, sizeof(a.id), "20261122-041100-3fa2");
	str_copy(a.mesh, sizeof(a.mesh), "haproxy");
	str_copy(a.run_dir, sizeof(a.run_dir), "/tmp/state/runs/20261122-041100-3fa2");
	a.duration_ms = 3600000;
	a.window_ms = 5000;
	a.rate = 2.5;
	a.request_timeout_ms = 750;
	str_copy(a.identity_header, sizeof(a.identity_header), "x-client-id");
	a.nchecks = 2;
	str_copy(a.checks[0], sizeof(a.checks[0]), "grpc.stream");
	str_copy(a.checks[1], sizeof(a.checks[1]), "http.basic");
	a.started = 1763784660.125;
	a.collector_port = 41234;

	text = run_config_to_json(&a);
	ASSERT(text);
	ASSERT_EQ(run_config_from_json(text, &b, err, sizeof(err)), 0);
	free(text);
	ASSERT_STR_EQ(b.id, a.id);
	ASSERT_STR_EQ(b.mesh, "haproxy");
	ASSERT_STR_EQ(b.run_dir, a.run_dir);
	ASSERT_EQ(b.duration_ms, 3600000);
	ASSERT_EQ(b.window_ms, 5000);
	ASSERT_NEAR(b.rate, 2.5, 1e-12);
	ASSERT_EQ(b.request_timeout_ms, 750);
	ASSERT_STR_EQ(b.identity_header, "x-client-id");
	ASSERT_EQ(b.nchecks, 2);
	ASSERT_STR_EQ(b.checks[0], "grpc.stream");
	ASSERT_STR_EQ(b.checks[1], "http.basic");
	ASSERT(!run_config_has_check(&b, "grpc.basic"));
	ASSERT_NEAR(b.started, 1763784660.125, 1e-6);
	ASSERT_EQ(b.collector_port, 41234);
}

TEST(file_round_trip)
{
	char dir[] = "/tmp/conform-test-run-XXXXXX", path[256], err[256] = "";
	struct run_config a, b;

	ASSERT(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/run.json", dir);
	run_config_defaults(&a);
	str_copy(a.id, sizeof(a.id), "abc");
	ASSERT_EQ(run_config_save(&a, path), 0);
	ASSERT_EQ(run_config_load(path, &b, err, sizeof(err)), 0);
	ASSERT_STR_EQ(b.id, "abc");
	ASSERT_EQ(b.nchecks, a.nchecks);
	remove(path);
	ASSERT_EQ(run_config_load(path, &b, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "run.json");
	remove(dir);
}

TEST(partial_json_keeps_defaults)
{
	struct run_config c;
	char err[256] = "";

	ASSERT_EQ(run_config_from_json("{\"id\":\"x\",\"mesh\":\"haproxy\"}", &c, err,
				       sizeof(err)), 0);
	ASSERT_STR_EQ(c.id, "x");
	ASSERT_STR_EQ(c.mesh, "haproxy");
	ASSERT_EQ(c.window_ms, 10000);
	ASSERT(run_config_has_check(&c, "grpc.basic"));
}

TEST(errors_name_the_field)
{
	static const struct { const char *json, *err; } cases[] = {
		{ "{\"windw_ms\":1000}", "\"windw_ms\": unknown field" },
		{ "{\"window_ms\":\"10s\"}", "window_ms: expected milliseconds, whole seconds, 1s..1d" },
		{ "{\"window_ms\":0}", "window_ms: expected milliseconds, whole seconds" },
		{ "{\"window_ms\":1.5}", "window_ms: expected milliseconds" },
		{ "{\"window_ms\":1500}", "window_ms: expected milliseconds, whole seconds" },
		{ "{\"duration_ms\":-1}", "duration_ms: expected milliseconds, 0 or 1s..366d" },
		{ "{\"rate\":0}", "rate: expected 0.001..100000 requests per second" },
		{ "{\"rate\":true}", "rate: expected 0.001..100000" },
		{ "{\"mesh\":5}", "mesh: expected a string" },
		{ "{\"mesh\":\"a-very-long-mesh-name\"}", "mesh: longer than 15 bytes" },
		{ "{\"collector_port\":70000}", "collector_port: expected a port number" },
		{ "{\"checks\":\"http.basic\"}", "checks: expected an array" },
		{ "{\"checks\":[\"http.basic\",7]}", "checks[1]: expected a string" },
		{ "{\"checks\":[\"http.basic\",\"nope\"]}", "checks[1]: unknown check \"nope\"" },
		{ "{\"checks\":[\"http.basic\",\"http.basic\"]}", "checks[1]: duplicate check" },
		{ "{\"checks\":[]}", "checks: expected at least one" },
		{ "[1,2]", "expected a JSON object" },
		{ "{\"id\":", "invalid JSON" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct run_config c;
		char err[256] = "";

		run_config_defaults(&c);
		str_copy(c.id, sizeof(c.id), "untouched");
		if (run_config_from_json(cases[i].json, &c, err, sizeof(err)) != -1)
			H_FAIL("%s: accepted", cases[i].json);
		if (!strstr(err, cases[i].err))
			H_FAIL("%s: error \"%s\" lacks \"%s\"", cases[i].json, err, cases[i].err);
		ASSERT_STR_EQ(c.id, "untouched");   /* nothing applied on error */
	}
}

TEST(mesh_defaults)
{
	struct run_config c;
	char err[256] = "";

	run_config_defaults(&c);
	ASSERT_STR_EQ(c.m.trust_domain, "cluster.local");
	ASSERT_STR_EQ(c.m.ns, "conform");
	ASSERT_EQ(c.m.cert_validity_s, 86400);
	ASSERT_EQ(c.m.expiry_threshold_s, 3600);
	ASSERT_EQ(c.m.retry_attempts, 4);
	ASSERT_NEAR(c.m.retry_fail_share, 0.5, 1e-12);
	ASSERT_EQ(c.m.split_v1, 90);
	ASSERT_EQ(c.m.split_v2, 10);
	ASSERT_EQ(c.m.shift_v1, 50);
	ASSERT_EQ(c.m.shift_v2, 50);
	ASSERT_EQ(c.m.shift_converge_ms, 10000);
	ASSERT_EQ(c.m.route_timeout_ms, 500);
	ASSERT_EQ(c.m.slow_ms, 2000);
	ASSERT_EQ(c.m.timeout_slack_ms, 300);
	ASSERT_EQ(c.m.tap_max_delay_ms, 2000);
	ASSERT_NEAR(c.m.tap_max_loss, 0.001, 1e-12);
	/* shift_at_ms: a third of a finite run, resolved when read */
	ASSERT_EQ(run_config_from_json("{\"duration_ms\":90000}", &c, err, sizeof(err)), 0);
	ASSERT_EQ(c.m.shift_at_ms, 30000);
	ASSERT_EQ(run_config_from_json("{}", &c, err, sizeof(err)), 0);
	ASSERT_EQ(c.m.shift_at_ms, 0);   /* until stopped: no shift */
	ASSERT_EQ(run_config_from_json("{\"duration_ms\":90000,\"mesh_settings\":"
				       "{\"shift_at_ms\":0}}", &c, err, sizeof(err)), 0);
	ASSERT_EQ(c.m.shift_at_ms, 0);   /* explicitly never */
}

TEST(mesh_settings_round_trip)
{
	struct run_config a, b;
	char err[256] = "";
	char *text;

	/* as the CLI does: defaults, then the duration, then save */
	run_config_defaults(&a);
	a.duration_ms = 600000;
	text = run_config_to_json(&a);
	ASSERT(text);
	ASSERT_CONTAINS(text, "\"mesh_settings\"");
	ASSERT_EQ(run_config_from_json(text, &b, err, sizeof(err)), 0);
	free(text);
	ASSERT_EQ(b.m.shift_at_ms, 200000);

	str_copy(a.m.trust_domain, sizeof(a.m.trust_domain), "mesh.example");
	str_copy(a.m.ns, sizeof(a.m.ns), "ns-1");
	a.m.cert_validity_s = 7200;
	a.m.expiry_threshold_s = 600;
	a.m.retry_attempts = 3;
	a.m.retry_fail_share = 0.25;
	a.m.split_v1 = 0;
	a.m.split_v2 = 256;
	a.m.shift_at_ms = 12345;
	a.m.shift_v1 = 1;
	a.m.shift_v2 = 3;
	a.m.shift_converge_ms = 4000;
	a.m.route_timeout_ms = 250;
	a.m.slow_ms = 900;
	a.m.timeout_slack_ms = 0;
	a.m.tap_max_delay_ms = 1500;
	a.m.tap_max_loss = 0.01;
	str_copy(a.m.inbound_policy, sizeof(a.m.inbound_policy), "deny");
	text = run_config_to_json(&a);
	ASSERT(text);
	ASSERT_EQ(run_config_from_json(text, &b, err, sizeof(err)), 0);
	free(text);
	ASSERT_STR_EQ(b.m.trust_domain, "mesh.example");
	ASSERT_STR_EQ(b.m.ns, "ns-1");
	ASSERT_STR_EQ(b.m.inbound_policy, "deny");
	ASSERT_EQ(b.m.cert_validity_s, 7200);
	ASSERT_EQ(b.m.expiry_threshold_s, 600);
	ASSERT_EQ(b.m.retry_attempts, 3);
	ASSERT_NEAR(b.m.retry_fail_share, 0.25, 1e-12);
	ASSERT_EQ(b.m.split_v1, 0);
	ASSERT_EQ(b.m.split_v2, 256);
	ASSERT_EQ(b.m.shift_at_ms, 12345);
	ASSERT_EQ(b.m.shift_v1, 1);
	ASSERT_EQ(b.m.shift_v2, 3);
	ASSERT_EQ(b.m.shift_converge_ms, 4000);
	ASSERT_EQ(b.m.route_timeout_ms, 250);
	ASSERT_EQ(b.m.slow_ms, 900);
	ASSERT_EQ(b.m.timeout_slack_ms, 0);
	ASSERT_EQ(b.m.tap_max_delay_ms, 1500);
	ASSERT_NEAR(b.m.tap_max_loss, 0.01, 1e-12);
	/* a partial object keeps the other defaults */
	ASSERT_EQ(run_config_from_json("{\"mesh_settings\":{\"retry_attempts\":2}}", &b, err,
				       sizeof(err)), 0);
	ASSERT_EQ(b.m.retry_attempts, 2);
	ASSERT_EQ(b.m.split_v1, 90);
}

TEST(mesh_settings_errors_name_the_field)
{
	static const struct { const char *json, *err; } cases[] = {
		{ "{\"mesh_settings\":[]}", "mesh_settings: expected an object" },
		{ "{\"mesh_settings\":{\"splt_v1\":1}}", "mesh_settings.\"splt_v1\": unknown field" },
		{ "{\"mesh_settings\":{\"split_v1\":300}}",
		  "mesh_settings.split_v1: expected an integer 0..256" },
		{ "{\"mesh_settings\":{\"split_v1\":\"90\"}}",
		  "mesh_settings.split_v1: expected an integer 0..256" },
		{ "{\"mesh_settings\":{\"split_v2\":-1}}",
		  "mesh_settings.split_v2: expected an integer 0..256" },
		{ "{\"mesh_settings\":{\"split_v1\":0,\"split_v2\":0}}",
		  "mesh_settings.split_v1: split_v1 and split_v2 are both 0" },
		{ "{\"mesh_settings\":{\"shift_v1\":0,\"shift_v2\":0}}",
		  "mesh_settings.shift_v1: shift_v1 and shift_v2 are both 0" },
		{ "{\"mesh_settings\":{\"retry_attempts\":0}}",
		  "mesh_settings.retry_attempts: expected an integer 1..10" },
		{ "{\"mesh_settings\":{\"retry_attempts\":11}}",
		  "mesh_settings.retry_attempts: expected an integer 1..10" },
		{ "{\"mesh_settings\":{\"retry_attempts\":2.5}}",
		  "mesh_settings.retry_attempts: expected an integer 1..10" },
		{ "{\"mesh_settings\":{\"retry_fail_share\":1.5}}",
		  "mesh_settings.retry_fail_share: expected a share 0..1" },
		{ "{\"mesh_settings\":{\"tap_max_loss\":-0.1}}",
		  "mesh_settings.tap_max_loss: expected a share 0..1" },
		{ "{\"mesh_settings\":{\"trust_domain\":\"a b\"}}",
		  "mesh_settings.trust_domain: expected a DNS-like name" },
		{ "{\"mesh_settings\":{\"ns\":\"\"}}", "mesh_settings.ns: expected a DNS-like name" },
		{ "{\"mesh_settings\":{\"ns\":7}}", "mesh_settings.ns: expected a string" },
		{ "{\"mesh_settings\":{\"inbound_policy\":\"open\"}}",
		  "mesh_settings.inbound_policy: expected auto, cluster or a Linkerd default "
		  "inbound policy, got \"open\"" },
		{ "{\"mesh_settings\":{\"shift_at_ms\":-5}}",
		  "mesh_settings.shift_at_ms: expected a non-negative integer" },
		{ "{\"mesh_settings\":{\"route_timeout_ms\":0}}",
		  "mesh_settings.route_timeout_ms: expected a positive integer" },
		{ "{\"mesh_settings\":{\"expiry_threshold_s\":86400}}",
		  "mesh_settings.expiry_threshold_s: must be below cert_validity_s" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct run_config c;
		char err[256] = "";

		run_config_defaults(&c);
		str_copy(c.id, sizeof(c.id), "untouched");
		if (run_config_from_json(cases[i].json, &c, err, sizeof(err)) != -1)
			H_FAIL("%s: accepted", cases[i].json);
		if (!strstr(err, cases[i].err))
			H_FAIL("%s: error \"%s\" lacks \"%s\"", cases[i].json, err, cases[i].err);
		ASSERT_STR_EQ(c.id, "untouched");
	}
}

TEST(verdicts_defaults_and_round_trip)
{
	struct run_config a, b;
	char err[256] = "";
	char *text;

	run_config_defaults(&a);
	ASSERT_EQ(a.fall, 2);
	ASSERT_EQ(a.rise, 2);
	ASSERT_NEAR(a.window_objective, 1.0, 1e-12);
	ASSERT_EQ(a.incident_tolerance_ms, 0);
	ASSERT_EQ(a.retention_s, 86400);
	ASSERT_NEAR(run_config_objective(&a, &check_http_basic), 0.99, 1e-12);

	a.fall = 3;
	a.rise = 5;
	a.window_objective = 0.999;
	a.incident_tolerance_ms = 30000;
	a.retention_s = 7 * 86400;
	a.nchecks = 3;
	str_copy(a.checks[0], sizeof(a.checks[0]), "grpc.basic");
	str_copy(a.checks[1], sizeof(a.checks[1]), "http.basic");
	str_copy(a.checks[2], sizeof(a.checks[2]), "retry.http");
	a.objectives[1] = 0.995;
	text = run_config_to_json(&a);
	ASSERT(text);
	ASSERT_CONTAINS(text, "\"verdicts\"");
	ASSERT_CONTAINS(text, "\"incident_tolerance_ms\"");
	ASSERT_CONTAINS(text, "\"retention_s\"");
	ASSERT_EQ(run_config_from_json(text, &b, err, sizeof(err)), 0);
	free(text);
	ASSERT_EQ(b.fall, 3);
	ASSERT_EQ(b.rise, 5);
	ASSERT_NEAR(b.window_objective, 0.999, 1e-12);
	ASSERT_EQ(b.incident_tolerance_ms, 30000);
	ASSERT_EQ(b.retention_s, 7 * 86400);
	ASSERT_NEAR(b.objectives[0], 0, 1e-12);
	ASSERT_NEAR(b.objectives[1], 0.995, 1e-12);
	ASSERT_NEAR(b.objectives[2], 0, 1e-12);
	/* the override, or the check's own default */
	ASSERT_NEAR(run_config_objective(&b, &check_http_basic), 0.995, 1e-12);
	ASSERT_NEAR(run_config_objective(&b, &check_grpc_basic), 0.99, 1e-12);
	ASSERT_NEAR(run_config_objective(NULL, &check_http_basic), 0.99, 1e-12);
}

TEST(objectives_follow_their_check_id)
{
	struct run_config c;
	char err[256] = "";

	/* "objectives" before "checks": resolved once both are read */
	ASSERT_EQ(run_config_from_json("{\"objectives\":{\"grpc.basic\":0.9},"
				       "\"checks\":[\"http.basic\",\"grpc.basic\"]}", &c, err,
				       sizeof(err)), 0);
	ASSERT_NEAR(c.objectives[0], 0, 1e-12);
	ASSERT_NEAR(c.objectives[1], 0.9, 1e-12);
	ASSERT_NEAR(run_config_objective(&c, &check_grpc_basic), 0.9, 1e-12);
	/* an empty object is no override */
	ASSERT_EQ(run_config_from_json("{\"objectives\":{}}", &c, err, sizeof(err)), 0);
	ASSERT_NEAR(run_config_objective(&c, &check_grpc_basic), 0.99, 1e-12);
}

TEST(verdicts_errors_name_the_field)
{
	static const struct { const char *json, *err; } cases[] = {
		{ "{\"verdicts\":3}", "verdicts: expected an object" },
		{ "{\"verdicts\":{\"fal\":2}}", "verdicts.\"fal\": unknown field" },
		{ "{\"verdicts\":{\"fall\":0}}", "verdicts.fall: expected an integer 1..1000" },
		{ "{\"verdicts\":{\"rise\":1.5}}", "verdicts.rise: expected an integer 1..1000" },
		{ "{\"verdicts\":{\"window_objective\":0}}",
		  "verdicts.window_objective: expected a share above 0" },
		{ "{\"verdicts\":{\"window_objective\":1.01}}",
		  "verdicts.window_objective: expected a share above 0" },
		{ "{\"verdicts\":{\"incident_tolerance_ms\":-5}}",
		  "verdicts.incident_tolerance_ms: expected an integer" },
		{ "{\"retention_s\":9}", "retention_s: expected an integer 10.." },
		{ "{\"retention_s\":\"1d\"}", "retention_s: expected an integer 10.." },
		{ "{\"objectives\":[0.9]}", "objectives: expected an object" },
		{ "{\"objectives\":{\"nope\":0.9}}", "objectives.\"nope\": unknown check" },
		{ "{\"objectives\":{\"http.basic\":0}}", "objectives.http.basic: expected a ratio" },
		{ "{\"objectives\":{\"http.basic\":1.5}}", "objectives.http.basic: expected a ratio" },
		{ "{\"objectives\":{\"http.basic\":\"high\"}}",
		  "objectives.http.basic: expected a ratio" },
		{ "{\"checks\":[\"grpc.basic\"],\"objectives\":{\"http.basic\":0.9}}",
		  "objectives.http.basic: the check is not selected" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct run_config c;
		char err[256] = "";

		run_config_defaults(&c);
		c.fall = 7;
		if (run_config_from_json(cases[i].json, &c, err, sizeof(err)) != -1)
			H_FAIL("%s: accepted", cases[i].json);
		if (!strstr(err, cases[i].err))
			H_FAIL("%s: error \"%s\" lacks \"%s\"", cases[i].json, err, cases[i].err);
		ASSERT_EQ(c.fall, 7);
	}
}

int main(void)
{
	RUN(defaults);
	RUN(json_round_trip);
	RUN(file_round_trip);
	RUN(partial_json_keeps_defaults);
	RUN(errors_name_the_field);
	RUN(mesh_defaults);
	RUN(mesh_settings_round_trip);
	RUN(mesh_settings_errors_name_the_field);
	RUN(verdicts_defaults_and_round_trip);
	RUN(objectives_follow_their_check_id);
	RUN(verdicts_errors_name_the_field);
	TEST_MAIN_END();
}
