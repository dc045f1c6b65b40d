/*
 * api.c - the control API server: libmicrohttpd on a unix socket we create,
 * bind and chmod ourselves (MHD only knows TCP ports), or on a TCP listener
 * (in a cluster, behind a Service) where every route but /healthz needs the
 * run's token; a route table, and the generic answers (401/404/413/400) so
 * handlers see only bounded, parsed, authorised input.
 */
#include "control/api.h"
#include "base/addr.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct api {
	struct MHD_Daemon *mhd;
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* "" on TCP */
	char token[API_TOKEN_MAX];   /* "" on the unix socket: its mode 0600 guards it */
	const struct api_route *routes;
	size_t nroutes;
	void *ctx;
	atomic_uint_fast64_t rejected;
};

/* per-connection request state, kept across MHD's repeated calls */
struct api_conn {
	struct dynbuf body;
	int toobig;
};

uint64_t api_rejected(const struct api *a)
{
	return a ? (uint64_t)atomic_load(&((struct api *)a)->rejected) : 0;
}

const char *api_query(const struct api_request *req, const char *key)
{
	if (!req->conn)
		return NULL;
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

int api_reply_error(struct api_response *resp, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	resp->status = status;
	resp->content_type = "application/json";
	dynbuf_reset(&resp->body);
	if (dynbuf_adds(&resp->body, "{\"error\":\"") < 0 ||
	    dynbuf_add_json_str(&resp->body, msg) < 0 || dynbuf_adds(&resp->body, "\"}\n") < 0)
		return -1;
	return 0;
}

int api_reply_json(struct api_response *resp, int status, const cJSON *obj)
{
	char *text = cJSON_PrintUnformatted(obj);
	int rc = -1;

	if (!text)
		return -1;
	resp->status = status;
	resp->content_type = "application/json";
	dynbuf_reset(&resp->body);
	if (dynbuf_adds(&resp->body, text) == 0 && dynbuf_adds(&resp->body, "\n") == 0)
		rc = 0;
	free(text);
	return rc;
}

static enum MHD_Result api_send(struct api *a, struct MHD_Connection *conn,
				struct api_response *resp)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (resp->status >= 400 && resp->status < 500)
		atomic_fetch_add(&a->rejected, 1);
	r = MHD_create_response_from_buffer(resp->body.len,
					    resp->body.buf ? resp->body.buf : (char *)"",
					    MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				resp->content_type ? resp->content_type : "application/json");
	if (resp->www_auth)   /* RFC 6750 section 3 */
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"conformd\"");
	ret = MHD_queue_response(conn, (unsigned)resp->status, r);
	MHD_destroy_response(r);
	return ret;
}

/* Equal without an early exit, so timing does not reveal a matching prefix. */
static int api_token_eq(const char *got, const char *want)
{
	size_t gl = strlen(got), wl = strlen(want), i;
	unsigned char d = gl != wl;

	for (i = 0; i < wl; i++)
		d |= (unsigned char)(want[i] ^ (i < gl ? got[i] : 0));
	return !d;
}

/*
 * The run's token from "Authorization: Bearer TOKEN" (the scheme is
 * case-insensitive, RFC 7235 section 2.1) or "x-conform-token: TOKEN", the
 * header the workloads' admin hook takes. The latter survives the API
 * server's service proxy, which drops Authorization after authenticating the
 * caller (kubernetes/kubernetes staging/src/k8s.io/apiserver/pkg/endpoints/
 * filters/authentication.go: req.Header.Del("Authorization")).
 */
static int api_authorised(const struct api *a, struct MHD_Connection *conn)
{
	const char *h;

	if (!a->token[0])
		return 1;
	h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "x-conform-token");
	if (h && api_token_eq(h, a->token))
		return 1;
	h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (h && !strncasecmp(h, "Bearer ", 7)) {
		for (h += 7; *h == ' '; h++)
			;
		return api_token_eq(h, a->token);
	}
	return 0;
}

