/*
 * platform.c - the `kubernetes` platform: conformd runs in the cluster and
 * its workloads are Deployments in the run's namespace, applied with
 * server-side apply (field manager conform) from the objects of objects.c.
 * A pod watch of its own (list-then-watch, resumed after a dropped
 * connection, re-listed after 410) turns what the kubelet and the
 * controllers do into the events the local supervisor records: container
 * restarts (restartCount), pods replaced, deleted or evicted. Kubernetes
 * restarts workloads itself (the kubelet's CrashLoopBackOff, the
 * Deployment's new pod), so there is no backoff here. Every API call and
 * the RBAC rule it needs are listed in docs/kubernetes.md.
 */
#include "platform/platform.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/util.h"
#include "checks/check.h"
#include "platform/kubernetes/kubeapi.h"
#include "platform/kubernetes/objects.h"

#define KPODS_MAX 64              /* pods held: a few per workload during a rollout */
#define KEVENTS_MAX 256           /* events between two polls */
#define WATCH_MAX_MS (3600 * 1000L)
#define WATCH_RETRY_MS 1000
#define STOP_POLL_MS 100

struct kpod {
	int used;
	char uid[64];
	char name[254];
	int wl;                       /* index in p->wl; -1: no workload of ours (yet) */
	char app[64];                 /* labels app and version: which workload */
	char version[16];
	long restarts;                /* restartCount summed over the containers */
	int ready;                    /* every container ready */
	int evicted;                  /* status.reason Evicted seen (reported once) */
	char ip[64];                  /* status.podIP */
	unsigned gen;                 /* the list generation it was last seen in */
	uint64_t seq;                 /* order of appearance: the newest is current */
};

struct kwl {
	struct workload_spec spec;
	enum workload_state state;
	unsigned restarts;            /* container restarts + pods replaced */
	int had_pod;                  /* a pod of it was seen: the next new one replaces it */
	int stopping;                 /* stop() deleted it: its exits are expected */
	const char *expected;         /* why we deleted its pod ("kill fault"), or NULL */
	char expected_uid[64];        /* ... that pod */
};

struct kev {
	char kind[32];
	char subject[64];
	char detail[512];
	int exit;
};

struct platform {
	pthread_mutex_t mu;
	struct kube_config cfg;
	struct kube_client *k;        /* calls of the slots (under mu: one at a time) */
	struct kube_client *kw;       /* the watch thread's own */
	struct kube_run run;
	struct store *store;
	char pods_path[512];
	char selector[256];
	struct kwl wl[PLATFORM_MAX_WORKLOADS];
	size_t n;
	struct kpod pods[KPODS_MAX];
	uint64_t seq;
	unsigned gen;                 /* bumped at every list (SYNC) */
	struct kev ev[KEVENTS_MAX];
	size_t nev;
	unsigned dropped;             /* events lost because poll was late */
	char watch_err[512];          /* the last error of the watch, "" when fine */
	pthread_t th;
	int th_running;
	atomic_int stop;
	pthread_mutex_t kmu;          /* serializes calls on k */
};

/* ---- events (queued by the watch, recorded by poll) ---- */

static void kube_event(struct platform *p, const char *kind, const char *subject, int is_exit,
		       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Queue an event (mu held). */
static void kube_event(struct platform *p, const char *kind, const char *subject, int is_exit,
		       const char *fmt, ...)
{
	struct kev *e;
	va_list ap;

	if (p->nev == KEVENTS_MAX) {
		p->dropped++;
		return;
	}
	e = &p->ev[p->nev++];
	str_copy(e->kind, sizeof(e->kind), kind);
	str_copy(e->subject, sizeof(e->subject), subject);
	va_start(ap, fmt);
	vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
	va_end(ap);
	e->exit = is_exit;
	{
		char q[600];

		log_kv(is_exit ? LOG_WARN : LOG_INFO, kind, "name=%s detail=%s", subject,
		       log_quote(e->detail, q, sizeof(q)));
	}
}

static void kube_record(struct platform *p, const char *kind, const char *subject,
			const char *detail)
{
	if (p->store && store_put_event(p->store, wall_s(), kind, subject, detail) < 0)
		log_kv(LOG_WARN, "cannot record event", "kind=%s subject=%s", kind, subject);
}

/* ---- pods and workloads ---- */

static struct kwl *kube_find(struct platform *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (!strcmp(p->wl[i].spec.name, name))
			return &p->wl[i];
	return NULL;
}

static int kube_is_server(const struct workload_spec *s)
{
	return (s->role_bit & (ROLE_HTTP_SERVER | ROLE_GRPC_SERVER)) != 0;
}

/* Which workload a pod is, from the labels objects.c gives its template:
 * app (+ version for servers). -1 when none of ours. */
static int kube_pod_workload(struct platform *p, const char *app, const char *version)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		const struct workload_spec *s = &p->wl[i].spec;

		if (kube_is_server(s)) {
			if (!strcmp(app, s->role) && !strcmp(version, s->version))
				return (int)i;
		} else if (!strcmp(app, s->name)) {
			return (int)i;
		}
	}
	return -1;
}

