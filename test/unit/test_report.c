/*
 * test_report.c - the report from a fixture store with fixed timestamps:
 * run and check verdicts, incidents, totals; report.json parsed back with
 * cJSON, junit.xml checked well-formed (a small walk, and xmllint when
 * present), and all three renderers compared with golden files.
 */
#include <cJSON.h>
#include <stdio.h>
#include <sys/stat.h>

#include "eval/evaluate.h"
#include "fixture.h"
#include "harness.h"
#include "markup.h"
#include "evidence/outcome.h"
#include "report/report.h"
#include "store/store.h"
#include "base/util.h"

/*
 * The fixture: a 40 s run (4 windows of 10 s) under mesh "none" with
 * http.basic healthy, grpc.basic failing with UNAVAILABLE in windows 1-2,
 * grpc.stream not selected; a few events with characters that need escaping.
 */
static struct store *fixture(struct run_config *c, int ended)
{
	struct store *s = fixture_store40(c, NULL, 1, 1);

	if (!s)
		return NULL;
	/* one resent batch, one rejected by the collector */
	if (fixture_put_resent(s) || fixture_put_events(s) ||
	    fixture_evaluate40(s, c, ended, T0 + 33)) {
		store_close(s);
		return NULL;
	}
	return s;
}

static const cJSON *get(const cJSON *o, const char *path)
{
	char buf[128], *p, *dot;

	str_copy(buf, sizeof(buf), path);
	for (p = buf; o && p; p = dot) {
		dot = strchr(p, '.');
		if (dot)
			*dot++ = '\0';
		if (cJSON_IsArray(o))
			o = cJSON_GetArrayItem(o, atoi(p));
		else
			o = cJSON_GetObjectItemCaseSensitive(o, p);
	}
	return o;
}

static const char *gets_(const cJSON *o, const char *path)
{
	const cJSON *x = get(o, path);

	return cJSON_IsString(x) ? x->valuestring : NULL;
}

static double getn(const cJSON *o, const char *path)
{
	const cJSON *x = get(o, path);

	return cJSON_IsNumber(x) ? x->valuedouble : -1;
}

TEST(build_verdicts)
{
	struct run_config c;
	struct store *s = fixture(&c, 1);
	struct report *r = NULL;
	const struct report_check *h, *g, *st;

	ASSERT(s);
	ASSERT_EQ(report_build(s, &c, &r), 0);
	ASSERT(r->final);
	ASSERT_EQ(r->verdict, V_FAIL);
	ASSERT_EQ(report_exit_code(r), 1);
	ASSERT_EQ(r->nchecks, 11);
	h = &r->checks[0];
	g = &r->checks[1];
	st = &r->checks[2];
	ASSERT_EQ(h->verdict, V_PASS);
	ASSERT_UEQ(h->win_pass, 4);
	ASSERT_UEQ(h->totals.total, 400);   /* exactly what the client sent */
	ASSERT_UEQ(h->totals.ok, 400);
	ASSERT_EQ(g->verdict, V_FAIL);
	ASSERT_EQ(g->reason_id, R_LOW_SUCCESS);
	ASSERT_CONTAINS(g->reason, "gRPC error status (code 14 UNAVAILABLE x90)");
	ASSERT_CONTAINS(g->reason, "1 incident, longest 20s > tolerance 0s; "
			"50.0% of windows passed < 100%; first failing window: ");
	ASSERT_UEQ(g->win_fail, 2);
	ASSERT_UEQ(g->win_pass, 2);
	ASSERT_EQ(g->nincidents, 1);
	ASSERT_EQ(g->incidents[0].start_s, T0 + 10);
	ASSERT_EQ(g->incidents[0].end_s, T0 + 30);
	ASSERT_EQ(g->incidents[0].windows, 2);
	/* P F F P with rise = 2: still failing when the run ended */
	ASSERT(g->incidents[0].open);
	ASSERT_EQ(g->state, V_FAIL);
	ASSERT_EQ(h->state, V_PASS);
	ASSERT_EQ(g->incidents[0].nsamples, 3);
	ASSERT_STR_EQ(g->incidents[0].samples[0].request_id,
		      "grpc.basic.grpc-client.2a.100.1763784670100");
	ASSERT_NEAR(g->windows_passed_ratio, 0.5, 1e-12);
	ASSERT_NEAR(g->longest_incident_s, 20, 0);
	ASSERT_UEQ(g->totals.total, 400);
	ASSERT_UEQ(g->totals.failed, 180);
	ASSERT_UEQ(g->totals.by_outcome[OUT_GRPC_ERROR], 180);
	ASSERT_EQ(st->verdict, V_SKIP);
	ASSERT_EQ(r->nevents, 4);   /* + check.state: grpc.basic passing -> failing */
	ASSERT_EQ(r->monitor.batches, 100);
	ASSERT_EQ(r->monitor.duplicates, 1);
	ASSERT_EQ(r->monitor.rejected, 1);
	report_free(r);
	store_close(s);
}

/* What status and /metrics build: the same verdicts from counts and the last
 * windows only, in windows[] the latest keep of them. */
