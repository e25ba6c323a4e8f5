/* Unit tests for lib/parse: every accepted form and rejection of each parser,
 * exact boundaries, error messages, randomized comparison with strtod, and
 * the human formatters. Every parser call goes through a copy of exactly n
 * malloc'd bytes (no NUL after it), so ASan reports any read past the slice. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "err.h"
#include "parse.h"
#include "unit.h"

UNIT_RNG(0x2545f4914f6cdd1du)

/* A copy of s[0..n) in exactly n heap bytes: reading s[n] is an ASan error. */
static char *exact(const char *s, size_t n)
{
    char *p = malloc(n);
    if (n)
        memcpy(p, s, n);
    return p;
}

/* Parser calls on exact copies. Each clears the error message first, so a
 * message checked afterwards was set by this call. */
#define EXACT_CALL(fn, s, n, out) ({ char *c_ = exact((s), (n)); mk_err_set("%s", ""); \
    int r_ = fn(c_, (n), (out)); free(c_); r_; })
static int p_i64(const char *s, int64_t *v) { return EXACT_CALL(mk_parse_i64, s, strlen(s), v); }
static int p_u64(const char *s, uint64_t *v) { return EXACT_CALL(mk_parse_u64, s, strlen(s), v); }
static int p_hex(const char *s, uint64_t *v) { return EXACT_CALL(mk_parse_hex, s, strlen(s), v); }
static int p_dbl(const char *s, double *v) { return EXACT_CALL(mk_parse_double, s, strlen(s), v); }
static int p_size(const char *s, uint64_t *v) { return EXACT_CALL(mk_parse_size, s, strlen(s), v); }
static int p_dur(const char *s, uint64_t *v) { return EXACT_CALL(mk_parse_duration, s, strlen(s), v); }
static int p_bool(const char *s, int *v) { return EXACT_CALL(mk_parse_bool, s, strlen(s), v); }

static int same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* ---- shared tables ------------------------------------------------------- */

struct ok_u { const char *in; uint64_t want; };
struct ok_i { const char *in; int64_t want; };
struct bad { const char *in; const char *msg; };

/* Each rejection leaves *out untouched, returns -1 and sets msg. */
#define CHECK_BAD(call, table, sentinel_type, sentinel) do { \
    for (size_t k_ = 0; k_ < sizeof(table) / sizeof(table)[0]; k_++) { \
        sentinel_type v_ = (sentinel); \
        int r_ = call((table)[k_].in, &v_); \
        if (r_ != -1 || memcmp(&v_, &(sentinel_type){sentinel}, sizeof v_) != 0) \
            printf("# input '%s'\n", (table)[k_].in); \
        CHECK_INT(r_, -1); \
        CHECK(memcmp(&v_, &(sentinel_type){sentinel}, sizeof v_) == 0); \
        CHECK_CONTAINS(mk_err_msg(), (table)[k_].msg); \
    } } while (0)

#define CHECK_OK(call, table, type) do { \
    for (size_t k_ = 0; k_ < sizeof(table) / sizeof(table)[0]; k_++) { \
        type v_ = 0; \
        int r_ = call((table)[k_].in, &v_); \
        if (r_ != 0 || v_ != (table)[k_].want) \
            printf("# input '%s': %s\n", (table)[k_].in, r_ ? mk_err_msg() : "wrong value"); \
        CHECK_INT(r_, 0); \
        CHECK_U64(v_, (table)[k_].want); \
    } } while (0)

/* ---- integers ------------------------------------------------------------ */

static void test_i64_ok(void)
{
    static const struct ok_i t[] = {
        {"0", 0}, {"-0", 0}, {"+0", 0}, {"7", 7}, {"+5", 5}, {"-5", -5}, {"007", 7},
        {"1234567890", 1234567890}, {"-1234567890", -1234567890},
        {"9223372036854775807", INT64_MAX}, {"+9223372036854775807", INT64_MAX},
        {"-9223372036854775808", INT64_MIN}, {"-9223372036854775807", -INT64_MAX},
        {"00000000000000000000000000000042", 42},
        {"-00000000000000000000009223372036854775808", INT64_MIN},
        {"999999999999999999", 999999999999999999},
        {"1000000000000000000", 1000000000000000000},
    };
    CHECK_OK(p_i64, t, int64_t);
}

static void test_i64_bad(void)
{
    static const struct bad t[] = {
        {"", "expected an integer, found ''"},
        {"-", "expected an integer, found '-'"},
        {"+", "expected an integer, found '+'"},
        {"abc", "expected an integer, found 'abc'"},
        {" 1", "expected an integer, found ' 1'"},
        {"1 ", "expected an integer, found '1 '"},
        {"1a", "expected an integer"},
        {"1.5", "expected an integer"},
        {"1e3", "expected an integer"},
        {"0x10", "expected an integer"},
        {"--1", "expected an integer"},
        {"+-1", "expected an integer"},
        {"1_000", "expected an integer"},
        {"12\n", "found '12\\x0a'"},
        {"\x01\xff", "found '\\x01\\xff'"},
        {"it's", "found 'it\\'s'"},
        {"9223372036854775808", "integer out of range: '9223372036854775808'"},
        {"-9223372036854775809", "integer out of range: '-9223372036854775809'"},
        {"99999999999999999999", "integer out of range: '99999999999999999999'"},
        {"18446744073709551616", "integer out of range"},
        {"123456789012345678901234567890", "integer out of range"},
        /* a bad byte after an overflow is a syntax error, not a range error */
        {"99999999999999999999x", "expected an integer"},
    };
    CHECK_BAD(p_i64, t, int64_t, 12345);
}

