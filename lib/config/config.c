/*
 * config.c - the user's run config file (config.h, docs/config.md), parsed
 * by one table of fields per JSON object. Strict on purpose: a misspelt or
 * mistyped setting must stop the run with its path, never become a default.
 */
#include "config/config.h"
#include "mesh/mesh.h"
#include "platform/platform.h"

#include <cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks/check.h"
#include "report/metrics.h"

#define CFG_PATH_MAX 256

/* The parse of one file: where we are and what we have read so far. */
struct cfg {
	const char *name;          /* the file, as the user named it */
	char path[CFG_PATH_MAX];   /* field path of the value being read */
	char *err;
	size_t errlen;
	struct run_config c;       /* committed to the caller only on success */
	int shift_at_set;          /* mesh_settings.shift.at was given */
};

struct cfg_field {
	const char *name;
	int (*get)(struct cfg *x, const cJSON *it);
};

/* Checks judged by a success ratio against run_config_objective(). */
static const char *const adjustable[] = { "http.basic", "grpc.basic", "grpc.stream" };

int config_objective_adjustable(const char *id)
{
	size_t i;

	for (i = 0; id && i < ARRAY_SIZE(adjustable); i++)
		if (!strcmp(adjustable[i], id))
			return 1;
	return 0;
}

void config_defaults(struct run_config *c)
{
	run_config_defaults(c);
	str_copy(c->mesh, sizeof(c->mesh), mesh_default_for(c->platform));
}

/* ---- did you mean ---- */

/* Optimal string alignment distance (a swap of neighbours counts 1),
 * case-insensitive; words longer than 63 bytes are simply far. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t d[64][64];

	if (la >= 64 || lb >= 64)
		return 64;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			size_t cost = tolower((unsigned char)a[i - 1]) !=
				      tolower((unsigned char)b[j - 1]);
			size_t v = d[i - 1][j] + 1;

			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < v)
				v = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

const char *config_suggest(const char *word, const char *const *names, size_t n)
{
	size_t len = word ? strlen(word) : 0, best = SIZE_MAX, i, limit;
	const char *pick = NULL;

	if (!len)
		return NULL;
	limit = len <= 3 ? 1 : len <= 6 ? 2 : 3;
	for (i = 0; i < n; i++) {
		size_t d = edit_distance(word, names[i]);

		if (d < best) {
			best = d;
			pick = names[i];
		}
	}
	return best <= limit ? pick : NULL;
}

/* ---- messages ---- */

