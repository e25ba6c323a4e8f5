/* extagg — external hash aggregation (see extagg.h). */
#include "extagg.h"
#include "dset.h"
#include "err.h"
#include "fields.h"
#include "map.h"
#include "parse.h"
#include "spill.h"
#include "vec.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

enum { NPART = 32, SUBPART = 16, MAX_LEVEL = 5, CHECK_EVERY = 1024, PIECE = 4096, MAX_COLS = 1024,
       FANIN = 64 };

/* One partition file and the segment being written to it. */
typedef struct {
    mk_spill *f;
    uint64_t seg;              /* segment being written; 0 = none yet */
    uint64_t local;            /* groups numbered in that segment */
} part;

struct cp_ext {
    cp_plan *p;
    const char *dir;
    uint64_t memory;
    pthread_mutex_t mu;
    part g[NPART], d[NPART];
    uint64_t seg;              /* segment numbers, unique over all files */
    int active;
    cp_ext_stats st;
    mk_vec runs;               /* of mk_spill *, in partition order */
    /* finishing */
    const mk_header *h;
    mk_out *out;
    cp_head_fn head;
    void *head_ctx;
    char *eb, *kb, *lb;        /* entry, key and line copies */
    size_t ecap, kcap, lcap;
};

cp_ext *cp_ext_new(cp_plan *p, const char *tmpdir, uint64_t memory)
{
    cp_ext *x = mk_xcalloc(1, sizeof *x);
    x->p = p;
    x->dir = tmpdir;
    x->memory = memory;
    pthread_mutex_init(&x->mu, NULL);
    mk_vec_init(&x->runs, sizeof(mk_spill *));
    return x;
}

int cp_ext_active(const cp_ext *x) { return x->active; }

/* What one partition may take when it is combined: half the budget (the
 * rest is its result table and the readers), but never below 1 MiB — the
 * fixed cost of a table and a set; smaller only multiplies splits. */
static uint64_t part_budget(const cp_ext *x)
{
    return x->memory / 2 > (1u << 20) ? x->memory / 2 : 1u << 20;
}

/* Partition of a key or entry at a split level: each level hashes afresh,
 * so a partition that is split again spreads over all its parts. */
static unsigned part_of(const char *p, size_t n, unsigned level, unsigned np)
{
    uint64_t h = mk_map_hash(p, n) ^ (0x9E3779B97F4A7C15ull * (level + 1));
    h = (h ^ (h >> 31)) * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 29;
    return (unsigned)(((h >> 32) * np) >> 32);
}

/* Partitions, splits and runs are open files at once: use the hard limit. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int open_parts(cp_ext *x, part *pt, unsigned n)
{
    if (!x->active)
        raise_fd_limit();
    for (unsigned i = 0; i < n; i++)
        if (!pt[i].f && !(pt[i].f = mk_spill_new(x->dir)))
            return -1;
    x->active = 1;
    return 0;
}

/* The writer of a partition, a new segment started when seg changed; local
 * (may be NULL) gets the group's number within the segment. */
static mk_out *seg_out(part *pt, uint64_t seg, uint64_t *local)
{
    mk_out *o = mk_spill_out(pt->f);
    if (pt->seg != seg) {
        mk_out_write(o, "S\n", 2);
        pt->seg = seg;
        pt->local = 0;
    }
    if (local)
        *local = pt->local++;
    return o;
}

static uint64_t parts_bytes(const part *pt, unsigned n)
{
    uint64_t b = 0;
    for (unsigned i = 0; i < n; i++)
        b += pt[i].f ? mk_spill_bytes(pt[i].f) : 0;
    return b;
}

/* ---- spilling, from the workers ------------------------------------------------ */

static mk_out *pick_group(void *ctx, const char *key, size_t klen, uint64_t *local)
{
    cp_ext *x = ctx;
    x->st.groups++;
    return seg_out(&x->g[part_of(key, klen, 0, NPART)], x->seg, local);
}

