/* Unit tests for lib/blocks and lib/lines: for many block sizes, buffer
 * counts, threaded and synchronous reading, mapped files, read files, memory
 * and zstd sources, the blocks concatenate to the input, end after a newline
 * (except the last), carry exact line numbers and increasing sequence
 * numbers; CSV splitting never cuts inside a quoted field; NUL bytes,
 * over-long lines, unterminated quotes and source errors are reported with
 * file:line; mk_count_byte agrees with a plain loop; the line iterator strips
 * LF/CRLF and numbers lines; several consumer threads releasing blocks out of
 * order see every block exactly once; a prepare hook sees every block in
 * order, on the producer thread, and its aux is freed with its buffer. */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "blocks.h"
#include "err.h"
#include "lines.h"
#include "source.h"
#include "unit.h"

UNIT_RNG(0xd1b54a32d192ed03u)

/* ---- helpers -------------------------------------------------------------- */

static char tmpdir[256];

static void make_tmpdir(void)
{
    unit_make_tmpdir(tmpdir, sizeof tmpdir, "mk_test_blocks");
}


static size_t naive_count(const char *p, size_t n, char c)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += p[i] == c;
    return k;
}

/* Random text lines of 0..maxlen bytes (printable, some CRLF), n bytes in
 * all; the last line lacks its newline when `open_end`. */
static char *gen_lines(size_t n, size_t maxlen, int open_end)
{
    char *p = malloc(n + 1);
    size_t i = 0;
    while (i < n) {
        size_t len = rnd() % (maxlen + 1);
        if (rnd() % 50 == 0)
            len = 0;
        for (size_t k = 0; k < len && i < n; k++)
            p[i++] = (char)(' ' + rnd() % 95);
        if (i < n && rnd() % 4 == 0)
            p[i++] = '\r';
        if (i < n)
            p[i++] = '\n';
    }
    if (n) {
        if (open_end)
            p[n - 1] = p[n - 1] == '\n' ? 'z' : p[n - 1];
        else
            p[n - 1] = '\n';
    }
    return p;
}

/* Random RFC 4180 CSV: fields plain, empty or quoted (with separators,
 * newlines, CRLF and doubled quotes inside), some quoted fields several KiB
 * long with many newlines, records ended by LF or CRLF. */
static char *gen_csv(size_t n, size_t *outlen)
{
    size_t cap = n + 20000, i = 0;
    char *p = malloc(cap);
    while (i < n) {
        int nf = 1 + (int)(rnd() % 6);
        for (int f = 0; f < nf; f++) {
            if (f)
                p[i++] = ',';
            unsigned kind = (unsigned)(rnd() % 10);
            if (kind < 4) {                          /* plain */
                size_t len = rnd() % 12;
                for (size_t k = 0; k < len; k++)
                    p[i++] = (char)('a' + rnd() % 26);
            } else if (kind < 5) {                   /* empty */
            } else {                                 /* quoted */
                size_t len = rnd() % 40;
                if (rnd() % 40 == 0)
                    len = 2000 + rnd() % 9000;
                p[i++] = '"';
                for (size_t k = 0; k < len; k++) {
                    unsigned r = (unsigned)(rnd() % 16);
                    if (r == 0) {
                        p[i++] = '"';
                        p[i++] = '"';
                    } else if (r < 3) {
                        p[i++] = '\n';
                    } else if (r == 3) {
                        p[i++] = ',';
                    } else if (r == 4) {
                        p[i++] = '\r';
                        p[i++] = '\n';
                    } else {
                        p[i++] = (char)('A' + rnd() % 26);
                    }
                }
                p[i++] = '"';
            }
        }
        if (rnd() % 3 == 0)
            p[i++] = '\r';
        p[i++] = '\n';
    }
    *outlen = i;
    return p;
}

typedef enum { SRC_MEM, SRC_FILE_READ, SRC_FILE_MAP, SRC_ZSTD } src_kind;
static const char *const src_names[] = { "mem", "file", "mapped file", "zstd" };

typedef struct {
    mk_source *src;
    void *zbuf;
    char path[512];
} opened;

/* A source of kind k over data[0..n). */
static int open_src(opened *o, src_kind k, const char *data, size_t n)
{
    memset(o, 0, sizeof *o);
    switch (k) {
    case SRC_MEM:
        o->src = mk_source_open_mem("mem.txt", data, n);
        break;
    case SRC_FILE_READ:
    case SRC_FILE_MAP:
        snprintf(o->path, sizeof o->path, "%s/in.txt", tmpdir);
        unit_write_file(o->path, data, n);
        o->src = mk_source_open(o->path);
        break;
    case SRC_ZSTD: {
        size_t bound = ZSTD_compressBound(n);
        o->zbuf = malloc(bound);
        size_t zn = ZSTD_compress(o->zbuf, bound, data, n, 1);
        o->src = mk_source_open_mem("in.zst", o->zbuf, zn);
        break;
    }
    }
    return o->src != NULL;
}

static void close_src(opened *o)
{
    mk_source_close(o->src);
    free(o->zbuf);
    if (o->path[0])
        unlink(o->path);
}

static const char *src_name(const opened *o)
{
    return mk_source_name(o->src);
}

/* Reads every block with one consumer and checks the invariants. Returns
 * the number of violations (printed, at most a few), the error message of a
 * failed read in err (or "" at a clean end), and the delivered bytes. */
typedef struct {
    size_t nblocks, bytes;
    char err[1024];
} walk_result;