static void kube_wl_state(struct platform *p, int wl);

/* A workload is new (start, adopt): the pods already watched that are its
 * own become its pods, as its first ones (no event). mu held. */
static void kube_rematch(struct platform *p)
{
	size_t i;

	for (i = 0; i < KPODS_MAX; i++) {
		struct kpod *d = &p->pods[i];

		if (!d->used || d->wl >= 0)
			continue;
		d->wl = kube_pod_workload(p, d->app, d->version);
		if (d->wl >= 0) {
			p->wl[d->wl].had_pod = 1;
			kube_wl_state(p, d->wl);
		}
	}
}

static struct kpod *kube_pod_find(struct platform *p, const char *uid)
{
	size_t i;

	for (i = 0; i < KPODS_MAX; i++)
		if (p->pods[i].used && !strcmp(p->pods[i].uid, uid))
			return &p->pods[i];
	return NULL;
}

/* The workload's current pod: the newest one present. */
static struct kpod *kube_current(struct platform *p, int wl)
{
	struct kpod *best = NULL;
	size_t i;

	for (i = 0; i < KPODS_MAX; i++)
		if (p->pods[i].used && p->pods[i].wl == wl && (!best || p->pods[i].seq > best->seq))
			best = &p->pods[i];
	return best;
}

/* An instance number from the pod's uid and its restart count: it changes
 * with every new pod and every container restart, never 0 (FNV-1a). */
static uint64_t kube_instance(const struct kpod *d)
{
	uint64_t h = 1469598103934665603ULL;
	const char *c;

	for (c = d->uid; *c; c++)
		h = (h ^ (unsigned char)*c) * 1099511628211ULL;
	h += (uint64_t)d->restarts;
	return h ? h : 1;
}

static void kube_wl_state(struct platform *p, int wl)
{
	struct kwl *w = &p->wl[wl];
	struct kpod *d = kube_current(p, wl);

	if (w->stopping)
		w->state = d ? WL_RESTARTING : WL_EXITED;
	else
		w->state = d && d->ready ? WL_RUNNING : WL_RESTARTING;
}

/* Why a container ended, from lastState.terminated (kube_pod_status_read). */
static void kube_why_ended(const struct kube_pod_status *st, char *out, size_t len)
{
	int i;

	str_copy(out, len, "container restarted");
	for (i = 0; i < st->ncontainers; i++) {
		const struct kube_container_status *c = &st->c[i];

		if (c->init || !c->last_reason[0])
			continue;
		if (!strcmp(c->last_reason, "OOMKilled"))
			str_fmt(out, len, "OOMKilled (container %s, exit code %ld)", c->name,
				c->last_exit_code);
		else if (c->last_exit_code > 128)
			/* the kubelet sets no signal: exit code - 128 (B9) */
			str_fmt(out, len, "%s, exit code %ld (signal %ld) (container %s)",
				c->last_reason, c->last_exit_code, c->last_exit_code - 128, c->name);
		else
			str_fmt(out, len, "%s, exit code %ld (container %s)", c->last_reason,
				c->last_exit_code, c->name);
	}
}

/* A pod is gone (DELETED, or missing from a re-list). mu held. */
static void kube_pod_gone(struct platform *p, struct kpod *d, const char *how)
{
	struct kwl *w = d->wl >= 0 ? &p->wl[d->wl] : NULL;
	int wl = d->wl;

	if (!w) {
		memset(d, 0, sizeof(*d));
		return;
	}

	if (w->stopping)
		kube_event(p, "workload.exit", w->spec.name, 1, "pod %s %s (stop)", d->name, how);
	else if (w->expected && !strcmp(w->expected_uid, d->uid))
		kube_event(p, "workload.exit", w->spec.name, 1, "pod %s %s (%s)", d->name, how,
			   w->expected);
	else if (!d->evicted)
		kube_event(p, "workload.exit", w->spec.name, 1, "pod %s %s", d->name, how);
	if (w->expected && !strcmp(w->expected_uid, d->uid))
		w->expected = NULL;
	memset(d, 0, sizeof(*d));
	kube_wl_state(p, wl);
}

