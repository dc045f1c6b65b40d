/*
 * l5dtap.c - Linkerd tap events decoded from the tap API's length-prefixed
 * protobuf stream or from `linkerd viz tap -o json`, into one event struct,
 * and joined by stream id into the suite's tap lines. Both inputs come from
 * outside the process: frames and objects are bounded, strings copied with
 * bounds, and a decoder that lost its framing refuses to guess.
 */
#include "mesh/linkerd/l5dtap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "linkerd/tap.pb-c.h"
#include "base/util.h"

static void l5d_tap_event_clear(struct l5d_tap_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->since_request_init_us = -1;
	ev->since_response_init_us = -1;
	ev->grpc_status = -1;
	ev->reset_error = -1;
}

/* Copies at most len-1 bytes of n bytes of p, replacing bytes that are not
 * printable ASCII by '?', so a header value can never smuggle control
 * characters into a report. */
static void l5d_copy(char *dst, size_t len, const char *p, size_t n)
{
	size_t i;

	if (!len)
		return;
	for (i = 0; i < n && i + 1 < len; i++) {
		unsigned char c = (unsigned char)p[i];

		dst[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	dst[i] = '\0';
}

static void l5d_copys(char *dst, size_t len, const char *s)
{
	l5d_copy(dst, len, s ? s : "", s ? strlen(s) : 0);
}

/* A metadata label of a peer. The owner is the first workload kind present
 * (L2 pkg/k8s/labels.go GetPodLabels: the owner kind is the key). */
static void l5d_peer_label(struct l5d_tap_peer *pe, int source, const char *k, const char *v)
{
	static const char *const owners[] = { "deployment", "statefulset", "daemonset",
					      "replicaset", "job", "cronjob",
					      "replicationcontroller" };

	if (!strcmp(k, "pod"))
		l5d_copys(pe->pod, sizeof(pe->pod), v);
	else if (!strcmp(k, "namespace"))
		l5d_copys(pe->ns, sizeof(pe->ns), v);
	else if (!strcmp(k, "tls"))
		l5d_copys(pe->tls, sizeof(pe->tls), v);
	else if (!strcmp(k, source ? "client_id" : "server_id"))
		l5d_copys(pe->id, sizeof(pe->id), v);
	else
		for (size_t i = 0; i < sizeof(owners) / sizeof(owners[0]); i++)
			if (!strcmp(k, owners[i]) && !pe->owner[0])
				l5d_copys(pe->owner, sizeof(pe->owner), v);
}

/* A request or response header: keep the ones the suite reads. */
static void l5d_header(struct l5d_tap_event *ev, const char *name, const char *v, size_t vn)
{
	if (!strcasecmp(name, L5D_TAP_REQID_HEADER))
		l5d_copy(ev->request_id, sizeof(ev->request_id), v, vn);
	else if (!strcasecmp(name, L5D_TAP_CLIENT_ID_HEADER))
		l5d_copy(ev->client_id_hdr, sizeof(ev->client_id_hdr), v, vn);
	else if (!strcasecmp(name, "grpc-status") && ev->kind != L5D_TAP_REQUEST_INIT) {
		char b[8];
		int64_t g;

		l5d_copy(b, sizeof(b), v, vn);
		if (!parse_i64(b, 0, 255, &g))
			ev->grpc_status = (int)g;
	}
}

static int64_t l5d_dur_us(int64_t s, int64_t ns)
{
	if (s < 0 || s > 100LL * 365 * 86400 || ns < 0 || ns > 999999999)
		return -1;
	return s * 1000000 + ns / 1000;
}

static int l5d_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int l5d_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* ---- protobuf ---- */

static void l5d_pb_addr(const L5dtap__TcpAddress *a, struct l5d_tap_peer *pe)
{
	unsigned char b[16];

	if (!a)
		return;
	pe->port = a->port;
	if (!a->ip)
		return;
	if (a->ip->ip_case == L5DTAP__IPADDRESS__IP_IPV4) {
		/* net.proto: the octets as a big-endian integer (L2 pkg/addr/addr.go) */
		uint32_t v = a->ip->ipv4;

		str_fmt(pe->ip, sizeof(pe->ip), "%u.%u.%u.%u", v >> 24, (v >> 16) & 0xff,
			(v >> 8) & 0xff, v & 0xff);
	} else if (a->ip->ip_case == L5DTAP__IPADDRESS__IP_IPV6 && a->ip->ipv6) {
		for (int i = 0; i < 8; i++) {
			b[i] = (unsigned char)(a->ip->ipv6->first >> (56 - 8 * i));
			b[8 + i] = (unsigned char)(a->ip->ipv6->last >> (56 - 8 * i));
		}
		if (!inet_ntop(AF_INET6, b, pe->ip, sizeof(pe->ip)))
			pe->ip[0] = '\0';
	}
}

static void l5d_pb_meta(const L5dtap__TapEvent__EndpointMeta *m, struct l5d_tap_peer *pe,
			int source)
{
	for (size_t i = 0; m && i < m->n_labels; i++)
		if (m->labels[i] && m->labels[i]->key && m->labels[i]->value)
			l5d_peer_label(pe, source, m->labels[i]->key, m->labels[i]->value);
}

static void l5d_pb_headers(struct l5d_tap_event *ev, const L5dtap__Headers *h)
{
	for (size_t i = 0; h && i < h->n_headers; i++) {
		const L5dtap__Headers__Header *x = h->headers[i];

		if (!x || !x->name)
			continue;
		if (x->value_case == L5DTAP__HEADERS__HEADER__VALUE_VALUE_STR && x->value_str)
			l5d_header(ev, x->name, x->value_str, strlen(x->value_str));
		else if (x->value_case == L5DTAP__HEADERS__HEADER__VALUE_VALUE_BIN)
			l5d_header(ev, x->name, (const char *)x->value_bin.data,
				   x->value_bin.len);
	}
}

static void l5d_pb_id(struct l5d_tap_event *ev, const L5dtap__TapEvent__Http__StreamId *id)
{
	if (id) {
		ev->id_base = id->base_id;
		ev->id_stream = id->stream;
	}
}

static int64_t l5d_pb_dur(const L5dtap__Duration *d)
{
	return d ? l5d_dur_us(d->seconds, d->nanos) : -1;
}

static const char *const l5d_methods[] = { "GET", "POST", "PUT", "DELETE", "PATCH",
					   "OPTIONS", "CONNECT", "HEAD", "TRACE" };

/* One frame's payload into *ev. 0 or -EBADMSG. */
static int l5d_pb_event(const uint8_t *p, size_t n, struct l5d_tap_event *ev)
{
	L5dtap__TapEvent *te = l5dtap__tap_event__unpack(NULL, n, p);
	const L5dtap__TapEvent__Http *h;
	int rc = -EBADMSG;

	l5d_tap_event_clear(ev);
	if (!te)
		return -EBADMSG;
	if (te->event_case != L5DTAP__TAP_EVENT__EVENT_HTTP || !te->http)
		goto out;
	h = te->http;
	ev->dir = te->proxy_direction == L5DTAP__TAP_EVENT__PROXY_DIRECTION__INBOUND ? L5D_TAP_INBOUND
		: te->proxy_direction == L5DTAP__TAP_EVENT__PROXY_DIRECTION__OUTBOUND
			? L5D_TAP_OUTBOUND
			: L5D_TAP_UNKNOWN;
	l5d_pb_addr(te->source, &ev->src);
	l5d_pb_addr(te->destination, &ev->dst);
	l5d_pb_meta(te->source_meta, &ev->src, 1);
	l5d_pb_meta(te->destination_meta, &ev->dst, 0);
	switch (h->event_case) {
	case L5DTAP__TAP_EVENT__HTTP__EVENT_REQUEST_INIT: {
		const L5dtap__TapEvent__Http__RequestInit *r = h->request_init;

		ev->kind = L5D_TAP_REQUEST_INIT;
		l5d_pb_id(ev, r->id);
		/* a oneof member is present even when zero: GET is registered=0 */
		if (r->method && r->method->type_case == L5DTAP__HTTP_METHOD__TYPE_REGISTERED &&
		    (unsigned)r->method->registered < sizeof(l5d_methods) / sizeof(l5d_methods[0]))
			l5d_copys(ev->method, sizeof(ev->method), l5d_methods[r->method->registered]);
		else if (r->method && r->method->type_case == L5DTAP__HTTP_METHOD__TYPE_UNREGISTERED)
			l5d_copys(ev->method, sizeof(ev->method), r->method->unregistered);
		if (r->scheme && r->scheme->type_case == L5DTAP__SCHEME__TYPE_REGISTERED)
			l5d_copys(ev->scheme, sizeof(ev->scheme),
				  r->scheme->registered == L5DTAP__SCHEME__REGISTERED__HTTPS ? "HTTPS"
											     : "HTTP");
		else if (r->scheme && r->scheme->type_case == L5DTAP__SCHEME__TYPE_UNREGISTERED)
			l5d_copys(ev->scheme, sizeof(ev->scheme), r->scheme->unregistered);
		l5d_copys(ev->authority, sizeof(ev->authority), r->authority);
		l5d_copys(ev->path, sizeof(ev->path), r->path);
		l5d_pb_headers(ev, r->headers);
		break;
	}
	case L5DTAP__TAP_EVENT__HTTP__EVENT_RESPONSE_INIT: {
		const L5dtap__TapEvent__Http__ResponseInit *r = h->response_init;

		ev->kind = L5D_TAP_RESPONSE_INIT;
		l5d_pb_id(ev, r->id);
		ev->since_request_init_us = l5d_pb_dur(r->since_request_init);
		ev->http_status = r->http_status <= 999 ? (int)r->http_status : 0;
		l5d_pb_headers(ev, r->headers);
		break;
	}
	case L5DTAP__TAP_EVENT__HTTP__EVENT_RESPONSE_END: {
		const L5dtap__TapEvent__Http__ResponseEnd *r = h->response_end;

		ev->kind = L5D_TAP_RESPONSE_END;
		l5d_pb_id(ev, r->id);
		ev->since_request_init_us = l5d_pb_dur(r->since_request_init);
		ev->since_response_init_us = l5d_pb_dur(r->since_response_init);
		ev->response_bytes = r->response_bytes;
		l5d_pb_headers(ev, r->trailers);
		if (r->eos && r->eos->end_case == L5DTAP__EOS__END_GRPC_STATUS_CODE &&
		    r->eos->grpc_status_code <= 255)
			ev->grpc_status = (int)r->eos->grpc_status_code;
		else if (r->eos && r->eos->end_case == L5DTAP__EOS__END_RESET_ERROR_CODE)
			ev->reset_error = r->eos->reset_error_code;
		break;
	}
	default:
		goto out;
	}
	rc = 0;
out:
	l5dtap__tap_event__free_unpacked(te, NULL);
	return rc;
}

int l5d_tap_pb_init(struct l5d_tap_pb *d, size_t frame_max)
{
	memset(d, 0, sizeof(*d));
	d->cap = 4 + (frame_max ? frame_max : L5D_TAP_FRAME_MAX);
	d->buf = malloc(d->cap);
	return d->buf ? 0 : -ENOMEM;
}

void l5d_tap_pb_release(struct l5d_tap_pb *d)
{
	free(d->buf);
	memset(d, 0, sizeof(*d));
}

size_t l5d_tap_pb_pending(const struct l5d_tap_pb *d)
{
	return d->len;
}

int l5d_tap_pb_feed(struct l5d_tap_pb *d, const void *p, size_t n, l5d_tap_cb cb, void *arg,
		    char *err, size_t errlen)
{
	const unsigned char *in = p;
	struct l5d_tap_event ev;
	int rc = 0;

	if (d->broken)
		return l5d_fail(err, errlen, -EPIPE, "tap stream already failed; open a new one");
	while (n > 0) {
		size_t take = d->cap - d->len, off = 0;

		if (take > n)
			take = n;
		memcpy(d->buf + d->len, in, take);
		d->len += take;
		in += take;
		n -= take;
		while (d->len - off >= 4) {
			const unsigned char *f = d->buf + off;
			/* 4-byte little-endian length (L2 pkg/protohttp/protohttp.go) */
			uint32_t flen = (uint32_t)f[0] | (uint32_t)f[1] << 8 |
					(uint32_t)f[2] << 16 | (uint32_t)f[3] << 24;

			if (flen > d->cap - 4) {
				d->broken = 1;
				rc = l5d_fail(err, errlen, -EMSGSIZE,
					      "tap frame %llu announces %u bytes, over the %zu byte "
					      "limit: not a tap stream?",
					      (unsigned long long)d->frames + 1, flen, d->cap - 4);
				goto out;
			}
			if (d->len - off - 4 < flen)
				break;
			if (l5d_pb_event(f + 4, flen, &ev)) {
				d->broken = 1;
				rc = l5d_fail(err, errlen, -EBADMSG,
					      "tap frame %llu (%u bytes) is not a TapEvent with an "
					      "http event",
					      (unsigned long long)d->frames + 1, flen);
				goto out;
			}
			d->frames++;
			off += 4 + (size_t)flen;
			rc = cb ? cb(&ev, arg) : 0;
			if (rc) {
				memmove(d->buf, d->buf + off, d->len - off);
				d->len -= off;
				return rc;
			}
		}
		memmove(d->buf, d->buf + off, d->len - off);
		d->len -= off;
	}
out:
	return rc;
}

int l5d_tap_api_error(const void *p, size_t n, char *msg, size_t len)
{
	L5dtap__ApiError *e = l5dtap__api_error__unpack(NULL, n, p);

	if (!e)
		return -EBADMSG;
	l5d_copys(msg, len, e->error);
	l5dtap__api_error__free_unpacked(e, NULL);
	return 0;
}

/* ---- JSON ---- */

static const cJSON *l5d_j(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

static int l5d_j_num(const cJSON *o, const char *k, double min, double max, double *out)
{
	const cJSON *v = l5d_j(o, k);

	if (!v) {
		*out = 0;
		return 0;   /* omitted: zero */
	}
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= min && v->valuedouble <= max))
		return -1;
	*out = v->valuedouble;
	return 0;
}

/* {"seconds":N,"nanos":N}, either omitted when zero; {} is zero. */
static int l5d_j_dur(const cJSON *o, const char *k, int64_t *us)
{
	const cJSON *d = l5d_j(o, k);
	double s, ns;

	if (!d || cJSON_IsNull(d)) {
		*us = -1;
		return 0;
	}
	if (!cJSON_IsObject(d) || l5d_j_num(d, "seconds", 0, 3.2e9, &s) ||
	    l5d_j_num(d, "nanos", 0, 999999999, &ns))
		return -1;
	*us = l5d_dur_us((int64_t)s, (int64_t)ns);
	return *us < 0 ? -1 : 0;
}

static int l5d_b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Standard base64 with padding (Go's encoding/json for []byte). Returns the
 * decoded length, or -1. */
static long l5d_b64(const char *s, unsigned char *out, size_t cap)
{
	size_t n = strlen(s), o = 0;

	if (n % 4)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		int v[4];
		int pad = 0;

		for (int k = 0; k < 4; k++) {
			if (s[i + k] == '=' && i + 4 == n && k >= 2) {
				v[k] = 0;
				pad++;
			} else if (pad || (v[k] = l5d_b64val((unsigned char)s[i + k])) < 0) {
				return -1;
			}
		}
		if (o + 3 - (size_t)pad > cap)
			return -1;
		out[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			out[o++] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
		if (pad < 1)
			out[o++] = (unsigned char)((v[2] & 3) << 6 | v[3]);
	}
	return (long)o;
}

static int l5d_j_headers(struct l5d_tap_event *ev, const cJSON *h)
{
	const cJSON *x;

	if (!h || cJSON_IsNull(h))
		return 0;
	if (!cJSON_IsArray(h))
		return -1;
	cJSON_ArrayForEach(x, h) {
		const cJSON *name = l5d_j(x, "name"), *vs = l5d_j(x, "valueStr"),
			    *vb = l5d_j(x, "valueBin");

		if (!cJSON_IsString(name))
			return -1;
		if (cJSON_IsString(vs)) {
			l5d_header(ev, name->valuestring, vs->valuestring, strlen(vs->valuestring));
		} else if (cJSON_IsString(vb)) {
			unsigned char b[512];
			long bn = l5d_b64(vb->valuestring, b, sizeof(b));

			if (bn < 0 && strlen(vb->valuestring) < 4 * sizeof(b) / 3)
				return -1;   /* short but not base64 */
			if (bn >= 0)
				l5d_header(ev, name->valuestring, (const char *)b, (size_t)bn);
		}
	}
	return 0;
}

static int l5d_j_peer(const cJSON *o, struct l5d_tap_peer *pe, int source)
{
	const cJSON *ip, *m, *x;
	double port;

	if (!cJSON_IsObject(o))
		return -1;
	ip = l5d_j(o, "ip");
	if (ip && !cJSON_IsString(ip))
		return -1;
	if (ip)
		l5d_copys(pe->ip, sizeof(pe->ip), ip->valuestring);
	if (l5d_j_num(o, "port", 0, 65535, &port))
		return -1;
	pe->port = (uint32_t)port;
	m = l5d_j(o, "metadata");
	if (!m || cJSON_IsNull(m))
		return 0;
	if (!cJSON_IsObject(m))
		return -1;
	cJSON_ArrayForEach(x, m) {
		if (cJSON_IsString(x) && x->string)
			l5d_peer_label(pe, source, x->string, x->valuestring);
	}
	return 0;
}

static int l5d_j_id(const cJSON *o, struct l5d_tap_event *ev)
{
	const cJSON *id = l5d_j(o, "id");
	double b, s;

	if (!cJSON_IsObject(id) || l5d_j_num(id, "base", 0, 4294967295.0, &b) ||
	    l5d_j_num(id, "stream", 0, 18446744073709549568.0, &s))
		return -1;
	ev->id_base = (uint32_t)b;
	ev->id_stream = (uint64_t)s;
	return 0;
}

static int l5d_j_str(const cJSON *o, const char *k, char *dst, size_t len)
{
	const cJSON *v = l5d_j(o, k);

	if (!v)
		return 0;
	if (!cJSON_IsString(v))
		return -1;
	l5d_copys(dst, len, v->valuestring);
	return 0;
}

int l5d_tap_json_event(const char *text, size_t len, struct l5d_tap_event *ev, char *err,
		       size_t errlen)
{
	cJSON *root = cJSON_ParseWithLength(text, len);
	const cJSON *rq, *rs, *re, *dir, *src, *dst;
	const char *what = "not a JSON object";
	int nev;

	l5d_tap_event_clear(ev);
	if (!cJSON_IsObject(root))
		goto bad;
	rq = l5d_j(root, "requestInitEvent");
	rs = l5d_j(root, "responseInitEvent");
	re = l5d_j(root, "responseEndEvent");
	nev = !!cJSON_IsObject(rq) + !!cJSON_IsObject(rs) + !!cJSON_IsObject(re);
	what = "not exactly one of requestInitEvent, responseInitEvent, responseEndEvent";
	if (nev != 1)
		goto bad;
	what = "bad source or destination";
	src = l5d_j(root, "source");
	dst = l5d_j(root, "destination");
	if ((src && !cJSON_IsNull(src) && l5d_j_peer(src, &ev->src, 1)) ||
	    (dst && !cJSON_IsNull(dst) && l5d_j_peer(dst, &ev->dst, 0)))
		goto bad;
	dir = l5d_j(root, "proxyDirection");
	what = "bad proxyDirection";
	if (dir && !cJSON_IsString(dir))
		goto bad;
	ev->dir = !dir ? L5D_TAP_UNKNOWN
		: !strcmp(dir->valuestring, "INBOUND") ? L5D_TAP_INBOUND
		: !strcmp(dir->valuestring, "OUTBOUND") ? L5D_TAP_OUTBOUND
							 : L5D_TAP_UNKNOWN;
	if (cJSON_IsObject(rq)) {
		ev->kind = L5D_TAP_REQUEST_INIT;
		what = "bad requestInitEvent";
		if (l5d_j_id(rq, ev) || l5d_j_str(rq, "method", ev->method, sizeof(ev->method)) ||
		    l5d_j_str(rq, "scheme", ev->scheme, sizeof(ev->scheme)) ||
		    l5d_j_str(rq, "authority", ev->authority, sizeof(ev->authority)) ||
		    l5d_j_str(rq, "path", ev->path, sizeof(ev->path)) ||
		    l5d_j_headers(ev, l5d_j(rq, "headers")))
			goto bad;
	} else if (cJSON_IsObject(rs)) {
		double st;

		ev->kind = L5D_TAP_RESPONSE_INIT;
		what = "bad responseInitEvent";
		if (l5d_j_id(rs, ev) || l5d_j_dur(rs, "sinceRequestInit", &ev->since_request_init_us) ||
		    l5d_j_num(rs, "httpStatus", 0, 999, &st) ||
		    l5d_j_headers(ev, l5d_j(rs, "headers")))
			goto bad;
		ev->http_status = (int)st;
	} else {
		double bytes, g, r;
		const cJSON *rst = l5d_j(re, "resetErrorCode");

		ev->kind = L5D_TAP_RESPONSE_END;
		what = "bad responseEndEvent";
		if (l5d_j_id(re, ev) || l5d_j_dur(re, "sinceRequestInit", &ev->since_request_init_us) ||
		    l5d_j_dur(re, "sinceResponseInit", &ev->since_response_init_us) ||
		    l5d_j_num(re, "responseBytes", 0, 1.8e19, &bytes) ||
		    l5d_j_num(re, "grpcStatusCode", 0, 255, &g) ||
		    l5d_j_num(re, "resetErrorCode", 0, 4294967295.0, &r) ||
		    l5d_j_headers(ev, l5d_j(re, "trailers")))
			goto bad;
		ev->response_bytes = (uint64_t)bytes;
		if (rst)
			ev->reset_error = (int64_t)r;
		/* grpcStatusCode is 0 for plain HTTP too (L2 viz/cmd/tap.go): it
		 * counts only when a grpc-status trailer was seen (l5d_header) */
		if (ev->grpc_status < 0 && g != 0)
			ev->grpc_status = (int)g;
	}
	cJSON_Delete(root);
	return 0;
bad:
	cJSON_Delete(root);
	return l5d_fail(err, errlen, -EBADMSG, "tap event: %s", what);
}

void l5d_tap_json_init(struct l5d_tap_json *d)
{
	memset(d, 0, sizeof(*d));
	d->line = 1;
}

void l5d_tap_json_release(struct l5d_tap_json *d)
{
	free(d->buf);
	memset(d, 0, sizeof(*d));
}

#define L5D_TAP_JSON_DEPTH 32

static int l5d_tap_json_put(struct l5d_tap_json *d, char c)
{
	if (d->len + 1 >= d->cap) {
		size_t n = d->cap ? d->cap * 2 : 4096;
		char *b;

		if (n > L5D_TAP_JSON_MAX + 1)
			n = L5D_TAP_JSON_MAX + 1;
		if (d->len + 1 >= n)
			return -EMSGSIZE;
		b = realloc(d->buf, n);
		if (!b)
			return -ENOMEM;
		d->buf = b;
		d->cap = n;
	}
	d->buf[d->len++] = c;
	return 0;
}

int l5d_tap_json_feed(struct l5d_tap_json *d, const void *p, size_t n, l5d_tap_cb cb, void *arg,
		      char *err, size_t errlen)
{
	const char *in = p;
	struct l5d_tap_event ev;
	char why[160];
	int rc;

	if (d->broken)
		return l5d_fail(err, errlen, -EPIPE, "tap output already failed; start again");
	for (size_t i = 0; i < n; i++) {
		char c = in[i];

		if (d->depth == 0) {
			if (c == '\n')
				d->line++;
			if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
				continue;
			if (c != '{') {
				d->broken = 1;
				return l5d_fail(err, errlen, -EBADMSG,
						"line %llu: text outside a tap event (not the output "
						"of linkerd viz tap -o json?)",
						(unsigned long long)d->line);
			}
		}
		rc = l5d_tap_json_put(d, c);
		if (rc) {
			d->broken = 1;
			return l5d_fail(err, errlen, rc, "line %llu: tap event over %d bytes",
					(unsigned long long)d->line, L5D_TAP_JSON_MAX);
		}
		if (c == '\n')
			d->line++;
		if (d->in_str) {
			if (d->esc)
				d->esc = 0;
			else if (c == '\\')
				d->esc = 1;
			else if (c == '"')
				d->in_str = 0;
			continue;
		}
		if (c == '"') {
			d->in_str = 1;
		} else if (c == '{' || c == '[') {
			if (++d->depth > L5D_TAP_JSON_DEPTH) {
				d->broken = 1;
				return l5d_fail(err, errlen, -EBADMSG,
						"line %llu: tap event nested deeper than %d",
						(unsigned long long)d->line, L5D_TAP_JSON_DEPTH);
			}
		} else if (c == '}' || c == ']') {
			if (--d->depth > 0)
				continue;
			rc = l5d_tap_json_event(d->buf, d->len, &ev, why, sizeof(why));
			d->len = 0;
			d->depth = 0;
			if (rc) {
				d->broken = 1;
				return l5d_fail(err, errlen, rc, "line %llu: %s",
						(unsigned long long)d->line, why);
			}
			d->events++;
			rc = cb ? cb(&ev, arg) : 0;
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* ---- correlation ---- */

struct l5d_tap_pending {
	int used;
	uint64_t seq;
	enum l5d_tap_dir dir;
	uint32_t base;
	uint64_t stream;
	int status;
	struct mesh_tap_line line;
};

int l5d_tap_corr_init(struct l5d_tap_corr *c, size_t cap)
{
	memset(c, 0, sizeof(*c));
	c->cap = cap ? cap : 4096;
	c->p = calloc(c->cap, sizeof(*c->p));
	return c->p ? 0 : -ENOMEM;
}

void l5d_tap_corr_release(struct l5d_tap_corr *c)
{
	free(c->p);
	memset(c, 0, sizeof(*c));
}

static struct l5d_tap_pending *l5d_corr_find(struct l5d_tap_corr *c,
					     const struct l5d_tap_event *ev)
{
	for (size_t i = 0; i < c->cap; i++)
		if (c->p[i].used && c->p[i].base == ev->id_base &&
		    c->p[i].stream == ev->id_stream && c->p[i].dir == ev->dir)
			return &c->p[i];
	return NULL;
}

/* The workload a peer is: its owner, else its pod, else ip:port. */
static void l5d_corr_who(const struct l5d_tap_peer *pe, char *dst, size_t len)
{
	if (pe->owner[0])
		str_copy(dst, len, pe->owner);
	else if (pe->pod[0])
		str_copy(dst, len, pe->pod);
	else if (strchr(pe->ip, ':'))
		str_fmt(dst, len, "[%s]:%u", pe->ip, pe->port);
	else
		str_fmt(dst, len, "%s:%u", pe->ip, pe->port);
}

int l5d_tap_corr_add(struct l5d_tap_corr *c, const struct l5d_tap_event *ev, double now,
		     struct mesh_tap_line *out)
{
	struct l5d_tap_pending *e = l5d_corr_find(c, ev);

	if (ev->kind == L5D_TAP_REQUEST_INIT) {
		if (!e) {
			struct l5d_tap_pending *old = NULL;

			for (size_t i = 0; i < c->cap && !e; i++)
				if (!c->p[i].used)
					e = &c->p[i];
				else if (!old || c->p[i].seq < old->seq)
					old = &c->p[i];
			if (!e) {
				e = old;   /* full: the oldest unfinished request goes */
				c->evicted++;
			}
		}
		memset(e, 0, sizeof(*e));
		e->used = 1;
		e->seq = ++c->seq;
		e->dir = ev->dir;
		e->base = ev->id_base;
		e->stream = ev->id_stream;
		str_copy(e->line.request_id, sizeof(e->line.request_id), ev->request_id);
		l5d_corr_who(&ev->src, e->line.src, sizeof(e->line.src));
		l5d_corr_who(&ev->dst, e->line.dst, sizeof(e->line.dst));
		str_copy(e->line.method, sizeof(e->line.method), ev->method);
		str_copy(e->line.path, sizeof(e->line.path), ev->path);
		e->line.path[strcspn(e->line.path, "?")] = '\0';
		e->line.dir = ev->dir == L5D_TAP_INBOUND ? MESH_TAP_IN :
			      ev->dir == L5D_TAP_OUTBOUND ? MESH_TAP_OUT : MESH_TAP_UNKNOWN;
		/* outbound: the server identity the proxy verified */
		if (ev->dir == L5D_TAP_OUTBOUND && !strcmp(ev->dst.tls, "true"))
			str_copy(e->line.peer_id, sizeof(e->line.peer_id), ev->dst.id);
		if (ev->dir == L5D_TAP_INBOUND) {
			/* proxy-verified: the mTLS peer, else the header the proxy set */
			if (!strcmp(ev->src.tls, "true") && ev->src.id[0])
				str_copy(e->line.identity, sizeof(e->line.identity), ev->src.id);
			else
				str_copy(e->line.identity, sizeof(e->line.identity),
					 ev->client_id_hdr);
		}
		return 0;
	}
	if (!e) {
		c->orphans++;
		return 0;
	}
	if (ev->kind == L5D_TAP_RESPONSE_INIT) {
		e->status = ev->http_status;
		return 0;
	}
	*out = e->line;
	out->ts = now;
	out->status = e->status;
	out->latency_us = ev->since_request_init_us >= 0 ? ev->since_request_init_us : 0;
	memset(e, 0, sizeof(*e));
	return 1;
}
