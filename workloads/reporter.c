/*
 * reporter.c - the client side of conform.v1.Collector/Report. A thread with
 * its own completion queue flushes the aggregator every --batch-interval into
 * numbered batches, keeps them until acked (bounded: the oldest is dropped
 * and counted when full), streams them one SEND_MESSAGE at a time, and after
 * a broken stream reconnects with backoff and resends every unacked batch.
 * A few failing requests per check ride along each batch as samples.
 */
#include "workload.h"
#include "base/util.h"
#include "conform.pb-c.h"

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define REP_MAX_BUCKETS 4096
#define REP_MAX_BYTES (900 * 1024)   /* below the collector's 1 MiB limit */
#define REP_BACKOFF_MIN_MS 100
#define REP_BACKOFF_MAX_MS 5000

enum rep_tag { RT_STATUS = 1, RT_MD, RT_SEND, RT_RECV };

struct rbatch {
	struct rbatch *next;
	uint64_t seq;
	uint8_t *data;
	size_t len;
};

/* A failing request kept for the next batch (proto Sample). */
struct rsample {
	char check[32];
	char request_id[128];
	unsigned outcome;
	int code;
	uint64_t latency_us;
	char backend[128];
	char identity[128];
	int64_t ts_ms;
};

struct reporter {
	const struct wl_opts *o;
	struct agg *agg;
	pthread_t th;
	atomic_int finishing;
	atomic_llong finish_deadline_ms;
	pthread_mutex_t smu;     /* guards samples: request threads add, the reporter takes */
	struct rsample samples[REPORTER_SAMPLES_MAX];
	size_t nsamples;

	/* below: reporter thread only */
	struct rbatch *head, *tail;
	size_t qn;
	uint64_t next_seq;
	uint64_t dropped, rejected, acked;
	grpc_completion_queue *cq;
	grpc_channel *ch;
	grpc_call *call;
	int ops;                 /* batches in flight on call */
	int live;                /* stream usable for sending */
	int sending, receiving, md_asked;
	uint64_t sent_upto;      /* highest seq sent on this stream */
	grpc_byte_buffer *send_bb, *recv_bb;
	grpc_metadata_array md, trailing;
	grpc_status_code status;
	grpc_slice details;
	int64_t backoff_ms, reconnect_at_ms;
};

static void rb_free(struct rbatch *b)
{
	free(b->data);
	free(b);
}

static void rep_push(struct reporter *r, uint8_t *data, size_t len, uint64_t seq)
{
	struct rbatch *b = calloc(1, sizeof(*b));

	if (!b) {
		free(data);
		r->dropped++;
		log_kv(LOG_ERROR, "batch dropped", "seq=%llu reason=oom", (unsigned long long)seq);
		return;
	}
	b->seq = seq;
	b->data = data;
	b->len = len;
	if ((int64_t)r->qn >= r->o->buffer_batches && r->head) {
		struct rbatch *old = r->head;

		r->head = old->next;
		if (!r->head)
			r->tail = NULL;
		r->qn--;
		r->dropped++;
		log_kv(LOG_WARN, "batch dropped", "seq=%llu reason=buffer_full dropped_total=%llu",
		       (unsigned long long)old->seq, (unsigned long long)r->dropped);
		rb_free(old);
	}
	if (r->tail)
		r->tail->next = b;
	else
		r->head = b;
	r->tail = b;
	r->qn++;
}

void reporter_sample(struct reporter *r, const char *check, const char *request_id,
		     unsigned outcome, int code, uint64_t latency_us, const char *backend,
		     const char *identity, int64_t ts_ms)
{
	struct rsample *x;
	size_t i, same = 0;

	if (!r || !check || !check[0] || !request_id || !request_id[0])
		return;
	pthread_mutex_lock(&r->smu);
	for (i = 0; i < r->nsamples; i++)
		same += !strcmp(r->samples[i].check, check);
	if (same < REPORTER_SAMPLES_PER_CHECK && r->nsamples < REPORTER_SAMPLES_MAX) {
		x = &r->samples[r->nsamples++];
		str_copy(x->check, sizeof(x->check), check);
		str_copy(x->request_id, sizeof(x->request_id), request_id);
		x->outcome = outcome;
		x->code = code;
		x->latency_us = latency_us;
		str_copy(x->backend, sizeof(x->backend), backend ? backend : "");
		str_copy(x->identity, sizeof(x->identity), identity ? identity : "");
		x->ts_ms = ts_ms;
	}
	pthread_mutex_unlock(&r->smu);
}

/*
 * The samples kept since the last flush, packed as a Batch holding only
 * them: protobuf merges concatenated messages (repeated fields append), so
 * appending it to a packed Batch adds the samples to that batch. NULL with
 * *len 0 when there are none or memory ran out (samples are best effort).
 */
