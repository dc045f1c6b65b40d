/*
 * cliflags.c - the CLI flag table and its strict parser. Every rejection
 * names the flag, the value and how to fix it, because a nightly CI job that
 * fails on a typo must say so in one line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "checks/check.h"
#include "config/cliflags.h"
#include "mesh/mesh.h"
#include "report/metrics.h"
#include "platform/platform.h"
#include "report/report.h"
#include "config/state.h"

static const struct cliflag_desc flags[] = {
	{ CLI_F_PLATFORM, "--platform", "P", "where workloads run (default local):" },
	{ CLI_F_MESH, "--mesh", "M", "the mesh to validate [on which platforms]:" },
	{ CLI_F_DURATION, "--duration", "D",
	  "how long: 90s, 30m, 2h, 3d; 0 = until stopped (default)" },
	{ CLI_F_WINDOW, "--window", "D", "evaluation window, whole seconds >= 1s (default 10s)" },
	{ CLI_F_RATE, "--rate", "N", "requests per second per check (default 10)" },
	{ CLI_F_CHECKS, "--checks", "LIST",
	  "comma-separated check ids (default all; `conform checks`)" },
	{ CLI_F_RUN, "--run", "ID", "run to use (default: the current run, else the latest)" },
	{ CLI_F_FORMAT, "--format", "F", "report format (default md):" },
	{ CLI_F_OUT, "--out", "PATH", "write to PATH instead of stdout" },
	{ CLI_F_TARGET, "--target", "NAME", "workload to inject into, e.g. http-server" },
	{ CLI_F_FAULT_RATE, "--rate", "R", "share of requests to fail, 0..1 (default 1.0)" },
	{ CLI_F_CODE, "--code", "N", "status to fail with (default 503 HTTP / 14 gRPC)" },
	{ CLI_F_MS, "--ms", "N", "added latency in milliseconds (server-latency)" },
	{ CLI_F_FOR, "--for", "D", "how long the fault lasts (default: until the run ends)" },
	{ CLI_F_JSON, "--json", NULL, "print JSON instead of text" },
	{ CLI_F_WATCH, "--watch", NULL,
	  "keep showing the status until the run ends or Ctrl-C (a redrawn\n"
	  "                     screen on a terminal, one block per interval otherwise)" },
	{ CLI_F_CONFIG, "--config", "FILE",
	  "read the run's settings from a JSON file (docs/config.md);\n"
	  "                     flags given as well override it" },
	{ CLI_F_RESUME, "--resume", NULL,
	  "resume the current run after its monitor died: a new conformd\n"
	  "                     takes over the same run and its running workloads" },
	{ CLI_F_METRICS, "--metrics-addr", "ADDR",
	  "also serve Prometheus /metrics on this loopback address, e.g.\n"
	  "                     127.0.0.1:9464 (always on the run's socket)" },
	{ CLI_F_INTERVAL, "--interval", "D",
	  "how often --watch refreshes: 200ms..1h (default 2s)" },
	{ CLI_F_STATE_DIR, "--state-dir", "DIR",
	  "state directory (default $CONFORM_STATE_DIR, else\n"
	  "                     $XDG_STATE_HOME/conform, else ~/.local/state/conform)" },
	{ CLI_F_KEEP_RUNS, "--keep-runs", "N",
	  "keep the newest N run directories, prune older ones when a run\n"
	  "                     starts (default 30; the active run is never pruned)" },
	{ CLI_F_JUNIT, "--junit", "PATH", "also write the JUnit report to PATH (for CI)" },
	{ CLI_F_HTML, "--html", "PATH", "also write the HTML report to PATH" },
	{ CLI_F_MD, "--md", "PATH",
	  "also write the Markdown summary to PATH (with GITHUB_STEP_SUMMARY\n"
	  "                     set, it is appended there as well)" },
	{ CLI_F_SONOBUOY, "--sonobuoy", NULL,
	  "run as a Sonobuoy plugin: reports into $SONOBUOY_RESULTS_DIR, then\n"
	  "                     its done file; progress to $SONOBUOY_PROGRESS_PORT" },
	{ CLI_F_LAST, "--last", "N", "how many of the latest runs to show (default 10)" },
	{ CLI_F_NAMESPACE, "--namespace", "NS",
	  "the run's Kubernetes namespace (default conform)" },
	{ CLI_F_IMAGE, "--image", "REF",
	  "conform's image on Kubernetes (default conform:" CONFORM_VERSION ")" },
	{ CLI_F_STRICT, "--strict", NULL,
	  "count an inconclusive check (a precondition outside its promise\n"
	  "                     broke) as failing: exit 1 instead of 0" },
	{ CLI_F_CONTEXT, "--context", "C",
	  "the kubeconfig context of the cluster (default: kubectl's current one)" },
	{ CLI_F_HELP, "--help", NULL, "show this help" },
};

const struct cliflag_desc *cliflags_table(size_t *n)
{
	*n = ARRAY_SIZE(flags);
	return flags;
}

static int fail(struct cli_error *e, const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct cli_error *e, const char *hint, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	str_copy(e->hint, sizeof(e->hint), hint ? hint : "");
	return -1;
}

/* A flag by name among those allowed; *known tells whether the name exists at all. */
static const struct cliflag_desc *flag_find(const char *name, size_t nlen, cliflag_t allowed,
					 int *known)
{
	size_t i;

	*known = 0;
	for (i = 0; i < ARRAY_SIZE(flags); i++) {
		if (strlen(flags[i].name) != nlen || strncmp(flags[i].name, name, nlen))
			continue;
		*known = 1;
		if (flags[i].bit & (allowed | CLI_F_HELP))
			return &flags[i];
	}
	return NULL;
}

