/* mrc-check — cachesim's miss-ratio-curve module (cmd/cachesim/mrc.c)
 * against two independent references on seeded random traces:
 *   - a naive LRU stack walk (O(distinct keys) per request), giving every
 *     request's stack distance, hence the misses at any capacity;
 *   - a direct LRU cache simulation with a byte (or object) capacity, its
 *     own doubly linked list, evicting from the tail until the new object
 *     fits.
 * Both must agree exactly with the module's misses and byte misses at ten
 * capacities (the LRU simulation at those that hold every object), on Zipf
 * and uniform traces, in byte and count mode, with sizes up to 4 G, and on
 * traces that renumber the module's positions hundreds of times; fed one
 * request at a time and through cs_mrc_access_n(). Also: the first request
 * at time 0 and its re-request ("A A" is one miss, one hit); hand-checked
 * distances; unsorted and duplicate capacities; sampled thresholds exactly
 * floor(C * R) against a stack walk over the sampled keys; key 0 not
 * always sampled; SHARDS at R = 0.1 on 200 K-request Zipf traces within
 * 0.02 of the exact ratio (plain on Zipf 0.5, adjusted on Zipf 1.0) and
 * without bias over 20 samplings; the histogram estimate within its bucket
 * error of the exact ratios, and the curve non-increasing.
 *
 * usage: mrc-check            run the checks; exit 0 and "mrc-check: N
 *                             checks passed", or exit 1 at the first failure
 *        mrc-check --bench    time 10 M-request traces over 1 M keys with
 *                             cs_mrc_access and cs_mrc_access_n (thread CPU
 *                             time, best of three; no assertion)
 *
 * Built by `make build/test/mrc-check` (or: cc -O2 -std=gnu11 -Ilib
 * -D_GNU_SOURCE -o build/test/mrc-check tests/cachesim/mrc-check.c
 * cmd/cachesim/mrc.c build/libmemkit.a -lzstd -lz -lyaml -lxxhash -lpthread
 * -lm). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../cmd/cachesim/mrc.h"

static unsigned long checks;

#define CHECK(cond, ...)                                                    \
    do {                                                                    \
        checks++;                                                           \
        if (!(cond)) {                                                      \
            fprintf(stderr, "mrc-check: FAIL %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                                   \
            fputc('\n', stderr);                                            \
            exit(1);                                                        \
        }                                                                   \
    } while (0)

/* ---- seeded randomness ---- */

static uint64_t rng_state;

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rnd(void)
{
    return splitmix(&rng_state);
}

static double rnd01(void)
{
    return (double)(rnd() >> 11) * 0x1p-53;
}

/* ---- traces: ids 0..nkeys-1, each with a 64-bit key and a fixed size ---- */

typedef struct {
    size_t n, nkeys;
    uint32_t *id;       /* per request */
    uint64_t *key;      /* per id */
    uint32_t *size;     /* per id */
} trace;

/* Zipf(alpha) over nkeys ids by inverse CDF (alpha 0 = uniform); id 0 is the
 * most popular and gets key 0, so the very first request is usually key 0. */
static trace gen_trace(uint64_t seed, size_t n, size_t nkeys, double alpha, uint32_t maxsize)
{
    trace t = { n, nkeys, malloc(n * sizeof(uint32_t)), malloc(nkeys * sizeof(uint64_t)),
                malloc(nkeys * sizeof(uint32_t)) };
    double *cdf = malloc(nkeys * sizeof *cdf), s = 0;
    if (!t.id || !t.key || !t.size || !cdf) {
        fprintf(stderr, "mrc-check: out of memory\n");
        exit(2);
    }
    rng_state = seed;
    for (size_t i = 0; i < nkeys; i++) {
        s += alpha == 0 ? 1 : pow((double)(i + 1), -alpha);
        cdf[i] = s;
        t.key[i] = i ? rnd() : 0;
        t.size[i] = maxsize ? 1 + (uint32_t)(rnd() % maxsize) : 1;
    }
    for (size_t j = 0; j < n; j++) {
        double u = rnd01() * s;
        size_t lo = 0, hi = nkeys - 1;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (cdf[mid] >= u)
                hi = mid;
            else
                lo = mid + 1;
        }
        t.id[j] = (uint32_t)lo;
    }
    free(cdf);
    return t;
}

static void free_trace(trace *t)
{
    free(t->id);
    free(t->key);
    free(t->size);
}

