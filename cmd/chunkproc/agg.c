/* agg — group tables and aggregates for chunkproc (see agg.h). */
#include "agg.h"
#include "arena.h"
#include "dset.h"
#include "select.h"
#include "exact.h"
#include "qlog.h"
#include "err.h"
#include "map.h"
#include "parse.h"
#include "sketch.h"
#include "text.h"
#include "vec.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/* ---- specs ------------------------------------------------------------------ */

static const struct {
    const char *name;
    cp_agg_kind kind;
    double q;                   /* fixed quantile for p50/p90/p99 */
} kinds[] = {
    { "count", A_COUNT, 0 }, { "sum", A_SUM, 0 }, { "mean", A_MEAN, 0 }, { "min", A_MIN, 0 },
    { "max", A_MAX, 0 }, { "var", A_VAR, 0 }, { "stddev", A_STDDEV, 0 }, { "first", A_FIRST, 0 },
    { "last", A_LAST, 0 }, { "distinct", A_DISTINCT, 0 },
    { "approx-distinct", A_APPROX_DISTINCT, 0 }, { "p50", A_QUANTILE, 0.5 },
    { "p90", A_QUANTILE, 0.9 }, { "p99", A_QUANTILE, 0.99 }, { "quantile", A_QUANTILE, -1 },
    { "top", A_TOP, 0 },
};

static int parse_one(cp_agg *a, const char *spec)
{
    const char *c1 = strchr(spec, ':');
    size_t kl = c1 ? (size_t)(c1 - spec) : strlen(spec);
    int k = -1;
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if (strlen(kinds[i].name) == kl && strncmp(kinds[i].name, spec, kl) == 0)
            k = (int)i;
    if (k < 0) {
        const char *names[sizeof kinds / sizeof *kinds];
        for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
            names[i] = kinds[i].name;
        int s = mk_nearest(spec, kl, names, sizeof kinds / sizeof *kinds);
        if (s >= 0)
            return mk_err_set("unknown aggregate '%.*s' (did you mean '%s'?)", (int)kl, spec, names[s]);
        return mk_err_set("unknown aggregate '%.*s' (expected count, sum, mean, min, max, var, "
                          "stddev, first, last, distinct, approx-distinct, p50, p90, p99, "
                          "quantile or top)", (int)kl, spec);
    }
    memset(a, 0, sizeof *a);
    a->kind = kinds[k].kind;
    a->col = -1;
    a->q = kinds[k].q;
    if (a->kind == A_COUNT) {
        if (c1)
            return mk_err_set("'count' takes no column (found '%s')", spec);
        a->out_name = mk_xstrdup("count");
        return 0;
    }
    if (!c1 || !c1[1])
        return mk_err_set("'%s' needs a column: %s:COLUMN", kinds[k].name, kinds[k].name);
    int two = (a->kind == A_QUANTILE && a->q < 0) || a->kind == A_TOP;
    const char *col = c1 + 1, *c2 = two ? strrchr(col, ':') : NULL;
    size_t cl = c2 ? (size_t)(c2 - col) : strlen(col);
    if (a->kind == A_QUANTILE && a->q < 0) {
        if (!c2 || mk_parse_double(c2 + 1, strlen(c2 + 1), &a->q) < 0 || !(a->q >= 0 && a->q <= 1))
            return mk_err_set("'%s': expected quantile:COLUMN:Q with Q from 0 to 1", spec);
    }
    if (a->kind == A_TOP) {
        uint64_t kk;
        if (!c2 || c2 == col || mk_parse_u64(c2 + 1, strlen(c2 + 1), &kk) < 0 || kk < 1 || kk > 1000)
            return mk_err_set("'%s': expected top:COLUMN:K with K from 1 to 1000", spec);
        a->k = (uint32_t)kk;
    }
    a->col_name = mk_xstrndup(col, cl);
    size_t n = strlen(spec) + 2;
    a->out_name = mk_xmalloc(n);
    if (c2)
        snprintf(a->out_name, n, "%s_%s_%s", kinds[k].name, a->col_name, c2 + 1);
    else
        snprintf(a->out_name, n, "%s_%s", a->kind == A_APPROX_DISTINCT ? "approx_distinct"
                 : kinds[k].name, a->col_name);
    return 0;
}

int cp_plan_parse(cp_plan *p, const mk_list *aggs, const mk_list *keys)
{
    memset(p, 0, sizeof *p);
    p->alpha = 0.01;
    p->sort_agg = -1;
    size_t n = aggs->n ? aggs->n : 1;
    p->aggs = mk_xcalloc(n, sizeof *p->aggs);
    for (size_t i = 0; i < n; i++) {
        if (parse_one(&p->aggs[i], aggs->n ? aggs->v[i] : "count") < 0)
            return -1;
        p->naggs++;
    }
    p->nkeys = keys->n;
    p->keys = mk_xcalloc(keys->n ? keys->n : 1, sizeof *p->keys);
    p->key_names = mk_xcalloc(keys->n ? keys->n : 1, sizeof *p->key_names);
    for (size_t i = 0; i < keys->n; i++)
        p->key_names[i] = mk_xstrdup(keys->v[i]);
    return 0;
}

static void assign_stores(cp_plan *p);

int cp_plan_sort(cp_plan *p, const char *name)
{
    const char **names = mk_xcalloc(p->naggs + 1, sizeof *names);
    for (size_t i = 0; i < p->naggs; i++) {
        names[i] = p->aggs[i].out_name;
        if (strcmp(name, names[i]) == 0) {
            p->sort_agg = (int)i;
            free(names);
            return 0;
        }
    }
    int s = mk_nearest(name, strlen(name), names, p->naggs);
    int rc = s >= 0 ? mk_err_set("no aggregate column '%s' (did you mean '%s'?)", name, names[s])
                    : mk_err_set("no aggregate column '%s' (sort by an output column such as '%s')",
                                 name, names[0]);
    free(names);
    return rc;
}

static int bind_col(const mk_header *h, const char *name, int *col)
{
    *col = mk_header_find(h, name, strlen(name));
    if (*col >= 0)
        return 0;
    const char *s = mk_header_suggest(h, name, strlen(name));
    if (s)
        return mk_err_set("unknown column '%s' (did you mean '%s'?)", name, s);
    return mk_err_set("unknown column '%s'", name);
}

int cp_plan_bind(cp_plan *p, const mk_header *h)
{
    for (size_t i = 0; i < p->nkeys; i++)
        if (bind_col(h, p->key_names[i], &p->keys[i]) < 0)
            return -1;
    for (size_t i = 0; i < p->naggs; i++)
        if (p->aggs[i].col_name && bind_col(h, p->aggs[i].col_name, &p->aggs[i].col) < 0)
            return -1;
    assign_stores(p);
    return 0;
}

void cp_plan_bind_cols(cp_plan *p, const int *agg_cols)
{
    for (size_t i = 0; i < p->nkeys; i++)
        p->keys[i] = (int)i;
    for (size_t i = 0; i < p->naggs; i++)
        p->aggs[i].col = agg_cols[i];
    assign_stores(p);
}

/* Quantiles of one column share a store; the first adds the values. The
 * distinct set is made here too, once the plan is bound. */
static void assign_stores(cp_plan *p)
{
    for (size_t i = 0; i < p->naggs; i++) {
        if (p->aggs[i].kind == A_DISTINCT && !p->dset)
            p->dset = cp_dset_new();
        if (p->aggs[i].kind == A_TOP && !p->tset)
            p->tset = cp_dset_new_counted();
    }
    p->nq = 0;
    for (size_t i = 0; i < p->naggs; i++) {
        cp_agg *a = &p->aggs[i];
        if (a->kind != A_QUANTILE)
            continue;
        a->qowner = 1;
        a->qstore = p->nq;
        for (size_t k = 0; k < i; k++)
            if (p->aggs[k].kind == A_QUANTILE && p->aggs[k].col == a->col) {
                a->qowner = 0;
                a->qstore = p->aggs[k].qstore;
                break;
            }
        if (a->qowner)
            p->nq++;
    }
}

void cp_plan_free(cp_plan *p)
{
    for (size_t i = 0; i < p->naggs; i++) {
        free(p->aggs[i].col_name);
        free(p->aggs[i].out_name);
    }
    for (size_t i = 0; i < p->nkeys; i++)
        free(p->key_names[i]);
    free(p->aggs);
    free(p->keys);
    free(p->key_names);
    cp_dset_free(p->dset);
    cp_dset_free(p->tset);
    cp_qlog_free(p->qlog);
}

size_t cp_plan_bytes(const cp_plan *p)
{
    return (p->dset ? cp_dset_bytes(p->dset) : 0) + (p->tset ? cp_dset_bytes(p->tset) : 0);
}

size_t cp_plan_content_bytes(const cp_plan *p)
{
    return (p->dset ? cp_dset_content_bytes(p->dset) : 0) +
           (p->tset ? cp_dset_content_bytes(p->tset) : 0);
}

/* ---- state ---------------------------------------------------------------- */

/* One aggregate's state for one group. n counts the non-missing values (for
 * distinct: the distinct values). */
typedef struct {
    uint64_t n;
    union {
        cp_xsum s;                                                        /* sum, mean */
        struct { double d; cp_dec dec; int exact; } m;                    /* min, max */
        cp_xvar v;                                                        /* var, stddev */
        struct { size_t idx; } h;                                         /* approx-distinct */
        struct { cp_pos pos; char *p; uint32_t len, cap; } str;           /* first, last */
        struct { size_t idx; } q;                                         /* quantile */
        struct { struct topent *e; uint32_t n; } t;                       /* top */
    } u;
} slot;

/* One of the most frequent values of a group (top:C:K), in the table's arena. */
typedef struct topent {
    uint64_t count;
    const char *v;
    uint32_t len;
} topent;

/* A field's number. Its double is made only when something needs it
 * (num_d): sums, means, variances and min/max of plain decimals work on
 * the exact form, so most rows need no division. */
typedef struct {
    double d;                  /* when have_d */
    cp_dec dec;                /* the exact form, when dec_ok */
    int dec_ok, have_d;
    int missing;               /* an empty field (or none): only count sees the row */
} number;

/* Values of one column in one group, for quantiles: kept exactly up to
 * QEXACT values (or always, with --exact), then folded into a DDSketch, so
 * small groups get exact answers and big ones bounded memory. */
enum { QEXACT = 4096 };

/* With --exact and a log, a store's values go to disk a chunk at a time
 * (q_log); cp_groups_resolve later gives it just the order statistics its
 * quantiles need. A --partial's group too big for memory counts its values
 * instead of keeping them (count_only). */
typedef struct {
    mk_vec vals;               /* doubles while exact */
    mk_qsketch sk;
    int sketched, sorted;
    uint32_t ref;              /* --exact: values in the log under this ref (qlog.h), 0: none */
    uint64_t logged;           /* how many */
    double lo, hi;             /* their range */
    uint64_t counted;          /* values counted, not kept */
    uint64_t *pick_rank;       /* the order statistics found for them */
    double *pick_val;
    size_t npick;
} qstore;

static void q_init(qstore *q, double alpha)
{
    memset(q, 0, sizeof *q);
    mk_vec_init(&q->vals, sizeof(double));
    mk_qsketch_init(&q->sk, alpha, 0);
}

static void q_fold(qstore *q)
{
    const double *v = mk_vec_data(&q->vals);
    for (size_t i = 0; i < mk_vec_len(&q->vals); i++)
        mk_qsketch_add(&q->sk, v[i]);
    mk_vec_free(&q->vals);
    q->sketched = 1;
}

