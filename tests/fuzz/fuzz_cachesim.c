/* fuzz_cachesim — cachesim's trace decoders, every cache policy and the
 * miss-ratio curve, under ASan and UBSan.
 *
 * The first byte picks the format (auto, text, keys, CSV with a fixed
 * mapping, oracleGeneral) and the byte capacity; the rest is the trace.
 * Whatever decodes is replayed through every policy at a byte and an
 * object capacity: cached bytes never exceed the capacity, hits and misses
 * add up to the requests, and Belady never misses more than any other
 * policy on gets of unit size. Each cache is also saved and restored into
 * a fresh one, which must then equal it entry for entry. With only gets,
 * the exact stack-distance curve must give LRU's own miss counts in object
 * mode. The cachesim sources are compiled in here: they are not in lib. */
#include <stdint.h>
#include <string.h>

#include "fuzz.h"

#include "../../cmd/cachesim/mrc.c"
#include "../../cmd/cachesim/trace.c"

enum { MAXREQ = 4096 };

typedef struct {
    mk_cache_entry *e;
    size_t n;
} saved_entries;

/* Field by field into zeroed memory: the walk's entries are built on the
 * stack, and their padding bytes are whatever was there (comparing them
 * whole made the check depend on the stack's history). */
static void save_entry(void *ctx, const mk_cache_entry *e)
{
    saved_entries *s = ctx;
    if (s->n < MAXREQ * 4) {
        mk_cache_entry *x = &s->e[s->n++];
        memset(x, 0, sizeof *x);
        x->key = e->key;
        x->expire = e->expire;
        x->size = e->size;
        x->freq = e->freq;
        x->queue = e->queue;
        x->flags = e->flags;
    }
}

static void round_trip(const mk_cache *c, const mk_cache_opts *o)
{
    static mk_cache_entry a[MAXREQ * 4], b[MAXREQ * 4];
    saved_entries sa = { a, 0 }, sb = { b, 0 };
    mk_cache_walk(c, save_entry, &sa);
    mk_cache *d = mk_cache_new(o);
    for (size_t i = 0; i < sa.n; i++)
        FUZZ_CHECK(mk_cache_restore(d, &a[i]) == 0, "restore %s: %s", mk_cache_policy_names[o->policy],
                   mk_err_msg());
    mk_cache_walk(d, save_entry, &sb);
    FUZZ_CHECK(sa.n == sb.n && !memcmp(a, b, sa.n * sizeof *a), "%s: restored cache differs",
               mk_cache_policy_names[o->policy]);
    mk_cache_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const cs_format fmts[] = { CS_FMT_AUTO, CS_FMT_TEXT, CS_FMT_KEYS, CS_FMT_CSV, CS_FMT_ORACLE };
    cs_format fmt = fmts[data[0] % 5];
    uint64_t cap = 1 + (data[0] >> 3) * 37;
    cs_csvmap map;
    cs_csvmap_parse(&map, "key=1,size=2,op=3,ttl=4");
    cs_keys *keys = cs_keys_new();
    mk_source *src = mk_source_open_mem("fuzz", data + 1, size - 1);
    cs_trace *t = src ? cs_trace_from(src, "fuzz", fmt, fmt == CS_FMT_CSV ? &map : NULL, keys) : NULL;
    static cs_req req[MAXREQ];
    size_t n = 0;
    int only_gets = 1;
    if (t) {
        long r;
        while (n < MAXREQ && (r = cs_trace_read(t, req + n, MAXREQ - n)) > 0)
            n += (size_t)r;
        cs_trace_close(t);
    }
    for (size_t i = 0; i < n; i++) {
        if (req[i].op != CS_GET || req[i].ttl >= 0)
            only_gets = 0;
        if (req[i].next != MK_CACHE_NEVER)
            req[i].next = MK_CACHE_NEVER;   /* garbage next uses would not be Belady's */
    }
    uint64_t misses[MK_CACHE_NPOLICIES][2];
    for (int p = 0; p < MK_CACHE_NPOLICIES; p++)
        for (int count = 0; count <= 1; count++) {
            mk_cache_opts o;
            mk_cache_defaults(&o, (mk_cache_policy)p, count ? 1 + cap % 13 : cap);
            o.count = count;
            o.dense = 1;
            o.weak = (int)(cap & 1);
            mk_cache *c = mk_cache_new(&o);
            FUZZ_CHECK(c != NULL, "mk_cache_new: %s", mk_err_msg());
            for (size_t i = 0; i < n; i++) {
                const cs_req *r = &req[i];
                int64_t exp = r->ttl >= 0 ? r->ts + r->ttl : MK_CACHE_NEVER;
                if (r->op == CS_GET && r->size)
                    mk_cache_get(c, r->id, r->size, r->ts, exp, r->next);
                else if (r->op == CS_SET && r->size)
                    mk_cache_set(c, r->id, r->size, r->ts, exp, r->next);
                else if (r->op == CS_DEL)
                    mk_cache_del(c, r->id);
                else if (r->op == CS_DROP)
                    mk_cache_drop(c, r->id);
                mk_cache_stats st;
                mk_cache_stats_get(c, &st);
                FUZZ_CHECK(st.used <= o.capacity, "%s: %llu cached > %llu", mk_cache_policy_names[p],
                           (unsigned long long)st.used, (unsigned long long)o.capacity);
            }
            mk_cache_stats st;
            mk_cache_stats_get(c, &st);
            FUZZ_CHECK(st.hits + st.misses == st.requests, "%s: hits + misses != requests", mk_cache_policy_names[p]);
            misses[p][count] = st.misses;
            if (p != MK_CACHE_BELADY)
                round_trip(c, &o);
            mk_cache_free(c);
        }
    if (only_gets && n) {
        uint64_t caps[3] = { 1, 3, 1 + cap % 13 };
        cs_mrc *m = cs_mrc_new(1, 1.0, caps, 3);
        for (size_t i = 0; i < n; i++)
            if (req[i].size)
                cs_mrc_access(m, req[i].id, req[i].id * 0x9e3779b97f4a7c15ull, 1);
        FUZZ_CHECK(cs_mrc_misses_at(m, 2) == misses[MK_CACHE_LRU][1], "mrc %llu misses, LRU %llu",
                   (unsigned long long)cs_mrc_misses_at(m, 2), (unsigned long long)misses[MK_CACHE_LRU][1]);
        cs_mrc_free(m);
    }
    cs_keys_free(keys);
    cs_csvmap_free(&map);
    return 0;
}
