/*
 * kubeapi.c - the Kubernetes API over libcurl, answers read with cJSON.
 * conformd runs in the cluster and talks to the API server itself (the CLI
 * uses kubectl); this file keeps that traffic small, bounded and explained:
 * every non-2xx answer becomes a Status-derived error a user can act on.
 * Wire facts: kubernetes/community api-conventions.md, kubernetes.io
 * api-concepts.md and the upstream sources named at each use.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "platform/kubernetes/kubeapi.h"
#include "base/util.h"

struct kube_client {
	struct kube_config c;
	CURL *curl;                /* one handle: its connection is reused */
	unsigned long requests;
	/* the token file as last read: re-read when any of these change */
	ino_t tok_ino;
	off_t tok_size;
	struct timespec tok_mtime;
	int tok_loaded;
};

/* ---- configuration ---- */

int kube_config_explicit(struct kube_config *c, const char *server, const char *ca_file,
		int insecure, const char *token)
{
	size_t n;

	memset(c, 0, sizeof(*c));
	if (!server || str_copy(c->server, sizeof(c->server), server))
		return -1;
	n = strlen(c->server);
	while (n > 0 && c->server[n - 1] == '/')
		c->server[--n] = '\0';
	if (ca_file && str_copy(c->ca_file, sizeof(c->ca_file), ca_file))
		return -1;
	if (token && str_copy(c->token, sizeof(c->token), token))
		return -1;
	c->insecure = insecure;
	return 0;
}

/* a file of the service account directory, trailing whitespace cut */
static int sa_read(const char *root, const char *name, char *out, size_t len,
		char *err, size_t errlen)
{
	char path[PATH_MAX];
	char *s;
	size_t n;
	int rc = -1;

	if (str_fmt(path, sizeof(path), "%s/%s", root, name)) {
		str_fmt(err, errlen, "service account path too long: %s/%s", root, name);
		return -1;
	}
	s = file_read(path, len - 1, &n);
	if (!s) {
		str_fmt(err, errlen, "cannot read %s: %s (is conformd running in a pod "
			"with a service account token mounted?)", path, strerror(errno));
		return -1;
	}
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		s[--n] = '\0';
	if (str_copy(out, len, s))
		str_fmt(err, errlen, "%s is too long", path);
	else
		rc = 0;
	free(s);
	return rc;
}

int kube_config_in_cluster(struct kube_config *c, const char *root, char *err, size_t errlen)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	int r;

	memset(c, 0, sizeof(*c));
	if (!root)
		root = KUBE_SA_DIR;
	/* client-go InClusterConfig: both must be set, else "not in cluster" */
	if (!host || !*host || !port || !*port) {
		str_fmt(err, errlen, "not running in a kubernetes pod: KUBERNETES_SERVICE_HOST "
			"and KUBERNETES_SERVICE_PORT must both be set");
		return -1;
	}
	/* net.JoinHostPort: an IPv6 literal gets brackets */
	if (strchr(host, ':'))
		r = str_fmt(c->server, sizeof(c->server), "https://[%s]:%s", host, port);
	else
		r = str_fmt(c->server, sizeof(c->server), "https://%s:%s", host, port);
	if (r || str_fmt(c->token_file, sizeof(c->token_file), "%s/token", root) ||
	    str_fmt(c->ca_file, sizeof(c->ca_file), "%s/ca.crt", root)) {
		str_fmt(err, errlen, "in-cluster server or service account path too long");
		return -1;
	}
	/* the token must be readable now; it is read before each call */
	if (access(c->token_file, R_OK)) {
		str_fmt(err, errlen, "cannot read %s: %s (is conformd running in a pod with a "
			"service account token mounted?)", c->token_file, strerror(errno));
		return -1;
	}
	if (access(c->ca_file, R_OK)) {
		str_fmt(err, errlen, "cannot read %s: %s (the cluster CA the API server's "
			"certificate is checked with)", c->ca_file, strerror(errno));
		return -1;
	}
	if (sa_read(root, "namespace", c->namespace, sizeof(c->namespace), err, errlen))
		return -1;
	return 0;
}

/* ---- the client ---- */

struct kube_client *kube_client_new(const struct kube_config *c)
{
	struct kube_client *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	k->c = *c;
	if (k->c.timeout_ms <= 0)
		k->c.timeout_ms = KUBE_TIMEOUT_MS;
	k->curl = curl_easy_init();
	if (!k->curl) {
		free(k);
		return NULL;
	}
	return k;
}

void kube_client_free(struct kube_client *k)
{
	if (!k)
		return;
	curl_easy_cleanup(k->curl);
	explicit_bzero(k->c.token, sizeof(k->c.token));
	free(k);
}

unsigned long kube_client_requests(const struct kube_client *k)
{
	return k->requests;
}

/*
 * Bound tokens rotate (kubernetes.io configure-service-account: the kubelet
 * rewrites the file at 80% of its life; client-go transport/token_source.go
 * NewCachedFileTokenSource re-reads it every minute): re-read it whenever the file changed, or always when force.
 * A failed read keeps the old token; the server's 401 then says why.
 */
