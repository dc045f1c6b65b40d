/*
 * config.h - the user's run config file (`--config conform.json`, described
 * field by field in docs/config.md): a friendlier JSON form than run.json
 * (durations as "10s", settings grouped by topic), parsed strictly into a
 * struct run_config. Precedence is defaults < file < flags: load the file
 * over config_defaults(), then cliflags_apply() the flags given.
 *
 * Every error is one line that names the file, the field path and what was
 * expected, e.g.
 *   conform.json: mesh_settings.split.v1: expected an integer 0..256, got "ninety"
 *   conform.json: verdicts.fal: unknown field (did you mean "fall"?)
 *   conform.json: line 3, column 5: invalid JSON: unexpected '}' (a trailing comma?)
 */
#ifndef CONFORM_CONFIG_H
#define CONFORM_CONFIG_H

#include <stddef.h>

#include "config/run.h"
#include "base/util.h"

#define CONFIG_FILE_MAX (1 << 20)

/* What a run gets when nothing is said: run_config_defaults(), with the mesh
 * the platform implies (mesh_default_for), as `conform start`
 * without flags. */
void config_defaults(struct run_config *c);

/*
 * Parse text (len bytes, NUL-terminated; the contents of the file called
 * name, which messages start with) over c: settings the file gives replace
 * c's, the rest are kept. "checks" replaces the selection and its objective
 * overrides. Returns 0, or -1 with c untouched and the one-line message in
 * err (never longer than errlen - 1).
 */
int config_from_json(const char *name, const char *text, size_t len, struct run_config *c,
		     char *err, size_t errlen);

/* Read path (at most CONFIG_FILE_MAX bytes) and config_from_json it. A
 * missing or unreadable file is an error naming path. 0 or -1. */
int config_load(const char *path, struct run_config *c, char *err, size_t errlen);

/* Append the resolved settings of c, one "  name   value" line each, in the
 * user's terms (durations as "10s"). 0, or -1 when b is full. */
int config_summary(const struct run_config *c, struct dynbuf *b);

/* The closest of names[0..n) to word by edit distance, or NULL when none is
 * close enough to be a likely typo. */
const char *config_suggest(const char *word, const char *const *names, size_t n);

/* Does check id take an objective override (its windows are judged by a
 * success ratio against run_config_objective())? */
int config_objective_adjustable(const char *id);

#endif
