/* agg — chunkproc's aggregates: specs, per-thread group tables, merging, and
 * the final table.
 *
 * A spec is `count`, `KIND:COLUMN` or `quantile:COLUMN:Q` / `top:COLUMN:K`;
 * its output column is named `count`, `KIND_COLUMN` or `quantile_COLUMN_Q`.
 * Each worker thread owns one cp_groups (no locking on the hot path); at the
 * end the tables are merged into the first, which then renders one row per
 * group, ordered by the group key (bytewise, column by column).
 *
 * Values: an empty field is missing and only `count` sees the row; numbers
 * are strict (a non-number in a numeric aggregate is an error the caller
 * reports with file:line). Sums, means and variances of plain decimals are
 * exact and order-independent (see exact.h). A group whose values are all missing
 * gets an empty cell. Quantiles are exact (values kept) up to 4096 values
 * per group and column, then come from a DDSketch (1 % relative error);
 * `exact` keeps every value: in the table up to 4096 a store, beyond that
 * in the plan's quantile log on disk (qlog.h, see cp_groups_resolve). The quantiles of one column share one store. approx-distinct is a HyperLogLog (p=14,
 * 0.81 % standard error); distinct is exact. */
#ifndef CP_AGG_H
#define CP_AGG_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "fields.h"
#include "out.h"

/* Where a row was: file << 48 | block << 24 | row within a run, and the
 * run (partial) number above bit 64 when partials are merged — so first and
 * last follow input order across any number of files and partials. */
typedef unsigned __int128 cp_pos;

typedef enum {
    A_COUNT, A_SUM, A_MEAN, A_MIN, A_MAX, A_VAR, A_STDDEV, A_FIRST, A_LAST,
    A_DISTINCT, A_APPROX_DISTINCT, A_QUANTILE, A_TOP,
} cp_agg_kind;

typedef struct {
    cp_agg_kind kind;
    char *col_name;            /* as written; NULL for count */
    int col;                   /* bound column index, -1 for count */
    double q;                  /* A_QUANTILE */
    uint32_t k;                /* A_TOP: values kept */
    char *out_name;
    int qstore;                /* A_QUANTILE: which per-group value store */
    int qowner;                /* the first quantile on its column adds the values */
} cp_agg;

typedef struct {
    cp_agg *aggs;
    size_t naggs;
    int *keys;                 /* group-by column indexes */
    char **key_names;          /* as written */
    size_t nkeys;
    int nq;                    /* value stores per group (one per quantile column) */
    int exact;                 /* exact quantiles (else the sketch) */
    int nearest;               /* --quantile-method nearest */
    int sort_agg;              /* --sort: aggregate index, -1 = by key */
    uint64_t top;              /* --top: at most this many rows, 0 = all */
    double alpha;              /* sketch relative accuracy */
    struct cp_dset *dset;      /* exact distinct values of every group, shared */
    int distinct_counted;      /* distinct counts are in the slots (spilled runs) */
    struct cp_dset *tset;      /* top:C:K: every (aggregate, group, value) with its count */
    int top_counted;           /* top lists are in the slots (spilled runs) */
    struct cp_qlog *qlog;      /* --exact: big stores' values on disk (qlog.h); owned */
    unsigned threads;          /* threads that may share passes over it */
} cp_plan;

/* Parse -a and -g lists into a plan (columns unbound); -1 with mk_err. */
int cp_plan_parse(cp_plan *p, const mk_list *aggs, const mk_list *keys);
/* --sort NAME: order groups by this output column, largest first (ties by
 * key); -1 with mk_err (and a suggestion) when no aggregate has that name. */
int cp_plan_sort(cp_plan *p, const char *name);
/* Bind column names; -1 with mk_err (unknown column, with a suggestion). */
int cp_plan_bind(cp_plan *p, const mk_header *h);
/* Bind from a partial file: key i is column i, aggregates read agg_cols. */
void cp_plan_bind_cols(cp_plan *p, const int *agg_cols);
void cp_plan_free(cp_plan *p);

typedef struct cp_groups cp_groups;

cp_groups *cp_groups_new(const cp_plan *p);
/* Add one row; pos orders rows across threads and files (for first/last). Returns 0, or
 * -1 with mk_err "column 'C': expected a number, found 'x'" (no location). */
int cp_groups_add(cp_groups *g, const mk_field *f, size_t nf, uint64_t pos, char *tmp);
size_t cp_groups_count(const cp_groups *g);
/* Bytes of this table's own state (the shared distinct set: cp_plan_bytes). */
size_t cp_groups_bytes(const cp_groups *g);
/* The most it may hold while `rows` more rows go in, each maybe a new group
 * (its hash map doubling holds old and new slots at once): what a budget
 * checked every `rows` rows must count. */
