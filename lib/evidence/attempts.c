/*
 * attempts.c - request id -> sighting count, bounded. Entries live in a ring
 * in insertion order (the slot to reuse is always the oldest) and are found
 * through a chained hash index, so hit/get are O(1). Ids are kept as a 64-bit
 * hash, not as copies: every byte is allocated and written in attempts_new,
 * so resident memory is the same on the first request and the millionth.
 */
#include "evidence/attempts.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct att_entry {
	uint64_t hash;     /* the id's key (att_key) */
	uint32_t count;    /* 0 = slot unused */
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

/* FNV-1a over the id, then a 64-bit finaliser so the low bits (the bucket
 * index) depend on every byte; ids are compared by this key alone. */
static uint64_t att_key(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
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
	/* malloc, not calloc, and every element written below: the pages are
	 * resident from now on instead of faulting in as the table fills */
	a->bucket = malloc(a->nbuckets * sizeof(*a->bucket));
	a->e = malloc(cap * sizeof(*a->e));
	if (!a->bucket || !a->e) {
		free(a->bucket);
		free(a->e);
		free(a);
		return NULL;
	}
	for (i = 0; i < a->nbuckets; i++)
		a->bucket[i] = -1;
	for (i = 0; i < cap; i++)
		a->e[i] = (struct att_entry){ .hash = 0, .count = 0, .next = -1 };
	pthread_mutex_init(&a->mu, NULL);
	return a;
}

void attempts_free(struct attempts *a)
{
	if (!a)
		return;
	free(a->e);
	free(a->bucket);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

static uint64_t att_id_key(const char *id)
{
	return att_key(id, strnlen(id, ATTEMPTS_ID_MAX));
}

/* Index of the entry with key h or -1; caller holds the lock. */
static int32_t att_find(struct attempts *a, uint64_t h)
{
	int32_t i = a->bucket[h & (a->nbuckets - 1)];

	while (i >= 0) {
		if (a->e[i].hash == h)
			return i;
		i = a->e[i].next;
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
	uint64_t h;
	int32_t i;
	uint32_t count = 1;

	if (!a || !id || !*id)
		return 1;
	h = att_id_key(id);
	pthread_mutex_lock(&a->mu);
	i = att_find(a, h);
	if (i >= 0) {
		if (a->e[i].count < UINT32_MAX)
			a->e[i].count++;
		count = a->e[i].count;
	} else {
		size_t slot;
		struct att_entry *e;

		if (a->used < a->cap) {
			slot = a->used++;
		} else {
			slot = a->oldest;
			a->oldest = (a->oldest + 1) % a->cap;
			att_unlink(a, (int32_t)slot);
		}
		e = &a->e[slot];
		e->hash = h;
		e->count = 1;
		e->next = a->bucket[h & (a->nbuckets - 1)];
		a->bucket[h & (a->nbuckets - 1)] = (int32_t)slot;
	}
	pthread_mutex_unlock(&a->mu);
	return count;
}

uint32_t attempts_get(struct attempts *a, const char *id)
{
	uint64_t h;
	int32_t i;
	uint32_t count = 0;

	if (!a || !id || !*id)
		return 0;
	h = att_id_key(id);
	pthread_mutex_lock(&a->mu);
	i = att_find(a, h);
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
