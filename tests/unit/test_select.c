/* Unit tests for lib/select: ranks found by repeated passes equal the
 * sorted array's, on uniform, heavily repeated, signed, tiny-range and
 * wide-range data, with a hold far smaller than the data; one pass when
 * everything fits; a bound saves a pass; a stream that changes between passes is an error. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "select.h"
#include "unit.h"

UNIT_RNG(0x9e3779b97f4a7c15u)

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Selects every rank in ranks[] from v[0..n) with the given hold; 1 if all
 * equal the sorted answer. */
static int check(const double *v, size_t n, const uint64_t *ranks, size_t nr, size_t hold,
                 unsigned *passes)
{
    mk_select *s = mk_select_new(n, ranks, nr, hold);
    int guard = 0;
    while (!mk_select_done(s) && guard++ < 20) {
        /* one at a time, and in runs of every length (add_n) */
        for (size_t i = 0; i < n;) {
            size_t k = guard % 2 ? 1 : 1 + rnd() % 5000;
            k = k < n - i ? k : n - i;
            if (k == 1)
                mk_select_add(s, v[i]);
            else
                mk_select_add_n(s, v + i, k);
            i += k;
        }
        if (mk_select_end_pass(s) < 0) {
            printf("# %s\n", mk_err_msg());
            mk_select_free(s);
            return 0;
        }
    }
    double *sorted = malloc(n * sizeof *sorted);
    memcpy(sorted, v, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp);
    int ok = mk_select_done(s);
    for (size_t i = 0; i < nr && ok; i++)
        if (mk_select_value(s, i) != sorted[ranks[i]]) {
            printf("# rank %llu: got %g want %g\n", (unsigned long long)ranks[i],
                   mk_select_value(s, i), sorted[ranks[i]]);
            ok = 0;
        }
    *passes = mk_select_passes(s);
    free(sorted);
    mk_select_free(s);
    return ok;
}

static void test_distributions(void)
{
    enum { N = 100000 };
    double *v = malloc(N * sizeof *v);
    uint64_t ranks[] = { 0, 1, N / 2, N / 2 + 1, 98999, N - 2, N - 1 };
    for (int kind = 0; kind < 6; kind++) {
        for (size_t i = 0; i < N; i++) {
            double u = (double)(rnd() >> 11) / 9007199254740992.0;
            switch (kind) {
            case 0: v[i] = u; break;                                   /* uniform */
            case 1: v[i] = (double)(rnd() % 7); break;                 /* repeats */
            case 2: v[i] = (u - 0.5) * 1e6; break;                     /* signed */
            case 3: v[i] = 1.0 + (double)(rnd() % 3) * 1e-15; break;   /* tiny range */
            case 4: v[i] = ldexp(u, (int)(rnd() % 600) - 300) * (rnd() & 1 ? 1 : -1); break;
            case 5: v[i] = i % 2 ? 0.0 : -0.0 + (double)(rnd() % 2); break;
            }
        }
        unsigned passes;
        CHECK(check(v, N, ranks, sizeof ranks / sizeof *ranks, 100, &passes));
        CHECK(passes <= 7);
        CHECK(check(v, N, ranks, 1, N, &passes));
        CHECK_INT(passes, 1);          /* fits: one collecting pass */
    }
    free(v);
}

/* Latency-like values (0 to 2000, three decimals): over all doubles the
 * first pass splits them only by binade; bounded by their range, two passes
 * do, with the same answers. A value outside the bound is an error. */
