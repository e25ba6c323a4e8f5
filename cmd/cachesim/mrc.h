/* mrc — LRU miss-ratio curves by exact stack distances (Mattson et al.,
 * 1970), in O(log n) per request, optionally on a SHARDS spatial sample
 * (Waldspurger et al., FAST 2015). One pass over a trace gives LRU's miss
 * ratio at every capacity at once.
 *
 * Stack distance. The distance of a request for key X is the sum of the
 * sizes of the distinct keys requested since X's previous request, plus X's
 * own size (in count mode every size is 1, so it is the number of distinct
 * keys). A first request has infinite distance (a cold miss). Whether a
 * key was seen comes from the map, never from a zero position or timestamp,
 * so the very first request of a trace is like any other: "A A" is one miss
 * and one hit (libCacheSim's profiler counts two misses there).
 * An LRU cache of capacity C (evict from the tail until the new object fits)
 * holds X at its request iff the distance is <= C. This is exact - the miss
 * count equals an LRU simulation's at every capacity - as long as every key
 * keeps one size and no object is larger than C. The two ways it can differ
 * from cachesim's LRU, which follows libCacheSim:
 *   - an object larger than C: LRU does not admit it and evicts nothing; the
 *     stack still holds it, so requests behind it see a larger distance and
 *     may count as misses at C where LRU hits (only capacities smaller than
 *     the largest object are affected);
 *   - a key whose size changes: the stack takes the new size at once; LRU
 *     ignores the size on a hit and keeps the old one until re-admission.
 *
 * How. An mk_imap maps key -> (size, position of its last request); the
 * key's size sits at that position in a Fenwick (binary indexed) tree over
 * request positions, every other position holding 0. The distance is the
 * tree's sum after the last position plus the own size: a prefix query and
 * two point updates. The tree is blocked for speed (mrc.c says how): the
 * sizes of 32 positions in a flat array, a Fenwick tree over the blocks.
 * Positions are handed out in order; when they run out, the live last
 * positions (one per distinct key) are renumbered in order into at least
 * twice as many positions, so memory is O(distinct keys), not O(requests),
 * and renumbering costs O(1) amortised per request. No malloc per request.
 *
 * Results.
 *   (a) Exact hits and misses at the capacities given to cs_mrc_new(): each
 *       request with a finite distance counts one hit at the smallest
 *       capacity >= its distance (binary search); prefix sums give the hits
 *       at every capacity.
 *   (b) A curve: a log-linear histogram of distances (exact below 64, then
 *       64 sub-buckets per power of two, so a bucket's width is at most
 *       1/64 = 1.6 % of its values). cs_mrc_estimate() gives the miss ratio
 *       at any capacity, interpolating linearly inside the bucket holding
 *       it: the result lies between the exact miss ratios at the bucket's
 *       two edges, so within C * (1 +- 1/64). cs_mrc_curve() samples it.
 *
 * Sampling (SHARDS, fixed rate). With 0 < sample_rate < 1 a key is sampled
 * iff the low 24 bits of its (re-mixed) hash are below T = round(rate *
 * 2^24), at least 1; the rate actually used is R = T / 2^24 (cs_mrc_rate()).
 * A sampled key is sampled on every request, so the sample is an exact LRU
 * stack of a 1-in-1/R subset of the keys: its distances, measured among
 * sampled keys only, are scaled by 1/R to estimate full-trace distances. So
 * capacity C (in full-trace units) counts a hit for a sampled distance d iff
 * d / R <= C, computed exactly as d <= floor(C * T / 2^24). Counts are NOT
 * scaled: cs_mrc_requests(), cs_mrc_hits_at() and cs_mrc_misses_at() are
 * sampled counts, and a miss ratio is sampled misses / sampled requests,
 * which estimates the full trace's ratio directly (multiply a count by
 * 1 / R to estimate the full trace's count). cs_mrc_wss() is the sampled
 * distinct bytes (or keys) scaled by 1 / R. Unsampled requests cost one hash
 * mix and a compare. With rate >= 1 nothing is sampled out and the hash
 * argument is ignored.
 *
 * SHARDS-adj (cs_mrc_adjust(m, 1); Waldspurger et al. section 4.3): the
 * denominator becomes R * offered requests (every request given to access,
 * sampled or not) instead of the sampled count, i.e. miss ratio = (sampled
 * misses / R) / requests. The sampled count varies with which popular keys
 * happen to be sampled, and those keys nearly always hit, so on skewed
 * traces the plain ratio is far off while the adjusted one is not: Zipf
 * 1.0, 10 M requests, 762 K keys, R = 0.01, at 1 % of the working set:
 * exact .4369, plain .5773, adjusted .4391; R = 0.1 on 200 K requests, 40
 * samplings, at 1 % of the working set: rms error .11 plain, .03 adjusted
 * (Zipf 0.9, 100 K keys). On weakly skewed traces the plain ratio is the
 * better one (Zipf 0.5: rms .006-.02 plain, .01-.045 adjusted). It changes
 * only the ratios (and the curve), never the counts; exact runs are
 * unaffected (R = 1, offered = sampled). Either way, a sample of a few
 * thousand keys has errors of a few hundredths: sample big traces only.
 *
 * Ownership: cs_mrc_new() copies the capacities; the caller owns its arrays.
 * cs_mrc_free() releases everything (NULL is fine). Out of memory dies
 * (err.h); more than 2^31 distinct sampled keys dies too (position and size
 * are packed in the map's 64-bit value).
 *
 * Thread-safety: none. One cs_mrc per thread (or the caller's lock); the
 * const functions may run concurrently once no thread calls access.
 *
 * Complexity: cs_mrc_access() O(log n + log ncaps) for n distinct keys,
 * amortised (renumbering is O(n) every >= n requests). Memory: the map
 * (24 bytes a slot at 35-70 % load) plus 4.25 bytes a position, 2 to 4
 * positions per distinct key, plus 30 KiB of histogram: 45 to 90 bytes a
 * distinct key (56.5 MiB for 762 K keys). Speed: cs_mrc_access_n() is the
 * faster way to feed it, 1.5 to 2 times cs_mrc_access() once the keys
 * outgrow the CPU cache (tests/cachesim/mrc-check.c --bench). */