static int parse_dur_flag(const char *flag, const char *v, int64_t *out, struct cli_error *e)
{
	if (dur_parse(v, out))
		return fail(e, "use a number with a unit: 500ms, 90s, 30m, 2h, 3d, 1h30m",
			    "%s '%s': not a duration", flag, v);
	return 0;
}

int cliflags_parse_checks(const char *list, char out[][32], size_t max, size_t *n,
			  struct cli_error *e)
{
	const char *p = list;
	size_t cnt = 0;

	if (!list || !*list)
		return fail(e, "name at least one check, e.g. --checks http.basic",
			    "--checks: empty list");
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char id[64];
		size_t i;
		int dup = 0;

		if (len == 0)
			return fail(e, "separate ids with single commas, e.g. "
				    "--checks http.basic,grpc.basic",
				    "--checks '%s': empty id", list);
		if (len >= sizeof(id) || len >= sizeof(out[0]))
			return fail(e, "see `conform checks` for the valid ids",
				    "--checks: id '%.*s' too long", (int)(len > 40 ? 40 : len), p);
		memcpy(id, p, len);
		id[len] = '\0';
		if (!catalog_find(id)) {
			struct dynbuf b = DYNBUF_INIT(sizeof(e->hint));
			const struct check_desc *const *all;
			size_t nall, k;

			all = catalog_all(&nall);
			dynbuf_adds(&b, "valid ids:");
			for (k = 0; k < nall; k++)
				dynbuf_addf(&b, "%s %s", k ? "," : "", all[k]->id);
			if (!nall)
				dynbuf_adds(&b, " (none: the catalog is empty)");
			fail(e, b.buf ? b.buf : "see `conform checks`",
			     "--checks: unknown check '%s'", id);
			dynbuf_release(&b);
			return -1;
		}
		for (i = 0; i < cnt; i++)
			if (!strcmp(out[i], id))
				dup = 1;
		if (!dup) {
			if (cnt >= max)
				return fail(e, "select fewer checks", "--checks: more than %zu ids",
					    max);
			str_copy(out[cnt++], sizeof(out[0]), id);
		}
		p += len;
		if (*p == ',') {
			p++;
			if (!*p)
				return fail(e, "drop the trailing comma",
					    "--checks '%s': empty id", list);
		}
	}
	*n = cnt;
	return 0;
}

static int set_value(const struct cliflag_desc *f, const char *v, struct cli_opts *o,
		     struct cli_error *e)
{
	int64_t ms;

