/*
 * test_linkerd.c - the Linkerd mesh adapter against the API server double
 * (build/test/tools/kubedouble on 127.0.0.1:0): what prepare detects (the
 * linkerd-config of 2.14, 2.16 and 2.18, served Gateway API versions), the
 * objects configure applies read back and compared with what a Linkerd user
 * writes (manifests/kubernetes/linkerd/), each fault applied and reverted
 * to the object it was, the viz tap API stream (test/fixtures/linkerd/
 * tap-stream.bin, made by test/tools/l5dtapgen) turned into tap lines, and
 * certificate expiry read from proxy metrics fixtures through the pod
 * proxy. The rendered objects are validated offline (test/tools/validate).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "checks/check.h"
#include "harness.h"
#include "kubedouble.h"
#include "fixture.h"
#include "evidence/meshview.h"
#include "store/store.h"
#include "base/util.h"
#include "mesh/linkerd/linkerd.h"

#define ID(sa) sa ".conform.serviceaccount.identity.linkerd.cluster.local"

static struct kube_client *kc;

/* ---- the double (as test_kubeapi.c starts it) ---- */

static int double_start(void)
{
	return double_start_with(0);
}

/* POST /_double/<what> with a body of len bytes; the HTTP status */
static long ctl(const char *what, const void *body, size_t len)
{
	CURL *c = curl_easy_init();
	char url[1024];
	long code = 0;

	str_fmt(url, sizeof(url), "%s/_double/%s", server, what);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? (const char *)body : "");
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)(body ? len : 0));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	return code;
}

static int create(const char *gv, const char *ns, const char *resource, const char *json)
{
	char path[512];
	cJSON *o = cJSON_Parse(json);
	struct kube_error e;
	int rc;

	kube_path(path, sizeof(path), gv, ns, resource, NULL);
	rc = o ? kube_create(kc, path, o, NULL, &e) : -1;
	if (rc)
		fprintf(stderr, "create %s: %s\n", path, o ? e.text : "bad JSON");
	cJSON_Delete(o);
	return rc;
}

static cJSON *get(const char *gv, const char *resource, const char *name)
{
	char path[512];
	struct kube_error e;
	cJSON *o = NULL;

	kube_path(path, sizeof(path), gv, "conform", resource, name);
	if (kube_get(kc, path, &o, &e))
		fprintf(stderr, "get %s: %s\n", path, e.text);
	return o;
}

static void del(const char *gv, const char *ns, const char *resource, const char *name)
{
	char path[512];
	struct kube_error e;

	kube_path(path, sizeof(path), gv, ns, resource, name);
	kube_delete(kc, path, NULL, &e);
}

/* linkerd-config as the control plane chart writes it (data.values: the values) */
static int linkerd_config(const char *version, const char *trust)
{
	char json[1024];

	del("v1", "linkerd", "configmaps", "linkerd-config");
	str_fmt(json, sizeof(json), "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":"
		"{\"name\":\"linkerd-config\",\"namespace\":\"linkerd\"},\"data\":{\"values\":"
		"\"clusterDomain: cluster.local\\nclusterNetworks: 10.0.0.0/8\\n"
		"identityTrustDomain: %s\\nlinkerdVersion: %s\\nproxy:\\n  image:\\n"
		"    version: \\\"\\\"\\n\"}}", trust, version);
	return create("v1", "linkerd", "configmaps", json);
}

static int prepare(struct mesh **m, char *err, size_t errlen)
{
	struct run_config cfg;
	struct mesh_env env;

	run_config_defaults(&cfg);
	str_copy(cfg.m.ns, sizeof(cfg.m.ns), "conform");
	memset(&env, 0, sizeof(env));
	env.cfg = &cfg;
	err[0] = '\0';
	return mesh_linkerd.prepare(&env, m, err, errlen);
}

static const char *jpath(const cJSON *o, const char *dotted, char *num, size_t len)
{
	char buf[256], *p, *cur = buf;
	const cJSON *v = o;

	str_copy(buf, sizeof(buf), dotted);
	while (v && (p = strsep(&cur, "."))) {
		if (*p >= '0' && *p <= '9')
			v = cJSON_GetArrayItem(v, (int)strtol(p, NULL, 10));
		else
			v = cJSON_GetObjectItemCaseSensitive(v, p);
	}
	if (cJSON_IsString(v))
		return v->valuestring;
	if (cJSON_IsNumber(v)) {
		str_fmt(num, len, "%g", v->valuedouble);
		return num;
	}
	return NULL;
}
#define ASSERT_J(o, path, want) do { char _n[64]; \
	ASSERT_STR_EQ(jpath((o), (path), _n, sizeof(_n)), (want)); } while (0)

/* ---- tests ---- */

TEST(identity_and_refusals)
{
	ASSERT_STR_EQ(mesh_linkerd_fault_refusal(FAULT_MTLS_OFF), "");
	ASSERT_CONTAINS(mesh_linkerd_fault_refusal(FAULT_WRONG_IDENTITY), "ServiceAccount");
	ASSERT_CONTAINS(mesh_linkerd_fault_refusal(FAULT_TAP_OFF), "disable-tap");
	ASSERT_CONTAINS(mesh_linkerd_fault_refusal(FAULT_CERT_EXPIRING), "issuer");
	ASSERT(!mesh_can_fault(&mesh_linkerd, FAULT_WRONG_IDENTITY));
	ASSERT(mesh_can_fault(&mesh_linkerd, FAULT_SPLIT_SKEW));
}

TEST(tap_request_bytes)
{
	unsigned char *b = NULL;
	char path[256];
	size_t n = 0;
	/* notes kube-api-and-tap.md A1: the 43 bytes `linkerd viz tap deploy/web
	 * -n emojivoto` sends, with extract http{headers{}} (-o json) instead of {} */
	static const unsigned char want[] = {
		0x0a, 0x1e, 0x0a, 0x1c, 0x0a, 0x09, 'e', 'm', 'o', 'j', 'i', 'v', 'o', 't', 'o',
		0x12, 0x0a, 'd', 'e', 'p', 'l', 'o', 'y', 'm', 'e', 'n', 't', 0x1a, 0x03, 'w',
		'e', 'b', 0x12, 0x02, 0x0a, 0x00, 0x1d, 0x00, 0x00, 0xc8, 0x42,
		0x22, 0x04, 0x0a, 0x02, 0x0a, 0x00 };

	ASSERT_EQ(l5d_tap_request("emojivoto", "web", 100.0f, &b, &n, path, sizeof(path)), 0);
	ASSERT_STR_EQ(path, "/apis/tap.linkerd.io/v1alpha1/watch/namespaces/emojivoto/"
		      "deployments/web/tap");
	ASSERT_EQ(n, sizeof(want));
	ASSERT(!memcmp(b, want, n));
	free(b);
	ASSERT_EQ(l5d_tap_request("emojivoto", "we/b", 100.0f, &b, &n, path, sizeof(path)),
		  -EINVAL);
}

