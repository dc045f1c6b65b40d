/*
 * test_kube_platform.c - the kubernetes platform (platform_kubernetes, not
 * yet in the registry: its ops table is tested directly) against the API
 * server double (build/test/tools/kubedouble --controllers on, so that
 * Deployments make pods): start applies the objects and applying again
 * changes nothing, container restarts, deleted pods and the kill fault
 * become events and new instances, a dropped watch is resumed without a
 * duplicate event, a 410 re-lists, a denied permission is named, an
 * unreachable cluster fails in seconds, stop deletes, adopt takes over.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "harness.h"
#include "kubedouble.h"
#include "base/util.h"
#include "checks/check.h"
#include "config/run.h"
#include "platform/kubernetes/kubeapi.h"
#include "platform/kubernetes/objects.h"
#include "platform/platform.h"
#include "store/store.h"

#define NS "conform"
#define RUNID "run-1"

static const struct platform_ops *ops = &platform_kubernetes;
static struct store *st;
static struct kube_client *k;
static struct workload_spec specs[PLATFORM_MAX_WORKLOADS];
static int nspecs;

/* ---- the double ---- */

static int double_start(void)
{
	return double_start_with(1);
}

/* POST /_double/<what>: the test's hand on the cluster */
static long ctl(const char *what)
{
	CURL *c = curl_easy_init();
	char url[1024];
	long code = 0;

	str_fmt(url, sizeof(url), "%s/_double/%s", server, what);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	return code;
}

static size_t keep(char *p, size_t s, size_t n, void *ud)
{
	struct dynbuf *b = ud;

	return dynbuf_add(b, p, s * n) ? 0 : s * n;
}

/* lists the double has answered so far (GET /_double/stats) */
static long double_lists(void)
{
	CURL *c = curl_easy_init();
	struct dynbuf b = DYNBUF_INIT(4096);
	char url[256];
	long n = -1;

	str_fmt(url, sizeof(url), "%s/_double/stats", server);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (curl_easy_perform(c) == CURLE_OK && b.buf) {
		cJSON *j = cJSON_Parse(b.buf);
		const cJSON *l = cJSON_GetObjectItemCaseSensitive(j, "lists");

		if (cJSON_IsNumber(l))
			n = (long)l->valuedouble;
		cJSON_Delete(j);
	}
	dynbuf_release(&b);
	curl_easy_cleanup(c);
	return n;
}

static void env_for_double(void)
{
	setenv("CONFORM_KUBE_SERVER", server, 1);
	setenv("CONFORM_KUBE_TOKEN", TOKEN, 1);
	setenv("CONFORM_KUBE_NAMESPACE", NS, 1);
	setenv("CONFORM_KUBE_RUN", RUNID, 1);
	setenv("CONFORM_KUBE_MESH", "linkerd", 1);
	setenv("CONFORM_KUBE_TIMEOUT_MS", "5000", 1);
}

static struct platform *prepare(char *err, size_t errlen)
{
	struct platform_config pc;
	struct platform *p = NULL;
	char rd[512];

	memset(&pc, 0, sizeof(pc));
	str_fmt(rd, sizeof(rd), "%s/" RUNID, tmpdir);
	pc.run_dir = rd;
	pc.token = "t";
	pc.store = st;
	if (ops->prepare(&pc, &p, err, errlen) < 0)
		return NULL;
	return p;
}

static const struct workload_spec *spec(const char *name)
{
	for (int i = 0; i < nspecs; i++)
		if (!strcmp(specs[i].name, name))
			return &specs[i];
	return NULL;
}

