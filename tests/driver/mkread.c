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

#include <pthread.h>
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

/* Shared by the workers of one file. */
typedef struct {
    mk_blocks *blocks;
    const char *name;
    char sep;
    pthread_mutex_t mu;
    counts total;
    uint64_t err_seq;          /* lowest block seq that failed, UINT64_MAX if none */
    char err[1024];
    mk_out *out;               /* --dump only (single worker) */
    mk_progress *progress;     /* drawn by the main thread's worker */
    pthread_t main_thread;
    uint64_t done_bytes;
} job;

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

/* Parses one block; returns 0, or -1 with the message in *err. */
static int parse_block(job *j, const mk_block *b, counts *c, mk_field *f, char *tmp,
                       char *err, size_t errcap)
{
    const char *p = b->data, *end = b->data + b->len;
    uint64_t line = b->first_line;
    while (p < end) {
        size_t nf;
        const char *next;
        uint64_t nls;
        if (*mode == 'c') {
            mk_csv_result r;
            if (mk_csv_record(p, end, ',', f, MAX_FIELDS, &r) < 0) {
                uint64_t at = line + mk_count_byte(p, (size_t)(r.err_at - p), '\n');
                if (!cli.lenient) {
                    snprintf(err, errcap, "%s:%llu: %s", j->name, (unsigned long long)at, r.why);
                    return -1;
                }
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
                dump_record(j->out, f, nf, tmp);
            }
        }
        c->records++;
        c->fields += nf;
        line += nls;
        p = next;
    }
    return 0;
}

static void *worker(void *arg)
{
    job *j = arg;
    counts c = { 0, 0, 0 };
    mk_field *f = mk_xmalloc(MAX_FIELDS * sizeof *f);
    char *tmp = j->out ? mk_xmalloc(max_line + 1) : NULL;
    char err[1024];
    mk_block *b;
    int r;
    while ((r = mk_blocks_next(j->blocks, &b)) == 1) {
        uint64_t seq = b->seq, b_len = b->len;
        int bad = parse_block(j, b, &c, f, tmp, err, sizeof err);
        mk_blocks_release(j->blocks, b);
        pthread_mutex_lock(&j->mu);
        if (bad && seq < j->err_seq) {
            j->err_seq = seq;   /* the earliest error in input order wins */
            snprintf(j->err, sizeof j->err, "%s", err);
        }
        int stop = j->err_seq != UINT64_MAX;
        uint64_t done = j->done_bytes += b_len;
        pthread_mutex_unlock(&j->mu);
        if (pthread_equal(pthread_self(), j->main_thread))
            mk_progress_update(j->progress, done);
        if (stop)
            break;
    }
    pthread_mutex_lock(&j->mu);
    if (r < 0 && j->err_seq == UINT64_MAX) {
        j->err_seq = UINT64_MAX - 1;
        snprintf(j->err, sizeof j->err, "%s", mk_err_msg());
    }
    j->total.records += c.records;
    j->total.fields += c.fields;
    j->total.bad += c.bad;
    pthread_mutex_unlock(&j->mu);
    free(f);
    free(tmp);
    return NULL;
}

int main(int argc, char **argv)
{
    int first = mk_cli_parse(&cli, &spec, argc, argv);
    if (max_line == 0 || max_line > UINT32_MAX)
        mk_cli_usage_error(&cli, "option --max-line: expected 1 to 4G bytes");
    char *stdin_only[] = { "-", NULL };
    char **files = first < argc ? argv + first : stdin_only;
    int nfiles = first < argc ? argc - first : 1;
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
        job j = { .name = mk_source_name(src), .err_seq = UINT64_MAX, .out = dump ? out : NULL };
        pthread_mutex_init(&j.mu, NULL);
        if (!(j.blocks = mk_blocks_open(src, &bo)))
            mk_die_err();
        mk_progress pr;
        mk_progress_init(&pr, mk_cli_progress_wanted(&cli), j.name, mk_source_size(src));
        j.progress = &pr;
        j.main_thread = pthread_self();
        pthread_t th[256];
        for (unsigned w = 1; w < workers; w++)
            if (pthread_create(&th[w], NULL, worker, &j) != 0)
                mk_die("cannot start worker thread");
        worker(&j);
        for (unsigned w = 1; w < workers; w++)
            pthread_join(th[w], NULL);
        mk_progress_end(&pr);
        mk_blocks_close(j.blocks);
        if (j.err_seq != UINT64_MAX)
            mk_die("%s", j.err);
        if (j.total.bad && !cli.quiet)
            mk_warn("%s: skipped %llu malformed records", j.name, (unsigned long long)j.total.bad);
        mk_table_row(t);
        mk_table_cstr(t, c_file, j.name);
        mk_table_cstr(t, c_codec, mk_codec_name(mk_source_codec(src)));
        mk_table_uint(t, c_rec, j.total.records);
        mk_table_uint(t, c_fld, j.total.fields);
        mk_table_uint(t, c_bad, j.total.bad);
        mk_table_uint(t, c_bytes, mk_source_out_pos(src));
        st.bytes_in += mk_source_in_pos(src);
        st.records += j.total.records;
        st.bad_records += j.total.bad;
        pthread_mutex_destroy(&j.mu);
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