	switch (f->bit) {
	case CLI_F_PLATFORM:
	case CLI_F_MESH: {
		const struct platform_entry *pe = NULL;
		const struct mesh_entry *me = NULL;
		char names[128], hint[192];
		int plat = f->bit == CLI_F_PLATFORM, built;

		if (plat) {
			pe = platform_entry_find(v);
			built = pe && pe->ops;
			platform_names(names, sizeof(names), ", ", " or ", 0);
		} else {
			me = mesh_entry_find(v);
			built = me && me->ops;
			mesh_names(names, sizeof(names), ", ", " or ", 0);
		}
		str_fmt(hint, sizeof(hint), "use %s %s", f->name, names);
		if (built || ((pe || me) && o->planned_ok))
			return str_copy(plat ? o->platform : o->mesh, plat ? sizeof(o->platform) :
					sizeof(o->mesh), v);
		if (pe || me)
			return fail(e, hint, "%s %s: not built into this conform yet", f->name, v);
		return fail(e, hint, "%s '%s': unknown %s", f->name, v,
			    plat ? "platform" : "mesh");
	}
	case CLI_F_DURATION:
		if (parse_dur_flag(f->name, v, &ms, e))
			return -1;
		if (!run_bound_ok(RUN_S_DURATION, (double)ms))
			return fail(e, "use 0 to run until stopped, else 1s..366d, e.g. --duration 30m",
				    "--duration '%s': too %s (%s)", v, ms < 1000 ? "short" : "long",
				    run_bounds[RUN_S_DURATION].text);
		o->duration_ms = ms;
		return 0;
	case CLI_F_WINDOW:
		if (parse_dur_flag(f->name, v, &ms, e))
			return -1;
		if (!run_bound_ok(RUN_S_WINDOW, (double)ms))
			return fail(e, "use whole seconds, 1s..1d, e.g. --window 10s",
				    "--window '%s': not %s", v, run_bounds[RUN_S_WINDOW].text);
		o->window_ms = ms;
		return 0;
	case CLI_F_RATE:
		if (parse_double(v, run_bounds[RUN_S_RATE].min, run_bounds[RUN_S_RATE].max,
				 &o->rate))
			return fail(e, "use a number of requests per second, e.g. --rate 10",
				    "--rate '%s': not a rate in %s", v, run_bounds[RUN_S_RATE].text);
		return 0;
	case CLI_F_FAULT_RATE:
		if (parse_double(v, 0, 1, &o->fault_rate))
			return fail(e, "use a share between 0 and 1, e.g. --rate 0.5",
				    "--rate '%s': not a number between 0 and 1", v);
		return 0;
	case CLI_F_CHECKS:
		return cliflags_parse_checks(v, o->checks, RUN_MAX_CHECKS, &o->nchecks, e);
	case CLI_F_STATE_DIR:
		if (!*v || str_copy(o->state_dir, sizeof(o->state_dir), v))
			return fail(e, "give a directory path", "--state-dir: empty or too long");
		return 0;
	case CLI_F_FORMAT:
		if (!report_format_find(v)) {
			char names[128], hint[160];

			report_format_names(names, sizeof(names), ", ", " or ");
			str_fmt(hint, sizeof(hint), "use --format %s", names);
			return fail(e, hint, "--format '%s': unknown format", v);
		}
		return str_copy(o->format, sizeof(o->format), v);
	case CLI_F_OUT:
		if (!*v || str_copy(o->out, sizeof(o->out), v))
			return fail(e, "give a file path", "--out: empty or too long");
		return 0;
	case CLI_F_RUN:
		if (!state_run_id_valid(v) || str_copy(o->run, sizeof(o->run), v))
			return fail(e, "give a run id like 20261122-041100-3fa2 (see STATE/runs/)",
				    "--run '%s': not a run id", v);
		return 0;
	case CLI_F_TARGET:
		if (!*v || str_copy(o->target, sizeof(o->target), v))
			return fail(e, "name a workload, e.g. --target http-server",
				    "--target: empty or too long");
		return 0;
	case CLI_F_CODE:
		if (parse_i64(v, 1, 599, &o->code))
			return fail(e, "use an HTTP status (e.g. 503) or a gRPC code (1..16)",
				    "--code '%s': not a status code", v);
		return 0;
	case CLI_F_MS:
		if (parse_i64(v, 1, 600000, &o->ms))
			return fail(e, "use milliseconds between 1 and 600000, e.g. --ms 500",
				    "--ms '%s': not a latency in milliseconds", v);
		return 0;
	case CLI_F_METRICS: {
		char a[64], why[256];
		int fam, port;

		if (metrics_parse_addr(v, a, sizeof(a), &fam, &port, why, sizeof(why)))
			return fail(e, "give a loopback address and port, e.g. --metrics-addr "
				    "127.0.0.1:9464", "%s", why);
		return str_copy(o->metrics_addr, sizeof(o->metrics_addr), v);
	}
	case CLI_F_CONFIG:
		if (!*v || str_copy(o->config, sizeof(o->config), v))
			return fail(e, "give a file path, e.g. --config conform.json",
				    "--config: empty or too long");
		return 0;
	case CLI_F_INTERVAL:
		if (parse_dur_flag(f->name, v, &ms, e))
			return -1;
		if (ms < 200 || ms > 3600 * 1000)
			return fail(e, "use a duration between 200ms and 1h, e.g. --interval 2s",
				    "--interval '%s': out of range", v);
		o->interval_ms = ms;
		return 0;
	case CLI_F_KEEP_RUNS:
		if (parse_i64(v, 1, 100000, &o->keep_runs))
			return fail(e, "use a count of runs, e.g. --keep-runs 30",
				    "--keep-runs '%s': not a number between 1 and 100000", v);
		return 0;
	case CLI_F_NAMESPACE: {
		size_t n = strlen(v), i;
		int ok = n > 0 && n <= 63 && v[0] != '-' && v[n - 1] != '-';

		for (i = 0; ok && i < n; i++)
			ok = (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') || v[i] == '-';
		if (!ok)
			return fail(e, "use a DNS label: lowercase letters, digits and '-', e.g. "
				    "--namespace conform", "--namespace '%s': not a namespace name", v);
		return str_copy(o->namespace, sizeof(o->namespace), v);
	}
	case CLI_F_IMAGE:
		if (!*v || strpbrk(v, " \t\n") || str_copy(o->image, sizeof(o->image), v))
			return fail(e, "give an image reference, e.g. --image conform:" CONFORM_VERSION,
				    "--image '%s': not an image reference", v);
		return 0;
	case CLI_F_CONTEXT:
		if (!*v || *v == '-' || strpbrk(v, " \t\n\r") ||
		    str_copy(o->context, sizeof(o->context), v))
			return fail(e, "give a context of your kubeconfig (kubectl config "
				    "get-contexts), e.g. --context kind-kind",
				    "--context '%s': not a kubeconfig context name", v);
		return 0;
	case CLI_F_LAST:
		if (parse_i64(v, 1, 1000, &o->last))
			return fail(e, "use a count of runs, e.g. --last 10",
				    "--last '%s': not a number between 1 and 1000", v);
		return 0;
	case CLI_F_JUNIT:
	case CLI_F_HTML:
	case CLI_F_MD: {
		char *dst = f->bit == CLI_F_JUNIT ? o->junit : f->bit == CLI_F_HTML ? o->html : o->md;

		if (!*v || str_copy(dst, PATH_MAX, v))
			return fail(e, "give a file path, e.g. --junit results/junit.xml",
				    "%s: empty or too long", f->name);
		return 0;
	}
	case CLI_F_FOR:
		if (parse_dur_flag(f->name, v, &ms, e))
			return -1;
		if (ms % 1000)
			return fail(e, "use whole seconds, e.g. --for 30s (0 = until the run ends)",
				    "--for '%s': not a whole number of seconds", v);
		o->for_ms = ms;
		return 0;
	}
	return fail(e, NULL, "%s: internal error", f->name);
}

int cliflags_parse(cliflag_t allowed, const char *verb, int argc, char **argv,
		   struct cli_opts *o, struct cli_error *e)
{
	int i, only_args = 0;

