/*
 * check_mtls_enforced.c - mtls.enforced: identities mean nothing if a
 * server also talks to anyone who skips them, so conformd probes every meshed
 * server's inbound the way an intruder would.
 *
 * Promise:   unauthenticated traffic to a meshed server is refused.
 * Proof:     conformd's active probes (workload conformd.probe, one row per
 *            probe, backend "<target>/<kind>"): plaintext to the inbound
 *            port, TLS without a client certificate, and a certificate from a
 *            foreign CA. Outcome ok = refused as it must be; an HTTP outcome
 *            (code = the status answered) = accepted; anything else
 *            (connect_failed ...) = the probe could not run.
 * Objective: every probe of the window refused. One accepted probe fails the
 *            window (R_NOT_ENFORCED) naming target and kind; a window whose
 *            probes all could not run is NODATA (R_PROBE_FAILED); a window
 *            without probes is NODATA.
 */
#include "checks/check.h"

#include <inttypes.h>
#include <string.h>

#include "evidence/outcome.h"
#include "base/util.h"

#define ENF_ITEMS 16   /* distinct (target/kind, code) named */

struct enf_item {
	char backend[32];
	int code;
	uint64_t count;
};

struct enf_list {
	struct enf_item it[ENF_ITEMS];
	size_t n;
	uint64_t total, other;
};

static void enf_add(struct enf_list *l, const char *backend, int code, uint64_t count)
{
	size_t i;

	l->total += count;
	for (i = 0; i < l->n; i++) {
		if (!strcmp(l->it[i].backend, backend) && l->it[i].code == code) {
			l->it[i].count += count;
			return;
		}
	}
	if (l->n < ENF_ITEMS) {
		str_copy(l->it[l->n].backend, sizeof(l->it[l->n].backend), backend);
		l->it[l->n].code = code;
		l->it[l->n].count = count;
		l->n++;
		return;
	}
	l->other += count;
}

/* "plaintext to http-server inbound", "no client cert to http-server" */
static void enf_probe_words(const char *backend, char *buf, size_t len)
{
	char target[32];
	const char *kind = strrchr(backend, '/');
	size_t tl;

	if (!kind) {
		str_fmt(buf, len, "probe %s", backend);
		return;
	}
	tl = (size_t)(kind - backend);
	if (tl >= sizeof(target))
		tl = sizeof(target) - 1;
	memcpy(target, backend, tl);
	target[tl] = '\0';
	kind++;
	if (!strcmp(kind, "plaintext"))
		str_fmt(buf, len, "plaintext to %s inbound", target);
	else if (!strcmp(kind, "no-cert"))
		str_fmt(buf, len, "no client cert to %s", target);
	else if (!strcmp(kind, "foreign-ca"))
		str_fmt(buf, len, "foreign CA cert to %s", target);
	else
		str_fmt(buf, len, "%s probe to %s", kind, target);
}

static int outcome_is_http(unsigned o)
{
	return o == OUT_HTTP_5XX || o == OUT_HTTP_4XX || o == OUT_HTTP_OTHER;
}

static int mtls_enforced_eval(const struct window_data *wd, struct window_result *out)
{
	struct enf_list accepted, failed;
	struct dynbuf why = DYNBUF_INIT(REASON_TEXT_MAX * 2);
	uint64_t refused = 0;
	char words[96], extra[160];
	size_t i;

	memset(&accepted, 0, sizeof(accepted));
	memset(&failed, 0, sizeof(failed));
	for (i = 0; i < wd->nrows; i++) {
		const struct agg_row *r = &wd->rows[i];

		if (strcmp(r->workload, "conformd.probe") || !r->h.count)
			continue;
		if (r->outcome == OUT_OK)
			refused += r->h.count;
		else if (outcome_is_http(r->outcome))
			enf_add(&accepted, r->backend, r->code, r->h.count);
		else
			enf_add(&failed, r->backend, (int)r->outcome, r->h.count);
	}
	str_fmt(extra, sizeof(extra),
		"\"probes\":%" PRIu64 ",\"refused\":%" PRIu64 ",\"accepted\":%" PRIu64
		",\"probe_failed\":%" PRIu64, refused + accepted.total + failed.total, refused,
		accepted.total, failed.total);
	check_evidence_fill(wd, out, extra);

	if (accepted.total) {
		for (i = 0; i < accepted.n; i++) {
			enf_probe_words(accepted.it[i].backend, words, sizeof(words));
			dynbuf_addf(&why, "%s%s accepted x%" PRIu64 " (HTTP %d)", i ? ", " : "",
				    words, accepted.it[i].count, accepted.it[i].code);
		}
		if (accepted.other)
			dynbuf_addf(&why, ", other probes accepted x%" PRIu64, accepted.other);
		check_set(out, V_FAIL, R_NOT_ENFORCED, "%s", why.buf ? why.buf : "");
	} else if (!refused && failed.total) {
		for (i = 0; i < failed.n; i++) {
			enf_probe_words(failed.it[i].backend, words, sizeof(words));
			dynbuf_addf(&why, "%s%s: %s x%" PRIu64, i ? ", " : "", words,
				    outcome_info((unsigned)failed.it[i].code)->human,
				    failed.it[i].count);
		}
		check_set(out, V_NODATA, R_PROBE_FAILED, "no probe could run: %s",
			  why.buf ? why.buf : "");
	} else if (!refused) {
		check_set(out, V_NODATA, R_NO_DATA, "no enforcement probes in window");
	} else {
		if (failed.total)
			check_set(out, V_PASS, R_MET,
				  "all %" PRIu64 " unauthenticated probes that could run were refused "
				  "(%" PRIu64 " could not run)", refused, failed.total);
		else
			check_set(out, V_PASS, R_MET, "all %" PRIu64 " unauthenticated probes refused",
				  refused);
	}
	dynbuf_release(&why);
	return 0;
}

const struct check_desc check_mtls_enforced = {
	.id = "mtls.enforced",
	.title = "unauthenticated traffic is refused",
	.promise = "unauthenticated traffic to a meshed server is refused",
	.proof = "conformd probes each server's inbound with plaintext, TLS without a client "
		 "certificate and a certificate from a foreign CA; every probe must be refused",
	.objective = "every probe refused in every window",
	.roles = ROLE_HTTP_SERVER | ROLE_GRPC_SERVER,
	.needs_mesh = 1,
	.objective_ratio = 1.0,
	.eval = mtls_enforced_eval,
};
