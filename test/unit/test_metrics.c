/*
 * test_metrics.c - the Prometheus exposition of a fixture run, read back by
 * a small parser of the text format 0.0.4: every line is a comment or
 * `name{labels} value`, HELP and TYPE precede a family's samples, histogram
 * buckets are cumulative and end with +Inf == _count; values and escaping
 * checked; and the loopback-only --metrics-addr parser.
 */
#include <math.h>
#include <stdio.h>
#include <sys/socket.h>

#include "eval/evaluate.h"
#include "fixture.h"
#include "harness.h"
#include "report/metrics.h"
#include "evidence/outcome.h"
#include "report/report.h"
#include "store/store.h"
#include "base/util.h"

#define MAX_SAMPLES 1024
#define MAX_FAMILIES 64

/* ---- a small parser of the exposition format ---- */

struct sample {
	char name[96];
	char labels[512];   /* key="unescaped value",... in input order */
	double value;
};

struct family {
	char name[96];
	char type[16];
	int help, nsamples;
};

struct expo {
	struct sample s[MAX_SAMPLES];
	size_t n;
	struct family f[MAX_FAMILIES];
	size_t nf;
	char err[256];
};

static int name_char(char c, int first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
	       (!first && c >= '0' && c <= '9');
}

static struct family *family_find(struct expo *e, const char *name)
{
	size_t i;

	for (i = 0; i < e->nf; i++)
		if (!strcmp(e->f[i].name, name))
			return &e->f[i];
	return NULL;
}

/* The family a sample belongs to: histogram suffixes stripped when declared so. */
static struct family *family_of(struct expo *e, const char *name)
{
	static const char *suffixes[] = { "_bucket", "_sum", "_count" };
	struct family *f = family_find(e, name);
	char base[96];
	size_t i, n = strlen(name);

	if (f)
		return f;
	for (i = 0; i < ARRAY_SIZE(suffixes); i++) {
		size_t sl = strlen(suffixes[i]);

		if (n > sl && !strcmp(name + n - sl, suffixes[i])) {
			str_copy(base, sizeof(base), name);
			base[n - sl] = '\0';
			f = family_find(e, base);
			if (f && !strcmp(f->type, "histogram"))
				return f;
		}
	}
	return NULL;
}

