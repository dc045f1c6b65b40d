/*
 * faults.c - the fault registry behind POST /v1/faults. Server faults are
 * pushed to the target's admin endpoint as one combined setting per target
 * (the workload holds only one), kills go through the platform, mesh faults
 * through the mesh adapter; expiry and re-applying after a restart happen on
 * the main loop's tick (the adapter re-applies its own state). The active
 * faults are also kept in a small state file so a conformd resumed after a
 * crash can revert or take over what the one before left in force.
 */
#include "faults/faults.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks/check.h"
#include "base/util.h"

#define ADMIN_TIMEOUT_MS 2000
#define CLEAR_RETRY_S 5.0        /* a setting we could not clear: try again this often */
#define STATE_MAX_BYTES (64u * 1024)
#define STATE_VERSION 1

struct target_state {
	char name[64];
	uint64_t pushed_instance; /* instance that holds our last setting */
	int dirty;          /* our last push failed: it may hold a stale setting */
	double retry_at;    /* dirty: next attempt (unix s) */
};

struct faults {
	pthread_mutex_t mu;
	const struct platform_ops *pops;
	struct platform *plat;
	struct store *store;
	char token[128];
	int64_t next_id;
	struct fault active[FAULTS_MAX];
	size_t n;
	struct target_state targets[PLATFORM_MAX_WORKLOADS];
	size_t ntargets;
	const struct mesh_ops *mops;
	struct mesh *mesh;
	char state_path[PATH_MAX];   /* "" = not kept */
};


static int valid_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' ||
		      *s == '_' || *s == '.'))
			return 0;
	return 1;
}

/* A number field: absent/null = leave *out; else must be a number. */
static int get_number(const cJSON *obj, const char *key, double *out, char *err, size_t errlen)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!it || cJSON_IsNull(it))
		return 0;
	if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble)) {
		str_fmt(err, errlen, "%s: expected a number", key);
		return -1;
	}
	*out = it->valuedouble;
	return 1;
}

int fault_parse(const cJSON *obj, struct fault_req *out, char *err, size_t errlen)
{
	static const char *const known[] = { "kind", "target", "rate", "code", "ms", "for_s" };
	const cJSON *kind, *target, *it;
	const struct fault_kind_info *fi;
	char kinds[256];
	double rate = 1.0, code = 0, ms = 0, for_s = 0;
	size_t i;
	int have_rate, have_ms;

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(obj)) {
		str_fmt(err, errlen, "body: expected a JSON object");
		return -1;
	}
	cJSON_ArrayForEach(it, obj) {
		int ok = 0;

		for (i = 0; i < ARRAY_SIZE(known); i++)
			if (it->string && !strcmp(it->string, known[i]))
				ok = 1;
		if (!ok) {
			str_fmt(err, errlen, "%.64s: unknown field (expected kind, target, rate, "
				"code, ms, for_s)", it->string ? it->string : "?");
			return -1;
		}
	}
	fault_kind_names(kinds, sizeof(kinds), ", ");
	kind = cJSON_GetObjectItemCaseSensitive(obj, "kind");
	if (!kind || cJSON_IsNull(kind)) {
		str_fmt(err, errlen, "kind: missing (%s)", kinds);
		return -1;
	}
	if (!cJSON_IsString(kind)) {
		str_fmt(err, errlen, "kind: expected a string");
		return -1;
	}
	if (!(fi = fault_kind_find(kind->valuestring))) {
		str_fmt(err, errlen, "kind: unknown fault kind \"%.32s\" (%s)",
			kind->valuestring, kinds);
		return -1;
	}
	out->kind = fi->kind;

	target = cJSON_GetObjectItemCaseSensitive(obj, "target");
	if (!target || cJSON_IsNull(target) ||
	    (cJSON_IsString(target) && !target->valuestring[0])) {
		str_fmt(err, errlen, "target: missing (the workload name, e.g. http-server)");
		return -1;
	}
	if (!cJSON_IsString(target)) {
		str_fmt(err, errlen, "target: expected a string");
		return -1;
	}
	if (str_copy(out->target, sizeof(out->target), target->valuestring) < 0 ||
	    !valid_name(out->target)) {
		str_fmt(err, errlen, "target: not a workload name");
		return -1;
	}

	if ((have_rate = get_number(obj, "rate", &rate, err, errlen)) < 0 ||
	    get_number(obj, "code", &code, err, errlen) < 0 ||
	    (have_ms = get_number(obj, "ms", &ms, err, errlen)) < 0 ||
	    get_number(obj, "for_s", &for_s, err, errlen) < 0)
		return -1;
	if (out->kind == FAULT_SERVER_ERRORS && (rate < 0 || rate > 1)) {
		str_fmt(err, errlen, "rate: must be between 0 and 1, got %g", rate);
		return -1;
	}
	if (code != floor(code) || code < 0 || code > 599) {
		str_fmt(err, errlen, "code: must be an HTTP status (100-599) or a gRPC status "
			"(1-16), got %g", code);
		return -1;
	}
	if (out->kind == FAULT_SERVER_LATENCY) {
		if (!have_ms || ms != floor(ms) || ms <= 0 || ms > FAULT_MAX_MS) {
			str_fmt(err, errlen, "ms: server-latency needs a delay in ms (1-%d)",
				FAULT_MAX_MS);
			return -1;
		}
	} else if (ms < 0 || ms > FAULT_MAX_MS) {
		str_fmt(err, errlen, "ms: must be between 0 and %d", FAULT_MAX_MS);
		return -1;
	}
	if (for_s < 0 || for_s > FAULT_MAX_FOR_S) {
		str_fmt(err, errlen, "for_s: must be between 0 (until the run ends) and %g",
			FAULT_MAX_FOR_S);
		return -1;
	}
	(void)have_rate;
	out->rate = out->kind == FAULT_SERVER_ERRORS ? rate : 0;
	out->code = out->kind == FAULT_SERVER_ERRORS ? (int)code : 0;
	out->ms = out->kind == FAULT_SERVER_LATENCY ? (int64_t)ms : 0;
	out->for_s = for_s;
	return 0;
}

