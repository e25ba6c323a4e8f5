/* Unit tests for lib/fields: blank and TSV splitting, RFC 4180 CSV records
 * (quotes, doubled quotes, separators and newlines inside quotes, CRLF,
 * empty and trailing fields, other separators, more fields than the array,
 * each error with its position and reason), mk_field_unquote, and the header
 * helpers. 10^4 random valid records are checked against the values they
 * were generated from, and 10^4 random (often malformed) strings against a
 * small reference parser written here. Inputs live in exact-size heap copies
 * so ASan reports any read past the end. */
#include <stdint.h>
#include <stdlib.h>

#include "fields.h"
#include "out.h"
#include "unit.h"

UNIT_RNG(0x853c49e6748fea9bu)

static char *exact(const char *s, size_t n)
{
    char *p = malloc(n ? n : 1);
    if (n)
        memcpy(p, s, n);
    return p;
}

/* ---- blank and TSV -------------------------------------------------------- */

static size_t blank(const char *s, mk_field *f, size_t max)
{
    char *c = exact(s, strlen(s));
    size_t n = mk_split_blank(c, strlen(s), f, max);
    /* Slices point into the copy: rebase them onto s before freeing it. */
    for (size_t i = 0; i < n && i < max; i++)
        f[i].ptr = s + (f[i].ptr - c);
    free(c);
    return n;
}

static size_t tsv(const char *s, mk_field *f, size_t max)
{
    char *c = exact(s, strlen(s));
    size_t n = mk_split_tsv(c, strlen(s), f, max);
    for (size_t i = 0; i < n && i < max; i++)
        f[i].ptr = s + (f[i].ptr - c);
    free(c);
    return n;
}

static void test_blank(void)
{
    mk_field f[8];
    CHECK_U64(blank("", f, 8), 0);
    CHECK_U64(blank("   \t  ", f, 8), 0);
    CHECK_U64(blank("one", f, 8), 1);
    CHECK_MEM(f[0].ptr, f[0].len, "one");
    CHECK_INT(f[0].flags, 0);
    const char *s = "  + 12\t\t0x7f  site.c:42 \t";
    CHECK_U64(blank(s, f, 8), 4);
    CHECK_MEM(f[0].ptr, f[0].len, "+");
    CHECK_MEM(f[1].ptr, f[1].len, "12");
    CHECK_MEM(f[2].ptr, f[2].len, "0x7f");
    CHECK_MEM(f[3].ptr, f[3].len, "site.c:42");
    CHECK(f[0].ptr == s + 2);
    /* Only spaces and tabs separate: CR, LF and others are token bytes. */
    CHECK_U64(blank("a\rb c\nd\ve", f, 8), 2);
    CHECK_MEM(f[0].ptr, f[0].len, "a\rb");
    CHECK_MEM(f[1].ptr, f[1].len, "c\nd\ve");
    /* More tokens than room: the count is still right, only max filled. */
    mk_field g[3];
    g[2].len = 777;
    CHECK_U64(blank("a b c d e f", g, 2), 6);
    CHECK_MEM(g[0].ptr, g[0].len, "a");
    CHECK_MEM(g[1].ptr, g[1].len, "b");
    CHECK_U64(g[2].len, 777);
    CHECK_U64(mk_split_blank("x y", 3, NULL, 0), 2);
}

/* Random lines of spaces, tabs, bytes next to them in value (space + 1,
 * tab + 1, NUL, 0xa0, 0x89) and letters, at every offset and length, against
 * a byte-at-a-time split: the eight-at-a-time search must find the same. */
static void test_blank_random(void)
{
    static const char alpha[] = { ' ', '\t', '!', '\n', 0, (char)0xa0, (char)0x89, 'a', 'b', 'x' };
    for (int round = 0; round < 20000; round++) {
        size_t n = (size_t)(rnd() % 70);
        char *p = malloc(n + 1);
        for (size_t i = 0; i < n; i++)
            p[i] = alpha[rnd() % (round % 2 ? 10 : 3)];
        mk_field f[80], g[80];
        size_t nf = mk_split_blank(p, n, f, 80), ng = 0, i = 0;
        while (i < n) {
            while (i < n && (p[i] == ' ' || p[i] == '\t'))
                i++;
            if (i == n)
                break;
            size_t st = i;
            while (i < n && p[i] != ' ' && p[i] != '\t')
                i++;
            g[ng++] = (mk_field){ p + st, (uint32_t)(i - st), 0 };
        }
        CHECK_U64(nf, ng);
        for (size_t k = 0; k < nf && k < ng; k++)
            CHECK(f[k].ptr == g[k].ptr && f[k].len == g[k].len);
        free(p);
        if (unit_cur_failed)
            break;
    }
}

