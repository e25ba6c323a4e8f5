/* chunkproc — aggregate, filter and project big CSV/TSV streams in bounded
 * memory, in parallel, at the speed the disk and decompressor allow.
 *
 * Flow: options → for each file: blocks (CSV-record aligned, read ahead and
 * decompressed in a producer thread) → worker threads parse records, apply
 * --where, and either render --select rows (written in input order) or add
 * them to their own group table → tables merged → one result table. */
#include "agg.h"
#include "blocks.h"
#include "cli.h"
#include "err.h"
#include "expr.h"
#include "extagg.h"
#include "qlog.h"
#include "fields.h"
#include "out.h"
#include "parse.h"
#include "pool.h"
#include "progress.h"
#include "source.h"
#include "spill.h"
#include "lines.h"
#include "map.h"
#include "work.h"

#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { MAX_FIELDS = 4096 };

/* ---- options ---------------------------------------------------------------- */

static mk_list group_by, aggregates, select_cols;
static char *where, *input_format = "auto", *quantile_method = "type7", *sort_by, *tmpdir;
static uint64_t top;
static uint64_t memory = 64ull << 20, max_line = 1 << 20;
static int exact, no_header, partial, merge;
static mk_cli cli;

static const mk_opt opts[] = {
    { "group-by", 'g', MK_ARG_LIST, &group_by, "COLS", "group rows by these columns (comma-separated)" },
    { "aggregates", 'a', MK_ARG_LIST, &aggregates, "AGGS",
      "aggregates: count, sum:C, mean:C, min:C, max:C, var:C, stddev:C, first:C, last:C, "
      "distinct:C, approx-distinct:C, p50:C, p90:C, p99:C, quantile:C:Q, top:C:K", NULL, "count" },
    { "where", 0, MK_ARG_STR, &where, "EXPR", "keep rows where EXPR holds (see EXPRESSIONS)" },
    { "select", 0, MK_ARG_LIST, &select_cols, "COLS", "write these columns of the kept rows, in this order" },
    { "input-format", 'i', MK_ARG_CHOICE, &input_format, "FORMAT", "input format", "auto|csv|tsv", "auto" },
    { "no-header", 0, MK_ARG_FLAG, &no_header, NULL, "the first row is data; columns are named 1..N" },
    { "exact", 0, MK_ARG_FLAG, &exact, NULL, "exact quantiles (values beyond 4096 a group go to --tmpdir)" },
    { "quantile-method", 0, MK_ARG_CHOICE, &quantile_method, "METHOD",
      "exact quantile definition", "type7|nearest", "type7" },
    { "sort", 0, MK_ARG_STR, &sort_by, "COLUMN",
      "order groups by this aggregate column, largest first (default: by group key)" },
    { "top", 0, MK_ARG_UINT, &top, "N", "keep only the first N groups (after --sort)" },
    { "partial", 0, MK_ARG_FLAG, &partial, NULL, "write the mergeable aggregate state, not the result" },
    { "merge", 0, MK_ARG_FLAG, &merge, NULL, "read --partial outputs and combine them into the result" },
    { "memory", 0, MK_ARG_SIZE, &memory, "SIZE",
      "memory budget: input buffers, then aggregate state, which spills to --tmpdir beyond it", NULL, "64M" },
    { "tmpdir", 0, MK_ARG_STR, &tmpdir, "DIR", "where state beyond --memory spills (default: $TMPDIR, else /tmp)" },
    { "max-line", 0, MK_ARG_SIZE, &max_line, "SIZE", "longest line accepted", NULL, "1M" },
    { 0 },
};

static const mk_cli_spec spec = {
    "chunkproc", "[OPTIONS] [FILE...]",
    "Aggregate, filter and project CSV/TSV streams (plain, zstd, gzip) in bounded memory.",
    "EXPRESSIONS (--where)\n"
    "  COLUMN OP VALUE joined with and, or, not and parentheses; OP is one of\n"
    "  = != < <= > >= ~ !~ (~ matches a POSIX extended regex). Columns by name,\n"
    "  `quoted name` or $N; strings in 'single' or \"double\" quotes; numbers\n"
    "  compare numerically. A missing (empty) value never matches.\n"
    "\n"
    "Examples:\n"
    "  chunkproc -g region -a count,sum:bytes,p99:latency_ms log.csv.zst\n"
    "  chunkproc --where 'status >= 500' --select ts,path,status log.csv > errors.csv",
    opts, MK_STD_ALL, NULL,
};

/* ---- the run ------------------------------------------------------------------ */

typedef enum { IN_CSV, IN_TSV } in_fmt;

/* Read-only for workers once the header is bound (header_ready). */
typedef struct {
    const char *name;
    in_fmt fmt;
    int first_file;
    int aggregate;
    cp_plan *plan;
    cp_ext *ext;               /* where state beyond --memory goes */
    struct cp_qlog *qlog;      /* the plan's, for its errors */
    cp_expr *expr;
    int *sel;                  /* selected column indexes */
    size_t nsel;
    mk_header *header;         /* of the first file */
    size_t ncols;
    mk_out *out;               /* filter output (written in turns) */
    int *any_row;              /* json: a row was written (touched only in turns) */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int header_state;          /* 0 waiting, 1 ready, -1 failed */
    uint64_t pos_base;         /* file number << 48: rows order across files */
} job;

/* Aligned to a cache line: workers sit side by side in one array. */
typedef struct {
    job *j;
    mk_field *f;
    char *tmp;
    cp_groups *groups;
    mk_out *buf;               /* this block's filter output */
    uint64_t rows, bad;
} __attribute__((aligned(64))) worker;

static in_fmt detect(const char *p, const char *end)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *e = nl ? nl : end;
    return memchr(p, '\t', (size_t)(e - p)) && !memchr(p, ',', (size_t)(e - p)) ? IN_TSV : IN_CSV;
}