TEST(prepare_detects_versions)
{
	struct mesh *m = NULL;
	char err[512], out[256];

	/* no control plane */
	ASSERT_EQ(prepare(&m, err, sizeof(err)), -ENOENT);
	ASSERT_CONTAINS(err, "linkerd is not installed");
	/* 2.14: no retry/timeout annotations - one clear error */
	ASSERT_EQ(linkerd_config("stable-2.14.10", ""), 0);
	ASSERT_EQ(prepare(&m, err, sizeof(err)), -EINVAL);
	ASSERT_CONTAINS(err, "linkerd stable-2.14.10 is not supported");
	ASSERT(m == NULL);
	/* an edge release before 2.16's mark (edge-24.8.2): the same error */
	ASSERT_EQ(linkerd_config("edge-24.7.5", ""), 0);
	ASSERT_EQ(prepare(&m, err, sizeof(err)), -EINVAL);
	ASSERT_CONTAINS(err, "linkerd edge-24.7.5 is not supported: conform needs linkerd 2.16 "
			"or later, or edge-24.8.2 or later");
	ASSERT(m == NULL);
	/* 2.18's edge release is taken */
	ASSERT_EQ(linkerd_config("edge-25.4.4", ""), 0);
	ASSERT_EQ(prepare(&m, err, sizeof(err)), 0);
	mesh_linkerd.release(m);
	m = NULL;
	/* 2.16 reads v1beta1 routes; its trust domain from the config */
	ASSERT_EQ(linkerd_config("enterprise-2.16.2", "example.org"), 0);
	ASSERT_EQ(prepare(&m, err, sizeof(err)), 0);
	ASSERT_EQ(mesh_linkerd.identity_of(m, "http-client", out, sizeof(out)), 0);
	ASSERT_STR_EQ(out, "http-client.conform.serviceaccount.identity.linkerd.example.org");
	mesh_linkerd.release(m);
	m = NULL;
	/* 2.18 reads v1, and v1 must be served */
	ASSERT_EQ(linkerd_config("enterprise-2.18.0", ""), 0);
	ASSERT_EQ(ctl("hide-group-version?gv=gateway.networking.k8s.io/v1", NULL, 0), 200);
	ASSERT_EQ(prepare(&m, err, sizeof(err)), -ENOTSUP);
	ASSERT_CONTAINS(err, "gateway.networking.k8s.io/v1, which this cluster does not serve");
	ASSERT_EQ(ctl("hide-group-version?gv=", NULL, 0), 200);
	ASSERT_EQ(prepare(&m, err, sizeof(err)), 0);
	ASSERT_EQ(mesh_linkerd.identity_of(m, "http-client", out, sizeof(out)), 0);
	ASSERT_STR_EQ(out, ID("http-client"));
	ASSERT_EQ(mesh_linkerd.identity_of(m, "a.b", out, sizeof(out)), -EINVAL);
	ASSERT_STR_EQ(mesh_linkerd.identity_header(m), "l5d-client-id");
	ASSERT_EQ(mesh_linkerd.route(m, "http-server", "10.0.0.1:8080", out, sizeof(out)), 0);
	ASSERT_STR_EQ(out, "http-server.conform.svc.cluster.local:8080");
	mesh_linkerd.release(m);
}

static void feature(struct mesh_feature *f, enum mesh_feature_kind k, const char *svc)
{
	memset(f, 0, sizeof(*f));
	f->kind = k;
	str_copy(f->service, sizeof(f->service), svc);
}

/* spec + annotations of an object, as one comparable text */
static char *shape(const char *gv, const char *resource, const char *name)
{
	cJSON *o = get(gv, resource, name), *s = cJSON_CreateObject();
	char *t;

	cJSON_AddItemToObject(s, "spec", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(o,
		"spec"), 1));
	cJSON_AddItemToObject(s, "annotations", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(o, "metadata"), "annotations"), 1));
	t = cJSON_PrintUnformatted(s);
	cJSON_Delete(s);
	cJSON_Delete(o);
	return t;
}

#define GW "gateway.networking.k8s.io/v1"
#define POL3 "policy.linkerd.io/v1beta3"
#define POL1 "policy.linkerd.io/v1alpha1"

static int fault(struct mesh *m, enum fault_kind k, const char *target, int revert, char *err,
		 size_t errlen)
{
	struct mesh_fault f;

	memset(&f, 0, sizeof(f));
	f.kind = k;
	str_copy(f.target, sizeof(f.target), target);
	return revert ? mesh_linkerd.revert_fault(m, &f, err, errlen) :
		mesh_linkerd.inject_fault(m, &f, err, errlen);
}

/*
 * Fault k on http-server applied, then reverted, on the object gv/res/name:
 * its shape before and during the fault in *before and *during (the caller
 * frees both). 0 when the revert put it back exactly, else -1 (said why).
 */
static int fault_cycle(struct mesh *m, enum fault_kind k, const char *gv, const char *res,
		       const char *name, char **before, char **during)
{
	char err[512], *after;
	int rc = -1;

	*before = shape(gv, res, name);
	*during = NULL;
	if (fault(m, k, "http-server", 0, err, sizeof(err))) {
		fprintf(stderr, "inject %s: %s\n", fault_kind_name(k), err);
		return -1;
	}
	*during = shape(gv, res, name);
	if (fault(m, k, "http-server", 1, err, sizeof(err))) {
		fprintf(stderr, "revert %s: %s\n", fault_kind_name(k), err);
		return -1;
	}
	after = shape(gv, res, name);
	if (after && *before && !strcmp(after, *before))
		rc = 0;
	else
		fprintf(stderr, "after %s: %s\nbefore: %s\n", fault_kind_name(k), after, *before);
	free(after);
	return rc;
}

