/*
 * objects.c - the objects of a run on Kubernetes as cJSON, field for field
 * those of manifests/kubernetes/base (plus the mesh overlay's injection
 * annotations), built from workload specs so that conformd applies what
 * `conform manifests` prints and what kustomize renders.
 */
#include "platform/kubernetes/objects.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "checks/check.h"
#include "checks/traffic.h"

/* One Service in front of a server (manifests/kubernetes/base/http-server.yaml, grpc-server.yaml). */
static const struct kube_svc {
	const char *name;
	const char *owner;        /* the workload whose objects it goes with */
	const char *app;          /* selector app */
	const char *version;      /* selector version, NULL = every version */
	int grpc;                 /* port grpc 9090 (h2c) instead of http 8080 */
	int admin;                /* also the admin port 9901 */
} svcs[] = {
	{ "http-server", "http-server", "http-server", NULL, 0, 0 },
	{ "http-server-v1", "http-server", "http-server", "v1", 0, 1 },
	{ "http-server-v2", "http-server-v2", "http-server", "v2", 0, 1 },
	{ "http-retry", "http-server", "http-server", "v1", 0, 0 },
	{ "http-timeout", "http-server", "http-server", "v1", 0, 0 },
	{ "grpc-server", "grpc-server", "grpc-server", NULL, 1, 1 },
};

/* Service names per owner (kube_workload_services). */
static const char *const svc_http_server[] = { "http-server", "http-server-v1", "http-retry",
	"http-timeout", NULL };
static const char *const svc_http_server_v2[] = { "http-server-v2", NULL };
static const char *const svc_grpc_server[] = { "grpc-server", NULL };
static const char *const svc_none[] = { NULL };

/* route of lib/checks/traffic.c -> the Service a client sends it to */
static const struct {
	const char *route, *service;
	int port;
} routes[] = {
	{ "http", "http-server-v1", KUBE_HTTP_PORT },
	{ "split", "http-server", KUBE_HTTP_PORT },
	{ "retry", "http-retry", KUBE_HTTP_PORT },
	{ "timeout", "http-timeout", KUBE_HTTP_PORT },
	{ "grpc", "grpc-server", KUBE_GRPC_PORT },
};

void kube_run_defaults(struct kube_run *r)
{
	memset(r, 0, sizeof(*r));
	str_copy(r->namespace, sizeof(r->namespace), KUBE_DEFAULT_NAMESPACE);
	str_copy(r->image, sizeof(r->image), KUBE_DEFAULT_IMAGE);
	str_copy(r->mesh, sizeof(r->mesh), "none");
}

