/*
 * test_checks.c - the catalog and the three spine checks judged directly on
 * window data: verdicts, reasons that name the cause (outcome wording and
 * codes), stream resets and loss, and evidence that is valid JSON.
 */
#include <cJSON.h>

#include "checks/check.h"
#include "harness.h"
#include "evidence/outcome.h"
#include "base/util.h"

static struct run_config cfg;

static void row(struct agg_row *r, const char *check, unsigned outcome, int code,
		uint64_t count, uint64_t lat_us)
{
	uint64_t i;

	memset(r, 0, sizeof(*r));
	str_copy(r->check, sizeof(r->check), check);
	r->outcome = outcome;
	r->code = code;
	r->second = 1000;
	hist_init(&r->h);
	for (i = 0; i < count; i++)
		hist_add(&r->h, lat_us);
}

/* What evaluate_window does before eval: counts and latency from rows. */
static void judge(const struct check_desc *c, const struct agg_row *rows, size_t n,
		  struct window_result *out)
{
	struct window_data wd;
	size_t i;

	memset(out, 0, sizeof(*out));
	hist_init(&out->h);
	for (i = 0; i < n; i++) {
		out->total += rows[i].h.count;
		if (outcome_info(rows[i].outcome)->ok)
			out->ok += rows[i].h.count;
		hist_merge(&out->h, &rows[i].h);
	}
	out->failed = out->total - out->ok;
	memset(&wd, 0, sizeof(wd));
	wd.cfg = &cfg;
	wd.check = c;
	wd.start_s = 1000;
	wd.end_s = 1010;
	wd.rows = rows;
	wd.nrows = n;
	if (c->eval(&wd, out))
		out->verdict = V_NODATA;
}

static cJSON *evidence(const struct window_result *r)
{
	return cJSON_Parse(r->evidence);
}

TEST(catalog_table)
{
	const struct check_desc *const *all;
	size_t n, i;

	all = catalog_all(&n);
	ASSERT_EQ(n, 11);
	ASSERT_STR_EQ(all[0]->id, "http.basic");
	ASSERT_STR_EQ(all[1]->id, "grpc.basic");
	ASSERT_STR_EQ(all[2]->id, "grpc.stream");
	ASSERT_STR_EQ(all[3]->id, "mtls.identity");
	ASSERT_STR_EQ(all[10]->id, "identity.expiry");
	for (i = 0; i < n; i++) {
		ASSERT(catalog_find(all[i]->id) == all[i]);
		ASSERT(all[i]->title && all[i]->promise && all[i]->proof && all[i]->objective);
		ASSERT(all[i]->eval);
		/* the spine first, then the mesh's promises */
		ASSERT_EQ(all[i]->needs_mesh, i >= 3);
		if (i < 3)
			ASSERT_NEAR(all[i]->objective_ratio, 0.99, 1e-12);
	}
	ASSERT_EQ(catalog_find("http.basic")->roles, ROLE_HTTP_SERVER | ROLE_HTTP_CLIENT);
	ASSERT_EQ(catalog_find("grpc.stream")->roles, ROLE_GRPC_SERVER | ROLE_GRPC_CLIENT);
	ASSERT(catalog_find("nope") == NULL);
	ASSERT(catalog_find(NULL) == NULL);
}

TEST(names_tables)
{
	unsigned r;

	ASSERT_STR_EQ(verdict_name(V_PASS), "pass");
	ASSERT_STR_EQ(verdict_name(V_FAIL), "fail");
	ASSERT_STR_EQ(verdict_name(V_NODATA), "nodata");
	ASSERT_STR_EQ(verdict_name(V_SKIP), "skip");
	for (r = 0; r < R__COUNT; r++) {
		ASSERT_EQ(reason_info(r)->id, r);
		ASSERT_EQ(reason_by_name(reason_info(r)->name), (int)r);
	}
	ASSERT_STR_EQ(reason_info(R_STREAM_BROKEN)->name, "stream_broken");
	ASSERT_STR_EQ(reason_info(9999)->name, "unknown");
	ASSERT_EQ(reason_by_name("nope"), -1);
	ASSERT_STR_EQ(check_grpc_code_name(14), "UNAVAILABLE");
	ASSERT_STR_EQ(check_grpc_code_name(4), "DEADLINE_EXCEEDED");
	ASSERT_STR_EQ(check_grpc_code_name(99), "UNKNOWN_CODE");
}

