/* cache — the policies of cache.h over one pool of 32-byte entries.
 *
 * Every policy keeps its entries in up to four doubly linked queues of pool
 * indices (head = newest, tail = oldest) and finds them through one index
 * (key -> entry). Ghosts are entries in a ghost queue: the index finds them
 * like the others, and they hold no bytes of the capacity. The few things
 * that differ by policy (what a hit does, where a miss goes, which entry
 * leaves) are switches over the policy in the functions below, in the order
 * a request meets them: lookup, hit, ghost, admission, eviction, insertion.
 * The behaviour of each policy follows libCacheSim's, so that their miss
 * ratios agree (cachesim(1) says where we differ on purpose). */
#include "cache.h"

#include "err.h"
#include "map.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NONE UINT32_MAX

enum { F_DROPPED = 1 };

/* Queue ids, by policy. */
enum { Q_MAIN = 0 };
enum { S3_SMALL = 0, S3_MAIN = 1, S3_GHOST = 2 };
enum { ARC_T1 = 0, ARC_T2 = 1, ARC_B1 = 2, ARC_B2 = 3 };
enum { TQ_AIN = 0, TQ_AM = 1, TQ_AOUT = 2 };
enum { TL_WINDOW = 0, TL_PROBATION = 1, TL_PROTECTED = 2 };
enum { NQ = 4 };

typedef struct {
    uint64_t key;
    uint32_t size;        /* the object's bytes (kept in count mode too) */
    uint32_t prev, next;  /* queue links; next also chains free entries */
    uint32_t freq;        /* LFU count, CLOCK counter, SIEVE bit, S3-FIFO freq, Belady heap slot */
    uint32_t aux;         /* LFU: its frequency bucket */
    uint8_t q, flags;
    uint16_t pad;
} entry;

typedef struct {
    uint32_t head, tail;
    uint64_t bytes, n;
} queue;

/* LFU: one queue per count, the buckets in a list ordered by count. */
typedef struct {
    uint64_t freq;
    queue q;
    uint32_t prev, next;
} bucket;

struct mk_cache {
    mk_cache_opts o;
    mk_cache_stats st;
    entry *e;
    uint32_t ecap, elen, efree;
    int64_t *expire;             /* per entry, once any entry has a TTL */
    queue q[NQ];
    unsigned ghost_mask;         /* queues that hold ghosts */
    uint64_t qcap[NQ];           /* bytes a queue may hold (segmented policies) */

    /* index: 32-bit keys in a table of (key, entry) pairs sized by the
     * entries, not by the key space; other keys in a general map */
    struct ixslot { uint32_t key, idx; } *ix;
    uint32_t ixmask, ixlen;
    int ixbits;
    mk_imap map;

    /* SIEVE */
    uint32_t hand;
    /* LFU */
    bucket *b;
    uint32_t bcap, blen, bfree, bfirst;
    /* ARC */
    double p;
    int in_b1, in_b2;
    uint64_t ghost_vtime, vtime;
    /* W-TinyLFU: count-min sketch, 4 rows of 4-bit counters */
    uint64_t *cms;
    uint64_t cms_mask, cms_adds, cms_reset;
    /* Belady: a max-heap of entries by next access */
    uint32_t *heap;
    int64_t *nxt;
    uint32_t hlen;

    mk_cache_evict_fn on_evict;
    void *evict_ctx;
} __attribute__((aligned(64)));   /* see mk_cache_new */

const char *const mk_cache_policy_names[MK_CACHE_NPOLICIES] = {
    "lru", "fifo", "lfu", "clock", "sieve", "s3fifo", "arc", "2q", "tinylfu", "belady",
};

int mk_cache_policy_parse(const char *s, size_t n, mk_cache_policy *out)
{
    static const struct { const char *name; mk_cache_policy p; } alias[] = {
        { "s3-fifo", MK_CACHE_S3FIFO }, { "twoq", MK_CACHE_2Q },     { "wtinylfu", MK_CACHE_TINYLFU },
        { "w-tinylfu", MK_CACHE_TINYLFU }, { "opt", MK_CACHE_BELADY }, { "optimal", MK_CACHE_BELADY },
    };
    for (int i = 0; i < MK_CACHE_NPOLICIES; i++)
        if (strlen(mk_cache_policy_names[i]) == n && !strncasecmp(s, mk_cache_policy_names[i], n)) {
            *out = (mk_cache_policy)i;
            return 0;
        }
    for (size_t i = 0; i < sizeof alias / sizeof *alias; i++)
        if (strlen(alias[i].name) == n && !strncasecmp(s, alias[i].name, n)) {
            *out = alias[i].p;
            return 0;
        }
    return -1;
}

void mk_cache_defaults(mk_cache_opts *o, mk_cache_policy p, uint64_t capacity)
{
    memset(o, 0, sizeof *o);
    o->policy = p;
    o->capacity = capacity;
    o->small_ratio = p == MK_CACHE_2Q ? 0.25 : 0.10;
    o->ghost_ratio = p == MK_CACHE_2Q ? 0.50 : 0.90;
    o->window_ratio = 0.01;
    o->protected_ratio = 0.80;
    o->move_threshold = 2;
    o->clock_bits = 1;
}

/* ---- entries, queues and the index ----------------------------------------------- */

static inline uint64_t weight(const mk_cache *c, const entry *e)
{
    return c->o.count ? 1 : e->size;
}

static uint32_t entry_new(mk_cache *c, uint64_t key, uint32_t size)
{
    uint32_t i = c->efree;
    if (i != NONE) {
        c->efree = c->e[i].next;
    } else {
        if (c->elen == c->ecap) {
            if (c->ecap >= NONE / 2)
                mk_die("cache: more than 2^31 entries");
            uint32_t cap = c->ecap ? c->ecap * 2 : 1024;
            c->e = mk_xrealloc(c->e, (size_t)cap * sizeof *c->e);
            if (c->expire)
                c->expire = mk_xrealloc(c->expire, (size_t)cap * sizeof *c->expire);
            if (c->o.policy == MK_CACHE_BELADY) {
                c->nxt = mk_xrealloc(c->nxt, (size_t)cap * sizeof *c->nxt);
                c->heap = mk_xrealloc(c->heap, (size_t)cap * sizeof *c->heap);
            }
            c->ecap = cap;
        }
        i = c->elen++;
    }
    entry *e = &c->e[i];
    memset(e, 0, sizeof *e);
    e->key = key;
    e->size = size;
    e->prev = e->next = NONE;
    if (c->expire)
        c->expire[i] = MK_CACHE_NEVER;
    return i;
}

static void entry_free(mk_cache *c, uint32_t i)
{
    c->e[i].next = c->efree;
    c->e[i].q = 0xff;
    c->efree = i;
}

static void set_expire(mk_cache *c, uint32_t i, int64_t t)
{
    if (!c->expire) {
        if (t == MK_CACHE_NEVER)
            return;
        c->expire = mk_xmalloc((size_t)(c->ecap ? c->ecap : 1) * sizeof *c->expire);
        for (uint32_t k = 0; k < c->ecap; k++)
            c->expire[k] = MK_CACHE_NEVER;
    }
    c->expire[i] = t;
}

