/* Unit tests for refwatch's outstanding-reference lists
 * (cmd/refwatch/reflist): a lone anonymous reference kept in the list's
 * word (no block), turned into a block by a second push, site ids too big
 * for it, and random pushes and removes on many lists against plain arrays
 * (order kept, blocks reused). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../cmd/refwatch/reflist.h"
#include "unit.h"

UNIT_RNG(0xa4093822299f31d0u)

static rw_ref ref(uint32_t site, uint64_t holder)
{
    return (rw_ref){ site, (uint32_t)holder, (uint32_t)(holder >> 32) };
}

static int same(rw_ref a, rw_ref b)
{
    return a.site == b.site && a.holder_lo == b.holder_lo && a.holder_hi == b.holder_hi;
}

static void test_inline(void)
{
    rw_reflists r;
    rw_refs_init(&r);
    uint32_t blk = 0, n = 0;
    rw_ref one;
    rw_refs_push(&r, &blk, &n, ref(7, 0));
    CHECK_U64(n, 1);
    CHECK(rw_refs_inline(blk));
    CHECK_U64(rw_refs_bytes(&r), 0);                 /* no block */
    CHECK(same(rw_refs_get(&r, blk, n, &one)[0], ref(7, 0)));
    rw_refs_push(&r, &blk, &n, ref(9, 0x1234567890ull));
    CHECK_U64(n, 2);
    CHECK(!rw_refs_inline(blk));
    const rw_ref *v = rw_refs_get(&r, blk, n, &one);
    CHECK(same(v[0], ref(7, 0)) && same(v[1], ref(9, 0x1234567890ull)));
    rw_refs_remove(&r, &blk, &n, 0);
    CHECK_U64(n, 1);
    CHECK(same(rw_refs_get(&r, blk, n, &one)[0], ref(9, 0x1234567890ull)));
    rw_refs_remove(&r, &blk, &n, 0);
    CHECK_U64(n, 0);
    CHECK_U64(blk, 0);
    /* no site; then a site id too big to sit beside the class */
    rw_refs_push(&r, &blk, &n, ref(UINT32_MAX, 0));
    CHECK(rw_refs_inline(blk));
    CHECK_U64(rw_refs_get(&r, blk, n, &one)[0].site, UINT32_MAX);
    rw_refs_remove(&r, &blk, &n, 0);
    CHECK_U64(n, 0);
    rw_refs_push(&r, &blk, &n, ref(1u << 27, 0));
    CHECK(!rw_refs_inline(blk));
    CHECK_U64(rw_refs_get(&r, blk, n, &one)[0].site, 1u << 27);
    rw_refs_clear(&r, &blk, &n);
    CHECK_U64(n, 0);
    /* a holder: a block even alone */
    rw_refs_push(&r, &blk, &n, ref(3, 5));
    CHECK(!rw_refs_inline(blk));
    rw_refs_clear(&r, &blk, &n);
    rw_refs_push(&r, &blk, &n, ref(3, 0));
    rw_refs_clear(&r, &blk, &n);                      /* inline: nothing to free */
    CHECK_U64(blk, 0);
    rw_refs_free(&r);
}

enum { LISTS = 300, MAXN = 80 };

static void test_random(void)
{
    rw_reflists r;
    rw_refs_init(&r);
    static uint32_t blk[LISTS], n[LISTS];
    static rw_ref want[LISTS][MAXN];
    for (int k = 0; k < 300000; k++) {
        int l = (int)(rnd() % LISTS);
        if (n[l] < MAXN && (n[l] == 0 || rnd() % 2)) {
            /* mostly anonymous, so lists pass through the inline form */
            rw_ref x = ref((uint32_t)(rnd() % 1000), rnd() % 3 ? 0 : rnd() % 50 + 1);
            rw_refs_push(&r, &blk[l], &n[l], x);
            want[l][n[l] - 1] = x;
        } else if (rnd() % 50 == 0) {
            rw_refs_clear(&r, &blk[l], &n[l]);
        } else {
            uint32_t j = (uint32_t)(rnd() % n[l]);
            rw_refs_remove(&r, &blk[l], &n[l], j);
            memmove(&want[l][j], &want[l][j + 1], (n[l] - j) * sizeof want[l][0]);
        }
        if (k % 1000 == 0 || k > 299000) {
            for (int q = 0; q < LISTS; q++) {
                rw_ref one;
                const rw_ref *v = rw_refs_get(&r, blk[q], n[q], &one);
                for (uint32_t j = 0; j < n[q]; j++)
                    if (!same(v[j], want[q][j])) {
                        CHECK(same(v[j], want[q][j]));
                        rw_refs_free(&r);
                        return;
                    }
            }
        }
    }
    rw_refs_free(&r);
}

int main(void)
{
    RUN(test_inline);
    RUN(test_random);
    return DONE();
}
