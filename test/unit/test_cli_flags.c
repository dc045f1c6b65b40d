/*
 * test_cli_flags.c - the CLI flag rules: each accepted form, each rejection
 * naming the flag and the offending value, the --checks list against the
 * catalog, the overlay onto run_config and the fault request body.
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "checks/check.h"
#include "config/cliflags.h"
#include "config/config.h"
#include "harness.h"

#define ALL_START (CLI_F_RUNCONF | CLI_F_STATE_DIR | CLI_F_JSON | CLI_F_KUBE)
#define ALL_FAULT (CLI_F_TARGET | CLI_F_FAULT_RATE | CLI_F_CODE | CLI_F_MS | CLI_F_FOR | \
		   CLI_F_STATE_DIR | CLI_F_JSON)

static struct cli_opts o;
static struct cli_error e;

/* Parse a NULL-terminated list of words for a verb accepting allowed. */
static int parse(cliflag_t allowed, const char *w0, ...)
{
	static char *argv[32];
	const char *w;
	va_list ap;
	int argc = 0;

	va_start(ap, w0);
	for (w = w0; w && argc < 31; w = va_arg(ap, const char *))
		argv[argc++] = (char *)w;
	va_end(ap);
	argv[argc] = NULL;
	return cliflags_parse(allowed, "start", argc, argv, &o, &e);
}

TEST(durations)
{
	ASSERT_EQ(parse(ALL_START, "--duration", "90s", NULL), 0);
	ASSERT_EQ(o.duration_ms, 90000);
	ASSERT(o.set & CLI_F_DURATION);
	ASSERT_EQ(parse(ALL_START, "--duration=2h", NULL), 0);
	ASSERT_EQ(o.duration_ms, 2 * 3600 * 1000LL);
	ASSERT_EQ(parse(ALL_START, "--duration", "3d", NULL), 0);
	ASSERT_EQ(o.duration_ms, 3 * 86400 * 1000LL);
	ASSERT_EQ(parse(ALL_START, "--duration", "0", NULL), 0);
	ASSERT_EQ(o.duration_ms, 0);
	ASSERT(o.set & CLI_F_DURATION);
	ASSERT_EQ(parse(ALL_START, "--duration", "5x", NULL), -1);
	ASSERT_CONTAINS(e.msg, "--duration");
	ASSERT_CONTAINS(e.msg, "'5x'");
	ASSERT_CONTAINS(e.hint, "90s");
	ASSERT_EQ(parse(ALL_START, "--duration", "500ms", NULL), -1);
	ASSERT_CONTAINS(e.msg, "too short");
	ASSERT_EQ(parse(ALL_START, "--duration", "400d", NULL), -1);
	ASSERT_CONTAINS(e.msg, "too long");
	ASSERT_EQ(parse(ALL_START, "--duration", NULL), -1);
	ASSERT_CONTAINS(e.msg, "--duration needs a value");
}

TEST(window_and_rate)
{
	ASSERT_EQ(parse(ALL_START, "--window", "5s", "--rate", "2.5", NULL), 0);
	ASSERT_EQ(o.window_ms, 5000);
	ASSERT_NEAR(o.rate, 2.5, 1e-9);
	ASSERT_EQ(parse(ALL_START, "--window", "1m", NULL), 0);
	ASSERT_EQ(o.window_ms, 60000);
	ASSERT_EQ(parse(ALL_START, "--window", "1500ms", NULL), -1);
	ASSERT_CONTAINS(e.msg, "--window '1500ms'");
	ASSERT_CONTAINS(e.hint, "whole seconds");
	ASSERT_EQ(parse(ALL_START, "--window", "0", NULL), -1);
	ASSERT_EQ(parse(ALL_START, "--window", "500ms", NULL), -1);
	ASSERT_EQ(parse(ALL_START, "--rate", "0", NULL), -1);
	ASSERT_CONTAINS(e.msg, "--rate '0'");
	ASSERT_EQ(parse(ALL_START, "--rate", "ten", NULL), -1);
	ASSERT_CONTAINS(e.msg, "ten");
}