/* ---- reference 1: naive stack walk; dist[j] = 0 for a first request ---- */

static uint64_t *naive_distances(const trace *t, int count_mode)
{
    uint64_t *dist = calloc(t->n, sizeof *dist);
    uint32_t *stack = malloc(t->nkeys * sizeof *stack);   /* stack[0] = most recent */
    size_t depth = 0;
    for (size_t j = 0; j < t->n; j++) {
        uint32_t id = t->id[j];
        uint64_t sum = 0;
        size_t i;
        for (i = 0; i < depth; i++) {
            sum += count_mode ? 1 : t->size[stack[i]];
            if (stack[i] == id)
                break;
        }
        if (i == depth) {
            dist[j] = 0;
            depth++;
        } else {
            dist[j] = sum;
        }
        memmove(stack + 1, stack, i * sizeof *stack);
        stack[0] = id;
    }
    free(stack);
    return dist;
}

/* ---- reference 2: an LRU cache with capacity cap (bytes or objects) ---- */

typedef struct {
    uint64_t misses, miss_bytes;
} lru_result;

static lru_result lru_sim(const trace *t, int count_mode, uint64_t cap)
{
    uint32_t none = UINT32_MAX, head = none, tail = none;
    uint32_t *prev = malloc(t->nkeys * sizeof *prev), *next = malloc(t->nkeys * sizeof *next);
    char *in = calloc(t->nkeys, 1);
    uint64_t used = 0;
    lru_result r = { 0, 0 };
    for (size_t j = 0; j < t->n; j++) {
        uint32_t id = t->id[j];
        uint64_t w = count_mode ? 1 : t->size[id];
        if (in[id]) {           /* hit: unlink, then push at the head */
            if (prev[id] != none)
                next[prev[id]] = next[id];
            else
                head = next[id];
            if (next[id] != none)
                prev[next[id]] = prev[id];
            else
                tail = prev[id];
        } else {
            r.misses++;
            r.miss_bytes += t->size[id];
            if (w > cap)
                continue;       /* never admitted */
            while (used + w > cap) {
                uint32_t v = tail;
                tail = prev[v];
                if (tail != none)
                    next[tail] = none;
                else
                    head = none;
                in[v] = 0;
                used -= count_mode ? 1 : t->size[v];
            }
            in[id] = 1;
            used += w;
        }
        prev[id] = none;
        next[id] = head;
        if (head != none)
            prev[head] = id;
        head = id;
        if (tail == none)
            tail = id;
    }
    free(prev);
    free(next);
    free(in);
    return r;
}

static cs_mrc *run_mrc(const trace *t, int count_mode, double rate, const uint64_t *caps, size_t ncaps)
{
    cs_mrc *m = cs_mrc_new(count_mode, rate, caps, ncaps);
    for (size_t j = 0; j < t->n; j++) {
        uint32_t id = t->id[j];
        cs_mrc_access(m, t->key[id], t->key[id], t->size[id]);
    }
    return m;
}

/* The same through cs_mrc_access_n(), in chunks of 777 requests. */
static cs_mrc *run_mrc_n(const trace *t, int count_mode, double rate, const uint64_t *caps, size_t ncaps)
{
    cs_mrc *m = cs_mrc_new(count_mode, rate, caps, ncaps);
    uint64_t keys[777];
    uint32_t sizes[777];
    for (size_t j = 0; j < t->n; j += 777) {
        size_t k = t->n - j < 777 ? t->n - j : 777;
        for (size_t i = 0; i < k; i++) {
            keys[i] = t->key[t->id[j + i]];
            sizes[i] = t->size[t->id[j + i]];
        }
        cs_mrc_access_n(m, keys, NULL, sizes, k);
    }
    return m;
}

static uint64_t max_size(const trace *t)
{
    uint64_t mx = 0;
    for (size_t i = 0; i < t->nkeys; i++)
        mx = t->size[i] > mx ? t->size[i] : mx;
    return mx;
}

/* Distinct bytes (objects) the trace touches. */
static uint64_t trace_wss(const trace *t, int count_mode)
{
    char *seen = calloc(t->nkeys, 1);
    uint64_t w = 0;
    for (size_t j = 0; j < t->n; j++)
        if (!seen[t->id[j]]) {
            seen[t->id[j]] = 1;
            w += count_mode ? 1 : t->size[t->id[j]];
        }
    free(seen);
    return w;
}