static void q_add(qstore *q, double x, int exact)
{
    if (q->sketched) {
        mk_qsketch_add(&q->sk, x);
        return;
    }
    *(double *)mk_vec_push(&q->vals) = x;
    q->sorted = 0;
    if (!exact && mk_vec_len(&q->vals) > QEXACT)
        q_fold(q);
}

/* n values logged under ref, from lo to hi. One ref per (store, key), so a
 * store that has one already has this one. */
static void q_add_logged(qstore *d, uint32_t ref, uint64_t n, double lo, double hi)
{
    d->lo = !d->ref || lo < d->lo ? lo : d->lo;
    d->hi = !d->ref || hi > d->hi ? hi : d->hi;
    d->ref = ref;
    d->logged += n;
}

static void q_merge(qstore *d, qstore *s, int exact)
{
    d->counted += s->counted;
    if (s->ref)
        q_add_logged(d, s->ref, s->logged, s->lo, s->hi);
    if (!d->sketched && !s->sketched &&
        (exact || mk_vec_len(&d->vals) + mk_vec_len(&s->vals) <= QEXACT)) {
        mk_vec_append(&d->vals, mk_vec_data(&s->vals), mk_vec_len(&s->vals));
        d->sorted = 0;
        return;
    }
    if (!d->sketched)
        q_fold(d);
    if (!s->sketched)
        q_fold(s);
    if (mk_qsketch_merge(&d->sk, &s->sk) < 0)
        mk_die_err();   /* same alpha on both sides: cannot happen */
}

static void q_free(qstore *q)
{
    free(q->pick_rank);
    free(q->pick_val);
    mk_vec_free(&q->vals);
    mk_qsketch_free(&q->sk);
}

/* With malloc's own 16 bytes per block: groups hold many small ones. */
static size_t q_bytes(const qstore *q)
{
    return mk_vec_bytes(&q->vals) + mk_qsketch_bytes(&q->sk) + (mk_vec_bytes(&q->vals) ? 16 : 0);
}

struct cp_groups {
    const cp_plan *p;
    mk_map index;              /* encoded key → group number */
    mk_vec keys;               /* group → {ptr, len} of the map's key copy */
    mk_vec rows;               /* group → rows (count) */
    mk_vec slots;              /* group × naggs */
    const char *kptr;          /* the last row's group key (stored copy) */
    size_t klen;
    cp_dset_batch *batch;      /* distinct entries on their way to the shared set */
    char *dbuf;                /* distinct entry being built */
    size_t dcap;
    mk_vec qs;                 /* group × nq: qstore */
    mk_vec hlls;               /* of mk_hll, for approx-distinct */
    mk_arena strs;             /* first/last values */
    char *kbuf;                /* key being built */
    size_t kcap;
    /* Most group-bys have few keys: a small direct-mapped cache in front of
     * the hash map saves the full hash and probe on most rows. */
    struct { uint64_t h; const char *key; size_t len; uint64_t id; } cache[64];
    int count_only;            /* exact values loaded are counted, not kept */
    int trust_refs;            /* Q "l" records allowed (cp_groups_trust_refs) */
    size_t high;               /* most groups held before the last clear (their memory stays) */
    size_t qh_bytes;           /* bytes of all value stores and HLLs, kept up to date
                                * so cp_groups_bytes is O(1) and can run every few rows */
    /* The plan compiled for rows (see compile): each numeric column once,
     * then one op per aggregate that is not count. */
    number *num;               /* this row's numbers, by numeric column */
    int *numcol;
    const char **numname;
    int nnum;
    struct rowop *ops;
    int nops;
} __attribute__((aligned(64)));   /* one per worker thread, written on every row: no line shared */

typedef struct {
    const char *p;
    size_t len;
} keyref;

/* What one aggregate does with a row: which slot, which number (ni, for
 * numeric kinds) or column. */
typedef struct rowop {
    cp_agg_kind kind;
    int qowner;
    size_t ai;
    int ni;                    /* index into num, or -1 */
    int col;
} rowop;

/* The groups and their state, empty (new, and again after release). */
static void init_state(cp_groups *g)
{
    mk_map_init(&g->index, 0);
    mk_vec_init(&g->keys, sizeof(keyref));
    mk_vec_init(&g->rows, sizeof(uint64_t));
    mk_vec_init(&g->slots, sizeof(slot));
    mk_vec_init(&g->qs, sizeof(qstore));
    mk_vec_init(&g->hlls, sizeof(mk_hll));
    mk_arena_init(&g->strs, 0);
    memset(g->cache, 0, sizeof g->cache);
    g->qh_bytes = 0;
    g->high = 0;
}

cp_groups *cp_groups_new(const cp_plan *p)
{
    /* Worker tables are made one after another by one thread: unaligned,
     * one's last line could be another's first, and both threads would
     * write it on every row (false sharing: task A took 1.3 s instead of
     * 0.8 whenever the file name was 24 bytes or longer, which moved the
     * heap by one allocation). */
    cp_groups *g = mk_xcalloc_aligned(64, 1, sizeof *g);
    g->p = p;
    init_state(g);
    return g;
}

/* --exact with a log: a store's values go to disk once it holds a chunk of
 * them, so a table keeps at most about a chunk per store (see qlog.h). */
static void q_log(cp_groups *g, size_t qi)
{
    qstore *st = mk_vec_get(&g->qs, qi);
    size_t n = mk_vec_len(&st->vals);
    if (!g->p->qlog || n < CP_QLOG_CHUNK)
        return;
    const double *v = mk_vec_data(&st->vals);
    if (!st->ref) {
        const keyref *k = mk_vec_get(&g->keys, qi / (size_t)g->p->nq);
        st->ref = cp_qlog_ref(g->p->qlog, (unsigned)(qi % (size_t)g->p->nq), k->p, k->len);
        st->lo = st->hi = v[0];
    }
    double lo = st->lo, hi = st->hi;
    for (size_t i = 0; i < n; i++) {
        lo = v[i] < lo ? v[i] : lo;
        hi = v[i] > hi ? v[i] : hi;
    }
    st->lo = lo;
    st->hi = hi;
    cp_qlog_write(g->p->qlog, st->ref, v, n);
    st->logged += n;
    mk_vec_clear(&st->vals);
}

static uint64_t new_group(cp_groups *g, const char *kp, size_t kl)
{
    uint64_t id = mk_vec_len(&g->rows);
    *(keyref *)mk_vec_push(&g->keys) = (keyref){ kp, kl };
    *(uint64_t *)mk_vec_push(&g->rows) = 0;
    slot *s = mk_vec_push_n(&g->slots, g->p->naggs);
    memset(s, 0, g->p->naggs * sizeof *s);
    for (size_t i = 0; i < g->p->naggs; i++) {
        const cp_agg *a = &g->p->aggs[i];
        if (a->kind == A_QUANTILE)
            s[i].u.q.idx = (size_t)id * (size_t)g->p->nq + (size_t)a->qstore;
        if (a->kind == A_APPROX_DISTINCT) {
            s[i].u.h.idx = mk_vec_len(&g->hlls);
            mk_hll_init(mk_vec_push(&g->hlls), MK_HLL_P_DEFAULT);
        }
    }
    for (int q = 0; q < g->p->nq; q++)
        q_init(mk_vec_push(&g->qs), g->p->alpha);
    return id;
}

/* Group of the row: key fields unquoted and length-prefixed, so ("a,b") and
 * ("a","b") differ. */
/* Up to 8 bytes of p as an integer, for the cache hash (no read past n). */
static inline uint64_t load8(const char *p, size_t n)
{
    uint64_t w = 0;
    if (n >= 8) {
        memcpy(&w, p, 8);
    } else if (n >= 4) {        /* two overlapping loads: no loop to mispredict */
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + n - 4, 4);
        w = lo | (uint64_t)hi << (8 * (n - 4));
    } else if (n) {
        w = (uint64_t)(unsigned char)p[0] | (uint64_t)(unsigned char)p[n / 2] << (4 * (n & 2)) |
            (uint64_t)(unsigned char)p[n - 1] << (8 * (n - 1));
    }
    return w;
}

/* Whether the length-prefixed key k equals the row's key fields. */
static int key_eq(const cp_plan *p, const char *k, size_t kl, const mk_field *f, size_t nf)
{
    size_t off = 0;
    for (size_t i = 0; i < p->nkeys; i++) {
        uint32_t len;
        if (off + 4 > kl)
            return 0;
        memcpy(&len, k + off, 4);
        const mk_field *fld = (size_t)p->keys[i] < nf ? &f[p->keys[i]] : NULL;
        uint32_t fl = fld ? fld->len : 0;
        if (len != fl || off + 4 + len > kl || (fl && memcmp(k + off + 4, fld->ptr, fl) != 0))
            return 0;
        off += 4 + len;
    }
    return off == kl;
}

/* Group of the row: key fields unquoted and length-prefixed, so ("a,b") and
 * ("a","b") differ. A small cache keyed by a cheap hash of the fields
 * themselves answers most rows without building the key or probing the map.
 * Sets g->kptr/klen to the group's stored key (for distinct entries). */
static uint64_t group_of(cp_groups *g, const mk_field *f, size_t nf)
{
    const cp_plan *p = g->p;
    if (p->nkeys == 0) {
        if (mk_vec_len(&g->rows) == 0)
            new_group(g, "", 0);
        g->kptr = "";
        g->klen = 0;
        return 0;
    }
    uint64_t h = p->nkeys;
    int escaped = 0;
    for (size_t i = 0; i < p->nkeys; i++) {
        const mk_field *fld = (size_t)p->keys[i] < nf ? &f[p->keys[i]] : NULL;
        size_t fl = fld ? fld->len : 0;
        if (fld && (fld->flags & MK_FIELD_ESCAPED))
            escaped = 1;
        uint64_t w = fl ? load8(fld->ptr, fl) : 0;
        h = (h ^ (w + fl)) * 0x9E3779B97F4A7C15ull;
        if (fl > 8)
            h = (h ^ load8(fld->ptr + fl - 8, 8)) * 0xC2B2AE3D27D4EB4Full;
    }
    h ^= h >> 29;
    size_t ci = (size_t)((h * 0xFF51AFD7ED558CCDull) >> 58);
    if (!escaped && g->cache[ci].key && g->cache[ci].h == h &&
        key_eq(p, g->cache[ci].key, g->cache[ci].len, f, nf)) {
        g->kptr = g->cache[ci].key;
        g->klen = g->cache[ci].len;
        return g->cache[ci].id;
    }
    size_t need = 0;
    for (size_t i = 0; i < p->nkeys; i++)
        need += 4 + ((size_t)p->keys[i] < nf ? f[p->keys[i]].len : 0);
    if (need > g->kcap) {
        g->kcap = need * 2;
        g->kbuf = mk_xrealloc(g->kbuf, g->kcap);
    }
    size_t n = 0;
    for (size_t i = 0; i < p->nkeys; i++) {
        uint32_t len = 0;
        if ((size_t)p->keys[i] < nf)
            len = (uint32_t)mk_field_unquote(&f[p->keys[i]], g->kbuf + n + 4);
        memcpy(g->kbuf + n, &len, 4);
        n += 4 + len;
    }
    int ins;
    uint64_t *v = mk_map_put(&g->index, g->kbuf, n, &ins);
    size_t kl;
    const char *kp = mk_map_key_of(v, &kl);
    if (ins)
        *v = new_group(g, kp, kl);
    if (!escaped) {
        g->cache[ci].h = h;
        g->cache[ci].key = kp;
        g->cache[ci].len = kl;
        g->cache[ci].id = *v;
    }
    g->kptr = kp;
    g->klen = kl;
    return *v;
}

