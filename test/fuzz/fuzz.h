/*
 * fuzz.h - what the libFuzzer targets share: the entry point's prototype and
 * FUZZ_CHECK, which names the broken promise before aborting so a crash
 * report says which invariant an input violated, not only where.
 */
#ifndef CONFORM_FUZZ_H
#define CONFORM_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                              \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "fuzz invariant failed: %s (%s:%d)\n", #cond, \
				__FILE__, __LINE__);                                  \
			abort();                                                      \
		}                                                                     \
	} while (0)

#endif
