/*
 * http_client.c - the open-loop HTTP load generator (libcurl multi, one
 * per sending thread, more threads at high rates: wl_send_threads). Request k
 * of a flow is due at t0 + k/rate whatever happened to earlier ones; latency
 * counts from that due time; beyond the in-flight cap a due request is counted
 * as client overload instead of being sent late, and every send's lag behind
 * its due time is kept (wl_sched) and logged at exit.
 */
#include "workload.h"
#include "base/util.h"
#include "evidence/outcome.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define HC_BODY_MAX (64 * 1024)
/* Shortest sleep between send rounds: requests due within one tick go out
 * together. At 20k/s a wake-up per request costs more CPU (timer, poll and
 * their system calls) than the requests; 200 µs stays well inside WL_LATE_US
 * and is counted in each request's lag and latency like any other delay. */
#define HC_TICK_NS 200000
/*
 * Requests one sending thread keeps in flight, whatever the flows' caps add
 * up to (each has its own connection, so curl never queues one). At 20k/s a
 * stall of the server or of this machine otherwise put thousands in flight:
 * curl then opened a connection for each (the server runs a thread per
 * connection) and its per-call work grew with the number of handles, and
 * the client never caught up. A due request beyond the cap is counted as a
 * client overload, as with the flow's own cap. 64 is far above what the
 * checks' own traffic needs (timeout.http: rate x delay, about 20).
 */
#define HC_MAX_INFLIGHT 64

/*
 * One request slot. Slots, their easy handles, header lists and body buffers
 * are made once and reused: nothing is allocated per request on the send
 * path, and the handles' connections stay in the thread's multi cache.
 */
struct hc_req {
	struct hc_req *prev, *next;   /* the thread's in-flight list, or its free list */
	CURL *e;
	size_t flow;                  /* flow the handle is set up for; SIZE_MAX = none */
	int64_t due_ns;
	int64_t sent_ns;              /* when it went out on a connection; 0 = not yet */
	struct dynbuf body;
	struct curl_slist hdr[3];     /* our own nodes: curl only reads a header list */
	char rid_h[WL_ID_MAX + 16];
	char check_h[64];
	char host_h[300];
	char rid[WL_ID_MAX];
};

struct hc_flow {
	uint64_t k;            /* next request number this thread sends */
	int64_t inflight, cap; /* this thread's share of the flow's in-flight cap */
	struct wl_sched sched;
};

/*
 * One sending thread: its own multi handle, connections and slots. Thread i
 * of n sends request k of every flow when k % n == i, so n threads keep the
 * one schedule of t0 + k/rate together.
 */
struct hc_thread {
	const struct wl_opts *o;
	struct agg *agg;
	unsigned idx, n;
	int64_t t0;
	CURLM *m;
	int tfd;                  /* timerfd for the next due time (µs precision) */
	struct hc_req *active, *idle;
	int64_t inflight;
	struct hc_flow fs[WL_MAX_FLOWS];
	pthread_t th;
	int started;
};

static struct reporter *hc_rep;   /* takes failing-request samples; set before threads start */

static void hc_link(struct hc_req **head, struct hc_req *rq)
{
	rq->prev = NULL;
	rq->next = *head;
	if (*head)
		(*head)->prev = rq;
	*head = rq;
}

static void hc_unlink(struct hc_req **head, struct hc_req *rq)
{
	if (rq->prev)
		rq->prev->next = rq->next;
	else
		*head = rq->next;
	if (rq->next)
		rq->next->prev = rq->prev;
	rq->prev = rq->next = NULL;
}

static size_t hc_write(char *p, size_t sz, size_t n, void *ud)
{
	struct hc_req *rq = ud;

	if (dynbuf_add(&rq->body, p, sz * n) < 0)
		return 0;   /* too big: curl fails the transfer with a write error */
	return sz * n;
}

/* curl calls this once a connection is ready, just before the request is
 * sent (CURLOPT_PREREQFUNCTION, curl >= 7.80): the hand-off time a send lag
 * is measured to, including any wait for a free connection. */
static int hc_prereq(void *ud, char *conn_primary_ip, char *conn_local_ip, int conn_primary_port,
		     int conn_local_port)
{
	struct hc_req *rq = ud;

	(void)conn_primary_ip;
	(void)conn_local_ip;
	(void)conn_primary_port;
	(void)conn_local_port;
	if (!rq->sent_ns)
		rq->sent_ns = mono_ns();
	return CURL_PREREQFUNC_OK;
}

static int64_t hc_due(const struct wl_flow *f, int64_t t0, uint64_t k)
{
	return t0 + (int64_t)((double)k * 1e9 / f->rate);
}

