/*
 * fuzz_promtext.c - libFuzzer target for the Prometheus text parser: proxy
 * scrapes are outside input, so any bytes must either parse into samples
 * that read back consistently or fail with an error naming a line; and the
 * delta of a scrape with itself must report no reset.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "mesh/linkerd/promtext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct prom_set *s = NULL, *d = NULL;
	char err[256] = "";
	uint64_t resets = 1;
	int restarted = 1, rc;
	char *copy = malloc(size ? size : 1);

	/* an exact-size heap copy so ASan sees any read past size */
	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);
	rc = prom_parse(copy, size, &s, err, sizeof(err));
	if (rc) {
		FUZZ_CHECK(s == NULL);
		FUZZ_CHECK(rc == -EINVAL || rc == -E2BIG || rc == -ENOMEM);
		FUZZ_CHECK(strncmp(err, "line ", 5) == 0);
		goto out;
	}
	for (size_t i = 0; i < prom_count(s); i++) {
		const char *name = prom_name(s, i);

		FUZZ_CHECK(name[0] != '\0' && strlen(name) <= PROM_NAME_MAX);
		FUZZ_CHECK(prom_nlabels(s, i) <= PROM_LABELS_MAX);
		for (size_t j = 0; j < prom_nlabels(s, i); j++) {
			const char *ln, *lv;

			prom_label_at(s, i, j, &ln, &lv);
			FUZZ_CHECK(prom_label(s, i, ln) == lv);   /* no duplicate names */
			FUZZ_CHECK(strlen(lv) <= PROM_VALUE_MAX);
		}
		(void)prom_type_of(s, name);
	}
	FUZZ_CHECK(prom_delta(s, s, &d, &resets, &restarted) == 0);
	FUZZ_CHECK(resets == 0 && restarted == 0);
	FUZZ_CHECK(prom_count(d) == prom_count(s));
	for (size_t i = 0; i < prom_count(d); i++) {
		double v = prom_value(d, i), o = prom_value(s, i);

		/* a series against itself: 0 for counters, itself for gauges */
		FUZZ_CHECK(isnan(v) || isnan(o) || v == 0 || v == o || isinf(o));
	}
out:
	prom_set_free(d);
	prom_set_free(s);
	free(copy);
	return 0;
}
