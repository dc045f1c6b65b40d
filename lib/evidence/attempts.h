/*
 * attempts.h - a bounded table counting how often each request id was seen,
 * so a server can answer "attempt N" and retries become visible. When full,
 * the id inserted longest ago is forgotten first. Thread-safe.
 *
 * Memory is fixed at creation (about 24 bytes per remembered id, all of it
 * allocated and written by attempts_new), so a server's resident size does
 * not creep up as the table fills. Ids are remembered by a 64-bit hash of
 * their first ATTEMPTS_ID_MAX bytes: two different ids share a count only
 * on a hash collision (odds about cap / 2^64 per new id).
 */
#ifndef CONFORM_ATTEMPTS_H
#define CONFORM_ATTEMPTS_H

#include <stddef.h>
#include <stdint.h>

#define ATTEMPTS_ID_MAX 255   /* longer ids are counted by their first 255 bytes */

struct attempts;

/* New table remembering at most cap ids (cap >= 1). NULL on OOM. Free with
 * attempts_free (NULL is fine). */
struct attempts *attempts_new(size_t cap);
void attempts_free(struct attempts *a);

/* Count one more sighting of id and return the new count (1 = first time).
 * An empty or NULL id is not remembered and always returns 1. */
uint32_t attempts_hit(struct attempts *a, const char *id);
/* Current count of id without changing it (0 = unknown or forgotten). */
uint32_t attempts_get(struct attempts *a, const char *id);
/* Number of ids currently remembered. */
size_t attempts_size(struct attempts *a);

#endif
