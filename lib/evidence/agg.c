/*
 * agg.c - per-second outcome aggregation on the client side (see agg.h).
 * A chained hash of rows keyed by the full bucket key; a flush moves the rows
 * out in one sorted array so a batch is deterministic and compact.
 */
#include "evidence/agg.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "conform.pb-c.h"
#include "evidence/outcome.h"
#include "base/util.h"

#define AGG_NBUCKETS 1024
#define AGG_MAX_CHECKS 64

struct agg_entry {
	struct agg_entry *next;
	uint64_t hash;
	struct agg_row row;
};

struct agg_check_total {
	char check[32];
	uint64_t requests, ok, failed;
	struct hist h;
};

struct agg {
	pthread_mutex_t mu;
	struct agg_entry *bucket[AGG_NBUCKETS];
	size_t nrows;
	size_t nchecks;
	struct agg_check_total totals[AGG_MAX_CHECKS];
};

struct agg *agg_new(void)
{
	struct agg *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	pthread_mutex_init(&a->mu, NULL);
	return a;
}

static void agg_clear_locked(struct agg *a)
{
	size_t i;

	for (i = 0; i < AGG_NBUCKETS; i++) {
		struct agg_entry *e = a->bucket[i], *nx;

		for (; e; e = nx) {
			nx = e->next;
			free(e);
		}
		a->bucket[i] = NULL;
	}
	a->nrows = 0;
}

void agg_free(struct agg *a)
{
	if (!a)
		return;
	agg_clear_locked(a);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= s[i];
		h *= 1099511628211ull;
	}
	return h;
}

static uint64_t key_hash(const struct agg_row *k)
{
	uint64_t h = 1469598103934665603ull;

	h = mix(h, k->check, strlen(k->check) + 1);
	h = mix(h, &k->outcome, sizeof(k->outcome));
	h = mix(h, &k->code, sizeof(k->code));
	h = mix(h, k->backend, strlen(k->backend) + 1);
	h = mix(h, k->identity, strlen(k->identity) + 1);
	h = mix(h, &k->second, sizeof(k->second));
	return h;
}

static int key_eq(const struct agg_row *a, const struct agg_row *b)
{
	return a->outcome == b->outcome && a->code == b->code && a->second == b->second &&
	       !strcmp(a->check, b->check) && !strcmp(a->backend, b->backend) &&
	       !strcmp(a->identity, b->identity);
}

static void count_total(struct agg *a, const char *check, unsigned outcome, uint64_t us)
{
	size_t i;
	struct agg_check_total *t = NULL;

	for (i = 0; i < a->nchecks; i++) {
		if (!strcmp(a->totals[i].check, check)) {
			t = &a->totals[i];
			break;
		}
	}
	if (!t) {
		if (a->nchecks == AGG_MAX_CHECKS)
			return;
		t = &a->totals[a->nchecks++];
		str_copy(t->check, sizeof(t->check), check);
	}
	t->requests++;
	hist_add(&t->h, us);
	if (outcome_info(outcome)->ok && outcome_valid(outcome))
		t->ok++;
	else
		t->failed++;
}

int agg_add(struct agg *a, const char *check, unsigned outcome, int code,
	    const char *backend, const char *identity, int64_t second,
	    uint64_t latency_us, unsigned attempt)
{
	struct agg_row key;
	struct agg_entry *e;
	uint64_t h;
	int rc = 0;

	/* only the key fields are set: the histogram is not needed for lookup */
	str_copy(key.check, sizeof(key.check), check ? check : "");
	str_copy(key.backend, sizeof(key.backend), backend ? backend : "");
	str_copy(key.identity, sizeof(key.identity), identity ? identity : "");
	key.outcome = outcome;
	key.code = code;
	key.second = second;
	h = key_hash(&key);

	pthread_mutex_lock(&a->mu);
	count_total(a, key.check, outcome, latency_us);
	for (e = a->bucket[h % AGG_NBUCKETS]; e; e = e->next)
		if (e->hash == h && key_eq(&e->row, &key))
			break;
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e) {
			rc = -1;
			goto out;
		}
		e->hash = h;
		memcpy(e->row.check, key.check, sizeof(key.check));
		memcpy(e->row.backend, key.backend, sizeof(key.backend));
		memcpy(e->row.identity, key.identity, sizeof(key.identity));
		e->row.outcome = outcome;
		e->row.code = code;
		e->row.second = second;
		hist_init(&e->row.h);
		e->next = a->bucket[h % AGG_NBUCKETS];
		a->bucket[h % AGG_NBUCKETS] = e;
		a->nrows++;
	}
	hist_add(&e->row.h, latency_us);
	if (attempt > 0)
		e->row.attempts[attempt > 8 ? 7 : attempt - 1]++;
out:
	pthread_mutex_unlock(&a->mu);
	return rc;
}

static int row_cmp(const void *pa, const void *pb)
{
	const struct agg_row *a = pa, *b = pb;
	int c;

	if (a->second != b->second)
		return a->second < b->second ? -1 : 1;
	if ((c = strcmp(a->check, b->check)))
		return c;
	if (a->outcome != b->outcome)
		return a->outcome < b->outcome ? -1 : 1;
	if (a->code != b->code)
		return a->code < b->code ? -1 : 1;
	if ((c = strcmp(a->backend, b->backend)))
		return c;
	return strcmp(a->identity, b->identity);
}

