/*
 * collector.c - conformd's receiving end of conform.v1.Collector/Report.
 * One thread drives one completion queue: it accepts streams, validates each
 * Batch (token, sizes, outcomes, histograms) and holds it; once the queue has
 * nothing more ready (or COLLECTOR_GROUP_MAX batches are held) every held
 * batch goes to the commit callback together (group commit: one transaction,
 * one fsync for all) and only then are their Acks queued. A stream is not
 * read again while its batch is held, at most one SEND_MESSAGE is in flight
 * per stream and reading pauses while too many acks wait, so a fast client
 * cannot make the collector buffer without bound.
 */
#include "ingest/collector.h"
#include "base/addr.h"

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "conform.pb-c.h"
#include "evidence/hist.h"
#include "evidence/outcome.h"
#include "base/util.h"

#define COLL_MAX_MSG (1 << 20)
#define COLL_MAX_BUCKETS 4096
#define COLL_MAX_STR 255
#define COLL_ACKQ 64          /* acks waiting per stream before reading pauses */
/* While a group commit is in flight, how often the CQ thread looks whether
 * it finished (it polls the queue meanwhile, so the next group gathers). */
#define COLL_REAP_NS 200000

enum ctag_kind { CT_NEW_CALL, CT_RECV_CLOSE, CT_RECV_MSG, CT_SEND, CT_SHUTDOWN };

struct cstream;

struct ctag {
	enum ctag_kind kind;
	struct cstream *s;
};

struct cstream {
	struct collector *c;
	grpc_call *call;
	grpc_call_details details;
	grpc_metadata_array md;
	struct ctag t_new, t_close, t_recv, t_send;
	int refs;              /* batches in flight */
	int cancelled;         /* from RECV_CLOSE_ON_SERVER */
	int closed;            /* the call is over: start nothing more */
	int half_closed;       /* client finished sending */
	int md_sent, status_sent, sending, reading;
	int held;              /* a batch of this stream waits for the group commit */
	grpc_byte_buffer *recv_buf;
	grpc_byte_buffer *send_buf;
	grpc_byte_buffer *ackq[COLL_ACKQ];
	size_t ack_head, ack_n;
};

/* A valid batch waiting for the group commit; holds a ref on its stream. */
struct cpend {
	struct cstream *s;
	Conform__V1__Batch *b;
	struct agg_row *rows;
	struct store_sample *samples;
};

struct cgroup {
	struct cpend pend[COLLECTOR_GROUP_MAX];
	struct store_batch sb[COLLECTOR_GROUP_MAX];
	size_t n;
};

struct collector {
	grpc_server *server;
	grpc_completion_queue *cq;
	pthread_t thread;
	int thread_started;
	int draining;          /* CQ thread: shutting down, only free from now on */
	int shutdown_seen;     /* the shutdown tag arrived (under mu) */
	pthread_cond_t cv;     /* signalled when shutdown_seen is set */
	char token[256];
	collector_commit_fn commit;    /* one batch at a time, or */
	collector_group_fn group;      /* the whole group at once */
	void *ctx;
	/*
	 * Two groups: the CQ thread fills groups[fill] while the commit
	 * thread commits groups[!fill], so the queue is polled (and the
	 * sockets read) during an fsync and the next group gathers meanwhile.
	 */
	struct cgroup groups[2];
	int fill;
	pthread_t commit_thread;
	int commit_started;
	pthread_mutex_t cmu;
	pthread_cond_t ccv;
	int committing;        /* groups[!fill] is with the commit thread (under cmu) */
	int commit_done;       /* ... and it has finished (under cmu) */
	int commit_stop;       /* the commit thread ends (under cmu) */
	struct ctag t_shutdown;
	pthread_mutex_t mu;
	struct collector_stats st;
};

static void stat_add(struct collector *c, uint64_t *field)
{
	pthread_mutex_lock(&c->mu);
	(*field)++;
	pthread_mutex_unlock(&c->mu);
}

/* Token compare that takes the same time wherever the first difference is. */
static int token_eq(const char *want, const char *got)
{
	size_t wl = strlen(want), gl = strnlen(got, 4096), i;
	volatile unsigned char d = (unsigned char)(wl != gl);

	for (i = 0; i < wl; i++)
		d |= (unsigned char)want[i] ^ (unsigned char)(i < gl ? got[i] : 0);
	return d == 0;
}

