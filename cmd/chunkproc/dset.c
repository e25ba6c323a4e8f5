/* dset — striped exact set of byte strings (see dset.h). */
#include "dset.h"
#include "err.h"
#include "map.h"
#include "word.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { STRIPES = 64, MIN_CAP = 64, CHUNK_BITS = 18, CHUNK = 1 << CHUNK_BITS };

/* Entry bytes live in 256 KiB chunks that never move (no realloc copies, no
 * doubling reserve); a 32-bit reference is chunk << 18 | offset, and an
 * entry is [LEB128 length][bytes]. Longer entries get a chunk of their own. */
/* A slot holds short entries itself, so a repeated value (the common case)
 * is confirmed without touching a second cache line; longer ones point to
 * their bytes in a chunk. len 0 = empty (entries are never empty). */
enum { INLINE = 11, LONG = 0xff };

typedef struct {
    uint32_t h32;
    uint8_t len;                /* 1..INLINE: bytes inline; LONG: ref in b */
    char b[INLINE];
} slot;
_Static_assert(sizeof(slot) == 16, "a slot is compared as 16 bytes");

typedef struct {
    pthread_mutex_t mu;
    slot *slots;
    uint64_t *counts;           /* counted sets: one per slot */
    size_t cap, len;
    char **chunks;
    size_t nchunks, used;       /* bytes used in the last chunk */
    size_t bytes;               /* bytes written to chunks (what is resident) */
    size_t probes;              /* slots looked at past the home slot */
} stripe;

static const char *entry(const stripe *st, uint32_t ref, size_t *n)
{
    const unsigned char *e = (const unsigned char *)st->chunks[ref >> CHUNK_BITS] + (ref & (CHUNK - 1));
    size_t len = 0;
    int shift = 0;
    do
        len |= (size_t)(*e & 0x7f) << shift, shift += 7;
    while (*e++ & 0x80);
    *n = len;
    return (const char *)e;
}

struct cp_dset {
    stripe s[STRIPES];
    uint32_t mul;               /* odd: see home */
    int counted;
};

cp_dset *cp_dset_new_counted(void)
{
    cp_dset *d = cp_dset_new();
    d->counted = 1;
    return d;
}

cp_dset *cp_dset_new(void)
{
    static uint64_t sets;
    uint64_t z = __atomic_add_fetch(&sets, 1, __ATOMIC_RELAXED) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    cp_dset *d = mk_xcalloc(1, sizeof *d);
    d->mul = (uint32_t)(z >> 32) | 1;
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_init(&d->s[i].mu, NULL);
    return d;
}

/* Home slot by multiply-shift, so capacities need not be powers of two and
 * tables grow by half: less memory left empty than doubling. The hash is
 * first multiplied by the set's own odd number: a drained set hands out its
 * entries in slot order, that is sorted by home, and a set that takes them
 * in that order and hashed them alike would pile each run into one cluster
 * while it grows (tests/unit/test_dset: 416 slots probed past the home an
 * entry instead of 3.4). */
static inline size_t home(const cp_dset *d, uint32_t h32, size_t cap)
{
    return (size_t)(((uint64_t)(uint32_t)(h32 * d->mul) * cap) >> 32);
}

/* Slot arrays are mappings of their own (mk_xmap): from the heap, the
 * smaller arrays left behind by growing stripes stayed resident, as the
 * bigger ones could not reuse them. They are unmapped only by
 * cp_dset_release: a drained set keeps them for its next fill, which
 * reaches the same size, instead of growing again through page faults and
 * unmaps that interrupt the other threads (-g user_id -a count,top:method:2
 * on the benchmark file: peak RSS 95-99 -> 85 MB; unmapped at every drain,
 * 5 s more of system time). */
static void free_arrays(stripe *st)
{
    mk_xunmap(st->slots, st->cap * sizeof *st->slots);
    mk_xunmap(st->counts, st->cap * sizeof *st->counts);
}

