/*
 * local.c - the `local` platform: workloads are child processes of
 * conformd on 127.0.0.1, started with posix_spawn (conformd has called
 * grpc_init, so a plain fork must never run code in the child), supervised
 * by polling waitpid and restarted with exponential backoff after a crash.
 * Helper processes (mesh sidecars) run their own command line and are ready
 * when their listener accepts a TCP connection. Every change of the set is
 * written to RUN/supervisor.json so a resumed conformd can adopt the
 * processes a crashed one left running (they are no children of the new
 * one: watched through a pidfd, else kill(pid, 0)).
 */
#include "platform/platform.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "checks/check.h"
#include "base/util.h"

extern char **environ;

#define BACKOFF_FIRST_MS 500
#define BACKOFF_MAX_MS 30000
#define BACKOFF_RESET_MS 60000   /* up this long: the next crash starts over */
#define READY_FILE_MAX 4096
#define HANDOVER_MS 300          /* helper restart: old instance soft-stops after this */
#define MAX_RETIRED 16

struct wl {
	struct workload_spec spec;
	pid_t pid;                    /* > 0 while a process runs */
	enum workload_state state;
	unsigned restarts;            /* restarts done so far */
	unsigned streak;              /* crashes in a row, for the backoff */
	int64_t started_ms;           /* mono, start of the current instance */
	int64_t restart_at_ms;        /* mono, when RESTARTING */
	int64_t backoff_ms;           /* delay of the pending restart */
	const char *expected;         /* why we caused the coming exit, or NULL */
	uint64_t sent;                /* bit n: we sent signal n since the last exit */
	int stopping;                 /* stopped on purpose: never restart */
	int quick;                    /* restart() asked: no backoff for this exit */
	pid_t ready_pid;              /* helper: instance seen accepting */
	int adopted;                  /* pid is not our child (taken over at resume) */
	int pidfd;                    /* adopted: pidfd_open(pid), or -1 */
	char learned_listen[PLATFORM_ADDR_MAX];
	char ready_path[PATH_MAX];
	char log_path[PATH_MAX];
};

struct platform {
	pthread_mutex_t mu;
	char run_dir[PATH_MAX];
	char bin[PATH_MAX];
	char collector[PLATFORM_ADDR_MAX];
	struct store *store;
	char **envp;                  /* environment of children, with the token */
	char **envp_helper;           /* environment of helpers, without it */
	struct wl wl[PLATFORM_MAX_WORKLOADS];
	size_t n;
	/* helper instances replaced by restart(): soft-stopped, then reaped */
	struct retired {
		pid_t pid;
		int64_t stop_at_ms;
		int signalled;
		int adopted;              /* not our child: cannot waitpid */
		char name[64];
	} retired[MAX_RETIRED];
	size_t nretired;
};

const char *workload_state_name(enum workload_state s)
{
	switch (s) {
	case WL_RUNNING: return "running";
	case WL_RESTARTING: return "restarting";
	case WL_EXITED: return "exited";
	}
	return "unknown";
}

static void local_event(struct platform *p, const char *kind, const char *subject,
			const char *detail)
{
	if (p->store && store_put_event(p->store, wall_s(), kind, subject, detail) < 0)
		log_kv(LOG_WARN, "cannot record event", "kind=%s subject=%s", kind, subject);
}

static struct wl *local_find(struct platform *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (!strcmp(p->wl[i].spec.name, name))
			return &p->wl[i];
	return NULL;
}

/* ---- processes that are not our children (adopted at resume) ---- */

/* Process state letter from /proc/PID/stat ('Z' zombie), 0 if unknown. */
static char local_proc_state(pid_t pid)
{
	char path[64], *text, *rp, st = 0;

	str_fmt(path, sizeof(path), "/proc/%d/stat", (int)pid);
	text = file_read(path, 4096, NULL);
	if (!text)
		return 0;
	rp = strrchr(text, ')');   /* comm may hold spaces and parens */
	if (rp && rp[1] == ' ' && rp[2])
		st = rp[2];
	free(text);
	return st;
}

static const char *local_base(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}

/*
 * Does live process pid run w's program? argv[0] has the same basename as
 * what we spawn, and its argv holds w's identity: `--name NAME` for a
 * workload, the config path (last argument) for a helper. Zombies are dead.
 */
