/*
 * attempts.c - request id -> sighting count, bounded. Entries live in a ring
 * in insertion order (the slot to reuse is always the oldest) and are found
 * through a chained hash index, so hit/get are O(1) and memory is fixed.
 */
#include "attempts.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct att_entry {
	char *id;          /* NULL = slot unused */
	uint64_t hash;
	uint32_t count;
	int32_t next;      /* next entry in the same hash chain, -1 = end */
};

struct attempts {
	pthread_mutex_t mu;
	size_t cap;
	size_t used;
	size_t oldest;     /* ring slot to reuse next once full */
	size_t nbuckets;   /* power of two */
	int32_t *bucket;   /* head entry index per hash bucket, -1 = empty */
	struct att_entry *e;
};

static uint64_t att_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;   /* FNV-1a */
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

struct attempts *attempts_new(size_t cap)
{
	struct attempts *a;
	size_t i;

	if (cap < 1 || cap > (1u << 30))
		return NULL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->cap = cap;
	a->nbuckets = 1;
	while (a->nbuckets < cap * 2)
		a->nbuckets <<= 1;
	a->bucket = malloc(a->nbuckets * sizeof(*a->bucket));
	a->e = calloc(cap, sizeof(*a->e));
	if (!a->bucket || !a->e) {
		free(a->bucket);
		free(a->e);
		free(a);
		return NULL;
	}
	for (i = 0; i < a->nbuckets; i++)
		a->bucket[i] = -1;
	pthread_mutex_init(&a->mu, NULL);
	return a;
}

void attempts_free(struct attempts *a)
{
	size_t i;

	if (!a)
		return;
	for (i = 0; i < a->cap; i++)
		free(a->e[i].id);
	free(a->e);
	free(a->bucket);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

static size_t att_len(const char *id)
{
	size_t n = strnlen(id, ATTEMPTS_ID_MAX);

	return n;
}

/* Index of id's entry or -1; caller holds the lock. */
static int32_t att_find(struct attempts *a, const char *id, size_t n, uint64_t h)
{
	int32_t i = a->bucket[h & (a->nbuckets - 1)];

	while (i >= 0) {
		struct att_entry *e = &a->e[i];

		if (e->hash == h && strlen(e->id) == n && !memcmp(e->id, id, n))
			return i;
		i = e->next;
	}
	return -1;
}

static void att_unlink(struct attempts *a, int32_t idx)
{
	int32_t *pp = &a->bucket[a->e[idx].hash & (a->nbuckets - 1)];

	while (*pp >= 0) {
		if (*pp == idx) {
			*pp = a->e[idx].next;
			return;
		}
		pp = &a->e[*pp].next;
	}
}

uint32_t attempts_hit(struct attempts *a, const char *id)
{
	size_t n;
	uint64_t h;
	int32_t i;
	uint32_t count = 1;
	char *copy;

	if (!a || !id || !*id)
		return 1;
	n = att_len(id);
	h = att_hash(id, n);
	copy = malloc(n + 1);   /* allocated outside the lock; freed if unused */
	if (copy) {
		memcpy(copy, id, n);
		copy[n] = '\0';
	}
	pthread_mutex_lock(&a->mu);
	i = att_find(a, id, n, h);
	if (i >= 0) {
		if (a->e[i].count < UINT32_MAX)
			a->e[i].count++;
		count = a->e[i].count;
	} else if (copy) {
		size_t slot;
		struct att_entry *e;

		if (a->used < a->cap) {
			slot = a->used++;
		} else {
			slot = a->oldest;
			a->oldest = (a->oldest + 1) % a->cap;
			att_unlink(a, (int32_t)slot);
			free(a->e[slot].id);
		}
		e = &a->e[slot];
		e->id = copy;
		copy = NULL;
		e->hash = h;
		e->count = 1;
		e->next = a->bucket[h & (a->nbuckets - 1)];
		a->bucket[h & (a->nbuckets - 1)] = (int32_t)slot;
	}
	pthread_mutex_unlock(&a->mu);
	free(copy);
	return count;
}

uint32_t attempts_get(struct attempts *a, const char *id)
{
	size_t n;
	uint64_t h;
	int32_t i;
	uint32_t count = 0;

	if (!a || !id || !*id)
		return 0;
	n = att_len(id);
	h = att_hash(id, n);
	pthread_mutex_lock(&a->mu);
	i = att_find(a, id, n, h);
	if (i >= 0)
		count = a->e[i].count;
	pthread_mutex_unlock(&a->mu);
	return count;
}

size_t attempts_size(struct attempts *a)
{
	size_t n;

	if (!a)
		return 0;
	pthread_mutex_lock(&a->mu);
	n = a->used;
	pthread_mutex_unlock(&a->mu);
	return n;
}
