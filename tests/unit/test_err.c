/* Unit tests for lib/err's allocators of big arrays: mk_xgrow keeps the
 * contents through every kind of growth (malloc to malloc, malloc to a
 * mapping, mapping to mapping by mremap) and back below the threshold;
 * mappings start on a 2 MiB boundary and their grown part is zeroed;
 * mk_xrealloc keeps contents and aligns blocks of 2 MiB and more;
 * mk_xmap gives zeroed pages of their own that mk_xunmap gives back;
 * mk_xmalloc_flat leaves the pages it is not written to unpopulated. */
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "unit.h"

UNIT_RNG(0x13198a2e03707344u)

static unsigned char byte_at(size_t i)
{
    return (unsigned char)(i * 2654435761u >> 13);
}

static void fill(unsigned char *p, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        p[i] = byte_at(i);
}

static size_t first_wrong(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != byte_at(i))
            return i;
    return SIZE_MAX;
}

static int all_zero(const unsigned char *p, size_t from, size_t to)
{
    for (size_t i = from; i < to; i += 4093)
        if (p[i])
            return 0;
    return to == from || p[to - 1] == 0;
}

static void test_grow_keeps_contents(void)
{
    static const size_t sizes[] = { 1000, 300000, 1500000, MK_XGROW_MAPPED, 3u << 20, 9u << 20,
                                    40u << 20, 41u << 20 };
    unsigned char *p = mk_xgrow(NULL, 0, sizes[0]);
    fill(p, 0, sizes[0]);
    for (size_t k = 1; k < sizeof sizes / sizeof *sizes; k++) {
        size_t ob = sizes[k - 1], nb = sizes[k];
        p = mk_xgrow(p, ob, nb);
        CHECK_U64(first_wrong(p, ob), SIZE_MAX);
        if (nb >= MK_XGROW_MAPPED) {
            CHECK_U64((uintptr_t)p % MK_XGROW_MAPPED, 0);
            /* The kernel's bytes: a fresh mapping, or mremap's new pages. */
            if (ob >= MK_XGROW_MAPPED || ob < nb)
                CHECK(all_zero(p, ob, nb));
        }
        fill(p, ob, nb);
    }
    /* Shrinking below the threshold keeps the prefix, in malloc'd memory. */
    size_t last = sizes[sizeof sizes / sizeof *sizes - 1];
    p = mk_xgrow(p, last, 5000);
    CHECK_U64(first_wrong(p, 5000), SIZE_MAX);
    p = mk_xgrow(p, 5000, 7000);
    CHECK_U64(first_wrong(p, 5000), SIZE_MAX);
    mk_xgrow_free(p, 7000);
    mk_xgrow_free(NULL, 0);
    mk_xgrow_free(NULL, 8u << 20);
}

/* Random sizes up and down, checked against what was written. */
static void test_grow_random(void)
{
    size_t n = 0;
    unsigned char *p = NULL;
    for (int round = 0; round < 40; round++) {
        size_t nb = 1 + rnd() % (rnd() % 2 ? (6u << 20) : 100000);
        p = mk_xgrow(p, n, nb);
        size_t keep = n < nb ? n : nb;
        CHECK_U64(first_wrong(p, keep), SIZE_MAX);
        fill(p, keep, nb);
        n = nb;
    }
    mk_xgrow_free(p, n);
}

static void test_xrealloc_big(void)
{
    unsigned char *p = mk_xmalloc(100000);
    fill(p, 0, 100000);
    p = mk_xrealloc(p, 3u << 20);
    CHECK_U64((uintptr_t)p % MK_XGROW_MAPPED, 0);
    CHECK_U64(first_wrong(p, 100000), SIZE_MAX);
    fill(p, 100000, 3u << 20);
    p = mk_xrealloc(p, 7u << 20);
    CHECK_U64((uintptr_t)p % MK_XGROW_MAPPED, 0);
    CHECK_U64(first_wrong(p, 3u << 20), SIZE_MAX);
    p = mk_xrealloc(p, 4000);
    CHECK_U64(first_wrong(p, 4000), SIZE_MAX);
    free(p);
}

/* 1 if the page holding p is resident, 0 if not, -1 if not mapped. */
static int resident(const void *p)
{
    unsigned char v;
    void *page = (void *)((uintptr_t)p & ~(uintptr_t)4095);
    if (mincore(page, 4096, &v) != 0)
        return errno == ENOMEM ? -1 : -2;
    return v & 1;
}

static void test_xmap(void)
{
    static const size_t sizes[] = { 0, 1, 4095, 4097, 100000, (2u << 20) + 1, 5u << 20 };
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        size_t n = sizes[k];
        unsigned char *p = mk_xmap(n);
        CHECK_U64((uintptr_t)p % 4096, 0);
        if (n >= MK_XGROW_MAPPED)
            CHECK_U64((uintptr_t)p % MK_XGROW_MAPPED, 0);
        CHECK(all_zero(p, 0, n));
        fill(p, 0, n);
        CHECK_U64(first_wrong(p, n), SIZE_MAX);
        mk_xunmap(p, n);
        CHECK_INT(resident(p), -1);     /* gone from the address space */
    }
    mk_xunmap(NULL, 100);
}

static void test_xmalloc_flat(void)
{
    size_t n = 4u << 20;
    unsigned char *p = mk_xmalloc_flat(n);
    p[0] = 1;
    p[n - 1] = 2;
    /* A page in the middle, never written, costs nothing. */
    CHECK_INT(resident(p + 3 * (n / 4) - 8192), 0);
    CHECK_INT(resident(p), 1);
    free(p);
}

/* What mk_err_print writes, read back from a file put in stderr's place. */
static void test_err_print_one_line(void)
{
    char path[] = "/tmp/mk_test_err.XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    int saved = dup(2);
    fflush(stderr);
    dup2(fd, 2);
    const char *prog = mk_progname;
    mk_progname = "tool";
    mk_err_print("x.yaml:1:13: unknown 'y\n' \t\r\x01\x7f and \xc3\xa9");
    mk_warn("a %s", "b\nc");
    mk_progname = prog;
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char got[256] = "";
    ssize_t n = pread(fd, got, sizeof got - 1, 0);
    close(fd);
    unlink(path);
    got[n > 0 ? n : 0] = 0;
    CHECK_STR(got, "tool: x.yaml:1:13: unknown 'y\\n' \\t\\r\\x01\\x7f and \xc3\xa9\n"
                   "tool: a b\\nc\n");
}

int main(void)
{
    RUN(test_grow_keeps_contents);
    RUN(test_grow_random);
    RUN(test_xrealloc_big);
    RUN(test_xmap);
    RUN(test_xmalloc_flat);
    RUN(test_err_print_one_line);
    return DONE();
}
