/*
 * objects.h - the Kubernetes objects of a run, built as cJSON from the
 * same workload specs the local platform runs: the namespace, one
 * ServiceAccount per workload (its identity on a mesh), a Deployment per
 * workload and the Services in front of the servers. They are the objects
 * of manifests/kubernetes/base with the overlay of the run's mesh applied
 * (test_kube_objects compares them with `kubectl kustomize`), so that what
 * conformd applies and what a user reviews are one thing.
 */
#ifndef CONFORM_KUBE_OBJECTS_H
#define CONFORM_KUBE_OBJECTS_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "config/run.h"
#include "config/state.h"
#include "platform/platform.h"

#define KUBE_DEFAULT_NAMESPACE "conform"
#define KUBE_DEFAULT_IMAGE "conform:" CONFORM_VERSION
/* every object carries it (the base's commonLabels, selectors included) */
#define KUBE_LABEL_PART_OF "app.kubernetes.io/part-of"
/* the run an object belongs to (metadata and pod template, never selectors:
 * a Deployment's selector cannot change) */
#define KUBE_LABEL_RUN "conform.dev/run"
#define KUBE_LABEL_MESH "conform.dev/mesh"
#define KUBE_WORKLOAD_BIN "/usr/local/bin/conform-workload"
#define KUBE_HTTP_PORT 8080
#define KUBE_GRPC_PORT 9090
#define KUBE_ADMIN_PORT 9901
#define KUBE_ADMIN_PORT_S "9901"
#define KUBE_COLLECTOR_PORT 9090
#define KUBE_API_PORT 8080
/* the Secret `conform start` creates (keys token and run.json) and where
 * conformd's pod mounts it (conformd --seed) */
#define KUBE_RUN_SECRET "conform-run"
#define KUBE_SEED_DIR "/etc/conform/run"

/* The settings of a run the objects depend on. */
struct kube_run {
	char namespace[64];  /* "conform" */
	char image[256];     /* "conform:0.1.0" */
	char mesh[16];       /* "none" or "linkerd" (pod injection annotations) */
	char run_id[64];     /* KUBE_LABEL_RUN value; "" = no run label (manifests) */
	/* linkerd: config.linkerd.io/default-inbound-policy on the workloads'
	 * pods (run_config_inbound_policy); "" = none, the cluster's default */
	char inbound_policy[32];
};

/* Defaults: namespace conform, image conform:<version>, mesh none, no run id. */
void kube_run_defaults(struct kube_run *r);

/*
 * Check r: namespace a DNS label (RFC 1123, <= 63), mesh none or linkerd,
 * image non-empty without spaces, run_id a label value. 0, or -1 with err.
 */
int kube_run_check(const struct kube_run *r, char *err, size_t errlen);

/* The namespace object (labels and annotations of the run's mesh). New tree. */
cJSON *kube_obj_namespace(const struct kube_run *r);

/*
 * Append to arr (a cJSON array) the objects of workload s, in apply order:
 * its ServiceAccount, its Deployment, then the Services it owns (servers
 * only; see kube_workload_services). s->role must be one of http-server,
 * grpc-server, http-client, grpc-client. 0, or -1 with err (unknown role,
 * out of memory).
 */
int kube_obj_workload(const struct kube_run *r, const struct workload_spec *s, cJSON *arr,
		char *err, size_t errlen);

/*
 * The names of the Services workload name owns (NULL-terminated, static),
 * e.g. http-server: http-server, http-server-v1, http-retry, http-timeout.
 * Never NULL (clients own none).
 */
const char *const *kube_workload_services(const char *name);

/*
 * Where a client reaches a flow's route, as "SERVICE.NS.svc.cluster.local:PORT"
 * (route "http" -> http-server-v1, "split" -> http-server, "retry" ->
 * http-retry, "timeout" -> http-timeout, "grpc" -> grpc-server). 0, or -1
 * for an unknown route or when it does not fit.
 */
int kube_route_address(const struct kube_run *r, const char *route, char *out, size_t len);

/*
 * The workload specs of run c on Kubernetes, in start order (servers, then
 * clients), from the traffic plan (lib/checks/traffic.c): names, roles,
 * versions, and the clients' flows addressed to the Services. meshed as
 * traffic_plan_make takes it. Returns how many (<= max), or -1 with err.
 */
int kube_run_specs(const struct kube_run *r, const struct run_config *c,
		struct workload_spec *out, size_t max, char *err, size_t errlen);

/*
 * Every object of run c that the platform applies, in apply order: the
 * namespace, then each workload's objects. A new array the caller frees
 * (cJSON_Delete), or NULL with err.
 */
cJSON *kube_obj_run(const struct kube_run *r, const struct run_config *c, char *err,
		size_t errlen);

/*
 * Append to arr conformd's own objects, in apply order: its ServiceAccount
 * (with a token: it calls the API), Role and RoleBinding (and on linkerd
 * the Role conformd-linkerd and its binding), the PersistentVolumeClaim of
 * its store, its Deployment and Service. The CLI applies these; conformd
 * applies the workloads. 0, or -1 with err.
 */
int kube_obj_monitor(const struct kube_run *r, cJSON *arr, char *err, size_t errlen);

/*
 * Every object of a run as `conform manifests` prints it: the namespace,
 * conformd's objects, then kube_obj_run's workloads. The mesh's routes and
 * policy are the mesh adapter's, not in here. New array, or NULL with err.
 */
cJSON *kube_obj_all(const struct kube_run *r, const struct run_config *c, char *err,
		size_t errlen);

#endif
