/*
 * test_faults.c - parsing and validation of fault requests (POST /v1/faults
 * bodies): every refusal names the field it is about, defaults are applied,
 * and the registry refuses targets that are not in the run.
 */
#include <errno.h>
#include <string.h>

#include "faults/faults.h"
#include "harness.h"
#include "platform/platform.h"
#include "base/util.h"

static int parse(const char *text, struct fault_req *r, char *err, size_t errlen)
{
	err[0] = '\0';
	return fault_parse_text(text, strlen(text), r, err, errlen);
}

TEST(server_errors_ok)
{
	struct fault_req r;
	char err[256];

	ASSERT_EQ(parse("{\"kind\":\"server-errors\",\"target\":\"http-server\",\"rate\":0.5,"
			"\"code\":500,\"for_s\":30}", &r, err, sizeof(err)), 0);
	ASSERT_EQ(r.kind, FAULT_SERVER_ERRORS);
	ASSERT_STR_EQ(r.target, "http-server");
	ASSERT_NEAR(r.rate, 0.5, 1e-9);
	ASSERT_EQ(r.code, 500);
	ASSERT_NEAR(r.for_s, 30, 1e-9);
	/* defaults: rate 1, code chosen later by the target, until the run ends */
	ASSERT_EQ(parse("{\"kind\":\"server-errors\",\"target\":\"grpc-server\"}", &r, err,
			sizeof(err)), 0);
	ASSERT_NEAR(r.rate, 1.0, 1e-9);
	ASSERT_EQ(r.code, 0);
	ASSERT_NEAR(r.for_s, 0, 1e-9);
	/* the full documented shape with zeros for the unused fields */
	ASSERT_EQ(parse("{\"kind\":\"kill\",\"target\":\"grpc-client\",\"rate\":0,\"code\":0,"
			"\"ms\":0,\"for_s\":0}", &r, err, sizeof(err)), 0);
	ASSERT_EQ(r.kind, FAULT_KILL);
}

