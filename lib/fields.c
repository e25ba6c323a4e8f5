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

void mk_csv_start(mk_csv_cursor *c, const char *p, const char *end, char sep)
{
    c->base = c->pos = p;
    c->end = end;
    c->sep = sep;
    c->mask = p < end ? specials64(p, end, sep) : 0;
}

/* Drop the window's bits before p; past the window, start one at p. */
#define SKIP_TO(p_) do {                                                      \
        const char *to_ = (p_);                                               \
        size_t k_ = (size_t)(to_ - base);                                     \
        if (k_ < 64) {                                                        \
            mask &= ~(uint64_t)0 << k_;                                       \
        } else {                                                              \
            base = to_;                                                       \
            mask = to_ < end ? specials64(to_, end, sep) : 0;                 \
        }                                                                     \
    } while (0)

/* The next window of 64 bytes; at the end of the input, `at_end`. */
#define NEXT_WINDOW(at_end) do {                                              \
        base += 64;                                                           \
        if (base >= end) { at_end; }                                          \
        mask = specials64(base, end, sep);                                    \
    } while (0)

/* A record ends: the cursor keeps the window for the next one. */
static inline int done(mk_csv_cursor *c, const char *base, uint64_t mask, mk_csv_result *r,
                       size_t nf, const char *next)
{
    c->base = base;
    c->mask = mask;
    c->pos = next;
    return finish(r, nf, next);
}

int mk_csv_next(mk_csv_cursor *c, mk_field *f, size_t max, mk_csv_result *r)
{
    const char *end = c->end, *fs = c->pos, *base = c->base;
    uint64_t mask = c->mask;
    const char sep = c->sep;
    size_t nf = 0;
    r->newlines = 0;
    for (;;) {
        while (!mask) {
            NEXT_WINDOW({                       /* last record, no newline */
                const char *e = end;
                if (e > fs && e[-1] == '\r')
                    e--;
                put(f, max, &nf, fs, e);
                return done(c, end, 0, r, nf, end);
            });
        }
        const char *s = base + __builtin_ctzll(mask);
        mask &= mask - 1;
        if (*s == sep) {
            put(f, max, &nf, fs, s);
            fs = s + 1;
            continue;
        }
        if (*s == '\n') {
            const char *e = s;
            if (e > fs && e[-1] == '\r')
                e--;
            put(f, max, &nf, fs, e);
            r->newlines++;
            return done(c, base, mask, r, nf, s + 1);
        }
        /* A quote: a quoted field, whose separators and newlines are data
         * and whose "" pairs are quotes. Walked on the same bits. */
        if (s != fs)
            return csv_error(r, s, "quote inside an unquoted field");
        uint32_t flags = MK_FIELD_QUOTED;
        const char *q;
        for (;;) {
            while (!mask)
                NEXT_WINDOW(return csv_error(r, s, "unterminated quoted field"));
            q = base + __builtin_ctzll(mask);
            mask &= mask - 1;
            if (*q == '\n') {
                r->newlines++;
            } else if (*q == '"') {
                if (q + 1 == end || q[1] != '"')
                    break;
                flags |= MK_FIELD_ESCAPED;
                SKIP_TO(q + 2);
            }
        }
        if (nf < max)
            f[nf] = (mk_field){ s + 1, (uint32_t)(q - s - 1), flags };
        nf++;
        const char *after = q + 1;
        if (after == end)
            return done(c, end, 0, r, nf, end);
        if (*after == '\r' && after + 1 < end && after[1] == '\n')
            after++;
        if (*after == '\n') {
            r->newlines++;
            SKIP_TO(after + 1);
            return done(c, base, mask, r, nf, after + 1);
        }
        if (*after != sep)
            return csv_error(r, after, "unexpected character after closing quote");
        fs = after + 1;
        if (fs == end) {                /* a trailing separator: one more empty field */
            put(f, max, &nf, fs, fs);
            return done(c, end, 0, r, nf, end);
        }
        SKIP_TO(fs);
    }
}

#undef SKIP_TO
#undef NEXT_WINDOW

int mk_csv_record(const char *p, const char *end, char sep, mk_field *f, size_t max,
                  mk_csv_result *r)
{
    mk_csv_cursor c;
    mk_csv_start(&c, p, end, sep);
    return mk_csv_next(&c, f, max, r);
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
