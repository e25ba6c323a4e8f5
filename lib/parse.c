/* parse — strict value parsers and human number formatting (see parse.h). */
#include "parse.h"

#include <float.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

#define COLD __attribute__((cold, noinline))

/* ---- error messages ------------------------------------------------------ */

enum { QUOTE_MAX = 40 };

/* Room for QUOTE_MAX bytes escaped as \xNN, two quotes and "... (N bytes)". */
typedef struct {
    char s[QUOTE_MAX * 4 + 48];
} quoted;

static const char *quote(quoted *q, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t m = n < QUOTE_MAX ? n : QUOTE_MAX, j = 0;
    q->s[j++] = '\'';
    for (size_t i = 0; i < m; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\'' || c == '\\') {
            q->s[j++] = '\\';
            q->s[j++] = (char)c;
        } else if (c >= 0x20 && c < 0x7f) {
            q->s[j++] = (char)c;
        } else {
            q->s[j++] = '\\';
            q->s[j++] = 'x';
            q->s[j++] = hex[c >> 4];
            q->s[j++] = hex[c & 15];
        }
    }
    q->s[j++] = '\'';
    if (n > m)
        snprintf(q->s + j, sizeof q->s - j, "... (%zu bytes)", n);
    else
        q->s[j] = 0;
    return q->s;
}

/* "expected WHAT, found 'S'" */
static COLD int fail(const char *what, const char *s, size_t n)
{
    quoted q;
    return mk_err_set("expected %s, found %s", what, quote(&q, s, n));
}

/* "WHAT out of range: 'S'" */
static COLD int fail_range(const char *what, const char *s, size_t n)
{
    quoted q;
    return mk_err_set("%s out of range: %s", what, quote(&q, s, n));
}

static inline unsigned digit(char c)
{
    return (unsigned)(unsigned char)c - '0';   /* > 9 when not a digit */
}

/* ---- integers ------------------------------------------------------------ */

enum { DEC_OK, DEC_BAD, DEC_RANGE };

/* [0-9]+ into *out. Leading zeros are skipped; up to 19 significant digits
 * cannot overflow (10^19 - 1 < 2^64), so only the 20th and later are
 * checked. A bad byte anywhere wins over overflow. */
static inline int dec_u64(const char *s, size_t n, uint64_t *out)
{
    size_t i = 0;
    uint64_t v = 0;
    if (n == 0)
        return DEC_BAD;
    while (i < n && s[i] == '0')
        i++;
    size_t safe_end = n - i > 19 ? i + 19 : n;
    for (; i < safe_end; i++) {
        unsigned d = digit(s[i]);
        if (d > 9)
            return DEC_BAD;
        v = v * 10 + d;
    }
    if (i < n) {
        int range = 0;
        for (; i < n; i++) {
            unsigned d = digit(s[i]);
            if (d > 9)
                return DEC_BAD;
            if (range || v > (UINT64_MAX - d) / 10)
                range = 1;
            else
                v = v * 10 + d;
        }
        if (range)
            return DEC_RANGE;
    }
    *out = v;
    return DEC_OK;
}

int mk_parse_u64(const char *s, size_t n, uint64_t *out)
{
    int r = dec_u64(s, n, out);
    if (r == DEC_OK)
        return 0;
    if (r == DEC_RANGE)
        return fail_range("integer", s, n);
    if (n && (s[0] == '-' || s[0] == '+'))
        return fail(s[0] == '-' ? "a non-negative integer" : "a non-negative integer without a sign",
                    s, n);
    return fail("an integer", s, n);
}

