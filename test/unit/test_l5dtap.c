/*
 * test_l5dtap.c - Linkerd tap events from `linkerd viz tap -o json` output
 * (test/fixtures/linkerd/tap-events.json) and from the tap API's protobuf
 * stream, which this test encodes by hand with upstream's field numbers (so
 * a wrong number in proto/linkerd/tap.proto fails here, it is not a round
 * trip), fed whole and in every chunking; malformed input is refused; the
 * correlator joins the events into tap lines.
 */
#include <errno.h>

#include "harness.h"
#include "mesh/linkerd/l5dtap.h"
#include "base/util.h"

#define ID(sa) sa ".conform.serviceaccount.identity.linkerd.cluster.local"
#define EVMAX 32

struct got {
	struct l5d_tap_event ev[EVMAX];
	size_t n;
};

static int collect(const struct l5d_tap_event *ev, void *arg)
{
	struct got *g = arg;

	if (g->n < EVMAX)
		g->ev[g->n] = *ev;
	g->n++;
	return 0;
}

static char *fixture(const char *name, size_t *len)
{
	char path[256];

	str_fmt(path, sizeof(path), "test/fixtures/linkerd/%s", name);
	return file_read(path, 1 << 20, len);
}

/* Feeds text to a fresh JSON decoder in chunks of step bytes (0: at once). */
static int json_feed(const char *text, size_t len, size_t step, struct got *g, char *err,
		     size_t errlen)
{
	struct l5d_tap_json d;
	int rc = 0;

	memset(g, 0, sizeof(*g));
	l5d_tap_json_init(&d);
	for (size_t off = 0; off < len && !rc;) {
		size_t n = step && len - off > step ? step : len - off;

		rc = l5d_tap_json_feed(&d, text + off, n, collect, g, err, errlen);
		off += n;
	}
	if (!rc && d.depth != 0)
		rc = -EAGAIN;   /* an unfinished event at the end */
	l5d_tap_json_release(&d);
	return rc;
}

static void check_fixture_events(const struct got *g)
{
	const struct l5d_tap_event *e = g->ev;

	ASSERT_EQ(g->n, 9);
	/* inbound request-init: mTLS peer, the suite's headers, braces in strings */
	ASSERT_EQ(e[0].kind, L5D_TAP_REQUEST_INIT);
	ASSERT_EQ(e[0].dir, L5D_TAP_INBOUND);
	ASSERT_UEQ(e[0].id_base, 7);
	ASSERT_UEQ(e[0].id_stream, 1);
	ASSERT_STR_EQ(e[0].method, "GET");
	ASSERT_STR_EQ(e[0].path, "/echo?q={\"a\":1}");
	ASSERT_STR_EQ(e[0].request_id, "http.basic.http-client.2a.17.1763784660123");
	ASSERT_STR_EQ(e[0].client_id_hdr, ID("http-client"));
	ASSERT_STR_EQ(e[0].src.tls, "true");
	ASSERT_STR_EQ(e[0].src.id, ID("http-client"));
	ASSERT_STR_EQ(e[0].src.owner, "http-client");
	ASSERT_STR_EQ(e[0].src.ip, "10.244.3.7");
	ASSERT_UEQ(e[0].src.port, 51234);
	ASSERT_STR_EQ(e[0].dst.owner, "http-server-v1");
	ASSERT_STR_EQ(e[0].dst.ns, "conform");
	/* response-init: {"nanos":686968} */
	ASSERT_EQ(e[1].kind, L5D_TAP_RESPONSE_INIT);
	ASSERT_EQ(e[1].http_status, 200);
	ASSERT_EQ(e[1].since_request_init_us, 686);
	/* response-end: {"seconds":1,"nanos":2000} and {} */
	ASSERT_EQ(e[2].kind, L5D_TAP_RESPONSE_END);
	ASSERT_EQ(e[2].since_request_init_us, 1000002);
	ASSERT_EQ(e[2].since_response_init_us, 0);
	ASSERT_UEQ(e[2].response_bytes, 57);
	ASSERT_EQ(e[2].grpc_status, -1);   /* grpcStatusCode 0 without trailers: not gRPC */
	ASSERT_EQ(e[2].reset_error, -1);
	/* outbound gRPC: valueBin headers, server identity, grpc-status trailer */
	ASSERT_EQ(e[3].dir, L5D_TAP_OUTBOUND);
	ASSERT_STR_EQ(e[3].method, "POST");
	ASSERT_STR_EQ(e[3].request_id, "grpc.basic.grpc-client.1.5");
	ASSERT_STR_EQ(e[3].src.tls, "loopback");
	ASSERT_STR_EQ(e[3].dst.tls, "true");
	ASSERT_STR_EQ(e[3].dst.id, ID("grpc-server"));
	ASSERT_EQ(e[5].grpc_status, 14);
	ASSERT_EQ(e[5].since_response_init_us, 400);
	/* plaintext peer without metadata; a reset stream */
	ASSERT_STR_EQ(e[6].src.tls, "");
	ASSERT_STR_EQ(e[6].src.owner, "");
	ASSERT_STR_EQ(e[6].request_id, "probe.plain.1");
	ASSERT_EQ(e[7].reset_error, 2);
	ASSERT_EQ(e[7].since_request_init_us, 2000000);
}

