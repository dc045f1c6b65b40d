/*
 * kubedouble.c - an in-memory Kubernetes API server for tests: the kinds
 * conform deploys, the API conventions its client relies on (Status errors,
 * resourceVersion, optimistic concurrency, server-side apply, merge and
 * JSON patches, watches with bookmarks and 410 Expired, bearer tokens, RBAC
 * denials) and enough discovery for kubectl. Tests steer it through
 * /_double/... (no auth): drop watches, restart/delete/stall pods, compact
 * history, deny a permission, rotate the token, evict a pod, install an older
 * Gateway API (gateway-api?version=v1.1.1: HTTPRoute timeouts refused on
 * apply, pruned from other writes), hold the pod proxy's answers
 * (metrics-stall?value=MS). Loopback only.
 *   kubedouble --port-file F [--token T] [--user U] [--tls-cert F --tls-key F]
 *              [--controllers on]   (Deployments make pods, see reconcile)
 *              [--sa-token NS:NAME=TOKEN]...  (a service account's token: RBAC
 *              from the stored Roles, RoleBindings and ClusterRole(Binding)s,
 *              with privilege escalation prevention; --token is the admin)
 * Wire facts: kubernetes api-conventions.md, apimachinery pkg/api/errors,
 * apiserver endpoints/handlers (named where used); no code of theirs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <microhttpd.h>

#include "base/util.h"
#include "linkerd/tap.pb-c.h"

#define BODY_MAX (4u << 20)
#define HISTORY_MAX 4096
#define DENY_MAX 32

struct res {
	const char *group, *version, *resource, *kind, *singular, *short_name;
	int namespaced;
	int custom;        /* served from a CRD: no strategic merge patch */
};

/* the kinds conform uses; Linkerd policy versions from linkerd2 policy CRDs
 * (Server v1beta3 is storage; AuthorizationPolicy, MeshTLSAuthentication v1alpha1) */
static const struct res resources[] = {
	{ "", "v1", "namespaces", "Namespace", "namespace", "ns", 0, 0 },
	{ "", "v1", "serviceaccounts", "ServiceAccount", "serviceaccount", "sa", 1, 0 },
	{ "", "v1", "services", "Service", "service", "svc", 1, 0 },
	{ "", "v1", "pods", "Pod", "pod", "po", 1, 0 },
	{ "", "v1", "configmaps", "ConfigMap", "configmap", "cm", 1, 0 },
	{ "", "v1", "secrets", "Secret", "secret", NULL, 1, 0 },
	{ "", "v1", "events", "Event", "event", "ev", 1, 0 },
	{ "", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", "persistentvolumeclaim",
		"pvc", 1, 0 },
	{ "apps", "v1", "deployments", "Deployment", "deployment", "deploy", 1, 0 },
	{ "rbac.authorization.k8s.io", "v1", "roles", "Role", "role", NULL, 1, 0 },
	{ "rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", "rolebinding", NULL, 1, 0 },
	{ "rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", "clusterrole", NULL, 0,
		0 },
	{ "rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding",
		"clusterrolebinding", NULL, 0, 0 },
	{ "gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute", "httproute", NULL, 1, 1 },
	/* served next to v1 by the Gateway API CRDs; what Linkerd 2.16/2.17 read */
	{ "gateway.networking.k8s.io", "v1beta1", "httproutes", "HTTPRoute", "httproute", NULL, 1,
		1 },
	{ "policy.linkerd.io", "v1beta3", "servers", "Server", "server", "srv", 1, 1 },
	{ "policy.linkerd.io", "v1beta3", "httproutes", "HTTPRoute", "httproute", NULL, 1, 1 },
	{ "policy.linkerd.io", "v1alpha1", "authorizationpolicies", "AuthorizationPolicy",
		"authorizationpolicy", NULL, 1, 1 },
	{ "policy.linkerd.io", "v1alpha1", "meshtlsauthentications", "MeshTLSAuthentication",
		"meshtlsauthentication", NULL, 1, 1 },
};
#define NRES (sizeof(resources) / sizeof(resources[0]))

struct obj {
	const struct res *r;
	char ns[64];
	char name[254];
	cJSON *o;
	char *log;         /* pods: what the log endpoint serves */
	char *metrics;     /* pods: what :4191/proxy/metrics serves (a Linkerd proxy) */
};

struct hist {
	unsigned long long rv;
	char type[10];
	const struct res *r;
	char ns[64];
	cJSON *o;
};

struct deny {
	char verb[32], group[64], resource[64], ns[64];
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static struct obj *objs;
static size_t nobjs, aobjs;
static struct hist history[HISTORY_MAX];
static size_t hstart, hlen;             /* ring */
static unsigned long long rv_now = 100; /* the last resourceVersion handed out */
static unsigned long long compacted;    /* versions <= this are gone from history */
static unsigned drop_gen;               /* bumped to cut every watch */
static struct deny denies[DENY_MAX];
static size_t ndenies;
/* what a Service's port reaches (its endpoints), set by the test:
 * /_double/service-backend; the service proxy forwards there */
#define BACKEND_MAX 8
struct backend {
	char ns[64], name[254], port[64], addr[64];
};
static struct backend backends[BACKEND_MAX];
static size_t nbackends;
static char token[4096] = "conform-double-token";
/* service-account tokens (--sa-token NS:NAME=TOKEN): authorized by RBAC */
#define SA_TOKENS_MAX 4
struct sa_token {
	char ns[64], name[254], token[512];
};
static struct sa_token sa_tokens[SA_TOKENS_MAX];
static size_t nsa_tokens;
static char user[256] = "system:serviceaccount:conform:conform";
static long bookmark_ms = 1000;
static long stall_ms;                   /* every API request waits this long first */
static long metrics_stall_ms;           /* pod proxy requests wait this long first */
static int expire_http;                 /* 1: an expired watch gets a plain 410 answer */
static int quit;                        /* under mu */
static unsigned long n_requests, n_lists, n_watches;
static int port;
static char hidden_gv[128];             /* a group/version discovery leaves out */
/* the Gateway API release whose standard CRDs are installed (--gateway-api,
 * /_double/gateway-api?version=): v1.x's minor. HTTPRoute rules have
 * timeouts from v1.2.0 (gateway-api CHANGELOG/1.2-CHANGELOG.md; absent from
 * config/crd/standard/gateway.networking.k8s.io_httproutes.yaml in v1.1.1) */
static int gw_minor = 2;
static unsigned char *tap_stream;       /* what the tap API answers (framed TapEvents) */
static size_t tap_len;

/* ---- small helpers ---- */

static int64_t now_ms(void)
{
	return mono_ms();
}

static const char *now_rfc3339(char *buf, size_t len)
{
	return time_rfc3339(wall_s(), buf, len);
}

/* the next sep-separated, non-empty piece of *s (cut in place), or NULL */
static char *split_next(char **s, char sep)
{
	char *p = *s, *e;

	while (*p == sep)
		p++;
	if (!*p)
		return NULL;
	e = strchr(p, sep);
	if (e) {
		*e = '\0';
		*s = e + 1;
	} else {
		*s = p + strlen(p);
	}
	return p;
}

static const char *gv_of(const struct res *r, char *buf, size_t len)
{
	if (r->group[0])
		str_fmt(buf, len, "%s/%s", r->group, r->version);
	else
		str_copy(buf, len, r->version);
	return buf;
}

/* GroupResource.String(): "resource.group", or "resource" for the core group */
static const char *gr_of(const struct res *r, char *buf, size_t len)
{
	if (r->group[0])
		str_fmt(buf, len, "%s.%s", r->resource, r->group);
	else
		str_copy(buf, len, r->resource);
	return buf;
}

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static cJSON *jobj(cJSON *o, const char *key)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsObject(v)) {
		cJSON_DeleteItemFromObjectCaseSensitive(o, key);
		v = cJSON_AddObjectToObject(o, key);
	}
	return v;
}

static void jset_str(cJSON *o, const char *key, const char *val)
{
	cJSON_DeleteItemFromObjectCaseSensitive(o, key);
	cJSON_AddStringToObject(o, key, val);
}

static const struct res *res_find(const char *group, const char *version, const char *resource)
{
	size_t i;

	for (i = 0; i < NRES; i++)
		if (!strcmp(resources[i].group, group) && !strcmp(resources[i].version, version) &&
		    !strcmp(resources[i].resource, resource))
			return &resources[i];
	return NULL;
}

static struct obj *obj_find(const struct res *r, const char *ns, const char *name)
{
	size_t i;

	for (i = 0; i < nobjs; i++)
		if (objs[i].r == r && !strcmp(objs[i].ns, ns) && !strcmp(objs[i].name, name))
			return &objs[i];
	return NULL;
}

static int ns_exists(const char *ns)
{
	return obj_find(&resources[0], "", ns) != NULL;
}

/* record a change: history entry, wake every watch. mu held. */
static void record(const char *type, const struct res *r, const char *ns, const cJSON *o)
{
	struct hist *h;

	if (hlen == HISTORY_MAX) {
		h = &history[hstart];
		compacted = h->rv;
		cJSON_Delete(h->o);
		hstart = (hstart + 1) % HISTORY_MAX;
		hlen--;
	}
	h = &history[(hstart + hlen) % HISTORY_MAX];
	h->rv = rv_now;
	str_copy(h->type, sizeof(h->type), type);
	h->r = r;
	str_copy(h->ns, sizeof(h->ns), ns);
	h->o = cJSON_Duplicate(o, 1);
	hlen++;
	pthread_cond_broadcast(&changed);
}

/* a new resourceVersion into o's metadata; mu held */
/* base64 (RFC 4648, padded) of n bytes into a new string */
static char *b64(const unsigned char *p, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc(4 * ((n + 2) / 3) + 1), *o = out;
	size_t i;

	if (!out)
		return NULL;
	for (i = 0; i + 2 < n; i += 3, o += 4) {
		o[0] = tab[p[i] >> 2];
		o[1] = tab[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		o[2] = tab[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)];
		o[3] = tab[p[i + 2] & 63];
	}
	if (i < n) {
		o[0] = tab[p[i] >> 2];
		o[1] = tab[((p[i] & 3) << 4) | (i + 1 < n ? p[i + 1] >> 4 : 0)];
		o[2] = i + 1 < n ? tab[(p[i + 1] & 15) << 2] : '=';
		o[3] = '=';
		o += 4;
	}
	*o = '\0';
	return out;
}

/*
 * A Secret's stringData is merged into data (base64) on write and never
 * read back (core/v1 Secret, field stringData: "merged into the data field
 * on write, overwriting any existing values. The stringData field is never
 * output when reading from the API").
 */
static void secret_write(cJSON *o)
{
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(o, "kind");
	cJSON *sd = cJSON_GetObjectItemCaseSensitive(o, "stringData"), *data, *e;

	if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "Secret") || !cJSON_IsObject(sd))
		return;
	data = cJSON_GetObjectItemCaseSensitive(o, "data");
	if (!cJSON_IsObject(data)) {
		cJSON_DeleteItemFromObjectCaseSensitive(o, "data");
		data = cJSON_AddObjectToObject(o, "data");
	}
	cJSON_ArrayForEach(e, sd) {
		char *v;

		if (!cJSON_IsString(e))
			continue;
		v = b64((const unsigned char *)e->valuestring, strlen(e->valuestring));
		cJSON_DeleteItemFromObjectCaseSensitive(data, e->string);
		if (v)
			cJSON_AddStringToObject(data, e->string, v);
		free(v);
	}
	cJSON_DeleteItemFromObjectCaseSensitive(o, "stringData");
}

static void bump(cJSON *o)
{
	char v[32];

	secret_write(o);

	rv_now++;
	str_fmt(v, sizeof(v), "%llu", rv_now);
	jset_str(jobj(o, "metadata"), "resourceVersion", v);
}

static struct obj *obj_add(const struct res *r, const char *ns, const char *name, cJSON *o)
{
	struct obj *n;

	if (nobjs == aobjs) {
		size_t na = aobjs ? aobjs * 2 : 64;

		n = realloc(objs, na * sizeof(*objs));
		if (!n)
			return NULL;
		objs = n;
		aobjs = na;
	}
	n = &objs[nobjs++];
	memset(n, 0, sizeof(*n));
	n->r = r;
	str_copy(n->ns, sizeof(n->ns), ns);
	str_copy(n->name, sizeof(n->name), name);
	n->o = o;
	return n;
}

static void obj_remove(struct obj *x)
{
	cJSON_Delete(x->o);
	free(x->log);
	free(x->metrics);
	*x = objs[--nobjs];
}

/* ---- answers ---- */

struct reply {
	unsigned code;
	const char *ctype;
	char *body;        /* malloc'd */
	size_t len;        /* of a binary body; 0: strlen(body) */
	const char *l5d_error;  /* the tap server's linkerd-error header, or NULL */
	int ctype_owned;        /* ctype is malloc'd (a proxied answer's) */
	char warning[256];      /* a Warning header's text, or "" */
};

static void reply_json(struct reply *rp, unsigned code, const cJSON *j)
{
	rp->code = code;
	rp->ctype = "application/json";
	rp->body = cJSON_PrintUnformatted(j);
}

/*
 * A metav1.Status failure (apimachinery pkg/api/errors): field order kind,
 * apiVersion, metadata, status, message, reason, details, code; details'
 * group left out when empty.
 */
static void reply_status(struct reply *rp, unsigned code, const char *reason, const char *msg,
		const struct res *r, const char *name, cJSON *causes)
{
	cJSON *s = cJSON_CreateObject(), *d;

	cJSON_AddStringToObject(s, "kind", "Status");
	cJSON_AddStringToObject(s, "apiVersion", "v1");
	cJSON_AddObjectToObject(s, "metadata");
	cJSON_AddStringToObject(s, "status", "Failure");
	cJSON_AddStringToObject(s, "message", msg);
	cJSON_AddStringToObject(s, "reason", reason);
	if (r || causes || (name && *name)) {
		d = cJSON_AddObjectToObject(s, "details");
		if (name && *name)
			cJSON_AddStringToObject(d, "name", name);
		if (r && r->group[0])
			cJSON_AddStringToObject(d, "group", r->group);
		if (r)
			cJSON_AddStringToObject(d, "kind", r->resource);
		if (causes)
			cJSON_AddItemToObject(d, "causes", causes);
	}
	cJSON_AddNumberToObject(s, "code", code);
	reply_json(rp, code, s);
	cJSON_Delete(s);
}

static void reply_not_found(struct reply *rp, const struct res *r, const char *name)
{
	char gr[128], msg[512];

	str_fmt(msg, sizeof(msg), "%s \"%s\" not found", gr_of(r, gr, sizeof(gr)), name);
	reply_status(rp, 404, "NotFound", msg, r, name, NULL);
}

static cJSON *cause(const char *reason, const char *message, const char *field)
{
	cJSON *a = cJSON_CreateArray(), *c = cJSON_CreateObject();

	cJSON_AddStringToObject(c, "reason", reason);
	cJSON_AddStringToObject(c, "message", message);
	cJSON_AddStringToObject(c, "field", field);
	cJSON_AddItemToArray(a, c);
	return a;
}

/* 422 Invalid, message as apimachinery NewInvalid writes it */
static void reply_invalid(struct reply *rp, const char *kind_group, const char *name,
		const char *field, const char *detail, const char *creason)
{
	char msg[1024];

	str_fmt(msg, sizeof(msg), "%s \"%s\" is invalid: %s: %s", kind_group, name, field, detail);
	reply_status(rp, 422, "Invalid", msg, NULL, name, cause(creason, detail, field));
}

/* ---- request parsing ---- */

