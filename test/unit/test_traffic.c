/*
 * test_traffic.c - the traffic plan: which workloads a run starts and the
 * exact flows its clients send, with a mesh and without one. The strings
 * are what the HAProxy adapter and conformd's spine sent before the plan
 * had its own table, so moving it changed no byte a workload sees.
 */
#include "checks/check.h"
#include "checks/traffic.h"
#include "harness.h"
#include "platform/platform.h"
#include "base/util.h"

static struct run_config cfg;

static void specs(const struct traffic_plan *p, const char *client, const char *addr,
		  const char *ns, char out[][PLATFORM_FLOW_MAX], size_t *n)
{
	char auth[128];

	*n = 0;
	for (size_t i = 0; i < p->nflows; i++) {
		if (strcmp(p->flows[i].client, client))
			continue;
		snprintf(auth, sizeof(auth), "%s.%s.svc", p->flows[i].route, ns);
		if (traffic_flow_spec(&p->flows[i], addr, ns ? auth : NULL, out[*n],
				      PLATFORM_FLOW_MAX) == 0)
			(*n)++;
	}
}

TEST(meshed_plan_every_check)
{
	struct traffic_plan p;
	char f[TRAFFIC_MAX_FLOWS][PLATFORM_FLOW_MAX];
	size_t n;

	run_config_defaults(&cfg);
	cfg.m.slow_ms = 1500;
	cfg.m.retry_fail_share = 0.5;
	ASSERT_EQ(traffic_plan_make(&cfg, 1, &p), 0);
	ASSERT_EQ(p.used, (1u << traffic_nworkloads) - 1);   /* all five */
	specs(&p, "http-client", "127.0.9.20:4140", "conform", f, &n);
	ASSERT_EQ(n, 6);
	ASSERT_STR_EQ(f[0], "check=http.basic,url=http://127.0.9.20:4140/echo,"
		      "authority=http.conform.svc,rate=10,timeout=2000ms");
	ASSERT_STR_EQ(f[1], "check=tap.live,url=http://127.0.9.20:4140/echo,"
		      "authority=http.conform.svc,rate=10,timeout=2000ms");
	/* 10 req/s over 10 s windows is under 150 a window: the split gets 15 */
	ASSERT_STR_EQ(f[2], "check=split.weights,url=http://127.0.9.20:4140/echo,"
		      "authority=split.conform.svc,rate=15,timeout=2000ms");
	ASSERT_STR_EQ(f[3], "check=retry.http,url=http://127.0.9.20:4140/echo,"
		      "authority=retry.conform.svc,fail=0.5,rate=10,timeout=2000ms");
	ASSERT_STR_EQ(f[4], "check=timeout.http/slow,url=http://127.0.9.20:4140/echo,"
		      "authority=timeout.conform.svc,delay=1500ms,rate=10,timeout=2500ms");
	ASSERT_STR_EQ(f[5], "check=timeout.http/fast,url=http://127.0.9.20:4140/echo,"
		      "authority=timeout.conform.svc,rate=10,timeout=2000ms");
	specs(&p, "grpc-client", "127.0.9.21:4140", "conform", f, &n);
	ASSERT_EQ(n, 2);
	ASSERT_STR_EQ(f[0], "check=grpc.basic,target=127.0.9.21:4140,method=unary,"
		      "authority=grpc.conform.svc,rate=10,timeout=2000ms");
	ASSERT_STR_EQ(f[1], "check=grpc.stream,target=127.0.9.21:4140,method=bidi,"
		      "authority=grpc.conform.svc,rate=10,timeout=2000ms");
}

/* Without a mesh only the checks that need none send traffic. */
TEST(unmeshed_plan_is_the_spine)
{
	struct traffic_plan p;
	char f[TRAFFIC_MAX_FLOWS][PLATFORM_FLOW_MAX];
	size_t n;

	run_config_defaults(&cfg);
	ASSERT_EQ(traffic_plan_make(&cfg, 0, &p), 0);
	ASSERT(traffic_uses(&p, "http-server") && traffic_uses(&p, "http-client"));
	ASSERT(traffic_uses(&p, "grpc-server") && traffic_uses(&p, "grpc-client"));
	ASSERT(!traffic_uses(&p, "http-server-v2"));
	specs(&p, "http-client", "127.0.0.1:8080", NULL, f, &n);
	ASSERT_EQ(n, 1);
	ASSERT_STR_EQ(f[0], "check=http.basic,url=http://127.0.0.1:8080/echo,rate=10,"
		      "timeout=2000ms");
	specs(&p, "grpc-client", "127.0.0.1:9090", NULL, f, &n);
	ASSERT_EQ(n, 2);
	ASSERT_STR_EQ(f[1], "check=grpc.stream,target=127.0.0.1:9090,method=bidi,rate=10,"
		      "timeout=2000ms");
}

/* A check alone brings its workloads; split.shift alone still gets the split
 * flow (once, also with split.weights); a check without flows none. */
TEST(workloads_follow_the_checks)
{
	struct traffic_plan p;

	run_config_defaults(&cfg);
	cfg.nchecks = 1;
	str_copy(cfg.checks[0], sizeof(cfg.checks[0]), "split.shift");
	ASSERT_EQ(traffic_plan_make(&cfg, 1, &p), 0);
	ASSERT(traffic_uses(&p, "http-server-v2") && !traffic_uses(&p, "grpc-server"));
	ASSERT_EQ(p.nflows, 1);
	ASSERT_STR_EQ(p.flows[0].check, "split.weights");
	cfg.nchecks = 2;
	str_copy(cfg.checks[1], sizeof(cfg.checks[1]), "split.weights");
	ASSERT_EQ(traffic_plan_make(&cfg, 1, &p), 0);
	ASSERT_EQ(p.nflows, 1);
	cfg.nchecks = 1;
	str_copy(cfg.checks[0], sizeof(cfg.checks[0]), "mtls.enforced");
	ASSERT_EQ(traffic_plan_make(&cfg, 1, &p), 0);
	ASSERT_EQ(p.nflows, 0);
	ASSERT(traffic_uses(&p, "http-server"));
	ASSERT_EQ(traffic_plan_make(&cfg, 0, &p), 0);
	ASSERT_EQ(p.used, 0);
	/* at 20 req/s over 10 s the split needs no more */
	cfg.rate = 20;
	str_copy(cfg.checks[0], sizeof(cfg.checks[0]), "split.weights");
	ASSERT_EQ(traffic_plan_make(&cfg, 1, &p), 0);
	ASSERT(p.flows[0].rate == 20.0);
}

TEST(spec_that_does_not_fit_is_refused)
{
	struct traffic_flow fl = { "http.basic", "http-client", "http-server", "http",
				   TRAFFIC_HTTP, 10, 2000, 0, 0 };
	char out[32];

	ASSERT_EQ(traffic_flow_spec(&fl, "127.0.0.1:1", NULL, out, sizeof(out)), -1);
}

int main(void)
{
	RUN(meshed_plan_every_check);
	RUN(unmeshed_plan_is_the_spine);
	RUN(workloads_follow_the_checks);
	RUN(spec_that_does_not_fit_is_refused);
	TEST_MAIN_END();
}
