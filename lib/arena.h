/* arena — bump allocator for many small objects that die together.
 *
 * Memory comes from malloc in big chunks (64 KiB unless mk_arena_init says
 * otherwise); an allocation just advances a pointer inside the current chunk,
 * so there is no per-object malloc, no per-object header and no per-object
 * free. A request too big for a normal chunk gets a chunk of its own, linked
 * behind the current one so the current chunk's free space is not wasted.
 *
 * Invariants: mk_arena_alloc() returns 16-byte aligned memory (enough for any
 * scalar type, see max_align_t); mk_arena_alloc_unaligned() and
 * mk_arena_strdup() return byte-aligned memory and pack strings densely.
 * Returned memory is uninitialised (except strdup's copy and its NUL) and
 * never moves: pointers stay valid until mk_arena_reset() or mk_arena_free().
 * A zero-byte request returns a valid, non-NULL pointer.
 *
 * Ownership: the arena owns every chunk; callers own nothing they got from it
 * and must not free() it. mk_arena_reset() invalidates all pointers but keeps
 * the first chunk for reuse; mk_arena_free() returns everything to malloc and
 * leaves the arena re-initialised (usable again, empty).
 *
 * Out of memory dies through mk_xmalloc() (see err.h).
 *
 * Thread-safety: none. An arena must be used by one thread at a time.
 *
 * Complexity: alloc O(1) (amortised: a malloc per chunk); reset and free are
 * O(number of chunks). The struct is public so it can be embedded by value;
 * treat its fields as private and use the functions. */
#ifndef MK_ARENA_H
#define MK_ARENA_H

#include <stddef.h>

enum { MK_ARENA_DEFAULT_CHUNK = 64 * 1024, MK_ARENA_ALIGN = 16 };

struct mk_arena_chunk;

typedef struct mk_arena {
    struct mk_arena_chunk *head;   /* current chunk; ->next are older ones */
    unsigned char *ptr, *end;      /* free space left in head */
    size_t chunk_size;             /* size of a normal chunk's data area */
    size_t used;                   /* bytes handed out since init/reset */
    size_t reserved;               /* bytes obtained from malloc, headers included */
} mk_arena;

/* chunk_size 0 means MK_ARENA_DEFAULT_CHUNK. Allocates nothing yet. */
void mk_arena_init(mk_arena *a, size_t chunk_size);

/* Chunks allocated from now on get chunk_size bytes (0 = the default): an
 * arena that turns out to hold tens of megabytes takes it in big pieces,
 * which the allocator backs with huge pages (see err.c). */
void mk_arena_set_chunk(mk_arena *a, size_t chunk_size);

void *mk_arena_alloc(mk_arena *a, size_t n);            /* 16-byte aligned */
void *mk_arena_alloc_unaligned(mk_arena *a, size_t n);  /* byte aligned, dense */
void *mk_arena_memdup(mk_arena *a, const void *p, size_t n); /* 16-byte aligned copy */

/* Copy of the len bytes at s (which may contain NUL; s may be NULL when len
 * is 0) followed by a NUL, byte aligned. */
char *mk_arena_strdup(mk_arena *a, const char *s, size_t len);

void mk_arena_reset(mk_arena *a);  /* forget everything, keep the first chunk */
void mk_arena_free(mk_arena *a);   /* release all chunks */

size_t mk_arena_used(const mk_arena *a);      /* bytes requested by callers */
size_t mk_arena_reserved(const mk_arena *a);  /* bytes held from malloc */

#endif
