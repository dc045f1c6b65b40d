/*
 * linkerd.c - the Linkerd mesh adapter: configures Linkerd's features the
 * way its users do (Gateway API HTTPRoutes with a Service parent, the
 * retry.linkerd.io / timeout.linkerd.io annotations, Server +
 * AuthorizationPolicy + MeshTLSAuthentication) through the Kubernetes API,
 * and reads what Linkerd itself reports (viz tap, proxy metrics). The
 * platform runs the workloads and Linkerd injects the proxies: the plan is
 * the platform's Deployments, and there is no sidecar to start. docs/linkerd.md lists every call.
 * Sources: L2 = linkerd/linkerd2, PX = linkerd/linkerd2-proxy.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "checks/check.h"
#include "mesh/linkerd/linkerd.h"
#include "platform/kubernetes/objects.h"
#include "store/store.h"

#define L5D_TAP_STREAMS 4
#define L5D_TAP_RETRY_MS 1000
#define L5D_TAP_MAX_RPS 100.0f        /* the CLI's default --max-rps (L2 viz/cmd/tap.go) */
#define L5D_METRICS_MAX (8u << 20)
#define L5D_VIEW_TIMEOUT_MS 5000L     /* one pod's scrape for the view (once a window) */
#define L5D_ADMIN_PORT 4191           /* the proxy's admin port (PX linkerd/app/src/env.rs) */
#define RETRY_TIMEOUT "300ms"         /* per-attempt timeout, as manifests/kubernetes/linkerd */

/* the clients allowed past a server's policy: their ServiceAccounts
 * (manifests/kubernetes/base/serviceaccounts.yaml) */
static const char *const client_sas[] = { "http-client", "grpc-client" };
#define AUTHN_NAME "conform-clients"

/* process-wide: where prepare finds the cluster (mesh_linkerd_use_cluster) */
static struct kube_config cluster_cfg;
static int cluster_set;
static char control_ns[64] = "linkerd", viz_ns[64] = "linkerd-viz";

struct tapst {
	char deploy[64];
	struct l5d_tapstream *s;
	struct l5d_tap_pb pb;
	struct l5d_tap_corr corr;
	int64_t retry_at;
	struct mesh *m;
};

/* a fault in effect and what it replaced, to put back exactly */
struct saved {
	int active;
	char target[64];
	char path[512];           /* the object changed */
	char before[256];         /* the value replaced (annotation, accessPolicy) */
	unsigned w[4];            /* split-skew: the weights replaced */
	int field;                /* timeout-off: the route's timeouts field removed */
};

/* the last scrape of one pod's proxy, kept for the next view's deltas */
#define L5D_VIEW_PODS 16
#define L5D_ROUTES 4                  /* split, retry, timeout routes */
#define L5D_ROUTE_STATUS_VIEWS 3      /* views without a status before that is said */

struct podscrape {
	char pod[254];
	char workload[64];         /* app label, "-" version when it has one */
	int server;                /* app.kubernetes.io/component=server */
	struct prom_set *s;
};

struct mesh {
	struct run_config cfg;
	struct kube_config kc;
	struct kube_client *k;
	/* the view's and the prober's own clients: view() and workload_cert()
	 * run on threads of their own (mesh.h), and a client is one
	 * connection's state, not to be shared between threads */
	struct kube_client *kv;
	struct kube_client *kp;
	char ns[64];
	char version[64];          /* linkerdVersion of linkerd-config */
	enum l5d_version v;
	char trust[128];           /* identityTrustDomain */
	char route_gv[64];
	struct l5d_objcfg oc;
	/* what configure applied */
	int split_set;
	char split_service[64];
	char split_backends[4][64];
	unsigned split_w[4];
	size_t split_nb;
	char retry_route[96];
	int retries;
	char timeout_route[96];
	int64_t timeout_ms;
	int timeout_field;         /* 1: the route's timeouts.request, 0: the annotation */
	/* the routes applied, for their status (read on the view's thread) */
	pthread_mutex_t routes_mu;
	struct routestate {
		char name[96];
		char checks[64];   /* the checks it serves, comma-separated */
		int seen;          /* views that looked at it */
		char last[512];    /* the last state reported ("" none yet) */
	} routes[L5D_ROUTES];
	size_t nroutes;
	struct store *store;       /* events (mesh.config); may be NULL */
	struct saved faults[FAULT_NKINDS];
	/* tap */
	struct tapst tap[L5D_TAP_STREAMS];
	size_t ntap;
	int tap_opened;
	mesh_tap_cb cb;
	void *cb_ctx;
	int delivered;
	char tap_err[1024];
	atomic_uint_least64_t received, parsed, rejected;
	/* the mesh's view: the previous scrape of every proxy */
	struct podscrape prev[L5D_VIEW_PODS];
	size_t nprev;
	int have_prev;
	double prev_at;
};

void mesh_linkerd_use_cluster(const struct kube_config *c, const char *cns, const char *vns)
{
	cluster_set = c != NULL;
	if (c)
		cluster_cfg = *c;
	str_copy(control_ns, sizeof(control_ns), cns && *cns ? cns : "linkerd");
	str_copy(viz_ns, sizeof(viz_ns), vns && *vns ? vns : "linkerd-viz");
}

/* ---- what each check rests on here ---- */

static const struct {
	const char *id, *evidence;
} evidence[] = {
	{ "http.basic", "client outcomes through the Service (the app's view only)" },
	{ "grpc.basic", "client outcomes through the Service, grpc-status included "
	  "(the app's view only)" },
	{ "grpc.stream", "the client's stream echoes and reconnects (the proxies' view is "
	  "per request, not per stream)" },
	{ "mtls.identity", "l5d-client-id as the servers saw it; tls=\"true\" and client_id "
	  "counted by the inbound proxies; the two must agree" },
	{ "mtls.enforced", "plaintext probes from conformd (unmeshed) to each server pod's "
	  "app port: 403 or refused per the Server's accessPolicy" },
	{ "retry.http", "attempt numbers the server saw; outbound_http_route_retry_*_total "
	  "on the client's proxy (2.16+); the two must agree" },
	{ "split.weights", "backend versions in the answers; "
	  "outbound_http_route_backend_requests_total by backend_name; the two must agree" },
	{ "split.shift", "backend versions in the answers after the HTTPRoute weight "
	  "patch (the app's view only)" },
	{ "tap.live", "the suite's request ids in the viz tap API stream (sampled: "
	  "method, path, status, identity and delay over a sample)" },
	{ "timeout.http", "504 from the client's proxy within the route's request timeout "
	  "(the HTTPRoute timeouts.request field on 2.20+ where the Gateway API has it, else "
	  "timeout.linkerd.io/request) + slack (the app's view only)" },
	{ "identity.expiry", "(control_)identity_cert_expiration_timestamp_seconds "
	  "of each proxy, read through the pod proxy (no TLS probe: an inbound shows "
	  "an unmeshed probe no identity)" },
};

/* mesh_ops.evidence: every check has evidence under Linkerd */
static int l5d_evidence(const char *check_id, const char **line)
{
	*line = NULL;
	for (size_t i = 0; check_id && i < sizeof(evidence) / sizeof(evidence[0]); i++)
		if (!strcmp(evidence[i].id, check_id)) {
			*line = evidence[i].evidence;
			return 0;
		}
	return -ENOENT;
}

/* ---- small helpers ---- */

static int kerr(char *err, size_t errlen, int rc, const char *what, const struct kube_error *e)
{
	str_fmt(err, errlen, "%s: %s", what, e->text[0] ? e->text : "no answer");
	return rc;
}

/* "http-server" -> "http": the prefix of the per-check Services
 * (http-retry, http-timeout in manifests/kubernetes/base/http-server.yaml) */
static void base_of(const char *service, char *out, size_t len)
{
	size_t n = strlen(service);

	str_copy(out, len, service);
	if (n > 7 && !strcmp(service + n - 7, "-server"))
		out[n - 7] = '\0';
}

static int route_path(struct mesh *m, const char *name, char *path, size_t len)
{
	return kube_path(path, len, m->route_gv, m->ns, "httproutes", name);
}

