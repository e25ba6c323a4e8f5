/* out — atomic buffered output and the table renderer (see out.h). */
#include "out.h"
#include "err.h"
#include "parse.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { OUT_BUF = 64 * 1024, MAX_TMP = 16 };

struct mk_out {
    int fd;
    char *path, *tmp;       /* tmp != NULL: write tmp, rename to path on close */
    int borrowed;           /* fd belongs to the caller: never closed here */
    char buf[OUT_BUF];
    size_t len;
    uint64_t total;
    int err;                /* first errno seen, sticky */
    char *mem;              /* memory writer (fd -1): what has been drained */
    size_t mem_len, mem_cap;
};

/* ---- temporary files are removed on every way out ----------------------- */

static char tmp_paths[MAX_TMP][4096];   /* async-signal-safe: fixed storage */
static volatile sig_atomic_t tmp_used[MAX_TMP];

static void remove_tmps(void)
{
    for (int i = 0; i < MAX_TMP; i++)
        if (tmp_used[i])
            unlink(tmp_paths[i]);
}

static void on_signal(int sig)
{
    remove_tmps();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void setup_once(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    signal(SIGPIPE, SIG_IGN);
    atexit(remove_tmps);
    int sigs[] = { SIGINT, SIGTERM, SIGHUP };
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        struct sigaction sa, old;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
            continue;   /* respect nohup */
        sigaction(sigs[i], &sa, NULL);
    }
}

static int track_tmp(const char *p)
{
    for (int i = 0; i < MAX_TMP; i++)
        if (!tmp_used[i] && strlen(p) < sizeof tmp_paths[i]) {
            strcpy(tmp_paths[i], p);
            tmp_used[i] = 1;
            return 0;
        }
    return -1;
}

static void untrack_tmp(const char *p)
{
    for (int i = 0; i < MAX_TMP; i++)
        if (tmp_used[i] && strcmp(tmp_paths[i], p) == 0)
            tmp_used[i] = 0;
}

/* ---- the writer ---------------------------------------------------------- */

mk_out *mk_out_open(const char *path)
{
    setup_once();
    mk_out *o = mk_xcalloc(1, sizeof *o);
    if (!path || strcmp(path, "-") == 0) {
        o->fd = 1;
        return o;
    }
    o->path = mk_xstrdup(path);
    size_t n = strlen(path);
    o->tmp = mk_xmalloc(n + 16);
    memcpy(o->tmp, path, n);
    memcpy(o->tmp + n, ".tmp.XXXXXX", 12);
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);   /* no signal between create and track */
    o->fd = mkostemp(o->tmp, O_CLOEXEC);
    int track = o->fd >= 0 ? track_tmp(o->tmp) : 0;
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (o->fd < 0 || track < 0) {
        if (o->fd >= 0) {
            close(o->fd);
            unlink(o->tmp);
            mk_err_set("%s: too many output files open", path);
        } else {
            mk_err_errno("%s: cannot create output file", path);
        }
        free(o->tmp);
        free(o->path);
        free(o);
        return NULL;
    }
    /* mkostemp makes 0600; an output file gets the usual 0666 & ~umask. */
    mode_t um = umask(022);
    umask(um);
    if (fchmod(o->fd, 0666 & ~um) < 0)
        o->err = errno;
    return o;
}

static void drain(mk_out *o)
{
    if (o->fd < 0) {
        if (o->mem_len + o->len > o->mem_cap) {
            o->mem_cap = (o->mem_len + o->len) * 2;
            o->mem = mk_xrealloc(o->mem, o->mem_cap);
        }
        if (o->len)             /* mem is NULL until something is written */
            memcpy(o->mem + o->mem_len, o->buf, o->len);
        o->mem_len += o->len;
        o->len = 0;
        return;
    }
    size_t off = 0;
    while (off < o->len && !o->err) {
        ssize_t w = write(o->fd, o->buf + off, o->len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            if (errno == EPIPE && !o->tmp)
                exit(MK_EXIT_OK);   /* reader went away: `| head` is not an error */
            o->err = errno;
            break;
        }
        off += (size_t)w;
    }
    o->len = 0;
}

