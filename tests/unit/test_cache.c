/* Unit tests for lib/cache: hand-checked traces per policy, invariants on
 * random traces for every policy, TTLs, weak drops, and save/restore. */
#include "cache.h"
#include "err.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

UNIT_RNG(42)

static mk_cache *make(mk_cache_policy p, uint64_t cap, int count)
{
    mk_cache_opts o;
    mk_cache_defaults(&o, p, cap);
    o.count = count;
    mk_cache *c = mk_cache_new(&o);
    if (!c)
        mk_die("%s", mk_err_msg());
    return c;
}

/* Runs "ABCA..." (one letter per get, size 1) and returns the hit pattern
 * as a string of h and m. */
static const char *pattern(mk_cache *c, const char *keys)
{
    static char buf[128];
    size_t n = strlen(keys);
    for (size_t i = 0; i < n; i++)
        buf[i] = mk_cache_get(c, (uint64_t)keys[i], 1, (int64_t)i, MK_CACHE_NEVER, MK_CACHE_NEVER) ? 'h' : 'm';
    buf[n] = 0;
    return buf;
}

static const char *run(mk_cache_policy p, uint64_t cap, const char *keys)
{
    mk_cache *c = make(p, cap, 1);
    const char *r = pattern(c, keys);
    mk_cache_free(c);
    return r;
}

static void test_hand_checked(void)
{
    /* Worked out by hand in the commit that added them; see cachesim(1). */
    CHECK_STR(run(MK_CACHE_LRU, 3, "ABCADBEA"), "mmmhmmmm");
    CHECK_STR(run(MK_CACHE_FIFO, 3, "ABCADBEA"), "mmmhmhmm");
    CHECK_STR(run(MK_CACHE_CLOCK, 3, "ABCADBEA"), "mmmhmmmm");
    CHECK_STR(run(MK_CACHE_SIEVE, 3, "ABCADBEA"), "mmmhmmmh");
    CHECK_STR(run(MK_CACHE_LFU, 3, "ABCADBEA"), "mmmhmmmh");
    /* LFU ties go to the entry that reached the count first. */
    CHECK_STR(run(MK_CACHE_LFU, 2, "ABBAC" "A" "B"), "mmhhmhm");
    /* Belady evicts what is used farthest in the future. */
    {
        mk_cache *c = make(MK_CACHE_BELADY, 2, 1);
        /* A B C A B with next uses 3 4 inf inf inf */
        int64_t nx[] = { 3, 4, MK_CACHE_NEVER, MK_CACHE_NEVER, MK_CACHE_NEVER };
        const char *k = "ABCAB";
        char got[6] = { 0 };
        for (int i = 0; i < 5; i++)
            got[i] = mk_cache_get(c, (uint64_t)k[i], 1, i, MK_CACHE_NEVER, nx[i]) ? 'h' : 'm';
        CHECK_STR(got, "mmmhm");
        mk_cache_free(c);
    }
    /* One key repeated: one miss. */
    for (int p = 0; p < MK_CACHE_NPOLICIES; p++)
        if (p != MK_CACHE_BELADY)
            CHECK_STR(run((mk_cache_policy)p, 100, "AAAAA"), "mhhhh");
}

static void test_too_big_not_admitted(void)
{
    for (int p = 0; p < MK_CACHE_NPOLICIES; p++) {
        mk_cache *c = make((mk_cache_policy)p, 100, 0);
        CHECK_INT(mk_cache_get(c, 1, 101, 0, MK_CACHE_NEVER, 5), 0);
        CHECK_INT(mk_cache_get(c, 1, 101, 1, MK_CACHE_NEVER, MK_CACHE_NEVER), 0);
        mk_cache_stats st;
        mk_cache_stats_get(c, &st);
        CHECK_U64(st.misses, 2);
        CHECK_U64(st.rejected, 2);
        CHECK_U64(st.used, 0);
        mk_cache_free(c);
    }
}