TEST(recent_build_agrees)
{
	struct run_config c;
	struct store *s = fixture(&c, 1);
	struct report *r = NULL, *lr = NULL;
	size_t i;

	ASSERT(s);
	ASSERT_EQ(report_build(s, &c, &r), 0);
	ASSERT_EQ(report_build_recent(s, &c, 2, &lr), 0);
	ASSERT_EQ(lr->verdict, r->verdict);
	for (i = 0; i < r->nchecks; i++) {
		const struct report_check *a = &r->checks[i], *b = &lr->checks[i];

		ASSERT_EQ(b->verdict, a->verdict);
		ASSERT_STR_EQ(b->reason, a->reason);
		ASSERT_UEQ(b->win_pass, a->win_pass);
		ASSERT_UEQ(b->win_fail, a->win_fail);
		ASSERT_UEQ(b->win_nodata, a->win_nodata);
		ASSERT_UEQ(b->win_total, a->win_total);
		ASSERT_UEQ(b->totals.total, a->totals.total);
		ASSERT_EQ(b->last_verdict, a->last_verdict);
		ASSERT_STR_EQ(b->last_reason, a->last_reason);
		ASSERT_EQ(a->nwindows, a->win_total);
		ASSERT_EQ(b->nwindows, a->nwindows < 2 ? a->nwindows : 2);
		if (b->nwindows) {
			ASSERT_EQ(b->windows[b->nwindows - 1].idx, a->windows[a->nwindows - 1].idx);
			ASSERT_EQ(b->windows[0].idx, a->windows[a->nwindows - b->nwindows].idx);
			ASSERT_NEAR(b->windows[0].p99_ms, a->windows[a->nwindows - 2].p99_ms, 0);
		}
	}
	/* grpc.basic: P F F P, the last two kept */
	ASSERT_EQ(lr->checks[1].windows[0].verdict, V_FAIL);
	ASSERT_EQ(lr->checks[1].windows[1].verdict, V_PASS);
	ASSERT(lr->checks[1].last_reason[0]);
	report_free(lr);
	report_free(r);
	store_close(s);
}

TEST(healthy_run_passes)
{
	struct run_config c;
	struct store *s = fixture(&c, 1);
	struct report *r = NULL;

	ASSERT(s);
	c.nchecks = 1;   /* only http.basic: the healthy one */
	ASSERT_EQ(report_build(s, &c, &r), 0);
	ASSERT_EQ(r->verdict, V_PASS);
	ASSERT_EQ(report_exit_code(r), 0);
	ASSERT_EQ(r->checks[1].verdict, V_SKIP);
	report_free(r);
	store_close(s);
}

TEST(no_data_fails)
{
	struct run_config c;
	struct store *s = fixture(&c, 1);
	struct report *r = NULL;

	ASSERT(s);
	/* grpc.stream selected but never sent anything */
	c.nchecks = 1;
	str_copy(c.checks[0], sizeof(c.checks[0]), "grpc.stream");
	ASSERT_EQ(report_build(s, &c, &r), 0);
	ASSERT_EQ(r->verdict, V_FAIL);
	ASSERT_EQ(r->checks[2].verdict, V_FAIL);
	ASSERT_EQ(r->checks[2].reason_id, R_NO_DATA);
	ASSERT_CONTAINS(r->checks[2].reason, "no data");
	report_free(r);
	store_close(s);
}

/* A check that does not apply to the run's configuration is skipped with the
 * reason, not failed on no data; under --mesh none it still fails. */
TEST(not_applicable_skips)
{
	struct run_config c;
	struct store *s = fixture(&c, 1);
	struct report *r = NULL;
	const struct check_desc *d = catalog_find("split.shift");
	const struct check_desc *const *all;
	size_t n, k;

	ASSERT(s && d);
	all = catalog_all(&n);
	for (k = 0; k < n && all[k] != d; k++)
		;
	ASSERT(k < n);
	c.nchecks = 1;
	str_copy(c.checks[0], sizeof(c.checks[0]), "split.shift");
	str_copy(c.mesh, sizeof(c.mesh), "haproxy");
	c.m.shift_at_ms = 0;
	ASSERT_EQ(report_build(s, &c, &r), 0);
	ASSERT_EQ(r->checks[k].verdict, V_SKIP);
	ASSERT_CONTAINS(r->checks[k].reason, "no shift scheduled");
	ASSERT_EQ(r->verdict, V_PASS);
	report_free(r);
	r = NULL;
	str_copy(c.mesh, sizeof(c.mesh), "none");
	ASSERT_EQ(report_build(s, &c, &r), 0);
	ASSERT_EQ(r->checks[k].verdict, V_FAIL);
	report_free(r);
	store_close(s);
}

