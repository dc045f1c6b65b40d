/*
 * haproxy.c - the local reference mesh: one HAProxy inbound per server
 * and one outbound per client, each workload on its own 127.A.B.n pod
 * address, mTLS between sidecars with a run CA (pki.c), tap lines to
 * conformd through a ring forwarded over TCP (tap.c), state changed at run time through each
 * sidecar's admin socket (lib/haproxy_rt) or, for what HAProxy cannot change
 * at run time, by a gap-free restart with a variant config. Never a reload.
 * What a resumed conformd needs to take a running mesh over is kept in
 * <run>/mesh/state.json, rewritten on every change.
 */
#include "mesh/mesh.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "checks/check.h"
#include "checks/traffic.h"
#include "mesh/haproxy/cfg.h"
#include "mesh/haproxy/rt.h"
#include "mesh/haproxy/pki.h"
#include "mesh/haproxy/tap.h"
#include "mesh/haproxy/tapsrv.h"
#include "base/util.h"

#define APP_PORT 8080
#define NPODS 5
#define MAX_SIDECARS NPODS
#define LIFTED_TIMEOUT_S 60      /* timeout-off: the route timeout becomes this */

struct pod {
	const char *name;
	const char *role;
	unsigned role_bit;
	const char *version;
	int host;                    /* last octet of the pod address */
	int used;                    /* part of this run */
	char ip[32];
	char identity[PKI_NAME_MAX];
	char pem[PATH_MAX];          /* combined cert + key the sidecar loads */
	char app[PLATFORM_ADDR_MAX]; /* servers: where the app listens */
};

enum sc_dir { SC_IN, SC_OUT };

struct sidecar {
	char name[80];               /* platform name: "<workload>.in" / ".out" */
	int pod;
	enum sc_dir dir;
	char cfg[PATH_MAX];
	char sock[PATH_MAX];
	char map[PATH_MAX];
	char listen[PLATFORM_ADDR_MAX];
	int started;
	uint64_t applied_instance;   /* instance holding the runtime state below */
	/* what the sidecar should run with */
	int tap_off, retries_off, timeout_off, skew;
	int mtls_off;                /* inbound: variant config */
	int wrong_pod;               /* outbound: present this pod's cert (-1 = own) */
};

struct mesh {
	pthread_mutex_t mu;
	struct run_config cfg;
	const struct platform_ops *pops;
	struct platform *plat;
	struct store *store;
	char haproxy[PATH_MAX];
	char dir[PATH_MAX];          /* <run>/mesh */
	char pki[PATH_MAX];          /* <run>/pki */
	char tap_addr[PLATFORM_ADDR_MAX];   /* where the sidecars send tap lines */
	struct tapsrv *tap;                 /* the receiver there */
	char net[32];
	struct pki_ca *ca;
	struct pod pods[NPODS];
	struct sidecar sc[MAX_SIDECARS];
	size_t nsc;
	unsigned w_v1, w_v2;         /* configured split weights */
	int has_split, has_grpc;
};

static const struct pod pod_table[NPODS] = {
	{ "http-server", "http-server", ROLE_HTTP_SERVER, "v1", 10, 0, "", "", "", "" },
	{ "http-server-v2", "http-server", ROLE_HTTP_SERVER, "v2", 11, 0, "", "", "", "" },
	{ "grpc-server", "grpc-server", ROLE_GRPC_SERVER, "v1", 12, 0, "", "", "", "" },
	{ "http-client", "http-client", ROLE_HTTP_CLIENT, "", 20, 0, "", "", "", "" },
	{ "grpc-client", "grpc-client", ROLE_GRPC_CLIENT, "", 21, 0, "", "", "", "" },
};
enum { P_HTTP, P_HTTP_V2, P_GRPC, P_HCLIENT, P_GCLIENT };

static int is_server(const struct pod *p)
{
	return (p->role_bit & (ROLE_HTTP_SERVER | ROLE_GRPC_SERVER)) != 0;
}

#define MH_CERT_TIMEOUT_MS 2000
#define MH_REBIND_MS 10000
#define HAPROXY_MISSING \
	"haproxy not found: install the Debian package haproxy (make deps does)"

/* Find the haproxy binary: $CONFORM_HAPROXY, else "haproxy" on $PATH, else
 * /usr/sbin/haproxy. 0 with its absolute path in out, or -1 (-ENOENT). */
static int haproxy_bin(char *out, size_t len)
{
	const char *env = getenv("CONFORM_HAPROXY"), *path = getenv("PATH");
	char buf[PATH_MAX];

	if (env && *env) {
		if (env[0] == '/' && access(env, X_OK) == 0)
			return str_copy(out, len, env) < 0 ? -ENAMETOOLONG : 0;
		return -ENOENT;
	}
	while (path && *path) {
		size_t n = strcspn(path, ":");

		if (n > 0 && path[0] == '/' &&
		    str_fmt(buf, sizeof(buf), "%.*s/haproxy", (int)n, path) == 0 &&
		    access(buf, X_OK) == 0)
			return str_copy(out, len, buf) < 0 ? -ENAMETOOLONG : 0;
		path += n;
		if (*path == ':')
			path++;
	}
	if (access("/usr/sbin/haproxy", X_OK) == 0)
		return str_copy(out, len, "/usr/sbin/haproxy") < 0 ? -ENAMETOOLONG : 0;
	return -ENOENT;
}

static void mh_event(struct mesh *m, const char *kind, const char *subject, const char *detail)
{
	if (m->store && store_put_event(m->store, wall_s(), kind, subject, detail) < 0)
		log_kv(LOG_WARN, "cannot record event", "kind=%s", kind);
}

static int can_bind(const char *ip, int port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	if (fd < 0)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1) {
		close(fd);
		return 0;
	}
	ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

/* A random 127.A.B.0/24 where every pod port is free. */
static int mh_pick_net(struct mesh *m, char *err, size_t errlen)
{
	for (int tries = 0; tries < 64; tries++) {
		int ok = 1;

		str_fmt(m->net, sizeof(m->net), "127.%d.%d", 1 + (int)(rand_u64() % 254),
			(int)(rand_u64() % 256));
		for (int i = 0; i < NPODS && ok; i++) {
			str_fmt(m->pods[i].ip, sizeof(m->pods[i].ip), "%s.%d", m->net,
				m->pods[i].host);
			ok = can_bind(m->pods[i].ip, HCFG_INBOUND_PORT) &&
			     can_bind(m->pods[i].ip, HCFG_OUTBOUND_PORT) &&
			     can_bind(m->pods[i].ip, APP_PORT);
		}
		if (ok)
			return 0;
	}
	str_fmt(err, errlen, "no free 127.x.y.0/24 for the pods after 64 tries");
	return -EADDRINUSE;
}

