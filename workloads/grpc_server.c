/*
 * grpc_server.c - the sample gRPC backend: conform.v1.Echo/Unary and /Bidi on
 * one completion queue driven by the main thread. Delays (EchoRequest.delay_ms
 * and the latency fault) are a timer list consulted by the queue loop, never
 * sleeps; a bidi call has at most one SEND_MESSAGE in flight and stops reading
 * while too many replies wait. Shutdown follows the order that keeps gRPC
 * from aborting: shutdown+cancel, drain to the notify tag, destroy, drain.
 */
#include "workload.h"
#include "base/addr.h"
#include "base/util.h"
#include "evidence/attempts.h"
#include "conform.pb-c.h"

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <stdlib.h>
#include <string.h>

#define GS_MAX_MSG (1 << 20)
#define GS_MAX_QUEUED 1024     /* replies waiting per bidi call before reading pauses */
#define GS_MAX_DELAY_MS 600000

enum gs_kind { GS_NEW, GS_CLOSE, GS_RECV, GS_SEND, GS_SHUTDOWN };

struct gs_call;
struct gs_tag {
	enum gs_kind kind;
	struct gs_call *c;
};

struct gs_msg {
	struct gs_msg *next;
	grpc_byte_buffer *bb;
};

struct gs_call {
	grpc_call *call;
	grpc_call_details details;
	grpc_metadata_array md;
	struct gs_tag t_new, t_close, t_recv, t_send;
	int refs;               /* batches in flight + timers holding the call */
	int cancelled, closed, bidi, half_closed, md_sent, status_sent, sending, reading;
	size_t waiting;         /* replies queued or on a timer */
	char identity[256];
	grpc_byte_buffer *recv_buf, *send_buf;
	struct gs_msg *q_head, *q_tail;
};

struct gs_timer {
	struct gs_timer *next;
	int64_t due_ns;
	struct gs_call *c;
	grpc_byte_buffer *bb;   /* reply; NULL = unary error status */
	grpc_status_code status;
};

static const struct wl_opts *gs_o;
static struct attempts *gs_att;
static grpc_server *gs_server;
static grpc_completion_queue *gs_cq;
static int gs_stopping;
static struct gs_timer *gs_timers;
static struct gs_tag gs_t_shutdown = { GS_SHUTDOWN, NULL };

static void gs_call_free(struct gs_call *c)
{
	while (c->q_head) {
		struct gs_msg *m = c->q_head;

		c->q_head = m->next;
		grpc_byte_buffer_destroy(m->bb);
		free(m);
	}
	if (c->recv_buf)
		grpc_byte_buffer_destroy(c->recv_buf);
	if (c->send_buf)
		grpc_byte_buffer_destroy(c->send_buf);
	if (c->call)
		grpc_call_unref(c->call);
	grpc_call_details_destroy(&c->details);
	grpc_metadata_array_destroy(&c->md);
	free(c);
}

static void gs_unref(struct gs_call *c)
{
	if (--c->refs == 0)
		gs_call_free(c);
}

static int gs_start(struct gs_call *c, const grpc_op *ops, size_t n, struct gs_tag *t)
{
	grpc_call_error e;

	if (c->closed || gs_stopping)
		return -1;
	e = grpc_call_start_batch(c->call, ops, n, t, NULL);
	if (e != GRPC_CALL_OK) {
		log_kv(LOG_ERROR, "grpc batch failed", "error=%d", (int)e);
		grpc_call_cancel(c->call, NULL);
		c->closed = 1;
		return -1;
	}
	c->refs++;
	return 0;
}