/* events of kind for subject recorded so far whose detail holds needle */
static int nevents(const char *kind, const char *subject, const char *needle)
{
	struct store_event *ev = NULL;
	size_t n = 0, i;
	int c = 0;

	if (store_get_events_kind(st, kind, &ev, &n) < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (!strcmp(ev[i].subject, subject) && (!needle || strstr(ev[i].detail, needle)))
			c++;
	free(ev);
	return c;
}

/* poll the platform until there are want such events (5 s at most) */
static int wait_events(struct platform *p, const char *kind, const char *subject,
		       const char *needle, int want)
{
	for (int64_t end = mono_ms() + 5000; mono_ms() < end; usleep(20000)) {
		ops->poll(p);
		if (nevents(kind, subject, needle) >= want)
			return 0;
	}
	fprintf(stderr, "%d %s events of %s with \"%s\" (want %d)\n",
		nevents(kind, subject, needle), kind, subject, needle ? needle : "", want);
	return -1;
}

/* wait until name is ready with an instance other than not (0: any) */
static int wait_ready(struct platform *p, const char *name, uint64_t not,
		      struct workload_addr *a)
{
	for (int64_t end = mono_ms() + 5000; mono_ms() < end; usleep(20000)) {
		ops->poll(p);
		if (ops->addresses(p, name, a) == 0 && a->instance != not)
			return 0;
	}
	return -1;
}

/* the one pod of a server workload, by its labels */
static int pod_of(const char *app, const char *version, char *name, size_t len)
{
	char sel[128];
	cJSON *l = NULL, *it;
	int n = 0;

	str_fmt(sel, sizeof(sel), "app=%s%s%s", app, version ? ",version=" : "",
		version ? version : "");
	if (kube_list(k, "/api/v1/namespaces/" NS "/pods", sel, NULL, &l, NULL, 0, NULL) < 0)
		return -1;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(l, "items")) {
		str_copy(name, len, cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(it, "metadata"), "name")->valuestring);
		n++;
	}
	cJSON_Delete(l);
	return n == 1 ? 0 : -1;
}

static const char *rv_of(const char *path, char *buf, size_t len)
{
	cJSON *o = NULL;

	buf[0] = '\0';
	if (kube_get(k, path, &o, NULL) == 0)
		str_copy(buf, len, cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(o, "metadata"),
			"resourceVersion")->valuestring);
	cJSON_Delete(o);
	return buf;
}

/* ---- tests ---- */

TEST(ops_table)
{
	ASSERT_STR_EQ(ops->name, "kubernetes");
	ASSERT(ops->prepare && ops->start && ops->stop && ops->poll && ops->kill &&
	       ops->restart && ops->addresses && ops->log_path && ops->list && ops->release &&
	       ops->adopt);
	/* instances are pods, not processes here; sidecars are the mesh's */
	ASSERT_EQ(ops->caps & (PLATFORM_CAP_PROCESSES | PLATFORM_CAP_HELPERS), 0);
	/* offered as --platform: conformd runs it in a pod (--seed) */
	ASSERT(platform_find("kubernetes") == ops);
}

TEST(unreachable_in_seconds)
{
	char err[512];
	int64_t t0 = mono_ms();

	setenv("CONFORM_KUBE_SERVER", "http://127.0.0.1:1", 1);
	ASSERT(prepare(err, sizeof(err)) == NULL);
	ASSERT(mono_ms() - t0 < 6000);
	ASSERT_CONTAINS(err, "cluster unreachable at http://127.0.0.1:1");
	env_for_double();
	/* not in a pod, no server given: says so */
	unsetenv("CONFORM_KUBE_SERVER");
	setenv("CONFORM_KUBE_SA_DIR", tmpdir, 1);
	unsetenv("KUBERNETES_SERVICE_HOST");
	ASSERT(prepare(err, sizeof(err)) == NULL);
	ASSERT_CONTAINS(err, "not running in a kubernetes pod");
	env_for_double();
}

