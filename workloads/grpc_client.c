/*
 * grpc_client.c - the open-loop gRPC load generator on one completion queue.
 * Unary flows start call k at t0 + k/rate with a per-call deadline. A bidi
 * flow keeps ONE stream for the whole run and sends a message every 1/rate s
 * (one SEND_MESSAGE in flight; due messages wait in a bounded ring), matches
 * echoes by seq, counts a message not echoed within the timeout as lost and a
 * broken stream as one reset, then reopens it with backoff.
 */
#include "workload.h"
#include "base/util.h"
#include "evidence/outcome.h"
#include "conform.pb-c.h"

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <stdlib.h>
#include <string.h>

#define GC_BACKOFF_MIN_MS 100
#define GC_BACKOFF_MAX_MS 5000

enum gc_kind { GC_UNARY, GC_B_STATUS, GC_B_MD, GC_B_SEND, GC_B_RECV, GC_B_CLOSE };

struct gc_tag {
	enum gc_kind kind;
	void *p;
};

struct gc_unary {
	struct gc_unary *prev, *next;
	struct gc_tag tag;
	grpc_call *call;
	size_t flow;
	int64_t due_ns, deadline_ns;
	grpc_byte_buffer *send, *recv;
	grpc_metadata_array md, trailing;
	grpc_status_code status;
	grpc_slice details;
	grpc_metadata meta[2];
	char rid[WL_ID_MAX];
};

struct gc_msg {           /* one bidi message from due time to echo or loss */
	uint64_t k;
	int64_t due_ns;
	int sent, done;
};

struct gc_bidi {
	size_t flow;
	grpc_call *call;
	int ops, live, sending, receiving, md_asked, closing;
	int up;                 /* this stream echoed at least once */
	struct gc_tag t_status, t_md, t_send, t_recv, t_close;
	grpc_byte_buffer *send_bb, *recv_bb;
	grpc_metadata_array md, trailing;
	grpc_status_code status;
	grpc_slice details;
	grpc_metadata meta[1];
	struct gc_msg *ring;
	size_t cap;
	uint64_t head, tail, send_pos;   /* absolute positions; ring[pos % cap] */
	int64_t backoff_ms, reconnect_at_ms;
};

struct gc_flow {
	grpc_channel *ch;
	grpc_slice host;
	int has_host;
	uint64_t k;
	int64_t inflight;
	struct gc_bidi *bidi;
};

static const struct wl_opts *gc_o;
static struct agg *gc_agg;
static grpc_completion_queue *gc_cq;
static struct gc_flow gc_flows[WL_MAX_FLOWS];
static struct gc_unary *gc_active;
static int gc_stopping;
static struct reporter *gc_rep;   /* takes failing-request samples */
static struct wl_sched gc_sched[WL_MAX_FLOWS];   /* unary flows: lag to the call's start */

/* Count one request; a failing one with a request id (rid, NULL when it has
 * none: overload, a stream reset) may become a sample. */
static void gc_record(size_t fi, enum outcome out, int code, const char *backend,
		      const char *ident, int64_t due_ns, int64_t now_ns, unsigned attempt,
		      const char *rid)
{
	int64_t lat = now_ns - due_ns;
	uint64_t lat_us = lat > 0 ? (uint64_t)(lat / 1000) : 0;

	agg_add(gc_agg, gc_o->flows[fi].check, out, code, backend, ident,
		wl_unix_second(gc_o, due_ns), lat_us, attempt);
	if (out != OUT_OK && rid)
		reporter_sample(gc_rep, gc_o->flows[fi].check, rid, out, code, lat_us, backend,
				ident, wl_unix_ms(gc_o, due_ns));
}

/* The request id of bidi message m of flow fi, in a buffer of the (single)
 * event-loop thread, valid until the next call. */
static const char *gc_msg_rid(size_t fi, const struct gc_msg *m)
{
	static char rid[WL_ID_MAX];

	wl_request_id(gc_o, fi, m->k, m->due_ns, rid, sizeof(rid));
	return rid;
}

