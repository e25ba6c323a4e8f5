/* reflist — see reflist.h. */
#include "reflist.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

#define CLASS RW_REFS_CLASS
#define BLOCK RW_REFS_BLOCK

static unsigned class_of(uint32_t n)
{
    return n <= 1 ? 0 : 32 - (unsigned)__builtin_clz(n - 1);
}

void rw_refs_init(rw_reflists *r)
{
    memset(r, 0, sizeof *r);
}

void rw_refs_free(rw_reflists *r)
{
    for (int c = 0; c < 32; c++)
        mk_xgrow_free(r->cls[c].data, (r->cls[c].cap << c) * sizeof(rw_ref));
    memset(r, 0, sizeof *r);
}

static uint32_t block_alloc(rw_reflists *r, unsigned c)
{
    rw_refclass *k = &r->cls[c];
    if (k->free) {
        uint32_t b = k->free;
        k->free = k->data[(size_t)(b - 1) << c].site;
        /* The next allocation reads the new head's link: fetch it now. */
        if (k->free)
            __builtin_prefetch(&k->data[(size_t)(k->free - 1) << c]);
        return b;
    }
    if (k->nblocks == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : (c < 4 ? 4096 : 256);
        if (cap >= 1u << 27)
            mk_die("too many outstanding references");
        k->data = mk_xgrow(k->data, (k->cap << c) * sizeof *k->data, (cap << c) * sizeof *k->data);
        k->cap = cap;
    }
    return (uint32_t)++k->nblocks;
}

static void block_free(rw_reflists *r, unsigned c, uint32_t b)
{
    rw_refclass *k = &r->cls[c];
    k->data[(size_t)(b - 1) << c].site = k->free;
    k->free = b;
}

/* The list changes from n to n2 entries: move it to a bigger block when it
 * no longer fits, to a smaller one only when it would fill a quarter, so a
 * count going up and down by one does not move it every time. */
static void resize(rw_reflists *r, uint32_t *blk, uint32_t n, uint32_t n2)
{
    unsigned c = CLASS(*blk), c2 = class_of(n2);
    if (n && n2 && (c2 == c || (c2 < c && (n2 << 2) > (1u << c))))
        return;
    uint32_t b2 = n2 ? block_alloc(r, c2) : 0;
    if (n && n2) {
        /* a few entries, mostly: a loop, not a call to memcpy */
        uint32_t keep = n < n2 ? n : n2;
        rw_ref *to = r->cls[c2].data + ((size_t)(b2 - 1) << c2);
        const rw_ref *from = r->cls[c].data + ((size_t)(BLOCK(*blk) - 1) << c);
        for (uint32_t i = 0; i < keep; i++)
            to[i] = from[i];
    }
    if (n)
        block_free(r, c, BLOCK(*blk));
    *blk = n2 ? b2 | (uint32_t)c2 << 27 : 0;
}

/* An anonymous reference whose site + 1 fits the 27 bits beside the
 * inline class (sites below 2^27 - 2, or none). */
static int fits_inline(rw_ref x)
{
    return !x.holder_lo && !x.holder_hi && (x.site == UINT32_MAX || x.site < (1u << 27) - 2);
}

void rw_refs_push_move(rw_reflists *r, uint32_t *blk, uint32_t *n, rw_ref x)
{
    if (*n >= 1u << 30)
        mk_die("more than 2^30 references to one object");
    if (!*n && fits_inline(x)) {
        *blk = RW_REFS_INLINE << 27 | (x.site == UINT32_MAX ? 0 : x.site + 1);
        *n = 1;
        return;
    }
    if (*n == 1 && rw_refs_inline(*blk)) {
        rw_ref one;
        rw_refs_get(r, *blk, 1, &one);
        *blk = *n = 0;
        resize(r, blk, 0, 2);
        rw_ref *v = rw_refs_at(r, *blk, 2);
        v[0] = one;
        v[1] = x;
        *n = 2;
        return;
    }
    resize(r, blk, *n, *n + 1);
    (*n)++;
    rw_refs_at(r, *blk, *n)[*n - 1] = x;
}

void rw_refs_remove_move(rw_reflists *r, uint32_t *blk, uint32_t *n, uint32_t k)
{
    if (*n == 1 && rw_refs_inline(*blk)) {
        *blk = *n = 0;
        return;
    }
    rw_ref *v = rw_refs_at(r, *blk, *n);
    memmove(v + k, v + k + 1, (*n - k - 1) * sizeof *v);
    resize(r, blk, *n, *n - 1);
    (*n)--;
}

void rw_refs_clear(rw_reflists *r, uint32_t *blk, uint32_t *n)
{
    if (*n && !rw_refs_inline(*blk))
        block_free(r, CLASS(*blk), BLOCK(*blk));
    *blk = 0;
    *n = 0;
}

size_t rw_refs_bytes(const rw_reflists *r)
{
    size_t b = 0;
    for (int c = 0; c < 32; c++)
        b += (r->cls[c].cap << c) * sizeof(rw_ref);
    return b;
}
