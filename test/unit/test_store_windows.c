/*
 * test_store_windows.c - windows in schema 4: a text equal to the window
 * before it is stored once and still read back whole, also after the window
 * holding it is replaced; the per-verdict counts and the picks (first
 * failing, last passing, last, first inconclusive) agree with a walk over
 * every window through any sequence of writes and rewrites.
 */
#include <sqlite3.h>
#include <stdio.h>

#include "harness.h"
#include "fixture.h"
#include "store/store.h"
#include "base/util.h"


static struct store *open_new(const char *name, char *path, size_t len)
{
	struct store *s = NULL;
	char err[256];

	str_fmt(path, len, "%s/%s", fixture_tmpdir, name);
	if (store_open(path, 1, &s, err, sizeof(err))) {
		fprintf(stderr, "store_open: %s\n", err);
		return NULL;
	}
	return s;
}

static void make_result(struct window_result *r, enum verdict v, const char *reason,
			const char *evidence)
{
	memset(r, 0, sizeof(*r));
	r->verdict = v;
	r->reason = v == V_PASS ? R_MET : R_NO_DATA;
	str_copy(r->reason_text, sizeof(r->reason_text), reason);
	str_copy(r->evidence, sizeof(r->evidence), evidence);
	hist_init(&r->h);
	hist_add(&r->h, 1500);
	r->total = r->ok = 1;
}

static int put(struct store *s, int64_t idx, enum verdict v, const char *reason, const char *ev)
{
	struct window_result r;

	make_result(&r, v, reason, ev);
	return store_put_window(s, "http.basic", idx, 1000 + idx * 10, 1010 + idx * 10, &r);
}