static int parse_number(const mk_field *f, char *tmp, number *out)
{
    const char *p = f->ptr;
    size_t n = f->len;
    if (f->flags & MK_FIELD_ESCAPED) {
        n = mk_field_unquote(f, tmp);
        p = tmp;
    }
    /* One pass for plain decimals: the exact form, and the double from it
     * (exact operands, one rounding) when the digits allow. */
    out->dec_ok = cp_dec_parse(p, n, &out->dec);
    if (out->dec_ok && out->dec.m < ((__int128)1 << 53) && out->dec.m > -((__int128)1 << 53)) {
        out->have_d = 0;        /* num_d makes it from dec */
        return 0;
    }
    out->have_d = 1;
    int64_t i;
    if (mk_parse_num(p, n, &i, &out->d))
        return 0;
    char shown[48];
    size_t sn = n < 40 ? n : 40;
    memcpy(shown, p, sn);
    shown[sn] = 0;
    return mk_err_set("expected a number, found '%s%s'", shown, n > 40 ? "..." : "");
}

/* The double of a number: exact operands (m < 2^53, 10^scale), one rounding. */
static inline double num_d(number *v)
{
    static const double p10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
                                  1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18 };
    if (!v->have_d) {
        v->d = (double)v->dec.m / p10[v->dec.scale];
        v->have_d = 1;
    }
    return v->d;
}

/* Compare exact decimals; 2 when they cannot be brought to one scale. */
static int dec_cmp(const cp_dec *a, const cp_dec *b)
{
    __int128 x = a->m, y = b->m;
    int sc = a->scale > b->scale ? a->scale : b->scale;
    for (int k = a->scale; k < sc; k++)
        if (__builtin_mul_overflow(x, 10, &x))
            return 2;
    for (int k = b->scale; k < sc; k++)
        if (__builtin_mul_overflow(y, 10, &y))
            return 2;
    return (x > y) - (x < y);
}

/* min/max: exact while every value has an exact form, so integers beyond
 * 2^53 (or int64) come out digit for digit. */
static void minmax(slot *s, int lt, double d, const cp_dec *dec, int first)
{
    if (first) {
        s->u.m.d = d;
        s->u.m.exact = dec != NULL;
        if (dec)
            s->u.m.dec = *dec;
        return;
    }
    int better;
    if (s->u.m.exact && dec) {
        int c = dec_cmp(dec, &s->u.m.dec);
        better = c == 2 ? (lt ? d < s->u.m.d : d > s->u.m.d) : lt ? c < 0 : c > 0;
    } else {
        better = lt ? d < s->u.m.d : d > s->u.m.d;
    }
    if (!dec)
        s->u.m.exact = 0;
    if (better) {
        s->u.m.d = d;
        if (dec)
            s->u.m.dec = *dec;
        else
            s->u.m.exact = 0;
    }
}

/* minmax for a row's value: exact values that compare exactly need the
 * double only when they win. */
static void minmax_num(slot *s, int lt, number *v, int first)
{
    if (v->dec_ok && !first && s->u.m.exact) {
        int c = dec_cmp(&v->dec, &s->u.m.dec);
        if (c != 2) {
            if (lt ? c < 0 : c > 0) {
                s->u.m.dec = v->dec;
                s->u.m.d = num_d(v);
            }
            return;
        }
    }
    minmax(s, lt, num_d(v), v->dec_ok ? &v->dec : NULL, first);
}

static void set_str(cp_groups *g, slot *s, const char *p, size_t n, cp_pos pos)
{
    if (n > s->u.str.cap) {
        s->u.str.cap = (uint32_t)(n < 16 ? 16 : n);
        s->u.str.p = mk_arena_alloc_unaligned(&g->strs, s->u.str.cap);
    }
    if (n)                      /* an empty value from a partial: p may be NULL */
        memcpy(s->u.str.p, p, n);
    s->u.str.len = (uint32_t)n;
    s->u.str.pos = pos;
    s->n = 1;
}

/* A distinct or top entry: [agg u16][group key][value], so one shared set
 * serves every aggregate and group. */
static void add_entry(cp_groups *g, struct cp_dset *set, size_t ai, const char *key, size_t klen,
                      const char *v, size_t vn, uint64_t count)
{
    size_t need = 2 + klen + vn;
    if (need > g->dcap) {
        g->dcap = need * 2;
        g->dbuf = mk_xrealloc(g->dbuf, g->dcap);
    }
    uint16_t a16 = (uint16_t)ai;
    memcpy(g->dbuf, &a16, 2);
    memcpy(g->dbuf + 2, key, klen);
    memcpy(g->dbuf + 2 + klen, v, vn);
    cp_dset_add_count(set, g->dbuf, need, count);
}

static void add_distinct(cp_groups *g, size_t ai, const char *key, size_t klen, const char *v,
                         size_t vn)
{
    add_entry(g, g->p->dset, ai, key, klen, v, vn, 1);
}

/* The hot path's distinct values go through a batch: one lock per stripe
 * per 1024 values instead of one per value. */
static void batch_distinct(cp_groups *g, size_t ai, const mk_field *fld)
{
    if (!g->batch)
        g->batch = mk_xcalloc(1, sizeof *g->batch);
    /* Built in the batch itself: the field unquoted straight into it. */
    char *e = cp_dset_batch_room(g->p->dset, g->batch, 2 + g->klen + fld->len);
    uint16_t a16 = (uint16_t)ai;
    memcpy(e, &a16, 2);
    memcpy(e + 2, g->kptr, g->klen);
    cp_dset_batch_commit(g->batch, 2 + g->klen + mk_field_unquote(fld, e + 2 + g->klen));
}

void cp_groups_flush(cp_groups *g)
{
    if (g && g->batch && g->batch->n)
        cp_dset_add_batch(g->p->dset, g->batch);
}

/* Offer a value and its count to a group's top list: kept sorted, most
 * frequent first, equal counts by value bytewise; at most K. */
static int top_before(uint64_t c1, const char *v1, size_t l1, const topent *e)
{
    if (c1 != e->count)
        return c1 > e->count;
    int c = memcmp(v1, e->v, l1 < e->len ? l1 : e->len);
    return c ? c < 0 : l1 < e->len;
}

static void top_offer(cp_groups *g, slot *s, const cp_agg *a, const char *v, size_t len,
                      uint64_t count)
{
    if (!s->u.t.e) {
        s->u.t.e = mk_arena_alloc(&g->strs, a->k * sizeof(topent));
        s->u.t.n = 0;
    }
    topent *e = s->u.t.e;
    uint32_t n = s->u.t.n;
    if (n == a->k && !top_before(count, v, len, &e[n - 1]))
        return;
    uint32_t at = n < a->k ? n : n - 1;     /* the slot that opens (or the last, dropped) */
    while (at > 0 && top_before(count, v, len, &e[at - 1])) {
        e[at] = e[at - 1];
        at--;
    }
    char *copy = mk_arena_alloc_unaligned(&g->strs, len ? len : 1);
    memcpy(copy, v, len);
    e[at] = (topent){ count, copy, (uint32_t)len };
    if (n < a->k)
        s->u.t.n = n + 1;
    s->n = 1;
}

static int is_numeric(cp_agg_kind k)
{
    return k == A_SUM || k == A_MEAN || k == A_MIN || k == A_MAX || k == A_VAR ||
           k == A_STDDEV || k == A_QUANTILE;
}

/* The plan for rows, made on the first row (columns are bound after the
 * header): the numeric columns, each parsed once however many aggregates
 * use it, and an op per aggregate but count (which only the group's row
 * count answers). Deciding all this once instead of per row and
 * aggregate took task A at -j 1 from 1.22 to 1.03 s. */
static void compile(cp_groups *g)
{
    const cp_plan *p = g->p;
    g->numcol = mk_xcalloc(p->naggs + 1, sizeof *g->numcol);
    g->numname = mk_xcalloc(p->naggs + 1, sizeof *g->numname);
    g->num = mk_xcalloc_aligned(64, p->naggs + 1, sizeof *g->num);
    g->ops = mk_xcalloc(p->naggs + 1, sizeof *g->ops);
    for (size_t i = 0; i < p->naggs; i++) {
        const cp_agg *a = &p->aggs[i];
        if (a->kind == A_COUNT)
            continue;
        int ni = -1;
        if (is_numeric(a->kind)) {
            for (ni = 0; ni < g->nnum && g->numcol[ni] != a->col; ni++)
                ;
            if (ni == g->nnum) {
                g->numcol[g->nnum] = a->col;
                g->numname[g->nnum++] = a->col_name;
            }
        }
        g->ops[g->nops++] = (rowop){ a->kind, a->qowner, i, ni, a->col };
    }
}

/* The aggregates that take a number. */
static void add_number(cp_groups *g, const rowop *o, slot *s, number *v)
{
    s->n++;
    switch (o->kind) {
    case A_SUM: case A_MEAN:
        if (!v->dec_ok || !cp_xsum_add_exact(&s->u.s, &v->dec))
            cp_xsum_add(&s->u.s, NULL, num_d(v));
        return;
    case A_MIN: case A_MAX:
        minmax_num(s, o->kind == A_MIN, v, s->n == 1);
        return;
    case A_VAR: case A_STDDEV:
        if (!v->dec_ok || !cp_xvar_add_exact(&s->u.v, &v->dec))
            cp_xvar_add(&s->u.v, NULL, num_d(v));
        return;
    case A_QUANTILE: {
        if (!o->qowner)
            return;     /* the column's first quantile keeps the values */
        qstore *st = mk_vec_get(&g->qs, s->u.q.idx);
        size_t before = q_bytes(st);
        q_add(st, num_d(v), g->p->exact);
        g->qh_bytes += q_bytes(st) - before;
        if (mk_vec_len(&st->vals) >= CP_QLOG_CHUNK)
            q_log(g, s->u.q.idx);
        return;
    }
    default:
        return;
    }
}

/* The aggregates that take the field's text. */
static void add_text(cp_groups *g, const rowop *o, slot *s, const mk_field *fld, uint64_t pos,
                     char *tmp)
{
    size_t n;
    switch (o->kind) {
    case A_FIRST:
        if (!s->n || pos < s->u.str.pos) {
            n = mk_field_unquote(fld, tmp);
            set_str(g, s, tmp, n, pos);
        }
        return;
    case A_LAST:
        if (!s->n || pos > s->u.str.pos) {
            n = mk_field_unquote(fld, tmp);
            set_str(g, s, tmp, n, pos);
        }
        return;
    case A_DISTINCT:
        batch_distinct(g, o->ai, fld);
        s->n = 1;
        return;
    case A_TOP:
        n = mk_field_unquote(fld, tmp);
        add_entry(g, g->p->tset, o->ai, g->kptr, g->klen, tmp, n, 1);
        s->n = 1;
        return;
    case A_APPROX_DISTINCT: {
        n = mk_field_unquote(fld, tmp);
        mk_hll *h = mk_vec_get(&g->hlls, s->u.h.idx);
        size_t before = mk_hll_bytes(h);
        mk_hll_add(h, mk_map_hash(tmp, n));
        g->qh_bytes += mk_hll_bytes(h) - before;
        s->n = 1;
        return;
    }
    default:
        return;
    }
}