/* Parse text into e; 0 when every line is well-formed and in order. */
static int expo_parse(struct expo *e, const char *text)
{
	const char *p = text, *eol;
	struct family *cur = NULL;
	int lineno = 0;

	memset(e, 0, sizeof(*e));
	for (; *p; p = eol + 1) {
		char line[1024], name[96], *q, *end;
		size_t len, k;

		lineno++;
		eol = strchr(p, '\n');
		if (!eol) {
			str_fmt(e->err, sizeof(e->err), "line %d: no final newline", lineno);
			return -1;
		}
		len = (size_t)(eol - p);
		if (len >= sizeof(line) || !len) {
			str_fmt(e->err, sizeof(e->err), "line %d: empty or too long", lineno);
			return -1;
		}
		memcpy(line, p, len);
		line[len] = '\0';
		if (line[0] == '#') {
			char kind[8], type[32];
			struct family *f;

			if (sscanf(line, "# %7s %95s", kind, name) != 2 ||
			    (strcmp(kind, "HELP") && strcmp(kind, "TYPE")))
				continue;   /* a plain comment */
			f = family_find(e, name);
			if (!f) {
				if (e->nf == MAX_FAMILIES)
					return -1;
				f = &e->f[e->nf++];
				str_copy(f->name, sizeof(f->name), name);
			}
			if (f->nsamples) {
				str_fmt(e->err, sizeof(e->err), "line %d: %s after samples of %s",
					lineno, kind, name);
				return -1;
			}
			if (!strcmp(kind, "HELP")) {
				f->help++;
			} else {
				if (f->type[0] || sscanf(line, "# TYPE %*s %31s", type) != 1 ||
				    (strcmp(type, "counter") && strcmp(type, "gauge") &&
				     strcmp(type, "histogram") && strcmp(type, "summary") &&
				     strcmp(type, "untyped"))) {
					str_fmt(e->err, sizeof(e->err), "line %d: bad TYPE", lineno);
					return -1;
				}
				str_copy(f->type, sizeof(f->type), type);
			}
			continue;
		}
		/* name{labels} value */
		struct sample *s;
		struct family *f;

		if (e->n == MAX_SAMPLES)
			return -1;
		s = &e->s[e->n];
		memset(s, 0, sizeof(*s));
		for (k = 0; line[k] && name_char(line[k], k == 0); k++)
			;
		if (!k || k >= sizeof(s->name)) {
			str_fmt(e->err, sizeof(e->err), "line %d: bad metric name", lineno);
			return -1;
		}
		memcpy(s->name, line, k);
		q = line + k;
		if (*q == '{') {
			size_t lo = 0;

			q++;
			while (*q != '}') {
				size_t kl = 0;

				while (name_char(q[kl], kl == 0))
					kl++;
				if (!kl || q[kl] != '=' || q[kl + 1] != '"') {
					str_fmt(e->err, sizeof(e->err), "line %d: bad label", lineno);
					return -1;
				}
				if (lo + kl + 4 >= sizeof(s->labels))
					return -1;
				memcpy(s->labels + lo, q, kl + 2);
				lo += kl + 2;
				q += kl + 2;
				while (*q != '"') {
					char c = *q;

					if (!c)
						return -1;
					if (c == '\\') {
						q++;
						if (*q == 'n')
							c = '\n';
						else if (*q == '\\' || *q == '"')
							c = *q;
						else {
							str_fmt(e->err, sizeof(e->err),
								"line %d: bad escape", lineno);
							return -1;
						}
					}
					if (lo + 3 >= sizeof(s->labels))
						return -1;
					s->labels[lo++] = c;
					q++;
				}
				s->labels[lo++] = '"';
				q++;
				if (*q == ',') {
					s->labels[lo++] = ',';
					q++;
				} else if (*q != '}') {
					str_fmt(e->err, sizeof(e->err), "line %d: bad label list", lineno);
					return -1;
				}
			}
			q++;
		}
		if (*q != ' ') {
			str_fmt(e->err, sizeof(e->err), "line %d: no value", lineno);
			return -1;
		}
		q++;
		if (!strcmp(q, "+Inf"))
			s->value = INFINITY;
		else if (!strcmp(q, "-Inf"))
			s->value = -INFINITY;
		else {
			s->value = strtod(q, &end);
			if (end == q || *end) {
				str_fmt(e->err, sizeof(e->err), "line %d: bad value '%s'", lineno, q);
				return -1;
			}
		}
		f = family_of(e, s->name);
		if (!f || !f->type[0] || !f->help) {
			str_fmt(e->err, sizeof(e->err), "line %d: %s without HELP and TYPE before it",
				lineno, s->name);
			return -1;
		}
		if (cur != f && f->nsamples) {
			str_fmt(e->err, sizeof(e->err), "line %d: samples of %s are not grouped",
				lineno, f->name);
			return -1;
		}
		cur = f;
		f->nsamples++;
		e->n++;
	}
	return 0;
}

static const struct sample *find(const struct expo *e, const char *name, const char *labels)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		if (!strcmp(e->s[i].name, name) && !strcmp(e->s[i].labels, labels))
			return &e->s[i];
	return NULL;
}

static double val(const struct expo *e, const char *name, const char *labels)
{
	const struct sample *s = find(e, name, labels);

	return s ? s->value : -1;
}

/*
 * Every histogram series: buckets with ascending le, counts never falling,
 * the last le="+Inf" equal to _count, and a _sum. 0 or -1 with e->err.
 */
