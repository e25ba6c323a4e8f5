/* refwatch — reference-count histories, imbalances, over-releases and weak
 * references from event logs.
 *
 * Flow: options → each log (memkit refs, or XPCOM/Gallium refcount logs;
 * plain, zstd or gzip) read block by block into the model, which applies
 * the semantics of model.h event by event → at the end (or at --at) one
 * report: the summary of objects, unbalanced ones by type with the sites
 * that never released, and the errors; or --history for one object or
 * type; or --events, the weak callbacks as they fired; or --graph, the live
 * holder -> held edges for cyclefind. Exit 1 when anything is unbalanced or
 * wrong, 0 when clean, 2 on bad input. */
#include "cli.h"
#include "err.h"
#include "log.h"
#include "map.h"
#include "model.h"
#include "out.h"
#include "parse.h"
#include "progress.h"
#include "source.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- options ------------------------------------------------------------------------ */

static char *history_name, *at;
static int graph, events, strict;
static uint64_t quarantine = 65536, show = 20, sites_shown = 5;
static mk_cli cli;

static const mk_opt opts[] = {
    { "history", 0, MK_ARG_STR, &history_name, "OBJ|TYPE", "the (operation, count) table of an object, or of "
      "every object of a type" },
    { "graph", 0, MK_ARG_FLAG, &graph, NULL, "write the live holder -> held edges (from=) for cyclefind" },
    { "events", 0, MK_ARG_FLAG, &events, NULL, "list the weak-reference callbacks as they fired" },
    { "strict", 0, MK_ARG_FLAG, &strict, NULL, "stop at the first error in the log" },
    { "at", 0, MK_ARG_STR, &at, "LINE|@TS", "read the log only up to LINE (counted over all files) or "
      "timestamp TS" },
    { "quarantine", 0, MK_ARG_UINT, &quarantine, "N", "remember the last N dead objects, to tell "
      "use-after-free from unknown", NULL, "65536" },
    { "show", 0, MK_ARG_UINT, &show, "N", "text: list at most N objects and N errors (0 = all)", NULL, "20" },
    { "sites", 0, MK_ARG_UINT, &sites_shown, "N", "text: at most N sites per type (0 = all)", NULL, "5" },
    { 0 },
};

static const mk_cli_spec spec = {
    "refwatch", "[OPTIONS] [FILE...]",
    "Reference-count histories, imbalances, over-releases and weak references from event logs.",
    "Input: memkit refs logs (new/ref/unref/free/weak/deref lines), or the refcount\n"
    "logs of XPCOM_MEM_REFCNT_LOG and GALLIUM_REFCNT_LOG; plain, zstd or gzip.\n"
    "\n"
    "Exit status: 0 clean; 1 something is unbalanced or wrong; 2 bad usage or input.\n"
    "\n"
    "Examples:\n"
    "  refwatch app.refs.zst\n"
    "  refwatch --history 0x7f3a10 -f tsv app.refs\n"
    "  refwatch --graph app.refs | cyclefind\n"
    "  refwatch --events -f json app.refs",
    opts, MK_STD_CONFIG | MK_STD_FORMAT | MK_STD_OUTPUT | MK_STD_QUIET | MK_STD_STATS | MK_STD_LENIENT,
    NULL, NULL, NULL,
};

static rw_model *m;
static mk_out *out;

/* A site in one line of text: stack frames (innermost first) joined by
 * " < ", "called from". */
static void site_bytes(mk_out *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n')
            mk_out_str(o, " < ");
        else
            mk_out_char(o, s[i]);
    }
}

/* ---- --history ------------------------------------------------------------------------ */

enum { PIECE = 65536 };

typedef struct {
    mk_table *t;
    size_t c_line, c_op, c_count, c_obj, c_type, c_site, c_holder, c_ts, c_file, c_note;
    mk_table_pos pos;
    uint64_t rows;
    mk_out *scratch;
} hist_out;

static hist_out ho;

