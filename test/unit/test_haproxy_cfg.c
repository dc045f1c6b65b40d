/*
 * test_haproxy_cfg.c - the sidecar configs carry the directives the mesh
 * relies on, refuse descriptions that would inject config text, respect the
 * dynbuf cap, and are accepted by `haproxy -c` when HAProxy is installed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "harness.h"
#include "mesh/haproxy/cfg.h"
#include "mesh/haproxy/pki.h"
#include "base/util.h"

#define HAPROXY "/usr/sbin/haproxy"
#define ID_V1 "http-server-v1.conform.serviceaccount.identity.cluster.local"
#define ID_V2 "http-server-v2.conform.serviceaccount.identity.cluster.local"

static char dir[256], crt[320], ca[320], sock_in[320], sock_out[320], map[320];

static const struct hcfg_server split[] = {
	{ "v1", "127.9.8.11:4143", 90, ID_V1 },
	{ "v2", "127.9.8.12:4143", 10, ID_V2 },
};
static const struct hcfg_backend backends[] = {
	{ .name = "http-server", .servers = split, .n_servers = 2, .retries = 3,
	  .retry_on = "503 conn-failure" },
	{ .name = "slow", .servers = split, .n_servers = 1, .timeout_ms = 300 },
};
static const struct hcfg_route routes[] = {
	{ "http-server.conform.svc", "http-server" },
	{ "slow.conform.svc", "slow" },
};

static struct hcfg_sidecar inbound(void)
{
	struct hcfg_sidecar s = {
		.name = "http-server-v1", .pod_ip = "127.9.8.11", .admin_sock = sock_in,
		.tap_addr = "127.0.0.1:5140", .crt = crt, .ca_file = ca,
		.app_addr = "127.9.8.11:8080", .app_proto = HCFG_PROTO_H2C,
	};
	return s;
}

static struct hcfg_sidecar outbound(void)
{
	struct hcfg_sidecar s = {
		.name = "http-client", .pod_ip = "127.9.8.10", .admin_sock = sock_out,
		.tap_addr = "127.0.0.1:5140", .crt = crt, .ca_file = ca, .map_path = map,
		.routes = routes, .n_routes = ARRAY_SIZE(routes),
		.backends = backends, .n_backends = ARRAY_SIZE(backends),
	};
	return s;
}

static int haproxy_check(const char *path)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), HAPROXY " -c -q -f '%s'", path);
	return system(cmd);
}

TEST(inbound_directives)
{
	struct hcfg_sidecar s = inbound();
	struct dynbuf b = DYNBUF_INIT(HCFG_CFG_MAX);

	ASSERT_EQ(hcfg_inbound(&s, &b), 0);
	ASSERT_CONTAINS(b.buf, "frontend in_http-server-v1\n");
	ASSERT_CONTAINS(b.buf, "    bind 127.9.8.11:4143 ssl crt ");
	ASSERT_CONTAINS(b.buf, " verify required alpn h2,http/1.1\n");
	ASSERT_CONTAINS(b.buf, "    http-request set-header l5d-client-id %[ssl_c_s_dn(cn)]\n");
	ASSERT_CONTAINS(b.buf, "    server app 127.9.8.11:8080 proto h2\n");
	ASSERT_CONTAINS(b.buf, "    log 127.0.0.1:5140 len 4096 format raw local0 info\n");
	ASSERT_CONTAINS(b.buf, "    log-format \"ctap1 req ");
	ASSERT_CONTAINS(b.buf, "    error-log-format \"ctap1 err ");
	ASSERT_CONTAINS(b.buf, "stats socket /");
	ASSERT_CONTAINS(b.buf, " level admin\n");
	dynbuf_release(&b);

	s.app_proto = HCFG_PROTO_HTTP1;
	s.tap_addr = NULL;
	s.identity_header = "x-peer-id";
	ASSERT_EQ(hcfg_inbound(&s, &b), 0);
	ASSERT_CONTAINS(b.buf, "    server app 127.9.8.11:8080\n");
	ASSERT_CONTAINS(b.buf, "set-header x-peer-id ");
	ASSERT(!strstr(b.buf, "log-format"));
	dynbuf_release(&b);
}

TEST(outbound_directives)
{
	struct hcfg_sidecar s = outbound();
	struct dynbuf b = DYNBUF_INIT(HCFG_CFG_MAX);

	ASSERT_EQ(hcfg_outbound(&s, &b), 0);
	ASSERT_CONTAINS(b.buf, "frontend out_http-client\n    bind 127.9.8.10:4140\n");
	ASSERT_CONTAINS(b.buf, "    http-request del-header l5d-client-id\n");
	ASSERT_CONTAINS(b.buf, "    use_backend %[req.hdr(host),host_only,map(/");
	ASSERT_CONTAINS(b.buf, "backend be_http-server\n    balance roundrobin\n    http-reuse always\n");
	ASSERT_CONTAINS(b.buf, "    retry-on 503 conn-failure\n    retries 3\n");
	ASSERT_CONTAINS(b.buf, "    option http-buffer-request\n");
	ASSERT_CONTAINS(b.buf, "    server v1 127.9.8.11:4143 weight 90 ssl crt ");
	ASSERT_CONTAINS(b.buf, " verify required verifyhost " ID_V1 " alpn h2 source 127.9.8.10\n");
	ASSERT_CONTAINS(b.buf, "    server v2 127.9.8.12:4143 weight 10 ");
	ASSERT_CONTAINS(b.buf, "backend be_slow\n    balance roundrobin\n    http-reuse always\n"
			       "    retry-on none\n    retries 0\n    timeout server 300ms\n");
	dynbuf_reset(&b);
	ASSERT_EQ(hcfg_map(&s, &b), 0);
	ASSERT_CONTAINS(b.buf, "\nhttp-server.conform.svc be_http-server\nslow.conform.svc be_slow\n");
	dynbuf_release(&b);
}

TEST(rejects_injection)
{
	struct hcfg_sidecar s = inbound();
	struct dynbuf b = DYNBUF_INIT(HCFG_CFG_MAX);
	struct hcfg_server bad_srv[] = { { "v1", "127.9.8.11:4143", 90, "evil\n    bind" } };
	struct hcfg_backend bad_be[] = { { .name = "x", .servers = bad_srv, .n_servers = 1 } };
	struct hcfg_route bad_rt[] = { { "Upper.case", "x" } };
	struct hcfg_route dangling[] = { { "a.b", "nosuch" } };

	s.name = "a b";
	ASSERT_EQ(hcfg_inbound(&s, &b), -1);
	ASSERT_EQ(errno, EINVAL);
	s = inbound();
	s.pod_ip = "10.0.0.1";          /* loopback only */
	ASSERT_EQ(hcfg_inbound(&s, &b), -1);
	s = inbound();
	s.crt = "/tmp/x.pem\n    bind 0.0.0.0:80";
	ASSERT_EQ(hcfg_inbound(&s, &b), -1);
	s = inbound();
	s.app_addr = "127.0.0.1:0";
	ASSERT_EQ(hcfg_inbound(&s, &b), -1);
	s = inbound();
	s.admin_sock = "relative.sock";
	ASSERT_EQ(hcfg_inbound(&s, &b), -1);
	s = inbound();
	s.tap_addr = "192.168.1.1:514";
	ASSERT_EQ(hcfg_inbound(&s, &b), -1);
	ASSERT_EQ(b.len, 0);

	s = outbound();
	s.backends = bad_be;
	s.n_backends = 1;
	s.n_routes = 0;
	ASSERT_EQ(hcfg_outbound(&s, &b), -1);
	bad_srv[0].verifyhost = ID_V1;
	ASSERT_EQ(hcfg_outbound(&s, &b), 0);
	dynbuf_reset(&b);
	bad_srv[0].weight = 257;
	ASSERT_EQ(hcfg_outbound(&s, &b), -1);
	bad_srv[0].weight = 1;
	bad_be[0].retry_on = "503 sometimes";
	ASSERT_EQ(hcfg_outbound(&s, &b), -1);
	bad_be[0].retry_on = "503 ";
	ASSERT_EQ(hcfg_outbound(&s, &b), -1);
	bad_be[0].retry_on = NULL;
	s.routes = bad_rt;
	s.n_routes = 1;
	ASSERT_EQ(hcfg_outbound(&s, &b), -1);
	s.routes = dangling;
	ASSERT_EQ(hcfg_outbound(&s, &b), -1);
	ASSERT_EQ(b.len, 0);
	dynbuf_release(&b);
}