static int local_is_ours(struct platform *p, const struct wl *w, pid_t pid)
{
	const char *want0 = w->spec.ncommand > 0 ? w->spec.command[0] : p->bin;
	const char *ident = w->spec.ncommand > 0 ? w->spec.command[w->spec.ncommand - 1]
						 : w->spec.name;
	char path[64], *text;
	size_t n, off, k = 0;
	int argv0_ok = 0, ident_ok = 0, prev_name = 0;

	if (pid <= 0 || (kill(pid, 0) < 0 && errno != EPERM) || local_proc_state(pid) == 'Z')
		return 0;
	str_fmt(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	text = file_read(path, 64 * 1024, &n);
	if (!text)
		return 0;
	for (off = 0; off < n; k++) {
		const char *arg = text + off;

		if (k == 0)
			argv0_ok = !strcmp(local_base(arg), local_base(want0));
		else if (w->spec.ncommand > 0 ? !strcmp(arg, ident)
			 : (prev_name && !strcmp(arg, ident)))
			ident_ok = 1;
		prev_name = !strcmp(arg, "--name");
		off += strlen(arg) + 1;
	}
	free(text);
	return argv0_ok && ident_ok;
}

/* Has the adopted process of w ended? */
static int local_adopted_gone(struct platform *p, struct wl *w)
{
	if (w->pidfd >= 0) {
		struct pollfd pfd = { .fd = w->pidfd, .events = POLLIN };

		return poll(&pfd, 1, 0) == 1;
	}
	return !local_is_ours(p, w, w->pid);
}

static void local_drop_pidfd(struct wl *w)
{
	if (w->pidfd >= 0)
		close(w->pidfd);
	w->pidfd = -1;
	w->adopted = 0;
}

static int local_pidfd_open(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

/* ---- RUN/supervisor.json ---- */

static cJSON *local_spec_json(const struct wl *w)
{
	const struct workload_spec *s = &w->spec;
	cJSON *o = cJSON_CreateObject(), *a;
	size_t i;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "name", s->name);
	cJSON_AddStringToObject(o, "role", s->role);
	cJSON_AddNumberToObject(o, "role_bit", s->role_bit);
	cJSON_AddStringToObject(o, "version", s->version);
	cJSON_AddStringToObject(o, "listen", s->listen);
	cJSON_AddStringToObject(o, "identity_header", s->identity_header);
	a = cJSON_AddArrayToObject(o, "flows");
	for (i = 0; a && i < s->nflows && i < PLATFORM_MAX_FLOWS; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(s->flows[i]));
	a = cJSON_AddArrayToObject(o, "command");
	for (i = 0; a && i < s->ncommand && i < PLATFORM_CMD_ARGS; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(s->command[i]));
	cJSON_AddStringToObject(o, "ready_connect", s->ready_connect);
	cJSON_AddNumberToObject(o, "pid", w->pid);
	cJSON_AddStringToObject(o, "learned_listen", w->learned_listen);
	cJSON_AddNumberToObject(o, "restarts", w->restarts);
	cJSON_AddNumberToObject(o, "streak", w->streak);
	return o;
}

/* Write the supervisor state (lock held). A failure is logged: the run goes
 * on, only a later resume would miss the change. */
static void local_persist(struct platform *p)
{
	char path[PATH_MAX], *text;
	cJSON *root = cJSON_CreateObject(), *arr, *ret;
	size_t i;

	if (!root)
		return;
	cJSON_AddNumberToObject(root, "version", 1);
	arr = cJSON_AddArrayToObject(root, "workloads");
	for (i = 0; arr && i < p->n; i++)
		cJSON_AddItemToArray(arr, local_spec_json(&p->wl[i]));
	ret = cJSON_AddArrayToObject(root, "retired");
	for (i = 0; ret && i < p->nretired; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "name", p->retired[i].name);
		cJSON_AddNumberToObject(o, "pid", p->retired[i].pid);
		cJSON_AddItemToArray(ret, o);
	}
	text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!text)
		return;
	str_fmt(path, sizeof(path), "%s/supervisor.json", p->run_dir);
	if (file_write_atomic(path, text, strlen(text), 0600) < 0)
		log_kv(LOG_ERROR, "cannot write the supervisor state", "path=%s err=\"%s\"", path,
		       strerror(errno));
	free(text);
}

static int local_jstr(const cJSON *o, const char *key, char *out, size_t len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!v)
		return 0;   /* absent: keep "" */
	if (!cJSON_IsString(v) || !v->valuestring)
		return -1;
	return str_copy(out, len, v->valuestring);
}

static int local_jnum(const cJSON *o, const char *key, double min, double max, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	*out = 0;
	if (!v)
		return 0;
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= min && v->valuedouble <= max))
		return -1;
	*out = v->valuedouble;
	return 0;
}

static int local_jarr(const cJSON *o, const char *key, char (*out)[PLATFORM_FLOW_MAX],
		      size_t each, size_t max, size_t *n)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key), *it;

	*n = 0;
	if (!a)
		return 0;
	if (!cJSON_IsArray(a))
		return -1;
	cJSON_ArrayForEach(it, a) {
		if (*n >= max || !cJSON_IsString(it) || !it->valuestring ||
		    str_copy((char *)out + *n * each, each, it->valuestring) < 0)
			return -1;
		(*n)++;
	}
	return 0;
}

/* One workload of supervisor.json into w (validated, bounded). 0 or -1. */
static int local_wl_from_json(const cJSON *o, struct wl *w)
{
	struct workload_spec *s = &w->spec;
	double rb, pid, restarts, streak;
	size_t n;

	memset(w, 0, sizeof(*w));
	w->pidfd = -1;
	if (local_jstr(o, "name", s->name, sizeof(s->name)) || !s->name[0] ||
	    strchr(s->name, '/') || local_jstr(o, "role", s->role, sizeof(s->role)) ||
	    local_jstr(o, "version", s->version, sizeof(s->version)) ||
	    local_jstr(o, "listen", s->listen, sizeof(s->listen)) ||
	    local_jstr(o, "identity_header", s->identity_header, sizeof(s->identity_header)) ||
	    local_jstr(o, "ready_connect", s->ready_connect, sizeof(s->ready_connect)) ||
	    local_jstr(o, "learned_listen", w->learned_listen, sizeof(w->learned_listen)) ||
	    local_jnum(o, "role_bit", 1, 1u << 30, &rb) ||
	    local_jnum(o, "pid", 0, INT32_MAX, &pid) ||
	    local_jnum(o, "restarts", 0, 1e9, &restarts) ||
	    local_jnum(o, "streak", 0, 1e9, &streak) ||
	    local_jarr(o, "flows", s->flows, PLATFORM_FLOW_MAX, PLATFORM_MAX_FLOWS, &s->nflows))
		return -1;
	{
		char cmd[PLATFORM_CMD_ARGS][PLATFORM_FLOW_MAX];

		if (local_jarr(o, "command", cmd, PLATFORM_FLOW_MAX, PLATFORM_CMD_ARGS, &n))
			return -1;
		for (size_t i = 0; i < n; i++)
			if (str_copy(s->command[i], sizeof(s->command[i]), cmd[i]) < 0)
				return -1;
		s->ncommand = n;
		if (n > 0 && s->command[0][0] != '/')
			return -1;   /* helpers run by absolute path only */
	}
	s->role_bit = (unsigned)rb;
	w->pid = (pid_t)pid;
	w->restarts = (unsigned)restarts;
	w->streak = (unsigned)streak;
	return 0;
}