static inline int64_t get_expire(const mk_cache *c, uint32_t i)
{
    return c->expire ? c->expire[i] : MK_CACHE_NEVER;
}

static void q_push(mk_cache *c, queue *q, uint32_t i)     /* at the head: newest */
{
    entry *e = &c->e[i];
    e->prev = NONE;
    e->next = q->head;
    if (q->head != NONE)
        c->e[q->head].prev = i;
    else
        q->tail = i;
    q->head = i;
    q->bytes += weight(c, e);
    q->n++;
}

static void q_unlink(mk_cache *c, queue *q, uint32_t i)
{
    entry *e = &c->e[i];
    if (e->prev != NONE)
        c->e[e->prev].next = e->next;
    else
        q->head = e->next;
    if (e->next != NONE)
        c->e[e->next].prev = e->prev;
    else
        q->tail = e->prev;
    q->bytes -= weight(c, e);
    q->n--;
}

static void q_init(queue *q)
{
    q->head = q->tail = NONE;
    q->bytes = q->n = 0;
}

static inline uint32_t ix_home(const mk_cache *c, uint32_t key)
{
    return (uint32_t)(((uint64_t)key * 0x9e3779b97f4a7c15ull) >> (64 - c->ixbits));
}

static inline uint32_t idx_get(const mk_cache *c, uint64_t key)
{
    if (!c->o.dense) {
        uint64_t *v = mk_imap_get(&c->map, key);
        return v ? (uint32_t)(*v - 1) : NONE;
    }
    if (!c->ix)
        return NONE;
    for (uint32_t h = ix_home(c, (uint32_t)key);; h = (h + 1) & c->ixmask) {
        const struct ixslot *sl = &c->ix[h];
        if (sl->idx == NONE)
            return NONE;
        if (sl->key == (uint32_t)key)
            return sl->idx;
    }
}

static void ix_grow(mk_cache *c)
{
    struct ixslot *old = c->ix;
    uint32_t oldcap = c->ix ? c->ixmask + 1 : 0;
    c->ixbits = c->ix ? c->ixbits + 1 : 10;
    if (c->ixbits > 31)
        mk_die("cache: more than 2^30 entries");
    uint32_t cap = 1u << c->ixbits;
    c->ix = mk_xmalloc((size_t)cap * sizeof *c->ix);
    memset(c->ix, 0xff, (size_t)cap * sizeof *c->ix);
    c->ixmask = cap - 1;
    for (uint32_t i = 0; i < oldcap; i++)
        if (old[i].idx != NONE) {
            uint32_t h = ix_home(c, old[i].key);
            while (c->ix[h].idx != NONE)
                h = (h + 1) & c->ixmask;
            c->ix[h] = old[i];
        }
    free(old);
}

/* Sets key's entry; the key must not be in the index already unless it
 * is replaced (a ghost becoming an entry keeps its slot). */
static void idx_put(mk_cache *c, uint64_t key, uint32_t i)
{
    if (!c->o.dense) {
        *mk_imap_put(&c->map, key, NULL) = (uint64_t)i + 1;
        return;
    }
    if (key > UINT32_MAX)
        mk_die("cache: dense key %llu too large", (unsigned long long)key);
    if (!c->ix || (uint64_t)(c->ixlen + 1) * 2 > (uint64_t)(c->ixmask + 1))
        ix_grow(c);
    uint32_t h = ix_home(c, (uint32_t)key);
    for (;; h = (h + 1) & c->ixmask) {
        struct ixslot *sl = &c->ix[h];
        if (sl->idx == NONE) {
            sl->key = (uint32_t)key;
            sl->idx = i;
            c->ixlen++;
            return;
        }
        if (sl->key == (uint32_t)key) {
            sl->idx = i;
            return;
        }
    }
}

/* Removal shifts the rest of the probe run back (no tombstones). */
static void idx_del(mk_cache *c, uint64_t key)
{
    if (!c->o.dense) {
        mk_imap_del(&c->map, key);
        return;
    }
    uint32_t h = ix_home(c, (uint32_t)key);
    for (;; h = (h + 1) & c->ixmask) {
        if (c->ix[h].idx == NONE)
            return;
        if (c->ix[h].key == (uint32_t)key)
            break;
    }
    for (uint32_t j = (h + 1) & c->ixmask;; j = (j + 1) & c->ixmask) {
        if (c->ix[j].idx == NONE)
            break;
        uint32_t home = ix_home(c, c->ix[j].key);
        /* Move j back to h when its home is not in (h, j]. */
        if (((j - home) & c->ixmask) >= ((j - h) & c->ixmask)) {
            c->ix[h] = c->ix[j];
            h = j;
        }
    }
    c->ix[h].idx = NONE;
    c->ixlen--;
}

static inline int is_ghost(const mk_cache *c, uint32_t i)
{
    return (c->ghost_mask >> c->e[i].q) & 1;
}

/* ---- LFU buckets ---------------------------------------------------------------- */

static uint32_t bucket_new(mk_cache *c, uint64_t freq, uint32_t after)
{
    uint32_t i = c->bfree;
    if (i != NONE) {
        c->bfree = c->b[i].next;
    } else {
        if (c->blen == c->bcap) {
            c->bcap = c->bcap ? c->bcap * 2 : 64;
            c->b = mk_xrealloc(c->b, (size_t)c->bcap * sizeof *c->b);
        }
        i = c->blen++;
    }
    bucket *b = &c->b[i];
    b->freq = freq;
    q_init(&b->q);
    b->prev = after;
    if (after == NONE) {
        b->next = c->bfirst;
        c->bfirst = i;
    } else {
        b->next = c->b[after].next;
        c->b[after].next = i;
    }
    if (b->next != NONE)
        c->b[b->next].prev = i;
    return i;
}

static void bucket_drop_if_empty(mk_cache *c, uint32_t i)
{
    bucket *b = &c->b[i];
    if (b->q.n)
        return;
    if (b->prev != NONE)
        c->b[b->prev].next = b->next;
    else
        c->bfirst = b->next;
    if (b->next != NONE)
        c->b[b->next].prev = b->prev;
    b->next = c->bfree;
    c->bfree = i;
}

/* Moves entry i to the bucket of count freq, which follows bucket `from`
 * (or is first when from is NONE) or is created there. */
static void lfu_place(mk_cache *c, uint32_t i, uint64_t freq, uint32_t from)
{
    uint32_t nb = from == NONE ? c->bfirst : c->b[from].next;
    if (nb == NONE || c->b[nb].freq != freq)
        nb = bucket_new(c, freq, from);
    c->e[i].aux = nb;
    c->e[i].freq = freq > UINT32_MAX ? UINT32_MAX : (uint32_t)freq;
    q_push(c, &c->b[nb].q, i);
}

static void lfu_unlink(mk_cache *c, uint32_t i)
{
    uint32_t b = c->e[i].aux;
    q_unlink(c, &c->b[b].q, i);
    bucket_drop_if_empty(c, b);
}

