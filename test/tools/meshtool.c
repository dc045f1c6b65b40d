/*
 * meshtool.c - drives the local mesh building blocks (pki, haproxy_cfg,
 * haproxy_rt, tap) from test scripts: generates a tiny sidecar topology,
 * receives tap lines, talks to the runtime API and probes TLS listeners.
 *   meshtool gen --dir DIR --tap 127.0.0.1:PORT
 *   meshtool tap --listen 127.0.0.1:0 --port-file FILE [--max-s N]
 *   meshtool rt SOCK set-weight BACKEND SERVER W | get-weight BACKEND SERVER
 *              | stat | uptime | cmd "COMMAND"
 *   meshtool probe HOST PORT [--plain] [--cert PEM] [--ca CA]
 *   meshtool certinfo PEM
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "mesh/haproxy/cfg.h"
#include "mesh/haproxy/rt.h"
#include "mesh/haproxy/pki.h"
#include "mesh/haproxy/tap.h"
#include "base/util.h"

static int usage(void)
{
	fprintf(stderr, "usage: meshtool gen|tap|rt|probe|certinfo ... (see source)\n");
	return 2;
}

/* ---- gen ---- */

static int can_bind(const char *ip, int port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	if (fd < 0)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, ip, &sa.sin_addr);
	ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

#define N_PODS 4
static const char *const pod_names[N_PODS] = {
	"http-client", "http-server-v1", "http-server-v2", "fast-server",
};
#define APP_PORT 8080

static int gen_pki(const char *dir, char ids[N_PODS][PKI_NAME_MAX])
{
	char pdir[512], p1[600], p2[600];
	struct pki_ca *ca = NULL, *foreign = NULL;
	struct pki_leaf_opts o = { .valid_s = 86400 };
	int rc = -1;

	str_fmt(pdir, sizeof(pdir), "%s/pki", dir);
	if (mkdir_p(pdir, 0700))
		return -1;
	ca = pki_ca_new("conform run ca", 7 * 86400);
	foreign = pki_ca_new("conform foreign ca", 7 * 86400);
	if (!ca || !foreign)
		goto out;
	str_fmt(p1, sizeof(p1), "%s/ca.crt", pdir);
	str_fmt(p2, sizeof(p2), "%s/ca.key", pdir);
	if (pki_ca_write(ca, p1, p2))
		goto out;
	for (int i = 0; i < N_PODS; i++) {
		o.workload = pod_names[i];
		if (pki_write_workload(ca, pdir, &o) ||
		    pki_identity(pod_names[i], NULL, NULL, ids[i], PKI_NAME_MAX))
			goto out;
	}
	/* same identity as the client, signed by a CA nobody trusts */
	str_fmt(p1, sizeof(p1), "%s/foreign-ca.crt", pdir);
	str_fmt(p2, sizeof(p2), "%s/foreign-client.pem", pdir);
	o.workload = "http-client";
	if (pki_ca_write(foreign, p1, NULL) || pki_leaf_write(foreign, &o, NULL, NULL, p2))
		goto out;
	/* a leaf that expires in 60 s, for expiry probes */
	str_fmt(p1, sizeof(p1), "%s/expiring.pem", pdir);
	o.workload = "expiring";
	o.valid_s = 60;
	if (pki_leaf_write(ca, &o, NULL, NULL, p1))
		goto out;
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "meshtool: pki: %s\n", pki_last_error());
	pki_ca_free(ca);
	pki_ca_free(foreign);
	return rc;
}

