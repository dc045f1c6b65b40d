/*
 * test_mesh_checks.c - the eight mesh checks judged over a real store: for
 * each, healthy evidence passes, the evidence its fault produces fails with
 * the precise reason, too little evidence is NODATA, and --mesh none fails
 * "no mesh provides ...". Plus 2000 simulated healthy windows of the
 * statistical checks (split 90/10, retry f=0.5 A=4) that must never fail.
 */
#include <math.h>
#include <stdio.h>
#include <unistd.h>

#include "eval/evaluate.h"
#include "fixture.h"
#include "harness.h"
#include "evidence/outcome.h"
#include "eval/stats.h"
#include "store/store.h"
#include "base/util.h"

#define ID_HTTP "http-client.conform.serviceaccount.identity.cluster.local"
#define ID_GRPC "grpc-client.conform.serviceaccount.identity.cluster.local"

static uint64_t seq;

/* a 60 s haproxy run started in second T0: window 0 = [T0, T0+10) */
static void base_cfg(struct run_config *c)
{
	run_config_defaults(c);
	str_copy(c->id, sizeof(c->id), "test");
	str_copy(c->mesh, sizeof(c->mesh), "haproxy");
	c->window_ms = 10000;
	c->duration_ms = 60000;
	c->started = T0 + 0.25;
	c->m.shift_at_ms = 0;
}

/* One stored row: count requests at latency lat_us; attempt (1..8) fills the
 * attempts histogram for ok rows, 0 leaves it empty. */
static int put(struct store *s, const char *workload, const char *check, unsigned outcome,
	       int code, const char *backend, const char *identity, int64_t sec,
	       uint64_t count, uint64_t lat_us, unsigned attempt)
{
	struct agg_row r;
	uint64_t i;

	if (!count)
		return 0;
	memset(&r, 0, sizeof(r));
	str_copy(r.check, sizeof(r.check), check);
	r.outcome = outcome;
	r.code = code;
	str_copy(r.backend, sizeof(r.backend), backend ? backend : "");
	str_copy(r.identity, sizeof(r.identity), identity ? identity : "");
	r.second = sec;
	hist_init(&r.h);
	for (i = 0; i < count; i++)
		hist_add(&r.h, lat_us);
	if (attempt >= 1 && attempt <= 8)
		r.attempts[attempt - 1] = count;
	return store_put_batch(s, workload, 1, ++seq, &r, 1) == 1 ? 0 : -1;
}

/* count requests spread over the 10 seconds from first (remainder first) */
static int spread(struct store *s, const char *workload, const char *check, unsigned outcome,
		  int code, const char *backend, const char *identity, int64_t first,
		  uint64_t count, uint64_t lat_us, unsigned attempt)
{
	int64_t k;

	for (k = 0; k < 10; k++) {
		uint64_t c = count / 10 + ((uint64_t)k < count % 10 ? 1 : 0);

		if (put(s, workload, check, outcome, code, backend, identity, first + k, c, lat_us,
			attempt))
			return -1;
	}
	return 0;
}

/* ---- scenarios: each fills a store (and may adjust the config) ---- */

static int sc_identity_ok(struct store *s, struct run_config *c)
{
	(void)c;
	return spread(s, "http-client", "http.basic", OUT_OK, 200, "v1", ID_HTTP, T0, 100, 900, 1) |
	       spread(s, "http-client", "retry.http", OUT_OK, 200, "v1", ID_HTTP, T0, 30, 900, 2) |
	       spread(s, "grpc-client", "grpc.basic", OUT_OK, 0, "v1", ID_GRPC, T0, 100, 700, 1) |
	       /* failed requests carry no identity: not judged */
	       spread(s, "http-client", "retry.http", OUT_HTTP_5XX, 503, "", "", T0, 5, 900, 0) |
	       /* conformd's probe rows carry a CN, not a caller: not judged */
	       put(s, "conformd.probe", "identity.expiry", OUT_OK, 86000, "http-server",
		   "http-server", T0 + 1, 1, 10, 0);
}

static int sc_identity_mtls_off(struct store *s, struct run_config *c)
{
	(void)c;
	return spread(s, "http-client", "http.basic", OUT_OK, 200, "v1", "", T0, 12, 900, 1) |
	       spread(s, "http-client", "http.basic", OUT_OK, 200, "v1", ID_HTTP, T0, 218, 900, 1) |
	       spread(s, "grpc-client", "grpc.basic", OUT_OK, 0, "v1", ID_GRPC, T0, 100, 700, 1);
}

static int sc_identity_wrong(struct store *s, struct run_config *c)
{
	(void)c;
	/* wrong-identity on http-client: its outbound presents grpc-client's cert */
	return spread(s, "http-client", "http.basic", OUT_OK, 200, "v1", ID_GRPC, T0, 100, 900, 1) |
	       spread(s, "grpc-client", "grpc.basic", OUT_OK, 0, "v1", ID_GRPC, T0, 100, 700, 1);
}

static int sc_identity_grpc_none(struct store *s, struct run_config *c)
{
	(void)c;
	return spread(s, "http-client", "http.basic", OUT_OK, 200, "v1", ID_HTTP, T0, 100, 900, 1) |
	       spread(s, "grpc-client", "grpc.stream", OUT_OK, 0, "v1", "", T0, 50, 700, 1);
}

static int sc_identity_only_failures(struct store *s, struct run_config *c)
{
	(void)c;
	return spread(s, "http-client", "http.basic", OUT_CONNECT_REFUSED, 0, "", "", T0, 50,
		      900, 0);
}

static int probe(struct store *s, const char *check, unsigned outcome, int code,
		 const char *backend, const char *identity, int64_t sec)
{
	return put(s, "conformd.probe", check, outcome, code, backend, identity, sec, 1, 5000, 0);
}