int cp_ext_spill_groups(cp_ext *x, cp_groups *g)
{
    pthread_mutex_lock(&x->mu);
    int rc = open_parts(x, x->g, NPART);
    if (rc == 0 && cp_groups_count(g)) {
        x->seg++;
        x->st.spills++;
        cp_groups_save_to(g, pick_group, x);
        cp_groups_clear(g);
    }
    pthread_mutex_unlock(&x->mu);
    return rc;
}

static int spill_entry(void *ctx, const char *e, size_t n, uint64_t count)
{
    cp_ext *x = ctx;
    x->st.entries++;
    cp_entry_write(x->p, e, n, count, 0, mk_spill_out(x->d[part_of(e, n, 0, NPART)].f));
    return 0;
}

static int spill_top(void *ctx, const char *e, size_t n, uint64_t count)
{
    cp_ext *x = ctx;
    x->st.entries++;
    cp_entry_write(x->p, e, n, count, 1, mk_spill_out(x->d[part_of(e, n, 0, NPART)].f));
    return 0;
}

int cp_ext_spill_distinct(cp_ext *x)
{
    pthread_mutex_lock(&x->mu);
    int rc = open_parts(x, x->d, NPART);
    if (rc == 0 && x->p->dset && cp_dset_len(x->p->dset)) {
        x->st.set_spills++;
        cp_dset_drain(x->p->dset, spill_entry, x);
    }
    if (rc == 0 && x->p->tset && cp_dset_len(x->p->tset)) {
        x->st.set_spills++;
        cp_dset_drain(x->p->tset, spill_top, x);
    }
    pthread_mutex_unlock(&x->mu);
    /* The sets keep their slot arrays (mappings of their own), but their
     * 256 KiB entry chunks were freed into the heap: give those pages back
     * until the next fill needs them. */
    malloc_trim(0);
    return rc;
}

int cp_ext_fit(cp_ext *x, cp_groups *g, size_t table_bytes)
{
    if (table_bytes + cp_plan_bytes(x->p) <= x->memory)
        return 0;
    /* The sets go when their entries are the bigger part: the slot arrays
     * they keep after a spill count in the total, but spilling an empty
     * set frees nothing. */
    if (cp_plan_content_bytes(x->p) > x->memory / 2 && cp_ext_spill_distinct(x) < 0)
        return -1;
    /* Nor does a table spill that holds under 1/64 of the budget: what
     * breaks it then is the slot arrays a drained set keeps for its next
     * fill, or the table's forecast of the groups the next rows may add
     * (`--memory 16M -a distinct:user_id` on the benchmark file spilled a
     * table of one group 16 740 times). */
    return table_bytes + cp_plan_bytes(x->p) > x->memory && cp_groups_bytes(g) >= x->memory / 64
               ? cp_ext_spill_groups(x, g) : 0;
}

/* ---- finishing: distinct partitions to counts ----------------------------------- */

static char *copy_line(cp_ext *x, const char *line, size_t len)
{
    if (len + 1 > x->lcap) {
        x->lcap = len * 2 + 64;
        x->lb = mk_xrealloc(x->lb, x->lcap);
    }
    memcpy(x->lb, line, len);
    x->lb[len] = 0;
    return x->lb;
}

static int spill_error(const char *what)
{
    return mk_err_prefix("internal error: spilled %s: ", what);
}

static int count_distinct(cp_ext *x, mk_spill *f, unsigned level);

/* A distinct partition too big for the budget: split it by entry hash. */
static int split_distinct(cp_ext *x, mk_spill *f, unsigned level)
{
    x->st.splits++;
    part sub[SUBPART] = { 0 };
    if (open_parts(x, sub, SUBPART) < 0 || mk_spill_rewind(f) < 0)
        return -1;
    char *line;
    size_t len, en;
    int r;
    while ((r = mk_spill_line(f, &line, &len)) == 1) {
        char *orig = copy_line(x, line, len);
        uint64_t c;
        if (cp_entry_parse(x->p, line, len, &x->eb, &x->ecap, &en, &c) < 0)
            return spill_error("distinct entry");
        mk_out *o = mk_spill_out(sub[part_of(x->eb, en, level + 1, SUBPART)].f);
        mk_out_write(o, orig, len);
        mk_out_char(o, '\n');
    }
    x->st.bytes += parts_bytes(sub, SUBPART);
    int rc = r;
    for (unsigned i = 0; i < SUBPART; i++) {
        if (rc == 0)
            rc = count_distinct(x, sub[i].f, level + 1);
        mk_spill_free(sub[i].f);
    }
    return rc;
}

