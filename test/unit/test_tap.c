/*
 * test_tap.c - the tap line parser against lines HAProxy 2.6 really sent
 * with our log-format (captured from the sidecars), and against truncated,
 * oversized and garbage lines, which must be rejected. Also the UDP receiver.
 */
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "harness.h"
#include "mesh/haproxy/tap.h"
#include "base/util.h"

#define ID_CLIENT "http-client.conform.serviceaccount.identity.cluster.local"
#define ID_V1 "http-server-v1.conform.serviceaccount.identity.cluster.local"

/* captured datagrams */
#define L_IN "ctap1 req 1795322071726481 in_http-server-v1 in abc%201%22%25 " \
	"127.79.49.10:55220 127.79.49.11:8080 app app GET /echo 200 2 0 -- " ID_CLIENT " - .\n"
#define L_OUT "ctap1 req 1795322071726703 out_http-client out abc%201%22%25 " \
	"127.0.0.1:50302 127.79.49.11:4143 be_echo v1 GET /echo 200 6 0 -- - " ID_V1 " .\n"
#define L_NOSRV "ctap1 req 1795322071737864 out_http-client out - 127.0.0.1:50310 -:- " \
	"out_http-client <NOSRV> GET / 503 0 0 SC - - .\n"
#define L_ERR "ctap1 err 1795322071753304 in_http-server-v1 in 127.0.0.1:43538 " \
	"127.79.49.11:4143 SSL%20handshake%20failure .\n"
#define L_TIMEOUT "ctap1 req 1795322072066253 out_http-client out - 127.0.0.1:50320 " \
	"127.79.49.11:4143 be_slow v1 GET /echo 504 305 0 sH - " ID_V1 " .\n"
#define L_ABORTED "ctap1 req 1795322072066690 in_http-server-v1 in - 127.79.49.10:55226 " \
	"127.79.49.11:8080 app app GET /echo -1 302 0 CD " ID_CLIENT " - .\n"
#define L_RETRIED "ctap1 req 1795322072081891 out_http-client out r-9 127.0.0.1:50324 " \
	"127.79.49.11:4143 be_retry v1 GET /echo 503 6 3 -- - " ID_V1 " .\n"
#define L_REDISP "ctap1 req 1795322072081891 out_http-client out r-9 127.0.0.1:50324 " \
	"127.79.49.11:4143 be_retry v1 GET /echo 200 6 +2 -- - " ID_V1 " ."

struct good_case {
	const char *line;
	enum tap_kind kind;
	enum tap_dir dir;
	const char *rid, *proxy, *server, *term, *client_id, *server_id;
	int status, retries;
	int64_t latency;
};

static const struct good_case good[] = {
	{ L_IN, TAP_KIND_REQUEST, TAP_DIR_IN, "abc 1\"%", "in_http-server-v1", "app", "--",
	  ID_CLIENT, "", 200, 0, 2 },
	{ L_OUT, TAP_KIND_REQUEST, TAP_DIR_OUT, "abc 1\"%", "out_http-client", "v1", "--",
	  "", ID_V1, 200, 0, 6 },
	{ L_NOSRV, TAP_KIND_REQUEST, TAP_DIR_OUT, "", "out_http-client", "<NOSRV>", "SC",
	  "", "", 503, 0, 0 },
	{ L_TIMEOUT, TAP_KIND_REQUEST, TAP_DIR_OUT, "", "out_http-client", "v1", "sH",
	  "", ID_V1, 504, 0, 305 },
	{ L_ABORTED, TAP_KIND_REQUEST, TAP_DIR_IN, "", "in_http-server-v1", "app", "CD",
	  ID_CLIENT, "", -1, 0, 302 },
	{ L_RETRIED, TAP_KIND_REQUEST, TAP_DIR_OUT, "r-9", "out_http-client", "v1", "--",
	  "", ID_V1, 503, 3, 6 },
	{ L_REDISP, TAP_KIND_REQUEST, TAP_DIR_OUT, "r-9", "out_http-client", "v1", "--",
	  "", ID_V1, 200, 2, 6 },
};

