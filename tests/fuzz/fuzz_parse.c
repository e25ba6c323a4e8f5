/* fuzz_parse — strict value parsers and number formatters.
 *
 * Every mk_parse_* runs on the exact input slice (libFuzzer's buffer is
 * exactly `size` bytes, so ASan catches a read of s[n]). Checked: 0 or -1;
 * on -1 the output is untouched and the message is set, printable ASCII and
 * short; integers, hex, booleans and digit-only sizes/durations against an
 * independent oracle; mk_parse_double against strtod (bitwise); and
 * formatters: output fits MK_FMT_BUFSZ, truncation keeps a valid slice,
 * mk_fmt_double reads back bitwise, compound durations read back. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "fuzz.h"
#include "parse.h"

static const uint64_t SENT = 0x5eed5eed5eed5eedULL;

static void check_error(const char *fn, const char *s, size_t n)
{
    const char *m = mk_err_msg();
    size_t len = strlen(m);
    FUZZ_CHECK(strcmp(m, "unknown error") != 0 && len > 0, "%s failed without a message", fn);
    FUZZ_CHECK(len < 300, "%s: message of %zu bytes", fn, len);
    FUZZ_CHECK(m[0] >= 'a' && m[0] <= 'z', "%s: message not lowercase: %s", fn, m);
    for (size_t i = 0; i < len; i++)
        FUZZ_CHECK(m[i] >= 0x20 && m[i] < 0x7f, "%s: raw byte 0x%02x in message", fn,
                   (unsigned char)m[i]);
    (void)s;
    (void)n;
}

/* Oracle for [0-9]+: 1 = value in *v, 0 = not digits, -1 = over UINT64_MAX. */
static int digits(const char *s, size_t n, uint64_t *v)
{
    if (n == 0)
        return 0;
    uint64_t x = 0;
    int over = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        unsigned d = (unsigned)(s[i] - '0');
        if (x > (UINT64_MAX - d) / 10)
            over = 1;
        else if (!over)
            x = x * 10 + d;
    }
    *v = x;
    return over ? -1 : 1;
}