/* Group keys ([agg][key] prefixes of the entries) counted per group. */
static int count_entry(void *ctx, const char *e, size_t n)
{
    struct { const cp_plan *p; mk_map *m; } *c = ctx;
    unsigned ai;
    size_t kl;
    cp_entry_split(c->p, e, n, &ai, &kl);
    int ins;
    uint64_t *v = mk_map_put(c->m, e, 2 + kl, &ins);
    if (ins)
        *v = 0;
    ++*v;
    return 0;
}

/* A finished partition's top counts, as U records of the group partitions. */
static int top_out(void *ctx, const char *e, size_t n, uint64_t count)
{
    cp_ext *x = ctx;
    unsigned ai;
    size_t kl;
    cp_entry_split(x->p, e, n, &ai, &kl);
    cp_entry_write(x->p, e, n, count, 2, seg_out(&x->g[part_of(e + 2, kl, 0, NPART)], x->seg, NULL));
    return 0;
}

/* One distinct partition: its entries into a set (top counts into a counted
 * one) — a value always lands in the same partition, so counts are exact;
 * then each group's distinct count (C records) and value counts (U) go to
 * the group partitions. */
static int count_distinct(cp_ext *x, mk_spill *f, unsigned level)
{
    if (mk_spill_rewind(f) < 0)
        return -1;
    cp_dset *set = cp_dset_new(), *tset = cp_dset_new_counted();
    char *line;
    size_t len, en;
    uint64_t n = 0, c;
    int r, kind;
    while ((r = mk_spill_line(f, &line, &len)) == 1) {
        if ((kind = cp_entry_parse(x->p, line, len, &x->eb, &x->ecap, &en, &c)) < 0) {
            r = spill_error("distinct entry");
            break;
        }
        cp_dset_add_count(kind ? tset : set, x->eb, en, c);
        if (++n % CHECK_EVERY == 0 && level < MAX_LEVEL &&
            cp_dset_bytes(set) + cp_dset_bytes(tset) > part_budget(x)) {
            cp_dset_free(set);
            cp_dset_free(tset);
            return split_distinct(x, f, level);
        }
    }
    if (r < 0 || !n) {
        cp_dset_free(set);
        cp_dset_free(tset);
        return r;
    }
    mk_map counts;
    mk_map_init(&counts, 0);
    struct { const cp_plan *p; mk_map *m; } cc = { x->p, &counts };
    cp_dset_each(set, count_entry, &cc);
    cp_dset_free(set);
    if (open_parts(x, x->g, NPART) < 0) {
        mk_map_free(&counts);
        cp_dset_free(tset);
        return -1;
    }
    x->seg++;
    const char *k;
    size_t kl;
    uint64_t *v;
    for (size_t it = 0; mk_map_next(&counts, &it, &k, &kl, &v);) {
        uint16_t ai;
        memcpy(&ai, k, 2);
        mk_out *o = seg_out(&x->g[part_of(k + 2, kl - 2, 0, NPART)], x->seg, NULL);
        cp_count_write(x->p, ai, *v, k + 2, kl - 2, o);
    }
    mk_map_free(&counts);
    cp_dset_each_count(tset, top_out, x);
    cp_dset_free(tset);
    return 0;
}

/* ---- finishing: group partitions to sorted runs --------------------------------- */

static int combine_groups(cp_ext *x, mk_spill *f, unsigned level, int single);