static void test_tsv(void)
{
    mk_field f[8];
    CHECK_U64(tsv("", f, 8), 1);
    CHECK_U64(f[0].len, 0);
    CHECK_U64(tsv("abc", f, 8), 1);
    CHECK_MEM(f[0].ptr, f[0].len, "abc");
    CHECK_U64(tsv("a\tb", f, 8), 2);
    CHECK_MEM(f[1].ptr, f[1].len, "b");
    CHECK_U64(tsv("\t", f, 8), 2);
    CHECK_U64(f[0].len, 0);
    CHECK_U64(f[1].len, 0);
    CHECK_U64(tsv("\ta\t\tb c\t", f, 8), 5);
    CHECK_MEM(f[0].ptr, f[0].len, "");
    CHECK_MEM(f[1].ptr, f[1].len, "a");
    CHECK_MEM(f[2].ptr, f[2].len, "");
    CHECK_MEM(f[3].ptr, f[3].len, "b c");   /* spaces are data */
    CHECK_MEM(f[4].ptr, f[4].len, "");
    /* No quoting in TSV: quotes are data. */
    CHECK_U64(tsv("\"a\tb\"", f, 8), 2);
    CHECK_MEM(f[0].ptr, f[0].len, "\"a");
    CHECK_INT(f[0].flags, 0);
    mk_field g[3];
    g[2].len = 777;
    CHECK_U64(tsv("1\t2\t3\t4\t\t", g, 2), 6);
    CHECK_MEM(g[1].ptr, g[1].len, "2");
    CHECK_U64(g[2].len, 777);
    CHECK_U64(mk_split_tsv("\t\t\t", 3, NULL, 0), 4);
}

/* Unescaping undoes what mk_out_tsv_field writes, for every byte value. */
static void test_tsv_unescape(void)
{
    char b[64] = "a\\tb\\\\c\\nd\\re\\x\\";
    size_t n = mk_tsv_unescape(b, strlen(b));
    CHECK_MEM(b, n, "a\tb\\c\nd\rex\\");
    char raw[256], esc[600];
    for (int i = 0; i < 256; i++)
        raw[i] = (char)i;
    char path[] = "/tmp/mk_test_fields_XXXXXX";
    int fd = mkstemp(path);
    mk_out *o = mk_out_open_fd(fd, path);
    mk_out_tsv_field(o, raw, 256);
    CHECK_INT(mk_out_close(o), 0);
    ssize_t r = pread(fd, esc, sizeof esc, 0);
    close(fd);
    unlink(path);
    CHECK(r > 256 && memchr(esc, '\t', (size_t)r) == NULL && memchr(esc, '\n', (size_t)r) == NULL);
    n = mk_tsv_unescape(esc, (size_t)r);
    CHECK_U64(n, 256);
    CHECK(memcmp(esc, raw, 256) == 0);
}

/* ---- CSV by hand ---------------------------------------------------------- */

typedef struct {
    int rc;
    size_t nf, newlines, next;      /* next as an offset */
    size_t err_at;                  /* offset */
    const char *why;
    mk_field f[16];
    size_t off[16];                 /* field ptr offsets */
    char val[16][256];              /* unquoted values */
} csv_out;

/* Parses the first record of s[0..n) (an exact heap copy) with room for max
 * fields. */
static csv_out csv(const char *s, size_t n, char sep, size_t max)
{
    csv_out o;
    memset(&o, 0, sizeof o);
    char *c = exact(s, n);
    mk_field f[17];
    for (int i = 0; i < 17; i++)
        f[i] = (mk_field){ NULL, 0xdead, 0xbeef };
    mk_csv_result r;
    memset(&r, 0, sizeof r);
    o.rc = mk_csv_record(c, c + n, sep, f, max, &r);
    if (o.rc == 0) {
        o.nf = r.nf;
        o.newlines = r.newlines;
        o.next = (size_t)(r.next - c);
        for (size_t i = 0; i < 16 && i < r.nf && i < max; i++) {
            o.f[i] = f[i];
            o.off[i] = (size_t)(f[i].ptr - c);
            if (f[i].len < 256) {
                size_t k = mk_field_unquote(&f[i], o.val[i]);
                o.val[i][k] = 0;
            }
        }
        /* Nothing beyond max was written. */
        if (max < 17 && (f[max].ptr != NULL || f[max].len != 0xdead || f[max].flags != 0xbeef))
            o.rc = 99;
    } else {
        o.err_at = (size_t)(r.err_at - c);
        o.why = r.why;
    }
    free(c);
    return o;
}

#define S(lit) lit, sizeof(lit) - 1

