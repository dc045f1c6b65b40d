/*
 * exitcode.h - conform's exit codes: one table (the CLI's verbs, conformd,
 * --help, the man pages and the README say the same).
 */
#ifndef CONFORM_EXITCODE_H
#define CONFORM_EXITCODE_H

#include <stddef.h>

enum conform_exit {
	EXIT_CONFORMANT = 0,
	EXIT_NOT_CONFORMANT = 1,
	EXIT_USAGE = 2,       /* usage or config error */
	EXIT_ENV = 3,         /* environment: missing dependency, monitor not running */
};

struct exit_code_info {
	int code;
	const char *summary;   /* "not conformant" */
	const char *detail;    /* one line: when it is used */
};
extern const struct exit_code_info exit_codes[];
extern const size_t exit_ncodes;

#endif
