/*
 * cmd_dashboard.c - `conform dashboard`: a live ncursesw view of the active
 * run, polled from conformd's /v1/status every second. Everything it shows
 * reads without colour (symbols and glyphs carry the state), and every exit
 * path gives the terminal back (endwin on quit, on SIGINT/SIGTERM, atexit).
 */
#define NCURSES_WIDECHAR 1

#include <curses.h>
#include <langinfo.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include <cjson/cJSON.h>

#include "control/apiclient.h"
#include "cli.h"
#include "base/util.h"

#define DASH_MAX_CHECKS 64
#define DASH_RECENT 30          /* windows in the sparkline (status "recent") */
#define DASH_MAX_EVENTS 20      /* status "events" */
#define DASH_POLL_MS 1000       /* refresh at least every second */
#define DASH_TIMEOUT_MS 700     /* one poll never blocks the keys for long */
#define DASH_TICK_MS 100        /* getch timeout */
#define DASH_MIN_COLS 40
#define DASH_MIN_LINES 10

/* Symbols that carry the state without colour. */
#define SYM_PASS L'\u2714'      /* ✔ */
#define SYM_FAIL L'\u2716'      /* ✖ */
#define SYM_NODATA L'\u00b7'    /* · */
#define SYM_SKIP L'\u2013'      /* – */
#define SYM_INCONCLUSIVE L'?'   /* a precondition outside the promise broke */
#define SPARK_PASS L'\u2588'    /* █ */
#define SPARK_FAIL L'\u2573'    /* ╳ */
#define SPARK_NODATA L'\u2581'  /* ▁ */

enum dash_colour { COL_PASS = 1, COL_FAIL, COL_NODATA };
enum dash_focus { FOCUS_CHECKS, FOCUS_EVENTS };

#define DASH_SAMPLES 5          /* failing requests shown per incident */

struct dash_sample {            /* a failing request of the last incident */
	char request_id[128];
	char outcome[24];
	int code;
	double latency_ms;
	char identity[96];
};

struct dash_check {
	char id[32];
	char title[96];
	char promise[256];
	char state[12];         /* debounced: passing failing nodata skip */
	char verdict[16];       /* so far: pass fail nodata skip inconclusive */
	char reason[256];
	long long pass, fail, nodata, req_total, req_failed, incidents;
	double rate, p99_ms;
	char recent[DASH_RECENT]; /* 'p' 'f' 'n' 'i', oldest first */
	int nrecent;
	int has_incident;       /* "last_incident" present */
	double inc_start, inc_end;
	int inc_open;
	char inc_reason[160];
	struct dash_sample samples[DASH_SAMPLES];
	int nsamples;
};

struct dash_event {
	double ts;
	char kind[32];
	char subject[64];
	char detail[160];
};

/* What one good answer of /v1/status said (bounded copies). */
struct dash_snap {
	int valid;
	char id[48], platform[16], mesh[16], state[16], verdict[8];
	double elapsed, duration, window;
	long long batches, duplicates, rejected;
	int nfaults, restarts;
	struct dash_check checks[DASH_MAX_CHECKS];
	int nchecks;
	struct dash_event events[DASH_MAX_EVENTS];
	int nevents;
};

struct dash {
	struct cli_run run;
	struct dash_snap snap;      /* the last good answer (kept while unreachable) */
	int reachable;
	int polls_failed;
	char err[160];
	int run_over;               /* the run finished: reports written */
	char final_verdict[16];
	char sel_id[32];            /* selected check, by id: stable across refreshes */
	int focus;
	int ev_sel;                 /* selected event, 0 = newest */
	int detail, filter, help;
	int colour;
	int check_top;              /* first visible row of the checks pane */
};

static int dash_curses_on;

static void dash_end(void)
{
	if (dash_curses_on && !isendwin())
		endwin();
	dash_curses_on = 0;
}

/* --- the model: /v1/status into a snapshot ------------------------------- */

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) && v->valuestring ? v->valuestring : "";
}

static double jnum(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* Bounded copy of a network string (truncation is fine for display). */
static void jcopy(char *dst, size_t len, const cJSON *o, const char *key)
{
	str_copy(dst, len, jstr(o, key));
}

/* The status's "last_incident" (absent or null: none) and its samples. */
static void snap_incident(struct dash_check *c, const cJSON *inc)
{
	const cJSON *v, *samples;

	if (!cJSON_IsObject(inc))
		return;
	c->has_incident = 1;
	c->inc_start = jnum(inc, "start");
	c->inc_end = jnum(inc, "end");
	c->inc_open = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(inc, "open"));
	jcopy(c->inc_reason, sizeof(c->inc_reason), inc, "reason");
	samples = cJSON_GetObjectItemCaseSensitive(inc, "samples");
	cJSON_ArrayForEach(v, samples) {
		struct dash_sample *x;

		if (c->nsamples >= DASH_SAMPLES || !cJSON_IsObject(v))
			break;
		x = &c->samples[c->nsamples++];
		jcopy(x->request_id, sizeof(x->request_id), v, "request_id");
		jcopy(x->outcome, sizeof(x->outcome), v, "outcome");
		jcopy(x->identity, sizeof(x->identity), v, "identity");
		x->code = (int)jnum(v, "code");
		x->latency_ms = jnum(v, "latency_ms");
	}
}

