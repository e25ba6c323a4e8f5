/* trace — heap trace events from the memkit heap format or glibc mtrace (see trace.h). */
#include "trace.h"
#include "err.h"
#include "fields.h"
#include "lines.h"
#include "map.h"
#include "parse.h"
#include "vec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_FIELDS = 16, MAX_NUMERIC_ID = 1 << 24 };

struct ld_trace {
    mk_lines *lines;
    mk_intern *sites, *types;
    ld_format fmt;
    int lenient;
    uint64_t skipped, line;
    uint64_t events;           /* + - ~ records so far: the E of LD_UNNAMED | E */
    uint32_t unknown;          /* the site "?" + 1, once looked up */
    uint64_t last_ts;          /* what a TS of "=" stands for, once has_ts */
    int has_ts;
    /* "s ID SITE": numeric ids index an array, others go through a map */
    mk_vec num_ids;            /* uint32_t site + 1 (0 = undefined) */
    mk_map ids;                /* id -> site */
    mk_map callers;            /* mtrace: raw CALLER -> site */
    /* mtrace: a '<' waiting for its '>' */
    int pending;
    uint64_t pend_old, pend_line;
    char key[4096];
};

/* ---- opening ------------------------------------------------------------------ */

static ld_trace *trace_new(mk_lines *l, mk_intern *sites, mk_intern *types, int lenient,
                           ld_trace *prev);

ld_trace *ld_trace_open(const char *path, mk_intern *sites, mk_intern *types, int lenient,
                        ld_trace *prev)
{
    mk_lines *l = mk_lines_open(path, NULL);
    return l ? trace_new(l, sites, types, lenient, prev) : NULL;
}

ld_trace *ld_trace_from(mk_source *src, mk_intern *sites, mk_intern *types, int lenient,
                        ld_trace *prev)
{
    mk_lines *l = mk_lines_from(src, NULL);
    return l ? trace_new(l, sites, types, lenient, prev) : NULL;
}

static ld_trace *trace_new(mk_lines *l, mk_intern *sites, mk_intern *types, int lenient,
                           ld_trace *prev)
{
    ld_trace *t = mk_xcalloc(1, sizeof *t);
    t->lines = l;
    t->sites = sites;
    t->types = types;
    t->lenient = lenient;
    if (prev) {
        /* the same trace, continued: its format and site ids carry over */
        t->fmt = prev->fmt;
        t->num_ids = prev->num_ids;
        t->ids = prev->ids;
        t->events = prev->events;
        t->last_ts = prev->last_ts;
        t->has_ts = prev->has_ts;
        mk_vec_init(&prev->num_ids, sizeof(uint32_t));
        mk_map_init(&prev->ids, 0);
    } else {
        mk_vec_init(&t->num_ids, sizeof(uint32_t));
        mk_map_init(&t->ids, 0);
    }
    mk_map_init(&t->callers, 0);
    return t;
}

const char *ld_trace_name(const ld_trace *t) { return mk_lines_name(t->lines); }
ld_format ld_trace_format(const ld_trace *t) { return t->fmt; }
uint64_t ld_trace_skipped(const ld_trace *t) { return t->skipped; }
uint64_t ld_trace_lines(const ld_trace *t) { return t->line; }

int ld_trace_close(ld_trace *t)
{
    if (!t)
        return 0;
    int r = mk_lines_close(t->lines);
    mk_vec_free(&t->num_ids);
    mk_map_free(&t->ids);
    mk_map_free(&t->callers);
    free(t);
    return r;
}

/* ---- errors --------------------------------------------------------------------- */

/* A bad record: an error, or (lenient) counted and skipped: returns 0 then. */
__attribute__((format(printf, 2, 3))) static int bad(ld_trace *t, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (t->lenient) {
        t->skipped++;
        return 0;
    }
    return mk_err_set("%s:%llu: %s", ld_trace_name(t), (unsigned long long)t->line, msg);
}