static void grow(const cp_dset *d, stripe *st)
{
    int counted = d->counted;
    size_t ncap = st->cap ? st->cap + st->cap / 2 : MIN_CAP;
    slot *ns = mk_xmap(ncap * sizeof *ns);
    uint64_t *nc = counted ? mk_xmap(ncap * sizeof *nc) : NULL;
    for (size_t i = 0; i < st->cap; i++) {
        const slot *v = &st->slots[i];
        if (!v->len)
            continue;
        size_t j = home(d, v->h32, ncap);
        while (ns[j].len)
            j = j + 1 == ncap ? 0 : j + 1;
        ns[j] = *v;
        if (counted)
            nc[j] = st->counts[i];
    }
    free_arrays(st);
    /* Atomic: add_batch reads both without this stripe's lock, to prefetch. */
    __atomic_store_n(&st->slots, ns, __ATOMIC_RELAXED);
    st->counts = nc;
    __atomic_store_n(&st->cap, ncap, __ATOMIC_RELAXED);
}

int cp_dset_add(cp_dset *d, const void *p, size_t n)
{
    return cp_dset_add_count(d, p, n, 1);
}

/* Insert or count one entry; the stripe's lock is held. A short entry is
 * built as the two words of the slot it would have (unused bytes zero:
 * slots come zeroed and are never reused) and compared as such, in
 * registers: built in memory by a memcpy of its length and read back as
 * words, it stalled on store forwarding (task B at -j 1, medians of 5:
 * 1.41 -> 1.33 s, CPU 1.75 -> 1.68 s). */
static int insert(cp_dset *d, stripe *st, uint64_t h, const void *p, size_t n, uint64_t c)
{
    uint32_t h32 = (uint32_t)h;
    if (st->len + 1 > st->cap / 4 * 3)   /* 3/4 full at most: probes stay short */
        grow(d, st);
    int inl = n <= INLINE;
    uint64_t w0 = 0, w1 = 0;
    if (inl) {
        uint64_t lo = mk_load_short(p, n < 8 ? n : 8);
        uint64_t hi = n > 8 ? mk_load_short((const char *)p + 8, n - 8) : 0;
        w0 = h32 | (uint64_t)n << 32 | lo << 40;
        w1 = lo >> 24 | hi << 40;
    }
    size_t j = home(d, h32, st->cap), k = 0;
    for (;; j = j + 1 == st->cap ? 0 : j + 1, k++) {
        const slot *v = &st->slots[j];
        uint64_t s0, s1;
        memcpy(&s0, v, 8);
        if (!(s0 >> 32 & 0xff))         /* len 0: empty */
            break;
        if (inl) {
            memcpy(&s1, (const char *)v + 8, 8);
            if (s0 != w0 || s1 != w1)
                continue;
        } else {
            if (v->h32 != h32 || v->len != LONG)
                continue;
            uint32_t ref;
            memcpy(&ref, v->b, 4);
            size_t el;
            const char *e = entry(st, ref, &el);
            if (el != n || memcmp(e, p, n) != 0)
                continue;
        }
        st->probes += k;
        if (d->counted)
            st->counts[j] += c;
        return 0;
    }
    st->probes += k;
    slot *sl = &st->slots[j];
    st->len++;
    if (d->counted)
        st->counts[j] = c;
    if (inl) {
        memcpy(sl, &w0, 8);
        memcpy((char *)sl + 8, &w1, 8);
        return 1;
    }
    sl->h32 = h32;
    sl->len = LONG;
    size_t need = n + 5;
    if (!st->nchunks || st->used + need > CHUNK) {
        if (st->nchunks == (1u << (32 - CHUNK_BITS)) - 1)
            mk_die("distinct: more than 4 GiB of values in one stripe");
        size_t sz = need > CHUNK ? need : CHUNK;
        st->chunks = mk_xrealloc(st->chunks, (st->nchunks + 1) * sizeof *st->chunks);
        st->chunks[st->nchunks++] = mk_xmalloc(sz);
        st->used = 0;
    }
    if (need > CHUNK && st->used)
        mk_die("internal error: distinct chunk");
    uint32_t ref = (uint32_t)((st->nchunks - 1) << CHUNK_BITS | (need > CHUNK ? 0 : st->used));
    unsigned char *w = (unsigned char *)st->chunks[st->nchunks - 1] + st->used;
    size_t len = n;
    do {
        *w = (unsigned char)(len & 0x7f);
        len >>= 7;
        *w++ |= len ? 0x80 : 0;
    } while (len);
    memcpy(w, p, n);
    size_t before = st->used;
    st->used = need > CHUNK ? CHUNK : (size_t)((char *)w + n - st->chunks[st->nchunks - 1]);
    st->bytes += need > CHUNK ? need : st->used - before;
    memcpy(sl->b, &ref, 4);
    return 1;
}