static void lfu_hit(mk_cache *c, uint32_t i)
{
    uint32_t b = c->e[i].aux;
    uint64_t f = c->b[b].freq + 1;
    q_unlink(c, &c->b[b].q, i);
    lfu_place(c, i, f, b);
    bucket_drop_if_empty(c, b);
}

/* ---- Belady: max-heap on the next access ----------------------------------------- */

static inline int heap_above(const mk_cache *c, uint32_t a, uint32_t b)
{
    return c->nxt[a] > c->nxt[b];
}

static void heap_set(mk_cache *c, uint32_t pos, uint32_t i)
{
    c->heap[pos] = i;
    c->e[i].freq = pos;
}

static void heap_up(mk_cache *c, uint32_t pos)
{
    uint32_t i = c->heap[pos];
    while (pos > 0) {
        uint32_t up = (pos - 1) / 2;
        if (!heap_above(c, i, c->heap[up]))
            break;
        heap_set(c, pos, c->heap[up]);
        pos = up;
    }
    heap_set(c, pos, i);
}

static void heap_down(mk_cache *c, uint32_t pos)
{
    uint32_t i = c->heap[pos];
    for (;;) {
        uint32_t l = 2 * pos + 1, best = pos;
        uint32_t bi = i;
        if (l < c->hlen && heap_above(c, c->heap[l], bi))
            best = l, bi = c->heap[l];
        if (l + 1 < c->hlen && heap_above(c, c->heap[l + 1], bi))
            best = l + 1, bi = c->heap[l + 1];
        if (best == pos)
            break;
        heap_set(c, pos, bi);
        pos = best;
    }
    heap_set(c, pos, i);
}

static void heap_insert(mk_cache *c, uint32_t i, int64_t next)
{
    c->nxt[i] = next;
    c->heap[c->hlen] = i;
    c->hlen++;
    heap_up(c, c->hlen - 1);
}

static void heap_remove(mk_cache *c, uint32_t i)
{
    uint32_t pos = c->e[i].freq;
    uint32_t last = c->heap[--c->hlen];
    if (pos == c->hlen)
        return;
    heap_set(c, pos, last);
    heap_down(c, pos);
    heap_up(c, c->e[last].freq);
}

static void heap_update(mk_cache *c, uint32_t i, int64_t next)
{
    c->nxt[i] = next;
    heap_down(c, c->e[i].freq);
    heap_up(c, c->e[i].freq);
}

/* ---- W-TinyLFU's frequency sketch -------------------------------------------------- */

/* Counter r of key: row r's 4-bit counter at a position from the key's hash. */
static inline uint64_t cms_slot(const mk_cache *c, uint64_t h, int r)
{
    uint64_t x = (h + (uint64_t)r * 0x9e3779b97f4a7c15ull) * 0xbf58476d1ce4e5b9ull;
    x ^= x >> 31;
    return ((x & c->cms_mask) << 2) | (uint64_t)r;   /* rows interleaved per word group */
}

static inline uint64_t key_hash(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ull;
    return k ^ (k >> 33);
}

static unsigned cms_get(const mk_cache *c, uint64_t slot)
{
    return (unsigned)(c->cms[slot >> 4] >> ((slot & 15) * 4)) & 15;
}

static inline uint64_t cms_hash(const mk_cache *c, uint64_t key)
{
    return key_hash(c->o.key_name ? c->o.key_name(c->o.key_name_ctx, key) : key);
}

static unsigned cms_estimate(const mk_cache *c, uint64_t key)
{
    uint64_t h = cms_hash(c, key);
    unsigned m = 15;
    for (int r = 0; r < 4; r++) {
        unsigned v = cms_get(c, cms_slot(c, h, r));
        if (v < m)
            m = v;
    }
    return m;
}

/* Conservative update: only the counters at the minimum grow. Every
 * cms_reset additions all counters halve, so old popularity fades. */
static void cms_add(mk_cache *c, uint64_t key)
{
    uint64_t h = cms_hash(c, key), s[4];
    unsigned m = 15;
    for (int r = 0; r < 4; r++) {
        s[r] = cms_slot(c, h, r);
        unsigned v = cms_get(c, s[r]);
        if (v < m)
            m = v;
    }
    if (m < 15)
        for (int r = 0; r < 4; r++)
            if (cms_get(c, s[r]) == m)
                c->cms[s[r] >> 4] += 1ull << ((s[r] & 15) * 4);
    if (++c->cms_adds >= c->cms_reset) {
        size_t words = (size_t)((c->cms_mask + 1) * 4 / 16);
        for (size_t w = 0; w < words; w++)
            c->cms[w] = (c->cms[w] >> 1) & 0x7777777777777777ull;
        c->cms_adds /= 2;
    }
}

static void cms_init(mk_cache *c)
{
    uint64_t n = c->o.expected_objects;
    if (!n)
        n = c->o.count ? c->o.capacity : c->o.capacity / 4096;
    if (n < 64)
        n = 64;
    if (n > (1ull << 28))
        n = 1ull << 28;
    uint64_t w = 64;
    while (w < n)
        w *= 2;
    c->cms_mask = w - 1;
    c->cms = mk_xcalloc((size_t)(w * 4 / 16), sizeof *c->cms);
    c->cms_reset = 10 * w;
}

/* ---- creation ------------------------------------------------------------------------ */

mk_cache *mk_cache_new(const mk_cache_opts *o)
{
    if (o->policy < 0 || o->policy >= MK_CACHE_NPOLICIES) {
        mk_err_set("unknown cache policy");
        return NULL;
    }
    if (!o->capacity) {
        mk_err_set("cache capacity must be at least 1");
        return NULL;
    }
    if (!(o->small_ratio > 0 && o->small_ratio < 1) || !(o->ghost_ratio >= 0 && o->ghost_ratio <= 10) ||
        !(o->window_ratio >= 0 && o->window_ratio < 1) || !(o->protected_ratio >= 0 && o->protected_ratio < 1)) {
        mk_err_set("cache segment ratios out of range");
        return NULL;
    }
    if (o->clock_bits < 1 || o->clock_bits > 16 || o->move_threshold < 1) {
        mk_err_set("cache counter settings out of range");
        return NULL;
    }
    /* A line of its own: tools run one cache per thread, and caches made
     * one after another would otherwise share the line where one ends and
     * the next begins, both written on every request. */
    mk_cache *c = mk_xcalloc_aligned(64, 1, sizeof *c);
    c->o = *o;
    c->efree = NONE;
    c->hand = NONE;
    c->bfree = c->bfirst = NONE;
    c->ghost_vtime = UINT64_MAX;
    for (int i = 0; i < NQ; i++)
        q_init(&c->q[i]);
    if (!o->dense)
        mk_imap_init(&c->map, 0);
    uint64_t cap = o->capacity;
    switch (o->policy) {
    case MK_CACHE_S3FIFO:
        c->ghost_mask = 1u << S3_GHOST;
        c->qcap[S3_SMALL] = (uint64_t)((double)cap * o->small_ratio);
        c->qcap[S3_MAIN] = cap - c->qcap[S3_SMALL];
        c->qcap[S3_GHOST] = (uint64_t)((double)cap * o->ghost_ratio);
        break;
    case MK_CACHE_ARC:
        c->ghost_mask = 1u << ARC_B1 | 1u << ARC_B2;
        break;
    case MK_CACHE_2Q:
        c->ghost_mask = 1u << TQ_AOUT;
        c->qcap[TQ_AIN] = (uint64_t)((double)cap * o->small_ratio);
        c->qcap[TQ_AOUT] = (uint64_t)((double)cap * o->ghost_ratio);
        c->qcap[TQ_AM] = cap - c->qcap[TQ_AIN];
        break;
    case MK_CACHE_TINYLFU: {
        c->qcap[TL_WINDOW] = (uint64_t)((double)cap * o->window_ratio);
        if (o->count && !c->qcap[TL_WINDOW] && cap > 1)
            c->qcap[TL_WINDOW] = 1;   /* a window of no objects would admit nothing */
        uint64_t main = cap - c->qcap[TL_WINDOW];
        c->qcap[TL_PROTECTED] = (uint64_t)((double)main * o->protected_ratio);
        /* 1 - 0.8 is not the double 0.2; rounded, it is (libCacheSim: 1:4). */
        double pr = nearbyint((1 - o->protected_ratio) * 1e9) / 1e9;
        c->qcap[TL_PROBATION] = (uint64_t)((double)main * pr);
        if (o->count && !c->qcap[TL_PROBATION] && main > 1) {
            c->qcap[TL_PROBATION] = 1;
            c->qcap[TL_PROTECTED] = main - 1;
        }
        cms_init(c);
        break;
    }
    default:
        break;
    }
    return c;
}