static void test_csv_basic(void)
{
    csv_out o = csv(S("a,b,c\nnext"), ',', 16);
    CHECK_INT(o.rc, 0);
    CHECK_U64(o.nf, 3);
    CHECK_U64(o.next, 6);
    CHECK_U64(o.newlines, 1);
    CHECK_STR(o.val[0], "a");
    CHECK_STR(o.val[1], "b");
    CHECK_STR(o.val[2], "c");
    CHECK_U64(o.off[1], 2);
    CHECK_INT(o.f[0].flags, 0);

    /* Last record without a newline. */
    o = csv(S("last,one"), ',', 16);
    CHECK_INT(o.rc, 0);
    CHECK_U64(o.nf, 2);
    CHECK_U64(o.next, 8);
    CHECK_U64(o.newlines, 0);
    CHECK_STR(o.val[1], "one");

    /* Empty fields, an empty record, trailing separators. */
    o = csv(S(",,\n"), ',', 16);
    CHECK_U64(o.nf, 3);
    CHECK(o.f[0].len == 0 && o.f[1].len == 0 && o.f[2].len == 0);
    o = csv(S("\nx"), ',', 16);
    CHECK_INT(o.rc, 0);
    CHECK_U64(o.nf, 1);
    CHECK_U64(o.f[0].len, 0);
    CHECK_U64(o.next, 1);
    o = csv(S("a,"), ',', 16);
    CHECK_U64(o.nf, 2);
    CHECK_STR(o.val[0], "a");
    CHECK_U64(o.f[1].len, 0);
    CHECK_U64(o.next, 2);
    o = csv(S("a,\n"), ',', 16);
    CHECK_U64(o.nf, 2);
    CHECK_U64(o.f[1].len, 0);
    o = csv(S("\"q\","), ',', 16);
    CHECK_INT(o.rc, 0);
    CHECK_U64(o.nf, 2);
    CHECK_STR(o.val[0], "q");
    CHECK_U64(o.f[1].len, 0);
    o = csv(S("\"q\",\n"), ',', 16);
    CHECK_U64(o.nf, 2);
    CHECK_U64(o.next, 5);
    o = csv(S(","), ',', 16);
    CHECK_U64(o.nf, 2);
    CHECK_U64(o.next, 1);

    /* CRLF: the CR belongs to neither field nor record data. */
    o = csv(S("a,b\r\nc"), ',', 16);
    CHECK_U64(o.nf, 2);
    CHECK_STR(o.val[1], "b");
    CHECK_U64(o.f[1].len, 1);
    CHECK_U64(o.next, 5);
    CHECK_U64(o.newlines, 1);
    o = csv(S("a,\r\n"), ',', 16);
    CHECK_U64(o.nf, 2);
    CHECK_U64(o.f[1].len, 0);
    o = csv(S("\r\n"), ',', 16);
    CHECK_U64(o.nf, 1);
    CHECK_U64(o.f[0].len, 0);
    o = csv(S("\"x\"\r\ny"), ',', 16);
    CHECK_INT(o.rc, 0);
    CHECK_U64(o.nf, 1);
    CHECK_STR(o.val[0], "x");
    CHECK_U64(o.next, 5);
    CHECK_U64(o.newlines, 1);
    /* A CR that does not end the line is data. */
    o = csv(S("a\rb,c\n"), ',', 16);
    CHECK_STR(o.val[0], "a\rb");
    o = csv(S("a\r,b\r\n"), ',', 16);   /* only the CR of the CRLF goes */
    CHECK_STR(o.val[0], "a\r");
    CHECK_STR(o.val[1], "b");

    /* Other separators. */
    o = csv(S("a;b,c;\"d;e\"\n"), ';', 16);
    CHECK_U64(o.nf, 3);
    CHECK_STR(o.val[0], "a");
    CHECK_STR(o.val[1], "b,c");
    CHECK_STR(o.val[2], "d;e");
    o = csv(S("a\tb,c\t\"d\te\"\t\n"), '\t', 16);
    CHECK_U64(o.nf, 4);
    CHECK_STR(o.val[1], "b,c");
    CHECK_STR(o.val[2], "d\te");
    CHECK_STR(o.val[3], "");

    /* Fields far apart: longer than the scanner's window. */
    char big[400];
    memset(big, 'x', sizeof big);
    big[130] = ',';
    big[131] = '"';
    memset(big + 132, ',', 100);
    big[232] = '"';
    big[233] = ',';
    big[399] = '\n';
    o = csv(big, sizeof big, ',', 16);
    CHECK_INT(o.rc, 0);
    CHECK_U64(o.nf, 3);
    CHECK_U64(o.f[0].len, 130);
    CHECK_U64(o.f[1].len, 100);
    CHECK_U64(o.off[1], 132);
    CHECK_U64(o.f[2].len, 165);
    CHECK_U64(o.next, 400);
}