static grpc_byte_buffer *gc_pack_req(size_t fi, uint64_t k, int64_t due_ns, char *rid,
				     size_t rlen)
{
	Conform__V1__EchoRequest rq;
	grpc_slice sl;
	grpc_byte_buffer *bb;

	wl_request_id(gc_o, fi, k, due_ns, rid, rlen);
	conform__v1__echo_request__init(&rq);
	rq.request_id = rid;
	rq.check = (char *)gc_o->flows[fi].check;
	rq.seq = k;
	rq.delay_ms = (uint32_t)gc_o->flows[fi].delay_ms;
	sl = grpc_slice_malloc(conform__v1__echo_request__get_packed_size(&rq));
	conform__v1__echo_request__pack(&rq, GRPC_SLICE_START_PTR(sl));
	bb = grpc_raw_byte_buffer_create(&sl, 1);
	grpc_slice_unref(sl);
	return bb;
}

static Conform__V1__EchoReply *gc_decode(grpc_byte_buffer *bb)
{
	grpc_byte_buffer_reader rd;
	grpc_slice sl;
	Conform__V1__EchoReply *r;

	if (!bb || !grpc_byte_buffer_reader_init(&rd, bb))
		return NULL;
	sl = grpc_byte_buffer_reader_readall(&rd);
	grpc_byte_buffer_reader_destroy(&rd);
	r = conform__v1__echo_reply__unpack(NULL, GRPC_SLICE_LENGTH(sl), GRPC_SLICE_START_PTR(sl));
	grpc_slice_unref(sl);
	return r;
}

static gpr_timespec gc_deadline(int64_t mono_ns_at)
{
	int64_t d = mono_ns_at - mono_ns();

	return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
			    gpr_time_from_nanos(d > 0 ? d : 0, GPR_TIMESPAN));
}

/* ---- unary ---- */

static void gc_unary_free(struct gc_unary *u)
{
	if (u->prev)
		u->prev->next = u->next;
	else if (gc_active == u)
		gc_active = u->next;
	if (u->next)
		u->next->prev = u->prev;
	if (u->call)
		grpc_call_unref(u->call);
	if (u->send)
		grpc_byte_buffer_destroy(u->send);
	if (u->recv)
		grpc_byte_buffer_destroy(u->recv);
	grpc_metadata_array_destroy(&u->md);
	grpc_metadata_array_destroy(&u->trailing);
	grpc_slice_unref(u->details);
	free(u);
}

static int gc_unary_start(size_t fi, uint64_t k, int64_t due)
{
	const struct wl_flow *f = &gc_o->flows[fi];
	struct gc_flow *fl = &gc_flows[fi];
	struct gc_unary *u = calloc(1, sizeof(*u));
	grpc_op ops[6];

	if (!u)
		return -1;
	u->tag.kind = GC_UNARY;
	u->tag.p = u;
	u->flow = fi;
	u->due_ns = due;
	u->deadline_ns = mono_ns() + f->timeout_ms * 1000000;
	u->details = grpc_empty_slice();
	grpc_metadata_array_init(&u->md);
	grpc_metadata_array_init(&u->trailing);
	u->send = gc_pack_req(fi, k, due, u->rid, sizeof(u->rid));
	u->call = grpc_channel_create_call(fl->ch, NULL, GRPC_PROPAGATE_DEFAULTS, gc_cq,
					   grpc_slice_from_static_string("/conform.v1.Echo/Unary"),
					   fl->has_host ? &fl->host : NULL,
					   gc_deadline(u->deadline_ns), NULL);
	if (!u->call)
		goto fail;
	u->meta[0].key = grpc_slice_from_static_string("x-request-id");
	u->meta[0].value = grpc_slice_from_static_string(u->rid);
	u->meta[1].key = grpc_slice_from_static_string("x-conform-check");
	u->meta[1].value = grpc_slice_from_static_string(f->check);
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[0].data.send_initial_metadata.count = 2;
	ops[0].data.send_initial_metadata.metadata = u->meta;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = u->send;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &u->md;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &u->recv;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = &u->trailing;
	ops[5].data.recv_status_on_client.status = &u->status;
	ops[5].data.recv_status_on_client.status_details = &u->details;
	if (grpc_call_start_batch(u->call, ops, 6, &u->tag, NULL) != GRPC_CALL_OK)
		goto fail;
	u->next = gc_active;
	if (gc_active)
		gc_active->prev = u;
	gc_active = u;
	fl->inflight++;
	return 0;
fail:
	gc_unary_free(u);
	return -1;
}