static int probes_round(struct store *s, int64_t sec, unsigned no_cert_outcome, int code)
{
	return probe(s, "mtls.enforced", OUT_OK, 0, "http-server/plaintext", "", sec) |
	       probe(s, "mtls.enforced", no_cert_outcome, code, "http-server/no-cert", "", sec) |
	       probe(s, "mtls.enforced", OUT_OK, 0, "http-server/foreign-ca", "", sec) |
	       probe(s, "mtls.enforced", OUT_OK, 0, "grpc-server/plaintext", "", sec) |
	       probe(s, "mtls.enforced", OUT_OK, 0, "grpc-server/no-cert", "", sec);
}

static int sc_enforced_ok(struct store *s, struct run_config *c)
{
	(void)c;
	return probes_round(s, T0 + 2, OUT_OK, 0) | probes_round(s, T0 + 7, OUT_OK, 0) |
	       /* client traffic of mtls.enforced does not exist; any other is ignored */
	       spread(s, "http-client", "http.basic", OUT_OK, 200, "v1", ID_HTTP, T0, 100, 900, 1);
}

static int sc_enforced_mtls_off(struct store *s, struct run_config *c)
{
	(void)c;
	return probes_round(s, T0 + 2, OUT_HTTP_OTHER, 200) |
	       probes_round(s, T0 + 7, OUT_HTTP_OTHER, 200);
}

static int sc_enforced_plaintext(struct store *s, struct run_config *c)
{
	(void)c;
	return probe(s, "mtls.enforced", OUT_HTTP_OTHER, 200, "http-server/plaintext", "", T0 + 1) |
	       probe(s, "mtls.enforced", OUT_HTTP_OTHER, 200, "http-server/plaintext", "", T0 + 6) |
	       probe(s, "mtls.enforced", OUT_OK, 0, "http-server/no-cert", "", T0 + 6);
}

static int sc_enforced_cannot_probe(struct store *s, struct run_config *c)
{
	(void)c;
	return probe(s, "mtls.enforced", OUT_CONNECT_FAILED, 0, "http-server/plaintext", "", T0 + 1) |
	       probe(s, "mtls.enforced", OUT_CONNECT_FAILED, 0, "http-server/no-cert", "", T0 + 1);
}

static int sc_empty(struct store *s, struct run_config *c)
{
	(void)s;
	(void)c;
	return 0;
}

/* retry: ok replies at attempts a1..a4 (+ a5 beyond the limit), failed n_fail */
static int retry_rows(struct store *s, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
		      uint64_t a5, uint64_t n_fail)
{
	return spread(s, "http-client", "retry.http", OUT_OK, 200, "v1", ID_HTTP, T0, a1, 1000, 1) |
	       spread(s, "http-client", "retry.http", OUT_OK, 200, "v1", ID_HTTP, T0, a2, 2000, 2) |
	       spread(s, "http-client", "retry.http", OUT_OK, 200, "v1", ID_HTTP, T0, a3, 3000, 3) |
	       spread(s, "http-client", "retry.http", OUT_OK, 200, "v1", ID_HTTP, T0, a4, 4000, 4) |
	       spread(s, "http-client", "retry.http", OUT_OK, 200, "v1", ID_HTTP, T0, a5, 5000, 5) |
	       spread(s, "http-client", "retry.http", OUT_HTTP_5XX, 503, "", "", T0, n_fail, 4000, 0);
}

static int sc_retry_ok(struct store *s, struct run_config *c)
{
	(void)c;
	return retry_rows(s, 50, 25, 12, 7, 0, 6);
}

static int sc_retry_off(struct store *s, struct run_config *c)
{
	(void)c;
	return retry_rows(s, 51, 0, 0, 0, 0, 49);
}

static int sc_retry_over(struct store *s, struct run_config *c)
{
	(void)c;
	return retry_rows(s, 50, 25, 12, 5, 3, 5);
}

static int sc_retry_not_seen(struct store *s, struct run_config *c)
{
	(void)c;
	return retry_rows(s, 96, 0, 0, 0, 0, 4);
}

/* http.basic's own requests to the same backend: n of them failed with 503 */
static int basic_rows(struct store *s, uint64_t n_fail)
{
	return spread(s, "http-client", "http.basic", OUT_OK, 200, "v1", ID_HTTP, T0, 100 - n_fail,
		      900, 1) |
	       spread(s, "http-client", "http.basic", OUT_HTTP_5XX, 503, "", "", T0, n_fail, 900, 0);
}

/* server-errors --rate 1.0 on http-server: every attempt fails, so do the
 * retried requests; the backend, not the retries, is broken */
static int sc_retry_backend_down(struct store *s, struct run_config *c)
{
	(void)c;
	return retry_rows(s, 0, 0, 0, 0, 0, 100) | basic_rows(s, 100);
}

/* retries-off with the backend healthy: retry.http alone is to blame */
static int sc_retry_off_backend_ok(struct store *s, struct run_config *c)
{
	(void)c;
	return retry_rows(s, 51, 0, 0, 0, 0, 49) | basic_rows(s, 0);
}

/* attempts over the budget are the mesh's doing, whatever the backend does */
static int sc_retry_over_backend_down(struct store *s, struct run_config *c)
{
	(void)c;
	return retry_rows(s, 50, 25, 12, 5, 3, 5) | basic_rows(s, 100);
}

static int sc_retry_few(struct store *s, struct run_config *c)
{
	(void)c;
	return retry_rows(s, 5, 3, 1, 1, 0, 0);
}

/* split: n ok requests of which v2 answered v2, in the 10 s from first */
static int split_rows(struct store *s, const char *check, int64_t first, uint64_t n,
		      uint64_t v2)
{
	return spread(s, "http-client", check, OUT_OK, 200, "v1", ID_HTTP, first, n - v2, 900, 1) |
	       spread(s, "http-client", check, OUT_OK, 200, "v2", ID_HTTP, first, v2, 900, 1);
}