void mk_cache_free(mk_cache *c)
{
    if (!c)
        return;
    free(c->e);
    free(c->expire);
    free(c->ix);
    if (!c->o.dense)
        mk_imap_free(&c->map);
    free(c->b);
    free(c->cms);
    free(c->heap);
    free(c->nxt);
    free(c);
}

void mk_cache_on_evict(mk_cache *c, mk_cache_evict_fn fn, void *ctx)
{
    c->on_evict = fn;
    c->evict_ctx = ctx;
}

const mk_cache_opts *mk_cache_options(const mk_cache *c)
{
    return &c->o;
}

/* ---- removal ------------------------------------------------------------------------- */

/* Takes a cached (not ghost) entry out of its policy's queues. */
static void unlink_cached(mk_cache *c, uint32_t i)
{
    entry *e = &c->e[i];
    switch (c->o.policy) {
    case MK_CACHE_LFU:
        lfu_unlink(c, i);
        break;
    case MK_CACHE_SIEVE:
        if (c->hand == i)
            c->hand = e->prev;
        q_unlink(c, &c->q[Q_MAIN], i);
        break;
    case MK_CACHE_BELADY:
        heap_remove(c, i);
        q_unlink(c, &c->q[Q_MAIN], i);
        break;
    default:
        q_unlink(c, &c->q[e->q], i);
        break;
    }
    c->st.objects--;
    c->st.used -= weight(c, e);
    if (e->flags & F_DROPPED) {
        c->st.retained--;
        c->st.retained_bytes -= e->size;
    }
}

/* Removes a cached entry for good (not to a ghost queue). */
static void remove_entry(mk_cache *c, uint32_t i)
{
    unlink_cached(c, i);
    idx_del(c, c->e[i].key);
    entry_free(c, i);
}

static void evicted(mk_cache *c, uint32_t i)
{
    c->st.evictions++;
    c->st.evicted_bytes += c->e[i].size;
    if (c->on_evict)
        c->on_evict(c->evict_ctx, c->e[i].key, c->e[i].size);
}

static void remove_ghost(mk_cache *c, uint32_t i)
{
    q_unlink(c, &c->q[c->e[i].q], i);
    idx_del(c, c->e[i].key);
    entry_free(c, i);
}

/* A FIFO ghost queue (S3-FIFO, 2Q) remembers key k of size w, within its
 * byte budget, oldest forgotten first. */
static void ghost_add(mk_cache *c, int qi, uint64_t key, uint32_t size)
{
    queue *g = &c->q[qi];
    uint64_t w = c->o.count ? 1 : size;
    if (w > c->qcap[qi])
        return;
    while (g->bytes + w > c->qcap[qi])
        remove_ghost(c, g->tail);
    uint32_t i = entry_new(c, key, size);
    c->e[i].q = (uint8_t)qi;
    q_push(c, g, i);
    idx_put(c, key, i);
}

/* Turns cached entry i into a ghost at the head of queue gq (ARC). */
static void to_ghost(mk_cache *c, uint32_t i, int gq)
{
    evicted(c, i);
    unlink_cached(c, i);
    c->e[i].flags = 0;
    c->e[i].q = (uint8_t)gq;
    q_push(c, &c->q[gq], i);
}

/* The victim's newer neighbour, whose links were just written, is usually
 * the next victim: its index slot is fetched now, so that the next
 * eviction does not wait for it. */
static void evict_entry(mk_cache *c, uint32_t i)
{
    uint32_t next_victim = c->e[i].prev;
    evicted(c, i);
    remove_entry(c, i);
    if (next_victim != NONE && c->o.dense)
        __builtin_prefetch(&c->ix[ix_home(c, (uint32_t)c->e[next_victim].key)]);
}

/* ---- eviction, one victim per call ------------------------------------------------- */

static void evict_clock(mk_cache *c)
{
    queue *q = &c->q[Q_MAIN];
    uint32_t i = q->tail;
    while (c->e[i].freq) {
        c->e[i].freq--;
        q_unlink(c, q, i);
        q_push(c, q, i);
        i = q->tail;
    }
    evict_entry(c, i);
}

static void evict_sieve(mk_cache *c)
{
    queue *q = &c->q[Q_MAIN];
    uint32_t i = c->hand == NONE ? q->tail : c->hand;
    while (c->e[i].freq) {
        c->e[i].freq = 0;
        i = c->e[i].prev == NONE ? q->tail : c->e[i].prev;
    }
    c->hand = c->e[i].prev;
    evict_entry(c, i);
}

static void evict_lfu(mk_cache *c)
{
    evict_entry(c, c->b[c->bfirst].q.tail);
}

static void move_to(mk_cache *c, uint32_t i, int from, int to)
{
    q_unlink(c, &c->q[from], i);
    c->e[i].q = (uint8_t)to;
    q_push(c, &c->q[to], i);
}

/* S3-FIFO: the small queue's oldest goes to main if it was read often
 * enough there, else it is evicted and remembered in the ghost queue; main
 * is a FIFO that reinserts what was read, with a count lowered on the way. */
