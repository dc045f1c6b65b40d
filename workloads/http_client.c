/*
 * http_client.c - the open-loop HTTP load generator (libcurl multi, one
 * thread). Request k of a flow is due at t0 + k/rate whatever happened to
 * earlier ones; latency counts from that due time; beyond the in-flight cap a
 * due request is counted as client overload instead of being sent late.
 */
#include "workload.h"
#include "base/util.h"
#include "evidence/outcome.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define HC_BODY_MAX (64 * 1024)

struct hc_req {
	struct hc_req *prev, *next;   /* the in-flight list */
	CURL *e;
	struct curl_slist *hdrs;
	size_t flow;
	int64_t due_ns;
	struct dynbuf body;
	char rid[WL_ID_MAX];
};

struct hc_flow {
	uint64_t k;            /* next request number */
	int64_t inflight;
};

static struct hc_req *hc_active;
static struct reporter *hc_rep;   /* takes failing-request samples */

static void hc_link(struct hc_req *rq)
{
	rq->next = hc_active;
	if (hc_active)
		hc_active->prev = rq;
	hc_active = rq;
}

static void hc_unlink(struct hc_req *rq)
{
	if (rq->prev)
		rq->prev->next = rq->next;
	else
		hc_active = rq->next;
	if (rq->next)
		rq->next->prev = rq->prev;
}

static size_t hc_write(char *p, size_t sz, size_t n, void *ud)
{
	struct hc_req *rq = ud;

	if (dynbuf_add(&rq->body, p, sz * n) < 0)
		return 0;   /* too big: curl fails the transfer with a write error */
	return sz * n;
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
	if (rq->e)
		curl_easy_cleanup(rq->e);
	curl_slist_free_all(rq->hdrs);
	dynbuf_release(&rq->body);
	free(rq);
}

static int hc_start(const struct wl_opts *o, CURLM *m, size_t fi, uint64_t k, int64_t due)
{
	const struct wl_flow *f = &o->flows[fi];
	struct hc_req *rq = calloc(1, sizeof(*rq));
	char h[512];
	struct curl_slist *tmp;

	if (!rq)
		return -1;
	rq->flow = fi;
	rq->due_ns = due;
	dynbuf_init(&rq->body, HC_BODY_MAX);
	wl_request_id(o, fi, k, due, rq->rid, sizeof(rq->rid));
	rq->e = curl_easy_init();
	if (!rq->e)
		goto fail;
	str_fmt(h, sizeof(h), "x-request-id: %s", rq->rid);
	if (!(tmp = curl_slist_append(rq->hdrs, h)))
		goto fail;
	rq->hdrs = tmp;
	str_fmt(h, sizeof(h), "x-conform-check: %s", f->check);
	if (!(tmp = curl_slist_append(rq->hdrs, h)))
		goto fail;
	rq->hdrs = tmp;
	if (f->authority[0]) {
		str_fmt(h, sizeof(h), "Host: %s", f->authority);
		if (!(tmp = curl_slist_append(rq->hdrs, h)))
			goto fail;
		rq->hdrs = tmp;
	}
	curl_easy_setopt(rq->e, CURLOPT_URL, f->url);
	curl_easy_setopt(rq->e, CURLOPT_HTTPHEADER, rq->hdrs);
	curl_easy_setopt(rq->e, CURLOPT_WRITEFUNCTION, hc_write);
	curl_easy_setopt(rq->e, CURLOPT_WRITEDATA, rq);
	curl_easy_setopt(rq->e, CURLOPT_PRIVATE, rq);
	curl_easy_setopt(rq->e, CURLOPT_TIMEOUT_MS, (long)f->timeout_ms);
	curl_easy_setopt(rq->e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(rq->e, CURLOPT_USERAGENT, "conform-workload");
	if (curl_multi_add_handle(m, rq->e) != CURLM_OK)
		goto fail;
	hc_link(rq);
	return 0;
fail:
	hc_req_free(rq);
	return -1;
}

/* Collect finished transfers. */
static void hc_reap(const struct wl_opts *o, struct agg *agg, CURLM *m, struct hc_flow *fs,
		    int64_t *inflight)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(m, &left))) {
		struct hc_req *rq = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&rq);
		hc_finish(o, agg, rq, msg->data.result);
		curl_multi_remove_handle(m, rq->e);
		hc_unlink(rq);
		fs[rq->flow].inflight--;
		(*inflight)--;
		hc_req_free(rq);
	}
}

int http_client_run(const struct wl_opts *o)
{
	struct hc_flow fs[WL_MAX_FLOWS];
	struct agg *agg = NULL;
	struct reporter *rep = NULL;
	CURLM *m = NULL;
	int64_t t0, inflight = 0, max_timeout = 0, deadline;
	long maxconn = 0;
	size_t i;
	int running, rc = 1;

	memset(fs, 0, sizeof(fs));
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	agg = agg_new();
	m = curl_multi_init();
	if (!agg || !m)
		goto out;
	for (i = 0; i < o->nflows; i++) {
		maxconn += (long)o->flows[i].max_inflight;
		if (o->flows[i].timeout_ms > max_timeout)
			max_timeout = o->flows[i].timeout_ms;
	}
	curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, maxconn);
	rep = reporter_start(o, agg);
	if (!rep)
		goto out;
	hc_rep = rep;
	if (wl_write_ready(o, "", "") < 0)
		goto out;
	log_kv(LOG_INFO, "running", "role=http-client flows=%zu", o->nflows);
	t0 = mono_ns();
	while (!wl_should_stop()) {
		int64_t now = mono_ns(), next = now + 50000000;

		for (i = 0; i < o->nflows; i++) {
			const struct wl_flow *f = &o->flows[i];
			int64_t due;

			while ((due = hc_due(f, t0, fs[i].k)) <= now) {
				if (fs[i].inflight >= f->max_inflight ||
				    hc_start(o, m, i, fs[i].k, due) < 0) {
					agg_add(agg, f->check, OUT_CLIENT_OVERLOAD, 0, "", "",
						wl_unix_second(o, due), 0, 0);
				} else {
					fs[i].inflight++;
					inflight++;
				}
				fs[i].k++;
			}
			if (due < next)
				next = due;
		}
		curl_multi_perform(m, &running);
		hc_reap(o, agg, m, fs, &inflight);
		now = mono_ns();
		if (next > now) {
			int ms = (int)((next - now + 999999) / 1000000);

			curl_multi_poll(m, NULL, 0, ms > 50 ? 50 : ms, NULL);
		}
	}
	log_kv(LOG_INFO, "stopping", "inflight=%lld", (long long)inflight);
	/* let what is in flight finish: curl's own timeout bounds it */
	deadline = mono_ms() + max_timeout + 1000;
	while (inflight > 0 && mono_ms() < deadline) {
		curl_multi_perform(m, &running);
		hc_reap(o, agg, m, fs, &inflight);
		if (inflight > 0)
			curl_multi_poll(m, NULL, 0, 20, NULL);
	}
	rc = 0;
out:
	if (m) {
		/* anything still here never finished: count it as a timeout */
		while (hc_active) {
			struct hc_req *rq = hc_active;

			hc_unlink(rq);
			curl_multi_remove_handle(m, rq->e);
			hc_finish(o, agg, rq, CURLE_OPERATION_TIMEDOUT);
			hc_req_free(rq);
		}
		curl_multi_cleanup(m);
	}
	hc_rep = NULL;
	reporter_finish(rep, 5000);
	if (agg && rc == 0)
		wl_log_totals(agg);
	agg_free(agg);
	curl_global_cleanup();
	return rc;
}
