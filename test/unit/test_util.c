/*
 * test_util.c - durations, the capped dynbuf, JSON/XML escaping, strict
 * number parsing and bounded string helpers: the small things every parser
 * and renderer in conform leans on.
 */
#include <errno.h>

#include "harness.h"
#include "base/util.h"

TEST(dur_parse_table)
{
	static const struct { const char *in; int rc; int64_t ms; } cases[] = {
		{ "0", 0, 0 },
		{ "90", 0, 90000 },
		{ "90s", 0, 90000 },
		{ "500ms", 0, 500 },
		{ "2h", 0, 7200000 },
		{ "3d", 0, 259200000 },
		{ "1h30m", 0, 5400000 },
		{ "1m30s", 0, 90000 },
		{ "10s250ms", 0, 10250 },
		{ "", -1, 0 },
		{ "s", -1, 0 },
		{ "1x", -1, 0 },
		{ "-5s", -1, 0 },
		{ "1h30", -1, 0 },
		{ " 5s", -1, 0 },
		{ "5 s", -1, 0 },
		{ "1.5s", -1, 0 },
		{ "99999999999999999999d", -1, 0 },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int64_t ms = -7;
		int rc = dur_parse(cases[i].in, &ms);

		if (rc != cases[i].rc)
			H_FAIL("dur_parse(\"%s\") = %d, want %d", cases[i].in, rc, cases[i].rc);
		if (rc == 0 && ms != cases[i].ms)
			H_FAIL("dur_parse(\"%s\") = %lld ms, want %lld", cases[i].in,
			       (long long)ms, (long long)cases[i].ms);
		if (rc != 0 && ms != -7)
			H_FAIL("dur_parse(\"%s\") touched out on error", cases[i].in);
	}
	ASSERT_EQ(dur_parse(NULL, &(int64_t){ 0 }), -1);
}

TEST(dur_format_and_time)
{
	char buf[32];

	ASSERT_STR_EQ(dur_format(250, buf, sizeof(buf)), "250ms");
	ASSERT_STR_EQ(dur_format(90000, buf, sizeof(buf)), "1m30s");
	ASSERT_STR_EQ(dur_format(60000, buf, sizeof(buf)), "1m");
	ASSERT_STR_EQ(dur_format(90061000, buf, sizeof(buf)), "1d1h1m1s");
	ASSERT_STR_EQ(time_rfc3339(0, buf, sizeof(buf)), "1970-01-01T00:00:00Z");
	ASSERT_STR_EQ(time_rfc3339(1763784660.9, buf, sizeof(buf)), "2025-11-22T04:11:00Z");
}

TEST(dynbuf_cap)
{
	struct dynbuf b = DYNBUF_INIT(8);

	ASSERT_EQ(dynbuf_adds(&b, "1234"), 0);
	ASSERT_EQ(dynbuf_addf(&b, "%d", 5678), 0);
	ASSERT_EQ(b.len, 8);
	ASSERT_STR_EQ(b.buf, "12345678");
	errno = 0;
	ASSERT_EQ(dynbuf_adds(&b, "9"), -1);
	ASSERT_EQ(errno, E2BIG);
	/* a failed append leaves the buffer as it was */
	ASSERT_EQ(b.len, 8);
	ASSERT_STR_EQ(b.buf, "12345678");
	dynbuf_reset(&b);
	ASSERT_EQ(b.len, 0);
	ASSERT_EQ(dynbuf_addf(&b, "%s", "too long for it"), -1);
	ASSERT_EQ(b.len, 0);
	dynbuf_release(&b);
	ASSERT(b.buf == NULL);
}