static void evict_s3fifo(mk_cache *c)
{
    queue *small = &c->q[S3_SMALL], *main = &c->q[S3_MAIN];
    if (main->bytes > c->qcap[S3_MAIN] || small->n == 0) {
        for (;;) {
            uint32_t i = main->tail;
            uint32_t f = c->e[i].freq;
            if (f >= 1) {
                q_unlink(c, main, i);
                q_push(c, main, i);
                c->e[i].freq = (f < 3 ? f : 3) - 1;
                continue;
            }
            evict_entry(c, i);
            return;
        }
    }
    for (;;) {
        uint32_t i = small->tail;
        if (c->e[i].freq >= (uint32_t)c->o.move_threshold) {
            move_to(c, i, S3_SMALL, S3_MAIN);
            c->e[i].freq = 0;
            if (small->n == 0)
                return;   /* libCacheSim stops when the small queue is empty */
            continue;
        }
        uint64_t key = c->e[i].key;
        uint32_t size = c->e[i].size;
        evict_entry(c, i);
        ghost_add(c, S3_GHOST, key, size);
        return;
    }
}

/* ARC's REPLACE: from T1 when it is over the target p (or at it, when the
 * request hit B2), else from T2; the victim becomes a ghost. */
static void arc_replace(mk_cache *c)
{
    queue *t1 = &c->q[ARC_T1], *t2 = &c->q[ARC_T2];
    double t1b = (double)t1->bytes;
    if ((t1->bytes > 0 && (t1b > c->p || (t1b == c->p && c->in_b2))) || t2->bytes == 0)
        to_ghost(c, t1->tail, ARC_B1);
    else
        to_ghost(c, t2->tail, ARC_B2);
}

static void evict_arc(mk_cache *c, uint64_t w)
{
    if (c->ghost_vtime == c->vtime && (c->in_b1 || c->in_b2)) {
        arc_replace(c);
        return;
    }
    queue *t1 = &c->q[ARC_T1], *t2 = &c->q[ARC_T2], *b1 = &c->q[ARC_B1], *b2 = &c->q[ARC_B2];
    if (t1->bytes + b1->bytes + w > c->o.capacity) {
        if (b1->bytes > 0) {
            remove_ghost(c, b1->tail);
            arc_replace(c);
        } else {
            evict_entry(c, t1->tail);
        }
        return;
    }
    if (t1->bytes + b1->bytes + t2->bytes + b2->bytes >= 2 * c->o.capacity && b2->bytes > 0)
        remove_ghost(c, b2->tail);
    arc_replace(c);
}

/* 2Q: Ain over its share sends its oldest to Aout (a ghost), else Am's
 * least recently used leaves. */
static void evict_2q(mk_cache *c)
{
    queue *ain = &c->q[TQ_AIN];
    if (ain->bytes > c->qcap[TQ_AIN]) {
        uint32_t i = ain->tail;
        uint64_t key = c->e[i].key;
        uint32_t size = c->e[i].size;
        evict_entry(c, i);
        /* Aout is read like a cache: a key already there stays where it is. */
        if (idx_get(c, key) == NONE)
            ghost_add(c, TQ_AOUT, key, size);
        return;
    }
    evict_entry(c, c->q[TQ_AM].tail);
}

/* W-TinyLFU's main cache is a segmented LRU: probation then protected.
 * An entry goes into the first segment with room for it, or into probation
 * after main's victims (probation's LRU end first) have left. */
static uint32_t slru_victim(const mk_cache *c)
{
    return c->q[TL_PROBATION].n ? c->q[TL_PROBATION].tail : c->q[TL_PROTECTED].tail;
}

static void slru_admit(mk_cache *c, uint32_t i)
{
    uint64_t w = weight(c, &c->e[i]);
    queue *prob = &c->q[TL_PROBATION], *prot = &c->q[TL_PROTECTED];
    int to = TL_PROBATION;
    if (prob->bytes + w > c->qcap[TL_PROBATION]) {
        if (prot->bytes + w <= c->qcap[TL_PROTECTED]) {
            to = TL_PROTECTED;
        } else {
            uint64_t cm = c->o.capacity - c->qcap[TL_WINDOW];
            while (prob->bytes + prot->bytes + w > cm)
                evict_entry(c, slru_victim(c));
        }
    }
    move_to(c, i, TL_WINDOW, to);
}

/* W-TinyLFU: the window's LRU victim enters main when there is room, or
 * when the sketch says it is more popular than main's victim, which then
 * leaves; otherwise the window victim leaves. Every candidate counts once
 * more in the sketch. Returns after one object has left the cache. */
static void evict_tinylfu(mk_cache *c)
{
    queue *win = &c->q[TL_WINDOW], *prob = &c->q[TL_PROBATION], *prot = &c->q[TL_PROTECTED];
    uint64_t cm = c->o.capacity - c->qcap[TL_WINDOW];
    for (;;) {
        if (win->n == 0) {
            evict_entry(c, slru_victim(c));
            return;
        }
        uint32_t i = win->tail;
        uint64_t key = c->e[i].key;
        if (prob->bytes + prot->bytes + weight(c, &c->e[i]) <= cm) {
            slru_admit(c, i);
            cms_add(c, key);
            continue;
        }
        uint32_t v = slru_victim(c);
        if (cms_estimate(c, key) > cms_estimate(c, c->e[v].key)) {
            evict_entry(c, v);
            slru_admit(c, i);
            cms_add(c, key);
            continue;
        }
        evict_entry(c, i);
        cms_add(c, key);
        return;
    }
}

static void evict_belady(mk_cache *c)
{
    evict_entry(c, c->heap[0]);
}

static void evict_one(mk_cache *c, uint64_t w)
{
    switch (c->o.policy) {
    case MK_CACHE_LRU:
    case MK_CACHE_FIFO:
        evict_entry(c, c->q[Q_MAIN].tail);
        break;
    case MK_CACHE_LFU:
        evict_lfu(c);
        break;
    case MK_CACHE_CLOCK:
        evict_clock(c);
        break;
    case MK_CACHE_SIEVE:
        evict_sieve(c);
        break;
    case MK_CACHE_S3FIFO:
        evict_s3fifo(c);
        break;
    case MK_CACHE_ARC:
        evict_arc(c, w);
        break;
    case MK_CACHE_2Q:
        evict_2q(c);
        break;
    case MK_CACHE_TINYLFU:
        evict_tinylfu(c);
        break;
    case MK_CACHE_BELADY:
        evict_belady(c);
        break;
    default:
        break;
    }
}

/* ---- hits, ghosts, admission, insertion -------------------------------------------- */

