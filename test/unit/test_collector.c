/*
 * test_collector.c - the Collector server in-process against a raw gRPC
 * client: valid batches are acked after commit, duplicates are acked but not
 * stored twice, bad tokens / bad histograms / garbage are rejected and counted
 * while the stream keeps serving, a failed commit cancels the stream so the
 * client resends after reconnecting; failing-request samples are validated
 * and round-trip into the store once, even when the batch is resent.
 */
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/support/time.h>
#include <unistd.h>

#include "evidence/agg.h"
#include "ingest/collector.h"
#include "conform.pb-c.h"
#include "harness.h"
#include "evidence/outcome.h"
#include "store/store.h"
#include <pthread.h>
#include <time.h>
#include "base/util.h"

#define TOKEN "0123456789abcdef0123456789abcdef"

/* ---- commit side: dedupe in memory ---- */
struct seen { char workload[64]; uint64_t instance, seq; };
static struct seen seen[256];
static size_t nseen;
static uint64_t stored_requests;
static size_t commits;
static uint64_t fail_seq;      /* commit of this seq fails once */

static int commit_cb(void *ctx, const char *workload, uint64_t instance, uint64_t seq,
		     const struct agg_row *rows, size_t n, const struct store_sample *samples,
		     size_t nsamples)
{
	size_t i;

	(void)ctx;
	(void)samples;
	(void)nsamples;
	commits++;
	if (fail_seq && seq == fail_seq) {
		fail_seq = 0;
		return -1;
	}
	for (i = 0; i < nseen; i++)
		if (!strcmp(seen[i].workload, workload) && seen[i].instance == instance &&
		    seen[i].seq == seq)
			return 0;
	if (nseen < 256) {
		snprintf(seen[nseen].workload, sizeof(seen[nseen].workload), "%s", workload);
		seen[nseen].instance = instance;
		seen[nseen].seq = seq;
		nseen++;
	}
	for (i = 0; i < n; i++)
		stored_requests += rows[i].h.count;
	return 1;
}

/* ---- a raw client stream ---- */
struct tc {
	grpc_channel *ch;
	grpc_completion_queue *cq;
	grpc_call *call;
	grpc_metadata_array md, trailing;
	grpc_status_code status;
	grpc_slice details;
	int status_done, md_asked;
	grpc_byte_buffer *recv;
};

enum { TAG_STATUS = 1, TAG_OP = 2 };

/* Wait for TAG_OP (or for the status when want_status); 0 ok, -1 timeout/fail. */
static int tc_wait(struct tc *t, int want_status, int ms)
{
	gpr_timespec dl = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
				       gpr_time_from_millis(ms, GPR_TIMESPAN));

	for (;;) {
		grpc_event ev = grpc_completion_queue_next(t->cq, dl, NULL);

		if (ev.type == GRPC_QUEUE_TIMEOUT)
			return -1;
		if (ev.type != GRPC_OP_COMPLETE)
			return -1;
		if ((intptr_t)ev.tag == TAG_STATUS) {
			t->status_done = 1;
			if (want_status)
				return 0;
			continue;
		}
		if (!want_status)
			return ev.success ? 0 : -1;
	}
}

static int tc_open(struct tc *t, int port)
{
	char target[64];
	grpc_channel_credentials *cr = grpc_insecure_credentials_create();
	grpc_op ops[1];
	grpc_slice method = grpc_slice_from_static_string("/conform.v1.Collector/Report");

	memset(t, 0, sizeof(*t));
	snprintf(target, sizeof(target), "127.0.0.1:%d", port);
	t->ch = grpc_channel_create(target, cr, NULL);
	grpc_channel_credentials_release(cr);
	t->cq = grpc_completion_queue_create_for_next(NULL);
	t->call = grpc_channel_create_call(t->ch, NULL, 0, t->cq, method, NULL,
					   gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
							gpr_time_from_seconds(20, GPR_TIMESPAN)),
					   NULL);
	grpc_metadata_array_init(&t->md);
	grpc_metadata_array_init(&t->trailing);
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[0].data.recv_status_on_client.trailing_metadata = &t->trailing;
	ops[0].data.recv_status_on_client.status = &t->status;
	ops[0].data.recv_status_on_client.status_details = &t->details;
	if (grpc_call_start_batch(t->call, ops, 1, (void *)(intptr_t)TAG_STATUS, NULL))
		return -1;
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	if (grpc_call_start_batch(t->call, ops, 1, (void *)(intptr_t)TAG_OP, NULL))
		return -1;
	return tc_wait(t, 0, 5000);
}