struct req {
	struct MHD_Connection *conn;
	const char *method;
	char path[2048];
	struct dynbuf body;
	int toobig;
	/* from the path */
	const struct res *r;
	char group[128], version[32], ns[64], name[254], sub[32];
	char verb[32];
	/* who: the admin (--token, everything but the deny list) or a service
	 * account (--sa-token, only what its RoleBindings grant) */
	char user[320];
	char sa_ns[64];
	int rbac;
	char rbac_name[320];   /* the name RBAC sees when it differs ("svc:port") */
};

static const char *arg(struct req *q, const char *key)
{
	return MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, key);
}

static int arg_true(struct req *q, const char *key)
{
	const char *v = arg(q, key);

	/* runtime Convert_Slice_string_To_bool: anything but "0"/"false" (and "") is true */
	return v && *v && strcmp(v, "0") && strcmp(v, "false");
}

/*
 * /api/v1/... or /apis/<group>/<version>/..., then [namespaces/<ns>/]<resource>
 * [/<name>[/<sub>]]. Returns 0 when it is a resource path (q->r may still be
 * NULL for an unknown resource), -1 otherwise.
 */
static int parse_path(struct req *q)
{
	char buf[2048], *seg[10], *p, *cur = buf;
	int n = 0, i = 0;

	str_copy(buf, sizeof(buf), q->path);
	while (n < 10 && (p = split_next(&cur, '/')))
		seg[n++] = p;
	if (n >= 2 && !strcmp(seg[0], "api")) {
		q->group[0] = '\0';
		str_copy(q->version, sizeof(q->version), seg[1]);
		i = 2;
	} else if (n >= 3 && !strcmp(seg[0], "apis")) {
		str_copy(q->group, sizeof(q->group), seg[1]);
		str_copy(q->version, sizeof(q->version), seg[2]);
		i = 3;
	} else {
		return -1;
	}
	if (n - i >= 3 && !strcmp(seg[i], "namespaces")) {
		str_copy(q->ns, sizeof(q->ns), seg[i + 1]);
		i += 2;
	}
	if (i >= n)
		return -1;
	q->r = res_find(q->group, q->version, seg[i]);
	if (!q->r) {
		str_copy(q->sub, sizeof(q->sub), seg[i]); /* for the message */
		return 0;
	}
	if (i + 1 < n)
		str_copy(q->name, sizeof(q->name), seg[i + 1]);
	if (i + 2 < n)
		str_copy(q->sub, sizeof(q->sub), seg[i + 2]);
	return 0;
}

static void verb_of(struct req *q)
{
	const char *m = q->method, *v = "unknown";

	if (!strcmp(m, "GET") || !strcmp(m, "HEAD"))
		v = q->name[0] ? "get" : arg_true(q, "watch") ? "watch" : "list";
	else if (!strcmp(m, "POST"))
		v = "create";
	else if (!strcmp(m, "PUT"))
		v = "update";
	else if (!strcmp(m, "PATCH"))
		v = "patch";
	else if (!strcmp(m, "DELETE"))
		v = q->name[0] ? "delete" : "deletecollection";
	str_copy(q->verb, sizeof(q->verb), v);
}

/* 403 with the apiserver's forbidden message for q's verb on resource
 * (apiserver endpoints/handlers/responsewriters/errors.go forbiddenMessage,
 * wrapped by apierrors.NewForbidden(groupResource, name, err)) */
static void reply_forbidden(struct req *q, struct reply *rp, const char *verb,
			    const char *resource)
{
	char gr[160], msg[1024], scope[160];

	if (q->ns[0])
		str_fmt(scope, sizeof(scope), "in the namespace \"%s\"", q->ns);
	else
		str_fmt(scope, sizeof(scope), "at the cluster scope");
	gr_of(q->r, gr, sizeof(gr));
	if (q->name[0])
		str_fmt(msg, sizeof(msg), "%s \"%s\" is forbidden: User \"%s\" cannot %s "
			"resource \"%s\" in API group \"%s\" %s", gr, q->name, q->user, verb,
			resource, q->r->group, scope);
	else
		str_fmt(msg, sizeof(msg), "%s is forbidden: User \"%s\" cannot %s resource "
			"\"%s\" in API group \"%s\" %s", gr, q->user, verb, resource,
			q->r->group, scope);
	reply_status(rp, 403, "Forbidden", msg, q->r, q->name, NULL);
}

/* ---- RBAC for service accounts (kubernetes pkg/apis/rbac/v1/evaluation_helpers.go,
 * plugin/pkg/auth/authorizer/rbac; pkg/registry/rbac/validation/rule.go) ---- */

static int str_in(const cJSON *arr, const char *v)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, arr)
		if (cJSON_IsString(e) && !strcmp(e->valuestring, v))
			return 1;
	return 0;
}

/* the groups every service account is in (serviceaccount.MakeGroupNames
 * plus system:authenticated) */
static int sa_in_group(const struct req *q, const char *g)
{
	char own[128];

	str_fmt(own, sizeof(own), "system:serviceaccounts:%s", q->sa_ns);
	return !strcmp(g, "system:serviceaccounts") || !strcmp(g, own) ||
	       !strcmp(g, "system:authenticated");
}

static int binding_names(const struct req *q, const cJSON *b, const char *bns)
{
	const cJSON *s;

	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(b, "subjects")) {
		const char *kind = jstr(s, "kind"), *name = jstr(s, "name"), *ns = jstr(s, "namespace");

		if (!kind || !name)
			continue;
		if (!strcmp(kind, "ServiceAccount")) {
			char u[400];

			str_fmt(u, sizeof(u), "system:serviceaccount:%s:%s", ns ? ns : bns, name);
			if (!strcmp(u, q->user))
				return 1;
		} else if (!strcmp(kind, "User") && !strcmp(name, q->user)) {
			return 1;
		} else if (!strcmp(kind, "Group") && sa_in_group(q, name)) {
			return 1;
		}
	}
	return 0;
}

/* every rule the user holds in namespace ns ("": cluster-wide only), as
 * references into the stored Roles and ClusterRoles; the caller frees */
static cJSON *rbac_rules(const struct req *q, const char *ns)
{
	const struct res *rb = res_find("rbac.authorization.k8s.io", "v1", "rolebindings");
	const struct res *crb = res_find("rbac.authorization.k8s.io", "v1", "clusterrolebindings");
	const struct res *role = res_find("rbac.authorization.k8s.io", "v1", "roles");
	const struct res *crole = res_find("rbac.authorization.k8s.io", "v1", "clusterroles");
	cJSON *out = cJSON_CreateArray();
	size_t i;

	for (i = 0; out && i < nobjs; i++) {
		struct obj *b = &objs[i], *ro = NULL;
		cJSON *ref = cJSON_GetObjectItemCaseSensitive(b->o, "roleRef");
		const char *kind = jstr(ref, "kind"), *name = jstr(ref, "name");
		cJSON *rule;

		if (!kind || !name || !(b->r == crb || (b->r == rb && ns[0] && !strcmp(b->ns, ns))))
			continue;
		if (!binding_names(q, b->o, b->ns))
			continue;
		if (!strcmp(kind, "ClusterRole"))
			ro = obj_find(crole, "", name);
		else if (!strcmp(kind, "Role") && b->r == rb)
			ro = obj_find(role, b->ns, name);
		if (!ro)
			continue;   /* a binding to a missing role grants nothing */
		cJSON_ArrayForEach(rule, cJSON_GetObjectItemCaseSensitive(ro->o, "rules"))
			cJSON_AddItemReferenceToArray(out, rule);
	}
	return out;
}

/* does rule allow verb on group/resource (with "/sub") named name?
 * (RuleAllows: VerbMatches, APIGroupMatches, ResourceMatches, ResourceNameMatches) */
static int rule_allows(const cJSON *rule, const char *verb, const char *group,
		       const char *resource, const char *name)
{
	const cJSON *names = cJSON_GetObjectItemCaseSensitive(rule, "resourceNames");
	const char *slash = strchr(resource, '/');
	char star_sub[80];

	if (!str_in(cJSON_GetObjectItemCaseSensitive(rule, "verbs"), "*") &&
	    !str_in(cJSON_GetObjectItemCaseSensitive(rule, "verbs"), verb))
		return 0;
	if (!str_in(cJSON_GetObjectItemCaseSensitive(rule, "apiGroups"), "*") &&
	    !str_in(cJSON_GetObjectItemCaseSensitive(rule, "apiGroups"), group))
		return 0;
	str_fmt(star_sub, sizeof(star_sub), "*%s", slash ? slash : "");
	if (!str_in(cJSON_GetObjectItemCaseSensitive(rule, "resources"), "*") &&
	    !str_in(cJSON_GetObjectItemCaseSensitive(rule, "resources"), resource) &&
	    !(slash && str_in(cJSON_GetObjectItemCaseSensitive(rule, "resources"), star_sub)))
		return 0;
	if (cJSON_GetArraySize(names) > 0 && (!name || !*name || !str_in(names, name)))
		return 0;
	return 1;
}

static int rbac_allows(const struct req *q, const char *ns, const char *verb,
		       const char *group, const char *resource, const char *name)
{
	cJSON *rules = rbac_rules(q, ns), *rule;
	int ok = 0;

	cJSON_ArrayForEach(rule, rules)
		if (rule_allows(rule, verb, group, resource, name)) {
			ok = 1;
			break;
		}
	cJSON_Delete(rules);
	return ok;
}

/* The deny list for the admin, RBAC for a service account; mu held. 1 and
 * a 403 when the request is not allowed. */
static int denied(struct req *q, struct reply *rp)
{
	char resource[128];
	size_t i;

	str_fmt(resource, sizeof(resource), "%s%s%s", q->r->resource, q->sub[0] ? "/" : "",
		q->sub);
	if (q->rbac) {
		if (rbac_allows(q, q->ns, q->verb, q->r->group, resource,
				q->rbac_name[0] ? q->rbac_name : q->name))
			return 0;
		reply_forbidden(q, rp, q->verb, resource);
		return 1;
	}
	for (i = 0; i < ndenies; i++) {
		struct deny *d = &denies[i];

		if ((strcmp(d->verb, "*") && strcmp(d->verb, q->verb)) ||
		    (strcmp(d->resource, "*") && strcmp(d->resource, resource)) ||
		    (strcmp(d->group, "*") && strcmp(d->group, q->r->group)) ||
		    (strcmp(d->ns, "*") && strcmp(d->ns, q->ns)))
			continue;
		reply_forbidden(q, rp, q->verb, resource);
		return 1;
	}
	return 0;
}

/*
 * Privilege escalation prevention (Kubernetes docs "Using RBAC
 * Authorization", "Privilege escalation prevention and bootstrapping";
 * pkg/registry/rbac/role/policybased and rolebinding/policybased storage,
 * validation/rule.go ConfirmNoEscalation): a service account may write a
 * Role only with every permission in it already held in that namespace (or
 * `escalate` on roles), and a RoleBinding only to a role whose permissions
 * it holds (or `bind` on that role). 1 and a 403 (404 for a binding to a
 * missing role) when the write is refused; mu held.
 */
static int escalation_denied(struct req *q, const cJSON *o, struct reply *rp)
{
	const char *rbac_g = "rbac.authorization.k8s.io";
	const char *name = jstr(jobj((cJSON *)o, "metadata"), "name");
	const cJSON *rules = NULL, *rule;
	cJSON *held = NULL;
	struct dynbuf missing = DYNBUF_INIT(16384);
	char gr[160], msg[20000];
	int bad = 0;

	if (!q->rbac || strcmp(q->r->group, rbac_g))
		return 0;
	if (!name)
		name = q->name;
	if (!strcmp(q->r->resource, "roles") || !strcmp(q->r->resource, "clusterroles")) {
		if (rbac_allows(q, q->ns, "escalate", rbac_g, q->r->resource, name))
			return 0;
		rules = cJSON_GetObjectItemCaseSensitive(o, "rules");
	} else if (!strcmp(q->r->resource, "rolebindings") ||
		   !strcmp(q->r->resource, "clusterrolebindings")) {
		const cJSON *ref = cJSON_GetObjectItemCaseSensitive(o, "roleRef");
		const char *kind = jstr(ref, "kind"), *rname = jstr(ref, "name");
		int cluster = kind && !strcmp(kind, "ClusterRole");
		const struct res *rr = res_find(rbac_g, "v1", cluster ? "clusterroles" : "roles");
		struct obj *ro;

		if (!rname)
			return 0;   /* check_body-level invalid: not this check's to say */
		if (rbac_allows(q, q->ns, "bind", rbac_g, cluster ? "clusterroles" : "roles", rname))
			return 0;
		ro = obj_find(rr, cluster ? "" : q->ns, rname);
		if (!ro) {
			reply_not_found(rp, rr, rname);
			return 1;
		}
		rules = cJSON_GetObjectItemCaseSensitive(ro->o, "rules");
	} else {
		return 0;
	}
	held = rbac_rules(q, q->ns);
	/* every (group, resource, verb, name) the new rules grant must be held;
	 * one line per group and resource with the verbs missing, as
	 * CompactString prints them: {APIGroups:["g"], Resources:["r"], Verbs:["v"]} */
	cJSON_ArrayForEach(rule, rules) {
		const cJSON *g, *r, *v, *n;
		const cJSON *names = cJSON_GetObjectItemCaseSensitive(rule, "resourceNames");

		cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(rule, "apiGroups"))
		cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(rule, "resources")) {
			char verbs[1024] = "";

			cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(rule, "verbs")) {
				int ok = 1;

				if (!cJSON_IsString(g) || !cJSON_IsString(r) || !cJSON_IsString(v))
					continue;
				if (cJSON_GetArraySize(names) == 0) {
					const cJSON *h;

					ok = 0;
					/* covered only by a rule without names */
					cJSON_ArrayForEach(h, held)
						if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
							    h, "resourceNames")) == 0 &&
						    rule_allows(h, v->valuestring, g->valuestring,
								r->valuestring, NULL))
							ok = 1;
				} else {
					cJSON_ArrayForEach(n, names) {
						const cJSON *h;
						int one = 0;

						cJSON_ArrayForEach(h, held)
							if (rule_allows(h, v->valuestring, g->valuestring,
									r->valuestring, n->valuestring))
								one = 1;
						ok &= one;
					}
				}
				if (!ok) {
					size_t len = strlen(verbs);

					str_fmt(verbs + len, sizeof(verbs) - len, "%s\"%s\"", len ? " " : "",
						v->valuestring);
				}
			}
			if (verbs[0]) {
				char line[1400];

				str_fmt(line, sizeof(line), "\n{APIGroups:[\"%s\"], Resources:[\"%s\"], "
					"Verbs:[%s]}", g->valuestring, r->valuestring, verbs);
				dynbuf_adds(&missing, line);
				bad = 1;
			}
		}
	}
	cJSON_Delete(held);
	if (bad) {
		str_fmt(msg, sizeof(msg), "%s \"%s\" is forbidden: user \"%s\" (groups=[\"system:"
			"serviceaccounts\" \"system:serviceaccounts:%s\" \"system:authenticated\"]) "
			"is attempting to grant RBAC permissions not currently held:%s",
			gr_of(q->r, gr, sizeof(gr)), name, q->user, q->sa_ns, missing.buf);
		reply_status(rp, 403, "Forbidden", msg, q->r, name, NULL);
	}
	dynbuf_release(&missing);
	return bad;
}

/* ---- selectors ---- */

