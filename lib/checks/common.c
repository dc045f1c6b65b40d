/*
 * common.c - what every check shares: verdict and reason names (one
 * table), the success-ratio judgement, and the wording of failures and
 * evidence built from outcome.h, so every reason names its cause the same way.
 */
#include "checks/check.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/outcome.h"
#include "eval/stats.h"
#include "mesh/mesh.h"
#include "store/store.h"
#include "base/util.h"

static const char *const verdict_names[V__COUNT] = { "nodata", "pass", "fail", "skip",
						      "inconclusive" };

const char *verdict_name(enum verdict v)
{
	if ((unsigned)v >= ARRAY_SIZE(verdict_names))
		return "nodata";
	return verdict_names[v];
}

static const struct reason_info reasons[R__COUNT] = {
	{ R_MET, "ok", "objective met" },
	{ R_NO_DATA, "no_data", "no requests in the window" },
	{ R_LOW_SUCCESS, "low_success", "success ratio below objective" },
	{ R_STREAM_BROKEN, "stream_broken", "long-lived stream reset" },
	{ R_STREAM_LOSS, "stream_loss", "stream messages lost" },
	{ R_NO_MESH, "no_mesh", "the check needs a mesh and there is none" },
	{ R_MONITOR_GAP, "monitor_gap", "the monitor was down" },
	{ R_WRONG_IDENTITY, "wrong_identity", "server saw another or no identity" },
	{ R_NOT_ENFORCED, "not_enforced", "unauthenticated traffic was accepted" },
	{ R_RETRY_BELOW_BOUND, "retry_below_bound", "effective success below the retry bound" },
	{ R_RETRY_NOT_SEEN, "retry_not_seen", "no retried attempt observed" },
	{ R_RETRY_OVER_LIMIT, "retry_over_limit", "more attempts than allowed" },
	{ R_SPLIT_OUT_OF_BOUND, "split_out_of_bound", "observed share outside the confidence bound" },
	{ R_SPLIT_NOT_CONVERGED, "split_not_converged", "weight shift did not converge in time" },
	{ R_TAP_MISSING, "tap_missing", "requests missing from the tap feed" },
	{ R_TAP_LATE, "tap_late", "tap lines later than allowed" },
	{ R_TAP_MISMATCH, "tap_mismatch", "tap line fields disagree with the request" },
	{ R_TIMEOUT_NOT_ENFORCED, "timeout_not_enforced", "slow request not cut at the timeout" },
	{ R_TIMEOUT_COLLATERAL, "timeout_collateral", "fast requests hurt by the timeout" },
	{ R_CERT_EXPIRING, "cert_expiring", "presented certificate expires too soon" },
	{ R_PROBE_FAILED, "probe_failed", "the active probe could not run" },
	{ R_PRECONDITION, "precondition", "a precondition outside the promise was broken" },
	{ R_NOT_REACHED, "not_reached", "the run ended before the check could be judged" },
	{ R_SPLIT_DRIFT, "split_drift", "the split share drifted over several windows" },
	{ R_VIEWS_DISAGREE, "views_disagree", "the app's view and the mesh's own counts disagree" },
};

const struct reason_info *reason_info(unsigned r)
{
	static const struct reason_info unknown = { R__COUNT, "unknown", "unknown reason" };

	if (r >= R__COUNT)
		return &unknown;
	return &reasons[r];
}

int reason_by_name(const char *name)
{
	size_t i;

	if (!name)
		return -1;
	for (i = 0; i < ARRAY_SIZE(reasons); i++)
		if (!strcmp(reasons[i].name, name))
			return (int)reasons[i].id;
	return -1;
}

const char *check_grpc_code_name(int code)
{
	static const char *const names[] = {
		"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
		"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
		"FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
		"INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
	};

	if (code < 0 || (size_t)code >= ARRAY_SIZE(names))
		return "UNKNOWN_CODE";
	return names[code];
}

