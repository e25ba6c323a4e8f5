/* Unit tests for lib/text: mk_edit_distance on known pairs, against a full
 * dynamic-programming reference on random strings (symmetry, bounds), the
 * over-255-bytes rule; mk_nearest on typos, prefixes, ties, NULL
 * candidates and names too far to suggest anything. Inputs are exact-size
 * heap copies (slices, no NUL after them). */
#include <stdint.h>
#include <stdlib.h>

#include "text.h"
#include "unit.h"

UNIT_RNG(0x6a09e667f3bcc909u)

static size_t dist(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *ca = malloc(na ? na : 1), *cb = malloc(nb ? nb : 1);
    memcpy(ca, a, na);
    memcpy(cb, b, nb);
    size_t d = mk_edit_distance(ca, na, cb, nb);
    free(ca);
    free(cb);
    return d;
}

static int nearest(const char *name, const char *const *c, size_t n)
{
    size_t len = strlen(name);
    char *cp = malloc(len ? len : 1);
    memcpy(cp, name, len);
    int i = mk_nearest(cp, len, c, n);
    free(cp);
    return i;
}

/* Plain Levenshtein with a full matrix. */
static size_t ref_dist(const char *a, size_t na, const char *b, size_t nb)
{
    size_t *m = malloc((na + 1) * (nb + 1) * sizeof *m);
#define M(i, j) m[(i) * (nb + 1) + (j)]
    for (size_t i = 0; i <= na; i++)
        M(i, 0) = i;
    for (size_t j = 0; j <= nb; j++)
        M(0, j) = j;
    for (size_t i = 1; i <= na; i++)
        for (size_t j = 1; j <= nb; j++) {
            size_t best = M(i - 1, j - 1) + (a[i - 1] != b[j - 1]);
            if (M(i - 1, j) + 1 < best)
                best = M(i - 1, j) + 1;
            if (M(i, j - 1) + 1 < best)
                best = M(i, j - 1) + 1;
            M(i, j) = best;
        }
    size_t d = M(na, nb);
#undef M
    free(m);
    return d;
}

static void test_distance_known(void)
{
    CHECK_U64(dist("", ""), 0);
    CHECK_U64(dist("abc", ""), 3);
    CHECK_U64(dist("", "abcd"), 4);
    CHECK_U64(dist("same", "same"), 0);
    CHECK_U64(dist("a", "b"), 1);
    CHECK_U64(dist("kitten", "sitting"), 3);
    CHECK_U64(dist("sitting", "kitten"), 3);
    CHECK_U64(dist("flaw", "lawn"), 2);
    CHECK_U64(dist("saturday", "sunday"), 3);
    CHECK_U64(dist("intention", "execution"), 5);
    CHECK_U64(dist("ab", "ba"), 2);             /* no transpositions */
    CHECK_U64(dist("threads", "thread"), 1);
    CHECK_U64(dist("format", "fromat"), 2);
    CHECK_U64(dist("abc", "xyz"), 3);
    CHECK_U64(dist("Format", "format"), 1);     /* case matters */
    /* Bytes, not characters; NUL is an ordinary byte. */
    CHECK_U64(mk_edit_distance("a\0b", 3, "a\0c", 3), 1);
    CHECK_U64(mk_edit_distance("a\0b", 3, "ab", 2), 1);
}

static void test_distance_random(void)
{
    char a[64], b[64];
    int bad = 0;
    for (int round = 0; round < 3000; round++) {
        size_t na = rnd() % 20, nb = rnd() % 20;
        unsigned alpha = 2 + (unsigned)(rnd() % 5);   /* small alphabets: many matches */
        for (size_t i = 0; i < na; i++)
            a[i] = (char)('a' + rnd() % alpha);
        for (size_t i = 0; i < nb; i++)
            b[i] = (char)('a' + rnd() % alpha);
        size_t want = ref_dist(a, na, b, nb);
        size_t d1 = mk_edit_distance(a, na, b, nb), d2 = mk_edit_distance(b, nb, a, na);
        size_t lo = na > nb ? na - nb : nb - na, hi = na > nb ? na : nb;
        if ((d1 != want || d2 != want || d1 < lo || d1 > hi) && bad++ < 5)
            printf("# \"%.*s\" \"%.*s\": %zu/%zu, expected %zu\n", (int)na, a, (int)nb, b, d1, d2, want);
    }
    CHECK_INT(bad, 0);
    /* Up to the 255-byte limit the distance is exact. */
    char *x = malloc(255), *y = malloc(255);
    memset(x, 'x', 255);
    memcpy(y, x, 255);
    y[0] = 'y';
    y[254] = 'y';
    CHECK_U64(mk_edit_distance(x, 255, y, 255), 2);
    CHECK_U64(mk_edit_distance(x, 255, y, 200), 56);
    CHECK_U64(mk_edit_distance(x, 255, x, 255), 0);
    free(x);
    free(y);
}