/* Fill backend/identity/attempt from an echo body; 0 when it parsed. */
static int hc_parse_body(const char *text, char *backend, size_t blen, char *ident,
			 size_t ilen, unsigned *attempt)
{
	cJSON *j = cJSON_Parse(text ? text : "");
	cJSON *v, *i, *a;
	int rc = -1;

	if (!j || !cJSON_IsObject(j))
		goto out;
	v = cJSON_GetObjectItemCaseSensitive(j, "version");
	i = cJSON_GetObjectItemCaseSensitive(j, "identity");
	a = cJSON_GetObjectItemCaseSensitive(j, "attempt");
	if (!cJSON_IsString(v) || !cJSON_IsNumber(a) || a->valuedouble < 0 ||
	    a->valuedouble > 1e9)
		goto out;
	str_copy(backend, blen, v->valuestring);
	str_copy(ident, ilen, cJSON_IsString(i) ? i->valuestring : "");
	*attempt = (unsigned)a->valuedouble;
	rc = 0;
out:
	cJSON_Delete(j);
	return rc;
}

static enum outcome hc_classify_curl(CURL *e, CURLcode cc)
{
	long oserr = 0;

	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		return OUT_TIMEOUT;
	case CURLE_COULDNT_CONNECT:
		curl_easy_getinfo(e, CURLINFO_OS_ERRNO, &oserr);
		return oserr == ECONNREFUSED ? OUT_CONNECT_REFUSED : OUT_CONNECT_FAILED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return OUT_CONNECT_FAILED;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_USE_SSL_FAILED:
		return OUT_TLS_FAILED;
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		return OUT_RESET;
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_WRITE_ERROR:
	case CURLE_BAD_CONTENT_ENCODING:
		return OUT_PROTOCOL;
	default:
		return OUT_OTHER;
	}
}

static void hc_finish(const struct wl_opts *o, struct agg *agg, struct hc_req *rq, CURLcode cc)
{
	const struct wl_flow *f = &o->flows[rq->flow];
	char backend[32] = "", ident[256] = "";
	unsigned attempt = 0;
	long status = 0;
	enum outcome out;
	int code = 0;
	int64_t lat_ns = mono_ns() - rq->due_ns;

	if (cc == CURLE_OK) {
		curl_easy_getinfo(rq->e, CURLINFO_RESPONSE_CODE, &status);
		code = (int)status;
		if (status >= 200 && status < 300)
			out = hc_parse_body(rq->body.buf, backend, sizeof(backend), ident, sizeof(ident),
					    &attempt) == 0 ? OUT_OK : OUT_PROTOCOL;
		else if (status >= 500 && status < 600)
			out = OUT_HTTP_5XX;
		else if (status >= 400 && status < 500)
			out = OUT_HTTP_4XX;
		else
			out = OUT_HTTP_OTHER;
		/* errors from our own servers still say who answered */
		if (out != OUT_OK && out != OUT_PROTOCOL)
			hc_parse_body(rq->body.buf, backend, sizeof(backend), ident, sizeof(ident),
				      &attempt);
	} else {
		out = hc_classify_curl(rq->e, cc);
	}
	agg_add(agg, f->check, out, code, backend, ident, wl_unix_second(o, rq->due_ns),
		lat_ns > 0 ? (uint64_t)(lat_ns / 1000) : 0, attempt);
	if (out != OUT_OK)
		reporter_sample(hc_rep, f->check, rq->rid, out, code,
				lat_ns > 0 ? (uint64_t)(lat_ns / 1000) : 0, backend, ident,
				wl_unix_ms(o, rq->due_ns));
}

static void hc_req_free(struct hc_req *rq)
{
	if (!rq)
		return;
	if (rq->e)
		curl_easy_cleanup(rq->e);
	dynbuf_release(&rq->body);
	free(rq);
}

/* A slot from the thread's idle list, or a new one; NULL on OOM. */
static struct hc_req *hc_slot(struct hc_thread *t)
{
	struct hc_req *rq = t->idle;

