/*
 * fuzz_tap.c - libFuzzer target for tap_parse_line: sidecar log datagrams
 * arrive over UDP from anything that can reach the tap port, so the parser
 * must reject every malformed line without reading or writing out of bounds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "mesh/haproxy/tap.h"

/* Every string field the parser filled must be NUL-terminated in its array. */
#define FIELD_TERMINATED(r, f) (memchr((r)->f, '\0', sizeof((r)->f)) != NULL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tap_record rec;
	char *copy;

	/* an exact-size heap copy so ASan sees any read past len */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);
	if (tap_parse_line(copy, size, &rec) == 0) {
		FUZZ_CHECK(FIELD_TERMINATED(&rec, proxy) && FIELD_TERMINATED(&rec, request_id) &&
			   FIELD_TERMINATED(&rec, src) && FIELD_TERMINATED(&rec, dst) &&
			   FIELD_TERMINATED(&rec, backend) && FIELD_TERMINATED(&rec, server) &&
			   FIELD_TERMINATED(&rec, method) && FIELD_TERMINATED(&rec, path) &&
			   FIELD_TERMINATED(&rec, term_state) &&
			   FIELD_TERMINATED(&rec, client_id) &&
			   FIELD_TERMINATED(&rec, server_id) && FIELD_TERMINATED(&rec, error));
		FUZZ_CHECK(rec.kind == TAP_KIND_REQUEST || rec.kind == TAP_KIND_CONN_ERROR);
		FUZZ_CHECK(rec.dir == TAP_DIR_IN || rec.dir == TAP_DIR_OUT);
		FUZZ_CHECK(size <= TAP_LINE_MAX + 1);   /* longer lines must be rejected */
	}
	free(copy);
	return 0;
}
