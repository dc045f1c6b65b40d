/*
 * gen.c - the man pages and shell completions, generated from the tables
 * that also make `--help` (verbs of main.c, flags of cliflags.c, the check
 * catalog, fault kinds, report formats), so they cannot drift from it.
 * `conform completion SHELL` prints a completion script; the hidden
 * `conform __man PAGE` prints a man page (mk/install.mk runs it at build time).
 */
#include <stdio.h>
#include <string.h>

#include "checks/check.h"
#include "cli.h"
#include "faults/kinds.h"
#include "faults/matrix.h"
#include "mesh/mesh.h"
#include "platform/platform.h"
#include "report/report.h"
#include "base/util.h"

#define GEN_MAX_NAMES 64
#define GEN_HELP_MAX (64 * 1024)

/*
 * The lists other than verbs and flags, each read through one function so
 * they can follow their tables when these move.
 */
static size_t gen_checks(const char **out, size_t max)
{
	const struct check_desc *const *all;
	size_t n, i;

	all = catalog_all(&n);
	for (i = 0; i < n && i < max; i++)
		out[i] = all[i]->id;
	return i;
}

static size_t gen_fault_kinds(const char **out, size_t max)
{
	size_t n;

	for (n = 0; n < FAULT_NKINDS && n < max; n++)
		out[n] = fault_kinds[n].name;
	return n;
}

static size_t gen_formats(const char **out, const char **help, size_t max)
{
	size_t i;

	for (i = 0; i < report_nformats && i < max; i++) {
		out[i] = report_formats[i].name;
		if (help)
			help[i] = report_formats[i].help;
	}
	return i;
}

/* The values --mesh and --platform take: the built-in rows of their
 * registries, space-separated (filled once by gen_lists). */
static char gen_meshes[256], gen_platforms[256];

static void gen_lists(void)
{
	mesh_names(gen_meshes, sizeof(gen_meshes), " ", NULL, 0);
	platform_names(gen_platforms, sizeof(gen_platforms), " ", NULL, 0);
}

static void put_words(FILE *f, const char **w, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		fprintf(f, "%s%s", i ? " " : "", w[i]);
}

/* The flag's help on one line: the continuation indents of --help folded. */
static void put_oneline(FILE *f, const char *s, const char *drop)
{
	for (; *s; s++) {
		if (*s == '\n') {
			fputc(' ', f);
			while (s[1] == ' ')
				s++;
			continue;
		}
		if (drop && strchr(drop, *s))
			continue;
		fputc(*s, f);
	}
}

/* What value a flag takes, for completion: a word list, files, dirs or nothing. */
enum gen_value { V_NONE, V_CHECKS, V_MESH, V_PLATFORM, V_FORMAT, V_FILE, V_DIR };

static enum gen_value flag_value(cliflag_t bit)
{
	switch (bit) {
	case CLI_F_CHECKS: return V_CHECKS;
	case CLI_F_MESH: return V_MESH;
	case CLI_F_PLATFORM: return V_PLATFORM;
	case CLI_F_FORMAT: return V_FORMAT;
	case CLI_F_STATE_DIR: return V_DIR;
	case CLI_F_CONFIG: case CLI_F_OUT: case CLI_F_JUNIT: case CLI_F_HTML: case CLI_F_MD:
		return V_FILE;
	}
	return V_NONE;
}

/* The flag names a verb takes (the same rows cliflags_usage prints). */
static void put_verb_flags(FILE *f, cliflag_t allowed, const char *sep)
{
	const struct cliflag_desc *fl;
	size_t n, i;
	int first = 1;

	fl = cliflags_table(&n);
	allowed |= CLI_F_HELP;
	for (i = 0; i < n; i++) {
		if (!(fl[i].bit & allowed))
			continue;
		fprintf(f, "%s%s", first ? "" : sep, fl[i].name);
		first = 0;
	}
}

/* ---- bash ---- */

