/* work — block-parallel workers with in-order errors and turns (see work.h). */
#include "work.h"
#include "err.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The trial of mk_work_run_tuned, run by the caller's thread between its
 * blocks: after a window to warm up, over the next MEASURE windows, how
 * busy this process kept its workers and how many cores the machine left
 * idle (/proc/stat). Both must hold for one more worker to help: workers
 * short of input (the writer is slower) idle cores too, and another
 * worker would only compete with the writer. Timing the two worker counts
 * against each other instead misjudged: windows of a few tens of
 * milliseconds on a shared machine differed by a third from one to the
 * next, and early windows did not show what the rest of the input would. */
enum { WINDOW = 32 << 20, MEASURE = 3 };
#define IDLE_ENOUGH 0.4         /* cores idle that make one more worker worth it */
#define BUSY_ENOUGH 0.85        /* of each worker's time, busy (not short of input) */

typedef struct {
    mk_work_tuning *out;
    unsigned start;
    uint64_t at;               /* bytes done when the window began */
    unsigned window;           /* windows done */
    unsigned long long idle0, total0;   /* jiffies at the end of the first */
    double cpu0, wall0;        /* this process's CPU and wall seconds then */
} tuner;

static double seconds(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Idle (and iowait) and total jiffies of all CPUs, and how many CPUs;
 * 0 if /proc/stat cannot be read. */
static int cpu_jiffies(unsigned long long *idle, unsigned long long *total, unsigned *ncpu)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return 0;
    char line[512];
    unsigned long long v[8] = { 0 };
    int ok = 0;
    *ncpu = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "cpu ", 4) == 0)
            ok = sscanf(line + 4, "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                        &v[3], &v[4], &v[5], &v[6], &v[7]) >= 4;
        else if (strncmp(line, "cpu", 3) == 0)
            (*ncpu)++;
        else
            break;              /* the cpu lines come first; the rest can be long */
    }
    fclose(f);
    if (!ok || !*ncpu)
        return 0;
    *idle = v[3] + v[4];
    *total = 0;
    for (int i = 0; i < 8; i++)
        *total += v[i];
    return 1;
}

struct mk_work {
    mk_blocks *blocks;
    mk_work_fn fn;
    void **ctx;
    mk_progress *pr;
    pthread_t main_thread;
    pthread_mutex_t mu;
    pthread_cond_t turn_cv;
    uint64_t next_turn;        /* the block whose output may be written now */
    uint64_t err_seq;          /* earliest failed block, UINT64_MAX if none */
    char err[1024];
    uint64_t done_bytes;
    int failed;                /* read and written atomically */
    /* mk_work_run_tuned: workers idx >= active wait on park_cv between
     * blocks; ending (set by the first worker out of blocks) sends them
     * home. Both under mu; active also read atomically. */
    tuner *tune;
    unsigned active;
    int ending;
    pthread_cond_t park_cv;
};

typedef struct {
    mk_work *w;
    unsigned idx;
    mk_block *first;           /* handled before taking more, or NULL */
} arg;

static void note_error(mk_work *w, uint64_t seq, const char *msg)
{
    pthread_mutex_lock(&w->mu);
    if (seq < w->err_seq) {
        w->err_seq = seq;
        snprintf(w->err, sizeof w->err, "%s", msg);
    }
    __atomic_store_n(&w->failed, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&w->mu);
}

static void set_active(mk_work *w, unsigned n)
{
    pthread_mutex_lock(&w->mu);
    __atomic_store_n(&w->active, n, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&w->park_cv);
    pthread_mutex_unlock(&w->mu);
}

/* Whether worker idx may take another block: at once if it is active, else
 * once it is made active; 0 when the run is over first. */
static int may_take(mk_work *w, unsigned idx)
{
    if (!w->tune || idx < __atomic_load_n(&w->active, __ATOMIC_ACQUIRE))
        return 1;
    pthread_mutex_lock(&w->mu);
    while (idx >= w->active && !w->ending && !mk_work_failed(w))
        pthread_cond_wait(&w->park_cv, &w->mu);
    int go = !w->ending && !mk_work_failed(w);
    pthread_mutex_unlock(&w->mu);
    return go;
}

/* After each of the caller's blocks, with the bytes every worker has done. */
static void tune_step(mk_work *w, uint64_t done)
{
    tuner *t = w->tune;
    uint64_t span = t->out->window ? t->out->window : WINDOW;
    if (t->out->decided || done - t->at < span)
        return;
    t->at = done;
    t->window++;
    unsigned long long idle, total;
    unsigned ncpu;
    if (t->window != 1 && t->window != 1 + MEASURE)
        return;
    if (t->out->force && t->window == 1 + MEASURE) {
        t->out->decided = 1;
        t->out->chosen = t->out->force > 0 ? t->start + 1 : t->start;
        set_active(w, t->out->chosen);
        return;
    }
    if (t->out->force)
        return;
    if (!cpu_jiffies(&idle, &total, &ncpu)) {
        t->out->decided = 1;   /* nothing to go by: keep start */
        t->out->idle = -1;
        return;
    }
    double cpu = seconds(CLOCK_PROCESS_CPUTIME_ID), wall = seconds(CLOCK_MONOTONIC);
    if (t->window == 1) {
        t->idle0 = idle;
        t->total0 = total;
        t->cpu0 = cpu;
        t->wall0 = wall;
        return;
    }
    double cores = total > t->total0 ? (double)ncpu * (double)(idle - t->idle0) / (double)(total - t->total0) : 0;
    double busy = wall > t->wall0 ? (cpu - t->cpu0) / (wall - t->wall0) / t->start : 0;
    t->out->idle = cores;
    t->out->busy = busy;
    t->out->decided = 1;
    t->out->chosen = mk_work_tune_choice(t->start, cores, busy);
    set_active(w, t->out->chosen);
}