TEST(configure_as_a_user_writes_it_and_faults_revert)
{
	struct mesh *m = NULL;
	struct mesh_feature f;
	char err[512], *before, *during;
	cJSON *o;

	ASSERT_EQ(linkerd_config("enterprise-2.18.0", ""), 0);
	ASSERT_EQ(prepare(&m, err, sizeof(err)), 0);
	/* split 90/10 (manifests/kubernetes/linkerd/routes.yaml http-server-split) */
	feature(&f, MESH_SPLIT, "http-server");
	str_copy(f.backends[0], sizeof(f.backends[0]), "v1");
	str_copy(f.backends[1], sizeof(f.backends[1]), "v2");
	f.weights[0] = 90;
	f.weights[1] = 10;
	f.nbackends = 2;
	ASSERT_EQ(mesh_linkerd.configure(m, &f, err, sizeof(err)), 0);
	o = get(GW, "httproutes", "http-server-split");
	ASSERT(o);
	ASSERT_J(o, "spec.parentRefs.0.kind", "Service");
	ASSERT_J(o, "spec.parentRefs.0.name", "http-server");
	ASSERT_J(o, "spec.parentRefs.0.port", "8080");
	ASSERT_J(o, "spec.rules.0.backendRefs.0.name", "http-server-v1");
	ASSERT_J(o, "spec.rules.0.backendRefs.0.weight", "90");
	ASSERT_J(o, "spec.rules.0.backendRefs.1.name", "http-server-v2");
	ASSERT_J(o, "spec.rules.0.backendRefs.1.weight", "10");
	cJSON_Delete(o);
	/* the shift patches the weights */
	f.weights[0] = 50;
	f.weights[1] = 50;
	ASSERT_EQ(mesh_linkerd.configure(m, &f, err, sizeof(err)), 0);
	o = get(GW, "httproutes", "http-server-split");
	ASSERT_J(o, "spec.rules.0.backendRefs.0.weight", "50");
	ASSERT_J(o, "spec.rules.0.backendRefs.1.weight", "50");
	cJSON_Delete(o);
	/* retries and timeout: annotations on their routes (routes.yaml) */
	feature(&f, MESH_RETRY, "http-server");
	f.retries = 3;
	ASSERT_EQ(mesh_linkerd.configure(m, &f, err, sizeof(err)), 0);
	o = get(GW, "httproutes", "http-retry");
	ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(o, "metadata"), "annotations"),
		"retry.linkerd.io/http")->valuestring, "5xx");
	ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(o, "metadata"), "annotations"),
		"retry.linkerd.io/limit")->valuestring, "3");
	ASSERT_J(o, "spec.parentRefs.0.name", "http-retry");
	ASSERT_J(o, "spec.rules.0.backendRefs.0.name", "http-server-v1");
	cJSON_Delete(o);
	feature(&f, MESH_TIMEOUT, "http-server");
	f.timeout_ms = 500;
	ASSERT_EQ(mesh_linkerd.configure(m, &f, err, sizeof(err)), 0);
	o = get(GW, "httproutes", "http-timeout");
	ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(o, "metadata"), "annotations"),
		"timeout.linkerd.io/request")->valuestring, "500ms");
	cJSON_Delete(o);
	/* mTLS policy (policy.yaml) */
	feature(&f, MESH_MTLS, "http-server");
	f.required = 1;
	ASSERT_EQ(mesh_linkerd.configure(m, &f, err, sizeof(err)), 0);
	o = get(POL3, "servers", "http-server-http");
	ASSERT_J(o, "spec.podSelector.matchLabels.app", "http-server");
	ASSERT_J(o, "spec.port", "http");
	ASSERT_J(o, "spec.proxyProtocol", "HTTP/1");
	ASSERT_J(o, "spec.accessPolicy", "deny");
	cJSON_Delete(o);
	o = get(POL1, "authorizationpolicies", "http-server-from-clients");
	ASSERT_J(o, "spec.targetRef.kind", "Server");
	ASSERT_J(o, "spec.targetRef.name", "http-server-http");
	ASSERT_J(o, "spec.requiredAuthenticationRefs.0.kind", "MeshTLSAuthentication");
	ASSERT_J(o, "spec.requiredAuthenticationRefs.0.name", "conform-clients");
	cJSON_Delete(o);
	o = get(POL1, "meshtlsauthentications", "conform-clients");
	ASSERT_J(o, "spec.identityRefs.0.name", "http-client");
	ASSERT_J(o, "spec.identityRefs.1.name", "grpc-client");
	cJSON_Delete(o);

	/* each fault changes its object and the revert puts it back exactly */
	{
		static const struct { enum fault_kind k; const char *gv, *res, *name, *changed; }
		fs[] = {
			{ FAULT_RETRIES_OFF, GW, "httproutes", "http-retry", "retry.linkerd.io" },
			{ FAULT_TIMEOUT_OFF, GW, "httproutes", "http-timeout", "timeout.linkerd.io" },
			{ FAULT_SPLIT_SKEW, GW, "httproutes", "http-server-split", "\"weight\":90" },
			{ FAULT_MTLS_OFF, POL3, "servers", "http-server-http", "deny" },
		};

		for (size_t i = 0; i < sizeof(fs) / sizeof(fs[0]); i++) {
			ASSERT_EQ(fault_cycle(m, fs[i].k, fs[i].gv, fs[i].res, fs[i].name, &before,
					      &during), 0);
			if (fs[i].k == FAULT_SPLIT_SKEW || fs[i].k == FAULT_MTLS_OFF) {
				/* weights 50/50 became 90/10; deny became all-unauthenticated */
				ASSERT(!strstr(before, fs[i].changed) == (fs[i].k == FAULT_SPLIT_SKEW));
				ASSERT(strcmp(before, during));
			} else {
				ASSERT_CONTAINS(before, fs[i].changed);
				ASSERT(!strstr(during, fs[i].changed));
			}
			free(before);
			free(during);
		}
	}
	o = get(POL3, "servers", "http-server-http");
	ASSERT_J(o, "spec.accessPolicy", "deny");
	cJSON_Delete(o);
	/* refused with the reason, not faked */
	ASSERT_EQ(fault(m, FAULT_WRONG_IDENTITY, "http-client", 0, err, sizeof(err)), -ENOTSUP);
	ASSERT_CONTAINS(err, "wrong-identity on linkerd: ");
	/* sidecar-kill deletes the target's pod */
	ASSERT_EQ(create("apps/v1", "conform", "deployments", "{\"apiVersion\":\"apps/v1\","
		"\"kind\":\"Deployment\",\"metadata\":{\"name\":\"grpc-client\",\"labels\":{"
		"\"app\":\"grpc-client\"}},\"spec\":{\"selector\":{\"matchLabels\":{\"app\":"
		"\"grpc-client\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":"
		"\"grpc-client\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}}}"),
		0);
	ASSERT_EQ(create("v1", "conform", "pods", "{\"apiVersion\":\"v1\",\"kind\":\"Pod\","
		"\"metadata\":{\"name\":\"grpc-client-1\",\"labels\":{\"app\":\"grpc-client\"}},"
		"\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}"), 0);
	ASSERT_EQ(fault(m, FAULT_SIDECAR_KILL, "grpc-client", 0, err, sizeof(err)), 0);
	o = get("v1", "pods", "grpc-client-1");
	ASSERT(o == NULL);
	ASSERT_EQ(fault(m, FAULT_SIDECAR_KILL, "grpc-client", 0, err, sizeof(err)), -ENOENT);
	mesh_linkerd.release(m);
}

/* the events of store st of the mesh.* kinds, "KIND SUBJECT: DETAIL" a line */
static void config_events(struct store *st, char *out, size_t len)
{
	struct store_event *ev = NULL;
	size_t n = 0, at = 0;

	out[0] = '\0';
	if (store_get_events(st, &ev, &n))
		return;
	for (size_t i = 0; i < n && at < len; i++)
		if (!strncmp(ev[i].kind, "mesh.", 5))
			at += (size_t)snprintf(out + at, len - at, "%s %s: %s\n", ev[i].kind,
					       ev[i].subject, ev[i].detail);
	free(ev);
}

/* configure the 500 ms timeout route on linkerd version with the store st */
static cJSON *timeout_route(const char *version, struct store *st, struct mesh **m)
{
	struct run_config cfg;
	struct mesh_env env;
	struct mesh_feature f;
	char err[512];

	del(GW, "conform", "httproutes", "http-timeout");
	if (linkerd_config(version, ""))
		return NULL;
	run_config_defaults(&cfg);
	str_copy(cfg.m.ns, sizeof(cfg.m.ns), "conform");
	memset(&env, 0, sizeof(env));
	env.cfg = &cfg;
	env.store = st;
	if (mesh_linkerd.prepare(&env, m, err, sizeof(err))) {
		fprintf(stderr, "prepare: %s\n", err);
		return NULL;
	}
	feature(&f, MESH_TIMEOUT, "http-server");
	f.timeout_ms = 500;
	if (mesh_linkerd.configure(*m, &f, err, sizeof(err))) {
		fprintf(stderr, "configure: %s\n", err);
		return NULL;
	}
	return get(GW, "httproutes", "http-timeout");
}

#define RULE_TIMEOUTS(o) cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem( \
	cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive((o), "spec"), \
	"rules"), 0), "timeouts")
#define ANN_TIMEOUT(o) cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive( \
	cJSON_GetObjectItemCaseSensitive((o), "metadata"), "annotations"), \
	"timeout.linkerd.io/request")

/*
 * The request timeout as a Linkerd user writes it: the HTTPRoute field on
 * 2.20 (which reads it on Gateway API routes) where the installed Gateway
 * API has it, else the annotation; and timeout-off takes away whichever it
 * is and puts it back.
 */