/* One record at p: fields, the next record, newlines consumed. */
static int record(in_fmt fmt, const char *p, const char *end, mk_field *f, mk_csv_result *r)
{
    if (fmt == IN_CSV)
        return mk_csv_record(p, end, ',', f, MAX_FIELDS, r);
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *e = nl ? nl : end;
    size_t len = (size_t)(e - p);
    if (len && p[len - 1] == '\r')
        len--;
    r->nf = mk_split_tsv(p, len, f, MAX_FIELDS);
    r->next = nl ? nl + 1 : end;
    r->newlines = nl != NULL;
    return 0;
}

static int sel_index(const mk_header *h, const char *name, int *out)
{
    *out = mk_header_find(h, name, strlen(name));
    if (*out >= 0)
        return 0;
    const char *s = mk_header_suggest(h, name, strlen(name));
    return s ? mk_err_set("unknown column '%s' (did you mean '%s'?)", name, s)
             : mk_err_set("unknown column '%s'", name);
}

/* The header line of filter output. */
static void write_header(const job *j, mk_out *o)
{
    switch (cli.format) {
    case MK_FMT_JSON:
        mk_out_char(o, '[');
        return;
    case MK_FMT_NDJSON:
        return;
    default:
        for (size_t i = 0; i < j->nsel; i++) {
            const char *n = j->header->names[j->sel[i]];
            int tsv = cli.format == MK_FMT_TSV || (cli.format == MK_FMT_TEXT && j->fmt == IN_TSV);
            if (i)
                mk_out_char(o, tsv ? '\t' : ',');
            if (tsv)
                mk_out_tsv_field(o, n, strlen(n));
            else
                mk_out_csv_field(o, n, strlen(n), ',');
        }
        mk_out_char(o, '\n');
    }
}

static void write_row(const job *j, mk_out *o, const mk_field *f, char *tmp)
{
    int tsv = cli.format == MK_FMT_TSV || (cli.format == MK_FMT_TEXT && j->fmt == IN_TSV);
    int json = cli.format == MK_FMT_JSON || cli.format == MK_FMT_NDJSON;
    if (json)
        mk_out_write(o, cli.format == MK_FMT_JSON ? ",\n{" : "{", cli.format == MK_FMT_JSON ? 3 : 1);
    for (size_t i = 0; i < j->nsel; i++) {
        const mk_field *fld = &f[j->sel[i]];
        size_t n = mk_field_unquote(fld, tmp);
        if (json) {
            const char *name = j->header->names[j->sel[i]];
            if (i)
                mk_out_char(o, ',');
            mk_out_json_str(o, name, strlen(name));
            mk_out_char(o, ':');
            if (n == 0)
                mk_out_write(o, "null", 4);
            else if (mk_json_number(tmp, n))
                mk_out_write(o, tmp, n);
            else
                mk_out_json_str(o, tmp, n);
        } else {
            if (i)
                mk_out_char(o, tsv ? '\t' : ',');
            if (tsv)
                mk_out_tsv_field(o, tmp, n);
            else
                mk_out_csv_field(o, tmp, n, ',');
        }
    }
    mk_out_write(o, json ? "}\n" : "\n", json ? 2 - (cli.format == MK_FMT_JSON) : 1);
}

/* The first file's header binds every column name; later files must match. */
static int take_header(job *j, const mk_field *f, size_t nf)
{
    mk_header h;
    if (no_header) {
        char **names = mk_xcalloc(nf ? nf : 1, sizeof *names);
        mk_field *nm = mk_xcalloc(nf ? nf : 1, sizeof *nm);
        for (size_t i = 0; i < nf; i++) {
            names[i] = mk_xmalloc(24);
            nm[i] = (mk_field){ names[i], (uint32_t)snprintf(names[i], 24, "%zu", i + 1), 0 };
        }
        mk_header_init(&h, nm, nf);
        for (size_t i = 0; i < nf; i++)
            free(names[i]);
        free(names);
        free(nm);
    } else {
        mk_header_init(&h, f, nf);
    }
    if (!j->first_file) {
        int same = h.n == j->header->n;
        for (size_t i = 0; same && i < h.n; i++)
            same = strcmp(h.names[i], j->header->names[i]) == 0;
        mk_header_free(&h);
        if (!same)
            return mk_err_set("%s:1: %s differs from the first file's", j->name,
                              no_header ? "the number of columns" : "the header");
        return 0;
    }
    *j->header = h;
    j->ncols = h.n;
    /* A column the header lacks is the header's line (1) of this file: the
     * same option may suit another file. */
    if (j->plan && cp_plan_bind(j->plan, &h) < 0)
        return mk_err_prefix("%s:1: -a/-g: ", j->name);
    if (j->expr && cp_expr_bind(j->expr, &h) < 0)
        return mk_err_prefix("%s:1: --where: ", j->name);
    j->nsel = select_cols.n ? select_cols.n : h.n;
    j->sel = mk_xcalloc(j->nsel, sizeof *j->sel);
    for (size_t i = 0; i < j->nsel; i++)
        if (select_cols.n ? sel_index(&h, select_cols.v[i], &j->sel[i]) < 0 : ((j->sel[i] = (int)i), 0))
            return mk_err_prefix("%s:1: --select: ", j->name);
    if (!j->aggregate)
        write_header(j, j->out);
    return 0;
}

static int wait_header(job *j)
{
    pthread_mutex_lock(&j->mu);
    while (j->header_state == 0)
        pthread_cond_wait(&j->cv, &j->mu);
    int st = j->header_state;
    pthread_mutex_unlock(&j->mu);
    return st > 0 ? 0 : mk_err_set("%s: header failed", j->name);
}