static void test_bound(void)
{
    enum { N = 200000 };
    double *v = malloc(N * sizeof *v);
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < N; i++) {
        /* 0 among them: the range then spans every binade below 1 too */
        v[i] = i == 7 ? 0 : (double)(rnd() % 2000000) / 1000;
        lo = v[i] < lo ? v[i] : lo;
        hi = v[i] > hi ? v[i] : hi;
    }
    uint64_t ranks[] = { 0, N / 2, N / 2 + 1, N * 99 / 100, N - 1 };
    size_t nr = sizeof ranks / sizeof *ranks;
    unsigned passes;
    CHECK(check(v, N, ranks, nr, 4096, &passes));
    CHECK(passes >= 3);
    double *sorted = malloc(N * sizeof *sorted);
    memcpy(sorted, v, N * sizeof *v);
    qsort(sorted, N, sizeof *sorted, cmp);
    mk_select *s = mk_select_new(N, ranks, nr, 4096);
    mk_select_bound(s, lo, hi);
    while (!mk_select_done(s)) {
        for (size_t i = 0; i < N; i++)
            mk_select_add(s, v[i]);
        CHECK_INT(mk_select_end_pass(s), 0);
    }
    CHECK_INT(mk_select_passes(s), 2);
    for (size_t i = 0; i < nr; i++)
        CHECK(mk_select_value(s, i) == sorted[ranks[i]]);
    mk_select_free(s);

    s = mk_select_new(N, ranks, nr, 4096);
    mk_select_bound(s, lo, hi / 2);
    for (size_t i = 0; i < N; i++)
        mk_select_add(s, v[i]);
    CHECK_INT(mk_select_end_pass(s), -1);
    CHECK_CONTAINS(mk_err_msg(), "values outside the bound");
    mk_select_free(s);
    free(sorted);
    free(v);
}

/* Half the values tiny (down to subnormals), half from 1 to 1000, ranks on
 * both sides of the split the range gets: the low buckets and the high
 * ones each find theirs. Ranks that share a range (neighbours) agree with
 * the sort too. */
static void test_split_range(void)
{
    enum { N = 100000 };
    double *v = malloc(N * sizeof *v);
    for (size_t i = 0; i < N; i++) {
        double u = (double)(rnd() >> 11) / 9007199254740992.0;
        v[i] = i % 2 ? ldexp(u + 0.5, -(int)(rnd() % 1070)) : 1 + u * 999;
    }
    uint64_t ranks[] = { 0, 10, 20000, 20001, N / 2 - 1, N / 2, 70000, 70001, N - 1 };
    unsigned passes;
    CHECK(check(v, N, ranks, sizeof ranks / sizeof *ranks, 64, &passes));
    CHECK(passes <= 8);
    free(v);
}

/* Passes shared by clones: three "threads" feed thirds of the values to
 * clones merged back each pass; the answers are the sort's. */
static void test_clones(void)
{
    enum { N = 300000 };
    double *v = malloc(N * sizeof *v);
    for (size_t i = 0; i < N; i++)
        v[i] = (double)(rnd() % 5000000) / 1000;
    double *sorted = malloc(N * sizeof *v);
    memcpy(sorted, v, N * sizeof *v);
    qsort(sorted, N, sizeof *sorted, cmp);
    uint64_t ranks[] = { 0, 7, N / 2, N / 2 + 1, N * 99 / 100, N - 1 };
    size_t nr = sizeof ranks / sizeof *ranks;
    mk_select *s = mk_select_new(N, ranks, nr, 1000);
    int guard = 0;
    while (!mk_select_done(s) && guard++ < 20) {
        mk_select *c[2] = { mk_select_clone(s), mk_select_clone(s) };
        mk_select_add_n(s, v, N / 3);
        mk_select_add_n(c[0], v + N / 3, N / 3);
        for (size_t i = 2 * (N / 3); i < N; i++)
            mk_select_add(c[1], v[i]);
        mk_select_merge(s, c[0]);
        mk_select_merge(s, c[1]);
        mk_select_free(c[0]);
        mk_select_free(c[1]);
        CHECK_INT(mk_select_end_pass(s), 0);
    }
    CHECK(mk_select_done(s));
    CHECK(mk_select_passes(s) >= 2);
    for (size_t i = 0; i < nr; i++)
        CHECK(mk_select_value(s, i) == sorted[ranks[i]]);
    mk_select_free(s);
    free(sorted);
    free(v);
}

static void test_changed_stream(void)
{
    uint64_t r = 5;
    mk_select *s = mk_select_new(10, &r, 1, 2);
    for (int i = 0; i < 9; i++)
        mk_select_add(s, i);
    CHECK_INT(mk_select_end_pass(s), -1);
    CHECK_CONTAINS(mk_err_msg(), "expected 10 values, read 9");
    mk_select_free(s);
    r = 10;                            /* past the end: nothing to find */
    s = mk_select_new(10, &r, 1, 2);
    CHECK(mk_select_done(s));
    mk_select_free(s);
}

int main(void)
{
    RUN(test_distributions);
    RUN(test_bound);
    RUN(test_split_range);
    RUN(test_clones);
    RUN(test_changed_stream);
    return DONE();
}
