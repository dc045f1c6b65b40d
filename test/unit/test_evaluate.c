/*
 * test_evaluate.c - the window evaluator over a real store: window bounds
 * from the run's start, verdicts of windows built from stored rows (ok,
 * 100% 503, gRPC 14, empty, stream reset), R_NO_MESH for a mesh check under
 * --mesh none, evaluate_due's progress, grace and final partial window, wall
 * clock jumps under the run clock, and the debounce: rise/fall as a table, monitor gaps, state across a reopen.
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "eval/evaluate.h"
#include "fixture.h"
#include "harness.h"
#include "evidence/outcome.h"
#include "config/state.h"
#include "store/store.h"
#include "base/util.h"

static const enum reason reason_ok = R_MET;

static void base_cfg(struct run_config *c)
{
	run_config_defaults(c);
	str_copy(c->id, sizeof(c->id), "test");
	c->window_ms = 10000;
	c->started = T0 + 0.75;   /* windows start at the floor */
}

/* count requests of one outcome at second sec, one row per call */
static int put(struct store *s, const char *check, unsigned outcome, int code, int64_t sec,
	       uint64_t count)
{
	static uint64_t seq;
	struct agg_row r;
	uint64_t i;

	memset(&r, 0, sizeof(r));
	str_copy(r.check, sizeof(r.check), check);
	r.outcome = outcome;
	r.code = code;
	r.second = sec;
	hist_init(&r.h);
	for (i = 0; i < count; i++)
		hist_add(&r.h, 1000 + i);
	return store_put_batch(s, "client", 1, ++seq, &r, 1) == 1 ? 0 : -1;
}

TEST(bounds)
{
	struct run_config c;
	int64_t a, z;

	base_cfg(&c);
	window_bounds(&c, 0, 0, &a, &z);
	ASSERT_EQ(a, T0);
	ASSERT_EQ(z, T0 + 10);
	window_bounds(&c, 3, 0, &a, &z);
	ASSERT_EQ(a, T0 + 30);
	ASSERT_EQ(z, T0 + 40);
	/* the end cuts the last window short; a request in the end's second counts */
	window_bounds(&c, 3, T0 + 34.2, &a, &z);
	ASSERT_EQ(a, T0 + 30);
	ASSERT_EQ(z, T0 + 35);
	window_bounds(&c, 5, T0 + 34.2, &a, &z);
	ASSERT_EQ(z, a);   /* past the end: empty */
	c.window_ms = 1000;
	window_bounds(&c, 7, 0, &a, &z);
	ASSERT_EQ(a, T0 + 7);
	ASSERT_EQ(z, T0 + 8);
}

TEST(windows_from_rows)
{
	struct store *s = fixture_store_open();
	struct run_config c;
	struct window_result r;
	struct store_window *w = NULL;
	size_t n = 0;

	ASSERT(s);
	base_cfg(&c);
	/* window 0: all ok; window 1: 100% 503; window 2: empty */
	ASSERT_EQ(put(s, "http.basic", OUT_OK, 200, T0, 60), 0);
	ASSERT_EQ(put(s, "http.basic", OUT_OK, 200, T0 + 9, 40), 0);
	ASSERT_EQ(put(s, "http.basic", OUT_HTTP_5XX, 503, T0 + 10, 30), 0);
	ASSERT_EQ(put(s, "http.basic", OUT_HTTP_5XX, 503, T0 + 19, 20), 0);

	ASSERT_EQ(evaluate_window(s, &c, &check_http_basic, 0, 0, &r), 0);
	ASSERT_EQ(r.verdict, V_PASS);
	ASSERT_UEQ(r.total, 100);
	ASSERT_UEQ(r.ok, 100);
	ASSERT_UEQ(r.h.count, 100);

	ASSERT_EQ(evaluate_window(s, &c, &check_http_basic, 1, 0, &r), 0);
	ASSERT_EQ(r.verdict, V_FAIL);
	ASSERT_EQ(r.reason, R_LOW_SUCCESS);
	ASSERT_UEQ(r.failed, 50);
	ASSERT_CONTAINS(r.reason_text, "HTTP 5xx");
	ASSERT_CONTAINS(r.reason_text, "503");
	ASSERT_CONTAINS(r.reason_text, "50 of 50 failed");
	ASSERT_CONTAINS(r.evidence, "\"http_5xx\"");

	ASSERT_EQ(evaluate_window(s, &c, &check_http_basic, 2, 0, &r), 0);
	ASSERT_EQ(r.verdict, V_NODATA);
	ASSERT_EQ(r.reason, R_NO_DATA);

	/* all three persisted, in order, with bounds */
	ASSERT_EQ(store_get_windows(s, "http.basic", &w, &n), 0);
	ASSERT_EQ(n, 3);
	ASSERT_EQ(w[1].start_s, T0 + 10);
	ASSERT_EQ(w[1].end_s, T0 + 20);
	ASSERT_EQ(w[1].r.verdict, V_FAIL);
	ASSERT_CONTAINS(w[1].r.reason_text, "HTTP 5xx from server (503 x50)");
	ASSERT_EQ(w[2].r.verdict, V_NODATA);
	free(w);
	store_close(s);
}