static int cmd_gen(int argc, char **argv)
{
	const char *dir = NULL, *tap = NULL;
	char ids[N_PODS][PKI_NAME_MAX], net[32] = "", ip[N_PODS][32];
	char path[N_PODS][3][600], cfg[600], map[600], ca[600], app[N_PODS][48], inb[N_PODS][48];
	int tries;

	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--dir"))
			dir = argv[i + 1];
		else if (!strcmp(argv[i], "--tap"))
			tap = argv[i + 1];
		else
			return usage();
	}
	if (!dir || !tap)
		return usage();
	/* a random 127.a.b.0/24 where every listener we need is free */
	for (tries = 0; tries < 50; tries++) {
		int ok = 1;

		str_fmt(net, sizeof(net), "127.%d.%d", 1 + (int)(rand_u64() % 250),
			1 + (int)(rand_u64() % 250));
		for (int i = 0; i < N_PODS && ok; i++) {
			str_fmt(ip[i], sizeof(ip[i]), "%s.%d", net, 10 + i);
			ok = can_bind(ip[i], HCFG_INBOUND_PORT) &&
			     can_bind(ip[i], HCFG_OUTBOUND_PORT) && can_bind(ip[i], APP_PORT);
		}
		if (ok)
			break;
	}
	if (tries == 50) {
		fprintf(stderr, "meshtool: no free subnet\n");
		return 1;
	}
	if (mkdir_p(dir, 0700) || gen_pki(dir, ids))
		return 1;
	str_fmt(ca, sizeof(ca), "%s/pki/ca.crt", dir);
	for (int i = 0; i < N_PODS; i++) {
		str_fmt(path[i][0], sizeof(path[i][0]), "%s/pki/%s.pem", dir, pod_names[i]);
		str_fmt(path[i][1], sizeof(path[i][1]), "%s/%s-in.sock", dir, pod_names[i]);
		str_fmt(path[i][2], sizeof(path[i][2]), "%s/%s-out.sock", dir, pod_names[i]);
		str_fmt(app[i], sizeof(app[i]), "%s:%d", ip[i], APP_PORT);
		str_fmt(inb[i], sizeof(inb[i]), "%s:%d", ip[i], HCFG_INBOUND_PORT);
	}
	/* inbound sidecars of the three servers */
	for (int i = 1; i < N_PODS; i++) {
		struct hcfg_sidecar s = {
			.name = pod_names[i], .pod_ip = ip[i], .admin_sock = path[i][1],
			.tap_addr = tap, .crt = path[i][0], .ca_file = ca,
			.app_addr = app[i], .app_proto = HCFG_PROTO_HTTP1,
		};

		str_fmt(cfg, sizeof(cfg), "%s/in-%s.cfg", dir, pod_names[i]);
		if (hcfg_write_inbound(&s, cfg)) {
			fprintf(stderr, "meshtool: inbound %s: %s\n", pod_names[i], strerror(errno));
			return 1;
		}
	}
	/* the client's outbound: one backend per behaviour under test */
	{
		struct hcfg_server v1 = { "v1", inb[1], 100, ids[1] };
		struct hcfg_server split[2] = {
			{ "v1", inb[1], 90, ids[1] }, { "v2", inb[2], 10, ids[2] },
		};
		/* points at v2's inbound but expects v1's identity */
		struct hcfg_server wrong = { "v1", inb[2], 100, ids[1] };
		struct hcfg_server fast = { "fast", inb[3], 100, ids[3] };
		struct hcfg_backend be[] = {
			{ .name = "echo", .servers = &v1, .n_servers = 1 },
			{ .name = "split", .servers = split, .n_servers = 2 },
			{ .name = "retry", .servers = &v1, .n_servers = 1, .retries = 3,
			  .retry_on = "500 502 503 504 conn-failure empty-response" },
			{ .name = "noretry", .servers = &v1, .n_servers = 1 },
			{ .name = "slow", .servers = &v1, .n_servers = 1, .timeout_ms = 300 },
			{ .name = "wrongid", .servers = &wrong, .n_servers = 1 },
			{ .name = "fast", .servers = &fast, .n_servers = 1 },
		};
		struct hcfg_route rt[] = {
			{ "echo.conform", "echo" }, { "split.conform", "split" },
			{ "retry.conform", "retry" }, { "noretry.conform", "noretry" },
			{ "slow.conform", "slow" }, { "wrongid.conform", "wrongid" },
			{ "fast.conform", "fast" },
		};
		struct hcfg_sidecar s = {
			.name = pod_names[0], .pod_ip = ip[0], .admin_sock = path[0][2],
			.tap_addr = tap, .crt = path[0][0], .ca_file = ca, .map_path = map,
			.routes = rt, .n_routes = ARRAY_SIZE(rt),
			.backends = be, .n_backends = ARRAY_SIZE(be),
		};

		str_fmt(map, sizeof(map), "%s/out-%s.map", dir, pod_names[0]);
		str_fmt(cfg, sizeof(cfg), "%s/out-%s.cfg", dir, pod_names[0]);
		if (hcfg_write_outbound(&s, cfg)) {
			fprintf(stderr, "meshtool: outbound: %s\n", strerror(errno));
			return 1;
		}
	}
	/* a fast static app (HAProxy answering by itself) for throughput figures */
	{
		struct dynbuf b = DYNBUF_INIT(4096);
		int rc;

		str_fmt(cfg, sizeof(cfg), "%s/app-fast-server.cfg", dir);
		rc = dynbuf_addf(&b,
			"global\n    maxconn 4096\n"
			"defaults\n    mode http\n    timeout client 30s\n"
			"frontend app\n    bind %s\n"
			"    http-request return status 200 content-type text/plain"
			" lf-string \"server=fast identity=%%[req.hdr(l5d-client-id)]\\n\"\n",
			app[3]) || file_write_atomic(cfg, b.buf, b.len, 0600);
		dynbuf_release(&b);
		if (rc)
			return 1;
	}
	printf("NET=%s\nCLIENT_IP=%s\nV1_IP=%s\nV2_IP=%s\nFAST_IP=%s\n", net, ip[0], ip[1],
	       ip[2], ip[3]);
	printf("OUT_PORT=%d\nIN_PORT=%d\nAPP_PORT=%d\n", HCFG_OUTBOUND_PORT, HCFG_INBOUND_PORT,
	       APP_PORT);
	printf("CLIENT_ID=%s\nV1_ID=%s\nV2_ID=%s\nFAST_ID=%s\n", ids[0], ids[1], ids[2], ids[3]);
	printf("OUT_SOCK=%s\n", path[0][2]);
	return 0;
}