/* value of a top-level "key: value" line of a YAML text (the chart's values) */
static int yaml_top(const char *text, const char *key, char *out, size_t len)
{
	size_t kl = strlen(key);
	const char *p = text;

	while (p && *p) {
		if (!strncmp(p, key, kl) && p[kl] == ':') {
			const char *v = p + kl + 1;
			size_t n;

			v += strspn(v, " \t\"'");
			n = strcspn(v, "\"'\r\n #");
			if (n >= len)
				return -1;
			memcpy(out, v, n);
			out[n] = '\0';
			return 0;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

/* ---- prepare: what the cluster runs ---- */

/*
 * The control plane's version and trust domain from its linkerd-config
 * ConfigMap cm (NULL: there is none): data.values holds the chart's values,
 * with linkerdVersion and identityTrustDomain at the top (L2 charts/
 * linkerd-control-plane/templates/config.yaml, values.yaml). The identity's
 * trust domain falls back to clusterDomain as the chart does (L2
 * charts/partials/templates/_proxy.tpl $trustDomain). A document in, a
 * verdict out: prepare and the CLI's preflight judge the same way.
 */
static int judge_config(const cJSON *cm, char *version, size_t vlen, enum l5d_version *v,
			char *trust, size_t tlen, char *err, size_t errlen)
{
	const cJSON *values = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(cm, "data"), "values");

	if (!cm) {
		str_fmt(err, errlen, "linkerd is not installed (no linkerd-config in the control "
			"plane namespace %s; install it: linkerd install | kubectl apply -f -)",
			control_ns);
		return -ENOENT;
	}
	if (!cJSON_IsString(values) ||
	    yaml_top(values->valuestring, "linkerdVersion", version, vlen)) {
		str_fmt(err, errlen, "configmap %s/linkerd-config has no linkerdVersion in "
			"data.values: not a linkerd control plane conform knows", control_ns);
		return -EINVAL;
	}
	if (l5d_version_parse(version, v) || *v < L5D_2_16) {
		/* 2.15 reads as 2.14: both lack the retry/timeout annotations
		 * (edge-24.7.5, i.e. 2.16; L2 #12888) */
		str_fmt(err, errlen, "linkerd %s is not supported: conform needs linkerd "
			"2.16 or later, or edge-24.8.2 or later (retry.linkerd.io and "
			"timeout.linkerd.io annotations); upgrade linkerd", version);
		return -EINVAL;
	}
	if (yaml_top(values->valuestring, "identityTrustDomain", trust, tlen) || !trust[0])
		if (yaml_top(values->valuestring, "clusterDomain", trust, tlen) || !trust[0])
			str_copy(trust, tlen, "cluster.local");
	return 0;
}

/*
 * The HTTPRoute version Linkerd reads: gateway.networking.k8s.io v1beta1
 * on 2.16/2.17, v1 on 2.18+ (WEB 2-edge/features/gateway-api.md), and it
 * must be served: g is the discovery document of the group (GET
 * /apis/gateway.networking.k8s.io), NULL when the group is not served.
 */
static int judge_gateway(const cJSON *g, const char *version, enum l5d_version v,
			 char *route_gv, size_t glen, char *err, size_t errlen)
{
	const char *want = v >= L5D_2_18 ? "v1" : "v1beta1";
	const cJSON *it;
	int found = 0;

	if (!g) {
		str_fmt(err, errlen, "the Gateway API is not installed (its CRDs serve no "
			"gateway.networking.k8s.io group; linkerd install --crds, or the "
			"gateway-api standard install)");
		return -ENOENT;
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(g, "versions")) {
		const cJSON *ver = cJSON_GetObjectItemCaseSensitive(it, "version");

		if (cJSON_IsString(ver) && !strcmp(ver->valuestring, want))
			found = 1;
	}
	if (!found) {
		str_fmt(err, errlen, "linkerd %s reads HTTPRoute gateway.networking.k8s.io/%s, "
			"which this cluster does not serve; install the Gateway API CRDs linkerd "
			"%s supports", version, want, version);
		return -ENOTSUP;
	}
	str_fmt(route_gv, glen, "gateway.networking.k8s.io/%s", want);
	return 0;
}

int mesh_linkerd_preflight(const cJSON *config, const cJSON *gateway, const cJSON *tap,
			   int need_tap, char *found, size_t flen, char *err, size_t errlen)
{
	char version[64], trust[128], gv[64];
	enum l5d_version v;
	int rc;

	version[0] = trust[0] = '\0';
	rc = judge_config(config, version, sizeof(version), &v, trust, sizeof(trust), err,
			  errlen);
	if (!rc)
		rc = judge_gateway(gateway, version, v, gv, sizeof(gv), err, errlen);
	if (rc)
		return rc;
	/* tap is linkerd-viz's aggregated API (L2 viz/charts/linkerd-viz/
	 * templates/tap.yaml, APIService v1alpha1.tap.linkerd.io) */
	if (need_tap && !tap) {
		str_fmt(err, errlen, "tap.live needs linkerd-viz's tap API, and this cluster "
			"serves no tap.linkerd.io group: linkerd viz install | kubectl apply -f -, "
			"or leave tap.live out (--checks)");
		return -ENOENT;
	}
	str_fmt(found, flen, "linkerd %s, HTTPRoute %s, trust domain %s%s", version, gv, trust,
		tap ? ", viz tap API served" : "");
	return 0;
}

static int detect_linkerd(struct mesh *m, char *err, size_t errlen)
{
	struct kube_error e;
	char path[512];
	cJSON *cm = NULL;
	int rc;

	kube_path(path, sizeof(path), "v1", control_ns, "configmaps", "linkerd-config");
	if (kube_get(m->k, path, &cm, &e) && e.code != 404)
		return kerr(err, errlen, -EIO, "reading the linkerd control plane's config", &e);
	rc = judge_config(cm, m->version, sizeof(m->version), &m->v, m->trust, sizeof(m->trust),
			  err, errlen);
	cJSON_Delete(cm);
	return rc;
}

static int detect_gateway(struct mesh *m, char *err, size_t errlen)
{
	struct kube_error e;
	cJSON *g = NULL;
	int rc;

	if (kube_get(m->k, "/apis/gateway.networking.k8s.io", &g, &e) && e.code != 404)
		return kerr(err, errlen, -EIO, "reading which Gateway API versions are served",
			    &e);
	rc = judge_gateway(g, m->version, m->v, m->route_gv, sizeof(m->route_gv), err, errlen);
	cJSON_Delete(g);
	return rc;
}

static void l5d_release(struct mesh *m);

static int l5d_prepare(const struct mesh_env *env, struct mesh **out, char *err, size_t errlen)
{
	struct mesh *m = calloc(1, sizeof(*m));
	int rc;

	*out = NULL;
	if (!m)
		return -ENOMEM;
	m->cfg = *env->cfg;
	m->store = env->store;
	pthread_mutex_init(&m->routes_mu, NULL);
	str_copy(m->ns, sizeof(m->ns), m->cfg.m.ns[0] ? m->cfg.m.ns : "conform");
	if (cluster_set) {
		m->kc = cluster_cfg;
	} else if (kube_config_in_cluster(&m->kc, NULL, err, errlen)) {
		l5d_release(m);
		return -ENOENT;
	}
	m->k = kube_client_new(&m->kc);
	{
		/* a scrape is once a window: a proxy slower than this has no
		 * answer the window could still use */
		struct kube_config vc = m->kc;

		vc.timeout_ms = L5D_VIEW_TIMEOUT_MS;
		m->kv = kube_client_new(&vc);
	}
	m->kp = kube_client_new(&m->kc);
	if (!m->k || !m->kv || !m->kp) {
		l5d_release(m);
		return -ENOMEM;
	}
	rc = detect_linkerd(m, err, errlen);
	if (!rc)
		rc = detect_gateway(m, err, errlen);
	if (rc) {
		l5d_release(m);
		return rc;
	}
	m->oc.ns = m->ns;
	m->oc.route_gv = m->route_gv;
	*out = m;
	return 0;
}

/*
 * The workloads of the run as the kubernetes platform deploys them (the
 * same specs `conform manifests` prints: both http-server versions, the
 * clients' flows addressed to the Services that carry each route), so that
 * conformd knows the topology is meshed (splits set, probes run). The
 * proxies come with the pods (linkerd.io/inject), not from here.
 */
static int l5d_plan(struct mesh *m, struct mesh_plan *out, char *err, size_t errlen)
{
	struct kube_run r;
	int n, i;

	kube_run_defaults(&r);
	str_copy(r.namespace, sizeof(r.namespace), m->ns);
	str_copy(r.mesh, sizeof(r.mesh), "linkerd");
	n = kube_run_specs(&r, &m->cfg, out->w, MESH_MAX_WORKLOADS, err, errlen);
	if (n < 0)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (out->w[i].role_bit & (ROLE_HTTP_SERVER | ROLE_GRPC_SERVER))
			str_copy(out->w[i].identity_header, sizeof(out->w[i].identity_header),
				 L5D_TAP_CLIENT_ID_HEADER);
	out->n = (size_t)n;
	return 0;
}

static int l5d_start_sidecars(struct mesh *m, struct workload_spec *w, char *err,
			      size_t errlen)
{
	(void)m;
	(void)w;
	(void)err;
	(void)errlen;
	return 0;   /* linkerd.io/inject on the pod template: the proxy comes with the pod */
}

/* PX linkerd/app/inbound/src/http/set_identity_header.rs */
static const char *l5d_identity_header(struct mesh *m)
{
	(void)m;
	return L5D_TAP_CLIENT_ID_HEADER;
}

/* The Service's DNS name: the client's proxy routes by it. */
static int l5d_route(struct mesh *m, const char *server, const char *server_addr, char *out,
		     size_t len)
{
	const char *port = server_addr ? strrchr(server_addr, ':') : NULL;

	if (str_fmt(out, len, "%s.%s.svc.cluster.local%s", server, m->ns, port ? port : ":8080"))
		return -EINVAL;
	return 0;
}

/*
 * SA.NS.serviceaccount.identity.CONTROLNS.TRUSTDOMAIN: the proxy's
 * LINKERD2_PROXY_IDENTITY_LOCAL_NAME (L2 charts/partials/templates/
 * _proxy.tpl). Workloads run as the ServiceAccount of their own name.
 */
static int l5d_identity_of(struct mesh *m, const char *name, char *out, size_t len)
{
	if (!name || !*name || strchr(name, '.') || strchr(name, '/'))
		return -EINVAL;
	if (str_fmt(out, len, "%s.%s.serviceaccount.identity.%s.%s", name, m->ns, control_ns,
		    m->trust))
		return -EINVAL;
	return 0;
}

/* ---- configure ---- */

/* Remember route name (configure, main thread) for its status (view thread). */
static void route_track(struct mesh *m, const char *name)
{
	size_t i;

	pthread_mutex_lock(&m->routes_mu);
	for (i = 0; i < m->nroutes; i++)
		if (!strcmp(m->routes[i].name, name))
			break;
	if (i == m->nroutes && i < L5D_ROUTES) {
		size_t n = strlen(name);
		struct routestate *r = &m->routes[i];

		memset(r, 0, sizeof(*r));
		str_copy(r->name, sizeof(r->name), name);
		/* the names configure gives them: SVC-split, BASE-retry, BASE-timeout */
		if (n > 6 && !strcmp(name + n - 6, "-split"))
			str_copy(r->checks, sizeof(r->checks), "split.weights,split.shift");
		else if (n > 6 && !strcmp(name + n - 6, "-retry"))
			str_copy(r->checks, sizeof(r->checks), "retry.http");
		else if (n > 8 && !strcmp(name + n - 8, "-timeout"))
			str_copy(r->checks, sizeof(r->checks), "timeout.http");
		m->nroutes++;
	}
	pthread_mutex_unlock(&m->routes_mu);
}

/* Applies o (taken) as resource of gv; with res, the object as stored. */
static int apply_as(struct mesh *m, cJSON *o, const char *resource, const char *gv,
		    cJSON **res, char *err, size_t errlen)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(o, "metadata");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(meta, "name");
	struct kube_error e;
	char path[512], what[256];
	int rc = 0;

	if (!o)
		return -ENOMEM;
	kube_path(path, sizeof(path), gv, m->ns, resource, name->valuestring);
	if (!strcmp(resource, "httproutes"))
		route_track(m, name->valuestring);
	/* conform owns these objects in its namespace: take their fields over */
	if (kube_apply(m->k, path, o, 1, res, &e)) {
		str_fmt(what, sizeof(what), "applying %s %s", resource, name->valuestring);
		rc = kerr(err, errlen, -EIO, what, &e);
	}
	cJSON_Delete(o);
	return rc;
}

static int apply(struct mesh *m, cJSON *o, const char *resource, const char *gv,
		 char *err, size_t errlen)
{
	return apply_as(m, o, resource, gv, NULL, err, errlen);
}

static void l5d_event(struct mesh *m, const char *kind, const char *subject,
		      const char *detail)
{
	if (m->store && store_put_event(m->store, wall_s(), kind, subject, detail) < 0)
		log_kv(LOG_WARN, "cannot record event", "kind=%s", kind);
}

/*
 * The request timeout of route name as a Linkerd user writes it: the
 * HTTPRoute rule's timeouts.request where both sides have it, else the
 * timeout.linkerd.io/request annotation (which works on every supported
 * release: L2 #12888, 2.16+).
 *  - Linkerd reads the field of a gateway.networking.k8s.io route from
 *    edge-25.11.3 / 2.20 on (L2 #14750, policy-controller/k8s/index/src/
 *    outbound/index/http.rs convert_gateway_rule); before, only on
 *    policy.linkerd.io routes, so older releases get the annotation.
 *  - The Gateway API's standard CRDs have the field from v1.2.0 (GW
 *    CHANGELOG/1.2-CHANGELOG.md, "HTTPRoute Timeouts and Durations"). A
 *    server-side apply against a CRD without it is refused ("... field not
 *    declared in schema": apply is typed against the schema, KEP-2885
 *    "Apply Patch"); a write that prunes instead (structural schemas) is
 *    caught by reading the stored object back. Either way the route is
 *    applied again with the annotation.
 * Either way the choice is a mesh.config event, so the report says which.
 */
static int apply_timeout_route(struct mesh *m, const char *name, const char *const *be,
			       const char *tmo, char *err, size_t errlen)
{
	const char *ann[2] = { "timeout.linkerd.io/request", tmo };
	char detail[512];
	cJSON *o, *stored = NULL;
	const char *got;
	int rc;

	m->timeout_field = 0;
	if (m->v >= L5D_2_20) {
		o = l5d_obj_route(&m->oc, name, name, be, NULL, 1, NULL, 0);
		if (o && l5d_obj_route_timeout(o, tmo)) {
			cJSON_Delete(o);
			return -ENOMEM;
		}
		rc = apply_as(m, o, "httproutes", m->route_gv, &stored, err, errlen);
		if (rc && !strstr(err, "field not declared in schema"))
			return rc;
		got = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(
				cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
					stored, "spec"), "rules"), 0), "timeouts"), "request"));
		m->timeout_field = !rc && got && !strcmp(got, tmo);
		cJSON_Delete(stored);
		if (m->timeout_field) {
			str_fmt(detail, sizeof(detail), "HTTPRoute %s: spec.rules[0].timeouts.request "
				"%s (linkerd %s reads the Gateway API field)", name, tmo, m->version);
			l5d_event(m, "mesh.config", "timeout.http", detail);
			return 0;
		}
	}
	rc = apply(m, l5d_obj_route(&m->oc, name, name, be, NULL, 1, ann, 1), "httproutes",
		   m->route_gv, err, errlen);
	if (rc)
		return rc;
	if (m->v >= L5D_2_20)
		str_fmt(detail, sizeof(detail), "HTTPRoute %s: annotation timeout.linkerd.io/"
			"request %s (this cluster's %s HTTPRoute has no timeouts field: it "
			"refused or pruned it; the Gateway API standard CRDs carry it from "
			"v1.2.0)", name, tmo, m->route_gv);
	else
		str_fmt(detail, sizeof(detail), "HTTPRoute %s: annotation timeout.linkerd.io/"
			"request %s (linkerd %s does not read the timeouts field of a Gateway API "
			"route; 2.20 does)", name, tmo, m->version);
	l5d_event(m, "mesh.config", "timeout.http", detail);
	return 0;
}