static void test_u64_ok(void)
{
    static const struct ok_u t[] = {
        {"0", 0}, {"1", 1}, {"00", 0}, {"4294967296", UINT64_C(4294967296)},
        {"9999999999999999999", UINT64_C(9999999999999999999)},       /* 19 digits */
        {"10000000000000000000", UINT64_C(10000000000000000000)},     /* 20 digits */
        {"18446744073709551615", UINT64_MAX},
        {"000000000000000000000018446744073709551615", UINT64_MAX},
        {"18446744073709551610", UINT64_MAX - 5},
    };
    CHECK_OK(p_u64, t, uint64_t);
}

static void test_u64_bad(void)
{
    static const struct bad t[] = {
        {"", "expected an integer, found ''"},
        {"-1", "expected a non-negative integer, found '-1'"},
        {"-0", "expected a non-negative integer"},
        {"+1", "expected a non-negative integer without a sign, found '+1'"},
        {"x", "expected an integer, found 'x'"},
        {"1-", "expected an integer, found '1-'"},
        {"1 2", "expected an integer"},
        {"18446744073709551616", "integer out of range: '18446744073709551616'"},
        {"18446744073709551620", "integer out of range"},
        {"99999999999999999999", "integer out of range: '99999999999999999999'"},
        {"100000000000000000000", "integer out of range"},
    };
    CHECK_BAD(p_u64, t, uint64_t, 777);
}

/* Slices inside a bigger buffer: the bytes after n must not matter. */
static void test_slices(void)
{
    const char *buf = "12345 678x";
    int64_t i = 0;
    uint64_t u = 0, h = 0, sz = 0, ns = 0;
    double d = 0;
    int b = -1;
    CHECK_INT(mk_parse_i64(buf, 3, &i), 0);
    CHECK_INT(i, 123);
    CHECK_INT(mk_parse_u64(buf + 6, 3, &u), 0);
    CHECK_U64(u, 678);
    CHECK_INT(mk_parse_u64(buf + 6, 4, &u), -1);
    CHECK_CONTAINS(mk_err_msg(), "found '678x'");
    CHECK_INT(mk_parse_hex("0xffq", 4, &h), 0);
    CHECK_U64(h, 0xff);
    CHECK_INT(mk_parse_double("1.25e", 4, &d), 0);
    CHECK(d == 1.25);
    CHECK_INT(mk_parse_size("64KiBx", 4, &sz), -1);       /* "64Ki" */
    CHECK_CONTAINS(mk_err_msg(), "found '64Ki'");
    CHECK_INT(mk_parse_size("64KiBx", 5, &sz), 0);        /* "64KiB" */
    CHECK_U64(sz, 65536);
    CHECK_INT(mk_parse_size("64KiBx", 3, &sz), 0);
    CHECK_U64(sz, 65536);
    CHECK_INT(mk_parse_duration("5ms", 2, &ns), 0);       /* "5m" */
    CHECK_U64(ns, UINT64_C(300000000000));
    CHECK_INT(mk_parse_bool("onx", 2, &b), 0);
    CHECK_INT(b, 1);
    /* n == 0 never dereferences s */
    CHECK_INT(mk_parse_i64(NULL, 0, &i), -1);
    CHECK_INT(mk_parse_u64(NULL, 0, &u), -1);
    CHECK_INT(mk_parse_hex(NULL, 0, &h), -1);
    CHECK_INT(mk_parse_double(NULL, 0, &d), -1);
    CHECK_INT(mk_parse_size(NULL, 0, &sz), -1);
    CHECK_INT(mk_parse_duration(NULL, 0, &ns), -1);
    CHECK_INT(mk_parse_bool(NULL, 0, &b), -1);
    CHECK_CONTAINS(mk_err_msg(), "found ''");
}

