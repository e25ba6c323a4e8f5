/* fuzz.h — the one check macro the libFuzzer targets share.
 *
 * FUZZ_CHECK(cond, fmt, ...) prints the broken invariant with file:line and
 * aborts, so libFuzzer saves the input as a crash. Not assert(): it must stay
 * on whatever NDEBUG says. */
#ifndef MK_FUZZ_H
#define MK_FUZZ_H

#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond, ...) do { if (!(cond)) { \
    fprintf(stderr, "%s:%d: invariant broken: %s: ", __FILE__, __LINE__, #cond); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); abort(); } } while (0)

#endif
