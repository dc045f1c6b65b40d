/*
 * kube.c - the CLI on --platform kubernetes. Everything goes through
 * kubectl, so every kubeconfig authentication method works (exec plugins,
 * OIDC, client certificates, cloud providers): `start` checks the
 * kubeconfig and the cluster, applies the namespace, conformd's objects and
 * the Secret conform-run (token, run.json) with `kubectl apply
 * --server-side`, and waits for conformd's pod, saying why it does not run;
 * the other verbs reach conformd's API through `kubectl proxy` and the API
 * server's service proxy (services/conformd:api/proxy) with the run's token.
 * The local run directory keeps run.json, the token and kube.json (context,
 * namespace) so later verbs find the run; reports are copied into it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "base/util.h"
#include "mesh/linkerd/linkerd.h"
#include "platform/kubernetes/kubeapi.h"
#include "platform/kubernetes/objects.h"
#include "platform/kubernetes/yaml.h"
#include "report/report.h"

#define KCTL_OUT_MAX (8u << 20)
#define KCTL_TIMEOUT_MS 20000       /* one kubectl call, beyond its own --request-timeout */
#define KCTL_REQUEST_TIMEOUT "5s"   /* kubectl --request-timeout: an unreachable cluster */
#define POD_WAIT_MS 180000          /* conformd's pod Ready (an image pull included) */
#define RUN_WAIT_MS 60000           /* then conformd running */
#define PENDING_GRACE_MS 20000      /* a pod pending for a known reason this long: say so */
#define KUBE_STOP_MS 120000
#define KUBE_RUN_GRACE_MS 120000    /* `run`: after the duration, before we ask it to stop */
#define LOG_TAIL 20

struct kube_target {
	char context[256];     /* "" = kubectl's current context */
	char ns[64];
};

/* ---- kubectl ---- */

struct kctl_result {
	int status;            /* exit status; 127: kubectl not found; -1: killed (timeout) */
	struct dynbuf out, err;
};

static void kctl_release(struct kctl_result *r)
{
	dynbuf_release(&r->out);
	dynbuf_release(&r->err);
}

/* The first line of kubectl's stderr that says something ("" if none). */
static const char *kctl_first_error(const struct kctl_result *r, char *buf, size_t len)
{
	const char *p = r->err.buf ? r->err.buf : "", *nl;

	buf[0] = '\0';
	while (*p) {
		nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		/* kubectl 1.2x logs "E1206 ... memcache.go" lines before the error */
		if (n && !(p[0] == 'E' && p[1] >= '0' && p[1] <= '9') && strncmp(p, "W", 1)) {
			size_t k;

			if (n >= len)
				n = len - 1;
			memcpy(buf, p, n);
			buf[n] = '\0';
			/* a message that goes on below its colon (a refused RBAC
			 * escalation lists the permissions not held, one a line):
			 * those lines too, on this one */
			if (n && buf[n - 1] == ':') {
				while (nl && nl[1] == '{') {
					p = nl + 1;
					nl = strchr(p, '\n');
					k = nl ? (size_t)(nl - p) : strlen(p);
					if (n + 1 + k >= len)
						break;
					buf[n++] = ' ';
					memcpy(buf + n, p, k);
					n += k;
					buf[n] = '\0';
				}
			}
			return buf;
		}
		p += n + (nl ? 1 : 0);
	}
	if (r->err.buf)
		str_copy(buf, len, r->err.buf);
	for (char *c = buf; *c; c++)
		if (*c == '\n')
			*c = ' ';
	return buf;
}

/*
 * Run kubectl [--context C] --request-timeout 5s ARGS..., feeding in (may
 * be NULL) on stdin, collecting stdout and stderr (each capped), killing it
 * after timeout_ms. 0 when it ran (check res->status), -1 when it could not
 * be started.
 */
