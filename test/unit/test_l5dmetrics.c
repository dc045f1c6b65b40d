/*
 * test_l5dmetrics.c - the evidence taken from Linkerd proxy scrapes of
 * releases 2.14, 2.16 and 2.18 (test/fixtures/linkerd/proxy-*.prom: the same
 * traffic in each release's names and labels), and the reset of a restarted
 * proxy's counters.
 */
#include <errno.h>

#include "harness.h"
#include "mesh/linkerd/l5dmetrics.h"
#include "base/util.h"

#define ID(sa) sa ".conform.serviceaccount.identity.linkerd.cluster.local"

static struct prom_set *load(const char *name)
{
	char path[256], err[256];
	struct prom_set *s = NULL;
	size_t len;
	char *text;

	str_fmt(path, sizeof(path), "test/fixtures/linkerd/%s", name);
	text = file_read(path, 1 << 20, &len);
	if (!text)
		return NULL;
	if (prom_parse(text, len, &s, err, sizeof(err)))
		fprintf(stderr, "%s: %s\n", path, err);
	free(text);
	return s;
}

static const struct {
	const char *ver;
	enum l5d_version v;
} versions[] = { { "2.14", L5D_2_14 }, { "2.16", L5D_2_16 }, { "2.18", L5D_2_18 } };
#define NVERSIONS (sizeof(versions) / sizeof(versions[0]))