/* Exact misses at every capacity against both references; curve checks. */
static void check_exact(const char *name, const trace *t, int count_mode)
{
    uint64_t wss = trace_wss(t, count_mode), mx = count_mode ? 1 : max_size(t);
    /* ten capacities from below the largest object (stack walk only) to
     * past the working set, shuffled to exercise the module's sorting */
    uint64_t caps[10] = { mx > 1 ? mx / 2 : 1, mx, mx + wss / 200, wss / 50, wss / 20, wss / 10,
                          wss / 4, wss / 2, wss, wss + 1 };
    for (int i = 9; i > 0; i--) {
        int k = (int)(rnd() % (uint64_t)(i + 1));
        uint64_t x = caps[i];
        caps[i] = caps[k];
        caps[k] = x;
    }
    cs_mrc *m = run_mrc(t, count_mode, 1.0, caps, 10), *mn = run_mrc_n(t, count_mode, 1.0, caps, 10);
    for (size_t i = 0; i < 10; i++)
        CHECK(cs_mrc_misses_at(mn, i) == cs_mrc_misses_at(m, i)
                  && cs_mrc_byte_miss_ratio_at(mn, i) == cs_mrc_byte_miss_ratio_at(m, i),
              "%s: cs_mrc_access_n differs at %" PRIu64, name, caps[i]);
    cs_mrc_free(mn);
    uint64_t *dist = naive_distances(t, count_mode);
    uint64_t reqbytes = 0, cold = 0, dmin = UINT64_MAX, dmax = 0;
    for (size_t j = 0; j < t->n; j++) {
        reqbytes += t->size[t->id[j]];
        if (!dist[j])
            cold++;
        else {
            dmin = dist[j] < dmin ? dist[j] : dmin;
            dmax = dist[j] > dmax ? dist[j] : dmax;
        }
    }
    CHECK(cs_mrc_requests(m) == t->n, "%s: requests %" PRIu64 " != %zu", name, cs_mrc_requests(m), t->n);
    CHECK(cs_mrc_bytes_requested(m) == reqbytes, "%s: bytes requested", name);
    CHECK(cs_mrc_cold_misses(m) == cold, "%s: cold %" PRIu64 " != %" PRIu64, name, cs_mrc_cold_misses(m), cold);
    CHECK(cs_mrc_wss(m) == wss, "%s: wss %" PRIu64 " != %" PRIu64, name, cs_mrc_wss(m), wss);
    CHECK(cs_mrc_min_distance(m) == (double)dmin && cs_mrc_max_distance(m) == (double)dmax,
          "%s: distance range %g..%g != %" PRIu64 "..%" PRIu64, name, cs_mrc_min_distance(m),
          cs_mrc_max_distance(m), dmin, dmax);

    for (size_t i = 0; i < 10; i++) {
        uint64_t c = caps[i], miss = 0, mbytes = 0;
        for (size_t j = 0; j < t->n; j++)
            if (!dist[j] || dist[j] > c) {
                miss++;
                mbytes += t->size[t->id[j]];
            }
        CHECK(cs_mrc_misses_at(m, i) == miss, "%s: capacity %" PRIu64 ": misses %" PRIu64 ", stack walk %" PRIu64,
              name, c, cs_mrc_misses_at(m, i), miss);
        CHECK(cs_mrc_hits_at(m, i) + miss == t->n, "%s: hits + misses", name);
        CHECK(cs_mrc_miss_ratio_at(m, i) == (double)miss / (double)t->n, "%s: miss ratio", name);
        CHECK(cs_mrc_byte_miss_ratio_at(m, i) == (double)mbytes / (double)reqbytes,
              "%s: capacity %" PRIu64 ": byte miss ratio %.9f, stack walk %.9f", name, c,
              cs_mrc_byte_miss_ratio_at(m, i), (double)mbytes / (double)reqbytes);
        if (c >= mx) {  /* LRU agrees with the stack when every object fits */
            lru_result r = lru_sim(t, count_mode, c);
            CHECK(r.misses == miss, "%s: capacity %" PRIu64 ": misses %" PRIu64 ", LRU simulation %" PRIu64,
                  name, c, miss, r.misses);
            CHECK(r.miss_bytes == mbytes, "%s: capacity %" PRIu64 ": missed bytes differ from LRU", name, c);
        }
    }

    /* The histogram: estimate(c) lies between the exact ratios at the edges
     * of c's bucket, which are within c * (1 +- 1/64). */
    for (size_t i = 0; i < 10; i++) {
        uint64_t c = caps[i];
        uint64_t lo = c - c / 64 - 1, hi = c + c / 64 + 1, mlo = 0, mhi = 0;
        if (lo > c)
            lo = 0;
        for (size_t j = 0; j < t->n; j++) {
            mlo += !dist[j] || dist[j] > lo;
            mhi += !dist[j] || dist[j] > hi;
        }
        double e = cs_mrc_estimate(m, (double)c), rlo = (double)mlo / (double)t->n,
               rhi = (double)mhi / (double)t->n;
        CHECK(e <= rlo + 1e-12 && e >= rhi - 1e-12, "%s: estimate at %" PRIu64 " = %.6f, exact %.6f..%.6f",
              name, c, e, rhi, rlo);
    }

    double xs[200], ys[200];
    size_t np = cs_mrc_curve(m, 200, xs, ys);
    CHECK(np == (dmin < dmax ? 200u : 1u), "%s: curve gave %zu points", name, np);
    CHECK(xs[0] == (double)dmin && xs[np - 1] == (double)dmax, "%s: curve spans %g..%g", name, xs[0], xs[np - 1]);
    CHECK(ys[np - 1] == (double)cold / (double)t->n, "%s: curve ends at %.6f, cold ratio %.6f", name, ys[np - 1],
          (double)cold / (double)t->n);
    for (size_t i = 0; i < np; i++) {
        CHECK(!i || (xs[i] > xs[i - 1] && ys[i] <= ys[i - 1]), "%s: curve point %zu not monotone", name, i);
        CHECK(fabs(ys[i] - cs_mrc_estimate(m, xs[i])) < 1e-9, "%s: curve point %zu != estimate", name, i);
        CHECK(ys[i] >= 0 && ys[i] <= 1, "%s: curve point %zu out of [0, 1]", name, i);
    }
    free(dist);
    cs_mrc_free(m);
}