TEST(server_latency)
{
	struct fault_req r;
	char err[256];

	ASSERT_EQ(parse("{\"kind\":\"server-latency\",\"target\":\"http-server\",\"ms\":250}",
			&r, err, sizeof(err)), 0);
	ASSERT_EQ(r.kind, FAULT_SERVER_LATENCY);
	ASSERT_EQ(r.ms, 250);
	ASSERT_EQ(parse("{\"kind\":\"server-latency\",\"target\":\"http-server\"}", &r, err,
			sizeof(err)), -1);
	ASSERT_CONTAINS(err, "ms:");
	ASSERT_EQ(parse("{\"kind\":\"server-latency\",\"target\":\"http-server\",\"ms\":-5}",
			&r, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "ms:");
	ASSERT_EQ(parse("{\"kind\":\"server-latency\",\"target\":\"http-server\",\"ms\":1.5}",
			&r, err, sizeof(err)), -1);
}

TEST(unknown_kind)
{
	struct fault_req r;
	char err[256];

	ASSERT_EQ(parse("{\"kind\":\"explode\",\"target\":\"http-server\"}", &r, err,
			sizeof(err)), -1);
	ASSERT_CONTAINS(err, "kind: unknown fault kind \"explode\"");
	ASSERT_EQ(parse("{\"target\":\"http-server\"}", &r, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "kind: missing");
	ASSERT_EQ(parse("{\"kind\":7,\"target\":\"http-server\"}", &r, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "kind: expected a string");
}

TEST(rate_out_of_range)
{
	struct fault_req r;
	char err[256];

	ASSERT_EQ(parse("{\"kind\":\"server-errors\",\"target\":\"http-server\",\"rate\":1.5}",
			&r, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "rate: must be between 0 and 1");
	ASSERT_EQ(parse("{\"kind\":\"server-errors\",\"target\":\"http-server\",\"rate\":-0.1}",
			&r, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "rate:");
	ASSERT_EQ(parse("{\"kind\":\"server-errors\",\"target\":\"http-server\",\"rate\":\"half\"}",
			&r, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "rate: expected a number");
	/* the edges are fine */
	ASSERT_EQ(parse("{\"kind\":\"server-errors\",\"target\":\"http-server\",\"rate\":0}",
			&r, err, sizeof(err)), 0);
	ASSERT_EQ(parse("{\"kind\":\"server-errors\",\"target\":\"http-server\",\"rate\":1}",
			&r, err, sizeof(err)), 0);
}

TEST(missing_or_bad_target)
{
	struct fault_req r;
	char err[256];

	ASSERT_EQ(parse("{\"kind\":\"kill\"}", &r, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "target: missing");
	ASSERT_EQ(parse("{\"kind\":\"kill\",\"target\":\"\"}", &r, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "target: missing");
	ASSERT_EQ(parse("{\"kind\":\"kill\",\"target\":null}", &r, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "target: missing");
	ASSERT_EQ(parse("{\"kind\":\"kill\",\"target\":[1]}", &r, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "target: expected a string");
	ASSERT_EQ(parse("{\"kind\":\"kill\",\"target\":\"../etc\"}", &r, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "target: not a workload name");
}

TEST(other_fields)
{
	struct fault_req r;
	char err[256];

	ASSERT_EQ(parse("{\"kind\":\"server-errors\",\"target\":\"a\",\"code\":700}", &r, err,
			sizeof(err)), -1);
	ASSERT_CONTAINS(err, "code:");
	ASSERT_EQ(parse("{\"kind\":\"server-errors\",\"target\":\"a\",\"code\":50.5}", &r, err,
			sizeof(err)), -1);
	ASSERT_CONTAINS(err, "code:");
	ASSERT_EQ(parse("{\"kind\":\"kill\",\"target\":\"a\",\"for_s\":-1}", &r, err,
			sizeof(err)), -1);
	ASSERT_CONTAINS(err, "for_s:");
	ASSERT_EQ(parse("{\"kind\":\"kill\",\"target\":\"a\",\"colour\":\"red\"}", &r, err,
			sizeof(err)), -1);
	ASSERT_CONTAINS(err, "colour: unknown field");
	ASSERT_EQ(parse("{\"kind\":\"kill\"", &r, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "malformed JSON");
	ASSERT_EQ(parse("[]", &r, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "body:");
}

/* A platform with one server and one client, nothing running. */
static size_t fake_list(struct platform *p, struct workload_status *out, size_t max)
{
	(void)p;
	if (max < 2)
		return 0;
	memset(out, 0, 2 * sizeof(*out));
	str_copy(out[0].name, sizeof(out[0].name), "http-server");
	str_copy(out[0].role, sizeof(out[0].role), "http-server");
	str_copy(out[1].name, sizeof(out[1].name), "http-client");
	str_copy(out[1].role, sizeof(out[1].role), "http-client");
	out[0].state = out[1].state = WL_RESTARTING;
	return 2;
}

static int fake_addresses(struct platform *p, const char *name, struct workload_addr *out)
{
	(void)p;
	(void)name;
	(void)out;
	return -EAGAIN;
}

static int fake_kill(struct platform *p, const char *name, int sig)
{
	(void)p;
	(void)name;
	(void)sig;
	return -ESRCH;
}

TEST(registry_checks_target)
{
	struct platform_ops ops = { .name = "fake", .list = fake_list,
				    .addresses = fake_addresses, .kill = fake_kill };
	struct faults *f = faults_new(&ops, NULL, NULL, "tok");
	struct fault_req r;
	struct fault out, list[4];
	char err[256];

	ASSERT(f);
	ASSERT_EQ(parse("{\"kind\":\"server-errors\",\"target\":\"nope\"}", &r, err,
			sizeof(err)), 0);
	ASSERT_EQ(faults_apply(f, &r, 100.0, &out, err, sizeof(err)), -ENOENT);
	ASSERT_CONTAINS(err, "target: no workload named nope");
	ASSERT_EQ(parse("{\"kind\":\"server-errors\",\"target\":\"http-client\"}", &r, err,
			sizeof(err)), 0);
	ASSERT_EQ(faults_apply(f, &r, 100.0, &out, err, sizeof(err)), -EINVAL);
	ASSERT_CONTAINS(err, "needs a server");
	ASSERT_EQ(parse("{\"kind\":\"server-errors\",\"target\":\"http-server\",\"code\":14}",
			&r, err, sizeof(err)), 0);
	ASSERT_EQ(faults_apply(f, &r, 100.0, &out, err, sizeof(err)), -EINVAL);
	ASSERT_CONTAINS(err, "code:");
	ASSERT_EQ(parse("{\"kind\":\"server-errors\",\"target\":\"http-server\"}", &r, err,
			sizeof(err)), 0);
	ASSERT_EQ(faults_apply(f, &r, 100.0, &out, err, sizeof(err)), -EAGAIN);
	ASSERT_CONTAINS(err, "not running");
	ASSERT_EQ(parse("{\"kind\":\"kill\",\"target\":\"http-server\"}", &r, err,
			sizeof(err)), 0);
	ASSERT_EQ(faults_apply(f, &r, 100.0, &out, err, sizeof(err)), -EAGAIN);
	/* nothing was registered by the failures */
	ASSERT_UEQ(faults_list(f, list, ARRAY_SIZE(list)), 0);
	faults_free(f);
}

int main(void)
{
	RUN(server_errors_ok);
	RUN(server_latency);
	RUN(unknown_kind);
	RUN(rate_out_of_range);
	RUN(missing_or_bad_target);
	RUN(other_fields);
	RUN(registry_checks_target);
	TEST_MAIN_END();
}