/* RFC 1123 label: lowercase alphanumerics and '-', alphanumeric at both ends */
static int dns_label(const char *s, size_t max)
{
	size_t n = strlen(s), i;

	if (!n || n > max || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
			return 0;
	return 1;
}

/* label value (apimachinery validation IsValidLabelValue): <= 63 of
 * [A-Za-z0-9._-], alphanumeric at both ends, or empty */
static int label_value(const char *s)
{
	size_t n = strlen(s), i;

	if (!n)
		return 1;
	if (n > 63 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return 0;
	return 1;
}

int kube_run_check(const struct kube_run *r, char *err, size_t errlen)
{
	if (!dns_label(r->namespace, 63)) {
		str_fmt(err, errlen, "namespace \"%s\": expected a DNS label (lowercase letters, "
			"digits and '-', at most 63)", r->namespace);
		return -1;
	}
	if (strcmp(r->mesh, "none") && strcmp(r->mesh, "linkerd")) {
		str_fmt(err, errlen, "mesh \"%s\": on kubernetes expected none or linkerd", r->mesh);
		return -1;
	}
	if (!r->image[0] || strpbrk(r->image, " \t\n")) {
		str_fmt(err, errlen, "image \"%s\": expected a reference like conform:%s", r->image,
			CONFORM_VERSION);
		return -1;
	}
	if (!label_value(r->run_id)) {
		str_fmt(err, errlen, "run id \"%s\" is not a label value", r->run_id);
		return -1;
	}
	return 0;
}

static int is_linkerd(const struct kube_run *r)
{
	return !strcmp(r->mesh, "linkerd");
}

/* apiVersion, kind, metadata {name, namespace, labels {part-of, extra...}} */
static cJSON *obj_new(const struct kube_run *r, const char *api, const char *kind,
		      const char *name, int namespaced, cJSON **labels)
{
	cJSON *o = cJSON_CreateObject(), *md, *l;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "apiVersion", api);
	cJSON_AddStringToObject(o, "kind", kind);
	md = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(md, "name", name);
	if (namespaced)
		cJSON_AddStringToObject(md, "namespace", r->namespace);
	l = cJSON_AddObjectToObject(md, "labels");
	if (labels)
		*labels = l;
	return o;
}

/* the part-of label, and the run label where asked (never in selectors) */
static void add_common(cJSON *labels, const struct kube_run *r, int with_run)
{
	cJSON_AddStringToObject(labels, KUBE_LABEL_PART_OF, "conform");
	if (with_run && r->run_id[0])
		cJSON_AddStringToObject(labels, KUBE_LABEL_RUN, r->run_id);
}

cJSON *kube_obj_namespace(const struct kube_run *r)
{
	cJSON *labels, *o = obj_new(r, "v1", "Namespace", r->namespace, 0, &labels), *ann;

	if (!o)
		return NULL;
	/* manifests/kubernetes/{none,linkerd}/namespace.yaml */
	cJSON_AddStringToObject(labels, KUBE_LABEL_MESH, r->mesh);
	add_common(labels, r, 1);
	if (!is_linkerd(r)) {
		ann = cJSON_AddObjectToObject(cJSON_GetObjectItemCaseSensitive(o, "metadata"),
					      "annotations");
		cJSON_AddStringToObject(ann, "linkerd.io/inject", "disabled");
	}
	return o;
}

const char *const *kube_workload_services(const char *name)
{
	if (!strcmp(name, "http-server"))
		return svc_http_server;
	if (!strcmp(name, "http-server-v2"))
		return svc_http_server_v2;
	if (!strcmp(name, "grpc-server"))
		return svc_grpc_server;
	return svc_none;
}

int kube_route_address(const struct kube_run *r, const char *route, char *out, size_t len)
{
	size_t i;

	for (i = 0; route && i < ARRAY_SIZE(routes); i++)
		if (!strcmp(routes[i].route, route))
			return str_fmt(out, len, "%s.%s.svc.cluster.local:%d", routes[i].service,
				       r->namespace, routes[i].port);
	return -1;
}

/* One Service port, its targetPort the container port of the same name. */
static void service_port(cJSON *ports, const char *name, int port, const char *proto)
{
	cJSON *p = cJSON_CreateObject();

	cJSON_AddStringToObject(p, "name", name);
	cJSON_AddNumberToObject(p, "port", port);
	cJSON_AddStringToObject(p, "targetPort", name);
	cJSON_AddStringToObject(p, "appProtocol", proto);
	cJSON_AddItemToArray(ports, p);
}

static cJSON *service(const struct kube_run *r, const struct kube_svc *sv)
{
	cJSON *labels, *o = obj_new(r, "v1", "Service", sv->name, 1, &labels), *spec, *sel;
	cJSON *ports;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(labels, "app", sv->app);
	add_common(labels, r, 1);
	spec = cJSON_AddObjectToObject(o, "spec");
	sel = cJSON_AddObjectToObject(spec, "selector");
	cJSON_AddStringToObject(sel, "app", sv->app);
	if (sv->version)
		cJSON_AddStringToObject(sel, "version", sv->version);
	add_common(sel, r, 0);
	ports = cJSON_AddArrayToObject(spec, "ports");
	/* Gateway API GEP-1911 names h2c kubernetes.io/h2c */
	service_port(ports, sv->grpc ? "grpc" : "http", sv->grpc ? KUBE_GRPC_PORT : KUBE_HTTP_PORT,
		     sv->grpc ? "kubernetes.io/h2c" : "http");
	if (sv->admin)
		service_port(ports, "admin", KUBE_ADMIN_PORT, "http");
	return o;
}

static cJSON *service_account(const struct kube_run *r, const char *name)
{
	cJSON *labels, *o = obj_new(r, "v1", "ServiceAccount", name, 1, &labels);

	if (!o)
		return NULL;
	add_common(labels, r, 1);
	/* only conformd talks to the API server */
	cJSON_AddBoolToObject(o, "automountServiceAccountToken", 0);
	return o;
}

static void add_str_array(cJSON *o, const char *key, const char *const *v, size_t n)
{
	cJSON *a = cJSON_AddArrayToObject(o, key);
	size_t i;

	for (i = 0; a && i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
}

static void add_port(cJSON *ports, const char *name, int port)
{
	cJSON *p = cJSON_CreateObject();

	cJSON_AddStringToObject(p, "name", name);
	cJSON_AddNumberToObject(p, "containerPort", port);
	cJSON_AddStringToObject(p, "protocol", "TCP");
	cJSON_AddItemToArray(ports, p);
}

/* requests 50m/32Mi, limits 500m/128Mi (manifests/kubernetes/base) */
static void add_resources(cJSON *c)
{
	cJSON *res = cJSON_AddObjectToObject(c, "resources"), *x;

	x = cJSON_AddObjectToObject(res, "requests");
	cJSON_AddStringToObject(x, "cpu", "50m");
	cJSON_AddStringToObject(x, "memory", "32Mi");
	x = cJSON_AddObjectToObject(res, "limits");
	cJSON_AddStringToObject(x, "cpu", "500m");
	cJSON_AddStringToObject(x, "memory", "128Mi");
}

static void add_container_security(cJSON *c)
{
	static const char *const drop[] = { "ALL" };
	cJSON *sc = cJSON_AddObjectToObject(c, "securityContext");

	cJSON_AddBoolToObject(sc, "allowPrivilegeEscalation", 0);
	cJSON_AddBoolToObject(sc, "readOnlyRootFilesystem", 1);
	add_str_array(cJSON_AddObjectToObject(sc, "capabilities"), "drop", drop, 1);
}

static void add_pod_security(cJSON *spec)
{
	cJSON *sc = cJSON_AddObjectToObject(spec, "securityContext");

	cJSON_AddBoolToObject(sc, "runAsNonRoot", 1);
	cJSON_AddNumberToObject(sc, "runAsUser", 65532);
	cJSON_AddNumberToObject(sc, "runAsGroup", 65532);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(sc, "seccompProfile"), "type",
				"RuntimeDefault");
}

/* CONFORM_TOKEN from the Secret conform-run that `conform start` creates */
static void add_token_env(cJSON *c)
{
	cJSON *env = cJSON_AddArrayToObject(c, "env"), *e, *ref;

	e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "name", "CONFORM_TOKEN");
	ref = cJSON_AddObjectToObject(cJSON_AddObjectToObject(e, "valueFrom"), "secretKeyRef");
	cJSON_AddStringToObject(ref, "name", "conform-run");
	cJSON_AddStringToObject(ref, "key", "token");
	cJSON_AddItemToArray(env, e);
}

