/* sketch — mergeable summaries for aggregates too big to keep exactly:
 * distinct counts (mk_hll), quantiles (mk_qsketch) and count/sum/mean/
 * variance (mk_moments). They back chunkproc's approx-distinct, p50/p90/p99
 * and quantile aggregates and its --partial / --merge mode.
 *
 * Error guarantees.
 *   mk_hll (HyperLogLog, Ertl's improved estimator, "New cardinality
 *   estimation algorithms for HyperLogLog sketches", 2017): relative standard
 *   error 1.04/sqrt(2^p): p=10 3.3 %, p=12 1.6 %, p=14 (default) 0.81 %,
 *   p=16 0.41 %, p=18 0.20 %, nearly unbiased over the whole range, with no
 *   switch-over between estimators. Small counts are almost exact, their
 *   only error being register collisions (p=14: 0 -> 0, 1 -> 1.00, 100
 *   distinct -> 100 +- 0.6). With 64-bit hashes no large-range correction
 *   is needed.
 *   mk_qsketch (DDSketch, Masson, Rim, Lee, VLDB 2019): every quantile it
 *   returns is within relative error alpha (default 0.01, i.e. 1 %) of the
 *   true value at the rank it reports, |est - x| <= alpha*|x| (up to ~1e-13
 *   of floating-point rounding in log() and exp()), whatever the
 *   distribution, as long as no bucket collapsed (see below). A true 0 comes
 *   back as exactly 0; q = 0 and q = 1 return the exact min and max.
 *   mk_moments: an exact count; the sum is compensated (Neumaier) and the
 *   mean is sum / n, both correct to about one rounding; the variance is a
 *   Welford/Chan update, stable for data with a large offset (values 1e9 +
 *   U(0,1), variance 1/12: 3e-8 relative error over 10^6 values, where the
 *   textbook sum-of-squares formula loses every digit).
 *
 * Memory. mk_hll: nothing until the first add; then a sparse hash set of
 * 4-byte (register, value) entries for small cardinalities (p >= 8), which
 * never exceeds the dense form, and 2^p one-byte registers after that
 * (16 KiB at p=14). mk_qsketch: 8 bytes per bucket, in two dense arrays
 * (positive and negative values) that grow as needed; data spanning
 * [a, b] > 0 needs about ln(b/a)/(2 alpha) buckets (1e-3..1e6 at alpha 0.01:
 * ~1040 buckets, 8 KiB); at most 2 * max_buckets * 8 bytes (64 KiB by
 * default). mk_moments: 40 bytes, no heap. Out of memory dies (err.h).
 *
 * Collapsing. A store whose buckets would span more than max_buckets (with
 * the default 4096 at alpha 0.01: values spanning more than 35 orders of
 * magnitude) merges its lowest buckets into the lowest one it keeps: the
 * positive store its smallest values, the negative store its most negative
 * values. So collapsing only affects the lowest quantiles: for data of one
 * sign the lowest ranks lose the alpha guarantee (their estimates come out
 * too high, never below the exact min), and with both signs the ranks of the
 * most negative values and of the smallest positive ones; the other ranks
 * keep it. The collapsed state depends only on the multiset of values, not
 * on their order. The kept window hangs from each store's top end, so one
 * extreme value there (1e300 among values near 1, or -1e-300 among values
 * near -1) collapses the rest of its store: raise max_buckets for data that
 * spans more orders of magnitude than the default covers.
 *
 * Mergeability. All three merge exactly: merging sketches of shards gives
 * the same state as one sketch over all the data (HLL: register-wise max,
 * same registers; DDSketch: bucket counts added, identical buckets, min,
 * max and so identical quantiles, collapsed or not, when both sides use the
 * same max_buckets; moments: Chan et al.'s parallel formula, equal to one
 * pass up to rounding, 4e-15 relative on well-scaled data). HLL precisions and DDSketch alphas
 * must match, else merge fails. mk_hll and mk_qsketch serialize to
 * self-describing, versioned byte strings ("HLL1", "DDS1", little-endian,
 * ending in an XXH3-64 checksum) that another process deserializes;
 * deserialization validates everything and fails with a message on
 * truncated, corrupt or non-canonical input. A serialized sketch is
 * canonical: equal states give equal bytes.
 *
 * Errors: functions returning int return 0, or -1 after mk_err_set().
 * Thread-safety: none. One thread at a time per sketch; merge shards'
 * sketches after their threads are done.
 *
 * Complexity: mk_hll_add O(1) (sparse: expected O(1), amortised growth);
 * estimate O(2^p). mk_qsketch_add O(1) with one log() and no allocation
 * unless a value falls outside the buckets held; quantile O(buckets).
 * The structs are public so they can be embedded by value; treat their
 * fields as private and use the functions (mk_moments' fields may be read
 * and written directly, e.g. to store them as %a hex floats). */
