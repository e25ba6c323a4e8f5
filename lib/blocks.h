/* blocks — cut a source into record-aligned blocks, read ahead in a thread.
 *
 * A block is a few hundred KiB to a few MiB of whole records: it starts at the
 * beginning of a line (or of a CSV record: MK_SPLIT_CSV keeps quoted newlines
 * inside their record by tracking quote parity) and ends after a newline,
 * except the input's last block, whose last record may lack one. Each block
 * knows its 1-based first line number and its sequence number, so workers
 * that take blocks in any order still report exact file:line positions and
 * can restore input order.
 *
 * Input is read into at most nbufs buffers from an mk_pool (created as
 * needed, dropped after a second idle, checked by a canary on every reuse;
 * large reads for plain files,
 * decompression for zstd/gzip); with `threaded`, a producer thread reads and
 * decompresses ahead while consumers parse, which is how decompression
 * overlaps parsing. With `map`, a plain regular file is mapped instead and
 * blocks point into the mapping (no copy; pages of released blocks are
 * dropped, so resident memory stays near nbufs × block size). Measured on
 * the 1.1 GB benchmark CSV, reading beat mapping (page faults cost more than
 * the copy on virtual machines), so reading is the default.
 *
 * Checks made once here, for every reader: a line longer than max_record
 * bytes (not counting its LF; in CSV, each physical line of a record), and a
 * NUL byte when check_nul is set, are errors with file:line.
 * A source error (truncated zstd, ...) is delivered by mk_blocks_next() after
 * every block before it.
 *
 * mk_blocks_next() and mk_blocks_release() are thread-safe; a block's memory
 * is valid until it is released. The mk_blocks does not own the source. */
#ifndef MK_BLOCKS_H
#define MK_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

#include "source.h"

struct mk_block;

typedef enum { MK_SPLIT_LINES, MK_SPLIT_CSV } mk_split;

typedef struct {
    size_t block_size;     /* bytes per block (default 1 MiB) */
    size_t max_record;     /* longest line or record (default 1 MiB) */
    mk_split split;        /* default MK_SPLIT_LINES */
    unsigned nbufs;        /* blocks in flight (default 4; ≥ consumers + 2) */
    int threaded;          /* 1: read ahead in a producer thread */
    int map;               /* 1: map plain regular files instead of reading */
    int check_nul;         /* 1: a NUL byte is an error */
    /* Optional work on every block, done by the thread that produced it
     * (the producer when threaded) before any consumer sees it: parsing
     * ahead, so that it overlaps the consumer's work. Blocks are prepared
     * in input order, one at a time. The block's aux pointer stays with its
     * buffer from one block to the next, for prepare's own results; when
     * the buffer is dropped, aux_free(aux) is called if aux is set. */
    void (*prepare)(void *ctx, struct mk_block *blk);
    void (*aux_free)(void *aux);
    void *ctx;
} mk_blocks_opts;

typedef struct mk_block {
    const char *data;
    size_t len;
    uint64_t first_line;   /* line number of data[0], from 1 */
    uint64_t lines;        /* newlines in data */
    uint64_t seq;          /* 0, 1, 2, ... in input order */
    void *aux;             /* opts.prepare's, else NULL */
} mk_block;

typedef struct mk_blocks mk_blocks;

void mk_blocks_defaults(mk_blocks_opts *o);
mk_blocks *mk_blocks_open(mk_source *src, const mk_blocks_opts *o);
int mk_blocks_next(mk_blocks *b, mk_block **out);   /* 1 block, 0 end, -1 error */
void mk_blocks_release(mk_blocks *b, mk_block *blk);
/* Every block taken must be released before closing. */
void mk_blocks_close(mk_blocks *b);
/* Figures of the buffer pool (created, reused, shrunk, waits, ...). */
struct mk_pool_stats;
void mk_blocks_pool_stats(mk_blocks *b, struct mk_pool_stats *st);

/* Counting helpers the splitter uses, exported because record parsers need
 * the same answers at the same speed. */
size_t mk_count_byte(const char *p, size_t n, char c);

/* Whether the splitter's counting pass uses AVX2: set at start-up where the
 * CPU has it (x86-64 with GCC or Clang), else 0 and SSE2 does it. Tests set
 * it to 0 to cover the other loop; a program has no reason to. */
extern int mk_blocks_avx2;

#endif