/* the string value at a dotted path ("involvedObject.name") or NULL */
static const char *path_value(const cJSON *o, const char *path, char *num, size_t numlen)
{
	char buf[256], *p, *cur = buf;
	const cJSON *v = o;

	str_copy(buf, sizeof(buf), path);
	while (v && (p = split_next(&cur, '.')))
		v = cJSON_GetObjectItemCaseSensitive(v, p);
	if (cJSON_IsString(v))
		return v->valuestring;
	if (cJSON_IsNumber(v)) {
		str_fmt(num, numlen, "%g", v->valuedouble);
		return num;
	}
	return NULL;
}

/* "a=b,c!=d,e" over labels (is_label) or fields; 1 when o matches */
static int selector_match(const cJSON *o, const char *sel, int is_label)
{
	char buf[1024], *term, *cur = buf, num[32];
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(o, "metadata"), "labels");

	if (!sel || !*sel)
		return 1;
	str_copy(buf, sizeof(buf), sel);
	while ((term = split_next(&cur, ','))) {
		char *eq = strchr(term, '='), key[256];
		const char *want = NULL, *have;
		int neg = 0;

		if (eq) {
			neg = eq > term && eq[-1] == '!';
			str_copy(key, sizeof(key), term);
			key[(eq - term) - neg] = '\0';
			want = eq + 1 + (eq[1] == '=');
		} else {
			str_copy(key, sizeof(key), term);
		}
		if (is_label)
			have = jstr(labels, key);
		else
			have = path_value(o, key, num, sizeof(num));
		if (!want) {
			if (!have)
				return 0;
			continue;
		}
		if (neg ? (have && !strcmp(have, want)) : (!have || strcmp(have, want)))
			return 0;
	}
	return 1;
}

static int matches(struct req *q, const struct res *r, const char *ns, const cJSON *o)
{
	return r == q->r && (!q->ns[0] || !strcmp(ns, q->ns)) &&
		selector_match(o, arg(q, "labelSelector"), 1) &&
		selector_match(o, arg(q, "fieldSelector"), 0);
}

/* ---- patches ---- */

/* RFC 7386 JSON merge patch; takes target, returns the result */
static cJSON *merge_patch(cJSON *target, const cJSON *patch)
{
	const cJSON *p;

	if (!cJSON_IsObject(patch)) {
		cJSON_Delete(target);
		return cJSON_Duplicate(patch, 1);
	}
	if (!cJSON_IsObject(target)) {
		cJSON_Delete(target);
		target = cJSON_CreateObject();
	}
	cJSON_ArrayForEach(p, patch) {
		cJSON *old;

		if (cJSON_IsNull(p)) {
			cJSON_DeleteItemFromObjectCaseSensitive(target, p->string);
			continue;
		}
		old = cJSON_DetachItemFromObjectCaseSensitive(target, p->string);
		cJSON_AddItemToObject(target, p->string, merge_patch(old, p));
	}
	return target;
}

/* RFC 6901 pointer: the parent of the last token and that token (unescaped) */
static cJSON *pointer_parent(cJSON *doc, const char *ptr, char *last, size_t len)
{
	char buf[1024], *p, *next, tok[256];
	cJSON *cur = doc;
	size_t i, j;

	if (ptr[0] != '/' || str_copy(buf, sizeof(buf), ptr + 1))
		return NULL;
	p = buf;
	for (;;) {
		next = strchr(p, '/');
		if (next)
			*next = '\0';
		for (i = 0, j = 0; p[i] && j + 1 < sizeof(tok); i++) {
			if (p[i] == '~' && p[i + 1] == '1') {
				tok[j++] = '/';
				i++;
			} else if (p[i] == '~' && p[i + 1] == '0') {
				tok[j++] = '~';
				i++;
			} else {
				tok[j++] = p[i];
			}
		}
		tok[j] = '\0';
		if (!next) {
			str_copy(last, len, tok);
			return cur;
		}
		if (cJSON_IsArray(cur)) {
			int64_t idx;

			if (parse_i64(tok, 0, 1 << 20, &idx))
				return NULL;
			cur = cJSON_GetArrayItem(cur, (int)idx);
		} else {
			cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
		}
		if (!cur)
			return NULL;
		p = next + 1;
	}
}

/* RFC 6902 add/remove/replace/test; returns 0 or -1 with why */
static int json_patch(cJSON *doc, const cJSON *ops, char *why, size_t len)
{
	const cJSON *op;

	if (!cJSON_IsArray(ops)) {
		str_fmt(why, len, "a JSON patch must be an array of operations");
		return -1;
	}
	cJSON_ArrayForEach(op, ops) {
		const char *o = jstr(op, "op"), *path = jstr(op, "path");
		const cJSON *val = cJSON_GetObjectItemCaseSensitive(op, "value");
		char last[256];
		cJSON *parent, *cur = NULL;
		int64_t idx = -1;

		if (!o || !path) {
			str_fmt(why, len, "an operation needs op and path");
			return -1;
		}
		parent = pointer_parent(doc, path, last, sizeof(last));
		if (!parent) {
			str_fmt(why, len, "doc is missing path: \"%s\"", path);
			return -1;
		}
		if (cJSON_IsArray(parent)) {
			if (strcmp(last, "-") && parse_i64(last, 0, cJSON_GetArraySize(parent), &idx)) {
				str_fmt(why, len, "bad array index in path \"%s\"", path);
				return -1;
			}
			if (idx >= 0)
				cur = cJSON_GetArrayItem(parent, (int)idx);
		} else if (cJSON_IsObject(parent)) {
			cur = cJSON_GetObjectItemCaseSensitive(parent, last);
		} else {
			str_fmt(why, len, "doc is missing path: \"%s\"", path);
			return -1;
		}
		if (!strcmp(o, "test")) {
			if (!cur || !val || !cJSON_Compare(cur, val, 1)) {
				str_fmt(why, len, "testing value %s failed", path);
				return -1;
			}
		} else if (!strcmp(o, "remove") || !strcmp(o, "replace")) {
			if (!cur) {
				str_fmt(why, len, "unable to %s nonexistent key: %s", o, path);
				return -1;
			}
			if (!strcmp(o, "replace") && !val) {
				str_fmt(why, len, "replace operation does not have a value");
				return -1;
			}
			if (cJSON_IsArray(parent))
				cJSON_DeleteItemFromArray(parent, (int)idx);
			else
				cJSON_DeleteItemFromObjectCaseSensitive(parent, last);
			if (!strcmp(o, "replace")) {
				if (cJSON_IsArray(parent))
					cJSON_InsertItemInArray(parent, (int)idx, cJSON_Duplicate(val, 1));
				else
					cJSON_AddItemToObject(parent, last, cJSON_Duplicate(val, 1));
			}
		} else if (!strcmp(o, "add")) {
			if (!val) {
				str_fmt(why, len, "add operation does not have a value");
				return -1;
			}
			if (cJSON_IsArray(parent)) {
				if (idx < 0 || idx == cJSON_GetArraySize(parent))
					cJSON_AddItemToArray(parent, cJSON_Duplicate(val, 1));
				else
					cJSON_InsertItemInArray(parent, (int)idx, cJSON_Duplicate(val, 1));
			} else {
				cJSON_DeleteItemFromObjectCaseSensitive(parent, last);
				cJSON_AddItemToObject(parent, last, cJSON_Duplicate(val, 1));
			}
		} else {
			str_fmt(why, len, "unexpected kind: %s", o);
			return -1;
		}
	}
	return 0;
}

/* ---- handlers (mu held) ---- */

static cJSON *list_of(struct req *q)
{
	cJSON *l = cJSON_CreateObject(), *items, *md;
	char gv[96], kind[96], v[32];
	size_t i;

	str_fmt(kind, sizeof(kind), "%sList", q->r->kind);
	cJSON_AddStringToObject(l, "kind", kind);
	cJSON_AddStringToObject(l, "apiVersion", gv_of(q->r, gv, sizeof(gv)));
	md = cJSON_AddObjectToObject(l, "metadata");
	str_fmt(v, sizeof(v), "%llu", rv_now);
	cJSON_AddStringToObject(md, "resourceVersion", v);
	items = cJSON_AddArrayToObject(l, "items");
	for (i = 0; i < nobjs; i++)
		if (matches(q, objs[i].r, objs[i].ns, objs[i].o))
			cJSON_AddItemToArray(items, cJSON_Duplicate(objs[i].o, 1));
	return l;
}

/* checks a body names the right kind/name/namespace; fills defaults. 0 or replied. */
static int check_body(struct req *q, cJSON *o, struct reply *rp, int need_type)
{
	const char *kind = jstr(o, "kind"), *av = jstr(o, "apiVersion"), *name, *ns;
	cJSON *md;
	char gv[96], msg[512];

	gv_of(q->r, gv, sizeof(gv));
	if (need_type && (!kind || !av)) {
		reply_status(rp, 400, "BadRequest", !av ? "apiVersion must be set" :
			"kind must be set", NULL, NULL, NULL);
		return -1;
	}
	if ((kind && strcmp(kind, q->r->kind)) || (av && strcmp(av, gv))) {
		str_fmt(msg, sizeof(msg), "the API version in the data (%s) does not match the "
			"expected API version (%s), or the kind (%s) is not %s", av ? av : "",
			gv, kind ? kind : "", q->r->kind);
		reply_status(rp, 400, "BadRequest", msg, NULL, NULL, NULL);
		return -1;
	}
	if (!kind)
		cJSON_AddStringToObject(o, "kind", q->r->kind);
	if (!av)
		cJSON_AddStringToObject(o, "apiVersion", gv);
	md = jobj(o, "metadata");
	name = jstr(md, "name");
	if (!name || !*name) {
		char kg[160];

		str_fmt(kg, sizeof(kg), "%s%s%s", q->r->kind, q->r->group[0] ? "." : "",
			q->r->group);
		reply_invalid(rp, kg, "", "metadata.name",
			"Required value: name or generateName is required", "FieldValueRequired");
		return -1;
	}
	if (q->name[0] && strcmp(name, q->name)) {
		/* apiserver handlers: checkName */
		str_fmt(msg, sizeof(msg), "the name of the object (%s) does not match the name on "
			"the URL (%s)", name, q->name);
		reply_status(rp, 400, "BadRequest", msg, NULL, NULL, NULL);
		return -1;
	}
	ns = jstr(md, "namespace");
	if (q->r->namespaced) {
		if (ns && *ns && strcmp(ns, q->ns)) {
			reply_status(rp, 400, "BadRequest", "the namespace of the provided object "
				"does not match the namespace sent on the request", NULL, NULL, NULL);
			return -1;
		}
		jset_str(md, "namespace", q->ns);
	}
	return 0;
}

static int need_namespace(struct req *q, struct reply *rp)
{
	if (!q->r->namespaced || ns_exists(q->ns))
		return 0;
	reply_not_found(rp, &resources[0], q->ns);
	return -1;
}

/*
 * What a CRD's structural schema does with a field it does not declare, on
 * a create, an update or a merge/JSON patch: it is dropped from what is
 * stored, the write still succeeds, and the answer carries a warning
 * (apiserver default fieldValidation=Warn; KEP-2885, the text as "unknown
 * field \"PATH\""). A server-side apply is refused instead (apply_unknown).
 * Modelled for the one field conform writes that some installed CRDs lack:
 * HTTPRoute rules' timeouts.
 */
static void prune_unknown(const struct res *r, cJSON *o, struct reply *rp)
{
	cJSON *rule;
	int i = 0;

	if (strcmp(r->group, "gateway.networking.k8s.io") || strcmp(r->resource, "httproutes") ||
	    gw_minor >= 2)
		return;
	cJSON_ArrayForEach(rule, jobj(jobj(o, "spec"), "rules")) {
		if (cJSON_GetObjectItemCaseSensitive(rule, "timeouts")) {
			cJSON_DeleteItemFromObjectCaseSensitive(rule, "timeouts");
			if (rp && !rp->warning[0])
				str_fmt(rp->warning, sizeof(rp->warning),
					"299 - \"unknown field \\\"spec.rules[%d].timeouts\\\"\"", i);
		}
		i++;
	}
}

/*
 * A server-side apply is typed against the schema and refused when the
 * applied object has a field the schema does not declare (KEP-2885 "Apply
 * Patch": not optional; apiserver fieldmanager "failed to create typed
 * patch object (NS/NAME; GROUP/VERSION, Kind=KIND): PATH: field not
 * declared in schema", answered as an internal error). 1 when refused.
 */
static int apply_unknown(struct req *q, const cJSON *p, struct reply *rp)
{
	const cJSON *rule;
	char msg[512];
	int i = 0;

	if (strcmp(q->r->group, "gateway.networking.k8s.io") ||
	    strcmp(q->r->resource, "httproutes") || gw_minor >= 2)
		return 0;
	cJSON_ArrayForEach(rule, jobj(jobj((cJSON *)p, "spec"), "rules")) {
		if (cJSON_GetObjectItemCaseSensitive(rule, "timeouts")) {
			str_fmt(msg, sizeof(msg), "failed to create typed patch object (%s/%s; "
				"%s/%s, Kind=%s): .spec.rules[%d].timeouts: field not declared in "
				"schema", q->ns, q->name, q->r->group, q->r->version, q->r->kind, i);
			reply_status(rp, 500, "InternalError", msg, NULL, NULL, NULL);
			return 1;
		}
		i++;
	}
	return 0;
}

/* a new object from body o (taken); 201 */
static void do_insert(struct req *q, cJSON *o, struct reply *rp)
{
	cJSON *md = jobj(o, "metadata");
	char uid[40], ts[40];

	rand_hex(uid, 32);
	jset_str(md, "uid", uid);
	jset_str(md, "creationTimestamp", now_rfc3339(ts, sizeof(ts)));
	cJSON_DeleteItemFromObjectCaseSensitive(md, "managedFields");
	prune_unknown(q->r, o, rp);
	bump(o);
	if (!obj_add(q->r, q->r->namespaced ? q->ns : "", jstr(md, "name"), o)) {
		cJSON_Delete(o);
		reply_status(rp, 500, "InternalError", "out of memory", NULL, NULL, NULL);
		return;
	}
	record("ADDED", q->r, q->r->namespaced ? q->ns : "", o);
	reply_json(rp, 201, o);
}

static void do_create(struct req *q, struct reply *rp)
{
	cJSON *o = cJSON_Parse(q->body.buf ? q->body.buf : "");
	char gr[128], msg[512];

	if (!cJSON_IsObject(o)) {
		reply_status(rp, 400, "BadRequest", "the body of the request is not a JSON object",
			NULL, NULL, NULL);
		goto out;
	}
	if (check_body(q, o, rp, 0) || need_namespace(q, rp) || escalation_denied(q, o, rp))
		goto out;
	if (obj_find(q->r, q->r->namespaced ? q->ns : "", jstr(jobj(o, "metadata"), "name"))) {
		const char *name = jstr(jobj(o, "metadata"), "name");

		str_fmt(msg, sizeof(msg), "%s \"%s\" already exists", gr_of(q->r, gr, sizeof(gr)),
			name);
		reply_status(rp, 409, "AlreadyExists", msg, q->r, name, NULL);
		goto out;
	}
	do_insert(q, o, rp);
	o = NULL;
out:
	cJSON_Delete(o);
}

/* keep what the server owns across an update */
static void keep_server_fields(cJSON *nw, cJSON *old)
{
	static const char *const keep[] = { "uid", "creationTimestamp", "resourceVersion" };
	cJSON *nmd = jobj(nw, "metadata"), *omd = jobj(old, "metadata");
	size_t i;

	for (i = 0; i < 3; i++) {
		const char *v = jstr(omd, keep[i]);

		if (v)
			jset_str(nmd, keep[i], v);
	}
}

