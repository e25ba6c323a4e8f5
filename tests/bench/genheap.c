/* genheap — a seeded heap trace for the leakdiff benchmark.
 *
 * usage: genheap EVENTS LIVE SEED [memkit|mtrace]
 *
 * A program with 2000 allocation sites (call chains of 3 frames) whose live
 * set rises to LIVE blocks and then stays there: each event allocates or
 * frees (a random live block) so that the live count hovers around LIVE;
 * one in 50 frees is a realloc instead. Sizes are skewed (most 16-256 B,
 * some up to 64 KiB). Freed addresses are reused last-in first-out, as
 * malloc does. One site leaks slowly (one 40-byte block per 1000 events) so
 * the leak and growth reports have something to find, and a snapshot
 * marker is written every EVENTS/20 events.
 *
 * memkit: the memkit heap format with an "s" table and $ID sites.
 * mtrace: glibc's mtrace format for the same events ("@ ./prog:[0xOFF]"
 * callers, realloc as a "<" ">" pair; no snapshots), for glibc's mtrace
 * script. Output on stdout; the same arguments give the same bytes. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SITES = 2000 };

static uint64_t rng = 88172645463325252ull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

typedef struct {
    uint64_t addr, size;
    uint32_t site;
} blk;

static uint64_t pick_size(void)
{
    uint64_t r = next() % 1000;
    if (r < 700)
        return 16 + next() % 240;
    if (r < 950)
        return 256 + next() % 3840;
    return 4096 + next() % 61440;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: genheap EVENTS LIVE SEED [memkit|mtrace]\n");
        return 2;
    }
    uint64_t events = strtoull(argv[1], NULL, 10), live_target = strtoull(argv[2], NULL, 10);
    rng ^= strtoull(argv[3], NULL, 10) * 0x9E3779B97F4A7C15ull;
    int mt = argc > 4 && strcmp(argv[4], "mtrace") == 0;
    static char buf[1 << 16];
    setvbuf(stdout, buf, _IOFBF, sizeof buf);
    if (!live_target)
        live_target = 1;

    blk *live = malloc((live_target * 2 + 16) * sizeof *live);
    uint64_t *freed = malloc((live_target * 2 + 16) * sizeof *freed);
    if (!live || !freed)
        return 2;
    size_t nlive = 0, nfreed = 0;
    uint64_t next_addr = 0x555555560000ull, ts = 0;
    const uint32_t leak_site = SITES - 1;

    if (mt) {
        puts("= Start");
    } else {
        puts("#memkit heap v1");
        for (uint32_t s = 0; s < SITES; s++)
            printf("s %u alloc_%u+0x%x<mod%u.c:%u<main+0x%x\n", s + 1, s, (s * 37) % 251 + 8, s % 40,
                   10 + s % 300, 0x40 + s % 17);
    }
    for (uint64_t e = 1; e <= events; e++) {
        ts += 1 + next() % 2000;
        if (!mt && e % (events / 20 ? events / 20 : 1) == 0)
            printf("@ %" PRIu64 " step %" PRIu64 "\n", ts, e / (events / 20 ? events / 20 : 1));
        int leak = e % 1000 == 0;
        /* allocate while below target, free while above, else a coin */
        int alloc = leak || nlive == 0 || (nlive < live_target ? next() % 100 < 80 : next() % 100 < 45);
        if (nlive >= 2 * live_target)
            alloc = 0;
        if (alloc) {
            blk b;
            b.addr = nfreed ? freed[--nfreed] : (next_addr += 16 * (1 + next() % 64));
            b.size = leak ? 40 : pick_size();
            /* skewed sites: a few hot ones */
            uint64_t r = next();
            b.site = leak ? leak_site : (uint32_t)((r % 4 == 0 ? r % 20 : r % (SITES - 1)));
            if (leak) {
                /* leaked blocks are never picked for free: keep them apart */
                if (mt)
                    printf("@ ./prog:[0x%x] + 0x%" PRIx64 " 0x%" PRIx64 "\n", 0x1000 + b.site * 16, b.addr, b.size);
                else
                    printf("+ %" PRIu64 " %" PRIx64 " %" PRIu64 " $%u\n", ts, b.addr, b.size, b.site + 1);
                continue;
            }
            live[nlive++] = b;
            if (mt)
                printf("@ ./prog:[0x%x] + 0x%" PRIx64 " 0x%" PRIx64 "\n", 0x1000 + b.site * 16, b.addr, b.size);
            else
                printf("+ %" PRIu64 " %" PRIx64 " %" PRIu64 " $%u\n", ts, b.addr, b.size, b.site + 1);
        } else {
            size_t i = (size_t)(next() % nlive);
            blk b = live[i];
            if (next() % 50 == 0) {       /* realloc: grow in place or move */
                uint64_t nsize = b.size + b.size / 2 + 8;
                uint64_t naddr = next() % 2 ? b.addr : nfreed ? freed[--nfreed]
                                                    : (next_addr += 16 * (1 + next() % 64));
                uint32_t site = (uint32_t)(next() % (SITES - 1));
                if (mt)
                    printf("@ ./prog:[0x%x] < 0x%" PRIx64 "\n@ ./prog:[0x%x] > 0x%" PRIx64 " 0x%" PRIx64 "\n",
                           0x1000 + site * 16, b.addr, 0x1000 + site * 16, naddr, nsize);
                else
                    printf("~ %" PRIu64 " %" PRIx64 " %" PRIx64 " %" PRIu64 " $%u\n", ts, b.addr, naddr, nsize,
                           site + 1);
                if (naddr != b.addr)
                    freed[nfreed++] = b.addr;
                live[i] = (blk){ naddr, nsize, site };
                continue;
            }
            live[i] = live[--nlive];
            freed[nfreed++] = b.addr;
            if (mt)
                printf("@ ./prog:[0x%x] - 0x%" PRIx64 "\n", 0x2000 + b.site * 16, b.addr);
            else
                printf("- %" PRIu64 " %" PRIx64 "\n", ts, b.addr);
        }
    }
    if (mt)
        puts("= End");
    free(live);
    free(freed);
    return fflush(stdout) == 0 ? 0 : 1;
}