static int kctl(const struct kube_target *t, const char *const *args, const char *in,
		size_t inlen, long timeout_ms, struct kctl_result *res)
{
	const char *argv[48];
	int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, perr[2] = { -1, -1 };
	size_t n = 0, off = 0, i;
	int64_t deadline = mono_ms() + timeout_ms;
	pid_t pid;
	int st, open_fds;

	memset(res, 0, sizeof(*res));
	dynbuf_init(&res->out, KCTL_OUT_MAX);
	dynbuf_init(&res->err, 1u << 20);
	argv[n++] = "kubectl";
	if (t->context[0]) {
		argv[n++] = "--context";
		argv[n++] = t->context;
	}
	argv[n++] = "--request-timeout";
	argv[n++] = KCTL_REQUEST_TIMEOUT;
	for (i = 0; args[i] && n + 1 < ARRAY_SIZE(argv); i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	if (pipe2(pin, O_CLOEXEC) || pipe2(pout, O_CLOEXEC) || pipe2(perr, O_CLOEXEC))
		goto fail;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		goto fail;
	if (pid == 0) {
		if (dup2(pin[0], 0) < 0 || dup2(pout[1], 1) < 0 || dup2(perr[1], 2) < 0)
			_exit(127);
		execvp("kubectl", (char *const *)argv);
		_exit(127);
	}
	close(pin[0]);
	close(pout[1]);
	close(perr[1]);
	pin[0] = pout[1] = perr[1] = -1;
	if (!in || !inlen) {
		close(pin[1]);
		pin[1] = -1;
	}
	fcntl(pin[1], F_SETFL, O_NONBLOCK);
	open_fds = 2;
	while (open_fds > 0 || pin[1] >= 0) {
		struct pollfd pf[3] = {
			{ .fd = pout[0], .events = POLLIN }, { .fd = perr[0], .events = POLLIN },
			{ .fd = pin[1], .events = POLLOUT },
		};
		int64_t left = deadline - mono_ms();
		char buf[8192];

		if (left <= 0) {
			kill(pid, SIGKILL);
			break;
		}
		if (poll(pf, 3, (int)(left > 1000 ? 1000 : left)) < 0 && errno != EINTR)
			break;
		for (i = 0; i < 2; i++) {
			struct dynbuf *b = i ? &res->err : &res->out;
			ssize_t k;

			if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			k = read(pf[i].fd, buf, sizeof(buf));
			if (k > 0) {
				dynbuf_add(b, buf, (size_t)k);   /* over the cap: cut */
			} else if (k == 0 || errno != EINTR) {
				close(pf[i].fd);
				if (i)
					perr[0] = -1;
				else
					pout[0] = -1;
				open_fds--;
			}
		}
		if (pin[1] >= 0 && (pf[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t k = write(pin[1], in + off, inlen - off);

			if (k > 0)
				off += (size_t)k;
			if ((k < 0 && errno != EAGAIN && errno != EINTR) || off == inlen) {
				close(pin[1]);
				pin[1] = -1;
			}
		}
	}
	for (i = 0; i < 3; i++) {
		int *fd = i == 0 ? &pin[1] : i == 1 ? &pout[0] : &perr[0];

		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
	if (waitpid(pid, &st, 0) != pid)
		st = 0;
	res->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return 0;
fail:
	for (i = 0; i < 2; i++) {
		if (pin[i] >= 0)
			close(pin[i]);
		if (pout[i] >= 0)
			close(pout[i]);
		if (perr[i] >= 0)
			close(perr[i]);
	}
	return -1;
}

/* ---- preflight: a kubeconfig, kubectl, a cluster that answers ---- */

static int file_exists(const char *p)
{
	struct stat st;

	return p && *p && stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The namespace of the pod's service account when the CLI runs in a pod
 * with no kubeconfig (kube_check_kubeconfig wrote one), else "". */
static char incluster_ns[64];
static int in_pod;   /* kubectl uses the kubeconfig written from the pod's service account */

/*
 * In a pod with no kubeconfig (the nightly CronJob): write STATE/kubeconfig
 * from the pod's service account and point KUBECONFIG at it, so that every
 * kubectl call (and `kubectl proxy`) after this one uses it. kubectl would
 * fall back to the same in-cluster settings by itself, but only from the
 * fixed directory (client-go rest.InClusterConfig, tools/clientcmd
 * client_config.go inClusterClientConfig); this file takes the directory
 * from CONFORM_KUBE_SA_DIR (as conformd does) and is there to read.
 * tokenFile rather than token: client-go reads the file again
 * periodically (transport/token_source.go NewCachedFileTokenSource: every
 * minute; 5 minutes in older releases), so a bound token the kubelet
 * rotates during a long run keeps working (kubeconfig field: client-go
 * tools/clientcmd/api/v1/types.go AuthInfo.TokenFile).
 * The file is JSON, which kubectl reads as YAML. 0 or EXIT_ENV.
 */
static int kube_kubeconfig_in_cluster(const char *state_dir)
{
	const char *sa_env = getenv("CONFORM_KUBE_SA_DIR");
	char sa[PATH_MAX], err[PATH_MAX + 256], path[PATH_MAX];
	struct kube_config c;
	cJSON *j = NULL, *o, *a;
	char *text = NULL;
	int rc = EXIT_ENV;

	/* absolute: the kubeconfig names the files, whatever the working directory */
	if (!realpath(sa_env && *sa_env ? sa_env : KUBE_SA_DIR, sa))
		return cli_fail(EXIT_ENV, "mount the service account token (the pod's "
				"automountServiceAccountToken), or set KUBECONFIG",
				"no kubeconfig, and in a pod without a service account: %s: %s",
				sa_env && *sa_env ? sa_env : KUBE_SA_DIR, strerror(errno));
	if (kube_config_in_cluster(&c, sa, err, sizeof(err)))
		return cli_fail(EXIT_ENV, "mount the service account token (the pod's "
				"automountServiceAccountToken), or set KUBECONFIG",
				"no kubeconfig, and the pod's service account is unusable: %s", err);
	if (state_dir_create(state_dir, err, sizeof(err)))
		return cli_fail(EXIT_ENV, "check the permissions or pass another --state-dir",
				"%s", err);
	if (str_fmt(path, sizeof(path), "%s/kubeconfig", state_dir))
		return cli_fail(EXIT_ENV, NULL, "%s/kubeconfig: path too long", state_dir);
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "apiVersion", "v1");
	cJSON_AddStringToObject(j, "kind", "Config");
	a = cJSON_AddArrayToObject(j, "clusters");
	cJSON_AddItemToArray(a, o = cJSON_CreateObject());
	cJSON_AddStringToObject(o, "name", "in-cluster");
	o = cJSON_AddObjectToObject(o, "cluster");
	cJSON_AddStringToObject(o, "server", c.server);
	cJSON_AddStringToObject(o, "certificate-authority", c.ca_file);
	a = cJSON_AddArrayToObject(j, "users");
	cJSON_AddItemToArray(a, o = cJSON_CreateObject());
	cJSON_AddStringToObject(o, "name", "service-account");
	o = cJSON_AddObjectToObject(o, "user");
	cJSON_AddStringToObject(o, "tokenFile", c.token_file);
	a = cJSON_AddArrayToObject(j, "contexts");
	cJSON_AddItemToArray(a, o = cJSON_CreateObject());
	cJSON_AddStringToObject(o, "name", "in-cluster");
	o = cJSON_AddObjectToObject(o, "context");
	cJSON_AddStringToObject(o, "cluster", "in-cluster");
	cJSON_AddStringToObject(o, "user", "service-account");
	if (c.namespace[0])
		cJSON_AddStringToObject(o, "namespace", c.namespace);
	cJSON_AddStringToObject(j, "current-context", "in-cluster");
	text = cJSON_Print(j);
	if (!text) {
		cli_fail(EXIT_ENV, NULL, "writing %s: out of memory", path);
		goto out;
	}
	if (file_write_atomic(path, text, strlen(text), 0600)) {
		cli_fail(EXIT_ENV, "check the permissions or pass another --state-dir",
			 "cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	if (setenv("KUBECONFIG", path, 1)) {
		cli_fail(EXIT_ENV, NULL, "cannot set KUBECONFIG: %s", strerror(errno));
		goto out;
	}
	if (str_copy(incluster_ns, sizeof(incluster_ns), c.namespace))
		incluster_ns[0] = '\0';   /* too long for a run: the default, as without one */
	in_pod = 1;
	rc = 0;
out:
	free(text);
	cJSON_Delete(j);
	return rc;
}

const char *kube_incluster_namespace(void)
{
	return incluster_ns;
}

/*
 * A kubeconfig for kubectl: $KUBECONFIG (any of its files) or
 * ~/.kube/config; with neither, in a pod (KUBERNETES_SERVICE_HOST set) one
 * written from its service account into state_dir. 0 or EXIT_ENV.
 */
static int kube_check_kubeconfig(const char *state_dir)
{
	const char *kc = getenv("KUBECONFIG"), *home = getenv("HOME");
	const char *svc_host = getenv("KUBERNETES_SERVICE_HOST");
	char path[PATH_MAX], first[PATH_MAX] = "";

	incluster_ns[0] = '\0';
	in_pod = 0;
	if (kc && *kc) {
		const char *p = kc;

		while (*p) {
			size_t k = strcspn(p, ":");

			if (k && k < sizeof(path)) {
				memcpy(path, p, k);
				path[k] = '\0';
				if (!first[0])
					str_copy(first, sizeof(first), path);
				if (file_exists(path))
					return 0;
			}
			p += k + (p[k] == ':');
		}
		return cli_fail(EXIT_ENV, "point KUBECONFIG at your cluster's kubeconfig "
				"(`kind create cluster` writes ~/.kube/config)",
				"no kubeconfig: KUBECONFIG names %s, which does not exist", first);
	}
	if (home && *home && !str_fmt(path, sizeof(path), "%s/.kube/config", home) &&
	    file_exists(path))
		return 0;
	/* in a pod (the nightly CronJob): its service account */
	if (svc_host && *svc_host)
		return kube_kubeconfig_in_cluster(state_dir);
	return cli_fail(EXIT_ENV, "set KUBECONFIG, or create ~/.kube/config (`kind create "
			"cluster` writes it)", "no kubeconfig: KUBECONFIG is unset and %s/.kube/config "
			"does not exist", home && *home ? home : "~");
}

static int kube_fail_kctl(const struct kube_target *t, const struct kctl_result *r,
			  const char *what)
{
	char line[1024];

	if (r->status == 127)
		return cli_fail(EXIT_ENV, "install kubectl (Debian: apt-get install "
				"kubernetes-client), or put it on PATH", "%s: kubectl not found", what);
	if (r->status < 0)
		return cli_fail(EXIT_ENV, "check `kubectl cluster-info`", "%s: kubectl did not "
				"finish within %d s", what, KCTL_TIMEOUT_MS / 1000);
	kctl_first_error(r, line, sizeof(line));
	if (strstr(line, "(Forbidden)") || strstr(line, "forbidden"))
		return cli_fail(EXIT_ENV, "ask for that permission in the namespace (a Role or "
				"ClusterRole with the verb and resource named), or use another "
				"--context", "forbidden: %s", line);
	if (strstr(line, "Unauthorized") || strstr(line, "must be logged in"))
		return cli_fail(EXIT_ENV, "renew your credentials for this context "
				"(kubectl config view --minify)", "%s: the cluster refused the "
				"credentials: %s", what, line);
	if (!strstr(line, "Unable to connect") && !strstr(line, "refused") &&
	    !strstr(line, "dial tcp") && !strstr(line, "no such host") &&
	    !strstr(line, "timeout") && !strstr(line, "deadline exceeded") &&
	    !strstr(line, "x509") && !strstr(line, "tls:") && !strstr(line, "EOF"))
		return cli_fail(EXIT_ENV, "kubectl's message says what to fix", "%s: %s", what,
				line[0] ? line : "kubectl failed");
	return cli_fail(EXIT_ENV, "is the cluster running, and is the kubeconfig's server "
			"address right? check `kubectl cluster-info` (kind: `kind get clusters`)",
			"cluster unreachable%s%s%s: %s", t->context[0] ? " (context " : "",
			t->context, t->context[0] ? ")" : "", line[0] ? line : "kubectl failed");
}

int kube_preflight(const struct cli_opts *o)
{
	static const char *const args[] = { "get", "--raw", "/version", NULL };
	struct kube_target tt, *t = &tt;
	struct kctl_result r;
	char state_dir[PATH_MAX];
	int rc;

	memset(&tt, 0, sizeof(tt));
	str_copy(tt.context, sizeof(tt.context), o->context);

	if ((rc = cli_state_dir(o, state_dir, sizeof(state_dir))) ||
	    (rc = kube_check_kubeconfig(state_dir)))
		return rc;
	if (kctl(t, args, NULL, 0, KCTL_TIMEOUT_MS, &r))
		return cli_fail(EXIT_ENV, NULL, "cannot run kubectl: %s", strerror(errno));
	rc = r.status == 0 ? 0 : kube_fail_kctl(t, &r, "cluster check");
	kctl_release(&r);
	return rc;
}

/*
 * GET path through kubectl: 0 with *out the document, 0 with *out NULL when
 * the API server says NotFound, else EXIT_ENV after printing why.
 */
static int kube_raw_get(struct kube_target *t, const char *path, const char *what,
			cJSON **out)
{
	const char *args[] = { "get", "--raw", path, NULL };
	struct kctl_result r;
	char line[1024];
	int rc = 0;

	*out = NULL;
	if (kctl(t, args, NULL, 0, KCTL_TIMEOUT_MS, &r))
		return cli_fail(EXIT_ENV, NULL, "cannot run kubectl: %s", strerror(errno));
	if (r.status == 0) {
		*out = cJSON_ParseWithLength(r.out.buf ? r.out.buf : "", r.out.len);
		if (!*out)
			rc = cli_fail(EXIT_ENV, NULL, "%s: the API server's answer to %s is not JSON",
				      what, path);
	} else if (!strstr(kctl_first_error(&r, line, sizeof(line)), "NotFound")) {
		rc = kube_fail_kctl(t, &r, what);
	}
	kctl_release(&r);
	return rc;
}

/*
 * Before anything is applied, what the mesh adapter's prepare would find:
 * on Linkerd the control plane's version, the Gateway API version it reads
 * and, when tap.live is judged, viz's tap API, judged by the adapter's own
 * rules (mesh_linkerd_preflight) from documents read through kubectl, as
 * `linkerd check --pre` does. A start that would fail in conformd's pod
 * minutes later fails here in seconds and leaves nothing behind.
 */
int kube_mesh_preflight(const struct cli_opts *o, const struct run_config *cfg)
{
	struct kube_target tt;
	cJSON *cm = NULL, *gw = NULL, *tap = NULL;
	char found[256], err[512];
	int rc;

	if (strcmp(cfg->mesh, "linkerd"))
		return 0;
	memset(&tt, 0, sizeof(tt));
	str_copy(tt.context, sizeof(tt.context), o->context);
	rc = kube_raw_get(&tt, "/api/v1/namespaces/linkerd/configmaps/linkerd-config",
			  "reading the linkerd control plane's config", &cm);
	if (!rc)
		rc = kube_raw_get(&tt, "/apis/gateway.networking.k8s.io",
				  "reading which Gateway API versions are served", &gw);
	if (!rc)
		rc = kube_raw_get(&tt, "/apis/tap.linkerd.io", "looking for linkerd-viz's tap API",
				  &tap);
	if (!rc && mesh_linkerd_preflight(cm, gw, tap, run_config_has_check(cfg, "tap.live"),
					  found, sizeof(found), err, sizeof(err)))
		rc = cli_fail(EXIT_ENV, "nothing was applied; fix the cluster and start again",
			      "%s", err);
	else if (!rc)
		fprintf(stderr, "conform: cluster: %s\n", found);
	cJSON_Delete(cm);
	cJSON_Delete(gw);
	cJSON_Delete(tap);
	return rc;
}

/* ---- the local record of where the run is ---- */

static int kube_target_save(const char *dir, const struct kube_target *t)
{
	char path[PATH_MAX];
	cJSON *j = cJSON_CreateObject();
	char *text;
	int rc = -1;

	cJSON_AddStringToObject(j, "context", t->context);
	cJSON_AddStringToObject(j, "namespace", t->ns);
	text = cJSON_Print(j);
	if (text && !str_fmt(path, sizeof(path), "%s/kube.json", dir))
		rc = file_write_atomic(path, text, strlen(text), 0600);
	free(text);
	cJSON_Delete(j);
	return rc;
}

static int kube_target_load(const char *dir, struct kube_target *t)
{
	char path[PATH_MAX], *text;
	cJSON *j;
	const cJSON *c, *n;
	int rc = -1;

	memset(t, 0, sizeof(*t));
	if (str_fmt(path, sizeof(path), "%s/kube.json", dir) || !(text = file_read(path, 4096,
										   NULL)))
		return -1;
	j = cJSON_Parse(text);
	free(text);
	c = cJSON_GetObjectItemCaseSensitive(j, "context");
	n = cJSON_GetObjectItemCaseSensitive(j, "namespace");
	if (cJSON_IsString(c) && cJSON_IsString(n) &&
	    !str_copy(t->context, sizeof(t->context), c->valuestring) &&
	    !str_copy(t->ns, sizeof(t->ns), n->valuestring) && t->ns[0])
		rc = 0;
	cJSON_Delete(j);
	return rc;
}

/* ---- kubectl proxy: the API server's service proxy to conformd ---- */

static pid_t proxy_pid;

static void proxy_stop(void)
{
	if (proxy_pid > 0) {
		kill(proxy_pid, SIGTERM);
		waitpid(proxy_pid, NULL, 0);
		proxy_pid = 0;
	}
}

/*
 * Start `kubectl proxy --port 0` (any free loopback port; it authenticates
 * to the API server as kubectl does) and point ep at conformd's API behind
 * the service proxy. Stopped at exit.
 */
static int proxy_start(const struct kube_target *t, const char *token,
		       struct api_endpoint *ep)
{
	const char *argv[12];
	char line[512], base[1024], err[256];
	size_t n = 0, len = 0;
	int p[2], port = 0;
	int64_t deadline = mono_ms() + 15000;
	pid_t pid;

	if (proxy_pid > 0)
		proxy_stop();
	argv[n++] = "kubectl";
	if (t->context[0]) {
		argv[n++] = "--context";
		argv[n++] = t->context;
	}
	argv[n++] = "proxy";
	argv[n++] = "--address";
	argv[n++] = "127.0.0.1";
	argv[n++] = "--port";
	argv[n++] = "0";
	argv[n] = NULL;
	if (pipe2(p, O_CLOEXEC))
		return -1;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		if (null < 0 || dup2(null, 0) < 0 || dup2(p[1], 1) < 0 || dup2(p[1], 2) < 0)
			_exit(127);
		execvp("kubectl", (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	proxy_pid = pid;
	atexit(proxy_stop);
	/* "Starting to serve on 127.0.0.1:PORT" (kubectl proxy's first line) */
	while (mono_ms() < deadline && len + 1 < sizeof(line)) {
		struct pollfd pf = { .fd = p[0], .events = POLLIN };
		ssize_t k;
		char *at;

		if (poll(&pf, 1, 200) <= 0)
			continue;
		k = read(p[0], line + len, sizeof(line) - 1 - len);
		if (k <= 0)
			break;
		len += (size_t)k;
		line[len] = '\0';
		at = strstr(line, "Starting to serve on ");
		if (at && strchr(at, '\n')) {
			char *colon;
			int64_t v;

			*strchr(at, '\n') = '\0';
			colon = strrchr(at, ':');

			if (colon && !parse_i64(colon + 1, 1, 65535, &v))
				port = (int)v;
			break;
		}
	}
	close(p[0]);
	if (!port) {
		proxy_stop();
		errno = EPROTO;
		return -1;
	}
	str_fmt(base, sizeof(base), "http://127.0.0.1:%d/api/v1/namespaces/%s/services/"
		"conformd:api/proxy", port, t->ns);
	return api_endpoint_http(ep, base, token, err, sizeof(err));
}

/* conformd's state from /v1/status ("" when it does not answer). */
static void api_state(const struct api_endpoint *ep, char *state, size_t len, char *why,
		      size_t whylen)
{
	struct api_response resp;
	cJSON *j;
	const cJSON *s;

	state[0] = '\0';
	if (api_call(ep, "GET", "/v1/status", NULL, 5000, &resp, why, whylen))
		return;
	if (resp.status != 200) {
		api_error_text(&resp, why, whylen);
		api_response_release(&resp);
		return;
	}
	j = cJSON_ParseWithLength(resp.body, resp.len);
	s = cJSON_GetObjectItemCaseSensitive(j, "state");
	if (cJSON_IsString(s))
		str_copy(state, len, s->valuestring);
	cJSON_Delete(j);
	api_response_release(&resp);
}

/* ---- start ---- */

/* The objects `start` applies: the namespace, conformd's, the Secret. */
static int start_objects(const struct kube_run *kr, const struct run_config *cfg,
			 const char *token, struct dynbuf *b, char *err, size_t errlen)
{
	cJSON *arr = cJSON_CreateArray(), *sec, *md, *data, *o;
	char *runjson = run_config_to_json(cfg);
	int rc = -1;

	if (!arr || !runjson) {
		str_fmt(err, errlen, "out of memory");
		goto out;
	}
	cJSON_AddItemToArray(arr, kube_obj_namespace(kr));
	if (kube_obj_monitor(kr, arr, err, errlen))
		goto out;
	sec = cJSON_CreateObject();
	cJSON_AddItemToArray(arr, sec);
	cJSON_AddStringToObject(sec, "apiVersion", "v1");
	cJSON_AddStringToObject(sec, "kind", "Secret");
	md = cJSON_AddObjectToObject(sec, "metadata");
	cJSON_AddStringToObject(md, "name", KUBE_RUN_SECRET);
	cJSON_AddStringToObject(md, "namespace", kr->namespace);
	o = cJSON_AddObjectToObject(md, "labels");
	cJSON_AddStringToObject(o, KUBE_LABEL_PART_OF, "conform");
	cJSON_AddStringToObject(o, KUBE_LABEL_RUN, cfg->id);
	cJSON_AddStringToObject(sec, "type", "Opaque");
	data = cJSON_AddObjectToObject(sec, "stringData");
	cJSON_AddStringToObject(data, "token", token);
	cJSON_AddStringToObject(data, "run.json", runjson);
	cJSON_ArrayForEach(o, arr) {
		/* in a pod, as a namespaced service account (the nightly CronJob's
		 * Role): the cluster-scoped objects (the Namespace, Linkerd's
		 * conformd-linkerd-config ClusterRole and its binding) come with
		 * manifests/kubernetes/nightly, applied once by an administrator */
		if (in_pod && !cJSON_GetObjectItemCaseSensitive(
				      cJSON_GetObjectItemCaseSensitive(o, "metadata"), "namespace"))
			continue;
		if (dynbuf_adds(b, "---\n") || kube_yaml_emit(o, b)) {
			str_fmt(err, errlen, "the objects do not fit in memory");
			goto out;
		}
	}
	rc = 0;
out:
	free(runjson);
	cJSON_Delete(arr);
	return rc;
}

/* A pod's last log lines (the previous instance's when it crashed, else
 * the current one's) to stderr. */
static void show_logs(const struct kube_target *t, const char *pod, int previous)
{
	const char *args[] = { "logs", "-n", t->ns, pod, "--tail", "20",
			       previous ? "--previous" : NULL, NULL };
	struct kctl_result r;

	if (kctl(t, args, NULL, 0, KCTL_TIMEOUT_MS, &r))
		return;
	if (r.status == 0 && r.out.buf) {
		char *line = r.out.buf, *nl;

		for (; *line; line = nl + 1) {
			nl = strchr(line, '\n');
			if (!nl)
				nl = line + strlen(line) - 1;
			else
				*nl = '\0';
			fprintf(stderr, "  | %s\n", line);
		}
	} else if (previous) {
		kctl_release(&r);
		show_logs(t, pod, 0);
		return;
	}
	kctl_release(&r);
}

/* kubectl get ... -o json into a new tree, or NULL (then *r tells why). */
static cJSON *kctl_json(const struct kube_target *t, const char *const *args,
			struct kctl_result *r)
{
	cJSON *j = NULL;

	if (kctl(t, args, NULL, 0, KCTL_TIMEOUT_MS, r)) {
		r->status = 127;
		return NULL;
	}
	if (r->status == 0 && r->out.buf)
		j = cJSON_ParseWithLength(r->out.buf, r->out.len);
	return j;
}

/*
 * Wait for conformd's pod of run id to be Ready, saying why it is not:
 * image not pullable, crash-looping (its last log lines), pending (the
 * scheduler's or the newest warning event's reason). 0 or an exit code.
 */
static int wait_pod(const struct kube_target *t, const char *id)
{
	char sel[160], why[1024], fsel[400], pod[254] = "", prev_why[1024] = "";
	int64_t t0 = mono_ms(), why_since = 0;
	struct kctl_result r;

	str_fmt(sel, sizeof(sel), "app=conformd,%s=%s", KUBE_LABEL_RUN, id);
	for (;;) {
		const char *args[] = { "get", "pods", "-n", t->ns, "-l", sel, "-o", "json", NULL };
		cJSON *list = kctl_json(t, args, &r), *events = NULL;
		const cJSON *item, *p = NULL;
		struct kube_pod_status st;
		int ready = 0;
		int64_t el = mono_ms() - t0;

		if (!list) {
			int rc = kube_fail_kctl(t, &r, "waiting for conformd");

			kctl_release(&r);
			return rc;
		}
		kctl_release(&r);
		cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(list, "items")) {
			if (!cJSON_GetObjectItemCaseSensitive(
				    cJSON_GetObjectItemCaseSensitive(item, "metadata"),
				    "deletionTimestamp"))
				p = item;
		}
		why[0] = '\0';
		if (p && !kube_pod_status_read(p, &st)) {
			const cJSON *conds = cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(p, "status"), "conditions"), *c;

			str_copy(pod, sizeof(pod), st.name);
			cJSON_ArrayForEach(c, conds) {
				const cJSON *ty = cJSON_GetObjectItemCaseSensitive(c, "type");
				const cJSON *sv = cJSON_GetObjectItemCaseSensitive(c, "status");

				if (cJSON_IsString(ty) && !strcmp(ty->valuestring, "Ready") &&
				    cJSON_IsString(sv) && !strcmp(sv->valuestring, "True"))
					ready = 1;
			}
			if (!ready) {
				const char *eargs[] = { "get", "events", "-n", t->ns,
							"--field-selector", fsel, "-o", "json", NULL };

				str_fmt(fsel, sizeof(fsel), "involvedObject.kind=Pod,"
					"involvedObject.name=%s", pod);
				events = kctl_json(t, eargs, &r);
				kctl_release(&r);
				kube_pod_why(p, events, why, sizeof(why));
				cJSON_Delete(events);
			}
		}
		cJSON_Delete(list);
		if (ready) {
			out_progress_done();
			return 0;
		}
		if (strstr(why, "ImagePullBackOff") || strstr(why, "ErrImagePull") ||
		    strstr(why, "InvalidImageName") || strstr(why, "ErrImageNeverPull")) {
			out_progress_done();
			return cli_fail(EXIT_ENV, "load the image into the cluster: `make image && "
					"kind load image-archive build/image/conform-image.tar` (kind), "
					"or push it to a registry the cluster pulls from and pass "
					"--image REF", "conformd's image cannot be pulled: pod %s: %s",
					pod, why);
		}
		if (strstr(why, "CrashLoopBackOff")) {
			out_progress_done();
			cli_fail(EXIT_ENV, NULL, "conformd is crash-looping: pod %s: %s; its last "
				 "log lines:", pod, why);
			show_logs(t, pod, 1);
			fprintf(stderr, "hint: fix the cause shown in the log; `kubectl logs -n %s "
				"%s --previous` shows more\n", t->ns, pod);
			return EXIT_ENV;
		}
		if (why[0] && strcmp(why, prev_why)) {
			str_copy(prev_why, sizeof(prev_why), why);
			why_since = mono_ms();
		}
		if (why[0] && (mono_ms() - why_since >= PENDING_GRACE_MS || el >= POD_WAIT_MS)) {
			out_progress_done();
			return cli_fail(EXIT_ENV, "`kubectl describe pod -n` shows the pod's events",
					"conformd's pod %s is pending: %s", pod, why);
		}
		if (el >= POD_WAIT_MS) {
			out_progress_done();
			return cli_fail(EXIT_ENV, "`kubectl get pods -n` and `kubectl describe "
					"deployment conformd` show where it is",
					"conformd's pod was not ready within %d s%s%s", POD_WAIT_MS / 1000,
					pod[0] ? ": pod " : " (no pod yet)", pod);
		}
		out_progress("waiting for conformd in namespace %s: %s %llds", t->ns,
			     pod[0] ? (why[0] ? why : "pod starting") : "no pod yet",
			     (long long)(el / 1000));
		if (cli_interrupted)
			return cli_fail(EXIT_ENV, "`conform stop` ends it once it runs", "interrupted "
					"while conformd was starting; the objects stay applied");
		nanosleep(&(struct timespec){ 1, 0 }, NULL);
	}
}

int kube_start_run(const struct cli_opts *o, struct cli_run *r, struct run_config *cfg,
		   const char *token)
{
	/* --validate=false: kubectl's own check needs the server's OpenAPI
	 * document; server-side apply validates against the schema anyway (422),
	 * and these objects are validated offline (e2e/kube_manifests) */
	static const char *const apply[] = { "apply", "--server-side", "--force-conflicts",
					     "--field-manager", "conform", "--validate=false",
					     "-f", "-", NULL };
	struct kube_target t;
	struct kube_run kr;
	struct dynbuf b = DYNBUF_INIT(8u << 20);
	struct kctl_result res;
	char err[1024], state[32] = "", why[1024] = "";
	int64_t t0;
	int rc;

	memset(&t, 0, sizeof(t));
	str_copy(t.context, sizeof(t.context), o->context);
	str_copy(t.ns, sizeof(t.ns), o->namespace[0] ? o->namespace : incluster_ns[0] ?
		 incluster_ns : KUBE_DEFAULT_NAMESPACE);
	kube_run_defaults(&kr);
	str_copy(kr.namespace, sizeof(kr.namespace), t.ns);
	str_copy(kr.mesh, sizeof(kr.mesh), cfg->mesh);
	str_copy(kr.run_id, sizeof(kr.run_id), cfg->id);
	if (o->image[0])
		str_copy(kr.image, sizeof(kr.image), o->image);
	if (kube_run_check(&kr, err, sizeof(err)))
		return cli_fail(EXIT_USAGE, NULL, "%s", err);
	if (kube_target_save(r->dir, &t))
		return cli_fail(EXIT_ENV, NULL, "cannot write %s/kube.json: %s", r->dir,
				strerror(errno));
	if (start_objects(&kr, cfg, token, &b, err, sizeof(err))) {
		dynbuf_release(&b);
		return cli_fail(EXIT_ENV, NULL, "%s", err);
	}
	out_progress("starting run %s: applying conformd's objects to namespace %s", r->id, t.ns);
	if (kctl(&t, apply, b.buf, b.len, KCTL_TIMEOUT_MS * 3, &res)) {
		dynbuf_release(&b);
		return cli_fail(EXIT_ENV, NULL, "cannot run kubectl: %s", strerror(errno));
	}
	dynbuf_release(&b);
	out_progress_done();
	if (res.status) {
		rc = kube_fail_kctl(&t, &res, "kubectl apply");
		kctl_release(&res);
		return rc;
	}
	kctl_release(&res);
	if ((rc = wait_pod(&t, cfg->id)))
		return rc;
	if (proxy_start(&t, token, &r->ep))
		return cli_fail(EXIT_ENV, "check `kubectl proxy` works with this kubeconfig",
				"cannot start kubectl proxy to reach conformd: %s", strerror(errno));
	for (t0 = mono_ms(); mono_ms() - t0 < RUN_WAIT_MS;) {
		api_state(&r->ep, state, sizeof(state), why, sizeof(why));
		if (!strcmp(state, "running"))
			break;
		/* the API server refused the service proxy: no wait mends that */
		if (!state[0] && strstr(why, "is forbidden: User")) {
			out_progress_done();
			return cli_fail(EXIT_ENV, "ask for that permission in the namespace (a Role "
					"or ClusterRole with the verb and resource named), or use "
					"another --context", "forbidden: %s", why);
		}
		out_progress("starting run %s: conformd %s %llds", r->id,
			     state[0] ? state : "not answering yet",
			     (long long)((mono_ms() - t0) / 1000));
		nanosleep(&(struct timespec){ 0, 500000000L }, NULL);
	}
	out_progress_done();
	if (strcmp(state, "running"))
		return cli_fail(EXIT_ENV, "`kubectl logs -n NS deploy/conformd` shows why",
				"conformd did not report running within %d s (%s)",
				RUN_WAIT_MS / 1000, state[0] ? state : why);
	return 0;
}

/* ---- later verbs ---- */

int kube_attach(struct cli_run *r, const struct run_config *cfg)
{
	struct kube_target t;
	char token[128], path[PATH_MAX], *text, state[32], why[256] = "";
	size_t n;

	if (strcmp(cfg->platform, "kubernetes"))
		return 0;
	if (kube_target_load(r->dir, &t))
		return cli_fail(EXIT_ENV, NULL, "run %s: no kube.json in %s", r->id, r->dir);
	if (str_fmt(path, sizeof(path), "%s/token", r->dir) ||
	    !(text = file_read(path, 256, &n)))
		return cli_fail(EXIT_ENV, NULL, "run %s: no token in %s", r->id, r->dir);
	while (n && (text[n - 1] == '\n' || text[n - 1] == ' '))
		text[--n] = '\0';
	str_copy(token, sizeof(token), text);
	free(text);
	if (kube_check_kubeconfig(r->state_dir))
		return EXIT_ENV;
	if (proxy_start(&t, token, &r->ep))
		return cli_fail(EXIT_ENV, "check `kubectl proxy` works with this kubeconfig",
				"cannot start kubectl proxy to reach conformd: %s", strerror(errno));
	api_state(&r->ep, state, sizeof(state), why, sizeof(why));
	if (!state[0])
		return cli_fail(EXIT_ENV, "`kubectl get pods -n` shows conformd's pod; `kubectl "
				"logs deploy/conformd` its log", "the monitor of run %s in namespace "
				"%s does not answer: %s", r->id, t.ns, why);
	r->state = RUN_STATE_RUNNING;
	r->pid = 0;
	return 0;
}

/* GET /v1/report?format=F into RUN/reports/FILE; 0 or -1 with err. */
static int fetch_report(const struct cli_run *r, const struct report_format *f, char *err,
			size_t errlen)
{
	struct api_response resp;
	char path[PATH_MAX], q[64];
	int rc;

	str_fmt(q, sizeof(q), "/v1/report?format=%s", f->name);
	if (api_call(&r->ep, "GET", q, NULL, 60000, &resp, err, errlen))
		return -1;
	if (resp.status != 200) {
		api_error_text(&resp, err, errlen);
		api_response_release(&resp);
		return -1;
	}
	str_fmt(path, sizeof(path), "%s/reports/%s", r->dir, f->file);
	rc = file_write_atomic(path, resp.body, resp.len, 0644);
	if (rc)
		str_fmt(err, errlen, "%s: %s", path, strerror(errno));
	api_response_release(&resp);
	return rc;
}

int kube_fetch_reports(const struct cli_run *r)
{
	char err[512];
	size_t i;

	for (i = 0; i < report_nformats; i++)
		if (fetch_report(r, &report_formats[i], err, sizeof(err)))
			return cli_fail(EXIT_ENV, NULL, "run %s: cannot copy the %s report: %s",
					r->id, report_formats[i].name, err);
	return 0;
}

/* The verdicts of RUN/reports/report.json, and the exit code they mean. */
static int kube_summary(const struct cli_run *r)
{
	char path[PATH_MAX], *text;
	cJSON *j;
	const cJSON *v, *c;
	int pass;

	str_fmt(path, sizeof(path), "%s/reports/report.json", r->dir);
	text = file_read(path, 64u << 20, NULL);
	j = text ? cJSON_Parse(text) : NULL;
	free(text);
	if (!j)
		return cli_fail(EXIT_ENV, NULL, "run %s: %s is not a report", r->id, path);
	v = cJSON_GetObjectItemCaseSensitive(j, "verdict");
	pass = cJSON_IsString(v) && !strcmp(v->valuestring, "pass");
	printf("run %s: %s\n", r->id, cJSON_IsString(v) ? v->valuestring : "unknown");
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "checks")) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "id");
		const cJSON *cv = cJSON_GetObjectItemCaseSensitive(c, "verdict");
		const cJSON *why = cJSON_GetObjectItemCaseSensitive(c, "reason");

		printf("  %-16s ", cJSON_IsString(id) ? id->valuestring : "?");
		out_verdict(stdout, cJSON_IsString(cv) ? cv->valuestring : "?", 8);
		printf(" %s\n", cJSON_IsString(why) ? why->valuestring : "");
	}
	printf("\nreports (copied from the cluster):\n  %s/reports/report.html\n  "
	       "%s/reports/report.json\n  %s/reports/junit.xml\n  %s/reports/report.md\n",
	       r->dir, r->dir, r->dir, r->dir);
	cJSON_Delete(j);
	return pass ? EXIT_CONFORMANT : EXIT_NOT_CONFORMANT;
}

int kube_stop_run(struct cli_run *r)
{
	struct api_response resp;
	char err[512], state[32] = "", why[256] = "", cur[RUN_ID_MAX];
	int64_t t0 = mono_ms();
	int rc;

	if (api_call(&r->ep, "POST", "/v1/stop", "{}", 10000, &resp, err, sizeof(err)))
		return cli_fail(EXIT_ENV, NULL, "cannot reach the monitor of run %s: %s", r->id,
				err);
	if (resp.status != 202 && resp.status != 200) {
		api_error_text(&resp, err, sizeof(err));
		rc = cli_fail(EXIT_ENV, NULL, "stop of run %s refused: HTTP %ld: %s", r->id,
			      resp.status, err);
		api_response_release(&resp);
		return rc;
	}
	api_response_release(&resp);
	while (mono_ms() - t0 < KUBE_STOP_MS) {
		api_state(&r->ep, state, sizeof(state), why, sizeof(why));
		if (!strcmp(state, "finished"))
			break;
		out_progress("stopping run %s: conformd %s %llds", r->id, state[0] ? state : why,
			     (long long)((mono_ms() - t0) / 1000));
		nanosleep(&(struct timespec){ 0, 500000000L }, NULL);
	}
	out_progress_done();
	if (strcmp(state, "finished"))
		return cli_fail(EXIT_ENV, "`kubectl logs deploy/conformd` shows why", "conformd of "
				"run %s did not finish within %d s", r->id, KUBE_STOP_MS / 1000);
	if ((rc = kube_fetch_reports(r)))
		return rc;
	rc = kube_summary(r);
	if (state_current_get(r->state_dir, cur, sizeof(cur)) == 1 && !strcmp(cur, r->id))
		state_current_clear(r->state_dir);
	return rc;
}

int kube_run_follow(struct cli_run *r, const struct run_config *cfg)
{
	int64_t t0 = mono_ms(), stop_at = 0, end = cfg->duration_ms + KUBE_RUN_GRACE_MS;
	char state[32] = "", why[256] = "", cur[RUN_ID_MAX], d[32];
	int rc;

	for (;;) {
		int64_t el = mono_ms() - t0;

		api_state(&r->ep, state, sizeof(state), why, sizeof(why));
		if (!strcmp(state, "finished"))
			break;
		if (!stop_at && (cli_interrupted || el > end)) {
			struct api_response resp;
			char err[256];

			out_progress_done();
			fprintf(stderr, "conform: %s, stopping run %s (the reports are still "
				"written)\n", cli_interrupted ? "interrupted" : "past its duration",
				r->id);
			if (!api_call(&r->ep, "POST", "/v1/stop", "{}", 10000, &resp, err,
				      sizeof(err)))
				api_response_release(&resp);
			stop_at = mono_ms();
		}
		if (stop_at && mono_ms() - stop_at > KUBE_STOP_MS) {
			out_progress_done();
			return cli_fail(EXIT_ENV, "`kubectl logs deploy/conformd` shows why",
					"conformd of run %s did not finish within %d s of the stop",
					r->id, KUBE_STOP_MS / 1000);
		}
		out_progress("run %s: %llds of %s%s%s", r->id, (long long)(el / 1000),
			     dur_format(cfg->duration_ms, d, sizeof(d)),
			     state[0] ? ", " : ", monitor unreachable: ", state[0] ? state : why);
		nanosleep(&(struct timespec){ 1, 0 }, NULL);
	}
	out_progress_done();
	if ((rc = kube_fetch_reports(r)))
		return rc;
	rc = kube_summary(r);
	if (state_current_get(r->state_dir, cur, sizeof(cur)) == 1 && !strcmp(cur, r->id))
		state_current_clear(r->state_dir);
	return rc;
}
