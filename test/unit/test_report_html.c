/*
 * test_report_html.c - report.html from fixture stores: the golden page of
 * the 40 s fixture (same as test_report.c), well-formed markup with every
 * text escaped and nothing loaded from outside, monitor gaps and split/retry
 * charts from window evidence, and a 7-day run (60,480 windows of 10 s for
 * each of 3 checks) that must render fast and small thanks to aggregation.
 */
#include <math.h>
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
#include "config/state.h"

#define WEEK_S (7 * 86400)

static struct store *new_store(struct run_config *c, int64_t duration_ms)
{
	fixture_config(c, duration_ms);
	return fixture_run_store(c, NULL, 0);
}

/*
 * The fixture of test_report.c: a 40 s run (4 windows of 10 s) under mesh
 * "none", http.basic healthy, grpc.basic failing with UNAVAILABLE in windows
 * 1-2, grpc.stream not selected; events with characters that need escaping.
 */
static struct store *fixture(struct run_config *c)
{
	struct store *s = fixture_store40(c, NULL, 0, 0);

	if (!s)
		return NULL;
	{
		/* one failing request kept as a sample, shown with its incident */
		struct store_sample sm;

		memset(&sm, 0, sizeof(sm));
		str_copy(sm.check, sizeof(sm.check), "grpc.basic");
		str_copy(sm.request_id, sizeof(sm.request_id),
			 "grpc.basic.grpc-client.2a.140.1763784674000");
		sm.outcome = OUT_GRPC_ERROR;
		sm.code = 14;
		sm.latency_us = 2500;
		str_copy(sm.identity, sizeof(sm.identity), "<i>");
		sm.ts_ms = (T0 + 14) * 1000LL;
		if (store_put_batch_samples(s, "grpc-client", 43, 1, NULL, 0, &sm, 1) != 1)
			goto fail;
	}
	if (fixture_put_resent(s) || fixture_put_events(s) ||
	    store_put_event(s, T0 + 31, "note", "<script>alert(1)</script>", "</td></tr>") ||
	    fixture_evaluate40(s, c, 1, 0))
		goto fail;
	return s;
fail:
	store_close(s);
	return NULL;
}

/* With REPORT_HTML_KEEP=DIR, keep a rendered page there to look at. */
static void keep(const char *name, const struct dynbuf *b)
{
	const char *dir = getenv("REPORT_HTML_KEEP");
	char path[512];

	if (dir && *dir && !str_fmt(path, sizeof(path), "%s/%s", dir, name))
		file_write_atomic(path, b->buf, b->len, 0644);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	while ((hay = strstr(hay, needle))) {
		n++;
		hay++;
	}
	return n;
}

/* A check of the report by id (the catalog order is not this test's business). */
static const struct report_check *chk(const struct report *r, const char *id)
{
	static struct report_check none;
	size_t i;

	for (i = 0; i < r->nchecks; i++)
		if (!strcmp(r->checks[i].desc->id, id))
			return &r->checks[i];
	return &none;
}

/* Nothing may come from outside: the only URL is the SVG namespace. */
static int self_contained(const char *html)
{
	return count(html, "http://") == count(html, "xmlns=\"http://www.w3.org/2000/svg\"") &&
	       !strstr(html, "https:") &&
	       !strstr(html, "<script") && !strstr(html, "<link") && !strstr(html, "src=") &&
	       !strstr(html, "url(") && !strstr(html, "@import");
}

