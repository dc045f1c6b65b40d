/*
 * test_kubeapi.c - the Kubernetes API client: paths, Status errors and pod
 * status from real-format fixtures, in-cluster config from a fake service
 * account directory, then every call against the API server double
 * (build/test/tools/kubedouble, started here on 127.0.0.1:0): create,
 * idempotent apply, stale update, 401/403/404/410/422, unreachable server,
 * token rotation, pod logs, why-pending, and list-then-watch across dropped
 * connections and an expired resourceVersion.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "harness.h"
#include "kubedouble.h"
#include "platform/kubernetes/kubeapi.h"
#include "base/util.h"



/* ---- the double ---- */

static int double_start(void)
{
	return double_start_with(0);
}

/* POST /_double/<what> (a test control call) or any raw request; returns the status */
static long raw(const char *method, const char *path, const char *ctype, const char *body,
		const char *token)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[1024], line[256];
	long code = 0;

	str_fmt(url, sizeof(url), "%s%s", server, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	if (token) {
		str_fmt(line, sizeof(line), "Authorization: Bearer %s", token);
		h = curl_slist_append(h, line);
	}
	if (ctype) {
		str_fmt(line, sizeof(line), "Content-Type: %s", ctype);
		h = curl_slist_append(h, line);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return code;
}

static long ctl(const char *what, const char *body)
{
	char path[512];

	str_fmt(path, sizeof(path), "/_double/%s", what);
	return raw("POST", path, NULL, body, NULL);
}

static struct kube_client *client(const char *token)
{
	struct kube_config c;

	if (kube_config_explicit(&c, server, NULL, 0, token))
		return NULL;
	c.timeout_ms = 5000;
	return kube_client_new(&c);
}

static cJSON *parse(const char *s)
{
	return cJSON_Parse(s);
}

/* create namespace conform once */
static void ensure_ns(struct kube_client *k)
{
	cJSON *ns = parse("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
		"\"metadata\":{\"name\":\"conform\"}}");

	kube_apply(k, "/api/v1/namespaces/conform", ns, 1, NULL, NULL);
	cJSON_Delete(ns);
}

static cJSON *pod_json(const char *name)
{
	char buf[512];

	str_fmt(buf, sizeof(buf), "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":"
		"{\"name\":\"%s\",\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":"
		"[{\"name\":\"app\",\"image\":\"conform-workload\"}]},\"status\":{\"phase\":"
		"\"Running\"}}", name);
	return parse(buf);
}

/* ---- without a server ---- */

TEST(path)
{
	char p[256];

	ASSERT_EQ(kube_path(p, sizeof(p), "v1", "conform", "pods", "web-0"), 0);
	ASSERT_STR_EQ(p, "/api/v1/namespaces/conform/pods/web-0");
	ASSERT_EQ(kube_path(p, sizeof(p), "apps/v1", "conform", "deployments", NULL), 0);
	ASSERT_STR_EQ(p, "/apis/apps/v1/namespaces/conform/deployments");
	ASSERT_EQ(kube_path(p, sizeof(p), "v1", NULL, "namespaces", "conform"), 0);
	ASSERT_STR_EQ(p, "/api/v1/namespaces/conform");
	ASSERT_EQ(kube_path(p, sizeof(p), "v1", "conform", "pods", "a/b"), -1);
	ASSERT_EQ(kube_path(p, sizeof(p), "v1", "con?form", "pods", NULL), -1);
	ASSERT_EQ(kube_path(p, 20, "v1", "conform", "pods", "web-0"), -1);
}

TEST(status_errors)
{
	struct kube_error e;

	/* real bodies (apimachinery pkg/api/errors/errors.go) */
	kube_error_from_answer(&e, 403, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
		"\"status\":\"Failure\",\"message\":\"pods \\\"web-0\\\" is forbidden: User "
		"\\\"system:serviceaccount:conform:conform\\\" cannot get resource \\\"pods\\\" in "
		"API group \\\"\\\" in the namespace \\\"emojivoto\\\"\",\"reason\":\"Forbidden\","
		"\"details\":{\"name\":\"web-0\",\"kind\":\"pods\"},\"code\":403}", "GET", "u");
	ASSERT_EQ(e.code, 403);
	ASSERT_STR_EQ(e.reason, "Forbidden");
	ASSERT_STR_EQ(e.name, "web-0");
	ASSERT_STR_EQ(e.kind, "pods");
	ASSERT_CONTAINS(e.text, "forbidden: pods \"web-0\" is forbidden");
	ASSERT_CONTAINS(e.text, "cannot get resource \"pods\"");
	ASSERT_CONTAINS(e.text, "in the namespace \"emojivoto\"");

	kube_error_from_answer(&e, 409, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
		"\"status\":\"Failure\",\"message\":\"Apply failed with 1 conflict: conflict with "
		"\\\"kubectl-client-side-apply\\\" using apps/v1: .spec.replicas\",\"reason\":"
		"\"Conflict\",\"details\":{\"causes\":[{\"reason\":\"FieldManagerConflict\","
		"\"message\":\"conflict with \\\"kubectl-client-side-apply\\\" using apps/v1\","
		"\"field\":\".spec.replicas\"}]},\"code\":409}", "PATCH", "u");
	ASSERT_STR_EQ(e.reason, "Conflict");
	ASSERT_CONTAINS(e.causes, ".spec.replicas: conflict with");
	ASSERT_CONTAINS(e.text, "conflict: Apply failed");

	kube_error_from_answer(&e, 200, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
		"\"status\":\"Failure\",\"message\":\"too old resource version: 1000 (2000)\","
		"\"reason\":\"Expired\",\"code\":410}", "WATCH", "u");
	ASSERT_EQ(e.code, 410);
	ASSERT_CONTAINS(e.text, "expired: too old resource version");

	/* not a Status: the aggregator's plain text (kube-aggregator handler_proxy.go) */
	kube_error_from_answer(&e, 503, "service unavailable\n", "POST", "https://x/apis/tap");
	ASSERT_EQ(e.code, 503);
	ASSERT_STR_EQ(e.reason, "");
	ASSERT_CONTAINS(e.text, "503");
	ASSERT_CONTAINS(e.text, "service unavailable");
	ASSERT_CONTAINS(e.text, "https://x/apis/tap");
}

TEST(pod_status_and_why)
{
	char why[512];
	struct kube_pod_status st;
	cJSON *pod, *ev;

	/* k8s.io/api core/v1 PodStatus as the kubelet writes it */
	pod = parse("{\"kind\":\"Pod\",\"metadata\":{\"name\":\"web-0\"},\"status\":{\"phase\":"
		"\"Running\",\"containerStatuses\":[{\"name\":\"app\",\"ready\":false,"
		"\"restartCount\":4,\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\","
		"\"message\":\"back-off 1m20s restarting failed container\"}},\"lastState\":"
		"{\"terminated\":{\"exitCode\":137,\"reason\":\"OOMKilled\"}}},{\"name\":"
		"\"linkerd-proxy\",\"ready\":true,\"restartCount\":1,\"state\":{\"running\":{}}}]}}");
	ASSERT_EQ(kube_pod_status_read(pod, &st), 0);
	ASSERT_STR_EQ(st.phase, "Running");
	ASSERT_EQ(st.ncontainers, 2);
	ASSERT_EQ(st.restarts, 5);
	ASSERT_EQ(st.c[0].restarts, 4);
	ASSERT_STR_EQ(st.c[0].last_reason, "OOMKilled");
	ASSERT_EQ(st.c[0].last_exit_code, 137);
	ASSERT_STR_EQ(st.c[1].state, "running");
	kube_pod_why(pod, NULL, why, sizeof(why));
	ASSERT_CONTAINS(why, "container app: CrashLoopBackOff");
	ASSERT_CONTAINS(why, "last exit 137 OOMKilled");
	cJSON_Delete(pod);

	pod = parse("{\"kind\":\"Pod\",\"metadata\":{\"name\":\"web-1\"},\"status\":{\"phase\":"
		"\"Pending\",\"containerStatuses\":[{\"name\":\"app\",\"restartCount\":0,\"state\":"
		"{\"waiting\":{\"reason\":\"ImagePullBackOff\",\"message\":\"Back-off pulling image "
		"\\\"nope:1\\\"\"}}}]}}");
	kube_pod_why(pod, NULL, why, sizeof(why));
	ASSERT_STR_EQ(why, "container app: ImagePullBackOff: Back-off pulling image \"nope:1\"");
	cJSON_Delete(pod);

	pod = parse("{\"kind\":\"Pod\",\"metadata\":{\"name\":\"web-2\"},\"status\":{\"phase\":"
		"\"Pending\",\"conditions\":[{\"type\":\"PodScheduled\",\"status\":\"False\","
		"\"reason\":\"Unschedulable\",\"message\":\"0/3 nodes are available: 3 Insufficient "
		"cpu.\"}]}}");
	kube_pod_why(pod, NULL, why, sizeof(why));
	ASSERT_STR_EQ(why, "not scheduled: Unschedulable: 0/3 nodes are available: 3 Insufficient cpu.");
	cJSON_Delete(pod);

	/* nothing in the status: the newest Warning event says it */
	pod = parse("{\"kind\":\"Pod\",\"metadata\":{\"name\":\"web-3\"},\"status\":{\"phase\":"
		"\"Pending\"}}");
	ev = parse("{\"kind\":\"EventList\",\"items\":[{\"type\":\"Warning\",\"reason\":\"Old\","
		"\"message\":\"older\",\"lastTimestamp\":\"2026-01-01T00:00:00Z\"},{\"type\":"
		"\"Warning\",\"reason\":\"FailedMount\",\"message\":\"configmap \\\"x\\\" not found\","
		"\"eventTime\":\"2026-01-01T00:00:05.000000Z\"},{\"type\":\"Normal\",\"reason\":"
		"\"Scheduled\",\"message\":\"ok\",\"lastTimestamp\":\"2026-01-01T00:01:00Z\"}]}");
	kube_pod_why(pod, ev, why, sizeof(why));
	ASSERT_STR_EQ(why, "event FailedMount: configmap \"x\" not found");
	kube_pod_why(pod, NULL, why, sizeof(why));
	ASSERT_STR_EQ(why, "pending (no reason reported yet)");
	cJSON_Delete(ev);
	cJSON_Delete(pod);

	ev = parse("{\"kind\":\"Service\"}");
	ASSERT_EQ(kube_pod_status_read(ev, &st), -1);
	cJSON_Delete(ev);
}

static int write_file(const char *dir, const char *name, const char *text)
{
	char p[512];

	str_fmt(p, sizeof(p), "%s/%s", dir, name);
	return file_write_atomic(p, text, strlen(text), 0600);
}

TEST(in_cluster_config)
{
	struct kube_config c;
	char sa[300], err[512];

	str_fmt(sa, sizeof(sa), "%s/sa", tmpdir);
	ASSERT_EQ(mkdir_p(sa, 0700), 0);
	unsetenv("KUBERNETES_SERVICE_HOST");
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	ASSERT_EQ(kube_config_in_cluster(&c, sa, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "KUBERNETES_SERVICE_HOST");
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	ASSERT_EQ(kube_config_in_cluster(&c, sa, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "/sa/token");
	ASSERT_EQ(write_file(sa, "token", "tok-1\n"), 0);
	ASSERT_EQ(kube_config_in_cluster(&c, sa, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "ca.crt");
	ASSERT_EQ(write_file(sa, "ca.crt", "-----BEGIN CERTIFICATE-----\n"), 0);
	ASSERT_EQ(write_file(sa, "namespace", "conform"), 0);
	ASSERT_EQ(kube_config_in_cluster(&c, sa, err, sizeof(err)), 0);
	ASSERT_STR_EQ(c.server, "https://10.96.0.1:443");
	ASSERT_STR_EQ(c.namespace, "conform");
	ASSERT_CONTAINS(c.token_file, "/sa/token");
	ASSERT_CONTAINS(c.ca_file, "/sa/ca.crt");
	ASSERT_EQ(c.insecure, 0);
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	ASSERT_EQ(kube_config_in_cluster(&c, sa, err, sizeof(err)), 0);
	ASSERT_STR_EQ(c.server, "https://[fd00::1]:443");
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
}

/* ---- against the double ---- */

TEST(create_get_conflicts)
{
	struct kube_client *k = client(TOKEN);
	struct kube_error e;
	cJSON *cm, *out = NULL, *stale;
	char rv1[32];

	ASSERT(k);
	ensure_ns(k);
	cm = parse("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
		"\"conform-state\"},\"data\":{\"a\":\"1\"}}");
	ASSERT_EQ(kube_create(k, "/api/v1/namespaces/conform/configmaps", cm, &out, &e), 0);
	str_copy(rv1, sizeof(rv1), cJSON_GetObjectItem(cJSON_GetObjectItem(out, "metadata"),
		"resourceVersion")->valuestring);
	ASSERT(rv1[0]);
	/* create again: 409 AlreadyExists */
	ASSERT_EQ(kube_create(k, "/api/v1/namespaces/conform/configmaps", cm, NULL, &e), -1);
	ASSERT_EQ(e.code, 409);
	ASSERT_STR_EQ(e.reason, "AlreadyExists");
	ASSERT_CONTAINS(e.text, "configmaps \"conform-state\" already exists");
	/* update from a current copy works; then the old copy is stale: 409 Conflict */
	stale = cJSON_Duplicate(out, 1);
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(out, "data"), "a", cJSON_CreateString("2"));
	ASSERT_EQ(kube_update(k, "/api/v1/namespaces/conform/configmaps/conform-state", out,
		NULL, &e), 0);
	ASSERT_EQ(kube_update(k, "/api/v1/namespaces/conform/configmaps/conform-state", stale,
		NULL, &e), -1);
	ASSERT_EQ(e.code, 409);
	ASSERT_STR_EQ(e.reason, "Conflict");
	ASSERT_CONTAINS(e.text, "the object has been modified");
	cJSON_Delete(stale);
	cJSON_Delete(out);
	out = NULL;
	ASSERT_EQ(kube_get(k, "/api/v1/namespaces/conform/configmaps/conform-state", &out, &e), 0);
	ASSERT_STR_EQ(cJSON_GetObjectItem(cJSON_GetObjectItem(out, "data"), "a")->valuestring, "2");
	cJSON_Delete(out);
	/* 404 with the kind and name */
	ASSERT_EQ(kube_get(k, "/api/v1/namespaces/conform/configmaps/nope", &out, &e), -1);
	ASSERT(out == NULL);
	ASSERT_EQ(e.code, 404);
	ASSERT_CONTAINS(e.text, "not found: configmaps \"nope\" not found");
	/* delete, then delete again: 404 */
	ASSERT_EQ(kube_delete(k, "/api/v1/namespaces/conform/configmaps/conform-state",
		"Background", &e), 0);
	ASSERT_EQ(kube_delete(k, "/api/v1/namespaces/conform/configmaps/conform-state",
		"Foreground", &e), -1);
	ASSERT_EQ(e.code, 404);
	ASSERT_EQ(kube_delete(k, "/api/v1/namespaces/conform/configmaps/x", "Sideways", &e), -1);
	ASSERT_CONTAINS(e.text, "bad propagation policy");
	/* the double says no to a bad policy the way the server does */
	ASSERT_EQ(raw("DELETE", "/api/v1/namespaces/conform/configmaps/x?propagationPolicy=Sideways",
		NULL, NULL, TOKEN), 422);
	cJSON_Delete(cm);
	kube_client_free(k);
}

static const char *rv_of(const cJSON *o)
{
	const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), "resourceVersion");

	return cJSON_IsString(v) ? v->valuestring : "";
}

TEST(apply_idempotent_and_patches)
{
	struct kube_client *k = client(TOKEN);
	struct kube_error e;
	cJSON *d, *a = NULL, *b = NULL, *c = NULL;
	const char *path = "/apis/apps/v1/namespaces/conform/deployments/web";

	ASSERT(k);
	ensure_ns(k);
	d = parse("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":"
		"\"web\",\"labels\":{\"app\":\"web\"}},\"spec\":{\"replicas\":2}}");
	ASSERT_EQ(kube_apply(k, path, d, 1, &a, &e), 0);
	ASSERT_EQ(kube_apply(k, path, d, 1, &b, &e), 0);
	/* the second apply changed nothing: same resourceVersion */
	ASSERT_STR_EQ(rv_of(a), rv_of(b));
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(d, "spec"), "replicas", cJSON_CreateNumber(3));
	ASSERT_EQ(kube_apply(k, path, d, 1, &c, &e), 0);
	ASSERT(strcmp(rv_of(b), rv_of(c)));
	ASSERT_EQ(cJSON_GetObjectItem(cJSON_GetObjectItem(c, "spec"), "replicas")->valueint, 3);
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(c);
	a = b = c = NULL;
	/* a name that does not match the URL: 400 */
	ASSERT_EQ(kube_apply(k, "/apis/apps/v1/namespaces/conform/deployments/other", d, 1,
		NULL, &e), -1);
	ASSERT_EQ(e.code, 400);
	/* the double wants fieldManager on apply (422) and no force on other patches */
	ASSERT_EQ(raw("PATCH", path, "application/apply-patch+yaml",
		"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\"}}",
		TOKEN), 422);
	ASSERT_EQ(raw("PATCH", "/apis/apps/v1/namespaces/conform/deployments/web?force=true",
		"application/merge-patch+json", "{}", TOKEN), 422);
	ASSERT_EQ(raw("PATCH", path, "text/plain", "{}", TOKEN), 415);
	/* merge patch and JSON patch */
	ASSERT_EQ(kube_patch(k, path, KUBE_PATCH_MERGE,
		"{\"metadata\":{\"labels\":{\"app\":null,\"tier\":\"front\"}}}", &a, &e), 0);
	ASSERT(!cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(a, "metadata"),
		"labels"), "app"));
	ASSERT_EQ(kube_patch(k, path, KUBE_PATCH_JSON,
		"[{\"op\":\"test\",\"path\":\"/spec/replicas\",\"value\":3},"
		"{\"op\":\"replace\",\"path\":\"/spec/replicas\",\"value\":1}]", &b, &e), 0);
	ASSERT_EQ(cJSON_GetObjectItem(cJSON_GetObjectItem(b, "spec"), "replicas")->valueint, 1);
	ASSERT_EQ(kube_patch(k, path, KUBE_PATCH_JSON,
		"[{\"op\":\"test\",\"path\":\"/spec/replicas\",\"value\":3}]", NULL, &e), -1);
	ASSERT_EQ(e.code, 422);
	ASSERT_CONTAINS(e.text, "invalid: testing value /spec/replicas failed");
	/* strategic merge is for built-in kinds only */
	ASSERT_EQ(kube_patch(k, "/apis/gateway.networking.k8s.io/v1/namespaces/conform/httproutes/r",
		KUBE_PATCH_STRATEGIC, "{}", NULL, &e), -1);
	ASSERT_EQ(e.code, 415);
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(d);
	kube_client_free(k);
}