static void gs_arm(void)
{
	struct gs_call *c;

	if (gs_stopping)
		return;
	c = calloc(1, sizeof(*c));
	if (!c) {
		log_kv(LOG_ERROR, "out of memory", NULL);
		return;
	}
	grpc_call_details_init(&c->details);
	grpc_metadata_array_init(&c->md);
	c->t_new.kind = GS_NEW;
	c->t_close.kind = GS_CLOSE;
	c->t_recv.kind = GS_RECV;
	c->t_send.kind = GS_SEND;
	c->t_new.c = c->t_close.c = c->t_recv.c = c->t_send.c = c;
	if (grpc_server_request_call(gs_server, &c->call, &c->details, &c->md, gs_cq, gs_cq,
				     &c->t_new) != GRPC_CALL_OK) {
		log_kv(LOG_ERROR, "request_call failed", NULL);
		gs_call_free(c);
	}
}

static void gs_timer_add(int64_t due_ns, struct gs_call *c, grpc_byte_buffer *bb,
			 grpc_status_code status)
{
	struct gs_timer *t = calloc(1, sizeof(*t)), **pp;

	if (!t) {
		if (bb)
			grpc_byte_buffer_destroy(bb);
		return;
	}
	t->due_ns = due_ns;
	t->c = c;
	t->bb = bb;
	t->status = status;
	c->refs++;
	c->waiting++;
	for (pp = &gs_timers; *pp && (*pp)->due_ns <= due_ns; pp = &(*pp)->next)
		;
	t->next = *pp;
	*pp = t;
}

/* Unary: the one and only reply (bb) or an error status. Takes bb. */
static void gs_unary_send(struct gs_call *c, grpc_byte_buffer *bb, grpc_status_code st)
{
	grpc_op ops[3];
	size_t n = 0;
	grpc_slice details = grpc_slice_from_static_string("injected fault");

	memset(ops, 0, sizeof(ops));
	ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
	if (bb) {
		ops[n].op = GRPC_OP_SEND_MESSAGE;
		ops[n].data.send_message.send_message = bb;
		n++;
	}
	ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[n].data.send_status_from_server.status = st;
	if (st != GRPC_STATUS_OK)
		ops[n].data.send_status_from_server.status_details = &details;
	n++;
	c->md_sent = c->status_sent = 1;
	c->send_buf = bb;
	if (gs_start(c, ops, n, &c->t_send) == 0) {
		c->sending = 1;
	} else if (bb) {
		grpc_byte_buffer_destroy(bb);
		c->send_buf = NULL;
	}
}

static void gs_error(struct gs_call *c, grpc_status_code st, const char *msg)
{
	grpc_op ops[2];
	grpc_slice details = grpc_slice_from_static_string(msg);

	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[1].data.send_status_from_server.status = st;
	ops[1].data.send_status_from_server.status_details = &details;
	if (c->md_sent || c->sending || c->status_sent) {
		grpc_call_cancel_with_status(c->call, st, msg, NULL);
		c->closed = 1;
		return;
	}
	c->md_sent = c->status_sent = 1;
	if (gs_start(c, ops, 2, &c->t_send) == 0)
		c->sending = 1;
}

/* Bidi: send the next queued reply, or the final status once drained. */
static void gs_pump(struct gs_call *c)
{
	grpc_op ops[2];
	size_t n = 0;

	if (c->sending || c->status_sent || c->closed || gs_stopping)
		return;
	memset(ops, 0, sizeof(ops));
	if (c->q_head) {
		struct gs_msg *m = c->q_head;

		c->q_head = m->next;
		if (!c->q_head)
			c->q_tail = NULL;
		c->waiting--;
		c->send_buf = m->bb;
		free(m);
		if (!c->md_sent)
			ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
		ops[n].op = GRPC_OP_SEND_MESSAGE;
		ops[n].data.send_message.send_message = c->send_buf;
		n++;
	} else if (c->half_closed && !c->waiting) {
		if (!c->md_sent)
			ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
		ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
		ops[n].data.send_status_from_server.status = GRPC_STATUS_OK;
		n++;
		c->status_sent = 1;
	} else {
		return;
	}
	c->md_sent = 1;
	if (gs_start(c, ops, n, &c->t_send) == 0) {
		c->sending = 1;
	} else if (c->send_buf) {
		grpc_byte_buffer_destroy(c->send_buf);
		c->send_buf = NULL;
	}
}