/* Split a group partition by key hash. Q records follow their group: the
 * group numbers of each segment are remembered and renumbered. */
static int split_groups(cp_ext *x, mk_spill *f, unsigned level)
{
    const cp_plan *p = x->p;
    x->st.splits++;
    part sub[SUBPART] = { 0 };
    if (open_parts(x, sub, SUBPART) < 0 || mk_spill_rewind(f) < 0)
        return -1;
    mk_vec where;              /* group of this segment → sub << 40 | new number */
    mk_vec_init(&where, sizeof(uint64_t));
    uint64_t first_key[SUBPART];   /* hash of the first key each part got */
    int multi[SUBPART] = { 0 };
    uint64_t seg = ++x->seg;
    char *line;
    size_t len;
    int r, rc = 0;
    while (rc == 0 && (r = mk_spill_line(f, &line, &len)) == 1) {
        if (len == 1 && line[0] == 'S') {
            seg = ++x->seg;
            mk_vec_clear(&where);
            continue;
        }
        char *orig = copy_line(x, line, len);
        mk_field fl[MAX_COLS];
        size_t nf = mk_split_tsv(line, len, fl, MAX_COLS);
        if (nf < 2 || nf > MAX_COLS || fl[0].len != 1) {
            rc = spill_error("group record");
            break;
        }
        char t = fl[0].ptr[0];
        if (t == 'Q') {
            uint64_t gi;
            if (mk_parse_u64(fl[1].ptr, fl[1].len, &gi) < 0 || gi >= mk_vec_len(&where)) {
                rc = spill_error("quantile record");
                break;
            }
            uint64_t w = *(uint64_t *)mk_vec_get(&where, gi);
            mk_out *o = seg_out(&sub[w >> 40], seg, NULL);
            mk_out_write(o, "Q\t", 2);
            mk_out_u64(o, w & ((1ull << 40) - 1));
            mk_out_write(o, orig + 1 + 1 + fl[1].len, len - 2 - fl[1].len);
            mk_out_char(o, '\n');
            continue;
        }
        /* key fields: G ROWS KEY... / C AGG N KEY... / U AGG N VALUE KEY... */
        size_t first = t == 'G' ? 2 : t == 'C' ? 3 : 4;
        if ((t != 'G' && t != 'C' && t != 'U') || nf < first + p->nkeys) {
            rc = spill_error("group record");
            break;
        }
        for (size_t i = first; i < first + p->nkeys; i++)
            fl[i].len = (uint32_t)mk_tsv_unescape((char *)fl[i].ptr, fl[i].len);
        size_t kl = cp_key_encode(p, fl + first, &x->kb, &x->kcap);
        unsigned s = part_of(x->kb, kl, level + 1, SUBPART);
        uint64_t kh = mk_map_hash(x->kb, kl);
        if (!sub[s].seg)
            first_key[s] = kh;
        else if (first_key[s] != kh)
            multi[s] = 1;
        uint64_t local;
        mk_out *o = seg_out(&sub[s], seg, t == 'G' ? &local : NULL);
        if (t == 'G')
            *(uint64_t *)mk_vec_push(&where) = (uint64_t)s << 40 | local;
        mk_out_write(o, orig, len);
        mk_out_char(o, '\n');
    }
    if (rc == 0)
        rc = r;
    mk_vec_free(&where);
    x->st.bytes += parts_bytes(sub, SUBPART);
    for (unsigned i = 0; i < SUBPART; i++) {
        if (rc == 0 && sub[i].seg)
            rc = combine_groups(x, sub[i].f, level + 1, !multi[i]);
        mk_spill_free(sub[i].f);
    }
    return rc;
}

/* A run line's --sort value: exact (%a), or "nan" for an empty cell. */
static void put_sortval(mk_out *o, double sv)
{
    if (isnan(sv))
        mk_out_str(o, "nan");
    else
        mk_out_hex_double(o, sv);
}

/* One result row to a run: "SORTVALUE CELL..." where a cell is "-" when
 * empty, else "=" and its text (TSV-escaped). */
