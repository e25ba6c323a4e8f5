/* arena — bump allocator in big chunks (see arena.h). */
#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

struct mk_arena_chunk {
    struct mk_arena_chunk *next;
    size_t size;                              /* bytes in data[] */
    _Alignas(MK_ARENA_ALIGN) unsigned char data[];
};

/* A request above this share of a normal chunk gets a chunk of its own: it
 * would otherwise waste up to the rest of the current chunk, and a quarter
 * bounds that waste at 25% while keeping normal traffic in normal chunks. */
enum { BIG_DIVISOR = 4 };

void mk_arena_init(mk_arena *a, size_t chunk_size)
{
    a->head = NULL;
    a->ptr = a->end = NULL;
    a->chunk_size = chunk_size ? chunk_size : MK_ARENA_DEFAULT_CHUNK;
    a->used = 0;
    a->reserved = 0;
}

void mk_arena_set_chunk(mk_arena *a, size_t chunk_size)
{
    a->chunk_size = chunk_size ? chunk_size : MK_ARENA_DEFAULT_CHUNK;
}

static struct mk_arena_chunk *chunk_new(mk_arena *a, size_t size)
{
    if (size > SIZE_MAX - sizeof(struct mk_arena_chunk))
        mk_die("out of memory");
    struct mk_arena_chunk *c = mk_xmalloc(sizeof *c + size);
    c->next = NULL;
    c->size = size;
    a->reserved += sizeof *c + size;
    return c;
}

/* Computed from p itself (not a fresh integer cast back to a pointer) so the
 * result keeps p's provenance. */
static unsigned char *align_up(unsigned char *p, size_t align)
{
    return p + ((align - ((uintptr_t)p & (align - 1))) & (align - 1));
}

static void *alloc_slow(mk_arena *a, size_t n, size_t align)
{
    if (n > SIZE_MAX - align)
        mk_die("out of memory");
    /* Chunk data is already MK_ARENA_ALIGN-aligned, so the padding below is
     * zero in practice; reserving it keeps the code right for any align. */
    size_t need = n + align - 1;
    struct mk_arena_chunk *c;

    if (a->head && need > a->chunk_size / BIG_DIVISOR) {
        c = chunk_new(a, need);
        c->next = a->head->next;   /* behind head: head keeps its free space */
        a->head->next = c;
        a->used += n;
        return align_up(c->data, align);
    }
    c = chunk_new(a, need > a->chunk_size ? need : a->chunk_size);
    c->next = a->head;
    a->head = c;
    unsigned char *p = align_up(c->data, align);
    a->ptr = p + n;
    a->end = c->data + c->size;
    a->used += n;
    return p;
}

static inline void *alloc_in(mk_arena *a, size_t n, size_t align)
{
    if (a->ptr) {
        size_t avail = (size_t)(a->end - a->ptr);
        size_t pad = (size_t)(-(uintptr_t)a->ptr) & (align - 1);
        if (pad <= avail && n <= avail - pad) {
            unsigned char *p = a->ptr + pad;
            a->ptr = p + n;
            a->used += n;
            return p;
        }
    }
    return alloc_slow(a, n, align);
}

void *mk_arena_alloc(mk_arena *a, size_t n)
{
    return alloc_in(a, n, MK_ARENA_ALIGN);
}

void *mk_arena_alloc_unaligned(mk_arena *a, size_t n)
{
    return alloc_in(a, n, 1);
}

void *mk_arena_memdup(mk_arena *a, const void *p, size_t n)
{
    void *q = alloc_in(a, n, MK_ARENA_ALIGN);
    if (n)
        memcpy(q, p, n);
    return q;
}

char *mk_arena_strdup(mk_arena *a, const char *s, size_t len)
{
    if (len == SIZE_MAX)
        mk_die("out of memory");
    char *q = alloc_in(a, len + 1, 1);
    if (len)   /* memcpy's arguments must be valid even for 0 bytes */
        memcpy(q, s, len);
    q[len] = 0;
    return q;
}

void mk_arena_reset(mk_arena *a)
{
    /* The oldest chunk is the list's tail: big chunks are linked behind the
     * head, never behind the first chunk, so the tail is the first chunk. */
    struct mk_arena_chunk *c = a->head, *keep = NULL;
    while (c) {
        struct mk_arena_chunk *next = c->next;
        if (next)
            free(c);
        else
            keep = c;
        c = next;
    }
    a->head = keep;
    a->used = 0;
    if (keep) {
        a->ptr = keep->data;
        a->end = keep->data + keep->size;
        a->reserved = sizeof *keep + keep->size;
    }
}

void mk_arena_free(mk_arena *a)
{
    struct mk_arena_chunk *c = a->head;
    while (c) {
        struct mk_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    mk_arena_init(a, a->chunk_size);
}

size_t mk_arena_used(const mk_arena *a)
{
    return a->used;
}

size_t mk_arena_reserved(const mk_arena *a)
{
    return a->reserved;
}