TEST(timeout_field_where_linkerd_and_the_gateway_api_have_it)
{
	struct store *st = fixture_store_open();
	struct mesh *m = NULL;
	char err[512], ev[2048], *before, *during;
	cJSON *o;

	ASSERT(st);
	/* 2.20, Gateway API v1.2 (the double's default): the field, no annotation */
	o = timeout_route("stable-2.20.0", st, &m);
	ASSERT(o);
	ASSERT_J(o, "spec.rules.0.timeouts.request", "500ms");
	ASSERT(ANN_TIMEOUT(o) == NULL);
	cJSON_Delete(o);
	config_events(st, ev, sizeof(ev));
	ASSERT_CONTAINS(ev, "mesh.config timeout.http: HTTPRoute http-timeout: spec.rules[0]."
			"timeouts.request 500ms (linkerd stable-2.20.0 reads the Gateway API field)");
	ASSERT_EQ(fault_cycle(m, FAULT_TIMEOUT_OFF, GW, "httproutes", "http-timeout", &before,
			      &during), 0);
	ASSERT_CONTAINS(before, "\"timeouts\":{\"request\":\"500ms\"}");
	ASSERT(!strstr(during, "timeouts"));
	ASSERT(!strstr(during, "timeout.linkerd.io"));
	free(before);
	free(during);
	/* someone else changed the timeout: the fault is refused, nothing overwritten */
	ASSERT_EQ(ctl("gateway-api?version=v1.2.1", NULL, 0), 200);
	{
		char path[512];
		struct kube_error e;

		kube_path(path, sizeof(path), GW, "conform", "httproutes", "http-timeout");
		ASSERT_EQ(kube_patch(kc, path, KUBE_PATCH_JSON, "[{\"op\":\"replace\",\"path\":"
			"\"/spec/rules/0/timeouts/request\",\"value\":\"2s\"}]", NULL, &e), 0);
	}
	ASSERT_EQ(fault(m, FAULT_TIMEOUT_OFF, "http-server", 0, err, sizeof(err)), -EIO);
	ASSERT_CONTAINS(err, "removing the route's timeouts");
	o = get(GW, "httproutes", "http-timeout");
	ASSERT_J(o, "spec.rules.0.timeouts.request", "2s");
	cJSON_Delete(o);
	mesh_linkerd.release(m);
	m = NULL;

	/* 2.20 on Gateway API v1.1.1: the CRD prunes the field, so the annotation */
	ASSERT_EQ(ctl("gateway-api?version=v1.1.1", NULL, 0), 200);
	o = timeout_route("stable-2.20.0", st, &m);
	ASSERT(o);
	ASSERT(RULE_TIMEOUTS(o) == NULL);
	ASSERT(ANN_TIMEOUT(o));
	ASSERT_STR_EQ(ANN_TIMEOUT(o)->valuestring, "500ms");
	cJSON_Delete(o);
	config_events(st, ev, sizeof(ev));
	ASSERT_CONTAINS(ev, "annotation timeout.linkerd.io/request 500ms (this cluster's "
			"gateway.networking.k8s.io/v1 HTTPRoute has no timeouts field");
	ASSERT_EQ(fault_cycle(m, FAULT_TIMEOUT_OFF, GW, "httproutes", "http-timeout", &before,
			      &during), 0);
	ASSERT_CONTAINS(before, "timeout.linkerd.io");
	ASSERT(!strstr(during, "timeout.linkerd.io"));
	free(before);
	free(during);
	mesh_linkerd.release(m);
	m = NULL;
	ASSERT_EQ(ctl("gateway-api?version=v1.2.1", NULL, 0), 200);
	ASSERT_EQ(ctl("gateway-api?version=2", NULL, 0), 400);

	/* 2.18 reads the field on policy.linkerd.io routes only: the annotation */
	o = timeout_route("enterprise-2.18.0", st, &m);
	ASSERT(o);
	ASSERT(ANN_TIMEOUT(o));
	ASSERT(RULE_TIMEOUTS(o) == NULL);
	cJSON_Delete(o);
	config_events(st, ev, sizeof(ev));
	ASSERT_CONTAINS(ev, "(linkerd enterprise-2.18.0 does not read the timeouts field of a "
			"Gateway API route; 2.20 does)");
	mesh_linkerd.release(m);
	store_close(st);
}

/* a merge patch of route name's status: one parent status of controller ctl */
static void route_status_set(const char *name, const char *ctl, const char *conds)
{
	char path[512], body[2048];
	struct kube_error e;

	kube_path(path, sizeof(path), GW, "conform", "httproutes", name);
	str_fmt(body, sizeof(body), "{\"status\":{\"parents\":[{\"parentRef\":{\"group\":"
		"\"core\",\"kind\":\"Service\",\"name\":\"http-server\",\"port\":8080},"
		"\"controllerName\":\"%s\",\"conditions\":[%s]}]}}", ctl, conds);
	if (kube_patch(kc, path, KUBE_PATCH_MERGE, body, NULL, &e))
		fprintf(stderr, "status of %s: %s\n", name, e.text);
}

#define COND(type, st, reason, msg) "{\"type\":\"" type "\",\"status\":\"" st "\"," \
	"\"reason\":\"" reason "\",\"message\":\"" msg "\",\"lastTransitionTime\":" \
	"\"2026-12-06T10:00:00Z\"}"

/*
 * What Linkerd's policy controller wrote in the routes' status, read once a
 * view: a route it did not accept, or whose backends it could not resolve,
 * is an event with its reason; accepted is said once; no status from it
 * after three views is said too (another controller's status is not its).
 */
TEST(route_status_from_the_policy_controller)
{
	struct store *st = fixture_store_open();
	struct run_config cfg;
	struct mesh_env env;
	struct mesh_feature f;
	struct mesh_view v;
	struct mesh *m = NULL;
	char err[512], ev[4096];

	ASSERT(st);
	del(GW, "conform", "httproutes", "http-server-split");
	del(GW, "conform", "httproutes", "http-retry");
	ASSERT_EQ(linkerd_config("enterprise-2.18.0", ""), 0);
	run_config_defaults(&cfg);
	str_copy(cfg.m.ns, sizeof(cfg.m.ns), "conform");
	memset(&env, 0, sizeof(env));
	env.cfg = &cfg;
	env.store = st;
	ASSERT_EQ(mesh_linkerd.prepare(&env, &m, err, sizeof(err)), 0);
	feature(&f, MESH_SPLIT, "http-server");
	str_copy(f.backends[0], sizeof(f.backends[0]), "v1");
	str_copy(f.backends[1], sizeof(f.backends[1]), "v2");
	f.weights[0] = 90;
	f.weights[1] = 10;
	f.nbackends = 2;
	ASSERT_EQ(mesh_linkerd.configure(m, &f, err, sizeof(err)), 0);
	feature(&f, MESH_RETRY, "http-server");
	f.retries = 3;
	ASSERT_EQ(mesh_linkerd.configure(m, &f, err, sizeof(err)), 0);

	/* Linkerd refuses the split: NoMatchingParent; another controller's
	 * status on the retry route is not Linkerd's */
	route_status_set("http-server-split", "linkerd.io/policy-controller",
			 COND("Accepted", "False", "NoMatchingParent", "no Service http-server")
			 "," COND("ResolvedRefs", "True", "ResolvedRefs", ""));
	route_status_set("http-retry", "example.net/gateway-controller",
			 COND("Accepted", "True", "Accepted", ""));
	mesh_linkerd.view(m, &v, err, sizeof(err));
	config_events(st, ev, sizeof(ev));
	ASSERT_CONTAINS(ev, "mesh.refused split.weights,split.shift: HTTPRoute http-server-split: "
			"Accepted False: NoMatchingParent (no Service http-server) "
			"(linkerd.io/policy-controller)");
	ASSERT(!strstr(ev, "http-retry"));
	/* accepted now, a backend missing: said once */
	route_status_set("http-server-split", "linkerd.io/policy-controller",
			 COND("Accepted", "True", "Accepted", "")
			 "," COND("ResolvedRefs", "False", "BackendNotFound", "http-server-v2"));
	mesh_linkerd.view(m, &v, err, sizeof(err));
	mesh_linkerd.view(m, &v, err, sizeof(err));
	config_events(st, ev, sizeof(ev));
	ASSERT_CONTAINS(ev, "HTTPRoute http-server-split: ResolvedRefs False: BackendNotFound "
			"(http-server-v2) (linkerd.io/policy-controller)");
	{
		const char *a = strstr(ev, "BackendNotFound");

		ASSERT(a && !strstr(a + 1, "BackendNotFound"));   /* once */
	}
	/* the retry route has had three views with no status from Linkerd */
	ASSERT_CONTAINS(ev, "mesh.config http-retry: HTTPRoute http-retry: no status from "
			"linkerd.io/policy-controller after 3 windows");
	/* all True: accepted */
	route_status_set("http-server-split", "linkerd.io/policy-controller",
			 COND("Accepted", "True", "Accepted", "")
			 "," COND("ResolvedRefs", "True", "ResolvedRefs", ""));
	mesh_linkerd.view(m, &v, err, sizeof(err));
	config_events(st, ev, sizeof(ev));
	ASSERT_CONTAINS(ev, "mesh.accepted split.weights,split.shift: HTTPRoute http-server-split: "
			"accepted (linkerd.io/policy-controller)");
	mesh_linkerd.release(m);
	store_close(st);
}

struct lines {
	struct mesh_tap_line l[8];
	size_t n;
};