TEST(checks_list)
{
	const struct check_desc *const *all;
	size_t n;
	char list[128];

	all = catalog_all(&n);
	ASSERT(n >= 1);
	ASSERT_EQ(parse(ALL_START, "--checks", all[0]->id, NULL), 0);
	ASSERT_UEQ(o.nchecks, 1);
	ASSERT_STR_EQ(o.checks[0], all[0]->id);
	/* duplicates collapse */
	snprintf(list, sizeof(list), "%s,%s", all[0]->id, all[0]->id);
	ASSERT_EQ(parse(ALL_START, "--checks", list, NULL), 0);
	ASSERT_UEQ(o.nchecks, 1);
	if (n >= 2) {
		snprintf(list, sizeof(list), "%s,%s", all[1]->id, all[0]->id);
		ASSERT_EQ(parse(ALL_START, "--checks", list, NULL), 0);
		ASSERT_UEQ(o.nchecks, 2);
		ASSERT_STR_EQ(o.checks[0], all[1]->id);
		ASSERT_STR_EQ(o.checks[1], all[0]->id);
	}
	/* an unknown id is named, and the valid ones are listed */
	snprintf(list, sizeof(list), "%s,no.such", all[0]->id);
	ASSERT_EQ(parse(ALL_START, "--checks", list, NULL), -1);
	ASSERT_CONTAINS(e.msg, "'no.such'");
	ASSERT_CONTAINS(e.hint, all[0]->id);
	ASSERT_CONTAINS(e.hint, all[n - 1]->id);
	ASSERT_EQ(parse(ALL_START, "--checks", "", NULL), -1);
	ASSERT_CONTAINS(e.msg, "empty");
	snprintf(list, sizeof(list), "%s,,%s", all[0]->id, all[0]->id);
	ASSERT_EQ(parse(ALL_START, "--checks", list, NULL), -1);
	snprintf(list, sizeof(list), "%s,", all[0]->id);
	ASSERT_EQ(parse(ALL_START, "--checks", list, NULL), -1);
	ASSERT_EQ(parse(ALL_START, "--checks",
			"an.id.much.longer.than.any.catalog.id.could.ever.be.x", NULL), -1);
	ASSERT_CONTAINS(e.msg, "too long");
}

TEST(mesh_and_platform)
{
	ASSERT_EQ(parse(ALL_START, "--mesh", "none", "--platform", "local", NULL), 0);
	ASSERT_STR_EQ(o.mesh, "none");
	ASSERT_STR_EQ(o.platform, "local");
	ASSERT_EQ(parse(ALL_START, "--mesh", "haproxy", NULL), 0);
	ASSERT_STR_EQ(o.mesh, "haproxy");
	/* linkerd is built in; it runs on kubernetes only (cliflags_apply) */
	ASSERT_EQ(parse(ALL_START, "--mesh", "linkerd", NULL), 0);
	ASSERT_STR_EQ(o.mesh, "linkerd");
	ASSERT_EQ(parse(ALL_START, "--mesh", "istio", NULL), -1);
	ASSERT_CONTAINS(e.msg, "'istio'");
	ASSERT_EQ(parse(ALL_START, "--platform", "kubernetes", "--context", "kind-kind",
			"--namespace", "conform-ci", NULL), 0);
	ASSERT_STR_EQ(o.platform, "kubernetes");
	ASSERT_STR_EQ(o.context, "kind-kind");
	ASSERT_EQ(parse(ALL_START, "--context", "has space", NULL), -1);
	ASSERT_CONTAINS(e.msg, "--context 'has space'");
	ASSERT_EQ(parse(ALL_START, "--platform", "mars", NULL), -1);
	ASSERT_CONTAINS(e.msg, "'mars'");
	/* `conform checks` (--mesh, --json): any built-in mesh, whatever its
	 * platform, and no platform flag to pair it with */
	ASSERT_EQ(parse(CLI_F_MESH | CLI_F_JSON, "--mesh", "linkerd", "--json", NULL), 0);
	ASSERT_STR_EQ(o.mesh, "linkerd");
	ASSERT(o.json && (o.set & CLI_F_MESH));
	ASSERT_EQ(parse(CLI_F_MESH | CLI_F_JSON, "--platform", "kubernetes", NULL), -1);
	ASSERT_CONTAINS(e.msg, "--platform is not a flag of");
	ASSERT_EQ(parse(CLI_F_MESH | CLI_F_JSON, "--mesh", "istio", NULL), -1);
	ASSERT_CONTAINS(e.hint, "haproxy, linkerd or none");
}

TEST(unknown_and_misplaced_flags)
{
	ASSERT_EQ(parse(ALL_START, "--bogus", NULL), -1);
	ASSERT_CONTAINS(e.msg, "unknown flag '--bogus'");
	ASSERT_CONTAINS(e.hint, "conform help start");
	ASSERT_EQ(parse(ALL_START, "--bogus=1", NULL), -1);
	ASSERT_CONTAINS(e.msg, "'--bogus'");
	/* a real flag, but not of this verb */
	ASSERT_EQ(parse(CLI_F_JSON, "--target", "x", NULL), -1);
	ASSERT_CONTAINS(e.msg, "--target is not a flag of `conform start`");
	ASSERT_EQ(parse(ALL_START, "--json=yes", NULL), -1);
	ASSERT_CONTAINS(e.msg, "takes no value");
	ASSERT_EQ(parse(ALL_START, "--rate", "1", "--rate", "2", NULL), -1);
	ASSERT_CONTAINS(e.msg, "given twice");
}