	memset(o, 0, sizeof(*o));
	memset(e, 0, sizeof(*e));
	o->planned_ok = (allowed & CLI_F_PLANNED) != 0;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];
		const struct cliflag_desc *f;
		const char *eq, *v;
		size_t nlen;
		int known;

		if (only_args || a[0] != '-' || !strcmp(a, "-")) {
			if (o->nargs >= CLI_MAX_ARGS)
				return fail(e, NULL, "too many arguments for `conform %s`", verb);
			o->args[o->nargs++] = a;
			continue;
		}
		if (!strcmp(a, "--")) {
			only_args = 1;
			continue;
		}
		if (!strcmp(a, "-h")) {
			o->help = 1;
			o->set |= CLI_F_HELP;
			continue;
		}
		eq = strchr(a, '=');
		nlen = eq ? (size_t)(eq - a) : strlen(a);
		f = flag_find(a, nlen, allowed, &known);
		if (!f) {
			char hint[128];

			snprintf(hint, sizeof(hint), "see `conform help %s` for its flags", verb);
			if (known)
				return fail(e, hint, "%.*s is not a flag of `conform %s`", (int)nlen,
					    a, verb);
			return fail(e, hint, "unknown flag '%.*s' for `conform %s`",
				    (int)(nlen > 64 ? 64 : nlen), a, verb);
		}
		if (!f->metavar) {
			if (eq)
				return fail(e, NULL, "%s takes no value (got '%s')", f->name, eq + 1);
			if (f->bit == CLI_F_HELP)
				o->help = 1;
			if (f->bit == CLI_F_JSON)
				o->json = 1;
			if (f->bit == CLI_F_WATCH)
				o->watch = 1;
			if (f->bit == CLI_F_SONOBUOY)
				o->sonobuoy = 1;
			o->set |= f->bit;
			continue;
		}
		if (eq) {
			v = eq + 1;
		} else {
			char hint[128];

			if (i + 1 >= argc) {
				snprintf(hint, sizeof(hint), "write %s %s", f->name, f->metavar);
				return fail(e, hint, "%s needs a value", f->name);
			}
			v = argv[++i];
		}
		if (o->set & f->bit)
			return fail(e, "give each flag once", "%s given twice", f->name);
		if (set_value(f, v, o, e))
			return -1;
		o->set |= f->bit;
	}
	return 0;
}

