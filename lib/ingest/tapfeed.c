/*
 * tapfeed.c - receives the mesh's tap lines and stores tap.live evidence:
 * one aggregate row per (direction, intended second, outcome, status,
 * client, identity), flushed once a second as a conformd.tap batch.
 * A line is only parsed data from the network: every field is bounded by
 * lib/mesh/haproxy/tap.c and the request id is parsed strictly here.
 */
#include "ingest/tapfeed.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "checks/check.h"
#include "evidence/outcome.h"
#include "base/util.h"

#define TF_MAX_ROWS 1024         /* per flush; more flushes early */
#define TF_FLUSH_MS 1000
#define TF_POLL_MS 100
#define TF_MAX_CONNS 16          /* one per sidecar, plus restarts overlapping */

struct tf_conn {
	int fd;                       /* -1 = free */
	size_t len;
	char buf[TAP_LINE_MAX + 1];
};

struct tapfeed {
	pthread_t thread;
	int fd;                       /* listening TCP socket */
	struct tf_conn conns[TF_MAX_CONNS];
	atomic_int stop;
	struct store *store;
	uint64_t instance, seq;
	char server_id[PKI_NAME_MAX];
	char ns[64], td[128];
	char path[128];
	struct tap_stats ts;           /* the thread's own */
	struct tap_stats pub;          /* copy for get_stats, under mu */
	uint64_t lines_live, rows_flushed;
	pthread_mutex_t mu;           /* guards the counters for get_stats */
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

static void tf_flush(struct tapfeed *t)
{
	pthread_mutex_lock(&t->mu);
	t->pub = t->ts;
	pthread_mutex_unlock(&t->mu);
	if (t->ts.rejected > t->rejected_synced) {
		if (store_counter_add(t->store, "tap.rejected",
				      (int64_t)(t->ts.rejected - t->rejected_synced)) == 0)
			t->rejected_synced = t->ts.rejected;
	}
	if (!t->nrows)
		return;
	if (store_put_batch(t->store, "conformd.tap", t->instance, ++t->seq, t->rows,
			    t->nrows) < 0)
		log_kv(LOG_ERROR, "cannot store tap rows", "rows=%zu err=\"%s\"", t->nrows,
		       store_errmsg(t->store));
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
			tf_flush(t);
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

static void tf_record(const struct tap_record *rec, void *ctx)
{
	struct tapfeed *t = ctx;
	struct tapfeed_rid rid;
	char want[PKI_NAME_MAX];
	const char *seen;
	int ok;
	int64_t delay = wall_us() - rec->ts_us;

	if (rec->kind != TAP_KIND_REQUEST || tapfeed_parse_rid(rec->request_id, &rid) < 0 ||
	    strcmp(rid.check, "tap.live"))
		return;
	pthread_mutex_lock(&t->mu);
	t->lines_live++;
	pthread_mutex_unlock(&t->mu);
	ok = rec->status == 200 && !strcmp(rec->method, "GET") && !strcmp(rec->path, t->path);
	if (rec->dir == TAP_DIR_OUT) {
		seen = rec->server_id;
		ok = ok && !strcmp(seen, t->server_id);
	} else {
		seen = rec->client_id;
		ok = ok && pki_identity(rid.workload, t->ns, t->td, want, sizeof(want)) == 0 &&
		     !strcmp(seen, want);
	}
	tf_add(t, rec->dir == TAP_DIR_OUT ? "tap.live/out" : "tap.live/in",
	       ok ? OUT_OK : OUT_PROTOCOL, rec->status > 0 ? rec->status : 0, rid.workload, seen,
	       rid.ms / 1000, delay > 0 ? (uint64_t)delay : 0);
}

/* One line from a sidecar (without its newline). */
static void tf_line(struct tapfeed *t, const char *line, size_t len)
{
	struct tap_record rec;

	t->ts.datagrams++;
	if (tap_parse_line(line, len, &rec) < 0) {
		t->ts.rejected++;
		return;
	}
	t->ts.parsed++;
	tf_record(&rec, t);
}

/* Read what a connection has; complete lines are handled, a line longer
 * than TAP_LINE_MAX is rejected and skipped. 0, or -1 when it closed. */
static int tf_read(struct tapfeed *t, struct tf_conn *c)
{
	for (int rounds = 0; rounds < 64; rounds++) {
		ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
		size_t start = 0;

		if (n == 0)
			return -1;
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		c->len += (size_t)n;
		for (size_t i = 0; i < c->len; i++) {
			if (c->buf[i] != '\n')
				continue;
			tf_line(t, c->buf + start, i - start);
			start = i + 1;
		}
		memmove(c->buf, c->buf + start, c->len - start);
		c->len -= start;
		if (c->len == sizeof(c->buf) - 1) {
			/* no newline in a whole line's worth: reject and resync */
			t->ts.rejected++;
			c->len = 0;
		}
	}
	return 0;
}

static void tf_accept(struct tapfeed *t)
{
	for (int i = 0; i < 16; i++) {
		int fd = accept4(t->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), k;

		if (fd < 0)
			return;
		for (k = 0; k < TF_MAX_CONNS && t->conns[k].fd >= 0; k++)
			;
		if (k == TF_MAX_CONNS) {
			log_kv(LOG_WARN, "tap receiver: too many connections, refusing one", NULL);
			close(fd);
			continue;
		}
		t->conns[k].fd = fd;
		t->conns[k].len = 0;
	}
}

static void tf_poll(struct tapfeed *t, int ms)
{
	struct pollfd p[TF_MAX_CONNS + 1];
	int idx[TF_MAX_CONNS + 1], n = 0;

	p[n].fd = t->fd;
	p[n].events = POLLIN;
	idx[n++] = -1;
	for (int k = 0; k < TF_MAX_CONNS; k++) {
		if (t->conns[k].fd < 0)
			continue;
		p[n].fd = t->conns[k].fd;
		p[n].events = POLLIN;
		idx[n++] = k;
	}
	if (poll(p, (nfds_t)n, ms) <= 0)
		return;
	for (int i = 0; i < n; i++) {
		if (!p[i].revents)
			continue;
		if (idx[i] < 0) {
			tf_accept(t);
		} else if (tf_read(t, &t->conns[idx[i]]) < 0) {
			close(t->conns[idx[i]].fd);
			t->conns[idx[i]].fd = -1;
		}
	}
}

static void *tf_main(void *arg)
{
	struct tapfeed *t = arg;
	int64_t next_flush = mono_ms() + TF_FLUSH_MS;

	while (!atomic_load(&t->stop)) {
		tf_poll(t, TF_POLL_MS);
		if (mono_ms() >= next_flush) {
			tf_flush(t);
			next_flush = mono_ms() + TF_FLUSH_MS;
		}
	}
	tf_poll(t, 0);
	tf_flush(t);
	return NULL;
}

/* A listening TCP socket on "IP:PORT" (port 0 = any); fd and the port, or -1. */
static int tf_listen(const char *addr, int *port)
{
	const char *colon = strrchr(addr, ':');
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	char ip[INET_ADDRSTRLEN];
	int64_t p;
	int fd, one = 1;

	if (!colon || (size_t)(colon - addr) >= sizeof(ip) || parse_i64(colon + 1, 0, 65535, &p)) {
		errno = EINVAL;
		return -1;
	}
	memcpy(ip, addr, (size_t)(colon - addr));
	ip[colon - addr] = '\0';
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)p);
	if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1) {
		errno = EINVAL;
		return -1;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

struct tapfeed *tapfeed_start(const char *listen, const struct tapfeed_config *cfg,
			      char *addr, size_t addrlen, char *err, size_t errlen)
{
	struct tapfeed *t = calloc(1, sizeof(*t));
	int port = 0;

	if (!t || !(t->rows = calloc(TF_MAX_ROWS, sizeof(*t->rows)))) {
		str_fmt(err, errlen, "out of memory");
		goto fail;
	}
	pthread_mutex_init(&t->mu, NULL);
	t->store = cfg->store;
	t->instance = cfg->instance;
	str_copy(t->ns, sizeof(t->ns), cfg->ns && *cfg->ns ? cfg->ns : PKI_DEFAULT_NAMESPACE);
	str_copy(t->td, sizeof(t->td), cfg->trust_domain && *cfg->trust_domain
		 ? cfg->trust_domain : PKI_DEFAULT_TRUST_DOMAIN);
	str_copy(t->path, sizeof(t->path), cfg->path ? cfg->path : "/echo");
	if (pki_identity(cfg->server ? cfg->server : "http-server", t->ns, t->td, t->server_id,
			 sizeof(t->server_id)) < 0) {
		str_fmt(err, errlen, "bad server identity");
		goto fail;
	}
	for (int k = 0; k < TF_MAX_CONNS; k++)
		t->conns[k].fd = -1;
	t->fd = tf_listen(listen, &port);
	if (t->fd < 0) {
		str_fmt(err, errlen, "tap receiver on %s: %s", listen, strerror(errno));
		goto fail;
	}
	str_fmt(addr, addrlen, "127.0.0.1:%d", port);
	if (pthread_create(&t->thread, NULL, tf_main, t) != 0) {
		str_fmt(err, errlen, "cannot start the tap thread");
		close(t->fd);
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
	pthread_mutex_lock(&t->mu);
	out->datagrams = t->pub.datagrams;
	out->parsed = t->pub.parsed;
	out->rejected = t->pub.rejected;
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
	close(t->fd);
	for (int k = 0; k < TF_MAX_CONNS; k++)
		if (t->conns[k].fd >= 0)
			close(t->conns[k].fd);
	log_kv(LOG_INFO, "tap receiver stopped", "datagrams=%llu parsed=%llu rejected=%llu "
	       "live=%llu rows=%llu", (unsigned long long)t->ts.datagrams,
	       (unsigned long long)t->ts.parsed, (unsigned long long)t->ts.rejected,
	       (unsigned long long)t->lines_live, (unsigned long long)t->rows_flushed);
	pthread_mutex_destroy(&t->mu);
	free(t->rows);
	free(t);
}
