/*
 * runs.c - the runs of a state directory read back from their files (run.json,
 * reports/report.json, conform.db), so runs and history work on finished,
 * crashed and copied runs alike; and the pruning that bounds how many stay.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "config/runs.h"
#include "store/store.h"
#include "base/util.h"

#define RUNS_REPORT_MAX (64u << 20)   /* report.json of a week-long run is far less */

static int cmp_id(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The run ids under STATE/runs, sorted: a new array of new strings. */
static int list_ids(const char *state_dir, char ***out, size_t *n, char *err, size_t errlen)
{
	char path[PATH_MAX];
	char **ids = NULL;
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	DIR *d;

	*out = NULL;
	*n = 0;
	if (str_fmt(path, sizeof(path), "%s/runs", state_dir)) {
		str_fmt(err, errlen, "%s/runs: path too long", state_dir);
		return -1;
	}
	d = opendir(path);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		str_fmt(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		if (!state_run_id_valid(de->d_name))
			continue;
		if (cnt >= RUNS_MAX)
			break;
		if (cnt == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			char **nids = realloc(ids, ncap * sizeof(*ids));

			if (!nids)
				goto oom;
			ids = nids;
			cap = ncap;
		}
		ids[cnt] = strdup(de->d_name);
		if (!ids[cnt])
			goto oom;
		cnt++;
	}
	closedir(d);
	if (cnt)
		qsort(ids, cnt, sizeof(*ids), cmp_id);
	*out = ids;
	*n = cnt;
	return 0;
oom:
	closedir(d);
	while (cnt)
		free(ids[--cnt]);
	free(ids);
	str_fmt(err, errlen, "%s: out of memory", path);
	return -1;
}

static void free_ids(char **ids, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

static enum verdict verdict_of(const cJSON *v)
{
	if (!cJSON_IsString(v))
		return V_NODATA;
	if (!strcmp(v->valuestring, "pass"))
		return V_PASS;
	if (!strcmp(v->valuestring, "fail"))
		return V_FAIL;
	if (!strcmp(v->valuestring, "skip"))
		return V_SKIP;
	if (!strcmp(v->valuestring, "inconclusive"))
		return V_INCONCLUSIVE;
	return V_NODATA;
}

/* Fill e from reports/report.json (reports/SCHEMA.md); 0 when absent or unreadable. */
static void read_report(const char *run_dir, struct runs_entry *e)
{
	char path[PATH_MAX];
	const cJSON *run, *checks, *c, *it;
	cJSON *root = NULL;
	char *text = NULL;
	size_t len;

	if (str_fmt(path, sizeof(path), "%s/reports/report.json", run_dir))
		return;
	text = file_read(path, RUNS_REPORT_MAX, &len);
	if (!text)
		return;
	root = cJSON_ParseWithLength(text, len);
	if (!cJSON_IsObject(root))
		goto out;
	e->has_report = 1;
	e->verdict = verdict_of(cJSON_GetObjectItemCaseSensitive(root, "verdict"));
	run = cJSON_GetObjectItemCaseSensitive(root, "run");
	it = cJSON_GetObjectItemCaseSensitive(run, "started_unix");
	if (cJSON_IsNumber(it) && it->valuedouble > 0)
		e->started = it->valuedouble;
	it = cJSON_GetObjectItemCaseSensitive(run, "duration_s");
	if (cJSON_IsNumber(it) && it->valuedouble >= 0)
		e->duration_s = it->valuedouble;
	checks = cJSON_GetObjectItemCaseSensitive(root, "checks");
	e->nchecks = 0;
	e->nfailed = 0;
	e->njudged = 0;
	cJSON_ArrayForEach(c, checks) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "id");
		struct runs_check *rc;

		if (!cJSON_IsString(id) || e->nchecks >= RUN_MAX_CHECKS)
			continue;
		rc = &e->checks[e->nchecks++];
		str_copy(rc->id, sizeof(rc->id), id->valuestring);
		rc->verdict = verdict_of(cJSON_GetObjectItemCaseSensitive(c, "verdict"));
		if (rc->verdict == V_FAIL)
			e->nfailed++;
		if (rc->verdict != V_SKIP)
			e->njudged++;
	}
out:
	cJSON_Delete(root);
	free(text);
}