static int sc_split_ok(struct store *s, struct run_config *c)
{
	(void)c;
	return split_rows(s, "split.weights", T0, 100, 11) |
	       spread(s, "http-client", "split.weights", OUT_HTTP_5XX, 503, "", "", T0, 2, 900, 0);
}

static int sc_split_skew(struct store *s, struct run_config *c)
{
	(void)c;
	/* split-skew makes the runtime weights 50/50 (and says so in split.set):
	 * the expectation still comes from the configuration */
	return store_put_event(s, T0 - 5.0, "split.set", "split.conform.svc", "v1=90 v2=10") |
	       store_put_event(s, T0 + 0.5, "split.set", "split.conform.svc", "v1=50 v2=50") |
	       split_rows(s, "split.weights", T0, 100, 50);
}

static int sc_split_few(struct store *s, struct run_config *c)
{
	(void)c;
	return split_rows(s, "split.weights", T0, 30, 3);
}

static int sc_split_shift_in_window(struct store *s, struct run_config *c)
{
	c->m.shift_at_ms = 5000;
	return store_put_event(s, T0 + 5.3, "split.shift", "split.conform.svc", "v1=50 v2=50") |
	       split_rows(s, "split.weights", T0, 100, 30);
}

/* shift applied at T0+13.4 (window 1); new weights from T0+14 when it takes */
static int shift_fixture(struct store *s, struct run_config *c, int takes)
{
	int rc;

	c->m.shift_at_ms = 13000;
	rc = store_put_event(s, T0 + 13.4, "split.shift", "split.conform.svc", "v1=50 v2=50");
	rc |= split_rows(s, "split.weights", T0, 100, 10);
	rc |= put(s, "http-client", "split.weights", OUT_OK, 200, "v1", ID_HTTP, T0 + 10, 40, 900, 1);
	rc |= put(s, "http-client", "split.weights", OUT_OK, 200, "v2", ID_HTTP, T0 + 10, 4, 900, 1);
	if (takes) {
		/* seconds 14..39: 10 req/s, half to v2 */
		int64_t k;

		for (k = 14; k < 40; k++)
			rc |= put(s, "http-client", "split.weights", OUT_OK, 200, "v1", ID_HTTP, T0 + k,
				  5, 900, 1) |
			      put(s, "http-client", "split.weights", OUT_OK, 200, "v2", ID_HTTP, T0 + k,
				  5, 900, 1);
	} else {
		int64_t k;

		for (k = 14; k < 40; k++)
			rc |= put(s, "http-client", "split.weights", OUT_OK, 200, "v1", ID_HTTP, T0 + k,
				  9, 900, 1) |
			      put(s, "http-client", "split.weights", OUT_OK, 200, "v2", ID_HTTP, T0 + k,
				  1, 900, 1);
	}
	return rc;
}

static int sc_shift_takes(struct store *s, struct run_config *c)
{
	return shift_fixture(s, c, 1);
}

static int sc_shift_never(struct store *s, struct run_config *c)
{
	return shift_fixture(s, c, 0);
}

static int sc_shift_not_reached(struct store *s, struct run_config *c)
{
	c->m.shift_at_ms = 20000;
	return split_rows(s, "split.weights", T0, 100, 10);
}

static int sc_shift_none(struct store *s, struct run_config *c)
{
	c->m.shift_at_ms = 0;
	return split_rows(s, "split.weights", T0, 100, 10);
}

/* tap: client ok n; tap lines out/in with delay, in_bad of in lines mismatched */
static int tap_rows(struct store *s, uint64_t n, uint64_t out, uint64_t in, uint64_t in_bad,
		    uint64_t delay_us)
{
	return spread(s, "http-client", "tap.live", OUT_OK, 200, "v1", ID_HTTP, T0, n, 900, 1) |
	       spread(s, "conformd.tap", "tap.live/out", OUT_OK, 200, "", ID_HTTP, T0, out,
		      delay_us, 0) |
	       spread(s, "conformd.tap", "tap.live/in", OUT_OK, 200, "", ID_HTTP, T0, in - in_bad,
		      delay_us, 0) |
	       spread(s, "conformd.tap", "tap.live/in", OUT_PROTOCOL, 200, "", "", T0, in_bad,
		      delay_us, 0);
}

/* server-errors on http-server: the client saw 503s and the tap showed them */
static int sc_tap_server_errors(struct store *s, struct run_config *c)
{
	(void)c;
	return spread(s, "http-client", "tap.live", OUT_HTTP_5XX, 503, "", ID_HTTP, T0, 120, 900,
		      0) |
	       spread(s, "conformd.tap", "tap.live/out", OUT_HTTP_OTHER, 503, "", ID_HTTP, T0, 120,
		      40000, 0) |
	       spread(s, "conformd.tap", "tap.live/in", OUT_HTTP_OTHER, 503, "", ID_HTTP, T0, 120,
		      40000, 0);
}

/* mtls-off on http-server: the server saw no identity and the inbound tap
 * shows none: the tap is right */
static int sc_tap_mtls_off(struct store *s, struct run_config *c)
{
	(void)c;
	return spread(s, "http-client", "tap.live", OUT_OK, 200, "v1", "", T0, 120, 900, 1) |
	       spread(s, "conformd.tap", "tap.live/out", OUT_OK, 200, "", ID_HTTP, T0, 120, 40000,
		      0) |
	       spread(s, "conformd.tap", "tap.live/in", OUT_HTTP_OTHER, 200, "", "", T0, 120,
		      40000, 0);
}