/* Hand-checkable traces, the first request at time 0 included. */
static void check_small(void)
{
    uint64_t caps[] = { 99, 100, 1000 };
    cs_mrc *m = cs_mrc_new(0, 1.0, caps, 3);
    cs_mrc_access(m, 0, 0, 100);        /* A at time 0, key 0, hash 0 */
    cs_mrc_access(m, 0, 0, 100);        /* A again: distance 100 */
    CHECK(cs_mrc_requests(m) == 2 && cs_mrc_cold_misses(m) == 1, "A A: requests/cold");
    CHECK(cs_mrc_misses_at(m, 0) == 2, "A A at 99: %" PRIu64 " misses, want 2", cs_mrc_misses_at(m, 0));
    CHECK(cs_mrc_misses_at(m, 1) == 1 && cs_mrc_hits_at(m, 1) == 1, "A A at 100: %" PRIu64 " misses, want 1",
          cs_mrc_misses_at(m, 1));
    CHECK(cs_mrc_misses_at(m, 2) == 1, "A A at 1000: %" PRIu64 " misses, want 1", cs_mrc_misses_at(m, 2));
    CHECK(cs_mrc_miss_ratio_at(m, 1) == 0.5 && cs_mrc_byte_miss_ratio_at(m, 1) == 0.5, "A A: ratios");
    CHECK(cs_mrc_wss(m) == 100, "A A: wss");
    double x[4], y[4];
    CHECK(cs_mrc_curve(m, 4, x, y) == 1 && x[0] == 100 && y[0] == 0.5, "A A: curve is the point (100, 0.5)");
    cs_mrc_access(m, 0, 0, 0);          /* size 0: ignored */
    CHECK(cs_mrc_requests(m) == 2 && cs_mrc_offered(m) == 2, "size-0 request counted");
    cs_mrc_free(m);

    /* unsorted capacities with a duplicate */
    m = cs_mrc_new(0, 1.0, (uint64_t[]){ 100, 99, 100, 0 }, 4);
    cs_mrc_access(m, 0, 0, 100);
    cs_mrc_access(m, 0, 0, 100);
    CHECK(cs_mrc_misses_at(m, 0) == 1 && cs_mrc_misses_at(m, 1) == 2 && cs_mrc_misses_at(m, 2) == 1
              && cs_mrc_misses_at(m, 3) == 2,
          "A A at 100, 99, 100, 0");
    cs_mrc_free(m);

    /* hash 0 is not the mixer's fixed point: at the smallest rate (1 in
     * 2^24) key 0 is not sampled like every other key */
    m = cs_mrc_new(0, 1e-9, NULL, 0);
    CHECK(cs_mrc_rate(m) == 0x1p-24, "smallest rate %g", cs_mrc_rate(m));
    cs_mrc_access(m, 0, 0, 100);
    CHECK(cs_mrc_requests(m) == 0 && cs_mrc_offered(m) == 1, "hash 0 always sampled");
    cs_mrc_free(m);

    m = cs_mrc_new(1, 1.0, (uint64_t[]){ 1 }, 1);  /* count mode, a one-object cache */
    cs_mrc_access(m, 7, 7, 5000);
    cs_mrc_access(m, 7, 7, 5000);
    CHECK(cs_mrc_misses_at(m, 0) == 1 && cs_mrc_hits_at(m, 0) == 1, "A A in count mode at 1 object");
    CHECK(cs_mrc_wss(m) == 1, "A A in count mode: wss");
    cs_mrc_free(m);

    /* A(10) B(20) C(30) C B A: distances inf inf inf 30 50 60 */
    uint64_t c2[] = { 60, 59, 50, 49, 30, 29 };
    m = cs_mrc_new(0, 1.0, c2, 6);
    const uint64_t k[] = { 1, 2, 3, 3, 2, 1 };
    const uint32_t s[] = { 10, 20, 30, 30, 20, 10 };
    for (int i = 0; i < 6; i++)
        cs_mrc_access(m, k[i], k[i], s[i]);
    const uint64_t want[] = { 3, 4, 4, 5, 5, 6 };
    for (int i = 0; i < 6; i++)
        CHECK(cs_mrc_misses_at(m, (size_t)i) == want[i], "ABCCBA at %" PRIu64 ": %" PRIu64 " misses, want %" PRIu64,
              c2[i], cs_mrc_misses_at(m, (size_t)i), want[i]);
    /* estimates are exact below 64 (one bucket per distance) */
    CHECK(cs_mrc_estimate(m, 29) == 1 && cs_mrc_estimate(m, 30) == 5.0 / 6 && cs_mrc_estimate(m, 59) == 4.0 / 6
              && cs_mrc_estimate(m, 60) == 0.5 && cs_mrc_estimate(m, 1e9) == 0.5,
          "ABCCBA: estimates");
    CHECK(cs_mrc_min_distance(m) == 30 && cs_mrc_max_distance(m) == 60, "ABCCBA: distance range");
    cs_mrc_free(m);

    /* empty, and nothing requested twice */
    m = cs_mrc_new(0, 1.0, NULL, 0);
    CHECK(cs_mrc_requests(m) == 0 && cs_mrc_estimate(m, 10) == 0 && cs_mrc_curve(m, 10, x, y) == 0, "empty");
    cs_mrc_access(m, 1, 1, 8);
    cs_mrc_access(m, 2, 2, 8);
    CHECK(cs_mrc_curve(m, 4, x, y) == 2 && x[0] == 0 && y[0] == 1 && x[1] == 16 && y[1] == 1, "no reuse: flat curve");
    CHECK(cs_mrc_estimate(m, 1e6) == 1, "no reuse: estimate");
    cs_mrc_free(m);
}

