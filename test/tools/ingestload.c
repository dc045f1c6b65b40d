/*
 * ingestload.c - how many outcome batches conformd's ingest path acks per
 * second. "serve" runs the collector with conformd's group commit
 * (collector_start_group + store_put_batches into a real store, WAL,
 * synchronous=FULL); "load" simulates N workloads, each with its own
 * conform.v1.Collector/Report stream over real gRPC (spread over a few
 * channels, each its own connection), keeping up to --window batches unacked
 * like workloads/reporter.c does, and prints acked batches/s and the commit
 * latency (send of a batch to its ack).
 *
 *   ingestload serve --db PATH --port-file FILE [--addr 127.0.0.1:0] [--no-group]
 *       (--no-group: one transaction per batch, the ingest path before group
 *       commit, kept as the baseline the figure is compared with)
 *       prints "ingestserve stored=N duplicates=N rejected=N groups=N
 *       max_group=N" on SIGTERM/SIGINT (stored counts the store's own
 *       batches.accepted counter: what was committed)
 *   ingestload load --target HOST:PORT [--workloads N] [--seconds S]
 *       [--window W] [--channels C] [--rows R] [--warmup S]
 *       prints "ingestload workloads=N ... acked=N batches_per_s=X
 *       commit_p50_us=N commit_p99_us=N ..." and exits 0, 1 on errors
 *       (a rejected batch, a stream that failed), 2 on bad usage.
 * IL_NOSTORE=1 in serve's environment acks without storing (how fast the
 * gRPC side alone goes: 9,043 batches/s against 4,000-5,000 with the store,
 * in one run each on a loaded 2-core machine). The run token is
 * CONFORM_TOKEN for both. Everything stays where the
 * addresses say; the bench runs it on 127.0.0.1.
 */
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "conform.pb-c.h"
#include "evidence/agg.h"
#include "evidence/hist.h"
#include "evidence/outcome.h"
#include "ingest/collector.h"
#include "store/store.h"

#define IL_MAX_WORKLOADS 20000
#define IL_MAX_WINDOW 64
#define IL_MAX_CHANNELS 256
#define IL_MAX_ROWS 64

/* ---- serve ---- */

struct il_serve {
	struct store *st;
	uint64_t groups, max_group, failed;
};

static void il_group(void *ctx, struct store_batch *bs, size_t n)
{
	struct il_serve *sv = ctx;

	if (getenv("IL_NOSTORE")) {
		for (size_t i = 0; i < n; i++)
			bs[i].rc = 1;
	} else if (store_put_batches(sv->st, bs, n) < 0)
		sv->failed++;
	sv->groups++;
	if (n > sv->max_group)
		sv->max_group = n;
}

/* --no-group: one transaction per batch, as before group commit (a baseline) */
static int il_commit_one(void *ctx, const char *workload, uint64_t instance, uint64_t seq,
			 const struct agg_row *rows, size_t n, const struct store_sample *samples,
			 size_t nsamples)
{
	struct il_serve *sv = ctx;

	sv->groups++;
	sv->max_group = 1;
	return store_put_batch_samples(sv->st, workload, instance, seq, rows, n, samples,
				       nsamples);
}

