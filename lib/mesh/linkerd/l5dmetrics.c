/*
 * l5dmetrics.c - Linkerd proxy metrics turned into the evidence the checks
 * judge. The names that differ between releases are in one place each, with
 * the upstream source that says so (PX = linkerd/linkerd2-proxy, L2 =
 * linkerd/linkerd2); everything else is sums over prom_set selectors.
 */
#include "mesh/linkerd/l5dmetrics.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"

/* Counters arrive as doubles; anything not a finite non-negative count is 0. */
static uint64_t l5d_u64(double v)
{
	if (!(v >= 0))
		return 0;
	if (v >= 18446744073709549568.0)
		return UINT64_MAX;
	return (uint64_t)v;
}

/*
 * Edge releases carry no 2.x: each stable version is marked on one edge
 * commit (tag version-2.X on the same commit as the edge tag): 2.15 =
 * edge-24.2.4, 2.16 = edge-24.8.2, 2.17 = edge-24.11.8, 2.18 = edge-25.4.4,
 * 2.19 = edge-25.10.7, 2.20 = edge-26.6.3 (linkerd.io "Releases and
 * Versions", releases.md and data/versions.yaml in linkerd/website;
 * linkerd/linkerd2 tags). An edge release between two marks has the older
 * mark's metrics and features. The 2.20 level is marked where its feature
 * conform uses landed (edge-25.11.3, the first edge tag holding linkerd2
 * #14750), not on 2.20's own edge: the edges between already have it.
 */
static const struct {
	int yy, mm, n;
	enum l5d_version v;
} edge_marks[] = {
	{ 25, 11, 3, L5D_2_20 },
	{ 25, 4, 4, L5D_2_18 },
	{ 24, 8, 2, L5D_2_16 },
	{ 24, 2, 4, L5D_2_14 },  /* 2.15: as 2.14 (no route retry families) */
};

static int edge_parse(const char *p, enum l5d_version *out)
{
	int64_t f[3];
	char num[8];

	for (int i = 0; i < 3; i++) {
		size_t n = strspn(p, "0123456789");

		if (n == 0 || n >= sizeof(num) || p[n] != (i < 2 ? '.' : '\0'))
			return -EINVAL;
		memcpy(num, p, n);
		num[n] = '\0';
		if (parse_i64(num, 0, 999, &f[i]))
			return -EINVAL;
		p += n + (i < 2);
	}
	for (size_t k = 0; k < sizeof(edge_marks) / sizeof(edge_marks[0]); k++) {
		int64_t a = f[0] * 1000000 + f[1] * 1000 + f[2];
		int64_t b = (int64_t)edge_marks[k].yy * 1000000 + edge_marks[k].mm * 1000 +
			    edge_marks[k].n;

		if (a >= b) {
			*out = edge_marks[k].v;
			return 0;
		}
	}
	return -EINVAL;   /* before 2.15's mark: not a version conform knows */
}

int l5d_version_parse(const char *s, enum l5d_version *out)
{
	const char *p;
	int64_t minor;
	char num[8];
	size_t n;

	if (!s)
		return -EINVAL;
	if (!strncmp(s, "edge-", 5))
		return edge_parse(s + 5, out);
	/* "stable-2.14.10", "version-2.16", "enterprise-2.18.0": the part after
	 * the last '-' that starts with a digit */
	p = strrchr(s, '-');
	p = p ? p + 1 : s;
	if (p[0] == 'v')
		p++;
	if (strncmp(p, "2.", 2))
		return -EINVAL;
	p += 2;
	n = strspn(p, "0123456789");
	if (n == 0 || n >= sizeof(num) || (p[n] != '\0' && p[n] != '.'))
		return -EINVAL;
	memcpy(num, p, n);
	num[n] = '\0';
	if (parse_i64(num, 0, 999, &minor) || minor < 14)
		return -EINVAL;
	if (minor >= 20)
		*out = L5D_2_20;
	else if (minor >= 18)
		*out = L5D_2_18;
	else if (minor >= 16)
		*out = L5D_2_16;
	else
		*out = L5D_2_14;
	return 0;
}

static int l5d_err(char *err, size_t errlen, int rc, const char *msg)
{
	if (err && errlen)
		str_copy(err, errlen, msg);
	return rc;
}

