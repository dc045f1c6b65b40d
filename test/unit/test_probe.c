/*
 * test_probe.c - conformd's prober (lib/ingest/probe.c) on a fake mesh
 * adapter: a target whose certificate the mesh reads from its proxy
 * (cert_from_proxy, what a Linkerd inbound needs: it shows an unmeshed
 * probe no identity certificate) gets its identity.expiry row from
 * workload_cert only, never from a TLS handshake with its inbound, while
 * the inbound is still probed for mtls.enforced; a target without the
 * flag is judged on the handshake. The inbound is a loopback listener that
 * accepts and closes, so a handshake with it always fails, and the stored
 * rows are judged by identity.expiry's own eval.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "checks/check.h"
#include "fixture.h"
#include "harness.h"
#include "ingest/probe.h"
#include "mesh/mesh.h"

#define LEFT_S 86400   /* what the fake proxies' certificates have left */

/* ---- an inbound that takes connections and closes them at once ---- */

static int lfd = -1;
static int lport;
static atomic_int lstop;
static atomic_int accepted;
static pthread_t lthread;

static void *closer_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&lstop)) {
		struct pollfd p = { lfd, POLLIN, 0 };

		if (poll(&p, 1, 100) == 1) {
			int c = accept(lfd, NULL, NULL);

			if (c >= 0) {
				atomic_fetch_add(&accepted, 1);
				close(c);
			}
		}
	}
	return NULL;
}

static int closer_start(void)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 16) ||
	    getsockname(lfd, (struct sockaddr *)&a, &al))
		return -1;
	lport = ntohs(a.sin_port);
	atomic_store(&lstop, 0);
	return pthread_create(&lthread, NULL, closer_main, NULL) ? -1 : 0;
}

static void closer_stop(void)
{
	atomic_store(&lstop, 1);
	pthread_join(lthread, NULL);
	close(lfd);
	lfd = -1;
}

/* ---- the fake adapter: a server behind that inbound, a client ---- */

struct mesh {
	int server_from_proxy;    /* cert_from_proxy of the server's target */
	atomic_int cert_calls;
	char asked[8][64];        /* the workloads workload_cert was asked for */
};

static int fake_probe_info(struct mesh *m, struct mesh_probe_info *out)
{
	memset(out, 0, sizeof(*out));
	str_copy(out->t[0].workload, sizeof(out->t[0].workload), "http-server");
	str_fmt(out->t[0].inbound, sizeof(out->t[0].inbound), "127.0.0.1:%d", lport);
	out->t[0].cert_from_proxy = m->server_from_proxy;
	str_copy(out->t[1].workload, sizeof(out->t[1].workload), "http-client");
	out->t[1].cert_from_proxy = 1;
	out->n = 2;
	return 0;
}

static int fake_workload_cert(struct mesh *m, const char *name, char *cn, size_t cnlen,
			      int64_t *not_after)
{
	int i = atomic_fetch_add(&m->cert_calls, 1);

	if (i < 8)
		str_copy(m->asked[i], sizeof(m->asked[i]), name);
	if (strcmp(name, "http-server") && strcmp(name, "http-client"))
		return -ENOENT;
	str_fmt(cn, cnlen, "%s.conform.serviceaccount.identity.linkerd.cluster.local", name);
	*not_after = (int64_t)wall_s() + LEFT_S;
	return 0;
}

static struct mesh_ops fake_ops(void)
{
	struct mesh_ops o;

	memset(&o, 0, sizeof(o));
	o.name = "fake";
	o.caps = MESH_CAP_PROXIES | MESH_CAP_PROBES;
	o.probe_info = fake_probe_info;
	o.workload_cert = fake_workload_cert;
	return o;
}

/* One probe round into a new store; the rows of check (new array). */
static int one_round(struct mesh *m, struct store **s, const char *check, struct agg_row **rows,
		     size_t *n)
{
	struct mesh_ops o = fake_ops();
	struct probe_config pc;
	struct prober *p;
	int64_t deadline = mono_ns() + 10 * 1000000000LL;

	*s = fixture_store_open();
	if (!*s)
		return -1;
	memset(&pc, 0, sizeof(pc));
	pc.mops = &o;
	pc.mesh = m;
	pc.store = *s;
	pc.instance = 7;
	pc.interval_ms = 60000;   /* the first round only */
	pc.mtls = 1;
	pc.expiry = 1;
	p = probe_start(&pc);
	if (!p)
		return -1;
	/* the first round runs at once; its batch holds both checks' rows */
	*rows = NULL;
	*n = 0;
	while (mono_ns() < deadline) {
		if (store_get_rows(*s, check, 0, INT64_MAX, rows, n) < 0)
			break;
		if (*n)
			break;
		free(*rows);
		*rows = NULL;
		usleep(20000);
	}
	probe_stop(p);
	return *n ? 0 : -1;
}