/* replace x's object with nw (taken); MODIFIED unless nothing changed */
static void do_replace(struct obj *x, cJSON *nw, struct reply *rp, unsigned code)
{
	keep_server_fields(nw, x->o);
	prune_unknown(x->r, nw, rp);
	if (!cJSON_Compare(nw, x->o, 1)) {
		bump(nw);
		cJSON_Delete(x->o);
		x->o = nw;
		record("MODIFIED", x->r, x->ns, nw);
	} else {
		cJSON_Delete(nw);   /* a no-op write does not make a new version */
	}
	reply_json(rp, code, x->o);
}

static void do_update(struct req *q, struct reply *rp)
{
	cJSON *o = cJSON_Parse(q->body.buf ? q->body.buf : "");
	struct obj *x;
	const char *rv;
	char gr[128], msg[512];

	if (!cJSON_IsObject(o)) {
		reply_status(rp, 400, "BadRequest", "the body of the request is not a JSON object",
			NULL, NULL, NULL);
		goto out;
	}
	if (check_body(q, o, rp, 0))
		goto out;
	x = obj_find(q->r, q->r->namespaced ? q->ns : "", q->name);
	if (!x) {
		reply_not_found(rp, q->r, q->name);
		goto out;
	}
	/* optimistic concurrency (registry/store.go OptimisticLockErrorMsg) */
	rv = jstr(jobj(o, "metadata"), "resourceVersion");
	if (rv && *rv && strcmp(rv, jstr(jobj(x->o, "metadata"), "resourceVersion"))) {
		str_fmt(msg, sizeof(msg), "Operation cannot be fulfilled on %s \"%s\": the object "
			"has been modified; please apply your changes to the latest version and try "
			"again", gr_of(q->r, gr, sizeof(gr)), q->name);
		reply_status(rp, 409, "Conflict", msg, q->r, q->name, NULL);
		goto out;
	}
	if (escalation_denied(q, o, rp))
		goto out;
	do_replace(x, o, rp, 200);
	o = NULL;
out:
	cJSON_Delete(o);
}

static void do_patch(struct req *q, struct reply *rp)
{
	const char *ct = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, "Content-Type");
	const char *fm = arg(q, "fieldManager");
	cJSON *p = NULL, *nw = NULL;
	struct obj *x;
	char why[512], ctype[128];
	int apply;

	str_copy(ctype, sizeof(ctype), ct ? ct : "");
	if (strchr(ctype, ';'))
		*strchr(ctype, ';') = '\0';
	apply = !strcmp(ctype, "application/apply-patch+yaml");
	if (!apply && strcmp(ctype, "application/merge-patch+json") &&
	    strcmp(ctype, "application/json-patch+json") &&
	    (strcmp(ctype, "application/strategic-merge-patch+json") || q->r->custom)) {
		/* apiserver handlers/patch.go: 415 for a type it does not take */
		str_fmt(why, sizeof(why), "the body of the request was in an unknown format - "
			"accepted media types include: application/json-patch+json, "
			"application/merge-patch+json, application/apply-patch+yaml%s",
			q->r->custom ? "" : ", application/strategic-merge-patch+json");
		reply_status(rp, 415, "UnsupportedMediaType", why, NULL, NULL, NULL);
		return;
	}
	/* meta/v1/validation ValidatePatchOptions */
	if (apply && (!fm || !*fm)) {
		reply_invalid(rp, "PatchOptions.meta.k8s.io", "", "fieldManager",
			"Required value: is required for apply patch", "FieldValueRequired");
		return;
	}
	if (!apply && arg(q, "force")) {
		reply_invalid(rp, "PatchOptions.meta.k8s.io", "", "force",
			"Forbidden: may not be specified for non-apply patch", "FieldValueForbidden");
		return;
	}
	if (fm && strlen(fm) > 128) {
		reply_invalid(rp, "PatchOptions.meta.k8s.io", "", "fieldManager",
			"Too long: may not be more than 128 bytes", "FieldValueTooLong");
		return;
	}
	p = cJSON_Parse(q->body.buf ? q->body.buf : "");
	if (!p) {
		/* the real server also reads YAML here; this double reads JSON only */
		reply_status(rp, 400, "BadRequest", "error decoding patch: the body is not JSON "
			"(this double reads JSON bodies only)", NULL, NULL, NULL);
		return;
	}
	x = obj_find(q->r, q->r->namespaced ? q->ns : "", q->name);
	if (apply) {
		if (!cJSON_IsObject(p) || check_body(q, p, rp, 1) || apply_unknown(q, p, rp))
			goto out;
		if (!x) {
			/* an apply that creates is also authorized as a create
			 * (apiserver endpoints/handlers/patch.go: the create
			 * validation wrapped with the "create" verb's authorization) */
			if (q->rbac && !rbac_allows(q, q->ns, "create", q->r->group, q->r->resource,
						    q->name)) {
				reply_forbidden(q, rp, "create", q->r->resource);
				goto out;
			}
			if (need_namespace(q, rp) || escalation_denied(q, p, rp))
				goto out;
			do_insert(q, p, rp);   /* apply creates: 201 */
			p = NULL;
			goto out;
		}
		/*
		 * Field ownership is not tracked: apply merges like a merge patch
		 * (maps merged, lists replaced), so applying the same object twice
		 * changes nothing and makes no new version.
		 */
		cJSON_DeleteItemFromObjectCaseSensitive(jobj(p, "metadata"), "resourceVersion");
		nw = merge_patch(cJSON_Duplicate(x->o, 1), p);
		if (escalation_denied(q, nw, rp)) {
			cJSON_Delete(nw);
			goto out;
		}
		do_replace(x, nw, rp, 200);
		goto out;
	}
	if (!x) {
		reply_not_found(rp, q->r, q->name);
		goto out;
	}
	nw = cJSON_Duplicate(x->o, 1);
	if (!strcmp(ctype, "application/json-patch+json")) {
		if (json_patch(nw, p, why, sizeof(why))) {
			reply_status(rp, 422, "Invalid", why, q->r, q->name, NULL);
			cJSON_Delete(nw);
			goto out;
		}
	} else {
		/* merge patch; a strategic one is treated the same (lists replaced) */
		nw = merge_patch(nw, p);
	}
	jset_str(jobj(nw, "metadata"), "name", q->name);
	if (escalation_denied(q, nw, rp)) {
		cJSON_Delete(nw);
		goto out;
	}
	do_replace(x, nw, rp, 200);
out:
	cJSON_Delete(p);
}

static void do_delete_obj(struct obj *x, struct reply *rp)
{
	cJSON *s = cJSON_CreateObject(), *d;
	const char *uid = jstr(jobj(x->o, "metadata"), "uid");
	const struct res *r = x->r;
	char ns[64];
	size_t i;

	if (r == &resources[0]) {
		/* a namespace takes what is in it along */
		for (i = 0; i < nobjs;) {
			if (objs[i].r->namespaced && !strcmp(objs[i].ns, x->name)) {
				bump(objs[i].o);
				record("DELETED", objs[i].r, objs[i].ns, objs[i].o);
				obj_remove(&objs[i]);
				if (x == &objs[nobjs])
					x = &objs[i];   /* it was moved into the freed slot */
			} else {
				i++;
			}
		}
	}
	if (rp) {
		cJSON_AddStringToObject(s, "kind", "Status");
		cJSON_AddStringToObject(s, "apiVersion", "v1");
		cJSON_AddObjectToObject(s, "metadata");
		cJSON_AddStringToObject(s, "status", "Success");
		d = cJSON_AddObjectToObject(s, "details");
		cJSON_AddStringToObject(d, "name", x->name);
		if (r->group[0])
			cJSON_AddStringToObject(d, "group", r->group);
		cJSON_AddStringToObject(d, "kind", r->resource);
		if (uid)
			cJSON_AddStringToObject(d, "uid", uid);
		reply_json(rp, 200, s);
	}
	cJSON_Delete(s);
	str_copy(ns, sizeof(ns), x->ns);
	bump(x->o);
	record("DELETED", r, ns, x->o);
	obj_remove(x);
}

static void do_delete(struct req *q, struct reply *rp)
{
	struct obj *x = obj_find(q->r, q->r->namespaced ? q->ns : "", q->name);
	cJSON *opts = q->body.len ? cJSON_Parse(q->body.buf) : NULL;
	const char *pp = arg(q, "propagationPolicy");
	const cJSON *grace = cJSON_GetObjectItemCaseSensitive(opts, "gracePeriodSeconds");

	if (!pp)
		pp = jstr(opts, "propagationPolicy");
	if (pp && strcmp(pp, "Foreground") && strcmp(pp, "Background") && strcmp(pp, "Orphan")) {
		char msg[256];

		str_fmt(msg, sizeof(msg), "Unsupported value: \"%.64s\": supported values: "
			"\"Foreground\", \"Background\", \"Orphan\"", pp);
		reply_invalid(rp, "DeleteOptions.meta.k8s.io", "", "propagationPolicy", msg,
			"FieldValueNotSupported");
	} else if (grace && (!cJSON_IsNumber(grace) || grace->valuedouble < 0 ||
			     grace->valuedouble != (double)(long long)grace->valuedouble)) {
		/* DeleteOptions: "Value must be non-negative integer" */
		reply_invalid(rp, "DeleteOptions.meta.k8s.io", "", "gracePeriodSeconds",
			"Invalid value: must be a non-negative integer", "FieldValueInvalid");
	} else if (!x) {
		reply_not_found(rp, q->r, q->name);
	} else {
		/* a pod's DELETED object says how it went: deletionTimestamp and
		 * deletionGracePeriodSeconds (the pod's 30 s unless the delete said) */
		if (!strcmp(q->r->resource, "pods")) {
			cJSON *md = jobj(x->o, "metadata");
			char ts[40];

			cJSON_DeleteItemFromObjectCaseSensitive(md, "deletionGracePeriodSeconds");
			cJSON_AddNumberToObject(md, "deletionGracePeriodSeconds",
						grace ? grace->valuedouble : 30);
			jset_str(md, "deletionTimestamp", now_rfc3339(ts, sizeof(ts)));
		}
		do_delete_obj(x, rp);
	}
	cJSON_Delete(opts);
}

static void do_logs(struct req *q, struct reply *rp)
{
	struct obj *x = obj_find(q->r, q->ns, q->name);
	const char *c = arg(q, "container"), *tl = arg(q, "tailLines"), *log, *p;
	const cJSON *cs, *ct;
	int64_t n = -1;
	int ncont = 0, found = 0;
	char msg[512];

	if (!x) {
		reply_not_found(rp, q->r, q->name);
		return;
	}
	cJSON_ArrayForEach(ct, cJSON_GetObjectItemCaseSensitive(jobj(x->o, "spec"), "containers")) {
		ncont++;
		if (c && jstr(ct, "name") && !strcmp(jstr(ct, "name"), c))
			found = 1;
	}
	if (c && !found) {
		str_fmt(msg, sizeof(msg), "container %s is not valid for pod %s", c, q->name);
		reply_status(rp, 400, "BadRequest", msg, NULL, NULL, NULL);
		return;
	}
	if (!c && ncont > 1) {
		str_fmt(msg, sizeof(msg), "a container name must be specified for pod %s", q->name);
		reply_status(rp, 400, "BadRequest", msg, NULL, NULL, NULL);
		return;
	}
	if (arg_true(q, "previous")) {
		long restarts = 0;

		cJSON_ArrayForEach(cs, cJSON_GetObjectItemCaseSensitive(jobj(x->o, "status"),
				"containerStatuses"))
			restarts += (long)cJSON_GetNumberValue(
				cJSON_GetObjectItemCaseSensitive(cs, "restartCount"));
		if (!restarts) {
			str_fmt(msg, sizeof(msg), "previous terminated container in pod \"%s\" not "
				"found", q->name);
			reply_status(rp, 400, "BadRequest", msg, NULL, NULL, NULL);
			return;
		}
	}
	if (tl && parse_i64(tl, 0, 1 << 30, &n)) {
		reply_status(rp, 400, "BadRequest", "tailLines must be a number", NULL, NULL, NULL);
		return;
	}
	log = x->log ? x->log : "";
	p = log + strlen(log);
	if (n >= 0) {
		/* back n lines from the end (a final newline ends the last line) */
		int64_t lines = 0;

		if (p > log && p[-1] == '\n')
			p--;
		while (p > log && lines < n) {
			p--;
			if (*p == '\n' && ++lines == n) {
				p++;
				break;
			}
		}
		if (lines < n)
			p = log;
	} else {
		p = log;
	}
	rp->code = 200;
	rp->ctype = "text/plain";
	rp->body = strdup(p);
}

/* ---- watch streams ---- */

struct watch {
	const struct res *r;
	char ns[64];
	char *label, *field;
	unsigned long long rv;     /* the last version sent */
	int bookmarks;
	int64_t deadline, next_bookmark;
	unsigned gen;
	cJSON *initial;            /* synthetic ADDED events still to send */
	int expired;               /* send one ERROR 410, then end */
	int done;
	struct dynbuf out;
	size_t sent;
};

static int watch_match(struct watch *w, const struct res *r, const char *ns, const cJSON *o)
{
	return r == w->r && (!w->ns[0] || !strcmp(ns, w->ns)) &&
		selector_match(o, w->label, 1) && selector_match(o, w->field, 0);
}

static void watch_emit(struct watch *w, const char *type, const cJSON *o)
{
	cJSON *ev = cJSON_CreateObject();
	char *txt;

	cJSON_AddStringToObject(ev, "type", type);
	cJSON_AddItemToObject(ev, "object", cJSON_Duplicate(o, 1));
	txt = cJSON_PrintUnformatted(ev);
	/* json.Encoder.Encode: one object, one newline */
	if (txt)
		dynbuf_addf(&w->out, "%s\n", txt);
	free(txt);
	cJSON_Delete(ev);
}

static ssize_t watch_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct watch *w = cls;
	ssize_t n = 0;

	(void)pos;
	pthread_mutex_lock(&mu);
	for (;;) {
		if (w->sent < w->out.len) {
			n = (ssize_t)(w->out.len - w->sent < max ? w->out.len - w->sent : max);
			memcpy(buf, w->out.buf + w->sent, (size_t)n);
			w->sent += (size_t)n;
			if (w->sent == w->out.len) {
				dynbuf_reset(&w->out);
				w->sent = 0;
			}
			break;
		}
		if (quit || w->gen != drop_gen) {
			n = MHD_CONTENT_READER_END_WITH_ERROR;   /* cut, as a lost connection */
			break;
		}
		if (w->done) {
			n = MHD_CONTENT_READER_END_OF_STREAM;
			break;
		}
		if (w->initial && cJSON_GetArraySize(w->initial)) {
			cJSON *o = cJSON_DetachItemFromArray(w->initial, 0);

			watch_emit(w, "ADDED", o);
			cJSON_Delete(o);
			continue;
		}
		if (w->expired || w->rv < compacted) {
			/* cacher.go newErrWatcher: 200, then one ERROR event, then the end */
			cJSON *s = cJSON_CreateObject();
			char msg[128];

			str_fmt(msg, sizeof(msg), "too old resource version: %llu (%llu)", w->rv,
				compacted + 1);
			cJSON_AddStringToObject(s, "kind", "Status");
			cJSON_AddStringToObject(s, "apiVersion", "v1");
			cJSON_AddObjectToObject(s, "metadata");
			cJSON_AddStringToObject(s, "status", "Failure");
			cJSON_AddStringToObject(s, "message", msg);
			cJSON_AddStringToObject(s, "reason", "Expired");
			cJSON_AddNumberToObject(s, "code", 410);
			watch_emit(w, "ERROR", s);
			cJSON_Delete(s);
			w->done = 1;
			continue;
		}
		{
			size_t i;
			int sent = 0;

			for (i = 0; i < hlen; i++) {
				struct hist *h = &history[(hstart + i) % HISTORY_MAX];

				if (h->rv <= w->rv)
					continue;
				w->rv = h->rv;
				if (watch_match(w, h->r, h->ns, h->o)) {
					watch_emit(w, h->type, h->o);
					sent = 1;
					break;
				}
			}
			if (sent)
				continue;
		}
		if (now_ms() >= w->deadline) {
			w->done = 1;
			continue;
		}
		if (w->bookmarks && now_ms() >= w->next_bookmark) {
			/* a BOOKMARK: an object of the kind with only resourceVersion set */
			cJSON *o = cJSON_CreateObject(), *md;
			char gv[96], v[32];

			cJSON_AddStringToObject(o, "kind", w->r->kind);
			cJSON_AddStringToObject(o, "apiVersion", gv_of(w->r, gv, sizeof(gv)));
			md = cJSON_AddObjectToObject(o, "metadata");
			str_fmt(v, sizeof(v), "%llu", w->rv > rv_now ? w->rv : rv_now);
			cJSON_AddStringToObject(md, "resourceVersion", v);
			w->rv = w->rv > rv_now ? w->rv : rv_now;
			watch_emit(w, "BOOKMARK", o);
			cJSON_Delete(o);
			w->next_bookmark = now_ms() + bookmark_ms;
			continue;
		}
		{
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 100 * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&changed, &mu, &ts);
		}
	}
	pthread_mutex_unlock(&mu);
	return n;
}

