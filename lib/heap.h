/* heap — binary-heap priority queue of fixed-size elements.
 *
 * The order comes from a qsort-style compare function: the element that
 * compares smallest is on top (for a max-heap, invert the comparison).
 * Elements are copied in and out by value, so they can carry their own
 * payload (a count and an id, say) and the heap needs no context pointer.
 *
 * Top-k: keep a min-heap of k elements; for each new x, if it beats the top,
 * mk_heap_replace_top(h, &x, NULL) - one sift-down instead of a pop and a
 * push. After editing the top in place through mk_heap_peek(),
 * mk_heap_fix_top() restores the order the same way.
 *
 * Invariants: for every i > 0, cmp(parent(i), i) <= 0 over the backing
 * array [0, len). Equal elements come out in no particular order (not stable).
 * The pointer from mk_heap_peek() is valid until the next push, pop,
 * replace_top, fix_top or free. An elem passed in must not point into the
 * heap itself (copy a peeked element out first). The array keeps one spare
 * slot beyond len as scratch for sifting, so no other memory is needed.
 *
 * Ownership: the heap owns copies of its elements (plain bytes; if they own
 * memory, the caller frees it after popping). mk_heap_free() releases the
 * storage and leaves an empty heap with the same element size and compare
 * function, usable again. Out of memory dies (err.h).
 *
 * Thread-safety: none. One thread at a time per heap.
 *
 * Complexity: push, pop, replace_top, fix_top O(log n) compares and element
 * copies; peek, len O(1). Memory: the elements in a doubling array. */
#ifndef MK_HEAP_H
#define MK_HEAP_H

#include <stddef.h>

#include "vec.h"

typedef int (*mk_heap_cmp)(const void *a, const void *b);

typedef struct mk_heap {
    mk_vec v;          /* the elements, in heap order */
    mk_heap_cmp cmp;
} mk_heap;

void mk_heap_init(mk_heap *h, size_t elem_size, mk_heap_cmp cmp);
void mk_heap_free(mk_heap *h);
void mk_heap_clear(mk_heap *h);                 /* len = 0, capacity kept */
void mk_heap_reserve(mk_heap *h, size_t n);     /* room for n elements */

void mk_heap_push(mk_heap *h, const void *elem);
void *mk_heap_peek(const mk_heap *h);           /* the smallest, or NULL if empty */
/* Removes the smallest, copying it to out (if non-NULL); 0 if the heap was empty. */
int mk_heap_pop(mk_heap *h, void *out);
/* Replaces the smallest with elem, copying the old one to out (if non-NULL);
 * returns 1, or pushes elem and returns 0 if the heap was empty. */
int mk_heap_replace_top(mk_heap *h, const void *elem, void *out);
void mk_heap_fix_top(mk_heap *h);               /* after changing *mk_heap_peek() */
size_t mk_heap_len(const mk_heap *h);

/* The elements in heap (not sorted) order, for a final walk or qsort. */
void *mk_heap_data(const mk_heap *h);

#endif