TEST(switches_and_args)
{
	ASSERT_EQ(parse(ALL_START, "--json", "one", "--", "--two", NULL), 0);
	ASSERT(o.json);
	ASSERT_EQ(o.nargs, 2);
	ASSERT_STR_EQ(o.args[0], "one");
	ASSERT_STR_EQ(o.args[1], "--two");
	ASSERT_EQ(parse(0, "--help", NULL), 0);
	ASSERT(o.help);
	ASSERT_EQ(parse(0, "-h", NULL), 0);
	ASSERT(o.help);
	ASSERT_EQ(parse(CLI_F_STATE_DIR, "--state-dir", "/x/y", NULL), 0);
	ASSERT_STR_EQ(o.state_dir, "/x/y");
	ASSERT_EQ(parse(CLI_F_RUN, "--run", "20261122-041100-3fa2", NULL), 0);
	ASSERT_STR_EQ(o.run, "20261122-041100-3fa2");
	ASSERT_EQ(parse(CLI_F_RUN, "--run", "../../etc", NULL), -1);
	ASSERT_CONTAINS(e.msg, "not a run id");
	ASSERT_EQ(parse(CLI_F_FORMAT, "--format", "junit", NULL), 0);
	ASSERT_STR_EQ(o.format, "junit");
	ASSERT_EQ(parse(CLI_F_FORMAT, "--format", "html", NULL), 0);
	ASSERT_STR_EQ(o.format, "html");
	ASSERT_EQ(parse(CLI_F_FORMAT, "--format", "pdf", NULL), -1);
	ASSERT_CONTAINS(e.msg, "'pdf'");
	ASSERT_EQ(parse(0, "a", "b", "c", "d", "e", "f", "g", "h", "i", NULL), -1);
	ASSERT_CONTAINS(e.msg, "too many arguments");
}

TEST(apply_to_run_config)
{
	struct run_config c;
	const struct check_desc *const *all;
	size_t n;

	all = catalog_all(&n);
	run_config_defaults(&c);
	ASSERT_EQ(parse(ALL_START, "--duration", "20s", "--window", "5s", "--rate", "3",
			"--checks", all[0]->id, NULL), 0);
	ASSERT_EQ(cliflags_apply(&o, 0, &c, &e), 0);
	ASSERT_EQ(c.duration_ms, 20000);
	{
		struct run_config k;

		/* a mesh of another platform: refused, the way out named */
		run_config_defaults(&k);
		ASSERT_EQ(parse(ALL_START, "--mesh", "linkerd", NULL), 0);
		ASSERT_EQ(cliflags_apply(&o, 0, &k, &e), -1);
		ASSERT_CONTAINS(e.msg, "--mesh linkerd runs on kubernetes, not on the local platform");
		ASSERT_CONTAINS(e.hint, "--platform kubernetes");
		run_config_defaults(&k);
		ASSERT_EQ(parse(ALL_START, "--platform", "kubernetes", NULL), 0);
		ASSERT_EQ(cliflags_apply(&o, 0, &k, &e), 0);
		ASSERT_STR_EQ(k.mesh, "linkerd");   /* the platform's default mesh */
		ASSERT_EQ(parse(ALL_START, "--platform", "kubernetes", "--mesh", "none", NULL), 0);
		ASSERT_EQ(cliflags_apply(&o, 0, &k, &e), 0);
		ASSERT_EQ(parse(ALL_START, "--platform", "kubernetes", "--mesh", "haproxy", NULL), 0);
		ASSERT_EQ(cliflags_apply(&o, 0, &k, &e), -1);
		ASSERT_CONTAINS(e.msg, "--mesh haproxy runs on local");
	}
	ASSERT_EQ(c.window_ms, 5000);
	ASSERT_NEAR(c.rate, 3.0, 1e-9);
	ASSERT_UEQ(c.nchecks, 1);
	ASSERT_STR_EQ(c.checks[0], all[0]->id);
	ASSERT_STR_EQ(c.mesh, "haproxy");   /* the default on the local platform */

	/* flags not given keep the defaults */
	run_config_defaults(&c);
	ASSERT_EQ(parse(ALL_START, NULL), 0);
	ASSERT_EQ(cliflags_apply(&o, 0, &c, &e), 0);
	ASSERT_UEQ(c.nchecks, n);
	ASSERT_EQ(c.window_ms, 10000);

	/* run needs a finite duration */
	run_config_defaults(&c);
	ASSERT_EQ(parse(ALL_START, "--duration", "0", NULL), 0);
	ASSERT_EQ(cliflags_apply(&o, 1, &c, &e), -1);
	ASSERT_CONTAINS(e.msg, "--duration 0");
	ASSERT_EQ(cliflags_apply(&o, 0, &c, &e), 0);

	/* at least one window */
	run_config_defaults(&c);
	ASSERT_EQ(parse(ALL_START, "--duration", "5s", "--window", "10s", NULL), 0);
	ASSERT_EQ(cliflags_apply(&o, 0, &c, &e), -1);
	ASSERT_CONTAINS(e.msg, "shorter than the window");
}

