/*
 * matrix.c - the isolation matrix (matrix.h): one row per fault kind and
 * target on the local reference mesh, what must fail and what may. A check
 * named in neither column must stay passing or inconclusive under the row's
 * fault: a fault is attributable to the promise it breaks and no other.
 */
#include <stdio.h>
#include <string.h>

#include "faults/matrix.h"
#include "base/util.h"

const struct fault_row fault_matrix[] = {
	/* the backend fails: retry.http, timeout.http and split.weights judge
	 * their own promise on it, so they turn inconclusive (see http.basic) */
	{ FAULT_SERVER_ERRORS, "http-server", "--rate 1.0", "http.basic", "", "" },
	{ FAULT_SERVER_ERRORS, "grpc-server", "--rate 1.0", "grpc.basic", "grpc.stream",
	  "the stream's messages are answered by the same failing server" },
	/* 400 ms late: fast requests are no longer well under the 500 ms route
	 * timeout; nothing else has a latency objective below 2 s */
	{ FAULT_SERVER_LATENCY, "http-server", "--ms 400", "timeout.http", "", "" },
	{ FAULT_KILL, "grpc-server", "", "grpc.stream",
	  "grpc.basic", "unary calls fail while the supervisor restarts the server" },
	{ FAULT_MTLS_OFF, "http-server", "", "mtls.identity,mtls.enforced", "", "" },
	{ FAULT_WRONG_IDENTITY, "http-client", "", "mtls.identity", "", "" },
	{ FAULT_RETRIES_OFF, "http-client", "", "retry.http", "", "" },
	/* split.shift judges the weights in force after its shift: skewed ones
	 * fail it as they fail split.weights (a run without a shift skips it) */
	{ FAULT_SPLIT_SKEW, "http-client", "", "split.weights,split.shift", "", "" },
	{ FAULT_TAP_OFF, "http-client", "", "tap.live", "", "" },
	{ FAULT_TIMEOUT_OFF, "http-client", "", "timeout.http", "", "" },
	{ FAULT_SIDECAR_KILL, "http-server", "", "http.basic",
	  "retry.http,timeout.http,split.weights,split.shift,tap.live,mtls.identity",
	  "every request to http-server passes its proxy: while it restarts the checks "
	  "sending there see connection errors, and a request its inbound never saw has "
	  "no inbound tap line" },
	{ FAULT_SIDECAR_KILL, "grpc-server", "", "grpc.basic", "grpc.stream",
	  "the stream runs through the killed proxy" },
	{ FAULT_CERT_EXPIRING, "http-server", "", "identity.expiry", "", "" },
};
const size_t fault_matrix_n = sizeof(fault_matrix) / sizeof(fault_matrix[0]);

/*
 * On Linkerd (lib/mesh/linkerd/linkerd.c, docs/linkerd.md "Faults"): the app
 * faults are the same; mtls-off opens the target's Server to unauthenticated
 * traffic, so only the unmeshed probe gets in and meshed clients keep their
 * mTLS (mtls.identity holds); sidecar-kill deletes the pod, and with one
 * replica its Service has no endpoint until the Deployment's new pod is
 * ready. wrong-identity, tap-off and cert-expiring are refused there.
 */
static const struct fault_row fault_matrix_linkerd[] = {
	{ FAULT_SERVER_ERRORS, "http-server", "--rate 1.0", "http.basic", "", "" },
	{ FAULT_SERVER_ERRORS, "grpc-server", "--rate 1.0", "grpc.basic", "grpc.stream",
	  "the stream's messages are answered by the same failing server" },
	{ FAULT_SERVER_LATENCY, "http-server", "--ms 400", "timeout.http", "", "" },
	{ FAULT_KILL, "grpc-server", "", "grpc.stream",
	  "grpc.basic", "unary calls fail while the Deployment brings a new pod" },
	{ FAULT_MTLS_OFF, "http-server", "", "mtls.enforced", "", "" },
	{ FAULT_RETRIES_OFF, "http-client", "", "retry.http", "", "" },
	{ FAULT_SPLIT_SKEW, "http-client", "", "split.weights,split.shift", "", "" },
	{ FAULT_TIMEOUT_OFF, "http-client", "", "timeout.http", "", "" },
	{ FAULT_SIDECAR_KILL, "http-server", "", "http.basic",
	  "retry.http,timeout.http,split.weights,split.shift,tap.live,mtls.identity",
	  "the pod is deleted: until its new pod is ready the Service has no endpoint and "
	  "every check sending there sees errors" },
	{ FAULT_SIDECAR_KILL, "grpc-server", "", "grpc.basic", "grpc.stream",
	  "the pod, and the stream with it, is deleted" },
};

const struct fault_row *fault_matrix_for(const char *mesh, size_t *n)
{
	if (mesh && !strcmp(mesh, "linkerd")) {
		*n = sizeof(fault_matrix_linkerd) / sizeof(fault_matrix_linkerd[0]);
		return fault_matrix_linkerd;
	}
	*n = fault_matrix_n;
	return fault_matrix;
}

int fault_list_has(const char *list, const char *id)
{
	size_t n = strlen(id);
	const char *p = list;

	while (p && *p) {
		size_t k = strcspn(p, ",");

		if (k == n && !strncmp(p, id, n))
			return 1;
		p += k;
		if (*p == ',')
			p++;
	}
	return 0;
}

const char *fault_kind_breaks(enum fault_kind kind, char *buf, size_t len)
{
	size_t i, at = 0;

	if (!len)
		return buf;
	buf[0] = '\0';
	for (i = 0; i < fault_matrix_n && at < len; i++) {
		const struct fault_row *r = &fault_matrix[i];
		int n;

		if (r->kind != kind)
			continue;
		n = snprintf(buf + at, len - at, "%s%s (on %s)", at ? "; " : "", r->fails, r->target);
		if (n < 0)
			break;
		at += (size_t)n;
	}
	return buf;
}
