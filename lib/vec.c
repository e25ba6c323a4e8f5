/* vec — growable array of fixed-size elements (see vec.h). */
#include "vec.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

/* Small vecs are common (per-node adjacency lists); starting at 8 skips the
 * 1-2-4 reallocs without costing much when a vec stays tiny. */
enum { MIN_CAP = 8 };

void mk_vec_init(mk_vec *v, size_t elem_size)
{
    assert(elem_size > 0);
    v->data = NULL;
    v->len = v->cap = 0;
    v->elem = elem_size;
}

void mk_vec_free(mk_vec *v)
{
    mk_xgrow_free(v->data, v->cap * v->elem);
    mk_vec_init(v, v->elem);
}

static void grow_to(mk_vec *v, size_t n)
{
    if (n > SIZE_MAX / v->elem)
        mk_die("out of memory");
    /* Big vecs (edge lists, event logs) grow by mremap, uncopied. */
    v->data = mk_xgrow(v->data, v->cap * v->elem, n * v->elem);
    v->cap = n;
}

/* Doubling (not +k) is what makes push amortised O(1). */
static void grow_for(mk_vec *v, size_t extra)
{
    if (extra > SIZE_MAX - v->len)
        mk_die("out of memory");
    size_t need = v->len + extra;
    if (need <= v->cap)
        return;
    size_t cap = v->cap < SIZE_MAX / 2 ? v->cap * 2 : need;
    if (cap < MIN_CAP)
        cap = MIN_CAP;
    if (cap < need)
        cap = need;
    grow_to(v, cap);
}

void mk_vec_reserve(mk_vec *v, size_t n)
{
    if (n > v->cap)
        grow_to(v, n);
}

void *mk_vec_push(mk_vec *v)
{
    if (v->len == v->cap)
        grow_for(v, 1);
    return (char *)v->data + v->len++ * v->elem;
}

void *mk_vec_push_n(mk_vec *v, size_t n)
{
    grow_for(v, n);
    if (!v->data)   /* n == 0 on a never-grown vec: still hand back a valid pointer */
        grow_for(v, 1);
    void *p = (char *)v->data + v->len * v->elem;
    v->len += n;
    return p;
}

void *mk_vec_append(mk_vec *v, const void *src, size_t n)
{
    void *p = mk_vec_push_n(v, n);
    if (n)
        memcpy(p, src, n * v->elem);
    return p;
}

void *mk_vec_pop(mk_vec *v)
{
    if (!v->len)
        return NULL;
    return (char *)v->data + --v->len * v->elem;
}

void mk_vec_clear(mk_vec *v)
{
    v->len = 0;
}

void mk_vec_truncate(mk_vec *v, size_t n)
{
    if (n > v->len)
        mk_die("internal error: truncating a vec of %zu to %zu elements", v->len, n);
    v->len = n;
}