static int gen_bash(FILE *f)
{
	const struct verb *v;
	const struct cliflag_desc *fl;
	const char *w[GEN_MAX_NAMES];
	size_t nv, nf, i;

	v = cli_verbs(&nv);
	fl = cliflags_table(&nf);
	fprintf(f, "# bash completion for conform (generated: `conform completion bash`)\n");
	fprintf(f, "_conform_verbs='");
	for (i = 0; i < nv; i++)
		if (v[i].summary)
			fprintf(f, "%s%s", i ? " " : "", v[i].name);
	fprintf(f, "'\n_conform_checks='");
	put_words(f, w, gen_checks(w, GEN_MAX_NAMES));
	fprintf(f, "'\n_conform_faults='");
	put_words(f, w, gen_fault_kinds(w, GEN_MAX_NAMES));
	fprintf(f, "'\n_conform_formats='");
	put_words(f, w, gen_formats(w, NULL, GEN_MAX_NAMES));
	fprintf(f, "'\n\n_conform_flags()\n{\n\tcase \"$1\" in\n");
	for (i = 0; i < nv; i++) {
		if (!v[i].summary)
			continue;
		fprintf(f, "\t%s) echo '", v[i].name);
		put_verb_flags(f, v[i].flags, " ");
		fprintf(f, "' ;;\n");
	}
	fprintf(f, "\tesac\n}\n\n"
		"_conform()\n{\n"
		"\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev= verb=${COMP_WORDS[1]-} pre=\n"
		"\t[ \"$COMP_CWORD\" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD-1]}\n"
		"\tCOMPREPLY=()\n"
		"\tif [ \"$COMP_CWORD\" -le 1 ]; then\n"
		"\t\tCOMPREPLY=($(compgen -W \"$_conform_verbs\" -- \"$cur\"))\n"
		"\t\treturn 0\n\tfi\n"
		"\tcase $prev in\n");
	for (i = 0; i < nf; i++) {
		const char *words = NULL;

		if (!fl[i].metavar)
			continue;
		fprintf(f, "\t%s)\n\t\t", fl[i].name);
		switch (flag_value(fl[i].bit)) {
		case V_CHECKS:
			/* a comma-separated list: complete its last id */
			fprintf(f, "case $cur in *,*) pre=${cur%%,*},;; esac\n"
				"\t\tCOMPREPLY=($(compgen -P \"$pre\" -W \"$_conform_checks\" -- "
				"\"${cur##*,}\"))\n\t\t");
			break;
		case V_MESH: words = gen_meshes; break;
		case V_PLATFORM: words = gen_platforms; break;
		case V_FORMAT: words = "$_conform_formats"; break;
		case V_FILE: fprintf(f, "COMPREPLY=($(compgen -f -- \"$cur\"))\n\t\t"); break;
		case V_DIR: fprintf(f, "COMPREPLY=($(compgen -d -- \"$cur\"))\n\t\t"); break;
		case V_NONE: break;
		}
		if (words)
			fprintf(f, "COMPREPLY=($(compgen -W \"%s\" -- \"$cur\"))\n\t\t", words);
		fprintf(f, "return 0 ;;\n");
	}
	fprintf(f, "\tesac\n"
		"\tcase $cur in\n"
		"\t-*) COMPREPLY=($(compgen -W \"$(_conform_flags \"$verb\")\" -- \"$cur\"))\n"
		"\t\treturn 0 ;;\n"
		"\tesac\n"
		"\tcase $verb in\n"
		"\tfault) [ \"$COMP_CWORD\" -eq 2 ] && "
		"COMPREPLY=($(compgen -W \"$_conform_faults\" -- \"$cur\")) ;;\n"
		"\thistory) COMPREPLY=($(compgen -W \"$_conform_checks\" -- \"$cur\")) ;;\n"
		"\thelp) COMPREPLY=($(compgen -W \"$_conform_verbs\" -- \"$cur\")) ;;\n"
		"\tcompletion) COMPREPLY=($(compgen -W \"bash zsh fish\" -- \"$cur\")) ;;\n"
		"\tconfig) if [ \"$COMP_CWORD\" -eq 2 ]; then\n"
		"\t\tCOMPREPLY=($(compgen -W validate -- \"$cur\"))\n"
		"\telse\n\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n\tfi ;;\n"
		"\tesac\n"
		"\treturn 0\n}\n"
		"complete -F _conform conform\n");
	return 0;
}

/* ---- zsh ---- */

static void zsh_quoted(FILE *f, const char *s)
{
	/* inside '...' of an _arguments spec: no quote, no brackets, no colon */
	put_oneline(f, s, "'[]:");
}

