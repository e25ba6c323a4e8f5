/* mkread — test and benchmark driver for the core library (not installed).
 *
 * Reads FILEs through source → blocks → fields, the path every memkit tool
 * uses, and reports records, fields and bytes per file as a table in any
 * output format; --dump prints every record's fields as a JSON array instead.
 * With -j N, N workers parse blocks in parallel (read-ahead and decompression
 * in the producer thread), which is what tests/bench/read.sh measures. */
#include "blocks.h"
#include "cli.h"
#include "err.h"
#include "fields.h"
#include "out.h"
#include "progress.h"
#include "source.h"
#include "work.h"

#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_FIELDS = 4096 };

static char *mode = "lines";
static uint64_t max_line = 1 << 20, block_size = 1 << 20;
static int dump, sync_read, header, use_map;
static mk_cli cli;

static const mk_opt opts[] = {
    { "mode", 'm', MK_ARG_CHOICE, &mode, "MODE", "record format", "lines|csv|tsv|blank", "lines" },
    { "max-line", 0, MK_ARG_SIZE, &max_line, "SIZE", "longest line or record", NULL, "1M" },
    { "block-size", 0, MK_ARG_SIZE, &block_size, "SIZE", "bytes per block", NULL, "1M" },
    { "dump", 0, MK_ARG_FLAG, &dump, NULL, "print each record's fields as a JSON array" },
    { "header", 0, MK_ARG_FLAG, &header, NULL, "the first record names the columns; print them" },
    { "sync", 0, MK_ARG_FLAG, &sync_read, NULL, "no read-ahead thread" },
    { "map", 0, MK_ARG_FLAG, &use_map, NULL, "map plain files instead of reading them" },
    { 0 },
};

static const mk_cli_spec spec = {
    "mkread", "[OPTIONS] [FILE...]",
    "Count records and fields through the memkit core library (test driver).",
    NULL, opts, MK_STD_ALL, NULL,
};

typedef struct {
    uint64_t records, fields, bad;
} counts;

/* Shared by the workers of one file (read-only while they run). */
typedef struct {
    const char *name;
    mk_out *out;               /* --dump only (single worker) */
} job;

/* One worker's state. */
/* Aligned to a cache line: workers sit side by side in one array. */
typedef struct {
    const job *j;
    counts c;
    mk_field *f;
    char *tmp;
} __attribute__((aligned(64))) worker;

static void dump_record(mk_out *o, const mk_field *f, size_t nf, char *tmp)
{
    mk_out_char(o, '[');
    for (size_t i = 0; i < nf && i < MAX_FIELDS; i++) {
        if (i)
            mk_out_char(o, ',');
        size_t n = mk_field_unquote(&f[i], tmp);
        mk_out_json_str(o, tmp, n);
    }
    mk_out_write(o, "]\n", 2);
}

/* Parses one block; returns 0, or -1 with the message in mk_err. */
static int parse_block(mk_work *w, void *ctx, const mk_block *b)
{
    worker *wk = ctx;
    const job *j = wk->j;
    counts local = { 0, 0, 0 }, *c = &local;   /* no shared cache line per record */
    mk_field *f = wk->f;
    const char *p = b->data, *end = b->data + b->len;
    uint64_t line = b->first_line;
    (void)w;
    while (p < end) {
        size_t nf;
        const char *next;
        uint64_t nls;
        if (*mode == 'c') {
            mk_csv_result r;
            if (mk_csv_record(p, end, ',', f, MAX_FIELDS, &r) < 0) {
                uint64_t at = line + mk_count_byte(p, (size_t)(r.err_at - p), '\n');
                if (!cli.lenient)
                    return mk_err_set("%s:%llu: %s", j->name, (unsigned long long)at, r.why);
                c->bad++;
                /* Skip to the line after the error. */
                const char *nl = memchr(r.err_at, '\n', (size_t)(end - r.err_at));
                next = nl ? nl + 1 : end;
                line += mk_count_byte(p, (size_t)(next - p), '\n');
                p = next;
                continue;
            }
            nf = r.nf;
            next = r.next;
            nls = r.newlines;
        } else {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *e = nl ? nl : end;
            size_t len = (size_t)(e - p);
            if (len && p[len - 1] == '\r')
                len--;
            nf = *mode == 't' ? mk_split_tsv(p, len, f, MAX_FIELDS)
               : *mode == 'b' ? mk_split_blank(p, len, f, MAX_FIELDS) : 1;
            if (*mode == 'l')
                f[0] = (mk_field){ p, (uint32_t)len, 0 };
            next = nl ? nl + 1 : end;
            nls = nl != NULL;
        }
        if (j->out) {
            if (header && c->records == 0 && line == 1) {
                mk_header h;
                mk_header_init(&h, f, nf < MAX_FIELDS ? nf : MAX_FIELDS);
                for (size_t i = 0; i < h.n; i++)
                    mk_out_printf(j->out, "column %zu: %s\n", i + 1, h.names[i]);
                mk_header_free(&h);
            } else {
                dump_record(j->out, f, nf, wk->tmp);
            }
        }
        c->records++;
        c->fields += nf;
        line += nls;
        p = next;
    }
    wk->c.records += local.records;
    wk->c.fields += local.fields;
    wk->c.bad += local.bad;
    return 0;
}

