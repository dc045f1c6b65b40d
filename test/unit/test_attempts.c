/*
 * test_attempts.c - the bounded request-id counter: counts per id, eviction
 * of the oldest id when full, and correctness under concurrent hits.
 */
#include <pthread.h>

#include "evidence/attempts.h"
#include "harness.h"

TEST(counts_per_id)
{
	struct attempts *a = attempts_new(16);

	ASSERT(a);
	ASSERT_EQ(attempts_hit(a, "r-1"), 1);
	ASSERT_EQ(attempts_hit(a, "r-1"), 2);
	ASSERT_EQ(attempts_hit(a, "r-2"), 1);
	ASSERT_EQ(attempts_hit(a, "r-1"), 3);
	ASSERT_EQ(attempts_get(a, "r-1"), 3);
	ASSERT_EQ(attempts_get(a, "r-3"), 0);
	ASSERT_EQ(attempts_size(a), 2);
	/* empty id: never remembered */
	ASSERT_EQ(attempts_hit(a, ""), 1);
	ASSERT_EQ(attempts_hit(a, ""), 1);
	ASSERT_EQ(attempts_hit(a, NULL), 1);
	ASSERT_EQ(attempts_size(a), 2);
	attempts_free(a);
}

TEST(oldest_forgotten_first)
{
	struct attempts *a = attempts_new(3);
	char id[32];
	int i;

	ASSERT(a);
	attempts_hit(a, "a");
	attempts_hit(a, "b");
	attempts_hit(a, "c");
	attempts_hit(a, "a");          /* a is hit again but still the oldest inserted */
	ASSERT_EQ(attempts_hit(a, "d"), 1);   /* evicts a */
	ASSERT_EQ(attempts_get(a, "a"), 0);
	ASSERT_EQ(attempts_get(a, "b"), 1);
	ASSERT_EQ(attempts_hit(a, "e"), 1);   /* evicts b */
	ASSERT_EQ(attempts_get(a, "b"), 0);
	ASSERT_EQ(attempts_get(a, "c"), 1);
	ASSERT_EQ(attempts_get(a, "d"), 1);
	ASSERT_EQ(attempts_get(a, "e"), 1);
	ASSERT_EQ(attempts_size(a), 3);
	/* a forgotten id starts over */
	ASSERT_EQ(attempts_hit(a, "a"), 1);
	/* churn through many ids: size stays at the cap, latest ones are known */
	for (i = 0; i < 10000; i++) {
		snprintf(id, sizeof(id), "x-%d", i);
		ASSERT_EQ(attempts_hit(a, id), 1);
	}
	ASSERT_EQ(attempts_size(a), 3);
	ASSERT_EQ(attempts_get(a, "x-9999"), 1);
	ASSERT_EQ(attempts_get(a, "x-9997"), 1);
	ASSERT_EQ(attempts_get(a, "x-9996"), 0);
	attempts_free(a);
}

TEST(long_ids_are_bounded)
{
	struct attempts *a = attempts_new(4);
	char big[1000], big2[1000];

	ASSERT(a);
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big2, big, sizeof(big));
	big2[500] = 'z';               /* differs only after the first 255 bytes */
	ASSERT_EQ(attempts_hit(a, big), 1);
	ASSERT_EQ(attempts_hit(a, big2), 2);
	attempts_free(a);
}

static struct attempts *shared;

static void *hammer(void *arg)
{
	char id[32];
	int i;

	(void)arg;
	for (i = 0; i < 20000; i++) {
		snprintf(id, sizeof(id), "id-%d", i % 100);
		attempts_hit(shared, id);
	}
	return NULL;
}

TEST(thread_safe)
{
	pthread_t th[4];
	int i;

	shared = attempts_new(1000);
	ASSERT(shared);
	for (i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, hammer, NULL);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	/* 4 threads x 20000 hits over 100 ids = 800 each */
	ASSERT_EQ(attempts_get(shared, "id-0"), 800);
	ASSERT_EQ(attempts_get(shared, "id-99"), 800);
	ASSERT_EQ(attempts_size(shared), 100);
	attempts_free(shared);
}

TEST(bad_capacity)
{
	ASSERT(attempts_new(0) == NULL);
	attempts_free(NULL);
}

int main(void)
{
	RUN(counts_per_id);
	RUN(oldest_forgotten_first);
	RUN(long_ids_are_bounded);
	RUN(thread_safe);
	RUN(bad_capacity);
	TEST_MAIN_END();
}