const char *check_fmt_pct(uint64_t part, uint64_t whole, char *buf, size_t len)
{
	uint64_t permille;

	if (!whole) {
		snprintf(buf, len, "0.0");
		return buf;
	}
	if (part > whole)
		part = whole;
	/* round down in integers: 98.99% shows as 98.9%, never as 99.0% */
	if (part <= UINT64_MAX / 1000)
		permille = part * 1000 / whole;
	else
		permille = (uint64_t)((double)part * 1000.0 / (double)whole);
	snprintf(buf, len, "%" PRIu64 ".%" PRIu64, permille / 10, permille % 10);
	return buf;
}

/* An objective as a percentage, with as many decimals as it needs. */
static const char *fmt_objective(double objective, char *buf, size_t len)
{
	double v = objective * 100.0;

	if (fabs(v * 10.0 - round(v * 10.0)) < 1e-6)
		snprintf(buf, len, "%.1f", v);
	else
		snprintf(buf, len, "%.3g", v);
	return buf;
}

/* ---- tallies of outcomes and status codes over rows ---- */

#define TALLY_CODES 8

struct tally_code {
	int code;
	uint64_t count;
};

struct tally_outcome {
	uint64_t count;
	size_t ncodes;
	struct tally_code codes[TALLY_CODES];
	uint64_t other_codes;   /* requests whose code did not fit the table */
};

struct tally {
	struct tally_outcome o[OUT__COUNT];
};

static int outcome_has_codes(unsigned o)
{
	return o == OUT_HTTP_5XX || o == OUT_HTTP_4XX || o == OUT_HTTP_OTHER ||
	       o == OUT_GRPC_ERROR;
}

static int row_from_monitor(const struct agg_row *r)
{
	return !strncmp(r->workload, "conformd", 8);
}

/* Tally rows by outcome and code; with clients_only, conformd's own evidence
 * rows are left out (they are not requests). */
static void tally_rows(const struct agg_row *rows, size_t n, int clients_only, struct tally *t)
{
	size_t i, j;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < n; i++) {
		unsigned o = outcome_valid(rows[i].outcome) ? rows[i].outcome : OUT_OTHER;
		struct tally_outcome *to = &t->o[o];
		uint64_t c = rows[i].h.count;

		if (clients_only && row_from_monitor(&rows[i]))
			continue;
		to->count += c;
		if (!outcome_has_codes(o) || !c)
			continue;
		for (j = 0; j < to->ncodes; j++)
			if (to->codes[j].code == rows[i].code)
				break;
		if (j < to->ncodes) {
			to->codes[j].count += c;
		} else if (to->ncodes < TALLY_CODES) {
			to->codes[to->ncodes].code = rows[i].code;
			to->codes[to->ncodes].count = c;
			to->ncodes++;
		} else {
			to->other_codes += c;
		}
	}
}

/* Order codes by count descending, then code ascending (stable text). */
static void sort_codes(struct tally_outcome *to)
{
	size_t i, j;

	for (i = 1; i < to->ncodes; i++) {
		struct tally_code k = to->codes[i];

		for (j = i; j > 0; j--) {
			struct tally_code *p = &to->codes[j - 1];

			if (p->count > k.count || (p->count == k.count && p->code < k.code))
				break;
			to->codes[j] = *p;
		}
		to->codes[j] = k;
	}
}

/* Outcome ids ordered by count descending, then id. Returns how many. */
static size_t order_outcomes(const struct tally *t, unsigned skip_mask, int failures_only,
			     unsigned *order)
{
	size_t n = 0, i, j;
	unsigned o;

	for (o = 0; o < OUT__COUNT; o++) {
		if (!t->o[o].count || (skip_mask & (1u << o)))
			continue;
		if (failures_only && outcome_info(o)->ok)
			continue;
		order[n++] = o;
	}
	for (i = 1; i < n; i++) {
		unsigned k = order[i];

		for (j = i; j > 0 && t->o[order[j - 1]].count < t->o[k].count; j--)
			order[j] = order[j - 1];
		order[j] = k;
	}
	return n;
}