int main(int argc, char **argv)
{
    int first = mk_cli_parse(&cli, &spec, argc, argv);
    if (max_line == 0 || max_line > UINT32_MAX)
        mk_cli_usage_error(&cli, "option --max-line: expected 1 to 4G bytes");
    int nfiles;
    char **files = mk_cli_files(argc, argv, first, &nfiles);
    unsigned workers = dump ? 1 : (unsigned)cli.threads;

    mk_out *out = mk_out_open(cli.output);
    if (!out)
        mk_die_err();
    mk_table *t = mk_table_new();
    size_t c_file = mk_table_col(t, "file", MK_COL_STR);
    size_t c_codec = mk_table_col(t, "codec", MK_COL_STR);
    size_t c_rec = mk_table_col(t, "records", MK_COL_UINT);
    size_t c_fld = mk_table_col(t, "fields", MK_COL_UINT);
    size_t c_bad = mk_table_col(t, "bad", MK_COL_UINT);
    size_t c_bytes = mk_table_col(t, "bytes", MK_COL_BYTES);
    mk_stats_counts st = { 0 };

    for (int i = 0; i < nfiles; i++) {
        mk_source *src = mk_source_open(files[i]);
        if (!src)
            mk_die_err();
        mk_blocks_opts bo;
        mk_blocks_defaults(&bo);
        bo.max_record = max_line;
        bo.block_size = block_size;
        bo.split = *mode == 'c' ? MK_SPLIT_CSV : MK_SPLIT_LINES;
        bo.threaded = !sync_read;
        bo.map = use_map;
        bo.nbufs = workers + 3;
        job j = { .name = mk_source_name(src), .out = dump ? out : NULL };
        mk_blocks *blocks = mk_blocks_open(src, &bo);
        if (!blocks)
            mk_die_err();
        mk_progress pr;
        mk_progress_init(&pr, mk_cli_progress_wanted(&cli), j.name, mk_source_size(src));
        worker *wk = mk_xcalloc_aligned(64, workers, sizeof *wk);
        void *ctx[256];
        for (unsigned w = 0; w < workers; w++) {
            wk[w].j = &j;
            wk[w].f = mk_xmalloc(MAX_FIELDS * sizeof *wk[w].f);
            wk[w].tmp = dump ? mk_xmalloc(max_line + 1) : NULL;
            ctx[w] = &wk[w];
        }
        int rc = mk_work_run(blocks, workers, parse_block, ctx, &pr);
        mk_progress_end(&pr);
        mk_blocks_close(blocks);
        if (rc < 0)
            mk_die_err();
        counts total = { 0, 0, 0 };
        for (unsigned w = 0; w < workers; w++) {
            total.records += wk[w].c.records;
            total.fields += wk[w].c.fields;
            total.bad += wk[w].c.bad;
            free(wk[w].f);
            free(wk[w].tmp);
        }
        free(wk);
        if (total.bad && !cli.quiet)
            mk_warn("%s: skipped %llu malformed records", j.name, (unsigned long long)total.bad);
        mk_table_row(t);
        mk_table_cstr(t, c_file, j.name);
        mk_table_cstr(t, c_codec, mk_codec_name(mk_source_codec(src)));
        mk_table_uint(t, c_rec, total.records);
        mk_table_uint(t, c_fld, total.fields);
        mk_table_uint(t, c_bad, total.bad);
        mk_table_uint(t, c_bytes, mk_source_out_pos(src));
        st.bytes_in += mk_source_in_pos(src);
        st.records += total.records;
        st.bad_records += total.bad;
        if (mk_source_close(src) < 0)
            mk_die_err();
    }
    if (!dump)
        mk_table_write(t, cli.format, out);
    mk_table_free(t);
    st.bytes_out = mk_out_bytes(out);
    if (mk_out_close(out) < 0)
        mk_die_err();
    if (cli.stats)
        mk_stats_print(&st);
    return 0;
}
