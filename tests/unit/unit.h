/* unit.h — a minimal TAP harness for the C unit tests of lib/.
 *
 * Each test file defines static void functions and lists them in main() with
 * RUN(fn). Every RUN prints one TAP line, "ok N - fn" or "not ok N - fn", with
 * the failed checks as "# file:line: ..." diagnostics before it; DONE() prints
 * the plan and returns the exit status. A failed CHECK does not stop the test
 * function, so one run shows every broken expectation. Not thread-safe: checks
 * run on the main thread only. */
#ifndef MK_UNIT_H
#define MK_UNIT_H

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int unit_n, unit_failed_tests, unit_cur_failed;

#define CHECK(cond) do { if (!(cond)) { unit_cur_failed = 1; \
    printf("# %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)

#define CHECK_INT(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
    if (a_ != b_) { unit_cur_failed = 1; \
    printf("# %s:%d: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__, #a, a_, #b, b_); } } while (0)

#define CHECK_U64(a, b) do { unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b); \
    if (a_ != b_) { unit_cur_failed = 1; \
    printf("# %s:%d: %s == %llu, expected %llu\n", __FILE__, __LINE__, #a, a_, b_); } } while (0)

#define CHECK_STR(a, b) do { const char *a_ = (a), *b_ = (b); \
    if (!a_ || !b_ || strcmp(a_, b_) != 0) { unit_cur_failed = 1; \
    printf("# %s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a, \
           a_ ? a_ : "(null)", b_ ? b_ : "(null)"); } } while (0)

/* CHECK_MEM: a (pointer, length) slice equals a C string. */
#define CHECK_MEM(p, n, s) do { const char *s_ = (s); size_t n_ = (size_t)(n); \
    if (n_ != strlen(s_) || memcmp((p), s_, n_) != 0) { unit_cur_failed = 1; \
    printf("# %s:%d: %s == \"%.*s\", expected \"%s\"\n", __FILE__, __LINE__, #p, \
           (int)n_, (const char *)(p), s_); } } while (0)

/* CHECK_CONTAINS: string a contains substring b (for error messages). */
#define CHECK_CONTAINS(a, b) do { const char *a_ = (a), *b_ = (b); \
    if (!a_ || !strstr(a_, b_)) { unit_cur_failed = 1; \
    printf("# %s:%d: %s == \"%s\", expected to contain \"%s\"\n", __FILE__, __LINE__, \
           #a, a_ ? a_ : "(null)", b_); } } while (0)

#define RUN(fn) do { unit_cur_failed = 0; fn(); unit_n++; \
    if (unit_cur_failed) unit_failed_tests++; \
    printf("%sok %d - %s\n", unit_cur_failed ? "not " : "", unit_n, #fn); fflush(stdout); } while (0)

#define DONE() (printf("1..%d\n", unit_n), unit_failed_tests ? 1 : 0)

/* UNIT_RNG(seed): a seeded xorshift64 generator for this test file, as
 * `static uint64_t rng` and `static uint64_t rnd(void)`, so random tests
 * repeat exactly. */
#define UNIT_RNG(seed) \
    static uint64_t rng = (seed); \
    static uint64_t rnd(void) \
    { \
        rng ^= rng << 13; \
        rng ^= rng >> 7; \
        rng ^= rng << 17; \
        return rng; \
    }

/* A fresh directory under $TMPDIR (or /tmp) named after the test, into
 * buf; exits on failure. */
static inline void unit_make_tmpdir(char *buf, size_t cap, const char *name)
{
    const char *t = getenv("TMPDIR");
    snprintf(buf, cap, "%s/%s.XXXXXX", t && *t ? t : "/tmp", name);
    if (!mkdtemp(buf)) {
        perror("mkdtemp");
        exit(1);
    }
}

/* Writes n bytes to path (created or truncated); exits on failure. */
static inline void unit_write_file(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || (n && write(fd, p, n) != (ssize_t)n) || close(fd) < 0) {
        perror(path);
        exit(1);
    }
}

#endif
