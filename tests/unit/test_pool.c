/* Unit tests for lib/pool: option checks, growth and LIFO reuse, eager min,
 * the max limit (blocking acquire woken by another thread, try_acquire,
 * timeouts), health checks replacing broken objects, reset on release,
 * create failures, idle shrink (by mk_pool_trim with a made-up "now", and by
 * acquire/release with a 50 ms idle time), exact counters, the usage errors
 * that die, and a stress test: 8 threads x 100k acquire/release on max 4
 * objects, each object carrying an atomic owner that catches double hand-out. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "pool.h"
#include "progress.h"
#include "unit.h"

/* ---- a test object and its callbacks --------------------------------------- */

#define MAGIC 0x706f6f6c6f626aull

typedef struct {
    uint64_t magic;
    atomic_int owner;      /* 0 = nobody; else the holding thread's number */
    int id;                /* creation order, from 1 */
    int broken;            /* check says 0 when set */
    int resets;
    uint64_t payload[4];   /* touched by holders, so races show under TSan */
} obj;

typedef struct {
    atomic_int created, destroyed, destroyed_broken, checks, resets;
    atomic_int live, max_live;   /* objects existing right now, and the most seen */
    atomic_int fail;             /* create fails while > 0 (counts down) */
    atomic_int fail_silent;      /* ... without setting mk_err */
    atomic_int fail_at;          /* the create after fail_at - 1 successes fails */
    atomic_int slow_fail;        /* next create sleeps 30 ms, then fails */
    atomic_int in_create;
} tctx;

static void *t_create(void *c)
{
    tctx *t = c;
    if (atomic_exchange(&t->slow_fail, 0)) {
        atomic_store(&t->in_create, 1);
        usleep(30000);
        mk_err_set("t_create: slow failure");
        return NULL;
    }
    int fail_at = atomic_load(&t->fail_at);
    if (atomic_load(&t->fail) > 0 || (fail_at && atomic_load(&t->created) == fail_at - 1)) {
        if (atomic_load(&t->fail) > 0)
            atomic_fetch_sub(&t->fail, 1);
        if (!atomic_load(&t->fail_silent))
            mk_err_set("t_create: no more objects");
        errno = ENOMEM;
        return NULL;
    }
    obj *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->magic = MAGIC;
    o->id = atomic_fetch_add(&t->created, 1) + 1;
    int n = atomic_fetch_add(&t->live, 1) + 1;
    int m = atomic_load(&t->max_live);
    while (n > m && !atomic_compare_exchange_weak(&t->max_live, &m, n))
        ;
    return o;
}

static void t_destroy(void *p, void *c)
{
    tctx *t = c;
    obj *o = p;
    if (o->magic != MAGIC || atomic_load(&o->owner) != 0)
        abort();   /* destroying a foreign, freed or handed-out object */
    if (o->broken)
        atomic_fetch_add(&t->destroyed_broken, 1);
    o->magic = 0;
    atomic_fetch_sub(&t->live, 1);
    atomic_fetch_add(&t->destroyed, 1);
    free(o);
}

static int t_check(void *p, void *c)
{
    atomic_fetch_add(&((tctx *)c)->checks, 1);
    return !((obj *)p)->broken;
}

static void t_reset(void *p, void *c)
{
    ((obj *)p)->resets++;
    atomic_fetch_add(&((tctx *)c)->resets, 1);
}

static mk_pool_opts opts(tctx *t, size_t min, size_t max, uint64_t idle_ns)
{
    return (mk_pool_opts){ .create = t_create, .destroy = t_destroy, .check = t_check,
                           .reset = t_reset, .min = min, .max = max, .idle_ns = idle_ns, .ctx = t };
}

static struct mk_pool_stats stats(mk_pool *p)
{
    struct mk_pool_stats s;
    mk_pool_stats(p, &s);
    return s;
}

/* Every counter at once, so a failure names the one that is off. */
#define CHECK_STATS(p, cr, de, ru, di, sh, wa, iu, id, pk) do { \
    struct mk_pool_stats s_ = stats(p); \
    CHECK_U64(s_.created, cr); CHECK_U64(s_.destroyed, de); CHECK_U64(s_.reused, ru); \
    CHECK_U64(s_.discarded, di); CHECK_U64(s_.shrunk, sh); CHECK_U64(s_.waits, wa); \
    CHECK_U64(s_.in_use, iu); CHECK_U64(s_.idle, id); CHECK_U64(s_.peak_in_use, pk); } while (0)

