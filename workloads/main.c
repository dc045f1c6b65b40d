/*
 * main.c - conform-workload: parse flags, block the stop signals in every
 * thread (they are collected with sigtimedwait so no handler ever runs inside
 * gRPC, curl or microhttpd), then run the selected role.
 */
#include "workload.h"
#include "base/addr.h"
#include "base/util.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


static volatile int wl_stopped;
static sigset_t wl_sigs;

int wl_should_stop(void)
{
	struct timespec zero = { 0, 0 };

	if (wl_stopped)
		return 1;
	if (sigtimedwait(&wl_sigs, NULL, &zero) > 0)
		wl_stopped = 1;
	return wl_stopped;
}

int wl_wait_stop(int64_t ms)
{
	struct timespec ts;

	if (wl_stopped)
		return 1;
	if (ms < 0)
		ms = 0;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	if (sigtimedwait(&wl_sigs, NULL, &ts) > 0)
		wl_stopped = 1;
	return wl_stopped;
}

static const char usage[] =
	"usage: conform-workload --role ROLE --name NAME [options]\n"
	"roles: http-server grpc-server http-client grpc-client\n"
	"  --version V             backend version the servers report (default v1)\n"
	"  --listen ADDR:PORT      servers: where to serve (port 0 = any)\n"
	"  --admin ADDR:PORT       servers: fault hook listener (port 0 = any)\n"
	"  --collector HOST:PORT   clients: conformd's collector\n"
	"  --ready-file PATH       written (atomically) once serving/running\n"
	"  --identity-header NAME  servers: header with the client identity\n"
	"                          (default l5d-client-id)\n"
	"  --flow SPEC             clients: one per check, comma-separated key=value:\n"
	"                          check=ID url=URL | target=HOST:PORT method=unary|bidi\n"
	"                          authority=H rate=N timeout=D fail=P delay=D inflight=N\n"
	"  --batch-interval D      clients: how often batches are sent (default 1s)\n"
	"  --buffer-batches N      clients: unacked batches kept (default 3600)\n"
	"  --help                  this text\n"
	"env: CONFORM_TOKEN        per-run secret for batches and admin requests\n";

static int bad(const char *flag, const char *what)
{
	fprintf(stderr, "conform-workload: %s: %s\n%s", flag, what,
		"run 'conform-workload --help' for usage\n");
	return 2;
}

static int set_str(char *dst, size_t len, const char *flag, const char *v)
{
	if (!*v)
		return bad(flag, "empty value");
	if (str_copy(dst, len, v) < 0)
		return bad(flag, "value too long");
	return 0;
}

