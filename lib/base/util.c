/*
 * util.c - clocks, durations, logging, dynbuf and bounded string/file helpers
 * shared by every conform binary. See util.h for the contracts.
 */
#include "base/util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t mono_ms(void)
{
	return mono_ns() / 1000000;
}

int64_t wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

double wall_s(void)
{
	return (double)wall_us() / 1e6;
}

int dur_parse(const char *s, int64_t *out_ms)
{
	int64_t total = 0;
	const char *p = s;

	if (!s || !*s)
		return -1;
	while (*p) {
		int64_t v = 0, mult;
		int digits = 0;

		while (isdigit((unsigned char)*p)) {
			if (v > (INT64_MAX / 10) - 10)
				return -1;
			v = v * 10 + (*p - '0');
			p++;
			digits++;
		}
		if (!digits)
			return -1;
		if (*p == '\0') {
			if (p - s != digits) /* "1h30" is ambiguous */
				return -1;
			mult = 1000;
		} else if (!strncmp(p, "ms", 2)) {
			mult = 1;
			p += 2;
		} else if (*p == 's') {
			mult = 1000;
			p++;
		} else if (*p == 'm') {
			mult = 60 * 1000;
			p++;
		} else if (*p == 'h') {
			mult = 3600 * 1000;
			p++;
		} else if (*p == 'd') {
			mult = 86400 * 1000;
			p++;
		} else {
			return -1;
		}
		if (v > INT64_MAX / mult || total > INT64_MAX - v * mult)
			return -1;
		total += v * mult;
	}
	*out_ms = total;
	return 0;
}

const char *dur_format(int64_t ms, char *buf, size_t len)
{
	int64_t d, h, m, s;
	size_t off = 0;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (ms < 1000 && ms >= 0) {
		snprintf(buf, len, "%lldms", (long long)ms);
		return buf;
	}
	s = ms / 1000;
	d = s / 86400;
	s %= 86400;
	h = s / 3600;
	s %= 3600;
	m = s / 60;
	s %= 60;
#define PART(v, u) do { if ((v) && off < len) \
	off += (size_t)snprintf(buf + off, len - off, "%lld%s", (long long)(v), (u)); } while (0)
	PART(d, "d");
	PART(h, "h");
	PART(m, "m");
	PART(s, "s");
#undef PART
	if (!buf[0])
		snprintf(buf, len, "0s");
	return buf;
}

