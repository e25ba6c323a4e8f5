/* work — block-parallel workers with in-order errors and turns (see work.h). */
#include "work.h"
#include "err.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

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

static void *loop(void *p)
{
    arg *a = p;
    mk_work *w = a->w;
    mk_block *b = a->first;
    int r = 0;
    while (!mk_work_failed(w) && (b || (r = mk_blocks_next(w->blocks, &b)) == 1)) {
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
        if (w->pr && pthread_equal(pthread_self(), w->main_thread))
            mk_progress_update(w->pr, done);
    }
    if (b)
        mk_blocks_release(w->blocks, b);   /* a first block never handled */
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

int mk_work_run_from(mk_blocks *b, mk_block *first, unsigned nthreads, mk_work_fn fn,
                     void **ctx, mk_progress *pr)
{
    mk_work w = { .blocks = b, .fn = fn, .ctx = ctx, .pr = pr, .err_seq = UINT64_MAX };
    if (nthreads < 1)
        nthreads = 1;
    w.main_thread = pthread_self();
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.turn_cv, NULL);
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