static int str_ok(const char *s, size_t max, int need)
{
	size_t n;

	if (!s)
		return !need;
	n = strnlen(s, max + 1);
	return n <= max && (!need || n > 0);
}

/* Validate and convert a batch's samples; 0 or -1 with err filled. */
static int validate_samples(const struct Conform__V1__Batch *b, struct store_sample **out,
			    size_t *nout, char *err, size_t errlen)
{
	struct store_sample *sm = NULL;
	size_t i;

	if (b->n_samples > COLLECTOR_MAX_SAMPLES) {
		str_fmt(err, errlen, "samples: %zu > %d", b->n_samples, COLLECTOR_MAX_SAMPLES);
		return -1;
	}
	if (!b->n_samples)
		return 0;
	sm = calloc(b->n_samples, sizeof(*sm));
	if (!sm) {
		str_copy(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < b->n_samples; i++) {
		const Conform__V1__Sample *k = b->samples[i];
		struct store_sample *x = &sm[i];

		if (!str_ok(k->check, sizeof(x->check) - 1, 1) ||
		    !str_ok(k->request_id, COLLECTOR_SAMPLE_STR, 1) ||
		    !str_ok(k->backend, COLLECTOR_SAMPLE_STR, 0) ||
		    !str_ok(k->identity, COLLECTOR_SAMPLE_STR, 0)) {
			str_fmt(err, errlen, "sample %zu: string empty or too long", i);
			goto bad;
		}
		if (!outcome_valid(k->outcome)) {
			str_fmt(err, errlen, "sample %zu: unknown outcome %u", i, k->outcome);
			goto bad;
		}
		if (k->ts_ms < 0 || k->latency_us > (uint64_t)INT64_MAX) {
			str_fmt(err, errlen, "sample %zu: time out of range", i);
			goto bad;
		}
		str_copy(x->check, sizeof(x->check), k->check);
		str_copy(x->workload, sizeof(x->workload), b->workload);
		str_copy(x->request_id, sizeof(x->request_id), k->request_id);
		str_copy(x->backend, sizeof(x->backend), k->backend ? k->backend : "");
		str_copy(x->identity, sizeof(x->identity), k->identity ? k->identity : "");
		x->outcome = k->outcome;
		x->code = k->code;
		x->latency_us = k->latency_us;
		x->ts_ms = k->ts_ms;
	}
	*out = sm;
	*nout = b->n_samples;
	return 0;
bad:
	free(sm);
	return -1;
}

int collector_validate_batch(const struct Conform__V1__Batch *b, const char *token,
			     struct agg_row **rows_out, size_t *n, struct store_sample **samples,
			     size_t *nsamples, char *err, size_t errlen)
{
	struct agg_row *rows = NULL;
	size_t i, j;

	*rows_out = NULL;
	*n = 0;
	*samples = NULL;
	*nsamples = 0;
	if (!b->token || !token_eq(token, b->token)) {
		str_copy(err, errlen, "bad token");
		return -1;
	}
	if (!str_ok(b->workload, sizeof(rows->workload) - 1, 1)) {
		str_copy(err, errlen, "workload: empty or longer than 63 bytes");
		return -1;
	}
	if (b->seq == 0) {
		str_copy(err, errlen, "seq: must start at 1");
		return -1;
	}
	if (b->n_buckets > COLL_MAX_BUCKETS) {
		str_fmt(err, errlen, "buckets: %zu > %d", b->n_buckets, COLL_MAX_BUCKETS);
		return -1;
	}
	if (b->n_buckets) {
		rows = calloc(b->n_buckets, sizeof(*rows));
		if (!rows) {
			str_copy(err, errlen, "out of memory");
			return -1;
		}
	}
	for (i = 0; i < b->n_buckets; i++) {
		const Conform__V1__Bucket *k = b->buckets[i];
		struct agg_row *r = &rows[i];
		uint64_t sum = 0;

		if (!str_ok(k->check, sizeof(r->check) - 1, 1) ||
		    !str_ok(k->backend, sizeof(r->backend) - 1, 0) ||
		    !str_ok(k->identity, COLL_MAX_STR, 0)) {
			str_fmt(err, errlen, "bucket %zu: string empty or too long", i);
			goto bad;
		}
		if (!outcome_valid(k->outcome)) {
			str_fmt(err, errlen, "bucket %zu: unknown outcome %u", i, k->outcome);
			goto bad;
		}
		if (k->count == 0) {
			str_fmt(err, errlen, "bucket %zu: count 0", i);
			goto bad;
		}
		if (k->n_hist_index != k->n_hist_count ||
		    hist_add_sparse(&r->h, k->hist_index, k->hist_count, k->n_hist_index) < 0) {
			str_fmt(err, errlen, "bucket %zu: invalid histogram", i);
			goto bad;
		}
		/* sum <= count holds before each step, so count - sum cannot
		 * wrap: a batch cannot overflow its way to a matching total */
		for (j = 0; j < k->n_hist_count; j++) {
			if (k->hist_count[j] > k->count - sum) {
				str_fmt(err, errlen, "bucket %zu: histogram does not match count", i);
				goto bad;
			}
			sum += k->hist_count[j];
		}
		if (sum != k->count || k->latency_max_us > k->latency_sum_us) {
			str_fmt(err, errlen, "bucket %zu: histogram does not match count", i);
			goto bad;
		}
		if (k->n_attempts > 8) {
			str_fmt(err, errlen, "bucket %zu: %zu attempts entries > 8", i, k->n_attempts);
			goto bad;
		}
		sum = 0;
		for (j = 0; j < k->n_attempts; j++) {
			if (k->attempts[j] > k->count - sum) {
				str_fmt(err, errlen, "bucket %zu: attempts exceed count", i);
				goto bad;
			}
			sum += k->attempts[j];
			r->attempts[j] = k->attempts[j];
		}
		if (sum > k->count) {
			str_fmt(err, errlen, "bucket %zu: attempts exceed count", i);
			goto bad;
		}
		str_copy(r->check, sizeof(r->check), k->check);
		str_copy(r->workload, sizeof(r->workload), b->workload);
		str_copy(r->backend, sizeof(r->backend), k->backend ? k->backend : "");
		str_copy(r->identity, sizeof(r->identity), k->identity ? k->identity : "");
		r->outcome = k->outcome;
		r->code = k->code;
		r->second = k->second;
		r->h.count = k->count;
		r->h.sum_us = k->latency_sum_us;
		r->h.max_us = k->latency_max_us;
	}
	if (validate_samples(b, samples, nsamples, err, errlen))
		goto bad;
	*rows_out = rows;
	*n = b->n_buckets;
	return 0;
bad:
	free(rows);
	return -1;
}

static grpc_byte_buffer *pack_ack(uint64_t instance, uint64_t seq, int ok, const char *error)
{
	Conform__V1__Ack ack;
	grpc_slice sl;
	grpc_byte_buffer *bb;

	conform__v1__ack__init(&ack);
	ack.instance = instance;
	ack.seq = seq;
	ack.ok = ok ? 1 : 0;
	ack.error = (char *)(error ? error : "");
	sl = grpc_slice_malloc(conform__v1__ack__get_packed_size(&ack));
	conform__v1__ack__pack(&ack, GRPC_SLICE_START_PTR(sl));
	bb = grpc_raw_byte_buffer_create(&sl, 1);
	grpc_slice_unref(sl);
	return bb;
}

/* Handle one received message; returns an Ack to queue, or NULL when the
 * stream must be cancelled (commit failed). */
/*
 * Decode and validate one message. A valid batch is held in c->pend (the
 * stream gets a ref) and NULL is returned; anything else returns the reject
 * Ack to queue now (NULL only on OOM, which cancels the stream).
 */
static grpc_byte_buffer *coll_take(struct collector *c, struct cstream *s, grpc_byte_buffer *msg,
				   int *held)
{
	grpc_byte_buffer_reader rd;
	grpc_slice sl;
	Conform__V1__Batch *b = NULL;
	struct agg_row *rows = NULL;
	struct store_sample *samples = NULL;
	size_t nrows = 0, nsamples = 0;
	struct cgroup *g;
	struct cpend *p;
	grpc_byte_buffer *ack;
	char err[256], q[300];

	*held = 0;
	if (!grpc_byte_buffer_reader_init(&rd, msg)) {
		stat_add(c, &c->st.rejected);
		return pack_ack(0, 0, 0, "unreadable message");
	}
	sl = grpc_byte_buffer_reader_readall(&rd);
	grpc_byte_buffer_reader_destroy(&rd);
	b = conform__v1__batch__unpack(NULL, GRPC_SLICE_LENGTH(sl), GRPC_SLICE_START_PTR(sl));
	grpc_slice_unref(sl);
	if (!b) {
		stat_add(c, &c->st.rejected);
		log_kv(LOG_WARN, "batch rejected", "error=\"not a Batch\"");
		return pack_ack(0, 0, 0, "not a Batch message");
	}
	if (collector_validate_batch(b, c->token, &rows, &nrows, &samples, &nsamples, err,
				     sizeof(err)) < 0) {
		stat_add(c, &c->st.rejected);
		log_kv(LOG_WARN, "batch rejected", "workload=%s seq=%llu error=%s",
		       log_quote(str_ok(b->workload, 63, 0) ? b->workload : "?", q, 100),
		       (unsigned long long)b->seq, log_quote(err, q + 100, 200));
		ack = pack_ack(b->instance, b->seq, 0, err);
		conform__v1__batch__free_unpacked(b, NULL);
		return ack;
	}
	g = &c->groups[c->fill];
	p = &g->pend[g->n];
	g->sb[g->n] = (struct store_batch){
		.workload = b->workload, .instance = b->instance, .seq = b->seq,
		.rows = rows, .n = nrows, .samples = samples, .nsamples = nsamples, .rc = -1,
	};
	p->s = s;
	p->b = b;
	p->rows = rows;
	p->samples = samples;
	g->n++;
	s->refs++;
	*held = 1;
	return NULL;
}

static void cs_free(struct cstream *s);
static void cs_pump(struct cstream *s);
static void cs_read(struct cstream *s);

/* Store a group: one group commit, or one commit each without a group
 * callback. Sets every sb[i].rc. Runs on the commit thread (or the CQ thread
 * when shutting down, once the commit thread is idle). */
static void coll_commit(struct collector *c, struct cgroup *g)
{
	size_t i;

	if (!g->n)
		return;
	if (c->group) {
		c->group(c->ctx, g->sb, g->n);
		return;
	}
	for (i = 0; i < g->n; i++) {
		struct store_batch *x = &g->sb[i];

		x->rc = c->commit(c->ctx, x->workload, x->instance, x->seq, x->rows, x->n,
				  x->samples, x->nsamples);
	}
}

/*
 * After its commit: queue each batch's Ack, or cancel its stream when it
 * could not be stored (the client resends after reconnecting), and let the
 * stream read on. CQ thread only; while draining it only frees.
 */
static void coll_finish(struct collector *c, struct cgroup *g)
{
	size_t i;
	char q[300];

	for (i = 0; i < g->n; i++) {
		struct cpend *p = &g->pend[i];
		struct cstream *s = p->s;
		int rc = g->sb[i].rc;
		grpc_byte_buffer *ack = NULL;

		s->held = 0;
		if (rc < 0) {
			log_kv(LOG_WARN, "batch commit failed", "workload=%s seq=%llu",
			       log_quote(p->b->workload, q, sizeof(q)), (unsigned long long)p->b->seq);
		} else {
			stat_add(c, rc == 0 ? &c->st.duplicates : &c->st.batches);
			ack = pack_ack(p->b->instance, p->b->seq, 1, "");
		}
		free(p->rows);
		free(p->samples);
		conform__v1__batch__free_unpacked(p->b, NULL);
		if (!c->draining && !s->closed) {
			if (!ack) {
				grpc_call_cancel_with_status(s->call, GRPC_STATUS_UNAVAILABLE,
							     "batch could not be stored", NULL);
				s->closed = 1;
			} else {
				s->ackq[(s->ack_head + s->ack_n) % COLL_ACKQ] = ack;
				s->ack_n++;
				ack = NULL;
				cs_pump(s);
				cs_read(s);
			}
		}
		if (ack)
			grpc_byte_buffer_destroy(ack);
		if (--s->refs == 0)
			cs_free(s);
		memset(p, 0, sizeof(*p));
	}
	g->n = 0;
}

static void *coll_commit_thread(void *arg)
{
	struct collector *c = arg;

	pthread_mutex_lock(&c->cmu);
	for (;;) {
		while (!c->commit_stop && (!c->committing || c->commit_done))
			pthread_cond_wait(&c->ccv, &c->cmu);
		if (c->commit_stop)
			break;
		pthread_mutex_unlock(&c->cmu);
		coll_commit(c, &c->groups[!c->fill]);   /* fill only changes while idle */
		pthread_mutex_lock(&c->cmu);
		c->commit_done = 1;
		pthread_cond_broadcast(&c->ccv);
	}
	pthread_mutex_unlock(&c->cmu);
	return NULL;
}

/* CQ thread: if the commit thread finished, acknowledge its group; with
 * wait, first wait for it. 1 when no commit is in flight afterwards. */
static int coll_reap(struct collector *c, int wait)
{
	int done;

	pthread_mutex_lock(&c->cmu);
	while (wait && c->committing && !c->commit_done)
		pthread_cond_wait(&c->ccv, &c->cmu);
	done = !c->committing || c->commit_done;
	pthread_mutex_unlock(&c->cmu);
	if (!done)
		return 0;
	if (c->committing) {
		coll_finish(c, &c->groups[!c->fill]);
		pthread_mutex_lock(&c->cmu);
		c->committing = 0;
		c->commit_done = 0;
		pthread_mutex_unlock(&c->cmu);
	}
	return 1;
}

/* CQ thread, commit thread idle: hand the filled group over and start
 * filling the other one. Without a commit thread, commit here. */
static void coll_hand_over(struct collector *c)
{
	if (!c->groups[c->fill].n)
		return;
	if (!c->commit_started) {
		coll_commit(c, &c->groups[c->fill]);
		coll_finish(c, &c->groups[c->fill]);
		return;
	}
	pthread_mutex_lock(&c->cmu);
	c->fill = !c->fill;
	c->committing = 1;
	c->commit_done = 0;
	pthread_cond_broadcast(&c->ccv);
	pthread_mutex_unlock(&c->cmu);
}

static void cs_free(struct cstream *s)
{
	while (s->ack_n) {
		grpc_byte_buffer_destroy(s->ackq[s->ack_head]);
		s->ack_head = (s->ack_head + 1) % COLL_ACKQ;
		s->ack_n--;
	}
	if (s->recv_buf)
		grpc_byte_buffer_destroy(s->recv_buf);
	if (s->send_buf)
		grpc_byte_buffer_destroy(s->send_buf);
	if (s->call)
		grpc_call_unref(s->call);
	grpc_call_details_destroy(&s->details);
	grpc_metadata_array_destroy(&s->md);
	free(s);
}

static int cs_start(struct cstream *s, const grpc_op *ops, size_t n, struct ctag *t)
{
	if (s->closed || s->c->draining)
		return -1;
	if (grpc_call_start_batch(s->call, ops, n, t, NULL) != GRPC_CALL_OK) {
		log_kv(LOG_ERROR, "collector batch start failed", NULL);
		grpc_call_cancel(s->call, NULL);
		s->closed = 1;
		return -1;
	}
	s->refs++;
	return 0;
}

static void cs_read(struct cstream *s)
{
	grpc_op op;

	if (s->reading || s->held || s->half_closed || s->ack_n >= COLL_ACKQ - 1)
		return;
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_MESSAGE;
	op.data.recv_message.recv_message = &s->recv_buf;
	if (cs_start(s, &op, 1, &s->t_recv) == 0)
		s->reading = 1;
}

static void cs_pump(struct cstream *s)
{
	grpc_op ops[3];
	size_t n = 0;

	if (s->sending || s->status_sent)
		return;
	memset(ops, 0, sizeof(ops));
	if (!s->md_sent && (s->ack_n || s->half_closed)) {
		ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
		n++;
	}
	if (s->ack_n) {
		s->send_buf = s->ackq[s->ack_head];
		s->ack_head = (s->ack_head + 1) % COLL_ACKQ;
		s->ack_n--;
		ops[n].op = GRPC_OP_SEND_MESSAGE;
		ops[n].data.send_message.send_message = s->send_buf;
		n++;
	} else if (s->half_closed) {
		ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
		ops[n].data.send_status_from_server.status = GRPC_STATUS_OK;
		n++;
		s->status_sent = 1;
	}
	if (!n)
		return;
	if (cs_start(s, ops, n, &s->t_send) == 0) {
		s->sending = 1;
		s->md_sent = 1;
	} else if (s->send_buf) {
		grpc_byte_buffer_destroy(s->send_buf);
		s->send_buf = NULL;
	}
}

static struct cstream *cs_new(struct collector *c)
{
	struct cstream *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->c = c;
	grpc_call_details_init(&s->details);
	grpc_metadata_array_init(&s->md);
	s->t_new.kind = CT_NEW_CALL;
	s->t_close.kind = CT_RECV_CLOSE;
	s->t_recv.kind = CT_RECV_MSG;
	s->t_send.kind = CT_SEND;
	s->t_new.s = s->t_close.s = s->t_recv.s = s->t_send.s = s;
	return s;
}

static void coll_arm(struct collector *c)
{
	struct cstream *s;

	if (c->draining)
		return;
	s = cs_new(c);
	if (!s) {
		log_kv(LOG_ERROR, "collector out of memory", NULL);
		return;
	}
	if (grpc_server_request_call(c->server, &s->call, &s->details, &s->md, c->cq, c->cq,
				     &s->t_new) != GRPC_CALL_OK) {
		log_kv(LOG_ERROR, "collector request_call failed", NULL);
		cs_free(s);
	}
}

static int method_is(const grpc_slice sl, const char *m)
{
	size_t n = strlen(m);

	return GRPC_SLICE_LENGTH(sl) == n && !memcmp(GRPC_SLICE_START_PTR(sl), m, n);
}

static void on_new_call(struct collector *c, struct cstream *s, int ok)
{
	grpc_op op;

	if (!ok || c->draining) {
		if (s->call)
			grpc_call_cancel(s->call, NULL);
		cs_free(s);
		return;
	}
	coll_arm(c);
	stat_add(c, &c->st.streams);
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	op.data.recv_close_on_server.cancelled = &s->cancelled;
	if (cs_start(s, &op, 1, &s->t_close) < 0) {
		cs_free(s);
		return;
	}
	if (!method_is(s->details.method, "/conform.v1.Collector/Report")) {
		grpc_op ops[2];

		memset(ops, 0, sizeof(ops));
		ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
		ops[1].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
		ops[1].data.send_status_from_server.status = GRPC_STATUS_UNIMPLEMENTED;
		s->status_sent = s->md_sent = 1;
		if (cs_start(s, ops, 2, &s->t_send) == 0)
			s->sending = 1;
		return;
	}
	cs_read(s);
}

static void on_recv(struct cstream *s, int ok)
{
	struct collector *c = s->c;
	grpc_byte_buffer *msg = s->recv_buf, *ack;

	s->reading = 0;
	s->recv_buf = NULL;
	if (!ok || !msg) {
		s->half_closed = 1;
		if (msg)
			grpc_byte_buffer_destroy(msg);
		if (!ok)
			s->closed = 1;
		else
			cs_pump(s);
		return;
	}
	if (c->draining || s->closed) {
		grpc_byte_buffer_destroy(msg);
		return;
	}
	ack = coll_take(c, s, msg, &s->held);
	grpc_byte_buffer_destroy(msg);
	if (s->held)
		return;   /* read on once its ack is queued (coll_finish) */
	if (!ack) {
		grpc_call_cancel_with_status(s->call, GRPC_STATUS_UNAVAILABLE,
					     "batch could not be stored", NULL);
		s->closed = 1;
		return;
	}
	s->ackq[(s->ack_head + s->ack_n) % COLL_ACKQ] = ack;
	s->ack_n++;
	cs_pump(s);
	cs_read(s);
}

static void on_send(struct cstream *s, int ok)
{
	s->sending = 0;
	if (s->send_buf) {
		grpc_byte_buffer_destroy(s->send_buf);
		s->send_buf = NULL;
	}
	if (!ok) {
		s->closed = 1;
		return;
	}
	cs_pump(s);
	cs_read(s);
}

/* Handle one completion queue event; 1 once the queue is shut down. */
static int coll_event(struct collector *c, grpc_event ev)
{
	struct ctag *t;
	struct cstream *s;

	if (ev.type == GRPC_QUEUE_SHUTDOWN)
		return 1;
	if (ev.type != GRPC_OP_COMPLETE)
		return 0;
	t = ev.tag;
	if (t->kind == CT_SHUTDOWN) {
		/* every call was cancelled; from here on only free. The server
		 * is destroyed by collector_stop, which still holds it. */
		pthread_mutex_lock(&c->mu);
		c->draining = 1;
		c->shutdown_seen = 1;
		pthread_cond_broadcast(&c->cv);
		pthread_mutex_unlock(&c->mu);
		return 0;
	}
	s = t->s;
	switch (t->kind) {
	case CT_NEW_CALL:
		on_new_call(c, s, ev.success);
		return 0;   /* s has no batch ref of its own for this tag */
	case CT_RECV_CLOSE:
		s->refs--;
		s->closed = 1;
		break;
	case CT_RECV_MSG:
		s->refs--;
		on_recv(s, ev.success);
		break;
	case CT_SEND:
		s->refs--;
		on_send(s, ev.success);
		break;
	default:
		break;
	}
	if (s->refs == 0)
		cs_free(s);
	return 0;
}

static grpc_event coll_next(struct collector *c)
{
	return grpc_completion_queue_next(c->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
}

static void *coll_thread(void *arg)
{
	struct collector *c = arg;

	for (;;) {
		gpr_timespec dl = gpr_inf_future(GPR_CLOCK_MONOTONIC);
		int idle = coll_reap(c, 0);
		grpc_event ev;

		/*
		 * A commit in flight: poll on, looking back every COLL_REAP_NS.
		 * Batches held and the commit thread idle: take what is ready
		 * now, then hand them over.
		 */
		if (!idle)
			dl = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
					  gpr_time_from_nanos(COLL_REAP_NS, GPR_TIMESPAN));
		else if (c->groups[c->fill].n)
			dl = gpr_inf_past(GPR_CLOCK_MONOTONIC);
		ev = grpc_completion_queue_next(c->cq, dl, NULL);
		if (ev.type == GRPC_QUEUE_TIMEOUT) {
			if (idle)
				coll_hand_over(c);
			continue;
		}
		if (ev.type == GRPC_QUEUE_SHUTDOWN) {
			coll_reap(c, 1);
			coll_hand_over(c);
			coll_reap(c, 1);
		}
		if (coll_event(c, ev))
			break;
		if (c->groups[c->fill].n == COLLECTOR_GROUP_MAX || c->draining) {
			/* no room for another batch (or shutting down): wait for the
			 * commit in flight, then hand this group over */
			coll_reap(c, 1);
			coll_hand_over(c);
			if (c->draining)
				coll_reap(c, 1);
		}
	}
	return NULL;
}

static struct collector *coll_start(const char *addr, const char *token,
				     collector_commit_fn commit, collector_group_fn group,
				     void *ctx, int *port, char *err, size_t errlen)
{
	struct collector *c;
	grpc_arg args[2];
	grpc_channel_args ca;
	grpc_server_credentials *creds;
	struct addr_hostport hp;
	char why[256];
	int p;

	if (!addr || !token || (!commit && !group)) {
		str_copy(err, errlen, "collector: missing address, token or commit callback");
		return NULL;
	}
	/* gRPC resolves the same forms; checking first gives a message that says why */
	if (addr_parse(addr, ADDR_PORT_ZERO, &hp, why, sizeof(why)) < 0) {
		str_fmt(err, errlen, "collector: %s", why);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		str_copy(err, errlen, "collector: out of memory");
		return NULL;
	}
	if (str_copy(c->token, sizeof(c->token), token) < 0) {
		str_copy(err, errlen, "collector: token too long");
		free(c);
		return NULL;
	}
	grpc_init();
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	pthread_mutex_init(&c->cmu, NULL);
	pthread_cond_init(&c->ccv, NULL);
	c->commit = commit;
	c->group = group;
	c->ctx = ctx;
	c->t_shutdown.kind = CT_SHUTDOWN;
	args[0].type = GRPC_ARG_INTEGER;
	args[0].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
	args[0].value.integer = COLL_MAX_MSG;
	args[1].type = GRPC_ARG_INTEGER;
	args[1].key = (char *)GRPC_ARG_ALLOW_REUSEPORT;
	args[1].value.integer = 0;
	ca.num_args = 2;
	ca.args = args;
	c->cq = grpc_completion_queue_create_for_next(NULL);
	c->server = grpc_server_create(&ca, NULL);
	grpc_server_register_completion_queue(c->server, c->cq, NULL);
	creds = grpc_insecure_server_credentials_create();
	p = grpc_server_add_http2_port(c->server, addr, creds);
	grpc_server_credentials_release(creds);
	if (p <= 0) {
		str_fmt(err, errlen, "collector: cannot bind %s (port in use, or no interface "
			"of this machine has that address)", addr);
		grpc_server_destroy(c->server);
		c->server = NULL;
		grpc_completion_queue_shutdown(c->cq);
		while (grpc_completion_queue_next(c->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC),
						  NULL).type != GRPC_QUEUE_SHUTDOWN)
			;
		grpc_completion_queue_destroy(c->cq);
		pthread_cond_destroy(&c->cv);
		pthread_mutex_destroy(&c->mu);
		pthread_cond_destroy(&c->ccv);
		pthread_mutex_destroy(&c->cmu);
		free(c);
		grpc_shutdown();
		return NULL;
	}
	grpc_server_start(c->server);
	coll_arm(c);
	/* without a commit thread the CQ thread commits inline (slower, same acks) */
	c->commit_started = pthread_create(&c->commit_thread, NULL, coll_commit_thread, c) == 0;
	if (pthread_create(&c->thread, NULL, coll_thread, c) != 0) {
		str_copy(err, errlen, "collector: cannot start thread");
		c->thread_started = 0;
		collector_stop(c);
		return NULL;
	}
	c->thread_started = 1;
	if (port)
		*port = p;
	return c;
}