static int check_histograms(struct expo *e)
{
	size_t i, j;

	for (i = 0; i < e->nf; i++) {
		char bucket[128], count[128];

		if (strcmp(e->f[i].type, "histogram"))
			continue;
		str_fmt(bucket, sizeof(bucket), "%s_bucket", e->f[i].name);
		str_fmt(count, sizeof(count), "%s_count", e->f[i].name);
		for (j = 0; j < e->n; j++) {
			const struct sample *c = &e->s[j];
			double prev_le = -INFINITY, prev = 0, inf = -1;
			char sum[128];
			size_t k;

			if (strcmp(c->name, count))
				continue;
			for (k = 0; k < e->n; k++) {
				const struct sample *b = &e->s[k];
				const char *le;
				size_t pl = strlen(c->labels);
				double lev;

				/* buckets of this series: same labels, then ,le="..." */
				if (strcmp(b->name, bucket) || strncmp(b->labels, c->labels, pl) ||
				    strncmp(b->labels + pl, ",le=\"", 5))
					continue;
				le = b->labels + pl + 5;
				lev = !strncmp(le, "+Inf\"", 5) ? INFINITY : strtod(le, NULL);
				if (!(lev > prev_le) || b->value < prev) {
					str_fmt(e->err, sizeof(e->err), "%s{%s}: not cumulative at le %s",
						bucket, c->labels, le);
					return -1;
				}
				prev_le = lev;
				prev = b->value;
				if (isinf(lev))
					inf = b->value;
			}
			if (!isinf(prev_le) || inf != c->value) {
				str_fmt(e->err, sizeof(e->err), "%s{%s}: +Inf %g != count %g", bucket,
					c->labels, inf, c->value);
				return -1;
			}
			str_fmt(sum, sizeof(sum), "%s_sum", e->f[i].name);
			if (!find(e, sum, c->labels)) {
				str_fmt(e->err, sizeof(e->err), "%s{%s} missing", sum, c->labels);
				return -1;
			}
		}
	}
	return 0;
}

/* ---- fixture: the 40 s run of test_report.c ---- */

static struct store *fixture(struct run_config *c, const char *mesh, int ended)
{
	struct store *s = fixture_store40(c, mesh, 0, 0);

	if (!s)
		return NULL;
	if (fixture_put_resent(s) || fixture_evaluate40(s, c, ended, T0 + 23)) {
		store_close(s);
		return NULL;
	}
	return s;
}

static struct expo ex;

