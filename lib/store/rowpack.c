/*
 * rowpack.c - per-second aggregate rows as one compact byte string
 * (rowpack.h): the strings a row shares with the row before it are not
 * repeated and numbers are varints, so a judged window's rows cost a few
 * dozen bytes each instead of a SQLite row and an index entry.
 */
#include "store/rowpack.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/hist.h"
#include "evidence/outcome.h"

#define RP_VERSION 1
#define RP_CHECK 0x01
#define RP_WORKLOAD 0x02
#define RP_BACKEND 0x04
#define RP_IDENTITY 0x08
#define RP_ATTEMPTS 0x10
#define RP_KNOWN 0x1f

static int put_varint(struct dynbuf *b, uint64_t v)
{
	unsigned char t[10];
	size_t n = 0;

	do {
		t[n] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v)
			t[n] |= 0x80;
		n++;
	} while (v);
	return dynbuf_add(b, t, n);
}

static int get_varint(const unsigned char *p, size_t len, size_t *off, uint64_t *v)
{
	uint64_t x = 0;
	unsigned shift = 0;

	while (*off < len && shift < 64) {
		unsigned char c = p[(*off)++];

		x |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*v = x;
			return 0;
		}
		shift += 7;
	}
	return -1;
}

static uint64_t zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* a - b and a + b modulo 2^64: a damaged pack may hold any delta, and the
 * round trip of any values stays exact */
static int64_t wrap_sub(int64_t a, int64_t b)
{
	return (int64_t)((uint64_t)a - (uint64_t)b);
}

static int64_t wrap_add(int64_t a, int64_t b)
{
	return (int64_t)((uint64_t)a + (uint64_t)b);
}

static int put_str(struct dynbuf *b, const char *s, size_t max)
{
	size_t n = strnlen(s, max - 1);

	return put_varint(b, n) || dynbuf_add(b, s, n);
}

static int get_str(const unsigned char *p, size_t len, size_t *off, char *dst, size_t max)
{
	uint64_t n;

	if (get_varint(p, len, off, &n) || n >= max || n > len - *off)
		return -1;
	if (memchr(p + *off, '\0', (size_t)n))
		return -1;
	memcpy(dst, p + *off, (size_t)n);
	dst[n] = '\0';
	*off += (size_t)n;
	return 0;
}

static int same(const char *a, const char *b, size_t max)
{
	return !strncmp(a, b, max);
}

int rowpack_encode(const struct agg_row *rows, const int64_t *ids, size_t n,
		   struct dynbuf *out)
{
	const struct agg_row *prev = NULL;
	unsigned char v = RP_VERSION;
	int64_t last_s = 0, last_id = 0;
	size_t i;

	dynbuf_reset(out);
	if (dynbuf_add(out, &v, 1))
		goto fail;
	for (i = 0; i < n; i++) {
		const struct agg_row *r = &rows[i];
		unsigned char flags = 0;
		unsigned char *blob;
		size_t blen = 0;
		unsigned k;
		int any = 0, err;

		if (!prev || !same(r->check, prev->check, sizeof(r->check)))
			flags |= RP_CHECK;
		if (!prev || !same(r->workload, prev->workload, sizeof(r->workload)))
			flags |= RP_WORKLOAD;
		if (!prev || !same(r->backend, prev->backend, sizeof(r->backend)))
			flags |= RP_BACKEND;
		if (!prev || !same(r->identity, prev->identity, sizeof(r->identity)))
			flags |= RP_IDENTITY;
		for (k = 0; k < 8; k++)
			any |= r->attempts[k] != 0;
		if (any)
			flags |= RP_ATTEMPTS;
		if (dynbuf_add(out, &flags, 1) ||
		    ((flags & RP_CHECK) && put_str(out, r->check, sizeof(r->check))) ||
		    ((flags & RP_WORKLOAD) && put_str(out, r->workload, sizeof(r->workload))) ||
		    ((flags & RP_BACKEND) && put_str(out, r->backend, sizeof(r->backend))) ||
		    ((flags & RP_IDENTITY) && put_str(out, r->identity, sizeof(r->identity))) ||
		    put_varint(out, zigzag(wrap_sub(r->second, last_s))) ||
		    put_varint(out, zigzag(wrap_sub(ids ? ids[i] : 0, last_id))) ||
		    put_varint(out, r->outcome) ||
		    put_varint(out, zigzag(r->code)) || put_varint(out, r->h.count) ||
		    put_varint(out, r->h.sum_us) || put_varint(out, r->h.max_us))
			goto fail;
		blob = hist_blob_encode(&r->h, &blen);
		if (!blob)
			goto fail;
		err = put_varint(out, blen) || dynbuf_add(out, blob, blen);
		free(blob);
		if (err)
			goto fail;
		for (k = 0; (flags & RP_ATTEMPTS) && k < 8; k++)
			if (put_varint(out, r->attempts[k]))
				goto fail;
		last_s = r->second;
		last_id = ids ? ids[i] : 0;
		prev = r;
	}
	return 0;
fail:
	dynbuf_release(out);
	return -1;
}