TEST(golden_page)
{
	struct run_config c;
	struct store *s = fixture(&c);
	struct report *r = NULL;
	struct dynbuf b = DYNBUF_INIT(1 << 22);

	ASSERT(s);
	ASSERT_EQ(report_build(s, &c, &r), 0);
	ASSERT_EQ(chk(r, "grpc.basic")->win_total, 4);
	ASSERT(chk(r, "grpc.basic")->windows);
	ASSERT_EQ(chk(r, "grpc.basic")->windows[1].verdict, V_FAIL);
	ASSERT_UEQ(chk(r, "grpc.basic")->windows[1].total, 100);
	ASSERT_UEQ(chk(r, "grpc.basic")->windows[1].ok, 10);
	ASSERT(chk(r, "grpc.basic")->windows[0].p99_ms > 0.9);
	ASSERT(isnan(chk(r, "grpc.basic")->windows[0].split_observed));
	ASSERT(isnan(chk(r, "grpc.basic")->windows[0].split_expected));
	ASSERT_EQ(chk(r, "grpc.basic")->last_verdict, V_PASS);
	ASSERT_EQ(chk(r, "grpc.stream")->last_verdict, V_NODATA);
	ASSERT(!chk(r, "grpc.stream")->windows);

	ASSERT_EQ(report_render(r, "html", &b), 0);
	ASSERT_EQ(markup_walk(b.buf, MARKUP_HTML), 0);
	ASSERT(self_contained(b.buf));
	ASSERT_CONTAINS(b.buf, "<title>conform 20251122-041100-3fa2: not conformant</title>");
	ASSERT_CONTAINS(b.buf, "not conformant</h1>");
	ASSERT_CONTAINS(b.buf, "<tr class=\"check\" id=\"check-http.basic\">");
	ASSERT_CONTAINS(b.buf, "<tr class=\"check\" id=\"check-grpc.basic\">");
	ASSERT_CONTAINS(b.buf, "<tr class=\"check\" id=\"check-grpc.stream\">");
	ASSERT_EQ(count(b.buf, "<tr class=\"check\""), r->nchecks);
	/* bands: grpc.basic passes, fails two windows, passes again */
	ASSERT_CONTAINS(b.buf, "1 cell = 1 window (10s)");
	ASSERT_EQ(count(b.buf, "<rect class=\"c-fail\""), 1);
	ASSERT_CONTAINS(b.buf, "2025-11-22T04:11:10Z .. 2025-11-22T04:11:30Z: fail "
			"(0 pass, 2 fail, 0 nodata, 0 monitor gap)");
	/* two checks evaluated: two success and two latency charts, no split/retry */
	ASSERT_EQ(count(b.buf, "class=\"chart success\""), 2);
	ASSERT_EQ(count(b.buf, "class=\"chart latency\""), 2);
	ASSERT_EQ(count(b.buf, "class=\"chart split\""), 0);
	ASSERT_EQ(count(b.buf, "class=\"chart retry\""), 0);
	ASSERT_EQ(count(b.buf, "<tr class=\"incident\">"), 1);
	ASSERT_CONTAINS(b.buf, "<code>grpc.basic.grpc-client.2a.140.1763784674000</code> grpc_error"
			" 14, 2.500 ms, identity &lt;i&gt;");
	ASSERT_EQ(count(b.buf, "<tr class=\"event\">"), 5);   /* + check.state */
	/* escaped, never markup */
	ASSERT_CONTAINS(b.buf, "server-errors rate=0.9 code=14 &lt;&quot;all&quot; &amp; "
			"&apos;more&apos;&gt; | pipe");
	ASSERT_CONTAINS(b.buf, "&lt;script&gt;alert(1)&lt;/script&gt;");
	ASSERT_CONTAINS(b.buf, "<dt>conform version</dt><dd>0.");
	ASSERT_CONTAINS(b.buf, "<dt>window size</dt><dd>10s</dd>");
	ASSERT_CONTAINS(b.buf, "<dt>duration</dt><dd>40s</dd>");
	keep("report.html", &b);
	ASSERT_EQ(golden_check("report.html", b.buf), 0);
	/* the walk itself rejects broken markup */
	ASSERT(markup_walk("<!DOCTYPE html>\n<a><b></a></b>", MARKUP_HTML) != 0);
	ASSERT(markup_walk("<!DOCTYPE html>\n<a x=\"<\"></a>", MARKUP_HTML) != 0);
	ASSERT(markup_walk("<!DOCTYPE html>\n<a>&bogus</a>", MARKUP_HTML) != 0);
	ASSERT(markup_walk("<!DOCTYPE html>\n<a>", MARKUP_HTML) != 0);
	ASSERT(!self_contained("<img src=\"http://example.com/x.png\"/>"));
	dynbuf_release(&b);
	report_free(r);
	store_close(s);
}

