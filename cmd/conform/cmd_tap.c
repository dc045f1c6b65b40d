/*
 * cmd_tap.c - `conform tap FILE|-`: read what `linkerd viz tap ... -o json`
 * printed (a stream of pretty-printed JSON objects, one per event) and show
 * the requests in it as conform's Linkerd adapter sees them: the same
 * parser and the same request/response correlation that feed tap.live, so
 * a user can tell from a recording whether conform would find its request
 * ids, methods, paths, statuses and identities in their cluster's tap.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "mesh/linkerd/l5dtap.h"

struct tapread {
	struct l5d_tap_corr corr;
	uint64_t inits;             /* request-init events */
	uint64_t lines, in, out, with_id, verified, unverified;
	int json;
	cJSON *arr;                 /* --json: the requests */
	int header;
};

static const char *dir_name(enum mesh_tap_dir d)
{
	return d == MESH_TAP_IN ? "inbound" : d == MESH_TAP_OUT ? "outbound" : "unknown";
}

static void line_json(struct tapread *t, const struct mesh_tap_line *l)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return;
	cJSON_AddStringToObject(o, "direction", dir_name(l->dir));
	cJSON_AddStringToObject(o, "method", l->method);
	cJSON_AddStringToObject(o, "path", l->path);
	cJSON_AddNumberToObject(o, "status", l->status);
	cJSON_AddNumberToObject(o, "latency_us", (double)l->latency_us);
	cJSON_AddStringToObject(o, "src", l->src);
	cJSON_AddStringToObject(o, "dst", l->dst);
	cJSON_AddStringToObject(o, "request_id", l->request_id);
	cJSON_AddStringToObject(o, "identity", l->identity);
	cJSON_AddStringToObject(o, "peer_id", l->peer_id);
	cJSON_AddItemToArray(t->arr, o);
}

static void line_text(struct tapread *t, const struct mesh_tap_line *l)
{
	char status[16], lat[32];

	if (!t->header++)
		printf("%-8s  %-6s  %-24s  %6s  %9s  %-32s  %-20s  %s\n", "DIR", "METHOD", "PATH",
		       "STATUS", "LATENCY", "SRC -> DST", "REQUEST ID", "IDENTITY");
	if (l->status > 0)
		snprintf(status, sizeof(status), "%d", l->status);
	else
		snprintf(status, sizeof(status), "reset");
	snprintf(lat, sizeof(lat), "%.1fms", (double)l->latency_us / 1000.0);
	{
		char route[160];

		snprintf(route, sizeof(route), "%s -> %s", l->src, l->dst);
		printf("%-8s  %-6s  %-24s  %6s  %9s  %-32s  %-20s  %s\n", dir_name(l->dir),
		       l->method, l->path, status, lat, route,
		       l->request_id[0] ? l->request_id : "-",
		       l->dir == MESH_TAP_IN ? (l->identity[0] ? l->identity : "(none)")
		       : (l->peer_id[0] ? l->peer_id : "-"));
	}
}

static int on_event(const struct l5d_tap_event *ev, void *arg)
{
	struct tapread *t = arg;
	struct mesh_tap_line l;

	if (ev->kind == L5D_TAP_REQUEST_INIT)
		t->inits++;
	if (l5d_tap_corr_add(&t->corr, ev, 0, &l) != 1)
		return 0;
	t->lines++;
	if (l.dir == MESH_TAP_IN) {
		t->in++;
		if (l.identity[0])
			t->verified++;
		else
			t->unverified++;
	} else if (l.dir == MESH_TAP_OUT) {
		t->out++;
	}
	if (l.request_id[0])
		t->with_id++;
	if (t->json)
		line_json(t, &l);
	else
		line_text(t, &l);
	return 0;
}