static void gs_enqueue(struct gs_call *c, grpc_byte_buffer *bb)
{
	struct gs_msg *m = calloc(1, sizeof(*m));

	if (!m) {
		grpc_byte_buffer_destroy(bb);
		c->waiting--;
		return;
	}
	m->bb = bb;
	if (c->q_tail)
		c->q_tail->next = m;
	else
		c->q_head = m;
	c->q_tail = m;
	gs_pump(c);
}

static void gs_read(struct gs_call *c)
{
	grpc_op op;

	if (c->reading || c->half_closed || (c->bidi && c->waiting >= GS_MAX_QUEUED))
		return;
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_MESSAGE;
	op.data.recv_message.recv_message = &c->recv_buf;
	if (gs_start(c, &op, 1, &c->t_recv) == 0)
		c->reading = 1;
}

static grpc_byte_buffer *gs_reply(struct gs_call *c, const Conform__V1__EchoRequest *rq)
{
	Conform__V1__EchoReply rep;
	grpc_slice sl;
	grpc_byte_buffer *bb;

	conform__v1__echo_reply__init(&rep);
	rep.server = (char *)gs_o->name;
	rep.version = (char *)gs_o->version;
	rep.request_id = rq->request_id ? rq->request_id : (char *)"";
	rep.attempt = attempts_hit(gs_att, rq->request_id);
	rep.identity = c->identity;
	rep.seq = rq->seq;
	rep.payload = rq->payload;
	sl = grpc_slice_malloc(conform__v1__echo_reply__get_packed_size(&rep));
	conform__v1__echo_reply__pack(&rep, GRPC_SLICE_START_PTR(sl));
	bb = grpc_raw_byte_buffer_create(&sl, 1);
	grpc_slice_unref(sl);
	return bb;
}

static Conform__V1__EchoRequest *gs_decode(grpc_byte_buffer *msg)
{
	grpc_byte_buffer_reader rd;
	grpc_slice sl;
	Conform__V1__EchoRequest *rq;

	if (!grpc_byte_buffer_reader_init(&rd, msg))
		return NULL;
	sl = grpc_byte_buffer_reader_readall(&rd);
	grpc_byte_buffer_reader_destroy(&rd);
	rq = conform__v1__echo_request__unpack(NULL, GRPC_SLICE_LENGTH(sl),
					       GRPC_SLICE_START_PTR(sl));
	grpc_slice_unref(sl);
	return rq;
}

static int slice_is(grpc_slice sl, const char *s)
{
	size_t n = strlen(s);

	return GRPC_SLICE_LENGTH(sl) == n && !memcmp(GRPC_SLICE_START_PTR(sl), s, n);
}

static void gs_on_new(struct gs_call *c, int ok)
{
	grpc_op op;
	size_t i;
	int unary;

	if (!ok || gs_stopping) {
		if (c->call)
			grpc_call_cancel(c->call, NULL);
		gs_call_free(c);
		return;
	}
	gs_arm();
	c->refs = 1;   /* held while we set the call up */
	for (i = 0; i < c->md.count; i++) {
		if (slice_is(c->md.metadata[i].key, gs_o->identity_header)) {
			size_t n = GRPC_SLICE_LENGTH(c->md.metadata[i].value);

			if (n >= sizeof(c->identity))
				n = sizeof(c->identity) - 1;
			memcpy(c->identity, GRPC_SLICE_START_PTR(c->md.metadata[i].value), n);
			c->identity[n] = '\0';
			if (memchr(c->identity, '\0', n))
				c->identity[0] = '\0';
			break;
		}
	}
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	op.data.recv_close_on_server.cancelled = &c->cancelled;
	if (gs_start(c, &op, 1, &c->t_close) == 0) {
		unary = slice_is(c->details.method, "/conform.v1.Echo/Unary");
		c->bidi = slice_is(c->details.method, "/conform.v1.Echo/Bidi");
		if (unary || c->bidi)
			gs_read(c);
		else
			gs_error(c, GRPC_STATUS_UNIMPLEMENTED, "unknown method");
	}
	gs_unref(c);
}