static void token_refresh(struct kube_client *k, int force)
{
	struct stat st;
	char *s;
	size_t n;

	if (!k->c.token_file[0] || stat(k->c.token_file, &st))
		return;
	if (!force && k->tok_loaded && st.st_ino == k->tok_ino && st.st_size == k->tok_size &&
	    st.st_mtim.tv_sec == k->tok_mtime.tv_sec && st.st_mtim.tv_nsec == k->tok_mtime.tv_nsec)
		return;
	s = file_read(k->c.token_file, KUBE_TOKEN_MAX - 1, &n);
	if (!s)
		return;
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		s[--n] = '\0';
	str_copy(k->c.token, sizeof(k->c.token), s);
	explicit_bzero(s, n);
	free(s);
	k->tok_ino = st.st_ino;
	k->tok_size = st.st_size;
	k->tok_mtime = st.st_mtim;
	k->tok_loaded = 1;
}

/* ---- errors ---- */

static void jstr(const cJSON *o, const char *key, char *out, size_t len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	out[0] = '\0';
	if (cJSON_IsString(v) && v->valuestring)
		str_copy(out, len, v->valuestring);
}

/* the first line of a non-Status body, for answers from proxies and aggregators */
static void body_line(const char *body, char *out, size_t len)
{
	size_t n = 0;

	out[0] = '\0';
	if (!body)
		return;
	while (body[n] && body[n] != '\n' && n + 1 < len && n < 200) {
		out[n] = (body[n] >= 0x20 && body[n] < 0x7f) ? body[n] : '?';
		n++;
	}
	out[n] = '\0';
}

void kube_error_from_answer(struct kube_error *e, long code, const char *body,
		const char *method, const char *url)
{
	cJSON *j = body ? cJSON_Parse(body) : NULL;
	const cJSON *det, *causes, *c;
	char what[256], first[256];
	const char *msg;
	struct dynbuf cb = DYNBUF_INIT(sizeof(e->causes));
	int is_status = 0;

	memset(e, 0, sizeof(*e));
	e->code = code;
	if (j && cJSON_IsObject(j)) {
		const cJSON *kind = cJSON_GetObjectItemCaseSensitive(j, "kind");

		is_status = cJSON_IsString(kind) && !strcmp(kind->valuestring, "Status");
	}
	if (is_status) {
		/* metav1.Status: reason, message, details{name, group, kind, causes[]} */
		const cJSON *jc = cJSON_GetObjectItemCaseSensitive(j, "code");

		if (cJSON_IsNumber(jc) && jc->valuedouble >= 100 && jc->valuedouble < 600)
			e->code = (long)jc->valuedouble;
		jstr(j, "reason", e->reason, sizeof(e->reason));
		jstr(j, "message", e->message, sizeof(e->message));
		det = cJSON_GetObjectItemCaseSensitive(j, "details");
		if (cJSON_IsObject(det)) {
			jstr(det, "name", e->name, sizeof(e->name));
			jstr(det, "group", e->group, sizeof(e->group));
			jstr(det, "kind", e->kind, sizeof(e->kind));
			causes = cJSON_GetObjectItemCaseSensitive(det, "causes");
			cJSON_ArrayForEach(c, causes) {
				char f[256], m[512];

				jstr(c, "field", f, sizeof(f));
				jstr(c, "message", m, sizeof(m));
				if (cb.len)
					dynbuf_adds(&cb, "; ");
				dynbuf_addf(&cb, "%s%s%s", f, f[0] ? ": " : "", m);
			}
		}
		if (cb.len)
			str_copy(e->causes, sizeof(e->causes), cb.buf);
	}
	dynbuf_release(&cb);
	cJSON_Delete(j);

	body_line(is_status ? NULL : body, first, sizeof(first));
	msg = e->message[0] ? e->message : first[0] ? first : "(no message)";
	str_fmt(what, sizeof(what), "%s %s", method ? method : "GET", url ? url : "");
	switch (e->code) {
	case 401:
		str_fmt(e->text, sizeof(e->text), "unauthorized: the API server rejected the "
			"bearer token (%s): check the service account token is mounted and "
			"valid [%s]", msg, what);
		break;
	case 403:
		/* the message names the user, verb, resource, group and namespace */
		str_fmt(e->text, sizeof(e->text), "forbidden: %s: grant that permission to "
			"conform's service account (a Role rule, see docs/kubernetes.md) [%s]",
			msg, what);
		break;
	case 404:
		str_fmt(e->text, sizeof(e->text), "not found: %s [%s]", msg, what);
		break;
	case 409:
		if (!strcmp(e->reason, "AlreadyExists"))
			str_fmt(e->text, sizeof(e->text), "already exists: %s [%s]", msg, what);
		else
			str_fmt(e->text, sizeof(e->text), "conflict: %s%s%s: read the object "
				"again and retry [%s]", msg, e->causes[0] ? "; fields: " : "",
				e->causes, what);
		break;
	case 410:
		str_fmt(e->text, sizeof(e->text), "expired: %s: the resource version is too "
			"old, list again [%s]", msg, what);
		break;
	case 422:
		str_fmt(e->text, sizeof(e->text), "invalid: %s%s%s [%s]", msg,
			e->causes[0] ? "; fields: " : "", e->causes, what);
		break;
	case 429:
		str_fmt(e->text, sizeof(e->text), "too many requests: %s: the API server is "
			"throttling, retry later [%s]", msg, what);
		break;
	default:
		str_fmt(e->text, sizeof(e->text), "kubernetes API answered %ld%s%s: %s [%s]",
			e->code, e->reason[0] ? " " : "", e->reason, msg, what);
	}
}

