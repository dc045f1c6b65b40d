/*
 * test_store.c - the run database: create and reopen, the run row, batches
 * deduplicated by (workload, instance, seq), rows by time range, totals,
 * a check's variants ("X/slow") with its rows and totals (conformd's own rows
 * left out of totals), rows of all checks, events by kind, windows replaced in
 * place, events in order, counters, concurrent writers, damaged rows
 * skipped instead of trusted; pruning rows (totals unchanged) and batch
 * records (dedupe kept by a floor), the upgrade from schema 2, and walking
 * windows with counts and picks.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>

#include "harness.h"
#include "evidence/outcome.h"
#include "store/store.h"
#include "base/util.h"

static char tmpdir[64];

static const char *db_path(const char *name)
{
	static char p[128];

	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	return p;
}

static struct store *open_new(const char *name)
{
	struct store *s = NULL;
	char err[256];

	if (store_open(db_path(name), 1, &s, err, sizeof(err))) {
		fprintf(stderr, "store_open: %s\n", err);
		return NULL;
	}
	return s;
}

static void make_row(struct agg_row *r, const char *check, unsigned outcome, int code,
		     int64_t second, uint64_t count, uint64_t lat_us)
{
	uint64_t i;

	memset(r, 0, sizeof(*r));
	str_copy(r->check, sizeof(r->check), check);
	r->outcome = outcome;
	r->code = code;
	str_copy(r->backend, sizeof(r->backend), "v1");
	r->second = second;
	hist_init(&r->h);
	for (i = 0; i < count; i++)
		hist_add(&r->h, lat_us + i);
	r->attempts[0] = count;
}

TEST(open_requires_create)
{
	struct store *s = NULL;
	char err[256] = "";

	ASSERT_EQ(store_open(db_path("missing.db"), 0, &s, err, sizeof(err)), -1);
	ASSERT(s == NULL);
	ASSERT(err[0]);
	s = open_new("a.db");
	ASSERT(s);
	store_close(s);
	ASSERT_EQ(store_open(db_path("a.db"), 0, &s, err, sizeof(err)), 0);
	store_close(s);
	store_close(NULL);
}

TEST(not_a_store)
{
	struct store *s = NULL;
	char err[256] = "";
	FILE *f = fopen(db_path("junk.db"), "w");

	ASSERT(f);
	fputs("this is not sqlite at all, just text that is long enough to look like a header", f);
	fclose(f);
	ASSERT_EQ(store_open(db_path("junk.db"), 0, &s, err, sizeof(err)), -1);
	ASSERT(err[0]);
}

TEST(run_row)
{
	struct store *s = open_new("run.db");
	struct store_run r, g;

	ASSERT(s);
	ASSERT_EQ(store_get_run(s, &g), -1);
	ASSERT_CONTAINS(store_errmsg(s), "no run");
	ASSERT_EQ(store_set_run_ended(s, 5), -1);
	memset(&r, 0, sizeof(r));
	str_copy(r.id, sizeof(r.id), "20261122-041100-3fa2");
	str_copy(r.platform, sizeof(r.platform), "local");
	str_copy(r.mesh, sizeof(r.mesh), "none");
	r.started = 1763784660.5;
	r.window_ms = 10000;
	r.duration_ms = 60000;
	str_copy(r.config_json, sizeof(r.config_json), "{\"id\":\"x\"}");
	ASSERT_EQ(store_put_run(s, &r), 0);
	ASSERT_EQ(store_get_run(s, &g), 0);
	ASSERT_STR_EQ(g.id, r.id);
	ASSERT_STR_EQ(g.mesh, "none");
	ASSERT_NEAR(g.started, 1763784660.5, 1e-9);
	ASSERT_NEAR(g.ended, 0, 0);
	ASSERT_EQ(g.window_ms, 10000);
	ASSERT_EQ(g.duration_ms, 60000);
	ASSERT_STR_EQ(g.config_json, "{\"id\":\"x\"}");
	ASSERT_EQ(store_set_run_ended(s, 1763784720.25), 0);
	ASSERT_EQ(store_get_run(s, &g), 0);
	ASSERT_NEAR(g.ended, 1763784720.25, 1e-9);
	store_close(s);
}

TEST(batches_dedupe_and_rows)
{
	struct store *s = open_new("batch.db");
	struct agg_row rows[3], *got = NULL;
	size_t n = 0;

	ASSERT(s);
	make_row(&rows[0], "http.basic", OUT_OK, 200, 100, 10, 1000);
	make_row(&rows[1], "http.basic", OUT_HTTP_5XX, 503, 101, 2, 5000);
	make_row(&rows[2], "grpc.basic", OUT_OK, 0, 100, 4, 700);
	ASSERT_EQ(store_put_batch(s, "http-client", 0xfeedfacecafebeefULL, 1, rows, 3), 1);
	/* the same key again: acked, not stored */
	ASSERT_EQ(store_put_batch(s, "http-client", 0xfeedfacecafebeefULL, 1, rows, 3), 0);
	/* a new instance restarts seq: a different batch */
	ASSERT_EQ(store_put_batch(s, "http-client", 7, 1, rows, 1), 1);
	/* another workload, same instance and seq: different too */
	ASSERT_EQ(store_put_batch(s, "grpc-client", 7, 1, rows + 2, 1), 1);
	ASSERT_EQ(store_counter_get(s, "batches.accepted"), 3);
	ASSERT_EQ(store_counter_get(s, "batches.duplicate"), 1);

	ASSERT_EQ(store_get_rows(s, "http.basic", 100, 102, &got, &n), 0);
	ASSERT_EQ(n, 3);
	ASSERT_EQ(got[0].second, 100);
	ASSERT_EQ(got[1].second, 100);
	ASSERT_EQ(got[2].second, 101);
	ASSERT_EQ(got[2].outcome, OUT_HTTP_5XX);
	ASSERT_EQ(got[2].code, 503);
	ASSERT_STR_EQ(got[2].workload, "http-client");
	ASSERT_STR_EQ(got[2].backend, "v1");
	ASSERT_UEQ(got[2].h.count, 2);
	ASSERT_UEQ(got[2].h.sum_us, 10001);
	ASSERT_UEQ(got[2].h.max_us, 5001);
	{
		uint64_t sum = 0;
		unsigned i;

		for (i = 0; i < HIST_BUCKETS; i++)
			sum += got[2].h.b[i];
		ASSERT_UEQ(sum, 2);
		ASSERT(got[2].h.b[hist_index(5000)] >= 1);
	}
	ASSERT_UEQ(got[0].attempts[0], 10);
	free(got);

	/* [from, to): second 101 alone */
	ASSERT_EQ(store_get_rows(s, "http.basic", 101, 102, &got, &n), 0);
	ASSERT_EQ(n, 1);
	free(got);
	ASSERT_EQ(store_get_rows(s, "http.basic", 102, 200, &got, &n), 0);
	ASSERT_EQ(n, 0);
	ASSERT(got == NULL);
	store_close(s);
}

