/*
 * test_haproxy_cfg.c - the sidecar configs carry the directives the mesh
 * relies on, refuse descriptions that would inject config text, respect the
 * dynbuf cap, and are accepted by `haproxy -c` when HAProxy is installed.
 * The fault switches (tap ring, tap-off, mtls-off, retries-off, timeout-off)
 * are fields of the description: golden files under test/golden/hcfg/ pin
 * the exact text for every combination haproxy.c writes.
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

/* Switches the sidecar cannot honour are refused; the ring and both backend
 * switches together land where HAProxy reads them. */
TEST(switch_fields)
{
	struct hcfg_sidecar s = inbound();
	struct dynbuf b = DYNBUF_INIT(HCFG_CFG_MAX);
	struct hcfg_backend be[] = {
		{ .name = "both", .servers = split, .n_servers = 1, .retries = 2,
		  .retries_off_switch = 1, .timeout_off_switch = 1, .lifted_timeout_s = 90 },
	};
	struct hcfg_route rt[] = { { "both.conform.svc", "both" } };
	char p[320];

	s.tap_ring = 1;
	s.tap_addr = NULL;              /* a ring forwards to the tap address */
	ASSERT_EQ(hcfg_inbound(&s, &b), -1);
	ASSERT_EQ(errno, EINVAL);
	s.tap_addr = "127.0.0.1:5140";
	s.tap_ring_size = HCFG_RING_SIZE_MIN - 1;
	ASSERT_EQ(hcfg_inbound(&s, &b), -1);
	s.tap_ring_size = (size_t)HCFG_RING_SIZE_MAX + 1;
	ASSERT_EQ(hcfg_inbound(&s, &b), -1);
	s.tap_ring_size = 65536;
	s.tap_ring_server_ms = -1;
	ASSERT_EQ(hcfg_inbound(&s, &b), -1);
	s.tap_ring_server_ms = 86400 * 1000 + 1;
	ASSERT_EQ(hcfg_inbound(&s, &b), -1);
	ASSERT_EQ(b.len, 0);
	s.tap_ring_server_ms = 120000;
	s.tap_ring_connect_ms = 1500;
	s.mtls_off = 1;
	ASSERT_EQ(hcfg_inbound(&s, &b), 0);
	ASSERT_CONTAINS(b.buf, "    hard-stop-after 10s\n\nring tap\n");
	ASSERT_CONTAINS(b.buf, "    size 65536\n    timeout connect 1500ms\n"
			       "    timeout server 2m\n    server conformd 127.0.0.1:5140\n\n"
			       "defaults\n");
	ASSERT_CONTAINS(b.buf, "    log ring@tap len 4096 ");
	ASSERT_CONTAINS(b.buf, " verify none alpn ");
	ASSERT_CONTAINS(b.buf, "    http-request del-header l5d-client-id\n    default_backend");
	ASSERT(!strstr(b.buf, " verify required alpn"));
	ASSERT(!strstr(b.buf, "set-header"));
	ASSERT(!strstr(b.buf, "proc.tap_off"));
	snprintf(p, sizeof(p), "%s/switch-in.cfg", dir);
	ASSERT_EQ(file_write_atomic(p, b.buf, b.len, 0600), 0);
	if (access(HAPROXY, X_OK) == 0)
		ASSERT_EQ(haproxy_check(p), 0);
	dynbuf_release(&b);

	s = outbound();
	s.backends = be;
	s.n_backends = 1;
	s.routes = rt;
	s.n_routes = 1;
	s.mtls_off = 1;                 /* an outbound asks no client certificate anyway */
	ASSERT_EQ(hcfg_outbound(&s, &b), -1);
	ASSERT_EQ(errno, EINVAL);
	s.mtls_off = 0;
	be[0].lifted_timeout_s = 0;
	ASSERT_EQ(hcfg_outbound(&s, &b), -1);
	be[0].lifted_timeout_s = HCFG_LIFTED_TIMEOUT_MAX_S + 1;
	ASSERT_EQ(hcfg_outbound(&s, &b), -1);
	be[0].timeout_off_switch = 0;
	be[0].lifted_timeout_s = 90;    /* a lifted timeout without its switch is a mistake */
	ASSERT_EQ(hcfg_outbound(&s, &b), -1);
	ASSERT_EQ(b.len, 0);
	be[0].timeout_off_switch = 1;
	s.tap_off_switch = 1;
	ASSERT_EQ(hcfg_outbound(&s, &b), 0);
	ASSERT_CONTAINS(b.buf, "    http-request set-var(txn.path) path\n"
			       "    http-request set-log-level silent if { var(proc.tap_off) -m bool }\n");
	ASSERT_CONTAINS(b.buf, "backend be_both\n"
			       "    http-request disable-l7-retry if { var(proc.retries_off) -m bool }\n"
			       "    http-request set-timeout server 90s if { var(proc.timeout_off) -m bool }\n"
			       "    balance roundrobin\n");
	ASSERT_CONTAINS(b.buf, "    log 127.0.0.1:5140 len 4096 ");
	ASSERT(!strstr(b.buf, "ring"));
	snprintf(p, sizeof(p), "%s/switch-out.cfg", dir);
	dynbuf_reset(&b);
	ASSERT_EQ(hcfg_write_outbound(&s, p), 0);
	if (access(HAPROXY, X_OK) == 0)
		ASSERT_EQ(haproxy_check(p), 0);
	dynbuf_release(&b);
}