int cp_groups_add(cp_groups *g, const mk_field *f, size_t nf, uint64_t pos, char *tmp)
{
    if (!g->ops)
        compile(g);
    /* Numbers first: a row with a bad number changes nothing (--lenient
     * skips it whole, count included). */
    for (int k = 0; k < g->nnum; k++) {
        int c = g->numcol[k];
        number *v = &g->num[k];
        v->missing = (size_t)c >= nf || f[c].len == 0;
        if (!v->missing && parse_number(&f[c], tmp, v) < 0)
            return mk_err_prefix("column '%s': ", g->numname[k]);
    }
    uint64_t grp = group_of(g, f, nf);
    ((uint64_t *)mk_vec_data(&g->rows))[grp]++;
    slot *s = (slot *)mk_vec_data(&g->slots) + grp * g->p->naggs;
    for (const rowop *o = g->ops, *oe = g->ops + g->nops; o < oe; o++) {
        if (o->ni >= 0) {
            if (!g->num[o->ni].missing)
                add_number(g, o, s + o->ai, &g->num[o->ni]);
        } else if ((size_t)o->col < nf && f[o->col].len) {
            add_text(g, o, s + o->ai, &f[o->col], pos, tmp);
        }
    }
    return 0;
}

size_t cp_groups_count(const cp_groups *g) { return mk_vec_len(&g->rows); }

/* What the table holds in memory. Its vectors' pages are resident up to
 * the most groups they ever held (a table emptied by a spill keeps its
 * memory for the next fill; the untouched rest of a doubled vector costs
 * nothing), its hash map's slots all. Counting only the groups of the
 * moment let -g user_id on 4 M rows reach 136 MB of RSS at the default
 * --memory 64M. */
static size_t groups_bytes(const cp_groups *g, size_t ng, size_t map)
{
    const cp_plan *p = g->p;
    if (ng < g->high)
        ng = g->high;
    return map + ng * (sizeof(keyref) + sizeof(uint64_t) + p->naggs * sizeof(slot) +
                       (size_t)p->nq * sizeof(qstore)) +
           mk_arena_reserved(&g->strs) + mk_vec_len(&g->hlls) * sizeof(mk_hll) + g->qh_bytes;
}

size_t cp_groups_bytes(const cp_groups *g)
{
    return groups_bytes(g, mk_vec_len(&g->rows), mk_map_bytes(&g->index));
}

size_t cp_groups_bytes_ahead(const cp_groups *g, size_t rows)
{
    return groups_bytes(g, mk_vec_len(&g->rows) + rows, mk_map_bytes_ahead(&g->index, rows));
}

/* After bulk changes (merging, loading): count the stores again. */
static void recount(cp_groups *g)
{
    size_t b = 0;
    for (size_t i = 0; i < mk_vec_len(&g->qs); i++)
        b += q_bytes(mk_vec_get(&g->qs, i));
    for (size_t i = 0; i < mk_vec_len(&g->hlls); i++)
        b += mk_hll_bytes(mk_vec_get(&g->hlls, i));
    g->qh_bytes = b;
}

/* ---- merging --------------------------------------------------------------- */

static void merge_slot(cp_groups *dst, const cp_agg *a, slot *d, slot *s, cp_groups *src)
{
    switch (a->kind) {
    case A_SUM: case A_MEAN:
        d->n += s->n;
        cp_xsum_merge(&d->u.s, &s->u.s);
        break;
    case A_MIN: case A_MAX:
        if (s->n) {
            int exact = s->u.m.exact;
            minmax(d, a->kind == A_MIN, s->u.m.d, exact ? &s->u.m.dec : NULL, !d->n);
            d->n += s->n;
        }
        break;
    case A_VAR: case A_STDDEV:
        cp_xvar_merge(&d->u.v, &s->u.v);
        d->n += s->n;
        break;
    case A_APPROX_DISTINCT:
        if (mk_hll_merge(mk_vec_get(&dst->hlls, d->u.h.idx), mk_vec_get(&src->hlls, s->u.h.idx)) < 0)
            mk_die_err();   /* same precision on both sides: cannot happen */
        d->n |= s->n;
        break;
    case A_FIRST: case A_LAST:
        if (s->n && (!d->n || (a->kind == A_FIRST ? s->u.str.pos < d->u.str.pos
                                                  : s->u.str.pos > d->u.str.pos)))
            set_str(dst, d, s->u.str.p, s->u.str.len, s->u.str.pos);
        break;
    case A_QUANTILE:
        if (a->qowner) {
            q_merge(mk_vec_get(&dst->qs, d->u.q.idx), mk_vec_get(&src->qs, s->u.q.idx),
                    dst->p->exact);
            q_log(dst, d->u.q.idx);
        }
        d->n += s->n;
        break;
    case A_DISTINCT:
        /* Counts from spilled partitions (C records) add up; otherwise n is
         * a marker, recounted from the shared set at the end. */
        d->n += s->n;
        break;
    case A_TOP:
        /* Lists from spilled partitions (U records) hold different values. */
        for (uint32_t k = 0; k < s->u.t.n; k++)
            top_offer(dst, d, a, s->u.t.e[k].v, s->u.t.e[k].len, s->u.t.e[k].count);
        d->n |= s->n;
        break;
    default:
        break;   /* count: rows */
    }
}

void cp_groups_merge(cp_groups *dst, cp_groups *src)
{
    cp_groups_flush(dst);
    cp_groups_flush(src);
    const cp_plan *p = dst->p;
    size_t ng = mk_vec_len(&src->rows);
    uint64_t *map = mk_xmalloc((ng ? ng : 1) * sizeof *map);
    for (size_t gi = 0; gi < ng; gi++) {
        const keyref *k = mk_vec_get(&src->keys, gi);
        uint64_t di;
        if (p->nkeys == 0) {
            if (mk_vec_len(&dst->rows) == 0)
                new_group(dst, "", 0);
            di = 0;
        } else {
            int ins;
            uint64_t *v = mk_map_put(&dst->index, k->p, k->len, &ins);
            if (ins) {
                size_t kl;
                const char *kp = mk_map_key_of(v, &kl);
                *v = new_group(dst, kp, kl);
            }
            di = *v;
        }
        map[gi] = di;
        ((uint64_t *)mk_vec_data(&dst->rows))[di] += ((uint64_t *)mk_vec_data(&src->rows))[gi];
        slot *d = (slot *)mk_vec_data(&dst->slots) + di * p->naggs;
        slot *s = (slot *)mk_vec_data(&src->slots) + gi * p->naggs;
        for (size_t i = 0; i < p->naggs; i++)
            merge_slot(dst, &p->aggs[i], &d[i], &s[i], src);
    }
    free(map);
    recount(dst);
}

/* ---- results --------------------------------------------------------------- */

static int key_cmp(const void *a, const void *b, void *ctx)
{
    const keyref *x = (const keyref *)ctx + *(const uint64_t *)a;
    const keyref *y = (const keyref *)ctx + *(const uint64_t *)b;
    /* Field by field: compare each length-prefixed part's bytes. */
    size_t i = 0, j = 0;
    while (i < x->len && j < y->len) {
        uint32_t lx, ly;
        memcpy(&lx, x->p + i, 4);
        memcpy(&ly, y->p + j, 4);
        int c = memcmp(x->p + i + 4, y->p + j + 4, lx < ly ? lx : ly);
        if (c)
            return c;
        if (lx != ly)
            return lx < ly ? -1 : 1;
        i += 4 + lx;
        j += 4 + ly;
    }
    return 0;
}

/* Sorting compares an 8-byte big-endian prefix of the first key field first
 * (bytes are never NUL in text input, so zero padding orders a prefix before
 * its extensions); only equal prefixes need the stored keys, which are
 * scattered in memory. */
typedef struct {
    uint64_t prefix, id;
} sortkey;

static int sortkey_cmp(const void *a, const void *b, void *ctx)
{
    const sortkey *x = a, *y = b;
    if (x->prefix != y->prefix)
        return x->prefix < y->prefix ? -1 : 1;
    return key_cmp(&x->id, &y->id, ctx);
}

/* The numeric value of aggregate ai for group gi, for --sort; NaN when the
 * cell would be empty (those sort last). */
static double quantile(qstore *st, double q, int nearest);

static double agg_value(cp_groups *g, uint64_t gi, size_t ai)
{
    const cp_plan *p = g->p;
    const cp_agg *a = &p->aggs[ai];
    slot *s = (slot *)mk_vec_data(&g->slots) + gi * p->naggs + ai;
    switch (a->kind) {
    case A_COUNT: return (double)((uint64_t *)mk_vec_data(&g->rows))[gi];
    case A_DISTINCT: return s->n ? (double)s->n : NAN;
    case A_TOP: return s->u.t.n ? (double)s->u.t.e[0].count : NAN;
    case A_APPROX_DISTINCT:
        return s->n ? mk_hll_estimate(mk_vec_get(&g->hlls, s->u.h.idx)) : NAN;
    default: break;
    }
    if (!s->n)
        return NAN;
    switch (a->kind) {
    case A_SUM: return cp_xsum_value(&s->u.s);
    case A_MEAN: return cp_xsum_value(&s->u.s) / (double)s->n;
    case A_MIN: case A_MAX: return s->u.m.d;
    case A_VAR: return cp_xvar_variance(&s->u.v);
    case A_STDDEV: return sqrt(cp_xvar_variance(&s->u.v));
    case A_QUANTILE: return quantile(mk_vec_get(&g->qs, s->u.q.idx), a->q, p->nearest);
    default: {
        double d;   /* first/last: numeric when the text is a number */
        int64_t i;
        return mk_parse_num(s->u.str.p, s->u.str.len, &i, &d) ? d : NAN;
    }
    }
}

typedef struct {
    const keyref *keys;
    const double *val;         /* NULL: by key only */
} sortctx;

static int by_value(const void *a, const void *b, void *ctx)
{
    const sortctx *c = ctx;
    uint64_t x = ((const uint64_t *)a)[1], y = ((const uint64_t *)b)[1];
    double vx = c->val[x], vy = c->val[y];
    int nx = isnan(vx), ny = isnan(vy);
    if (nx != ny)
        return nx - ny;                 /* empty cells last */
    if (!nx && vx != vy)
        return vx > vy ? -1 : 1;        /* largest first */
    return key_cmp(&x, &y, (void *)c->keys);
}