/* A field shown in a message: at most 40 bytes. */
static const char *shown(const mk_field *f, char *buf)
{
    size_t n = f->len < 40 ? f->len : 40;
    memcpy(buf, f->ptr, n);
    strcpy(buf + n, f->len > 40 ? "..." : "");
    return buf;
}

/* ---- format detection --------------------------------------------------------- */

static int is_op(const mk_field *f)
{
    return f->len == 1 && strchr("+-<>!", f->ptr[0]);
}

static int hex0x(const mk_field *f)
{
    return f->len > 2 && f->ptr[0] == '0' && (f->ptr[1] == 'x' || f->ptr[1] == 'X');
}

static ld_format detect(const mk_field *f, size_t nf)
{
    if (nf >= 1 && f[0].len == 1 && f[0].ptr[0] == '=')
        return LD_FMT_MTRACE;
    if (nf >= 3 && f[0].len == 1 && f[0].ptr[0] == '@' && is_op(&f[2]) &&
        (memmem(f[1].ptr, f[1].len, ":[", 2) || memmem(f[1].ptr, f[1].len, ":(", 2)))
        return LD_FMT_MTRACE;
    /* mtrace without callers: "+ 0xADDR 0xSIZE", "- 0xADDR" (glibc writes
     * both with 0x; the memkit format has a decimal TS there) */
    if (f[0].len == 1 && ((nf == 3 && f[0].ptr[0] == '+' && hex0x(&f[1]) && hex0x(&f[2])) ||
                          (nf == 2 && f[0].ptr[0] == '-' && hex0x(&f[1]))))
        return LD_FMT_MTRACE;
    return LD_FMT_MEMKIT;
}

/* ---- sites ------------------------------------------------------------------------ */

size_t ld_mtrace_site(const char *p, size_t n, char *out, size_t cap)
{
    /* path:[0xOFF] or path:(sym+hex)[0xOFF] */
    const char *end = p + n, *lb = NULL, *colon = NULL;
    if (n && end[-1] == ']')
        for (const char *q = end - 1; q > p; q--)
            if (*q == '[') {
                lb = q;
                break;
            }
    if (lb) {
        const char *pe = lb;
        const char *sym = NULL, *sym_end = NULL;
        if (pe > p && pe[-1] == ')') {
            for (const char *q = pe - 1; q > p; q--)
                if (*q == '(') {
                    sym = q + 1;
                    sym_end = pe - 1;
                    pe = q;
                    break;
                }
        }
        if (pe > p && pe[-1] == ':')
            colon = pe - 1;
        if (colon) {
            const char *base = colon;
            while (base > p && base[-1] != '/')
                base--;
            size_t bl = (size_t)(colon - base);
            const char *plus = sym ? memchr(sym, '+', (size_t)(sym_end - sym)) : NULL;
            int r;
            if (plus && plus > sym) {
                const char *hex = plus + 1;
                size_t hl = (size_t)(sym_end - hex);
                if (hl >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) {
                    hex += 2;
                    hl -= 2;
                }
                r = snprintf(out, cap, "%.*s:%.*s+0x%.*s", (int)bl, base, (int)(plus - sym), sym,
                             (int)hl, hex);
            } else {
                r = snprintf(out, cap, "%.*s:%.*s", (int)bl, base, (int)(end - 1 - (lb + 1)), lb + 1);
            }
            if (r > 0 && (size_t)r < cap)
                return (size_t)r;
        }
    }
    size_t k = n < cap ? n : cap;
    memcpy(out, p, k);
    return k;
}

static uint32_t site_named(ld_trace *t, const char *p, size_t n)
{
    return mk_intern_id(t->sites, p, n);
}