#define HOUR (3600ull * 1000000000ull)
#define MS   1000000ull

/* ---- single-thread behaviour ----------------------------------------------- */

static void test_bad_opts(void)
{
    tctx t = { 0 };
    mk_pool_opts o = opts(&t, 0, 4, 0);
    o.create = NULL;
    CHECK(mk_pool_new(&o) == NULL);
    CHECK_CONTAINS(mk_err_msg(), "create and destroy");
    o = opts(&t, 0, 0, 0);
    CHECK(mk_pool_new(&o) == NULL);
    CHECK_CONTAINS(mk_err_msg(), "max");
    o = opts(&t, 5, 4, 0);
    CHECK(mk_pool_new(&o) == NULL);
    CHECK_CONTAINS(mk_err_msg(), "min 5, max 4");
    CHECK_INT(t.created, 0);
    mk_pool_free(NULL);   /* a no-op */
}

static void test_grow_reuse_lifo(void)
{
    tctx t = { 0 };
    mk_pool_opts o = opts(&t, 0, 4, 0);
    mk_pool *p = mk_pool_new(&o);
    CHECK_STATS(p, 0, 0, 0, 0, 0, 0, 0, 0, 0);

    obj *a = mk_pool_acquire(p), *b = mk_pool_acquire(p), *c = mk_pool_acquire(p);
    CHECK(a && b && c);
    CHECK_INT(a->id, 1);
    CHECK_INT(b->id, 2);
    CHECK_INT(c->id, 3);
    CHECK_STATS(p, 3, 0, 0, 0, 0, 0, 3, 0, 3);
    CHECK_INT(t.checks, 0);   /* fresh objects are not checked */

    mk_pool_release(p, a);
    mk_pool_release(p, b);
    mk_pool_release(p, c);
    CHECK_STATS(p, 3, 0, 0, 0, 0, 0, 0, 3, 3);
    CHECK_INT(t.resets, 3);

    /* Last released, first reused. */
    CHECK(mk_pool_acquire(p) == c);
    CHECK(mk_pool_acquire(p) == b);
    mk_pool_release(p, b);
    CHECK(mk_pool_acquire(p) == b);
    CHECK(mk_pool_acquire(p) == a);
    CHECK_STATS(p, 3, 0, 4, 0, 0, 0, 3, 0, 3);
    CHECK_INT(t.checks, 4);

    /* Free list empty, 3 of 4 exist: the next acquire grows the pool. */
    obj *d = mk_pool_acquire(p);
    CHECK_INT(d->id, 4);
    CHECK_STATS(p, 4, 0, 4, 0, 0, 0, 4, 0, 4);
    mk_pool_release(p, a);
    mk_pool_release(p, b);
    mk_pool_release(p, c);
    mk_pool_release(p, d);
    CHECK_INT(t.resets, 8);
    CHECK_INT(a->resets + b->resets + c->resets + d->resets, 8);
    CHECK_INT(b->resets, 3);
    mk_pool_free(p);
    CHECK_INT(t.destroyed, 4);
    CHECK_INT(t.live, 0);
}

static void test_min_eager(void)
{
    tctx t = { 0 };
    mk_pool_opts o = opts(&t, 2, 3, 0);
    mk_pool *p = mk_pool_new(&o);
    CHECK_INT(t.created, 2);
    CHECK_STATS(p, 2, 0, 0, 0, 0, 0, 0, 2, 0);
    obj *a = mk_pool_acquire(p), *b = mk_pool_acquire(p), *c = mk_pool_acquire(p);
    CHECK_INT(a->id, 2);   /* the eager ones, top first */
    CHECK_INT(b->id, 1);
    CHECK_INT(c->id, 3);
    CHECK_STATS(p, 3, 0, 2, 0, 0, 0, 3, 0, 3);
    CHECK(mk_pool_try_acquire(p) == NULL);
    mk_pool_release(p, c);
    mk_pool_release(p, b);
    mk_pool_release(p, a);
    mk_pool_free(p);
    CHECK_INT(t.destroyed, 3);

    /* No callbacks but the required ones. */
    tctx u = { 0 };
    mk_pool_opts bare = { .create = t_create, .destroy = t_destroy, .max = 1, .ctx = &u };
    p = mk_pool_new(&bare);
    a = mk_pool_acquire(p);
    a->broken = 1;             /* without check, nobody looks */
    mk_pool_release(p, a);
    CHECK(mk_pool_acquire(p) == a);
    CHECK_INT(u.checks + u.resets, 0);
    a->broken = 0;
    mk_pool_release(p, a);
    mk_pool_free(p);
    CHECK_INT(u.destroyed, 1);
}

