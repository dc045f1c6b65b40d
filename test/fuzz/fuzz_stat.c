/*
 * fuzz_stat.c - libFuzzer target for hrt_parse_stat: `show stat` CSV comes
 * back from a sidecar's admin socket, and a sidecar is a separate process
 * that can be wedged, replaced or of another HAProxy version.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "mesh/haproxy/rt.h"

#define FUZZ_STAT_ROWS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hrt_stat rows[FUZZ_STAT_ROWS + 1];
	size_t n = 0, i;
	char *copy;

	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);
	/* a guard row after max: the parser must never touch it */
	memset(&rows[FUZZ_STAT_ROWS], 0x5a, sizeof(rows[0]));
	if (hrt_parse_stat(copy, size, rows, FUZZ_STAT_ROWS, &n) == 0) {
		FUZZ_CHECK(n <= FUZZ_STAT_ROWS);
		for (i = 0; i < n; i++)
			FUZZ_CHECK(memchr(rows[i].proxy, '\0', sizeof(rows[i].proxy)) &&
				   memchr(rows[i].server, '\0', sizeof(rows[i].server)) &&
				   memchr(rows[i].status, '\0', sizeof(rows[i].status)));
	}
	for (i = 0; i < sizeof(rows[0]); i++)
		FUZZ_CHECK(((const unsigned char *)&rows[FUZZ_STAT_ROWS])[i] == 0x5a);
	free(copy);
	return 0;
}