static uint64_t key_prefix(const keyref *k)
{
    uint32_t len = 0;
    if (k->len >= 4)
        memcpy(&len, k->p, 4);
    uint64_t v = 0;
    for (uint32_t i = 0; i < 8; i++)
        v = v << 8 | (i < len ? (unsigned char)k->p[4 + i] : 0);
    return v;
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Type 7 (R's default, numpy, DuckDB quantile_cont): linear between the
 * values at ranks floor(h) and ceil(h), h = (n-1)q. Nearest rank: x at
 * ceil(qn). The 0-based ranks of quantile q of n values: */
static void ranks_of(uint64_t n, double q, int nearest, uint64_t *lo, uint64_t *hi, double *h)
{
    if (nearest) {
        /* ceil(q n), where a product a rounding step above an integer is
         * that integer: 0.07 * 100 is 7.000000000000001 in binary. */
        double x = q * (double)n, f = floor(x);
        uint64_t r = (uint64_t)(x - f <= 1e-9 * (x > 1 ? x : 1) ? f : ceil(x));
        *lo = *hi = r ? (r > n ? n : r) - 1 : 0;
        *h = (double)*lo;
        return;
    }
    *h = (double)(n - 1) * q;
    *lo = (uint64_t)floor(*h);
    *hi = (uint64_t)ceil(*h);
}

static double picked(const qstore *st, uint64_t rank)
{
    for (size_t i = 0; i < st->npick; i++)
        if (st->pick_rank[i] == rank)
            return st->pick_val[i];
    return NAN;     /* not selected: cannot happen */
}

static double quantile(qstore *st, double q, int nearest)
{
    if (st->sketched)
        return mk_qsketch_quantile(&st->sk, q);
    uint64_t lo, hi;
    double h;
    if (st->counted) {
        ranks_of(st->counted, q, nearest, &lo, &hi, &h);
        double a = picked(st, lo), b = picked(st, hi);
        return lo == hi ? a : a + (h - (double)lo) * (b - a);
    }
    double *v = mk_vec_data(&st->vals);
    size_t n = mk_vec_len(&st->vals);
    if (!st->sorted) {
        qsort(v, n, sizeof *v, dbl_cmp);
        st->sorted = 1;
    }
    ranks_of(n, q, nearest, &lo, &hi, &h);
    return lo == hi ? v[lo] : v[lo] + (h - (double)lo) * (v[hi] - v[lo]);
}

/* Numbers go into the table as exact text: full precision in every format. */
static void put_d(mk_table *t, size_t col, double v)
{
    char b[40];
    mk_table_str(t, col, b, mk_fmt_double(b, sizeof b, v));
}


/* Distinct counts are taken from the shared set once the tables are merged:
 * each entry names its aggregate and group key. */
static uint64_t group_of_key(const cp_groups *g, const char *key, size_t klen)
{
    if (g->p->nkeys == 0)
        return 0;
    uint64_t *v = mk_map_get(&g->index, key, klen);
    return v ? *v : UINT64_MAX;
}

static size_t key_len(const cp_plan *p, const char *e, size_t n)
{
    size_t off = 0;
    for (size_t i = 0; i < p->nkeys && off + 4 <= n; i++) {
        uint32_t len;
        memcpy(&len, e + off, 4);
        off += 4 + len;
    }
    return off;
}

static int count_one(void *ctx, const char *e, size_t n)
{
    cp_groups *g = ctx;
    uint16_t ai;
    memcpy(&ai, e, 2);
    size_t kl = key_len(g->p, e + 2, n - 2);
    uint64_t gi = group_of_key(g, e + 2, kl);
    if (gi != UINT64_MAX && ai < g->p->naggs)
        ((slot *)mk_vec_data(&g->slots))[gi * g->p->naggs + ai].n++;
    return 0;
}

static void count_distinct(cp_groups *g)
{
    cp_groups_flush(g);
    const cp_plan *p = g->p;
    if (!p->dset || p->distinct_counted)
        return;
    slot *s = mk_vec_data(&g->slots);
    for (size_t gi = 0; gi < mk_vec_len(&g->rows); gi++)
        for (size_t i = 0; i < p->naggs; i++)
            if (p->aggs[i].kind == A_DISTINCT)
                s[gi * p->naggs + i].n = 0;
    cp_dset_each(p->dset, count_one, g);
}

/* Top lists are built from the counted set once the tables are merged. */
static int top_one(void *ctx, const char *e, size_t n, uint64_t count)
{
    cp_groups *g = ctx;
    const cp_plan *p = g->p;
    uint16_t ai;
    memcpy(&ai, e, 2);
    size_t kl = key_len(p, e + 2, n - 2);
    uint64_t gi = group_of_key(g, e + 2, kl);
    if (gi != UINT64_MAX && ai < p->naggs)
        top_offer(g, (slot *)mk_vec_data(&g->slots) + gi * p->naggs + ai, &p->aggs[ai],
                  e + 2 + kl, n - 2 - kl, count);
    return 0;
}

static void count_top(cp_groups *g)
{
    const cp_plan *p = g->p;
    if (!p->tset || p->top_counted)
        return;
    slot *s = mk_vec_data(&g->slots);
    for (size_t gi = 0; gi < mk_vec_len(&g->rows); gi++)
        for (size_t i = 0; i < p->naggs; i++)
            if (p->aggs[i].kind == A_TOP) {
                s[gi * p->naggs + i].u.t.n = 0;
                s[gi * p->naggs + i].n = 0;
            }
    cp_dset_each_count(p->tset, top_one, g);
}

/* A top list as JSON: [["value",count],...], most frequent first. */
static void put_top(mk_table *t, size_t col, const slot *s, mk_out *m)
{
    mk_out_mem_reset(m);
    mk_out_char(m, '[');
    for (uint32_t k = 0; k < s->u.t.n; k++) {
        const topent *e = &s->u.t.e[k];
        mk_out_write(m, k ? ",[" : "[", k ? 2 : 1);
        mk_out_json_str(m, e->v, e->len);
        mk_out_printf(m, ",%llu]", (unsigned long long)e->count);
    }
    mk_out_char(m, ']');
    size_t n;
    const char *txt = mk_out_mem(m, &n);
    mk_table_str(t, col, txt, n);
}

void cp_plan_columns(const cp_plan *p, const mk_header *h, mk_table *t, mk_coltype *types)
{
    for (size_t i = 0; i < p->nkeys; i++) {
        mk_table_col(t, h ? h->names[p->keys[i]] : p->key_names[i], MK_COL_STR);
        if (types)
            types[i] = MK_COL_STR;
    }
    for (size_t i = 0; i < p->naggs; i++) {
        cp_agg_kind k = p->aggs[i].kind;
        mk_coltype ty = k == A_COUNT || k == A_DISTINCT || k == A_APPROX_DISTINCT ? MK_COL_UINT
                      : k == A_FIRST || k == A_LAST ? MK_COL_STR : k == A_TOP ? MK_COL_JSON
                      : MK_COL_NUM;
        mk_table_col(t, p->aggs[i].out_name, ty);
        if (types)
            types[p->nkeys + i] = ty;
    }
}

void cp_groups_table(cp_groups *g, const mk_header *h, mk_table *t, double **sortvals)
{
    const cp_plan *p = g->p;
    count_distinct(g);
    count_top(g);
    mk_out *tm = p->tset ? mk_out_open_mem() : NULL;
    if (p->nkeys == 0 && mk_vec_len(&g->rows) == 0 && !sortvals)
        new_group(g, "", 0);    /* no rows: still one result, count 0 */
    size_t ng = mk_vec_len(&g->rows);
    size_t *kc = mk_xcalloc(p->nkeys + 1, sizeof *kc), *ac = mk_xcalloc(p->naggs + 1, sizeof *ac);
    cp_plan_columns(p, h, t, NULL);
    for (size_t i = 0; i < p->nkeys; i++)
        kc[i] = i;
    for (size_t i = 0; i < p->naggs; i++)
        ac[i] = p->nkeys + i;
    sortkey *order = mk_xmalloc((ng ? ng : 1) * sizeof *order);
    for (size_t i = 0; i < ng; i++)
        order[i] = (sortkey){ key_prefix(mk_vec_get(&g->keys, i)), i };
    double *val = NULL;
    if (p->sort_agg >= 0) {
        val = mk_xmalloc((ng ? ng : 1) * sizeof *val);
        for (size_t i = 0; i < ng; i++)
            val[i] = agg_value(g, i, (size_t)p->sort_agg);
        sortctx c = { mk_vec_data(&g->keys), val };
        qsort_r(order, ng, sizeof *order, by_value, &c);
    } else {
        qsort_r(order, ng, sizeof *order, sortkey_cmp, mk_vec_data(&g->keys));
    }
    if (p->top && p->top < ng)
        ng = p->top;
    if (sortvals) {
        *sortvals = mk_xmalloc((ng ? ng : 1) * sizeof **sortvals);
        for (size_t oi = 0; oi < ng; oi++)
            (*sortvals)[oi] = val ? val[order[oi].id] : NAN;
    }
    free(val);
    for (size_t oi = 0; oi < ng; oi++) {
        uint64_t gi = order[oi].id;
        mk_table_row(t);
        const keyref *k = mk_vec_get(&g->keys, gi);
        size_t off = 0;
        for (size_t i = 0; i < p->nkeys; i++) {
            uint32_t len;
            memcpy(&len, k->p + off, 4);
            mk_table_str(t, kc[i], k->p + off + 4, len);
            off += 4 + len;
        }
        slot *s = (slot *)mk_vec_data(&g->slots) + gi * p->naggs;
        uint64_t rows = ((uint64_t *)mk_vec_data(&g->rows))[gi];
        for (size_t i = 0; i < p->naggs; i++) {
            const cp_agg *a = &p->aggs[i];
            if (a->kind == A_COUNT) {
                mk_table_uint(t, ac[i], rows);
                continue;
            }
            if (a->kind == A_DISTINCT && s[i].n) {
                mk_table_uint(t, ac[i], s[i].n);
                continue;
            }
            if (!s[i].n)
                continue;   /* all missing: empty cell */
            switch (a->kind) {
            case A_SUM: {
                char b[64];
                mk_table_str(t, ac[i], b, cp_xsum_format(&s[i].u.s, b, sizeof b));
                break;
            }
            case A_MEAN:
                put_d(t, ac[i], cp_xsum_value(&s[i].u.s) / (double)s[i].n);
                break;
            case A_MIN: case A_MAX:
                if (s[i].u.m.exact) {
                    cp_xsum one = { .sum = s[i].u.m.dec.m, .scale = s[i].u.m.dec.scale };
                    char b[64];
                    mk_table_str(t, ac[i], b, cp_xsum_format(&one, b, sizeof b));
                } else {
                    put_d(t, ac[i], s[i].u.m.d);
                }
                break;
            case A_VAR: case A_STDDEV:
                if (s[i].n > 1) {
                    double var = cp_xvar_variance(&s[i].u.v);
                    put_d(t, ac[i], a->kind == A_VAR ? var : sqrt(var));
                }
                break;
            case A_FIRST: case A_LAST:
                mk_table_str(t, ac[i], s[i].u.str.p, s[i].u.str.len);
                break;
            case A_QUANTILE:
                put_d(t, ac[i], quantile(mk_vec_get(&g->qs, s[i].u.q.idx), a->q, p->nearest));
                break;
            case A_APPROX_DISTINCT:
                mk_table_uint(t, ac[i], (uint64_t)llround(mk_hll_estimate(mk_vec_get(&g->hlls, s[i].u.h.idx))));
                break;
            case A_TOP:
                put_top(t, ac[i], &s[i], tm);
                break;
            default:
                break;
            }
        }
    }
    free(order);
    free(kc);
    free(ac);
    if (tm)
        mk_out_discard(tm);
}

/* What each group owns outside the table's vectors. */
static void free_group_blocks(cp_groups *g)
{
    for (size_t i = 0; i < mk_vec_len(&g->qs); i++)
        q_free(mk_vec_get(&g->qs, i));
    for (size_t i = 0; i < mk_vec_len(&g->hlls); i++)
        mk_hll_free(mk_vec_get(&g->hlls, i));
    mk_arena_free(&g->strs);
}

/* The groups and their state; the per-row scratch buffers stay. */
static void free_state(cp_groups *g)
{
    free_group_blocks(g);
    mk_vec_free(&g->hlls);
    mk_map_free(&g->index);
    mk_vec_free(&g->keys);
    mk_vec_free(&g->rows);
    mk_vec_free(&g->slots);
    mk_vec_free(&g->qs);
}

/* A spilled table fills up again to about the same size: its map and
 * vectors keep their memory (already resident, and reused without a page
 * fault or a copy), and only the per-group blocks are freed. */
void cp_groups_clear(cp_groups *g)
{
    if (mk_vec_len(&g->rows) > g->high)
        g->high = mk_vec_len(&g->rows);
    free_group_blocks(g);
    mk_arena_init(&g->strs, 0);
    mk_map_clear(&g->index);
    mk_vec_clear(&g->keys);
    mk_vec_clear(&g->rows);
    mk_vec_clear(&g->slots);
    mk_vec_clear(&g->qs);
    mk_vec_clear(&g->hlls);
    memset(g->cache, 0, sizeof g->cache);
    g->qh_bytes = 0;
}

void cp_groups_release(cp_groups *g)
{
    free_state(g);
    init_state(g);
}

void cp_groups_free(cp_groups *g)
{
    if (!g)
        return;
    free_state(g);
    if (g->batch)
        cp_dset_batch_free(g->batch);
    free(g->batch);
    free(g->dbuf);
    free(g->kbuf);
    free(g->numcol);
    free(g->numname);
    free(g->num);
    free(g->ops);
    free(g);
}

/* ---- partial state (--partial / --merge) ----------------------------------------
 *
 * Text, one record per line, fields separated by tabs and escaped as in TSV
 * output (\t \n \r \\), so partials survive zstd, split and cat:
 *   G  ROWS  KEY...  STATE...       one line per group, in table order
 *   D  GROUP  AGG  VALUE            one line per distinct value
 *   Q  GROUP  STORE  v  VALUE...    exact quantile values (%a), ≤ 256 a line
 *   Q  GROUP  STORE  s  HEX         a folded DDSketch
 * STATE is one field per aggregate, its parts joined by ':' (doubles as %a,
 * exact to the bit). memkit-formats(5) documents the whole file. */

static int bad(const char *what);

static void hex_out(mk_out *o, const unsigned char *p, size_t n)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        mk_out_char(o, d[p[i] >> 4]);
        mk_out_char(o, d[p[i] & 15]);
    }
}


