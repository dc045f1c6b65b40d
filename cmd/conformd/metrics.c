/*
 * metrics.c - conformd's GET /metrics: the Prometheus exposition of the run
 * (lib/report/metrics.c renders it from a report of the store), on the API socket
 * and, with --metrics-addr, on a loopback TCP listener of its own.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdio.h>

#include "conformd.h"
#include "report/metrics.h"
#include "report/report.h"
#include "base/util.h"

#define MS_NOT_FOUND "not found: only GET /metrics is served here\n"
#define MS_BAD_METHOD "method not allowed: use GET\n"
#define MS_FAILED "cannot render the metrics\n"

struct metrics_server {
	struct MHD_Daemon *mhd;
	struct daemon *d;
};

/* The exposition as of now into b: 0, or -1 (store error or b full). */
static int metrics_text(struct daemon *d, struct dynbuf *b)
{
	struct run_config cfg;
	struct report *r = NULL;
	int rc;

	pthread_mutex_lock(&d->mu);
	cfg = d->cfg;
	pthread_mutex_unlock(&d->mu);
	/* a scrape every few seconds must not read every window of a week */
	if (report_build_recent(d->store, &cfg, 1, &r) < 0) {
		log_kv(LOG_WARN, "metrics: cannot read the store", "error=\"%s\"",
		       store_errmsg(d->store));
		return -1;
	}
	rc = metrics_render(r, wall_s(), b);
	report_free(r);
	return rc;
}

int daemon_h_metrics(void *ctx, const struct api_request *req, struct api_response *resp)
{
	(void)req;
	if (metrics_text(ctx, &resp->body) < 0) {
		dynbuf_reset(&resp->body);
		return api_reply_error(resp, 500, "cannot render the metrics");
	}
	resp->status = 200;
	resp->content_type = METRICS_CONTENT_TYPE;
	return 0;
}

static enum MHD_Result ms_reply(struct MHD_Connection *conn, unsigned status, const char *type,
				const char *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result ms_access(void *cls, struct MHD_Connection *conn, const char *url,
				 const char *method, const char *version, const char *upload,
				 size_t *upload_size, void **con_cls)
{
	static int started;
	struct metrics_server *m = cls;
	struct dynbuf b = DYNBUF_INIT(API_RESP_MAX);
	enum MHD_Result ret;

	(void)version;
	(void)upload;
	if (!*con_cls) {
		*con_cls = &started;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;   /* /metrics takes no body: drop it */
		return MHD_YES;
	}
	if (strcmp(url, "/metrics"))
		return ms_reply(conn, 404, "text/plain", MS_NOT_FOUND, strlen(MS_NOT_FOUND));
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return ms_reply(conn, 405, "text/plain", MS_BAD_METHOD, strlen(MS_BAD_METHOD));
	if (metrics_text(m->d, &b) < 0 || !b.buf) {
		dynbuf_release(&b);
		return ms_reply(conn, 500, "text/plain", MS_FAILED, strlen(MS_FAILED));
	}
	ret = ms_reply(conn, 200, METRICS_CONTENT_TYPE, b.buf, b.len);
	dynbuf_release(&b);
	return ret;
}

static void ms_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256], q[300];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_kv(LOG_WARN, "metrics server", "error=%s", log_quote(msg, q, sizeof(q)));
}

struct metrics_server *metrics_server_start(struct daemon *d, const char *spec, int *port,
					    char *err, size_t errlen)
{
	struct metrics_server *m = NULL;
	char host[64];
	int family, p, fd = -1;

	if (metrics_parse_addr(spec, host, sizeof(host), &family, &p, err, errlen))
		return NULL;
	fd = addr_listen(spec, METRICS_ADDR_FLAGS, 16, port, err, errlen);
	if (fd < 0)
		goto fail;
	m = calloc(1, sizeof(*m));
	if (!m) {
		str_fmt(err, errlen, "metrics server: out of memory");
		goto fail;
	}
	m->d = d;
	m->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
				  MHD_USE_ERROR_LOG, 0, NULL, NULL, ms_access, m,
				  MHD_OPTION_EXTERNAL_LOGGER, ms_log, NULL,
				  MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
				  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
				  MHD_OPTION_END);
	if (!m->mhd) {
		str_fmt(err, errlen, "--metrics-addr %s: cannot start the HTTP server", spec);
		goto fail;
	}
	log_kv(LOG_INFO, "metrics served", "addr=%s%s%s:%d path=/metrics",
	       family == AF_INET6 ? "[" : "", host, family == AF_INET6 ? "]" : "", *port);
	return m;
fail:
	if (fd >= 0)
		close(fd);
	free(m);
	if (err[0] && strncmp(err, "--metrics-addr", 14)) {
		char why[512];

		str_copy(why, sizeof(why), err);
		str_fmt(err, errlen, "--metrics-addr %s", why);
	}
	return NULL;
}

void metrics_server_stop(struct metrics_server *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->mhd);   /* closes the listen socket it was given */
	free(m);
}
