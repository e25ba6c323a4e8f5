/* mrc — LRU stack distances over a blocked Fenwick tree, with SHARDS
 * sampling (see mrc.h for what it computes).
 *
 * Layout. Every sampled request gets the next position; a key's weight
 * (its size, or 1) sits at the position of its last request, in a flat
 * uint32_t array; other positions hold 0. A Fenwick tree over blocks of 32
 * positions holds the blocks' sums. The weights after position p are the
 * rest of p's block (a fixed, masked, vectorised 32-wide sum over two
 * adjacent cache lines) plus total - (prefix of the blocks up to p's). The
 * block tree is 1/32 of a per-position one (2 M positions: 512 KiB) and
 * stays in cache; a per-position Fenwick tree of 64-bit sums missed the
 * cache on most levels and ran at a third of the speed.
 *
 * The tail block, where new positions land, is not in the tree until it
 * fills: a request whose last position is in it only needs the in-block
 * sum, and appending costs no tree update. Invariant: blocks < tail are in
 * the tree with their current sums; blocks >= tail are only in weight[].
 *
 * The cost that remains is the cache misses on the map slot and on the
 * weights of a key last requested long ago; cs_mrc_access_n() overlaps
 * them across 32 requests. */
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
#define GROW 2                      /* positions per live key after renumbering, at least */
#define POS_MASK 0xffffffffu        /* positions are 32 bits in the map value */
#define MAX_POS ((uint64_t)1 << 32)
#define SAMPLE_BITS 24
#define SAMPLE_ONE (1u << SAMPLE_BITS)