static void snap_check(struct dash_check *c, const cJSON *it)
{
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(it, "windows");
	const cJSON *rq = cJSON_GetObjectItemCaseSensitive(it, "requests");
	const cJSON *recent = cJSON_GetObjectItemCaseSensitive(it, "recent");
	const cJSON *v;
	int n = cJSON_GetArraySize(recent), skip = n > DASH_RECENT ? n - DASH_RECENT : 0;

	memset(c, 0, sizeof(*c));
	jcopy(c->id, sizeof(c->id), it, "id");
	jcopy(c->title, sizeof(c->title), it, "title");
	jcopy(c->promise, sizeof(c->promise), it, "promise");
	jcopy(c->state, sizeof(c->state), it, "state");
	jcopy(c->verdict, sizeof(c->verdict), it, "verdict");
	if (!c->verdict[0])   /* a monitor from before "verdict" */
		str_copy(c->verdict, sizeof(c->verdict), c->state);
	jcopy(c->reason, sizeof(c->reason), it, "last_reason");
	c->pass = (long long)jnum(w, "pass");
	c->fail = (long long)jnum(w, "fail");
	c->nodata = (long long)jnum(w, "nodata");
	c->req_total = (long long)jnum(rq, "total");
	c->req_failed = (long long)jnum(rq, "failed");
	c->incidents = (long long)jnum(it, "incidents");
	c->rate = jnum(it, "rate");
	c->p99_ms = jnum(it, "p99_ms");
	cJSON_ArrayForEach(v, recent) {
		const char *s = cJSON_IsString(v) ? v->valuestring : "";

		if (skip-- > 0)
			continue;
		c->recent[c->nrecent++] = !strcmp(s, "pass") ? 'p' : !strcmp(s, "fail") ? 'f' :
					  !strcmp(s, "inconclusive") ? 'i' : 'n';
	}
	snap_incident(c, cJSON_GetObjectItemCaseSensitive(it, "last_incident"));
}

static int snap_parse(struct dash_snap *s, const char *body, size_t len)
{
	cJSON *j = cJSON_ParseWithLength(body, len);
	const cJSON *run, *mon, *it;

	if (!j)
		return -1;
	memset(s, 0, sizeof(*s));
	run = cJSON_GetObjectItemCaseSensitive(j, "run");
	mon = cJSON_GetObjectItemCaseSensitive(j, "monitor");
	jcopy(s->id, sizeof(s->id), run, "id");
	jcopy(s->platform, sizeof(s->platform), run, "platform");
	jcopy(s->mesh, sizeof(s->mesh), run, "mesh");
	s->elapsed = jnum(run, "elapsed_s");
	s->duration = jnum(run, "duration_s");
	s->window = jnum(run, "window_s");
	jcopy(s->state, sizeof(s->state), j, "state");
	jcopy(s->verdict, sizeof(s->verdict), j, "verdict_so_far");
	s->batches = (long long)jnum(mon, "batches");
	s->duplicates = (long long)jnum(mon, "duplicates");
	s->rejected = (long long)jnum(mon, "rejected");
	s->nfaults = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "faults"));
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "workloads"))
		s->restarts += (int)jnum(it, "restarts");
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "checks")) {
		if (s->nchecks >= DASH_MAX_CHECKS)
			break;
		snap_check(&s->checks[s->nchecks++], it);
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "events")) {
		struct dash_event *e;

		if (s->nevents >= DASH_MAX_EVENTS) {   /* keep the newest */
			memmove(&s->events[0], &s->events[1],
				sizeof(s->events[0]) * (DASH_MAX_EVENTS - 1));
			s->nevents--;
		}
		e = &s->events[s->nevents++];
		e->ts = jnum(it, "ts");
		jcopy(e->kind, sizeof(e->kind), it, "kind");
		jcopy(e->subject, sizeof(e->subject), it, "subject");
		jcopy(e->detail, sizeof(e->detail), it, "detail");
	}
	s->valid = 1;
	cJSON_Delete(j);
	return 0;
}