void mk_out_write(mk_out *o, const void *p, size_t n)
{
    o->total += n;
    if (o->len + n > OUT_BUF) {
        drain(o);
        if (n > OUT_BUF / 2 && o->fd >= 0) {
            /* Big writes skip the buffer. */
            const char *c = p;
            while (n && !o->err) {
                ssize_t w = write(o->fd, c, n);
                if (w < 0 && errno == EINTR)
                    continue;
                if (w < 0) {
                    if (errno == EPIPE && !o->tmp)
                        exit(MK_EXIT_OK);
                    o->err = errno;
                    break;
                }
                c += w;
                n -= (size_t)w;
            }
            return;
        }
    }
    while (n > OUT_BUF - o->len) {   /* memory writer: big pieces in parts */
        size_t k = OUT_BUF - o->len;
        memcpy(o->buf + o->len, p, k);
        o->len += k;
        p = (const char *)p + k;
        n -= k;
        drain(o);
    }
    if (n)                      /* p may be NULL when n is 0 */
        memcpy(o->buf + o->len, p, n);
    o->len += n;
}

mk_out *mk_out_open_fd(int fd, const char *name)
{
    setup_once();
    mk_out *o = mk_xcalloc(1, sizeof *o);
    o->fd = fd;
    o->path = mk_xstrdup(name);
    o->borrowed = 1;
    return o;
}

mk_out *mk_out_open_mem(void)
{
    mk_out *o = mk_xcalloc(1, sizeof *o);
    o->fd = -1;
    return o;
}

const char *mk_out_mem(mk_out *o, size_t *len)
{
    drain(o);
    *len = o->mem_len;
    return o->mem ? o->mem : "";
}

void mk_out_mem_reset(mk_out *o)
{
    o->len = o->mem_len = 0;
}

void mk_out_str(mk_out *o, const char *s) { mk_out_write(o, s, strlen(s)); }

void mk_out_char(mk_out *o, char c)
{
    if (o->len == OUT_BUF)
        drain(o);
    o->buf[o->len++] = c;
    o->total++;
}

void mk_out_printf(mk_out *o, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        mk_out_write(o, small, (size_t)n);
        return;
    }
    char *big = mk_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    mk_out_write(o, big, (size_t)n);
    free(big);
}

void mk_out_u64(mk_out *o, uint64_t v)
{
    char b[24];
    int i = 24;
    do
        b[--i] = (char)('0' + v % 10);
    while (v /= 10);
    mk_out_write(o, b + i, (size_t)(24 - i));
}

void mk_out_i64(mk_out *o, int64_t v)
{
    if (v < 0) {
        mk_out_char(o, '-');
        mk_out_u64(o, (uint64_t)0 - (uint64_t)v);
    } else {
        mk_out_u64(o, (uint64_t)v);
    }
}

void mk_out_hex_double(mk_out *o, double v)
{
    uint64_t b;
    memcpy(&b, &v, 8);
    unsigned e = (unsigned)(b >> 52 & 0x7ff);
    uint64_t m = b & ((1ull << 52) - 1);
    if (e == 0x7ff || (e == 0 && m)) {   /* inf, nan, subnormal: rare */
        mk_out_printf(o, "%a", v);
        return;
    }
    static const char hex[] = "0123456789abcdef";
    char buf[32];
    size_t n = 0;
    if (b >> 63)
        buf[n++] = '-';
    buf[n++] = '0';
    buf[n++] = 'x';
    buf[n++] = e ? '1' : '0';
    if (m) {
        buf[n++] = '.';
        int digits = 13;
        while (!(m & 0xf)) {
            m >>= 4;
            digits--;
        }
        for (int i = digits - 1; i >= 0; i--)
            buf[n++] = hex[m >> (4 * i) & 0xf];
    }
    int x = e ? (int)e - 1023 : 0;
    buf[n++] = 'p';
    buf[n++] = x < 0 ? '-' : '+';
    unsigned ax = (unsigned)(x < 0 ? -x : x);
    char d[8];
    int k = 0;
    do
        d[k++] = (char)('0' + ax % 10);
    while (ax /= 10);
    while (k)
        buf[n++] = d[--k];
    mk_out_write(o, buf, n);
}

