/* mrc — LRU stack distances over a blocked Fenwick tree, with SHARDS
 * sampling (see mrc.h).
 *
 * The tree is two-level: each position's weight (size, or 1) in a flat
 * uint32_t array, and a Fenwick tree over blocks of 32 positions holding the
 * blocks' sums. A sum after position p is then a scan of the rest of p's
 * block (two cache lines, adjacent) plus a Fenwick prefix query over the
 * blocks, whose tree is 1/64 the size of a per-position one and stays in
 * cache (2 M positions: 512 KiB). A plain per-position Fenwick tree misses
 * the cache on most levels of every query and ran at a third of the speed. */
#include "mrc.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "map.h"

/* Histogram: distances 0..63 exactly, then for each power of two 2^k
 * (k = 6..63) 64 sub-buckets of width 2^(k-6). */
#define SUB_BITS 6
#define SUB (1u << SUB_BITS)
#define NBUCKETS (SUB + (64 - SUB_BITS) * SUB)

#define BLOCK_BITS 5
#define BLOCK (1u << BLOCK_BITS)    /* positions per block */
#define MIN_POS 1024u               /* positions in the first tree */
#define POS_MASK 0xffffffffu        /* positions are 32 bits in the map value */
#define MAX_POS ((uint64_t)1 << 32)
#define SAMPLE_BITS 24
#define SAMPLE_ONE (1u << SAMPLE_BITS)

struct cs_mrc {
    mk_imap map;        /* key -> size << 32 | last position */
    uint32_t *weight;   /* per position: its key's weight, 0 if not a last request */
    uint64_t *tree;     /* Fenwick tree over blocks, 1-based: tree[1..npos / BLOCK] */
    uint64_t npos;      /* positions 0..npos-1; a power of two >= MIN_POS */
    uint64_t next;      /* next position to hand out */
    uint64_t total;     /* sum of the live weights */
    unsigned levels;    /* log2(npos / BLOCK) */
    int count_mode;
    uint32_t thresh;    /* T; SAMPLE_ONE = exact */
    uint64_t requests, req_bytes, cold;
    uint64_t dmin, dmax;        /* finite distances, unscaled; dmin > dmax = none */
    size_t ncaps;
    uint64_t *thr;      /* sorted capacities in sampled units: d <= thr[i] hits */
    size_t *sorted_of;  /* caller's index -> index in thr */
    uint64_t (*hit)[2]; /* per sorted index: hits, hit bytes counted there */
    uint64_t *hist;     /* NBUCKETS distance counts */
};

static inline unsigned bucket_of(uint64_t d)
{
    if (d < SUB)
        return (unsigned)d;
    unsigned k = 63 - (unsigned)__builtin_clzll(d);
    return SUB + (k - SUB_BITS) * SUB + (unsigned)((d >> (k - SUB_BITS)) & (SUB - 1));
}

/* First distance of bucket b and its width. */
static void bucket_range(unsigned b, uint64_t *lo, uint64_t *width)
{
    if (b < SUB) {
        *lo = b;
        *width = 1;
        return;
    }
    unsigned k = (b - SUB) / SUB + SUB_BITS, sub = (b - SUB) % SUB;
    *lo = (uint64_t)(SUB + sub) << (k - SUB_BITS);
    *width = (uint64_t)1 << (k - SUB_BITS);
}

static inline void fw_add(uint64_t *t, uint64_t n, uint64_t i, uint64_t v)
{
    for (; i <= n; i += i & -i)
        t[i] += v;
}

static inline uint64_t popcount64(uint64_t x)
{
    return (uint64_t)__builtin_popcountll(x);
}

/* Branch-free prefix sum: node i with its lowest k bits cleared, for every
 * set bit k of i, highest first. */
static inline uint64_t fw_prefix_fixed(const uint64_t *t, unsigned levels, uint64_t i)
{
    uint64_t s = 0;
    for (unsigned k = levels + 1; k-- > 0;) {
        uint64_t node = i >> k << k;
        s += t[node] & -((i >> k) & 1);
    }
    return s;
}

static inline uint64_t fw_prefix(const uint64_t *t, uint64_t i)
{
    uint64_t s = 0;
    for (; i; i &= i - 1)
        s += t[i];
    return s;
}

/* murmur3's 64-bit finaliser, on the hash plus an odd constant: every
 * input bit reaches the low 24 bits, and hash 0 (key 0, when the caller
 * passes the key) is not the finaliser's fixed point 0, always sampled. */
