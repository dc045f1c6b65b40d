/*
 * main.c - conformd, the monitor of one run: wires the store, the collector,
 * the API and the workloads (through the platform and mesh adapters), runs
 * the single-threaded main loop (supervise, expire faults, evaluate windows)
 * and the finish sequence of docs/internals.md "conformd". Under a mesh that
 * plans the topology (haproxy) it also runs the sidecars, the tap receiver,
 * the probes and the scheduled split shift.
 *
 * Crash safety: the run's clock is monotonic (state.h), a heartbeat file is
 * written every second, and `--resume` takes over a run whose conformd died:
 * same collector port, same store, the running workloads and sidecars
 * adopted, a monitor.gap event for the time nobody watched.
 */
#include "checks/check.h"
#include "conformd.h"
#include "checks/traffic.h"
#include "eval/evaluate.h"
#include "report/report.h"
#include "config/state.h"
#include "base/util.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXIT_USAGE 2
#define EXIT_ENV 3
#define TICK_MS 200
#define EVAL_GRACE_S 3.0
#define READY_TIMEOUT_MS 20000
#define CLIENT_STOP_MS 15000
#define SERVER_STOP_MS 5000
#define ALL_ROLES (ROLE_HTTP_SERVER | ROLE_GRPC_SERVER | ROLE_HTTP_CLIENT | ROLE_GRPC_CLIENT)
#define CLIENT_ROLES (ROLE_HTTP_CLIENT | ROLE_GRPC_CLIENT)
#define SERVER_ROLES (ROLE_HTTP_SERVER | ROLE_GRPC_SERVER)
#define SIDECAR_STOP_MS 5000
#define PROBE_INTERVAL_MS 2000
#define HEARTBEAT_MS 1000
#define REBIND_MS 15000          /* resume: the old ports may sit in TIME_WAIT */
/* resume: the clients reconnect with a backoff of at most 5 s, then resend
 * what was not acked; evaluate after that so their windows are complete */
#define RESUME_EVAL_HOLD_MS 8000
#define STORE_ERROR_LOG_MS 5000
#define PRUNE_EVERY_MS 10000     /* rows past the retention period go this often */
#define PRUNE_MAX_ROWS 50000     /* ... at most this many a time, in chunks */

static struct daemon *the_daemon; /* for the signal handler only */
static volatile sig_atomic_t last_signal;

const char *daemon_state_name(enum daemon_state s)
{
	switch (s) {
	case DS_STARTING: return "starting";
	case DS_RUNNING: return "running";
	case DS_STOPPING: return "stopping";
	case DS_FINISHED: return "finished";
	}
	return "unknown";
}

void daemon_request_stop(struct daemon *d)
{
	atomic_store(&d->stop_requested, 1);
	if (d->wake_wr >= 0 && write(d->wake_wr, "s", 1) < 0) {
		/* pipe full: a wake-up is pending anyway */
	}
}

static void on_signal(int sig)
{
	int saved = errno;

	last_signal = sig;
	if (the_daemon)
		daemon_request_stop(the_daemon);
	errno = saved;
}

static void usage(FILE *f)
{
	fputs("usage: conformd --run-dir DIR [--resume]\n"
	      "\n"
	      "The conform monitor of one run: reads DIR/run.json, serves the API on\n"
	      "DIR/conformd.sock, runs the workloads, evaluates windows and writes\n"
	      "DIR/reports/ when the run ends (duration over, POST /v1/stop, SIGTERM).\n"
	      "\n"
	      "  --run-dir DIR   the run directory (made by `conform start`)\n"
	      "  --resume        take over the run after its conformd died: same\n"
	      "                  collector port and store, adopt the workloads and\n"
	      "                  sidecars still running (`conform start --resume`)\n"
	      "  --help          this text\n"
	      "\n"
	      "environment:\n"
	      "  CONFORM_TOKEN     per-run secret (else read from DIR/token)\n"
	      "  CONFORM_WORKLOAD  conform-workload binary (default: next to conformd)\n"
	      "\n"
	      "exit: 0 finished, 2 usage or config error, 3 environment error\n", f);
}

/* ---- startup helpers ---- */

