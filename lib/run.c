/*
 * run.c - the run description (run.h): defaults, and the one JSON form the
 * CLI writes to run.json and conformd reads back. Parsing is strict (unknown
 * fields and wrong types are errors naming the field) so typos in a config
 * never silently become defaults.
 */
#include "run.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "util.h"

#define RUN_JSON_MAX (1 << 20)

void run_config_defaults(struct run_config *c)
{
	const struct check_desc *const *all;
	size_t n, i;

	memset(c, 0, sizeof(*c));
	str_copy(c->platform, sizeof(c->platform), "local");
	str_copy(c->mesh, sizeof(c->mesh), "none");
	c->duration_ms = 0;
	c->window_ms = 10000;
	c->rate = 10.0;
	c->request_timeout_ms = 2000;
	str_copy(c->identity_header, sizeof(c->identity_header), "l5d-client-id");
	all = catalog_all(&n);
	for (i = 0; i < n && i < RUN_MAX_CHECKS; i++)
		str_copy(c->checks[i], sizeof(c->checks[i]), all[i]->id);
	c->nchecks = i;
}

int run_config_has_check(const struct run_config *c, const char *id)
{
	size_t i;

	if (!id)
		return 0;
	for (i = 0; i < c->nchecks && i < RUN_MAX_CHECKS; i++)
		if (!strcmp(c->checks[i], id))
			return 1;
	return 0;
}

char *run_config_to_json(const struct run_config *c)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	char *out = NULL;
	size_t i;

	if (!o)
		return NULL;
	if (!cJSON_AddStringToObject(o, "id", c->id) ||
	    !cJSON_AddStringToObject(o, "platform", c->platform) ||
	    !cJSON_AddStringToObject(o, "mesh", c->mesh) ||
	    !cJSON_AddStringToObject(o, "run_dir", c->run_dir) ||
	    !cJSON_AddNumberToObject(o, "duration_ms", (double)c->duration_ms) ||
	    !cJSON_AddNumberToObject(o, "window_ms", (double)c->window_ms) ||
	    !cJSON_AddNumberToObject(o, "rate", c->rate) ||
	    !cJSON_AddNumberToObject(o, "request_timeout_ms", (double)c->request_timeout_ms) ||
	    !cJSON_AddStringToObject(o, "identity_header", c->identity_header))
		goto out;
	arr = cJSON_AddArrayToObject(o, "checks");
	if (!arr)
		goto out;
	for (i = 0; i < c->nchecks && i < RUN_MAX_CHECKS; i++) {
		cJSON *s = cJSON_CreateString(c->checks[i]);

		if (!s || !cJSON_AddItemToArray(arr, s)) {
			cJSON_Delete(s);
			goto out;
		}
	}
	if (!cJSON_AddNumberToObject(o, "started", c->started) ||
	    !cJSON_AddNumberToObject(o, "collector_port", c->collector_port))
		goto out;
	out = cJSON_Print(o);
out:
	cJSON_Delete(o);
	return out;
}

/* ---- strict field readers: each writes "field: expected ..." on error ---- */

static int get_string(const cJSON *it, char *dst, size_t len, char *err, size_t errlen)
{
	if (!cJSON_IsString(it) || !it->valuestring) {
		str_fmt(err, errlen, "%s: expected a string", it->string);
		return -1;
	}
	if (strlen(it->valuestring) >= len) {
		str_fmt(err, errlen, "%s: longer than %zu bytes", it->string, len - 1);
		return -1;
	}
	str_copy(dst, len, it->valuestring);
	return 0;
}

/* An integer in [min, max] (JSON numbers are doubles: exact up to 2^53). */
static int get_int(const cJSON *it, int64_t min, int64_t max, const char *what,
		   int64_t *out, char *err, size_t errlen)
{
	double v;

	if (!cJSON_IsNumber(it))
		goto bad;
	v = it->valuedouble;
	if (!isfinite(v) || v != floor(v) || v < (double)min || v > (double)max ||
	    fabs(v) > 9007199254740992.0)
		goto bad;
	*out = (int64_t)v;
	return 0;
bad:
	str_fmt(err, errlen, "%s: expected %s", it->string, what);
	return -1;
}

static int get_double(const cJSON *it, double min, double max, int min_exclusive,
		      const char *what, double *out, char *err, size_t errlen)
{
	double v;

	if (!cJSON_IsNumber(it))
		goto bad;
	v = it->valuedouble;
	if (!isfinite(v) || v < min || v > max || (min_exclusive && v <= min))
		goto bad;
	*out = v;
	return 0;
bad:
	str_fmt(err, errlen, "%s: expected %s", it->string, what);
	return -1;
}

