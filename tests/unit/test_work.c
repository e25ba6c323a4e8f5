/* Unit tests for lib/work: every block is handled exactly once by 1, 2 and
 * 4 workers; the error of the earliest failed block wins; and the tuned run
 * (mk_work_run_tuned): a trial that adds a worker makes it take blocks, one
 * that does not leaves it idle, input too short for the trial runs with the
 * start count, a failure while a worker waits ends the run, and a measured
 * trial reports figures its rule (mk_work_tune_choice) agrees with. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "blocks.h"
#include "err.h"
#include "source.h"
#include "unit.h"
#include "work.h"

enum { LINES = 200000, MAX_BLOCKS = 4096 };

static char *input;
static size_t input_len;
static atomic_int seen[MAX_BLOCKS];
/* test_tuned_adds_a_worker: blocks taken by the second worker, and the
 * trial whose answer makes the first wait for them (the first could
 * otherwise finish the input before a loaded machine runs the second). */
static atomic_int second_took;
static const mk_work_tuning *wait_for_second;

typedef struct {
    uint64_t blocks, lines;
    int64_t fail_at, fail_at2;  /* block seqs that fail (-1: none) */
    int second;                 /* the second worker's */
} counter;

static void make_input(void)
{
    input = malloc((size_t)LINES * 32);
    size_t n = 0;
    for (int i = 0; i < LINES; i++)
        n += (size_t)sprintf(input + n, "line %d of the input\n", i);
    input_len = n;
}

static int count_block(mk_work *w, void *ctx, const mk_block *b)
{
    (void)w;
    counter *c = ctx;
    if (b->seq < MAX_BLOCKS)
        atomic_fetch_add(&seen[b->seq], 1);
    if ((int64_t)b->seq == c->fail_at || (int64_t)b->seq == c->fail_at2)
        return mk_err_set("block %llu failed", (unsigned long long)b->seq);
    c->blocks++;
    c->lines += b->lines;
    if (c->second)
        atomic_fetch_add(&second_took, 1);
    else if (wait_for_second && wait_for_second->decided && wait_for_second->chosen == 2)
        for (int ms = 0; ms < 10000 && !atomic_load(&second_took); ms++)
            usleep(1000);
    return 0;
}

/* Blocks of 16 KiB over the first n bytes (whole lines), read in the
 * caller's threads as chunkproc reads a pipe. */
static mk_blocks *open_blocks(mk_source **src, size_t n)
{
    while (n && input[n - 1] != '\n')
        n--;
    *src = mk_source_open_mem("in.txt", input, n);
    mk_blocks_opts o;
    mk_blocks_defaults(&o);
    o.block_size = 16 << 10;
    o.threaded = 0;
    o.nbufs = 8;
    return mk_blocks_open(*src, &o);
}

static size_t lines_in(size_t n)
{
    size_t k = 0;
    while (n && input[n - 1] != '\n')
        n--;
    for (size_t i = 0; i < n; i++)
        k += input[i] == '\n';
    return k;
}

/* Every block seen exactly once; returns how many there were. */
static int check_seen_once(void)
{
    int nblocks = 0;
    for (int i = 0; i < MAX_BLOCKS; i++) {
        int s = atomic_load(&seen[i]);
        if (s == 0)
            break;
        CHECK_INT(s, 1);
        nblocks++;
    }
    return nblocks;
}

static void reset(counter *c, unsigned n)
{
    for (int i = 0; i < MAX_BLOCKS; i++)
        atomic_store(&seen[i], 0);
    for (unsigned i = 0; i < n; i++)
        c[i] = (counter){ 0, 0, -1, -1, i == 1 };
    atomic_store(&second_took, 0);
    wait_for_second = NULL;
}

static void test_run_every_block_once(void)
{
    static const unsigned threads[] = { 1, 2, 4 };
    for (size_t k = 0; k < sizeof threads / sizeof *threads; k++) {
        counter c[4];
        void *ctx[4] = { &c[0], &c[1], &c[2], &c[3] };
        reset(c, 4);
        mk_source *src;
        mk_blocks *b = open_blocks(&src, input_len);
        CHECK_INT(mk_work_run(b, threads[k], count_block, ctx, NULL), 0);
        uint64_t lines = 0, blocks = 0;
        for (unsigned i = 0; i < 4; i++)
            lines += c[i].lines, blocks += c[i].blocks;
        CHECK_U64(lines, LINES);
        CHECK_U64(blocks, (uint64_t)check_seen_once());
        CHECK(blocks > 50);
        mk_blocks_close(b);
        mk_source_close(src);
    }
}

static void test_earliest_error_wins(void)
{
    counter c[2];
    void *ctx[2] = { &c[0], &c[1] };
    reset(c, 2);
    c[0].fail_at = c[1].fail_at = 9;    /* whichever thread gets them */
    c[0].fail_at2 = c[1].fail_at2 = 5;
    mk_source *src;
    mk_blocks *b = open_blocks(&src, input_len);
    CHECK_INT(mk_work_run(b, 2, count_block, ctx, NULL), -1);
    CHECK_STR(mk_err_msg(), "block 5 failed");
    mk_blocks_close(b);
    mk_source_close(src);
}

/* A tuned run over n bytes with the trial's answer forced (0: measured);
 * windows of 64 KiB, so the trial ends after 256 KiB. */