static void hit(mk_cache *c, uint32_t i, int64_t next)
{
    entry *e = &c->e[i];
    switch (c->o.policy) {
    case MK_CACHE_LRU:
        q_unlink(c, &c->q[Q_MAIN], i);
        q_push(c, &c->q[Q_MAIN], i);
        break;
    case MK_CACHE_LFU:
        lfu_hit(c, i);
        break;
    case MK_CACHE_CLOCK:
        if (e->freq < (1u << c->o.clock_bits) - 1)
            e->freq++;
        break;
    case MK_CACHE_SIEVE:
        e->freq = 1;
        break;
    case MK_CACHE_S3FIFO:
        if (e->freq < UINT32_MAX)
            e->freq++;
        break;
    case MK_CACHE_ARC:
        c->in_b1 = c->in_b2 = 0;
        if (e->q == ARC_T1)
            move_to(c, i, ARC_T1, ARC_T2);
        else {
            q_unlink(c, &c->q[ARC_T2], i);
            q_push(c, &c->q[ARC_T2], i);
        }
        break;
    case MK_CACHE_2Q:
        if (e->q == TQ_AM) {
            q_unlink(c, &c->q[TQ_AM], i);
            q_push(c, &c->q[TQ_AM], i);
        }
        break;
    case MK_CACHE_TINYLFU:
        if (e->q == TL_WINDOW) {
            q_unlink(c, &c->q[TL_WINDOW], i);
            q_push(c, &c->q[TL_WINDOW], i);
            break;
        }
        cms_add(c, e->key);
        if (e->q == TL_PROTECTED) {
            q_unlink(c, &c->q[TL_PROTECTED], i);
            q_push(c, &c->q[TL_PROTECTED], i);
            break;
        }
        /* Probation to protected; protected over its share cools into
         * probation, and probation over its share loses its LRU end. */
        move_to(c, i, TL_PROBATION, TL_PROTECTED);
        while (c->q[TL_PROTECTED].bytes > c->qcap[TL_PROTECTED])
            move_to(c, c->q[TL_PROTECTED].tail, TL_PROTECTED, TL_PROBATION);
        while (c->q[TL_PROBATION].bytes > c->qcap[TL_PROBATION])
            evict_entry(c, c->q[TL_PROBATION].tail);
        break;
    case MK_CACHE_BELADY:
        heap_update(c, i, next);
        if (next == MK_CACHE_NEVER)
            evict_belady(c);
        break;
    default:
        break;
    }
}

/* A request met ghost entry g: the ghost is forgotten, and remembered as
 * where the object goes if it is admitted (ARC also moves its target). */
static int ghost_hit(mk_cache *c, uint32_t g)
{
    if (c->o.policy == MK_CACHE_ARC) {
        double b1 = (double)c->q[ARC_B1].bytes, b2 = (double)c->q[ARC_B2].bytes;
        c->ghost_vtime = c->vtime;
        c->in_b1 = c->in_b2 = 0;
        if (c->e[g].q == ARC_B1) {
            c->in_b1 = 1;
            double d = b2 / b1 > 1 ? b2 / b1 : 1;
            c->p = c->p + d < (double)c->o.capacity ? c->p + d : (double)c->o.capacity;
        } else {
            c->in_b2 = 1;
            double d = b1 / b2 > 1 ? b1 / b2 : 1;
            c->p = c->p - d > 0 ? c->p - d : 0;
        }
    }
    remove_ghost(c, g);
    return 1;
}

/* Whether an object of weight w can enter at all. */
static int admissible(const mk_cache *c, uint64_t w)
{
    switch (c->o.policy) {
    case MK_CACHE_S3FIFO:
        return w <= c->qcap[S3_SMALL];
    case MK_CACHE_2Q:
        return w <= c->qcap[TQ_AIN];
    case MK_CACHE_TINYLFU:
        return w <= c->o.capacity && w <= c->qcap[TL_WINDOW] && w <= c->o.capacity - c->qcap[TL_WINDOW] &&
               w <= c->qcap[TL_PROBATION];
    default:
        return w <= c->o.capacity;
    }
}

static uint64_t cached_bytes(const mk_cache *c)
{
    return c->st.used;
}

/* Inserts a missed object, evicting first; from_ghost says the request
 * found its ghost. */
static void insert(mk_cache *c, uint64_t key, uint32_t size, int64_t expire, int64_t next, int from_ghost)
{
    uint64_t w = c->o.count ? 1 : size;
    while (cached_bytes(c) + w > c->o.capacity)
        evict_one(c, w);
    if (c->o.policy == MK_CACHE_S3FIFO && !from_ghost && w >= c->qcap[S3_SMALL])
        return;   /* libCacheSim: evicts for it, then does not insert it */
    uint32_t i = entry_new(c, key, size);
    entry *e = &c->e[i];
    switch (c->o.policy) {
    case MK_CACHE_LFU:
        lfu_place(c, i, 1, NONE);
        break;
    case MK_CACHE_S3FIFO:
        e->q = from_ghost ? S3_MAIN : S3_SMALL;
        q_push(c, &c->q[e->q], i);
        break;
    case MK_CACHE_ARC:
        if (c->ghost_vtime == c->vtime && (c->in_b1 || c->in_b2)) {
            e->q = ARC_T2;
            c->in_b1 = c->in_b2 = 0;
            c->ghost_vtime = UINT64_MAX;
        } else {
            e->q = ARC_T1;
        }
        q_push(c, &c->q[e->q], i);
        break;
    case MK_CACHE_2Q:
        if (from_ghost) {
            /* Am is read like an LRU cache of its own size. */
            if (w > c->qcap[TQ_AM]) {
                entry_free(c, i);
                return;
            }
            while (c->q[TQ_AM].bytes + w > c->qcap[TQ_AM])
                evict_entry(c, c->q[TQ_AM].tail);
            e = &c->e[i];
            e->q = TQ_AM;
        } else {
            e->q = TQ_AIN;
        }
        q_push(c, &c->q[e->q], i);
        break;
    case MK_CACHE_TINYLFU:
        e->q = TL_WINDOW;
        q_push(c, &c->q[TL_WINDOW], i);
        cms_add(c, key);
        break;
    default:
        q_push(c, &c->q[Q_MAIN], i);
        break;
    }
    idx_put(c, key, i);
    set_expire(c, i, expire);
    c->st.objects++;
    c->st.used += w;
    if (c->o.policy == MK_CACHE_BELADY) {
        heap_insert(c, i, next);
        if (next == MK_CACHE_NEVER)
            evict_belady(c);
    }
}

/* ---- requests ---------------------------------------------------------------------- */

/* The entry of key if it is cached and live at now; an expired one is
 * removed and counted. Ghosts come back through *ghost. */
static uint32_t lookup(mk_cache *c, uint64_t key, int64_t now, uint32_t *ghost)
{
    *ghost = NONE;
    uint32_t i = idx_get(c, key);
    if (i == NONE)
        return NONE;
    if (is_ghost(c, i)) {
        *ghost = i;
        return NONE;
    }
    if (c->expire && now >= c->expire[i]) {
        c->st.expirations++;
        remove_entry(c, i);
        return NONE;
    }
    return i;
}

static inline int get_one(mk_cache *c, uint64_t key, uint32_t size, int64_t now, int64_t expire, int64_t next)
{
    c->vtime++;
    c->st.requests++;
    c->st.bytes += size;
    uint32_t g, i = lookup(c, key, now, &g);
    if (i != NONE) {
        c->st.hits++;
        if (c->e[i].flags & F_DROPPED) {
            /* Only the cache kept it; the program holds it again now. */
            c->st.retained_hits++;
            c->st.retained--;
            c->st.retained_bytes -= c->e[i].size;
            c->e[i].flags &= (uint8_t)~F_DROPPED;
        }
        hit(c, i, next);
        return 1;
    }
    c->st.misses++;
    c->st.miss_bytes += size;
    int from_ghost = g != NONE ? ghost_hit(c, g) : 0;
    uint64_t w = c->o.count ? 1 : size;
    if (!admissible(c, w)) {
        c->st.rejected++;
        return 0;
    }
    insert(c, key, size, expire, next, from_ghost);
    return 0;
}