TEST(auth_forbidden_unreachable)
{
	struct kube_client *k = client("wrong-token"), *ok = client(TOKEN), *off;
	struct kube_config c;
	struct kube_error e;
	cJSON *out = NULL;
	int64_t t0;

	ASSERT(k && ok);
	ASSERT_EQ(kube_list(k, "/api/v1/namespaces/conform/pods", NULL, NULL, &out, NULL, 0, &e), -1);
	ASSERT_EQ(e.code, 401);
	ASSERT_CONTAINS(e.text, "unauthorized: the API server rejected the bearer token");
	kube_client_free(k);

	ASSERT_EQ(ctl("deny?verb=list&resource=pods&namespace=conform&group=", NULL), 200);
	ASSERT_EQ(kube_list(ok, "/api/v1/namespaces/conform/pods", NULL, NULL, &out, NULL, 0, &e), -1);
	ASSERT_EQ(e.code, 403);
	ASSERT_CONTAINS(e.text, "pods is forbidden: User \"system:serviceaccount:conform:conform\" "
		"cannot list resource \"pods\" in API group \"\" in the namespace \"conform\"");
	ASSERT_CONTAINS(e.text, "grant that permission");
	ASSERT_EQ(ctl("deny?verb=get&resource=deployments&group=apps", NULL), 200);
	ASSERT_EQ(kube_get(ok, "/apis/apps/v1/namespaces/conform/deployments/web", &out, &e), -1);
	ASSERT_CONTAINS(e.text, "deployments.apps \"web\" is forbidden: User "
		"\"system:serviceaccount:conform:conform\" cannot get resource \"deployments\" in API "
		"group \"apps\" in the namespace \"conform\"");
	ASSERT_STR_EQ(e.group, "apps");
	ASSERT_EQ(ctl("deny-reset", NULL), 200);
	ASSERT_EQ(kube_list(ok, "/api/v1/namespaces/conform/pods", NULL, NULL, &out, NULL, 0, &e), 0);
	cJSON_Delete(out);
	kube_client_free(ok);

	/* a server that takes the request and does not answer: the call's timeout */
	{
		struct kube_config sc;
		struct kube_client *slow;

		ASSERT_EQ(kube_config_explicit(&sc, server, NULL, 0, TOKEN), 0);
		sc.timeout_ms = 1000;
		slow = kube_client_new(&sc);
		ASSERT_EQ(ctl("stall?value=3000", NULL), 200);
		t0 = mono_ms();
		ASSERT_EQ(kube_get(slow, "/api/v1/namespaces/conform", &out, &e), -1);
		ASSERT(mono_ms() - t0 < 2500);
		ASSERT_EQ(ctl("stall?value=0", NULL), 200);
		ASSERT_CONTAINS(e.text, "cluster unreachable at http://127.0.0.1:");
		ASSERT_CONTAINS(e.text, "timed out");
		kube_client_free(slow);
	}

	/* nothing listens on port 1 of loopback: refused, said at once */
	ASSERT_EQ(kube_config_explicit(&c, "http://127.0.0.1:1", NULL, 0, TOKEN), 0);
	off = kube_client_new(&c);
	t0 = mono_ms();
	ASSERT_EQ(kube_get(off, "/api/v1/namespaces/conform", &out, &e), -1);
	ASSERT(mono_ms() - t0 < 6000);
	ASSERT_EQ(e.code, 0);
	ASSERT_CONTAINS(e.text, "cluster unreachable at http://127.0.0.1:1");
	kube_client_free(off);
}