static int gen_zsh(FILE *f)
{
	const struct verb *v;
	const struct cliflag_desc *fl;
	const char *w[GEN_MAX_NAMES];
	size_t nv, nf, i, k;

	v = cli_verbs(&nv);
	fl = cliflags_table(&nf);
	fprintf(f, "#compdef conform\n# zsh completion for conform (generated: "
		"`conform completion zsh`)\n\n_conform()\n{\n\tlocal -a verbs checks faults\n"
		"\tverbs=(\n");
	for (i = 0; i < nv; i++) {
		if (!v[i].summary)
			continue;
		fprintf(f, "\t\t'%s:", v[i].name);
		zsh_quoted(f, v[i].summary);
		fprintf(f, "'\n");
	}
	fprintf(f, "\t)\n\tchecks=(");
	put_words(f, w, gen_checks(w, GEN_MAX_NAMES));
	fprintf(f, ")\n\tfaults=(");
	put_words(f, w, gen_fault_kinds(w, GEN_MAX_NAMES));
	fprintf(f, ")\n\tif (( CURRENT == 2 )); then\n\t\t_describe verb verbs\n\t\treturn\n"
		"\tfi\n\tcase $words[2] in\n");
	for (i = 0; i < nv; i++) {
		if (!v[i].summary)
			continue;
		fprintf(f, "\t%s) _arguments", v[i].name);
		for (k = 0; k < nf; k++) {
			const char *words = NULL;

			if (!(fl[k].bit & (v[i].flags | CLI_F_HELP)))
				continue;
			fprintf(f, " \\\n\t\t'%s[", fl[k].name);
			zsh_quoted(f, fl[k].help);
			fprintf(f, "]");
			if (!fl[k].metavar) {
				fprintf(f, "'");
				continue;
			}
			fprintf(f, ":%s:", fl[k].metavar);
			switch (flag_value(fl[k].bit)) {
			case V_CHECKS: fprintf(f, "_sequence compadd - $checks"); break;
			case V_MESH: words = gen_meshes; break;
			case V_PLATFORM: words = gen_platforms; break;
			case V_FORMAT:
				fprintf(f, "(");
				put_words(f, w, gen_formats(w, NULL, GEN_MAX_NAMES));
				fprintf(f, ")");
				break;
			case V_FILE: fprintf(f, "_files"); break;
			case V_DIR: fprintf(f, "_files -/"); break;
			case V_NONE: break;
			}
			if (words)
				fprintf(f, "(%s)", words);
			fprintf(f, "'");
		}
		if (!strcmp(v[i].name, "fault"))
			fprintf(f, " \\\n\t\t'1:kind:($faults)'");
		else if (!strcmp(v[i].name, "history"))
			fprintf(f, " \\\n\t\t'1:check:($checks)'");
		else if (!strcmp(v[i].name, "help"))
			fprintf(f, " \\\n\t\t'1:verb:_describe verb verbs'");
		else if (!strcmp(v[i].name, "completion"))
			fprintf(f, " \\\n\t\t'1:shell:(bash zsh fish)'");
		else if (!strcmp(v[i].name, "config"))
			fprintf(f, " \\\n\t\t'1:action:(validate)' '2:file:_files'");
		fprintf(f, " ;;\n");
	}
	fprintf(f, "\tesac\n}\n\n_conform \"$@\"\n");
	return 0;
}

/* ---- fish ---- */

static void fish_quoted(FILE *f, const char *s)
{
	put_oneline(f, s, "'\\");
}

