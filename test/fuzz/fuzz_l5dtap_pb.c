/*
 * fuzz_l5dtap_pb.c - libFuzzer target for the tap API's length-prefixed
 * TapEvent stream: split in two feeds at a point taken from the first byte
 * (a frame cut across reads), with a small frame bound so oversize frames
 * are reached; every event handed out must be well-formed.
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
	FUZZ_CHECK(TERMINATED(ev->method) && TERMINATED(ev->scheme) && TERMINATED(ev->path) &&
		   TERMINATED(ev->authority) && TERMINATED(ev->request_id) &&
		   TERMINATED(ev->src.ip) && TERMINATED(ev->dst.ip) && TERMINATED(ev->dst.pod) &&
		   TERMINATED(ev->src.id) && TERMINATED(ev->dst.ns));
	FUZZ_CHECK(ev->http_status >= 0 && ev->http_status <= 999);
	if (l5d_tap_corr_add(c, ev, 0, &line) == 1)
		FUZZ_CHECK(TERMINATED(line.request_id) && TERMINATED(line.identity));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct l5d_tap_pb d;
	struct l5d_tap_corr c;
	char err[256], msg[128];
	size_t cut;
	int rc;

	if (size < 1)
		return 0;
	/* the same bytes as one ApiError payload */
	(void)l5d_tap_api_error(data, size, msg, sizeof(msg));
	if (l5d_tap_corr_init(&c, 8))
		return 0;
	if (l5d_tap_pb_init(&d, 4096)) {
		l5d_tap_corr_release(&c);
		return 0;
	}
	cut = data[0] % size;
	data++;
	size--;
	cut = cut > size ? size : cut;
	rc = l5d_tap_pb_feed(&d, data, cut, check, &c, err, sizeof(err));
	if (!rc)
		rc = l5d_tap_pb_feed(&d, data + cut, size - cut, check, &c, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == -EBADMSG || rc == -EMSGSIZE);
	FUZZ_CHECK(l5d_tap_pb_pending(&d) <= 4096 + 4);
	if (rc == 0)
		FUZZ_CHECK(l5d_tap_pb_pending(&d) < 4 + 4096);
	l5d_tap_pb_release(&d);
	l5d_tap_corr_release(&c);
	return 0;
}