static void test_bad_options(void)
{
    mk_cache_opts o;
    mk_cache_defaults(&o, MK_CACHE_LRU, 0);
    CHECK(mk_cache_new(&o) == NULL);
    CHECK_CONTAINS(mk_err_msg(), "capacity");
    mk_cache_defaults(&o, MK_CACHE_S3FIFO, 10);
    o.small_ratio = 1.5;
    CHECK(mk_cache_new(&o) == NULL);
    mk_cache_policy p;
    CHECK_INT(mk_cache_policy_parse("S3FIFO", 6, &p), 0);
    CHECK_INT(p, MK_CACHE_S3FIFO);
    CHECK_INT(mk_cache_policy_parse("twoq", 4, &p), 0);
    CHECK_INT(p, MK_CACHE_2Q);
    CHECK_INT(mk_cache_policy_parse("lru2", 4, &p), -1);
}

static void test_ttl(void)
{
    mk_cache *c = make(MK_CACHE_LRU, 10, 1);
    CHECK_INT(mk_cache_get(c, 1, 1, 0, 10, MK_CACHE_NEVER), 0);    /* expires at 10 */
    CHECK_INT(mk_cache_get(c, 1, 1, 9, 99, MK_CACHE_NEVER), 1);
    CHECK_INT(mk_cache_get(c, 1, 1, 10, 20, MK_CACHE_NEVER), 0);   /* expired: a miss, reinserted */
    CHECK_INT(mk_cache_get(c, 2, 1, 10, 10, MK_CACHE_NEVER), 0);   /* TTL 0 */
    CHECK_INT(mk_cache_get(c, 2, 1, 10, 10, MK_CACHE_NEVER), 0);
    mk_cache_stats st;
    mk_cache_stats_get(c, &st);
    CHECK_U64(st.expirations, 2);
    CHECK_U64(st.evictions, 0);
    CHECK_INT(mk_cache_contains(c, 1, 19), 1);
    CHECK_INT(mk_cache_contains(c, 1, 20), 0);
    mk_cache_free(c);
}

static void test_weak(void)
{
    for (int weak = 0; weak <= 1; weak++) {
        mk_cache_opts o;
        mk_cache_defaults(&o, MK_CACHE_LRU, 100);
        o.weak = weak;
        mk_cache *c = mk_cache_new(&o);
        mk_cache_get(c, 1, 10, 0, MK_CACHE_NEVER, MK_CACHE_NEVER);
        mk_cache_get(c, 2, 20, 0, MK_CACHE_NEVER, MK_CACHE_NEVER);
        mk_cache_drop(c, 1);
        mk_cache_drop(c, 2);
        mk_cache_drop(c, 3);   /* not cached: nothing */
        mk_cache_stats st;
        mk_cache_stats_get(c, &st);
        CHECK_U64(st.weak_drops, weak ? 2 : 0);
        CHECK_U64(st.retained, weak ? 0 : 2);
        CHECK_U64(st.retained_bytes, weak ? 0 : 30);
        CHECK_U64(st.objects, weak ? 0 : 2);
        CHECK_INT(mk_cache_get(c, 1, 10, 1, MK_CACHE_NEVER, MK_CACHE_NEVER), !weak);
        mk_cache_stats_get(c, &st);
        CHECK_U64(st.retained_hits, weak ? 0 : 1);
        CHECK_U64(st.retained, weak ? 0 : 1);
        mk_cache_del(c, 2);
        mk_cache_stats_get(c, &st);
        CHECK_U64(st.retained, 0);
        CHECK_U64(st.deletes, weak ? 0 : 1);
        mk_cache_free(c);
    }
}