static void set_header_state(job *j, int st)
{
    pthread_mutex_lock(&j->mu);
    j->header_state = st;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

static int bad_record(worker *w, uint64_t line, const char *why)
{
    if (!cli.lenient)
        return mk_err_set("%s:%llu: %s", w->j->name, (unsigned long long)line, why);
    w->bad++;
    return 0;
}

/* Every worker has a table like this one; the distinct set is shared. Over
 * budget: the set goes to disk when it is the bigger part, else this
 * worker's table does. Checked every 1024 rows: a block of new keys can
 * hold megabytes of new groups. */
static int keep_budget(worker *w)
{
    if (w->j->qlog && cp_qlog_check(w->j->qlog) < 0)
        return -1;     /* the log cannot be written: stop now, not at the end */
    size_t tb = cp_groups_bytes_ahead(w->groups, 1024) * (size_t)cli.threads;
    if (cp_ext_fit(w->j->ext, w->groups, tb) < 0)
        return -1;
    /* A spilled table keeps its memory for the next fill, unless that
     * memory alone leaves no room: then it is given back. */
    if (cp_groups_count(w->groups) == 0 &&
        cp_groups_bytes_ahead(w->groups, 1024) * (size_t)cli.threads + cp_plan_bytes(w->j->plan) >
            memory)
        cp_groups_release(w->groups);
    return 0;
}

/* What --memory leaves for aggregate state: the input's buffers come out
 * of it first — nw + 3 blocks of 1 MiB in flight and the carry between
 * them, and about 1 MiB a worker for its fields, scratch and output — but
 * never more than half of it. Uncounted, they took -g user_id -a
 * count,distinct:path to 91-96 MiB of peak RSS at the default 64M. */
static uint64_t state_budget(uint64_t budget, unsigned nw)
{
    uint64_t io = ((uint64_t)nw + 4 + nw) << 20;
    return io > budget / 2 ? budget - budget / 2 : budget - io;
}

static int do_block(mk_work *wk, void *ctx, const mk_block *b)
{
    worker *w = ctx;
    job *j = w->j;
    const char *p = b->data, *end = b->data + b->len;
    uint64_t line = b->first_line, idx = 0, rows = 0;
    mk_csv_result r = { 0 };
    char why[160];

    if (b->seq == 0) {
        if (end - p >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
            p += 3;     /* a UTF-8 BOM is not data, header or not */
        if (p == end) {
            set_header_state(j, -1);    /* a file holding only a BOM: no header, no rows */
            return 0;
        }
        if (record(j->fmt, p, end, w->f, &r) == 0 && r.nf <= MAX_FIELDS) {
            int rc = take_header(j, w->f, r.nf);
            set_header_state(j, rc < 0 ? -1 : 1);
            if (rc < 0)
                return -1;
            if (!no_header) {
                line += r.newlines;
                p = r.next;
            }
        } else {
            set_header_state(j, -1);
            if (r.nf > MAX_FIELDS)
                return mk_err_set("%s:1: more than %d fields", j->name, MAX_FIELDS);
            return mk_err_set("%s:%llu: %s", j->name,
                              (unsigned long long)(line + mk_count_byte(p, (size_t)(r.err_at - p), '\n')), r.why);
        }
    } else if (wait_header(j) < 0) {
        return -1;
    }

    if (!j->aggregate)
        mk_out_mem_reset(w->buf);
    while (p < end) {
        if (record(j->fmt, p, end, w->f, &r) < 0) {
            uint64_t at = line + mk_count_byte(p, (size_t)(r.err_at - p), '\n');
            if (bad_record(w, at, r.why) < 0)
                return -1;
            const char *nl = memchr(r.err_at, '\n', (size_t)(end - r.err_at));
            const char *next = nl ? nl + 1 : end;
            line += mk_count_byte(p, (size_t)(next - p), '\n');
            p = next;
            continue;
        }
        uint64_t at = line;
        line += r.newlines;
        p = r.next;
        idx++;
        if (r.nf != j->ncols) {
            snprintf(why, sizeof why, "expected %zu fields, found %zu", j->ncols, r.nf);
            if (bad_record(w, at, why) < 0)
                return -1;
            continue;
        }
        rows++;
        if (j->expr && !cp_expr_eval(j->expr, w->f, r.nf, w->tmp))
            continue;
        if (j->aggregate) {
            if (cp_groups_add(w->groups, w->f, r.nf, j->pos_base | b->seq << 24 | idx, w->tmp) < 0) {
                snprintf(why, sizeof why, "%s", mk_err_msg());
                if (bad_record(w, at, why) < 0)
                    return -1;
            }
            if ((idx & 1023) == 0 && keep_budget(w) < 0)
                return -1;
        } else {
            write_row(j, w->buf, w->f, w->tmp);
        }
    }
    w->rows += rows;
    if (j->aggregate) {
        return keep_budget(w);
    }
    size_t n;
    const char *out = mk_out_mem(w->buf, &n);
    if (mk_work_turn(wk, b->seq) == 0) {
        if (cli.format == MK_FMT_JSON && n && !*j->any_row) {
            out++;      /* the first row has no comma before it */
            n--;
        }
        if (n)
            *j->any_row = 1;
        mk_out_write(j->out, out, n);
        mk_work_done(wk, b->seq);
    }
    return 0;
}

static void apply_order(cp_plan *p)
{
    if ((sort_by || top) && partial)
        mk_cli_usage_error(&cli, "--sort and --top apply to the result; give them to --merge, not --partial");
    if (sort_by && cp_plan_sort(p, sort_by) < 0)
        mk_cli_option_error(&cli, "sort", "%s", mk_err_msg());
    p->top = top;
}

/* --exact: big stores' values go to a log on disk (qlog.h), except in a
 * --partial, which must carry every value itself. */
static void use_log(cp_plan *p)
{
    p->threads = (unsigned)cli.threads;
    for (size_t i = 0; i < p->naggs && p->exact && !partial && !p->qlog; i++)
        if (p->aggs[i].kind == A_QUANTILE)
            p->qlog = cp_qlog_new(tmpdir);
}

/* --stats: what went to disk, when anything did. */
static void print_spill_stats(const cp_ext *ext, const cp_plan *p)
{
    if (p && p->qlog) {
        cp_qlog_stats q;
        cp_qlog_stats_get(p->qlog, &q);
        char b[32];
        mk_fmt_bytes(b, sizeof b, q.bytes);
        if (q.refs)
            fprintf(stderr, "chunkproc: stats: exact quantiles: %llu values of %u stores logged "
                    "to %s (%s), passes over them: %llu, by %u threads\n",
                    (unsigned long long)q.values, q.refs, mk_spill_dir(tmpdir), b,
                    (unsigned long long)q.scans, q.threads);
    }
    if (!ext || !cp_ext_active(ext))
        return;
    cp_ext_stats es;
    cp_ext_stats_get(ext, &es);
    char b[32];
    mk_fmt_bytes(b, sizeof b, es.bytes);
    fprintf(stderr, "chunkproc: stats: spilled to %s: %s in %llu table spills (%llu groups) "
            "and %llu set spills (%llu distinct values), %llu partition splits, %llu big groups, "
            "%llu runs\n", mk_spill_dir(tmpdir), b, (unsigned long long)es.spills,
            (unsigned long long)es.groups, (unsigned long long)es.set_spills,
            (unsigned long long)es.entries, (unsigned long long)es.splits,
            (unsigned long long)es.big_groups, (unsigned long long)es.runs);
}

/* ---- --partial and --merge ------------------------------------------------------ */

static const char PARTIAL_MAGIC[] = "#memkit chunkproc-partial v1";

static void put_list(mk_out *o, const char *what, char **v, size_t n)
{
    mk_out_printf(o, "P\t%s", what);
    for (size_t i = 0; i < n; i++) {
        mk_out_char(o, '\t');
        mk_out_tsv_field(o, v[i], strlen(v[i]));
    }
    mk_out_char(o, '\n');
}

typedef struct {
    const cp_plan *p;
    const mk_header *h;
} head_ctx;

static void write_head(void *ctx, mk_out *o)
{
    const cp_plan *p = ((head_ctx *)ctx)->p;
    const mk_header *h = ((head_ctx *)ctx)->h;
    mk_out_printf(o, "%s\n", PARTIAL_MAGIC);
    char **names = mk_xcalloc(p->nkeys + p->naggs + 1, sizeof *names);
    for (size_t i = 0; i < p->nkeys; i++)
        names[i] = h ? h->names[p->keys[i]] : p->key_names[i];
    put_list(o, "key-names", names, p->nkeys);
    put_list(o, "group-by", p->key_names, p->nkeys);
    for (size_t i = 0; i < p->naggs; i++)
        names[i] = aggregates.n ? aggregates.v[i] : "count";
    put_list(o, "aggregates", names, p->naggs);
    mk_out_printf(o, "P\tagg-columns");
    for (size_t i = 0; i < p->naggs; i++)
        mk_out_printf(o, "\t%d", p->aggs[i].col);
    mk_out_printf(o, "\nP\texact\t%d\n", p->exact);
    /* One id per run: the segments a spilled run writes belong together
     * (one order of rows), while partials of other runs follow each other. */
    static uint64_t run_id;
    if (!run_id) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        run_id = mk_map_hash(&ts, sizeof ts) ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)&ts;
        run_id |= 1;
    }
    mk_out_printf(o, "P\trun\t%016llx\n", (unsigned long long)run_id);
    free(names);
}