#ifndef MK_SKETCH_H
#define MK_SKETCH_H

#include <stddef.h>
#include <stdint.h>

/* ---- HyperLogLog: approximate distinct counts ---------------------------- */

enum { MK_HLL_P_MIN = 4, MK_HLL_P_MAX = 18, MK_HLL_P_DEFAULT = 14 };

typedef struct mk_hll {
    uint8_t *reg;        /* dense: 2^p registers, or NULL */
    uint32_t *sp;        /* sparse: open-addressing set of idx << 6 | value, or NULL */
    uint32_t scap, slen; /* sparse slots (a power of two) and entries */
    int p;
} mk_hll;

/* p in [MK_HLL_P_MIN, MK_HLL_P_MAX]; -1 otherwise. Allocates nothing. */
int mk_hll_init(mk_hll *h, int p);
/* Releases the registers; h stays a usable empty sketch of the same p. */
void mk_hll_free(mk_hll *h);

/* Adds one 64-bit hash of a value (hash values with mk_map_hash(), map.h;
 * equal values must give equal hashes, and the hash must be well mixed). */
void mk_hll_add(mk_hll *h, uint64_t hash);
/* The estimated number of distinct hashes added (0 for an empty sketch);
 * round it for display. */
double mk_hll_estimate(const mk_hll *h);
/* dst |= src (register-wise max). -1 if the precisions differ. */
int mk_hll_merge(mk_hll *dst, const mk_hll *src);
size_t mk_hll_bytes(const mk_hll *h);    /* heap bytes held */

/* Writes the serialized sketch to buf if it fits in cap bytes and returns its
 * size either way (buf may be NULL to ask for the size). Layout: "HLL1",
 * u8 p, u8 encoding, u16 0, then dense (0): 2^p register bytes, or sparse
 * (1): u32 n and n 3-byte entries index << 6 | value by increasing index
 * (chosen when smaller), then u64 XXH3-64 of everything before it. */
size_t mk_hll_serialize(const mk_hll *h, void *buf, size_t cap);
/* Initializes h (need not be initialized before; previous contents are not
 * freed) from len bytes. With used == NULL the bytes must be exactly one
 * sketch; otherwise trailing bytes are allowed and *used = bytes consumed.
 * On error h is an empty sketch of the default precision. */
int mk_hll_deserialize(mk_hll *h, const void *buf, size_t len, size_t *used);

/* ---- DDSketch: quantiles with relative accuracy --------------------------- */

#define MK_QSKETCH_ALPHA_DEFAULT 0.01
#define MK_QSKETCH_ALPHA_MIN 1e-6
#define MK_QSKETCH_ALPHA_MAX 0.5
enum { MK_QSKETCH_BUCKETS_DEFAULT = 4096, MK_QSKETCH_BUCKETS_MAX = 1 << 24 };

/* One dense store of bucket counts: bins[k - offset] counts bucket key k. */
typedef struct mk_qstore {
    uint64_t *bins;      /* cap counters, or NULL */
    uint64_t total;      /* sum of bins */
    int32_t offset;      /* key of bins[0] */
    int32_t lo, hi;      /* lowest and highest non-empty key when total > 0 */
    uint32_t cap;
} mk_qstore;

typedef struct mk_qsketch {
    double alpha, ln_gamma, inv_ln_gamma, mid;   /* mid = 2 / (1 + gamma) */
    uint32_t max_buckets;
    int32_t key_min, key_max;                    /* keys any finite |x| > 0 maps to */
    mk_qstore pos;       /* x > 0: key ceil(log_gamma(x)) */
    mk_qstore neg;       /* x < 0: key -ceil(log_gamma(-x)), so keys ascend with x */
    uint64_t zero;       /* count of x == 0 (and -0) */
    double min, max;     /* exact; +inf and -inf when empty */
} mk_qsketch;