static void error_unreachable(struct kube_error *e, const struct kube_client *k,
		CURLcode rc, const char *detail)
{
	if (!e)
		return;
	memset(e, 0, sizeof(*e));
	str_copy(e->reason, sizeof(e->reason), "Unreachable");
	str_fmt(e->message, sizeof(e->message), "%s", detail[0] ? detail : curl_easy_strerror(rc));
	str_fmt(e->text, sizeof(e->text), "cluster unreachable at %s: %s: check the server "
		"address, that the API server is up, and its CA certificate", k->c.server,
		e->message);
}

static void error_local(struct kube_error *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void error_local(struct kube_error *e, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return;
	memset(e, 0, sizeof(*e));
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	va_end(ap);
	str_copy(e->message, sizeof(e->message), e->text);
}

/* ---- requests ---- */

struct sink {
	struct dynbuf buf;
	int toobig;
};

static size_t sink_write(char *p, size_t size, size_t nmemb, void *ud)
{
	struct sink *s = ud;

	if (dynbuf_add(&s->buf, p, size * nmemb)) {
		s->toobig = 1;
		return 0;
	}
	return size * nmemb;
}

/* options every request shares: TLS, auth, timeouts */
static struct curl_slist *setup(struct kube_client *k, const char *url, const char *method,
		const char *ctype, const char *accept, char *errbuf)
{
	struct curl_slist *h = NULL;
	char line[KUBE_TOKEN_MAX + 32];
	CURL *c = k->curl;

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	kube_curl_tls(c, &k->c);
	token_refresh(k, 0);
	if (k->c.token[0]) {
		str_fmt(line, sizeof(line), "Authorization: Bearer %s", k->c.token);
		h = curl_slist_append(h, line);
		explicit_bzero(line, sizeof(line));
	}
	str_fmt(line, sizeof(line), "Accept: %s", accept ? accept : "application/json");
	h = curl_slist_append(h, line);
	if (ctype) {
		str_fmt(line, sizeof(line), "Content-Type: %s", ctype);
		h = curl_slist_append(h, line);
	}
	h = curl_slist_append(h, "User-Agent: conform");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	k->requests++;
	return h;
}

/*
 * One non-streaming request. path may carry a query. On 2xx: 0 and the body
 * in *body (caller frees). Else -1 with e filled. A 401 with a token file
 * re-reads the file and tries once more (a rotated token, client-go does the same).
 */
static int request(struct kube_client *k, const char *method, const char *path,
		const char *ctype, const char *payload, const char *accept,
		char **body, long *status, struct kube_error *e)
{
	char url[4096], errbuf[CURL_ERROR_SIZE];
	struct sink s;
	struct curl_slist *h;
	CURLcode rc;
	long code = 0;
	int attempt, ret = -1;

	*body = NULL;
	if (str_fmt(url, sizeof(url), "%s%s", k->c.server, path)) {
		error_local(e, "request path too long: %.200s...", path);
		return -1;
	}
	for (attempt = 0; attempt < 2; attempt++) {
		dynbuf_init(&s.buf, KUBE_BODY_MAX);
		s.toobig = 0;
		errbuf[0] = '\0';
		if (attempt)
			token_refresh(k, 1);
		h = setup(k, url, method, ctype, accept, errbuf);
		curl_easy_setopt(k->curl, CURLOPT_TIMEOUT_MS, k->c.timeout_ms);
		curl_easy_setopt(k->curl, CURLOPT_WRITEFUNCTION, sink_write);
		curl_easy_setopt(k->curl, CURLOPT_WRITEDATA, &s);
		if (payload) {
			curl_easy_setopt(k->curl, CURLOPT_POSTFIELDS, payload);
			curl_easy_setopt(k->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
		}
		rc = curl_easy_perform(k->curl);
		curl_slist_free_all(h);
		if (rc == CURLE_OK)
			curl_easy_getinfo(k->curl, CURLINFO_RESPONSE_CODE, &code);
		if (s.toobig) {
			error_local(e, "answer to %s %s is larger than %u bytes", method, url,
				KUBE_BODY_MAX);
			goto out;
		}
		if (rc != CURLE_OK) {
			error_unreachable(e, k, rc, errbuf);
			goto out;
		}
		if (code == 401 && !attempt && k->c.token_file[0]) {
			dynbuf_release(&s.buf);
			continue;
		}
		break;
	}
	if (status)
		*status = code;
	if (code >= 200 && code < 300) {
		*body = dynbuf_detach(&s.buf, NULL);
		if (!*body)
			*body = strdup("");
		ret = *body ? 0 : -1;
		if (ret)
			error_local(e, "out of memory");
	} else if (e) {
		kube_error_from_answer(e, code, s.buf.buf, method, url);
	}
out:
	dynbuf_release(&s.buf);
	return ret;
}

/* a request whose 2xx answer is a JSON object */
static int request_json(struct kube_client *k, const char *method, const char *path,
		const char *ctype, const char *payload, cJSON **out, struct kube_error *e)
{
	char *body = NULL;
	cJSON *j;

	if (out)
		*out = NULL;
	if (request(k, method, path, ctype, payload, NULL, &body, NULL, e))
		return -1;
	j = cJSON_Parse(body);
	free(body);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		error_local(e, "answer to %s %s%s is not a JSON object", method, k->c.server, path);
		return -1;
	}
	if (out)
		*out = j;
	else
		cJSON_Delete(j);
	return 0;
}

static int segment_ok(const char *s)
{
	if (!s || !*s || strlen(s) > 253)
		return 0;
	for (; *s; s++)
		if (*s == '/' || *s == '?' || *s == '%' || *s == '#' || *s <= ' ' || *s == 0x7f)
			return 0;
	return 1;
}

int kube_path(char *buf, size_t len, const char *gv, const char *ns, const char *resource,
		const char *name)
{
	struct dynbuf b = DYNBUF_INIT(len ? len - 1 : 0);
	int rc = -1;

	if (!segment_ok(resource) || !gv || !*gv || strchr(gv, '?') || strchr(gv, '%') ||
	    (ns && *ns && !segment_ok(ns)) || (name && *name && !segment_ok(name)))
		goto out;
	if (dynbuf_addf(&b, "%s/%s", strcmp(gv, "v1") ? "/apis" : "/api", gv))
		goto out;
	if (ns && *ns && dynbuf_addf(&b, "/namespaces/%s", ns))
		goto out;
	if (dynbuf_addf(&b, "/%s", resource))
		goto out;
	if (name && *name && dynbuf_addf(&b, "/%s", name))
		goto out;
	rc = str_copy(buf, len, b.buf);
out:
	if (rc && len)
		buf[0] = '\0';
	dynbuf_release(&b);
	return rc;
}

int kube_get(struct kube_client *k, const char *path, cJSON **out, struct kube_error *err)
{
	return request_json(k, "GET", path, NULL, NULL, out, err);
}

/* append "&name=escaped(value)" (or "?...") when value is set */
static int add_param(struct kube_client *k, struct dynbuf *b, const char *name, const char *value)
{
	char *esc;
	int rc;

	if (!value || !*value)
		return 0;
	esc = curl_easy_escape(k->curl, value, 0);
	if (!esc)
		return -1;
	rc = dynbuf_addf(b, "%c%s=%s", strchr(b->buf ? b->buf : "", '?') ? '&' : '?', name, esc);
	curl_free(esc);
	return rc;
}

int kube_list(struct kube_client *k, const char *path, const char *label_selector,
		const char *field_selector, cJSON **out, char *rv, size_t rvlen,
		struct kube_error *err)
{
	struct dynbuf p = DYNBUF_INIT(4096);
	cJSON *j = NULL;
	const cJSON *md;
	int rc = -1;

	if (out)
		*out = NULL;
	if (rv && rvlen)
		rv[0] = '\0';
	if (dynbuf_adds(&p, path) || add_param(k, &p, "labelSelector", label_selector) ||
	    add_param(k, &p, "fieldSelector", field_selector)) {
		error_local(err, "list path too long: %.200s", path);
		goto out;
	}
	if (request_json(k, "GET", p.buf, NULL, NULL, &j, err))
		goto out;
	if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, "items"))) {
		error_local(err, "answer to GET %s%s is not a list (no items)", k->c.server, p.buf);
		goto out;
	}
	md = cJSON_GetObjectItemCaseSensitive(j, "metadata");
	if (rv)
		jstr(md, "resourceVersion", rv, rvlen);
	if (out) {
		*out = j;
		j = NULL;
	}
	rc = 0;
