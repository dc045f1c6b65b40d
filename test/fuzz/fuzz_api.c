/*
 * fuzz_api.c - libFuzzer target for conformd's control API input: the first
 * byte picks the path. Even: fault_parse_text() on the rest, the body of
 * POST /v1/faults. Odd: the rest is written as raw bytes to a real lib/api
 * server on a private unix socket (routing, Content-Length and body limits,
 * the JSON gate, query arguments), with routes shaped like conformd's.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "control/api.h"
#include "faults/faults.h"
#include "fuzz.h"
#include "base/util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
static struct api *fz_api;
static char fz_dir[64];
static char fz_sock[128];

static int h_health(void *ctx, const struct api_request *req, struct api_response *resp)
{
	(void)ctx;
	(void)req;
	resp->content_type = "text/plain";
	return dynbuf_adds(&resp->body, "ok\n");
}

static int h_report(void *ctx, const struct api_request *req, struct api_response *resp)
{
	const char *fmt = api_query(req, "format");

	(void)ctx;
	if (fmt && strcmp(fmt, "json") && strcmp(fmt, "junit") && strcmp(fmt, "md"))
		return api_reply_error(resp, 400, "format: unknown \"%.32s\"", fmt);
	return dynbuf_adds(&resp->body, "{}\n");
}

static int h_stop(void *ctx, const struct api_request *req, struct api_response *resp)
{
	(void)ctx;
	(void)req;
	resp->status = 202;
	return dynbuf_adds(&resp->body, "{\"state\":\"stopping\"}\n");
}

static int h_faults(void *ctx, const struct api_request *req, struct api_response *resp)
{
	struct fault_req fr;
	char err[256];
	cJSON *o;
	int rc;

	(void)ctx;
	FUZZ_CHECK(req->json && cJSON_IsObject(req->json));   /* API_JSON_BODY promises it */
	if (fault_parse(req->json, &fr, err, sizeof(err)) < 0)
		return api_reply_error(resp, 400, "%s", err);
	o = cJSON_CreateObject();
	if (!o)
		return -1;
	cJSON_AddNumberToObject(o, "id", 1);
	cJSON_AddStringToObject(o, "kind", fault_kind_name(fr.kind));
	cJSON_AddStringToObject(o, "target", fr.target);
	rc = api_reply_json(resp, 201, o);
	cJSON_Delete(o);
	return rc;
}

static const struct api_route fz_routes[] = {
	{ "GET", "/healthz", 0, h_health },
	{ "GET", "/v1/report", 0, h_report },
	{ "POST", "/v1/stop", 0, h_stop },
	{ "POST", "/v1/faults", API_JSON_BODY, h_faults },
};

static void fz_cleanup(void)
{
	api_stop(fz_api);
	fz_api = NULL;
	rmdir(fz_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	log_init("fuzz_api", LOG_ERROR);   /* every malformed request would log a warning */
	str_copy(fz_dir, sizeof(fz_dir), "/tmp/conform-fuzz-api-XXXXXX");
	if (!mkdtemp(fz_dir)) {
		fprintf(stderr, "fuzz_api: mkdtemp: %s\n", strerror(errno));
		abort();
	}
	str_fmt(fz_sock, sizeof(fz_sock), "%s/api.sock", fz_dir);
	fz_api = api_start(fz_sock, fz_routes, ARRAY_SIZE(fz_routes), NULL, err, sizeof(err));
	if (!fz_api) {
		fprintf(stderr, "fuzz_api: api_start: %s\n", err);
		abort();
	}
	atexit(fz_cleanup);
	return 0;
}

/* Send the bytes, half-close, read the answer to EOF (bounded in time). */
static void fz_http(const uint8_t *data, size_t size)
{
	struct sockaddr_un sa;
	char buf[4096];
	size_t off = 0;
	int fd, rounds;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	str_copy(sa.sun_path, sizeof(sa.sun_path), fz_sock);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto out;
	while (off < size) {
		ssize_t w = send(fd, data + off, size - off, MSG_NOSIGNAL);

		if (w <= 0)
			break;
		off += (size_t)w;
	}
	shutdown(fd, SHUT_WR);
	for (rounds = 0; rounds < 64; rounds++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, 2000) <= 0)
			break;
		r = recv(fd, buf, sizeof(buf), 0);
		if (r <= 0)
			break;
	}
out:
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fault_req fr;
	char err[256];

	if (size == 0)
		return 0;
	if (data[0] & 1) {
		fz_http(data + 1, size - 1);
		return 0;
	}
	err[0] = '\0';
	if (fault_parse_text((const char *)data + 1, size - 1, &fr, err, sizeof(err)) == 0) {
		FUZZ_CHECK(memchr(fr.target, '\0', sizeof(fr.target)) && fr.target[0]);
		/* every kind, the mesh ones after FAULT_KILL included, has a name */
		FUZZ_CHECK(strcmp(fault_kind_name(fr.kind), "unknown") != 0);
		FUZZ_CHECK(fr.rate >= 0 && fr.rate <= 1 && fr.code >= 0 && fr.code <= 599);
		FUZZ_CHECK(fr.ms >= 0 && fr.ms <= FAULT_MAX_MS);
		FUZZ_CHECK(fr.for_s >= 0 && fr.for_s <= FAULT_MAX_FOR_S);
	} else {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) && err[0]);
	}
	return 0;
}