/* the container's args: conform-workload's flags as the local platform
 * passes them, with listen addresses and the collector of the cluster */
static int workload_args(const struct kube_run *r, const struct workload_spec *s, int server,
			 int grpc, cJSON *c)
{
	cJSON *a = cJSON_AddArrayToObject(c, "args");
	char buf[PLATFORM_ADDR_MAX + 64];
	size_t i;

	if (!a)
		return -1;
#define ARG(v) cJSON_AddItemToArray(a, cJSON_CreateString(v))
	ARG("--role");
	ARG(s->role);
	ARG("--name");
	ARG(s->name);
	if (s->version[0]) {
		ARG("--version");
		ARG(s->version);
	}
	if (server) {
		ARG("--listen");
		str_fmt(buf, sizeof(buf), "0.0.0.0:%d", grpc ? KUBE_GRPC_PORT : KUBE_HTTP_PORT);
		ARG(buf);
		ARG("--admin");
		str_fmt(buf, sizeof(buf), "0.0.0.0:%d", KUBE_ADMIN_PORT);
		ARG(buf);
	} else {
		ARG("--collector");
		if (str_fmt(buf, sizeof(buf), "conformd.%s.svc.cluster.local:%d", r->namespace,
			    KUBE_COLLECTOR_PORT) < 0)
			return -1;
		ARG(buf);
	}
	if (s->identity_header[0]) {
		ARG("--identity-header");
		ARG(s->identity_header);
	}
	for (i = 0; i < s->nflows && i < PLATFORM_MAX_FLOWS; i++) {
		ARG("--flow");
		ARG(s->flows[i]);
	}
#undef ARG
	return 0;
}

/* app, version and component labels of a workload (metadata and template) */
static void workload_labels(cJSON *l, const struct workload_spec *s, int server)
{
	cJSON_AddStringToObject(l, "app", server ? s->role : s->name);
	if (server && s->version[0])
		cJSON_AddStringToObject(l, "version", s->version);
	cJSON_AddStringToObject(l, "app.kubernetes.io/component", server ? "server" : "client");
}