TEST(exposition_parses_and_counts)
{
	struct run_config c;
	struct store *s = fixture(&c, "none", 1);
	struct report *r = NULL;
	struct dynbuf b = DYNBUF_INIT(1 << 20);

	ASSERT(s);
	ASSERT_EQ(report_build(s, &c, &r), 0);
	ASSERT_EQ(metrics_render(r, T0 + 1000, &b), 0);
	if (expo_parse(&ex, b.buf))
		H_FAIL("parse: %s\n%s", ex.err, b.buf);
	if (check_histograms(&ex))
		H_FAIL("histogram: %s", ex.err);
	ASSERT_NEAR(val(&ex, "conform_run_info",
			"run_id=\"20251122-041100-3fa2\",platform=\"local\",mesh=\"none\""), 1, 0);
	ASSERT_NEAR(val(&ex, "conform_run_elapsed_seconds", ""), 40, 1e-9);  /* ended: not now */
	ASSERT_NEAR(val(&ex, "conform_run_final", ""), 1, 0);
	ASSERT_NEAR(val(&ex, "conform_monitor_up", ""), 1, 0);
	ASSERT_NEAR(val(&ex, "conform_batches_total", "result=\"accepted\""), 100, 0);
	ASSERT_NEAR(val(&ex, "conform_batches_total", "result=\"duplicate\""), 1, 0);
	ASSERT_NEAR(val(&ex, "conform_batches_total", "result=\"rejected\""), 1, 0);
	ASSERT_NEAR(val(&ex, "conform_check_state", "check=\"http.basic\""), 1, 0);
	ASSERT_NEAR(val(&ex, "conform_check_state", "check=\"grpc.basic\""), 1, 0);
	ASSERT(!find(&ex, "conform_check_state", "check=\"grpc.stream\""));   /* skipped */
	ASSERT_NEAR(val(&ex, "conform_check_windows_total",
			"check=\"grpc.basic\",result=\"fail\""), 2, 0);
	ASSERT_NEAR(val(&ex, "conform_check_windows_total",
			"check=\"grpc.basic\",result=\"pass\""), 2, 0);
	ASSERT_NEAR(val(&ex, "conform_check_windows_total",
			"check=\"http.basic\",result=\"nodata\""), 0, 0);
	ASSERT_NEAR(val(&ex, "conform_requests_total", "check=\"grpc.basic\",outcome=\"ok\""),
		    220, 0);
	ASSERT_NEAR(val(&ex, "conform_requests_total",
			"check=\"grpc.basic\",outcome=\"grpc_error\""), 180, 0);
	ASSERT_NEAR(val(&ex, "conform_requests_total",
			"check=\"http.basic\",outcome=\"timeout\""), 0, 0);
	ASSERT_NEAR(val(&ex, "conform_incidents_total", "check=\"grpc.basic\""), 1, 0);
	ASSERT_NEAR(val(&ex, "conform_incidents_total", "check=\"http.basic\""), 0, 0);
	/* http.basic latencies are 1.5..2.4 ms: none <= 1 ms, all <= 5 ms */
	ASSERT_NEAR(val(&ex, "conform_request_duration_seconds_bucket",
			"check=\"http.basic\",le=\"0.001\""), 0, 0);
	ASSERT_NEAR(val(&ex, "conform_request_duration_seconds_bucket",
			"check=\"http.basic\",le=\"0.005\""), 400, 0);
	ASSERT_NEAR(val(&ex, "conform_request_duration_seconds_count", "check=\"http.basic\""),
		    400, 0);
	ASSERT_NEAR(val(&ex, "conform_request_duration_seconds_sum", "check=\"http.basic\""),
		    400 * 0.00195, 1e-6);
	/* the family types */
	ASSERT_STR_EQ(family_find(&ex, "conform_requests_total")->type, "counter");
	ASSERT_STR_EQ(family_find(&ex, "conform_check_state")->type, "gauge");
	ASSERT_STR_EQ(family_find(&ex, "conform_request_duration_seconds")->type, "histogram");
	dynbuf_release(&b);
	report_free(r);
	store_close(s);
}

TEST(running_and_escaped)
{
	struct run_config c;
	struct store *s = fixture(&c, "a\"b\\c\nd", 0);
	struct report *r = NULL;
	struct dynbuf b = DYNBUF_INIT(1 << 20);

	ASSERT(s);
	ASSERT_EQ(report_build(s, &c, &r), 0);
	ASSERT_EQ(metrics_render(r, T0 + 25.5, &b), 0);
	ASSERT_CONTAINS(b.buf, "mesh=\"a\\\"b\\\\c\\nd\"");
	if (expo_parse(&ex, b.buf))
		H_FAIL("parse: %s", ex.err);
	ASSERT(find(&ex, "conform_run_info",
		    "run_id=\"20251122-041100-3fa2\",platform=\"local\",mesh=\"a\"b\\c\nd\""));
	ASSERT_NEAR(val(&ex, "conform_run_elapsed_seconds", ""), 25.5, 1e-9);
	ASSERT_NEAR(val(&ex, "conform_run_final", ""), 0, 0);
	/* windows 0 and 1 evaluated: the latest (1) failed */
	ASSERT_NEAR(val(&ex, "conform_check_state", "check=\"grpc.basic\""), 2, 0);
	/* the parser itself rejects what it must */
	ASSERT(expo_parse(&ex, "x 1\n") != 0);                          /* no TYPE */
	ASSERT(expo_parse(&ex, "# HELP x h\n# TYPE x gauge\nx{a=\"1} 1\n") != 0);
	ASSERT(expo_parse(&ex, "# HELP x h\n# TYPE x gauge\nx 1\n# TYPE x gauge\n") != 0);
	ASSERT(expo_parse(&ex, "# HELP x h\n# TYPE x gauge\nx one\n") != 0);
	ASSERT(expo_parse(&ex, "# HELP x h\n# TYPE x gauge\n# HELP y h\n# TYPE y gauge\n"
			  "x 1\ny 1\nx 2\n") != 0);                     /* not grouped */
	ASSERT_EQ(expo_parse(&ex, "# HELP h h\n# TYPE h histogram\nh_bucket{le=\"1\"} 3\n"
			     "h_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n"), 0);
	ASSERT(check_histograms(&ex) != 0);                             /* falls */
	ASSERT_EQ(expo_parse(&ex, "# HELP h h\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\n"
			     "h_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n"), 0);
	ASSERT(check_histograms(&ex) != 0);                             /* +Inf != count */
	/* too small a buffer fails cleanly */
	dynbuf_release(&b);
	dynbuf_init(&b, 512);
	ASSERT_EQ(metrics_render(r, T0, &b), -1);
	dynbuf_release(&b);
	report_free(r);
	store_close(s);
}

