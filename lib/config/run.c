/*
 * run.c - the run description (run.h): defaults, and the one JSON form the
 * CLI writes to run.json and conformd reads back. Parsing is strict (unknown
 * fields and wrong types are errors naming the field) so typos in a config
 * never silently become defaults.
 */
#include "report/metrics.h"
#include "config/run.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "checks/check.h"
#include "base/util.h"

#define RUN_JSON_MAX (1 << 20)

/* shift_at_ms before it is resolved against duration_ms (duration / 3) */
#define SHIFT_AUTO (-1)

static void run_mesh_defaults(struct run_mesh *m)
{
	memset(m, 0, sizeof(*m));
	str_copy(m->trust_domain, sizeof(m->trust_domain), "cluster.local");
	str_copy(m->ns, sizeof(m->ns), "conform");
	m->cert_validity_s = 86400;
	m->expiry_threshold_s = 3600;
	m->retry_attempts = 4;
	m->retry_fail_share = 0.5;
	m->split_v1 = 90;
	m->split_v2 = 10;
	m->shift_at_ms = SHIFT_AUTO;
	m->shift_v1 = 50;
	m->shift_v2 = 50;
	m->shift_converge_ms = 10000;
	m->route_timeout_ms = 500;
	m->slow_ms = 2000;
	m->timeout_slack_ms = 300;
	m->tap_max_delay_ms = 2000;
	m->tap_max_loss = 0.001;
	str_copy(m->inbound_policy, sizeof(m->inbound_policy), "auto");
}

const char *const run_inbound_policies[RUN_INBOUND_POLICIES] = {
	"auto", "cluster", "all-unauthenticated", "all-authenticated",
	"cluster-authenticated", "cluster-unauthenticated", "deny", "audit",
};

const char *run_config_inbound_policy(const struct run_config *c)
{
	const char *p = c->m.inbound_policy;

	if (!strcmp(p, "cluster") || !p[0])
		return "";
	if (!strcmp(p, "auto"))
		return run_config_has_check(c, "mtls.enforced") ? "all-authenticated" : "";
	return p;
}

/* The shift time a config means: explicit, or a third of a finite run. */
static int64_t shift_resolved(const struct run_config *c)
{
	if (c->m.shift_at_ms >= 0)
		return c->m.shift_at_ms;
	return c->duration_ms > 0 ? c->duration_ms / 3 : 0;
}

int64_t run_config_shift_at_ms(const struct run_config *c)
{
	return shift_resolved(c);
}

void run_config_defaults(struct run_config *c)
{
	const struct check_desc *const *all;
	size_t n, i;

	memset(c, 0, sizeof(*c));
	str_copy(c->platform, sizeof(c->platform), "local");
	str_copy(c->mesh, sizeof(c->mesh), "none");
	c->duration_ms = 0;
	c->window_ms = 10000;
	c->rate = 10.0;
	c->request_timeout_ms = 2000;
	str_copy(c->identity_header, sizeof(c->identity_header), "l5d-client-id");
	all = catalog_all(&n);
	for (i = 0; i < n && i < RUN_MAX_CHECKS; i++)
		str_copy(c->checks[i], sizeof(c->checks[i]), all[i]->id);
	c->nchecks = i;
	run_mesh_defaults(&c->m);
	c->fall = 2;
	c->rise = 2;
	c->window_objective = 1.0;
	c->incident_tolerance_ms = 0;
	c->retention_s = 86400;
	c->out.keep_runs = RUN_KEEP_RUNS_DEFAULT;
}

double run_config_objective(const struct run_config *c, const struct check_desc *d)
{
	size_t i;

	if (c)
		for (i = 0; i < c->nchecks && i < RUN_MAX_CHECKS; i++)
			if (!strcmp(c->checks[i], d->id))
				return c->objectives[i] > 0 ? c->objectives[i] : d->objective_ratio;
	return d->objective_ratio;
}