static void hist_row(void *ctx, const rw_step *st)
{
    hist_out *h = ctx;
    mk_table *t = h->t;
    const rw_event *e = st->ev;
    mk_table_row(t);
    mk_table_uint(t, h->c_line, e->line);
    mk_table_cstr(t, h->c_op, rw_op_name[st->op]);
    mk_table_int(t, h->c_count, st->count);
    mk_table_str(t, h->c_obj, st->obj, st->objlen);
    const char *type = rw_model_type(m, st->type);
    if (type)
        mk_table_cstr(t, h->c_type, type);
    if (e->site.p && cli.format == MK_FMT_TEXT && memchr(e->site.p, '\n', e->site.n)) {
        /* A stack, in one line of the table. */
        mk_out_mem_reset(h->scratch);
        site_bytes(h->scratch, e->site.p, e->site.n);
        size_t n;
        const char *p = mk_out_mem(h->scratch, &n);
        mk_table_str(t, h->c_site, p, n);
    } else if (e->site.p) {
        mk_table_str(t, h->c_site, e->site.p, e->site.n);
    }
    if (st->holder)
        mk_table_str(t, h->c_holder, st->holder, st->holderlen);
    if (e->ts.p)
        mk_table_str(t, h->c_ts, e->ts.p, e->ts.n);
    mk_table_cstr(t, h->c_file, rw_model_file_name(m, e->file));
    if (st->note)
        mk_table_cstr(t, h->c_note, st->note);
    h->rows++;
    /* Machine formats stream; text aligns its columns, so it waits. */
    if (cli.format != MK_FMT_TEXT && mk_table_rows(t) == PIECE) {
        mk_table_write_piece(t, cli.format, out, &h->pos, 0);
        mk_table_clear_rows(t);
    }
}

static void hist_begin(void)
{
    mk_table *t = ho.t = mk_table_new();
    ho.c_line = mk_table_col(t, "line", MK_COL_UINT);
    ho.c_op = mk_table_col(t, "op", MK_COL_STR);
    ho.c_count = mk_table_col(t, "count", MK_COL_INT);
    ho.c_obj = mk_table_col(t, "obj", MK_COL_STR);
    ho.c_type = mk_table_col(t, "type", MK_COL_STR);
    ho.c_site = mk_table_col(t, "site", MK_COL_STR);
    ho.c_holder = mk_table_col(t, "holder", MK_COL_STR);
    ho.c_ts = mk_table_col(t, "ts", MK_COL_STR);
    ho.c_file = mk_table_col(t, "file", MK_COL_STR);
    ho.c_note = mk_table_col(t, "note", MK_COL_STR);
    ho.scratch = mk_out_open_mem();
    rw_model_history(m, history_name, hist_row, &ho);
}

static void hist_end(void)
{
    if (cli.format == MK_FMT_TEXT)
        mk_table_write(ho.t, cli.format, out);
    else
        mk_table_write_piece(ho.t, cli.format, out, &ho.pos, 1);
    if (!ho.rows && !cli.quiet)
        mk_warn("no object or type named '%s' in the log", history_name);
    mk_table_free(ho.t);
    mk_out_close(ho.scratch);
}

/* ---- --events ------------------------------------------------------------------------------ */

static void write_events(void)
{
    size_t n;
    const rw_firing *f = rw_model_firings(m, &n);
    mk_table *t = mk_table_new();
    size_t c_line = mk_table_col(t, "line", MK_COL_UINT), c_obj = mk_table_col(t, "obj", MK_COL_STR),
           c_type = mk_table_col(t, "type", MK_COL_STR), c_weak = mk_table_col(t, "weak", MK_COL_STR),
           c_cb = mk_table_col(t, "cb", MK_COL_STR), c_prio = mk_table_col(t, "prio", MK_COL_INT),
           c_file = mk_table_col(t, "file", MK_COL_STR);
    for (size_t i = 0; i < n; i++) {
        mk_table_row(t);
        mk_table_uint(t, c_line, f[i].line);
        mk_table_cstr(t, c_obj, f[i].obj);
        if (f[i].type != RW_NONE)
            mk_table_cstr(t, c_type, rw_model_type(m, f[i].type));
        mk_table_cstr(t, c_weak, f[i].weak);
        if (f[i].cb != RW_NONE)
            mk_table_cstr(t, c_cb, rw_model_name(m, f[i].cb));
        mk_table_int(t, c_prio, f[i].prio);
        mk_table_cstr(t, c_file, rw_model_file_name(m, f[i].file));
    }
    mk_table_write(t, cli.format, out);
    mk_table_free(t);
}