static void test_set_and_del(void)
{
    mk_cache *c = make(MK_CACHE_LRU, 100, 0);
    mk_cache_set(c, 1, 40, 0, MK_CACHE_NEVER, MK_CACHE_NEVER);
    mk_cache_set(c, 1, 60, 0, MK_CACHE_NEVER, MK_CACHE_NEVER);   /* resized */
    mk_cache_stats st;
    mk_cache_stats_get(c, &st);
    CHECK_U64(st.used, 60);
    CHECK_U64(st.sets, 2);
    CHECK_U64(st.requests, 0);
    CHECK_INT(mk_cache_get(c, 1, 60, 0, MK_CACHE_NEVER, MK_CACHE_NEVER), 1);
    mk_cache_del(c, 1);
    CHECK_INT(mk_cache_get(c, 1, 60, 0, MK_CACHE_NEVER, MK_CACHE_NEVER), 0);
    mk_cache_free(c);
}

/* Random traces: the capacity holds, statistics add up, and the dense and
 * hashed indexes agree request by request. */
static void test_invariants(void)
{
    rng = 42;
    for (int p = 0; p < MK_CACHE_NPOLICIES; p++) {
        for (int count = 0; count <= 1; count++) {
            uint64_t cap = count ? 50 : 5000;
            mk_cache_opts o;
            mk_cache_defaults(&o, (mk_cache_policy)p, cap);
            o.count = count;
            o.window_ratio = 0.1;   /* W-TinyLFU admits nothing bigger than its window */
            mk_cache *a = mk_cache_new(&o);
            o.dense = 1;
            mk_cache *b = mk_cache_new(&o);
            int bad = 0;
            enum { N = 20000, K = 400 };
            static uint32_t keys[N];
            static int64_t nexts[N];
            int64_t last[K];
            for (int k = 0; k < K; k++)
                last[k] = MK_CACHE_NEVER;
            for (int i = 0; i < N; i++) {
                uint32_t r = (uint32_t)rnd();
                keys[i] = (r % 3) ? r % 40 : r % K;
            }
            for (int i = N - 1; i >= 0; i--) {
                nexts[i] = last[keys[i]];
                last[keys[i]] = i;
            }
            for (int i = 0; i < N && !bad; i++) {
                uint32_t size = 1 + keys[i] % 97 * 3;
                int ha = mk_cache_get(a, keys[i], size, i, MK_CACHE_NEVER, nexts[i]);
                int hb = mk_cache_get(b, keys[i], size, i, MK_CACHE_NEVER, nexts[i]);
                mk_cache_stats st;
                mk_cache_stats_get(a, &st);
                if (ha != hb || st.used > cap)
                    bad = 1;
            }
            mk_cache_stats sa, sb;
            mk_cache_stats_get(a, &sa);
            mk_cache_stats_get(b, &sb);
            CHECK_INT(bad, 0);
            CHECK_U64(sa.hits + sa.misses, N);
            CHECK_U64(sa.hits, sb.hits);
            CHECK(sa.hits > 0);
            CHECK(sa.evictions > 0);
            if (bad || !sa.hits || !sa.evictions)
                printf("# policy %s count %d\n", mk_cache_policy_names[p], count);
            mk_cache_free(a);
            mk_cache_free(b);
        }
    }
}

/* Belady is optimal: never more misses than any other policy. */
static void test_belady_is_optimal(void)
{
    rng = 7;
    enum { N = 20000, K = 300 };
    static uint32_t keys[N];
    static int64_t nexts[N];
    int64_t last[K];
    for (int k = 0; k < K; k++)
        last[k] = MK_CACHE_NEVER;
    for (int i = 0; i < N; i++) {
        uint32_t r = (uint32_t)rnd();
        keys[i] = (r & 1) ? r % 30 : r % K;
    }
    for (int i = N - 1; i >= 0; i--) {
        nexts[i] = last[keys[i]];
        last[keys[i]] = i;
    }
    uint64_t misses[MK_CACHE_NPOLICIES];
    for (int p = 0; p < MK_CACHE_NPOLICIES; p++) {
        mk_cache *c = make((mk_cache_policy)p, 40, 1);
        for (int i = 0; i < N; i++)
            mk_cache_get(c, keys[i], 1, i, MK_CACHE_NEVER, nexts[i]);
        mk_cache_stats st;
        mk_cache_stats_get(c, &st);
        misses[p] = st.misses;
        mk_cache_free(c);
    }
    for (int p = 0; p < MK_CACHE_NPOLICIES; p++)
        CHECK(misses[MK_CACHE_BELADY] <= misses[p]);
    CHECK(misses[MK_CACHE_BELADY] < misses[MK_CACHE_FIFO]);
}