TEST(json_parses_back)
{
	struct run_config c;
	struct store *s = fixture(&c, 1);
	struct report *r = NULL;
	struct dynbuf b = DYNBUF_INIT(1 << 22);
	cJSON *j;

	ASSERT(s);
	ASSERT_EQ(report_build(s, &c, &r), 0);
	ASSERT_EQ(report_render(r, "json", &b), 0);
	j = cJSON_Parse(b.buf);
	ASSERT(j);
	ASSERT_STR_EQ(gets_(j, "verdict"), "fail");
	ASSERT_STR_EQ(gets_(j, "run.id"), "20251122-041100-3fa2");
	ASSERT_STR_EQ(gets_(j, "run.platform"), "local");
	ASSERT_STR_EQ(gets_(j, "run.mesh"), "none");
	ASSERT_STR_EQ(gets_(j, "run.started"), "2025-11-22T04:11:00Z");
	ASSERT_STR_EQ(gets_(j, "run.ended"), "2025-11-22T04:11:40Z");
	ASSERT_NEAR(getn(j, "run.duration_s"), 40, 1e-9);
	ASSERT_NEAR(getn(j, "run.started_unix"), T0, 1e-6);
	ASSERT_NEAR(getn(j, "events.0.ts_unix"), T0 + 0.5, 1e-6);
	ASSERT(cJSON_IsTrue(get(j, "run.final")));
	ASSERT_STR_EQ(gets_(j, "checks.0.id"), "http.basic");
	ASSERT_STR_EQ(gets_(j, "checks.0.verdict"), "pass");
	ASSERT_NEAR(getn(j, "checks.0.windows.pass"), 4, 0);
	ASSERT_NEAR(getn(j, "checks.0.requests.total"), 400, 0);
	ASSERT(getn(j, "checks.0.latency_ms.p99") >= 2.4);
	ASSERT(getn(j, "checks.0.latency_ms.p50") <= getn(j, "checks.0.latency_ms.p90"));
	ASSERT_STR_EQ(gets_(j, "checks.1.verdict"), "fail");
	ASSERT_STR_EQ(gets_(j, "checks.1.reason_code"), "low_success");
	ASSERT_CONTAINS(gets_(j, "checks.1.reason"), "gRPC error");
	ASSERT_NEAR(getn(j, "checks.1.requests.failed"), 180, 0);
	ASSERT_NEAR(getn(j, "checks.1.requests.by_outcome.grpc_error"), 180, 0);
	ASSERT_STR_EQ(gets_(j, "checks.1.incidents.0.start"), "2025-11-22T04:11:10Z");
	ASSERT_STR_EQ(gets_(j, "checks.1.incidents.0.end"), "2025-11-22T04:11:30Z");
	ASSERT_NEAR(getn(j, "checks.1.incidents.0.windows"), 2, 0);
	ASSERT_NEAR(getn(j, "checks.1.incidents.0.duration_s"), 20, 0);
	ASSERT(cJSON_IsTrue(get(j, "checks.1.incidents.0.open")));
	ASSERT_EQ(cJSON_GetArraySize(get(j, "checks.1.incidents.0.samples")), 3);
	ASSERT_STR_EQ(gets_(j, "checks.1.incidents.0.samples.0.request_id"),
		      "grpc.basic.grpc-client.2a.100.1763784670100");
	ASSERT_STR_EQ(gets_(j, "checks.1.incidents.0.samples.0.outcome"), "grpc_error");
	ASSERT_NEAR(getn(j, "checks.1.incidents.0.samples.0.code"), 14, 0);
	ASSERT_NEAR(getn(j, "checks.1.incidents.0.samples.0.latency_ms"), 1.234, 1e-9);
	ASSERT_STR_EQ(gets_(j, "checks.1.incidents.0.samples.0.ts"), "2025-11-22T04:11:10.100Z");
	ASSERT_NEAR(getn(j, "checks.1.verdict_rule.window_objective"), 1, 0);
	ASSERT_NEAR(getn(j, "checks.1.verdict_rule.windows_passed_ratio"), 0.5, 0);
	ASSERT_NEAR(getn(j, "checks.1.verdict_rule.incident_tolerance_s"), 0, 0);
	ASSERT_NEAR(getn(j, "checks.1.verdict_rule.longest_incident_s"), 20, 0);
	ASSERT_NEAR(getn(j, "checks.0.verdict_rule.windows_passed_ratio"), 1, 0);
	ASSERT(cJSON_IsNull(get(j, "checks.2.verdict_rule")));
	ASSERT_STR_EQ(gets_(j, "checks.2.verdict"), "skip");
	ASSERT(cJSON_IsNull(get(j, "checks.2.reason_code")));
	ASSERT_EQ(cJSON_GetArraySize(get(j, "checks.2.incidents")), 0);
	ASSERT_EQ(cJSON_GetArraySize(get(j, "events")), 4);   /* + check.state */
	ASSERT_STR_EQ(gets_(j, "events.2.kind"), "check.state");   /* at T0 + 30 */
	ASSERT_STR_EQ(gets_(j, "events.2.subject"), "grpc.basic");
	ASSERT_STR_EQ(gets_(j, "events.1.detail"),
		      "server-errors rate=0.9 code=14 <\"all\" & 'more'> | pipe");
	ASSERT_NEAR(getn(j, "monitor.batches"), 100, 0);
	ASSERT_NEAR(getn(j, "monitor.duplicates"), 1, 0);
	ASSERT_NEAR(getn(j, "monitor.rejected"), 1, 0);
	ASSERT_NEAR(getn(j, "summary.skip"), 9, 0);
	cJSON_Delete(j);
	ASSERT_EQ(golden_check("report.json", b.buf), 0);
	dynbuf_release(&b);
	report_free(r);
	store_close(s);
}

TEST(junit_well_formed)
{
	struct run_config c;
	struct store *s = fixture(&c, 1);
	struct report *r = NULL;
	struct dynbuf b = DYNBUF_INIT(1 << 22);
	char path[128], cmd[256];
	FILE *f;

	ASSERT(s);
	ASSERT_EQ(report_build(s, &c, &r), 0);
	ASSERT_EQ(report_render_junit(r, &b), 0);
	ASSERT_EQ(markup_walk(b.buf, MARKUP_XML), 0);
	ASSERT_CONTAINS(b.buf, "<testsuite name=\"conform\" tests=\"11\" failures=\"1\" "
			"errors=\"0\" skipped=\"9\" time=\"40\"");
	ASSERT_CONTAINS(b.buf, "<testcase classname=\"conform.none\" name=\"grpc.basic\"");
	ASSERT_CONTAINS(b.buf, "type=\"low_success\"");
	ASSERT_CONTAINS(b.buf, "<skipped message=\"not selected for this run\"/>");
	ASSERT_CONTAINS(b.buf, "2025-11-22T04:11:10Z .. 2025-11-22T04:11:30Z (2 failing windows,"
			" open)");
	ASSERT_CONTAINS(b.buf, "    request grpc.basic.grpc-client.2a.100.1763784670100 grpc_error"
			" 14 1.234 ms");
	/* the walk itself rejects broken XML */
	ASSERT(markup_walk("<?xml version=\"1.0\"?>\n<a><b></a></b>\n", MARKUP_XML) != 0);
	ASSERT(markup_walk("<?xml version=\"1.0\"?>\n<a x=\"<\"/>\n", MARKUP_XML) != 0);
	ASSERT(markup_walk("<?xml version=\"1.0\"?>\n<a>&bogus;</a>\n", MARKUP_XML) != 0);
	if (system("command -v xmllint >/dev/null 2>&1") == 0) {
		snprintf(path, sizeof(path), "%s/junit.xml", fixture_tmpdir);
		f = fopen(path, "w");
		ASSERT(f);
		fputs(b.buf, f);
		fclose(f);
		snprintf(cmd, sizeof(cmd), "xmllint --noout '%s'", path);
		ASSERT_EQ(system(cmd), 0);
	}
	ASSERT_EQ(golden_check("junit.xml", b.buf), 0);
	dynbuf_release(&b);
	report_free(r);
	store_close(s);
}