TEST(http_all_ok_passes)
{
	struct agg_row rows[1];
	struct window_result r;
	cJSON *ev;

	row(&rows[0], "http.basic", OUT_OK, 200, 100, 2000);
	judge(&check_http_basic, rows, 1, &r);
	ASSERT_EQ(r.verdict, V_PASS);
	ASSERT_EQ(r.reason, R_MET);
	ASSERT_CONTAINS(r.reason_text, "success 100.0% >= objective 99.0%");
	ev = evidence(&r);
	ASSERT(ev);
	ASSERT_EQ(cJSON_GetObjectItem(ev, "total")->valueint, 100);
	ASSERT_EQ(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(ev, "outcomes"),
			"ok"), "count")->valueint, 100);
	ASSERT(cJSON_GetObjectItem(ev, "p99_ms")->valuedouble >= 2.0);
	cJSON_Delete(ev);
}

TEST(http_all_503_fails_naming_it)
{
	struct agg_row rows[1];
	struct window_result r;
	cJSON *ev, *codes;

	row(&rows[0], "http.basic", OUT_HTTP_5XX, 503, 50, 1000);
	judge(&check_http_basic, rows, 1, &r);
	ASSERT_EQ(r.verdict, V_FAIL);
	ASSERT_EQ(r.reason, R_LOW_SUCCESS);
	ASSERT_STR_EQ(r.reason_text, "success 0.0% < objective 99.0%: 50 of 50 failed: "
		      "HTTP 5xx from server (503 x50)");
	ev = evidence(&r);
	ASSERT(ev);
	codes = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(ev, "outcomes"),
			"http_5xx"), "codes");
	ASSERT(codes);
	ASSERT_EQ(cJSON_GetObjectItem(codes, "503")->valueint, 50);
	ASSERT_EQ(cJSON_GetObjectItem(ev, "failed")->valueint, 50);
	cJSON_Delete(ev);
}

TEST(http_boundary_99_percent)
{
	struct agg_row rows[2];
	struct window_result r;

	row(&rows[0], "http.basic", OUT_OK, 200, 99, 1000);
	row(&rows[1], "http.basic", OUT_HTTP_5XX, 500, 1, 1000);
	judge(&check_http_basic, rows, 2, &r);
	ASSERT_EQ(r.verdict, V_PASS);   /* exactly the objective */
	row(&rows[0], "http.basic", OUT_OK, 200, 989, 1000);
	row(&rows[1], "http.basic", OUT_HTTP_5XX, 500, 11, 1000);
	judge(&check_http_basic, rows, 2, &r);
	ASSERT_EQ(r.verdict, V_FAIL);
	/* 98.9%, never rounded up to look like the objective */
	ASSERT_CONTAINS(r.reason_text, "success 98.9% < objective 99.0%: 11 of 1000 failed");
}

TEST(grpc_unavailable_and_refused)
{
	struct agg_row rows[3];
	struct window_result r;

	row(&rows[0], "grpc.basic", OUT_GRPC_ERROR, 14, 48, 1000);
	row(&rows[1], "grpc.basic", OUT_CONNECT_REFUSED, 0, 2, 100);
	row(&rows[2], "grpc.basic", OUT_OK, 0, 50, 1000);
	judge(&check_grpc_basic, rows, 3, &r);
	ASSERT_EQ(r.verdict, V_FAIL);
	ASSERT_CONTAINS(r.reason_text, "gRPC error");
	ASSERT_STR_EQ(r.reason_text, "success 50.0% < objective 99.0%: 50 of 100 failed: "
		      "gRPC error status (code 14 UNAVAILABLE x48), connection refused x2");
}