/* The verdict of the finished run's reports/report.json into out. */
static void dash_final_verdict(struct dash *d)
{
	char path[PATH_MAX];
	char *text;
	size_t n;
	cJSON *j;

	str_copy(d->final_verdict, sizeof(d->final_verdict), "unknown");
	if (str_fmt(path, sizeof(path), "%s/reports/report.json", d->run.dir))
		return;
	text = file_read(path, 64u << 20, &n);
	if (!text)
		return;
	j = cJSON_ParseWithLength(text, n);
	free(text);
	if (j && jstr(j, "verdict")[0])
		str_copy(d->final_verdict, sizeof(d->final_verdict), jstr(j, "verdict"));
	cJSON_Delete(j);
}

static void dash_poll(struct dash *d)
{
	struct api_response resp;
	char err[256];
	enum run_state st;

	if (api_call(&d->run.ep, "GET", "/v1/status", NULL, DASH_TIMEOUT_MS, &resp, err,
			sizeof(err)) == 0) {
		if (resp.status == 200 && snap_parse(&d->snap, resp.body, resp.len) == 0) {
			d->reachable = 1;
			d->polls_failed = 0;
			api_response_release(&resp);
			return;
		}
		if (resp.status == 200)
			str_copy(err, sizeof(err), "the answer is not JSON");
		else
			api_error_text(&resp, err, sizeof(err));
		api_response_release(&resp);
	}
	d->reachable = 0;
	d->polls_failed++;
	str_copy(d->err, sizeof(d->err), err);
	st = state_run_state(d->run.dir, NULL);
	if (st == RUN_STATE_FINISHED && !d->run_over) {
		d->run_over = 1;
		dash_final_verdict(d);
	}
}

/* --- drawing helpers -------------------------------------------------------- */

/*
 * The next character of UTF-8 text at s (len bytes left) as it is drawn:
 * invalid bytes become '?', control characters a space. *cw gets its
 * columns, *used the bytes consumed.
 */
static wchar_t next_wc(const char *s, size_t len, mbstate_t *ms, int *cw, size_t *used)
{
	wchar_t wc;
	size_t r = mbrtowc(&wc, s, len, ms);

	if (r == (size_t)-1 || r == (size_t)-2) {
		memset(ms, 0, sizeof(*ms));
		r = 1;
		wc = L'?';
	}
	*used = r ? r : 1;
	if (wc < 0x20 || wc == 0x7f || (wc >= 0x80 && wc < 0xa0))
		wc = L' ';
	*cw = wcwidth(wc);
	if (*cw < 0) {
		wc = L'?';
		*cw = 1;
	}
	return wc;
}

/*
 * Draw UTF-8 text at (y, x) in at most w columns; text that does not fit
 * ends with '…', so nothing wraps. pad fills the rest of w with spaces.
 * Returns the columns drawn.
 */
static int put(int y, int x, int w, attr_t a, int pad, const char *s)
{
	wchar_t out[512];
	size_t n = 0, i = 0, len = strlen(s), used;
	int cols = 0, total = 0, cw;
	mbstate_t ms;

	if (w <= 0 || y < 0 || y >= LINES || x < 0 || x >= COLS)
		return 0;
	if (x + w > COLS)
		w = COLS - x;
	/* first pass: the width of the whole text, to know whether it fits */
	memset(&ms, 0, sizeof(ms));
	while (i < len) {
		next_wc(s + i, len - i, &ms, &cw, &used);
		total += cw;
		i += used;
	}
	memset(&ms, 0, sizeof(ms));
	i = 0;
	while (i < len && n < ARRAY_SIZE(out) - 2) {
		wchar_t wc = next_wc(s + i, len - i, &ms, &cw, &used);

		i += used;
		if (cols + cw > (total > w ? w - 1 : w))
			break;
		out[n++] = wc;
		cols += cw;
	}
	if (total > w && cols < w) {
		out[n++] = L'\u2026';
		cols++;
	}
	out[n] = L'\0';
	attron(a);
	mvaddnwstr(y, x, out, (int)n);
	while (pad && cols < w) {
		addch(' ');
		cols++;
	}
	attroff(a);
	return cols;
}