/* ADDED or MODIFIED pod. mu held. */
static void kube_pod_seen(struct platform *p, const cJSON *pod)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(pod, "metadata");
	const cJSON *uid = cJSON_GetObjectItemCaseSensitive(md, "uid");
	const cJSON *status = cJSON_GetObjectItemCaseSensitive(pod, "status");
	const cJSON *ip = cJSON_GetObjectItemCaseSensitive(status, "podIP");
	const cJSON *reason = cJSON_GetObjectItemCaseSensitive(status, "reason");
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(md, "labels");
	const cJSON *app = cJSON_GetObjectItemCaseSensitive(labels, "app");
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(labels, "version");
	struct kube_pod_status st;
	struct kpod *d;
	struct kwl *w;
	int wl, ready, i;
	size_t k;

	if (!cJSON_IsString(app) || !cJSON_IsString(uid) || kube_pod_status_read(pod, &st) < 0)
		return;
	wl = kube_pod_workload(p, app->valuestring, cJSON_IsString(ver) ? ver->valuestring : "");
	w = wl >= 0 ? &p->wl[wl] : NULL;
	ready = st.ncontainers > 0 && !strcmp(st.phase, "Running");
	for (i = 0; i < st.ncontainers; i++)
		if (!st.c[i].init && !st.c[i].ready)
			ready = 0;
	d = kube_pod_find(p, uid->valuestring);
	if (!d) {
		for (k = 0; k < KPODS_MAX && p->pods[k].used; k++)
			;
		if (k == KPODS_MAX) {
			log_kv(LOG_WARN, "too many pods to follow", "pod=%s", st.name);
			return;
		}
		d = &p->pods[k];
		d->used = 1;
		str_copy(d->uid, sizeof(d->uid), uid->valuestring);
		str_copy(d->name, sizeof(d->name), st.name);
		str_copy(d->app, sizeof(d->app), app->valuestring);
		str_copy(d->version, sizeof(d->version), cJSON_IsString(ver) ? ver->valuestring : "");
		d->wl = wl;
		d->restarts = st.restarts;
		d->seq = ++p->seq;
		if (!w) {
			/* not (yet) a workload of this conformd: followed quietly */
		} else if (w->had_pod && !w->stopping) {
			w->restarts++;
			kube_event(p, "workload.restart", w->spec.name, 0, "restart %u: new pod %s",
				   w->restarts, d->name);
		}
		if (w)
			w->had_pod = 1;
	} else if (!w) {
		d->restarts = st.restarts;
	} else if (st.restarts > d->restarts) {
		char why[256];

		kube_why_ended(&st, why, sizeof(why));
		w->restarts += (unsigned)(st.restarts - d->restarts);
		kube_event(p, "workload.exit", w->spec.name, 1, "%s in pod %s%s", why, d->name,
			   w->expected && !strcmp(w->expected_uid, d->uid) ? " (expected)" : "");
		kube_event(p, "workload.restart", w->spec.name, 0,
			   "restart %u: container restarted in pod %s (restartCount %ld)",
			   w->restarts, d->name, st.restarts);
		d->restarts = st.restarts;
	}
	/* the kubelet's eviction: phase Failed, status.reason Evicted */
	if (w && !d->evicted && cJSON_IsString(reason) &&
	    !strcmp(reason->valuestring, "Evicted")) {
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(status, "message");

		d->evicted = 1;
		ready = 0;
		kube_event(p, "workload.exit", w->spec.name, 1, "evicted: pod %s: %s", d->name,
			   cJSON_IsString(m) ? m->valuestring : "no message");
	}
	d->ready = ready;
	str_copy(d->ip, sizeof(d->ip), cJSON_IsString(ip) ? ip->valuestring : "");
	d->gen = p->gen;
	if (w)
		kube_wl_state(p, wl);
}

/* kube_watch's callback (the watch thread). */
static int kube_on_pod(void *arg, const char *type, const cJSON *o)
{
	struct platform *p = arg;
	size_t i;

	pthread_mutex_lock(&p->mu);
	if (!strcmp(type, "SYNC")) {
		p->gen++;
	} else if (!strcmp(type, "SYNCED")) {
		/* re-listed after a 410: what was not listed went while we did not watch */
		for (i = 0; i < KPODS_MAX; i++)
			if (p->pods[i].used && p->pods[i].gen != p->gen)
				kube_pod_gone(p, &p->pods[i], "gone (not listed again)");
	} else if (!strcmp(type, "DELETED")) {
		const cJSON *uid = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(o, "metadata"), "uid");
		const cJSON *g = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(o, "metadata"), "deletionGracePeriodSeconds");
		struct kpod *d = cJSON_IsString(uid) ? kube_pod_find(p, uid->valuestring) : NULL;
		char how[64];

		if (cJSON_IsNumber(g) && g->valuedouble >= 0 && g->valuedouble < 1e9)
			str_fmt(how, sizeof(how), "deleted (grace %.0fs)", g->valuedouble);
		else
			str_copy(how, sizeof(how), "deleted");
		if (d)
			kube_pod_gone(p, d, how);
	} else if (o) {
		kube_pod_seen(p, o);
	}
	p->watch_err[0] = '\0';
	pthread_mutex_unlock(&p->mu);
	return atomic_load(&p->stop) ? 1 : 0;
}