static int tc_send(struct tc *t, const void *p, size_t n)
{
	grpc_slice sl = grpc_slice_from_copied_buffer(p, n);
	grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&sl, 1);
	grpc_op op;
	int rc;

	grpc_slice_unref(sl);
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_SEND_MESSAGE;
	op.data.send_message.send_message = bb;
	rc = grpc_call_start_batch(t->call, &op, 1, (void *)(intptr_t)TAG_OP, NULL) ? -1
		: tc_wait(t, 0, 5000);
	grpc_byte_buffer_destroy(bb);
	return rc;
}

/* Receive one Ack (caller frees), NULL on end of stream or timeout. */
static Conform__V1__Ack *tc_recv_ack(struct tc *t)
{
	grpc_op ops[2];
	size_t n = 0;
	grpc_byte_buffer_reader rd;
	grpc_slice sl;
	Conform__V1__Ack *a;

	memset(ops, 0, sizeof(ops));
	if (!t->md_asked) {
		ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
		ops[n].data.recv_initial_metadata.recv_initial_metadata = &t->md;
		n++;
		t->md_asked = 1;
	}
	ops[n].op = GRPC_OP_RECV_MESSAGE;
	ops[n].data.recv_message.recv_message = &t->recv;
	n++;
	t->recv = NULL;
	if (grpc_call_start_batch(t->call, ops, n, (void *)(intptr_t)TAG_OP, NULL) ||
	    tc_wait(t, 0, 5000) < 0 || !t->recv)
		return NULL;
	grpc_byte_buffer_reader_init(&rd, t->recv);
	sl = grpc_byte_buffer_reader_readall(&rd);
	grpc_byte_buffer_reader_destroy(&rd);
	grpc_byte_buffer_destroy(t->recv);
	t->recv = NULL;
	a = conform__v1__ack__unpack(NULL, GRPC_SLICE_LENGTH(sl), GRPC_SLICE_START_PTR(sl));
	grpc_slice_unref(sl);
	return a;
}

static void tc_close(struct tc *t)
{
	grpc_op op;

	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	if (!t->status_done &&
	    grpc_call_start_batch(t->call, &op, 1, (void *)(intptr_t)TAG_OP, NULL) == GRPC_CALL_OK)
		tc_wait(t, 0, 5000);
	if (!t->status_done && tc_wait(t, 1, 5000) < 0) {
		grpc_call_cancel(t->call, NULL);
		tc_wait(t, 1, 5000);
	}
	grpc_call_unref(t->call);
	grpc_channel_destroy(t->ch);
	grpc_completion_queue_shutdown(t->cq);
	while (grpc_completion_queue_next(t->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC),
					  NULL).type != GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(t->cq);
	grpc_metadata_array_destroy(&t->md);
	grpc_metadata_array_destroy(&t->trailing);
	grpc_slice_unref(t->details);
}

/* A packed Batch with `n` requests in one OK bucket. */
static uint8_t *mk_batch(const char *token, uint64_t seq, int n, size_t *len)
{
	struct agg *a = agg_new();
	struct agg_row *rows;
	size_t nr;
	uint8_t *buf;
	int i;

	for (i = 0; i < n; i++)
		agg_add(a, "http.basic", OUT_OK, 200, "v1", "", 1000, 100 + (uint64_t)i, 1);
	agg_flush(a, "http-client", &rows, &nr);
	buf = agg_pack_batch("http-client", token, 0x1234, seq, rows, nr, len);
	free(rows);
	agg_free(a);
	return buf;
}

static struct collector *coll;
static int port;

static int send_batch_get_ack(struct tc *t, uint8_t *buf, size_t len, Conform__V1__Ack **ack)
{
	int rc = tc_send(t, buf, len);

	free(buf);
	if (rc < 0)
		return -1;
	*ack = tc_recv_ack(t);
	return *ack ? 0 : -1;
}

TEST(start)
{
	char err[256];

	coll = collector_start("127.0.0.1:0", TOKEN, commit_cb, NULL, &port, err, sizeof(err));
	if (!coll)
		H_FAIL("collector_start: %s", err);
	ASSERT(port > 0);
}

