/*
 * fuzz_userconfig.c - libFuzzer target for config_from_json, the parser of the
 * user's --config file. Bad input must give a one-line message naming the
 * file and leave the config untouched; a config that parses must convert to
 * run.json that reads back.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "fuzz.h"
#include "config/run.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run_config *c, *before, *d;
	char *text, *j = NULL;
	char err[512];

	text = malloc(size + 1);
	c = malloc(sizeof(*c));
	before = malloc(sizeof(*before));
	d = malloc(sizeof(*d));
	if (!text || !c || !before || !d)
		goto out;
	if (size)
		memcpy(text, data, size);
	text[size] = '\0';
	config_defaults(c);
	memcpy(before, c, sizeof(*c));
	if (config_from_json("fuzz.json", text, size, c, err, sizeof(err)) != 0) {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) && !strncmp(err, "fuzz.json", 9));
		FUZZ_CHECK(!strchr(err, '\n'));
		FUZZ_CHECK(memcmp(c, before, sizeof(*c)) == 0);
		goto out;
	}
	FUZZ_CHECK(c->nchecks <= RUN_MAX_CHECKS);
	j = run_config_to_json(c);
	if (j)
		FUZZ_CHECK(run_config_from_json(j, d, err, sizeof(err)) == 0);
out:
	free(j);
	free(d);
	free(before);
	free(c);
	free(text);
	return 0;
}