static void test_csv_quoted(void)
{
    csv_out o = csv(S("\"a,b\",\"c\"\"d\",e\n"), ',', 16);
    CHECK_INT(o.rc, 0);
    CHECK_U64(o.nf, 3);
    CHECK_INT(o.f[0].flags, MK_FIELD_QUOTED);
    CHECK_U64(o.off[0], 1);         /* the slice excludes the outer quotes */
    CHECK_U64(o.f[0].len, 3);
    CHECK_STR(o.val[0], "a,b");
    CHECK_INT(o.f[1].flags, MK_FIELD_QUOTED | MK_FIELD_ESCAPED);
    CHECK_U64(o.f[1].len, 4);       /* c""d, still doubled */
    CHECK_STR(o.val[1], "c\"d");
    CHECK_INT(o.f[2].flags, 0);
    CHECK_STR(o.val[2], "e");
    CHECK_U64(o.next, 15);

    /* Newlines inside quotes are data and are counted. */
    o = csv(S("1,\"line1\nline2\r\nline3\",x\r\nrest"), ',', 16);
    CHECK_INT(o.rc, 0);
    CHECK_U64(o.nf, 3);
    CHECK_STR(o.val[1], "line1\nline2\r\nline3");
    CHECK_STR(o.val[2], "x");
    CHECK_U64(o.newlines, 3);
    CHECK_U64(o.next, 26);

    /* Empty quoted fields and quoted quotes. */
    o = csv(S("\"\",\"\"\"\",\"\"\"\"\"\"\n"), ',', 16);
    CHECK_INT(o.rc, 0);
    CHECK_U64(o.nf, 3);
    CHECK_INT(o.f[0].flags, MK_FIELD_QUOTED);
    CHECK_U64(o.f[0].len, 0);
    CHECK_INT(o.f[1].flags, MK_FIELD_QUOTED | MK_FIELD_ESCAPED);
    CHECK_STR(o.val[1], "\"");
    CHECK_STR(o.val[2], "\"\"");
    /* A quoted field at the very end of input. */
    o = csv(S("a,\"b\nc\""), ',', 16);
    CHECK_INT(o.rc, 0);
    CHECK_U64(o.nf, 2);
    CHECK_STR(o.val[1], "b\nc");
    CHECK_U64(o.newlines, 1);
    CHECK_U64(o.next, 7);
    /* A quoted separator only. */
    o = csv(S("\",\"\n"), ',', 16);
    CHECK_U64(o.nf, 1);
    CHECK_STR(o.val[0], ",");
}

static void test_csv_max(void)
{
    csv_out o = csv(S("1,2,\"3\",4,5\n"), ',', 2);
    CHECK_INT(o.rc, 0);   /* 99 would mean f[2] was written */
    CHECK_U64(o.nf, 5);
    CHECK_STR(o.val[0], "1");
    CHECK_STR(o.val[1], "2");
    CHECK_U64(o.next, 12);
    o = csv(S("\"a\",\"b\""), ',', 1);
    CHECK_INT(o.rc, 0);
    CHECK_U64(o.nf, 2);
    o = csv(S("a,b,"), ',', 0);
    CHECK_INT(o.rc, 0);
    CHECK_U64(o.nf, 3);
    /* 40 fields, room for 16. */
    char line[200];
    size_t n = 0;
    for (int i = 0; i < 40; i++)
        n += (size_t)sprintf(line + n, i ? ",%d" : "%d", i);
    line[n++] = '\n';
    o = csv(line, n, ',', 16);
    CHECK_INT(o.rc, 0);
    CHECK_U64(o.nf, 40);
    CHECK_STR(o.val[15], "15");
}

static void test_csv_errors(void)
{
    csv_out o = csv(S("a,\"open\nmore\n"), ',', 16);
    CHECK_INT(o.rc, -1);
    CHECK_U64(o.err_at, 2);                  /* the opening quote */
    CHECK_STR(o.why, "unterminated quoted field");
    o = csv(S("\"open \"\" still"), ',', 16);
    CHECK_INT(o.rc, -1);
    CHECK_U64(o.err_at, 0);
    CHECK_STR(o.why, "unterminated quoted field");
    o = csv(S("\""), ',', 16);
    CHECK_INT(o.rc, -1);
    CHECK_U64(o.err_at, 0);
    CHECK_STR(o.why, "unterminated quoted field");

    o = csv(S("x,ab\"c,d\n"), ',', 16);
    CHECK_INT(o.rc, -1);
    CHECK_U64(o.err_at, 4);
    CHECK_STR(o.why, "quote inside an unquoted field");
    o = csv(S("x,ab\""), ',', 16);
    CHECK_INT(o.rc, -1);
    CHECK_U64(o.err_at, 4);
    CHECK_STR(o.why, "quote inside an unquoted field");
    o = csv(S(" \"a\",b\n"), ',', 16);       /* a blank before the quote */
    CHECK_INT(o.rc, -1);
    CHECK_U64(o.err_at, 1);
    CHECK_STR(o.why, "quote inside an unquoted field");

    o = csv(S("\"x\"y,1\n"), ',', 16);
    CHECK_INT(o.rc, -1);
    CHECK_U64(o.err_at, 3);
    CHECK_STR(o.why, "unexpected character after closing quote");
    o = csv(S("1,\"x\" ,2\n"), ',', 16);
    CHECK_INT(o.rc, -1);
    CHECK_U64(o.err_at, 5);
    CHECK_STR(o.why, "unexpected character after closing quote");
    o = csv(S("\"x\"\rz\n"), ',', 16);
    CHECK_INT(o.rc, -1);
    CHECK_U64(o.err_at, 3);
    CHECK_STR(o.why, "unexpected character after closing quote");
    o = csv(S("\"a\";b\n"), ',', 16);       /* wrong separator */
    CHECK_INT(o.rc, -1);
    CHECK_U64(o.err_at, 3);
    /* An error after a long clean stretch. */
    char big[300];
    memset(big, 'k', sizeof big);
    big[200] = '"';
    o = csv(big, sizeof big, ',', 16);
    CHECK_INT(o.rc, -1);
    CHECK_U64(o.err_at, 200);
    CHECK_STR(o.why, "quote inside an unquoted field");
}