static int put_window(struct store *s, const char *check, int64_t idx, enum verdict v,
		      enum reason why, uint64_t total, uint64_t ok, uint64_t lat_us,
		      const char *evidence)
{
	static struct run_config dflt;
	struct window_result w;
	uint64_t i;

	memset(&w, 0, sizeof(w));
	w.verdict = v;
	w.reason = why;
	str_fmt(w.reason_text, sizeof(w.reason_text), "%s", reason_info(why)->human);
	str_copy(w.evidence, sizeof(w.evidence), evidence ? evidence : "{}");
	w.total = total;
	w.ok = ok;
	w.failed = total - ok;
	hist_init(&w.h);
	for (i = 0; i < 20 && i < total; i++)
		hist_add(&w.h, lat_us + i * 50);
	/* through the sink's second half, so debounce records the incidents */
	run_config_defaults(&dflt);
	return evaluate_record(s, &dflt, check, idx, T0 + idx * 10, T0 + idx * 10 + 10, &w);
}

TEST(gap_split_retry)
{
	struct run_config c;
	struct store *s = new_store(&c, 60000);
	struct report *r = NULL;
	struct dynbuf b = DYNBUF_INIT(1 << 22);
	char ev[256];
	int64_t i;

	ASSERT(s);
	c.nchecks = 2;
	str_copy(c.checks[0], sizeof(c.checks[0]), "http.basic");
	str_copy(c.checks[1], sizeof(c.checks[1]), "grpc.stream");
	for (i = 0; i < 6; i++) {
		str_fmt(ev, sizeof(ev), "{\"total\":100,\"attempts\":[%d,%d,1],"
			"\"limit\":3,\"expected\":0.99}", 50, (int)(10 * i));
		ASSERT_EQ(put_window(s, "http.basic", i, i == 3 ? V_NODATA : V_PASS,
				     i == 3 ? R_MONITOR_GAP : R_MET, i == 3 ? 0 : 100,
				     i == 3 ? 0 : 100, 2000, i == 3 ? "{}" : ev), 0);
		str_fmt(ev, sizeof(ev), "{\"observed\":%.2f,\"expected\":0.2,\"lo\":0.15,"
			"\"hi\":0.25}", i == 4 ? 0.5 : 0.21);
		ASSERT_EQ(put_window(s, "grpc.stream", i, i == 4 ? V_FAIL : V_PASS,
				     i == 4 ? R_SPLIT_OUT_OF_BOUND : R_MET, 50, 50, 900, ev), 0);
	}
	/* a malformed evidence object is skipped, not fatal */
	ASSERT_EQ(put_window(s, "grpc.stream", 5, V_PASS, R_MET, 50, 50, 900,
			     "{\"observed\": [oops"), 0);
	ASSERT_EQ(store_set_run_ended(s, T0 + 60), 0);
	ASSERT_EQ(report_build(s, &c, &r), 0);
	ASSERT_EQ(chk(r, "http.basic")->win_total, 6);
	ASSERT_NEAR(chk(r, "http.basic")->windows[0].attempts_per_request, (50 + 0 + 3) / 51.0, 1e-9);
	ASSERT_NEAR(chk(r, "http.basic")->windows[2].attempts_per_request, (50 + 40 + 3) / 71.0, 1e-9);
	ASSERT_NEAR(chk(r, "http.basic")->windows[2].attempts_limit, 3, 0);
	ASSERT(isnan(chk(r, "http.basic")->windows[2].split_expected));   /* retry's "expected" */
	ASSERT(isnan(chk(r, "http.basic")->windows[3].attempts_per_request));
	ASSERT_EQ(chk(r, "http.basic")->windows[3].reason, R_MONITOR_GAP);
	ASSERT_NEAR(chk(r, "grpc.stream")->windows[4].split_observed, 0.5, 1e-9);
	ASSERT_NEAR(chk(r, "grpc.stream")->windows[4].split_hi, 0.25, 1e-9);
	ASSERT(isnan(chk(r, "grpc.stream")->windows[5].split_observed));
	ASSERT_EQ(report_render_html(r, &b), 0);
	keep("report-gap-split-retry.html", &b);
	ASSERT_EQ(markup_walk(b.buf, MARKUP_HTML), 0);
	ASSERT(self_contained(b.buf));
	ASSERT_EQ(count(b.buf, "<rect class=\"c-gap\""), 1);
	ASSERT_CONTAINS(b.buf, "monitor gap (0 pass, 0 fail, 0 nodata, 1 monitor gap)");
	ASSERT_EQ(count(b.buf, "class=\"chart split\""), 1);
	ASSERT_EQ(count(b.buf, "class=\"chart retry\""), 1);
	ASSERT_EQ(count(b.buf, "<rect class=\"s-band\""), 5);
	ASSERT_CONTAINS(b.buf, "most attempts allowed");
	dynbuf_release(&b);
	report_free(r);
	store_close(s);
}