TEST(start_applies_and_is_idempotent)
{
	struct platform *p, *p2;
	struct workload_addr a;
	char err[512], rv1[32], rv2[32], pod1[254], pod2[254], path[256];
	cJSON *o = NULL;

	p = prepare(err, sizeof(err));
	if (!p)
		H_FAIL("prepare: %s", err);
	ASSERT_EQ(ops->start(p, spec("http-server"), err, sizeof(err)), 0);
	ASSERT_EQ(ops->start(p, spec("http-server"), err, sizeof(err)), -EEXIST);
	ASSERT_EQ(nevents("workload.start", "http-server", "applied"), 1);
	/* every object is there, as objects.c built it, owned by conform */
	ASSERT_EQ(kube_get(k, "/api/v1/namespaces/" NS "/serviceaccounts/http-server", &o, NULL), 0);
	cJSON_Delete(o);
	ASSERT_EQ(kube_get(k, "/api/v1/namespaces/" NS "/services/http-retry", &o, NULL), 0);
	cJSON_Delete(o);
	ASSERT_EQ(kube_get(k, "/apis/apps/v1/namespaces/" NS "/deployments/http-server", &o,
			   NULL), 0);
	{
		char *text = cJSON_PrintUnformatted(o);

		ASSERT_CONTAINS(text, "\"conform.dev/run\":\"" RUNID "\"");
		ASSERT_CONTAINS(text, "\"linkerd.io/inject\":\"enabled\"");
		free(text);
	}
	cJSON_Delete(o);
	ASSERT_EQ(wait_ready(p, "http-server", 0, &a), 0);
	ASSERT_STR_EQ(a.listen, "http-server-v1." NS ".svc.cluster.local:8080");
	ASSERT(!strncmp(a.admin, "10.244.0.", 9));
	ASSERT_CONTAINS(a.admin, ":9901");
	ASSERT_EQ(pod_of("http-server", "v1", pod1, sizeof(pod1)), 0);

	/* a second conformd applying the same: no new version, no new pod */
	str_fmt(path, sizeof(path), "/apis/apps/v1/namespaces/" NS "/deployments/http-server");
	rv_of(path, rv1, sizeof(rv1));
	p2 = prepare(err, sizeof(err));
	ASSERT(p2);
	ASSERT_EQ(ops->start(p2, spec("http-server"), err, sizeof(err)), 0);
	ASSERT_STR_EQ(rv_of(path, rv2, sizeof(rv2)), rv1);
	ASSERT_EQ(pod_of("http-server", "v1", pod2, sizeof(pod2)), 0);
	ASSERT_STR_EQ(pod2, pod1);
	/* and it sees the pod that was there as the workload's, ready */
	ASSERT_EQ(wait_ready(p2, "http-server", 0, &a), 0);
	ops->release(p2);
	ops->release(p);
}