/* the tap shows 503 for 7 requests the client got 200 for: a lying tap */
static int sc_tap_wrong_status(struct store *s, struct run_config *c)
{
	(void)c;
	return spread(s, "http-client", "tap.live", OUT_OK, 200, "v1", ID_HTTP, T0, 120, 900, 1) |
	       spread(s, "conformd.tap", "tap.live/out", OUT_OK, 200, "", ID_HTTP, T0, 120, 40000,
		      0) |
	       spread(s, "conformd.tap", "tap.live/in", OUT_OK, 200, "", ID_HTTP, T0, 113, 40000,
		      0) |
	       spread(s, "conformd.tap", "tap.live/in", OUT_HTTP_OTHER, 503, "", ID_HTTP, T0, 7,
		      40000, 0);
}

/* the inbound tap shows no identity where the server saw the client's */
static int sc_tap_lost_identity(struct store *s, struct run_config *c)
{
	(void)c;
	return spread(s, "http-client", "tap.live", OUT_OK, 200, "v1", ID_HTTP, T0, 120, 900, 1) |
	       spread(s, "conformd.tap", "tap.live/out", OUT_OK, 200, "", ID_HTTP, T0, 120, 40000,
		      0) |
	       spread(s, "conformd.tap", "tap.live/in", OUT_HTTP_OTHER, 200, "", "", T0, 120,
		      40000, 0);
}

/* a gap-free restart of the client's outbound (wrong-identity, mtls-off,
 * cert-expiring) loses the line of a request it handed over */
static int sc_tap_restart(struct store *s, struct run_config *c)
{
	(void)c;
	return tap_rows(s, 120, 119, 120, 0, 40000) |
	       store_put_event(s, T0 + 3.5, "workload.restart", "http-client.out",
			       "restart 1 (handover from pid 10), pid 11");
}

/* the same loss while only another workload restarted: the tap lost it */
static int sc_tap_other_restart(struct store *s, struct run_config *c)
{
	(void)c;
	return tap_rows(s, 120, 119, 120, 0, 40000) |
	       store_put_event(s, T0 + 3.5, "workload.restart", "grpc-client.out",
			       "restart 1 (handover from pid 10), pid 11");
}

static int sc_tap_ok(struct store *s, struct run_config *c)
{
	(void)c;
	return tap_rows(s, 120, 120, 120, 0, 40000);
}

static int sc_tap_off(struct store *s, struct run_config *c)
{
	(void)c;
	/* tap-off on http-client: its outbound stops emitting */
	return tap_rows(s, 120, 0, 120, 0, 40000);
}

static int sc_tap_mismatch(struct store *s, struct run_config *c)
{
	(void)c;
	return tap_rows(s, 120, 120, 120, 7, 40000);
}

static int sc_tap_late(struct store *s, struct run_config *c)
{
	(void)c;
	return tap_rows(s, 120, 120, 120, 0, 3500000);
}

static int sc_tap_no_client(struct store *s, struct run_config *c)
{
	(void)c;
	return tap_rows(s, 0, 0, 0, 0, 40000);
}

/* timeout: slow rows (outcome/code/latency) and fast rows */
static int timeout_rows(struct store *s, unsigned slow_out, int slow_code, uint64_t slow_us,
			uint64_t fast_bad)
{
	return spread(s, "http-client", "timeout.http/slow", slow_out, slow_code,
		      slow_out == OUT_OK ? "v1" : "", "", T0, 50, slow_us, 0) |
	       spread(s, "http-client", "timeout.http/fast", OUT_OK, 200, "v1", ID_HTTP, T0,
		      100 - fast_bad, 1200, 1) |
	       spread(s, "http-client", "timeout.http/fast", OUT_HTTP_5XX, 504, "", "", T0,
		      fast_bad, 500000, 0);
}

static int sc_timeout_ok(struct store *s, struct run_config *c)
{
	(void)c;
	return timeout_rows(s, OUT_HTTP_5XX, 504, 503000, 0);
}

static int sc_timeout_off(struct store *s, struct run_config *c)
{
	(void)c;
	return timeout_rows(s, OUT_OK, 200, 2003000, 0);
}

static int sc_timeout_late(struct store *s, struct run_config *c)
{
	(void)c;
	return timeout_rows(s, OUT_HTTP_5XX, 504, 1100000, 0);
}

static int sc_timeout_collateral(struct store *s, struct run_config *c)
{
	(void)c;
	return timeout_rows(s, OUT_HTTP_5XX, 504, 503000, 5);
}

/* server-errors on http-server: slow and fast requests alike end with 503 */
static int sc_timeout_backend_down(struct store *s, struct run_config *c)
{
	(void)c;
	return spread(s, "http-client", "timeout.http/slow", OUT_HTTP_5XX, 503, "", "", T0, 50,
		      2000, 0) |
	       spread(s, "http-client", "timeout.http/fast", OUT_HTTP_5XX, 503, "", "", T0, 100,
		      1200, 0) |
	       basic_rows(s, 100);
}

/* the same failures with http.basic healthy: the timeout route alone fails */
static int sc_timeout_errors_backend_ok(struct store *s, struct run_config *c)
{
	(void)c;
	return spread(s, "http-client", "timeout.http/slow", OUT_HTTP_5XX, 503, "", "", T0, 50,
		      2000, 0) |
	       spread(s, "http-client", "timeout.http/fast", OUT_HTTP_5XX, 503, "", "", T0, 100,
		      1200, 0) |
	       basic_rows(s, 0);
}

/* timeout-off while the backend fails part of the requests: slow requests
 * answered 200 past the timeout prove it broken whatever the backend does */
static int sc_timeout_off_backend_down(struct store *s, struct run_config *c)
{
	(void)c;
	return timeout_rows(s, OUT_OK, 200, 2003000, 0) | basic_rows(s, 50);
}

static int sc_timeout_no_fast(struct store *s, struct run_config *c)
{
	(void)c;
	return spread(s, "http-client", "timeout.http/slow", OUT_HTTP_5XX, 504, "", "", T0, 50,
		      503000, 0);
}

