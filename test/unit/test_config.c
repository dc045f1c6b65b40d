/*
 * test_config.c - the user's config file (lib/config/config.c): good files land in
 * the right run_config fields, every kind of error names the file, the
 * field path and what was expected (with "did you mean"), durations in
 * every spelling, precedence defaults < file < flags, and the shipped
 * docs/conform.example.json sets every field.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checks/check.h"
#include "config/cliflags.h"
#include "config/config.h"
#include "harness.h"
#include "config/run.h"
#include "base/util.h"

#define EXAMPLE "docs/conform.example.json"

/* Parse json as file "conform.json" over config_defaults(). */
static int parse(const char *json, struct run_config *c, char *err, size_t errlen)
{
	config_defaults(c);
	return config_from_json("conform.json", json, strlen(json), c, err, errlen);
}

TEST(empty_object_is_every_default)
{
	struct run_config c, d;
	char err[512] = "";

	ASSERT_EQ(parse("{}", &c, err, sizeof(err)), 0);
	config_defaults(&d);
	ASSERT(!memcmp(&c, &d, sizeof(c)));
	ASSERT_STR_EQ(c.mesh, "haproxy");   /* the local platform's mesh, as `start` */
	ASSERT_EQ(c.m.shift_at_ms, -1);     /* a third of the run, resolved in run.json */
}

TEST(good_files_set_their_fields)
{
	struct run_config c;
	char err[512] = "";

	ASSERT_EQ(parse("{\"duration\":\"30m\",\"window\":\"10s\",\"rate\":20,\"mesh\":\"none\","
			"\"checks\":{\"http.basic\":{\"objective\":0.995},\"retry.http\":{}},"
			"\"verdicts\":{\"fall\":2,\"rise\":3,\"window_objective\":1.0,"
			"\"incident_tolerance\":\"0s\"},\"retention\":\"1d\","
			"\"mesh_settings\":{\"split\":{\"v1\":90,\"v2\":10},"
			"\"shift\":{\"at\":\"10m\",\"v1\":50,\"v2\":50,\"converge_within\":\"10s\"},"
			"\"retry\":{\"attempts\":4,\"fail_share\":0.5},"
			"\"timeout\":{\"route\":\"500ms\",\"slow\":\"2s\",\"slack\":\"300ms\"},"
			"\"tap\":{\"max_delay\":\"2s\",\"max_loss\":0.001},"
			"\"identity\":{\"trust_domain\":\"cluster.local\",\"namespace\":\"conform\","
			"\"cert_validity\":\"24h\",\"expiry_threshold\":\"1h\"}}}",
			&c, err, sizeof(err)), 0);
	ASSERT_STR_EQ(err, "");
	ASSERT_EQ(c.duration_ms, 30 * 60000);
	ASSERT_EQ(c.window_ms, 10000);
	ASSERT_NEAR(c.rate, 20, 1e-12);
	ASSERT_STR_EQ(c.mesh, "none");
	ASSERT_UEQ(c.nchecks, 2);
	ASSERT_STR_EQ(c.checks[0], "http.basic");
	ASSERT_STR_EQ(c.checks[1], "retry.http");
	ASSERT_NEAR(c.objectives[0], 0.995, 1e-12);
	ASSERT_NEAR(c.objectives[1], 0, 1e-12);
	ASSERT_NEAR(run_config_objective(&c, &check_http_basic), 0.995, 1e-12);
	ASSERT_EQ(c.fall, 2);
	ASSERT_EQ(c.rise, 3);
	ASSERT_EQ(c.retention_s, 86400);
	ASSERT_EQ(c.m.shift_at_ms, 600000);
	ASSERT_EQ(c.m.route_timeout_ms, 500);
	ASSERT_EQ(c.m.cert_validity_s, 86400);
	ASSERT_EQ(c.m.expiry_threshold_s, 3600);

	/* checks as a plain array of ids */
	ASSERT_EQ(parse("{\"checks\":[\"grpc.basic\",\"tap.live\"]}", &c, err, sizeof(err)), 0);
	ASSERT_UEQ(c.nchecks, 2);
	ASSERT_STR_EQ(c.checks[1], "tap.live");
	/* "never" shifts never; a number is seconds */
	ASSERT_EQ(parse("{\"mesh_settings\":{\"shift\":{\"at\":\"never\"}}}", &c, err,
			sizeof(err)), 0);
	ASSERT_EQ(c.m.shift_at_ms, 0);
	ASSERT_EQ(parse("{\"window\":5,\"metrics_addr\":\"\"}", &c, err, sizeof(err)), 0);
	ASSERT_EQ(c.window_ms, 5000);
}

