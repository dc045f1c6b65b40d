/*
 * test_store_upgrade.c - a store written by an older conform still opens and
 * reports the same. test/fixtures/store/v3-history.db was written by the
 * schema 3 store (history7d --days 0.02 --checks 4 --retention 600 --keep,
 * its per-second rows trimmed to the last minute, then VACUUM); the
 * .report.json/.md next to it are what that version rendered from it.
 * Opening a copy upgrades it in place; the report must not change, and the
 * window counts and picks must agree with a walk over every window.
 */
#include <stdio.h>
#include <sys/stat.h>

#include "harness.h"
#include "fixture.h"
#include "config/run.h"
#include "report/report.h"
#include "store/store.h"
#include "base/util.h"

#define FIXTURE "test/fixtures/store/v3-history"


static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		goto out;
	buf = malloc((size_t)n + 1);
	if (!buf)
		goto out;
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[n] = '\0';
	if (len)
		*len = (size_t)n;
out:
	fclose(f);
	return buf;
}

static int copy_file(const char *from, const char *to)
{
	size_t n = 0;
	char *b = slurp(from, &n);
	FILE *f;
	int rc = -1;

	if (!b)
		return -1;
	f = fopen(to, "wb");
	if (f && fwrite(b, 1, n, f) == n)
		rc = 0;
	if (f && fclose(f))
		rc = -1;
	free(b);
	return rc;
}

/* A copy of the fixture opened (and so upgraded), with its run's config. */
static struct store *open_fixture(const char *name, struct run_config *cfg)
{
	char path[128], err[256];
	struct store_run *run = calloc(1, sizeof(*run));
	struct store *s = NULL;

	if (!run)
		return NULL;
	str_fmt(path, sizeof(path), "%s/%s", fixture_tmpdir, name);
	if (copy_file(FIXTURE ".db", path)) {
		fprintf(stderr, "cannot copy %s.db to %s\n", FIXTURE, path);
		goto out;
	}
	if (store_open(path, 0, &s, err, sizeof(err))) {
		fprintf(stderr, "store_open: %s\n", err);
		goto out;
	}
	if (store_get_run(s, run) || run_config_from_json(run->config_json, cfg, err, sizeof(err))) {
		fprintf(stderr, "fixture run: %s\n", err);
		store_close(s);
		s = NULL;
		goto out;
	}
	/* as history7d had it: a directory that is no STATE/runs/<id> (no history) */
	str_copy(cfg->run_dir, sizeof(cfg->run_dir), fixture_tmpdir);
out:
	free(run);
	return s;
}

static int render_equals(const struct report *r, const char *fmt, const char *want_path)
{
	struct dynbuf b = DYNBUF_INIT(16u << 20);
	char *want = slurp(want_path, NULL);
	int same = 0;

	if (want && !report_render(r, fmt, &b) && b.buf) {
		same = !strcmp(b.buf, want);
		if (!same) {
			char p[128];
			FILE *f;

			str_fmt(p, sizeof(p), "%s/got.%s", fixture_tmpdir, fmt);
			f = fopen(p, "w");
			if (f) {
				fputs(b.buf, f);
				fclose(f);
			}
			fprintf(stderr, "%s differs from %s (diff %s %s)\n", fmt, want_path, want_path, p);
		}
	}
	free(want);
	dynbuf_release(&b);
	return same;
}

TEST(old_store_reports_the_same)
{
	struct run_config cfg;
	struct report *r = NULL;
	struct store *s = open_fixture("v3.db", &cfg);

	ASSERT(s);
	ASSERT_EQ(report_build(s, &cfg, &r), 0);
	ASSERT(render_equals(r, "json", FIXTURE ".report.json"));
	ASSERT(render_equals(r, "md", FIXTURE ".report.md"));
	report_free(r);
	store_close(s);
}

struct tally {
	uint64_t counts[V__COUNT];
	int64_t first_fail, last_pass, last;
	char last_pass_reason[REASON_TEXT_MAX];
};

static int tally_window(void *ctx, const struct store_window *w)
{
	struct tally *t = ctx;

	t->counts[w->r.verdict]++;
	if (w->r.verdict == V_FAIL && t->first_fail < 0)
		t->first_fail = w->idx;
	if (w->r.verdict == V_PASS) {
		t->last_pass = w->idx;
		str_copy(t->last_pass_reason, sizeof(t->last_pass_reason), w->r.reason_text);
	}
	t->last = w->idx;
	return 0;
}

TEST(old_store_counts_and_picks_agree_with_a_walk)
{
	static const char *const ids[] = { "http.basic", "grpc.basic", "grpc.stream",
					   "mtls.identity" };
	struct run_config cfg;
	struct store *s = open_fixture("v3b.db", &cfg);
	struct store_window w;
	uint64_t counts[V__COUNT];

	ASSERT(s);
	for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
		struct tally t = { .first_fail = -1, .last_pass = -1, .last = -1 };

		ASSERT_EQ(store_each_window(s, ids[i], INT64_MIN, tally_window, &t), 0);
		ASSERT_UEQ(t.counts[V_PASS] + t.counts[V_FAIL] + t.counts[V_NODATA], 173);
		ASSERT_EQ(store_window_counts(s, ids[i], counts), 0);
		for (int v = 0; v < V__COUNT; v++)
			ASSERT_UEQ(counts[v], t.counts[v]);
		ASSERT_EQ(store_get_window_pick(s, ids[i], STORE_FIRST_FAIL, &w), t.first_fail >= 0);
		if (t.first_fail >= 0)
			ASSERT_EQ(w.idx, t.first_fail);
		ASSERT_EQ(store_get_window_pick(s, ids[i], STORE_LAST_PASS, &w), t.last_pass >= 0);
		if (t.last_pass >= 0) {
			ASSERT_EQ(w.idx, t.last_pass);
			ASSERT_STR_EQ(w.r.reason_text, t.last_pass_reason);
		}
		ASSERT_EQ(store_get_window_pick(s, ids[i], STORE_LAST, &w), 1);
		ASSERT_EQ(w.idx, t.last);
	}
	/* the fixture's shape: mtls.identity fails every window under --mesh none */
	ASSERT_EQ(store_window_counts(s, "mtls.identity", counts), 0);
	ASSERT_UEQ(counts[V_FAIL], 165);
	store_close(s);
}

int main(void)
{
	if (fixture_tmpdir_make("upgrade"))
		return 2;
	RUN(old_store_reports_the_same);
	RUN(old_store_counts_and_picks_agree_with_a_walk);
	if (!h_failed)
		fixture_tmpdir_remove();   /* kept to look at when a case failed */
	TEST_MAIN_END();
}