/* ---- the max limit: blocking, try, timeout --------------------------------- */

typedef struct {
    mk_pool *p;
    void *got;
    uint64_t timeout_ns;   /* 0: mk_pool_acquire */
    uint64_t delay_ns;     /* release_later: sleep, then release got */
} job;

static void *acquire_job(void *arg)
{
    job *j = arg;
    j->got = j->timeout_ns ? mk_pool_acquire_timeout(j->p, j->timeout_ns) : mk_pool_acquire(j->p);
    return NULL;
}

static void *release_later(void *arg)
{
    job *j = arg;
    usleep((useconds_t)(j->delay_ns / 1000));
    mk_pool_release(j->p, j->got);
    return NULL;
}

/* Polls until the pool has counted `n` waits (a thread is blocked in it). */
static int wait_for_waits(mk_pool *p, uint64_t n)
{
    for (int i = 0; i < 5000; i++) {
        if (stats(p).waits >= n)
            return 1;
        usleep(1000);
    }
    return 0;
}

static void test_blocking_acquire(void)
{
    tctx t = { 0 };
    mk_pool_opts o = opts(&t, 0, 2, 0);
    mk_pool *p = mk_pool_new(&o);
    obj *a = mk_pool_acquire(p), *b = mk_pool_acquire(p);

    job j = { .p = p };
    pthread_t th;
    pthread_create(&th, NULL, acquire_job, &j);
    CHECK(wait_for_waits(p, 1));
    CHECK(j.got == NULL);   /* still blocked */
    CHECK_STATS(p, 2, 0, 0, 0, 0, 1, 2, 0, 2);
    mk_pool_release(p, b);
    pthread_join(th, NULL);
    CHECK(j.got == b);
    CHECK_STATS(p, 2, 0, 1, 0, 0, 1, 2, 0, 2);
    CHECK_INT(t.created, 2);   /* it waited rather than grew past max */

    mk_pool_release(p, a);
    mk_pool_release(p, j.got);
    CHECK_INT(t.max_live, 2);
    mk_pool_free(p);
}

static void test_try_and_timeout(void)
{
    tctx t = { 0 };
    mk_pool_opts o = opts(&t, 0, 1, 0);
    mk_pool *p = mk_pool_new(&o);

    /* Available: try and timeout return at once, and neither waits. */
    obj *a = mk_pool_try_acquire(p);
    CHECK(a != NULL);
    mk_pool_release(p, a);
    CHECK(mk_pool_acquire_timeout(p, 10 * MS) == a);
    CHECK_STATS(p, 1, 0, 1, 0, 0, 0, 1, 0, 1);

    /* All in use. */
    errno = 0;
    CHECK(mk_pool_try_acquire(p) == NULL);
    CHECK_INT(errno, EAGAIN);
    CHECK_CONTAINS(mk_err_msg(), "all 1 objects are in use");
    errno = 0;
    CHECK(mk_pool_acquire_timeout(p, 0) == NULL);
    CHECK_INT(errno, EAGAIN);
    CHECK_U64(stats(p).waits, 0);

    uint64_t t0 = mk_now_ns();
    errno = 0;
    CHECK(mk_pool_acquire_timeout(p, 30 * MS) == NULL);
    uint64_t took = mk_now_ns() - t0;
    CHECK_INT(errno, ETIMEDOUT);
    CHECK_CONTAINS(mk_err_msg(), "all 1 objects still in use after 30.0 ms");
    CHECK(took >= 30 * MS);
    CHECK(took < 3000 * MS);
    CHECK_STATS(p, 1, 0, 1, 0, 0, 1, 1, 0, 1);

    /* Released by another thread while we wait with a long timeout. */
    job r = { .p = p, .got = a, .delay_ns = 20 * MS };
    pthread_t th;
    t0 = mk_now_ns();
    pthread_create(&th, NULL, release_later, &r);
    obj *b = mk_pool_acquire_timeout(p, 10000 * MS);
    took = mk_now_ns() - t0;
    pthread_join(th, NULL);
    CHECK(b == a);
    CHECK(took < 5000 * MS);
    CHECK_STATS(p, 1, 0, 2, 0, 0, 2, 1, 0, 1);

    /* A timeout too large to add to the clock waits like acquire. */
    r.got = b;
    pthread_create(&th, NULL, release_later, &r);
    CHECK(mk_pool_acquire_timeout(p, UINT64_MAX) == a);
    pthread_join(th, NULL);
    CHECK_U64(stats(p).waits, 3);
    mk_pool_release(p, a);
    mk_pool_free(p);
}