static int gen_fish(FILE *f)
{
	const struct verb *v;
	const struct cliflag_desc *fl;
	const char *w[GEN_MAX_NAMES];
	size_t nv, nf, i, k;

	v = cli_verbs(&nv);
	fl = cliflags_table(&nf);
	fprintf(f, "# fish completion for conform (generated: `conform completion fish`)\n"
		"complete -c conform -f\n");
	for (i = 0; i < nv; i++) {
		if (!v[i].summary)
			continue;
		fprintf(f, "complete -c conform -n __fish_use_subcommand -a %s -d '", v[i].name);
		fish_quoted(f, v[i].summary);
		fprintf(f, "'\n");
	}
	for (i = 0; i < nv; i++) {
		if (!v[i].summary)
			continue;
		for (k = 0; k < nf; k++) {
			if (!(fl[k].bit & (v[i].flags | CLI_F_HELP)))
				continue;
			fprintf(f, "complete -c conform -n '__fish_seen_subcommand_from %s' -l %s",
				v[i].name, fl[k].name + 2);
			if (fl[k].metavar) {
				switch (flag_value(fl[k].bit)) {
				case V_CHECKS:
					fprintf(f, " -x -a '");
					put_words(f, w, gen_checks(w, GEN_MAX_NAMES));
					fprintf(f, "'");
					break;
				case V_MESH: fprintf(f, " -x -a '%s'", gen_meshes); break;
				case V_PLATFORM: fprintf(f, " -x -a '%s'", gen_platforms); break;
				case V_FORMAT:
					fprintf(f, " -x -a '");
					put_words(f, w, gen_formats(w, NULL, GEN_MAX_NAMES));
					fprintf(f, "'");
					break;
				case V_FILE: case V_DIR: fprintf(f, " -r -F"); break;
				case V_NONE: fprintf(f, " -x"); break;
				}
			}
			fprintf(f, " -d '");
			fish_quoted(f, fl[k].help);
			fprintf(f, "'\n");
		}
	}
	fprintf(f, "complete -c conform -n '__fish_seen_subcommand_from fault' -a '");
	put_words(f, w, gen_fault_kinds(w, GEN_MAX_NAMES));
	fprintf(f, "'\ncomplete -c conform -n '__fish_seen_subcommand_from history' -a '");
	put_words(f, w, gen_checks(w, GEN_MAX_NAMES));
	fprintf(f, "'\ncomplete -c conform -n '__fish_seen_subcommand_from completion' "
		"-a 'bash zsh fish'\n");
	return 0;
}

int cmd_completion(const struct cli_opts *o)
{
	const char *sh = o->nargs == 1 ? o->args[0] : NULL;

	gen_lists();
	if (!sh)
		return cli_fail(EXIT_USAGE, "write `conform completion bash` (or zsh, fish)",
				"completion takes one shell name");
	if (!strcmp(sh, "bash"))
		return gen_bash(stdout);
	if (!strcmp(sh, "zsh"))
		return gen_zsh(stdout);
	if (!strcmp(sh, "fish"))
		return gen_fish(stdout);
	return cli_fail(EXIT_USAGE, "use bash, zsh or fish",
			"completion: unknown shell '%s'", sh);
}

/* ---- man pages (man(7) macros) ---- */

/* Text for a roff line: backslashes and hyphens escaped, a leading control
 * character neutralised, UTF-8 as \[uXXXX] (groff reads its input as Latin-1). */
static void roff_text(FILE *f, const char *s, size_t len)
{
	size_t i;

	if (len && (s[0] == '.' || s[0] == '\''))
		fputs("\\&", f);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0xc0 && c < 0xf0) {
			size_t more = c >= 0xe0 ? 2 : 1, k;
			unsigned cp = c & (c >= 0xe0 ? 0x0f : 0x1f);

			for (k = 1; k <= more && i + k < len; k++)
				cp = (cp << 6) | ((unsigned char)s[i + k] & 0x3f);
			if (k == more + 1) {
				fprintf(f, "\\[u%04X]", cp);
				i += more;
				continue;
			}
		}
		if (c >= 0x80)
			fputc('?', f);
		else if (s[i] == '\\')
			fputs("\\e", f);
		else if (s[i] == '-')
			fputs("\\-", f);
		else
			fputc(s[i], f);
	}
}

/* Multi-line help: lines as they are (indented ones break), blank lines .sp. */
static void roff_block(FILE *f, const char *s)
{
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);

		if (len == 0)
			fputs(".sp\n", f);
		else {
			roff_text(f, s, len);
			fputc('\n', f);
		}
		s += len + (nl ? 1 : 0);
	}
}

static void roff_oneline(FILE *f, const char *s)
{
	char buf[1024];
	size_t n = 0;

	for (; *s && n + 1 < sizeof(buf); s++) {
		if (*s == '\n') {
			buf[n++] = ' ';
			while (s[1] == ' ')
				s++;
			continue;
		}
		buf[n++] = *s;
	}
	roff_text(f, buf, n);
	fputc('\n', f);
}