static void test_unquote(void)
{
    char dst[64];
    mk_field f = { "plain", 5, 0 };
    CHECK_U64(mk_field_unquote(&f, dst), 5);
    CHECK_MEM(dst, 5, "plain");
    f = (mk_field){ "a\"\"b\"\"\"\"c", 9, MK_FIELD_QUOTED | MK_FIELD_ESCAPED };
    size_t n = mk_field_unquote(&f, dst);
    CHECK_MEM(dst, n, "a\"b\"\"c");
    f = (mk_field){ "\"\"", 2, MK_FIELD_QUOTED | MK_FIELD_ESCAPED };
    n = mk_field_unquote(&f, dst);
    CHECK_MEM(dst, n, "\"");
    /* QUOTED without ESCAPED is copied as is. */
    f = (mk_field){ "x,y", 3, MK_FIELD_QUOTED };
    n = mk_field_unquote(&f, dst);
    CHECK_MEM(dst, n, "x,y");
    f = (mk_field){ "", 0, MK_FIELD_QUOTED };
    CHECK_U64(mk_field_unquote(&f, dst), 0);
}

/* ---- random valid records against their generated values ------------------ */

typedef struct {
    char val[400];
    size_t len;
    int quoted;
} gen_field;

static void gen_value(gen_field *g, char sep)
{
    static const char alpha[] = "abcXYZ ,;\t\"\n\r";
    size_t len = rnd() % 4 == 0 ? 0 : rnd() % 13;
    if (rnd() % 50 == 0)
        len = 60 + rnd() % 300;
    int need = 0;
    for (size_t i = 0; i < len; i++) {
        char c = rnd() % 3 ? alpha[rnd() % 6] : alpha[rnd() % (sizeof alpha - 1)];
        g->val[i] = c;
        need |= c == sep || c == '"' || c == '\n' || c == '\r';
    }
    g->len = len;
    g->quoted = need || rnd() % 10 == 0;
}

static size_t emit_field(char *out, const gen_field *g)
{
    size_t n = 0;
    if (g->quoted)
        out[n++] = '"';
    for (size_t i = 0; i < g->len; i++) {
        if (g->val[i] == '"')
            out[n++] = '"';
        out[n++] = g->val[i];
    }
    if (g->quoted)
        out[n++] = '"';
    return n;
}

enum { MAXF = 9 };

/* One random record (text appended at out) and what it holds. The same rng
 * state gives the same record, so the checker regenerates instead of
 * storing 10^4 records. */
static size_t gen_record(char *out, char sep, int last, gen_field *fl, size_t *nf, size_t *nl)
{
    size_t n = 0;
    *nf = 1 + rnd() % MAXF;
    *nl = 0;
    for (size_t k = 0; k < *nf; k++) {
        gen_value(&fl[k], sep);
        if (k)
            out[n++] = sep;
        n += emit_field(out + n, &fl[k]);
        for (size_t i = 0; i < fl[k].len; i++)
            *nl += fl[k].val[i] == '\n';
    }
    /* The last record may lack its newline unless it would be empty. */
    int empty = *nf == 1 && !fl[0].quoted && fl[0].len == 0;
    int crlf = rnd() % 3 == 0, nl_end = rnd() % 2;
    if (!last || empty || nl_end) {
        if (crlf)
            out[n++] = '\r';
        out[n++] = '\n';
        (*nl)++;
    }
    return n;
}