static void on_line(const struct mesh_tap_line *line, void *ctx)
{
	struct lines *g = ctx;

	if (g->n < 8)
		g->l[g->n] = *line;
	g->n++;
}

TEST(tap_through_the_api)
{
	struct mesh *m = NULL;
	struct mesh_tap_stats st;
	struct lines g;
	char err[512];
	char *bin;
	size_t len = 0;
	int64_t end;
	int rc;

	ASSERT_EQ(linkerd_config("enterprise-2.18.0", ""), 0);
	bin = file_read("test/fixtures/linkerd/tap-stream.bin", 1 << 20, &len);
	ASSERT(bin && len > 100);
	ASSERT_EQ(ctl("tap-stream", bin, len), 200);
	free(bin);
	ASSERT_EQ(create("apps/v1", "conform", "deployments", "{\"apiVersion\":\"apps/v1\","
		"\"kind\":\"Deployment\",\"metadata\":{\"name\":\"http-server\",\"labels\":{"
		"\"app\":\"http-server\",\"app.kubernetes.io/component\":\"server\"}},\"spec\":{"
		"\"selector\":{\"matchLabels\":{\"app\":\"http-server\",\"version\":\"v1\"}},"
		"\"template\":{\"metadata\":{\"labels\":{\"app\":\"http-server\",\"version\":"
		"\"v1\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}}}"), 0);
	ASSERT_EQ(prepare(&m, err, sizeof(err)), 0);
	ASSERT_EQ(mesh_linkerd.tap_open(m, err, sizeof(err)), 0);
	ASSERT_STR_EQ(mesh_linkerd_tap_error(m), "");
	memset(&g, 0, sizeof(g));
	for (end = mono_ms() + 15000; g.n < 3 && mono_ms() < end;)
		if (mesh_linkerd.tap_read(m, 300, on_line, &g) < 0)
			break;
	ASSERT_EQ(g.n, 3);
	ASSERT_STR_EQ(g.l[0].request_id, "conform-http.basic-0001");
	ASSERT_STR_EQ(g.l[0].method, "GET");
	ASSERT_STR_EQ(g.l[0].path, "/echo");
	ASSERT_EQ(g.l[0].status, 200);
	ASSERT_EQ(g.l[0].dir, MESH_TAP_IN);
	ASSERT_STR_EQ(g.l[0].identity, ID("http-client"));
	ASSERT_STR_EQ(g.l[0].src, "http-client");
	ASSERT_STR_EQ(g.l[0].dst, "http-server");
	ASSERT_EQ(g.l[0].latency_us, 736);
	ASSERT_STR_EQ(g.l[1].request_id, "conform-retry.http-0002");
	ASSERT_EQ(g.l[1].status, 503);
	ASSERT_EQ(g.l[2].status, 0);   /* reset before a response */
	mesh_linkerd.tap_stats(m, &st);
	ASSERT(st.received >= 8 && st.parsed == st.received && st.rejected == 0);
	/* RBAC missing: the feed breaks, and says why */
	ASSERT_EQ(ctl("deny?verb=watch&resource=deployments/tap", NULL, 0), 200);
	memset(&g, 0, sizeof(g));
	rc = 0;
	for (end = mono_ms() + 15000; rc >= 0 && mono_ms() < end;)   /* loaded machines reconnect slowly */
		rc = mesh_linkerd.tap_read(m, 300, on_line, &g);
	ASSERT_EQ(ctl("deny-reset", NULL, 0), 200);
	ASSERT_EQ(rc, -EIO);
	ASSERT_CONTAINS(mesh_linkerd_tap_error(m), "HTTP 403");
	ASSERT_CONTAINS(mesh_linkerd_tap_error(m), "cannot watch resource \"deployments/tap\"");
	ASSERT_CONTAINS(mesh_linkerd_tap_error(m), "rbac.yaml");
	mesh_linkerd.release(m);
}

/* the double holds the tap server to its rule: the body names the URL */
TEST(tap_body_must_match_the_url)
{
	struct kube_config c;
	struct l5d_tapstream *t;
	unsigned char *b = NULL;
	char path[256], err[512] = "";
	size_t n = 0;
	int rc = 1;
	int64_t end;

	ASSERT_EQ(kube_config_explicit(&c, server, NULL, 0, TOKEN), 0);
	ASSERT_EQ(l5d_tap_request("conform", "grpc-server", 100.0f, &b, &n, path, sizeof(path)), 0);
	t = l5d_tapstream_new(&c, "/apis/tap.linkerd.io/v1alpha1/watch/namespaces/conform/"
			      "deployments/http-server/tap", b, n, NULL, NULL);
	free(b);
	for (end = mono_ms() + 15000; rc == 1 && mono_ms() < end;)
		rc = l5d_tapstream_run(t, 200, err, sizeof(err));
	l5d_tapstream_free(t);
	ASSERT_EQ(rc, -EIO);
	ASSERT_CONTAINS(err, "tap request body did not match APIServer URL");
	ASSERT_CONTAINS(err, "(Bad Request)");
}

TEST(cert_expiry_from_proxy_metrics)
{
	struct mesh *m = NULL;
	char err[512], cn[256];
	int64_t na = 0;
	char *text;
	size_t len = 0;

	ASSERT_EQ(linkerd_config("enterprise-2.18.0", ""), 0);
	ASSERT_EQ(create("apps/v1", "conform", "deployments", "{\"apiVersion\":\"apps/v1\","
		"\"kind\":\"Deployment\",\"metadata\":{\"name\":\"http-client\"},\"spec\":{"
		"\"selector\":{\"matchLabels\":{\"app\":\"http-client\"}},\"template\":{"
		"\"metadata\":{\"labels\":{\"app\":\"http-client\"}},\"spec\":{\"containers\":"
		"[{\"name\":\"c\",\"image\":\"x\"}]}}}}"), 0);
	ASSERT_EQ(create("v1", "conform", "pods", "{\"apiVersion\":\"v1\",\"kind\":\"Pod\","
		"\"metadata\":{\"name\":\"http-client-1\",\"labels\":{\"app\":\"http-client\"}},"
		"\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}"), 0);
	ASSERT_EQ(prepare(&m, err, sizeof(err)), 0);
	/* no metrics served yet: the proxy did not answer */
	ASSERT_EQ(mesh_linkerd.workload_cert(m, "http-client", cn, sizeof(cn), &na), -EIO);
	/* 2.18 names the gauge control_identity_cert_...; 2.14 identity_cert_... */
	static const char *const fx[] = { "proxy-2.18-client.prom", "proxy-2.14-client.prom" };

	for (size_t i = 0; i < 2; i++) {
		char p[256];

		str_fmt(p, sizeof(p), "test/fixtures/linkerd/%s", fx[i]);
		text = file_read(p, 1 << 20, &len);
		ASSERT(text);
		ASSERT_EQ(ctl("metrics?namespace=conform&name=http-client-1", text, len), 200);
		free(text);
		na = 0;
		ASSERT_EQ(mesh_linkerd.workload_cert(m, "http-client", cn, sizeof(cn), &na), 0);
		ASSERT_EQ(na, 1764000000);
		ASSERT_STR_EQ(cn, ID("http-client"));
	}
	ASSERT_EQ(mesh_linkerd.workload_cert(m, "nobody", cn, sizeof(cn), &na), -ENOENT);
	mesh_linkerd.release(m);
}

/* ---- the mesh's own view (the view slot) and the checks that compare it ---- */

/* serve fixture fx as pod's proxy metrics */
static int serve(const char *pod, const char *fx)
{
	char p[256], what[256];
	char *text;
	size_t len = 0;
	long code;

	str_fmt(p, sizeof(p), "test/fixtures/linkerd/%s", fx);
	text = file_read(p, 1 << 20, &len);
	if (!text)
		return -1;
	str_fmt(what, sizeof(what), "metrics?namespace=conform&name=%s", pod);
	code = ctl(what, text, len);
	free(text);
	return code == 200 ? 0 : -1;
}

