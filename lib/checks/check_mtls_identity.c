/*
 * check_mtls_identity.c - mtls.identity: the mesh's first promise is that a
 * server knows who calls it. Every server echoes the identity header its
 * inbound proxy set from the verified client certificate, so the proof is in
 * every successful request of every check.
 *
 * Promise:   every meshed request arrives with the verified identity of the
 *            calling workload.
 * Proof:     all client rows of the window, across all checks, that ended ok
 *            and came from http-client or grpc-client carry the identity the
 *            server saw; it must equal
 *            "<workload>.<ns>.serviceaccount.identity.<trust_domain>"
 *            (mesh_settings). HTTP and gRPC are judged and named separately.
 * Objective: 100% per window: a single request with another or no identity
 *            fails the window (R_WRONG_IDENTITY), naming how many, what was
 *            seen and what was expected. A window without successful client
 *            requests is NODATA.
 * Second view: where the mesh counts inbound requests itself (the mesh
 *            view slot, views.c), the requests its inbound proxies counted
 *            with tls="true" from the caller's identity must cover those the
 *            servers saw with it (more is fine: retried attempts and failed
 *            requests are counted there, not here), and when the servers saw
 *            no or another identity while the proxies counted the traffic as
 *            mTLS from the caller, that is a disagreement too: either fails
 *            the window with R_VIEWS_DISAGREE naming both views.
 */
#include "checks/check.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/meshview.h"
#include "evidence/outcome.h"
#include "store/store.h"
#include "base/util.h"

#define IDN_SEEN 4   /* distinct wrong identities named per protocol */

struct idn_seen {
	char identity[256];
	uint64_t count;
};

struct idn_proto {
	const char *name;         /* "HTTP", "gRPC" */
	uint64_t total, wrong;
	/* the same for the comparison with the proxies' counts: requests only
	 * (a long-lived stream's messages are one request to a proxy) */
	uint64_t req_total, req_wrong;
	char workload[64];        /* the (first) calling workload */
	char expected[256];
	struct idn_seen seen[IDN_SEEN];
	size_t nseen;
	uint64_t seen_other;      /* wrong requests beyond the table */
};

static void idn_note(struct idn_proto *p, const char *identity, uint64_t count)
{
	size_t i;

	for (i = 0; i < p->nseen; i++) {
		if (!strcmp(p->seen[i].identity, identity)) {
			p->seen[i].count += count;
			return;
		}
	}
	if (p->nseen < IDN_SEEN) {
		str_copy(p->seen[p->nseen].identity, sizeof(p->seen[p->nseen].identity), identity);
		p->seen[p->nseen].count = count;
		p->nseen++;
		return;
	}
	p->seen_other += count;
}

/* "12 of 230 HTTP requests from http-client arrived with no identity
 *  (expected ...)" into b */
static void idn_describe(const struct idn_proto *p, struct dynbuf *b)
{
	size_t i;

	dynbuf_addf(b, "%" PRIu64 " of %" PRIu64 " %s requests from %s arrived with ", p->wrong,
		    p->total, p->name, p->workload);
	for (i = 0; i < p->nseen; i++) {
		if (i)
			dynbuf_adds(b, ", ");
		if (p->seen[i].identity[0])
			dynbuf_addf(b, "identity %s", p->seen[i].identity);
		else
			dynbuf_adds(b, "no identity");
		if (p->nseen > 1 || p->seen_other)
			dynbuf_addf(b, " x%" PRIu64, p->seen[i].count);
	}
	if (p->seen_other)
		dynbuf_addf(b, ", other identities x%" PRIu64, p->seen_other);
	dynbuf_addf(b, " (expected %s)", p->expected);
}

/* JSON string with quotes */
static int add_jstr(struct dynbuf *b, const char *v)
{
	return dynbuf_adds(b, "\"") | dynbuf_add_json_str(b, v) | dynbuf_adds(b, "\"");
}

/* "HTTP":{"requests":N,"wrong":N,"expected":"...","seen":{"":12}}; 0 or -1 */
static int idn_evidence(const struct idn_proto *p, int with_seen, struct dynbuf *b)
{
	size_t i;
	int rc;

	rc = dynbuf_addf(b, "\"%s\":{\"requests\":%" PRIu64 ",\"wrong\":%" PRIu64
			 ",\"expected\":", p->name, p->total, p->wrong);
	rc |= add_jstr(b, p->expected);
	if (with_seen) {
		rc |= dynbuf_adds(b, ",\"seen\":{");
		for (i = 0; i < p->nseen; i++) {
			if (i)
				rc |= dynbuf_adds(b, ",");
			rc |= add_jstr(b, p->seen[i].identity);
			rc |= dynbuf_addf(b, ":%" PRIu64, p->seen[i].count);
		}
		rc |= dynbuf_adds(b, "}");
	}
	rc |= dynbuf_adds(b, "}");
	return rc ? -1 : 0;
}