static uint8_t *rep_take_samples(struct reporter *r, size_t *len)
{
	struct rsample taken[REPORTER_SAMPLES_MAX];
	Conform__V1__Sample sm[REPORTER_SAMPLES_MAX], *ptrs[REPORTER_SAMPLES_MAX];
	Conform__V1__Batch b;
	uint8_t *data;
	size_t n, i;

	*len = 0;
	pthread_mutex_lock(&r->smu);
	n = r->nsamples;
	memcpy(taken, r->samples, n * sizeof(taken[0]));
	r->nsamples = 0;
	pthread_mutex_unlock(&r->smu);
	if (!n)
		return NULL;
	conform__v1__batch__init(&b);
	for (i = 0; i < n; i++) {
		conform__v1__sample__init(&sm[i]);
		sm[i].check = taken[i].check;
		sm[i].request_id = taken[i].request_id;
		sm[i].outcome = taken[i].outcome;
		sm[i].code = taken[i].code;
		sm[i].latency_us = taken[i].latency_us;
		sm[i].backend = taken[i].backend;
		sm[i].identity = taken[i].identity;
		sm[i].ts_ms = taken[i].ts_ms;
		ptrs[i] = &sm[i];
	}
	b.n_samples = n;
	b.samples = ptrs;
	*len = conform__v1__batch__get_packed_size(&b);
	data = malloc(*len ? *len : 1);
	if (!data) {
		*len = 0;
		return NULL;
	}
	conform__v1__batch__pack(&b, data);
	return data;
}

/* Move the aggregate into batches (split by bucket count and size); the
 * samples ride along the first. */
static void rep_flush(struct reporter *r)
{
	struct agg_row *rows = NULL;
	size_t n = 0, i = 0, slen = 0;
	uint8_t *sdata;

	if (agg_flush(r->agg, r->o->name, &rows, &n) < 0) {
		log_kv(LOG_ERROR, "flush failed", "reason=oom");
		return;
	}
	sdata = rep_take_samples(r, &slen);
	if (!r->o->collector[0]) {   /* nowhere to send: totals are all we keep */
		free(rows);
		free(sdata);
		return;
	}
	while (i < n) {
		size_t start = i, bytes = 64, len;
		uint8_t *data;

		while (i < n && i - start < REP_MAX_BUCKETS) {
			size_t sz = agg_row_packed_size(&rows[i]);

			if (i > start && bytes + sz > REP_MAX_BYTES)
				break;
			bytes += sz;
			i++;
		}
		data = agg_pack_batch(r->o->name, r->o->token, r->o->instance, r->next_seq,
				      rows + start, i - start, &len);
		if (data && sdata) {
			/* samples are at most 64 x ~400 bytes: well below the
			 * margin REP_MAX_BYTES leaves under the collector's 1 MiB */
			uint8_t *both = realloc(data, len + slen);

			if (both) {
				memcpy(both + len, sdata, slen);
				data = both;
				len += slen;
			}
			free(sdata);
			sdata = NULL;
		}
		if (!data) {
			log_kv(LOG_ERROR, "batch dropped", "seq=%llu reason=oom",
			       (unsigned long long)r->next_seq);
			r->dropped++;
		} else {
			rep_push(r, data, len, r->next_seq);
		}
		r->next_seq++;
	}
	free(rows);
	free(sdata);   /* no rows this time: such samples are dropped */
}

static void rep_call_done(struct reporter *r)
{
	grpc_call_unref(r->call);
	r->call = NULL;
	grpc_metadata_array_destroy(&r->md);
	grpc_metadata_array_destroy(&r->trailing);
	grpc_slice_unref(r->details);
}