TEST(token_rotation)
{
	struct kube_config c;
	struct kube_client *k;
	struct kube_error e;
	char tf[512];
	cJSON *out = NULL;
	unsigned long n;
	struct stat sb;
	struct timespec times[2];
	FILE *f;

	str_fmt(tf, sizeof(tf), "%s/token", tmpdir);
	ASSERT_EQ(write_file(tmpdir, "token", TOKEN "\n"), 0);
	ASSERT_EQ(kube_config_explicit(&c, server, NULL, 0, NULL), 0);
	str_copy(c.token_file, sizeof(c.token_file), tf);
	k = kube_client_new(&c);
	ASSERT_EQ(kube_get(k, "/api/v1/namespaces/conform", &out, &e), 0);
	cJSON_Delete(out);
	/* the kubelet writes a new token and the old one stops working: the
	 * changed file is read before the call, so one request does it */
	ASSERT_EQ(ctl("token?value=rotated-token-2", NULL), 200);
	ASSERT_EQ(write_file(tmpdir, "token", "rotated-token-2\n"), 0);
	n = kube_client_requests(k);
	ASSERT_EQ(kube_get(k, "/api/v1/namespaces/conform", &out, &e), 0);
	ASSERT_EQ(kube_client_requests(k) - n, 1);
	cJSON_Delete(out);
	/* a change the file's stat does not show (same inode, size, mtime):
	 * the 401 makes the client read the file again and retry once */
	ASSERT_EQ(stat(tf, &sb), 0);
	ASSERT_EQ(ctl("token?value=rotated-token-3", NULL), 200);
	f = fopen(tf, "r+");
	ASSERT(f);
	ASSERT_EQ(fputs("rotated-token-3\n", f) >= 0, 1);
	fclose(f);
	times[0] = sb.st_atim;
	times[1] = sb.st_mtim;
	ASSERT_EQ(utimensat(AT_FDCWD, tf, times, 0), 0);
	n = kube_client_requests(k);
	ASSERT_EQ(kube_get(k, "/api/v1/namespaces/conform", &out, &e), 0);
	ASSERT_EQ(kube_client_requests(k) - n, 2);
	cJSON_Delete(out);
	/* a token nobody accepts: still 401 after the one retry */
	ASSERT_EQ(ctl("token?value=rotated-token-4", NULL), 200);
	ASSERT_EQ(kube_get(k, "/api/v1/namespaces/conform", &out, &e), -1);
	ASSERT_EQ(e.code, 401);
	ASSERT_EQ(ctl("token?value=" TOKEN, NULL), 200);
	kube_client_free(k);
}

