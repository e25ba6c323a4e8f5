/* Unit tests for chunkproc's exact decimals (cmd/chunkproc/exact): the
 * parser's word-at-a-time path for short numbers against a plain
 * reference on random strings, each placed against an unmapped page so a
 * load past the string would fault, and sums that overflow 128 bits. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../../cmd/chunkproc/exact.h"
#include "unit.h"

UNIT_RNG(0xa4093822299f31d0u)

/* [-+]DIGITS[.DIGITS]: the reference, one byte at a time (strings here
 * are at most 19 bytes, so the 128-bit value cannot overflow). */
static int ref_parse(const char *p, size_t n, __int128 *m, int *scale)
{
    size_t i = 0;
    int neg = 0, sc = 0, point = 0, digits = 0, before = 0;
    __int128 v = 0;
    if (i < n && (p[i] == '-' || p[i] == '+'))
        neg = p[i++] == '-';
    for (; i < n; i++) {
        if (p[i] == '.' && !point && before) {
            point = 1;
            continue;
        }
        if (p[i] < '0' || p[i] > '9')
            return 0;
        v = v * 10 + (p[i] - '0');
        digits++;
        if (point)
            sc++;
        else
            before++;
    }
    if (!before || (point && !sc) || digits > 36)
        return 0;
    *m = neg ? -v : v;
    *scale = sc;
    return 1;
}

static void parse_matches_reference(void)
{
    long page = sysconf(_SC_PAGESIZE);
    char *map = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(map != MAP_FAILED);
    if (map == MAP_FAILED)
        return;
    CHECK(mprotect(map + page, (size_t)page, PROT_NONE) == 0);
    static const char alpha[] = "0123456789000111999..-+x \"";
    int valid = 0, bad = 0;
    for (int it = 0; it < 400000; it++) {
        char s[24];
        size_t n = 1 + rnd() % 19;
        for (size_t i = 0; i < n; i++)
            s[i] = rnd() % 4 ? (char)('0' + rnd() % 10) : alpha[rnd() % (sizeof alpha - 1)];
        if (rnd() % 3 == 0 && n > 2)
            s[1 + rnd() % (n - 2)] = '.';
        /* Ending at the unmapped page or up to 7 bytes before it: where a
         * forward load of 8 would fault, and where the load goes backwards. */
        char *at = map + page - n - (rnd() % 2 ? 0 : rnd() % 8);
        memcpy(at, s, n);
        cp_dec got;
        __int128 m;
        int sc;
        int want = ref_parse(at, n, &m, &sc);
        int ok = cp_dec_parse(at, n, &got);
        if (ok != want || (ok && (got.m != m || got.scale != sc))) {
            if (bad++ < 5)
                printf("# '%.*s': got %d, expected %d\n", (int)n, at, ok, want);
        }
        valid += want;
    }
    CHECK_INT(bad, 0);
    CHECK(valid > 100000);   /* the random strings reach both answers */
    munmap(map, (size_t)page * 2);
}

static void parse_cases(void)
{
    static const struct { const char *s; long long m; int scale, ok; } c[] = {
        { "0", 0, 0, 1 },        { "7", 7, 0, 1 },          { "-7", -7, 0, 1 },
        { "+7", 7, 0, 1 },       { "1295.586", 1295586, 3, 1 }, { "12345678", 12345678, 0, 1 },
        { "-1234567", -1234567, 0, 1 }, { "9.9999999", 99999999, 7, 1 }, { "0.000001", 1, 6, 1 },
        { ".5", 0, 0, 0 },       { "5.", 0, 0, 0 },         { "1.2.3", 0, 0, 0 },
        { "-", 0, 0, 0 },        { "1e5", 0, 0, 0 },        { "12 ", 0, 0, 0 },
        { "1/2", 0, 0, 0 },      { "1:2", 0, 0, 0 },        { "--1", 0, 0, 0 },
        { "123456789", 123456789, 0, 1 }, { "1234567.89", 123456789, 2, 1 },
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        cp_dec d = { 0, 0 };
        int ok = cp_dec_parse(c[i].s, strlen(c[i].s), &d);
        CHECK_INT(ok, c[i].ok);
        if (ok && c[i].ok) {
            CHECK_INT((long long)d.m, c[i].m);
            CHECK_INT(d.scale, c[i].scale);
        }
    }
}

/* Past 2^127 the sum goes on in floating point from the true sum so far. */
static void sum_overflow(void)
{
    cp_xsum s = { 0 };
    cp_dec d;
    const char *big = "999999999999999999999999999999999999";
    CHECK(cp_dec_parse(big, strlen(big), &d));
    for (int i = 0; i < 400; i++)
        if (!cp_xsum_add_exact(&s, &d))
            cp_xsum_add(&s, NULL, 1e36);
    CHECK(s.inexact);
    double v = cp_xsum_value(&s);
    CHECK(v > 3.99e38 && v < 4.01e38);
}

int main(void)
{
    RUN(parse_cases);
    RUN(parse_matches_reference);
    RUN(sum_overflow);
    return DONE();
}
