/*
 * kubeapi.h - a small Kubernetes API client: the calls the kubernetes
 * platform makes (get, list, create, update, server-side apply, patch,
 * delete, list-then-watch, pod logs), every failure turned into one error a
 * user can act on, and helpers that read a pod's status. Blocking, one
 * request at a time per client (a thread that watches needs its own client);
 * every call has a timeout and a response cap. The program calls
 * curl_global_init once before it starts threads (libcurl's rule).
 * docs/kubernetes.md lists every call with its verb, path and RBAC rule.
 */
#ifndef CONFORM_KUBEAPI_H
#define CONFORM_KUBEAPI_H

#include <limits.h>
#include <stdatomic.h>
#include <stddef.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

/* the service account volume every pod gets (client-go rest.InClusterConfig) */
#define KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"
#define KUBE_FIELD_MANAGER "conform"
#define KUBE_BODY_MAX (8u << 20)        /* any one answer, and one watch event line */
#define KUBE_TIMEOUT_MS 15000           /* any one non-watch call */
#define KUBE_CONNECT_TIMEOUT_MS 5000
#define KUBE_TOKEN_MAX 16384

struct kube_config {
	char server[512];          /* base URL, e.g. "https://10.96.0.1:443" (no trailing /) */
	char ca_file[PATH_MAX];    /* PEM bundle that signs the server; "" = system store */
	int insecure;              /* 1: do not verify the server (tests only) */
	char token_file[PATH_MAX]; /* re-read whenever it changes (bound tokens rotate); "" = none */
	char token[KUBE_TOKEN_MAX];/* the bearer token when token_file is "" */
	char namespace[254];       /* the pod's own namespace (in-cluster), else "" */
	long timeout_ms;           /* per call; <= 0: KUBE_TIMEOUT_MS */
};

/*
 * In-cluster configuration: the server from KUBERNETES_SERVICE_HOST and
 * KUBERNETES_SERVICE_PORT (an IPv6 host is bracketed), token, ca.crt and
 * namespace from the directory root (NULL: KUBE_SA_DIR; tests pass their
 * own). Returns 0, or -1 with a reason in err (not in a cluster, a file
 * missing).
 */
int kube_config_in_cluster(struct kube_config *c, const char *root, char *err, size_t errlen);

/*
 * Explicit configuration (tests, or a server given on the command line):
 * server URL, CA file (NULL/"": system store), insecure, bearer token (NULL:
 * none). Returns 0, or -1 when a value does not fit.
 */
int kube_config_explicit(struct kube_config *c, const char *server, const char *ca_file,
		int insecure, const char *token);

/*
 * An error answer of the API. code is the HTTP status (0: no answer: the
 * cluster was unreachable, or the answer was cut); reason/message/details
 * come from the Status object (apimachinery metav1.Status), or are empty
 * when the body was not one. text is the one line to show a user: what
 * failed, where, and what to do about it.
 */
struct kube_error {
	long code;
	char reason[64];
	char message[1024];
	char name[254];
	char group[254];
	char kind[128];
	char causes[1024];         /* "field: message; ..." of details.causes */
	char text[2048];
};

struct kube_client;

/* A client for config c (copied). Returns NULL when out of memory. */
struct kube_client *kube_client_new(const struct kube_config *c);
void kube_client_free(struct kube_client *k);
/* Requests sent so far (each retry counts): tests use it to see re-lists. */
unsigned long kube_client_requests(const struct kube_client *k);

/*
 * The API path of a resource: group_version "v1" gives /api/v1, anything
 * else /apis/<gv>; ns NULL/"" means cluster-scoped or all namespaces; name
 * NULL/"" means the collection. e.g. ("apps/v1", "conform", "deployments",
 * "web") -> /apis/apps/v1/namespaces/conform/deployments/web. Segments are
 * checked to be DNS-ish names (no '/', '?', '%'); returns 0, or -1 when one is
 * not or the path does not fit.
 */
int kube_path(char *buf, size_t len, const char *group_version, const char *ns,
		const char *resource, const char *name);

/*
 * Every call below returns 0 on a 2xx answer and -1 otherwise with err
 * filled (err may be NULL). Where a call returns an object (*out), it is a
 * new cJSON tree the caller frees with cJSON_Delete; *out is NULL on error.
 * Paths come from kube_path; query parameters are added by the call.
 */