static int gc_has(grpc_slice s, const char *needle)
{
	size_t n = GRPC_SLICE_LENGTH(s), m = strlen(needle), i;
	const char *p = (const char *)GRPC_SLICE_START_PTR(s);

	for (i = 0; i + m <= n; i++)
		if (!memcmp(p + i, needle, m))
			return 1;
	return 0;
}

static void gc_unary_done(struct gc_unary *u)
{
	int64_t now = mono_ns();
	enum outcome out;
	int code = (int)u->status;
	Conform__V1__EchoReply *r = NULL;

	gc_flows[u->flow].inflight--;
	if (u->status == GRPC_STATUS_OK) {
		r = gc_decode(u->recv);
		out = r ? OUT_OK : OUT_PROTOCOL;
	} else if (u->status == GRPC_STATUS_DEADLINE_EXCEEDED && now >= u->deadline_ns - 5000000) {
		out = OUT_TIMEOUT;
	} else if (u->status == GRPC_STATUS_UNAVAILABLE &&
		   (gc_has(u->details, "onnection refused"))) {
		out = OUT_CONNECT_REFUSED;
	} else {
		out = OUT_GRPC_ERROR;
	}
	gc_record(u->flow, out, code, r ? r->version : "", r ? r->identity : "", u->due_ns, now,
		  r ? r->attempt : 0, u->rid);
	if (r)
		conform__v1__echo_reply__free_unpacked(r, NULL);
	gc_unary_free(u);
}

/* ---- bidi ---- */

static struct gc_msg *gc_at(struct gc_bidi *b, uint64_t pos)
{
	return &b->ring[pos % b->cap];
}

static void gc_bidi_pop(struct gc_bidi *b)
{
	while (b->head < b->tail && gc_at(b, b->head)->done)
		b->head++;
	if (b->send_pos < b->head)
		b->send_pos = b->head;
}

/* Messages past their timeout are lost, sent or not. */
static void gc_bidi_expire(struct gc_bidi *b, int64_t now)
{
	int64_t to = gc_o->flows[b->flow].timeout_ms * 1000000;
	uint64_t p;

	for (p = b->head; p < b->tail; p++) {
		struct gc_msg *m = gc_at(b, p);

		if (m->done)
			continue;
		if (m->due_ns + to > now)
			break;
		m->done = 1;
		gc_record(b->flow, OUT_STREAM_LOST, 0, "", "", m->due_ns, now, 0,
			  gc_msg_rid(b->flow, m));
	}
	gc_bidi_pop(b);
}

static int gc_bidi_batch(struct gc_bidi *b, grpc_op *ops, size_t n, struct gc_tag *t)
{
	if (grpc_call_start_batch(b->call, ops, n, t, NULL) != GRPC_CALL_OK) {
		grpc_call_cancel(b->call, NULL);
		return -1;
	}
	b->ops++;
	return 0;
}

