/* Unit tests for lib/vec: push/get, growth, reserve, append, pop, clear,
 * the typed wrapper, and random operations against a plain array. */
#include <stdint.h>
#include <stdlib.h>

#include "unit.h"
#include "vec.h"

UNIT_RNG(0x243f6a8885a308d3u)

static void test_empty(void)
{
    mk_vec v;
    mk_vec_init(&v, sizeof(int));
    CHECK_U64(mk_vec_len(&v), 0);
    CHECK(mk_vec_get(&v, 0) == NULL);
    CHECK(mk_vec_pop(&v) == NULL);
    CHECK_U64(mk_vec_bytes(&v), 0);
    mk_vec_clear(&v);
    mk_vec_free(&v);
    mk_vec_free(&v);   /* freeing twice is harmless: free leaves it empty */
    CHECK_U64(v.elem, sizeof(int));
}

static void test_push_get(void)
{
    mk_vec v;
    mk_vec_init(&v, sizeof(uint32_t));
    for (uint32_t i = 0; i < 1000; i++)
        *(uint32_t *)mk_vec_push(&v) = i * 3;
    CHECK_U64(mk_vec_len(&v), 1000);
    int bad = 0;
    for (uint32_t i = 0; i < 1000; i++)
        bad += *(uint32_t *)mk_vec_get(&v, i) != i * 3;
    CHECK_INT(bad, 0);
    CHECK(mk_vec_get(&v, 1000) == NULL);
    CHECK(mk_vec_get(&v, (size_t)-1) == NULL);
    uint32_t *d = mk_vec_data(&v);
    CHECK_U64(d[999], 2997);
    mk_vec_free(&v);
    CHECK_U64(mk_vec_len(&v), 0);
}

static void test_growth_doubles(void)
{
    mk_vec v;
    mk_vec_init(&v, 8);
    size_t reallocs = 0, cap = v.cap;
    for (int i = 0; i < 100000; i++) {
        mk_vec_push(&v);
        if (v.cap != cap) {
            CHECK(v.cap >= 2 * cap);
            reallocs++;
            cap = v.cap;
        }
        if (v.len > v.cap)
            CHECK(0);
    }
    CHECK(reallocs <= 15);              /* 8 .. 131072 by doubling */
    CHECK(v.cap < 2 * 100000);          /* never more than twice needed */
    CHECK_U64(mk_vec_bytes(&v), v.cap * 8);
    mk_vec_free(&v);
}

static void test_reserve(void)
{
    mk_vec v;
    mk_vec_init(&v, 16);
    mk_vec_reserve(&v, 100);
    CHECK_U64(v.cap, 100);
    CHECK_U64(mk_vec_len(&v), 0);
    void *d = mk_vec_data(&v);
    for (int i = 0; i < 100; i++)
        mk_vec_push(&v);
    CHECK(mk_vec_data(&v) == d);   /* no move within reserved capacity */
    mk_vec_reserve(&v, 50);         /* never shrinks */
    CHECK_U64(v.cap, 100);
    mk_vec_free(&v);
}

static void test_append_push_n(void)
{
    mk_vec v;
    mk_vec_init(&v, sizeof(short));
    short src[5] = {1, 2, 3, 4, 5};
    mk_vec_append(&v, src, 5);
    mk_vec_append(&v, src, 0);
    mk_vec_append(&v, NULL, 0);
    short *p = mk_vec_append(&v, src + 1, 3);
    CHECK_INT(p[0], 2);
    CHECK_U64(mk_vec_len(&v), 8);
    short *d = mk_vec_data(&v);
    CHECK_INT(d[4], 5);
    CHECK_INT(d[7], 4);
    short *q = mk_vec_push_n(&v, 1000);
    CHECK(q == (short *)mk_vec_data(&v) + 8);
    CHECK_U64(mk_vec_len(&v), 1008);
    mk_vec_free(&v);

    mk_vec w;   /* push_n(0) on a fresh vec still gives a usable pointer */
    mk_vec_init(&w, 4);
    CHECK(mk_vec_push_n(&w, 0) != NULL);
    CHECK_U64(mk_vec_len(&w), 0);
    mk_vec_free(&w);
}