static void rep_open(struct reporter *r)
{
	grpc_op ops[1];
	grpc_slice method = grpc_slice_from_static_string("/conform.v1.Collector/Report");

	r->call = grpc_channel_create_call(r->ch, NULL, GRPC_PROPAGATE_DEFAULTS, r->cq, method, NULL,
					   gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	if (!r->call)
		return;
	grpc_metadata_array_init(&r->md);
	grpc_metadata_array_init(&r->trailing);
	r->details = grpc_empty_slice();
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[0].data.recv_status_on_client.trailing_metadata = &r->trailing;
	ops[0].data.recv_status_on_client.status = &r->status;
	ops[0].data.recv_status_on_client.status_details = &r->details;
	if (grpc_call_start_batch(r->call, ops, 1, (void *)(intptr_t)RT_STATUS, NULL) != GRPC_CALL_OK)
		goto fail;
	r->ops++;
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	if (grpc_call_start_batch(r->call, ops, 1, (void *)(intptr_t)RT_MD, NULL) != GRPC_CALL_OK)
		goto fail;
	r->ops++;
	r->live = 1;
	r->md_asked = 0;
	r->sent_upto = 0;   /* resend everything unacked, in order */
	return;
fail:
	grpc_call_cancel(r->call, NULL);
	r->reconnect_at_ms = mono_ms() + r->backoff_ms;
	if (r->ops == 0)
		rep_call_done(r);   /* nothing will complete: give the call up now */
}

static void rep_recv(struct reporter *r)
{
	grpc_op ops[2];
	size_t n = 0;

	if (r->receiving || !r->live)
		return;
	memset(ops, 0, sizeof(ops));
	if (!r->md_asked) {
		/* the first receive also collects the server's initial metadata */
		ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
		ops[n].data.recv_initial_metadata.recv_initial_metadata = &r->md;
		n++;
	}
	ops[n].op = GRPC_OP_RECV_MESSAGE;
	ops[n].data.recv_message.recv_message = &r->recv_bb;
	n++;
	if (grpc_call_start_batch(r->call, ops, n, (void *)(intptr_t)RT_RECV, NULL) == GRPC_CALL_OK) {
		r->ops++;
		r->receiving = 1;
		r->md_asked = 1;
	}
}

static void rep_send(struct reporter *r)
{
	struct rbatch *b;
	grpc_slice sl;
	grpc_op op;

	if (!r->live || r->sending)
		return;
	for (b = r->head; b && b->seq <= r->sent_upto; b = b->next)
		;
	if (!b)
		return;
	sl = grpc_slice_from_copied_buffer((const char *)b->data, b->len);
	r->send_bb = grpc_raw_byte_buffer_create(&sl, 1);
	grpc_slice_unref(sl);
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_SEND_MESSAGE;
	op.data.send_message.send_message = r->send_bb;
	if (grpc_call_start_batch(r->call, &op, 1, (void *)(intptr_t)RT_SEND, NULL) != GRPC_CALL_OK) {
		grpc_byte_buffer_destroy(r->send_bb);
		r->send_bb = NULL;
		return;
	}
	r->ops++;
	r->sending = 1;
	r->sent_upto = b->seq;
}

static void rep_on_ack(struct reporter *r, grpc_byte_buffer *bb)
{
	grpc_byte_buffer_reader rd;
	grpc_slice sl;
	Conform__V1__Ack *a;
	struct rbatch **pp;
	char q[300];

	if (!grpc_byte_buffer_reader_init(&rd, bb))
		return;
	sl = grpc_byte_buffer_reader_readall(&rd);
	grpc_byte_buffer_reader_destroy(&rd);
	a = conform__v1__ack__unpack(NULL, GRPC_SLICE_LENGTH(sl), GRPC_SLICE_START_PTR(sl));
	grpc_slice_unref(sl);
	if (!a) {
		log_kv(LOG_WARN, "bad ack from collector", NULL);
		return;
	}
	r->backoff_ms = REP_BACKOFF_MIN_MS;
	for (pp = &r->head; *pp; pp = &(*pp)->next) {
		struct rbatch *b = *pp;

		if (b->seq != a->seq)
			continue;
		if (a->ok) {
			r->acked++;
		} else {
			r->rejected++;
			log_kv(LOG_ERROR, "batch rejected", "seq=%llu error=%s",
			       (unsigned long long)a->seq, log_quote(a->error, q, sizeof(q)));
		}
		*pp = b->next;
		if (r->tail == b) {
			struct rbatch *t = r->head;

			r->tail = NULL;
			for (; t; t = t->next)
				r->tail = t;
		}
		r->qn--;
		rb_free(b);
		break;
	}
	conform__v1__ack__free_unpacked(a, NULL);
}

static void rep_handle(struct reporter *r, grpc_event ev)
{
	intptr_t tag = (intptr_t)ev.tag;
	char q[300];

	r->ops--;
	switch (tag) {
	case RT_STATUS: {
		char *d = grpc_slice_to_c_string(r->details);

		r->live = 0;
		if (!atomic_load(&r->finishing) || r->qn)
			log_kv(LOG_WARN, "collector stream ended", "status=%d details=%s backoff_ms=%lld",
			       (int)r->status, log_quote(d, q, sizeof(q)), (long long)r->backoff_ms);
		gpr_free(d);
		r->reconnect_at_ms = mono_ms() + r->backoff_ms;
		r->backoff_ms *= 2;
		if (r->backoff_ms > REP_BACKOFF_MAX_MS)
			r->backoff_ms = REP_BACKOFF_MAX_MS;
		break;
	}
	case RT_MD:
		if (!ev.success)
			grpc_call_cancel(r->call, NULL);
		break;
	case RT_SEND:
		r->sending = 0;
		grpc_byte_buffer_destroy(r->send_bb);
		r->send_bb = NULL;
		if (!ev.success)
			grpc_call_cancel(r->call, NULL);
		break;
	case RT_RECV:
		r->receiving = 0;
		if (r->recv_bb) {
			rep_on_ack(r, r->recv_bb);
			grpc_byte_buffer_destroy(r->recv_bb);
			r->recv_bb = NULL;
		} else if (r->live) {
			/* the collector closed its side: end ours and reconnect */
			grpc_call_cancel(r->call, NULL);
		}
		break;
	}
	if (r->call && r->ops == 0)
		rep_call_done(r);
}

static void *rep_thread(void *arg)
{
	struct reporter *r = arg;
	int64_t next_flush = mono_ms() + r->o->batch_interval_ms;
	int final_done = 0;

	for (;;) {
		int64_t now = mono_ms(), wake;
		grpc_event ev;

		if (atomic_load(&r->finishing) && !final_done) {
			rep_flush(r);
			final_done = 1;
		} else if (now >= next_flush) {
			rep_flush(r);
			next_flush += r->o->batch_interval_ms;
			if (next_flush < now)
				next_flush = now + r->o->batch_interval_ms;
		}
		if (final_done && (!r->qn || now >= atomic_load(&r->finish_deadline_ms)))
			break;
		if (r->ch && !r->call && r->qn && now >= r->reconnect_at_ms)
			rep_open(r);
		rep_send(r);
		rep_recv(r);
		wake = final_done ? 20 : next_flush - now;
		if (!r->call && r->qn && r->reconnect_at_ms - now < wake)
			wake = r->reconnect_at_ms - now;
		if (wake > 200)
			wake = 200;
		if (wake < 1)
			wake = 1;
		ev = grpc_completion_queue_next(r->cq, gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
							gpr_time_from_millis(wake, GPR_TIMESPAN)), NULL);
		if (ev.type == GRPC_OP_COMPLETE && r->call)
			rep_handle(r, ev);
	}
	if (r->qn)
		log_kv(LOG_WARN, "unacked batches left", "count=%zu", r->qn);
	/* end the stream politely if it is idle, else cancel; then drain */
	if (r->call) {
		grpc_call_cancel(r->call, NULL);
		while (r->call) {
			grpc_event ev = grpc_completion_queue_next(r->cq,
				gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);

			if (ev.type == GRPC_OP_COMPLETE)
				rep_handle(r, ev);
		}
	}
	log_kv(LOG_INFO, "reporter done", "batches=%llu acked=%llu rejected=%llu dropped=%llu",
	       (unsigned long long)(r->next_seq - 1), (unsigned long long)r->acked,
	       (unsigned long long)r->rejected, (unsigned long long)r->dropped);
	return NULL;
}