static void test_csv_random_valid(void)
{
    enum { NREC = 10000, RECMAX = MAXF * 800 + 4 };
    static const char seps[] = { ',', ';', '\t' };
    gen_field fl[MAXF];
    for (int si = 0; si < 3; si++) {
        char sep = seps[si];
        size_t cap = 1 << 20, n = 0, nf, nl;
        char *text = malloc(cap);
        size_t *starts = malloc((NREC + 1) * sizeof *starts);
        uint64_t saved = rng;
        for (int r = 0; r < NREC; r++) {
            if (n + RECMAX > cap)
                text = realloc(text, cap *= 2);
            starts[r] = n;
            n += gen_record(text + n, sep, r == NREC - 1, fl, &nf, &nl);
        }
        starts[NREC] = n;
        char *in = exact(text, n);
        mk_field f[MAXF];
        mk_csv_result res;
        const char *p = in, *end = in + n;
        int bad = 0;
        char tmp[800], rec[RECMAX];
        rng = saved;
        for (int r = 0; r < NREC && p < end; r++) {
            gen_record(rec, sep, r == NREC - 1, fl, &nf, &nl);
            int rc = mk_csv_record(p, end, sep, f, MAXF, &res);
            const char *why = NULL;
            if (rc != 0)
                why = res.why;
            else if ((size_t)(p - in) != starts[r])
                why = "record starts at the wrong place";
            else if (res.nf != nf)
                why = "wrong field count";
            else if ((size_t)(res.next - in) != starts[r + 1])
                why = "wrong next";
            else if (res.newlines != nl)
                why = "wrong newline count";
            else
                for (size_t k = 0; k < nf && !why; k++) {
                    const gen_field *g = &fl[k];
                    size_t len = mk_field_unquote(&f[k], tmp);
                    int has_quote = memchr(g->val, '"', g->len) != NULL;
                    uint32_t flags = g->quoted ? MK_FIELD_QUOTED | (has_quote ? MK_FIELD_ESCAPED : 0) : 0;
                    if (len != g->len || memcmp(tmp, g->val, len) != 0)
                        why = "wrong value";
                    else if (f[k].flags != flags)
                        why = "wrong flags";
                }
            if (why) {
                if (bad++ < 5)
                    printf("# sep '%c' record %d: %s: \"%.*s\"\n", sep == '\t' ? 'T' : sep, r, why,
                           (int)(starts[r + 1] - starts[r]), text + starts[r]);
                if (rc != 0)
                    break;
            }
            p = res.next;
        }
        CHECK(p == end);
        CHECK_INT(bad, 0);

        /* The first records again, each alone in an exact copy. */
        bad = 0;
        rng = saved;
        for (int r = 0; r < 3000; r++) {
            gen_record(rec, sep, r == NREC - 1, fl, &nf, &nl);
            size_t len = starts[r + 1] - starts[r];
            char *one = exact(text + starts[r], len);
            int rc = mk_csv_record(one, one + len, sep, f, MAXF, &res);
            bad += rc != 0 || res.nf != nf || res.next != one + len || res.newlines != nl;
            free(one);
        }
        CHECK_INT(bad, 0);
        free(in);
        free(text);
        free(starts);
    }
}

/* ---- random strings against a reference parser ---------------------------- */

typedef struct {
    int rc;
    size_t nf, next, newlines, err_at;
    const char *why;
    size_t off[64], len[64];
    uint32_t flags[64];
} ref_out;

/* RFC 4180 as fields.h states it: quoted fields with "" escapes, newlines
 * and separators inside quotes; after a closing quote only a separator, LF,
 * CRLF or the end; a quote elsewhere in an unquoted field is an error; the
 * CR of a CRLF is not part of the last field. */
static void ref_csv(const char *p, size_t n, char sep, ref_out *o)
{
    memset(o, 0, sizeof *o);
    size_t q = 0;
    for (;;) {
        if (q < n && p[q] == '"') {
            size_t open = q++, s = q;
            uint32_t flags = MK_FIELD_QUOTED;
            for (;;) {
                if (q >= n) {
                    o->rc = -1, o->err_at = open, o->why = "unterminated quoted field";
                    return;
                }
                if (p[q] == '"') {
                    if (q + 1 < n && p[q + 1] == '"') {
                        flags |= MK_FIELD_ESCAPED;
                        q += 2;
                        continue;
                    }
                    break;
                }
                o->newlines += p[q] == '\n';
                q++;
            }
            if (o->nf < 64)
                o->off[o->nf] = s, o->len[o->nf] = q - s, o->flags[o->nf] = flags;
            o->nf++;
            q++;
            if (q == n) {
                o->next = n;
                return;
            }
            if (p[q] == sep) {
                q++;
                continue;
            }
            if (p[q] == '\n' || (p[q] == '\r' && q + 1 < n && p[q + 1] == '\n')) {
                q += p[q] == '\r' ? 2 : 1;
                o->newlines++;
                o->next = q;
                return;
            }
            o->rc = -1, o->err_at = q, o->why = "unexpected character after closing quote";
            return;
        }
        size_t s = q;
        while (q < n && p[q] != sep && p[q] != '\n') {
            if (p[q] == '"') {
                o->rc = -1, o->err_at = q, o->why = "quote inside an unquoted field";
                return;
            }
            q++;
        }
        size_t e = q;
        if (q < n && p[q] == '\n' && e > s && p[e - 1] == '\r')
            e--;
        if (o->nf < 64)
            o->off[o->nf] = s, o->len[o->nf] = e - s, o->flags[o->nf] = 0;
        o->nf++;
        if (q == n) {
            o->next = n;
            return;
        }
        if (p[q] == sep) {
            q++;
            continue;
        }
        o->newlines++;
        o->next = q + 1;
        return;
    }
}