static void man_header(FILE *f, const char *name, int section, const char *manual)
{
	char up[64];
	size_t i;

	for (i = 0; name[i] && i + 1 < sizeof(up); i++)
		up[i] = (char)((name[i] >= 'a' && name[i] <= 'z') ? name[i] - 32 : name[i]);
	up[i] = '\0';
	fprintf(f, ".\\\" generated by `conform __man %s` from the tables behind --help\n"
		".TH %s %d \"\" \"conform %s\" \"%s\"\n", name, up, section, CONFORM_VERSION,
		manual);
}

static void man_flags(FILE *f, cliflag_t allowed)
{
	const struct cliflag_desc *fl;
	size_t n, i;

	fl = cliflags_table(&n);
	for (i = 0; i < n; i++) {
		if (!(fl[i].bit & allowed))
			continue;
		fputs(fl[i].metavar ? ".TP\n.BI " : ".TP\n.B ", f);
		roff_text(f, fl[i].name, strlen(fl[i].name));
		if (fl[i].metavar)
			fprintf(f, " \" %s\"", fl[i].metavar);
		fputc('\n', f);
		roff_oneline(f, fl[i].help);
	}
}

static int man_conform(FILE *f)
{
	const struct verb *v;
	const char *w[GEN_MAX_NAMES], *h[GEN_MAX_NAMES];
	const struct check_desc *const *all;
	size_t nv, n, i;

	v = cli_verbs(&nv);
	man_header(f, "conform", 1, "User Commands");
	fputs(".SH NAME\nconform \\- check that a service mesh keeps its promises\n"
	      ".SH SYNOPSIS\n.B conform\n.I VERB\n[flags]\n"
	      ".SH DESCRIPTION\n"
	      "conform deploys sample gRPC and HTTP workloads that exercise a service mesh's\n"
	      "promises (mutual TLS, retries, traffic splits, tap, timeouts), judges their\n"
	      "outcomes window by window and renders a conformance report with evidence.\n"
	      "Its monitor is\n.BR conformd (8);\nits workloads are\n.BR conform-workload (1).\n"
	      ".SH VERBS\n", f);
	for (i = 0; i < nv; i++) {
		if (!v[i].summary)
			continue;
		fputs(".SS \"conform ", f);
		roff_text(f, v[i].usage, strlen(v[i].usage));
		fputs("\"\n", f);
		{
			/* the fault list of `conform fault --help` is the FAULT KINDS section */
			const char *at = strstr(v[i].help, "@faults");
			char part[4096];

			if (at && (size_t)(at - v[i].help) < sizeof(part)) {
				memcpy(part, v[i].help, (size_t)(at - v[i].help));
				part[at - v[i].help] = '\0';
				roff_block(f, part);
				roff_block(f, "  (the kinds are listed under FAULT KINDS below)\n");
				roff_block(f, at + strlen("@faults"));
			} else {
				roff_block(f, v[i].help);
			}
		}
		if (v[i].flags) {
			fputs(".PP\nFlags:\n.RS\n", f);
			man_flags(f, v[i].flags);
			fputs(".RE\n", f);
		}
	}
	fputs(".SH CHECKS\n", f);
	all = catalog_all(&n);
	for (i = 0; i < n; i++) {
		fprintf(f, ".TP\n.B %s\n", all[i]->id);
		roff_oneline(f, all[i]->title);
	}
	fputs(".SH FAULT KINDS\nKinds\n.B conform fault\ninjects:\n.RS\n", f);
	for (i = 0; i < FAULT_NKINDS; i++) {
		char line[1024], breaks[512];

		fputs(".TP\n.B ", f);
		roff_text(f, fault_kinds[i].name, strlen(fault_kinds[i].name));
		if (*fault_kinds[i].usage) {
			fputc(' ', f);
			roff_text(f, fault_kinds[i].usage, strlen(fault_kinds[i].usage));
		}
		fputc('\n', f);
		snprintf(line, sizeof(line), "%s%s; must fail: %s",
			 fault_kinds[i].by == FAULT_BY_MESH ? "(mesh) " : "", fault_kinds[i].help,
			 fault_kind_breaks(fault_kinds[i].kind, breaks, sizeof(breaks)));
		roff_oneline(f, line);
	}
	fputs(".RE\n.SH REPORT FORMATS\n", f);
	n = gen_formats(w, h, GEN_MAX_NAMES);
	for (i = 0; i < n; i++) {
		fprintf(f, ".TP\n.B %s\n", w[i]);
		roff_oneline(f, h[i]);
	}
	fputs(".SH EXIT STATUS\n", f);
	for (i = 0; i < exit_ncodes; i++) {
		char line[256];

		fprintf(f, ".TP\n.B %d\n", exit_codes[i].code);
		snprintf(line, sizeof(line), "%s: %s", exit_codes[i].summary, exit_codes[i].detail);
		roff_oneline(f, line);
	}
	fputs(".SH ENVIRONMENT\n"
	      ".TP\n.B CONFORM_STATE_DIR\nthe state directory when \\-\\-state\\-dir is not "
	      "given\n"
	      ".TP\n.B XDG_STATE_HOME\nelse the state directory is $XDG_STATE_HOME/conform "
	      "(else ~/.local/state/conform)\n"
	      ".TP\n.B NO_COLOR\nno colour even on a terminal\n"
	      ".TP\n.B GITHUB_STEP_SUMMARY\n.B conform run\nappends the Markdown summary to "
	      "this file\n"
	      ".TP\n.B SONOBUOY_RESULTS_DIR\nwhere\n.B conform run \\-\\-sonobuoy\nwrites its "
	      "results (default /tmp/sonobuoy/results)\n"
	      ".TP\n.B SONOBUOY_PROGRESS_PORT\nwhere it posts progress updates "
	      "(localhost:PORT/progress)\n"
	      ".SH FILES\n"
	      ".TP\n.I STATE/current\nthe active run\n"
	      ".TP\n.I STATE/runs/ID/\none run: run.json, conform.db, logs/, reports/\n"
	      ".SH SEE ALSO\n.BR conformd (8),\n.BR conform-workload (1),\n"
	      ".BR kubectl (1),\n.BR sonobuoy (1)\n", f);
	return 0;
}

