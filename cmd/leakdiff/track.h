/* track — replay heap events into live blocks, per-site and per-type
 * figures, the exact peak, snapshots and a timeline.
 *
 * Memory is bounded by the live set, not the trace: one 24-byte slot per
 * live block in an open-addressing table keyed by address (one cache miss
 * per event, and ld_track_prefetch() lets a reader overlap them), one
 * ld_stat per site and type, the per-site figures of each snapshot, a
 * timeline of at most 2 * LD_POINTS points and at most LD_WINDOWS automatic
 * windows (both thinned by halving as the trace grows). A freed block stays
 * in its slot as a "freed" mark (to tell a double free from a free of an
 * address never seen) until its address is reused, or until the marks
 * outnumber max(live / 2, LD_FREED_MIN) and the older half of them is swept:
 * so at least the last LD_FREED_MIN / 2 frees are remembered.
 *
 * The peak is exact: every allocation compares the live total with the
 * highest so far. Each site's share of it is kept lazily: a site remembers
 * its live bytes as of the latest peak only when it changes after it, so a
 * new peak costs O(1), not O(sites).
 *
 * Findings (free or realloc of an unknown block, double free, an allocation
 * at an address still live) are counted and the first LD_MAX_FINDINGS kept
 * with their line. Nothing here prints or fails: bad input never crashes it.
 *
 * Sites and types are the ids of the trace reader's intern tables, shared by
 * every ld_track of a run. One ld_track per thread. */
#ifndef LD_TRACK_H
#define LD_TRACK_H

#include <stddef.h>
#include <stdint.h>

#include "map.h"
#include "trace.h"
#include "vec.h"

enum { LD_POINTS = 512, LD_WINDOWS = 32, LD_MAX_FINDINGS = 1000, LD_FREED_MIN = 1 << 16 };

/* Figures of one site (or type, or size class). */
typedef struct {
    uint64_t live_bytes, live_blocks;
    uint64_t allocs, alloc_bytes;   /* blocks made here (allocations and reallocations), bytes */
    uint64_t frees;                 /* blocks made here and freed (or moved by realloc) */
    uint64_t max_live;              /* highest live bytes of this site alone */
    uint64_t at_peak_v, changed;    /* lazy share of the global peak (see above) */
    uint64_t reallocs, small_steps; /* reallocations made here; those growing by < 1.5x */
    uint64_t short_lived;           /* blocks freed within LD_SHORT events */
    uint64_t small;                 /* blocks of at most 64 bytes */
    uint64_t first_event;           /* event number of the first block made here */
} ld_stat;

enum { LD_SHORT = 64 };

typedef enum { LD_F_UNKNOWN_FREE, LD_F_DOUBLE_FREE, LD_F_UNKNOWN_REALLOC, LD_F_LIVE_ALLOC } ld_fkind;

typedef struct {
    ld_fkind kind;
    uint64_t line, addr, other_line;   /* other_line: the earlier free of a double free */
    uint32_t site;
} ld_finding;

/* Per-site live figures at one moment. */
typedef struct {
    uint32_t site;
    uint64_t bytes, blocks;
} ld_point_site;

typedef struct {
    char *label;               /* snapshots: the label (owned); windows: NULL */
    uint64_t event, line, ts;
    int has_ts;
    uint64_t live_bytes, live_blocks, peak_bytes;
    size_t off, n;             /* its ld_point_site entries */
} ld_snap;

/* One timeline point: the live bytes at its end and the highest inside. */
typedef struct {
    uint64_t event, line, ts;
    uint64_t live_end, live_max;
    uint64_t allocs, frees;
} ld_tpoint;

typedef struct {
    uint64_t events, allocs, frees, reallocs, realloc_fails, total_bytes;
    uint64_t live_bytes, live_blocks;
    uint64_t peak_bytes, peak_event, peak_line, peak_ts;
    int peak_has_ts, has_ts;
    uint64_t first_ts, last_ts, last_line;
    uint64_t findings[4];
} ld_totals;

/* A live block, as ld_track_next_live() hands it out. */
typedef struct {
    uint64_t addr, size, event;
    uint32_t site, type;
} ld_block;

/* A table slot, packed into 24 bytes: size and type share one word (40 and
 * 24 bits), the allocation's event number and site the other. A size of
 * 2^40 - 1 or more is kept in `big` instead. A freed mark has the site
 * 0xffffff and the line of its free as event; an empty slot has addr 0 (no
 * block lives at address 0). So sites and types are limited to 2^24 - 2. */
typedef struct {
    uint64_t addr, size_type, event_site;
} ld_slot;

typedef struct ld_track {
    ld_totals t;
    mk_vec sites, types;       /* ld_stat by site id / by type id */
    ld_slot *slots;            /* the block table */
    size_t cap, used, freed;   /* slots; non-empty ones; freed marks among them */
    mk_imap big;               /* addr -> size, for sizes of 2^40 - 1 and more */
    mk_vec findings;           /* ld_finding, the first LD_MAX_FINDINGS */
    mk_vec snaps, snap_sites;  /* ld_snap, ld_point_site */
    mk_vec wins, win_sites;    /* automatic windows, same layout */
    uint64_t win_every;        /* events per window */
    mk_vec points;             /* ld_tpoint */
    uint64_t point_every;      /* events per timeline point */
    ld_tpoint cur;             /* the point being filled */
    uint32_t size_class[65];   /* type ids of "size class" pseudo-types */
    mk_intern *typenames;
} ld_track;

void ld_track_init(ld_track *k, mk_intern *types);
void ld_track_free(ld_track *k);
void ld_track_event(ld_track *k, const ld_event *ev);
void ld_track_end(ld_track *k);   /* close the last timeline point */

/* A site's or type's figures, sized on demand (ids beyond the end are zero). */
ld_stat *ld_track_site(ld_track *k, uint32_t site);
ld_stat *ld_track_type(ld_track *k, uint32_t type);
/* Blocks live now, in table order: *it starts at 0; 0 at the end. */
int ld_track_next_live(const ld_track *k, size_t *it, ld_block *b);
/* Whether a block lives at addr now. */
int ld_track_is_live(const ld_track *k, uint64_t addr);
/* Start loading the slot of addr (a reader calls it a few events ahead). */
void ld_track_prefetch(const ld_track *k, uint64_t addr);
/* A stat's live bytes at the global peak. */
uint64_t ld_stat_at_peak(const ld_track *k, const ld_stat *s);
/* Type id used for blocks without t=: their power-of-two size class. */
uint32_t ld_track_size_class(ld_track *k, uint64_t size);

#endif