static int il_serve_main(const char *db, const char *portfile, const char *addr, int group)
{
	const char *tok = getenv("CONFORM_TOKEN");
	struct il_serve sv = { 0 };
	struct collector *c = NULL;
	struct collector_stats cs;
	char err[256], buf[32];
	sigset_t sigs;
	int port, sig, rc = 1;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	if (store_open(db, 1, &sv.st, err, sizeof(err)) < 0) {
		fprintf(stderr, "ingestload: cannot open store: %s\n", err);
		return 1;
	}
	c = group ? collector_start_group(addr, tok, il_group, &sv, &port, err, sizeof(err))
		  : collector_start(addr, tok, il_commit_one, &sv, &port, err, sizeof(err));
	if (!c) {
		fprintf(stderr, "ingestload: %s\n", err);
		goto out;
	}
	str_fmt(buf, sizeof(buf), "%d\n", port);
	if (file_write_atomic(portfile, buf, strlen(buf), 0644) < 0) {
		fprintf(stderr, "ingestload: cannot write %s\n", portfile);
		goto out;
	}
	sigwait(&sigs, &sig);
	collector_get_stats(c, &cs);
	collector_stop(c);   /* joins the collector thread: nothing commits after this */
	c = NULL;
	printf("ingestserve stored=%" PRId64 " duplicates=%" PRIu64 " rejected=%" PRIu64
	       " acked_by_collector=%" PRIu64 " groups=%" PRIu64 " max_group=%" PRIu64
	       " failed_groups=%" PRIu64 "\n",
	       store_counter_get(sv.st, "batches.accepted"), cs.duplicates, cs.rejected,
	       cs.batches, sv.groups, sv.max_group, sv.failed);
	fflush(stdout);
	rc = 0;
out:
	collector_stop(c);
	store_close(sv.st);
	return rc;
}

/* ---- load ---- */

enum il_kind { IL_STATUS, IL_MD, IL_SEND, IL_RECV };

struct il_wl;
struct il_tag {
	enum il_kind kind;
	struct il_wl *w;
};

struct il_wl {
	unsigned idx;
	char name[64];
	grpc_call *call;
	int ops;                  /* batches of ops in flight on the call */
	int live, sending, receiving, md_asked, failed;
	unsigned inflight;        /* batches sent, not yet acked */
	uint64_t next_seq;
	int64_t sent_ns[IL_MAX_WINDOW];   /* by seq % window */
	grpc_byte_buffer *send_bb, *recv_bb;
	grpc_metadata_array md, trailing;
	grpc_status_code status;
	grpc_slice details;
	struct il_tag t_status, t_md, t_send, t_recv;
};

struct il_load {
	const char *token;
	unsigned nwl, window, rows;
	uint64_t instance;
	struct il_wl *wl;
	grpc_completion_queue *cq;
	int stopping;
	int64_t measure_from, measure_to;
	uint64_t acked, acked_in, rejected, bad;
	struct hist lat;
};

static int il_open(struct il_load *L, struct il_wl *w, grpc_channel *ch)
{
	grpc_slice method = grpc_slice_from_static_string("/conform.v1.Collector/Report");
	grpc_op op;

	w->call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, L->cq, method, NULL,
					   gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	if (!w->call)
		return -1;
	grpc_metadata_array_init(&w->md);
	grpc_metadata_array_init(&w->trailing);
	w->details = grpc_empty_slice();
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	op.data.recv_status_on_client.trailing_metadata = &w->trailing;
	op.data.recv_status_on_client.status = &w->status;
	op.data.recv_status_on_client.status_details = &w->details;
	if (grpc_call_start_batch(w->call, &op, 1, &w->t_status, NULL) != GRPC_CALL_OK)
		return -1;
	w->ops++;
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_SEND_INITIAL_METADATA;
	if (grpc_call_start_batch(w->call, &op, 1, &w->t_md, NULL) != GRPC_CALL_OK)
		return -1;
	w->ops++;
	w->live = 1;
	return 0;
}

static void il_recv(struct il_wl *w)
{
	grpc_op ops[2];
	size_t n = 0;

	if (w->receiving || !w->live)
		return;
	memset(ops, 0, sizeof(ops));
	if (!w->md_asked) {
		ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
		ops[n].data.recv_initial_metadata.recv_initial_metadata = &w->md;
		n++;
	}
	ops[n].op = GRPC_OP_RECV_MESSAGE;
	ops[n].data.recv_message.recv_message = &w->recv_bb;
	n++;
	if (grpc_call_start_batch(w->call, ops, n, &w->t_recv, NULL) == GRPC_CALL_OK) {
		w->ops++;
		w->receiving = 1;
		w->md_asked = 1;
	}
}