out:
	cJSON_Delete(j);
	dynbuf_release(&p);
	return rc;
}

static int send_obj(struct kube_client *k, const char *method, const char *path,
		const char *ctype, const cJSON *obj, cJSON **out, struct kube_error *err)
{
	char *txt = cJSON_PrintUnformatted(obj);
	int rc;

	if (out)
		*out = NULL;
	if (!txt) {
		error_local(err, "cannot encode the object for %s %s", method, path);
		return -1;
	}
	rc = request_json(k, method, path, ctype, txt, out, err);
	free(txt);
	return rc;
}

int kube_create(struct kube_client *k, const char *path, const cJSON *obj, cJSON **out,
		struct kube_error *err)
{
	return send_obj(k, "POST", path, "application/json", obj, out, err);
}

int kube_update(struct kube_client *k, const char *path, const cJSON *obj, cJSON **out,
		struct kube_error *err)
{
	return send_obj(k, "PUT", path, "application/json", obj, out, err);
}

int kube_apply(struct kube_client *k, const char *path, const cJSON *obj, int force,
		cJSON **out, struct kube_error *err)
{
	char p[4096];

	/* apimachinery pkg/apis/meta/v1/validation ValidatePatchOptions: fieldManager
	 * is required for apply, force is refused on any other patch */
	if (str_fmt(p, sizeof(p), "%s?fieldManager=%s%s", path, KUBE_FIELD_MANAGER,
			force ? "&force=true" : "")) {
		error_local(err, "apply path too long: %.200s", path);
		return -1;
	}
	return send_obj(k, "PATCH", p, "application/apply-patch+yaml", obj, out, err);
}

int kube_patch(struct kube_client *k, const char *path, enum kube_patch_type type,
		const char *body, cJSON **out, struct kube_error *err)
{
	static const char *const ctypes[] = {
		[KUBE_PATCH_MERGE] = "application/merge-patch+json",
		[KUBE_PATCH_JSON] = "application/json-patch+json",
		[KUBE_PATCH_STRATEGIC] = "application/strategic-merge-patch+json",
	};
	char p[4096];

	if ((unsigned)type > KUBE_PATCH_STRATEGIC || !body) {
		error_local(err, "bad patch for %s", path);
		return -1;
	}
	if (str_fmt(p, sizeof(p), "%s?fieldManager=%s", path, KUBE_FIELD_MANAGER)) {
		error_local(err, "patch path too long: %.200s", path);
		return -1;
	}
	return request_json(k, "PATCH", p, ctypes[type], body, out, err);
}

