/* log — reads reference-count logs into model events.
 *
 * Two formats, told apart per file by the first significant line:
 * - memkit refs (`[TS] new|ref|unref|free|weak|deref ARGS [key=value...]`,
 *   optional `#memkit refs v1` header, # comments), parsed a block at a
 *   time by the thread that reads and decompresses it, into compact
 *   records, then applied by the caller's thread with the model's
 *   lookups run a dozen events ahead;
 * - the refcount logs of Mozilla's XPCOM_MEM_REFCNT_LOG (and its alloc log)
 *   and Mesa's GALLIUM_REFCNT_LOG: `<Type> ADDR SERIAL Create|AddRef N|
 *   Release N|Destroy|Ctor (N)|Dtor (N) [thread T]`, each followed by its
 *   stack, one frame a line; the frames become the event's site (innermost
 *   first, joined by newlines).
 *
 * Errors: a malformed line is "FILE:LINE: message" in mk_err and -1, or,
 * with `lenient`, counted in `skipped` and passed over. Line numbers are
 * physical lines of the file. rw_read runs on one thread; the block
 * reader's thread reads, decompresses and parses ahead (its string tables
 * are its own: the model is touched only by the caller's thread). */
#ifndef RW_LOG_H
#define RW_LOG_H

#include <stdint.h>

#include "model.h"
#include "source.h"

typedef struct {
    rw_model *m;
    int lenient, strict;
    size_t block_size;         /* 0 = the block reader's defaults; else this
                                  block size, lines up to 4 blocks, and no
                                  read-ahead thread */
    uint64_t skipped;
    /* --at: stop before the first event past this point. */
    uint64_t at_line;          /* 0 = no limit; counted over all files, as if concatenated */
    const char *at_ts;         /* NULL = no limit */
    uint64_t line_base;        /* lines of the files read before this one */
    int stopped;               /* reading ended early (--at or --strict) */
    uint64_t findings;
} rw_reader;

/* Read one file into r->m: 0 at its end, 1 when stopped early, -1 on error. */
int rw_read(rw_reader *r, mk_source *src, uint32_t file);

#endif