/*
 * ---- the configs haproxy.c writes, one per fault combination ----
 * The golden files were captured from the text haproxy.c wrote when it still
 * patched the generator's output (verify none, the switch rules, the ring);
 * the fields must keep producing them byte for byte. After an intended
 * change: make golden, then review `git diff test/golden/hcfg`.
 */

#define ID_GRPC "grpc-server.conform.serviceaccount.identity.cluster.local"

/* The backends haproxy.c's outbound carries: every route of the checks. */
static const struct hcfg_server mesh_v1[] = { { "v1", "127.9.8.10:4143", 100, ID_V1 } };
static const struct hcfg_server mesh_split[] = {
	{ "v1", "127.9.8.10:4143", 90, ID_V1 },
	{ "v2", "127.9.8.11:4143", 10, ID_V2 },
};
static const struct hcfg_server mesh_grpc[] = { { "v1", "127.9.8.12:4143", 100, ID_GRPC } };
static const struct hcfg_route mesh_routes[] = {
	{ "http.conform.svc", "http" }, { "retry.conform.svc", "retry" },
	{ "timeout.conform.svc", "timeout" }, { "split.conform.svc", "split" },
	{ "grpc.conform.svc", "grpc" },
};

/* One combination of settings haproxy.c writes a config for. */
struct combo {
	const char *golden;      /* test/golden/<golden> */
	int outbound;
	int tap;                 /* tap_addr set: tap lines through the ring */
	int mtls_off;            /* inbound */
	int h2c;                 /* inbound app protocol */
	const char *hdr;         /* identity header, NULL = default */
	int has_http;            /* outbound: the http/retry/timeout routes exist */
};

static const struct combo combos[] = {
	{ "hcfg/in-tap.cfg", 0, 1, 0, 1, NULL, 0 },
	{ "hcfg/in-tap-mtls-off.cfg", 0, 1, 1, 1, NULL, 0 },
	{ "hcfg/in-http1.cfg", 0, 1, 0, 0, NULL, 0 },
	{ "hcfg/in-notap.cfg", 0, 0, 0, 0, NULL, 0 },
	{ "hcfg/in-notap-mtls-off-hdr.cfg", 0, 0, 1, 0, "x-peer-id", 0 },
	{ "hcfg/in-tap-hdr.cfg", 0, 1, 0, 1, "x-peer-id", 0 },
	{ "hcfg/out-tap.cfg", 1, 1, 0, 0, NULL, 1 },
	{ "hcfg/out-notap.cfg", 1, 0, 0, 0, NULL, 1 },
	{ "hcfg/out-tap-nohttp.cfg", 1, 1, 0, 0, NULL, 0 },
	{ "hcfg/out-notap-nohttp-hdr.cfg", 1, 0, 0, 0, "x-peer-id", 0 },
};