/* A SITE field of the memkit format: a token, or $ID from an "s" record. */
static int site_field(ld_trace *t, const mk_field *f, uint32_t *site)
{
    char b[48];
    if (f->len == 0 || f->ptr[0] != '$') {
        *site = site_named(t, f->ptr, f->len);
        return 1;
    }
    uint64_t id;
    if (mk_parse_u64(f->ptr + 1, f->len - 1, &id) == 0 && id < MAX_NUMERIC_ID) {
        if (id < mk_vec_len(&t->num_ids)) {
            uint32_t v = *(uint32_t *)mk_vec_get(&t->num_ids, id);
            if (v) {
                *site = v - 1;
                return 1;
            }
        }
    } else {
        uint64_t *v = mk_map_get(&t->ids, f->ptr + 1, f->len - 1);
        if (v) {
            *site = (uint32_t)*v;
            return 1;
        }
    }
    return bad(t, "site %s is not defined (define it first with 's ID SITE')", shown(f, b));
}

/* The site "?" (a call site nobody knows), looked up once. */
static uint32_t unknown_site(ld_trace *t)
{
    if (!t->unknown)
        t->unknown = site_named(t, "?", 1) + 1;
    return t->unknown - 1;
}

/* SITE at field i, which the records that allocate may leave out (when no
 * optional field follows): then it is unknown. */
static int site_or_unknown(ld_trace *t, const mk_field *f, size_t nf, size_t i, uint32_t *site)
{
    if (nf == i) {
        *site = unknown_site(t);
        return 1;
    }
    return site_field(t, &f[i], site);
}

static int define_site(ld_trace *t, const mk_field *id, const mk_field *name)
{
    uint32_t s = site_named(t, name->ptr, name->len);
    uint64_t n;
    if (mk_parse_u64(id->ptr, id->len, &n) == 0 && n < MAX_NUMERIC_ID) {
        while (mk_vec_len(&t->num_ids) <= n)
            *(uint32_t *)mk_vec_push(&t->num_ids) = 0;
        *(uint32_t *)mk_vec_get(&t->num_ids, n) = s + 1;
    } else {
        int ins;
        *mk_map_put(&t->ids, id->ptr, id->len, &ins) = s;
    }
    return 1;
}

/* ---- memkit records ------------------------------------------------------------- */

static int num(ld_trace *t, const mk_field *f, const char *what, uint64_t *v)
{
    char b[48];
    if (mk_parse_u64(f->ptr, f->len, v) == 0)
        return 1;
    return bad(t, "%s: expected a decimal integer, found '%s'", what, shown(f, b));
}

/* TS: decimal, or "=" for the time of the record before. */
static int ts_field(ld_trace *t, const mk_field *f, uint64_t *v)
{
    if (f->len == 1 && f->ptr[0] == '=') {
        if (!t->has_ts)
            return bad(t, "TS: '=' stands for the time of the record before, and there is none");
        *v = t->last_ts;
        return 1;
    }
    int r = num(t, f, "TS", v);
    if (r > 0) {
        t->last_ts = *v;
        t->has_ts = 1;
    }
    return r;
}

/* SIZE: decimal, or hexadecimal after 0x (shorter, and it compresses
 * better: the recorder writes it so). */
static int size_field(ld_trace *t, const mk_field *f, uint64_t *v)
{
    char b[48];
    if (f->len > 2 && f->ptr[0] == '0' && (f->ptr[1] == 'x' || f->ptr[1] == 'X')) {
        if (mk_parse_hex(f->ptr, f->len, v) == 0)
            return 1;
    } else if (mk_parse_u64(f->ptr, f->len, v) == 0) {
        return 1;
    }
    return bad(t, "SIZE: expected a decimal integer or 0x and hex digits, found '%s'", shown(f, b));
}

static int hex(ld_trace *t, const mk_field *f, const char *what, uint64_t *v)
{
    char b[48];
    if (mk_parse_hex(f->ptr, f->len, v) == 0)
        return 1;
    return bad(t, "%s: expected a hex address, found '%s'", what, shown(f, b));
}

/* A block written without its address gets the number of the event record
 * being read (see LD_UNNAMED). */
static uint64_t unnamed(const ld_trace *t)
{
    return LD_UNNAMED | (t->events + 1);
}