static void local_free_env(char **envp)
{
	size_t i;

	if (!envp)
		return;
	for (i = 0; envp[i]; i++)
		free(envp[i]);
	free(envp);
}

/* The children's environment: ours without any CONFORM_TOKEN, plus the
 * run's (token NULL: none, for helpers that must not see it). */
static char **local_make_env(const char *token)
{
	size_t n = 0, i, o = 0;
	char **envp;

	while (environ && environ[n])
		n++;
	envp = calloc(n + 2, sizeof(*envp));
	if (!envp)
		return NULL;
	for (i = 0; i < n; i++) {
		if (!strncmp(environ[i], "CONFORM_TOKEN=", 14))
			continue;
		envp[o] = strdup(environ[i]);
		if (!envp[o++])
			goto fail;
	}
	if (!token)
		return envp;
	envp[o] = malloc(strlen(token) + 16);
	if (!envp[o])
		goto fail;
	snprintf(envp[o], strlen(token) + 16, "CONFORM_TOKEN=%s", token);
	return envp;
fail:
	local_free_env(envp);
	return NULL;
}

static int local_prepare(const struct platform_config *pc, struct platform **out,
			 char *err, size_t errlen)
{
	struct platform *p;
	char path[PATH_MAX];

	p = calloc(1, sizeof(*p));
	if (!p) {
		str_fmt(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&p->mu, NULL);
	if (str_copy(p->run_dir, sizeof(p->run_dir), pc->run_dir) < 0 ||
	    str_copy(p->bin, sizeof(p->bin), pc->workload_bin) < 0 ||
	    str_copy(p->collector, sizeof(p->collector), pc->collector) < 0) {
		str_fmt(err, errlen, "run dir, workload binary or collector address too long");
		goto fail;
	}
	p->store = pc->store;
	if (access(p->bin, X_OK) < 0) {
		str_fmt(err, errlen, "workload binary %s: %s", p->bin, strerror(errno));
		goto fail;
	}
	str_fmt(path, sizeof(path), "%s/logs", p->run_dir);
	if (mkdir_p(path, 0700) < 0) {
		str_fmt(err, errlen, "mkdir %s: %s", path, strerror(errno));
		goto fail;
	}
	str_fmt(path, sizeof(path), "%s/wl", p->run_dir);
	if (mkdir_p(path, 0700) < 0) {
		str_fmt(err, errlen, "mkdir %s: %s", path, strerror(errno));
		goto fail;
	}
	p->envp = local_make_env(pc->token ? pc->token : "");
	p->envp_helper = local_make_env(NULL);
	if (!p->envp || !p->envp_helper) {
		str_fmt(err, errlen, "out of memory");
		goto fail;
	}
	*out = p;
	return 0;
fail:
	local_free_env(p->envp);
	local_free_env(p->envp_helper);
	pthread_mutex_destroy(&p->mu);
	free(p);
	return -EINVAL;
}

/* Launch one instance of w. Called with the lock held. */
static int local_spawn(struct platform *p, struct wl *w, char *err, size_t errlen)
{
	const struct workload_spec *s = &w->spec;
	const char *argv[24 + 2 * PLATFORM_MAX_FLOWS];
	int is_server = s->role_bit & (ROLE_HTTP_SERVER | ROLE_GRPC_SERVER);
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t mask;
	size_t a = 0, i;
	pid_t pid;
	int rc;

	if (s->ncommand > 0) {
		for (i = 0; i < s->ncommand && i < PLATFORM_CMD_ARGS; i++)
			argv[a++] = s->command[i];
		argv[a] = NULL;
		goto spawn;
	}
	argv[a++] = p->bin;
	argv[a++] = "--role";
	argv[a++] = s->role;
	argv[a++] = "--name";
	argv[a++] = s->name;
	if (s->version[0]) {
		argv[a++] = "--version";
		argv[a++] = s->version;
	}
	if (is_server) {
		argv[a++] = "--listen";
		argv[a++] = w->learned_listen[0] ? w->learned_listen
			  : s->listen[0] ? s->listen : "127.0.0.1:0";
		argv[a++] = "--admin";
		argv[a++] = "127.0.0.1:0";
	} else {
		argv[a++] = "--collector";
		argv[a++] = p->collector;
	}
	argv[a++] = "--ready-file";
	argv[a++] = w->ready_path;
	if (s->identity_header[0]) {
		argv[a++] = "--identity-header";
		argv[a++] = s->identity_header;
	}
	for (i = 0; i < s->nflows && i < PLATFORM_MAX_FLOWS; i++) {
		argv[a++] = "--flow";
		argv[a++] = s->flows[i];
	}
	argv[a] = NULL;

	unlink(w->ready_path); /* a stale file must not pass for readiness */
spawn:
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, w->log_path, O_WRONLY | O_CREAT | O_APPEND,
					 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	posix_spawnattr_init(&attr);
	/* own process group: a ^C on conformd's terminal must not hit the
	 * workloads behind the supervisor's back; default signals, none blocked */
	sigemptyset(&mask);
	posix_spawnattr_setsigmask(&attr, &mask);
	sigaddset(&mask, SIGPIPE);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGHUP);
	posix_spawnattr_setsigdefault(&attr, &mask);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
				 POSIX_SPAWN_SETPGROUP);
	rc = posix_spawn(&pid, argv[0], &fa, &attr, (char *const *)argv,
			 s->ncommand > 0 ? p->envp_helper : p->envp);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		str_fmt(err, errlen, "spawn %s (%s): %s", s->name, argv[0], strerror(rc));
		return -rc;
	}
	local_drop_pidfd(w);   /* a child of ours from now on */
	w->pid = pid;
	w->state = WL_RUNNING;
	w->started_ms = mono_ms();
	w->expected = NULL;
	w->sent = 0;
	w->quick = 0;
	w->ready_pid = 0;
	log_kv(LOG_INFO, "workload started", "name=%s role=%s pid=%d log=%s", s->name, s->role,
	       (int)pid, w->log_path);
	return 0;
}