TEST(logs_and_why_pending)
{
	struct kube_client *k = client(TOKEN);
	struct kube_error e;
	cJSON *p = pod_json("logpod"), *pod = NULL, *evs = NULL;
	char *log = NULL, why[512];

	ASSERT(k);
	ensure_ns(k);
	ASSERT_EQ(kube_create(k, "/api/v1/namespaces/conform/pods", p, NULL, &e), 0);
	ASSERT_EQ(ctl("logs?namespace=conform&name=logpod", "one\ntwo\nthree\nfour\n"), 200);
	ASSERT_EQ(kube_logs(k, "conform", "logpod", NULL, 2, 0, &log, &e), 0);
	ASSERT_STR_EQ(log, "three\nfour\n");
	free(log);
	ASSERT_EQ(kube_logs(k, "conform", "logpod", "sidecar", 2, 0, &log, &e), -1);
	ASSERT_EQ(e.code, 400);
	ASSERT_CONTAINS(e.text, "container sidecar is not valid for pod logpod");
	/* the previous instance exists only after a restart */
	ASSERT_EQ(kube_logs(k, "conform", "logpod", NULL, 2, 1, &log, &e), -1);
	ASSERT_EQ(ctl("restart?namespace=conform&name=logpod&exitCode=2", NULL), 200);
	ASSERT_EQ(kube_logs(k, "conform", "logpod", NULL, 1, 1, &log, &e), 0);
	ASSERT_STR_EQ(log, "four\n");
	free(log);

	/* an answer over the cap is refused, not swallowed: 10000 lines of 1 KiB */
	{
		char line[1025];

		memset(line, 'x', 1023);
		line[1023] = '\n';
		line[1024] = '\0';
		ASSERT_EQ(ctl("logs?namespace=conform&name=logpod&repeat=10000", line), 200);
		ASSERT_EQ(kube_logs(k, "conform", "logpod", NULL, 10000, 0, &log, &e), -1);
		ASSERT(log == NULL);
		ASSERT_CONTAINS(e.text, "is larger than 8388608 bytes");
		ASSERT_EQ(kube_logs(k, "conform", "logpod", NULL, 3, 0, &log, &e), 0);
		ASSERT_EQ(strlen(log), 3 * 1024);
		free(log);
	}

	/* ImagePullBackOff: the container's waiting reason and a kubelet event */
	ASSERT_EQ(ctl("pending?namespace=conform&name=logpod&reason=ImagePullBackOff&"
		"message=Back-off%20pulling%20image", NULL), 200);
	ASSERT_EQ(kube_get(k, "/api/v1/namespaces/conform/pods/logpod", &pod, &e), 0);
	ASSERT_EQ(kube_list(k, "/api/v1/namespaces/conform/events", NULL,
		"involvedObject.kind=Pod,involvedObject.name=logpod", &evs, NULL, 0, &e), 0);
	ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(evs, "items")), 1);
	kube_pod_why(pod, evs, why, sizeof(why));
	ASSERT_STR_EQ(why, "container app: ImagePullBackOff: Back-off pulling image");
	cJSON_Delete(pod);
	cJSON_Delete(evs);
	/* the field selector filters: another pod's events are not listed */
	ASSERT_EQ(kube_list(k, "/api/v1/namespaces/conform/events", NULL,
		"involvedObject.name=otherpod", &evs, NULL, 0, &e), 0);
	ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(evs, "items")), 0);
	cJSON_Delete(evs);
	cJSON_Delete(p);

	/* the same through one call; a pod that is not there is a 404 */
	{
		struct kube_pod_status st;
		cJSON *p2;

		ASSERT_EQ(kube_pod_diagnose(k, "conform", "logpod", &st, why, sizeof(why), &e), 0);
		ASSERT_STR_EQ(st.phase, "Pending");
		ASSERT_EQ(st.restarts, 1);
		ASSERT_STR_EQ(why, "container app: ImagePullBackOff: Back-off pulling image");
		/* nothing in the status: the pod's own Warning event, not another pod's */
		p2 = parse("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":"
			"\"quiet\"},\"status\":{\"phase\":\"Pending\"}}");
		ASSERT_EQ(kube_create(k, "/api/v1/namespaces/conform/pods", p2, NULL, &e), 0);
		cJSON_Delete(p2);
		p2 = parse("{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"metadata\":{\"name\":"
			"\"quiet.1\"},\"involvedObject\":{\"kind\":\"Pod\",\"name\":\"quiet\"},"
			"\"type\":\"Warning\",\"reason\":\"FailedMount\",\"message\":\"configmap "
			"\\\"cfg\\\" not found\",\"lastTimestamp\":\"2026-01-01T00:00:00Z\"}");
		ASSERT_EQ(kube_create(k, "/api/v1/namespaces/conform/events", p2, NULL, &e), 0);
		cJSON_Delete(p2);
		ASSERT_EQ(kube_pod_diagnose(k, "conform", "quiet", &st, why, sizeof(why), &e), 0);
		ASSERT_STR_EQ(why, "event FailedMount: configmap \"cfg\" not found");
		ASSERT_EQ(kube_pod_diagnose(k, "conform", "gone", &st, why, sizeof(why), &e), -1);
		ASSERT_EQ(e.code, 404);
		ASSERT_CONTAINS(e.text, "pods \"gone\" not found");
	}

	p = pod_json("nowhere");
	ASSERT_EQ(kube_create(k, "/api/v1/namespaces/conform/pods", p, NULL, &e), 0);
	ASSERT_EQ(ctl("pending?namespace=conform&name=nowhere&reason=Unschedulable&"
		"message=0/3%20nodes%20are%20available", NULL), 200);
	ASSERT_EQ(kube_get(k, "/api/v1/namespaces/conform/pods/nowhere", &pod, &e), 0);
	kube_pod_why(pod, NULL, why, sizeof(why));
	ASSERT_STR_EQ(why, "not scheduled: Unschedulable: 0/3 nodes are available");
	cJSON_Delete(pod);
	cJSON_Delete(p);
	kube_client_free(k);
}

