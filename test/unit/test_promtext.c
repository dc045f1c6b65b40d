/*
 * test_promtext.c - the Prometheus text parser on real-format proxy scrapes
 * (test/fixtures/linkerd/), on every kind of malformed line (each error names
 * its line), and the per-series deltas with counter resets.
 */
#include <errno.h>
#include <math.h>

#include "harness.h"
#include "mesh/linkerd/promtext.h"
#include "base/util.h"

static struct prom_set *load(const char *name)
{
	char path[256], err[256];
	struct prom_set *s = NULL;
	size_t len;
	char *text;

	str_fmt(path, sizeof(path), "test/fixtures/linkerd/%s", name);
	text = file_read(path, 1 << 20, &len);
	if (!text) {
		fprintf(stderr, "cannot read %s\n", path);
		return NULL;
	}
	if (prom_parse(text, len, &s, err, sizeof(err)))
		fprintf(stderr, "%s: %s\n", path, err);
	free(text);
	return s;
}

static int parse_str(const char *text, struct prom_set **s, char *err, size_t errlen)
{
	return prom_parse(text, strlen(text), s, err, errlen);
}

TEST(fixture_server_2_18)
{
	struct prom_set *s = load("proxy-2.18-server.prom");
	struct prom_matcher in_tls[] = { { "direction", PROM_EQ, "inbound" },
					 { "tls", PROM_EQ, "true" } };
	struct prom_matcher port[] = { { "target_port", PROM_EQ, "8080" } };
	struct prom_matcher fail5[] = { { "classification", PROM_EQ, "failure" },
					{ "status_code", PROM_EQ, "503" } };
	size_t n;

	ASSERT(s != NULL);
	ASSERT_EQ(prom_count(s), 3 + 26 + 2 + 4 + 1 + 2 + 1);
	ASSERT_NEAR(prom_sum(s, "request_total", in_tls, 2, &n), 1000, 0);
	ASSERT_EQ(n, 1);
	ASSERT_NEAR(prom_sum(s, "request_total", NULL, 0, &n), 1057, 0);
	ASSERT_EQ(n, 3);
	ASSERT_NEAR(prom_sum(s, "request_total", port, 1, NULL), 1007, 0);
	ASSERT_NEAR(prom_sum(s, "response_total", fail5, 2, NULL), 10, 0);
	ASSERT_STR_EQ(prom_label(s, 0, "client_id"),
		      "http-client.conform.serviceaccount.identity.linkerd.cluster.local");
	ASSERT(prom_label(s, 0, "authority") == NULL);   /* gone in 2.18 */
	ASSERT_EQ(prom_type_of(s, "request_total"), PROM_COUNTER);
	ASSERT_EQ(prom_type_of(s, "response_latency_ms_bucket"), PROM_HISTOGRAM);
	ASSERT_EQ(prom_type_of(s, "control_identity_cert_refreshes_total"), PROM_COUNTER);
	ASSERT_EQ(prom_type_of(s, "control_identity_cert_expiration_timestamp_seconds"),
		  PROM_GAUGE);
	ASSERT_EQ(prom_type_of(s, "no_such_metric"), PROM_UNTYPED);
	/* le is the last label; +Inf holds the count */
	{
		struct prom_matcher inf[] = { { "le", PROM_EQ, "+Inf" } };

		ASSERT_NEAR(prom_sum(s, "response_latency_ms_bucket", inf, 1, &n), 990, 0);
		ASSERT_EQ(n, 1);
	}
	prom_set_free(s);
}

TEST(fixtures_all_versions_parse)
{
	static const char *const names[] = { "proxy-2.14-server.prom", "proxy-2.14-client.prom",
					      "proxy-2.16-server.prom", "proxy-2.16-client.prom",
					      "proxy-2.18-server.prom", "proxy-2.18-client.prom" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct prom_set *s = load(names[i]);

		if (!s)
			H_FAIL("%s does not parse", names[i]);
		ASSERT(prom_count(s) > 10);
		prom_set_free(s);
	}
}