TEST(grpc_unavailable)
{
	struct store *s = fixture_store_open();
	struct run_config c;
	struct window_result r;

	ASSERT(s);
	base_cfg(&c);
	ASSERT_EQ(put(s, "grpc.basic", OUT_GRPC_ERROR, 14, T0 + 3, 48), 0);
	ASSERT_EQ(put(s, "grpc.basic", OUT_CONNECT_REFUSED, 0, T0 + 4, 2), 0);
	ASSERT_EQ(evaluate_window(s, &c, &check_grpc_basic, 0, 0, &r), 0);
	ASSERT_EQ(r.verdict, V_FAIL);
	ASSERT_CONTAINS(r.reason_text, "gRPC error");
	ASSERT_CONTAINS(r.reason_text, "code 14 UNAVAILABLE x48");
	ASSERT_CONTAINS(r.reason_text, "connection refused x2");
	store_close(s);
}

TEST(stream_reset)
{
	struct store *s = fixture_store_open();
	struct run_config c;
	struct window_result r;

	ASSERT(s);
	base_cfg(&c);
	ASSERT_EQ(put(s, "grpc.stream", OUT_OK, 0, T0 + 1, 100), 0);
	ASSERT_EQ(put(s, "grpc.stream", OUT_STREAM_RESET, 0, T0 + 5, 1), 0);
	ASSERT_EQ(evaluate_window(s, &c, &check_grpc_stream, 0, 0, &r), 0);
	ASSERT_EQ(r.verdict, V_FAIL);
	ASSERT_EQ(r.reason, R_STREAM_BROKEN);
	ASSERT_CONTAINS(r.evidence, "\"reconnects\":1");
	store_close(s);
}

static int fake_eval_calls;

static int fake_eval(const struct window_data *wd, struct window_result *out)
{
	(void)wd;
	fake_eval_calls++;
	out->verdict = V_PASS;
	out->reason = reason_ok;
	str_copy(out->reason_text, sizeof(out->reason_text), "fake pass");
	return 0;
}

static const struct check_desc fake_mesh_check = {
	.id = "mtls.fake",
	.title = "fake mesh check",
	.promise = "every meshed request carries the verified client identity.",
	.proof = "test only",
	.objective = "100%",
	.roles = ROLE_HTTP_CLIENT,
	.needs_mesh = 1,
	.objective_ratio = 1.0,
	.eval = fake_eval,
};

TEST(no_mesh)
{
	struct store *s = fixture_store_open();
	struct run_config c;
	struct window_result r;

	ASSERT(s);
	base_cfg(&c);
	str_copy(c.mesh, sizeof(c.mesh), "none");
	fake_eval_calls = 0;
	ASSERT_EQ(evaluate_window(s, &c, &fake_mesh_check, 0, 0, &r), 0);
	ASSERT_EQ(fake_eval_calls, 0);
	ASSERT_EQ(r.verdict, V_FAIL);
	ASSERT_EQ(r.reason, R_NO_MESH);
	ASSERT_STR_EQ(r.reason_text,
		      "no mesh provides every meshed request carries the verified client identity");
	/* with a mesh, the check's own eval judges */
	str_copy(c.mesh, sizeof(c.mesh), "haproxy");
	ASSERT_EQ(evaluate_window(s, &c, &fake_mesh_check, 1, 0, &r), 0);
	ASSERT_EQ(fake_eval_calls, 1);
	ASSERT_EQ(r.verdict, V_PASS);
	store_close(s);
}

