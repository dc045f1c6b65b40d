/*
 * out.c - how the CLI talks to people: errors as "conform: what: why" plus a
 * hint line on stderr, colour only for a terminal without NO_COLOR, and a
 * progress line redrawn in place on a TTY.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "base/util.h"

static int progress_showing;

static char last_error[512];

const char *cli_last_error(void)
{
	return last_error;
}

int cli_fail(int code, const char *hint, const char *fmt, ...)
{
	va_list ap;

	out_progress_done();
	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	fprintf(stderr, "conform: %s\n", last_error);
	if (hint && *hint)
		fprintf(stderr, "hint: %s\n", hint);
	return code;
}

int cli_usage_fail(const struct cli_error *e)
{
	return cli_fail(EXIT_USAGE, e->hint, "%s", e->msg);
}

int cli_no_args(const struct cli_opts *o, const char *verb)
{
	char hint[96];

	if (o->nargs == 0)
		return 0;
	snprintf(hint, sizeof(hint), "see `conform help %s`", verb);
	return cli_fail(EXIT_USAGE, hint, "unexpected argument '%s' for `conform %s`", o->args[0],
			verb);
}

int out_colour(void)
{
	const char *nc = getenv("NO_COLOR");

	return isatty(STDOUT_FILENO) && !(nc && *nc);
}

int out_err_tty(void)
{
	return isatty(STDERR_FILENO);
}

void out_verdict(FILE *f, const char *verdict, int width)
{
	const char *col = NULL;
	int pad = width - (int)strlen(verdict);

	if (out_colour() && f == stdout) {
		if (!strcmp(verdict, "pass") || !strcmp(verdict, "passing"))
			col = "\033[32m";
		else if (!strcmp(verdict, "fail") || !strcmp(verdict, "failing"))
			col = "\033[1;31m";
		else if (!strcmp(verdict, "nodata") || !strcmp(verdict, "skip") ||
			 !strcmp(verdict, "inconclusive"))
			col = "\033[33m";
	}
	fprintf(f, "%s%s%s", col ? col : "", verdict, col ? "\033[0m" : "");
	while (pad-- > 0)
		fputc(' ', f);
}

void out_progress(const char *fmt, ...)
{
	va_list ap;

	if (out_err_tty())
		fputs("\r\033[K", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (out_err_tty())
		progress_showing = 1;
	else
		fputc('\n', stderr);
	fflush(stderr);
}

void out_progress_done(void)
{
	if (progress_showing) {
		fputc('\n', stderr);
		progress_showing = 0;
	}
}

void out_tail(const char *path, int max_lines)
{
	char *text;
	size_t n;
	const char *p;
	int lines = 0;

	text = file_read(path, 1 << 20, &n);
	if (!text) {
		/* a huge log: the tail is what matters, so read only the end */
		FILE *f = fopen(path, "r");
		static char buf[16384];
		size_t got;

		if (!f) {
			fprintf(stderr, "  (no log at %s)\n", path);
			return;
		}
		fseek(f, -(long)(sizeof(buf) - 1), SEEK_END);
		got = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[got] = '\0';
		text = strdup(buf);
		n = got;
		if (!text)
			return;
	}
	while (n && text[n - 1] == '\n')
		text[--n] = '\0';
	p = text + n;
	while (p > text) {
		if (p[-1] == '\n' && ++lines >= max_lines)
			break;
		p--;
	}
	if (!*p)
		fprintf(stderr, "  (%s is empty)\n", path);
	while (*p) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);

		fprintf(stderr, "  | %.*s\n", len, p);
		p += len + (nl ? 1 : 0);
	}
	free(text);
}

const char *out_local_time(double unix_s, char *buf, size_t len)
{
	time_t t = (time_t)unix_s;
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
	return buf;
}