/* identity.expiry's verdict on rows */
static enum verdict judge(const struct agg_row *rows, size_t n, struct window_result *r)
{
	struct run_config cfg;
	struct window_data wd;

	run_config_defaults(&cfg);
	memset(&wd, 0, sizeof(wd));
	wd.cfg = &cfg;
	wd.check = &check_identity_expiry;
	wd.rows = rows;
	wd.nrows = n;
	wd.mesh = "linkerd";
	memset(r, 0, sizeof(*r));
	if (check_identity_expiry.eval(&wd, r))
		return V__COUNT;
	return r->verdict;
}

static const struct agg_row *row_of(const struct agg_row *rows, size_t n, const char *backend)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(rows[i].backend, backend))
			return &rows[i];
	return NULL;
}

/* cert_from_proxy: expiry from the proxy only, the inbound still probed for mTLS */
TEST(expiry_from_the_proxy_only)
{
	struct mesh m;
	struct store *s = NULL;
	struct agg_row *rows = NULL, *mt = NULL;
	size_t n = 0, nm = 0, i;
	const struct agg_row *r;
	struct window_result res;
	int before = atomic_load(&accepted);

	memset(&m, 0, sizeof(m));
	m.server_from_proxy = 1;
	ASSERT_EQ(one_round(&m, &s, "identity.expiry", &rows, &n), 0);
	/* one row per workload, both read from the proxy, none failed */
	ASSERT_UEQ(n, 2);
	for (i = 0; i < n; i++) {
		ASSERT_STR_EQ(rows[i].workload, "conformd.probe");
		ASSERT_EQ(rows[i].outcome, OUT_OK);
		ASSERT(rows[i].code > LEFT_S - 60 && rows[i].code <= LEFT_S);
	}
	r = row_of(rows, n, "http-server");
	ASSERT(r);
	ASSERT_STR_EQ(r->identity,
		      "http-server.conform.serviceaccount.identity.linkerd.cluster.local");
	ASSERT(row_of(rows, n, "http-client"));
	ASSERT_EQ(atomic_load(&m.cert_calls), 2);
	ASSERT_STR_EQ(m.asked[0], "http-server");
	/* a handshake that fails never reached the check: it passes */
	ASSERT_EQ(judge(rows, n, &res), V_PASS);
	ASSERT_CONTAINS(res.reason_text, "2 certificates valid");
	/* mtls.enforced still probed the inbound: plaintext, no cert, foreign CA */
	ASSERT_EQ(store_get_rows(s, "mtls.enforced", 0, INT64_MAX, &mt, &nm), 0);
	ASSERT_UEQ(nm, 3);
	for (i = 0; i < nm; i++)
		ASSERT(!strncmp(mt[i].backend, "http-server/", 12));
	ASSERT(atomic_load(&accepted) > before);
	free(mt);
	free(rows);
	store_close(s);
}

/* without the flag the inbound's handshake is the evidence: one that shows
 * no certificate leaves the window unjudged (what a Linkerd run suffered) */
TEST(expiry_from_a_handshake_without_the_flag)
{
	struct mesh m;
	struct store *s = NULL;
	struct agg_row *rows = NULL;
	size_t n = 0;
	const struct agg_row *r;
	struct window_result res;

	memset(&m, 0, sizeof(m));
	m.server_from_proxy = 0;
	ASSERT_EQ(one_round(&m, &s, "identity.expiry", &rows, &n), 0);
	ASSERT_UEQ(n, 2);
	r = row_of(rows, n, "http-server");
	ASSERT(r);
	ASSERT_EQ(r->outcome, OUT_TLS_FAILED);
	/* only the client came from its proxy */
	ASSERT_EQ(atomic_load(&m.cert_calls), 1);
	ASSERT_STR_EQ(m.asked[0], "http-client");
	ASSERT_EQ(judge(rows, n, &res), V_NODATA);
	ASSERT_EQ(res.reason, R_PROBE_FAILED);
	ASSERT_CONTAINS(res.reason_text, "http-server");
	free(rows);
	store_close(s);
}

int main(void)
{
	if (fixture_tmpdir_make("probe") || closer_start()) {
		fprintf(stderr, "cannot set up the test's directory or listener\n");
		return 1;
	}
	RUN(expiry_from_the_proxy_only);
	RUN(expiry_from_a_handshake_without_the_flag);
	closer_stop();
	fixture_tmpdir_remove();
	TEST_MAIN_END();
}