int runs_list(const char *state_dir, struct runs_entry **out, size_t *n, char *err,
	      size_t errlen)
{
	struct runs_entry *all = NULL;
	char **ids = NULL;
	size_t nids = 0, i, cnt = 0;

	*out = NULL;
	*n = 0;
	if (list_ids(state_dir, &ids, &nids, err, errlen))
		return -1;
	if (!nids)
		return 0;
	all = calloc(nids, sizeof(*all));
	if (!all) {
		free_ids(ids, nids);
		str_fmt(err, errlen, "runs: out of memory");
		return -1;
	}
	for (i = 0; i < nids; i++) {
		struct runs_entry *e = &all[cnt];
		struct run_config c;
		char dir[PATH_MAX], why[256];
		size_t k;

		if (state_run_dir(state_dir, ids[i], dir, sizeof(dir)))
			continue;
		if (str_fmt(why, sizeof(why), "%s/run.json", dir) ||
		    run_config_load(why, &c, why, sizeof(why)))
			continue;
		memset(e, 0, sizeof(*e));
		str_copy(e->id, sizeof(e->id), ids[i]);
		str_copy(e->platform, sizeof(e->platform), c.platform);
		str_copy(e->mesh, sizeof(e->mesh), c.mesh);
		e->started = c.started;
		e->state = state_run_state(dir, NULL);
		/* without a report: the selected checks, verdict not known yet */
		for (k = 0; k < c.nchecks && k < RUN_MAX_CHECKS; k++) {
			str_copy(e->checks[k].id, sizeof(e->checks[k].id), c.checks[k]);
			e->checks[k].verdict = V_NODATA;
		}
		e->nchecks = k;
		e->njudged = k;
		read_report(dir, e);
		if (!e->has_report && e->started > 0)
			e->duration_s = (double)time(NULL) - e->started;
		cnt++;
	}
	free_ids(ids, nids);
	if (!cnt) {
		free(all);
		return 0;
	}
	*out = all;
	*n = cnt;
	return 0;
}

enum verdict runs_check_verdict(const struct runs_entry *e, const char *check)
{
	size_t i;

	for (i = 0; i < e->nchecks; i++)
		if (!strcmp(e->checks[i].id, check))
			return e->checks[i].verdict;
	return V_NODATA;
}

int runs_first_fail(const char *state_dir, const char *id, const char *check, int64_t *idx,
		    int64_t *start_s, char *reason, size_t reason_len, char *err, size_t errlen)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct store *s = NULL;
	struct store_window w;
	int rc;

	if (state_run_dir(state_dir, id, dir, sizeof(dir)) ||
	    str_fmt(path, sizeof(path), "%s/conform.db", dir)) {
		str_fmt(err, errlen, "run %s: bad id or path too long", id);
		return -1;
	}
	if (store_open(path, 0, &s, err, errlen))
		return -1;
	rc = store_get_window_pick(s, check, STORE_FIRST_FAIL, &w);
	if (rc < 0)
		str_fmt(err, errlen, "%s: %s", path, store_errmsg(s));
	if (rc == 1) {
		*idx = w.idx;
		*start_s = w.start_s;
		str_copy(reason, reason_len, w.r.reason_text);
	}
	store_close(s);
	return rc;
}

int runs_state_of(const char *run_dir, char *state_dir, size_t len, char *id, size_t idlen)
{
	char buf[PATH_MAX];
	char *base, *parent;
	size_t n;

	if (!run_dir || str_copy(buf, sizeof(buf), run_dir))
		return 0;
	n = strlen(buf);
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = '\0';
	base = strrchr(buf, '/');
	if (!base || base == buf)
		return 0;
	*base++ = '\0';
	if (!state_run_id_valid(base))
		return 0;
	parent = strrchr(buf, '/');
	if (!parent || strcmp(parent + 1, "runs"))
		return 0;
	/* "/runs/<id>": the state directory is the root */
	*parent = '\0';
	if (str_copy(state_dir, len, buf[0] ? buf : "/") || str_copy(id, idlen, base))
		return 0;
	return 1;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path);
	return unlink(path);
}

int runs_prune(const char *state_dir, size_t keep, const char *keep_id, char *err,
	       size_t errlen)
{
	char cur[RUN_ID_MAX] = "";
	char **ids = NULL;
	size_t nids = 0, i, excess;
	int removed = 0;

	if (list_ids(state_dir, &ids, &nids, err, errlen))
		return -1;
	if (state_current_get(state_dir, cur, sizeof(cur)) != 1)
		cur[0] = '\0';
	excess = nids > keep ? nids - keep : 0;
	/* oldest first; the protected ones count as kept */
	for (i = 0; i < nids && excess > 0; i++) {
		char dir[PATH_MAX];

		if (!strcmp(ids[i], cur) || (keep_id && !strcmp(ids[i], keep_id)))
			continue;
		if (state_run_dir(state_dir, ids[i], dir, sizeof(dir)))
			continue;
		if (state_run_state(dir, NULL) == RUN_STATE_RUNNING)
			continue;
		/* depth first, never following a link out of the run directory */
		if (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS)) {
			str_fmt(err, errlen, "cannot remove old run %s: %s", dir, strerror(errno));
			removed = -1;
			break;
		}
		removed++;
		excess--;
	}
	free_ids(ids, nids);
	return removed;
}