int agg_flush(struct agg *a, const char *workload, struct agg_row **rows, size_t *n)
{
	struct agg_row *out = NULL;
	size_t i, k = 0;

	*rows = NULL;
	*n = 0;
	pthread_mutex_lock(&a->mu);
	if (!a->nrows) {
		pthread_mutex_unlock(&a->mu);
		return 0;
	}
	out = malloc(a->nrows * sizeof(*out));
	if (!out) {
		pthread_mutex_unlock(&a->mu);
		return -1;
	}
	for (i = 0; i < AGG_NBUCKETS; i++) {
		struct agg_entry *e;

		for (e = a->bucket[i]; e; e = e->next) {
			out[k] = e->row;
			str_copy(out[k].workload, sizeof(out[k].workload), workload ? workload : "");
			k++;
		}
	}
	agg_clear_locked(a);
	pthread_mutex_unlock(&a->mu);
	qsort(out, k, sizeof(*out), row_cmp);
	*rows = out;
	*n = k;
	return 0;
}

size_t agg_pending(struct agg *a)
{
	size_t n;

	pthread_mutex_lock(&a->mu);
	n = a->nrows;
	pthread_mutex_unlock(&a->mu);
	return n;
}

size_t agg_totals(struct agg *a, struct agg_total *out, size_t max)
{
	size_t i, n;

	pthread_mutex_lock(&a->mu);
	n = a->nchecks;
	for (i = 0; i < n && i < max; i++) {
		out[i].check = a->totals[i].check;
		out[i].requests = a->totals[i].requests;
		out[i].ok = a->totals[i].ok;
		out[i].failed = a->totals[i].failed;
		out[i].p50_us = hist_quantile(&a->totals[i].h, 0.5);
		out[i].p99_us = hist_quantile(&a->totals[i].h, 0.99);
		out[i].max_us = a->totals[i].h.max_us;
	}
	pthread_mutex_unlock(&a->mu);
	return n;
}

/* Storage for one Bucket that points into row and these arrays. */
struct agg_bucket_buf {
	Conform__V1__Bucket b;
	uint32_t idx[HIST_BUCKETS];
	uint64_t cnt[HIST_BUCKETS];
};

static void fill_bucket(struct agg_bucket_buf *bb, const struct agg_row *r)
{
	size_t na = 8;

	conform__v1__bucket__init(&bb->b);
	bb->b.check = (char *)r->check;
	bb->b.outcome = r->outcome;
	bb->b.code = r->code;
	bb->b.backend = (char *)r->backend;
	bb->b.identity = (char *)r->identity;
	bb->b.second = r->second;
	bb->b.count = r->h.count;
	bb->b.latency_sum_us = r->h.sum_us;
	bb->b.latency_max_us = r->h.max_us;
	bb->b.n_hist_index = hist_to_sparse(&r->h, bb->idx, bb->cnt);
	bb->b.n_hist_count = bb->b.n_hist_index;
	bb->b.hist_index = bb->idx;
	bb->b.hist_count = bb->cnt;
	while (na > 0 && r->attempts[na - 1] == 0)
		na--;
	bb->b.n_attempts = na;
	bb->b.attempts = (uint64_t *)r->attempts;
}

size_t agg_row_packed_size(const struct agg_row *row)
{
	struct agg_bucket_buf *bb = malloc(sizeof(*bb));
	size_t n;

	if (!bb)
		return 0;
	fill_bucket(bb, row);
	n = conform__v1__bucket__get_packed_size(&bb->b);
	free(bb);
	return n + 4;   /* field tag and length prefix inside Batch */
}

uint8_t *agg_pack_batch(const char *workload, const char *token, uint64_t instance,
			uint64_t seq, const struct agg_row *rows, size_t n, size_t *len)
{
	Conform__V1__Batch batch;
	struct agg_bucket_buf *bbs = NULL;
	Conform__V1__Bucket **ptrs = NULL;
	uint8_t *buf = NULL;
	size_t i, sz;

	*len = 0;
	if (n) {
		bbs = malloc(n * sizeof(*bbs));
		ptrs = malloc(n * sizeof(*ptrs));
		if (!bbs || !ptrs)
			goto out;
	}
	conform__v1__batch__init(&batch);
	batch.workload = (char *)(workload ? workload : "");
	batch.token = (char *)(token ? token : "");
	batch.instance = instance;
	batch.seq = seq;
	for (i = 0; i < n; i++) {
		fill_bucket(&bbs[i], &rows[i]);
		ptrs[i] = &bbs[i].b;
	}
	batch.n_buckets = n;
	batch.buckets = ptrs;
	sz = conform__v1__batch__get_packed_size(&batch);
	buf = malloc(sz ? sz : 1);
	if (!buf)
		goto out;
	*len = conform__v1__batch__pack(&batch, buf);
out:
	free(bbs);
	free(ptrs);
	return buf;
}