/* Long found text is cut to 40 bytes and its length given. */
static void test_message_truncation(void)
{
    char in[200];
    memset(in, 'a', sizeof in - 1);
    in[sizeof in - 1] = 0;
    int64_t v;
    CHECK_INT(p_i64(in, &v), -1);
    CHECK_CONTAINS(mk_err_msg(), "found 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'... (199 bytes)");
    CHECK(!strstr(mk_err_msg(), "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));   /* not 41 */
    memset(in, '\x80', 100);
    in[100] = 0;
    CHECK_INT(p_i64(in, &v), -1);
    CHECK_CONTAINS(mk_err_msg(), "'\\x80\\x80");
    CHECK_CONTAINS(mk_err_msg(), "\\x80'... (100 bytes)");
    CHECK(strlen(mk_err_msg()) < 220);
    /* exactly 40 bytes: no ellipsis */
    CHECK_INT(p_i64("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &v), -1);
    CHECK_CONTAINS(mk_err_msg(), "aaaa'");
    CHECK(!strstr(mk_err_msg(), "..."));
}

static void test_int_random(void)
{
    char s[32];
    for (int k = 0; k < 100000; k++) {
        uint64_t r = rnd() >> (rnd() % 64);
        int64_t i = (int64_t)r * ((k & 1) ? -1 : 1), gi = 0;
        uint64_t gu = 0;
        snprintf(s, sizeof s, "%" PRId64, i);
        if (p_i64(s, &gi) != 0 || gi != i) {
            CHECK_STR(s, "parsed back as i64");
            break;
        }
        snprintf(s, sizeof s, "%" PRIu64, r);
        if (p_u64(s, &gu) != 0 || gu != r) {
            CHECK_STR(s, "parsed back as u64");
            break;
        }
        snprintf(s, sizeof s, (k & 2) ? "0x%" PRIx64 : "%" PRIX64, r);
        if (p_hex(s, &gu) != 0 || gu != r) {
            CHECK_STR(s, "parsed back as hex");
            break;
        }
    }
}

static void test_hex(void)
{
    static const struct ok_u ok[] = {
        {"0", 0}, {"0x0", 0}, {"0X0", 0}, {"a", 10}, {"F", 15}, {"0x10", 16},
        {"0XDEADbeef", UINT64_C(0xdeadbeef)}, {"7f3a2c001000", UINT64_C(0x7f3a2c001000)},
        {"0xffffffffffffffff", UINT64_MAX}, {"FFFFFFFFFFFFFFFF", UINT64_MAX},
        {"0x00000000000000000001", 1},                     /* leading zeros do not count */
        {"0x8000000000000000", UINT64_C(0x8000000000000000)},
    };
    CHECK_OK(p_hex, ok, uint64_t);

    static const struct bad bad[] = {
        {"", "expected a hex address like 0x7f3a2c001000, found ''"},
        {"0x", "expected a hex address like 0x7f3a2c001000, found '0x'"},
        {"0X", "expected a hex address"},
        {"x10", "expected a hex address"},
        {"0x0x", "expected a hex address"},
        {"0xg", "found '0xg'"},
        {"-0x1", "expected a hex address"},
        {"+1", "expected a hex address"},
        {"0x 1", "expected a hex address"},
        {"12 ", "expected a hex address"},
        {"0x10000000000000000", "hex address out of range: '0x10000000000000000'"},
        {"fffffffffffffffff", "hex address out of range"},
        {"fffffffffffffffffz", "expected a hex address"},
    };
    CHECK_BAD(p_hex, bad, uint64_t, 99);
}

/* ---- double -------------------------------------------------------------- */

static void test_double_ok(void)
{
    static const struct { const char *in; double want; } t[] = {
        {"0", 0.0}, {"1", 1.0}, {"-2", -2.0}, {"+3", 3.0}, {"007", 7.0},
        {"1.5", 1.5}, {"-1.5", -1.5}, {"0.1", 0.1}, {"123.456", 123.456},
        {"3.14159265358979", 3.14159265358979}, {"0.000001", 1e-6},
        {"1e3", 1000.0}, {"1E3", 1000.0}, {"1e+3", 1000.0}, {"1e-3", 0.001},
        {"+2.5e+2", 250.0}, {"-2.5E-2", -0.025}, {"1e0", 1.0}, {"1e-0", 1.0},
        {"9007199254740993", 9007199254740992.0},           /* 2^53 + 1: ties to even */
        {"9007199254740995", 9007199254740996.0},
        {"1e22", 1e22}, {"1e23", 1e23}, {"1e-22", 1e-22}, {"1e-23", 1e-23},
        {"1.7976931348623157e308", DBL_MAX},
        {"2.2250738585072014e-308", DBL_MIN},
        {"4.9406564584124654e-324", 4.9406564584124654e-324},
        {"1e-400", 0.0},                                    /* underflow is not an error */
        {"0.30000000000000004", 0.30000000000000004},
        {"123456789012345678901234567890", 123456789012345678901234567890.0},
        {"00000000000000000000000000000000000000000000000000000000000000000000000001", 1.0},
        {"1000000000000000000000000000000000000000000000000000000000000000000000000000",
         1e75},
        {"0e99999999999", 0.0},
        {"1e00000000000000000000000000000000000000000000000000000000000003", 1000.0},
    };
    for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
        double v = -99;
        int r = p_dbl(t[k].in, &v);
        if (r != 0 || !same_bits(v, t[k].want))
            printf("# input '%s': %s, got %.17g\n", t[k].in, r ? mk_err_msg() : "wrong value", v);
        CHECK_INT(r, 0);
        CHECK(same_bits(v, t[k].want));
    }
    double v = 0;
    CHECK_INT(p_dbl("-0", &v), 0);
    CHECK(v == 0 && signbit(v));
    CHECK_INT(p_dbl("-0.0e5", &v), 0);
    CHECK(v == 0 && signbit(v));
}

static void test_double_bad(void)
{
    char longnum[80];
    memset(longnum, '1', sizeof longnum - 1);
    longnum[sizeof longnum - 1] = 0;
    longnum[1] = '.';                                      /* 79 bytes, not plain */
    const struct bad t[] = {
        {"", "expected a number like 3.14, -2 or 1e-6, found ''"},
        {"-", "expected a number"},
        {"+", "expected a number"},
        {"inf", "expected a number like 3.14, -2 or 1e-6, found 'inf'"},
        {"-inf", "expected a number"},
        {"Infinity", "expected a number"},
        {"nan", "expected a number"},
        {"NaN", "expected a number"},
        {".5", "expected a number"},
        {"5.", "expected a number"},
        {"-.5", "expected a number"},
        {".", "expected a number"},
        {"1e", "expected a number"},
        {"1e+", "expected a number"},
        {"1e-", "expected a number"},
        {"1.e3", "expected a number"},
        {"e3", "expected a number"},
        {"0x1p3", "expected a number"},
        {"0x10", "expected a number"},
        {" 1", "expected a number"},
        {"1 ", "expected a number"},
        {"1,5", "expected a number"},
        {"1.5.2", "expected a number"},
        {"--1", "expected a number"},
        {"1.5x", "found '1.5x'"},
        {"1e5.5", "expected a number"},
        {"1e999", "number out of range: '1e999'"},
        {"-1e309", "number out of range"},
        {"1.8e308", "number out of range"},
        {longnum, "expected a number of at most 64 characters, found '1.111"},
    };
    CHECK_BAD(p_dbl, t, double, 42.0);
    /* the 64-byte limit holds even when the value is simple: 70 bytes */
    double v = 0;
    CHECK_INT(p_dbl("+0000000000000000000000000000000000000000000000000000000000000000001.5", &v),
              -1);
    CHECK_CONTAINS(mk_err_msg(), "at most 64 characters");
    CHECK_INT(p_dbl("+0000000000000000000000000000000000000000000000000000000000001.5", &v), 0);
    CHECK(v == 1.5);                                       /* exactly 64 bytes */
    /* a very long plain integer is accepted, and may overflow */
    char big[400];
    memset(big, '9', sizeof big - 1);
    big[sizeof big - 1] = 0;
    CHECK_INT(p_dbl(big, &v), -1);
    CHECK_CONTAINS(mk_err_msg(), "number out of range: '9999");
    big[300] = 0;
    CHECK_INT(p_dbl(big, &v), 0);
    CHECK(v == 1e300);
}

/* Random inputs of many shapes, compared bit for bit with strtod. */
static void test_double_vs_strtod(void)
{
    char s[80];
    int fails = 0;
    for (int k = 0; k < 100000 && fails < 5; k++) {
        uint64_t r = rnd();
        switch (k % 5) {
        case 0: {                                           /* any finite double, 17 digits */
            double d;
            memcpy(&d, &r, sizeof d);
            if (!isfinite(d))
                continue;
            snprintf(s, sizeof s, "%.17g", d);
            break;
        }
        case 1: {                                           /* any double, fewer digits */
            double d;
            memcpy(&d, &r, sizeof d);
            if (!isfinite(d))
                continue;
            snprintf(s, sizeof s, "%.*g", (int)(rnd() % 16) + 1, d);
            break;
        }
        case 2: {                                           /* plain decimals like 123.456 */
            int ip = (int)(rnd() % 20), fp = (int)(rnd() % 20) + 1;
            uint64_t a = rnd() % 10000000000000000000u, b = rnd();
            snprintf(s, sizeof s, "%s%.*" PRIu64 ".%0*" PRIu64, (r & 1) ? "-" : "",
                     ip ? ip : 1, ip ? a : 0, fp, b);
            /* %.*u pads with zeros on the left: also tests leading zeros */
            break;
        }
        case 3: {                                           /* short mantissa and exponent */
            snprintf(s, sizeof s, "%" PRIu64 ".%" PRIu64 "e%d", r % 100000, rnd() % 1000000,
                     (int)(rnd() % 700) - 350);
            break;
        }
        default: {                                          /* integers, around 2^53 and beyond */
            uint64_t m = (rnd() % 2) ? (UINT64_C(1) << 53) + rnd() % 100 - 50 : r >> (rnd() % 64);
            snprintf(s, sizeof s, "%" PRIu64 "e%d", m, (int)(rnd() % 50) - 25);
            break;
        }
        }
        double want = strtod(s, NULL), got = -99;
        int rc = p_dbl(s, &got);
        if (isinf(want)) {                                  /* overflow is an error */
            if (rc != -1 || got != -99 || !strstr(mk_err_msg(), "number out of range")) {
                printf("# '%s': rc %d, expected out of range\n", s, rc);
                fails++;
            }
            continue;
        }
        if (rc != 0 || !same_bits(got, want)) {
            printf("# '%s': rc %d, got %.17g, strtod %.17g (%s)\n", s, rc, got, want,
                   rc ? mk_err_msg() : "");
            fails++;
        }
    }
    CHECK_INT(fails, 0);
}

/* ---- size ---------------------------------------------------------------- */

static void test_size_ok(void)
{
    const uint64_t K = 1024, M = K * K, G = M * K, T = G * K, P = T * K, E = P * K;
    const struct ok_u t[] = {
        {"0", 0}, {"123", 123}, {"123B", 123}, {"123b", 123}, {"0K", 0},
        {"64K", 64 * K}, {"64k", 64 * K}, {"64KB", 64 * K}, {"64kb", 64 * K},
        {"64KiB", 64 * K}, {"64kib", 64 * K}, {"64KIB", 64 * K},
        {"50M", 50 * M}, {"50MB", 50 * M}, {"50MiB", 50 * M}, {"50m", 50 * M},
        {"2G", 2 * G}, {"2GB", 2 * G}, {"2GiB", 2 * G}, {"2g", 2 * G},
        {"1T", T}, {"1TiB", T}, {"1P", P}, {"1PiB", P}, {"1E", E}, {"1EiB", E}, {"15E", 15 * E},
        {"1.5G", G + G / 2}, {"1.5K", 1536}, {"0.5K", 512}, {"0.5", 0}, {"1.9", 1},
        {"1.001K", 1025},                                  /* 1025.024 rounded down */
        {"0.1K", 102},                                     /* 102.4 */
        {"2.25M", 2 * M + M / 4},
        {"007K", 7 * K},
        {"18446744073709551615", UINT64_MAX}, {"18446744073709551615B", UINT64_MAX},
        {"18446744073709551615.99", UINT64_MAX},           /* rounded down, so it fits */
        /* exact fraction arithmetic, no floating point: */
        {"16383.999999999999999999P", UINT64_MAX},         /* 2^64 - 0.0011... */
        {"15.999999999999999999E", UINT64_MAX - 1},        /* 2^64 - 1.15... */
        {"17179869183.999999999G", UINT64_MAX - 1},        /* 2^64 - 1.07... */
        /* 2^-60 written out exactly (60 decimals) times 2^60 is one byte */
        {"0.000000000000000000867361737988403547205962240695953369140625E", 1},
        {"0.000000000000000000867361737988403547205962240695953369140624E", 0},
    };
    CHECK_OK(p_size, t, uint64_t);
}

static void test_size_bad(void)
{
    static const struct bad t[] = {
        {"", "expected a size like 64K, 50M or 2G, found ''"},
        {"K", "expected a size like 64K, 50M or 2G, found 'K'"},
        {"KiB", "expected a size"},
        {"B", "expected a size"},
        {"-5", "expected a size like 64K, 50M or 2G, found '-5'"},
        {"+5", "expected a size"},
        {"12K3", "expected a size like 64K, 50M or 2G, found '12K3'"},
        {"1 K", "expected a size"},
        {" 1K", "expected a size"},
        {"1K ", "expected a size"},
        {"1KK", "expected a size"},
        {"1KBB", "expected a size"},
        {"1KiBB", "expected a size"},
        {"1Ki", "expected a size"},
        {"1iB", "expected a size"},
        {"1X", "expected a size"},
        {"1Z", "expected a size"},
        {"1.K", "expected a size"},
        {".5K", "expected a size"},
        {"1.5.5K", "expected a size"},
        {"1,5K", "expected a size"},
        {"1e3", "expected a size"},
        {"0x10", "expected a size"},
        {"16E", "size out of range: '16E'"},
        {"16EiB", "size out of range"},
        {"16384P", "size out of range"},
        {"17179869184G", "size out of range"},
        {"16383.9999999999999999999999P1", "expected a size"},
        {"18446744073709551616", "size out of range: '18446744073709551616'"},
        {"99999999999999999999999K", "size out of range"},
        {"18446744073709551616.5", "size out of range"},
    };
    CHECK_BAD(p_size, t, uint64_t, 31337);
}

/* ---- duration ------------------------------------------------------------ */

static void test_duration_ok(void)
{
    const uint64_t US = 1000, MS = 1000 * US, S = 1000 * MS, MIN = 60 * S, H = 60 * MIN,
                   D = 24 * H;
    const struct ok_u t[] = {
        {"0", 0}, {"0s", 0}, {"42", 42 * S}, {"0.5", S / 2}, {"1.5", 3 * S / 2},
        {"10ns", 10}, {"250us", 250 * US}, {"250\xc2\xb5s", 250 * US}, {"250\xce\xbcs", 250 * US},
        {"500ms", 500 * MS}, {"60s", 60 * S}, {"5m", 5 * MIN}, {"2h", 2 * H}, {"1d", D},
        {"1.5s", 1500 * MS}, {"1.5ns", 1}, {"0.9ns", 0}, {"0.000000001s", 1},
        {"0.0000000009s", 0}, {"1.5h", 90 * MIN}, {"0.1m", 6 * S},
        {"0.333333333333m", 19999999999},                   /* 19.99999999998 s */
        {"1h30m", 90 * MIN}, {"3m05s", 185 * S}, {"1m30.5s", 90500 * MS},
        {"1d2h3m4s5ms6us7ns", D + 2 * H + 3 * MIN + 4 * S + 5 * MS + 6 * US + 7},
        {"2h500ms", 2 * H + 500 * MS},
        {"18446744073709551615ns", UINT64_MAX}, {"18446744073.709551615s", UINT64_MAX},
        {"18446744073s709551615ns", UINT64_MAX},
        {"213503d", 213503 * D},
        {"007s", 7 * S},
    };
    CHECK_OK(p_dur, t, uint64_t);
}

static void test_duration_bad(void)
{
    static const struct bad t[] = {
        {"", "expected a duration like 500ms, 60s, 5m or 2h (units ns, us, ms, s, m, h, d), found ''"},
        {"s", "expected a duration like 500ms, 60s, 5m or 2h"},
        {"ms", "expected a duration"},
        {"-5s", "expected a duration like 500ms, 60s, 5m or 2h (units ns, us, ms, s, m, h, d), found '-5s'"},
        {"-5", "expected a duration"},
        {"+5s", "expected a duration"},
        {"x", "found 'x'"},
        {"5w", "found '5w'"},
        {"5y", "expected a duration"},
        {"5S", "expected a duration"},                       /* units are case-sensitive */
        {"5H", "expected a duration"},
        {"5M", "expected a duration"},
        {"5sec", "expected a duration"},
        {"5min", "expected a duration"},
        {"5 s", "expected a duration"},
        {" 5s", "expected a duration"},
        {"5s ", "expected a duration"},
        {"1h30", "expected a duration"},                     /* a later bare number */
        {"30m1h", "expected a duration"},                    /* out of order */
        {"5m5m", "expected a duration"},                     /* repeated */
        {"1us1\xc2\xb5s", "found '1us1\\xc2\\xb5s'"},
        {"1.s", "expected a duration"},
        {".5s", "expected a duration"},
        {"5s.5", "expected a duration"},
        {"1e3s", "expected a duration"},
        {"5\xc2s", "found '5\\xc2s'"},
        {"18446744073709551616ns", "duration out of range: '18446744073709551616ns'"},
        {"18446744074s", "duration out of range"},
        {"18446744073.709551616s", "duration out of range"},
        {"213504d", "duration out of range"},
        {"213503d23h59m59s", "duration out of range"},        /* the sum overflows */
        {"99999999999999999999999h", "duration out of range"},
        {"213504d1x", "expected a duration"},                 /* syntax wins over range */
    };
    CHECK_BAD(p_dur, t, uint64_t, 4242);
}

/* ---- bool ---------------------------------------------------------------- */

static void test_bool(void)
{
    static const struct { const char *in; int want; } ok[] = {
        {"true", 1}, {"TRUE", 1}, {"True", 1}, {"false", 0}, {"FALSE", 0},
        {"yes", 1}, {"YES", 1}, {"no", 0}, {"No", 0}, {"on", 1}, {"ON", 1},
        {"off", 0}, {"Off", 0}, {"1", 1}, {"0", 0},
    };
    for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
        int v = -1;
        CHECK_INT(p_bool(ok[k].in, &v), 0);
        CHECK_INT(v, ok[k].want);
    }
    static const struct bad bad[] = {
        {"", "expected true/false, yes/no, on/off or 1/0, found ''"},
        {"maybe", "expected true/false, yes/no, on/off or 1/0, found 'maybe'"},
        {"t", "found 't'"}, {"y", "found 'y'"}, {"2", "found '2'"}, {"00", "found '00'"},
        {"01", "found '01'"}, {"truex", "found 'truex'"}, {"tru", "found 'tru'"},
        {" true", "found ' true'"}, {"true ", "found 'true '"}, {"-1", "found '-1'"},
        {"of", "found 'of'"}, {"onn", "found 'onn'"},
    };
    CHECK_BAD(p_bool, bad, int, 7);
}

/* ---- formatting ---------------------------------------------------------- */

static void test_fmt_bytes(void)
{
    static const struct { uint64_t v; const char *want; } t[] = {
        {0, "0 B"}, {1, "1 B"}, {512, "512 B"}, {1023, "1023 B"},
        {1024, "1.00 KiB"}, {1536, "1.50 KiB"}, {10234, "9.99 KiB"},
        {10235, "10.0 KiB"},                                /* 9.995 KiB rounds to 10.0 */
        {15360, "15.0 KiB"}, {153600, "150 KiB"}, {102348, "99.9 KiB"},
        {102349, "100 KiB"}, {1024000, "1000 KiB"}, {1048063, "1023 KiB"},
        {1048064, "1.00 MiB"},                              /* 1023.5 KiB: not "1024 KiB" */
        {1048575, "1.00 MiB"}, {1048576, "1.00 MiB"},
        {12897485, "12.3 MiB"}, {1073741824, "1.00 GiB"},
        {UINT64_C(1) << 40, "1.00 TiB"}, {UINT64_C(1) << 50, "1.00 PiB"},
        {UINT64_C(1) << 60, "1.00 EiB"}, {UINT64_MAX, "16.0 EiB"},
    };
    char buf[MK_FMT_BUFSZ];
    for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
        size_t n = mk_fmt_bytes(buf, sizeof buf, t[k].v);
        CHECK_STR(buf, t[k].want);
        CHECK_U64(n, strlen(t[k].want));
    }
    /* every value: at most 3 significant digits (4 only as 1000-1023), < 1024 */
    for (int k = 0; k < 100000; k++) {
        uint64_t v = rnd() >> (rnd() % 64);
        size_t n = mk_fmt_bytes(buf, sizeof buf, v);
        double x = strtod(buf, NULL);
        if (n != strlen(buf) || x < (v < 1024 ? 0 : 1) || x >= 1024 || !strchr(buf, ' ')) {
            CHECK_STR(buf, "a well-formed size");
            break;
        }
    }
}

static void test_fmt_duration(void)
{
    const uint64_t US = 1000, MS = 1000 * US, S = 1000 * MS, MIN = 60 * S, H = 60 * MIN,
                   D = 24 * H;
    const struct { uint64_t v; const char *want; } t[] = {
        {0, "0 ns"}, {1, "1 ns"}, {850, "850 ns"}, {999, "999 ns"},
        {1000, "1.00 us"}, {12500, "12.5 us"}, {999499, "999 us"},
        {999500, "1.00 ms"}, {999999, "1.00 ms"}, {1500 * US, "1.50 ms"},
        {999500 * US, "1.00 s"}, {2350 * MS, "2.35 s"}, {9995 * MS, "10.0 s"},
        {59940 * MS, "59.9 s"}, {59950 * MS, "1m00s"}, {60 * S, "1m00s"},
        {185 * S, "3m05s"}, {185 * S + 499 * MS, "3m05s"}, {185 * S + 500 * MS, "3m06s"},
        {H - 501 * MS, "59m59s"}, {H - 500 * MS, "1h00m"},
        {3720 * S, "1h02m"}, {3750 * S, "1h03m"}, {23 * H + 59 * MIN + 29 * S, "23h59m"},
        {D - 30 * S, "1d00h"}, {D, "1d00h"}, {2 * D + 3 * H, "2d03h"},
        {UINT64_MAX, "213503d23h"},   /* rounded down: 213504d00h would not parse back */
    };
    char buf[MK_FMT_BUFSZ];
    for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
        size_t n = mk_fmt_duration(buf, sizeof buf, t[k].v);
        CHECK_STR(buf, t[k].want);
        CHECK_U64(n, strlen(t[k].want));
    }
    /* compound forms parse back */
    uint64_t v = 0;
    mk_fmt_duration(buf, sizeof buf, 185 * S);
    CHECK_INT(p_dur(buf, &v), 0);
    CHECK_U64(v, 185 * S);
    mk_fmt_duration(buf, sizeof buf, 3720 * S);
    CHECK_INT(p_dur(buf, &v), 0);
    CHECK_U64(v, 3720 * S);
    mk_fmt_duration(buf, sizeof buf, 2 * D + 3 * H);
    CHECK_INT(p_dur(buf, &v), 0);
    CHECK_U64(v, 2 * D + 3 * H);
    for (int k = 0; k < 100000; k++) {
        uint64_t x = rnd() >> (rnd() % 64);
        size_t n = mk_fmt_duration(buf, sizeof buf, x);
        if (n == 0 || n != strlen(buf) || n >= MK_FMT_BUFSZ) {
            CHECK_STR(buf, "a well-formed duration");
            break;
        }
    }
}