static void test_csv_random_reference(void)
{
    static const char alpha[] = { 'a', 'b', ',', ';', '"', '"', '\n', '\r' };
    int bad = 0, errors = 0, oks = 0;
    for (int round = 0; round < 10000; round++) {
        char s[200];
        size_t n = 1 + rnd() % (round % 100 == 0 ? 190 : 40);
        for (size_t i = 0; i < n; i++)
            s[i] = rnd() % 3 ? alpha[rnd() % 2] : alpha[rnd() % sizeof alpha];
        /* Mostly well-formed: balance some quotes by quoting whole fields. */
        if (round % 2) {
            size_t m = 0;
            char t[200];
            for (size_t i = 0; i < n && m < 180; i++) {
                if (s[i] == '"') {
                    t[m++] = '"';
                    t[m++] = 'q';
                    t[m++] = '"';
                    if (i + 1 < n && s[i + 1] != ',' && s[i + 1] != '\n')
                        t[m++] = ',';
                } else {
                    t[m++] = s[i];
                }
            }
            memcpy(s, t, m);
            n = m;
        }
        /* A CR at the very end is neither data nor a line end: leave it out. */
        while (n > 1 && s[n - 1] == '\r')
            n--;
        if (n == 1 && s[0] == '\r')
            s[0] = 'a';
        char sep = round % 5 == 0 ? ';' : ',';
        ref_out want;
        ref_csv(s, n, sep, &want);
        char *c = exact(s, n);
        mk_field f[64];
        mk_csv_result res;
        int rc = mk_csv_record(c, c + n, sep, f, 64, &res);
        int diff = rc != want.rc;
        if (!diff && rc < 0) {
            errors++;
            diff = (size_t)(res.err_at - c) != want.err_at || strcmp(res.why, want.why) != 0;
        } else if (!diff) {
            oks++;
            diff = res.nf != want.nf || (size_t)(res.next - c) != want.next ||
                   res.newlines != want.newlines;
            for (size_t k = 0; !diff && k < res.nf && k < 64; k++)
                diff = (size_t)(f[k].ptr - c) != want.off[k] || f[k].len != want.len[k] ||
                       f[k].flags != want.flags[k];
        }
        if (diff && bad++ < 5) {
            printf("# sep '%c' input \"", sep);
            for (size_t i = 0; i < n; i++)
                printf(s[i] == '\n' ? "\\n" : s[i] == '\r' ? "\\r" : "%c", s[i]);
            printf("\": rc %d (want %d)", rc, want.rc);
            if (rc < 0)
                printf(" at %zu \"%s\"", (size_t)(res.err_at - c), res.why);
            if (want.rc < 0)
                printf(" want at %zu \"%s\"", want.err_at, want.why);
            if (rc == 0 && want.rc == 0)
                printf(" nf %zu/%zu next %zu/%zu nl %zu/%zu", res.nf, want.nf,
                       (size_t)(res.next - c), want.next, res.newlines, want.newlines);
            printf("\n");
        }
        free(c);
    }
    CHECK_INT(bad, 0);
    /* Both outcomes were well represented. */
    CHECK(errors > 1000);
    CHECK(oks > 1000);
}

/* ---- header --------------------------------------------------------------- */