int cliflags_apply(const struct cli_opts *o, int run, struct run_config *c, struct cli_error *e)
{
	size_t i;

	if (o->set & CLI_F_PLATFORM)
		str_copy(c->platform, sizeof(c->platform), o->platform);
	if (o->set & CLI_F_MESH)
		str_copy(c->mesh, sizeof(c->mesh), o->mesh);
	else if (!(o->set & CLI_F_CONFIG))
		str_copy(c->mesh, sizeof(c->mesh), mesh_default_for(c->platform));
	{
		const struct mesh_entry *me = mesh_entry_find(c->mesh);

		if (me && !mesh_runs_on(me, c->platform))
			return fail(e, !strcmp(me->platforms, "kubernetes") ?
				    "add --platform kubernetes" : "pick a mesh of that platform "
				    "(conform start --help lists them)",
				    "--mesh %s runs on %s, not on the %s platform", c->mesh,
				    me->platforms, c->platform);
	}
	if (o->set & CLI_F_DURATION)
		c->duration_ms = o->duration_ms;
	if (o->set & CLI_F_WINDOW)
		c->window_ms = o->window_ms;
	if (o->set & CLI_F_RATE)
		c->rate = o->rate;
	if (o->set & CLI_F_STRICT)
		c->strict = 1;
	if (o->set & CLI_F_METRICS)
		str_copy(c->metrics_addr, sizeof(c->metrics_addr), o->metrics_addr);
	if (o->set & CLI_F_KEEP_RUNS)
		c->out.keep_runs = o->keep_runs;
	if (o->set & CLI_F_JUNIT)
		str_copy(c->out.junit, sizeof(c->out.junit), o->junit);
	if (o->set & CLI_F_HTML)
		str_copy(c->out.html, sizeof(c->out.html), o->html);
	if (o->set & CLI_F_MD)
		str_copy(c->out.md, sizeof(c->out.md), o->md);
	if (o->set & CLI_F_CHECKS) {
		double obj[RUN_MAX_CHECKS];

		/* objectives follow their check id into the new order */
		for (i = 0; i < o->nchecks && i < RUN_MAX_CHECKS; i++) {
			const struct check_desc *d = catalog_find(o->checks[i]);
			size_t k;

			obj[i] = 0;
			for (k = 0; d && k < c->nchecks && k < RUN_MAX_CHECKS; k++)
				if (!strcmp(c->checks[k], d->id))
					obj[i] = c->objectives[k];
		}
		c->nchecks = o->nchecks;
		for (i = 0; i < RUN_MAX_CHECKS; i++) {
			c->objectives[i] = i < o->nchecks ? obj[i] : 0;
			if (i < o->nchecks)
				str_copy(c->checks[i], sizeof(c->checks[i]), o->checks[i]);
		}
	}
	if (run && c->duration_ms == 0 && !(o->set & CLI_F_DURATION) && (o->set & CLI_F_CONFIG))
		return fail(e, "give --duration D, or \"duration\" in the config file",
			    "`conform run` needs a finite duration and %s sets none", o->config);
	if (run && c->duration_ms == 0)
		return fail(e, "give a length, e.g. `conform run --duration 30m`, or use "
			    "`conform start` to run until stopped",
			    "--duration 0: `conform run` needs a finite duration");
	if (c->duration_ms && c->window_ms && c->duration_ms < c->window_ms) {
		char d[32], w[32];

		return fail(e, "make --duration at least one --window long",
			    "--duration %s is shorter than the window (%s)",
			    dur_format(c->duration_ms, d, sizeof(d)),
			    dur_format(c->window_ms, w, sizeof(w)));
	}
	if (c->duration_ms && c->m.shift_at_ms > 0 && c->m.shift_at_ms >= c->duration_ms) {
		char d[32], w[32];

		return fail(e, "make --duration longer, or move mesh_settings.shift.at in the "
			    "config file", "--duration %s ends before the split shift at %s",
			    dur_format(c->duration_ms, d, sizeof(d)),
			    dur_format(c->m.shift_at_ms, w, sizeof(w)));
	}
	return 0;
}