int kube_get(struct kube_client *k, const char *path, cJSON **out, struct kube_error *err);

/*
 * List a collection. selector parameters (labelSelector / fieldSelector,
 * e.g. "involvedObject.name=web-0") may be NULL. The list's
 * metadata.resourceVersion goes to rv (for a watch that follows).
 */
int kube_list(struct kube_client *k, const char *path, const char *label_selector,
		const char *field_selector, cJSON **out, char *rv, size_t rvlen,
		struct kube_error *err);

/* POST obj to the collection path; 409 AlreadyExists when it exists. */
int kube_create(struct kube_client *k, const char *path, const cJSON *obj, cJSON **out,
		struct kube_error *err);

/*
 * PUT obj to the object path. With metadata.resourceVersion set, the update
 * happens only if the object was not changed since (else 409 Conflict).
 */
int kube_update(struct kube_client *k, const char *path, const cJSON *obj, cJSON **out,
		struct kube_error *err);

/*
 * Server-side apply: PATCH the object path with application/apply-patch+yaml
 * (a JSON body; JSON is YAML), fieldManager=conform. obj holds apiVersion,
 * kind, metadata.name and only the fields conform owns. force=1 takes over
 * fields other managers own (conform owns its namespace's objects; use 0
 * for objects shared with others, and a 409 Conflict then names the field).
 * Creates the object when missing.
 */
int kube_apply(struct kube_client *k, const char *path, const cJSON *obj, int force,
		cJSON **out, struct kube_error *err);

enum kube_patch_type {
	KUBE_PATCH_MERGE,      /* application/merge-patch+json (RFC 7386) */
	KUBE_PATCH_JSON,       /* application/json-patch+json (RFC 6902) */
	KUBE_PATCH_STRATEGIC,  /* application/strategic-merge-patch+json (built-in kinds only) */
};
/* PATCH the object path with body (a JSON text) of the given type. */
int kube_patch(struct kube_client *k, const char *path, enum kube_patch_type type,
		const char *body, cJSON **out, struct kube_error *err);

/*
 * DELETE the object path. propagation is "Foreground", "Background",
 * "Orphan" or NULL (the server's default for the kind).
 */
int kube_delete(struct kube_client *k, const char *path, const char *propagation,
		struct kube_error *err);
/*
 * As kube_delete, with DeleteOptions.gracePeriodSeconds: 0 deletes at once
 * (a pod's containers get KILL without waiting), > 0 that many seconds; < 0
 * leaves it to the object (a pod's terminationGracePeriodSeconds, 30 s by
 * default). DeleteOptions: "Value must be non-negative integer. The value
 * zero indicates delete immediately" (kubernetes.io API reference,
 * common-definitions/delete-options).
 */
int kube_delete_grace(struct kube_client *k, const char *path, const char *propagation,
		long grace_s, struct kube_error *err);

/*
 * The last tail_lines (1..10000) lines of a pod's log (container NULL: the
 * pod's only container; previous=1: the previous, crashed instance) into a
 * new NUL-terminated string the caller frees (*out).
 */
/* GET path as text (a pod proxy's /metrics, say) on the client's request
 * path: token, TLS, timeout, the answer cap and Status errors as every call.
 * 0 with *out (caller frees) and *len, or -1 with err. */
int kube_get_text(struct kube_client *k, const char *path, char **out, size_t *len,
		  struct kube_error *err);

int kube_logs(struct kube_client *k, const char *ns, const char *pod, const char *container,
		int tail_lines, int previous, char **out, struct kube_error *err);

/*
 * List-then-watch (client-go's reflector, in small): list the collection,
 * then watch it from the list's resourceVersion with bookmarks on, keeping
 * the last resourceVersion seen. A watch that ends (server timeout, dropped
 * connection) is resumed from that version, so no event is lost or
 * repeated; a 410 Expired (an HTTP answer or an ERROR event) makes it list
 * again.
 *
 * cb gets each event: type is "ADDED", "MODIFIED" or "DELETED" with the
 * object; after every list (the first and each re-list) it first gets
 * "SYNC" with object NULL, meaning "forget what you had", then every listed
 * object as "ADDED", then "SYNCED" with object NULL (the list is complete:
 * an object held before and not listed again is gone). BOOKMARK events are not passed on (they only move the
 * resourceVersion). cb returns 0 to go on, anything else to stop.
 *
 * Returns 0 when cb asked to stop, stop became non-zero, or max_ms passed;
 * -1 with err on an error that retrying does not cure (401, 403, 404, a
 * malformed stream) or when reconnecting failed max_retries times in a row
 * (with err saying why the last one failed).
 */