/* Adds n requests of identity id to t's peers. */
static void l5d_peer_add(struct l5d_traffic *t, const char *id, uint64_t n)
{
	for (size_t i = 0; i < t->npeers; i++) {
		if (!strcmp(t->peers[i].id, id)) {
			t->peers[i].requests += n;
			return;
		}
	}
	if (t->npeers >= L5D_PEERS_MAX || strlen(id) >= L5D_ID_MAX) {
		t->peers_dropped += n;
		return;
	}
	str_copy(t->peers[t->npeers].id, L5D_ID_MAX, id);
	t->peers[t->npeers++].requests = n;
}

/* Matchers: the direction, then the caller's. */
#define L5D_MATCH_MAX 16

int l5d_traffic(const struct prom_set *s, enum l5d_version v, enum l5d_dir dir,
		const struct prom_matcher *extra, size_t n, struct l5d_traffic *out, char *err,
		size_t errlen)
{
	struct prom_matcher m[L5D_MATCH_MAX];
	/* the peer's identity label: PX linkerd/app/core/src/transport/labels.rs
	 * (client_id on the server side, server_id on the client side) */
	const char *idlabel = dir == L5D_INBOUND ? "client_id" : "server_id";

	memset(out, 0, sizeof(*out));
	if (n + 1 > L5D_MATCH_MAX)
		return l5d_err(err, errlen, -EINVAL, "too many label matchers");
	for (size_t k = 0; k < n; k++) {
		/* PX v2.277 (#3547, Linkerd 2.18) dropped the inbound authority
		 * label; it comes back only with
		 * LINKERD2_PROXY_INBOUND_METRICS_AUTHORITY_LABELS=unsafe */
		if (v >= L5D_2_18 && dir == L5D_INBOUND && !strcmp(extra[k].label, "authority"))
			return l5d_err(err, errlen, -EINVAL,
				       "inbound metrics have no authority label since linkerd 2.18; "
				       "select by target_port or srv_name instead");
		m[k + 1] = extra[k];
	}
	m[0] = (struct prom_matcher){ "direction", PROM_EQ,
				      dir == L5D_INBOUND ? "inbound" : "outbound" };
	for (size_t i = 0; i < prom_count(s); i++) {
		const char *name = prom_name(s, i), *tls, *sc, *cls;
		uint64_t c;

		if (strcmp(name, "request_total") && strcmp(name, "response_total"))
			continue;
		if (!prom_matches(s, i, m, n + 1))
			continue;
		c = l5d_u64(prom_value(s, i));
		if (name[1] == 'e' && name[2] == 'q') {   /* request_total */
			tls = prom_label(s, i, "tls");
			out->requests += c;
			if (tls && !strcmp(tls, "true")) {
				const char *id = prom_label(s, i, idlabel);

				out->requests_tls += c;
				l5d_peer_add(out, id ? id : "", c);
			} else {
				out->requests_plain += c;
			}
			continue;
		}
		/* response_total: PX linkerd/http/metrics/src/requests/report.rs */
		out->responses += c;
		cls = prom_label(s, i, "classification");
		if (cls && !strcmp(cls, "success"))
			out->success += c;
		else if (cls && !strcmp(cls, "failure"))
			out->failure += c;
		sc = prom_label(s, i, "status_code");
		if (!sc || !sc[0])
			out->no_status += c;
		else if (sc[0] == '2')
			out->status_2xx += c;
		else if (sc[0] == '3')
			out->status_3xx += c;
		else if (sc[0] == '4')
			out->status_4xx += c;
		else if (sc[0] == '5')
			out->status_5xx += c;
	}
	return 0;
}

int l5d_retries(const struct prom_set *s, enum l5d_version v, int grpc, const char *route_name,
		struct l5d_retries *out, char *err, size_t errlen)
{
	/* PX v2.243 (#3093, Linkerd 2.16), labels parent_* route_* (hostname
	 * since 2.17): PX linkerd/app/outbound/src/metrics.rs and
	 * .../policy/route/metrics/labels.rs; prometheus-client exposes a
	 * counter as <name>_total */
	static const char *const http[] = {
		"outbound_http_route_retry_requests_total",
		"outbound_http_route_retry_successes_total",
		"outbound_http_route_retry_limit_exceeded_total",
		"outbound_http_route_retry_overflow_total",
	};
	static const char *const grpcf[] = {
		"outbound_grpc_route_retry_requests_total",
		"outbound_grpc_route_retry_successes_total",
		"outbound_grpc_route_retry_limit_exceeded_total",
		"outbound_grpc_route_retry_overflow_total",
	};
	const char *const *f = grpc ? grpcf : http;
	struct prom_matcher m[] = { { "route_name", PROM_EQ, route_name } };
	size_t nm = route_name ? 1 : 0, hit;
	uint64_t *dst[] = { &out->requests, &out->successes, &out->limit_exceeded, &out->overflow };