static void watch_free(void *cls)
{
	struct watch *w = cls;

	cJSON_Delete(w->initial);
	dynbuf_release(&w->out);
	free(w->label);
	free(w->field);
	free(w);
}

/* mu held; returns the response or NULL with rp filled */
static struct MHD_Response *do_watch(struct req *q, struct reply *rp)
{
	struct watch *w = calloc(1, sizeof(*w));
	const char *rv = arg(q, "resourceVersion"), *ts = arg(q, "timeoutSeconds");
	int64_t t = 1800, v = 0;
	struct MHD_Response *resp;
	size_t i;

	if (!w)
		return NULL;
	if ((ts && parse_i64(ts, 0, 1 << 20, &t)) ||
	    (rv && *rv && parse_i64(rv, 0, INT64_MAX, &v))) {
		reply_status(rp, 400, "BadRequest", "bad timeoutSeconds or resourceVersion",
			NULL, NULL, NULL);
		free(w);
		return NULL;
	}
	n_watches++;
	w->r = q->r;
	str_copy(w->ns, sizeof(w->ns), q->ns);
	w->label = arg(q, "labelSelector") ? strdup(arg(q, "labelSelector")) : NULL;
	w->field = arg(q, "fieldSelector") ? strdup(arg(q, "fieldSelector")) : NULL;
	w->bookmarks = arg_true(q, "allowWatchBookmarks");
	w->deadline = now_ms() + (t ? t : 1800) * 1000;
	w->next_bookmark = now_ms() + bookmark_ms;
	w->gen = drop_gen;
	dynbuf_init(&w->out, BODY_MAX);
	if (!rv || !*rv || v == 0) {
		/* unset or "0": the current state as ADDED, then changes */
		w->initial = cJSON_CreateArray();
		for (i = 0; i < nobjs; i++)
			if (watch_match(w, objs[i].r, objs[i].ns, objs[i].o))
				cJSON_AddItemToArray(w->initial, cJSON_Duplicate(objs[i].o, 1));
		w->rv = rv_now;
	} else {
		/* "changes strictly after that version" (api-concepts) */
		w->rv = (unsigned long long)v;
		if (w->rv < compacted)
			w->expired = 1;
	}
	if (w->expired && expire_http) {
		/* the other form clients must handle (api-concepts "410 Gone responses") */
		char msg[128];

		str_fmt(msg, sizeof(msg), "too old resource version: %llu (%llu)", w->rv,
			compacted + 1);
		reply_status(rp, 410, "Expired", msg, NULL, NULL, NULL);
		watch_free(w);
		return NULL;
	}
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, watch_read, w,
			watch_free);
	if (!resp) {
		watch_free(w);
		return NULL;
	}
	MHD_add_response_header(resp, "Content-Type", "application/json");
	return resp;
}

/* ---- discovery (just enough for kubectl's REST mapping) ---- */

static cJSON *resource_list(const char *group, const char *version)
{
	cJSON *l = cJSON_CreateObject(), *rs, *e, *verbs, *sn;
	char gv[96];
	size_t i;

	cJSON_AddStringToObject(l, "kind", "APIResourceList");
	cJSON_AddStringToObject(l, "apiVersion", "v1");
	str_fmt(gv, sizeof(gv), "%s%s%s", group, group[0] ? "/" : "", version);
	cJSON_AddStringToObject(l, "groupVersion", gv);
	rs = cJSON_AddArrayToObject(l, "resources");
	for (i = 0; i < NRES; i++) {
		const struct res *r = &resources[i];
		static const char *const vs[] = { "create", "delete", "get", "list", "patch",
			"update", "watch" };
		size_t j;

		if (strcmp(r->group, group) || strcmp(r->version, version))
			continue;
		e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "name", r->resource);
		cJSON_AddStringToObject(e, "singularName", r->singular);
		cJSON_AddBoolToObject(e, "namespaced", r->namespaced);
		cJSON_AddStringToObject(e, "kind", r->kind);
		verbs = cJSON_AddArrayToObject(e, "verbs");
		for (j = 0; j < sizeof(vs) / sizeof(vs[0]); j++)
			cJSON_AddItemToArray(verbs, cJSON_CreateString(vs[j]));
		if (r->short_name) {
			sn = cJSON_AddArrayToObject(e, "shortNames");
			cJSON_AddItemToArray(sn, cJSON_CreateString(r->short_name));
		}
		cJSON_AddItemToArray(rs, e);
		if (!strcmp(r->resource, "pods")) {
			e = cJSON_CreateObject();
			cJSON_AddStringToObject(e, "name", "pods/log");
			cJSON_AddStringToObject(e, "singularName", "");
			cJSON_AddBoolToObject(e, "namespaced", 1);
			cJSON_AddStringToObject(e, "kind", "Pod");
			verbs = cJSON_AddArrayToObject(e, "verbs");
			cJSON_AddItemToArray(verbs, cJSON_CreateString("get"));
			cJSON_AddItemToArray(rs, e);
		}
	}
	if (!cJSON_GetArraySize(rs)) {
		cJSON_Delete(l);
		return NULL;
	}
	return l;
}

static cJSON *group_of(const char *group)
{
	cJSON *g = NULL, *vs = NULL, *v;
	char gv[96];
	size_t i;

	for (i = 0; i < NRES; i++) {
		const struct res *r = &resources[i];

		if (!r->group[0] || strcmp(r->group, group))
			continue;
		str_fmt(gv, sizeof(gv), "%s/%s", r->group, r->version);
		if (!strcmp(gv, hidden_gv))
			continue;
		if (!g) {
			g = cJSON_CreateObject();
			cJSON_AddStringToObject(g, "name", group);
			vs = cJSON_AddArrayToObject(g, "versions");
			v = cJSON_AddObjectToObject(g, "preferredVersion");
			cJSON_AddStringToObject(v, "groupVersion", gv);
			cJSON_AddStringToObject(v, "version", r->version);
		}
		cJSON_ArrayForEach(v, vs)
			if (!strcmp(jstr(v, "groupVersion"), gv))
				break;
		if (v)
			continue;
		v = cJSON_CreateObject();
		cJSON_AddStringToObject(v, "groupVersion", gv);
		cJSON_AddStringToObject(v, "version", r->version);
		cJSON_AddItemToArray(vs, v);
	}
	return g;
}

/* 1 when the path was a discovery path (rp filled) */
static int discovery(const char *path, struct reply *rp)
{
	cJSON *j = NULL, *a;
	char buf[256], *s1, *s2, *cur = buf;
	size_t i;

	if (!strcmp(path, "/version")) {
		j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "major", "1");
		cJSON_AddStringToObject(j, "minor", "32");
		cJSON_AddStringToObject(j, "gitVersion", "v1.32.0-conform-double");
		cJSON_AddStringToObject(j, "platform", "linux/amd64");
	} else if (!strcmp(path, "/api")) {
		char addr[64];

		j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "kind", "APIVersions");
		a = cJSON_AddArrayToObject(j, "versions");
		cJSON_AddItemToArray(a, cJSON_CreateString("v1"));
		a = cJSON_AddArrayToObject(j, "serverAddressByClientCIDRs");
		cJSON_AddItemToArray(a, cJSON_CreateObject());
		str_fmt(addr, sizeof(addr), "127.0.0.1:%d", port);
		cJSON_AddStringToObject(cJSON_GetArrayItem(a, 0), "clientCIDR", "0.0.0.0/0");
		cJSON_AddStringToObject(cJSON_GetArrayItem(a, 0), "serverAddress", addr);
	} else if (!strcmp(path, "/apis")) {
		j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "kind", "APIGroupList");
		cJSON_AddStringToObject(j, "apiVersion", "v1");
		a = cJSON_AddArrayToObject(j, "groups");
		for (i = 0; i < NRES; i++) {
			const cJSON *g;
			int seen = 0;

			if (!resources[i].group[0])
				continue;
			cJSON_ArrayForEach(g, a)
				seen |= !strcmp(jstr(g, "name"), resources[i].group);
			if (!seen)
				cJSON_AddItemToArray(a, group_of(resources[i].group));
		}
	} else if (!strcmp(path, "/api/v1")) {
		j = resource_list("", "v1");
	} else if (!strncmp(path, "/apis/", 6)) {
		str_copy(buf, sizeof(buf), path + 6);
		s1 = split_next(&cur, '/');
		s2 = s1 ? split_next(&cur, '/') : NULL;
		if (!s1 || split_next(&cur, '/'))
			return 0;
		if (!s2 && !strcmp(s1, "tap.linkerd.io") &&
		    strcmp(hidden_gv, "tap.linkerd.io/v1alpha1")) {
			/* linkerd-viz's aggregated tap API (APIService
			 * v1alpha1.tap.linkerd.io): its group, served unless hidden
			 * (hide-group-version?gv=tap.linkerd.io/v1alpha1: no viz) */
			cJSON *v;

			j = cJSON_CreateObject();
			cJSON_AddStringToObject(j, "kind", "APIGroup");
			cJSON_AddStringToObject(j, "apiVersion", "v1");
			cJSON_AddStringToObject(j, "name", "tap.linkerd.io");
			v = cJSON_CreateObject();
			cJSON_AddStringToObject(v, "groupVersion", "tap.linkerd.io/v1alpha1");
			cJSON_AddStringToObject(v, "version", "v1alpha1");
			cJSON_AddItemToArray(cJSON_AddArrayToObject(j, "versions"), v);
			cJSON_AddItemToObject(j, "preferredVersion", cJSON_Duplicate(v, 1));
		} else if (!s2) {
			j = group_of(s1);
			if (j) {
				cJSON_AddStringToObject(j, "kind", "APIGroup");
				cJSON_AddStringToObject(j, "apiVersion", "v1");
			}
		} else {
			j = resource_list(s1, s2);
		}
		if (!j) {
			rp->code = 404;
			rp->ctype = "text/plain";
			rp->body = strdup("404 page not found\n");
			return 1;
		}
	} else {
		return 0;
	}
	reply_json(rp, 200, j);
	cJSON_Delete(j);
	return 1;
}

/* ---- the test control endpoint (no auth) ---- */

static cJSON *container_status(cJSON *pod, const char *container)
{
	cJSON *status = jobj(pod, "status"), *css, *cs, *c;

	css = cJSON_GetObjectItemCaseSensitive(status, "containerStatuses");
	if (!cJSON_IsArray(css)) {
		cJSON_DeleteItemFromObjectCaseSensitive(status, "containerStatuses");
		css = cJSON_AddArrayToObject(status, "containerStatuses");
		cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(jobj(pod, "spec"),
				"containers")) {
			cs = cJSON_CreateObject();
			cJSON_AddStringToObject(cs, "name", jstr(c, "name") ? jstr(c, "name") : "main");
			cJSON_AddNumberToObject(cs, "restartCount", 0);
			cJSON_AddBoolToObject(cs, "ready", 1);
			cJSON_AddItemToArray(css, cs);
		}
	}
	cJSON_ArrayForEach(cs, css)
		if (!container || !strcmp(jstr(cs, "name") ? jstr(cs, "name") : "", container))
			return cs;
	return NULL;
}

static void add_event(struct obj *pod, const char *reason, const char *message,
		const char *component)
{
	cJSON *e = cJSON_CreateObject(), *md, *io, *src;
	char name[300], hex[17], ts[40];
	struct req fake;

	rand_hex(hex, 16);
	str_fmt(name, sizeof(name), "%s.%s", pod->name, hex);
	now_rfc3339(ts, sizeof(ts));
	cJSON_AddStringToObject(e, "kind", "Event");
	cJSON_AddStringToObject(e, "apiVersion", "v1");
	md = cJSON_AddObjectToObject(e, "metadata");
	cJSON_AddStringToObject(md, "name", name);
	cJSON_AddStringToObject(md, "namespace", pod->ns);
	io = cJSON_AddObjectToObject(e, "involvedObject");
	cJSON_AddStringToObject(io, "kind", "Pod");
	cJSON_AddStringToObject(io, "namespace", pod->ns);
	cJSON_AddStringToObject(io, "name", pod->name);
	cJSON_AddStringToObject(io, "apiVersion", "v1");
	if (jstr(jobj(pod->o, "metadata"), "uid"))
		cJSON_AddStringToObject(io, "uid", jstr(jobj(pod->o, "metadata"), "uid"));
	cJSON_AddStringToObject(e, "reason", reason);
	cJSON_AddStringToObject(e, "message", message);
	cJSON_AddStringToObject(e, "type", "Warning");
	src = cJSON_AddObjectToObject(e, "source");
	cJSON_AddStringToObject(src, "component", component);
	cJSON_AddNumberToObject(e, "count", 1);
	cJSON_AddStringToObject(e, "firstTimestamp", ts);
	cJSON_AddStringToObject(e, "lastTimestamp", ts);
	cJSON_AddStringToObject(e, "reportingComponent", component);
	memset(&fake, 0, sizeof(fake));
	fake.r = res_find("", "v1", "events");
	str_copy(fake.ns, sizeof(fake.ns), pod->ns);
	{
		struct reply rp = { 0, NULL, NULL, 0, NULL, 0, "" };

		do_insert(&fake, e, &rp);
		free(rp.body);
	}
}

/* Pods of a Deployment that do not start (/_double/pending-new). mu held. */
static char pend_deploy[254], pend_reason[64], pend_msg[256];

/*
 * Pod x does not start: phase Pending, Ready False, the reason where the
 * scheduler or the kubelet puts it, and a Warning event. mu held.
 */