static int pod(const char *name, const char *labels)
{
	char json[512];

	str_fmt(json, sizeof(json), "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{"
		"\"name\":\"%s\",\"labels\":{%s}},\"spec\":{\"containers\":[{\"name\":\"c\","
		"\"image\":\"x\"}]}}", name, labels);
	return create("v1", "conform", "pods", json);
}

#define VW_START T0
#define VW_END (T0 + 10)

/*
 * The view between two scrapes of the server pod (fixtures s0 then s1) and
 * the client pod (c0 then c1), as the slot gives it: the first call takes
 * the baseline (-EAGAIN), the second counts. 0 or the slot's error.
 */
static int view_between(struct mesh *m, const char *s0, const char *s1, const char *c0,
			const char *c1, struct mesh_view *v, char *err, size_t errlen)
{
	int rc;

	if (serve("vw-server-1", s0) || serve("vw-client-1", c0))
		return -100;
	rc = mesh_linkerd.view(m, v, err, errlen);
	if (rc != -EAGAIN && rc != 0)
		return rc;
	if (serve("vw-server-1", s1) || serve("vw-client-1", c1))
		return -100;
	return mesh_linkerd.view(m, v, err, errlen);
}

static struct run_config vcfg;

/* one client row of check at second VW_START + off */
static void vrow(struct agg_row *r, const char *check, const char *backend, uint64_t count,
		 int off)
{
	memset(r, 0, sizeof(*r));
	str_copy(r->check, sizeof(r->check), check);
	str_copy(r->workload, sizeof(r->workload), "http-client");
	str_copy(r->backend, sizeof(r->backend), backend);
	str_copy(r->identity, sizeof(r->identity), ID("http-client"));
	r->outcome = OUT_OK;
	r->code = 200;
	r->second = VW_START + off;
	hist_init(&r->h);
	for (uint64_t i = 0; i < count; i++)
		hist_add(&r->h, 1000);
}

/*
 * Judge check c on the window [VW_START, VW_END) of a new store holding
 * rows and (when v is not NULL) v as the window's mesh view, stamped on the
 * window's edges as conformd does.
 */
static void vjudge(const struct check_desc *c, const struct agg_row *rows, size_t n,
		   const struct mesh_view *v, struct window_result *out)
{
	struct store *st = fixture_store_open();
	struct window_data wd;
	struct dynbuf b = DYNBUF_INIT(STORE_MESH_VIEW_MAX);

	memset(out, 0, sizeof(*out));
	hist_init(&out->h);
	for (size_t i = 0; i < n; i++) {
		if (!st || store_put_batch(st, rows[i].workload, 1, i + 1, &rows[i], 1) != 1) {
			out->verdict = V_NODATA;
			store_close(st);
			return;
		}
	}
	if (v) {
		struct mesh_view w = *v;

		w.from = VW_START;
		w.to = VW_END;
		if (meshview_json(&w, &b) || store_put_mesh_view(st, w.from, w.to, b.buf))
			out->verdict = V_NODATA;
		dynbuf_release(&b);
	}
	for (size_t i = 0; i < n; i++) {
		out->total += rows[i].h.count;
		out->ok += rows[i].h.count;
	}
	memset(&wd, 0, sizeof(wd));
	wd.cfg = &vcfg;
	wd.check = c;
	wd.start_s = VW_START;
	wd.end_s = VW_END;
	wd.rows = rows;
	wd.nrows = n;
	wd.store = st;
	if (c->eval(&wd, out))
		out->verdict = V_NODATA;
	store_close(st);
}

/* the app's view of each check: 512 requests with the caller's identity;
 * 100 retry requests whose replies show 87 retried attempts; 500 split
 * requests, 50 of them answered by v2 (weights 90/10) */
static void app_rows(struct agg_row *id, struct agg_row *rt, struct agg_row *sp)
{
	vrow(id, "http.basic", "v1", 512, 3);
	vrow(rt, "retry.http", "v1", 100, 3);
	rt->attempts[0] = 50;
	rt->attempts[1] = 25;
	rt->attempts[2] = 13;
	rt->attempts[3] = 12;
	vrow(&sp[0], "split.weights", "v1", 450, 3);
	vrow(&sp[1], "split.weights", "v2", 50, 4);
}

TEST(mesh_view_through_the_pod_proxy)
{
	struct mesh *m = NULL;
	struct mesh_view v;
	struct mesh_feature f;
	char err[512];
	struct dynbuf b = DYNBUF_INIT(MV_JSON_MAX);
	struct mesh_view back;

	ASSERT_EQ(linkerd_config("enterprise-2.18.0", ""), 0);
	ASSERT_EQ(pod("vw-server-1", "\"app\":\"http-server\",\"version\":\"v1\","
		      "\"app.kubernetes.io/component\":\"server\""), 0);
	ASSERT_EQ(pod("vw-client-1", "\"app\":\"http-client\","
		      "\"app.kubernetes.io/component\":\"client\""), 0);
	ASSERT_EQ(prepare(&m, err, sizeof(err)), 0);
	/* the split the client's proxy counts is the one configure applied */
	memset(&f, 0, sizeof(f));
	f.kind = MESH_SPLIT;
	str_copy(f.service, sizeof(f.service), "http-server");
	str_copy(f.backends[0], sizeof(f.backends[0]), "v1");
	str_copy(f.backends[1], sizeof(f.backends[1]), "v2");
	f.weights[0] = 90;
	f.weights[1] = 10;
	f.nbackends = 2;
	ASSERT_EQ(mesh_linkerd.configure(m, &f, err, sizeof(err)), 0);
	/* the first call only takes the baseline */
	ASSERT_EQ(serve("vw-server-1", "proxy-2.18-server.prom"), 0);
	ASSERT_EQ(serve("vw-client-1", "proxy-2.18-client.prom"), 0);
	ASSERT_EQ(mesh_linkerd.view(m, &v, err, sizeof(err)), -EAGAIN);

	ASSERT_EQ(view_between(m, "proxy-2.18-server.prom", "proxy-2.18-server-later.prom",
			       "proxy-2.18-client.prom", "proxy-2.18-client-later.prom", &v, err,
			       sizeof(err)), 0);
	ASSERT_EQ(v.pods, 2);
	ASSERT_EQ(v.partial, 0);
	ASSERT(v.to >= v.from && v.from > 0);
	ASSERT_EQ(v.nservers, 1);
	ASSERT_STR_EQ(v.servers[0].workload, "http-server-v1");
	/* the app port only: +512 mTLS, +2 plaintext; the admin port's +10 left out */
	ASSERT_EQ(v.servers[0].requests, 514);
	ASSERT_EQ(v.servers[0].tls, 512);
	ASSERT_EQ(v.servers[0].npeers, 1);
	ASSERT_STR_EQ(v.servers[0].peers[0].id, ID("http-client"));
	ASSERT_EQ(v.servers[0].peers[0].requests, 512);
	ASSERT_EQ(v.nroutes, 1);
	ASSERT_EQ(v.routes[0].retries, 90);
	ASSERT_STR_EQ(v.split_parent, "http-server");
	ASSERT_EQ(v.nbackends, 2);
	ASSERT_STR_EQ(v.backends[0].name, "http-server-v1");
	ASSERT_EQ(v.backends[0].requests, 450);
	ASSERT_STR_EQ(v.backends[1].name, "http-server-v2");
	ASSERT_EQ(v.backends[1].requests, 50);
	/* what the store keeps reads back the same */
	ASSERT_EQ(meshview_json(&v, &b), 0);
	ASSERT_EQ(meshview_parse(b.buf, &back), 0);
	ASSERT_EQ(back.servers[0].tls, 512);
	ASSERT_EQ(back.routes[0].retries, 90);
	ASSERT_EQ(back.backends[1].requests, 50);
	ASSERT_STR_EQ(back.servers[0].peers[0].id, ID("http-client"));
	dynbuf_release(&b);

	/* a proxy restart between the scrapes: counted from its start, marked partial */
	ASSERT_EQ(view_between(m, "proxy-2.18-server.prom", "proxy-2.18-server-restarted.prom",
			       "proxy-2.18-client.prom", "proxy-2.18-client-later.prom", &v, err,
			       sizeof(err)), 0);
	ASSERT_EQ(v.partial, 1);
	ASSERT_CONTAINS(v.why, "pod vw-server-1 had its proxy restarted");
	ASSERT_EQ(v.servers[0].tls, 30);

	/* a proxy that does not answer: the slot says which, and starts over */
	ASSERT_EQ(pod("vw-server-2", "\"app\":\"http-server\",\"version\":\"v2\","
		      "\"app.kubernetes.io/component\":\"server\""), 0);
	ASSERT_EQ(mesh_linkerd.view(m, &v, err, sizeof(err)), -EIO);
	ASSERT_CONTAINS(err, "vw-server-2");
	ASSERT_CONTAINS(err, ":4191/proxy/metrics");
	ASSERT_EQ(serve("vw-server-2", "proxy-2.18-server.prom"), 0);
	ASSERT_EQ(mesh_linkerd.view(m, &v, err, sizeof(err)), -EAGAIN);
	del("v1", "conform", "pods", "vw-server-2");
	mesh_linkerd.release(m);
}