static int count_windows(struct store *s, const char *check)
{
	struct store_window *w = NULL;
	size_t n = 0;

	if (store_get_windows(s, check, &w, &n))
		return -1;
	free(w);
	return (int)n;
}

TEST(due_progress_and_final)
{
	struct store *s = fixture_store_open();
	struct run_config c;
	struct store_window *w = NULL;
	int64_t next = 0;
	size_t n = 0;

	ASSERT(s);
	base_cfg(&c);
	c.nchecks = 2;
	str_copy(c.checks[0], sizeof(c.checks[0]), "http.basic");
	str_copy(c.checks[1], sizeof(c.checks[1]), "grpc.stream");
	ASSERT_EQ(put(s, "http.basic", OUT_OK, 200, T0 + 32, 10), 0);

	/* not started: nothing */
	c.started = 0;
	ASSERT_EQ(evaluate_due(s, &c, T0 + 100, 2, 0, 0, &next), 0);
	ASSERT_EQ(next, 0);
	c.started = T0 + 0.75;

	/* window 0 closes at T0+10; with 2 s grace it is due at T0+12 */
	ASSERT_EQ(evaluate_due(s, &c, T0 + 11.9, 2, 0, 0, &next), 0);
	ASSERT_EQ(next, 0);
	ASSERT_EQ(evaluate_due(s, &c, T0 + 12, 2, 0, 0, &next), 0);
	ASSERT_EQ(next, 1);
	ASSERT_EQ(count_windows(s, "http.basic"), 1);
	ASSERT_EQ(count_windows(s, "grpc.stream"), 1);
	ASSERT_EQ(count_windows(s, "grpc.basic"), 0);   /* not selected */
	/* later: windows 1 and 2 at once */
	ASSERT_EQ(evaluate_due(s, &c, T0 + 33, 2, 0, 0, &next), 0);
	ASSERT_EQ(next, 3);
	/* calling again does nothing new */
	ASSERT_EQ(evaluate_due(s, &c, T0 + 33, 2, 0, 0, &next), 0);
	ASSERT_EQ(next, 3);
	/* the run ends at T0+34.5: final evaluates the partial window 3 */
	ASSERT_EQ(evaluate_due(s, &c, T0 + 35, 2, 1, T0 + 34.5, &next), 0);
	ASSERT_EQ(next, 4);
	ASSERT_EQ(store_get_windows(s, "http.basic", &w, &n), 0);
	ASSERT_EQ(n, 4);
	ASSERT_EQ(w[3].start_s, T0 + 30);
	ASSERT_EQ(w[3].end_s, T0 + 35);
	ASSERT_EQ(w[3].r.verdict, V_PASS);
	ASSERT_UEQ(w[3].r.total, 10);
	ASSERT_EQ(w[0].r.verdict, V_NODATA);
	free(w);
	/* an end on a window boundary makes no empty extra window */
	ASSERT_EQ(evaluate_due(s, &c, T0 + 60, 2, 1, T0 + 40, &next), 0);
	ASSERT_EQ(next, 4);
	store_close(s);
}

/* Count lines of path containing needle. */
static int count_lines(const char *path, const char *needle)
{
	char line[2048];
	FILE *f = fopen(path, "r");
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	fclose(f);
	return n;
}

/*
 * The run clock as conformd drives the evaluator (state_run_now over the
 * monotonic clock): 100 s of 200 ms ticks during which the wall clock jumps
 * an hour ahead at 30 s and two hours back at 60 s. Every window is
 * evaluated once, in order, each at its own time: none is created by the
 * jump ahead (the wall clock would make 360 due at once), none dropped or
 * delayed by the jump back.
 */