int cp_dset_add_count(cp_dset *d, const void *p, size_t n, uint64_t c)
{
    uint64_t h = mk_map_hash(p, n);
    stripe *st = &d->s[h >> 58];
    pthread_mutex_lock(&st->mu);
    int r = insert(d, st, h, p, n, c);
    pthread_mutex_unlock(&st->mu);
    return r;
}

enum { PREFETCH = 16 };

/* Without the stripe's lock: a stripe that grows meanwhile only makes this
 * a useless prefetch (the pair read may even mix old and new). */
static inline void prefetch_home(const cp_dset *d, const stripe *st, uint64_t h)
{
    slot *sl = __atomic_load_n(&st->slots, __ATOMIC_RELAXED);
    size_t cap = __atomic_load_n(&st->cap, __ATOMIC_RELAXED);
    if (sl && cap)
        __builtin_prefetch(&sl[home(d, (uint32_t)h, cap)]);
}

void cp_dset_add_batch(cp_dset *d, cp_dset_batch *b)
{
    /* Counting sort by stripe, then one lock per stripe for all its entries:
     * with two threads adding, the locks were most of the cost. */
    uint32_t start[STRIPES + 1] = { 0 };
    for (size_t i = 0; i < b->n; i++)
        start[(b->items[i].h >> 58) + 1]++;
    for (int i = 0; i < STRIPES; i++)
        start[i + 1] += start[i];
    uint32_t at[STRIPES];
    memcpy(at, start, sizeof at);
    for (size_t i = 0; i < b->n; i++)
        b->order[at[b->items[i].h >> 58]++] = (uint32_t)i;
    for (size_t k = 0; k < PREFETCH && k < b->n; k++) {
        uint64_t h = b->items[b->order[k]].h;
        prefetch_home(d, &d->s[h >> 58], h);
    }
    for (int s = 0; s < STRIPES; s++) {
        if (start[s] == start[s + 1])
            continue;
        stripe *st = &d->s[s];
        pthread_mutex_lock(&st->mu);
        /* A big set is far out of cache: ask for each entry's slot a few
         * entries ahead so the misses overlap instead of queueing; across
         * stripes, as a stripe's run is short (16 of a full batch): task B
         * at -j 2 took 1.08 s (median of 4) prefetching within a stripe,
         * 1.02 s across. */
        for (uint32_t k = start[s]; k < start[s + 1]; k++) {
            if (k + PREFETCH < b->n) {
                uint64_t h = b->items[b->order[k + PREFETCH]].h;
                prefetch_home(d, &d->s[h >> 58], h);
            }
            const cp_dset_item *it = &b->items[b->order[k]];
            insert(d, st, it->h, b->buf + it->off, it->len, 1);
        }
        pthread_mutex_unlock(&st->mu);
    }
    b->n = 0;
    b->used = 0;
}

char *cp_dset_batch_room(cp_dset *d, cp_dset_batch *b, size_t n)
{
    if (b->n == CP_DSET_BATCH || b->used + n > b->cap) {
        if (b->n)
            cp_dset_add_batch(d, b);
        if (n > b->cap) {
            b->cap = n > 65536 ? n : 65536;
            b->buf = mk_xrealloc(b->buf, b->cap);
        }
    }
    return b->buf + b->used;
}

void cp_dset_batch_commit(cp_dset_batch *b, size_t n)
{
    const char *e = b->buf + b->used;
    b->items[b->n++] = (cp_dset_item){ mk_map_hash(e, n), (uint32_t)b->used, (uint32_t)n };
    b->used += n;
}

void cp_dset_batch_free(cp_dset_batch *b)
{
    free(b->buf);
    b->buf = NULL;
    b->cap = b->used = b->n = 0;
}

