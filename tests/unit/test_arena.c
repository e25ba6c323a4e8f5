/* Unit tests for lib/arena: alignment, chunking, big requests, reset, counters. */
#include <stdint.h>
#include <stdlib.h>

#include "arena.h"
#include "unit.h"

UNIT_RNG(0x9e3779b97f4a7c15u)

static void test_empty(void)
{
    mk_arena a;
    mk_arena_init(&a, 0);
    CHECK_U64(mk_arena_used(&a), 0);
    CHECK_U64(mk_arena_reserved(&a), 0);
    mk_arena_reset(&a);   /* reset and free of a never-used arena are no-ops */
    CHECK_U64(mk_arena_reserved(&a), 0);
    mk_arena_free(&a);
    CHECK_U64(mk_arena_reserved(&a), 0);
}

static void test_alignment(void)
{
    mk_arena a;
    mk_arena_init(&a, 0);
    for (size_t n = 0; n < 100; n++) {
        char *u = mk_arena_alloc_unaligned(&a, n % 7 + 1);
        u[0] = 'x';
        unsigned char *p = mk_arena_alloc(&a, n);
        CHECK(p != NULL);
        CHECK_U64((uintptr_t)p % MK_ARENA_ALIGN, 0);
        if (n)
            memset(p, 0xab, n);
    }
    mk_arena_free(&a);
}

static void test_zero_size(void)
{
    mk_arena a;
    mk_arena_init(&a, 0);
    void *p = mk_arena_alloc(&a, 0);
    void *q = mk_arena_alloc_unaligned(&a, 0);
    CHECK(p != NULL);
    CHECK(q != NULL);
    CHECK_U64(mk_arena_used(&a), 0);
    mk_arena_free(&a);
}

static void test_unaligned_is_dense(void)
{
    mk_arena a;
    mk_arena_init(&a, 0);
    char *p = mk_arena_alloc_unaligned(&a, 3);
    char *q = mk_arena_alloc_unaligned(&a, 5);
    char *r = mk_arena_alloc_unaligned(&a, 1);
    CHECK(q == p + 3);
    CHECK(r == q + 5);
    CHECK_U64(mk_arena_used(&a), 9);
    mk_arena_free(&a);
}

static void test_strdup(void)
{
    mk_arena a;
    mk_arena_init(&a, 0);
    char buf[] = "hello world";
    char *s = mk_arena_strdup(&a, buf, 5);
    buf[0] = 'J';   /* the copy must not alias the caller's buffer */
    CHECK_STR(s, "hello");
    CHECK_U64(mk_arena_used(&a), 6);

    char *e = mk_arena_strdup(&a, NULL, 0);
    CHECK_STR(e, "");

    char *z = mk_arena_strdup(&a, "a\0b", 3);
    CHECK(memcmp(z, "a\0b\0", 4) == 0);

    void *m = mk_arena_memdup(&a, "xyz", 3);
    CHECK_U64((uintptr_t)m % MK_ARENA_ALIGN, 0);
    CHECK(memcmp(m, "xyz", 3) == 0);
    mk_arena_free(&a);
}

static void test_chunks_and_counters(void)
{
    mk_arena a;
    mk_arena_init(&a, 1024);
    CHECK_U64(a.chunk_size, 1024);
    mk_arena_alloc(&a, 100);
    size_t one = mk_arena_reserved(&a);
    CHECK(one >= 1024 && one < 1024 + 64);
    /* Filling the first chunk needs a second one. */
    for (int i = 0; i < 20; i++)
        mk_arena_alloc(&a, 100);
    CHECK_U64(mk_arena_used(&a), 2100);
    CHECK(mk_arena_reserved(&a) >= 3 * 1024);
    CHECK(mk_arena_reserved(&a) >= mk_arena_used(&a));
    mk_arena_free(&a);
    CHECK_U64(mk_arena_used(&a), 0);
    CHECK_U64(mk_arena_reserved(&a), 0);
    CHECK_U64(a.chunk_size, 1024);   /* free keeps the configuration */
}

static void test_default_chunk(void)
{
    mk_arena a;
    mk_arena_init(&a, 0);
    mk_arena_alloc(&a, 1);
    CHECK(mk_arena_reserved(&a) >= MK_ARENA_DEFAULT_CHUNK);
    CHECK(mk_arena_reserved(&a) < MK_ARENA_DEFAULT_CHUNK + 64);
    mk_arena_free(&a);
}

