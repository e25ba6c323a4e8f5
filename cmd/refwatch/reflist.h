/* reflist — each object's outstanding references, in blocks by size class.
 *
 * An object holding n outstanding references owns one block of the
 * smallest power of two >= n entries, kept
 * in order, newest last (12 bytes each: site and holder). Blocks of one class sit in one array and are
 * reused through a free list, so a log of any length costs only what the
 * live references need, and scanning an object's references reads one or
 * two cache lines instead of chasing a linked list.
 *
 * A list is (blk, n) in the caller's record: blk = block index + 1 in the
 * class of n (0 when n = 0). Most objects are held once, by their creator
 * and without a holder: such a lone anonymous reference lives in blk itself
 * (class RW_REFS_INLINE, its site + 1 below), so an object at count 1 costs
 * no block. Pointers from rw_refs_get() are valid until the next push or
 * remove on any list. Single-threaded. */
#ifndef RW_REFLIST_H
#define RW_REFLIST_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t site;                 /* intern id, or UINT32_MAX */
    uint32_t holder_lo, holder_hi; /* the holder's name by value (model.c), 0 = none */
} rw_ref;

typedef struct {
    rw_ref *data;
    size_t nblocks, cap;   /* blocks */
    uint32_t free;         /* block index + 1 */
} rw_refclass;

typedef struct {
    rw_refclass cls[32];
} rw_reflists;

void rw_refs_init(rw_reflists *r);
void rw_refs_free(rw_reflists *r);
/* blk carries its class in the top 5 bits, the block number + 1 below. */
#define RW_REFS_CLASS(b) ((unsigned)((b) >> 27))
#define RW_REFS_BLOCK(b) ((b) & ((1u << 27) - 1))

#define RW_REFS_INLINE 31u
static inline int rw_refs_inline(uint32_t blk)
{
    return RW_REFS_CLASS(blk) == RW_REFS_INLINE;
}

/* A list's block (not for an inline reference). */
static inline rw_ref *rw_refs_at(const rw_reflists *r, uint32_t blk, uint32_t n)
{
    if (!n)
        return NULL;
    unsigned c = RW_REFS_CLASS(blk);
    return r->cls[c].data + ((size_t)(RW_REFS_BLOCK(blk) - 1) << c);
}

/* A list's entries, oldest first: its block, or *one holding the inline
 * reference. */
static inline const rw_ref *rw_refs_get(const rw_reflists *r, uint32_t blk, uint32_t n, rw_ref *one)
{
    if (n == 1 && rw_refs_inline(blk)) {
        uint32_t s = RW_REFS_BLOCK(blk);
        *one = (rw_ref){ s ? s - 1 : UINT32_MAX, 0, 0 };
        return one;
    }
    return rw_refs_at(r, blk, n);
}

/* The list moves to another block (the slow paths, out of line). */
void rw_refs_push_move(rw_reflists *r, uint32_t *blk, uint32_t *n, rw_ref x);
void rw_refs_remove_move(rw_reflists *r, uint32_t *blk, uint32_t *n, uint32_t k);

/* Most pushes and removes stay in the list's block: a store, or a short
 * shift, inline. */
static inline void rw_refs_push(rw_reflists *r, uint32_t *blk, uint32_t *n, rw_ref x)
{
    if (*n && !rw_refs_inline(*blk) && *n < (1u << RW_REFS_CLASS(*blk))) {
        rw_refs_at(r, *blk, *n)[*n] = x;
        (*n)++;
        return;
    }
    rw_refs_push_move(r, blk, n, x);
}

static inline void rw_refs_remove(rw_reflists *r, uint32_t *blk, uint32_t *n, uint32_t k)
{
    unsigned c = RW_REFS_CLASS(*blk);
    uint32_t n2 = *n - 1;
    /* It stays while it fills more than a quarter of its block. */
    if (n2 && (n2 << 2) > (1u << c)) {
        rw_ref *v = rw_refs_at(r, *blk, *n);
        for (uint32_t j = k; j < n2; j++)
            v[j] = v[j + 1];
        *n = n2;
        return;
    }
    rw_refs_remove_move(r, blk, n, k);
}
void rw_refs_clear(rw_reflists *r, uint32_t *blk, uint32_t *n);
size_t rw_refs_bytes(const rw_reflists *r);

#endif