/* "^N": the block made N event records back. */
static int back(ld_trace *t, const char *p, size_t n, uint64_t *v)
{
    uint64_t k;
    if (mk_parse_u64(p, n, &k) < 0 || k == 0)
        return bad(t, "expected ^N with N a positive integer, found '^%.*s'", (int)(n < 40 ? n : 40), p);
    if (k > t->events)
        return bad(t, "^%llu: only %llu event records come before this one",
                   (unsigned long long)k, (unsigned long long)t->events);
    *v = LD_UNNAMED | (t->events + 1 - k);
    return 1;
}

/* An address field: hex; "." for a new block written without its address
 * (dot), or "^N" for one made earlier (caret). */
static int block(ld_trace *t, const mk_field *f, const char *what, int dot, int caret, uint64_t *v)
{
    if (dot && f->len == 1 && f->ptr[0] == '.') {
        *v = unnamed(t);
        return 1;
    }
    if (caret && f->len && f->ptr[0] == '^')
        return back(t, f->ptr + 1, f->len - 1, v);
    int r = hex(t, f, what, v);
    if (r > 0 && (*v & LD_UNNAMED)) {
        char b[48];
        return bad(t, "%s: '%s' is 2^63 or more (reserved: no process has such addresses)", what,
                   shown(f, b));
    }
    return r;
}

static int want_fields(ld_trace *t, size_t nf, size_t min, const char *form)
{
    if (nf >= min)
        return 1;
    return bad(t, "expected '%s'", form);
}

/* Optional key=value fields after the positional ones: t=TYPE is used,
 * unknown keys are ignored (later versions may add some). */
static int options(ld_trace *t, const mk_field *f, size_t nf, ld_event *ev)
{
    char b[48];
    for (size_t i = 0; i < nf; i++) {
        const char *eq = memchr(f[i].ptr, '=', f[i].len);
        if (!eq)
            return bad(t, "unexpected field '%s' (optional fields are KEY=VALUE)", shown(&f[i], b));
        if (eq == f[i].ptr + 1 && f[i].ptr[0] == 't')
            ev->type = mk_intern_id(t->types, eq + 1, (size_t)(f[i].ptr + f[i].len - eq - 1));
    }
    return 1;
}