/* The evidence: standard members plus one object per protocol seen; the
 * wrong identities are left out when all of it would not fit. */
static void idn_fill_evidence(const struct window_data *wd, struct window_result *out,
			      const struct idn_proto *proto, const char *mesh)
{
	int with_seen, rc;
	size_t k;

	for (with_seen = 1; with_seen >= 0; with_seen--) {
		struct dynbuf ev = DYNBUF_INIT(EVIDENCE_MAX);

		rc = 0;
		for (k = 0; k < 2; k++) {
			if (!proto[k].total)
				continue;
			if (ev.len)
				rc |= dynbuf_adds(&ev, ",");
			rc |= idn_evidence(&proto[k], with_seen, &ev);
		}
		if (mesh && mesh[0])
			rc |= dynbuf_adds(&ev, ev.len ? "," : "") | dynbuf_adds(&ev, mesh);
		if (!rc)
			rc = check_evidence_fill(wd, out, ev.buf);
		dynbuf_release(&ev);
		if (!rc)
			return;
	}
	check_evidence_fill(wd, out, NULL);
}

/* What the inbound proxies of protocol p's servers counted ("http-server-v1"
 * and such are HTTP, "grpc-*" gRPC). 0 when the view has no such server. */
struct idn_mesh {
	uint64_t requests, tls, from_caller;
};

static int idn_mesh_count(const struct mesh_view *v, const struct idn_proto *p,
			  struct idn_mesh *c)
{
	const char *prefix = p->name[0] == 'H' ? "http" : "grpc";
	int found = 0;

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < v->nservers; i++) {
		const struct mv_server *s = &v->servers[i];

		if (strncmp(s->workload, prefix, 4))
			continue;
		found = 1;
		c->requests += s->requests;
		c->tls += s->tls;
		for (size_t k = 0; k < s->npeers; k++)
			if (!strcmp(s->peers[k].id, p->expected))
				c->from_caller += s->peers[k].requests;
	}
	return found;
}

/*
 * Compares the two views of each protocol: *disagree with the text in why,
 * the mesh's numbers as an evidence member in ev ("mesh":{...}).
 */
static int idn_compare(const struct window_data *wd, const struct idn_proto *proto,
		       int *disagree, struct dynbuf *why, struct dynbuf *ev)
{
	struct mesh_view v;
	char note[300], pa[16], pm[16];
	double tol = 0;
	int rc, first = 1;

	*disagree = 0;
	rc = check_mesh_view(wd, &v, &tol, note, sizeof(note));
	if (rc < 0)
		return -1;
	if (rc == 0) {
		dynbuf_adds(ev, "\"mesh\":\"");
		dynbuf_add_json_str(ev, note[0] ? note : "none");
		dynbuf_adds(ev, "\"");
		return 0;
	}
	dynbuf_addf(ev, "\"mesh\":{\"from\":%.3f,\"to\":%.3f,\"tolerance\":%.3f", v.from,
		    v.to, tol);
	for (size_t k = 0; k < 2; k++) {
		const struct idn_proto *p = &proto[k];
		uint64_t with = p->req_total - p->req_wrong;
		struct idn_mesh c;

		if (!p->req_total || !idn_mesh_count(&v, p, &c))
			continue;
		dynbuf_addf(ev, ",\"%s\":{\"requests\":%" PRIu64 ",\"tls\":%" PRIu64
			    ",\"from_caller\":%" PRIu64 "}", p->name, c.requests, c.tls,
			    c.from_caller);
		if (!check_views_short(c.from_caller, with, tol) &&
		    !(p->req_wrong > VIEWS_SLACK && check_views_short(with, p->req_total, tol) &&
		      !check_views_short(c.from_caller, p->req_total, tol)))
			continue;
		*disagree = 1;
		dynbuf_addf(why, "%sservers saw %s %s on %" PRIu64 " of %" PRIu64 " %s requests "
			    "(%s%%), inbound proxies counted %" PRIu64 " of %" PRIu64
			    " with tls=\"true\" from it (%s%%; %" PRIu64 " with tls=\"true\" in "
			    "all; tolerance %.0f%% for scrape timing)", first ? "" : "; ",
			    wd->cfg->identity_header[0] ? wd->cfg->identity_header :
			    "the identity header", p->expected, with, p->req_total, p->name,
			    check_fmt_pct(with, p->req_total, pa, sizeof(pa)), c.from_caller,
			    c.requests, check_fmt_pct(c.from_caller, c.requests, pm, sizeof(pm)),
			    c.tls, tol * 100.0);
		first = 0;
	}
	dynbuf_adds(ev, "}");
	return 0;
}

