/* cache — the cache policies, one implementation each: LRU, FIFO, LFU,
 * CLOCK, SIEVE, S3-FIFO, ARC, 2Q, W-TinyLFU and Belady (offline optimal).
 *
 * A cache holds objects named by 64-bit keys, each with a size, within a
 * capacity in bytes (or in objects, with count mode, where every size is 1).
 * The cache does not hold values: it decides what would be cached. That is
 * what cachesim(1) simulates, and what a program needs to put a policy in
 * front of its own storage (mk_cache_get() says hit or miss and names the
 * keys it evicted through the evict callback).
 *
 * Semantics (shared by every policy, and chosen to match libCacheSim so
 * figures compare; see cachesim(1)):
 *   - get is a read-through lookup: a hit when the key is cached (its size
 *     is then ignored), else a miss that inserts it. An object bigger than
 *     the capacity is never admitted. Callers skip size-0 requests.
 *   - set writes: the object is (re)inserted with its new size, counted
 *     apart from gets. del removes it (a delete, not an eviction).
 *   - An entry whose expiry time has passed is removed when it is next
 *     looked at, and counted as an expiration, never as an eviction.
 *   - drop says the last reference outside the cache went away. With weak
 *     entries the object disappears (a weak drop); otherwise the cache keeps
 *     it alive, and the statistics show what only the cache holds.
 *   - Cached bytes never exceed the capacity.
 * Ghost entries (S3-FIFO, ARC, 2Q) remember keys without their objects and
 * are not counted as cached.
 *
 * Keys: with dense set, keys are below 2^32 (as handed out by an interning
 * decoder) and the key -> entry index is a compact table of 8-byte slots,
 * the fast path of the simulator; otherwise any 64-bit key, through a
 * general hash map.
 *
 * Memory: 32 bytes per cached or ghost entry plus the index (11 to 21
 * bytes per entry with dense keys, about 34 in the hash map), plus for
 * W-TinyLFU the frequency sketch (half a byte per counter, four rows sized
 * by the expected number of objects) and for Belady 12 bytes per entry.
 * No allocation per request once the pools have grown to the working set.
 *
 * Ownership and thread-safety: a cache owns everything it holds; one thread
 * at a time per cache. mk_cache_sync wraps one in a mutex for callers that
 * share it between threads. Allocation failure dies (err.h). */
#ifndef MK_CACHE_H
#define MK_CACHE_H
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    MK_CACHE_LRU,
    MK_CACHE_FIFO,
    MK_CACHE_LFU,
    MK_CACHE_CLOCK,
    MK_CACHE_SIEVE,
    MK_CACHE_S3FIFO,
    MK_CACHE_ARC,
    MK_CACHE_2Q,
    MK_CACHE_TINYLFU,
    MK_CACHE_BELADY,
    MK_CACHE_NPOLICIES
} mk_cache_policy;

/* "lru", "fifo", ... as users type them. */
extern const char *const mk_cache_policy_names[MK_CACHE_NPOLICIES];
/* Case-insensitive; also the spellings libCacheSim uses ("S3FIFO", "twoq",
 * "wtinylfu", "clock"). -1 if unknown. */
int mk_cache_policy_parse(const char *s, size_t n, mk_cache_policy *out);

/* A time that never comes: no expiry, or a next access that never happens. */
#define MK_CACHE_NEVER INT64_MAX

typedef struct {
    mk_cache_policy policy;
    uint64_t capacity;         /* bytes, or objects in count mode; > 0 */
    int count;                 /* count mode: every object has size 1 */
    int weak;                  /* drop removes the entry */
    int dense;                 /* keys are below 2^32 and dense */
    double small_ratio;        /* S3-FIFO small queue, 2Q Ain: share of capacity (0.10; 2Q 0.25) */
    double ghost_ratio;        /* S3-FIFO ghost, 2Q Aout: share of capacity (0.90; 2Q 0.50) */
    double window_ratio;       /* W-TinyLFU window: share of capacity (0.01) */
    double protected_ratio;    /* W-TinyLFU main SLRU protected segment (0.80) */
    int move_threshold;        /* S3-FIFO: accesses in small before moving to main (1) */
    int clock_bits;            /* CLOCK: bits of the access counter (1) */
    uint64_t expected_objects; /* W-TinyLFU: sizes the frequency sketch (0 = from capacity) */
    /* W-TinyLFU's sketch counts this stable name of a key (NULL: the key
     * itself), so that a saved sketch still fits when dense keys are
     * handed out in another order next run. */
    uint64_t (*key_name)(void *ctx, uint64_t key);
    void *key_name_ctx;
} mk_cache_opts;

/* The defaults above, for policy and capacity. */
void mk_cache_defaults(mk_cache_opts *o, mk_cache_policy p, uint64_t capacity);

typedef struct {
    uint64_t requests, hits, misses;     /* gets */
    uint64_t bytes, miss_bytes;          /* bytes requested and missed by gets */
    uint64_t evictions, evicted_bytes;
    uint64_t expirations, weak_drops;
    uint64_t sets, deletes;
    uint64_t rejected;                   /* misses not admitted (bigger than the cache) */
    uint64_t objects, used;              /* cached now: objects, bytes */
    uint64_t retained, retained_bytes;   /* cached now, no reference outside (not weak) */
    uint64_t retained_hits;              /* hits a weak cache would have missed */
} mk_cache_stats;

