/* vec — growable array of fixed-size elements.
 *
 * The element size is fixed at mk_vec_init(); elements live contiguously in
 * one malloc'd block that doubles when full, so a push is amortised O(1) and
 * elements can be handed to qsort(), bsearch() or fwrite() as one array.
 *
 * Invariants: len <= cap; data is NULL until the first growth; elements
 * [0, len) are whatever the caller stored (pushed slots are NOT zeroed).
 * Pointers into the vec (from push, get, data) are invalidated by anything
 * that may grow it (push, push_n, append, reserve) and by mk_vec_free().
 *
 * Ownership: the vec owns its block; mk_vec_free() releases it and leaves an
 * empty vec with the same element size that may be used again (never
 * free() the data yourself: a block of 2 MiB or more is a mapping, see
 * mk_xgrow in err.h). Elements are plain bytes: if they own memory, the
 * caller frees it first.
 *
 * Out of memory and size overflow die through mk_xgrow() (see err.h).
 *
 * Thread-safety: none. One thread at a time per vec.
 *
 * Complexity: push/append amortised O(1) per element, get/len/pop O(1),
 * reserve/clear O(1) plus the realloc copy when growing; memory is at most
 * twice the elements held (after growth; clear keeps capacity).
 *
 * MK_VEC_DEFINE(name, T) generates a small type-safe wrapper (a struct
 * holding an mk_vec, plus name_init/push/at/data/len/clear/free) so that
 * code with a known element type never casts void pointers itself. */
#ifndef MK_VEC_H
#define MK_VEC_H

#include <stddef.h>

typedef struct mk_vec {
    void *data;
    size_t len, cap;   /* in elements */
    size_t elem;       /* element size in bytes, > 0 */
} mk_vec;

void mk_vec_init(mk_vec *v, size_t elem_size);
void mk_vec_free(mk_vec *v);

void mk_vec_reserve(mk_vec *v, size_t n);           /* capacity for n elements in total */
void *mk_vec_push(mk_vec *v);                       /* new uninitialised slot at the end */
void *mk_vec_push_n(mk_vec *v, size_t n);           /* n new slots, returns the first */
void *mk_vec_append(mk_vec *v, const void *src, size_t n); /* copy n elements in */
void *mk_vec_pop(mk_vec *v);    /* removes the last; returns it (valid until the next push) or NULL */
void mk_vec_clear(mk_vec *v);   /* len = 0, capacity kept */
void mk_vec_truncate(mk_vec *v, size_t n);   /* keep the first n (n <= len), capacity kept */
/* Heap bytes held. Inline: group tables ask on every row. */
static inline size_t mk_vec_bytes(const mk_vec *v) { return v->cap * v->elem; }

/* Element i, or NULL when i >= len. Inline: it sits in inner loops. */
static inline void *mk_vec_get(const mk_vec *v, size_t i)
{
    return i < v->len ? (char *)v->data + i * v->elem : NULL;
}

static inline size_t mk_vec_len(const mk_vec *v)
{
    return v->len;
}

static inline void *mk_vec_data(const mk_vec *v)
{
    return v->data;
}

/* unused: a wrapper rarely needs all of its functions, and clang warns about
 * unused static inline functions defined outside headers. */
#define MK_VEC_FN_ static inline __attribute__((unused))
#define MK_VEC_DEFINE(name, T)                                                  \
    typedef struct name { mk_vec v; } name;                                    \
    MK_VEC_FN_ void name##_init(name *s) { mk_vec_init(&s->v, sizeof(T)); }    \
    MK_VEC_FN_ void name##_free(name *s) { mk_vec_free(&s->v); }               \
    MK_VEC_FN_ void name##_clear(name *s) { mk_vec_clear(&s->v); }             \
    MK_VEC_FN_ size_t name##_len(const name *s) { return s->v.len; }           \
    MK_VEC_FN_ T *name##_data(const name *s) { return (T *)s->v.data; }        \
    MK_VEC_FN_ T *name##_at(const name *s, size_t i)                           \
    { return (T *)mk_vec_get(&s->v, i); }                                      \
    MK_VEC_FN_ T *name##_push(name *s, T x)                                    \
    { T *p = (T *)mk_vec_push(&s->v); *p = x; return p; }

#endif