static cJSON *deployment(const struct kube_run *r, const struct workload_spec *s, int server,
			 int grpc)
{
	static const char *const cmd[] = { KUBE_WORKLOAD_BIN };
	cJSON *labels, *o = obj_new(r, "apps/v1", "Deployment", s->name, 1, &labels);
	cJSON *spec, *sel, *tpl, *tmd, *tl, *pspec, *cs, *c, *probe;

	if (!o)
		return NULL;
	workload_labels(labels, s, server);
	add_common(labels, r, 1);
	spec = cJSON_AddObjectToObject(o, "spec");
	cJSON_AddNumberToObject(spec, "replicas", 1);
	sel = cJSON_AddObjectToObject(cJSON_AddObjectToObject(spec, "selector"), "matchLabels");
	cJSON_AddStringToObject(sel, "app", server ? s->role : s->name);
	if (server && s->version[0])
		cJSON_AddStringToObject(sel, "version", s->version);
	add_common(sel, r, 0);
	tpl = cJSON_AddObjectToObject(spec, "template");
	tmd = cJSON_AddObjectToObject(tpl, "metadata");
	tl = cJSON_AddObjectToObject(tmd, "labels");
	workload_labels(tl, s, server);
	add_common(tl, r, 1);
	if (is_linkerd(r)) {
		/* manifests/kubernetes/linkerd/inject.yaml; never on conformd's pod */
		cJSON *ann = cJSON_AddObjectToObject(tmd, "annotations");

		cJSON_AddStringToObject(ann, "linkerd.io/inject", "enabled");
		/*
		 * The admin port is conformd's control channel to the app (faults
		 * such as server-errors): conformd is unmeshed, so through the
		 * proxy a default policy that wants authentication would refuse
		 * it, and its requests would count in the proxies' view. It is
		 * not part of the mesh under test: the proxy skips it (L2
		 * pkg/k8s/labels.go ProxyIgnoreInboundPortsAnnotation).
		 */
		cJSON_AddStringToObject(ann, "config.linkerd.io/skip-inbound-ports",
					KUBE_ADMIN_PORT_S);
		/* L2 pkg/k8s/labels.go ProxyDefaultInboundPolicyAnnotation, read
		 * from the pod (policy-controller/k8s/index/src/inbound/workload.rs) */
		if (r->inbound_policy[0])
			cJSON_AddStringToObject(ann, "config.linkerd.io/default-inbound-policy",
						r->inbound_policy);
	}
	pspec = cJSON_AddObjectToObject(tpl, "spec");
	cJSON_AddStringToObject(pspec, "serviceAccountName", s->name);
	cJSON_AddBoolToObject(pspec, "automountServiceAccountToken", 0);
	add_pod_security(pspec);
	cs = cJSON_AddArrayToObject(pspec, "containers");
	c = cJSON_CreateObject();
	cJSON_AddItemToArray(cs, c);
	cJSON_AddStringToObject(c, "name", s->role);
	cJSON_AddStringToObject(c, "image", r->image);
	cJSON_AddStringToObject(c, "imagePullPolicy", "IfNotPresent");
	add_str_array(c, "command", cmd, 1);
	if (workload_args(r, s, server, grpc, c) < 0) {
		cJSON_Delete(o);
		return NULL;
	}
	add_token_env(c);
	if (server) {
		cJSON *ports = cJSON_AddArrayToObject(c, "ports");

		add_port(ports, grpc ? "grpc" : "http", grpc ? KUBE_GRPC_PORT : KUBE_HTTP_PORT);
		add_port(ports, "admin", KUBE_ADMIN_PORT);
		probe = cJSON_AddObjectToObject(c, "readinessProbe");
		if (grpc) {
			cJSON_AddStringToObject(cJSON_AddObjectToObject(probe, "tcpSocket"), "port",
						"grpc");
		} else {
			cJSON *hg = cJSON_AddObjectToObject(probe, "httpGet");

			cJSON_AddStringToObject(hg, "path", "/healthz");
			cJSON_AddStringToObject(hg, "port", "http");
		}
		cJSON_AddNumberToObject(probe, "periodSeconds", 5);
	}
	add_resources(c);
	add_container_security(c);
	return o;
}

int kube_obj_workload(const struct kube_run *r, const struct workload_spec *s, cJSON *arr,
		      char *err, size_t errlen)
{
	int server = s->role_bit & (ROLE_HTTP_SERVER | ROLE_GRPC_SERVER);
	int grpc = !strcmp(s->role, "grpc-server");
	const char *const *own;
	cJSON *o;
	size_t i;

	if (strcmp(s->role, "http-server") && strcmp(s->role, "grpc-server") &&
	    strcmp(s->role, "http-client") && strcmp(s->role, "grpc-client")) {
		str_fmt(err, errlen, "workload %s: role \"%s\" does not run on kubernetes "
			"(helpers such as sidecars are the mesh's there)", s->name, s->role);
		return -1;
	}
	if (!dns_label(s->name, 63)) {
		str_fmt(err, errlen, "workload %s: the name is not a DNS label", s->name);
		return -1;
	}
	o = service_account(r, s->name);
	if (!o || !cJSON_AddItemToArray(arr, o))
		goto oom;
	o = deployment(r, s, server, grpc);
	if (!o || !cJSON_AddItemToArray(arr, o))
		goto oom;
	for (own = kube_workload_services(s->name); *own; own++)
		for (i = 0; i < ARRAY_SIZE(svcs); i++) {
			if (strcmp(svcs[i].name, *own))
				continue;
			o = service(r, &svcs[i]);
			if (!o || !cJSON_AddItemToArray(arr, o))
				goto oom;
		}
	return 0;
oom:
	cJSON_Delete(o);
	str_fmt(err, errlen, "workload %s: out of memory building its objects", s->name);
	return -1;
}