int mk_parse_i64(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    uint64_t m;
    if (n && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    int r = n ? dec_u64(s + i, n - i, &m) : DEC_BAD;   /* s may be NULL when n is 0 */
    if (r == DEC_OK) {
        if (!neg && m <= (uint64_t)INT64_MAX) {
            *out = (int64_t)m;
            return 0;
        }
        if (neg && m <= (uint64_t)INT64_MAX + 1) {
            *out = m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m;
            return 0;
        }
        r = DEC_RANGE;
    }
    if (r == DEC_RANGE)
        return fail_range("integer", s, n);
    return fail("an integer", s, n);
}

/* Hex digit values; 16 marks anything else. A table, not branches: digits
 * and letters mix at random in addresses, and mispredicted branches cost
 * more than the lookups. */
const uint8_t mk_hex_value[256] = {
#define X16 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16
    X16, X16, X16,
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 16, 16, 16, 16, 16,
    16, 10, 11, 12, 13, 14, 15, 16, 16, 16, 16, 16, 16, 16, 16, 16, X16,
    16, 10, 11, 12, 13, 14, 15, 16, 16, 16, 16, 16, 16, 16, 16, 16, X16,
    X16, X16, X16, X16, X16, X16, X16, X16,
#undef X16
};

int mk_parse_hex(const char *s, size_t n, uint64_t *out)
{
    size_t i = 0;
    if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        i = 2;
    if (i == n)
        goto bad;
    while (i < n - 1 && s[i] == '0')
        i++;                    /* leading zeros do not count */
    uint64_t v = 0;
    unsigned badbits = 0;
    for (size_t j = i; j < n; j++) {
        unsigned d = mk_hex_value[(unsigned char)s[j]];
        badbits |= d;
        v = v << 4 | (d & 15);
    }
    if (badbits & 16)
        goto bad;
    if (n - i > 16)
        return fail_range("hex address", s, n);
    *out = v;
    return 0;
bad:
    return fail("a hex address like 0x7f3a2c001000", s, n);
}

/* ---- double -------------------------------------------------------------- */

#define DOUBLE_WHAT "a number like 3.14, -2 or 1e-6"
enum { DOUBLE_COPY_MAX = 64 };

/* Exactly representable powers of ten (10^22 < 2^53 * 2^22 ... all exact). */
static const double pow10_exact[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

enum { DBL_OK, DBL_BAD, DBL_RANGE, DBL_LONG };

/* The double parser without messages: one of DBL_*, *out set on DBL_OK. */
static int double_core(const char *s, size_t n, double *out)
{
    size_t i = 0;
    int neg = 0, dropped = 0, plain = 1;
    uint64_t w = 0;              /* first 19 significant digits */
    int nd = 0;                  /* significant digits in w */
    long e10 = 0;                /* value = w * 10^e10 when !dropped */

    if (n && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    size_t start = i;
    for (; i < n; i++) {
        unsigned d = digit(s[i]);
        if (d > 9)
            break;
        if (nd < 19) {
            w = w * 10 + d;
            nd += w != 0;
        } else {
            dropped = 1;
            e10++;
        }
    }
    if (i == start)
        goto bad;
    if (i < n && s[i] == '.') {
        plain = 0;
        size_t fstart = ++i;
        for (; i < n; i++) {
            unsigned d = digit(s[i]);
            if (d > 9)
                break;
            if (nd < 19) {
                w = w * 10 + d;
                nd += w != 0;
                e10--;
            } else {
                dropped = 1;
            }
        }
        if (i == fstart)
            goto bad;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        plain = 0;
        int eneg = 0;
        long ev = 0;
        if (++i < n && (s[i] == '-' || s[i] == '+'))
            eneg = s[i++] == '-';
        size_t estart = i;
        for (; i < n; i++) {
            unsigned d = digit(s[i]);
            if (d > 9)
                break;
            if (ev < 100000)
                ev = ev * 10 + d;
        }
        if (i == estart)
            goto bad;
        e10 += eneg ? -ev : ev;
    }
    if (i != n)
        goto bad;

    if (n > DOUBLE_COPY_MAX && !plain)
        return DBL_LONG;
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
    /* Clinger: w and 10^|e10| are exact doubles, so one IEEE multiply or
     * divide gives the correctly rounded result. */
    if (!dropped && w <= (UINT64_C(1) << 53) && e10 >= -22 && e10 <= 22) {
        double v = (double)w;
        v = e10 < 0 ? v / pow10_exact[-e10] : v * pow10_exact[e10];
        *out = neg ? -v : v;
        return DBL_OK;
    }
#endif

    char stackbuf[DOUBLE_COPY_MAX + 1];
    char *buf = n > DOUBLE_COPY_MAX ? mk_xmalloc(n + 1) : stackbuf;
    memcpy(buf, s, n);
    buf[n] = 0;
    double v = strtod(buf, NULL);
    if (buf != stackbuf)
        free(buf);
    if (v > DBL_MAX || v < -DBL_MAX)
        return DBL_RANGE;
    *out = v;
    return DBL_OK;
bad:
    return DBL_BAD;
}

int mk_parse_double(const char *s, size_t n, double *out)
{
    switch (double_core(s, n, out)) {
    case DBL_OK:
        return 0;
    case DBL_RANGE:
        return fail_range("number", s, n);
    case DBL_LONG: {
        quoted q;
        return mk_err_set("expected a number of at most %d characters, found %s",
                          (int)DOUBLE_COPY_MAX, quote(&q, s, n));
    }
    default:
        return fail(DOUBLE_WHAT, s, n);
    }
}

int mk_parse_num(const char *s, size_t n, int64_t *i, double *d)
{
    /* One pass for the common shapes: [-+]digits and [-+]digits.digits with
     * at most 19 significant digits; anything else goes the long way. */
    size_t k = 0;
    int neg = 0;
    if (n && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        k = 1;
    }
    size_t start = k;
    uint64_t w = 0;
    while (k < n && k - start < 19) {
        unsigned dg = digit(s[k]);
        if (dg > 9)
            break;
        w = w * 10 + dg;
        k++;
    }
    if (k == n && k > start) {
        if (w <= (uint64_t)INT64_MAX + (uint64_t)neg) {
            *i = !neg ? (int64_t)w : w == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)w;
            *d = (double)*i;
            return MK_NUM_INT;
        }
    } else if (k < n && s[k] == '.' && k > start && n - start <= 20) {
        size_t f = ++k;
        while (k < n && digit(s[k]) <= 9)
            w = w * 10 + digit(s[k++]);
        if (k == n && k > f && w <= (UINT64_C(1) << 53) && k - f <= 22) {
            double v = (double)w / pow10_exact[k - f];
            *d = neg ? -v : v;
            return MK_NUM_REAL;
        }
    }
    if (double_core(s, n, d) != DBL_OK)
        return 0;
    /* An integer beyond 19 digits, or written with an exponent, is real. */
    return MK_NUM_REAL;
}

/* ---- sizes and durations ------------------------------------------------- */

/* NUMBER = [0-9]+(\.[0-9]+)? at s[*pi..n). Sets the integer part (*ovf when
 * it exceeds UINT64_MAX) and the fraction digits, advances *pi. -1 when
 * there is no NUMBER there. */
static int scan_number(const char *s, size_t n, size_t *pi, uint64_t *ip, int *ovf,
                       const char **frac, size_t *fn)
{
    size_t i = *pi, start = i;
    while (i < n && digit(s[i]) <= 9)
        i++;
    if (i == start)
        return -1;
    int r = dec_u64(s + start, i - start, ip);
    *ovf = r != DEC_OK;
    *frac = NULL;
    *fn = 0;
    if (i < n && s[i] == '.') {
        size_t f = ++i;
        while (i < n && digit(s[i]) <= 9)
            i++;
        if (i == f)
            return -1;
        *frac = s + f;
        *fn = i - f;
    }
    *pi = i;
    return 0;
}

/* floor(0.FRAC * mult), exactly, for mult < 2^64 / 10: multiply the digit
 * string by mult from its last digit; the carry out of the first digit is
 * the integer part. Each step's carry stays below mult. */
static uint64_t frac_times(const char *f, size_t fn, uint64_t mult)
{
    uint64_t carry = 0;
    for (size_t i = fn; i-- > 0;)
        carry = (digit(f[i]) * mult + carry) / 10;
    return carry;
}

/* ip.frac * mult into *v; -1 on overflow. */
static int scale(uint64_t ip, int ovf, const char *frac, size_t fn, uint64_t mult, uint64_t *v)
{
    uint64_t x;
    if (ovf || __builtin_mul_overflow(ip, mult, &x) ||
        __builtin_add_overflow(x, frac_times(frac, fn, mult), &x))
        return -1;
    *v = x;
    return 0;
}

static inline int lower(char c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : (unsigned char)c;
}

int mk_parse_size(const char *s, size_t n, uint64_t *out)
{
    size_t i = 0, fn;
    uint64_t ip, v;
    int ovf, shift = 0;
    const char *frac;
    if (scan_number(s, n, &i, &ip, &ovf, &frac, &fn) < 0)
        goto bad;
    if (i < n) {
        switch (lower(s[i])) {
        case 'k': shift = 10; break;
        case 'm': shift = 20; break;
        case 'g': shift = 30; break;
        case 't': shift = 40; break;
        case 'p': shift = 50; break;
        case 'e': shift = 60; break;
        }
        if (shift)
            i++;
        if (i < n && lower(s[i]) == 'b')
            i++;
        else if (shift && n - i >= 2 && lower(s[i]) == 'i' && lower(s[i + 1]) == 'b')
            i += 2;
    }
    if (i != n)
        goto bad;
    if (scale(ip, ovf, frac, fn, UINT64_C(1) << shift, &v) < 0)
        return fail_range("size", s, n);
    *out = v;
    return 0;
bad:
    return fail("a size like 64K, 50M or 2G", s, n);
}

static const struct {
    char name[4];
    uint8_t len;
    uint64_t mult;
} dur_units[] = {
    {"ns", 2, 1},
    {"us", 2, 1000},
    {"\xc2\xb5s", 3, 1000},          /* µs, U+00B5 MICRO SIGN */
    {"\xce\xbcs", 3, 1000},          /* μs, U+03BC GREEK SMALL LETTER MU */
    {"ms", 2, 1000000},
    {"s", 1, UINT64_C(1000000000)},
    {"m", 1, UINT64_C(60000000000)},
    {"h", 1, UINT64_C(3600000000000)},
    {"d", 1, UINT64_C(86400000000000)},
};

int mk_parse_duration(const char *s, size_t n, uint64_t *out)
{
    size_t i = 0;
    uint64_t total = 0, prev = UINT64_MAX;
    int range = 0;
    do {
        uint64_t ip, mult = 0, v;
        const char *frac;
        size_t fn;
        int ovf;
        if (scan_number(s, n, &i, &ip, &ovf, &frac, &fn) < 0)
            goto bad;
        size_t u = i;
        while (i < n && digit(s[i]) > 9 && s[i] != '.')
            i++;
        if (u == i) {
            if (u != n || prev != UINT64_MAX)
                goto bad;                    /* a unit is missing */
            mult = dur_units[5].mult;        /* the whole value is a bare number */
        } else {
            for (size_t k = 0; k < sizeof dur_units / sizeof dur_units[0]; k++)
                if (dur_units[k].len == i - u && memcmp(dur_units[k].name, s + u, i - u) == 0)
                    mult = dur_units[k].mult;
            if (mult == 0 || mult >= prev)
                goto bad;                    /* unknown, repeated or out of order */
        }
        prev = mult;
        if (scale(ip, ovf, frac, fn, mult, &v) < 0 || __builtin_add_overflow(total, v, &total))
            range = 1;                       /* keep checking the syntax */
    } while (i < n);
    if (range)
        return fail_range("duration", s, n);
    *out = total;
    return 0;
bad:
    return fail("a duration like 500ms, 60s, 5m or 2h (units ns, us, ms, s, m, h, d)", s, n);
}

int mk_parse_bool(const char *s, size_t n, int *out)
{
    static const struct {
        char name[6];
        int val;
    } words[] = {
        {"true", 1}, {"false", 0}, {"yes", 1}, {"no", 0}, {"on", 1}, {"off", 0}, {"1", 1}, {"0", 0},
    };
    for (size_t k = 0; k < sizeof words / sizeof words[0]; k++) {
        if (strlen(words[k].name) != n)
            continue;
        size_t i = 0;
        while (i < n && lower(s[i]) == words[k].name[i])
            i++;
        if (i == n) {
            *out = words[k].val;
            return 0;
        }
    }
    return fail("true/false, yes/no, on/off or 1/0", s, n);
}

/* ---- formatting ---------------------------------------------------------- */

/* Copy len bytes of tmp into buf, truncated to cap - 1, NUL-terminated. */
static size_t put(char *buf, size_t cap, const char *tmp, size_t len)
{
    if (cap == 0)
        return 0;
    if (len >= cap)
        len = cap - 1;
    memcpy(buf, tmp, len);
    buf[len] = 0;
    return len;
}

/* v / unit (v >= unit) with three significant digits and " name" into tmp:
 * "1.50", "15.0", "150", or up to 4 digits below limit ("1023"). Exact
 * integer arithmetic, rounded half up. 0 when it rounds to limit or more:
 * the caller moves on to the next unit. */
static size_t sig3(char *tmp, size_t cap, uint64_t v, uint64_t unit, unsigned limit,
                   const char *name)
{
    for (int prec = 2; prec >= 0; prec--) {
        unsigned scale = prec == 2 ? 100 : prec == 1 ? 10 : 1;
        unsigned __int128 q = ((unsigned __int128)v * (2 * scale) + unit) /
                              ((unsigned __int128)unit * 2);
        if (prec > 0 && q >= 1000)
            continue;                        /* a fourth significant digit */
        if (q >= (unsigned __int128)limit * scale)
            return 0;
        uint64_t x = (uint64_t)q;
        int len = prec ? snprintf(tmp, cap, "%" PRIu64 ".%0*" PRIu64 " %s", x / scale, prec,
                                  x % scale, name)
                       : snprintf(tmp, cap, "%" PRIu64 " %s", x, name);
        return (size_t)len;
    }
    return 0;
}

size_t mk_fmt_bytes(char *buf, size_t cap, uint64_t v)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    char tmp[MK_FMT_BUFSZ];
    size_t len = 0;
    if (v < 1024) {
        len = (size_t)snprintf(tmp, sizeof tmp, "%" PRIu64 " B", v);
    } else {
        int k = 0;
        while (k < 5 && v >> (10 * (k + 2)))
            k++;
        for (; k < 6 && len == 0; k++)   /* EiB never reaches its limit: v < 16 EiB */
            len = sig3(tmp, sizeof tmp, v, UINT64_C(1) << (10 * (k + 1)), 1024, units[k]);
    }
    return put(buf, cap, tmp, len);
}

/* ns / unit rounded to nearest, ties up; unit is even. */
static uint64_t round_div(uint64_t ns, uint64_t unit)
{
    return ns / unit + (ns % unit >= unit / 2);
}

size_t mk_fmt_duration(char *buf, size_t cap, uint64_t ns)
{
    static const struct {
        uint64_t div;
        unsigned limit;
        const char *name;
    } units[] = {
        {1000, 1000, "us"},
        {1000000, 1000, "ms"},
        {1000000000, 60, "s"},
    };
    const uint64_t sec = 1000000000, min = 60 * sec, hour = 60 * min;
    char tmp[MK_FMT_BUFSZ];
    size_t len = 0;
    if (ns < 1000)
        return put(buf, cap, tmp, (size_t)snprintf(tmp, sizeof tmp, "%" PRIu64 " ns", ns));
    int k = ns < 1000000 ? 0 : ns < sec ? 1 : 2;
    if (ns < min)
        for (; k < 3 && len == 0; k++)
            len = sig3(tmp, sizeof tmp, ns, units[k].div, units[k].limit, units[k].name);
    if (len == 0) {
        uint64_t s = round_div(ns, sec), m = round_div(ns, min), h = round_div(ns, hour);
        if (s < 3600)
            len = (size_t)snprintf(tmp, sizeof tmp, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
        else if (m < 24 * 60)
            len = (size_t)snprintf(tmp, sizeof tmp, "%" PRIu64 "h%02" PRIu64 "m", m / 60, m % 60);
        else {
            if (h > UINT64_MAX / hour)   /* rounded up past what parses back: round down */
                h = ns / hour;
            len = (size_t)snprintf(tmp, sizeof tmp, "%" PRIu64 "d%02" PRIu64 "h", h / 24, h % 24);
        }
    }
    return put(buf, cap, tmp, len);
}

size_t mk_fmt_double(char *buf, size_t cap, double v)
{
    char tmp[MK_FMT_BUFSZ];
    int len;
    if (v != v)
        len = snprintf(tmp, sizeof tmp, "nan");
    else if (v > DBL_MAX || v < -DBL_MAX)
        len = snprintf(tmp, sizeof tmp, "%s", v < 0 ? "-inf" : "inf");
    else if (v > -1e15 && v < 1e15 && v == (double)(int64_t)v)
        len = snprintf(tmp, sizeof tmp, "%.0f", v);
    else
        for (int prec = 15;; prec++) {
            len = snprintf(tmp, sizeof tmp, "%.*g", prec, v);
            if (prec == 17 || strtod(tmp, NULL) == v)
                break;
        }
    return put(buf, cap, tmp, (size_t)len);
}
