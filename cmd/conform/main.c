/*
 * main.c - conform's entry point: one table of verbs (git's git.c), each
 * row with its handler, accepted flags and help text. main parses the flags
 * a verb accepts, answers --help itself and hands over.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "base/util.h"
#include "faults/kinds.h"

static int cmd_version(const struct cli_opts *o);
static int cmd_help(const struct cli_opts *o);

static const struct verb verbs[] = {
	{ "start", cmd_start,
	  CLI_F_RUNCONF | CLI_F_STATE_DIR | CLI_F_JSON | CLI_F_RESUME | CLI_F_KEEP_RUNS |
	  CLI_F_KUBE,
	  "start [flags] | start --resume",
	  "start a run in the background",
	  "Create a run under the state directory, start the monitor (conformd) and its\n"
	  "sample workloads, and return once the monitor reports running. The run goes\n"
	  "on until --duration is over or `conform stop`. Only one run per state\n"
	  "directory is active at a time. --config FILE reads the settings from a\n"
	  "file (docs/config.md); flags given override it.\n"
	  "--resume resumes the current run after its monitor died (`conform status`\n"
	  "says so, exit 3): a new conformd takes over the same run dir, store and\n"
	  "collector port, adopts the workloads and sidecars still running (they kept\n"
	  "buffering their results), and records the time nobody watched as a\n"
	  "monitor.gap: windows in it are monitor-gap windows, not failures.\n" },
	{ "status", cmd_status, CLI_F_STATE_DIR | CLI_F_JSON | CLI_F_WATCH | CLI_F_INTERVAL,
	  "status [--json] [--watch [--interval D]]",
	  "show the active run: checks, workloads, faults",
	  "Show the active run: elapsed and remaining time, every check with its state,\n"
	  "windows passed/failed/without data, requests and last reason; workloads with\n"
	  "restarts; active faults. --json prints conformd's status object as is.\n"
	  "A run that finished by itself shows its summary (`conform stop` clears it).\n"
	  "--watch keeps showing it every --interval (default 2s): on a terminal the\n"
	  "screen is redrawn; otherwise (CI logs) a compact block is printed per interval,\n"
	  "separated by a line. It ends with the final verdict when the run ends (exit 0\n"
	  "conformant, 1 not), or on Ctrl-C (exit 0). `conform dashboard` is the\n"
	  "interactive view.\n"
	  "Exit 3 when there is no active run or its monitor is not running.\n" },
	{ "dashboard", cmd_dashboard, CLI_F_STATE_DIR,
	  "dashboard",
	  "live full-screen view of the active run",
	  "A live full-screen view of the active run, refreshed every second: the run\n"
	  "(elapsed / remaining, verdict so far, monitor health), one row per check\n"
	  "(state, share of passing windows, the latest window, a sparkline of the\n"
	  "last windows, request rate, p99 latency), a detail pane for the selected\n"
	  "check and the run's events (restarts, faults, shifts).\n"
	  "State symbols read without colour: \u2714 pass, \u2716 fail, \u00b7 no data,\n"
	  "\u2013 skipped; sparkline: \u2588 pass, \u2573 fail, \u2581 no data.\n"
	  "\n"
	  "keys:\n"
	  "  \u2191 \u2193 / j k     move in the focused pane\n"
	  "  Enter         open / close the detail pane of the selected check\n"
	  "  Tab           switch focus between checks and events\n"
	  "  f             show only failing checks (again: all)\n"
	  "  r             refresh now\n"
	  "  ?             help overlay\n"
	  "  q             quit (also Ctrl-C)\n"
	  "\n"
	  "Needs a terminal (exit 2 otherwise; use `conform status --watch`). Honours\n"
	  "NO_COLOR. When the monitor cannot be reached it says so and keeps retrying.\n" },
	{ "stop", cmd_stop, CLI_F_STATE_DIR,
	  "stop",
	  "end the active run and print its summary",
	  "Ask the monitor to finish (evaluate the last windows, write the reports),\n"
	  "wait for it, print the summary and the report paths and clear the active\n"
	  "run. If the monitor died, the reports are rendered from the run's store.\n"
	  "Exit 0 when the run is conformant, 1 when not.\n" },
	{ "run", cmd_run, CLI_F_RUNCONF | CLI_F_STATE_DIR | CLI_F_KEEP_RUNS | CLI_F_JUNIT | CLI_F_HTML | CLI_F_MD |
	  CLI_F_SONOBUOY | CLI_F_KUBE,
	  "run --duration D [--config FILE] [--junit PATH] [--html PATH] [--md PATH] [flags]",
	  "start, wait for the duration, stop: for CI",
	  "Start a run, show its progress until --duration is over, then stop it and\n"
	  "print the summary (reports/junit.xml is there for CI). Ctrl-C stops early and\n"
	  "still writes the reports. Exit 0 when conformant, 1 when not, 3 when the\n"
	  "monitor failed. --config FILE reads the settings from a file (docs/config.md;\n"
	  "its \"duration\" then stands for --duration); flags given override it.\n"
	  "--junit, --html and --md copy those reports where CI wants them; when\n"
	  "GITHUB_STEP_SUMMARY names a file, the Markdown summary is appended to it.\n"
	  "--sonobuoy runs as a Sonobuoy plugin (manifests/sonobuoy/): junit.xml,\n"
	  "report.json and report.html go into $SONOBUOY_RESULTS_DIR (default\n"
	  "/tmp/sonobuoy/results) with results.tar.gz, whose path is written to its\n"
	  "done file; with SONOBUOY_PROGRESS_PORT set, progress is posted every window.\n" },
	{ "runs", cmd_runs, CLI_F_STATE_DIR | CLI_F_JSON,
	  "runs [--json]",
	  "list the runs in the state directory",
	  "List the runs kept in the state directory, oldest first: id, start,\n"
	  "duration, platform, mesh, verdict and how many checks failed. A run still\n"
	  "going shows `running`, one whose monitor died `monitor-died`.\n"
	  "The state directory keeps the newest --keep-runs runs (default 30).\n" },
	{ "history", cmd_history, CLI_F_STATE_DIR | CLI_F_JSON | CLI_F_LAST,
	  "history [CHECK] [--last N] [--json]",
	  "each check's verdict over the last runs, and since when it fails",
	  "Show, per check (or only CHECK), its verdict in each of the last N runs\n"
	  "(default 10; P pass, F fail, - skipped or not selected, ? no report yet),\n"
	  "oldest first, and for its latest failure since when it fails: the first\n"
	  "run of that streak of failing runs and the first failing window in it.\n"
	  "Exit 0 when the latest run of every check shown passed, 1 when not.\n" },
	{ "completion", cmd_completion, 0,
	  "completion bash|zsh|fish",
	  "print a shell completion script",
	  "Print the completion script for a shell, built from the same tables as\n"
	  "--help (verbs, flags, check ids, fault kinds, report formats). E.g.\n"
	  "  source <(conform completion bash)\n"
	  "  conform completion zsh > \"${fpath[1]}/_conform\"\n"
	  "  conform completion fish > ~/.config/fish/completions/conform.fish\n"
	  "`make install` installs all three.\n" },
	{ "report", cmd_report, CLI_F_FORMAT | CLI_F_OUT | CLI_F_RUN | CLI_F_STATE_DIR,
	  "report [--format FORMAT] [--out PATH] [--run ID]",
	  "render a run's report from its store",
	  "Render the report of a run straight from its store: works while it runs\n"
	  "(provisional), after stop, after a crash and on a copied run directory.\n"
	  "Default: the active run, else the most recent one; markdown on stdout.\n"
	  "Exit 0 when the run is conformant (so far), 1 when not.\n" },
	{ "checks", cmd_checks, CLI_F_MESH | CLI_F_JSON,
	  "checks [--mesh M] [--json]",
	  "list the conformance checks",
	  "List the check catalog: id, title, objective and whether it needs a mesh.\n"
	  "--mesh M (any mesh below, whatever its platform) adds what each check is\n"
	  "judged on with that mesh, or why it is skipped there (the mesh lacks what\n"
	  "the check needs); --json gives them as \"evidence\" and \"skipped_reason\".\n"
	  "Example: conform checks --mesh linkerd\n" },
	{ "fault", cmd_fault,
	  CLI_F_TARGET | CLI_F_FAULT_RATE | CLI_F_CODE | CLI_F_MS | CLI_F_FOR | CLI_F_STATE_DIR |
	  CLI_F_JSON,
	  "fault KIND --target NAME [--rate R] [--code N] [--ms N] [--for D]",
	  "inject a fault into a workload of the active run",
	  "Inject a fault into a workload of the active run. It is recorded as an\n"
	  "event, so the report ties the failing windows to it, and ends after --for,\n"
	  "at `conform stop`, or across a monitor crash. KIND is one of (mesh: applied\n"
	  "by the mesh adapter, refused by a mesh that cannot do it):\n"
	  "@faults"
	  "Example: conform fault server-errors --target http-server --rate 0.5 --for 30s\n" },
	{ "config", cmd_config, CLI_F_JSON,
	  "config validate FILE [--json]",
	  "check a run config file and show what it resolves to",
	  "Check a run config file (the JSON that `start` and `run` take with --config;\n"
	  "docs/config.md describes every field and docs/conform.example.json sets them\n"
	  "all) without starting anything. On success print the resolved settings\n"
	  "(defaults filled in) and exit 0; --json prints them in run.json form.\n"
	  "A bad file exits 2 with one line naming the file, the field path and what\n"
	  "was expected, e.g.\n"
	  "  conform.json: mesh_settings.split.v1: expected an integer 0..256, got \"ninety\"\n"
	  "  conform.json: verdicts.fal: unknown field (did you mean \"fall\"?)\n"
	  "JSON syntax errors name the line and column.\n"
	  "Precedence in start and run: defaults < the file < flags given.\n" },
	{ "manifests", cmd_manifests,
	  CLI_F_PLATFORM | CLI_F_MESH | CLI_F_CONFIG | CLI_F_NAMESPACE | CLI_F_IMAGE | CLI_F_PLANNED,
	  "manifests [--platform kubernetes] [--mesh none|linkerd] [--config F] [--namespace NS] "
	  "[--image REF]",
	  "print every Kubernetes object a run applies, as YAML",
	  "Print every object a run on Kubernetes applies as one YAML stream: the\n"
	  "namespace, conformd's ServiceAccount, Role and RoleBinding, volume claim,\n"
	  "Deployment and Service, and each workload's ServiceAccount, Deployment and\n"
	  "Services, built by the code the kubernetes platform applies them with.\n"
	  "Review it, or commit it for GitOps; no cluster is needed.\n"
	  "--mesh (default linkerd) adds the mesh's injection annotations; --config\n"
	  "FILE selects the checks and rates (the traffic the clients send).\n"
	  "The mesh's routes and policy and the run's Secret are not in it.\n"
	  "Example: conform manifests --mesh none --namespace conform-ci | kubectl apply -f -\n" },
	{ "tap", cmd_tap, CLI_F_JSON,
	  "tap FILE|- [--json]",
	  "show the requests in recorded Linkerd tap output as conform sees them",
	  "Read what `linkerd viz tap ... -o json` printed (FILE, or - for stdin) with\n"
	  "the parser and the request/response correlation that feed tap.live on\n"
	  "Linkerd, and print one line per complete request (direction, method,\n"
	  "path, status, latency, source and destination, the x-request-id, the\n"
	  "verified client identity inbound or the server's outbound), then what\n"
	  "tap.live could use: how many carry conform's request id and how many\n"
	  "inbound requests a verified identity. No cluster or run is needed.\n"
	  "Input that is not that output exits 2 naming the line.\n"
	  "Example: linkerd viz tap deploy/http-server -n conform -o json | conform tap -\n" },
	{ "version", cmd_version, 0,
	  "version",
	  "print the version",
	  "Print conform's version.\n" },
	{ "help", cmd_help, 0,
	  "help [VERB]",
	  "show help for conform or a verb",
	  "Show the list of verbs, or the full help of one.\n" },
	/* hidden (no summary): the man pages at build time, `conform __man PAGE` */
	{ "__man", cmd_man, 0, "__man conform|conformd|conform-workload", NULL, "" },
};