TEST(restart_count_and_pod_replacement)
{
	struct platform *p;
	struct workload_addr a, b;
	struct workload_status ws[4];
	char err[512], pod[254], q[512];

	p = prepare(err, sizeof(err));
	if (!p)
		H_FAIL("prepare: %s", err);
	ASSERT_EQ(ops->start(p, spec("grpc-server"), err, sizeof(err)), 0);
	ASSERT_EQ(wait_ready(p, "grpc-server", 0, &a), 0);
	ASSERT_STR_EQ(a.listen, "grpc-server." NS ".svc.cluster.local:9090");
	ASSERT_EQ(pod_of("grpc-server", "v1", pod, sizeof(pod)), 0);

	/* the kubelet restarts the container after an OOM kill */
	str_fmt(q, sizeof(q), "restart?namespace=" NS "&name=%s&reason=OOMKilled&exitCode=137",
		pod);
	ASSERT_EQ(ctl(q), 200);
	ASSERT_EQ(wait_events(p, "workload.exit", "grpc-server", "OOMKilled", 1), 0);
	ASSERT_EQ(nevents("workload.exit", "grpc-server", "exit code 137"), 1);
	ASSERT_EQ(wait_events(p, "workload.restart", "grpc-server", "restartCount 1", 1), 0);
	ASSERT_EQ(wait_ready(p, "grpc-server", a.instance, &b), 0);
	ASSERT(b.instance != a.instance);
	ASSERT_EQ(ops->list(p, ws, 4), 1);
	ASSERT_EQ(ws[0].restarts, 1);
	ASSERT_EQ(ws[0].instance, b.instance);
	/* an error exit */
	str_fmt(q, sizeof(q), "restart?namespace=" NS "&name=%s&reason=Error&exitCode=3", pod);
	ASSERT_EQ(ctl(q), 200);
	ASSERT_EQ(wait_events(p, "workload.exit", "grpc-server", "Error, exit code 3", 1), 0);

	/* the pod is deleted (by someone else): an exit, then the Deployment's new pod */
	str_fmt(q, sizeof(q), "delete-pod?namespace=" NS "&name=%s", pod);
	ASSERT_EQ(ctl(q), 200);
	ASSERT_EQ(wait_events(p, "workload.exit", "grpc-server", "deleted", 1), 0);
	ASSERT_EQ(wait_events(p, "workload.restart", "grpc-server", "new pod", 1), 0);
	ASSERT_EQ(wait_ready(p, "grpc-server", b.instance, &a), 0);
	ASSERT_EQ(ops->list(p, ws, 4), 1);
	ASSERT_EQ(ws[0].restarts, 3);
	ASSERT_EQ(ws[0].state, WL_RUNNING);

	/* the kill fault deletes the current pod; the exit says it was expected */
	ASSERT_EQ(ops->kill(p, "grpc-server", SIGKILL), 0);
	ASSERT_EQ(wait_events(p, "workload.exit", "grpc-server", "(kill fault)", 1), 0);
	/* SIGKILL: no grace */
	ASSERT_EQ(nevents("workload.exit", "grpc-server", "deleted (grace 0s) (kill fault)"), 1);
	ASSERT_EQ(wait_events(p, "workload.restart", "grpc-server", "new pod", 2), 0);
	ASSERT_EQ(wait_ready(p, "grpc-server", a.instance, &b), 0);
	ASSERT_EQ(ops->kill(p, "nope", SIGKILL), -ENOENT);
	/* restart: the pod's own grace period (30 s), then a new pod */
	ASSERT_EQ(ops->restart(p, "grpc-server"), 0);
	ASSERT_EQ(wait_events(p, "workload.exit", "grpc-server", "deleted (grace 30s) (restart)",
			      1), 0);
	ASSERT_EQ(wait_events(p, "workload.restart", "grpc-server", "new pod", 3), 0);
	ASSERT_EQ(wait_ready(p, "grpc-server", b.instance, &b), 0);

	/* the kubelet evicts the pod: one exit saying so; the ReplicaSet's new pod */
	ASSERT_EQ(pod_of("grpc-server", "v1", pod, sizeof(pod)), 0);
	str_fmt(q, sizeof(q), "evict?namespace=" NS "&name=%s", pod);
	ASSERT_EQ(ctl(q), 200);
	ASSERT_EQ(wait_events(p, "workload.exit", "grpc-server", "evicted: pod", 1), 0);
	ASSERT_CONTAINS(pod, "grpc-server-");
	ASSERT_EQ(nevents("workload.exit", "grpc-server", "The node was low on resource"), 1);
	ASSERT_EQ(wait_events(p, "workload.restart", "grpc-server", "new pod", 4), 0);
	ASSERT_EQ(wait_ready(p, "grpc-server", b.instance, &a), 0);
	ASSERT_EQ(nevents("workload.exit", "grpc-server", "evicted"), 1);
	{
		char lp[256];

		ASSERT_EQ(ops->log_path(p, "grpc-server", lp, sizeof(lp)), 0);
		ASSERT_STR_EQ(lp, "kubectl logs -n " NS " deploy/grpc-server");
	}
	ops->release(p);
}