/* The pods of this run: the workloads the traffic plan uses. */
static int mh_select(struct mesh *m, char *err, size_t errlen)
{
	struct traffic_plan tp;

	if (traffic_plan_make(&m->cfg, 1, &tp) < 0) {
		str_fmt(err, errlen, "the run's checks need more flows than a plan holds");
		return -E2BIG;
	}
	for (int i = 0; i < NPODS; i++)
		m->pods[i].used = traffic_uses(&tp, m->pods[i].name);
	m->has_split = m->pods[P_HTTP_V2].used;
	m->has_grpc = m->pods[P_GRPC].used;
	return 0;
}

/* Issue (or reissue) the leaf of pod i with validity valid_s. */
static int mh_issue(struct mesh *m, int i, int64_t valid_s)
{
	struct pki_leaf_opts o = {
		.workload = m->pods[i].name, .ns = m->cfg.m.ns,
		.trust_domain = m->cfg.m.trust_domain, .valid_s = valid_s,
	};

	return pki_write_workload(m->ca, m->pki, &o);
}

static int mh_pki(struct mesh *m, char *err, size_t errlen)
{
	char p1[PATH_MAX], p2[PATH_MAX];
	struct pki_ca *foreign = NULL;
	struct pki_leaf_opts o = {
		.workload = "conformd", .ns = m->cfg.m.ns, .trust_domain = m->cfg.m.trust_domain,
		.valid_s = m->cfg.m.cert_validity_s,
	};
	int64_t ca_valid = m->cfg.m.cert_validity_s * 4;
	int rc = -EIO;

	if (ca_valid < 7 * 86400)
		ca_valid = 7 * 86400;
	if (mkdir_p(m->pki, 0700) < 0) {
		str_fmt(err, errlen, "mkdir %s: %s", m->pki, strerror(errno));
		return -EIO;
	}
	m->ca = pki_ca_new("conform run ca", ca_valid);
	foreign = pki_ca_new("conform foreign ca", 7 * 86400);
	if (!m->ca || !foreign)
		goto out;
	str_fmt(p1, sizeof(p1), "%s/ca.crt", m->pki);
	str_fmt(p2, sizeof(p2), "%s/ca.key", m->pki);
	if (pki_ca_write(m->ca, p1, p2))
		goto out;
	for (int i = 0; i < NPODS; i++) {
		if (mh_issue(m, i, m->cfg.m.cert_validity_s) ||
		    pki_identity(m->pods[i].name, m->cfg.m.ns, m->cfg.m.trust_domain,
				 m->pods[i].identity, sizeof(m->pods[i].identity)))
			goto out;
		str_fmt(m->pods[i].pem, sizeof(m->pods[i].pem), "%s/%s.pem", m->pki,
			m->pods[i].name);
	}
	/* the probe's own identity, and one from a CA nobody trusts */
	if (pki_write_workload(m->ca, m->pki, &o))
		goto out;
	str_fmt(p1, sizeof(p1), "%s/foreign-ca.crt", m->pki);
	str_fmt(p2, sizeof(p2), "%s/foreign.pem", m->pki);
	o.workload = "http-client";
	if (pki_ca_write(foreign, p1, NULL) || pki_leaf_write(foreign, &o, NULL, NULL, p2))
		goto out;
	rc = 0;
out:
	if (rc)
		str_fmt(err, errlen, "run pki in %s: %s", m->pki, pki_last_error());
	pki_ca_free(foreign);
	return rc;
}

static const char *mh_hdr(const struct mesh *m)
{
	return m->cfg.identity_header[0] ? m->cfg.identity_header : HCFG_IDENTITY_HEADER;
}

/* What every sidecar of s's pod is described with: its name and address,
 * runtime socket, the tap ring, the certificate it presents (the wrong pod's
 * under wrong-identity) and the run CA at ca. */
static void mh_sidecar_desc(const struct mesh *m, const struct sidecar *s, const char *ca,
			    struct hcfg_sidecar *h)
{
	const struct pod *p = &m->pods[s->pod];

	memset(h, 0, sizeof(*h));
	h->name = p->name;
	h->pod_ip = p->ip;
	h->admin_sock = s->sock;
	h->tap_addr = m->tap_addr[0] ? m->tap_addr : NULL;
	h->tap_ring = h->tap_addr != NULL;
	h->tap_off_switch = 1;
	h->crt = s->wrong_pod >= 0 ? m->pods[s->wrong_pod].pem : p->pem;
	h->ca_file = ca;
	h->identity_header = mh_hdr(m);
}

/*
 * Every sidecar logs through the tap ring (see cfg.c for why a ring) and
 * carries the tap-off switch; the faults are fields of the description, so
 * where their directives go is the generator's business alone.
 */
static int mh_write_inbound(struct mesh *m, struct sidecar *s)
{
	struct pod *p = &m->pods[s->pod];
	char ca[PATH_MAX];
	struct hcfg_sidecar h;

	str_fmt(ca, sizeof(ca), "%s/ca.crt", m->pki);
	mh_sidecar_desc(m, s, ca, &h);
	h.app_addr = p->app;
	h.app_proto = p->role_bit == ROLE_GRPC_SERVER ? HCFG_PROTO_H2C : HCFG_PROTO_HTTP1;
	/* mtls-off: no client certificate asked for, no identity passed on */
	h.mtls_off = s->mtls_off;
	return hcfg_write_inbound(&h, s->cfg);
}