/* ---- tap ---- */

static volatile sig_atomic_t tap_stop;

static void on_term(int sig)
{
	(void)sig;
	tap_stop = 1;
}

static void tap_print(const struct tap_record *r, void *ctx)
{
	int64_t delay = wall_us() - r->ts_us;

	(void)ctx;
	if (r->kind == TAP_KIND_CONN_ERROR) {
		printf("err dir=%s proxy=%s src=%s dst=%s error=\"%s\" delay_us=%" PRId64 "\n",
		       tap_dir_str(r->dir), r->proxy, r->src, r->dst, r->error, delay);
	} else {
		printf("req dir=%s rid=%s proxy=%s src=%s dst=%s be=%s srv=%s method=%s path=%s"
		       " status=%d ta=%" PRId64 " retries=%d term=%s client_id=%s server_id=%s"
		       " delay_us=%" PRId64 "\n",
		       tap_dir_str(r->dir), r->request_id[0] ? r->request_id : "-", r->proxy,
		       r->src, r->dst, r->backend, r->server, r->method, r->path, r->status,
		       r->latency_ms, r->retries, r->term_state,
		       r->client_id[0] ? r->client_id : "-", r->server_id[0] ? r->server_id : "-",
		       delay);
	}
	fflush(stdout);
}

static int cmd_tap(int argc, char **argv)
{
	const char *listen = "127.0.0.1:0", *port_file = NULL;
	struct tap_stats st = { 0, 0, 0 };
	int64_t max_s = 600, deadline;
	char buf[32];
	int fd, port;

	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--listen"))
			listen = argv[i + 1];
		else if (!strcmp(argv[i], "--port-file"))
			port_file = argv[i + 1];
		else if (!strcmp(argv[i], "--max-s") && !parse_i64(argv[i + 1], 1, 86400, &max_s))
			;
		else
			return usage();
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	fd = tap_listen(listen, &port);
	if (fd < 0) {
		fprintf(stderr, "meshtool: tap_listen %s: %s\n", listen, strerror(errno));
		return 1;
	}
	str_fmt(buf, sizeof(buf), "%d\n", port);
	if (port_file && file_write_atomic(port_file, buf, strlen(buf), 0644))
		return 1;
	deadline = mono_ms() + max_s * 1000;
	while (!tap_stop && mono_ms() < deadline) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 200) > 0 && tap_read_nonblock(fd, tap_print, NULL, &st) < 0)
			break;
	}
	tap_read_nonblock(fd, tap_print, NULL, &st);
	fprintf(stderr, "tap datagrams=%" PRIu64 " parsed=%" PRIu64 " rejected=%" PRIu64 "\n",
		st.datagrams, st.parsed, st.rejected);
	close(fd);
	return 0;
}

/* ---- rt ---- */