/* ---- list-then-watch ---- */

#define MAXEV 256
struct seen {
	pthread_mutex_t mu;
	int n;
	struct { char type[12]; char name[64]; char rv[32]; long restarts; int epoch; } ev[MAXEV];
	int syncs;
	int synced;                  /* "SYNCED": lists completed */
};

static int on_event(void *arg, const char *type, const cJSON *o)
{
	struct seen *s = arg;
	const cJSON *md = cJSON_GetObjectItem(o, "metadata");
	struct kube_pod_status st;

	pthread_mutex_lock(&s->mu);
	if (!strcmp(type, "SYNC")) {
		s->syncs++;
	} else if (!strcmp(type, "SYNCED")) {
		s->synced++;
	} else if (s->n < MAXEV) {
		str_copy(s->ev[s->n].type, sizeof(s->ev[0].type), type);
		str_copy(s->ev[s->n].name, sizeof(s->ev[0].name),
			cJSON_GetObjectItem(md, "name")->valuestring);
		str_copy(s->ev[s->n].rv, sizeof(s->ev[0].rv), rv_of(o));
		kube_pod_status_read(o, &st);
		s->ev[s->n].restarts = st.restarts;
		s->ev[s->n].epoch = s->syncs;
		s->n++;
	}
	pthread_mutex_unlock(&s->mu);
	return 0;
}