typedef struct {
    mk_cache_entry *e;
    size_t n, cap;
} saved;

static void save_one(void *ctx, const mk_cache_entry *e)
{
    saved *s = ctx;
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 256;
        s->e = realloc(s->e, s->cap * sizeof *s->e);
    }
    s->e[s->n++] = *e;
}

/* A cache saved midway and restored behaves exactly like the original for
 * the rest of the trace, for every policy. */
static void test_restore_round_trip(void)
{
    rng = 99;
    enum { N = 30000 };
    static uint32_t keys[N];
    for (int i = 0; i < N; i++) {
        uint32_t r = (uint32_t)rnd();
        keys[i] = (r % 4) ? r % 50 : r % 500;
    }
    for (int p = 0; p < MK_CACHE_NPOLICIES; p++) {
        if (p == MK_CACHE_BELADY)
            continue;   /* next uses do not carry over to another trace */
        mk_cache_opts o;
        mk_cache_defaults(&o, (mk_cache_policy)p, 3000);
        mk_cache *a = mk_cache_new(&o);
        for (int i = 0; i < N / 2; i++)
            mk_cache_get(a, keys[i], 1 + keys[i] % 50, i, MK_CACHE_NEVER, MK_CACHE_NEVER);
        mk_cache_drop(a, keys[N / 2 - 1]);
        saved s = { 0 };
        size_t n = mk_cache_walk(a, save_one, &s);
        CHECK_U64(n, s.n);
        size_t blen = mk_cache_state_size(a);
        void *blob = malloc(blen);
        mk_cache_state_write(a, blob);
        mk_cache *b = mk_cache_new(&o);
        int ok = 1;
        for (size_t i = 0; i < s.n; i++)
            if (mk_cache_restore(b, &s.e[i]))
                ok = 0;
        CHECK_INT(ok, 1);
        CHECK_INT(mk_cache_state_read(b, blob, blen), 0);
        mk_cache_stats st;
        mk_cache_stats_get(a, &st);
        mk_cache_stats_set(b, &st);
        int same = 1;
        for (int i = N / 2; i < N; i++) {
            int ha = mk_cache_get(a, keys[i], 1 + keys[i] % 50, i, MK_CACHE_NEVER, MK_CACHE_NEVER);
            int hb = mk_cache_get(b, keys[i], 1 + keys[i] % 50, i, MK_CACHE_NEVER, MK_CACHE_NEVER);
            if (ha != hb)
                same = 0;
        }
        CHECK_INT(same, 1);
        mk_cache_stats sa, sb;
        mk_cache_stats_get(a, &sa);
        mk_cache_stats_get(b, &sb);
        CHECK_INT(memcmp(&sa, &sb, sizeof sa), 0);
        if (!same)
            printf("# policy %s\n", mk_cache_policy_names[p]);
        /* A restore into a cache that cannot hold it fails. */
        mk_cache_opts small = o;
        small.capacity = 10;
        mk_cache *tiny = mk_cache_new(&small);
        int failed = 0;
        for (size_t i = 0; i < s.n && !failed; i++)
            if (mk_cache_restore(tiny, &s.e[i]))
                failed = 1;
        CHECK_INT(failed, 1);
        mk_cache_free(tiny);
        free(s.e);
        free(blob);
        mk_cache_free(a);
        mk_cache_free(b);
    }
}

static void test_sync(void)
{
    mk_cache_sync s;
    mk_cache_opts o;
    mk_cache_defaults(&o, MK_CACHE_SIEVE, 2);
    o.count = 1;
    CHECK_INT(mk_cache_sync_init(&s, &o), 0);
    CHECK_INT(mk_cache_sync_get(&s, 1, 5, 0, MK_CACHE_NEVER), 0);
    CHECK_INT(mk_cache_sync_get(&s, 1, 5, 0, MK_CACHE_NEVER), 1);
    mk_cache_sync_drop(&s, 1);
    mk_cache_stats st;
    mk_cache_sync_stats(&s, &st);
    CHECK_U64(st.retained, 1);
    mk_cache_sync_free(&s);
}

