/*
 * ci.c - putting a finished run's reports where CI systems and cluster
 * tools look for them: --junit/--html/--md paths, $GITHUB_STEP_SUMMARY, and
 * the Sonobuoy plugin contract (results dir, done file, progress updates).
 *
 * Sonobuoy facts (vmware-tanzu/sonobuoy): the results dir comes as
 * SONOBUOY_RESULTS_DIR (and RESULTS_DIR), default /tmp/sonobuoy/results
 * (pkg/plugin/constants.go); the plugin writes the path of its result file
 * or tarball into <results dir>/done (site/content/docs/main/plugins.md);
 * progress is a POST of {msg,total,completed,failures,errors} to
 * localhost:$SONOBUOY_PROGRESS_PORT/progress (pkg/plugin/interface.go
 * ProgressUpdate, pkg/worker/worker.go).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "cli.h"
#include "report/report.h"
#include "base/util.h"

#define CI_REPORT_MAX (256u << 20)
#define SONOBUOY_DEFAULT_RESULTS "/tmp/sonobuoy/results"

static int copy_file(const char *from, const char *to)
{
	size_t len;
	char *text = file_read(from, CI_REPORT_MAX, &len);
	int rc;

	if (!text)
		return -1;
	rc = file_write_atomic(to, text, len, 0644);
	free(text);
	return rc;
}

static int append_file(const char *from, const char *to)
{
	size_t len, off = 0;
	char *text = file_read(from, CI_REPORT_MAX, &len);
	int fd, rc = -1;

	if (!text)
		return -1;
	fd = open(to, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		goto out;
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto out;
		off += (size_t)w;
	}
	rc = 0;
out:
	if (fd >= 0 && close(fd))
		rc = -1;
	free(text);
	return rc;
}

int ci_write_outputs(const struct cli_run *r, const struct run_outputs *o)
{
	const struct { const char *to, *file; } outs[] = {
		{ o->junit, "junit.xml" }, { o->html, "report.html" }, { o->md, "report.md" },
	};
	const char *summary = getenv("GITHUB_STEP_SUMMARY");
	char from[PATH_MAX];
	size_t i;
	int bad = 0;

	for (i = 0; i < ARRAY_SIZE(outs); i++) {
		const char *to = outs[i].to;

		if (!to[0])
			continue;
		if (str_fmt(from, sizeof(from), "%s/reports/%s", r->dir, outs[i].file) ||
		    copy_file(from, to)) {
			cli_fail(EXIT_ENV, "check that its directory exists and is writable",
				 "cannot write %s to %s: %s", outs[i].file, to, strerror(errno));
			bad = 1;
		}
	}
	if (summary && *summary) {
		if (str_fmt(from, sizeof(from), "%s/reports/report.md", r->dir) ||
		    append_file(from, summary)) {
			cli_fail(EXIT_ENV, NULL, "cannot append the summary to GITHUB_STEP_SUMMARY "
				 "(%s): %s", summary, strerror(errno));
			bad = 1;
		}
	}
	return bad ? -1 : 0;
}

/* ---- Sonobuoy ---- */

static const char *sonobuoy_dir(void)
{
	const char *d = getenv("SONOBUOY_RESULTS_DIR");

	if (!d || !*d)
		d = getenv("RESULTS_DIR");
	return d && *d ? d : SONOBUOY_DEFAULT_RESULTS;
}