struct watcher {
	struct kube_client *k;
	struct seen seen;
	struct kube_watch_stats st;
	struct kube_error err;
	atomic_int stop;
	int rc;
};

/* a watch a failed test left running; main stops it */
static struct watcher *running;
static pthread_t running_th;

static void *watch_thread(void *arg)
{
	struct watcher *w = arg;
	struct kube_watch_opts o = { .label_selector = "app=web", .max_ms = 30000,
		.timeout_s = 60, .stop = &w->stop };

	w->rc = kube_watch(w->k, "/api/v1/namespaces/conform/pods", &o, on_event, &w->seen,
			&w->st, &w->err);
	return NULL;
}

/* how many events of type for name were seen since the last SYNC (-1: never) */
static int count(struct seen *s, const char *type, const char *name)
{
	int i, n = 0;

	pthread_mutex_lock(&s->mu);
	for (i = 0; i < s->n; i++)
		if (!strcmp(s->ev[i].type, type) && !strcmp(s->ev[i].name, name))
			n++;
	pthread_mutex_unlock(&s->mu);
	return n;
}

static int wait_count(struct seen *s, const char *type, const char *name, int want)
{
	int64_t end = mono_ms() + 8000;

	while (mono_ms() < end) {
		if (count(s, type, name) >= want)
			return 0;
		usleep(20000);
	}
	return -1;
}