/* [+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int double_syntax(const char *s, size_t n)
{
    size_t i = 0, k;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    for (k = i; i < n && s[i] >= '0' && s[i] <= '9'; i++) {}
    if (i == k)
        return 0;
    if (i < n && s[i] == '.') {
        for (k = ++i; i < n && s[i] >= '0' && s[i] <= '9'; i++) {}
        if (i == k)
            return 0;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        for (k = i; i < n && s[i] >= '0' && s[i] <= '9'; i++) {}
        if (i == k)
            return 0;
    }
    return i == n;
}

static int plain_int(const char *s, size_t n)
{
    size_t i = n && (s[0] == '+' || s[0] == '-');
    if (i == n)
        return 0;
    for (; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static void check_fmt(const char *what, size_t (*fmt)(char *, size_t, void *), void *v,
                      char *full, size_t *full_len)
{
    char buf[MK_FMT_BUFSZ + 8];
    memset(buf, 'X', sizeof buf);
    size_t len = fmt(buf, MK_FMT_BUFSZ, v);
    FUZZ_CHECK(len < MK_FMT_BUFSZ && buf[len] == 0 && strlen(buf) == len, "%s: bad length %zu", what, len);
    FUZZ_CHECK(buf[MK_FMT_BUFSZ] == 'X', "%s wrote past cap", what);
    memcpy(full, buf, len + 1);
    *full_len = len;
    for (size_t cap = 0; cap < MK_FMT_BUFSZ && cap <= len + 1; cap++) {
        char small[MK_FMT_BUFSZ + 1];
        memset(small, 'X', sizeof small);
        size_t l = fmt(small, cap, v);
        if (cap == 0) {
            FUZZ_CHECK(l == 0 && small[0] == 'X', "%s wrote with cap 0", what);
            continue;
        }
        FUZZ_CHECK(l < cap && small[l] == 0 && memcmp(small, full, l) == 0 && small[cap] == 'X',
                   "%s with cap %zu: %zu bytes", what, cap, l);
    }
}

static size_t fmt_double(char *b, size_t c, void *v) { return mk_fmt_double(b, c, *(double *)v); }
static size_t fmt_bytes(char *b, size_t c, void *v) { return mk_fmt_bytes(b, c, *(uint64_t *)v); }
static size_t fmt_dur(char *b, size_t c, void *v) { return mk_fmt_duration(b, c, *(uint64_t *)v); }

static void roundtrip_double(double d)
{
    char buf[MK_FMT_BUFSZ];
    size_t len;
    check_fmt("mk_fmt_double", fmt_double, &d, buf, &len);
    if (!isfinite(d)) {
        FUZZ_CHECK(strcmp(buf, isnan(d) ? "nan" : d < 0 ? "-inf" : "inf") == 0, "fmt %s", buf);
        return;
    }
    double back = 0;
    FUZZ_CHECK(mk_parse_double(buf, len, &back) == 0, "'%s' does not parse back: %s", buf, mk_err_msg());
    FUZZ_CHECK(memcmp(&back, &d, sizeof d) == 0, "%a formatted as '%s' reads back as %a", d, buf, back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The library gets NULL for an empty slice (allowed); the oracles get q. */
    const char *s = size ? (const char *)data : NULL, *q = size ? s : "";
    size_t n = size;
    uint64_t u, dv;
    int64_t i;
    double d;
    int b, k;

    /* Integers. */
    mk_err_set("%s", "");
    i = (int64_t)SENT;
    if (mk_parse_i64(s, n, &i) == 0) {
        int neg = n && q[0] == '-', sg = n && (q[0] == '-' || q[0] == '+');
        k = digits(q + sg, n - sg, &dv);
        FUZZ_CHECK(k == 1 && (neg ? dv <= (uint64_t)INT64_MAX + 1 : dv <= (uint64_t)INT64_MAX) &&
                   (uint64_t)i == (neg ? 0 - dv : dv), "i64 accepted a wrong value %lld", (long long)i);
    } else {
        FUZZ_CHECK(i == (int64_t)SENT, "i64 changed *out on error");
        check_error("mk_parse_i64", s, n);
        int sg = n && (q[0] == '-' || q[0] == '+');
        if (n > (size_t)sg && digits(q + sg, n - sg, &dv) == 1)
            FUZZ_CHECK(q[0] == '-' ? dv > (uint64_t)INT64_MAX + 1 : dv > (uint64_t)INT64_MAX,
                       "i64 rejected a valid integer");
    }
    mk_err_set("%s", "");
    u = SENT;
    k = digits(q, n, &dv);
    if (mk_parse_u64(s, n, &u) == 0) {
        FUZZ_CHECK(k == 1 && u == dv, "u64 accepted a wrong value %llu", (unsigned long long)u);
    } else {
        FUZZ_CHECK(u == SENT, "u64 changed *out on error");
        FUZZ_CHECK(k != 1, "u64 rejected a valid integer");
        check_error("mk_parse_u64", s, n);
    }

    /* Hex. */
    mk_err_set("%s", "");
    u = SENT;
    {
        size_t p = n >= 2 && q[0] == '0' && (q[1] == 'x' || q[1] == 'X') ? 2 : 0, sig = 0;
        int ok = p < n;
        uint64_t v = 0;
        for (size_t j = p; j < n && ok; j++) {
            char c = q[j];
            unsigned h = c >= '0' && c <= '9' ? (unsigned)(c - '0') : c >= 'a' && c <= 'f' ?
                         (unsigned)(c - 'a' + 10) : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 99;
            if (h > 15)
                ok = 0;
            else if (v || h || sig) {
                sig++;
                v = v << 4 | h;
            }
        }
        if (mk_parse_hex(s, n, &u) == 0)
            FUZZ_CHECK(ok && sig <= 16 && u == v, "hex accepted a wrong value %llx", (unsigned long long)u);
        else {
            FUZZ_CHECK(u == SENT, "hex changed *out on error");
            FUZZ_CHECK(!ok || sig > 16, "hex rejected a valid address");
            check_error("mk_parse_hex", s, n);
        }
    }

    /* Double: correctly rounded means the same bits as strtod. */
    mk_err_set("%s", "");
    memcpy(&d, &SENT, sizeof d);
    int syn = double_syntax(q, n);
    if (mk_parse_double(s, n, &d) == 0) {
        FUZZ_CHECK(syn, "double accepted bad syntax");
        FUZZ_CHECK(isfinite(d), "double returned a non-finite value");
        char *c = malloc(n + 1);
        memcpy(c, q, n);
        c[n] = 0;
        double ref = strtod(c, NULL);
        free(c);
        FUZZ_CHECK(memcmp(&ref, &d, sizeof d) == 0, "'%.*s' parsed as %a, strtod says %a", (int)n, q, d, ref);
        roundtrip_double(d);
    } else {
        FUZZ_CHECK(memcmp(&d, &SENT, sizeof d) == 0, "double changed *out on error");
        check_error("mk_parse_double", s, n);
        if (syn && (n <= 64 || plain_int(q, n))) {
            char *c = malloc(n + 1);
            memcpy(c, q, n);
            c[n] = 0;
            double ref = strtod(c, NULL);
            free(c);
            FUZZ_CHECK(!isfinite(ref), "double rejected '%.*s'", (int)n, q);
        }
    }

    /* Sizes: digits alone are bytes; a one-letter unit is a shift. */
    mk_err_set("%s", "");
    u = SENT;
    if (mk_parse_size(s, n, &u) == 0) {
        if (k != 0)
            FUZZ_CHECK(k == 1 && u == dv, "size of digits is %llu", (unsigned long long)u);
    } else {
        FUZZ_CHECK(u == SENT, "size changed *out on error");
        FUZZ_CHECK(k != 1, "size rejected plain digits");
        check_error("mk_parse_size", s, n);
    }
    if (n >= 2) {
        static const char units[] = "kmgtpe";
        const char *up = strchr(units, s[n - 1] | 0x20);
        uint64_t base;
        if (up && s[n - 1] != 0 && digits(s, n - 1, &base) == 1) {
            int shift = 10 * (int)(up - units + 1);
            int fits = base <= (UINT64_MAX >> shift);
            u = SENT;
            int r = mk_parse_size(s, n, &u);
            FUZZ_CHECK(fits ? r == 0 && u == base << shift : r == -1, "size '%.*s' gave %d/%llu",
                       (int)n, s, r, (unsigned long long)u);
        }
    }

    /* Durations: digits alone are seconds. */
    mk_err_set("%s", "");
    u = SENT;
    if (mk_parse_duration(s, n, &u) == 0) {
        if (k != 0)
            FUZZ_CHECK(k == 1 && dv <= UINT64_MAX / 1000000000 && u == dv * 1000000000,
                       "duration of digits is %llu", (unsigned long long)u);
    } else {
        FUZZ_CHECK(u == SENT, "duration changed *out on error");
        FUZZ_CHECK(k != 1 || dv > UINT64_MAX / 1000000000, "duration rejected plain digits");
        check_error("mk_parse_duration", s, n);
    }

    /* Booleans. */
    mk_err_set("%s", "");
    b = 7;
    {
        static const char *const t[] = {"true", "yes", "on", "1"}, *const f[] = {"false", "no", "off", "0"};
        int want = -1;
        for (int j = 0; j < 4; j++) {
            if (strlen(t[j]) == n && strncasecmp(q, t[j], n) == 0)
                want = 1;
            if (strlen(f[j]) == n && strncasecmp(q, f[j], n) == 0)
                want = 0;
        }
        if (mk_parse_bool(s, n, &b) == 0) {
            FUZZ_CHECK(b == want, "bool '%.*s' is %d", (int)n, q, b);
        } else {
            FUZZ_CHECK(b == 7 && want == -1, "bool rejected '%.*s' or changed *out", (int)n, q);
            check_error("mk_parse_bool", s, n);
        }
    }

    /* Formatters on the first 8 bytes as a double and as an integer. */
    if (n >= 8) {
        char buf[MK_FMT_BUFSZ];
        size_t len;
        memcpy(&d, s, 8);
        memcpy(&u, s, 8);
        roundtrip_double(d);
        check_fmt("mk_fmt_bytes", fmt_bytes, &u, buf, &len);
        check_fmt("mk_fmt_duration", fmt_dur, &u, buf, &len);
        if (!strchr(buf, ' ')) {   /* compound form: 3m05s, 1h02m, 2d03h */
            uint64_t back = SENT;
            FUZZ_CHECK(mk_parse_duration(buf, len, &back) == 0, "'%s' does not parse back: %s", buf,
                       mk_err_msg());
            uint64_t half = strchr(buf, 'd') ? 1800000000000ULL : strchr(buf, 'h') ? 30000000000ULL
                                                                                  : 500000000ULL;
            uint64_t diff = back > u ? back - u : u - back;
            /* Nearest unit; at the very top rounding down, so it still parses. */
            FUZZ_CHECK(diff <= half || (back < u && diff < 2 * half && u > UINT64_MAX - half),
                       "'%s' reads back as %llu for %llu", buf,
                       (unsigned long long)back, (unsigned long long)u);
        }
    }
    return 0;
}