TEST(dropped_watch_and_410)
{
	struct platform *p;
	struct workload_addr a;
	char err[512], pod[254], q[512], gone[300];
	long lists;
	int before;

	p = prepare(err, sizeof(err));
	if (!p)
		H_FAIL("prepare: %s", err);
	ASSERT_EQ(ops->start(p, spec("http-server-v2"), err, sizeof(err)), 0);
	ASSERT_EQ(wait_ready(p, "http-server-v2", 0, &a), 0);
	ASSERT_EQ(pod_of("http-server", "v2", pod, sizeof(pod)), 0);

	/* the connection drops; a restart meanwhile is one event after the resume */
	before = nevents("workload.restart", "http-server-v2", NULL);
	ASSERT_EQ(ctl("drop-watches"), 200);
	str_fmt(q, sizeof(q), "restart?namespace=" NS "&name=%s", pod);
	ASSERT_EQ(ctl(q), 200);
	ASSERT_EQ(ctl("drop-watches"), 200);
	ASSERT_EQ(wait_events(p, "workload.restart", "http-server-v2", NULL, before + 1), 0);
	usleep(1500 * 1000);   /* a bookmark and a reconnect later: still one */
	ops->poll(p);
	ASSERT_EQ(nevents("workload.restart", "http-server-v2", NULL), before + 1);

	/* history compacted while disconnected (the reconnect held up by a slow
	 * server): 410, re-list; the pod deleted meanwhile is missing from the
	 * new list and seen gone once, its replacement once */
	lists = double_lists();
	ASSERT_EQ(ctl("stall?value=1500"), 200);
	ASSERT_EQ(ctl("drop-watches"), 200);
	ASSERT_EQ(ctl("compact"), 200);
	str_fmt(q, sizeof(q), "delete-pod?namespace=" NS "&name=%s", pod);
	ASSERT_EQ(ctl(q), 200);
	str_fmt(gone, sizeof(gone), "pod %s gone (not listed again)", pod);
	ASSERT_EQ(wait_events(p, "workload.exit", "http-server-v2", gone, 1), 0);
	ASSERT_EQ(ctl("stall?value=0"), 200);
	ASSERT(double_lists() > lists);
	ASSERT_EQ(wait_events(p, "workload.restart", "http-server-v2", "new pod", 1), 0);
	str_fmt(gone, sizeof(gone), "pod %s ", pod);
	ASSERT_EQ(ctl("expire-mode?value=http"), 200);
	ASSERT_EQ(ctl("drop-watches"), 200);
	ASSERT_EQ(ctl("compact"), 200);
	usleep(1500 * 1000);
	ops->poll(p);
	ASSERT_EQ(ctl("expire-mode?value=event"), 200);
	ASSERT_EQ(nevents("workload.exit", "http-server-v2", gone), 1);
	ASSERT_EQ(nevents("workload.restart", "http-server-v2", "new pod"), 1);
	ASSERT_EQ(wait_ready(p, "http-server-v2", a.instance, &a), 0);
	ops->release(p);
}

TEST(forbidden_names_the_permission)
{
	struct platform *p;
	char err[512];

	p = prepare(err, sizeof(err));
	if (!p)
		H_FAIL("prepare: %s", err);
	ASSERT_EQ(ctl("deny?verb=patch&resource=deployments&group=apps"), 200);
	ASSERT_EQ(ops->start(p, spec("grpc-client"), err, sizeof(err)), -EACCES);
	ASSERT_CONTAINS(err, "start grpc-client: forbidden:");
	ASSERT_CONTAINS(err, "cannot patch resource \"deployments\" in API group \"apps\"");
	ASSERT_EQ(ctl("deny-reset"), 200);
	ops->release(p);
	/* no pod listing, no platform */
	ASSERT_EQ(ctl("deny?verb=list&resource=pods&group="), 200);
	ASSERT(prepare(err, sizeof(err)) == NULL);
	ASSERT_CONTAINS(err, "cannot list resource \"pods\"");
	ASSERT_EQ(ctl("deny-reset"), 200);
}

/* the double refuses what the API server refuses: a negative grace period */
TEST(delete_options_checked)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[256];
	long code = 0;

	str_fmt(url, sizeof(url), "%s/api/v1/namespaces/" NS "/pods/nope", server);
	h = curl_slist_append(h, "Authorization: Bearer " TOKEN);
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{\"kind\":\"DeleteOptions\",\"apiVersion\":"
			 "\"v1\",\"gracePeriodSeconds\":-1}");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	ASSERT_EQ(code, 422);
}

