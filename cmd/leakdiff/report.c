/* report — the tables leakdiff prints (see report.h). */
#include "report.h"
#include "err.h"
#include "map.h"
#include "parse.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- grouping by depth ------------------------------------------------------------ */

void ld_groups_init(ld_groups *g)
{
    mk_intern_init(&g->names, 0);
    mk_vec_init(&g->of, sizeof(uint32_t));
}

void ld_groups_free(ld_groups *g)
{
    mk_intern_free(&g->names);
    mk_vec_free(&g->of);
}

uint32_t ld_group_of(ld_groups *g, const ld_opts *o, uint32_t site)
{
    while (mk_vec_len(&g->of) <= site)
        *(uint32_t *)mk_vec_push(&g->of) = UINT32_MAX;
    uint32_t *v = mk_vec_get(&g->of, site);
    if (*v == UINT32_MAX) {
        size_t n;
        const char *s = mk_intern_str(o->sites, site, &n);
        size_t cut = n;
        if (o->depth) {
            unsigned frames = 0;
            for (size_t i = 0; i < n; i++)
                if (s[i] == '<' && ++frames == o->depth) {
                    cut = i;
                    break;
                }
        }
        *v = mk_intern_id(&g->names, s, cut);
    }
    return *v;
}

static const char *group_name(const ld_groups *g, uint32_t id, size_t *n)
{
    return mk_intern_str(&g->names, id, n);
}

int ld_suppressed(const ld_opts *o, const char *site, size_t len)
{
    if (!o->nsupp)
        return 0;
    char buf[4096];
    size_t n = len < sizeof buf - 1 ? len : sizeof buf - 1;
    memcpy(buf, site, n);
    buf[n] = 0;
    for (size_t i = 0; i < o->nsupp; i++) {
        if (fnmatch(o->supp[i], buf, 0) == 0)
            return 1;
        /* each frame on its own */
        char *save = NULL, tmp[4096];
        memcpy(tmp, buf, n + 1);
        for (char *f = strtok_r(tmp, "<", &save); f; f = strtok_r(NULL, "<", &save))
            if (fnmatch(o->supp[i], f, 0) == 0)
                return 1;
    }
    return 0;
}

/* ---- summary ------------------------------------------------------------------------ */

typedef struct {
    const char *name;
    int is_str;
    uint64_t v;
    const char *s;
} field;

void ld_summary_write(const ld_track *k, const char *format_name, mk_format f, mk_out *out)
{
    const ld_totals *t = &k->t;
    field fs[] = {
        { "format", 1, 0, format_name },
        { "events", 0, t->events, NULL },
        { "allocs", 0, t->allocs, NULL },
        { "frees", 0, t->frees, NULL },
        { "reallocs", 0, t->reallocs, NULL },
        { "realloc_failures", 0, t->realloc_fails, NULL },
        { "total_bytes", 0, t->total_bytes, NULL },
        { "live_bytes", 0, t->live_bytes, NULL },
        { "live_blocks", 0, t->live_blocks, NULL },
        { "peak_bytes", 0, t->peak_bytes, NULL },
        { "peak_at", 0, t->peak_has_ts ? t->peak_ts : t->peak_line, NULL },
        { "peak_line", 0, t->peak_line, NULL },
        { "peak_event", 0, t->peak_event, NULL },
        { "snapshots", 0, mk_vec_len(&k->snaps), NULL },
        { "sites", 0, 0, NULL },
        { "unknown_frees", 0, t->findings[LD_F_UNKNOWN_FREE], NULL },
        { "double_frees", 0, t->findings[LD_F_DOUBLE_FREE], NULL },
        { "unknown_reallocs", 0, t->findings[LD_F_UNKNOWN_REALLOC], NULL },
        { "reused_live", 0, t->findings[LD_F_LIVE_ALLOC], NULL },
    };
    size_t nf = sizeof fs / sizeof *fs;
    uint64_t nsites = 0;
    for (size_t i = 0; i < mk_vec_len(&k->sites); i++)
        nsites += ((const ld_stat *)mk_vec_get(&k->sites, i))->allocs != 0;
    fs[14].v = nsites;
    if (f == MK_FMT_JSON || f == MK_FMT_NDJSON) {
        mk_out_char(out, '{');
        for (size_t i = 0; i < nf; i++) {
            mk_out_printf(out, "%s\"%s\":", i ? "," : "", fs[i].name);
            if (fs[i].is_str)
                mk_out_json_str(out, fs[i].s, strlen(fs[i].s));
            else
                mk_out_u64(out, fs[i].v);
        }
        mk_out_str(out, f == MK_FMT_JSON ? "}\n" : "}\n");
        return;
    }
    if (f == MK_FMT_TSV || f == MK_FMT_CSV) {
        char sep = f == MK_FMT_TSV ? '\t' : ',';
        for (size_t i = 0; i < nf; i++) {
            if (i)
                mk_out_char(out, sep);
            mk_out_str(out, fs[i].name);
        }
        mk_out_char(out, '\n');
        for (size_t i = 0; i < nf; i++) {
            if (i)
                mk_out_char(out, sep);
            if (fs[i].is_str)
                mk_out_str(out, fs[i].s);
            else
                mk_out_u64(out, fs[i].v);
        }
        mk_out_char(out, '\n');
        return;
    }
    char b[MK_FMT_BUFSZ], d[MK_FMT_BUFSZ];
    mk_out_printf(out, "format          %s\n", format_name);
    mk_out_printf(out, "allocations     %llu (%llu reallocations, %llu frees)\n",
                  (unsigned long long)t->allocs, (unsigned long long)t->reallocs,
                  (unsigned long long)t->frees);
    mk_fmt_bytes(b, sizeof b, t->total_bytes);
    mk_out_printf(out, "allocated       %s in total\n", b);
    mk_fmt_bytes(b, sizeof b, t->live_bytes);
    mk_out_printf(out, "not freed       %s in %llu blocks at the end\n", b, (unsigned long long)t->live_blocks);
    mk_fmt_bytes(b, sizeof b, t->peak_bytes);
    if (t->peak_has_ts) {
        mk_fmt_duration(d, sizeof d, t->peak_ts);
        mk_out_printf(out, "peak            %s at %s (line %llu)\n", b, d, (unsigned long long)t->peak_line);
    } else {
        mk_out_printf(out, "peak            %s at line %llu\n", b, (unsigned long long)t->peak_line);
    }
    mk_out_printf(out, "sites           %llu\n", (unsigned long long)nsites);
    if (mk_vec_len(&k->snaps))
        mk_out_printf(out, "snapshots       %zu\n", mk_vec_len(&k->snaps));
    char ft[256];
    if (ld_findings_text(k, ft, sizeof ft))
        mk_out_printf(out, "findings        %s\n", ft);
}

