/*
 * matrix.c - the isolation matrix (matrix.h): one row per fault kind and
 * target, what must fail and what may. A check named in neither column must
 * stay passing or inconclusive under the row's fault: a fault is
 * attributable to the promise it breaks and no other. One table for every
 * mesh: a row is every mesh's unless it names the one it is for, so a row
 * that holds everywhere is written once.
 */
#include <stdio.h>
#include <string.h>

#include "faults/matrix.h"
#include "base/util.h"

#define LOCAL "haproxy"    /* the local reference mesh: every mesh but Linkerd */
#define L5D "linkerd"

static const struct fault_row rows[] = {
	/* the backend fails: retry.http, timeout.http and split.weights judge
	 * their own promise on it, so they turn inconclusive (see http.basic) */
	{ FAULT_SERVER_ERRORS, NULL, "http-server", "--rate 1.0", "http.basic", "", "" },
	{ FAULT_SERVER_ERRORS, NULL, "grpc-server", "--rate 1.0", "grpc.basic", "grpc.stream",
	  "the stream's messages are answered by the same failing server" },
	/* 400 ms late: fast requests are no longer well under the 500 ms route
	 * timeout; nothing else has a latency objective below 2 s */
	{ FAULT_SERVER_LATENCY, NULL, "http-server", "--ms 400", "timeout.http", "", "" },
	{ FAULT_KILL, NULL, "grpc-server", "", "grpc.stream", "grpc.basic",
	  "unary calls fail until the server is back (restarted by the supervisor, or a "
	  "new pod)" },
	{ FAULT_MTLS_OFF, LOCAL, "http-server", "", "mtls.identity,mtls.enforced", "", "" },
	/* on Linkerd the Server is opened to unauthenticated callers: only the
	 * unmeshed probe gets in, meshed clients keep their mTLS */
	{ FAULT_MTLS_OFF, L5D, "http-server", "", "mtls.enforced", "", "" },
	{ FAULT_WRONG_IDENTITY, LOCAL, "http-client", "", "mtls.identity", "", "" },
	{ FAULT_RETRIES_OFF, NULL, "http-client", "", "retry.http", "", "" },
	/* split.shift judges the weights in force after its shift: skewed ones
	 * fail it as they fail split.weights (a run without a shift skips it) */
	{ FAULT_SPLIT_SKEW, NULL, "http-client", "", "split.weights,split.shift", "", "" },
	{ FAULT_TAP_OFF, LOCAL, "http-client", "", "tap.live", "", "" },
	{ FAULT_TIMEOUT_OFF, NULL, "http-client", "", "timeout.http", "", "" },
	/* on Linkerd the pod is deleted: with one replica its Service has no
	 * endpoint until the Deployment's new pod is ready */
	{ FAULT_SIDECAR_KILL, NULL, "http-server", "", "http.basic",
	  "retry.http,timeout.http,split.weights,split.shift,tap.live,mtls.identity",
	  "every request to http-server passes its proxy: while it restarts (or its pod "
	  "is replaced) the checks sending there see connection errors, and a request its "
	  "inbound never saw has no inbound tap line" },
	{ FAULT_SIDECAR_KILL, NULL, "grpc-server", "", "grpc.basic", "grpc.stream",
	  "the stream runs through the killed proxy" },
	{ FAULT_CERT_EXPIRING, LOCAL, "http-server", "", "identity.expiry", "", "" },
};

const struct fault_row *fault_matrix_next(const char *mesh, size_t *i)
{
	const char *own = mesh && !strcmp(mesh, L5D) ? L5D : LOCAL;

	while (*i < sizeof(rows) / sizeof(rows[0])) {
		const struct fault_row *r = &rows[(*i)++];

		if (!r->only || !strcmp(r->only, own))
			return r;
	}
	return NULL;
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
	const struct fault_row *r;
	size_t i = 0, at = 0;

	if (!len)
		return buf;
	buf[0] = '\0';
	while (at < len && (r = fault_matrix_next(LOCAL, &i))) {
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