static inline uint64_t mix64(uint64_t h)
{
    h += 0x9e3779b97f4a7c15ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

struct cap_ix {
    uint64_t cap;
    size_t ix;
};

static int cmp_cap_ix(const void *a, const void *b)
{
    const struct cap_ix *x = a, *y = b;
    return (x->cap > y->cap) - (x->cap < y->cap);
}

cs_mrc *cs_mrc_new(int count_mode, double sample_rate, const uint64_t *caps, size_t ncaps)
{
    cs_mrc *m = mk_xcalloc(1, sizeof *m);
    mk_imap_init(&m->map, 0);
    m->npos = MIN_POS;
    m->weight = mk_xcalloc(m->npos, sizeof *m->weight);
    m->tree = mk_xcalloc(m->npos / BLOCK + 1, sizeof *m->tree);
    m->next = 0;
    m->levels = 63 - (unsigned)__builtin_clzll(m->npos / BLOCK);
    m->count_mode = !!count_mode;
    m->thresh = SAMPLE_ONE;
    if (sample_rate < 1) {
        double t = sample_rate * SAMPLE_ONE + 0.5;
        m->thresh = t < 1 ? 1 : (uint32_t)t;    /* NaN and <= 0 end up at 1 too */
    }
    m->dmin = UINT64_MAX;
    m->dmax = 0;
    m->hist = mk_xcalloc(NBUCKETS, sizeof *m->hist);

    /* Sort the capacities, remembering where each of the caller's went; the
     * same pass sorts the thresholds, since d <= floor(C * T / 2^24) is
     * monotone in C. */
    m->ncaps = ncaps;
    m->thr = mk_xcalloc(ncaps ? ncaps : 1, sizeof *m->thr);
    m->sorted_of = mk_xcalloc(ncaps ? ncaps : 1, sizeof *m->sorted_of);
    m->hit = mk_xcalloc(ncaps ? ncaps : 1, sizeof *m->hit);
    struct cap_ix *order = mk_xcalloc(ncaps ? ncaps : 1, sizeof *order);
    for (size_t i = 0; i < ncaps; i++)
        order[i] = (struct cap_ix){ caps[i], i };
    if (ncaps)
        qsort(order, ncaps, sizeof *order, cmp_cap_ix);
    for (size_t j = 0; j < ncaps; j++) {
        uint64_t c = order[j].cap;
        m->thr[j] = m->thresh == SAMPLE_ONE ? c
                  : (uint64_t)(((unsigned __int128)c * m->thresh) >> SAMPLE_BITS);
        m->sorted_of[order[j].ix] = j;
    }
    free(order);
    return m;
}

void cs_mrc_free(cs_mrc *m)
{
    if (!m)
        return;
    mk_imap_free(&m->map);
    free(m->weight);
    free(m->tree);
    free(m->thr);
    free(m->sorted_of);
    free(m->hit);
    free(m->hist);
    free(m);
}

/* A request with finite distance d: the histogram, and one hit at the
 * smallest capacity that holds it. */
static inline void record(cs_mrc *m, uint64_t d, uint32_t size)
{
    if (d < m->dmin)
        m->dmin = d;
    if (d > m->dmax)
        m->dmax = d;
    m->hist[bucket_of(d)]++;
    size_t lo = 0, hi = m->ncaps;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->thr[mid] >= d)
            hi = mid;
        else
            lo = mid + 1;
    }
    if (lo < m->ncaps) {
        m->hit[lo][0]++;
        m->hit[lo][1] += size;
    }
}

/* Positions ran out: renumber the live last positions 0..live-1 in their
 * order, into a tree of at least 2 * live positions (so the next
 * renumbering is >= live requests away). The map values carry each key's
 * size, so the old weights are not needed: a bitmap of the old positions
 * and per-word popcounts give each its rank, and the new tree is built from
 * the sizes in O(npos). */
static void compact(cs_mrc *m)
{
    uint64_t live = mk_imap_len(&m->map), n = m->npos;
    if (live > MAX_POS / 2)
        mk_die("miss-ratio curve: more than %" PRIu64 " distinct keys", MAX_POS / 2);
    while (n < 2 * live)
        n *= 2;

    size_t words = (size_t)(m->npos >> 6);
    uint64_t *bits = mk_xcalloc(words, sizeof *bits);
    uint64_t *rank = mk_xmalloc(words * sizeof *rank);
    uint64_t key, *val;
    for (size_t it = 0; mk_imap_next(&m->map, &it, &key, &val);) {
        uint64_t p = *val & POS_MASK;
        bits[p >> 6] |= (uint64_t)1 << (p & 63);
    }
    uint64_t r = 0;
    for (size_t w = 0; w < words; w++) {
        rank[w] = r;
        r += popcount64(bits[w]);
    }

    if (n != m->npos) {
        free(m->weight);
        free(m->tree);
        m->weight = mk_xcalloc(n, sizeof *m->weight);
        m->tree = mk_xcalloc(n / BLOCK + 1, sizeof *m->tree);
    } else {
        memset(m->weight, 0, n * sizeof *m->weight);
        memset(m->tree, 0, (n / BLOCK + 1) * sizeof *m->tree);
    }
    uint64_t *t = m->tree, nb = n / BLOCK;
    for (size_t it = 0; mk_imap_next(&m->map, &it, &key, &val);) {
        uint64_t p = *val & POS_MASK, size = *val >> 32;
        uint64_t np = rank[p >> 6] + popcount64(bits[p >> 6] & (((uint64_t)1 << (p & 63)) - 1));
        uint32_t w = m->count_mode ? 1 : (uint32_t)size;
        m->weight[np] = w;
        t[(np >> BLOCK_BITS) + 1] += w;
        *val = size << 32 | np;
    }
    for (uint64_t i = 1; i <= nb; i++) {    /* Fenwick from the block sums, O(nb) */
        uint64_t j = i + (i & -i);
        if (j <= nb)
            t[j] += t[i];
    }
    free(bits);
    free(rank);
    m->npos = n;
    m->levels = 63 - (unsigned)__builtin_clzll(n / BLOCK);
    m->next = live;
}