static long last_restarts(struct seen *s, const char *name)
{
	long r = -1;
	int i;

	pthread_mutex_lock(&s->mu);
	for (i = 0; i < s->n; i++)
		if (!strcmp(s->ev[i].name, name))
			r = s->ev[i].restarts;
	pthread_mutex_unlock(&s->mu);
	return r;
}

/* wait until the newest event of name shows want restarts */
static int wait_restarts(struct seen *s, const char *name, long want)
{
	int64_t end = mono_ms() + 8000;

	while (mono_ms() < end) {
		if (last_restarts(s, name) == want)
			return 0;
		usleep(20000);
	}
	return -1;
}

static int create_pod(struct kube_client *k, const char *name)
{
	cJSON *p = pod_json(name);
	int rc = kube_create(k, "/api/v1/namespaces/conform/pods", p, NULL, NULL);

	cJSON_Delete(p);
	return rc;
}

TEST(watch_resume_relist)
{
	struct kube_client *k = client(TOKEN);
	static struct watcher w;   /* outlives a failed test: the thread uses it */
	pthread_t th;
	int i, j, dups = 0;

	ASSERT(k);
	ensure_ns(k);
	memset(&w, 0, sizeof(w));
	pthread_mutex_init(&w.seen.mu, NULL);
	w.k = client(TOKEN);
	ASSERT_EQ(create_pod(k, "w-before"), 0);
	ASSERT_EQ(ctl("bookmark-ms?value=200", NULL), 200);
	ASSERT_EQ(pthread_create(&th, NULL, watch_thread, &w), 0);
	running = &w;
	running_th = th;

	/* the first list shows what was there */
	ASSERT_EQ(wait_count(&w.seen, "ADDED", "w-before", 1), 0);
	ASSERT_EQ(create_pod(k, "w-1"), 0);
	ASSERT_EQ(wait_count(&w.seen, "ADDED", "w-1", 1), 0);

	/* the connection drops; what happens meanwhile arrives once after the resume */
	ASSERT_EQ(ctl("drop-watches", NULL), 200);
	ASSERT_EQ(create_pod(k, "w-2"), 0);
	ASSERT_EQ(wait_count(&w.seen, "ADDED", "w-2", 1), 0);
	ASSERT_EQ(ctl("drop-watches", NULL), 200);
	ASSERT_EQ(ctl("restart?namespace=conform&name=w-1", NULL), 200);
	ASSERT_EQ(wait_count(&w.seen, "MODIFIED", "w-1", 1), 0);
	ASSERT_EQ(wait_restarts(&w.seen, "w-1", 1), 0);
	ASSERT_EQ(count(&w.seen, "ADDED", "w-1"), 1);
	ASSERT_EQ(count(&w.seen, "ADDED", "w-2"), 1);
	ASSERT_EQ(count(&w.seen, "ADDED", "w-before"), 1);
	ASSERT_EQ(w.seen.syncs, 1);
	ASSERT_EQ(w.seen.synced, 1);
	ASSERT(w.st.watches >= 3);

	/* bookmarks move the version forward while nothing happens */
	usleep(500000);
	ASSERT(w.st.bookmarks >= 1);

	/* history compacted while disconnected: 410 on resume, then a full re-list */
	ASSERT_EQ(ctl("drop-watches", NULL), 200);
	ASSERT_EQ(ctl("compact", NULL), 200);
	ASSERT_EQ(ctl("restart?namespace=conform&name=w-1", NULL), 200);
	ASSERT_EQ(wait_count(&w.seen, "ADDED", "w-1", 2), 0);  /* listed again */
	ASSERT_EQ(w.seen.syncs, 2);
	ASSERT(w.st.expired >= 1);
	ASSERT_EQ(w.st.lists, 2);
	ASSERT_EQ(wait_restarts(&w.seen, "w-1", 2), 0);

	/* the same as a plain HTTP 410 answer to the resumed watch */
	ASSERT_EQ(ctl("expire-mode?value=http", NULL), 200);
	ASSERT_EQ(ctl("drop-watches", NULL), 200);
	ASSERT_EQ(ctl("compact", NULL), 200);
	ASSERT_EQ(ctl("restart?namespace=conform&name=w-1", NULL), 200);
	ASSERT_EQ(wait_count(&w.seen, "ADDED", "w-1", 3), 0);
	ASSERT_EQ(ctl("expire-mode?value=event", NULL), 200);
	ASSERT_EQ(w.seen.syncs, 3);
	ASSERT_EQ(w.st.lists, 3);
	ASSERT_EQ(wait_restarts(&w.seen, "w-1", 3), 0);

	/* a deleted pod is seen */
	ASSERT_EQ(ctl("delete-pod?namespace=conform&name=w-2", NULL), 200);
	ASSERT_EQ(wait_count(&w.seen, "DELETED", "w-2", 1), 0);
	/* every list was followed by its end, before the events after it */
	ASSERT_EQ(w.seen.synced, 3);

	atomic_store(&w.stop, 1);
	pthread_join(th, NULL);
	running = NULL;
	ASSERT_EQ(w.rc, 0);
	/* between two lists, no (type, name, resourceVersion) twice */
	for (i = 0; i < w.seen.n; i++)
		for (j = i + 1; j < w.seen.n; j++)
			if (w.seen.ev[i].epoch == w.seen.ev[j].epoch && !strcmp(w.seen.ev[i].type, w.seen.ev[j].type) &&
			    !strcmp(w.seen.ev[i].name, w.seen.ev[j].name) &&
			    !strcmp(w.seen.ev[i].rv, w.seen.ev[j].rv))
				dups++;
	ASSERT_EQ(dups, 0);
	kube_client_free(w.k);
	kube_client_free(k);
}