int cliflags_mesh_check(const struct run_config *c, struct cli_error *e)
{
	const struct mesh_ops *ops = mesh_find(c->mesh);
	char err[256];

	if (!ops || !ops->check_deps || ops->check_deps(err, sizeof(err)) == 0)
		return 0;
	return fail(e, "or run the baseline with --mesh none", "%s", err);
}

static const char *const mesh_kinds[] = {
	"mtls-off", "wrong-identity", "retries-off", "split-skew", "tap-off", "timeout-off",
	"sidecar-kill", "cert-expiring",
};

int cliflags_fault_body(const char *kind, const struct cli_opts *o, struct dynbuf *b,
			struct cli_error *e)
{
	int errors, latency, kill, mesh = 0;
	size_t i;

	if (!kind)
		return fail(e, "write e.g. `conform fault server-errors --target http-server`",
			    "fault: missing KIND (server-errors, server-latency, kill, or a mesh "
			    "fault: mtls-off, wrong-identity, retries-off, split-skew, tap-off, "
			    "timeout-off, sidecar-kill, cert-expiring)");
	errors = !strcmp(kind, "server-errors");
	latency = !strcmp(kind, "server-latency");
	kill = !strcmp(kind, "kill");
	for (i = 0; i < ARRAY_SIZE(mesh_kinds); i++)
		mesh |= !strcmp(kind, mesh_kinds[i]);
	if (!errors && !latency && !kill && !mesh)
		return fail(e, "use server-errors, server-latency, kill, mtls-off, wrong-identity, "
			    "retries-off, split-skew, tap-off, timeout-off, sidecar-kill or "
			    "cert-expiring",
			    "fault: unknown kind '%s'", kind);
	kill |= !strcmp(kind, "sidecar-kill");
	if (!(o->set & CLI_F_TARGET))
		return fail(e, "name the workload, e.g. --target http-server "
			    "(`conform status` lists them)",
			    "fault %s: --target is required", kind);
	if (latency && !(o->set & CLI_F_MS))
		return fail(e, "give the added latency, e.g. --ms 500",
			    "fault server-latency: --ms is required");
	if (!errors && (o->set & (CLI_F_FAULT_RATE | CLI_F_CODE)))
		return fail(e, "--rate and --code apply to server-errors only",
			    "fault %s: --%s does not apply", kind,
			    (o->set & CLI_F_FAULT_RATE) ? "rate" : "code");
	if (!latency && (o->set & CLI_F_MS))
		return fail(e, "--ms applies to server-latency only",
			    "fault %s: --ms does not apply", kind);
	if (kill && (o->set & CLI_F_FOR))
		return fail(e, "drop --for: a kill is a single event",
			    "fault %s: --for does not apply", kind);

