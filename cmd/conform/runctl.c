/*
 * runctl.c - the run lifecycle as the CLI drives it: create a run directory
 * under the start lock, spawn conformd as a daemon and wait until it says
 * running, wait for it to exit, and print the final summary from the store.
 * `start --resume` spawns `conformd --resume` for the current run after its
 * monitor died.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "control/apiclient.h"
#include "cli.h"
#include "config/config.h"
#include "base/util.h"
#include "config/runs.h"

#define START_DEADLINE_MS 30000
#define LOCK_WAIT_MS 45000

extern char **environ;

volatile sig_atomic_t cli_interrupted;

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int cli_state_dir(const struct cli_opts *o, char *out, size_t len)
{
	char err[512];

	if (state_dir_resolve(o->state_dir, out, len, err, sizeof(err)))
		return cli_fail(EXIT_ENV, "pass --state-dir DIR or set CONFORM_STATE_DIR", "%s",
				err);
	return 0;
}

static int run_paths(struct cli_run *r)
{
	char err[128];

	if (state_run_dir(r->state_dir, r->id, r->dir, sizeof(r->dir)) ||
	    str_fmt(r->sock, sizeof(r->sock), "%s/conformd.sock", r->dir) ||
	    api_endpoint_unix(&r->ep, r->sock, err, sizeof(err)))
		return cli_fail(EXIT_ENV, NULL, "run %s: path too long", r->id);
	return 0;
}

int cli_current_run(const struct cli_opts *o, struct cli_run *r)
{
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = cli_state_dir(o, r->state_dir, sizeof(r->state_dir))))
		return rc;
	rc = state_current_get(r->state_dir, r->id, sizeof(r->id));
	if (rc == 0)
		return cli_fail(EXIT_ENV, "start one with `conform start` (or `conform run`)",
				"no active run in %s", r->state_dir);
	if (rc < 0)
		return cli_fail(EXIT_ENV, "remove the link if it is stale",
				"cannot read %s/current: %s", r->state_dir, strerror(errno));
	if ((rc = run_paths(r)))
		return rc;
	r->state = state_run_state(r->dir, &r->pid);
	if (r->state == RUN_STATE_NONE) {
		char hint[PATH_MAX + 64];

		snprintf(hint, sizeof(hint), "remove the stale link: rm %s/current", r->state_dir);
		return cli_fail(EXIT_ENV, hint, "the current run %s has no directory (%s)", r->id,
				r->dir);
	}
	{
		struct run_config c;
		char err[256];

		/* a run in a cluster: its conformd through kubectl */
		if (!cli_load_config(r->dir, &c, err, sizeof(err)) &&
		    !strcmp(c.platform, "kubernetes"))
			return kube_attach(r, &c);
	}
	return 0;
}

/* The "state" field of a /v1/status answer into out ("" if absent). */
static void status_state(const char *body, size_t len, char *out, size_t outlen)
{
	cJSON *j = cJSON_ParseWithLength(body, len);
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "state");

	out[0] = '\0';
	if (cJSON_IsString(s) && s->valuestring)
		str_copy(out, outlen, s->valuestring);
	cJSON_Delete(j);
}

/* conformd next to our own binary, else in $CONFORM_BIN (a directory or the file). */
static int find_conformd(char *out, size_t len, char *looked, size_t looklen)
{
	char exe[PATH_MAX];
	const char *env = getenv("CONFORM_BIN");
	ssize_t n;
	struct stat st;

	looked[0] = '\0';
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		char *slash;

		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			if (!str_fmt(out, len, "%s/conformd", exe) && !access(out, X_OK))
				return 0;
			str_fmt(looked, looklen, "%s", out);
		}
	}
	if (env && *env) {
		if (!stat(env, &st) && S_ISDIR(st.st_mode)) {
			if (!str_fmt(out, len, "%s/conformd", env) && !access(out, X_OK))
				return 0;
		} else if (!str_copy(out, len, env) && !access(out, X_OK)) {
			return 0;
		}
		snprintf(looked + strlen(looked), looklen - strlen(looked), "%s$CONFORM_BIN (%s)",
			 looked[0] ? " and " : "", env);
	}
	return -1;
}

/* environ with CONFORM_TOKEN=tok in place of any inherited one (caller frees the array). */
static char **env_with_token(const char *assign)
{
	size_t n = 0, i, k = 0;
	char **env;

	while (environ && environ[n])
		n++;
	env = calloc(n + 2, sizeof(*env));
	if (!env)
		return NULL;
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], "CONFORM_TOKEN=", 14))
			env[k++] = environ[i];
	env[k++] = (char *)assign;
	env[k] = NULL;
	return env;
}