static void test_distance_long(void)
{
    /* Over 255 bytes: compared only for equality. */
    char *x = malloc(300), *y = malloc(300);
    memset(x, 'x', 300);
    memset(y, 'x', 300);
    CHECK_U64(mk_edit_distance(x, 300, y, 300), 0);
    y[150] = 'y';
    CHECK_U64(mk_edit_distance(x, 300, y, 300), 300);
    CHECK_U64(mk_edit_distance(x, 300, y, 10), 300);
    CHECK_U64(mk_edit_distance(x, 10, y, 256), 256);
    free(x);
    free(y);
}

static void test_nearest(void)
{
    static const char *const opts[] = { "threads", "format", "output", "quiet", "progress",
                                        "stats", "lenient", "config", "block-size" };
    size_t n = sizeof opts / sizeof *opts;
    /* Typos. */
    CHECK_INT(nearest("treads", opts, n), 0);
    CHECK_INT(nearest("thraeds", opts, n), 0);
    CHECK_INT(nearest("fromat", opts, n), 1);
    CHECK_INT(nearest("formt", opts, n), 1);
    CHECK_INT(nearest("outptu", opts, n), 2);
    CHECK_INT(nearest("qiuet", opts, n), 3);
    CHECK_INT(nearest("progres", opts, n), 4);
    CHECK_INT(nearest("lenint", opts, n), 6);
    CHECK_INT(nearest("blocksize", opts, n), 8);
    CHECK_INT(nearest("block_size", opts, n), 8);
    /* Prefixes, even short ones (3 bytes and more). */
    CHECK_INT(nearest("thread", opts, n), 0);
    CHECK_INT(nearest("thr", opts, n), 0);
    CHECK_INT(nearest("prog", opts, n), 4);
    CHECK_INT(nearest("block", opts, n), 8);
    CHECK_INT(nearest("stat", opts, n), 5);
    /* Exact names are their own nearest. */
    for (size_t i = 0; i < n; i++)
        CHECK_INT(nearest(opts[i], opts, n), (int)i);
    /* Nothing close. */
    CHECK_INT(nearest("verbose", opts, n), -1);
    CHECK_INT(nearest("xyz", opts, n), -1);
    CHECK_INT(nearest("completely-different", opts, n), -1);
    CHECK_INT(nearest("th", opts, n), -1);           /* too short for a prefix */
    CHECK_INT(nearest("zzzz", opts, n), -1);
    CHECK_INT(nearest("tads", opts, n), 5);          /* stats: 2 edits of 4 */
    CHECK_INT(nearest("taxes", opts, n), -1);        /* 3 edits of 5 */
    CHECK_INT(nearest("", opts, n), -1);
    /* A name over 255 bytes is not "close" to anything. */
    char big[300];
    memset(big, 'q', sizeof big);
    memcpy(big, "quiet", 5);
    CHECK_INT(mk_nearest(big, sizeof big, opts, n), -1);

    /* No candidates; NULL candidates are skipped; ties go to the first. */
    CHECK_INT(mk_nearest("abc", 3, opts, 0), -1);
    const char *holes[] = { NULL, "alpha", NULL, "beta" };
    CHECK_INT(nearest("alpah", holes, 4), 1);
    CHECK_INT(nearest("betta", holes, 4), 3);
    const char *ties[] = { "cat", "bat", "hat" };
    CHECK_INT(nearest("rat", ties, 3), 0);
    CHECK_INT(nearest("hat", ties, 3), 2);
    /* The closest wins over a merely close one. */
    const char *cl[] = { "colour", "color" };
    CHECK_INT(nearest("colr", cl, 2), 1);
    /* The empty name matches only an empty candidate. */
    const char *empty[] = { "a", "" };
    CHECK_INT(nearest("", empty, 2), 1);
}

int main(void)
{
    RUN(test_distance_known);
    RUN(test_distance_random);
    RUN(test_distance_long);
    RUN(test_nearest);
    return DONE();
}