static int putf(int y, int x, int w, attr_t a, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int putf(int y, int x, int w, attr_t a, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return put(y, x, w, a, 0, buf);
}

static void put_wc(int y, int x, wchar_t wc, attr_t a)
{
	wchar_t s[2] = { wc, L'\0' };

	if (y < 0 || y >= LINES || x < 0 || x >= COLS)
		return;
	attron(a);
	mvaddnwstr(y, x, s, 1);
	attroff(a);
}

static attr_t col(const struct dash *d, enum dash_colour c)
{
	if (!d->colour)
		return c == COL_FAIL ? A_BOLD : A_NORMAL;
	return COLOR_PAIR(c) | (c == COL_FAIL ? A_BOLD : 0);
}

static wchar_t state_sym(const char *s)
{
	if (!strcmp(s, "pass"))
		return SYM_PASS;
	if (!strcmp(s, "fail"))
		return SYM_FAIL;
	if (!strcmp(s, "skip"))
		return SYM_SKIP;
	if (!strcmp(s, "inconclusive"))
		return SYM_INCONCLUSIVE;
	return SYM_NODATA;
}

static enum dash_colour state_col(const char *s)
{
	if (!strcmp(s, "pass"))
		return COL_PASS;
	if (!strcmp(s, "fail"))
		return COL_FAIL;
	return COL_NODATA;
}

static const char *fmt_dur(double s, char *buf, size_t len)
{
	if (s < 1) {
		str_copy(buf, len, "0s");
		return buf;
	}
	return dur_format((int64_t)s * 1000, buf, len);
}

/* --- the screen ------------------------------------------------------------- */

/* A check is failing when it is (debounced) or its verdict so far fails;
 * "fail" is the state of a monitor from before debouncing. */
static int check_failing(const struct dash_check *c)
{
	return !strcmp(c->state, "failing") || !strcmp(c->state, "fail") ||
	       !strcmp(c->verdict, "fail");
}

/* The state a row shows: failing wins, else the verdict so far. */
static const char *check_shown(const struct dash_check *c)
{
	return check_failing(c) ? "fail" : c->verdict;
}

/* Indexes of the checks shown (filter applied) into idx; returns how many. */
static int visible_checks(const struct dash *d, int *idx)
{
	int i, n = 0;

	for (i = 0; i < d->snap.nchecks; i++)
		if (!d->filter || check_failing(&d->snap.checks[i]))
			idx[n++] = i;
	return n;
}

/* The row of the selected check among the visible ones (0 if not shown). */
static int selected_row(const struct dash *d, const int *idx, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(d->snap.checks[idx[i]].id, d->sel_id))
			return i;
	return 0;
}

/*
 * Two header lines, most important first so a narrow terminal cuts the
 * least: the verdict so far, run state and id; then monitor health and time.
 */
static void draw_header(struct dash *d)
{
	const struct dash_snap *s = &d->snap;
	const char *v = d->run_over ? d->final_verdict : s->verdict;
	char a[32], b[32], line[512];
	int x;

	x = put(0, 0, COLS, A_BOLD, 0, "conform  ");
	if (s->valid || d->run_over) {
		put_wc(0, x, state_sym(v), col(d, state_col(v)));
		x += 2;
		x += putf(0, x, COLS - x, col(d, state_col(v)) | A_BOLD, "%s %s", v,
			  d->run_over ? "final" : "so far");
	}
	if (s->valid)
		putf(0, x, COLS - x, A_NORMAL, "  %s  run %s  %s/%s", d->run_over ? "finished" :
		     s->state, s->id, s->platform, s->mesh);
	else
		putf(0, x, COLS - x, A_NORMAL, "  run %s", d->run.id);

	if (d->run_over)
		x = put(1, 0, COLS, A_BOLD, 0, "monitor: run ended, reports written (q quits)");
	else if (d->reachable)
		x = putf(1, 0, COLS, s->rejected ? col(d, COL_NODATA) : A_NORMAL,
			 "monitor reachable: %lld batches, %lld rejected", s->batches, s->rejected);
	else
		x = put(1, 0, COLS, col(d, COL_FAIL), 0, "monitor unreachable \u2014 retrying");
	if (s->valid) {
		if (s->duration > 0) {
			double left = s->duration - s->elapsed;

			snprintf(line, sizeof(line), "  elapsed %s, %s remaining",
				 fmt_dur(s->elapsed, a, sizeof(a)),
				 fmt_dur(left > 0 ? left : 0, b, sizeof(b)));
		} else {
			snprintf(line, sizeof(line), "  elapsed %s, until stopped",
				 fmt_dur(s->elapsed, a, sizeof(a)));
		}
		x += put(1, x, COLS - x, A_NORMAL, 0, line);
		x += putf(1, x, COLS - x, A_NORMAL, "  window %gs", s->window);
		if (s->nfaults && d->reachable)
			x += putf(1, x, COLS - x, col(d, COL_NODATA), "  %d fault%s", s->nfaults,
				  s->nfaults == 1 ? "" : "s");
	}
	if (!d->reachable && !d->run_over)
		putf(1, x, COLS - x, A_NORMAL, "  (%s)", d->err[0] ? d->err : "no answer yet");
}

/* Column widths of a check row for the current terminal width. */
struct row_layout {
	int id, state, ratio, now, spark, rate, p99;
};

