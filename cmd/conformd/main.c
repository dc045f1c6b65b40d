/*
 * main.c - conformd, the monitor of one run: the flags, the run directory
 * (token, pid file, run.json) and the wiring of the store, the collector,
 * the API, the platform and mesh adapters, the tap feed and the probes, in
 * start-up order. The rest of the daemon is one file per phase:
 * workloads.c (starting them, by the mesh's plan or the spine), resume.c
 * (taking over a run whose monitor died), loop.c (the main loop and the
 * finish sequence of docs/internals.md "conformd").
 *
 * Crash safety: the run's clock is monotonic (state.h), a heartbeat file is
 * written every second, and `--resume` takes over a run whose conformd died:
 * same collector port, same store, the running workloads and sidecars
 * adopted, a monitor.gap event for the time nobody watched.
 */
#include "conformd.h"
#include "viewer.h"
#include "base/addr.h"
#include "config/state.h"
#include "mesh/linkerd/linkerd.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

int daemon_last_signal(void)
{
	return (int)last_signal;
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
	fputs("usage: conformd --run-dir DIR [--resume | --seed DIR] [--api-addr HOST:PORT]\n"
	      "                [--collector-addr HOST:PORT]\n"
	      "\n"
	      "The conform monitor of one run: reads DIR/run.json, serves the API on\n"
	      "DIR/conformd.sock, runs the workloads, evaluates windows and writes\n"
	      "DIR/reports/ when the run ends (duration over, POST /v1/stop, SIGTERM).\n"
	      "\n"
	      "  --run-dir DIR   the run directory (made by `conform start`)\n"
	      "  --resume        take over the run after its conformd died: same\n"
	      "                  collector port and store, adopt the workloads and\n"
	      "                  sidecars still running (`conform start --resume`)\n"
	      "  --seed DIR      conformd in a pod: DIR holds the run the CLI handed\n"
	      "                  over (run.json; the Secret conform-run). On first\n"
	      "                  start the run directory is made from it; when the\n"
	      "                  run directory holds the same run, started and not\n"
	      "                  finished, it is resumed (as --resume); a finished\n"
	      "                  one is served (status, reports). After the run\n"
	      "                  ends conformd keeps serving until SIGTERM\n"
	      "  --api-addr HOST:PORT\n"
	      "                  serve the API on TCP as well (in a cluster, behind\n"
	      "                  conformd's Service); every route but /healthz needs\n"
	      "                  the run's token ('Authorization: Bearer TOKEN' or\n"
	      "                  'x-conform-token: TOKEN'); port 0 = any, the bound\n"
	      "                  port goes into run.json as api_port\n"
	      "  --collector-addr HOST:PORT\n"
	      "                  bind the collector there instead of 127.0.0.1:0\n"
	      "                  (port 0 = any; on --resume, the run's port)\n"
	      "  --help          this text\n"
	      "\n"
	      "environment:\n"
	      "  CONFORM_TOKEN     per-run secret (else read from DIR/token)\n"
	      "  CONFORM_WORKLOAD  conform-workload binary (default: next to conformd)\n"
	      "\n"
	      "On the local platform both addresses must be loopback.\n"
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
			/* in a new pod the old pid file may name our own pid (1) */
			if (parse_i64(old, 1, INT32_MAX, &pid) == 0 && (pid_t)pid != getpid() &&
			    pid_is_conformd((pid_t)pid)) {
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

/*
 * The collector's group commit: every batch that arrived together in one
 * transaction (store_put_batches), acked by the collector only after it.
 */
static void commit_group(void *ctx, struct store_batch *bs, size_t n)
{
	static int64_t last_log_ms;
	struct daemon *d = ctx;
	int rc = store_put_batches(d->store, bs, n);

	if (rc < 0) {
		const char *kind = store_write_error(d->store);
		char q[300], what[160];

		/* not acked: the clients keep the batches and resend them later */
		str_fmt(what, sizeof(what), "%s", kind ? kind : "write failed");
		pthread_mutex_lock(&d->mu);
		str_copy(d->store_error, sizeof(d->store_error), what);
		pthread_mutex_unlock(&d->mu);
		if (mono_ms() - last_log_ms >= STORE_ERROR_LOG_MS || !last_log_ms) {
			last_log_ms = mono_ms();
			log_kv(LOG_ERROR, "cannot store batches, not acking them (the clients keep them)",
			       "batches=%zu first_workload=%s first_seq=%llu store_error=\"%s\" err=%s",
			       n, bs[0].workload, (unsigned long long)bs[0].seq, what,
			       log_quote(store_errmsg(d->store), q, sizeof(q)));
		}
	} else if (d->store_error[0]) {
		pthread_mutex_lock(&d->mu);
		if (d->store_error[0])
			log_kv(LOG_INFO, "store writes work again", "was=\"%s\"", d->store_error);
		d->store_error[0] = '\0';
		pthread_mutex_unlock(&d->mu);
	}
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

void daemon_event(struct daemon *d, const char *kind, const char *subject, const char *detail)
{
	if (store_put_event(d->store, wall_s(), kind, subject, detail) < 0)
		log_kv(LOG_WARN, "cannot record event", "kind=%s", kind);
}

/* Sleep up to ms or until woken (signal, stop request); drains the pipe. */
void daemon_wait_tick(struct daemon *d, int ms)
{
	struct pollfd pfd = { .fd = d->wake_rd, .events = POLLIN };
	char buf[64];

	if (poll(&pfd, 1, ms) > 0 && (pfd.revents & POLLIN))
		while (read(d->wake_rd, buf, sizeof(buf)) > 0)
			;
}

/* ---- resume ---- */

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

/* The collector on the run's port (resume): the clients reconnect there.
 * The port may sit in TIME_WAIT for a moment; retry up to REBIND_MS. */
static struct collector *collector_rebind(struct daemon *d, const char *host, int port,
					  char *err, size_t errlen)
{
	int64_t deadline = mono_ms() + REBIND_MS;
	char addr[ADDR_STR_MAX];
	int got = 0, tries = 0;

	addr_join(host, port, addr, sizeof(addr));
	for (;;) {
		struct collector *c = collector_start_group(addr, d->token, commit_group, d, &got,
							    err, errlen);

		if (c)
			return c;
		if (mono_ms() >= deadline || atomic_load(&d->stop_requested))
			return NULL;
		if (!tries++)
			log_kv(LOG_WARN, "collector port busy, retrying", "addr=%s for_ms=%d", addr,
			       REBIND_MS);
		daemon_wait_tick(d, 250);
	}
}

/*
 * A finished run in a pod (--seed, the same run handed over again after
 * the pod was replaced): its API (status, reports) until conformd is
 * stopped; nothing runs and nothing is written. 0, or EXIT_ENV.
 */
static int daemon_serve_finished(struct daemon *d, const char *api_addr, unsigned addr_flags)
{
	char path[PATH_MAX], err[512], q[600];
	struct stat st;
	int aport = 0;

	str_fmt(path, sizeof(path), "%s/reports/report.json", d->run_dir);
	pthread_mutex_lock(&d->mu);
	if (stat(path, &st) == 0)
		d->ended = (double)st.st_mtime;
	d->state = DS_FINISHED;
	pthread_mutex_unlock(&d->mu);
	str_fmt(path, sizeof(path), "%s/conformd.sock", d->run_dir);
	d->api = api_start(path, daemon_routes, daemon_nroutes, d, err, sizeof(err));
	if (d->api && api_addr)
		d->api_tcp = api_start_tcp(api_addr, addr_flags & ADDR_LOOPBACK, d->token,
					   daemon_routes, daemon_nroutes, d, &aport, err,
					   sizeof(err));
	if (!d->api || (api_addr && !d->api_tcp)) {
		log_kv(LOG_ERROR, "cannot start the API", "err=%s", log_quote(err, q, sizeof(q)));
		return EXIT_ENV;
	}
	log_kv(LOG_INFO, "run finished earlier; serving its reports until stopped",
	       "run=%s api_port=%d", d->cfg.id, aport);
	while (!atomic_load(&d->stop_requested))
		daemon_wait_tick(d, 1000);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "run-dir", required_argument, NULL, 'd' },
		{ "resume", no_argument, NULL, 'r' },
		{ "api-addr", required_argument, NULL, 'A' },
		{ "collector-addr", required_argument, NULL, 'C' },
		{ "seed", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct daemon dd;
	struct daemon *d = &dd;
	const char *run_dir_arg = NULL, *api_addr = NULL, *coll_addr = "127.0.0.1:0";
	const char *seed_dir = NULL;
	enum seed_action seed_act = SEED_START;
	struct addr_hostport coll_hp;
	struct sockaddr_storage coll_ss;
	socklen_t coll_sl;
	unsigned addr_flags;
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
		case 'A':
			api_addr = optarg;
			break;
		case 'C':
			coll_addr = optarg;
			break;
		case 'S':
			seed_dir = optarg;
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

	if (seed_dir && d->resume) {
		fprintf(stderr, "conformd: --seed decides itself whether to resume; drop --resume\n");
		return EXIT_USAGE;
	}
	if (seed_dir) {
		if (mkdir_p(run_dir_arg, 0700) < 0) {
			log_kv(LOG_ERROR, "cannot create the run directory", "path=%s err=\"%s\"",
			       run_dir_arg, strerror(errno));
			return EXIT_ENV;
		}
		if (daemon_seed(seed_dir, run_dir_arg, &seed_act, err, sizeof(err)) < 0) {
			log_kv(LOG_ERROR, "cannot take the run over", "err=%s",
			       log_quote(err, q, sizeof(q)));
			return EXIT_USAGE;
		}
		d->resume = seed_act == SEED_RESUME;
		log_kv(LOG_INFO, "run handed over", "seed=%s action=%s", seed_dir,
		       seed_act == SEED_START ? "start" : seed_act == SEED_RESUME ? "resume"
		       : "serve the finished run");
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
	if (seed_act == SEED_FINISHED) {
		/* served as it is: nothing below changes it */
	} else if (!d->resume) {
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
	/* the local platform listens on loopback only (README "What runs") */
	addr_flags = ADDR_PORT_ZERO | (!strcmp(d->cfg.platform, "local") ? ADDR_LOOPBACK : 0);
	if (addr_parse(coll_addr, addr_flags, &coll_hp, err, sizeof(err)) < 0 ||
	    (coll_hp.family == AF_UNSPEC && (addr_flags & ADDR_LOOPBACK) &&
	     addr_resolve(&coll_hp, addr_flags, 1, &coll_ss, &coll_sl, err, sizeof(err)) < 0)) {
		/* gRPC binds a name itself: check here that it is loopback only */
		log_kv(LOG_ERROR, "bad --collector-addr", "err=%s", log_quote(err, q, sizeof(q)));
		return EXIT_USAGE;
	}
	if (api_addr) {
		struct addr_hostport hp;

		if (addr_parse(api_addr, addr_flags, &hp, err, sizeof(err)) < 0) {
			log_kv(LOG_ERROR, "bad --api-addr", "err=%s", log_quote(err, q, sizeof(q)));
			return EXIT_USAGE;
		}
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
	if (seed_act == SEED_FINISHED) {
		code = daemon_serve_finished(d, api_addr, addr_flags);
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
		d->eval_hold_until_ms = mono_ms() + RESUME_EVAL_HOLD_MS;
		/* before a new tap feed moves it: up to when the dead one stored */
		d->tap_mark = (double)store_counter_get(d->store, TAPFEED_MARK) / 1000.0;
	}
	put_run(d);
	curl_global_init(CURL_GLOBAL_DEFAULT);

	if (d->resume) {
		/* the clients keep the port they report to: rebind it */
		port = coll_hp.port ? coll_hp.port : d->cfg.collector_port;
		d->coll = collector_rebind(d, coll_hp.host, port, err, sizeof(err));
	} else {
		d->coll = collector_start_group(coll_addr, d->token, commit_group, d, &port, err,
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
	if (api_addr) {
		int aport = 0;

		d->api_tcp = api_start_tcp(api_addr, addr_flags & ADDR_LOOPBACK, d->token,
					   daemon_routes, daemon_nroutes, d, &aport, err, sizeof(err));
		if (!d->api_tcp) {
			log_kv(LOG_ERROR, "cannot start the API on TCP", "err=%s",
			       log_quote(err, q, sizeof(q)));
			goto out;
		}
		pthread_mutex_lock(&d->mu);
		d->cfg.api_port = aport;
		pthread_mutex_unlock(&d->mu);
		save_run_json(d);
		log_kv(LOG_INFO, "serving the API on TCP", "addr=%s port=%d", api_addr, aport);
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
	log_kv(LOG_INFO, "conformd started", "run=%s pid=%d collector=%s port=%d socket=%s",
	       d->cfg.id, (int)getpid(), coll_hp.host, port, path);

	if (workload_bin(bin, sizeof(bin), err, sizeof(err)) < 0) {
		log_kv(LOG_ERROR, "no workload binary", "err=%s", log_quote(err, q, sizeof(q)));
		goto out;
	}
	memset(&pc, 0, sizeof(pc));
	pc.run_dir = d->run_dir;
	pc.workload_bin = bin;
	pc.token = d->token;
	pc.store = d->store;
	pc.mesh = d->cfg.mesh;
	pc.run = &d->cfg;
	/* workloads on this machine reach a wildcard collector on loopback */
	addr_join(!strcmp(coll_hp.host, "0.0.0.0") ? "127.0.0.1" :
		  !strcmp(coll_hp.host, "::") ? "::1" : coll_hp.host, port, pc.collector,
		  sizeof(pc.collector));
	if (d->pops->prepare(&pc, &d->plat, err, sizeof(err)) < 0) {
		log_kv(LOG_ERROR, "cannot prepare the workloads", "err=%s",
		       log_quote(err, q, sizeof(q)));
		goto out;
	}
	d->instance = rand_u64();
	/* a mesh of the cluster talks to the API server the platform talks to */
	if (d->pops == &platform_kubernetes && d->mops == &mesh_linkerd)
		mesh_linkerd_use_cluster(platform_kubernetes_cluster(d->plat), NULL, NULL);
	{
		struct mesh_env env = {
			.cfg = &d->cfg, .pops = d->pops, .plat = d->plat, .store = d->store,
			.resume = d->resume,
		};
		int mrc = d->mops->prepare(&env, &d->mesh, err, sizeof(err));

		if (mrc < 0) {
			log_kv(LOG_ERROR, mrc == -ENOENT ? "missing dependency" : "cannot prepare the mesh",
			       "mesh=%s err=%s", d->cfg.mesh, log_quote(err, q, sizeof(q)));
			daemon_event(d, "run.error", d->cfg.id, err);
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
		if (daemon_resume_workloads(d, &adopted, &restarted, err, sizeof(err)) < 0) {
			log_kv(LOG_ERROR, "cannot take the workloads over", "err=%s",
			       log_quote(err, q, sizeof(q)));
			daemon_event(d, "run.error", d->cfg.id, err);
			goto out;
		}
		/* faults the dead monitor left: revert the overdue, keep the rest */
		faults_resume(d->faults, wall_s());
		/* the gap ends now, not when this process started: until the
		 * collector and the mesh's tap feed were back (rebinding them can
		 * take seconds on a loaded machine), what the proxies sent over
		 * UDP was lost, and a window judged on it would blame the tap */
		daemon_record_gap(d, &down_s);
	} else if (daemon_start_workloads(d, err, sizeof(err)) < 0) {
		log_kv(LOG_ERROR, "cannot start the workloads", "err=%s",
		       log_quote(err, q, sizeof(q)));
		daemon_event(d, "run.error", d->cfg.id, err);
		if (atomic_load(&d->stop_requested)) {
			/* asked to stop while starting: a clean, if short, finish */
			str_copy(d->stop_reason, sizeof(d->stop_reason), "stopped while starting");
			daemon_finish(d, &next_idx, &rejected_synced);
			code = 0;
		}
		goto out;
	}

	if (d->meshed) {
		const struct run_config *c = &d->cfg;

		/* resumed: the sidecars hold the weights (re-applied by tick) */
		if (daemon_wants_split(c) && !d->resume)
			daemon_split_set(d, c->m.split_v1, c->m.split_v2);
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

		daemon_set_state(d, DS_RUNNING);
		next_idx = daemon_resume_next_idx(d);
		str_fmt(detail, sizeof(detail), "monitor resumed after %s down; %zu adopted, "
			"%zu restarted; evaluation resumes at window %lld",
			dur_format((int64_t)(down_s * 1000), dur, sizeof(dur)), adopted, restarted,
			(long long)next_idx);
		daemon_event(d, "monitor.resume", "conformd", detail);
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
		daemon_event(d, "run.start", d->cfg.id, detail);
		log_kv(LOG_INFO, "run started", "run=%s detail=%s", d->cfg.id,
		       log_quote(detail, q, sizeof(q)));
	}

	daemon_loop(d, &next_idx, &rejected_synced);
	daemon_finish(d, &next_idx, &rejected_synced);
	code = 0;
	if (seed_dir && !daemon_last_signal()) {
		/* in a pod an exit is a restart: keep the reports reachable (the
		 * CLI's stop and report fetch them) until the pod is deleted */
		atomic_store(&d->stop_requested, 0);
		log_kv(LOG_INFO, "run finished; serving its reports until stopped", "run=%s",
		       d->cfg.id);
		while (!atomic_load(&d->stop_requested))
			daemon_wait_tick(d, 1000);
	}
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
	api_stop(d->api_tcp);
	d->api_tcp = NULL;
	d->api = NULL;
	collector_stop(d->coll);
	d->coll = NULL;
	faults_free(d->faults);
	d->faults = NULL;
	viewer_stop(d->viewer);   /* before the mesh it reads goes */
	d->viewer = NULL;
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
