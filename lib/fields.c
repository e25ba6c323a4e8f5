/* fields — zero-copy field splitting (see fields.h). */
#include "fields.h"
#include "err.h"
#include "text.h"
#include "blocks.h"

#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* High bit set in each byte of x that is a space or a tab (exact up to the
 * first such byte, which is all a search needs). */
static inline uint64_t blanks8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t a = x ^ (ones * ' '), b = x ^ (ones * '\t');
    return ((a - ones) & ~a & highs) | ((b - ones) & ~b & highs);
}

/* The first blank at or after i, or n: eight bytes at a time (fields of
 * traces and logs are addresses and numbers, mostly 8 to 16 bytes). */
static inline size_t next_blank(const char *p, size_t n, size_t i)
{
    while (n - i >= 8) {
        uint64_t x;
        memcpy(&x, p + i, 8);
        uint64_t m = blanks8(x);
        if (m)
            return i + (size_t)(__builtin_ctzll(m) >> 3);
        i += 8;
    }
    while (i < n && p[i] != ' ' && p[i] != '\t')
        i++;
    return i;
}

size_t mk_split_blank(const char *p, size_t n, mk_field *f, size_t max)
{
    size_t nf = 0, i = 0;
    for (;;) {
        while (i < n && (p[i] == ' ' || p[i] == '\t'))
            i++;
        if (i >= n)
            return nf;
        size_t s = i;
        i = next_blank(p, n, i);
        if (nf < max)
            f[nf] = (mk_field){ p + s, (uint32_t)(i - s), 0 };
        nf++;
    }
}

size_t mk_split_tsv(const char *p, size_t n, mk_field *f, size_t max)
{
    size_t nf = 0;
    const char *end = p + n;
    for (;;) {
        const char *t = memchr(p, '\t', (size_t)(end - p));
        const char *e = t ? t : end;
        if (nf < max)
            f[nf] = (mk_field){ p, (uint32_t)(e - p), 0 };
        nf++;
        if (!t)
            return nf;
        p = t + 1;
    }
}

size_t mk_tsv_unescape(char *p, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\\' && i + 1 < n) {
            char c = p[++i];
            p[o++] = c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c;
        } else {
            p[o++] = p[i];
        }
    }
    return o;
}

static int csv_error(mk_csv_result *r, const char *at, const char *why)
{
    r->err_at = at;
    r->why = why;
    return -1;
}

/* A quoted field starting at q (the opening quote). On success *fend is the
 * byte after the closing quote. Newlines inside are counted. */
static int quoted(const char *q, const char *end, mk_field *fld, const char **fend,
                  mk_csv_result *r)
{
    const char *s = q + 1, *p = s;
    uint32_t flags = MK_FIELD_QUOTED;
    for (;;) {
        const char *c = memchr(p, '"', (size_t)(end - p));
        if (!c)
            return csv_error(r, q, "unterminated quoted field");
        if (c + 1 < end && c[1] == '"') {
            flags |= MK_FIELD_ESCAPED;
            p = c + 2;
            continue;
        }
        if (memchr(s, '\n', (size_t)(c - s)))   /* rare: count only then */
            r->newlines += mk_count_byte(s, (size_t)(c - s), '\n');
        *fld = (mk_field){ s, (uint32_t)(c - s), flags };
        *fend = c + 1;
        return 0;
    }
}

/* Bit mask of the bytes at p[0..64) that are separators, LFs or quotes. The
 * parser walks these bits instead of the bytes: a typical field costs one
 * bit-scan, not a load and compare of its own. Near the end of the buffer the
 * bytes are copied to a zero-padded window so nothing past `end` is read. */
static inline uint64_t specials64(const char *p, const char *end, char sep)
{
    char tmp[64];
    size_t avail = (size_t)(end - p);
    if (avail < 64) {
        memcpy(tmp, p, avail);
        memset(tmp + avail, sep == '\n' || sep == '"' ? 1 : 0, 64 - avail);
        p = tmp;
    }
    uint64_t m;
#ifdef __SSE2__
    const __m128i vs = _mm_set1_epi8(sep), vn = _mm_set1_epi8('\n'), vq = _mm_set1_epi8('"');
    m = 0;
    for (int k = 0; k < 4; k++) {
        __m128i v = _mm_loadu_si128((const __m128i *)(p + 16 * k));
        __m128i e = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, vs), _mm_cmpeq_epi8(v, vn)),
                                 _mm_cmpeq_epi8(v, vq));
        m |= (uint64_t)(uint32_t)_mm_movemask_epi8(e) << (16 * k);
    }
#else
    m = 0;
    for (int k = 0; k < 64; k++)
        m |= (uint64_t)(p[k] == sep || p[k] == '\n' || p[k] == '"') << k;