TEST(md_golden)
{
	struct run_config c;
	struct store *s = fixture(&c, 1);
	struct report *r = NULL;
	struct dynbuf b = DYNBUF_INIT(1 << 22);

	ASSERT(s);
	ASSERT_EQ(report_build(s, &c, &r), 0);
	ASSERT_EQ(report_render(r, "md", &b), 0);
	ASSERT_CONTAINS(b.buf, "❌ not conformant");
	ASSERT_CONTAINS(b.buf, "### Failures");
	ASSERT_CONTAINS(b.buf, "| grpc.basic");
	/* the pipe in the event detail cannot break the table */
	ASSERT_CONTAINS(b.buf, "\\| pipe");
	ASSERT_EQ(golden_check("report.md", b.buf), 0);
	dynbuf_release(&b);
	report_free(r);
	store_close(s);
}

/*
 * The run verdict rule on windows given directly (P pass, F fail, N no
 * data), recorded through the sink's debounce with fall = rise = 2, judged
 * with an objective and a tolerance. 0 on success, the verdict in *v and the
 * reason in reason.
 */
static int rule_case(const char *seq, double objective, int64_t tolerance_ms, enum verdict *v,
		     char *reason, size_t len)
{
	struct run_config c;
	struct store *s = NULL;
	struct report *r = NULL;
	struct window_result w;
	int64_t i;
	int rc = -1;

	s = fixture_store_open();
	if (!s)
		return -1;
	run_config_defaults(&c);
	c.started = T0;
	c.nchecks = 1;
	str_copy(c.checks[0], sizeof(c.checks[0]), "http.basic");
	c.window_objective = objective;
	c.incident_tolerance_ms = tolerance_ms;
	for (i = 0; seq[i]; i++) {
		memset(&w, 0, sizeof(w));
		hist_init(&w.h);
		w.verdict = seq[i] == 'P' ? V_PASS : seq[i] == 'F' ? V_FAIL : V_NODATA;
		w.reason = seq[i] == 'F' ? R_LOW_SUCCESS : seq[i] == 'P' ? R_MET : R_NO_DATA;
		str_fmt(w.reason_text, sizeof(w.reason_text), "window %d", (int)i);
		str_copy(w.evidence, sizeof(w.evidence), "{}");
		if (evaluate_record(s, &c, "http.basic", i, T0 + 10 * i, T0 + 10 * i + 10, &w))
			goto out;
	}
	if (report_build(s, &c, &r))
		goto out;
	*v = r->checks[0].verdict;
	str_copy(reason, len, r->checks[0].reason);
	rc = 0;
out:
	report_free(r);
	store_close(s);
	return rc;
}

TEST(verdict_rule)
{
	char reason[REASON_TEXT_MAX];
	enum verdict v;

	/* one isolated failing window is no incident with fall = 2: the
	 * objective alone decides, and 4 of 5 is exactly 80% */
	ASSERT_EQ(rule_case("PPFPP", 1.0, 0, &v, reason, sizeof(reason)), 0);
	ASSERT_EQ(v, V_FAIL);
	ASSERT_STR_EQ(reason, "80.0% of windows passed < 100%; first failing window: window 2");
	ASSERT_EQ(rule_case("PPFPP", 0.8, 0, &v, reason, sizeof(reason)), 0);
	ASSERT_EQ(v, V_PASS);
	ASSERT_EQ(rule_case("PPFPP", 0.81, 0, &v, reason, sizeof(reason)), 0);
	ASSERT_EQ(v, V_FAIL);
	ASSERT_CONTAINS(reason, "80.0% of windows passed < 81%");
	/* windows without data are not judged: they count on neither side */
	ASSERT_EQ(rule_case("PNNPP", 1.0, 0, &v, reason, sizeof(reason)), 0);
	ASSERT_EQ(v, V_PASS);
	ASSERT_CONTAINS(reason, "3 of 5 windows passed, 2 without data");
	/* an incident of 20 s: fails with tolerance 0 and 10 s, passes with 20 s */
	ASSERT_EQ(rule_case("PPFFPPPPPP", 0.5, 0, &v, reason, sizeof(reason)), 0);
	ASSERT_EQ(v, V_FAIL);
	ASSERT_STR_EQ(reason, "1 incident, longest 20s > tolerance 0s; first failing window: window 2");
	ASSERT_EQ(rule_case("PPFFPPPPPP", 0.5, 10000, &v, reason, sizeof(reason)), 0);
	ASSERT_EQ(v, V_FAIL);
	ASSERT_CONTAINS(reason, "longest 20s > tolerance 10s");
	ASSERT_EQ(rule_case("PPFFPPPPPP", 0.5, 20000, &v, reason, sizeof(reason)), 0);
	ASSERT_EQ(v, V_PASS);
	/* both parts broken: both named */
	ASSERT_EQ(rule_case("PFFPPFFFPP", 1.0, 0, &v, reason, sizeof(reason)), 0);
	ASSERT_EQ(v, V_FAIL);
	ASSERT_CONTAINS(reason, "2 incidents, longest 30s > tolerance 0s; 50.0% of windows"
			" passed < 100%; first failing window: window 1");
	/* no passing window fails even with a zero objective */
	ASSERT_EQ(rule_case("F", 0.0, 60000, &v, reason, sizeof(reason)), 0);
	ASSERT_EQ(v, V_FAIL);
	ASSERT_CONTAINS(reason, "no window passed");
	ASSERT_EQ(rule_case("NN", 0.0, 0, &v, reason, sizeof(reason)), 0);
	ASSERT_EQ(v, V_FAIL);
	ASSERT_CONTAINS(reason, "no data");
}