static int save_distinct(void *ctx, const char *e, size_t n)
{
    struct { cp_groups *g; mk_out *o; } *c = ctx;
    uint16_t ai;
    memcpy(&ai, e, 2);
    size_t kl = key_len(c->g->p, e + 2, n - 2);
    uint64_t gi = group_of_key(c->g, e + 2, kl);
    if (gi == UINT64_MAX)
        return 0;
    mk_out_write(c->o, "D\t", 2);
    mk_out_u64(c->o, gi);
    mk_out_char(c->o, '\t');
    mk_out_u64(c->o, ai);
    mk_out_char(c->o, '\t');
    mk_out_tsv_field(c->o, e + 2 + kl, n - 2 - kl);
    mk_out_char(c->o, '\n');
    return 0;
}

/* One group's G record and its Q records, numbered `local` in its file. */
static void save_group(cp_groups *g, size_t gi, uint64_t local, mk_out *o)
{
    const cp_plan *p = g->p;
    {
        /* Not printf: spills write millions of these (a seventh of the
         * CPU of grouping 2 M keys went to printf's %llu and %a). */
        mk_out_write(o, "G\t", 2);
        mk_out_u64(o, ((uint64_t *)mk_vec_data(&g->rows))[gi]);
        const keyref *k = mk_vec_get(&g->keys, gi);
        size_t off = 0;
        for (size_t i = 0; i < p->nkeys; i++) {
            uint32_t len;
            memcpy(&len, k->p + off, 4);
            mk_out_char(o, '\t');
            mk_out_tsv_field(o, k->p + off + 4, len);
            off += 4 + len;
        }
        slot *s = (slot *)mk_vec_data(&g->slots) + gi * p->naggs;
        for (size_t i = 0; i < p->naggs; i++) {
            const cp_agg *a = &p->aggs[i];
            mk_out_char(o, '\t');
            mk_out_u64(o, s[i].n);
            switch (a->kind) {
            case A_SUM: case A_MEAN:
                mk_out_char(o, ':');
                cp_xsum_save(&s[i].u.s, o);
                break;
            case A_MIN: case A_MAX:
                mk_out_char(o, ':');
                mk_out_hex_double(o, s[i].u.m.d);
                mk_out_char(o, ':');
                mk_out_i64(o, s[i].u.m.exact);
                mk_out_char(o, ':');
                cp_i128_out(o, s[i].u.m.dec.m);
                mk_out_char(o, ':');
                mk_out_i64(o, s[i].u.m.dec.scale);
                break;
            case A_VAR: case A_STDDEV:
                mk_out_char(o, ':');
                cp_xvar_save(&s[i].u.v, o);
                break;
            case A_FIRST: case A_LAST:
                if (s[i].n) {
                    mk_out_char(o, ':');
                    cp_i128_out(o, (__int128)s[i].u.str.pos);
                    mk_out_char(o, ':');
                    mk_out_tsv_field(o, s[i].u.str.p, s[i].u.str.len);
                }
                break;
            case A_APPROX_DISTINCT: {
                const mk_hll *h = mk_vec_get(&g->hlls, s[i].u.h.idx);
                size_t n = mk_hll_serialize(h, NULL, 0);
                unsigned char *b = mk_xmalloc(n);
                mk_hll_serialize(h, b, n);
                mk_out_char(o, ':');
                hex_out(o, b, n);
                free(b);
                break;
            }
            default:
                break;
            }
        }
        mk_out_char(o, '\n');
        for (int q = 0; q < p->nq; q++) {
            qstore *st = mk_vec_get(&g->qs, gi * (size_t)p->nq + (size_t)q);
            if (st->sketched) {
                size_t n = mk_qsketch_serialize(&st->sk, NULL, 0);
                unsigned char *b = mk_xmalloc(n);
                mk_qsketch_serialize(&st->sk, b, n);
                mk_out_printf(o, "Q\t%llu\t%d\ts\t", (unsigned long long)local, q);
                hex_out(o, b, n);
                mk_out_char(o, '\n');
                free(b);
                continue;
            }
            if (st->ref)       /* a spilled segment: the log outlives it */
                mk_out_printf(o, "Q\t%llu\t%d\tl\t%u\t%llu\t%a\t%a\n", (unsigned long long)local,
                              q, st->ref, (unsigned long long)st->logged, st->lo, st->hi);
            const double *v = mk_vec_data(&st->vals);
            for (size_t i = 0; i < mk_vec_len(&st->vals); i += 256) {
                mk_out_printf(o, "Q\t%llu\t%d\tv", (unsigned long long)local, q);
                for (size_t k2 = i; k2 < i + 256 && k2 < mk_vec_len(&st->vals); k2++) {
                    mk_out_char(o, '\t');
                    mk_out_hex_double(o, v[k2]);   /* exact, and fast both ways */
                }
                mk_out_char(o, '\n');
            }
        }
    }
}

void cp_groups_save_to(cp_groups *g, cp_pick_fn pick, void *ctx)
{
    for (size_t gi = 0; gi < mk_vec_len(&g->rows); gi++) {
        const keyref *k = mk_vec_get(&g->keys, gi);
        uint64_t local;
        mk_out *o = pick(ctx, k->p, k->len, &local);
        save_group(g, gi, local, o);
    }
}

static mk_out *pick_one(void *ctx, const char *key, size_t klen, uint64_t *local)
{
    struct { mk_out *o; uint64_t n; } *c = ctx;
    *local = c->n++;
    return c->o;
}

static int save_top(void *ctx, const char *e, size_t n, uint64_t count)
{
    struct { const cp_plan *p; mk_out *o; } *c = ctx;
    cp_entry_write(c->p, e, n, count, 1, c->o);
    return 0;
}

void cp_groups_save(cp_groups *g, mk_out *o)
{
    cp_groups_flush(g);
    const cp_plan *p = g->p;
    struct { mk_out *o; uint64_t n; } one = { o, 0 };
    cp_groups_save_to(g, pick_one, &one);
    if (p->dset) {
        struct { cp_groups *g; mk_out *o; } c = { g, o };
        cp_dset_each(p->dset, save_distinct, &c);
    }
    if (p->tset) {
        struct { const cp_plan *p; mk_out *o; } c = { p, o };
        cp_dset_each_count(p->tset, save_top, &c);
    }
}

/* ---- distinct entries outside a table (spilling) ----------------------------- */

/* Key fields (length-prefixed) as TSV fields, each after a tab. */
static void keys_out(const cp_plan *p, const char *k, size_t kl, mk_out *o)
{
    size_t off = 0;
    for (size_t i = 0; i < p->nkeys && off + 4 <= kl; i++) {
        uint32_t len;
        memcpy(&len, k + off, 4);
        mk_out_char(o, '\t');
        mk_out_tsv_field(o, k + off + 4, len);
        off += 4 + len;
    }
}

void cp_entry_split(const cp_plan *p, const char *e, size_t n, unsigned *agg, size_t *klen)
{
    uint16_t a16;
    memcpy(&a16, e, 2);
    *agg = a16;
    *klen = key_len(p, e + 2, n - 2);
}

void cp_entry_write(const cp_plan *p, const char *e, size_t n, uint64_t count, int top, mk_out *o)
{
    unsigned ai;
    size_t kl;
    cp_entry_split(p, e, n, &ai, &kl);
    mk_out_write(o, top == 2 ? "U\t" : top ? "T\t" : "K\t", 2);
    mk_out_u64(o, ai);
    mk_out_char(o, '\t');
    if (top) {
        mk_out_u64(o, count);
        mk_out_char(o, '\t');
    }
    mk_out_tsv_field(o, e + 2 + kl, n - 2 - kl);
    keys_out(p, e + 2, kl, o);
    mk_out_char(o, '\n');
}

void cp_count_write(const cp_plan *p, unsigned agg, uint64_t count, const char *key, size_t klen,
                    mk_out *o)
{
    mk_out_write(o, "C\t", 2);
    mk_out_u64(o, agg);
    mk_out_char(o, '\t');
    mk_out_u64(o, count);
    keys_out(p, key, klen, o);
    mk_out_char(o, '\n');
}

/* Key fields, length-prefixed, at *buf + at, with room for `extra` more
 * bytes after them; returns the key's length. */
static size_t encode_at(const cp_plan *p, const mk_field *f, char **buf, size_t *cap, size_t at,
                        size_t extra)
{
    size_t need = at + extra;
    for (size_t i = 0; i < p->nkeys; i++)
        need += 4 + f[i].len;
    if (need > *cap) {
        *cap = need * 2 + 16;
        *buf = mk_xrealloc(*buf, *cap);
    }
    size_t n = 0;
    for (size_t i = 0; i < p->nkeys; i++) {
        uint32_t len = f[i].len;
        memcpy(*buf + at + n, &len, 4);
        if (len)
            memcpy(*buf + at + n + 4, f[i].ptr, len);
        n += 4 + len;
    }
    return n;
}

size_t cp_key_encode(const cp_plan *p, const mk_field *f, char **buf, size_t *cap)
{
    return encode_at(p, f, buf, cap, 0, 0);
}

int cp_entry_parse(const cp_plan *p, char *line, size_t len, char **buf, size_t *cap, size_t *n,
                   uint64_t *count)
{
    mk_field f[512];
    size_t nf = mk_split_tsv(line, len, f, 512);
    int top = nf > 0 && f[0].len == 1 && f[0].ptr[0] == 'T';
    size_t v = top ? 3 : 2;     /* K AGG VALUE KEY... / T AGG COUNT VALUE KEY... */
    if (nf != v + 1 + p->nkeys || f[0].len != 1 || (f[0].ptr[0] != 'K' && !top))
        return bad("distinct entry");
    for (size_t i = 0; i < nf; i++)
        f[i].len = (uint32_t)mk_tsv_unescape((char *)f[i].ptr, f[i].len);
    uint64_t ai;
    *count = 1;
    if (mk_parse_u64(f[1].ptr, f[1].len, &ai) < 0 || ai >= p->naggs ||
        (top && mk_parse_u64(f[2].ptr, f[2].len, count) < 0))
        return bad("distinct aggregate");
    size_t kl = encode_at(p, f + v + 1, buf, cap, 2, f[v].len);
    uint16_t a16 = (uint16_t)ai;
    memcpy(*buf, &a16, 2);
    if (f[v].len)
        memcpy(*buf + 2 + kl, f[v].ptr, f[v].len);
    *n = 2 + kl + f[v].len;
    return top;
}

/* ---- reading a partial ---------------------------------------------------------- */

static int bad(const char *what)
{
    return mk_err_set("malformed partial state (%s)", what);
}

/* Cursor over "a:b:c" parts of one state field. */
typedef struct {
    const char *p, *end;
} parts;

