/*
 * mesh_none.c - the `none` mesh: the baseline without any mesh. No
 * sidecars, clients talk straight to servers, and every mesh feature, tap,
 * statistic and fault slot answers -ENOTSUP so mesh checks fail with
 * "no mesh".
 */
#include "mesh/mesh.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

struct mesh {
	char identity_header[64];
};

static int none_prepare(const struct mesh_env *env, struct mesh **out, char *err,
			size_t errlen)
{
	const struct run_config *cfg = env ? env->cfg : NULL;
	struct mesh *m = calloc(1, sizeof(*m));

	if (!m) {
		str_fmt(err, errlen, "out of memory");
		return -ENOMEM;
	}
	str_copy(m->identity_header, sizeof(m->identity_header),
		 cfg && cfg->identity_header[0] ? cfg->identity_header : "l5d-client-id");
	*out = m;
	return 0;
}

static int none_plan(struct mesh *m, struct mesh_plan *out, char *err, size_t errlen)
{
	(void)m;
	(void)out;
	(void)err;
	(void)errlen;
	return -ENOTSUP;
}

static int none_start_sidecars(struct mesh *m, struct workload_spec *w, char *err,
			       size_t errlen)
{
	(void)m;
	(void)w;
	(void)err;
	(void)errlen;
	return 0;
}

static const char *none_identity_header(struct mesh *m)
{
	return m ? m->identity_header : "l5d-client-id";
}

static int none_route(struct mesh *m, const char *server, const char *server_addr,
		      char *out, size_t len)
{
	(void)m;
	(void)server;
	return str_copy(out, len, server_addr) < 0 ? -ENAMETOOLONG : 0;
}

static int none_configure(struct mesh *m, const struct mesh_feature *f, char *err,
			  size_t errlen)
{
	(void)m;
	(void)f;
	str_fmt(err, errlen, "no mesh: nothing can be configured");
	return -ENOTSUP;
}

static int none_tap_open(struct mesh *m, char *err, size_t errlen)
{
	(void)m;
	str_fmt(err, errlen, "no mesh: nothing to tap");
	return -ENOTSUP;
}

static int none_tap_read(struct mesh *m, int timeout_ms, mesh_tap_cb cb, void *ctx)
{
	(void)m;
	(void)timeout_ms;
	(void)cb;
	(void)ctx;
	return -ENOTSUP;
}

static void none_tap_stats(struct mesh *m, struct mesh_tap_stats *out)
{
	(void)m;
	memset(out, 0, sizeof(*out));
}

static int none_identity_of(struct mesh *m, const char *name, char *out, size_t len)
{
	(void)m;
	(void)name;
	if (len)
		out[0] = '\0';
	return -ENOTSUP;
}

static int none_inject_fault(struct mesh *m, const struct mesh_fault *f, char *err,
			     size_t errlen)
{
	(void)m;
	(void)f;
	str_fmt(err, errlen, "no mesh: faults are injected by the workloads only");
	return -ENOTSUP;
}

static int none_revert_fault(struct mesh *m, const struct mesh_fault *f, char *err,
			     size_t errlen)
{
	return none_inject_fault(m, f, err, errlen);
}

static void none_tick(struct mesh *m)
{
	(void)m;
}

static int none_probe_info(struct mesh *m, struct mesh_probe_info *out)
{
	(void)m;
	memset(out, 0, sizeof(*out));
	return -ENOTSUP;
}

static int none_workload_cert(struct mesh *m, const char *name, char *cn, size_t cnlen,
			      int64_t *not_after)
{
	(void)m;
	(void)name;
	(void)cn;
	(void)cnlen;
	(void)not_after;
	return -ENOTSUP;
}

static void none_release(struct mesh *m)
{
	free(m);
}

/* What each check rests on without a mesh: the clients' own outcomes, or
 * the capability a mesh check needs that no mesh provides here (a run fails
 * those checks with "no mesh"). */
static const struct {
	const char *id;
	int ok;                 /* 1: evidence, 0: why there is none */
	const char *line;
} evidence[] = {
	{ "http.basic", 1, "client outcomes straight to http-server (no proxy in the path)" },
	{ "grpc.basic", 1, "client outcomes of unary calls straight to grpc-server" },
	{ "grpc.stream", 1, "the client's stream echoes and resets, straight to grpc-server" },
	{ "mtls.identity", 0, "no mesh: no proxy asserts a verified client identity, "
	  "servers see none" },
	{ "mtls.enforced", 0, "no mesh: no inbound guards the servers, anyone reaches them "
	  "in plaintext" },
	{ "retry.http", 0, "no mesh: nothing retries a failed attempt" },
	{ "split.weights", 0, "no mesh: nothing splits traffic between v1 and v2" },
	{ "split.shift", 0, "no mesh: no split weights to change at run time" },
	{ "tap.live", 0, "no mesh: no proxy reports the requests (no tap)" },
	{ "timeout.http", 0, "no mesh: no route timeout cuts slow requests" },
	{ "identity.expiry", 0, "no mesh: no workload certificate to read" },
};

static int none_evidence(const char *check_id, const char **line)
{
	*line = NULL;
	for (size_t i = 0; check_id && i < ARRAY_SIZE(evidence); i++)
		if (!strcmp(evidence[i].id, check_id)) {
			*line = evidence[i].line;
			return evidence[i].ok ? 0 : -ENOTSUP;
		}
	return -ENOENT;
}

const struct mesh_ops mesh_none = {
	.name = "none",
	.caps = 0,
	.faults = 0,
	.check_deps = NULL,
	.prepare = none_prepare,
	.plan = none_plan,
	.start_sidecars = none_start_sidecars,
	.identity_header = none_identity_header,
	.route = none_route,
	.configure = none_configure,
	.tap_open = none_tap_open,
	.tap_read = none_tap_read,
	.tap_stats = none_tap_stats,
	.identity_of = none_identity_of,
	.inject_fault = none_inject_fault,
	.revert_fault = none_revert_fault,
	.tick = none_tick,
	.probe_info = none_probe_info,
	.workload_cert = none_workload_cert,
	.release = none_release,
	.evidence = none_evidence,
};