static int parse_args(int argc, char **argv, struct wl_opts *o)
{
	static const struct option longopts[] = {
		{ "role", required_argument, NULL, 'r' },
		{ "name", required_argument, NULL, 'n' },
		{ "version", required_argument, NULL, 'v' },
		{ "listen", required_argument, NULL, 'l' },
		{ "admin", required_argument, NULL, 'a' },
		{ "collector", required_argument, NULL, 'c' },
		{ "ready-file", required_argument, NULL, 'R' },
		{ "identity-header", required_argument, NULL, 'i' },
		{ "flow", required_argument, NULL, 'f' },
		{ "batch-interval", required_argument, NULL, 'b' },
		{ "buffer-batches", required_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char err[256];
	struct addr_hostport hp;
	const char *role = NULL;
	int c, rc;
	size_t i;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		const char *flag = argv[optind - 1];

		switch (c) {
		case 'r':
			role = optarg;
			break;
		case 'n':
			if ((rc = set_str(o->name, sizeof(o->name), "--name", optarg)))
				return rc;
			for (i = 0; o->name[i]; i++)
				if (!(o->name[i] == '-' || o->name[i] == '_' || o->name[i] == '.' ||
				      (o->name[i] >= 'a' && o->name[i] <= 'z') ||
				      (o->name[i] >= 'A' && o->name[i] <= 'Z') ||
				      (o->name[i] >= '0' && o->name[i] <= '9')))
					return bad("--name", "only letters, digits, '-', '_' and '.'");
			break;
		case 'v':
			if ((rc = set_str(o->version, sizeof(o->version), "--version", optarg)))
				return rc;
			break;
		case 'l':
		case 'a':
		case 'c':
			/* listeners may ask for any port; the collector is named
			 * (a Service's DNS name in a cluster) and resolved by gRPC */
			if (addr_parse(optarg, c == 'c' ? 0 : ADDR_PORT_ZERO, &hp, err,
				       sizeof(err)) < 0)
				return bad(c == 'l' ? "--listen" : c == 'a' ? "--admin" : "--collector",
					   err);
			str_copy(c == 'l' ? o->listen : c == 'a' ? o->admin : o->collector,
				 sizeof(o->listen), optarg);
			break;
		case 'R':
			if ((rc = set_str(o->ready_file, sizeof(o->ready_file), "--ready-file", optarg)))
				return rc;
			break;
		case 'i':
			if ((rc = set_str(o->identity_header, sizeof(o->identity_header),
					  "--identity-header", optarg)))
				return rc;
			for (i = 0; o->identity_header[i]; i++)
				if (o->identity_header[i] >= 'A' && o->identity_header[i] <= 'Z')
					o->identity_header[i] = (char)(o->identity_header[i] - 'A' + 'a');
				else if (!(o->identity_header[i] == '-' || o->identity_header[i] == '_' ||
					   (o->identity_header[i] >= 'a' && o->identity_header[i] <= 'z') ||
					   (o->identity_header[i] >= '0' && o->identity_header[i] <= '9')))
					return bad("--identity-header", "not a valid header name");
			break;
		case 'f':
			if (o->nflows == WL_MAX_FLOWS)
				return bad("--flow", "too many flows (max 32)");
			/* role may come later: parse now for syntax, again below */
			o->nflows++;
			break;
		case 'b':
			if (dur_parse(optarg, &o->batch_interval_ms) < 0 || o->batch_interval_ms < 10 ||
			    o->batch_interval_ms > 3600000)
				return bad("--batch-interval", "expected a duration from 10ms to 1h");
			break;
		case 'B':
			if (parse_i64(optarg, 1, 1000000, &o->buffer_batches) < 0)
				return bad("--buffer-batches", "expected a number from 1 to 1000000");
			break;
		case 'h':
			fputs(usage, stdout);
			return 1;
		case ':':
			return bad(flag, "missing value");
		default:
			return bad(flag, "unknown flag");
		}
	}
	if (optind < argc)
		return bad(argv[optind], "unexpected argument");
	if (!role)
		return bad("--role", "required");
	if (!strcmp(role, "http-server"))
		o->role = WL_HTTP_SERVER;
	else if (!strcmp(role, "grpc-server"))
		o->role = WL_GRPC_SERVER;
	else if (!strcmp(role, "http-client"))
		o->role = WL_HTTP_CLIENT;
	else if (!strcmp(role, "grpc-client"))
		o->role = WL_GRPC_CLIENT;
	else
		return bad("--role", "expected http-server, grpc-server, http-client or grpc-client");
	o->role_name = role;
	if (!o->name[0])
		str_copy(o->name, sizeof(o->name), role);
	/* second pass: the flows, now that the role is known */
	o->nflows = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		if (c != 'f')
			continue;
		if (wl_flow_parse(optarg, o->role, &o->flows[o->nflows], err, sizeof(err)) < 0)
			return bad("--flow", err);
		o->nflows++;
	}
	if (o->role == WL_HTTP_SERVER || o->role == WL_GRPC_SERVER) {
		if (!o->listen[0])
			return bad("--listen", "required for servers");
		if (o->nflows)
			return bad("--flow", "only for clients");
	} else {
		if (!o->nflows)
			return bad("--flow", "clients need at least one");
		if (o->listen[0] || o->admin[0])
			return bad(o->listen[0] ? "--listen" : "--admin", "only for servers");
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct wl_opts o;   /* large: keep it off the stack */
	const char *tok = getenv("CONFORM_TOKEN");
	int rc;

	log_init("conform-workload", LOG_INFO);
	str_copy(o.version, sizeof(o.version), "v1");
	str_copy(o.identity_header, sizeof(o.identity_header), "l5d-client-id");
	o.batch_interval_ms = 1000;
	o.buffer_batches = 3600;
	rc = parse_args(argc, argv, &o);
	if (rc)
		return rc == 1 ? 0 : rc;
	if (tok && str_copy(o.token, sizeof(o.token), tok) < 0) {
		fprintf(stderr, "conform-workload: CONFORM_TOKEN: too long\n");
		return 2;
	}
	log_init(o.name, LOG_INFO);
	o.instance = rand_u64();
	o.wall_base_us = wall_us() - mono_ns() / 1000;

	/* before any thread exists: every thread inherits the blocked mask */
	sigemptyset(&wl_sigs);
	sigaddset(&wl_sigs, SIGTERM);
	sigaddset(&wl_sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &wl_sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	switch (o.role) {
	case WL_HTTP_SERVER:
		rc = http_server_run(&o);
		break;
	case WL_GRPC_SERVER:
		rc = grpc_server_run(&o);
		break;
	case WL_HTTP_CLIENT:
		rc = http_client_run(&o);
		break;
	case WL_GRPC_CLIENT:
		rc = grpc_client_run(&o);
		break;
	}
	return rc;
}
