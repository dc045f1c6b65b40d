/*
 * tapfeed.c - receives the mesh's tap lines and stores tap.live evidence:
 * one aggregate row per (direction, intended second, outcome, status,
 * client, identity), flushed once a second as a conformd.tap batch.
 * A line is only parsed data from the network: every field is bounded by
 * the adapter's parser and the request id is parsed strictly here.
 */
#include "ingest/tapfeed.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "checks/check.h"
#include "evidence/outcome.h"
#include "base/util.h"
#include "mesh/mesh.h"

#define TF_MAX_ROWS 1024         /* per flush; more flushes early */
#define TF_FLUSH_MS 1000
#define TF_POLL_MS 100

struct tapfeed {
	pthread_t thread;
	atomic_int stop;
	const struct mesh_ops *mops;
	struct mesh *mesh;
	struct store *store;
	uint64_t instance, seq;
	char server_id[256];
	char path[128];
	pthread_mutex_t mu;           /* guards the counters for get_stats */
	uint64_t lines_live, rows_flushed;
	struct agg_row *rows;
	size_t nrows;
	uint64_t rejected_synced;
};

static int all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return n > 0;
}

static int all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return n > 0 && n <= 19;
}

int tapfeed_parse_rid(const char *rid, struct tapfeed_rid *out)
{
	const char *dots[4], *end;
	size_t len = rid ? strnlen(rid, 256) : 256, n;
	char num[24];
	int64_t v;

	memset(out, 0, sizeof(out[0]));
	if (len == 0 || len >= 256)
		return -1;
	end = rid + len;
	/* the last four dots separate workload, instance, k and ms; the check
	 * id before them may itself hold dots ("tap.live") */
	for (int i = 0; i < 4; i++) {
		const char *p = (i ? dots[i - 1] : end) - 1;

		while (p >= rid && *p != '.')
			p--;
		if (p < rid)
			return -1;
		dots[i] = p;
	}
	/* dots[0] before ms, dots[1] before k, dots[2] before instance, dots[3] before workload */
	n = (size_t)(end - dots[0] - 1);
	if (!all_digits(dots[0] + 1, n))
		return -1;
	memcpy(num, dots[0] + 1, n);
	num[n] = '\0';
	if (parse_i64(num, 0, INT64_MAX / 2, &v) < 0)
		return -1;
	out->ms = v;
	n = (size_t)(dots[0] - dots[1] - 1);
	if (!all_digits(dots[1] + 1, n))
		return -1;
	memcpy(num, dots[1] + 1, n);
	num[n] = '\0';
	if (parse_i64(num, 0, INT64_MAX, &v) < 0)
		return -1;
	out->k = (uint64_t)v;
	n = (size_t)(dots[1] - dots[2] - 1);
	if (n > 16 || !all_hex(dots[2] + 1, n))
		return -1;
	memcpy(num, dots[2] + 1, n);
	num[n] = '\0';
	out->instance = strtoull(num, NULL, 16);
	n = (size_t)(dots[2] - dots[3] - 1);
	if (n == 0 || n >= sizeof(out->workload))
		return -1;
	memcpy(out->workload, dots[3] + 1, n);
	out->workload[n] = '\0';
	n = (size_t)(dots[3] - rid);
	if (n == 0 || n >= sizeof(out->check))
		return -1;
	memcpy(out->check, rid, n);
	out->check[n] = '\0';
	for (const char *p = out->workload; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
			return -1;
	for (const char *p = out->check; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' ||
		      *p == '/' || *p == '-' || *p == '_'))
			return -1;
	return 0;
}

/* Store the rows; mark: also raise TAPFEED_MARK (not when called in the
 * middle of a line, whose row is not among them yet). */
static void tf_flush(struct tapfeed *t, int mark)
{
	struct mesh_tap_stats ms;
	/* every line read before now is in t->rows: once they are stored,
	 * nothing received before now can be lost (TAPFEED_MARK) */
	int64_t through_ms = (int64_t)(wall_s() * 1000.0);

	t->mops->tap_stats(t->mesh, &ms);
	if (ms.rejected > t->rejected_synced) {
		if (store_counter_add(t->store, "tap.rejected",
				      (int64_t)(ms.rejected - t->rejected_synced)) == 0)
			t->rejected_synced = ms.rejected;
	}
	if (t->nrows) {
		/* the rows and the mark in one transaction */
		struct store_batch b = {
			.workload = "conformd.tap", .instance = t->instance, .seq = ++t->seq,
			.rows = t->rows, .n = t->nrows, .mark = mark ? TAPFEED_MARK : NULL,
			.mark_value = through_ms,
		};

		if (store_put_batches(t->store, &b, 1) < 0 || b.rc < 0)
			log_kv(LOG_ERROR, "cannot store tap rows", "rows=%zu err=\"%s\"", t->nrows,
			       store_errmsg(t->store));
	} else if (mark && store_counter_raise(t->store, TAPFEED_MARK, through_ms) < 0) {
		log_kv(LOG_WARN, "cannot store the tap feed's mark", "err=\"%s\"",
		       store_errmsg(t->store));
	}
	if (!t->nrows)
		return;
	pthread_mutex_lock(&t->mu);
	t->rows_flushed += t->nrows;
	pthread_mutex_unlock(&t->mu);
	t->nrows = 0;
}