TEST(valid_batches_acked_after_commit)
{
	struct tc t;
	Conform__V1__Ack *ack;
	struct collector_stats st;
	uint8_t *b;
	size_t len;
	uint64_t s;

	ASSERT(coll);
	ASSERT_EQ(tc_open(&t, port), 0);
	for (s = 1; s <= 3; s++) {
		b = mk_batch(TOKEN, s, 10, &len);
		ASSERT_EQ(send_batch_get_ack(&t, b, len, &ack), 0);
		ASSERT_EQ(ack->ok, 1);
		ASSERT_UEQ(ack->seq, s);
		ASSERT_UEQ(ack->instance, 0x1234);
		/* the ack came after the commit returned */
		ASSERT_EQ(nseen, s);
		conform__v1__ack__free_unpacked(ack, NULL);
	}
	ASSERT_UEQ(stored_requests, 30);
	/* duplicate: acked ok, commit says dup, nothing stored again */
	b = mk_batch(TOKEN, 2, 10, &len);
	ASSERT_EQ(send_batch_get_ack(&t, b, len, &ack), 0);
	ASSERT_EQ(ack->ok, 1);
	ASSERT_UEQ(ack->seq, 2);
	conform__v1__ack__free_unpacked(ack, NULL);
	ASSERT_UEQ(stored_requests, 30);
	collector_get_stats(coll, &st);
	ASSERT_UEQ(st.batches, 3);
	ASSERT_UEQ(st.duplicates, 1);
	ASSERT_UEQ(st.rejected, 0);
	tc_close(&t);
	ASSERT_EQ(t.status, GRPC_STATUS_OK);
}

TEST(rejects_bad_token_histogram_garbage)
{
	struct tc t;
	Conform__V1__Ack *ack;
	struct collector_stats st0, st;
	size_t len, c0;
	uint8_t *b;
	Conform__V1__Batch *bt;
	static const uint8_t garbage[] = { 0xff, 0xff, 0xff, 0xff, 0x07, 0x01, 0x02 };

	ASSERT(coll);
	collector_get_stats(coll, &st0);
	c0 = commits;
	ASSERT_EQ(tc_open(&t, port), 0);

	b = mk_batch("wrong-token", 10, 5, &len);
	ASSERT_EQ(send_batch_get_ack(&t, b, len, &ack), 0);
	ASSERT_EQ(ack->ok, 0);
	ASSERT_UEQ(ack->seq, 10);
	ASSERT_CONTAINS(ack->error, "token");
	conform__v1__ack__free_unpacked(ack, NULL);

	/* malformed histogram: indexes not ascending */
	b = mk_batch(TOKEN, 11, 50, &len);
	bt = conform__v1__batch__unpack(NULL, len, b);
	free(b);
	ASSERT(bt && bt->n_buckets == 1 && bt->buckets[0]->n_hist_index >= 2);
	bt->buckets[0]->hist_index[1] = bt->buckets[0]->hist_index[0];
	len = conform__v1__batch__get_packed_size(bt);
	b = malloc(len);
	conform__v1__batch__pack(bt, b);
	ASSERT_EQ(send_batch_get_ack(&t, b, len, &ack), 0);
	ASSERT_EQ(ack->ok, 0);
	ASSERT_CONTAINS(ack->error, "histogram");
	conform__v1__ack__free_unpacked(ack, NULL);

	/* unknown outcome */
	bt->buckets[0]->hist_index[1] = bt->buckets[0]->hist_index[0] + 1;
	bt->buckets[0]->outcome = 99;
	len = conform__v1__batch__get_packed_size(bt);
	b = malloc(len);
	conform__v1__batch__pack(bt, b);
	ASSERT_EQ(send_batch_get_ack(&t, b, len, &ack), 0);
	ASSERT_EQ(ack->ok, 0);
	ASSERT_CONTAINS(ack->error, "outcome");
	conform__v1__ack__free_unpacked(ack, NULL);
	conform__v1__batch__free_unpacked(bt, NULL);

	/* not protobuf at all */
	ASSERT_EQ(tc_send(&t, garbage, sizeof(garbage)), 0);
	ack = tc_recv_ack(&t);
	ASSERT(ack);
	ASSERT_EQ(ack->ok, 0);
	conform__v1__ack__free_unpacked(ack, NULL);

	/* the same stream still serves */
	b = mk_batch(TOKEN, 12, 3, &len);
	ASSERT_EQ(send_batch_get_ack(&t, b, len, &ack), 0);
	ASSERT_EQ(ack->ok, 1);
	ASSERT_UEQ(ack->seq, 12);
	conform__v1__ack__free_unpacked(ack, NULL);
	tc_close(&t);

	collector_get_stats(coll, &st);
	ASSERT_UEQ(st.rejected - st0.rejected, 4);
	ASSERT_UEQ(st.batches - st0.batches, 1);
	ASSERT_EQ(commits - c0, 1);   /* rejected batches never reach commit */
}

