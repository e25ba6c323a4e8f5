/* live — the recorder's table of live blocks: what `leakdiff record` needs
 * on its hot path to print current and peak memory and the top sites at the
 * end, and to name a freed block by the event that made it ("^N" in the
 * trace). The analysis's ld_track keeps much more (freed marks for double
 * frees, timelines, windows, per-type figures); the recorder leaves all of
 * that to the analysis of the trace it writes, and pays for this subset
 * only.
 *
 * Open addressing in groups of 16 slots, as in Abseil's "Swiss tables":
 * one control byte a slot (empty, a tombstone, or 7 bits of the hash), so
 * a probe compares 16 slots with one SSE2 instruction and rarely looks at
 * a key it does not want; a freed slot becomes empty again unless its group
 * is full (then a tombstone, swept when they mount up). At most half the
 * slots are live: 50-100 bytes a live block. Measured on the ring
 * benchmark's addresses, a pair of add and delete took 14.5 ns, against 21
 * for linear probing with backward-shift deletion at 3/8 full (40 at half
 * full: mispredicted branches over probe runs) and 50 for ld_track. Sites
 * are limited to 2^24 - 1 and event numbers wrap at 2^40 (only their
 * differences are used).
 *
 * One ld_live per process image; not thread-safe; it owns its memory. */
#ifndef LD_LIVE_H
#define LD_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include "vec.h"

#define LD_LIVE_MADE_MASK ((UINT64_C(1) << 40) - 1)

typedef struct {
    uint64_t size;
    uint64_t made_site;     /* the event that made it (low 40 bits), its site (high 24) */
} ld_live_val;

typedef struct {
    uint64_t bytes, blocks;
} ld_live_site;

typedef struct {
    uint8_t *ctrl;                  /* per slot: LD_LIVE_EMPTY, LD_LIVE_GONE or a 7-bit tag */
    uint64_t *keys;                 /* addresses */
    ld_live_val *vals;
    size_t cap, used, gone;         /* slots (a multiple of 16); live; tombstones */
    uint64_t bytes, blocks, peak;   /* live now, and the most bytes live at once */
    mk_vec sites;                   /* ld_live_site by site id, grown on demand */
} ld_live;

void ld_live_init(ld_live *l);
void ld_live_free(ld_live *l);

/* A block at addr (not 0) made by event made: 1, or 0 if a block lives at
 * addr already (nothing changes then). */
int ld_live_add(ld_live *l, uint64_t addr, uint64_t size, uint32_t site, uint64_t made);
/* The block at addr is gone: the number of the event that made it in the
 * low 40 bits (bit 40 set, so never 0), or 0 if none lived there. */
uint64_t ld_live_del(ld_live *l, uint64_t addr);
int ld_live_has(const ld_live *l, uint64_t addr);
enum { LD_LIVE_GROUP = 16, LD_LIVE_EMPTY = 0x80, LD_LIVE_GONE = 0xfe };

static inline uint64_t ld_live_hash(uint64_t addr)
{
    return addr * UINT64_C(0x9E3779B97F4A7C15);
}

/* The first slot of the group where addr's probe starts. */
static inline size_t ld_live_home(uint64_t h, size_t cap)
{
    return (size_t)(h >> 32) & (cap - LD_LIVE_GROUP);
}

/* Start loading addr's group: the caller adds or deletes it a little later. */
static inline void ld_live_prefetch(const ld_live *l, uint64_t addr)
{
    size_t i = ld_live_home(ld_live_hash(addr), l->cap);
    __builtin_prefetch(&l->ctrl[i], 1);
    __builtin_prefetch(&l->keys[i], 1);
    __builtin_prefetch(&l->vals[i], 1);
}

/* Blocks live now, in table order: *it starts at 0; 0 at the end. */
int ld_live_next(const ld_live *l, size_t *it, uint64_t *addr, uint64_t *size, uint32_t *site);
/* A site's live bytes and blocks (zero for a site never seen). */
ld_live_site ld_live_site_of(const ld_live *l, uint32_t site);

#endif