TEST(version_parse)
{
	static const struct {
		const char *s;
		int rc;
		enum l5d_version v;
	} cases[] = {
		{ "2.14", 0, L5D_2_14 },          { "stable-2.14.10", 0, L5D_2_14 },
		{ "2.15.1", 0, L5D_2_14 },        { "version-2.16", 0, L5D_2_16 },
		{ "2.17", 0, L5D_2_16 },          { "enterprise-2.18.0", 0, L5D_2_18 },
		{ "v2.19.2", 0, L5D_2_18 },       { "2.13", -EINVAL, 0 },
		{ "3.0", -EINVAL, 0 },            { "2.", -EINVAL, 0 },
		{ "2.x", -EINVAL, 0 },            { "", -EINVAL, 0 },
		/* edge releases by the version-2.X marks (l5dmetrics.c) */
		{ "edge-24.7.5", 0, L5D_2_14 },   { "edge-24.8.2", 0, L5D_2_16 },
		{ "edge-24.11.8", 0, L5D_2_16 },  { "edge-25.4.3", 0, L5D_2_16 },
		{ "edge-25.4.4", 0, L5D_2_18 },   { "edge-25.10.7", 0, L5D_2_18 },
		{ "edge-25.11.2", 0, L5D_2_18 },  { "edge-25.11.3", 0, L5D_2_20 },
		{ "edge-26.5.1", 0, L5D_2_20 },   { "edge-24.2.4", 0, L5D_2_14 },
		{ "stable-2.20.0", 0, L5D_2_20 }, { "version-2.21", 0, L5D_2_20 },
		{ "edge-24.2.3", -EINVAL, 0 },    { "edge-23.8.2", -EINVAL, 0 },
		{ "edge-25.4", -EINVAL, 0 },      { "edge-25.4.4.1", -EINVAL, 0 },
		{ "edge-25.x.1", -EINVAL, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum l5d_version v = 0;
		int rc = l5d_version_parse(cases[i].s, &v);

		if (rc != cases[i].rc || (rc == 0 && v != cases[i].v))
			H_FAIL("\"%s\": rc %d v %d, want %d %d", cases[i].s, rc, (int)v,
			       cases[i].rc, (int)cases[i].v);
	}
}

TEST(inbound_every_version)
{
	for (size_t k = 0; k < NVERSIONS; k++) {
		char name[64], err[256];
		struct prom_set *s;
		struct l5d_traffic t;
		struct prom_matcher port[] = { { "target_port", PROM_EQ, "8080" } };

		str_fmt(name, sizeof(name), "proxy-%s-server.prom", versions[k].ver);
		s = load(name);
		if (!s)
			H_FAIL("%s does not load", name);
		ASSERT_EQ(l5d_traffic(s, versions[k].v, L5D_INBOUND, NULL, 0, &t, err, sizeof(err)),
			  0);
		ASSERT_UEQ(t.requests, 1057);
		ASSERT_UEQ(t.requests_tls, 1000);
		ASSERT_UEQ(t.requests_plain, 57);
		ASSERT_UEQ(t.responses, 1057);
		ASSERT_UEQ(t.success, 1040);
		ASSERT_UEQ(t.failure, 17);
		ASSERT_UEQ(t.status_2xx, 1040);
		ASSERT_UEQ(t.status_4xx, 7);
		ASSERT_UEQ(t.status_5xx, 10);
		ASSERT_UEQ(t.no_status, 0);
		ASSERT_EQ(t.npeers, 1);
		ASSERT_STR_EQ(t.peers[0].id, ID("http-client"));
		ASSERT_UEQ(t.peers[0].requests, 1000);
		ASSERT_EQ(l5d_traffic(s, versions[k].v, L5D_INBOUND, port, 1, &t, err, sizeof(err)),
			  0);
		ASSERT_UEQ(t.requests, 1007);
		/* the client's outbound side is not in a server's scrape */
		ASSERT_EQ(l5d_traffic(s, versions[k].v, L5D_OUTBOUND, NULL, 0, &t, err, sizeof(err)),
			  0);
		ASSERT_UEQ(t.requests, 0);
		prom_set_free(s);
	}
}

TEST(inbound_authority_gone_in_2_18)
{
	struct prom_matcher auth[] = {
		{ "authority", PROM_EQ, "http-server.conform.svc.cluster.local:8080" }
	};
	struct prom_set *s16 = load("proxy-2.16-server.prom");
	struct prom_set *s18 = load("proxy-2.18-server.prom");
	struct l5d_traffic t;
	char err[256] = "";

	ASSERT(s16 && s18);
	ASSERT_EQ(l5d_traffic(s16, L5D_2_16, L5D_INBOUND, auth, 1, &t, err, sizeof(err)), 0);
	ASSERT_UEQ(t.requests, 1007);
	ASSERT_EQ(l5d_traffic(s18, L5D_2_18, L5D_INBOUND, auth, 1, &t, err, sizeof(err)), -EINVAL);
	ASSERT_CONTAINS(err, "no authority label since linkerd 2.18");
	prom_set_free(s16);
	prom_set_free(s18);
}

TEST(outbound_split_retries_every_version)
{
	for (size_t k = 0; k < NVERSIONS; k++) {
		char name[64], err[256] = "";
		struct prom_set *s;
		struct l5d_traffic t;
		struct l5d_split sp;
		struct l5d_retries r;
		struct prom_matcher svc[] = { { "dst_service", PROM_EQ, "http-server" } };
		int rc;

		str_fmt(name, sizeof(name), "proxy-%s-client.prom", versions[k].ver);
		s = load(name);
		if (!s)
			H_FAIL("%s does not load", name);
		ASSERT_EQ(l5d_traffic(s, versions[k].v, L5D_OUTBOUND, svc, 1, &t, err, sizeof(err)),
			  0);
		ASSERT_UEQ(t.requests, 1000);
		ASSERT_UEQ(t.requests_tls, 1000);
		ASSERT_UEQ(t.responses, 1000);
		ASSERT_UEQ(t.success, 993);
		ASSERT_UEQ(t.status_5xx, 7);
		ASSERT_EQ(t.npeers, 2);
		ASSERT_STR_EQ(t.peers[0].id, ID("http-server"));
		ASSERT_UEQ(t.peers[0].requests, 700);
		ASSERT_STR_EQ(t.peers[1].id, ID("http-server-v2"));
		ASSERT_UEQ(t.peers[1].requests, 300);

		ASSERT_EQ(l5d_split(s, 0, "http-server", &sp, err, sizeof(err)), 0);
		ASSERT_EQ(sp.nbackends, 2);
		ASSERT_STR_EQ(sp.backends[0].name, "http-server-v1");
		ASSERT_UEQ(sp.backends[0].requests, 707);
		ASSERT_STR_EQ(sp.backends[1].name, "http-server-v2");
		ASSERT_UEQ(sp.backends[1].requests, 300);
		ASSERT_UEQ(sp.total, 1007);
		ASSERT_EQ(l5d_split(s, 0, "other", &sp, err, sizeof(err)), 0);
		ASSERT_UEQ(sp.total, 0);
		ASSERT_EQ(l5d_split(s, 1, NULL, &sp, err, sizeof(err)), 0);   /* no gRPC routes */
		ASSERT_EQ(sp.nbackends, 0);

		rc = l5d_retries(s, versions[k].v, 0, "http-server-split", &r, err, sizeof(err));
		if (versions[k].v == L5D_2_14) {
			ASSERT_EQ(rc, -ENOTSUP);
			ASSERT_CONTAINS(err, "before 2.16");
		} else {
			ASSERT_EQ(rc, 0);
			ASSERT_UEQ(r.requests, 40);
			ASSERT_UEQ(r.successes, 35);
			ASSERT_UEQ(r.limit_exceeded, 3);
			ASSERT_UEQ(r.overflow, 0);
			ASSERT_EQ(r.series, 4);
			ASSERT_EQ(l5d_retries(s, versions[k].v, 0, "no-such-route", &r, err,
					      sizeof(err)), 0);
			ASSERT_EQ(r.series, 0);
		}
		prom_set_free(s);
	}
}

TEST(cert_expiry_both_names)
{
	struct prom_set *s14 = load("proxy-2.14-client.prom");
	struct prom_set *s18 = load("proxy-2.18-client.prom");
	struct prom_set *none = NULL;
	const char *name = NULL;
	double t = 0;
	char err[256] = "";

	ASSERT(s14 && s18);
	ASSERT_EQ(l5d_cert_expiry(s14, L5D_2_14, &t, &name, err, sizeof(err)), 0);
	ASSERT_NEAR(t, 1764000000, 0);
	ASSERT_STR_EQ(name, "identity_cert_expiration_timestamp_seconds");
	ASSERT_EQ(l5d_cert_expiry(s18, L5D_2_18, &t, &name, err, sizeof(err)), 0);
	ASSERT_STR_EQ(name, "control_identity_cert_expiration_timestamp_seconds");
	/* a mis-detected version still finds the other name */
	ASSERT_EQ(l5d_cert_expiry(s18, L5D_2_14, &t, &name, err, sizeof(err)), 0);
	ASSERT_STR_EQ(name, "control_identity_cert_expiration_timestamp_seconds");
	ASSERT_EQ(prom_parse("up 1\n", 5, &none, NULL, 0), 0);
	ASSERT_EQ(l5d_cert_expiry(none, L5D_2_18, &t, &name, err, sizeof(err)), -ENOENT);
	ASSERT_CONTAINS(err, "is the pod meshed");
	prom_set_free(none);
	prom_set_free(s14);
	prom_set_free(s18);
}

TEST(restarted_proxy_is_a_reset)
{
	struct prom_set *a = load("proxy-2.18-client.prom");
	struct prom_set *b = load("proxy-2.18-client-restarted.prom");
	struct prom_set *d = NULL;
	struct l5d_resets rs;
	struct l5d_traffic t;
	struct l5d_split sp;
	char err[128];

	ASSERT(a && b);
	ASSERT_EQ(l5d_scrape_delta("http-client-7c9f-abcde", a, b, &d, &rs), 0);
	ASSERT_STR_EQ(rs.pod, "http-client-7c9f-abcde");
	ASSERT_EQ(rs.restarted, 1);
	ASSERT_UEQ(rs.series, 15);   /* every cumulative series of the new scrape */
	ASSERT_EQ(l5d_traffic(d, L5D_2_18, L5D_OUTBOUND, NULL, 0, &t, err, sizeof(err)), 0);
	ASSERT_UEQ(t.requests, 55);   /* what the new proxy counted, not 55 - 1000 */
	ASSERT_EQ(l5d_split(d, 0, NULL, &sp, err, sizeof(err)), 0);
	ASSERT_UEQ(sp.total, 56);
	prom_set_free(d);
	/* the same proxy later: ordinary deltas, no reset */
	ASSERT_EQ(l5d_scrape_delta("p", b, b, &d, &rs), 0);
	ASSERT_EQ(rs.restarted, 0);
	ASSERT_UEQ(rs.series, 0);
	ASSERT_EQ(l5d_traffic(d, L5D_2_18, L5D_OUTBOUND, NULL, 0, &t, err, sizeof(err)), 0);
	ASSERT_UEQ(t.requests, 0);
	prom_set_free(d);
	prom_set_free(a);
	prom_set_free(b);
}

int main(void)
{
	RUN(version_parse);
	RUN(inbound_every_version);
	RUN(inbound_authority_gone_in_2_18);
	RUN(outbound_split_retries_every_version);
	RUN(cert_expiry_both_names);
	RUN(restarted_proxy_is_a_reset);
	TEST_MAIN_END();
}