void mk_out_double(mk_out *o, double v)
{
    char b[40];
    mk_out_write(o, b, mk_fmt_double(b, sizeof b, v));
}

void mk_out_csv_field(mk_out *o, const char *p, size_t n, char sep)
{
    int quote = 0;
    for (size_t i = 0; i < n && !quote; i++)
        quote = p[i] == sep || p[i] == '"' || p[i] == '\n' || p[i] == '\r';
    if (!quote) {
        mk_out_write(o, p, n);
        return;
    }
    mk_out_char(o, '"');
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '"')
            mk_out_char(o, '"');
        mk_out_char(o, p[i]);
    }
    mk_out_char(o, '"');
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || len > n || (len == 2 && c < 0xC2))
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    if (len == 3) {
        unsigned cp = (c & 0x0F) << 12 | (p[1] & 0x3Fu) << 6 | (p[2] & 0x3Fu);
        if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
    } else if (len == 4) {
        unsigned cp = (c & 0x07) << 18 | (p[1] & 0x3Fu) << 12 | (p[2] & 0x3Fu) << 6 | (p[3] & 0x3Fu);
        if (cp < 0x10000 || cp > 0x10FFFF)
            return 0;
    }
    return len;
}

/* JSON must be valid UTF-8: invalid bytes become U+FFFD rather than
 * producing a document no parser accepts. */
void mk_out_json_str(mk_out *o, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    mk_out_char(o, '"');
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            size_t j = i + 1;
            while (j < n && p[j] >= 0x20 && p[j] != '"' && p[j] != '\\' && p[j] < 0x80)
                j++;
            mk_out_write(o, p + i, j - i);
            i = j;
            continue;
        }
        switch (c) {
        case '"': mk_out_write(o, "\\\"", 2); i++; continue;
        case '\\': mk_out_write(o, "\\\\", 2); i++; continue;
        case '\n': mk_out_write(o, "\\n", 2); i++; continue;
        case '\r': mk_out_write(o, "\\r", 2); i++; continue;
        case '\t': mk_out_write(o, "\\t", 2); i++; continue;
        default: break;
        }
        if (c < 0x20) {
            mk_out_printf(o, "\\u%04x", c);
            i++;
            continue;
        }
        size_t len = utf8_len(p + i, n - i);
        if (len) {
            mk_out_write(o, p + i, len);
            i += len;
        } else {
            mk_out_write(o, "\\ufffd", 6);
            i++;
        }
    }
    mk_out_char(o, '"');
}

int mk_out_flush(mk_out *o)
{
    drain(o);
    if (o->err) {
        errno = o->err;
        return mk_err_errno("%s: write error", o->path ? o->path : "<stdout>");
    }
    return 0;
}

uint64_t mk_out_bytes(const mk_out *o) { return o->total; }

int mk_out_close(mk_out *o)
{
    int rc = mk_out_flush(o);
    if (o->tmp) {
        if (rc == 0 && fsync(o->fd) < 0 && errno != EINVAL)
            rc = mk_err_errno("%s: write error", o->path);
        if (close(o->fd) < 0 && rc == 0)
            rc = mk_err_errno("%s: write error", o->path);
        if (rc == 0 && rename(o->tmp, o->path) < 0)
            rc = mk_err_errno("%s: cannot rename output file", o->path);
        if (rc != 0)
            unlink(o->tmp);
        untrack_tmp(o->tmp);
    }
    free(o->tmp);
    free(o->path);
    free(o->mem);
    free(o);
    return rc;
}