size_t cp_dset_len(const cp_dset *d)
{
    size_t n = 0;
    for (int i = 0; i < STRIPES; i++)
        n += d->s[i].len;
    return n;
}

size_t cp_dset_probes(const cp_dset *d)
{
    size_t n = 0;
    for (int i = 0; i < STRIPES; i++)
        n += d->s[i].probes;
    return n;
}

size_t cp_dset_content_bytes(const cp_dset *d)
{
    size_t n = 0;
    for (int i = 0; i < STRIPES; i++)
        n += d->s[i].len * (sizeof(slot) + (d->counted ? sizeof(uint64_t) : 0)) / 3 * 4 + d->s[i].bytes;
    return n;
}

size_t cp_dset_bytes(const cp_dset *d)
{
    size_t n = sizeof *d;
    for (int i = 0; i < STRIPES; i++)
        n += d->s[i].cap * (sizeof(slot) + (d->counted ? sizeof(uint64_t) : 0)) + d->s[i].bytes;
    return n;
}

void cp_dset_each_count(const cp_dset *d, cp_count_fn fn, void *ctx)
{
    for (int i = 0; i < STRIPES; i++) {
        const stripe *st = &d->s[i];
        for (size_t j = 0; j < st->cap; j++) {
            const slot *v = &st->slots[j];
            if (!v->len)
                continue;
            size_t n = v->len;
            const char *e = v->b;
            if (v->len == LONG) {
                uint32_t ref;
                memcpy(&ref, v->b, 4);
                e = entry(st, ref, &n);
            }
            if (fn(ctx, e, n, d->counted ? st->counts[j] : 1))
                return;
        }
    }
}

struct each_ctx {
    int (*fn)(void *ctx, const char *p, size_t n);
    void *ctx;
};

static int each_one(void *ctx, const char *p, size_t n, uint64_t c)
{
    struct each_ctx *e = ctx;
    return e->fn(e->ctx, p, n);
}

void cp_dset_each(const cp_dset *d, int (*fn)(void *ctx, const char *p, size_t n), void *ctx)
{
    struct each_ctx e = { fn, ctx };
    cp_dset_each_count(d, each_one, &e);
}

void cp_dset_drain(cp_dset *d, cp_count_fn fn, void *ctx)
{
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_lock(&d->s[i].mu);
    cp_dset_each_count(d, fn, ctx);
    for (int i = 0; i < STRIPES; i++) {
        stripe *st = &d->s[i];
        if (st->slots)          /* never grown: NULL */
            memset(st->slots, 0, st->cap * sizeof *st->slots);
        if (st->counts)
            memset(st->counts, 0, st->cap * sizeof *st->counts);
        for (size_t k = 0; k < st->nchunks; k++)
            free(st->chunks[k]);
        free(st->chunks);
        st->chunks = NULL;
        st->len = st->nchunks = st->used = st->bytes = 0;
    }
    for (int i = STRIPES - 1; i >= 0; i--)
        pthread_mutex_unlock(&d->s[i].mu);
}

void cp_dset_release(cp_dset *d)
{
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_lock(&d->s[i].mu);
    for (int i = 0; i < STRIPES; i++) {
        stripe *st = &d->s[i];
        if (st->len)
            mk_die("internal error: releasing a set that is not empty");
        free_arrays(st);
        __atomic_store_n(&st->slots, NULL, __ATOMIC_RELAXED);   /* see prefetch_home */
        __atomic_store_n(&st->cap, 0, __ATOMIC_RELAXED);
        st->counts = NULL;
    }
    for (int i = STRIPES - 1; i >= 0; i--)
        pthread_mutex_unlock(&d->s[i].mu);
}

void cp_dset_free(cp_dset *d)
{
    if (!d)
        return;
    for (int i = 0; i < STRIPES; i++) {
        free_arrays(&d->s[i]);
        for (size_t k = 0; k < d->s[i].nchunks; k++)
            free(d->s[i].chunks[k]);
        free(d->s[i].chunks);
        pthread_mutex_destroy(&d->s[i].mu);
    }
    free(d);
}