#endif
    if (avail < 64)
        m &= ((uint64_t)1 << avail) - 1;
    return m;
}

static inline void put(mk_field *f, size_t max, size_t *nf, const char *s, const char *e)
{
    if (*nf < max)
        f[*nf] = (mk_field){ s, (uint32_t)(e - s), 0 };
    (*nf)++;
}

static inline int finish(mk_csv_result *r, size_t nf, const char *next)
{
    r->next = next;
    r->nf = nf;
    return 0;
}

int mk_csv_record(const char *p, const char *end, char sep, mk_field *f, size_t max,
                  mk_csv_result *r)
{
    size_t nf = 0;
    const char *fs = p;         /* start of the current field */
    const char *base = p;       /* window start; bit i of mask = base[i] */
    uint64_t mask = specials64(base, end, sep);
    r->newlines = 0;
    for (;;) {
        while (!mask) {
            base += 64;
            if (base >= end) {          /* last record, no newline */
                const char *e = end;
                if (e > fs && e[-1] == '\r')
                    e--;
                put(f, max, &nf, fs, e);
                return finish(r, nf, end);
            }
            mask = specials64(base, end, sep);
        }
        const char *c = base + __builtin_ctzll(mask);
        mask &= mask - 1;
        if (*c == sep) {
            put(f, max, &nf, fs, c);
            fs = c + 1;
        } else if (*c == '\n') {
            const char *e = c;
            if (e > fs && e[-1] == '\r')
                e--;
            put(f, max, &nf, fs, e);
            r->newlines++;
            return finish(r, nf, c + 1);
        } else {                        /* a quote */
            if (c != fs)
                return csv_error(r, c, "quote inside an unquoted field");
            mk_field qf;
            const char *after;
            if (quoted(c, end, &qf, &after, r) < 0)
                return -1;
            if (nf < max)
                f[nf] = qf;
            nf++;
            if (after == end)
                return finish(r, nf, end);
            if (*after == '\r' && after + 1 < end && after[1] == '\n')
                after++;
            if (*after == '\n') {
                r->newlines++;
                return finish(r, nf, after + 1);
            }
            if (*after != sep)
                return csv_error(r, after, "unexpected character after closing quote");
            fs = after + 1;
            if (fs == end) {            /* a trailing separator: one more empty field */
                put(f, max, &nf, fs, fs);
                return finish(r, nf, end);
            }
            base = fs;
            mask = specials64(base, end, sep);
        }
    }
}

size_t mk_field_unquote(const mk_field *f, char *dst)
{
    if (!(f->flags & MK_FIELD_ESCAPED)) {
        memcpy(dst, f->ptr, f->len);
        return f->len;
    }
    size_t n = 0;
    for (uint32_t i = 0; i < f->len; i++) {
        dst[n++] = f->ptr[i];
        if (f->ptr[i] == '"' && i + 1 < f->len && f->ptr[i + 1] == '"')
            i++;
    }
    return n;
}

void mk_header_init(mk_header *h, const mk_field *f, size_t n)
{
    h->n = n;
    h->names = mk_xcalloc(n ? n : 1, sizeof *h->names);
    for (size_t i = 0; i < n; i++) {
        char *s = mk_xmalloc(f[i].len + 1);
        size_t len = mk_field_unquote(&f[i], s);
        s[len] = 0;
        if (i == 0 && len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
            memmove(s, s + 3, len - 2);
        h->names[i] = s;
    }
}

int mk_header_find(const mk_header *h, const char *name, size_t len)
{
    for (size_t i = 0; i < h->n; i++)
        if (strlen(h->names[i]) == len && memcmp(h->names[i], name, len) == 0)
            return (int)i;
    /* $N, or a bare number when no column has that name. */
    const char *d = name;
    size_t dl = len;
    if (dl && *d == '$') {
        d++;
        dl--;
    }
    if (dl == 0 || dl > 9)
        return -1;
    size_t v = 0;
    for (size_t i = 0; i < dl; i++) {
        if (d[i] < '0' || d[i] > '9')
            return -1;
        v = v * 10 + (size_t)(d[i] - '0');
    }
    return v >= 1 && v <= h->n ? (int)(v - 1) : -1;
}

const char *mk_header_suggest(const mk_header *h, const char *name, size_t len)
{
    int i = mk_nearest(name, len, (const char *const *)h->names, h->n);
    return i < 0 ? NULL : h->names[i];
}

void mk_header_free(mk_header *h)
{
    for (size_t i = 0; i < h->n; i++)
        free(h->names[i]);
    free(h->names);
    h->names = NULL;
    h->n = 0;
}
