/* Unit tests for lib/sketch: HyperLogLog (small counts, accuracy from 10^3
 * to 10^7 distinct values, bias over many seeds, registers against a
 * reference, merge, serialization and corrupt input), DDSketch (the alpha
 * bound on lognormal, Pareto and exponential data against exact sorted
 * quantiles, signs and zeros, exact merges, collapsing against a reference
 * model, serialization and corrupt input) and mk_moments (merge equals one
 * pass, stability at a 1e9 offset). Measured errors are printed as "#" lines. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "err.h"
#include "map.h"
#include "sketch.h"
#include "unit.h"

static uint64_t rng_state;

static void seed(uint64_t s)
{
    rng_state = s;
}

static uint64_t rnd(void)   /* splitmix64 */
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static double unif(void)   /* (0, 1) */
{
    return ((double)(rnd() >> 11) + 0.5) / 9007199254740992.0;
}

static double normal(void)
{
    return sqrt(-2 * log(unif())) * cos(2 * M_PI * unif());
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static uint64_t hash_u64(uint64_t v)
{
    return mk_map_hash(&v, sizeof v);
}

/* Serializes into a malloc'd buffer. */
static unsigned char *hll_bytes(const mk_hll *h, size_t *n)
{
    *n = mk_hll_serialize(h, NULL, 0);
    unsigned char *b = malloc(*n);
    CHECK_U64(mk_hll_serialize(h, b, *n), *n);
    return b;
}

static unsigned char *qs_bytes(const mk_qsketch *s, size_t *n)
{
    *n = mk_qsketch_serialize(s, NULL, 0);
    unsigned char *b = malloc(*n);
    CHECK_U64(mk_qsketch_serialize(s, b, *n), *n);
    return b;
}

static int same_bytes(const unsigned char *a, size_t na, const unsigned char *b, size_t nb)
{
    return na == nb && memcmp(a, b, na) == 0;
}

/* Rewrites the trailing checksum after a test has edited the bytes. */
static void fix_sum(unsigned char *b, size_t n)
{
    uint64_t h = mk_map_hash(b, n - 8);
    for (int i = 0; i < 8; i++)
        b[n - 8 + (size_t)i] = (unsigned char)(h >> (8 * i));
}

/* ---- HyperLogLog ----------------------------------------------------------- */

static void test_hll_init(void)
{
    mk_hll h;
    CHECK_INT(mk_hll_init(&h, 3), -1);
    CHECK_CONTAINS(mk_err_msg(), "precision 3 not in [4, 18]");
    CHECK_INT(mk_hll_init(&h, 19), -1);
    CHECK_INT(mk_hll_init(&h, 4), 0);
    CHECK_INT(mk_hll_init(&h, 18), 0);
    CHECK_INT(mk_hll_init(&h, MK_HLL_P_DEFAULT), 0);
    CHECK_U64(mk_hll_bytes(&h), 0);   /* nothing until the first add */
    CHECK(mk_hll_estimate(&h) == 0);
    mk_hll_free(&h);
    CHECK_INT(h.p, 14);
}

static void test_hll_small(void)
{
    for (int p = MK_HLL_P_MIN; p <= MK_HLL_P_MAX; p++) {
        mk_hll h;
        mk_hll_init(&h, p);
        CHECK(mk_hll_estimate(&h) == 0);
        mk_hll_add(&h, hash_u64(42));
        double e1 = mk_hll_estimate(&h);
        CHECK(llround(e1) == 1);
        for (int i = 0; i < 10; i++)
            mk_hll_add(&h, hash_u64(42));   /* duplicates change nothing */
        CHECK(mk_hll_estimate(&h) == e1);
        mk_hll_free(&h);
    }
    mk_hll h;
    mk_hll_init(&h, 14);
    for (int rep = 0; rep < 3; rep++)
        for (uint64_t i = 0; i < 100; i++)
            mk_hll_add(&h, hash_u64(i));
    double e = mk_hll_estimate(&h);
    printf("# hll p=14: 100 distinct -> %.3f\n", e);
    CHECK(fabs(e - 100) <= 2);
    for (uint64_t i = 100; i < 1000; i++)
        mk_hll_add(&h, hash_u64(i));
    e = mk_hll_estimate(&h);
    printf("# hll p=14: 1000 distinct -> %.3f (sparse, %zu bytes)\n", e, mk_hll_bytes(&h));
    CHECK(fabs(e - 1000) <= 1000 * 3 * 1.04 / 128);
    CHECK(mk_hll_bytes(&h) < 16384);
    mk_hll_free(&h);
}

/* Reads the registers back out of a serialized sketch. */
static void hll_parse(const unsigned char *b, size_t n, int p, uint8_t *reg)
{
    size_t m = (size_t)1 << p;
    memset(reg, 0, m);
    CHECK(n >= 16 && memcmp(b, "HLL1", 4) == 0 && b[4] == p);
    if (b[5] == 0) {
        CHECK_U64(n, 16 + m);
        memcpy(reg, b + 8, m);
    } else {
        uint32_t k = (uint32_t)b[8] | (uint32_t)b[9] << 8 | (uint32_t)b[10] << 16 | (uint32_t)b[11] << 24;
        CHECK_U64(n, 20 + 3 * (size_t)k);
        for (uint32_t i = 0; i < k; i++) {
            const unsigned char *e = b + 12 + 3 * i;
            uint32_t v = (uint32_t)e[0] | (uint32_t)e[1] << 8 | (uint32_t)e[2] << 16;
            reg[v >> 6] = (uint8_t)(v & 63);
        }
    }
}

/* Registers against a reference computed here from the definition, across
 * the sparse -> dense switch and both encodings. */
static void test_hll_registers(void)
{
    int ps[] = {4, 8, 12};
    for (size_t t = 0; t < sizeof ps / sizeof *ps; t++) {
        int p = ps[t];
        size_t m = (size_t)1 << p;
        uint8_t ref[1 << 12], got[1 << 12];
        memset(ref, 0, m);
        mk_hll h;
        mk_hll_init(&h, p);
        seed(7 + (uint64_t)p);
        int bad = 0, checks = 0;
        for (uint64_t i = 1; i <= 20000; i++) {
            uint64_t x = rnd();
            if (i % 5 == 0)
                x &= ~(((uint64_t)1 << (64 - p)) - 1);   /* all-zero suffix: value 65 - p */
            mk_hll_add(&h, x);
            uint32_t idx = (uint32_t)(x >> (64 - p));
            unsigned v = 1;
            while (v <= (unsigned)(64 - p) && !(x & ((uint64_t)1 << (64 - p - v))))
                v++;
            if (ref[idx] < v)
                ref[idx] = (uint8_t)v;
            if (i == 1 || i == 10 || i == 100 || i == 300 || i == 1000 || i == 20000) {
                size_t n;
                unsigned char *b = hll_bytes(&h, &n);
                hll_parse(b, n, p, got);
                bad += memcmp(got, ref, m) != 0;
                checks++;
                free(b);
            }
        }
        CHECK_INT(bad, 0);
        CHECK_INT(checks, 6);
        CHECK_U64(mk_hll_bytes(&h), m);   /* dense by now */
        mk_hll_free(&h);
    }
}

/* Within 3 standard errors from 10^3 to 10^7 distinct values. */
static void test_hll_accuracy(void)
{
    struct { int p; uint64_t nmax; } runs[] = {{14, 10000000}, {10, 1000000}, {18, 1000000}};
    for (size_t t = 0; t < sizeof runs / sizeof *runs; t++) {
        int p = runs[t].p;
        double se = 1.04 / sqrt((double)((uint64_t)1 << p)), worst = 0;
        mk_hll h;
        mk_hll_init(&h, p);
        uint64_t next = 1000, step = 0;
        const double mult[] = {2, 2.5, 2};   /* 1000, 2000, 5000, 10000, ... */
        printf("# hll p=%d (se %.2f%%):", p, 100 * se);
        for (uint64_t i = 0; i < runs[t].nmax; i++) {
            mk_hll_add(&h, hash_u64(i * 0x100000001u + (uint64_t)p));
            if (i + 1 == next) {
                double e = mk_hll_estimate(&h), err = (e - (double)next) / (double)next;
                printf(" %.0e:%+.2f%%", (double)next, 100 * err);
                if (fabs(err) > worst)
                    worst = fabs(err);
                CHECK(fabs(err) <= 3 * se);
                next = (uint64_t)((double)next * mult[step++ % 3]);
            }
        }
        printf("\n# hll p=%d: worst |error| %.2f%% = %.2f se\n", p, 100 * worst, worst / se);
        mk_hll_free(&h);
    }
}

/* Nearly unbiased everywhere, small range and transition included: over 200
 * independent sketches, mean error within 3 se/sqrt(200), RMS error <= se. */
static void test_hll_bias(void)
{
    const int p = 8, trials = 200;
    const uint64_t ns[] = {10, 50, 100, 200, 400, 1000, 3000, 10000};
    double se = 1.04 / 16, sum[8] = {0}, sq[8] = {0};
    for (int t = 0; t < trials; t++) {
        mk_hll h;
        mk_hll_init(&h, p);
        seed(1000 + (uint64_t)t);
        size_t k = 0;
        for (uint64_t i = 1; i <= 10000; i++) {
            mk_hll_add(&h, rnd());
            if (i == ns[k]) {
                double err = (mk_hll_estimate(&h) - (double)i) / (double)i;
                sum[k] += err;
                sq[k] += err * err;
                k++;
            }
        }
        mk_hll_free(&h);
    }
    printf("# hll p=8 (se %.1f%%), bias/rms over %d seeds:", 100 * se, trials);
    for (size_t k = 0; k < 8; k++) {
        double mean = sum[k] / trials, rms = sqrt(sq[k] / trials);
        printf(" %llu:%+.2f%%/%.2f%%", (unsigned long long)ns[k], 100 * mean, 100 * rms);
        CHECK(fabs(mean) <= 3 * se / sqrt(trials));
        CHECK(rms <= 1.1 * se);
    }
    printf("\n");
}

static void test_hll_merge(void)
{
    mk_hll a, b, all, e;
    mk_hll_init(&a, 14);
    mk_hll_init(&b, 14);
    mk_hll_init(&all, 14);
    mk_hll_init(&e, 14);
    /* sparse + sparse, staying sparse */
    for (uint64_t i = 0; i < 300; i++)
        mk_hll_add(i < 200 ? &a : &b, hash_u64(i)), mk_hll_add(&all, hash_u64(i));
    for (uint64_t i = 100; i < 200; i++)
        mk_hll_add(&b, hash_u64(i));   /* overlap */
    CHECK_INT(mk_hll_merge(&a, &b), 0);
    CHECK_INT(mk_hll_merge(&a, &e), 0);
    CHECK_INT(mk_hll_merge(&a, &a), 0);
    size_t na, nall;
    unsigned char *ba = hll_bytes(&a, &na), *ball = hll_bytes(&all, &nall);
    CHECK(same_bytes(ba, na, ball, nall));
    CHECK(mk_hll_estimate(&a) == mk_hll_estimate(&all));
    free(ba);
    free(ball);
    /* sparse into dense, dense into sparse, dense into dense, into empty */
    mk_hll big1, big2;
    mk_hll_init(&big1, 14);
    mk_hll_init(&big2, 14);
    for (uint64_t i = 0; i < 200000; i++) {
        mk_hll_add(i < 120000 ? &big1 : &big2, hash_u64(i));
        mk_hll_add(&all, hash_u64(i));
    }
    mk_hll x;
    mk_hll_init(&x, 14);
    CHECK_INT(mk_hll_merge(&x, &b), 0);      /* sparse into empty */
    CHECK_INT(mk_hll_merge(&x, &big2), 0);   /* dense into sparse */
    CHECK_INT(mk_hll_merge(&x, &a), 0);      /* sparse into dense */
    CHECK_INT(mk_hll_merge(&x, &big1), 0);   /* dense into dense */
    ba = hll_bytes(&x, &na);
    ball = hll_bytes(&all, &nall);
    CHECK(same_bytes(ba, na, ball, nall));
    printf("# hll merge of 4 shards: %.0f for 200000\n", mk_hll_estimate(&x));
    free(ba);
    free(ball);

    mk_hll q;
    mk_hll_init(&q, 12);
    CHECK_INT(mk_hll_merge(&q, &a), -1);
    CHECK_CONTAINS(mk_err_msg(), "precisions 12 and 14 differ");
    mk_hll_free(&q);
    mk_hll_free(&x);
    mk_hll_free(&big1);
    mk_hll_free(&big2);
    mk_hll_free(&a);
    mk_hll_free(&b);
    mk_hll_free(&all);
    mk_hll_free(&e);
}

static void test_hll_serialize(void)
{
    struct { int p; uint64_t n; size_t size; } cases[] = {
        {14, 0, 20}, {14, 1, 23}, {14, 1000, 0}, {14, 100000, 16 + 16384},
        {4, 2, 0}, {4, 1000, 32}, {18, 5000, 0},
    };
    for (size_t t = 0; t < sizeof cases / sizeof *cases; t++) {
        mk_hll h, g;
        mk_hll_init(&h, cases[t].p);
        for (uint64_t i = 0; i < cases[t].n; i++)
            mk_hll_add(&h, hash_u64(i));
        size_t n, n2, used = 0;
        unsigned char *b = hll_bytes(&h, &n);
        if (cases[t].size)
            CHECK_U64(n, cases[t].size);
        CHECK_U64(mk_hll_serialize(&h, b, n - 1), n);   /* too small: size only */
        CHECK_INT(mk_hll_deserialize(&g, b, n, NULL), 0);
        CHECK_INT(g.p, cases[t].p);
        CHECK(mk_hll_estimate(&g) == mk_hll_estimate(&h));
        unsigned char *b2 = hll_bytes(&g, &n2);
        CHECK(same_bytes(b, n, b2, n2));
        mk_hll_free(&g);
        free(b2);

        /* Trailing bytes: an error, unless the caller asks for *used. */
        unsigned char *ext = malloc(n + 3);
        memcpy(ext, b, n);
        memset(ext + n, 0xAA, 3);
        CHECK_INT(mk_hll_deserialize(&g, ext, n + 3, NULL), -1);
        CHECK_CONTAINS(mk_err_msg(), "3 trailing bytes");
        CHECK_INT(mk_hll_deserialize(&g, ext, n + 3, &used), 0);
        CHECK_U64(used, n);
        mk_hll_free(&g);
        free(ext);

        /* Every truncation fails; so does every flipped byte (checked at
         * up to 400 positions). */
        int bad = 0;
        for (size_t k = 0; k < n; k++) {
            bad += mk_hll_deserialize(&g, b, k, NULL) != -1;
            mk_hll_free(&g);
        }
        size_t stride = n / 400 + 1;
        for (size_t k = 0; k < n; k += stride) {
            b[k] ^= 0x10;
            bad += mk_hll_deserialize(&g, b, n, NULL) != -1;
            mk_hll_free(&g);
            b[k] ^= 0x10;
        }
        CHECK_INT(bad, 0);
        CHECK_INT(g.p, MK_HLL_P_DEFAULT);   /* failed: an empty default sketch */
        CHECK_U64(mk_hll_bytes(&g), 0);
        free(b);
        mk_hll_free(&h);
    }

    /* Structurally bad input with a valid checksum. */
    mk_hll h, g;
    mk_hll_init(&h, 4);
    for (uint64_t i = 0; i < 100; i++)
        mk_hll_add(&h, hash_u64(i));
    size_t n;
    unsigned char *b = hll_bytes(&h, &n);   /* dense: 8 + 16 + 8 */
    CHECK_U64(n, 32);
    memcpy(b, "HLL2", 4);
    CHECK_INT(mk_hll_deserialize(&g, b, n, NULL), -1);
    CHECK_CONTAINS(mk_err_msg(), "no \"HLL1\" header");
    memcpy(b, "HLL1", 4);
    b[4] = 19;
    fix_sum(b, n);
    CHECK_INT(mk_hll_deserialize(&g, b, n, NULL), -1);
    CHECK_CONTAINS(mk_err_msg(), "precision 19");
    b[4] = 4;
    b[8 + 3] = 62;   /* > 65 - 4 */
    fix_sum(b, n);
    CHECK_INT(mk_hll_deserialize(&g, b, n, NULL), -1);
    CHECK_CONTAINS(mk_err_msg(), "register 3 value 62 exceeds 61");
    memset(b + 8, 0, 16);
    b[8] = 1;   /* one register: should have been sparse */
    fix_sum(b, n);
    CHECK_INT(mk_hll_deserialize(&g, b, n, NULL), -1);
    CHECK_CONTAINS(mk_err_msg(), "non-canonical");
    free(b);
    mk_hll_free(&h);

    mk_hll_init(&h, 14);
    mk_hll_add(&h, 0x0000000000000001u);   /* register 0 */
    mk_hll_add(&h, 0xFFFFFFFFFFFFFFFFu);   /* register 16383 */
    b = hll_bytes(&h, &n);
    CHECK_U64(n, 8 + 4 + 6 + 8);
    unsigned char e0[3];
    memcpy(e0, b + 12, 3);   /* swap the two entries: not increasing */
    memcpy(b + 12, b + 15, 3);
    memcpy(b + 15, e0, 3);
    fix_sum(b, n);
    CHECK_INT(mk_hll_deserialize(&g, b, n, NULL), -1);
    CHECK_CONTAINS(mk_err_msg(), "bad sparse entry 1");
    free(b);
    mk_hll_free(&h);
}

/* ---- DDSketch ---------------------------------------------------------------- */

static void test_qs_init(void)
{
    mk_qsketch s;
    CHECK_INT(mk_qsketch_init(&s, 0.6, 0), -1);
    CHECK_CONTAINS(mk_err_msg(), "relative accuracy 0.6 not in");
    CHECK_INT(mk_qsketch_init(&s, -0.01, 0), -1);
    CHECK_INT(mk_qsketch_init(&s, NAN, 0), -1);
    CHECK_INT(mk_qsketch_init(&s, 1e-7, 0), -1);
    CHECK_INT(mk_qsketch_init(&s, 0.01, MK_QSKETCH_BUCKETS_MAX + 1u), -1);
    CHECK_CONTAINS(mk_err_msg(), "buckets exceed");
    CHECK(s.alpha == MK_QSKETCH_ALPHA_DEFAULT);   /* failed init leaves defaults */
    CHECK_INT(mk_qsketch_init(&s, 0, 0), 0);
    CHECK(s.alpha == 0.01);
    CHECK_U64(s.max_buckets, 4096);
    CHECK_U64(mk_qsketch_bytes(&s), 0);
    CHECK_INT(mk_qsketch_init(&s, 1e-6, 1), 0);
    CHECK_INT(mk_qsketch_init(&s, 0.5, 0), 0);
}

static void test_qs_basic(void)
{
    mk_qsketch s;
    mk_qsketch_init(&s, 0.01, 0);
    CHECK_U64(mk_qsketch_count(&s), 0);
    CHECK(isnan(mk_qsketch_min(&s)) && isnan(mk_qsketch_max(&s)));
    CHECK(isnan(mk_qsketch_quantile(&s, 0.5)));
    CHECK_INT(mk_qsketch_add(&s, 7.5), 0);
    CHECK_U64(mk_qsketch_bytes(&s), 32 * 8);   /* the first 32 buckets */
    CHECK(mk_qsketch_quantile(&s, 0) == 7.5 && mk_qsketch_quantile(&s, 0.5) == 7.5 &&
          mk_qsketch_quantile(&s, 1) == 7.5);
    CHECK_INT(mk_qsketch_add(&s, NAN), -1);
    CHECK_CONTAINS(mk_err_msg(), "not a finite number");
    CHECK_INT(mk_qsketch_add(&s, INFINITY), -1);
    CHECK_INT(mk_qsketch_add_n(&s, -INFINITY, 3), -1);
    CHECK_U64(mk_qsketch_count(&s), 1);
    CHECK_INT(mk_qsketch_add_n(&s, 100, 0), 0);
    CHECK_U64(mk_qsketch_count(&s), 1);
    CHECK(mk_qsketch_max(&s) == 7.5);
    CHECK_INT(mk_qsketch_add_n(&s, 100, 9), 0);   /* 7.5, 100 x 9 */
    CHECK_U64(mk_qsketch_count(&s), 10);
    CHECK(mk_qsketch_quantile(&s, 0) == 7.5);
    CHECK(fabs(mk_qsketch_quantile(&s, 0.1) - 100) <= 1);   /* rank 1 */
    CHECK(isnan(mk_qsketch_quantile(&s, -0.1)) && isnan(mk_qsketch_quantile(&s, 1.5)) &&
          isnan(mk_qsketch_quantile(&s, NAN)));
    CHECK_INT(mk_qsketch_add(&s, -0.0), 0);
    CHECK(mk_qsketch_min(&s) == 0 && !signbit(mk_qsketch_min(&s)));
    mk_qsketch_free(&s);
    CHECK_U64(mk_qsketch_count(&s), 0);
    CHECK_U64(mk_qsketch_bytes(&s), 0);
    CHECK(s.alpha == 0.01);

    /* The rank convention. */
    CHECK_U64(mk_qsketch_rank(0, 1000), 0);
    CHECK_U64(mk_qsketch_rank(1, 1000), 999);
    CHECK_U64(mk_qsketch_rank(0.5, 1), 0);
    CHECK_U64(mk_qsketch_rank(0.5, 4), 2);       /* 1.5 -> 2 */
    CHECK_U64(mk_qsketch_rank(0.5, 5), 2);
    CHECK_U64(mk_qsketch_rank(0.99, 1000), 990); /* 989.01 -> 990 */
    CHECK_U64(mk_qsketch_rank(0.07, 101), 7);    /* 7.000000000000001 in double */
    CHECK_U64(mk_qsketch_rank(0.29, 101), 29);   /* 28.999999999999996 */
    CHECK_U64(mk_qsketch_rank(0.001, 1000001), 1000);
    int bad = 0;
    for (int k = 0; k <= 100; k++)
        bad += mk_qsketch_rank(k / 100.0, 101) != (uint64_t)k;
    CHECK_INT(bad, 0);
}

/* Checks every quantile in a grid (and qs) against the sorted data; returns
 * the worst relative error seen. */
static double check_quantiles(const mk_qsketch *s, double *sorted, size_t n, double alpha, int *bad)
{
    static const double qs[] = {0, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 1};
    double worst = 0;
    for (int g = 0; g < 1000 + 8; g++) {
        double q = g < 8 ? qs[g] : (g - 8) / 999.0;
        double want = sorted[mk_qsketch_rank(q, n)], got = mk_qsketch_quantile(s, q);
        double err = want == 0 ? (got == 0 ? 0 : INFINITY) : fabs(got - want) / fabs(want);
        if (err > worst)
            worst = err;
        if (!(err <= alpha * (1 + 1e-9))) {
            if (++*bad <= 5)
                printf("# q=%.17g: got %.17g, want %.17g (rel %.3g)\n", q, got, want, err);
        }
    }
    if (mk_qsketch_quantile(s, 0) != sorted[0] || mk_qsketch_quantile(s, 1) != sorted[n - 1])
        ++*bad;
    return worst;
}

static void test_qs_accuracy(void)
{
    enum { N = 1000000 };
    double *v = malloc(N * sizeof *v);
    const char *names[] = {"lognormal(0,2)", "pareto(1,1.2)", "exponential(1)", "lognormal a=0.001",
                           "pareto a=0.05"};
    const double alphas[] = {0.01, 0.01, 0.01, 0.001, 0.05};
    /* lognormal(0,2) at alpha 0.001 spans ~9000 buckets: raise the limit */
    const uint32_t limits[] = {0, 0, 0, 1 << 14, 0};
    for (int d = 0; d < 5; d++) {
        mk_qsketch s;
        CHECK_INT(mk_qsketch_init(&s, alphas[d], limits[d]), 0);
        seed(100 + (uint64_t)d);
        for (size_t i = 0; i < N; i++) {
            double x = d % 3 == 0 ? exp(2 * normal()) : d % 3 == 1 ? pow(unif(), -1 / 1.2) : -log(unif());
            v[i] = x;
            CHECK(mk_qsketch_add(&s, x) == 0);
        }
        CHECK_U64(mk_qsketch_count(&s), N);
        qsort(v, N, sizeof *v, cmp_dbl);
        CHECK(mk_qsketch_min(&s) == v[0] && mk_qsketch_max(&s) == v[N - 1]);
        int bad = 0;
        double worst = check_quantiles(&s, v, N, alphas[d], &bad);
        CHECK_INT(bad, 0);
        printf("# qsketch %s, alpha %g: worst relative error %.5f%% over 1008 quantiles "
               "(p50 %.4g, p99 %.4g, p99.9 %.4g; %zu bytes)\n",
               names[d], alphas[d], 100 * worst, mk_qsketch_quantile(&s, 0.5), mk_qsketch_quantile(&s, 0.99),
               mk_qsketch_quantile(&s, 0.999), mk_qsketch_bytes(&s));
        mk_qsketch_free(&s);
    }
    free(v);
}

/* Mixed signs, zeros, values across the whole double range. */
static void test_qs_signs(void)
{
    enum { N = 200000 };
    double *v = malloc(N * sizeof *v);
    mk_qsketch s;
    mk_qsketch_init(&s, 0.02, 1 << 16);   /* 1e-324..1e308 is ~37000 buckets at alpha 0.02 */
    seed(9);
    for (size_t i = 0; i < N; i++) {
        double x;
        switch (rnd() % 5) {
        case 0: x = 0; break;
        case 1: x = -exp(3 * normal()); break;
        case 2: x = 100 * normal(); break;
        case 3: x = (rnd() & 1 ? 1 : -1) * exp((unif() - 0.5) * 1400); break;   /* 1e-304..1e304 */
        default: x = exp(normal()); break;
        }
        v[i] = x;
        mk_qsketch_add(&s, x);
    }
    mk_qsketch_add(&s, DBL_MAX);
    mk_qsketch_add(&s, -DBL_TRUE_MIN);
    mk_qsketch_add(&s, DBL_TRUE_MIN);
    double *w = realloc(v, (N + 3) * sizeof *v);
    w[N] = DBL_MAX;
    w[N + 1] = -DBL_TRUE_MIN;
    w[N + 2] = DBL_TRUE_MIN;
    qsort(w, N + 3, sizeof *w, cmp_dbl);
    int bad = 0;
    double worst = check_quantiles(&s, w, N + 3, 0.02, &bad);
    CHECK_INT(bad, 0);
    printf("# qsketch mixed signs/zeros, alpha 0.02: worst relative error %.4f%% (%zu bytes)\n", 100 * worst,
           mk_qsketch_bytes(&s));

    /* All negative: quantiles mirror the positive case. */
    mk_qsketch t;
    mk_qsketch_init(&t, 0.01, 0);
    for (int i = 1; i <= 1000; i++)
        mk_qsketch_add(&t, -(double)i);
    CHECK(mk_qsketch_quantile(&t, 0) == -1000 && mk_qsketch_quantile(&t, 1) == -1);
    double m = mk_qsketch_quantile(&t, 0.5);   /* rank 500 (499.5 -> 500): -500 */
    CHECK(fabs(m + 500) <= 5);
    mk_qsketch_free(&t);
    mk_qsketch_free(&s);
    free(w);
}

static void test_qs_merge(void)
{
    enum { N = 100000, SHARDS = 7 };
    mk_qsketch all, half[2], shard[SHARDS];
    mk_qsketch_init(&all, 0.01, 0);
    for (int i = 0; i < 2; i++)
        mk_qsketch_init(&half[i], 0.01, 0);
    for (int i = 0; i < SHARDS; i++)
        mk_qsketch_init(&shard[i], 0.01, 0);
    seed(77);
    for (size_t i = 0; i < N; i++) {
        double x = (rnd() % 4 == 0 ? -1 : 1) * exp(2 * normal());
        if (rnd() % 10 == 0)
            x = 0;
        mk_qsketch_add(&all, x);
        mk_qsketch_add(&half[i < N / 2], x);
        mk_qsketch_add(&shard[rnd() % (SHARDS - 1)], x);   /* the last shard stays empty */
    }
    size_t na, nb;
    unsigned char *ba = qs_bytes(&all, &na);

    mk_qsketch m1, m2;
    mk_qsketch_init(&m1, 0.01, 0);
    mk_qsketch_init(&m2, 0.01, 0);
    CHECK_INT(mk_qsketch_merge(&m1, &half[0]), 0);
    CHECK_INT(mk_qsketch_merge(&m1, &half[1]), 0);
    for (int i = SHARDS - 1; i >= 0; i--)
        CHECK_INT(mk_qsketch_merge(&m2, &shard[i]), 0);
    unsigned char *bb = qs_bytes(&m1, &nb);
    CHECK(same_bytes(ba, na, bb, nb));   /* identical buckets, counts, min, max */
    free(bb);
    bb = qs_bytes(&m2, &nb);
    CHECK(same_bytes(ba, na, bb, nb));
    free(bb);
    int diff = 0;
    for (int g = 0; g <= 1000; g++)
        diff += mk_qsketch_quantile(&m1, g / 1000.0) != mk_qsketch_quantile(&all, g / 1000.0);
    CHECK_INT(diff, 0);

    /* Merging into itself doubles every count. */
    mk_qsketch d;
    mk_qsketch_init(&d, 0.01, 0);
    mk_qsketch_merge(&d, &half[0]);
    mk_qsketch_merge(&d, &half[0]);
    CHECK_INT(mk_qsketch_merge(&half[0], &half[0]), 0);
    size_t n1, n2;
    unsigned char *b1 = qs_bytes(&d, &n1), *b2 = qs_bytes(&half[0], &n2);
    CHECK(same_bytes(b1, n1, b2, n2));
    free(b1);
    free(b2);

    mk_qsketch o;
    mk_qsketch_init(&o, 0.02, 0);
    CHECK_INT(mk_qsketch_merge(&o, &all), -1);
    CHECK_CONTAINS(mk_err_msg(), "relative accuracies 0.02 and 0.01 differ");
    mk_qsketch_free(&o);
    mk_qsketch_free(&d);
    mk_qsketch_free(&m1);
    mk_qsketch_free(&m2);
    mk_qsketch_free(&all);
    for (int i = 0; i < 2; i++)
        mk_qsketch_free(&half[i]);
    for (int i = 0; i < SHARDS; i++)
        mk_qsketch_free(&shard[i]);
    free(ba);
}

static int64_t ref_key(const mk_qsketch *s, double x)
{
    return (int64_t)ceil(log(fabs(x)) * s->inv_ln_gamma);
}

/* Parses one store of a serialized sketch at *pos. */
static void parse_store(const unsigned char *b, size_t *pos, int64_t *lo, uint64_t *n, uint64_t *c)
{
    *lo = (int32_t)((uint32_t)b[*pos] | (uint32_t)b[*pos + 1] << 8 | (uint32_t)b[*pos + 2] << 16 |
                    (uint32_t)b[*pos + 3] << 24);
    *n = (uint32_t)b[*pos + 4] | (uint32_t)b[*pos + 5] << 8 | (uint32_t)b[*pos + 6] << 16 |
         (uint32_t)b[*pos + 7] << 24;
    *pos += 8;
    for (uint64_t i = 0; i < *n; i++) {
        uint64_t v = 0;
        int sh = 0;
        while (b[*pos] & 0x80)
            v |= (uint64_t)(b[(*pos)++] & 0x7f) << sh, sh += 7;
        v |= (uint64_t)b[(*pos)++] << sh;
        c[i] = v;
    }
}

/* Buckets against the reference model with a small bucket limit: values in
 * several orders (growing, shrinking, random, shards) give the same state,
 * which is the fold of all keys at max key - limit + 1. */
static void test_qs_collapse(void)
{
    enum { N = 60000, LIMIT = 100 };
    static double v[N];
    static int64_t pk[1 << 16], nk[1 << 16];
    static uint64_t got[1 << 16];
    seed(31);
    for (size_t i = 0; i < N; i++) {
        double x = exp((unif() - 0.5) * 20);   /* 5e-5 .. 2e4: ~1000 buckets */
        v[i] = rnd() % 3 == 0 ? -x : x;
    }
    mk_qsketch tmp;
    mk_qsketch_init(&tmp, 0.01, LIMIT);
    /* Expected buckets: keys (negative store: -key) folded at hi - LIMIT + 1. */
    int64_t phi = INT64_MIN, nhi = INT64_MIN, np = 0, nn = 0;
    for (size_t i = 0; i < N; i++) {
        int64_t k = ref_key(&tmp, v[i]);
        if (v[i] > 0) {
            pk[np++] = k;
            phi = k > phi ? k : phi;
        } else {
            nk[nn++] = -k;
            nhi = -k > nhi ? -k : nhi;
        }
    }
    unsigned char *first = NULL;
    size_t nfirst = 0;
    for (int order = 0; order < 5; order++) {
        double *w = malloc(N * sizeof *w);
        memcpy(w, v, N * sizeof *w);
        if (order == 1 || order == 2)
            qsort(w, N, sizeof *w, cmp_dbl);
        if (order == 2)
            for (size_t i = 0; i < N / 2; i++) {
                double t = w[i];
                w[i] = w[N - 1 - i], w[N - 1 - i] = t;
            }
        mk_qsketch s;
        mk_qsketch_init(&s, 0.01, LIMIT);
        if (order < 3) {
            for (size_t i = 0; i < N; i++)
                mk_qsketch_add(&s, w[i]);
        } else {
            /* shards of sorted or random data, merged */
            if (order == 4)
                qsort(w, N, sizeof *w, cmp_dbl);
            for (int part = 0; part < 4; part++) {
                mk_qsketch p;
                mk_qsketch_init(&p, 0.01, LIMIT);
                for (size_t i = (size_t)part * N / 4; i < (size_t)(part + 1) * N / 4; i++)
                    mk_qsketch_add(&p, w[i]);
                mk_qsketch_merge(&s, &p);
                mk_qsketch_free(&p);
            }
        }
        CHECK(mk_qsketch_bytes(&s) <= 2 * LIMIT * 8);
        size_t n;
        unsigned char *b = qs_bytes(&s, &n);
        if (!first) {
            first = b, nfirst = n;
            /* Compare both stores with the model. */
            size_t pos = 40;
            int64_t lo;
            uint64_t cnt;
            for (int st = 0; st < 2; st++) {
                int64_t *keys = st ? pk : nk, nkeys = st ? np : nn, hi = st ? phi : nhi;
                parse_store(b, &pos, &lo, &cnt, got);
                CHECK(lo == hi - LIMIT + 1 && cnt == LIMIT);
                uint64_t want[LIMIT] = {0};
                for (int64_t i = 0; i < nkeys; i++)
                    want[(keys[i] < lo ? lo : keys[i]) - lo]++;
                CHECK(memcmp(want, got, sizeof want) == 0);
            }
        } else {
            CHECK(same_bytes(first, nfirst, b, n));
            free(b);
        }
        /* The highest quantiles keep the bound; collapsed ranks come out
         * high but never below min. */
        qsort(w, N, sizeof *w, cmp_dbl);
        double cut = exp((double)(phi - LIMIT) * s.ln_gamma) * (1 + 1e-9);
        int bad = 0, collapsed = 0;
        for (int g = 0; g <= 1000; g++) {
            double q = g / 1000.0, want = w[mk_qsketch_rank(q, N)], got_q = mk_qsketch_quantile(&s, q);
            if (want > cut || (want < 0 && -want < exp((double)(LIMIT - 1 - nhi) * s.ln_gamma) * (1 - 1e-9)))
                bad += !(fabs(got_q - want) <= 0.01 * fabs(want) * (1 + 1e-9));
            else
                collapsed++, bad += !(got_q >= want - fabs(want) * 0.01 * (1 + 1e-9) && got_q >= w[0]);
        }
        CHECK_INT(bad, 0);
        CHECK(collapsed > 0);
        if (order == 0)
            printf("# qsketch limit %d buckets: %d of 1001 grid quantiles collapsed (most negative and "
                   "smallest positive values); the rest within alpha\n", LIMIT, collapsed);
        mk_qsketch_free(&s);
        free(w);
    }
    free(first);
    mk_qsketch_free(&tmp);

    /* One bucket per store: everything positive is one value. */
    mk_qsketch s;
    mk_qsketch_init(&s, 0.01, 1);
    for (int i = 1; i <= 1000; i++)
        mk_qsketch_add(&s, i);
    CHECK(mk_qsketch_bytes(&s) == 8);
    CHECK(fabs(mk_qsketch_quantile(&s, 0.9) - 1000) <= 10 && mk_qsketch_quantile(&s, 0) == 1);
    mk_qsketch_free(&s);
}

/* 300 random walks through log space with jumps, both signs and random
 * bucket limits, against the reference model: keys folded at the highest
 * key - limit + 1, per store; and a random two-way split merged gives the
 * same bytes. Exercises every layout path (growth, in-place shifts, folds). */
static void test_qs_model(void)
{
    enum { N = 3000 };
    static double v[N];
    static uint64_t got[1 << 12], want[1 << 12];
    int bad = 0;
    for (int trial = 0; trial < 300; trial++) {
        seed(5000 + (uint64_t)trial);
        uint32_t limit = 1 + (uint32_t)(rnd() % (trial % 3 ? 200 : 3000));
        mk_qsketch s, a, b;
        mk_qsketch_init(&s, 0.01, limit);
        mk_qsketch_init(&a, 0.01, limit);
        mk_qsketch_init(&b, 0.01, limit);
        double lx = normal() * 5, step = unif() * 0.5;
        for (size_t i = 0; i < N; i++) {
            lx += normal() * step;
            if (rnd() % 200 == 0)
                lx = normal() * 20;   /* jump */
            v[i] = exp(lx) * (rnd() % 4 == 0 ? -1 : 1);
            if (rnd() % 50 == 0)
                v[i] = 0;
            mk_qsketch_add(&s, v[i]);
            mk_qsketch_add(rnd() % 2 ? &a : &b, v[i]);
        }
        size_t n, pos = 40;
        unsigned char *bs = qs_bytes(&s, &n);
        for (int st = 0; st < 2; st++) {
            int64_t hi = INT64_MIN, lo;
            uint64_t cnt;
            for (size_t i = 0; i < N; i++)
                if (st ? v[i] > 0 : v[i] < 0) {
                    int64_t k = st ? ref_key(&s, v[i]) : -ref_key(&s, v[i]);
                    hi = k > hi ? k : hi;
                }
            parse_store(bs, &pos, &lo, &cnt, got);
            if (hi == INT64_MIN) {
                bad += cnt != 0;
                continue;
            }
            int64_t flo = hi - (int64_t)limit + 1, mlo = INT64_MAX;
            memset(want, 0, sizeof want);
            for (size_t i = 0; i < N; i++)
                if (st ? v[i] > 0 : v[i] < 0) {
                    int64_t k = st ? ref_key(&s, v[i]) : -ref_key(&s, v[i]);
                    k = k < flo ? flo : k;
                    mlo = k < mlo ? k : mlo;
                    if (k - flo < (int64_t)(sizeof want / sizeof *want))
                        want[k - flo]++;
                }
            bad += lo != mlo || cnt != (uint64_t)(hi - mlo + 1);
            bad += cnt > sizeof got / sizeof *got ||
                   memcmp(got, want + (mlo - flo), cnt * sizeof *got) != 0;
        }
        CHECK_INT(mk_qsketch_merge(&a, &b), 0);
        size_t na;
        unsigned char *ba = qs_bytes(&a, &na);
        bad += !same_bytes(bs, n, ba, na);
        CHECK(mk_qsketch_bytes(&s) <= 2 * (size_t)limit * 8);
        free(bs);
        free(ba);
        mk_qsketch_free(&s);
        mk_qsketch_free(&a);
        mk_qsketch_free(&b);
    }
    CHECK_INT(bad, 0);
}

/* Values sweeping up and down across magnitudes exercise every layout path;
 * quantiles must stay within alpha. */
static void test_qs_growth(void)
{
    enum { N = 20000 };
    static double v[N];
    mk_qsketch s;
    mk_qsketch_init(&s, 0.01, 0);
    for (size_t i = 0; i < N; i++) {
        double t = (double)i / N;
        v[i] = i % 2 ? exp(60 * t - 30) : exp(30 - 60 * t) * (i % 3 ? 1 : -1);
        mk_qsketch_add(&s, v[i]);
    }
    qsort(v, N, sizeof *v, cmp_dbl);
    int bad = 0;
    check_quantiles(&s, v, N, 0.01, &bad);
    CHECK_INT(bad, 0);
    mk_qsketch_free(&s);
}

static void test_qs_serialize(void)
{
    mk_qsketch s, g;
    for (int t = 0; t < 4; t++) {
        mk_qsketch_init(&s, t == 3 ? 0.001 : 0.01, t == 2 ? 50 : 0);
        seed(5 + (uint64_t)t);
        int n_add = t == 0 ? 0 : t == 1 ? 3 : 5000;
        for (int i = 0; i < n_add; i++)
            mk_qsketch_add_n(&s, t == 1 ? (double)(i - 1) : normal() * exp(4 * normal()), 1 + rnd() % 3);
        size_t n, n2, used;
        unsigned char *b = qs_bytes(&s, &n);
        if (t == 0)
            CHECK_U64(n, 4 + 8 + 4 + 8 + 16 + 16 + 8);
        CHECK_U64(mk_qsketch_serialize(&s, b, n - 1), n);
        CHECK_INT(mk_qsketch_deserialize(&g, b, n, NULL), 0);
        unsigned char *b2 = qs_bytes(&g, &n2);
        CHECK(same_bytes(b, n, b2, n2));
        free(b2);
        int diff = 0;
        for (int k = 0; k <= 100; k++)
            diff += !(mk_qsketch_quantile(&g, k / 100.0) == mk_qsketch_quantile(&s, k / 100.0) ||
                      (t == 0 && isnan(mk_qsketch_quantile(&g, k / 100.0))));
        CHECK_INT(diff, 0);
        /* Adding to the copy and the original keeps them equal. */
        for (int i = 0; i < 1000; i++) {
            double x = normal() * exp(6 * normal());
            mk_qsketch_add(&s, x);
            mk_qsketch_add(&g, x);
        }
        size_t na, nb;
        unsigned char *xa = qs_bytes(&s, &na), *xb = qs_bytes(&g, &nb);
        CHECK(same_bytes(xa, na, xb, nb));
        free(xa);
        free(xb);
        mk_qsketch_free(&g);

        unsigned char *ext = malloc(n + 2);
        memcpy(ext, b, n);
        ext[n] = ext[n + 1] = 0;
        CHECK_INT(mk_qsketch_deserialize(&g, ext, n + 2, NULL), -1);
        CHECK_CONTAINS(mk_err_msg(), "2 trailing bytes");
        CHECK_INT(mk_qsketch_deserialize(&g, ext, n + 2, &used), 0);
        CHECK_U64(used, n);
        mk_qsketch_free(&g);
        free(ext);

        int bad = 0;
        for (size_t k = 0; k < n; k++) {
            bad += mk_qsketch_deserialize(&g, b, k, NULL) != -1;
            mk_qsketch_free(&g);
        }
        for (size_t k = 0; k < n; k += n / 300 + 1) {
            b[k] ^= 0x04;
            bad += mk_qsketch_deserialize(&g, b, n, NULL) != -1;
            mk_qsketch_free(&g);
            b[k] ^= 0x04;
        }
        CHECK_INT(bad, 0);
        CHECK(g.alpha == 0.01 && mk_qsketch_count(&g) == 0 && mk_qsketch_bytes(&g) == 0);
        free(b);
        mk_qsketch_free(&s);
    }

    /* Structurally bad input with a valid checksum. Layout of {1, 2}:
     * 0 magic, 4 alpha, 12 limit, 16 zero, 24 min, 32 max, 40 neg store
     * (8 bytes), 48 pos store: lo, n = 71, counts; then the checksum. */
    mk_qsketch_init(&s, 0.01, 0);
    mk_qsketch_add(&s, 1);
    mk_qsketch_add(&s, 2);
    size_t n;
    unsigned char *b = qs_bytes(&s, &n), *c = malloc(n);
    CHECK_U64(b[52], 36);   /* keys 0 .. 35 (ln 2 / ln 1.0202 = 34.66) */
    memcpy(c, b, n);
    c[12] = 0, c[13] = 0;   /* limit 0 */
    fix_sum(c, n);
    CHECK_INT(mk_qsketch_deserialize(&g, c, n, NULL), -1);
    CHECK_CONTAINS(mk_err_msg(), "bucket limit 0");
    memcpy(c, b, n);
    c[12] = 10, c[13] = 0;   /* limit 10 < 36 buckets */
    fix_sum(c, n);
    CHECK_INT(mk_qsketch_deserialize(&g, c, n, NULL), -1);
    CHECK_CONTAINS(mk_err_msg(), "out of range");
    memcpy(c, b, n);
    double a9 = 0.9;   /* alpha; the test host is little-endian like the format */
    memcpy(c + 4, &a9, 8);
    fix_sum(c, n);
    CHECK_INT(mk_qsketch_deserialize(&g, c, n, NULL), -1);
    CHECK_CONTAINS(mk_err_msg(), "relative accuracy");
    memcpy(c, b, n);
    c[56] = 0;   /* first count 0 */
    fix_sum(c, n);
    CHECK_INT(mk_qsketch_deserialize(&g, c, n, NULL), -1);
    CHECK_CONTAINS(mk_err_msg(), "non-canonical");
    memcpy(c, b, n);
    c[24 + 7] ^= 0x80;   /* min -1 */
    fix_sum(c, n);
    CHECK_INT(mk_qsketch_deserialize(&g, c, n, NULL), -1);
    CHECK_CONTAINS(mk_err_msg(), "inconsistent");
    memcpy(c, b, n);
    c[56] = 0x80;   /* 0 in two bytes: overlong */
    c[57] = 0x00;
    fix_sum(c, n);
    CHECK_INT(mk_qsketch_deserialize(&g, c, n, NULL), -1);
    CHECK_CONTAINS(mk_err_msg(), "overlong");
    memcpy(c, b, n);
    c[48 + 3] = 0x7f;   /* lowest key ~2^31: beyond any double */
    fix_sum(c, n);
    CHECK_INT(mk_qsketch_deserialize(&g, c, n, NULL), -1);
    CHECK_CONTAINS(mk_err_msg(), "out of range");
    memcpy(c, b, n);
    memcpy(c, "DDS0", 4);
    CHECK_INT(mk_qsketch_deserialize(&g, c, n, NULL), -1);
    CHECK_CONTAINS(mk_err_msg(), "no \"DDS1\" header");
    free(b);
    free(c);
    mk_qsketch_free(&s);
}

/* ---- moments ------------------------------------------------------------------ */

static int close_rel(double a, double b, double tol)
{
    return fabs(a - b) <= tol * fmax(fabs(a), fabs(b));
}

static void test_moments_basic(void)
{
    mk_moments m;
    mk_moments_init(&m);
    CHECK_U64(mk_moments_count(&m), 0);
    CHECK(mk_moments_sum(&m) == 0);
    CHECK(isnan(mk_moments_mean(&m)) && isnan(mk_moments_variance(&m)));
    mk_moments_add(&m, 3);
    CHECK(mk_moments_mean(&m) == 3 && isnan(mk_moments_variance(&m)));
    mk_moments_init(&m);
    const double x[] = {2, 4, 4, 4, 5, 5, 7, 9};
    for (int i = 0; i < 8; i++)
        mk_moments_add(&m, x[i]);
    CHECK_U64(mk_moments_count(&m), 8);
    CHECK(mk_moments_sum(&m) == 40 && mk_moments_mean(&m) == 5);
    CHECK(close_rel(mk_moments_variance(&m), 32.0 / 7, 1e-15));
    CHECK(close_rel(mk_moments_stddev(&m), sqrt(32.0 / 7), 1e-15));
    /* Compensated sum: 1 + 1e100 - 1e100 ... */
    mk_moments_init(&m);
    mk_moments_add(&m, 1);
    mk_moments_add(&m, 1e100);
    mk_moments_add(&m, 1);
    mk_moments_add(&m, -1e100);
    CHECK(mk_moments_sum(&m) == 2);
}

static void test_moments_merge(void)
{
    enum { N = 100000, SH = 8 };
    mk_moments one, sh[SH], tree[SH], seq;
    mk_moments_init(&one);
    mk_moments_init(&seq);
    for (int i = 0; i < SH; i++)
        mk_moments_init(&sh[i]);
    seed(3);
    for (size_t i = 0; i < N; i++) {
        double x = 5 + 2 * normal();
        mk_moments_add(&one, x);
        mk_moments_add(&sh[rnd() % (SH - 1)], x);   /* shard SH-1 stays empty */
    }
    for (int i = 0; i < SH; i++)
        mk_moments_merge(&seq, &sh[i]);
    memcpy(tree, sh, sizeof sh);   /* pairwise: 0+1, 2+3, ...; then (0+1)+(2+3), ... */
    for (int w = 1; w < SH; w *= 2)
        for (int i = 0; i + w < SH; i += 2 * w)
            mk_moments_merge(&tree[i], &tree[i + w]);
    double worst = 0;
    const mk_moments *ms[] = {&seq, &tree[0]};
    for (int k = 0; k < 2; k++) {
        CHECK_U64(mk_moments_count(ms[k]), N);
        CHECK(close_rel(mk_moments_mean(ms[k]), mk_moments_mean(&one), 1e-12));
        CHECK(close_rel(mk_moments_variance(ms[k]), mk_moments_variance(&one), 1e-12));
        CHECK(close_rel(mk_moments_sum(ms[k]), mk_moments_sum(&one), 1e-12));
        worst = fmax(worst, fabs(mk_moments_variance(ms[k]) / mk_moments_variance(&one) - 1));
        worst = fmax(worst, fabs(mk_moments_mean(ms[k]) / mk_moments_mean(&one) - 1));
    }
    printf("# moments: 8 shards merged vs one pass: worst relative difference %.2g\n", worst);
    mk_moments e;   /* merging empties changes nothing */
    mk_moments_init(&e);
    mk_moments_merge(&e, &sh[SH - 1]);
    CHECK_U64(mk_moments_count(&e), 0);
}

static void test_moments_stable(void)
{
    enum { N = 1000000 };
    const double off = 1e9;
    mk_moments m, sh[3];
    mk_moments_init(&m);
    for (int i = 0; i < 3; i++)
        mk_moments_init(&sh[i]);
    long double s = 0, s2 = 0;
    static double d[N];
    seed(11);
    for (size_t i = 0; i < N; i++) {
        double x = off + unif();   /* variance 1/12 on top of 1e9 */
        d[i] = x - off;            /* exact: x and off are within a factor 2 */
        s += d[i];
        mk_moments_add(&m, x);
        mk_moments_add(&sh[i % 3], x);
    }
    long double mean_d = s / N;
    for (size_t i = 0; i < N; i++)
        s2 += (d[i] - mean_d) * (d[i] - mean_d);
    double var = (double)(s2 / (N - 1)), mean = (double)(off + mean_d), sum = (double)(off * N + s);
    mk_moments_merge(&sh[0], &sh[1]);
    mk_moments_merge(&sh[0], &sh[2]);
    double ev = fabs(mk_moments_variance(&m) / var - 1), evm = fabs(mk_moments_variance(&sh[0]) / var - 1);
    printf("# moments at 1e9 + U(0,1): variance rel error %.2g one pass, %.2g merged; mean %.2g; sum %.2g\n",
           ev, evm, fabs(mk_moments_mean(&m) / mean - 1), fabs(mk_moments_sum(&m) / sum - 1));
    CHECK(ev < 1e-7 && evm < 1e-7);
    CHECK(close_rel(mk_moments_mean(&m), mean, 1e-15));
    CHECK(close_rel(mk_moments_sum(&m), sum, 1e-15));
    CHECK(close_rel(mk_moments_sum(&sh[0]), sum, 1e-15));
}

int main(void)
{
    RUN(test_hll_init);
    RUN(test_hll_small);
    RUN(test_hll_registers);
    RUN(test_hll_accuracy);
    RUN(test_hll_bias);
    RUN(test_hll_merge);
    RUN(test_hll_serialize);
    RUN(test_qs_init);
    RUN(test_qs_basic);
    RUN(test_qs_accuracy);
    RUN(test_qs_signs);
    RUN(test_qs_merge);
    RUN(test_qs_collapse);
    RUN(test_qs_model);
    RUN(test_qs_growth);
    RUN(test_qs_serialize);
    RUN(test_moments_basic);
    RUN(test_moments_merge);
    RUN(test_moments_stable);
    return DONE();
}