struct reporter *reporter_start(const struct wl_opts *o, struct agg *agg)
{
	struct reporter *r = calloc(1, sizeof(*r));
	grpc_channel_credentials *cr;

	if (!r)
		return NULL;
	if (pthread_mutex_init(&r->smu, NULL)) {
		free(r);
		return NULL;
	}
	r->o = o;
	r->agg = agg;
	r->next_seq = 1;
	r->backoff_ms = REP_BACKOFF_MIN_MS;
	grpc_init();
	r->cq = grpc_completion_queue_create_for_next(NULL);
	if (o->collector[0]) {
		cr = grpc_insecure_credentials_create();
		r->ch = grpc_channel_create(o->collector, cr, NULL);
		grpc_channel_credentials_release(cr);
	} else {
		log_kv(LOG_WARN, "no --collector: outcomes are counted but not reported", NULL);
	}
	if (pthread_create(&r->th, NULL, rep_thread, r) != 0) {
		if (r->ch)
			grpc_channel_destroy(r->ch);
		grpc_completion_queue_shutdown(r->cq);
		while (grpc_completion_queue_next(r->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL)
			       .type != GRPC_QUEUE_SHUTDOWN)
			;
		grpc_completion_queue_destroy(r->cq);
		pthread_mutex_destroy(&r->smu);
		free(r);
		grpc_shutdown();
		return NULL;
	}
	return r;
}

void reporter_finish(struct reporter *r, int64_t wait_ms)
{
	if (!r)
		return;
	atomic_store(&r->finish_deadline_ms, mono_ms() + wait_ms);
	atomic_store(&r->finishing, 1);
	pthread_join(r->th, NULL);
	while (r->head) {
		struct rbatch *b = r->head;

		r->head = b->next;
		rb_free(b);
	}
	if (r->ch)
		grpc_channel_destroy(r->ch);
	grpc_completion_queue_shutdown(r->cq);
	while (grpc_completion_queue_next(r->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
	       GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(r->cq);
	pthread_mutex_destroy(&r->smu);
	free(r);
	grpc_shutdown();
}
