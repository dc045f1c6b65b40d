/*
 * handlers.c - conformd's API handlers (docs/internals.md "API"): status
 * built from the store, the supervisor and the fault registry; the report
 * as of now; stop; and fault injection. They run on the API thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conformd.h"
#include "eval/evaluate.h"
#include "evidence/outcome.h"
#include "report/report.h"
#include "base/util.h"

static void snapshot(struct daemon *d, struct run_config *cfg, enum daemon_state *state,
		     double *ended)
{
	pthread_mutex_lock(&d->mu);
	*cfg = d->cfg;
	*state = d->state;
	*ended = d->ended;
	pthread_mutex_unlock(&d->mu);
}

static int h_healthz(void *ctx, const struct api_request *req, struct api_response *resp)
{
	(void)ctx;
	(void)req;
	resp->content_type = "text/plain";
	return dynbuf_adds(&resp->body, "ok\n");
}

#define STATUS_RECENT 30   /* window verdicts per check in "recent" */
#define STATUS_EVENTS 20   /* latest events in "events" */

/*
 * One check's entry of the status object: counts from the report, plus what
 * a live view draws from the check's latest windows (the report keeps the
 * last STATUS_RECENT): their verdicts, the last window's rate and p99.
 */
static cJSON *status_check(const struct report_check *rc)
{
	const struct report_window *w = rc->windows;
	size_t nw = rc->nwindows, i;
	cJSON *c = cJSON_CreateObject(), *o;
	const char *state = "nodata", *reason = rc->last_reason, *verdict = "nodata";

	if (!c)
		return NULL;
	/* debounced (rise/fall): one failing window does not make it failing */
	state = evaluate_state_name(rc->state);
	/* windows without data alone say nothing yet */
	if (rc->win_pass + rc->win_fail + rc->win_inconclusive > 0)
		verdict = verdict_name(rc->verdict);
	if (rc->verdict == V_SKIP) {
		state = "skip";
		verdict = "skip";
		reason = rc->reason;
	}
	cJSON_AddStringToObject(c, "id", rc->desc->id);
	cJSON_AddStringToObject(c, "title", rc->desc->title ? rc->desc->title : "");
	cJSON_AddStringToObject(c, "promise", rc->desc->promise ? rc->desc->promise : "");
	cJSON_AddStringToObject(c, "state", state);
	cJSON_AddStringToObject(c, "verdict", verdict);
	o = cJSON_AddObjectToObject(c, "windows");
	cJSON_AddNumberToObject(o, "pass", (double)rc->win_pass);
	cJSON_AddNumberToObject(o, "fail", (double)rc->win_fail);
	cJSON_AddNumberToObject(o, "nodata", (double)rc->win_nodata);
	cJSON_AddNumberToObject(o, "inconclusive", (double)rc->win_inconclusive);
	o = cJSON_AddObjectToObject(c, "requests");
	cJSON_AddNumberToObject(o, "total", (double)rc->totals.total);
	cJSON_AddNumberToObject(o, "ok", (double)rc->totals.ok);
	cJSON_AddNumberToObject(o, "failed", (double)rc->totals.failed);
	cJSON_AddStringToObject(c, "last_reason", reason);
	if (rc->verdict == V_INCONCLUSIVE && rc->cause[0])
		cJSON_AddStringToObject(c, "cause", rc->cause);
	else
		cJSON_AddNullToObject(c, "cause");
	o = cJSON_AddArrayToObject(c, "recent");
	for (i = nw > STATUS_RECENT ? nw - STATUS_RECENT : 0; o && i < nw; i++) {
		enum verdict v = w[i].verdict;

		cJSON_AddItemToArray(o, cJSON_CreateString(v == V_PASS ? "pass" :
							   v == V_FAIL ? "fail" :
							   v == V_INCONCLUSIVE ? "inconclusive" :
							   "nodata"));
	}
	if (nw > 0) {
		const struct report_window *last = &w[nw - 1];
		int64_t span = last->end_s - last->start_s;

		cJSON_AddNumberToObject(c, "rate", span > 0 ? (double)last->total / span : 0);
		cJSON_AddNumberToObject(c, "p99_ms", last->p99_ms);
	} else {
		cJSON_AddNumberToObject(c, "rate", 0);
		cJSON_AddNumberToObject(c, "p99_ms", 0);
	}
	cJSON_AddNumberToObject(c, "incidents", (double)rc->nincidents);
	if (rc->nincidents) {
		const struct report_range *x = &rc->incidents[rc->nincidents - 1];
		cJSON *a;

		o = cJSON_AddObjectToObject(c, "last_incident");
		cJSON_AddNumberToObject(o, "start", (double)x->start_s);
		cJSON_AddNumberToObject(o, "end", (double)x->end_s);
		cJSON_AddBoolToObject(o, "open", x->open);
		cJSON_AddStringToObject(o, "reason", x->reason);
		a = cJSON_AddArrayToObject(o, "samples");
		for (i = 0; a && i < x->nsamples; i++) {
			const struct store_sample *sm = &x->samples[i];
			cJSON *e = cJSON_CreateObject();

			if (!e)
				break;
			cJSON_AddStringToObject(e, "request_id", sm->request_id);
			cJSON_AddStringToObject(e, "outcome", outcome_info(sm->outcome)->name);
			cJSON_AddNumberToObject(e, "code", sm->code);
			cJSON_AddNumberToObject(e, "latency_ms", (double)sm->latency_us / 1000.0);
			cJSON_AddStringToObject(e, "identity", sm->identity);
			cJSON_AddStringToObject(e, "backend", sm->backend);
			cJSON_AddNumberToObject(e, "ts", (double)sm->ts_ms / 1000.0);
			cJSON_AddItemToArray(a, e);
		}
	} else {
		cJSON_AddNullToObject(c, "last_incident");
	}
	return c;
}