static int weights_patch(struct mesh *m, const unsigned *w, size_t nb, char *err,
			 size_t errlen)
{
	char path[512], body[1024], name[96];
	struct kube_error e;
	size_t at = 0;

	str_fmt(name, sizeof(name), "%s-split", m->split_service);
	route_path(m, name, path, sizeof(path));
	at += (size_t)snprintf(body + at, sizeof(body) - at, "[");
	for (size_t i = 0; i < nb && at < sizeof(body); i++)
		at += (size_t)snprintf(body + at, sizeof(body) - at,
				       "%s{\"op\":\"test\",\"path\":\"/spec/rules/0/backendRefs/%zu/"
				       "name\",\"value\":\"%s\"},{\"op\":\"replace\",\"path\":"
				       "\"/spec/rules/0/backendRefs/%zu/weight\",\"value\":%u}",
				       i ? "," : "", i, m->split_backends[i], i, w[i]);
	if (at + 2 > sizeof(body))
		return -E2BIG;
	str_copy(body + at, sizeof(body) - at, "]");
	if (kube_patch(m->k, path, KUBE_PATCH_JSON, body, NULL, &e))
		return kerr(err, errlen, -EIO, "patching the split's weights", &e);
	return 0;
}

static int configure_split(struct mesh *m, const struct mesh_feature *f, char *err,
			   size_t errlen)
{
	const char *be[4];
	char name[96];
	size_t i;

	if (f->nbackends < 1 || f->nbackends > 4) {
		str_fmt(err, errlen, "a split needs 1 to 4 backends");
		return -EINVAL;
	}
	if (m->split_set && !strcmp(m->split_service, f->service) && m->split_nb == f->nbackends) {
		/* the shift: only the weights move (a JSON patch of the route) */
		int rc = weights_patch(m, f->weights, f->nbackends, err, errlen);

		if (!rc)
			memcpy(m->split_w, f->weights, sizeof(m->split_w));
		return rc;
	}
	str_copy(m->split_service, sizeof(m->split_service), f->service);
	for (i = 0; i < f->nbackends; i++) {
		str_fmt(m->split_backends[i], sizeof(m->split_backends[i]), "%s-%s", f->service,
			f->backends[i]);
		be[i] = m->split_backends[i];
		m->split_w[i] = f->weights[i];
	}
	m->split_nb = f->nbackends;
	str_fmt(name, sizeof(name), "%s-split", f->service);
	m->split_set = apply(m, l5d_obj_route(&m->oc, name, f->service, be, f->weights,
					      f->nbackends, NULL, 0), "httproutes",
			     m->route_gv, err, errlen) == 0;
	return m->split_set ? 0 : -EIO;
}