static int mtls_identity_eval(const struct window_data *wd, struct window_result *out)
{
	const struct run_mesh *m = &wd->cfg->m;
	struct idn_proto proto[2];
	struct agg_row *rows = NULL;
	const struct agg_row *all;
	struct dynbuf why = DYNBUF_INIT(REASON_TEXT_MAX * 2);
	struct dynbuf vwhy = DYNBUF_INIT(REASON_TEXT_MAX * 2);
	struct dynbuf mev = DYNBUF_INIT(EVIDENCE_MAX);
	char expected[256];
	size_t nrows = 0, nall, i, k;
	int rc = -1, bad = 0, disagree = 0;

	memset(proto, 0, sizeof(proto));
	proto[0].name = "HTTP";
	proto[1].name = "gRPC";
	/* every check's rows; without a store (unit use), the window's own */
	if (wd->store && store_get_rows_all(wd->store, wd->start_s, wd->end_s, &rows, &nrows))
		goto out;
	all = wd->store ? rows : wd->rows;
	nall = wd->store ? nrows : wd->nrows;
	for (i = 0; i < nall; i++) {
		const struct agg_row *r = &all[i];
		struct idn_proto *p;

		if (!outcome_info(r->outcome)->ok || !r->h.count)
			continue;
		if (!strncmp(r->workload, "http-client", 11))
			p = &proto[0];
		else if (!strncmp(r->workload, "grpc-client", 11))
			p = &proto[1];
		else
			continue;
		str_fmt(expected, sizeof(expected), "%s.%s.serviceaccount.identity.%s",
			r->workload, m->ns, m->trust_domain);
		if (!p->workload[0]) {
			str_copy(p->workload, sizeof(p->workload), r->workload);
			str_copy(p->expected, sizeof(p->expected), expected);
		}
		p->total += r->h.count;
		if (strcmp(r->check, "grpc.stream"))
			p->req_total += r->h.count;
		if (!strcmp(r->identity, expected))
			continue;
		p->wrong += r->h.count;
		if (strcmp(r->check, "grpc.stream"))
			p->req_wrong += r->h.count;
		idn_note(p, r->identity, r->h.count);
	}

	for (k = 0; k < 2; k++) {
		if (!proto[k].wrong)
			continue;
		if (bad++)
			dynbuf_adds(&why, "; ");
		idn_describe(&proto[k], &why);
	}
	if (idn_compare(wd, proto, &disagree, &vwhy, &mev))
		goto out;
	idn_fill_evidence(wd, out, proto, mev.buf);

	if (!proto[0].total && !proto[1].total) {
		check_set(out, V_NODATA, R_NO_DATA,
			  "no successful requests from http-client or grpc-client in window");
	} else if (bad) {
		check_set(out, V_FAIL, R_WRONG_IDENTITY, "%s", why.buf ? why.buf : "");
	} else {
		check_set(out, V_PASS, R_MET,
			  "all %" PRIu64 " requests arrived with the caller's verified identity "
			  "(HTTP %" PRIu64 ", gRPC %" PRIu64 ")",
			  proto[0].total + proto[1].total, proto[0].total, proto[1].total);
	}
	if (disagree && (proto[0].total || proto[1].total))
		check_views_fail(out, "%s", vwhy.buf ? vwhy.buf : "");
	rc = 0;
out:
	dynbuf_release(&vwhy);
	dynbuf_release(&mev);
	dynbuf_release(&why);
	free(rows);
	return rc;
}

const struct check_desc check_mtls_identity = {
	.id = "mtls.identity",
	.title = "requests carry the verified client identity",
	.promise = "every meshed request arrives with the verified identity of the calling workload",
	.proof = "servers echo the identity header their inbound proxy set from the client "
		 "certificate; every successful HTTP and gRPC request must show the caller's "
		 "own identity",
	.objective = "100% of requests per window carry the expected identity",
	.roles = ROLE_HTTP_SERVER | ROLE_HTTP_CLIENT | ROLE_GRPC_SERVER | ROLE_GRPC_CLIENT,
	.needs_mesh = 1,
	.objective_ratio = 1.0,
	.eval = mtls_identity_eval,
};