int kube_delete_grace(struct kube_client *k, const char *path, const char *propagation,
		long grace_s, struct kube_error *err)
{
	struct dynbuf b = DYNBUF_INIT(256);
	int rc;

	if (propagation && strcmp(propagation, "Foreground") && strcmp(propagation, "Background") &&
	    strcmp(propagation, "Orphan")) {
		error_local(err, "bad propagation policy \"%s\" for %s: use Foreground, "
			"Background or Orphan", propagation, path);
		return -1;
	}
	if (!propagation && grace_s < 0)
		return request_json(k, "DELETE", path, NULL, NULL, NULL, err);
	/* DeleteOptions in the body, as client-go sends them */
	dynbuf_adds(&b, "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\"");
	if (propagation)
		dynbuf_addf(&b, ",\"propagationPolicy\":\"%s\"", propagation);
	if (grace_s >= 0)
		dynbuf_addf(&b, ",\"gracePeriodSeconds\":%ld", grace_s);
	if (dynbuf_adds(&b, "}")) {
		dynbuf_release(&b);
		error_local(err, "out of memory deleting %s", path);
		return -1;
	}
	rc = request_json(k, "DELETE", path, "application/json", b.buf, NULL, err);
	dynbuf_release(&b);
	return rc;
}

int kube_delete(struct kube_client *k, const char *path, const char *propagation,
		struct kube_error *err)
{
	return kube_delete_grace(k, path, propagation, -1, err);
}

int kube_logs(struct kube_client *k, const char *ns, const char *pod, const char *container,
		int tail_lines, int previous, char **out, struct kube_error *err)
{
	char base[1024];
	struct dynbuf p = DYNBUF_INIT(2048);
	int rc = -1;

	*out = NULL;
	if (tail_lines < 1 || tail_lines > 10000 ||
	    kube_path(base, sizeof(base), "v1", ns, "pods", pod) ||
	    (container && !segment_ok(container))) {
		error_local(err, "bad log request for pod %s/%s", ns ? ns : "", pod ? pod : "");
		return -1;
	}
	if (dynbuf_addf(&p, "%s/log?tailLines=%d", base, tail_lines) ||
	    add_param(k, &p, "container", container) ||
	    (previous && dynbuf_adds(&p, "&previous=true")))
		goto out;
	rc = request(k, "GET", p.buf, NULL, NULL, "text/plain, */*", out, NULL, err);
out:
	dynbuf_release(&p);
	return rc;
}

int kube_get_text(struct kube_client *k, const char *path, char **out, size_t *len,
		  struct kube_error *err)
{
	int rc = request(k, "GET", path, NULL, NULL, "text/plain, */*", out, NULL, err);

	if (len)
		*len = rc == 0 && *out ? strlen(*out) : 0;
	return rc;
}

void kube_curl_tls(CURL *c, const struct kube_config *kc)
{
	if (kc->ca_file[0])
		curl_easy_setopt(c, CURLOPT_CAINFO, kc->ca_file);
	if (kc->insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)KUBE_CONNECT_TIMEOUT_MS);
}

struct curl_slist *kube_curl_auth(const struct kube_config *kc, struct curl_slist *h)
{
	char *tok = NULL, *line;
	const char *t = kc->token;
	size_t n;

	/* the file, when there is one: bound tokens rotate */
	if (kc->token_file[0]) {
		tok = file_read(kc->token_file, KUBE_TOKEN_MAX, NULL);
		if (tok) {
			tok[strcspn(tok, "\r\n")] = '\0';
			t = tok;
		}
	}
	if (t && *t) {
		n = strlen(t) + 32;
		line = malloc(n);
		if (line) {
			str_fmt(line, n, "Authorization: Bearer %s", t);
			h = curl_slist_append(h, line);
			explicit_bzero(line, n);
			free(line);
		}
	}
	if (tok)
		explicit_bzero(tok, strlen(tok));
	free(tok);
	return h;
}

/* ---- list-then-watch ---- */

struct watch_run {
	struct kube_client *k;
	kube_watch_cb cb;
	void *arg;
	struct kube_watch_stats *st;
	const struct kube_watch_opts *o;
	int64_t deadline;
	struct dynbuf line;        /* bytes of the event being received */
	struct dynbuf errbody;     /* the body of a non-200 answer */
	long code;                 /* HTTP status of this watch */
	unsigned events;           /* events (bookmarks included) in this watch */
	int stopped;               /* cb or stop asked to stop */
	int expired;               /* ERROR event with code 410 */
	int bad;                   /* malformed stream or non-410 ERROR event */
	struct kube_error *err;
};

static int set_rv(struct watch_run *w, const cJSON *obj)
{
	char rv[64];

	jstr(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "resourceVersion", rv, sizeof(rv));
	if (!rv[0])
		return -1;
	str_copy(w->st->rv, sizeof(w->st->rv), rv);
	return 0;
}

