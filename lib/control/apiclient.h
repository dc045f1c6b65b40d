/*
 * apiclient.h - the CLI's client for conformd's HTTP+JSON API on the run's
 * unix socket (docs/internals.md "API"). One blocking request at a time, with
 * a total timeout and a hard cap on the response size.
 */
#ifndef CONFORM_APICLIENT_H
#define CONFORM_APICLIENT_H

#include <stddef.h>

#define API_RESPONSE_MAX (16u << 20)   /* 16 MiB: a long run's markdown report fits */
#define API_TIMEOUT_MS 10000

struct api_response {
	long status;     /* HTTP status, 0 if no answer */
	char *body;      /* NUL-terminated, owned by the response (may be "") */
	size_t len;
};

/*
 * Send method ("GET"/"POST") path (e.g. "/v1/status") to the API on socket
 * sock_path; body (may be NULL) is sent as application/json. Waits at most
 * timeout_ms (<= 0: API_TIMEOUT_MS). On success returns 0 and fills resp
 * (any HTTP status counts as success; check resp->status). On failure (no
 * socket, refused, timeout, response over API_RESPONSE_MAX) returns -1, writes
 * "why" into err and leaves resp empty. Release resp with api_response_release.
 */
int api_request(const char *sock_path, const char *method, const char *path, const char *body,
		long timeout_ms, struct api_response *resp, char *err, size_t errlen);
void api_response_release(struct api_response *resp);

/*
 * The "error" string of a JSON error body ({"error":"..."}) into out, or the
 * body itself (truncated, one line) when it is not such an object.
 */
void api_error_text(const struct api_response *resp, char *out, size_t len);

#endif