TEST(dynbuf_grow_and_detach)
{
	struct dynbuf b = DYNBUF_INIT(1 << 20);
	char *p;
	size_t len = 0;
	int i;

	for (i = 0; i < 1000; i++)
		ASSERT_EQ(dynbuf_addf(&b, "%03d,", i), 0);
	ASSERT_EQ(b.len, 4000);
	ASSERT_EQ(strncmp(b.buf + 3996, "999,", 4), 0);
	p = dynbuf_detach(&b, &len);
	ASSERT(p);
	ASSERT_EQ(len, 4000);
	ASSERT(b.buf == NULL);
	ASSERT_EQ(b.len, 0);
	free(p);
	p = dynbuf_detach(&b, &len);   /* empty buffer detaches as "" */
	ASSERT(p);
	ASSERT_STR_EQ(p, "");
	free(p);
}

TEST(json_escape)
{
	struct dynbuf b = DYNBUF_INIT(1024);

	ASSERT_EQ(dynbuf_add_json_str(&b, "a\"b\\c\nd\te\x01"), 0);
	ASSERT_STR_EQ(b.buf, "a\\\"b\\\\c\\nd\\te\\u0001");
	dynbuf_reset(&b);
	ASSERT_EQ(dynbuf_add_json_str(&b, "ünï"), 0);   /* UTF-8 passes through */
	ASSERT_STR_EQ(b.buf, "ünï");
	dynbuf_release(&b);
}

TEST(xml_escape)
{
	struct dynbuf b = DYNBUF_INIT(1024);

	ASSERT_EQ(dynbuf_add_xml_str(&b, "<a href=\"x\">&'\x01"), 0);
	ASSERT_STR_EQ(b.buf, "&lt;a href=&quot;x&quot;&gt;&amp;&apos;?");
	dynbuf_release(&b);
}

TEST(parse_numbers)
{
	int64_t v = 0;
	double d = 0;

	ASSERT_EQ(parse_i64("42", 0, 100, &v), 0);
	ASSERT_EQ(v, 42);
	ASSERT_EQ(parse_i64("-3", -5, 5, &v), 0);
	ASSERT_EQ(v, -3);
	ASSERT_EQ(parse_i64("101", 0, 100, &v), -1);
	ASSERT_EQ(parse_i64("12a", 0, 100, &v), -1);
	ASSERT_EQ(parse_i64("", 0, 100, &v), -1);
	ASSERT_EQ(parse_i64(" 1", 0, 100, &v), -1);
	ASSERT_EQ(parse_i64("99999999999999999999", INT64_MIN, INT64_MAX, &v), -1);
	ASSERT_EQ(parse_i64(NULL, 0, 1, &v), -1);
	ASSERT_EQ(v, -3);   /* untouched by failures */
	ASSERT_EQ(parse_double("0.25", 0, 1, &d), 0);
	ASSERT_NEAR(d, 0.25, 1e-12);
	ASSERT_EQ(parse_double("1.5", 0, 1, &d), -1);
	ASSERT_EQ(parse_double("nan", 0, 1, &d), -1);
	ASSERT_EQ(parse_double("0.5x", 0, 1, &d), -1);
}

TEST(bounded_strings)
{
	char small[6];

	ASSERT_EQ(str_copy(small, sizeof(small), "hello"), 0);
	ASSERT_STR_EQ(small, "hello");
	ASSERT_EQ(str_copy(small, sizeof(small), "hello world"), -1);
	ASSERT_STR_EQ(small, "hello");
	ASSERT_EQ(str_fmt(small, sizeof(small), "%d", 12345), 0);
	ASSERT_EQ(str_fmt(small, sizeof(small), "%d", 123456), -1);
	ASSERT_STR_EQ(small, "12345");
}

TEST(log_quoting)
{
	char q[16];

	ASSERT_STR_EQ(log_quote("a \"b\"\n", q, sizeof(q)), "\"a \\\"b\\\"\\n\"");
	ASSERT_STR_EQ(log_quote("0123456789abcdefgh", q, sizeof(q)), "\"0123456789ab\"");
}

int main(void)
{
	RUN(dur_parse_table);
	RUN(dur_format_and_time);
	RUN(dynbuf_cap);
	RUN(dynbuf_grow_and_detach);
	RUN(json_escape);
	RUN(xml_escape);
	RUN(parse_numbers);
	RUN(bounded_strings);
	RUN(log_quoting);
	TEST_MAIN_END();
}
