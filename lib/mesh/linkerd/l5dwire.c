/*
 * l5dwire.c - the two API server paths the Linkerd adapter reads that are
 * not JSON, so kubeapi does not carry them: a proxy's metrics text through
 * the pod proxy, and the linkerd-viz tap stream (a POST of a protobuf
 * TapByResourceRequest answered by length-prefixed TapEvents for as long as
 * the client keeps it open). Wire facts: L2 viz/tap/pkg/protohttp.go
 * TapReqToURL, viz/tap/api/handlers.go, pkg/protohttp/protohttp.go
 * (L2 = linkerd/linkerd2).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "base/util.h"
#include "linkerd/tap.pb-c.h"
#include "mesh/linkerd/linkerd.h"

#define WIRE_ERRBODY_MAX (64 * 1024)

/* a DNS-1123 label: what may stand in a path segment unescaped */
static int dns_label(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 253)
		return 0;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      *p == '.'))
			return 0;
	return 1;
}

/* the first line of an answer body, for a message */
static void first_line(const char *body, char *out, size_t len)
{
	str_copy(out, len, body ? body : "");
	out[strcspn(out, "\r\n")] = '\0';
}

int l5d_tap_request(const char *ns, const char *name, float max_rps, unsigned char **out,
		    size_t *len, char *path, size_t pathlen)
{
	L5dtap__TapByResourceRequest req = L5DTAP__TAP_BY_RESOURCE_REQUEST__INIT;
	L5dtap__ResourceSelection sel = L5DTAP__RESOURCE_SELECTION__INIT;
	L5dtap__Resource res = L5DTAP__RESOURCE__INIT;
	L5dtap__TapByResourceRequest__Match match = L5DTAP__TAP_BY_RESOURCE_REQUEST__MATCH__INIT;
	L5dtap__TapByResourceRequest__Match__Seq all =
		L5DTAP__TAP_BY_RESOURCE_REQUEST__MATCH__SEQ__INIT;
	L5dtap__TapByResourceRequest__Extract ex = L5DTAP__TAP_BY_RESOURCE_REQUEST__EXTRACT__INIT;
	L5dtap__TapByResourceRequest__Extract__Http exh =
		L5DTAP__TAP_BY_RESOURCE_REQUEST__EXTRACT__HTTP__INIT;
	L5dtap__TapByResourceRequest__Extract__Http__Headers hdrs =
		L5DTAP__TAP_BY_RESOURCE_REQUEST__EXTRACT__HTTP__HEADERS__INIT;
	size_t n;

	*out = NULL;
	if (!dns_label(ns) || !dns_label(name))
		return -EINVAL;
	/* the CLI appends "s" to the singular type for the path (TapReqToURL) */
	if (str_fmt(path, pathlen, "/apis/tap.linkerd.io/v1alpha1/watch/namespaces/%s/"
		    "deployments/%s/tap", ns, name))
		return -EINVAL;
	res.namespace_ = (char *)ns;
	res.type = (char *)"deployment";
	res.name = (char *)name;
	sel.resource = &res;
	req.target = &sel;
	/* the server takes only a top-level all{} (grpc_server.go) */
	match.match_case = L5DTAP__TAP_BY_RESOURCE_REQUEST__MATCH__MATCH_ALL;
	match.all = &all;
	req.match = &match;
	req.max_rps = max_rps;
	/* headers carry x-request-id and l5d-client-id (the CLI's -o json) */
	exh.extract_case = L5DTAP__TAP_BY_RESOURCE_REQUEST__EXTRACT__HTTP__EXTRACT_HEADERS;
	exh.headers = &hdrs;
	ex.extract_case = L5DTAP__TAP_BY_RESOURCE_REQUEST__EXTRACT__EXTRACT_HTTP;
	ex.http = &exh;
	req.extract = &ex;
	n = l5dtap__tap_by_resource_request__get_packed_size(&req);
	*out = malloc(n ? n : 1);
	if (!*out)
		return -ENOMEM;
	*len = l5dtap__tap_by_resource_request__pack(&req, *out);
	return 0;
}

/* ---- the tap stream ---- */

struct l5d_tapstream {
	CURLM *multi;
	CURL *easy;
	struct curl_slist *hdrs;
	unsigned char *body;
	size_t len;
	int (*on_bytes)(const void *p, size_t n, void *arg);
	void *arg;
	char path[512];
	char l5d_error[128];     /* the linkerd-error header, "" when none */
	struct dynbuf errbody;   /* the body of an error answer */
	int stopped;             /* on_bytes asked to stop */
	int done;
};

static size_t ts_header(char *p, size_t s, size_t n, void *ud)
{
	struct l5d_tapstream *t = ud;
	size_t len = s * n;
	static const char name[] = "linkerd-error:";

	/* set by the tap server when it fails after authorization, with a
	 * framed viz.ApiError as the body and status 200 (L2
	 * pkg/protohttp/protohttp.go WriteErrorToHTTPResponse) */
	if (len > sizeof(name) - 1 && !strncasecmp(p, name, sizeof(name) - 1)) {
		size_t v = sizeof(name) - 1;

		while (v < len && p[v] == ' ')
			v++;
		snprintf(t->l5d_error, sizeof(t->l5d_error), "%.*s", (int)(len - v), p + v);
		t->l5d_error[strcspn(t->l5d_error, "\r\n")] = '\0';
		if (!t->l5d_error[0])
			str_copy(t->l5d_error, sizeof(t->l5d_error), "error");
	}
	return len;
}

