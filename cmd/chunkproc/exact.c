/* exact — order-independent decimal sums and variances (see exact.h). */
#include "exact.h"
#include "err.h"
#include "parse.h"
#include "word.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_SCALE = 18, MAX_DIGITS = 36 };

static __int128 p10(int k)
{
    __int128 r = 1;
    while (k-- > 0)
        r *= 10;
    return r;
}

/* ---- parsing ----------------------------------------------------------------- */

/* DIGITS[.DIGITS] in 1..8 bytes, without a loop over the digits, whose
 * exit mispredicts whenever the length changes from one row to the next
 * (task A at -j 1: 1.10 s with the loop, 0.95 s with this). The word's
 * bytes are in memory order, so byte 0 is the most significant digit. */
static int dec_swar(const char *p, size_t k, uint64_t *m, int *scale)
{
    uint64_t x = mk_load_short(p, k);
    uint64_t t = x ^ 0x2E2E2E2E2E2E2E2Eull;                     /* '.' → 0 */
    uint64_t dots = (t - 0x0101010101010101ull) & ~t & 0x8080808080808080ull & mk_low_bytes(k);
    size_t len = k;
    *scale = 0;
    if (dots) {
        size_t dp = (size_t)__builtin_ctzll(dots) >> 3;         /* the first: exact */
        if (dp == 0 || dp + 1 >= k)
            return 0;                                           /* ".5", "5." */
        x = (x & mk_low_bytes(dp)) | ((x >> 8) & ~mk_low_bytes(dp));  /* the point out */
        len = k - 1;
        *scale = (int)(len - dp);
    }
    /* Pad with '0' to 8 digits, then all must be digits (a second point too
     * fails here): high nibble 3, and adding 6 must not carry into it. */
    uint64_t z = x | (0x3030303030303030ull & ~mk_low_bytes(len));
    if (((z & 0xF0F0F0F0F0F0F0F0ull) | (((z + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull) >> 4)) !=
        0x3333333333333333ull)
        return 0;
    /* Right-align (leading zeros in the low bytes), then pairs, quads, all 8. */
    uint64_t v = (z - 0x3030303030303030ull) << (8 * (8 - len));
    v = (v * 10 + (v >> 8)) & 0x00FF00FF00FF00FFull;
    v = (v * 100 + (v >> 16)) & 0x0000FFFF0000FFFFull;
    v = (v * 10000 + (v >> 32)) & 0xFFFFFFFFull;
    *m = v;
    return 1;
}

/* Up to 18 characters hold at most 18 digits, which fit in 64 bits: one
 * tight loop, no overflow checks. The common case of every CSV number. */
static int dec_short(const char *p, size_t n, cp_dec *out)
{
    size_t i = 0;
    int neg = 0, scale = 0;
    if (p[0] == '-' || p[0] == '+') {
        neg = p[0] == '-';
        i = 1;
    }
    if (n - i >= 1 && n - i <= 8) {
        uint64_t m;
        if (!dec_swar(p + i, n - i, &m, &scale))
            return 0;
        out->m = neg ? -(__int128)m : (__int128)m;
        out->scale = scale;
        return 1;
    }
    size_t start = i;
    uint64_t w = 0;
    while (i < n && (unsigned)(p[i] - '0') < 10)
        w = w * 10 + (uint64_t)(p[i++] - '0');
    if (i == start)
        return 0;               /* no digit before the point: ".5", "-" */
    if (i < n && p[i] == '.') {
        size_t fs = ++i;
        while (i < n && (unsigned)(p[i] - '0') < 10)
            w = w * 10 + (uint64_t)(p[i++] - '0');
        scale = (int)(i - fs);
        if (scale == 0)
            return 0;           /* "5." */
    }
    if (i != n)
        return 0;
    out->m = neg ? -(__int128)w : (__int128)w;
    out->scale = scale;
    return 1;
}

int cp_dec_parse(const char *p, size_t n, cp_dec *out)
{
    if (n && n <= 18)
        return dec_short(p, n, out);
    size_t i = 0;
    int neg = 0, scale = 0;
    if (i < n && (p[i] == '-' || p[i] == '+'))
        neg = p[i++] == '-';
    size_t start = i;
    /* 64-bit accumulation for the common short numbers; 128-bit only past
     * 18 digits. */
    uint64_t w = 0;
    size_t nd = 0;              /* digits in w, leading zeros included */
    __int128 m = 0;
    int wide = 0;
    for (; i < n; i++) {
        unsigned d = (unsigned)(unsigned char)p[i] - '0';
        if (d > 9) {
            if (p[i] != '.' || scale || i == start || wide > 1)
                break;
            scale = -1;         /* fraction digits follow */
            wide |= 2;
            continue;
        }
        if (scale < 0)
            scale = 0;
        if (wide & 2)
            scale++;
        if (nd < 18) {
            w = w * 10 + d;
            nd++;
        } else {
            if (!(wide & 1)) {
                m = (__int128)w;
                wide |= 1;
            }
            if (m > ((__int128)1 << 120))
                return 0;       /* past 36 digits */
            m = m * 10 + d;
        }
    }
    if (i != n || i == start || scale < 0 || scale > MAX_SCALE || p[n - 1] == '.')
        return 0;
    if (!(wide & 1))
        m = (__int128)w;
    out->m = neg ? -m : m;
    out->scale = scale;
    return 1;
}

/* ---- sums ------------------------------------------------------------------ */

static void neumaier(double *sum, double *comp, double x)
{
    double t = *sum + x;
    if (fabs(*sum) >= fabs(x))
        *comp += (*sum - t) + x;
    else
        *comp += (x - t) + *sum;
    *sum = t;
}

static double dec_double(__int128 m, int scale)
{
    return (double)((long double)m / (long double)p10(scale));
}

/* Give up exactness: the exact part joins the compensated one. */
static void to_inexact(cp_xsum *s)
{
    if (s->inexact)
        return;
    neumaier(&s->dsum, &s->dcomp, dec_double(s->sum, s->scale));
    s->sum = 0;
    s->inexact = 1;
}

/* a += b (both scaled by 10^scale) with a common scale; 0 on overflow. */
static int add_scaled(__int128 *a, int *as, __int128 b, int bs)
{
    __int128 r;
    if (*as == bs) {            /* the common case: one scale throughout */
        /* Not straight into *a: on overflow the caller turns the sum so
         * far into a double, so it must not be the wrapped one. */
        if (__builtin_add_overflow(*a, b, &r))
            return 0;
        *a = r;
        return 1;
    }
    __int128 x = *a, y = b;
    int sc = *as > bs ? *as : bs;
    if (sc > *as && __builtin_mul_overflow(x, p10(sc - *as), &x))
        return 0;
    if (sc > bs && __builtin_mul_overflow(y, p10(sc - bs), &y))
        return 0;
    if (__builtin_add_overflow(x, y, &x))
        return 0;
    *a = x;
    *as = sc;
    return 1;
}

int cp_xsum_add_rescaled(cp_xsum *s, const cp_dec *dv)
{
    return !s->inexact && add_scaled(&s->sum, &s->scale, dv->m, dv->scale);
}

void cp_xsum_add(cp_xsum *s, const cp_dec *dv, double d)
{
    if (!s->inexact && dv && add_scaled(&s->sum, &s->scale, dv->m, dv->scale))
        return;
    to_inexact(s);
    neumaier(&s->dsum, &s->dcomp, d);
}

void cp_xsum_merge(cp_xsum *dst, const cp_xsum *src)
{
    if (!dst->inexact && !src->inexact && add_scaled(&dst->sum, &dst->scale, src->sum, src->scale))
        return;
    to_inexact(dst);
    if (src->inexact) {
        neumaier(&dst->dsum, &dst->dcomp, src->dsum);
        dst->dcomp += src->dcomp;
    } else {
        neumaier(&dst->dsum, &dst->dcomp, dec_double(src->sum, src->scale));
    }
}

double cp_xsum_value(const cp_xsum *s)
{
    return s->inexact ? s->dsum + s->dcomp : dec_double(s->sum, s->scale);
}

size_t cp_xsum_format(const cp_xsum *s, char *buf, size_t cap)
{
    if (s->inexact)
        return mk_fmt_double(buf, cap, s->dsum + s->dcomp);
    char d[48];
    int i = 48, neg = s->sum < 0;
    unsigned __int128 u = neg ? (unsigned __int128)0 - (unsigned __int128)s->sum : (unsigned __int128)s->sum;
    int sc = s->scale;
    /* Drop trailing fraction zeros: 4.50 + 1.50 prints as 6. */
    while (sc > 0 && u % 10 == 0) {
        u /= 10;
        sc--;
    }
    int k = 0;
    do {
        if (k == sc && sc > 0)
            d[--i] = '.';
        d[--i] = (char)('0' + (int)(u % 10));
        u /= 10;
        k++;
    } while (u || k <= sc);
    if (neg)
        d[--i] = '-';
    size_t n = (size_t)(48 - i);
    if (n >= cap)
        n = cap ? cap - 1 : 0;
    memcpy(buf, d + i, n);
    if (cap)
        buf[n] = 0;
    return n;
}

void cp_i128_out(mk_out *o, __int128 v)
{
    char b[48];
    int i = 48, neg = v < 0;
    unsigned __int128 u = neg ? (unsigned __int128)0 - (unsigned __int128)v : (unsigned __int128)v;
    do
        b[--i] = (char)('0' + (int)(u % 10));
    while (u /= 10);
    if (neg)
        b[--i] = '-';
    mk_out_write(o, b + i, (size_t)(48 - i));
}

/* Saved states are parts after colons; doubles in hex, exact to the bit
 * (not printf: spills write millions of them). */
static void put_int(mk_out *o, int64_t v)
{
    mk_out_char(o, ':');
    mk_out_i64(o, v);
}

static void put_hex(mk_out *o, double d)
{
    mk_out_char(o, ':');
    mk_out_hex_double(o, d);
}

void cp_xsum_save(const cp_xsum *s, mk_out *o)
{
    cp_i128_out(o, s->sum);
    put_int(o, s->scale);
    put_int(o, s->inexact);
    put_hex(o, s->dsum);
    put_hex(o, s->dcomp);
}

/* Parts of a saved state, separated by ':'. */
typedef struct {
    const char *p, *end;
    int bad;
} cursor;

static const char *take(cursor *c, size_t *n)
{
    if (c->p > c->end) {
        c->bad = 1;
        *n = 0;
        return "";
    }
    const char *colon = memchr(c->p, ':', (size_t)(c->end - c->p));
    const char *e = colon ? colon : c->end;
    const char *s = c->p;
    *n = (size_t)(e - s);
    c->p = e + 1;
    return s;
}

static __int128 take_i128(cursor *c)
{
    size_t n;
    const char *s = take(c, &n);
    cp_dec d;
    if (!cp_dec_parse(s, n, &d) || d.scale) {
        c->bad = 1;
        return 0;
    }
    return d.m;
}

static int take_int(cursor *c)
{
    size_t n;
    const char *s = take(c, &n);
    int64_t v;
    if (mk_parse_num(s, n, &v, &(double){ 0 }) != MK_NUM_INT || v < 0 || v > 64) {
        c->bad = 1;
        return 0;
    }
    return (int)v;
}

static uint64_t take_u64(cursor *c)
{
    size_t n;
    const char *s = take(c, &n);
    uint64_t v = 0;
    if (mk_parse_u64(s, n, &v) < 0)
        c->bad = 1;
    return v;
}

/* Hexadecimal floats (%a) read back exactly through strtod. */
static double take_double(cursor *c)
{
    size_t n;
    const char *s = take(c, &n);
    char b[64];
    if (n == 0 || n >= sizeof b) {
        c->bad = 1;
        return 0;
    }
    memcpy(b, s, n);
    b[n] = 0;
    char *e;
    double v = strtod(b, &e);
    if (*e)
        c->bad = 1;
    return v;
}

int cp_xsum_load(cp_xsum *s, const char *p, size_t n)
{
    cursor c = { p, p + n, 0 };
    s->sum = take_i128(&c);
    s->scale = take_int(&c);
    s->inexact = take_int(&c) != 0;
    s->dsum = take_double(&c);
    s->dcomp = take_double(&c);
    return c.bad || s->scale > MAX_SCALE ? -1 : 0;
}

/* ---- variances ------------------------------------------------------------------ */

static void var_to_inexact(cp_xvar *v)
{
    if (v->inexact)
        return;
    mk_moments_init(&v->mo);
    if (v->n) {
        long double sc = (long double)p10(v->scale), n = (long double)v->n;
        long double s1 = (long double)v->s1 / sc, s2 = (long double)v->s2 / (sc * sc);
        v->mo.n = v->n;
        v->mo.mean = (double)(s1 / n);
        v->mo.m2 = (double)(s2 - s1 * s1 / n);
        v->mo.sum = (double)s1;
        v->mo.sum_c = 0;
    }
    v->inexact = 1;
}

/* s1 += s1b, s2 += s2b (given at `scale`), at a common scale; 0 on
 * overflow (nothing changed). */
static int var_add_exact(cp_xvar *v, int scale, __int128 s1b, __int128 s2b, uint64_t nb)
{
    __int128 s1 = v->s1, s2 = v->s2, a1 = s1b, a2 = s2b;
    int sc = v->scale > scale ? v->scale : scale;
    if (sc > v->scale && (__builtin_mul_overflow(s1, p10(sc - v->scale), &s1) ||
                          __builtin_mul_overflow(s2, p10(2 * (sc - v->scale)), &s2)))
        return 0;
    if (sc > scale && (__builtin_mul_overflow(a1, p10(sc - scale), &a1) ||
                       __builtin_mul_overflow(a2, p10(2 * (sc - scale)), &a2)))
        return 0;
    if (__builtin_add_overflow(s1, a1, &s1) || __builtin_add_overflow(s2, a2, &s2))
        return 0;
    v->s1 = s1;
    v->s2 = s2;
    v->scale = sc;
    v->n += nb;
    return 1;
}

int cp_xvar_add_exact(cp_xvar *v, const cp_dec *dv)
{
    __int128 sq;
    return !v->inexact && 2 * dv->scale <= 38 && !__builtin_mul_overflow(dv->m, dv->m, &sq) &&
           var_add_exact(v, dv->scale, dv->m, sq, 1);
}

void cp_xvar_add(cp_xvar *v, const cp_dec *dv, double d)
{
    if (dv && cp_xvar_add_exact(v, dv))
        return;
    var_to_inexact(v);
    mk_moments_add(&v->mo, d);
    v->n++;
}

void cp_xvar_merge(cp_xvar *dst, const cp_xvar *src)
{
    if (!src->n)
        return;
    if (!dst->inexact && !src->inexact &&
        var_add_exact(dst, src->scale, src->s1, src->s2, src->n))
        return;
    var_to_inexact(dst);
    cp_xvar s = *src;
    var_to_inexact(&s);
    mk_moments_merge(&dst->mo, &s.mo);
    dst->n += src->n;
}

double cp_xvar_variance(const cp_xvar *v)
{
    if (v->n < 2)
        return NAN;
    if (v->inexact)
        return mk_moments_variance(&v->mo);
    /* (n s2 - s1^2) / (n (n-1)), exact in integers when it fits. */
    __int128 a, b, num;
    long double sc2 = (long double)p10(2 * v->scale), nn = (long double)v->n;
    if (!__builtin_mul_overflow((__int128)v->n, v->s2, &a) &&
        !__builtin_mul_overflow(v->s1, v->s1, &b) && !__builtin_sub_overflow(a, b, &num))
        return (double)((long double)num / (nn * (nn - 1)) / sc2);
    long double s1 = (long double)v->s1, s2 = (long double)v->s2;
    return (double)((nn * s2 - s1 * s1) / (nn * (nn - 1)) / sc2);
}

void cp_xvar_save(const cp_xvar *v, mk_out *o)
{
    mk_out_u64(o, v->n);
    mk_out_char(o, ':');
    cp_i128_out(o, v->s1);
    mk_out_char(o, ':');
    cp_i128_out(o, v->s2);
    put_int(o, v->scale);
    put_int(o, v->inexact);
    mk_out_char(o, ':');
    mk_out_u64(o, v->mo.n);
    put_hex(o, v->mo.mean);
    put_hex(o, v->mo.m2);
    put_hex(o, v->mo.sum);
    put_hex(o, v->mo.sum_c);
}

int cp_xvar_load(cp_xvar *v, const char *p, size_t n)
{
    cursor c = { p, p + n, 0 };
    v->n = take_u64(&c);
    v->s1 = take_i128(&c);
    v->s2 = take_i128(&c);
    v->scale = take_int(&c);
    v->inexact = take_int(&c) != 0;
    v->mo.n = take_u64(&c);
    v->mo.mean = take_double(&c);
    v->mo.m2 = take_double(&c);
    v->mo.sum = take_double(&c);
    v->mo.sum_c = take_double(&c);
    return c.bad || v->scale > MAX_SCALE ? -1 : 0;
}