/* one event line; returns -1 to end the stream */
static int watch_event(struct watch_run *w, const char *s)
{
	cJSON *ev = cJSON_Parse(s);
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(ev, "type");
	const cJSON *obj = cJSON_GetObjectItemCaseSensitive(ev, "object");
	int rc = -1;

	if (!cJSON_IsString(type) || !cJSON_IsObject(obj)) {
		error_local(w->err, "malformed watch event from %s: %.120s", w->k->c.server, s);
		w->bad = 1;
		goto out;
	}
	w->events++;
	if (!strcmp(type->valuestring, "ERROR")) {
		/* an expired version usually arrives as 200 + this event (apiserver
		 * pkg/storage/cacher/cacher.go newErrWatcher) */
		char *txt = cJSON_PrintUnformatted(obj);
		struct kube_error e;
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(obj, "code");

		kube_error_from_answer(&e, cJSON_IsNumber(c) ? (long)c->valuedouble : 500, txt,
				"WATCH", w->k->c.server);
		free(txt);
		if (e.code == 410) {
			w->expired = 1;
		} else {
			w->bad = 1;
			if (w->err)
				*w->err = e;
		}
		goto out;
	}
	if (!strcmp(type->valuestring, "BOOKMARK")) {
		w->st->bookmarks++;
		set_rv(w, obj);
		rc = 0;
		goto out;
	}
	if (strcmp(type->valuestring, "ADDED") && strcmp(type->valuestring, "MODIFIED") &&
	    strcmp(type->valuestring, "DELETED")) {
		error_local(w->err, "unknown watch event type \"%.32s\" from %s",
			type->valuestring, w->k->c.server);
		w->bad = 1;
		goto out;
	}
	set_rv(w, obj);
	if (w->cb(w->arg, type->valuestring, obj)) {
		w->stopped = 1;
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(ev);
	return rc;
}

static size_t watch_write(char *p, size_t size, size_t nmemb, void *ud)
{
	struct watch_run *w = ud;
	size_t n = size * nmemb, i, start;

	if (!w->code)
		curl_easy_getinfo(w->k->curl, CURLINFO_RESPONSE_CODE, &w->code);
	if (w->code != 200)
		return dynbuf_add(&w->errbody, p, n) ? 0 : n;
	/* newline-delimited JSON (json.Encoder.Encode); chunks mean nothing */
	for (start = 0, i = 0; i < n; i++) {
		if (p[i] != '\n')
			continue;
		if (dynbuf_add(&w->line, p + start, i - start)) {
			error_local(w->err, "watch event from %s larger than %u bytes",
				w->k->c.server, KUBE_BODY_MAX);
			w->bad = 1;
			return 0;
		}
		start = i + 1;
		if (w->line.len && watch_event(w, w->line.buf))
			return 0;
		dynbuf_reset(&w->line);
	}
	if (start < n && dynbuf_add(&w->line, p + start, n - start)) {
		error_local(w->err, "watch event from %s larger than %u bytes", w->k->c.server,
			KUBE_BODY_MAX);
		w->bad = 1;
		return 0;
	}
	return n;
}

static int watch_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	struct watch_run *w = ud;

	(void)a; (void)b; (void)c; (void)d;
	if (w->o->stop && atomic_load(w->o->stop)) {
		w->stopped = 1;
		return 1;
	}
	return 0;
}

static int stop_now(const struct watch_run *w)
{
	return w->stopped || (w->o->stop && atomic_load(w->o->stop)) || mono_ms() >= w->deadline;
}

/* list, then SYNC + ADDED for each item; -1 on error (e filled), 1 when cb stopped */
static int watch_list(struct watch_run *w, const char *path, struct kube_error *e)
{
	cJSON *list = NULL, *it;
	char rv[64];

	w->st->lists++;
	if (kube_list(w->k, path, w->o->label_selector, w->o->field_selector, &list, rv,
			sizeof(rv), e))
		return -1;
	str_copy(w->st->rv, sizeof(w->st->rv), rv);
	if (w->cb(w->arg, "SYNC", NULL)) {
		cJSON_Delete(list);
		return 1;
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(list, "items")) {
		if (w->cb(w->arg, "ADDED", it)) {
			cJSON_Delete(list);
			return 1;
		}
	}
	cJSON_Delete(list);
	/* the list is complete: what was not in it is gone */
	return w->cb(w->arg, "SYNCED", NULL) ? 1 : 0;
}

/* errors no retry cures */
static int fatal_code(long code)
{
	return code == 400 || code == 401 || code == 403 || code == 404 || code == 405 ||
		code == 406 || code == 415 || code == 422;
}