/* tar -czf DIR/results.tar.gz -C DIR FILES...: the tarball Sonobuoy uploads. */
static int make_tarball(const char *dir, const char *const *files, size_t n)
{
	char tarball[PATH_MAX];
	const char *argv[16];
	size_t a = 0, i;
	pid_t pid;
	int st;

	if (str_fmt(tarball, sizeof(tarball), "%s/results.tar.gz", dir) || n + 6 > 16)
		return -1;
	argv[a++] = "tar";
	argv[a++] = "-czf";
	argv[a++] = tarball;
	argv[a++] = "-C";
	argv[a++] = dir;
	for (i = 0; i < n; i++)
		argv[a++] = files[i];
	argv[a] = NULL;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execvp("tar", (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int ci_sonobuoy_results(const struct cli_run *r)
{
	static const char *const files[] = { "junit.xml", "report.json", "report.html" };
	const char *dir = sonobuoy_dir();
	const char *have[ARRAY_SIZE(files)];
	char from[PATH_MAX], to[PATH_MAX], done[PATH_MAX];
	size_t i, n = 0;
	int rc = 0;

	if (mkdir_p(dir, 0755))
		return cli_fail(EXIT_ENV, "mount the results volume there, or set "
				"SONOBUOY_RESULTS_DIR", "sonobuoy: cannot create %s: %s", dir,
				strerror(errno));
	for (i = 0; i < ARRAY_SIZE(files); i++) {
		if (str_fmt(from, sizeof(from), "%s/reports/%s", r->dir, files[i]) ||
		    str_fmt(to, sizeof(to), "%s/%s", dir, files[i]) || copy_file(from, to)) {
			cli_fail(EXIT_ENV, NULL, "sonobuoy: cannot copy %s to %s: %s", files[i], dir,
				 strerror(errno));
			rc = -1;
			continue;
		}
		have[n++] = files[i];
	}
	/* the done file names what the worker uploads; without it the plugin
	 * hangs until its timeout, so it is written even when reports are missing */
	if (n && make_tarball(dir, have, n) == 0) {
		if (str_fmt(done, sizeof(done), "%s/results.tar.gz", dir))
			return -1;
	} else {
		if (n)
			cli_fail(EXIT_ENV, "install tar in the plugin's image",
				 "sonobuoy: cannot make %s/results.tar.gz", dir);
		if (str_fmt(done, sizeof(done), "%s/junit.xml", dir))
			return -1;
		rc = -1;
	}
	if (str_fmt(to, sizeof(to), "%s/done", dir) ||
	    file_write_atomic(to, done, strlen(done), 0644)) {
		cli_fail(EXIT_ENV, NULL, "sonobuoy: cannot write %s/done: %s", dir,
			 strerror(errno));
		return -1;
	}
	return rc;
}

int ci_sonobuoy_error(const char *why)
{
	static const char *const files[] = { "junit.xml" };
	const char *dir = sonobuoy_dir();
	struct dynbuf b = DYNBUF_INIT(1 << 16);
	char path[PATH_MAX], done[PATH_MAX];
	int rc = -1;

	if (!why || !*why)
		why = "conform run failed before the run started";
	if (mkdir_p(dir, 0755)) {
		cli_fail(EXIT_ENV, "mount the results volume there, or set SONOBUOY_RESULTS_DIR",
			 "sonobuoy: cannot create %s: %s", dir, strerror(errno));
		goto out;
	}
	/* one test case that errored: JUnit's <error> is "could not run", not a verdict */
	if (dynbuf_adds(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			"<testsuites name=\"conform\" tests=\"1\" failures=\"0\" errors=\"1\">\n"
			"<testsuite name=\"conform\" tests=\"1\" failures=\"0\" errors=\"1\" "
			"skipped=\"0\">\n<testcase classname=\"conform\" name=\"conform run\">"
			"<error type=\"start\" message=\"") || dynbuf_add_xml_str(&b, why) ||
	    dynbuf_adds(&b, "\">") || dynbuf_add_xml_str(&b, why) ||
	    dynbuf_adds(&b, "</error></testcase>\n</testsuite>\n</testsuites>\n") ||
	    str_fmt(path, sizeof(path), "%s/junit.xml", dir) ||
	    file_write_atomic(path, b.buf, b.len, 0644)) {
		cli_fail(EXIT_ENV, NULL, "sonobuoy: cannot write %s/junit.xml: %s", dir,
			 strerror(errno));
		goto out;
	}
	if (make_tarball(dir, files, 1) == 0)
		rc = str_fmt(done, sizeof(done), "%s/results.tar.gz", dir);
	else
		rc = str_fmt(done, sizeof(done), "%s", path);
	if (rc || str_fmt(path, sizeof(path), "%s/done", dir) ||
	    file_write_atomic(path, done, strlen(done), 0644)) {
		cli_fail(EXIT_ENV, NULL, "sonobuoy: cannot write %s/done: %s", dir,
			 strerror(errno));
		rc = -1;
		goto out;
	}
	if (ci_sonobuoy_progress("conform run failed before the run started", 0, 0, NULL, 0,
				 why))
		fprintf(stderr, "conform: sonobuoy progress update not accepted\n");
out:
	dynbuf_release(&b);
	return rc;
}

int ci_sonobuoy_final(const struct cli_run *r, long total)
{
	const char *failed[RUN_MAX_CHECKS];
	char path[PATH_MAX], msg[160];
	const cJSON *c, *v;
	cJSON *root = NULL;
	char *text = NULL;
	size_t len, n = 0;
	int rc = -1;

	if (str_fmt(path, sizeof(path), "%s/reports/report.json", r->dir) ||
	    !(text = file_read(path, CI_REPORT_MAX, &len)) ||
	    !(root = cJSON_ParseWithLength(text, len)))
		goto out;
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(root, "checks")) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "id");

		v = cJSON_GetObjectItemCaseSensitive(c, "verdict");
		if (n < RUN_MAX_CHECKS && cJSON_IsString(id) && cJSON_IsString(v) &&
		    !strcmp(v->valuestring, "fail"))
			failed[n++] = id->valuestring;
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "verdict");
	snprintf(msg, sizeof(msg), "run %s: finished, %s", r->id,
		 cJSON_IsString(v) && !strcmp(v->valuestring, "pass") ? "conformant"
								   : "not conformant");
	rc = ci_sonobuoy_progress(msg, total, total, failed, n, NULL);
out:
	cJSON_Delete(root);
	free(text);
	return rc;
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

int ci_sonobuoy_progress(const char *msg, long total, long completed,
			 const char *const *failures, size_t nfail, const char *error)
{
	size_t i;
	const char *port = getenv("SONOBUOY_PROGRESS_PORT");
	struct dynbuf b = DYNBUF_INIT(4096);
	struct curl_slist *hdr = NULL;
	char url[128];
	int64_t p;
	CURL *c = NULL;
	int rc = -1;

	if (!port || parse_i64(port, 1, 65535, &p))
		return 0;   /* not under Sonobuoy, or no progress wanted */
	if (str_fmt(url, sizeof(url), "http://localhost:%lld/progress", (long long)p) ||
	    dynbuf_adds(&b, "{\"msg\":\"") || dynbuf_add_json_str(&b, msg) ||
	    dynbuf_addf(&b, "\",\"total\":%ld,\"completed\":%ld,\"failures\":[", total, completed))
		goto out;
	/* failures are test names in Sonobuoy: the failing checks' ids */
	for (i = 0; i < nfail; i++)
		if (dynbuf_adds(&b, i ? ",\"" : "\"") || dynbuf_add_json_str(&b, failures[i]) ||
		    dynbuf_adds(&b, "\""))
			goto out;
	if (dynbuf_adds(&b, "],\"errors\":[") ||
	    (error && (dynbuf_adds(&b, "\"") || dynbuf_add_json_str(&b, error) ||
		       dynbuf_adds(&b, "\""))) ||
	    dynbuf_adds(&b, "]}"))
		goto out;
	c = curl_easy_init();
	hdr = curl_slist_append(NULL, "Content-Type: application/json");
	if (!c || !hdr)
		goto out;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, b.buf);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)b.len);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	if (curl_easy_perform(c) == CURLE_OK) {
		long code = 0;

		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		rc = code >= 200 && code < 300 ? 0 : -1;
	}
out:
	if (hdr)
		curl_slist_free_all(hdr);
	if (c)
		curl_easy_cleanup(c);
	dynbuf_release(&b);
	return rc;
}