static int mh_write_outbound(struct mesh *m, struct sidecar *s)
{
	char ca[PATH_MAX], in[4][PLATFORM_ADDR_MAX], auth[5][96];
	struct hcfg_server v1, split[2], grpc;
	struct hcfg_backend be[5];
	struct hcfg_route rt[5];
	struct hcfg_sidecar h;
	size_t nb = 0;
	const char *ns = m->cfg.m.ns[0] ? m->cfg.m.ns : PKI_DEFAULT_NAMESPACE;
	int retries = m->cfg.m.retry_attempts - 1;

	str_fmt(ca, sizeof(ca), "%s/ca.crt", m->pki);
	for (int i = 0; i < 3; i++)
		str_fmt(in[i], sizeof(in[i]), "%s:%d", m->pods[i].ip, HCFG_INBOUND_PORT);
	v1 = (struct hcfg_server){ "v1", in[P_HTTP], 100, m->pods[P_HTTP].identity };
	split[0] = (struct hcfg_server){ "v1", in[P_HTTP], (int)(m->w_v1 > 256 ? 256 : m->w_v1),
					 m->pods[P_HTTP].identity };
	split[1] = (struct hcfg_server){ "v2", in[P_HTTP_V2], (int)(m->w_v2 > 256 ? 256 : m->w_v2),
					 m->pods[P_HTTP_V2].identity };
	grpc = (struct hcfg_server){ "v1", in[P_GRPC], 100, m->pods[P_GRPC].identity };
	if (retries < 0)
		retries = 0;
	if (retries > 10)
		retries = 10;
	memset(be, 0, sizeof(be));
	memset(rt, 0, sizeof(rt));
	if (m->pods[P_HTTP].used) {
		be[nb++] = (struct hcfg_backend){ .name = "http", .servers = &v1, .n_servers = 1 };
		be[nb++] = (struct hcfg_backend){ .name = "retry", .servers = &v1, .n_servers = 1,
						  .retries = retries, .retries_off_switch = 1 };
		be[nb++] = (struct hcfg_backend){ .name = "timeout", .servers = &v1, .n_servers = 1,
						  .timeout_ms = m->cfg.m.route_timeout_ms,
						  .timeout_off_switch = 1,
						  .lifted_timeout_s = LIFTED_TIMEOUT_S };
	}
	if (m->has_split)
		be[nb++] = (struct hcfg_backend){ .name = "split", .servers = split, .n_servers = 2 };
	if (m->has_grpc)
		be[nb++] = (struct hcfg_backend){ .name = "grpc", .servers = &grpc, .n_servers = 1 };
	for (size_t i = 0; i < nb; i++) {
		str_fmt(auth[i], sizeof(auth[i]), "%s.%s.svc", be[i].name, ns);
		rt[i].authority = auth[i];
		rt[i].backend = be[i].name;
	}
	mh_sidecar_desc(m, s, ca, &h);
	h.map_path = s->map;
	h.routes = rt;
	h.n_routes = nb;
	h.backends = be;
	h.n_backends = nb;
	/* writes the map first: the config names it */
	return hcfg_write_outbound(&h, s->cfg);
}

/* ---- state a resumed conformd needs (mesh/state.json) ---- */

/* Write what a resume needs to take the mesh over: the pod network, the
 * weights and every sidecar's switches. Lock held. */
static void mh_persist(struct mesh *m)
{
	char path[PATH_MAX], *text;
	cJSON *root = cJSON_CreateObject(), *arr;

	if (!root)
		return;
	cJSON_AddNumberToObject(root, "version", 1);
	cJSON_AddStringToObject(root, "net", m->net);
	cJSON_AddStringToObject(root, "tap_addr", m->tap_addr);
	cJSON_AddNumberToObject(root, "w_v1", m->w_v1);
	cJSON_AddNumberToObject(root, "w_v2", m->w_v2);
	arr = cJSON_AddArrayToObject(root, "sidecars");
	for (size_t i = 0; arr && i < m->nsc; i++) {
		const struct sidecar *s = &m->sc[i];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "name", s->name);
		cJSON_AddNumberToObject(o, "started", s->started);
		cJSON_AddNumberToObject(o, "tap_off", s->tap_off);
		cJSON_AddNumberToObject(o, "retries_off", s->retries_off);
		cJSON_AddNumberToObject(o, "timeout_off", s->timeout_off);
		cJSON_AddNumberToObject(o, "skew", s->skew);
		cJSON_AddNumberToObject(o, "mtls_off", s->mtls_off);
		cJSON_AddNumberToObject(o, "wrong_pod", s->wrong_pod);
		cJSON_AddItemToArray(arr, o);
	}
	text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!text)
		return;
	str_fmt(path, sizeof(path), "%s/state.json", m->dir);
	if (file_write_atomic(path, text, strlen(text), 0600) < 0)
		log_kv(LOG_ERROR, "cannot write the mesh state", "path=%s err=\"%s\"", path,
		       strerror(errno));
	free(text);
}

static int mh_jint(const cJSON *o, const char *key, int min, int max, int *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(v) || !(v->valuedouble >= min && v->valuedouble <= max))
		return -1;
	*out = (int)v->valuedouble;
	return 0;
}