TEST(provisional_and_unknown_format)
{
	struct run_config c;
	struct store *s = fixture(&c, 0);
	struct report *r = NULL;
	struct dynbuf b = DYNBUF_INIT(1 << 22);
	cJSON *j;

	ASSERT(s);
	ASSERT_EQ(report_build(s, &c, &r), 0);
	ASSERT(!r->final);
	ASSERT_EQ(report_render(r, "pdf", &b), -1);
	ASSERT_EQ(report_render(r, NULL, &b), -1);
	ASSERT_EQ(report_render_json(r, &b), 0);
	j = cJSON_Parse(b.buf);
	ASSERT(j);
	ASSERT(cJSON_IsFalse(get(j, "run.final")));
	ASSERT(cJSON_IsNull(get(j, "run.ended")));
	ASSERT_NEAR(getn(j, "checks.1.windows.total"), 3, 0);
	cJSON_Delete(j);
	dynbuf_reset(&b);
	ASSERT_EQ(report_render_md(r, &b), 0);
	ASSERT_CONTAINS(b.buf, "provisional");
	dynbuf_release(&b);
	report_free(r);
	store_close(s);
}

TEST(write_all)
{
	struct run_config c;
	struct store *s = fixture(&c, 1);
	struct report *r = NULL;
	char dir[128], path[192];
	struct stat st;
	char *text;
	const char *names[] = { "report.json", "junit.xml", "report.md" };
	size_t i;

	ASSERT(s);
	ASSERT_EQ(report_build(s, &c, &r), 0);
	snprintf(dir, sizeof(dir), "%s/run/reports", fixture_tmpdir);
	ASSERT_EQ(report_write_all(r, dir), 0);
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		ASSERT_EQ(stat(path, &st), 0);
		ASSERT(st.st_size > 100);
	}
	snprintf(path, sizeof(path), "%s/report.json", dir);
	text = file_read(path, 1 << 22, NULL);
	ASSERT(text);
	ASSERT_CONTAINS(text, "\"verdict\": \"fail\"");
	free(text);
	report_free(r);
	store_close(s);
}

/* index of check id in the catalog (= in report.checks) */
static size_t cat_index(const char *id)
{
	const struct check_desc *const *all;
	size_t n, k;

	all = catalog_all(&n);
	for (k = 0; k < n && strcmp(all[k]->id, id); k++)
		;
	return k;
}

/* Record one window of check with verdict v and reason text (the sink's second half). */
static int put_window(struct store *s, const struct run_config *c, const char *check, int64_t idx,
		      enum verdict v, enum reason why, const char *text)
{
	struct window_result w;

	memset(&w, 0, sizeof(w));
	w.verdict = v;
	w.reason = why;
	str_copy(w.reason_text, sizeof(w.reason_text), text);
	str_copy(w.evidence, sizeof(w.evidence), "{}");
	hist_init(&w.h);
	return evaluate_record(s, c, check, idx, T0 + idx * 10, T0 + idx * 10 + 10, &w);
}

#define CAUSE "backend http-server failing 100.0% of 100 requests on http.conform.svc: " \
	      "HTTP 5xx from server (503 x100) (see http.basic)"

/*
 * http.basic fails (the backend answers 503) and retry.http is inconclusive
 * in the same windows: the run fails for http.basic only, retry.http is
 * inconclusive with the cause in every face; with strict it fails the run
 * too; a check that only passed and was inconclusive once is inconclusive.
 */
TEST(inconclusive_check)
{
	struct run_config c;
	struct store *s;
	struct report *r = NULL;
	struct dynbuf b = DYNBUF_INIT(1 << 20);
	size_t hb = cat_index("http.basic"), rt = cat_index("retry.http");
	int64_t i;

	fixture_config(&c, 40000);
	str_copy(c.mesh, sizeof(c.mesh), "haproxy");
	c.nchecks = 2;
	str_copy(c.checks[0], sizeof(c.checks[0]), "http.basic");
	str_copy(c.checks[1], sizeof(c.checks[1]), "retry.http");
	s = fixture_run_store(&c, NULL, 1);
	ASSERT(s);
	for (i = 0; i < 4; i++) {
		int broken = i >= 1 && i <= 2;

		ASSERT_EQ(put_window(s, &c, "http.basic", i, broken ? V_FAIL : V_PASS,
				     broken ? R_LOW_SUCCESS : R_MET, broken ? "success 0.0%" :
				     "success 100.0%"), 0);
		ASSERT_EQ(put_window(s, &c, "retry.http", i, broken ? V_INCONCLUSIVE : V_PASS,
				     broken ? R_PRECONDITION : R_MET, broken ? CAUSE "; not judged"
				     : "success 100.0% >= bound"), 0);
	}
	ASSERT_EQ(store_set_run_ended(s, T0 + 40), 0);
	ASSERT_EQ(report_build(s, &c, &r), 0);
	ASSERT_EQ(r->checks[hb].verdict, V_FAIL);
	ASSERT_EQ(r->checks[rt].verdict, V_INCONCLUSIVE);
	ASSERT_EQ(r->checks[rt].reason_id, R_PRECONDITION);
	ASSERT_UEQ(r->checks[rt].win_inconclusive, 2);
	ASSERT_UEQ(r->checks[rt].win_pass, 2);
	ASSERT_CONTAINS(r->checks[rt].reason, "inconclusive: 2 of 4 windows not judged: " CAUSE);
	ASSERT_CONTAINS(r->checks[rt].cause, CAUSE);
	ASSERT_EQ(r->nfail, 1);
	ASSERT_EQ(r->ninconclusive, 1);
	ASSERT_EQ(r->verdict, V_FAIL);      /* http.basic failed */

	ASSERT_EQ(report_render_json(r, &b), 0);
	ASSERT_CONTAINS(b.buf, "\"inconclusive\": 1,");
	ASSERT_CONTAINS(b.buf, "\"verdict\": \"inconclusive\"");
	ASSERT_CONTAINS(b.buf, "\"reason_code\": \"precondition\"");
	dynbuf_reset(&b);
	ASSERT_EQ(report_render_junit(r, &b), 0);
	ASSERT_CONTAINS(b.buf, "failures=\"1\" errors=\"0\" skipped=\"10\""); /* 9 not selected */
	ASSERT_CONTAINS(b.buf, "name=\"retry.http\" time=\"40\">\n    <skipped message=\"inconclusive: ");
	dynbuf_reset(&b);
	ASSERT_EQ(report_render_md(r, &b), 0);
	ASSERT_CONTAINS(b.buf, "❓ inconclusive | 2/0/0/2 |");
	ASSERT_CONTAINS(b.buf, "### Inconclusive\n\n- **retry.http**: backend http-server failing");
	dynbuf_reset(&b);
	ASSERT_EQ(report_render_html(r, &b), 0);
	ASSERT_CONTAINS(b.buf, "<span class=\"b b-inconclusive\">inconclusive</span>");
	ASSERT_CONTAINS(b.buf, "0 passed · 1 failed · 1 inconclusive · 9 skipped");
	report_free(r);
	r = NULL;

	/* without http.basic's failure the run passes, retry.http inconclusive */
	c.nchecks = 1;
	str_copy(c.checks[0], sizeof(c.checks[0]), "retry.http");
	ASSERT_EQ(report_build(s, &c, &r), 0);
	ASSERT_EQ(r->checks[rt].verdict, V_INCONCLUSIVE);
	ASSERT_EQ(r->verdict, V_PASS);
	ASSERT_EQ(report_exit_code(r), 0);
	report_free(r);
	r = NULL;
	c.strict = 1;
	ASSERT_EQ(report_build(s, &c, &r), 0);
	ASSERT_EQ(r->verdict, V_FAIL);
	ASSERT_EQ(report_exit_code(r), 1);
	dynbuf_reset(&b);
	ASSERT_EQ(report_render_junit(r, &b), 0);
	ASSERT_CONTAINS(b.buf, "failures=\"1\"");
	ASSERT_CONTAINS(b.buf, "<failure message=\"inconclusive: ");
	report_free(r);
	dynbuf_release(&b);
	store_close(s);
}