/* How many rows hold their own reason text, straight from the file. */
static long own_texts(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long n = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM windows WHERE reason_from IS NULL",
			       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* How many rows of window_view have these texts. */
static long view_texts_like(const char *path, const char *reason, const char *evidence)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long n = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM window_view WHERE reason_text = ?"
			       " AND evidence = ?", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, reason, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, evidence, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int(st, 0);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

TEST(equal_texts_stored_once_read_back_whole)
{
	char path[128];
	struct store *s = open_new("shared.db", path, sizeof(path));
	struct store_window *w = NULL;
	size_t n = 0, i;

	ASSERT(s);
	for (i = 0; i < 6; i++)
		ASSERT_EQ(put(s, (int64_t)i, V_PASS, "success 100.0% (100 requests)", "{}"), 0);
	ASSERT_EQ(put(s, 6, V_FAIL, "success 10.0%", "{\"total\":100}"), 0);
	ASSERT_EQ(put(s, 7, V_FAIL, "success 10.0%", "{\"total\":100}"), 0);
	ASSERT_EQ(store_get_windows(s, "http.basic", &w, &n), 0);
	ASSERT_EQ(n, 8);
	for (i = 0; i < n; i++) {
		ASSERT_STR_EQ(w[i].r.reason_text, i < 6 ? "success 100.0% (100 requests)"
						     : "success 10.0%");
		ASSERT_STR_EQ(w[i].r.evidence, i < 6 ? "{}" : "{\"total\":100}");
	}
	free(w);
	store_close(s);
	/* windows 0 and 6 hold the two texts, the others point to them */
	ASSERT_EQ(own_texts(path), 2);
	/* and SQL readers get them whole from the view */
	ASSERT_EQ(view_texts_like(path, "success 100.0% (100 requests)", "{}"), 6);
	ASSERT_EQ(view_texts_like(path, "success 10.0%", "{\"total\":100}"), 2);
}

TEST(replacing_the_window_holding_a_text_keeps_the_others)
{
	char path[128];
	struct store *s = open_new("replace.db", path, sizeof(path));
	struct store_window *w = NULL, x;
	size_t n = 0, i;

	ASSERT(s);
	for (i = 0; i < 5; i++)
		ASSERT_EQ(put(s, (int64_t)i, V_PASS, "same", "{\"a\":1}"), 0);
	/* the holder changes: 1..4 keep "same", now held by 1 */
	ASSERT_EQ(put(s, 0, V_FAIL, "other", "{\"b\":2}"), 0);
	/* a window in the middle changes: 3 and 4 still read "same" */
	ASSERT_EQ(put(s, 2, V_FAIL, "middle", "{}"), 0);
	ASSERT_EQ(store_get_windows(s, "http.basic", &w, &n), 0);
	ASSERT_EQ(n, 5);
	ASSERT_STR_EQ(w[0].r.reason_text, "other");
	ASSERT_STR_EQ(w[0].r.evidence, "{\"b\":2}");
	ASSERT_STR_EQ(w[1].r.reason_text, "same");
	ASSERT_STR_EQ(w[2].r.reason_text, "middle");
	ASSERT_STR_EQ(w[3].r.reason_text, "same");
	ASSERT_STR_EQ(w[4].r.reason_text, "same");
	ASSERT_STR_EQ(w[4].r.evidence, "{\"a\":1}");
	free(w);
	ASSERT_EQ(store_get_window_pick(s, "http.basic", STORE_LAST_PASS, &x), 1);
	ASSERT_EQ(x.idx, 4);
	ASSERT_STR_EQ(x.r.reason_text, "same");
	store_close(s);
}

struct tally {
	uint64_t counts[V__COUNT];
	int64_t first_fail, last_pass, last, first_inc;
	size_t n;
	char texts[64][16];
};

static int tally_window(void *ctx, const struct store_window *w)
{
	struct tally *t = ctx;

	t->counts[w->r.verdict]++;
	if (w->r.verdict == V_FAIL && t->first_fail < 0)
		t->first_fail = w->idx;
	if (w->r.verdict == V_INCONCLUSIVE && t->first_inc < 0)
		t->first_inc = w->idx;
	if (w->r.verdict == V_PASS)
		t->last_pass = w->idx;
	t->last = w->idx;
	if (w->idx >= 0 && w->idx < 64)
		str_copy(t->texts[w->idx], sizeof(t->texts[0]), w->r.reason_text);
	t->n++;
	return 0;
}

static int pick_is(struct store *s, enum store_pick p, int64_t want)
{
	struct store_window w;
	int k = store_get_window_pick(s, "http.basic", p, &w);

	return want < 0 ? k == 0 : (k == 1 && w.idx == want);
}

TEST(counts_and_picks_follow_any_rewrites)
{
	static const enum verdict vs[] = { V_PASS, V_FAIL, V_NODATA, V_INCONCLUSIVE };
	static const char *const texts[] = { "a", "b" };
	char path[128], model[40][16];
	struct store *s = open_new("rewrites.db", path, sizeof(path));
	uint64_t counts[V__COUNT];
	int have[40] = { 0 };

	ASSERT(s);
	h_rand_init();
	/* few windows and two texts: many runs of shared texts, rewritten inside */
	for (int op = 0; op < 1000; op++) {
		int64_t idx = (int64_t)(h_rand_unit() * (op < 500 ? 12 : 40));
		enum verdict v = vs[(int)(h_rand_unit() * 4)];
		const char *t = texts[(int)(h_rand_unit() * 2)];
		struct tally ta = { .first_fail = -1, .last_pass = -1, .last = -1, .first_inc = -1 };
		size_t nwant = 0;

		ASSERT_EQ(put(s, idx, v, t, t), 0);
		str_copy(model[idx], sizeof(model[idx]), t);
		have[idx] = 1;
		ASSERT_EQ(store_each_window(s, "http.basic", INT64_MIN, tally_window, &ta), 0);
		for (int i = 0; i < 40; i++) {
			if (!have[i])
				continue;
			nwant++;
			if (strcmp(ta.texts[i], model[i]))
				H_FAIL("op %d: window %d reads \"%s\", was written \"%s\"", op, i,
				       ta.texts[i], model[i]);
		}
		ASSERT_EQ(ta.n, nwant);
		ASSERT_EQ(store_window_counts(s, "http.basic", counts), 0);
		for (int k = 0; k < V__COUNT; k++)
			if (counts[k] != ta.counts[k])
				H_FAIL("op %d: %d windows of verdict %d counted, %d walked", op,
				       (int)counts[k], k, (int)ta.counts[k]);
		ASSERT(pick_is(s, STORE_FIRST_FAIL, ta.first_fail));
		ASSERT(pick_is(s, STORE_LAST_PASS, ta.last_pass));
		ASSERT(pick_is(s, STORE_LAST, ta.last));
		ASSERT(pick_is(s, STORE_FIRST_INCONCLUSIVE, ta.first_inc));
	}
	store_close(s);
	/* far fewer texts than windows: the equal neighbours share */
	ASSERT(own_texts(path) < 40);
}

TEST(old_passing_windows_keep_what_the_report_reads)
{
	static const char split[] = "{\"total\":200,\"observed\":0.905,\"expected\":0.9,"
		"\"lo\":0.85,\"hi\":0.95,\"backends\":{\"v1\":181,\"v2\":19},\"p50_ms\":2.5}";
	static const char retry[] = "{\"total\":100,\"attempts\":[50,25,25],"
		"\"attempts_limit\":3,\"p99_ms\":7.25}";
	static const char failing[] = "{\"total\":100,\"observed\":0.5,\"p50_ms\":2.5}";
	char path[128];
	struct store *s = open_new("compact.db", path, sizeof(path));
	struct store_window *w = NULL;
	size_t n = 0;

	ASSERT(s);
	ASSERT_EQ(put(s, 0, V_PASS, "a", split), 0);
	ASSERT_EQ(put(s, 1, V_PASS, "b", retry), 0);
	ASSERT_EQ(put(s, 2, V_FAIL, "c", failing), 0);
	ASSERT_EQ(put(s, 3, V_PASS, "d", split), 0);   /* not before the cutoff */
	/* whole while recent */
	ASSERT_EQ(store_get_windows(s, "http.basic", &w, &n), 0);
	ASSERT_EQ(n, 4);
	ASSERT_STR_EQ(w[0].r.evidence, split);
	ASSERT_STR_EQ(w[1].r.evidence, retry);
	free(w);
	ASSERT_EQ(store_prune_evidence(s, "http.basic", 3, 1), 1);
	ASSERT_EQ(store_prune_evidence(s, "http.basic", 3, 5), 1);
	ASSERT_EQ(store_prune_evidence(s, "http.basic", 3, 5), 0);   /* the failing one has none apart */
	ASSERT_EQ(store_get_windows(s, "http.basic", &w, &n), 0);
	ASSERT_EQ(n, 4);
	ASSERT_STR_EQ(w[0].r.evidence,
		      "{\"observed\":0.905,\"expected\":0.9,\"lo\":0.85,\"hi\":0.95}");
	ASSERT_STR_EQ(w[1].r.evidence, "{\"attempts_limit\":3,\"attempts\":[50,25,25]}");
	ASSERT_STR_EQ(w[2].r.evidence, failing);
	ASSERT_STR_EQ(w[3].r.evidence, split);
	ASSERT_STR_EQ(w[0].r.reason_text, "a");
	ASSERT_EQ(w[0].r.verdict, V_PASS);
	ASSERT_UEQ(w[0].r.h.count, 1);
	free(w);
	store_close(s);
}

int main(void)
{
	if (fixture_tmpdir_make("windows"))
		return 2;
	RUN(equal_texts_stored_once_read_back_whole);
	RUN(replacing_the_window_holding_a_text_keeps_the_others);
	RUN(counts_and_picks_follow_any_rewrites);
	RUN(old_passing_windows_keep_what_the_report_reads);
	if (!h_failed)
		fixture_tmpdir_remove();   /* kept to look at when a case failed */
	TEST_MAIN_END();
}