static void test_big_request(void)
{
    mk_arena a;
    mk_arena_init(&a, 4096);
    char *small = mk_arena_alloc(&a, 16);
    size_t before = mk_arena_reserved(&a);
    /* Bigger than a chunk: served whole, 16-aligned, and the current chunk's
     * free space is still used by the next small request. */
    unsigned char *big = mk_arena_alloc(&a, 100000);
    CHECK_U64((uintptr_t)big % MK_ARENA_ALIGN, 0);
    memset(big, 1, 100000);
    CHECK(mk_arena_reserved(&a) >= before + 100000);
    char *next = mk_arena_alloc(&a, 16);
    CHECK(next == small + 16);
    CHECK_U64(mk_arena_used(&a), 100032);

    /* A big first request on a fresh arena. */
    mk_arena b;
    mk_arena_init(&b, 4096);
    unsigned char *p = mk_arena_alloc(&b, 10000);
    memset(p, 2, 10000);
    unsigned char *q = mk_arena_alloc(&b, 10);
    memset(q, 3, 10);
    CHECK(p[9999] == 2);
    mk_arena_free(&b);
    mk_arena_free(&a);
}

static void test_reset_keeps_first_chunk(void)
{
    mk_arena a;
    mk_arena_init(&a, 1024);
    char *first = mk_arena_alloc(&a, 8);
    size_t one = mk_arena_reserved(&a);
    for (int i = 0; i < 100; i++)
        mk_arena_alloc(&a, 200);
    mk_arena_alloc(&a, 50000);
    CHECK(mk_arena_reserved(&a) > 20 * one);
    mk_arena_reset(&a);
    CHECK_U64(mk_arena_used(&a), 0);
    CHECK_U64(mk_arena_reserved(&a), one);
    /* The kept chunk is reused from its start. */
    char *again = mk_arena_alloc(&a, 8);
    CHECK(again == first);
    CHECK_U64(mk_arena_reserved(&a), one);
    mk_arena_reset(&a);
    mk_arena_reset(&a);
    CHECK_U64(mk_arena_reserved(&a), one);
    mk_arena_free(&a);
}

/* Many random allocations, each filled with a pattern derived from its index;
 * afterwards every block must still hold its pattern (no overlap). */
static void test_many_random(void)
{
    enum { N = 100000 };
    mk_arena a;
    mk_arena_init(&a, 8192);
    unsigned char **ptr = malloc(N * sizeof *ptr);
    size_t *len = malloc(N * sizeof *len);
    size_t total = 0;
    for (int round = 0; round < 2; round++) {
        total = 0;
        for (size_t i = 0; i < N; i++) {
            uint64_t r = rnd();
            size_t n = r % 64 == 0 ? r % 9000 : r % 48;
            int aligned = (r >> 20) & 1;
            ptr[i] = aligned ? mk_arena_alloc(&a, n) : mk_arena_alloc_unaligned(&a, n);
            if (aligned && (uintptr_t)ptr[i] % MK_ARENA_ALIGN)
                CHECK(0);
            len[i] = n;
            total += n;
            memset(ptr[i], (int)(i * 31 + 7) & 0xff, n);
        }
        int bad = 0;
        for (size_t i = 0; i < N && !bad; i++)
            for (size_t k = 0; k < len[i]; k++)
                if (ptr[i][k] != ((i * 31 + 7) & 0xff)) {
                    bad = 1;
                    break;
                }
        CHECK(!bad);
        CHECK_U64(mk_arena_used(&a), total);
        CHECK(mk_arena_reserved(&a) >= total);
        /* Waste stays bounded: padding < 16 per allocation, plus one
         * partly used chunk per chunk change (big ones bounded by 25%). */
        CHECK(mk_arena_reserved(&a) < 2 * total + 16 * (size_t)N);
        mk_arena_reset(&a);
    }
    free(ptr);
    free(len);
    mk_arena_free(&a);
}

static void test_embedded(void)
{
    struct owner { int x; mk_arena a; } o;
    o.x = 5;
    mk_arena_init(&o.a, 0);
    int *p = mk_arena_alloc(&o.a, sizeof *p * 10);
    for (int i = 0; i < 10; i++)
        p[i] = i * i;
    CHECK_INT(p[9], 81);
    CHECK_INT(o.x, 5);
    mk_arena_free(&o.a);
}

int main(void)
{
    RUN(test_empty);
    RUN(test_alignment);
    RUN(test_zero_size);
    RUN(test_unaligned_is_dense);
    RUN(test_strdup);
    RUN(test_chunks_and_counters);
    RUN(test_default_chunk);
    RUN(test_big_request);
    RUN(test_reset_keeps_first_chunk);
    RUN(test_many_random);
    RUN(test_embedded);
    return DONE();
}
