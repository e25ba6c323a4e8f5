/* live — the recorder's table of live blocks (see live.h). */
#include "live.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

enum { SITE_SHIFT = 40, MIN_CAP = 1024 };
#define MADE_MASK LD_LIVE_MADE_MASK
#define MAX_SITE ((UINT32_C(1) << (64 - SITE_SHIFT)) - 1)

static void alloc_slots(ld_live *l, size_t cap)
{
    l->cap = cap;
    l->ctrl = mk_xmalloc(cap);
    memset(l->ctrl, LD_LIVE_EMPTY, cap);
    l->keys = mk_xmalloc(cap * sizeof *l->keys);
    l->vals = mk_xmalloc(cap * sizeof *l->vals);
    l->used = l->gone = 0;
}

void ld_live_init(ld_live *l)
{
    memset(l, 0, sizeof *l);
    alloc_slots(l, MIN_CAP);
    mk_vec_init(&l->sites, sizeof(ld_live_site));
}

void ld_live_free(ld_live *l)
{
    free(l->ctrl);
    free(l->keys);
    free(l->vals);
    mk_vec_free(&l->sites);
    memset(l, 0, sizeof *l);
}

static inline uint8_t tag_of(uint64_t h)
{
    return (uint8_t)(h >> 57);   /* 7 bits: never EMPTY or GONE */
}

/* Bit i set where group slot i's control byte is c. */
static inline unsigned match(const uint8_t *g, uint8_t c)
{
#ifdef __SSE2__
    __m128i v = _mm_loadu_si128((const __m128i *)g);
    return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8((char)c)));
#else
    unsigned m = 0;
    for (unsigned i = 0; i < LD_LIVE_GROUP; i++)
        m |= (unsigned)(g[i] == c) << i;
    return m;
#endif
}

/* The slot holding addr, or SIZE_MAX. */
static inline size_t find(const ld_live *l, uint64_t addr, uint64_t h)
{
    uint8_t t = tag_of(h);
    for (size_t g = ld_live_home(h, l->cap);; g = (g + LD_LIVE_GROUP) & (l->cap - 1)) {
        for (unsigned m = match(l->ctrl + g, t); m; m &= m - 1) {
            size_t i = g + (size_t)__builtin_ctz(m);
            if (l->keys[i] == addr)
                return i;
        }
        if (match(l->ctrl + g, LD_LIVE_EMPTY))
            return SIZE_MAX;
    }
}

/* A free slot (empty or gone) on h's probe; the table has one. */
static inline size_t free_slot(const ld_live *l, uint64_t h)
{
    for (size_t g = ld_live_home(h, l->cap);; g = (g + LD_LIVE_GROUP) & (l->cap - 1)) {
        unsigned m = match(l->ctrl + g, LD_LIVE_EMPTY) | match(l->ctrl + g, LD_LIVE_GONE);
        if (m)
            return g + (size_t)__builtin_ctz(m);
    }
}

static void rehash(ld_live *l, size_t cap)
{
    uint8_t *ctrl = l->ctrl;
    uint64_t *keys = l->keys;
    ld_live_val *vals = l->vals;
    size_t n = l->cap, used = l->used;
    alloc_slots(l, cap);
    for (size_t i = 0; i < n; i++)
        if (!(ctrl[i] & 0x80)) {
            uint64_t h = ld_live_hash(keys[i]);
            size_t j = free_slot(l, h);
            l->ctrl[j] = tag_of(h);
            l->keys[j] = keys[i];
            l->vals[j] = vals[i];
        }
    l->used = used;
    free(ctrl);
    free(keys);
    free(vals);
}

static ld_live_site *site_grow(ld_live *l, uint32_t site)
{
    while (mk_vec_len(&l->sites) <= site)
        memset(mk_vec_push(&l->sites), 0, sizeof(ld_live_site));
    return mk_vec_get(&l->sites, site);
}

static inline ld_live_site *site_at(ld_live *l, uint32_t site)
{
    if (__builtin_expect(site < mk_vec_len(&l->sites), 1))
        return (ld_live_site *)mk_vec_data(&l->sites) + site;
    return site_grow(l, site);
}

int ld_live_add(ld_live *l, uint64_t addr, uint64_t size, uint32_t site, uint64_t made)
{
    if (site > MAX_SITE)
        mk_die("more than %u distinct call sites: not supported", (unsigned)MAX_SITE);
    if (!addr)
        return 1;               /* never an event: nothing lives at 0 */
    uint64_t h = ld_live_hash(addr);
    if (find(l, addr, h) != SIZE_MAX)
        return 0;
    /* at most half the slots live, and tombstones swept once they are many */
    if (2 * (l->used + l->gone + 1) > l->cap)
        rehash(l, 4 * (l->used + 1) > l->cap ? 2 * l->cap : l->cap);
    size_t i = free_slot(l, h);
    if (l->ctrl[i] == LD_LIVE_GONE)
        l->gone--;
    l->ctrl[i] = tag_of(h);
    l->keys[i] = addr;
    l->vals[i].size = size;
    l->vals[i].made_site = (made & MADE_MASK) | (uint64_t)site << SITE_SHIFT;
    l->used++;
    ld_live_site *st = site_at(l, site);
    st->bytes += size;
    st->blocks++;
    l->bytes += size;
    l->blocks++;
    if (l->bytes > l->peak)
        l->peak = l->bytes;
    return 1;
}

uint64_t ld_live_del(ld_live *l, uint64_t addr)
{
    size_t i = addr ? find(l, addr, ld_live_hash(addr)) : SIZE_MAX;
    if (i == SIZE_MAX)
        return 0;
    ld_live_val v = l->vals[i];
    ld_live_site *st = site_at(l, (uint32_t)(v.made_site >> SITE_SHIFT));
    st->bytes -= v.size;
    st->blocks--;
    l->bytes -= v.size;
    l->blocks--;
    l->used--;
    /* A group with an empty slot ends every probe that reaches it, so no
     * block lies beyond it for its sake: the slot can be empty again.
     * Otherwise it must stay a tombstone. */
    size_t g = i & ~(size_t)(LD_LIVE_GROUP - 1);
    if (match(l->ctrl + g, LD_LIVE_EMPTY)) {
        l->ctrl[i] = LD_LIVE_EMPTY;
    } else {
        l->ctrl[i] = LD_LIVE_GONE;
        l->gone++;
    }
    return (v.made_site & MADE_MASK) | (UINT64_C(1) << SITE_SHIFT);   /* never 0, whatever the event number */
}

int ld_live_has(const ld_live *l, uint64_t addr)
{
    return addr && find(l, addr, ld_live_hash(addr)) != SIZE_MAX;
}

int ld_live_next(const ld_live *l, size_t *it, uint64_t *addr, uint64_t *size, uint32_t *site)
{
    for (; *it < l->cap; ++*it) {
        if (!(l->ctrl[*it] & 0x80)) {
            *addr = l->keys[*it];
            *size = l->vals[*it].size;
            *site = (uint32_t)(l->vals[*it].made_site >> SITE_SHIFT);
            ++*it;
            return 1;
        }
    }
    return 0;
}

ld_live_site ld_live_site_of(const ld_live *l, uint32_t site)
{
    ld_live_site z = { 0, 0 };
    return site < mk_vec_len(&l->sites) ? *(const ld_live_site *)mk_vec_get(&l->sites, site) : z;
}