int mk_cache_get(mk_cache *c, uint64_t key, uint32_t size, int64_t now, int64_t expire, int64_t next)
{
    return get_one(c, key, size, now, expire, next);
}

void mk_cache_set(mk_cache *c, uint64_t key, uint32_t size, int64_t now, int64_t expire, int64_t next)
{
    c->vtime++;
    c->st.sets++;
    uint32_t g, i = lookup(c, key, now, &g);
    if (i != NONE && c->e[i].size == size) {
        if (c->e[i].flags & F_DROPPED) {
            c->st.retained--;
            c->st.retained_bytes -= c->e[i].size;
            c->e[i].flags &= (uint8_t)~F_DROPPED;
        }
        set_expire(c, i, expire);
        hit(c, i, next);
        return;
    }
    /* A new size: the old copy goes, the new one comes in as on a miss. */
    if (i != NONE)
        remove_entry(c, i);
    int from_ghost = g != NONE ? ghost_hit(c, g) : 0;
    uint64_t w = c->o.count ? 1 : size;
    if (!admissible(c, w)) {
        c->st.rejected++;
        return;
    }
    insert(c, key, size, expire, next, from_ghost);
}

void mk_cache_del(mk_cache *c, uint64_t key)
{
    uint32_t i = idx_get(c, key);
    if (i == NONE)
        return;
    if (is_ghost(c, i)) {
        remove_ghost(c, i);
        return;
    }
    c->st.deletes++;
    remove_entry(c, i);
}

void mk_cache_drop(mk_cache *c, uint64_t key)
{
    uint32_t i = idx_get(c, key);
    if (i == NONE || is_ghost(c, i))
        return;
    if (c->o.weak) {
        c->st.weak_drops++;
        remove_entry(c, i);
        return;
    }
    if (!(c->e[i].flags & F_DROPPED)) {
        c->e[i].flags |= F_DROPPED;
        c->st.retained++;
        c->st.retained_bytes += c->e[i].size;
    }
}

/* Always inlined: a separate function holding only prefetches looks
 * side-effect free to GCC's interprocedural analysis, which then deletes
 * the calls (seen with GCC 12). */
static inline __attribute__((always_inline)) void prefetch_one(const mk_cache *c, uint64_t key, int stage)
{
    if (!c->o.dense || !c->ix)
        return;
    const struct ixslot *sl = &c->ix[ix_home(c, (uint32_t)key)];
    if (!stage) {
        __builtin_prefetch(sl);
        return;
    }
    /* The slot should be here by now; a collision just misses the hint. */
    if (sl->key != (uint32_t)key || sl->idx == NONE)
        return;
    __builtin_prefetch(&c->e[sl->idx]);
}

void mk_cache_prefetch(const mk_cache *c, uint64_t key, int stage)
{
    prefetch_one(c, key, stage);
}

/* The simulator's loop: requests in order, each key's index slot, entry
 * and neighbours fetched ahead (see mk_cache_prefetch). */
size_t mk_cache_run(mk_cache *c, const mk_cache_req *r, size_t n, uint64_t gets)
{
    enum { FAR = 16, MID = 8 };
    int pf = c->o.dense;
    for (size_t i = 0; pf && i < n && i < FAR; i++)
        prefetch_one(c, r[i].key, 0);
    uint64_t done = 0;
    for (size_t i = 0; i < n; i++) {
        if (pf) {
            if (i + FAR < n)
                prefetch_one(c, r[i + FAR].key, 0);
            if (i + MID < n)
                prefetch_one(c, r[i + MID].key, 1);
        }
        const mk_cache_req *q = &r[i];
        switch (q->op) {
        case MK_CACHE_GET:
            get_one(c, q->key, q->size, q->now, q->expire, q->next);
            if (gets && ++done == gets)
                return i + 1;
            break;
        case MK_CACHE_SET:
            mk_cache_set(c, q->key, q->size, q->now, q->expire, q->next);
            break;
        case MK_CACHE_DEL:
            mk_cache_del(c, q->key);
            break;
        default:
            mk_cache_drop(c, q->key);
            break;
        }
    }
    return n;
}

int mk_cache_contains(const mk_cache *c, uint64_t key, int64_t now)
{
    uint32_t i = idx_get(c, key);
    return i != NONE && !is_ghost(c, i) && now < get_expire(c, i);
}

void mk_cache_stats_get(const mk_cache *c, mk_cache_stats *st)
{
    *st = c->st;
}

void mk_cache_stats_set(mk_cache *c, const mk_cache_stats *st)
{
    mk_cache_stats keep = c->st;
    c->st = *st;
    c->st.objects = keep.objects;
    c->st.used = keep.used;
    c->st.retained = keep.retained;
    c->st.retained_bytes = keep.retained_bytes;
}

size_t mk_cache_bytes(const mk_cache *c)
{
    size_t n = sizeof *c + (size_t)c->ecap * sizeof *c->e;
    if (c->expire)
        n += (size_t)c->ecap * sizeof *c->expire;
    n += c->ix ? (size_t)(c->ixmask + 1) * sizeof *c->ix : 0;
    if (!c->o.dense)
        n += mk_imap_bytes(&c->map);
    n += (size_t)c->bcap * sizeof *c->b;
    if (c->cms)
        n += (size_t)((c->cms_mask + 1) * 4 / 16) * sizeof *c->cms;
    if (c->heap)
        n += (size_t)c->ecap * (sizeof *c->heap + sizeof *c->nxt);
    return n;
}

/* ---- saving and restoring ------------------------------------------------------------ */

static int walk_queue(const mk_cache *c, const queue *q, void (*fn)(void *, const mk_cache_entry *), void *ctx,
                      uint64_t freq)
{
    int n = 0;
    for (uint32_t i = q->tail; i != NONE; i = c->e[i].prev, n++) {
        const entry *e = &c->e[i];
        /* a ghost keeps no expiry (a restored one gets none) */
        int ghost = (c->ghost_mask >> e->q) & 1;
        mk_cache_entry x = { e->key, ghost ? MK_CACHE_NEVER : get_expire(c, i), e->size, e->freq, e->q, e->flags };
        if (c->o.policy == MK_CACHE_LFU)
            x.freq = freq > UINT32_MAX ? UINT32_MAX : (uint32_t)freq;
        if (c->o.policy == MK_CACHE_BELADY)
            x.freq = 0;
        fn(ctx, &x);
    }
    return n;
}

size_t mk_cache_walk(const mk_cache *c, void (*fn)(void *ctx, const mk_cache_entry *e), void *ctx)
{
    size_t n = 0;
    if (c->o.policy == MK_CACHE_LFU) {
        for (uint32_t b = c->bfirst; b != NONE; b = c->b[b].next)
            n += (size_t)walk_queue(c, &c->b[b].q, fn, ctx, c->b[b].freq);
        return n;
    }
    for (int q = 0; q < NQ; q++)
        n += (size_t)walk_queue(c, &c->q[q], fn, ctx, 0);
    return n;
}