TEST(provisional)
{
	struct run_config c;
	struct store *s = new_store(&c, 0);
	struct report *r = NULL;
	struct dynbuf b = DYNBUF_INIT(1 << 22);

	ASSERT(s);
	c.nchecks = 1;
	str_copy(c.checks[0], sizeof(c.checks[0]), "http.basic");
	ASSERT_EQ(report_build(s, &c, &r), 0);
	ASSERT_EQ(report_render_html(r, &b), 0);
	ASSERT_EQ(markup_walk(b.buf, MARKUP_HTML), 0);
	ASSERT_CONTAINS(b.buf, "Provisional");
	ASSERT_CONTAINS(b.buf, "No window was evaluated yet.");
	ASSERT_CONTAINS(b.buf, "until stopped");
	/* a full buffer fails cleanly */
	dynbuf_release(&b);
	dynbuf_init(&b, 2000);
	ASSERT_EQ(report_render_html(r, &b), -1);
	dynbuf_release(&b);
	report_free(r);
	store_close(s);
}

/*
 * 7 days of 10 s windows for the 3 catalog checks: mostly passing, a
 * 30 s failure every 40 min, a 30 min monitor gap on day 3, split evidence on one
 * check and attempts on another so every chart is drawn at full length.
 */
TEST(seven_days)
{
	struct run_config c;
	struct store *s = new_store(&c, (int64_t)WEEK_S * 1000);
	struct report *r = NULL;
	struct dynbuf b = DYNBUF_INIT(64u << 20);
	const int64_t nwin = WEEK_S / 10;
	const char *ids[] = { "http.basic", "grpc.basic", "grpc.stream" };
	int64_t i, t_build, t_render;
	size_t k;
	char ev[256];

	ASSERT(s);
	ASSERT_EQ(nwin, 60480);
	c.nchecks = 3;
	for (k = 0; k < 3; k++)
		str_copy(c.checks[k], sizeof(c.checks[k]), ids[k]);
	for (i = 0; i < nwin; i++) {
		int failing = (i % 240) >= 100 && (i % 240) < 103;
		int gap = i >= 3 * 8640 && i < 3 * 8640 + 180;

		for (k = 0; k < 3; k++) {
			enum verdict v = gap ? V_NODATA : failing && k == 1 ? V_FAIL : V_PASS;
			enum reason why = gap ? R_MONITOR_GAP : v == V_FAIL ? R_LOW_SUCCESS : R_MET;

			if (k == 0)
				str_fmt(ev, sizeof(ev), "{\"attempts\":[90,%d]}", (int)(i % 13));
			else if (k == 2)
				str_fmt(ev, sizeof(ev), "{\"observed\":%.3f,\"expected\":0.1,"
					"\"lo\":0.06,\"hi\":0.14}", 0.1 + 0.03 * sin((double)i / 500));
			else
				str_copy(ev, sizeof(ev), "{}");
			ASSERT_EQ(put_window(s, ids[k], i, v, why, gap ? 0 : 100,
					     gap ? 0 : v == V_FAIL ? 40 : 100,
					     1000 + (uint64_t)(i % 97) * 30, ev), 0);
		}
	}
	for (i = 0; i < 400; i++)
		ASSERT_EQ(store_put_event(s, T0 + (double)i * 1500, i % 2 ? "fault.end" : "fault.start",
					  "grpc-server", "server-errors rate=0.6"), 0);
	ASSERT_EQ(store_set_run_ended(s, T0 + WEEK_S), 0);

	t_build = mono_ms();
	ASSERT_EQ(report_build(s, &c, &r), 0);
	t_build = mono_ms() - t_build;
	t_render = mono_ms();
	ASSERT_EQ(report_render_html(r, &b), 0);
	t_render = mono_ms() - t_render;
	fprintf(stderr, "# 7 days, 3 x %" PRId64 " windows: build %" PRId64 " ms, render %" PRId64
		" ms, report.html %zu bytes\n", nwin, t_build, t_render, b.len);
	printf("# 7-day report.html: render %" PRId64 " ms (build %" PRId64 " ms), %zu bytes\n",
	       t_render, t_build, b.len);
	ASSERT_EQ(chk(r, "grpc.basic")->nincidents, 251);  /* one every 40 min, minus the gap's */
	ASSERT_EQ(markup_walk(b.buf, MARKUP_HTML), 0);
	ASSERT(self_contained(b.buf));
	keep("report-7d.html", &b);
	ASSERT(t_render < 1000);
	ASSERT(b.len < 2u * 1024 * 1024);
	ASSERT_CONTAINS(b.buf, "1 cell = 152 windows (25m20s)");
	ASSERT_EQ(count(b.buf, "<rect class=\"c-gap\""), 3);
	ASSERT_EQ(count(b.buf, "class=\"chart split\""), 1);
	ASSERT_EQ(count(b.buf, "class=\"chart retry\""), 1);
	ASSERT_CONTAINS(b.buf, "more incidents are listed in report.json");
	ASSERT_CONTAINS(b.buf, "earlier ones are in report.json");
	dynbuf_release(&b);
	report_free(r);
	store_close(s);
}