void cs_mrc_access(cs_mrc *m, uint64_t key, uint64_t hash, uint32_t size)
{
    if (!size)
        return;
    if (m->thresh != SAMPLE_ONE && (mix64(hash) & (SAMPLE_ONE - 1)) >= m->thresh)
        return;
    if (m->next == m->npos)
        compact(m);
    m->requests++;
    m->req_bytes += size;
    uint32_t w = m->count_mode ? 1 : size;    /* weight in the stack */
    uint64_t pos = m->next++, nb = m->npos / BLOCK;
    int inserted;
    uint64_t *v = mk_imap_put(&m->map, key, &inserted);
    uint64_t old = *v;
    *v = (uint64_t)size << 32 | pos;
    if (inserted) {
        m->cold++;
    } else {
        /* distance = weights after op (the rest of its block, then the
         * blocks after it) + own weight; then op stops being a last request */
        uint64_t op = old & POS_MASK, ob = op >> BLOCK_BITS, in_block = 0;
        uint32_t ow = m->weight[op];
#ifdef V2
        const uint32_t *blk = &m->weight[ob * BLOCK];
        unsigned off = (unsigned)(op & (BLOCK - 1));
        for (unsigned j = 0; j < BLOCK; j++)
            in_block += blk[j] & -(uint32_t)(j > off);
#else
        for (uint64_t j = op + 1; j < (ob + 1) * BLOCK; j++)
            in_block += m->weight[j];
#endif
#ifdef V3
        uint64_t d = m->total - fw_prefix_fixed(m->tree, m->levels, ob + 1) + in_block + w;
#else
        uint64_t d = m->total - fw_prefix(m->tree, ob + 1) + in_block + w;
#endif
        m->weight[op] = 0;
        fw_add(m->tree, nb, ob + 1, -(uint64_t)ow);
        m->total -= ow;
        record(m, d, size);
    }
    m->weight[pos] = w;
    fw_add(m->tree, nb, (pos >> BLOCK_BITS) + 1, w);
    m->total += w;
}

double cs_mrc_rate(const cs_mrc *m)
{
    return (double)m->thresh / SAMPLE_ONE;
}

uint64_t cs_mrc_requests(const cs_mrc *m)
{
    return m->requests;
}

uint64_t cs_mrc_bytes_requested(const cs_mrc *m)
{
    return m->req_bytes;
}

uint64_t cs_mrc_cold_misses(const cs_mrc *m)
{
    return m->cold;
}

static void hits_upto(const cs_mrc *m, size_t cap_index, uint64_t *hits, uint64_t *bytes)
{
    uint64_t h = 0, b = 0;
    if (cap_index < m->ncaps)
        for (size_t j = 0; j <= m->sorted_of[cap_index]; j++) {
            h += m->hit[j][0];
            b += m->hit[j][1];
        }
    *hits = h;
    *bytes = b;
}

uint64_t cs_mrc_hits_at(const cs_mrc *m, size_t cap_index)
{
    uint64_t h, b;
    hits_upto(m, cap_index, &h, &b);
    return h;
}

uint64_t cs_mrc_misses_at(const cs_mrc *m, size_t cap_index)
{
    return m->requests - cs_mrc_hits_at(m, cap_index);
}

double cs_mrc_miss_ratio_at(const cs_mrc *m, size_t cap_index)
{
    return m->requests ? (double)cs_mrc_misses_at(m, cap_index) / (double)m->requests : 0;
}

double cs_mrc_byte_miss_ratio_at(const cs_mrc *m, size_t cap_index)
{
    uint64_t h, b;
    hits_upto(m, cap_index, &h, &b);
    return m->req_bytes ? (double)(m->req_bytes - b) / (double)m->req_bytes : 0;
}

