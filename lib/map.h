/* map — open-addressing hash maps: byte-string keys (mk_map) and 64-bit
 * integer keys (mk_imap), both mapping to a 64-bit value slot.
 *
 * The value is a uint64_t the caller uses as it likes: a counter, an index
 * into a vec of records, a packed pair. A new entry's value is 0.
 *
 * Design: one flat array of slots, linear probing, power-of-two capacity,
 * load factor at most 0.7 (the array doubles before it would be exceeded).
 * Each slot stores its key's XXH3-64 hash, so a lookup compares hashes before
 * keys and growth re-places slots without rehashing keys. Deletion shifts the
 * following entries of the probe run back (no tombstones), so lookups never
 * slow down after many deletions. A hash of 0 marks an empty slot; a key
 * whose hash is 0 is stored as 1 (it only costs an extra key comparison).
 * The hash is XXH3 with a fixed seed, so iteration order is reproducible
 * from run to run (inputs are local data, not a hostile network).
 *
 * Keys (mk_map): any bytes, NUL included; the empty key is a valid key. The
 * map copies each new key, NUL-terminated, into its own arena, so callers may
 * reuse their buffers at once; there is no malloc per insert. A deleted key's
 * bytes stay in the arena until mk_map_clear() or mk_map_free().
 *
 * Pointer validity: a value pointer from get/put/next is valid until the next
 * put or del on that map (either may move slots), clear or free. Key pointers
 * (from next or mk_map_key_of) stay valid until clear or free.
 *
 * Iteration: an index cursor starting at 0,
 *     for (size_t it = 0; mk_map_next(m, &it, &key, &klen, &val);) ...
 * visits every entry once, in slot order. Do not put or del during an
 * iteration; writing through the value pointer is fine.
 *
 * Ownership: the map owns its slots and key copies; mk_*map_free() releases
 * them and leaves an empty map usable again. Out of memory dies (err.h).
 *
 * Thread-safety: none. Concurrent readers are safe only while no thread
 * writes; anything else needs the caller's lock.
 *
 * Complexity: get/put/del expected O(1) (O(key length) for hashing and one
 * comparison); growth O(n) amortised O(1) per insert; iteration O(capacity).
 * Memory: 32 bytes a slot (mk_map) or 24 (mk_imap) at 35-70% load, plus the
 * keys' bytes and a NUL each in 64 KiB arena chunks. */
#ifndef MK_MAP_H
#define MK_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"

struct mk_map_slot;
struct mk_imap_slot;

typedef struct mk_map {
    struct mk_map_slot *slots;
    size_t cap;        /* 0 or a power of two */
    size_t len;
    size_t grow_at;    /* len that triggers doubling on the next insert */
    mk_arena keys;
} mk_map;

typedef struct mk_imap {
    struct mk_imap_slot *slots;
    size_t cap, len, grow_at;
} mk_imap;

/* The hash the maps use, for callers that shard or sample by key. */
uint64_t mk_map_hash(const void *key, size_t klen);

/* ---- byte-string keys ---- */

/* hint: expected number of keys (0 = allocate on first put). */
void mk_map_init(mk_map *m, size_t hint);
void mk_map_free(mk_map *m);
void mk_map_clear(mk_map *m);   /* remove all, keep capacity and first key chunk */

uint64_t *mk_map_get(const mk_map *m, const void *key, size_t klen);   /* NULL if absent */
/* Finds or inserts key; *inserted (if non-NULL) = 1 when it was new. */
uint64_t *mk_map_put(mk_map *m, const void *key, size_t klen, int *inserted);
int mk_map_del(mk_map *m, const void *key, size_t klen);   /* 1 = removed, 0 = absent */
static inline size_t mk_map_len(const mk_map *m) { return m->len; }
size_t mk_map_bytes(const mk_map *m);   /* heap bytes held: slots + key arena */
/* The most slot bytes held while `more` new keys go in: a doubling holds
 * the old slots and the new at once. For budgets checked every so often. */
size_t mk_map_bytes_ahead(const mk_map *m, size_t more);

/* Next entry at or after *it; returns 0 at the end. Out parameters may be NULL.
 * The key is the map's NUL-terminated copy. */
int mk_map_next(const mk_map *m, size_t *it, const char **key, size_t *klen, uint64_t **val);

/* The map's copy of the key of a value pointer got from get/put/next (and
 * still valid); the copy is NUL-terminated. */
const char *mk_map_key_of(const uint64_t *val, size_t *klen);

/* ---- 64-bit integer keys (every value, 0 included, is a valid key) ---- */

void mk_imap_init(mk_imap *m, size_t hint);
void mk_imap_free(mk_imap *m);
void mk_imap_clear(mk_imap *m);

uint64_t *mk_imap_get(const mk_imap *m, uint64_t key);
uint64_t *mk_imap_put(mk_imap *m, uint64_t key, int *inserted);
int mk_imap_del(mk_imap *m, uint64_t key);
static inline size_t mk_imap_len(const mk_imap *m) { return m->len; }
size_t mk_imap_bytes(const mk_imap *m);
int mk_imap_next(const mk_imap *m, size_t *it, uint64_t *key, uint64_t **val);

#endif
