/*
 * test_api.c - the control API server on a real unix socket, driven by
 * libcurl: routing, query arguments, the generic 404/413/400 answers, the
 * socket's mode and that the server keeps serving after bad requests.
 */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control/api.h"
#include "harness.h"
#include "base/util.h"

static int hits;

static int h_hello(void *ctx, const struct api_request *req, struct api_response *resp)
{
	const char *who = api_query(req, "who");

	(void)ctx;
	hits++;
	resp->content_type = "text/plain";
	return dynbuf_addf(&resp->body, "hello %s\n", who ? who : "nobody");
}

static int h_echo(void *ctx, const struct api_request *req, struct api_response *resp)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(req->json, "n");
	cJSON *o;
	int rc;

	(void)ctx;
	hits++;
	if (!cJSON_IsNumber(n))
		return api_reply_error(resp, 400, "n: expected a number");
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "twice", n->valuedouble * 2);
	rc = api_reply_json(resp, 201, o);
	cJSON_Delete(o);
	return rc;
}

static int h_broken(void *ctx, const struct api_request *req, struct api_response *resp)
{
	(void)ctx;
	(void)req;
	(void)resp;
	return -1;
}

static const struct api_route routes[] = {
	{ "GET", "/hello", 0, h_hello },
	{ "POST", "/echo", API_JSON_BODY, h_echo },
	{ "GET", "/broken", 0, h_broken },
};

static char sock_path[256];
static char dir[128];

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
	struct dynbuf *b = ud;

	return dynbuf_add(b, p, size * n) < 0 ? 0 : size * n;
}

/* One request; returns the HTTP status (or -1) and the body in *body. */
static long request(const char *method, const char *path, const char *body, size_t body_len,
		    struct dynbuf *out)
{
	CURL *c = curl_easy_init();
	char url[512];
	long status = -1;
	struct curl_slist *hdrs = NULL;

	dynbuf_reset(out);
	snprintf(url, sizeof(url), "http://conformd%s", path);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock_path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	if (!strcmp(method, "POST")) {
		hdrs = curl_slist_append(hdrs, "Expect:");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
	}
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return status;
}

TEST(path_too_long)
{
	char longpath[200], err[256] = "";
	struct api *a;

	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	a = api_start(longpath, routes, ARRAY_SIZE(routes), NULL, err, sizeof(err));
	ASSERT(a == NULL);
	ASSERT_CONTAINS(err, "socket path too long");
}

TEST(serves_and_rejects)
{
	struct dynbuf b = DYNBUF_INIT(1 << 20);
	char err[256] = "";
	struct api *a;
	struct stat st;
	char *big;

	a = api_start(sock_path, routes, ARRAY_SIZE(routes), NULL, err, sizeof(err));
	if (!a)
		H_FAIL("api_start: %s", err);
	ASSERT_EQ(stat(sock_path, &st), 0);
	ASSERT_EQ(st.st_mode & 0777, 0600);

	ASSERT_EQ(request("GET", "/hello?who=tester", NULL, 0, &b), 200);
	ASSERT_STR_EQ(b.buf, "hello tester\n");

	ASSERT_EQ(request("POST", "/echo", "{\"n\":21}", 8, &b), 201);
	ASSERT_CONTAINS(b.buf, "\"twice\":42");

	ASSERT_EQ(request("GET", "/nope", NULL, 0, &b), 404);
	ASSERT_CONTAINS(b.buf, "\"error\":");
	ASSERT_EQ(request("POST", "/hello", "", 0, &b), 404);

	big = malloc(100 * 1024);
	ASSERT(big);
	memset(big, 'a', 100 * 1024);
	for (int i = 0; i < 20; i++)
		ASSERT_EQ(request("POST", "/echo", big, 100 * 1024, &b), 413);
	ASSERT_CONTAINS(b.buf, "larger than");
	free(big);

	ASSERT_EQ(request("POST", "/echo", "{\"n\":", 5, &b), 400);
	ASSERT_CONTAINS(b.buf, "{\"error\":\"malformed JSON");
	ASSERT_EQ(request("POST", "/echo", "[1,2]", 5, &b), 400);
	ASSERT_EQ(request("POST", "/echo", "", 0, &b), 400);
	ASSERT_EQ(request("POST", "/echo", "{\"n\":\"x\"}", 9, &b), 400);
	ASSERT_CONTAINS(b.buf, "n: expected a number");

	ASSERT_EQ(request("GET", "/broken", NULL, 0, &b), 500);
	ASSERT_CONTAINS(b.buf, "internal error");

	/* still serving after all that */
	ASSERT_EQ(request("GET", "/hello", NULL, 0, &b), 200);
	ASSERT_STR_EQ(b.buf, "hello nobody\n");
	ASSERT_EQ(hits, 4);
	/* 404 x2, 413 x20, 400 x4 */
	ASSERT_UEQ(api_rejected(a), 26);

	api_stop(a);
	ASSERT(access(sock_path, F_OK) != 0);
	dynbuf_release(&b);
}

TEST(replaces_stale_socket_refuses_live_one)
{
	char err[256] = "";
	struct api *a, *b2;
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	/* a leftover socket file from a crashed server is replaced */
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	str_copy(sa.sun_path, sizeof(sa.sun_path), sock_path);
	ASSERT(fd >= 0);
	unlink(sock_path);
	ASSERT_EQ(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	ASSERT_EQ(access(sock_path, F_OK), 0);
	a = api_start(sock_path, routes, ARRAY_SIZE(routes), NULL, err, sizeof(err));
	if (!a)
		H_FAIL("api_start: %s", err);
	b2 = api_start(sock_path, routes, ARRAY_SIZE(routes), NULL, err, sizeof(err));
	ASSERT(b2 == NULL);
	ASSERT_CONTAINS(err, "another server is listening");
	api_stop(a);
}

int main(void)
{
	char tmpl[] = "/tmp/conform-api-XXXXXX";

	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!mkdtemp(tmpl))
		return 1;
	snprintf(dir, sizeof(dir), "%s", tmpl);
	snprintf(sock_path, sizeof(sock_path), "%s/api.sock", dir);
	RUN(path_too_long);
	RUN(serves_and_rejects);
	RUN(replaces_stale_socket_refuses_live_one);
	unlink(sock_path);
	rmdir(dir);
	curl_global_cleanup();
	TEST_MAIN_END();
}
