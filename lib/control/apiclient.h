/*
 * apiclient.h - the CLI's client for conformd's HTTP+JSON API (docs/internals.md
 * "API"): on the run's unix socket, or over HTTP at a base URL with the run's
 * token (conformd --api-addr, reached through `kubectl port-forward` or the
 * API server's service proxy). One blocking request at a time, with a total
 * timeout and a hard cap on the response size.
 */
#ifndef CONFORM_APICLIENT_H
#define CONFORM_APICLIENT_H

#include <limits.h>
#include <stddef.h>

#define API_RESPONSE_MAX (16u << 20)   /* 16 MiB: a long run's markdown report fits */
#define API_TIMEOUT_MS 10000

struct api_response {
	long status;     /* HTTP status, 0 if no answer */
	char *body;      /* NUL-terminated, owned by the response (may be "") */
	size_t len;
};

enum api_endpoint_kind {
	API_EP_UNIX = 1,   /* the run's conformd.sock: its mode 0600 is the guard */
	API_EP_HTTP,       /* a base URL; every request carries the run's token */
};

/* Where conformd's API is. Fill with api_endpoint_unix or api_endpoint_http. */
struct api_endpoint {
	enum api_endpoint_kind kind;
	char sock[PATH_MAX];   /* API_EP_UNIX: socket path */
	char base[1024];       /* API_EP_HTTP: "http://127.0.0.1:8080", or a service proxy
	                        * ".../api/v1/namespaces/conform/services/conformd:api/proxy";
	                        * no trailing '/' */
	char token[128];       /* API_EP_HTTP: the run's token, sent as x-conform-token */
};

/* The API on unix socket path. 0, or -1 with err (path too long). */
int api_endpoint_unix(struct api_endpoint *ep, const char *path, char *err, size_t errlen);
/*
 * The API at base_url (http:// or https://; a trailing '/' is dropped) with
 * the run's token (required). The token goes in "x-conform-token", not in
 * Authorization, which the API server's proxy consumes for its own
 * authentication. 0, or -1 with err.
 */
int api_endpoint_http(struct api_endpoint *ep, const char *base_url, const char *token,
		      char *err, size_t errlen);
/* "unix socket PATH" or the base URL (never the token), for messages. */
const char *api_endpoint_name(const struct api_endpoint *ep);

/*
 * Send method ("GET"/"POST") path (e.g. "/v1/status") to the API at ep;
 * body (may be NULL) is sent as application/json. Waits at most timeout_ms
 * (<= 0: API_TIMEOUT_MS). On success returns 0 and fills resp (any HTTP
 * status counts as success; check resp->status: a wrong token is 401). On
 * failure (no socket, refused, timeout, response over API_RESPONSE_MAX)
 * returns -1, writes "why" into err and leaves resp empty. Release resp with
 * api_response_release.
 */
int api_call(const struct api_endpoint *ep, const char *method, const char *path,
	     const char *body, long timeout_ms, struct api_response *resp, char *err,
	     size_t errlen);

/* api_call on the unix socket sock_path (the local run's conformd.sock). */
int api_request(const char *sock_path, const char *method, const char *path, const char *body,
		long timeout_ms, struct api_response *resp, char *err, size_t errlen);
void api_response_release(struct api_response *resp);

/*
 * The "error" string of a JSON error body ({"error":"..."}) into out, or the
 * body itself (truncated, one line) when it is not such an object.
 */
void api_error_text(const struct api_response *resp, char *out, size_t len);

#endif
