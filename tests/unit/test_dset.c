/* Unit tests for chunkproc's exact distinct set (cmd/chunkproc/dset):
 * membership and counts against lib/map on random byte strings of every
 * length class (inline in a slot, in a chunk, longer than a chunk), the
 * batch path against single adds, short entries that end against an
 * unmapped page (the slot words are loaded a word at a time), and a drained
 * set's entries added, in drain order, to a new set without piling up. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../../cmd/chunkproc/dset.h"
#include "map.h"
#include "unit.h"

UNIT_RNG(0x6c8e9cf570932bd5u)

enum { NKEYS = 20000, MAXLEN = 300000 };

typedef struct {
    char *p;
    size_t n;
} key;

static key keys[NKEYS];
static mk_map ref;              /* key -> index in keys */

/* Distinct random keys: mostly 1..11 bytes (inline), some to 40 (chunk),
 * a few past the 256 KiB chunk size; bytes include 0. */
static void make_keys(void)
{
    mk_map_init(&ref, NKEYS);
    for (size_t i = 0; i < NKEYS;) {
        uint64_t r = rnd();
        size_t n = r % 8 < 5 ? 1 + r / 8 % 11 : r % 8 < 7 ? 12 + r / 8 % 29 : i % 500 == 7 ? MAXLEN : 1 + r / 8 % 64;
        char *p = malloc(n);
        for (size_t k = 0; k < n; k++)
            p[k] = (char)(rnd() % (i % 3 ? 256 : 4));     /* some keys share most bytes */
        int ins;
        uint64_t *v = mk_map_put(&ref, p, n, &ins);
        if (!ins) {
            free(p);
            continue;
        }
        *v = i;
        keys[i++] = (key){ p, n };
    }
}

struct seen {
    unsigned char *hit;
    uint64_t *count;
    size_t bad, n;
};

static int mark(void *ctx, const char *p, size_t n, uint64_t c)
{
    struct seen *s = ctx;
    uint64_t *v = mk_map_get(&ref, p, n);
    if (!v || s->hit[*v]++)
        s->bad++;
    else if (s->count && s->count[*v] != c)
        s->bad++;
    s->n++;
    return 0;
}

/* Every key of keys[0..nk) once, with the expected counts if counted. */
static void check_contents(const cp_dset *d, size_t nk, uint64_t *count)
{
    struct seen s = { calloc(NKEYS, 1), count, 0, 0 };
    cp_dset_each_count(d, mark, &s);
    CHECK_U64(s.bad, 0);
    CHECK_U64(s.n, nk);
    CHECK_U64(cp_dset_len(d), nk);
    free(s.hit);
}

static void test_single_adds(void)
{
    cp_dset *d = cp_dset_new();
    unsigned char *added = calloc(NKEYS, 1);
    size_t wrong = 0, nk = 0;
    for (int r = 0; r < 60000; r++) {
        size_t i = rnd() % NKEYS;
        if (cp_dset_add(d, keys[i].p, keys[i].n) != !added[i])
            wrong++;
        nk += !added[i];
        added[i] = 1;
    }
    CHECK_U64(wrong, 0);
    /* Only the keys added: each_count finds exactly them. */
    struct seen s = { calloc(NKEYS, 1), NULL, 0, 0 };
    cp_dset_each_count(d, mark, &s);
    size_t diff = 0;
    for (size_t i = 0; i < NKEYS; i++)
        diff += s.hit[i] != added[i];
    CHECK_U64(diff, 0);
    CHECK_U64(s.n, nk);
    free(s.hit);
    free(added);
    cp_dset_free(d);
}

static void test_counted(void)
{
    cp_dset *d = cp_dset_new_counted();
    uint64_t *count = calloc(NKEYS, sizeof *count);
    for (int r = 0; r < 3 * NKEYS; r++) {
        size_t i = r < NKEYS ? (size_t)r : rnd() % NKEYS;
        uint64_t c = 1 + rnd() % 5;
        cp_dset_add_count(d, keys[i].p, keys[i].n, c);
        count[i] += c;
    }
    check_contents(d, NKEYS, count);
    free(count);
    cp_dset_free(d);
}