/* Header lines of a partial: sets up the plan from the first file and checks
 * that later ones were made by the same command. */
typedef struct {
    mk_list keys, aggs, key_names;
    int *cols;                 /* agg-columns */
    size_t ncols;
    int exact;
    char run[32];              /* the writing run's id, "" in older partials */
    unsigned seen;             /* header records read, by bit (see head_record) */
    uint64_t line;             /* the magic line's number, for errors */
    uint64_t at[6];            /* each header record's line, by bit number */
} partial_head;

/* Header records: each once; all but run are required. */
enum { H_GROUP_BY = 1, H_KEY_NAMES = 2, H_AGGREGATES = 4, H_AGG_COLUMNS = 8, H_EXACT = 16, H_RUN = 32,
       H_REQUIRED = H_GROUP_BY | H_KEY_NAMES | H_AGGREGATES | H_AGG_COLUMNS | H_EXACT };
/* Their names, by bit number. */
static const char *const head_names[] = { "group-by", "key-names", "aggregates", "agg-columns", "exact", "run" };

static void take_list(mk_list *l, mk_field *f, size_t nf)
{
    for (size_t i = 2; i < nf; i++) {
        l->v = mk_xrealloc(l->v, (l->n + 1) * sizeof *l->v);
        l->v[l->n++] = mk_xstrndup(f[i].ptr, f[i].len);
    }
}

static void free_list(mk_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int same_list(const mk_list *a, const mk_list *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->v[i], b->v[i]) != 0)
            return 0;
    return 1;
}

/* One partial being read: its header, then its groups. */
typedef struct {
    partial_head ph;
    cp_groups *g;
    int active;                /* the header was taken: plan set or checked */
    uint64_t line;             /* of its magic line */
} segment;

static void free_head(partial_head *ph)
{
    free_list(&ph->keys);
    free_list(&ph->aggs);
    free_list(&ph->key_names);
    free(ph->cols);
    memset(ph, 0, sizeof *ph);
}

/* One header record (f[1] names it) into ph; -1 with the reason set. A
 * record of a name this version does not know is skipped: a later version
 * may add some (one that changes the meaning of the others gets a new
 * magic line). */
