/*
 * fuzz.h - what every libFuzzer harness here shares: the entry points and
 * an invariant check that aborts (a crash libFuzzer saves as an artifact).
 */
#ifndef SL_FUZZ_H
#define SL_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond) do {                                           \
	if (!(cond)) {                                                  \
		fprintf(stderr, "%s:%d: invariant failed: %s\n",        \
		    __FILE__, __LINE__, #cond);                         \
		abort();                                                \
	}                                                               \
} while (0)

/* A start-up step that must work (run from the repository root). */
#define FUZZ_SETUP(cond) do {                                           \
	if (!(cond)) {                                                  \
		fprintf(stderr, "%s:%d: setup failed: %s (run from the "\
		    "repository root)\n", __FILE__, __LINE__, #cond);   \
		exit(2);                                                \
	}                                                               \
} while (0)

#endif