static void run_row(mk_out *o, const mk_table *t, size_t row, size_t ncols, double sv)
{
    char b[64];
    put_sortval(o, sv);
    for (size_t c = 0; c < ncols; c++) {
        const char *s;
        size_t n;
        mk_out_char(o, '\t');
        if (!mk_table_cell(t, row, c, b, sizeof b, &s, &n)) {
            mk_out_char(o, '-');
            continue;
        }
        mk_out_char(o, '=');
        mk_out_tsv_field(o, s, n);
    }
    mk_out_char(o, '\n');
}

/* A partition's segments merged into one table (count_only: exact values
 * counted, not kept). 1 when it went over half the budget first (limit). */
static int load_groups(cp_ext *x, mk_spill *f, int count_only, int limit, cp_groups **out)
{
    const cp_plan *p = x->p;
    *out = NULL;
    if (mk_spill_rewind(f) < 0)
        return -1;
    cp_groups *total = cp_groups_new(p), *seg = cp_groups_new(p);
    cp_groups_trust_refs(seg);         /* our own segments: log refs are ours */
    if (count_only) {
        cp_groups_count_only(total);
        cp_groups_count_only(seg);
    }
    char *line;
    size_t len;
    uint64_t n = 0;
    int r, big = 0;
    while ((r = mk_spill_line(f, &line, &len)) == 1) {
        int boundary = len == 1 && line[0] == 'S';
        if (boundary) {
            cp_groups_merge(total, seg);
            cp_groups_clear(seg);
        } else if (cp_groups_load(seg, line, len, 0) < 0) {
            r = spill_error("group record");
            break;
        }
        /* Over half the budget, and worth splitting: more than one group,
         * or one holding exact values (which selection can leave on disk;
         * with the log, a group holds at most a chunk of them in memory). */
        if (limit && (boundary || ++n % CHECK_EVERY == 0) &&
            cp_groups_bytes(total) + cp_groups_bytes(seg) > part_budget(x) &&
            ((p->exact && !p->qlog) || cp_groups_count(total) + cp_groups_count(seg) > 1)) {
            big = 1;
            break;
        }
    }
    if (r == 0 && !big)
        cp_groups_merge(total, seg);
    cp_groups_free(seg);
    if (r < 0 || big) {
        cp_groups_free(total);
        return r < 0 ? -1 : 1;
    }
    *out = total;
    return 0;
}

static int cascade(cp_ext *x);

/* A combined table out: as a --partial segment, or as a sorted run. */
static int emit(cp_ext *x, cp_groups *total)
{
    const cp_plan *p = x->p;
    if (x->head) {
        x->head(x->head_ctx, x->out);
        cp_groups_save(total, x->out);
        return 0;
    }
    if (cp_groups_resolve(total) < 0)
        return -1;
    mk_table *t = mk_table_new();
    double *sv;
    cp_groups_table(total, x->h, t, &sv);
    mk_spill *run = mk_spill_new(x->dir);
    if (!run) {
        free(sv);
        mk_table_free(t);
        return -1;
    }
    size_t ncols = p->nkeys + p->naggs;
    for (size_t i = 0; i < mk_table_rows(t); i++)
        run_row(mk_spill_out(run), t, i, ncols, sv[i]);
    x->st.bytes += mk_spill_bytes(run);
    *(mk_spill **)mk_vec_push(&x->runs) = run;
    x->st.runs++;
    if (mk_spill_rewind(run) < 0) {    /* flushed, and its write buffer freed */
        free(sv);
        mk_table_free(t);
        return -1;
    }
    free(sv);
    mk_table_free(t);
    /* Many small partitions (a tiny budget) make many runs: merge them as
     * they come, so open files stay few. */
    return mk_vec_len(&x->runs) >= 4 * FANIN ? cascade(x) : 0;
}

/* One group whose state is over the budget. Only a --partial gets here
 * (elsewhere --exact values go to the log, so a group stays small): its
 * exact values are counted, not loaded, and copied through from the
 * partition file. */