/* Inconclusive never hides a failure: a failing window fails the check. */
TEST(inconclusive_does_not_hide_failure)
{
	struct run_config c;
	struct store *s;
	struct report *r = NULL;
	size_t rt = cat_index("retry.http");

	fixture_config(&c, 40000);
	str_copy(c.mesh, sizeof(c.mesh), "haproxy");
	c.nchecks = 1;
	str_copy(c.checks[0], sizeof(c.checks[0]), "retry.http");
	s = fixture_run_store(&c, NULL, 1);
	ASSERT(s);
	ASSERT_EQ(put_window(s, &c, "retry.http", 0, V_INCONCLUSIVE, R_PRECONDITION, CAUSE), 0);
	ASSERT_EQ(put_window(s, &c, "retry.http", 1, V_FAIL, R_RETRY_BELOW_BOUND, "retries not "
			     "effective"), 0);
	ASSERT_EQ(put_window(s, &c, "retry.http", 2, V_PASS, R_MET, "ok"), 0);
	ASSERT_EQ(report_build(s, &c, &r), 0);
	ASSERT_EQ(r->checks[rt].verdict, V_FAIL);
	ASSERT_EQ(r->checks[rt].reason_id, R_RETRY_BELOW_BOUND);
	ASSERT_EQ(r->verdict, V_FAIL);
	report_free(r);
	store_close(s);
}

/*
 * `conform run --duration 120s` stopped after 15 s: the run is interrupted
 * at 15 s, split.shift (shift at 40 s) is skipped, not failed on no data,
 * and the other checks are judged on what was observed.
 */
TEST(interrupted_run)
{
	struct run_config c;
	struct store *s;
	struct report *r = NULL;
	struct dynbuf b = DYNBUF_INIT(1 << 20);
	size_t hb = cat_index("http.basic"), sh = cat_index("split.shift");
	char why[160];

	fixture_config(&c, 120000);
	str_copy(c.mesh, sizeof(c.mesh), "haproxy");
	c.m.shift_at_ms = 40000;
	c.nchecks = 2;
	str_copy(c.checks[0], sizeof(c.checks[0]), "http.basic");
	str_copy(c.checks[1], sizeof(c.checks[1]), "split.shift");
	ASSERT_EQ(check_min_run_ms(catalog_find("split.shift"), &c, why, sizeof(why)), 50000);
	ASSERT_STR_EQ(why, "the shift at 40s and 10s to converge");
	s = fixture_run_store(&c, NULL, 1);
	ASSERT(s);
	ASSERT_EQ(put_window(s, &c, "http.basic", 0, V_PASS, R_MET, "success 100.0%"), 0);
	ASSERT_EQ(put_window(s, &c, "http.basic", 1, V_PASS, R_MET, "success 100.0%"), 0);
	ASSERT_EQ(put_window(s, &c, "split.shift", 0, V_NODATA, R_NO_DATA, "shift not reached"), 0);
	ASSERT_EQ(put_window(s, &c, "split.shift", 1, V_NODATA, R_NO_DATA, "shift not reached"), 0);
	ASSERT_EQ(store_put_event(s, T0 + 15, "run.stop", c.id, "signal INT"), 0);
	ASSERT_EQ(store_set_run_ended(s, T0 + 15), 0);
	ASSERT_EQ(report_build(s, &c, &r), 0);
	ASSERT(r->interrupted);
	ASSERT_NEAR(r->reached_s, 15, 1e-9);
	ASSERT_STR_EQ(r->stop_reason, "signal INT");
	ASSERT_EQ(r->checks[hb].verdict, V_PASS);
	ASSERT_EQ(r->checks[sh].verdict, V_SKIP);
	ASSERT_EQ(r->checks[sh].reason_id, R_NOT_REACHED);
	ASSERT_STR_EQ(r->checks[sh].reason, "not reached: the run was interrupted at 15s, before "
		      "split.shift could be judged (it needs 50s: the shift at 40s and 10s to "
		      "converge)");
	ASSERT_EQ(r->verdict, V_PASS);
	ASSERT_EQ(report_render_json(r, &b), 0);
	ASSERT_CONTAINS(b.buf, "\"interrupted\": true,\n    \"reached_s\": 15,\n"
			"    \"stop_reason\": \"signal INT\"");
	ASSERT_CONTAINS(b.buf, "\"reason_code\": \"not_reached\"");
	report_free(r);
	r = NULL;

	/* the same run ending at its duration is not interrupted */
	dynbuf_release(&b);
	store_close(s);
	s = fixture_run_store(&c, NULL, 1);
	ASSERT(s);
	ASSERT_EQ(store_set_run_ended(s, T0 + 120.2), 0);
	ASSERT_EQ(report_build(s, &c, &r), 0);
	ASSERT(!r->interrupted);
	ASSERT(r->checks[sh].verdict != V_SKIP);
	report_free(r);
	store_close(s);
}