uint64_t check_describe_failures(const struct agg_row *rows, size_t nrows,
				 unsigned skip_mask, char *buf, size_t len)
{
	struct dynbuf b = DYNBUF_INIT(4096);
	struct tally t;
	unsigned order[OUT__COUNT];
	uint64_t failed = 0;
	size_t n, i, j;

	if (len)
		buf[0] = '\0';
	tally_rows(rows, nrows, 0, &t);
	n = order_outcomes(&t, skip_mask, 1, order);
	for (i = 0; i < n; i++) {
		struct tally_outcome *to = &t.o[order[i]];
		unsigned o = order[i];

		failed += to->count;
		if (i)
			dynbuf_adds(&b, ", ");
		dynbuf_adds(&b, outcome_info(o)->human);
		sort_codes(to);
		if (!to->ncodes) {
			dynbuf_addf(&b, " x%" PRIu64, to->count);
			continue;
		}
		dynbuf_adds(&b, " (");
		for (j = 0; j < to->ncodes && j < 4; j++) {
			if (j)
				dynbuf_adds(&b, ", ");
			if (o == OUT_GRPC_ERROR)
				dynbuf_addf(&b, "code %d %s x%" PRIu64, to->codes[j].code,
					    check_grpc_code_name(to->codes[j].code),
					    to->codes[j].count);
			else
				dynbuf_addf(&b, "%d x%" PRIu64, to->codes[j].code,
					    to->codes[j].count);
		}
		{
			uint64_t rest = to->other_codes;

			for (; j < to->ncodes; j++)
				rest += to->codes[j].count;
			if (rest)
				dynbuf_addf(&b, ", other codes x%" PRIu64, rest);
		}
		dynbuf_adds(&b, ")");
	}
	if (b.buf && len)
		str_copy(buf, len, b.buf);
	dynbuf_release(&b);
	return failed;
}

static void add_ms(struct dynw *w, const char *key, uint64_t us)
{
	dynw_addf(w, ",\"%s\":%" PRIu64 ".%03" PRIu64, key, us / 1000, us % 1000);
}

/* The window's evidence object into b. Every append goes through one sticky
 * writer: a piece that does not fit under the cap fails the whole build
 * (the caller then retries smaller), so a later small piece can never close
 * a truncated object into something that looks whole. 0, or -1. */
static int evidence_build(const struct window_data *wd, const struct window_result *out,
			  const char *extra, int with_codes, struct dynbuf *b)
{
	struct dynw w = { b, 0 };
	struct tally t;
	unsigned order[OUT__COUNT];
	size_t n, i, j;

	tally_rows(wd->rows, wd->nrows, 1, &t);
	n = order_outcomes(&t, 0, 0, order);
	dynw_addf(&w, "{\"total\":%" PRIu64 ",\"ok\":%" PRIu64 ",\"failed\":%" PRIu64
		  ",\"outcomes\":{", out->total, out->ok, out->failed);
	for (i = 0; i < n; i++) {
		struct tally_outcome *to = &t.o[order[i]];

		dynw_addf(&w, "%s\"%s\":{\"count\":%" PRIu64, i ? "," : "",
			  outcome_info(order[i])->name, to->count);
		if (with_codes && to->ncodes) {
			sort_codes(to);
			dynw_adds(&w, ",\"codes\":{");
			for (j = 0; j < to->ncodes; j++)
				dynw_addf(&w, "%s\"%d\":%" PRIu64, j ? "," : "",
					  to->codes[j].code, to->codes[j].count);
			dynw_adds(&w, "}");
		}
		dynw_adds(&w, "}");
	}
	dynw_adds(&w, "}");
	add_ms(&w, "p50_ms", hist_quantile(&out->h, 0.50));
	add_ms(&w, "p99_ms", hist_quantile(&out->h, 0.99));
	add_ms(&w, "max_ms", out->h.max_us);
	if (extra && *extra) {
		dynw_adds(&w, ",");
		dynw_adds(&w, extra);
	}
	dynw_adds(&w, "}");
	return w.err ? -1 : 0;
}