TEST(good_lines)
{
	struct tap_record r;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		const struct good_case *c = &good[i];

		if (tap_parse_line(c->line, strlen(c->line), &r))
			H_FAIL("case %zu rejected: %s", i, c->line);
		ASSERT_EQ(r.kind, c->kind);
		ASSERT_EQ(r.dir, c->dir);
		ASSERT_STR_EQ(r.request_id, c->rid);
		ASSERT_STR_EQ(r.proxy, c->proxy);
		ASSERT_STR_EQ(r.server, c->server);
		ASSERT_STR_EQ(r.term_state, c->term);
		ASSERT_STR_EQ(r.client_id, c->client_id);
		ASSERT_STR_EQ(r.server_id, c->server_id);
		ASSERT_EQ(r.status, c->status);
		ASSERT_EQ(r.retries, c->retries);
		ASSERT_EQ(r.latency_ms, c->latency);
		ASSERT_STR_EQ(r.method, "GET");
	}
}

TEST(fields_in_detail)
{
	struct tap_record r;

	ASSERT_EQ(tap_parse_line(L_OUT, strlen(L_OUT), &r), 0);
	ASSERT_EQ(r.ts_us, 1795322071726703LL);
	ASSERT_STR_EQ(r.src, "127.0.0.1:50302");
	ASSERT_STR_EQ(r.dst, "127.79.49.11:4143");
	ASSERT_STR_EQ(r.backend, "be_echo");
	ASSERT_STR_EQ(r.path, "/echo");
	ASSERT_EQ(r.redispatched, 0);
	ASSERT_EQ(tap_parse_line(L_REDISP, strlen(L_REDISP), &r), 0);
	ASSERT_EQ(r.redispatched, 1);
	ASSERT_EQ(tap_parse_line(L_NOSRV, strlen(L_NOSRV), &r), 0);
	ASSERT_STR_EQ(r.dst, "-:-");
	ASSERT_EQ(tap_parse_line(L_ERR, strlen(L_ERR), &r), 0);
	ASSERT_EQ(r.kind, TAP_KIND_CONN_ERROR);
	ASSERT_EQ(r.dir, TAP_DIR_IN);
	ASSERT_STR_EQ(r.src, "127.0.0.1:43538");
	ASSERT_STR_EQ(r.dst, "127.79.49.11:4143");
	ASSERT_STR_EQ(r.error, "SSL handshake failure");
	ASSERT_EQ(r.status, -1);
}