static int local_start(struct platform *p, const struct workload_spec *spec, char *err,
		       size_t errlen)
{
	struct wl *w;
	char detail[256];
	int rc;

	pthread_mutex_lock(&p->mu);
	if (local_find(p, spec->name)) {
		str_fmt(err, errlen, "workload %s exists already", spec->name);
		rc = -EEXIST;
		goto out;
	}
	if (p->n >= PLATFORM_MAX_WORKLOADS) {
		str_fmt(err, errlen, "too many workloads (max %d)", PLATFORM_MAX_WORKLOADS);
		rc = -ENOSPC;
		goto out;
	}
	w = &p->wl[p->n];
	memset(w, 0, sizeof(*w));
	w->pidfd = -1;
	w->spec = *spec;
	if (str_fmt(w->ready_path, sizeof(w->ready_path), "%s/wl/%s.ready", p->run_dir,
		    spec->name) < 0 ||
	    str_fmt(w->log_path, sizeof(w->log_path), "%s/logs/%s.log", p->run_dir,
		    spec->name) < 0) {
		str_fmt(err, errlen, "workload %s: path too long", spec->name);
		rc = -ENAMETOOLONG;
		goto out;
	}
	rc = local_spawn(p, w, err, errlen);
	if (rc < 0)
		goto out;
	p->n++;
	local_persist(p);
	str_fmt(detail, sizeof(detail), "started %s, pid %d", spec->role, (int)w->pid);
	local_event(p, "workload.start", spec->name, detail);
out:
	pthread_mutex_unlock(&p->mu);
	return rc;
}

/* "exited by signal 9 (KILL)" / "exited with status 1"; returns the signal
 * that ended the process, 0 when it exited on its own */
static int local_describe(int status, char *buf, size_t len)
{
	if (WIFSIGNALED(status)) {
		const char *abbrev = sigabbrev_np(WTERMSIG(status));

		str_fmt(buf, len, "exited by signal %d (%s)", WTERMSIG(status),
			abbrev ? abbrev : "?");
	} else if (WIFEXITED(status)) {
		str_fmt(buf, len, "exited with status %d", WEXITSTATUS(status));
	} else {
		str_fmt(buf, len, "exited (wait status 0x%x)", (unsigned)status);
	}
	return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

/* Send sig to w and remember that we did: only an exit by a signal we sent
 * is one we caused. Lock held. */
static int local_signal(struct wl *w, int sig)
{
	if (sig > 0 && sig < 64)
		w->sent |= UINT64_C(1) << sig;
	return kill(w->pid, sig);
}

/* Did we cause an exit by signal sig (0: none, an exit of its own)? A process
 * that dies from a signal we never sent (SEGV while stopping) crashed, whatever
 * we were doing to it. */
static int local_caused(const struct wl *w, int sig)
{
	return sig <= 0 || (sig < 64 && (w->sent & (UINT64_C(1) << sig)));
}

/* "TERM" or "TERM, KILL": the signals we sent, for an exit we did not cause */
static void local_sent_names(const struct wl *w, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int sig = 1; sig < 64 && off < len; sig++) {
		const char *a;

		if (!(w->sent & (UINT64_C(1) << sig)))
			continue;
		a = sigabbrev_np(sig);
		off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? ", " : "", a ? a : "?");
	}
	if (!buf[0])
		str_copy(buf, len, "none");
}

static void local_reap_retired(struct platform *p, int force);

/* w's process ended (how: "exited with status 1" ...; sig: the signal that
 * ended it, 0 for none or unknown): record it and decide on a restart. The
 * exit is marked "(expected: why)" only when we caused it: it ended on its
 * own after we asked, or by a signal we sent. Called with the lock held. */