static int load_token(struct daemon *d, char *err, size_t errlen)
{
	const char *env = getenv("CONFORM_TOKEN");
	char path[PATH_MAX], *text = NULL;
	size_t i, n;

	if (env && *env) {
		if (str_copy(d->token, sizeof(d->token), env) < 0) {
			str_fmt(err, errlen, "CONFORM_TOKEN: longer than %zu bytes",
				sizeof(d->token) - 1);
			return -1;
		}
	} else {
		str_fmt(path, sizeof(path), "%s/token", d->run_dir);
		text = file_read(path, 4096, &n);
		if (!text) {
			str_fmt(err, errlen, "no token: set CONFORM_TOKEN or write %s (%s)", path,
				strerror(errno));
			return -1;
		}
		while (n && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
			text[--n] = '\0';
		if (str_copy(d->token, sizeof(d->token), text) < 0) {
			free(text);
			str_fmt(err, errlen, "%s: token longer than %zu bytes", path,
				sizeof(d->token) - 1);
			return -1;
		}
		free(text);
	}
	if (!d->token[0]) {
		str_fmt(err, errlen, "empty token");
		return -1;
	}
	for (i = 0; d->token[i]; i++) {
		if (d->token[i] <= ' ' || d->token[i] > '~') {
			str_fmt(err, errlen, "token: only printable characters, no spaces");
			return -1;
		}
	}
	return 0;
}

/* Is pid a live conformd? (a recycled pid of another program is not, nor a
 * killed one nobody reaped yet: the same test as the CLI's, state.h) */
static int pid_is_conformd(pid_t pid)
{
	return state_pid_is_conformd(pid);
}

static int write_pidfile(const char *path, char *err, size_t errlen)
{
	char buf[32], *old;
	int attempt, fd = -1;
	int64_t pid;

	for (attempt = 0; attempt < 2; attempt++) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0)
			break;
		if (errno != EEXIST) {
			str_fmt(err, errlen, "create %s: %s", path, strerror(errno));
			return -1;
		}
		old = file_read(path, 64, NULL);
		if (old) {
			size_t n = strlen(old);

			while (n && (old[n - 1] == '\n' || old[n - 1] == ' '))
				old[--n] = '\0';
			if (parse_i64(old, 1, INT32_MAX, &pid) == 0 && pid_is_conformd((pid_t)pid)) {
				free(old);
				str_fmt(err, errlen, "another conformd (pid %lld) is running this run "
					"(%s)", (long long)pid, path);
				return -1;
			}
			free(old);
		}
		log_kv(LOG_WARN, "removing stale pid file", "path=%s", path);
		unlink(path);
	}
	if (fd < 0) {
		str_fmt(err, errlen, "create %s: %s", path, strerror(errno));
		return -1;
	}
	str_fmt(buf, sizeof(buf), "%d\n", (int)getpid());
	if (write(fd, buf, strlen(buf)) != (ssize_t)strlen(buf)) {
		str_fmt(err, errlen, "write %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}

static int workload_bin(char *out, size_t len, char *err, size_t errlen)
{
	const char *env = getenv("CONFORM_WORKLOAD");
	char self[PATH_MAX];
	ssize_t n;
	char *slash;

	if (env && *env)
		return str_copy(out, len, env);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		str_fmt(err, errlen, "cannot find my own binary: %s", strerror(errno));
		return -1;
	}
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	if (str_fmt(out, len, "%s/conform-workload", self) < 0) {
		str_fmt(err, errlen, "path too long");
		return -1;
	}
	return 0;
}

static int commit_batch(void *ctx, const char *workload, uint64_t instance, uint64_t seq,
			const struct agg_row *rows, size_t n, const struct store_sample *samples,
			size_t nsamples)
{
	static int64_t last_log_ms;
	struct daemon *d = ctx;
	int rc = store_put_batch_samples(d->store, workload, instance, seq, rows, n, samples,
					 nsamples);

	if (rc < 0) {
		const char *kind = store_write_error(d->store);
		char q[300], what[160];

		/* not acked: the client keeps the batch and resends it later */
		str_fmt(what, sizeof(what), "%s", kind ? kind : "write failed");
		pthread_mutex_lock(&d->mu);
		str_copy(d->store_error, sizeof(d->store_error), what);
		pthread_mutex_unlock(&d->mu);
		if (mono_ms() - last_log_ms >= STORE_ERROR_LOG_MS || !last_log_ms) {
			last_log_ms = mono_ms();
			log_kv(LOG_ERROR, "cannot store batch, not acking it (the client keeps it)",
			       "workload=%s seq=%llu store_error=\"%s\" err=%s", workload,
			       (unsigned long long)seq, what,
			       log_quote(store_errmsg(d->store), q, sizeof(q)));
		}
	} else if (d->store_error[0]) {
		pthread_mutex_lock(&d->mu);
		if (d->store_error[0])
			log_kv(LOG_INFO, "store writes work again", "was=\"%s\"", d->store_error);
		d->store_error[0] = '\0';
		pthread_mutex_unlock(&d->mu);
	}
	return rc;
}

static void put_run(struct daemon *d)
{
	struct store_run r;
	char *json = run_config_to_json(&d->cfg);

	memset(&r, 0, sizeof(r));
	str_copy(r.id, sizeof(r.id), d->cfg.id);
	str_copy(r.platform, sizeof(r.platform), d->cfg.platform);
	str_copy(r.mesh, sizeof(r.mesh), d->cfg.mesh);
	r.started = d->cfg.started;
	r.ended = d->ended;
	r.window_ms = d->cfg.window_ms;
	r.duration_ms = d->cfg.duration_ms;
	if (json && str_copy(r.config_json, sizeof(r.config_json), json) < 0)
		log_kv(LOG_WARN, "run.json too long for the store, truncated", NULL);
	free(json);
	if (store_put_run(d->store, &r) < 0)
		log_kv(LOG_ERROR, "cannot store the run", "err=\"%s\"", store_errmsg(d->store));
}

static void save_run_json(struct daemon *d)
{
	char path[PATH_MAX];

	str_fmt(path, sizeof(path), "%s/run.json", d->run_dir);
	if (run_config_save(&d->cfg, path) < 0)
		log_kv(LOG_ERROR, "cannot write run.json", "path=%s err=\"%s\"", path,
		       strerror(errno));
}

static void event(struct daemon *d, const char *kind, const char *subject, const char *detail)
{
	if (store_put_event(d->store, wall_s(), kind, subject, detail) < 0)
		log_kv(LOG_WARN, "cannot record event", "kind=%s", kind);
}

/* Sleep up to ms or until woken (signal, stop request); drains the pipe. */
static void wait_tick(struct daemon *d, int ms)
{
	struct pollfd pfd = { .fd = d->wake_rd, .events = POLLIN };
	char buf[64];

	if (poll(&pfd, 1, ms) > 0 && (pfd.revents & POLLIN))
		while (read(d->wake_rd, buf, sizeof(buf)) > 0)
			;
}

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
		wait_tick(d, 50);
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
static int start_workloads(struct daemon *d, char *err, size_t errlen)
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

/* The run's now in unix seconds, from the monotonic clock (state.h). */
static double run_now(const struct daemon *d)
{
	return state_run_now(d->cfg.started, d->anchor_mono_ms, mono_ms());
}

static void set_state(struct daemon *d, enum daemon_state s)
{
	pthread_mutex_lock(&d->mu);
	d->state = s;
	pthread_mutex_unlock(&d->mu);
}

/* The collector's rejected count into the store, for the report. */
static void sync_rejected(struct daemon *d, uint64_t *synced)
{
	struct collector_stats cs;

	if (!d->coll)
		return;
	collector_get_stats(d->coll, &cs);
	if (cs.rejected > *synced) {
		if (store_counter_add(d->store, "batches.rejected",
				      (int64_t)(cs.rejected - *synced)) == 0)
			*synced = cs.rejected;
	}
}

static void evaluate_final(struct daemon *d, int64_t *next_idx)
{
	int64_t before;
	int rounds = 0;

	/* evaluate_due bounds the windows per call; loop until it is done */
	do {
		before = *next_idx;
		if (evaluate_due(d->store, &d->cfg, d->ended, 0, 1, d->ended, next_idx) < 0) {
			log_kv(LOG_ERROR, "final evaluation failed", "err=\"%s\"",
			       store_errmsg(d->store));
			break;
		}
	} while (*next_idx != before && ++rounds < 100000);
}

static int write_reports(struct daemon *d)
{
	char dir[PATH_MAX];
	struct report *r = NULL;
	int rc = -1;

	str_fmt(dir, sizeof(dir), "%s/reports", d->run_dir);
	if (mkdir_p(dir, 0700) < 0) {
		log_kv(LOG_ERROR, "cannot create reports dir", "path=%s err=\"%s\"", dir,
		       strerror(errno));
		return -1;
	}
	if (report_build(d->store, &d->cfg, &r) < 0) {
		log_kv(LOG_ERROR, "cannot build the report", "err=\"%s\"", store_errmsg(d->store));
		return -1;
	}
	if (report_write_all(r, dir) < 0) {
		log_kv(LOG_ERROR, "cannot write the reports", "dir=%s", dir);
		goto out;
	}
	log_kv(LOG_INFO, "reports written", "dir=%s verdict=%s", dir, verdict_name(r->verdict));
	rc = 0;
out:
	report_free(r);
	return rc;
}

/* Steps 1-4 of the finish sequence, plus tearing the servers down. */
static void finish(struct daemon *d, int64_t *next_idx, uint64_t *rejected_synced)
{
	int killed;
	char detail[128];

	set_state(d, DS_STOPPING);
	log_kv(LOG_INFO, "stopping", "reason=%s", d->stop_reason[0] ? d->stop_reason : "error");
	if (d->plat) {
		killed = d->pops->stop(d->plat, CLIENT_ROLES, CLIENT_STOP_MS);
		if (killed > 0)
			log_kv(LOG_WARN, "clients had to be killed", "count=%d grace_ms=%d", killed,
			       CLIENT_STOP_MS);
	}
	if (d->faults)
		faults_end_all(d->faults, wall_s());
	probe_stop(d->prober);
	d->prober = NULL;
	/* the clients are done: the last tap lines are in (they follow each
	 * response by well under a millisecond); flush them before evaluating */
	tapfeed_stop(d->tap);
	d->tap = NULL;
	sync_rejected(d, rejected_synced);
	pthread_mutex_lock(&d->mu);
	d->ended = d->cfg.started > 0 ? run_now(d) : wall_s();
	pthread_mutex_unlock(&d->mu);
	if (store_set_run_ended(d->store, d->ended) < 0)
		log_kv(LOG_ERROR, "cannot mark the run ended", "err=\"%s\"", store_errmsg(d->store));
	if (d->cfg.started > 0)
		evaluate_final(d, next_idx);
	write_reports(d);
	str_fmt(detail, sizeof(detail), "%s", d->stop_reason[0] ? d->stop_reason : "error");
	event(d, "run.stop", d->cfg.id, detail);
	if (d->plat) {
		killed = d->pops->stop(d->plat, SERVER_ROLES, SERVER_STOP_MS);
		if (killed > 0)
			log_kv(LOG_WARN, "servers had to be killed", "count=%d", killed);
		killed = d->pops->stop(d->plat, PLATFORM_ROLE_SIDECAR, SIDECAR_STOP_MS);
		if (killed > 0)
			log_kv(LOG_WARN, "sidecars had to be killed", "count=%d", killed);
	}
	set_state(d, DS_FINISHED);
}

/* Set the split weights through the mesh (it records split.set). */
static int split_set(struct daemon *d, unsigned v1, unsigned v2)
{
	struct mesh_feature f;
	char err[256], q[300];

	memset(&f, 0, sizeof(f));
	f.kind = MESH_SPLIT;
	str_copy(f.service, sizeof(f.service), "http-server");
	str_copy(f.backends[0], sizeof(f.backends[0]), "v1");
	str_copy(f.backends[1], sizeof(f.backends[1]), "v2");
	f.weights[0] = v1;
	f.weights[1] = v2;
	f.nbackends = 2;
	if (d->mops->configure(d->mesh, &f, err, sizeof(err)) < 0) {
		log_kv(LOG_ERROR, "cannot set the split weights", "v1=%u v2=%u err=%s", v1, v2,
		       log_quote(err, q, sizeof(q)));
		return -1;
	}
	return 0;
}

static int wants_split(const struct run_config *c)
{
	return run_config_has_check(c, "split.weights") || run_config_has_check(c, "split.shift");
}

/* The scheduled shift: at started + shift_at_ms, once. */
static void split_shift(struct daemon *d, double now)
{
	const struct run_mesh *m = &d->cfg.m;
	char detail[64];

	if (d->shift_done || m->shift_at_ms <= 0 || !wants_split(&d->cfg) ||
	    now < d->cfg.started + (double)m->shift_at_ms / 1000.0)
		return;
	d->shift_done = 1;
	if (split_set(d, m->shift_v1, m->shift_v2) < 0)
		return;
	str_fmt(detail, sizeof(detail), "v1=%u v2=%u", m->shift_v1, m->shift_v2);
	event(d, "split.shift", "split.conform.svc", detail);
	log_kv(LOG_INFO, "split shifted", "v1=%u v2=%u", m->shift_v1, m->shift_v2);
}

static void heartbeat(struct daemon *d, int64_t *last_ms)
{
	int64_t now = mono_ms();

	if (*last_ms && now - *last_ms < HEARTBEAT_MS)
		return;
	*last_ms = now;
	if (state_heartbeat_write(d->run_dir, wall_s()) < 0)
		log_kv(LOG_WARN, "cannot write the heartbeat", "dir=%s err=\"%s\"", d->run_dir,
		       strerror(errno));
}

/*
 * Windows are evaluated and the run ends on the run clock (monotonic since
 * the start): a wall-clock jump moves neither. Window boundaries stay whole
 * unix seconds from cfg.started, like the clients' timestamps.
 */
/* Per-second rows past the retention period go, a bounded number every PRUNE_EVERY_MS. */
static void prune(struct daemon *d, int64_t next_idx, int64_t *last_ms)
{
	int64_t now = mono_ms(), n;

	if (*last_ms && now - *last_ms < PRUNE_EVERY_MS)
		return;
	*last_ms = now;
	n = evaluate_prune(d->store, &d->cfg, next_idx, wall_s(), PRUNE_MAX_ROWS);
	if (n < 0)
		log_kv(LOG_WARN, "pruning failed", "err=\"%s\"", store_errmsg(d->store));
	else if (n > 0)
		log_kv(LOG_DEBUG, "pruned per-second rows", "rows=%" PRId64 " retention_s=%" PRId64,
		       n, d->cfg.retention_s);
}

static void main_loop(struct daemon *d, int64_t *next_idx, uint64_t *rejected_synced)
{
	int64_t hb = 0, pruned = 0;

	while (!atomic_load(&d->stop_requested)) {
		double now;

		heartbeat(d, &hb);
		wait_tick(d, TICK_MS);
		d->pops->poll(d->plat);
		now = run_now(d);
		faults_expire(d->faults, wall_s());
		if (d->meshed) {
			d->mops->tick(d->mesh);
			split_shift(d, now);
		}
		sync_rejected(d, rejected_synced);
		if (mono_ms() >= d->eval_hold_until_ms &&
		    evaluate_due(d->store, &d->cfg, now, EVAL_GRACE_S, 0, 0, next_idx) < 0)
			log_kv(LOG_ERROR, "evaluation failed", "err=\"%s\"", store_errmsg(d->store));
		prune(d, *next_idx, &pruned);
		if (d->cfg.duration_ms > 0 &&
		    now >= d->cfg.started + (double)d->cfg.duration_ms / 1000.0) {
			str_copy(d->stop_reason, sizeof(d->stop_reason), "duration elapsed");
			break;
		}
	}
	if (!d->stop_reason[0] && last_signal)
		str_fmt(d->stop_reason, sizeof(d->stop_reason), "signal %s",
			last_signal == SIGINT ? "INT" : "TERM");
	if (!d->stop_reason[0])
		str_copy(d->stop_reason, sizeof(d->stop_reason), "stop requested");
}

/* ---- resume ---- */

/* The collector on the run's port (resume): the clients reconnect there.
 * The port may sit in TIME_WAIT for a moment; retry up to REBIND_MS. */
static struct collector *collector_rebind(struct daemon *d, int port, char *err, size_t errlen)
{
	int64_t deadline = mono_ms() + REBIND_MS;
	char addr[64];
	int got = 0, tries = 0;

	str_fmt(addr, sizeof(addr), "127.0.0.1:%d", port);
	for (;;) {
		struct collector *c = collector_start(addr, d->token, commit_batch, d, &got, err,
						      errlen);

		if (c)
			return c;
		if (mono_ms() >= deadline || atomic_load(&d->stop_requested))
			return NULL;
		if (!tries++)
			log_kv(LOG_WARN, "collector port busy, retrying", "addr=%s for_ms=%d", addr,
			       REBIND_MS);
		wait_tick(d, 250);
	}
}

/* Where the evaluation stopped: the first window index some selected check
 * has no stored verdict for (re-evaluating a window is harmless). */
static int64_t resume_next_idx(struct daemon *d)
{
	int64_t next = -1;

	struct store_window *w = malloc(sizeof(*w));

	if (!w)
		return 0;
	for (size_t i = 0; i < d->cfg.nchecks; i++) {
		int64_t after;
		int k = store_get_window_pick(d->store, d->cfg.checks[i], STORE_LAST, w);

		if (k < 0) {
			log_kv(LOG_ERROR, "cannot read the evaluated windows", "check=%s err=\"%s\"",
			       d->cfg.checks[i], store_errmsg(d->store));
			next = 0;
			break;
		}
		after = k ? w->idx + 1 : 0;
		if (next < 0 || after < next)
			next = after;
	}
	free(w);
	return next < 0 ? 0 : next;
}

/* Record the time nobody watched: from the last heartbeat to now. */
static void record_gap(struct daemon *d, double *down_s)
{
	double hb = 0, now = wall_s();
	char detail[96];

	if (state_heartbeat_read(d->run_dir, &hb) < 0 || hb < d->cfg.started || hb > now) {
		log_kv(LOG_WARN, "no usable heartbeat: the gap starts at the run's start", NULL);
		hb = d->cfg.started;
	}
	str_fmt(detail, sizeof(detail), "from=%lld to=%lld", (long long)floor(hb),
		(long long)ceil(now));
	event(d, "monitor.gap", "conformd", detail);
	log_kv(LOG_WARN, "monitor gap", "from=%.3f to=%.3f down_s=%.1f", hb, now, now - hb);
	*down_s = now - hb;
}

/* Take the running workloads and sidecars over (instead of starting them). */
static int resume_workloads(struct daemon *d, size_t *adopted, size_t *restarted, char *err,
			    size_t errlen)
{
	struct mesh_plan *plan = calloc(1, sizeof(*plan));
	struct store_event *ev = NULL;
	size_t nev = 0;
	int rc;

	if (!plan) {
		str_fmt(err, errlen, "out of memory");
		return -1;
	}
	rc = d->pops->adopt ? d->pops->adopt(d->plat, adopted, restarted, err, errlen)
			    : (str_fmt(err, errlen, "platform %s cannot adopt workloads",
				       d->pops->name), -ENOTSUP);
	if (rc == 0 && d->mops->plan(d->mesh, plan, err, errlen) == 0)
		d->meshed = 1;
	free(plan);
	if (rc < 0)
		return -1;
	/* the scheduled split shift happened already if it was recorded */
	if (store_get_events_kind(d->store, "split.shift", &ev, &nev) == 0 && nev)
		d->shift_done = 1;
	free(ev);
	d->pops->poll(d->plat);   /* start again what died meanwhile */
	return 0;
}

/* The tap receiver's address, kept for a resume (the sidecars' configs name it). */
static int setup_signals(struct daemon *d)
{
	struct sigaction sa;
	int p[2];

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	d->wake_rd = p[0];
	d->wake_wr = p[1];
	the_daemon = d;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "run-dir", required_argument, NULL, 'd' },
		{ "resume", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct daemon dd;
	struct daemon *d = &dd;
	const char *run_dir_arg = NULL;
	char path[PATH_MAX], err[1024], q[1100], bin[PATH_MAX];
	struct platform_config pc;
	int64_t next_idx = 0;
	uint64_t rejected_synced = 0;
	int opt, port = 0, code = EXIT_ENV, pid_written = 0;
	size_t adopted = 0, restarted = 0;
	double down_s = 0;

	log_init("conformd", LOG_INFO);
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			run_dir_arg = optarg;
			break;
		case 'r':
			d->resume = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (!run_dir_arg || optind != argc) {
		fprintf(stderr, "conformd: %s\n", run_dir_arg ? "unexpected arguments"
							       : "--run-dir is required");
		usage(stderr);
		return EXIT_USAGE;
	}

	pthread_mutex_init(&d->mu, NULL);
	d->wake_rd = d->wake_wr = -1;
	d->state = DS_STARTING;
	if (!realpath(run_dir_arg, d->run_dir)) {
		log_kv(LOG_ERROR, "no run directory", "path=%s err=\"%s\"", run_dir_arg,
		       strerror(errno));
		return EXIT_ENV;
	}
	str_fmt(path, sizeof(path), "%s/run.json", d->run_dir);
	if (run_config_load(path, &d->cfg, err, sizeof(err)) < 0) {
		log_kv(LOG_ERROR, "cannot read run.json", "err=%s", log_quote(err, q, sizeof(q)));
		return EXIT_USAGE;
	}
	str_copy(d->cfg.run_dir, sizeof(d->cfg.run_dir), d->run_dir);
	if (!d->resume) {
		d->cfg.started = 0;
	} else {
		struct stat st;

		str_fmt(path, sizeof(path), "%s/reports/report.json", d->run_dir);
		if (stat(path, &st) == 0) {
			log_kv(LOG_ERROR, "nothing to resume", "run=%s err=\"the run finished (%s)\"",
			       d->cfg.id, path);
			return EXIT_USAGE;
		}
		if (d->cfg.started <= 0 || d->cfg.collector_port <= 0) {
			log_kv(LOG_ERROR, "nothing to resume", "run=%s err=\"its traffic never "
			       "started: start a new run\"", d->cfg.id);
			return EXIT_USAGE;
		}
	}
	d->pops = platform_find(d->cfg.platform);
	d->mops = mesh_find(d->cfg.mesh);
	if (!d->pops || !d->mops) {
		log_kv(LOG_ERROR, "unsupported run", "platform=%s mesh=%s err=\"%s is not built "
		       "into this conformd\"", d->cfg.platform, d->cfg.mesh,
		       !d->pops ? "platform" : "mesh");
		return EXIT_USAGE;
	}
	if (load_token(d, err, sizeof(err)) < 0) {
		log_kv(LOG_ERROR, "no token", "err=%s", log_quote(err, q, sizeof(q)));
		return EXIT_USAGE;
	}
	if (setup_signals(d) < 0) {
		log_kv(LOG_ERROR, "cannot set up signals", "err=\"%s\"", strerror(errno));
		return EXIT_ENV;
	}

	str_fmt(path, sizeof(path), "%s/conformd.pid", d->run_dir);
	if (write_pidfile(path, err, sizeof(err)) < 0) {
		log_kv(LOG_ERROR, "cannot own the run", "err=%s", log_quote(err, q, sizeof(q)));
		return EXIT_ENV;
	}
	pid_written = 1;

	str_fmt(path, sizeof(path), "%s/conform.db", d->run_dir);
	if (store_open(path, 1, &d->store, err, sizeof(err)) < 0) {
		log_kv(LOG_ERROR, "cannot open the store", "err=%s", log_quote(err, q, sizeof(q)));
		goto out;
	}
	if (d->resume) {
		struct state_clock sc, *saved = NULL;
		char boot[40];

		state_boot_id(boot, sizeof(boot));
		if (state_clock_load(d->run_dir, &sc) == 0)
			saved = &sc;
		d->anchor_mono_ms = state_clock_anchor(saved, boot, d->cfg.started, wall_s(),
						       mono_ms());
		record_gap(d, &down_s);
		d->eval_hold_until_ms = mono_ms() + RESUME_EVAL_HOLD_MS;
	}
	put_run(d);
	curl_global_init(CURL_GLOBAL_DEFAULT);

	if (d->resume) {
		port = d->cfg.collector_port;
		d->coll = collector_rebind(d, port, err, sizeof(err));
	} else {
		d->coll = collector_start("127.0.0.1:0", d->token, commit_batch, d, &port, err,
					  sizeof(err));
	}
	if (!d->coll) {
		log_kv(LOG_ERROR, "cannot start the collector", "err=%s",
		       log_quote(err, q, sizeof(q)));
		goto out;
	}
	pthread_mutex_lock(&d->mu);
	d->cfg.collector_port = port;
	pthread_mutex_unlock(&d->mu);
	save_run_json(d);
	put_run(d);

	str_fmt(path, sizeof(path), "%s/conformd.sock", d->run_dir);
	d->api = api_start(path, daemon_routes, daemon_nroutes, d, err, sizeof(err));
	if (!d->api) {
		log_kv(LOG_ERROR, "cannot start the API", "err=%s", log_quote(err, q, sizeof(q)));
		goto out;
	}
	if (d->cfg.metrics_addr[0]) {
		int mport = 0;

		d->metrics = metrics_server_start(d, d->cfg.metrics_addr, &mport, err, sizeof(err));
		if (!d->metrics) {
			log_kv(LOG_ERROR, "cannot serve metrics", "err=%s",
			       log_quote(err, q, sizeof(q)));
			code = 2;
			goto out;
		}
		log_kv(LOG_INFO, "serving /metrics", "addr=%s port=%d", d->cfg.metrics_addr, mport);
	}
	log_kv(LOG_INFO, "conformd started", "run=%s pid=%d collector=127.0.0.1:%d socket=%s",
	       d->cfg.id, (int)getpid(), port, path);

	if (workload_bin(bin, sizeof(bin), err, sizeof(err)) < 0) {
		log_kv(LOG_ERROR, "no workload binary", "err=%s", log_quote(err, q, sizeof(q)));
		goto out;
	}
	memset(&pc, 0, sizeof(pc));
	pc.run_dir = d->run_dir;
	pc.workload_bin = bin;
	pc.token = d->token;
	pc.store = d->store;
	str_fmt(pc.collector, sizeof(pc.collector), "127.0.0.1:%d", port);
	if (d->pops->prepare(&pc, &d->plat, err, sizeof(err)) < 0) {
		log_kv(LOG_ERROR, "cannot prepare the workloads", "err=%s",
		       log_quote(err, q, sizeof(q)));
		goto out;
	}
	d->instance = rand_u64();
	{
		struct mesh_env env = {
			.cfg = &d->cfg, .pops = d->pops, .plat = d->plat, .store = d->store,
			.resume = d->resume,
		};
		int mrc = d->mops->prepare(&env, &d->mesh, err, sizeof(err));

		if (mrc < 0) {
			log_kv(LOG_ERROR, mrc == -ENOENT ? "missing dependency" : "cannot prepare the mesh",
			       "mesh=%s err=%s", d->cfg.mesh, log_quote(err, q, sizeof(q)));
			event(d, "run.error", d->cfg.id, err);
			goto out;
		}
	}
	if (d->mops->caps & MESH_CAP_TAP) {
		struct tapfeed_config tc = {
			.mops = d->mops, .mesh = d->mesh, .store = d->store,
			.instance = d->instance, .server = "http-server", .path = "/echo",
		};

		d->tap = tapfeed_start(&tc, err, sizeof(err));
		if (!d->tap) {
			log_kv(LOG_ERROR, "cannot start the tap feed", "err=%s",
			       log_quote(err, q, sizeof(q)));
			goto out;
		}
	}
	d->faults = faults_new(d->pops, d->plat, d->store, d->token);
	if (!d->faults) {
		log_kv(LOG_ERROR, "out of memory", NULL);
		goto out;
	}
	faults_set_mesh(d->faults, d->mops, d->mesh);
	{
		char fpath[PATH_MAX];

		/* the active faults, for a resume after a crash (docs/internals.md) */
		str_fmt(fpath, sizeof(fpath), "%s/faults.json", d->run_dir);
		if (faults_set_state_file(d->faults, fpath) < 0)
			log_kv(LOG_WARN, "faults are not kept for a resume", "path=%s", fpath);
	}
	if (d->resume) {
		if (resume_workloads(d, &adopted, &restarted, err, sizeof(err)) < 0) {
			log_kv(LOG_ERROR, "cannot take the workloads over", "err=%s",
			       log_quote(err, q, sizeof(q)));
			event(d, "run.error", d->cfg.id, err);
			goto out;
		}
		/* faults the dead monitor left: revert the overdue, keep the rest */
		faults_resume(d->faults, wall_s());
	} else if (start_workloads(d, err, sizeof(err)) < 0) {
		log_kv(LOG_ERROR, "cannot start the workloads", "err=%s",
		       log_quote(err, q, sizeof(q)));
		event(d, "run.error", d->cfg.id, err);
		if (atomic_load(&d->stop_requested)) {
			/* asked to stop while starting: a clean, if short, finish */
			str_copy(d->stop_reason, sizeof(d->stop_reason), "stopped while starting");
			finish(d, &next_idx, &rejected_synced);
			code = 0;
		}
		goto out;
	}

	if (d->meshed) {
		const struct run_config *c = &d->cfg;

		/* resumed: the sidecars hold the weights (re-applied by tick) */
		if (wants_split(c) && !d->resume)
			split_set(d, c->m.split_v1, c->m.split_v2);
		if (run_config_has_check(c, "mtls.enforced") ||
		    run_config_has_check(c, "identity.expiry")) {
			struct probe_config pcf = {
				.mops = d->mops, .mesh = d->mesh, .store = d->store,
				.instance = d->instance, .interval_ms = PROBE_INTERVAL_MS,
				.mtls = run_config_has_check(c, "mtls.enforced"),
				.expiry = run_config_has_check(c, "identity.expiry"),
			};

			d->prober = probe_start(&pcf);
			if (!d->prober)
				log_kv(LOG_ERROR, "cannot start the probes", NULL);
		}
	}
	if (d->resume) {
		char detail[160], dur[32];

		set_state(d, DS_RUNNING);
		next_idx = resume_next_idx(d);
		str_fmt(detail, sizeof(detail), "monitor resumed after %s down; %zu adopted, "
			"%zu restarted; evaluation resumes at window %lld",
			dur_format((int64_t)(down_s * 1000), dur, sizeof(dur)), adopted, restarted,
			(long long)next_idx);
		event(d, "monitor.resume", "conformd", detail);
		log_kv(LOG_INFO, "run resumed", "run=%s detail=%s", d->cfg.id,
		       log_quote(detail, q, sizeof(q)));
	} else {
		struct state_clock sc;

		pthread_mutex_lock(&d->mu);
		d->cfg.started = wall_s();
		d->anchor_mono_ms = mono_ms();
		d->state = DS_RUNNING;
		pthread_mutex_unlock(&d->mu);
		memset(&sc, 0, sizeof(sc));
		sc.started = d->cfg.started;
		sc.started_mono_ms = d->anchor_mono_ms;
		state_boot_id(sc.boot_id, sizeof(sc.boot_id));
		if (state_clock_save(d->run_dir, &sc) < 0)
			log_kv(LOG_WARN, "cannot write the run clock", "err=\"%s\"", strerror(errno));
		state_heartbeat_write(d->run_dir, wall_s());
		put_run(d);
		save_run_json(d);
	}
	if (!d->resume) {
		char detail[128], dur[32];

		str_fmt(detail, sizeof(detail), "traffic started, duration %s",
			d->cfg.duration_ms > 0 ? dur_format(d->cfg.duration_ms, dur, sizeof(dur))
					       : "until stopped");
		event(d, "run.start", d->cfg.id, detail);
		log_kv(LOG_INFO, "run started", "run=%s detail=%s", d->cfg.id,
		       log_quote(detail, q, sizeof(q)));
	}

	main_loop(d, &next_idx, &rejected_synced);
	finish(d, &next_idx, &rejected_synced);
	code = 0;
out:
	probe_stop(d->prober);
	d->prober = NULL;
	/* a resume that failed leaves the run as it found it, for another try */
	if (code != 0 && d->plat && !d->resume)
		d->pops->stop(d->plat, ALL_ROLES | PLATFORM_ROLE_SIDECAR, SERVER_STOP_MS);
	tapfeed_stop(d->tap);
	d->tap = NULL;
	metrics_server_stop(d->metrics);
	d->metrics = NULL;
	api_stop(d->api);
	d->api = NULL;
	collector_stop(d->coll);
	d->coll = NULL;
	faults_free(d->faults);
	d->faults = NULL;
	if (d->mesh)
		d->mops->release(d->mesh);
	if (d->plat)
		d->pops->release(d->plat);
	if (d->store)
		store_close(d->store);
	if (pid_written) {
		str_fmt(path, sizeof(path), "%s/conformd.pid", d->run_dir);
		unlink(path);
	}
	if (d->store)
		curl_global_cleanup();
	the_daemon = NULL;
	if (d->wake_rd >= 0)
		close(d->wake_rd);
	if (d->wake_wr >= 0)
		close(d->wake_wr);
	log_kv(code ? LOG_ERROR : LOG_INFO, "conformd exiting", "code=%d", code);
	return code;
}