static void test_batch(void)
{
    cp_dset *d = cp_dset_new();
    cp_dset_batch *b = calloc(1, sizeof *b);
    for (int r = 0; r < 3 * NKEYS; r++) {
        size_t i = r < NKEYS ? (size_t)r : rnd() % NKEYS;
        memcpy(cp_dset_batch_room(d, b, keys[i].n), keys[i].p, keys[i].n);
        cp_dset_batch_commit(b, keys[i].n);
    }
    cp_dset_add_batch(d, b);
    check_contents(d, NKEYS, NULL);
    /* Entries built in place may commit less than the room asked for. */
    char *e = cp_dset_batch_room(d, b, 100);
    memcpy(e, keys[0].p, keys[0].n);
    cp_dset_batch_commit(b, keys[0].n);
    cp_dset_add_batch(d, b);
    CHECK_U64(cp_dset_len(d), NKEYS);
    cp_dset_batch_free(b);
    free(b);
    cp_dset_free(d);
}

/* Short entries that end where the mapping ends: a load past them would
 * fault. Each is found again from an ordinary buffer. */
static void test_page_edge(void)
{
    long pg = sysconf(_SC_PAGESIZE);
    char *m = mmap(NULL, 2 * (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    if (m == MAP_FAILED)
        return;
    CHECK(mprotect(m + pg, (size_t)pg, PROT_NONE) == 0);
    cp_dset *d = cp_dset_new();
    size_t wrong = 0;
    for (size_t n = 1; n <= 12; n++) {
        char *p = m + pg - n, buf[16];
        for (size_t k = 0; k < n; k++)
            p[k] = buf[k] = (char)('a' + n + k);
        wrong += cp_dset_add(d, p, n) != 1;
        wrong += cp_dset_add(d, p, n) != 0;
        wrong += cp_dset_add(d, buf, n) != 0;
        /* ...and at the start of the mapping, whose page before may be
         * unmapped: the load must not reach back there. */
        memmove(m, p, n);
        wrong += cp_dset_add(d, m, n) != 0;
    }
    CHECK_U64(wrong, 0);
    CHECK_U64(cp_dset_len(d), 12);
    cp_dset_free(d);
    munmap(m, 2 * (size_t)pg);
}

/* Drained entries come out sorted by home slot. Added in that order to a
 * new set that grows as it fills, they must not pile into one cluster: the
 * slots probed past the home stay about what random order gives (about 2
 * an entry at 3/4 full; with the same home function for both sets, over
 * 30 here). */
struct out {
    char *buf;
    size_t used;
    uint32_t *len;
    size_t n;
};

static int collect(void *ctx, const char *p, size_t n, uint64_t c)
{
    (void)c;
    struct out *o = ctx;
    memcpy(o->buf + o->used, p, n);
    o->used += n;
    o->len[o->n++] = (uint32_t)n;
    return 0;
}

static void test_drain_order(void)
{
    enum { N = 400000 };
    cp_dset *a = cp_dset_new(), *b = cp_dset_new();
    char k[8];
    for (uint32_t i = 0; i < N; i++) {
        memcpy(k, &i, 4);
        memcpy(k + 4, "v", 1);
        cp_dset_add(a, k, 5);
    }
    size_t before = cp_dset_probes(a);
    struct out o = { malloc((size_t)N * 5), 0, malloc(N * sizeof(uint32_t)), 0 };
    cp_dset_drain(a, collect, &o);
    CHECK_U64(o.n, N);
    CHECK_U64(cp_dset_len(a), 0);
    size_t at = 0;
    for (size_t i = 0; i < o.n; i++) {
        cp_dset_add(b, o.buf + at, o.len[i]);
        at += o.len[i];
    }
    CHECK_U64(cp_dset_len(b), N);
    double random_order = (double)before / N, drain_order = (double)cp_dset_probes(b) / N;
    printf("# probes past home an entry: %.2f in random order, %.2f in drain order\n", random_order, drain_order);
    CHECK(random_order < 4);
    CHECK(drain_order < 2 * random_order + 1);
    /* The drained set keeps its arrays and refills from them. */
    at = 0;
    for (size_t i = 0; i < o.n; i++) {
        cp_dset_add(a, o.buf + at, o.len[i]);
        at += o.len[i];
    }
    CHECK_U64(cp_dset_len(a), N);
    free(o.buf);
    free(o.len);
    cp_dset_free(a);
    cp_dset_free(b);
}

int main(void)
{
    make_keys();
    RUN(test_single_adds);
    RUN(test_counted);
    RUN(test_batch);
    RUN(test_page_edge);
    RUN(test_drain_order);
    for (size_t i = 0; i < NKEYS; i++)
        free(keys[i].p);
    mk_map_free(&ref);
    return DONE();
}
