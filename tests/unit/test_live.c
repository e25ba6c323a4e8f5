/* Unit tests for leakdiff's live-block table (cmd/leakdiff/live): add,
 * delete with the event that made a block, sizes by site, peak, iteration,
 * growth, 2e5 random operations against a plain array on addresses dense
 * enough that probes wrap around the table's end, and one group overfull
 * (tombstones and sweeps). */
#include <stdint.h>
#include <stdlib.h>

#include "../../cmd/leakdiff/live.h"
#include "unit.h"

UNIT_RNG(0x243f6a8885a308d3u)

static void test_basics(void)
{
    ld_live l;
    ld_live_init(&l);
    CHECK(ld_live_add(&l, 0x1000, 100, 3, 1));
    CHECK(ld_live_add(&l, 0x2000, 50, 3, 2));
    CHECK(!ld_live_add(&l, 0x1000, 7, 1, 3));       /* live already: nothing changes */
    CHECK(ld_live_add(&l, 0, 9, 1, 4));              /* address 0: not a block */
    CHECK(!ld_live_has(&l, 0));
    CHECK_U64(l.bytes, 150);
    CHECK_U64(l.blocks, 2);
    CHECK_U64(ld_live_site_of(&l, 3).bytes, 150);
    CHECK_U64(ld_live_site_of(&l, 3).blocks, 2);
    CHECK_U64(ld_live_site_of(&l, 99).bytes, 0);
    CHECK_U64(ld_live_del(&l, 0x1000) & LD_LIVE_MADE_MASK, 1);
    CHECK_U64(ld_live_del(&l, 0x1000), 0);           /* not live any more */
    CHECK_U64(ld_live_del(&l, 0x3000), 0);
    CHECK(ld_live_add(&l, 0x3000, 400, 1, 5));
    CHECK_U64(l.peak, 450);
    CHECK_U64(l.bytes, 450);
    CHECK_U64(ld_live_del(&l, 0x2000) & LD_LIVE_MADE_MASK, 2);
    CHECK_U64(ld_live_site_of(&l, 3).bytes, 0);
    CHECK_U64(ld_live_site_of(&l, 1).blocks, 1);
    /* event number 2^40 is 0 in the low bits, and still reads as live */
    CHECK(ld_live_add(&l, 0x4000, 1, 0, UINT64_C(1) << 40));
    uint64_t m = ld_live_del(&l, 0x4000);
    CHECK(m != 0);
    CHECK_U64(m & LD_LIVE_MADE_MASK, 0);
    ld_live_free(&l);
}

enum { UNIVERSE = 6000, OPS = 200000 };

static void test_random(void)
{
    static uint64_t size[UNIVERSE], made[UNIVERSE];
    static uint32_t site[UNIVERSE];
    static unsigned char live[UNIVERSE];
    uint64_t bytes = 0, blocks = 0, peak = 0, by_site[8] = { 0 };
    ld_live l;
    ld_live_init(&l);
    int bad = 0;
    for (uint64_t op = 1; op <= OPS && !bad; op++) {
        uint64_t k = rnd() % UNIVERSE, addr = 16 + 16 * k;   /* dense, aligned like malloc's */
        /* bias towards a live set of ~2000 blocks, so the table grows and shrinks its runs */
        int want_add = blocks < 2000 ? rnd() % 3 != 0 : rnd() % 3 == 0;
        if (want_add) {
            uint64_t sz = rnd() % 5000;
            uint32_t st = (uint32_t)(rnd() % 8);
            int r = ld_live_add(&l, addr, sz, st, op);
            if (r != !live[k])
                bad = 1;
            if (!live[k]) {
                live[k] = 1, size[k] = sz, site[k] = st, made[k] = op;
                bytes += sz, blocks++, by_site[st] += sz;
                if (bytes > peak)
                    peak = bytes;
            }
        } else {
            uint64_t r = ld_live_del(&l, addr);
            if (live[k] ? (r & LD_LIVE_MADE_MASK) != made[k] || !r : r != 0)
                bad = 1;
            if (live[k]) {
                live[k] = 0, bytes -= size[k], blocks--, by_site[site[k]] -= size[k];
            }
        }
        if (l.bytes != bytes || l.blocks != blocks || l.peak != peak)
            bad = 1;
    }
    CHECK(!bad);
    for (uint32_t s = 0; s < 8; s++)
        CHECK_U64(ld_live_site_of(&l, s).bytes, by_site[s]);
    uint64_t n = 0, a, sz;
    uint32_t st;
    size_t it = 0;
    while (ld_live_next(&l, &it, &a, &sz, &st)) {
        uint64_t k = (a - 16) / 16;
        CHECK(k < UNIVERSE && live[k] && size[k] == sz && site[k] == st);
        n++;
    }
    CHECK_U64(n, blocks);
    for (uint64_t k = 0; k < UNIVERSE; k++)
        if (ld_live_has(&l, 16 + 16 * k) != live[k])
            bad = 1;
    CHECK(!bad);
    CHECK(l.cap >= 4096);   /* 2000+ live blocks at most 3/8 full */
    ld_live_free(&l);
}

/* 48 addresses of one home group fill it and the next two: frees in a full
 * group leave tombstones, probes must pass them, and sweeps (rehashing in
 * place) must keep every live block. */
static void test_one_group(void)
{
    ld_live l;
    ld_live_init(&l);
    size_t cap = l.cap;
    uint64_t a[48];
    size_t n = 0, want = ld_live_home(ld_live_hash(16), cap);
    for (uint64_t k = 1; n < 48; k++)
        if (ld_live_home(ld_live_hash(16 * k), cap) == want)
            a[n++] = 16 * k;
    int bad = 0;
    uint64_t made = 0;
    unsigned char live[48] = { 0 };
    uint64_t madeof[48];
    for (int round = 0; round < 300 && !bad; round++) {
        for (int j = 0; j < 48; j++)
            if (!live[j]) {
                if (!ld_live_add(&l, a[j], 1, 0, ++made))
                    bad = 1;
                live[j] = 1, madeof[j] = made;
            }
        for (int k = 0; k < 30; k++) {
            int j = (int)(rnd() % 48);
            uint64_t r = ld_live_del(&l, a[j]);
            if (live[j] ? (r & LD_LIVE_MADE_MASK) != madeof[j] : r != 0)
                bad = 1;
            live[j] = 0;
            for (int i = 0; i < 48; i++)
                if (ld_live_has(&l, a[i]) != live[i])
                    bad = 1;
        }
    }
    CHECK(!bad);
    CHECK_U64(l.cap, cap);      /* never more than 48 live: no growth, only sweeps */
    uint64_t nlive = 0;
    for (int j = 0; j < 48; j++)
        nlive += live[j];
    CHECK_U64(l.blocks, nlive);
    CHECK_U64(l.bytes, nlive);
    ld_live_free(&l);
}

int main(void)
{
    RUN(test_basics);
    RUN(test_random);
    RUN(test_one_group);
    return DONE();
}
