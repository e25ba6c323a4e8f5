/* lines — the simple way to read a text record format: one line at a time.
 *
 * Built on blocks (so the same limits, NUL check, read-ahead thread and exact
 * error verdicts apply). Lines are returned without their LF or CRLF; the last
 * line counts even without a newline. The returned slice points into a block
 * and is valid until the next mk_lines_next(); nothing is copied. Line numbers
 * start at 1. One mk_lines belongs to one thread. It owns its source. */
#ifndef MK_LINES_H
#define MK_LINES_H

#include <stddef.h>
#include <stdint.h>

#include "blocks.h"

typedef struct {
    const char *ptr;
    size_t len;
    uint64_t no;
} mk_line;

typedef struct mk_lines mk_lines;

/* Opens path ("-" = stdin); opts may be NULL for the defaults. */
mk_lines *mk_lines_open(const char *path, const mk_blocks_opts *opts);
mk_lines *mk_lines_from(mk_source *src, const mk_blocks_opts *opts);
int mk_lines_next(mk_lines *l, mk_line *out);   /* 1 line, 0 end, -1 error */
const char *mk_lines_name(const mk_lines *l);
mk_source *mk_lines_source(const mk_lines *l);
int mk_lines_close(mk_lines *l);

#endif