static void make_pending(struct obj *x, const char *reason, const char *msg)
{
	/* a pod that does not start: phase Pending, the reason where the
	 * scheduler or the kubelet puts it, and a Warning event (kubernetes
	 * pkg/scheduler/schedule_one.go FailedScheduling; kubelet Failed/BackOff) */
	cJSON *st = jobj(x->o, "status"), *cs;

	jset_str(st, "phase", "Pending");
	if (!strcmp(reason, "Unschedulable")) {
		cJSON *conds, *c = cJSON_CreateObject();

		cJSON_DeleteItemFromObjectCaseSensitive(st, "conditions");
		conds = cJSON_AddArrayToObject(st, "conditions");
		cJSON_AddStringToObject(c, "type", "PodScheduled");
		cJSON_AddStringToObject(c, "status", "False");
		cJSON_AddStringToObject(c, "reason", "Unschedulable");
		cJSON_AddStringToObject(c, "message", msg);
		cJSON_AddItemToArray(conds, c);
		cJSON_DeleteItemFromObjectCaseSensitive(st, "containerStatuses");
		bump(x->o);
		record("MODIFIED", x->r, x->ns, x->o);
		add_event(x, "FailedScheduling", msg, "default-scheduler");
	} else {
		container_status(x->o, NULL);
		cJSON_ArrayForEach(cs, cJSON_GetObjectItemCaseSensitive(st,
				"containerStatuses")) {
			cJSON *state, *w;

			cJSON_DeleteItemFromObjectCaseSensitive(cs, "state");
			state = cJSON_AddObjectToObject(cs, "state");
			w = cJSON_AddObjectToObject(state, "waiting");
			cJSON_AddStringToObject(w, "reason", reason);
			cJSON_AddStringToObject(w, "message", msg);
			if (!strcmp(reason, "CrashLoopBackOff")) {
				/* the kubelet backs off after the container exited: it
				 * ran, so there is a previous instance and its exit */
				cJSON *ls, *term;

				cJSON_DeleteItemFromObjectCaseSensitive(cs, "restartCount");
				cJSON_AddNumberToObject(cs, "restartCount", 1);
				cJSON_DeleteItemFromObjectCaseSensitive(cs, "lastState");
				ls = cJSON_AddObjectToObject(cs, "lastState");
				term = cJSON_AddObjectToObject(ls, "terminated");
				cJSON_AddNumberToObject(term, "exitCode", 2);
				cJSON_AddStringToObject(term, "reason", "Error");
			}
			cJSON_DeleteItemFromObjectCaseSensitive(cs, "ready");
			cJSON_AddBoolToObject(cs, "ready", 0);
		}
		/* the kubelet: a container not ready, the pod not Ready */
		cJSON_ArrayForEach(cs, cJSON_GetObjectItemCaseSensitive(st, "conditions")) {
			const cJSON *ty = cJSON_GetObjectItemCaseSensitive(cs, "type");

			if (cJSON_IsString(ty) && (!strcmp(ty->valuestring, "Ready") ||
						   !strcmp(ty->valuestring, "ContainersReady"))) {
				cJSON_DeleteItemFromObjectCaseSensitive(cs, "status");
				cJSON_AddStringToObject(cs, "status", "False");
			}
		}
		bump(x->o);
		record("MODIFIED", x->r, x->ns, x->o);
		add_event(x, strstr(reason, "BackOff") ? "BackOff" : "Failed", msg, "kubelet");
	}
}

static void control(struct req *q, struct reply *rp)
{
	const char *what = q->path + strlen("/_double/");
	const char *ns = arg(q, "namespace") ? arg(q, "namespace") : "";
	const char *name = arg(q, "name") ? arg(q, "name") : "";
	const struct res *pods = res_find("", "v1", "pods");
	struct obj *x = obj_find(pods, ns, name);
	cJSON *j = NULL;

	rp->code = 200;
	rp->ctype = "application/json";
	if (!strcmp(what, "stats")) {
		j = cJSON_CreateObject();
		cJSON_AddNumberToObject(j, "requests", (double)n_requests);
		cJSON_AddNumberToObject(j, "lists", (double)n_lists);
		cJSON_AddNumberToObject(j, "watches", (double)n_watches);
		cJSON_AddNumberToObject(j, "resourceVersion", (double)rv_now);
		cJSON_AddNumberToObject(j, "compacted", (double)compacted);
		reply_json(rp, 200, j);
		cJSON_Delete(j);
		return;
	}
	if (strcmp(q->method, "POST")) {
		rp->code = 405;
	} else if (!strcmp(what, "drop-watches")) {
		drop_gen++;
		pthread_cond_broadcast(&changed);
	} else if (!strcmp(what, "compact")) {
		/*
		 * A write elsewhere (a cluster always has some), then every version
		 * up to it leaves the history: any watch behind it, connected or
		 * resuming, gets 410 Expired.
		 */
		rv_now++;
		while (hlen) {
			cJSON_Delete(history[hstart].o);
			hstart = (hstart + 1) % HISTORY_MAX;
			hlen--;
		}
		compacted = rv_now;
		pthread_cond_broadcast(&changed);
	} else if (!strcmp(what, "token")) {
		str_copy(token, sizeof(token), arg(q, "value") ? arg(q, "value") : "");
	} else if (!strcmp(what, "bookmark-ms")) {
		int64_t v;

		if (!arg(q, "value") || parse_i64(arg(q, "value"), 10, 3600000, &v))
			rp->code = 400;
		else
			bookmark_ms = v;
	} else if (!strcmp(what, "metrics-stall")) {
		int64_t v;

		if (!arg(q, "value") || parse_i64(arg(q, "value"), 0, 600000, &v))
			rp->code = 400;
		else
			metrics_stall_ms = v;
	} else if (!strcmp(what, "stall")) {
		int64_t v;

		if (!arg(q, "value") || parse_i64(arg(q, "value"), 0, 600000, &v))
			rp->code = 400;
		else
			stall_ms = v;
	} else if (!strcmp(what, "expire-mode")) {
		const char *v = arg(q, "value") ? arg(q, "value") : "";

		if (!strcmp(v, "http") || !strcmp(v, "event"))
			expire_http = !strcmp(v, "http");
		else
			rp->code = 400;
	} else if (!strcmp(what, "deny")) {
		struct deny *d;

		if (ndenies == DENY_MAX || !arg(q, "verb") || !arg(q, "resource")) {
			rp->code = 400;
		} else {
			d = &denies[ndenies++];
			str_copy(d->verb, sizeof(d->verb), arg(q, "verb"));
			str_copy(d->resource, sizeof(d->resource), arg(q, "resource"));
			str_copy(d->group, sizeof(d->group), arg(q, "group") ? arg(q, "group") : "*");
			str_copy(d->ns, sizeof(d->ns), arg(q, "namespace") ? arg(q, "namespace") : "*");
		}
	} else if (!strcmp(what, "service-backend")) {
		/* service-backend?namespace=&name=&port=&addr=127.0.0.1:P ("" addr: none) */
		const char *bport = arg(q, "port") ? arg(q, "port") : "";
		const char *addr = arg(q, "addr") ? arg(q, "addr") : "";
		size_t i;

		for (i = 0; i < nbackends; i++)
			if (!strcmp(backends[i].ns, ns) && !strcmp(backends[i].name, name) &&
			    !strcmp(backends[i].port, bport))
				break;
		if (i == nbackends && nbackends == BACKEND_MAX) {
			rp->code = 400;
		} else {
			if (i == nbackends)
				nbackends++;
			str_copy(backends[i].ns, sizeof(backends[i].ns), ns);
			str_copy(backends[i].name, sizeof(backends[i].name), name);
			str_copy(backends[i].port, sizeof(backends[i].port), bport);
			str_copy(backends[i].addr, sizeof(backends[i].addr), addr);
		}
	} else if (!strcmp(what, "deny-reset")) {
		ndenies = 0;
	} else if (!strcmp(what, "gateway-api")) {
		/* gateway-api?version=v1.1.1: the installed standard CRDs' release */
		const char *v = arg(q, "version");
		char num[8] = "";
		int64_t minor;

		if (v && !strncmp(v, "v1.", 3) && strcspn(v + 3, ".") < sizeof(num))
			memcpy(num, v + 3, strcspn(v + 3, "."));
		if (parse_i64(num, 0, 99, &minor))
			rp->code = 400;
		else
			gw_minor = (int)minor;
	} else if (!strcmp(what, "hide-group-version")) {
		str_copy(hidden_gv, sizeof(hidden_gv), arg(q, "gv") ? arg(q, "gv") : "");
	} else if (!strcmp(what, "tap-stream")) {
		/* the body (binary: framed TapEvents) is what the tap API answers */
		free(tap_stream);
		tap_len = q->body.len;
		tap_stream = malloc(tap_len ? tap_len : 1);
		if (tap_stream && tap_len)
			memcpy(tap_stream, q->body.buf, tap_len);
	} else if (!strcmp(what, "pending-new")) {
		/* pending-new?name=DEPLOYMENT&reason=&message=: its pods made from now
		 * on do not start, as with "pending" (no name: none any more) */
		str_copy(pend_deploy, sizeof(pend_deploy), name);
		str_copy(pend_reason, sizeof(pend_reason),
			 arg(q, "reason") ? arg(q, "reason") : "Unschedulable");
		str_copy(pend_msg, sizeof(pend_msg), arg(q, "message") ? arg(q, "message") : "");
	} else if (!x) {
		rp->code = 404;
	} else if (!strcmp(what, "delete-pod")) {
		do_delete_obj(x, NULL);
	} else if (!strcmp(what, "logs")) {
		/* the body as the log, repeat times (a large log for the client's cap) */
		const char *b = q->body.buf ? q->body.buf : "";
		struct dynbuf lb = DYNBUF_INIT(64u << 20);
		int64_t rep = 1, r;

		if (arg(q, "repeat") && parse_i64(arg(q, "repeat"), 1, 1000000, &rep)) {
			rp->code = 400;
		} else {
			dynbuf_adds(&lb, "");
			for (r = 0; r < rep; r++)
				if (dynbuf_adds(&lb, b))
					break;
			free(x->log);
			x->log = dynbuf_detach(&lb, NULL);
		}
		dynbuf_release(&lb);
	} else if (!strcmp(what, "metrics")) {
		free(x->metrics);
		x->metrics = strdup(q->body.buf ? q->body.buf : "");
	} else if (!strcmp(what, "evict")) {
		/* the kubelet evicted the pod (node pressure): phase Failed, reason
		 * Evicted, containers terminated; it stays until collected (kubernetes
		 * pkg/kubelet/eviction: Reason "Evicted") */
		cJSON *st = jobj(x->o, "status"), *cs;
		const char *msg = arg(q, "message") ? arg(q, "message") :
			"The node was low on resource: memory.";

		jset_str(st, "phase", "Failed");
		jset_str(st, "reason", "Evicted");
		jset_str(st, "message", msg);
		container_status(x->o, NULL);
		cJSON_ArrayForEach(cs, cJSON_GetObjectItemCaseSensitive(st, "containerStatuses")) {
			cJSON *state, *t;

			cJSON_DeleteItemFromObjectCaseSensitive(cs, "state");
			state = cJSON_AddObjectToObject(cs, "state");
			t = cJSON_AddObjectToObject(state, "terminated");
			cJSON_AddNumberToObject(t, "exitCode", 137);
			cJSON_AddStringToObject(t, "reason", "Evicted");
			cJSON_DeleteItemFromObjectCaseSensitive(cs, "ready");
			cJSON_AddBoolToObject(cs, "ready", 0);
		}
		bump(x->o);
		record("MODIFIED", x->r, x->ns, x->o);
		add_event(x, "Evicted", msg, "kubelet");
	} else if (!strcmp(what, "restart")) {
		/* the kubelet restarted a container: restartCount + 1, lastState.terminated */
		cJSON *cs = container_status(x->o, arg(q, "container")), *ls, *t;
		const char *code = arg(q, "exitCode");
		int64_t ec = 1;
		char ts[40];

		if (!cs || (code && parse_i64(code, 0, 255, &ec))) {
			rp->code = 400;
		} else {
			const cJSON *rc = cJSON_GetObjectItemCaseSensitive(cs, "restartCount");
			double n = cJSON_IsNumber(rc) ? rc->valuedouble : 0;

			cJSON_DeleteItemFromObjectCaseSensitive(cs, "restartCount");
			cJSON_AddNumberToObject(cs, "restartCount", n + 1);
			cJSON_DeleteItemFromObjectCaseSensitive(cs, "lastState");
			ls = cJSON_AddObjectToObject(cs, "lastState");
			t = cJSON_AddObjectToObject(ls, "terminated");
			cJSON_AddNumberToObject(t, "exitCode", (double)ec);
			cJSON_AddStringToObject(t, "reason", arg(q, "reason") ? arg(q, "reason") :
				"Error");
			cJSON_AddStringToObject(t, "finishedAt", now_rfc3339(ts, sizeof(ts)));
			bump(x->o);
			record("MODIFIED", x->r, x->ns, x->o);
		}
	} else if (!strcmp(what, "pending")) {
		make_pending(x, arg(q, "reason") ? arg(q, "reason") : "Unschedulable",
			     arg(q, "message") ? arg(q, "message") : "");
	} else {
		rp->code = 404;
	}
	if (!rp->body)
		rp->body = strdup(rp->code == 200 ? "{}" : "{\"error\":\"bad control request\"}");
}

/* ---- Linkerd: the viz tap API and a proxy's metrics through the pod proxy ---- */

/* the tap server's error: header linkerd-error and a framed viz.ApiError,
 * status 200 (L2 pkg/protohttp/protohttp.go WriteErrorToHTTPResponse) */
static void tap_error(struct reply *rp, const char *status_text, const char *msg)
{
	L5dtap__ApiError e = L5DTAP__API_ERROR__INIT;
	size_t n;

	e.error = (char *)msg;
	n = l5dtap__api_error__get_packed_size(&e);
	rp->body = malloc(n + 4);
	if (!rp->body)
		return;
	rp->body[0] = (char)(n & 0xff);
	rp->body[1] = (char)((n >> 8) & 0xff);
	rp->body[2] = (char)((n >> 16) & 0xff);
	rp->body[3] = (char)((n >> 24) & 0xff);
	l5dtap__api_error__pack(&e, (uint8_t *)rp->body + 4);
	rp->len = n + 4;
	rp->code = 200;
	rp->ctype = "application/octet-stream";
	rp->l5d_error = status_text;
}

/*
 * POST /apis/tap.linkerd.io/v1alpha1/watch/namespaces/NS/deployments/NAME/tap
 * (L2 viz/tap/api/handlers.go): RBAC watch on deployments/tap, a body that
 * is a TapByResourceRequest naming what the URL names, a top-level all{}
 * match (grpc_server.go), a deployment that exists; then the recorded
 * stream. mu held.
 */
