/* heap — binary heap of fixed-size elements (see heap.h). */
#include "heap.h"

#include <string.h>

#define AT(h, i) ((char *)(h)->v.data + (i) * (h)->v.elem)

enum { MIN_CAP = 8 };

void mk_heap_init(mk_heap *h, size_t elem_size, mk_heap_cmp cmp)
{
    mk_vec_init(&h->v, elem_size);
    h->cmp = cmp;
}

void mk_heap_free(mk_heap *h)
{
    mk_vec_free(&h->v);
}

void mk_heap_clear(mk_heap *h)
{
    mk_vec_clear(&h->v);
}

/* Capacity for need elements, doubling so pushes stay amortised O(1). */
static void room(mk_heap *h, size_t need)
{
    if (need <= h->v.cap)
        return;
    size_t cap = h->v.cap < MIN_CAP ? MIN_CAP : h->v.cap;
    while (cap < need && cap <= (size_t)-1 / 2)
        cap *= 2;
    mk_vec_reserve(&h->v, cap < need ? need : cap);
}

void mk_heap_reserve(mk_heap *h, size_t n)
{
    room(h, n + 1 > n ? n + 1 : n);   /* + the scratch slot */
}

/* The slot just past the elements: sifts below only write to [0, len), so
 * an element staged here survives the sift that places it. */
static char *scratch(mk_heap *h)
{
    room(h, h->v.len + 1);
    return AT(h, h->v.len);
}

/* Both sifts move a hole instead of swapping, so each level costs one
 * element copy instead of three. */
static void sift_up(mk_heap *h, size_t i, const void *x)
{
    size_t es = h->v.elem;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->cmp(x, AT(h, parent)) >= 0)
            break;
        memcpy(AT(h, i), AT(h, parent), es);
        i = parent;
    }
    memcpy(AT(h, i), x, es);
}

static void sift_down(mk_heap *h, size_t i, const void *x)
{
    size_t es = h->v.elem, n = h->v.len;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && h->cmp(AT(h, c + 1), AT(h, c)) < 0)
            c++;
        if (h->cmp(AT(h, c), x) >= 0)
            break;
        memcpy(AT(h, i), AT(h, c), es);
        i = c;
    }
    memcpy(AT(h, i), x, es);
}

void mk_heap_push(mk_heap *h, const void *elem)
{
    room(h, h->v.len + 2);   /* the new element + scratch */
    size_t i = h->v.len++;
    char *x = AT(h, h->v.len);
    memcpy(x, elem, h->v.elem);
    sift_up(h, i, x);
}

void *mk_heap_peek(const mk_heap *h)
{
    return h->v.len ? h->v.data : NULL;
}

int mk_heap_pop(mk_heap *h, void *out)
{
    if (!h->v.len)
        return 0;
    if (out)
        memcpy(out, h->v.data, h->v.elem);
    /* The popped-off last slot is now past len: it is its own scratch. */
    void *last = mk_vec_pop(&h->v);
    if (h->v.len)
        sift_down(h, 0, last);
    return 1;
}

int mk_heap_replace_top(mk_heap *h, const void *elem, void *out)
{
    if (!h->v.len) {
        mk_heap_push(h, elem);
        return 0;
    }
    char *x = scratch(h);
    memcpy(x, elem, h->v.elem);   /* before writing out: they may overlap */
    if (out)
        memcpy(out, h->v.data, h->v.elem);
    sift_down(h, 0, x);
    return 1;
}

void mk_heap_fix_top(mk_heap *h)
{
    if (h->v.len < 2)
        return;
    char *x = scratch(h);
    memcpy(x, h->v.data, h->v.elem);
    sift_down(h, 0, x);
}

size_t mk_heap_len(const mk_heap *h)
{
    return h->v.len;
}

void *mk_heap_data(const mk_heap *h)
{
    return h->v.data;
}