static void row_layout(const struct dash *d, struct row_layout *l)
{
	int i, fixed, longest = 10;

	for (i = 0; i < d->snap.nchecks; i++) {
		int n = (int)strlen(d->snap.checks[i].id);

		if (n > longest)
			longest = n;
	}
	l->state = 6;
	l->ratio = 5;
	l->now = 3;
	l->rate = 8;
	l->p99 = 9;
	l->id = longest > 24 ? 24 : longest;
	/* marker+symbol "> ✔ " 4, then columns each followed by a space */
	fixed = 4 + l->id + 1 + l->state + 1 + l->ratio + 1 + l->now + 1 + l->rate + 1 + l->p99;
	l->spark = COLS - fixed - 1;
	if (l->spark > DASH_RECENT)
		l->spark = DASH_RECENT;
	if (l->spark < 0) {
		l->id += l->spark;
		l->spark = 0;
		if (l->id < 6)
			l->id = 6;
	}
}

static void draw_check_row(struct dash *d, int y, const struct dash_check *c,
			   const struct row_layout *l, int selected)
{
	const char *shown = check_shown(c);
	attr_t sel = selected ? (d->focus == FOCUS_CHECKS ? A_REVERSE : A_BOLD) : A_NORMAL;
	long long nwin = c->pass + c->fail + c->nodata;
	char buf[64];
	int x = 0, i, from;

	attron(sel);
	mvhline(y, 0, ' ', COLS);
	attroff(sel);
	put(y, x, 2, sel, 0, selected ? ">" : " ");
	x += 2;
	put_wc(y, x, state_sym(shown), col(d, state_col(shown)) | sel);
	x += 2;
	put(y, x, l->id, sel, 1, c->id);
	x += l->id + 1;
	put(y, x, l->state, col(d, state_col(shown)) | sel, 1, shown);
	x += l->state + 1;
	if (nwin > 0)
		snprintf(buf, sizeof(buf), "%4lld%%", c->pass * 100 / nwin);
	else
		str_copy(buf, sizeof(buf), "    -");
	put(y, x, l->ratio, sel, 1, buf);
	x += l->ratio + 1;
	if (c->nrecent > 0) {
		const char *last = c->recent[c->nrecent - 1] == 'p' ? "pass" :
				   c->recent[c->nrecent - 1] == 'f' ? "fail" :
				   c->recent[c->nrecent - 1] == 'i' ? "inconclusive" : "nodata";

		put_wc(y, x + 1, state_sym(last), col(d, state_col(last)) | sel);
	} else {
		put(y, x + 1, 1, sel, 0, "-");
	}
	x += l->now + 1;
	from = c->nrecent > l->spark ? c->nrecent - l->spark : 0;
	for (i = from; i < c->nrecent; i++) {
		char v = c->recent[i];

		put_wc(y, x + (i - from), v == 'p' ? SPARK_PASS : v == 'f' ? SPARK_FAIL : SPARK_NODATA,
		       col(d, v == 'p' ? COL_PASS : v == 'f' ? COL_FAIL : COL_NODATA) | sel);
	}
	x += l->spark + 1;
	snprintf(buf, sizeof(buf), c->rate < 9999.5 ? "%6.1f/s" : "%6.0f/s", c->rate);
	put(y, x, l->rate, sel, 1, c->rate > 0 || c->req_total ? buf : "       -");
	x += l->rate + 1;
	if (c->p99_ms >= 1000)
		snprintf(buf, sizeof(buf), "%7.2fs", c->p99_ms / 1000);
	else
		snprintf(buf, sizeof(buf), "%7.1fms", c->p99_ms);
	put(y, x, l->p99, sel, 1, c->p99_ms > 0 ? buf : "        -");
}

static int draw_checks(struct dash *d, int top, int height)
{
	int idx[DASH_MAX_CHECKS], n = visible_checks(d, idx), i, row;
	struct row_layout l;
	int x;

	row_layout(d, &l);
	x = put(top, 0, 4, A_UNDERLINE, 1, "");
	x += put(top, x, l.id + 1, A_UNDERLINE, 1, "CHECK");
	x += put(top, x, l.state + 1, A_UNDERLINE, 1, "STATE");
	x += put(top, x, l.ratio + 1, A_UNDERLINE, 1, "PASS%");
	x += put(top, x, l.now + 1, A_UNDERLINE, 1, "NOW");
	if (l.spark > 0)
		x += put(top, x, l.spark + 1, A_UNDERLINE, 1, "RECENT WINDOWS");
	x += put(top, x, l.rate + 1, A_UNDERLINE, 1, "    RATE");
	x += put(top, x, COLS - x, A_UNDERLINE, 1, "      P99");
	height--;
	top++;
	if (!d->snap.valid) {
		put(top, 2, COLS - 2, A_NORMAL, 0, "waiting for the monitor\u2026");
		return 0;
	}
	if (n == 0) {
		put(top, 2, COLS - 2, A_NORMAL, 0, d->filter ? "no failing checks (f shows all)" :
		    "no checks");
		return 0;
	}
	row = selected_row(d, idx, n);
	str_copy(d->sel_id, sizeof(d->sel_id), d->snap.checks[idx[row]].id);
	if (row < d->check_top)
		d->check_top = row;
	if (row >= d->check_top + height)
		d->check_top = row - height + 1;
	if (d->check_top > n - height)
		d->check_top = n - height > 0 ? n - height : 0;
	for (i = 0; i < height && d->check_top + i < n; i++)
		draw_check_row(d, top + i, &d->snap.checks[idx[d->check_top + i]], &l,
			       d->check_top + i == row);
	return n;
}