TEST(wall_clock_jumps_move_no_window)
{
	struct store *s = fixture_store_open();
	struct state_clock saved;
	struct run_config c;
	int64_t next = 0, anchor, mono0 = 5000000, mono, due;
	double wall = 0, now = 0;

	ASSERT(s);
	base_cfg(&c);
	c.nchecks = 1;
	str_copy(c.checks[0], sizeof(c.checks[0]), "http.basic");
	anchor = state_clock_anchor(NULL, "boot-a", c.started, c.started, mono0);
	ASSERT_EQ(anchor, mono0);
	for (mono = mono0; mono <= mono0 + 100000; mono += 200) {
		int64_t t = mono - mono0;

		wall = c.started + (double)t / 1000.0 + (t >= 30000 ? 3600 : 0) -
		       (t >= 60000 ? 7200 : 0);
		now = state_run_now(c.started, anchor, mono);
		ASSERT_EQ(evaluate_due(s, &c, now, 3.0, 0, 0, &next), 0);
		/* exactly the windows that closed 3 s ago by the run clock */
		due = (int64_t)((now - 3.0 - (double)T0) / 10.0);
		ASSERT_EQ(next, due < 0 ? 0 : due);
	}
	ASSERT_NEAR(now - c.started, 100.0, 1e-9);
	ASSERT(wall < c.started);                /* the wall clock is far off by now */
	ASSERT_EQ(next, 9);
	ASSERT_EQ(count_windows(s, "http.basic"), 9);

	/* a resumed monitor of this boot keeps the saved anchor, whatever the
	 * wall clock says; after a reboot it derives one from the wall clock */
	memset(&saved, 0, sizeof(saved));
	saved.started = c.started;
	saved.started_mono_ms = mono0;
	str_copy(saved.boot_id, sizeof(saved.boot_id), "boot-a");
	ASSERT_EQ(state_clock_anchor(&saved, "boot-a", c.started, wall, mono0 + 100000), mono0);
	ASSERT_EQ(state_clock_anchor(&saved, "boot-b", c.started, c.started + 100.0, 7000),
		  7000 - 100000);
	/* a saved anchor from the future (another boot's clock) is not trusted */
	saved.started_mono_ms = mono0 + 200000;
	ASSERT_EQ(state_clock_anchor(&saved, "boot-a", c.started, c.started + 100.0,
				     mono0 + 100000), mono0);
	store_close(s);
}

