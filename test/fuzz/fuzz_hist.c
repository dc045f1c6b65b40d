/*
 * fuzz_hist.c - libFuzzer target for hist_blob_decode: histogram blobs are
 * read back from the SQLite store, which a user can hand-edit or corrupt.
 * A blob that decodes must survive an encode/decode round trip unchanged.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "evidence/hist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hist h, g;
	unsigned char *copy, *p = NULL;
	size_t len = 0, i;

	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);
	hist_init(&h);
	if (hist_blob_decode(&h, copy, size) == 0) {
		/* decode adds only buckets; count/sum/max are the caller's */
		for (i = 0; i < HIST_BUCKETS; i++)
			h.count += h.b[i];
		p = hist_blob_encode(&h, &len);
		if (!p)
			goto out;
		hist_init(&g);
		FUZZ_CHECK(hist_blob_decode(&g, p, len) == 0);
		FUZZ_CHECK(memcmp(g.b, h.b, sizeof(h.b)) == 0);
		(void)hist_quantile(&h, 0.99);
	}
out:
	free(p);
	free(copy);
	return 0;
}
