/* pool — thread-safe object pool (see pool.h for the contract).
 *
 * State, all guarded by mu:
 *   ring[max]   idle objects with the time each was released; a ring so that
 *               the top (newest, LIFO reuse) and the bottom (oldest, first to
 *               age out) are both O(1). Entries bot .. bot+nfree-1 (mod max).
 *   in_use      objects handed out, plus ones an acquirer is creating or
 *               health-checking (those count against max like any other).
 *   dying       objects taken out to be destroyed, until destroy returns.
 * so the objects that exist (or are about to) number in_use + nfree + dying,
 * which never exceeds max; in_use + nfree is what `min` protects.
 *
 * Callbacks run with mu released: an object being created, checked or reset
 * is owned by exactly one thread, and its slot stays counted meanwhile. */
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "err.h"
#include "parse.h"
#include "progress.h"

#define FOREVER UINT64_MAX

typedef struct {
    void *obj;
    uint64_t since;      /* mk_now_ns() at release; 0 when idle_ns == 0 */
} slot;

struct mk_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;   /* an idle object appeared or a slot was freed */
    mk_pool_opts o;
    slot *ring;
    size_t bot, nfree, in_use, dying, nwaiters;
    struct mk_pool_stats st;   /* counters; in_use/idle filled in on read */
};

static void lock(mk_pool *p)
{
    pthread_mutex_lock(&p->mu);
}

static void unlock(mk_pool *p)
{
    pthread_mutex_unlock(&p->mu);
}

static size_t ring_at(const mk_pool *p, size_t i)   /* i-th entry from the bottom */
{
    size_t k = p->bot + i;
    return k >= p->o.max ? k - p->o.max : k;
}

static void push_top(mk_pool *p, void *obj, uint64_t now)
{
    slot *s = &p->ring[ring_at(p, p->nfree)];
    s->obj = obj;
    s->since = now;
    p->nfree++;
}

static void *pop_top(mk_pool *p)
{
    p->nfree--;
    return p->ring[ring_at(p, p->nfree)].obj;
}

static void *pop_bottom(mk_pool *p)
{
    void *obj = p->ring[p->bot].obj;
    p->bot = ring_at(p, 1);
    p->nfree--;
    return obj;
}

static void got_one(mk_pool *p)   /* in_use++ with the peak */
{
    p->in_use++;
    if (p->in_use > p->st.peak_in_use)
        p->st.peak_in_use = p->in_use;
}

/* Is the oldest idle object due for destruction at time now? */
static int expired(const mk_pool *p, uint64_t now)
{
    if (!p->o.idle_ns || !p->nfree || p->in_use + p->nfree <= p->o.min)
        return 0;
    uint64_t since = p->ring[p->bot].since;
    return now > since && now - since > p->o.idle_ns;
}

/* Destroys expired objects oldest first, one at a time with mu released
 * around each destroy; returns how many. Called without mu held. */
/* Destroy obj without the lock held (destroy may be slow), counted as
 * dying meanwhile so its slot is not handed out twice. Called and returns
 * with the lock held. */
static void destroy_unlocked(mk_pool *p, void *obj)
{
    p->dying++;
    unlock(p);
    p->o.destroy(obj, p->o.ctx);
    lock(p);
    p->dying--;
    p->st.destroyed++;
}

static size_t trim(mk_pool *p, uint64_t now)
{
    size_t n = 0;
    lock(p);
    while (expired(p, now)) {
        destroy_unlocked(p, pop_bottom(p));
        p->st.shrunk++;
        n++;
        if (p->nwaiters)
            pthread_cond_signal(&p->cv);   /* a slot to create in */
    }
    unlock(p);
    return n;
}

/* deadline: 0 = do not wait, FOREVER = wait as long as it takes, otherwise
 * an absolute mk_now_ns() time. */
