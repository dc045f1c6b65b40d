/*
 * l5dtapgen.c - writes test/fixtures/linkerd/tap-stream.bin: what the
 * linkerd-viz tap API streams for `deployments/http-server` while the
 * suite's http-client calls it, as TapEvent messages each framed by a
 * 4-byte little-endian length (L2 pkg/protohttp/protohttp.go
 * SerializeAsPayload). Encoded by hand with upstream's field numbers
 * (L2 viz/tap/proto/viz_tap.proto, viz/metrics-api/proto/viz.proto,
 * proto/common/net.proto), not with our proto, so a wrong number on our
 * side shows. Three requests on the inbound proxy: a 200 with the client's
 * identity, a 503, and one whose response-init never came (reset).
 *   l5dtapgen OUT
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct pb {
	unsigned char b[4096];
	size_t n;
};

static void varint(struct pb *p, uint64_t v)
{
	do {
		unsigned char c = v & 0x7f;

		v >>= 7;
		p->b[p->n++] = c | (v ? 0x80 : 0);
	} while (v);
}

static void tag(struct pb *p, unsigned field, unsigned wt)
{
	varint(p, (uint64_t)field << 3 | wt);
}

static void bytes(struct pb *p, unsigned field, const void *s, size_t n)
{
	tag(p, field, 2);
	varint(p, n);
	memcpy(p->b + p->n, s, n);
	p->n += n;
}

static void str(struct pb *p, unsigned field, const char *s)
{
	bytes(p, field, s, strlen(s));
}

static void sub(struct pb *p, unsigned field, const struct pb *m)
{
	bytes(p, field, m->b, m->n);
}

static void u(struct pb *p, unsigned field, uint64_t v)
{
	tag(p, field, 0);
	varint(p, v);
}

/* TcpAddress { 1 ip IPAddress{ 1 ipv4 fixed32 }; 2 port } */
static void addr(struct pb *p, unsigned field, uint32_t ip, unsigned port)
{
	struct pb a = { .n = 0 }, i = { .n = 0 };

	tag(&i, 1, 5);
	for (int k = 0; k < 4; k++)
		i.b[i.n++] = (unsigned char)(ip >> (8 * k));   /* fixed32 little-endian */
	sub(&a, 1, &i);
	u(&a, 2, port);
	sub(p, field, &a);
}

/* EndpointMeta { 1 map<string,string> labels }: entries {1 key, 2 value} */
static void meta(struct pb *p, unsigned field, const char *const *kv, size_t n)
{
	struct pb m = { .n = 0 };

	for (size_t i = 0; i < n; i++) {
		struct pb e = { .n = 0 };

		str(&e, 1, kv[2 * i]);
		str(&e, 2, kv[2 * i + 1]);
		sub(&m, 1, &e);
	}
	sub(p, field, &m);
}

static void header(struct pb *h, const char *name, const char *value)
{
	struct pb x = { .n = 0 };

	str(&x, 1, name);
	str(&x, 2, value);   /* value_str */
	sub(h, 1, &x);
}

static const char *const src_meta[] = {
	"tls", "true",
	"client_id", "http-client.conform.serviceaccount.identity.linkerd.cluster.local",
	"namespace", "conform", "pod", "http-client-5d8f7c9b4-x2x7q",
	"deployment", "http-client", "serviceaccount", "http-client",
};
static const char *const dst_meta[] = {
	"namespace", "conform", "pod", "http-server-7c4b9d6f5-k8s2p",
	"deployment", "http-server", "serviceaccount", "http-server",
};

/* one event: the common envelope around http (RequestInit 1, ResponseInit 2, ResponseEnd 3) */
static void event(FILE *f, unsigned kind, const struct pb *body)
{
	struct pb ev = { .n = 0 }, http = { .n = 0 };
	unsigned char len[4];

	addr(&ev, 1, 0x0AF40115u, 43210);       /* 10.244.1.21 */
	meta(&ev, 5, src_meta, sizeof(src_meta) / sizeof(src_meta[0]) / 2);
	addr(&ev, 2, 0x0AF4010Cu, 8080);        /* 10.244.1.12 */
	meta(&ev, 4, dst_meta, sizeof(dst_meta) / sizeof(dst_meta[0]) / 2);
	u(&ev, 6, 1);                           /* INBOUND */
	sub(&http, kind, body);
	sub(&ev, 3, &http);
	for (int k = 0; k < 4; k++)
		len[k] = (unsigned char)(ev.n >> (8 * k));
	fwrite(len, 1, 4, f);
	fwrite(ev.b, 1, ev.n, f);
}

static void stream_id(struct pb *p, unsigned base, unsigned stream)
{
	struct pb id = { .n = 0 };

	u(&id, 1, base);
	u(&id, 2, stream);
	sub(p, 1, &id);
}

static void request(FILE *f, unsigned stream, const char *rid, const char *path, int status,
		    unsigned nanos)
{
	struct pb rq = { .n = 0 }, m = { .n = 0 }, h = { .n = 0 }, rs = { .n = 0 };
	struct pb end = { .n = 0 }, d = { .n = 0 };

	stream_id(&rq, 7, stream);
	u(&m, 1, 0);                            /* registered GET: zero, still encoded */
	sub(&rq, 2, &m);
	str(&rq, 4, "http-server.conform.svc.cluster.local:8080");
	str(&rq, 5, path);
	header(&h, ":method", "GET");
	header(&h, ":path", path);
	header(&h, "x-request-id", rid);
	header(&h, "l5d-client-id",
	       "http-client.conform.serviceaccount.identity.linkerd.cluster.local");
	sub(&rq, 6, &h);
	event(f, 1, &rq);
	if (status > 0) {
		stream_id(&rs, 7, stream);
		u(&d, 2, nanos);                  /* Duration{nanos} */
		sub(&rs, 2, &d);
		u(&rs, 3, (unsigned)status);
		event(f, 2, &rs);
	}
	stream_id(&end, 7, stream);
	d.n = 0;
	u(&d, 2, nanos + 50000);
	sub(&end, 2, &d);
	u(&end, 4, status > 0 ? 12 : 0);
	if (status <= 0) {
		struct pb eos = { .n = 0 };

		u(&eos, 2, 2);                    /* reset_error_code INTERNAL_ERROR */
		sub(&end, 5, &eos);
	}
	event(f, 3, &end);
}

int main(int argc, char **argv)
{
	FILE *f;

	if (argc != 2) {
		fprintf(stderr, "usage: l5dtapgen OUT\n");
		return 2;
	}
	f = fopen(argv[1], "wb");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	request(f, 1, "conform-http.basic-0001", "/echo", 200, 686968);
	request(f, 2, "conform-retry.http-0002", "/fail", 503, 412000);
	request(f, 3, "conform-http.basic-0003", "/echo", 0, 900000);
	return fclose(f) ? 1 : 0;
}