/* A --duration shorter than a check needs is refused, unless the check does
 * not apply or is left out. */
TEST(too_short_refused)
{
	struct run_config c;
	char err[256];

	run_config_defaults(&c);
	str_copy(c.mesh, sizeof(c.mesh), "haproxy");
	c.duration_ms = 12000;                /* auto shift at 4 s + 10 s > 12 s */
	ASSERT_EQ(check_run_too_short(&c, err, sizeof(err)), 1);
	ASSERT_STR_EQ(err, "--duration 12s is too short for split.shift: it needs 14s (the "
		      "shift at 4s and 10s to converge)");
	c.duration_ms = 15000;                /* 5 s + 10 s */
	ASSERT_EQ(check_run_too_short(&c, err, sizeof(err)), 0);
	c.duration_ms = 12000;
	c.nchecks = 1;                        /* --checks http.basic */
	str_copy(c.checks[0], sizeof(c.checks[0]), "http.basic");
	ASSERT_EQ(check_run_too_short(&c, err, sizeof(err)), 0);
	run_config_defaults(&c);
	str_copy(c.mesh, sizeof(c.mesh), "none"); /* mesh checks fail there anyway */
	c.duration_ms = 8000;
	c.window_ms = 4000;
	ASSERT_EQ(check_run_too_short(&c, err, sizeof(err)), 0);
	str_copy(c.mesh, sizeof(c.mesh), "haproxy");
	c.duration_ms = 0;                    /* until stopped */
	ASSERT_EQ(check_run_too_short(&c, err, sizeof(err)), 0);
	c.duration_ms = 5000;                 /* shorter than one window */
	c.window_ms = 10000;
	c.m.shift_at_ms = 0;
	ASSERT_EQ(check_run_too_short(&c, err, sizeof(err)), 1);
	ASSERT_CONTAINS(err, "--duration 5s is too short for http.basic: it needs 10s (one window)");
}

/* Failing checks are grouped under the fault that explains them; one that
 * no fault's matrix row names is listed as unexplained. */
TEST(causes_grouped)
{
	struct run_config c;
	struct store *s;
	struct report *r = NULL;
	struct dynbuf b = DYNBUF_INIT(1 << 20);
	char text[512];
	int64_t i;

	fixture_config(&c, 60000);
	str_copy(c.mesh, sizeof(c.mesh), "haproxy");
	c.nchecks = 3;
	str_copy(c.checks[0], sizeof(c.checks[0]), "http.basic");
	str_copy(c.checks[1], sizeof(c.checks[1]), "retry.http");
	str_copy(c.checks[2], sizeof(c.checks[2]), "grpc.basic");
	s = fixture_run_store(&c, NULL, 1);
	ASSERT(s);
	for (i = 0; i < 6; i++) {
		int during = i >= 1 && i <= 3;   /* the fault: T0+10 .. T0+35 */

		ASSERT_EQ(put_window(s, &c, "http.basic", i, during ? V_FAIL : V_PASS,
				     during ? R_LOW_SUCCESS : R_MET, "x"), 0);
		ASSERT_EQ(put_window(s, &c, "retry.http", i, during ? V_INCONCLUSIVE : V_PASS,
				     during ? R_PRECONDITION : R_MET, CAUSE), 0);
		/* grpc.basic fails later, with no fault */
		ASSERT_EQ(put_window(s, &c, "grpc.basic", i, i == 5 ? V_FAIL : V_PASS,
				     i == 5 ? R_LOW_SUCCESS : R_MET, "y"), 0);
	}
	ASSERT_EQ(store_put_event(s, T0 + 10, "fault.start", "http-server",
				  "id 1: server-errors rate 1 code 503 for 25s"), 0);
	ASSERT_EQ(store_put_event(s, T0 + 35, "fault.end", "http-server", "id 1: time is up"), 0);
	ASSERT_EQ(store_set_run_ended(s, T0 + 60), 0);
	ASSERT_EQ(report_build(s, &c, &r), 0);
	ASSERT_EQ(r->ncauses, 1);
	ASSERT_STR_EQ(report_cause_text(&r->causes[0], "->", text, sizeof(text)),
		      "server-errors on http-server (fault #1, 04:11:10 to 04:11:35) -> http.basic");
	ASSERT_STR_EQ(r->unexplained, "grpc.basic");
	ASSERT_EQ(report_render_md(r, &b), 0);
	ASSERT_CONTAINS(b.buf, "1 cause:\n\n- server-errors on http-server (fault #1, 04:11:10 "
			"to 04:11:35) → http.basic\n- no cause found for: grpc.basic\n");
	dynbuf_reset(&b);
	ASSERT_EQ(report_render_html(r, &b), 0);
	ASSERT_CONTAINS(b.buf, "<div class=\"card\" id=\"causes\"><b>1 cause</b><ul>\n"
			"<li>server-errors on http-server (fault #1, 04:11:10 to 04:11:35) → "
			"http.basic</li>\n<li>no cause found for: grpc.basic</li>\n</ul></div>\n");
	/* the inconclusive check shows its cause, not a generic reason */
	ASSERT_CONTAINS(b.buf, CAUSE);
	report_free(r);
	dynbuf_release(&b);
	store_close(s);
}