/* A pane title: "── name ──────" across the screen, bold when focused. */
static void draw_rule(int y, const char *title, int focused)
{
	char buf[256];

	mvhline(y, 0, ACS_HLINE, COLS);
	snprintf(buf, sizeof(buf), " %s ", title);
	put(y, 2, COLS - 4, focused ? A_BOLD : A_NORMAL, 0, buf);
}

static const struct dash_check *selected_check(const struct dash *d)
{
	int i;

	for (i = 0; i < d->snap.nchecks; i++)
		if (!strcmp(d->snap.checks[i].id, d->sel_id))
			return &d->snap.checks[i];
	return NULL;
}

static void draw_detail(struct dash *d, int top, int height)
{
	const struct dash_check *c = selected_check(d);
	char buf[512];

	snprintf(buf, sizeof(buf), "%s%s%s", c ? c->id : "no check selected",
		 c && c->title[0] ? " \u2014 " : "", c ? c->title : "");
	draw_rule(top, buf, 0);
	if (!c)
		return;
	if (height > 1)
		putf(top + 1, 2, COLS - 2, A_NORMAL, "promise:   %s", c->promise);
	if (height > 2)
		putf(top + 2, 2, COLS - 2, check_failing(c) ? col(d, COL_FAIL) : A_NORMAL,
		     "reason:    %s", c->reason[0] ? c->reason : "(no window evaluated yet)");
	if (height > 3)
		putf(top + 3, 2, COLS - 2, A_NORMAL,
		     "windows:   %lld pass, %lld fail, %lld no data   incidents: %lld",
		     c->pass, c->fail, c->nodata, c->incidents);
	if (height > 4)
		putf(top + 4, 2, COLS - 2, A_NORMAL,
		     "requests:  %lld total, %lld failed   state now: %s, so far: %s",
		     c->req_total, c->req_failed, c->state, c->verdict);
	if (height > 5 && c->has_incident) {
		char a[16], b[16];
		time_t t;
		struct tm tm;
		int i;

		t = (time_t)c->inc_start;
		localtime_r(&t, &tm);
		strftime(a, sizeof(a), "%H:%M:%S", &tm);
		t = (time_t)c->inc_end;
		localtime_r(&t, &tm);
		strftime(b, sizeof(b), "%H:%M:%S", &tm);
		putf(top + 5, 2, COLS - 2, c->inc_open ? col(d, COL_FAIL) : A_NORMAL,
		     "incident:  %s .. %s%s  %s", a, b, c->inc_open ? " (open)" : "",
		     c->inc_reason);
		/* the sample failing requests: id, status, latency, identity */
		for (i = 0; i < c->nsamples && 6 + i < height; i++) {
			const struct dash_sample *x = &c->samples[i];

			putf(top + 6 + i, 2, COLS - 2, A_NORMAL, "  %s  %s %d  %.1f ms  %s",
			     x->request_id, x->outcome, x->code, x->latency_ms,
			     x->identity[0] ? x->identity : "(no identity)");
		}
	}
}

/* Rows the detail pane wants: 5, plus the last incident and its samples. */
static int detail_rows(const struct dash *d)
{
	const struct dash_check *c = selected_check(d);

	return 5 + (c && c->has_incident ? 1 + c->nsamples : 0);
}