int check_evidence_fill(const struct window_data *wd, struct window_result *out,
			const char *extra)
{
	struct dynbuf b = DYNBUF_INIT(EVIDENCE_MAX - 1);
	int rc = 0;

	if (evidence_build(wd, out, extra, 1, &b)) {
		dynbuf_reset(&b);
		if (evidence_build(wd, out, extra, 0, &b)) {
			dynbuf_reset(&b);
			rc = -1;
		}
	}
	str_copy(out->evidence, sizeof(out->evidence), (b.buf && b.len) ? b.buf : "{}");
	dynbuf_release(&b);
	return rc;
}

int check_eval_success_ratio(const struct window_data *wd, struct window_result *out,
			     double objective)
{
	char pct[16], obj[16], why[REASON_TEXT_MAX];

	if (!out->total) {
		out->verdict = V_NODATA;
		out->reason = R_NO_DATA;
		str_copy(out->reason_text, sizeof(out->reason_text), "no requests in window");
		return 0;
	}
	check_fmt_pct(out->ok, out->total, pct, sizeof(pct));
	fmt_objective(objective, obj, sizeof(obj));
	if ((double)out->ok >= objective * (double)out->total - 1e-9) {
		out->verdict = V_PASS;
		out->reason = R_MET;
		str_fmt(out->reason_text, sizeof(out->reason_text),
			"success %s%% >= objective %s%% (%" PRIu64 " requests)",
			pct, obj, out->total);
		return 0;
	}
	check_describe_failures(wd->rows, wd->nrows, 0, why, sizeof(why));
	out->verdict = V_FAIL;
	out->reason = R_LOW_SUCCESS;
	str_fmt(out->reason_text, sizeof(out->reason_text),
		"success %s%% < objective %s%%: %" PRIu64 " of %" PRIu64 " failed: %s",
		pct, obj, out->failed, out->total, why[0] ? why : "no failure recorded");
	return 0;
}

int check_row_is_monitor(const struct agg_row *r)
{
	return row_from_monitor(r);
}

void check_set(struct window_result *out, enum verdict v, enum reason r, const char *fmt, ...)
{
	va_list ap;
	int n;

	out->verdict = v;
	out->reason = r;
	va_start(ap, fmt);
	n = vsnprintf(out->reason_text, sizeof(out->reason_text), fmt, ap);
	va_end(ap);
	if (n < 0)
		out->reason_text[0] = '\0';
}

uint64_t check_detect_min_n(double p, double q, double alpha, int lower_only, uint64_t cap)
{
	uint64_t n, lo, hi;
	double mean;

	for (n = 1; n <= cap; n += (n < 64 ? 1 : n / 16)) {
		mean = (double)n * q;
		if (lower_only) {
			lo = binom_lower(n, p, alpha);
			hi = n;
		} else {
			binom_interval(n, p, alpha, &lo, &hi);
		}
		if (mean < (double)lo || mean > (double)hi)
			return n;
	}
	return cap;
}

double check_split_share(unsigned v1, unsigned v2)
{
	if (!v1 && !v2)
		return 0;
	return (double)v2 / ((double)v1 + (double)v2);
}

/* Without a store: copies of wd's rows with from_s <= second < to_s. */
static int rows_in_range(const struct window_data *wd, int64_t from_s, int64_t to_s,
			 struct agg_row **rows, size_t *n)
{
	struct agg_row *arr;
	size_t i, len = 0;

