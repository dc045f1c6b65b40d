/*
 * check_identity_expiry.c - identity.expiry: a mesh whose certificates
 * silently run out stops every request at once; the warning must come while
 * there is still time to rotate.
 *
 * Promise:   workload certificates are not about to expire.
 * Proof:     conformd reads the certificate each workload's sidecar presents
 *            (workload conformd.probe, one row per certificate: backend =
 *            workload, identity = the certificate's CN, code = remaining
 *            validity in seconds; outcome tls_failed when none could be read).
 * Objective: every presented certificate has more than expiry_threshold_s of
 *            validity left (else FAIL R_CERT_EXPIRING naming workload, CN and
 *            time left). A window where some certificate could not be read is
 *            NODATA (R_PROBE_FAILED), one without probes NODATA.
 */
#include "checks/check.h"

#include <inttypes.h>
#include <string.h>

#include "evidence/outcome.h"
#include "base/util.h"

#define EXP_NAMED 4

/* "23h 59m", "2m 5s", "-3s" (already expired) */
static const char *fmt_left(int64_t s, char *buf, size_t len)
{
	const char *sign = s < 0 ? "-" : "";
	int64_t a = s < 0 ? -s : s;

	if (a >= 86400)
		str_fmt(buf, len, "%s%" PRId64 "d %" PRId64 "h", sign, a / 86400, a % 86400 / 3600);
	else if (a >= 3600)
		str_fmt(buf, len, "%s%" PRId64 "h %" PRId64 "m", sign, a / 3600, a % 3600 / 60);
	else if (a >= 60)
		str_fmt(buf, len, "%s%" PRId64 "m %" PRId64 "s", sign, a / 60, a % 60);
	else
		str_fmt(buf, len, "%s%" PRId64 "s", sign, a);
	return buf;
}

static int identity_expiry_eval(const struct window_data *wd, struct window_result *out)
{
	const struct run_mesh *m = &wd->cfg->m;
	const struct agg_row *min_row = NULL;
	struct dynbuf expiring = DYNBUF_INIT(REASON_TEXT_MAX * 2);
	struct dynbuf failed = DYNBUF_INIT(REASON_TEXT_MAX * 2);
	uint64_t certs = 0, nexp = 0, nfail = 0;
	size_t i, named_exp = 0, named_fail = 0;
	char left[32], thr[32], extra[512];

	for (i = 0; i < wd->nrows; i++) {
		const struct agg_row *r = &wd->rows[i];

		if (strcmp(r->workload, "conformd.probe") || !r->h.count)
			continue;
		if (r->outcome != OUT_OK) {
			nfail += r->h.count;
			if (named_fail++ < EXP_NAMED)
				dynbuf_addf(&failed, "%s%s (%s x%" PRIu64 ")", named_fail > 1 ? ", " : "",
					    r->backend, outcome_info(r->outcome)->human, r->h.count);
			continue;
		}
		certs += r->h.count;
		if (!min_row || r->code < min_row->code)
			min_row = r;
		if ((int64_t)r->code > m->expiry_threshold_s)
			continue;
		nexp += r->h.count;
		if (named_exp++ < EXP_NAMED)
			dynbuf_addf(&expiring, "%s%s (CN %s) expires in %s", named_exp > 1 ? ", " : "",
				    r->backend, r->identity, fmt_left(r->code, left, sizeof(left)));
	}
	fmt_left(m->expiry_threshold_s, thr, sizeof(thr));
	{
		struct dynbuf e = DYNBUF_INIT(sizeof(extra));

		dynbuf_addf(&e, "\"certificates\":%" PRIu64 ",\"expiring\":%" PRIu64
			    ",\"probe_failed\":%" PRIu64 ",\"threshold_s\":%" PRId64, certs, nexp,
			    nfail, m->expiry_threshold_s);
		if (min_row) {
			dynbuf_addf(&e, ",\"min_remaining_s\":%d,\"min_workload\":\"", min_row->code);
			dynbuf_add_json_str(&e, min_row->backend);
			dynbuf_adds(&e, "\"");
		}
		str_copy(extra, sizeof(extra), e.buf ? e.buf : "");
		dynbuf_release(&e);
	}
	check_evidence_fill(wd, out, extra);

	if (nexp) {
		check_set(out, V_FAIL, R_CERT_EXPIRING, "%s%s; must have more than %s left",
			  expiring.buf ? expiring.buf : "", named_exp > EXP_NAMED ? ", ..." : "", thr);
	} else if (nfail) {
		check_set(out, V_NODATA, R_PROBE_FAILED, "no certificate could be read from %s%s",
			  failed.buf ? failed.buf : "", named_fail > EXP_NAMED ? ", ..." : "");
	} else if (!certs) {
		check_set(out, V_NODATA, R_NO_DATA, "no certificate probes in window");
	} else {
		check_set(out, V_PASS, R_MET,
			  "%" PRIu64 " certificates valid; minimum remaining %s (%s, CN %s) > %s",
			  certs, fmt_left(min_row->code, left, sizeof(left)), min_row->backend,
			  min_row->identity, thr);
	}
	dynbuf_release(&expiring);
	dynbuf_release(&failed);
	return 0;
}

const struct check_desc check_identity_expiry = {
	.id = "identity.expiry",
	.title = "workload certificates are not about to expire",
	.promise = "workload certificates are not about to expire",
	.proof = "conformd reads the certificate each sidecar presents and checks how long it "
		 "stays valid",
	.objective = "every certificate valid for more than expiry_threshold_s (default 1 h)",
	.roles = ROLE_HTTP_SERVER | ROLE_GRPC_SERVER | ROLE_HTTP_CLIENT | ROLE_GRPC_CLIENT,
	.needs_mesh = 1,
	.objective_ratio = 1.0,
	.eval = identity_expiry_eval,
};