void mk_out_discard(mk_out *o)
{
    free(o->mem);
    if (o->tmp) {
        close(o->fd);
        unlink(o->tmp);
        untrack_tmp(o->tmp);
    }
    free(o->tmp);
    free(o->path);
    free(o);
}

int mk_format_parse(const char *s, mk_format *f)
{
    static const char *const names[] = { "text", "tsv", "csv", "json", "ndjson" };
    for (int i = 0; i < 5; i++)
        if (strcmp(s, names[i]) == 0) {
            *f = (mk_format)i;
            return 0;
        }
    return mk_err_set("unknown format '%s' (expected " MK_FORMAT_CHOICES ")", s);
}

const char *mk_format_name(mk_format f)
{
    static const char *const names[] = { "text", "tsv", "csv", "json", "ndjson" };
    return names[f];
}

/* ---- the table model ----------------------------------------------------- */

typedef struct {
    uint8_t set;
    union {
        int64_t i;
        uint64_t u;
        double d;
        struct { size_t off, len; } s;
    } v;
} cell;

struct col {
    char *name;
    mk_coltype type;
};

struct mk_table {
    struct col *cols;
    size_t ncols, cols_cap;
    cell *cells;            /* rows × ncols */
    size_t nrows, rows_cap;
    char *strs;             /* string cell bytes */
    size_t strs_len, strs_cap;
};

mk_table *mk_table_new(void)
{
    return mk_xcalloc(1, sizeof(mk_table));
}

size_t mk_table_col(mk_table *t, const char *name, mk_coltype type)
{
    if (t->nrows)
        mk_die("internal error: column '%s' added after the first row", name);
    if (t->ncols == t->cols_cap) {
        t->cols_cap = t->cols_cap ? 2 * t->cols_cap : 8;
        t->cols = mk_xrealloc(t->cols, t->cols_cap * sizeof *t->cols);
    }
    t->cols[t->ncols] = (struct col){ mk_xstrdup(name), type };
    return t->ncols++;
}

void mk_table_row(mk_table *t)
{
    if (t->nrows == t->rows_cap) {
        t->rows_cap = t->rows_cap ? 2 * t->rows_cap : 16;
        t->cells = mk_xrealloc(t->cells, t->rows_cap * (t->ncols ? t->ncols : 1) * sizeof(cell));
    }
    memset(t->cells + t->nrows * t->ncols, 0, t->ncols * sizeof(cell));
    t->nrows++;
}

static cell *cur(mk_table *t, size_t col)
{
    if (!t->nrows || col >= t->ncols)
        mk_die("internal error: table cell %zu outside the table", col);
    cell *c = &t->cells[(t->nrows - 1) * t->ncols + col];
    c->set = 1;
    return c;
}

void mk_table_str(mk_table *t, size_t col, const char *p, size_t n)
{
    if (t->strs_len + n > t->strs_cap) {
        while (t->strs_len + n > t->strs_cap)
            t->strs_cap = t->strs_cap ? 2 * t->strs_cap : 4096;
        t->strs = mk_xrealloc(t->strs, t->strs_cap);
    }
    if (n)
        memcpy(t->strs + t->strs_len, p, n);
    cell *c = cur(t, col);
    c->v.s.off = t->strs_len;
    c->v.s.len = n;
    t->strs_len += n;
}

void mk_table_cstr(mk_table *t, size_t col, const char *s) { mk_table_str(t, col, s, strlen(s)); }
void mk_table_int(mk_table *t, size_t col, int64_t v) { cur(t, col)->v.i = v; }
void mk_table_uint(mk_table *t, size_t col, uint64_t v) { cur(t, col)->v.u = v; }
void mk_table_float(mk_table *t, size_t col, double v) { cur(t, col)->v.d = v; }
size_t mk_table_rows(const mk_table *t) { return t->nrows; }

