/*
 * traffic.c - the sample workloads and the traffic each check needs: one
 * table, read by every mesh's planning and by conformd's spine (traffic.h).
 * A new check that sends traffic adds rows here, never in an adapter.
 */
#include "checks/traffic.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "checks/check.h"
#include "base/util.h"

const struct traffic_workload traffic_workloads[] = {
	{ "http-server", "http-server", ROLE_HTTP_SERVER, "v1" },
	{ "http-server-v2", "http-server", ROLE_HTTP_SERVER, "v2" },
	{ "grpc-server", "grpc-server", ROLE_GRPC_SERVER, "v1" },
	{ "http-client", "http-client", ROLE_HTTP_CLIENT, "" },
	{ "grpc-client", "grpc-client", ROLE_GRPC_CLIENT, "" },
};
const size_t traffic_nworkloads = ARRAY_SIZE(traffic_workloads);

/* What a flow asks of the server besides answering. */
enum { T_PLAIN, T_SPLIT_RATE, T_FAIL, T_SLOW };

/*
 * Per check: the workloads it needs (even a check without flows of its
 * own: mtls.identity is judged on the others' traffic, identity.expiry on
 * the proxies of these workloads) and its flows, in the order a client
 * sends them.
 */
static const struct traffic_row {
	const char *check;        /* catalog id */
	const char *workloads;    /* comma-separated */
	const char *flow;         /* the flow's check id, NULL = no flow */
	const char *client, *server, *route;
	enum traffic_kind kind;
	int what;                 /* T_* */
} rows[] = {
	{ "http.basic", "http-server,http-client", "http.basic", "http-client", "http-server",
	  "http", TRAFFIC_HTTP, T_PLAIN },
	{ "tap.live", "http-server,http-client", "tap.live", "http-client", "http-server",
	  "http", TRAFFIC_HTTP, T_PLAIN },
	{ "split.weights", "http-server,http-server-v2,http-client", "split.weights",
	  "http-client", "http-server", "split", TRAFFIC_HTTP, T_SPLIT_RATE },
	/* split.shift is judged on split.weights' flow: one flow serves both */
	{ "split.shift", "http-server,http-server-v2,http-client", "split.weights",
	  "http-client", "http-server", "split", TRAFFIC_HTTP, T_SPLIT_RATE },
	{ "retry.http", "http-server,http-client", "retry.http", "http-client", "http-server",
	  "retry", TRAFFIC_HTTP, T_FAIL },
	{ "timeout.http", "http-server,http-client", "timeout.http/slow", "http-client",
	  "http-server", "timeout", TRAFFIC_HTTP, T_SLOW },
	{ "timeout.http", "http-server,http-client", "timeout.http/fast", "http-client",
	  "http-server", "timeout", TRAFFIC_HTTP, T_PLAIN },
	{ "mtls.identity", "http-server,http-client", NULL, NULL, NULL, NULL, 0, 0 },
	{ "mtls.enforced", "http-server,http-client", NULL, NULL, NULL, NULL, 0, 0 },
	{ "identity.expiry", "http-server,http-client", NULL, NULL, NULL, NULL, 0, 0 },
	{ "grpc.basic", "grpc-server,grpc-client", "grpc.basic", "grpc-client", "grpc-server",
	  "grpc", TRAFFIC_GRPC_UNARY, T_PLAIN },
	{ "grpc.stream", "grpc-server,grpc-client", "grpc.stream", "grpc-client", "grpc-server",
	  "grpc", TRAFFIC_GRPC_BIDI, T_PLAIN },
};

int traffic_workload_index(const char *name)
{
	size_t i;

	for (i = 0; name && i < traffic_nworkloads; i++)
		if (!strcmp(traffic_workloads[i].name, name))
			return (int)i;
	return -1;
}

int traffic_uses(const struct traffic_plan *p, const char *name)
{
	int i = traffic_workload_index(name);

	return i >= 0 && (p->used & (1u << i));
}

static int use_list(struct traffic_plan *p, const char *list)
{
	while (*list) {
		size_t n = strcspn(list, ",");
		char name[64];
		int i;

		if (n >= sizeof(name))
			return -1;
		memcpy(name, list, n);
		name[n] = '\0';
		if ((i = traffic_workload_index(name)) < 0)
			return -1;
		p->used |= 1u << i;
		list += n + (list[n] == ',');
	}
	return 0;
}

static int has_flow(const struct traffic_plan *p, const char *check)
{
	for (size_t i = 0; i < p->nflows; i++)
		if (!strcmp(p->flows[i].check, check))
			return 1;
	return 0;
}

int traffic_plan_make(const struct run_config *c, int meshed, struct traffic_plan *out)
{
	double window_s = c->window_ms > 0 ? (double)c->window_ms / 1000.0 : 10.0;
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		const struct traffic_row *r = &rows[i];
		const struct check_desc *cd = catalog_find(r->check);
		struct traffic_flow *f;

		if (!run_config_has_check(c, r->check) || !cd || (!meshed && cd->needs_mesh))
			continue;
		if (use_list(out, r->workloads) < 0)
			return -1;
		if (!r->flow || has_flow(out, r->flow))
			continue;
		if (out->nflows >= TRAFFIC_MAX_FLOWS)
			return -1;
		f = &out->flows[out->nflows++];
		f->check = r->flow;
		f->client = r->client;
		f->server = r->server;
		f->route = r->route;
		f->kind = r->kind;
		f->rate = c->rate;
		f->timeout_ms = c->request_timeout_ms;
		switch (r->what) {
		case T_SPLIT_RATE:
			if (c->rate * window_s < TRAFFIC_SPLIT_MIN_PER_WINDOW)
				f->rate = ceil(TRAFFIC_SPLIT_MIN_PER_WINDOW / window_s);
			break;
		case T_FAIL:
			f->fail = c->m.retry_fail_share;
			break;
		case T_SLOW:
			/* the client waits past the slow answer: the mesh's 504 must come first */
			f->delay_ms = c->m.slow_ms;
			if (c->m.slow_ms + 1000 > f->timeout_ms)
				f->timeout_ms = c->m.slow_ms + 1000;
			break;
		}
	}
	return 0;
}

int traffic_flow_spec(const struct traffic_flow *f, const char *addr, const char *authority,
		      char *out, size_t len)
{
	struct dynbuf b = DYNBUF_INIT(len ? len - 1 : 0);
	struct dynw w = { &b, 0 };

	dynw_addf(&w, "check=%s,", f->check);
	if (f->kind == TRAFFIC_HTTP)
		dynw_addf(&w, "url=http://%s/echo", addr);
	else
		dynw_addf(&w, "target=%s,method=%s", addr,
			  f->kind == TRAFFIC_GRPC_BIDI ? "bidi" : "unary");
	if (authority)
		dynw_addf(&w, ",authority=%s", authority);
	if (f->fail > 0)
		dynw_addf(&w, ",fail=%g", f->fail);
	if (f->delay_ms > 0)
		dynw_addf(&w, ",delay=%lldms", (long long)f->delay_ms);
	dynw_addf(&w, ",rate=%g,timeout=%lldms", f->rate, (long long)f->timeout_ms);
	if (!w.err && b.buf)
		str_copy(out, len, b.buf);
	dynbuf_release(&b);
	return w.err ? -1 : 0;
}