static int configure_route(struct mesh *m, const struct mesh_feature *f, char *err,
			   size_t errlen)
{
	char base[64], name[96], backend[96], limit[16], tmo[32];
	const char *ann[6];
	const char *be[1];
	size_t nann;

	base_of(f->service, base, sizeof(base));
	str_fmt(backend, sizeof(backend), "%s-v1", f->service);
	be[0] = backend;
	if (f->kind == MESH_RETRY) {
		/* retry.linkerd.io/http, /limit, /timeout (L2 policy-controller/k8s/
		 * index/src/outbound/index/http.rs parse_http_retry; WEB 2.18
		 * reference/retries.md) */
		if (f->retries < 1 || f->retries > 100) {
			str_fmt(err, errlen, "retries %d out of 1..100", f->retries);
			return -EINVAL;
		}
		str_fmt(name, sizeof(name), "%s-retry", base);
		str_fmt(limit, sizeof(limit), "%d", f->retries);
		ann[0] = "retry.linkerd.io/http";
		ann[1] = "5xx";
		ann[2] = "retry.linkerd.io/limit";
		ann[3] = limit;
		ann[4] = "retry.linkerd.io/timeout";
		ann[5] = RETRY_TIMEOUT;
		nann = 3;
		str_copy(m->retry_route, sizeof(m->retry_route), name);
		m->retries = f->retries;
	} else {
		/* timeouts.request or timeout.linkerd.io/request (index.rs
		 * parse_timeouts; WEB 2.18 reference/timeouts.md): the proxy
		 * answers 504 */
		if (f->timeout_ms < 1) {
			str_fmt(err, errlen, "timeout %lld ms is not positive", (long long)f->timeout_ms);
			return -EINVAL;
		}
		str_fmt(name, sizeof(name), "%s-timeout", base);
		str_fmt(tmo, sizeof(tmo), "%lldms", (long long)f->timeout_ms);
		str_copy(m->timeout_route, sizeof(m->timeout_route), name);
		m->timeout_ms = f->timeout_ms;
		return apply_timeout_route(m, name, be, tmo, err, errlen);
	}
	return apply(m, l5d_obj_route(&m->oc, name, name, be, NULL, 1, ann, nann), "httproutes",
		     m->route_gv, err, errlen);
}

static int configure_mtls(struct mesh *m, const struct mesh_feature *f, char *err,
			  size_t errlen)
{
	int grpc = !strncmp(f->service, "grpc", 4);
	const char *port = grpc ? "grpc" : "http";
	char server[96], authz[96];
	int rc;

	str_fmt(server, sizeof(server), "%s-%s", f->service, port);
	str_fmt(authz, sizeof(authz), "%s-from-clients", f->service);
	rc = apply(m, l5d_obj_server(&m->oc, server, f->service, port, grpc ? "gRPC" : "HTTP/1",
				     f->required ? "deny" : "all-unauthenticated"),
		   "servers", "policy.linkerd.io/v1beta3", err, errlen);
	if (!rc && f->required)
		rc = apply(m, l5d_obj_meshtls(&m->oc, AUTHN_NAME, client_sas,
					      sizeof(client_sas) / sizeof(client_sas[0])),
			   "meshtlsauthentications", "policy.linkerd.io/v1alpha1", err, errlen);
	if (!rc && f->required)
		rc = apply(m, l5d_obj_authz(&m->oc, authz, server, AUTHN_NAME),
			   "authorizationpolicies", "policy.linkerd.io/v1alpha1", err, errlen);
	return rc;
}

static int l5d_configure(struct mesh *m, const struct mesh_feature *f, char *err,
			 size_t errlen)
{
	if (!f->service[0] || strchr(f->service, '/') || strchr(f->service, '.')) {
		str_fmt(err, errlen, "service name \"%s\" is not a workload name", f->service);
		return -EINVAL;
	}
	switch (f->kind) {
	case MESH_SPLIT:
		return configure_split(m, f, err, errlen);
	case MESH_RETRY:
	case MESH_TIMEOUT:
		return configure_route(m, f, err, errlen);
	case MESH_MTLS:
		return configure_mtls(m, f, err, errlen);
	}
	str_fmt(err, errlen, "unknown feature %d", (int)f->kind);
	return -EINVAL;
}

/* ---- pods of a workload ---- */

/*
 * The first pod of deployment name (its spec.selector.matchLabels as the
 * label selector), preferring a Running one: its name and IP.
 * 0, -ENOENT (no such deployment or no pod), -EIO with err.
 */
static int pod_of(struct mesh *m, struct kube_client *k, const char *name, char *pod,
		  size_t podlen, char *ip, size_t iplen, char *err, size_t errlen)
{
	char path[512], sel[512] = "";
	const cJSON *ml, *kv, *items, *p, *pick = NULL;
	struct kube_error e;
	cJSON *d = NULL, *l = NULL;
	size_t at = 0;
	int rc = -ENOENT;

	kube_path(path, sizeof(path), "apps/v1", m->ns, "deployments", name);
	if (kube_get(k, path, &d, &e)) {
		str_fmt(err, errlen, "deployment %s/%s: %s", m->ns, name, e.text);
		return e.code == 404 ? -ENOENT : -EIO;
	}
	ml = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(d, "spec"), "selector"), "matchLabels");
	cJSON_ArrayForEach(kv, ml)
		if (cJSON_IsString(kv) && at < sizeof(sel))
			at += (size_t)snprintf(sel + at, sizeof(sel) - at, "%s%s=%s", at ? "," : "",
					       kv->string, kv->valuestring);
	if (!sel[0] || at >= sizeof(sel)) {
		str_fmt(err, errlen, "deployment %s/%s has no usable selector", m->ns, name);
		goto out;
	}
	kube_path(path, sizeof(path), "v1", m->ns, "pods", NULL);
	if (kube_list(k, path, sel, NULL, &l, NULL, 0, &e)) {
		str_fmt(err, errlen, "pods of %s/%s: %s", m->ns, name, e.text);
		rc = -EIO;
		goto out;
	}
	items = cJSON_GetObjectItemCaseSensitive(l, "items");
	cJSON_ArrayForEach(p, items) {
		const cJSON *ph = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(p, "status"), "phase");

		if (!pick || (cJSON_IsString(ph) && !strcmp(ph->valuestring, "Running")))
			pick = p;
	}
	if (!pick) {
		str_fmt(err, errlen, "deployment %s/%s has no pod", m->ns, name);
		goto out;
	}
	{
		const cJSON *pn = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(pick, "metadata"), "name");
		const cJSON *pi = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(pick, "status"), "podIP");

		str_copy(pod, podlen, cJSON_IsString(pn) ? pn->valuestring : "");
		if (ip)
			str_copy(ip, iplen, cJSON_IsString(pi) ? pi->valuestring : "");
	}
	rc = pod[0] ? 0 : -ENOENT;
out:
	cJSON_Delete(d);
	cJSON_Delete(l);
	return rc;
}

/* The deployments of the run's servers or clients (label
 * app.kubernetes.io/component=server or client, manifests/kubernetes/base),
 * appended to names from *n on. */
static int component_deployments(struct mesh *m, struct kube_client *k, const char *component,
				 char names[][64],
				 size_t max, size_t *n, char *err, size_t errlen)
{
	char path[512], sel[96], what[64];
	struct kube_error e;
	const cJSON *it;
	cJSON *l = NULL;

	kube_path(path, sizeof(path), "apps/v1", m->ns, "deployments", NULL);
	str_fmt(sel, sizeof(sel), "app.kubernetes.io/component=%s", component);
	str_fmt(what, sizeof(what), "listing the %s deployments", component);
	if (kube_list(k, path, sel, NULL, &l, NULL, 0, &e))
		return kerr(err, errlen, -EIO, what, &e);
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(l, "items")) {
		const cJSON *nm = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(it, "metadata"), "name");

		if (*n < max && cJSON_IsString(nm))
			str_copy(names[(*n)++], 64, nm->valuestring);
	}
	cJSON_Delete(l);
	return 0;
}

static int server_deployments(struct mesh *m, char names[][64], size_t max, size_t *n,
			      char *err, size_t errlen)
{
	*n = 0;
	return component_deployments(m, m->k, "server", names, max, n, err, errlen);
}

/* ---- faults ---- */