size_t cp_groups_bytes_ahead(const cp_groups *g, size_t rows);
/* The shared sets: what they hold in memory, and what their entries need
 * (a drained set keeps its slot arrays: see cp_dset_drain). */
size_t cp_plan_bytes(const cp_plan *p);
size_t cp_plan_content_bytes(const cp_plan *p);
/* Merge src into dst; src is left empty. */
void cp_groups_merge(cp_groups *dst, cp_groups *src);
/* The result's columns: keys (named as the header names them, or as written
 * when h is NULL because there was no input), then one per aggregate; types
 * (may be NULL) gets each column's type. */
void cp_plan_columns(const cp_plan *p, const mk_header *h, mk_table *t, mk_coltype *types);
/* Fill a table with those columns and one row per group, in result order.
 * With sortvals, no row is made for an empty ungrouped table and *sortvals
 * gets a malloc'd array of each row's --sort value (NaN when by key). */
void cp_groups_table(cp_groups *g, const mk_header *h, mk_table *t, double **sortvals);
/* --exact with a log (plan->qlog): find the order statistics of the stores
 * whose values went to the log, by passes over it. Before cp_groups_table,
 * once the table holds everything it will; -1 with mk_err. */
int cp_groups_resolve(cp_groups *g);
/* Q records naming log refs ("l") are accepted only by tables that trust
 * their input: spilled segments of this run, not --merge files. */
void cp_groups_trust_refs(cp_groups *g);
/* Distinct values added by cp_groups_add wait in a per-table batch; this
 * puts them into the shared set (merging, saving and tables do it). */
void cp_groups_flush(cp_groups *g);
/* Empty the table, keeping its plan and its memory (a spilled table fills
 * up again); release also gives the memory back. */
void cp_groups_clear(cp_groups *g);
void cp_groups_release(cp_groups *g);
/* Write each group's G and Q records to the writer pick() chooses for its
 * (length-prefixed) key; pick also numbers the group within that writer. */
typedef mk_out *(*cp_pick_fn)(void *ctx, const char *key, size_t klen, uint64_t *local);
void cp_groups_save_to(cp_groups *g, cp_pick_fn pick, void *ctx);
/* --partial: write the whole state as text (see agg.c and memkit-formats(5)). */
void cp_groups_save(cp_groups *g, mk_out *o);
/* --merge: read one record line of a partial into g (the line is modified);
 * first/last positions are placed after those of every earlier run (run:
 * the partial's number in input order), so partials given in input order
 * keep the single run's first and last. -1 with mk_err
 * "malformed partial state (...)". */
int cp_groups_load(cp_groups *g, char *line, size_t len, uint64_t run);
/* After the last record of a partial: -1 with mk_err "malformed partial
 * state (...)" when its groups' counts disagree with their stored values
 * (a quantile whose Q records are missing would read values it has not). */
int cp_groups_check(const cp_groups *g);
void cp_groups_free(cp_groups *g);

/* A group bigger than memory (only a --partial with the exact quantiles of
 * a huge group has one): tables marked count_only count the exact values
 * they load instead of keeping them. */
void cp_groups_count_only(cp_groups *g);

/* Distinct entries outside a table, for spilling. An entry is [agg u16]
 * [length-prefixed key][value] (what the shared set holds). */
void cp_entry_split(const cp_plan *p, const char *e, size_t n, unsigned *agg, size_t *klen);
/* As a record: top 0 "K AGG VALUE KEY..." (a distinct value), 1 "T AGG
 * COUNT VALUE KEY..." (a value's count for top:C:K), 2 the same as "U" (a
 * count from a finished partition, offered to the group's list). */
void cp_entry_write(const cp_plan *p, const char *e, size_t n, uint64_t count, int top, mk_out *o);
/* A K or T record (modified in place) back to an entry in *buf and its
 * count: 0 for K, 1 for T, -1 with mk_err. */
int cp_entry_parse(const cp_plan *p, char *line, size_t len, char **buf, size_t *cap, size_t *n,
                   uint64_t *count);
/* A C record: "C AGG COUNT KEY...", the distinct count of one group. */
void cp_count_write(const cp_plan *p, unsigned agg, uint64_t count, const char *key, size_t klen,
                    mk_out *o);
/* Key fields (unescaped, in key order) to the length-prefixed form in *buf. */
size_t cp_key_encode(const cp_plan *p, const mk_field *f, char **buf, size_t *cap);

#endif