static void *kube_watch_main(void *arg)
{
	struct platform *p = arg;
	struct kube_watch_opts o;
	struct kube_watch_stats st;
	struct kube_error e;
	long timeout_s = 300;
	const char *env = getenv("CONFORM_KUBE_WATCH_TIMEOUT_S");
	int64_t v;

	if (env && !parse_i64(env, 1, 3600, &v))
		timeout_s = (long)v;
	while (!atomic_load(&p->stop)) {
		memset(&o, 0, sizeof(o));
		o.label_selector = p->selector;
		o.max_ms = WATCH_MAX_MS;
		o.timeout_s = timeout_s;
		o.stop = &p->stop;
		if (kube_watch(p->kw, p->pods_path, &o, kube_on_pod, p, &st, &e) == 0)
			continue;
		pthread_mutex_lock(&p->mu);
		if (strcmp(p->watch_err, e.text)) {
			char q[2100];

			log_kv(LOG_ERROR, "pod watch failed, retrying", "err=%s",
			       log_quote(e.text, q, sizeof(q)));
		}
		str_copy(p->watch_err, sizeof(p->watch_err), e.text);
		pthread_mutex_unlock(&p->mu);
		for (int64_t end = mono_ms() + WATCH_RETRY_MS; mono_ms() < end &&
		     !atomic_load(&p->stop);)
			nanosleep(&(struct timespec){ 0, 50 * 1000000L }, NULL);
	}
	return NULL;
}

/* ---- the slots ---- */

/* The run's settings from the environment (tests, and conformd's Deployment):
 * CONFORM_KUBE_NAMESPACE (else the pod's namespace, else conform),
 * CONFORM_KUBE_IMAGE, CONFORM_KUBE_MESH, CONFORM_KUBE_RUN (else the run
 * directory's name). */
static int kube_run_from_env(struct platform *p, const struct platform_config *pc, char *err,
			     size_t errlen)
{
	const char *v, *base;

	kube_run_defaults(&p->run);
	if ((v = getenv("CONFORM_KUBE_NAMESPACE")) && *v)
		str_copy(p->run.namespace, sizeof(p->run.namespace), v);
	else if (p->cfg.namespace[0])
		str_copy(p->run.namespace, sizeof(p->run.namespace), p->cfg.namespace);
	if ((v = getenv("CONFORM_KUBE_IMAGE")) && *v)
		str_copy(p->run.image, sizeof(p->run.image), v);
	if ((v = getenv("CONFORM_KUBE_MESH")) && *v)
		str_copy(p->run.mesh, sizeof(p->run.mesh), v);
	else if (pc->mesh && *pc->mesh)
		str_copy(p->run.mesh, sizeof(p->run.mesh), pc->mesh);
	if (pc->run)
		str_copy(p->run.inbound_policy, sizeof(p->run.inbound_policy),
			 run_config_inbound_policy(pc->run));
	if ((v = getenv("CONFORM_KUBE_RUN")) && *v) {
		str_copy(p->run.run_id, sizeof(p->run.run_id), v);
	} else if (pc->run_dir) {
		base = strrchr(pc->run_dir, '/');
		str_copy(p->run.run_id, sizeof(p->run.run_id), base ? base + 1 : pc->run_dir);
	}
	return kube_run_check(&p->run, err, errlen);
}

/*
 * prepare: the API server from CONFORM_KUBE_SERVER (with CONFORM_KUBE_TOKEN,
 * CONFORM_KUBE_CA or CONFORM_KUBE_INSECURE=1) or else the pod's service
 * account (kube_config_in_cluster). Proves the server answers and that we
 * may list pods (GET /api/v1/namespaces/NS/pods?labelSelector=...), then
 * starts the pod watch.
 */
