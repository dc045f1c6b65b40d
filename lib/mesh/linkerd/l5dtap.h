/*
 * l5dtap.h - Linkerd tap events from either of their two outside forms,
 * and the correlator that joins them into the suite's tap lines:
 *
 *  - the linkerd-viz tap API stream (POST .../watch/namespaces/NS/
 *    deployments/NAME/tap): TapEvent protobuf messages, each framed by a
 *    4-byte LITTLE-endian length (L2 pkg/protohttp/protohttp.go
 *    SerializeAsPayload), arriving in chunks that mean nothing;
 *  - `linkerd viz tap -o json`: one pretty-printed JSON object per event,
 *    each followed by "\n" (L2 viz/cmd/tap.go renderTapEventJSON,
 *    json.MarshalIndent) - not JSON lines, not an array.
 *
 * Both decoders are push parsers: feed them bytes as they come, they call
 * back once per complete event. Both bound what they buffer.
 * (L2 = linkerd/linkerd2.)
 */
#ifndef CONFORM_L5DTAP_H
#define CONFORM_L5DTAP_H

#include <stddef.h>
#include <stdint.h>

#include "mesh/mesh.h"

/* The header carrying the suite's request id (workloads/http_client.c). */
#define L5D_TAP_REQID_HEADER "x-request-id"
/* The verified identity the inbound proxy hands to the app (PX
 * linkerd/app/inbound/src/http/set_identity_header.rs). */
#define L5D_TAP_CLIENT_ID_HEADER "l5d-client-id"

#define L5D_TAP_FRAME_MAX (1024 * 1024)      /* default bound of one protobuf frame */
#define L5D_TAP_JSON_MAX (256 * 1024)        /* bound of one JSON event */

enum l5d_tap_kind {
	L5D_TAP_REQUEST_INIT = 1,
	L5D_TAP_RESPONSE_INIT,
	L5D_TAP_RESPONSE_END,
};

enum l5d_tap_dir { L5D_TAP_UNKNOWN = 0, L5D_TAP_INBOUND = 1, L5D_TAP_OUTBOUND = 2 };

/* One end of the tapped connection, with what the proxy and the tap server
 * said about it (metadata labels). Strings are "" when absent. */
struct l5d_tap_peer {
	char ip[48];             /* "10.244.1.20", "ff01::1" */
	uint32_t port;
	char pod[128];
	char ns[64];
	char owner[128];         /* deployment (or statefulset, daemonset, ...) name */
	char tls[32];            /* "true", "loopback", "no_tls_from_remote", ... */
	char id[256];            /* client_id (source) or server_id (destination) */
};

struct l5d_tap_event {
	enum l5d_tap_kind kind;
	enum l5d_tap_dir dir;
	uint32_t id_base;        /* id.base + id.stream name one request of one proxy */
	uint64_t id_stream;
	struct l5d_tap_peer src, dst;
	/* request-init */
	char method[16];         /* "GET", or the unregistered method */
	char scheme[16];
	char authority[256];
	char path[1024];
	char request_id[128];    /* L5D_TAP_REQID_HEADER, "" when absent */
	char client_id_hdr[256]; /* L5D_TAP_CLIENT_ID_HEADER, "" when absent */
	/* response-init */
	int http_status;         /* 0 when not a response-init */
	/* response-init / response-end: -1 when absent */
	int64_t since_request_init_us;
	int64_t since_response_init_us;
	/* response-end */
	uint64_t response_bytes;
	int grpc_status;         /* -1 when not gRPC (no grpc-status seen) */
	int64_t reset_error;     /* HTTP/2 reset code, -1 when none */
};

/* Called once per decoded event; a non-zero return stops the feed, which
 * returns that value. */
typedef int (*l5d_tap_cb)(const struct l5d_tap_event *ev, void *arg);

/* ---- the tap API's protobuf stream ---- */

struct l5d_tap_pb {
	unsigned char *buf;
	size_t len, cap;
	uint64_t frames;         /* frames decoded so far */
	int broken;              /* a framing error: the stream cannot be resumed */
};