static void local_reaped_how(struct platform *p, struct wl *w, const char *how, int sig)
{
	char detail[384], dur[32], sent[64];
	int64_t now = mono_ms(), up = now - w->started_ms;
	enum log_level lvl = LOG_INFO;

	local_drop_pidfd(w);
	w->pid = 0;
	if ((w->stopping || w->quick || w->expected) && !local_caused(w, sig)) {
		/* we asked it to go, it crashed instead: never excused */
		local_sent_names(w, sent, sizeof(sent));
		str_fmt(detail, sizeof(detail), "%s, not by a signal conformd sent (sent: %s, for %s)",
			how, sent, w->expected ? w->expected : "stop");
		lvl = LOG_WARN;
		if (w->stopping) {
			w->state = WL_EXITED;
		} else {
			w->backoff_ms = w->quick ? 0 : BACKOFF_FIRST_MS;
			w->state = WL_RESTARTING;
			w->restart_at_ms = now + w->backoff_ms;
		}
	} else if (w->stopping) {
		w->state = WL_EXITED;
		str_fmt(detail, sizeof(detail), "%s (expected: %s)", how,
			w->expected ? w->expected : "stop");
	} else if (w->quick) {
		/* asked for: start again at once, not a crash */
		w->backoff_ms = 0;
		w->state = WL_RESTARTING;
		w->restart_at_ms = now;
		str_fmt(detail, sizeof(detail), "%s (expected: %s), restart %u now", how,
			w->expected ? w->expected : "restart", w->restarts + 1);
	} else {
		if (up >= BACKOFF_RESET_MS)
			w->streak = 0;
		w->backoff_ms = BACKOFF_FIRST_MS;
		for (unsigned i = 0; i < w->streak && w->backoff_ms < BACKOFF_MAX_MS; i++)
			w->backoff_ms *= 2;
		if (w->backoff_ms > BACKOFF_MAX_MS)
			w->backoff_ms = BACKOFF_MAX_MS;
		w->streak++;
		w->state = WL_RESTARTING;
		w->restart_at_ms = now + w->backoff_ms;
		if (w->expected)
			str_fmt(detail, sizeof(detail), "%s (expected: %s), restart %u in %s", how,
				w->expected, w->restarts + 1, dur_format(w->backoff_ms, dur, sizeof(dur)));
		else {
			str_fmt(detail, sizeof(detail), "%s, restart %u in %s", how, w->restarts + 1,
				dur_format(w->backoff_ms, dur, sizeof(dur)));
			lvl = LOG_WARN;
		}
	}
	w->expected = NULL;
	w->sent = 0;
	w->quick = 0;
	{
		char q[400];

		log_kv(lvl, "workload exited", "name=%s detail=%s", w->spec.name,
		       log_quote(detail, q, sizeof(q)));
	}
	local_event(p, "workload.exit", w->spec.name, detail);
	local_persist(p);
}

static void local_reaped(struct platform *p, struct wl *w, int status)
{
	char how[96];
	int sig = local_describe(status, how, sizeof(how));

	local_reaped_how(p, w, how, sig);
}

/* An adopted process ended: we cannot learn its status (not our child). */
#define ADOPTED_EXIT "exited (status unknown: started by an earlier monitor)"

static int local_poll(struct platform *p)
{
	int exits = 0, status;
	size_t i;

	pthread_mutex_lock(&p->mu);
	local_reap_retired(p, 0);
	for (i = 0; i < p->n; i++) {
		struct wl *w = &p->wl[i];

		if (w->pid > 0 && w->adopted) {
			if (local_adopted_gone(p, w)) {
				local_reaped_how(p, w, ADOPTED_EXIT, 0);
				exits++;
			}
		} else if (w->pid > 0 && waitpid(w->pid, &status, WNOHANG) == w->pid) {
			local_reaped(p, w, status);
			exits++;
		}
		if (w->state == WL_RESTARTING && !w->stopping && mono_ms() >= w->restart_at_ms) {
			char err[256], detail[256], dur[32], q[300];

			if (local_spawn(p, w, err, sizeof(err)) < 0) {
				log_kv(LOG_ERROR, "workload restart failed", "name=%s err=%s",
				       w->spec.name, log_quote(err, q, sizeof(q)));
				/* try again after the next, longer backoff */
				w->started_ms = mono_ms();
				local_reaped(p, w, 127 << 8);
				continue;
			}
			w->restarts++;
			local_persist(p);
			str_fmt(detail, sizeof(detail), "restart %u in %s, pid %d", w->restarts,
				dur_format(w->backoff_ms, dur, sizeof(dur)), (int)w->pid);
			local_event(p, "workload.restart", w->spec.name, detail);
		}
	}
	pthread_mutex_unlock(&p->mu);
	return exits;
}

static int local_stop(struct platform *p, unsigned roles, int64_t grace_ms)
{
	int64_t deadline = mono_ms() + grace_ms;
	int killed = 0, status;
	size_t i, left;

	pthread_mutex_lock(&p->mu);
	if (roles & PLATFORM_ROLE_SIDECAR)
		local_reap_retired(p, 1);
	for (i = 0; i < p->n; i++) {
		struct wl *w = &p->wl[i];

		if (!(w->spec.role_bit & roles))
			continue;
		w->stopping = 1;
		if (w->pid > 0) {
			w->expected = "stop";
			local_signal(w, SIGTERM);
		} else {
			w->state = WL_EXITED;
		}
	}
	pthread_mutex_unlock(&p->mu);
	for (;;) {
		int late = mono_ms() >= deadline;

		left = 0;
		pthread_mutex_lock(&p->mu);
		for (i = 0; i < p->n; i++) {
			struct wl *w = &p->wl[i];

			if (!(w->spec.role_bit & roles) || w->pid <= 0)
				continue;
			if (w->adopted) {
				if (local_adopted_gone(p, w)) {
					local_reaped_how(p, w, ADOPTED_EXIT, 0);
					continue;
				}
			} else if (waitpid(w->pid, &status, WNOHANG) == w->pid) {
				local_reaped(p, w, status);
				continue;
			}
			if (late) {
				char d[32];

				log_kv(LOG_WARN, "workload did not stop in time, killing it",
				       "name=%s pid=%d grace=%s", w->spec.name, (int)w->pid,
				       dur_format(grace_ms, d, sizeof(d)));
				w->expected = "stop timed out, killed";
				local_signal(w, SIGKILL);
				if (w->adopted) {
					for (int k = 0; k < 40 && !local_adopted_gone(p, w); k++)
						nanosleep(&(struct timespec){ 0, 25 * 1000000L }, NULL);
					local_reaped_how(p, w, "killed (SIGKILL after the grace)", 0);
				} else if (waitpid(w->pid, &status, 0) == w->pid)
					local_reaped(p, w, status);
				else
					w->pid = 0;
				killed++;
				continue;
			}
			left++;
		}
		pthread_mutex_unlock(&p->mu);
		if (!left)
			break;
		nanosleep(&(struct timespec){ 0, 50 * 1000000L }, NULL);
	}
	return killed;
}

