/*
 * kinds.c - the fault kind table (kinds.h). Help lines here are what
 * `conform fault --help`, the man page and the README's fault table say.
 */
#include <stdio.h>
#include <string.h>

#include "faults/kinds.h"
#include "faults/matrix.h"
#include "base/util.h"

const struct fault_kind_info fault_kinds[FAULT_NKINDS] = {
	{ FAULT_SERVER_ERRORS, "server-errors", FAULT_BY_WORKLOAD, FAULT_T_SERVER,
	  FAULT_P_RATE | FAULT_P_CODE | FAULT_P_FOR, "--rate R [--code N]",
	  "the server answers 5xx / a gRPC error to a share of requests" },
	{ FAULT_SERVER_LATENCY, "server-latency", FAULT_BY_WORKLOAD, FAULT_T_SERVER,
	  FAULT_P_MS | FAULT_P_FOR, "--ms N",
	  "the server answers N ms late" },
	{ FAULT_KILL, "kill", FAULT_BY_PLATFORM, FAULT_T_ANY, 0, "",
	  "SIGKILL a workload (the supervisor restarts it)" },
	{ FAULT_MTLS_OFF, "mtls-off", FAULT_BY_MESH, FAULT_T_SERVER, FAULT_P_FOR, "",
	  "a server's inbound accepts clients without a certificate and stops setting "
	  "the identity" },
	{ FAULT_WRONG_IDENTITY, "wrong-identity", FAULT_BY_MESH, FAULT_T_CLIENT, FAULT_P_FOR, "",
	  "a client's outbound presents another workload's certificate" },
	{ FAULT_RETRIES_OFF, "retries-off", FAULT_BY_MESH, FAULT_T_CLIENT, FAULT_P_FOR, "",
	  "the outbound stops retrying" },
	{ FAULT_SPLIT_SKEW, "split-skew", FAULT_BY_MESH, FAULT_T_CLIENT, FAULT_P_FOR, "",
	  "runtime weights 50/50 while the configuration says 90/10" },
	{ FAULT_TAP_OFF, "tap-off", FAULT_BY_MESH, FAULT_T_ANY, FAULT_P_FOR, "",
	  "the proxies stop emitting tap lines" },
	{ FAULT_TIMEOUT_OFF, "timeout-off", FAULT_BY_MESH, FAULT_T_CLIENT, FAULT_P_FOR, "",
	  "the route timeout is lifted" },
	{ FAULT_SIDECAR_KILL, "sidecar-kill", FAULT_BY_MESH, FAULT_T_ANY, 0, "",
	  "SIGKILL a workload's proxy" },
	{ FAULT_CERT_EXPIRING, "cert-expiring", FAULT_BY_MESH, FAULT_T_ANY, FAULT_P_FOR, "",
	  "reissue the workload's certificate with short validity and load it" },
};

const struct fault_kind_info *fault_kind_info(enum fault_kind k)
{
	return (unsigned)k < FAULT_NKINDS ? &fault_kinds[k] : NULL;
}

const struct fault_kind_info *fault_kind_find(const char *name)
{
	size_t i;

	for (i = 0; i < FAULT_NKINDS; i++)
		if (!strcmp(name, fault_kinds[i].name))
			return &fault_kinds[i];
	return NULL;
}

const char *fault_kind_name(enum fault_kind k)
{
	const struct fault_kind_info *fi = fault_kind_info(k);

	return fi ? fi->name : "unknown";
}

int fault_kind_is_mesh(enum fault_kind k)
{
	const struct fault_kind_info *fi = fault_kind_info(k);

	return fi && fi->by == FAULT_BY_MESH;
}

char *fault_kind_names(char *out, size_t len, const char *sep)
{
	const char *names[FAULT_NKINDS];
	size_t i;

	for (i = 0; i < FAULT_NKINDS; i++)
		names[i] = fault_kinds[i].name;
	return str_join(out, len, names, FAULT_NKINDS, sep, NULL, 0);
}

int fault_kinds_usage(struct dynbuf *b)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < FAULT_NKINDS; i++) {
		const struct fault_kind_info *fi = &fault_kinds[i];
		char left[48], breaks[512];

		snprintf(left, sizeof(left), "%s%s%s", fi->name, *fi->usage ? " " : "", fi->usage);
		rc |= dynbuf_addf(b, "  %-34s %s%s\n  %-34s fails: %s\n", left,
				  fi->by == FAULT_BY_MESH ? "(mesh) " : "", fi->help, "",
				  fault_kind_breaks(fi->kind, breaks, sizeof(breaks)));
	}
	return rc ? -1 : 0;
}
