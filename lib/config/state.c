/*
 * state.c - state directory resolution, run ids and run directories, the
 * `current` link, the start lock and run state detection for the CLI.
 * The pid check reads /proc so a recycled pid is never taken for conformd.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "config/state.h"
#include "base/util.h"

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int state_dir_resolve(const char *flag, char *out, size_t len, char *err, size_t errlen)
{
	const char *env;
	char raw[PATH_MAX];
	char cwd[PATH_MAX];

	if (flag && *flag) {
		if (str_copy(raw, sizeof(raw), flag))
			goto toolong;
	} else if ((env = getenv("CONFORM_STATE_DIR")) && *env) {
		if (str_copy(raw, sizeof(raw), env))
			goto toolong;
	} else if ((env = getenv("XDG_STATE_HOME")) && *env) {
		if (str_fmt(raw, sizeof(raw), "%s/conform", env))
			goto toolong;
	} else if ((env = getenv("HOME")) && *env) {
		if (str_fmt(raw, sizeof(raw), "%s/.local/state/conform", env))
			goto toolong;
	} else {
		set_err(err, errlen, "state directory: neither --state-dir, CONFORM_STATE_DIR, "
			"XDG_STATE_HOME nor HOME is set");
		return -1;
	}
	if (raw[0] == '/') {
		if (str_copy(out, len, raw))
			goto toolong;
		return 0;
	}
	if (!getcwd(cwd, sizeof(cwd))) {
		set_err(err, errlen, "state directory: cannot read the working directory: %s",
			strerror(errno));
		return -1;
	}
	if (str_fmt(out, len, "%s/%s", strcmp(cwd, "/") ? cwd : "", raw))
		goto toolong;
	return 0;
toolong:
	set_err(err, errlen, "state directory: path too long");
	return -1;
}

int state_dir_create(const char *state_dir, char *err, size_t errlen)
{
	char runs[PATH_MAX];

	if (str_fmt(runs, sizeof(runs), "%s/runs", state_dir)) {
		set_err(err, errlen, "%s: path too long", state_dir);
		return -1;
	}
	if (mkdir_p(runs, 0700)) {
		set_err(err, errlen, "cannot create %s: %s", runs, strerror(errno));
		return -1;
	}
	return 0;
}

void state_new_run_id(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;
	char stamp[32];
	char hex[8];

	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	rand_hex(hex, 4);
	str_fmt(buf, len, "%s-%s", stamp, hex);
}

int state_run_id_valid(const char *s)
{
	/* DDDDDDDD-DDDDDD-xxxx */
	static const char pat[] = "dddddddd-dddddd-xxxx";
	size_t i;

	if (!s || strlen(s) != sizeof(pat) - 1)
		return 0;
	for (i = 0; pat[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (pat[i] == 'd' && !isdigit(c))
			return 0;
		if (pat[i] == 'x' && !(isdigit(c) || (c >= 'a' && c <= 'f')))
			return 0;
		if (pat[i] == '-' && c != '-')
			return 0;
	}
	return 1;
}