/*
 * The report's verdict, except that a check no window of which has been
 * evaluated yet does not count as failing while the run goes on: a run
 * seconds old is not "fail".
 */
static const char *verdict_so_far(const struct report *r, enum daemon_state state)
{
	size_t i;

	if (state == DS_FINISHED)
		return r->verdict == V_PASS ? "pass" : "fail";
	for (i = 0; i < r->nchecks; i++) {
		const struct report_check *c = &r->checks[i];

		if (c->verdict == V_FAIL && c->win_pass + c->win_fail + c->win_nodata > 0)
			return "fail";
	}
	return "pass";
}

static int h_status(void *ctx, const struct api_request *req, struct api_response *resp)
{
	struct daemon *d = ctx;
	struct run_config cfg;
	enum daemon_state state;
	double ended, now = wall_s(), elapsed = 0;
	struct report *r = NULL;
	struct collector_stats cs;
	struct workload_status ws[PLATFORM_MAX_WORKLOADS];
	struct fault fl[FAULTS_MAX];
	size_t n, i;
	cJSON *root, *o, *arr;
	int rc = -1;

	(void)req;
	snapshot(d, &cfg, &state, &ended);
	if (cfg.started > 0)
		elapsed = (ended > 0 ? ended : now) - cfg.started;
	root = cJSON_CreateObject();
	if (!root)
		return -1;
	o = cJSON_AddObjectToObject(root, "run");
	cJSON_AddStringToObject(o, "id", cfg.id);
	cJSON_AddStringToObject(o, "platform", cfg.platform);
	cJSON_AddStringToObject(o, "mesh", cfg.mesh);
	cJSON_AddNumberToObject(o, "started", cfg.started);
	cJSON_AddNumberToObject(o, "duration_s", (double)cfg.duration_ms / 1000.0);
	cJSON_AddNumberToObject(o, "elapsed_s", elapsed > 0 ? elapsed : 0);
	cJSON_AddNumberToObject(o, "window_s", (double)cfg.window_ms / 1000.0);
	cJSON_AddStringToObject(root, "state", daemon_state_name(state));

	if (report_build_recent(d->store, &cfg, STATUS_RECENT, &r) < 0) {
		api_reply_error(resp, 500, "cannot read the store: %s", store_errmsg(d->store));
		rc = 0;
		goto out;
	}
	cJSON_AddStringToObject(root, "verdict_so_far", verdict_so_far(r, state));
	memset(&cs, 0, sizeof(cs));
	if (d->coll)
		collector_get_stats(d->coll, &cs);
	o = cJSON_AddObjectToObject(root, "monitor");
	cJSON_AddNumberToObject(o, "batches", (double)cs.batches);
	cJSON_AddNumberToObject(o, "duplicates", (double)cs.duplicates);
	cJSON_AddNumberToObject(o, "rejected", (double)cs.rejected);
	{
		/* monitor health: the last store write failure, null while writes work */
		char se[sizeof(d->store_error)];

		pthread_mutex_lock(&d->mu);
		str_copy(se, sizeof(se), d->store_error);
		pthread_mutex_unlock(&d->mu);
		if (se[0])
			cJSON_AddStringToObject(o, "store_error", se);
		else
			cJSON_AddNullToObject(o, "store_error");
	}

	arr = cJSON_AddArrayToObject(root, "checks");
	for (i = 0; i < r->nchecks; i++)
		cJSON_AddItemToArray(arr, status_check(&r->checks[i]));

	arr = cJSON_AddArrayToObject(root, "workloads");
	n = d->plat ? d->pops->list(d->plat, ws, ARRAY_SIZE(ws)) : 0;
	for (i = 0; i < n; i++) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", ws[i].name);
		cJSON_AddStringToObject(o, "role", ws[i].role);
		/* a process id only where instances are local processes */
		if (d->pops->caps & PLATFORM_CAP_PROCESSES)
			cJSON_AddNumberToObject(o, "pid", (double)ws[i].instance);
		cJSON_AddStringToObject(o, "state", workload_state_name(ws[i].state));
		cJSON_AddNumberToObject(o, "restarts", ws[i].restarts);
		cJSON_AddItemToArray(arr, o);
	}

	arr = cJSON_AddArrayToObject(root, "faults");
	n = d->faults ? faults_list(d->faults, fl, ARRAY_SIZE(fl)) : 0;
	for (i = 0; i < n; i++) {
		o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "id", (double)fl[i].id);
		cJSON_AddStringToObject(o, "kind", fault_kind_name(fl[i].req.kind));
		cJSON_AddStringToObject(o, "target", fl[i].req.target);
		cJSON_AddNumberToObject(o, "until", fl[i].until);
		cJSON_AddItemToArray(arr, o);
	}

	/* the report read every event already; the latest few are enough here */
	arr = cJSON_AddArrayToObject(root, "events");
	for (i = r->nevents > STATUS_EVENTS ? r->nevents - STATUS_EVENTS : 0;
	     arr && i < r->nevents; i++) {
		const struct store_event *e = &r->events[i];

		o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "ts", e->ts);
		cJSON_AddStringToObject(o, "kind", e->kind);
		cJSON_AddStringToObject(o, "subject", e->subject);
		cJSON_AddStringToObject(o, "detail", e->detail);
		cJSON_AddItemToArray(arr, o);
	}
	rc = api_reply_json(resp, 200, root);
