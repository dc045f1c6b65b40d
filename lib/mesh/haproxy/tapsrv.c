/*
 * tapsrv.c - the local mesh's tap receiver (tapsrv.h): a TCP listener on
 * loopback that the sidecars' log rings connect to, cut into lines and
 * parsed with tap.c. Bounded: at most TS_MAX_CONNS connections, each with
 * one line's buffer.
 */
#include "mesh/haproxy/tapsrv.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "base/addr.h"
#include "base/util.h"

#define TS_MAX_CONNS 16          /* one per sidecar, plus restarts overlapping */

struct ts_conn {
	int fd;                       /* -1 = free */
	size_t len;
	char buf[TAP_LINE_MAX + 1];
};

struct tapsrv {
	int fd;                       /* listening TCP socket */
	struct ts_conn conns[TS_MAX_CONNS];
	struct tap_stats st;          /* the reader's own */
	pthread_mutex_t mu;           /* guards pub */
	struct tap_stats pub;
	tap_record_cb cb;
	void *ctx;
	int handed;
};

/* One line from a sidecar (without its newline). */
static void ts_line(struct tapsrv *s, const char *line, size_t len)
{
	struct tap_record rec;

	s->st.datagrams++;
	if (tap_parse_line(line, len, &rec) < 0) {
		s->st.rejected++;
		return;
	}
	s->st.parsed++;
	s->handed++;
	s->cb(&rec, s->ctx);
}

/* Read what a connection has; complete lines are handled, a line longer
 * than TAP_LINE_MAX is rejected and skipped. 0, or -1 when it closed. */
static int ts_read(struct tapsrv *s, struct ts_conn *c)
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
			ts_line(s, c->buf + start, i - start);
			start = i + 1;
		}
		memmove(c->buf, c->buf + start, c->len - start);
		c->len -= start;
		if (c->len == sizeof(c->buf) - 1) {
			/* no newline in a whole line's worth: reject and resync */
			s->st.rejected++;
			c->len = 0;
		}
	}
	return 0;
}

static void ts_accept(struct tapsrv *s)
{
	for (int i = 0; i < 16; i++) {
		int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), k;

		if (fd < 0)
			return;
		for (k = 0; k < TS_MAX_CONNS && s->conns[k].fd >= 0; k++)
			;
		if (k == TS_MAX_CONNS) {
			log_kv(LOG_WARN, "tap receiver: too many connections, refusing one", NULL);
			close(fd);
			continue;
		}
		s->conns[k].fd = fd;
		s->conns[k].len = 0;
	}
}

int tapsrv_poll(struct tapsrv *s, int timeout_ms, tap_record_cb cb, void *ctx)
{
	struct pollfd p[TS_MAX_CONNS + 1];
	int idx[TS_MAX_CONNS + 1], n = 0;

	s->cb = cb;
	s->ctx = ctx;
	s->handed = 0;
	p[n].fd = s->fd;
	p[n].events = POLLIN;
	idx[n++] = -1;
	for (int k = 0; k < TS_MAX_CONNS; k++) {
		if (s->conns[k].fd < 0)
			continue;
		p[n].fd = s->conns[k].fd;
		p[n].events = POLLIN;
		idx[n++] = k;
	}
	if (poll(p, (nfds_t)n, timeout_ms) > 0) {
		for (int i = 0; i < n; i++) {
			if (!p[i].revents)
				continue;
			if (idx[i] < 0) {
				ts_accept(s);
			} else if (ts_read(s, &s->conns[idx[i]]) < 0) {
				close(s->conns[idx[i]].fd);
				s->conns[idx[i]].fd = -1;
			}
		}
	}
	pthread_mutex_lock(&s->mu);
	s->pub = s->st;
	pthread_mutex_unlock(&s->mu);
	return s->handed;
}

void tapsrv_stats(struct tapsrv *s, struct tap_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	*out = s->pub;
	pthread_mutex_unlock(&s->mu);
}

struct tapsrv *tapsrv_open(const char *listen, char *addr, size_t addrlen, char *err,
			   size_t errlen)
{
	struct tapsrv *s = calloc(1, sizeof(*s));
	char aerr[256];
	int port = 0;

	if (!s) {
		str_fmt(err, errlen, "out of memory");
		return NULL;
	}
	for (int k = 0; k < TS_MAX_CONNS; k++)
		s->conns[k].fd = -1;
	/* HAProxy's ring server line takes an IP literal, not a name */
	s->fd = addr_listen(listen, ADDR_PORT_ZERO | ADDR_NUMERIC, 64, &port, aerr, sizeof(aerr));
	if (s->fd < 0 || fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) | O_NONBLOCK) < 0) {
		if (s->fd >= 0) {
			str_fmt(aerr, sizeof(aerr), "%s", strerror(errno));
			close(s->fd);
		}
		str_fmt(err, errlen, "tap receiver on %s: %s", listen, aerr);
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->mu, NULL);
	str_fmt(addr, addrlen, "127.0.0.1:%d", port);
	return s;
}

void tapsrv_close(struct tapsrv *s)
{
	if (!s)
		return;
	close(s->fd);
	for (int k = 0; k < TS_MAX_CONNS; k++)
		if (s->conns[k].fd >= 0)
			close(s->conns[k].fd);
	log_kv(LOG_INFO, "tap receiver stopped", "datagrams=%llu parsed=%llu rejected=%llu",
	       (unsigned long long)s->st.datagrams, (unsigned long long)s->st.parsed,
	       (unsigned long long)s->st.rejected);
	pthread_mutex_destroy(&s->mu);
	free(s);
}