/* ---- health check, reset, create failure ----------------------------------- */

static void test_check_discards(void)
{
    tctx t = { 0 };
    mk_pool_opts o = opts(&t, 0, 3, 0);
    mk_pool *p = mk_pool_new(&o);
    obj *a = mk_pool_acquire(p), *b = mk_pool_acquire(p);
    mk_pool_release(p, a);
    b->broken = 1;
    mk_pool_release(p, b);   /* free list: a, b (top) */

    /* b is checked first, destroyed, and a is handed out instead. */
    CHECK(mk_pool_acquire(p) == a);
    CHECK_INT(t.checks, 2);
    CHECK_INT(t.destroyed_broken, 1);
    CHECK_STATS(p, 2, 1, 1, 1, 0, 0, 1, 0, 2);

    /* The only idle object is broken: it is replaced by a new one. */
    a->broken = 1;
    mk_pool_release(p, a);
    obj *c = mk_pool_acquire(p);
    CHECK_INT(c->id, 3);
    CHECK_INT(t.checks, 3);
    CHECK_STATS(p, 3, 2, 1, 2, 0, 0, 1, 0, 2);

    /* Every idle object broken, at max: each is discarded, then one created. */
    obj *d = mk_pool_acquire(p), *e = mk_pool_acquire(p);
    c->broken = d->broken = e->broken = 1;
    mk_pool_release(p, c);
    mk_pool_release(p, d);
    mk_pool_release(p, e);
    obj *f = mk_pool_try_acquire(p);
    CHECK(f != NULL && !f->broken);
    CHECK_INT(f->id, 6);
    CHECK_STATS(p, 6, 5, 1, 5, 0, 0, 1, 0, 3);
    mk_pool_release(p, f);
    mk_pool_free(p);
    CHECK_INT(t.live, 0);
}

/* A blocked acquirer gets a replacement when the object released to it turns
 * out broken. */
static void test_check_wakes_waiter(void)
{
    tctx t = { 0 };
    mk_pool_opts o = opts(&t, 0, 1, 0);
    mk_pool *p = mk_pool_new(&o);
    obj *a = mk_pool_acquire(p);
    job j = { .p = p, .timeout_ns = 10000 * MS };
    pthread_t th;
    pthread_create(&th, NULL, acquire_job, &j);
    CHECK(wait_for_waits(p, 1));
    a->broken = 1;
    mk_pool_release(p, a);
    pthread_join(th, NULL);
    CHECK(j.got != NULL);
    CHECK_INT(((obj *)j.got)->id, 2);
    CHECK_STATS(p, 2, 1, 0, 1, 0, 1, 1, 0, 1);
    mk_pool_release(p, j.got);
    mk_pool_free(p);
}

static void test_create_failure(void)
{
    tctx t = { 0 };
    mk_pool_opts o = opts(&t, 0, 2, 0);
    mk_pool *p = mk_pool_new(&o);

    t.fail = 1;
    errno = 0;
    CHECK(mk_pool_acquire(p) == NULL);
    CHECK_STR(mk_err_msg(), "t_create: no more objects");   /* the callback's own */
    CHECK_INT(errno, ENOMEM);
    t.fail = 1;
    t.fail_silent = 1;
    CHECK(mk_pool_try_acquire(p) == NULL);
    CHECK_STR(mk_err_msg(), "object pool: create callback failed");
    CHECK_STATS(p, 0, 0, 0, 0, 0, 0, 0, 0, 1);

    /* The reservations were given back: both slots can still be filled. */
    obj *a = mk_pool_acquire(p), *b = mk_pool_acquire(p);
    CHECK(a && b);
    CHECK_STATS(p, 2, 0, 0, 0, 0, 0, 2, 0, 2);
    mk_pool_release(p, a);
    mk_pool_release(p, b);
    mk_pool_free(p);

    /* An eager create that fails undoes the ones before it. */
    tctx u = { .fail_at = 3 };
    o = opts(&u, 3, 4, 0);
    CHECK(mk_pool_new(&o) == NULL);
    CHECK_STR(mk_err_msg(), "t_create: no more objects");
    CHECK_INT(u.created, 2);
    CHECK_INT(u.destroyed, 2);
    CHECK_INT(u.live, 0);
}

