/*
 * test_rowpack.c - packed per-second rows (lib/store/rowpack.c): random rows
 * come back field for field; every truncation and damaged byte string is
 * refused instead of read; in the store, packed rows read back as they were
 * loose (by check, variants included, and for all checks), and pruning
 * takes exactly the rows before its cutoff, whole packs or part of one.
 */
#include <sqlite3.h>
#include <stdio.h>

#include "harness.h"
#include "fixture.h"
#include "evidence/outcome.h"
#include "store/rowpack.h"
#include "store/store.h"
#include "base/util.h"


static void random_row(struct agg_row *r, int64_t second)
{
	static const char *const checks[] = { "http.basic", "http.basic/slow", "grpc.basic" };
	static const char *const ids[] = { "", "http-client.conform.serviceaccount.identity.x" };
	unsigned n = 1 + (unsigned)(h_rand_unit() * 30), i;

	memset(r, 0, sizeof(*r));
	str_copy(r->check, sizeof(r->check), checks[(int)(h_rand_unit() * 3)]);
	str_copy(r->workload, sizeof(r->workload), h_rand_unit() < 0.5 ? "http-client" : "c2");
	str_copy(r->backend, sizeof(r->backend), h_rand_unit() < 0.8 ? "v1" : "v2");
	str_copy(r->identity, sizeof(r->identity), ids[(int)(h_rand_unit() * 2)]);
	r->outcome = h_rand_unit() < 0.8 ? OUT_OK : OUT_HTTP_5XX;
	r->code = h_rand_unit() < 0.1 ? -1 : (r->outcome == OUT_OK ? 200 : 503);
	r->second = second;
	hist_init(&r->h);
	for (i = 0; i < n; i++)
		hist_add(&r->h, (uint64_t)(h_rand_unit() * 50000));
	if (h_rand_unit() < 0.5)
		for (i = 0; i < 8; i++)
			r->attempts[i] = (uint64_t)(h_rand_unit() * 4);
}

static int same_row(const struct agg_row *a, const struct agg_row *b)
{
	return !strcmp(a->check, b->check) && !strcmp(a->workload, b->workload) &&
	       !strcmp(a->backend, b->backend) && !strcmp(a->identity, b->identity) &&
	       a->outcome == b->outcome && a->code == b->code && a->second == b->second &&
	       !memcmp(&a->h, &b->h, sizeof(a->h)) && !memcmp(a->attempts, b->attempts,
							       sizeof(a->attempts));
}

struct got {
	struct agg_row rows[64];
	size_t n;
};

static int64_t got_ids[64];

static int take(void *ctx, const struct agg_row *r, int64_t id)
{
	struct got *g = ctx;

	if (g->n >= ARRAY_SIZE(g->rows))
		return 7;
	got_ids[g->n] = id;
	g->rows[g->n++] = *r;
	return 0;
}

static struct agg_row in[64];
static int64_t in_ids[64];
static struct got out;

TEST(random_rows_round_trip)
{
	struct dynbuf b = DYNBUF_INIT(1u << 20);

	h_rand_init();
	for (int round = 0; round < 50; round++) {
		size_t n = 1 + (size_t)(h_rand_unit() * 63), i;
		int64_t sec = 1763784660 + (int64_t)(h_rand_unit() * 1000);

		for (i = 0; i < n; i++) {
			random_row(&in[i], sec);
			sec += (int64_t)(h_rand_unit() * 3) - 1;   /* also backwards */
			in_ids[i] = (int64_t)(h_rand_unit() * 1e9);
		}
		ASSERT_EQ(rowpack_encode(in, in_ids, n, &b), 0);
		out.n = 0;
		ASSERT_EQ(rowpack_decode((const unsigned char *)b.buf, b.len, take, &out), 0);
		ASSERT_EQ(out.n, n);
		for (i = 0; i < n; i++)
			if (!same_row(&in[i], &out.rows[i]) || got_ids[i] != in_ids[i])
				H_FAIL("round %d: row %zu differs", round, i);
	}
	dynbuf_release(&b);
}

TEST(damaged_packs_are_refused)
{
	struct dynbuf b = DYNBUF_INIT(1u << 20);
	unsigned char *p;
	size_t i, n = 8;

	h_rand_init();
	for (i = 0; i < n; i++)
		random_row(&in[i], 1763784660 + (int64_t)i);
	ASSERT_EQ(rowpack_encode(in, NULL, n, &b), 0);
	p = (unsigned char *)b.buf;
	/* every truncation inside a row fails (a cut between rows is a shorter pack) */
	for (i = 1; i < b.len; i++) {
		int rc;

		out.n = 0;
		rc = rowpack_decode(p, i, take, &out);
		ASSERT(rc == 0 || rc == -1);
		if (rc == 0)
			ASSERT(out.n < n);
	}
	out.n = 0;
	ASSERT_EQ(rowpack_decode(p, 0, take, &out), -1);
	p[0] = 2;   /* unknown version */
	ASSERT_EQ(rowpack_decode(p, b.len, take, &out), -1);
	p[0] = 1;
	p[1] |= 0x80;   /* unknown flag */
	ASSERT_EQ(rowpack_decode(p, b.len, take, &out), -1);
	p[1] = 0x00;    /* a first row inheriting strings it never had */
	ASSERT_EQ(rowpack_decode(p, b.len, take, &out), -1);
	/* fn stops the walk with its own value */
	ASSERT_EQ(rowpack_encode(in, NULL, n, &b), 0);
	out.n = ARRAY_SIZE(out.rows);
	ASSERT_EQ(rowpack_decode((const unsigned char *)b.buf, b.len, take, &out), 7);
	dynbuf_release(&b);
}