static void draw_events(struct dash *d, int top, int height)
{
	const struct dash_snap *s = &d->snap;
	char title[64], when[16];
	int i;

	snprintf(title, sizeof(title), "events (%d latest)%s", s->nevents,
		 d->focus == FOCUS_EVENTS ? " \u2014 focused" : "");
	draw_rule(top, title, d->focus == FOCUS_EVENTS);
	if (d->ev_sel >= s->nevents)
		d->ev_sel = s->nevents ? s->nevents - 1 : 0;
	if (!s->nevents && height > 1) {
		put(top + 1, 2, COLS - 2, A_NORMAL, 0, "no events yet");
		return;
	}
	/* newest first; scroll so the selected one is shown */
	{
		int first = d->ev_sel >= height - 1 ? d->ev_sel - (height - 2) : 0;

		for (i = 0; i + 1 < height && first + i < s->nevents; i++) {
			const struct dash_event *e = &s->events[s->nevents - 1 - (first + i)];
			time_t t = (time_t)e->ts;
			struct tm tm;
			attr_t a = A_NORMAL;
			int sel = d->focus == FOCUS_EVENTS && first + i == d->ev_sel;

			localtime_r(&t, &tm);
			strftime(when, sizeof(when), "%H:%M:%S", &tm);
			if (!strncmp(e->kind, "fault.", 6) || strstr(e->kind, "exit") ||
			    strstr(e->kind, "restart"))
				a = col(d, COL_NODATA);
			if (sel) {
				a |= A_REVERSE;
				attron(A_REVERSE);
				mvhline(top + 1 + i, 0, ' ', COLS);
				attroff(A_REVERSE);
			}
			putf(top + 1 + i, 2, COLS - 2, a, "%s  %-16s %-14s %s", when, e->kind,
			     e->subject, e->detail);
		}
	}
}

static void draw_footer(const struct dash *d)
{
	const char *keys = "\u2191\u2193/jk move  Enter detail  Tab focus  f failing  r refresh"
			   "  ? help  q quit";
	char buf[256];

	if (d->filter) {
		snprintf(buf, sizeof(buf), "[only failing checks] %s", keys);
		put(LINES - 1, 0, COLS, A_REVERSE, 1, buf);
	} else {
		put(LINES - 1, 0, COLS, A_REVERSE, 1, keys);
	}
}

static void draw_help(const struct dash *d)
{
	static const char *const lines[] = {
		"conform dashboard: keys",
		"",
		"\u2191 \u2193  j k   move in the focused pane",
		"Enter       open / close the check's detail",
		"Tab         focus checks / events",
		"f           only failing checks (again: all)",
		"r           refresh now",
		"?           this help (any key closes)",
		"q, Ctrl-C   quit",
		"",
		"\u2714 pass  \u2716 fail  ? inconclusive  \u00b7 no data  \u2013 skipped",
		"sparkline: \u2588 pass  \u2573 fail  \u2581 no data",
	};
	int n = (int)ARRAY_SIZE(lines), w = 50, h = n + 2, y0, x0, i;

	(void)d;
	if (w > COLS)
		w = COLS;
	if (h > LINES)
		h = LINES;
	y0 = (LINES - h) / 2;
	x0 = (COLS - w) / 2;
	for (i = 0; i < h; i++) {
		mvhline(y0 + i, x0, ' ', w);
		if (i == 0 || i == h - 1) {
			mvhline(y0 + i, x0, ACS_HLINE, w);
		} else if (i - 1 < n) {
			put(y0 + i, x0 + 2, w - 4, i == 1 ? A_BOLD : A_NORMAL, 0, lines[i - 1]);
		}
		mvaddch(y0 + i, x0, i == 0 ? ACS_ULCORNER : i == h - 1 ? ACS_LLCORNER : ACS_VLINE);
		mvaddch(y0 + i, x0 + w - 1,
			i == 0 ? ACS_URCORNER : i == h - 1 ? ACS_LRCORNER : ACS_VLINE);
	}
}

static void dash_draw(struct dash *d)
{
	int avail, detail_h, ev_h, checks_h, nvis, idx[DASH_MAX_CHECKS];

	erase();
	if (COLS < DASH_MIN_COLS || LINES < DASH_MIN_LINES) {
		putf(0, 0, COLS, A_BOLD, "terminal too small (%dx%d): need %dx%d", COLS, LINES,
		     DASH_MIN_COLS, DASH_MIN_LINES);
		put(1, 0, COLS, A_NORMAL, 0, "q quits");
		refresh();
		return;
	}
	draw_header(d);
	nvis = visible_checks(d, idx);
	/* rows 0-1 header, 2 column titles, last row keys */
	avail = LINES - 4;
	checks_h = nvis > 0 ? nvis : 1;
	detail_h = 0;
	if (d->detail) {
		/* the incident lines only where they leave the events pane its 3 rows */
		int room = avail - checks_h - 3;

		detail_h = detail_rows(d);
		if (detail_h > room)
			detail_h = room > 5 ? room : 5;
	}
	ev_h = avail - detail_h - checks_h;
	if (ev_h < 3) {
		ev_h = 3;
		checks_h = avail - detail_h - ev_h;
		if (checks_h < 2) {
			ev_h = 0;
			checks_h = avail - detail_h;
		}
	}
	if (ev_h > DASH_MAX_EVENTS + 1)
		ev_h = DASH_MAX_EVENTS + 1;
	draw_checks(d, 2, checks_h + 1);
	if (detail_h)
		draw_detail(d, 3 + checks_h, detail_h);
	if (ev_h)
		draw_events(d, 3 + checks_h + detail_h, ev_h);
	if (d->run_over)
		putf(LINES - 2, 0, COLS, A_BOLD, "run %s finished: %s \u2014 q quits", d->run.id,
		     d->final_verdict);
	draw_footer(d);
	if (d->help)
		draw_help(d);
	refresh();
}