typedef struct mk_cache mk_cache;

/* Called with each key the cache evicts (not for expirations, deletes or
 * weak drops); for a program that keeps the objects itself. */
typedef void (*mk_cache_evict_fn)(void *ctx, uint64_t key, uint32_t size);

/* NULL with mk_err set when the options are invalid (capacity 0, ratios out
 * of range). */
mk_cache *mk_cache_new(const mk_cache_opts *o);
void mk_cache_free(mk_cache *c);
void mk_cache_on_evict(mk_cache *c, mk_cache_evict_fn fn, void *ctx);
const mk_cache_opts *mk_cache_options(const mk_cache *c);

/* A get at time `now` (any unit, the same as expire). expire is the
 * absolute time the entry expires if this get inserts it, or MK_CACHE_NEVER;
 * next is the time of this key's next request (Belady), or MK_CACHE_NEVER.
 * Returns 1 on a hit, 0 on a miss. */
int mk_cache_get(mk_cache *c, uint64_t key, uint32_t size, int64_t now, int64_t expire, int64_t next);
void mk_cache_set(mk_cache *c, uint64_t key, uint32_t size, int64_t now, int64_t expire, int64_t next);
void mk_cache_del(mk_cache *c, uint64_t key);
void mk_cache_drop(mk_cache *c, uint64_t key);
/* A hint that key comes soon: with dense keys, call it a few requests
 * ahead (stage 0 about 16, stage 1 about 8) so that its index slot, then
 * its entry, are in cache when the request comes (prefetching the
 * neighbours a hit relinks as well was measured slower). No effect
 * otherwise. */
void mk_cache_prefetch(const mk_cache *c, uint64_t key, int stage);
/* A request, for mk_cache_run(). */
enum { MK_CACHE_GET, MK_CACHE_SET, MK_CACHE_DEL, MK_CACHE_DROP };
typedef struct {
    uint64_t key;
    uint32_t size;
    uint8_t op;                /* MK_CACHE_GET ... */
    int64_t now, expire, next; /* as for mk_cache_get() */
} mk_cache_req;

/* Applies r[0..n) in order, as the calls above would, with the prefetching
 * a replay wants; stops after `gets` gets when gets > 0. Returns the
 * number of requests applied. */
size_t mk_cache_run(mk_cache *c, const mk_cache_req *r, size_t n, uint64_t gets);

/* Whether key is cached (not a ghost, not expired at now); no side effect. */
int mk_cache_contains(const mk_cache *c, uint64_t key, int64_t now);

void mk_cache_stats_get(const mk_cache *c, mk_cache_stats *st);
/* Replaces the statistics (a restored warm start). objects, used and the
 * retained figures are the cache's own and are not taken from st. */
void mk_cache_stats_set(mk_cache *c, const mk_cache_stats *st);
size_t mk_cache_bytes(const mk_cache *c);   /* heap bytes held */

/* ---- contents, for saving and restoring a cache's state ---- */

/* One entry as saved: its key, size, expiry, and the policy's state for it
 * (queue, counter, flags) opaque to the caller. */
typedef struct {
    uint64_t key;
    int64_t expire;
    uint32_t size;
    uint32_t freq;
    uint8_t queue, flags;
} mk_cache_entry;

/* Every entry, ghosts included, in an order that mk_cache_restore() turns
 * back into the same cache: queue by queue, oldest first. Returns the count
 * written to fn. */
size_t mk_cache_walk(const mk_cache *c, void (*fn)(void *ctx, const mk_cache_entry *e), void *ctx);
/* Appends one walked entry to an empty cache built with the same options
 * (in walk order); -1 with mk_err when it cannot belong there. */
int mk_cache_restore(mk_cache *c, const mk_cache_entry *e);
/* Policy state that is not per entry (SIEVE's hand, ARC's target, the
 * W-TinyLFU sketch) as bytes: mk_cache_state_size() of them written by
 * mk_cache_state_write(), read back after the last restore. */
size_t mk_cache_state_size(const mk_cache *c);
void mk_cache_state_write(const mk_cache *c, void *buf);
int mk_cache_state_read(mk_cache *c, const void *buf, size_t n);   /* -1 + mk_err */

/* ---- sharing one cache between threads ---- */

typedef struct {
    mk_cache *c;
    pthread_mutex_t mu;
} mk_cache_sync;

int mk_cache_sync_init(mk_cache_sync *s, const mk_cache_opts *o);   /* -1 + mk_err */
void mk_cache_sync_free(mk_cache_sync *s);
int mk_cache_sync_get(mk_cache_sync *s, uint64_t key, uint32_t size, int64_t now, int64_t expire);
void mk_cache_sync_set(mk_cache_sync *s, uint64_t key, uint32_t size, int64_t now, int64_t expire);
void mk_cache_sync_del(mk_cache_sync *s, uint64_t key);
void mk_cache_sync_drop(mk_cache_sync *s, uint64_t key);
void mk_cache_sync_stats(mk_cache_sync *s, mk_cache_stats *st);

#endif