const struct verb *cli_verbs(size_t *n)
{
	*n = ARRAY_SIZE(verbs);
	return verbs;
}

static const struct verb *verb_find(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(verbs); i++)
		if (!strcmp(verbs[i].name, name))
			return &verbs[i];
	return NULL;
}

static void print_list(FILE *f)
{
	size_t i;

	fprintf(f, "usage: conform VERB [flags]\n\n"
		"conform checks that a service mesh keeps its promises, window by window.\n\n"
		"verbs:\n");
	for (i = 0; i < ARRAY_SIZE(verbs); i++)
		if (verbs[i].summary)
			fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
	fprintf(f, "\n`conform help VERB` or `conform VERB --help` for a verb's flags.\n"
		"exit codes:\n");
	for (i = 0; i < exit_ncodes; i++)
		fprintf(f, "  %d  %s: %s\n", exit_codes[i].code, exit_codes[i].summary,
			exit_codes[i].detail);
}

static int print_verb_help(const struct verb *v)
{
	struct dynbuf b = DYNBUF_INIT(1 << 16);

	const char *at = strstr(v->help, "@faults");

	/* the fault list comes from the one table (lib/faults/kinds.c) */
	if (at) {
		printf("usage: conform %s\n\n%.*s", v->usage, (int)(at - v->help), v->help);
		fault_kinds_usage(&b);
		printf("%s%s", b.buf ? b.buf : "", at + strlen("@faults"));
		dynbuf_reset(&b);
	} else {
		printf("usage: conform %s\n\n%s", v->usage, v->help);
	}
	if (!cliflags_usage(v->flags, &b) && b.buf)
		printf("\nflags:\n%s", b.buf);
	dynbuf_release(&b);
	return EXIT_CONFORMANT;
}