TEST(failed_commit_cancels_stream_and_resend_works)
{
	struct tc t;
	Conform__V1__Ack *ack;
	uint8_t *b;
	size_t len;

	ASSERT(coll);
	fail_seq = 20;
	ASSERT_EQ(tc_open(&t, port), 0);
	b = mk_batch(TOKEN, 20, 4, &len);
	ASSERT_EQ(tc_send(&t, b, len), 0);
	free(b);
	ack = tc_recv_ack(&t);
	ASSERT(ack == NULL);          /* no ack: the stream ended */
	ASSERT_EQ(tc_wait(&t, 1, 5000) == 0 || t.status_done, 1);
	ASSERT_EQ(t.status, GRPC_STATUS_UNAVAILABLE);
	tc_close(&t);
	/* reconnect and resend: now stored */
	ASSERT_EQ(tc_open(&t, port), 0);
	b = mk_batch(TOKEN, 20, 4, &len);
	ASSERT_EQ(send_batch_get_ack(&t, b, len, &ack), 0);
	ASSERT_EQ(ack->ok, 1);
	conform__v1__ack__free_unpacked(ack, NULL);
	tc_close(&t);
}

TEST(many_streams)
{
	struct tc t[8];
	Conform__V1__Ack *ack;
	struct collector_stats st;
	uint8_t *b;
	size_t len;
	int i;

	ASSERT(coll);
	for (i = 0; i < 8; i++)
		ASSERT_EQ(tc_open(&t[i], port), 0);
	for (i = 0; i < 8; i++) {
		b = mk_batch(TOKEN, 100 + (uint64_t)i, 1, &len);
		ASSERT_EQ(send_batch_get_ack(&t[i], b, len, &ack), 0);
		ASSERT_EQ(ack->ok, 1);
		conform__v1__ack__free_unpacked(ack, NULL);
	}
	for (i = 0; i < 8; i++)
		tc_close(&t[i]);
	collector_get_stats(coll, &st);
	ASSERT(st.streams >= 12);
}

TEST(stop_with_open_stream)
{
	struct tc t;

	Conform__V1__Ack *ack;
	uint8_t *b;
	size_t len;
	int64_t t0;

	ASSERT(coll);
	ASSERT_EQ(tc_open(&t, port), 0);
	/* one acked batch first, so the stream is fully established */
	b = mk_batch(TOKEN, 200, 1, &len);
	ASSERT_EQ(send_batch_get_ack(&t, b, len, &ack), 0);
	conform__v1__ack__free_unpacked(ack, NULL);
	t0 = mono_ms();
	collector_stop(coll);
	ASSERT(mono_ms() - t0 < 2000);
	coll = NULL;
	ASSERT_EQ(tc_wait(&t, 1, 5000) == 0 || t.status_done, 1);
	ASSERT(t.status != GRPC_STATUS_OK);
	tc_close(&t);
}

/* A Batch holding only samples, packed: what the reporter appends to the
 * packed rows (protobuf merges concatenated messages). */
static uint8_t *mk_samples(size_t n, const char *rid, unsigned outcome, size_t *len)
{
	Conform__V1__Sample sm[70], *p[70];
	Conform__V1__Batch b;
	uint8_t *buf;
	size_t i;

	conform__v1__batch__init(&b);
	for (i = 0; i < n && i < 70; i++) {
		conform__v1__sample__init(&sm[i]);
		sm[i].check = (char *)"http.basic";
		sm[i].request_id = (char *)rid;
		sm[i].outcome = outcome;
		sm[i].code = 503;
		sm[i].latency_us = 1500 + i;
		sm[i].backend = (char *)"v1";
		sm[i].identity = (char *)"spiffe://cluster.local/ns/conform/sa/http-client";
		sm[i].ts_ms = 1000000 + (int64_t)i;
		p[i] = &sm[i];
	}
	b.n_samples = i;
	b.samples = p;
	*len = conform__v1__batch__get_packed_size(&b);
	buf = malloc(*len + 1);
	if (buf)
		conform__v1__batch__pack(&b, buf);
	return buf;
}

