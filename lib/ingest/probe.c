/*
 * probe.c - probes the mesh's sidecars from conformd every few seconds and
 * stores what they showed as conformd.probe rows: whether inbounds refuse
 * unauthenticated clients (mtls.enforced) and how long the certificates the
 * sidecars present stay valid (identity.expiry).
 */
#include "ingest/probe.h"
#include "base/addr.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/tlsprobe.h"
#include "checks/check.h"
#include "evidence/outcome.h"
#include "base/util.h"

#define PROBE_TIMEOUT_MS 2000
#define MAX_ROWS (MESH_MAX_WORKLOADS * 4)

struct prober {
	struct probe_config cfg;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
	uint64_t seq;
};

static struct agg_row *row_new(struct agg_row *rows, size_t *n, const char *check,
			       unsigned outcome, int code, const char *backend,
			       const char *identity, int64_t second, int64_t took_us)
{
	struct agg_row *r;

	if (*n >= MAX_ROWS)
		return NULL;
	r = &rows[(*n)++];
	memset(r, 0, sizeof(*r));
	str_copy(r->check, sizeof(r->check), check);
	str_copy(r->workload, sizeof(r->workload), "conformd.probe");
	r->outcome = outcome;
	r->code = code;
	str_copy(r->backend, sizeof(r->backend), backend);
	str_copy(r->identity, sizeof(r->identity), identity ? identity : "");
	r->second = second;
	hist_init(&r->h);
	hist_add(&r->h, took_us > 0 ? (uint64_t)took_us : 0);
	return r;
}

/* Outcome of one refusal probe: ok when refused, http_other when accepted. */
static unsigned refusal_outcome(const struct tlsprobe_result *r, int plain, int *code)
{
	*code = 0;
	switch (r->status) {
	case TLSPROBE_OK:
		if (plain) {
			/* reason is "answered: HTTP/1.1 200 OK" */
			const char *sp = strstr(r->reason, "HTTP/");
			int64_t st;
			char num[4];

			sp = sp ? strchr(sp, ' ') : NULL;
			if (sp && strlen(sp) >= 4) {
				memcpy(num, sp + 1, 3);
				num[3] = '\0';
				if (parse_i64(num, 100, 599, &st) == 0)
					*code = (int)st;
			}
		}
		return OUT_HTTP_OTHER;
	case TLSPROBE_CONNECT_REFUSED:
	case TLSPROBE_CONNECT_TIMEOUT:
		return OUT_CONNECT_FAILED;
	default:
		return OUT_OK;
	}
}

static int64_t clamp_left(int64_t not_after)
{
	int64_t left = not_after - (int64_t)wall_s();

	if (left > INT32_MAX)
		left = INT32_MAX;
	if (left < INT32_MIN)
		left = INT32_MIN;
	return left;
}

static void probe_round(struct prober *p)
{
	struct mesh_probe_info info;
	struct agg_row *rows = calloc(MAX_ROWS, sizeof(*rows));
	size_t n = 0;
	int64_t sec = (int64_t)wall_s();

	if (!rows)
		return;
	if (p->cfg.mops->probe_info(p->cfg.mesh, &info) < 0)
		goto out;
	for (size_t i = 0; i < info.n; i++) {
		const struct mesh_probe_target *t = &info.t[i];
		struct tlsprobe_opts o;
		struct tlsprobe_result r;
		struct addr_hostport hp;
		char aerr[256], backend[32];
		int code;
		int64_t t0;

		if (t->inbound[0] && addr_parse(t->inbound, 0, &hp, aerr, sizeof(aerr)) == 0) {
			memset(&o, 0, sizeof(o));
			o.host = hp.host;
			o.port = hp.port;
			o.timeout_ms = PROBE_TIMEOUT_MS;
			o.alpn = "h2,http/1.1";
			if (p->cfg.mtls) {
				static const char *const kinds[3] = { "plaintext", "no-cert", "foreign-ca" };

				for (int k = 0; k < 3; k++) {
					unsigned outc;

					o.client_pem = k == 2 ? info.foreign_pem : NULL;
					t0 = mono_ns();
					if ((k == 0 ? tlsprobe_plaintext(&o, &r) : tlsprobe_tls(&o, &r)) < 0) {
						outc = OUT_CONNECT_FAILED;
						code = 0;
					} else {
						outc = refusal_outcome(&r, k == 0, &code);
					}
					str_fmt(backend, sizeof(backend), "%.20s/%s", t->workload, kinds[k]);
					row_new(rows, &n, "mtls.enforced", outc, code, backend, "", sec,
						(mono_ns() - t0) / 1000);
				}
			}
			/* the certificate a TLS probe is shown, unless the mesh reads it
			 * from its proxy (a Linkerd inbound shows no probe its identity) */
			if (p->cfg.expiry && !t->cert_from_proxy) {
				o.client_pem = info.client_pem;
				o.ca_path = info.ca;
				t0 = mono_ns();
				if (tlsprobe_tls(&o, &r) == 0 && r.got_server_cert)
					row_new(rows, &n, "identity.expiry", OUT_OK,
						(int)clamp_left(r.server.not_after), t->workload,
						r.server.cn, sec, (mono_ns() - t0) / 1000);
				else
					row_new(rows, &n, "identity.expiry", OUT_TLS_FAILED, 0, t->workload,
						"", sec, (mono_ns() - t0) / 1000);
			}
		}
		if (t->cert_from_proxy && p->cfg.expiry) {
			char cn[TLS_NAME_MAX] = "";
			int64_t na = 0;

			/* a workload no probe can reach (a client's outbound): the
			 * adapter reads the certificate its proxy presents */
			t0 = mono_ns();
			if (p->cfg.mops->workload_cert(p->cfg.mesh, t->workload, cn, sizeof(cn),
						       &na) == 0)
				row_new(rows, &n, "identity.expiry", OUT_OK, (int)clamp_left(na),
					t->workload, cn, sec, (mono_ns() - t0) / 1000);
			else
				row_new(rows, &n, "identity.expiry", OUT_TLS_FAILED, 0, t->workload, "",
					sec, (mono_ns() - t0) / 1000);
		}
	}
	if (n && store_put_batch(p->cfg.store, "conformd.probe", p->cfg.instance, ++p->seq, rows,
				 n) < 0)
		log_kv(LOG_ERROR, "cannot store probe rows", "err=\"%s\"",
		       store_errmsg(p->cfg.store));
out:
	free(rows);
}

static void *probe_main(void *arg)
{
	struct prober *p = arg;

	pthread_mutex_lock(&p->mu);
	while (!p->stop) {
		struct timespec until;
		int64_t ms = p->cfg.interval_ms;

		pthread_mutex_unlock(&p->mu);
		probe_round(p);
		pthread_mutex_lock(&p->mu);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += ms / 1000;
		until.tv_nsec += (ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!p->stop && pthread_cond_timedwait(&p->cv, &p->mu, &until) == 0)
			;
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct prober *probe_start(const struct probe_config *cfg)
{
	struct prober *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->cfg = *cfg;
	if (p->cfg.interval_ms <= 0)
		p->cfg.interval_ms = 2000;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if (pthread_create(&p->thread, NULL, probe_main, p) != 0) {
		pthread_cond_destroy(&p->cv);
		pthread_mutex_destroy(&p->mu);
		free(p);
		return NULL;
	}
	return p;
}

void probe_stop(struct prober *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