/* A batch of rows like a workload's second: one row per check served. */
static uint8_t *il_pack(struct il_load *L, struct il_wl *w, uint64_t seq, size_t *len)
{
	static const char *const checks[] = { "http.basic", "grpc.basic", "mtls.identity",
					      "retry.http", "split.weights", "timeout.http" };
	struct agg_row rows[IL_MAX_ROWS];
	int64_t sec = wall_us() / 1000000;
	unsigned i, j;

	memset(rows, 0, sizeof(struct agg_row) * L->rows);
	for (i = 0; i < L->rows; i++) {
		struct agg_row *r = &rows[i];

		str_copy(r->check, sizeof(r->check), checks[i % ARRAY_SIZE(checks)]);
		str_copy(r->workload, sizeof(r->workload), w->name);
		r->outcome = OUT_OK;
		r->code = 200;
		str_copy(r->backend, sizeof(r->backend), "v1");
		r->second = sec;
		hist_init(&r->h);
		for (j = 0; j < 10; j++)
			hist_add(&r->h, 200 + 37 * j + (seq % 13));
		r->attempts[0] = 10;
	}
	return agg_pack_batch(w->name, L->token, L->instance, seq, rows, L->rows, len);
}

static void il_send(struct il_load *L, struct il_wl *w)
{
	grpc_slice sl;
	grpc_op op;
	uint8_t *data;
	size_t len;

	if (!w->live || w->sending || L->stopping || w->inflight >= L->window)
		return;
	data = il_pack(L, w, w->next_seq, &len);
	if (!data) {
		w->failed = 1;
		return;
	}
	sl = grpc_slice_from_copied_buffer((const char *)data, len);
	free(data);
	w->send_bb = grpc_raw_byte_buffer_create(&sl, 1);
	grpc_slice_unref(sl);
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_SEND_MESSAGE;
	op.data.send_message.send_message = w->send_bb;
	if (grpc_call_start_batch(w->call, &op, 1, &w->t_send, NULL) != GRPC_CALL_OK) {
		grpc_byte_buffer_destroy(w->send_bb);
		w->send_bb = NULL;
		w->failed = 1;
		return;
	}
	w->sent_ns[w->next_seq % L->window] = mono_ns();
	w->next_seq++;
	w->inflight++;
	w->ops++;
	w->sending = 1;
}

static void il_on_ack(struct il_load *L, struct il_wl *w, grpc_byte_buffer *bb)
{
	grpc_byte_buffer_reader rd;
	Conform__V1__Ack *a = NULL;
	grpc_slice sl;
	int64_t now = mono_ns();

	if (!grpc_byte_buffer_reader_init(&rd, bb)) {
		L->bad++;
		return;
	}
	sl = grpc_byte_buffer_reader_readall(&rd);
	grpc_byte_buffer_reader_destroy(&rd);
	a = conform__v1__ack__unpack(NULL, GRPC_SLICE_LENGTH(sl), GRPC_SLICE_START_PTR(sl));
	grpc_slice_unref(sl);
	/* acks come in the order the batches were sent on this stream */
	if (!a || a->instance != L->instance || a->seq + w->inflight != w->next_seq ||
	    !w->inflight) {
		L->bad++;
		w->failed = 1;
		goto out;
	}
	if (!a->ok) {
		L->rejected++;
		w->failed = 1;
	} else {
		L->acked++;
		if (now >= L->measure_from && now < L->measure_to)
			L->acked_in++;
		hist_add(&L->lat, (uint64_t)(now - w->sent_ns[a->seq % L->window]) / 1000);
	}
	w->inflight--;
out:
	if (a)
		conform__v1__ack__free_unpacked(a, NULL);
}

static void il_event(struct il_load *L, grpc_event ev)
{
	struct il_tag *t = ev.tag;
	struct il_wl *w = t->w;

	w->ops--;
	switch (t->kind) {
	case IL_STATUS:
		w->live = 0;
		if (w->status != GRPC_STATUS_OK && !L->stopping)
			w->failed = 1;
		break;
	case IL_MD:
		if (!ev.success)
			w->live = 0;
		break;
	case IL_SEND:
		w->sending = 0;
		grpc_byte_buffer_destroy(w->send_bb);
		w->send_bb = NULL;
		if (!ev.success)
			w->live = 0;
		break;
	case IL_RECV:
		w->receiving = 0;
		if (!ev.success || !w->recv_bb) {
			w->live = 0;
			break;
		}
		il_on_ack(L, w, w->recv_bb);
		grpc_byte_buffer_destroy(w->recv_bb);
		w->recv_bb = NULL;
		break;
	}
	il_send(L, w);
	il_recv(w);
}