static void api_dispatch(struct api *a, struct MHD_Connection *conn, const char *url,
			 const char *method, struct api_conn *st, struct api_response *resp)
{
	const struct api_route *route = NULL;
	struct api_request req;
	cJSON *json = NULL;
	size_t i;

	if (strcmp(url, "/healthz") && !api_authorised(a, conn)) {
		api_reply_error(resp, 401, "missing or wrong token: send the run's token as "
				"'Authorization: Bearer TOKEN' or 'x-conform-token: TOKEN'");
		resp->www_auth = 1;
		return;
	}
	if (st->toobig) {
		api_reply_error(resp, 413, "request body larger than %d bytes", API_BODY_MAX);
		return;
	}
	for (i = 0; i < a->nroutes; i++) {
		if (!strcmp(a->routes[i].path, url) && !strcmp(a->routes[i].method, method)) {
			route = &a->routes[i];
			break;
		}
	}
	if (!route) {
		api_reply_error(resp, 404, "no such endpoint: %.16s %.200s", method, url);
		return;
	}
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.path = url;
	req.body = st->body.buf ? st->body.buf : "";
	req.body_len = st->body.len;
	req.conn = conn;
	if (route->flags & API_JSON_BODY) {
		const char *end = NULL;

		json = cJSON_ParseWithLengthOpts(req.body, req.body_len, &end, 0);
		if (!json) {
			api_reply_error(resp, 400, "malformed JSON body%s",
					req.body_len ? "" : " (empty)");
			return;
		}
		if (!cJSON_IsObject(json)) {
			cJSON_Delete(json);
			api_reply_error(resp, 400, "body must be a JSON object");
			return;
		}
		req.json = json;
	}
	if (route->fn(a->ctx, &req, resp) < 0)
		api_reply_error(resp, 500, "internal error");
	cJSON_Delete(json);
}

static enum MHD_Result api_access(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct api *a = cls;
	struct api_conn *st = *con_cls;
	struct api_response resp;
	enum MHD_Result ret;

	(void)version;
	if (!st) {
		const char *cl;
		int64_t n = 0;

		st = calloc(1, sizeof(*st));
		if (!st)
			return MHD_NO;
		dynbuf_init(&st->body, API_BODY_MAX);
		*con_cls = st;
		/*
		 * A declared oversize body is refused.  Answering before reading
		 * it makes the close reset the connection while the client is
		 * still writing, and the client then never sees the 413; so a
		 * body up to API_DRAIN_MAX is read and dropped first.  A client
		 * that asked "Expect: 100-continue" is answered at once, and so
		 * is one that declares more than we are willing to drain.
		 */
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						 MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && (parse_i64(cl, 0, INT64_MAX, &n) < 0 || n > API_BODY_MAX)) {
			st->toobig = 1;
			if (n > 0 && n <= API_DRAIN_MAX &&
			    !MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							 MHD_HTTP_HEADER_EXPECT))
				return MHD_YES;
		} else {
			return MHD_YES;
		}
	} else if (*upload_data_size) {
		if (!st->toobig && dynbuf_add(&st->body, upload_data, *upload_data_size) < 0) {
			st->toobig = 1;
			dynbuf_release(&st->body);
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	memset(&resp, 0, sizeof(resp));
	resp.status = 200;
	resp.content_type = "application/json";
	dynbuf_init(&resp.body, API_RESP_MAX);
	api_dispatch(a, conn, url, method, st, &resp);
	ret = api_send(a, conn, &resp);
	dynbuf_release(&resp.body);
	return ret;
}

static void api_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			  enum MHD_RequestTerminationCode toe)
{
	struct api_conn *st = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (st) {
		dynbuf_release(&st->body);
		free(st);
		*con_cls = NULL;
	}
}

static void api_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512], q[600];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_kv(LOG_WARN, "api server", "detail=%s", log_quote(msg, q, sizeof(q)));
}