TEST(escapes_special_values_timestamps)
{
	const char *text =
		"# HELP x a \\\\ backslash and a \\n newline\n"
		"# TYPE x gauge\n"
		"x{path=\"/a\\\\b\",q=\"say \\\"hi\\\"\",nl=\"1\\n2\",empty=\"\"} 1.5e3 1700000000000\n"
		"  x{path=\"inf\"} +Inf\n"
		"x{path=\"ninf\"}\t-Inf\n"
		"x{path=\"nan\"} NaN\n"
		"x{path=\"trailing\",} -0.25 -5\r\n"
		"\n"
		"x { path = \"spaces\" } 7\n"
		"# a comment { with \" junk\n"
		"# EOF\n";
	struct prom_set *s = NULL;
	char err[256];
	int64_t ts;

	ASSERT_EQ(parse_str(text, &s, err, sizeof(err)), 0);
	ASSERT_EQ(prom_count(s), 6);
	ASSERT_STR_EQ(prom_name(s, 0), "x");
	ASSERT_STR_EQ(prom_label(s, 0, "path"), "/a\\b");
	ASSERT_STR_EQ(prom_label(s, 0, "q"), "say \"hi\"");
	ASSERT_STR_EQ(prom_label(s, 0, "nl"), "1\n2");
	ASSERT_STR_EQ(prom_label(s, 0, "empty"), "");
	ASSERT_NEAR(prom_value(s, 0), 1500, 0);
	ASSERT_EQ(prom_timestamp(s, 0, &ts), 0);
	ASSERT_EQ(ts, 1700000000000LL);
	ASSERT(isinf(prom_value(s, 1)) && prom_value(s, 1) > 0);
	ASSERT(isinf(prom_value(s, 2)) && prom_value(s, 2) < 0);
	ASSERT(isnan(prom_value(s, 3)));
	ASSERT_EQ(prom_timestamp(s, 3, &ts), -ENOENT);
	ASSERT_NEAR(prom_value(s, 4), -0.25, 0);
	ASSERT_EQ(prom_timestamp(s, 4, &ts), 0);
	ASSERT_EQ(ts, -5);
	ASSERT_STR_EQ(prom_label(s, 5, "path"), "spaces");
	ASSERT_EQ(prom_nlabels(s, 0), 4);
	/* NaN is skipped by sums; absent labels read as "" */
	{
		struct prom_matcher noq[] = { { "q", PROM_EQ, "" } };
		struct prom_matcher hasq[] = { { "q", PROM_NE, "" } };
		size_t n;

		ASSERT_NEAR(prom_sum(s, "x", hasq, 1, &n), 1500, 0);
		ASSERT_EQ(n, 1);
		prom_sum(s, "x", noq, 1, &n);
		ASSERT_EQ(n, 5);
	}
	prom_set_free(s);
}