static void *acquire(mk_pool *p, uint64_t deadline, uint64_t timeout_ns)
{
    int waited = 0, timed_out = 0;
    lock(p);
    for (;;) {
        if (p->nfree) {
            void *obj = pop_top(p);
            got_one(p);
            p->st.reused++;   /* taken back below if the check fails */
            uint64_t now = 0;
            int due = 0;
            if (p->o.idle_ns && p->nfree) {
                now = mk_now_ns();
                due = expired(p, now);
            }
            unlock(p);
            if (due)
                trim(p, now);
            if (!p->o.check || p->o.check(obj, p->o.ctx))
                return obj;
            /* Broken: destroy it, then start over with its slot free, which
             * this thread is then sure to take (so no waiter is woken). */
            lock(p);
            p->in_use--;
            p->st.reused--;
            destroy_unlocked(p, obj);
            p->st.discarded++;
            continue;
        }
        if (p->in_use + p->nfree + p->dying < p->o.max) {
            got_one(p);
            unlock(p);
            /* The default message, for a create that fails without saying why. */
            mk_err_set("object pool: create callback failed");
            void *obj = p->o.create(p->o.ctx);
            int e = errno;
            lock(p);
            if (obj)
                p->st.created++;
            else {
                p->in_use--;
                if (p->nwaiters)
                    pthread_cond_signal(&p->cv);
            }
            unlock(p);
            errno = e;
            return obj;
        }
        if (deadline == 0 || timed_out) {
            size_t max = p->o.max;
            unlock(p);
            if (deadline == 0) {
                mk_err_set("object pool: all %zu objects are in use", max);
                errno = EAGAIN;
            } else {
                char d[32];
                mk_fmt_duration(d, sizeof d, timeout_ns);
                mk_err_set("object pool: all %zu objects still in use after %s", max, d);
                errno = ETIMEDOUT;
            }
            return NULL;
        }
        if (!waited) {
            waited = 1;
            p->st.waits++;
        }
        p->nwaiters++;
        if (deadline == FOREVER)
            pthread_cond_wait(&p->cv, &p->mu);
        else {
            struct timespec ts = { .tv_sec = (time_t)(deadline / 1000000000u),
                                   .tv_nsec = (long)(deadline % 1000000000u) };
            /* Timed out or not, loop once more: an object that arrived with
             * the timeout is taken rather than lost with its wake-up. */
            if (pthread_cond_timedwait(&p->cv, &p->mu, &ts) == ETIMEDOUT)
                timed_out = 1;
        }
        p->nwaiters--;
    }
}

void *mk_pool_acquire(mk_pool *p)
{
    return acquire(p, FOREVER, 0);
}

void *mk_pool_try_acquire(mk_pool *p)
{
    return acquire(p, 0, 0);
}

void *mk_pool_acquire_timeout(mk_pool *p, uint64_t ns)
{
    if (ns == 0)
        return acquire(p, 0, 0);
    uint64_t now = mk_now_ns();
    return acquire(p, ns >= FOREVER - now ? FOREVER : now + ns, ns);
}

void mk_pool_release(mk_pool *p, void *obj)
{
    if (!obj)
        mk_die("mk_pool_release: NULL object (a failed acquire returns nothing to release)");
    if (p->o.reset)
        p->o.reset(obj, p->o.ctx);
    lock(p);
    if (p->in_use == 0) {
        unlock(p);
        mk_die("mk_pool_release: more releases than acquires (object %p released twice?)", obj);
    }
    p->in_use--;
    uint64_t now = p->o.idle_ns ? mk_now_ns() : 0;
    push_top(p, obj, now);
    if (p->nwaiters)
        pthread_cond_signal(&p->cv);
    int due = expired(p, now);
    unlock(p);
    if (due)
        trim(p, now);
}

size_t mk_pool_trim(mk_pool *p, uint64_t now)
{
    return trim(p, now);
}

void mk_pool_stats(mk_pool *p, struct mk_pool_stats *out)
{
    lock(p);
    *out = p->st;
    out->in_use = p->in_use;
    out->idle = p->nfree;
    unlock(p);
}

mk_pool *mk_pool_new(const mk_pool_opts *opts)
{
    if (!opts->create || !opts->destroy) {
        mk_err_set("object pool: create and destroy callbacks are required");
        return NULL;
    }
    if (opts->max == 0 || opts->min > opts->max) {
        mk_err_set("object pool: need 1 <= max and min <= max (min %zu, max %zu)",
                   opts->min, opts->max);
        return NULL;
    }
    mk_pool *p = mk_xcalloc(1, sizeof *p);
    p->o = *opts;
    p->ring = mk_xcalloc(opts->max, sizeof *p->ring);

    pthread_condattr_t ca;
    int rc = pthread_condattr_init(&ca);
    if (!rc)
        rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);   /* mk_now_ns()'s clock */
    if (!rc)
        rc = pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (!rc && (rc = pthread_mutex_init(&p->mu, NULL)) != 0)
        pthread_cond_destroy(&p->cv);
    if (rc) {
        errno = rc;
        mk_err_errno("object pool: cannot initialise its lock");
        free(p->ring);
        free(p);
        return NULL;
    }

    uint64_t now = opts->idle_ns ? mk_now_ns() : 0;
    for (size_t i = 0; i < opts->min; i++) {
        mk_err_set("object pool: create callback failed");
        void *obj = opts->create(opts->ctx);
        if (!obj) {
            int e = errno;
            while (p->nfree)
                opts->destroy(pop_top(p), opts->ctx);
            pthread_mutex_destroy(&p->mu);
            pthread_cond_destroy(&p->cv);
            free(p->ring);
            free(p);
            errno = e;
            return NULL;
        }
        push_top(p, obj, now);
        p->st.created++;
    }
    return p;
}

void mk_pool_free(mk_pool *p)
{
    if (!p)
        return;
    lock(p);
    size_t busy = p->in_use + p->dying;
    unlock(p);
    if (busy)
        mk_die("mk_pool_free: %zu object%s still in use; release every object before freeing its pool",
               busy, busy == 1 ? "" : "s");
    while (p->nfree)
        p->o.destroy(pop_top(p), p->o.ctx);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->ring);
    free(p);
}