static int spawn_conformd(const char *bin, const char *run_dir, const char *token, int resume,
			  pid_t *out)
{
	char logpath[PATH_MAX];
	char assign[64];
	char **env = NULL;
	char *argv[5];
	int logfd = -1, nullfd = -1, ret = -1, saved;
	pid_t pid;

	if (str_fmt(logpath, sizeof(logpath), "%s/logs/conformd.log", run_dir) ||
	    str_fmt(assign, sizeof(assign), "CONFORM_TOKEN=%s", token)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	env = env_with_token(assign);
	if (logfd < 0 || nullfd < 0 || !env)
		goto out;
	argv[0] = (char *)bin;
	argv[1] = (char *)"--run-dir";
	argv[2] = (char *)run_dir;
	argv[3] = resume ? (char *)"--resume" : NULL;
	argv[4] = NULL;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		goto out;
	if (pid == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setsid();
		if (dup2(nullfd, STDIN_FILENO) < 0 || dup2(logfd, STDOUT_FILENO) < 0 ||
		    dup2(logfd, STDERR_FILENO) < 0)
			_exit(127);
		execve(bin, argv, env);
		dprintf(STDERR_FILENO, "conform: cannot run %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	*out = pid;
	ret = 0;
out:
	saved = errno;
	if (logfd >= 0)
		close(logfd);
	if (nullfd >= 0)
		close(nullfd);
	free(env);
	errno = saved;
	return ret;
}

static void describe_wait(int st, char *buf, size_t len)
{
	if (WIFEXITED(st))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
	else
		snprintf(buf, len, "wait status %d", st);
}

/* Stop a conformd we spawned that never became ready: TERM, then KILL. */
static void abandon_child(pid_t pid)
{
	kill(pid, SIGTERM);
	if (cli_wait_exit(pid, 1, 10000, "stopping conformd", NULL)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

static int wait_running(const struct cli_run *r, pid_t pid)
{
	int64_t t0 = mono_ms(), last = -1;
	char logpath[PATH_MAX];
	char state[32] = "";
	char lasterr[256] = "no socket yet";

	str_fmt(logpath, sizeof(logpath), "%s/logs/conformd.log", r->dir);
	for (;;) {
		struct api_response resp;
		int64_t el = mono_ms() - t0;
		int st;

		if (waitpid(pid, &st, WNOHANG) == pid) {
			char why[128];

			describe_wait(st, why, sizeof(why));
			cli_fail(EXIT_ENV, NULL, "conformd exited during start (%s); last lines "
				 "of %s:", why, logpath);
			out_tail(logpath, 20);
			fprintf(stderr, "hint: fix the cause shown in the log and start again; "
				"the run directory is kept\n");
			return EXIT_ENV;
		}
		if (!access(r->sock, F_OK)) {
			char err[256];

			if (api_call(&r->ep, "GET", "/healthz", NULL, 1000, &resp, err,
					sizeof(err))) {
				str_copy(lasterr, sizeof(lasterr), err);
			} else {
				int healthy = resp.status == 200;

				api_response_release(&resp);
				if (healthy && !api_call(&r->ep, "GET", "/v1/status", NULL, 2000,
							    &resp, err, sizeof(err))) {
					if (resp.status == 200)
						status_state(resp.body, resp.len, state,
							     sizeof(state));
					api_response_release(&resp);
					if (!strcmp(state, "running"))
						break;
					snprintf(lasterr, sizeof(lasterr), "state %s",
						 state[0] ? state : "unknown");
				}
			}
		}
		if (cli_interrupted) {
			cli_fail(EXIT_ENV, NULL, "interrupted while run %s was starting; stopped its "
				 "monitor", r->id);
			abandon_child(pid);
			return EXIT_ENV;
		}
		if (el >= START_DEADLINE_MS) {
			cli_fail(EXIT_ENV, NULL, "conformd did not report running within %d s "
				 "(%s); last lines of %s:", START_DEADLINE_MS / 1000, lasterr,
				 logpath);
			out_tail(logpath, 20);
			fprintf(stderr, "hint: the log says why; the run directory is kept\n");
			abandon_child(pid);
			return EXIT_ENV;
		}
		if (out_err_tty() && el / 1000 != last) {
			last = el / 1000;
			out_progress("starting run %s: waiting for conformd (%s) %llds", r->id,
				     state[0] ? state : "starting", (long long)last);
		}
		sleep_ms(100);
	}
	out_progress_done();
	return 0;
}

/* Refuse to start while current names a run; says how to get rid of it. */
static int refuse_active(const struct cli_run *cur)
{
	struct run_config c;
	char err[256];
	char when[64] = "at an unknown time";
	struct stat st;

	if (!cli_load_config(cur->dir, &c, err, sizeof(err)) && c.started > 0)
		out_local_time(c.started, when, sizeof(when));
	else if (!stat(cur->dir, &st))
		out_local_time((double)st.st_mtime, when, sizeof(when));
	switch (cur->state) {
	case RUN_STATE_RUNNING:
		return cli_fail(EXIT_USAGE, "stop it with `conform stop` first, or use another "
				"--state-dir", "a run is already active: %s (started %s)", cur->id,
				when);
	case RUN_STATE_FINISHED:
		return cli_fail(EXIT_USAGE, "`conform stop` prints its summary and clears it",
				"the last run %s (started %s) finished but was not stopped", cur->id,
				when);
	default:
		return cli_fail(EXIT_USAGE, "`conform start --resume` resumes it; `conform stop` "
				"ends it and renders its reports from the store", "a run is still "
				"active: %s (started %s), but its monitor is not running", cur->id,
				when);
	}
}

int cli_load_config(const char *run_dir, struct run_config *c, char *err, size_t errlen)
{
	char path[PATH_MAX];

	if (str_fmt(path, sizeof(path), "%s/run.json", run_dir)) {
		snprintf(err, errlen, "path too long");
		return -1;
	}
	return run_config_load(path, c, err, errlen);
}

/* The run's token (RUN/token) into tok. 0 or -1. */
static int read_token(const char *run_dir, char *tok, size_t len)
{
	char path[PATH_MAX], *text;
	size_t n;
	int rc;

	if (str_fmt(path, sizeof(path), "%s/token", run_dir))
		return -1;
	text = file_read(path, 256, &n);
	if (!text)
		return -1;
	while (n && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
		text[--n] = '\0';
	rc = n ? str_copy(tok, len, text) : -1;
	free(text);
	return rc;
}

/*
 * `start --resume`: the current run's monitor died; spawn `conformd
 * --resume` for it (under the start lock) and wait until it runs again.
 */
static int resume_run(const struct cli_opts *o, struct cli_run *r, struct run_config *cfg,
		      pid_t *child)
{
	char err[512], bin[PATH_MAX], looked[2 * PATH_MAX], token[128], hint[PATH_MAX + 64];
	int lockfd = -1, rc;

	if (o->set & CLI_F_RUNCONF)
		return cli_fail(EXIT_USAGE, "write just `conform start --resume`",
				"--resume continues the run with its own settings; it takes no "
				"run flags");
	if ((rc = cli_state_dir(o, r->state_dir, sizeof(r->state_dir))))
		return rc;
	if (find_conformd(bin, sizeof(bin), looked, sizeof(looked)))
		return cli_fail(EXIT_ENV, "build it with `make` or set CONFORM_BIN",
				"conformd not found (looked at %s)", looked[0] ? looked : "nothing");
	if (state_lock(r->state_dir, LOCK_WAIT_MS, &lockfd, err, sizeof(err)))
		return cli_fail(errno == EWOULDBLOCK ? EXIT_USAGE : EXIT_ENV,
				"wait for the other start to finish", "%s", err);
	if ((rc = cli_current_run(o, r)))
		goto out;
	switch (r->state) {
	case RUN_STATE_RUNNING:
		rc = cli_fail(EXIT_USAGE, "`conform status` shows it", "the monitor of run %s "
			      "(pid %ld) is running: nothing to resume", r->id, (long)r->pid);
		goto out;
	case RUN_STATE_FINISHED:
		rc = cli_fail(EXIT_USAGE, "`conform stop` prints its summary and clears it",
			      "run %s finished: nothing to resume", r->id);
		goto out;
	default:
		break;
	}
	if (cli_load_config(r->dir, cfg, err, sizeof(err))) {
		rc = cli_fail(EXIT_ENV, "`conform stop` renders what the store holds", "cannot "
			      "resume run %s: %s", r->id, err);
		goto out;
	}
	if (cfg->started <= 0) {
		rc = cli_fail(EXIT_USAGE, "`conform stop` clears it; then start a new run",
			      "run %s never started its traffic: nothing to resume", r->id);
		goto out;
	}
	if (read_token(r->dir, token, sizeof(token))) {
		snprintf(hint, sizeof(hint), "the run's secret is %s/token", r->dir);
		rc = cli_fail(EXIT_ENV, hint, "cannot resume run %s: no token: %s", r->id,
			      strerror(errno));
		goto out;
	}
	if (spawn_conformd(bin, r->dir, token, 1, child)) {
		rc = cli_fail(EXIT_ENV, NULL, "cannot start %s: %s", bin, strerror(errno));
		goto out;
	}
	r->pid = *child;
	if ((rc = wait_running(r, *child)))
		goto out;
	r->state = RUN_STATE_RUNNING;
	/* bounded history: the oldest runs go, never this one nor a live one */
	{
		size_t keep = o->keep_runs ? (size_t)o->keep_runs : (size_t)cfg->out.keep_runs;

		if (runs_prune(r->state_dir, keep, r->id, err, sizeof(err)) < 0)
			fprintf(stderr, "conform: warning: %s (the run goes on)\n", err);
	}
	rc = 0;
out:
	state_unlock(lockfd);
	return rc;
}

int cli_start_run(const struct cli_opts *o, int is_run, struct cli_run *r,
		  struct run_config *cfg, pid_t *child)
{
	struct cli_error e;
	struct cli_run cur;
	char err[512];
	char bin[PATH_MAX], looked[2 * PATH_MAX];
	char token[40];
	char path[PATH_MAX];
	int lockfd = -1, rc, tries, kube;

	memset(r, 0, sizeof(*r));
	*child = 0;
	if (!is_run && (o->set & CLI_F_RESUME))
		return resume_run(o, r, cfg, child);
	/* defaults < the config file < flags given */
	config_defaults(cfg);
	if ((o->set & CLI_F_CONFIG) && config_load(o->config, cfg, err, sizeof(err)))
		return cli_fail(EXIT_USAGE, "`conform config validate FILE` checks a file; "
				"docs/config.md describes every field", "%s", err);
	if (cliflags_apply(o, is_run, cfg, &e))
		return cli_usage_fail(&e);
	if (check_run_too_short(cfg, err, sizeof(err)))
		return cli_fail(EXIT_USAGE, "give a longer --duration, or leave that check out "
				"with --checks", "%s", err);
	if (cliflags_mesh_check(cfg, &e))   /* a missing dependency: environment */
		return cli_fail(EXIT_ENV, e.hint, "%s", e.msg);
	kube = !strcmp(cfg->platform, "kubernetes");
	if (!kube && (o->set & CLI_F_KUBE))
		return cli_fail(EXIT_USAGE, "add --platform kubernetes",
				"--namespace, --context and --image are for --platform kubernetes");
	if (kube && o->namespace[0] &&
	    str_copy(cfg->m.ns, sizeof(cfg->m.ns), o->namespace))
		return cli_fail(EXIT_USAGE, "use a namespace name of at most 31 characters",
				"--namespace %s: too long for the workloads' identities", o->namespace);
	/* the cluster first: a start that cannot reach it leaves nothing behind */
	if (kube && ((rc = kube_preflight(o)) || (rc = kube_mesh_preflight(o, cfg))))
		return rc;
	/* in a pod: the run goes to the service account's namespace */
	if (kube && !o->namespace[0] && kube_incluster_namespace()[0] &&
	    str_copy(cfg->m.ns, sizeof(cfg->m.ns), kube_incluster_namespace()))
		return cli_fail(EXIT_USAGE, "pass --namespace with a name of at most 31 characters",
				"the pod's namespace %s: too long for the workloads' identities",
				kube_incluster_namespace());
	if ((rc = cli_state_dir(o, r->state_dir, sizeof(r->state_dir))))
		return rc;
	if (!kube && find_conformd(bin, sizeof(bin), looked, sizeof(looked)))
		return cli_fail(EXIT_ENV, "build it with `make` (it is installed next to conform) "
				"or set CONFORM_BIN to the directory holding it",
				"conformd not found (looked at %s)", looked[0] ? looked : "nothing");
	if (state_dir_create(r->state_dir, err, sizeof(err)))
		return cli_fail(EXIT_ENV, "check the permissions or pass another --state-dir",
				"%s", err);
	if (state_lock(r->state_dir, LOCK_WAIT_MS, &lockfd, err, sizeof(err)))
		return cli_fail(errno == EWOULDBLOCK ? EXIT_USAGE : EXIT_ENV,
				"wait for the other start to finish", "%s", err);

	/* under the lock: only one start decides at a time */
	memset(&cur, 0, sizeof(cur));
	str_copy(cur.state_dir, sizeof(cur.state_dir), r->state_dir);
	rc = state_current_get(r->state_dir, cur.id, sizeof(cur.id));
	if (rc < 0) {
		rc = cli_fail(EXIT_ENV, "remove the link if it is stale",
			      "cannot read %s/current: %s", r->state_dir, strerror(errno));
		goto out;
	}
	if (rc == 1 && !run_paths(&cur)) {
		cur.state = state_run_state(cur.dir, &cur.pid);
		if (cur.state != RUN_STATE_NONE) {
			rc = refuse_active(&cur);
			goto out;
		}
	}

	for (tries = 0; tries < 5; tries++) {
		state_new_run_id(r->id, sizeof(r->id));
		if ((rc = run_paths(r)))
			goto out;
		if (access(r->dir, F_OK))
			break;
	}
	if (state_run_dir_create(r->dir, err, sizeof(err)) ||
	    state_token_create(r->dir, token, sizeof(token), err, sizeof(err))) {
		rc = cli_fail(EXIT_ENV, "check the permissions or pass another --state-dir", "%s",
			      err);
		goto out;
	}
	str_copy(cfg->id, sizeof(cfg->id), r->id);
	str_copy(cfg->run_dir, sizeof(cfg->run_dir), r->dir);
	if (str_fmt(path, sizeof(path), "%s/run.json", r->dir) || run_config_save(cfg, path)) {
		rc = cli_fail(EXIT_ENV, NULL, "cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	if (kube) {
		/* conformd runs in the cluster: nothing of ours to wait for */
		if ((rc = kube_start_run(o, r, cfg, token)))
			goto out;
	} else {
		if (spawn_conformd(bin, r->dir, token, 0, child)) {
			rc = cli_fail(EXIT_ENV, NULL, "cannot start %s: %s", bin, strerror(errno));
			goto out;
		}
		r->pid = *child;
		if ((rc = wait_running(r, *child)))
			goto out;
	}
	if (state_current_set(r->state_dir, r->id)) {
		rc = cli_fail(EXIT_ENV, "run `conform stop` is not possible without it; stop "
			      "conformd with kill", "cannot point %s/current at %s: %s",
			      r->state_dir, r->id, strerror(errno));
		if (*child)
			abandon_child(*child);
		goto out;
	}
	r->state = RUN_STATE_RUNNING;
	/* bounded history: the oldest runs go, never this one nor a live one */
	{
		size_t keep = (size_t)cfg->out.keep_runs;   /* flag > config file > 30 */

		if (runs_prune(r->state_dir, keep, r->id, err, sizeof(err)) < 0)
			fprintf(stderr, "conform: warning: %s (the run goes on)\n", err);
	}
	rc = 0;
out:
	state_unlock(lockfd);
	return rc;
}

int cli_wait_exit(pid_t pid, int child, long deadline_ms, const char *what, int *wstatus)
{
	int64_t t0 = mono_ms(), shown = -1;

	for (;;) {
		int64_t el = mono_ms() - t0;
		int st;

		if (child) {
			pid_t w = waitpid(pid, &st, WNOHANG);

			if (w == pid || (w < 0 && errno == ECHILD)) {
				if (wstatus)
					*wstatus = w == pid ? st : 0;
				break;
			}
		} else if (!state_pid_is_conformd(pid)) {
			break;
		}
		if (el >= deadline_ms) {
			out_progress_done();
			return -1;
		}
		if (what && el >= 1000 && (out_err_tty() ? el / 1000 != shown
					   : el / 10000 != shown / 10)) {
			shown = el / 1000;
			out_progress("%s: waiting for conformd (pid %ld) to finish %llds", what,
				     (long)pid, (long long)shown);
		}
		sleep_ms(100);
	}
	out_progress_done();
	return 0;
}

int cli_finish(struct cli_run *r, int abnormal)
{
	int rc = cli_summary(r, abnormal, abnormal);
	char cur[RUN_ID_MAX];

	/* clear `current` only if it still names this run */
	if (state_current_get(r->state_dir, cur, sizeof(cur)) == 1 && !strcmp(cur, r->id) &&
	    state_current_clear(r->state_dir))
		cli_fail(EXIT_ENV, NULL, "cannot remove %s/current: %s", r->state_dir,
			 strerror(errno));
	return rc;
}