static void gc_bidi_open(struct gc_bidi *b)
{
	struct gc_flow *fl = &gc_flows[b->flow];
	grpc_op ops[2];

	b->call = grpc_channel_create_call(fl->ch, NULL, GRPC_PROPAGATE_DEFAULTS, gc_cq,
					   grpc_slice_from_static_string("/conform.v1.Echo/Bidi"),
					   fl->has_host ? &fl->host : NULL,
					   gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	if (!b->call) {
		b->reconnect_at_ms = mono_ms() + b->backoff_ms;
		return;
	}
	grpc_metadata_array_init(&b->md);
	grpc_metadata_array_init(&b->trailing);
	b->details = grpc_empty_slice();
	b->md_asked = b->sending = b->receiving = b->closing = b->up = 0;
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[0].data.recv_status_on_client.trailing_metadata = &b->trailing;
	ops[0].data.recv_status_on_client.status = &b->status;
	ops[0].data.recv_status_on_client.status_details = &b->details;
	if (gc_bidi_batch(b, ops, 1, &b->t_status) < 0) {
		/* no status will come: give the call up now */
		grpc_call_unref(b->call);
		b->call = NULL;
		grpc_metadata_array_destroy(&b->md);
		grpc_metadata_array_destroy(&b->trailing);
		b->reconnect_at_ms = mono_ms() + b->backoff_ms;
		return;
	}
	b->meta[0].key = grpc_slice_from_static_string("x-conform-check");
	b->meta[0].value = grpc_slice_from_static_string(gc_o->flows[b->flow].check);
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[0].data.send_initial_metadata.count = 1;
	ops[0].data.send_initial_metadata.metadata = b->meta;
	if (gc_bidi_batch(b, ops, 1, &b->t_md) == 0)
		b->live = 1;
}

static void gc_bidi_pump(struct gc_bidi *b)
{
	grpc_op ops[2];
	size_t n = 0;
	char rid[WL_ID_MAX];

	if (!b->call || !b->live || b->closing)
		return;
	if (!b->receiving) {
		memset(ops, 0, sizeof(ops));
		if (!b->md_asked) {
			ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
			ops[n].data.recv_initial_metadata.recv_initial_metadata = &b->md;
			n++;
		}
		ops[n].op = GRPC_OP_RECV_MESSAGE;
		ops[n].data.recv_message.recv_message = &b->recv_bb;
		n++;
		if (gc_bidi_batch(b, ops, n, &b->t_recv) == 0) {
			b->receiving = 1;
			b->md_asked = 1;
		}
	}
	while (!b->sending && b->send_pos < b->tail) {
		struct gc_msg *m = gc_at(b, b->send_pos);
		grpc_op op;

		b->send_pos++;
		if (m->done || m->sent)
			continue;
		b->send_bb = gc_pack_req(b->flow, m->k, m->due_ns, rid, sizeof(rid));
		memset(&op, 0, sizeof(op));
		op.op = GRPC_OP_SEND_MESSAGE;
		op.data.send_message.send_message = b->send_bb;
		if (gc_bidi_batch(b, &op, 1, &b->t_send) < 0) {
			grpc_byte_buffer_destroy(b->send_bb);
			b->send_bb = NULL;
			b->send_pos--;
			return;
		}
		m->sent = 1;
		b->sending = 1;
	}
}

/* One message is due: queue it, or count overload when the ring is full. */
static void gc_bidi_due(struct gc_bidi *b, uint64_t k, int64_t due)
{
	struct gc_msg *m;

	if (b->tail - b->head >= b->cap) {
		gc_record(b->flow, OUT_CLIENT_OVERLOAD, 0, "", "", due, due, 0, NULL);
		return;
	}
	m = gc_at(b, b->tail++);
	m->k = k;
	m->due_ns = due;
	m->sent = m->done = 0;
	gc_bidi_pump(b);
}

static void gc_bidi_echo(struct gc_bidi *b, grpc_byte_buffer *bb)
{
	Conform__V1__EchoReply *r = gc_decode(bb);
	int64_t now = mono_ns();
	uint64_t p;

	if (!r)
		return;   /* not ours to count: the message it answers will expire */
	b->backoff_ms = GC_BACKOFF_MIN_MS;
	b->up = 1;
	for (p = b->head; p < b->tail; p++) {
		struct gc_msg *m = gc_at(b, p);

		if (m->k == r->seq) {
			if (!m->done) {
				m->done = 1;
				gc_record(b->flow, OUT_OK, 0, r->version, r->identity, m->due_ns, now,
					  r->attempt, NULL);
			}
			break;
		}
		if (m->k > r->seq)
			break;
	}
	gc_bidi_pop(b);
	conform__v1__echo_reply__free_unpacked(r, NULL);
}

static void gc_bidi_call_end(struct gc_bidi *b)
{
	grpc_call_unref(b->call);
	b->call = NULL;
	grpc_metadata_array_destroy(&b->md);
	grpc_metadata_array_destroy(&b->trailing);
	grpc_slice_unref(b->details);
}

static void gc_bidi_event(struct gc_bidi *b, enum gc_kind kind, int ok)
{
	int64_t now = mono_ns();
	uint64_t p;
	char q[300];

	b->ops--;
	switch (kind) {
	case GC_B_STATUS: {
		char *d = grpc_slice_to_c_string(b->details);

		b->live = 0;
		if (!b->closing) {
			/* the stream broke: one reset (a reopen that never worked is not
			 * another one), and what it carried is lost */
			if (b->up)
				gc_record(b->flow, OUT_STREAM_RESET, (int)b->status, "", "", now, now,
					  0, NULL);
			for (p = b->head; p < b->tail; p++) {
				struct gc_msg *m = gc_at(b, p);

				if (m->sent && !m->done) {
					m->done = 1;
					gc_record(b->flow, OUT_STREAM_LOST, 0, "", "", m->due_ns, now, 0,
						  gc_msg_rid(b->flow, m));
				}
			}
			gc_bidi_pop(b);
			log_kv(LOG_WARN, b->up ? "stream reset" : "stream open failed",
			       "check=%s status=%d details=%s backoff_ms=%lld",
			       gc_o->flows[b->flow].check, (int)b->status,
			       log_quote(d, q, sizeof(q)), (long long)b->backoff_ms);
			b->reconnect_at_ms = mono_ms() + b->backoff_ms;
			b->backoff_ms *= 2;
			if (b->backoff_ms > GC_BACKOFF_MAX_MS)
				b->backoff_ms = GC_BACKOFF_MAX_MS;
		}
		gpr_free(d);
		break;
	}
	case GC_B_MD:
	case GC_B_CLOSE:
		if (!ok)
			grpc_call_cancel(b->call, NULL);
		break;
	case GC_B_SEND:
		b->sending = 0;
		grpc_byte_buffer_destroy(b->send_bb);
		b->send_bb = NULL;
		if (!ok)
			grpc_call_cancel(b->call, NULL);
		break;
	case GC_B_RECV:
		b->receiving = 0;
		if (b->recv_bb) {
			gc_bidi_echo(b, b->recv_bb);
			grpc_byte_buffer_destroy(b->recv_bb);
			b->recv_bb = NULL;
		}
		/* no message: the server ended the stream; the status tells how */
		else
			b->live = 0;
		break;
	default:
		break;
	}
	if (b->ops == 0)
		gc_bidi_call_end(b);
	else if (b->live)
		gc_bidi_pump(b);
}

static void gc_bidi_close(struct gc_bidi *b)
{
	grpc_op op;

	if (!b->call || b->closing)
		return;
	b->closing = 1;
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	if (b->sending || gc_bidi_batch(b, &op, 1, &b->t_close) < 0)
		grpc_call_cancel(b->call, NULL);
}

/* ---- loop ---- */

static void gc_dispatch(grpc_event ev)
{
	struct gc_tag *t = ev.tag;

	if (t->kind == GC_UNARY)
		gc_unary_done(t->p);
	else
		gc_bidi_event(t->p, t->kind, ev.success);
}

static int64_t gc_due(const struct wl_flow *f, int64_t t0, uint64_t k)
{
	return t0 + (int64_t)((double)k * 1e9 / f->rate);
}

/* Wait up to wait_ns for a completion, then take whatever else is ready
 * (at most GC_DRAIN) before the caller looks at the schedule again: one
 * schedule pass per event costs more than the events at high rates. */
#define GC_DRAIN 64
static void gc_next(int64_t wait_ns)
{
	grpc_event ev;
	int n;

	if (wait_ns < 0)
		wait_ns = 0;
	ev = grpc_completion_queue_next(gc_cq, gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
						gpr_time_from_nanos(wait_ns, GPR_TIMESPAN)), NULL);
	for (n = 0; ev.type == GRPC_OP_COMPLETE && n < GC_DRAIN; n++) {
		gc_dispatch(ev);
		ev = grpc_completion_queue_next(gc_cq, gpr_inf_past(GPR_CLOCK_MONOTONIC), NULL);
	}
	if (ev.type == GRPC_OP_COMPLETE)
		gc_dispatch(ev);
}

