/*
 * api.h - conformd's HTTP/1.1 + JSON control API on a unix socket
 * (docs/internals.md "API"). A small server over libmicrohttpd with a route
 * table; it owns the socket, bounds every request and answers the generic
 * errors itself (404 unknown route, 413 body over 64 KiB, 400 malformed JSON)
 * so handlers only see well-formed requests.
 *
 * Threads: handlers run on the server's one internal thread, one request at
 * a time; anything they share with other threads needs its own lock.
 */
#ifndef CONFORM_API_H
#define CONFORM_API_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/util.h"

#define API_BODY_MAX (64 * 1024)   /* request bodies above this get 413 */
#define API_RESP_MAX (8 << 20)     /* cap of a response body */
#define API_DRAIN_MAX (1 << 20)    /* oversize bodies up to this are read and dropped */
#define API_TOKEN_MAX 128          /* the run's token, NUL included */

struct api;
struct MHD_Connection;

struct api_request {
	const char *method;          /* "GET", "POST" ... */
	const char *path;            /* without the query string */
	const char *body;            /* NUL-terminated, "" when none */
	size_t body_len;
	const cJSON *json;           /* parsed body for API_JSON_BODY routes, else NULL */
	struct MHD_Connection *conn; /* private: use api_query() */
};

struct api_response {
	int status;                  /* HTTP status, default 200 */
	const char *content_type;    /* static string, default "application/json" */
	struct dynbuf body;          /* capped at API_RESP_MAX; freed by the server */
	int www_auth;                /* private: 401 for a missing token */
};

/*
 * A handler fills resp (status, body) and returns 0; on -1 the request is
 * answered 500 {"error":"internal error"} whatever resp holds.
 */
typedef int (*api_handler_fn)(void *ctx, const struct api_request *req,
			      struct api_response *resp);

enum api_route_flags {
	API_JSON_BODY = 1 << 0,  /* body must be a JSON object, else 400 */
};

struct api_route {
	const char *method;
	const char *path;        /* exact match */
	unsigned flags;          /* enum api_route_flags */
	api_handler_fn fn;
};

/*
 * Bind sock_path (unlinking a stale socket nobody answers on), chmod it 0600,
 * listen and serve routes (the table is not copied: it must outlive the
 * server). ctx is passed to every handler. Returns NULL and writes err on
 * failure, e.g. a path longer than a unix socket address holds.
 */
struct api *api_start(const char *sock_path, const struct api_route *routes, size_t nroutes,
		      void *ctx, char *err, size_t errlen);
/*
 * The same API on TCP (in a cluster: behind conformd's Service). addr is
 * "HOST:PORT" (lib/base/addr.h; port 0 = any, *port gets the bound one);
 * addr_flags adds e.g. ADDR_LOOPBACK where only loopback may listen. token
 * (copied, required) must come with every request but GET /healthz, as
 * "Authorization: Bearer TOKEN" or "x-conform-token: TOKEN"; else 401.
 * Returns NULL and writes err on failure (bad address, port in use).
 */
struct api *api_start_tcp(const char *addr, unsigned addr_flags, const char *token,
			  const struct api_route *routes, size_t nroutes, void *ctx, int *port,
			  char *err, size_t errlen);
/* Stop serving, close (and unlink) the socket, free. NULL is fine. */
void api_stop(struct api *a);

/* Requests answered with a 4xx status so far (unknown route, too big, bad JSON, ...). */
uint64_t api_rejected(const struct api *a);

/* Value of query argument key of the request, or NULL. */
const char *api_query(const struct api_request *req, const char *key);

/* Helpers for handlers: set status and a JSON body. 0 or -1. */
int api_reply_error(struct api_response *resp, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Print obj (not freed) as the body. */
int api_reply_json(struct api_response *resp, int status, const cJSON *obj);

#endif