static int local_kill(struct platform *p, const char *name, int sig)
{
	struct wl *w;
	int rc = 0;

	pthread_mutex_lock(&p->mu);
	w = local_find(p, name);
	if (!w)
		rc = -ENOENT;
	else if (w->pid <= 0 || w->stopping)
		rc = -ESRCH;
	else if (local_signal(w, sig) < 0)
		rc = -errno;
	else
		w->expected = "kill fault";
	pthread_mutex_unlock(&p->mu);
	return rc;
}

/*
 * Restart a helper without a gap: its listeners use SO_REUSEPORT (a proxy
 * does by default), so the new instance starts next to the old one, which
 * gets SIGUSR1 (finish what is in flight, then exit) HANDOVER_MS later.
 * Lock held.
 */
static int local_handover(struct platform *p, struct wl *w)
{
	pid_t old = w->pid;
	int old_adopted = w->adopted;
	char err[256], detail[256], q[300];
	int rc;

	if (p->nretired >= MAX_RETIRED)
		return -EBUSY;
	rc = local_spawn(p, w, err, sizeof(err));
	if (rc < 0) {
		log_kv(LOG_ERROR, "restart failed", "name=%s err=%s", w->spec.name,
		       log_quote(err, q, sizeof(q)));
		w->pid = old;
		return rc;
	}
	p->retired[p->nretired].pid = old;
	p->retired[p->nretired].stop_at_ms = mono_ms() + HANDOVER_MS;
	p->retired[p->nretired].signalled = 0;
	p->retired[p->nretired].adopted = old_adopted;
	str_copy(p->retired[p->nretired].name, sizeof(p->retired[0].name), w->spec.name);
	p->nretired++;
	w->restarts++;
	local_persist(p);
	str_fmt(detail, sizeof(detail), "restart %u (handover from pid %d), pid %d", w->restarts,
		(int)old, (int)w->pid);
	local_event(p, "workload.restart", w->spec.name, detail);
	return 0;
}

/* Soft-stop retired helpers when due and reap them. Lock held. */
static void local_reap_retired(struct platform *p, int force)
{
	size_t i = 0;
	int status;

	while (i < p->nretired) {
		struct retired *r = &p->retired[i];

		if (!r->signalled && (force || mono_ms() >= r->stop_at_ms)) {
			kill(r->pid, force ? SIGTERM : SIGUSR1);
			r->signalled = 1;
		}
		if (r->adopted) {
			/* not our child: gone once kill(0) fails (init reaps it) */
			for (int k = 0; force && k < 200 && kill(r->pid, 0) == 0 &&
			     local_proc_state(r->pid) != 'Z'; k++)
				nanosleep(&(struct timespec){ 0, 25 * 1000000L }, NULL);
			if (kill(r->pid, 0) == 0 && local_proc_state(r->pid) != 'Z') {
				i++;
				continue;
			}
			log_kv(LOG_INFO, "retired instance exited", "name=%s pid=%d", r->name,
			       (int)r->pid);
			p->retired[i] = p->retired[--p->nretired];
			local_persist(p);
			continue;
		}
		if (waitpid(r->pid, &status, force ? 0 : WNOHANG) == r->pid) {
			char how[96];

			local_describe(status, how, sizeof(how));
			log_kv(LOG_INFO, "retired instance exited", "name=%s pid=%d detail=\"%s\"",
			       r->name, (int)r->pid, how);
			p->retired[i] = p->retired[--p->nretired];
			continue;
		}
		i++;
	}
}

static int local_restart(struct platform *p, const char *name)
{
	struct wl *w;
	int rc = 0;

	pthread_mutex_lock(&p->mu);
	w = local_find(p, name);
	if (!w)
		rc = -ENOENT;
	else if (w->pid <= 0 || w->stopping)
		rc = -ESRCH;
	else if (w->spec.ncommand > 0)
		rc = local_handover(p, w);
	else if (local_signal(w, SIGTERM) < 0)
		rc = -errno;
	else {
		w->expected = "restart";
		w->quick = 1;
	}
	pthread_mutex_unlock(&p->mu);
	return rc;
}

/* Does something accept TCP connections on "IP:PORT"? (200 ms at most) */
static int local_accepts(const char *addr)
{
	const char *colon = strrchr(addr, ':');
	struct sockaddr_in sa;
	struct pollfd pfd;
	char ip[INET_ADDRSTRLEN];
	int64_t port;
	int fd, ok = 0, soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (!colon || (size_t)(colon - addr) >= sizeof(ip) ||
	    parse_i64(colon + 1, 1, 65535, &port) < 0)
		return 0;
	memcpy(ip, addr, (size_t)(colon - addr));
	ip[colon - addr] = '\0';
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1)
		return 0;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		ok = 1;
	} else if (errno == EINPROGRESS) {
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, 200) == 1 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
			ok = 1;
	}
	close(fd);
	return ok;
}