TEST(cap_honoured)
{
	struct hcfg_sidecar s = outbound();
	struct dynbuf b = DYNBUF_INIT(512);

	ASSERT_EQ(hcfg_outbound(&s, &b), -1);
	ASSERT_EQ(errno, E2BIG);
	ASSERT(b.len <= 512);
	dynbuf_release(&b);
}

TEST(haproxy_accepts)
{
	struct hcfg_sidecar in = inbound(), out = outbound();
	char p_in[320], p_out[320];
	struct stat st;

	snprintf(p_in, sizeof(p_in), "%s/in.cfg", dir);
	snprintf(p_out, sizeof(p_out), "%s/out.cfg", dir);
	ASSERT_EQ(hcfg_write_inbound(&in, p_in), 0);
	ASSERT_EQ(hcfg_write_outbound(&out, p_out), 0);
	ASSERT_EQ(stat(map, &st), 0);
	ASSERT_EQ(stat(p_out, &st), 0);
	ASSERT_EQ(st.st_mode & 0777, 0600);
	if (access(HAPROXY, X_OK)) {
		printf("# haproxy not installed: skipping haproxy -c\n");
		return;
	}
	ASSERT_EQ(haproxy_check(p_in), 0);
	ASSERT_EQ(haproxy_check(p_out), 0);
	/* and it does reject a broken file, so the check above means something */
	ASSERT_EQ(file_write_atomic(p_in, "frontend x\n bind :80 sslx\n", 26, 0600), 0);
	ASSERT(haproxy_check(p_in) != 0);
}

int main(void)
{
	struct pki_ca *c;
	struct pki_leaf_opts o = { .workload = "http-client", .valid_s = 3600 };
	char cmd[512];

	snprintf(dir, sizeof(dir), "/tmp/conform-test-hcfg-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(crt, sizeof(crt), "%s/leaf.pem", dir);
	snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
	snprintf(sock_in, sizeof(sock_in), "%s/in.sock", dir);
	snprintf(sock_out, sizeof(sock_out), "%s/out.sock", dir);
	snprintf(map, sizeof(map), "%s/out.map", dir);
	/* haproxy -c loads the certificates, so make real ones */
	c = pki_ca_new("conform test ca", 3600);
	if (!c || pki_ca_write(c, ca, NULL) || pki_leaf_write(c, &o, NULL, NULL, crt))
		return 1;
	pki_ca_free(c);
	RUN(inbound_directives);
	RUN(outbound_directives);
	RUN(rejects_injection);
	RUN(cap_honoured);
	RUN(haproxy_accepts);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	TEST_MAIN_END();
}