static void do_tap(struct req *q, struct reply *rp, const char *ns, const char *name)
{
	static const struct res tap_res = { "tap.linkerd.io", "v1alpha1", "deployments",
		"Deployment", "deployment", NULL, 1, 1 };
	L5dtap__TapByResourceRequest *r;
	char want[512], msg[1024];

	if (strcmp(q->method, "POST")) {
		rp->code = 405;
		rp->ctype = "text/plain";
		rp->body = strdup("only POST is allowed\n");
		return;
	}
	q->r = &tap_res;
	str_copy(q->ns, sizeof(q->ns), ns);
	str_copy(q->name, sizeof(q->name), name);
	str_copy(q->sub, sizeof(q->sub), "tap");
	str_copy(q->verb, sizeof(q->verb), "watch");   /* the /watch/ prefix makes it watch */
	if (denied(q, rp))
		return;
	r = l5dtap__tap_by_resource_request__unpack(NULL, q->body.len,
		(const uint8_t *)q->body.buf);
	if (!r || !r->target || !r->target->resource) {
		tap_error(rp, "Bad Request", "proto: cannot parse invalid wire-format data");
		goto out;
	}
	str_fmt(want, sizeof(want), "/apis/tap.linkerd.io/v1alpha1/watch/namespaces/%s/%ss/%s/tap",
		r->target->resource->namespace_, r->target->resource->type,
		r->target->resource->name);
	if (strcmp(want, q->path)) {
		str_fmt(msg, sizeof(msg), "tap request body did not match APIServer URL: \"%s\" "
			"!= \"%s\"", want, q->path);
		tap_error(rp, "Bad Request", msg);
		goto out;
	}
	if (!r->match || r->match->match_case != L5DTAP__TAP_BY_RESOURCE_REQUEST__MATCH__MATCH_ALL) {
		tap_error(rp, "Internal Server Error", "unexpected match specified");
		goto out;
	}
	if (!obj_find(res_find("apps", "v1", "deployments"), ns, name)) {
		str_fmt(msg, sizeof(msg), "no pods to tap for type=\"deployment\" name=\"%s\"",
			name);
		tap_error(rp, "Internal Server Error", msg);
		goto out;
	}
	rp->code = 200;
	rp->ctype = "application/octet-stream";
	rp->len = tap_len;
	rp->body = malloc(tap_len ? tap_len : 1);
	if (rp->body && tap_len)
		memcpy(rp->body, tap_stream, tap_len);
	if (!tap_len) {
		free(rp->body);
		rp->body = strdup("");
	}
out:
	if (r)
		l5dtap__tap_by_resource_request__free_unpacked(r, NULL);
}

/* 1 when the path was one of Linkerd's (rp filled). mu held. */
static int linkerd_paths(struct req *q, struct reply *rp)
{
	char ns[64], name[254], port_s[16], rest[64];
	int n = 0;

	if (sscanf(q->path, "/apis/tap.linkerd.io/v1alpha1/watch/namespaces/%63[^/]/"
		   "deployments/%253[^/]/%63s%n", ns, name, rest, &n) == 3 &&
	    !strcmp(rest, "tap") && !q->path[n]) {
		/* a watch on deployments/tap of the aggregated API (the note's A4) */
		static const struct res tap_res = { "tap.linkerd.io", "v1alpha1", "deployments",
						    "Deployment", "deployment", NULL, 1, 1 };

		q->r = &tap_res;
		str_copy(q->ns, sizeof(q->ns), ns);
		str_copy(q->name, sizeof(q->name), name);
		str_copy(q->sub, sizeof(q->sub), "tap");
		str_copy(q->verb, sizeof(q->verb), "watch");
		if (!denied(q, rp))
			do_tap(q, rp, ns, name);
		return 1;
	}
	/* GET /api/v1/namespaces/NS/pods/NAME:PORT/proxy/metrics (the pod proxy) */
	if (sscanf(q->path, "/api/v1/namespaces/%63[^/]/pods/%253[^:/]:%15[^/]/proxy/%63s%n",
		   ns, name, port_s, rest, &n) == 4 && !q->path[n]) {
		struct obj *x;

		if (metrics_stall_ms) {
			/* a proxy that accepted the connection and does not answer
			 * (mu let go: the rest of the API server goes on) */
			struct timespec ts = { metrics_stall_ms / 1000,
					       (metrics_stall_ms % 1000) * 1000000L };

			pthread_mutex_unlock(&mu);
			nanosleep(&ts, NULL);
			pthread_mutex_lock(&mu);
		}
		x = obj_find(res_find("", "v1", "pods"), ns, name);

		q->r = res_find("", "v1", "pods");
		str_copy(q->ns, sizeof(q->ns), ns);
		str_copy(q->name, sizeof(q->name), name);
		str_copy(q->sub, sizeof(q->sub), "proxy");
		str_fmt(q->rbac_name, sizeof(q->rbac_name), "%s:%s", name, port_s);
		verb_of(q);
		if (denied(q, rp))
			return 1;
		if (!x) {
			reply_not_found(rp, res_find("", "v1", "pods"), name);
		} else if (strcmp(port_s, "4191") || strcmp(rest, "metrics") || !x->metrics) {
			/* nothing listens there: the API server's proxy error */
			rp->code = 503;
			rp->ctype = "text/plain";
			rp->body = strdup("error trying to reach service: dial tcp: connect: "
				"connection refused\n");
		} else {
			rp->code = 200;
			rp->ctype = "text/plain; version=0.0.4";
			rp->body = strdup(x->metrics);
		}
		return 1;
	}
	return 0;
}

/* ---- the deployment controller (--controllers) ---- */

/*
 * What kube-controller-manager's Deployment and ReplicaSet controllers and
 * the garbage collector do, in small and at once: every Deployment has
 * spec.replicas (default 1) pods made from its template, owned (as a real
 * cluster does, through a ReplicaSet) by "<deployment>-<hash>", named
 * "<deployment>-<hash>-<5 random>", labelled with pod-template-hash; a pod
 * deleted is replaced by a new one (new name, new uid), extra pods are
 * deleted, pods whose Deployment is gone are deleted. New pods are Running
 * and Ready at once, with a pod IP. The template's hash changes with the
 * template, so a changed template replaces the pods (a rollout without
 * surge). Facts: kubernetes pkg/controller/deployment (pod-template-hash,
 * the ReplicaSet name), pkg/controller/replicaset (the pod name's random
 * suffix of 5). mu held.
 */
static int controllers;
static unsigned pod_ip_next = 10;

static void template_hash(const cJSON *tpl, char *out, size_t len)
{
	char *text = cJSON_PrintUnformatted(tpl);
	unsigned long long h = 1469598103934665603ULL;   /* FNV-1a */
	const char *c;
	static const char alnum[] = "bcdfghjklmnpqrstvwxz2456789";  /* rand.SafeEncodeString */
	size_t i;

	for (c = text ? text : ""; *c; c++)
		h = (h ^ (unsigned char)*c) * 1099511628211ULL;
	free(text);
	for (i = 0; i + 1 < len && i < 10; i++, h /= 27)
		out[i] = alnum[h % 27];
	out[i] = '\0';
}

/* the Deployment x's pods are owned by "<name>-<hash>" */
static int owned_by(struct obj *pod, const char *deploy, const char *hash)
{
	cJSON *refs = cJSON_GetObjectItemCaseSensitive(jobj(pod->o, "metadata"), "ownerReferences");
	const char *owner = jstr(cJSON_GetArrayItem(refs, 0), "name");
	size_t n = strlen(deploy);
	const char *h;

	if (!owner || strncmp(owner, deploy, n) || owner[n] != '-')
		return 0;
	h = owner + n + 1;
	if (strchr(h, '-'))
		return 0;      /* a longer Deployment name that starts with this one */
	return hash ? !strcmp(h, hash) : 1;
}

/* a Failed pod (evicted) is not active: the ReplicaSet replaces it and the
 * garbage collector takes it later (kubernetes pkg/controller/controller_utils.go
 * IsPodActive) */
static int pod_failed(struct obj *pod)
{
	const char *phase = jstr(jobj(pod->o, "status"), "phase");

	return phase && !strcmp(phase, "Failed");
}

static void make_pod(struct obj *d, const char *hash)
{
	const struct res *pods = res_find("", "v1", "pods");
	cJSON *tpl = cJSON_GetObjectItemCaseSensitive(jobj(d->o, "spec"), "template");
	cJSON *pod = cJSON_CreateObject(), *md, *tmd, *st, *conds, *c, *css, *cs, *refs, *ref;
	char name[300], suffix[6], owner[300], ip[32], ts[40];
	const char *alnum = "bcdfghjklmnpqrstvwxz2456789";
	struct req fake;
	struct reply rp = { 0, NULL, NULL, 0, NULL, 0, "" };
	size_t i;

	for (i = 0; i < 5; i++)
		suffix[i] = alnum[rand_u64() % 27];
	suffix[5] = '\0';
	str_fmt(owner, sizeof(owner), "%s-%s", d->name, hash);
	str_fmt(name, sizeof(name), "%s-%s", owner, suffix);
	str_fmt(ip, sizeof(ip), "10.244.0.%u", pod_ip_next++ % 250 + 2);
	now_rfc3339(ts, sizeof(ts));
	cJSON_AddStringToObject(pod, "apiVersion", "v1");
	cJSON_AddStringToObject(pod, "kind", "Pod");
	md = cJSON_AddObjectToObject(pod, "metadata");
	cJSON_AddStringToObject(md, "name", name);
	cJSON_AddStringToObject(md, "namespace", d->ns);
	tmd = cJSON_GetObjectItemCaseSensitive(tpl, "metadata");
	if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(tmd, "labels")))
		cJSON_AddItemToObject(md, "labels", cJSON_Duplicate(
			cJSON_GetObjectItemCaseSensitive(tmd, "labels"), 1));
	jset_str(jobj(md, "labels"), "pod-template-hash", hash);
	if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(tmd, "annotations")))
		cJSON_AddItemToObject(md, "annotations", cJSON_Duplicate(
			cJSON_GetObjectItemCaseSensitive(tmd, "annotations"), 1));
	refs = cJSON_AddArrayToObject(md, "ownerReferences");
	ref = cJSON_CreateObject();
	cJSON_AddStringToObject(ref, "apiVersion", "apps/v1");
	cJSON_AddStringToObject(ref, "kind", "ReplicaSet");
	cJSON_AddStringToObject(ref, "name", owner);
	cJSON_AddBoolToObject(ref, "controller", 1);
	cJSON_AddItemToArray(refs, ref);
	cJSON_AddItemToObject(pod, "spec", cJSON_Duplicate(jobj(tpl, "spec"), 1));
	jset_str(jobj(pod, "spec"), "nodeName", "double-node");
	st = cJSON_AddObjectToObject(pod, "status");
	cJSON_AddStringToObject(st, "phase", "Running");
	cJSON_AddStringToObject(st, "podIP", ip);
	cJSON_AddStringToObject(st, "startTime", ts);
	conds = cJSON_AddArrayToObject(st, "conditions");
	c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "type", "Ready");
	cJSON_AddStringToObject(c, "status", "True");
	cJSON_AddItemToArray(conds, c);
	css = cJSON_AddArrayToObject(st, "containerStatuses");
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(jobj(pod, "spec"), "containers")) {
		cs = cJSON_CreateObject();
		cJSON_AddStringToObject(cs, "name", jstr(c, "name") ? jstr(c, "name") : "main");
		cJSON_AddBoolToObject(cs, "ready", 1);
		cJSON_AddNumberToObject(cs, "restartCount", 0);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(cs, "state"),
			"running"), "startedAt", ts);
		cJSON_AddItemToArray(css, cs);
	}
	memset(&fake, 0, sizeof(fake));
	fake.r = pods;
	str_copy(fake.ns, sizeof(fake.ns), d->ns);
	do_insert(&fake, pod, &rp);
	free(rp.body);
	if (pend_deploy[0] && !strcmp(pend_deploy, d->name)) {
		struct obj *x = obj_find(pods, fake.ns, name);

		if (x)
			make_pending(x, pend_reason, pend_msg);
	}
}

static void reconcile(void)
{
	const struct res *deps = res_find("apps", "v1", "deployments");
	const struct res *pods = res_find("", "v1", "pods");
	size_t i, k;

	if (!controllers)
		return;
	/* pods whose Deployment is gone, or of an older template: deleted */
	for (i = 0; i < nobjs;) {
		struct obj *x = &objs[i], *d = NULL;
		cJSON *refs;
		const char *owner, *dash;
		char dname[254], hash[16];

		refs = x->r == pods ? cJSON_GetObjectItemCaseSensitive(jobj(x->o, "metadata"),
			"ownerReferences") : NULL;
		owner = jstr(cJSON_GetArrayItem(refs, 0), "name");
		dash = owner ? strrchr(owner, '-') : NULL;
		if (!dash || (size_t)(dash - owner) >= sizeof(dname)) {
			i++;
			continue;
		}
		memcpy(dname, owner, (size_t)(dash - owner));
		dname[dash - owner] = '\0';
		d = obj_find(deps, x->ns, dname);
		if (d)
			template_hash(cJSON_GetObjectItemCaseSensitive(jobj(d->o, "spec"), "template"),
				      hash, sizeof(hash));
		if (!d || strcmp(dash + 1, hash)) {
			do_delete_obj(x, NULL);   /* moves the last object into slot i */
			continue;
		}
		i++;
	}
	for (i = 0; i < nobjs; i++) {
		struct obj *d = &objs[i];
		const cJSON *rep;
		char hash[16], dname[254];
		long want, have = 0;

		if (d->r != deps)
			continue;
		rep = cJSON_GetObjectItemCaseSensitive(jobj(d->o, "spec"), "replicas");
		want = cJSON_IsNumber(rep) ? (long)rep->valuedouble : 1;
		template_hash(cJSON_GetObjectItemCaseSensitive(jobj(d->o, "spec"), "template"), hash,
			      sizeof(hash));
		for (k = 0; k < nobjs; k++)
			if (objs[k].r == pods && !strcmp(objs[k].ns, d->ns) &&
			    owned_by(&objs[k], d->name, hash) && !pod_failed(&objs[k]))
				have++;
		str_copy(dname, sizeof(dname), d->name);
		for (; have < want; have++) {
			make_pod(d, hash);
			d = obj_find(deps, objs[i].ns, dname);   /* objs may have moved */
			if (!d)
				break;
		}
		for (k = 0; d && have > want && k < nobjs;) {
			if (objs[k].r == pods && !strcmp(objs[k].ns, d->ns) &&
			    owned_by(&objs[k], d->name, hash) && !pod_failed(&objs[k])) {
				do_delete_obj(&objs[k], NULL);
				have--;
				d = obj_find(deps, objs[i].ns, dname);
				continue;
			}
			k++;
		}
	}
}

/* ---- the service proxy ---- */

struct fwd {
	struct dynbuf body;
	char ctype[128];
};

static size_t fwd_body(char *p, size_t size, size_t n, void *ctx)
{
	struct fwd *f = ctx;

	return dynbuf_add(&f->body, p, size * n) ? 0 : size * n;
}

static size_t fwd_header(char *p, size_t size, size_t n, void *ctx)
{
	struct fwd *f = ctx;
	size_t len = size * n;

	if (len > 13 && !strncasecmp(p, "content-type:", 13)) {
		char *v = p + 13;
		size_t k = len - 13;

		while (k && (*v == ' ' || *v == '\t'))
			v++, k--;
		while (k && (v[k - 1] == '\r' || v[k - 1] == '\n'))
			k--;
		if (k < sizeof(f->ctype)) {
			memcpy(f->ctype, v, k);
			f->ctype[k] = '\0';
		}
	}
	return len;
}

/* MHD gives the path without its query: put the arguments back, escaped */
struct query {
	char *buf;
	size_t len, cap;
};

static enum MHD_Result query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				 const char *value)
{
	struct query *qs = cls;
	char *k = curl_easy_escape(NULL, key, 0), *v = value ? curl_easy_escape(NULL, value, 0)
							      : NULL;
	int n;

	(void)kind;
	if (k) {
		n = snprintf(qs->buf + qs->len, qs->cap - qs->len, "%c%s%s%s",
			     qs->len ? '&' : '?', k, v ? "=" : "", v ? v : "");
		if (n > 0 && (size_t)n < qs->cap - qs->len)
			qs->len += (size_t)n;
	}
	curl_free(k);
	curl_free(v);
	return MHD_YES;
}

/*
 * /api/v1/namespaces/NS/services/NAME[:PORT]/proxy[/REST]: the API server
 * forwards to the Service's endpoints (here: the backend the test set),
 * without the Authorization header it authenticated the caller with
 * (apiserver pkg/endpoints/filters/authentication.go deletes it), and
 * answers 503 "no endpoints available for service" when there is none
 * (kubernetes pkg/registry/core/service/storage ResourceLocation). RBAC:
 * the subresource services/proxy, verb from the method (get, create...).
 * Returns 0 when the path is not one; 1 when rp is filled. Called with mu
 * held; releases it while forwarding.
 */