int ld_findings_text(const ld_track *k, char *buf, size_t cap)
{
    const uint64_t *n = k->t.findings;
    if (!(n[0] + n[1] + n[2] + n[3]))
        return 0;
    snprintf(buf, cap, "%llu unknown frees, %llu double frees, %llu unknown reallocs, "
             "%llu allocations at a live address", (unsigned long long)n[LD_F_UNKNOWN_FREE],
             (unsigned long long)n[LD_F_DOUBLE_FREE], (unsigned long long)n[LD_F_UNKNOWN_REALLOC],
             (unsigned long long)n[LD_F_LIVE_ALLOC]);
    return 1;
}

/* Keep the rows that `keep` accepts, in order, then sort them: the common
 * end of every per-group accumulation. Returns how many are kept. */
static size_t keep_sorted(mk_vec *rows, int (*keep)(const void *), int (*cmp)(const void *, const void *))
{
    size_t n = 0, sz = rows->elem;
    char *d = mk_vec_data(rows);
    for (size_t i = 0; i < mk_vec_len(rows); i++)
        if (keep(d + i * sz)) {
            if (n != i)
                memcpy(d + n * sz, d + i * sz, sz);
            n++;
        }
    if (n > 1)
        qsort(d, n, sz, cmp);
    return n;
}

/* ---- top ------------------------------------------------------------------------------ */

typedef struct {
    uint32_t id;
    uint64_t live, blocks, at_peak, total, allocs, frees;
} toprow;

static ld_by sort_by;

static uint64_t top_key(const toprow *r)
{
    switch (sort_by) {
    case BY_PEAK: return r->at_peak;
    case BY_TOTAL: return r->total;
    case BY_COUNT: return r->allocs;
    default: return r->live;
    }
}