const struct run_bound run_bounds[RUN_S_NSETTINGS] = {
	[RUN_S_DURATION] = { "duration", 1000, (double)RUN_MAX_SPAN_MS, 1, 0, "0 or 1s..366d" },
	[RUN_S_WINDOW] = { "window", 1000, 86400.0 * 1000, 0, 1, "whole seconds, 1s..1d" },
	[RUN_S_RATE] = { "rate", 0.001, 100000, 0, 0, "0.001..100000" },
	[RUN_S_REQUEST_TIMEOUT] = { "request_timeout", 1, 600000, 0, 0, "1ms..10m" },
	[RUN_S_RETENTION] = { "retention", 10000, (double)RUN_MAX_SPAN_MS, 0, 1,
			      "whole seconds, 10s..366d" },
};

int run_bound_ok(enum run_setting s, double v)
{
	const struct run_bound *b;

	if ((unsigned)s >= RUN_S_NSETTINGS || !isfinite(v))
		return 0;
	b = &run_bounds[s];
	if (b->zero_ok && v == 0)
		return 1;
	if (v < b->min || v > b->max)
		return 0;
	return !b->whole_s || fmod(v, 1000) == 0;
}

int run_config_has_check(const struct run_config *c, const char *id)
{
	size_t i;

	if (!id)
		return 0;
	for (i = 0; i < c->nchecks && i < RUN_MAX_CHECKS; i++)
		if (!strcmp(c->checks[i], id))
			return 1;
	return 0;
}

/* The "mesh_settings" member of o; 0 or -1 (out of memory). */
static int mesh_to_json(const struct run_config *c, cJSON *o)
{
	const struct run_mesh *m = &c->m;
	cJSON *ms = cJSON_AddObjectToObject(o, "mesh_settings");

	if (!ms ||
	    !cJSON_AddStringToObject(ms, "trust_domain", m->trust_domain) ||
	    !cJSON_AddStringToObject(ms, "ns", m->ns) ||
	    !cJSON_AddNumberToObject(ms, "cert_validity_s", (double)m->cert_validity_s) ||
	    !cJSON_AddNumberToObject(ms, "expiry_threshold_s", (double)m->expiry_threshold_s) ||
	    !cJSON_AddNumberToObject(ms, "retry_attempts", m->retry_attempts) ||
	    !cJSON_AddNumberToObject(ms, "retry_fail_share", m->retry_fail_share) ||
	    !cJSON_AddNumberToObject(ms, "split_v1", m->split_v1) ||
	    !cJSON_AddNumberToObject(ms, "split_v2", m->split_v2) ||
	    !cJSON_AddNumberToObject(ms, "shift_at_ms", (double)shift_resolved(c)) ||
	    !cJSON_AddNumberToObject(ms, "shift_v1", m->shift_v1) ||
	    !cJSON_AddNumberToObject(ms, "shift_v2", m->shift_v2) ||
	    !cJSON_AddNumberToObject(ms, "shift_converge_ms", (double)m->shift_converge_ms) ||
	    !cJSON_AddNumberToObject(ms, "route_timeout_ms", (double)m->route_timeout_ms) ||
	    !cJSON_AddNumberToObject(ms, "slow_ms", (double)m->slow_ms) ||
	    !cJSON_AddNumberToObject(ms, "timeout_slack_ms", (double)m->timeout_slack_ms) ||
	    !cJSON_AddNumberToObject(ms, "tap_max_delay_ms", (double)m->tap_max_delay_ms) ||
	    !cJSON_AddNumberToObject(ms, "tap_max_loss", m->tap_max_loss) ||
	    !cJSON_AddStringToObject(ms, "inbound_policy", m->inbound_policy))
		return -1;
	return 0;
}

/* The "verdicts" and "objectives" members of o (objectives: only the
 * overridden ones, by check id); 0 or -1 (out of memory). */
