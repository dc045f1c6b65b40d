/*
 * rowpack.h - per-second aggregate rows packed into one byte string, as the
 * store keeps the rows of judged windows until their retention ends (one
 * SQLite row per check and ten minutes instead of one per second: a day of
 * 11 checks is ~950,000 rows, ~90 MB as rows and their index).
 *
 * Format (version 1): a byte 0x01, then per row a flags byte (bit 0 check,
 * bit 1 workload, bit 2 backend, bit 3 identity follow as varint length +
 * bytes, else they are the previous row's; bit 4 attempts follow), the
 * changed strings, then varints: second as a zigzag delta from the previous
 * row's (the first from 0), the row's store id the same way (reads order
 * rows of one second by it, packed or not), outcome, code (zigzag), count, sum_us, max_us,
 * the histogram blob's length and the blob (hist_blob_encode), and with
 * bit 4 eight attempt counts. Everything read back is bounded and checked.
 */
#ifndef CONFORM_ROWPACK_H
#define CONFORM_ROWPACK_H

#include <stddef.h>
#include <stdint.h>

#include "checks/check.h"
#include "base/util.h"

/* rows[0..n) with their ids (NULL: all 0) packed into out (cleared first).
 * 0, or -1 when out's cap is reached or memory runs out (out left empty). */
int rowpack_encode(const struct agg_row *rows, const int64_t *ids, size_t n,
		   struct dynbuf *out);

/*
 * Unpack p[0..len): fn gets each row and its id in order (the row is valid
 * during the call only)
 * and stops the walk by returning non-zero. Returns 0 when every row was
 * seen, fn's non-zero value, or -1 when the bytes are not a valid pack
 * (rows before the damage were given to fn).
 */
int rowpack_decode(const unsigned char *p, size_t len,
		   int (*fn)(void *ctx, const struct agg_row *row, int64_t id), void *ctx);

#endif
