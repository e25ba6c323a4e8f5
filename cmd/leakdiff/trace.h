/* trace — heap trace events from the memkit heap format or glibc mtrace.
 *
 * A trace is read line by line (lib lines: plain, zstd or gzip, any size) and
 * handed out as events. The format is told from the content: "= Start" or a
 * line "@ CALLER +|-|<|>|! ..." means mtrace, anything else the memkit heap
 * format of memkit-formats(5).
 *
 * Sites and types are interned in tables the caller owns and shares between
 * traces, so the same site in two traces has the same id (what a diff needs).
 * mtrace callers are keyed on the module's base name and the offset, or the
 * symbol and its offset when mtrace printed one — never on the path as the
 * program was invoked, which differs between runs.
 *
 * Every malformed record is an error "FILE:LINE: message" (mk_err), unless
 * lenient: then it is skipped and counted. One ld_trace per thread. */
#ifndef LD_TRACE_H
#define LD_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "intern.h"
#include "source.h"

typedef enum {
    LD_ALLOC,        /* addr, size, site, type */
    LD_FREE,         /* addr (site: where, when the trace says) */
    LD_REALLOC,      /* old -> addr, size, site */
    LD_REALLOC_FAIL, /* mtrace '!': the old block stays */
    LD_SNAPSHOT,     /* label */
} ld_kind;

enum { LD_NO_TYPE = UINT32_MAX, LD_NO_SITE = UINT32_MAX };

/* A block written without its address ("+ TS . SIZE SITE", the recorder's
 * compact form) is keyed by LD_UNNAMED | E, E being the number of its event
 * record (+ - ~, counted from 1 over the whole trace); "^N" names the block of
 * event E - N. Real addresses never have the top bit set on the machines we
 * record (user space ends at 2^47, or 2^56 with 5-level paging). */
#define LD_UNNAMED (UINT64_C(1) << 63)

/* addr as reports show it: "0x7f..." or "#E" for a block written without
 * its address. Returns buf. */
const char *ld_addr_str(uint64_t addr, char *buf, size_t cap);

typedef struct {
    ld_kind kind;
    int has_ts;
    uint64_t ts;            /* ns since start (memkit format only) */
    uint64_t addr, old, size;
    uint32_t site, type;    /* type: LD_NO_TYPE when none given */
    const char *label;      /* snapshot label: valid until the next event */
    size_t label_len;
    uint64_t line;          /* line number in the file */
} ld_event;

typedef enum { LD_FMT_UNKNOWN, LD_FMT_MEMKIT, LD_FMT_MTRACE } ld_format;

typedef struct ld_trace ld_trace;

/* path "-" = stdin. sites/types: shared intern tables. prev: a trace this
 * file continues (its format and "s" site ids carry over; it must not be
 * read any further), or NULL. NULL on error (mk_err). */
ld_trace *ld_trace_open(const char *path, mk_intern *sites, mk_intern *types, int lenient,
                        ld_trace *prev);
/* The same over an open source (owned from now on), e.g. a memory one. */
ld_trace *ld_trace_from(mk_source *src, mk_intern *sites, mk_intern *types, int lenient,
                        ld_trace *prev);
/* 1 = an event, 0 = end of trace, -1 = error (mk_err holds "file:line: ..."). */
int ld_trace_next(ld_trace *t, ld_event *ev);
const char *ld_trace_name(const ld_trace *t);
ld_format ld_trace_format(const ld_trace *t);
uint64_t ld_trace_skipped(const ld_trace *t);   /* lenient: bad records skipped */
uint64_t ld_trace_lines(const ld_trace *t);     /* lines read so far */
int ld_trace_close(ld_trace *t);

/* The site key of an mtrace CALLER (for tests): "base:sym+0xoff" or "base:0xoff". */
size_t ld_mtrace_site(const char *p, size_t n, char *out, size_t cap);

#endif