static struct store *open_new(const char *name)
{
	struct store *s = NULL;
	char path[128], err[256];

	str_fmt(path, sizeof(path), "%s/%s", fixture_tmpdir, name);
	if (store_open(path, 1, &s, err, sizeof(err))) {
		fprintf(stderr, "store_open: %s\n", err);
		return NULL;
	}
	return s;
}

/* 1200 s of rows for three check ids (one a variant), two rows a second */
static int fill(struct store *s, struct agg_row *rows)
{
	int64_t t0 = 1763784600;   /* a multiple of STORE_PACK_SPAN_S */
	size_t n = 0;

	for (int64_t t = 0; t < 1200; t++) {
		random_row(&rows[n], t0 + t);
		str_copy(rows[n].check, sizeof(rows[n].check), t % 2 ? "http.basic" : "http.basic/slow");
		n++;
		random_row(&rows[n], t0 + t);
		str_copy(rows[n].check, sizeof(rows[n].check), "grpc.basic");
		n++;
	}
	return store_put_batch(s, "http-client", 1, 1, rows, n) == 1 ? 0 : -1;
}

static int rows_equal(const struct agg_row *a, size_t na, const struct agg_row *b, size_t nb)
{
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++)
		if (!same_row(&a[i], &b[i]))
			return 0;
	return 1;
}

TEST(packed_rows_read_back_as_loose_ones)
{
	static struct agg_row rows[2400];
	struct store *s = open_new("pack.db");
	struct agg_row *before[3] = { NULL }, *after[3] = { NULL };
	size_t nb[3], na[3];
	int64_t t0 = 1763784600;

	ASSERT(s);
	h_rand_init();
	ASSERT_EQ(fill(s, rows), 0);
	/* a range across the packed and loose parts, a variant, everything */
	ASSERT_EQ(store_get_rows(s, "http.basic", t0 + 590, t0 + 1190, &before[0], &nb[0]), 0);
	ASSERT_EQ(store_get_rows(s, "http.basic/slow", t0 + 100, t0 + 700, &before[1], &nb[1]), 0);
	ASSERT_EQ(store_get_rows_all(s, t0, t0 + 1200, &before[2], &nb[2]), 0);
	/* 1000 s judged: the first span (600 s) of each check id is packed */
	ASSERT_EQ(store_pack_rows(s, "http.basic", t0 + 1000, 100000), 600);
	ASSERT_EQ(store_pack_rows(s, "http.basic", t0 + 1000, 100000), 0);
	ASSERT_EQ(store_pack_rows(s, "grpc.basic", t0 + 1000, 250), 250);   /* bounded */
	ASSERT_EQ(store_pack_rows(s, "grpc.basic", t0 + 1000, 1000), 350);
	ASSERT_EQ(store_get_rows(s, "http.basic", t0 + 590, t0 + 1190, &after[0], &na[0]), 0);
	ASSERT_EQ(store_get_rows(s, "http.basic/slow", t0 + 100, t0 + 700, &after[1], &na[1]), 0);
	ASSERT_EQ(store_get_rows_all(s, t0, t0 + 1200, &after[2], &na[2]), 0);
	for (int k = 0; k < 3; k++) {
		ASSERT(nb[k] > 0);
		if (!rows_equal(before[k], nb[k], after[k], na[k]))
			H_FAIL("query %d: %zu rows before packing, %zu after, or they differ", k,
			       nb[k], na[k]);
	}
	for (int k = 0; k < 3; k++) {
		free(before[k]);
		free(after[k]);
	}
	/* retention: the rows before the cutoff go, also from inside a pack */
	ASSERT_EQ(store_prune_rows(s, "http.basic", t0 + 598, 100000), 598);
	ASSERT_EQ(store_get_rows(s, "http.basic", t0, t0 + 1200, &after[0], &na[0]), 0);
	ASSERT_EQ(na[0], 602);
	ASSERT_EQ(after[0][0].second, t0 + 598);
	ASSERT_STR_EQ(after[0][0].check, "http.basic/slow");
	ASSERT_EQ(after[0][1].second, t0 + 599);
	free(after[0]);
	ASSERT_EQ(store_prune_rows(s, "http.basic", t0 + 600, 100000), 2);
	ASSERT_EQ(store_get_rows(s, "http.basic", t0, t0 + 1200, &after[0], &na[0]), 0);
	ASSERT_EQ(na[0], 600);
	ASSERT_EQ(after[0][0].second, t0 + 600);
	free(after[0]);
	store_close(s);
}

int main(void)
{
	if (fixture_tmpdir_make("rowpack"))
		return 2;
	RUN(random_rows_round_trip);
	RUN(damaged_packs_are_refused);
	RUN(packed_rows_read_back_as_loose_ones);
	if (!h_failed)
		fixture_tmpdir_remove();   /* kept to look at when a case failed */
	TEST_MAIN_END();
}