int state_run_dir(const char *state_dir, const char *id, char *out, size_t len)
{
	if (!state_run_id_valid(id)) {
		errno = EINVAL;
		return -1;
	}
	if (str_fmt(out, len, "%s/runs/%s", state_dir, id)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int state_run_dir_create(const char *run_dir, char *err, size_t errlen)
{
	static const char *const subs[] = { "logs", "reports", "wl" };
	char p[PATH_MAX];
	size_t i;

	if (mkdir(run_dir, 0700)) {
		set_err(err, errlen, "cannot create %s: %s", run_dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < ARRAY_SIZE(subs); i++) {
		if (str_fmt(p, sizeof(p), "%s/%s", run_dir, subs[i])) {
			set_err(err, errlen, "%s: path too long", run_dir);
			return -1;
		}
		if (mkdir(p, 0700)) {
			set_err(err, errlen, "cannot create %s: %s", p, strerror(errno));
			return -1;
		}
	}
	return 0;
}

int state_token_create(const char *run_dir, char *tok, size_t toklen, char *err, size_t errlen)
{
	char path[PATH_MAX];

	if (toklen < 33) {
		set_err(err, errlen, "token: buffer too small");
		return -1;
	}
	if (str_fmt(path, sizeof(path), "%s/token", run_dir)) {
		set_err(err, errlen, "%s: path too long", run_dir);
		return -1;
	}
	rand_hex(tok, 32);
	if (file_write_atomic(path, tok, 32, 0600)) {
		set_err(err, errlen, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int state_lock(const char *state_dir, long wait_ms, int *fd, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int64_t deadline = mono_ms() + wait_ms;
	int f;

	if (str_fmt(path, sizeof(path), "%s/lock", state_dir)) {
		set_err(err, errlen, "%s: path too long", state_dir);
		return -1;
	}
	/* O_CLOEXEC: a spawned conformd must not inherit (and keep) the lock */
	f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (f < 0) {
		set_err(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };

		if (!flock(f, LOCK_EX | LOCK_NB))
			break;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			set_err(err, errlen, "cannot lock %s: %s", path, strerror(errno));
			close(f);
			return -1;
		}
		if (mono_ms() >= deadline) {
			set_err(err, errlen, "%s is held by another conform start", path);
			close(f);
			errno = EWOULDBLOCK;
			return -1;
		}
		nanosleep(&ts, NULL);
	}
	*fd = f;
	return 0;
}

void state_unlock(int fd)
{
	if (fd < 0)
		return;
	flock(fd, LOCK_UN);
	close(fd);
}

int state_current_get(const char *state_dir, char *id, size_t len)
{
	char path[PATH_MAX];
	char target[PATH_MAX];
	const char *base;
	ssize_t n;

	if (str_fmt(path, sizeof(path), "%s/current", state_dir))
		return -1;
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return errno == ENOENT ? 0 : -1;
	target[n] = '\0';
	while (n > 1 && target[n - 1] == '/')
		target[--n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (!state_run_id_valid(base)) {
		errno = EINVAL;
		return -1;
	}
	if (str_copy(id, len, base))
		return -1;
	return 1;
}

int state_current_set(const char *state_dir, const char *id)
{
	char path[PATH_MAX];
	char tmp[PATH_MAX];
	char target[PATH_MAX];

	if (!state_run_id_valid(id)) {
		errno = EINVAL;
		return -1;
	}
	/* relative target: a copied state directory still works */
	if (str_fmt(path, sizeof(path), "%s/current", state_dir) ||
	    str_fmt(tmp, sizeof(tmp), "%s/current.tmp.%ld", state_dir, (long)getpid()) ||
	    str_fmt(target, sizeof(target), "runs/%s", id)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	unlink(tmp);
	if (symlink(target, tmp))
		return -1;
	if (rename(tmp, path)) {
		int saved = errno;

		unlink(tmp);
		errno = saved;
		return -1;
	}
	return 0;
}

int state_current_clear(const char *state_dir)
{
	char path[PATH_MAX];

	if (str_fmt(path, sizeof(path), "%s/current", state_dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (unlink(path) && errno != ENOENT)
		return -1;
	return 0;
}

int state_latest_run(const char *state_dir, char *id, size_t len)
{
	char runs[PATH_MAX];
	char best[RUN_ID_MAX] = "";
	struct dirent *de;
	DIR *d;

	if (str_fmt(runs, sizeof(runs), "%s/runs", state_dir))
		return -1;
	d = opendir(runs);
	if (!d)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d))) {
		if (!state_run_id_valid(de->d_name))
			continue;
		if (strcmp(de->d_name, best) > 0)
			str_copy(best, sizeof(best), de->d_name);
	}
	closedir(d);
	if (!best[0])
		return 0;
	if (str_copy(id, len, best))
		return -1;
	return 1;
}

int state_pid_read(const char *run_dir, pid_t *pid)
{
	char path[PATH_MAX];
	char *text;
	char *nl;
	int64_t v;
	size_t n;

	if (str_fmt(path, sizeof(path), "%s/conformd.pid", run_dir))
		return -1;
	text = file_read(path, 64, &n);
	if (!text)
		return errno == ENOENT ? 0 : -1;
	nl = strchr(text, '\n');
	if (nl)
		*nl = '\0';
	if (parse_i64(text, 1, INT32_MAX, &v)) {
		free(text);
		errno = EINVAL;
		return -1;
	}
	free(text);
	*pid = (pid_t)v;
	return 1;
}

/* Process state letter from /proc/PID/stat ('Z' zombie), or 0 if unknown. */
static char proc_state(pid_t pid)
{
	char path[64];
	char *text;
	char *rp;
	char st = 0;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	text = file_read(path, 4096, &n);
	if (!text)
		return 0;
	rp = strrchr(text, ')'); /* comm may hold spaces and parens */
	if (rp && rp[1] == ' ' && rp[2])
		st = rp[2];
	free(text);
	return st;
}

int state_pid_is_prog(pid_t pid, const char *prog)
{
	char path[64];
	char *text;
	const char *base;
	size_t n;
	int ok;

	if (pid <= 0)
		return 0;
	if (kill(pid, 0) && errno != EPERM)
		return 0;
	if (proc_state(pid) == 'Z')
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)pid);
	text = file_read(path, 4096, &n);
	if (!text)
		return 0;
	/* argv[0] ends at the first NUL (file_read NUL-terminates too) */
	base = strrchr(text, '/');
	base = base ? base + 1 : text;
	ok = n > 0 && !strcmp(base, prog);
	free(text);
	return ok;
}

int state_pid_is_conformd(pid_t pid)
{
	return state_pid_is_prog(pid, "conformd");
}

/* The helper programs (basenames) and pids of RUN/supervisor.json. */
static size_t helpers_of(const char *run_dir, char names[][64], pid_t *pids, size_t max)
{
	char path[PATH_MAX];
	const cJSON *arr, *it;
	cJSON *root;
	char *text;
	size_t n, found = 0;

	if (str_fmt(path, sizeof(path), "%s/supervisor.json", run_dir))
		return 0;
	text = file_read(path, 1u << 20, &n);
	if (!text)
		return 0;
	root = cJSON_ParseWithLength(text, n);
	free(text);
	arr = cJSON_GetObjectItemCaseSensitive(root, "workloads");
	cJSON_ArrayForEach(it, arr) {
		const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(it, "command");
		const cJSON *pid = cJSON_GetObjectItemCaseSensitive(it, "pid");
		const cJSON *c0 = cJSON_GetArrayItem(cmd, 0);
		const char *base;

		if (found >= max || !cJSON_IsString(c0) || !c0->valuestring ||
		    !cJSON_IsNumber(pid) || !(pid->valuedouble >= 2 && pid->valuedouble <= INT32_MAX))
			continue;
		base = strrchr(c0->valuestring, '/');
		base = base ? base + 1 : c0->valuestring;
		if (str_copy(names[found], 64, base))
			continue;
		pids[found++] = (pid_t)pid->valuedouble;
	}
	cJSON_Delete(root);
	return found;
}

int state_pid_left_alive(const char *run_dir, pid_t pid)
{
	char names[32][64];
	pid_t hp[32];
	size_t n = helpers_of(run_dir, names, hp, 32), i;

	if (state_pid_is_prog(pid, "conform-workload"))
		return 1;
	for (i = 0; i < n; i++)
		if (hp[i] == pid && state_pid_is_prog(pid, names[i]))
			return 1;
	return 0;
}

int state_live_workloads(const char *run_dir, pid_t *pids, size_t max)
{
	char wl[PATH_MAX], path[PATH_MAX];
	struct dirent *de;
	size_t found = 0;
	DIR *d;

	if (str_fmt(wl, sizeof(wl), "%s/wl", run_dir))
		return -1;
	d = opendir(wl);
	if (!d)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) && found < max) {
		size_t len = strlen(de->d_name), n;
		const cJSON *pid;
		cJSON *j;
		char *text;

		if (len < 7 || strcmp(de->d_name + len - 6, ".ready"))
			continue;
		if (str_fmt(path, sizeof(path), "%s/%s", wl, de->d_name))
			continue;
		text = file_read(path, 4096, &n);
		if (!text)
			continue;
		j = cJSON_ParseWithLength(text, n);
		free(text);
		pid = cJSON_GetObjectItemCaseSensitive(j, "pid");
		if (cJSON_IsNumber(pid) && pid->valuedouble >= 2 && pid->valuedouble <= INT32_MAX &&
		    state_pid_is_prog((pid_t)pid->valuedouble, "conform-workload"))
			pids[found++] = (pid_t)pid->valuedouble;
		cJSON_Delete(j);
	}
	closedir(d);
	{
		char names[32][64];
		pid_t hp[32];
		size_t n = helpers_of(run_dir, names, hp, 32), i, k;

		for (i = 0; i < n && found < max; i++) {
			for (k = 0; k < found && pids[k] != hp[i]; k++)
				;
			if (k == found && state_pid_is_prog(hp[i], names[i]))
				pids[found++] = hp[i];
		}
	}
	return (int)found;
}

/* ---- the run clock and the heartbeat ---- */

void state_boot_id(char *out, size_t len)
{
	char *text = file_read("/proc/sys/kernel/random/boot_id", 128, NULL);
	size_t n;

	out[0] = '\0';
	if (!text)
		return;
	n = strcspn(text, "\n");
	text[n] = '\0';
	str_copy(out, len, text);
	free(text);
}

int state_clock_save(const char *run_dir, const struct state_clock *c)
{
	char path[PATH_MAX], buf[256];

	if (str_fmt(path, sizeof(path), "%s/clock.json", run_dir) ||
	    str_fmt(buf, sizeof(buf), "{\"started\":%.6f,\"started_mono_ms\":%lld,"
		    "\"boot_id\":\"%s\"}\n", c->started, (long long)c->started_mono_ms,
		    c->boot_id))
		return -1;
	return file_write_atomic(path, buf, strlen(buf), 0600);
}

int state_clock_load(const char *run_dir, struct state_clock *c)
{
	char path[PATH_MAX], *text;
	const cJSON *st, *mono, *boot;
	cJSON *j;
	size_t n;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	if (str_fmt(path, sizeof(path), "%s/clock.json", run_dir))
		return -1;
	text = file_read(path, 4096, &n);
	if (!text)
		return -1;
	j = cJSON_ParseWithLength(text, n);
	free(text);
	st = cJSON_GetObjectItemCaseSensitive(j, "started");
	mono = cJSON_GetObjectItemCaseSensitive(j, "started_mono_ms");
	boot = cJSON_GetObjectItemCaseSensitive(j, "boot_id");
	if (cJSON_IsNumber(st) && st->valuedouble > 0 && st->valuedouble < 1e11 &&
	    cJSON_IsNumber(mono) && mono->valuedouble >= 0 && mono->valuedouble < 9e15 &&
	    cJSON_IsString(boot) && !str_copy(c->boot_id, sizeof(c->boot_id), boot->valuestring)) {
		c->started = st->valuedouble;
		c->started_mono_ms = (int64_t)mono->valuedouble;
		rc = 0;
	}
	cJSON_Delete(j);
	return rc;
}

int64_t state_clock_anchor(const struct state_clock *saved, const char *boot_id,
			   double started, double wall_now, int64_t mono_now)
{
	if (saved && saved->boot_id[0] && boot_id && !strcmp(saved->boot_id, boot_id) &&
	    saved->started_mono_ms <= mono_now &&
	    (int64_t)(saved->started * 1000.0) == (int64_t)(started * 1000.0))
		return saved->started_mono_ms;
	/* another boot (or no saved anchor): the wall clock, once */
	return mono_now - (int64_t)((wall_now - started) * 1000.0);
}

double state_run_now(double started, int64_t anchor_mono_ms, int64_t mono_now)
{
	return started + (double)(mono_now - anchor_mono_ms) / 1000.0;
}

double state_gap_from(double heartbeat, double tap_mark, double tap_max_delay_s,
		      double started)
{
	double from = heartbeat;

	if (tap_mark > 0 && tap_mark - tap_max_delay_s < from)
		from = tap_mark - tap_max_delay_s;
	return from > started ? from : started;
}

int state_heartbeat_write(const char *run_dir, double wall)
{
	char path[PATH_MAX], tmp[PATH_MAX], buf[64];
	int fd, rc = -1;
	size_t len;

	/* a plain rename without fsync: it is written every second, and a
	 * heartbeat lost to a power cut only makes the gap look longer */
	if (str_fmt(path, sizeof(path), "%s/heartbeat", run_dir) ||
	    str_fmt(tmp, sizeof(tmp), "%s/heartbeat.tmp", run_dir) ||
	    str_fmt(buf, sizeof(buf), "%.3f\n", wall))
		return -1;
	len = strlen(buf);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (write(fd, buf, len) == (ssize_t)len)
		rc = 0;
	if (close(fd) || rc || rename(tmp, path)) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

int state_heartbeat_read(const char *run_dir, double *wall)
{
	char path[PATH_MAX], *text;
	size_t n;
	int rc;

	if (str_fmt(path, sizeof(path), "%s/heartbeat", run_dir))
		return -1;
	text = file_read(path, 64, &n);
	if (!text)
		return -1;
	text[strcspn(text, "\n")] = '\0';
	rc = parse_double(text, 1, 1e11, wall);
	free(text);
	return rc;
}

const char *run_state_name(enum run_state s)
{
	switch (s) {
	case RUN_STATE_NONE: return "none";
	case RUN_STATE_RUNNING: return "running";
	case RUN_STATE_DIED: return "monitor-died";
	case RUN_STATE_FINISHED: return "finished";
	}
	return "unknown";
}

enum run_state state_run_state(const char *run_dir, pid_t *pid)
{
	char path[PATH_MAX];
	struct stat st;
	pid_t p = 0;

	if (pid)
		*pid = 0;
	if (stat(run_dir, &st) || !S_ISDIR(st.st_mode))
		return RUN_STATE_NONE;
	if (state_pid_read(run_dir, &p) == 1) {
		if (pid)
			*pid = p;
		if (state_pid_is_conformd(p))
			return RUN_STATE_RUNNING;
	}
	if (str_fmt(path, sizeof(path), "%s/reports/report.json", run_dir))
		return RUN_STATE_DIED;
	if (!stat(path, &st) && S_ISREG(st.st_mode))
		return RUN_STATE_FINISHED;
	return RUN_STATE_DIED;
}