static int combine_big(cp_ext *x, mk_spill *f)
{
    cp_groups *total;
    int rc = load_groups(x, f, 1, 0, &total);
    if (rc < 0)
        return -1;
    x->st.big_groups++;
    rc = emit(x, total);
    cp_groups_free(total);
    if (rc < 0 || mk_spill_rewind(f) < 0)
        return -1;
    char *line;
    size_t len;
    int r;
    while ((r = mk_spill_line(f, &line, &len)) == 1) {
        if (len < 2 || line[0] != 'Q' || line[1] != '\t')
            continue;
        const char *tab = memchr(line + 2, '\t', len - 2);   /* after the group number */
        if (!tab)
            return spill_error("quantile record");
        mk_out_write(x->out, "Q\t0", 3);
        mk_out_write(x->out, tab, len - (size_t)(tab - line));
        mk_out_char(x->out, '\n');
    }
    return r;
}

/* One group partition: combined and emitted; over half the budget, split
 * by key — or, when it holds a single group, handled as a big one. */
static int combine_groups(cp_ext *x, mk_spill *f, unsigned level, int single)
{
    cp_groups *total;
    /* Past MAX_LEVEL splits (a budget below the fixed cost of a table) a
     * partition is combined whole, over budget; one group is over it only
     * for its exact values, which selection leaves on disk. */
    int rc = load_groups(x, f, 0, level < MAX_LEVEL || (single && x->p->exact && !x->p->qlog),
                         &total);
    if (rc < 0)
        return -1;
    if (rc > 0)
        return single ? combine_big(x, f) : split_groups(x, f, level);
    if (cp_groups_count(total))
        rc = emit(x, total);
    cp_groups_free(total);
    return rc;
}

/* ---- finishing: runs merged into the output ------------------------------------- */

typedef struct {
    mk_spill *f;
    double sv;
    mk_field cell[MAX_COLS];
    int live;
} run_reader;

static int run_next(run_reader *rd, size_t ncols)
{
    char *line;
    size_t len;
    int r = mk_spill_line(rd->f, &line, &len);
    rd->live = r == 1;
    if (r != 1)
        return r;
    mk_field fl[MAX_COLS + 1];
    size_t nf = mk_split_tsv(line, len, fl, MAX_COLS + 1);
    if (nf != ncols + 1)
        return spill_error("result row");
    line[fl[0].len] = 0;
    rd->sv = strcmp(line, "nan") == 0 ? NAN : strtod(line, NULL);
    for (size_t c = 0; c < ncols; c++) {
        mk_field *cf = &fl[c + 1];
        if (!cf->len || (cf->ptr[0] != '-' && cf->ptr[0] != '='))
            return spill_error("result cell");
        rd->cell[c].ptr = cf->ptr + 1;
        rd->cell[c].len = (uint32_t)mk_tsv_unescape((char *)cf->ptr + 1, cf->len - 1);
        rd->cell[c].flags = cf->ptr[0] == '=';    /* 1: the cell has a value */
    }
    return 1;
}

/* Result order: by the --sort value (largest first, empty last), then by key,
 * bytewise field by field — the order cp_groups_table gives. */
static int run_cmp(const cp_plan *p, const run_reader *a, const run_reader *b)
{
    if (p->sort_agg >= 0) {
        int na = isnan(a->sv), nb = isnan(b->sv);
        if (na != nb)
            return na - nb;
        if (!na && a->sv != b->sv)
            return a->sv > b->sv ? -1 : 1;
    }
    for (size_t i = 0; i < p->nkeys; i++) {
        const mk_field *x = &a->cell[i], *y = &b->cell[i];
        int c = memcmp(x->ptr, y->ptr, x->len < y->len ? x->len : y->len);
        if (c)
            return c;
        if (x->len != y->len)
            return x->len < y->len ? -1 : 1;
    }
    return 0;
}

/* Merge runs [0, nr) once: into one run (to != NULL, for the cascade), or
 * measuring text widths into w, or writing the output. */