static int certs(struct store *s, int server_left, unsigned server_outcome)
{
	return probe(s, "identity.expiry", server_outcome, server_left, "http-server",
		     "http-server.conform.serviceaccount.identity.cluster.local", T0 + 3) |
	       probe(s, "identity.expiry", OUT_OK, 86000, "grpc-server",
		     "grpc-server.conform.serviceaccount.identity.cluster.local", T0 + 3) |
	       probe(s, "identity.expiry", OUT_OK, 85990, "http-client", ID_HTTP, T0 + 3);
}

static int sc_expiry_ok(struct store *s, struct run_config *c)
{
	(void)c;
	return certs(s, 86100, OUT_OK);
}

static int sc_expiry_expiring(struct store *s, struct run_config *c)
{
	(void)c;
	/* cert-expiring on http-server: reissued with 10 minutes left */
	return certs(s, 600, OUT_OK);
}

static int sc_expiry_tls_failed(struct store *s, struct run_config *c)
{
	(void)c;
	return probe(s, "identity.expiry", OUT_TLS_FAILED, 0, "http-server", "", T0 + 3);
}

struct scenario {
	const struct check_desc *check;
	const char *name;
	int (*fill)(struct store *s, struct run_config *c);
	int64_t window;
	enum verdict verdict;
	enum reason reason;
	const char *text;        /* substring of reason_text */
	const char *evidence;    /* substring of the evidence, or NULL */
};