TEST(json_fixture)
{
	struct got g;
	char err[256] = "";
	size_t len;
	char *text = fixture("tap-events.json", &len);

	ASSERT(text != NULL);
	if (json_feed(text, len, 0, &g, err, sizeof(err)))
		H_FAIL("feed: %s", err);
	check_fixture_events(&g);
	free(text);
}

TEST(json_any_chunking)
{
	static const size_t steps[] = { 1, 2, 3, 7, 64, 1000 };
	size_t len;
	char *text = fixture("tap-events.json", &len);

	ASSERT(text != NULL);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct got g;
		char err[256] = "";

		if (json_feed(text, len, steps[i], &g, err, sizeof(err)))
			H_FAIL("step %zu: %s", steps[i], err);
		check_fixture_events(&g);
		if (h_failed_now)
			H_FAIL("step %zu", steps[i]);
	}
	free(text);
}

TEST(json_refused)
{
	static const struct {
		const char *text;
		int rc;
		const char *msg;
	} cases[] = {
		{ "req id=1:0 proxy=in src=1.2.3.4:5\n", -EBADMSG,
		  "line 1: text outside a tap event" },
		{ "{\"requestInitEvent\":{\"id\":{}}}\n[1]", -EBADMSG, "line 2: text outside" },
		{ "{\n\"source\": null\n}\n", -EBADMSG, "line 3: tap event: not exactly one" },
		{ "{\"requestInitEvent\":{\"id\":{}},\"responseEndEvent\":{\"id\":{}}}", -EBADMSG,
		  "not exactly one" },
		{ "{\"responseInitEvent\":{\"id\":{\"base\":1},\"sinceRequestInit\":"
		  "{\"nanos\":2000000000}}}", -EBADMSG, "bad responseInitEvent" },
		{ "{\"responseInitEvent\":{\"id\":{\"base\":-1}}}", -EBADMSG,
		  "bad responseInitEvent" },
		{ "{\"responseEndEvent\":{\"id\":{},\"grpcStatusCode\":\"0\"}}", -EBADMSG,
		  "bad responseEndEvent" },
		{ "{\"requestInitEvent\":{\"id\":{},\"headers\":[{\"name\":\"x\",\"valueBin\":"
		  "\"!!!\"}]}}", -EBADMSG, "bad requestInitEvent" },
		{ "{\"source\":{\"port\":70000},\"requestInitEvent\":{\"id\":{}}}", -EBADMSG,
		  "bad source or destination" },
		{ "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
		  -EBADMSG, "nested deeper than 32" },
		{ "{\"requestInitEvent\":{\"id\":{}},,}", -EBADMSG,
		  "line 1: tap event: not a JSON object" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct got g;
		char err[256] = "";
		int rc = json_feed(cases[i].text, strlen(cases[i].text), 0, &g, err, sizeof(err));

		if (rc != cases[i].rc || !strstr(err, cases[i].msg))
			H_FAIL("case %zu: rc %d \"%s\", want %d \"%s\"", i, rc, err, cases[i].rc,
			       cases[i].msg);
	}
}

TEST(json_bounded_and_stays_broken)
{
	struct l5d_tap_json d;
	struct got g;
	char err[256] = "", *big = malloc(L5D_TAP_JSON_MAX + 16);

	ASSERT(big != NULL);
	memset(&g, 0, sizeof(g));
	big[0] = '{';
	big[1] = '"';
	memset(big + 2, 'x', L5D_TAP_JSON_MAX + 10);
	l5d_tap_json_init(&d);
	ASSERT_EQ(l5d_tap_json_feed(&d, big, L5D_TAP_JSON_MAX + 12, collect, &g, err,
				    sizeof(err)), -EMSGSIZE);
	ASSERT_CONTAINS(err, "tap event over");
	ASSERT(d.cap <= L5D_TAP_JSON_MAX + 1);
	ASSERT_EQ(l5d_tap_json_feed(&d, "{}", 2, collect, &g, err, sizeof(err)), -EPIPE);
	ASSERT_EQ(g.n, 0);
	l5d_tap_json_release(&d);
	free(big);
}

/* ---- a hand-made protobuf writer: upstream's numbers, nothing generated ---- */

struct pbw {
	unsigned char b[2048];
	size_t n;
};

static void pb_varint(struct pbw *w, uint64_t v)
{
	do {
		unsigned char c = v & 0x7f;

		v >>= 7;
		w->b[w->n++] = c | (v ? 0x80 : 0);
	} while (v);
}

static void pb_u(struct pbw *w, unsigned f, uint64_t v)
{
	pb_varint(w, f << 3 | 0);
	pb_varint(w, v);
}

static void pb_bytes(struct pbw *w, unsigned f, const void *p, size_t n)
{
	pb_varint(w, f << 3 | 2);
	pb_varint(w, n);
	memcpy(w->b + w->n, p, n);
	w->n += n;
}

static void pb_str(struct pbw *w, unsigned f, const char *s)
{
	pb_bytes(w, f, s, strlen(s));
}

static void pb_msg(struct pbw *w, unsigned f, const struct pbw *m)
{
	pb_bytes(w, f, m->b, m->n);
}

static void pb_fixed32(struct pbw *w, unsigned f, uint32_t v)
{
	pb_varint(w, f << 3 | 5);
	for (int i = 0; i < 4; i++)
		w->b[w->n++] = (unsigned char)(v >> (8 * i));
}

static void pb_fixed64(struct pbw *w, unsigned f, uint64_t v)
{
	pb_varint(w, f << 3 | 1);
	for (int i = 0; i < 8; i++)
		w->b[w->n++] = (unsigned char)(v >> (8 * i));
}

/* net.proto TcpAddress { 1 ip IPAddress { 1 ipv4 fixed32 }; 2 port } */
static void pb_tcp4(struct pbw *w, unsigned f, uint32_t ip, uint32_t port)
{
	struct pbw a = { .n = 0 }, t = { .n = 0 };

	pb_fixed32(&a, 1, ip);
	pb_msg(&t, 1, &a);
	pb_u(&t, 2, port);
	pb_msg(w, f, &t);
}

/* EndpointMeta { 1 map<string,string> labels }: entries {1 key, 2 value} */
static void pb_meta(struct pbw *w, unsigned f, const char *const *kv)
{
	struct pbw m = { .n = 0 };

	for (; kv[0]; kv += 2) {
		struct pbw e = { .n = 0 };

		pb_str(&e, 1, kv[0]);
		pb_str(&e, 2, kv[1]);
		pb_msg(&m, 1, &e);
	}
	pb_msg(w, f, &m);
}

static void pb_id(struct pbw *w, uint32_t base, uint64_t stream)
{
	struct pbw id = { .n = 0 };

	pb_u(&id, 1, base);
	pb_u(&id, 2, stream);
	pb_msg(w, 1, &id);
}

/* viz.Headers { 1 repeated Header { 1 name; 2 value_str | 3 value_bin } } */
static void pb_header(struct pbw *h, const char *name, const char *v, int bin)
{
	struct pbw x = { .n = 0 };

	pb_str(&x, 1, name);
	pb_bytes(&x, bin ? 3 : 2, v, strlen(v));
	pb_msg(h, 1, &x);
}

static void pb_dur(struct pbw *w, unsigned f, int64_t s, int32_t ns)
{
	struct pbw d = { .n = 0 };

	if (s)
		pb_u(&d, 1, (uint64_t)s);
	if (ns)
		pb_u(&d, 2, (uint64_t)ns);
	pb_msg(w, f, &d);
}

/* TapEvent { 1 source; 2 destination; 3 http; 4 destination_meta;
 * 5 source_meta; 6 proxy_direction } around one Http event. */
static void pb_event(struct pbw *stream, int dir, unsigned kind, const struct pbw *body)
{
	static const char *const src_meta[] = { "deployment", "http-client", "tls", "true",
						"client_id", ID("http-client"), NULL };
	static const char *const dst_meta[] = { "deployment", "http-server-v1", "namespace",
						"conform", NULL };
	struct pbw ev = { .n = 0 }, http = { .n = 0 };

	pb_tcp4(&ev, 1, 0x0AF4000D, 51234);   /* 10.244.0.13: notes A3's example */
	pb_tcp4(&ev, 2, 0x0AF40114, 8080);    /* 10.244.1.20 */
	pb_msg(&http, kind, body);
	pb_msg(&ev, 3, &http);
	pb_meta(&ev, 4, dst_meta);
	pb_meta(&ev, 5, src_meta);
	pb_u(&ev, 6, (uint64_t)dir);
	/* 4-byte little-endian length, then the message */
	for (int i = 0; i < 4; i++)
		stream->b[stream->n++] = (unsigned char)(ev.n >> (8 * i));
	memcpy(stream->b + stream->n, ev.b, ev.n);
	stream->n += ev.n;
}

/* One inbound request (GET as registered=0, which must still count as
 * present), its response-init and its end with a gRPC status. */
static void pb_stream3(struct pbw *s)
{
	struct pbw rq = { .n = 0 }, m = { .n = 0 }, h = { .n = 0 }, rs = { .n = 0 },
		   re = { .n = 0 }, eos = { .n = 0 };

	s->n = 0;
	pb_id(&rq, 7, 1);
	pb_u(&m, 1, 0);   /* HttpMethod.registered = GET: bytes 12 02 08 00 */
	pb_msg(&rq, 2, &m);
	pb_str(&rq, 4, "http-server.conform.svc.cluster.local:80");
	pb_str(&rq, 5, "/echo");
	pb_header(&h, ":method", "GET", 0);
	pb_header(&h, "x-request-id", "http.basic.http-client.2a.17.1", 0);
	pb_header(&h, "l5d-client-id", ID("http-client"), 1);
	pb_msg(&rq, 6, &h);
	pb_event(s, 1, 1, &rq);

	pb_id(&rs, 7, 1);
	pb_dur(&rs, 2, 0, 686968);
	pb_u(&rs, 3, 200);
	pb_event(s, 1, 2, &rs);

	pb_id(&re, 7, 1);
	pb_dur(&re, 2, 1, 2000);
	pb_msg(&re, 3, &(struct pbw){ .n = 0 });   /* a zero Duration: empty message */
	pb_u(&re, 4, 57);
	pb_u(&eos, 1, 0);   /* grpc_status_code OK, present though zero */
	pb_msg(&re, 5, &eos);
	pb_event(s, 1, 3, &re);
}

static int pb_feed(const struct pbw *s, size_t step, struct got *g, char *err, size_t errlen,
		   size_t *pending)
{
	struct l5d_tap_pb d;
	int rc = 0;

	memset(g, 0, sizeof(*g));
	if (l5d_tap_pb_init(&d, 0))
		return -ENOMEM;
	for (size_t off = 0; off < s->n && !rc;) {
		size_t n = step && s->n - off > step ? step : s->n - off;

		rc = l5d_tap_pb_feed(&d, s->b + off, n, collect, g, err, errlen);
		off += n;
	}
	if (pending)
		*pending = l5d_tap_pb_pending(&d);
	l5d_tap_pb_release(&d);
	return rc;
}

static void check_pb3(const struct got *g)
{
	const struct l5d_tap_event *e = g->ev;

	ASSERT_EQ(g->n, 3);
	ASSERT_EQ(e[0].kind, L5D_TAP_REQUEST_INIT);
	ASSERT_EQ(e[0].dir, L5D_TAP_INBOUND);
	ASSERT_UEQ(e[0].id_base, 7);
	ASSERT_UEQ(e[0].id_stream, 1);
	ASSERT_STR_EQ(e[0].method, "GET");
	ASSERT_STR_EQ(e[0].path, "/echo");
	ASSERT_STR_EQ(e[0].src.ip, "10.244.0.13");
	ASSERT_UEQ(e[0].src.port, 51234);
	ASSERT_STR_EQ(e[0].dst.ip, "10.244.1.20");
	ASSERT_STR_EQ(e[0].src.id, ID("http-client"));
	ASSERT_STR_EQ(e[0].src.tls, "true");
	ASSERT_STR_EQ(e[0].dst.owner, "http-server-v1");
	ASSERT_STR_EQ(e[0].request_id, "http.basic.http-client.2a.17.1");
	ASSERT_STR_EQ(e[0].client_id_hdr, ID("http-client"));   /* value_bin */
	ASSERT_EQ(e[1].kind, L5D_TAP_RESPONSE_INIT);
	ASSERT_EQ(e[1].http_status, 200);
	ASSERT_EQ(e[1].since_request_init_us, 686);
	ASSERT_EQ(e[2].kind, L5D_TAP_RESPONSE_END);
	ASSERT_EQ(e[2].since_request_init_us, 1000002);
	ASSERT_EQ(e[2].since_response_init_us, 0);
	ASSERT_UEQ(e[2].response_bytes, 57);
	ASSERT_EQ(e[2].grpc_status, 0);
}

TEST(pb_stream_whole_and_split)
{
	struct pbw s;
	struct got g;
	char err[256] = "";
	size_t pending = 99;

	pb_stream3(&s);
	/* the wire bytes the notes give for 10.244.0.13 and for GET */
	ASSERT(memmem(s.b, s.n, "\x0d\x0d\x00\xf4\x0a", 5) != NULL);
	ASSERT(memmem(s.b, s.n, "\x12\x02\x08\x00", 4) != NULL);
	ASSERT_EQ(pb_feed(&s, 0, &g, err, sizeof(err), &pending), 0);
	check_pb3(&g);
	ASSERT_EQ(pending, 0);
	/* every chunk size from 1 byte up: frames and length prefixes split */
	for (size_t step = 1; step <= 40; step++) {
		if (pb_feed(&s, step, &g, err, sizeof(err), &pending))
			H_FAIL("step %zu: %s", step, err);
		check_pb3(&g);
		if (h_failed_now)
			H_FAIL("step %zu", step);
	}
	/* a stream cut inside the last frame: two events, the rest pending */
	s.n -= 5;
	ASSERT_EQ(pb_feed(&s, 3, &g, err, sizeof(err), &pending), 0);
	ASSERT_EQ(g.n, 2);
	ASSERT(pending > 0);
}

TEST(pb_refused)
{
	struct pbw s, bad = { .n = 0 };
	struct got g;
	struct l5d_tap_pb d;
	char err[256] = "";
	uint32_t len;

	/* big-endian length (the wrong framing) announces ~1.3 GB */
	pb_stream3(&s);
	len = (uint32_t)s.b[0];
	s.b[0] = 0;
	s.b[3] = (unsigned char)len;
	ASSERT_EQ(pb_feed(&s, 0, &g, err, sizeof(err), NULL), -EMSGSIZE);
	ASSERT_CONTAINS(err, "tap frame 1 announces");
	ASSERT_EQ(g.n, 0);
	/* a frame that is not a TapEvent (wire type 7 does not exist) */
	memcpy(bad.b, "\x03\x00\x00\x00\x0f\xff\xff", 7);
	bad.n = 7;
	ASSERT_EQ(pb_feed(&bad, 0, &g, err, sizeof(err), NULL), -EBADMSG);
	ASSERT_CONTAINS(err, "tap frame 1 (3 bytes) is not a TapEvent");
	/* a TapEvent without its http event */
	memcpy(bad.b, "\x02\x00\x00\x00\x30\x01", 6);
	bad.n = 6;
	ASSERT_EQ(pb_feed(&bad, 0, &g, err, sizeof(err), NULL), -EBADMSG);
	/* a smaller bound; then the decoder stays broken */
	pb_stream3(&s);
	ASSERT_EQ(l5d_tap_pb_init(&d, 16), 0);
	ASSERT_EQ(l5d_tap_pb_feed(&d, s.b, s.n, collect, &g, err, sizeof(err)), -EMSGSIZE);
	ASSERT_EQ(l5d_tap_pb_feed(&d, s.b, s.n, collect, &g, err, sizeof(err)), -EPIPE);
	l5d_tap_pb_release(&d);
}

/* IPv6 { 1 first fixed64 bytes 0-7; 2 last fixed64 bytes 8-15 }, and an
 * unregistered method */
TEST(pb_ipv6_unregistered_method)
{
	struct pbw s = { .n = 0 }, ev = { .n = 0 }, http = { .n = 0 }, rq = { .n = 0 },
		   m = { .n = 0 }, v6 = { .n = 0 }, ip = { .n = 0 }, tcp = { .n = 0 };
	struct got g;
	char err[256] = "";

	pb_fixed64(&v6, 1, 0xff01000000000000ull);
	pb_fixed64(&v6, 2, 1);
	pb_msg(&ip, 2, &v6);
	pb_msg(&tcp, 1, &ip);
	pb_u(&tcp, 2, 443);
	pb_msg(&ev, 2, &tcp);
	pb_id(&rq, 1, 0);
	pb_str(&m, 2, "PROPFIND");
	pb_msg(&rq, 2, &m);
	pb_msg(&http, 1, &rq);
	pb_msg(&ev, 3, &http);
	pb_u(&ev, 6, 2);
	for (int i = 0; i < 4; i++)
		s.b[s.n++] = (unsigned char)(ev.n >> (8 * i));
	memcpy(s.b + s.n, ev.b, ev.n);
	s.n += ev.n;
	ASSERT_EQ(pb_feed(&s, 0, &g, err, sizeof(err), NULL), 0);
	ASSERT_EQ(g.n, 1);
	ASSERT_STR_EQ(g.ev[0].dst.ip, "ff01::1");
	ASSERT_UEQ(g.ev[0].dst.port, 443);
	ASSERT_STR_EQ(g.ev[0].method, "PROPFIND");
	ASSERT_EQ(g.ev[0].dir, L5D_TAP_OUTBOUND);
	ASSERT_STR_EQ(g.ev[0].src.ip, "");
}

TEST(pb_api_error)
{
	struct pbw e = { .n = 0 };
	char msg[256];

	pb_str(&e, 1, "no pods to tap for type=\"deployment\" name=\"t4\"\n");
	ASSERT_EQ(l5d_tap_api_error(e.b, e.n, msg, sizeof(msg)), 0);
	ASSERT_STR_EQ(msg, "no pods to tap for type=\"deployment\" name=\"t4\"?");
	ASSERT_EQ(l5d_tap_api_error("\x0a\x05" "ab", 4, msg, sizeof(msg)), -EBADMSG);
}

TEST(correlate_into_tap_lines)
{
	struct l5d_tap_corr c;
	struct mesh_tap_line lines[8], l;
	struct got g;
	size_t nl = 0, len;
	char err[256] = "", *text = fixture("tap-events.json", &len);

	ASSERT(text != NULL);
	ASSERT_EQ(json_feed(text, len, 0, &g, err, sizeof(err)), 0);
	free(text);
	ASSERT_EQ(l5d_tap_corr_init(&c, 0), 0);
	for (size_t i = 0; i < g.n; i++)
		if (l5d_tap_corr_add(&c, &g.ev[i], 1763784661.5, &lines[nl]) == 1)
			nl++;
	ASSERT_EQ(nl, 3);
	ASSERT_UEQ(c.orphans, 1);
	ASSERT_STR_EQ(lines[0].request_id, "http.basic.http-client.2a.17.1763784660123");
	ASSERT_STR_EQ(lines[0].src, "http-client");
	ASSERT_STR_EQ(lines[0].dst, "http-server-v1");
	ASSERT_STR_EQ(lines[0].identity, ID("http-client"));
	ASSERT_EQ(lines[0].status, 200);
	ASSERT_EQ(lines[0].latency_us, 1000002);
	ASSERT_NEAR(lines[0].ts, 1763784661.5, 0);
	ASSERT_STR_EQ(lines[1].request_id, "grpc.basic.grpc-client.1.5");
	ASSERT_STR_EQ(lines[1].src, "grpc-client");
	ASSERT_STR_EQ(lines[1].dst, "grpc-server");
	ASSERT_STR_EQ(lines[1].identity, "");   /* outbound: the client is this proxy */
	ASSERT_EQ(lines[1].latency_us, 900);
	ASSERT_STR_EQ(lines[2].request_id, "probe.plain.1");
	ASSERT_STR_EQ(lines[2].src, "10.244.9.9:40000");
	ASSERT_STR_EQ(lines[2].identity, "");
	ASSERT_EQ(lines[2].status, 0);   /* reset before a response */
	l5d_tap_corr_release(&c);

	/* full table: the oldest unfinished request is dropped and counted */
	ASSERT_EQ(l5d_tap_corr_init(&c, 1), 0);
	ASSERT_EQ(l5d_tap_corr_add(&c, &g.ev[0], 1, &l), 0);   /* 7:1 inbound */
	ASSERT_EQ(l5d_tap_corr_add(&c, &g.ev[3], 1, &l), 0);   /* 9:4 outbound */
	ASSERT_UEQ(c.evicted, 1);
	ASSERT_EQ(l5d_tap_corr_add(&c, &g.ev[2], 1, &l), 0);   /* 7:1's end: gone */
	ASSERT_UEQ(c.orphans, 1);
	ASSERT_EQ(l5d_tap_corr_add(&c, &g.ev[5], 1, &l), 1);
	ASSERT_STR_EQ(l.request_id, "grpc.basic.grpc-client.1.5");
	l5d_tap_corr_release(&c);

	/* the identity is the mTLS peer's even when no l5d-client-id was tapped */
	{
		struct l5d_tap_event rq = g.ev[0];

		rq.client_id_hdr[0] = '\0';
		ASSERT_EQ(l5d_tap_corr_init(&c, 4), 0);
		ASSERT_EQ(l5d_tap_corr_add(&c, &rq, 1, &l), 0);
		ASSERT_EQ(l5d_tap_corr_add(&c, &g.ev[2], 1, &l), 1);
		ASSERT_STR_EQ(l.identity, ID("http-client"));
		l5d_tap_corr_release(&c);
	}
}

int main(void)
{
	RUN(json_fixture);
	RUN(json_any_chunking);
	RUN(json_refused);
	RUN(json_bounded_and_stays_broken);
	RUN(pb_stream_whole_and_split);
	RUN(pb_refused);
	RUN(pb_ipv6_unregistered_method);
	RUN(pb_api_error);
	RUN(correlate_into_tap_lines);
	TEST_MAIN_END();
}