static int kube_prepare(const struct platform_config *pc, struct platform **out, char *err,
			size_t errlen)
{
	struct platform *p;
	struct kube_error e;
	const char *server = getenv("CONFORM_KUBE_SERVER"), *v;
	cJSON *list = NULL;
	char rv[64];
	int64_t ms;

	p = calloc(1, sizeof(*p));
	if (!p) {
		str_fmt(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_mutex_init(&p->kmu, NULL);
	p->store = pc->store;
	if (server && *server) {
		v = getenv("CONFORM_KUBE_INSECURE");
		if (kube_config_explicit(&p->cfg, server, getenv("CONFORM_KUBE_CA"),
					 v && !strcmp(v, "1"), getenv("CONFORM_KUBE_TOKEN")) < 0) {
			str_fmt(err, errlen, "CONFORM_KUBE_SERVER, _CA or _TOKEN too long");
			goto fail;
		}
	} else if (kube_config_in_cluster(&p->cfg, getenv("CONFORM_KUBE_SA_DIR"), err,
					  errlen) < 0) {
		goto fail;
	}
	if ((v = getenv("CONFORM_KUBE_TIMEOUT_MS")) && !parse_i64(v, 100, 600000, &ms))
		p->cfg.timeout_ms = (long)ms;
	if (kube_run_from_env(p, pc, err, errlen) < 0)
		goto fail;
	str_fmt(p->selector, sizeof(p->selector), "%s=conform", KUBE_LABEL_PART_OF);
	if (kube_path(p->pods_path, sizeof(p->pods_path), "v1", p->run.namespace, "pods",
		      NULL) < 0) {
		str_fmt(err, errlen, "namespace %s: not a valid path segment", p->run.namespace);
		goto fail;
	}
	p->k = kube_client_new(&p->cfg);
	p->kw = kube_client_new(&p->cfg);
	if (!p->k || !p->kw) {
		str_fmt(err, errlen, "out of memory");
		goto fail;
	}
	if (kube_list(p->k, p->pods_path, p->selector, NULL, &list, rv, sizeof(rv), &e) < 0) {
		str_fmt(err, errlen, "kubernetes platform: %s", e.text);
		goto fail;
	}
	cJSON_Delete(list);
	if (pthread_create(&p->th, NULL, kube_watch_main, p)) {
		str_fmt(err, errlen, "cannot start the pod watch thread");
		goto fail;
	}
	p->th_running = 1;
	*out = p;
	return 0;
fail:
	kube_client_free(p->k);
	kube_client_free(p->kw);
	pthread_mutex_destroy(&p->mu);
	pthread_mutex_destroy(&p->kmu);
	free(p);
	return -EINVAL;
}

/* The API path of one of our objects (apiVersion, kind, metadata.name). */
static int kube_obj_path(const struct platform *p, const cJSON *o, char *path, size_t len)
{
	const cJSON *api = cJSON_GetObjectItemCaseSensitive(o, "apiVersion");
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(o, "kind");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(o, "metadata"), "name");
	const char *res;

	if (!cJSON_IsString(api) || !cJSON_IsString(kind) || !cJSON_IsString(name))
		return -1;
	if (!strcmp(kind->valuestring, "ServiceAccount"))
		res = "serviceaccounts";
	else if (!strcmp(kind->valuestring, "Service"))
		res = "services";
	else if (!strcmp(kind->valuestring, "Deployment"))
		res = "deployments";
	else
		return -1;
	return kube_path(path, len, api->valuestring, p->run.namespace, res, name->valuestring);
}

/*
 * start: server-side apply (PATCH .../{serviceaccounts,deployments,services}/
 * NAME?fieldManager=conform&force=true, application/apply-patch+yaml) of the
 * workload's ServiceAccount, Deployment and Services, in that order. Applying
 * what is already there changes nothing (no new pod). Records workload.start;
 * the pod shows up through the watch.
 */
static int kube_start(struct platform *p, const struct workload_spec *spec, char *err,
		      size_t errlen)
{
	struct kube_error e;
	cJSON *objs = cJSON_CreateArray(), *o;
	struct kwl *w;
	char path[1024], detail[256];
	int rc = 0;

	if (!objs) {
		str_fmt(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_lock(&p->mu);
	if (kube_find(p, spec->name)) {
		pthread_mutex_unlock(&p->mu);
		str_fmt(err, errlen, "workload %s started already", spec->name);
		rc = -EEXIST;
		goto out;
	}
	if (p->n >= PLATFORM_MAX_WORKLOADS) {
		pthread_mutex_unlock(&p->mu);
		str_fmt(err, errlen, "more than %d workloads", PLATFORM_MAX_WORKLOADS);
		rc = -E2BIG;
		goto out;
	}
	pthread_mutex_unlock(&p->mu);
	if (kube_obj_workload(&p->run, spec, objs, err, errlen) < 0) {
		rc = -EINVAL;
		goto out;
	}
	pthread_mutex_lock(&p->kmu);
	cJSON_ArrayForEach(o, objs) {
		if (kube_obj_path(p, o, path, sizeof(path)) < 0) {
			str_fmt(err, errlen, "workload %s: an object without a path", spec->name);
			rc = -EINVAL;
			break;
		}
		if (kube_apply(p->k, path, o, 1, NULL, &e) < 0) {
			str_fmt(err, errlen, "start %s: %s", spec->name, e.text);
			rc = e.code == 403 ? -EACCES : e.code == 0 ? -EHOSTUNREACH : -EIO;
			break;
		}
	}
	pthread_mutex_unlock(&p->kmu);
	if (rc < 0)
		goto out;
	pthread_mutex_lock(&p->mu);
	w = &p->wl[p->n++];
	memset(w, 0, sizeof(*w));
	w->spec = *spec;
	w->state = WL_RESTARTING;
	kube_rematch(p);   /* applied to a Deployment that was there: its pod */
	pthread_mutex_unlock(&p->mu);
	str_fmt(detail, sizeof(detail), "%s %s applied (deployment %s in namespace %s)",
		spec->role, spec->version, spec->name, p->run.namespace);
	kube_record(p, "workload.start", spec->name, detail);
out:
	cJSON_Delete(objs);
	return rc;
}

/* DELETE one pod: the kubelet sends TERM, KILL after grace_s (< 0: the
 * pod's own grace period; 0: KILL at once). */
static int kube_delete_pod(struct platform *p, const char *pod, long grace_s)
{
	struct kube_error e;
	char path[1024];
	int rc;

	if (kube_path(path, sizeof(path), "v1", p->run.namespace, "pods", pod) < 0)
		return -EINVAL;
	pthread_mutex_lock(&p->kmu);
	rc = kube_delete_grace(p->k, path, NULL, grace_s, &e);
	pthread_mutex_unlock(&p->kmu);
	if (rc < 0 && e.code != 404) {
		char q[2100];

		log_kv(LOG_ERROR, "cannot delete pod", "pod=%s err=%s", pod,
		       log_quote(e.text, q, sizeof(q)));
		return e.code == 403 ? -EACCES : -EIO;
	}
	return 0;
}

/*
 * stop: DELETE .../deployments/NAME (propagationPolicy Background: the
 * garbage collector deletes the pods) for every workload of roles, then
 * wait up to grace_ms for the watch to see their pods go; the pods left
 * then are deleted once more and counted as killed.
 */
static int kube_stop(struct platform *p, unsigned roles, int64_t grace_ms)
{
	int64_t deadline = mono_ms() + grace_ms;
	struct kube_error e;
	char path[1024], names[PLATFORM_MAX_WORKLOADS][64];
	size_t i, n = 0, left;
	int killed = 0;

	pthread_mutex_lock(&p->mu);
	for (i = 0; i < p->n; i++)
		if ((p->wl[i].spec.role_bit & roles) && !p->wl[i].stopping) {
			p->wl[i].stopping = 1;
			kube_wl_state(p, (int)i);
			str_copy(names[n++], sizeof(names[0]), p->wl[i].spec.name);
		}
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < n; i++) {
		if (kube_path(path, sizeof(path), "apps/v1", p->run.namespace, "deployments",
			      names[i]) < 0)
			continue;
		pthread_mutex_lock(&p->kmu);
		if (kube_delete(p->k, path, "Background", &e) < 0 && e.code != 404) {
			char q[2100];

			log_kv(LOG_ERROR, "cannot delete deployment", "name=%s err=%s", names[i],
			       log_quote(e.text, q, sizeof(q)));
		}
		pthread_mutex_unlock(&p->kmu);
	}
	for (;;) {
		char pods[KPODS_MAX][254];
		size_t np = 0;
		int late = mono_ms() >= deadline;

		left = 0;
		pthread_mutex_lock(&p->mu);
		for (i = 0; i < KPODS_MAX; i++) {
			struct kpod *d = &p->pods[i];

			if (!d->used || d->wl < 0 || !(p->wl[d->wl].spec.role_bit & roles))
				continue;
			left++;
			if (late)
				str_copy(pods[np++], sizeof(pods[0]), d->name);
		}
		pthread_mutex_unlock(&p->mu);
		if (!left)
			break;
		if (late) {
			for (i = 0; i < np; i++) {
				log_kv(LOG_WARN, "pod did not go in time, deleting it again", "pod=%s",
				       pods[i]);
				kube_delete_pod(p, pods[i], 0);
				killed++;
			}
			break;
		}
		nanosleep(&(struct timespec){ 0, STOP_POLL_MS * 1000000L }, NULL);
	}
	return killed;
}

/* poll: record what the watch saw since the last call; the number of exits. */
static int kube_poll(struct platform *p)
{
	struct kev *ev;
	size_t n, i;
	unsigned dropped;
	int exits = 0;

	pthread_mutex_lock(&p->mu);
	n = p->nev;
	dropped = p->dropped;
	ev = n ? malloc(n * sizeof(*ev)) : NULL;
	if (ev)
		memcpy(ev, p->ev, n * sizeof(*ev));
	else
		n = 0;
	p->nev = 0;
	p->dropped = 0;
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < n; i++) {
		kube_record(p, ev[i].kind, ev[i].subject, ev[i].detail);
		exits += ev[i].exit;
	}
	if (dropped)
		log_kv(LOG_WARN, "workload events lost: poll is late", "count=%u", dropped);
	free(ev);
	return exits;
}

/* Delete name's current pod, marking the coming exit with why. */
static int kube_delete_current(struct platform *p, const char *name, const char *why,
			       long grace_s)
{
	char pod[254];
	struct kwl *w;
	struct kpod *d;

	pthread_mutex_lock(&p->mu);
	w = kube_find(p, name);
	if (!w) {
		pthread_mutex_unlock(&p->mu);
		return -ENOENT;
	}
	d = kube_current(p, (int)(w - p->wl));
	if (!d || w->stopping) {
		pthread_mutex_unlock(&p->mu);
		return -ESRCH;
	}
	w->expected = why;
	str_copy(w->expected_uid, sizeof(w->expected_uid), d->uid);
	str_copy(pod, sizeof(pod), d->name);
	pthread_mutex_unlock(&p->mu);
	return kube_delete_pod(p, pod, grace_s);
}

/*
 * kill: DELETE /api/v1/namespaces/NS/pods/POD of the workload's current pod
 * (the kill fault). SIGKILL deletes with gracePeriodSeconds 0 (the kubelet
 * kills the containers at once); any other signal leaves the pod's grace
 * period (TERM, then KILL after it): the kubelet chooses no other signal.
 * The Deployment makes a new pod.
 */
static int kube_kill(struct platform *p, const char *name, int sig)
{
	return kube_delete_current(p, name, "kill fault", sig == SIGKILL ? 0 : -1);
}

/* restart: the same DELETE, with the pod's grace period; the Deployment's
 * new pod is the restart. */
static int kube_restart(struct platform *p, const char *name)
{
	return kube_delete_current(p, name, "restart", -1);
}

/*
 * addresses: from the watched pods, no API call. listen is the workload's
 * own Service (http-server-v1.NS.svc.cluster.local:8080, http-server-v2...,
 * grpc-server...:9090); admin the current pod's IP and port 9901, so a fault
 * reaches that instance. -EAGAIN until the pod is Ready.
 */
static int kube_addresses(struct platform *p, const char *name, struct workload_addr *out)
{
	struct kwl *w;
	struct kpod *d;
	int rc = 0;

	pthread_mutex_lock(&p->mu);
	w = kube_find(p, name);
	if (!w) {
		rc = -ENOENT;
		goto out;
	}
	if (w->state == WL_EXITED) {
		rc = -ECHILD;
		goto out;
	}
	d = kube_current(p, (int)(w - p->wl));
	if (!d || !d->ready) {
		rc = -EAGAIN;
		goto out;
	}
	memset(out, 0, sizeof(*out));
	out->instance = kube_instance(d);
	if (kube_is_server(&w->spec)) {
		const char *svc = !strcmp(w->spec.name, "http-server") ? "http-server-v1"
				  : w->spec.name;

		str_fmt(out->listen, sizeof(out->listen), "%s.%s.svc.cluster.local:%d", svc,
			p->run.namespace, !strcmp(w->spec.role, "grpc-server") ? KUBE_GRPC_PORT
			: KUBE_HTTP_PORT);
		if (d->ip[0])
			str_fmt(out->admin, sizeof(out->admin), strchr(d->ip, ':') ? "[%s]:%d"
				: "%s:%d", d->ip, KUBE_ADMIN_PORT);
	}
out:
	pthread_mutex_unlock(&p->mu);
	return rc;
}

/* log_path: no file on this machine; the command that shows the log. */
static int kube_log_path(struct platform *p, const char *name, char *out, size_t len)
{
	int rc = 0;

	pthread_mutex_lock(&p->mu);
	if (!kube_find(p, name))
		rc = -ENOENT;
	else if (str_fmt(out, len, "kubectl logs -n %s deploy/%s", p->run.namespace, name) < 0)
		rc = -ENAMETOOLONG;
	pthread_mutex_unlock(&p->mu);
	return rc;
}

/* list: from the watched pods, no API call. */
static size_t kube_list_slot(struct platform *p, struct workload_status *out, size_t max)
{
	size_t i;

	pthread_mutex_lock(&p->mu);
	for (i = 0; i < p->n && i < max; i++) {
		struct kwl *w = &p->wl[i];
		struct kpod *d = kube_current(p, (int)i);

		memset(&out[i], 0, sizeof(out[i]));
		str_copy(out[i].name, sizeof(out[i].name), w->spec.name);
		str_copy(out[i].role, sizeof(out[i].role), w->spec.role);
		out[i].instance = d ? kube_instance(d) : 0;
		out[i].state = w->state;
		out[i].restarts = w->restarts;
	}
	pthread_mutex_unlock(&p->mu);
	return i;
}

/* release: stop the watch, free. The Deployments stay (stop deletes them;
 * a conformd that is replaced leaves them to the next one). */
static void kube_release(struct platform *p)
{
	if (!p)
		return;
	atomic_store(&p->stop, 1);
	if (p->th_running)
		pthread_join(p->th, NULL);
	kube_client_free(p->k);
	kube_client_free(p->kw);
	pthread_mutex_destroy(&p->mu);
	pthread_mutex_destroy(&p->kmu);
	free(p);
}

/* A workload spec back from a Deployment we applied (its container's args). */
static int kube_spec_from_deployment(const cJSON *d, struct workload_spec *s)
{
	const cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(d, "spec"), "template"), "spec"), "containers"), 0);
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(c, "args"), *a;
	const char *flag = NULL;

	memset(s, 0, sizeof(*s));
	if (!cJSON_IsArray(args))
		return -1;
	cJSON_ArrayForEach(a, args) {
		const char *v;

		if (!cJSON_IsString(a))
			return -1;
		v = a->valuestring;
		if (!flag) {
			flag = v;
			continue;
		}
		if (!strcmp(flag, "--role") && str_copy(s->role, sizeof(s->role), v) < 0)
			return -1;
		if (!strcmp(flag, "--name") && str_copy(s->name, sizeof(s->name), v) < 0)
			return -1;
		if (!strcmp(flag, "--version") && str_copy(s->version, sizeof(s->version), v) < 0)
			return -1;
		if (!strcmp(flag, "--identity-header") &&
		    str_copy(s->identity_header, sizeof(s->identity_header), v) < 0)
			return -1;
		if (!strcmp(flag, "--flow")) {
			if (s->nflows >= PLATFORM_MAX_FLOWS ||
			    str_copy(s->flows[s->nflows], sizeof(s->flows[0]), v) < 0)
				return -1;
			s->nflows++;
		}
		flag = NULL;
	}
	if (!strcmp(s->role, "http-server"))
		s->role_bit = ROLE_HTTP_SERVER;
	else if (!strcmp(s->role, "grpc-server"))
		s->role_bit = ROLE_GRPC_SERVER;
	else if (!strcmp(s->role, "http-client"))
		s->role_bit = ROLE_HTTP_CLIENT;
	else if (!strcmp(s->role, "grpc-client"))
		s->role_bit = ROLE_GRPC_CLIENT;
	else
		return -1;
	return s->name[0] ? 0 : -1;
}