TEST(failures_ordered_and_codes_merged)
{
	struct agg_row rows[5];
	char buf[256];

	row(&rows[0], "http.basic", OUT_HTTP_5XX, 502, 2, 1);
	row(&rows[1], "http.basic", OUT_TIMEOUT, 0, 5, 1);
	row(&rows[2], "http.basic", OUT_HTTP_5XX, 503, 3, 1);
	row(&rows[3], "http.basic", OUT_HTTP_5XX, 503, 4, 1);   /* same code, other row */
	row(&rows[4], "http.basic", OUT_OK, 200, 40, 1);
	ASSERT_UEQ(check_describe_failures(rows, 5, 0, buf, sizeof(buf)), 14);
	ASSERT_STR_EQ(buf, "HTTP 5xx from server (503 x7, 502 x2), client deadline exceeded x5");
	ASSERT_UEQ(check_describe_failures(rows, 5, 1u << OUT_HTTP_5XX, buf, sizeof(buf)), 5);
	ASSERT_STR_EQ(buf, "client deadline exceeded x5");
	ASSERT_UEQ(check_describe_failures(rows + 4, 1, 0, buf, sizeof(buf)), 0);
	ASSERT_STR_EQ(buf, "");
	/* a tiny buffer is truncated, never overrun */
	ASSERT_UEQ(check_describe_failures(rows, 5, 0, buf, 8), 14);
	ASSERT_EQ(strlen(buf), 7);
}

TEST(empty_window_is_nodata)
{
	struct window_result r;
	const struct check_desc *const *all;
	size_t n, i;

	all = catalog_all(&n);
	for (i = 0; i < n; i++) {
		judge(all[i], NULL, 0, &r);
		ASSERT_EQ(r.verdict, V_NODATA);
		ASSERT_EQ(r.reason, R_NO_DATA);
	}
}

TEST(stream_healthy)
{
	struct agg_row rows[1];
	struct window_result r;

	row(&rows[0], "grpc.stream", OUT_OK, 0, 100, 800);
	judge(&check_grpc_stream, rows, 1, &r);
	ASSERT_EQ(r.verdict, V_PASS);
	ASSERT_CONTAINS(r.reason_text, "100 of 100 messages echoed");
}

TEST(stream_reset_is_broken)
{
	struct agg_row rows[3];
	struct window_result r;
	cJSON *ev;

	row(&rows[0], "grpc.stream", OUT_OK, 0, 95, 800);
	row(&rows[1], "grpc.stream", OUT_STREAM_RESET, 0, 1, 0);
	row(&rows[2], "grpc.stream", OUT_STREAM_LOST, 0, 3, 0);
	judge(&check_grpc_stream, rows, 3, &r);
	ASSERT_EQ(r.verdict, V_FAIL);
	ASSERT_EQ(r.reason, R_STREAM_BROKEN);
	ASSERT_CONTAINS(r.reason_text, "long-lived stream broke x1 (1 reconnects)");
	ASSERT_CONTAINS(r.reason_text, "3 of 98 messages not echoed");
	ASSERT_CONTAINS(r.reason_text, "stream message never echoed x3");
	ev = evidence(&r);
	ASSERT(ev);
	ASSERT_EQ(cJSON_GetObjectItem(ev, "reconnects")->valueint, 1);
	ASSERT_EQ(cJSON_GetObjectItem(ev, "lost")->valueint, 3);
	ASSERT_EQ(cJSON_GetObjectItem(ev, "messages")->valueint, 98);
	cJSON_Delete(ev);
}