static const struct scenario scenarios[] = {
	{ &check_mtls_identity, "healthy", sc_identity_ok, 0, V_PASS, R_MET,
	  "all 230 requests arrived with the caller's verified identity (HTTP 130, gRPC 100)",
	  "\"wrong\":0" },
	{ &check_mtls_identity, "mtls-off", sc_identity_mtls_off, 0, V_FAIL, R_WRONG_IDENTITY,
	  "12 of 230 HTTP requests from http-client arrived with no identity (expected "
	  ID_HTTP ")", "\"wrong\":12" },
	{ &check_mtls_identity, "wrong-identity", sc_identity_wrong, 0, V_FAIL, R_WRONG_IDENTITY,
	  "100 of 100 HTTP requests from http-client arrived with identity " ID_GRPC
	  " (expected " ID_HTTP ")", NULL },
	{ &check_mtls_identity, "grpc-none", sc_identity_grpc_none, 0, V_FAIL, R_WRONG_IDENTITY,
	  "50 of 50 gRPC requests from grpc-client arrived with no identity", NULL },
	{ &check_mtls_identity, "only failures", sc_identity_only_failures, 0, V_NODATA,
	  R_NO_DATA, "no successful requests", NULL },
	{ &check_mtls_identity, "empty", sc_empty, 0, V_NODATA, R_NO_DATA, "no successful", NULL },

	{ &check_mtls_enforced, "healthy", sc_enforced_ok, 0, V_PASS, R_MET,
	  "all 10 unauthenticated probes refused", "\"refused\":10" },
	{ &check_mtls_enforced, "mtls-off", sc_enforced_mtls_off, 0, V_FAIL, R_NOT_ENFORCED,
	  "no client cert to http-server accepted x2 (HTTP 200)", "\"accepted\":2" },
	{ &check_mtls_enforced, "plaintext accepted", sc_enforced_plaintext, 0, V_FAIL,
	  R_NOT_ENFORCED, "plaintext to http-server inbound accepted x2", NULL },
	{ &check_mtls_enforced, "cannot probe", sc_enforced_cannot_probe, 0, V_NODATA,
	  R_PROBE_FAILED, "no probe could run: plaintext to http-server inbound: could not connect x1", NULL },
	{ &check_mtls_enforced, "empty", sc_empty, 0, V_NODATA, R_NO_DATA, "no enforcement probes",
	  NULL },

	{ &check_retry_http, "healthy", sc_retry_ok, 0, V_PASS, R_MET,
	  "success 94.0% >= bound 80.0% (expected 93.75% with 4 attempts at 50% failure); "
	  "44 replies needed a retry, highest attempt 4", "\"attempts\":[50,25,12,7,0,0,0,0]" },
	{ &check_retry_http, "retries-off", sc_retry_off, 0, V_FAIL, R_RETRY_BELOW_BOUND,
	  "success 51.0% below bound 80.0% (expected 93.75% with 4 attempts at 50% failure): "
	  "retries not effective", NULL },
	{ &check_retry_http, "over limit", sc_retry_over, 0, V_FAIL, R_RETRY_OVER_LIMIT,
	  "3 replies came after more than 4 attempts (highest attempt 5)", NULL },
	{ &check_retry_http, "no retry seen", sc_retry_not_seen, 0, V_FAIL, R_RETRY_NOT_SEEN,
	  "no reply came at attempt > 1 among 100 requests", NULL },
	{ &check_retry_http, "server-errors 1.0", sc_retry_backend_down, 0, V_INCONCLUSIVE,
	  R_PRECONDITION, "backend http-server failing 100.0% of 100 requests on "
	  "http.conform.svc: HTTP 5xx from server (503 x100) (see http.basic); not judged: "
	  "success 0.0% below bound", NULL },
	{ &check_retry_http, "retries-off, backend healthy", sc_retry_off_backend_ok, 0, V_FAIL,
	  R_RETRY_BELOW_BOUND, "retries not effective", NULL },
	{ &check_retry_http, "over limit, backend down", sc_retry_over_backend_down, 0, V_FAIL,
	  R_RETRY_OVER_LIMIT, "retry budget exceeded", NULL },
	{ &check_retry_http, "too few", sc_retry_few, 0, V_NODATA, R_NO_DATA,
	  "only 10 requests in window; 25 needed", NULL },
	{ &check_retry_http, "empty", sc_empty, 0, V_NODATA, R_NO_DATA, "no retry.http requests",
	  NULL },

	{ &check_split_weights, "healthy 90/10", sc_split_ok, 0, V_PASS, R_MET,
	  "share of v2 11.0% inside [", "\"expected\":0.1000" },
	{ &check_split_weights, "split-skew", sc_split_skew, 0, V_FAIL, R_SPLIT_OUT_OF_BOUND,
	  "share of v2 50.0% outside [0.0%, 27.0%] (expected 10.0% for weights 90/10, 50 of 100 "
	  "requests)", "\"observed\":0.5000,\"expected\":0.1000,\"lo\":0.0000,\"hi\":0.2700,\"n\":100" },
	{ &check_split_weights, "too few", sc_split_few, 0, V_NODATA, R_NO_DATA,
	  "only 30 split requests in window; 52 needed", NULL },
	{ &check_split_weights, "shift in window", sc_split_shift_in_window, 0, V_NODATA,
	  R_NO_DATA, "weights changed in this window", NULL },
	{ &check_split_weights, "after the shift", sc_shift_takes, 3, V_PASS, R_MET,
	  "share of v2 50.0% inside [", "\"weights\":\"50/50\"" },
	{ &check_split_weights, "shift never takes", sc_shift_never, 3, V_FAIL,
	  R_SPLIT_OUT_OF_BOUND, "share of v2 10.0% outside", NULL },
	{ &check_split_weights, "empty", sc_empty, 0, V_NODATA, R_NO_DATA,
	  "no successful split requests", NULL },

	{ &check_split_shift, "no shift", sc_shift_none, 0, V_NODATA, R_NO_DATA,
	  "no shift scheduled", NULL },
	{ &check_split_shift, "not reached", sc_shift_not_reached, 0, V_NODATA, R_NO_DATA,
	  "shift not reached yet", NULL },
	{ &check_split_shift, "before the shift", sc_shift_takes, 0, V_NODATA, R_NO_DATA,
	  "shift not reached yet", NULL },
	{ &check_split_shift, "converging", sc_shift_never, 1, V_NODATA, R_NO_DATA,
	  "converging to 50/50: shift 6.6 s ago (allowed 10.0 s)", NULL },
	{ &check_split_shift, "converged", sc_shift_takes, 2, V_PASS, R_MET,
	  "converged to 50/50 in 0.6 s (allowed 10.0 s)", "\"converged_s\":0.6" },
	{ &check_split_shift, "still holds", sc_shift_takes, 3, V_PASS, R_MET,
	  "converged to 50/50 in 0.6 s", NULL },
	{ &check_split_shift, "never takes", sc_shift_never, 2, V_FAIL, R_SPLIT_NOT_CONVERGED,
	  "share of v2 10.0% still outside [", "\"converged_s\":null" },

	{ &check_tap_live, "healthy", sc_tap_ok, 0, V_PASS, R_MET,
	  "120 of 120 requests in both tap feeds", "\"missing\":0" },
	{ &check_tap_live, "tap-off", sc_tap_off, 0, V_FAIL, R_TAP_MISSING,
	  "120 of 120 requests never appeared in the tap feed (outbound)", NULL },
	{ &check_tap_live, "mismatch", sc_tap_mismatch, 0, V_FAIL, R_TAP_MISMATCH,
	  "7 of 120 inbound tap lines disagree", NULL },
	{ &check_tap_live, "late", sc_tap_late, 0, V_FAIL, R_TAP_LATE, "tap delay p99", NULL },
	{ &check_tap_live, "no client requests", sc_tap_no_client, 0, V_NODATA, R_NO_DATA,
	  "no answered tap.live requests", NULL },
	{ &check_tap_live, "outbound restarted", sc_tap_restart, 0, V_INCONCLUSIVE, R_PRECONDITION,
	  "http-client.out restarted at 04:11:03 (restart 1 (handover from pid 10), pid 11); "
	  "not judged: 1 of 120 requests never appeared in the tap feed (outbound)", NULL },
	{ &check_tap_live, "another workload restarted", sc_tap_other_restart, 0, V_FAIL,
	  R_TAP_MISSING, "1 of 120 requests never appeared in the tap feed (outbound)", NULL },
	{ &check_tap_live, "server-errors shown as 503", sc_tap_server_errors, 0, V_PASS, R_MET,
	  "120 of 120 requests in both tap feeds", "\"mismatch\":0" },
	{ &check_tap_live, "mtls-off shown without identity", sc_tap_mtls_off, 0, V_PASS, R_MET,
	  "120 of 120 requests in both tap feeds", NULL },
	{ &check_tap_live, "503 the client never got", sc_tap_wrong_status, 0, V_FAIL,
	  R_TAP_MISMATCH, "7 of 120 inbound tap lines disagree", NULL },
	{ &check_tap_live, "identity the server saw, lost", sc_tap_lost_identity, 0, V_FAIL,
	  R_TAP_MISMATCH, "120 of 120 inbound tap lines disagree", NULL },

	{ &check_timeout_http, "healthy", sc_timeout_ok, 0, V_PASS, R_MET,
	  "50 of 50 slow requests cut with 504", "\"cut_504\":50" },
	{ &check_timeout_http, "timeout-off", sc_timeout_off, 0, V_FAIL, R_TIMEOUT_NOT_ENFORCED,
	  "slow requests ended 200 after 2003 ms (x50); route timeout 500 ms not enforced", NULL },
	{ &check_timeout_http, "late 504", sc_timeout_late, 0, V_FAIL, R_TIMEOUT_NOT_ENFORCED,
	  "must come by 800 ms (timeout 500 ms + slack 300 ms)", NULL },
	{ &check_timeout_http, "collateral", sc_timeout_collateral, 0, V_FAIL,
	  R_TIMEOUT_COLLATERAL, "5 of 100 fast requests failed: HTTP 5xx from server (504 x5)",
	  NULL },
	{ &check_timeout_http, "backend down", sc_timeout_backend_down, 0, V_INCONCLUSIVE,
	  R_PRECONDITION, "backend http-server failing 100.0% of 100 requests on "
	  "http.conform.svc: HTTP 5xx from server (503 x100) (see http.basic); not judged: ",
	  NULL },
	{ &check_timeout_http, "errors, backend healthy", sc_timeout_errors_backend_ok, 0, V_FAIL,
	  R_TIMEOUT_NOT_ENFORCED, "slow requests ended with HTTP 5xx from server (503 x50)", NULL },
	{ &check_timeout_http, "timeout-off, backend down", sc_timeout_off_backend_down, 0,
	  V_FAIL, R_TIMEOUT_NOT_ENFORCED, "slow requests ended 200 after 2003 ms", NULL },
	{ &check_timeout_http, "no fast flow", sc_timeout_no_fast, 0, V_NODATA, R_NO_DATA,
	  "no fast requests", NULL },

	{ &check_identity_expiry, "healthy", sc_expiry_ok, 0, V_PASS, R_MET,
	  "3 certificates valid; minimum remaining 23h 53m (http-client, CN " ID_HTTP ")",
	  "\"min_remaining_s\":85990" },
	{ &check_identity_expiry, "cert-expiring", sc_expiry_expiring, 0, V_FAIL,
	  R_CERT_EXPIRING, "http-server (CN http-server.conform.serviceaccount.identity."
	  "cluster.local) expires in 10m 0s; must have more than 1h 0m left", NULL },
	{ &check_identity_expiry, "tls failed", sc_expiry_tls_failed, 0, V_NODATA,
	  R_PROBE_FAILED, "no certificate could be read from http-server", NULL },
	{ &check_identity_expiry, "empty", sc_empty, 0, V_NODATA, R_NO_DATA,
	  "no certificate probes", NULL },
};