static void test_header(void)
{
    static const char line[] = "\xEF\xBB\xBFname,\"size \"\"B\"\"\",\"a,b\",2,,site\n";
    mk_field f[8];
    mk_csv_result r;
    CHECK_INT(mk_csv_record(line, line + sizeof line - 1, ',', f, 8, &r), 0);
    CHECK_U64(r.nf, 6);
    mk_header h;
    mk_header_init(&h, f, r.nf);
    CHECK_U64(h.n, 6);
    CHECK_STR(h.names[0], "name");            /* BOM dropped */
    CHECK_STR(h.names[1], "size \"B\"");      /* unquoted */
    CHECK_STR(h.names[2], "a,b");
    CHECK_STR(h.names[3], "2");
    CHECK_STR(h.names[4], "");
    CHECK_STR(h.names[5], "site");

    /* Owned copies: the record buffer may go away. */
    char *copy = exact(line, sizeof line - 1);
    CHECK_INT(mk_csv_record(copy, copy + sizeof line - 1, ',', f, 8, &r), 0);
    mk_header h2;
    mk_header_init(&h2, f, r.nf);
    memset(copy, 'X', sizeof line - 1);
    free(copy);
    CHECK_STR(h2.names[5], "site");
    mk_header_free(&h2);
    CHECK_U64(h2.n, 0);
    CHECK(h2.names == NULL);

    /* By name (slices, not C strings). */
    CHECK_INT(mk_header_find(&h, "name", 4), 0);
    CHECK_INT(mk_header_find(&h, "sitemap", 4), 5);
    CHECK_INT(mk_header_find(&h, "a,b", 3), 2);
    CHECK_INT(mk_header_find(&h, "size \"B\"", 8), 1);
    CHECK_INT(mk_header_find(&h, "nam", 3), -1);
    CHECK_INT(mk_header_find(&h, "names", 5), -1);
    CHECK_INT(mk_header_find(&h, "\xEF\xBB\xBFname", 7), -1);
    CHECK_INT(mk_header_find(&h, "", 0), 4);      /* the empty name is a name */
    /* $N always by position; N by position unless a column has that name. */
    CHECK_INT(mk_header_find(&h, "$1", 2), 0);
    CHECK_INT(mk_header_find(&h, "$6", 2), 5);
    CHECK_INT(mk_header_find(&h, "$2", 2), 1);
    CHECK_INT(mk_header_find(&h, "1", 1), 0);
    CHECK_INT(mk_header_find(&h, "2", 1), 3);     /* the column named "2" */
    CHECK_INT(mk_header_find(&h, "6", 1), 5);
    CHECK_INT(mk_header_find(&h, "06", 2), 5);
    CHECK_INT(mk_header_find(&h, "$0", 2), -1);
    CHECK_INT(mk_header_find(&h, "0", 1), -1);
    CHECK_INT(mk_header_find(&h, "$7", 2), -1);
    CHECK_INT(mk_header_find(&h, "7", 1), -1);
    CHECK_INT(mk_header_find(&h, "$", 1), -1);
    CHECK_INT(mk_header_find(&h, "$-1", 3), -1);
    CHECK_INT(mk_header_find(&h, "1x", 2), -1);
    CHECK_INT(mk_header_find(&h, "$ 1", 3), -1);
    CHECK_INT(mk_header_find(&h, "99999999999999999999", 20), -1);
    CHECK_INT(mk_header_find(&h, "$1000000001", 11), -1);
    CHECK_INT(mk_header_find(&h, "$000000001", 10), 0);

    /* Suggestions for misspelt names. */
    CHECK_STR(mk_header_suggest(&h, "nmae", 4), "name");
    CHECK_STR(mk_header_suggest(&h, "stie", 4), "site");
    CHECK_STR(mk_header_suggest(&h, "nam", 3), "name");
    CHECK_STR(mk_header_suggest(&h, "size \"b\"", 8), "size \"B\"");
    CHECK(mk_header_suggest(&h, "zzzzzz", 6) == NULL);
    CHECK(mk_header_suggest(&h, "timestamp", 9) == NULL);
    mk_header_free(&h);

    /* No columns; a BOM-only first name; one column. */
    mk_header_init(&h, NULL, 0);
    CHECK_U64(h.n, 0);
    CHECK_INT(mk_header_find(&h, "$1", 2), -1);
    CHECK_INT(mk_header_find(&h, "x", 1), -1);
    CHECK(mk_header_suggest(&h, "x", 1) == NULL);
    mk_header_free(&h);
    mk_field bom = { "\xEF\xBB\xBF", 3, 0 };
    mk_header_init(&h, &bom, 1);
    CHECK_STR(h.names[0], "");
    mk_header_free(&h);
    /* A BOM only counts on the first name. */
    mk_field two[2] = { { "a", 1, 0 }, { "\xEF\xBB\xBF" "b", 4, 0 } };
    mk_header_init(&h, two, 2);
    CHECK_STR(h.names[1], "\xEF\xBB\xBF" "b");
    mk_header_free(&h);
}

int main(void)
{
    RUN(test_blank);
    RUN(test_blank_random);
    RUN(test_tsv);
    RUN(test_tsv_unescape);
    RUN(test_csv_basic);
    RUN(test_csv_quoted);
    RUN(test_csv_max);
    RUN(test_csv_errors);
    RUN(test_unquote);
    RUN(test_csv_random_valid);
    RUN(test_csv_random_reference);
    RUN(test_header);
    return DONE();
}