/* A waiter is woken when a create that held the last slot fails. */
static void test_create_failure_wakes_waiter(void)
{
    tctx t = { .slow_fail = 1 };
    mk_pool_opts o = opts(&t, 0, 1, 0);
    mk_pool *p = mk_pool_new(&o);
    job j = { .p = p };
    pthread_t th;
    pthread_create(&th, NULL, acquire_job, &j);   /* creates slowly, then fails */
    for (int i = 0; i < 5000 && !atomic_load(&t.in_create); i++)
        usleep(1000);
    obj *a = mk_pool_acquire_timeout(p, 10000 * MS);   /* blocks: the slot is taken */
    pthread_join(th, NULL);
    CHECK(j.got == NULL);
    CHECK(a != NULL);
    CHECK_STATS(p, 1, 0, 0, 0, 0, 1, 1, 0, 1);
    mk_pool_release(p, a);
    mk_pool_free(p);
}

/* ---- idle shrink ------------------------------------------------------------ */

static void test_trim(void)
{
    tctx t = { 0 };
    mk_pool_opts o = opts(&t, 1, 4, HOUR);
    mk_pool *p = mk_pool_new(&o);
    obj *a = mk_pool_acquire(p), *b = mk_pool_acquire(p), *c = mk_pool_acquire(p), *d = mk_pool_acquire(p);
    uint64_t t0 = mk_now_ns();   /* before a's release */
    mk_pool_release(p, a);
    usleep(2000);
    uint64_t t1 = mk_now_ns();   /* after a's release, before the others' */
    mk_pool_release(p, b);
    mk_pool_release(p, c);
    mk_pool_release(p, d);
    CHECK_STATS(p, 4, 0, 1, 0, 0, 0, 0, 4, 4);

    CHECK_U64(mk_pool_trim(p, mk_now_ns()), 0);          /* nothing idle an hour */
    CHECK_U64(mk_pool_trim(p, t0 + HOUR), 0);            /* a: not quite */
    CHECK_U64(mk_pool_trim(p, t1 + HOUR), 1);            /* a: just over; b, c, d not */
    CHECK_INT(t.destroyed, 1);
    CHECK_STATS(p, 4, 1, 1, 0, 1, 0, 0, 3, 4);

    /* Far in the future: oldest first, down to min (d, the newest, stays). */
    CHECK_U64(mk_pool_trim(p, mk_now_ns() + 2 * HOUR), 2);
    CHECK_STATS(p, 4, 3, 1, 0, 3, 0, 0, 1, 4);
    CHECK_U64(mk_pool_trim(p, UINT64_MAX), 0);
    CHECK(mk_pool_acquire(p) == d);
    CHECK_INT(t.live, 1);

    /* Objects in use count toward min: 3 in use + 1 idle, min 2 -> 1 goes. */
    mk_pool_release(p, d);
    mk_pool_free(p);
    tctx u = { 0 };
    o = opts(&u, 2, 4, HOUR);
    p = mk_pool_new(&o);
    obj *x[4];
    for (int i = 0; i < 4; i++)
        x[i] = mk_pool_acquire(p);
    mk_pool_release(p, x[3]);
    CHECK_U64(mk_pool_trim(p, mk_now_ns() + 2 * HOUR), 1);
    CHECK_STATS(p, 4, 1, 2, 0, 1, 0, 3, 0, 4);
    CHECK_U64(mk_pool_trim(p, mk_now_ns() + 2 * HOUR), 0);   /* nothing idle */
    for (int i = 0; i < 3; i++)
        mk_pool_release(p, x[i]);
    CHECK_U64(mk_pool_trim(p, mk_now_ns() + 2 * HOUR), 1);   /* 3 exist, min 2 */
    CHECK_STATS(p, 4, 2, 2, 0, 2, 0, 0, 2, 4);
    mk_pool_free(p);

    /* idle_ns 0: never shrinks. */
    tctx v = { 0 };
    o = opts(&v, 0, 2, 0);
    p = mk_pool_new(&o);
    a = mk_pool_acquire(p);
    mk_pool_release(p, a);
    CHECK_U64(mk_pool_trim(p, UINT64_MAX), 0);
    CHECK_U64(stats(p).idle, 1);
    mk_pool_free(p);
}