static uint64_t evicted_keys;
static void on_evict(void *ctx, uint64_t key, uint32_t size)
{
    (void)ctx;
    (void)size;
    evicted_keys = evicted_keys * 10 + key;
}

static void test_evict_callback(void)
{
    mk_cache *c = make(MK_CACHE_LRU, 2, 1);
    mk_cache_on_evict(c, on_evict, NULL);
    for (uint64_t k = 1; k <= 4; k++)
        mk_cache_get(c, k, 1, 0, MK_CACHE_NEVER, MK_CACHE_NEVER);
    CHECK_U64(evicted_keys, 12);
    mk_cache_free(c);
}

/* mk_cache_run applies requests exactly as the single calls do, and
 * stops after the asked number of gets. */
static void test_run(void)
{
    rng = 5;
    enum { N = 5000 };
    static mk_cache_req r[N];
    for (int i = 0; i < N; i++) {
        uint32_t x = (uint32_t)rnd();
        r[i] = (mk_cache_req){ x % 300, 1 + x % 7, x % 10 == 0 ? MK_CACHE_SET : x % 17 == 0 ? MK_CACHE_DEL
                                                  : x % 19 == 0 ? MK_CACHE_DROP : MK_CACHE_GET,
                               i, i % 3 ? MK_CACHE_NEVER : i + 50, MK_CACHE_NEVER };
    }
    for (int p = 0; p < MK_CACHE_NPOLICIES; p++) {
        mk_cache_opts o;
        mk_cache_defaults(&o, (mk_cache_policy)p, 200);
        o.dense = 1;
        mk_cache *a = mk_cache_new(&o), *b = mk_cache_new(&o);
        for (int i = 0; i < N; i++) {
            const mk_cache_req *q = &r[i];
            if (q->op == MK_CACHE_GET)
                mk_cache_get(a, q->key, q->size, q->now, q->expire, q->next);
            else if (q->op == MK_CACHE_SET)
                mk_cache_set(a, q->key, q->size, q->now, q->expire, q->next);
            else if (q->op == MK_CACHE_DEL)
                mk_cache_del(a, q->key);
            else
                mk_cache_drop(a, q->key);
        }
        size_t done = 0;
        while (done < N)
            done += mk_cache_run(b, r + done, N - done, 97);
        mk_cache_stats sa, sb;
        mk_cache_stats_get(a, &sa);
        mk_cache_stats_get(b, &sb);
        CHECK_INT(memcmp(&sa, &sb, sizeof sa), 0);
        mk_cache_free(a);
        mk_cache_free(b);
    }
    mk_cache *c = make(MK_CACHE_LRU, 10, 1);
    mk_cache_req two[3] = { { 1, 1, MK_CACHE_GET, 0, MK_CACHE_NEVER, MK_CACHE_NEVER },
                            { 1, 1, MK_CACHE_DEL, 0, MK_CACHE_NEVER, MK_CACHE_NEVER },
                            { 2, 1, MK_CACHE_GET, 0, MK_CACHE_NEVER, MK_CACHE_NEVER } };
    CHECK_U64(mk_cache_run(c, two, 3, 1), 1);
    CHECK_U64(mk_cache_run(c, two + 1, 2, 1), 2);
    mk_cache_free(c);
}

int main(void)
{
    RUN(test_hand_checked);
    RUN(test_too_big_not_admitted);
    RUN(test_bad_options);
    RUN(test_ttl);
    RUN(test_weak);
    RUN(test_set_and_del);
    RUN(test_invariants);
    RUN(test_belady_is_optimal);
    RUN(test_restore_round_trip);
    RUN(test_sync);
    RUN(test_evict_callback);
    RUN(test_run);
    return DONE();
}