static int get_checks(const cJSON *it, struct run_config *c, char *err, size_t errlen)
{
	const cJSON *el;
	size_t n = 0, i;

	if (!cJSON_IsArray(it)) {
		str_fmt(err, errlen, "checks: expected an array of check ids");
		return -1;
	}
	cJSON_ArrayForEach(el, it) {
		if (n >= RUN_MAX_CHECKS) {
			str_fmt(err, errlen, "checks: more than %d checks", RUN_MAX_CHECKS);
			return -1;
		}
		if (!cJSON_IsString(el) || !el->valuestring) {
			str_fmt(err, errlen, "checks[%zu]: expected a string", n);
			return -1;
		}
		if (!catalog_find(el->valuestring)) {
			char q[80];

			str_fmt(err, errlen, "checks[%zu]: unknown check %s", n,
				log_quote(el->valuestring, q, sizeof(q)));
			return -1;
		}
		for (i = 0; i < n; i++) {
			if (!strcmp(c->checks[i], el->valuestring)) {
				str_fmt(err, errlen, "checks[%zu]: duplicate check \"%s\"", n,
					el->valuestring);
				return -1;
			}
		}
		str_copy(c->checks[n], sizeof(c->checks[n]), el->valuestring);
		n++;
	}
	if (!n) {
		str_fmt(err, errlen, "checks: expected at least one check id");
		return -1;
	}
	c->nchecks = n;
	return 0;
}

static int get_field(const cJSON *it, struct run_config *c, char *err, size_t errlen)
{
	const char *k = it->string;
	int64_t v;

	if (!strcmp(k, "id"))
		return get_string(it, c->id, sizeof(c->id), err, errlen);
	if (!strcmp(k, "platform"))
		return get_string(it, c->platform, sizeof(c->platform), err, errlen);
	if (!strcmp(k, "mesh"))
		return get_string(it, c->mesh, sizeof(c->mesh), err, errlen);
	if (!strcmp(k, "run_dir"))
		return get_string(it, c->run_dir, sizeof(c->run_dir), err, errlen);
	if (!strcmp(k, "identity_header"))
		return get_string(it, c->identity_header, sizeof(c->identity_header), err, errlen);
	if (!strcmp(k, "duration_ms"))
		return get_int(it, 0, INT64_MAX, "a non-negative integer", &c->duration_ms,
			       err, errlen);
	if (!strcmp(k, "window_ms")) {
		if (get_int(it, 1, INT64_MAX, "a positive integer", &v, err, errlen))
			return -1;
		if (v % 1000) {
			str_fmt(err, errlen, "window_ms: expected a whole number of seconds "
				"(a multiple of 1000)");
			return -1;
		}
		c->window_ms = v;
		return 0;
	}
	if (!strcmp(k, "request_timeout_ms"))
		return get_int(it, 1, INT64_MAX, "a positive integer", &c->request_timeout_ms,
			       err, errlen);
	if (!strcmp(k, "rate"))
		return get_double(it, 0, 1e6, 1, "a positive number", &c->rate, err, errlen);
	if (!strcmp(k, "started"))
		return get_double(it, 0, 1e11, 0, "unix seconds (a non-negative number)",
				  &c->started, err, errlen);
	if (!strcmp(k, "collector_port")) {
		if (get_int(it, 0, 65535, "a port number 0..65535", &v, err, errlen))
			return -1;
		c->collector_port = (int)v;
		return 0;
	}
	if (!strcmp(k, "checks"))
		return get_checks(it, c, err, errlen);
	{
		char q[80];

		str_fmt(err, errlen, "%s: unknown field", log_quote(k, q, sizeof(q)));
	}
	return -1;
}

int run_config_from_json(const char *text, struct run_config *c, char *err, size_t errlen)
{
	struct run_config tmp;
	const cJSON *it;
	cJSON *root = NULL;
	int rc = -1;

	if (err && errlen)
		err[0] = '\0';
	run_config_defaults(&tmp);
	if (!text) {
		str_fmt(err, errlen, "run config: no text");
		goto out;
	}
	root = cJSON_ParseWithLength(text, strnlen(text, RUN_JSON_MAX + 1));
	if (!root) {
		const char *at = cJSON_GetErrorPtr();

		str_fmt(err, errlen, "run config: invalid JSON near byte %ld",
			at ? (long)(at - text) : 0L);
		goto out;
	}
	if (!cJSON_IsObject(root)) {
		str_fmt(err, errlen, "run config: expected a JSON object");
		goto out;
	}
	cJSON_ArrayForEach(it, root) {
		if (!it->string) {
			str_fmt(err, errlen, "run config: member without a name");
			goto out;
		}
		if (get_field(it, &tmp, err, errlen))
			goto out;
	}
	*c = tmp;
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

int run_config_load(const char *path, struct run_config *c, char *err, size_t errlen)
{
	char *text;
	int rc;

	text = file_read(path, RUN_JSON_MAX, NULL);
	if (!text) {
		str_fmt(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = run_config_from_json(text, c, err, errlen);
	free(text);
	return rc;
}

int run_config_save(const struct run_config *c, const char *path)
{
	char *text = run_config_to_json(c);
	size_t len;
	int rc;

	if (!text) {
		errno = ENOMEM;
		return -1;
	}
	len = strlen(text);
	/* end the file with a newline, as editors and cat expect */
	{
		char *nl = realloc(text, len + 2);

		if (!nl) {
			free(text);
			errno = ENOMEM;
			return -1;
		}
		text = nl;
		text[len++] = '\n';
		text[len] = '\0';
	}
	rc = file_write_atomic(path, text, len, 0600);
	free(text);
	return rc;
}