/* report a failing scenario and go on with the next (all are listed) */
#define SC_FAIL(...) do { fprintf(stderr, "%s:%d: ", __FILE__, __LINE__); \
	fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); h_failed_now = 1; continue; } while (0)

TEST(scenarios_table)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(scenarios); i++) {
		const struct scenario *sc = &scenarios[i];
		struct store *s = fixture_store_open();
		struct run_config c;
		struct window_result r;

		if (!s)
			H_FAIL("no store");
		base_cfg(&c);
		if (sc->fill(s, &c)) {
			store_close(s);
			H_FAIL("%s/%s: fixture not stored", sc->check->id, sc->name);
		}
		if (evaluate_window(s, &c, sc->check, sc->window, 0, &r)) {
			store_close(s);
			H_FAIL("%s/%s: evaluate_window failed", sc->check->id, sc->name);
		}
		store_close(s);
		if (getenv("TEST_VERBOSE"))
			fprintf(stderr, "%s/%s: %s %s \"%s\"\n  %s\n", sc->check->id, sc->name,
				verdict_name(r.verdict), reason_info(r.reason)->name, r.reason_text,
				r.evidence);
		if (r.verdict != sc->verdict || r.reason != sc->reason ||
		    !strstr(r.reason_text, sc->text) ||
		    (sc->evidence && !strstr(r.evidence, sc->evidence)))
			SC_FAIL("%s/%s: got %s %s \"%s\" evidence %s; want %s %s \"%s\" %s",
			       sc->check->id, sc->name, verdict_name(r.verdict),
			       reason_info(r.reason)->name, r.reason_text, r.evidence,
			       verdict_name(sc->verdict), reason_info(sc->reason)->name, sc->text,
			       sc->evidence ? sc->evidence : "");
		/* the evidence is always one JSON object */
		if (r.evidence[0] != '{' || r.evidence[strlen(r.evidence) - 1] != '}')
			SC_FAIL("%s/%s: evidence not an object: %s", sc->check->id, sc->name,
			       r.evidence);
	}
}

TEST(every_mesh_check_has_scenarios)
{
	const struct check_desc *const *all;
	size_t n, i, j;

	all = catalog_all(&n);
	for (i = 0; i < n; i++) {
		int pass = 0, fail = 0, nodata = 0;

		if (!all[i]->needs_mesh)
			continue;
		for (j = 0; j < ARRAY_SIZE(scenarios); j++) {
			if (scenarios[j].check != all[i])
				continue;
			pass += scenarios[j].verdict == V_PASS;
			fail += scenarios[j].verdict == V_FAIL;
			nodata += scenarios[j].verdict == V_NODATA;
		}
		if (!pass || !fail || !nodata)
			H_FAIL("%s: pass %d fail %d nodata %d scenarios", all[i]->id, pass, fail,
			       nodata);
	}
}

TEST(mesh_none_fails_every_mesh_check)
{
	const struct check_desc *const *all;
	size_t n, i, nmesh = 0;

	all = catalog_all(&n);
	for (i = 0; i < n; i++) {
		struct store *s;
		struct run_config c;
		struct window_result r;
		char want[REASON_TEXT_MAX];

		if (!all[i]->needs_mesh)
			continue;
		nmesh++;
		s = fixture_store_open();
		ASSERT(s);
		base_cfg(&c);
		str_copy(c.mesh, sizeof(c.mesh), "none");
		/* healthy-looking evidence changes nothing: no mesh, no promise */
		sc_identity_ok(s, &c);
		ASSERT_EQ(evaluate_window(s, &c, all[i], 0, 0, &r), 0);
		store_close(s);
		ASSERT_EQ(r.verdict, V_FAIL);
		ASSERT_EQ(r.reason, R_NO_MESH);
		str_fmt(want, sizeof(want), "no mesh provides %s", all[i]->promise);
		ASSERT_STR_EQ(r.reason_text, want);
	}
	ASSERT_EQ(nmesh, 8);
}

/* ---- 2000 simulated healthy windows of the statistical checks ---- */