static int cfg_fail(struct cfg *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "NAME: PATH: message" into x->err; returns -1. */
static int cfg_fail(struct cfg *x, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (x->path[0])
		str_fmt(x->err, x->errlen, "%s: %s: %s", x->name, x->path, msg);
	else
		str_fmt(x->err, x->errlen, "%s: %s", x->name, msg);
	return -1;
}

/* What the user wrote, for "got ...": a short quoted string, a number, ... */
static const char *got(const cJSON *it, char *buf, size_t len)
{
	if (cJSON_IsString(it) && it->valuestring) {
		const char *s = it->valuestring;
		size_t o = 0, i;

		if (len < 8) {
			buf[0] = '\0';
			return buf;
		}
		buf[o++] = '"';
		for (i = 0; s[i] && o + 5 < len && i < 40; i++)
			buf[o++] = (s[i] == '"' || (unsigned char)s[i] < 0x20) ? '?' : s[i];
		if (s[i]) {
			buf[o++] = '.';
			buf[o++] = '.';
			buf[o++] = '.';
		}
		buf[o++] = '"';
		buf[o] = '\0';
	} else if (cJSON_IsNumber(it)) {
		snprintf(buf, len, "%.10g", it->valuedouble);
	} else if (cJSON_IsBool(it)) {
		snprintf(buf, len, "%s", cJSON_IsTrue(it) ? "true" : "false");
	} else if (cJSON_IsNull(it)) {
		snprintf(buf, len, "null");
	} else if (cJSON_IsArray(it)) {
		snprintf(buf, len, "an array");
	} else if (cJSON_IsObject(it)) {
		snprintf(buf, len, "an object");
	} else {
		snprintf(buf, len, "something else");
	}
	return buf;
}

static int expected(struct cfg *x, const cJSON *it, const char *what)
{
	char g[64];

	return cfg_fail(x, "expected %s, got %s", what, got(it, g, sizeof(g)));
}

/* Does name need quoting in a path ("checks[\"http.basic\"]")? */
static int plain_name(const char *s)
{
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return 0;
	return 1;
}

/* Append a member name to x->path; returns the old length (for path_pop). */
static size_t path_push(struct cfg *x, const char *name)
{
	size_t old = strlen(x->path);
	char q[96];

	if (plain_name(name) && strlen(name) < 64)
		snprintf(x->path + old, sizeof(x->path) - old, "%s%s", old ? "." : "", name);
	else
		snprintf(x->path + old, sizeof(x->path) - old, "[%s]",
			 log_quote(name, q, sizeof(q)));
	return old;
}

static size_t path_push_index(struct cfg *x, size_t i)
{
	size_t old = strlen(x->path);

	snprintf(x->path + old, sizeof(x->path) - old, "[%zu]", i);
	return old;
}

static void path_pop(struct cfg *x, size_t old)
{
	x->path[old] = '\0';
}

/* A duration as the user would write it, exactly: "1s500ms", "2h", "0s". */
static const char *dur(int64_t ms, char *buf, size_t len)
{
	size_t n;

	if (!ms || ms % 1000 == 0 || ms < 1000) {
		if (ms)
			return dur_format(ms, buf, len);
		str_copy(buf, len, "0s");
		return buf;
	}
	dur_format(ms - ms % 1000, buf, len);
	n = strlen(buf);
	snprintf(buf + n, len - n, "%lldms", (long long)(ms % 1000));
	return buf;
}

/* ---- values ---- */

/*
 * A duration: a string dur_parse() takes ("500ms", "10s", "1h30m") or a
 * number of seconds. In [min, max] ms; whole: a whole number of seconds.
 */
static int get_dur(struct cfg *x, const cJSON *it, int64_t min, int64_t max, int whole,
		   const char *what, int64_t *out)
{
	int64_t ms = 0;

	if (cJSON_IsString(it) && it->valuestring) {
		if (dur_parse(it->valuestring, &ms))
			return expected(x, it, what);
	} else if (cJSON_IsNumber(it)) {
		double v = it->valuedouble * 1000.0;

		if (!isfinite(v) || v < 0 || v > 9e15 || fabs(v - round(v)) > 1e-6)
			return expected(x, it, what);
		ms = (int64_t)round(v);
	} else {
		return expected(x, it, what);
	}
	if (ms < min || ms > max || (whole && ms % 1000))
		return expected(x, it, what);
	*out = ms;
	return 0;
}

static int get_int(struct cfg *x, const cJSON *it, int64_t min, int64_t max, const char *what,
		   int64_t *out)
{
	double v = 0;

	if (!cJSON_IsNumber(it))
		return expected(x, it, what);
	v = it->valuedouble;
	if (!isfinite(v) || v != floor(v) || v < (double)min || v > (double)max)
		return expected(x, it, what);
	*out = (int64_t)v;
	return 0;
}

static int get_num(struct cfg *x, const cJSON *it, double min, double max, int min_exclusive,
		   const char *what, double *out)
{
	double v = 0;

	if (!cJSON_IsNumber(it))
		return expected(x, it, what);
	v = it->valuedouble;
	if (!isfinite(v) || v < min || v > max || (min_exclusive && v <= min))
		return expected(x, it, what);
	*out = v;
	return 0;
}

static int get_str(struct cfg *x, const cJSON *it, char *dst, size_t len, const char *what)
{
	if (!cJSON_IsString(it) || !it->valuestring || strlen(it->valuestring) >= len)
		return expected(x, it, what);
	str_copy(dst, len, it->valuestring);
	return 0;
}

/* One of choices, with a "did you mean" for a near miss. */
static int get_choice(struct cfg *x, const cJSON *it, const char *const *choices, size_t n,
		      const char *what, char *dst, size_t len)
{
	const char *near;
	char g[64];
	size_t i;

	if (cJSON_IsString(it) && it->valuestring)
		for (i = 0; i < n; i++)
			if (!strcmp(it->valuestring, choices[i]))
				return str_copy(dst, len, choices[i]);
	near = cJSON_IsString(it) ? config_suggest(it->valuestring, choices, n) : NULL;
	if (near)
		return cfg_fail(x, "expected %s, got %s (did you mean \"%s\"?)", what,
				got(it, g, sizeof(g)), near);
	return expected(x, it, what);
}

/* A DNS-like name for identities: letters, digits, '.', '-'. */
static int get_dns_name(struct cfg *x, const cJSON *it, char *dst, size_t len)
{
	char what[96];
	const char *p;

	snprintf(what, sizeof(what), "a DNS-like name (letters, digits, '.', '-'; at most %zu "
		 "bytes)", len - 1);
	if (!cJSON_IsString(it) || !it->valuestring || !it->valuestring[0] ||
	    strlen(it->valuestring) >= len)
		return expected(x, it, what);
	for (p = it->valuestring; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
			return expected(x, it, what);
	return str_copy(dst, len, it->valuestring);
}

static int get_weight(struct cfg *x, const cJSON *it, unsigned *out)
{
	int64_t v = 0;

	if (get_int(x, it, 0, 256, "an integer 0..256", &v))
		return -1;
	*out = (unsigned)v;
	return 0;
}

/*
 * Read object it with the fields of table t: unknown names are errors with
 * a suggestion, a name given twice is an error (JSON allows it, we do not:
 * which one would win is not obvious to the reader of the file).
 */
static int read_object(struct cfg *x, const cJSON *it, const struct cfg_field *t, size_t n)
{
	const char *names[32];
	const cJSON *el;
	size_t i;

	if (!cJSON_IsObject(it))
		return expected(x, it, "an object { ... }");
	for (i = 0; i < n && i < ARRAY_SIZE(names); i++)
		names[i] = t[i].name;
	cJSON_ArrayForEach(el, it) {
		const cJSON *prev;
		size_t old;
		int rc;

		if (!el->string)
			return cfg_fail(x, "member without a name");
		old = path_push(x, el->string);
		for (prev = it->child; prev != el; prev = prev->next)
			if (prev->string && !strcmp(prev->string, el->string))
				return cfg_fail(x, "given twice (give each field once)");
		for (i = 0; i < n; i++)
			if (!strcmp(t[i].name, el->string))
				break;
		if (i == n) {
			const char *near = config_suggest(el->string, names, n);
			struct dynbuf b = DYNBUF_INIT(400);

			if (near)
				return cfg_fail(x, "unknown field (did you mean \"%s\"?)", near);
			for (i = 0; i < n; i++)
				dynbuf_addf(&b, "%s%s", i ? ", " : "", t[i].name);
			cfg_fail(x, "unknown field (known here: %s)", b.buf ? b.buf : "none");
			dynbuf_release(&b);
			return -1;
		}
		rc = t[i].get(x, el);
		if (rc)
			return rc;
		path_pop(x, old);
	}
	return 0;
}

/* ---- top level ---- */

static int f_platform(struct cfg *x, const cJSON *it)
{
	const char *p[8];
	char names[128];
	size_t i, n = 0;

	for (i = 0; i < platform_nregistry && n < ARRAY_SIZE(p); i++)
		if (platform_registry[i].ops)
			p[n++] = platform_registry[i].name;
	platform_names(names, sizeof(names), ", ", " or ", 1);
	if (cJSON_IsString(it) && it->valuestring && platform_entry_find(it->valuestring) &&
	    !platform_find(it->valuestring))
		return cfg_fail(x, "\"%.32s\" is not built into this conform yet; expected %s",
				it->valuestring, names);
	return get_choice(x, it, p, n, names, x->c.platform, sizeof(x->c.platform));
}

static int f_mesh(struct cfg *x, const cJSON *it)
{
	const char *m[8];
	char names[128];
	size_t i, n = 0;

	for (i = 0; i < mesh_nregistry && n < ARRAY_SIZE(m); i++)
		if (mesh_registry[i].ops)
			m[n++] = mesh_registry[i].name;
	mesh_names(names, sizeof(names), ", ", " or ", 1);
	if (cJSON_IsString(it) && it->valuestring && mesh_entry_find(it->valuestring) &&
	    !mesh_find(it->valuestring))
		return cfg_fail(x, "\"%.32s\" is not built into this conform yet; expected %s",
				it->valuestring, names);
	return get_choice(x, it, m, n, names, x->c.mesh, sizeof(x->c.mesh));
}

static int f_duration(struct cfg *x, const cJSON *it)
{
	int64_t ms = 0;

	if (get_dur(x, it, 0, (int64_t)run_bounds[RUN_S_DURATION].max, 0,
		    "a duration like \"30m\" (0 = until stopped, else 1s..366d)", &ms))
		return -1;
	if (!run_bound_ok(RUN_S_DURATION, (double)ms))
		return expected(x, it, "a duration like \"30m\" (0 = until stopped, else 1s..366d)");
	x->c.duration_ms = ms;
	return 0;
}

static int f_window(struct cfg *x, const cJSON *it)
{
	const struct run_bound *b = &run_bounds[RUN_S_WINDOW];

	return get_dur(x, it, (int64_t)b->min, (int64_t)b->max, b->whole_s,
		       "a duration in whole seconds, 1s..1d, like \"10s\"", &x->c.window_ms);
}

static int f_rate(struct cfg *x, const cJSON *it)
{
	const struct run_bound *b = &run_bounds[RUN_S_RATE];

	return get_num(x, it, b->min, b->max, 0, "requests per second per check, 0.001..100000",
		       &x->c.rate);
}

static int f_request_timeout(struct cfg *x, const cJSON *it)
{
	const struct run_bound *b = &run_bounds[RUN_S_REQUEST_TIMEOUT];

	return get_dur(x, it, (int64_t)b->min, (int64_t)b->max, 0,
		       "a duration 1ms..10m, like \"2s\"", &x->c.request_timeout_ms);
}

static int f_identity_header(struct cfg *x, const cJSON *it)
{
	const char *what = "an HTTP header name (letters, digits, '-'; at most 63 bytes)";
	const char *p;

	if (!cJSON_IsString(it) || !it->valuestring || !it->valuestring[0] ||
	    strlen(it->valuestring) >= sizeof(x->c.identity_header))
		return expected(x, it, what);
	for (p = it->valuestring; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-')
			return expected(x, it, what);
	return str_copy(x->c.identity_header, sizeof(x->c.identity_header), it->valuestring);
}

static int f_metrics_addr(struct cfg *x, const cJSON *it)
{
	const char *what = "a loopback ADDRESS:PORT like \"127.0.0.1:9464\", or \"\" for none";
	char a[64], why[256];
	int fam, port;

	if (get_str(x, it, x->c.metrics_addr, sizeof(x->c.metrics_addr), what))
		return -1;
	if (x->c.metrics_addr[0] &&
	    metrics_parse_addr(x->c.metrics_addr, a, sizeof(a), &fam, &port, why, sizeof(why)))
		return expected(x, it, what);
	return 0;
}

static int f_retention(struct cfg *x, const cJSON *it)
{
	int64_t ms = 0;

	const struct run_bound *b = &run_bounds[RUN_S_RETENTION];

	if (get_dur(x, it, (int64_t)b->min, (int64_t)b->max, b->whole_s,
		    "a duration in whole seconds, 10s..366d, like \"1d\"", &ms))
		return -1;
	x->c.retention_s = ms / 1000;
	return 0;
}

/* ---- checks ---- */

/* A catalog id, with a suggestion among the catalog for a near miss. */
static const struct check_desc *check_id(struct cfg *x, const char *id)
{
	const struct check_desc *const *all;
	const char *names[RUN_MAX_CHECKS];
	const struct check_desc *d = catalog_find(id);
	const char *near;
	size_t n, i;

	if (d)
		return d;
	all = catalog_all(&n);
	for (i = 0; i < n && i < RUN_MAX_CHECKS; i++)
		names[i] = all[i]->id;
	near = config_suggest(id, names, i);
	if (near)
		cfg_fail(x, "unknown check (did you mean \"%s\"?)", near);
	else
		cfg_fail(x, "unknown check (`conform checks` lists them)");
	return NULL;
}

/* Add check d (at x->path) to the selection being built; index or -1. */
static int check_add(struct cfg *x, const struct check_desc *d)
{
	size_t i;

	for (i = 0; i < x->c.nchecks; i++)
		if (!strcmp(x->c.checks[i], d->id))
			return cfg_fail(x, "check selected twice");
	if (x->c.nchecks >= RUN_MAX_CHECKS)
		return cfg_fail(x, "more than %d checks", RUN_MAX_CHECKS);
	str_copy(x->c.checks[x->c.nchecks], sizeof(x->c.checks[0]), d->id);
	x->c.objectives[x->c.nchecks] = 0;
	return (int)x->c.nchecks++;
}

static int check_objective(struct cfg *x, const struct check_desc *d, int idx, const cJSON *it)
{
	size_t old = path_push(x, it->string);
	double v = 0;

	if (strcmp(it->string, "objective")) {
		static const char *const names[] = { "objective" };
		const char *near = config_suggest(it->string, names, 1);

		if (near)
			return cfg_fail(x, "unknown field (did you mean \"%s\"?)", near);
		return cfg_fail(x, "unknown field (known here: objective)");
	}
	if (!config_objective_adjustable(d->id)) {
		struct dynbuf b = DYNBUF_INIT(200);
		size_t i;

		for (i = 0; i < ARRAY_SIZE(adjustable); i++)
			dynbuf_addf(&b, "%s%s", i ? ", " : "", adjustable[i]);
		cfg_fail(x, "%s has no adjustable objective; checks that take one: %s",
			 d->id, b.buf ? b.buf : "none");
		dynbuf_release(&b);
		return -1;
	}
	if (get_num(x, it, 0, 1, 1, "a success ratio above 0, at most 1, like 0.995", &v))
		return -1;
	x->c.objectives[idx] = v;
	path_pop(x, old);
	return 0;
}

/* "checks": ["id", ...] or {"id": {"objective": R}, "id": {}}. */
static int f_checks(struct cfg *x, const cJSON *it)
{
	const cJSON *el;
	size_t i = 0;

	x->c.nchecks = 0;
	memset(x->c.objectives, 0, sizeof(x->c.objectives));
	if (cJSON_IsArray(it)) {
		cJSON_ArrayForEach(el, it) {
			const struct check_desc *d;
			size_t old = path_push_index(x, i++);

			if (!cJSON_IsString(el) || !el->valuestring)
				return expected(x, el, "a check id like \"http.basic\"");
			if (!(d = check_id(x, el->valuestring)) || check_add(x, d) < 0)
				return -1;
			path_pop(x, old);
		}
	} else if (cJSON_IsObject(it)) {
		cJSON_ArrayForEach(el, it) {
			const struct check_desc *d;
			const cJSON *m;
			size_t old;
			int idx;

			if (!el->string)
				return cfg_fail(x, "member without a name");
			old = path_push(x, el->string);
			if (!(d = check_id(x, el->string)) || (idx = check_add(x, d)) < 0)
				return -1;
			if (!cJSON_IsObject(el))
				return expected(x, el, "an object of the check's settings, {} for "
						"none");
			cJSON_ArrayForEach(m, el) {
				if (!m->string)
					return cfg_fail(x, "member without a name");
				if (check_objective(x, d, idx, m))
					return -1;
			}
			path_pop(x, old);
		}
	} else {
		return expected(x, it, "an object {\"check id\": {...}} or an array of check ids");
	}
	if (!x->c.nchecks)
		return cfg_fail(x, "no check selected (leave \"checks\" out for all of them)");
	return 0;
}

/* ---- verdicts ---- */

static int f_fall(struct cfg *x, const cJSON *it)
{
	int64_t v = 0;

	if (get_int(x, it, 1, 1000, "an integer 1..1000 (windows in a row)", &v))
		return -1;
	x->c.fall = (int)v;
	return 0;
}

static int f_rise(struct cfg *x, const cJSON *it)
{
	int64_t v = 0;

	if (get_int(x, it, 1, 1000, "an integer 1..1000 (windows in a row)", &v))
		return -1;
	x->c.rise = (int)v;
	return 0;
}

static int f_window_objective(struct cfg *x, const cJSON *it)
{
	return get_num(x, it, 0, 1, 1, "a share of windows above 0, at most 1, like 0.999",
		       &x->c.window_objective);
}

static int f_incident_tolerance(struct cfg *x, const cJSON *it)
{
	return get_dur(x, it, 0, RUN_MAX_SPAN_MS, 0, "a duration 0..366d, like \"30s\"",
		       &x->c.incident_tolerance_ms);
}

static int f_strict(struct cfg *x, const cJSON *it)
{
	if (!cJSON_IsBool(it))
		return expected(x, it, "true or false");
	x->c.strict = cJSON_IsTrue(it) ? 1 : 0;
	return 0;
}

static const struct cfg_field verdict_fields[] = {
	{ "fall", f_fall },
	{ "rise", f_rise },
	{ "window_objective", f_window_objective },
	{ "incident_tolerance", f_incident_tolerance },
	{ "strict", f_strict },
};

static int f_verdicts(struct cfg *x, const cJSON *it)
{
	return read_object(x, it, verdict_fields, ARRAY_SIZE(verdict_fields));
}

/* ---- mesh_settings ---- */

#define WEIGHT_FIELD(fn, member) \
	static int fn(struct cfg *x, const cJSON *it) \
	{ return get_weight(x, it, &x->c.m.member); }
WEIGHT_FIELD(f_split_v1, split_v1)
WEIGHT_FIELD(f_split_v2, split_v2)
WEIGHT_FIELD(f_shift_v1, shift_v1)
WEIGHT_FIELD(f_shift_v2, shift_v2)
#undef WEIGHT_FIELD

static int f_shift_at(struct cfg *x, const cJSON *it)
{
	x->shift_at_set = 1;
	if (cJSON_IsString(it) && it->valuestring && !strcmp(it->valuestring, "never")) {
		x->c.m.shift_at_ms = 0;
		return 0;
	}
	return get_dur(x, it, 0, RUN_MAX_SPAN_MS, 0,
		       "a duration from the start of traffic like \"10m\", or \"never\"",
		       &x->c.m.shift_at_ms);
}

static int f_shift_converge(struct cfg *x, const cJSON *it)
{
	return get_dur(x, it, 1, 86400LL * 1000, 0, "a duration 1ms..1d, like \"10s\"",
		       &x->c.m.shift_converge_ms);
}

static int f_retry_attempts(struct cfg *x, const cJSON *it)
{
	int64_t v = 0;

	if (get_int(x, it, 1, 10, "an integer 1..10 (1 + retries)", &v))
		return -1;
	x->c.m.retry_attempts = (int)v;
	return 0;
}

static int f_retry_fail_share(struct cfg *x, const cJSON *it)
{
	return get_num(x, it, 0, 1, 0, "a share 0..1, like 0.5", &x->c.m.retry_fail_share);
}

static int f_timeout_route(struct cfg *x, const cJSON *it)
{
	return get_dur(x, it, 1, 600000, 0, "a duration 1ms..10m, like \"500ms\"",
		       &x->c.m.route_timeout_ms);
}

static int f_timeout_slow(struct cfg *x, const cJSON *it)
{
	return get_dur(x, it, 1, 600000, 0, "a duration 1ms..10m, like \"2s\"", &x->c.m.slow_ms);
}

static int f_timeout_slack(struct cfg *x, const cJSON *it)
{
	return get_dur(x, it, 0, 600000, 0, "a duration 0..10m, like \"300ms\"",
		       &x->c.m.timeout_slack_ms);
}

static int f_tap_max_delay(struct cfg *x, const cJSON *it)
{
	return get_dur(x, it, 1, 600000, 0, "a duration 1ms..10m, like \"2s\"",
		       &x->c.m.tap_max_delay_ms);
}

static int f_tap_max_loss(struct cfg *x, const cJSON *it)
{
	return get_num(x, it, 0, 1, 0, "a share 0..1, like 0.001", &x->c.m.tap_max_loss);
}

static int f_trust_domain(struct cfg *x, const cJSON *it)
{
	return get_dns_name(x, it, x->c.m.trust_domain, sizeof(x->c.m.trust_domain));
}

static int f_namespace(struct cfg *x, const cJSON *it)
{
	return get_dns_name(x, it, x->c.m.ns, sizeof(x->c.m.ns));
}

static int f_cert_validity(struct cfg *x, const cJSON *it)
{
	int64_t ms = 0;

	if (get_dur(x, it, 60000, 3650LL * 86400 * 1000, 1,
		    "a duration in whole seconds, 1m..3650d, like \"24h\"", &ms))
		return -1;
	x->c.m.cert_validity_s = ms / 1000;
	return 0;
}

static int f_expiry_threshold(struct cfg *x, const cJSON *it)
{
	int64_t ms = 0;

	if (get_dur(x, it, 0, 3650LL * 86400 * 1000, 1,
		    "a duration in whole seconds, 0..3650d, like \"1h\"", &ms))
		return -1;
	x->c.m.expiry_threshold_s = ms / 1000;
	return 0;
}

static int f_inbound_policy(struct cfg *x, const cJSON *it)
{
	return get_choice(x, it, run_inbound_policies, RUN_INBOUND_POLICIES,
			  "auto, cluster, or a Linkerd default inbound policy (all-unauthenticated, "
			  "all-authenticated, cluster-authenticated, cluster-unauthenticated, deny, "
			  "audit)", x->c.m.inbound_policy, sizeof(x->c.m.inbound_policy));
}

static const struct cfg_field split_fields[] = {
	{ "v1", f_split_v1 },
	{ "v2", f_split_v2 },
};
static const struct cfg_field shift_fields[] = {
	{ "at", f_shift_at },
	{ "v1", f_shift_v1 },
	{ "v2", f_shift_v2 },
	{ "converge_within", f_shift_converge },
};
static const struct cfg_field retry_fields[] = {
	{ "attempts", f_retry_attempts },
	{ "fail_share", f_retry_fail_share },
};
static const struct cfg_field timeout_fields[] = {
	{ "route", f_timeout_route },
	{ "slow", f_timeout_slow },
	{ "slack", f_timeout_slack },
};
static const struct cfg_field tap_fields[] = {
	{ "max_delay", f_tap_max_delay },
	{ "max_loss", f_tap_max_loss },
};
static const struct cfg_field linkerd_fields[] = {
	{ "inbound_policy", f_inbound_policy },
};
static const struct cfg_field identity_fields[] = {
	{ "trust_domain", f_trust_domain },
	{ "namespace", f_namespace },
	{ "cert_validity", f_cert_validity },
	{ "expiry_threshold", f_expiry_threshold },
};

#define OBJECT_FIELD(fn, table) \
	static int fn(struct cfg *x, const cJSON *it) \
	{ return read_object(x, it, table, ARRAY_SIZE(table)); }
OBJECT_FIELD(f_split, split_fields)
OBJECT_FIELD(f_shift, shift_fields)
OBJECT_FIELD(f_retry, retry_fields)
OBJECT_FIELD(f_timeout, timeout_fields)
OBJECT_FIELD(f_tap, tap_fields)
OBJECT_FIELD(f_identity, identity_fields)
OBJECT_FIELD(f_linkerd, linkerd_fields)
#undef OBJECT_FIELD

/* ---- what the CLI does with the reports (--keep-runs, --junit, --html, --md) ---- */

static int f_keep_runs(struct cfg *x, const cJSON *it)
{
	return get_int(x, it, 1, RUN_KEEP_RUNS_MAX, "an integer 1..100000 (run directories kept)",
		       &x->c.out.keep_runs);
}

static int get_report_path(struct cfg *x, const cJSON *it, char *dst, size_t len)
{
	if (!cJSON_IsString(it) || !it->valuestring || !it->valuestring[0])
		return expected(x, it, "a file path, e.g. \"results/junit.xml\"");
	return get_str(x, it, dst, len, "a file path shorter than PATH_MAX");
}

#define PATH_FIELD(fn, member) \
	static int fn(struct cfg *x, const cJSON *it) \
	{ return get_report_path(x, it, x->c.out.member, sizeof(x->c.out.member)); }
PATH_FIELD(f_report_junit, junit)
PATH_FIELD(f_report_html, html)
PATH_FIELD(f_report_md, md)
#undef PATH_FIELD

static const struct cfg_field report_fields[] = {
	{ "junit", f_report_junit },
	{ "html", f_report_html },
	{ "md", f_report_md },
};

static int f_reports(struct cfg *x, const cJSON *it)
{
	return read_object(x, it, report_fields, ARRAY_SIZE(report_fields));
}

static const struct cfg_field mesh_fields[] = {
	{ "split", f_split },
	{ "shift", f_shift },
	{ "retry", f_retry },
	{ "timeout", f_timeout },
	{ "tap", f_tap },
	{ "identity", f_identity },
	{ "linkerd", f_linkerd },
};

static int f_mesh_settings(struct cfg *x, const cJSON *it)
{
	return read_object(x, it, mesh_fields, ARRAY_SIZE(mesh_fields));
}

static const struct cfg_field top_fields[] = {
	{ "platform", f_platform },
	{ "mesh", f_mesh },
	{ "duration", f_duration },
	{ "window", f_window },
	{ "rate", f_rate },
	{ "request_timeout", f_request_timeout },
	{ "checks", f_checks },
	{ "verdicts", f_verdicts },
	{ "retention", f_retention },
	{ "metrics_addr", f_metrics_addr },
	{ "identity_header", f_identity_header },
	{ "mesh_settings", f_mesh_settings },
	{ "keep_runs", f_keep_runs },
	{ "reports", f_reports },
};

/* Rules across fields, once the file is read (as run.json's, in the user's terms). */
static int cross_check(struct cfg *x)
{
	const struct run_config *c = &x->c;
	const struct run_mesh *m = &c->m;
	char a[32], b[32];

	if (c->duration_ms && c->duration_ms < c->window_ms) {
		str_copy(x->path, sizeof(x->path), "duration");
		return cfg_fail(x, "%s is shorter than the window (%s); make it at least one "
				"window long", dur(c->duration_ms, a, sizeof(a)),
				dur(c->window_ms, b, sizeof(b)));
	}
	if (c->retention_s * 1000 < c->window_ms) {
		str_copy(x->path, sizeof(x->path), "retention");
		return cfg_fail(x, "%s is shorter than the window (%s)",
				dur(c->retention_s * 1000, a, sizeof(a)),
				dur(c->window_ms, b, sizeof(b)));
	}
	if (!m->split_v1 && !m->split_v2) {
		str_copy(x->path, sizeof(x->path), "mesh_settings.split");
		return cfg_fail(x, "v1 and v2 are both 0 (at least one backend needs weight)");
	}
	if (!m->shift_v1 && !m->shift_v2) {
		str_copy(x->path, sizeof(x->path), "mesh_settings.shift");
		return cfg_fail(x, "v1 and v2 are both 0 (at least one backend needs weight)");
	}
	if (x->shift_at_set && m->shift_at_ms && c->duration_ms &&
	    m->shift_at_ms >= c->duration_ms) {
		str_copy(x->path, sizeof(x->path), "mesh_settings.shift.at");
		return cfg_fail(x, "%s is not before the end of the run (duration %s); use an "
				"earlier time or \"never\"",
				dur(m->shift_at_ms, a, sizeof(a)),
				dur(c->duration_ms, b, sizeof(b)));
	}
	if (m->slow_ms <= m->route_timeout_ms) {
		str_copy(x->path, sizeof(x->path), "mesh_settings.timeout.slow");
		return cfg_fail(x, "%s is not longer than the route timeout (%s), so the slow "
				"request would never be cut",
				dur(m->slow_ms, a, sizeof(a)),
				dur(m->route_timeout_ms, b, sizeof(b)));
	}
	if (m->expiry_threshold_s >= m->cert_validity_s) {
		str_copy(x->path, sizeof(x->path), "mesh_settings.identity.expiry_threshold");
		return cfg_fail(x, "%s is not below cert_validity (%s), so every fresh "
				"certificate would fail",
				dur(m->expiry_threshold_s * 1000, a, sizeof(a)),
				dur(m->cert_validity_s * 1000, b, sizeof(b)));
	}
	return 0;
}

/*
 * A JSON syntax checker that only has to find where text goes wrong, and say
 * what was expected there: cJSON tells that a parse failed, but its position
 * is sometimes one past the culprit and it never says why.
 */
struct scan {
	const char *s;
	size_t len, pos;
	const char *want;          /* what was expected at pos */
	const char *hint;          /* a likely cause, or "" */
};

static void scan_ws(struct scan *z)
{
	while (z->pos < z->len && strchr(" \t\r\n", z->s[z->pos]))
		z->pos++;
}

static int scan_fail(struct scan *z, const char *want, const char *hint)
{
	z->want = want;
	z->hint = hint;
	return -1;
}

static int scan_string(struct scan *z)
{
	z->pos++; /* the opening quote */
	while (z->pos < z->len) {
		unsigned char ch = (unsigned char)z->s[z->pos];

		if (ch == '"') {
			z->pos++;
			return 0;
		}
		if (ch < 0x20)
			return scan_fail(z, "the closing '\"' of the string", " (an unclosed string?)");
		if (ch == '\\') {
			z->pos++;
			if (z->pos >= z->len)
				break;
			if (z->s[z->pos] == 'u') {
				int k;

				for (k = 1; k <= 4; k++)
					if (z->pos + k >= z->len ||
					    !isxdigit((unsigned char)z->s[z->pos + k])) {
						z->pos += (size_t)k;
						return scan_fail(z, "4 hex digits after \\u", "");
					}
				z->pos += 4;
			} else if (!strchr("\"\\/bfnrt", z->s[z->pos])) {
				return scan_fail(z, "an escape: \\\" \\\\ \\/ \\b \\f \\n \\r \\t or "
						 "\\uXXXX", " (write \\\\ for a backslash)");
			}
		}
		z->pos++;
	}
	return scan_fail(z, "the closing '\"' of the string", " (an unclosed string?)");
}

static int scan_digits(struct scan *z)
{
	if (z->pos >= z->len || !isdigit((unsigned char)z->s[z->pos]))
		return scan_fail(z, "a digit", "");
	while (z->pos < z->len && isdigit((unsigned char)z->s[z->pos]))
		z->pos++;
	return 0;
}

static int scan_number(struct scan *z)
{
	if (z->s[z->pos] == '-')
		z->pos++;
	if (z->pos < z->len && z->s[z->pos] == '0')
		z->pos++;
	else if (scan_digits(z))
		return -1;
	if (z->pos < z->len && z->s[z->pos] == '.') {
		z->pos++;
		if (scan_digits(z))
			return -1;
	}
	if (z->pos < z->len && (z->s[z->pos] == 'e' || z->s[z->pos] == 'E')) {
		z->pos++;
		if (z->pos < z->len && (z->s[z->pos] == '+' || z->s[z->pos] == '-'))
			z->pos++;
		if (scan_digits(z))
			return -1;
	}
	return 0;
}

#define SCAN_VALUE "a value (a \"string\", a number, {...}, [...], true, false or null)"

static int scan_value(struct scan *z, int depth)
{
	static const char *const words[] = { "true", "false", "null" };
	size_t i;
	char ch;

	if (depth > 64)
		return scan_fail(z, "at most 64 levels of nesting", "");
	scan_ws(z);
	if (z->pos >= z->len)
		return scan_fail(z, SCAN_VALUE, depth ? " (an unclosed { or [?)" : "");
	ch = z->s[z->pos];
	if (ch == '{' || ch == '[') {
		char close = ch == '{' ? '}' : ']';
		int first = 1;

		z->pos++;
		for (;;) {
			scan_ws(z);
			if (z->pos < z->len && z->s[z->pos] == close) {
				if (!first)
					return scan_fail(z, close == '}' ? "a field name after ','" :
							 "a value after ','", " (a trailing comma?)");
				z->pos++;
				return 0;
			}
			if (close == '}') {
				if (z->pos >= z->len || z->s[z->pos] != '"')
					return scan_fail(z, "a field name in double quotes",
							 z->pos < z->len && z->s[z->pos] == '\'' ?
							 " (JSON takes double quotes)" :
							 z->pos >= z->len ? " (an unclosed {?)" : "");
				if (scan_string(z))
					return -1;
				scan_ws(z);
				if (z->pos >= z->len || z->s[z->pos] != ':')
					return scan_fail(z, "':' after the field name", "");
				z->pos++;
			}
			if (scan_value(z, depth + 1))
				return -1;
			scan_ws(z);
			if (z->pos < z->len && z->s[z->pos] == ',') {
				z->pos++;
				first = 0;
				continue;
			}
			if (z->pos < z->len && z->s[z->pos] == close) {
				z->pos++;
				return 0;
			}
			if (z->pos >= z->len)
				return scan_fail(z, close == '}' ? "',' or '}'" : "',' or ']'",
						 close == '}' ? " (an unclosed {?)" : " (an unclosed [?)");
			return scan_fail(z, close == '}' ? "',' or '}'" : "',' or ']'",
					 " (a missing comma?)");
		}
	}
	if (ch == '"')
		return scan_string(z);
	if (ch == '-' || isdigit((unsigned char)ch))
		return scan_number(z);
	for (i = 0; i < ARRAY_SIZE(words); i++)
		if (z->len - z->pos >= strlen(words[i]) &&
		    !strncmp(z->s + z->pos, words[i], strlen(words[i]))) {
			z->pos += strlen(words[i]);
			return 0;
		}
	return scan_fail(z, SCAN_VALUE, ch == '\'' ? " (JSON takes double quotes)" :
			 (ch == '/' || ch == '#') ? " (JSON has no comments)" :
			 isalpha((unsigned char)ch) ? " (strings take double quotes)" : "");
}

/*
 * Is text strict JSON (RFC 8259; cJSON alone lets "1." and raw line breaks in
 * strings pass)? 0, or -1 with "line L, column C: invalid JSON: expected X,
 * got Y" in x->err.
 */
static int syntax_check(struct cfg *x, const char *text, size_t len)
{
	struct scan z = { text, len, 0, NULL, "" };
	size_t i, line = 1, col = 1;
	char g[32];

	scan_ws(&z);
	if (z.pos >= len)
		return cfg_fail(x, "the file is empty (write {} for a run with every default)");
	if (!scan_value(&z, 0)) {
		scan_ws(&z);
		if (z.pos >= len)
			return 0;
		scan_fail(&z, "the end of the file after the top-level value", "");
	}
	if (z.pos > len)
		z.pos = len;
	for (i = 0; i < z.pos; i++) {
		if (text[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	if (z.pos >= len)
		snprintf(g, sizeof(g), "the end of the file");
	else if (text[z.pos] == '\n' || text[z.pos] == '\r')
		snprintf(g, sizeof(g), "the end of the line");
	else if (text[z.pos] == '\'')
		snprintf(g, sizeof(g), "\"'\"");
	else if (isprint((unsigned char)text[z.pos]))
		snprintf(g, sizeof(g), "'%c'", text[z.pos]);
	else
		snprintf(g, sizeof(g), "byte 0x%02x", (unsigned char)text[z.pos]);
	x->path[0] = '\0';
	return cfg_fail(x, "line %zu, column %zu: invalid JSON: expected %s, got %s%s", line, col,
			z.want, g, z.hint);
}

int config_from_json(const char *name, const char *text, size_t len, struct run_config *c,
		     char *err, size_t errlen)
{
	struct cfg *x;
	const char *end = NULL;
	cJSON *root = NULL;
	int rc = -1;

	if (err && errlen)
		err[0] = '\0';
	x = calloc(1, sizeof(*x));
	if (!x) {
		str_fmt(err, errlen, "%s: out of memory", name);
		return -1;
	}
	x->name = name ? name : "config";
	x->err = err;
	x->errlen = errlen;
	x->c = *c;
	if (!text || len > CONFIG_FILE_MAX) {
		cfg_fail(x, "larger than %d bytes", CONFIG_FILE_MAX);
		goto out;
	}
	if (strlen(text) != len) {
		size_t at = strlen(text);

		cfg_fail(x, "a NUL byte at offset %zu: not a text file", at);
		goto out;
	}
	if (syntax_check(x, text, len))
		goto out;
	/* len + 1: the NUL ends the text, so trailing garbage is an error */
	root = cJSON_ParseWithLengthOpts(text, len + 1, &end, 1);
	if (!root) {
		cfg_fail(x, "cannot parse the JSON (out of memory?)");
		goto out;
	}
	if (!cJSON_IsObject(root)) {
		expected(x, root, "a JSON object { ... } at the top level");
		goto out;
	}
	if (read_object(x, root, top_fields, ARRAY_SIZE(top_fields)) || cross_check(x))
		goto out;
	*c = x->c;
	rc = 0;
out:
	cJSON_Delete(root);
	free(x);
	return rc;
}

int config_load(const char *path, struct run_config *c, char *err, size_t errlen)
{
	size_t len = 0;
	char *text;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (!path || !*path) {
		str_fmt(err, errlen, "config: no file named");
		return -1;
	}
	text = file_read(path, CONFIG_FILE_MAX, &len);
	if (!text) {
		if (errno == EFBIG || errno == E2BIG)
			str_fmt(err, errlen, "%s: larger than %d bytes", path, CONFIG_FILE_MAX);
		else
			str_fmt(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		return -1;
	}
	rc = config_from_json(path, text, len, c, err, errlen);
	free(text);
	return rc;
}

/* ---- summary ---- */

static const char *pct(double share, char *buf, size_t len)
{
	snprintf(buf, len, "%.6g%%", share * 100.0);
	return buf;
}

int config_summary(const struct run_config *c, struct dynbuf *b)
{
	const struct run_mesh *m = &c->m;
	char d1[32], d2[32], d3[32], p1[32];
	size_t i;
	int rc = 0;

#define LINE(name, ...) do { rc |= dynbuf_addf(b, "  %-17s ", name); \
	rc |= dynbuf_addf(b, __VA_ARGS__); rc |= dynbuf_adds(b, "\n"); } while (0)
	LINE("platform", "%s", c->platform);
	LINE("mesh", "%s", c->mesh);
	if (c->duration_ms)
		LINE("duration", "%s", dur(c->duration_ms, d1, sizeof(d1)));
	else
		LINE("duration", "until stopped");
	LINE("window", "%s", dur(c->window_ms, d1, sizeof(d1)));
	LINE("rate", "%.10g requests/s per check", c->rate);
	LINE("request timeout", "%s", dur(c->request_timeout_ms, d1, sizeof(d1)));
	rc |= dynbuf_addf(b, "  %-17s ", "checks");
	for (i = 0; i < c->nchecks && i < RUN_MAX_CHECKS; i++) {
		rc |= dynbuf_addf(b, "%s%s", i ? ", " : "", c->checks[i]);
		if (c->objectives[i] > 0)
			rc |= dynbuf_addf(b, " (objective %s)",
					  pct(c->objectives[i], p1, sizeof(p1)));
	}
	rc |= dynbuf_adds(b, "\n");
	LINE("verdicts", "fall %d, rise %d, window objective %s, incident tolerance %s%s",
	     c->fall, c->rise, pct(c->window_objective, p1, sizeof(p1)),
	     dur(c->incident_tolerance_ms, d1, sizeof(d1)),
	     c->strict ? ", strict (inconclusive fails)" : "");
	LINE("retention", "%s", dur(c->retention_s * 1000, d1, sizeof(d1)));
	LINE("metrics address", "%s", c->metrics_addr[0] ? c->metrics_addr : "none");
	LINE("identity header", "%s", c->identity_header);
	LINE("keep runs", "%lld", (long long)c->out.keep_runs);
	LINE("junit copy", "%s", c->out.junit[0] ? c->out.junit : "none");
	LINE("html copy", "%s", c->out.html[0] ? c->out.html : "none");
	LINE("md copy", "%s", c->out.md[0] ? c->out.md : "none");
	LINE("split", "v1 %u, v2 %u", m->split_v1, m->split_v2);
	if (m->shift_at_ms > 0)
		LINE("shift", "at %s to v1 %u, v2 %u, converge within %s",
		     dur(m->shift_at_ms, d1, sizeof(d1)), m->shift_v1, m->shift_v2,
		     dur(m->shift_converge_ms, d2, sizeof(d2)));
	else if (m->shift_at_ms < 0 && c->duration_ms)
		LINE("shift", "at a third of the run (%s) to v1 %u, v2 %u, converge within %s",
		     dur(c->duration_ms / 3, d1, sizeof(d1)), m->shift_v1, m->shift_v2,
		     dur(m->shift_converge_ms, d2, sizeof(d2)));
	else
		LINE("shift", "never");
	LINE("retry", "%d attempts, the server fails %s", m->retry_attempts,
	     pct(m->retry_fail_share, p1, sizeof(p1)));
	LINE("timeout", "route %s, slow request %s, slack %s",
	     dur(m->route_timeout_ms, d1, sizeof(d1)),
	     dur(m->slow_ms, d2, sizeof(d2)),
	     dur(m->timeout_slack_ms, d3, sizeof(d3)));
	LINE("tap", "max delay %s, max loss %s", dur(m->tap_max_delay_ms, d1, sizeof(d1)),
	     pct(m->tap_max_loss, p1, sizeof(p1)));
	LINE("identity", "trust domain %s, namespace %s, certificates valid %s, expiry "
	     "threshold %s", m->trust_domain, m->ns,
	     dur(m->cert_validity_s * 1000, d1, sizeof(d1)),
	     dur(m->expiry_threshold_s * 1000, d2, sizeof(d2)));
	if (!strcmp(c->mesh, "linkerd"))
		LINE("linkerd", "inbound policy %s (%s)", m->inbound_policy,
		     run_config_inbound_policy(c)[0] ? run_config_inbound_policy(c)
		     : "the cluster's default");
#undef LINE
	return rc ? -1 : 0;
}
