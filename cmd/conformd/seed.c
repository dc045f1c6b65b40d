/*
 * seed.c - conformd in a pod (`--seed DIR`): the run the CLI handed over
 * (the Secret conform-run mounted at DIR: run.json and token) becomes the
 * run directory on conformd's volume on first start, and a replaced pod
 * finds it there and resumes it, as `conform start --resume` does locally.
 * One run per volume (one per namespace): a new run replaces a finished one,
 * never one in progress.
 */
#include "conformd.h"
#include "config/state.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int exists(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	return str_fmt(path, sizeof(path), "%s/%s", dir, name) == 0 && stat(path, &st) == 0;
}

/* The run directory of the seed's run, made from scratch. */
static int seed_fresh(const struct run_config *seed, const char *run_dir, char *err,
		      size_t errlen)
{
	static const char *const subs[] = { "logs", "reports", "wl" };
	struct run_config c = *seed;
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(subs); i++) {
		if (str_fmt(path, sizeof(path), "%s/%s", run_dir, subs[i]) ||
		    mkdir_p(path, 0700) < 0) {
			str_fmt(err, errlen, "cannot create %s: %s", path, strerror(errno));
			return -1;
		}
	}
	c.started = 0;
	c.collector_port = 0;
	c.api_port = 0;
	str_copy(c.run_dir, sizeof(c.run_dir), run_dir);
	if (str_fmt(path, sizeof(path), "%s/run.json", run_dir) || run_config_save(&c, path) < 0) {
		str_fmt(err, errlen, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Move a finished (or never started) run aside to RUN_DIR/../runs/ID. */
static int seed_archive(const struct run_config *old, const char *run_dir, char *err,
			size_t errlen)
{
	char parent[PATH_MAX], to[PATH_MAX], *slash;

	str_copy(parent, sizeof(parent), run_dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	else
		str_copy(parent, sizeof(parent), ".");
	if (!state_run_id_valid(old->id) ||
	    str_fmt(to, sizeof(to), "%s/runs/%s", parent, old->id)) {
		str_fmt(err, errlen, "%s/run.json: run id \"%s\" is not one conform makes; "
			"remove %s", run_dir, old->id, run_dir);
		return -1;
	}
	if (str_fmt(parent + strlen(parent), sizeof(parent) - strlen(parent), "/runs") ||
	    mkdir_p(parent, 0700) < 0 || rename(run_dir, to) < 0) {
		str_fmt(err, errlen, "cannot move the previous run %s to %s: %s", old->id, to,
			strerror(errno));
		return -1;
	}
	log_kv(LOG_INFO, "previous run moved aside", "run=%s to=%s", old->id, to);
	return 0;
}

int daemon_seed(const char *seed_dir, const char *run_dir, enum seed_action *act, char *err,
		size_t errlen)
{
	struct run_config seed, cur;
	char path[PATH_MAX], e2[512];

	*act = SEED_START;
	if (str_fmt(path, sizeof(path), "%s/run.json", seed_dir) ||
	    run_config_load(path, &seed, e2, sizeof(e2)) < 0) {
		str_fmt(err, errlen, "the handed-over run %s: %s (conform start creates the "
			"Secret conform-run with run.json)", path, e2);
		return -1;
	}
	if (!state_run_id_valid(seed.id)) {
		str_fmt(err, errlen, "%s: run id \"%s\" is not one conform makes", path, seed.id);
		return -1;
	}
	if (str_fmt(path, sizeof(path), "%s/run.json", run_dir) ||
	    !exists(run_dir, "run.json"))
		return seed_fresh(&seed, run_dir, err, errlen);
	if (run_config_load(path, &cur, e2, sizeof(e2)) < 0) {
		str_fmt(err, errlen, "%s: %s (remove %s to start over)", path, e2, run_dir);
		return -1;
	}
	if (exists(run_dir, "reports/report.json")) {
		if (!strcmp(cur.id, seed.id)) {
			*act = SEED_FINISHED;
			return 0;
		}
		if (seed_archive(&cur, run_dir, err, errlen) < 0)
			return -1;
		return seed_fresh(&seed, run_dir, err, errlen);
	}
	if (cur.started > 0 && cur.collector_port > 0) {
		if (strcmp(cur.id, seed.id)) {
			str_fmt(err, errlen, "run %s is still in progress on this volume: stop it "
				"(conform stop) before run %s starts", cur.id, seed.id);
			return -1;
		}
		*act = SEED_RESUME;
		return 0;
	}
	/* never got as far as traffic: start it (again) from scratch */
	if (strcmp(cur.id, seed.id) && seed_archive(&cur, run_dir, err, errlen) < 0)
		return -1;
	return seed_fresh(&seed, run_dir, err, errlen);
}