TEST(malformed_lines_name_the_line)
{
	static const struct {
		const char *text;
		int rc;
		const char *msg;
	} cases[] = {
		{ "a 1\nb{x=\"1\" 2\n", -EINVAL, "line 2: ',' or '}' expected" },
		{ "a 1\n\nb{x=1} 2\n", -EINVAL, "line 3: label value of \"x\" must be quoted" },
		{ "a{x=\"open} 1\n", -EINVAL, "line 1: label value of \"x\" is not closed" },
		{ "a{x=\"\\t\"} 1\n", -EINVAL, "line 1: label value of \"x\" has an invalid escape" },
		{ "a{x=\"1\",x=\"2\"} 1\n", -EINVAL, "line 1: label \"x\" twice" },
		{ "a{1x=\"1\"} 1\n", -EINVAL, "line 1: label name expected" },
		{ "a{x:y=\"1\"} 1\n", -EINVAL, "line 1: '=' expected after label name \"x\"" },
		{ "a\n", -EINVAL, "line 1: a: value expected" },
		{ "a{x=\"1\"}\n", -EINVAL, "line 1: a: value expected after the labels" },
		{ "a one\n", -EINVAL, "line 1: a: invalid sample value" },
		{ "a 0x10\n", -EINVAL, "line 1: a: invalid sample value" },
		{ "a 1 12.5\n", -EINVAL, "line 1: a: invalid timestamp" },
		{ "a 1 2 3\n", -EINVAL, "line 1: a: unexpected text after the timestamp" },
		{ "9a 1\n", -EINVAL, "line 1: metric name expected" },
		{ "a-b 1\n", -EINVAL, "line 1: invalid character '-' in metric name a" },
		{ "# TYPE a counter\n# TYPE a gauge\n", -EINVAL, "line 2: second TYPE line for a" },
		{ "# TYPE a countr\n", -EINVAL, "line 1: TYPE of a: unknown type \"countr\"" },
		{ "# TYPE a\n", -EINVAL, "line 1: TYPE of a: type missing" },
		{ "# TYPE a gauge extra\n", -EINVAL, "line 1: TYPE of a: unexpected text" },
		{ "# HELP a bad \\q escape\n", -EINVAL, "line 1: invalid escape in HELP text of a" },
		{ "a 1\nb\0 2\n", -EINVAL, "line 2: NUL byte" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct prom_set *s = (struct prom_set *)&cases;   /* must be reset to NULL */
		char err[256] = "";
		size_t len = strlen(cases[i].text);
		int rc;

		if (i == sizeof(cases) / sizeof(cases[0]) - 1)
			len = 9;   /* the NUL case: the length covers the embedded NUL */
		rc = prom_parse(cases[i].text, len, &s, err, sizeof(err));
		if (rc != cases[i].rc || s != NULL || !strstr(err, cases[i].msg))
			H_FAIL("case %zu: rc %d, err \"%s\", want %d \"%s\"", i, rc, err,
			       cases[i].rc, cases[i].msg);
	}
}

TEST(bounds)
{
	struct dynbuf b = DYNBUF_INIT(1 << 20);
	struct prom_set *s = NULL;
	char err[256];

	/* one line over PROM_LINE_MAX */
	ASSERT_EQ(dynbuf_adds(&b, "ok 1\nbig{x=\""), 0);
	for (int i = 0; i < PROM_LINE_MAX; i++)
		ASSERT_EQ(dynbuf_add(&b, "a", 1), 0);
	ASSERT_EQ(dynbuf_adds(&b, "\"} 1\n"), 0);
	ASSERT_EQ(prom_parse(b.buf, b.len, &s, err, sizeof(err)), -E2BIG);
	ASSERT_CONTAINS(err, "line 2: line longer than");
	/* a label value over PROM_VALUE_MAX on a line that fits */
	dynbuf_reset(&b);
	ASSERT_EQ(dynbuf_adds(&b, "v{x=\""), 0);
	for (int i = 0; i <= PROM_VALUE_MAX; i++)
		ASSERT_EQ(dynbuf_add(&b, "\\n", 2), 0);
	ASSERT_EQ(dynbuf_adds(&b, "\"} 1\n"), 0);
	ASSERT_EQ(prom_parse(b.buf, b.len, &s, err, sizeof(err)), -E2BIG);
	ASSERT_CONTAINS(err, "line 1: label value of \"x\" longer than");
	/* too many labels */
	dynbuf_reset(&b);
	ASSERT_EQ(dynbuf_adds(&b, "m{"), 0);
	for (int i = 0; i <= PROM_LABELS_MAX; i++)
		ASSERT_EQ(dynbuf_addf(&b, "l%d=\"v\",", i), 0);
	ASSERT_EQ(dynbuf_adds(&b, "} 1\n"), 0);
	ASSERT_EQ(prom_parse(b.buf, b.len, &s, err, sizeof(err)), -E2BIG);
	ASSERT_CONTAINS(err, "line 1: more than 64 labels");
	ASSERT(s == NULL);
	dynbuf_release(&b);
}

/* Garbage never crashes and either parses or says which line is bad. */
TEST(garbage)
{
	static const char alphabet[] = "ab_:{}=\",\\n# \t\n01.e+-InfNaHELPTYPE";
	char buf[256], err[256];

	for (int round = 0; round < 3000; round++) {
		struct prom_set *s = NULL;
		size_t len = (size_t)(rand_u64() % sizeof(buf));
		int rc;

		for (size_t i = 0; i < len; i++)
			buf[i] = alphabet[rand_u64() % (sizeof(alphabet) - 1)];
		err[0] = '\0';
		rc = prom_parse(buf, len, &s, err, sizeof(err));
		if (rc == 0) {
			ASSERT(s != NULL);
			for (size_t i = 0; i < prom_count(s); i++)
				ASSERT(prom_name(s, i)[0] != '\0');
			prom_set_free(s);
		} else {
			ASSERT(s == NULL);
			ASSERT(strncmp(err, "line ", 5) == 0);
		}
	}
}

TEST(delta_and_reset)
{
	const char *prev_text =
		"# TYPE req counter\n"
		"req{pod=\"a\",code=\"200\"} 100\n"
		"req{code=\"503\",pod=\"a\"} 10\n"
		"req{pod=\"gone\"} 5\n"
		"# TYPE open gauge\n"
		"open 4\n"
		"# TYPE lat histogram\n"
		"lat_bucket{le=\"+Inf\"} 50\n"
		"lat_count 50\n";
	/* labels in another order, one counter down (reset), one new series */
	const char *cur_text =
		"# TYPE req counter\n"
		"req{code=\"200\",pod=\"a\"} 130\n"
		"req{pod=\"a\",code=\"503\"} 3\n"
		"req{pod=\"new\"} 2\n"
		"# TYPE open gauge\n"
		"open 1\n"
		"# TYPE lat histogram\n"
		"lat_bucket{le=\"+Inf\"} 80\n"
		"lat_count 80\n";
	struct prom_set *prev = NULL, *cur = NULL, *d = NULL;
	struct prom_matcher c503[] = { { "code", PROM_EQ, "503" } };
	uint64_t resets = 99;
	int restarted = 9;
	char err[128];

	ASSERT_EQ(parse_str(prev_text, &prev, err, sizeof(err)), 0);
	ASSERT_EQ(parse_str(cur_text, &cur, err, sizeof(err)), 0);
	ASSERT_EQ(prom_delta(prev, cur, &d, &resets, &restarted), 0);
	ASSERT_UEQ(resets, 1);
	ASSERT_EQ(restarted, 0);
	ASSERT_NEAR(prom_value(d, 0), 30, 0);
	ASSERT_NEAR(prom_sum(d, "req", c503, 1, NULL), 3, 0);   /* the new value, not -7 */
	ASSERT_NEAR(prom_value(d, 2), 2, 0);                    /* new series: from 0 */
	ASSERT_NEAR(prom_sum(d, "open", NULL, 0, NULL), 1, 0);  /* gauge: as is */
	ASSERT_NEAR(prom_sum(d, "lat_count", NULL, 0, NULL), 30, 0);
	ASSERT_NEAR(prom_sum(d, "lat_bucket", NULL, 0, NULL), 30, 0);
	ASSERT_STR_EQ(prom_label(d, 0, "code"), "200");
	prom_set_free(d);
	/* first scrape: delta is the scrape */
	ASSERT_EQ(prom_delta(NULL, cur, &d, &resets, NULL), 0);
	ASSERT_UEQ(resets, 0);
	ASSERT_NEAR(prom_sum(d, "req", NULL, 0, NULL), 135, 0);
	prom_set_free(d);
	prom_set_free(prev);
	prom_set_free(cur);
}

TEST(restart_seen_by_start_time)
{
	/* a proxy that restarted and already counted past the old value */
	const char *a = "# TYPE req counter\nreq 100\n# TYPE process_start_time_seconds gauge\n"
			"process_start_time_seconds 1000\n";
	const char *b = "# TYPE req counter\nreq 150\n# TYPE process_start_time_seconds gauge\n"
			"process_start_time_seconds 2000\n";
	struct prom_set *pa = NULL, *pb = NULL, *d = NULL;
	uint64_t resets = 0;
	int restarted = 0;

	ASSERT_EQ(parse_str(a, &pa, NULL, 0), 0);
	ASSERT_EQ(parse_str(b, &pb, NULL, 0), 0);
	ASSERT_EQ(prom_delta(pa, pb, &d, &resets, &restarted), 0);
	ASSERT_EQ(restarted, 1);
	ASSERT_UEQ(resets, 1);
	ASSERT_NEAR(prom_sum(d, "req", NULL, 0, NULL), 150, 0);
	prom_set_free(d);
	/* same start time: an ordinary delta */
	ASSERT_EQ(prom_delta(pa, pa, &d, &resets, &restarted), 0);
	ASSERT_EQ(restarted, 0);
	ASSERT_UEQ(resets, 0);
	ASSERT_NEAR(prom_sum(d, "req", NULL, 0, NULL), 0, 0);
	prom_set_free(d);
	prom_set_free(pa);
	prom_set_free(pb);
}

/* A series twice in one scrape (no proxy should, the fuzzer did): matched
 * occurrence by occurrence, never a phantom delta or reset. */
TEST(delta_repeated_series)
{
	const char *a = "# TYPE req counter\nreq{x=\"1\"} 10\nreq{x=\"1\"} 50\n";
	const char *b = "# TYPE req counter\nreq{x=\"1\"} 15\nreq{x=\"1\"} 52\nreq{x=\"1\"} 4\n";
	struct prom_set *pa = NULL, *pb = NULL, *d = NULL;
	uint64_t resets = 9;

	ASSERT_EQ(parse_str(a, &pa, NULL, 0), 0);
	ASSERT_EQ(parse_str(b, &pb, NULL, 0), 0);
	ASSERT_EQ(prom_delta(pa, pa, &d, &resets, NULL), 0);
	ASSERT_UEQ(resets, 0);
	ASSERT_NEAR(prom_value(d, 0), 0, 0);
	ASSERT_NEAR(prom_value(d, 1), 0, 0);
	prom_set_free(d);
	ASSERT_EQ(prom_delta(pa, pb, &d, &resets, NULL), 0);
	ASSERT_UEQ(resets, 0);
	ASSERT_NEAR(prom_value(d, 0), 5, 0);
	ASSERT_NEAR(prom_value(d, 1), 2, 0);
	ASSERT_NEAR(prom_value(d, 2), 4, 0);   /* a third occurrence: new */
	prom_set_free(d);
	prom_set_free(pa);
	prom_set_free(pb);
}

int main(void)
{
	RUN(fixture_server_2_18);
	RUN(fixtures_all_versions_parse);
	RUN(escapes_special_values_timestamps);
	RUN(malformed_lines_name_the_line);
	RUN(bounds);
	RUN(garbage);
	RUN(delta_and_reset);
	RUN(restart_seen_by_start_time);
	RUN(delta_repeated_series);
	TEST_MAIN_END();
}