/* SHARDS at R = 0.1 on a 200 k-request Zipf trace, within 0.02 of the
 * exact miss ratio: the plain ratio (sampled misses / sampled requests) on
 * a mildly skewed trace, the adjusted one (SHARDS-adj) on a Zipf(1) trace.
 * At this trace length that is all one can ask: which keys fall in a 10 %
 * sample moves the ratio by up to ~0.02 (mild skew), and by up to ~0.2 for
 * the plain ratio on Zipf(1), where hot keys dominate the sampled count
 * (measured over 30 traces; the header has the figures). */
static void check_shards(uint64_t seed, double alpha, size_t nkeys, int count_mode, int adjust)
{
    trace t = gen_trace(seed, 200000, nkeys, alpha, count_mode ? 0 : 4096);
    uint64_t wss = trace_wss(&t, count_mode);
    uint64_t caps[] = { wss / 20, wss / 10, wss / 5, wss / 2 };
    size_t first = adjust ? 1 : 0;  /* adj: from 10 %, where the sample holds enough keys */
    cs_mrc *ex = run_mrc(&t, count_mode, 1.0, caps, 4), *sm = run_mrc(&t, count_mode, 0.1, caps, 4);
    cs_mrc_adjust(sm, adjust);
    double r = cs_mrc_rate(sm);
    CHECK(fabs(r - 0.1) < 1e-7, "rate %.9f", r);
    CHECK(cs_mrc_offered(sm) == t.n && cs_mrc_offered(ex) == t.n, "offered requests");
    CHECK(fabs((double)cs_mrc_wss(sm) - (double)wss) < 0.1 * (double)wss, "SHARDS wss %" PRIu64 ", exact %" PRIu64,
          cs_mrc_wss(sm), wss);
    for (size_t i = first; i < 4; i++) {
        double e = cs_mrc_miss_ratio_at(ex, i), s = cs_mrc_miss_ratio_at(sm, i);
        CHECK(fabs(e - s) <= 0.02, "SHARDS%s (seed %" PRIu64 ", zipf %.1f, %s) at %" PRIu64 ": %.4f, exact %.4f",
              adjust ? "-adj" : "", seed, alpha, count_mode ? "objects" : "bytes", caps[i], s, e);
        /* the sampled histogram against the sampled exact ratio */
        double h = cs_mrc_estimate(sm, (double)caps[i]);
        CHECK(fabs(h - s) <= 0.01, "SHARDS estimate at %" PRIu64 ": %.4f, sampled exact %.4f", caps[i], h, s);
    }
    double xs[50], ys[50];
    size_t np = cs_mrc_curve(sm, 50, xs, ys);
    CHECK(np == 50, "SHARDS curve points");
    for (size_t i = 1; i < np; i++)
        CHECK(xs[i] > xs[i - 1] && ys[i] <= ys[i - 1], "SHARDS curve not monotone at %zu", i);
    cs_mrc_free(ex);
    cs_mrc_free(sm);
    free_trace(&t);
}