int kube_run_specs(const struct kube_run *r, const struct run_config *c,
		   struct workload_spec *out, size_t max, char *err, size_t errlen)
{
	struct traffic_plan plan;
	size_t i, k, n = 0;

	if (traffic_plan_make(c, strcmp(r->mesh, "none") != 0, &plan) < 0) {
		str_fmt(err, errlen, "the run's traffic plan does not fit its tables");
		return -1;
	}
	for (i = 0; i < traffic_nworkloads; i++) {
		const struct traffic_workload *tw = &traffic_workloads[i];
		struct workload_spec *s;

		if (!traffic_uses(&plan, tw->name))
			continue;
		if (n >= max) {
			str_fmt(err, errlen, "more than %zu workloads", max);
			return -1;
		}
		s = &out[n++];
		memset(s, 0, sizeof(*s));
		str_copy(s->name, sizeof(s->name), tw->name);
		str_copy(s->role, sizeof(s->role), tw->role);
		str_copy(s->version, sizeof(s->version), tw->version);
		s->role_bit = tw->role_bit;
		for (k = 0; k < plan.nflows; k++) {
			const struct traffic_flow *f = &plan.flows[k];
			char addr[PLATFORM_ADDR_MAX + 64];

			if (strcmp(f->client, tw->name))
				continue;
			if (s->nflows >= PLATFORM_MAX_FLOWS ||
			    kube_route_address(r, f->route, addr, sizeof(addr)) < 0 ||
			    traffic_flow_spec(f, addr, NULL, s->flows[s->nflows],
					      sizeof(s->flows[0])) < 0) {
				str_fmt(err, errlen, "workload %s: flow %s does not fit", tw->name,
					f->check);
				return -1;
			}
			s->nflows++;
		}
	}
	return (int)n;
}

cJSON *kube_obj_run(const struct kube_run *run, const struct run_config *c, char *err,
		    size_t errlen)
{
	struct workload_spec specs[PLATFORM_MAX_WORKLOADS];
	struct kube_run rr = *run, *r = &rr;
	cJSON *arr = NULL, *ns;
	int n, i;

	if (kube_run_check(r, err, errlen) < 0)
		return NULL;
	str_copy(rr.inbound_policy, sizeof(rr.inbound_policy), run_config_inbound_policy(c));
	n = kube_run_specs(r, c, specs, ARRAY_SIZE(specs), err, errlen);
	if (n < 0)
		return NULL;
	arr = cJSON_CreateArray();
	ns = kube_obj_namespace(r);
	if (!arr || !ns || !cJSON_AddItemToArray(arr, ns)) {
		cJSON_Delete(ns);
		str_fmt(err, errlen, "out of memory building the run's objects");
		goto fail;
	}
	for (i = 0; i < n; i++)
		if (kube_obj_workload(r, &specs[i], arr, err, errlen) < 0)
			goto fail;
	return arr;
fail:
	cJSON_Delete(arr);
	return NULL;
}

/* ---- conformd: the monitor's own objects (manifests/kubernetes/base/
 * conformd.yaml, rbac.yaml, serviceaccounts.yaml; linkerd/rbac.yaml) ---- */

/* One RBAC rule: group, resources and verbs, comma-separated. */
struct kube_rule {
	const char *groups, *resources, *verbs;
};

/* What conformd's calls need in its namespace (docs/kubernetes.md lists the
 * calls): watch and delete pods, their logs, events, and server-side apply
 * (patch, and create when new) of what objects.c builds. */
static const struct kube_rule rules_base[] = {
	{ "", "pods", "get,list,watch,delete" },
	{ "", "pods/log", "get" },
	{ "", "events", "list,watch" },
	{ "", "services,serviceaccounts", "get,list,watch,create,patch,delete" },
	{ "apps", "deployments", "get,list,watch,create,patch,delete" },
	{ NULL, NULL, NULL },
};

/* On Linkerd: routes, policy, and tap (a watch on the tap subresource of
 * the aggregated tap.linkerd.io API; a plain deployments rule does not
 * match it: kubernetes pkg/apis/rbac/v1/evaluation_helpers.go ResourceMatches) */