/* Bind a unix socket at path; a leftover socket nobody listens on is removed. */
static int api_bind(const char *path, int *out, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	int fd = -1, attempt;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		str_fmt(err, errlen,
			"socket path too long (%zu bytes, a unix socket address holds at most %zu): %s",
			strlen(path), sizeof(sa.sun_path) - 1, path);
		return -1;
	}
	str_copy(sa.sun_path, sizeof(sa.sun_path), path);
	for (attempt = 0; attempt < 2; attempt++) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			str_fmt(err, errlen, "socket: %s", strerror(errno));
			return -1;
		}
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		if (errno == EADDRINUSE && attempt == 0) {
			/* a socket file is there: remove it only if nobody answers */
			int live = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ||
				   errno != ECONNREFUSED;

			close(fd);
			fd = -1;
			if (live) {
				str_fmt(err, errlen, "bind %s: another server is listening there",
					path);
				return -1;
			}
			unlink(path);
			continue;
		}
		str_fmt(err, errlen, "bind %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (fd < 0) {
		str_fmt(err, errlen, "bind %s failed", path);
		return -1;
	}
	if (chmod(path, 0600) < 0 || listen(fd, 64) < 0) {
		str_fmt(err, errlen, "listen %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	*out = fd;
	return 0;
}

/* Serve routes on a->fd (taken over: closed by MHD_stop_daemon). */
static int api_serve(struct api *a, const char *where, char *err, size_t errlen)
{
	a->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG,
				  0, NULL, NULL, api_access, a,
				  MHD_OPTION_EXTERNAL_LOGGER, api_mhd_log, NULL,
				  MHD_OPTION_LISTEN_SOCKET, (MHD_socket)a->fd,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
				  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
				  MHD_OPTION_NOTIFY_COMPLETED, api_completed, NULL,
				  MHD_OPTION_END);
	if (!a->mhd) {
		str_fmt(err, errlen, "cannot start the HTTP server on %s", where);
		return -1;
	}
	return 0;
}

static struct api *api_new(const struct api_route *routes, size_t nroutes, void *ctx,
			   char *err, size_t errlen)
{
	struct api *a = calloc(1, sizeof(*a));

	if (!a) {
		str_fmt(err, errlen, "out of memory");
		return NULL;
	}
	a->fd = -1;
	a->routes = routes;
	a->nroutes = nroutes;
	a->ctx = ctx;
	atomic_init(&a->rejected, 0);
	return a;
}

struct api *api_start(const char *sock_path, const struct api_route *routes, size_t nroutes,
		      void *ctx, char *err, size_t errlen)
{
	struct api *a = api_new(routes, nroutes, ctx, err, errlen);

	if (!a)
		return NULL;
	if (api_bind(sock_path, &a->fd, err, errlen) < 0)
		goto fail;
	str_copy(a->path, sizeof(a->path), sock_path);
	if (api_serve(a, sock_path, err, errlen) < 0)
		goto fail;
	return a;
fail:
	if (a->fd >= 0) {
		close(a->fd);
		unlink(sock_path);
	}
	free(a);
	return NULL;
}

struct api *api_start_tcp(const char *addr, unsigned addr_flags, const char *token,
			  const struct api_route *routes, size_t nroutes, void *ctx, int *port,
			  char *err, size_t errlen)
{
	struct api *a;
	char why[512];

	if (!token || !*token || strlen(token) >= sizeof(a->token)) {
		str_fmt(err, errlen, "the API on TCP needs the run's token (1..%zu bytes)",
			sizeof(a->token) - 1);
		return NULL;
	}
	a = api_new(routes, nroutes, ctx, err, errlen);
	if (!a)
		return NULL;
	str_copy(a->token, sizeof(a->token), token);
	a->fd = addr_listen(addr, addr_flags | ADDR_PORT_ZERO, 64, port, why, sizeof(why));
	if (a->fd < 0) {
		str_fmt(err, errlen, "--api-addr %s", why);
		goto fail;
	}
	if (api_serve(a, addr, err, errlen) < 0)
		goto fail;
	return a;
fail:
	if (a->fd >= 0)
		close(a->fd);
	explicit_bzero(a->token, sizeof(a->token));
	free(a);
	return NULL;
}

void api_stop(struct api *a)
{
	if (!a)
		return;
	if (a->mhd)
		MHD_stop_daemon(a->mhd); /* closes the listen socket it was given */
	else if (a->fd >= 0)
		close(a->fd);
	if (a->path[0])
		unlink(a->path);
	explicit_bzero(a->token, sizeof(a->token));
	free(a);
}