/* 1 = event, 2 = no event (site definition), 0 = skipped (lenient), -1 error. */
static int memkit_record(ld_trace *t, const mk_field *f, size_t nf, const char *line, size_t len,
                         ld_event *ev)
{
    char b[48];
    int r;
    if (f[0].len != 1)
        return bad(t, "unknown record type '%s' (expected + - ~ @ s)", shown(&f[0], b));
    switch (f[0].ptr[0]) {
    case '+':
        if ((r = want_fields(t, nf, 4, "+ TS ADDR SIZE [SITE [t=TYPE]]")) <= 0 ||
            (r = ts_field(t, &f[1], &ev->ts)) <= 0 || (r = block(t, &f[2], "ADDR", 1, 0, &ev->addr)) <= 0 ||
            (r = size_field(t, &f[3], &ev->size)) <= 0 || (r = site_or_unknown(t, f, nf, 4, &ev->site)) <= 0 ||
            (nf > 5 && (r = options(t, f + 5, nf - 5, ev)) <= 0))
            goto skipped;
        ev->kind = LD_ALLOC;
        break;
    case '-':
        if ((r = want_fields(t, nf, 3, "- TS ADDR")) <= 0 || (r = ts_field(t, &f[1], &ev->ts)) <= 0 ||
            (r = block(t, &f[2], "ADDR", 0, 1, &ev->addr)) <= 0)
            goto skipped;
        if (nf > 3 && memchr(f[3].ptr, '=', f[3].len) == NULL) {
            if ((r = site_field(t, &f[3], &ev->site)) <= 0 || (r = options(t, f + 4, nf - 4, ev)) <= 0)
                goto skipped;
        } else if ((r = options(t, f + 3, nf - 3, ev)) <= 0) {
            goto skipped;
        }
        ev->kind = LD_FREE;
        break;
    case '~':
        if ((r = want_fields(t, nf, 5, "~ TS OLD NEW SIZE [SITE]")) <= 0 ||
            (r = ts_field(t, &f[1], &ev->ts)) <= 0 || (r = block(t, &f[2], "OLD", 0, 1, &ev->old)) <= 0 ||
            (r = block(t, &f[3], "NEW", 1, 0, &ev->addr)) <= 0 || (r = size_field(t, &f[4], &ev->size)) <= 0 ||
            (r = site_or_unknown(t, f, nf, 5, &ev->site)) <= 0 ||
            (nf > 6 && (r = options(t, f + 6, nf - 6, ev)) <= 0))
            goto skipped;
        ev->kind = LD_REALLOC;
        break;
    case '@': {
        if ((r = want_fields(t, nf, 2, "@ TS LABEL...")) <= 0 || (r = ts_field(t, &f[1], &ev->ts)) <= 0)
            return r;
        const char *lab = f[1].ptr + f[1].len, *end = line + len;
        while (lab < end && (*lab == ' ' || *lab == '\t'))
            lab++;
        while (end > lab && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
            end--;
        ev->kind = LD_SNAPSHOT;
        ev->label = lab;
        ev->label_len = (size_t)(end - lab);
        break;
    }
    case 's':
        if ((r = want_fields(t, nf, 3, "s ID SITE")) <= 0)
            return r;
        define_site(t, &f[1], &f[2]);
        return 2;
    default:
        return bad(t, "unknown record type '%s' (expected + - ~ @ s)", shown(&f[0], b));
    }
    if (ev->kind != LD_SNAPSHOT)
        t->events++;
    ev->has_ts = 1;
    return 1;
skipped:
    /* A bad + - ~ record (skipped with --lenient) still takes its number,
     * so the ^N after it keep naming the blocks their writer meant. */
    t->events++;
    return r;
}

/* ---- mtrace records ------------------------------------------------------------- */

static int mhex(ld_trace *t, const mk_field *f, size_t i, size_t nf, const char *what, uint64_t *v)
{
    if (i >= nf)
        return bad(t, "mtrace: missing %s", what);
    return hex(t, &f[i], what, v);
}

static int mtrace_record(ld_trace *t, const mk_field *f, size_t nf, ld_event *ev)
{
    char b[48];
    int r;
    if (f[0].len == 1 && f[0].ptr[0] == '=')
        return 2;                       /* "= Start", "= End" */
    size_t i = 0;
    uint32_t site;
    if (f[0].len == 1 && f[0].ptr[0] == '@') {
        if (nf < 3)
            return bad(t, "mtrace: expected '@ CALLER OP ...'");
        /* The raw caller is stable within one trace: normalise it once. */
        int ins;
        uint64_t *v = mk_map_put(&t->callers, f[1].ptr, f[1].len, &ins);
        if (ins) {
            size_t kn = ld_mtrace_site(f[1].ptr, f[1].len, t->key, sizeof t->key);
            *v = site_named(t, t->key, kn);
        }
        site = (uint32_t)*v;
        i = 2;
    } else {
        site = site_named(t, "?", 1);
    }
    if (!is_op(&f[i]))
        return bad(t, "mtrace: unknown operation '%s' (expected + - < > !)", shown(&f[i], b));
    char op = f[i].ptr[0];
    if (t->pending && op != '>') {
        uint64_t pl = t->pend_line;
        t->pending = 0;
        if ((r = bad(t, "mtrace: realloc '<' of line %llu has no '>'", (unsigned long long)pl)) <= 0)
            return r;
    }
    ev->site = site;
    switch (op) {
    case '+':
        if ((r = mhex(t, f, i + 1, nf, "ADDR", &ev->addr)) <= 0 || (r = mhex(t, f, i + 2, nf, "SIZE", &ev->size)) <= 0)
            return r;
        ev->kind = LD_ALLOC;
        return 1;
    case '-':
        if ((r = mhex(t, f, i + 1, nf, "ADDR", &ev->addr)) <= 0)
            return r;
        ev->kind = LD_FREE;
        return 1;
    case '<':
        if ((r = mhex(t, f, i + 1, nf, "ADDR", &t->pend_old)) <= 0)
            return r;
        t->pending = 1;
        t->pend_line = t->line;
        return 2;
    case '>':
        if (!t->pending)
            return bad(t, "mtrace: realloc '>' without its '<'");
        t->pending = 0;
        if ((r = mhex(t, f, i + 1, nf, "ADDR", &ev->addr)) <= 0 || (r = mhex(t, f, i + 2, nf, "SIZE", &ev->size)) <= 0)
            return r;
        ev->old = t->pend_old;
        ev->kind = LD_REALLOC;
        return 1;
    default: /* '!': realloc failed, the old block stays */
        if ((r = mhex(t, f, i + 1, nf, "ADDR", &ev->old)) <= 0)
            return r;
        if (i + 2 < nf && (r = hex(t, &f[i + 2], "SIZE", &ev->size)) <= 0)
            return r;
        ev->kind = LD_REALLOC_FAIL;
        return 1;
    }
}

/* ---- the fast path ---------------------------------------------------------------
 * Most records of a big trace are "+ TS ADDR SIZE $ID" and "- TS ADDR" with
 * single spaces. They are read here in one pass, without splitting into
 * fields first; anything else (tabs, extra fields, an error) returns 0 and
 * goes the general way, which also words the errors. */

/* A decimal field at *pp ending at a space or the end: at most 19 digits. */
static inline int fast_dec(const char **pp, const char *end, uint64_t *v)
{
    const char *p = *pp, *s = p;
    uint64_t x = 0;
    while (p < end && (unsigned)(*p - '0') < 10)
        x = x * 10 + (uint64_t)(*p++ - '0');
    if (p == s || p - s > 19 || (p < end && *p != ' '))
        return 0;
    *v = x;
    *pp = p;
    return 1;
}

/* A hex field (0x optional), at most 16 digits. */
static inline int fast_hex(const char **pp, const char *end, uint64_t *v)
{
    const char *p = *pp;
    if (end - p > 2 && p[0] == '0' && p[1] == 'x')
        p += 2;
    const char *s = p;
    uint64_t x = 0;
    unsigned d;
    while (p < end && (d = mk_hex_value[(unsigned char)*p]) < 16) {
        x = x << 4 | d;
        p++;
    }
    if (p == s || p - s > 16 || (p < end && *p != ' '))
        return 0;
    *v = x;
    *pp = p;
    return 1;
}

/* TS: digits, or "=" for the last time. */
static inline int fast_ts(const ld_trace *t, const char **pp, const char *end, uint64_t *v)
{
    const char *p = *pp;
    if (p < end && *p == '=') {
        if (!t->has_ts || (p + 1 < end && p[1] != ' '))
            return 0;
        *v = t->last_ts;
        *pp = p + 1;
        return 1;
    }
    return fast_dec(pp, end, v);
}

static inline int fast_size(const char **pp, const char *end, uint64_t *v)
{
    const char *p = *pp;
    if (end - p > 2 && p[0] == '0' && p[1] == 'x')
        return fast_hex(pp, end, v);
    return fast_dec(pp, end, v);
}

static int fast_memkit(ld_trace *t, const char *p, size_t len, ld_event *ev)
{
    const char *end = p + len;
    if (len < 5 || p[1] != ' ')
        return 0;
    char kind = p[0];
    p += 2;
    if (kind == '-') {
        if (!fast_ts(t, &p, end, &ev->ts) || p == end)
            return 0;
        p++;
        if (p < end && *p == '^') {
            uint64_t k;
            p++;
            if (!fast_dec(&p, end, &k) || p != end || k == 0 || k > t->events)
                return 0;
            ev->addr = LD_UNNAMED | (t->events + 1 - k);
        } else if (!fast_hex(&p, end, &ev->addr) || p != end || (ev->addr & LD_UNNAMED)) {
            return 0;
        }
        ev->kind = LD_FREE;
        ev->has_ts = 1;
        t->events++;
        t->last_ts = ev->ts;
        t->has_ts = 1;
        return 1;
    }
    if (kind != '+' || !fast_ts(t, &p, end, &ev->ts) || p == end)
        return 0;
    p++;
    if (end - p > 1 && p[0] == '.' && p[1] == ' ') {
        ev->addr = unnamed(t);
        p++;
    } else if (!fast_hex(&p, end, &ev->addr) || (ev->addr & LD_UNNAMED)) {
        return 0;
    }
    if (p == end || !(++p, fast_size(&p, end, &ev->size)))
        return 0;
    if (p == end) {
        ev->site = unknown_site(t);
        goto alloc;
    }
    p++;
    const char *site = p;
    while (p < end && *p != ' ' && *p != '\t')
        p++;
    if (p != end || p == site)
        return 0;               /* options follow, or no site: the general way */
    if (*site == '$') {
        uint64_t id = 0;
        const char *q = site + 1;
        if (!fast_dec(&q, end, &id) || q != end || id >= mk_vec_len(&t->num_ids))
            return 0;
        uint32_t v = *(uint32_t *)mk_vec_get(&t->num_ids, id);
        if (!v)
            return 0;
        ev->site = v - 1;
    } else {
        ev->site = site_named(t, site, (size_t)(end - site));
    }
alloc:
    ev->kind = LD_ALLOC;
    ev->has_ts = 1;
    t->events++;
    t->last_ts = ev->ts;
    t->has_ts = 1;
    return 1;
}

const char *ld_addr_str(uint64_t addr, char *buf, size_t cap)
{
    if (addr & LD_UNNAMED)
        snprintf(buf, cap, "#%llu", (unsigned long long)(addr & ~LD_UNNAMED));
    else
        snprintf(buf, cap, "0x%llx", (unsigned long long)addr);
    return buf;
}

/* ---- the reader ------------------------------------------------------------------ */

int ld_trace_next(ld_trace *t, ld_event *ev)
{
    mk_field f[MAX_FIELDS];
    mk_line ln;
    for (;;) {
        int r = mk_lines_next(t->lines, &ln);
        if (r < 0)
            return -1;
        if (r == 0) {
            if (t->pending) {
                t->pending = 0;
                t->line = t->pend_line;
                if (bad(t, "mtrace: realloc '<' has no '>' (trace cut short?)") < 0)
                    return -1;
            }
            return 0;
        }
        t->line = ln.no;
        if (t->fmt == LD_FMT_MEMKIT && ln.len && (ln.ptr[0] == '+' || ln.ptr[0] == '-')) {
            memset(ev, 0, sizeof *ev);
            ev->type = LD_NO_TYPE;
            ev->site = LD_NO_SITE;
            ev->line = ln.no;
            if (fast_memkit(t, ln.ptr, ln.len, ev))
                return 1;
        }
        size_t nf = mk_split_blank(ln.ptr, ln.len, f, MAX_FIELDS);
        if (nf == 0 || f[0].ptr[0] == '#')
            continue;
        if (nf > MAX_FIELDS) {
            if (bad(t, "more than %d fields", MAX_FIELDS) < 0)
                return -1;
            continue;
        }
        if (t->fmt == LD_FMT_UNKNOWN)
            t->fmt = detect(f, nf);
        memset(ev, 0, sizeof *ev);
        ev->type = LD_NO_TYPE;
        ev->site = LD_NO_SITE;
        ev->line = ln.no;
        r = t->fmt == LD_FMT_MTRACE ? mtrace_record(t, f, nf, ev)
                                    : memkit_record(t, f, nf, ln.ptr, ln.len, ev);
        if (r < 0)
            return -1;
        if (r == 1)
            return 1;
    }
}