static void test_fmt_double(void)
{
    static const struct { double v; const char *want; } t[] = {
        {0.0, "0"}, {-0.0, "-0"}, {3.0, "3"}, {-3.0, "-3"}, {0.1, "0.1"}, {-2.5, "-2.5"},
        {1e20, "1e+20"}, {1e15, "1e+15"}, {999999999999999.0, "999999999999999"},
        {-999999999999999.0, "-999999999999999"}, {123456.0, "123456"},
        {0.30000000000000004, "0.30000000000000004"}, {1.0 / 3.0, "0.3333333333333333"},
        {2.0 / 3.0, "0.6666666666666666"}, {1e-5, "1e-05"}, {123.456, "123.456"},
        {DBL_MAX, "1.7976931348623157e+308"}, {DBL_MIN, "2.2250738585072014e-308"},
        {-DBL_MAX, "-1.7976931348623157e+308"}, {1e300, "1e+300"}, {0.5, "0.5"},
    };
    char buf[MK_FMT_BUFSZ];
    for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
        size_t n = mk_fmt_double(buf, sizeof buf, t[k].v);
        CHECK_STR(buf, t[k].want);
        CHECK_U64(n, strlen(t[k].want));
    }
    mk_fmt_double(buf, sizeof buf, NAN);
    CHECK_STR(buf, "nan");
    mk_fmt_double(buf, sizeof buf, -NAN);
    CHECK_STR(buf, "nan");
    mk_fmt_double(buf, sizeof buf, INFINITY);
    CHECK_STR(buf, "inf");
    CHECK_U64(mk_fmt_double(buf, sizeof buf, -INFINITY), 4);
    CHECK_STR(buf, "-inf");
}

