/*
 * linkerd.h - the Linkerd mesh adapter (linkerd.c) and the pieces it is
 * built from: the Linkerd objects a user would write (l5dobj.c) and the two
 * API server paths that are not JSON (l5dwire.c: the viz tap stream and a
 * proxy's metrics through the pod proxy). docs/linkerd.md lists every call
 * and metric with its source.
 */
#ifndef CONFORM_LINKERD_H
#define CONFORM_LINKERD_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "mesh/linkerd/l5dmetrics.h"
#include "mesh/linkerd/l5dtap.h"
#include "mesh/mesh.h"
#include "platform/kubernetes/kubeapi.h"

extern const struct mesh_ops mesh_linkerd;

/*
 * Where the adapter finds the API server. Until the kubernetes platform
 * hands its client over, prepare uses this configuration when one was set,
 * else the in-cluster one (conformd in its pod). c NULL restores the
 * default. The control plane and viz namespaces default to "linkerd" and
 * "linkerd-viz". Call before prepare, from one thread.
 */
void mesh_linkerd_use_cluster(const struct kube_config *c, const char *control_ns,
			      const char *viz_ns);

/* Why the tap feed last broke ("" when it never did), for the run's events:
 * tap_read has no room for a message. The string lives as long as m. */
const char *mesh_linkerd_tap_error(struct mesh *m);

/* Why Linkerd cannot be made to do fault kind k ("" when it can). */
const char *mesh_linkerd_fault_refusal(enum fault_kind k);

/*
 * What prepare needs of the cluster, judged from the API documents alone,
 * so that the CLI can ask the same through kubectl before it applies
 * anything (as `linkerd check --pre` does): config = the linkerd-config
 * ConfigMap of the control plane, gateway = GET /apis/gateway.networking.
 * k8s.io, tap = GET /apis/tap.linkerd.io (each NULL when not found);
 * need_tap = the run judges tap.live. 0 with a one-line summary in found;
 * -ENOENT, -EINVAL or -ENOTSUP with err saying what is wrong and what to do
 * (the same words as prepare's).
 */
int mesh_linkerd_preflight(const cJSON *config, const cJSON *gateway, const cJSON *tap,
			   int need_tap, char *found, size_t flen, char *err, size_t errlen);

/* ---- the objects (l5dobj.c): new cJSON trees the caller frees ---- */

/* What detection found (prepare): the apiVersion of Gateway API routes
 * ("gateway.networking.k8s.io/v1" on 2.18+, ".../v1beta1" on 2.16/2.17). */
struct l5d_objcfg {
	const char *ns;              /* the run's namespace */
	const char *route_gv;
};

/*
 * An HTTPRoute with a Service parent (kind Service explicit, group core;
 * L2 policy-controller/k8s/index/src/outbound/index.rs is_parent_service)
 * named name, parent Service parent port 8080, one rule whose backendRefs
 * are backends[i] with weights[i] (weights NULL: no weight field), and the
 * annotations given as n key/value pairs (may be 0).
 */
cJSON *l5d_obj_route(const struct l5d_objcfg *c, const char *name, const char *parent,
		     const char *const *backends, const unsigned *weights, size_t nb,
		     const char *const *annotations, size_t nann);

/*
 * Sets the request timeout of route's first rule: spec.rules[0].timeouts.
 * request (GEP-1742; a GEP-2257 duration such as "500ms"), the Gateway API
 * field a user writes where the installed Gateway API has it (standard
 * channel from v1.2.0). 0, or -EINVAL when route has no rule.
 */
int l5d_obj_route_timeout(cJSON *route, const char *request);

/* Server (policy.linkerd.io/v1beta3) name for the pods app=app, port
 * (name), proxyProtocol proto ("HTTP/1", "gRPC"), accessPolicy access. */
cJSON *l5d_obj_server(const struct l5d_objcfg *c, const char *name, const char *app,
		      const char *port, const char *proto, const char *access);

/* MeshTLSAuthentication (v1alpha1) naming n client ServiceAccounts. */
cJSON *l5d_obj_meshtls(const struct l5d_objcfg *c, const char *name, const char *const *sas,
		       size_t n);

/* AuthorizationPolicy (v1alpha1): Server server may be reached by the
 * clients of MeshTLSAuthentication authn. */
cJSON *l5d_obj_authz(const struct l5d_objcfg *c, const char *name, const char *server,
		     const char *authn);

/* ---- the raw paths (l5dwire.c) ---- */

/*
 * The TapByResourceRequest for every request of deployment name in ns
 * (match all{} with no filters, maxRps, headers extracted: what `linkerd viz
 * tap deploy/NAME -o json` sends; L2 viz/tap/pkg/requests.go) into a new
 * buffer (*out, caller frees) and the path that must carry it
 * (/apis/tap.linkerd.io/v1alpha1/watch/namespaces/NS/deployments/NAME/tap).
 * 0, -EINVAL (a name that is not a DNS label), -ENOMEM.
 */
int l5d_tap_request(const char *ns, const char *name, float max_rps, unsigned char **out,
		    size_t *len, char *path, size_t pathlen);

/* One tap stream: a POST whose answer is read as it arrives. */
struct l5d_tapstream;

/*
 * Starts the POST of body to path (non-blocking). on_bytes gets the answer
 * body as it arrives (only when the status is 200 and no linkerd-error
 * header came); a non-zero return stops the stream. NULL on OOM.
 */
struct l5d_tapstream *l5d_tapstream_new(const struct kube_config *kc, const char *path,
					const unsigned char *body, size_t len,
					int (*on_bytes)(const void *p, size_t n, void *arg),
					void *arg);
/*
 * Runs the stream up to timeout_ms. 1 while it goes on; 0 when it ended
 * (the server closed it); -EIO when it failed, with err saying why: no
 * answer, an HTTP error (403 RBAC, 503 viz not available: the status and
 * its body), or the tap server's own error (linkerd-error header and the
 * framed viz.ApiError message).
 */
int l5d_tapstream_run(struct l5d_tapstream *t, int timeout_ms, char *err, size_t errlen);
void l5d_tapstream_free(struct l5d_tapstream *t);

#endif
