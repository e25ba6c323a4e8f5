/* pool — a thread-safe pool of reusable objects (chunkproc's block buffers)
 * that grows when every object is in use, up to a hard maximum, shrinks back
 * to a minimum when objects sit idle, and health-checks what it hands out.
 *
 * The caller supplies callbacks in mk_pool_opts: create(ctx) makes an object
 * (NULL = failure, ideally after mk_err_set); destroy(obj, ctx) frees one;
 * the optional check(obj, ctx) returns 1 if an object taken from the free
 * list is healthy, 0 if broken; the optional reset(obj, ctx) is called on
 * release, to make the object ready for its next user.
 *
 * Semantics, exactly:
 * - mk_pool_new creates `min` objects eagerly; if one fails it destroys the
 *   others and returns NULL with mk_err set. It also rejects missing
 *   create/destroy, max == 0 and min > max.
 * - Acquire takes the most recently released idle object (LIFO, so the
 *   cache-warm ones are reused and the cold ones at the bottom age out). If
 *   no object is idle and fewer than `max` exist, it creates one. Otherwise
 *   mk_pool_acquire blocks until an object is released or destroyed;
 *   mk_pool_try_acquire returns NULL with errno = EAGAIN at once, and
 *   mk_pool_acquire_timeout(p, ns) waits at most ns nanoseconds and then
 *   returns NULL with errno = ETIMEDOUT (ns == 0 behaves as try_acquire;
 *   an ns too large to add to the clock waits like mk_pool_acquire).
 *   Each of these also returns NULL if create fails; mk_err holds the
 *   callback's message (or a generic one) and errno is whatever create left.
 *   Every NULL comes with an mk_err message.
 * - check runs on every object taken from the free list (never on a freshly
 *   created one), in the acquiring thread. A broken object is destroyed,
 *   counted as `discarded`, and the acquire goes on with the next idle
 *   object, else creates a replacement in the slot the broken one freed.
 * - reset runs in the releasing thread before the object rejoins the free
 *   list.
 * - Idle shrink (idle_ns > 0): an object that has been in the free list for
 *   more than idle_ns is destroyed (counted as `shrunk`), oldest first, as
 *   long as more than `min` objects exist. Release and acquire check this
 *   (at most one clock read each; no background thread); mk_pool_trim(p, now) applies
 *   the same rule with the caller's clock value (mk_now_ns() scale), so tests
 *   and timers can trim explicitly. idle_ns == 0 disables shrinking.
 * - Counters (mk_pool_stats): created = successful create calls (including
 *   the min eager ones); destroyed = destroy calls (discarded + shrunk, and
 *   the idle objects mk_pool_free destroys); reused = acquires served from
 *   the free list by an object that passed check; discarded; shrunk;
 *   waits = acquires that had to block at least once (a try_acquire never
 *   does); in_use = objects acquired and not yet released; idle = objects in
 *   the free list; peak_in_use = the largest in_use seen. When no call is in
 *   flight: created - destroyed == in_use + idle, and the number of
 *   successful acquires == reused + created - min.
 *
 * Invariants: objects that exist, counting ones being created or destroyed,
 * never exceed max; the idle objects sit in a ring of max slots allocated at
 * mk_pool_new, newest on top, oldest at the bottom, so acquire and release
 * never allocate. Callbacks are never called with the pool's lock held:
 * create and destroy of a few MiB do not stall other threads, and callbacks
 * may run concurrently in different threads, so they must be thread-safe
 * with respect to ctx.
 *
 * Ownership: the pool owns its idle objects; an acquired object belongs to
 * the caller until it passes it to mk_pool_release (exactly once, to the pool
 * it came from). mk_pool_free destroys the idle objects and the pool. It is a
 * usage error to free a pool while objects are in use, or to release more
 * often than acquired: both are detected and die with a message (exit 2),
 * as does out of memory (err.h). Releasing a foreign object is not detected.
 *
 * Thread-safety: every function except mk_pool_new and mk_pool_free may be
 * called from any thread at any time; one mutex guards the pool and a
 * condition variable wakes one blocked acquirer per released (or destroyed)
 * object. A release happens-before the acquire that gets the same object.
 *
 * Complexity: acquire, release O(1) plus the callbacks; trim O(objects
 * destroyed). Memory: 16 bytes per slot of max, plus the objects. */
#ifndef MK_POOL_H
#define MK_POOL_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    void *(*create)(void *ctx);                  /* required; NULL = failure */
    void (*destroy)(void *obj, void *ctx);       /* required */
    int (*check)(void *obj, void *ctx);          /* optional; 1 healthy, 0 broken */
    void (*reset)(void *obj, void *ctx);         /* optional; on release */
    size_t min;                                  /* created eagerly, never shrunk below */
    size_t max;                                  /* hard limit, >= 1 */
    uint64_t idle_ns;                            /* idle longer than this: destroyed; 0 = never */
    void *ctx;                                   /* passed to every callback */
} mk_pool_opts;

/* The counters; a struct tag, like struct stat, so the function can share its name. */
struct mk_pool_stats {
    uint64_t created, destroyed, reused, discarded, shrunk, waits;
    uint64_t in_use, idle, peak_in_use;
};

typedef struct mk_pool mk_pool;

mk_pool *mk_pool_new(const mk_pool_opts *opts);  /* NULL + mk_err on bad opts or create failure */
void mk_pool_free(mk_pool *p);                   /* dies if objects are in use; NULL is a no-op */

void *mk_pool_acquire(mk_pool *p);               /* blocks while max are in use */
void *mk_pool_try_acquire(mk_pool *p);           /* never blocks; NULL + EAGAIN if none */
void *mk_pool_acquire_timeout(mk_pool *p, uint64_t ns);  /* NULL + ETIMEDOUT after ns */
void mk_pool_release(mk_pool *p, void *obj);

/* Destroys the objects idle longer than idle_ns at time now, down to min;
 * returns how many. */
size_t mk_pool_trim(mk_pool *p, uint64_t now);

void mk_pool_stats(mk_pool *p, struct mk_pool_stats *out);

#endif