static const struct kube_rule rules_linkerd[] = {
	{ "gateway.networking.k8s.io", "httproutes", "get,list,watch,create,patch,delete" },
	{ "policy.linkerd.io", "servers,authorizationpolicies,meshtlsauthentications",
	  "get,list,watch,create,patch,delete" },
	{ "tap.linkerd.io", "deployments/tap,pods/tap", "watch" },
	/* the proxies' metrics (:4191/metrics) through the API server's pod proxy */
	{ "", "pods/proxy", "get" },
	{ NULL, NULL, NULL },
};

/*
 * The Linkerd version and trust domain: the control plane's linkerd-config
 * ConfigMap (linkerd2 charts/linkerd-control-plane/templates/config.yaml) in
 * the control plane's namespace, so a cluster-wide rule limited to that name.
 */
static cJSON *csv_array(const char *csv);

static int add_linkerd_config_role(const struct kube_run *r, cJSON *arr)
{
	cJSON *labels, *o = obj_new(r, "rbac.authorization.k8s.io/v1", "ClusterRole",
				    "conformd-linkerd-config", 0, &labels);
	cJSON *rule, *b, *ref, *sa;

	if (!o || !cJSON_AddItemToArray(arr, o))
		return -1;
	add_common(labels, r, 1);
	rule = cJSON_CreateObject();
	cJSON_AddItemToObject(rule, "apiGroups", csv_array(""));
	cJSON_AddItemToObject(rule, "resources", csv_array("configmaps"));
	cJSON_AddItemToObject(rule, "resourceNames", csv_array("linkerd-config"));
	cJSON_AddItemToObject(rule, "verbs", csv_array("get"));
	cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "rules"), rule);
	b = obj_new(r, "rbac.authorization.k8s.io/v1", "ClusterRoleBinding",
		    "conformd-linkerd-config", 0, &labels);
	if (!b || !cJSON_AddItemToArray(arr, b))
		return -1;
	add_common(labels, r, 1);
	ref = cJSON_AddObjectToObject(b, "roleRef");
	cJSON_AddStringToObject(ref, "apiGroup", "rbac.authorization.k8s.io");
	cJSON_AddStringToObject(ref, "kind", "ClusterRole");
	cJSON_AddStringToObject(ref, "name", "conformd-linkerd-config");
	sa = cJSON_CreateObject();
	cJSON_AddStringToObject(sa, "kind", "ServiceAccount");
	cJSON_AddStringToObject(sa, "name", "conformd");
	cJSON_AddStringToObject(sa, "namespace", r->namespace);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(b, "subjects"), sa);
	return 0;
}