/* The raw, machine form of a cell (tsv, csv, json). */
static size_t raw(const mk_table *t, size_t col, const cell *c, char *b, size_t cap, const char **s)
{
    *s = b;
    switch (t->cols[col].type) {
    case MK_COL_STR: case MK_COL_NUM: case MK_COL_JSON:
        *s = t->strs ? t->strs + c->v.s.off : "";   /* only empty strings so far */
        return c->v.s.len;
    case MK_COL_INT:
        return (size_t)snprintf(b, cap, "%lld", (long long)c->v.i);
    case MK_COL_UINT: case MK_COL_BYTES: case MK_COL_DURATION:
        return (size_t)snprintf(b, cap, "%llu", (unsigned long long)c->v.u);
    case MK_COL_FLOAT: case MK_COL_RATIO:
        return mk_fmt_double(b, cap, c->v.d);
    }
    return 0;
}

int mk_table_cell(const mk_table *t, size_t row, size_t col, char *buf, size_t cap,
                  const char **s, size_t *n)
{
    const cell *c = &t->cells[row * t->ncols + col];
    if (!c->set)
        return 0;
    *n = raw(t, col, c, buf, cap, s);
    return 1;
}

/* The human form of a cell (text). */
static size_t human(const mk_table *t, size_t col, const cell *c, char *b, size_t cap, const char **s)
{
    *s = b;
    if (!c->set)
        return 0;
    switch (t->cols[col].type) {
    case MK_COL_BYTES:
        return mk_fmt_bytes(b, cap, c->v.u);
    case MK_COL_DURATION:
        return mk_fmt_duration(b, cap, c->v.u);
    case MK_COL_RATIO:
        return isfinite(c->v.d) ? (size_t)snprintf(b, cap, "%.2f%%", c->v.d * 100)
                                : mk_fmt_double(b, cap, c->v.d);
    case MK_COL_FLOAT:
        if (isfinite(c->v.d) && fabs(c->v.d) < 1e15 && c->v.d != floor(c->v.d))
            /* four significant digits, but no exponent for big values */
            return (size_t)snprintf(b, cap, fabs(c->v.d) >= 1e4 ? "%.0f" : "%.4g", c->v.d);
        return mk_fmt_double(b, cap, c->v.d);
    default:
        return raw(t, col, c, b, cap, s);
    }
}

static int numeric(mk_coltype ty) { return ty != MK_COL_STR && ty != MK_COL_JSON; }

/* Display width: code points, not bytes (continuation bytes take no column). */
static size_t width(const char *s, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        w += ((unsigned char)s[i] & 0xC0) != 0x80;
    return w;
}

void mk_table_widths(const mk_table *t, size_t *w)
{
    char b[64];
    const char *s;
    for (size_t j = 0; j < t->ncols; j++)
        if (width(t->cols[j].name, strlen(t->cols[j].name)) > w[j])
            w[j] = width(t->cols[j].name, strlen(t->cols[j].name));
    for (size_t i = 0; i < t->nrows; i++)
        for (size_t j = 0; j < t->ncols; j++) {
            size_t n = human(t, j, &t->cells[i * t->ncols + j], b, sizeof b, &s);
            if (width(s, n) > w[j])
                w[j] = width(s, n);
        }
}