static int cmd_rt(int argc, char **argv)
{
	const char *sock;
	int64_t w;

	if (argc < 4)
		return usage();
	sock = argv[2];
	if (!strcmp(argv[3], "set-weight") && argc == 7) {
		if (parse_i64(argv[6], 0, 256, &w) || hrt_set_weight(sock, argv[4], argv[5], (int)w)) {
			fprintf(stderr, "meshtool: set weight: %s\n", hrt_last_error());
			return 1;
		}
		return 0;
	}
	if (!strcmp(argv[3], "get-weight") && argc == 6) {
		int cur, ini;

		if (hrt_get_weight(sock, argv[4], argv[5], &cur, &ini)) {
			fprintf(stderr, "meshtool: get weight: %s\n", hrt_last_error());
			return 1;
		}
		printf("%d %d\n", cur, ini);
		return 0;
	}
	if (!strcmp(argv[3], "stat") && argc == 4) {
		static struct hrt_stat rows[256];
		size_t n;

		if (hrt_show_stat(sock, rows, ARRAY_SIZE(rows), &n)) {
			fprintf(stderr, "meshtool: show stat: %s\n", hrt_last_error());
			return 1;
		}
		for (size_t i = 0; i < n; i++)
			printf("%s %s status=%s weight=%" PRId64 " scur=%" PRId64 " stot=%" PRId64
			       " hrsp_5xx=%" PRId64 " req_tot=%" PRId64 " ssl_failed=%" PRId64
			       " wretr=%" PRId64 "\n",
			       rows[i].proxy, rows[i].server, rows[i].status, rows[i].weight,
			       rows[i].scur, rows[i].stot, rows[i].hrsp_5xx, rows[i].req_tot,
			       rows[i].ssl_failed_handshake, rows[i].wretr);
		return 0;
	}
	if (!strcmp(argv[3], "uptime") && argc == 4) {
		int64_t up;

		if (hrt_uptime_s(sock, &up)) {
			fprintf(stderr, "meshtool: uptime: %s\n", hrt_last_error());
			return 1;
		}
		printf("%" PRId64 "\n", up);
		return 0;
	}
	if (!strcmp(argv[3], "cmd") && argc == 5) {
		struct dynbuf b = DYNBUF_INIT(HRT_REPLY_MAX);
		int rc = hrt_cmd(sock, argv[4], 0, &b);

		if (!rc)
			fwrite(b.buf ? b.buf : "", 1, b.len, stdout);
		else
			fprintf(stderr, "meshtool: %s\n", hrt_last_error());
		dynbuf_release(&b);
		return rc ? 1 : 0;
	}
	return usage();
}

/* ---- probe / certinfo ---- */

static int cmd_probe(int argc, char **argv)
{
	struct tlsprobe_opts o = { .timeout_ms = 2000, .alpn = "h2,http/1.1" };
	struct tlsprobe_result r;
	int64_t port;
	int plain = 0;

	if (argc < 4 || parse_i64(argv[3], 1, 65535, &port))
		return usage();
	o.host = argv[2];
	o.port = (int)port;
	for (int i = 4; i < argc; i += 2) {
		if (!strcmp(argv[i], "--plain")) {
			plain = 1;
			i--;
		} else if (i + 1 == argc) {
			return usage();
		} else if (!strcmp(argv[i], "--cert"))
			o.client_pem = argv[i + 1];
		else if (!strcmp(argv[i], "--ca"))
			o.ca_path = argv[i + 1];
		else
			return usage();
	}
	if (plain ? tlsprobe_plaintext(&o, &r) : tlsprobe_tls(&o, &r)) {
		fprintf(stderr, "meshtool: probe: %s\n", tlsprobe_last_error());
		return 1;
	}
	printf("status=%s alert=%d alpn=%s server_cn=%s not_after=%" PRId64 " reason=\"%s\"\n",
	       tlsprobe_status_str(r.status), r.alert, r.alpn[0] ? r.alpn : "-",
	       r.got_server_cert ? r.server.cn : "-",
	       r.got_server_cert ? r.server.not_after : 0, r.reason);
	return 0;
}

static int cmd_certinfo(int argc, char **argv)
{
	struct tls_cert_info ci;

	if (argc != 3)
		return usage();
	if (pki_cert_info_file(argv[2], &ci)) {
		fprintf(stderr, "meshtool: %s\n", pki_last_error());
		return 1;
	}
	printf("cn=%s issuer=\"%s\" not_before=%" PRId64 " not_after=%" PRId64 "\n",
	       ci.cn, ci.issuer_cn, ci.not_before, ci.not_after);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (!strcmp(argv[1], "gen"))
		return cmd_gen(argc, argv);
	if (!strcmp(argv[1], "tap"))
		return cmd_tap(argc, argv);
	if (!strcmp(argv[1], "rt"))
		return cmd_rt(argc, argv);
	if (!strcmp(argv[1], "probe"))
		return cmd_probe(argc, argv);
	if (!strcmp(argv[1], "certinfo"))
		return cmd_certinfo(argc, argv);
	return usage();
}