TEST(durations_in_every_spelling)
{
	static const struct { const char *json; int64_t ms; } cases[] = {
		{ "\"10s\"", 10000 },
		{ "\"500ms\"", 500 },
		{ "\"2h\"", 7200000 },
		{ "\"1d\"", 86400000 },
		{ "\"1h30m\"", 5400000 },
		{ "\"1s500ms\"", 1500 },
		{ "\"90\"", 90000 },         /* a bare number in a string: seconds */
		{ "90", 90000 },             /* a JSON number: seconds */
		{ "1.5", 1500 },
		{ "0.25", 250 },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct run_config c;
		char json[128], err[512] = "";

		/* incident_tolerance takes 0..366d, any of these */
		snprintf(json, sizeof(json), "{\"verdicts\":{\"incident_tolerance\":%s}}",
			 cases[i].json);
		if (parse(json, &c, err, sizeof(err)))
			H_FAIL("%s: %s", json, err);
		if (c.incident_tolerance_ms != cases[i].ms)
			H_FAIL("%s: %lld ms, want %lld", json, (long long)c.incident_tolerance_ms,
			       (long long)cases[i].ms);
	}
}

TEST(errors_name_file_path_and_expectation)
{
	static const struct { const char *json, *err; } cases[] = {
		/* the brief's own examples, verbatim */
		{ "{\"mesh_settings\":{\"split\":{\"v1\":\"ninety\"}}}",
		  "conform.json: mesh_settings.split.v1: expected an integer 0..256, got \"ninety\"" },
		{ "{\"verdicts\":{\"fal\":2}}",
		  "conform.json: verdicts.fal: unknown field (did you mean \"fall\"?)" },
		/* types and ranges */
		{ "{\"rate\":\"fast\"}", "conform.json: rate: expected requests per second" },
		{ "{\"rate\":0}", "conform.json: rate: expected requests per second per check, "
		  "0.001..100000, got 0" },
		{ "{\"duration\":\"ten minutes\"}",
		  "conform.json: duration: expected a duration like \"30m\"" },
		{ "{\"duration\":\"500ms\"}", "conform.json: duration: expected a duration" },
		{ "{\"duration\":-5}", "conform.json: duration: expected a duration" },
		{ "{\"duration\":\"400d\"}", "conform.json: duration: expected a duration" },
		{ "{\"window\":\"1500ms\"}",
		  "conform.json: window: expected a duration in whole seconds, 1s..1d" },
		{ "{\"window\":true}", "conform.json: window: expected a duration in whole "
		  "seconds, 1s..1d, like \"10s\", got true" },
		{ "{\"window\":null}", "conform.json: window: expected a duration in whole "
		  "seconds, 1s..1d, like \"10s\", got null" },
		{ "{\"window\":[10]}", "conform.json: window: expected a duration in whole "
		  "seconds, 1s..1d, like \"10s\", got an array" },
		{ "{\"window\":{}}", "conform.json: window: expected a duration in whole "
		  "seconds, 1s..1d, like \"10s\", got an object" },
		{ "{\"request_timeout\":0.0001}", "conform.json: request_timeout: expected" },
		{ "{\"platform\":\"mars\"}", "conform.json: platform: expected \"local\" or "
		  "\"kubernetes\", got \"mars\"" },
		{ "{\"mesh\":\"haprxy\"}", "conform.json: mesh: expected \"haproxy\", \"linkerd\" or "
		  "\"none\", got \"haprxy\" (did you mean \"haproxy\"?)" },
		{ "{\"mesh\":\"istio\"}", "conform.json: mesh: expected \"haproxy\", \"linkerd\" or "
		  "\"none\", got \"istio\"" },
		{ "{\"identity_header\":\"x client\"}", "conform.json: identity_header: expected an "
		  "HTTP header name" },
		{ "{\"metrics_addr\":\"10.0.0.1:80\"}", "conform.json: metrics_addr: expected a "
		  "loopback ADDRESS:PORT" },
		{ "{\"retention\":\"5s\"}", "conform.json: retention: expected a duration in whole "
		  "seconds, 10s..366d" },
		{ "{\"verdicts\":{\"fall\":0}}", "conform.json: verdicts.fall: expected an integer "
		  "1..1000" },
		{ "{\"verdicts\":{\"window_objective\":1.5}}",
		  "conform.json: verdicts.window_objective: expected a share of windows" },
		{ "{\"verdicts\":{\"incident_tolerance\":\"soon\"}}",
		  "conform.json: verdicts.incident_tolerance: expected a duration" },
		{ "{\"verdicts\":[]}", "conform.json: verdicts: expected an object { ... }, got an "
		  "array" },
		{ "{\"mesh_settings\":{\"retry\":{\"attempts\":11}}}",
		  "conform.json: mesh_settings.retry.attempts: expected an integer 1..10 (1 + retries), "
		  "got 11" },
		{ "{\"mesh_settings\":{\"retry\":{\"fail_share\":2}}}",
		  "conform.json: mesh_settings.retry.fail_share: expected a share 0..1, like 0.5, got 2" },
		{ "{\"mesh_settings\":{\"shift\":{\"at\":\"later\"}}}",
		  "conform.json: mesh_settings.shift.at: expected a duration from the start of "
		  "traffic like \"10m\", or \"never\", got \"later\"" },
		{ "{\"mesh_settings\":{\"tap\":{\"max_loss\":-1}}}",
		  "conform.json: mesh_settings.tap.max_loss: expected a share 0..1" },
		{ "{\"mesh_settings\":{\"identity\":{\"trust_domain\":\"a b\"}}}",
		  "conform.json: mesh_settings.identity.trust_domain: expected a DNS-like name" },
		{ "{\"mesh_settings\":{\"linkerd\":{\"inbound_policy\":\"all-authenticate\"}}}",
		  "conform.json: mesh_settings.linkerd.inbound_policy: expected auto, cluster, or a "
		  "Linkerd default inbound policy (all-unauthenticated, all-authenticated, "
		  "cluster-authenticated, cluster-unauthenticated, deny, audit), got "
		  "\"all-authenticate\" (did you mean \"all-authenticated\"?)" },
		{ "{\"mesh_settings\":{\"linkerd\":{\"inbound_policy\":true}}}",
		  "conform.json: mesh_settings.linkerd.inbound_policy: expected auto, cluster" },
		{ "{\"mesh_settings\":{\"identity\":{\"cert_validity\":\"30s\"}}}",
		  "conform.json: mesh_settings.identity.cert_validity: expected a duration in whole "
		  "seconds, 1m..3650d" },
		/* checks */
		{ "{\"checks\":\"http.basic\"}", "conform.json: checks: expected an object "
		  "{\"check id\": {...}} or an array of check ids, got \"http.basic\"" },
		{ "{\"checks\":{\"http.basc\":{}}}", "conform.json: checks[\"http.basc\"]: unknown "
		  "check (did you mean \"http.basic\"?)" },
		{ "{\"checks\":{\"nothing.like.it\":{}}}", "conform.json: checks[\"nothing.like.it\"]: "
		  "unknown check (`conform checks` lists them)" },
		{ "{\"checks\":[\"grpc.basic\",\"grcp.basic\"]}", "conform.json: checks[1]: unknown "
		  "check (did you mean \"grpc.basic\"?)" },
		{ "{\"checks\":[\"tap.live\",\"tap.live\"]}", "conform.json: checks[1]: check "
		  "selected twice" },
		{ "{\"checks\":[]}", "conform.json: checks: no check selected" },
		{ "{\"checks\":{\"http.basic\":0.99}}", "conform.json: checks[\"http.basic\"]: "
		  "expected an object of the check's settings, {} for none, got 0.99" },
		{ "{\"checks\":{\"http.basic\":{\"objective\":1.2}}}",
		  "conform.json: checks[\"http.basic\"].objective: expected a success ratio above 0, "
		  "at most 1, like 0.995, got 1.2" },
		{ "{\"checks\":{\"http.basic\":{\"objectve\":0.9}}}",
		  "conform.json: checks[\"http.basic\"].objectve: unknown field (did you mean "
		  "\"objective\"?)" },
		{ "{\"checks\":{\"retry.http\":{\"objective\":0.9}}}",
		  "conform.json: checks[\"retry.http\"].objective: retry.http has no adjustable "
		  "objective; checks that take one: http.basic, grpc.basic" },
		/* unknown fields: a suggestion when one is near, else the known names */
		{ "{\"duraton\":\"1h\"}", "conform.json: duraton: unknown field (did you mean "
		  "\"duration\"?)" },
		{ "{\"duration_ms\":60000}", "conform.json: duration_ms: unknown field (did you mean "
		  "\"duration\"?)" },
		{ "{\"mesh_settings\":{\"timeout\":{\"rout\":\"1s\"}}}",
		  "conform.json: mesh_settings.timeout.rout: unknown field (did you mean \"route\"?)" },
		{ "{\"mesh_settings\":{\"identity\":{\"ns\":\"x\"}}}",
		  "conform.json: mesh_settings.identity.ns: unknown field (known here: trust_domain, "
		  "namespace, cert_validity, expiry_threshold)" },
		{ "{\"zzzzzzzz\":1}", "conform.json: zzzzzzzz: unknown field (known here: platform, "
		  "mesh, duration," },
		{ "{\"a b\":1}", "conform.json: [\"a b\"]: unknown field" },
		{ "{\"rate\":1,\"rate\":2}", "conform.json: rate: given twice" },
		/* rules across fields */
		{ "{\"duration\":\"5s\"}", "conform.json: duration: 5s is shorter than the window "
		  "(10s)" },
		{ "{\"window\":\"2m\",\"retention\":\"1m\"}", "conform.json: retention: 1m is shorter "
		  "than the window (2m)" },
		{ "{\"mesh_settings\":{\"split\":{\"v1\":0,\"v2\":0}}}",
		  "conform.json: mesh_settings.split: v1 and v2 are both 0" },
		{ "{\"mesh_settings\":{\"shift\":{\"v1\":0,\"v2\":0}}}",
		  "conform.json: mesh_settings.shift: v1 and v2 are both 0" },
		{ "{\"duration\":\"5m\",\"mesh_settings\":{\"shift\":{\"at\":\"5m\"}}}",
		  "conform.json: mesh_settings.shift.at: 5m is not before the end of the run "
		  "(duration 5m)" },
		{ "{\"mesh_settings\":{\"timeout\":{\"route\":\"2s\",\"slow\":\"1s\"}}}",
		  "conform.json: mesh_settings.timeout.slow: 1s is not longer than the route timeout "
		  "(2s)" },
		{ "{\"mesh_settings\":{\"identity\":{\"cert_validity\":\"1h\"}}}",
		  "conform.json: mesh_settings.identity.expiry_threshold: 1h is not below "
		  "cert_validity (1h)" },
		/* the top level */
		{ "[1]", "conform.json: expected a JSON object { ... } at the top level, got an "
		  "array" },
		{ "\"x\"", "conform.json: expected a JSON object" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct run_config c, before;
		char err[512] = "";

		config_defaults(&c);
		c.rate = 123;   /* a marker: nothing applies on error */
		before = c;
		if (config_from_json("conform.json", cases[i].json, strlen(cases[i].json), &c, err,
				     sizeof(err)) != -1)
			H_FAIL("%s: accepted", cases[i].json);
		if (strncmp(err, cases[i].err, strlen(cases[i].err)))
			H_FAIL("%s:\n  got  %s\n  want %s...", cases[i].json, err, cases[i].err);
		if (strchr(err, '\n'))
			H_FAIL("%s: a message of more than one line: %s", cases[i].json, err);
		ASSERT(!memcmp(&c, &before, sizeof(c)));
	}
}

TEST(syntax_errors_name_line_and_column)
{
	static const struct { const char *json, *err; } cases[] = {
		{ "{\n  \"rate\": 2,\n  \"window\": \"10s\",\n}\n",
		  "conform.json: line 4, column 1: invalid JSON: expected a field name after ',', "
		  "got '}' (a trailing comma?)" },
		{ "{\n  \"rate\": 2\n  \"window\": \"10s\"\n}",
		  "conform.json: line 3, column 3: invalid JSON: expected ',' or '}', got '\"' "
		  "(a missing comma?)" },
		{ "{'rate': 2}", "conform.json: line 1, column 2: invalid JSON: expected a field name "
		  "in double quotes, got \"'\" (JSON takes double quotes)" },
		{ "{\"mesh\": haproxy}", "conform.json: line 1, column 10: invalid JSON: expected a "
		  "value" },
		{ "{\"rate\": 2", "conform.json: line 1, column 11: invalid JSON: expected ',' or "
		  "'}', got the end of the file (an unclosed {?)" },
		{ "{\"mesh\": \"none}", "conform.json: line 1, column 16: invalid JSON: expected the "
		  "closing '\"' of the string, got the end of the file" },
		{ "{\"rate\": 1.}", "conform.json: line 1, column 12: invalid JSON: expected a digit" },
		{ "{} {}", "conform.json: line 1, column 4: invalid JSON: expected the end of the file "
		  "after the top-level value" },
		{ "// a comment\n{}", "conform.json: line 1, column 1: invalid JSON: expected a value "
		  "(a \"string\", a number, {...}, [...], true, false or null), got '/' (JSON has no "
		  "comments)" },
		{ "", "conform.json: the file is empty" },
		{ "  \n ", "conform.json: the file is empty" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct run_config c;
		char err[512] = "";

		if (parse(cases[i].json, &c, err, sizeof(err)) != -1)
			H_FAIL("%s: accepted", cases[i].json);
		if (strncmp(err, cases[i].err, strlen(cases[i].err)))
			H_FAIL("%s:\n  got  %s\n  want %s...", cases[i].json, err, cases[i].err);
	}
}

TEST(did_you_mean)
{
	static const char *const names[] = { "fall", "rise", "window_objective",
					     "incident_tolerance" };

	ASSERT_STR_EQ(config_suggest("fal", names, 4), "fall");
	ASSERT_STR_EQ(config_suggest("Rise", names, 4), "rise");
	ASSERT_STR_EQ(config_suggest("rsie", names, 4), "rise");           /* a swap */
	ASSERT_STR_EQ(config_suggest("window_objectve", names, 4), "window_objective");
	ASSERT_STR_EQ(config_suggest("incident_tolerance_ms", names, 4), "incident_tolerance");
	ASSERT(!config_suggest("x", names, 4));
	ASSERT(!config_suggest("retention", names, 4));
	ASSERT(!config_suggest("", names, 4));
	ASSERT(!config_suggest("fall", names, 0));
}

TEST(files_missing_unreadable_and_binary)
{
	char dir[] = "/tmp/conform-test-config-XXXXXX";
	char path[256], err[512] = "";
	struct run_config c;

	ASSERT(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/missing.json", dir);
	config_defaults(&c);
	ASSERT_EQ(config_load(path, &c, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, path);
	ASSERT_CONTAINS(err, "No such file");
	/* a directory is not a file */
	ASSERT_EQ(config_load(dir, &c, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, dir);
	ASSERT_CONTAINS(err, "cannot read");
	/* a NUL byte */
	snprintf(path, sizeof(path), "%s/nul.json", dir);
	ASSERT_EQ(file_write_atomic(path, "{}\0{}", 5, 0600), 0);
	ASSERT_EQ(config_load(path, &c, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "NUL byte at offset 2");
	unlink(path);
	/* a good file, by its name in messages */
	snprintf(path, sizeof(path), "%s/good.json", dir);
	ASSERT_EQ(file_write_atomic(path, "{\"rate\":7}\n", 11, 0600), 0);
	ASSERT_EQ(config_load(path, &c, err, sizeof(err)), 0);
	ASSERT_NEAR(c.rate, 7, 1e-12);
	ASSERT_EQ(file_write_atomic(path, "{\"rate\":\"7\"}\n", 13, 0600), 0);
	ASSERT_EQ(config_load(path, &c, err, sizeof(err)), -1);
	ASSERT(!strncmp(err, path, strlen(path)));
	ASSERT_CONTAINS(err, ": rate: expected requests per second");
	unlink(path);
	rmdir(dir);
}

/* argv for cliflags_parse from a NULL-terminated list */
static int flags(struct cli_opts *o, struct cli_error *e, ...)
{
	char *argv[16];
	int argc = 0;
	va_list ap;

	va_start(ap, e);
	while (argc < 15 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	return cliflags_parse(CLI_F_RUNCONF | CLI_F_STATE_DIR, "start", argc, argv, o, e);
}

/* The flags of `conform run`, which also takes the report outputs. */
static int flags_run(struct cli_opts *o, struct cli_error *e, const char *a0, const char *a1,
		     const char *a2, const char *a3, const char *a4, const char *a5,
		     const char *a6, const char *a7)
{
	char *argv[] = { (char *)a0, (char *)a1, (char *)a2, (char *)a3, (char *)a4, (char *)a5,
			 (char *)a6, (char *)a7 };

	return cliflags_parse(CLI_F_RUNCONF | CLI_F_STATE_DIR | CLI_F_KEEP_RUNS | CLI_F_JUNIT |
			      CLI_F_HTML | CLI_F_MD, "run", 8, argv, o, e);
}

TEST(precedence_defaults_file_flags)
{
	struct run_config c;
	struct cli_opts o;
	struct cli_error e;
	char err[512] = "";
	const char *file = "{\"mesh\":\"none\",\"rate\":20,\"window\":\"5s\",\"duration\":\"1h\","
			   "\"checks\":{\"retry.http\":{},\"http.basic\":{\"objective\":0.995},"
			   "\"grpc.basic\":{\"objective\":0.9}}}";

	/* flags not given keep the file's values, the file keeps the defaults it does
	 * not name, and the file's mesh holds though the local platform means haproxy */
	ASSERT_EQ(parse(file, &c, err, sizeof(err)), 0);
	ASSERT_EQ(flags(&o, &e, "--config", "conform.json", NULL), 0);
	ASSERT_STR_EQ(o.config, "conform.json");
	ASSERT_EQ(cliflags_apply(&o, 1, &c, &e), 0);
	ASSERT_STR_EQ(c.mesh, "none");
	ASSERT_NEAR(c.rate, 20, 1e-12);
	ASSERT_EQ(c.window_ms, 5000);
	ASSERT_EQ(c.duration_ms, 3600000);   /* `run` takes the file's duration */
	ASSERT_EQ(c.request_timeout_ms, 2000);
	ASSERT_UEQ(c.nchecks, 3);

	/* flags given win */
	ASSERT_EQ(parse(file, &c, err, sizeof(err)), 0);
	ASSERT_EQ(flags(&o, &e, "--config", "conform.json", "--rate", "5", "--mesh", "haproxy",
			"--window", "10s", "--checks", "grpc.basic,http.basic", NULL), 0);
	ASSERT_EQ(cliflags_apply(&o, 0, &c, &e), 0);
	ASSERT_NEAR(c.rate, 5, 1e-12);
	ASSERT_STR_EQ(c.mesh, "haproxy");
	ASSERT_EQ(c.window_ms, 10000);
	/* --checks keeps each kept check's objective, in the flag's order */
	ASSERT_UEQ(c.nchecks, 2);
	ASSERT_STR_EQ(c.checks[0], "grpc.basic");
	ASSERT_NEAR(c.objectives[0], 0.9, 1e-12);
	ASSERT_NEAR(c.objectives[1], 0.995, 1e-12);
	ASSERT_NEAR(c.objectives[2], 0, 1e-12);
	ASSERT_NEAR(run_config_objective(&c, &check_http_basic), 0.995, 1e-12);

	/* a flag that breaks a file's setting is caught together with it */
	ASSERT_EQ(parse("{\"duration\":\"1h\",\"mesh_settings\":{\"shift\":{\"at\":\"20m\"}}}",
			&c, err, sizeof(err)), 0);
	ASSERT_EQ(flags(&o, &e, "--config", "f", "--duration", "10m", NULL), 0);
	ASSERT_EQ(cliflags_apply(&o, 0, &c, &e), -1);
	ASSERT_CONTAINS(e.msg, "--duration 10m ends before the split shift at 20m");

	/* report outputs: the file's unless a flag names another; 30 runs kept by default */
	config_defaults(&c);
	ASSERT_EQ(c.out.keep_runs, 30);
	ASSERT(!c.out.junit[0] && !c.out.html[0] && !c.out.md[0]);
	ASSERT_EQ(parse("{\"keep_runs\":5,\"reports\":{\"junit\":\"f/junit.xml\","
			"\"md\":\"f/r.md\"}}", &c, err, sizeof(err)), 0);
	ASSERT_EQ(flags(&o, &e, "--config", "f", NULL), 0);
	ASSERT_EQ(cliflags_apply(&o, 0, &c, &e), 0);
	ASSERT_EQ(c.out.keep_runs, 5);
	ASSERT_STR_EQ(c.out.junit, "f/junit.xml");
	ASSERT_STR_EQ(c.out.md, "f/r.md");
	ASSERT_STR_EQ(c.out.html, "");
	ASSERT_EQ(flags_run(&o, &e, "--config", "f", "--keep-runs", "7", "--junit", "ci/j.xml",
			    "--html", "ci/r.html"), 0);
	ASSERT_EQ(cliflags_apply(&o, 0, &c, &e), 0);
	ASSERT_EQ(c.out.keep_runs, 7);
	ASSERT_STR_EQ(c.out.junit, "ci/j.xml");
	ASSERT_STR_EQ(c.out.html, "ci/r.html");
	ASSERT_STR_EQ(c.out.md, "f/r.md");   /* no --md: the file's stays */
	/* and they are checked like every other field */
	ASSERT_EQ(parse("{\"keep_runs\":0}", &c, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "conform.json: keep_runs: expected an integer 1..100000");
	ASSERT_EQ(parse("{\"reports\":{\"junit\":\"\"}}", &c, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "conform.json: reports.junit: expected a file path");
	ASSERT_EQ(parse("{\"reports\":{\"xml\":\"a\"}}", &c, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "conform.json: reports.xml: unknown field");

	/* without --config the local platform still means haproxy */
	config_defaults(&c);
	str_copy(c.mesh, sizeof(c.mesh), "none");
	ASSERT_EQ(flags(&o, &e, NULL), 0);
	ASSERT_EQ(cliflags_apply(&o, 0, &c, &e), 0);
	ASSERT_STR_EQ(c.mesh, "haproxy");
}

TEST(example_file_sets_every_field)
{
	struct run_config c, d;
	char err[512] = "";
	char *text;
	size_t i;

	config_defaults(&d);
	config_defaults(&c);
	if (config_load(EXAMPLE, &c, err, sizeof(err)))
		H_FAIL("%s", err);
	/* each value as the example writes it ... */
	ASSERT_STR_EQ(c.platform, "local");
	ASSERT_STR_EQ(c.mesh, "haproxy");
	ASSERT_EQ(c.duration_ms, 30 * 60000);
	ASSERT_EQ(c.window_ms, 5000);
	ASSERT_NEAR(c.rate, 20, 1e-12);
	ASSERT_EQ(c.request_timeout_ms, 1500);
	ASSERT_UEQ(c.nchecks, 11);
	ASSERT_STR_EQ(c.checks[0], "http.basic");
	ASSERT_NEAR(c.objectives[0], 0.995, 1e-12);
	ASSERT_STR_EQ(c.checks[1], "grpc.basic");
	ASSERT_NEAR(c.objectives[1], 0.98, 1e-12);
	for (i = 2; i < c.nchecks; i++)
		ASSERT_NEAR(c.objectives[i], 0, 1e-12);
	ASSERT_EQ(c.fall, 3);
	ASSERT_EQ(c.rise, 4);
	ASSERT_NEAR(c.window_objective, 0.999, 1e-12);
	ASSERT_EQ(c.incident_tolerance_ms, 20000);
	ASSERT_EQ(c.retention_s, 2 * 86400);
	ASSERT_STR_EQ(c.metrics_addr, "127.0.0.1:9464");
	ASSERT_STR_EQ(c.identity_header, "x-conform-client-id");
	ASSERT_UEQ(c.m.split_v1, 80);
	ASSERT_UEQ(c.m.split_v2, 20);
	ASSERT_EQ(c.m.shift_at_ms, 600000);
	ASSERT_UEQ(c.m.shift_v1, 40);
	ASSERT_UEQ(c.m.shift_v2, 60);
	ASSERT_EQ(c.m.shift_converge_ms, 15000);
	ASSERT_EQ(c.m.retry_attempts, 3);
	ASSERT_NEAR(c.m.retry_fail_share, 0.4, 1e-12);
	ASSERT_EQ(c.m.route_timeout_ms, 400);
	ASSERT_EQ(c.m.slow_ms, 1500);
	ASSERT_EQ(c.m.timeout_slack_ms, 250);
	ASSERT_EQ(c.m.tap_max_delay_ms, 3000);
	ASSERT_NEAR(c.m.tap_max_loss, 0.002, 1e-12);
	ASSERT_STR_EQ(c.m.trust_domain, "example.org");
	ASSERT_STR_EQ(c.m.ns, "conform-ci");
	ASSERT_EQ(c.m.cert_validity_s, 2 * 86400);
	ASSERT_EQ(c.m.expiry_threshold_s, 7200);
	ASSERT_STR_EQ(c.m.inbound_policy, "cluster-authenticated");
	ASSERT_EQ(c.out.keep_runs, 14);
	ASSERT_STR_EQ(c.out.junit, "results/junit.xml");
	ASSERT_STR_EQ(c.out.html, "results/report.html");
	ASSERT_STR_EQ(c.out.md, "results/report.md");

	/* ... and every setting differs from its default, so none is there for show
	 * (platform and mesh have no other value the example could take) */
	ASSERT(c.duration_ms != d.duration_ms && c.window_ms != d.window_ms);
	ASSERT(c.rate != d.rate && c.request_timeout_ms != d.request_timeout_ms);
	ASSERT(c.fall != d.fall && c.rise != d.rise);
	ASSERT(c.window_objective != d.window_objective);
	ASSERT(c.incident_tolerance_ms != d.incident_tolerance_ms);
	ASSERT(c.retention_s != d.retention_s);
	ASSERT(strcmp(c.metrics_addr, d.metrics_addr) && strcmp(c.identity_header,
								d.identity_header));
	ASSERT(c.m.split_v1 != d.m.split_v1 && c.m.split_v2 != d.m.split_v2);
	ASSERT(c.m.shift_at_ms != d.m.shift_at_ms && c.m.shift_v1 != d.m.shift_v1 &&
	       c.m.shift_v2 != d.m.shift_v2 && c.m.shift_converge_ms != d.m.shift_converge_ms);
	ASSERT(c.m.retry_attempts != d.m.retry_attempts &&
	       c.m.retry_fail_share != d.m.retry_fail_share);
	ASSERT(c.m.route_timeout_ms != d.m.route_timeout_ms && c.m.slow_ms != d.m.slow_ms &&
	       c.m.timeout_slack_ms != d.m.timeout_slack_ms);
	ASSERT(c.m.tap_max_delay_ms != d.m.tap_max_delay_ms &&
	       c.m.tap_max_loss != d.m.tap_max_loss);
	ASSERT(strcmp(c.m.trust_domain, d.m.trust_domain) && strcmp(c.m.ns, d.m.ns));
	ASSERT(c.m.cert_validity_s != d.m.cert_validity_s &&
	       c.m.expiry_threshold_s != d.m.expiry_threshold_s);
	ASSERT(strcmp(c.m.inbound_policy, d.m.inbound_policy));
	ASSERT(c.out.keep_runs != d.out.keep_runs && strcmp(c.out.junit, d.out.junit) &&
	       strcmp(c.out.html, d.out.html) && strcmp(c.out.md, d.out.md));

	/* what the file resolves to is a run.json conformd accepts, unchanged */
	text = run_config_to_json(&c);
	ASSERT(text);
	ASSERT_EQ(run_config_from_json(text, &d, err, sizeof(err)), 0);
	free(text);
	ASSERT(!memcmp(&c, &d, sizeof(c)));
}

TEST(summary_in_the_users_terms)
{
	struct run_config c;
	struct dynbuf b = DYNBUF_INIT(1 << 16);
	char err[512] = "";

	config_defaults(&c);
	ASSERT_EQ(config_load(EXAMPLE, &c, err, sizeof(err)), 0);
	ASSERT_EQ(config_summary(&c, &b), 0);
	ASSERT(b.buf);
	ASSERT_CONTAINS(b.buf, "  duration          30m\n");
	ASSERT_CONTAINS(b.buf, "  request timeout   1s500ms\n");
	ASSERT_CONTAINS(b.buf, "http.basic (objective 99.5%), grpc.basic (objective 98%), "
			"grpc.stream");
	ASSERT_CONTAINS(b.buf, "fall 3, rise 4, window objective 99.9%, incident tolerance 20s");
	ASSERT_CONTAINS(b.buf, "  retention         2d\n");
	ASSERT_CONTAINS(b.buf, "at 10m to v1 40, v2 60, converge within 15s");
	ASSERT_CONTAINS(b.buf, "route 400ms, slow request 1s500ms, slack 250ms");
	ASSERT_CONTAINS(b.buf, "trust domain example.org, namespace conform-ci");
	ASSERT_CONTAINS(b.buf, "  keep runs         14\n");
	ASSERT_CONTAINS(b.buf, "  junit copy        results/junit.xml\n");
	ASSERT_CONTAINS(b.buf, "  html copy         results/report.html\n");
	ASSERT_CONTAINS(b.buf, "  md copy           results/report.md\n");
	dynbuf_release(&b);

	config_defaults(&c);
	ASSERT_EQ(config_summary(&c, &b), 0);
	ASSERT_CONTAINS(b.buf, "  duration          until stopped\n");
	ASSERT_CONTAINS(b.buf, "  shift             never\n");
	ASSERT_CONTAINS(b.buf, "incident tolerance 0s");
	dynbuf_release(&b);
}

int main(void)
{
	RUN(empty_object_is_every_default);
	RUN(good_files_set_their_fields);
	RUN(durations_in_every_spelling);
	RUN(errors_name_file_path_and_expectation);
	RUN(syntax_errors_name_line_and_column);
	RUN(did_you_mean);
	RUN(files_missing_unreadable_and_binary);
	RUN(precedence_defaults_file_flags);
	RUN(example_file_sets_every_field);
	RUN(summary_in_the_users_terms);
	TEST_MAIN_END();
}