	if (rq) {
		hc_unlink(&t->idle, rq);
		dynbuf_reset(&rq->body);
		return rq;
	}
	rq = calloc(1, sizeof(*rq));
	if (!rq)
		return NULL;
	rq->flow = SIZE_MAX;
	dynbuf_init(&rq->body, HC_BODY_MAX);
	rq->e = curl_easy_init();
	if (!rq->e) {
		hc_req_free(rq);
		return NULL;
	}
	curl_easy_setopt(rq->e, CURLOPT_WRITEFUNCTION, hc_write);
	curl_easy_setopt(rq->e, CURLOPT_WRITEDATA, rq);
	curl_easy_setopt(rq->e, CURLOPT_PRIVATE, rq);
	curl_easy_setopt(rq->e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(rq->e, CURLOPT_USERAGENT, "conform-workload");
	curl_easy_setopt(rq->e, CURLOPT_HTTPHEADER, rq->hdr);
	curl_easy_setopt(rq->e, CURLOPT_PREREQFUNCTION, hc_prereq);
	curl_easy_setopt(rq->e, CURLOPT_PREREQDATA, rq);
	return rq;
}

static int hc_start(struct hc_thread *t, size_t fi, uint64_t k, int64_t due)
{
	const struct wl_flow *f = &t->o->flows[fi];
	struct hc_req *rq = hc_slot(t);

	if (!rq)
		return -1;
	rq->due_ns = due;
	rq->sent_ns = 0;
	wl_request_id(t->o, fi, k, due, rq->rid, sizeof(rq->rid));
	str_fmt(rq->rid_h, sizeof(rq->rid_h), "x-request-id: %s", rq->rid);
	if (rq->flow != fi) {
		/* options that depend on the flow are set when a slot changes flows */
		rq->flow = fi;
		str_fmt(rq->check_h, sizeof(rq->check_h), "x-conform-check: %s", f->check);
		str_fmt(rq->host_h, sizeof(rq->host_h), "Host: %s", f->authority);
		rq->hdr[0].data = rq->rid_h;
		rq->hdr[0].next = &rq->hdr[1];
		rq->hdr[1].data = rq->check_h;
		rq->hdr[1].next = f->authority[0] ? &rq->hdr[2] : NULL;
		rq->hdr[2].data = rq->host_h;
		rq->hdr[2].next = NULL;
		if (curl_easy_setopt(rq->e, CURLOPT_URL, f->url) != CURLE_OK)
			goto fail;
		curl_easy_setopt(rq->e, CURLOPT_TIMEOUT_MS, (long)f->timeout_ms);
	}
	if (curl_multi_add_handle(t->m, rq->e) != CURLM_OK)
		goto fail;
	hc_link(&t->active, rq);
	return 0;
fail:
	rq->flow = SIZE_MAX;
	hc_link(&t->idle, rq);
	return -1;
}

/* Collect finished transfers; their slots go back to the idle list. */
static void hc_reap(struct hc_thread *t)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(t->m, &left))) {
		struct hc_req *rq = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&rq);
		/* a request that never got a connection counts as sent when it failed */
		wl_sched_note(&t->fs[rq->flow].sched, 1,
			      (rq->sent_ns ? rq->sent_ns : mono_ns()) - rq->due_ns);
		hc_finish(t->o, t->agg, rq, msg->data.result);
		curl_multi_remove_handle(t->m, rq->e);
		hc_unlink(&t->active, rq);
		hc_link(&t->idle, rq);
		t->fs[rq->flow].inflight--;
		t->inflight--;
	}
}

