/* Unit tests for lib/out: a table with every column type and empty cells in
 * all five formats, compared byte for byte; CSV quoting, TSV escaping, JSON
 * string escaping (control characters, quotes, backslash, UTF-8 kept,
 * invalid bytes as U+FFFD, checked by a strict JSON string decoder written
 * here over random byte strings), NaN/inf as null; the writer: atomic output
 * through a temporary file, discard, failures with messages, big writes,
 * integer boundaries, temporary files removed when the process is killed. */
#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "out.h"
#include "unit.h"

UNIT_RNG(0xa0761d6478bd642fu)

static char tmpdir[256];

static void make_tmpdir(void)
{
    unit_make_tmpdir(tmpdir, sizeof tmpdir, "mk_test_out");
}

/* Whole file into a malloc'd NUL-terminated buffer (NULL if missing). */
static char *slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    size_t cap = 4096, n = 0;
    char *p = malloc(cap);
    for (;;) {
        if (n + 4096 > cap)
            p = realloc(p, cap *= 2);
        ssize_t r = read(fd, p + n, 4096);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    p[n] = 0;
    if (len)
        *len = n;
    return p;
}

/* Entries in tmpdir (not . and ..). */
static int dir_entries(void)
{
    DIR *d = opendir(tmpdir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Renders t in format f through a real output file and returns the text. */
static char *render(const mk_table *t, mk_format f)
{
    char path[512];
    snprintf(path, sizeof path, "%s/render.out", tmpdir);
    mk_out *o = mk_out_open(path);
    if (!o) {
        printf("# mk_out_open: %s\n", mk_err_msg());
        return strdup("");
    }
    mk_table_write(t, f, o);
    if (mk_out_close(o) != 0)
        printf("# mk_out_close: %s\n", mk_err_msg());
    char *s = slurp(path, NULL);
    unlink(path);
    return s ? s : strdup("");
}

/* Captures what mk_out writes to stdout ("-"): fd 1 goes to an anonymous
 * file meanwhile (committing a named file fsyncs it, too slow for
 * thousands of small checks). Nothing may print between begin and end. */
static int saved_stdout = -1;

static void capture_begin(void)
{
    fflush(stdout);
    saved_stdout = dup(1);
    int fd = memfd_create("capture", 0);
    if (fd < 0) {
        char path[512];
        snprintf(path, sizeof path, "%s/capture.XXXXXX", tmpdir);
        fd = mkstemp(path);
        unlink(path);
    }
    dup2(fd, 1);
    close(fd);
}

static char *capture_end(size_t *len)
{
    size_t cap = 4096, n = 0;
    char *p = malloc(cap);
    lseek(1, 0, SEEK_SET);
    for (;;) {
        if (n + 4096 > cap)
            p = realloc(p, cap *= 2);
        ssize_t r = read(1, p + n, 4096);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    p[n] = 0;
    dup2(saved_stdout, 1);
    close(saved_stdout);
    if (len)
        *len = n;
    return p;
}

/* What mk_out_* calls write, as a string. */
#define CAPTURE(out, call) do { \
    capture_begin(); \
    mk_out *o_ = mk_out_open("-"); \
    { mk_out *o = o_; call; } \
    mk_out_close(o_); \
    free(out); out = capture_end(NULL); } while (0)

/* ---- the table in every format -------------------------------------------- */

static mk_table *sample_table(void)
{
    mk_table *t = mk_table_new();
    size_t c_name = mk_table_col(t, "name", MK_COL_STR);
    size_t c_count = mk_table_col(t, "count", MK_COL_INT);
    size_t c_total = mk_table_col(t, "total", MK_COL_UINT);
    size_t c_size = mk_table_col(t, "size", MK_COL_BYTES);
    size_t c_ratio = mk_table_col(t, "ratio", MK_COL_FLOAT);
    size_t c_share = mk_table_col(t, "share", MK_COL_RATIO);
    size_t c_time = mk_table_col(t, "time", MK_COL_DURATION);
    CHECK_U64(c_name, 0);
    CHECK_U64(c_time, 6);

    mk_table_row(t);
    mk_table_cstr(t, c_name, "alpha");
    mk_table_int(t, c_count, -5);
    mk_table_uint(t, c_total, 12);
    mk_table_uint(t, c_size, 1536);
    mk_table_float(t, c_ratio, 0.5);
    mk_table_float(t, c_share, 0.25);
    mk_table_uint(t, c_time, 1500000);

    mk_table_row(t);
    mk_table_str(t, c_name, "b,\"q\"XXXX", 5);   /* a slice */
    mk_table_int(t, c_count, INT64_MIN);
    mk_table_uint(t, c_total, UINT64_MAX);
    mk_table_uint(t, c_size, 0);
    mk_table_float(t, c_ratio, 1e20);
    mk_table_float(t, c_share, 1.0);
    mk_table_uint(t, c_time, 0);

    /* Mostly empty: only total, ratio (NaN) and time. */
    mk_table_row(t);
    mk_table_uint(t, c_total, 0);
    mk_table_float(t, c_ratio, NAN);
    mk_table_uint(t, c_time, 3723000000000ull);
    CHECK_U64(mk_table_rows(t), 3);
    return t;
}

static void test_table_text(void)
{
    mk_table *t = sample_table();
    char *s = render(t, MK_FMT_TEXT);
    /* Strings left-aligned, numbers right-aligned, two spaces between
     * columns; human units; empty cells blank. */
    char want[2048];
    const char *fmt = "%-5s  %20s  %20s  %8s  %5s  %7s  %7s\n";
    size_t n = 0;
    n += (size_t)snprintf(want + n, sizeof want - n, fmt, "name", "count", "total", "size", "ratio",
                          "share", "time");
    n += (size_t)snprintf(want + n, sizeof want - n, fmt, "alpha", "-5", "12", "1.50 KiB", "0.5",
                          "25.00%", "1.50 ms");
    n += (size_t)snprintf(want + n, sizeof want - n, fmt, "b,\"q\"", "-9223372036854775808",
                          "18446744073709551615", "0 B", "1e+20", "100.00%", "0 ns");
    n += (size_t)snprintf(want + n, sizeof want - n, fmt, "", "", "0", "", "nan", "", "1h02m");
    CHECK_STR(s, want);
    free(s);
    mk_table_free(t);

    /* A string as last column is not padded; a wide header widens the column. */
    t = mk_table_new();
    mk_table_col(t, "k", MK_COL_STR);
    mk_table_col(t, "value", MK_COL_UINT);
    mk_table_col(t, "note", MK_COL_STR);
    mk_table_row(t);
    mk_table_cstr(t, 0, "a");
    mk_table_uint(t, 1, 1);
    mk_table_cstr(t, 2, "x");
    mk_table_row(t);
    mk_table_cstr(t, 0, "long");
    mk_table_uint(t, 1, 1000);
    mk_table_cstr(t, 2, "longer note");
    s = render(t, MK_FMT_TEXT);
    CHECK_STR(s, "k     value  note\n"
                 "a         1  x\n"
                 "long   1000  longer note\n");
    free(s);
    mk_table_free(t);

    /* Human units across their ranges. */
    t = mk_table_new();
    mk_table_col(t, "bytes", MK_COL_BYTES);
    mk_table_col(t, "dur", MK_COL_DURATION);
    mk_table_col(t, "pct", MK_COL_RATIO);
    mk_table_col(t, "f", MK_COL_FLOAT);
    static const struct { uint64_t b, d; double r, f; } rows[] = {
        { 1023, 999, 0.0, 3.0 },
        { 1024, 12500, 0.125, 1234.5678 },
        { 15 * 1024 * 1024 + 300 * 1024, 2350000000ull, -0.5, -0.001 },
        { UINT64_MAX, 185000000000ull, INFINITY, -INFINITY },
        { 0, 0, 0.0, 56610.333 },   /* big fractions: no exponent */
    };
    for (int i = 0; i < 5; i++) {
        mk_table_row(t);
        mk_table_uint(t, 0, rows[i].b);
        mk_table_uint(t, 1, rows[i].d);
        mk_table_float(t, 2, rows[i].r);
        mk_table_float(t, 3, rows[i].f);
    }
    s = render(t, MK_FMT_TEXT);
    const char *f4 = "%8s  %7s  %7s  %6s\n";
    n = 0;
    n += (size_t)snprintf(want + n, sizeof want - n, f4, "bytes", "dur", "pct", "f");
    n += (size_t)snprintf(want + n, sizeof want - n, f4, "1023 B", "999 ns", "0.00%", "3");
    n += (size_t)snprintf(want + n, sizeof want - n, f4, "1.00 KiB", "12.5 us", "12.50%", "1235");
    n += (size_t)snprintf(want + n, sizeof want - n, f4, "15.3 MiB", "2.35 s", "-50.00%", "-0.001");
    n += (size_t)snprintf(want + n, sizeof want - n, f4, "16.0 EiB", "3m05s", "inf", "-inf");
    n += (size_t)snprintf(want + n, sizeof want - n, f4, "0 B", "0 ns", "0.00%", "56610");
    CHECK_STR(s, want);
    free(s);
    mk_table_free(t);
}

/* Columns of text output line up for people: a name with non-ASCII
 * characters takes as many columns as it has characters, not bytes. */
static void test_table_text_utf8(void)
{
    mk_table *t = mk_table_new();
    mk_table_col(t, "site", MK_COL_STR);
    mk_table_col(t, "n", MK_COL_UINT);
    mk_table_row(t);
    mk_table_cstr(t, 0, "caf\xC3\xA9.c");   /* café.c: 6 characters, 7 bytes */
    mk_table_uint(t, 1, 1);
    mk_table_row(t);
    mk_table_cstr(t, 0, "main.c");
    mk_table_uint(t, 1, 22);
    char *s = render(t, MK_FMT_TEXT);
    CHECK_STR(s, "site     n\n"
                 "caf\xC3\xA9.c   1\n"
                 "main.c  22\n");
    free(s);
    mk_table_free(t);
}

static void test_table_machine(void)
{
    mk_table *t = sample_table();
    char *s = render(t, MK_FMT_TSV);
    CHECK_STR(s, "name\tcount\ttotal\tsize\tratio\tshare\ttime\n"
                 "alpha\t-5\t12\t1536\t0.5\t0.25\t1500000\n"
                 "b,\"q\"\t-9223372036854775808\t18446744073709551615\t0\t1e+20\t1\t0\n"
                 "\t\t0\t\tnan\t\t3723000000000\n");
    free(s);

    s = render(t, MK_FMT_CSV);
    CHECK_STR(s, "name,count,total,size,ratio,share,time\n"
                 "alpha,-5,12,1536,0.5,0.25,1500000\n"
                 "\"b,\"\"q\"\"\",-9223372036854775808,18446744073709551615,0,1e+20,1,0\n"
                 ",,0,,nan,,3723000000000\n");
    free(s);

    const char *row1 = "{\"name\":\"alpha\",\"count\":-5,\"total\":12,\"size\":1536,\"ratio\":0.5,"
                       "\"share\":0.25,\"time\":1500000}";
    const char *row2 = "{\"name\":\"b,\\\"q\\\"\",\"count\":-9223372036854775808,"
                       "\"total\":18446744073709551615,\"size\":0,\"ratio\":1e+20,\"share\":1,\"time\":0}";
    const char *row3 = "{\"name\":null,\"count\":null,\"total\":0,\"size\":null,\"ratio\":null,"
                       "\"share\":null,\"time\":3723000000000}";
    char want[2048];
    snprintf(want, sizeof want, "[\n%s,\n%s,\n%s\n]\n", row1, row2, row3);
    s = render(t, MK_FMT_JSON);
    CHECK_STR(s, want);
    free(s);
    snprintf(want, sizeof want, "%s\n%s\n%s\n", row1, row2, row3);
    s = render(t, MK_FMT_NDJSON);
    CHECK_STR(s, want);
    free(s);
    mk_table_free(t);

    /* No rows: a header alone, an empty JSON array, nothing for NDJSON. */
    t = mk_table_new();
    mk_table_col(t, "a", MK_COL_STR);
    mk_table_col(t, "b", MK_COL_UINT);
    s = render(t, MK_FMT_TEXT);
    CHECK_STR(s, "a  b\n");
    free(s);
    s = render(t, MK_FMT_CSV);
    CHECK_STR(s, "a,b\n");
    free(s);
    s = render(t, MK_FMT_TSV);
    CHECK_STR(s, "a\tb\n");
    free(s);
    s = render(t, MK_FMT_JSON);
    CHECK_STR(s, "[]\n");
    free(s);
    s = render(t, MK_FMT_NDJSON);
    CHECK_STR(s, "");
    free(s);
    mk_table_free(t);
}

/* Writing a table in pieces (widths gathered first) gives the very bytes
 * of writing it whole, in every format: pieces of 1 and 2 rows, then an
 * empty last piece; and a table with no rows as one empty last piece. */
static mk_table *sample_rows(size_t from, size_t to)
{
    mk_table *t = sample_table();
    mk_table *s = sample_table();   /* the source of rows: re-add rows [from, to) */
    mk_table_clear_rows(t);
    for (size_t r = from; r < to; r++) {
        mk_table_row(t);
        if (r == 0) {
            mk_table_cstr(t, 0, "alpha");
            mk_table_int(t, 1, -5);
            mk_table_uint(t, 2, 12);
            mk_table_uint(t, 3, 1536);
            mk_table_float(t, 4, 0.5);
            mk_table_float(t, 5, 0.25);
            mk_table_uint(t, 6, 1500000);
        } else if (r == 1) {
            mk_table_str(t, 0, "b,\"q\"", 5);
            mk_table_int(t, 1, INT64_MIN);
            mk_table_uint(t, 2, UINT64_MAX);
            mk_table_uint(t, 3, 0);
            mk_table_float(t, 4, 1e20);
            mk_table_float(t, 5, 1.0);
            mk_table_uint(t, 6, 0);
        } else {
            mk_table_uint(t, 2, 0);
            mk_table_float(t, 4, NAN);
            mk_table_uint(t, 6, 3723000000000ull);
        }
    }
    mk_table_free(s);
    return t;
}

static void test_table_pieces(void)
{
    mk_table *whole = sample_table();
    char path[512];
    snprintf(path, sizeof path, "%s/pieces.out", tmpdir);
    for (mk_format f = MK_FMT_TEXT; f <= MK_FMT_NDJSON; f++) {
        char *want = render(whole, f);
        mk_table *p1 = sample_rows(0, 1), *p2 = sample_rows(1, 3), *p3 = sample_rows(3, 3);
        size_t w[7] = { 0 };
        mk_table_widths(p1, w);
        mk_table_widths(p2, w);
        mk_out *o = mk_out_open(path);
        mk_table_pos pos = { .widths = w };
        mk_table_write_piece(p1, f, o, &pos, 0);
        mk_table_write_piece(p2, f, o, &pos, 0);
        mk_table_write_piece(p3, f, o, &pos, 1);
        CHECK_U64(pos.rows, 3);
        CHECK_INT(mk_out_close(o), 0);
        char *got = slurp(path, NULL);
        CHECK_STR(got, want);
        free(got);
        free(want);

        /* No rows at all. */
        want = render(p3, f);
        o = mk_out_open(path);
        mk_table_pos none = { 0 };
        mk_table_write_piece(p3, f, o, &none, 1);
        CHECK_INT(mk_out_close(o), 0);
        got = slurp(path, NULL);
        CHECK_STR(got, want);
        free(got);
        free(want);
        mk_table_free(p1);
        mk_table_free(p2);
        mk_table_free(p3);
    }
    unlink(path);
    mk_table_free(whole);
}

/* An empty string is a value, an unset cell is not; also when it is the
 * table's first string (no string storage yet: no memcpy to NULL, which
 * UBSan rejects even for 0 bytes). Last, because under
 * -fno-sanitize-recover a failure here ends the process. */
static void test_table_empty_string(void)
{
    mk_table *t = mk_table_new();
    mk_table_col(t, "a", MK_COL_STR);
    mk_table_col(t, "b", MK_COL_UINT);
    mk_table_row(t);
    mk_table_cstr(t, 0, "");
    mk_table_row(t);
    mk_table_str(t, 0, NULL, 0);
    char *s = NULL;
    CAPTURE(s, mk_table_write(t, MK_FMT_JSON, o));
    CHECK_STR(s, "[\n{\"a\":\"\",\"b\":null},\n{\"a\":\"\",\"b\":null}\n]\n");
    CAPTURE(s, mk_table_write(t, MK_FMT_CSV, o));
    CHECK_STR(s, "a,b\n,\n,\n");
    free(s);
    mk_table_free(t);
}

static void test_table_escaping(void)
{
    /* Awkward column names and values in every machine format. */
    mk_table *t = mk_table_new();
    mk_table_col(t, "we\"ird,name", MK_COL_STR);
    mk_table_col(t, "tab\tcol", MK_COL_STR);
    mk_table_row(t);
    mk_table_cstr(t, 0, "line1\nline2");
    mk_table_cstr(t, 1, "a\tb\\c\rd");
    mk_table_row(t);
    mk_table_cstr(t, 0, " spaced ");
    mk_table_cstr(t, 1, "semi;colon");

    char *s = render(t, MK_FMT_CSV);
    CHECK_STR(s, "\"we\"\"ird,name\",tab\tcol\n"
                 "\"line1\nline2\",\"a\tb\\c\rd\"\n"
                 " spaced ,semi;colon\n");
    free(s);
    s = render(t, MK_FMT_TSV);
    CHECK_STR(s, "we\"ird,name\ttab\\tcol\n"
                 "line1\\nline2\ta\\tb\\\\c\\rd\n"
                 " spaced \tsemi;colon\n");
    free(s);
    s = render(t, MK_FMT_NDJSON);
    CHECK_STR(s, "{\"we\\\"ird,name\":\"line1\\nline2\",\"tab\\tcol\":\"a\\tb\\\\c\\rd\"}\n"
                 "{\"we\\\"ird,name\":\" spaced \",\"tab\\tcol\":\"semi;colon\"}\n");
    free(s);
    mk_table_free(t);

    /* JSON has no NaN or infinity: null, in FLOAT and RATIO columns. */
    t = mk_table_new();
    mk_table_col(t, "f", MK_COL_FLOAT);
    mk_table_col(t, "r", MK_COL_RATIO);
    double v[] = { NAN, INFINITY, -INFINITY, -0.0, 0.1, 1e-7 };
    for (int i = 0; i < 6; i++) {
        mk_table_row(t);
        mk_table_float(t, 0, v[i]);
        mk_table_float(t, 1, v[5 - i]);
    }
    s = render(t, MK_FMT_NDJSON);
    CHECK_STR(s, "{\"f\":null,\"r\":1e-07}\n"
                 "{\"f\":null,\"r\":0.1}\n"
                 "{\"f\":null,\"r\":-0}\n"
                 "{\"f\":-0,\"r\":null}\n"
                 "{\"f\":0.1,\"r\":null}\n"
                 "{\"f\":1e-07,\"r\":null}\n");
    free(s);
    s = render(t, MK_FMT_CSV);
    CHECK_STR(s, "f,r\nnan,1e-07\ninf,0.1\n-inf,-0\n-0,-inf\n0.1,inf\n1e-07,nan\n");
    free(s);
    mk_table_free(t);
}

/* ---- CSV fields and JSON strings ------------------------------------------ */

static void test_csv_field(void)
{
    char *s = NULL;
    CAPTURE(s, mk_out_csv_field(o, "plain", 5, ','));
    CHECK_STR(s, "plain");
    CAPTURE(s, mk_out_csv_field(o, "", 0, ','));
    CHECK_STR(s, "");
    CAPTURE(s, mk_out_csv_field(o, "a,b", 3, ','));
    CHECK_STR(s, "\"a,b\"");
    CAPTURE(s, mk_out_csv_field(o, "a;b", 3, ','));
    CHECK_STR(s, "a;b");
    CAPTURE(s, mk_out_csv_field(o, "a;b", 3, ';'));
    CHECK_STR(s, "\"a;b\"");
    CAPTURE(s, mk_out_csv_field(o, "say \"hi\"", 8, ','));
    CHECK_STR(s, "\"say \"\"hi\"\"\"");
    CAPTURE(s, mk_out_csv_field(o, "\"", 1, ','));
    CHECK_STR(s, "\"\"\"\"");
    CAPTURE(s, mk_out_csv_field(o, "cr\r", 3, ','));
    CHECK_STR(s, "\"cr\r\"");
    CAPTURE(s, mk_out_csv_field(o, "l1\nl2", 5, ','));
    CHECK_STR(s, "\"l1\nl2\"");
    CAPTURE(s, mk_out_csv_field(o, "a,bXX", 3, ','));   /* only n bytes */
    CHECK_STR(s, "\"a,b\"");
    free(s);
}

static char *json(const char *p, size_t n)
{
    char *s = NULL;
    CAPTURE(s, mk_out_json_str(o, p, n));
    return s;
}

static void test_json_str_fixed(void)
{
    char *s;
    s = json("", 0);
    CHECK_STR(s, "\"\"");
    free(s);
    s = json("plain text", 10);
    CHECK_STR(s, "\"plain text\"");
    free(s);
    s = json("q\"b\\s/", 6);
    CHECK_STR(s, "\"q\\\"b\\\\s/\"");
    free(s);
    s = json("\n\r\t\b\f\x01\x1f\x7f", 8);
    /* \b and \f may be short or \u escapes; both are valid JSON. */
    CHECK(strcmp(s, "\"\\n\\r\\t\\u0008\\u000c\\u0001\\u001f\x7f\"") == 0 ||
          strcmp(s, "\"\\n\\r\\t\\b\\f\\u0001\\u001f\x7f\"") == 0);
    if (unit_cur_failed)
        printf("# got %s\n", s);
    free(s);
    s = json("nul\0in", 6);
    CHECK_STR(s, "\"nul\\u0000in\"");
    free(s);
    /* Valid UTF-8 is kept: 2, 3 and 4 bytes. */
    s = json("\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", 11);
    CHECK_STR(s, "\"\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"");
    free(s);
    /* Invalid bytes become U+FFFD, one per byte. */
    s = json("a\xFF" "b", 3);
    CHECK_STR(s, "\"a\\ufffdb\"");
    free(s);
    s = json("\xC3", 1);                         /* truncated sequence */
    CHECK_STR(s, "\"\\ufffd\"");
    free(s);
    s = json("\xC0\xAF", 2);                     /* overlong '/' */
    CHECK_STR(s, "\"\\ufffd\\ufffd\"");
    free(s);
    s = json("\xED\xA0\x80", 3);                 /* a UTF-16 surrogate */
    CHECK_STR(s, "\"\\ufffd\\ufffd\\ufffd\"");
    free(s);
    s = json("\xF4\x90\x80\x80", 4);             /* above U+10FFFF */
    CHECK_STR(s, "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
    free(s);
    s = json("\xE2\x82" "x", 3);                 /* cut short by ASCII */
    CHECK_STR(s, "\"\\ufffd\\ufffdx\"");
    free(s);
}

/* Strict reference: length of the valid UTF-8 sequence at p, or 0. */
static size_t ref_utf8(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t len;
    uint32_t cp, min;
    if (c < 0x80)
        return 1;
    else if (c >= 0xC0 && c < 0xE0)
        len = 2, cp = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c < 0xF0)
        len = 3, cp = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c < 0xF8)
        len = 4, cp = c & 0x07, min = 0x10000;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static size_t put_utf8(unsigned char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decodes one JSON string (RFC 8259) spanning all of s[0..n): valid UTF-8,
 * no raw control characters, only the standard escapes. Returns the decoded
 * length, or -1 when s is not exactly one valid JSON string. */
static long json_decode(const char *s, size_t n, unsigned char *out)
{
    const unsigned char *p = (const unsigned char *)s;
    if (n < 2 || p[0] != '"' || p[n - 1] != '"')
        return -1;
    size_t i = 1, o = 0;
    while (i < n - 1) {
        unsigned c = p[i];
        if (c < 0x20)
            return -1;
        if (c == '"')
            return -1;
        if (c != '\\') {
            size_t len = ref_utf8(p + i, n - 1 - i);
            if (!len)
                return -1;
            memcpy(out + o, p + i, len);
            o += len;
            i += len;
            continue;
        }
        if (i + 1 >= n - 1)
            return -1;
        char e = (char)p[i + 1];
        const char *simple = strchr("\"\\/bfnrt", e);
        if (e && simple) {
            out[o++] = (unsigned char)"\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
            i += 2;
            continue;
        }
        if (e != 'u' || i + 6 > n - 1)
            return -1;
        uint32_t cp = 0;
        for (int k = 0; k < 4; k++) {
            int h = hexval((char)p[i + 2 + k]);
            if (h < 0)
                return -1;
            cp = cp << 4 | (uint32_t)h;
        }
        i += 6;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (i + 6 > n - 1 || p[i] != '\\' || p[i + 1] != 'u')
                return -1;
            uint32_t lo = 0;
            for (int k = 0; k < 4; k++) {
                int h = hexval((char)p[i + 2 + k]);
                if (h < 0)
                    return -1;
                lo = lo << 4 | (uint32_t)h;
            }
            if (lo < 0xDC00 || lo > 0xDFFF)
                return -1;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return -1;
        }
        o += put_utf8(out + o, cp);
    }
    return (long)o;
}

static void test_json_str_random(void)
{
    int bad = 0;
    unsigned char in[300], want[1000], got[2000];
    for (int round = 0; round < 5000; round++) {
        size_t n = rnd() % (round % 50 == 0 ? 300 : 24);
        for (size_t i = 0; i < n; i++) {
            uint64_t r = rnd();
            switch (r % 8) {
            case 0: in[i] = (unsigned char)(r >> 8); break;               /* any byte */
            case 1: in[i] = (unsigned char)(0x80 | ((r >> 8) & 0x3F)); break; /* continuation */
            case 2: in[i] = (unsigned char)(0xC0 | ((r >> 8) & 0x3F)); break; /* lead bytes */
            case 3: in[i] = "\"\\\n\t\x01\x1f/"[(r >> 8) % 7]; break;
            default: {
                /* A whole valid character of a random length. */
                uint32_t cp;
                switch ((r >> 8) % 4) {
                case 0: cp = 0x20 + (uint32_t)((r >> 16) % 0x5F); break;
                case 1: cp = 0x80 + (uint32_t)((r >> 16) % 0x780); break;
                case 2: cp = 0x800 + (uint32_t)((r >> 16) % 0xF800); break;
                default: cp = 0x10000 + (uint32_t)((r >> 16) % 0x100000); break;
                }
                if (cp >= 0xD800 && cp <= 0xDFFF)
                    cp = 0xE000;
                unsigned char tmp[4];
                size_t l = put_utf8(tmp, cp);
                for (size_t k = 0; k < l && i < n; k++)
                    in[i++] = tmp[k];
                i--;
            }
            }
        }
        /* Expected: valid sequences kept, every other byte U+FFFD. */
        size_t wn = 0;
        for (size_t i = 0; i < n;) {
            size_t l = ref_utf8(in + i, n - i);
            if (l) {
                memcpy(want + wn, in + i, l);
                wn += l;
                i += l;
            } else {
                memcpy(want + wn, "\xEF\xBF\xBD", 3);
                wn += 3;
                i++;
            }
        }
        char *s;
        size_t sn = 0;
        capture_begin();
        mk_out *o = mk_out_open("-");
        mk_out_json_str(o, (const char *)in, n);
        mk_out_close(o);
        s = capture_end(&sn);
        long gl = json_decode(s, sn, got);
        if (gl < 0 || (size_t)gl != wn || memcmp(got, want, wn) != 0) {
            if (bad++ < 5) {
                printf("# input:");
                for (size_t i = 0; i < n; i++)
                    printf(" %02x", in[i]);
                printf("\n# output: %s (%s)\n", s, gl < 0 ? "not a valid JSON string" : "decodes wrong");
            }
        }
        free(s);
    }
    CHECK_INT(bad, 0);
}

/* ---- the writer ----------------------------------------------------------- */

static void test_numbers(void)
{
    char *s = NULL;
    CAPTURE(s, mk_out_u64(o, 0));
    CHECK_STR(s, "0");
    CAPTURE(s, mk_out_u64(o, 9); mk_out_char(o, ' '); mk_out_u64(o, 10));
    CHECK_STR(s, "9 10");
    CAPTURE(s, mk_out_u64(o, UINT64_MAX));
    CHECK_STR(s, "18446744073709551615");
    CAPTURE(s, mk_out_i64(o, INT64_MIN));
    CHECK_STR(s, "-9223372036854775808");
    CAPTURE(s, mk_out_i64(o, INT64_MAX));
    CHECK_STR(s, "9223372036854775807");
    CAPTURE(s, mk_out_i64(o, -1); mk_out_i64(o, 0); mk_out_i64(o, 1));
    CHECK_STR(s, "-101");
    CAPTURE(s, mk_out_double(o, 0.1); mk_out_char(o, ' '); mk_out_double(o, 1e20);
            mk_out_char(o, ' '); mk_out_double(o, -0.0); mk_out_char(o, ' ');
            mk_out_double(o, NAN); mk_out_char(o, ' '); mk_out_double(o, 3));
    CHECK_STR(s, "0.1 1e+20 -0 nan 3");
    CAPTURE(s, mk_out_printf(o, "%s=%d", "x", 42); mk_out_str(o, "!"));
    CHECK_STR(s, "x=42!");
    free(s);
}

/* mk_out_hex_double writes what printf's %a does, for special values and
 * random bit patterns of every kind (normal, subnormal, inf, nan). */
static void test_hex_double(void)
{
    static const double fixed[] = { 0.0, -0.0, 1.0, -1.0, 0.5, 3.0, 0.1, 1e300, 1e-300,
                                     DBL_MAX, DBL_MIN, 4.9406564584124654e-324, INFINITY,
                                     -INFINITY, 356.763, 1980.3026499999999 };
    char *s = NULL;
    char want[64];
    int bad = 0;
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed + 20000; i++) {
        double v;
        if (i < sizeof fixed / sizeof *fixed) {
            v = fixed[i];
        } else {
            uint64_t b = rnd();
            if (i % 4 == 0)
                b &= ~(0x7ffull << 52);          /* subnormal or zero */
            if (i % 7 == 0)
                b &= ~((1ull << (rnd() % 52)) - 1);   /* trailing zero digits */
            memcpy(&v, &b, 8);
        }
        CAPTURE(s, mk_out_hex_double(o, v));
        snprintf(want, sizeof want, "%a", v);
        if (strcmp(s, want) != 0 && bad++ < 5)
            printf("# %s, want %s\n", s, want);
    }
    CHECK_INT(bad, 0);
    free(s);
}

static void test_format_names(void)
{
    static const char *const names[] = { "text", "tsv", "csv", "json", "ndjson" };
    for (int i = 0; i < 5; i++) {
        mk_format f = (mk_format)-1;
        CHECK_INT(mk_format_parse(names[i], &f), 0);
        CHECK_INT(f, i);
        CHECK_STR(mk_format_name((mk_format)i), names[i]);
    }
    mk_format f = MK_FMT_CSV;
    CHECK_INT(mk_format_parse("xml", &f), -1);
    CHECK_STR(mk_err_msg(), "unknown format 'xml' (expected text|tsv|csv|json|ndjson)");
    CHECK_INT(f, MK_FMT_CSV);
    CHECK_INT(mk_format_parse("JSON", &f), -1);
    CHECK_INT(mk_format_parse("", &f), -1);
}

static void test_atomic(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/report.csv", tmpdir);
    mode_t old = umask(022);
    CHECK_INT(dir_entries(), 0);
    mk_out *o = mk_out_open(path);
    CHECK(o != NULL);
    mk_out_str(o, "hello\n");
    CHECK_INT(mk_out_flush(o), 0);
    /* Written so far into PATH.tmp.XXXXXX, not PATH. */
    CHECK(!exists(path));
    CHECK_INT(dir_entries(), 1);
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    int tmp_named = 0;
    while ((e = readdir(d)))
        tmp_named |= strncmp(e->d_name, "report.csv.tmp.", 15) == 0 && strlen(e->d_name) == 21;
    closedir(d);
    CHECK(tmp_named);
    CHECK_U64(mk_out_bytes(o), 6);
    CHECK_INT(mk_out_close(o), 0);
    CHECK(exists(path));
    CHECK_INT(dir_entries(), 1);
    char *s = slurp(path, NULL);
    CHECK_STR(s, "hello\n");
    free(s);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644);

    /* Replacing an existing file: the old content stays until the close. */
    o = mk_out_open(path);
    mk_out_str(o, "new content\n");
    mk_out_flush(o);
    s = slurp(path, NULL);
    CHECK_STR(s, "hello\n");
    free(s);
    CHECK_INT(mk_out_close(o), 0);
    s = slurp(path, NULL);
    CHECK_STR(s, "new content\n");
    free(s);

    /* Discard: neither the target nor a temporary file is left. */
    unlink(path);
    o = mk_out_open(path);
    mk_out_str(o, "abandoned");
    mk_out_flush(o);
    CHECK_INT(dir_entries(), 1);
    mk_out_discard(o);
    CHECK(!exists(path));
    CHECK_INT(dir_entries(), 0);
    /* Discarding a replacement keeps the old file. */
    FILE *f = fopen(path, "w");
    fputs("keep\n", f);
    fclose(f);
    o = mk_out_open(path);
    mk_out_str(o, "lost");
    mk_out_discard(o);
    s = slurp(path, NULL);
    CHECK_STR(s, "keep\n");
    free(s);
    CHECK_INT(dir_entries(), 1);
    unlink(path);

    /* Many outputs open at once, all committed. */
    mk_out *many[10];
    for (int i = 0; i < 10; i++) {
        snprintf(path, sizeof path, "%s/m%d", tmpdir, i);
        many[i] = mk_out_open(path);
        CHECK(many[i] != NULL);
        if (many[i])
            mk_out_printf(many[i], "%d", i);
    }
    for (int i = 0; i < 10; i++) {
        if (!many[i])
            continue;
        CHECK_INT(mk_out_close(many[i]), 0);
        snprintf(path, sizeof path, "%s/m%d", tmpdir, i);
        s = slurp(path, NULL);
        char w[16];
        snprintf(w, sizeof w, "%d", i);
        CHECK_STR(s, w);
        free(s);
        unlink(path);
    }
    CHECK_INT(dir_entries(), 0);
    umask(old);
}

static void test_open_errors(void)
{
    char path[512], want[700];
    snprintf(path, sizeof path, "%s/no/such/dir/out.csv", tmpdir);
    mk_err_set("%s", "");
    CHECK(mk_out_open(path) == NULL);
    snprintf(want, sizeof want, "%s: cannot create output file: %s", path, strerror(ENOENT));
    CHECK_STR(mk_err_msg(), want);
    CHECK_INT(dir_entries(), 0);

    /* The target is a directory: the rename fails at close, nothing left over. */
    snprintf(path, sizeof path, "%s/adir", tmpdir);
    mkdir(path, 0755);
    mk_out *o = mk_out_open(path);
    CHECK(o != NULL);
    mk_out_str(o, "x");
    CHECK_INT(mk_out_close(o), -1);
    CHECK_CONTAINS(mk_err_msg(), "adir: cannot rename output file: ");
    CHECK_INT(dir_entries(), 1);
    rmdir(path);
}

/* A write error on stdout (a full disk) is reported once, at close. */
static void test_write_error(void)
{
    int full = open("/dev/full", O_WRONLY);
    if (full < 0) {
        printf("# no /dev/full: skipped\n");
        return;
    }
    fflush(stdout);
    int saved = dup(1);
    dup2(full, 1);
    close(full);
    mk_out *o = mk_out_open("-");
    char big[100000];
    memset(big, 'z', sizeof big);
    mk_out_write(o, big, sizeof big);
    mk_out_str(o, "more");
    int rc = mk_out_close(o);
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", mk_err_msg());
    dup2(saved, 1);
    close(saved);
    CHECK_INT(rc, -1);
    char want[256];
    snprintf(want, sizeof want, "<stdout>: write error: %s", strerror(ENOSPC));
    CHECK_STR(msg, want);
}

static void test_big_writes(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/big.out", tmpdir);
    size_t cap = 3 << 20, n = 0;
    char *want = malloc(cap);
    mk_out *o = mk_out_open(path);
    /* Every write size, from 1 byte to 300 KiB, through every path. */
    while (n < cap - 400000) {
        size_t k;
        switch (rnd() % 6) {
        case 0: k = 1; break;
        case 1: k = rnd() % 100; break;
        case 2: k = 32 * 1024 + rnd() % 64; break;    /* around half the buffer */
        case 3: k = 64 * 1024 - 1 + rnd() % 3; break; /* around the buffer */
        case 4: k = 65537 + rnd() % 300000; break;
        default: k = rnd() % 5000; break;
        }
        for (size_t i = 0; i < k; i++)
            want[n + i] = (char)('a' + (n + i) % 23);
        if (k == 1)
            mk_out_char(o, want[n]);
        else
            mk_out_write(o, want + n, k);
        n += k;
    }
    /* printf longer than its 512-byte fast path. */
    char fmtarg[3000];
    memset(fmtarg, 'P', sizeof fmtarg - 1);
    fmtarg[sizeof fmtarg - 1] = 0;
    mk_out_printf(o, "<%s>", fmtarg);
    want[n++] = '<';
    memcpy(want + n, fmtarg, sizeof fmtarg - 1);
    n += sizeof fmtarg - 1;
    want[n++] = '>';
    CHECK_U64(mk_out_bytes(o), n);
    CHECK_INT(mk_out_close(o), 0);
    size_t got_n = 0;
    char *got = slurp(path, &got_n);
    CHECK_U64(got_n, n);
    CHECK(got && got_n == n && memcmp(got, want, n) == 0);
    free(got);
    free(want);
    unlink(path);

    /* A big table renders intact too. */
    mk_table *t = mk_table_new();
    mk_table_col(t, "i", MK_COL_UINT);
    mk_table_col(t, "s", MK_COL_STR);
    for (int i = 0; i < 20000; i++) {
        char b[64];
        mk_table_row(t);
        mk_table_uint(t, 0, (uint64_t)i);
        int k = snprintf(b, sizeof b, "row %d, \"quoted\"", i);
        mk_table_str(t, 1, b, (size_t)k);
    }
    char *s = render(t, MK_FMT_CSV);
    size_t lines = 0;
    for (char *p = s; *p; p++)
        lines += *p == '\n';
    CHECK_U64(lines, 20001);
    CHECK(strstr(s, "\n19999,\"row 19999, \"\"quoted\"\"\"\n") != NULL);
    const char *head = "i,s\n0,\"row 0, \"\"quoted\"\"\"\n";
    CHECK(strncmp(s, head, strlen(head)) == 0);
    free(s);
    mk_table_free(t);
}

/* An interrupted run leaves no half-written file: the temporary file is
 * removed on SIGTERM and at exit without close. */
static void test_interrupted(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/killed.csv", tmpdir);
    for (int how = 0; how < 3; how++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            /* Static: still reachable at exit, so LeakSanitizer stays quiet. */
            static mk_out *o;
            o = mk_out_open(path);
            if (!o)
                _exit(3);
            for (int i = 0; i < 20000; i++)
                mk_out_str(o, "partial,row\n");
            mk_out_flush(o);
            if (how == 0)
                kill(getpid(), SIGTERM);
            else if (how == 1)
                kill(getpid(), SIGINT);
            exit(0);   /* atexit handlers run */
        }
        int st = 0;
        waitpid(pid, &st, 0);
        if (how == 0)
            CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
        else if (how == 1)
            CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGINT);
        else
            CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        CHECK(!exists(path));
        CHECK_INT(dir_entries(), 0);
    }
}

int main(void)
{
    /* A shell starts background jobs with SIGINT ignored, and mk_out leaves
     * an ignored signal alone (as nohup asks): test_interrupted needs it
     * caught, wherever the suite was started from. */
    signal(SIGINT, SIG_DFL);
    make_tmpdir();
    RUN(test_table_text);
    RUN(test_table_text_utf8);
    RUN(test_table_machine);
    RUN(test_table_pieces);
    RUN(test_table_escaping);
    RUN(test_csv_field);
    RUN(test_json_str_fixed);
    RUN(test_json_str_random);
    RUN(test_numbers);
    RUN(test_hex_double);
    RUN(test_format_names);
    RUN(test_atomic);
    RUN(test_open_errors);
    RUN(test_write_error);
    RUN(test_big_writes);
    RUN(test_interrupted);
    rmdir(tmpdir);
    RUN(test_table_empty_string);   /* needs no files: may abort under UBSan */
    return DONE();
}