	*rows = NULL;
	*n = 0;
	if (!wd->nrows)
		return 0;
	arr = calloc(wd->nrows, sizeof(*arr));
	if (!arr)
		return -1;
	for (i = 0; i < wd->nrows; i++)
		if (wd->rows[i].second >= from_s && wd->rows[i].second < to_s)
			arr[len++] = wd->rows[i];
	if (!len) {
		free(arr);
		return 0;
	}
	*rows = arr;
	*n = len;
	return 0;
}

int check_split_rows(const struct window_data *wd, int64_t from_s, int64_t to_s,
		     struct agg_row **rows, size_t *n)
{
	struct store *s = wd->store;
	struct agg_row *a = NULL, *b = NULL, *all;
	size_t na = 0, nb = 0;
	int rc = -1;

	*rows = NULL;
	*n = 0;
	if (!s)
		return rows_in_range(wd, from_s, to_s, rows, n);
	if (store_get_rows(s, "split.weights", from_s, to_s, &a, &na) ||
	    store_get_rows(s, "split.shift", from_s, to_s, &b, &nb))
		goto out;
	if (!nb) {
		*rows = a;
		*n = na;
		a = NULL;
		rc = 0;
		goto out;
	}
	all = realloc(a, (na + nb) * sizeof(*all));
	if (!all)
		goto out;
	a = NULL;
	memcpy(all + na, b, nb * sizeof(*b));
	*rows = all;
	*n = na + nb;
	rc = 0;
out:
	free(a);
	free(b);
	return rc;
}

void check_split_count(const struct agg_row *rows, size_t n, int64_t from_s, int64_t to_s,
		       uint64_t *ok, uint64_t *v2)
{
	size_t i;

	*ok = 0;
	*v2 = 0;
	for (i = 0; i < n; i++) {
		const struct agg_row *r = &rows[i];

		if (r->second < from_s || r->second >= to_s || check_row_is_monitor(r) ||
		    !outcome_info(r->outcome)->ok)
			continue;
		*ok += r->h.count;
		if (!strcmp(r->backend, "v2"))
			*v2 += r->h.count;
	}
}

int check_split_shift_time(struct store *s, double *ts)
{
	struct store_event *ev = NULL;
	size_t n = 0;

	if (!s)
		return 0;
	if (store_get_events_kind(s, "split.shift", &ev, &n))
		return -1;
	if (!n)
		return 0;
	*ts = ev[0].ts;
	free(ev);
	return 1;
}

int64_t check_min_run_ms(const struct check_desc *c, const struct run_config *cfg,
			 char *why, size_t len)
{
	if (len)
		why[0] = '\0';
	if (c->min_run_ms)
		return c->min_run_ms(cfg, why, len);
	str_copy(why, len, "one window");
	return cfg->window_ms;
}

int check_backend_failing(const struct window_data *wd, char *buf, size_t len)
{
	const struct check_desc *basic = catalog_find("http.basic");
	struct agg_row *rows = NULL;
	size_t n = 0, i;
	uint64_t total = 0, ok = 0;
	char pct[16], why[REASON_TEXT_MAX];
	int rc = 0;

	if (len)
		buf[0] = '\0';
	if (!wd->store || !basic || !run_config_has_check(wd->cfg, basic->id))
		return 0;
	if (store_get_rows(wd->store, basic->id, wd->start_s, wd->end_s, &rows, &n))
		return -1;
	for (i = 0; i < n; i++) {
		if (check_row_is_monitor(&rows[i]))
			continue;
		total += rows[i].h.count;
		if (outcome_info(rows[i].outcome)->ok)
			ok += rows[i].h.count;
	}
	if (!total || (double)ok >= run_config_objective(wd->cfg, basic) * (double)total - 1e-9)
		goto out;
	check_describe_failures(rows, n, 0, why, sizeof(why));
	/* the failure share; rounded down, so 100.0% means every request */
	check_fmt_pct(total - ok, total, pct, sizeof(pct));
	str_fmt(buf, len, "backend http-server failing %s%% of %" PRIu64 " requests on "
		"http.conform.svc: %.300s (see http.basic)", pct, total, why);
	rc = 1;
out:
	free(rows);
	return rc;
}

