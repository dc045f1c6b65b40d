/*
 * fuzz_l5dtap_json.c - libFuzzer target for the `linkerd viz tap -o json`
 * stream decoder and the correlator behind it: the input is split in two
 * feeds at a point taken from the first byte (an event cut across reads),
 * every event handed out must hold terminated strings and a known kind.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "mesh/linkerd/l5dtap.h"

#define TERMINATED(s) (memchr((s), '\0', sizeof(s)) != NULL)

static int check(const struct l5d_tap_event *ev, void *arg)
{
	struct l5d_tap_corr *c = arg;
	struct mesh_tap_line line;

	FUZZ_CHECK(ev->kind >= L5D_TAP_REQUEST_INIT && ev->kind <= L5D_TAP_RESPONSE_END);
	FUZZ_CHECK(ev->dir <= L5D_TAP_OUTBOUND);
	FUZZ_CHECK(TERMINATED(ev->method) && TERMINATED(ev->path) &&
		   TERMINATED(ev->authority) && TERMINATED(ev->request_id) &&
		   TERMINATED(ev->client_id_hdr) && TERMINATED(ev->src.ip) &&
		   TERMINATED(ev->src.owner) && TERMINATED(ev->dst.id) && TERMINATED(ev->src.tls));
	FUZZ_CHECK(ev->http_status >= 0 && ev->http_status <= 999);
	FUZZ_CHECK(ev->grpc_status >= -1 && ev->grpc_status <= 255);
	if (l5d_tap_corr_add(c, ev, 0, &line) == 1)
		FUZZ_CHECK(TERMINATED(line.request_id) && TERMINATED(line.src) &&
			   TERMINATED(line.dst) && TERMINATED(line.identity) &&
			   line.latency_us >= 0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct l5d_tap_json d;
	struct l5d_tap_corr c;
	char err[256];
	size_t cut;
	int rc;

	if (size < 1 || l5d_tap_corr_init(&c, 8))
		return 0;
	cut = data[0] % size;
	data++;
	size--;
	cut = cut > size ? size : cut;
	l5d_tap_json_init(&d);
	rc = l5d_tap_json_feed(&d, data, cut, check, &c, err, sizeof(err));
	if (!rc)
		rc = l5d_tap_json_feed(&d, data + cut, size - cut, check, &c, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == -EBADMSG || rc == -EMSGSIZE || rc == -ENOMEM);
	FUZZ_CHECK(d.len <= L5D_TAP_JSON_MAX);
	if (rc)   /* once broken, always broken */
		FUZZ_CHECK(l5d_tap_json_feed(&d, "{}", 2, check, &c, err, sizeof(err)) == -EPIPE);
	l5d_tap_json_release(&d);
	l5d_tap_corr_release(&c);
	return 0;
}
