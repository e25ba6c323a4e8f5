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
int mk_work_turn(mk_work *w, uint64_t seq);
void mk_work_done(mk_work *w, uint64_t seq);
/* 1 once any block has failed: long loops may stop early. */
int mk_work_failed(const mk_work *w);

#endif