	memset(out, 0, sizeof(*out));
	if (v < L5D_2_16)
		return l5d_err(err, errlen, -ENOTSUP,
			       "linkerd before 2.16 exports no route retry metrics; "
			       "count retries from the workloads' attempt numbers");
	for (size_t k = 0; k < 4; k++) {
		*dst[k] = l5d_u64(prom_sum(s, f[k], m, nm, &hit));
		out->series += hit;
	}
	return 0;
}

int l5d_split(const struct prom_set *s, int grpc, const char *parent_name, struct l5d_split *out,
	      char *err, size_t errlen)
{
	/* PX v2.196 (Linkerd 2.13) on; backend labels backend_{group,kind,
	 * namespace,name,port,section_name} (PX .../policy/route/metrics/
	 * labels.rs). There is no weight metric: the split is these counts */
	const char *fam = grpc ? "outbound_grpc_route_backend_requests_total"
			       : "outbound_http_route_backend_requests_total";
	struct prom_matcher m[] = { { "parent_name", PROM_EQ, parent_name } };
	int rc = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < prom_count(s); i++) {
		const char *b;
		uint64_t c;
		size_t k;

		if (strcmp(prom_name(s, i), fam) || !prom_matches(s, i, m, parent_name ? 1 : 0))
			continue;
		b = prom_label(s, i, "backend_name");
		b = b ? b : "";
		c = l5d_u64(prom_value(s, i));
		for (k = 0; k < out->nbackends; k++)
			if (!strcmp(out->backends[k].name, b))
				break;
		if (k == out->nbackends) {
			if (k >= L5D_BACKENDS_MAX || strlen(b) >= sizeof(out->backends[k].name)) {
				rc = l5d_err(err, errlen, -E2BIG,
					     "more backends than a split can have, or a backend "
					     "name over 127 bytes");
				continue;
			}
			str_copy(out->backends[k].name, sizeof(out->backends[k].name), b);
			out->nbackends++;
		}
		out->backends[k].requests += c;
		out->total += c;
	}
	return rc;
}

int l5d_cert_expiry(const struct prom_set *s, enum l5d_version v, double *expiry,
		    const char **name, char *err, size_t errlen)
{
	/* PX v2.227 (#2887, Linkerd 2.16) moved identity metrics under the
	 * control_ prefix (linkerd/app/src/lib.rs "control_identity",
	 * identity.rs "cert"); before, identity_cert_expiration_timestamp_seconds */
	static const char *const old = "identity_cert_expiration_timestamp_seconds";
	static const char *const cur = "control_identity_cert_expiration_timestamp_seconds";
	const char *order[2] = { v >= L5D_2_16 ? cur : old, v >= L5D_2_16 ? old : cur };

	for (size_t k = 0; k < 2; k++) {
		size_t hit;
		double t = prom_sum(s, order[k], NULL, 0, &hit);

		if (hit == 1 && isfinite(t)) {
			*expiry = t;
			if (name)
				*name = order[k];
			return 0;
		}
	}
	return l5d_err(err, errlen, -ENOENT,
		       "no identity certificate expiry in the scrape (neither "
		       "control_identity_cert_expiration_timestamp_seconds nor "
		       "identity_cert_expiration_timestamp_seconds): is the pod meshed?");
}

int l5d_scrape_delta(const char *pod, const struct prom_set *prev, const struct prom_set *cur,
		     struct prom_set **delta, struct l5d_resets *resets)
{
	int rc;

	memset(resets, 0, sizeof(*resets));
	str_copy(resets->pod, sizeof(resets->pod), pod ? pod : "");
	rc = prom_delta(prev, cur, delta, &resets->series, &resets->restarted);
	return rc;
}