static void gs_on_recv(struct gs_call *c, int ok)
{
	grpc_byte_buffer *msg = c->recv_buf;
	Conform__V1__EchoRequest *rq;
	struct wl_fault f;
	int64_t delay;

	c->reading = 0;
	c->recv_buf = NULL;
	if (!ok || !msg) {
		if (msg)
			grpc_byte_buffer_destroy(msg);
		if (!ok) {
			c->closed = 1;
			return;
		}
		c->half_closed = 1;
		if (c->bidi)
			gs_pump(c);
		else if (!c->status_sent)
			gs_error(c, GRPC_STATUS_INVALID_ARGUMENT, "no request message");
		return;
	}
	rq = gs_decode(msg);
	grpc_byte_buffer_destroy(msg);
	if (gs_stopping || c->closed) {
		conform__v1__echo_request__free_unpacked(rq, NULL);
		return;
	}
	if (!rq) {
		gs_error(c, GRPC_STATUS_INVALID_ARGUMENT, "not an EchoRequest");
		return;
	}
	wl_fault_get(&f);
	delay = (int64_t)rq->delay_ms + f.latency_ms;
	if (delay > GS_MAX_DELAY_MS)
		delay = GS_MAX_DELAY_MS;
	if (!c->bidi) {
		grpc_status_code st = GRPC_STATUS_OK;
		grpc_byte_buffer *bb = NULL;

		/* count the sighting even when the answer is an injected error */
		if (f.error_rate > 0 && rand_unit() < f.error_rate) {
			attempts_hit(gs_att, rq->request_id);
			st = (grpc_status_code)f.error_code;
		} else {
			bb = gs_reply(c, rq);
		}
		if (delay > 0)
			gs_timer_add(mono_ns() + delay * 1000000, c, bb, st);
		else
			gs_unary_send(c, bb, st);
		/* the unary request is complete: read once more to see the half-close */
	} else {
		grpc_byte_buffer *bb = gs_reply(c, rq);

		if (delay > 0) {
			gs_timer_add(mono_ns() + delay * 1000000, c, bb, GRPC_STATUS_OK);
		} else {
			c->waiting++;
			gs_enqueue(c, bb);
		}
		gs_read(c);
	}
	conform__v1__echo_request__free_unpacked(rq, NULL);
}

static void gs_on_send(struct gs_call *c, int ok)
{
	c->sending = 0;
	if (c->send_buf) {
		grpc_byte_buffer_destroy(c->send_buf);
		c->send_buf = NULL;
	}
	if (!ok) {
		c->closed = 1;
		return;
	}
	if (c->bidi) {
		gs_pump(c);
		gs_read(c);
	}
}

/* Fire due timers; returns ns until the next one (or -1 if none). */
static int64_t gs_timers_run(void)
{
	int64_t now = mono_ns();

	while (gs_timers && (gs_stopping || gs_timers->due_ns <= now)) {
		struct gs_timer *t = gs_timers;
		struct gs_call *c = t->c;

		gs_timers = t->next;
		c->waiting--;
		if (gs_stopping || c->closed) {
			if (t->bb)
				grpc_byte_buffer_destroy(t->bb);
		} else if (!c->bidi) {
			gs_unary_send(c, t->bb, t->status);
		} else {
			c->waiting++;
			gs_enqueue(c, t->bb);
			gs_read(c);
		}
		free(t);
		gs_unref(c);
	}
	return gs_timers ? gs_timers->due_ns - now : -1;
}

static void gs_begin_shutdown(void)
{
	gs_stopping = 1;
	log_kv(LOG_INFO, "stopping", NULL);
	grpc_server_shutdown_and_notify(gs_server, gs_cq, &gs_t_shutdown);
	grpc_server_cancel_all_calls(gs_server);
	gs_timers_run();   /* drops every timer */
}