static int service_proxy(struct req *q, struct reply *rp)
{
	char ns[64], svc[300], name[254], sport[64] = "", url[2400], hdr[300];
	const char *rest, *tok, *ctype, *colon;
	struct curl_slist *hs = NULL;
	struct fwd f = { DYNBUF_INIT(BODY_MAX), "" };
	struct backend be;
	CURL *c;
	CURLcode cc;
	long code = 0;
	int n = 0;
	size_t i;

	if (sscanf(q->path, "/api/v1/namespaces/%63[^/]/services/%299[^/]/proxy%n", ns, svc,
		   &n) != 2 || !n || (q->path[n] && q->path[n] != '/'))
		return 0;
	rest = q->path[n] ? q->path + n : "/";
	colon = strchr(svc, ':');
	str_copy(name, sizeof(name), svc);
	if (colon) {
		name[colon - svc] = '\0';
		str_copy(sport, sizeof(sport), colon + 1);
	}
	q->r = res_find("", "v1", "services");
	str_copy(q->ns, sizeof(q->ns), ns);
	str_copy(q->name, sizeof(q->name), name);
	str_copy(q->sub, sizeof(q->sub), "proxy");
	/* RBAC sees the path segment, port included (apiserver
	 * endpoints/request/requestinfo.go: the name is the segment after the
	 * resource), so a resourceNames rule names "conformd:api" */
	str_copy(q->rbac_name, sizeof(q->rbac_name), svc);
	verb_of(q);
	if (denied(q, rp))
		return 1;
	if (!obj_find(q->r, ns, name)) {
		reply_not_found(rp, q->r, name);
		return 1;
	}
	for (i = 0; i < nbackends; i++)
		if (!strcmp(backends[i].ns, ns) && !strcmp(backends[i].name, name) &&
		    !strcmp(backends[i].port, sport) && backends[i].addr[0])
			break;
	if (i == nbackends) {
		char msg[400];

		str_fmt(msg, sizeof(msg), "no endpoints available for service \"%s\"", name);
		reply_status(rp, 503, "ServiceUnavailable", msg, NULL, NULL, NULL);
		return 1;
	}
	be = backends[i];
	tok = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, "x-conform-token");
	ctype = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, "Content-Type");
	{
		char qbuf[1024] = "";
		struct query qs = { qbuf, 0, sizeof(qbuf) };

		MHD_get_connection_values(q->conn, MHD_GET_ARGUMENT_KIND, query_arg, &qs);
		str_fmt(url, sizeof(url), "http://%s%s%s", be.addr, rest, qbuf);
	}
	pthread_mutex_unlock(&mu);
	c = curl_easy_init();
	if (tok && !str_fmt(hdr, sizeof(hdr), "x-conform-token: %s", tok))
		hs = curl_slist_append(hs, hdr);
	if (ctype && !str_fmt(hdr, sizeof(hdr), "Content-Type: %s", ctype))
		hs = curl_slist_append(hs, hdr);
	hs = curl_slist_append(hs, "Expect:");
	cc = CURLE_FAILED_INIT;
	if (c) {
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
		if (!strcmp(q->method, "POST") || !strcmp(q->method, "PUT")) {
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body.buf ? q->body.buf : "");
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)q->body.len);
		}
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fwd_body);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &f);
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, fwd_header);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, &f);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		cc = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		curl_easy_cleanup(c);
	}
	curl_slist_free_all(hs);
	pthread_mutex_lock(&mu);
	if (cc != CURLE_OK) {
		/* the API server's words when the endpoint does not answer */
		rp->code = 503;
		rp->ctype = "text/plain";
		rp->body = strdup("error trying to reach service: dial tcp: connect: connection "
				  "refused\n");
	} else {
		rp->code = (unsigned)code;
		rp->ctype = f.ctype[0] ? strdup(f.ctype) : "application/octet-stream";
		rp->ctype_owned = f.ctype[0] ? 1 : 0;
		size_t len = 0;

		rp->body = f.body.len ? dynbuf_detach(&f.body, &len) : strdup("");
		rp->len = len;
	}
	dynbuf_release(&f.body);
	return 1;
}

/* ---- dispatch ---- */

static struct MHD_Response *handle(struct req *q, struct reply *rp)
{
	const char *auth = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, "Authorization");
	char want[4200];
	struct MHD_Response *resp = NULL;
	char gr[160], msg[512];

	pthread_mutex_lock(&mu);
	n_requests++;
	if (!strncmp(q->path, "/_double/", 9)) {
		control(q, rp);
		goto out;
	}
	if (stall_ms) {
		/* an API server that accepted the connection and does not answer */
		struct timespec ts = { stall_ms / 1000, (stall_ms % 1000) * 1000000L };

		pthread_mutex_unlock(&mu);
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&mu);
	}
	/* authentication first: 401 with the plain "Unauthorized" Status */
	str_fmt(want, sizeof(want), "Bearer %s", token);
	str_copy(q->user, sizeof(q->user), user);
	if (!auth || strcmp(auth, want)) {
		size_t i;

		for (i = 0; auth && i < nsa_tokens; i++) {
			str_fmt(want, sizeof(want), "Bearer %s", sa_tokens[i].token);
			if (!strcmp(auth, want))
				break;
		}
		if (!auth || i == nsa_tokens) {
			reply_status(rp, 401, "Unauthorized", "Unauthorized", NULL, NULL, NULL);
			goto out;
		}
		/* a service account: its username, and RBAC from what is stored */
		q->rbac = 1;
		str_copy(q->sa_ns, sizeof(q->sa_ns), sa_tokens[i].ns);
		str_fmt(q->user, sizeof(q->user), "system:serviceaccount:%s:%s", sa_tokens[i].ns,
			sa_tokens[i].name);
	}
	if (discovery(q->path, rp))
		goto out;
	if (service_proxy(q, rp))
		goto out;
	if (!strncmp(q->path, "/openapi/", 9)) {
		rp->code = 404;
		rp->ctype = "text/plain";
		rp->body = strdup("404 page not found\n");
		goto out;
	}
	if (linkerd_paths(q, rp))
		goto out;
	if (parse_path(q)) {
		rp->code = 404;
		rp->ctype = "text/plain";
		rp->body = strdup("404 page not found\n");
		goto out;
	}
	if (!q->r) {
		str_fmt(msg, sizeof(msg), "the server could not find the requested resource");
		reply_status(rp, 404, "NotFound", msg, NULL, NULL, NULL);
		goto out;
	}
	verb_of(q);
	if (denied(q, rp))
		goto out;
	if (q->r->namespaced != (q->ns[0] != 0) && q->name[0]) {
		reply_status(rp, 404, "NotFound", "the server could not find the requested resource",
			NULL, NULL, NULL);
		goto out;
	}
	if (q->sub[0]) {
		if (!strcmp(q->sub, "log") && !strcmp(q->r->resource, "pods") &&
		    !strcmp(q->method, "GET"))
			do_logs(q, rp);
		else
			reply_status(rp, 404, "NotFound", "the server could not find the requested "
				"resource", NULL, NULL, NULL);
		goto out;
	}
	if (!strcmp(q->verb, "get")) {
		struct obj *x = obj_find(q->r, q->r->namespaced ? q->ns : "", q->name);

		if (x)
			reply_json(rp, 200, x->o);
		else
			reply_not_found(rp, q->r, q->name);
	} else if (!strcmp(q->verb, "list")) {
		cJSON *l = list_of(q);

		n_lists++;
		reply_json(rp, 200, l);
		cJSON_Delete(l);
	} else if (!strcmp(q->verb, "watch")) {
		resp = do_watch(q, rp);
	} else if (!strcmp(q->verb, "create") && !q->name[0]) {
		do_create(q, rp);
	} else if (!strcmp(q->verb, "update") && q->name[0]) {
		do_update(q, rp);
	} else if (!strcmp(q->verb, "patch") && q->name[0]) {
		do_patch(q, rp);
	} else if (!strcmp(q->verb, "delete")) {
		do_delete(q, rp);
	} else {
		str_fmt(msg, sizeof(msg), "the server does not allow this method on the requested "
			"resource (%s %s)", q->method, gr_of(q->r, gr, sizeof(gr)));
		reply_status(rp, 405, "MethodNotAllowed", msg, q->r, q->name, NULL);
	}
out:
	reconcile();
	pthread_mutex_unlock(&mu);
	return resp;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url,
		const char *method, const char *version, const char *upload, size_t *upload_size,
		void **con_cls)
{
	struct req *q = *con_cls;
	struct reply rp = { 0, NULL, NULL, 0, NULL, 0, "" };
	struct MHD_Response *resp;
	enum MHD_Result ret;

	(void)cls;
	(void)version;
	if (!q) {
		q = calloc(1, sizeof(*q));
		if (!q)
			return MHD_NO;
		q->conn = conn;
		q->method = method;
		str_copy(q->path, sizeof(q->path), url);
		dynbuf_init(&q->body, BODY_MAX);
		*con_cls = q;
		return MHD_YES;
	}
	if (*upload_size) {
		if (dynbuf_add(&q->body, upload, *upload_size))
			q->toobig = 1;
		*upload_size = 0;
		return MHD_YES;
	}
	resp = NULL;
	if (q->toobig)
		reply_status(&rp, 413, "RequestEntityTooLarge", "request entity too large",
			NULL, NULL, NULL);
	else
		resp = handle(q, &rp);
	fprintf(stderr, "kubedouble: %s %s%s -> %u\n", method, url,
		resp ? " (watch stream)" : "", resp ? 200 : rp.code);
	if (resp) {
		ret = MHD_queue_response(conn, 200, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	if (!rp.body)
		rp.body = strdup("");
	resp = MHD_create_response_from_buffer(rp.len ? rp.len : strlen(rp.body), rp.body,
		MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(rp.body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", rp.ctype ? rp.ctype : "application/json");
	if (rp.ctype_owned)
		free((char *)rp.ctype);
	if (rp.l5d_error)
		MHD_add_response_header(resp, "linkerd-error", rp.l5d_error);
	if (rp.warning[0])
		MHD_add_response_header(resp, "Warning", rp.warning);
	ret = MHD_queue_response(conn, rp.code ? rp.code : 500, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
		enum MHD_RequestTerminationCode toe)
{
	struct req *q = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (q) {
		dynbuf_release(&q->body);
		free(q);
		*con_cls = NULL;
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: kubedouble --port-file F [--token T] [--user U] "
		"[--sa-token NS:NAME=TOKEN]... [--tls-cert F --tls-key F] [--controllers on]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *port_file = NULL, *cert_file = NULL, *key_file = NULL;
	char *cert = NULL, *key = NULL, pbuf[16];
	struct sockaddr_in sa;
	socklen_t slen = sizeof(sa);
	struct MHD_Daemon *d;
	sigset_t sigs;
	int sig;
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
		MHD_USE_ERROR_LOG;
	int i, fd, one = 1;

	curl_global_init(CURL_GLOBAL_DEFAULT);   /* the service proxy's client */
	for (i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "--port-file"))
			port_file = argv[++i];
		else if (!strcmp(argv[i], "--token"))
			str_copy(token, sizeof(token), argv[++i]);
		else if (!strcmp(argv[i], "--controllers"))
			controllers = !strcmp(argv[++i], "on");
		else if (!strcmp(argv[i], "--user"))
			str_copy(user, sizeof(user), argv[++i]);
		else if (!strcmp(argv[i], "--sa-token")) {
			/* NS:NAME=TOKEN */
			struct sa_token *t = &sa_tokens[nsa_tokens];
			const char *a = argv[++i], *c = strchr(a, ':'), *e = strchr(a, '=');

			if (nsa_tokens == SA_TOKENS_MAX || !c || !e || e < c || c == a ||
			    e == c + 1 || !e[1] || (size_t)(c - a) >= sizeof(t->ns) ||
			    (size_t)(e - c - 1) >= sizeof(t->name) || str_copy(t->token,
									sizeof(t->token), e + 1))
				usage();
			memcpy(t->ns, a, (size_t)(c - a));
			t->ns[c - a] = '\0';
			memcpy(t->name, c + 1, (size_t)(e - c - 1));
			t->name[e - c - 1] = '\0';
			nsa_tokens++;
		}
		else if (!strcmp(argv[i], "--tls-cert"))
			cert_file = argv[++i];
		else if (!strcmp(argv[i], "--tls-key"))
			key_file = argv[++i];
		else
			usage();
	}
	if (!port_file || (!cert_file != !key_file))
		usage();
	if (cert_file) {
		cert = file_read(cert_file, 1 << 20, NULL);
		key = file_read(key_file, 1 << 20, NULL);
		if (!cert || !key) {
			fprintf(stderr, "kubedouble: cannot read %s or %s\n", cert_file, key_file);
			return 1;
		}
		flags |= MHD_USE_TLS;
	}
	/* loopback only, port 0: the kernel picks, we report it */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 64) ||
	    getsockname(fd, (struct sockaddr *)&sa, &slen)) {
		fprintf(stderr, "kubedouble: cannot listen on 127.0.0.1: %s\n", strerror(errno));
		return 1;
	}
	port = ntohs(sa.sin_port);
	/* the namespaces every cluster has */
	{
		static const char *const base[] = { "default", "kube-system" };
		size_t j;

		for (j = 0; j < 2; j++) {
			cJSON *o = cJSON_CreateObject();
			struct req fake;
			struct reply rp = { 0, NULL, NULL, 0, NULL, 0, "" };

			cJSON_AddStringToObject(o, "kind", "Namespace");
			cJSON_AddStringToObject(o, "apiVersion", "v1");
			cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "metadata"), "name",
				base[j]);
			memset(&fake, 0, sizeof(fake));
			fake.r = &resources[0];
			do_insert(&fake, o, &rp);
			free(rp.body);
		}
	}
	/* TERM/INT blocked in every thread (MHD's inherit the mask); main waits for them */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (cert)
		d = MHD_start_daemon(flags, 0, NULL, NULL, access_cb, NULL,
			MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
			MHD_OPTION_NOTIFY_COMPLETED, completed_cb, NULL,
			MHD_OPTION_CONNECTION_LIMIT, (unsigned)128,
			MHD_OPTION_HTTPS_MEM_CERT, cert,
			MHD_OPTION_HTTPS_MEM_KEY, key,
			MHD_OPTION_END);
	else
		d = MHD_start_daemon(flags, 0, NULL, NULL, access_cb, NULL,
			MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
			MHD_OPTION_NOTIFY_COMPLETED, completed_cb, NULL,
			MHD_OPTION_CONNECTION_LIMIT, (unsigned)128,
			MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "kubedouble: cannot start the HTTP server\n");
		return 1;
	}
	str_fmt(pbuf, sizeof(pbuf), "%d\n", port);
	if (file_write_atomic(port_file, pbuf, strlen(pbuf), 0644)) {
		fprintf(stderr, "kubedouble: cannot write %s: %s\n", port_file, strerror(errno));
		MHD_stop_daemon(d);
		return 1;
	}
	fprintf(stderr, "kubedouble: listening on 127.0.0.1:%d%s\n", port, cert ? " (TLS)" : "");
	while (sigwait(&sigs, &sig) != 0)
		;
	pthread_mutex_lock(&mu);
	quit = 1;
	pthread_cond_broadcast(&changed);
	pthread_mutex_unlock(&mu);
	MHD_stop_daemon(d);
	free(cert);
	free(key);
	return 0;
}