const char *time_rfc3339(double unix_s, char *buf, size_t len)
{
	time_t t = (time_t)unix_s;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

static const char *log_prog = "conform";
static enum log_level log_min = LOG_INFO;
static const char *const log_names[] = { "debug", "info", "warn", "error" };

void log_init(const char *prog, enum log_level min)
{
	log_prog = prog;
	log_min = min;
}

void log_kv(enum log_level lvl, const char *msg, const char *fmt, ...)
{
	char line[2048], ts[32], q[512];
	struct timespec now;
	struct tm tm;
	size_t off;
	va_list ap;

	if (lvl < log_min)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	off = (size_t)snprintf(line, sizeof(line), "ts=%s.%03ldZ level=%s prog=%s msg=%s",
			       ts, now.tv_nsec / 1000000, log_names[lvl], log_prog,
			       log_quote(msg, q, sizeof(q)));
	if (fmt && *fmt && off < sizeof(line) - 2) {
		line[off++] = ' ';
		va_start(ap, fmt);
		vsnprintf(line + off, sizeof(line) - off, fmt, ap);
		va_end(ap);
	}
	off = strlen(line);
	if (off >= sizeof(line) - 1)
		off = sizeof(line) - 2;
	line[off++] = '\n';
	line[off] = '\0';
	/* one write per record so lines from threads do not interleave */
	if (write(STDERR_FILENO, line, off) < 0)
		return;
}

const char *log_quote(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	if (len < 3) {
		if (len)
			buf[0] = '\0';
		return buf;
	}
	if (!s)
		s = "";
	buf[o++] = '"';
	for (; *s && o + 3 < len; s++) {
		if (*s == '"' || *s == '\\') {
			buf[o++] = '\\';
			buf[o++] = *s;
		} else if (*s == '\n' || *s == '\r') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else {
			buf[o++] = *s;
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

void dynbuf_init(struct dynbuf *b, size_t cap)
{
	b->buf = NULL;
	b->len = 0;
	b->alloc = 0;
	b->cap = cap;
}

void dynbuf_release(struct dynbuf *b)
{
	free(b->buf);
	b->buf = NULL;
	b->len = 0;
	b->alloc = 0;
}

char *dynbuf_detach(struct dynbuf *b, size_t *len)
{
	char *p = b->buf;

	if (!p) {
		p = calloc(1, 1);
		if (len)
			*len = 0;
	} else if (len) {
		*len = b->len;
	}
	b->buf = NULL;
	b->len = 0;
	b->alloc = 0;
	return p;
}

void dynbuf_reset(struct dynbuf *b)
{
	b->len = 0;
	if (b->buf)
		b->buf[0] = '\0';
}

int dynbuf_add(struct dynbuf *b, const void *p, size_t n)
{
	size_t need;

	if (n > b->cap || b->len + n > b->cap) {
		errno = E2BIG;
		return -1;
	}
	need = b->len + n + 1;
	if (need > b->alloc) {
		size_t na = b->alloc ? b->alloc : 64;
		char *nb;

		while (na < need)
			na *= 2;
		if (na > b->cap + 1)
			na = b->cap + 1;
		nb = realloc(b->buf, na);
		if (!nb)
			return -1;
		b->buf = nb;
		b->alloc = na;
	}
	if (n)
		memcpy(b->buf + b->len, p, n);
	b->len += n;
	b->buf[b->len] = '\0';
	return 0;
}

int dynbuf_adds(struct dynbuf *b, const char *s)
{
	return dynbuf_add(b, s, strlen(s));
}

int dynbuf_vaddf(struct dynbuf *b, const char *fmt, va_list ap)
{
	char small[256];
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(small, sizeof(small), fmt, cp);
	va_end(cp);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof(small))
		return dynbuf_add(b, small, (size_t)n);
	{
		char *big = malloc((size_t)n + 1);
		int rc;

		if (!big)
			return -1;
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		rc = dynbuf_add(b, big, (size_t)n);
		free(big);
		return rc;
	}
}

int dynbuf_addf(struct dynbuf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = dynbuf_vaddf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void dynw_adds(struct dynw *w, const char *s)
{
	if (!w->err && dynbuf_adds(w->b, s))
		w->err = 1;
}

void dynw_addf(struct dynw *w, const char *fmt, ...)
{
	va_list ap;

	if (w->err)
		return;
	va_start(ap, fmt);
	if (dynbuf_vaddf(w->b, fmt, ap))
		w->err = 1;
	va_end(ap);
}

int dynbuf_add_json_str(struct dynbuf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	for (; *p; p++) {
		int rc;

		switch (*p) {
		case '"': rc = dynbuf_add(b, "\\\"", 2); break;
		case '\\': rc = dynbuf_add(b, "\\\\", 2); break;
		case '\n': rc = dynbuf_add(b, "\\n", 2); break;
		case '\r': rc = dynbuf_add(b, "\\r", 2); break;
		case '\t': rc = dynbuf_add(b, "\\t", 2); break;
		default:
			if (*p < 0x20)
				rc = dynbuf_addf(b, "\\u%04x", *p);
			else
				rc = dynbuf_add(b, p, 1);
		}
		if (rc)
			return rc;
	}
	return 0;
}

int dynbuf_add_xml_str(struct dynbuf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	for (; *p; p++) {
		int rc;

		switch (*p) {
		case '<': rc = dynbuf_adds(b, "&lt;"); break;
		case '>': rc = dynbuf_adds(b, "&gt;"); break;
		case '&': rc = dynbuf_adds(b, "&amp;"); break;
		case '"': rc = dynbuf_adds(b, "&quot;"); break;
		case '\'': rc = dynbuf_adds(b, "&apos;"); break;
		default:
			/* XML 1.0 forbids most control characters, even escaped */
			if (*p < 0x20 && *p != '\n' && *p != '\t' && *p != '\r')
				rc = dynbuf_add(b, "?", 1);
			else
				rc = dynbuf_add(b, p, 1);
		}
		if (rc)
			return rc;
	}
	return 0;
}

int str_copy(char *dst, size_t len, const char *src)
{
	size_t n;

	if (!len)
		return -1;
	n = strlen(src);
	if (n >= len) {
		memcpy(dst, src, len - 1);
		dst[len - 1] = '\0';
		return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

int str_fmt(char *dst, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(dst, len, fmt, ap);
	va_end(ap);
	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

int parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (!s || !*s || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	if (!s || !*s || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || isnan(v) || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

char *file_read(const char *path, size_t cap, size_t *len)
{
	struct dynbuf b = DYNBUF_INIT(cap);
	char chunk[8192];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (dynbuf_add(&b, chunk, (size_t)n)) {
			close(fd);
			dynbuf_release(&b);
			errno = EFBIG;
			return NULL;
		}
	}
	close(fd);
	if (n < 0) {
		dynbuf_release(&b);
		return NULL;
	}
	return dynbuf_detach(&b, len);
}

int file_write_atomic(const char *path, const void *data, size_t len, int mode)
{
	char tmp[4096];
	const char *p = data;
	int fd, saved;

	if (str_fmt(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid())) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd))
		goto fail;
	if (close(fd)) {
		fd = -1;
		goto fail;
	}
	if (rename(tmp, path)) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = saved;
	return -1;
}

int mkdir_p(const char *path, int mode)
{
	char tmp[4096];
	char *p;

	if (str_copy(tmp, sizeof(tmp), path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, (mode_t)mode) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, (mode_t)mode) && errno != EEXIST)
		return -1;
	return 0;
}

uint64_t rand_u64(void)
{
	uint64_t v = 0;
	size_t got = 0;

	while (got < sizeof(v)) {
		ssize_t n = getrandom((char *)&v + got, sizeof(v) - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* no entropy source: fall back to clocks, never block forever */
			v ^= (uint64_t)mono_ns() * 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid();
			break;
		}
		got += (size_t)n;
	}
	return v;
}

void rand_hex(char *buf, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;
	uint64_t r = 0;

	for (i = 0; i < n; i++) {
		if (i % 16 == 0)
			r = rand_u64();
		buf[i] = hex[r & 15];
		r >>= 4;
	}
	buf[n] = '\0';
}

static _Thread_local uint64_t xs_state;

double rand_unit(void)
{
	uint64_t x;

	if (!xs_state)
		xs_state = rand_u64() | 1;
	x = xs_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	xs_state = x;
	return (double)(x >> 11) / 9007199254740992.0;
}

char *str_join(char *out, size_t len, const char *const *names, size_t n, const char *sep,
	       const char *last, int quote)
{
	size_t i, at = 0;

	if (!len)
		return out;
	out[0] = '\0';
	for (i = 0; i < n && at < len; i++) {
		int k = snprintf(out + at, len - at, "%s%s%s%s", !i ? "" :
				 i + 1 == n && last ? last : sep, quote ? "\"" : "", names[i],
				 quote ? "\"" : "");

		if (k < 0)
			break;
		at += (size_t)k;
	}
	return out;
}