/* Rows [from, nrows) and, when header, the column names first. */
static void write_text(const mk_table *t, mk_out *o, const size_t *w, int header)
{
    char b[64];
    const char *s;
    for (size_t i = header ? 0 : 1; i <= t->nrows; i++) {
        for (size_t j = 0; j < t->ncols; j++) {
            size_t n;
            if (i == 0) {
                s = t->cols[j].name;
                n = strlen(s);
            } else {
                n = human(t, j, &t->cells[(i - 1) * t->ncols + j], b, sizeof b, &s);
            }
            size_t sw = width(s, n), pad = w[j] > sw ? w[j] - sw : 0;
            int right = numeric(t->cols[j].type);
            if (j)
                mk_out_write(o, "  ", 2);
            if (right)
                for (size_t k = 0; k < pad; k++)
                    mk_out_char(o, ' ');
            mk_out_write(o, s, n);
            if (!right && j + 1 < t->ncols)
                for (size_t k = 0; k < pad; k++)
                    mk_out_char(o, ' ');
        }
        mk_out_char(o, '\n');
    }
}

void mk_out_html(mk_out *o, const char *p, size_t n)
{
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        const char *rep;
        switch (p[i]) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default: continue;
        }
        mk_out_write(o, p + run, i - run);
        mk_out_str(o, rep);
        run = i + 1;
    }
    mk_out_write(o, p + run, n - run);
}

void mk_table_write_html(const mk_table *t, mk_out *o)
{
    char b[64], rb[64];
    const char *s, *rs;
    mk_out_str(o, "<table>\n<thead><tr>");
    for (size_t j = 0; j < t->ncols; j++) {
        mk_out_str(o, numeric(t->cols[j].type) ? "<th class=\"num\">" : "<th>");
        mk_out_html(o, t->cols[j].name, strlen(t->cols[j].name));
        mk_out_str(o, "</th>");
    }
    mk_out_str(o, "</tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < t->nrows; i++) {
        mk_out_str(o, "<tr>");
        for (size_t j = 0; j < t->ncols; j++) {
            const cell *c = &t->cells[i * t->ncols + j];
            size_t n = human(t, j, c, b, sizeof b, &s);
            mk_out_str(o, numeric(t->cols[j].type) ? "<td class=\"num\"" : "<td");
            if (c->set) {
                size_t rn = raw(t, j, c, rb, sizeof rb, &rs);
                if (rn != n || memcmp(rs, s, n) != 0) {
                    mk_out_str(o, " title=\"");
                    mk_out_html(o, rs, rn);
                    mk_out_char(o, '"');
                }
            }
            mk_out_char(o, '>');
            mk_out_html(o, s, n);
            mk_out_str(o, "</td>");
        }
        mk_out_str(o, "</tr>\n");
    }
    mk_out_str(o, "</tbody>\n</table>\n");
}

/* TSV cannot quote: tab, newline, CR and backslash are escaped as \t \n \r \\. */
void mk_out_tsv_field(mk_out *o, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '\t' || c == '\n' || c == '\r' || c == '\\') {
            mk_out_char(o, '\\');
            mk_out_char(o, c == '\t' ? 't' : c == '\n' ? 'n' : c == '\r' ? 'r' : '\\');
        } else {
            mk_out_char(o, c);
        }
    }
}

static void write_sep(const mk_table *t, mk_out *o, char sep, int header)
{
    char b[64];
    const char *s;
    for (size_t i = header ? 0 : 1; i <= t->nrows; i++) {
        for (size_t j = 0; j < t->ncols; j++) {
            if (j)
                mk_out_char(o, sep);
            size_t n;
            if (i == 0) {
                s = t->cols[j].name;
                n = strlen(s);
            } else {
                const cell *c = &t->cells[(i - 1) * t->ncols + j];
                n = c->set ? raw(t, j, c, b, sizeof b, &s) : 0;
            }
            if (sep == '\t')
                mk_out_tsv_field(o, s, n);
            else if (n == 0 && t->ncols == 1)
                mk_out_write(o, "\"\"", 2);   /* not a blank line, which readers skip */
            else
                mk_out_csv_field(o, s, n, sep);
        }
        mk_out_char(o, '\n');
    }
}