static int head_record(partial_head *ph, mk_field *f, size_t nf, uint64_t line)
{
    const char *what = f[1].ptr;
    unsigned bit = 0;
    for (unsigned i = 0; i < sizeof head_names / sizeof *head_names; i++)
        if (strcmp(what, head_names[i]) == 0)
            bit = 1u << i;
    if (!bit)
        return 0;
    if (ph->seen & bit)
        return mk_err_set("'%s' given twice", what);
    ph->seen |= bit;
    ph->at[__builtin_ctz(bit)] = line;
    switch (bit) {
    case H_GROUP_BY:  take_list(&ph->keys, f, nf); return 0;
    case H_KEY_NAMES: take_list(&ph->key_names, f, nf); return 0;
    case H_AGGREGATES:
        if (nf < 3)
            return mk_err_set("no aggregates");
        take_list(&ph->aggs, f, nf);
        return 0;
    case H_EXACT:
        if (nf != 3 || (strcmp(f[2].ptr, "0") != 0 && strcmp(f[2].ptr, "1") != 0))
            return mk_err_set("exact must be 0 or 1");
        ph->exact = f[2].ptr[0] == '1';
        return 0;
    case H_RUN:
        if (nf != 3 || f[2].len == 0 || f[2].len >= sizeof ph->run)
            return mk_err_set("run must be one id of at most %zu characters", sizeof ph->run - 1);
        memcpy(ph->run, f[2].ptr, f[2].len + 1);
        return 0;
    default:                    /* agg-columns: -1 (none) or a column index */
        ph->ncols = nf - 2;
        ph->cols = mk_xcalloc(ph->ncols + 1, sizeof *ph->cols);
        for (size_t i = 2; i < nf; i++) {
            int64_t c;
            if (mk_parse_i64(f[i].ptr, f[i].len, &c) < 0 || c < -1 || c >= MAX_FIELDS)
                return mk_err_set("agg-columns: '%s' is not a column index", f[i].ptr);
            ph->cols[i - 2] = (int)c;
        }
        return 0;
    }
}

/* A partial's header is complete and consistent before it is used. */
static void check_head(const partial_head *ph, const char *name)
{
    unsigned long long line = (unsigned long long)ph->line;
    if ((ph->seen & H_REQUIRED) != H_REQUIRED) {
        for (unsigned i = 0; i < sizeof head_names / sizeof *head_names; i++)
            if ((H_REQUIRED & 1u << i) && !(ph->seen & 1u << i))
                mk_die("%s:%llu: malformed partial header (no '%s' record)", name, line, head_names[i]);
    }
    if (ph->key_names.n != ph->keys.n)
        mk_die("%s:%llu: malformed partial header (key-names and group-by differ in length: %zu and %zu)",
               name, (unsigned long long)ph->at[__builtin_ctz(H_KEY_NAMES)], ph->key_names.n, ph->keys.n);
}

/* The first partial's header makes the plan; later ones must match it. */
static void activate(segment *sg, const char *name, int *have_plan, partial_head *first,
                     cp_plan *plan, mk_header *header, cp_groups **total)
{
    partial_head *ph = &sg->ph;
    check_head(ph, name);
    if (!*have_plan) {
        if ((aggregates.n && !same_list(&aggregates, &ph->aggs)) ||
            (group_by.n && !same_list(&group_by, &ph->keys)))
            mk_die("%s:%llu: made with different -g/-a than given", name, (unsigned long long)ph->line);
        if (cp_plan_parse(plan, &ph->aggs, &ph->keys) < 0)
            mk_die("%s:%llu: %s", name, (unsigned long long)ph->at[__builtin_ctz(H_AGGREGATES)], mk_err_msg());
        plan->exact = ph->exact;
        plan->nearest = strcmp(quantile_method, "nearest") == 0;
        apply_order(plan);
        use_log(plan);
        if (plan->naggs != ph->ncols)
            mk_die("%s:%llu: malformed partial header (agg-columns and aggregates differ in length: "
                   "%zu and %zu)", name, (unsigned long long)ph->at[__builtin_ctz(H_AGG_COLUMNS)], ph->ncols, plan->naggs);
        cp_plan_bind_cols(plan, ph->cols);
        mk_field *kf = mk_xcalloc(ph->key_names.n + 1, sizeof *kf);
        for (size_t i = 0; i < ph->key_names.n; i++)
            kf[i] = (mk_field){ ph->key_names.v[i], (uint32_t)strlen(ph->key_names.v[i]), 0 };
        mk_header_init(header, kf, ph->key_names.n);
        free(kf);
        *total = cp_groups_new(plan);
        *first = *ph;
        memset(ph, 0, sizeof *ph);
        *have_plan = 1;
    } else if (!same_list(&first->keys, &ph->keys) || !same_list(&first->aggs, &ph->aggs) ||
               first->exact != ph->exact) {
        mk_die("%s:%llu: made with different -g/-a/--exact than the first partial", name,
               (unsigned long long)ph->line);
    }
    sg->active = 1;
}

static void finish(segment *sg, const char *name, int *have_plan, partial_head *first,
                   cp_plan *plan, mk_header *header, cp_groups **total)
{
    if (!sg->active)
        activate(sg, name, have_plan, first, plan, header, total);
    if (sg->g && cp_groups_check(sg->g) < 0)
        mk_die("%s:%llu: %s", name, (unsigned long long)sg->line, mk_err_msg());
    if (sg->g) {
        cp_groups_merge(*total, sg->g);
        cp_groups_free(sg->g);
    }
    free_head(&sg->ph);
    memset(sg, 0, sizeof *sg);
}

/* Partials may be separate files or concatenated (`cat a b | chunkproc
 * --merge`): every magic line starts a new one. */