/* No scaling bias: over 20 different 10 % samples of one trace (new key
 * values, so new hashes), the mean SHARDS-adj ratio on Zipf 0.9 and the
 * mean plain ratio on Zipf 0.5 are within 0.01 of the exact ratio (a wrong
 * scale, R for 1/R say, is off by 0.1 or more). */
static void check_shards_mean(double alpha, int adjust)
{
    trace t = gen_trace(31, 200000, 100000, alpha, 4096);
    uint64_t wss = trace_wss(&t, 0);
    uint64_t caps[] = { wss / 100, wss / 10, wss / 2 };
    cs_mrc *ex = run_mrc(&t, 0, 1.0, caps, 3);
    double sum[3] = { 0 };
    uint64_t salt = 5;
    for (int k = 0; k < 20; k++) {
        for (size_t i = 0; i < t.nkeys; i++)
            t.key[i] = splitmix(&salt);
        cs_mrc *sm = run_mrc(&t, 0, 0.1, caps, 3);
        cs_mrc_adjust(sm, adjust);
        for (size_t i = 0; i < 3; i++)
            sum[i] += cs_mrc_miss_ratio_at(sm, i) - cs_mrc_miss_ratio_at(ex, i);
        cs_mrc_free(sm);
    }
    for (size_t i = 0; i < 3; i++)
        CHECK(fabs(sum[i] / 20) <= 0.01, "SHARDS%s mean error at %" PRIu64 " (zipf %.1f): %+.4f",
              adjust ? "-adj" : "", caps[i], alpha, sum[i] / 20);
    cs_mrc_free(ex);
    free_trace(&t);
}

/* cs_mrc_access_n() gives what one call per request gives, and the
 * adjustment changes nothing in an exact run. */
