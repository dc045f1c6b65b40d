/*
 * state.h - the CLI's view of the state directory: where it is, how run ids
 * and run directories are made, the `current` link, the `lock` taken around
 * `start`, and what state a run is in (is its conformd alive, did it finish).
 * See docs/internals.md "State and run directories".
 *
 * Errors: functions return 0 (or a documented positive value) or -1 and, when
 * given err/errlen, write a lowercase "what: why" message there. Nothing here
 * prints or exits.
 */
#ifndef CONFORM_STATE_H
#define CONFORM_STATE_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#include "config/run.h"

#define CONFORM_VERSION "0.1.0"

/*
 * Resolve the state directory: flag (--state-dir) if not NULL/empty, else
 * $CONFORM_STATE_DIR, else $XDG_STATE_HOME/conform, else
 * $HOME/.local/state/conform. The result is made absolute (relative to the
 * working directory) but not created. 0 or -1 (no HOME, path too long).
 */
int state_dir_resolve(const char *flag, char *out, size_t len, char *err, size_t errlen);

/* Create the state directory (0700, with parents) and STATE/runs. 0 or -1. */
int state_dir_create(const char *state_dir, char *err, size_t errlen);

/*
 * A new run id "YYYYMMDD-HHMMSS-xxxx" (UTC time, 4 random hex chars) into
 * buf (len >= RUN_ID_MAX is plenty). Ids sort by creation time.
 */
void state_new_run_id(char *buf, size_t len);
/* Is s a well-formed run id (as made above)? 1 or 0. Guards path building. */
int state_run_id_valid(const char *s);

/* STATE/runs/ID into out. 0 or -1 (too long or bad id). */
int state_run_dir(const char *state_dir, const char *id, char *out, size_t len);

/*
 * Create runs/ID (0700) with logs/, reports/ and wl/ below it. Fails with
 * EEXIST if the run directory already exists. 0 or -1.
 */
int state_run_dir_create(const char *run_dir, char *err, size_t errlen);

/*
 * Write a new 32-hex-char token to RUN/token (0600) and copy it into tok
 * (toklen >= 33). 0 or -1.
 */
int state_token_create(const char *run_dir, char *tok, size_t toklen, char *err, size_t errlen);

/*
 * The lock file STATE/lock, flock()ed exclusively. Waits at most wait_ms for
 * another holder (a concurrent `start`). On success *fd holds the lock until
 * state_unlock(*fd). 0, or -1 (errno EWOULDBLOCK when the wait timed out).
 */
int state_lock(const char *state_dir, long wait_ms, int *fd, char *err, size_t errlen);
void state_unlock(int fd);

/*
 * The `current` link. state_current_get writes the run id it names into id:
 * returns 1 when there is a current run, 0 when there is none, -1 on error
 * (e.g. the link names something that is not a run id).
 * state_current_set points it at runs/ID atomically; state_current_clear
 * removes it (no error when absent).
 */
int state_current_get(const char *state_dir, char *id, size_t len);
int state_current_set(const char *state_dir, const char *id);
int state_current_clear(const char *state_dir);

/*
 * The most recent run in STATE/runs (ids sort by time) into id.
 * 1 found, 0 none, -1 error.
 */
int state_latest_run(const char *state_dir, char *id, size_t len);

/* Read RUN/conformd.pid. 1 and *pid when present and valid, 0 when absent,
 * -1 when unreadable or malformed. */
int state_pid_read(const char *run_dir, pid_t *pid);

/*
 * Is pid a live conformd? The process must exist, not be a zombie, and its
 * /proc/PID/cmdline argv[0] must name conformd (basename), so a recycled pid
 * is not mistaken for the monitor. 1 or 0.
 */
int state_pid_is_conformd(pid_t pid);
/* Same check for any program name (basename of argv[0] == prog). */
int state_pid_is_prog(pid_t pid, const char *prog);

/*
 * Processes a dead monitor left behind: the pids named by RUN/wl/\*.ready
 * whose process is alive and is conform-workload (checked as above), and
 * the helpers (mesh sidecars) of RUN/supervisor.json whose process is alive
 * and runs the program it names. Fills at most max pids. Returns the number
 * found, or -1 when wl/ is unreadable. state_pid_left_alive tells whether
 * such a pid still runs what it ran (for the wait after a TERM).
 */
int state_pid_left_alive(const char *run_dir, pid_t pid);
int state_live_workloads(const char *run_dir, pid_t *pids, size_t max);

/*
 * The run clock and the monitor's heartbeat (conformd; README "Crash
 * safety"). Window boundaries are anchored at the run's start in unix
 * seconds, but when windows are evaluated and when the run ends follow
 * CLOCK_MONOTONIC, so a wall-clock jump neither creates nor drops windows.
 *
 * RUN/clock.json keeps the anchor: the unix start and the monotonic ms it
 * corresponds to, with the kernel's boot id (the monotonic clock only means
 * something within one boot). RUN/heartbeat holds the unix time conformd
 * last wrote it (every second): after a crash it says when the monitor
 * stopped watching.
 */
struct state_clock {
	double started;               /* unix s of the run's start */
	int64_t started_mono_ms;      /* mono_ms() at that moment */
	char boot_id[40];             /* /proc/sys/kernel/random/boot_id, "" unknown */
};
int state_clock_save(const char *run_dir, const struct state_clock *c);
/* 0, or -1 when absent or malformed. */
int state_clock_load(const char *run_dir, struct state_clock *c);
/* This boot's id into out ("" when unknown). */
void state_boot_id(char *out, size_t len);
/*
 * The monotonic ms a run started at `started` corresponds to, for a monitor
 * that resumes it: the saved anchor when it is of this boot (same boot id,
 * not in the future), else derived once from the wall clock
 * (mono_now - (wall_now - started)). saved may be NULL. Pure.
 */
int64_t state_clock_anchor(const struct state_clock *saved, const char *boot_id,
			   double started, double wall_now, int64_t mono_now);
/* The run's "now" in unix seconds: started + the monotonic time since the
 * anchor. Pure: a wall-clock jump does not move it. */
double state_run_now(double started, int64_t anchor_mono_ms, int64_t mono_now);
/*
 * Where a resumed monitor's gap starts (unix s): the last heartbeat says the
 * monitor was alive, not that what it received was stored. Evidence that is
 * never resent (the tap feed's lines) is stored through tap_mark (unix s,
 * <= 0: no feed), and a line arrives up to tap_max_delay_s after the second
 * its request was sent in, so requests sent after tap_mark - tap_max_delay_s
 * may have lost their lines. The earlier of the two, never before started.
 */
double state_gap_from(double heartbeat, double tap_mark, double tap_max_delay_s,
		      double started);

/* Write / read RUN/heartbeat (unix s). 0 or -1. */
int state_heartbeat_write(const char *run_dir, double wall);
int state_heartbeat_read(const char *run_dir, double *wall);

enum run_state {
	RUN_STATE_NONE = 0,     /* no such run directory */
	RUN_STATE_RUNNING,      /* conformd alive (maybe starting or finishing) */
	RUN_STATE_DIED,         /* no live conformd and no report: ended abnormally */
	RUN_STATE_FINISHED,     /* reports/report.json present, no live conformd */
};
const char *run_state_name(enum run_state s); /* "none" "running" "monitor-died" "finished" */

/*
 * What state is the run in RUN in? *pid (may be NULL) receives the pid from
 * conformd.pid when the file exists (else 0).
 */
enum run_state state_run_state(const char *run_dir, pid_t *pid);

#endif
