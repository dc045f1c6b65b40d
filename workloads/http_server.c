/*
 * http_server.c - the sample HTTP backend (libmicrohttpd, a thread per
 * connection): GET /echo answers who served it, which version, the identity
 * header it saw and how often it saw this request id; ?fail= and ?delay_ms=
 * and the admin fault hooks make it fail or slow down on demand.
 */
#include "workload.h"
#include "base/util.h"
#include "evidence/attempts.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HS_MAX_DELAY_MS 600000

static const struct wl_opts *hs_o;
static struct attempts *hs_att;
static atomic_int hs_stopping;

/* Sleep ms in small steps so shutdown is never held up for long. */
static void hs_sleep(int64_t ms)
{
	int64_t until = mono_ms() + ms;

	while (!atomic_load(&hs_stopping)) {
		int64_t left = until - mono_ms();
		struct timespec ts;

		if (left <= 0)
			break;
		if (left > 50)
			left = 50;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)left * 1000000L;
		nanosleep(&ts, NULL);
	}
}

static enum MHD_Result hs_reply(struct MHD_Connection *c, unsigned status, const char *ctype,
				const char *body, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body,
								 MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", ctype);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result hs_json(struct MHD_Connection *c, unsigned status, const char *text)
{
	return hs_reply(c, status, "application/json", text, strlen(text));
}

static enum MHD_Result hs_echo(struct MHD_Connection *c)
{
	const char *rid = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "x-request-id");
	const char *ident = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							hs_o->identity_header);
	const char *failq = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "fail");
	const char *delayq = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "delay_ms");
	struct dynbuf b = DYNBUF_INIT(4096);
	struct wl_fault f;
	double fail = 0;
	int64_t delay = 0;
	unsigned status = MHD_HTTP_OK;
	uint32_t attempt;
	enum MHD_Result ret;

	if (failq && parse_double(failq, 0, 1, &fail) < 0)
		return hs_json(c, MHD_HTTP_BAD_REQUEST, "{\"error\":\"fail must be 0..1\"}\n");
	if (delayq && parse_i64(delayq, 0, HS_MAX_DELAY_MS, &delay) < 0)
		return hs_json(c, MHD_HTTP_BAD_REQUEST, "{\"error\":\"delay_ms must be 0..600000\"}\n");
	if (!rid)
		rid = "";
	if (!ident)
		ident = "";
	/* every sighting counts, failed ones too: that is how retries show */
	attempt = attempts_hit(hs_att, rid);
	wl_fault_get(&f);
	delay += f.latency_ms;
	if (delay > 0)
		hs_sleep(delay);
	if (fail > 0 && rand_unit() < fail)
		status = MHD_HTTP_SERVICE_UNAVAILABLE;
	else if (f.error_rate > 0 && rand_unit() < f.error_rate)
		status = (unsigned)f.error_code;
	if (dynbuf_adds(&b, "{\"server\":\"") < 0 || dynbuf_add_json_str(&b, hs_o->name) < 0 ||
	    dynbuf_adds(&b, "\",\"version\":\"") < 0 || dynbuf_add_json_str(&b, hs_o->version) < 0 ||
	    dynbuf_adds(&b, "\",\"request_id\":\"") < 0 || dynbuf_add_json_str(&b, rid) < 0 ||
	    dynbuf_addf(&b, "\",\"attempt\":%u,\"identity\":\"", attempt) < 0 ||
	    dynbuf_add_json_str(&b, ident) < 0 || dynbuf_adds(&b, "\"}\n") < 0) {
		dynbuf_release(&b);
		return hs_json(c, MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE, "{\"error\":\"headers too large\"}\n");
	}
	ret = hs_reply(c, status, "application/json", b.buf, b.len);
	dynbuf_release(&b);
	return ret;
}

static enum MHD_Result hs_handler(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	(void)cls;
	(void)version;
	(void)upload;
	if (!*con_cls) {   /* headers only so far; the body (if any) is ignored */
		*con_cls = (void *)1;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return hs_json(c, MHD_HTTP_METHOD_NOT_ALLOWED, "{\"error\":\"GET only\"}\n");
	if (!strcmp(url, "/echo"))
		return hs_echo(c);
	if (!strcmp(url, "/healthz"))
		return hs_reply(c, MHD_HTTP_OK, "text/plain", "ok\n", 3);
	return hs_json(c, MHD_HTTP_NOT_FOUND, "{\"error\":\"not found\"}\n");
}

int http_server_run(const struct wl_opts *o)
{
	struct MHD_Daemon *d = NULL;
	char listen[160], admin[160];
	int fd = -1, rc = 1;

	hs_o = o;
	hs_att = attempts_new(100000);
	if (!hs_att)
		goto out;
	if (wl_listen(o->listen, &fd, listen, sizeof(listen)) < 0)
		goto out;
	/* MHD takes the socket over (and closes it in MHD_stop_daemon) */
	d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
			     NULL, NULL, hs_handler, NULL, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
			     MHD_OPTION_CONNECTION_LIMIT, 4096u, MHD_OPTION_CONNECTION_TIMEOUT, 120u,
			     MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_END);
	if (!d) {
		log_kv(LOG_ERROR, "cannot listen", "listen=%s", o->listen);
		close(fd);
		goto out;
	}
	if (wl_admin_start(o, 0, admin, sizeof(admin)) < 0)
		goto out;
	if (wl_write_ready(o, listen, admin) < 0)
		goto out;
	log_kv(LOG_INFO, "serving", "role=http-server listen=%s admin=%s version=%s", listen,
	       admin[0] ? admin : "-", o->version);
	while (!wl_wait_stop(1000))
		;
	log_kv(LOG_INFO, "stopping", NULL);
	rc = 0;
out:
	atomic_store(&hs_stopping, 1);
	wl_admin_stop();
	if (d)
		MHD_stop_daemon(d);
	attempts_free(hs_att);
	return rc;
}