static void test_pop_clear(void)
{
    mk_vec v;
    mk_vec_init(&v, sizeof(int));
    for (int i = 0; i < 10; i++)
        *(int *)mk_vec_push(&v) = i;
    CHECK_INT(*(int *)mk_vec_pop(&v), 9);
    CHECK_INT(*(int *)mk_vec_pop(&v), 8);
    CHECK_U64(mk_vec_len(&v), 8);
    size_t cap = v.cap;
    mk_vec_truncate(&v, 5);
    CHECK_U64(mk_vec_len(&v), 5);
    CHECK_INT(*(int *)mk_vec_pop(&v), 4);
    CHECK_U64(v.cap, cap);
    mk_vec_clear(&v);
    CHECK_U64(mk_vec_len(&v), 0);
    CHECK_U64(v.cap, cap);
    CHECK(mk_vec_pop(&v) == NULL);
    *(int *)mk_vec_push(&v) = 42;
    CHECK_INT(*(int *)mk_vec_get(&v, 0), 42);
    mk_vec_free(&v);
}

static void test_odd_elem_size(void)
{
    mk_vec v;
    mk_vec_init(&v, 7);
    for (int i = 0; i < 300; i++)
        memset(mk_vec_push(&v), i & 0xff, 7);
    int bad = 0;
    for (int i = 0; i < 300; i++) {
        unsigned char *p = mk_vec_get(&v, (size_t)i);
        for (int k = 0; k < 7; k++)
            bad += p[k] != (i & 0xff);
    }
    CHECK_INT(bad, 0);
    mk_vec_free(&v);
}

struct pt { int x, y; };
MK_VEC_DEFINE(pt_vec, struct pt)
MK_VEC_DEFINE(dbl_vec, double)

static void test_typed(void)
{
    pt_vec v;
    pt_vec_init(&v);
    for (int i = 0; i < 50; i++)
        pt_vec_push(&v, (struct pt){i, -i});
    CHECK_U64(pt_vec_len(&v), 50);
    CHECK_INT(pt_vec_at(&v, 49)->y, -49);
    CHECK(pt_vec_at(&v, 50) == NULL);
    CHECK_INT(pt_vec_data(&v)[10].x, 10);
    pt_vec_clear(&v);
    CHECK_U64(pt_vec_len(&v), 0);
    pt_vec_free(&v);

    dbl_vec d;
    dbl_vec_init(&d);
    *dbl_vec_push(&d, 1.5) += 1.0;
    CHECK(*dbl_vec_at(&d, 0) == 2.5);
    dbl_vec_free(&d);
}

/* 1e5 random push/pop/set/clear operations mirrored on a fixed array. */
static void test_random_vs_array(void)
{
    enum { N = 100000 };
    uint64_t *ref = malloc(3 * N * sizeof *ref);   /* appends add 3 */
    size_t rlen = 0;
    mk_vec v;
    mk_vec_init(&v, sizeof(uint64_t));
    int bad = 0;
    for (int op = 0; op < N; op++) {
        uint64_t r = rnd();
        switch (r % 10) {
        case 0: case 1: case 2: case 3: case 4: case 5:
            *(uint64_t *)mk_vec_push(&v) = r;
            ref[rlen++] = r;
            break;
        case 6: case 7: {
            uint64_t *p = mk_vec_pop(&v);
            if (rlen) {
                bad += !p || *p != ref[--rlen];
            } else {
                bad += p != NULL;
            }
            break;
        }
        case 8:
            if (rlen) {
                size_t i = (r >> 8) % rlen;
                *(uint64_t *)mk_vec_get(&v, i) = r >> 3;
                ref[i] = r >> 3;
            }
            break;
        default:
            if (r % 1000 == 9) {
                mk_vec_clear(&v);
                rlen = 0;
            } else if (r % 1000 == 19) {
                uint64_t tmp[3] = {r, r + 1, r + 2};
                mk_vec_append(&v, tmp, 3);
                memcpy(ref + rlen, tmp, sizeof tmp);
                rlen += 3;
            }
        }
        bad += mk_vec_len(&v) != rlen;
    }
    CHECK_INT(bad, 0);
    CHECK_U64(mk_vec_len(&v), rlen);
    CHECK(rlen == 0 || memcmp(mk_vec_data(&v), ref, rlen * sizeof *ref) == 0);
    free(ref);
    mk_vec_free(&v);
}

int main(void)
{
    RUN(test_empty);
    RUN(test_push_get);
    RUN(test_growth_doubles);
    RUN(test_reserve);
    RUN(test_append_push_n);
    RUN(test_pop_clear);
    RUN(test_odd_elem_size);
    RUN(test_typed);
    RUN(test_random_vs_array);
    return DONE();
}