/* The description haproxy.c gives the generator for combination c. */
static void combo_sidecar(const struct combo *c, struct hcfg_sidecar *s, struct hcfg_backend *be,
			  size_t *nb)
{
	*nb = 0;
	if (c->has_http) {
		be[(*nb)++] = (struct hcfg_backend){ .name = "http", .servers = mesh_v1,
						     .n_servers = 1 };
		be[(*nb)++] = (struct hcfg_backend){ .name = "retry", .servers = mesh_v1,
						     .n_servers = 1, .retries = 2,
						     .retries_off_switch = 1 };
		be[(*nb)++] = (struct hcfg_backend){ .name = "timeout", .servers = mesh_v1,
						     .n_servers = 1, .timeout_ms = 500,
						     .timeout_off_switch = 1,
						     .lifted_timeout_s = 60 };
	}
	be[(*nb)++] = (struct hcfg_backend){ .name = "split", .servers = mesh_split, .n_servers = 2 };
	be[(*nb)++] = (struct hcfg_backend){ .name = "grpc", .servers = mesh_grpc, .n_servers = 1 };
	if (c->outbound) {
		*s = outbound();
		s->pod_ip = "127.9.8.20";
		s->backends = be;
		s->n_backends = *nb;
		s->routes = c->has_http ? mesh_routes : mesh_routes + 3;
		s->n_routes = *nb;
	} else {
		*s = inbound();
		s->app_proto = c->h2c ? HCFG_PROTO_H2C : HCFG_PROTO_HTTP1;
	}
	s->tap_addr = c->tap ? "127.0.0.1:5140" : NULL;
	s->identity_header = c->hdr;
	s->tap_ring = c->tap;
	s->tap_off_switch = 1;
	s->mtls_off = c->mtls_off;
}

/* text with every occurrence of the test directory replaced by @RUN@ */
static char *combo_neutral(const char *text)
{
	struct dynbuf o = DYNBUF_INIT(HCFG_CFG_MAX);
	const char *at;
	size_t dl = strlen(dir);

	while ((at = strstr(text, dir))) {
		if (dynbuf_add(&o, text, (size_t)(at - text)) || dynbuf_adds(&o, "@RUN@"))
			goto fail;
		text = at + dl;
	}
	if (dynbuf_adds(&o, text))
		goto fail;
	return o.buf;
fail:
	dynbuf_release(&o);
	return NULL;
}

/* Write text as dir/<n>.cfg (and the map next to it) and run haproxy -c on it. */
static int combo_haproxy_check(const struct hcfg_sidecar *s, int outbound, const char *text)
{
	struct dynbuf mb = DYNBUF_INIT(HCFG_CFG_MAX);
	char p[320];
	int rc = -1;

	snprintf(p, sizeof(p), "%s/combo.cfg", dir);
	if (file_write_atomic(p, text, strlen(text), 0600))
		goto out;
	if (outbound && (hcfg_map(s, &mb) || file_write_atomic(s->map_path, mb.buf, mb.len, 0600)))
		goto out;
	if (access(HAPROXY, X_OK)) {
		rc = 0;
		goto out;
	}
	rc = haproxy_check(p);
out:
	dynbuf_release(&mb);
	return rc;
}

/* The generator with the switches as fields writes exactly the golden
 * files, and HAProxy accepts each of them. */
TEST(golden_configs)
{
	for (size_t i = 0; i < ARRAY_SIZE(combos); i++) {
		const struct combo *c = &combos[i];
		struct hcfg_backend be[5];
		struct hcfg_sidecar s;
		struct dynbuf b = DYNBUF_INIT(HCFG_CFG_MAX);
		char *neutral;
		size_t nb;
		int rc;

		combo_sidecar(c, &s, be, &nb);
		rc = c->outbound ? hcfg_outbound(&s, &b) : hcfg_inbound(&s, &b);
		if (rc) {
			dynbuf_release(&b);
			H_FAIL("%s: generator failed (errno %d)", c->golden, errno);
		}
		neutral = combo_neutral(b.buf);
		rc = neutral ? golden_check(c->golden, neutral) : -1;
		free(neutral);
		if (rc == 0 && combo_haproxy_check(&s, c->outbound, b.buf)) {
			dynbuf_release(&b);
			H_FAIL("%s: haproxy -c refuses it", c->golden);
		}
		dynbuf_release(&b);
		if (rc)
			H_FAIL("%s differs from the generator's output", c->golden);
	}
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
	RUN(switch_fields);
	RUN(golden_configs);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	TEST_MAIN_END();
}