typedef enum { TO_RUN, MEASURE, WRITE } merge_to;

static int merge_runs(cp_ext *x, mk_spill **runs, size_t nr, merge_to to, mk_spill *into,
                      mk_format fmt, size_t *w)
{
    const cp_plan *p = x->p;
    size_t ncols = p->nkeys + p->naggs;
    run_reader *rd = mk_xcalloc(nr ? nr : 1, sizeof *rd);
    mk_coltype types[MAX_COLS];
    mk_table *piece = mk_table_new();
    cp_plan_columns(p, x->h, piece, types);
    int rc = 0;
    for (size_t i = 0; i < nr && rc == 0; i++) {
        rd[i].f = runs[i];
        if (mk_spill_rewind(rd[i].f) < 0 || run_next(&rd[i], ncols) < 0)
            rc = -1;
    }
    mk_table_pos pos = { .widths = fmt == MK_FMT_TEXT ? w : NULL };
    uint64_t rows = 0;
    while (rc == 0 && (!p->top || rows < p->top)) {
        run_reader *best = NULL;
        for (size_t i = 0; i < nr; i++)
            if (rd[i].live && (!best || run_cmp(p, &rd[i], best) < 0))
                best = &rd[i];
        if (!best)
            break;
        rows++;
        if (to == TO_RUN) {
            mk_out *o = mk_spill_out(into);
            put_sortval(o, best->sv);
            for (size_t c = 0; c < ncols; c++) {
                const mk_field *cf = &best->cell[c];
                mk_out_write(o, cf->flags ? "\t=" : "\t-", 2);
                if (cf->flags)
                    mk_out_tsv_field(o, cf->ptr, cf->len);
            }
            mk_out_char(o, '\n');
        } else {
            mk_table_row(piece);
            for (size_t c = 0; c < ncols; c++) {
                const mk_field *cf = &best->cell[c];
                uint64_t u;
                if (!cf->flags)
                    continue;
                if (types[c] == MK_COL_UINT && mk_parse_u64(cf->ptr, cf->len, &u) == 0)
                    mk_table_uint(piece, c, u);
                else
                    mk_table_str(piece, c, cf->ptr, cf->len);
            }
            if (mk_table_rows(piece) == PIECE) {
                if (to == MEASURE)
                    mk_table_widths(piece, w);
                else
                    mk_table_write_piece(piece, fmt, x->out, &pos, 0);
                mk_table_clear_rows(piece);
            }
        }
        if (run_next(best, ncols) < 0)
            rc = -1;
    }
    if (rc == 0 && to == MEASURE)
        mk_table_widths(piece, w);
    else if (rc == 0 && to == WRITE)
        mk_table_write_piece(piece, fmt, x->out, &pos, 1);
    mk_table_free(piece);
    free(rd);
    return rc;
}

/* More runs than FANIN: merge them FANIN at a time into longer runs first,
 * so the final merge reads few files at once. */