/* A helper is ready once its listener accepts (remembered per instance). */
static int local_helper_ready(struct wl *w, struct workload_addr *out)
{
	if (w->ready_pid != w->pid) {
		if (!w->spec.ready_connect[0] || !local_accepts(w->spec.ready_connect))
			return -EAGAIN;
		w->ready_pid = w->pid;
	}
	memset(out, 0, sizeof(*out));
	out->instance = (uint64_t)w->pid;
	str_copy(out->listen, sizeof(out->listen), w->spec.ready_connect);
	return 0;
}

/* Parse a ready file; only the current instance's (pid matches) counts. */
static int local_read_ready(struct platform *p, struct wl *w, struct workload_addr *out)
{
	const cJSON *pid, *listen, *admin;
	cJSON *j;
	char *text;
	int rc = -EAGAIN;

	text = file_read(w->ready_path, READY_FILE_MAX, NULL);
	if (!text)
		return -EAGAIN;
	j = cJSON_Parse(text);
	free(text);
	if (!j)
		return -EAGAIN;
	pid = cJSON_GetObjectItemCaseSensitive(j, "pid");
	listen = cJSON_GetObjectItemCaseSensitive(j, "listen");
	admin = cJSON_GetObjectItemCaseSensitive(j, "admin");
	/* range first: converting an out-of-range double is undefined */
	if (!cJSON_IsNumber(pid) || !(pid->valuedouble >= 1 && pid->valuedouble <= INT32_MAX) ||
	    (pid_t)pid->valuedouble != w->pid)
		goto out;
	memset(out, 0, sizeof(*out));
	out->instance = (uint64_t)w->pid;
	if (cJSON_IsString(listen) &&
	    str_copy(out->listen, sizeof(out->listen), listen->valuestring) < 0)
		goto out;
	if (cJSON_IsString(admin) &&
	    str_copy(out->admin, sizeof(out->admin), admin->valuestring) < 0)
		goto out;
	/* remember the port so a restart listens where clients already point */
	if (out->listen[0] && (w->spec.role_bit & (ROLE_HTTP_SERVER | ROLE_GRPC_SERVER)) &&
	    strcmp(w->learned_listen, out->listen)) {
		str_copy(w->learned_listen, sizeof(w->learned_listen), out->listen);
		local_persist(p);
	}
	rc = 0;
out:
	cJSON_Delete(j);
	return rc;
}

static int local_addresses(struct platform *p, const char *name, struct workload_addr *out)
{
	struct wl *w;
	int rc;

	pthread_mutex_lock(&p->mu);
	w = local_find(p, name);
	if (!w)
		rc = -ENOENT;
	else if (w->state == WL_EXITED)
		rc = -ECHILD;
	else if (w->state == WL_RESTARTING || w->pid <= 0)
		rc = -EAGAIN;
	else if (w->spec.ncommand > 0)
		rc = local_helper_ready(w, out);
	else
		rc = local_read_ready(p, w, out);
	pthread_mutex_unlock(&p->mu);
	return rc;
}

static int local_log_path(struct platform *p, const char *name, char *out, size_t len)
{
	struct wl *w;
	int rc = -ENOENT;

	pthread_mutex_lock(&p->mu);
	w = local_find(p, name);
	if (w)
		rc = str_copy(out, len, w->log_path) < 0 ? -ENAMETOOLONG : 0;
	pthread_mutex_unlock(&p->mu);
	return rc;
}

static size_t local_list(struct platform *p, struct workload_status *out, size_t max)
{
	size_t i;

	pthread_mutex_lock(&p->mu);
	for (i = 0; i < p->n && i < max; i++) {
		struct wl *w = &p->wl[i];

		memset(&out[i], 0, sizeof(out[i]));
		str_copy(out[i].name, sizeof(out[i].name), w->spec.name);
		str_copy(out[i].role, sizeof(out[i].role), w->spec.role);
		out[i].instance = w->pid > 0 ? (uint64_t)w->pid : 0;
		out[i].state = w->state;
		out[i].restarts = w->restarts;
	}
	pthread_mutex_unlock(&p->mu);
	return i;
}