static int part(parts *c, const char **s, size_t *n)
{
    if (c->p > c->end)
        return -1;
    const char *colon = memchr(c->p, ':', (size_t)(c->end - c->p));
    const char *e = colon ? colon : c->end;
    *s = c->p;
    *n = (size_t)(e - c->p);
    c->p = e + 1;
    return 0;
}

static int part_u64(parts *c, uint64_t *v)
{
    const char *s;
    size_t n;
    return part(c, &s, &n) < 0 || mk_parse_u64(s, n, v) < 0 ? -1 : 0;
}

static int part_i64(parts *c, int64_t *v)
{
    const char *s;
    size_t n;
    return part(c, &s, &n) < 0 || mk_parse_i64(s, n, v) < 0 ? -1 : 0;
}

/* Hex floats (%a) are what the writer uses; strtod reads them exactly. */
static int part_dbl(parts *c, double *v)
{
    const char *s;
    size_t n;
    char b[64];
    if (part(c, &s, &n) < 0 || n == 0 || n >= sizeof b)
        return -1;
    memcpy(b, s, n);
    b[n] = 0;
    char *e;
    *v = strtod(b, &e);
    return *e ? -1 : 0;
}

static int part_i128(parts *c, __int128 *v)
{
    const char *s;
    size_t n;
    if (part(c, &s, &n) < 0 || n == 0 || n > 41)
        return -1;
    int neg = *s == '-';
    unsigned __int128 u = 0;
    for (size_t i = (size_t)neg; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        u = u * 10 + (unsigned)(s[i] - '0');
    }
    *v = neg ? -(__int128)u : (__int128)u;
    return 0;
}

static int unhex(const char *s, size_t n, unsigned char **out, size_t *len)
{
    if (n % 2)
        return -1;
    unsigned char *b = mk_xmalloc(n / 2 + 1);
    for (size_t i = 0; i < n; i += 2) {
        int hi = s[i] >= 'a' ? s[i] - 'a' + 10 : s[i] - '0', lo = s[i + 1] >= 'a' ? s[i + 1] - 'a' + 10 : s[i + 1] - '0';
        if (hi < 0 || hi > 15 || lo < 0 || lo > 15) {
            free(b);
            return -1;
        }
        b[i / 2] = (unsigned char)(hi << 4 | lo);
    }
    *out = b;
    *len = n / 2;
    return 0;
}

static int load_state(cp_groups *g, const cp_agg *a, slot *s, const char *f, size_t n,
                      cp_pos pos_base)
{
    parts c = { f, f + n };
    if (part_u64(&c, &s->n) < 0)
        return bad("count");
    switch (a->kind) {
    case A_DISTINCT: case A_TOP:
        /* Counted from D, K or C records (top: T or U), never from this marker. */
        s->n = 0;
        return 0;
    case A_SUM: case A_MEAN:
        return cp_xsum_load(&s->u.s, c.p, (size_t)(c.end - c.p)) < 0 ? bad("sum") : 0;
    case A_MIN: case A_MAX: {
        int64_t ex, sc;
        if (part_dbl(&c, &s->u.m.d) < 0 || part_i64(&c, &ex) < 0 ||
            part_i128(&c, &s->u.m.dec.m) < 0 || part_i64(&c, &sc) < 0 || sc < 0 || sc > 18)
            return bad("min/max");
        s->u.m.exact = ex != 0;
        s->u.m.dec.scale = (int)sc;
        return 0;
    }
    case A_VAR: case A_STDDEV:
        return cp_xvar_load(&s->u.v, c.p, (size_t)(c.end - c.p)) < 0 ? bad("var") : 0;
    case A_FIRST: case A_LAST: {
        if (!s->n)
            return 0;
        __int128 pos;
        if (part_i128(&c, &pos) < 0 || pos < 0 || c.p > c.end)
            return bad("first/last");
        char *v = mk_xstrndup(c.p, (size_t)(c.end - c.p));
        size_t vl = mk_tsv_unescape(v, (size_t)(c.end - c.p));
        s->u.str.cap = 0;
        set_str(g, s, v, vl, pos_base + (cp_pos)pos);
        free(v);
        return 0;
    }
    case A_APPROX_DISTINCT: {
        const char *h;
        size_t hn, len, used;
        unsigned char *b;
        if (part(&c, &h, &hn) < 0 || unhex(h, hn, &b, &len) < 0)
            return bad("approx-distinct");
        mk_hll *hll = mk_vec_get(&g->hlls, s->u.h.idx);
        mk_hll_free(hll);
        int rc = mk_hll_deserialize(hll, b, len, &used);
        free(b);
        return rc < 0 ? -1 : 0;
    }
    default:
        return 0;
    }
}

static int load_line(cp_groups *g, char *line, size_t len, uint64_t run);

/* Keeps qh_bytes current: a G record brings HLLs, a Q record values or a
 * sketch; each touches one group, whose stores are counted before and after. */
static size_t group_store_bytes(const cp_groups *g, size_t gi)
{
    const cp_plan *p = g->p;
    size_t b = 0;
    if (gi >= mk_vec_len(&g->rows))
        return 0;
    for (int q = 0; q < p->nq; q++)
        b += q_bytes(mk_vec_get(&g->qs, gi * (size_t)p->nq + (size_t)q));
    const slot *s = (const slot *)mk_vec_data(&g->slots) + gi * p->naggs;
    for (size_t i = 0; i < p->naggs; i++)
        if (p->aggs[i].kind == A_APPROX_DISTINCT)
            b += mk_hll_bytes(mk_vec_get(&g->hlls, s[i].u.h.idx));
    return b;
}

int cp_groups_load(cp_groups *g, char *line, size_t len, uint64_t run)
{
    /* The group a record touches: a new G is the next group; Q names its own. */
    size_t gi = mk_vec_len(&g->rows);
    if (len > 2 && line[0] == 'Q' && line[1] == '\t')
        gi = strtoull(line + 2, NULL, 10);
    size_t before = group_store_bytes(g, gi);
    int rc = load_line(g, line, len, run);
    g->qh_bytes += group_store_bytes(g, gi) - before;
    return rc;
}

static uint64_t q_values(const qstore *st)
{
    return st->sketched ? mk_qsketch_count(&st->sk) : mk_vec_len(&st->vals) + st->logged + st->counted;
}

int cp_groups_check(const cp_groups *g)
{
    const cp_plan *p = g->p;
    size_t ng = mk_vec_len(&g->rows);
    for (size_t gi = 0; gi < ng; gi++) {
        const slot *s = (const slot *)mk_vec_data(&g->slots) + gi * p->naggs;
        for (size_t i = 0; i < p->naggs; i++) {
            const cp_agg *a = &p->aggs[i];
            if (a->kind != A_QUANTILE)
                continue;
            uint64_t have = q_values(mk_vec_get(&g->qs, gi * (size_t)p->nq + (size_t)a->qstore));
            if (have != s[i].n)
                return mk_err_set("malformed partial state (group %zu: %llu values for '%s', "
                                  "%llu counted)", gi, (unsigned long long)have, a->out_name,
                                  (unsigned long long)s[i].n);
        }
    }
    return 0;
}

static int load_line(cp_groups *g, char *line, size_t len, uint64_t run)
{
    cp_pos pos_base = (cp_pos)run << 64;
    const cp_plan *p = g->p;
    mk_field f[512];
    size_t nf = mk_split_tsv(line, len, f, 512);
    if (nf > 512)
        return bad("too many fields");
    for (size_t i = 0; i < nf; i++)
        f[i].len = (uint32_t)mk_tsv_unescape((char *)f[i].ptr, f[i].len);
    if (nf == 0 || f[0].len != 1)
        return bad("record type");
    if (f[0].ptr[0] == 'G') {
        if (nf != 2 + p->nkeys + p->naggs)
            return bad("field count");
        /* Keys become their own fields so group_of() builds the same key. */
        uint64_t rows;
        if (mk_parse_u64(f[1].ptr, f[1].len, &rows) < 0)
            return bad("rows");
        mk_field kf[512];
        for (size_t i = 0; i < p->nkeys; i++)
            kf[p->keys[i]] = f[2 + i];
        size_t before = mk_vec_len(&g->rows);
        uint64_t gi = p->nkeys ? group_of(g, kf, 512) : (new_group(g, "", 0), before);
        if (mk_vec_len(&g->rows) == before)
            return bad("duplicate group");
        ((uint64_t *)mk_vec_data(&g->rows))[gi] = rows;
        slot *s = (slot *)mk_vec_data(&g->slots) + gi * p->naggs;
        for (size_t i = 0; i < p->naggs; i++)
            if (load_state(g, &p->aggs[i], &s[i], f[2 + p->nkeys + i].ptr, f[2 + p->nkeys + i].len,
                           pos_base) < 0)
                return -1;
        return 0;
    }
    if (f[0].ptr[0] == 'T' || f[0].ptr[0] == 'U') {
        /* Top records: a value's count in a group (T AGG COUNT VALUE KEY...,
         * into the counted set) or a finished partition's (U, offered to
         * the group's list directly). */
        uint64_t ai, c;
        if (nf != 4 + p->nkeys || mk_parse_u64(f[1].ptr, f[1].len, &ai) < 0 || ai >= p->naggs ||
            p->aggs[ai].kind != A_TOP || mk_parse_u64(f[2].ptr, f[2].len, &c) < 0)
            return bad("top");
        mk_field kf[512];
        for (size_t i = 0; i < p->nkeys; i++)
            kf[p->keys[i]] = f[4 + i];
        uint64_t gi = p->nkeys ? group_of(g, kf, 512)
                               : (mk_vec_len(&g->rows) ? 0 : new_group(g, "", 0));
        slot *s = (slot *)mk_vec_data(&g->slots) + gi * p->naggs + ai;
        if (f[0].ptr[0] == 'U') {
            top_offer(g, s, &p->aggs[ai], f[3].ptr, f[3].len, c);
            return 0;
        }
        const keyref *k = mk_vec_get(&g->keys, gi);
        add_entry(g, p->tset, (size_t)ai, k->p, k->len, f[3].ptr, f[3].len, c);
        s->n = 1;
        return 0;
    }
    if (f[0].ptr[0] == 'K' || f[0].ptr[0] == 'C') {
        /* Keyed records: a distinct value (K AGG VALUE KEY...) or a distinct
         * count from a spilled partition (C AGG COUNT KEY...); the group is
         * made (with no rows) when this file has not seen it. */
        uint64_t ai, v = 0;
        if (nf != 3 + p->nkeys || mk_parse_u64(f[1].ptr, f[1].len, &ai) < 0 || ai >= p->naggs ||
            p->aggs[ai].kind != A_DISTINCT ||
            (f[0].ptr[0] == 'C' && mk_parse_u64(f[2].ptr, f[2].len, &v) < 0))
            return bad(f[0].ptr[0] == 'K' ? "distinct" : "distinct count");
        mk_field kf[512];
        for (size_t i = 0; i < p->nkeys; i++)
            kf[p->keys[i]] = f[3 + i];
        uint64_t gi = p->nkeys ? group_of(g, kf, 512)
                               : (mk_vec_len(&g->rows) ? 0 : new_group(g, "", 0));
        slot *s = (slot *)mk_vec_data(&g->slots) + gi * p->naggs + ai;
        if (f[0].ptr[0] == 'C') {
            s->n += v;
            return 0;
        }
        const keyref *k = mk_vec_get(&g->keys, gi);
        add_distinct(g, (size_t)ai, k->p, k->len, f[2].ptr, f[2].len);
        s->n = 1;
        return 0;
    }
    uint64_t gi, x;
    if (nf < 4 || mk_parse_u64(f[1].ptr, f[1].len, &gi) < 0 || gi >= mk_vec_len(&g->rows) ||
        mk_parse_u64(f[2].ptr, f[2].len, &x) < 0)
        return bad("group reference");
    if (f[0].ptr[0] == 'D') {
        if (x >= p->naggs || p->aggs[x].kind != A_DISTINCT || nf != 4)
            return bad("distinct");
        const keyref *k = mk_vec_get(&g->keys, gi);
        add_distinct(g, (size_t)x, k->p, k->len, f[3].ptr, f[3].len);
        return 0;
    }
    if (f[0].ptr[0] == 'Q') {
        if (x >= (uint64_t)p->nq)
            return bad("quantile store");
        qstore *st = mk_vec_get(&g->qs, gi * (size_t)p->nq + x);
        if (f[3].len == 1 && f[3].ptr[0] == 's' && nf == 5) {
            unsigned char *b;
            size_t bl, used;
            if (unhex(f[4].ptr, f[4].len, &b, &bl) < 0)
                return bad("sketch");
            mk_qsketch_free(&st->sk);
            int rc = mk_qsketch_deserialize(&st->sk, b, bl, &used);
            free(b);
            if (rc < 0)
                return -1;
            mk_vec_free(&st->vals);
            st->sketched = 1;
            return 0;
        }
        if (f[3].len == 1 && f[3].ptr[0] == 'l' && nf == 8 && g->trust_refs && p->qlog &&
            !g->count_only) {
            uint64_t ref, n;
            parts c = { f[6].ptr, f[6].ptr + f[6].len }, d = { f[7].ptr, f[7].ptr + f[7].len };
            double lo, hi;
            if (mk_parse_u64(f[4].ptr, f[4].len, &ref) < 0 || ref == 0 ||
                ref >= cp_qlog_nrefs(p->qlog) || (st->ref && st->ref != ref) ||
                mk_parse_u64(f[5].ptr, f[5].len, &n) < 0 || part_dbl(&c, &lo) < 0 ||
                part_dbl(&d, &hi) < 0)
                return bad("quantile log reference");
            q_add_logged(st, (uint32_t)ref, n, lo, hi);
            return 0;
        }
        if (f[3].len != 1 || f[3].ptr[0] != 'v')
            return bad("quantile values");
        if (g->count_only) {
            st->counted += nf - 4;
            return 0;
        }
        for (size_t i = 4; i < nf; i++) {
            parts c = { f[i].ptr, f[i].ptr + f[i].len };
            double d;
            if (part_dbl(&c, &d) < 0)
                return bad("quantile value");
            q_add(st, d, 1);
        }
        q_log(g, gi * (size_t)p->nq + x);
        return 0;
    }
    return bad("record type");
}

