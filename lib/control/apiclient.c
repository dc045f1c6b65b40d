/*
 * apiclient.c - libcurl to conformd's API, over its unix socket or over HTTP
 * with the run's token. The CLI is short-lived
 * and makes a handful of requests, so each request uses its own easy handle;
 * the response lands in a capped dynbuf so a confused peer cannot exhaust us.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "control/apiclient.h"
#include "base/util.h"

struct sink {
	struct dynbuf buf;
	int toobig;
};

static size_t api_write(char *p, size_t size, size_t nmemb, void *ud)
{
	struct sink *s = ud;
	size_t n = size * nmemb;

	if (dynbuf_add(&s->buf, p, n)) {
		s->toobig = 1;
		return 0; /* makes curl fail with CURLE_WRITE_ERROR */
	}
	return n;
}

static int curl_ready(void)
{
	static int done;
	static int ok;

	if (!done) {
		ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
		done = 1;
	}
	return ok;
}

int api_endpoint_unix(struct api_endpoint *ep, const char *path, char *err, size_t errlen)
{
	memset(ep, 0, sizeof(*ep));
	ep->kind = API_EP_UNIX;
	if (!path || !*path || str_copy(ep->sock, sizeof(ep->sock), path) < 0) {
		snprintf(err, errlen, "socket path empty or longer than %zu bytes",
			 sizeof(ep->sock) - 1);
		return -1;
	}
	return 0;
}

int api_endpoint_http(struct api_endpoint *ep, const char *base_url, const char *token,
		      char *err, size_t errlen)
{
	size_t n;

	memset(ep, 0, sizeof(*ep));
	ep->kind = API_EP_HTTP;
	if (!base_url || (strncmp(base_url, "http://", 7) && strncmp(base_url, "https://", 8))) {
		snprintf(err, errlen, "API URL '%.200s': give http://HOST:PORT or https://..., "
			 "e.g. http://127.0.0.1:8080", base_url ? base_url : "");
		return -1;
	}
	if (strpbrk(base_url, " \t\r\n?#") || str_copy(ep->base, sizeof(ep->base), base_url) < 0) {
		snprintf(err, errlen, "API URL '%.200s': has spaces, a query or a fragment, or "
			 "is longer than %zu bytes", base_url, sizeof(ep->base) - 1);
		return -1;
	}
	n = strlen(ep->base);
	while (n > 8 && ep->base[n - 1] == '/')
		ep->base[--n] = '\0';
	if (!token || !*token || strpbrk(token, "\r\n") ||
	    str_copy(ep->token, sizeof(ep->token), token) < 0) {
		snprintf(err, errlen, "the API over HTTP needs the run's token (one line, at "
			 "most %zu bytes)", sizeof(ep->token) - 1);
		return -1;
	}
	return 0;
}

const char *api_endpoint_name(const struct api_endpoint *ep)
{
	return ep->kind == API_EP_UNIX ? ep->sock : ep->base;
}

int api_request(const char *sock_path, const char *method, const char *path, const char *body,
		long timeout_ms, struct api_response *resp, char *err, size_t errlen)
{
	struct api_endpoint ep;

	memset(resp, 0, sizeof(*resp));
	if (api_endpoint_unix(&ep, sock_path, err, errlen) < 0)
		return -1;
	return api_call(&ep, method, path, body, timeout_ms, resp, err, errlen);
}

int api_call(const struct api_endpoint *ep, const char *method, const char *path,
	     const char *body, long timeout_ms, struct api_response *resp, char *err,
	     size_t errlen)
{
	struct sink s = { DYNBUF_INIT(API_RESPONSE_MAX), 0 };
	char errbuf[CURL_ERROR_SIZE] = "";
	char url[1200], tokhdr[160];
	struct curl_slist *hdrs = NULL;
	struct stat st;
	CURL *c = NULL;
	CURLcode rc;
	int ret = -1;

	memset(resp, 0, sizeof(*resp));
	if (timeout_ms <= 0)
		timeout_ms = API_TIMEOUT_MS;
	if (ep->kind == API_EP_UNIX) {
		if (stat(ep->sock, &st)) {
			snprintf(err, errlen, "%s: %s", ep->sock, strerror(errno));
			goto out;
		}
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s: not a socket", ep->sock);
			goto out;
		}
	} else if (ep->kind != API_EP_HTTP) {
		snprintf(err, errlen, "no API endpoint");
		goto out;
	}
	if (path[0] != '/' ||
	    str_fmt(url, sizeof(url), "%s%s", ep->kind == API_EP_UNIX ? "http://conformd" : ep->base,
		    path)) {
		snprintf(err, errlen, "bad request path");
		goto out;
	}
	if (!curl_ready() || !(c = curl_easy_init())) {
		snprintf(err, errlen, "cannot initialise libcurl");
		goto out;
	}
	if (ep->kind == API_EP_UNIX)
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, ep->sock);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 5000 ? timeout_ms : 5000L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, api_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, ep->kind == API_EP_UNIX ? "http" : "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	if (ep->kind == API_EP_HTTP) {
		/* x-conform-token, not Authorization: the API server's service
		 * proxy keeps the Authorization header for itself (api.c) */
		if (str_fmt(tokhdr, sizeof(tokhdr), "x-conform-token: %s", ep->token)) {
			snprintf(err, errlen, "token too long");
			goto out;
		}
		hdrs = curl_slist_append(hdrs, tokhdr);
	}
	if (!strcmp(method, "POST")) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		/* no "Expect: 100-continue" round trip for small bodies */
		hdrs = curl_slist_append(hdrs, "Expect:");
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)(body ? strlen(body) : 0));
	} else if (strcmp(method, "GET")) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);

	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		if (s.toobig)
			snprintf(err, errlen, "response larger than %u bytes", API_RESPONSE_MAX);
		else if (rc == CURLE_OPERATION_TIMEDOUT)
			snprintf(err, errlen, "no answer within %ld ms", timeout_ms);
		else
			snprintf(err, errlen, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	resp->body = dynbuf_detach(&s.buf, &resp->len);
	if (!resp->body) {
		snprintf(err, errlen, "out of memory");
		resp->status = 0;
		goto out;
	}
	ret = 0;
out:
	explicit_bzero(tokhdr, sizeof(tokhdr));
	curl_slist_free_all(hdrs);
	if (c)
		curl_easy_cleanup(c);
	dynbuf_release(&s.buf);
	return ret;
}

void api_response_release(struct api_response *resp)
{
	free(resp->body);
	resp->body = NULL;
	resp->len = 0;
	resp->status = 0;
}

void api_error_text(const struct api_response *resp, char *out, size_t len)
{
	cJSON *j = NULL;
	const cJSON *e;
	char *p;

	if (!len)
		return;
	out[0] = '\0';
	if (resp->body && resp->len)
		j = cJSON_ParseWithLength(resp->body, resp->len);
	e = j ? cJSON_GetObjectItemCaseSensitive(j, "error") : NULL;
	/* through the Kubernetes service proxy the API server may answer
	 * itself (a denied services/proxy): a metav1.Status with its message */
	if (!cJSON_IsString(e) && j && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "kind")) &&
	    !strcmp(cJSON_GetObjectItemCaseSensitive(j, "kind")->valuestring, "Status"))
		e = cJSON_GetObjectItemCaseSensitive(j, "message");
	if (cJSON_IsString(e) && e->valuestring)
		str_copy(out, len, e->valuestring);
	else if (resp->body && resp->len)
		str_copy(out, len, resp->body);
	else
		snprintf(out, len, "HTTP %ld with an empty body", resp->status);
	cJSON_Delete(j);
	for (p = out; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
}