int fault_parse_text(const char *text, size_t len, struct fault_req *out, char *err,
		     size_t errlen)
{
	cJSON *j = cJSON_ParseWithLength(text, len);
	int rc;

	if (!j) {
		str_fmt(err, errlen, "body: malformed JSON");
		return -1;
	}
	rc = fault_parse(j, out, err, errlen);
	cJSON_Delete(j);
	return rc;
}

struct faults *faults_new(const struct platform_ops *pops, struct platform *plat,
			  struct store *store, const char *token)
{
	struct faults *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	pthread_mutex_init(&f->mu, NULL);
	f->pops = pops;
	f->plat = plat;
	f->store = store;
	f->next_id = 1;
	str_copy(f->token, sizeof(f->token), token ? token : "");
	return f;
}

void faults_set_mesh(struct faults *f, const struct mesh_ops *mops, struct mesh *mesh)
{
	pthread_mutex_lock(&f->mu);
	f->mops = mops;
	f->mesh = mesh;
	pthread_mutex_unlock(&f->mu);
}

void faults_free(struct faults *f)
{
	if (!f)
		return;
	pthread_mutex_destroy(&f->mu);
	free(f);
}

static void faults_event(struct faults *f, double now, const char *kind, const char *subject,
			 const char *detail)
{
	char q[600];

	log_kv(LOG_INFO, kind, "target=%s detail=%s", subject, log_quote(detail, q, sizeof(q)));
	if (f->store && store_put_event(f->store, now, kind, subject, detail) < 0)
		log_kv(LOG_WARN, "cannot record event", "kind=%s", kind);
}