/* ---- a group bigger than memory ------------------------------------------------- */

/* The ranks every quantile of store q needs among n values (two each, for
 * interpolation), in a malloc'd array. */
static size_t store_ranks(const cp_plan *p, int q, uint64_t n, uint64_t **out)
{
    uint64_t *ranks = mk_xmalloc((2 * p->naggs + 1) * sizeof *ranks);
    size_t nr = 0;
    for (size_t i = 0; i < p->naggs; i++) {
        const cp_agg *a = &p->aggs[i];
        if (a->kind != A_QUANTILE || a->qstore != q)
            continue;
        uint64_t lo, hi;
        double h;
        ranks_of(n, a->q, p->nearest, &lo, &hi, &h);
        ranks[nr++] = lo;
        ranks[nr++] = hi;
    }
    *out = ranks;
    return nr;
}

/* The store now answers from the order statistics selected for its n
 * values (see quantile); it takes ranks and keeps no values. */
static void keep_picks(qstore *st, uint64_t n, const mk_select *sel, uint64_t *ranks, size_t nr)
{
    st->counted = n;
    st->pick_rank = ranks;
    st->pick_val = mk_xmalloc((nr ? nr : 1) * sizeof *st->pick_val);
    for (size_t i = 0; i < nr; i++)
        st->pick_val[i] = mk_select_value(sel, i);
    st->npick = nr;
    mk_vec_free(&st->vals);
}

void cp_groups_count_only(cp_groups *g) { g->count_only = 1; }
void cp_groups_trust_refs(cp_groups *g) { g->trust_refs = 1; }

/* ---- exact quantiles from the log ------------------------------------------------ */

/* Stores are resolved in batches of at most this many ranks: each holds
 * 32 KiB of counts while counting, so a batch needs at most 8 MiB. */
enum { RESOLVE_RANKS = 256 };

typedef struct {
    qstore *st;
    mk_select *sel;
    uint64_t *ranks;
    size_t nr;
} pending;

/* One thread's share of a pass: chunks [from, to) of the log, fed to its
 * own selections (the batch's, or clones of them). */
typedef struct {
    cp_qlog *log;
    const int32_t *at;         /* ref → index in the batch, -1: not in it */
    mk_select **sel;
    size_t from, to;
    int rc;
    char err[256];
} scan_share;

static void feed_chunk(void *ctx, uint32_t ref, const double *v, size_t n)
{
    scan_share *c = ctx;
    int32_t k = c->at[ref];
    if (k >= 0 && !mk_select_done(c->sel[k]))
        mk_select_add_n(c->sel[k], v, n);
}

static void *scan_thread(void *arg)
{
    scan_share *c = arg;
    if ((c->rc = cp_qlog_scan(c->log, c->from, c->to, c->at, feed_chunk, c)) < 0)
        snprintf(c->err, sizeof c->err, "%s", mk_err_msg());
    return NULL;
}

/* Threads share a pass when the log is big enough to be worth it. */
enum { SCAN_THREADS = 8, CHUNKS_PER_THREAD = 64 };

/* Passes over the in-memory values and the log until every store of the
 * batch has its order statistics. The log is split between up to
 * p->threads threads, each feeding clones that are merged before the pass
 * ends (task C --exact at -j 2: 0.84 s with one thread, 0.78 s with two). */
static int resolve_batch(const cp_plan *p, pending *b, size_t nb, const int32_t *at)
{
    mk_select **sel = mk_xmalloc(SCAN_THREADS * nb * sizeof *sel);
    int rc = 0;
    while (rc == 0) {
        int open = 0;
        for (size_t i = 0; i < nb; i++) {
            if (mk_select_done(b[i].sel))
                continue;
            open = 1;
            mk_select_add_n(b[i].sel, mk_vec_data(&b[i].st->vals), mk_vec_len(&b[i].st->vals));
        }
        if (!open)
            break;
        size_t chunks;
        if (cp_qlog_begin(p->qlog, &chunks) < 0) {
            rc = -1;
            break;
        }
        unsigned nt = p->threads ? p->threads : 1;
        nt = nt > SCAN_THREADS ? SCAN_THREADS : nt;
        while (nt > 1 && chunks / nt < CHUNKS_PER_THREAD)
            nt--;
        cp_qlog_shared(p->qlog, nt);
        scan_share sh[SCAN_THREADS];
        pthread_t tid[SCAN_THREADS];
        for (unsigned t = 0; t < nt; t++) {
            sh[t] = (scan_share){ p->qlog, at, sel + t * nb, chunks * t / nt, chunks * (t + 1) / nt,
                                  0, "" };
            for (size_t i = 0; i < nb; i++)
                sh[t].sel[i] = t == 0 || mk_select_done(b[i].sel) ? b[i].sel
                                                                   : mk_select_clone(b[i].sel);
        }
        unsigned started = 1;  /* threads running, this one included */
        while (started < nt && pthread_create(&tid[started], NULL, scan_thread, &sh[started]) == 0)
            started++;
        scan_thread(&sh[0]);
        for (unsigned t = 1; t < nt; t++) {
            if (t < started)
                pthread_join(tid[t], NULL);
            else
                scan_thread(&sh[t]);   /* no thread for it: this one scans it */
            for (size_t i = 0; i < nb; i++)
                if (sh[t].sel[i] != b[i].sel) {
                    mk_select_merge(b[i].sel, sh[t].sel[i]);
                    mk_select_free(sh[t].sel[i]);
                }
            if (sh[t].rc < 0 && rc == 0)
                rc = mk_err_set("%s", sh[t].err);
        }
        if (sh[0].rc < 0 && rc == 0)
            rc = -1;
        for (size_t i = 0; i < nb && rc == 0; i++)
            if (!mk_select_done(b[i].sel) && mk_select_end_pass(b[i].sel) < 0)
                rc = mk_err_set("exact quantiles: %s", mk_err_msg());
    }
    free(sel);
    return rc;
}

/* A store with logged values into the batch: its ranks, and a selection
 * bounded by the range of all its values. */
static void queue_store(const cp_plan *p, pending *e, qstore *st, int q, size_t hold)
{
    e->st = st;
    uint64_t n = st->logged + mk_vec_len(&st->vals);
    e->nr = store_ranks(p, q, n, &e->ranks);
    e->sel = mk_select_new(n, e->ranks, e->nr, hold);
    double lo = st->lo, hi = st->hi;
    const double *v = mk_vec_data(&st->vals);
    for (size_t k = 0; k < mk_vec_len(&st->vals); k++) {
        lo = v[k] < lo ? v[k] : lo;
        hi = v[k] > hi ? v[k] : hi;
    }
    mk_select_bound(e->sel, lo, hi);
}

/* Resolve a batch; each store then answers from its picks. */
static int finish_batch(const cp_plan *p, pending *b, size_t nb, int32_t *at)
{
    int rc = resolve_batch(p, b, nb, at);
    for (size_t i = 0; i < nb; i++) {
        at[b[i].st->ref] = -1;
        if (rc == 0)
            keep_picks(b[i].st, b[i].st->logged + mk_vec_len(&b[i].st->vals), b[i].sel,
                       b[i].ranks, b[i].nr);
        else
            free(b[i].ranks);
        mk_select_free(b[i].sel);
    }
    return rc;
}

int cp_groups_resolve(cp_groups *g)
{
    const cp_plan *p = g->p;
    if (!p->qlog)
        return 0;
    size_t nst = mk_vec_len(&g->qs), nlogged = 0;
    for (size_t qi = 0; qi < nst; qi++)
        nlogged += ((qstore *)mk_vec_get(&g->qs, qi))->ref != 0;
    if (!nlogged)
        return 0;
    /* Values held for the last pass: at most 2 Mi in all (16 MiB), so a
     * few stores get big holds (two passes), many get smaller ones. */
    size_t most = nlogged * 2 * p->naggs;
    size_t hold = ((size_t)1 << 21) / (most < RESOLVE_RANKS ? most : RESOLVE_RANKS);
    uint32_t nrefs = cp_qlog_nrefs(p->qlog);
    int32_t *at = mk_xmalloc(nrefs * sizeof *at);       /* ref → place in the batch */
    memset(at, 0xff, nrefs * sizeof *at);
    pending *b = mk_xmalloc(RESOLVE_RANKS * sizeof *b);
    size_t nb = 0, ranks = 0;
    int rc = 0;
    for (size_t qi = 0; qi < nst && rc == 0; qi++) {
        qstore *st = mk_vec_get(&g->qs, qi);
        if (!st->ref)
            continue;
        if (nb && ranks + 2 * p->naggs > RESOLVE_RANKS) {
            rc = finish_batch(p, b, nb, at);
            nb = ranks = 0;
            if (rc < 0)
                break;
        }
        queue_store(p, &b[nb], st, (int)(qi % (size_t)p->nq), hold);
        at[st->ref] = (int32_t)nb;
        ranks += b[nb++].nr;
    }
    if (rc == 0 && nb)
        rc = finish_batch(p, b, nb, at);
    free(at);
    free(b);
    return rc;
}