static void local_release(struct platform *p)
{
	size_t i;

	if (!p)
		return;
	/* last resort: nothing we started may outlive us */
	for (i = 0; i < p->nretired; i++) {
		int status;

		kill(p->retired[i].pid, SIGKILL);
		if (!p->retired[i].adopted)
			waitpid(p->retired[i].pid, &status, 0);
	}
	for (i = 0; i < p->n; i++) {
		if (p->wl[i].pid > 0 && p->wl[i].adopted) {
			/* taken over from an earlier monitor: a resume that failed
			 * leaves it to the next attempt (or `conform stop`) */
			log_kv(LOG_WARN, "adopted workload left running", "name=%s pid=%d",
			       p->wl[i].spec.name, (int)p->wl[i].pid);
			local_drop_pidfd(&p->wl[i]);
		} else if (p->wl[i].pid > 0) {
			int status;

			kill(p->wl[i].pid, SIGKILL);
			waitpid(p->wl[i].pid, &status, 0);
			log_kv(LOG_WARN, "workload killed at release", "name=%s", p->wl[i].spec.name);
		}
	}
	local_free_env(p->envp);
	local_free_env(p->envp_helper);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

static int local_adopt(struct platform *p, size_t *adopted, size_t *restarted, char *err,
		       size_t errlen)
{
	char path[PATH_MAX], *text;
	const cJSON *arr, *it;
	cJSON *root = NULL;
	size_t len;
	int rc = 0;

	*adopted = *restarted = 0;
	str_fmt(path, sizeof(path), "%s/supervisor.json", p->run_dir);
	text = file_read(path, 1u << 20, &len);
	if (!text) {
		str_fmt(err, errlen, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? -ENOENT : -EIO;
	}
	root = cJSON_ParseWithLength(text, len);
	free(text);
	arr = cJSON_GetObjectItemCaseSensitive(root, "workloads");
	if (!cJSON_IsArray(arr)) {
		str_fmt(err, errlen, "%s: not a supervisor state file", path);
		cJSON_Delete(root);
		return -EINVAL;
	}
	pthread_mutex_lock(&p->mu);
	if (p->n) {
		str_fmt(err, errlen, "adopt: workloads were started already");
		rc = -EBUSY;
		goto out;
	}
	cJSON_ArrayForEach(it, arr) {
		struct wl *w = &p->wl[p->n];
		char detail[256];

		if (p->n >= PLATFORM_MAX_WORKLOADS) {
			str_fmt(err, errlen, "%s: more than %d workloads", path,
				PLATFORM_MAX_WORKLOADS);
			rc = -E2BIG;
			goto out;
		}
		if (local_wl_from_json(it, w) < 0 || local_find(p, w->spec.name)) {
			str_fmt(err, errlen, "%s: workload %d is malformed", path, (int)p->n);
			rc = -EINVAL;
			goto out;
		}
		if (str_fmt(w->ready_path, sizeof(w->ready_path), "%s/wl/%s.ready", p->run_dir,
			    w->spec.name) < 0 ||
		    str_fmt(w->log_path, sizeof(w->log_path), "%s/logs/%s.log", p->run_dir,
			    w->spec.name) < 0) {
			str_fmt(err, errlen, "workload %s: path too long", w->spec.name);
			rc = -ENAMETOOLONG;
			goto out;
		}
		w->started_ms = mono_ms();
		if (w->pid > 0 && local_is_ours(p, w, w->pid)) {
			w->pidfd = local_pidfd_open(w->pid);
			/* the pidfd pins the process: check again that it is ours */
			if (w->pidfd >= 0 && !local_is_ours(p, w, w->pid)) {
				close(w->pidfd);
				w->pidfd = -1;
				goto gone;
			}
			w->adopted = 1;
			w->state = WL_RUNNING;
			p->n++;
			(*adopted)++;
			log_kv(LOG_INFO, "workload adopted", "name=%s role=%s pid=%d watch=%s",
			       w->spec.name, w->spec.role, (int)w->pid,
			       w->pidfd >= 0 ? "pidfd" : "kill0");
			str_fmt(detail, sizeof(detail), "adopted %s, pid %d", w->spec.role,
				(int)w->pid);
			local_event(p, "workload.adopt", w->spec.name, detail);
			continue;
		}
gone:
		/* it died while no monitor was watching: start it again now */
		str_fmt(detail, sizeof(detail), "exited while the monitor was down (pid %d), "
			"restart %u now", (int)w->pid, w->restarts + 1);
		log_kv(LOG_WARN, "workload exited", "name=%s detail=\"%s\"", w->spec.name, detail);
		local_event(p, "workload.exit", w->spec.name, detail);
		w->pid = 0;
		w->state = WL_RESTARTING;
		w->restart_at_ms = mono_ms();
		w->backoff_ms = 0;
		w->streak++;
		p->n++;
		(*restarted)++;
	}
	/* old helper instances a handover left: give them their soft stop */
	arr = cJSON_GetObjectItemCaseSensitive(root, "retired");
	cJSON_ArrayForEach(it, arr) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "name");
		const cJSON *pid = cJSON_GetObjectItemCaseSensitive(it, "pid");
		struct wl *w;

		if (!cJSON_IsString(name) || !cJSON_IsNumber(pid) || !(pid->valuedouble >= 2 &&
		    pid->valuedouble <= INT32_MAX) || !(w = local_find(p, name->valuestring)) ||
		    w->spec.ncommand == 0 || (pid_t)pid->valuedouble == w->pid ||
		    !local_is_ours(p, w, (pid_t)pid->valuedouble) || p->nretired >= MAX_RETIRED)
			continue;
		p->retired[p->nretired].pid = (pid_t)pid->valuedouble;
		p->retired[p->nretired].stop_at_ms = mono_ms();
		p->retired[p->nretired].signalled = 0;
		p->retired[p->nretired].adopted = 1;
		str_copy(p->retired[p->nretired].name, sizeof(p->retired[0].name), w->spec.name);
		p->nretired++;
	}
	local_persist(p);
out:
	if (rc < 0) {
		/* nothing half-adopted: the processes are left as they were */
		for (size_t i = 0; i < p->n; i++)
			local_drop_pidfd(&p->wl[i]);
		p->n = 0;
		p->nretired = 0;
	}
	pthread_mutex_unlock(&p->mu);
	cJSON_Delete(root);
	return rc;
}

const struct platform_ops platform_local = {
	.name = "local",
	.caps = PLATFORM_CAP_PROCESSES | PLATFORM_CAP_HELPERS,
	.prepare = local_prepare,
	.start = local_start,
	.stop = local_stop,
	.poll = local_poll,
	.kill = local_kill,
	.restart = local_restart,
	.addresses = local_addresses,
	.log_path = local_log_path,
	.list = local_list,
	.release = local_release,
	.adopt = local_adopt,
};