/* "a,b" -> ["a", "b"] ("" -> [""]) */
static cJSON *csv_array(const char *csv)
{
	cJSON *a = cJSON_CreateArray();
	char buf[256], *save = NULL, *t;

	if (!a)
		return NULL;
	if (!*csv) {
		cJSON_AddItemToArray(a, cJSON_CreateString(""));
		return a;
	}
	str_copy(buf, sizeof(buf), csv);
	for (t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		cJSON_AddItemToArray(a, cJSON_CreateString(t));
	return a;
}

static int add_role(const struct kube_run *r, cJSON *arr, const char *name,
		    const struct kube_rule *rules)
{
	cJSON *labels, *o = obj_new(r, "rbac.authorization.k8s.io/v1", "Role", name, 1, &labels);
	cJSON *ra, *rule, *b, *ref, *subj, *sa;

	if (!o || !cJSON_AddItemToArray(arr, o))
		return -1;
	add_common(labels, r, 1);
	ra = cJSON_AddArrayToObject(o, "rules");
	for (; rules->groups; rules++) {
		rule = cJSON_CreateObject();
		cJSON_AddItemToObject(rule, "apiGroups", csv_array(rules->groups));
		cJSON_AddItemToObject(rule, "resources", csv_array(rules->resources));
		cJSON_AddItemToObject(rule, "verbs", csv_array(rules->verbs));
		cJSON_AddItemToArray(ra, rule);
	}
	b = obj_new(r, "rbac.authorization.k8s.io/v1", "RoleBinding", name, 1, &labels);
	if (!b || !cJSON_AddItemToArray(arr, b))
		return -1;
	add_common(labels, r, 1);
	ref = cJSON_AddObjectToObject(b, "roleRef");
	cJSON_AddStringToObject(ref, "apiGroup", "rbac.authorization.k8s.io");
	cJSON_AddStringToObject(ref, "kind", "Role");
	cJSON_AddStringToObject(ref, "name", name);
	subj = cJSON_AddArrayToObject(b, "subjects");
	sa = cJSON_CreateObject();
	cJSON_AddStringToObject(sa, "kind", "ServiceAccount");
	cJSON_AddStringToObject(sa, "name", "conformd");
	cJSON_AddStringToObject(sa, "namespace", r->namespace);
	cJSON_AddItemToArray(subj, sa);
	return 0;
}

static cJSON *monitor_deployment(const struct kube_run *r)
{
	static const char *const cmd[] = { "/usr/local/bin/conformd" };
	/* the API and the collector on the pod's address (the Service reaches them) */
	/* --seed: the run `conform start` hands over in the Secret conform-run;
	 * a replaced pod finds it on the volume and resumes it */
	static const char *const args[] = { "--run-dir", "/var/lib/conform/run",
					    "--seed", KUBE_SEED_DIR,
					    "--api-addr", "0.0.0.0:8080",
					    "--collector-addr", "0.0.0.0:9090" };
	cJSON *labels, *o = obj_new(r, "apps/v1", "Deployment", "conformd", 1, &labels);
	cJSON *spec, *sel, *tpl, *tl, *pspec, *c, *env, *e, *ports, *probe, *hg, *res, *x, *vm, *v;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(labels, "app", "conformd");
	cJSON_AddStringToObject(labels, "app.kubernetes.io/component", "monitor");
	add_common(labels, r, 1);
	spec = cJSON_AddObjectToObject(o, "spec");
	cJSON_AddNumberToObject(spec, "replicas", 1);
	/* one store on a ReadWriteOnce volume: never two at once */
	cJSON_AddStringToObject(cJSON_AddObjectToObject(spec, "strategy"), "type", "Recreate");
	sel = cJSON_AddObjectToObject(cJSON_AddObjectToObject(spec, "selector"), "matchLabels");
	cJSON_AddStringToObject(sel, "app", "conformd");
	add_common(sel, r, 0);
	tpl = cJSON_AddObjectToObject(spec, "template");
	tl = cJSON_AddObjectToObject(cJSON_AddObjectToObject(tpl, "metadata"), "labels");
	cJSON_AddStringToObject(tl, "app", "conformd");
	cJSON_AddStringToObject(tl, "app.kubernetes.io/component", "monitor");
	add_common(tl, r, 1);
	pspec = cJSON_AddObjectToObject(tpl, "spec");
	cJSON_AddStringToObject(pspec, "serviceAccountName", "conformd");
	add_pod_security(pspec);
	cJSON_AddNumberToObject(cJSON_GetObjectItemCaseSensitive(pspec, "securityContext"),
				"fsGroup", 65532);
	c = cJSON_CreateObject();
	cJSON_AddItemToArray(cJSON_AddArrayToObject(pspec, "containers"), c);
	cJSON_AddStringToObject(c, "name", "conformd");
	cJSON_AddStringToObject(c, "image", r->image);
	cJSON_AddStringToObject(c, "imagePullPolicy", "IfNotPresent");
	add_str_array(c, "command", cmd, 1);
	add_str_array(c, "args", args, ARRAY_SIZE(args));
	add_token_env(c);
	env = cJSON_GetObjectItemCaseSensitive(c, "env");
	e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "name", "CONFORM_STATE_DIR");
	cJSON_AddStringToObject(e, "value", "/var/lib/conform");
	cJSON_InsertItemInArray(env, 0, e);
	ports = cJSON_AddArrayToObject(c, "ports");
	add_port(ports, "collector", KUBE_COLLECTOR_PORT);
	add_port(ports, "api", KUBE_API_PORT);
	probe = cJSON_AddObjectToObject(c, "readinessProbe");
	hg = cJSON_AddObjectToObject(probe, "httpGet");
	cJSON_AddStringToObject(hg, "path", "/healthz");
	cJSON_AddStringToObject(hg, "port", "api");
	cJSON_AddNumberToObject(probe, "periodSeconds", 5);
	cJSON_AddNumberToObject(probe, "failureThreshold", 3);
	res = cJSON_AddObjectToObject(c, "resources");
	x = cJSON_AddObjectToObject(res, "requests");
	cJSON_AddStringToObject(x, "cpu", "100m");
	cJSON_AddStringToObject(x, "memory", "128Mi");
	x = cJSON_AddObjectToObject(res, "limits");
	cJSON_AddStringToObject(x, "cpu", "1");
	cJSON_AddStringToObject(x, "memory", "512Mi");
	add_container_security(c);
	vm = cJSON_AddArrayToObject(c, "volumeMounts");
	x = cJSON_CreateObject();
	cJSON_AddStringToObject(x, "name", "data");
	cJSON_AddStringToObject(x, "mountPath", "/var/lib/conform");
	cJSON_AddItemToArray(vm, x);
	x = cJSON_CreateObject();
	cJSON_AddStringToObject(x, "name", "tmp");
	cJSON_AddStringToObject(x, "mountPath", "/tmp");
	cJSON_AddItemToArray(vm, x);
	x = cJSON_CreateObject();
	cJSON_AddStringToObject(x, "name", "run");
	cJSON_AddStringToObject(x, "mountPath", KUBE_SEED_DIR);
	cJSON_AddBoolToObject(x, "readOnly", 1);
	cJSON_AddItemToArray(vm, x);
	v = cJSON_AddArrayToObject(pspec, "volumes");
	x = cJSON_CreateObject();
	cJSON_AddStringToObject(x, "name", "data");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(x, "persistentVolumeClaim"), "claimName",
				"conformd-data");
	cJSON_AddItemToArray(v, x);
	x = cJSON_CreateObject();
	cJSON_AddStringToObject(x, "name", "tmp");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(x, "emptyDir"), "sizeLimit", "64Mi");
	cJSON_AddItemToArray(v, x);
	x = cJSON_CreateObject();
	cJSON_AddStringToObject(x, "name", "run");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(x, "secret"), "secretName",
				KUBE_RUN_SECRET);
	cJSON_AddItemToArray(v, x);
	return o;
}

