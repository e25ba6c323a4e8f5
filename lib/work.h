/* work — run worker threads over a mk_blocks, the way every parallel tool does.
 *
 * mk_work_run() starts nthreads-1 threads and works in the caller's thread
 * too; each takes blocks, calls fn(ctx[i], block) and releases the block.
 * The first error *in input order* wins (a later block's error never hides an
 * earlier one), the others stop soon after, and its message is left in mk_err
 * for the caller. A progress meter (optional) is advanced by the caller's
 * thread only, by decompressed bytes.
 *
 * Ordered output: workers that must write in input order call
 * mk_work_turn(w, seq) before writing a block's output (0: your turn; -1: the
 * run has failed, write nothing) and mk_work_done(w, seq) after; turns pass in
 * block sequence order. A block that fails still passes
 * its turn (mk_work_run does this), so no one waits forever.
 *
 * fn runs concurrently in several threads: it must only touch its own ctx
 * and read-only shared data. */
#ifndef MK_WORK_H
#define MK_WORK_H

#include "blocks.h"
#include "progress.h"

typedef struct mk_work mk_work;
typedef int (*mk_work_fn)(mk_work *w, void *ctx, const mk_block *b);

int mk_work_run(mk_blocks *b, unsigned nthreads, mk_work_fn fn, void **ctx, mk_progress *pr);
/* The same, for a caller that already took the first block (to sniff the
 * input): the caller's thread handles `first` before taking more. */
int mk_work_run_from(mk_blocks *b, mk_block *first, unsigned nthreads, mk_work_fn fn,
                     void **ctx, mk_progress *pr);
/* The same with a worker count found by trial, for input whose producer
 * may need a core of its own (a pipe from `zstd -dc` does, one from cat(1)
 * hardly): start + 1 workers, of which start take blocks at first. After a
 * window of t->window bytes (0: 32 MiB) to warm up, the caller's thread
 * measures over three more the cores left idle (by the whole machine, from
 * /proc/stat) and how busy the process kept its workers (CPU time per
 * worker and second); if 0.4 core or more was idle while the workers were
 * busy 85 % of the time or more, the other worker joins for the rest of the
 * input, else it waits (holding no block) until the end. Input too short
 * for the trial, or no /proc/stat, runs with start workers. */
typedef struct {
    uint64_t window;          /* in: bytes a window spans (0: 32 MiB) */
    int force;                /* in: 0 measure; 1 or -1 (tests): the trial finds start + 1 or start */
    unsigned chosen;          /* out: workers taking blocks after the trial */
    int decided;              /* out: 1 if the trial was completed */
    unsigned start;           /* out: the start given */
    double idle;              /* out: cores idle meanwhile, -1 if unknown */
    double busy;              /* out: CPU time of this process per worker and second */
} mk_work_tuning;

int mk_work_run_tuned(mk_blocks *b, mk_block *first, unsigned start, mk_work_fn fn, void **ctx,
                      mk_progress *pr, mk_work_tuning *t);
/* The trial's rule: start + 1 workers when idle >= 0.4 core and busy >= 0.85. */
unsigned mk_work_tune_choice(unsigned start, double idle, double busy);
int mk_work_turn(mk_work *w, uint64_t seq);
void mk_work_done(mk_work *w, uint64_t seq);
/* 1 once any block has failed: long loops may stop early. */
int mk_work_failed(const mk_work *w);

#endif