static int walk(mk_blocks *b, const char *in, size_t n, const mk_blocks_opts *o, int csv,
                walk_result *w)
{
    int bad = 0;
    size_t off = 0;
    uint64_t line = 1, seq = 0, quotes = 0;
    size_t eff_bs = o->block_size < 4096 ? 4096 : o->block_size;
    w->nblocks = 0;
    w->err[0] = 0;
    mk_block *blk;
    int r;
    while ((r = mk_blocks_next(b, &blk)) == 1) {
        const char *why = NULL;
        if (blk->len == 0)
            why = "empty block";
        else if (off + blk->len > n || memcmp(blk->data, in + off, blk->len) != 0)
            why = "bytes differ from the input";
        else if (blk->seq != seq)
            why = "wrong seq";
        else if (blk->first_line != line)
            why = "wrong first_line";
        else if (blk->lines != naive_count(blk->data, blk->len, '\n'))
            why = "wrong lines";
        else if (off + blk->len < n && blk->data[blk->len - 1] != '\n')
            why = "a block that is not the last does not end after a newline";
        else if (blk->len > eff_bs + o->max_record)
            why = "block larger than block_size + max_record";
        else if (csv && (quotes + naive_count(blk->data, blk->len, '"')) % 2 != 0)
            why = "CSV block cut inside a quoted field";
        if (why) {
            if (bad++ < 3)
                printf("# block %llu at %zu (len %zu): %s\n", (unsigned long long)blk->seq, off,
                       blk->len, why);
        }
        if (off + blk->len <= n) {
            off += blk->len;
            line += naive_count(blk->data, blk->len, '\n');
            quotes += naive_count(blk->data, blk->len, '"');
        }
        seq++;
        w->nblocks++;
        mk_blocks_release(b, blk);
    }
    if (r < 0)
        snprintf(w->err, sizeof w->err, "%s", mk_err_msg());
    w->bytes = off;
    /* The end is sticky. */
    if (r == 0 && mk_blocks_next(b, &blk) != 0) {
        printf("# next after the end did not return 0\n");
        bad++;
    }
    return bad;
}

/* Splits `in` with the given options and source kind; expects a clean end
 * covering all of the input. */