unsigned mk_work_tune_choice(unsigned start, double idle, double busy)
{
    return idle >= IDLE_ENOUGH && busy >= BUSY_ENOUGH ? start + 1 : start;
}

static void *loop(void *p)
{
    arg *a = p;
    mk_work *w = a->w;
    mk_block *b = a->first;
    int r = 0;
    while (!mk_work_failed(w) &&
           (b || (may_take(w, a->idx) && (r = mk_blocks_next(w->blocks, &b)) == 1))) {
        uint64_t seq = b->seq, len = b->len;
        if (w->fn(w, w->ctx[a->idx], b) < 0) {
            note_error(w, seq, mk_err_msg());
            /* Pass the turn the failed block may not have taken. */
            pthread_mutex_lock(&w->mu);
            if (w->next_turn == seq) {
                w->next_turn++;
                pthread_cond_broadcast(&w->turn_cv);
            }
            pthread_mutex_unlock(&w->mu);
        }
        mk_blocks_release(w->blocks, b);
        b = NULL;
        pthread_mutex_lock(&w->mu);
        uint64_t done = w->done_bytes += len;
        pthread_mutex_unlock(&w->mu);
        if (pthread_equal(pthread_self(), w->main_thread)) {
            if (w->pr)
                mk_progress_update(w->pr, done);
            if (w->tune)
                tune_step(w, done);
        }
    }
    if (b)
        mk_blocks_release(w->blocks, b);   /* a first block never handled */
    if (w->tune) {             /* out of blocks (or failed): no one waits for more */
        pthread_mutex_lock(&w->mu);
        w->ending = 1;
        pthread_cond_broadcast(&w->park_cv);
        pthread_mutex_unlock(&w->mu);
    }
    if (!mk_work_failed(w) && r < 0)
        note_error(w, UINT64_MAX - 1, mk_err_msg());   /* source error: after every block */
    if (mk_work_failed(w)) {
        /* Wake anyone waiting for a turn that will not come. */
        pthread_mutex_lock(&w->mu);
        pthread_cond_broadcast(&w->turn_cv);
        pthread_mutex_unlock(&w->mu);
    }
    return NULL;
}

int mk_work_run(mk_blocks *b, unsigned nthreads, mk_work_fn fn, void **ctx, mk_progress *pr)
{
    return mk_work_run_from(b, NULL, nthreads, fn, ctx, pr);
}

static int run(mk_blocks *b, mk_block *first, unsigned nthreads, mk_work_fn fn, void **ctx,
               mk_progress *pr, tuner *tune);

int mk_work_run_from(mk_blocks *b, mk_block *first, unsigned nthreads, mk_work_fn fn,
                     void **ctx, mk_progress *pr)
{
    return run(b, first, nthreads, fn, ctx, pr, NULL);
}

int mk_work_run_tuned(mk_blocks *b, mk_block *first, unsigned start, mk_work_fn fn, void **ctx,
                      mk_progress *pr, mk_work_tuning *t)
{
    if (start < 1)
        start = 1;
    tuner tu = { .out = t, .start = start };
    t->chosen = t->start = start;
    t->decided = 0;
    t->idle = t->busy = 0;
    return run(b, first, start + 1, fn, ctx, pr, &tu);
}

static int run(mk_blocks *b, mk_block *first, unsigned nthreads, mk_work_fn fn, void **ctx,
               mk_progress *pr, tuner *tune)
{
    mk_work w = { .blocks = b, .fn = fn, .ctx = ctx, .pr = pr, .err_seq = UINT64_MAX,
                  .tune = tune, .active = tune ? tune->start : 0 };
    if (nthreads < 1)
        nthreads = 1;
    w.main_thread = pthread_self();
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.turn_cv, NULL);
    pthread_cond_init(&w.park_cv, NULL);
    pthread_t *th = mk_xcalloc(nthreads, sizeof *th);
    arg *args = mk_xcalloc(nthreads, sizeof *args);
    unsigned started = 1;
    for (unsigned i = 0; i < nthreads; i++)
        args[i] = (arg){ &w, i, i == 0 ? first : NULL };
    for (unsigned i = 1; i < nthreads; i++, started++)
        if (pthread_create(&th[i], NULL, loop, &args[i]) != 0)
            break;   /* fewer threads is still correct */
    loop(&args[0]);
    for (unsigned i = 1; i < started; i++)
        pthread_join(th[i], NULL);
    free(th);
    free(args);
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.turn_cv);
    pthread_cond_destroy(&w.park_cv);
    if (w.err_seq != UINT64_MAX) {
        mk_err_set("%s", w.err);
        return -1;
    }
    return 0;
}

int mk_work_turn(mk_work *w, uint64_t seq)
{
    pthread_mutex_lock(&w->mu);
    while (w->next_turn != seq && !w->failed)
        pthread_cond_wait(&w->turn_cv, &w->mu);
    int ok = w->next_turn == seq && !w->failed;
    pthread_mutex_unlock(&w->mu);
    return ok ? 0 : -1;
}

void mk_work_done(mk_work *w, uint64_t seq)
{
    pthread_mutex_lock(&w->mu);
    if (w->next_turn == seq)
        w->next_turn = seq + 1;
    pthread_cond_broadcast(&w->turn_cv);
    pthread_mutex_unlock(&w->mu);
}

int mk_work_failed(const mk_work *w)
{
    return __atomic_load_n(&w->failed, __ATOMIC_ACQUIRE);
}