static int gc_busy(void)
{
	size_t i;

	if (gc_active)
		return 1;
	for (i = 0; i < gc_o->nflows; i++)
		if (gc_flows[i].bidi && gc_flows[i].bidi->call)
			return 1;
	return 0;
}

static int gc_setup(void)
{
	size_t i;

	for (i = 0; i < gc_o->nflows; i++) {
		const struct wl_flow *f = &gc_o->flows[i];
		struct gc_flow *fl = &gc_flows[i];
		grpc_channel_credentials *cr = grpc_insecure_credentials_create();
		grpc_arg arg;
		grpc_channel_args ca;

		/* one connection per flow, not shared with other flows to the same target */
		arg.type = GRPC_ARG_INTEGER;
		arg.key = (char *)GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL;
		arg.value.integer = 1;
		ca.num_args = 1;
		ca.args = &arg;
		fl->ch = grpc_channel_create(f->target, cr, &ca);
		grpc_channel_credentials_release(cr);
		if (!fl->ch)
			return -1;
		if (f->authority[0]) {
			fl->host = grpc_slice_from_copied_string(f->authority);
			fl->has_host = 1;
		}
		if (f->method == WL_BIDI) {
			struct gc_bidi *b = calloc(1, sizeof(*b));

			if (!b)
				return -1;
			fl->bidi = b;
			b->flow = i;
			b->cap = (size_t)f->max_inflight;
			b->ring = calloc(b->cap, sizeof(*b->ring));
			if (!b->ring)
				return -1;
			b->backoff_ms = GC_BACKOFF_MIN_MS;
			b->t_status.kind = GC_B_STATUS;
			b->t_md.kind = GC_B_MD;
			b->t_send.kind = GC_B_SEND;
			b->t_recv.kind = GC_B_RECV;
			b->t_close.kind = GC_B_CLOSE;
			b->t_status.p = b->t_md.p = b->t_send.p = b->t_recv.p = b->t_close.p = b;
		}
	}
	return 0;
}