struct cs_mrc {
    mk_imap map;        /* key -> size << 32 | last position */
    uint32_t *weight;   /* per position: its key's weight, 0 if not a last request;
                         * 64-byte aligned, so a block is two cache lines */
    uint64_t *tree;     /* Fenwick tree over blocks, 1-based: tree[1..npos / BLOCK] */
    uint64_t npos;      /* positions 0..npos-1; a power of two >= MIN_POS */
    uint64_t next;      /* next position to hand out */
    uint64_t total;     /* sum of the live weights */
    uint64_t tail;      /* blocks before it are in the tree, it and later ones not */
    int count_mode;
    int wide;           /* a weight >= 2^27 was seen: sum blocks in 64 bits */
    uint32_t thresh;    /* T; SAMPLE_ONE = exact */
    int adjust;         /* SHARDS-adj ratios (cs_mrc_adjust) */
    uint64_t offered, offered_bytes;    /* size > 0 requests, sampled or not */
    uint64_t requests, req_bytes, cold; /* sampled ones */
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

/* BLOCK zeros then BLOCK all-ones: &ones_after[BLOCK - 1 - off] masks the
 * positions of a block after offset off. */
static const uint32_t ones_after[2 * BLOCK] = {
    [BLOCK ... 2 * BLOCK - 1] = UINT32_MAX,
};

/* Slots of the tree for npos positions: unused 0, then nodes 1..nb. */
static size_t tree_len(uint64_t npos)
{
    return (size_t)(npos / BLOCK) + 1;
}

static inline uint64_t popcount64(uint64_t x)
{
    return (uint64_t)__builtin_popcountll(x);
}

/* Fenwick tree over blocks: prefix sum t[1..i], and add v at i (i <= nb). */
static inline uint64_t fw_prefix(const uint64_t *t, uint64_t i)
{
    uint64_t s = 0;
    for (; i; i &= i - 1)
        s += t[i];
    return s;
}

static inline void fw_add(uint64_t *t, uint64_t nb, uint64_t i, uint64_t v)
{
    for (; i <= nb; i += i & -i)
        t[i] += v;
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

static inline int sampled(const cs_mrc *m, uint64_t hash)
{
    return (mix64(hash) & (SAMPLE_ONE - 1)) < m->thresh;
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
    m->weight = mk_xcalloc_aligned(64, m->npos, sizeof *m->weight);
    m->tree = mk_xcalloc(tree_len(m->npos), sizeof *m->tree);
    m->next = 0;
    m->count_mode = !!count_mode;
    m->thresh = SAMPLE_ONE;
    if (sample_rate < 1) {
        double t = sample_rate * SAMPLE_ONE + 0.5;
        m->thresh = t < 1 ? 1 : (uint32_t)t;    /* <= 0: the smallest rate; NaN: exact */
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
    /* branch-free lower bound: the first threshold >= d, or ncaps */
    size_t n = m->ncaps;
    if (!n)
        return;
    const uint64_t *b = m->thr;
    while (n > 1) {
        size_t half = n / 2;
        b = b[half - 1] < d ? b + half : b;
        n -= half;
    }
    size_t lo = (size_t)(b - m->thr) + (*b < d);
    if (lo < m->ncaps) {
        m->hit[lo][0]++;
        m->hit[lo][1] += size;
    }
}

/* Positions ran out: renumber the live last positions 0..live-1 in their
 * order, in an array of at least GROW * live positions (so the next
 * renumbering is >= (GROW - 1) * live requests away: O(1) amortised). A
 * position is live iff its weight is non-zero, so one pass over the weights
 * moves them down in order and notes each 64-position word's live bits and
 * rank; one pass over the map then gives every key its new position. */
static void compact(cs_mrc *m)
{
    uint64_t live = mk_imap_len(&m->map), old = m->npos, n = old;
    if (live > MAX_POS / GROW)
        mk_die("miss-ratio curve: more than %" PRIu64 " distinct keys", MAX_POS / GROW);
    while (n < GROW * live)
        n *= 2;

    size_t words = (size_t)(old >> 6);
    struct { uint64_t bits, rank; } *word = mk_xmalloc(words * sizeof *word);
    uint32_t *src = m->weight, *dst = n == old ? src : mk_xcalloc_aligned(64, n, sizeof *dst);
    uint64_t r = 0;
    for (size_t w = 0; w < words; w++) {
        uint64_t bits = 0, r0 = r;
        for (unsigned j = 0; j < 64; j++) {     /* no branch: dst[r] <= src[i] in place */
            uint32_t x = src[w * 64 + j];
            dst[r] = x;
            bits |= (uint64_t)(x != 0) << j;
            r += x != 0;
        }
        word[w].bits = bits;
        word[w].rank = r0;
    }
    if (r != live)
        mk_die("miss-ratio curve: internal error: %" PRIu64 " live positions for %" PRIu64 " keys", r, live);
    if (dst == src)
        memset(dst + live, 0, (n - live) * sizeof *dst);
    else
        free(src);
    m->weight = dst;

    uint64_t key, *val;
    for (size_t it = 0; mk_imap_next(&m->map, &it, &key, &val);) {
        uint64_t p = *val & POS_MASK;
        uint64_t np = word[p >> 6].rank + popcount64(word[p >> 6].bits & (((uint64_t)1 << (p & 63)) - 1));
        *val = (*val & ~(uint64_t)POS_MASK) | np;
    }
    free(word);

    /* the tree: complete blocks only, the tail block waits until it fills */
    uint64_t nb = n / BLOCK;
    if (n != old) {
        free(m->tree);
        m->tree = mk_xcalloc(tree_len(n), sizeof *m->tree);
    } else {
        memset(m->tree, 0, tree_len(n) * sizeof *m->tree);
    }
    uint64_t *t = m->tree;
    for (uint64_t b = 0; b < live >> BLOCK_BITS; b++) {
        uint64_t sum = 0;
        for (unsigned j = 0; j < BLOCK; j++)
            sum += dst[b * BLOCK + j];
        t[b + 1] = sum;
    }
    for (uint64_t i = 1; i <= nb; i++) {    /* Fenwick from the block sums, O(nb) */
        uint64_t j = i + (i & -i);
        if (j <= nb)
            t[j] += t[i];
    }
    m->npos = n;
    m->next = live;
    m->tail = live >> BLOCK_BITS;
}

/* A sampled request of size > 0. */
static inline void access_sampled(cs_mrc *m, uint64_t key, uint32_t size)
{
    if (m->next == m->npos)
        compact(m);
    m->requests++;
    m->req_bytes += size;
    uint32_t w = m->count_mode ? 1 : size;    /* weight in the stack */
    m->wide |= w >= (uint32_t)1 << (32 - BLOCK_BITS);
    uint64_t pos = m->next++, nb = m->npos / BLOCK;
    if (pos >> BLOCK_BITS > m->tail) {     /* the tail block is complete: into the tree */
        const uint32_t *blk = &m->weight[m->tail * BLOCK];
        uint64_t sum = 0;
        for (unsigned j = 0; j < BLOCK; j++)
            sum += blk[j];
        fw_add(m->tree, nb, m->tail + 1, sum);
        m->tail++;
    }
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
        const uint32_t *blk = &m->weight[ob * BLOCK];
        unsigned off = (unsigned)(op & (BLOCK - 1));
        const uint32_t *after = &ones_after[BLOCK - 1 - off];     /* after[j] = j > off ? ~0 : 0 */
        if (m->wide) {          /* a weight of 2^27 or more: 64-bit sums */
            for (unsigned j = 0; j < BLOCK; j++)
                in_block += blk[j] & after[j];
        } else {                /* 32 weights < 2^27 cannot overflow 32 bits */
            uint32_t s32 = 0;
            for (unsigned j = 0; j < BLOCK; j++)    /* fixed length, no branch: vectorised */
                s32 += blk[j] & after[j];
            in_block = s32;
        }
        uint64_t d = in_block + w;
        m->weight[op] = 0;
        if (ob < m->tail) {     /* else all after op is in the tail block */
            d += m->total - fw_prefix(m->tree, ob + 1);
            fw_add(m->tree, nb, ob + 1, -(uint64_t)ow);
        }
        m->total -= ow;
        record(m, d, size);
    }
    m->weight[pos] = w;
    m->total += w;
}

void cs_mrc_access(cs_mrc *m, uint64_t key, uint64_t hash, uint32_t size)
{
    if (!size)
        return;
    m->offered++;
    m->offered_bytes += size;
    if (m->thresh != SAMPLE_ONE && !sampled(m, hash))
        return;
    access_sampled(m, key, size);
}

/* The same as n calls of cs_mrc_access(), in groups of 32: a first pass
 * picks the sampled requests, looks their keys up and prefetches the block
 * of weights at each one's last position, so the cache misses of 32
 * requests overlap instead of queueing one behind the other; the second
 * pass finds them in cache. */
void cs_mrc_access_n(cs_mrc *m, const uint64_t *keys, const uint64_t *hashes, const uint32_t *sizes, size_t n)
{
    enum { GROUP = 32 };
    uint32_t pick[GROUP];
    for (size_t i = 0; i < n; i += GROUP) {
        size_t end = n - i < GROUP ? n : i + GROUP, np = 0;
        for (size_t k = i; k < end; k++) {
            if (!sizes[k])
                continue;
            m->offered++;
            m->offered_bytes += sizes[k];
            if (m->thresh != SAMPLE_ONE && !sampled(m, hashes ? hashes[k] : keys[k]))
                continue;
            pick[np++] = (uint32_t)(k - i);
            const uint64_t *v = mk_imap_get(&m->map, keys[k]);
            if (v) {
                const uint32_t *blk = &m->weight[(*v & POS_MASK) & ~(uint64_t)(BLOCK - 1)];
                __builtin_prefetch(blk);
                __builtin_prefetch(blk + BLOCK / 2);
            }
        }
        for (size_t j = 0; j < np; j++)
            access_sampled(m, keys[i + pick[j]], sizes[i + pick[j]]);
    }
}

void cs_mrc_adjust(cs_mrc *m, int on)
{
    m->adjust = !!on;
}

double cs_mrc_rate(const cs_mrc *m)
{
    return (double)m->thresh / SAMPLE_ONE;
}

uint64_t cs_mrc_offered(const cs_mrc *m)
{
    return m->offered;
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

/* misses / requests, or with SHARDS-adj misses / (R * offered requests);
 * the same for bytes. 0 when nothing was requested. */
static double ratio(const cs_mrc *m, double misses, int bytes)
{
    double den = bytes ? (double)m->req_bytes : (double)m->requests;
    if (m->adjust)
        den = (bytes ? (double)m->offered_bytes : (double)m->offered) * cs_mrc_rate(m);
    if (!(den > 0))
        return 0;
    double r = misses / den;
    return r < 1 ? r : 1;
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
    return ratio(m, (double)cs_mrc_misses_at(m, cap_index), 0);
}

double cs_mrc_byte_miss_ratio_at(const cs_mrc *m, size_t cap_index)
{
    uint64_t h, b;
    hits_upto(m, cap_index, &h, &b);
    return ratio(m, (double)(m->req_bytes - b), 1);
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
    uint64_t *prefix = hist_prefix(m);
    double h = hits_le(m, prefix, cap * cs_mrc_rate(m));
    free(prefix);
    return ratio(m, (double)m->requests - h, 0);
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
            mr_out[k++] = ratio(m, (double)m->requests, 0);
        }
        cap_out[k] = (double)cs_mrc_wss(m);
        mr_out[k++] = ratio(m, (double)m->requests, 0);
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
        mr_out[i] = ratio(m, (double)m->requests - hits_le(m, prefix, t), 0);
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
         + tree_len(m->npos) * sizeof *m->tree
         + nc * (sizeof *m->thr + sizeof *m->sorted_of + sizeof *m->hit) + NBUCKETS * sizeof *m->hist;
}