	dynbuf_reset(b);
	if (dynbuf_adds(b, "{\"kind\":\"") || dynbuf_add_json_str(b, kind) ||
	    dynbuf_adds(b, "\",\"target\":\"") || dynbuf_add_json_str(b, o->target) ||
	    dynbuf_adds(b, "\""))
		goto oom;
	if (errors && dynbuf_addf(b, ",\"rate\":%.6g",
				  (o->set & CLI_F_FAULT_RATE) ? o->fault_rate : 1.0))
		goto oom;
	if ((o->set & CLI_F_CODE) && dynbuf_addf(b, ",\"code\":%lld", (long long)o->code))
		goto oom;
	if (latency && dynbuf_addf(b, ",\"ms\":%lld", (long long)o->ms))
		goto oom;
	if (dynbuf_addf(b, ",\"for_s\":%lld}", (long long)(o->for_ms / 1000)))
		goto oom;
	return 0;
oom:
	return fail(e, NULL, "fault: out of memory");
}

/* The choices of a flag whose values are a table (platforms, meshes, report
 * formats), one per line under its help, straight from that table. */
static int usage_list(cliflag_t bit, struct dynbuf *b)
{
	size_t i;
	int rc = 0;

	switch (bit) {
	case CLI_F_PLATFORM:
		for (i = 0; i < platform_nregistry; i++)
			rc |= dynbuf_addf(b, "  %-18s   %-10s %s%s\n", "", platform_registry[i].name,
					  platform_registry[i].help,
					  platform_registry[i].ops ? "" : " (not built in yet)");
		break;
	case CLI_F_MESH:
		for (i = 0; i < mesh_nregistry; i++)
			rc |= dynbuf_addf(b, "  %-18s   %-10s %s [%s]%s\n", "", mesh_registry[i].name,
					  mesh_registry[i].help, mesh_registry[i].platforms,
					  mesh_registry[i].ops ? "" : " (not built in yet)");
		break;
	case CLI_F_FORMAT:
		for (i = 0; i < report_nformats; i++)
			rc |= dynbuf_addf(b, "  %-18s   %-10s %s\n", "", report_formats[i].name,
					  report_formats[i].help);
		break;
	}
	return rc ? -1 : 0;
}

int cliflags_usage(cliflag_t allowed, struct dynbuf *b)
{
	size_t i;

	allowed |= CLI_F_HELP;
	for (i = 0; i < ARRAY_SIZE(flags); i++) {
		char left[64];

		if (!(flags[i].bit & allowed))
			continue;
		snprintf(left, sizeof(left), "%s%s%s", flags[i].name,
			 flags[i].metavar ? " " : "", flags[i].metavar ? flags[i].metavar : "");
		if (dynbuf_addf(b, "  %-18s %s\n", left, flags[i].help))
			return -1;
		if (usage_list(flags[i].bit, b))
			return -1;
	}
	return 0;
}
