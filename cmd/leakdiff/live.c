/* live — the recorder's table of live blocks (see live.h). */
#include "live.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

enum { SITE_SHIFT = 40, MIN_CAP = 1024 };
#define MADE_MASK LD_LIVE_MADE_MASK
#define MAX_SITE ((UINT32_C(1) << (64 - SITE_SHIFT)) - 1)

void ld_live_init(ld_live *l)
{
    memset(l, 0, sizeof *l);
    l->cap = MIN_CAP;
    l->keys = mk_xcalloc(l->cap, sizeof *l->keys);
    l->vals = mk_xcalloc(l->cap, sizeof *l->vals);
    mk_vec_init(&l->sites, sizeof(ld_live_site));
}

void ld_live_free(ld_live *l)
{
    free(l->keys);
    free(l->vals);
    mk_vec_free(&l->sites);
    memset(l, 0, sizeof *l);
}


/* The slot holding addr, or the empty slot that ends its probe. */
static inline size_t find(const ld_live *l, uint64_t addr)
{
    size_t m = l->cap - 1, i = ld_live_home(addr, l->cap);
    while (l->keys[i] != addr && l->keys[i])
        i = (i + 1) & m;
    return i;
}

static void grow(ld_live *l)
{
    uint64_t *keys = l->keys;
    ld_live_val *vals = l->vals;
    size_t n = l->cap;
    l->cap *= 2;
    l->keys = mk_xcalloc(l->cap, sizeof *l->keys);
    l->vals = mk_xcalloc(l->cap, sizeof *l->vals);
    for (size_t i = 0; i < n; i++)
        if (keys[i]) {
            size_t j = find(l, keys[i]);
            l->keys[j] = keys[i];
            l->vals[j] = vals[i];
        }
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
    size_t i = find(l, addr);
    if (l->keys[i])
        return 0;
    if (8 * (l->used + 1) > 3 * l->cap) {
        grow(l);
        i = find(l, addr);
    }
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

/* Close the hole at slot i: later slots of the run whose home does not lie
 * cyclically in (i, j] move back into it (Knuth's algorithm R). */
static void close_hole(ld_live *l, size_t i)
{
    size_t m = l->cap - 1;
    for (size_t j = (i + 1) & m; l->keys[j]; j = (j + 1) & m) {
        size_t h = ld_live_home(l->keys[j], l->cap);
        if (i <= j ? (i < h && h <= j) : (i < h || h <= j))
            continue;
        l->keys[i] = l->keys[j];
        l->vals[i] = l->vals[j];
        i = j;
    }
    l->keys[i] = 0;
}

uint64_t ld_live_del(ld_live *l, uint64_t addr)
{
    size_t i = find(l, addr);
    if (!addr || !l->keys[i])
        return 0;
    ld_live_val v = l->vals[i];
    ld_live_site *st = site_at(l, (uint32_t)(v.made_site >> SITE_SHIFT));
    st->bytes -= v.size;
    st->blocks--;
    l->bytes -= v.size;
    l->blocks--;
    l->used--;
    close_hole(l, i);
    return (v.made_site & MADE_MASK) | (UINT64_C(1) << SITE_SHIFT);   /* never 0, whatever the event number */
}

int ld_live_has(const ld_live *l, uint64_t addr)
{
    return addr && l->keys[find(l, addr)] != 0;
}

int ld_live_next(const ld_live *l, size_t *it, uint64_t *addr, uint64_t *size, uint32_t *site)
{
    for (; *it < l->cap; ++*it) {
        if (l->keys[*it]) {
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
