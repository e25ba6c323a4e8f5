/* track — replay heap events into live blocks and figures (see track.h). */
#include "track.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Both start at one event, so a short trace is seen exactly; halving keeps
 * a long one within LD_WINDOWS windows and 2 * LD_POINTS points. */
enum { FIRST_WINDOW = 1, FIRST_POINT = 1 };

void ld_track_init(ld_track *k, mk_intern *types)
{
    memset(k, 0, sizeof *k);
    mk_vec_init(&k->sites, sizeof(ld_stat));
    mk_vec_init(&k->types, sizeof(ld_stat));
    k->cap = 1024;
    k->slots = mk_xcalloc(k->cap, sizeof *k->slots);
    mk_imap_init(&k->big, 0);
    mk_vec_init(&k->findings, sizeof(ld_finding));
    mk_vec_init(&k->snaps, sizeof(ld_snap));
    mk_vec_init(&k->snap_sites, sizeof(ld_point_site));
    mk_vec_init(&k->wins, sizeof(ld_snap));
    mk_vec_init(&k->win_sites, sizeof(ld_point_site));
    mk_vec_init(&k->points, sizeof(ld_tpoint));
    k->win_every = FIRST_WINDOW;
    k->point_every = FIRST_POINT;
    k->typenames = types;
    for (size_t i = 0; i < sizeof k->size_class / sizeof *k->size_class; i++)
        k->size_class[i] = UINT32_MAX;
}

void ld_track_free(ld_track *k)
{
    for (size_t i = 0; i < mk_vec_len(&k->snaps); i++)
        free(((ld_snap *)mk_vec_get(&k->snaps, i))->label);
    mk_vec_free(&k->sites);
    mk_vec_free(&k->types);
    free(k->slots);
    mk_imap_free(&k->big);
    mk_vec_free(&k->findings);
    mk_vec_free(&k->snaps);
    mk_vec_free(&k->snap_sites);
    mk_vec_free(&k->wins);
    mk_vec_free(&k->win_sites);
    mk_vec_free(&k->points);
}

/* ---- figures --------------------------------------------------------------------- */

static ld_stat *stat_of(mk_vec *v, uint32_t id)
{
    size_t n = mk_vec_len(v);
    if (id >= n) {
        size_t want = (size_t)id + 1 > n * 2 ? (size_t)id + 1 : n * 2;
        memset(mk_vec_push_n(v, want - n), 0, (want - n) * sizeof(ld_stat));
    }
    return mk_vec_get(v, id);
}

ld_stat *ld_track_site(ld_track *k, uint32_t site) { return stat_of(&k->sites, site); }
ld_stat *ld_track_type(ld_track *k, uint32_t type) { return stat_of(&k->types, type); }

uint64_t ld_stat_at_peak(const ld_track *k, const ld_stat *s)
{
    return s->changed <= k->t.peak_event ? s->live_bytes : s->at_peak_v;
}

/* c with 2^(c-1) < size <= 2^c; sizes up to 16 share class 4. */
static int class_index(uint64_t size)
{
    return size <= 16 ? 4 : 64 - __builtin_clzll(size - 1);
}

uint32_t ld_track_size_class(ld_track *k, uint64_t size)
{
    int c = class_index(size);
    if (k->size_class[c] == UINT32_MAX) {
        char name[64];
        if (c == 4)
            snprintf(name, sizeof name, "size 0..16");
        else if (c >= 64)
            snprintf(name, sizeof name, "size %llu..", (unsigned long long)(1ull << 63) + 1);
        else
            snprintf(name, sizeof name, "size %llu..%llu", (unsigned long long)(1ull << (c - 1)) + 1,
                     (unsigned long long)(1ull << c));
        k->size_class[c] = mk_intern_id(k->typenames, name, strlen(name));
    }
    return k->size_class[c];
}

/* Before a stat changes: keep its value at the latest peak if it has not
 * changed since (see track.h). */
static inline void touch(const ld_track *k, ld_stat *s)
{
    if (s->changed <= k->t.peak_event)
        s->at_peak_v = s->live_bytes;
    s->changed = k->t.events;
}