static int verdicts_to_json(const struct run_config *c, cJSON *o)
{
	cJSON *v = cJSON_AddObjectToObject(o, "verdicts"), *obj;
	size_t i;

	if (!v ||
	    !cJSON_AddNumberToObject(v, "fall", c->fall) ||
	    !cJSON_AddNumberToObject(v, "rise", c->rise) ||
	    !cJSON_AddNumberToObject(v, "window_objective", c->window_objective) ||
	    !cJSON_AddNumberToObject(v, "incident_tolerance_ms", (double)c->incident_tolerance_ms) ||
	    !cJSON_AddBoolToObject(v, "strict", c->strict))
		return -1;
	obj = cJSON_AddObjectToObject(o, "objectives");
	if (!obj)
		return -1;
	for (i = 0; i < c->nchecks && i < RUN_MAX_CHECKS; i++)
		if (c->objectives[i] > 0 &&
		    !cJSON_AddNumberToObject(obj, c->checks[i], c->objectives[i]))
			return -1;
	return 0;
}

char *run_config_to_json(const struct run_config *c)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	char *out = NULL;
	size_t i;

	if (!o)
		return NULL;
	if (!cJSON_AddStringToObject(o, "id", c->id) ||
	    !cJSON_AddStringToObject(o, "platform", c->platform) ||
	    !cJSON_AddStringToObject(o, "mesh", c->mesh) ||
	    !cJSON_AddStringToObject(o, "run_dir", c->run_dir) ||
	    !cJSON_AddNumberToObject(o, "duration_ms", (double)c->duration_ms) ||
	    !cJSON_AddNumberToObject(o, "window_ms", (double)c->window_ms) ||
	    !cJSON_AddNumberToObject(o, "rate", c->rate) ||
	    !cJSON_AddNumberToObject(o, "request_timeout_ms", (double)c->request_timeout_ms) ||
	    !cJSON_AddStringToObject(o, "identity_header", c->identity_header) ||
	    !cJSON_AddStringToObject(o, "metrics_addr", c->metrics_addr))
		goto out;
	arr = cJSON_AddArrayToObject(o, "checks");
	if (!arr)
		goto out;
	for (i = 0; i < c->nchecks && i < RUN_MAX_CHECKS; i++) {
		cJSON *s = cJSON_CreateString(c->checks[i]);

		if (!s || !cJSON_AddItemToArray(arr, s)) {
			cJSON_Delete(s);
			goto out;
		}
	}
	if (!cJSON_AddNumberToObject(o, "started", c->started) ||
	    !cJSON_AddNumberToObject(o, "collector_port", c->collector_port) ||
	    (c->api_port && !cJSON_AddNumberToObject(o, "api_port", c->api_port)) ||
	    verdicts_to_json(c, o) ||
	    !cJSON_AddNumberToObject(o, "retention_s", (double)c->retention_s) ||
	    mesh_to_json(c, o))
		goto out;
	{
		cJSON *oo = cJSON_AddObjectToObject(o, "outputs");

		if (!oo || !cJSON_AddNumberToObject(oo, "keep_runs", (double)c->out.keep_runs) ||
		    !cJSON_AddStringToObject(oo, "junit", c->out.junit) ||
		    !cJSON_AddStringToObject(oo, "html", c->out.html) ||
		    !cJSON_AddStringToObject(oo, "md", c->out.md))
			goto out;
	}
	out = cJSON_Print(o);
out:
	cJSON_Delete(o);
	return out;
}

/* ---- strict field readers: each writes "field: expected ..." on error ---- */

static int get_string(const cJSON *it, char *dst, size_t len, char *err, size_t errlen)
{
	if (!cJSON_IsString(it) || !it->valuestring) {
		str_fmt(err, errlen, "%s: expected a string", it->string);
		return -1;
	}
	if (strlen(it->valuestring) >= len) {
		str_fmt(err, errlen, "%s: longer than %zu bytes", it->string, len - 1);
		return -1;
	}
	str_copy(dst, len, it->valuestring);
	return 0;
}

/* An integer in [min, max] (JSON numbers are doubles: exact up to 2^53). */
static int get_int(const cJSON *it, int64_t min, int64_t max, const char *what,
		   int64_t *out, char *err, size_t errlen)
{
	double v;

	if (!cJSON_IsNumber(it))
		goto bad;
	v = it->valuedouble;
	if (!isfinite(v) || v != floor(v) || v < (double)min || v > (double)max ||
	    fabs(v) > 9007199254740992.0)
		goto bad;
	*out = (int64_t)v;
	return 0;
bad:
	str_fmt(err, errlen, "%s: expected %s", it->string, what);
	return -1;
}