/* Bucket i holds |x| in (gamma^(i-1), gamma^i], gamma = (1+alpha)/(1-alpha),
 * and reports 2 gamma^i / (1+gamma), within alpha of every value in it.
 * alpha in [MK_QSKETCH_ALPHA_MIN, MK_QSKETCH_ALPHA_MAX] (0 = default);
 * max_buckets per store in [1, MK_QSKETCH_BUCKETS_MAX] (0 = default).
 * -1 on a bad argument. Allocates nothing. */
int mk_qsketch_init(mk_qsketch *s, double alpha, uint32_t max_buckets);
/* Releases the buckets; s stays a usable empty sketch with the same
 * parameters. */
void mk_qsketch_free(mk_qsketch *s);

/* Adds x (n times). x must be finite: NaN and +-inf are the caller's to
 * reject (chunkproc's number parser does); here they return -1 with a
 * message and are not added. Callers that only pass finite values may
 * ignore the result. n == 0 adds nothing. Counts are uint64 and do not
 * saturate (2^64 values is beyond any input). */
int mk_qsketch_add(mk_qsketch *s, double x);
int mk_qsketch_add_n(mk_qsketch *s, double x, uint64_t n);

uint64_t mk_qsketch_count(const mk_qsketch *s);
double mk_qsketch_min(const mk_qsketch *s);   /* exact; NaN when empty */
double mk_qsketch_max(const mk_qsketch *s);   /* exact; NaN when empty */

/* The rank convention of mk_qsketch_quantile(), for n values sorted
 * ascending x[0] <= ... <= x[n-1] (0-based): r = ceil(q * (n - 1)), where a
 * product within 1e-12 (relative) above an integer counts as that integer,
 * so that decimal q such as 0.07 with n = 101 gives r = 7 despite binary
 * rounding. q = 0 gives 0, q = 1 gives n - 1. Exact-quantile code should use
 * it too, so that exact and sketched answers agree on the rank. n must be
 * > 0 and q in [0, 1]. */
uint64_t mk_qsketch_rank(double q, uint64_t n);
/* The estimate of x[mk_qsketch_rank(q, n)]: within alpha of it (see above),
 * clamped to [min, max]; exactly min for rank 0 and max for rank n - 1.
 * NaN when the sketch is empty or q is not in [0, 1]. */
double mk_qsketch_quantile(const mk_qsketch *s, double q);

/* dst += src. -1 if the alphas differ. The result obeys dst's max_buckets;
 * it equals one sketch over both inputs exactly when both have the same
 * max_buckets (or neither collapsed). */
int mk_qsketch_merge(mk_qsketch *dst, const mk_qsketch *src);
/* Heap bytes held. Inline: group tables ask on every row. */
static inline size_t mk_qsketch_bytes(const mk_qsketch *s)
{
    return ((size_t)s->pos.cap + s->neg.cap) * sizeof(uint64_t);
}

/* Like mk_hll_serialize(). Layout: "DDS1", f64 alpha, u32 max_buckets,
 * u64 zero count, f64 min, f64 max, then the negative and the positive
 * store, each i32 lowest key, u32 n, n LEB128 counts of keys lo..lo+n-1
 * (first and last non-zero; n = 0 for an empty store), then u64 XXH3-64
 * of everything before it. */
size_t mk_qsketch_serialize(const mk_qsketch *s, void *buf, size_t cap);
/* Like mk_hll_deserialize(); on error s is an empty default sketch. */
int mk_qsketch_deserialize(mk_qsketch *s, const void *buf, size_t len, size_t *used);

/* ---- exact moments: count, sum, mean, variance ----------------------------- */

typedef struct mk_moments {
    uint64_t n;
    double mean;         /* running mean */
    double m2;           /* sum of squared deviations from the mean */
    double sum, sum_c;   /* Neumaier-compensated sum: sum + sum_c */
} mk_moments;

void mk_moments_init(mk_moments *m);
/* x must be finite (NaN or inf poisons every result; reject it first). */
void mk_moments_add(mk_moments *m, double x);
/* dst += src by Chan, Golub and LeVeque's pairwise update. */
void mk_moments_merge(mk_moments *dst, const mk_moments *src);
uint64_t mk_moments_count(const mk_moments *m);
double mk_moments_sum(const mk_moments *m);       /* 0 when empty */
double mk_moments_mean(const mk_moments *m);      /* NaN when empty */
double mk_moments_variance(const mk_moments *m);  /* sample (n-1); NaN when n < 2 */
double mk_moments_stddev(const mk_moments *m);    /* sqrt of the above */

#endif
