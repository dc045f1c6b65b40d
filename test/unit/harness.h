/*
 * harness.h - the tiny unit test harness. A test file defines TEST(name)
 * functions and lists them in main with RUN(name). Assertions print both
 * sides (libuv's ASSERT_EQ) and fail only the current test. Output is TAP-like
 * ("ok name" / "not ok name"), read by test/run.sh. Golden files: see golden_check.
 */
#ifndef CONFORM_TEST_HARNESS_H
#define CONFORM_TEST_HARNESS_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int h_failed_now;
static int h_passed, h_failed;

#define TEST(name) static void test_##name(void)
#define RUN(name) do { h_failed_now = 0; test_##name(); \
	if (h_failed_now) { h_failed++; printf("not ok %s\n", #name); } \
	else { h_passed++; printf("ok %s\n", #name); } fflush(stdout); } while (0)
#define H_FAIL(...) do { fprintf(stderr, "%s:%d: ", __FILE__, __LINE__); \
	fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); h_failed_now = 1; return; } while (0)

#define ASSERT(c) do { if (!(c)) H_FAIL("assertion failed: %s", #c); } while (0)
#define ASSERT_EQ(a, b) do { long long _a = (long long)(a), _b = (long long)(b); \
	if (_a != _b) H_FAIL("%s == %s: %lld != %lld", #a, #b, _a, _b); } while (0)
#define ASSERT_UEQ(a, b) do { unsigned long long _a = (unsigned long long)(a), \
	_b = (unsigned long long)(b); \
	if (_a != _b) H_FAIL("%s == %s: %llu != %llu", #a, #b, _a, _b); } while (0)
#define ASSERT_NEAR(a, b, eps) do { double _a = (a), _b = (b); \
	if (!(_a - _b <= (eps) && _b - _a <= (eps))) \
		H_FAIL("%s ~= %s: %g != %g (eps %g)", #a, #b, _a, _b, (double)(eps)); } while (0)
#define ASSERT_STR_EQ(a, b) do { const char *_a = (a), *_b = (b); \
	if (!_a || !_b || strcmp(_a, _b)) \
		H_FAIL("%s == %s: \"%s\" != \"%s\"", #a, #b, _a ? _a : "(null)", _b ? _b : "(null)"); } while (0)
#define ASSERT_CONTAINS(hay, needle) do { const char *_h = (hay), *_n = (needle); \
	if (!_h || !strstr(_h, _n)) H_FAIL("\"%s\" does not contain \"%s\"", _h ? _h : "(null)", _n); } while (0)

#define TEST_MAIN_END() do { printf("# %d passed, %d failed\n", h_passed, h_failed); \
	return h_failed ? 1 : 0; } while (0)

/*
 * Compare text with test/golden/<name>. With UPDATE_GOLDEN=1 in the
 * environment, (re)write the golden file instead and pass.
 * Returns 0 when equal.
 */
static inline int golden_check(const char *name, const char *text)
{
	char path[512];
	FILE *f;
	char *want = NULL;
	long n;
	int rc;

	snprintf(path, sizeof(path), "test/golden/%s", name);
	if (getenv("UPDATE_GOLDEN") && *getenv("UPDATE_GOLDEN") == '1') {
		f = fopen(path, "w");
		if (!f)
			return -1;
		fputs(text, f);
		fclose(f);
		return 0;
	}
	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "golden %s missing (make golden writes it)\n", path);
		return -1;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	want = malloc((size_t)n + 1);
	if (!want || fread(want, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(want);
		return -1;
	}
	want[n] = '\0';
	fclose(f);
	rc = strcmp(want, text) ? -1 : 0;
	if (rc)
		fprintf(stderr, "golden %s differs; got:\n%s\n(make golden rewrites it)\n", path, text);
	free(want);
	return rc;
}

#endif