/* rows batch + samples appended, unpacked and validated: 0 valid, -1 not */
static int validate_with(size_t nsamples, const char *rid, unsigned outcome,
			 struct agg_row **rows, size_t *nrows, struct store_sample **sm,
			 size_t *nsm, char *err, size_t errlen)
{
	size_t l1, l2;
	uint8_t *a = mk_batch(TOKEN, 1, 3, &l1), *b = mk_samples(nsamples, rid, outcome, &l2);
	uint8_t *both = malloc(l1 + l2 + 1);
	Conform__V1__Batch *m;
	int rc = -1;

	if (!a || !b || !both)
		goto out;
	memcpy(both, a, l1);
	memcpy(both + l1, b, l2);
	m = conform__v1__batch__unpack(NULL, l1 + l2, both);
	if (!m)
		goto out;
	rc = collector_validate_batch(m, TOKEN, rows, nrows, sm, nsm, err, errlen);
	conform__v1__batch__free_unpacked(m, NULL);
out:
	free(a);
	free(b);
	free(both);
	return rc;
}

TEST(samples_validated_and_stored_once)
{
	struct agg_row *rows = NULL;
	struct store_sample *sm = NULL, got[8];
	size_t nrows = 0, nsm = 0;
	struct store *s = NULL;
	char err[256], path[128], rid[200];
	int k;

	/* appended to a packed Batch, samples join it; rows stay */
	ASSERT_EQ(validate_with(5, "http.basic.http-client.2a.7.1000000", OUT_HTTP_5XX, &rows,
				&nrows, &sm, &nsm, err, sizeof(err)), 0);
	ASSERT_EQ(nrows, 1);
	ASSERT_EQ(nsm, 5);
	ASSERT_STR_EQ(sm[0].request_id, "http.basic.http-client.2a.7.1000000");
	ASSERT_STR_EQ(sm[0].workload, "http-client");
	ASSERT_STR_EQ(sm[0].backend, "v1");
	ASSERT_EQ(sm[4].latency_us, 1504);

	/* into a store, in the batch's transaction; a resend stores nothing */
	snprintf(path, sizeof(path), "/tmp/conform-test-coll-%d.db", (int)getpid());
	unlink(path);
	ASSERT_EQ(store_open(path, 1, &s, err, sizeof(err)), 0);
	ASSERT_EQ(store_put_batch_samples(s, "http-client", 0x1234, 1, rows, nrows, sm, nsm), 1);
	ASSERT_EQ(store_put_batch_samples(s, "http-client", 0x1234, 1, rows, nrows, sm, nsm), 0);
	k = store_get_samples(s, "http.basic", 0, 2000000, got, 8);
	ASSERT_EQ(k, 5);
	ASSERT_STR_EQ(got[0].request_id, "http.basic.http-client.2a.7.1000000");
	ASSERT_EQ(got[0].outcome, OUT_HTTP_5XX);
	ASSERT_EQ(got[0].code, 503);
	ASSERT_EQ(got[0].ts_ms, 1000000);
	ASSERT_STR_EQ(got[0].identity, "spiffe://cluster.local/ns/conform/sa/http-client");
	ASSERT_EQ(store_get_samples(s, "http.basic", 1000001, 1000003, got, 8), 2);
	ASSERT_EQ(store_get_samples(s, "grpc.basic", 0, 2000000, got, 8), 0);
	store_close(s);
	unlink(path);
	free(rows);
	free(sm);

	/* the limits: 64 samples, strings of 127 bytes, a known outcome */
	ASSERT_EQ(validate_with(64, "r", OUT_TIMEOUT, &rows, &nrows, &sm, &nsm, err,
				sizeof(err)), 0);
	ASSERT_EQ(nsm, 64);
	free(rows);
	free(sm);
	ASSERT_EQ(validate_with(65, "r", OUT_TIMEOUT, &rows, &nrows, &sm, &nsm, err,
				sizeof(err)), -1);
	ASSERT_CONTAINS(err, "samples: 65 > 64");
	ASSERT(!rows && !sm);
	memset(rid, 'x', 127);
	rid[127] = '\0';
	ASSERT_EQ(validate_with(1, rid, OUT_TIMEOUT, &rows, &nrows, &sm, &nsm, err,
				sizeof(err)), 0);
	ASSERT_EQ(strlen(sm[0].request_id), 127);
	free(rows);
	free(sm);
	rid[127] = 'x';
	rid[128] = '\0';
	ASSERT_EQ(validate_with(1, rid, OUT_TIMEOUT, &rows, &nrows, &sm, &nsm, err,
				sizeof(err)), -1);
	ASSERT_CONTAINS(err, "sample 0: string empty or too long");
	ASSERT_EQ(validate_with(1, "", OUT_TIMEOUT, &rows, &nrows, &sm, &nsm, err,
				sizeof(err)), -1);
	ASSERT_EQ(validate_with(1, "r", 999, &rows, &nrows, &sm, &nsm, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "sample 0: unknown outcome 999");
}

/* ---- group commit: a slow group callback and eight streams at once ---- */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t g_committed[16];   /* seq -> 1 once the group holding it returned */
static size_t g_groups, g_max_group;

static void group_cb(void *ctx, struct store_batch *bs, size_t n)
{
	struct timespec ts = { 0, 50 * 1000000L };   /* a slow fsync */
	size_t i;

	(void)ctx;
	nanosleep(&ts, NULL);
	pthread_mutex_lock(&g_mu);
	for (i = 0; i < n; i++) {
		bs[i].rc = 1;
		if (bs[i].seq < 16)
			g_committed[bs[i].seq] = 1;
	}
	g_groups++;
	if (n > g_max_group)
		g_max_group = n;
	pthread_mutex_unlock(&g_mu);
}

TEST(group_commit_acks_after_the_group)
{
	struct collector *gc;
	struct tc t[8];
	Conform__V1__Ack *ack;
	char err[256];
	uint8_t *b;
	size_t len;
	int gport, i, committed;

	gc = collector_start_group("127.0.0.1:0", TOKEN, group_cb, NULL, &gport, err,
				   sizeof(err));
	if (!gc)
		H_FAIL("collector_start_group: %s", err);
	for (i = 0; i < 8; i++)
		ASSERT_EQ(tc_open(&t[i], gport), 0);
	/* all eight sent before any ack is read: they arrive while the first
	 * group is being committed, so the next group holds more than one */
	for (i = 0; i < 8; i++) {
		b = mk_batch(TOKEN, 1 + (uint64_t)i, 1, &len);
		ASSERT_EQ(tc_send(&t[i], b, len), 0);
		free(b);
	}
	for (i = 0; i < 8; i++) {
		ack = tc_recv_ack(&t[i]);
		ASSERT(ack != NULL);
		ASSERT_EQ(ack->ok, 1);
		ASSERT_UEQ(ack->seq, 1 + (uint64_t)i);
		pthread_mutex_lock(&g_mu);
		committed = (int)g_committed[ack->seq];
		pthread_mutex_unlock(&g_mu);
		ASSERT_EQ(committed, 1);   /* no ack before its group's commit returned */
		conform__v1__ack__free_unpacked(ack, NULL);
	}
	for (i = 0; i < 8; i++)
		tc_close(&t[i]);
	collector_stop(gc);
	ASSERT(g_groups < 8);
	ASSERT(g_max_group > 1);
}

TEST(bind_failure)
{
	char err[256];
	struct collector *c = collector_start("256.0.0.1:1", TOKEN, commit_cb, NULL, NULL,
					      err, sizeof(err));

	ASSERT(c == NULL);
	ASSERT_CONTAINS(err, "bind");
}

int main(void)
{
	grpc_init();
	RUN(start);
	RUN(valid_batches_acked_after_commit);
	RUN(rejects_bad_token_histogram_garbage);
	RUN(failed_commit_cancels_stream_and_resend_works);
	RUN(many_streams);
	RUN(stop_with_open_stream);
	RUN(bind_failure);
	RUN(group_commit_acks_after_the_group);
	RUN(samples_validated_and_stored_once);
	collector_stop(coll);
	grpc_shutdown();
	TEST_MAIN_END();
}