/*
 * adopt: a new conformd pod takes the run over. GET .../deployments?
 * labelSelector=conform.dev/run=RUN lists what the previous one applied;
 * each becomes a workload again (spec from its args). The Deployments keep
 * their pods running meanwhile, so nothing is restarted here: *restarted
 * is 0. -ENOENT when the run has no Deployment.
 */
static int kube_adopt(struct platform *p, size_t *adopted, size_t *restarted, char *err,
		      size_t errlen)
{
	struct kube_error e;
	cJSON *list = NULL;
	const cJSON *it;
	char path[1024], sel[256], rv[64], detail[256];
	int rc = 0;

	*adopted = *restarted = 0;
	if (kube_path(path, sizeof(path), "apps/v1", p->run.namespace, "deployments", NULL) < 0 ||
	    str_fmt(sel, sizeof(sel), "%s=%s", KUBE_LABEL_RUN, p->run.run_id) < 0) {
		str_fmt(err, errlen, "namespace or run id too long");
		return -EINVAL;
	}
	pthread_mutex_lock(&p->kmu);
	rc = kube_list(p->k, path, sel, NULL, &list, rv, sizeof(rv), &e);
	pthread_mutex_unlock(&p->kmu);
	if (rc < 0) {
		str_fmt(err, errlen, "adopt: %s", e.text);
		return e.code == 403 ? -EACCES : -EIO;
	}
	pthread_mutex_lock(&p->mu);
	if (p->n) {
		str_fmt(err, errlen, "adopt: workloads were started already");
		rc = -EBUSY;
		goto out;
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(list, "items")) {
		struct kwl *w;
		struct workload_spec s;

		if (kube_spec_from_deployment(it, &s) < 0 || kube_find(p, s.name))
			continue;   /* not a workload of ours */
		if (p->n >= PLATFORM_MAX_WORKLOADS) {
			str_fmt(err, errlen, "adopt: more than %d workloads", PLATFORM_MAX_WORKLOADS);
			rc = -E2BIG;
			goto out;
		}
		w = &p->wl[p->n++];
		memset(w, 0, sizeof(*w));
		w->spec = s;
		w->state = WL_RESTARTING;
		(*adopted)++;
		str_fmt(detail, sizeof(detail), "adopted %s, deployment %s", s.role, s.name);
		kube_event(p, "workload.adopt", s.name, 0, "%s", detail);
	}
	if (!p->n) {
		str_fmt(err, errlen, "adopt: no deployment labelled %s in namespace %s", sel,
			p->run.namespace);
		rc = -ENOENT;
	}
out:
	if (rc == 0)
		kube_rematch(p);   /* their pods, watched since prepare */
	pthread_mutex_unlock(&p->mu);
	cJSON_Delete(list);
	return rc;
}

const struct kube_config *platform_kubernetes_cluster(const struct platform *p)
{
	return &p->cfg;
}

const struct platform_ops platform_kubernetes = {
	.name = "kubernetes",
	.caps = 0,
	.prepare = kube_prepare,
	.start = kube_start,
	.stop = kube_stop,
	.poll = kube_poll,
	.kill = kube_kill,
	.restart = kube_restart,
	.addresses = kube_addresses,
	.log_path = kube_log_path,
	.list = kube_list_slot,
	.release = kube_release,
	.adopt = kube_adopt,
};