#ifndef CS_MRC_H
#define CS_MRC_H

#include <stddef.h>
#include <stdint.h>

typedef struct cs_mrc cs_mrc;

/* count_mode: sizes are ignored, capacities are in objects (else bytes).
 * sample_rate in (0, 1]: 1 (or more, or NaN) = exact, 0 or less = the
 * smallest rate, 2^-24 (callers should reject those). caps: ncaps
 * capacities (any order, duplicates allowed; ncaps may be 0), in bytes or
 * objects; index i in the functions below is the i-th of this array. */
cs_mrc *cs_mrc_new(int count_mode, double sample_rate, const uint64_t *caps, size_t ncaps);
void cs_mrc_free(cs_mrc *m);

/* One request. hash: a 64-bit hash of the key for sampling (re-mixed here,
 * so even the key itself works; ignored when exact). A request of size 0 is
 * ignored, in count mode too (libCacheSim skips them; callers should too).
 * In count mode the size still counts for the byte miss ratio. */
void cs_mrc_access(cs_mrc *m, uint64_t key, uint64_t hash, uint32_t size);

/* n requests, exactly as n calls of cs_mrc_access() but faster (it
 * overlaps their cache misses). hashes may be NULL: each key is its hash. */
void cs_mrc_access_n(cs_mrc *m, const uint64_t *keys, const uint64_t *hashes, const uint32_t *sizes, size_t n);

/* on = 1: every ratio below (and the curve) is SHARDS-adj's, see above. */
void cs_mrc_adjust(cs_mrc *m, int on);

double cs_mrc_rate(const cs_mrc *m);            /* R actually used: T / 2^24, or 1 */
uint64_t cs_mrc_offered(const cs_mrc *m);       /* requests given (size > 0), sampled or not */
uint64_t cs_mrc_requests(const cs_mrc *m);      /* counted (sampled) requests */
uint64_t cs_mrc_bytes_requested(const cs_mrc *m); /* their sizes' sum (real sizes in count mode too) */
uint64_t cs_mrc_cold_misses(const cs_mrc *m);   /* first requests (infinite distance) */

/* Exact (for the sample) at the capacities given at creation; the ratios
 * follow cs_mrc_adjust(). */
uint64_t cs_mrc_hits_at(const cs_mrc *m, size_t cap_index);
uint64_t cs_mrc_misses_at(const cs_mrc *m, size_t cap_index);
double cs_mrc_miss_ratio_at(const cs_mrc *m, size_t cap_index);        /* 0 if no requests */
double cs_mrc_byte_miss_ratio_at(const cs_mrc *m, size_t cap_index);   /* missed bytes / requested bytes */

/* Miss ratio at any capacity (full-trace units) from the histogram, within
 * the bucket error above; 1 below the smallest distance, cold misses /
 * requests from the largest on; 0 if no requests. */
double cs_mrc_estimate(const cs_mrc *m, double cap);

/* Up to npoints (capacity, miss ratio) pairs, capacities evenly spaced from
 * the smallest to the largest (scaled) finite distance seen, miss ratios
 * non-increasing (the last is the cold-miss ratio); returns how many were
 * written. npoints 1, or one distinct distance: that one point. Nothing
 * requested twice: (0, 1) and (wss, 1), or just (wss, 1). No requests: 0. */
size_t cs_mrc_curve(const cs_mrc *m, size_t npoints, double *cap_out, double *mr_out);

/* Smallest and largest finite distance seen, scaled by 1/R; 0 if none. */
double cs_mrc_min_distance(const cs_mrc *m);
double cs_mrc_max_distance(const cs_mrc *m);

uint64_t cs_mrc_wss(const cs_mrc *m);   /* distinct bytes (objects) seen, scaled by 1/R */
size_t cs_mrc_bytes(const cs_mrc *m);   /* heap bytes held now */

#endif