int rowpack_decode(const unsigned char *p, size_t len,
		   int (*fn)(void *ctx, const struct agg_row *row, int64_t id), void *ctx)
{
	struct agg_row *r = calloc(1, sizeof(*r));
	size_t off = 1;
	int64_t last_s = 0, last_id = 0;
	int rc = -1;

	if (!r)
		return -1;
	if (!p || len < 1 || p[0] != RP_VERSION)
		goto out;
	while (off < len) {
		unsigned char flags = p[off++];
		uint64_t sec, idd, outcome, code, count, sum, max, blen;
		unsigned k;

		if ((flags & ~RP_KNOWN) || (off == 2 && (flags & 0x0f) != 0x0f))
			goto out;   /* unknown bits, or a first row that inherits strings */
		if (((flags & RP_CHECK) && get_str(p, len, &off, r->check, sizeof(r->check))) ||
		    ((flags & RP_WORKLOAD) &&
		     get_str(p, len, &off, r->workload, sizeof(r->workload))) ||
		    ((flags & RP_BACKEND) && get_str(p, len, &off, r->backend, sizeof(r->backend))) ||
		    ((flags & RP_IDENTITY) &&
		     get_str(p, len, &off, r->identity, sizeof(r->identity))))
			goto out;
		if (get_varint(p, len, &off, &sec) || get_varint(p, len, &off, &idd) ||
		    get_varint(p, len, &off, &outcome) ||
		    get_varint(p, len, &off, &code) || get_varint(p, len, &off, &count) ||
		    get_varint(p, len, &off, &sum) || get_varint(p, len, &off, &max) ||
		    get_varint(p, len, &off, &blen) || blen > len - off)
			goto out;
		if (outcome > 0xffff || !outcome_valid((unsigned)outcome) ||
		    unzigzag(code) < INT_MIN || unzigzag(code) > INT_MAX ||
		    count > INT64_MAX || sum > INT64_MAX || max > INT64_MAX)
			goto out;
		r->second = wrap_add(last_s, unzigzag(sec));
		r->outcome = (unsigned)outcome;
		r->code = (int)unzigzag(code);
		hist_init(&r->h);
		if (hist_blob_decode(&r->h, p + off, (size_t)blen))
			goto out;
		off += (size_t)blen;
		r->h.count = count;
		r->h.sum_us = sum;
		r->h.max_us = max;
		memset(r->attempts, 0, sizeof(r->attempts));
		for (k = 0; (flags & RP_ATTEMPTS) && k < 8; k++)
			if (get_varint(p, len, &off, &r->attempts[k]))
				goto out;
		last_s = r->second;
		last_id = wrap_add(last_id, unzigzag(idd));
		rc = fn(ctx, r, last_id);
		if (rc)
			goto out;
		rc = -1;
	}
	rc = 0;
out:
	free(r);
	return rc;
}