int mk_cache_restore(mk_cache *c, const mk_cache_entry *x)
{
    static const int nqueues[MK_CACHE_NPOLICIES] = { 1, 1, 1, 1, 1, 3, 4, 3, 3, 1 };
    if (x->queue >= nqueues[c->o.policy])
        return mk_err_set("entry in queue %d, which a %s cache does not have", x->queue,
                          mk_cache_policy_names[c->o.policy]);
    if (idx_get(c, x->key) != NONE)
        return mk_err_set("key %llu saved twice", (unsigned long long)x->key);
    uint64_t w = c->o.count ? 1 : x->size;
    int ghost = (c->ghost_mask >> x->queue) & 1;
    if (!ghost && c->st.used + w > c->o.capacity)
        return mk_err_set("saved entries exceed the capacity of %llu", (unsigned long long)c->o.capacity);
    if (x->flags & ~F_DROPPED || (c->o.policy == MK_CACHE_CLOCK && x->freq >= (1u << c->o.clock_bits)) ||
        (c->o.policy == MK_CACHE_SIEVE && x->freq > 1) || (c->o.policy == MK_CACHE_LFU && x->freq == 0))
        return mk_err_set("entry state out of range");
    uint32_t i = entry_new(c, x->key, x->size);
    entry *e = &c->e[i];
    e->q = x->queue;
    e->flags = ghost ? 0 : x->flags;
    switch (c->o.policy) {
    case MK_CACHE_LFU: {
        uint32_t last = c->bfirst;
        while (last != NONE && c->b[last].next != NONE)
            last = c->b[last].next;
        if (last != NONE && c->b[last].freq > x->freq) {
            entry_free(c, i);
            return mk_err_set("LFU entries out of order");
        }
        if (last != NONE && c->b[last].freq == x->freq) {
            e->aux = last;
            e->freq = x->freq;
            q_push(c, &c->b[last].q, i);
        } else {
            lfu_place(c, i, x->freq, last);
        }
        break;
    }
    case MK_CACHE_BELADY:
        q_push(c, &c->q[Q_MAIN], i);
        break;
    default:
        e->freq = x->freq;
        q_push(c, &c->q[x->queue], i);
        break;
    }
    idx_put(c, x->key, i);
    if (ghost)
        return 0;
    set_expire(c, i, x->expire);
    c->st.objects++;
    c->st.used += w;
    if (e->flags & F_DROPPED) {
        c->st.retained++;
        c->st.retained_bytes += e->size;
    }
    if (c->o.policy == MK_CACHE_BELADY)
        heap_insert(c, i, MK_CACHE_NEVER);
    return 0;
}

/* State layout: u64 SIEVE hand (walk position, or all ones), f64 ARC p,
 * u64 ARC ghost flags, u64 sketch additions, then the sketch's words. */
enum { STATE_FIXED = 4 * 8 };

size_t mk_cache_state_size(const mk_cache *c)
{
    size_t n = STATE_FIXED;
    if (c->cms)
        n += (size_t)((c->cms_mask + 1) * 4 / 16) * 8;
    return n;
}

void mk_cache_state_write(const mk_cache *c, void *buf)
{
    uint64_t v[4] = { UINT64_MAX, 0, 0, c->cms_adds };
    if (c->hand != NONE) {
        uint64_t pos = 0;
        for (uint32_t i = c->q[Q_MAIN].tail; i != NONE && i != c->hand; i = c->e[i].prev)
            pos++;
        v[0] = pos;
    }
    memcpy(&v[1], &c->p, 8);
    v[2] = (uint64_t)c->in_b1 | (uint64_t)c->in_b2 << 1;
    memcpy(buf, v, sizeof v);
    if (c->cms)
        memcpy((char *)buf + STATE_FIXED, c->cms, mk_cache_state_size(c) - STATE_FIXED);
}

int mk_cache_state_read(mk_cache *c, const void *buf, size_t n)
{
    if (n != mk_cache_state_size(c))
        return mk_err_set("policy state of %zu bytes, expected %zu", n, mk_cache_state_size(c));
    uint64_t v[4];
    memcpy(v, buf, sizeof v);
    double p;
    memcpy(&p, &v[1], 8);
    if (!(p >= 0 && p <= (double)c->o.capacity) || v[2] > 3)
        return mk_err_set("policy state out of range");
    c->hand = NONE;
    if (v[0] != UINT64_MAX) {
        uint64_t pos = 0;
        uint32_t i = c->q[Q_MAIN].tail;
        while (i != NONE && pos < v[0])
            i = c->e[i].prev, pos++;
        if (i == NONE || c->o.policy != MK_CACHE_SIEVE)
            return mk_err_set("SIEVE hand out of range");
        c->hand = i;
    }
    c->p = p;
    c->in_b1 = (int)(v[2] & 1);
    c->in_b2 = (int)(v[2] >> 1);
    c->cms_adds = v[3];
    if (c->cms)
        memcpy(c->cms, (const char *)buf + STATE_FIXED, n - STATE_FIXED);
    return 0;
}

/* ---- sharing one cache between threads ---------------------------------------------- */

int mk_cache_sync_init(mk_cache_sync *s, const mk_cache_opts *o)
{
    s->c = mk_cache_new(o);
    if (!s->c)
        return -1;
    if (pthread_mutex_init(&s->mu, NULL)) {
        mk_cache_free(s->c);
        return mk_err_set("cannot create a mutex");
    }
    return 0;
}

void mk_cache_sync_free(mk_cache_sync *s)
{
    pthread_mutex_destroy(&s->mu);
    mk_cache_free(s->c);
    s->c = NULL;
}

int mk_cache_sync_get(mk_cache_sync *s, uint64_t key, uint32_t size, int64_t now, int64_t expire)
{
    pthread_mutex_lock(&s->mu);
    int r = mk_cache_get(s->c, key, size, now, expire, MK_CACHE_NEVER);
    pthread_mutex_unlock(&s->mu);
    return r;
}

void mk_cache_sync_set(mk_cache_sync *s, uint64_t key, uint32_t size, int64_t now, int64_t expire)
{
    pthread_mutex_lock(&s->mu);
    mk_cache_set(s->c, key, size, now, expire, MK_CACHE_NEVER);
    pthread_mutex_unlock(&s->mu);
}

void mk_cache_sync_del(mk_cache_sync *s, uint64_t key)
{
    pthread_mutex_lock(&s->mu);
    mk_cache_del(s->c, key);
    pthread_mutex_unlock(&s->mu);
}

void mk_cache_sync_drop(mk_cache_sync *s, uint64_t key)
{
    pthread_mutex_lock(&s->mu);
    mk_cache_drop(s->c, key);
    pthread_mutex_unlock(&s->mu);
}

void mk_cache_sync_stats(mk_cache_sync *s, mk_cache_stats *st)
{
    pthread_mutex_lock(&s->mu);
    mk_cache_stats_get(s->c, st);
    pthread_mutex_unlock(&s->mu);
}