static int il_load_main(const char *target, unsigned nwl, double secs, unsigned window,
			unsigned nch, unsigned rows, double warmup)
{
	struct il_load L;
	grpc_channel *ch[IL_MAX_CHANNELS];
	grpc_channel_credentials *cr;
	grpc_channel_args ca;
	grpc_arg arg;
	int64_t t0, end, drain_end;
	unsigned i, failed = 0, pending;
	double span;
	int rc = 1;

	memset(&L, 0, sizeof(L));
	memset(ch, 0, sizeof(ch));
	L.token = getenv("CONFORM_TOKEN");
	L.nwl = nwl;
	L.window = window;
	L.rows = rows;
	L.instance = (uint64_t)wall_us() ^ ((uint64_t)getpid() << 32);
	hist_init(&L.lat);
	L.wl = calloc(nwl, sizeof(*L.wl));
	if (!L.wl)
		return 1;
	grpc_init();
	L.cq = grpc_completion_queue_create_for_next(NULL);
	/* each channel its own connection, as separate workloads would have */
	arg.type = GRPC_ARG_INTEGER;
	arg.key = (char *)GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL;
	arg.value.integer = 1;
	ca.num_args = 1;
	ca.args = &arg;
	cr = grpc_insecure_credentials_create();
	for (i = 0; i < nch; i++)
		ch[i] = grpc_channel_create(target, cr, &ca);
	grpc_channel_credentials_release(cr);
	for (i = 0; i < nwl; i++) {
		struct il_wl *w = &L.wl[i];

		w->idx = i;
		str_fmt(w->name, sizeof(w->name), "sim-%05u", i);
		w->next_seq = 1;   /* a workload's first batch is seq 1 (the collector checks) */
		w->t_status = (struct il_tag){ IL_STATUS, w };
		w->t_md = (struct il_tag){ IL_MD, w };
		w->t_send = (struct il_tag){ IL_SEND, w };
		w->t_recv = (struct il_tag){ IL_RECV, w };
		w->details = grpc_empty_slice();
		if (il_open(&L, w, ch[i % nch]) < 0) {
			fprintf(stderr, "ingestload: cannot open stream %u\n", i);
			w->failed = 1;
			continue;
		}
		il_send(&L, w);
		il_recv(w);
	}
	t0 = mono_ns();
	L.measure_from = t0 + (int64_t)(warmup * 1e9);
	L.measure_to = t0 + (int64_t)((warmup + secs) * 1e9);
	end = L.measure_to;
	while (mono_ns() < end) {
		grpc_event ev = grpc_completion_queue_next(
			L.cq, gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(100, GPR_TIMESPAN)),
			NULL);

		if (ev.type == GRPC_OP_COMPLETE)
			il_event(&L, ev);
	}
	/* stop sending; wait (bounded) for the acks of what was sent */
	L.stopping = 1;
	drain_end = mono_ns() + 10000000000LL;
	for (;;) {
		grpc_event ev;

		pending = 0;
		for (i = 0; i < nwl; i++)
			if (L.wl[i].live && L.wl[i].inflight)
				pending++;
		if (!pending || mono_ns() >= drain_end)
			break;
		ev = grpc_completion_queue_next(
			L.cq, gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(100, GPR_TIMESPAN)),
			NULL);
		if (ev.type == GRPC_OP_COMPLETE)
			il_event(&L, ev);
	}
	for (i = 0; i < nwl; i++)
		if (L.wl[i].call)
			grpc_call_cancel(L.wl[i].call, NULL);
	for (;;) {
		grpc_event ev;

		pending = 0;
		for (i = 0; i < nwl; i++)
			pending += L.wl[i].ops > 0;
		if (!pending)
			break;
		ev = grpc_completion_queue_next(L.cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
		if (ev.type == GRPC_OP_COMPLETE)
			il_event(&L, ev);
	}
	for (i = 0; i < nwl; i++) {
		struct il_wl *w = &L.wl[i];

		failed += w->failed != 0;
		if (w->call)
			grpc_call_unref(w->call);
		grpc_metadata_array_destroy(&w->md);
		grpc_metadata_array_destroy(&w->trailing);
		grpc_slice_unref(w->details);
	}
	span = secs;
	printf("ingestload workloads=%u channels=%u window=%u rows=%u seconds=%.1f acked=%" PRIu64
	       " acked_measured=%" PRIu64 " batches_per_s=%.0f commit_p50_us=%" PRIu64
	       " commit_p99_us=%" PRIu64 " commit_max_us=%" PRIu64 " rejected=%" PRIu64
	       " bad_acks=%" PRIu64 " failed_streams=%u\n",
	       nwl, nch, window, rows, span, L.acked, L.acked_in, (double)L.acked_in / span,
	       hist_quantile(&L.lat, 0.5), hist_quantile(&L.lat, 0.99), L.lat.max_us, L.rejected,
	       L.bad, failed);
	fflush(stdout);
	rc = (failed || L.rejected || L.bad || !L.acked) ? 1 : 0;
	for (i = 0; i < nch; i++)
		if (ch[i])
			grpc_channel_destroy(ch[i]);
	grpc_completion_queue_shutdown(L.cq);
	while (grpc_completion_queue_next(L.cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
	       GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(L.cq);
	grpc_shutdown();
	free(L.wl);
	return rc;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: ingestload serve --db PATH --port-file FILE [--addr HOST:PORT] [--no-group]\n"
		"       ingestload load --target HOST:PORT [--workloads N] [--seconds S]\n"
		"                       [--window W] [--channels C] [--rows R] [--warmup S]\n"
		"       (token from CONFORM_TOKEN)\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *db = NULL, *portfile = NULL, *addr = "127.0.0.1:0", *target = NULL;
	int64_t nwl = 1000, window = 4, nch = 16, rows = 3;
	double secs = 5, warmup = 1;
	int i, group = 1;

	log_init("ingestload", LOG_WARN);
	if (argc < 2 || !getenv("CONFORM_TOKEN") || !*getenv("CONFORM_TOKEN"))
		return usage();
	for (i = 2; i < argc; i++) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(k, "--no-group")) {
			group = 0;
			continue;
		}
		if (!v)
			return usage();
		i++;
		if (!strcmp(k, "--db"))
			db = v;
		else if (!strcmp(k, "--port-file"))
			portfile = v;
		else if (!strcmp(k, "--addr"))
			addr = v;
		else if (!strcmp(k, "--target"))
			target = v;
		else if (!strcmp(k, "--workloads") ? parse_i64(v, 1, IL_MAX_WORKLOADS, &nwl) < 0 :
			 !strcmp(k, "--window") ? parse_i64(v, 1, IL_MAX_WINDOW, &window) < 0 :
			 !strcmp(k, "--channels") ? parse_i64(v, 1, IL_MAX_CHANNELS, &nch) < 0 :
			 !strcmp(k, "--rows") ? parse_i64(v, 1, IL_MAX_ROWS, &rows) < 0 :
			 !strcmp(k, "--seconds") ? parse_double(v, 0.1, 3600, &secs) < 0 :
			 !strcmp(k, "--warmup") ? parse_double(v, 0, 600, &warmup) < 0 : 1)
			return usage();
	}
	if (!strcmp(argv[1], "serve") && db && portfile)
		return il_serve_main(db, portfile, addr, group);
	if (!strcmp(argv[1], "load") && target)
		return il_load_main(target, (unsigned)nwl, secs, (unsigned)window,
				    (unsigned)(nch > nwl ? nwl : nch), (unsigned)rows, warmup);
	return usage();
}