static cJSON *fault_json(const char *kind, int *rc)
{
	struct dynbuf b = DYNBUF_INIT(4096);
	cJSON *j = NULL;

	*rc = cliflags_fault_body(kind, &o, &b, &e);
	if (!*rc)
		j = cJSON_Parse(b.buf);
	dynbuf_release(&b);
	return j;
}

TEST(fault_body)
{
	cJSON *j;
	int rc;

	ASSERT_EQ(parse(ALL_FAULT, "--target", "http-server", "--for", "10s", NULL), 0);
	j = fault_json("server-errors", &rc);
	ASSERT_EQ(rc, 0);
	ASSERT(j != NULL);
	ASSERT_STR_EQ(cJSON_GetObjectItem(j, "kind")->valuestring, "server-errors");
	ASSERT_STR_EQ(cJSON_GetObjectItem(j, "target")->valuestring, "http-server");
	ASSERT_NEAR(cJSON_GetObjectItem(j, "rate")->valuedouble, 1.0, 1e-9);
	ASSERT_EQ(cJSON_GetObjectItem(j, "for_s")->valuedouble, 10);
	ASSERT(cJSON_GetObjectItem(j, "code") == NULL);
	cJSON_Delete(j);

	ASSERT_EQ(parse(ALL_FAULT, "--target", "grpc\"server", "--rate", "0.25", "--code", "14",
			NULL), 0);
	j = fault_json("server-errors", &rc);
	ASSERT(j != NULL); /* quotes in names stay valid JSON */
	ASSERT_STR_EQ(cJSON_GetObjectItem(j, "target")->valuestring, "grpc\"server");
	ASSERT_NEAR(cJSON_GetObjectItem(j, "rate")->valuedouble, 0.25, 1e-9);
	ASSERT_EQ(cJSON_GetObjectItem(j, "code")->valuedouble, 14);
	ASSERT_EQ(cJSON_GetObjectItem(j, "for_s")->valuedouble, 0);
	cJSON_Delete(j);

	ASSERT_EQ(parse(ALL_FAULT, "--target", "http-server", "--ms", "250", NULL), 0);
	j = fault_json("server-latency", &rc);
	ASSERT(j != NULL);
	ASSERT_EQ(cJSON_GetObjectItem(j, "ms")->valuedouble, 250);
	ASSERT(cJSON_GetObjectItem(j, "rate") == NULL);
	cJSON_Delete(j);

	ASSERT_EQ(parse(ALL_FAULT, "--target", "http-server", NULL), 0);
	ASSERT(fault_json("server-latency", &rc) == NULL);
	ASSERT_CONTAINS(e.msg, "--ms is required");
	ASSERT(fault_json("explode", &rc) == NULL);
	ASSERT_CONTAINS(e.msg, "'explode'");
	ASSERT(fault_json(NULL, &rc) == NULL);
	ASSERT_CONTAINS(e.msg, "missing KIND");
	j = fault_json("kill", &rc);
	ASSERT(j != NULL);
	cJSON_Delete(j);

	ASSERT_EQ(parse(ALL_FAULT, "--rate", "0.5", NULL), 0);
	ASSERT(fault_json("server-errors", &rc) == NULL);
	ASSERT_CONTAINS(e.msg, "--target is required");
	ASSERT_EQ(parse(ALL_FAULT, "--target", "x", "--rate", "0.5", NULL), 0);
	ASSERT(fault_json("kill", &rc) == NULL);
	ASSERT_CONTAINS(e.msg, "--rate does not apply");
	ASSERT_EQ(parse(ALL_FAULT, "--rate", "1.5", NULL), -1);
	ASSERT_CONTAINS(e.msg, "--rate '1.5'");
	ASSERT_EQ(parse(ALL_FAULT, "--for", "1500ms", NULL), -1);
	ASSERT_EQ(parse(ALL_FAULT, "--code", "0", NULL), -1);
	ASSERT_EQ(parse(ALL_FAULT, "--ms", "-3", NULL), -1);
}