/* With a 50 ms idle time, acquire and release shrink the pool themselves. */
static void test_shrink_on_use(void)
{
    tctx t = { 0 };
    mk_pool_opts o = opts(&t, 0, 4, 50 * MS);
    mk_pool *p = mk_pool_new(&o);
    obj *a = mk_pool_acquire(p), *b = mk_pool_acquire(p), *c = mk_pool_acquire(p);
    mk_pool_release(p, a);
    mk_pool_release(p, b);
    usleep(120000);
    mk_pool_release(p, c);   /* a and b have idled > 50 ms: gone */
    CHECK_STATS(p, 3, 2, 0, 0, 2, 0, 0, 1, 3);
    CHECK_INT(t.live, 1);

    obj *d = mk_pool_acquire(p), *e = mk_pool_acquire(p);
    CHECK(d == c);
    mk_pool_release(p, e);
    usleep(120000);
    mk_pool_release(p, d);   /* e is older than 50 ms, d is new */
    CHECK_STATS(p, 4, 3, 1, 0, 3, 0, 0, 1, 3);

    a = mk_pool_acquire(p);
    b = mk_pool_acquire(p);
    CHECK(a == d);
    mk_pool_release(p, b);   /* bottom of the free list */
    mk_pool_release(p, a);
    CHECK_STATS(p, 5, 3, 2, 0, 3, 0, 0, 2, 3);
    usleep(120000);
    c = mk_pool_acquire(p);   /* a, the top, is reused; b has expired */
    CHECK(c == a);
    CHECK_STATS(p, 5, 4, 3, 0, 4, 0, 1, 0, 3);
    mk_pool_release(p, c);
    mk_pool_free(p);
    CHECK_INT(t.live, 0);
}

/* ---- usage errors die ------------------------------------------------------- */

/* Runs fn in a child process; returns its exit status, with what it wrote
 * on stderr in msg. */