static const char *const refusals[FAULT_NKINDS] = {
	[FAULT_WRONG_IDENTITY] = "a linkerd proxy's certificate is issued by linkerd-identity "
		"for its own ServiceAccount token; it cannot be made to present another "
		"workload's",
	[FAULT_TAP_OFF] = "linkerd reads viz.linkerd.io/disable-tap when it injects a pod; "
		"switching one proxy's tap off needs a rollout, which is not this fault",
	[FAULT_CERT_EXPIRING] = "proxy certificate lifetimes are set by linkerd-identity's "
		"issuer for the whole mesh; conform does not reissue them",
	[FAULT_SERVER_ERRORS] = "applied by the workload, not the mesh",
	[FAULT_SERVER_LATENCY] = "applied by the workload, not the mesh",
	[FAULT_KILL] = "applied by the platform (pod deleted), not the mesh",
};

const char *mesh_linkerd_fault_refusal(enum fault_kind k)
{
	if ((unsigned)k >= FAULT_NKINDS)
		return "unknown fault kind";
	if (mesh_linkerd.faults & (1u << k))
		return "";
	return refusals[k] ? refusals[k] : "not a fault linkerd can be made to do";
}

/* JSON pointer of an annotation key ('/' is "~1", RFC 6901) */
static void ann_pointer(const char *key, char *out, size_t len)
{
	size_t j = 0;

	j += (size_t)snprintf(out, len, "/metadata/annotations/");
	for (const char *p = key; *p && j + 3 < len; p++) {
		if (*p == '/') {
			out[j++] = '~';
			out[j++] = '1';
		} else if (*p == '~') {
			out[j++] = '~';
			out[j++] = '0';
		} else {
			out[j++] = *p;
		}
	}
	out[j < len ? j : len - 1] = '\0';
}

/* remove the route's annotations starting with prefix; saved->before gets
 * them as a JSON object for the revert */
static int ann_remove(struct mesh *m, const char *route, const char *prefix, struct saved *sv,
		      char *err, size_t errlen)
{
	const cJSON *ann, *a;
	struct kube_error e;
	cJSON *o = NULL, *keep = cJSON_CreateObject();
	struct dynbuf b = DYNBUF_INIT(8192);
	char ptr[300];
	char *s = NULL;
	int rc = -EINVAL, n = 0;

	if (!route[0]) {
		str_fmt(err, errlen, "no route with %s annotations in this run", prefix);
		goto out;
	}
	route_path(m, route, sv->path, sizeof(sv->path));
	if (kube_get(m->k, sv->path, &o, &e)) {
		rc = kerr(err, errlen, -EIO, "reading the route", &e);
		goto out;
	}
	ann = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "metadata"),
					       "annotations");
	dynbuf_adds(&b, "[");
	cJSON_ArrayForEach(a, ann)
		if (cJSON_IsString(a) && !strncmp(a->string, prefix, strlen(prefix))) {
			cJSON_AddStringToObject(keep, a->string, a->valuestring);
			ann_pointer(a->string, ptr, sizeof(ptr));
			dynbuf_addf(&b, "%s{\"op\":\"remove\",\"path\":\"%s\"}", n++ ? "," : "", ptr);
		}
	dynbuf_adds(&b, "]");
	if (!n) {
		str_fmt(err, errlen, "route %s has no %s annotations to remove", route, prefix);
		goto out;
	}
	s = cJSON_PrintUnformatted(keep);
	if (!s || str_copy(sv->before, sizeof(sv->before), s)) {
		str_fmt(err, errlen, "route %s: annotations too long to keep", route);
		goto out;
	}
	if (kube_patch(m->k, sv->path, KUBE_PATCH_JSON, b.buf, NULL, &e)) {
		rc = kerr(err, errlen, -EIO, "removing the route's annotations", &e);
		goto out;
	}
	rc = 0;
out:
	free(s);
	dynbuf_release(&b);
	cJSON_Delete(keep);
	cJSON_Delete(o);
	return rc;
}

/*
 * timeout-off where the route carries the Gateway API field: the rule's
 * timeouts removed (a JSON patch that first tests the value conform set,
 * so a route someone else changed is refused, not overwritten), and put
 * back by the revert.
 */
static int field_timeout_remove(struct mesh *m, struct saved *sv, char *err, size_t errlen)
{
	char body[512], tmo[32];
	struct kube_error e;

	route_path(m, m->timeout_route, sv->path, sizeof(sv->path));
	str_fmt(tmo, sizeof(tmo), "%lldms", (long long)m->timeout_ms);
	str_fmt(body, sizeof(body), "[{\"op\":\"test\",\"path\":\"/spec/rules/0/timeouts/"
		"request\",\"value\":\"%s\"},{\"op\":\"remove\",\"path\":\"/spec/rules/0/"
		"timeouts\"}]", tmo);
	if (kube_patch(m->k, sv->path, KUBE_PATCH_JSON, body, NULL, &e))
		return kerr(err, errlen, -EIO, "removing the route's timeouts", &e);
	str_copy(sv->before, sizeof(sv->before), tmo);
	sv->field = 1;
	return 0;
}

static int field_timeout_restore(struct mesh *m, struct saved *sv, char *err, size_t errlen)
{
	char body[512];
	struct kube_error e;

	str_fmt(body, sizeof(body), "[{\"op\":\"add\",\"path\":\"/spec/rules/0/timeouts\","
		"\"value\":{\"request\":\"%s\"}}]", sv->before);
	if (kube_patch(m->k, sv->path, KUBE_PATCH_JSON, body, NULL, &e))
		return kerr(err, errlen, -EIO, "restoring the route's timeouts", &e);
	return 0;
}

static int ann_restore(struct mesh *m, struct saved *sv, char *err, size_t errlen)
{
	char body[512];
	struct kube_error e;

	if (str_fmt(body, sizeof(body), "{\"metadata\":{\"annotations\":%s}}", sv->before))
		return -E2BIG;
	if (kube_patch(m->k, sv->path, KUBE_PATCH_MERGE, body, NULL, &e))
		return kerr(err, errlen, -EIO, "restoring the route's annotations", &e);
	return 0;
}

static int server_path(struct mesh *m, const char *target, char *path, size_t len)
{
	char name[96];

	str_fmt(name, sizeof(name), "%s-%s", target, strncmp(target, "grpc", 4) ? "http" : "grpc");
	return kube_path(path, len, "policy.linkerd.io/v1beta3", m->ns, "servers", name);
}

static int access_set(struct mesh *m, const char *path, const char *v, char *err,
		      size_t errlen)
{
	char body[256];
	struct kube_error e;

	str_fmt(body, sizeof(body), "{\"spec\":{\"accessPolicy\":\"%s\"}}", v);
	if (kube_patch(m->k, path, KUBE_PATCH_MERGE, body, NULL, &e))
		return kerr(err, errlen, -EIO, "changing the Server's accessPolicy", &e);
	return 0;
}

static int l5d_inject_fault(struct mesh *m, const struct mesh_fault *f, char *err,
			    size_t errlen)
{
	struct saved *sv;
	struct kube_error e;
	int rc = -EINVAL;

	if ((unsigned)f->kind >= FAULT_NKINDS || !(mesh_linkerd.faults & (1u << f->kind))) {
		str_fmt(err, errlen, "%s on linkerd: %s", fault_kind_name(f->kind),
			mesh_linkerd_fault_refusal(f->kind));
		return -ENOTSUP;
	}
	sv = &m->faults[f->kind];
	if (sv->active) {
		str_fmt(err, errlen, "%s is already in effect", fault_kind_name(f->kind));
		return -EALREADY;
	}
	memset(sv, 0, sizeof(*sv));
	str_copy(sv->target, sizeof(sv->target), f->target);
	switch (f->kind) {
	case FAULT_MTLS_OFF: {
		/* the server's inbound policy opened to unauthenticated clients */
		cJSON *o = NULL;
		const cJSON *ap;

		server_path(m, f->target, sv->path, sizeof(sv->path));
		if (kube_get(m->k, sv->path, &o, &e))
			return kerr(err, errlen, e.code == 404 ? -EINVAL : -EIO,
				    "reading the target's Server", &e);
		ap = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "spec"),
						      "accessPolicy");
		str_copy(sv->before, sizeof(sv->before), cJSON_IsString(ap) ? ap->valuestring :
			 "deny");
		cJSON_Delete(o);
		rc = access_set(m, sv->path, "all-unauthenticated", err, errlen);
		break;
	}
	case FAULT_RETRIES_OFF:
		rc = ann_remove(m, m->retry_route, "retry.linkerd.io/", sv, err, errlen);
		break;
	case FAULT_TIMEOUT_OFF:
		if (m->timeout_route[0] && m->timeout_field)
			rc = field_timeout_remove(m, sv, err, errlen);
		else
			rc = ann_remove(m, m->timeout_route, "timeout.linkerd.io/", sv, err, errlen);
		break;
	case FAULT_SPLIT_SKEW: {
		unsigned w[4];
		int even = 1;

		if (!m->split_set) {
			str_fmt(err, errlen, "no split route in this run");
			return -EINVAL;
		}
		for (size_t i = 1; i < m->split_nb; i++)
			even &= m->split_w[i] == m->split_w[0];
		/* 50/50 against the run's weights, 90/10 when those were even */
		for (size_t i = 0; i < m->split_nb; i++)
			w[i] = even ? (i ? 10 : 90) : 50;
		memcpy(sv->w, m->split_w, sizeof(sv->w));
		rc = weights_patch(m, w, m->split_nb, err, errlen);
		break;
	}
	case FAULT_SIDECAR_KILL: {
		/*
		 * The API has no call that kills one container, and the proxy
		 * image has no shell to kill from: the pod is deleted, and its
		 * Deployment brings it back with a new proxy. One shot.
		 */
		char pod[254], path[512];

		rc = pod_of(m, m->k, f->target, pod, sizeof(pod), NULL, 0, err, errlen);
		if (rc)
			return rc;
		kube_path(path, sizeof(path), "v1", m->ns, "pods", pod);
		if (kube_delete(m->k, path, NULL, &e))
			return kerr(err, errlen, -EIO, "deleting the target's pod", &e);
		return 0;
	}
	default:
		break;
	}
	if (!rc)
		sv->active = 1;
	return rc;
}