static void merge_partials(char **files, int nfiles, cp_plan *plan, mk_header *header,
                           cp_groups **total, mk_stats_counts *st, cp_ext **ext)
{
    partial_head first = { 0 };
    int have_plan = 0;
    uint64_t nseg = 0, run = 0;
    char last_run[32] = "";
    for (int fi = 0; fi < nfiles; fi++) {
        mk_lines *l = mk_lines_open(files[fi], NULL);
        if (!l)
            mk_die_err();
        const char *name = mk_lines_name(l);
        last_run[0] = 0;        /* a file is another run, even with the same id */
        segment sg = { 0 };
        int open = 0;
        mk_line ln = { 0 };
        int r;
        char *buf = NULL;
        size_t cap = 0;
        while ((r = mk_lines_next(l, &ln)) == 1) {
            if (ln.len == strlen(PARTIAL_MAGIC) && memcmp(ln.ptr, PARTIAL_MAGIC, ln.len) == 0) {
                if (open)
                    finish(&sg, name, &have_plan, &first, plan, header, total);
                open = 1;
                sg.ph.line = sg.line = ln.no;
                nseg++;
                continue;
            }
            if (!open)
                mk_die("%s:%llu: not a chunkproc --partial file (expected '%s')", name,
                       (unsigned long long)ln.no, PARTIAL_MAGIC);
            if (ln.len + 1 > cap) {
                cap = ln.len * 2 + 1;
                buf = mk_xrealloc(buf, cap);
            }
            memcpy(buf, ln.ptr, ln.len);
            buf[ln.len] = 0;
            if (ln.len > 2 && buf[0] == 'P' && buf[1] == '\t') {
                if (sg.active)
                    mk_die("%s:%llu: header record after group records", name, (unsigned long long)ln.no);
                mk_field f[512];
                size_t nf = mk_split_tsv(buf, ln.len, f, 512);
                if (nf < 2 || nf > 512)
                    mk_die("%s:%llu: malformed partial header", name, (unsigned long long)ln.no);
                for (size_t i = 0; i < nf; i++)
                    ((char *)f[i].ptr)[f[i].len] = 0;   /* fields end at a tab or the end */
                if (head_record(&sg.ph, f, nf, ln.no) < 0)
                    mk_die("%s:%llu: malformed partial header (%s)", name, (unsigned long long)ln.no,
                           mk_err_msg());
                continue;
            }
            if (!sg.active) {
                /* Segments of one run share its order of rows; another run's
                 * rows come after (partials are given in input order). */
                if (!sg.ph.run[0] || strcmp(sg.ph.run, last_run) != 0)
                    run++;
                snprintf(last_run, sizeof last_run, "%s", sg.ph.run);
                activate(&sg, name, &have_plan, &first, plan, header, total);
                sg.g = cp_groups_new(plan);
            }
            if (cp_groups_load(sg.g, buf, ln.len, run - 1) < 0)
                mk_die("%s:%llu: %s", name, (unsigned long long)ln.no, mk_err_msg());
            /* Over budget: what is merged so far (or the distinct set) goes
             * to disk; a segment being read is always complete state. */
            if (++st->records % 1024 == 0) {
                size_t tb = cp_groups_bytes(*total) + cp_groups_bytes(sg.g);
                if (tb + cp_plan_bytes(plan) > memory) {
                    if (!*ext)
                        *ext = cp_ext_new(plan, tmpdir, memory);
                    if (cp_ext_fit(*ext, *total, tb) < 0)
                        mk_die_err();
                }
            }
        }
        if (r < 0)
            mk_die_err();
        if (!open)
            mk_die("%s: empty input, not a chunkproc --partial file", name);
        finish(&sg, name, &have_plan, &first, plan, header, total);
        st->bytes_in += mk_source_in_pos(mk_lines_source(l));
        free(buf);
        mk_lines_close(l);
    }
    free_head(&first);
}

/* CHUNKPROC_TRIAL_BYTES: the span of each timed window of the trial on a
 * pipe (default 32M), so that tests can make a trial on little input. */
static uint64_t trial_bytes(void)
{
    const char *e = getenv("CHUNKPROC_TRIAL_BYTES");
    uint64_t v;
    if (!e || !*e)
        return 0;
    if (mk_parse_size(e, strlen(e), &v) < 0)
        mk_die("CHUNKPROC_TRIAL_BYTES: %s", mk_err_msg());
    if (v == 0)
        mk_die("CHUNKPROC_TRIAL_BYTES: must be more than 0");
    return v;
}