/* Significant digits of a %g or %f text. */
static int sig_digits(const char *s)
{
    int n = 0, lead = 1;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9') {
            lead = lead && *s == '0';
            n += !lead;
        }
    return n;
}

/* Random doubles: the text reads back to the same bits, through strtod and
 * through mk_parse_double, with at most 17 significant digits. */
static void test_fmt_double_roundtrip(void)
{
    char buf[MK_FMT_BUFSZ], ref[64];
    int fails = 0;
    for (int k = 0; k < 100000 && fails < 5; k++) {
        uint64_t r = rnd();
        double d;
        if (k % 4 == 0)
            d = (double)(int64_t)(r >> (r % 64)) * ((k & 4) ? -1 : 1);  /* integers */
        else if (k % 4 == 1)
            d = (double)(r % 1000000) / 1000.0;                          /* short decimals */
        else
            memcpy(&d, &r, sizeof d);                                    /* any bits */
        if (!isfinite(d))
            continue;
        size_t n = mk_fmt_double(buf, sizeof buf, d);
        double back = strtod(buf, NULL), mine = -99;
        int rc = mk_parse_double(buf, n, &mine);
        snprintf(ref, sizeof ref, "%.15g", d);
        if (n != strlen(buf) || !same_bits(back, d) || rc != 0 || !same_bits(mine, d) ||
            sig_digits(buf) > 17 ||
            (strtod(ref, NULL) == d && strcmp(buf, ref) != 0 && !(fabs(d) < 1e15))) {
            printf("# %.17g -> '%s' -> %.17g / %.17g (%s)\n", d, buf, back, mine,
                   rc ? mk_err_msg() : "");
            fails++;
        }
    }
    CHECK_INT(fails, 0);
}