static int l5d_revert_fault(struct mesh *m, const struct mesh_fault *f, char *err,
			    size_t errlen)
{
	struct saved *sv;
	int rc = 0;

	if ((unsigned)f->kind >= FAULT_NKINDS || !(mesh_linkerd.faults & (1u << f->kind)))
		return -ENOTSUP;
	sv = &m->faults[f->kind];
	if (!sv->active)
		return 0;   /* one-shot kinds, or never applied */
	switch (f->kind) {
	case FAULT_MTLS_OFF:
		rc = access_set(m, sv->path, sv->before, err, errlen);
		break;
	case FAULT_TIMEOUT_OFF:
		rc = sv->field ? field_timeout_restore(m, sv, err, errlen)
			       : ann_restore(m, sv, err, errlen);
		break;
	case FAULT_RETRIES_OFF:
		rc = ann_restore(m, sv, err, errlen);
		break;
	case FAULT_SPLIT_SKEW:
		rc = weights_patch(m, sv->w, m->split_nb, err, errlen);
		break;
	default:
		break;
	}
	if (!rc)
		sv->active = 0;
	return rc;
}

static void l5d_tick(struct mesh *m)
{
	(void)m;   /* the API server keeps the configuration; restarted proxies read it */
}

/* ---- tap ---- */

static int tap_event(const struct l5d_tap_event *ev, void *arg)
{
	struct tapst *t = arg;
	struct mesh *m = t->m;
	struct mesh_tap_line line;

	atomic_fetch_add(&m->received, 1);
	atomic_fetch_add(&m->parsed, 1);
	memset(&line, 0, sizeof(line));
	if (l5d_tap_corr_add(&t->corr, ev, wall_s(), &line) == 1) {
		if (m->cb)
			m->cb(&line, m->cb_ctx);
		m->delivered++;
	}
	return 0;
}

static int tap_bytes(const void *p, size_t n, void *arg)
{
	struct tapst *t = arg;
	int rc = l5d_tap_pb_feed(&t->pb, p, n, tap_event, t, t->m->tap_err,
				 sizeof(t->m->tap_err));

	if (rc < 0) {
		/* a frame arrived and was not understood */
		atomic_fetch_add(&t->m->received, 1);
		atomic_fetch_add(&t->m->rejected, 1);
		return 1;   /* a framing error: this stream cannot go on */
	}
	return 0;
}

static int tap_start(struct mesh *m, struct tapst *t)
{
	unsigned char *body = NULL;
	char path[512];
	size_t len = 0;
	int rc = l5d_tap_request(m->ns, t->deploy, L5D_TAP_MAX_RPS, &body, &len, path,
				 sizeof(path));

	if (rc)
		return rc;
	l5d_tap_pb_release(&t->pb);
	if (l5d_tap_pb_init(&t->pb, 0)) {
		free(body);
		return -ENOMEM;
	}
	t->s = l5d_tapstream_new(&m->kc, path, body, len, tap_bytes, t);
	free(body);
	return t->s ? 0 : -ENOMEM;
}

static int l5d_tap_open(struct mesh *m, char *err, size_t errlen)
{
	char names[L5D_TAP_STREAMS][64];
	size_t n;
	int rc = server_deployments(m, names, L5D_TAP_STREAMS, &n, err, errlen);

	if (rc)
		return rc;
	if (!n) {
		/* conformd opens the feed before the platform applies the
		 * Deployments: tap the servers of the plan (a stream retries
		 * until its Deployment is there) */
		struct mesh_plan *plan = calloc(1, sizeof(*plan));

		if (!plan)
			return -ENOMEM;
		if (l5d_plan(m, plan, err, errlen) == 0)
			for (size_t i = 0; i < plan->n && n < L5D_TAP_STREAMS; i++)
				if (plan->w[i].role_bit & (ROLE_HTTP_SERVER | ROLE_GRPC_SERVER))
					str_copy(names[n++], sizeof(names[0]), plan->w[i].name);
		free(plan);
	}
	if (!n) {
		str_fmt(err, errlen, "no server deployments to tap in namespace %s", m->ns);
		return -ENOENT;
	}
	for (size_t i = 0; i < n; i++) {
		struct tapst *t = &m->tap[i];

		str_copy(t->deploy, sizeof(t->deploy), names[i]);
		t->m = m;
		if (l5d_tap_corr_init(&t->corr, 0) || l5d_tap_pb_init(&t->pb, 0))
			return -ENOMEM;
		m->ntap++;
	}
	m->tap_opened = 1;
	return 0;
}

static int l5d_tap_read(struct mesh *m, int timeout_ms, mesh_tap_cb cb, void *ctx)
{
	int64_t end = mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	int broke = 0, live = 0;

	if (!m->tap_opened)
		return -ENOTSUP;
	m->cb = cb;
	m->cb_ctx = ctx;
	m->delivered = 0;
	do {
		live = 0;
		for (size_t i = 0; i < m->ntap; i++) {
			struct tapst *t = &m->tap[i];
			int64_t left = end - mono_ms();
			int rc;

			if (!t->s) {
				if (mono_ms() < t->retry_at || tap_start(m, t))
					continue;
			}
			live++;
			rc = l5d_tapstream_run(t->s, (int)(left > 0 ? left / (int64_t)m->ntap : 0),
					       m->tap_err, sizeof(m->tap_err));
			if (rc <= 0) {
				/* ended or failed: reopened after a pause (tap is endless) */
				l5d_tapstream_free(t->s);
				t->s = NULL;
				t->retry_at = mono_ms() + L5D_TAP_RETRY_MS;
				broke |= rc < 0;
			}
		}
		if (!live && mono_ms() < end)
			poll(NULL, 0, (int)(end - mono_ms() > 100 ? 100 : end - mono_ms()));
	} while (mono_ms() < end);
	m->cb = NULL;
	if (!m->delivered && broke)
		return -EIO;
	return m->delivered;
}

const char *mesh_linkerd_tap_error(struct mesh *m)
{
	return m->tap_err;
}

static void l5d_tap_stats(struct mesh *m, struct mesh_tap_stats *out)
{
	out->received = atomic_load(&m->received);
	out->parsed = atomic_load(&m->parsed);
	out->rejected = atomic_load(&m->rejected);
}

/* ---- probes ---- */

/*
 * The servers (their pod's app port for mtls.enforced) and the clients.
 * identity.expiry reads every proxy's certificate from its metrics only
 * (cert_from_proxy): an inbound proxy answers an unmeshed TLS client with
 * no identity certificate, so a handshake would only ever fail there.
 */
static int l5d_probe_info(struct mesh *m, struct mesh_probe_info *out)
{
	char names[MESH_MAX_WORKLOADS][64], err[256];
	size_t n = 0, nserv;

	memset(out, 0, sizeof(*out));
	/* on the prober's thread: its own client (mesh.h) */
	if (component_deployments(m, m->kp, "server", names, MESH_MAX_WORKLOADS, &n, err,
				  sizeof(err)))
		return -EIO;
	nserv = n;
	if (component_deployments(m, m->kp, "client", names, MESH_MAX_WORKLOADS, &n, err,
				  sizeof(err)))
		return -EIO;
	for (size_t i = 0; i < n; i++) {
		struct mesh_probe_target *t = &out->t[out->n];
		char pod[254], ip[64];

		str_copy(t->workload, sizeof(t->workload), names[i]);
		/* mtls.enforced: conformd (unmeshed) straight to the pod's app
		 * port, which the inbound proxy guards */
		if (i < nserv &&
		    pod_of(m, m->kp, names[i], pod, sizeof(pod), ip, sizeof(ip), err,
			   sizeof(err)) == 0 &&
		    ip[0])
			str_fmt(t->inbound, sizeof(t->inbound), strchr(ip, ':') ? "[%s]:%d" : "%s:%d",
				ip, strncmp(names[i], "grpc", 4) ? 8080 : 9090);
		t->cert_from_proxy = 1;
		out->n++;
	}
	return 0;
}