typedef int (*kube_watch_cb)(void *arg, const char *type, const cJSON *object);
struct kube_watch_opts {
	const char *label_selector;    /* may be NULL */
	const char *field_selector;    /* may be NULL */
	long max_ms;                   /* total time to watch; > 0 */
	long timeout_s;                /* one watch request's timeoutSeconds; <= 0: 300 */
	int max_retries;               /* reconnects in a row without an event; <= 0: 5 */
	atomic_int *stop;              /* may be NULL; set non-zero from another thread to stop */
};
struct kube_watch_stats {
	unsigned lists;                /* lists made (1 + re-lists) */
	unsigned watches;              /* watch requests made */
	unsigned bookmarks;            /* BOOKMARK events seen */
	unsigned expired;              /* 410s seen */
	char rv[64];                   /* the last resourceVersion seen */
};
int kube_watch(struct kube_client *k, const char *path, const struct kube_watch_opts *o,
		kube_watch_cb cb, void *arg, struct kube_watch_stats *st, struct kube_error *err);

/*
 * Parse an API error answer (status code and body, body may be NULL) into
 * e, including the text for a user; url names the request in that text.
 * Exposed for tests and for callers that read answers themselves.
 */
void kube_error_from_answer(struct kube_error *e, long code, const char *body,
		const char *method, const char *url);

/* ---- pod status (k8s.io/api core/v1 PodStatus) ---- */

#define KUBE_POD_CONTAINERS 16
struct kube_container_status {
	char name[64];
	int ready;
	long restarts;             /* restartCount */
	char state[16];            /* "waiting", "running", "terminated" or "" */
	char reason[64];           /* state.waiting.reason or state.terminated.reason */
	char message[256];
	char last_reason[64];      /* lastState.terminated.reason, e.g. OOMKilled */
	long last_exit_code;       /* lastState.terminated.exitCode, -1 if none */
	int init;                  /* 1: an init container */
};
struct kube_pod_status {
	char name[254];
	char phase[16];            /* Pending, Running, Succeeded, Failed, Unknown */
	long restarts;             /* sum over the containers */
	int ncontainers;
	struct kube_container_status c[KUBE_POD_CONTAINERS];
};

/* Read a pod object's status into st. Returns 0, -1 when pod is not a pod. */
int kube_pod_status_read(const cJSON *pod, struct kube_pod_status *st);

/*
 * Why a pod is not running, as one line ("" when nothing is wrong), from,
 * in this order: a container waiting for a reason that is a failure
 * (CrashLoopBackOff with the last termination, ImagePullBackOff,
 * ErrImagePull, ...), the PodScheduled=False condition (Unschedulable and
 * the scheduler's message), then the newest Warning event of events (an
 * EventList of the pod's events, may be NULL). Returns buf.
 */
const char *kube_pod_why(const cJSON *pod, const cJSON *events, char *buf, size_t len);

/*
 * A pod's status and why it is not running, read from the API: GET the pod,
 * list its events (fieldSelector involvedObject.kind=Pod,involvedObject.name=
 * pod), then kube_pod_status_read and kube_pod_why into st and why. Returns
 * 0, or -1 with err (the pod is gone: 404; events forbidden: 403).
 */
int kube_pod_diagnose(struct kube_client *k, const char *ns, const char *pod,
		struct kube_pod_status *st, char *why, size_t len, struct kube_error *err);

/* For a stream the client does not run itself (the Linkerd tap): the TLS
 * options of kc on c, and its bearer header appended to h (the token file
 * read again: bound tokens rotate). Returns the new list. */
void kube_curl_tls(CURL *c, const struct kube_config *kc);
struct curl_slist *kube_curl_auth(const struct kube_config *kc, struct curl_slist *h);

#endif
