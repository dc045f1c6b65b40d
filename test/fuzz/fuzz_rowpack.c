/*
 * fuzz_rowpack.c - libFuzzer target for rowpack_decode: packed per-second
 * rows are read back from the SQLite store (agg_pack), which a user can
 * hand-edit or corrupt. The rows of an input that decodes must survive an
 * encode/decode round trip unchanged, ids included; and the histogram blob
 * quantiles of the input read as a blob equal those of the decoded blob.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "evidence/hist.h"
#include "store/rowpack.h"

#define FZ_MAX_ROWS 256

struct fz_rows {
	struct agg_row rows[FZ_MAX_ROWS];
	int64_t ids[FZ_MAX_ROWS];
	size_t n;
};

static struct fz_rows fz_a, fz_b;

static int fz_take(void *ctx, const struct agg_row *r, int64_t id)
{
	struct fz_rows *t = ctx;

	if (t->n == FZ_MAX_ROWS)
		return 1;       /* enough: stop the walk */
	t->rows[t->n] = *r;
	t->ids[t->n++] = id;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const double q[2] = { 0.5, 0.99 };
	struct dynbuf b = DYNBUF_INIT(1u << 24);
	unsigned char *copy = malloc(size ? size : 1);
	uint64_t qs[2];
	struct hist h;
	int rc;

	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);
	fz_a.n = fz_b.n = 0;
	rc = rowpack_decode(copy, size, fz_take, &fz_a);
	FUZZ_CHECK(rc == 0 || rc == 1 || rc == -1);
	if (rc == 0 && fz_a.n) {
		FUZZ_CHECK(rowpack_encode(fz_a.rows, fz_a.ids, fz_a.n, &b) == 0);
		FUZZ_CHECK(rowpack_decode((const unsigned char *)b.buf, b.len, fz_take, &fz_b) == 0);
		FUZZ_CHECK(fz_b.n == fz_a.n);
		for (size_t i = 0; i < fz_a.n; i++) {
			FUZZ_CHECK(fz_a.ids[i] == fz_b.ids[i]);
			FUZZ_CHECK(!memcmp(&fz_a.rows[i].h, &fz_b.rows[i].h, sizeof(fz_a.rows[i].h)));
			FUZZ_CHECK(!strcmp(fz_a.rows[i].identity, fz_b.rows[i].identity));
			FUZZ_CHECK(fz_a.rows[i].second == fz_b.rows[i].second);
		}
	}
	/* the same bytes as a window's histogram blob */
	hist_init(&h);
	if (hist_blob_quantiles(copy, size, 5000, q, qs, 2) == 0) {
		FUZZ_CHECK(hist_blob_decode(&h, copy, size) == 0);
		h.max_us = 5000;
		FUZZ_CHECK(qs[0] == hist_quantile(&h, 0.5) && qs[1] == hist_quantile(&h, 0.99));
	} else {
		FUZZ_CHECK(hist_blob_decode(&h, copy, size) == -1);
	}
	dynbuf_release(&b);
	free(copy);
	return 0;
}