TEST(checks_compare_the_two_views)
{
	struct mesh *m = NULL;
	struct mesh_view ok, plain, skewed, restarted;
	struct agg_row id, rt, sp[2];
	struct window_result r;
	char err[512];

	ASSERT_EQ(linkerd_config("enterprise-2.18.0", ""), 0);
	ASSERT_EQ(prepare(&m, err, sizeof(err)), 0);
	{
		struct mesh_feature f;

		memset(&f, 0, sizeof(f));
		f.kind = MESH_SPLIT;
		str_copy(f.service, sizeof(f.service), "http-server");
		str_copy(f.backends[0], sizeof(f.backends[0]), "v1");
		str_copy(f.backends[1], sizeof(f.backends[1]), "v2");
		f.weights[0] = 90;
		f.weights[1] = 10;
		f.nbackends = 2;
		ASSERT_EQ(mesh_linkerd.configure(m, &f, err, sizeof(err)), 0);
	}
	ASSERT_EQ(view_between(m, "proxy-2.18-server.prom", "proxy-2.18-server-later.prom",
			       "proxy-2.18-client.prom", "proxy-2.18-client-later.prom", &ok, err,
			       sizeof(err)), 0);
	ASSERT_EQ(view_between(m, "proxy-2.18-server.prom", "proxy-2.18-server-plain.prom",
			       "proxy-2.18-client.prom", "proxy-2.18-client-skewed.prom", &plain,
			       err, sizeof(err)), 0);
	skewed = plain;
	ASSERT_EQ(view_between(m, "proxy-2.18-server.prom", "proxy-2.18-server-restarted.prom",
			       "proxy-2.18-client.prom", "proxy-2.18-client-skewed.prom",
			       &restarted, err, sizeof(err)), 0);
	mesh_linkerd.release(m);
	app_rows(&id, &rt, sp);

	/* agree: each check passes on both views, the mesh's in its evidence */
	vjudge(&check_mtls_identity, &id, 1, &ok, &r);
	ASSERT_EQ(r.verdict, V_PASS);
	ASSERT_CONTAINS(r.evidence, "\"from_caller\":512");
	vjudge(&check_retry_http, &rt, 1, &ok, &r);
	ASSERT_EQ(r.verdict, V_PASS);
	ASSERT_CONTAINS(r.evidence, "\"mesh\":{\"retries\":90");
	vjudge(&check_split_weights, sp, 2, &ok, &r);
	ASSERT_EQ(r.verdict, V_PASS);
	ASSERT_CONTAINS(r.evidence, "\"mesh\":{\"n\":500,\"v2\":50");

	/* a long-lived stream's messages are one request to a proxy: not compared */
	{
		struct mesh_view g = ok;
		struct mv_server *gs = meshview_server(&g, "grpc-server");
		struct agg_row grows[3];

		ASSERT(gs);
		gs->requests = gs->tls = 20;
		meshview_peer_add(gs, ID("grpc-client"), 20);
		grows[0] = id;
		vrow(&grows[1], "grpc.basic", "v1", 20, 3);
		vrow(&grows[2], "grpc.stream", "v1", 3000, 3);
		for (size_t i = 1; i < 3; i++) {
			str_copy(grows[i].workload, sizeof(grows[i].workload), "grpc-client");
			str_copy(grows[i].identity, sizeof(grows[i].identity), ID("grpc-client"));
		}
		vjudge(&check_mtls_identity, grows, 3, &g, &r);
		if (r.verdict != V_PASS)
			fprintf(stderr, "%s\n%s\n", r.reason_text, r.evidence);
		ASSERT_EQ(r.verdict, V_PASS);
		ASSERT_CONTAINS(r.evidence, "\"gRPC\":{\"requests\":20,\"tls\":20,\"from_caller\":20}");
	}

	/* disagree: the new reason, naming what each view said */
	vjudge(&check_mtls_identity, &id, 1, &plain, &r);
	ASSERT_EQ(r.verdict, V_FAIL);
	ASSERT_EQ(r.reason, R_VIEWS_DISAGREE);
	ASSERT_STR_EQ(reason_info(r.reason)->name, "views_disagree");
	ASSERT_CONTAINS(r.reason_text, "the app and the mesh disagree: servers saw "
			"l5d-client-id " ID("http-client") " on 512 of 512 HTTP requests (100.0%)");
	ASSERT_CONTAINS(r.reason_text, "inbound proxies counted 0 of 512 with tls=\"true\"");
	vjudge(&check_retry_http, &rt, 1, &skewed, &r);
	ASSERT_EQ(r.reason, R_VIEWS_DISAGREE);
	ASSERT_CONTAINS(r.reason_text, "servers saw 87 retried attempts");
	ASSERT_CONTAINS(r.reason_text, "the clients' proxies counted 0 retries");
	vjudge(&check_split_weights, sp, 2, &skewed, &r);
	ASSERT_EQ(r.reason, R_VIEWS_DISAGREE);
	ASSERT_CONTAINS(r.reason_text, "replies named v2 on 10.0% of 500 requests, the "
			"clients' proxies sent 50.0% of 500 to the v2 backend");

	/* a proxy restart between the scrapes: not a disagreement, judged on the app's view */
	vjudge(&check_mtls_identity, &id, 1, &restarted, &r);
	ASSERT_EQ(r.verdict, V_PASS);
	ASSERT_CONTAINS(r.evidence, "mesh view partial: pod vw-server-1 had its proxy restarted");

	/* no mesh view (scrape failed, or a mesh without one): as before */
	vjudge(&check_mtls_identity, &id, 1, NULL, &r);
	ASSERT_EQ(r.verdict, V_PASS);
	ASSERT_CONTAINS(r.evidence, "\"mesh\":\"none\"");
	vjudge(&check_split_weights, sp, 2, NULL, &r);
	ASSERT_EQ(r.verdict, V_PASS);
	str_copy(id.identity, sizeof(id.identity), "");
	vjudge(&check_mtls_identity, &id, 1, NULL, &r);
	ASSERT_EQ(r.reason, R_WRONG_IDENTITY);
}

/* what the prober looks at: every server and client proxy, each with its
 * certificate from its metrics only (no TLS handshake for expiry: an inbound
 * shows an unmeshed probe no identity), servers with their pod's app port
 * for mtls.enforced; a deployment of neither component is not a target */