struct collector *collector_start(const char *addr, const char *token,
				  collector_commit_fn commit, void *ctx, int *port,
				  char *err, size_t errlen)
{
	return coll_start(addr, token, commit, NULL, ctx, port, err, errlen);
}

struct collector *collector_start_group(const char *addr, const char *token,
					collector_group_fn group, void *ctx, int *port,
					char *err, size_t errlen)
{
	return coll_start(addr, token, NULL, group, ctx, port, err, errlen);
}

void collector_get_stats(struct collector *c, struct collector_stats *st)
{
	pthread_mutex_lock(&c->mu);
	*st = c->st;
	pthread_mutex_unlock(&c->mu);
}

void collector_stop(struct collector *c)
{
	if (!c)
		return;
	/* grpc-core's order: shutdown_and_notify, cancel_all_calls, wait for
	 * the notify tag, destroy the server, shut the queue down, drain. The
	 * CQ thread (or this one, when none was started) drains meanwhile. */
	grpc_server_shutdown_and_notify(c->server, c->cq, &c->t_shutdown);
	grpc_server_cancel_all_calls(c->server);
	if (c->thread_started) {
		pthread_mutex_lock(&c->mu);
		while (!c->shutdown_seen)
			pthread_cond_wait(&c->cv, &c->mu);
		pthread_mutex_unlock(&c->mu);
	} else {
		while (!c->shutdown_seen)
			coll_event(c, coll_next(c));
	}
	grpc_server_destroy(c->server);
	c->server = NULL;
	grpc_completion_queue_shutdown(c->cq);
	if (c->thread_started)
		pthread_join(c->thread, NULL);
	else
		while (!coll_event(c, coll_next(c)))
			;
	grpc_completion_queue_destroy(c->cq);
	if (c->commit_started) {
		/* the CQ thread reaped every group before it ended */
		pthread_mutex_lock(&c->cmu);
		c->commit_stop = 1;
		pthread_cond_broadcast(&c->ccv);
		pthread_mutex_unlock(&c->cmu);
		pthread_join(c->commit_thread, NULL);
	}
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->ccv);
	pthread_mutex_destroy(&c->cmu);
	free(c);
	grpc_shutdown();
}