static void gc_teardown(void)
{
	size_t i;

	for (i = 0; i < gc_o->nflows; i++) {
		struct gc_flow *fl = &gc_flows[i];

		if (fl->bidi) {
			free(fl->bidi->ring);
			free(fl->bidi);
		}
		if (fl->has_host)
			grpc_slice_unref(fl->host);
		if (fl->ch)
			grpc_channel_destroy(fl->ch);
	}
	memset(gc_flows, 0, sizeof(gc_flows));
}

/* Connect every channel before the schedule starts (bounded), so the first
 * second does not measure connection setup. Servers that are down are fine. */
static void gc_warm_up(int64_t max_ms)
{
	int64_t end = mono_ms() + max_ms;
	size_t i;
	int ready;

	do {
		ready = 1;
		for (i = 0; i < gc_o->nflows; i++) {
			grpc_connectivity_state st =
				grpc_channel_check_connectivity_state(gc_flows[i].ch, 1);

			if (st == GRPC_CHANNEL_TRANSIENT_FAILURE || st == GRPC_CHANNEL_SHUTDOWN)
				return;
			if (st != GRPC_CHANNEL_READY)
				ready = 0;
		}
		if (!ready)
			gc_next(10000000);
	} while (!ready && mono_ms() < end && !wl_should_stop());
}