TEST(adopt_then_stop)
{
	struct platform *p;
	struct workload_addr a;
	struct workload_status ws[8];
	size_t adopted, restarted;
	char err[512], pod[254];
	cJSON *o = NULL;
	int i;

	/* a new conformd: takes over what the run applied, restarts nothing */
	p = prepare(err, sizeof(err));
	if (!p)
		H_FAIL("prepare: %s", err);
	ASSERT_EQ(ops->adopt(p, &adopted, &restarted, err, sizeof(err)), 0);
	ASSERT_EQ(adopted, 3);   /* http-server, grpc-server, http-server-v2 */
	ASSERT_EQ(restarted, 0);
	ASSERT_EQ(wait_ready(p, "grpc-server", 0, &a), 0);
	ASSERT_EQ(wait_events(p, "workload.adopt", "grpc-server", NULL, 1), 0);
	ASSERT_EQ(ops->start(p, spec("http-client"), err, sizeof(err)), 0);
	ASSERT_EQ(wait_ready(p, "http-client", 0, &a), 0);
	ASSERT_STR_EQ(a.listen, "");

	/* stop the servers: Deployments deleted, their pods go, the client stays */
	ASSERT_EQ(ops->stop(p, ROLE_HTTP_SERVER | ROLE_GRPC_SERVER, 5000), 0);
	ASSERT_EQ(kube_get(k, "/apis/apps/v1/namespaces/" NS "/deployments/grpc-server", &o,
			   NULL), -1);
	ASSERT_EQ(pod_of("grpc-server", "v1", pod, sizeof(pod)), -1);
	ASSERT_EQ(pod_of("http-client", NULL, pod, sizeof(pod)), 0);
	ASSERT_EQ(ops->list(p, ws, 8), 4);
	for (i = 0; i < 4; i++)
		ASSERT_EQ(ws[i].state, !strcmp(ws[i].name, "http-client") ? WL_RUNNING : WL_EXITED);
	ASSERT_EQ(ops->addresses(p, "grpc-server", &a), -ECHILD);
	ASSERT_EQ(ops->kill(p, "grpc-server", SIGTERM), -ESRCH);
	ASSERT_EQ(wait_events(p, "workload.exit", "grpc-server", "(stop)", 1), 0);
	ASSERT_EQ(ops->stop(p, ROLE_HTTP_CLIENT, 5000), 0);
	ops->release(p);

	/* nothing left of the run: adopt says so */
	p = prepare(err, sizeof(err));
	ASSERT(p);
	ASSERT_EQ(ops->adopt(p, &adopted, &restarted, err, sizeof(err)), -ENOENT);
	ASSERT_CONTAINS(err, "no deployment labelled conform.dev/run=" RUNID);
	ops->release(p);
}

int main(void)
{
	const char *t = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	struct kube_config c;
	struct run_config rc;
	struct kube_run r;
	char path[512], err[256];
	cJSON *ns;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	signal(SIGPIPE, SIG_IGN);
	log_init("test_kube_platform", LOG_ERROR);
	str_fmt(tmpdir, sizeof(tmpdir), "%s/conform-kplat.XXXXXX", t);
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	str_fmt(path, sizeof(path), "%s/store.db", tmpdir);
	if (store_open(path, 1, &st, err, sizeof(err)) < 0) {
		fprintf(stderr, "store: %s\n", err);
		return 1;
	}
	run_config_defaults(&rc);
	kube_run_defaults(&r);
	str_copy(r.mesh, sizeof(r.mesh), "linkerd");
	nspecs = kube_run_specs(&r, &rc, specs, PLATFORM_MAX_WORKLOADS, err, sizeof(err));
	if (nspecs != 5) {
		fprintf(stderr, "kube_run_specs: %d %s\n", nspecs, err);
		return 1;
	}
	RUN(ops_table);
	if (double_start()) {
		printf("not ok kubedouble_start\n");
		return 1;
	}
	env_for_double();
	kube_config_explicit(&c, server, NULL, 0, TOKEN);
	c.timeout_ms = 5000;
	k = kube_client_new(&c);
	ns = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
			 "\"metadata\":{\"name\":\"" NS "\"}}");
	kube_apply(k, "/api/v1/namespaces/" NS, ns, 1, NULL, NULL);
	cJSON_Delete(ns);
	RUN(unreachable_in_seconds);
	RUN(start_applies_and_is_idempotent);
	RUN(restart_count_and_pod_replacement);
	RUN(dropped_watch_and_410);
	RUN(forbidden_names_the_permission);
	ctl("deny-reset");
	RUN(delete_options_checked);
	RUN(adopt_then_stop);
	kube_client_free(k);
	if (double_stop()) {
		printf("not ok kubedouble_exit\n");
		h_failed++;
	}
	store_close(st);
	if (h_failed) {
		fprintf(stderr, "kept %s (double.log)\n", tmpdir);
	} else {
		char cmd[512];

		str_fmt(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", tmpdir);
	}
	TEST_MAIN_END();
}