/* Read mesh/state.json back (resume): the net, weights and switches. */
static int mh_load_state(struct mesh *m, char *err, size_t errlen)
{
	char path[PATH_MAX], *text;
	const cJSON *net, *tap, *arr, *it;
	cJSON *root;
	size_t len;
	int v1, v2, rc = -EINVAL;
	unsigned a, b;

	str_fmt(path, sizeof(path), "%s/state.json", m->dir);
	text = file_read(path, 1u << 20, &len);
	if (!text) {
		str_fmt(err, errlen, "cannot resume the mesh: %s: %s", path, strerror(errno));
		return -EIO;
	}
	root = cJSON_ParseWithLength(text, len);
	free(text);
	net = cJSON_GetObjectItemCaseSensitive(root, "net");
	tap = cJSON_GetObjectItemCaseSensitive(root, "tap_addr");
	arr = cJSON_GetObjectItemCaseSensitive(root, "sidecars");
	if (!cJSON_IsString(net) || sscanf(net->valuestring, "127.%u.%u", &a, &b) != 2 ||
	    a > 255 || b > 255 || !cJSON_IsString(tap) || !cJSON_IsArray(arr) ||
	    mh_jint(root, "w_v1", 0, 1000, &v1) || mh_jint(root, "w_v2", 0, 1000, &v2)) {
		str_fmt(err, errlen, "cannot resume the mesh: %s is malformed", path);
		goto out;
	}
	str_fmt(m->net, sizeof(m->net), "127.%u.%u", a, b);
	if (strncmp(tap->valuestring, "127.0.0.1:", 10) ||
	    str_copy(m->tap_addr, sizeof(m->tap_addr), tap->valuestring) < 0) {
		str_fmt(err, errlen, "cannot resume the mesh: %s: tap_addr is not a loopback "
			"address", path);
		goto out;
	}
	m->w_v1 = (unsigned)v1;
	m->w_v2 = (unsigned)v2;
	for (int i = 0; i < NPODS; i++)
		str_fmt(m->pods[i].ip, sizeof(m->pods[i].ip), "%s.%d", m->net, m->pods[i].host);
	m->nsc = 0;
	cJSON_ArrayForEach(it, arr) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "name");
		struct sidecar *s = NULL;
		int wp;

		for (int i = 0; i < NPODS && cJSON_IsString(name); i++) {
			struct pod *p = &m->pods[i];
			char nm[80];

			str_fmt(nm, sizeof(nm), "%s.%s", p->name, is_server(p) ? "in" : "out");
			if (p->used && !strcmp(nm, name->valuestring) && m->nsc < MAX_SIDECARS) {
				s = &m->sc[m->nsc++];
				memset(s, 0, sizeof(*s));
				s->pod = i;
				break;
			}
		}
		if (!s || mh_jint(it, "started", 0, 1, &s->started) ||
		    mh_jint(it, "tap_off", 0, 1, &s->tap_off) ||
		    mh_jint(it, "retries_off", 0, 1, &s->retries_off) ||
		    mh_jint(it, "timeout_off", 0, 1, &s->timeout_off) ||
		    mh_jint(it, "skew", 0, 1, &s->skew) || mh_jint(it, "mtls_off", 0, 1, &s->mtls_off) ||
		    mh_jint(it, "wrong_pod", -1, NPODS - 1, &wp)) {
			str_fmt(err, errlen, "cannot resume the mesh: a sidecar in %s is malformed "
				"or not part of this run", path);
			goto out;
		}
		s->wrong_pod = wp;
	}
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

/* The run CA and the pods' identities as a crashed conformd left them. */
static int mh_pki_load(struct mesh *m, char *err, size_t errlen)
{
	char p1[PATH_MAX], p2[PATH_MAX];

	str_fmt(p1, sizeof(p1), "%s/ca.crt", m->pki);
	str_fmt(p2, sizeof(p2), "%s/ca.key", m->pki);
	m->ca = pki_ca_load(p1, p2);
	if (!m->ca) {
		str_fmt(err, errlen, "cannot resume the mesh: run CA in %s: %s", m->pki,
			pki_last_error());
		return -EIO;
	}
	for (int i = 0; i < NPODS; i++) {
		if (pki_identity(m->pods[i].name, m->cfg.m.ns, m->cfg.m.trust_domain,
				 m->pods[i].identity, sizeof(m->pods[i].identity))) {
			str_fmt(err, errlen, "identity of %s: %s", m->pods[i].name, pki_last_error());
			return -EIO;
		}
		str_fmt(m->pods[i].pem, sizeof(m->pods[i].pem), "%s/%s.pem", m->pki,
			m->pods[i].name);
	}
	return 0;
}

static int mh_write(struct mesh *m, struct sidecar *s)
{
	int rc = s->dir == SC_IN ? mh_write_inbound(m, s) : mh_write_outbound(m, s);

	if (rc)
		log_kv(LOG_ERROR, "cannot write sidecar config", "sidecar=%s path=%s err=\"%s\"",
		       s->name, s->cfg, strerror(errno));
	return rc ? -EIO : 0;
}

/*
 * Open the tap receiver on addr. On a resume the sidecars still send to the
 * address of the monitor that died: its socket may linger a moment, so a
 * busy port is retried for MH_REBIND_MS.
 */
static int mh_tap_listen(struct mesh *m, const char *addr, char *err, size_t errlen)
{
	int64_t deadline = mono_ms() + MH_REBIND_MS;
	char bound[PLATFORM_ADDR_MAX];

	for (int tries = 0;; tries++) {
		m->tap = tapsrv_open(addr, bound, sizeof(bound), err, errlen);
		if (m->tap)
			break;
		if (mono_ms() >= deadline)
			return -EADDRINUSE;
		if (!tries)
			log_kv(LOG_WARN, "tap port busy, retrying", "addr=%s for_ms=%d", addr,
			       MH_REBIND_MS);
		nanosleep(&(struct timespec){ 0, 250 * 1000000L }, NULL);
	}
	str_copy(m->tap_addr, sizeof(m->tap_addr), bound);
	return 0;
}