/* A run of state: run.json, and reports/report.json (and report.html) when given. */
static void history_run(const char *state, const char *id, const char *report_json, int html)
{
	struct run_config c;
	char dir[PATH_MAX], path[PATH_MAX];

	state_run_dir(state, id, dir, sizeof(dir));
	state_run_dir_create(dir, NULL, 0);
	fixture_config(&c, 40000);
	str_copy(c.id, sizeof(c.id), id);
	str_copy(c.run_dir, sizeof(c.run_dir), dir);
	str_fmt(path, sizeof(path), "%s/run.json", dir);
	run_config_save(&c, path);
	if (report_json) {
		str_fmt(path, sizeof(path), "%s/reports/report.json", dir);
		file_write_atomic(path, report_json, strlen(report_json), 0644);
	}
	if (html) {
		str_fmt(path, sizeof(path), "%s/reports/report.html", dir);
		file_write_atomic(path, "<!DOCTYPE html>\n", 16, 0644);
	}
}

/* The strip classes of check's history row, as "pass fail nodata ...". */
static const char *strip_of(const char *html, const char *check, char *out, size_t len)
{
	char key[64];
	const char *p, *end;
	size_t n = 0;

	out[0] = '\0';
	str_fmt(key, sizeof(key), "id=\"hist-%s\"", check);
	if (!(p = strstr(html, key)) || !(end = strstr(p, "</tr>")))
		return out;
	while ((p = strstr(p, "class=\"c-")) && p < end) {
		const char *q = p + strlen("class=\"c-"), *z = strchr(q, '"');

		if (z && n + (size_t)(z - q) + 2 < len) {
			if (n)
				out[n++] = ' ';
			memcpy(out + n, q, (size_t)(z - q));
			n += (size_t)(z - q);
			out[n] = '\0';
		}
		p = q;
	}
	return out;
}

/*
 * A run in STATE/runs/<id> links to the newest earlier run that has a
 * report.html and shows each judged check's verdict over the earlier runs
 * (never the later ones), this run last; the same run copied out of its
 * state directory shows neither.
 */
