/*
 * fuzz_config.c - libFuzzer target for run_config_from_json: run.json is a
 * file in the user's state directory that conformd reads back, and later a
 * user-written config. A config that parses must print and parse again to
 * the same text.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "config/run.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run_config *c, *d;
	char *text, *j1 = NULL, *j2 = NULL;
	char err[256];

	text = malloc(size + 1);
	c = malloc(sizeof(*c));
	d = malloc(sizeof(*d));
	if (!text || !c || !d)
		goto out;
	if (size)
		memcpy(text, data, size);
	text[size] = '\0';
	if (run_config_from_json(text, c, err, sizeof(err)) != 0) {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) && err[0]);
		goto out;
	}
	FUZZ_CHECK(memchr(c->id, '\0', sizeof(c->id)) && memchr(c->run_dir, '\0', sizeof(c->run_dir)) &&
		   memchr(c->platform, '\0', sizeof(c->platform)) &&
		   memchr(c->mesh, '\0', sizeof(c->mesh)) &&
		   memchr(c->identity_header, '\0', sizeof(c->identity_header)));
	FUZZ_CHECK(c->nchecks <= RUN_MAX_CHECKS);
	j1 = run_config_to_json(c);
	if (!j1)
		goto out;
	/* what we write we must read back, to the same text */
	FUZZ_CHECK(run_config_from_json(j1, d, err, sizeof(err)) == 0);
	j2 = run_config_to_json(d);
	FUZZ_CHECK(!j2 || strcmp(j1, j2) == 0);
out:
	free(j2);
	free(j1);
	free(d);
	free(c);
	free(text);
	return 0;
}