/*
 * A page for conformd or conform-workload from its own --help text (given
 * on stdin, as the program prints it): the usage line is the synopsis, the
 * rest is shown as it is laid out.
 */
static int man_from_help(FILE *f, const char *prog, int section, const char *manual,
			 const char *what)
{
	struct dynbuf b = DYNBUF_INIT(GEN_HELP_MAX);
	char chunk[4096];
	size_t n;
	const char *p, *nl;
	int rc = EXIT_USAGE;

	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		if (dynbuf_add(&b, chunk, n)) {
			cli_fail(EXIT_USAGE, NULL, "__man %s: help text larger than %d bytes",
				 prog, GEN_HELP_MAX);
			goto out;
		}
	if (!b.buf || strncmp(b.buf, "usage: ", 7)) {
		cli_fail(EXIT_USAGE, "pipe the program's help in: conformd --help | conform __man "
			 "conformd", "__man %s: no \"usage:\" line on stdin", prog);
		goto out;
	}
	man_header(f, prog, section, manual);
	fprintf(f, ".SH NAME\n%s \\- %s\n.SH SYNOPSIS\n", prog, what);
	p = b.buf + 7;
	nl = strchr(p, '\n');
	roff_text(f, p, nl ? (size_t)(nl - p) : strlen(p));
	fputs("\n.SH DESCRIPTION\n.nf\n", f);
	if (nl)
		roff_block(f, nl + 1);
	fputs(".fi\n.SH SEE ALSO\n.BR conform (1)\n", f);
	rc = 0;
out:
	dynbuf_release(&b);
	return rc;
}

int cmd_man(const struct cli_opts *o)
{
	const char *page = o->nargs == 1 ? o->args[0] : "";

	gen_lists();
	if (!strcmp(page, "conform"))
		return man_conform(stdout);
	if (!strcmp(page, "conformd"))
		return man_from_help(stdout, "conformd", 8, "System Manager's Manual",
				     "the monitor of one conform run");
	if (!strcmp(page, "conform-workload"))
		return man_from_help(stdout, "conform-workload", 1, "User Commands",
				     "a sample workload of a conform run");
	return cli_fail(EXIT_USAGE, "use conform, conformd or conform-workload",
			"__man: unknown page '%s'", page);
}