/* A millisecond setting of the bounds table, as run.json holds it. */
static int get_bounded_ms(const cJSON *it, const char *key, enum run_setting rs, int64_t *out,
			  char *err, size_t errlen)
{
	if (!cJSON_IsNumber(it) || it->valuedouble != floor(it->valuedouble) ||
	    !run_bound_ok(rs, it->valuedouble)) {
		str_fmt(err, errlen, "%s: expected milliseconds, %s", key, run_bounds[rs].text);
		return -1;
	}
	*out = (int64_t)it->valuedouble;
	return 0;
}

static int get_double(const cJSON *it, double min, double max, int min_exclusive,
		      const char *what, double *out, char *err, size_t errlen)
{
	double v;

	if (!cJSON_IsNumber(it))
		goto bad;
	v = it->valuedouble;
	if (!isfinite(v) || v < min || v > max || (min_exclusive && v <= min))
		goto bad;
	*out = v;
	return 0;
bad:
	str_fmt(err, errlen, "%s: expected %s", it->string, what);
	return -1;
}

static int get_checks(const cJSON *it, struct run_config *c, char *err, size_t errlen)
{
	const cJSON *el;
	size_t n = 0, i;

	if (!cJSON_IsArray(it)) {
		str_fmt(err, errlen, "checks: expected an array of check ids");
		return -1;
	}
	cJSON_ArrayForEach(el, it) {
		if (n >= RUN_MAX_CHECKS) {
			str_fmt(err, errlen, "checks: more than %d checks", RUN_MAX_CHECKS);
			return -1;
		}
		if (!cJSON_IsString(el) || !el->valuestring) {
			str_fmt(err, errlen, "checks[%zu]: expected a string", n);
			return -1;
		}
		if (!catalog_find(el->valuestring)) {
			char q[80];

			str_fmt(err, errlen, "checks[%zu]: unknown check %s", n,
				log_quote(el->valuestring, q, sizeof(q)));
			return -1;
		}
		for (i = 0; i < n; i++) {
			if (!strcmp(c->checks[i], el->valuestring)) {
				str_fmt(err, errlen, "checks[%zu]: duplicate check \"%s\"", n,
					el->valuestring);
				return -1;
			}
		}
		str_copy(c->checks[n], sizeof(c->checks[n]), el->valuestring);
		n++;
	}
	if (!n) {
		str_fmt(err, errlen, "checks: expected at least one check id");
		return -1;
	}
	c->nchecks = n;
	return 0;
}