static void fault_describe(const struct fault *ft, char *buf, size_t len)
{
	char d[32];
	const char *dur = ft->req.for_s > 0
		? dur_format((int64_t)(ft->req.for_s * 1000), d, sizeof(d)) : "the rest of the run";

	switch (ft->req.kind) {
	case FAULT_SERVER_ERRORS:
		str_fmt(buf, len, "id %lld: server-errors rate %g code %d for %s",
			(long long)ft->id, ft->req.rate, ft->req.code, dur);
		break;
	case FAULT_SERVER_LATENCY:
		str_fmt(buf, len, "id %lld: server-latency %lld ms for %s", (long long)ft->id,
			(long long)ft->req.ms, dur);
		break;
	case FAULT_KILL:
		str_fmt(buf, len, "id %lld: kill (SIGKILL)", (long long)ft->id);
		break;
	case FAULT_SIDECAR_KILL:
		str_fmt(buf, len, "id %lld: sidecar-kill (SIGKILL)", (long long)ft->id);
		break;
	default:
		str_fmt(buf, len, "id %lld: %s for %s", (long long)ft->id,
			fault_kind_name(ft->req.kind), dur);
		break;
	}
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

/* Rewrite the state file with the active faults. Lock held. A failure is
 * logged: the faults still work, only a resume would not know them. */
static void faults_persist(struct faults *f)
{
	cJSON *root, *arr;
	char *text = NULL;

	if (!f->state_path[0])
		return;
	root = cJSON_CreateObject();
	if (!root)
		goto out;
	cJSON_AddNumberToObject(root, "version", STATE_VERSION);
	cJSON_AddNumberToObject(root, "next_id", (double)f->next_id);
	arr = cJSON_AddArrayToObject(root, "faults");
	for (size_t i = 0; arr && i < f->n; i++) {
		const struct fault *ft = &f->active[i];
		cJSON *o = cJSON_CreateObject();

		if (!o || !cJSON_AddItemToArray(arr, o)) {
			cJSON_Delete(o);
			goto out;
		}
		cJSON_AddNumberToObject(o, "id", (double)ft->id);
		cJSON_AddStringToObject(o, "kind", fault_kind_name(ft->req.kind));
		cJSON_AddStringToObject(o, "target", ft->req.target);
		cJSON_AddNumberToObject(o, "rate", ft->req.rate);
		cJSON_AddNumberToObject(o, "code", ft->req.code);
		cJSON_AddNumberToObject(o, "ms", (double)ft->req.ms);
		cJSON_AddNumberToObject(o, "for_s", ft->req.for_s);
		cJSON_AddNumberToObject(o, "started", ft->started);
		cJSON_AddNumberToObject(o, "until", ft->until);
	}
	if (!arr)
		goto out;
	text = cJSON_PrintUnformatted(root);
out:
	if (!text || file_write_atomic(f->state_path, text, strlen(text), 0600) < 0)
		log_kv(LOG_ERROR, "cannot write the fault state", "path=%s err=\"%s\"",
		       f->state_path, text ? strerror(errno) : "out of memory");
	free(text);
	cJSON_Delete(root);
}

/* The bookkeeping slot of target (added when new), or NULL when full. Lock held. */
static struct target_state *faults_target(struct faults *f, const char *target)
{
	size_t i;

	for (i = 0; i < f->ntargets; i++)
		if (!strcmp(f->targets[i].name, target))
			return &f->targets[i];
	if (f->ntargets == ARRAY_SIZE(f->targets))
		return NULL;
	memset(&f->targets[i], 0, sizeof(f->targets[i]));
	str_copy(f->targets[i].name, sizeof(f->targets[i].name), target);
	f->ntargets++;
	return &f->targets[i];
}

/* POST the combined setting of target to its admin endpoint. Lock held. */
static int faults_push(struct faults *f, const char *target, char *err, size_t errlen)
{
	struct workload_addr addr;
	struct curl_slist *hdrs = NULL;
	struct target_state *ts;
	char url[128], body[160], hdr[160];
	double rate = 0;
	int64_t ms = 0;
	int code = 0, rc;
	long status = 0;
	size_t i;
	CURL *c;
	CURLcode cc;

	rc = f->pops->addresses(f->plat, target, &addr);
	if (rc < 0) {
		str_fmt(err, errlen, "target %s is not running or not ready", target);
		return -EAGAIN;
	}
	if (!addr.admin[0]) {
		str_fmt(err, errlen, "target %s has no admin endpoint", target);
		return -EINVAL;
	}
	for (i = 0; i < f->n; i++) {
		const struct fault_req *r = &f->active[i].req;

		if (strcmp(r->target, target))
			continue;
		if (r->kind == FAULT_SERVER_ERRORS) {
			if (r->rate >= rate)
				rate = r->rate;
			code = r->code; /* the newest wins */
		} else if (r->kind == FAULT_SERVER_LATENCY && r->ms > ms) {
			ms = r->ms;
		}
	}
	str_fmt(url, sizeof(url), "http://%s/admin/fault", addr.admin);
	str_fmt(body, sizeof(body), "{\"error_rate\":%.6g,\"error_code\":%d,\"latency_ms\":%lld}",
		rate, code, (long long)ms);
	str_fmt(hdr, sizeof(hdr), "x-conform-token: %s", f->token);
	c = curl_easy_init();
	if (!c) {
		str_fmt(err, errlen, "out of memory");
		return -ENOMEM;
	}
	hdrs = curl_slist_append(hdrs, hdr);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)ADMIN_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	cc = curl_easy_perform(c);
	if (cc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	if (cc != CURLE_OK) {
		str_fmt(err, errlen, "admin endpoint of %s (%s): %s", target, addr.admin,
			curl_easy_strerror(cc));
		return -EIO;
	}
	if (status < 200 || status > 299) {
		str_fmt(err, errlen, "admin endpoint of %s answered HTTP %ld", target, status);
		return -EIO;
	}
	ts = faults_target(f, target);
	if (ts) {
		ts->pushed_instance = addr.instance;
		ts->dirty = 0;
	}
	return 0;
}

/* Role of a workload, or NULL if unknown. */
static int faults_role(struct faults *f, const char *target, char *role, size_t len)
{
	struct workload_status st[PLATFORM_MAX_WORKLOADS];
	size_t n = f->pops->list(f->plat, st, ARRAY_SIZE(st)), i;

	for (i = 0; i < n; i++)
		if (!strcmp(st[i].name, target))
			return str_copy(role, len, st[i].role);
	return -1;
}

static void mesh_fault_of(const struct fault_req *req, struct mesh_fault *mf)
{
	memset(mf, 0, sizeof(*mf));
	mf->kind = req->kind;
	str_copy(mf->target, sizeof(mf->target), req->target);
}

/* A mesh fault: through the adapter, kept active until it is reverted. */
static int faults_apply_mesh(struct faults *f, const struct fault_req *req, double now,
			     struct fault *out, char *err, size_t errlen)
{
	struct mesh_fault mf;
	struct fault ft;
	char detail[256];
	int rc;

	memset(&ft, 0, sizeof(ft));
	ft.req = *req;
	ft.started = now;
	ft.until = req->for_s > 0 ? now + req->for_s : 0;
	mesh_fault_of(req, &mf);
	pthread_mutex_lock(&f->mu);
	if (!f->mops || !f->mesh || !(f->mops->caps & MESH_CAP_PROXIES)) {
		str_fmt(err, errlen, "kind: %s needs a mesh (this run has none)",
			fault_kind_name(req->kind));
		rc = -EINVAL;
		goto out;
	}
	if (!mesh_can_fault(f->mops, req->kind)) {
		str_fmt(err, errlen, "kind: the %s mesh cannot do %s", f->mops->name,
			fault_kind_name(req->kind));
		rc = -EINVAL;
		goto out;
	}
	if (req->kind != FAULT_SIDECAR_KILL && f->n >= FAULTS_MAX) {
		str_fmt(err, errlen, "too many active faults (max %d)", FAULTS_MAX);
		rc = -ENOSPC;
		goto out;
	}
	ft.id = f->next_id;
	if (req->kind != FAULT_SIDECAR_KILL) {
		/* on record before it is in force: a crash in between leaves a
		 * fault a resume reverts, never one nobody knows about */
		f->active[f->n++] = ft;
		faults_persist(f);
	}
	rc = f->mops->inject_fault(f->mesh, &mf, err, errlen);
	if (rc < 0) {
		if (req->kind != FAULT_SIDECAR_KILL) {
			f->n--;
			faults_persist(f);
		}
		if (rc == -ENOTSUP)
			rc = -EINVAL;
		goto out;
	}
	f->next_id++;
	fault_describe(&ft, detail, sizeof(detail));
	faults_event(f, now, "fault.start", req->target, detail);
	if (req->kind == FAULT_SIDECAR_KILL) {
		ft.until = now;
		str_fmt(detail, sizeof(detail), "id %lld: sidecar kill delivered", (long long)ft.id);
		faults_event(f, now, "fault.end", req->target, detail);
	}
	if (out)
		*out = ft;
	rc = 0;
out:
	pthread_mutex_unlock(&f->mu);
	return rc;
}

int faults_apply(struct faults *f, const struct fault_req *req, double now, struct fault *out,
		 char *err, size_t errlen)
{
	struct fault ft;
	char role[32], detail[256];
	int is_grpc, rc;

	if (fault_kind_is_mesh(req->kind))
		return faults_apply_mesh(f, req, now, out, err, errlen);
	if (faults_role(f, req->target, role, sizeof(role)) < 0) {
		str_fmt(err, errlen, "target: no workload named %s in this run", req->target);
		return -ENOENT;
	}
	is_grpc = !strcmp(role, "grpc-server");
	memset(&ft, 0, sizeof(ft));
	ft.req = *req;
	ft.started = now;
	ft.until = req->for_s > 0 ? now + req->for_s : 0;
	if (req->kind != FAULT_KILL && strcmp(role, "http-server") && !is_grpc) {
		str_fmt(err, errlen, "target: %s is a %s; %s needs a server", req->target, role,
			fault_kind_name(req->kind));
		return -EINVAL;
	}
	if (req->kind == FAULT_SERVER_ERRORS) {
		if (!ft.req.code)
			ft.req.code = is_grpc ? 14 : 503;
		if (is_grpc && (ft.req.code < 1 || ft.req.code > 16)) {
			str_fmt(err, errlen, "code: %s speaks gRPC, status must be 1-16", req->target);
			return -EINVAL;
		}
		if (!is_grpc && ft.req.code < 100) {
			str_fmt(err, errlen, "code: %s speaks HTTP, status must be 100-599",
				req->target);
			return -EINVAL;
		}
	}

	pthread_mutex_lock(&f->mu);
	ft.id = f->next_id;
	if (req->kind == FAULT_KILL) {
		rc = f->pops->kill(f->plat, req->target, SIGKILL);
		if (rc < 0) {
			str_fmt(err, errlen, "target: %s is not running", req->target);
			rc = rc == -ENOENT ? -ENOENT : -EAGAIN;
			goto out;
		}
		f->next_id++;
		ft.until = now;
		fault_describe(&ft, detail, sizeof(detail));
		faults_event(f, now, "fault.start", req->target, detail);
		str_fmt(detail, sizeof(detail), "id %lld: kill delivered", (long long)ft.id);
		faults_event(f, now, "fault.end", req->target, detail);
		goto done;
	}
	if (f->n >= FAULTS_MAX) {
		str_fmt(err, errlen, "too many active faults (max %d)", FAULTS_MAX);
		rc = -ENOSPC;
		goto out;
	}
	f->active[f->n++] = ft;
	faults_persist(f);   /* before it is in force, as for mesh faults */
	rc = faults_push(f, req->target, err, errlen);
	if (rc < 0) {
		f->n--;
		faults_persist(f);
		goto out;
	}
	f->next_id++;
	fault_describe(&ft, detail, sizeof(detail));
	faults_event(f, now, "fault.start", req->target, detail);
done:
	if (out)
		*out = ft;
	rc = 0;
out:
	pthread_mutex_unlock(&f->mu);
	return rc;
}

/* Remove active[i] and push the target's new setting. Lock held. */
static void faults_end_one(struct faults *f, size_t i, double now, const char *why)
{
	char target[64], detail[256], err[256], q[300];

	struct fault_req req = f->active[i].req;
	int still = 0;

	str_copy(target, sizeof(target), f->active[i].req.target);
	str_fmt(detail, sizeof(detail), "id %lld: %s", (long long)f->active[i].id, why);
	memmove(&f->active[i], &f->active[i + 1], (f->n - i - 1) * sizeof(f->active[0]));
	f->n--;
	if (fault_kind_is_mesh(req.kind)) {
		struct mesh_fault mf;

		/* another active fault of the same kind on the target keeps it on */
		for (size_t k = 0; k < f->n; k++)
			still |= f->active[k].req.kind == req.kind &&
				 !strcmp(f->active[k].req.target, target);
		mesh_fault_of(&req, &mf);
		if (!still && f->mops && f->mops->revert_fault(f->mesh, &mf, err, sizeof(err)) < 0)
			log_kv(LOG_WARN, "cannot revert mesh fault", "target=%s kind=%s err=%s",
			       target, fault_kind_name(mf.kind), log_quote(err, q, sizeof(q)));
	} else if (faults_push(f, target, err, sizeof(err)) < 0) {
		struct target_state *ts = faults_target(f, target);

		/* faults_expire tries again: a stale setting must not stay forever */
		if (ts) {
			ts->dirty = 1;
			ts->retry_at = now + CLEAR_RETRY_S;
		}
		log_kv(LOG_WARN, "cannot clear fault", "target=%s err=%s", target,
		       log_quote(err, q, sizeof(q)));
	}
	faults_persist(f);
	faults_event(f, now, "fault.end", target, detail);
}

int faults_expire(struct faults *f, double now)
{
	int ended = 0;
	size_t i;

	pthread_mutex_lock(&f->mu);
	for (i = 0; i < f->n;) {
		if (f->active[i].until > 0 && f->active[i].until <= now) {
			faults_end_one(f, i, now, "expired");
			ended++;
		} else {
			i++;
		}
	}
	/* a restarted server forgot its setting: give it back */
	for (i = 0; i < f->ntargets; i++) {
		struct workload_addr addr;
		size_t k;
		int has = 0;

		for (k = 0; k < f->n; k++)
			if (!strcmp(f->active[k].req.target, f->targets[i].name))
				has = 1;
		if (!has && !f->targets[i].dirty)
			continue;
		if (f->targets[i].dirty && now < f->targets[i].retry_at)
			continue;
		if (f->pops->addresses(f->plat, f->targets[i].name, &addr) == 0 &&
		    (addr.instance != f->targets[i].pushed_instance || f->targets[i].dirty)) {
			char err[256], q[300];

			if (faults_push(f, f->targets[i].name, err, sizeof(err)) == 0)
				log_kv(LOG_INFO, has ? "fault re-applied after restart" : "fault cleared",
				       "target=%s instance=%llu", f->targets[i].name, (unsigned long long)addr.instance);
			else {
				/* once per instance (a stale setting: every few s), not
				 * every tick: do not stall the loop on it */
				f->targets[i].pushed_instance = addr.instance;
				f->targets[i].retry_at = now + CLEAR_RETRY_S;
				log_kv(LOG_WARN, has ? "cannot re-apply fault" : "cannot clear fault",
				       "target=%s err=%s", f->targets[i].name,
				       log_quote(err, q, sizeof(q)));
			}
		}
	}
	pthread_mutex_unlock(&f->mu);
	return ended;
}

void faults_end_all(struct faults *f, double now)
{
	pthread_mutex_lock(&f->mu);
	while (f->n)
		faults_end_one(f, f->n - 1, now, "ended with the run");
	pthread_mutex_unlock(&f->mu);
}

size_t faults_list(struct faults *f, struct fault *out, size_t max)
{
	size_t i;

	pthread_mutex_lock(&f->mu);
	for (i = 0; i < f->n && i < max; i++)
		out[i] = f->active[i];
	pthread_mutex_unlock(&f->mu);
	return i;
}

int faults_set_state_file(struct faults *f, const char *path)
{
	int rc;

	pthread_mutex_lock(&f->mu);
	rc = str_copy(f->state_path, sizeof(f->state_path), path) < 0 ? -ENAMETOOLONG : 0;
	if (rc)
		f->state_path[0] = '\0';
	pthread_mutex_unlock(&f->mu);
	return rc;
}

/* A number of the state file in [min, max], or -1. */
static int state_number(const cJSON *o, const char *key, double min, double max, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < min ||
	    v->valuedouble > max)
		return -1;
	*out = v->valuedouble;
	return 0;
}

