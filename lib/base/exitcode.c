/*
 * exitcode.c - the exit code table (exitcode.h).
 */
#include "base/exitcode.h"

const struct exit_code_info exit_codes[] = {
	{ EXIT_CONFORMANT, "conformant", "every check judged passed" },
	{ EXIT_NOT_CONFORMANT, "not conformant", "at least one check failed" },
	{ EXIT_USAGE, "usage or config error",
	  "the message names the flag, field or value and how to fix it" },
	{ EXIT_ENV, "environment error",
	  "missing dependency, monitor not running, no active run, cluster unreachable" },
};
const size_t exit_ncodes = sizeof(exit_codes) / sizeof(exit_codes[0]);