TEST(state_change_logged_once)
{
	struct store *s = fixture_store_open();
	struct run_config c;
	char path[128];
	int fd, saved, i;

	ASSERT(s);
	base_cfg(&c);
	for (i = 0; i < 6; i++)
		ASSERT_EQ(put(s, "grpc.basic", i < 3 ? OUT_OK : OUT_GRPC_ERROR, i < 3 ? 0 : 14,
			      T0 + 10 * i + 1, 10), 0);
	snprintf(path, sizeof(path), "%s/log.txt", fixture_tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ASSERT(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	for (i = 0; i < 6; i++)
		evaluate_window(s, &c, &check_grpc_basic, i, 0, NULL);
	dup2(saved, 2);
	close(saved);
	close(fd);
	/* pass x3, fail x3 with rise = fall = 2: nodata -> passing after window
	 * 1, passing -> failing after window 4, each logged once */
	ASSERT_EQ(count_lines(path, "check grpc.basic:"), 2);
	ASSERT_EQ(count_lines(path, "check grpc.basic: nodata -> passing"), 1);
	ASSERT_EQ(count_lines(path, "check grpc.basic: passing -> failing (success 0.0%"), 1);
	{
		struct store_event *ev = NULL;
		size_t n = 0;

		ASSERT_EQ(store_get_events_kind(s, "check.state", &ev, &n), 0);
		ASSERT_EQ(n, 1);   /* the first "nodata -> passing" is no event */
		ASSERT_STR_EQ(ev[0].subject, "grpc.basic");
		ASSERT(!strncmp(ev[0].detail, "passing -> failing: success 0.0%", 32));
		ASSERT_NEAR(ev[0].ts, T0 + 50, 0);   /* when the tripping window closed */
		free(ev);
	}
	store_close(s);
}

/*
 * Debounce as a table: a sequence of window verdicts (P pass, F fail,
 * N no data, G monitor gap) with fall/rise, the state after each window
 * (p passing, f failing, - nodata) and the incidents as "start-end" window
 * numbers, "+" marking one still open.
 */
static const struct {
	const char *seq;
	int fall, rise;
	const char *states;
	const char *incidents;
} debounce_cases[] = {
	{ "PPPP",        2, 2, "-ppp",        "" },
	{ "PPFPP",       2, 2, "-pppp",       "" },       /* one blip: no incident */
	{ "PPFFPP",      2, 2, "-ppffp",      "2-3" },
	{ "PPFFPPP",     2, 2, "-ppffpp",     "2-3" },
	{ "PPFFFPFPP",   2, 2, "-ppfffffp",   "2-6" },    /* a lone P does not recover */
	{ "PPFFFPF",     2, 2, "-ppffff",     "2-6+" },
	{ "PPFNFPP",     2, 2, "-pppffp",     "2-4" },    /* no data does not reset */
	{ "PPFGFPP",     2, 2, "-pppffp",     "2-4" },    /* nor does a monitor gap */
	{ "PPFGGPFPP",   2, 2, "-pppppppp",   "" },       /* but a pass does */
	{ "FFPP",        2, 2, "-ffp",        "0-1" },    /* failing from the start */
	{ "FPPFPP",      1, 1, "fppfpp",      "0-0,3-3" },
	{ "PFFFPPP",     3, 3, "---fffp",     "1-3" },
	{ "PFFFPP",      3, 3, "---fff",      "1-3+" },
	{ "NNGG",        2, 2, "----",        "" },
};

static void apply_seq(const char *seq, int fall, int rise, char *states, char *incs,
		      size_t len)
{
	struct store_check_state st;
	struct store_incident inc;
	struct window_result r;
	enum verdict from;
	int64_t open_start = -1, open_end = -1, i;
	int has;

	memset(&st, 0, sizeof(st));
	str_copy(st.check, sizeof(st.check), "http.basic");
	st.last_idx = -1;
	incs[0] = '\0';
	for (i = 0; seq[i]; i++) {
		memset(&r, 0, sizeof(r));
		r.verdict = seq[i] == 'P' ? V_PASS : seq[i] == 'F' ? V_FAIL : V_NODATA;
		r.reason = seq[i] == 'G' ? R_MONITOR_GAP : R_MET;
		str_fmt(r.reason_text, sizeof(r.reason_text), "window %d", (int)i);
		/* window i spans [100 + 10 i, 110 + 10 i) */
		evaluate_debounce(&st, fall, rise, i, 100 + 10 * i, 110 + 10 * i, &r, &inc, &has,
				  &from);
		states[i] = st.state == V_PASS ? 'p' : st.state == V_FAIL ? 'f' : '-';
		if (has) {
			open_start = (inc.start_s - 100) / 10;
			open_end = (inc.end_s - 110) / 10;
			if (!inc.open) {
				str_fmt(incs + strlen(incs), len - strlen(incs), "%s%d-%d",
					incs[0] ? "," : "", (int)open_start, (int)open_end);
				open_start = -1;
			}
		}
	}
	states[i] = '\0';
	if (open_start >= 0)
		str_fmt(incs + strlen(incs), len - strlen(incs), "%s%d-%d+", incs[0] ? "," : "",
			(int)open_start, (int)open_end);
}

TEST(debounce_table)
{
	char states[64], incs[128];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(debounce_cases); i++) {
		apply_seq(debounce_cases[i].seq, debounce_cases[i].fall, debounce_cases[i].rise,
			  states, incs, sizeof(incs));
		if (strcmp(states, debounce_cases[i].states) ||
		    strcmp(incs, debounce_cases[i].incidents))
			fprintf(stderr, "case %s fall=%d rise=%d\n", debounce_cases[i].seq,
				debounce_cases[i].fall, debounce_cases[i].rise);
		ASSERT_STR_EQ(states, debounce_cases[i].states);
		ASSERT_STR_EQ(incs, debounce_cases[i].incidents);
	}
}

TEST(debounce_idempotent)
{
	struct store_check_state st;
	struct store_incident inc;
	struct window_result r;
	enum verdict from;
	int has;

	memset(&st, 0, sizeof(st));
	st.last_idx = -1;
	memset(&r, 0, sizeof(r));
	r.verdict = V_FAIL;
	ASSERT_EQ(evaluate_debounce(&st, 2, 2, 0, 100, 110, &r, &inc, &has, &from), 1);
	ASSERT_EQ(st.fail_streak, 1);
	/* the same window again (a re-evaluation after a restart) changes nothing */
	ASSERT_EQ(evaluate_debounce(&st, 2, 2, 0, 100, 110, &r, &inc, &has, &from), 0);
	ASSERT_EQ(st.fail_streak, 1);
	ASSERT_EQ(st.state, V_NODATA);
}

/* Windows overlapping a monitor.gap event are NODATA/R_MONITOR_GAP, not
 * judged, and do not break a failing streak; the state and the open incident
 * survive closing and reopening the store (a restarted conformd). */
TEST(monitor_gap_and_reopen)
{
	struct store *s = fixture_store_open();
	struct run_config c;
	struct window_result r;
	struct store_check_state st;
	struct store_incident *inc = NULL;
	char path[128], err[256];
	size_t n = 0;
	int i;

	ASSERT(s);
	snprintf(path, sizeof(path), "%s/%d.db", fixture_tmpdir, fixture_ndb - 1);
	base_cfg(&c);
	/* window 0 fails, 1 lies in a gap (no rows: the clients were down too),
	 * 2 fails: F G F with fall = 2 is one incident from window 0 to 2 */
	for (i = 0; i < 10; i++) {
		ASSERT_EQ(put(s, "http.basic", OUT_HTTP_5XX, 503, T0 + i, 5), 0);
		ASSERT_EQ(put(s, "http.basic", OUT_HTTP_5XX, 503, T0 + 20 + i, 5), 0);
	}
	ASSERT_EQ(store_put_event(s, T0 + 25, "monitor.gap", "conformd", "from=1763784672 to=1763784678"), 0);
	ASSERT_EQ(evaluate_window(s, &c, &check_http_basic, 0, 0, &r), 0);
	ASSERT_EQ(r.verdict, V_FAIL);
	ASSERT_EQ(evaluate_window(s, &c, &check_http_basic, 1, 0, &r), 0);
	ASSERT_EQ(r.verdict, V_NODATA);
	ASSERT_EQ(r.reason, R_MONITOR_GAP);
	ASSERT_STR_EQ(r.reason_text, "monitor was down from 04:11:12 to 04:11:18");
	ASSERT_EQ(store_get_check_state(s, "http.basic", &st), 1);
	ASSERT_EQ(st.fail_streak, 1);
	store_close(s);
	/* restart: the streak continues */
	ASSERT_EQ(store_open(path, 0, &s, err, sizeof(err)), 0);
	ASSERT_EQ(evaluate_window(s, &c, &check_http_basic, 2, 0, &r), 0);
	ASSERT_EQ(r.verdict, V_FAIL);
	ASSERT_EQ(store_get_check_state(s, "http.basic", &st), 1);
	ASSERT_EQ(st.state, V_FAIL);
	ASSERT_EQ(store_get_incidents(s, "http.basic", &inc, &n), 0);
	ASSERT_EQ(n, 1);
	ASSERT_EQ(inc[0].start_s, T0);
	ASSERT_EQ(inc[0].end_s, T0 + 30);
	ASSERT_EQ(inc[0].windows, 2);
	ASSERT(inc[0].open);
	ASSERT(strstr(inc[0].reason, "success 0.0%") != NULL);
	free(inc);
	store_close(s);
}

int main(void)
{
	if (fixture_tmpdir_make("eval"))
		return 2;
	log_init("test_evaluate", LOG_INFO);
	RUN(bounds);
	RUN(windows_from_rows);
	RUN(grpc_unavailable);
	RUN(stream_reset);
	RUN(no_mesh);
	RUN(due_progress_and_final);
	RUN(wall_clock_jumps_move_no_window);
	RUN(state_change_logged_once);
	RUN(debounce_table);
	RUN(debounce_idempotent);
	RUN(monitor_gap_and_reopen);
	fixture_tmpdir_remove();
	TEST_MAIN_END();
}