/* The cause is read from the run's mesh's matrix: mtls-off on HAProxy breaks
 * mtls.identity too, on Linkerd it does not (meshed clients keep mTLS), so
 * there the same failure is one no fault explains. */
TEST(causes_by_the_runs_mesh)
{
	static const char *const meshes[] = { "haproxy", "linkerd" };
	struct run_config c;
	struct store *s;
	struct report *r = NULL;

	for (size_t m = 0; m < 2; m++) {
		fixture_config(&c, 60000);
		str_copy(c.mesh, sizeof(c.mesh), meshes[m]);
		c.nchecks = 2;
		str_copy(c.checks[0], sizeof(c.checks[0]), "mtls.identity");
		str_copy(c.checks[1], sizeof(c.checks[1]), "mtls.enforced");
		s = fixture_run_store(&c, NULL, 1);
		ASSERT(s);
		for (int64_t i = 0; i < 6; i++) {
			int during = i >= 1 && i <= 3;

			ASSERT_EQ(put_window(s, &c, "mtls.identity", i, during ? V_FAIL : V_PASS,
					     during ? R_LOW_SUCCESS : R_MET, "x"), 0);
			ASSERT_EQ(put_window(s, &c, "mtls.enforced", i, during ? V_FAIL : V_PASS,
					     during ? R_LOW_SUCCESS : R_MET, "y"), 0);
		}
		ASSERT_EQ(store_put_event(s, T0 + 10, "fault.start", "http-server",
					  "id 1: mtls-off for 25s"), 0);
		ASSERT_EQ(store_put_event(s, T0 + 35, "fault.end", "http-server",
					  "id 1: time is up"), 0);
		ASSERT_EQ(store_set_run_ended(s, T0 + 60), 0);
		ASSERT_EQ(report_build(s, &c, &r), 0);
		ASSERT_EQ(r->ncauses, 1);
		if (m == 0) {
			ASSERT_STR_EQ(r->causes[0].checks, "mtls.identity, mtls.enforced");
			ASSERT_STR_EQ(r->unexplained, "");
		} else {
			ASSERT_STR_EQ(r->causes[0].checks, "mtls.enforced");
			ASSERT_STR_EQ(r->unexplained, "mtls.identity");
		}
		report_free(r);
		r = NULL;
		store_close(s);
	}
}

/* A route the mesh refused (mesh.refused, subject the checks it serves)
 * explains those checks' failures until it is accepted (mesh.accepted);
 * a failure after that, or of another check, is not explained by it. */
TEST(causes_include_what_the_mesh_refused)
{
	struct run_config c;
	struct store *s;
	struct report *r = NULL;
	struct dynbuf b = DYNBUF_INIT(1 << 20);
	char text[512];

	fixture_config(&c, 60000);
	str_copy(c.mesh, sizeof(c.mesh), "linkerd");
	c.nchecks = 2;
	str_copy(c.checks[0], sizeof(c.checks[0]), "split.weights");
	str_copy(c.checks[1], sizeof(c.checks[1]), "retry.http");
	s = fixture_run_store(&c, NULL, 1);
	ASSERT(s);
	for (int64_t i = 0; i < 6; i++) {
		/* split.weights fails in windows 1-2 (refused) and 5 (after) */
		int sf = i == 1 || i == 2 || i == 5;

		ASSERT_EQ(put_window(s, &c, "split.weights", i, sf ? V_FAIL : V_PASS,
				     sf ? R_LOW_SUCCESS : R_MET, "x"), 0);
		ASSERT_EQ(put_window(s, &c, "retry.http", i, i == 2 ? V_FAIL : V_PASS,
				     i == 2 ? R_LOW_SUCCESS : R_MET, "y"), 0);
	}
	ASSERT_EQ(store_put_event(s, T0 + 10, "mesh.refused", "split.weights,split.shift",
				  "HTTPRoute http-server-split: Accepted False: NoMatchingParent"), 0);
	ASSERT_EQ(store_put_event(s, T0 + 30, "mesh.accepted", "split.weights,split.shift",
				  "HTTPRoute http-server-split: accepted"), 0);
	ASSERT_EQ(store_set_run_ended(s, T0 + 60), 0);
	ASSERT_EQ(report_build(s, &c, &r), 0);
	ASSERT_EQ(r->ncauses, 1);
	ASSERT_STR_EQ(report_cause_text(&r->causes[0], "->", text, sizeof(text)),
		      "HTTPRoute http-server-split: Accepted False: NoMatchingParent "
		      "(04:11:10 to 04:11:30) -> split.weights");
	/* retry.http is not the route's; split.weights failed again after it:
	 * the whole check is explained once, by the refusal */
	ASSERT_STR_EQ(r->unexplained, "retry.http");
	ASSERT_EQ(report_render_md(r, &b), 0);
	ASSERT_CONTAINS(b.buf, "- HTTPRoute http-server-split: Accepted False: NoMatchingParent "
			"(04:11:10 to 04:11:30) → split.weights\n- no cause found for: retry.http\n");
	report_free(r);
	dynbuf_release(&b);
	store_close(s);
}

int main(void)
{
	if (fixture_tmpdir_make("report"))
		return 2;
	log_init("test_report", LOG_ERROR);
	RUN(build_verdicts);
	RUN(recent_build_agrees);
	RUN(healthy_run_passes);
	RUN(no_data_fails);
	RUN(not_applicable_skips);
	RUN(json_parses_back);
	RUN(junit_well_formed);
	RUN(md_golden);
	RUN(verdict_rule);
	RUN(provisional_and_unknown_format);
	RUN(write_all);
	RUN(inconclusive_check);
	RUN(inconclusive_does_not_hide_failure);
	RUN(interrupted_run);
	RUN(too_short_refused);
	RUN(causes_grouped);
	RUN(causes_by_the_runs_mesh);
	RUN(causes_include_what_the_mesh_refused);
	fixture_tmpdir_remove();
	TEST_MAIN_END();
}