static void check_batch(double rate)
{
    trace t = gen_trace(41, 120000, 30000, 0.8, 1000);
    uint64_t caps[] = { 1000, 50000, 400000, 2000000 };
    uint64_t *keys = malloc(t.n * sizeof *keys);
    uint32_t *sizes = malloc(t.n * sizeof *sizes);
    for (size_t j = 0; j < t.n; j++) {
        keys[j] = t.key[t.id[j]];
        sizes[j] = j % 97 ? t.size[t.id[j]] : 0;   /* some size-0 requests */
    }
    cs_mrc *a = cs_mrc_new(0, rate, caps, 4), *b = cs_mrc_new(0, rate, caps, 4);
    for (size_t j = 0; j < t.n; j++)
        cs_mrc_access(a, keys[j], keys[j], sizes[j]);
    for (size_t j = 0; j < t.n; j += 1000)      /* odd chunks: 1000 = 62 * 16 + 8 */
        cs_mrc_access_n(b, keys + j, NULL, sizes + j, t.n - j < 1000 ? t.n - j : 1000);
    CHECK(cs_mrc_requests(a) == cs_mrc_requests(b) && cs_mrc_offered(a) == cs_mrc_offered(b)
              && cs_mrc_offered(a) == t.n - (t.n + 96) / 97 && cs_mrc_wss(a) == cs_mrc_wss(b),
          "batch (rate %g): counts differ", rate);
    for (size_t i = 0; i < 4; i++) {
        CHECK(cs_mrc_misses_at(a, i) == cs_mrc_misses_at(b, i), "batch (rate %g): misses at %" PRIu64 " differ", rate,
              caps[i]);
        if (rate >= 1) {
            double plain = cs_mrc_miss_ratio_at(a, i), pb = cs_mrc_byte_miss_ratio_at(a, i);
            cs_mrc_adjust(a, 1);
            CHECK(cs_mrc_miss_ratio_at(a, i) == plain && cs_mrc_byte_miss_ratio_at(a, i) == pb,
                  "adjusting an exact run changed its ratio");
            cs_mrc_adjust(a, 0);
        }
    }
    free(keys);
    free(sizes);
    cs_mrc_free(a);
    cs_mrc_free(b);
    free_trace(&t);
}

/* Sampled thresholds are exact: a sampled distance d hits at C iff
 * d <= floor(C * R); compare with the same stack walk over the sampled keys. */
