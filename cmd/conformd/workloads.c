/*
 * workloads.c - conformd starts the run's workloads: by the mesh's plan
 * (servers behind their sidecars, then clients) or, for a mesh that plans
 * nothing, by the spine of the traffic plan (lib/checks/traffic.c), and
 * waits for each to be ready with a bounded deadline and a clear error.
 */
#include "conformd.h"
#include "checks/traffic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The last line of a log file, for error messages. */
static void log_tail(const char *path, char *out, size_t len)
{
	char *text = NULL, *p, *end;
	size_t n = 0;
	int fd;
	off_t size;

	out[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size > 0) {
		off_t from = size > 1024 ? size - 1024 : 0;

		text = calloc(1, 1025);
		if (text && pread(fd, text, (size_t)(size - from), from) > 0)
			n = strlen(text);
	}
	close(fd);
	if (!n) {
		free(text);
		return;
	}
	end = text + n;
	while (end > text && (end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	p = strrchr(text, '\n');
	str_copy(out, len, p ? p + 1 : text);
	free(text);
}

/* Wait until every named workload has written its ready file. */
static int wait_ready(struct daemon *d, const char *const *names, size_t n,
		      struct workload_addr *addrs, char *err, size_t errlen)
{
	int64_t deadline = mono_ms() + READY_TIMEOUT_MS;
	size_t i, ready;

	for (;;) {
		ready = 0;
		d->pops->poll(d->plat);
		for (i = 0; i < n; i++)
			if (d->pops->addresses(d->plat, names[i], &addrs[i]) == 0)
				ready++;
		if (ready == n)
			return 0;
		if (atomic_load(&d->stop_requested)) {
			str_fmt(err, errlen, "stopped while starting the workloads");
			return -1;
		}
		if (mono_ms() >= deadline)
			break;
		daemon_wait_tick(d, 50);
	}
	for (i = 0; i < n; i++) {
		char logp[PATH_MAX] = "", tail[256];
		struct workload_status ws[PLATFORM_MAX_WORKLOADS];
		size_t k, nw;
		unsigned restarts = 0;

		if (d->pops->addresses(d->plat, names[i], &addrs[i]) == 0)
			continue;
		nw = d->pops->list(d->plat, ws, ARRAY_SIZE(ws));
		for (k = 0; k < nw; k++)
			if (!strcmp(ws[k].name, names[i]))
				restarts = ws[k].restarts;
		d->pops->log_path(d->plat, names[i], logp, sizeof(logp));
		log_tail(logp, tail, sizeof(tail));
		str_fmt(err, errlen, "workload %s did not become ready within %ds (%u restarts); "
			"see %s%s%s", names[i], READY_TIMEOUT_MS / 1000, restarts, logp,
			tail[0] ? ", last line: " : "", tail);
		break;
	}
	return -1;
}

static int start_one(struct daemon *d, struct workload_spec *w, char *err, size_t errlen)
{
	int rc = d->mops->start_sidecars(d->mesh, w, err, errlen);

	if (rc < 0)
		return rc;
	return d->pops->start(d->plat, w, err, errlen);
}

/* Wait until everything started so far (workloads and sidecars) is ready. */
static int wait_all_ready(struct daemon *d, char *err, size_t errlen)
{
	struct workload_status ws[PLATFORM_MAX_WORKLOADS];
	struct workload_addr addrs[PLATFORM_MAX_WORKLOADS];
	const char *names[PLATFORM_MAX_WORKLOADS];
	size_t n = d->pops->list(d->plat, ws, ARRAY_SIZE(ws)), i;

	for (i = 0; i < n; i++)
		names[i] = ws[i].name;
	return wait_ready(d, names, n, addrs, err, errlen);
}

/*
 * The mesh's topology: servers behind their inbounds first, then the clients
 * behind their outbounds. A group's sidecars are ready before its workloads
 * start (a client must not find its outbound closed), and everything is
 * ready before the next group starts.
 */
static int start_planned(struct daemon *d, struct mesh_plan *plan, char *err, size_t errlen)
{
	size_t i;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		unsigned want = pass == 0 ? SERVER_ROLES : CLIENT_ROLES;

		for (i = 0; i < plan->n; i++)
			if ((plan->w[i].role_bit & want) &&
			    d->mops->start_sidecars(d->mesh, &plan->w[i], err, errlen) < 0)
				return -1;
		if (wait_all_ready(d, err, errlen) < 0)
			return -1;
		for (i = 0; i < plan->n; i++)
			if ((plan->w[i].role_bit & want) &&
			    d->pops->start(d->plat, &plan->w[i], err, errlen) < 0)
				return -1;
		if (wait_all_ready(d, err, errlen) < 0)
			return -1;
	}
	for (i = 0; i < plan->n; i++)
		log_kv(LOG_INFO, "workload ready", "name=%s listen=%s flows=%zu", plan->w[i].name,
		       plan->w[i].listen[0] ? plan->w[i].listen : "-", plan->w[i].nflows);
	return 0;
}

/*
 * The spine topology, for a mesh that does not plan its own: the servers of
 * the traffic plan first, then its clients with their flows, pointed at the
 * servers through the mesh's route (lib/checks/traffic.c decides both).
 */
int daemon_start_workloads(struct daemon *d, char *err, size_t errlen)
{
	const struct run_config *c = &d->cfg;
	struct workload_spec w;
	struct workload_addr addrs[PLATFORM_MAX_WORKLOADS];
	const char *servers[PLATFORM_MAX_WORKLOADS], *clients[PLATFORM_MAX_WORKLOADS];
	char routes[PLATFORM_MAX_WORKLOADS][PLATFORM_ADDR_MAX];
	size_t ns = 0, nc = 0, i, k;
	struct traffic_plan tp;
	struct mesh_plan *plan = calloc(1, sizeof(*plan));
	int rc;

	if (!plan) {
		str_fmt(err, errlen, "out of memory");
		return -1;
	}
	rc = d->mops->plan(d->mesh, plan, err, errlen);
	if (rc != -ENOTSUP) {
		if (rc == 0) {
			d->meshed = 1;
			rc = start_planned(d, plan, err, errlen);
		}
		free(plan);
		return rc < 0 ? -1 : 0;
	}
	free(plan);
	if (traffic_plan_make(c, mesh_is_none(c->mesh) ? 0 : 1, &tp) < 0) {
		str_fmt(err, errlen, "the run's checks need more flows than a plan holds");
		return -1;
	}
	for (i = 0; i < traffic_nworkloads; i++) {
		const struct traffic_workload *tw = &traffic_workloads[i];

		if (!(tp.used & (1u << i)) || !(tw->role_bit & SERVER_ROLES))
			continue;
		/* one version per service without a mesh: nothing would split */
		if (strcmp(tw->version, "v1"))
			continue;
		memset(&w, 0, sizeof(w));
		str_copy(w.name, sizeof(w.name), tw->name);
		str_copy(w.role, sizeof(w.role), tw->role);
		w.role_bit = tw->role_bit;
		str_copy(w.version, sizeof(w.version), tw->version);
		str_copy(w.listen, sizeof(w.listen), "127.0.0.1:0");
		str_copy(w.identity_header, sizeof(w.identity_header),
			 d->mops->identity_header(d->mesh));
		if (start_one(d, &w, err, errlen) < 0)
			return -1;
		servers[ns++] = tw->name;
	}
	if (ns && wait_ready(d, servers, ns, addrs, err, errlen) < 0)
		return -1;
	for (i = 0; i < ns; i++) {
		if (!addrs[i].listen[0]) {
			str_fmt(err, errlen, "workload %s: ready file has no listen address",
				servers[i]);
			return -1;
		}
		if (d->mops->route(d->mesh, servers[i], addrs[i].listen, routes[i],
				   PLATFORM_ADDR_MAX) < 0) {
			str_fmt(err, errlen, "no route to %s", servers[i]);
			return -1;
		}
		log_kv(LOG_INFO, "server ready", "name=%s listen=%s admin=%s", servers[i],
		       addrs[i].listen, addrs[i].admin);
	}
	for (i = 0; i < traffic_nworkloads; i++) {
		const struct traffic_workload *tw = &traffic_workloads[i];

		if (!(tp.used & (1u << i)) || !(tw->role_bit & CLIENT_ROLES))
			continue;
		memset(&w, 0, sizeof(w));
		str_copy(w.name, sizeof(w.name), tw->name);
		str_copy(w.role, sizeof(w.role), tw->role);
		w.role_bit = tw->role_bit;
		for (k = 0; k < tp.nflows; k++) {
			const struct traffic_flow *f = &tp.flows[k];
			size_t s;

			if (strcmp(f->client, tw->name))
				continue;
			for (s = 0; s < ns && strcmp(servers[s], f->server); s++)
				;
			if (s == ns || w.nflows >= PLATFORM_MAX_FLOWS ||
			    traffic_flow_spec(f, routes[s], NULL, w.flows[w.nflows],
					      PLATFORM_FLOW_MAX) < 0) {
				str_fmt(err, errlen, "cannot give %s its %s flow", tw->name, f->check);
				return -1;
			}
			w.nflows++;
		}
		if (!w.nflows)
			continue;
		if (start_one(d, &w, err, errlen) < 0)
			return -1;
		clients[nc++] = tw->name;
	}
	if (nc && wait_ready(d, clients, nc, addrs, err, errlen) < 0)
		return -1;
	return 0;
}