/* frame_max 0 means L5D_TAP_FRAME_MAX. 0 or -ENOMEM. */
int l5d_tap_pb_init(struct l5d_tap_pb *d, size_t frame_max);
void l5d_tap_pb_release(struct l5d_tap_pb *d);

/*
 * Feeds n bytes of the response body. Complete frames are decoded and
 * handed to cb in order; a partial frame waits for the next feed.
 * Returns 0; cb's non-zero value; -EMSGSIZE when a frame announces more
 * than frame_max bytes, -EBADMSG when a frame is not a TapEvent or lacks
 * its http event (err says which frame); after either the decoder stays
 * broken and returns -EPIPE.
 */
int l5d_tap_pb_feed(struct l5d_tap_pb *d, const void *p, size_t n, l5d_tap_cb cb, void *arg,
		    char *err, size_t errlen);

/* Bytes of an unfinished frame left at the end of the stream (0 when it
 * ended on a frame boundary). */
size_t l5d_tap_pb_pending(const struct l5d_tap_pb *d);

/*
 * Decodes the payload of one frame (no length prefix) as the tap server's
 * viz.ApiError (sent, with header linkerd-error set, instead of events
 * when the tap fails: L2 pkg/protohttp WriteErrorToHTTPResponse).
 * 0 with the message in msg, or -EBADMSG.
 */
int l5d_tap_api_error(const void *p, size_t n, char *msg, size_t len);

/* ---- `linkerd viz tap -o json` ---- */

struct l5d_tap_json {
	char *buf;               /* the event being collected */
	size_t len, cap;
	int depth, in_str, esc;
	uint64_t events;
	uint64_t line;           /* 1-based line of the input, for errors */
	int broken;
};

void l5d_tap_json_init(struct l5d_tap_json *d);
void l5d_tap_json_release(struct l5d_tap_json *d);

/*
 * Feeds n bytes of the CLI's output. Top-level objects are found by brace
 * depth (braces inside strings do not count), parsed with cJSON and handed
 * to cb. Returns 0; cb's non-zero value; -EBADMSG for text outside an
 * object, an object that is not a tap event or nesting deeper than 32;
 * -EMSGSIZE for an object over L5D_TAP_JSON_MAX; err names the input line.
 * After an error the decoder stays broken and returns -EPIPE.
 */
int l5d_tap_json_feed(struct l5d_tap_json *d, const void *p, size_t n, l5d_tap_cb cb, void *arg,
		      char *err, size_t errlen);

/* Decodes one JSON object (as one element of the stream) into *ev.
 * 0 or -EBADMSG with err set. */
int l5d_tap_json_event(const char *text, size_t len, struct l5d_tap_event *ev, char *err,
		       size_t errlen);

/* ---- correlation into tap lines ---- */

struct l5d_tap_pending;

struct l5d_tap_corr {
	struct l5d_tap_pending *p;
	size_t cap;
	uint64_t seq;
	uint64_t orphans;        /* response events whose request-init was never seen */
	uint64_t evicted;        /* requests dropped unfinished to make room */
};

/* Room for cap unfinished requests (0: 4096). 0 or -ENOMEM. */
int l5d_tap_corr_init(struct l5d_tap_corr *c, size_t cap);
void l5d_tap_corr_release(struct l5d_tap_corr *c);

/*
 * Adds one event. A response-end completes its request: *out is filled
 * (ts = now, dir, request id, method, path without the query, src/dst
 * workload = owner, else pod, else ip:port, peer_id = the destination's
 * server_id on outbound events with tls "true",
 * identity = the verified client identity on inbound events: the source's
 * client_id when tls is "true", else the l5d-client-id header, "" on
 * outbound; status from the response-init, 0 when the stream was reset
 * before one; latency = since request-init) and 1 returned. Otherwise 0.
 */
int l5d_tap_corr_add(struct l5d_tap_corr *c, const struct l5d_tap_event *ev, double now,
		     struct mesh_tap_line *out);

#endif