TEST(watch_fatal_errors)
{
	struct kube_client *k = client(TOKEN);
	struct seen s;
	struct kube_error e;
	struct kube_watch_stats st;
	struct kube_watch_opts o = { .max_ms = 5000 };
	struct kube_config c;
	int64_t t0;

	ASSERT(k);
	memset(&s, 0, sizeof(s));
	pthread_mutex_init(&s.mu, NULL);
	ASSERT_EQ(ctl("deny?verb=watch&resource=pods&namespace=conform", NULL), 200);
	t0 = mono_ms();
	ASSERT_EQ(kube_watch(k, "/api/v1/namespaces/conform/pods", &o, on_event, &s, &st, &e), -1);
	ASSERT(mono_ms() - t0 < 4000);
	ASSERT_EQ(e.code, 403);
	ASSERT_CONTAINS(e.text, "cannot watch resource \"pods\"");
	ASSERT_EQ(ctl("deny-reset", NULL), 200);
	kube_client_free(k);

	/* an unreachable server: gives up after its retries, well within the time */
	ASSERT_EQ(kube_config_explicit(&c, "http://127.0.0.1:1", NULL, 0, TOKEN), 0);
	k = kube_client_new(&c);
	o.max_retries = 3;
	t0 = mono_ms();
	ASSERT_EQ(kube_watch(k, "/api/v1/namespaces/conform/pods", &o, on_event, &s, &st, &e), -1);
	ASSERT(mono_ms() - t0 < 4000);
	ASSERT_CONTAINS(e.text, "cluster unreachable at http://127.0.0.1:1");
	kube_client_free(k);
}

/* what a failed test may leave behind: a watch, a denial, a rotated token */
static void after_test(void)
{
	if (running) {
		atomic_store(&running->stop, 1);
		pthread_join(running_th, NULL);
		running = NULL;
	}
	ctl("deny-reset", NULL);
	ctl("token?value=" TOKEN, NULL);
	ctl("expire-mode?value=event", NULL);
	ctl("stall?value=0", NULL);
}
#define RUN_D(name) do { RUN(name); after_test(); } while (0)

int main(void)
{
	const char *t = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	curl_global_init(CURL_GLOBAL_DEFAULT);
	signal(SIGPIPE, SIG_IGN);
	str_fmt(tmpdir, sizeof(tmpdir), "%s/conform-kubeapi.XXXXXX", t);
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(path);
	RUN(status_errors);
	RUN(pod_status_and_why);
	RUN(in_cluster_config);
	if (double_start()) {
		printf("not ok kubedouble_start\n");
		return 1;
	}
	RUN_D(create_get_conflicts);
	RUN_D(apply_idempotent_and_patches);
	RUN_D(auth_forbidden_unreachable);
	RUN_D(token_rotation);
	RUN_D(logs_and_why_pending);
	RUN_D(watch_resume_relist);
	RUN_D(watch_fatal_errors);
	if (double_stop()) {
		printf("not ok kubedouble_exit\n");
		h_failed++;
	}
	if (h_failed) {
		char lf[512];
		char *log;

		str_fmt(lf, sizeof(lf), "%s/double.log", tmpdir);
		log = file_read(lf, 1 << 20, NULL);
		if (log) {
			size_t n = strlen(log);

			fprintf(stderr, "--- last of the double's log:\n%s\n",
				n > 3000 ? log + n - 3000 : log);
			free(log);
		}
	} else {
		char cmd[600];

		str_fmt(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd))
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	curl_global_cleanup();
	TEST_MAIN_END();
}