int kube_watch(struct kube_client *k, const char *path, const struct kube_watch_opts *o,
		kube_watch_cb cb, void *arg, struct kube_watch_stats *st, struct kube_error *err)
{
	struct watch_run w;
	struct kube_error e;
	struct kube_watch_stats local;
	struct dynbuf p = DYNBUF_INIT(4096);
	char url[4096], errbuf[CURL_ERROR_SIZE];
	int need_list = 1, fails = 0, max_retries, rc = -1;
	long timeout_s;

	if (!st)
		st = &local;
	memset(st, 0, sizeof(*st));
	memset(&w, 0, sizeof(w));
	w.k = k;
	w.cb = cb;
	w.arg = arg;
	w.st = st;
	w.o = o;
	w.err = &e;
	w.deadline = mono_ms() + (o->max_ms > 0 ? o->max_ms : 1);
	max_retries = o->max_retries > 0 ? o->max_retries : 5;
	timeout_s = o->timeout_s > 0 ? o->timeout_s : 300;
	dynbuf_init(&w.line, KUBE_BODY_MAX);
	dynbuf_init(&w.errbody, 64 << 10);

	while (!stop_now(&w)) {
		struct curl_slist *h;
		CURLcode crc;
		long left_s;
		int64_t began;

		if (fails > max_retries) {
			/* e still says why the last attempt failed */
			if (err)
				*err = e;
			goto out;
		}
		memset(&e, 0, sizeof(e));
		if (fails) {
			/* 100 ms, 200 ms, ... up to 2 s, never past the deadline */
			int64_t pause = 100LL << (fails < 5 ? fails - 1 : 4);
			int64_t left = w.deadline - mono_ms();
			struct timespec ts;

			if (pause > left)
				pause = left > 0 ? left : 0;
			ts.tv_sec = pause / 1000;
			ts.tv_nsec = (pause % 1000) * 1000000L;
			nanosleep(&ts, NULL);
			if (stop_now(&w))
				break;
		}
		if (need_list) {
			int r = watch_list(&w, path, &e);

			if (r > 0)
				break;
			if (r < 0) {
				if (fatal_code(e.code)) {
					if (err)
						*err = e;
					goto out;
				}
				fails++;
				continue;
			}
			need_list = 0;
		}

		/* apimachinery meta/v1 ListOptions: watch=1, from the last version seen,
		 * bookmarks on (client-go tools/cache/reflector.go does the same) */
		left_s = (long)((w.deadline - mono_ms()) / 1000) + 1;
		dynbuf_reset(&p);
		if (dynbuf_addf(&p, "%s?watch=1&resourceVersion=%s&allowWatchBookmarks=true"
				"&timeoutSeconds=%ld", path, st->rv,
				left_s < timeout_s ? left_s : timeout_s) ||
		    add_param(k, &p, "labelSelector", o->label_selector) ||
		    add_param(k, &p, "fieldSelector", o->field_selector) ||
		    str_fmt(url, sizeof(url), "%s%s", k->c.server, p.buf)) {
			error_local(err, "watch path too long: %.200s", path);
			goto out;
		}
		st->watches++;
		dynbuf_reset(&w.line);
		dynbuf_reset(&w.errbody);
		w.code = 0;
		w.events = 0;
		w.expired = 0;
		w.bad = 0;
		errbuf[0] = '\0';
		h = setup(k, url, "GET", NULL, NULL, errbuf);
		curl_easy_setopt(k->curl, CURLOPT_TIMEOUT_MS, (long)(w.deadline - mono_ms()) + 1);
		curl_easy_setopt(k->curl, CURLOPT_WRITEFUNCTION, watch_write);
		curl_easy_setopt(k->curl, CURLOPT_WRITEDATA, &w);
		curl_easy_setopt(k->curl, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(k->curl, CURLOPT_XFERINFOFUNCTION, watch_progress);
		curl_easy_setopt(k->curl, CURLOPT_XFERINFODATA, &w);
		began = mono_ms();
		crc = curl_easy_perform(k->curl);
		curl_slist_free_all(h);
		if (!w.code)
			curl_easy_getinfo(k->curl, CURLINFO_RESPONSE_CODE, &w.code);

		if (w.stopped)
			break;
		if (w.bad) {
			if (err)
				*err = e;
			goto out;
		}
		if (w.expired || w.code == 410) {
			/* 410 either way (api-concepts.md "410 Gone responses"): list again */
			st->expired++;
			need_list = 1;
			fails = 0;
			continue;
		}
		if (w.code && w.code != 200) {
			if (w.code == 401 && k->c.token_file[0] && !fails) {
				token_refresh(k, 1);
				fails++;
				continue;
			}
			kube_error_from_answer(&e, w.code, w.errbody.buf, "GET", url);
			if (fatal_code(w.code)) {
				if (err)
					*err = e;
				goto out;
			}
			fails++;
			continue;
		}
		if (stop_now(&w))
			break;
		if (crc != CURLE_OK) {
			/* a dropped connection: resume from st->rv */
			error_unreachable(&e, k, crc, errbuf);
			fails = w.events ? 0 : fails + 1;
			continue;
		}
		/* a clean end (timeoutSeconds): go on; only a quick empty one counts as a failure */
		if (w.events || mono_ms() - began >= 1000)
			fails = 0;
		else {
			error_local(&e, "watch of %s%s ended at once, %d times in a row",
				k->c.server, path, fails + 1);
			fails++;
		}
	}
	rc = 0;
out:
	dynbuf_release(&p);
	dynbuf_release(&w.line);
	dynbuf_release(&w.errbody);
	return rc;
}

/* ---- pod status ---- */

static long jlong(const cJSON *o, const char *key, long dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? (long)v->valuedouble : dflt;
}

static void container_read(const cJSON *cs, struct kube_container_status *c, int init)
{
	const cJSON *state = cJSON_GetObjectItemCaseSensitive(cs, "state");
	const cJSON *last = cJSON_GetObjectItemCaseSensitive(cs, "lastState");
	const cJSON *s, *lt;
	static const char *const kinds[] = { "waiting", "running", "terminated" };
	size_t i;

	memset(c, 0, sizeof(*c));
	c->init = init;
	jstr(cs, "name", c->name, sizeof(c->name));
	c->ready = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cs, "ready"));
	c->restarts = jlong(cs, "restartCount", 0);
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		s = cJSON_GetObjectItemCaseSensitive(state, kinds[i]);
		if (!cJSON_IsObject(s))
			continue;
		str_copy(c->state, sizeof(c->state), kinds[i]);
		jstr(s, "reason", c->reason, sizeof(c->reason));
		jstr(s, "message", c->message, sizeof(c->message));
		break;
	}
	lt = cJSON_GetObjectItemCaseSensitive(last, "terminated");
	c->last_exit_code = -1;
	if (cJSON_IsObject(lt)) {
		jstr(lt, "reason", c->last_reason, sizeof(c->last_reason));
		c->last_exit_code = jlong(lt, "exitCode", -1);
	}
}