static int l5d_workload_cert(struct mesh *m, const char *name, char *cn, size_t cnlen,
			     int64_t *not_after)
{
	char pod[254], path[600], err[512];
	struct kube_error ke;
	struct prom_set *s = NULL;
	char *text = NULL;
	size_t len = 0;
	double exp;
	int rc;

	rc = pod_of(m, m->kp, name, pod, sizeof(pod), NULL, 0, err, sizeof(err));
	if (rc)
		return rc == -ENOENT ? -ENOENT : -EIO;
	/* the pod proxy subresource: the API server reaches the admin port */
	str_fmt(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s:%d/proxy/metrics", m->ns, pod,
		L5D_ADMIN_PORT);
	if (kube_get_text(m->kp, path, &text, &len, &ke) || len > L5D_METRICS_MAX) {
		free(text);
		return -EIO;
	}
	rc = prom_parse(text, len, &s, err, sizeof(err));
	free(text);
	if (rc)
		return -EIO;
	rc = l5d_cert_expiry(s, m->v, &exp, NULL, err, sizeof(err));
	prom_set_free(s);
	if (rc)
		return -ENOTSUP;
	*not_after = (int64_t)exp;
	return l5d_identity_of(m, name, cn, cnlen) ? -ENOENT : 0;
}

/* ---- the mesh's own view (proxy metrics, deltas between two scrapes) ---- */

static void scrapes_free(struct podscrape *p, size_t *n)
{
	for (size_t i = 0; i < *n; i++) {
		prom_set_free(p[i].s);
		p[i].s = NULL;
	}
	*n = 0;
}

/* One proxy's metrics through the pod proxy, parsed. 0 or -EIO with err. */
static int scrape_pod(struct mesh *m, const char *pod, struct prom_set **out, char *err,
		      size_t errlen)
{
	char path[600], perr[256];
	struct kube_error ke;
	char *text = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	str_fmt(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s:%d/proxy/metrics", m->ns, pod,
		L5D_ADMIN_PORT);
	if (kube_get_text(m->kv, path, &text, &len, &ke)) {
		str_fmt(err, errlen, "proxy metrics of pod %s/%s (%s): %s", m->ns, pod, path,
			ke.text[0] ? ke.text : "no answer");
		return -EIO;
	}
	if (len > L5D_METRICS_MAX) {
		free(text);
		str_fmt(err, errlen, "proxy metrics of pod %s/%s: %zu bytes, over the %u cap", m->ns,
			pod, len, L5D_METRICS_MAX);
		return -EIO;
	}
	rc = prom_parse(text, len, out, perr, sizeof(perr));
	free(text);
	if (rc) {
		str_fmt(err, errlen, "proxy metrics of pod %s/%s are not Prometheus text: %s", m->ns,
			pod, perr);
		return -EIO;
	}
	return 0;
}

/*
 * Scrapes the proxies of the run's pods (app.kubernetes.io/component server
 * and client; pods whose phase says they are not running are left out)
 * into cur. 0, or -EIO with err (nothing kept).
 */
static int scrape_all(struct mesh *m, struct podscrape *cur, size_t *ncur, char *err,
		      size_t errlen)
{
	static const char *const comp[] = { "app.kubernetes.io/component=server",
					    "app.kubernetes.io/component=client" };
	char path[512];
	struct kube_error e;
	const cJSON *it;
	int rc = 0;

	*ncur = 0;
	kube_path(path, sizeof(path), "v1", m->ns, "pods", NULL);
	for (size_t c = 0; c < 2 && !rc; c++) {
		cJSON *l = NULL;

		if (kube_list(m->kv, path, comp[c], NULL, &l, NULL, 0, &e)) {
			kerr(err, errlen, -EIO, "listing the run's pods", &e);
			rc = -EIO;
			break;
		}
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(l, "items")) {
			const cJSON *md = cJSON_GetObjectItemCaseSensitive(it, "metadata");
			const cJSON *nm = cJSON_GetObjectItemCaseSensitive(md, "name");
			const cJSON *lb = cJSON_GetObjectItemCaseSensitive(md, "labels");
			const cJSON *app = cJSON_GetObjectItemCaseSensitive(lb, "app");
			const cJSON *ver = cJSON_GetObjectItemCaseSensitive(lb, "version");
			const cJSON *ph = cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(it, "status"), "phase");
			struct podscrape *p = &cur[*ncur];

			if (!cJSON_IsString(nm) || (cJSON_IsString(ph) &&
						    strcmp(ph->valuestring, "Running")))
				continue;
			if (*ncur >= L5D_VIEW_PODS) {
				str_fmt(err, errlen, "more than %d pods in namespace %s to scrape",
					L5D_VIEW_PODS, m->ns);
				rc = -EIO;
				break;
			}
			memset(p, 0, sizeof(*p));
			str_copy(p->pod, sizeof(p->pod), nm->valuestring);
			p->server = c == 0;
			str_fmt(p->workload, sizeof(p->workload), "%s%s%s",
				cJSON_IsString(app) ? app->valuestring : nm->valuestring,
				cJSON_IsString(ver) ? "-" : "",
				cJSON_IsString(ver) ? ver->valuestring : "");
			(*ncur)++;
			rc = scrape_pod(m, p->pod, &p->s, err, errlen);
			if (rc)
				break;
		}
		cJSON_Delete(l);
	}
	if (rc)
		scrapes_free(cur, ncur);
	return rc;
}

/* "pod P <what>" added to why the view is partial */
static void view_partial(struct mesh_view *v, const char *pod, const char *what)
{
	char one[160];

	str_fmt(one, sizeof(one), "pod %s %s", pod, what);
	if (!v->partial)
		str_copy(v->why, sizeof(v->why), one);
	else if (strlen(v->why) + strlen(one) + 3 < sizeof(v->why))
		str_fmt(v->why + strlen(v->why), sizeof(v->why) - strlen(v->why), "; %s", one);
	v->partial = 1;
}

/* The inbound counts of a server pod's delta into v (the admin port, where
 * the scrapes and the kubelet's probes land, left out). */
static void view_inbound(struct mesh *m, const struct podscrape *p, const struct prom_set *d,
			 struct mesh_view *v)
{
	/* PX linkerd/app/src/env.rs: the admin listener on 4191, whose own
	 * requests (these scrapes, the kubelet's probes) the proxy counts as
	 * plaintext inbound; target_port: PX linkerd/app/core/src/transport/
	 * labels.rs (TargetAddr) */
	struct prom_matcher notadmin = { "target_port", PROM_NE, "4191" };
	struct l5d_traffic t;
	struct mv_server *s;
	char err[256];

	if (l5d_traffic(d, m->v, L5D_INBOUND, &notadmin, 1, &t, err, sizeof(err)))
		return;
	s = meshview_server(v, p->workload);
	if (!s)
		return;
	s->requests += t.requests;
	s->tls += t.requests_tls;
	for (size_t i = 0; i < t.npeers; i++)
		meshview_peer_add(s, t.peers[i].id, t.peers[i].requests);
}

/* The retries per route and the split of a client pod's delta into v. */
static void view_outbound(struct mesh *m, const struct prom_set *d, struct mesh_view *v)
{
	struct l5d_split sp;
	char err[256];

	/* every route with retry series (PX #3093, 2.16+; none before) */
	for (size_t i = 0; m->v >= L5D_2_16 && i < prom_count(d); i++) {
		const char *rn;
		struct l5d_retries r;
		size_t k;

		if (strcmp(prom_name(d, i), "outbound_http_route_retry_requests_total"))
			continue;
		rn = prom_label(d, i, "route_name");
		if (!rn || !*rn)
			continue;
		for (k = 0; k < v->nroutes; k++)
			if (!strcmp(v->routes[k].name, rn))
				break;
		if (k < v->nroutes || k >= MV_ROUTES_MAX || strlen(rn) >= sizeof(v->routes[k].name))
			continue;   /* counted with its route's first series, or no room */
		if (l5d_retries(d, m->v, 0, rn, &r, err, sizeof(err)))
			continue;
		str_copy(v->routes[k].name, sizeof(v->routes[k].name), rn);
		v->routes[k].retries = r.requests;
		v->routes[k].successes = r.successes;
		v->routes[k].limit_exceeded = r.limit_exceeded;
		v->routes[k].overflow = r.overflow;
		v->nroutes++;
	}
	if (!m->split_set)
		return;
	str_copy(v->split_parent, sizeof(v->split_parent), m->split_service);
	l5d_split(d, 0, m->split_service, &sp, err, sizeof(err));
	for (size_t i = 0; i < sp.nbackends; i++) {
		size_t k;

		for (k = 0; k < v->nbackends; k++)
			if (!strcmp(v->backends[k].name, sp.backends[i].name))
				break;
		if (k == v->nbackends) {
			if (k >= MV_BACKENDS_MAX ||
			    strlen(sp.backends[i].name) >= sizeof(v->backends[k].name))
				continue;
			str_copy(v->backends[k].name, sizeof(v->backends[k].name),
				 sp.backends[i].name);
			v->backends[k].requests = 0;
			v->nbackends++;
		}
		v->backends[k].requests += sp.backends[i].requests;
	}
}