static int tuned(size_t n, int force, counter c[2], mk_work_tuning *t)
{
    void *ctx[2] = { &c[0], &c[1] };
    reset(c, 2);
    *t = (mk_work_tuning){ .window = 64 << 10, .force = force };
    if (force > 0)
        wait_for_second = t;
    mk_source *src;
    mk_blocks *b = open_blocks(&src, n);
    int rc = mk_work_run_tuned(b, NULL, 1, count_block, ctx, NULL, t);
    mk_blocks_close(b);
    mk_source_close(src);
    return rc;
}

static void test_tuned_adds_a_worker(void)
{
    counter c[2];
    mk_work_tuning t;
    CHECK_INT(tuned(input_len, 1, c, &t), 0);
    CHECK_INT(t.decided, 1);
    CHECK_INT(t.chosen, 2);
    CHECK_INT(t.start, 1);
    CHECK_U64(c[0].lines + c[1].lines, LINES);
    CHECK(c[1].blocks > 0);            /* the second worker joined */
    CHECK_U64(c[0].blocks + c[1].blocks, (uint64_t)check_seen_once());
}

static void test_tuned_keeps_start(void)
{
    counter c[2];
    mk_work_tuning t;
    CHECK_INT(tuned(input_len, -1, c, &t), 0);
    CHECK_INT(t.decided, 1);
    CHECK_INT(t.chosen, 1);
    CHECK_U64(c[1].blocks, 0);         /* it waited until the end */
    CHECK_U64(c[0].lines, LINES);
    CHECK_U64(c[0].blocks, (uint64_t)check_seen_once());
}

static void test_tuned_short_input(void)
{
    counter c[2];
    mk_work_tuning t;
    size_t n = 200 << 10;               /* less than the four windows */
    CHECK_INT(tuned(n, 1, c, &t), 0);
    CHECK_INT(t.decided, 0);
    CHECK_INT(t.chosen, 1);
    CHECK_U64(c[1].blocks, 0);
    CHECK_U64(c[0].lines, lines_in(n));
}

static void test_tuned_failure_while_waiting(void)
{
    counter c[2];
    mk_work_tuning t;
    void *ctx[2] = { &c[0], &c[1] };
    reset(c, 2);
    c[0].fail_at = 3;                   /* during the trial: worker 1 waits */
    t = (mk_work_tuning){ .window = 64 << 10, .force = 1 };
    mk_source *src;
    mk_blocks *b = open_blocks(&src, input_len);
    CHECK_INT(mk_work_run_tuned(b, NULL, 1, count_block, ctx, NULL, &t), -1);
    CHECK_STR(mk_err_msg(), "block 3 failed");
    CHECK_U64(c[1].blocks, 0);
    mk_blocks_close(b);
    mk_source_close(src);
    /* and after the trial, with both working */
    reset(c, 2);
    c[0].fail_at = c[1].fail_at = 150;
    t = (mk_work_tuning){ .window = 64 << 10, .force = 1 };
    b = open_blocks(&src, input_len);
    CHECK_INT(mk_work_run_tuned(b, NULL, 1, count_block, ctx, NULL, &t), -1);
    CHECK_STR(mk_err_msg(), "block 150 failed");
    CHECK_INT(t.chosen, 2);
    mk_blocks_close(b);
    mk_source_close(src);
}

static void test_tuned_measured(void)
{
    counter c[2];
    mk_work_tuning t;
    CHECK_INT(tuned(input_len, 0, c, &t), 0);
    CHECK_INT(t.decided, 1);
    CHECK_U64(c[0].lines + c[1].lines, LINES);
    if (t.idle < 0) {                   /* no /proc/stat: the start count */
        CHECK_INT(t.chosen, 1);
        return;
    }
    long ncpu = sysconf(_SC_NPROCESSORS_CONF);
    CHECK(t.idle >= 0 && t.idle <= (double)ncpu + 0.01);
    CHECK(t.busy >= 0);
    CHECK_INT(t.chosen, mk_work_tune_choice(1, t.idle, t.busy));
    CHECK(t.chosen == 2 || c[1].blocks == 0);
}

static void test_tune_choice(void)
{
    CHECK_INT(mk_work_tune_choice(1, 0.65, 0.97), 2);  /* cat big.csv | */
    CHECK_INT(mk_work_tune_choice(1, 0.20, 0.84), 1);  /* zstd -dc | with a heavy task */
    CHECK_INT(mk_work_tune_choice(1, 0.90, 0.55), 1);  /* short of input: the writer is slower */
    CHECK_INT(mk_work_tune_choice(1, 0.39, 0.99), 1);
    CHECK_INT(mk_work_tune_choice(1, 0.40, 0.85), 2);
    CHECK_INT(mk_work_tune_choice(3, 1.50, 0.90), 4);
}

int main(void)
{
    make_input();
    RUN(test_run_every_block_once);
    RUN(test_earliest_error_wins);
    RUN(test_tuned_adds_a_worker);
    RUN(test_tuned_keeps_start);
    RUN(test_tuned_short_input);
    RUN(test_tuned_failure_while_waiting);
    RUN(test_tuned_measured);
    RUN(test_tune_choice);
    free(input);
    return DONE();
}
