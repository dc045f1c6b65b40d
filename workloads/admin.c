/*
 * admin.c - the fault hook listener both servers run on --admin: GET and
 * POST /admin/fault (JSON, token in x-conform-token). The current fault is
 * a small global read by the request paths on every request.
 */
#include "workload.h"
#include "base/util.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#define ADMIN_BODY_MAX 4096

static pthread_mutex_t fault_mu = PTHREAD_MUTEX_INITIALIZER;
static struct wl_fault fault_now;
static struct MHD_Daemon *admin_d;
static const struct wl_opts *admin_o;
static int admin_grpc;

void wl_fault_get(struct wl_fault *f)
{
	pthread_mutex_lock(&fault_mu);
	*f = fault_now;
	pthread_mutex_unlock(&fault_mu);
	if (!f->error_code)
		f->error_code = admin_grpc ? 14 : 503;
}

int wl_token_ok(const char *want, const char *got)
{
	size_t wl, gl, i;
	volatile unsigned char d;

	if (!want || !*want || !got)
		return 0;
	wl = strlen(want);
	gl = strnlen(got, 4096);
	d = (unsigned char)(wl != gl);
	for (i = 0; i < wl; i++)
		d |= (unsigned char)want[i] ^ (unsigned char)(i < gl ? got[i] : 0);
	return d == 0;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body,
								 MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "application/json");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_fault(struct MHD_Connection *c, unsigned status)
{
	struct wl_fault f;
	char body[256];

	wl_fault_get(&f);
	str_fmt(body, sizeof(body), "{\"error_rate\":%g,\"error_code\":%d,\"latency_ms\":%lld}\n",
		f.error_rate, f.error_code, (long long)f.latency_ms);
	return reply(c, status, body);
}

/* Parse and apply a fault body; returns NULL or an error text. */
static const char *apply_fault(const char *text)
{
	cJSON *j = cJSON_Parse(text), *it;
	struct wl_fault f = { 0, 0, 0 };
	const char *err = NULL;

	if (!j || !cJSON_IsObject(j)) {
		err = "body is not a JSON object";
		goto out;
	}
	cJSON_ArrayForEach(it, j) {
		if (!it->string || !cJSON_IsNumber(it)) {
			err = "every field must be a number";
			goto out;
		}
		if (!strcmp(it->string, "error_rate")) {
			if (!(it->valuedouble >= 0 && it->valuedouble <= 1)) {
				err = "error_rate must be 0..1";
				goto out;
			}
			f.error_rate = it->valuedouble;
		} else if (!strcmp(it->string, "error_code")) {
			double lo = admin_grpc ? 0 : 0, hi = admin_grpc ? 16 : 599;

			if (!(it->valuedouble >= lo && it->valuedouble <= hi) ||
			    it->valuedouble != (int)it->valuedouble ||
			    (!admin_grpc && it->valuedouble != 0 && it->valuedouble < 100)) {
				err = admin_grpc ? "error_code must be a gRPC status 1..16"
						 : "error_code must be an HTTP status 100..599";
				goto out;
			}
			f.error_code = (int)it->valuedouble;
		} else if (!strcmp(it->string, "latency_ms")) {
			if (!(it->valuedouble >= 0 && it->valuedouble <= 600000)) {
				err = "latency_ms must be 0..600000";
				goto out;
			}
			f.latency_ms = (int64_t)it->valuedouble;
		} else {
			err = "unknown field (error_rate, error_code, latency_ms)";
			goto out;
		}
	}
	pthread_mutex_lock(&fault_mu);
	fault_now = f;
	pthread_mutex_unlock(&fault_mu);
	log_kv(LOG_INFO, "fault set", "error_rate=%g error_code=%d latency_ms=%lld", f.error_rate,
	       f.error_code, (long long)f.latency_ms);
out:
	cJSON_Delete(j);
	return err;
}

struct admin_req {
	struct dynbuf body;
	int too_big;
};

static enum MHD_Result admin_handler(void *cls, struct MHD_Connection *c, const char *url,
				     const char *method, const char *version,
				     const char *upload, size_t *upload_size, void **con_cls)
{
	struct admin_req *rq = *con_cls;
	const char *tok, *err;
	char body[256];

	(void)cls;
	(void)version;
	if (strcmp(url, "/admin/fault"))
		return reply(c, MHD_HTTP_NOT_FOUND, "{\"error\":\"not found\"}\n");
	if (!strcmp(method, "GET"))
		return reply_fault(c, MHD_HTTP_OK);
	if (strcmp(method, "POST"))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "{\"error\":\"GET or POST\"}\n");
	if (!rq) {
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		dynbuf_init(&rq->body, ADMIN_BODY_MAX);
		*con_cls = rq;
		return MHD_YES;
	}
	if (*upload_size) {
		if (dynbuf_add(&rq->body, upload, *upload_size) < 0)
			rq->too_big = 1;
		*upload_size = 0;
		return MHD_YES;
	}
	tok = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "x-conform-token");
	if (!wl_token_ok(admin_o->token, tok)) {
		log_kv(LOG_WARN, "admin request refused", "reason=token");
		return reply(c, MHD_HTTP_UNAUTHORIZED, "{\"error\":\"bad or missing token\"}\n");
	}
	if (rq->too_big)
		return reply(c, MHD_HTTP_CONTENT_TOO_LARGE, "{\"error\":\"body too large\"}\n");
	err = apply_fault(rq->body.buf ? rq->body.buf : "");
	if (err) {
		str_fmt(body, sizeof(body), "{\"error\":\"%s\"}\n", err);
		return reply(c, MHD_HTTP_BAD_REQUEST, body);
	}
	return reply_fault(c, MHD_HTTP_OK);
}

static void admin_done(void *cls, struct MHD_Connection *c, void **con_cls,
		       enum MHD_RequestTerminationCode toe)
{
	struct admin_req *rq = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (rq) {
		dynbuf_release(&rq->body);
		free(rq);
		*con_cls = NULL;
	}
}

int wl_admin_start(const struct wl_opts *o, int grpc, char *bound, size_t len)
{
	int fd = -1;

	admin_o = o;
	admin_grpc = grpc;
	bound[0] = '\0';
	if (!o->admin[0])
		return 0;
	if (wl_listen(o->admin, &fd, bound, len) < 0)
		return -1;
	admin_d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL,
				   admin_handler, NULL, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
				   MHD_OPTION_NOTIFY_COMPLETED, admin_done, NULL,
				   MHD_OPTION_CONNECTION_LIMIT, 64u,
				   MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	if (!admin_d) {
		log_kv(LOG_ERROR, "cannot start admin listener", "admin=%s", o->admin);
		close(fd);
		bound[0] = '\0';
		return -1;
	}
	return 0;
}

void wl_admin_stop(void)
{
	if (admin_d)
		MHD_stop_daemon(admin_d);
	admin_d = NULL;
}