/* Small caps truncate like snprintf but return what was written. */
static void test_fmt_cap(void)
{
    char buf[8];
    memset(buf, 'z', sizeof buf);
    CHECK_U64(mk_fmt_bytes(buf, 0, 1536), 0);
    CHECK(buf[0] == 'z');
    CHECK_U64(mk_fmt_bytes(buf, 1, 1536), 0);
    CHECK_STR(buf, "");
    CHECK_U64(mk_fmt_bytes(buf, 3, 1536), 2);
    CHECK_STR(buf, "1.");
    CHECK_U64(mk_fmt_bytes(buf, 8, 1536), 7);
    CHECK_STR(buf, "1.50 Ki");
    CHECK_U64(mk_fmt_duration(buf, 4, 185000000000u), 3);
    CHECK_STR(buf, "3m0");
    CHECK_U64(mk_fmt_double(buf, 5, 0.125), 4);
    CHECK_STR(buf, "0.12");
    CHECK_U64(mk_fmt_double(buf, 6, 0.125), 5);
    CHECK_STR(buf, "0.125");
}

static void test_parse_num(void)
{
    static const struct { const char *s; int kind; int64_t i; double d; } cases[] = {
        { "0", MK_NUM_INT, 0, 0 }, { "-17", MK_NUM_INT, -17, -17 }, { "+5", MK_NUM_INT, 5, 5 },
        { "9223372036854775807", MK_NUM_INT, INT64_MAX, 9223372036854775807.0 },
        { "-9223372036854775808", MK_NUM_INT, INT64_MIN, -9223372036854775808.0 },
        { "9223372036854775808", MK_NUM_REAL, 0, 9223372036854775808.0 },
        { "1000.123", MK_NUM_REAL, 0, 1000.123 }, { "-2.5e3", MK_NUM_REAL, 0, -2500 },
        { "1e400", 0, 0, 0 }, { "", 0, 0, 0 }, { "-", 0, 0, 0 }, { "12a", 0, 0, 0 },
        { "abc", 0, 0, 0 }, { "1.", 0, 0, 0 }, { " 1", 0, 0, 0 },
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        int64_t i = 42;
        double d = 42;
        int r = mk_parse_num(cases[k].s, strlen(cases[k].s), &i, &d);
        CHECK_INT(r, cases[k].kind);
        if (r == MK_NUM_INT)
            CHECK_INT(i, cases[k].i);
        if (r)
            CHECK(d == cases[k].d);
    }
    /* The one-pass fast path must agree with strtod bit for bit. */
    uint64_t x = 88172645463325252ull;
    int bad = 0;
    for (int k = 0; k < 200000; k++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        char b[64];
        int len = snprintf(b, sizeof b, "%s%llu.%0*llu", (x & 1) ? "-" : "",
                           (unsigned long long)(x >> 20) % 100000000000ull, (int)(x % 9) + 1,
                           (unsigned long long)((x >> 8) % 1000000000ull) % 1000000000ull);
        int64_t i;
        double d;
        if (mk_parse_num(b, (size_t)len, &i, &d) != MK_NUM_REAL || d != strtod(b, NULL))
            bad++;
    }
    CHECK_INT(bad, 0);
}

int main(void)
{
    RUN(test_i64_ok);
    RUN(test_i64_bad);
    RUN(test_u64_ok);
    RUN(test_u64_bad);
    RUN(test_slices);
    RUN(test_message_truncation);
    RUN(test_int_random);
    RUN(test_hex);
    RUN(test_double_ok);
    RUN(test_double_bad);
    RUN(test_double_vs_strtod);
    RUN(test_size_ok);
    RUN(test_size_bad);
    RUN(test_duration_ok);
    RUN(test_duration_bad);
    RUN(test_bool);
    RUN(test_fmt_bytes);
    RUN(test_fmt_duration);
    RUN(test_fmt_double);
    RUN(test_fmt_double_roundtrip);
    RUN(test_fmt_cap);
    RUN(test_parse_num);
    return DONE();
}
