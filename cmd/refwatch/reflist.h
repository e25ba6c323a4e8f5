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
 * class of n (0 when n = 0). Pointers from rw_refs_at() are valid until the
 * next push or remove on any list. Single-threaded. */
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
rw_ref *rw_refs_at(const rw_reflists *r, uint32_t blk, uint32_t n);
void rw_refs_push(rw_reflists *r, uint32_t *blk, uint32_t *n, rw_ref x);
void rw_refs_remove(rw_reflists *r, uint32_t *blk, uint32_t *n, uint32_t k);
void rw_refs_clear(rw_reflists *r, uint32_t *blk, uint32_t *n);
size_t rw_refs_bytes(const rw_reflists *r);

#endif