int mk_json_number(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && s[i] == '-')
        i++;
    if (i == n || !isdigit((unsigned char)s[i]))
        return 0;
    if (s[i] == '0' && i + 1 < n && isdigit((unsigned char)s[i + 1]))
        return 0;   /* no leading zeros */
    while (i < n && isdigit((unsigned char)s[i]))
        i++;
    if (i < n && s[i] == '.') {
        if (++i == n || !isdigit((unsigned char)s[i]))
            return 0;
        while (i < n && isdigit((unsigned char)s[i]))
            i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        if (++i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i == n || !isdigit((unsigned char)s[i]))
            return 0;
        while (i < n && isdigit((unsigned char)s[i]))
            i++;
    }
    return i == n;
}

static void write_json_row(const mk_table *t, size_t i, mk_out *o)
{
    char b[64];
    const char *s;
    mk_out_char(o, '{');
    for (size_t j = 0; j < t->ncols; j++) {
        const cell *c = &t->cells[i * t->ncols + j];
        if (j)
            mk_out_char(o, ',');
        mk_out_json_str(o, t->cols[j].name, strlen(t->cols[j].name));
        mk_out_char(o, ':');
        if (!c->set) {
            mk_out_write(o, "null", 4);
            continue;
        }
        size_t n = raw(t, j, c, b, sizeof b, &s);
        if (t->cols[j].type == MK_COL_STR)
            mk_out_json_str(o, s, n);
        else if (t->cols[j].type == MK_COL_JSON)
            mk_out_write(o, s, n);
        else if (t->cols[j].type == MK_COL_NUM && !mk_json_number(s, n))
            mk_out_write(o, "null", 4);    /* nan, inf: JSON has none */
        else if ((t->cols[j].type == MK_COL_FLOAT || t->cols[j].type == MK_COL_RATIO) && !isfinite(c->v.d))
            mk_out_write(o, "null", 4);    /* JSON has no NaN or infinity */
        else
            mk_out_write(o, s, n);
    }
    mk_out_char(o, '}');
}

void mk_table_write_piece(const mk_table *t, mk_format f, mk_out *o, mk_table_pos *pos, int last)
{
    int header = !pos->started;
    pos->started = 1;
    switch (f) {
    case MK_FMT_TEXT: {
        size_t *w = mk_xcalloc(t->ncols ? t->ncols : 1, sizeof *w);
        if (pos->widths)
            memcpy(w, pos->widths, t->ncols * sizeof *w);
        else
            mk_table_widths(t, w);
        write_text(t, o, w, header);
        free(w);
        break;
    }
    case MK_FMT_TSV: write_sep(t, o, '\t', header); break;
    case MK_FMT_CSV: write_sep(t, o, ',', header); break;
    case MK_FMT_JSON:
        if (header)
            mk_out_char(o, '[');
        for (size_t i = 0; i < t->nrows; i++) {
            mk_out_write(o, pos->rows + i ? ",\n" : "\n", pos->rows + i ? 2 : 1);
            write_json_row(t, i, o);
        }
        if (last)
            mk_out_write(o, pos->rows + t->nrows ? "\n]\n" : "]\n", pos->rows + t->nrows ? 3 : 2);
        break;
    case MK_FMT_NDJSON:
        for (size_t i = 0; i < t->nrows; i++) {
            write_json_row(t, i, o);
            mk_out_char(o, '\n');
        }
        break;
    }
    pos->rows += t->nrows;
}

void mk_table_write(const mk_table *t, mk_format f, mk_out *o)
{
    mk_table_pos pos = { 0 };
    mk_table_write_piece(t, f, o, &pos, 1);
}

void mk_table_clear_rows(mk_table *t)
{
    t->nrows = 0;
    t->strs_len = 0;
}

void mk_table_free(mk_table *t)
{
    if (!t)
        return;
    for (size_t j = 0; j < t->ncols; j++)
        free(t->cols[j].name);
    free(t->cols);
    free(t->cells);
    free(t->strs);
    free(t);
}