static void tf_add(struct tapfeed *t, const char *check, unsigned outcome, int code,
		   const char *backend, const char *identity, int64_t second, uint64_t delay_us)
{
	struct agg_row *r = NULL;

	for (size_t i = 0; i < t->nrows; i++) {
		struct agg_row *x = &t->rows[i];

		if (x->second == second && x->outcome == outcome && x->code == code &&
		    !strcmp(x->check, check) && !strcmp(x->backend, backend) &&
		    !strcmp(x->identity, identity)) {
			r = x;
			break;
		}
	}
	if (!r) {
		if (t->nrows >= TF_MAX_ROWS)
			tf_flush(t, 0);
		r = &t->rows[t->nrows++];
		memset(r, 0, sizeof(*r));
		str_copy(r->check, sizeof(r->check), check);
		str_copy(r->workload, sizeof(r->workload), "conformd.tap");
		r->outcome = outcome;
		r->code = code;
		str_copy(r->backend, sizeof(r->backend), backend);
		str_copy(r->identity, sizeof(r->identity), identity);
		r->second = second;
		hist_init(&r->h);
	}
	hist_add(&r->h, delay_us);
}

/* One tapped request: tap.live's own requests are recorded, the rest ignored.
 * OUT_OK: the method and path the client sent, a 200, and the identity the
 * mesh asserts for the other side (the server's, seen by the client's proxy,
 * or the client's, seen by the server's). OUT_HTTP_OTHER: method, path and
 * peer right but another status, or on the inbound another client identity:
 * right only if that is what the request met (a 503 shown as 503), which
 * tap.live judges against the client's own rows. OUT_PROTOCOL: garbled. */
static void tf_line(const struct mesh_tap_line *l, void *ctx)
{
	struct tapfeed *t = ctx;
	struct tapfeed_rid rid;
	char want[256];
	const char *seen;
	int ok, as_met = 1;
	unsigned outcome;
	int64_t delay = wall_us() - (int64_t)(l->ts * 1e6);

	if (l->dir == MESH_TAP_UNKNOWN || tapfeed_parse_rid(l->request_id, &rid) < 0 ||
	    strcmp(rid.check, "tap.live"))
		return;
	pthread_mutex_lock(&t->mu);
	t->lines_live++;
	pthread_mutex_unlock(&t->mu);
	ok = !strcmp(l->method, "GET") && !strcmp(l->path, t->path);
	if (l->dir == MESH_TAP_OUT) {
		seen = l->peer_id;
		ok = ok && !strcmp(seen, t->server_id);
	} else {
		seen = l->identity;
		as_met = t->mops->identity_of(t->mesh, rid.workload, want, sizeof(want)) == 0 &&
			 !strcmp(seen, want);
	}
	as_met = as_met && l->status == 200;
	outcome = !ok ? OUT_PROTOCOL : as_met ? OUT_OK : OUT_HTTP_OTHER;
	tf_add(t, l->dir == MESH_TAP_OUT ? "tap.live/out" : "tap.live/in",
	       outcome, l->status > 0 ? l->status : 0, rid.workload, seen,
	       rid.ms / 1000, delay > 0 ? (uint64_t)delay : 0);
}

static void *tf_main(void *arg)
{
	struct tapfeed *t = arg;
	int64_t next_flush = mono_ms() + TF_FLUSH_MS;

	while (!atomic_load(&t->stop)) {
		if (t->mops->tap_read(t->mesh, TF_POLL_MS, tf_line, t) < 0)
			poll(NULL, 0, TF_POLL_MS);   /* a broken feed: retry, without spinning */
		if (mono_ms() >= next_flush) {
			tf_flush(t, 1);
			next_flush = mono_ms() + TF_FLUSH_MS;
		}
	}
	t->mops->tap_read(t->mesh, 0, tf_line, t);
	tf_flush(t, 1);
	return NULL;
}

struct tapfeed *tapfeed_start(const struct tapfeed_config *cfg, char *err, size_t errlen)
{
	struct tapfeed *t = calloc(1, sizeof(*t));
	int rc;

	if (!t || !(t->rows = calloc(TF_MAX_ROWS, sizeof(*t->rows)))) {
		str_fmt(err, errlen, "out of memory");
		goto fail;
	}
	t->mops = cfg->mops;
	t->mesh = cfg->mesh;
	t->store = cfg->store;
	t->instance = cfg->instance;
	str_copy(t->path, sizeof(t->path), cfg->path ? cfg->path : "/echo");
	if (t->mops->identity_of(t->mesh, cfg->server ? cfg->server : "http-server", t->server_id,
				 sizeof(t->server_id)) < 0) {
		str_fmt(err, errlen, "the %s mesh names no identity for %s", t->mops->name,
			cfg->server ? cfg->server : "http-server");
		goto fail;
	}
	if ((rc = t->mops->tap_open(t->mesh, err, errlen)) < 0)
		goto fail;
	pthread_mutex_init(&t->mu, NULL);
	if (pthread_create(&t->thread, NULL, tf_main, t) != 0) {
		str_fmt(err, errlen, "cannot start the tap thread");
		pthread_mutex_destroy(&t->mu);
		goto fail;
	}
	return t;
fail:
	if (t)
		free(t->rows);
	free(t);
	return NULL;
}

void tapfeed_get_stats(struct tapfeed *t, struct tapfeed_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!t)
		return;
	{
		struct mesh_tap_stats ms;

		t->mops->tap_stats(t->mesh, &ms);
		out->datagrams = ms.received;
		out->parsed = ms.parsed;
		out->rejected = ms.rejected;
	}
	pthread_mutex_lock(&t->mu);
	out->lines_live = t->lines_live;
	out->rows_flushed = t->rows_flushed;
	pthread_mutex_unlock(&t->mu);
}

void tapfeed_stop(struct tapfeed *t)
{
	if (!t)
		return;
	atomic_store(&t->stop, 1);
	pthread_join(t->thread, NULL);
	log_kv(LOG_INFO, "tap feed stopped", "live=%llu rows=%llu",
	       (unsigned long long)t->lines_live, (unsigned long long)t->rows_flushed);
	pthread_mutex_destroy(&t->mu);
	free(t->rows);
	free(t);
}