static int cmd_version(const struct cli_opts *o)
{
	int rc = cli_no_args(o, "version");

	if (rc)
		return rc;
	printf("conform %s\n", CONFORM_VERSION);
	return EXIT_CONFORMANT;
}

static int cmd_help(const struct cli_opts *o)
{
	const struct verb *v;

	if (o->nargs == 0) {
		print_list(stdout);
		return EXIT_CONFORMANT;
	}
	if (o->nargs > 1)
		return cli_fail(EXIT_USAGE, "write `conform help VERB`",
				"help takes one verb, got %d words", o->nargs);
	v = verb_find(o->args[0]);
	if (!v)
		return cli_fail(EXIT_USAGE, "`conform help` lists the verbs",
				"unknown verb '%s'", o->args[0]);
	return print_verb_help(v);
}

int main(int argc, char **argv)
{
	const struct verb *v;
	struct cli_opts o;
	struct cli_error e;
	int rc;

	if (argc < 2) {
		print_list(stdout);
		return EXIT_CONFORMANT;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		print_list(stdout);
		return EXIT_CONFORMANT;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("conform %s\n", CONFORM_VERSION);
		return EXIT_CONFORMANT;
	}
	v = verb_find(argv[1]);
	if (!v) {
		if (argv[1][0] == '-')
			return cli_fail(EXIT_USAGE, "flags go after the verb: conform VERB [flags]; "
					"`conform help` lists the verbs",
					"expected a verb before '%s'", argv[1]);
		return cli_fail(EXIT_USAGE, "`conform help` lists the verbs",
				"unknown verb '%s'", argv[1]);
	}
	if (cliflags_parse(v->flags, v->name, argc - 2, argv + 2, &o, &e)) {
		rc = cli_usage_fail(&e);
		/* a Sonobuoy plugin's flags were refused: it still ends with a result */
		if (v->fn == cmd_run)
			for (int i = 2; i < argc; i++)
				if (!strcmp(argv[i], "--sonobuoy")) {
					ci_sonobuoy_error(e.msg);
					break;
				}
		return rc;
	}
	if (o.help)
		return print_verb_help(v);
	rc = v->fn(&o);
	fflush(stdout);
	return rc;
}