static int cascade(cp_ext *x)
{
    while (mk_vec_len(&x->runs) > FANIN) {
        mk_vec next;
        mk_vec_init(&next, sizeof(mk_spill *));
        mk_spill **runs = mk_vec_data(&x->runs);
        size_t n = mk_vec_len(&x->runs);
        int rc = 0;
        for (size_t i = 0; i < n && rc == 0; i += FANIN) {
            size_t k = n - i < FANIN ? n - i : FANIN;
            mk_spill *into = mk_spill_new(x->dir);
            if (!into || merge_runs(x, runs + i, k, TO_RUN, into, MK_FMT_TSV, NULL) < 0) {
                mk_spill_free(into);
                rc = -1;
                break;
            }
            x->st.bytes += mk_spill_bytes(into);
            *(mk_spill **)mk_vec_push(&next) = into;
            if (mk_spill_rewind(into) < 0) {
                rc = -1;
                break;
            }
        }
        for (size_t i = 0; i < n; i++)
            mk_spill_free(runs[i]);
        mk_vec_free(&x->runs);
        x->runs = next;
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* ---- finishing: the whole -------------------------------------------------------- */

int cp_ext_finish(cp_ext *x, cp_groups **rest, unsigned nrest, const mk_header *h, mk_format fmt,
                  mk_out *o, cp_head_fn head, void *head_ctx)
{
    cp_plan *p = x->p;
    x->h = h;
    x->out = o;
    x->head = head;
    x->head_ctx = head_ctx;
    if (p->nkeys + p->naggs > MAX_COLS)
        return mk_err_set("more than %d result columns", MAX_COLS);
    for (unsigned i = 0; i < nrest; i++)
        cp_groups_flush(rest[i]);
    for (unsigned i = 0; i < nrest; i++) {
        if (rest[i] && cp_groups_count(rest[i]) && cp_ext_spill_groups(x, rest[i]) < 0)
            return -1;
        if (rest[i])
            cp_groups_release(rest[i]);   /* the partitions need the memory now */
    }
    if (((p->dset && cp_dset_len(p->dset)) || (p->tset && cp_dset_len(p->tset))) &&
        cp_ext_spill_distinct(x) < 0)
        return -1;
    if (p->dset)
        cp_dset_release(p->dset);
    if (p->tset)
        cp_dset_release(p->tset);
    /* What the workers' tables and the sets held is free now, but some of it
     * in the heap, scattered (never at the top to be trimmed): hand it back
     * before the partitions need memory. */
    malloc_trim(0);
    x->st.bytes += parts_bytes(x->g, NPART) + parts_bytes(x->d, NPART);
    if (!head) {
        /* Distinct counts first: they become C records of the group partitions. */
        for (unsigned i = 0; i < NPART; i++) {
            if (x->d[i].f && count_distinct(x, x->d[i].f, 0) < 0)
                return -1;
            mk_spill_free(x->d[i].f);
            x->d[i].f = NULL;
        }
        p->distinct_counted = 1;
        p->top_counted = 1;
    }
    for (unsigned i = 0; i < NPART; i++) {
        if (x->g[i].f && combine_groups(x, x->g[i].f, 0, p->nkeys == 0) < 0)
            return -1;
        mk_spill_free(x->g[i].f);
        x->g[i].f = NULL;
    }
    if (head) {
        /* The distinct values as K records, in segments of their own. */
        for (unsigned i = 0; i < NPART; i++) {
            if (!x->d[i].f || !mk_spill_bytes(x->d[i].f))
                continue;
            if (mk_spill_rewind(x->d[i].f) < 0)
                return -1;
            head(head_ctx, o);
            char *line;
            size_t len;
            int r;
            while ((r = mk_spill_line(x->d[i].f, &line, &len)) == 1) {
                mk_out_write(o, line, len);
                mk_out_char(o, '\n');
            }
            if (r < 0)
                return -1;
        }
        return 0;
    }
    if (cascade(x) < 0)
        return -1;
    mk_spill **runs = mk_vec_data(&x->runs);
    size_t nr = mk_vec_len(&x->runs), w[MAX_COLS] = { 0 };
    if (fmt == MK_FMT_TEXT && merge_runs(x, runs, nr, MEASURE, NULL, fmt, w) < 0)
        return -1;
    return merge_runs(x, runs, nr, WRITE, NULL, fmt, w);
}

void cp_ext_stats_get(const cp_ext *x, cp_ext_stats *st) { *st = x->st; }

void cp_ext_free(cp_ext *x)
{
    if (!x)
        return;
    for (unsigned i = 0; i < NPART; i++) {
        mk_spill_free(x->g[i].f);
        mk_spill_free(x->d[i].f);
    }
    for (size_t i = 0; i < mk_vec_len(&x->runs); i++)
        mk_spill_free(*(mk_spill **)mk_vec_get(&x->runs, i));
    mk_vec_free(&x->runs);
    pthread_mutex_destroy(&x->mu);
    free(x->eb);
    free(x->kb);
    free(x->lb);
    free(x);
}
