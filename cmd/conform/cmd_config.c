/*
 * cmd_config.c - `conform config validate FILE`: check a run config file
 * (docs/config.md) without starting anything, and show what it resolves to,
 * so a CI job can lint its conform.json before it spends an hour running.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config/config.h"

static int config_validate(const struct cli_opts *o, const char *path)
{
	struct run_config c;
	struct dynbuf b = DYNBUF_INIT(1 << 16);
	char err[1024];
	char *json;

	config_defaults(&c);
	if (config_load(path, &c, err, sizeof(err)))
		return cli_fail(EXIT_USAGE, "docs/config.md describes every field", "%s", err);
	if (o->json) {
		json = run_config_to_json(&c);
		if (!json)
			return cli_fail(EXIT_ENV, NULL, "config: out of memory");
		printf("%s\n", json);
		free(json);
		return EXIT_CONFORMANT;
	}
	if (config_summary(&c, &b) || !b.buf) {
		dynbuf_release(&b);
		return cli_fail(EXIT_ENV, NULL, "config: out of memory");
	}
	printf("%s: valid; the run it describes:\n%s", path, b.buf);
	dynbuf_release(&b);
	return EXIT_CONFORMANT;
}

int cmd_config(const struct cli_opts *o)
{
	static const char *const subs[] = { "validate" };
	const char *near;

	if (o->nargs == 0)
		return cli_fail(EXIT_USAGE, "write `conform config validate FILE`",
				"config: missing subcommand");
	if (strcmp(o->args[0], "validate")) {
		near = config_suggest(o->args[0], subs, 1);
		return cli_fail(EXIT_USAGE, near ? "did you mean `conform config validate FILE`?"
				: "the subcommand is validate: `conform config validate FILE`",
				"config: unknown subcommand '%s'", o->args[0]);
	}
	if (o->nargs != 2)
		return cli_fail(EXIT_USAGE, "write `conform config validate FILE`",
				"config validate: expected one FILE, got %d", o->nargs - 1);
	return config_validate(o, o->args[1]);
}