/* A name for identities and certificates: [A-Za-z0-9.-], not empty. */
static int get_name(const cJSON *it, char *dst, size_t len, char *err, size_t errlen)
{
	const char *p;

	if (get_string(it, dst, len, err, errlen))
		return -1;
	for (p = dst; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'))
			break;
	if (!dst[0] || *p) {
		str_fmt(err, errlen, "%s: expected a DNS-like name (letters, digits, '.', '-')",
			it->string);
		return -1;
	}
	return 0;
}

static int get_weight(const cJSON *it, unsigned *out, char *err, size_t errlen)
{
	int64_t v;

	if (get_int(it, 0, 256, "an integer 0..256", &v, err, errlen))
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* One member of "mesh_settings"; errors name the member alone (the caller
 * prefixes "mesh_settings."). */
static int get_mesh_member(const cJSON *it, struct run_mesh *m, char *err, size_t errlen)
{
	const char *k = it->string;
	int64_t v;

	if (!strcmp(k, "trust_domain"))
		return get_name(it, m->trust_domain, sizeof(m->trust_domain), err, errlen);
	if (!strcmp(k, "inbound_policy")) {
		char pol[32];

		if (get_string(it, pol, sizeof(pol), err, errlen))
			return -1;
		for (size_t i = 0; i < RUN_INBOUND_POLICIES; i++)
			if (!strcmp(pol, run_inbound_policies[i])) {
				str_copy(m->inbound_policy, sizeof(m->inbound_policy), pol);
				return 0;
			}
		str_fmt(err, errlen, "%s: expected auto, cluster or a Linkerd default inbound "
			"policy, got \"%s\"", it->string, pol);
		return -1;
	}
	if (!strcmp(k, "ns"))
		return get_name(it, m->ns, sizeof(m->ns), err, errlen);
	if (!strcmp(k, "cert_validity_s"))
		return get_int(it, 60, 315360000, "an integer 60..315360000 (seconds)",
			       &m->cert_validity_s, err, errlen);
	if (!strcmp(k, "expiry_threshold_s"))
		return get_int(it, 0, 315360000, "an integer 0..315360000 (seconds)",
			       &m->expiry_threshold_s, err, errlen);
	if (!strcmp(k, "retry_attempts")) {
		if (get_int(it, 1, 10, "an integer 1..10", &v, err, errlen))
			return -1;
		m->retry_attempts = (int)v;
		return 0;
	}
	if (!strcmp(k, "retry_fail_share"))
		return get_double(it, 0, 1, 0, "a share 0..1", &m->retry_fail_share, err, errlen);
	if (!strcmp(k, "split_v1"))
		return get_weight(it, &m->split_v1, err, errlen);
	if (!strcmp(k, "split_v2"))
		return get_weight(it, &m->split_v2, err, errlen);
	if (!strcmp(k, "shift_v1"))
		return get_weight(it, &m->shift_v1, err, errlen);
	if (!strcmp(k, "shift_v2"))
		return get_weight(it, &m->shift_v2, err, errlen);
	if (!strcmp(k, "shift_at_ms"))
		return get_int(it, 0, INT64_MAX, "a non-negative integer (0 = never)",
			       &m->shift_at_ms, err, errlen);
	if (!strcmp(k, "shift_converge_ms"))
		return get_int(it, 1, INT64_MAX, "a positive integer", &m->shift_converge_ms,
			       err, errlen);
	if (!strcmp(k, "route_timeout_ms"))
		return get_int(it, 1, INT64_MAX, "a positive integer", &m->route_timeout_ms,
			       err, errlen);
	if (!strcmp(k, "slow_ms"))
		return get_int(it, 1, INT64_MAX, "a positive integer", &m->slow_ms, err, errlen);
	if (!strcmp(k, "timeout_slack_ms"))
		return get_int(it, 0, INT64_MAX, "a non-negative integer", &m->timeout_slack_ms,
			       err, errlen);
	if (!strcmp(k, "tap_max_delay_ms"))
		return get_int(it, 1, INT64_MAX, "a positive integer", &m->tap_max_delay_ms,
			       err, errlen);
	if (!strcmp(k, "tap_max_loss"))
		return get_double(it, 0, 1, 0, "a share 0..1", &m->tap_max_loss, err, errlen);
	{
		char q[80];

		str_fmt(err, errlen, "%s: unknown field", log_quote(k, q, sizeof(q)));
	}
	return -1;
}

static int get_mesh(const cJSON *it, struct run_mesh *m, char *err, size_t errlen)
{
	const cJSON *el;
	char inner[256];

	if (!cJSON_IsObject(it)) {
		str_fmt(err, errlen, "mesh_settings: expected an object");
		return -1;
	}
	cJSON_ArrayForEach(el, it) {
		if (!el->string) {
			str_fmt(err, errlen, "mesh_settings: member without a name");
			return -1;
		}
		inner[0] = '\0';
		if (get_mesh_member(el, m, inner, sizeof(inner))) {
			str_fmt(err, errlen, "mesh_settings.%s", inner);
			return -1;
		}
	}
	return 0;
}

/* Checks across fields, once everything is read; resolves shift_at_ms. */
static int mesh_validate(struct run_config *c, char *err, size_t errlen)
{
	struct run_mesh *m = &c->m;

	if (!m->split_v1 && !m->split_v2) {
		str_fmt(err, errlen, "mesh_settings.split_v1: split_v1 and split_v2 are both 0 "
			"(at least one backend needs weight)");
		return -1;
	}
	if (!m->shift_v1 && !m->shift_v2) {
		str_fmt(err, errlen, "mesh_settings.shift_v1: shift_v1 and shift_v2 are both 0 "
			"(at least one backend needs weight)");
		return -1;
	}
	if (m->expiry_threshold_s >= m->cert_validity_s) {
		str_fmt(err, errlen, "mesh_settings.expiry_threshold_s: must be below "
			"cert_validity_s (%lld), or every fresh certificate fails",
			(long long)m->cert_validity_s);
		return -1;
	}
	m->shift_at_ms = shift_resolved(c);
	return 0;
}

/* One member of "verdicts"; errors name the member alone. */
static int get_verdicts_member(const cJSON *it, struct run_config *c, char *err, size_t errlen)
{
	const char *k = it->string;
	int64_t v;

	if (!strcmp(k, "fall") || !strcmp(k, "rise")) {
		if (get_int(it, 1, 1000, "an integer 1..1000 (windows)", &v, err, errlen))
			return -1;
		*(k[0] == 'f' ? &c->fall : &c->rise) = (int)v;
		return 0;
	}
	if (!strcmp(k, "window_objective"))
		return get_double(it, 0, 1, 1, "a share above 0, at most 1", &c->window_objective,
				  err, errlen);
	if (!strcmp(k, "incident_tolerance_ms"))
		return get_int(it, 0, RUN_MAX_SPAN_MS, "an integer 0..31622400000 (ms)",
			       &c->incident_tolerance_ms, err, errlen);
	if (!strcmp(k, "strict")) {
		if (!cJSON_IsBool(it)) {
			str_fmt(err, errlen, "strict: expected true or false");
			return -1;
		}
		c->strict = cJSON_IsTrue(it) ? 1 : 0;
		return 0;
	}
	{
		char q[80];

		str_fmt(err, errlen, "%s: unknown field", log_quote(k, q, sizeof(q)));
	}
	return -1;
}

static int get_verdicts(const cJSON *it, struct run_config *c, char *err, size_t errlen)
{
	const cJSON *el;
	char inner[256];

	if (!cJSON_IsObject(it)) {
		str_fmt(err, errlen, "verdicts: expected an object");
		return -1;
	}
	cJSON_ArrayForEach(el, it) {
		if (!el->string) {
			str_fmt(err, errlen, "verdicts: member without a name");
			return -1;
		}
		inner[0] = '\0';
		if (get_verdicts_member(el, c, inner, sizeof(inner))) {
			str_fmt(err, errlen, "verdicts.%s", inner);
			return -1;
		}
	}
	return 0;
}

/*
 * "objectives": {"check id": ratio}. Read into pend (by catalog position)
 * because "checks" may come later; objectives_resolve maps them onto checks[].
 */
static int get_objectives(const cJSON *it, double *pend, char *err, size_t errlen)
{
	const struct check_desc *const *all;
	const cJSON *el;
	size_t n, k;

	if (!cJSON_IsObject(it)) {
		str_fmt(err, errlen, "objectives: expected an object {\"check id\": ratio}");
		return -1;
	}
	all = catalog_all(&n);
	for (k = 0; k < RUN_MAX_CHECKS; k++)
		pend[k] = 0;
	cJSON_ArrayForEach(el, it) {
		char q[80];
		double v;

		if (!el->string) {
			str_fmt(err, errlen, "objectives: member without a name");
			return -1;
		}
		for (k = 0; k < n && k < RUN_MAX_CHECKS; k++)
			if (!strcmp(all[k]->id, el->string))
				break;
		if (k == n || k >= RUN_MAX_CHECKS) {
			str_fmt(err, errlen, "objectives.%s: unknown check",
				log_quote(el->string, q, sizeof(q)));
			return -1;
		}
		if (!cJSON_IsNumber(el) || !isfinite(el->valuedouble) ||
		    el->valuedouble <= 0 || el->valuedouble > 1) {
			str_fmt(err, errlen, "objectives.%s: expected a ratio above 0, at most 1",
				el->string);
			return -1;
		}
		v = el->valuedouble;
		pend[k] = v;
	}
	return 0;
}

static int objectives_resolve(const double *pend, struct run_config *c, char *err,
			      size_t errlen)
{
	const struct check_desc *const *all;
	size_t n, k, i;

	all = catalog_all(&n);
	for (i = 0; i < RUN_MAX_CHECKS; i++)
		c->objectives[i] = 0;
	for (k = 0; k < n && k < RUN_MAX_CHECKS; k++) {
		if (pend[k] <= 0)
			continue;
		for (i = 0; i < c->nchecks && i < RUN_MAX_CHECKS; i++)
			if (!strcmp(c->checks[i], all[k]->id))
				break;
		if (i == c->nchecks || i >= RUN_MAX_CHECKS) {
			str_fmt(err, errlen, "objectives.%s: the check is not selected (not in "
				"\"checks\")", all[k]->id);
			return -1;
		}
		c->objectives[i] = pend[k];
	}
	return 0;
}

/* "outputs": {keep_runs, junit, html, md}, every member optional. */
static int get_outputs(const cJSON *obj, struct run_outputs *o, char *err, size_t errlen)
{
	const cJSON *it;

	if (!cJSON_IsObject(obj)) {
		str_fmt(err, errlen, "outputs: expected an object");
		return -1;
	}
	cJSON_ArrayForEach(it, obj) {
		const char *k = it->string ? it->string : "";
		char q[80];

		if (!strcmp(k, "keep_runs")) {
			if (get_int(it, 1, RUN_KEEP_RUNS_MAX, "an integer 1..100000", &o->keep_runs,
				    err, errlen))
				return -1;
		} else if (!strcmp(k, "junit")) {
			if (get_string(it, o->junit, sizeof(o->junit), err, errlen))
				return -1;
		} else if (!strcmp(k, "html")) {
			if (get_string(it, o->html, sizeof(o->html), err, errlen))
				return -1;
		} else if (!strcmp(k, "md")) {
			if (get_string(it, o->md, sizeof(o->md), err, errlen))
				return -1;
		} else {
			str_fmt(err, errlen, "outputs.%s: unknown field", log_quote(k, q, sizeof(q)));
			return -1;
		}
	}
	return 0;
}

static int get_field(const cJSON *it, struct run_config *c, double *pend, char *err,
		     size_t errlen)
{
	const char *k = it->string;
	int64_t v;

	if (!strcmp(k, "id"))
		return get_string(it, c->id, sizeof(c->id), err, errlen);
	if (!strcmp(k, "platform"))
		return get_string(it, c->platform, sizeof(c->platform), err, errlen);
	if (!strcmp(k, "mesh"))
		return get_string(it, c->mesh, sizeof(c->mesh), err, errlen);
	if (!strcmp(k, "run_dir"))
		return get_string(it, c->run_dir, sizeof(c->run_dir), err, errlen);
	if (!strcmp(k, "identity_header"))
		return get_string(it, c->identity_header, sizeof(c->identity_header), err, errlen);
	if (!strcmp(k, "metrics_addr")) {
		char a[64];
		int fam, port;

		if (get_string(it, c->metrics_addr, sizeof(c->metrics_addr), err, errlen))
			return -1;
		if (c->metrics_addr[0] &&
		    metrics_parse_addr(c->metrics_addr, a, sizeof(a), &fam, &port, err, errlen))
			return -1;
		return 0;
	}
	if (!strcmp(k, "duration_ms"))
		return get_bounded_ms(it, k, RUN_S_DURATION, &c->duration_ms, err, errlen);
	if (!strcmp(k, "window_ms"))
		return get_bounded_ms(it, k, RUN_S_WINDOW, &c->window_ms, err, errlen);
	if (!strcmp(k, "request_timeout_ms"))
		return get_bounded_ms(it, k, RUN_S_REQUEST_TIMEOUT, &c->request_timeout_ms, err,
				      errlen);
	if (!strcmp(k, "rate")) {
		if (!cJSON_IsNumber(it) || !run_bound_ok(RUN_S_RATE, it->valuedouble)) {
			str_fmt(err, errlen, "rate: expected %s requests per second",
				run_bounds[RUN_S_RATE].text);
			return -1;
		}
		c->rate = it->valuedouble;
		return 0;
	}
	if (!strcmp(k, "started"))
		return get_double(it, 0, 1e11, 0, "unix seconds (a non-negative number)",
				  &c->started, err, errlen);
	if (!strcmp(k, "collector_port")) {
		if (get_int(it, 0, 65535, "a port number 0..65535", &v, err, errlen))
			return -1;
		c->collector_port = (int)v;
		return 0;
	}
	if (!strcmp(k, "api_port")) {
		if (get_int(it, 0, 65535, "a port number 0..65535", &v, err, errlen))
			return -1;
		c->api_port = (int)v;
		return 0;
	}
	if (!strcmp(k, "checks"))
		return get_checks(it, c, err, errlen);
	if (!strcmp(k, "mesh_settings"))
		return get_mesh(it, &c->m, err, errlen);
	if (!strcmp(k, "verdicts"))
		return get_verdicts(it, c, err, errlen);
	if (!strcmp(k, "objectives"))
		return get_objectives(it, pend, err, errlen);
	if (!strcmp(k, "outputs"))
		return get_outputs(it, &c->out, err, errlen);
	if (!strcmp(k, "retention_s"))
		return get_int(it, 10, RUN_MAX_SPAN_MS / 1000, "an integer 10..31622400 (seconds)",
			       &c->retention_s, err, errlen);
	{
		char q[80];

		str_fmt(err, errlen, "%s: unknown field", log_quote(k, q, sizeof(q)));
	}
	return -1;
}

int run_config_from_json(const char *text, struct run_config *c, char *err, size_t errlen)
{
	struct run_config tmp;
	double pend[RUN_MAX_CHECKS] = { 0 };
	const cJSON *it;
	cJSON *root = NULL;
	int rc = -1;

	if (err && errlen)
		err[0] = '\0';
	run_config_defaults(&tmp);
	if (!text) {
		str_fmt(err, errlen, "run config: no text");
		goto out;
	}
	root = cJSON_ParseWithLength(text, strnlen(text, RUN_JSON_MAX + 1));
	if (!root) {
		const char *at = cJSON_GetErrorPtr();

		str_fmt(err, errlen, "run config: invalid JSON near byte %ld",
			at ? (long)(at - text) : 0L);
		goto out;
	}
	if (!cJSON_IsObject(root)) {
		str_fmt(err, errlen, "run config: expected a JSON object");
		goto out;
	}
	cJSON_ArrayForEach(it, root) {
		if (!it->string) {
			str_fmt(err, errlen, "run config: member without a name");
			goto out;
		}
		if (get_field(it, &tmp, pend, err, errlen))
			goto out;
	}
	if (objectives_resolve(pend, &tmp, err, errlen) || mesh_validate(&tmp, err, errlen))
		goto out;
	*c = tmp;
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

int run_config_load(const char *path, struct run_config *c, char *err, size_t errlen)
{
	char *text;
	int rc;

	text = file_read(path, RUN_JSON_MAX, NULL);
	if (!text) {
		str_fmt(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = run_config_from_json(text, c, err, errlen);
	free(text);
	return rc;
}

int run_config_save(const struct run_config *c, const char *path)
{
	char *text = run_config_to_json(c);
	size_t len;
	int rc;

	if (!text) {
		errno = ENOMEM;
		return -1;
	}
	len = strlen(text);
	/* end the file with a newline, as editors and cat expect */
	{
		char *nl = realloc(text, len + 2);

		if (!nl) {
			free(text);
			errno = ENOMEM;
			return -1;
		}
		text = nl;
		text[len++] = '\n';
		text[len] = '\0';
	}
	rc = file_write_atomic(path, text, len, 0600);
	free(text);
	return rc;
}