static void gs_loop(void)
{
	for (;;) {
		int64_t wait_ns = gs_timers_run();
		gpr_timespec dl;
		grpc_event ev;
		struct gs_tag *t;
		struct gs_call *c;

		if (!gs_stopping && wl_should_stop())
			gs_begin_shutdown();
		if (wait_ns < 0 || wait_ns > 100000000)
			wait_ns = 100000000;
		dl = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
				  gpr_time_from_nanos(wait_ns, GPR_TIMESPAN));
		ev = grpc_completion_queue_next(gs_cq, dl, NULL);
		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
		if (ev.type != GRPC_OP_COMPLETE)
			continue;
		t = ev.tag;
		c = t->c;
		switch (t->kind) {
		case GS_SHUTDOWN:
			grpc_server_destroy(gs_server);
			gs_server = NULL;
			grpc_completion_queue_shutdown(gs_cq);
			break;
		case GS_NEW:
			gs_on_new(c, ev.success);
			break;
		case GS_CLOSE:
			c->closed = 1;
			gs_unref(c);
			break;
		case GS_RECV:
			c->refs++;
			gs_unref(c);   /* the batch's ref, but keep c alive through the handler */
			gs_on_recv(c, ev.success);
			gs_unref(c);
			break;
		case GS_SEND:
			gs_on_send(c, ev.success);
			gs_unref(c);
			break;
		}
	}
}

int grpc_server_run(const struct wl_opts *o)
{
	grpc_arg args[2];
	grpc_channel_args ca;
	grpc_server_credentials *creds;
	struct addr_hostport hp;
	char err[256], listen[ADDR_STR_MAX], admin[160];
	int bound, rc = 1, inited = 0;

	gs_o = o;
	gs_att = attempts_new(100000);
	if (!gs_att)
		goto out;
	if (addr_parse(o->listen, ADDR_PORT_ZERO, &hp, err, sizeof(err)) < 0) {
		log_kv(LOG_ERROR, "cannot listen", "listen=%s err=\"%s\"", o->listen, err);
		goto out;
	}
	grpc_init();
	inited = 1;
	args[0].type = GRPC_ARG_INTEGER;
	args[0].key = (char *)GRPC_ARG_ALLOW_REUSEPORT;
	args[0].value.integer = 0;
	args[1].type = GRPC_ARG_INTEGER;
	args[1].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
	args[1].value.integer = GS_MAX_MSG;
	ca.num_args = 2;
	ca.args = args;
	gs_cq = grpc_completion_queue_create_for_next(NULL);
	gs_server = grpc_server_create(&ca, NULL);
	grpc_server_register_completion_queue(gs_server, gs_cq, NULL);
	/* gRPC parses and resolves the same HOST:PORT forms itself */
	creds = grpc_insecure_server_credentials_create();
	bound = grpc_server_add_http2_port(gs_server, o->listen, creds);
	grpc_server_credentials_release(creds);
	if (bound <= 0) {
		log_kv(LOG_ERROR, "cannot listen", "listen=%s", o->listen);
		grpc_server_destroy(gs_server);
		gs_server = NULL;
		grpc_completion_queue_shutdown(gs_cq);
		while (grpc_completion_queue_next(gs_cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL)
			       .type != GRPC_QUEUE_SHUTDOWN)
			;
		goto out;
	}
	grpc_server_start(gs_server);
	gs_arm();
	addr_join(hp.host, bound, listen, sizeof(listen));
	if (wl_admin_start(o, 1, admin, sizeof(admin)) < 0 ||
	    wl_write_ready(o, listen, admin) < 0) {
		gs_begin_shutdown();
		gs_loop();
		goto out;
	}
	log_kv(LOG_INFO, "serving", "role=grpc-server listen=%s admin=%s version=%s", listen,
	       admin[0] ? admin : "-", o->version);
	gs_loop();
	rc = 0;
out:
	wl_admin_stop();
	if (gs_cq)
		grpc_completion_queue_destroy(gs_cq);
	gs_cq = NULL;
	if (inited)
		grpc_shutdown();
	attempts_free(gs_att);
	return rc;
}