int kube_pod_status_read(const cJSON *pod, struct kube_pod_status *st)
{
	const cJSON *status, *cs;
	static const char *const lists[] = { "initContainerStatuses", "containerStatuses" };
	size_t i;
	char kind[32];

	memset(st, 0, sizeof(*st));
	jstr(pod, "kind", kind, sizeof(kind));
	if (!cJSON_IsObject(pod) || (kind[0] && strcmp(kind, "Pod")))
		return -1;
	jstr(cJSON_GetObjectItemCaseSensitive(pod, "metadata"), "name", st->name, sizeof(st->name));
	status = cJSON_GetObjectItemCaseSensitive(pod, "status");
	jstr(status, "phase", st->phase, sizeof(st->phase));
	for (i = 0; i < 2; i++) {
		cJSON_ArrayForEach(cs, cJSON_GetObjectItemCaseSensitive(status, lists[i])) {
			if (st->ncontainers == KUBE_POD_CONTAINERS)
				break;
			container_read(cs, &st->c[st->ncontainers], i == 0);
			st->restarts += st->c[st->ncontainers].restarts;
			st->ncontainers++;
		}
	}
	return 0;
}

/* waiting reasons that mean "this will not start by itself" (kubernetes
 * pkg/kubelet/images/types.go, pkg/kubelet/container/sync_result.go) */
static int waiting_is_failure(const char *r)
{
	static const char *const bad[] = {
		"CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "ErrImageNeverPull",
		"InvalidImageName", "ImageInspectError", "RegistryUnavailable",
		"RunContainerError", "CreateContainerConfigError", "CreateContainerError",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!strcmp(r, bad[i]))
			return 1;
	return 0;
}

/* the newest of an event's lastTimestamp / eventTime / firstTimestamp (RFC 3339 sorts as text) */
static const char *event_time(const cJSON *ev)
{
	static const char *const keys[] = { "lastTimestamp", "eventTime", "firstTimestamp" };
	size_t i;

	for (i = 0; i < 3; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(ev, keys[i]);

		if (cJSON_IsString(v) && v->valuestring[0])
			return v->valuestring;
	}
	return "";
}

const char *kube_pod_why(const cJSON *pod, const cJSON *events, char *buf, size_t len)
{
	struct kube_pod_status st;
	const cJSON *cond, *ev, *best = NULL;
	int i;

	buf[0] = '\0';
	if (kube_pod_status_read(pod, &st))
		return buf;
	for (i = 0; i < st.ncontainers; i++) {
		struct kube_container_status *c = &st.c[i];

		if (strcmp(c->state, "waiting") || !waiting_is_failure(c->reason))
			continue;
		if (!strcmp(c->reason, "CrashLoopBackOff") && c->last_exit_code >= 0)
			str_fmt(buf, len, "container %s: %s (restarted %ld times, last exit %ld%s%s)",
				c->name, c->reason, c->restarts, c->last_exit_code,
				c->last_reason[0] ? " " : "", c->last_reason);
		else
			str_fmt(buf, len, "container %s: %s%s%s", c->name, c->reason,
				c->message[0] ? ": " : "", c->message);
		return buf;
	}
	cJSON_ArrayForEach(cond, cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(pod, "status"), "conditions")) {
		char type[32], status[16], reason[64], message[512];

		jstr(cond, "type", type, sizeof(type));
		jstr(cond, "status", status, sizeof(status));
		if (strcmp(type, "PodScheduled") || strcmp(status, "False"))
			continue;
		jstr(cond, "reason", reason, sizeof(reason));
		jstr(cond, "message", message, sizeof(message));
		str_fmt(buf, len, "not scheduled: %s%s%s", reason[0] ? reason : "Unschedulable",
			message[0] ? ": " : "", message);
		return buf;
	}
	cJSON_ArrayForEach(ev, cJSON_GetObjectItemCaseSensitive(events, "items")) {
		char type[16];

		jstr(ev, "type", type, sizeof(type));
		if (strcmp(type, "Warning"))
			continue;
		if (!best || strcmp(event_time(ev), event_time(best)) >= 0)
			best = ev;
	}
	if (best) {
		char reason[64], message[512];

		jstr(best, "reason", reason, sizeof(reason));
		jstr(best, "message", message, sizeof(message));
		str_fmt(buf, len, "event %s: %s", reason, message);
		return buf;
	}
	if (!strcmp(st.phase, "Pending"))
		str_fmt(buf, len, "pending (no reason reported yet)");
	return buf;
}

int kube_pod_diagnose(struct kube_client *k, const char *ns, const char *pod,
		struct kube_pod_status *st, char *why, size_t len, struct kube_error *err)
{
	char path[1024], sel[600];
	cJSON *p = NULL, *ev = NULL;
	int rc = -1;

	why[0] = '\0';
	if (kube_path(path, sizeof(path), "v1", ns, "pods", pod) ||
	    str_fmt(sel, sizeof(sel), "involvedObject.kind=Pod,involvedObject.name=%s", pod)) {
		error_local(err, "bad pod name \"%.64s\" or namespace \"%.64s\"", pod ? pod : "",
			ns ? ns : "");
		return -1;
	}
	if (kube_get(k, path, &p, err))
		goto out;
	kube_path(path, sizeof(path), "v1", ns, "events", NULL);
	if (kube_list(k, path, NULL, sel, &ev, NULL, 0, err))
		goto out;
	if (kube_pod_status_read(p, st)) {
		error_local(err, "%s/%s is not a pod", ns, pod);
		goto out;
	}
	kube_pod_why(p, ev, why, len);
	rc = 0;
out:
	cJSON_Delete(p);
	cJSON_Delete(ev);
	return rc;
}