TEST(stream_loss)
{
	struct agg_row rows[2];
	struct window_result r;

	row(&rows[0], "grpc.stream", OUT_OK, 0, 99, 800);
	row(&rows[1], "grpc.stream", OUT_STREAM_LOST, 0, 1, 0);
	judge(&check_grpc_stream, rows, 2, &r);
	ASSERT_EQ(r.verdict, V_PASS);          /* 1% lost is allowed */
	row(&rows[0], "grpc.stream", OUT_OK, 0, 90, 800);
	row(&rows[1], "grpc.stream", OUT_STREAM_LOST, 0, 10, 0);
	judge(&check_grpc_stream, rows, 2, &r);
	ASSERT_EQ(r.verdict, V_FAIL);
	ASSERT_EQ(r.reason, R_STREAM_LOSS);
	ASSERT_STR_EQ(r.reason_text, "stream loss 10.0% > 1.0%: 10 of 100 messages not echoed: "
		      "stream message never echoed x10");
}

TEST(evidence_always_fits)
{
	struct agg_row rows[64];
	struct window_result r;
	cJSON *ev;
	int i;

	/* many outcomes and codes: evidence stays valid JSON within its size */
	for (i = 0; i < 64; i++)
		row(&rows[i], "http.basic", (unsigned)(i % OUT__COUNT), 100000000 + i, 1, 10);
	judge(&check_http_basic, rows, 64, &r);
	ASSERT(strlen(r.evidence) < EVIDENCE_MAX);
	ev = evidence(&r);
	ASSERT(ev);
	cJSON_Delete(ev);
	ASSERT(strlen(r.reason_text) < REASON_TEXT_MAX);
}

/* A piece that does not fit must fail the build, even when the pieces after
 * it would fit: an extra member just under the cap used to be dropped while
 * the closing brace still went in, leaving an object that ends in ",}". */
TEST(evidence_overflow_mid_way_stays_json)
{
	struct agg_row rows[2];
	struct window_data wd;
	struct window_result r;
	static char extra[EVIDENCE_MAX];
	size_t len;
	cJSON *ev;

	row(&rows[0], "http.basic", OUT_OK, 200, 5, 10);
	row(&rows[1], "http.basic", OUT_HTTP_5XX, 503, 5, 10);
	for (len = EVIDENCE_MAX - 300; len < EVIDENCE_MAX; len += 7) {
		memset(extra, 0, sizeof(extra));
		memcpy(extra, "\"pad\":\"", 7);
		memset(extra + 7, 'x', len - 8);
		extra[len - 1] = '"';
		memset(&r, 0, sizeof(r));
		hist_init(&r.h);
		r.total = 10;
		r.ok = 5;
		r.failed = 5;
		memset(&wd, 0, sizeof(wd));
		wd.rows = rows;
		wd.nrows = 2;
		check_evidence_fill(&wd, &r, extra);
		ASSERT(strlen(r.evidence) < EVIDENCE_MAX);
		ev = cJSON_Parse(r.evidence);
		if (!ev)
			fprintf(stderr, "extra of %zu bytes gave: ...%s\n", len,
				r.evidence + (strlen(r.evidence) > 40 ? strlen(r.evidence) - 40 : 0));
		ASSERT(ev);
		cJSON_Delete(ev);
	}
}

int main(void)
{
	run_config_defaults(&cfg);
	RUN(catalog_table);
	RUN(names_tables);
	RUN(http_all_ok_passes);
	RUN(http_all_503_fails_naming_it);
	RUN(http_boundary_99_percent);
	RUN(grpc_unavailable_and_refused);
	RUN(failures_ordered_and_codes_merged);
	RUN(empty_window_is_nodata);
	RUN(stream_healthy);
	RUN(stream_reset_is_broken);
	RUN(stream_loss);
	RUN(evidence_always_fits);
	RUN(evidence_overflow_mid_way_stays_json);
	TEST_MAIN_END();
}