int grpc_client_run(const struct wl_opts *o)
{
	struct reporter *rep = NULL;
	int64_t t0, deadline, max_timeout = 0;
	size_t i;
	int rc = 1;

	gc_o = o;
	for (i = 0; i < WL_MAX_FLOWS; i++)
		wl_sched_init(&gc_sched[i]);
	grpc_init();
	gc_agg = agg_new();
	gc_cq = grpc_completion_queue_create_for_next(NULL);
	if (!gc_agg || gc_setup() < 0)
		goto out;
	for (i = 0; i < o->nflows; i++)
		if (o->flows[i].timeout_ms > max_timeout)
			max_timeout = o->flows[i].timeout_ms;
	rep = reporter_start(o, gc_agg);
	gc_rep = rep;
	if (!rep || wl_write_ready(o, "", "") < 0)
		goto out;
	gc_warm_up(2000);
	log_kv(LOG_INFO, "running", "role=grpc-client flows=%zu", o->nflows);
	t0 = mono_ns();
	for (i = 0; i < o->nflows; i++)
		if (gc_flows[i].bidi)
			gc_bidi_open(gc_flows[i].bidi);
	while (!wl_should_stop()) {
		int64_t now = mono_ns(), next = now + 50000000;

		for (i = 0; i < o->nflows; i++) {
			const struct wl_flow *f = &o->flows[i];
			struct gc_flow *fl = &gc_flows[i];
			int64_t due;

			while ((due = gc_due(f, t0, fl->k)) <= now) {
				if (fl->bidi) {
					gc_bidi_due(fl->bidi, fl->k, due);
				} else if (fl->inflight >= f->max_inflight ||
					   gc_unary_start(i, fl->k, due) < 0) {
					gc_record(i, OUT_CLIENT_OVERLOAD, 0, "", "", due, due, 0, NULL);
					wl_sched_note(&gc_sched[i], 0, 0);
				} else {
					wl_sched_note(&gc_sched[i], 1, mono_ns() - due);
				}
				fl->k++;
			}
			if (due < next)
				next = due;
			if (fl->bidi) {
				struct gc_bidi *b = fl->bidi;

				gc_bidi_expire(b, now);
				if (!b->call && mono_ms() >= b->reconnect_at_ms)
					gc_bidi_open(b);
				gc_bidi_pump(b);
				if (!b->call && b->reconnect_at_ms * 1000000 < next)
					next = b->reconnect_at_ms * 1000000;
			}
		}
		gc_next(next - mono_ns());
	}
	log_kv(LOG_INFO, "stopping", NULL);
	gc_stopping = 1;
	/* in-flight unary calls end by their deadline; bidi messages are echoed
	 * or expire; then the streams are closed */
	deadline = mono_ms() + max_timeout + 1000;
	for (;;) {
		int pending = gc_active != NULL;

		for (i = 0; i < o->nflows; i++) {
			struct gc_bidi *b = gc_flows[i].bidi;

			if (!b)
				continue;
			gc_bidi_expire(b, mono_ns());
			if (b->head < b->tail) {
				pending = 1;
				if (!b->call && mono_ms() >= b->reconnect_at_ms)
					gc_bidi_open(b);
				gc_bidi_pump(b);
			}
		}
		if (!pending || mono_ms() >= deadline)
			break;
		gc_next(20000000);
	}
	for (i = 0; i < o->nflows; i++) {
		struct gc_bidi *b = gc_flows[i].bidi;

		if (!b)
			continue;
		/* anything still queued never got its chance */
		for (; b->head < b->tail; b->head++) {
			struct gc_msg *m = gc_at(b, b->head);

			if (!m->done)
				gc_record(i, OUT_STREAM_LOST, 0, "", "", m->due_ns, mono_ns(), 0,
					  gc_msg_rid(i, m));
			m->done = 1;
		}
		gc_bidi_close(b);
	}
	deadline = mono_ms() + 1000;
	while (gc_busy() && mono_ms() < deadline)
		gc_next(20000000);
	/* whatever is left is cancelled; its completion still counts it */
	for (struct gc_unary *u = gc_active; u; u = u->next)
		grpc_call_cancel(u->call, NULL);
	for (i = 0; i < o->nflows; i++)
		if (gc_flows[i].bidi && gc_flows[i].bidi->call)
			grpc_call_cancel(gc_flows[i].bidi->call, NULL);
	while (gc_busy())
		gc_next(100000000);
	rc = 0;
out:
	gc_teardown();
	grpc_completion_queue_shutdown(gc_cq);
	while (grpc_completion_queue_next(gc_cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
	       GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(gc_cq);
	gc_rep = NULL;
	reporter_finish(rep, 5000);
	if (rc == 0) {
		wl_log_totals(gc_agg);
		for (i = 0; i < o->nflows; i++)
			if (o->flows[i].method == WL_UNARY)
				wl_sched_log(o->flows[i].check, &gc_sched[i], 1);
	}
	agg_free(gc_agg);
	grpc_shutdown();
	return rc;
}
