/* dset — the exact distinct-value set behind `distinct:C`, shared by all
 * worker threads.
 *
 * Entries are byte strings (chunkproc stores aggregate number, group key and
 * value), kept exactly in per-stripe arenas: equal hashes are confirmed with
 * memcmp, so counts are exact. One set serves every thread, so a value seen
 * by several threads is stored once — per-thread sets would multiply the
 * memory of high-cardinality columns by the thread count. 64 stripes, each
 * with its own mutex, keep contention low. A slot is 16 bytes and holds
 * entries up to 11 bytes itself (one cache miss per lookup); longer entries
 * live in 256 KiB chunks. Tables fill to 3/4 and then grow by half (7/8
 * cost 3-5 % more CPU on the benchmark's 2 M distinct values).
 *
 * Thread-safe: cp_dset_add and cp_dset_drain from any thread; iterate with
 * cp_dset_each only when no thread adds. */
#ifndef CP_DSET_H
#define CP_DSET_H

#include <stddef.h>
#include <stdint.h>

typedef struct cp_dset cp_dset;

cp_dset *cp_dset_new(void);
/* A counted set (for top:C:K): every entry has a count, 8 more bytes a slot. */
cp_dset *cp_dset_new_counted(void);
/* 1 if the entry was new, 0 if already present. */
int cp_dset_add(cp_dset *d, const void *p, size_t n);
/* The same, adding c to the entry's count in a counted set. */
int cp_dset_add_count(cp_dset *d, const void *p, size_t n, uint64_t c);
/* Entries gathered by one thread and added together (one lock per stripe).
 * Zero-initialise; entries are copied; add_batch empties it. */
enum { CP_DSET_BATCH = 1024 };
typedef struct {
    uint64_t h;
    uint32_t off, len;
} cp_dset_item;
typedef struct {
    char *buf;
    size_t used, cap, n;
    cp_dset_item items[CP_DSET_BATCH];
    uint32_t order[CP_DSET_BATCH];
} cp_dset_batch;
/* Room for up to n bytes at the batch's end (the batch is added to the set
 * first when full), where the caller builds an entry in place and then
 * commits its actual length (at most n). */
char *cp_dset_batch_room(cp_dset *d, cp_dset_batch *b, size_t n);
void cp_dset_batch_commit(cp_dset_batch *b, size_t n);
void cp_dset_add_batch(cp_dset *d, cp_dset_batch *b);
void cp_dset_batch_free(cp_dset_batch *b);
size_t cp_dset_len(const cp_dset *d);
/* Slots looked at past the entries' home slots, by every add so far: the
 * table's clustering, for tests. */
size_t cp_dset_probes(const cp_dset *d);
/* Resident bytes: slots and the entry bytes written (chunks are large
 * allocations whose untouched pages cost nothing). */
size_t cp_dset_bytes(const cp_dset *d);
/* What the entries need (slots at 3/4 full and their bytes): 0 when empty,
 * however big the slot arrays a drained set keeps. */
size_t cp_dset_content_bytes(const cp_dset *d);
/* Calls fn for every entry; stops early when fn returns non-zero. */
void cp_dset_each(const cp_dset *d, int (*fn)(void *ctx, const char *p, size_t n), void *ctx);
/* The same with each entry's count (1 in an uncounted set). */
typedef int (*cp_count_fn)(void *ctx, const char *p, size_t n, uint64_t count);
void cp_dset_each_count(const cp_dset *d, cp_count_fn fn, void *ctx);
/* Calls fn for every entry, then empties the set and frees the entries'
 * bytes; its slot arrays stay, cleared, for the next fill. Safe while other
 * threads add (they wait until it is done). */
void cp_dset_drain(cp_dset *d, cp_count_fn fn, void *ctx);
/* Frees the slot arrays of an empty set (drained, or never filled). */
void cp_dset_release(cp_dset *d);
void cp_dset_free(cp_dset *d);

#endif