out:
	report_free(r);
	cJSON_Delete(root);
	return rc;
}

static int h_report(void *ctx, const struct api_request *req, struct api_response *resp)
{
	struct daemon *d = ctx;
	const char *format = api_query(req, "format");
	const struct report_format *fmt;
	struct run_config cfg;
	enum daemon_state state;
	double ended;
	struct report *r = NULL;
	int rc;

	if (!format || !*format)
		format = "json";
	if (!(fmt = report_format_find(format))) {
		char names[128];

		report_format_names(names, sizeof(names), ", ", " or ");
		return api_reply_error(resp, 400, "format: unknown report format \"%.32s\" "
				       "(%s)", format, names);
	}
	snapshot(d, &cfg, &state, &ended);
	if (report_build(d->store, &cfg, &r) < 0)
		return api_reply_error(resp, 500, "cannot build the report: %s",
				       store_errmsg(d->store));
	rc = fmt->render(r, &resp->body);
	report_free(r);
	if (rc < 0)
		return -1;
	resp->status = 200;
	resp->content_type = fmt->content_type;
	return 0;
}

static int h_stop(void *ctx, const struct api_request *req, struct api_response *resp)
{
	struct daemon *d = ctx;

	(void)req;
	log_kv(LOG_INFO, "stop requested", "via=api");
	daemon_request_stop(d);
	resp->status = 202;
	return dynbuf_adds(&resp->body, "{\"state\":\"stopping\"}\n");
}

static int h_faults(void *ctx, const struct api_request *req, struct api_response *resp)
{
	struct daemon *d = ctx;
	struct fault_req fr;
	struct fault ft;
	struct run_config cfg;
	enum daemon_state state;
	double ended;
	char err[256];
	cJSON *o;
	int rc;

	if (fault_parse(req->json, &fr, err, sizeof(err)) < 0)
		return api_reply_error(resp, 400, "%s", err);
	snapshot(d, &cfg, &state, &ended);
	if (state != DS_RUNNING)
		return api_reply_error(resp, 409, "run is %s: faults need a running run",
				       daemon_state_name(state));
	rc = faults_apply(d->faults, &fr, wall_s(), &ft, err, sizeof(err));
	switch (rc) {
	case 0:
		break;
	case -ENOENT:
	case -EINVAL:
		return api_reply_error(resp, 400, "%s", err);
	case -EAGAIN:
	case -ENOSPC:
		return api_reply_error(resp, 409, "%s", err);
	default:
		return api_reply_error(resp, 502, "%s", err);
	}
	o = cJSON_CreateObject();
	if (!o)
		return -1;
	cJSON_AddNumberToObject(o, "id", (double)ft.id);
	cJSON_AddStringToObject(o, "kind", fault_kind_name(ft.req.kind));
	cJSON_AddStringToObject(o, "target", ft.req.target);
	if (ft.req.kind == FAULT_SERVER_ERRORS) {
		cJSON_AddNumberToObject(o, "rate", ft.req.rate);
		cJSON_AddNumberToObject(o, "code", ft.req.code);
	} else if (ft.req.kind == FAULT_SERVER_LATENCY) {
		cJSON_AddNumberToObject(o, "ms", (double)ft.req.ms);
	}
	cJSON_AddNumberToObject(o, "started", ft.started);
	cJSON_AddNumberToObject(o, "until", ft.until);
	rc = api_reply_json(resp, 201, o);
	cJSON_Delete(o);
	return rc;
}

const struct api_route daemon_routes[] = {
	{ "GET", "/healthz", 0, h_healthz },
	{ "GET", "/v1/status", 0, h_status },
	{ "GET", "/v1/report", 0, h_report },
	{ "GET", "/metrics", 0, daemon_h_metrics },
	{ "POST", "/v1/stop", 0, h_stop },
	{ "POST", "/v1/faults", API_JSON_BODY, h_faults },
};
const size_t daemon_nroutes = ARRAY_SIZE(daemon_routes);