/* One fault of the state file: the request part goes through fault_parse
 * like any API body; kills are one-shot and never kept. 0 or -1. */
static int state_fault(const cJSON *o, struct fault *out, char *err, size_t errlen)
{
	cJSON *req = cJSON_Duplicate(o, 1);
	double id, started, until;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!req || !cJSON_IsObject(o) ||
	    state_number(o, "id", 1, 9007199254740991.0, &id) < 0 || id != floor(id) ||
	    state_number(o, "started", 0, 1e11, &started) < 0 ||
	    state_number(o, "until", 0, 1e11, &until) < 0) {
		str_fmt(err, errlen, "id, started or until missing or out of range");
		goto out;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(req, "id");
	cJSON_DeleteItemFromObjectCaseSensitive(req, "started");
	cJSON_DeleteItemFromObjectCaseSensitive(req, "until");
	if (fault_parse(req, &out->req, err, errlen) < 0)
		goto out;
	if (out->req.kind == FAULT_KILL || out->req.kind == FAULT_SIDECAR_KILL) {
		str_fmt(err, errlen, "kind: a %s is never kept active",
			fault_kind_name(out->req.kind));
		goto out;
	}
	out->id = (int64_t)id;
	out->started = started;
	out->until = until;
	rc = 0;
out:
	cJSON_Delete(req);
	return rc;
}