/* --- keys -------------------------------------------------------------------- */

static void move_sel(struct dash *d, int delta)
{
	int idx[DASH_MAX_CHECKS], n, row;

	if (d->focus == FOCUS_EVENTS) {
		d->ev_sel += delta;
		if (d->ev_sel < 0)
			d->ev_sel = 0;
		if (d->ev_sel >= d->snap.nevents)
			d->ev_sel = d->snap.nevents ? d->snap.nevents - 1 : 0;
		return;
	}
	n = visible_checks(d, idx);
	if (!n)
		return;
	row = selected_row(d, idx, n) + delta;
	if (row < 0)
		row = 0;
	if (row >= n)
		row = n - 1;
	str_copy(d->sel_id, sizeof(d->sel_id), d->snap.checks[idx[row]].id);
}

/* One key; returns 1 to quit, 2 to poll now, 0 otherwise. */
static int dash_key(struct dash *d, int ch)
{
	if (d->help) {          /* any key closes the overlay */
		d->help = 0;
		return ch == 'q' ? 1 : 0;
	}
	switch (ch) {
	case 'q':
	case 'Q':
		return 1;
	case KEY_UP:
	case 'k':
		move_sel(d, -1);
		break;
	case KEY_DOWN:
	case 'j':
		move_sel(d, 1);
		break;
	case KEY_PPAGE:
		move_sel(d, -10);
		break;
	case KEY_NPAGE:
		move_sel(d, 10);
		break;
	case '\n':
	case '\r':
	case KEY_ENTER:
		d->detail = !d->detail;
		break;
	case 27:                /* Esc closes the detail */
		d->detail = 0;
		break;
	case '\t':
		d->focus = d->focus == FOCUS_CHECKS ? FOCUS_EVENTS : FOCUS_CHECKS;
		break;
	case 'f':
		d->filter = !d->filter;
		d->check_top = 0;
		break;
	case 'r':
		return 2;
	case '?':
		d->help = 1;
		break;
	default:
		break;
	}
	return 0;
}

int cmd_dashboard(const struct cli_opts *o)
{
	static struct dash d;
	int rc, quit = 0, dirty = 1;
	int64_t last_poll = 0, last_draw = 0;
	const char *nc = getenv("NO_COLOR");

	if ((rc = cli_no_args(o, "dashboard")))
		return rc;
	if (!isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO))
		return cli_fail(EXIT_USAGE, NULL,
				"dashboard needs a terminal; use `conform status --watch`");
	setlocale(LC_ALL, "");
	/* the symbols are the point: a C locale would turn them into '?' */
	if (strcmp(nl_langinfo(CODESET), "UTF-8"))
		setlocale(LC_CTYPE, "C.UTF-8");
	memset(&d, 0, sizeof(d));
	if ((rc = cli_current_run(o, &d.run)))
		return rc;

	/* our handlers first: ncurses then leaves SIGINT/SIGTERM to us */
	cli_catch_signals();
	atexit(dash_end);
	if (!initscr())
		return cli_fail(EXIT_ENV, "check TERM", "cannot initialise the terminal");
	dash_curses_on = 1;
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	set_escdelay(50);
	curs_set(0);
	timeout(DASH_TICK_MS);
	d.colour = has_colors() && !(nc && *nc);
	if (d.colour) {
		start_color();
		use_default_colors();
		init_pair(COL_PASS, COLOR_GREEN, -1);
		init_pair(COL_FAIL, COLOR_RED, -1);
		init_pair(COL_NODATA, COLOR_YELLOW, -1);
	}

	while (!quit && !cli_interrupted) {
		int64_t now = mono_ms();
		int ch;

		if (now - last_poll >= DASH_POLL_MS) {
			dash_poll(&d);
			last_poll = mono_ms();
			dirty = 1;
		}
		if (dirty || now - last_draw >= DASH_POLL_MS) {
			dash_draw(&d);
			last_draw = now;
			dirty = 0;
		}
		ch = getch();
		if (ch == ERR)
			continue;
		dirty = 1;
		if (ch == KEY_RESIZE)
			continue;
		switch (dash_key(&d, ch)) {
		case 1:
			quit = 1;
			break;
		case 2:
			last_poll = 0;
			break;
		}
	}
	dash_end();
	if (d.run_over)
		return !strcmp(d.final_verdict, "pass") ? EXIT_CONFORMANT : EXIT_NOT_CONFORMANT;
	return EXIT_CONFORMANT;
}
