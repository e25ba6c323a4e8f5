/* intern — string interning: each distinct byte string gets a dense id.
 *
 * The first string seen gets id 0, the next new one id 1, and so on, so ids
 * index plain arrays (per-node adjacency, per-site counters) and compare with
 * ==. The reverse lookup, id -> bytes, is an array access.
 *
 * Invariants: ids are 0 .. mk_intern_count()-1 with no gaps and never change;
 * an id's string is stored once, NUL-terminated (it may also contain NUL
 * bytes, hence the length), and its pointer stays valid until
 * mk_intern_free(). There is no removal. Ids are 32-bit, to halve the
 * arrays that hold them; UINT32_MAX is never an id (callers may use it as
 * "none"), and a table needing it dies with a message. Strings are at most
 * 4 GiB - 1 bytes.
 *
 * Design: tuned for tables of millions of short strings (graph node names,
 * call sites). A slot is 16 bytes (32 bits of the hash, the id, a pointer to
 * the string), at most 70 % full; a string is stored once in an arena behind
 * its 32-bit length. A hit costs two cache misses (slot, string); callers
 * with many lookups at hand hash them first and mk_intern_prefetch() the
 * slots, so the misses of a batch overlap. The table doubles in place (a
 * table of 2 MiB or more is a mapping of its own, grown by mremap), so a
 * growth never holds an old and a new table at once.
 *
 * Ownership: the table owns the strings and its arrays; callers copy nothing
 * and free nothing. mk_intern_free() releases it all and leaves an empty,
 * reusable table. Out of memory dies (err.h).
 *
 * Thread-safety: none. One thread at a time per table.
 *
 * Complexity: mk_intern_id and mk_intern_find expected O(length) (one hash,
 * one comparison); mk_intern_str O(1). Memory per distinct string: its bytes
 * + 5, a 16-byte slot at 35-70 % load and an 8-byte pointer. */
#ifndef MK_INTERN_H
#define MK_INTERN_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"

struct mk_intern_slot;

typedef struct mk_intern {
    struct mk_intern_slot *slots;
    size_t cap;          /* 0 or a power of two */
    size_t grow_at;
    const char **strs;   /* id -> string (its length is the 4 bytes before) */
    size_t len, strs_cap;
    int sealed;
    mk_arena bytes;
} mk_intern;

/* hint: expected number of distinct strings (0 is fine). */
void mk_intern_init(mk_intern *in, size_t hint);
void mk_intern_free(mk_intern *in);

/* The id of s[0..len), assigning the next id if it is new. s may be NULL
 * when len is 0 (the empty string is an ordinary string). */
uint32_t mk_intern_id(mk_intern *in, const void *s, size_t len);
/* Lookup only: 1 and *id if known, else 0 (nothing is added). */
int mk_intern_find(const mk_intern *in, const void *s, size_t len, uint32_t *id);
/* The string of id, or NULL if id >= count; *len (if non-NULL) gets its length. */
const char *mk_intern_str(const mk_intern *in, uint32_t id, size_t *len);
size_t mk_intern_count(const mk_intern *in);
/* For walks over ids in random order: ask for id's string pointer now,
 * read it with mk_intern_str() a few ids later. */
void mk_intern_prefetch_id(const mk_intern *in, uint32_t id);
size_t mk_intern_bytes(const mk_intern *in);   /* heap bytes held */

/* The strings are all that is needed from now on: free the lookup table
 * (16 bytes a slot). mk_intern_str keeps working; mk_intern_id and
 * mk_intern_find must not be called again (they die). */
void mk_intern_seal(mk_intern *in);
/* The same, handing the lookup table's memory over as scratch instead of
 * freeing it: its pages are resident already, and fresh ones cost a fault
 * and a clearing each (on a virtual machine, about as much as the work
 * done in them). *bytes gets its size (0 and NULL for a small table, which
 * is freed); the contents are garbage. Release it with
 * mk_intern_scratch_free(p, bytes). */
void *mk_intern_seal_keep(mk_intern *in, size_t *bytes);
void mk_intern_scratch_free(void *p, size_t bytes);

/* Batched lookups: hash each string, prefetch its slot, then (for tables
 * of long strings) its string, then look them up with the hash (which
 * must be mk_intern_hash of the same bytes). */
uint64_t mk_intern_hash(const void *s, size_t len);
static inline void mk_intern_prefetch(const mk_intern *in, uint64_t hash);
/* Second stage, once the slot has arrived: prefetch the string the home
 * slot points to when its tag matches (a hit then compares in cache). */
void mk_intern_prefetch_str(const mk_intern *in, uint64_t hash);
uint32_t mk_intern_id_hashed(mk_intern *in, const void *s, size_t len, uint64_t hash);
int mk_intern_find_hashed(const mk_intern *in, const void *s, size_t len, uint64_t hash, uint32_t *id);

/* Inline: it is called once a name in batched loops. A slot is 16 bytes;
 * a tag's home slot is its top bits scaled to the table (intern.c). */
enum { MK_INTERN_SLOT_BYTES = 16 };

static inline void mk_intern_prefetch(const mk_intern *in, uint64_t hash)
{
    if (in->cap)
        __builtin_prefetch((const char *)in->slots +
                           MK_INTERN_SLOT_BYTES * (size_t)(((hash >> 32) * (uint64_t)in->cap) >> 32));
}

#endif