static size_t ts_write(char *p, size_t s, size_t n, void *ud)
{
	struct l5d_tapstream *t = ud;
	long code = 0;

	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200 || t->l5d_error[0]) {
		dynbuf_add(&t->errbody, p, s * n);   /* capped: the rest is dropped */
		return s * n;
	}
	if (t->on_bytes && t->on_bytes(p, s * n, t->arg)) {
		t->stopped = 1;
		return 0;
	}
	return s * n;
}

struct l5d_tapstream *l5d_tapstream_new(const struct kube_config *kc, const char *path,
					const unsigned char *body, size_t len,
					int (*on_bytes)(const void *p, size_t n, void *arg),
					void *arg)
{
	struct l5d_tapstream *t = calloc(1, sizeof(*t));
	char url[2048];

	if (!t)
		return NULL;
	dynbuf_init(&t->errbody, WIRE_ERRBODY_MAX);
	t->body = malloc(len ? len : 1);
	t->multi = curl_multi_init();
	t->easy = curl_easy_init();
	if (!t->body || !t->multi || !t->easy) {
		l5d_tapstream_free(t);
		return NULL;
	}
	memcpy(t->body, body, len);
	t->len = len;
	t->on_bytes = on_bytes;
	t->arg = arg;
	str_copy(t->path, sizeof(t->path), path);
	str_fmt(url, sizeof(url), "%s%s", kc->server, path);
	t->hdrs = kube_curl_auth(kc, NULL);
	/* the tap server ignores the type; libcurl would say form-urlencoded */
	t->hdrs = curl_slist_append(t->hdrs, "Content-Type: application/octet-stream");
	t->hdrs = curl_slist_append(t->hdrs, "Accept: application/octet-stream");
	curl_easy_setopt(t->easy, CURLOPT_URL, url);
	curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, t->hdrs);
	curl_easy_setopt(t->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(t->easy, CURLOPT_POSTFIELDS, (const char *)t->body);
	curl_easy_setopt(t->easy, CURLOPT_POSTFIELDSIZE, (long)t->len);
	curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, ts_write);
	curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(t->easy, CURLOPT_HEADERFUNCTION, ts_header);
	curl_easy_setopt(t->easy, CURLOPT_HEADERDATA, t);
	kube_curl_tls(t->easy, kc);
	curl_multi_add_handle(t->multi, t->easy);
	return t;
}

/* why the stream ended, into err; 0 when it just ended */
static int ts_verdict(struct l5d_tapstream *t, CURLcode cc, char *err, size_t errlen)
{
	long code = 0;
	char line[512];

	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
	if (t->l5d_error[0]) {
		char msg[400] = "";
		const unsigned char *b = (const unsigned char *)t->errbody.buf;
		size_t n = t->errbody.len;

		/* the ApiError is framed like an event: 4-byte LE length first */
		if (n >= 4) {
			uint32_t fl = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
				      (uint32_t)b[3] << 24;

			if (fl <= n - 4 && l5d_tap_api_error(b + 4, fl, msg, sizeof(msg)) == 0)
				msg[strcspn(msg, "\n")] = '\0';
		}
		str_fmt(err, errlen, "tap %s: the tap server refused it (%s): %s", t->path,
			t->l5d_error, msg[0] ? msg : "no message");
		return -EIO;
	}
	if (code && code != 200) {
		struct kube_error e;

		/* a Status from the API server (RBAC), JSON from the tap server's
		 * own authorization, or plain text from the aggregator (503) */
		dynbuf_adds(&t->errbody, "");
		kube_error_from_answer(&e, code, t->errbody.buf, "POST", t->path);
		if (e.message[0])
			str_copy(line, sizeof(line), e.message);
		else
			first_line(t->errbody.buf, line, sizeof(line));
		str_fmt(err, errlen, "tap %s: HTTP %ld: %s%s", t->path, code, line,
			code == 403 ? " (conformd needs watch on deployments/tap in API group "
			"tap.linkerd.io: manifests/kubernetes/linkerd/rbac.yaml)" :
			code == 503 || code == 404 ? " (is linkerd-viz installed and its "
			"v1alpha1.tap.linkerd.io APIService available?)" : "");
		return -EIO;
	}
	if (cc != CURLE_OK && !t->stopped) {
		str_fmt(err, errlen, "tap %s: %s", t->path, curl_easy_strerror(cc));
		return -EIO;
	}
	return 0;
}

int l5d_tapstream_run(struct l5d_tapstream *t, int timeout_ms, char *err, size_t errlen)
{
	int64_t end = mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	int running = 1, left;
	CURLMsg *msg;

	if (t->done)
		return t->done < 0 ? -EIO : 0;
	for (;;) {
		int64_t now;

		curl_multi_perform(t->multi, &running);
		while ((msg = curl_multi_info_read(t->multi, &left)))
			if (msg->msg == CURLMSG_DONE) {
				int rc = ts_verdict(t, msg->data.result, err, errlen);

				t->done = rc < 0 ? -1 : 1;
				return rc;
			}
		now = mono_ms();
		if (!running || now >= end)
			return 1;
		curl_multi_poll(t->multi, NULL, 0, (int)(end - now > 200 ? 200 : end - now), NULL);
	}
}

void l5d_tapstream_free(struct l5d_tapstream *t)
{
	if (!t)
		return;
	if (t->multi && t->easy)
		curl_multi_remove_handle(t->multi, t->easy);
	if (t->easy)
		curl_easy_cleanup(t->easy);
	if (t->multi)
		curl_multi_cleanup(t->multi);
	curl_slist_free_all(t->hdrs);
	dynbuf_release(&t->errbody);
	free(t->body);
	free(t);
}