static void stat_add(ld_track *k, ld_stat *s, uint64_t size)
{
    touch(k, s);
    if (!s->allocs)
        s->first_event = k->t.events;
    s->allocs++;
    s->alloc_bytes += size;
    s->live_bytes += size;
    s->live_blocks++;
    if (size <= 64)
        s->small++;
    if (s->live_bytes > s->max_live)
        s->max_live = s->live_bytes;
}

static void stat_remove(ld_track *k, ld_stat *s, uint64_t size)
{
    touch(k, s);
    s->live_bytes -= size;
    s->live_blocks--;
    s->frees++;
}

/* ---- findings ------------------------------------------------------------------- */

static void finding(ld_track *k, ld_fkind kind, const ld_event *ev, uint64_t addr, uint64_t other)
{
    k->t.findings[kind]++;
    if (mk_vec_len(&k->findings) < LD_MAX_FINDINGS)
        *(ld_finding *)mk_vec_push(&k->findings) = (ld_finding){ kind, ev->line, addr, other, ev->site };
}

/* ---- blocks ------------------------------------------------------------------------ */

/* ---- the block table ---------------------------------------------------------------
 * Linear probing over addresses, home slot by multiply-shift (capacities need
 * not be powers of two, so the table grows by half). A free leaves a freed
 * mark in place; marks are overwritten when the address comes back, and
 * swept all at once when there are too many. No other deletion exists, so
 * probing needs no tombstone logic of its own. */

enum { LOW_BITS = 40 };
#define LOW_MASK ((UINT64_C(1) << LOW_BITS) - 1)
#define FREED_SITE UINT32_C(0xffffff)

static inline uint32_t slot_site(const ld_slot *s) { return (uint32_t)(s->event_site >> LOW_BITS); }
static inline uint32_t slot_type(const ld_slot *s) { return (uint32_t)(s->size_type >> LOW_BITS); }
static inline uint64_t slot_event(const ld_slot *s) { return s->event_site & LOW_MASK; }
static inline int slot_freed(const ld_slot *s) { return slot_site(s) == FREED_SITE; }

static uint64_t slot_size(const ld_track *k, const ld_slot *s)
{
    uint64_t v = s->size_type & LOW_MASK;
    if (v == LOW_MASK) {
        const uint64_t *big = mk_imap_get(&k->big, s->addr);
        if (big)
            return *big;
    }
    return v;
}

static void slot_set(ld_track *k, ld_slot *s, uint64_t addr, uint64_t size, uint32_t site, uint32_t type)
{
    if (site >= FREED_SITE || type >= FREED_SITE)
        mk_die("more than %u distinct sites or types: not supported", (unsigned)FREED_SITE - 1);
    uint64_t sz = size;
    if (size >= LOW_MASK) {
        int ins;
        *mk_imap_put(&k->big, addr, &ins) = size;
        sz = LOW_MASK;
    }
    s->addr = addr;
    s->size_type = sz | (uint64_t)type << LOW_BITS;
    s->event_site = (k->t.events & LOW_MASK) | (uint64_t)site << LOW_BITS;
}

static inline size_t home(uint64_t addr, size_t cap)
{
    uint64_t h = addr * 0x9E3779B97F4A7C15ull;
    return (size_t)(((unsigned __int128)h * cap) >> 64);
}

void ld_track_prefetch(const ld_track *k, uint64_t addr)
{
    __builtin_prefetch(&k->slots[home(addr, k->cap)]);
}

/* The slot holding addr, or the empty slot where it would go. */
static ld_slot *find(const ld_track *k, uint64_t addr)
{
    size_t i = home(addr, k->cap);
    for (;;) {
        ld_slot *b = &k->slots[i];
        if (b->addr == addr || b->addr == 0)
            return b;
        i = i + 1 == k->cap ? 0 : i + 1;
    }
}

static void put_raw(ld_slot *slots, size_t cap, const ld_slot *b)
{
    size_t i = home(b->addr, cap);
    while (slots[i].addr)
        i = i + 1 == cap ? 0 : i + 1;
    slots[i] = *b;
}