static void check_shards_exact(void)
{
    trace t = gen_trace(99, 30000, 4000, 0.8, 300);
    uint64_t caps[] = { 3000, 20000, 77777, 150000, 400000 };
    cs_mrc *sm = run_mrc(&t, 0, 0.25, caps, 5);
    double r = cs_mrc_rate(sm);
    /* keep the sampled requests: rerun the module's sampling rule by asking a
     * one-request module per key whether it counted it */
    trace s = t;
    s.id = malloc(t.n * sizeof *s.id);
    s.n = 0;
    char *in = calloc(t.nkeys, 1);
    for (size_t i = 0; i < t.nkeys; i++) {
        cs_mrc *one = cs_mrc_new(0, 0.25, NULL, 0);
        cs_mrc_access(one, t.key[i], t.key[i], 1);
        in[i] = cs_mrc_requests(one) == 1;
        cs_mrc_free(one);
    }
    for (size_t j = 0; j < t.n; j++)
        if (in[t.id[j]])
            s.id[s.n++] = t.id[j];
    uint64_t *dist = naive_distances(&s, 0);
    CHECK(cs_mrc_requests(sm) == s.n, "sampled request count");
    for (size_t i = 0; i < 5; i++) {
        uint64_t thr = (uint64_t)floor((double)caps[i] * r), miss = 0;
        for (size_t j = 0; j < s.n; j++)
            miss += !dist[j] || dist[j] > thr;
        CHECK(cs_mrc_misses_at(sm, i) == miss, "sampled misses at %" PRIu64 ": %" PRIu64 ", walk %" PRIu64, caps[i],
              cs_mrc_misses_at(sm, i), miss);
    }
    free(dist);
    free(in);
    free(s.id);
    cs_mrc_free(sm);
    free_trace(&t);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The requests laid out as a trace reader delivers them (keys and sizes in
 * order), so the timing sees the module, not the test's id -> key lookups.
 * Times are the thread's CPU time (the machine is shared), best of three. */
static void bench_one(const char *name, const trace *t, int count_mode, double rate, const cs_mrc *exact)
{
    uint64_t wss = trace_wss(t, count_mode), caps[10];
    for (int i = 0; i < 10; i++)
        caps[i] = wss / 1000 * (uint64_t)(1 << i);     /* 0.1 % .. 51 % of the working set */
    uint64_t *keys = malloc(t->n * sizeof *keys);
    uint32_t *sizes = malloc(t->n * sizeof *sizes);
    for (size_t j = 0; j < t->n; j++) {
        keys[j] = t->key[t->id[j]];
        sizes[j] = t->size[t->id[j]];
    }
    for (int batch = 0; batch < 2; batch++) {
        double best = 1e300;
        cs_mrc *m = NULL;
        for (int rep = 0; rep < 3; rep++) {
            cs_mrc_free(m);
            double t0 = now();
            m = cs_mrc_new(count_mode, rate, caps, 10);
            if (batch)
                for (size_t j = 0; j < t->n; j += 4096)
                    cs_mrc_access_n(m, keys + j, NULL, sizes + j, t->n - j < 4096 ? t->n - j : 4096);
            else
                for (size_t j = 0; j < t->n; j++)
                    cs_mrc_access(m, keys[j], keys[j], sizes[j]);
            double dt = now() - t0;
            best = dt < best ? dt : best;
        }
        printf("%-26s %-8s %5.1f M req/s %6.3f s %6.1f MiB  miss ratio at 1%% %.4f", name,
               batch ? "access_n" : "access", (double)t->n / best / 1e6, best, (double)cs_mrc_bytes(m) / 1048576.0,
               cs_mrc_estimate(m, (double)wss / 100));
        if (rate < 1) {
            cs_mrc_adjust(m, 1);
            printf(", adjusted %.4f, exact %.4f", cs_mrc_estimate(m, (double)wss / 100),
                   cs_mrc_estimate(exact, (double)wss / 100));
        }
        printf("\n");
        cs_mrc_free(m);
    }
    free(keys);
    free(sizes);
}

static void bench(void)
{
    trace z = gen_trace(1, 10000000, 1000000, 1.0, 4096);
    trace u = gen_trace(2, 10000000, 1000000, 0.0, 4096);
    printf("10 M requests over 1 M keys (%zu / %zu distinct), sizes 1..4096, 10 capacities\n",
           (size_t)trace_wss(&z, 1), (size_t)trace_wss(&u, 1));
    cs_mrc *ez = run_mrc(&z, 0, 1.0, NULL, 0);
    bench_one("zipf 1.0, bytes, exact", &z, 0, 1.0, NULL);
    bench_one("zipf 1.0, objects, exact", &z, 1, 1.0, NULL);
    bench_one("zipf 1.0, bytes, R=0.01", &z, 0, 0.01, ez);
    bench_one("uniform, bytes, exact", &u, 0, 1.0, NULL);
    cs_mrc_free(ez);
    free_trace(&z);
    free_trace(&u);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--bench") == 0) {
        bench();
        return 0;
    }
    if (argc != 1) {
        fprintf(stderr, "usage: mrc-check [--bench]\n");
        return 2;
    }
    check_small();

    struct {
        const char *name;
        uint64_t seed;
        size_t n, nkeys;
        double alpha;
        uint32_t maxsize;
        int count_mode;
    } cases[] = {
        { "zipf 0.9 bytes", 11, 100000, 5000, 0.9, 1000, 0 },
        { "zipf 0.9 objects", 11, 100000, 5000, 0.9, 1000, 1 },
        { "zipf 1.2 bytes", 12, 80000, 20000, 1.2, 100000, 0 },
        { "uniform bytes", 13, 60000, 3000, 0.0, 500, 0 },
        { "uniform objects", 14, 60000, 3000, 0.0, 1, 1 },
        { "unit sizes bytes", 15, 50000, 2000, 0.7, 1, 0 },
        /* ~1000 requests per renumbering (the first tree has 1024 positions) */
        { "renumbering 40 keys", 16, 300000, 40, 0.5, 64, 0 },
        { "renumbering 1 key", 17, 5000, 1, 0.0, 10, 0 },
        /* sizes up to 4 G: block sums need 64 bits, distances pass 2^32 */
        { "huge sizes", 19, 40000, 3000, 0.8, 0xf0000000u, 0 },
        /* new keys all along: the tree grows through renumberings */
        { "growing 60k keys", 18, 150000, 60000, 0.6, 2000, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        trace t = gen_trace(cases[i].seed, cases[i].n, cases[i].nkeys, cases[i].alpha, cases[i].maxsize);
        check_exact(cases[i].name, &t, cases[i].count_mode);
        free_trace(&t);
    }
    check_shards_exact();
    for (uint64_t seed = 21; seed < 24; seed++) {
        check_shards(seed, 0.5, 100000, 0, 0);
        check_shards(seed, 1.0, 1000000, 0, 1);
    }
    check_shards(24, 0.5, 100000, 1, 0);
    check_shards(24, 1.0, 1000000, 1, 1);
    check_shards_mean(0.9, 1);
    check_shards_mean(0.5, 0);
    check_batch(1.0);
    check_batch(0.3);
    printf("mrc-check: %lu checks passed\n", checks);
    return 0;
}