int faults_resume(struct faults *f, double now)
{
	const cJSON *arr, *it;
	cJSON *root = NULL;
	char *text = NULL, err[256], q[300], why[200];
	double next_id = 0, version;
	int64_t max_id = 0;
	size_t len = 0, i;
	int reverted = 0, rc = 0;

	pthread_mutex_lock(&f->mu);
	if (!f->state_path[0])
		goto out;
	text = file_read(f->state_path, STATE_MAX_BYTES, &len);
	if (!text) {
		if (errno != ENOENT) {
			log_kv(LOG_ERROR, "cannot read the fault state", "path=%s err=\"%s\"",
			       f->state_path, strerror(errno));
			rc = -EIO;
		}
		goto out;   /* ENOENT: no fault was ever kept */
	}
	root = cJSON_ParseWithLength(text, len);
	arr = cJSON_GetObjectItemCaseSensitive(root, "faults");
	if (!cJSON_IsObject(root) || !cJSON_IsArray(arr) ||
	    state_number(root, "version", STATE_VERSION, STATE_VERSION, &version) < 0 ||
	    state_number(root, "next_id", 1, 9007199254740991.0, &next_id) < 0) {
		log_kv(LOG_ERROR, "malformed fault state: faults of the last monitor are lost",
		       "path=%s", f->state_path);
		rc = -EINVAL;
		goto out;
	}
	cJSON_ArrayForEach(it, arr) {
		struct fault ft;

		if (state_fault(it, &ft, err, sizeof(err)) < 0) {
			log_kv(LOG_WARN, "fault state entry ignored", "path=%s err=%s", f->state_path,
			       log_quote(err, q, sizeof(q)));
			continue;
		}
		if (f->n >= FAULTS_MAX) {
			log_kv(LOG_WARN, "fault state entry ignored", "id=%lld err=\"too many\"",
			       (long long)ft.id);
			continue;
		}
		f->active[f->n++] = ft;
		if (ft.id > max_id)
			max_id = ft.id;
	}
	if ((int64_t)next_id > f->next_id)
		f->next_id = (int64_t)next_id;
	if (max_id >= f->next_id)
		f->next_id = max_id + 1;
	/* all are on record first: reverting one must not switch off another's kind */
	for (i = 0; i < f->n;) {
		struct fault *ft = &f->active[i];

		if (ft->until > 0 && ft->until <= now) {
			str_fmt(why, sizeof(why), "%s due %.1f s ago while the monitor was down; "
				"reverted after monitor restart", fault_kind_name(ft->req.kind),
				now - ft->until);
			faults_end_one(f, i, now, why);
			reverted++;
			continue;
		}
		/* taken over: a workload gets its setting again on the next expire
		 * (pushed_instance 0), the mesh holds its own switches (mesh/state.json) */
		if (!fault_kind_is_mesh(ft->req.kind)) {
			struct target_state *ts = faults_target(f, ft->req.target);

			if (ts)
				ts->pushed_instance = 0;
		}
		log_kv(LOG_INFO, "fault taken over", "id=%lld kind=%s target=%s ends_in_s=%.1f",
		       (long long)ft->id, fault_kind_name(ft->req.kind), ft->req.target,
		       ft->until > 0 ? ft->until - now : -1.0);
		i++;
	}
	faults_persist(f);
	rc = reverted;
out:
	pthread_mutex_unlock(&f->mu);
	cJSON_Delete(root);
	free(text);
	return rc;
}