/* Drop the older half of the freed marks (by the line of their free), then
 * move each remaining entry to the first empty slot from its home, scanning
 * from an empty slot so clusters stay whole. */
static void sweep(ld_track *k)
{
    uint64_t lo = UINT64_MAX, hi = 0;
    for (size_t i = 0; i < k->cap; i++)
        if (k->slots[i].addr && slot_freed(&k->slots[i])) {
            uint64_t l = slot_event(&k->slots[i]);
            lo = l < lo ? l : lo;
            hi = l > hi ? l : hi;
        }
    uint64_t cut = lo + (hi - lo) / 2 + 1;
    /* The scan must start at a slot that was empty before the marks go:
     * no probe run crosses it, so every entry after it has its home
     * between it and the entry. A slot emptied just now may sit inside a
     * run that wraps around the end of the table, and entries re-placed
     * from there would land beyond holes opened later (found by
     * `leakdiff record` on two threads: a live block became unfindable). */
    size_t start = 0;
    while (k->slots[start].addr)
        start++;
    for (size_t i = 0; i < k->cap; i++)
        if (k->slots[i].addr && slot_freed(&k->slots[i]) && slot_event(&k->slots[i]) < cut) {
            k->slots[i].addr = 0;
            k->used--;
            k->freed--;
        }
    for (size_t j = 1; j <= k->cap; j++) {
        size_t i = (start + j) % k->cap;
        if (!k->slots[i].addr)
            continue;
        ld_slot b = k->slots[i];
        k->slots[i].addr = 0;
        put_raw(k->slots, k->cap, &b);
    }
}

/* Room for one more slot: sweep marks when they are many, else grow by half
 * (at most 3/4 full: probes stay short, and the old and new arrays together
 * stay small at the moment of growth). */
static void make_room(ld_track *k)
{
    if ((k->used + 1) * 4 < k->cap * 3)
        return;
    uint64_t live = k->used - k->freed;
    if (k->freed > live / 2 && k->freed > 1024) {
        sweep(k);
        if ((k->used + 1) * 4 < k->cap * 3)
            return;
    }
    size_t ncap = k->cap + k->cap / 2;
    ld_slot *ns = mk_xcalloc(ncap, sizeof *ns);
    for (size_t i = 0; i < k->cap; i++)
        if (k->slots[i].addr)
            put_raw(ns, ncap, &k->slots[i]);
    free(k->slots);
    k->slots = ns;
    k->cap = ncap;
}

int ld_track_next_live(const ld_track *k, size_t *it, ld_block *b)
{
    for (; *it < k->cap; (*it)++) {
        const ld_slot *s = &k->slots[*it];
        if (s->addr && !slot_freed(s)) {
            *b = (ld_block){ s->addr, slot_size(k, s), slot_event(s), slot_site(s), slot_type(s) };
            (*it)++;
            return 1;
        }
    }
    return 0;
}

int ld_track_is_live(const ld_track *k, uint64_t addr)
{
    if (!k->cap || !addr)
        return 0;
    const ld_slot *s = find(k, addr);
    return s->addr == addr && !slot_freed(s);
}

/* ---- blocks ------------------------------------------------------------------------ */

static uint32_t type_of(ld_track *k, uint32_t type, uint64_t size)
{
    return type != LD_NO_TYPE ? type : ld_track_size_class(k, size);
}

/* The block in slot b is freed: figures down, the slot becomes a mark. */
static void release(ld_track *k, ld_slot *b, uint64_t line)
{
    uint64_t size = slot_size(k, b);
    if ((b->size_type & LOW_MASK) == LOW_MASK)
        mk_imap_del(&k->big, b->addr);
    ld_stat *s = ld_track_site(k, slot_site(b));
    stat_remove(k, s, size);
    if (((k->t.events - slot_event(b)) & LOW_MASK) <= LD_SHORT)
        s->short_lived++;
    stat_remove(k, ld_track_type(k, slot_type(b)), size);
    k->t.live_bytes -= size;
    k->t.live_blocks--;
    b->event_site = (line & LOW_MASK) | (uint64_t)FREED_SITE << LOW_BITS;
    k->freed++;
    if (k->freed > LD_FREED_MIN && k->freed > k->t.live_blocks / 2)
        sweep(k);
}