TEST(group_commit_batches)
{
	struct store *s = open_new("group.db");
	struct agg_row rows[2];
	struct store_batch bs[4];
	struct store_totals t;

	ASSERT(s);
	make_row(&rows[0], "http.basic", OUT_OK, 200, 100, 10, 1000);
	make_row(&rows[1], "http.basic", OUT_HTTP_5XX, 503, 100, 2, 5000);
	ASSERT_EQ(store_put_batch(s, "http-client", 7, 1, rows, 1), 1);
	memset(bs, 0, sizeof(bs));
	/* seq 1 was stored before, seq 2 comes twice within the group */
	bs[0] = (struct store_batch){ .workload = "http-client", .instance = 7, .seq = 1,
				      .rows = rows, .n = 1 };
	bs[1] = (struct store_batch){ .workload = "http-client", .instance = 7, .seq = 2,
				      .rows = rows, .n = 2 };
	bs[2] = bs[1];
	bs[3] = (struct store_batch){ .workload = "grpc-client", .instance = 9, .seq = 1,
				      .rows = rows + 1, .n = 1, .mark = "tap.stored_through_ms",
				      .mark_value = 42 };
	ASSERT_EQ(store_counter_raise(s, "tap.stored_through_ms", 50), 0);
	ASSERT_EQ(store_put_batches(s, bs, 4), 0);
	/* a mark rides with its batch and only moves forward */
	ASSERT_EQ(store_counter_get(s, "tap.stored_through_ms"), 50);
	ASSERT_EQ(bs[0].rc, 0);
	ASSERT_EQ(bs[1].rc, 1);
	ASSERT_EQ(bs[2].rc, 0);
	ASSERT_EQ(bs[3].rc, 1);
	ASSERT_EQ(store_counter_get(s, "batches.accepted"), 3);
	ASSERT_EQ(store_counter_get(s, "batches.duplicate"), 2);
	/* 10 (first batch) + 12 (seq 2 once) + 2 (grpc-client) */
	ASSERT_EQ(store_get_totals(s, "http.basic", &t), 0);
	ASSERT_UEQ(t.total, 24);
	/* statements reused across groups: a second group stores as the first */
	bs[0] = (struct store_batch){ .workload = "http-client", .instance = 7, .seq = 3,
				      .rows = rows, .n = 2 };
	ASSERT_EQ(store_put_batches(s, bs, 1), 0);
	ASSERT_EQ(bs[0].rc, 1);
	ASSERT_EQ(store_get_totals(s, "http.basic", &t), 0);
	ASSERT_UEQ(t.total, 36);
	ASSERT_EQ(store_put_batches(s, bs, 0), 0);
	/* a later mark with its batch raises the counter in the same commit */
	bs[0] = (struct store_batch){ .workload = "conformd.tap", .instance = 1, .seq = 1,
				      .rows = rows, .n = 1, .mark = "tap.stored_through_ms",
				      .mark_value = 60 };
	ASSERT_EQ(store_put_batches(s, bs, 1), 0);
	ASSERT_EQ(bs[0].rc, 1);
	ASSERT_EQ(store_counter_get(s, "tap.stored_through_ms"), 60);
	store_close(s);
}