/* The workload names of a check's roles: event subjects starting with one
 * are on its path ("http-server" also covers "http-server-v2" and the
 * proxies "http-server.in", "http-server-v2.in"). */
static const struct {
	unsigned role;
	const char *prefix;
} role_prefixes[] = {
	{ ROLE_HTTP_SERVER, "http-server" },
	{ ROLE_GRPC_SERVER, "grpc-server" },
	{ ROLE_HTTP_CLIENT, "http-client" },
	{ ROLE_GRPC_CLIENT, "grpc-client" },
};

static int on_path(const struct check_desc *c, const char *subject)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(role_prefixes); i++)
		if ((c->roles & role_prefixes[i].role) &&
		    !strncmp(subject, role_prefixes[i].prefix, strlen(role_prefixes[i].prefix)))
			return 1;
	return 0;
}

int check_path_restarted(const struct window_data *wd, char *buf, size_t len)
{
	static const char *const kinds[] = { "workload.exit", "workload.restart" };
	struct store_event *ev = NULL;
	size_t n = 0, i, k;
	int rc = 0;

	if (len)
		buf[0] = '\0';
	if (!wd->store || !wd->check)
		return 0;
	for (k = 0; k < ARRAY_SIZE(kinds) && !rc; k++) {
		if (store_get_events_kind(wd->store, kinds[k], &ev, &n))
			return -1;
		for (i = 0; i < n; i++) {
			char t[40];

			/* a proxy handing over finishes its requests for a moment */
			if (ev[i].ts < (double)wd->start_s - 2 || ev[i].ts >= (double)wd->end_s ||
			    !on_path(wd->check, ev[i].subject))
				continue;
			time_rfc3339(ev[i].ts, t, sizeof(t));
			str_fmt(buf, len, "%.64s %s at %.8s (%.160s)", ev[i].subject,
				k ? "restarted" : "exited", strlen(t) >= 19 ? t + 11 : t,
				ev[i].detail);
			rc = 1;
			break;
		}
		free(ev);
		ev = NULL;
	}
	return rc;
}

int check_excuse_by_backend(const struct window_data *wd, struct window_result *out)
{
	char cause[REASON_TEXT_MAX], seen[REASON_TEXT_MAX];
	int k;

	if (out->verdict != V_FAIL)
		return 0;
	k = check_backend_failing(wd, cause, sizeof(cause));
	if (k == 0)
		k = check_path_restarted(wd, cause, sizeof(cause));
	if (k <= 0)
		return k;
	str_copy(seen, sizeof(seen), out->reason_text);
	check_set(out, V_INCONCLUSIVE, R_PRECONDITION, "%.300s; not judged: %.180s", cause, seen);
	return 0;
}

int check_run_too_short(const struct run_config *cfg, char *err, size_t len)
{
	const struct check_desc *const *all;
	size_t n, i;
	char why[160], a[32], b[32];

	if (len)
		err[0] = '\0';
	if (cfg->duration_ms <= 0)
		return 0;   /* until stopped: an early stop is an interruption */
	all = catalog_all(&n);
	for (i = 0; i < n; i++) {
		const struct check_desc *c = all[i];
		int64_t need;

		if (!run_config_has_check(cfg, c->id) || (c->needs_mesh && mesh_is_none(cfg->mesh)) ||
		    (c->not_applicable && c->not_applicable(cfg)))
			continue;
		need = check_min_run_ms(c, cfg, why, sizeof(why));
		if (cfg->duration_ms >= need)
			continue;
		str_fmt(err, len, "--duration %s is too short for %s: it needs %s (%s)",
			dur_format(cfg->duration_ms, a, sizeof(a)), c->id,
			dur_format(need, b, sizeof(b)), why);
		return 1;
	}
	return 0;
}