static const char *const bad[] = {
	"",
	"\n",
	"ctap1",
	/* truncated: the guard "." is gone */
	"ctap1 req 1795322071726703 out_http-client out r 127.0.0.1:1 127.0.0.1:2 b s GET /e 200 6 0 -- - x",
	/* one field missing */
	"ctap1 req 1795322071726703 out_http-client out r 127.0.0.1:1 127.0.0.1:2 b s GET /e 200 6 -- - x .",
	/* one field too many */
	"ctap1 req 1 p out r 127.0.0.1:1 127.0.0.1:2 b s GET /e 200 6 0 -- - x y .",
	/* double space = empty field */
	"ctap1 req 1 p out r  127.0.0.1:2 b s GET /e 200 6 0 -- - x .",
	/* wrong version / kind / direction */
	"ctap2 req 1 p out r 127.0.0.1:1 127.0.0.1:2 b s GET /e 200 6 0 -- - x .",
	"ctap1 res 1 p out r 127.0.0.1:1 127.0.0.1:2 b s GET /e 200 6 0 -- - x .",
	"ctap1 req 1 p sideways r 127.0.0.1:1 127.0.0.1:2 b s GET /e 200 6 0 -- - x .",
	/* bad numbers */
	"ctap1 req 1x p out r 127.0.0.1:1 127.0.0.1:2 b s GET /e 200 6 0 -- - x .",
	"ctap1 req -5 p out r 127.0.0.1:1 127.0.0.1:2 b s GET /e 200 6 0 -- - x .",
	"ctap1 req 1 p out r 127.0.0.1:1 127.0.0.1:2 b s GET /e 2000 6 0 -- - x .",
	"ctap1 req 1 p out r 127.0.0.1:1 127.0.0.1:2 b s GET /e +200 6 0 -- - x .",
	"ctap1 req 1 p out r 127.0.0.1:1 127.0.0.1:2 b s GET /e 200 -7 0 -- - x .",
	"ctap1 req 1 p out r 127.0.0.1:1 127.0.0.1:2 b s GET /e 200 6 x -- - x .",
	"ctap1 req 1 p out r 127.0.0.1:1 127.0.0.1:2 b s GET /e 200 6 99999 -- - x .",
	"ctap1 req 99999999999999999999 p out r 127.0.0.1:1 127.0.0.1:2 b s GET /e 200 6 0 -- - x .",
	/* bad term state */
	"ctap1 req 1 p out r 127.0.0.1:1 127.0.0.1:2 b s GET /e 200 6 0 - - x .",
	"ctap1 req 1 p out r 127.0.0.1:1 127.0.0.1:2 b s GET /e 200 6 0 --- - x .",
	/* bad percent escapes, encoded control byte */
	"ctap1 req 1 p out r%2 127.0.0.1:1 127.0.0.1:2 b s GET /e 200 6 0 -- - x .",
	"ctap1 req 1 p out r%zz 127.0.0.1:1 127.0.0.1:2 b s GET /e 200 6 0 -- - x .",
	"ctap1 req 1 p out r%0a 127.0.0.1:1 127.0.0.1:2 b s GET /e 200 6 0 -- - x .",
	/* odd characters in names and addresses */
	"ctap1 req 1 p\"x out r 127.0.0.1:1 127.0.0.1:2 b s GET /e 200 6 0 -- - x .",
	"ctap1 req 1 p out r 127.0.0.1/1 127.0.0.1:2 b s GET /e 200 6 0 -- - x .",
	"ctap1 req 1 - out r 127.0.0.1:1 127.0.0.1:2 b s GET /e 200 6 0 -- - x .",
	/* raw control bytes and non-ASCII */
	"ctap1 req 1 p out r\t 127.0.0.1:1 127.0.0.1:2 b s GET /e 200 6 0 -- - x .",
	"ctap1 req 1 p out r\xc3\xa9 127.0.0.1:1 127.0.0.1:2 b s GET /e 200 6 0 -- - x .",
	"ctap1 req 1 p out r 127.0.0.1:1 127.0.0.1:2 b s GET /e 200 6 0 -- - x .\n\n",
	/* err line with the wrong field count */
	"ctap1 err 1 p in 127.0.0.1:1 127.0.0.1:2 .",
	"garbage",
};

TEST(bad_lines)
{
	struct tap_record r;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (tap_parse_line(bad[i], strlen(bad[i]), &r) == 0)
			H_FAIL("case %zu accepted: %s", i, bad[i]);
		ASSERT_EQ(r.ts_us, 0);
	}
	ASSERT_EQ(tap_parse_line(NULL, 0, &r), -1);
}

static void put(char *dst, const char *s)
{
	memcpy(dst, s, strlen(s) + 1);
}