static int mh_prepare(const struct mesh_env *env, struct mesh **out, char *err, size_t errlen)
{
	struct mesh *m;
	int rc;

	m = calloc(1, sizeof(*m));
	if (!m) {
		str_fmt(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&m->mu, NULL);
	m->cfg = *env->cfg;
	m->pops = env->pops;
	m->plat = env->plat;
	m->store = env->store;
	memcpy(m->pods, pod_table, sizeof(m->pods));
	if (haproxy_bin(m->haproxy, sizeof(m->haproxy)) < 0) {
		str_fmt(err, errlen, "%s", HAPROXY_MISSING);
		rc = -ENOENT;
		goto fail;
	}
	m->w_v1 = m->cfg.m.split_v1;
	m->w_v2 = m->cfg.m.split_v2;
	str_fmt(m->dir, sizeof(m->dir), "%s/mesh", m->cfg.run_dir);
	str_fmt(m->pki, sizeof(m->pki), "%s/pki", m->cfg.run_dir);
	if (mkdir_p(m->dir, 0700) < 0) {
		str_fmt(err, errlen, "mkdir %s: %s", m->dir, strerror(errno));
		rc = -EIO;
		goto fail;
	}
	if ((rc = mh_select(m, err, errlen)) < 0)
		goto fail;
	if (env->resume) {
		if ((rc = mh_load_state(m, err, errlen)) < 0 || (rc = mh_pki_load(m, err, errlen)) < 0 ||
		    (rc = mh_tap_listen(m, m->tap_addr, err, errlen)) < 0)
			goto fail;
	} else if ((rc = mh_pick_net(m, err, errlen)) < 0 || (rc = mh_pki(m, err, errlen)) < 0 ||
		   (rc = mh_tap_listen(m, "127.0.0.1:0", err, errlen)) < 0) {
		goto fail;
	}
	for (int i = 0; i < NPODS; i++) {
		struct pod *p = &m->pods[i];
		struct sidecar *s;

		if (is_server(p))
			str_fmt(p->app, sizeof(p->app), "%s:%d", p->ip, APP_PORT);
		if (!p->used)
			continue;
		if (env->resume) {
			s = NULL;
			for (size_t k = 0; k < m->nsc; k++)
				if (m->sc[k].pod == i)
					s = &m->sc[k];
			if (!s) {
				str_fmt(err, errlen, "cannot resume the mesh: no state for the sidecar "
					"of %s", p->name);
				rc = -EINVAL;
				goto fail;
			}
		} else {
			s = &m->sc[m->nsc++];
			s->pod = i;
			s->wrong_pod = -1;
		}
		s->dir = is_server(p) ? SC_IN : SC_OUT;
		str_fmt(s->name, sizeof(s->name), "%s.%s", p->name, s->dir == SC_IN ? "in" : "out");
		str_fmt(s->cfg, sizeof(s->cfg), "%s/%s.cfg", m->dir, s->name);
		str_fmt(s->sock, sizeof(s->sock), "%s/%s.sock", m->dir, s->name);
		str_fmt(s->map, sizeof(s->map), "%s/%s.map", m->dir, s->name);
		str_fmt(s->listen, sizeof(s->listen), "%s:%d", p->ip,
			s->dir == SC_IN ? HCFG_INBOUND_PORT : HCFG_OUTBOUND_PORT);
		if (strlen(s->sock) >= 100) {
			str_fmt(err, errlen, "run directory path too long for a unix socket (%s)",
				s->sock);
			rc = -ENAMETOOLONG;
			goto fail;
		}
		/* resume: the running sidecar was started from the config there */
		if ((!env->resume || access(s->cfg, R_OK) != 0) && mh_write(m, s) < 0) {
			str_fmt(err, errlen, "cannot write the config of sidecar %s", s->name);
			rc = -EIO;
			goto fail;
		}
	}
	mh_persist(m);
	log_kv(LOG_INFO, env->resume ? "mesh resumed" : "mesh prepared",
	       "mesh=haproxy net=%s.0/24 haproxy=%s sidecars=%zu tap=%s",
	       m->net, m->haproxy, m->nsc, m->tap_addr[0] ? m->tap_addr : "-");
	*out = m;
	return 0;
fail:
	tapsrv_close(m->tap);
	pki_ca_free(m->ca);
	pthread_mutex_destroy(&m->mu);
	free(m);
	return rc;
}

/*
 * The run's workloads behind their sidecars: what traffic each client sends
 * comes from the traffic plan (lib/checks/traffic.c); the mesh only says
 * where: every flow goes to the client's own outbound, with the route's
 * authority (<route>.<ns>.svc) the outbound's map routes on.
 */
static int mh_plan(struct mesh *m, struct mesh_plan *out, char *err, size_t errlen)
{
	const struct run_config *c = &m->cfg;
	const char *ns = c->m.ns[0] ? c->m.ns : PKI_DEFAULT_NAMESPACE;
	struct traffic_plan tp;
	char base[96], authority[128];

	memset(out, 0, sizeof(*out));
	if (traffic_plan_make(c, 1, &tp) < 0) {
		str_fmt(err, errlen, "the run's checks need more flows than a plan holds");
		return -E2BIG;
	}
	for (int i = 0; i < NPODS; i++) {
		struct pod *p = &m->pods[i];
		struct workload_spec *w;

		if (!p->used)
			continue;
		w = &out->w[out->n++];
		str_copy(w->name, sizeof(w->name), p->name);
		str_copy(w->role, sizeof(w->role), p->role);
		w->role_bit = p->role_bit;
		str_copy(w->version, sizeof(w->version), p->version);
		str_copy(w->identity_header, sizeof(w->identity_header), mh_hdr(m));
		if (is_server(p)) {
			str_copy(w->listen, sizeof(w->listen), p->app);
			continue;
		}
		str_fmt(base, sizeof(base), "%s:%d", p->ip, HCFG_OUTBOUND_PORT);
		for (size_t k = 0; k < tp.nflows; k++) {
			const struct traffic_flow *f = &tp.flows[k];

			if (strcmp(f->client, p->name))
				continue;
			str_fmt(authority, sizeof(authority), "%s.%s.svc", f->route, ns);
			if (w->nflows >= PLATFORM_MAX_FLOWS ||
			    traffic_flow_spec(f, base, authority, w->flows[w->nflows],
					      PLATFORM_FLOW_MAX) < 0) {
				str_fmt(err, errlen, "a flow spec is too long");
				return -E2BIG;
			}
			w->nflows++;
		}
		if (w->nflows == 0)
			out->n--;   /* a client without flows has nothing to do */
	}
	return 0;
}

static struct sidecar *mh_sidecar_of(struct mesh *m, const char *workload)
{
	for (size_t i = 0; i < m->nsc; i++)
		if (!strcmp(m->pods[m->sc[i].pod].name, workload))
			return &m->sc[i];
	return NULL;
}

static int mh_start_sidecars(struct mesh *m, struct workload_spec *w, char *err, size_t errlen)
{
	struct workload_spec s;
	struct sidecar *sc;
	int rc;

	pthread_mutex_lock(&m->mu);
	sc = mh_sidecar_of(m, w->name);
	if (!sc || sc->started) {
		pthread_mutex_unlock(&m->mu);
		return 0;
	}
	memset(&s, 0, sizeof(s));
	str_copy(s.name, sizeof(s.name), sc->name);
	str_copy(s.role, sizeof(s.role), sc->dir == SC_IN ? "sidecar-in" : "sidecar-out");
	s.role_bit = PLATFORM_ROLE_SIDECAR;
	s.ncommand = 4;
	str_copy(s.command[0], sizeof(s.command[0]), m->haproxy);
	str_copy(s.command[1], sizeof(s.command[1]), "-db");
	str_copy(s.command[2], sizeof(s.command[2]), "-f");
	if (str_copy(s.command[3], sizeof(s.command[3]), sc->cfg) < 0) {
		pthread_mutex_unlock(&m->mu);
		str_fmt(err, errlen, "sidecar config path too long");
		return -ENAMETOOLONG;
	}
	str_copy(s.ready_connect, sizeof(s.ready_connect), sc->listen);
	rc = m->pops->start(m->plat, &s, err, errlen);
	if (rc == 0) {
		sc->started = 1;
		mh_persist(m);
	}
	pthread_mutex_unlock(&m->mu);
	return rc;
}

static const char *mh_identity_header(struct mesh *m)
{
	return mh_hdr(m);
}

static int mh_route(struct mesh *m, const char *server, const char *server_addr, char *out,
		    size_t len)
{
	(void)m;
	(void)server;
	return str_copy(out, len, server_addr) < 0 ? -ENAMETOOLONG : 0;
}

/* `experimental-mode on; set var proc.NAME int(V)`: an empty answer is success. */
static int mh_set_var(const char *sock, const char *name, int v)
{
	struct dynbuf b = DYNBUF_INIT(4096);
	char cmd[160];
	int rc;

	str_fmt(cmd, sizeof(cmd), "experimental-mode on; set var proc.%s int(%d)", name, v);
	rc = hrt_cmd(sock, cmd, 0, &b);
	if (rc == 0) {
		for (size_t i = 0; i < b.len; i++)
			if (b.buf[i] > ' ') {
				rc = -1;
				break;
			}
	}
	if (rc)
		log_kv(LOG_WARN, "runtime set var failed", "sock=%s var=%s err=\"%.*s\"", sock, name,
		       (int)(b.len > 120 ? 120 : b.len), b.buf ? b.buf : hrt_last_error());
	dynbuf_release(&b);
	return rc;
}

/* Push the runtime state sc should have. Lock held. */
/*
 * The weights split-skew puts in force: always different from what the
 * configuration (and the scheduled shift) says now, so the split checks must
 * see it: 50/50, or the initial weights once 50/50 is what is in force (a
 * shift that "did not happen"), or 90/10 when those are equal too.
 */
static void mh_skew_weights(const struct mesh *m, unsigned *v1, unsigned *v2)
{
	if (m->w_v1 != m->w_v2) {
		*v1 = 50;
		*v2 = 50;
	} else if (m->cfg.m.split_v1 != m->cfg.m.split_v2) {
		*v1 = m->cfg.m.split_v1;
		*v2 = m->cfg.m.split_v2;
	} else {
		*v1 = 90;
		*v2 = 10;
	}
}

static int mh_apply(struct mesh *m, struct sidecar *s)
{
	int rc = 0;

	rc |= mh_set_var(s->sock, HCFG_VAR_TAP_OFF, s->tap_off);
	if (s->dir == SC_OUT) {
		if (m->pods[P_HTTP].used) {
			rc |= mh_set_var(s->sock, HCFG_VAR_RETRIES_OFF, s->retries_off);
			rc |= mh_set_var(s->sock, HCFG_VAR_TIMEOUT_OFF, s->timeout_off);
		}
		if (m->has_split) {
			unsigned sv1, sv2;
			int v1, v2;

			mh_skew_weights(m, &sv1, &sv2);
			v1 = (int)(s->skew ? sv1 : m->w_v1);
			v2 = (int)(s->skew ? sv2 : m->w_v2);
			rc |= hrt_set_weight(s->sock, "be_split", "v1", v1 > 256 ? 256 : v1);
			rc |= hrt_set_weight(s->sock, "be_split", "v2", v2 > 256 ? 256 : v2);
		}
	}
	return rc ? -EIO : 0;
}

/* The instance of s that runs now, or 0 when it is not up. */
static uint64_t mh_instance(struct mesh *m, struct sidecar *s)
{
	struct workload_addr a;

	if (!s->started || m->pops->addresses(m->plat, s->name, &a) < 0)
		return 0;
	return a.instance;
}

static void mh_tick(struct mesh *m)
{
	pthread_mutex_lock(&m->mu);
	for (size_t i = 0; i < m->nsc; i++) {
		struct sidecar *s = &m->sc[i];
		uint64_t pid = mh_instance(m, s);

		if (pid > 0 && pid != s->applied_instance) {
			if (mh_apply(m, s) == 0) {
				if (s->applied_instance)
					log_kv(LOG_INFO, "runtime state re-applied", "sidecar=%s pid=%d",
					       s->name, (int)pid);
				s->applied_instance = pid;
			}
		}
	}
	pthread_mutex_unlock(&m->mu);
}

static int mh_configure(struct mesh *m, const struct mesh_feature *f, char *err, size_t errlen)
{
	char detail[64];
	int rc = 0;

	if (f->kind != MESH_SPLIT) {
		str_fmt(err, errlen, "the haproxy mesh is configured from run.json at start");
		return -ENOTSUP;
	}
	if (!m->has_split || f->nbackends != 2) {
		str_fmt(err, errlen, "no split route in this run");
		return -EINVAL;
	}
	pthread_mutex_lock(&m->mu);
	m->w_v1 = f->weights[0];
	m->w_v2 = f->weights[1];
	for (size_t i = 0; i < m->nsc; i++) {
		struct sidecar *s = &m->sc[i];

		if (s->dir == SC_OUT && mh_instance(m, s) > 0 && mh_apply(m, s) < 0) {
			str_fmt(err, errlen, "runtime API of %s: %s", s->name, hrt_last_error());
			rc = -EIO;
		}
	}
	mh_persist(m);
	pthread_mutex_unlock(&m->mu);
	str_fmt(detail, sizeof(detail), "v1=%u v2=%u", f->weights[0], f->weights[1]);
	mh_event(m, "split.set", "split.conform.svc", detail);
	return rc;
}

/* Find the pod of a workload name. */
static int mh_pod(struct mesh *m, const char *name)
{
	for (int i = 0; i < NPODS; i++)
		if (m->pods[i].used && !strcmp(m->pods[i].name, name))
			return i;
	return -1;
}

/* Rewrite s's config and restart it without a gap. Lock held. */
static int mh_reconfigure(struct mesh *m, struct sidecar *s, char *err, size_t errlen)
{
	int rc = mh_write(m, s);

	if (rc == 0)
		rc = m->pops->restart(m->plat, s->name);
	if (rc < 0)
		str_fmt(err, errlen, "cannot restart sidecar %s with its new config (%s)", s->name,
			strerror(-rc));
	return rc;
}

static int mh_fault(struct mesh *m, const struct mesh_fault *f, int on, char *err, size_t errlen)
{
	const struct fault_kind_info *fi = fault_kind_info(f->kind);
	const char *k = fault_kind_name(f->kind);
	int pi = mh_pod(m, f->target), rc = 0;
	struct sidecar *s;

	if (pi < 0) {
		str_fmt(err, errlen, "target: no meshed workload named %s in this run", f->target);
		return -ENOENT;
	}
	pthread_mutex_lock(&m->mu);
	s = mh_sidecar_of(m, f->target);
	if (!s || !s->started) {
		str_fmt(err, errlen, "target: %s has no sidecar running", f->target);
		rc = -EAGAIN;
		goto out;
	}
	if (!fi || fi->by != FAULT_BY_MESH) {
		str_fmt(err, errlen, "kind: %s is not a mesh fault", fault_kind_name(f->kind));
		rc = -EINVAL;
		goto out;
	}
	if (!(fi->targets & (s->dir == SC_IN ? FAULT_T_SERVER : FAULT_T_CLIENT))) {
		str_fmt(err, errlen, "target: %s is a %s; %s needs a %s", f->target,
			s->dir == SC_IN ? "server" : "client", k,
			s->dir == SC_IN ? "client" : "server");
		rc = -EINVAL;
		goto out;
	}
	switch (f->kind) {
	case FAULT_MTLS_OFF:
		s->mtls_off = on;
		rc = mh_reconfigure(m, s, err, errlen);
		break;
	case FAULT_WRONG_IDENTITY:
		s->wrong_pod = on ? (pi == P_HCLIENT ? P_GCLIENT : P_HCLIENT) : -1;
		rc = mh_reconfigure(m, s, err, errlen);
		break;
	case FAULT_CERT_EXPIRING: {
		int64_t short_s = m->cfg.m.expiry_threshold_s / 2;

		if (short_s < 60)
			short_s = 60;
		if (mh_issue(m, pi, on ? short_s : m->cfg.m.cert_validity_s) < 0) {
			str_fmt(err, errlen, "cannot reissue the certificate of %s: %s", f->target,
				pki_last_error());
			rc = -EIO;
			goto out;
		}
		rc = mh_reconfigure(m, s, err, errlen);
		break;
	}
	case FAULT_SIDECAR_KILL:
		if (on) {
			rc = m->pops->kill(m->plat, s->name, SIGKILL);
			if (rc < 0)
				str_fmt(err, errlen, "sidecar %s is not running", s->name);
		}
		break;
	case FAULT_TAP_OFF:
	case FAULT_RETRIES_OFF:
	case FAULT_TIMEOUT_OFF:
	case FAULT_SPLIT_SKEW:
		if (f->kind == FAULT_TAP_OFF)
			s->tap_off = on;
		else if (f->kind == FAULT_RETRIES_OFF)
			s->retries_off = on;
		else if (f->kind == FAULT_TIMEOUT_OFF)
			s->timeout_off = on;
		else if (!m->has_split) {
			str_fmt(err, errlen, "split-skew: no split route in this run");
			rc = -EINVAL;
			goto out;
		} else {
			char detail[64];
			unsigned sv1, sv2;

			mh_skew_weights(m, &sv1, &sv2);
			s->skew = on;
			str_fmt(detail, sizeof(detail), "v1=%u v2=%u", on ? sv1 : m->w_v1,
				on ? sv2 : m->w_v2);
			mh_event(m, "split.set", "split.conform.svc", detail);
		}
		if (mh_instance(m, s) > 0 && mh_apply(m, s) < 0) {
			str_fmt(err, errlen, "runtime API of %s: %s", s->name, hrt_last_error());
			rc = -EIO;
		}
		break;
	default:
		str_fmt(err, errlen, "kind: %s is not a mesh fault", k);
		rc = -EINVAL;
	}
	mh_persist(m);
out:
	pthread_mutex_unlock(&m->mu);
	return rc;
}

static int mh_inject(struct mesh *m, const struct mesh_fault *f, char *err, size_t errlen)
{
	return mh_fault(m, f, 1, err, errlen);
}

static int mh_revert(struct mesh *m, const struct mesh_fault *f, char *err, size_t errlen)
{
	return mh_fault(m, f, 0, err, errlen);
}

/* The receiver is open since prepare: the sidecars' configs name it. */
static int mh_tap_open(struct mesh *m, char *err, size_t errlen)
{
	if (!m->tap) {
		str_fmt(err, errlen, "the tap receiver is not open");
		return -EIO;
	}
	return 0;
}

struct mh_tap_ctx {
	mesh_tap_cb cb;
	void *ctx;
};

/* A sidecar's log record as a mesh tap line (connection errors are no
 * requests: not handed over). */
static void mh_tap_record(const struct tap_record *rec, void *arg)
{
	struct mh_tap_ctx *c = arg;
	struct mesh_tap_line l;

	if (rec->kind != TAP_KIND_REQUEST)
		return;
	memset(&l, 0, sizeof(l));
	l.ts = (double)rec->ts_us / 1e6;
	l.dir = rec->dir == TAP_DIR_OUT ? MESH_TAP_OUT : MESH_TAP_IN;
	str_copy(l.request_id, sizeof(l.request_id), rec->request_id);
	str_copy(l.method, sizeof(l.method), rec->method);
	str_copy(l.path, sizeof(l.path), rec->path);
	str_copy(l.src, sizeof(l.src), rec->src);
	str_copy(l.dst, sizeof(l.dst), rec->dst);
	str_copy(l.identity, sizeof(l.identity), rec->client_id);
	str_copy(l.peer_id, sizeof(l.peer_id), rec->server_id);
	l.status = rec->status;
	l.latency_us = rec->latency_ms >= 0 ? rec->latency_ms * 1000 : 0;
	c->cb(&l, c->ctx);
}

static int mh_tap_read(struct mesh *m, int timeout_ms, mesh_tap_cb cb, void *ctx)
{
	struct mh_tap_ctx c = { cb, ctx };

	if (!m->tap)
		return -EIO;
	return tapsrv_poll(m->tap, timeout_ms, mh_tap_record, &c);
}

static void mh_tap_stats(struct mesh *m, struct mesh_tap_stats *out)
{
	struct tap_stats ts;

	tapsrv_stats(m->tap, &ts);
	out->received = ts.datagrams;
	out->parsed = ts.parsed;
	out->rejected = ts.rejected;
}

static int mh_identity_of(struct mesh *m, const char *name, char *out, size_t len)
{
	return pki_identity(name, m->cfg.m.ns, m->cfg.m.trust_domain, out, len) < 0 ? -EINVAL : 0;
}

static int mh_probe_info(struct mesh *m, struct mesh_probe_info *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&m->mu);
	str_fmt(out->ca, sizeof(out->ca), "%s/ca.crt", m->pki);
	str_fmt(out->client_pem, sizeof(out->client_pem), "%s/conformd.pem", m->pki);
	str_fmt(out->foreign_pem, sizeof(out->foreign_pem), "%s/foreign.pem", m->pki);
	for (size_t i = 0; i < m->nsc && out->n < ARRAY_SIZE(out->t); i++) {
		struct sidecar *s = &m->sc[i];
		struct mesh_probe_target *t;
		struct pod *p = &m->pods[s->pod];

		if (!s->started)
			continue;   /* a client without flows runs no sidecar either */
		t = &out->t[out->n++];

		str_copy(t->workload, sizeof(t->workload), p->name);
		if (s->dir == SC_IN) {
			str_copy(t->inbound, sizeof(t->inbound), s->listen);
		} else {
			t->cert_from_proxy = 1;
		}
	}
	pthread_mutex_unlock(&m->mu);
	return 0;
}