int main(int argc, char **argv)
{
    /* Big tables from mmap, always, so that freeing one gives its memory
     * back: glibc's moving threshold sent them to the heap after the first
     * free, where tables that grew, spilled and were freed stayed resident
     * (-g user_id -a count,distinct:path on 4 M rows at -j 1: 186 MB of RSS
     * for an 87 MB peak of live memory). */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    /* One arena: memory a worker frees (a spilled set, a released table)
     * serves every thread, instead of staying resident in that worker's
     * arena (-g user_id -a count,distinct:path on 4 M rows: 109 -> 93 MB,
     * the same speed: nothing allocates per row). */
    mallopt(M_ARENA_MAX, 1);
    int first = mk_cli_parse(&cli, &spec, argc, argv);
    int nfiles;
    char **files = mk_cli_files(argc, argv, first, &nfiles);
    if (max_line < 16 || max_line > UINT32_MAX)
        mk_cli_option_error(&cli, "max-line", "expected 16 to 4G bytes");

    if (partial && merge)
        mk_cli_usage_error(&cli, "--partial and --merge exclude each other (merge partials with --merge alone)");
    if ((sort_by || top) && !aggregates.n && !group_by.n && !merge && (where || select_cols.n))
        mk_cli_usage_error(&cli, "--sort and --top order groups: use them with -g or -a");
    if (merge && (where || select_cols.n))
        mk_cli_usage_error(&cli, "--where and --select apply when reading rows, not when merging partials");
    int aggregate = aggregates.n || group_by.n || partial || (!where && !select_cols.n);
    if (aggregate && select_cols.n)
        mk_cli_usage_error(&cli, "--select picks the columns of filtered rows; with -a or -g the "
                                 "output columns are the groups and aggregates");
    cp_plan plan;
    if (merge) {
        mk_out *mo = mk_out_open(cli.output);
        if (!mo)
            mk_die_err();
        mk_header mh = { 0 };
        cp_groups *total = NULL;
        mk_stats_counts mst = { 0 };
        cp_ext *mext = NULL;
        merge_partials(first < argc ? argv + first : (char *[]){ "-", NULL },
                       first < argc ? argc - first : 1, &plan, &mh, &total, &mst, &mext);
        if (mext && cp_ext_active(mext)) {
            if (cp_ext_finish(mext, &total, 1, &mh, cli.format, mo, NULL, NULL) < 0)
                mk_die_err();
        } else {
            if (cp_groups_resolve(total) < 0)
                mk_die_err();
            mk_table *t = mk_table_new();
            cp_groups_table(total, &mh, t, NULL);
            mk_table_write(t, cli.format, mo);
            mk_table_free(t);
        }
        mst.bytes_out = mk_out_bytes(mo);
        if (mk_out_close(mo) < 0)
            mk_die_err();
        if (cli.stats) {
            mk_stats_print(&mst);
            print_spill_stats(mext, total ? &plan : NULL);
        }
        cp_ext_free(mext);
        cp_groups_free(total);
        mk_header_free(&mh);
        cp_plan_free(&plan);
        return 0;
    }
    if (aggregate) {
        if (cp_plan_parse(&plan, &aggregates, &group_by) < 0)
            mk_cli_option_error(&cli, "aggregates", "%s", mk_err_msg());
        plan.exact = exact;
        plan.nearest = strcmp(quantile_method, "nearest") == 0;
        apply_order(&plan);
        use_log(&plan);
    }
    cp_expr *expr = NULL;
    if (where && !(expr = cp_expr_parse(where))) {
        if (mk_cli_origin(&cli, "where"))
            mk_cli_option_error(&cli, "where", "%s", mk_err_msg());
        mk_cli_usage_error(&cli, "--where: %s", mk_err_msg());
    }

    mk_out *out = mk_out_open(cli.output);
    if (!out)
        mk_die_err();
    unsigned nw = (unsigned)cli.threads;
    uint64_t trial = trial_bytes();   /* checked even when no pipe needs it */
    uint64_t budget = memory;
    memory = state_budget(memory, nw);
    cp_ext *ext = aggregate ? cp_ext_new(&plan, tmpdir, memory) : NULL;
    mk_header header = { 0 };
    int any_row = 0;
    int *first_job_sel = NULL;
    size_t first_job_nsel = 0;
    worker *ws = mk_xcalloc_aligned(64, nw, sizeof *ws);
    unsigned max_run = 0;      /* workers used (at most), for --stats */
    int decomp = 0;            /* some input had a decompression thread */
    int self_read = 0;         /* some pipe was read by its workers */
    mk_work_tuning tuning = { 0 };   /* of the last pipe whose trial ended */
    void *ctx[256];
    mk_stats_counts st = { 0 };
    struct mk_pool_stats pool = { 0 };

    for (int fi = 0; fi < nfiles; fi++) {
        mk_source *src = mk_source_open(files[fi]);
        if (!src)
            mk_die_err();
        mk_blocks_opts bo;
        mk_blocks_defaults(&bo);
        bo.max_record = max_line;
        bo.nbufs = nw + 3;
        /* CSV splitting is right for TSV too (TSV has no quotes to balance). */
        bo.split = strcmp(input_format, "tsv") == 0 ? MK_SPLIT_LINES : MK_SPLIT_CSV;
        /* Decompression has a thread of its own and keeps it busy: with
         * one worker fewer than the cores it is never starved (3 busy
         * threads on 2 cores made the .zst benchmark 25 % slower). A
         * pipe (no size) is fed by a process that works too, such as
         * `zstd -dc`: the same holds (`zstd -dc | chunkproc` 0.42 ->
         * 0.37 s on 215 MB). */
        int piped = mk_source_codec(src) == MK_CODEC_PLAIN && mk_source_size(src) == 0;
        unsigned nrun = nw;
        if (cli.threads_auto && nw > 1 && (mk_source_codec(src) != MK_CODEC_PLAIN || piped))
            nrun = nw - 1;
        /* The parsers fed by a pipe read it themselves, one at a time: a
         * reader thread would make three busy threads (writer, reader,
         * parser) on two cores, and the 1 MiB pipe buffer already lets the
         * writer run ahead. Task A from `zstd -dc |`: 1.83 -> 1.74 s (medians
         * of 7, interleaved); at -j 2, B from `cat big.csv |` 1.48 -> 1.39 s
         * and from `zstd -dc |` 2.36 -> 2.17 s (medians of 3). */
        if (piped) {
            bo.threaded = 0;
            self_read = 1;
        }
        /* But whether the writer needs a core of its own shows only once
         * it runs: by default, one parser more joins if the machine leaves
         * cores idle meanwhile (mk_work_run_tuned). Task B, `zstd -dc |`:
         * 2.00 s with one parser, 2.17 s with two; `cat big.csv |`: 2.27
         * and 1.39 s (medians of 3). Two parsers were faster from the start
         * of that input, but timed windows of it did not show so reliably
         * enough to choose by. */
        int tuned = piped && cli.threads_auto && nw > 1;
        mk_blocks *blocks = mk_blocks_open(src, &bo);
        if (!blocks)
            mk_die_err();
        mk_block *b0;
        int r = mk_blocks_next(blocks, &b0);
        if (r < 0)
            mk_die_err();
        if (r > 0) {
            job j = { .name = mk_source_name(src), .first_file = fi == 0, .aggregate = aggregate,
                      .plan = aggregate ? &plan : NULL, .ext = ext, .qlog = aggregate ? plan.qlog : NULL, .expr = expr, .header = &header,
                      .out = out, .any_row = &any_row, .pos_base = (uint64_t)fi << 48 };
            j.fmt = strcmp(input_format, "tsv") == 0 ? IN_TSV
                  : strcmp(input_format, "csv") == 0 ? IN_CSV : detect(b0->data, b0->data + b0->len);
            if (header.names) {       /* a later file: the first one bound the columns */
                j.ncols = header.n;
                j.sel = first_job_sel;
                j.nsel = first_job_nsel;
            }
            pthread_mutex_init(&j.mu, NULL);
            pthread_cond_init(&j.cv, NULL);
            for (unsigned i = 0; i < nw; i++) {
                if (!ws[i].f) {
                    /* written on every row: lines of their own (see cp_groups_new) */
                    ws[i].f = mk_xcalloc_aligned(64, MAX_FIELDS, sizeof *ws[i].f);
                    ws[i].tmp = mk_xmalloc_flat(2 * (size_t)max_line + 2);
                    ws[i].buf = mk_out_open_mem();
                    if (aggregate)
                        ws[i].groups = cp_groups_new(&plan);
                }
                ws[i].j = &j;
                ctx[i] = &ws[i];
            }
            j.first_file = !header.names;
            mk_progress pr;
            mk_progress_init(&pr, mk_cli_progress_wanted(&cli), j.name, mk_source_size(src));
            if (nrun > max_run)
                max_run = nrun;
            if (mk_source_codec(src) != MK_CODEC_PLAIN)
                decomp = 1;
            int rc;
            if (tuned) {
                mk_work_tuning tu = { .window = trial };
                rc = mk_work_run_tuned(blocks, b0, nrun, do_block, ctx, &pr, &tu);
                if (tu.decided) {
                    tuning = tu;
                    if (tu.chosen > max_run)
                        max_run = tu.chosen;
                }
            } else {
                rc = mk_work_run_from(blocks, b0, nrun, do_block, ctx, &pr);
            }
            mk_progress_end(&pr);
            if (rc < 0)
                mk_die_err();
            if (j.first_file) {
                first_job_sel = j.sel;
                first_job_nsel = j.nsel;
            }
            pthread_mutex_destroy(&j.mu);
            pthread_cond_destroy(&j.cv);
        }
        struct mk_pool_stats ps;
        mk_blocks_pool_stats(blocks, &ps);
        pool.created += ps.created;
        pool.reused += ps.reused;
        pool.discarded += ps.discarded;
        pool.shrunk += ps.shrunk;
        pool.waits += ps.waits;
        if (ps.peak_in_use > pool.peak_in_use)
            pool.peak_in_use = ps.peak_in_use;
        mk_blocks_close(blocks);
        st.bytes_in += mk_source_in_pos(src);
        if (mk_source_close(src) < 0)
            mk_die_err();
    }

    uint64_t bad = 0;
    for (unsigned i = 0; i < nw; i++) {
        st.records += ws[i].rows;
        bad += ws[i].bad;
    }
    st.bad_records = bad;
    if (bad && !cli.quiet)
        mk_warn("skipped %llu malformed records", (unsigned long long)bad);
    if (aggregate && cp_ext_active(ext)) {
        cp_groups *rest[256];
        for (unsigned i = 0; i < nw; i++)
            rest[i] = ws[i].groups;
        head_ctx hc = { &plan, header.names ? &header : NULL };
        if (cp_ext_finish(ext, rest, nw, hc.h, cli.format, out, partial ? write_head : NULL, &hc) < 0)
            mk_die_err();
    } else if (aggregate) {
        if (!ws[0].groups)      /* no input at all: name columns as written */
            for (unsigned i = 0; i < nw; i++)
                ws[i].groups = cp_groups_new(&plan);
        for (unsigned i = 1; i < nw; i++)
            cp_groups_merge(ws[0].groups, ws[i].groups);
        if (partial) {
            head_ctx hc = { &plan, header.names ? &header : NULL };
            write_head(&hc, out);
            cp_groups_save(ws[0].groups, out);
        } else {
            if (cp_groups_resolve(ws[0].groups) < 0)
                mk_die_err();
            mk_table *t = mk_table_new();
            cp_groups_table(ws[0].groups, header.names ? &header : NULL, t, NULL);
            mk_table_write(t, cli.format, out);
            mk_table_free(t);
        }
    } else if (!aggregate && cli.format == MK_FMT_JSON && header.names) {
        mk_out_write(out, any_row ? "\n]\n" : "]\n", any_row ? 3 : 2);
    }
    st.bytes_out = mk_out_bytes(out);
    if (mk_out_close(out) < 0)
        mk_die_err();
    if (cli.stats) {
        mk_stats_print(&st);
        fprintf(stderr, "chunkproc: stats: threads: %u parsing%s%s\n", max_run,
                decomp ? ", 1 decompressing" : "",
                !self_read ? "" : max_run > 1 ? ", reading the pipe themselves" : ", reading the pipe itself");
        if (tuning.decided && tuning.idle >= 0)
            fprintf(stderr, "chunkproc: stats: parsers for the pipe: %u (with %u: %.2f cores idle, "
                            "parsers busy %.0f %%)\n",
                    tuning.chosen, tuning.start, tuning.idle, tuning.busy * 100);
        fprintf(stderr, "chunkproc: stats: block pool: created %llu, reused %llu, discarded %llu, "
                "shrunk %llu, waits %llu, peak in use %llu\n", (unsigned long long)pool.created,
                (unsigned long long)pool.reused, (unsigned long long)pool.discarded,
                (unsigned long long)pool.shrunk, (unsigned long long)pool.waits,
                (unsigned long long)pool.peak_in_use);
        if (aggregate) {
            char b[3][32];
            mk_fmt_bytes(b[0], sizeof b[0], budget);
            mk_fmt_bytes(b[1], sizeof b[1], budget - memory);
            mk_fmt_bytes(b[2], sizeof b[2], memory);
            fprintf(stderr, "chunkproc: stats: memory budget %s: %s for input buffers, %s for "
                    "aggregate state\n", b[0], b[1], b[2]);
        }
        print_spill_stats(ext, aggregate ? &plan : NULL);
    }
    /* Everything is freed, so leak checkers see real leaks only. */
    for (unsigned i = 0; i < nw; i++) {
        free(ws[i].f);
        free(ws[i].tmp);
        if (ws[i].buf)
            mk_out_discard(ws[i].buf);
        cp_groups_free(ws[i].groups);
    }
    free(ws);
    free(first_job_sel);
    mk_header_free(&header);
    cp_expr_free(expr);
    cp_ext_free(ext);
    if (aggregate)
        cp_plan_free(&plan);
    return 0;
}