TEST(usage_lists_the_verbs_flags)
{
	struct dynbuf b = DYNBUF_INIT(1 << 16);

	ASSERT_EQ(cliflags_usage(CLI_F_FORMAT | CLI_F_OUT, &b), 0);
	ASSERT_CONTAINS(b.buf, "--format F");
	ASSERT_CONTAINS(b.buf, "--out PATH");
	ASSERT_CONTAINS(b.buf, "--help");
	ASSERT(strstr(b.buf, "--duration") == NULL);
	dynbuf_reset(&b);
	/* --rate means different things for start and fault */
	ASSERT_EQ(cliflags_usage(CLI_F_RATE, &b), 0);
	ASSERT_CONTAINS(b.buf, "requests per second");
	dynbuf_reset(&b);
	ASSERT_EQ(cliflags_usage(CLI_F_FAULT_RATE, &b), 0);
	ASSERT_CONTAINS(b.buf, "share of requests");
	dynbuf_release(&b);
}

/* One bound, three parsers: a value the flag takes, the config file and
 * run.json take too, and one refused is refused by all three. */
TEST(bounds_agree_across_parsers)
{
	static const struct { const char *flag, *flagv, *cfg, *json; int ok; } cases[] = {
		{ "--rate", "0.001", "{\"rate\":0.001}", "\"rate\":0.001", 1 },
		{ "--rate", "100000", "{\"rate\":100000}", "\"rate\":100000", 1 },
		{ "--rate", "0.0005", "{\"rate\":0.0005}", "\"rate\":0.0005", 0 },
		{ "--rate", "100001", "{\"rate\":100001}", "\"rate\":100001", 0 },
		{ "--window", "1s", "{\"window\":\"1s\"}", "\"window_ms\":1000", 1 },
		{ "--window", "1d", "{\"window\":\"1d\"}", "\"window_ms\":86400000", 1 },
		{ "--window", "2d", "{\"window\":\"2d\"}", "\"window_ms\":172800000", 0 },
		{ "--window", "1500ms", "{\"window\":\"1500ms\"}", "\"window_ms\":1500", 0 },
		{ "--duration", "0", "{\"duration\":\"0s\"}", "\"duration_ms\":0", 1 },
		{ "--duration", "500ms", "{\"duration\":\"500ms\"}", "\"duration_ms\":500", 0 },
		{ "--duration", "366d", "{\"duration\":\"366d\"}", "\"duration_ms\":31622400000", 1 },
		{ "--duration", "367d", "{\"duration\":\"367d\"}", "\"duration_ms\":31708800000", 0 },
	};
	struct run_config c, r;
	char err[512], json[8192], *text;
	cJSON *j;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int f = parse(ALL_START, cases[i].flag, cases[i].flagv, NULL) == 0;
		int k, q;

		config_defaults(&c);
		k = config_from_json("conform.json", cases[i].cfg, strlen(cases[i].cfg), &c, err,
				     sizeof(err)) == 0;
		/* run.json: a valid one with the value put in */
		run_config_defaults(&r);
		text = run_config_to_json(&r);
		ASSERT(text);
		j = cJSON_Parse(text);
		free(text);
		ASSERT(j);
		text = cJSON_PrintUnformatted(j);
		cJSON_Delete(j);
		snprintf(json, sizeof(json), "{%s,%s", cases[i].json, text + 1);
		free(text);
		q = run_config_from_json(json, &r, err, sizeof(err)) == 0;
		if (f != cases[i].ok || k != cases[i].ok || q != cases[i].ok)
			H_FAIL("%s %s: flag %d, config %d, run.json %d, want %d (%s)", cases[i].flag,
			       cases[i].flagv, f, k, q, cases[i].ok, err);
	}
}

int main(void)
{
	RUN(durations);
	RUN(window_and_rate);
	RUN(checks_list);
	RUN(mesh_and_platform);
	RUN(unknown_and_misplaced_flags);
	RUN(switches_and_args);
	RUN(apply_to_run_config);
	RUN(fault_body);
	RUN(usage_lists_the_verbs_flags);
	RUN(bounds_agree_across_parsers);
	TEST_MAIN_END();
}