static int tap_read_file(const char *path, struct tapread *t, struct l5d_tap_json *d)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	char buf[65536], err[512];
	size_t n;
	int rc = 0;

	if (!f)
		return cli_fail(EXIT_USAGE, "record one with `linkerd viz tap deploy/NAME -n NS -o "
				"json > FILE`", "tap: cannot read %s: %s", path, strerror(errno));
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (l5d_tap_json_feed(d, buf, n, on_event, t, err, sizeof(err))) {
			rc = cli_fail(EXIT_USAGE, "conform tap reads what `linkerd viz tap ... -o "
				      "json` prints, unchanged", "tap: %s: %s", path, err);
			break;
		}
	}
	if (!rc && ferror(f))
		rc = cli_fail(EXIT_USAGE, NULL, "tap: reading %s: %s", path, strerror(errno));
	if (!rc && d->depth > 0)
		rc = cli_fail(EXIT_USAGE, "was the recording cut short? every event ends with its "
			      "closing brace", "tap: %s: the input ends inside a tap event (line "
			      "%llu)", path, (unsigned long long)d->line);
	if (f != stdin)
		fclose(f);
	return rc;
}

int cmd_tap(const struct cli_opts *o)
{
	struct tapread t;
	struct l5d_tap_json d;
	uint64_t unfinished;
	int rc;

	if (o->nargs != 1)
		return cli_fail(EXIT_USAGE, "write `conform tap FILE` (or - for stdin), FILE as "
				"`linkerd viz tap ... -o json` wrote it",
				"tap: expected one FILE, got %d", o->nargs);
	memset(&t, 0, sizeof(t));
	t.json = o->json;
	if (l5d_tap_corr_init(&t.corr, 0) ||
	    (t.json && !(t.arr = cJSON_CreateArray())))
		return cli_fail(EXIT_ENV, NULL, "tap: out of memory");
	l5d_tap_json_init(&d);
	rc = tap_read_file(o->args[0], &t, &d);
	unfinished = t.inits > t.lines + t.corr.evicted ? t.inits - t.lines - t.corr.evicted : 0;
	if (!rc && t.json) {
		cJSON *root = cJSON_CreateObject(), *s;
		char *text;

		cJSON_AddNumberToObject(root, "events", (double)d.events);
		cJSON_AddItemToObject(root, "requests", t.arr);
		t.arr = NULL;
		s = cJSON_AddObjectToObject(root, "summary");
		cJSON_AddNumberToObject(s, "requests", (double)t.lines);
		cJSON_AddNumberToObject(s, "inbound", (double)t.in);
		cJSON_AddNumberToObject(s, "outbound", (double)t.out);
		cJSON_AddNumberToObject(s, "with_request_id", (double)t.with_id);
		cJSON_AddNumberToObject(s, "inbound_verified_identity", (double)t.verified);
		cJSON_AddNumberToObject(s, "inbound_no_identity", (double)t.unverified);
		cJSON_AddNumberToObject(s, "responses_without_request", (double)t.corr.orphans);
		cJSON_AddNumberToObject(s, "unfinished", (double)unfinished);
		text = cJSON_Print(root);
		if (text)
			printf("%s\n", text);
		free(text);
		cJSON_Delete(root);
	} else if (!rc) {
		if (!t.lines)
			printf("no complete request in %s\n", o->args[0]);
		printf("%s: %llu events, %llu requests (%llu inbound, %llu outbound); %llu carry "
		       "conform's %s; inbound with a verified client identity: %llu, without: "
		       "%llu; responses whose request is not in the recording: %llu; requests "
		       "unfinished: %llu\n", strcmp(o->args[0], "-") ? o->args[0] : "stdin",
		       (unsigned long long)d.events, (unsigned long long)t.lines,
		       (unsigned long long)t.in, (unsigned long long)t.out,
		       (unsigned long long)t.with_id, L5D_TAP_REQID_HEADER,
		       (unsigned long long)t.verified, (unsigned long long)t.unverified,
		       (unsigned long long)t.corr.orphans, (unsigned long long)unfinished);
	}
	cJSON_Delete(t.arr);
	l5d_tap_json_release(&d);
	l5d_tap_corr_release(&t.corr);
	return rc ? rc : EXIT_CONFORMANT;
}