static void place(ld_track *k, const ld_event *ev, uint64_t addr, uint64_t size, uint32_t type)
{
    if (addr == 0)
        return;                 /* a failed allocation: nothing lives there */
    ld_slot *b = find(k, addr);
    if (b->addr && !slot_freed(b)) {
        /* an address handed out twice: its free is missing from the trace */
        finding(k, LD_F_LIVE_ALLOC, ev, addr, 0);
        release(k, b, ev->line);
        b = find(k, addr);      /* a sweep may have moved it */
    }
    if (!b->addr) {
        make_room(k);
        b = find(k, addr);
        k->used++;
    } else {
        k->freed--;             /* a freed mark, overwritten */
    }
    uint32_t t = type_of(k, type, size);
    slot_set(k, b, addr, size, ev->site, t);
    stat_add(k, ld_track_site(k, ev->site), size);
    stat_add(k, ld_track_type(k, t), size);
    k->t.live_bytes += size;
    k->t.live_blocks++;
    k->t.total_bytes += size;
}

/* ---- moments: snapshots, windows, timeline points --------------------------------- */

static void capture(ld_track *k, mk_vec *snaps, mk_vec *entries, const ld_event *ev, const char *label,
                    size_t label_len)
{
    ld_snap *sn = mk_vec_push(snaps);
    *sn = (ld_snap){ NULL, k->t.events, ev->line, ev->ts, ev->has_ts, k->t.live_bytes,
                     k->t.live_blocks, k->t.peak_bytes, mk_vec_len(entries), 0 };
    if (label) {
        sn->label = mk_xmalloc(label_len + 1);
        memcpy(sn->label, label, label_len);
        sn->label[label_len] = 0;
    }
    size_t n = mk_vec_len(&k->sites);
    for (size_t i = 0; i < n; i++) {
        const ld_stat *s = mk_vec_get(&k->sites, i);
        if (s->live_blocks)
            *(ld_point_site *)mk_vec_push(entries) = (ld_point_site){ (uint32_t)i, s->live_bytes,
                                                                      s->live_blocks };
    }
    sn = mk_vec_get(snaps, mk_vec_len(snaps) - 1);
    sn->n = mk_vec_len(entries) - sn->off;
}

/* Windows are thinned to every other one when full, so they always span the
 * trace so far with at most LD_WINDOWS moments. */
static void thin_windows(ld_track *k)
{
    size_t n = mk_vec_len(&k->wins), w = 0, e = 0;
    ld_snap *ws = mk_vec_data(&k->wins);
    ld_point_site *es = mk_vec_data(&k->win_sites);
    for (size_t i = 1; i < n; i += 2) {
        ld_snap sn = ws[i];
        if (sn.n)   /* es is NULL while no window has a site */
            memmove(es + e, es + sn.off, sn.n * sizeof *es);
        sn.off = e;
        e += sn.n;
        ws[w++] = sn;
    }
    k->wins.len = w;
    k->win_sites.len = e;
    k->win_every *= 2;
}

static void point_end(ld_track *k, const ld_event *ev)
{
    ld_tpoint *p = &k->cur;
    p->event = k->t.events;
    p->line = ev->line;
    p->ts = ev->ts;
    p->live_end = k->t.live_bytes;
    *(ld_tpoint *)mk_vec_push(&k->points) = *p;
    *p = (ld_tpoint){ 0 };
    p->live_max = k->t.live_bytes;
    if (mk_vec_len(&k->points) == 2 * LD_POINTS) {
        ld_tpoint *ps = mk_vec_data(&k->points);
        for (size_t i = 0; i < LD_POINTS; i++) {
            ld_tpoint a = ps[2 * i], b = ps[2 * i + 1];
            b.live_max = a.live_max > b.live_max ? a.live_max : b.live_max;
            b.allocs += a.allocs;
            b.frees += a.frees;
            ps[i] = b;
        }
        k->points.len = LD_POINTS;
        k->point_every *= 2;
    }
}