TEST(probe_targets_take_expiry_from_the_proxy)
{
	struct mesh *m = NULL;
	struct mesh_probe_info pi;
	char err[512];

	ASSERT_EQ(linkerd_config("enterprise-2.18.0", ""), 0);
	/* http-server (component server) is there from tap_through_the_api,
	 * http-client (no component label) from cert_expiry_from_proxy_metrics;
	 * grpc-client again, as the platform labels it */
	del("apps/v1", "conform", "deployments", "grpc-client");
	ASSERT_EQ(create("apps/v1", "conform", "deployments", "{\"apiVersion\":\"apps/v1\","
		"\"kind\":\"Deployment\",\"metadata\":{\"name\":\"grpc-client\",\"labels\":{"
		"\"app\":\"grpc-client\",\"app.kubernetes.io/component\":\"client\"}},\"spec\":{"
		"\"selector\":{\"matchLabels\":{\"app\":\"grpc-client\"}},\"template\":{"
		"\"metadata\":{\"labels\":{\"app\":\"grpc-client\"}},\"spec\":{\"containers\":"
		"[{\"name\":\"c\",\"image\":\"x\"}]}}}}"), 0);
	/* the double runs no controllers: http-server's pod, as the kubelet reports it */
	ASSERT_EQ(create("v1", "conform", "pods", "{\"apiVersion\":\"v1\",\"kind\":\"Pod\","
		"\"metadata\":{\"name\":\"http-server-1\",\"labels\":{\"app\":\"http-server\","
		"\"version\":\"v1\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]},"
		"\"status\":{\"phase\":\"Running\",\"podIP\":\"10.244.0.7\"}}"), 0);
	ASSERT_EQ(prepare(&m, err, sizeof(err)), 0);
	ASSERT_EQ(mesh_linkerd.probe_info(m, &pi), 0);
	ASSERT_UEQ(pi.n, 2);
	ASSERT_STR_EQ(pi.t[0].workload, "http-server");
	ASSERT_EQ(pi.t[0].cert_from_proxy, 1);
	ASSERT_STR_EQ(pi.t[0].inbound, "10.244.0.7:8080");
	ASSERT_STR_EQ(pi.t[1].workload, "grpc-client");
	ASSERT_EQ(pi.t[1].cert_from_proxy, 1);
	ASSERT_STR_EQ(pi.t[1].inbound, "");
	mesh_linkerd.release(m);
}

/* o alone written to file and validated by cmd: the validator's exit status
 * (> 0: refused), -1 when it could not be run */
static int validate_one(const cJSON *o, const char *file, const char *cmd)
{
	char *t = cJSON_Print(o);
	int rc;

	if (!t || file_write_atomic(file, t, strlen(t), 0644)) {
		free(t);
		return -1;
	}
	free(t);
	rc = system(cmd);
	return rc == -1 ? -1 : rc;
}

/* the objects the adapter writes pass the offline schemas, and a broken one does not */
TEST(objects_validate_offline)
{
	struct l5d_objcfg c = { "conform", "gateway.networking.k8s.io/v1" };
	const char *be[2] = { "http-server-v1", "http-server-v2" };
	const char *ann[2] = { "retry.linkerd.io/http", "5xx" };
	const char *sas[2] = { "http-client", "grpc-client" };
	unsigned w[2] = { 90, 10 };
	cJSON *objs[7];
	struct dynbuf b = DYNBUF_INIT(1 << 20);
	char file[512], cmd[1200];
	size_t i;

	if (access("test/tools/validate/node_modules/ajv", F_OK)) {
		H_FAIL("npm validators missing in test/tools/validate/node_modules; run "
		       "make manifests-deps");
	}
	objs[0] = l5d_obj_route(&c, "http-server-split", "http-server", be, w, 2, NULL, 0);
	objs[1] = l5d_obj_route(&c, "http-retry", "http-retry", be, NULL, 1, ann, 1);
	c.route_gv = "gateway.networking.k8s.io/v1beta1";
	objs[2] = l5d_obj_route(&c, "http-timeout", "http-timeout", be, NULL, 1, NULL, 0);
	objs[3] = l5d_obj_server(&c, "http-server-http", "http-server", "http", "HTTP/1", "deny");
	objs[4] = l5d_obj_meshtls(&c, "conform-clients", sas, 2);
	objs[5] = l5d_obj_authz(&c, "http-server-from-clients", "http-server-http",
				"conform-clients");
	/* the timeouts field as written on Linkerd 2.20 (Gateway API v1) */
	c.route_gv = "gateway.networking.k8s.io/v1";
	objs[6] = l5d_obj_route(&c, "http-timeout-field", "http-timeout", be, NULL, 1, NULL, 0);
	ASSERT_EQ(l5d_obj_route_timeout(objs[6], "500ms"), 0);
	for (i = 0; i < 7; i++) {
		char *t = cJSON_Print(objs[i]);

		dynbuf_addf(&b, "---\n%s\n", t);
		free(t);
	}
	str_fmt(file, sizeof(file), "%s/objects.yaml", tmpdir);
	ASSERT_EQ(file_write_atomic(file, b.buf, b.len, 0644), 0);
	str_fmt(cmd, sizeof(cmd), "NODE_NO_WARNINGS=1 node test/tools/validate/validate.mjs "
		"--namespace conform '%s' >'%s.out' 2>&1", file, file);
	ASSERT_EQ(system(cmd), 0);
	/* a weight below zero must be refused (Gateway API schema) */
	cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(objs[0], "spec"), "rules"), 0), "backendRefs"), 0),
		"weight"), -1);
	ASSERT(validate_one(objs[0], file, cmd) > 0);
	/* nor a timeout that is not a GEP-2257 duration */
	ASSERT_EQ(l5d_obj_route_timeout(objs[6], "0.5s"), 0);
	ASSERT(validate_one(objs[6], file, cmd) > 0);
	for (i = 0; i < 7; i++)
		cJSON_Delete(objs[i]);
	dynbuf_release(&b);
}

int main(void)
{
	const char *t = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	struct kube_config c;
	char cmd[600];

	curl_global_init(CURL_GLOBAL_DEFAULT);
	signal(SIGPIPE, SIG_IGN);
	str_fmt(tmpdir, sizeof(tmpdir), "%s/conform-linkerd.XXXXXX", t);
	if (!mkdtemp(tmpdir) || fixture_tmpdir_make("linkerd-view")) {
		perror("mkdtemp");
		return 1;
	}
	run_config_defaults(&vcfg);
	str_copy(vcfg.m.ns, sizeof(vcfg.m.ns), "conform");
	str_copy(vcfg.m.trust_domain, sizeof(vcfg.m.trust_domain), "linkerd.cluster.local");
	RUN(identity_and_refusals);
	RUN(tap_request_bytes);
	RUN(objects_validate_offline);
	if (double_start()) {
		printf("not ok kubedouble_start\n");
		return 1;
	}
	kube_config_explicit(&c, server, NULL, 0, TOKEN);
	kc = kube_client_new(&c);
	mesh_linkerd_use_cluster(&c, NULL, NULL);
	create("v1", NULL, "namespaces", "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
	       "\"metadata\":{\"name\":\"linkerd\"}}");
	create("v1", NULL, "namespaces", "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
	       "\"metadata\":{\"name\":\"conform\"}}");
	RUN(prepare_detects_versions);
	RUN(configure_as_a_user_writes_it_and_faults_revert);
	RUN(timeout_field_where_linkerd_and_the_gateway_api_have_it);
	RUN(route_status_from_the_policy_controller);
	RUN(tap_through_the_api);
	RUN(tap_body_must_match_the_url);
	RUN(cert_expiry_from_proxy_metrics);
	RUN(mesh_view_through_the_pod_proxy);
	RUN(checks_compare_the_two_views);
	RUN(probe_targets_take_expiry_from_the_proxy);
	kube_client_free(kc);
	mesh_linkerd_use_cluster(NULL, NULL, NULL);
	if (double_stop()) {
		printf("not ok kubedouble_exit\n");
		h_failed++;
	}
	if (h_failed) {
		str_fmt(cmd, sizeof(cmd), "tail -n 40 '%s/double.log' >&2", tmpdir);
		if (system(cmd))
			fprintf(stderr, "no double log\n");
	} else {
		str_fmt(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd))
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	fixture_tmpdir_remove();
	curl_global_cleanup();
	TEST_MAIN_END();
}