/* Sleep in curl's poll until the next due time (or curl's own work). */
static void hc_wait(struct hc_thread *t, int64_t next)
{
	struct curl_waitfd wfd = { .fd = t->tfd, .events = CURL_WAIT_POLLIN };
	struct itimerspec its;
	int64_t now = mono_ns();
	uint64_t expirations;
	int ms;

	if (next <= now)
		return;
	if (next < now + HC_TICK_NS)
		next = now + HC_TICK_NS;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = next / 1000000000;
	its.it_value.tv_nsec = next % 1000000000;
	if (timerfd_settime(t->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0) {
		ms = (int)((next - now + 999999) / 1000000);
		curl_multi_poll(t->m, NULL, 0, ms > 50 ? 50 : ms, NULL);
		return;
	}
	ms = (int)((next - now) / 1000000) + 1;
	curl_multi_poll(t->m, &wfd, 1, ms > 50 ? 50 : ms, NULL);
	if (read(t->tfd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		log_kv(LOG_WARN, "timerfd read failed", "err=\"%s\"", strerror(errno));
}

static void *hc_thread_run(void *arg)
{
	struct hc_thread *t = arg;
	const struct wl_opts *o = t->o;
	int64_t max_timeout = 0, deadline;
	size_t i;
	int running;

	for (i = 0; i < o->nflows; i++)
		if (o->flows[i].timeout_ms > max_timeout)
			max_timeout = o->flows[i].timeout_ms;
	while (!wl_should_stop()) {
		int64_t now = mono_ns(), next = now + 50000000;

		for (i = 0; i < o->nflows; i++) {
			const struct wl_flow *f = &o->flows[i];
			struct hc_flow *fl = &t->fs[i];
			int64_t due;

			while ((due = hc_due(f, t->t0, fl->k)) <= now) {
				int sent = fl->inflight < fl->cap && hc_start(t, i, fl->k, due) == 0;

				if (sent) {
					fl->inflight++;
					t->inflight++;
				} else {
					agg_add(t->agg, f->check, OUT_CLIENT_OVERLOAD, 0, "", "",
						wl_unix_second(o, due), 0, 0);
				}
				if (!sent)
					wl_sched_note(&fl->sched, 0, 0);
				fl->k += t->n;
			}
			if (due < next)
				next = due;
		}
		curl_multi_perform(t->m, &running);
		hc_reap(t);
		hc_wait(t, next);
	}
	/* let what is in flight finish: curl's own timeout bounds it */
	deadline = mono_ms() + max_timeout + 1000;
	while (t->inflight > 0 && mono_ms() < deadline) {
		curl_multi_perform(t->m, &running);
		hc_reap(t);
		if (t->inflight > 0)
			curl_multi_poll(t->m, NULL, 0, 20, NULL);
	}
	return NULL;
}

static void hc_thread_release(struct hc_thread *t)
{
	struct hc_req *rq;

	/* anything still here never finished: count it as a timeout */
	while ((rq = t->active)) {
		wl_sched_note(&t->fs[rq->flow].sched, 1,
			      (rq->sent_ns ? rq->sent_ns : mono_ns()) - rq->due_ns);
		hc_unlink(&t->active, rq);
		curl_multi_remove_handle(t->m, rq->e);
		hc_finish(t->o, t->agg, rq, CURLE_OPERATION_TIMEDOUT);
		hc_req_free(rq);
	}
	while ((rq = t->idle)) {
		hc_unlink(&t->idle, rq);
		hc_req_free(rq);
	}
	if (t->m)
		curl_multi_cleanup(t->m);
	t->m = NULL;
	if (t->tfd >= 0)
		close(t->tfd);
	t->tfd = -1;
}

int http_client_run(const struct wl_opts *o)
{
	struct hc_thread *ts = NULL;
	struct agg *agg = NULL;
	struct reporter *rep = NULL;
	double total_rate = 0;
	int64_t t0;
	unsigned n, j;
	size_t i;
	int rc = 1;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	for (i = 0; i < o->nflows; i++)
		total_rate += o->flows[i].rate;
	n = wl_send_threads(total_rate);
	agg = agg_new();
	ts = calloc(n, sizeof(*ts));
	if (!agg || !ts)
		goto out;
	for (j = 0; j < n; j++) {
		struct hc_thread *t = &ts[j];
		long maxconn = 0;

		t->o = o;
		t->agg = agg;
		t->idx = j;
		t->n = n;
		t->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		t->m = curl_multi_init();
		if (!t->m || t->tfd < 0)
			goto out;
		for (i = 0; i < o->nflows; i++) {
			/* the flow's cap split over the threads, at least one each */
			t->fs[i].cap = (o->flows[i].max_inflight + n - 1) / n;
			if (t->fs[i].cap > HC_MAX_INFLIGHT)
				t->fs[i].cap = HC_MAX_INFLIGHT;
			t->fs[i].k = j;
			wl_sched_init(&t->fs[i].sched);
			maxconn += (long)t->fs[i].cap;
		}
		curl_multi_setopt(t->m, CURLMOPT_MAXCONNECTS, maxconn);
	}
	rep = reporter_start(o, agg);
	if (!rep)
		goto out;
	hc_rep = rep;
	if (wl_write_ready(o, "", "") < 0)
		goto out;
	log_kv(LOG_INFO, "running", "role=http-client flows=%zu threads=%u", o->nflows, n);
	t0 = mono_ns();
	rc = 0;
	for (j = 0; j < n; j++) {
		ts[j].t0 = t0;
		if (pthread_create(&ts[j].th, NULL, hc_thread_run, &ts[j]) != 0) {
			/* a share of the schedule would go unsent: stop the others too */
			log_kv(LOG_ERROR, "cannot start a sending thread", "thread=%u of=%u", j, n);
			kill(getpid(), SIGTERM);
			rc = 1;
			break;
		}
		ts[j].started = 1;
	}
	for (j = 0; j < n; j++)
		if (ts[j].started)
			pthread_join(ts[j].th, NULL);
	log_kv(LOG_INFO, "stopping", "threads=%u", n);
out:
	for (j = 0; ts && j < n; j++)
		hc_thread_release(&ts[j]);
	hc_rep = NULL;
	reporter_finish(rep, 5000);
	if (agg && rc == 0) {
		wl_log_totals(agg);
		for (i = 0; i < o->nflows; i++) {
			struct wl_sched s;

			wl_sched_init(&s);
			for (j = 0; j < n; j++)
				wl_sched_merge(&s, &ts[j].fs[i].sched);
			wl_sched_log(o->flows[i].check, &s, n);
		}
	}
	free(ts);
	agg_free(agg);
	curl_global_cleanup();
	return rc;
}
