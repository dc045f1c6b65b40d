/*
 * l5dobj.c - the Linkerd objects the adapter applies, shaped as a Linkerd
 * user writes them (manifests/kubernetes/linkerd/): Gateway API HTTPRoutes
 * with a Service parent, Server, MeshTLSAuthentication, AuthorizationPolicy.
 * Kinds and versions: L2 charts/linkerd-crds/templates/policy/ (one file per kind)
 * (Server v1beta3 storage; AuthorizationPolicy and MeshTLSAuthentication
 * v1alpha1). L2 = linkerd/linkerd2.
 */
#include <errno.h>
#include <stdio.h>

#include "mesh/linkerd/linkerd.h"

#define ROUTE_PORT 8080   /* every server Service's http port (manifests/kubernetes/base) */

static cJSON *obj_new(const char *api_version, const char *kind, const char *ns,
		      const char *name, cJSON **meta)
{
	cJSON *o = cJSON_CreateObject(), *m;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "apiVersion", api_version);
	cJSON_AddStringToObject(o, "kind", kind);
	m = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(m, "name", name);
	cJSON_AddStringToObject(m, "namespace", ns);
	if (meta)
		*meta = m;
	return o;
}

cJSON *l5d_obj_route(const struct l5d_objcfg *c, const char *name, const char *parent,
		     const char *const *backends, const unsigned *weights, size_t nb,
		     const char *const *annotations, size_t nann)
{
	cJSON *meta, *o = obj_new(c->route_gv, "HTTPRoute", c->ns, name, &meta);
	cJSON *spec, *refs, *p, *rules, *rule, *brefs, *b, *ann;
	size_t i;

	if (!o)
		return NULL;
	if (nann) {
		ann = cJSON_AddObjectToObject(meta, "annotations");
		for (i = 0; i < nann; i++)
			cJSON_AddStringToObject(ann, annotations[2 * i], annotations[2 * i + 1]);
	}
	spec = cJSON_AddObjectToObject(o, "spec");
	refs = cJSON_AddArrayToObject(spec, "parentRefs");
	p = cJSON_CreateObject();
	/* kind Service must be explicit; group "" and "core" both work (L2
	 * policy-controller/k8s/index/src/outbound/index.rs is_parent_service) */
	cJSON_AddStringToObject(p, "group", "core");
	cJSON_AddStringToObject(p, "kind", "Service");
	cJSON_AddStringToObject(p, "name", parent);
	cJSON_AddNumberToObject(p, "port", ROUTE_PORT);
	cJSON_AddItemToArray(refs, p);
	rules = cJSON_AddArrayToObject(spec, "rules");
	rule = cJSON_CreateObject();
	cJSON_AddItemToArray(rules, rule);
	brefs = cJSON_AddArrayToObject(rule, "backendRefs");
	for (i = 0; i < nb; i++) {
		b = cJSON_CreateObject();
		cJSON_AddStringToObject(b, "name", backends[i]);
		cJSON_AddNumberToObject(b, "port", ROUTE_PORT);
		if (weights)
			cJSON_AddNumberToObject(b, "weight", weights[i]);
		cJSON_AddItemToArray(brefs, b);
	}
	return o;
}

int l5d_obj_route_timeout(cJSON *route, const char *request)
{
	cJSON *rule = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(route, "spec"), "rules"), 0);
	cJSON *t;

	if (!cJSON_IsObject(rule) || !request)
		return -EINVAL;
	cJSON_DeleteItemFromObjectCaseSensitive(rule, "timeouts");
	t = cJSON_AddObjectToObject(rule, "timeouts");
	if (!t || !cJSON_AddStringToObject(t, "request", request))
		return -ENOMEM;
	return 0;
}

cJSON *l5d_obj_server(const struct l5d_objcfg *c, const char *name, const char *app,
		      const char *port, const char *proto, const char *access)
{
	cJSON *o = obj_new("policy.linkerd.io/v1beta3", "Server", c->ns, name, NULL);
	cJSON *spec, *sel;

	if (!o)
		return NULL;
	spec = cJSON_AddObjectToObject(o, "spec");
	sel = cJSON_AddObjectToObject(cJSON_AddObjectToObject(spec, "podSelector"), "matchLabels");
	cJSON_AddStringToObject(sel, "app", app);
	cJSON_AddStringToObject(spec, "port", port);
	cJSON_AddStringToObject(spec, "proxyProtocol", proto);
	/* accessPolicy: what traffic no AuthorizationPolicy names gets (since
	 * edge-24.7.4; L2 charts/linkerd-crds/templates/policy/server.yaml) */
	cJSON_AddStringToObject(spec, "accessPolicy", access);
	return o;
}

cJSON *l5d_obj_meshtls(const struct l5d_objcfg *c, const char *name, const char *const *sas,
		       size_t n)
{
	cJSON *o = obj_new("policy.linkerd.io/v1alpha1", "MeshTLSAuthentication", c->ns, name,
			   NULL);
	cJSON *refs, *r;
	size_t i;

	if (!o)
		return NULL;
	refs = cJSON_AddArrayToObject(cJSON_AddObjectToObject(o, "spec"), "identityRefs");
	for (i = 0; i < n; i++) {
		r = cJSON_CreateObject();
		cJSON_AddStringToObject(r, "kind", "ServiceAccount");
		cJSON_AddStringToObject(r, "name", sas[i]);
		cJSON_AddItemToArray(refs, r);
	}
	return o;
}

cJSON *l5d_obj_authz(const struct l5d_objcfg *c, const char *name, const char *server,
		     const char *authn)
{
	cJSON *o = obj_new("policy.linkerd.io/v1alpha1", "AuthorizationPolicy", c->ns, name, NULL);
	cJSON *spec, *t, *refs, *r;

	if (!o)
		return NULL;
	spec = cJSON_AddObjectToObject(o, "spec");
	t = cJSON_AddObjectToObject(spec, "targetRef");
	cJSON_AddStringToObject(t, "group", "policy.linkerd.io");
	cJSON_AddStringToObject(t, "kind", "Server");
	cJSON_AddStringToObject(t, "name", server);
	refs = cJSON_AddArrayToObject(spec, "requiredAuthenticationRefs");
	r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "group", "policy.linkerd.io");
	cJSON_AddStringToObject(r, "kind", "MeshTLSAuthentication");
	cJSON_AddStringToObject(r, "name", authn);
	cJSON_AddItemToArray(refs, r);
	return o;
}