static int in_child(void (*fn)(void), char *msg, size_t msgsz)
{
    int fd[2];
    if (pipe(fd) != 0)
        return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 2);
        close(fd[0]);
        fn();
        _exit(0);
    }
    close(fd[1]);
    size_t n = 0;
    ssize_t r;
    while (n < msgsz - 1 && (r = read(fd[0], msg + n, msgsz - 1 - n)) > 0)
        n += (size_t)r;
    msg[n] = 0;
    close(fd[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Globals, so that what the child holds when it dies is reachable and
 * LeakSanitizer has nothing to report. */
static mk_pool *die_pool;
static tctx die_ctx;
static void *die_held[2];

static void free_in_use(void)
{
    mk_pool_opts o = opts(&die_ctx, 0, 2, 0);
    die_pool = mk_pool_new(&o);
    die_held[0] = mk_pool_acquire(die_pool);
    die_held[1] = mk_pool_acquire(die_pool);
    mk_pool_free(die_pool);
}

static void release_twice(void)
{
    mk_pool_opts o = opts(&die_ctx, 0, 2, 0);
    die_pool = mk_pool_new(&o);
    die_held[0] = mk_pool_acquire(die_pool);
    mk_pool_release(die_pool, die_held[0]);
    mk_pool_release(die_pool, die_held[0]);
}

static void test_usage_errors_die(void)
{
    char msg[4096];
    CHECK_INT(in_child(free_in_use, msg, sizeof msg), MK_EXIT_ERROR);
    CHECK_CONTAINS(msg, "mk_pool_free: 2 objects still in use");
    CHECK_INT(in_child(release_twice, msg, sizeof msg), MK_EXIT_ERROR);
    CHECK_CONTAINS(msg, "more releases than acquires");
}

/* ---- stress ----------------------------------------------------------------- */

enum { THREADS = 8, ITERS = 100000, SMAX = 4, SMIN = 1 };

typedef struct {
    mk_pool *p;
    tctx *t;
    int me;
    long ok, failed, marked, violations;
} worker;

static void *stress_worker(void *arg)
{
    worker *w = arg;
    uint64_t r = 0x9e3779b97f4a7c15ull * (uint64_t)(w->me + 1);
    for (int i = 0; i < ITERS; i++) {
        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        obj *o;
        switch (r % 16) {
        case 0: o = mk_pool_try_acquire(w->p); break;
        case 1: o = mk_pool_acquire_timeout(w->p, 50000); break;   /* 50 us */
        case 2:
            if (i % 256 == 2)
                mk_pool_trim(w->p, mk_now_ns() + HOUR);   /* shrink hard, now and then */
            /* fall through */
        default: o = mk_pool_acquire(w->p); break;
        }
        if (!o) {
            w->failed++;
            continue;
        }
        w->ok++;
        int prev = atomic_exchange(&o->owner, w->me);
        if (prev != 0 || o->magic != MAGIC || o->broken)
            w->violations++;
        for (int k = 0; k < 4; k++)
            o->payload[k] += (uint64_t)w->me;
        if (r % 8 == 3)
            sched_yield();   /* hold it a while, so that others have to wait */
        if (r % 1000 == 999) {
            o->broken = 1;
            w->marked++;
        }
        if (atomic_exchange(&o->owner, 0) != w->me)
            w->violations++;
        mk_pool_release(w->p, o);
    }
    return NULL;
}

static void test_stress(void)
{
    tctx t = { 0 };
    mk_pool_opts o = opts(&t, SMIN, SMAX, 20000);   /* 20 us idle: some shrink under load */
    mk_pool *p = mk_pool_new(&o);
    worker w[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){ .p = p, .t = &t, .me = i + 1 };
        pthread_create(&th[i], NULL, stress_worker, &w[i]);
    }
    long ok = 0, failed = 0, marked = 0, violations = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        ok += w[i].ok;
        failed += w[i].failed;
        marked += w[i].marked;
        violations += w[i].violations;
    }
    struct mk_pool_stats s = stats(p);
    printf("# stress: %ld acquired, %ld try/timeout misses; created %llu reused %llu "
           "discarded %llu shrunk %llu waits %llu peak %llu\n", ok, failed,
           (unsigned long long)s.created, (unsigned long long)s.reused,
           (unsigned long long)s.discarded, (unsigned long long)s.shrunk,
           (unsigned long long)s.waits, (unsigned long long)s.peak_in_use);
    CHECK_INT(violations, 0);
    CHECK_INT(ok + failed, (long)THREADS * ITERS);
    CHECK_INT(t.max_live, SMAX);   /* grew to max, never past it */
    CHECK(t.max_live <= SMAX);
    CHECK(s.peak_in_use <= SMAX);
    CHECK_U64(s.in_use, 0);
    CHECK_U64(s.created - s.destroyed, s.idle);
    CHECK(s.idle >= SMIN && s.idle <= SMAX);
    CHECK_U64(s.destroyed, s.discarded + s.shrunk);
    CHECK_U64(s.reused + s.created - SMIN, (uint64_t)ok);
    CHECK_U64(s.created, (uint64_t)t.created);
    CHECK_U64(s.destroyed, (uint64_t)t.destroyed);
    CHECK_U64((uint64_t)t.checks, s.reused + s.discarded);
    CHECK_U64((uint64_t)t.resets, (uint64_t)ok);
    CHECK(s.discarded > 0 && s.discarded <= (uint64_t)marked);
    CHECK(s.shrunk > 0);
    CHECK(s.waits <= (uint64_t)ok + (uint64_t)failed);
    mk_pool_free(p);
    CHECK_INT(t.live, 0);
    CHECK_INT(t.destroyed_broken, marked);   /* every broken one destroyed, none handed out */
}

int main(void)
{
    RUN(test_bad_opts);
    RUN(test_grow_reuse_lifo);
    RUN(test_min_eager);
    RUN(test_blocking_acquire);
    RUN(test_try_and_timeout);
    RUN(test_check_discards);
    RUN(test_check_wakes_waiter);
    RUN(test_create_failure);
    RUN(test_create_failure_wakes_waiter);
    RUN(test_trim);
    RUN(test_shrink_on_use);
    RUN(test_usage_errors_die);
    RUN(test_stress);
    return DONE();
}