TEST(bounded_strings_truncate)
{
	struct store *s = open_new("long.db");
	struct agg_row r, *got = NULL;
	char longname[300];
	size_t n = 0;

	ASSERT(s);
	memset(longname, 'w', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	make_row(&r, "http.basic", OUT_OK, 200, 5, 1, 10);
	ASSERT_EQ(store_put_batch(s, longname, 1, 1, &r, 1), 1);
	ASSERT_EQ(store_put_event(s, 1.0, longname, longname, longname), 0);
	ASSERT_EQ(store_get_rows(s, "http.basic", 0, 10, &got, &n), 0);
	ASSERT_EQ(n, 1);
	ASSERT_EQ(strlen(got[0].workload), sizeof(got[0].workload) - 1);
	free(got);
	store_close(s);
}

TEST(totals)
{
	struct store *s = open_new("totals.db");
	struct store_totals t;
	struct agg_row rows[3];

	ASSERT(s);
	make_row(&rows[0], "http.basic", OUT_OK, 200, 100, 90, 1000);
	make_row(&rows[1], "http.basic", OUT_HTTP_5XX, 503, 100, 8, 2000);
	make_row(&rows[2], "http.basic", OUT_TIMEOUT, 0, 5000, 2, 2000000);
	ASSERT_EQ(store_put_batch(s, "c", 1, 1, rows, 2), 1);
	ASSERT_EQ(store_put_batch(s, "c", 1, 2, rows + 2, 1), 1);
	ASSERT_EQ(store_get_totals(s, "http.basic", &t), 0);
	ASSERT_UEQ(t.total, 100);
	ASSERT_UEQ(t.ok, 90);
	ASSERT_UEQ(t.failed, 10);
	ASSERT_UEQ(t.by_outcome[OUT_OK], 90);
	ASSERT_UEQ(t.by_outcome[OUT_HTTP_5XX], 8);
	ASSERT_UEQ(t.by_outcome[OUT_TIMEOUT], 2);
	ASSERT_UEQ(t.h.count, 100);
	ASSERT_UEQ(t.h.max_us, 2000001);
	ASSERT(hist_quantile(&t.h, 0.5) < 1200);
	ASSERT_EQ(store_get_totals(s, "grpc.basic", &t), 0);
	ASSERT_UEQ(t.total, 0);
	store_close(s);
}

TEST(variants_all_rows_and_totals)
{
	struct store *s = open_new("variants.db");
	struct store_totals t;
	struct store_event *ev = NULL;
	struct agg_row rows[5], *got = NULL;
	size_t n = 0, i;
	int slow = 0, fast = 0;

	ASSERT(s);
	make_row(&rows[0], "timeout.http", OUT_OK, 200, 100, 3, 1000);
	make_row(&rows[1], "timeout.http/slow", OUT_HTTP_5XX, 504, 101, 5, 500000);
	make_row(&rows[2], "timeout.http/fast", OUT_OK, 200, 102, 7, 1000);
	make_row(&rows[3], "timeout.httpx", OUT_OK, 200, 103, 11, 1000);  /* another check */
	make_row(&rows[4], "timeout.http_", OUT_OK, 200, 104, 13, 1000);  /* LIKE wildcard */
	ASSERT_EQ(store_put_batch(s, "http-client", 1, 1, rows, 5), 1);
	/* conformd's evidence rows of a variant */
	make_row(&rows[0], "tap.live/out", OUT_OK, 200, 100, 17, 1000);
	make_row(&rows[1], "tap.live", OUT_OK, 200, 100, 19, 1000);
	ASSERT_EQ(store_put_batch(s, "conformd.tap", 9, 1, rows, 1), 1);
	ASSERT_EQ(store_put_batch(s, "http-client", 1, 2, rows + 1, 1), 1);

	ASSERT_EQ(store_get_rows(s, "timeout.http", 0, 1000, &got, &n), 0);
	ASSERT_EQ(n, 3);
	for (i = 0; i < n; i++) {
		slow += !strcmp(got[i].check, "timeout.http/slow");
		fast += !strcmp(got[i].check, "timeout.http/fast");
	}
	ASSERT_EQ(slow, 1);   /* each row keeps its full check id */
	ASSERT_EQ(fast, 1);
	free(got);
	ASSERT_EQ(store_get_rows(s, "timeout.http", 101, 102, &got, &n), 0);
	ASSERT_EQ(n, 1);
	ASSERT_STR_EQ(got[0].check, "timeout.http/slow");
	free(got);
	/* the evidence rows come back with the check (the eval reads them) */
	ASSERT_EQ(store_get_rows(s, "tap.live", 0, 1000, &got, &n), 0);
	ASSERT_EQ(n, 2);
	free(got);

	ASSERT_EQ(store_get_rows_all(s, 100, 102, &got, &n), 0);
	ASSERT_EQ(n, 4);      /* seconds 100 and 101: timeout.http, slow, tap x2 */
	free(got);
	ASSERT_EQ(store_get_rows_all(s, 500, 600, &got, &n), 0);
	ASSERT_EQ(n, 0);
	ASSERT(got == NULL);

	/* totals: variants in, conformd's rows out */
	ASSERT_EQ(store_get_totals(s, "timeout.http", &t), 0);
	ASSERT_UEQ(t.total, 15);
	ASSERT_UEQ(t.ok, 10);
	ASSERT_UEQ(t.by_outcome[OUT_HTTP_5XX], 5);
	ASSERT_EQ(store_get_totals(s, "tap.live", &t), 0);
	ASSERT_UEQ(t.total, 19);

	/* events of one kind, in time order */
	ASSERT_EQ(store_put_event(s, 30.0, "split.set", "split.conform.svc", "v1=50 v2=50"), 0);
	ASSERT_EQ(store_put_event(s, 20.0, "split.shift", "split.conform.svc", "v1=50 v2=50"), 0);
	ASSERT_EQ(store_put_event(s, 10.0, "split.set", "split.conform.svc", "v1=90 v2=10"), 0);
	ASSERT_EQ(store_get_events_kind(s, "split.set", &ev, &n), 0);
	ASSERT_EQ(n, 2);
	ASSERT_NEAR(ev[0].ts, 10.0, 1e-9);
	ASSERT_STR_EQ(ev[1].detail, "v1=50 v2=50");
	free(ev);
	ASSERT_EQ(store_get_events_kind(s, "split.shift", &ev, &n), 0);
	ASSERT_EQ(n, 1);
	ASSERT_NEAR(ev[0].ts, 20.0, 1e-9);
	free(ev);
	ASSERT_EQ(store_get_events_kind(s, "nothing", &ev, &n), 0);
	ASSERT_EQ(n, 0);
	ASSERT(ev == NULL);
	ASSERT_EQ(store_get_events(s, &ev, &n), 0);
	ASSERT_EQ(n, 3);
	free(ev);
	store_close(s);
}

TEST(windows_replace)
{
	struct store *s = open_new("win.db");
	struct window_result r;
	struct store_window *w = NULL;
	size_t n = 0;

	ASSERT(s);
	memset(&r, 0, sizeof(r));
	hist_init(&r.h);
	hist_add(&r.h, 1500);
	r.verdict = V_FAIL;
	r.reason = R_LOW_SUCCESS;
	str_copy(r.reason_text, sizeof(r.reason_text), "success 0.0% < objective 99.0%");
	str_copy(r.evidence, sizeof(r.evidence), "{\"total\":1}");
	r.total = 1;
	r.failed = 1;
	ASSERT_EQ(store_put_window(s, "http.basic", 1, 110, 120, &r), 0);
	ASSERT_EQ(store_put_window(s, "http.basic", 0, 100, 110, &r), 0);
	r.verdict = V_PASS;
	r.reason = R_MET;
	str_copy(r.reason_text, sizeof(r.reason_text), "fine");
	ASSERT_EQ(store_put_window(s, "http.basic", 1, 110, 120, &r), 0);   /* replaces */
	ASSERT_EQ(store_put_window(s, "grpc.basic", 0, 100, 110, &r), 0);
	ASSERT_EQ(store_get_windows(s, "http.basic", &w, &n), 0);
	ASSERT_EQ(n, 2);
	ASSERT_EQ(w[0].idx, 0);
	ASSERT_EQ(w[0].r.verdict, V_FAIL);
	ASSERT_EQ(w[0].r.reason, R_LOW_SUCCESS);
	ASSERT_STR_EQ(w[0].r.evidence, "{\"total\":1}");
	ASSERT_EQ(w[0].start_s, 100);
	ASSERT_EQ(w[0].end_s, 110);
	ASSERT_UEQ(w[0].r.h.count, 1);
	ASSERT_UEQ(w[0].r.h.max_us, 1500);
	ASSERT_UEQ(w[0].r.h.b[hist_index(1500)], 1);
	ASSERT_EQ(w[1].idx, 1);
	ASSERT_EQ(w[1].r.verdict, V_PASS);
	ASSERT_STR_EQ(w[1].r.reason_text, "fine");
	ASSERT_STR_EQ(w[1].check, "http.basic");
	free(w);
	store_close(s);
}

TEST(events_in_order)
{
	struct store *s = open_new("ev.db");
	struct store_event *ev = NULL;
	size_t n = 0;

	ASSERT(s);
	ASSERT_EQ(store_get_events(s, &ev, &n), 0);
	ASSERT_EQ(n, 0);
	ASSERT_EQ(store_put_event(s, 20.0, "fault.start", "http-server", "server-errors 100%"), 0);
	ASSERT_EQ(store_put_event(s, 10.0, "run.start", "", "started"), 0);
	ASSERT_EQ(store_put_event(s, 20.0, "fault.end", "http-server", NULL), 0);
	ASSERT_EQ(store_get_events(s, &ev, &n), 0);
	ASSERT_EQ(n, 3);
	ASSERT_STR_EQ(ev[0].kind, "run.start");            /* by time */
	ASSERT_STR_EQ(ev[1].kind, "fault.start");          /* then insertion */
	ASSERT_STR_EQ(ev[2].kind, "fault.end");
	ASSERT_STR_EQ(ev[2].detail, "");
	ASSERT_STR_EQ(ev[1].subject, "http-server");
	ASSERT(ev[1].id < ev[2].id);
	free(ev);
	store_close(s);
}

TEST(counters)
{
	struct store *s = open_new("cnt.db");

	ASSERT(s);
	ASSERT_EQ(store_counter_get(s, "batches.rejected"), 0);
	ASSERT_EQ(store_counter_add(s, "batches.rejected", 2), 0);
	ASSERT_EQ(store_counter_add(s, "batches.rejected", 3), 0);
	ASSERT_EQ(store_counter_add(s, "other", -4), 0);
	ASSERT_EQ(store_counter_get(s, "batches.rejected"), 5);
	ASSERT_EQ(store_counter_get(s, "other"), -4);
	store_close(s);
}

TEST(reopen_keeps_data)
{
	struct store *s = open_new("keep.db");
	struct agg_row r, *got = NULL;
	struct store_run run;
	char err[256];
	size_t n = 0;

	ASSERT(s);
	memset(&run, 0, sizeof(run));
	str_copy(run.id, sizeof(run.id), "keep");
	ASSERT_EQ(store_put_run(s, &run), 0);
	make_row(&r, "grpc.stream", OUT_STREAM_RESET, 0, 42, 1, 0);
	ASSERT_EQ(store_put_batch(s, "grpc-client", 9, 1, &r, 1), 1);
	ASSERT_EQ(store_put_event(s, 1.0, "run.start", "", ""), 0);
	store_close(s);

	s = NULL;
	ASSERT_EQ(store_open(db_path("keep.db"), 0, &s, err, sizeof(err)), 0);
	ASSERT_EQ(store_get_run(s, &run), 0);
	ASSERT_STR_EQ(run.id, "keep");
	/* the dedupe key survives too */
	ASSERT_EQ(store_put_batch(s, "grpc-client", 9, 1, &r, 1), 0);
	ASSERT_EQ(store_get_rows(s, "grpc.stream", 0, 100, &got, &n), 0);
	ASSERT_EQ(n, 1);
	ASSERT_EQ(got[0].outcome, OUT_STREAM_RESET);
	free(got);
	store_close(s);
}

TEST(damaged_rows_skipped)
{
	struct store *s = open_new("bad.db");
	struct agg_row r, *got = NULL;
	struct store_totals t;
	sqlite3 *db = NULL;
	size_t n = 0;

	ASSERT(s);
	make_row(&r, "http.basic", OUT_OK, 200, 10, 3, 100);
	ASSERT_EQ(store_put_batch(s, "c", 1, 1, &r, 1), 1);
	/* write damage behind the store's back */
	ASSERT_EQ(sqlite3_open(db_path("bad.db"), &db), SQLITE_OK);
	ASSERT_EQ(sqlite3_exec(db,
		"INSERT INTO agg (check_id, workload, outcome, code, backend, identity, second,"
		" count, sum_us, max_us, hist, attempts) VALUES"
		" ('http.basic','c',0,200,'','',11,5,5,5,x'0581',NULL),"      /* truncated blob */
		" ('http.basic','c',0,200,'','',12,-5,5,5,NULL,NULL),"        /* negative count */
		" ('http.basic','c',0,200,'','',13,1,1,1,NULL,x'0102'),"      /* bad attempts */
		" ('http.basic','c',99,7,'','',14,1,1,1,NULL,NULL)",      /* bad outcome */
		NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ASSERT_EQ(store_get_rows(s, "http.basic", 0, 100, &got, &n), 0);
	ASSERT_EQ(n, 2);
	ASSERT_EQ(got[0].second, 10);
	ASSERT_EQ(got[1].second, 14);
	ASSERT_EQ(got[1].outcome, OUT_OTHER);   /* unknown outcome read as other */
	ASSERT_STR_EQ(got[1].backend, "");
	free(got);
	/* totals are kept apart from the rows: damage there is not counted */
	ASSERT_EQ(store_get_totals(s, "http.basic", &t), 0);
	ASSERT_UEQ(t.total, 3);
	ASSERT_UEQ(t.failed, 0);
	/* a damaged totals row keeps its counts, loses its latency spread */
	ASSERT_EQ(sqlite3_open(db_path("bad.db"), &db), SQLITE_OK);
	ASSERT_EQ(sqlite3_exec(db, "INSERT INTO totals (check_id, outcome, count, sum_us, max_us,"
			       " hist) VALUES ('http.basic', 99, 2, 2, 2, x'0581')",
			       NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ASSERT_EQ(store_get_totals(s, "http.basic", &t), 0);
	ASSERT_UEQ(t.total, 5);
	ASSERT_UEQ(t.failed, 2);
	ASSERT_UEQ(t.by_outcome[OUT_OTHER], 2);
	store_close(s);
}

/* Rows of seconds [from, to) for check, one batch per second, seq = second + 1. */
static int put_seconds(struct store *s, const char *workload, const char *check, int64_t from,
		       int64_t to, unsigned outcome)
{
	struct agg_row r;

	for (int64_t sec = from; sec < to; sec++) {
		make_row(&r, check, outcome, outcome == OUT_OK ? 200 : 503, sec, 2, 100);
		if (store_put_batch(s, workload, 7, (uint64_t)sec + 1, &r, 1) != 1)
			return -1;
	}
	return 0;
}

TEST(prune_rows_keeps_totals)
{
	struct store *s = open_new("prune.db");
	struct store_totals before, after;
	struct agg_row *got = NULL;
	size_t n = 0;
	int64_t k, deleted = 0;

	ASSERT(s);
	ASSERT_EQ(put_seconds(s, "c", "http.basic", 0, 100, OUT_OK), 0);
	ASSERT_EQ(put_seconds(s, "c2", "http.basic/slow", 0, 100, OUT_HTTP_5XX), 0);
	ASSERT_EQ(put_seconds(s, "conformd-probe", "http.basic", 0, 100, OUT_OK), 0);
	ASSERT_EQ(put_seconds(s, "c3", "grpc.basic", 0, 100, OUT_OK), 0);
	ASSERT_EQ(store_get_totals(s, "http.basic", &before), 0);
	ASSERT_UEQ(before.total, 400);        /* 100 s x 2, variant included, probe not */
	ASSERT_UEQ(before.failed, 200);
	/* in chunks of 64 rows until a call deletes fewer */
	do {
		k = store_prune_rows(s, "http.basic", 60, 64);
		ASSERT(k >= 0);
		deleted += k;
	} while (k == 64);
	ASSERT_EQ(deleted, 180);              /* seconds 0..59 of three workloads */
	ASSERT_EQ(store_get_rows(s, "http.basic", 0, 60, &got, &n), 0);
	ASSERT_EQ(n, 0);
	ASSERT_EQ(store_get_rows(s, "http.basic", 60, 100, &got, &n), 0);
	ASSERT_EQ(n, 120);
	free(got);
	ASSERT_EQ(store_get_rows(s, "grpc.basic", 0, 100, &got, &n), 0);
	ASSERT_EQ(n, 100);                    /* another check's rows untouched */
	free(got);
	ASSERT_EQ(store_get_totals(s, "http.basic", &after), 0);
	ASSERT_UEQ(after.total, before.total);
	ASSERT_UEQ(after.failed, before.failed);
	ASSERT_UEQ(after.h.count, before.h.count);
	ASSERT_UEQ(after.h.sum_us, before.h.sum_us);
	ASSERT_EQ(store_prune_rows(s, "http.basic", 60, 64), 0);
	store_close(s);
}

TEST(prune_batches_keeps_dedupe)
{
	struct store *s = open_new("floor.db");
	struct store_totals t;
	struct agg_row r;

	ASSERT(s);
	ASSERT_EQ(put_seconds(s, "c", "http.basic", 0, 5, OUT_OK), 0);   /* seqs 1..5 */
	ASSERT_EQ(store_prune_batches(s, wall_s() - 3600), 0);           /* none that old */
	ASSERT_EQ(store_prune_batches(s, wall_s() + 1), 5);
	/* a late resend of a pruned batch is still a duplicate ... */
	make_row(&r, "http.basic", OUT_OK, 200, 2, 2, 100);
	ASSERT_EQ(store_put_batch(s, "c", 7, 3, &r, 1), 0);
	ASSERT_EQ(store_put_batch(s, "c", 7, 5, &r, 1), 0);
	/* ... another instance's or a newer seq is not */
	ASSERT_EQ(store_put_batch(s, "c", 8, 3, &r, 1), 1);
	ASSERT_EQ(store_put_batch(s, "c", 7, 6, &r, 1), 1);
	ASSERT_EQ(store_get_totals(s, "http.basic", &t), 0);
	ASSERT_UEQ(t.total, 14);
	ASSERT_EQ(store_counter_get(s, "batches.duplicate"), 2);
	/* the floor only rises */
	ASSERT_EQ(store_prune_batches(s, wall_s() + 1), 2);
	ASSERT_EQ(store_put_batch(s, "c", 7, 4, &r, 1), 0);
	store_close(s);
}

TEST(upgrade_from_v2_computes_totals)
{
	struct store *s = open_new("v2.db");
	struct store_totals t;
	sqlite3 *db = NULL;
	char err[256];

	ASSERT(s);
	ASSERT_EQ(put_seconds(s, "c", "http.basic", 0, 10, OUT_OK), 0);
	ASSERT_EQ(put_seconds(s, "c2", "http.basic/slow", 0, 10, OUT_TIMEOUT), 0);
	store_close(s);
	/* turn it into a version 2 store: no totals table */
	ASSERT_EQ(sqlite3_open(db_path("v2.db"), &db), SQLITE_OK);
	ASSERT_EQ(sqlite3_exec(db, "DROP TABLE totals; DROP TABLE batch_floor;"
			       " PRAGMA user_version=2", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ASSERT_EQ(store_open(db_path("v2.db"), 0, &s, err, sizeof(err)), 0);
	ASSERT_EQ(store_get_totals(s, "http.basic", &t), 0);
	ASSERT_UEQ(t.total, 40);
	ASSERT_UEQ(t.failed, 20);
	ASSERT_UEQ(t.by_outcome[OUT_TIMEOUT], 20);
	store_close(s);
	/* and it is version 3 now */
	ASSERT_EQ(sqlite3_open(db_path("v2.db"), &db), SQLITE_OK);
	ASSERT_EQ(sqlite3_exec(db, "SELECT 1 FROM totals", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

TEST(prune_samples_keeps_incidents)
{
	struct store *s = open_new("samples.db");
	struct store_sample x[20], got[20];
	struct store_check_state st;
	struct store_incident inc;
	struct window_result r;
	size_t i;

	ASSERT(s);
	memset(x, 0, sizeof(x));
	for (i = 0; i < 20; i++) {
		str_copy(x[i].check, sizeof(x[i].check), i < 10 ? "http.basic" : "timeout.http/slow");
		str_fmt(x[i].request_id, sizeof(x[i].request_id), "r%zu", i);
		x[i].outcome = OUT_HTTP_5XX;
		x[i].ts_ms = (int64_t)(i % 10) * 1000;
	}
	ASSERT_EQ(store_put_batch_samples(s, "c", 1, 1, NULL, 0, x, 20), 1);
	/* incidents: http.basic [3, 6) s, timeout.http [7, 9) s (its variant's samples count) */
	memset(&r, 0, sizeof(r));
	hist_init(&r.h);
	r.verdict = V_FAIL;
	memset(&st, 0, sizeof(st));
	memset(&inc, 0, sizeof(inc));
	str_copy(st.check, sizeof(st.check), "http.basic");
	str_copy(inc.check, sizeof(inc.check), "http.basic");
	inc.start_s = 3, inc.end_s = 6, inc.windows = 1;
	ASSERT_EQ(store_put_window_state(s, "http.basic", 0, 3, 6, &r, &st, &inc), 0);
	str_copy(st.check, sizeof(st.check), "timeout.http");
	str_copy(inc.check, sizeof(inc.check), "timeout.http");
	inc.start_s = 7, inc.end_s = 9;
	ASSERT_EQ(store_put_window_state(s, "timeout.http", 0, 7, 9, &r, &st, &inc), 0);

	/* before 8 s: http.basic's 0 1 2 6 7 and timeout.http/slow's 0..6 go */
	ASSERT_EQ(store_prune_samples(s, 8000, 5), 12);
	ASSERT_EQ(store_get_samples(s, "http.basic", 0, 100000, got, 20), 5);
	ASSERT_EQ(got[0].ts_ms, 3000);
	ASSERT_EQ(got[2].ts_ms, 5000);
	ASSERT_EQ(got[3].ts_ms, 8000);
	ASSERT_EQ(store_get_samples(s, "timeout.http", 0, 100000, got, 20), 3);
	ASSERT_EQ(got[0].ts_ms, 7000);
	ASSERT_STR_EQ(got[0].check, "timeout.http/slow");
	ASSERT_EQ(store_prune_samples(s, 8000, 5), 0);

	/* an incident keeps its first 2: http.basic's 5 s goes; timeout.http's
	 * 8 s sample is not yet before the cut, so 7 s alone is ranked, kept */
	ASSERT_EQ(store_prune_samples(s, 8000, 2), 1);
	ASSERT_EQ(store_get_samples(s, "http.basic", 3000, 6000, got, 20), 2);
	ASSERT_EQ(got[0].ts_ms, 3000);
	ASSERT_EQ(got[1].ts_ms, 4000);
	/* later: outside any incident 8 9 (http.basic) and 9 (timeout) go; the
	 * 8 s timeout.http/slow sample is its incident's second, kept */
	ASSERT_EQ(store_prune_samples(s, 100000, 2), 3);
	ASSERT_EQ(store_get_samples(s, "http.basic", 0, 100000, got, 20), 2);
	ASSERT_EQ(store_get_samples(s, "timeout.http", 0, 100000, got, 20), 2);
	ASSERT_EQ(got[0].ts_ms, 7000);
	ASSERT_EQ(got[1].ts_ms, 8000);
	store_close(s);
}

static int count_walk(void *ctx, const struct store_window *w)
{
	int64_t *seen = ctx;

	if (w->idx != seen[0] + seen[1])
		return -2;      /* out of order or a hole: the walk reports it */
	seen[1]++;
	return seen[1] == seen[2] ? 9 : 0;
}

TEST(windows_walk_counts_and_picks)
{
	static const enum verdict v[] = { V_NODATA, V_PASS, V_FAIL, V_PASS, V_FAIL, V_PASS,
					  V_NODATA };
	struct store *s = open_new("walk.db");
	struct window_result r;
	struct store_window w;
	uint64_t counts[V__COUNT];
	int64_t seen[3];

	ASSERT(s);
	ASSERT_EQ(store_get_window_pick(s, "http.basic", STORE_LAST, &w), 0);
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		memset(&r, 0, sizeof(r));
		hist_init(&r.h);
		r.verdict = v[i];
		str_fmt(r.reason_text, sizeof(r.reason_text), "window %zu", i);
		ASSERT_EQ(store_put_window(s, "http.basic", (int64_t)i, 100 + 10 * (int64_t)i,
					   110 + 10 * (int64_t)i, &r), 0);
	}
	ASSERT_EQ(store_window_counts(s, "http.basic", counts), 0);
	ASSERT_UEQ(counts[V_PASS], 3);
	ASSERT_UEQ(counts[V_FAIL], 2);
	ASSERT_UEQ(counts[V_NODATA], 2);
	ASSERT_EQ(store_get_window_pick(s, "http.basic", STORE_FIRST_FAIL, &w), 1);
	ASSERT_EQ(w.idx, 2);
	ASSERT_STR_EQ(w.r.reason_text, "window 2");
	ASSERT_EQ(store_get_window_pick(s, "http.basic", STORE_LAST_PASS, &w), 1);
	ASSERT_EQ(w.idx, 5);
	ASSERT_EQ(store_get_window_pick(s, "http.basic", STORE_LAST, &w), 1);
	ASSERT_EQ(w.idx, 6);
	ASSERT_EQ(w.start_s, 160);
	ASSERT_EQ(store_get_window_pick(s, "grpc.basic", STORE_FIRST_FAIL, &w), 0);
	/* from idx 3 on, all four */
	seen[0] = 3, seen[1] = 0, seen[2] = -1;
	ASSERT_EQ(store_each_window(s, "http.basic", 3, count_walk, seen), 0);
	ASSERT_EQ(seen[1], 4);
	/* the callback stops the walk and its value comes back */
	seen[0] = 0, seen[1] = 0, seen[2] = 2;
	ASSERT_EQ(store_each_window(s, "http.basic", INT64_MIN, count_walk, seen), 9);
	ASSERT_EQ(seen[1], 2);
	store_close(s);
}

struct writer_arg {
	struct store *s;
	int id;
	int fails;
};

static void *writer(void *p)
{
	struct writer_arg *a = p;
	struct agg_row r;
	uint64_t seq;
	char name[32];

	snprintf(name, sizeof(name), "client-%d", a->id);
	make_row(&r, "http.basic", OUT_OK, 200, 1, 1, 10);
	for (seq = 1; seq <= 50; seq++) {
		if (store_put_batch(a->s, name, 1, seq, &r, 1) != 1)
			a->fails++;
		if (store_put_batch(a->s, name, 1, seq, &r, 1) != 0)
			a->fails++;
	}
	return NULL;
}

TEST(concurrent_writers)
{
	struct store *s = open_new("conc.db");
	struct writer_arg args[4];
	pthread_t th[4];
	struct store_totals t;
	int i;

	ASSERT(s);
	for (i = 0; i < 4; i++) {
		args[i].s = s;
		args[i].id = i;
		args[i].fails = 0;
		ASSERT_EQ(pthread_create(&th[i], NULL, writer, &args[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ASSERT_EQ(args[i].fails, 0);
	}
	ASSERT_EQ(store_get_totals(s, "http.basic", &t), 0);
	ASSERT_UEQ(t.total, 200);
	ASSERT_EQ(store_counter_get(s, "batches.accepted"), 200);
	ASSERT_EQ(store_counter_get(s, "batches.duplicate"), 200);
	store_close(s);
}

int main(void)
{
	char cmd[128];
	int rc;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/conform-test-store-XXXXXX");
	if (!mkdtemp(tmpdir))
		return 2;
	log_init("test_store", LOG_ERROR);
	RUN(open_requires_create);
	RUN(not_a_store);
	RUN(run_row);
	RUN(batches_dedupe_and_rows);
	RUN(bounded_strings_truncate);
	RUN(totals);
	RUN(variants_all_rows_and_totals);
	RUN(windows_replace);
	RUN(events_in_order);
	RUN(counters);
	RUN(reopen_keeps_data);
	RUN(damaged_rows_skipped);
	RUN(prune_rows_keeps_totals);
	RUN(prune_batches_keeps_dedupe);
	RUN(prune_samples_keeps_incidents);
	RUN(upgrade_from_v2_computes_totals);
	RUN(windows_walk_counts_and_picks);
	RUN(concurrent_writers);
	RUN(group_commit_batches);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	rc = system(cmd);
	(void)rc;
	TEST_MAIN_END();
}