static cJSON *monitor_service(const struct kube_run *r)
{
	cJSON *labels, *o = obj_new(r, "v1", "Service", "conformd", 1, &labels), *spec, *sel;
	cJSON *ports;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(labels, "app", "conformd");
	add_common(labels, r, 1);
	spec = cJSON_AddObjectToObject(o, "spec");
	sel = cJSON_AddObjectToObject(spec, "selector");
	cJSON_AddStringToObject(sel, "app", "conformd");
	add_common(sel, r, 0);
	ports = cJSON_AddArrayToObject(spec, "ports");
	service_port(ports, "collector", KUBE_COLLECTOR_PORT, "kubernetes.io/h2c");
	service_port(ports, "api", KUBE_API_PORT, "http");
	return o;
}

int kube_obj_monitor(const struct kube_run *r, cJSON *arr, char *err, size_t errlen)
{
	cJSON *labels, *o;

	o = obj_new(r, "v1", "ServiceAccount", "conformd", 1, &labels);
	if (!o || !cJSON_AddItemToArray(arr, o))
		goto oom;
	add_common(labels, r, 1);
	cJSON_AddBoolToObject(o, "automountServiceAccountToken", 1);   /* it calls the API */
	if (add_role(r, arr, "conformd", rules_base) < 0 ||
	    (is_linkerd(r) && (add_role(r, arr, "conformd-linkerd", rules_linkerd) < 0 ||
			       add_linkerd_config_role(r, arr) < 0)))
		goto oom_quiet;
	o = obj_new(r, "v1", "PersistentVolumeClaim", "conformd-data", 1, &labels);
	if (!o || !cJSON_AddItemToArray(arr, o))
		goto oom;
	add_common(labels, r, 1);
	{
		cJSON *spec = cJSON_AddObjectToObject(o, "spec");
		static const char *const modes[] = { "ReadWriteOnce" };

		add_str_array(spec, "accessModes", modes, 1);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(spec,
			"resources"), "requests"), "storage", "2Gi");
	}
	o = monitor_deployment(r);
	if (!o || !cJSON_AddItemToArray(arr, o))
		goto oom;
	o = monitor_service(r);
	if (!o || !cJSON_AddItemToArray(arr, o))
		goto oom;
	return 0;
oom:
	cJSON_Delete(o);
oom_quiet:
	str_fmt(err, errlen, "out of memory building conformd's objects");
	return -1;
}

cJSON *kube_obj_all(const struct kube_run *r, const struct run_config *c, char *err,
		    size_t errlen)
{
	cJSON *arr = kube_obj_run(r, c, err, errlen), *mon = NULL, *all = NULL, *it;

	if (!arr)
		return NULL;
	mon = cJSON_CreateArray();
	all = cJSON_CreateArray();
	if (!mon || !all || kube_obj_monitor(r, mon, err, errlen) < 0) {
		if (mon && all)
			goto fail;
		str_fmt(err, errlen, "out of memory building the run's objects");
		goto fail;
	}
	/* the namespace, conformd's objects, the workloads: the order of `kubectl apply` */
	it = cJSON_DetachItemFromArray(arr, 0);
	cJSON_AddItemToArray(all, it);
	while ((it = cJSON_DetachItemFromArray(mon, 0)))
		cJSON_AddItemToArray(all, it);
	while ((it = cJSON_DetachItemFromArray(arr, 0)))
		cJSON_AddItemToArray(all, it);
	cJSON_Delete(mon);
	cJSON_Delete(arr);
	return all;
fail:
	cJSON_Delete(all);
	cJSON_Delete(mon);
	cJSON_Delete(arr);
	return NULL;
}