static int cmp_top(const void *a, const void *b)
{
    const toprow *x = a, *y = b;
    uint64_t kx = top_key(x), ky = top_key(y);
    if (kx != ky)
        return kx > ky ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int top_used(const void *r) { return ((const toprow *)r)->allocs != 0; }

mk_table *ld_top(ld_track *k, const ld_opts *o)
{
    ld_groups g;
    ld_groups_init(&g);
    mk_vec rows;
    mk_vec_init(&rows, sizeof(toprow));
    const mk_vec *src = o->by_type ? &k->types : &k->sites;
    for (size_t i = 0; i < mk_vec_len(src); i++) {
        const ld_stat *s = mk_vec_get(src, i);
        if (!s->allocs)
            continue;
        uint32_t gid = o->by_type ? (uint32_t)i : ld_group_of(&g, o, (uint32_t)i);
        while (mk_vec_len(&rows) <= gid)
            memset(mk_vec_push(&rows), 0, sizeof(toprow));
        toprow *r = mk_vec_get(&rows, gid);
        r->id = gid;
        r->live += s->live_bytes;
        r->blocks += s->live_blocks;
        r->at_peak += ld_stat_at_peak(k, s);
        r->total += s->alloc_bytes;
        r->allocs += s->allocs;
        r->frees += s->frees;
    }
    /* drop ids that never allocated (holes), then sort */
    sort_by = o->by;
    size_t n = keep_sorted(&rows, top_used, cmp_top);
    const toprow *rs = mk_vec_data(&rows);
    mk_table *t = mk_table_new();
    size_t c_site = mk_table_col(t, o->by_type ? "type" : "site", MK_COL_STR);
    size_t c_live = mk_table_col(t, "live_bytes", MK_COL_BYTES);
    size_t c_blocks = mk_table_col(t, "live_blocks", MK_COL_UINT);
    size_t c_peak = mk_table_col(t, "peak_bytes", MK_COL_BYTES);
    size_t c_total = mk_table_col(t, "total_bytes", MK_COL_BYTES);
    size_t c_allocs = mk_table_col(t, "allocs", MK_COL_UINT);
    size_t c_frees = mk_table_col(t, "frees", MK_COL_UINT);
    for (size_t i = 0; i < n && (!o->limit || i < o->limit); i++) {
        size_t nl;
        const char *name = o->by_type ? mk_intern_str(o->types, rs[i].id, &nl)
                                      : group_name(&g, rs[i].id, &nl);
        mk_table_row(t);
        mk_table_str(t, c_site, name, nl);
        mk_table_uint(t, c_live, rs[i].live);
        mk_table_uint(t, c_blocks, rs[i].blocks);
        mk_table_uint(t, c_peak, rs[i].at_peak);
        mk_table_uint(t, c_total, rs[i].total);
        mk_table_uint(t, c_allocs, rs[i].allocs);
        mk_table_uint(t, c_frees, rs[i].frees);
    }
    mk_vec_free(&rows);
    ld_groups_free(&g);
    return t;
}

/* ---- leaks ------------------------------------------------------------------------------ */

typedef struct {
    uint32_t id;
    uint64_t bytes, blocks, min, max;
} leakrow;

/* Groups are numbered in the block table's order, which follows the
 * addresses: ties go by name, so the report depends only on the events. */
static const ld_groups *leak_groups;

static int cmp_leak(const void *a, const void *b)
{
    const leakrow *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    if (x->blocks != y->blocks)
        return x->blocks > y->blocks ? -1 : 1;
    size_t nx, ny;
    const char *sx = group_name(leak_groups, x->id, &nx), *sy = group_name(leak_groups, y->id, &ny);
    int c = memcmp(sx, sy, nx < ny ? nx : ny);
    return c ? c : (nx > ny) - (nx < ny);
}

static int leak_used(const void *r) { return ((const leakrow *)r)->blocks != 0; }

/* Per site: 0 unknown, 1 kept, 2 suppressed. */
static int site_suppressed(mk_vec *cache, const ld_opts *o, uint32_t site)
{
    while (mk_vec_len(cache) <= site)
        *(uint8_t *)mk_vec_push(cache) = 0;
    uint8_t *c = mk_vec_get(cache, site);
    if (!*c) {
        size_t n;
        const char *s = mk_intern_str(o->sites, site, &n);
        *c = ld_suppressed(o, s, n) ? 2 : 1;
    }
    return *c == 2;
}

mk_table *ld_leaks(ld_track *k, const ld_opts *o, uint64_t *leak_blocks, uint64_t *supp_bytes,
                   uint64_t *supp_blocks)
{
    ld_groups g;
    ld_groups_init(&g);
    mk_vec rows, cache;
    mk_vec_init(&rows, sizeof(leakrow));
    mk_vec_init(&cache, 1);
    *leak_blocks = *supp_bytes = *supp_blocks = 0;
    size_t it = 0;
    ld_block blk;
    const ld_block *b = &blk;
    while (ld_track_next_live(k, &it, &blk)) {
        if (site_suppressed(&cache, o, b->site)) {
            *supp_bytes += b->size;
            (*supp_blocks)++;
            continue;
        }
        uint32_t gid = ld_group_of(&g, o, b->site);
        while (mk_vec_len(&rows) <= gid)
            memset(mk_vec_push(&rows), 0, sizeof(leakrow));
        leakrow *r = mk_vec_get(&rows, gid);
        if (!r->blocks || b->size < r->min)
            r->min = b->size;
        if (b->size > r->max)
            r->max = b->size;
        r->id = gid;
        r->bytes += b->size;
        r->blocks++;
        (*leak_blocks)++;
    }
    leak_groups = &g;
    size_t n = keep_sorted(&rows, leak_used, cmp_leak);
    const leakrow *rs = mk_vec_data(&rows);
    mk_table *t = mk_table_new();
    size_t c_site = mk_table_col(t, "site", MK_COL_STR);
    size_t c_bytes = mk_table_col(t, "bytes", MK_COL_BYTES);
    size_t c_blocks = mk_table_col(t, "blocks", MK_COL_UINT);
    size_t c_min = mk_table_col(t, "min_size", MK_COL_UINT);
    size_t c_max = mk_table_col(t, "max_size", MK_COL_UINT);
    for (size_t i = 0; i < n && (!o->limit || i < o->limit); i++) {
        size_t nl;
        const char *name = group_name(&g, rs[i].id, &nl);
        mk_table_row(t);
        mk_table_str(t, c_site, name, nl);
        mk_table_uint(t, c_bytes, rs[i].bytes);
        mk_table_uint(t, c_blocks, rs[i].blocks);
        mk_table_uint(t, c_min, rs[i].min);
        mk_table_uint(t, c_max, rs[i].max);
    }
    mk_vec_free(&rows);
    mk_vec_free(&cache);
    ld_groups_free(&g);
    return t;
}

/* ---- growth ----------------------------------------------------------------------------- */

typedef struct {
    uint64_t prev, cur;
    uint64_t run, run_from, run_b0;
    uint64_t best, best_from, best_to, best_b0, best_b1;
    int seen;
} growth;

typedef struct {
    uint32_t id;
    growth *g;
} growrow;

/* The longest steady growth first (a leak grows at every step), then the
 * largest. */
static int cmp_grow(const void *a, const void *b)
{
    const growrow *x = a, *y = b;
    if (x->g->best != y->g->best)
        return x->g->best > y->g->best ? -1 : 1;
    uint64_t gx = x->g->best_b1 - x->g->best_b0, gy = y->g->best_b1 - y->g->best_b0;
    if (gx != gy)
        return gx > gy ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static void moment_name(const ld_snap *s, char *buf, size_t cap)
{
    if (s->label)
        snprintf(buf, cap, "%s", s->label);
    else
        snprintf(buf, cap, "event %llu", (unsigned long long)s->event);
}

mk_table *ld_growth(ld_track *k, const ld_opts *o, uint64_t *nsus)
{
    /* Markers when there are enough of them, else the automatic windows. */
    const mk_vec *snaps = &k->snaps, *ents = &k->snap_sites;
    if (mk_vec_len(snaps) < o->min_rises + 1) {
        snaps = &k->wins;
        ents = &k->win_sites;
    }
    ld_groups gr;
    ld_groups_init(&gr);
    mk_vec gs;
    mk_vec_init(&gs, sizeof(growth));
    size_t ns = mk_vec_len(snaps);
    for (size_t j = 0; j < ns; j++) {
        const ld_snap *sn = mk_vec_get(snaps, j);
        for (size_t e = 0; e < sn->n; e++) {
            const ld_point_site *p = mk_vec_get(ents, sn->off + e);
            uint32_t gid = ld_group_of(&gr, o, p->site);
            while (mk_vec_len(&gs) <= gid)
                memset(mk_vec_push(&gs), 0, sizeof(growth));
            growth *g = mk_vec_get(&gs, gid);
            g->cur += p->bytes;
            g->seen = 1;
        }
        for (size_t i = 0; i < mk_vec_len(&gs); i++) {
            growth *g = mk_vec_get(&gs, i);
            if (j > 0 && g->cur > g->prev) {
                if (!g->run) {
                    g->run_from = j - 1;
                    g->run_b0 = g->prev;
                }
                g->run++;
                if (g->run > g->best) {
                    g->best = g->run;
                    g->best_from = g->run_from;
                    g->best_to = j;
                    g->best_b0 = g->run_b0;
                    g->best_b1 = g->cur;
                }
            } else {
                g->run = 0;
            }
            g->prev = g->cur;
            g->cur = 0;
        }
    }
    mk_vec rows;
    mk_vec_init(&rows, sizeof(growrow));
    for (size_t i = 0; i < mk_vec_len(&gs); i++) {
        growth *g = mk_vec_get(&gs, i);
        size_t nl;
        const char *name = group_name(&gr, (uint32_t)i, &nl);
        if (g->best >= o->min_rises && g->best > 0 && !ld_suppressed(o, name, nl))
            *(growrow *)mk_vec_push(&rows) = (growrow){ (uint32_t)i, g };
    }
    *nsus = mk_vec_len(&rows);
    if (mk_vec_len(&rows) > 1)
        qsort(mk_vec_data(&rows), mk_vec_len(&rows), sizeof(growrow), cmp_grow);
    mk_table *t = mk_table_new();
    size_t c_site = mk_table_col(t, "site", MK_COL_STR);
    size_t c_rises = mk_table_col(t, "rises", MK_COL_UINT);
    size_t c_growth = mk_table_col(t, "growth_bytes", MK_COL_BYTES);
    size_t c_b0 = mk_table_col(t, "bytes_from", MK_COL_BYTES);
    size_t c_b1 = mk_table_col(t, "bytes_to", MK_COL_BYTES);
    size_t c_from = mk_table_col(t, "from", MK_COL_STR);
    size_t c_to = mk_table_col(t, "to", MK_COL_STR);
    size_t c_step = mk_table_col(t, "bytes_per_step", MK_COL_FLOAT);
    size_t c_rate = mk_table_col(t, "bytes_per_s", MK_COL_FLOAT);
    for (size_t i = 0; i < mk_vec_len(&rows) && (!o->limit || i < o->limit); i++) {
        const growrow *r = mk_vec_get(&rows, i);
        const growth *g = r->g;
        const ld_snap *a = mk_vec_get(snaps, g->best_from), *b = mk_vec_get(snaps, g->best_to);
        size_t nl;
        const char *name = group_name(&gr, r->id, &nl);
        char fa[256], fb[256];
        moment_name(a, fa, sizeof fa);
        moment_name(b, fb, sizeof fb);
        uint64_t grow = g->best_b1 - g->best_b0;
        mk_table_row(t);
        mk_table_str(t, c_site, name, nl);
        mk_table_uint(t, c_rises, g->best);
        mk_table_uint(t, c_growth, grow);
        mk_table_uint(t, c_b0, g->best_b0);
        mk_table_uint(t, c_b1, g->best_b1);
        mk_table_cstr(t, c_from, fa);
        mk_table_cstr(t, c_to, fb);
        mk_table_float(t, c_step, (double)grow / (double)g->best);
        if (a->has_ts && b->has_ts && b->ts > a->ts)
            mk_table_float(t, c_rate, (double)grow * 1e9 / (double)(b->ts - a->ts));
    }
    mk_vec_free(&rows);
    mk_vec_free(&gs);
    ld_groups_free(&gr);
    return t;
}

/* ---- timeline ----------------------------------------------------------------------------- */

mk_table *ld_timeline(const ld_track *k, const ld_opts *o)
{
    size_t np = mk_vec_len(&k->points), nb = o->buckets ? o->buckets : 20;
    if (nb > np)
        nb = np;
    mk_table *t = mk_table_new();
    size_t c_event = mk_table_col(t, "event", MK_COL_UINT);
    size_t c_line = mk_table_col(t, "line", MK_COL_UINT);
    size_t c_ts = k->t.has_ts ? mk_table_col(t, "ts", MK_COL_DURATION) : 0;
    size_t c_live = mk_table_col(t, "live_bytes", MK_COL_BYTES);
    size_t c_max = mk_table_col(t, "max_bytes", MK_COL_BYTES);
    size_t c_allocs = mk_table_col(t, "allocs", MK_COL_UINT);
    size_t c_frees = mk_table_col(t, "frees", MK_COL_UINT);
    size_t c_peak = mk_table_col(t, "peak", MK_COL_STR);
    const ld_tpoint *ps = mk_vec_data(&k->points);
    uint64_t prev_event = 0;
    for (size_t b = 0; b < nb; b++) {
        size_t from = b * np / nb, to = (b + 1) * np / nb;
        ld_tpoint r = { 0 };
        for (size_t i = from; i < to; i++) {
            if (ps[i].live_max > r.live_max)
                r.live_max = ps[i].live_max;
            r.allocs += ps[i].allocs;
            r.frees += ps[i].frees;
        }
        const ld_tpoint *last = &ps[to - 1];
        mk_table_row(t);
        mk_table_uint(t, c_event, last->event);
        mk_table_uint(t, c_line, last->line);
        if (k->t.has_ts)
            mk_table_uint(t, c_ts, last->ts);
        mk_table_uint(t, c_live, last->live_end);
        mk_table_uint(t, c_max, r.live_max);
        mk_table_uint(t, c_allocs, r.allocs);
        mk_table_uint(t, c_frees, r.frees);
        if (k->t.peak_bytes && k->t.peak_event > prev_event && k->t.peak_event <= last->event)
            mk_table_cstr(t, c_peak, "peak");
        prev_event = last->event;
    }
    return t;
}

mk_table *ld_timeline_snapshots(const ld_track *k)
{
    mk_table *t = mk_table_new();
    size_t c_label = mk_table_col(t, "label", MK_COL_STR);
    size_t c_event = mk_table_col(t, "event", MK_COL_UINT);
    size_t c_line = mk_table_col(t, "line", MK_COL_UINT);
    size_t c_ts = k->t.has_ts ? mk_table_col(t, "ts", MK_COL_DURATION) : 0;
    size_t c_live = mk_table_col(t, "live_bytes", MK_COL_BYTES);
    size_t c_blocks = mk_table_col(t, "live_blocks", MK_COL_UINT);
    size_t c_peak = mk_table_col(t, "peak_bytes", MK_COL_BYTES);
    for (size_t i = 0; i < mk_vec_len(&k->snaps); i++) {
        const ld_snap *s = mk_vec_get(&k->snaps, i);
        mk_table_row(t);
        mk_table_cstr(t, c_label, s->label);
        mk_table_uint(t, c_event, s->event);
        mk_table_uint(t, c_line, s->line);
        if (k->t.has_ts && s->has_ts)
            mk_table_uint(t, c_ts, s->ts);
        mk_table_uint(t, c_live, s->live_bytes);
        mk_table_uint(t, c_blocks, s->live_blocks);
        mk_table_uint(t, c_peak, s->peak_bytes);
    }
    return t;
}

/* ---- diff ---------------------------------------------------------------------------------- */

long ld_snapshot_find(const ld_track *k, const char *label)
{
    for (size_t i = mk_vec_len(&k->snaps); i-- > 0;)
        if (strcmp(((const ld_snap *)mk_vec_get(&k->snaps, i))->label, label) == 0)
            return (long)i;
    return -1;
}

typedef struct {
    uint32_t id;
    uint64_t b0, b1, n0, n1;
} diffrow;

static int64_t bdiff(const diffrow *r) { return (int64_t)(r->b1 - r->b0); }

/* Largest growth first; equal changes by size after, then by first seen. */
static int cmp_diff(const void *a, const void *b)
{
    const diffrow *x = a, *y = b;
    int64_t dx = bdiff(x), dy = bdiff(y);
    if (dx != dy)
        return dx > dy ? -1 : 1;
    if (x->b1 != y->b1)
        return x->b1 > y->b1 ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int diff_used(const void *r)
{
    const diffrow *d = r;
    return d->n0 || d->n1;
}

static diffrow *diff_row(mk_vec *rows, uint32_t gid)
{
    while (mk_vec_len(rows) <= gid)
        memset(mk_vec_push(rows), 0, sizeof(diffrow));
    diffrow *r = mk_vec_get(rows, gid);
    r->id = gid;
    return r;
}

static void add_moment(mk_vec *rows, ld_groups *g, const ld_opts *o, ld_moment m, int after)
{
    if (m.snap >= 0) {
        const ld_snap *s = mk_vec_get(&m.k->snaps, (size_t)m.snap);
        for (size_t e = 0; e < s->n; e++) {
            const ld_point_site *p = mk_vec_get(&m.k->snap_sites, s->off + e);
            diffrow *r = diff_row(rows, ld_group_of(g, o, p->site));
            *(after ? &r->b1 : &r->b0) += p->bytes;
            *(after ? &r->n1 : &r->n0) += p->blocks;
        }
        return;
    }
    for (size_t i = 0; i < mk_vec_len(&m.k->sites); i++) {
        const ld_stat *s = mk_vec_get(&m.k->sites, i);
        if (!s->live_blocks)
            continue;
        diffrow *r = diff_row(rows, ld_group_of(g, o, (uint32_t)i));
        *(after ? &r->b1 : &r->b0) += s->live_bytes;
        *(after ? &r->n1 : &r->n0) += s->live_blocks;
    }
}

mk_table *ld_diff(ld_moment a, ld_moment b, const ld_opts *o)
{
    ld_groups g;
    ld_groups_init(&g);
    mk_vec rows;
    mk_vec_init(&rows, sizeof(diffrow));
    add_moment(&rows, &g, o, a, 0);
    add_moment(&rows, &g, o, b, 1);
    size_t n = keep_sorted(&rows, diff_used, cmp_diff);
    const diffrow *rs = mk_vec_data(&rows);
    mk_table *t = mk_table_new();
    size_t c_site = mk_table_col(t, "site", MK_COL_STR);
    size_t c_b0 = mk_table_col(t, "bytes_before", MK_COL_BYTES);
    size_t c_b1 = mk_table_col(t, "bytes_after", MK_COL_BYTES);
    size_t c_bd = mk_table_col(t, "bytes_diff", MK_COL_INT);
    size_t c_nd = mk_table_col(t, "count_diff", MK_COL_INT);
    size_t c_n0 = mk_table_col(t, "count_before", MK_COL_UINT);
    size_t c_n1 = mk_table_col(t, "count_after", MK_COL_UINT);
    for (size_t i = 0; i < n && (!o->limit || i < o->limit); i++) {
        size_t nl;
        const char *name = group_name(&g, rs[i].id, &nl);
        mk_table_row(t);
        mk_table_str(t, c_site, name, nl);
        mk_table_uint(t, c_b0, rs[i].b0);
        mk_table_uint(t, c_b1, rs[i].b1);
        mk_table_int(t, c_bd, bdiff(&rs[i]));
        mk_table_int(t, c_nd, (int64_t)(rs[i].n1 - rs[i].n0));
        mk_table_uint(t, c_n0, rs[i].n0);
        mk_table_uint(t, c_n1, rs[i].n1);
    }
    mk_vec_free(&rows);
    ld_groups_free(&g);
    return t;
}

/* ---- findings ------------------------------------------------------------------------------- */

static const char *const FINDING_NAMES[] = { "unknown-free", "double-free", "unknown-realloc",
                                             "live-address-reused" };

mk_table *ld_findings(const ld_track *k, const ld_opts *o)
{
    mk_table *t = mk_table_new();
    size_t c_line = mk_table_col(t, "line", MK_COL_UINT);
    size_t c_kind = mk_table_col(t, "finding", MK_COL_STR);
    size_t c_addr = mk_table_col(t, "addr", MK_COL_STR);
    size_t c_site = mk_table_col(t, "site", MK_COL_STR);
    size_t c_other = mk_table_col(t, "freed_at_line", MK_COL_UINT);
    for (size_t i = 0; i < mk_vec_len(&k->findings) && (!o->limit || i < o->limit); i++) {
        const ld_finding *f = mk_vec_get(&k->findings, i);
        char a[32];
        ld_addr_str(f->addr, a, sizeof a);
        size_t nl = 0;
        const char *s = f->site != LD_NO_SITE ? mk_intern_str(o->sites, f->site, &nl) : "";
        mk_table_row(t);
        mk_table_uint(t, c_line, f->line);
        mk_table_cstr(t, c_kind, FINDING_NAMES[f->kind]);
        mk_table_cstr(t, c_addr, a);
        if (f->site != LD_NO_SITE)
            mk_table_str(t, c_site, s, nl);
        if (f->kind == LD_F_DOUBLE_FREE)
            mk_table_uint(t, c_other, f->other_line);
    }
    return t;
}

/* ---- suggestions ------------------------------------------------------------------------------ */

/* Thresholds (documented in leakdiff(1)). */
enum {
    ARENA_MIN_BLOCKS = 1000,        /* short-lived small blocks from one site */
    STEPS_MIN = 16,                 /* small realloc steps from one site */
    SPIKE_MIN_BYTES = 1 << 20,      /* peak minus final */
    EQUAL_MIN_BLOCKS = 1000,        /* live blocks of one size from one site */
    LARGE_MIN_BYTES = 1 << 20,      /* a block held to the end */
};

typedef struct {
    const char *rule;
    uint32_t site;
    uint64_t bytes;
    char why[512];
} sugg;

static int cmp_sugg(const void *a, const void *b)
{
    const sugg *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    int c = strcmp(x->rule, y->rule);
    return c ? c : (x->site < y->site ? -1 : x->site > y->site);
}

static sugg *add_sugg(mk_vec *v, const char *rule, uint32_t site, uint64_t bytes)
{
    sugg *s = mk_vec_push(v);
    s->rule = rule;
    s->site = site;
    s->bytes = bytes;
    s->why[0] = 0;
    return s;
}

static void at_text(const ld_track *k, char *buf, size_t cap)
{
    char d[MK_FMT_BUFSZ];
    if (k->t.peak_has_ts) {
        mk_fmt_duration(d, sizeof d, k->t.peak_ts);
        snprintf(buf, cap, "%s (line %llu)", d, (unsigned long long)k->t.peak_line);
    } else {
        snprintf(buf, cap, "line %llu", (unsigned long long)k->t.peak_line);
    }
}

mk_table *ld_suggest(ld_track *k, const ld_opts *o)
{
    mk_vec out;
    mk_vec_init(&out, sizeof(sugg));
    char b1[MK_FMT_BUFSZ], b2[MK_FMT_BUFSZ], b3[MK_FMT_BUFSZ], a1[32];
    uint32_t spike_site = UINT32_MAX;
    uint64_t spike_drop = 0;
    for (size_t i = 0; i < mk_vec_len(&k->sites); i++) {
        const ld_stat *s = mk_vec_get(&k->sites, i);
        if (!s->allocs)
            continue;
        if (s->short_lived >= ARENA_MIN_BLOCKS && s->short_lived * 2 >= s->allocs && s->small * 2 >= s->allocs) {
            sugg *g = add_sugg(&out, "arena", (uint32_t)i, s->alloc_bytes);
            snprintf(g->why, sizeof g->why,
                     "%llu of %llu blocks from here were freed within %d events and %llu are at most 64 B: "
                     "an arena or a pool would replace them with a few big allocations",
                     (unsigned long long)s->short_lived, (unsigned long long)s->allocs, LD_SHORT,
                     (unsigned long long)s->small);
        }
        if (s->small_steps >= STEPS_MIN && s->small_steps * 2 >= s->reallocs) {
            sugg *g = add_sugg(&out, "grow-geometrically", (uint32_t)i, s->alloc_bytes);
            snprintf(g->why, sizeof g->why,
                     "%llu of %llu reallocations here grew the block by less than half its size: "
                     "grow by 1.5x or 2x to make appends amortised O(1) and copies rare",
                     (unsigned long long)s->small_steps, (unsigned long long)s->reallocs);
        }
        uint64_t ap = ld_stat_at_peak(k, s);
        if (ap > s->live_bytes && ap - s->live_bytes > spike_drop) {
            spike_drop = ap - s->live_bytes;
            spike_site = (uint32_t)i;
        }
    }
    if (k->t.peak_bytes >= 2 * k->t.live_bytes && k->t.peak_bytes - k->t.live_bytes >= SPIKE_MIN_BYTES &&
        spike_site != UINT32_MAX) {
        sugg *g = add_sugg(&out, "transient-peak", spike_site, k->t.peak_bytes - k->t.live_bytes);
        char at[128];
        at_text(k, at, sizeof at);
        mk_fmt_bytes(b1, sizeof b1, k->t.peak_bytes);
        mk_fmt_bytes(b2, sizeof b2, k->t.live_bytes);
        mk_fmt_bytes(b3, sizeof b3, spike_drop);
        snprintf(g->why, sizeof g->why,
                 "the peak, %s at %s, is far above the %s live at the end; this site held %s more "
                 "at the peak than at the end: process that data in pieces or free it sooner",
                 b1, at, b2, b3);
    }
    /* Live blocks at the end: equal sizes per site, and large early ones. */
    mk_map eq;
    mk_map_init(&eq, 0);
    size_t it = 0;
    uint64_t *v;
    ld_block blk;
    const ld_block *b = &blk;
    uint64_t early = k->t.events / 10;
    while (ld_track_next_live(k, &it, &blk)) {
        struct { uint32_t site; uint64_t size; } __attribute__((packed)) key = { b->site, b->size };
        int ins;
        uint64_t *c = mk_map_put(&eq, &key, sizeof key, &ins);
        if (ins)
            *c = 0;
        (*c)++;
        if (b->size >= LARGE_MIN_BYTES && b->event <= early) {
            sugg *g = add_sugg(&out, "large-held", b->site, b->size);
            mk_fmt_bytes(b1, sizeof b1, b->size);
            snprintf(g->why, sizeof g->why,
                     "a block of %s made at event %llu of %llu (address %s) is still held at the "
                     "end: free it when done, or map it and let the kernel page it",
                     b1, (unsigned long long)b->event, (unsigned long long)k->t.events,
                     ld_addr_str(b->addr, a1, sizeof a1));
        }
    }
    it = 0;
    const char *kp;
    size_t kl;
    while (mk_map_next(&eq, &it, &kp, &kl, &v)) {
        if (*v < EQUAL_MIN_BLOCKS)
            continue;
        uint32_t site;
        uint64_t size;
        memcpy(&site, kp, 4);
        memcpy(&size, kp + 4, 8);
        sugg *g = add_sugg(&out, "equal-size-blocks", site, *v * size);
        mk_fmt_bytes(b1, sizeof b1, *v * 16);
        snprintf(g->why, sizeof g->why,
                 "%llu live blocks of %llu B each from here: one array or a pool of them saves the "
                 "allocator's per-block overhead (about %s at 16 B each) and scattered pages",
                 (unsigned long long)*v, (unsigned long long)size, b1);
    }
    mk_map_free(&eq);
    if (mk_vec_len(&out) > 1)
        qsort(mk_vec_data(&out), mk_vec_len(&out), sizeof(sugg), cmp_sugg);
    mk_table *t = mk_table_new();
    size_t c_rule = mk_table_col(t, "rule", MK_COL_STR);
    size_t c_site = mk_table_col(t, "site", MK_COL_STR);
    size_t c_bytes = mk_table_col(t, "bytes", MK_COL_BYTES);
    size_t c_why = mk_table_col(t, "evidence", MK_COL_STR);
    for (size_t i = 0; i < mk_vec_len(&out) && (!o->limit || i < o->limit); i++) {
        const sugg *s = mk_vec_get(&out, i);
        size_t nl;
        const char *name = mk_intern_str(o->sites, s->site, &nl);
        mk_table_row(t);
        mk_table_cstr(t, c_rule, s->rule);
        mk_table_str(t, c_site, name, nl);
        mk_table_uint(t, c_bytes, s->bytes);
        mk_table_cstr(t, c_why, s->why);
    }
    mk_vec_free(&out);
    return t;
}