/* An outbound's certificate: what its runtime API says of the crt file it
 * loaded (the wrong pod's under wrong-identity). */
static int mh_workload_cert(struct mesh *m, const char *name, char *cn, size_t cnlen,
			    int64_t *not_after)
{
	struct dynbuf b = DYNBUF_INIT(64 * 1024);
	char sock[PATH_MAX], cmd[PATH_MAX + 32];
	struct sidecar *s;
	int rc;

	pthread_mutex_lock(&m->mu);
	s = mh_sidecar_of(m, name);
	if (!s || s->dir != SC_OUT) {
		pthread_mutex_unlock(&m->mu);
		return -ENOENT;
	}
	str_copy(sock, sizeof(sock), s->sock);
	str_fmt(cmd, sizeof(cmd), "show ssl cert %s",
		s->wrong_pod >= 0 ? m->pods[s->wrong_pod].pem : m->pods[s->pod].pem);
	pthread_mutex_unlock(&m->mu);
	rc = hrt_cmd(sock, cmd, MH_CERT_TIMEOUT_MS, &b) == 0 && b.buf &&
	     hrt_parse_show_cert(b.buf, cn, cnlen, not_after) == 0 ? 0 : -EIO;
	dynbuf_release(&b);
	return rc;
}

static void mh_release(struct mesh *m)
{
	if (!m)
		return;
	tapsrv_close(m->tap);
	pki_ca_free(m->ca);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

static int mh_check_deps(char *err, size_t errlen)
{
	char path[PATH_MAX];

	if (haproxy_bin(path, sizeof(path)) == 0)
		return 0;
	str_fmt(err, errlen, "%s", HAPROXY_MISSING);
	return -ENOENT;
}

/* What each check rests on with HAProxy sidecars (`conform checks --mesh
 * haproxy`): the app's view and the sidecars'. */
static const struct {
	const char *id, *line;
} evidence[] = {
	{ "http.basic", "client outcomes through the client's outbound and the server's inbound" },
	{ "grpc.basic", "client outcomes of unary calls through both sidecars (h2 + mTLS)" },
	{ "grpc.stream", "the client's stream echoes and resets through both sidecars" },
	{ "mtls.identity", "l5d-client-id as the servers saw it, set by the inbound from the "
	  "verified client certificate of the run CA" },
	{ "mtls.enforced", "conformd's probes of every inbound: plaintext, no client "
	  "certificate, a foreign CA's certificate" },
	{ "retry.http", "attempt numbers the server saw; the outbound's retry-on and retries" },
	{ "split.weights", "backend versions in the answers; the outbound's server weights" },
	{ "split.shift", "backend versions after the weights change over the outbound's "
	  "runtime API" },
	{ "tap.live", "the suite's request ids in every sidecar's tap line (log ring to "
	  "conformd)" },
	{ "timeout.http", "504 from the client's outbound by the route timeout + slack" },
	{ "identity.expiry", "the certificate each inbound presents to a TLS probe and the one "
	  "each outbound loaded (runtime API show ssl cert)" },
};

static int mh_evidence(const char *check_id, const char **line)
{
	*line = NULL;
	for (size_t i = 0; check_id && i < ARRAY_SIZE(evidence); i++)
		if (!strcmp(evidence[i].id, check_id)) {
			*line = evidence[i].line;
			return 0;
		}
	return -ENOENT;
}

const struct mesh_ops mesh_haproxy = {
	.name = "haproxy",
	.caps = MESH_CAP_PROXIES | MESH_CAP_PLAN | MESH_CAP_IDENTITY | MESH_CAP_TAP |
		MESH_CAP_PROBES | MESH_CAP_WEIGHTS,
	.faults = 1u << FAULT_MTLS_OFF | 1u << FAULT_WRONG_IDENTITY | 1u << FAULT_RETRIES_OFF |
		  1u << FAULT_SPLIT_SKEW | 1u << FAULT_TAP_OFF | 1u << FAULT_TIMEOUT_OFF |
		  1u << FAULT_SIDECAR_KILL | 1u << FAULT_CERT_EXPIRING,
	.check_deps = mh_check_deps,
	.prepare = mh_prepare,
	.plan = mh_plan,
	.start_sidecars = mh_start_sidecars,
	.identity_header = mh_identity_header,
	.route = mh_route,
	.configure = mh_configure,
	.tap_open = mh_tap_open,
	.tap_read = mh_tap_read,
	.tap_stats = mh_tap_stats,
	.identity_of = mh_identity_of,
	.inject_fault = mh_inject,
	.revert_fault = mh_revert,
	.tick = mh_tick,
	.probe_info = mh_probe_info,
	.workload_cert = mh_workload_cert,
	.release = mh_release,
	.evidence = mh_evidence,
};