TEST(listen_addr_loopback_only)
{
	char addr[64], err[256];
	int fam = 0, port = -1;

	ASSERT_EQ(metrics_parse_addr("127.0.0.1:9464", addr, sizeof(addr), &fam, &port, err,
				     sizeof(err)), 0);
	ASSERT_STR_EQ(addr, "127.0.0.1");
	ASSERT_EQ(fam, AF_INET);
	ASSERT_EQ(port, 9464);
	ASSERT_EQ(metrics_parse_addr("127.3.4.5:0", addr, sizeof(addr), &fam, &port, err,
				     sizeof(err)), 0);
	ASSERT_EQ(port, 0);
	ASSERT_EQ(metrics_parse_addr("[::1]:80", addr, sizeof(addr), &fam, &port, err,
				     sizeof(err)), 0);
	ASSERT_STR_EQ(addr, "::1");
	ASSERT_EQ(fam, AF_INET6);
	ASSERT(metrics_parse_addr("0.0.0.0:9464", addr, sizeof(addr), &fam, &port, err,
				  sizeof(err)) < 0);
	ASSERT_CONTAINS(err, "only loopback");
	ASSERT(metrics_parse_addr("192.168.1.2:9464", addr, sizeof(addr), &fam, &port, err,
				  sizeof(err)) < 0);
	ASSERT_CONTAINS(err, "only loopback");
	ASSERT(metrics_parse_addr("[::]:9464", addr, sizeof(addr), &fam, &port, err,
				  sizeof(err)) < 0);
	ASSERT_CONTAINS(err, "only loopback");
	ASSERT(metrics_parse_addr("localhost:9464", addr, sizeof(addr), &fam, &port, err,
				  sizeof(err)) < 0);
	ASSERT_CONTAINS(err, "not a numeric IP");
	ASSERT(metrics_parse_addr("127.0.0.1", addr, sizeof(addr), &fam, &port, err,
				  sizeof(err)) < 0);
	ASSERT(metrics_parse_addr("127.0.0.1:65536", addr, sizeof(addr), &fam, &port, err,
				  sizeof(err)) < 0);
	ASSERT(metrics_parse_addr("127.0.0.1:x", addr, sizeof(addr), &fam, &port, err,
				  sizeof(err)) < 0);
	ASSERT(metrics_parse_addr("::1:80", addr, sizeof(addr), &fam, &port, err,
				  sizeof(err)) < 0);
	ASSERT(metrics_parse_addr("", addr, sizeof(addr), &fam, &port, err, sizeof(err)) < 0);
}

int main(void)
{
	if (fixture_tmpdir_make("metrics"))
		return 2;
	log_init("test_metrics", LOG_ERROR);
	RUN(exposition_parses_and_counts);
	RUN(running_and_escaped);
	RUN(listen_addr_loopback_only);
	fixture_tmpdir_remove();
	TEST_MAIN_END();
}