/* ---- events ------------------------------------------------------------------------ */

static void on_free(ld_track *k, const ld_event *ev, uint64_t addr)
{
    ld_slot *b = find(k, addr);
    if (!b->addr) {
        finding(k, LD_F_UNKNOWN_FREE, ev, addr, 0);
        return;
    }
    if (slot_freed(b)) {
        finding(k, LD_F_DOUBLE_FREE, ev, addr, slot_event(b));
        return;
    }
    release(k, b, ev->line);
    k->cur.frees++;
}

static void on_realloc(ld_track *k, const ld_event *ev)
{
    ld_slot *b = find(k, ev->old);
    uint32_t type = ev->type;
    k->t.reallocs++;
    if (!b->addr || slot_freed(b)) {
        finding(k, LD_F_UNKNOWN_REALLOC, ev, ev->old, 0);
    } else {
        ld_stat *s = ld_track_site(k, ev->site);
        uint64_t size = slot_size(k, b);
        s->reallocs++;
        if (ev->size > size && ev->size < size + size / 2)
            s->small_steps++;
        /* The block keeps a type it was given; a size class follows the size. */
        if (type == LD_NO_TYPE && slot_type(b) != k->size_class[class_index(size)])
            type = slot_type(b);
        release(k, b, ev->line);
    }
    place(k, ev, ev->addr, ev->size, type);
}

void ld_track_event(ld_track *k, const ld_event *ev)
{
    if (ev->has_ts) {
        if (!k->t.has_ts)
            k->t.first_ts = ev->ts;
        k->t.has_ts = 1;
        k->t.last_ts = ev->ts;
    }
    k->t.last_line = ev->line;
    if (ev->kind == LD_SNAPSHOT) {
        capture(k, &k->snaps, &k->snap_sites, ev, ev->label, ev->label_len);
        return;
    }
    k->t.events++;
    switch (ev->kind) {
    case LD_ALLOC:
        k->t.allocs++;
        k->cur.allocs++;
        place(k, ev, ev->addr, ev->size, ev->type);
        break;
    case LD_FREE:
        if (ev->addr == 0)
            break;               /* free(NULL) */
        k->t.frees++;
        on_free(k, ev, ev->addr);
        break;
    case LD_REALLOC:
        if (ev->old == 0) {      /* realloc(NULL, n) allocates */
            k->t.allocs++;
            k->cur.allocs++;
            place(k, ev, ev->addr, ev->size, ev->type);
        } else if (ev->addr == 0 && ev->size == 0) {   /* realloc(p, 0) frees */
            k->t.frees++;
            on_free(k, ev, ev->old);
        } else {
            on_realloc(k, ev);
        }
        break;
    case LD_REALLOC_FAIL:
        k->t.realloc_fails++;
        break;
    case LD_SNAPSHOT:
        break;
    }
    if (k->t.live_bytes > k->t.peak_bytes) {
        k->t.peak_bytes = k->t.live_bytes;
        k->t.peak_event = k->t.events;
        k->t.peak_line = ev->line;
        k->t.peak_ts = ev->ts;
        k->t.peak_has_ts = ev->has_ts;
    }
    if (k->t.live_bytes > k->cur.live_max)
        k->cur.live_max = k->t.live_bytes;
    /* both periods are powers of two: a mask, not a division per event */
    if ((k->t.events & (k->point_every - 1)) == 0)
        point_end(k, ev);
    if ((k->t.events & (k->win_every - 1)) == 0) {
        capture(k, &k->wins, &k->win_sites, ev, NULL, 0);
        if (mk_vec_len(&k->wins) == LD_WINDOWS)
            thin_windows(k);
    }
}

void ld_track_end(ld_track *k)
{
    if ((k->t.events & (k->point_every - 1)) != 0) {
        ld_event ev = { .line = k->t.last_line, .ts = k->t.last_ts, .has_ts = k->t.has_ts };
        point_end(k, &ev);
    }
}
