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
#include <time.h>
#include <unistd.h>

#include "config/state.h"   /* CONFORM_VERSION */

static int h_failed_now;
static int h_passed, h_failed;

/* H_LIST=1 in the environment: print "case NAME" for every case, run none
 * (test/run.sh counts the cases a crashed binary never reached) */
static inline int h_listing(void)
{
	const char *v = getenv("H_LIST");

	return v && *v == '1';
}

#define TEST(name) static void test_##name(void)
#define RUN(name) do { if (h_listing()) { printf("case %s\n", #name); break; } \
	h_failed_now = 0; test_##name(); \
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
 * Randomised tests draw from h_rand_unit() after h_rand_init(), never from an
 * unseeded source: the seed is TEST_SEED from the environment, else a fresh
 * one, and is printed so that any failure can be replayed exactly
 * ("# seed 123: TEST_SEED=123 replays it"). Each test that calls
 * h_rand_init() starts from the seed, whatever ran before it.
 */
static uint64_t h_rng;

static inline void h_rand_init(void)
{
	static uint64_t seed;
	const char *v;

	if (!seed) {
		v = getenv("TEST_SEED");
		if (v && *v)
			seed = strtoull(v, NULL, 10);
		if (!seed) {
			FILE *f = fopen("/dev/urandom", "rb");

			if (!f || fread(&seed, sizeof(seed), 1, f) != 1)
				seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
			if (f)
				fclose(f);
			seed = (seed >> 1) | 1;   /* positive, non-zero: easy to paste */
		}
		printf("# seed %" PRIu64 ": TEST_SEED=%" PRIu64 " replays it\n", seed, seed);
		fflush(stdout);
	}
	h_rng = seed;
}

/* uniform in [0, 1) (splitmix64: Steele, Lea and Flood, 2014) */
static inline double h_rand_unit(void)
{
	uint64_t z = (h_rng += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	z ^= z >> 31;
	return (double)(z >> 11) / 9007199254740992.0;
}

/* the version string in a golden file, so a version bump breaks none */
#define GOLDEN_VERSION "@VERSION@"

/* text with every CONFORM_VERSION replaced by GOLDEN_VERSION; malloc'd,
 * the caller frees it; NULL when out of memory */
static inline char *golden_normalise(const char *text)
{
	const char *v = CONFORM_VERSION, *p;
	size_t vl = strlen(v), gl = strlen(GOLDEN_VERSION), n = 0, cap;
	char *out;

	for (p = text; (p = strstr(p, v)); p += vl)
		n++;
	cap = strlen(text) + n * gl + 1;
	out = malloc(cap);
	if (!out)
		return NULL;
	n = 0;
	for (p = text; *p;) {
		const char *hit = strstr(p, v);
		size_t keep = hit ? (size_t)(hit - p) : strlen(p);

		memcpy(out + n, p, keep);
		n += keep;
		if (!hit)
			break;
		memcpy(out + n, GOLDEN_VERSION, gl);
		n += gl;
		p = hit + vl;
	}
	out[n] = '\0';
	return out;
}

/*
 * Compare text with test/golden/<name> (CONFORM_VERSION written as
 * GOLDEN_VERSION). When they differ, or the golden file is missing, the text
 * is written to test/golden/<name>.new and `diff -u` of the two is printed:
 * a person reviews it and accepts it with `make golden-accept`; nothing here
 * ever overwrites a golden file. Returns 0 when equal.
 */
static inline int golden_check(const char *name, const char *text)
{
	char path[512], newpath[520], cmd[1200];
	FILE *f;
	char *want = NULL, *got = golden_normalise(text);
	long n;
	int rc = -1;

	if (!got)
		return -1;
	snprintf(path, sizeof(path), "test/golden/%s", name);
	snprintf(newpath, sizeof(newpath), "%s.new", path);
	f = fopen(path, "r");
	if (f) {
		fseek(f, 0, SEEK_END);
		n = ftell(f);
		fseek(f, 0, SEEK_SET);
		want = n >= 0 ? malloc((size_t)n + 1) : NULL;
		if (want && fread(want, 1, (size_t)n, f) == (size_t)n) {
			want[n] = '\0';
			rc = strcmp(want, got) ? -1 : 0;
		}
		fclose(f);
	}
	if (rc == 0) {
		remove(newpath);   /* a stale proposal of an older change */
		goto out;
	}
	f = fopen(newpath, "w");
	if (!f || fputs(got, f) < 0) {
		fprintf(stderr, "golden %s: cannot write %s\n", path, newpath);
		if (f)
			fclose(f);
		goto out;
	}
	fclose(f);
	if (!want) {
		fprintf(stderr, "golden %s missing; the output is in %s "
			"(review it, then make golden-accept)\n", path, newpath);
		goto out;
	}
	fprintf(stderr, "golden %s differs (diff -u golden new):\n", path);
	fflush(stderr);
	snprintf(cmd, sizeof(cmd), "diff -u '%s' '%s' | head -n 60 >&2", path, newpath);
	if (system(cmd) == -1)
		fprintf(stderr, "(cannot run diff)\n");
	fprintf(stderr, "review %s, then make golden-accept\n", newpath);
out:
	free(want);
	free(got);
	return rc;
}

#endif
