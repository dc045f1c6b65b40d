/*
 * views.c - the second evidence: what the mesh's proxies counted in a
 * window (evidence/meshview.h, stored by conformd once per window) beside
 * what the workloads saw. The checks that have both (mtls.identity,
 * retry.http, split.weights) compare them; the tolerance for scrape timing
 * lives here so all three mean the same by "disagree".
 */
#include "checks/check.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/meshview.h"
#include "store/store.h"
#include "base/util.h"

int check_mesh_view(const struct window_data *wd, struct mesh_view *v, double *tol,
		    char *note, size_t len)
{
	char *json = NULL;
	double from = 0, to = 0, miss, wlen = (double)(wd->end_s - wd->start_s);
	int rc;

	if (note && len)
		note[0] = '\0';
	memset(v, 0, sizeof(*v));
	if (!wd->store || wlen <= 0)
		return 0;
	rc = store_get_mesh_view(wd->store, wd->start_s, wd->end_s, &json, &from, &to);
	if (rc <= 0)
		return rc;
	rc = meshview_parse(json, v);
	free(json);
	if (rc) {
		if (note)
			str_copy(note, len, "the stored mesh view is not readable");
		return 0;
	}
	if (v->partial) {
		if (note)
			str_fmt(note, len, "mesh view partial: %s", v->why);
		return 0;
	}
	miss = fabs(from - (double)wd->start_s) + fabs(to - (double)wd->end_s) + VIEWS_EDGE_S;
	*tol = fmin(miss / wlen, 0.5);
	return 1;
}

int check_views_short(uint64_t mesh, uint64_t app, double tol)
{
	return (double)mesh + VIEWS_SLACK < (double)app * (1.0 - tol);
}

void check_views_fail(struct window_result *out, const char *fmt, ...)
{
	char what[REASON_TEXT_MAX], alone[REASON_TEXT_MAX] = "";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (out->verdict == V_FAIL)
		str_copy(alone, sizeof(alone), out->reason_text);
	check_set(out, V_FAIL, R_VIEWS_DISAGREE, "the app and the mesh disagree: %s%s%s", what,
		  alone[0] ? "; the app's view alone: " : "", alone);
}