/* Requests with distance <= t (unscaled), interpolating linearly inside the
 * bucket holding t; prefix[b] = requests in the buckets before b. */
static double hits_le(const cs_mrc *m, const uint64_t *prefix, double t)
{
    if (m->dmin > m->dmax || t < (double)m->dmin)
        return 0;
    if (t >= (double)m->dmax)
        return (double)(m->requests - m->cold);
    uint64_t u = (uint64_t)t, lo, width;
    unsigned b = bucket_of(u);
    bucket_range(b, &lo, &width);
    return (double)prefix[b] + (double)m->hist[b] * (double)(u - lo + 1) / (double)width;
}

static uint64_t *hist_prefix(const cs_mrc *m)
{
    uint64_t *p = mk_xmalloc(NBUCKETS * sizeof *p), s = 0;
    for (unsigned b = 0; b < NBUCKETS; b++) {
        p[b] = s;
        s += m->hist[b];
    }
    return p;
}

double cs_mrc_estimate(const cs_mrc *m, double cap)
{
    if (!m->requests)
        return 0;
    uint64_t *prefix = hist_prefix(m);
    double h = hits_le(m, prefix, cap * cs_mrc_rate(m));
    free(prefix);
    return ((double)m->requests - h) / (double)m->requests;
}

size_t cs_mrc_curve(const cs_mrc *m, size_t npoints, double *cap_out, double *mr_out)
{
    if (!m->requests || !npoints)
        return 0;
    double rate = cs_mrc_rate(m);
    if (m->dmin > m->dmax) {        /* nothing was requested twice */
        size_t k = 0;
        if (npoints >= 2) {
            cap_out[k] = 0;
            mr_out[k++] = 1;
        }
        cap_out[k] = (double)cs_mrc_wss(m);
        mr_out[k++] = 1;
        return k;
    }
    uint64_t *prefix = hist_prefix(m);
    double lo = (double)m->dmin, hi = (double)m->dmax;
    if (npoints == 1 || m->dmin == m->dmax) {
        npoints = 1;
        lo = hi;
    }
    for (size_t i = 0; i < npoints; i++) {
        /* evenly spaced in unscaled distance, so the last point is dmax exactly */
        double t = i + 1 == npoints ? hi : lo + (hi - lo) * (double)i / (double)(npoints - 1);
        cap_out[i] = t / rate;
        mr_out[i] = ((double)m->requests - hits_le(m, prefix, t)) / (double)m->requests;
        if (i && mr_out[i] > mr_out[i - 1])    /* rounding only; keep it monotone */
            mr_out[i] = mr_out[i - 1];
    }
    free(prefix);
    return npoints;
}

double cs_mrc_min_distance(const cs_mrc *m)
{
    return m->dmin > m->dmax ? 0 : (double)m->dmin / cs_mrc_rate(m);
}

double cs_mrc_max_distance(const cs_mrc *m)
{
    return m->dmin > m->dmax ? 0 : (double)m->dmax / cs_mrc_rate(m);
}

uint64_t cs_mrc_wss(const cs_mrc *m)
{
    if (m->thresh == SAMPLE_ONE)
        return m->total;
    return (uint64_t)(((unsigned __int128)m->total << SAMPLE_BITS) / m->thresh);
}

size_t cs_mrc_bytes(const cs_mrc *m)
{
    size_t nc = m->ncaps ? m->ncaps : 1;
    return sizeof *m + mk_imap_bytes(&m->map) + (size_t)m->npos * sizeof *m->weight
         + (size_t)(m->npos / BLOCK + 1) * sizeof *m->tree
         + nc * (sizeof *m->thr + sizeof *m->sorted_of + sizeof *m->hit) + NBUCKETS * sizeof *m->hist;
}

void cs_mrc_access_n(cs_mrc *m, const uint64_t *keys, const uint64_t *hashes, const uint32_t *sizes, size_t n)
{
    enum { G = 16 };
    for (size_t i = 0; i < n; i += G) {
        size_t g = n - i < G ? n - i : G;
        for (size_t k = i; k < i + g; k++) {
            uint64_t h = hashes ? hashes[k] : keys[k];
            if (m->thresh != SAMPLE_ONE && (mix64(h) & (SAMPLE_ONE - 1)) >= m->thresh)
                continue;
            const uint64_t *v = mk_imap_get(&m->map, keys[k]);
            if (v) {
                uint64_t op = *v & POS_MASK;
                __builtin_prefetch(&m->weight[op]);
#ifdef PF2
                __builtin_prefetch(&m->weight[op ^ 16]);
                __builtin_prefetch(&m->tree[(op >> BLOCK_BITS) + 1]);
#endif
            }
        }
        for (size_t k = i; k < i + g; k++)
            cs_mrc_access(m, keys[k], hashes ? hashes[k] : keys[k], sizes[k]);
    }
}