#define SIM_WINDOWS 2000
/* Each healthy window fails with probability <= alpha = 1e-6, so of 2000 at
 * most Binomial(2000, 1e-6) fail: 3 or more with probability < 2e-9. Demanding
 * none would fail a healthy build ~0.2% of runs. */
#define SIM_ALLOWED_FAIL 2

/* evaluate one window of rows directly (no store: the check reads wd's rows) */
static void judge(const struct check_desc *c, const struct run_config *cfg,
		  const struct agg_row *rows, size_t n, struct window_result *out)
{
	struct window_data wd;
	size_t i;

	memset(out, 0, sizeof(*out));
	hist_init(&out->h);
	for (i = 0; i < n; i++) {
		out->total += rows[i].h.count;
		if (outcome_info(rows[i].outcome)->ok)
			out->ok += rows[i].h.count;
	}
	out->failed = out->total - out->ok;
	memset(&wd, 0, sizeof(wd));
	wd.cfg = cfg;
	wd.check = c;
	wd.start_s = T0;
	wd.end_s = T0 + 10;
	wd.rows = rows;
	wd.nrows = n;
	wd.mesh = "haproxy";
	if (c->eval(&wd, out))
		out->verdict = V_NODATA;
}

static void sim_row(struct agg_row *r, const char *check, unsigned outcome, const char *backend,
		    int64_t sec, uint64_t count, unsigned attempt)
{
	memset(r, 0, sizeof(*r));
	str_copy(r->check, sizeof(r->check), check);
	str_copy(r->workload, sizeof(r->workload), "http-client");
	str_copy(r->backend, sizeof(r->backend), backend);
	r->outcome = outcome;
	r->code = outcome == OUT_OK ? 200 : 503;
	r->second = sec;
	hist_init(&r->h);
	r->h.count = count;
	if (attempt)
		r->attempts[attempt - 1] = count;
}

TEST(healthy_split_never_fails)
{
	struct run_config c;
	struct window_result r;
	struct agg_row rows[2];
	int w, pass = 0, nfail = 0;

	base_cfg(&c);
	h_rand_init();
	for (w = 0; w < SIM_WINDOWS; w++) {
		uint64_t v2 = 0;
		int k;

		for (k = 0; k < 100; k++)
			v2 += h_rand_unit() < 0.1;
		sim_row(&rows[0], "split.weights", OUT_OK, "v1", T0 + 1, 100 - v2, 1);
		sim_row(&rows[1], "split.weights", OUT_OK, "v2", T0 + 2, v2, 1);
		judge(&check_split_weights, &c, rows, 2, &r);
		if (r.verdict == V_FAIL) {
			printf("# window %d failed: %s\n", w, r.reason_text);
			nfail++;
		}
		pass += r.verdict == V_PASS;
	}
	ASSERT(nfail <= SIM_ALLOWED_FAIL);
	ASSERT(pass >= SIM_WINDOWS - SIM_ALLOWED_FAIL);   /* n = 100 is enough for a verdict */
}

TEST(healthy_retry_never_fails)
{
	struct run_config c;
	struct window_result r;
	struct agg_row rows[5];
	int w, pass = 0, nfail = 0;

	base_cfg(&c);
	h_rand_init();
	ASSERT_EQ(c.m.retry_attempts, 4);
	ASSERT_NEAR(c.m.retry_fail_share, 0.5, 1e-12);
	for (w = 0; w < SIM_WINDOWS; w++) {
		uint64_t at[4] = { 0 }, failed = 0;
		int k, a;

		for (k = 0; k < 100; k++) {
			for (a = 1; a <= 4; a++)
				if (h_rand_unit() >= 0.5)
					break;
			if (a <= 4)
				at[a - 1]++;
			else
				failed++;
		}
		for (a = 0; a < 4; a++)
			sim_row(&rows[a], "retry.http", OUT_OK, "v1", T0 + a, at[a],
				(unsigned)a + 1);
		sim_row(&rows[4], "retry.http", OUT_HTTP_5XX, "", T0 + 5, failed, 0);
		judge(&check_retry_http, &c, rows, 5, &r);
		if (r.verdict == V_FAIL) {
			printf("# window %d failed: %s\n", w, r.reason_text);
			nfail++;
		}
		pass += r.verdict == V_PASS;
	}
	ASSERT(nfail <= SIM_ALLOWED_FAIL);
	ASSERT(pass >= SIM_WINDOWS - SIM_ALLOWED_FAIL);
}

/* The same simulation with retries off fails nearly every window: the bound
 * has power, it is not merely loose. */
TEST(retries_off_fails)
{
	struct run_config c;
	struct window_result r;
	struct agg_row rows[2];
	int w, fail = 0;

	base_cfg(&c);
	h_rand_init();
	for (w = 0; w < 200; w++) {
		uint64_t ok = 0;
		int k;

		for (k = 0; k < 100; k++)
			ok += h_rand_unit() >= 0.5;
		sim_row(&rows[0], "retry.http", OUT_OK, "v1", T0 + 1, ok, 1);
		sim_row(&rows[1], "retry.http", OUT_HTTP_5XX, "", T0 + 2, 100 - ok, 0);
		judge(&check_retry_http, &c, rows, 2, &r);
		fail += r.verdict == V_FAIL && r.reason == R_RETRY_BELOW_BOUND;
	}
	ASSERT(fail >= 199);
}

int main(void)
{
	if (fixture_tmpdir_make("mesh"))
		return 2;
	log_init("test_mesh_checks", LOG_ERROR);
	RUN(scenarios_table);
	RUN(every_mesh_check_has_scenarios);
	RUN(mesh_none_fails_every_mesh_check);
	RUN(healthy_split_never_fails);
	RUN(healthy_retry_never_fails);
	RUN(retries_off_fails);
	fixture_tmpdir_remove();
	TEST_MAIN_END();
}