TEST(sizes_bounded)
{
	static char line[TAP_LINE_MAX + 64];
	struct tap_record r;
	size_t n;

	/* a path that makes the line exactly TAP_LINE_MAX long is fine */
	n = (size_t)snprintf(line, sizeof(line), "ctap1 req 1 p out r 127.0.0.1:1 127.0.0.1:2 b s GET /");
	memset(line + n, 'a', sizeof(line) - n);
	put(line + TAP_LINE_MAX - strlen(" 200 6 0 -- - - ."), " 200 6 0 -- - - .");
	ASSERT_EQ(strlen(line), TAP_LINE_MAX);
	/* ...but the path field is bounded by the record */
	ASSERT_EQ(tap_parse_line(line, strlen(line), &r), -1);
	/* one byte over the line cap */
	ASSERT_EQ(tap_parse_line(line, TAP_LINE_MAX + 1, &r), -1);
	/* a 128-char request id fits, 129 does not */
	n = (size_t)snprintf(line, sizeof(line), "ctap1 req 1 p out ");
	memset(line + n, 'r', 128);
	put(line + n + 128, " 127.0.0.1:1 127.0.0.1:2 b s GET /e 200 6 0 -- - - .");
	ASSERT_EQ(tap_parse_line(line, strlen(line), &r), 0);
	ASSERT_EQ(strlen(r.request_id), 128);
	memset(line + n, 'r', 129);
	put(line + n + 129, " 127.0.0.1:1 127.0.0.1:2 b s GET /e 200 6 0 -- - - .");
	ASSERT_EQ(tap_parse_line(line, strlen(line), &r), -1);
	/* a line cut anywhere is rejected */
	for (size_t cut = 0; cut + 2 < strlen(L_OUT); cut++)
		if (tap_parse_line(L_OUT, cut, &r) == 0)
			H_FAIL("line cut at %zu accepted", cut);
}

TEST(formats_match_parser)
{
	const char *in = tap_log_format(TAP_DIR_IN), *out = tap_log_format(TAP_DIR_OUT);

	ASSERT_CONTAINS(in, "%[ssl_c_s_dn(cn),url_enc] - .");
	ASSERT_CONTAINS(out, "- %[ssl_s_s_dn(cn),url_enc] .");
	ASSERT_CONTAINS(in, "%[var(txn.rid)]");
	ASSERT_CONTAINS(tap_error_log_format(TAP_DIR_IN), "%[fc_err_str,url_enc] .");
	/* no double quotes: the formats go inside "..." in the config */
	ASSERT(!strchr(in, '"') && !strchr(out, '"'));
}

struct sink {
	int n;
	char last_rid[129];
};

static void on_rec(const struct tap_record *r, void *ctx)
{
	struct sink *s = ctx;

	s->n++;
	str_copy(s->last_rid, sizeof(s->last_rid), r->request_id);
}

TEST(udp_receiver)
{
	struct sockaddr_in sa;
	struct tap_stats st = { 0, 0, 0 };
	struct sink sink = { 0, "" };
	static char big[TAP_LINE_MAX + 100];
	int fd, port = 0, tx, rcv = 0, got = 0;
	socklen_t sl = sizeof(rcv);

	fd = tap_listen("127.0.0.1:0", &port);
	ASSERT(fd >= 0);
	ASSERT(port > 0);
	getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, &sl);
	ASSERT(rcv >= 1024 * 1024);
	ASSERT_EQ(tap_listen("127.0.0.1:99999", &port), -1);
	ASSERT_EQ(tap_listen("nohost:1", &port), -1);

	tx = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	memset(big, 'x', sizeof(big));
	sendto(tx, L_IN, strlen(L_IN), 0, (struct sockaddr *)&sa, sizeof(sa));
	sendto(tx, "junk", 4, 0, (struct sockaddr *)&sa, sizeof(sa));
	sendto(tx, big, sizeof(big), 0, (struct sockaddr *)&sa, sizeof(sa));
	sendto(tx, L_RETRIED, strlen(L_RETRIED), 0, (struct sockaddr *)&sa, sizeof(sa));
	close(tx);
	for (int i = 0; i < 100 && st.datagrams < 4; i++) {
		int n = tap_read_nonblock(fd, on_rec, &sink, &st);

		ASSERT(n >= 0);
		got += n;
		usleep(10000);
	}
	close(fd);
	ASSERT_EQ(st.datagrams, 4);
	ASSERT_EQ(st.parsed, 2);
	ASSERT_EQ(st.rejected, 2);
	ASSERT_EQ(got, 2);
	ASSERT_EQ(sink.n, 2);
	ASSERT_STR_EQ(sink.last_rid, "r-9");
}

int main(void)
{
	RUN(good_lines);
	RUN(fields_in_detail);
	RUN(bad_lines);
	RUN(sizes_bounded);
	RUN(formats_match_parser);
	RUN(udp_receiver);
	TEST_MAIN_END();
}