/*
 * What Linkerd says of a route it read: the status.parents entry its policy
 * controller writes (controllerName linkerd.io/policy-controller, L2
 * policy-controller/core/src/lib.rs POLICY_CONTROLLER_NAME) carries the
 * conditions Accepted and ResolvedRefs, True or False with a reason such as
 * NoMatchingParent, RouteReasonConflicted, BackendNotFound or InvalidKind
 * (L2 policy-controller/k8s/status/src/index.rs, conditions and reasons).
 * "" when Linkerd wrote none, "accepted" when every condition is True, else
 * what is not, with the reason and message.
 */
static void route_state(const cJSON *route, char *out, size_t len)
{
	const cJSON *p, *c;
	size_t at = 0;
	int found = 0;

	out[0] = '\0';
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
		route, "status"), "parents")) {
		const char *ctl = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p,
			"controllerName"));

		if (!ctl || strcmp(ctl, "linkerd.io/policy-controller"))
			continue;
		found = 1;
		cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(p, "conditions")) {
			const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c,
				"type"));
			const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c,
				"status"));
			const char *why = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c,
				"reason"));
			const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c,
				"message"));

			if (!type || (st && !strcmp(st, "True")) || at >= len)
				continue;
			at += (size_t)snprintf(out + at, len - at, "%s%s %s: %s%s%s%s",
					       at ? "; " : "", type, st ? st : "unknown",
					       why ? why : "no reason", msg && *msg ? " (" : "",
					       msg && *msg ? msg : "", msg && *msg ? ")" : "");
		}
	}
	if (found && !out[0])
		str_copy(out, len, "accepted");
}

/*
 * Once a view: the status of every route the adapter applied, on the view's
 * thread with its client. A change is a mesh.config event (a route Linkerd
 * did not accept explains checks that fail on it), and so is a route with
 * no status from Linkerd after L5D_ROUTE_STATUS_VIEWS views.
 */
static void routes_status(struct mesh *m)
{
	struct routestate r[L5D_ROUTES];
	size_t n, i;

	pthread_mutex_lock(&m->routes_mu);
	n = m->nroutes;
	memcpy(r, m->routes, sizeof(r[0]) * n);
	pthread_mutex_unlock(&m->routes_mu);
	for (i = 0; i < n; i++) {
		char path[512], state[400], detail[512];
		struct kube_error e;
		cJSON *o = NULL;

		route_path(m, r[i].name, path, sizeof(path));
		if (kube_get(m->kv, path, &o, &e))
			continue;   /* the view's own errors say whether the API answers */
		route_state(o, state, sizeof(state));
		cJSON_Delete(o);
		r[i].seen++;
		if (!state[0] && r[i].seen == L5D_ROUTE_STATUS_VIEWS && !r[i].last[0]) {
			str_fmt(detail, sizeof(detail), "HTTPRoute %s: no status from "
				"linkerd.io/policy-controller after %d windows: is the policy "
				"controller running (linkerd check)?", r[i].name, r[i].seen);
			l5d_event(m, "mesh.config", r[i].name, detail);
			str_copy(r[i].last, sizeof(r[i].last), "no status");
		} else if (state[0] && strcmp(state, r[i].last)) {
			int ok = !strcmp(state, "accepted");
			int was_refused = r[i].last[0] && strcmp(r[i].last, "accepted") &&
					  strcmp(r[i].last, "no status");

			str_fmt(detail, sizeof(detail), "HTTPRoute %s: %s (linkerd.io/"
				"policy-controller)", r[i].name, state);
			/*
			 * A refusal is mesh.refused with the route's checks as its
			 * subject (the report puts their failures under it, until a
			 * mesh.accepted of the same subject); a first acceptance
			 * is only said.
			 */
			if (!ok && r[i].checks[0])
				l5d_event(m, "mesh.refused", r[i].checks, detail);
			else if (ok && was_refused && r[i].checks[0])
				l5d_event(m, "mesh.accepted", r[i].checks, detail);
			else
				l5d_event(m, "mesh.config", r[i].name, detail);
			str_copy(r[i].last, sizeof(r[i].last), state);
		}
	}
	pthread_mutex_lock(&m->routes_mu);
	for (i = 0; i < n && i < m->nroutes; i++)
		if (!strcmp(m->routes[i].name, r[i].name)) {
			m->routes[i].seen = r[i].seen;
			str_copy(m->routes[i].last, sizeof(m->routes[i].last), r[i].last);
		}
	pthread_mutex_unlock(&m->routes_mu);
}

static int l5d_view(struct mesh *m, struct mesh_view *out, char *err, size_t errlen)
{
	struct podscrape cur[L5D_VIEW_PODS];
	size_t ncur = 0, i, k;
	double at = wall_s();
	int rc;

	memset(out, 0, sizeof(*out));
	routes_status(m);
	rc = scrape_all(m, cur, &ncur, err, errlen);
	if (rc) {
		/* the next view would span two windows: start again from a baseline */
		scrapes_free(m->prev, &m->nprev);
		m->have_prev = 0;
		return rc;
	}
	if (!m->have_prev) {
		rc = -EAGAIN;
		goto keep;
	}
	out->from = m->prev_at;
	out->to = at;
	out->pods = ncur;
	for (i = 0; i < ncur; i++) {
		const struct prom_set *before = NULL;
		struct prom_set *d = NULL;
		struct l5d_resets rs;

		for (k = 0; k < m->nprev; k++)
			if (!strcmp(m->prev[k].pod, cur[i].pod))
				before = m->prev[k].s;
		if (!before)
			view_partial(out, cur[i].pod, "appeared since the last scrape");
		if (l5d_scrape_delta(cur[i].pod, before, cur[i].s, &d, &rs)) {
			str_fmt(err, errlen, "out of memory on the metrics of pod %s", cur[i].pod);
			rc = -ENOMEM;
			scrapes_free(cur, &ncur);
			scrapes_free(m->prev, &m->nprev);
			m->have_prev = 0;
			return rc;
		}
		/* a new process_start_time_seconds (PX linkerd/app/core/src/
		 * telemetry/process.rs) or a counter that went down: the proxy
		 * restarted, and its counts before the restart, after the last
		 * scrape, are gone */
		if (rs.restarted)
			view_partial(out, cur[i].pod, "had its proxy restarted since the last scrape");
		else if (rs.series)
			view_partial(out, cur[i].pod, "had counters go down since the last scrape");
		if (cur[i].server)
			view_inbound(m, &cur[i], d, out);
		else
			view_outbound(m, d, out);
		prom_set_free(d);
	}
	for (k = 0; k < m->nprev; k++) {
		for (i = 0; i < ncur; i++)
			if (!strcmp(m->prev[k].pod, cur[i].pod))
				break;
		if (i == ncur)
			view_partial(out, m->prev[k].pod, "went away since the last scrape");
	}
	rc = 0;
keep:
	scrapes_free(m->prev, &m->nprev);
	memcpy(m->prev, cur, sizeof(cur[0]) * ncur);
	m->nprev = ncur;
	m->have_prev = 1;
	m->prev_at = at;
	return rc;
}

static void l5d_release(struct mesh *m)
{
	if (!m)
		return;
	scrapes_free(m->prev, &m->nprev);
	for (size_t i = 0; i < m->ntap; i++) {
		l5d_tapstream_free(m->tap[i].s);
		l5d_tap_pb_release(&m->tap[i].pb);
		l5d_tap_corr_release(&m->tap[i].corr);
	}
	kube_client_free(m->k);
	kube_client_free(m->kv);
	kube_client_free(m->kp);
	pthread_mutex_destroy(&m->routes_mu);
	free(m);
}

const struct mesh_ops mesh_linkerd = {
	.name = "linkerd",
	.caps = MESH_CAP_PROXIES | MESH_CAP_IDENTITY | MESH_CAP_TAP | MESH_CAP_PROBES |
		MESH_CAP_WEIGHTS,
	.faults = 1u << FAULT_MTLS_OFF | 1u << FAULT_RETRIES_OFF | 1u << FAULT_SPLIT_SKEW |
		  1u << FAULT_TIMEOUT_OFF | 1u << FAULT_SIDECAR_KILL,
	.check_deps = NULL,
	.prepare = l5d_prepare,
	.plan = l5d_plan,
	.start_sidecars = l5d_start_sidecars,
	.identity_header = l5d_identity_header,
	.route = l5d_route,
	.configure = l5d_configure,
	.tap_open = l5d_tap_open,
	.tap_read = l5d_tap_read,
	.tap_stats = l5d_tap_stats,
	.identity_of = l5d_identity_of,
	.inject_fault = l5d_inject_fault,
	.revert_fault = l5d_revert_fault,
	.tick = l5d_tick,
	.probe_info = l5d_probe_info,
	.workload_cert = l5d_workload_cert,
	.view = l5d_view,
	.release = l5d_release,
	.evidence = l5d_evidence,
};