/* ---- --graph ---------------------------------------------------------------------------------- */

typedef struct {
    char *h, *d;
} edge;

static mk_vec edges;
static mk_arena edge_strs;

static void collect_edge(void *ctx, const char *h, size_t hn, const char *d, size_t dn)
{
    (void)ctx;
    edge *e = mk_vec_push(&edges);
    e->h = mk_arena_strdup(&edge_strs, h, hn);
    e->d = mk_arena_strdup(&edge_strs, d, dn);
}

static int cmp_edge(const void *a, const void *b)
{
    const edge *x = a, *y = b;
    int c = strcmp(x->h, y->h);
    return c ? c : strcmp(x->d, y->d);
}

static void write_graph(void)
{
    mk_vec_init(&edges, sizeof(edge));
    mk_arena_init(&edge_strs, 0);
    rw_model_edges(m, collect_edge, NULL);
    edge *e = mk_vec_data(&edges);
    size_t n = mk_vec_len(&edges);
    if (n)
        qsort(e, n, sizeof *e, cmp_edge);
    if (cli.format == MK_FMT_TEXT) {
        /* cyclefind's edge list: "HOLDER HELD" a line. */
        for (size_t i = 0; i < n; i++) {
            mk_out_str(out, e[i].h);
            mk_out_char(out, ' ');
            mk_out_str(out, e[i].d);
            mk_out_char(out, '\n');
        }
    } else {
        mk_table *t = mk_table_new();
        size_t ch = mk_table_col(t, "holder", MK_COL_STR), cd = mk_table_col(t, "held", MK_COL_STR);
        for (size_t i = 0; i < n; i++) {
            mk_table_row(t);
            mk_table_cstr(t, ch, e[i].h);
            mk_table_cstr(t, cd, e[i].d);
        }
        mk_table_write(t, cli.format, out);
        mk_table_free(t);
    }
    mk_vec_free(&edges);
    mk_arena_free(&edge_strs);
}

/* ---- the summary ----------------------------------------------------------------------------------- */

/* Unbalanced objects summed by type, and each type's sites. */
typedef struct {
    uint32_t type;
    uint64_t objects, refs, negative;
    rw_site_count *sites;
    size_t nsites;
} by_type;

static const char *type_text(uint32_t type)
{
    const char *s = rw_model_type(m, type);
    return s ? s : "(no type)";
}

static int cmp_by_type(const void *a, const void *b)
{
    const by_type *x = a, *y = b;
    if (x->objects != y->objects)
        return x->objects > y->objects ? -1 : 1;
    return strcmp(type_text(x->type), type_text(y->type));
}

static int cmp_sc(const void *a, const void *b)
{
    const rw_site_count *x = a, *y = b;
    if (x->refs != y->refs)
        return x->refs > y->refs ? -1 : 1;
    return (x->site > y->site) - (x->site < y->site);
}

typedef struct {
    mk_imap objects, negative, refs;   /* by type; by type << 32 | site */
} grouping;