static int split_ok(const char *in, size_t n, src_kind k, const mk_blocks_opts *o, int csv,
                    size_t *nblocks)
{
    opened s;
    if (!open_src(&s, k, in, n)) {
        printf("# open: %s\n", mk_err_msg());
        return 0;
    }
    mk_blocks_opts oo = *o;
    oo.map = k == SRC_FILE_MAP;
    mk_blocks *b = mk_blocks_open(s.src, &oo);
    walk_result w;
    int bad = walk(b, in, n, &oo, csv, &w);
    mk_blocks_close(b);
    if (w.err[0]) {
        printf("# unexpected error: %s\n", w.err);
        bad++;
    }
    if (w.bytes != n) {
        printf("# blocks cover %zu of %zu bytes\n", w.bytes, n);
        bad++;
    }
    /* The mk_blocks did not own the source: it is still there to close. */
    close_src(&s);
    if (nblocks)
        *nblocks = w.nblocks;
    if (bad)
        printf("# ... with %s, block_size %zu, nbufs %u, threaded %d, max_record %zu\n",
               src_names[k], o->block_size, o->nbufs, o->threaded, o->max_record);
    return bad == 0;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_defaults(void)
{
    mk_blocks_opts o;
    memset(&o, 0x5a, sizeof o);
    mk_blocks_defaults(&o);
    CHECK_U64(o.block_size, 1 << 20);
    CHECK_U64(o.max_record, 1 << 20);
    CHECK_INT(o.split, MK_SPLIT_LINES);
    CHECK_INT(o.nbufs, 4);
    CHECK_INT(o.threaded, 1);
    CHECK_INT(o.map, 0);
    CHECK_INT(o.check_nul, 1);
}

static void test_split_lines(void)
{
    static const size_t sizes[] = { 100000, 333333, 1000000 };
    static const size_t bss[] = { 4096, 5000, 65536, 1 << 20 };
    static const unsigned nbufs[] = { 2, 3, 8 };
    int fails = 0, runs = 0;
    for (size_t si = 0; si < 3; si++) {
        char *in = gen_lines(sizes[si], si == 1 ? 1500 : 120, (int)(si & 1));
        for (src_kind k = SRC_MEM; k <= SRC_ZSTD; k++)
            for (size_t bi = 0; bi < 4; bi++)
                for (int th = 0; th <= 1; th++) {
                    mk_blocks_opts o;
                    mk_blocks_defaults(&o);
                    o.block_size = bss[bi];
                    o.nbufs = nbufs[(bi + (size_t)k + (size_t)th) % 3];
                    o.threaded = th;
                    o.max_record = 4096;
                    size_t nb = 0;
                    runs++;
                    if (!split_ok(in, sizes[si], k, &o, 0, &nb))
                        fails++;
                    /* Blocks are about block_size: not one per line, not one for all. */
                    if (bss[bi] < sizes[si] && nb < sizes[si] / (bss[bi] + 4096))
                        fails++, printf("# only %zu blocks\n", nb);
                    if (nb > sizes[si] / (bss[bi] - 1600) + 1)
                        fails++, printf("# %zu blocks of %zu bytes for %zu\n", nb, bss[bi], sizes[si]);
                }
        free(in);
    }
    CHECK_INT(fails, 0);
    CHECK_INT(runs, 3 * 4 * 4 * 2);
}

/* block_size under 4 KiB is raised to 4 KiB: blocks are never tiny. */
static void test_min_block_size(void)
{
    size_t n = 200000;
    char *in = gen_lines(n, 60, 0);
    for (src_kind k = SRC_MEM; k <= SRC_FILE_MAP; k++) {
        mk_blocks_opts o;
        mk_blocks_defaults(&o);
        o.block_size = 1;
        o.nbufs = 0;          /* raised to 2 */
        o.max_record = 100;
        o.threaded = k == SRC_FILE_READ;
        size_t nb = 0;
        CHECK(split_ok(in, n, k, &o, 0, &nb));
        CHECK(nb >= n / 4096);
        CHECK(nb <= n / (4096 - 200) + 1);
    }
    free(in);
}

static void test_edge_inputs(void)
{
    struct { const char *s; size_t n; size_t blocks; } cases[] = {
        { "", 0, 0 },
        { "\n", 1, 1 },
        { "x", 1, 1 },
        { "a\nb", 3, 1 },
        { "\n\n\n\n", 4, 1 },
        { "no newline at all but a line", 28, 1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        for (src_kind k = SRC_MEM; k <= SRC_ZSTD; k++)
            for (int th = 0; th <= 1; th++) {
                mk_blocks_opts o;
                mk_blocks_defaults(&o);
                o.threaded = th;
                if (i % 2) {   /* small buffers: cheaper under ASan */
                    o.block_size = 4096;
                    o.max_record = 4096;
                }
                size_t nb = 99;
                CHECK(split_ok(cases[i].s, cases[i].n, k, &o, 0, &nb));
                CHECK_U64(nb, cases[i].blocks);
            }

    /* One line longer than the block size (within max_record), with and
     * without a newline: one block holding it whole. */
    size_t n = 20000;
    char *in = malloc(n);
    memset(in, 'q', n);
    for (int nl = 0; nl <= 1; nl++) {
        in[n - 1] = nl ? '\n' : 'q';
        for (src_kind k = SRC_MEM; k <= SRC_ZSTD; k++) {
            mk_blocks_opts o;
            mk_blocks_defaults(&o);
            o.block_size = 4096;
            o.max_record = 30000;
            o.threaded = nl;
            size_t nb = 0;
            CHECK(split_ok(in, n, k, &o, 0, &nb));
            CHECK_U64(nb, 1);
        }
    }
    free(in);
}

static void test_split_csv(void)
{
    int fails = 0;
    for (int round = 0; round < 3; round++) {
        size_t n;
        char *in = gen_csv(round == 2 ? 900000 : 200000 + 100000 * (size_t)round, &n);
        CHECK_INT(naive_count(in, n, '"') % 2, 0);
        static const size_t bss[] = { 4096, 7777, 65536 };
        for (src_kind k = SRC_MEM; k <= SRC_ZSTD; k++)
            for (size_t bi = 0; bi < 3; bi++) {
                mk_blocks_opts o;
                mk_blocks_defaults(&o);
                o.split = MK_SPLIT_CSV;
                o.block_size = bss[bi];
                o.max_record = 64 * 1024;
                o.threaded = (int)((bi + (size_t)k) & 1);
                o.nbufs = 2 + (unsigned)bi;
                if (!split_ok(in, n, k, &o, 1, NULL))
                    fails++;
            }
        free(in);
    }
    CHECK_INT(fails, 0);

    /* Hand-made: records alternate between unquoted words and quoted
     * fields full of newlines and doubled quotes, so most newlines near any
     * block edge are inside quotes. */
    char *csv = malloc(60000);
    size_t m = 0;
    while (m < 50000) {
        if (rnd() % 2) {
            csv[m++] = '"';
            size_t len = 50 + rnd() % 100;
            for (size_t k = 0; k < len; k++) {
                if (k % 7 == 3) {
                    csv[m++] = '\n';
                } else if (k % 11 == 5) {
                    csv[m++] = '"';
                    csv[m++] = '"';
                } else {
                    csv[m++] = 'v';
                }
            }
            csv[m++] = '"';
        } else {
            for (size_t k = rnd() % 20; k; k--)
                csv[m++] = 'w';
        }
        csv[m++] = '\n';
    }
    CHECK_INT(naive_count(csv, m, '"') % 2, 0);
    for (int th = 0; th <= 1; th++) {
        mk_blocks_opts o;
        mk_blocks_defaults(&o);
        o.split = MK_SPLIT_CSV;
        o.block_size = 4096;
        o.threaded = th;
        CHECK(split_ok(csv, m, SRC_MEM, &o, 1, NULL));
        CHECK(split_ok(csv, m, SRC_FILE_MAP, &o, 1, NULL));
    }
    free(csv);
}

/* The same input split as lines (not CSV) may be cut inside quotes: the CSV
 * mode is what prevents it (and the test above would notice). */
static void test_csv_mode_matters(void)
{
    size_t n = 0;
    char *in = malloc(200000);
    while (n < 190000) {
        memcpy(in + n, "\"a\nb\nc\nd\ne\nf\ngh\"\n", 17);
        n += 17;
    }
    mk_source *s = mk_source_open_mem("q.csv", in, n);
    mk_blocks_opts o;
    mk_blocks_defaults(&o);
    o.block_size = 4096;
    o.threaded = 0;
    mk_blocks *b = mk_blocks_open(s, &o);
    mk_block *blk;
    size_t off = 0, odd = 0;
    while (mk_blocks_next(b, &blk) == 1) {
        off += blk->len;
        odd += naive_count(in, off, '"') % 2;
        mk_blocks_release(b, blk);
    }
    mk_blocks_close(b);
    mk_source_close(s);
    CHECK_U64(off, n);
    CHECK(odd > 0);
    free(in);
}

static void test_nul(void)
{
    size_t n = 300000;
    char *base = gen_lines(n, 100, 0);
    /* Positions: first byte, inside the first block, far in, in the last line. */
    size_t pos[] = { 0, 1000, 123457, n - 2 };
    for (size_t pi = 0; pi < 4; pi++) {
        char *in = malloc(n);
        memcpy(in, base, n);
        in[pos[pi]] = 0;
        uint64_t line = 1 + naive_count(in, pos[pi], '\n');
        for (src_kind k = SRC_MEM; k <= SRC_ZSTD; k++)
            for (int th = 0; th <= 1; th++) {
                opened s;
                open_src(&s, k, in, n);
                mk_blocks_opts o;
                mk_blocks_defaults(&o);
                o.block_size = 16384;
                o.max_record = 4096;
                o.threaded = th;
                o.map = k == SRC_FILE_MAP;
                mk_blocks *b = mk_blocks_open(s.src, &o);
                walk_result w;
                int bad = walk(b, in, n, &o, 0, &w);
                mk_blocks_close(b);
                char want[1024];
                snprintf(want, sizeof want, "%s:%llu: NUL byte in text input (binary file?)",
                         src_name(&s), (unsigned long long)line);
                CHECK_INT(bad, 0);
                CHECK_STR(w.err, want);
                /* Everything before the NUL's block came out, nothing after it. */
                CHECK(w.bytes <= pos[pi]);
                CHECK(w.bytes + 16384 + 4096 > pos[pi]);
                close_src(&s);

                /* Without check_nul the same input is fine. */
                open_src(&s, k, in, n);
                o.check_nul = 0;
                b = mk_blocks_open(s.src, &o);
                bad = walk(b, in, n, &o, 0, &w);
                mk_blocks_close(b);
                CHECK_INT(bad, 0);
                CHECK_STR(w.err, "");
                CHECK_U64(w.bytes, n);
                close_src(&s);
            }
        free(in);
    }
    free(base);
}

static void test_too_long(void)
{
    /* 36 short lines, then one of 50000 bytes (no newline within
     * block_size + max_record), then more. */
    size_t n = 0;
    char *in = malloc(200000);
    for (int i = 0; i < 36; i++)
        n += (size_t)sprintf(in + n, "line %d\n", i + 1);
    memset(in + n, 'L', 50000);
    n += 50000;
    in[n++] = '\n';
    for (int i = 0; i < 1000; i++)
        n += (size_t)sprintf(in + n, "after %d\n", i);
    for (src_kind k = SRC_MEM; k <= SRC_ZSTD; k++)
        for (int th = 0; th <= 1; th++)
            for (int csv = 0; csv <= 1; csv++) {
                opened s;
                open_src(&s, k, in, n);
                mk_blocks_opts o;
                mk_blocks_defaults(&o);
                o.block_size = 4096;
                o.max_record = 10000;
                o.threaded = th;
                o.split = csv ? MK_SPLIT_CSV : MK_SPLIT_LINES;
                o.map = k == SRC_FILE_MAP;
                mk_blocks *b = mk_blocks_open(s.src, &o);
                walk_result w;
                CHECK_INT(walk(b, in, n, &o, 0, &w), 0);
                mk_blocks_close(b);
                char want[1024];
                snprintf(want, sizeof want, "%s:37: line longer than 10000 bytes", src_name(&s));
                CHECK_STR(w.err, want);
                CHECK(w.bytes <= 36 * 8);
                close_src(&s);
            }

    /* Through the line iterator, with the default sizes: a 3 MiB line. */
    size_t big = 3 << 20;
    char *huge = malloc(big + 100);
    size_t hn = (size_t)sprintf(huge, "first\nsecond\n");
    memset(huge + hn, 'h', big);
    hn += big;
    huge[hn++] = '\n';
    mk_lines *l = mk_lines_from(mk_source_open_mem("huge.txt", huge, hn), NULL);
    mk_line ln;
    CHECK_INT(mk_lines_next(l, &ln), 1);
    CHECK_INT(mk_lines_next(l, &ln), 1);
    CHECK_MEM(ln.ptr, ln.len, "second");
    CHECK_INT(mk_lines_next(l, &ln), -1);
    CHECK_STR(mk_err_msg(), "huge.txt:3: line longer than 1048576 bytes");
    CHECK_INT(mk_lines_next(l, &ln), 0);
    mk_lines_close(l);
    free(huge);
    free(in);
}

/* blocks.h: "a line (record) longer than max_record ... [is an error] with
 * file:line", checked "once here, for every reader" -- also when the long
 * line happens to fit inside one block together with its newline. */
static void test_too_long_inside_block(void)
{
    size_t n = 0;
    char *in = malloc(100000);
    for (int i = 0; i < 10; i++)
        n += (size_t)sprintf(in + n, "%d\n", i + 1);
    memset(in + n, 'x', 3000);
    n += 3000;
    in[n++] = '\n';
    for (int i = 0; i < 10; i++)
        n += (size_t)sprintf(in + n, "%d\n", i + 1);
    for (src_kind k = SRC_MEM; k <= SRC_FILE_MAP; k++) {
        opened s;
        open_src(&s, k, in, n);
        mk_blocks_opts o;
        mk_blocks_defaults(&o);
        o.block_size = 65536;
        o.max_record = 2048;
        o.threaded = 0;
        o.map = k == SRC_FILE_MAP;
        mk_blocks *b = mk_blocks_open(s.src, &o);
        walk_result w;
        walk(b, in, n, &o, 0, &w);
        mk_blocks_close(b);
        char want[1024];
        snprintf(want, sizeof want, "%s:11: line longer than 2048 bytes", src_name(&s));
        CHECK_STR(w.err, want);
        close_src(&s);
    }
    free(in);
}

/* Random lines around the limit, for random limits: the verdict is the
 * first line longer than max_record bytes (its LF not counted, a CR
 * counted), wherever it falls relative to blocks and SIMD chunks. */
static void test_too_long_random(void)
{
    int bad = 0;
    for (int round = 0; round < 80; round++) {
        size_t maxl = 16 + rnd() % 300;
        size_t cap = 100000, n = 0;
        char *in = malloc(cap);
        uint64_t line = 1, first_long = 0;
        int allow_long = round % 3 != 0;
        while (n < cap - 2 * maxl - 10) {
            size_t len = rnd() % 4 ? rnd() % (maxl + 1) : maxl - rnd() % 3;
            if (allow_long && rnd() % 150 == 0)
                len = maxl + 1 + rnd() % (rnd() % 2 ? 3 : maxl);
            int crlf = rnd() % 5 == 0 && len > 0;
            for (size_t k = 0; k < len; k++, n++)
                in[n] = (char)('a' + n % 26);
            if (crlf)
                in[n - 1] = '\r';
            if (len > maxl && !first_long)
                first_long = line;
            in[n++] = '\n';
            line++;
        }
        src_kind k = (src_kind)(round % 4);
        opened s;
        open_src(&s, k, in, n);
        mk_blocks_opts o;
        mk_blocks_defaults(&o);
        o.block_size = 4096 + rnd() % 9000;
        o.max_record = maxl;
        o.threaded = round & 1;
        o.map = k == SRC_FILE_MAP;
        o.split = round % 5 == 0 ? MK_SPLIT_CSV : MK_SPLIT_LINES;
        mk_blocks *b = mk_blocks_open(s.src, &o);
        walk_result w;
        bad += walk(b, in, n, &o, 0, &w);
        mk_blocks_close(b);
        char want[1024] = "";
        if (first_long)
            snprintf(want, sizeof want, "%s:%llu: line longer than %zu bytes", src_name(&s),
                     (unsigned long long)first_long, maxl);
        if (strcmp(w.err, want) != 0 || (!first_long && w.bytes != n)) {
            if (bad++ < 5)
                printf("# round %d (max %zu, %s): \"%s\", expected \"%s\"\n", round, maxl,
                       src_names[k], w.err, want);
        }
        close_src(&s);
        free(in);
    }
    CHECK_INT(bad, 0);
}

static void test_unterminated_quote(void)
{
    /* A quote opened on line 2 and never closed, far from the end. */
    size_t n = 0;
    char *in = malloc(400000);
    n += (size_t)sprintf(in + n, "a,b\n1,\"open\n");
    for (int i = 0; i < 30000; i++)
        n += (size_t)sprintf(in + n, "%d\n", i);
    for (src_kind k = SRC_MEM; k <= SRC_ZSTD; k++)
        for (int th = 0; th <= 1; th++) {
            opened s;
            open_src(&s, k, in, n);
            mk_blocks_opts o;
            mk_blocks_defaults(&o);
            o.block_size = 4096;
            o.max_record = 10000;
            o.threaded = th;
            o.split = MK_SPLIT_CSV;
            o.map = k == SRC_FILE_MAP;
            mk_blocks *b = mk_blocks_open(s.src, &o);
            walk_result w;
            CHECK_INT(walk(b, in, n, &o, 1, &w), 0);
            mk_blocks_close(b);
            char want[1024];
            snprintf(want, sizeof want,
                     "%s:2: unterminated quoted field (record longer than 10000 bytes)", src_name(&s));
            CHECK_STR(w.err, want);
            CHECK(w.bytes <= 4);   /* at most the header line came out */
            close_src(&s);
        }
    /* The same after many good CSV records with quoted newlines: the line
     * number counts the newlines inside quotes too. */
    n = 0;
    int line = 1;
    for (int i = 0; i < 2000; i++) {
        n += (size_t)sprintf(in + n, "%d,\"x\ny\",\"\"\"q\"\"\"\n", i);
        line += 2;
    }
    n += (size_t)sprintf(in + n, "z,\"");
    for (int i = 0; i < 5000; i++)
        n += (size_t)sprintf(in + n, "%d\n", i);
    opened s;
    open_src(&s, SRC_MEM, in, n);
    mk_blocks_opts o;
    mk_blocks_defaults(&o);
    o.block_size = 8192;
    o.max_record = 5000;
    o.split = MK_SPLIT_CSV;
    mk_blocks *b = mk_blocks_open(s.src, &o);
    walk_result w;
    CHECK_INT(walk(b, in, n, &o, 1, &w), 0);
    mk_blocks_close(b);
    char want[256];
    snprintf(want, sizeof want, "mem.txt:%d: unterminated quoted field (record longer than 5000 bytes)", line);
    CHECK_STR(w.err, want);
    close_src(&s);
    free(in);
}

static void test_source_error(void)
{
    /* A truncated zstd stream: every complete block first, then the error. */
    size_t n = 500000;
    char *in = gen_lines(n, 80, 0);
    size_t bound = ZSTD_compressBound(n);
    char *z = malloc(bound);
    size_t zn = ZSTD_compress(z, bound, in, n, 1);
    for (int th = 0; th <= 1; th++) {
        mk_source *s = mk_source_open_mem("cut.zst", z, zn - 7);
        mk_blocks_opts o;
        mk_blocks_defaults(&o);
        o.block_size = 8192;
        o.threaded = th;
        o.nbufs = 3;
        mk_blocks *b = mk_blocks_open(s, &o);
        walk_result w;
        CHECK_INT(walk(b, in, n, &o, 0, &w), 0);
        char want[128];
        snprintf(want, sizeof want, "cut.zst: truncated zstd stream at byte %zu", zn - 7);
        CHECK_STR(w.err, want);
        CHECK(w.bytes > n / 2 && w.bytes < n);
        CHECK(w.nblocks > 10);
        /* The error stays. */
        mk_block *blk;
        CHECK(mk_blocks_next(b, &blk) != 1);
        mk_blocks_close(b);
        mk_source_close(s);
    }
    free(z);
    free(in);
}

static void test_all_held(void)
{
    size_t n = 100000;
    char *in = gen_lines(n, 50, 0);
    mk_source *s = mk_source_open_mem("held.txt", in, n);
    mk_blocks_opts o;
    mk_blocks_defaults(&o);
    o.block_size = 4096;
    o.nbufs = 2;
    o.threaded = 0;
    mk_blocks *b = mk_blocks_open(s, &o);
    mk_block *b1, *b2, *b3;
    CHECK_INT(mk_blocks_next(b, &b1), 1);
    CHECK_INT(mk_blocks_next(b, &b2), 1);
    CHECK_INT(mk_blocks_next(b, &b3), -1);
    CHECK_STR(mk_err_msg(), "held.txt: all 2 blocks are held; release blocks before taking more");
    /* Holding two blocks keeps both valid; releasing out of order is fine. */
    CHECK(memcmp(b1->data, in, b1->len) == 0);
    CHECK(memcmp(b2->data, in + b1->len, b2->len) == 0);
    CHECK_U64(b2->first_line, 1 + naive_count(in, b1->len, '\n'));
    size_t off = b1->len + b2->len;
    mk_blocks_release(b, b2);
    mk_blocks_release(b, b1);
    CHECK_INT(mk_blocks_next(b, &b3), 1);
    CHECK(memcmp(b3->data, in + off, b3->len) == 0);
    CHECK_U64(b3->seq, 2);
    mk_blocks_release(b, b3);
    mk_blocks_close(b);
    mk_source_close(s);
    free(in);
}

/* Closing early, with the producer thread blocked on full buffers. */
static void test_close_early(void)
{
    size_t n = 400000;
    char *in = gen_lines(n, 50, 0);
    for (int i = 0; i < 5; i++) {
        mk_source *s = mk_source_open_mem("early.txt", in, n);
        mk_blocks_opts o;
        mk_blocks_defaults(&o);
        o.block_size = 4096;
        o.nbufs = 2 + (unsigned)i;
        o.threaded = 1;
        mk_blocks *b = mk_blocks_open(s, &o);
        mk_block *blk;
        for (int k = 0; k < i; k++) {
            CHECK_INT(mk_blocks_next(b, &blk), 1);
            CHECK_U64(blk->seq, (uint64_t)k);
            mk_blocks_release(b, blk);
        }
        usleep(1000);
        mk_blocks_close(b);
        mk_source_close(s);
    }
    free(in);
}

static void test_count_byte(void)
{
    size_t cap = 70000;
    char *p = malloc(cap + 64);
    int bad = 0;
    for (int round = 0; round < 300; round++) {
        /* Byte mixes: sparse, dense, and all-equal runs (lane overflow). */
        unsigned mix = (unsigned)(round % 4);
        for (size_t i = 0; i < cap + 64; i++) {
            uint64_t r = rnd();
            p[i] = mix == 0 ? (char)(r >> 20) : mix == 1 ? "\n\"a\0"[r % 4]
                 : mix == 2 ? '\n' : (r % 100 ? 'x' : (char)0xFF);
        }
        size_t off = rnd() % 64;
        size_t len = round < 40 ? (size_t)round : rnd() % (round % 10 == 0 ? cap : 9000);
        static const char chars[] = { '\n', '"', 0, (char)0xFF, 'x', 'a' };
        for (size_t ci = 0; ci < sizeof chars; ci++) {
            size_t want = naive_count(p + off, len, chars[ci]);
            size_t got = mk_count_byte(p + off, len, chars[ci]);
            if (want != got && bad++ < 5)
                printf("# mix %u off %zu len %zu char %d: %zu, expected %zu\n", mix, off, len,
                       chars[ci], got, want);
        }
    }
    CHECK_INT(bad, 0);
    /* Exact sizes around the 255-round folding: 255 * 16 = 4080 bytes. */
    memset(p, '\n', cap);
    static const size_t lens[] = { 0, 1, 15, 16, 17, 4079, 4080, 4081, 4096, 8160, 8161, 65536 };
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++)
        CHECK_U64(mk_count_byte(p, lens[i], '\n'), lens[i]);
    CHECK_U64(mk_count_byte(p + 3, 10000, 'x'), 0);
    free(p);
}

/* ---- lines ---------------------------------------------------------------- */

typedef struct {
    const char *s;
    uint64_t no;
} want_line;

static void check_lines(const char *in, size_t n, const want_line *want, size_t nwant)
{
    for (int th = 0; th <= 1; th++) {
        mk_blocks_opts o;
        mk_blocks_defaults(&o);
        o.threaded = th;
        o.block_size = 4096;
        o.max_record = 4096;
        mk_lines *l = mk_lines_from(mk_source_open_mem("l.txt", in, n), &o);
        CHECK(l != NULL);
        mk_line ln;
        size_t i = 0;
        int r;
        while ((r = mk_lines_next(l, &ln)) == 1) {
            if (i < nwant) {
                CHECK_MEM(ln.ptr, ln.len, want[i].s);
                CHECK_U64(ln.no, want[i].no);
            }
            i++;
        }
        CHECK_INT(r, 0);
        CHECK_U64(i, nwant);
        CHECK_INT(mk_lines_next(l, &ln), 0);
        CHECK_INT(mk_lines_close(l), 0);
    }
}

#define LIT(s) s, sizeof(s) - 1

static void test_lines_basic(void)
{
    check_lines(LIT(""), NULL, 0);
    check_lines(LIT("\n"), (want_line[]){ { "", 1 } }, 1);
    check_lines(LIT("\r\n"), (want_line[]){ { "", 1 } }, 1);
    check_lines(LIT("a"), (want_line[]){ { "a", 1 } }, 1);
    check_lines(LIT("a\nb"), (want_line[]){ { "a", 1 }, { "b", 2 } }, 2);
    check_lines(LIT("a\nb\n"), (want_line[]){ { "a", 1 }, { "b", 2 } }, 2);
    check_lines(LIT("a\r\nbb\r\n\r\nccc"),
                (want_line[]){ { "a", 1 }, { "bb", 2 }, { "", 3 }, { "ccc", 4 } }, 4);
    check_lines(LIT("\n\nx\n\n"), (want_line[]){ { "", 1 }, { "", 2 }, { "x", 3 }, { "", 4 } }, 4);
    /* A CR that is not before the LF is data. */
    check_lines(LIT("a\rb\n\rc\r\n"), (want_line[]){ { "a\rb", 1 }, { "\rc", 2 } }, 2);
    check_lines(LIT("tab\there  \n"), (want_line[]){ { "tab\there  ", 1 } }, 1);
    /* Only one CR is stripped. */
    check_lines(LIT("x\r\r\n"), (want_line[]){ { "x\r", 1 } }, 1);
}

static void test_lines_big(void)
{
    /* Across many blocks, from a file and from zstd, against a naive split. */
    size_t n = 600000;
    char *in = gen_lines(n, 300, 1);
    for (src_kind k = SRC_MEM; k <= SRC_ZSTD; k++)
        for (int th = 0; th <= 1; th++) {
            opened s;
            open_src(&s, k, in, n);
            mk_blocks_opts o;
            mk_blocks_defaults(&o);
            o.block_size = 4096 + 1000 * (size_t)k;
            o.max_record = 4096;
            o.threaded = th;
            o.map = k == SRC_FILE_MAP;
            mk_lines *l = mk_lines_from(s.src, &o);
            s.src = NULL;   /* the lines own it now */
            CHECK_STR(mk_lines_name(l), k == SRC_MEM ? "mem.txt" : k == SRC_ZSTD ? "in.zst" : s.path);
            CHECK(mk_lines_source(l) != NULL);
            mk_line ln;
            size_t off = 0;
            uint64_t no = 1;
            int bad = 0, r;
            while ((r = mk_lines_next(l, &ln)) == 1) {
                const char *nl = memchr(in + off, '\n', n - off);
                size_t len = nl ? (size_t)(nl - (in + off)) : n - off;
                size_t next = off + len + (nl != NULL);
                if (len && in[off + len - 1] == '\r')
                    len--;
                if (ln.len != len || memcmp(ln.ptr, in + off, len) != 0 || ln.no != no) {
                    if (bad++ < 3)
                        printf("# line %llu (got %llu): wrong\n", (unsigned long long)no,
                               (unsigned long long)ln.no);
                }
                off = next;
                no++;
            }
            CHECK_INT(r, 0);
            CHECK_INT(bad, 0);
            CHECK_U64(off, n);
            CHECK_U64(no - 1, naive_count(in, n, '\n') + 1);   /* open last line */
            CHECK_INT(mk_lines_close(l), 0);
            free(s.zbuf);
            if (s.path[0])
                unlink(s.path);
        }
    free(in);
}

static void test_lines_errors(void)
{
    /* Open a path; a missing path. */
    char path[512];
    snprintf(path, sizeof path, "%s/l.txt", tmpdir);
    unit_write_file(path, "one\ntwo\r\n", 9);
    mk_lines *l = mk_lines_open(path, NULL);
    CHECK(l != NULL);
    mk_line ln;
    CHECK_INT(mk_lines_next(l, &ln), 1);
    CHECK_MEM(ln.ptr, ln.len, "one");
    CHECK_INT(mk_lines_next(l, &ln), 1);
    CHECK_MEM(ln.ptr, ln.len, "two");
    CHECK_U64(ln.no, 2);
    CHECK_INT(mk_lines_next(l, &ln), 0);
    CHECK_STR(mk_lines_name(l), path);
    mk_lines_close(l);
    unlink(path);
    CHECK(mk_lines_open(path, NULL) == NULL);
    char want[700];
    snprintf(want, sizeof want, "%s: No such file or directory", path);
    CHECK_STR(mk_err_msg(), want);

    /* A NUL on line 3 of the only block: the block is refused whole. */
    static const char nul[] = "a\nb\nc\0d\ne\n";
    l = mk_lines_from(mk_source_open_mem("nul.txt", nul, sizeof nul - 1), NULL);
    CHECK_INT(mk_lines_next(l, &ln), -1);
    CHECK_STR(mk_err_msg(), "nul.txt:3: NUL byte in text input (binary file?)");
    CHECK_INT(mk_lines_next(l, &ln), 0);
    mk_lines_close(l);

    /* A line over max_record inside one block: the block is refused whole,
     * like one with a NUL. */
    char buf[400];
    size_t n = (size_t)sprintf(buf, "ok\n");
    memset(buf + n, 'y', 100);
    n += 100;
    buf[n++] = '\n';
    mk_blocks_opts o;
    mk_blocks_defaults(&o);
    o.max_record = 50;
    l = mk_lines_from(mk_source_open_mem("long.txt", buf, n), &o);
    CHECK_INT(mk_lines_next(l, &ln), -1);
    CHECK_STR(mk_err_msg(), "long.txt:2: line longer than 50 bytes");
    CHECK_INT(mk_lines_next(l, &ln), 0);
    mk_lines_close(l);

    /* A truncated zstd input: the lines of every complete zstd block (128 KiB
     * of output each), then the error. */
    size_t tn = 500000;
    char *in = gen_lines(tn, 60, 0);
    size_t bound = ZSTD_compressBound(tn);
    char *z = malloc(bound);
    size_t zn = ZSTD_compress(z, bound, in, tn, 3);
    o.max_record = 4096;
    o.block_size = 4096;
    l = mk_lines_from(mk_source_open_mem("t.zst", z, zn * 3 / 4), &o);
    int r;
    size_t count = 0;
    while ((r = mk_lines_next(l, &ln)) == 1)
        count++;
    CHECK_INT(r, -1);
    snprintf(want, sizeof want, "t.zst: truncated zstd stream at byte %zu", zn * 3 / 4);
    CHECK_STR(mk_err_msg(), want);
    CHECK(count > naive_count(in, tn, '\n') / 4 && count < naive_count(in, tn, '\n'));
    mk_lines_close(l);
    /* Closing in the middle releases what it holds. */
    l = mk_lines_from(mk_source_open_mem("t.zst", z, zn), &o);
    CHECK_INT(mk_lines_next(l, &ln), 1);
    CHECK_INT(mk_lines_close(l), 0);
    free(z);
    free(in);
}

/* ---- many consumers ------------------------------------------------------- */

enum { MAX_SEQ = 4096 };

typedef struct {
    mk_blocks *b;
    uint64_t seed;
    /* Results per seq, written by whichever thread took the block. */
    const char **data;
    size_t *len;
    uint64_t *first_line, *lines;
    int *taken;
    pthread_mutex_t *mu;
    int errors;
} consumer;

static void *consume(void *arg)
{
    consumer *c = arg;
    uint64_t x = c->seed;
    mk_block *held[2];
    int nh = 0, r;
    for (;;) {
        mk_block *blk;
        r = mk_blocks_next(c->b, &blk);
        if (r != 1)
            break;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        if (blk->seq < MAX_SEQ) {
            pthread_mutex_lock(c->mu);
            c->taken[blk->seq]++;
            c->len[blk->seq] = blk->len;
            c->first_line[blk->seq] = blk->first_line;
            c->lines[blk->seq] = blk->lines;
            pthread_mutex_unlock(c->mu);
            /* Keep a private copy of the bytes to compare later: the block
             * must stay intact while held. */
            char *mine = malloc(blk->len);
            memcpy(mine, blk->data, blk->len);
            if (x % 3 == 0)
                usleep((useconds_t)(x % 200));
            if (memcmp(mine, blk->data, blk->len) != 0)
                c->errors++;
            c->data[blk->seq] = mine;
        } else {
            c->errors++;
        }
        held[nh++] = blk;
        /* Hold up to two; release in random order. */
        if (nh == 2 || x % 4 == 0) {
            while (nh) {
                int k = (int)(x % (uint64_t)nh);
                mk_blocks_release(c->b, held[k]);
                held[k] = held[--nh];
            }
        }
    }
    while (nh)
        mk_blocks_release(c->b, held[--nh]);
    if (r < 0)
        c->errors += 1000;
    return NULL;
}

static void test_many_consumers(void)
{
    size_t n = 1000000;
    char *in = gen_lines(n, 200, 1);
    for (src_kind k = SRC_MEM; k <= SRC_ZSTD; k++)
        for (int th = 0; th <= 1; th++) {
            enum { NT = 4 };
            opened s;
            open_src(&s, k, in, n);
            mk_blocks_opts o;
            mk_blocks_defaults(&o);
            o.block_size = 8192;
            o.max_record = 4096;
            o.threaded = th;
            o.nbufs = 2 * NT + 2;
            o.map = k == SRC_FILE_MAP;
            mk_blocks *b = mk_blocks_open(s.src, &o);
            const char **data = calloc(MAX_SEQ, sizeof *data);
            size_t *len = calloc(MAX_SEQ, sizeof *len);
            uint64_t *fl = calloc(MAX_SEQ, sizeof *fl), *lines = calloc(MAX_SEQ, sizeof *lines);
            int *taken = calloc(MAX_SEQ, sizeof *taken);
            pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
            consumer c[NT];
            pthread_t t[NT];
            for (int i = 0; i < NT; i++) {
                c[i] = (consumer){ b, 0x1234567ull * (uint64_t)(i + 1), data, len, fl, lines,
                                   taken, &mu, 0 };
                pthread_create(&t[i], NULL, consume, &c[i]);
            }
            int errors = 0;
            for (int i = 0; i < NT; i++) {
                pthread_join(t[i], NULL);
                errors += c[i].errors;
            }
            mk_blocks_close(b);
            CHECK_INT(errors, 0);
            /* Every seq 0..N-1 exactly once, in input order they rebuild the
             * input, with consistent line numbers. */
            size_t off = 0, nseq = 0;
            uint64_t line = 1;
            int bad = 0;
            while (nseq < MAX_SEQ && taken[nseq])
                nseq++;
            for (size_t q = 0; q < MAX_SEQ; q++) {
                if (q < nseq) {
                    bad += taken[q] != 1;
                    bad += off + len[q] > n || memcmp(data[q], in + off, len[q]) != 0;
                    bad += fl[q] != line;
                    bad += lines[q] != naive_count(data[q], len[q], '\n');
                    off += len[q];
                    line += lines[q];
                } else {
                    bad += taken[q] != 0;
                }
                free((void *)data[q]);
            }
            if (bad)
                printf("# %s, threaded %d: %d bad\n", src_names[k], th, bad);
            CHECK_INT(bad, 0);
            CHECK_U64(off, n);
            CHECK(nseq > 100);
            close_src(&s);
            free(data);
            free(len);
            free(fl);
            free(lines);
            free(taken);
        }
    free(in);
}

/* prepare runs on every block in input order, on the producer thread when
 * threaded (in the consumer's call otherwise), before the consumer sees the
 * block; aux stays with its buffer and is freed once per allocation. */
typedef struct {
    uint64_t next_seq;
    int out_of_order, allocs, frees;
    pthread_t main_thread;
    int on_main;
} prep_ctx;

typedef struct {
    prep_ctx *c;
    uint64_t seq, newlines;
} prep_aux;

static void prep(void *ctx, mk_block *blk)
{
    prep_ctx *c = ctx;
    if (blk->seq != c->next_seq++)
        c->out_of_order++;
    if (pthread_equal(pthread_self(), c->main_thread))
        c->on_main++;
    prep_aux *a = blk->aux;
    if (!a) {
        a = calloc(1, sizeof *a);
        a->c = c;
        blk->aux = a;
        c->allocs++;
    }
    a->seq = blk->seq;
    a->newlines = naive_count(blk->data, blk->len, '\n');
}

static void prep_free(void *aux)
{
    prep_aux *a = aux;
    a->c->frees++;
    free(a);
}

static void test_prepare(void)
{
    size_t n = 600000;
    char *in = gen_lines(n, 80, 0);
    for (src_kind k = SRC_MEM; k <= SRC_ZSTD; k++)
        for (int th = 0; th <= 1; th++) {
            prep_ctx c = { 0, 0, 0, 0, pthread_self(), 0 };
            mk_blocks_opts o;
            mk_blocks_defaults(&o);
            o.block_size = 4096;
            o.nbufs = 3;
            o.threaded = th;
            o.prepare = prep;
            o.aux_free = prep_free;
            o.ctx = &c;
            opened s;
            CHECK(open_src(&s, k, in, n));
            mk_blocks *b = mk_blocks_open(s.src, &o);
            CHECK(b != NULL);
            mk_block *blk;
            size_t blocks = 0, bad = 0;
            while (mk_blocks_next(b, &blk) > 0) {
                const prep_aux *a = blk->aux;
                if (!a || a->seq != blk->seq || a->newlines != blk->lines)
                    bad++;
                blocks++;
                mk_blocks_release(b, blk);
            }
            mk_blocks_close(b);
            close_src(&s);
            CHECK_INT(bad, 0);
            CHECK(blocks >= n / 4096);
            CHECK_INT(c.next_seq, blocks);
            CHECK_INT(c.out_of_order, 0);
            CHECK_INT(c.on_main, th ? 0 : (int)blocks);
            /* One aux per buffer, however many blocks passed through it. */
            CHECK(c.allocs >= 1 && c.allocs <= 3);
            CHECK_INT(c.frees, c.allocs);
        }
    free(in);
}

/* The counting pass again with the SSE2 loop, on a CPU with AVX2 (without
 * AVX2, the runs above used it already). */
static void test_sse2_loop(void)
{
    int was = mk_blocks_avx2;
    mk_blocks_avx2 = 0;
    test_split_lines();
    test_edge_inputs();
    test_split_csv();
    test_csv_mode_matters();
    test_nul();
    test_too_long();
    test_too_long_inside_block();
    test_too_long_random();
    test_unterminated_quote();
    test_lines_big();
    mk_blocks_avx2 = was;
}

int main(void)
{
    make_tmpdir();
    RUN(test_defaults);
    RUN(test_split_lines);
    RUN(test_min_block_size);
    RUN(test_edge_inputs);
    RUN(test_split_csv);
    RUN(test_csv_mode_matters);
    RUN(test_nul);
    RUN(test_too_long);
    RUN(test_too_long_inside_block);
    RUN(test_too_long_random);
    RUN(test_unterminated_quote);
    RUN(test_source_error);
    RUN(test_all_held);
    RUN(test_close_early);
    RUN(test_count_byte);
    RUN(test_lines_basic);
    RUN(test_lines_big);
    RUN(test_lines_errors);
    RUN(test_many_consumers);
    RUN(test_prepare);
    RUN(test_sse2_loop);
    rmdir(tmpdir);
    return DONE();
}