TEST(history_strip)
{
	static const char *pass_both = "{\"verdict\":\"pass\",\"checks\":["
		"{\"id\":\"http.basic\",\"verdict\":\"pass\"},"
		"{\"id\":\"grpc.basic\",\"verdict\":\"pass\"},"
		"{\"id\":\"grpc.stream\",\"verdict\":\"skip\"}]}";
	static const char *grpc_fails = "{\"verdict\":\"fail\",\"checks\":["
		"{\"id\":\"http.basic\",\"verdict\":\"pass\"},"
		"{\"id\":\"grpc.basic\",\"verdict\":\"fail\"},"
		"{\"id\":\"grpc.stream\",\"verdict\":\"skip\"}]}";
	struct run_config c;
	struct store *s = fixture(&c);
	struct report *r = NULL;
	struct dynbuf b = DYNBUF_INIT(1 << 22);
	char state[PATH_MAX], strip[128];

	ASSERT(s);
	str_fmt(state, sizeof(state), "%s/state", fixture_tmpdir);
	ASSERT_EQ(state_dir_create(state, NULL, 0), 0);
	history_run(state, "20251120-000000-aaaa", pass_both, 1);
	history_run(state, "20251121-000000-bbbb", grpc_fails, 0);  /* no report.html */
	history_run(state, "20251121-120000-cccc", NULL, 0);        /* died: no report */
	history_run(state, "20251123-000000-dddd", grpc_fails, 1);  /* later: not history */
	ASSERT_EQ(state_run_dir(state, c.id, c.run_dir, sizeof(c.run_dir)), 0);

	ASSERT_EQ(report_build(s, &c, &r), 0);
	ASSERT_EQ(r->history.nruns, 4);
	ASSERT_STR_EQ(r->history.ids[0], "20251120-000000-aaaa");
	ASSERT_STR_EQ(r->history.ids[3], c.id);
	ASSERT_STR_EQ(r->history.prev, "20251120-000000-aaaa");
	ASSERT_EQ(r->history.prev_verdict, V_PASS);
	ASSERT_EQ(report_render(r, "html", &b), 0);
	ASSERT_EQ(markup_walk(b.buf, MARKUP_HTML), 0);
	ASSERT(self_contained(b.buf));
	ASSERT_CONTAINS(b.buf, "<dt>previous run</dt><dd><a class=\"prev\" "
			"href=\"../../20251120-000000-aaaa/reports/report.html\">");
	ASSERT_CONTAINS(b.buf, "<section id=\"history\">");
	ASSERT_EQ(count(b.buf, "<tr class=\"hist\""), 2);  /* grpc.stream: never judged */
	ASSERT_STR_EQ(strip_of(b.buf, "http.basic", strip, sizeof(strip)),
		     "pass pass nodata pass");
	ASSERT_STR_EQ(strip_of(b.buf, "grpc.basic", strip, sizeof(strip)),
		     "pass fail nodata fail");
	ASSERT_CONTAINS(b.buf, "<title>20251121-000000-bbbb: fail</title>");
	ASSERT_CONTAINS(b.buf, "<title>20251122-041100-3fa2 (this run): fail</title>");
	ASSERT(!strstr(b.buf, "20251123-000000-dddd"));
	keep("report-history.html", &b);
	report_free(r);
	r = NULL;
	dynbuf_reset(&b);

	/* the previous report.html is the newest earlier one that exists */
	history_run(state, "20251121-000000-bbbb", grpc_fails, 1);
	ASSERT_EQ(report_build(s, &c, &r), 0);
	ASSERT_STR_EQ(r->history.prev, "20251121-000000-bbbb");
	ASSERT_EQ(r->history.prev_verdict, V_FAIL);
	report_free(r);
	r = NULL;

	/* copied elsewhere: no siblings, no strip, no link */
	str_fmt(c.run_dir, sizeof(c.run_dir), "%s/copy/%s", fixture_tmpdir, c.id);
	ASSERT_EQ(report_build(s, &c, &r), 0);
	ASSERT_EQ(r->history.nruns, 0);
	ASSERT_EQ(report_render(r, "html", &b), 0);
	ASSERT(!strstr(b.buf, "id=\"history\""));
	ASSERT(!strstr(b.buf, "previous run"));
	/* the first run of a state directory has nothing to compare with */
	ASSERT_EQ(state_run_dir(state, "20251119-000000-0000", c.run_dir, sizeof(c.run_dir)), 0);
	report_free(r);
	ASSERT_EQ(report_build(s, &c, &r), 0);
	ASSERT_EQ(r->history.nruns, 0);
	ASSERT(!r->history.prev[0]);
	dynbuf_release(&b);
	report_free(r);
	store_close(s);
}

int main(void)
{
	/* seven_days writes 181,440 windows, one fsynced commit each */
	if (fixture_tmpdir_make_fast("html"))
		return 2;
	log_init("test_report_html", LOG_ERROR);
	RUN(golden_page);
	RUN(gap_split_retry);
	RUN(provisional);
	RUN(seven_days);
	RUN(history_strip);
	fixture_tmpdir_remove();
	TEST_MAIN_END();
}