static int group_one(void *ctx, const rw_unbalanced *u)
{
    grouping *g = ctx;
    int ins;
    ++*mk_imap_put(&g->objects, u->type, &ins);
    *mk_imap_put(&g->negative, u->type, &ins) += u->went_negative;
    for (uint32_t j = 0; j < u->nsites; j++)
        *mk_imap_put(&g->refs, (uint64_t)u->type << 32 | u->sites[j].site, &ins) += u->sites[j].refs;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Unbalanced objects summed by type, each type's sites most first; types
 * with most objects first. Memory: the distinct (type, site) pairs, in
 * *sites, which the types point into (the caller frees both). */
static by_type *group_by_type(size_t *ntypes, rw_site_count **sites)
{
    grouping g;
    mk_imap_init(&g.objects, 0);
    mk_imap_init(&g.negative, 0);
    mk_imap_init(&g.refs, 0);
    rw_model_unbalanced_each(m, group_one, &g);
    size_t nt = mk_imap_len(&g.objects), np = mk_imap_len(&g.refs), it = 0, k = 0;
    uint64_t key, *val;
    /* The (type, site) pairs sorted by type, so each type's sites are a run. */
    uint64_t *pairs = mk_xmalloc((np ? np : 1) * sizeof *pairs);
    while (mk_imap_next(&g.refs, &it, &key, &val))
        pairs[k++] = key;
    if (np)
        qsort(pairs, np, sizeof *pairs, cmp_u64);
    by_type *bt = mk_xcalloc(nt ? nt : 1, sizeof *bt);
    rw_site_count *sc = *sites = mk_xcalloc(np ? np : 1, sizeof *sc);
    for (size_t i = 0; i < np; i++)
        sc[i] = (rw_site_count){ (uint32_t)pairs[i], (uint32_t)*mk_imap_get(&g.refs, pairs[i]) };
    it = k = 0;
    while (mk_imap_next(&g.objects, &it, &key, &val)) {
        by_type *b = &bt[k++];
        b->type = (uint32_t)key;
        b->objects = *val;
        b->negative = *mk_imap_get(&g.negative, key);
        /* This type's run of pairs. */
        size_t lo = 0, hi = np;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if ((pairs[mid] >> 32) < key)
                lo = mid + 1;
            else
                hi = mid;
        }
        b->sites = sc + lo;
        while (lo + b->nsites < np && (pairs[lo + b->nsites] >> 32) == key) {
            b->refs += b->sites[b->nsites].refs;
            b->nsites++;
        }
        qsort(b->sites, b->nsites, sizeof *b->sites, cmp_sc);
    }
    if (nt)
        qsort(bt, nt, sizeof *bt, cmp_by_type);
    free(pairs);
    mk_imap_free(&g.objects);
    mk_imap_free(&g.negative);
    mk_imap_free(&g.refs);
    *ntypes = nt;
    return bt;
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

static void site_text(mk_out *o, uint32_t site)
{
    const char *s = rw_model_site(m, site);
    if (!s)
        mk_out_str(o, "(no site)");
    else
        site_bytes(o, s, strlen(s));
}

static void error_text(const rw_error *e)
{
    mk_out_printf(out, "  %s:%llu: %s: ", rw_model_file_name(m, e->file), (unsigned long long)e->line,
                  rw_kind_name[e->kind]);
    const char *type = rw_model_type(m, e->type);
    switch (e->kind) {
    case RW_OVER_RELEASE:
        mk_out_printf(out, "unref %s%s%s%s at count %d", e->obj, type ? " (" : "", type ? type : "",
                      type ? ")" : "", (int)e->count);
        break;
    case RW_USE_AFTER_FREE:
        mk_out_printf(out, "%s %s%s%s%s after it died", rw_op_name[e->op], e->obj, type ? " (" : "",
                      type ? type : "", type ? ")" : "");
        break;
    case RW_FREE_WHILE_REFERENCED:
        mk_out_printf(out, "free %s%s%s%s at count %d", e->obj, type ? " (" : "", type ? type : "",
                      type ? ")" : "", (int)e->count);
        break;
    case RW_DOUBLE_FREE:
        mk_out_printf(out, "free %s%s%s%s again", e->obj, type ? " (" : "", type ? type : "", type ? ")" : "");
        break;
    case RW_DEAD_WEAK_DEREF:
        mk_out_printf(out, "deref %s: %s%s%s%s is dead", e->weak, e->obj, type ? " (" : "", type ? type : "",
                      type ? ")" : "");
        break;
    case RW_UNKNOWN_OBJECT:
        mk_out_printf(out, "%s %s: never created (or died more than --quarantine objects ago)",
                      rw_op_name[e->op], e->obj);
        break;
    default:
        break;
    }
    mk_out_char(out, '\n');
}

static int text_object(void *ctx, const rw_unbalanced *u)
{
    uint64_t *shown = ctx;
    if (show && *shown == show)
        return 1;
    ++*shown;
    const char *type = rw_model_type(m, u->type);
    mk_out_printf(out, "  %s%s%s%s count %d%s", u->obj, type ? " (" : "", type ? type : "", type ? ")" : "",
                  (int)u->count, u->went_negative ? ", went below 0" : "");
    if (u->live)
        mk_out_str(out, ", live at the end\n");
    else
        mk_out_printf(out, u->went_negative ? " at %s:%llu\n" : ", died at %s:%llu\n",
                      rw_model_file_name(m, u->file), (unsigned long long)u->line);
    return 0;
}

static void summary_text(const rw_totals *t, int stopped, uint64_t skipped)
{
    size_t nu = rw_model_unbalanced_count(m), ne;
    const rw_error *e = rw_model_errors(m, &ne);
    mk_out_printf(out, "%llu events: %llu %s created, %llu died, %llu live; %zu unbalanced, %zu %s\n",
                  (unsigned long long)t->events, (unsigned long long)t->created,
                  plural(t->created, "object", "objects"), (unsigned long long)t->died,
                  (unsigned long long)t->live, nu, ne, plural(ne, "error", "errors"));
    if (stopped)
        mk_out_str(out, strict && ne ? "(stopped at the first error: --strict)\n" : "(stopped at --at)\n");
    if (skipped)
        mk_out_printf(out, "(%llu malformed %s skipped: --lenient)\n", (unsigned long long)skipped,
                      plural(skipped, "line", "lines"));
    if (nu) {
        size_t nt;
        rw_site_count *sites;
        by_type *bt = group_by_type(&nt, &sites);
        mk_out_printf(out, "\nunbalanced objects by type:\n");
        size_t w = 0;
        for (size_t i = 0; i < nt; i++)
            if (strlen(type_text(bt[i].type)) > w)
                w = strlen(type_text(bt[i].type));
        for (size_t i = 0; i < nt; i++) {
            mk_out_printf(out, "  %-*s  %llu %s, %llu %s never released", (int)w, type_text(bt[i].type),
                          (unsigned long long)bt[i].objects, plural(bt[i].objects, "object", "objects"),
                          (unsigned long long)bt[i].refs, plural(bt[i].refs, "reference", "references"));
            if (bt[i].negative)
                mk_out_printf(out, ", %llu over-released", (unsigned long long)bt[i].negative);
            mk_out_char(out, '\n');
            for (size_t j = 0; j < bt[i].nsites && (!sites_shown || j < sites_shown); j++) {
                mk_out_printf(out, "    %6u  ", bt[i].sites[j].refs);
                site_text(out, bt[i].sites[j].site);
                mk_out_char(out, '\n');
            }
            if (sites_shown && bt[i].nsites > sites_shown)
                mk_out_printf(out, "    ... %zu more sites\n", bt[i].nsites - (size_t)sites_shown);
        }
        free(sites);
        free(bt);
        mk_out_printf(out, "\nunbalanced objects:\n");
        uint64_t shown = 0;
        rw_model_unbalanced_each(m, text_object, &shown);
        if (show && nu > show)
            mk_out_printf(out, "  ... %zu more (-f json lists all)\n", nu - (size_t)show);
    }
    if (ne) {
        mk_out_printf(out, "\nerrors:\n");
        for (size_t i = 0; i < ne && (!show || i < show); i++)
            error_text(&e[i]);
        if (show && ne > show)
            mk_out_printf(out, "  ... %zu more (-f json lists all)\n", ne - (size_t)show);
    }
    if (t->weak_made)
        mk_out_printf(out,
                      "\nweak references: %llu made, %llu died with their object, %llu %s fired "
                      "(%llu filtered out), %llu dead %s, %llu cleaned up with their holder, %llu live\n",
                      (unsigned long long)t->weak_made, (unsigned long long)t->weak_died,
                      (unsigned long long)t->weak_fired, plural(t->weak_fired, "callback", "callbacks"),
                      (unsigned long long)t->weak_filtered, (unsigned long long)t->kinds[RW_DEAD_WEAK_DEREF],
                      plural(t->kinds[RW_DEAD_WEAK_DEREF], "deref", "derefs"),
                      (unsigned long long)t->weak_orphaned, (unsigned long long)t->weak_live);
}

static void json_opt_str(const char *s)
{
    if (s)
        mk_out_json_str(out, s, strlen(s));
    else
        mk_out_str(out, "null");
}

static void json_sites(const rw_site_count *s, size_t n)
{
    mk_out_char(out, '[');
    for (size_t j = 0; j < n; j++) {
        mk_out_str(out, j ? ",{\"site\":" : "{\"site\":");
        json_opt_str(rw_model_site(m, s[j].site));
        mk_out_printf(out, ",\"refs\":%u}", s[j].refs);
    }
    mk_out_char(out, ']');
}

static int json_object(void *ctx, const rw_unbalanced *u)
{
    int *first = ctx;
    mk_out_str(out, *first ? "{\"obj\":" : ",{\"obj\":");
    *first = 0;
    mk_out_json_str(out, u->obj, strlen(u->obj));
    mk_out_str(out, ",\"type\":");
    json_opt_str(rw_model_type(m, u->type));
    mk_out_printf(out, ",\"count\":%d,\"live\":%s,\"went_negative\":%s,\"file\":", (int)u->count,
                  u->live ? "true" : "false", u->went_negative ? "true" : "false");
    json_opt_str(u->live ? NULL : rw_model_file_name(m, u->file));
    if (u->live)
        mk_out_str(out, ",\"line\":null");
    else
        mk_out_printf(out, ",\"line\":%llu", (unsigned long long)u->line);
    mk_out_str(out, ",\"sites\":");
    json_sites(u->sites, u->nsites);
    mk_out_char(out, '}');
    return 0;
}

static void summary_json(const rw_totals *t, int stopped, uint64_t skipped)
{
    size_t ne;
    const rw_error *e = rw_model_errors(m, &ne);
    mk_out_printf(out, "{\"events\":%llu,\"created\":%llu,\"freed\":%llu,\"live\":%llu,\"implicit\":%llu,",
                  (unsigned long long)t->events, (unsigned long long)t->created, (unsigned long long)t->died,
                  (unsigned long long)t->live, (unsigned long long)t->implicit);
    mk_out_str(out, "\"unbalanced\":[");
    int first = 1;
    rw_model_unbalanced_each(m, json_object, &first);
    mk_out_str(out, "],\"unbalanced_by_type\":[");
    size_t nt;
    rw_site_count *sites;
    by_type *bt = group_by_type(&nt, &sites);
    for (size_t i = 0; i < nt; i++) {
        mk_out_str(out, i ? ",{\"type\":" : "{\"type\":");
        json_opt_str(rw_model_type(m, bt[i].type));
        mk_out_printf(out, ",\"objects\":%llu,\"refs\":%llu,\"over_released\":%llu,\"sites\":",
                      (unsigned long long)bt[i].objects, (unsigned long long)bt[i].refs,
                      (unsigned long long)bt[i].negative);
        json_sites(bt[i].sites, bt[i].nsites);
        mk_out_char(out, '}');
    }
    free(sites);
    free(bt);
    mk_out_str(out, "],\"errors\":[");
    for (size_t i = 0; i < ne; i++) {
        mk_out_printf(out, "%s{\"file\":", i ? "," : "");
        json_opt_str(rw_model_file_name(m, e[i].file));
        mk_out_printf(out, ",\"line\":%llu,\"kind\":\"%s\",\"op\":\"%s\",\"obj\":", (unsigned long long)e[i].line,
                      rw_kind_name[e[i].kind], rw_op_name[e[i].op]);
        mk_out_json_str(out, e[i].obj, strlen(e[i].obj));
        mk_out_str(out, ",\"type\":");
        json_opt_str(rw_model_type(m, e[i].type));
        mk_out_printf(out, ",\"count\":%d", (int)e[i].count);
        if (e[i].weak) {
            mk_out_str(out, ",\"weak\":");
            mk_out_json_str(out, e[i].weak, strlen(e[i].weak));
        }
        mk_out_char(out, '}');
    }
    mk_out_str(out, "],\"dead_weak_derefs\":[");
    int k = 0;
    for (size_t i = 0; i < ne; i++) {
        if (e[i].kind != RW_DEAD_WEAK_DEREF)
            continue;
        mk_out_printf(out, "%s{\"file\":", k++ ? "," : "");
        json_opt_str(rw_model_file_name(m, e[i].file));
        mk_out_printf(out, ",\"line\":%llu,\"weak\":", (unsigned long long)e[i].line);
        mk_out_json_str(out, e[i].weak, strlen(e[i].weak));
        mk_out_str(out, ",\"obj\":");
        mk_out_json_str(out, e[i].obj, strlen(e[i].obj));
        mk_out_char(out, '}');
    }
    mk_out_printf(out,
                  "],\"weak\":{\"made\":%llu,\"died\":%llu,\"fired\":%llu,\"filtered\":%llu,\"live\":%llu,"
                  "\"orphaned\":%llu,\"auto_cleaned\":%llu},",
                  (unsigned long long)t->weak_made, (unsigned long long)t->weak_died,
                  (unsigned long long)t->weak_fired, (unsigned long long)t->weak_filtered,
                  (unsigned long long)t->weak_live, (unsigned long long)t->weak_orphaned,
                  (unsigned long long)t->weak_auto_cleaned);
    mk_out_str(out, "\"counts\":{");
    for (int i = 0; i < RW_NKINDS; i++)
        mk_out_printf(out, "%s\"%s\":%llu", i ? "," : "", rw_kind_name[i], (unsigned long long)t->kinds[i]);
    mk_out_printf(out, "},\"skipped\":%llu,\"stopped\":%s}\n", (unsigned long long)skipped,
                  stopped ? "true" : "false");
}

/* tsv, csv, ndjson: one row per finding, written in pieces. */
typedef struct {
    mk_table *t;
    mk_table_pos pos;
    mk_out *so;
    size_t c_kind, c_file, c_line, c_obj, c_type, c_count, c_weak, c_sites;
} rows_out;

static void rows_flush(rows_out *r, int last)
{
    if (last || mk_table_rows(r->t) == PIECE) {
        mk_table_write_piece(r->t, cli.format, out, &r->pos, last);
        mk_table_clear_rows(r->t);
    }
}

static int row_object(void *ctx, const rw_unbalanced *u)
{
    rows_out *r = ctx;
    mk_table *t = r->t;
    mk_table_row(t);
    mk_table_cstr(t, r->c_kind, u->live ? "unbalanced-live" : "unbalanced-freed");
    if (!u->live) {
        mk_table_cstr(t, r->c_file, rw_model_file_name(m, u->file));
        mk_table_uint(t, r->c_line, u->line);
    }
    mk_table_cstr(t, r->c_obj, u->obj);
    if (u->type != RW_NONE)
        mk_table_cstr(t, r->c_type, rw_model_type(m, u->type));
    mk_table_int(t, r->c_count, u->count);
    mk_out_mem_reset(r->so);
    for (uint32_t j = 0; j < u->nsites; j++) {
        if (j)
            mk_out_str(r->so, "; ");
        mk_out_printf(r->so, "%u ", u->sites[j].refs);
        site_text(r->so, u->sites[j].site);
    }
    size_t sn;
    const char *sp = mk_out_mem(r->so, &sn);
    if (sn)
        mk_table_str(t, r->c_sites, sp, sn);
    rows_flush(r, 0);
    return 0;
}

static void summary_rows(void)
{
    size_t ne;
    const rw_error *e = rw_model_errors(m, &ne);
    rows_out r = { 0 };
    mk_table *t = r.t = mk_table_new();
    size_t c_kind = r.c_kind = mk_table_col(t, "kind", MK_COL_STR);
    size_t c_file = r.c_file = mk_table_col(t, "file", MK_COL_STR);
    size_t c_line = r.c_line = mk_table_col(t, "line", MK_COL_UINT);
    size_t c_obj = r.c_obj = mk_table_col(t, "obj", MK_COL_STR);
    size_t c_type = r.c_type = mk_table_col(t, "type", MK_COL_STR);
    size_t c_count = r.c_count = mk_table_col(t, "count", MK_COL_INT);
    size_t c_weak = r.c_weak = mk_table_col(t, "weak", MK_COL_STR);
    r.c_sites = mk_table_col(t, "sites", MK_COL_STR);
    r.so = mk_out_open_mem();
    rw_model_unbalanced_each(m, row_object, &r);
    for (size_t i = 0; i < ne; i++) {
        mk_table_row(t);
        mk_table_cstr(t, c_kind, rw_kind_name[e[i].kind]);
        mk_table_cstr(t, c_file, rw_model_file_name(m, e[i].file));
        mk_table_uint(t, c_line, e[i].line);
        mk_table_cstr(t, c_obj, e[i].obj);
        if (e[i].type != RW_NONE)
            mk_table_cstr(t, c_type, rw_model_type(m, e[i].type));
        mk_table_int(t, c_count, e[i].count);
        if (e[i].weak)
            mk_table_cstr(t, c_weak, e[i].weak);
        rows_flush(&r, 0);
    }
    rows_flush(&r, 1);
    mk_out_close(r.so);
    mk_table_free(t);
}

/* ---- main ----------------------------------------------------------------------------------------------- */

static void parse_at(rw_reader *r)
{
    if (!at)
        return;
    if (at[0] == '@') {
        if (!at[1])
            mk_cli_usage_error(&cli, "--at @TS needs a timestamp");
        r->at_ts = at + 1;
        return;
    }
    if (mk_parse_u64(at, strlen(at), &r->at_line) < 0 || r->at_line == 0)
        mk_cli_usage_error(&cli, "--at '%s': expected a line number (from 1) or @TIMESTAMP", at);
}

int main(int argc, char **argv)
{
    /* Big arrays from mmap, always: they grow by mremap without copying,
     * and glibc's moving threshold cannot send them to the heap, where the
     * old copies would stay resident. */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    int first = mk_cli_parse(&cli, &spec, argc, argv);
    int nfiles;
    char **files = mk_cli_files(argc, argv, first, &nfiles);
    if (!!history_name + graph + events > 1)
        mk_cli_usage_error(&cli, "--history, --graph and --events are different reports: choose one");
    rw_reader r = { 0 };
    parse_at(&r);
    r.lenient = cli.lenient;
    r.strict = strict;
    m = rw_model_new(quarantine);
    r.m = m;
    out = mk_out_open(cli.output);
    if (!out)
        mk_die_err();
    if (history_name)
        hist_begin();

    mk_stats_counts st = { 0 };
    uint64_t t0 = mk_now_ns();
    for (int i = 0; i < nfiles && !r.stopped; i++) {
        mk_source *src = mk_source_open(files[i]);
        if (!src)
            mk_die_err();
        uint32_t f = rw_model_file(m, mk_source_name(src));
        if (rw_read(&r, src, f) < 0) {
            mk_out_discard(out);
            mk_die_err();
        }
        st.bytes_in += mk_source_in_pos(src);
        if (mk_source_close(src) < 0)
            mk_die_err();
    }
    uint64_t t1 = mk_now_ns();
    rw_model_finish(m);
    rw_totals t;
    rw_model_totals(m, &t);
    if (r.skipped && !cli.quiet)
        mk_warn("skipped %llu malformed %s (--lenient)", (unsigned long long)r.skipped,
                r.skipped == 1 ? "line" : "lines");

    if (history_name)
        hist_end();
    else if (events)
        write_events();
    else if (graph)
        write_graph();
    else if (cli.format == MK_FMT_TEXT)
        summary_text(&t, r.stopped, r.skipped);
    else if (cli.format == MK_FMT_JSON)
        summary_json(&t, r.stopped, r.skipped);
    else
        summary_rows();
    st.bytes_out = mk_out_bytes(out);
    st.records = t.events;
    st.bad_records = r.skipped;
    if (mk_out_close(out) < 0)
        mk_die_err();
    if (cli.stats) {
        mk_stats_print(&st);
        uint64_t t2 = mk_now_ns();
        fprintf(stderr, "refwatch: stats: %llu events, peak %zu live objects, model %zu bytes at the end\n",
                (unsigned long long)t.events, t.peak_live, rw_model_bytes(m));
        fprintf(stderr, "refwatch: stats: reading %.3f s (%.2f M events/s), report %.3f s\n", (t1 - t0) / 1e9,
                t.events / ((t1 - t0) / 1e3 + 1e-9), (t2 - t1) / 1e9);
    }
    size_t nu = rw_model_unbalanced_count(m), ne;
    rw_model_errors(m, &ne);
    int rc = nu || ne ? MK_EXIT_FOUND : MK_EXIT_OK;
    rw_model_free(m);
    return rc;
}
