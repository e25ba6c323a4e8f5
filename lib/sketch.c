/* sketch — HyperLogLog, DDSketch and exact moments (see sketch.h). */
#include "sketch.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "map.h"

/* ---- byte strings: a writer that counts, a reader that checks ------------ */

typedef struct wbuf {
    unsigned char *p;    /* NULL: only count */
    size_t len;
} wbuf;

static void w_bytes(wbuf *w, const void *src, size_t n)
{
    if (w->p)
        memcpy(w->p + w->len, src, n);
    w->len += n;
}

static void w_uint(wbuf *w, uint64_t v, int nbytes)
{
    unsigned char b[8];
    for (int i = 0; i < nbytes; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    w_bytes(w, b, (size_t)nbytes);
}

static void w_f64(wbuf *w, double d)
{
    uint64_t v;
    memcpy(&v, &d, sizeof v);
    w_uint(w, v, 8);
}

static void w_leb(wbuf *w, uint64_t v)
{
    unsigned char b[10];
    int n = 0;
    do {
        b[n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    w_bytes(w, b, (size_t)n);
}

/* Appends the checksum of everything written so far. */
static void w_sum(wbuf *w)
{
    w_uint(w, w->p ? mk_map_hash(w->p, w->len) : 0, 8);
}

typedef struct rbuf {
    const unsigned char *p;
    size_t len, pos;
    const char *what;    /* "HyperLogLog" or "quantile sketch", for messages */
} rbuf;

static int r_need(rbuf *r, size_t n)
{
    if (r->len - r->pos < n)
        return mk_err_set("%s: truncated at byte %zu of %zu", r->what, r->pos, r->len);
    return 0;
}

static uint64_t r_uint(rbuf *r, int nbytes)   /* after r_need */
{
    uint64_t v = 0;
    for (int i = 0; i < nbytes; i++)
        v |= (uint64_t)r->p[r->pos + (size_t)i] << (8 * i);
    r->pos += (size_t)nbytes;
    return v;
}

static double r_f64(rbuf *r)   /* after r_need */
{
    uint64_t v = r_uint(r, 8);
    double d;
    memcpy(&d, &v, sizeof d);
    return d;
}

static int r_leb(rbuf *r, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (r_need(r, 1) < 0)
            return -1;
        unsigned b = r->p[r->pos++];
        if (shift == 63 && b > 1)
            return mk_err_set("%s: count overflows 64 bits at byte %zu", r->what, r->pos - 1);
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            if (b == 0 && shift > 0)
                return mk_err_set("%s: overlong count at byte %zu", r->what, r->pos - 1);
            *out = v;
            return 0;
        }
    }
    return mk_err_set("%s: count longer than 10 bytes at byte %zu", r->what, r->pos);
}

/* Checks the magic; r->pos is left at 4, after it. */
static int r_frame(rbuf *r, const char magic[4])
{
    if (r->len < 4 || memcmp(r->p, magic, 4) != 0)
        return mk_err_set("%s: not a serialized sketch (no \"%.4s\" header)", r->what, magic);
    r->pos = 4;
    return 0;
}

static int r_check_sum(rbuf *r)
{
    if (r_need(r, 8) < 0)
        return -1;
    uint64_t want = mk_map_hash(r->p, r->pos);
    if (r_uint(r, 8) != want)
        return mk_err_set("%s: checksum mismatch (corrupt data)", r->what);
    return 0;
}

static int r_end(rbuf *r, size_t *used)
{
    if (used)
        *used = r->pos;
    else if (r->pos != r->len)
        return mk_err_set("%s: %zu trailing bytes", r->what, r->len - r->pos);
    return 0;
}

/* ---- HyperLogLog ----------------------------------------------------------- */

/* Registers hold 0 (empty) .. q + 1 with q = 64 - p: the position of the
 * first 1 bit in the 64 - p hash bits below the index, or q + 1 if all are 0.
 * Sparse entries are idx << 6 | value (value >= 1, so an entry is never 0,
 * which marks an empty slot); the set stays at most 3/4 full and at most
 * 2^p / 4 slots (2^p bytes, the dense size), past which it turns dense. */
enum { HLL_SPARSE_MIN_P = 8, HLL_SPARSE_CAP0 = 16, HLL_HDR = 8, HLL_SUM = 8 };

int mk_hll_init(mk_hll *h, int p)
{
    h->reg = NULL;
    h->sp = NULL;
    h->scap = h->slen = 0;
    h->p = MK_HLL_P_DEFAULT;
    if (p < MK_HLL_P_MIN || p > MK_HLL_P_MAX)
        return mk_err_set("HyperLogLog precision %d not in [%d, %d]", p, MK_HLL_P_MIN, MK_HLL_P_MAX);
    h->p = p;
    return 0;
}

void mk_hll_free(mk_hll *h)
{
    free(h->reg);
    free(h->sp);
    mk_hll_init(h, h->p);
}

static inline uint32_t sp_slot(uint32_t idx, uint32_t mask)
{
    return (idx * 0x9E3779B1u >> 7) & mask;
}

static void hll_to_dense(mk_hll *h)
{
    h->reg = mk_xcalloc((size_t)1 << h->p, 1);
    for (uint32_t i = 0; i < h->scap; i++)
        if (h->sp[i])
            h->reg[h->sp[i] >> 6] = (uint8_t)(h->sp[i] & 63);
    free(h->sp);
    h->sp = NULL;
    h->scap = h->slen = 0;
}

/* Inserts a new entry, known to be absent, into a set with room. */
static void sp_insert(uint32_t *sp, uint32_t cap, uint32_t e)
{
    uint32_t mask = cap - 1, i = sp_slot(e >> 6, mask);
    while (sp[i])
        i = (i + 1) & mask;
    sp[i] = e;
}

static void hll_set_slow(mk_hll *h, uint32_t idx, uint8_t v)
{
    if (!h->sp) {
        if (h->p < HLL_SPARSE_MIN_P) {
            hll_to_dense(h);
            h->reg[idx] = v;
            return;
        }
        h->scap = HLL_SPARSE_CAP0;
        h->sp = mk_xcalloc(h->scap, sizeof *h->sp);
    }
    uint32_t mask = h->scap - 1, i = sp_slot(idx, mask);
    for (; h->sp[i]; i = (i + 1) & mask) {
        if (h->sp[i] >> 6 == idx) {
            if ((h->sp[i] & 63) < v)
                h->sp[i] = idx << 6 | v;
            return;
        }
    }
    if ((h->slen + 1) * 4 <= h->scap * 3) {
        h->sp[i] = idx << 6 | v;
        h->slen++;
        return;
    }
    if ((size_t)h->scap * 2 > ((size_t)1 << h->p) / 4) {
        hll_to_dense(h);
        h->reg[idx] = v;
        return;
    }
    uint32_t ncap = h->scap * 2, *nsp = mk_xcalloc(ncap, sizeof *nsp);
    for (uint32_t j = 0; j < h->scap; j++)
        if (h->sp[j])
            sp_insert(nsp, ncap, h->sp[j]);
    sp_insert(nsp, ncap, idx << 6 | v);
    free(h->sp);
    h->sp = nsp;
    h->scap = ncap;
    h->slen++;
}

/* Register idx = max(register idx, v). */
static inline void hll_set(mk_hll *h, uint32_t idx, uint8_t v)
{
    if (h->reg) {
        if (h->reg[idx] < v)
            h->reg[idx] = v;
    } else {
        hll_set_slow(h, idx, v);
    }
}

void mk_hll_add(mk_hll *h, uint64_t hash)
{
    uint32_t idx = (uint32_t)(hash >> (64 - h->p));
    uint64_t w = hash << h->p;
    uint8_t v = (uint8_t)(w ? __builtin_clzll(w) + 1 : 65 - h->p);
    hll_set(h, idx, v);
}

/* Ertl's sigma and tau (section 4 of the paper); fixed-point iterations. */
static double hll_sigma(double x)
{
    if (x == 1)
        return INFINITY;
    double y = 1, z = x, prev;
    do {
        x *= x;
        prev = z;
        z += x * y;
        y += y;
    } while (z != prev);
    return z;
}

static double hll_tau(double x)
{
    if (x == 0 || x == 1)
        return 0;
    double y = 1, z = 1 - x, prev;
    do {
        x = sqrt(x);
        prev = z;
        y *= 0.5;
        z -= (1 - x) * (1 - x) * y;
    } while (z != prev);
    return z / 3;
}

double mk_hll_estimate(const mk_hll *h)
{
    uint32_t m = 1u << h->p, c[66] = {0};
    int q = 64 - h->p;
    if (h->reg) {
        for (uint32_t i = 0; i < m; i++)
            c[h->reg[i]]++;
    } else if (h->sp) {
        c[0] = m - h->slen;
        for (uint32_t i = 0; i < h->scap; i++)
            if (h->sp[i])
                c[h->sp[i] & 63]++;
    } else {
        return 0;
    }
    double dm = m, z = dm * hll_tau(1 - c[q + 1] / dm);
    for (int k = q; k >= 1; k--)
        z = 0.5 * (z + c[k]);
    z += dm * hll_sigma(c[0] / dm);
    return dm * dm / (2 * M_LN2) / z;   /* alpha_inf m^2 / z; z = inf gives 0 */
}

int mk_hll_merge(mk_hll *dst, const mk_hll *src)
{
    if (dst->p != src->p)
        return mk_err_set("HyperLogLog merge: precisions %d and %d differ", dst->p, src->p);
    if (dst == src)
        return 0;
    if (src->reg) {
        size_t m = (size_t)1 << src->p;
        if (!dst->reg)
            hll_to_dense(dst);
        for (size_t i = 0; i < m; i++)
            if (dst->reg[i] < src->reg[i])
                dst->reg[i] = src->reg[i];
    } else if (src->sp) {
        for (uint32_t i = 0; i < src->scap; i++)
            if (src->sp[i])
                hll_set(dst, src->sp[i] >> 6, (uint8_t)(src->sp[i] & 63));
    }
    return 0;
}

size_t mk_hll_bytes(const mk_hll *h)
{
    return h->reg ? (size_t)1 << h->p : (size_t)h->scap * sizeof *h->sp;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

size_t mk_hll_serialize(const mk_hll *h, void *buf, size_t cap)
{
    size_t m = (size_t)1 << h->p, nz = 0;
    if (h->reg) {
        for (size_t i = 0; i < m; i++)
            nz += h->reg[i] != 0;
    } else {
        nz = h->slen;
    }
    int sparse = 4 + 3 * nz < m;
    size_t size = HLL_HDR + (sparse ? 4 + 3 * nz : m) + HLL_SUM;
    if (!buf || cap < size)
        return size;

    wbuf w = {buf, 0};
    w_bytes(&w, "HLL1", 4);
    w_uint(&w, (uint64_t)h->p, 1);
    w_uint(&w, (uint64_t)sparse, 1);
    w_uint(&w, 0, 2);
    if (sparse) {
        w_uint(&w, nz, 4);
        if (h->reg) {
            for (size_t i = 0; i < m; i++)
                if (h->reg[i])
                    w_uint(&w, (uint64_t)i << 6 | h->reg[i], 3);
        } else if (nz) {
            uint32_t *e = mk_xmalloc(nz * sizeof *e), n = 0;
            for (uint32_t i = 0; i < h->scap; i++)
                if (h->sp[i])
                    e[n++] = h->sp[i];
            qsort(e, nz, sizeof *e, cmp_u32);   /* by index: it is the high part */
            for (size_t i = 0; i < nz; i++)
                w_uint(&w, e[i], 3);
            free(e);
        }
    } else {
        unsigned char *r = w.p + w.len;
        if (h->reg)
            memcpy(r, h->reg, m);
        else
            memset(r, 0, m);
        for (uint32_t i = 0; h->sp && i < h->scap; i++)
            if (h->sp[i])
                r[h->sp[i] >> 6] = (unsigned char)(h->sp[i] & 63);
        w.len += m;
    }
    w_sum(&w);
    return w.len;
}

static uint32_t get24(const unsigned char *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16;
}

int mk_hll_deserialize(mk_hll *h, const void *buf, size_t len, size_t *used)
{
    rbuf r = {buf, len, 0, "HyperLogLog"};
    mk_hll_init(h, MK_HLL_P_DEFAULT);
    if (r_frame(&r, "HLL1") < 0 || r_need(&r, 4) < 0)
        return -1;
    int p = (int)r_uint(&r, 1), enc = (int)r_uint(&r, 1);
    if (p < MK_HLL_P_MIN || p > MK_HLL_P_MAX)
        return mk_err_set("HyperLogLog: precision %d not in [%d, %d]", p, MK_HLL_P_MIN, MK_HLL_P_MAX);
    if (enc > 1 || r_uint(&r, 2) != 0)
        return mk_err_set("HyperLogLog: unknown encoding %d", enc);
    size_t m = (size_t)1 << p, n = m;
    if (enc == 1) {
        if (r_need(&r, 4) < 0)
            return -1;
        n = r_uint(&r, 4);
        if (4 + 3 * n >= m)
            return mk_err_set("HyperLogLog: %zu sparse entries for %zu registers (non-canonical)", n, m);
    }
    const unsigned char *b = r.p + r.pos;
    size_t body = enc == 1 ? 3 * n : m;
    if (r_need(&r, body) < 0)
        return -1;
    r.pos += body;
    if (r_check_sum(&r) < 0 || r_end(&r, used) < 0)
        return -1;

    /* Validate every register before building anything. */
    unsigned vmax = 65 - (unsigned)p;
    size_t nz = 0;
    for (size_t i = 0; i < n; i++) {
        if (enc == 1) {
            uint32_t e = get24(b + 3 * i), idx = e >> 6, v = e & 63;
            if (idx >= m || v == 0 || v > vmax || (i && idx <= get24(b + 3 * i - 3) >> 6))
                return mk_err_set("HyperLogLog: bad sparse entry %zu (register %u, value %u)", i, idx, v);
        } else {
            if (b[i] > vmax)
                return mk_err_set("HyperLogLog: register %zu value %u exceeds %u", i, b[i], vmax);
            nz += b[i] != 0;
        }
    }
    if (enc == 0 && 4 + 3 * nz < m)
        return mk_err_set("HyperLogLog: dense encoding of a sparse sketch (non-canonical)");

    h->p = p;
    for (size_t i = 0; i < n; i++) {
        if (enc == 1)
            hll_set(h, get24(b + 3 * i) >> 6, (uint8_t)(get24(b + 3 * i) & 63));
        else if (b[i])
            hll_set(h, (uint32_t)i, b[i]);
    }
    return 0;
}

/* ---- DDSketch ---------------------------------------------------------------- */

enum { QS_CAP0 = 32 };

static void store_init(mk_qstore *st)
{
    st->bins = NULL;
    st->total = 0;
    st->offset = st->lo = st->hi = 0;
    st->cap = 0;
}

static void store_free(mk_qstore *st)
{
    free(st->bins);
    store_init(st);
}

int mk_qsketch_init(mk_qsketch *s, double alpha, uint32_t max_buckets)
{
    memset(s, 0, sizeof *s);
    store_init(&s->pos);
    store_init(&s->neg);
    s->min = INFINITY;
    s->max = -INFINITY;
    if (alpha == 0)
        alpha = MK_QSKETCH_ALPHA_DEFAULT;
    if (max_buckets == 0)
        max_buckets = MK_QSKETCH_BUCKETS_DEFAULT;
    int bad_alpha = !(alpha >= MK_QSKETCH_ALPHA_MIN && alpha <= MK_QSKETCH_ALPHA_MAX);
    int bad_buckets = max_buckets > MK_QSKETCH_BUCKETS_MAX;
    if (bad_alpha || bad_buckets) {
        mk_qsketch_init(s, 0, 0);
        if (bad_alpha)
            return mk_err_set("quantile sketch: relative accuracy %g not in [%g, %g]", alpha,
                              MK_QSKETCH_ALPHA_MIN, MK_QSKETCH_ALPHA_MAX);
        return mk_err_set("quantile sketch: %u buckets exceed the limit %d", max_buckets,
                          MK_QSKETCH_BUCKETS_MAX);
    }
    /* gamma = (1+a)/(1-a); ln(gamma) = 2 atanh(a) is accurate for small a.
     * Keys and values both use this ln(gamma), so the bound holds for the
     * gamma it stands for. */
    s->alpha = alpha;
    s->ln_gamma = 2 * atanh(alpha);
    s->inv_ln_gamma = 1 / s->ln_gamma;
    s->mid = 2 / (1 + exp(s->ln_gamma));
    s->max_buckets = max_buckets;
    /* Every finite |x| > 0 lies in [DBL_TRUE_MIN, DBL_MAX]; a margin of one
     * covers rounding. |key| < 744.5 / 2e-6 < 2^29, far inside int32. */
    s->key_min = (int32_t)ceil(log(DBL_TRUE_MIN) * s->inv_ln_gamma) - 1;
    s->key_max = (int32_t)ceil(log(DBL_MAX) * s->inv_ln_gamma) + 1;
    return 0;
}

void mk_qsketch_free(mk_qsketch *s)
{
    store_free(&s->pos);
    store_free(&s->neg);
    s->zero = 0;
    s->min = INFINITY;
    s->max = -INFINITY;
}

/* Makes the bins cover keys [lo, hi] (hi - lo < max_buckets) and folds every
 * count below lo into lo. key says where the growth comes from, so that the
 * free room is put on that side. Leaves lo/hi describing the non-empty keys
 * of a non-empty store. */
static void store_layout(mk_qstore *st, int64_t lo, int64_t hi, int64_t key, uint32_t maxb)
{
    int64_t a = 0, b = -1;   /* keys that may be non-zero in the old bins */
    uint64_t folded = 0;
    if (st->total) {
        a = st->lo;
        b = st->hi;
        if (a < lo) {
            int64_t end = b < lo - 1 ? b : lo - 1;
            for (int64_t k = a; k <= end; k++) {
                folded += st->bins[k - st->offset];
                st->bins[k - st->offset] = 0;
            }
            a = lo;
        }
    }
    int64_t off = st->offset, cap = st->cap;
    if (!st->bins || lo < off || hi >= off + cap) {
        int64_t need = hi - lo + 1, ncap = cap;
        if (ncap < need) {
            ncap = 2 * cap > need ? 2 * cap : need;
            if (ncap < QS_CAP0)
                ncap = QS_CAP0;
            if (ncap > maxb)
                ncap = maxb;
        }
        int64_t noff = lo - (ncap - need) / 2;   /* first key: centred */
        if (st->total && key >= hi)
            noff = lo;                  /* growing upwards: room above */
        else if (st->total && key <= lo)
            noff = hi - ncap + 1;       /* growing downwards: room below */
        if (ncap == cap) {
            if (a <= b)
                memmove(st->bins + (a - noff), st->bins + (a - off), (size_t)(b - a + 1) * sizeof *st->bins);
            int64_t z0 = a <= b ? a - noff : cap, z1 = a <= b ? b - noff + 1 : cap;
            memset(st->bins, 0, (size_t)z0 * sizeof *st->bins);
            memset(st->bins + z1, 0, (size_t)(cap - z1) * sizeof *st->bins);
        } else {
            uint64_t *nb = mk_xcalloc((size_t)ncap, sizeof *nb);
            if (a <= b)
                memcpy(nb + (a - noff), st->bins + (a - off), (size_t)(b - a + 1) * sizeof *nb);
            free(st->bins);
            st->bins = nb;
            st->cap = (uint32_t)ncap;
        }
        st->offset = (int32_t)noff;
    }
    if (st->total) {
        st->bins[lo - st->offset] += folded;
        st->lo = (int32_t)a;
        st->hi = (int32_t)(a <= b ? b : lo);
    }
}

static void store_add_slow(mk_qstore *st, int64_t key, uint64_t n, uint32_t maxb)
{
    int64_t lo = key, hi = key;
    if (st->total) {
        lo = st->lo < key ? st->lo : key;
        hi = st->hi > key ? st->hi : key;
    }
    if (hi - lo + 1 > maxb)
        lo = hi - maxb + 1;   /* collapse the lowest keys */
    if (key < lo)
        key = lo;
    store_layout(st, lo, hi, key, maxb);
    st->bins[key - st->offset] += n;
    if (!st->total) {
        st->lo = st->hi = (int32_t)key;
    } else {
        if (key < st->lo)
            st->lo = (int32_t)key;
        if (key > st->hi)
            st->hi = (int32_t)key;
    }
    st->total += n;
}

static inline void store_add(mk_qstore *st, int64_t key, uint64_t n, uint32_t maxb)
{
    int64_t i = key - st->offset;
    if (st->total && i >= 0 && i < st->cap) {
        st->bins[i] += n;
        if (key < st->lo)
            st->lo = (int32_t)key;
        if (key > st->hi)
            st->hi = (int32_t)key;
        st->total += n;
        return;
    }
    store_add_slow(st, key, n, maxb);
}

static inline int64_t qs_key(const mk_qsketch *s, double ax)   /* ax > 0 */
{
    /* ceil without the libm call; |t| < 40000 for any finite ax. */
    double t = log(ax) * s->inv_ln_gamma;
    int64_t k = (int64_t)t;
    return k + ((double)k < t);
}

/* The value bucket key k (of |x|) reports: 2 gamma^k / (1 + gamma). */
static inline double qs_value(const mk_qsketch *s, int64_t k)
{
    return exp((double)k * s->ln_gamma) * s->mid;
}

int mk_qsketch_add_n(mk_qsketch *s, double x, uint64_t n)
{
    if (!isfinite(x))
        return mk_err_set("quantile sketch: %g is not a finite number", x);
    if (n == 0)
        return 0;
    if (x > 0)
        store_add(&s->pos, qs_key(s, x), n, s->max_buckets);
    else if (x < 0)
        store_add(&s->neg, -qs_key(s, -x), n, s->max_buckets);
    else {
        s->zero += n;
        x = 0;   /* -0 counts as 0 */
    }
    if (x < s->min)
        s->min = x;
    if (x > s->max)
        s->max = x;
    return 0;
}

int mk_qsketch_add(mk_qsketch *s, double x)
{
    return mk_qsketch_add_n(s, x, 1);
}

uint64_t mk_qsketch_count(const mk_qsketch *s)
{
    return s->neg.total + s->zero + s->pos.total;
}

double mk_qsketch_min(const mk_qsketch *s)
{
    return mk_qsketch_count(s) ? s->min : NAN;
}

double mk_qsketch_max(const mk_qsketch *s)
{
    return mk_qsketch_count(s) ? s->max : NAN;
}

uint64_t mk_qsketch_rank(double q, uint64_t n)
{
    if (n == 0 || !(q > 0))
        return 0;
    if (q >= 1)
        return n - 1;
    double t = q * (double)(n - 1), f = floor(t);
    double r = t - f <= t * 1e-12 ? f : ceil(t);
    return r >= (double)(n - 1) ? n - 1 : (uint64_t)r;
}

double mk_qsketch_quantile(const mk_qsketch *s, double q)
{
    uint64_t n = mk_qsketch_count(s);
    if (!n || !(q >= 0 && q <= 1))
        return NAN;
    uint64_t r = mk_qsketch_rank(q, n);
    if (r == 0)
        return s->min;
    if (r == n - 1)
        return s->max;
    /* The first bucket, in ascending value order, whose cumulative count
     * exceeds r holds x[r]. */
    double v = s->max;
    uint64_t cum = 0;
    const mk_qstore *st = &s->neg;
    if (r < st->total) {
        for (int64_t k = st->lo; k <= st->hi; k++)
            if ((cum += st->bins[k - st->offset]) > r) {
                v = -qs_value(s, -k);
                break;
            }
    } else if (r < st->total + s->zero) {
        v = 0;
    } else {
        cum = st->total + s->zero;
        st = &s->pos;
        for (int64_t k = st->lo; k <= st->hi; k++)
            if ((cum += st->bins[k - st->offset]) > r) {
                v = qs_value(s, k);
                break;
            }
    }
    return v < s->min ? s->min : v > s->max ? s->max : v;
}

static void store_merge(mk_qstore *dst, const mk_qstore *src, uint32_t maxb)
{
    if (!src->total)
        return;
    /* Highest key first, then lowest: at most two layouts, then all fit. */
    store_add(dst, src->hi, src->bins[src->hi - src->offset], maxb);
    if (src->lo != src->hi)
        store_add(dst, src->lo, src->bins[src->lo - src->offset], maxb);
    for (int64_t k = (int64_t)src->lo + 1; k < src->hi; k++) {
        uint64_t c = src->bins[k - src->offset];
        if (c)
            store_add(dst, k, c, maxb);
    }
}

int mk_qsketch_merge(mk_qsketch *dst, const mk_qsketch *src)
{
    if (dst->alpha != src->alpha)
        return mk_err_set("quantile sketch merge: relative accuracies %g and %g differ", dst->alpha,
                          src->alpha);
    if (dst == src) {
        /* Doubling every count keeps the buckets; do it on a copy. */
        mk_qsketch copy = *src;
        copy.pos.bins = copy.pos.cap ? mk_xmalloc(copy.pos.cap * sizeof(uint64_t)) : NULL;
        copy.neg.bins = copy.neg.cap ? mk_xmalloc(copy.neg.cap * sizeof(uint64_t)) : NULL;
        if (copy.pos.bins)
            memcpy(copy.pos.bins, src->pos.bins, copy.pos.cap * sizeof(uint64_t));
        if (copy.neg.bins)
            memcpy(copy.neg.bins, src->neg.bins, copy.neg.cap * sizeof(uint64_t));
        int rc = mk_qsketch_merge(dst, &copy);
        mk_qsketch_free(&copy);
        return rc;
    }
    store_merge(&dst->pos, &src->pos, dst->max_buckets);
    store_merge(&dst->neg, &src->neg, dst->max_buckets);
    dst->zero += src->zero;
    if (mk_qsketch_count(src)) {
        if (src->min < dst->min)
            dst->min = src->min;
        if (src->max > dst->max)
            dst->max = src->max;
    }
    return 0;
}

static void store_write(wbuf *w, const mk_qstore *st)
{
    if (!st->total) {
        w_uint(w, 0, 4);
        w_uint(w, 0, 4);
        return;
    }
    w_uint(w, (uint32_t)st->lo, 4);
    w_uint(w, (uint32_t)(st->hi - st->lo + 1), 4);
    for (int64_t k = st->lo; k <= st->hi; k++)
        w_leb(w, st->bins[k - st->offset]);
}

static void qs_write(wbuf *w, const mk_qsketch *s)
{
    w_bytes(w, "DDS1", 4);
    w_f64(w, s->alpha);
    w_uint(w, s->max_buckets, 4);
    w_uint(w, s->zero, 8);
    w_f64(w, s->min);
    w_f64(w, s->max);
    store_write(w, &s->neg);
    store_write(w, &s->pos);
}

size_t mk_qsketch_serialize(const mk_qsketch *s, void *buf, size_t cap)
{
    wbuf w = {NULL, 0};
    qs_write(&w, s);
    size_t size = w.len + 8;
    if (!buf || cap < size)
        return size;
    w = (wbuf){buf, 0};
    qs_write(&w, s);
    w_sum(&w);
    return w.len;
}

/* Reads one store into st (empty on entry); keys must lie in [kmin, kmax]. */
static int store_read(rbuf *r, mk_qstore *st, const mk_qsketch *s, int64_t kmin, int64_t kmax,
                      const char *which)
{
    if (r_need(r, 8) < 0)
        return -1;
    int64_t lo = (int32_t)(uint32_t)r_uint(r, 4);
    uint64_t n = r_uint(r, 4);
    if (n == 0) {
        if (lo != 0)
            return mk_err_set("quantile sketch: empty %s store with key %lld", which, (long long)lo);
        return 0;
    }
    if (n > s->max_buckets || lo < kmin || lo + (int64_t)n - 1 > kmax)
        return mk_err_set("quantile sketch: %s store keys %lld..%lld out of range", which, (long long)lo,
                          (long long)(lo + (int64_t)n - 1));
    /* Every count takes at least a byte: check before allocating. */
    if (r_need(r, n) < 0)
        return -1;
    st->cap = (uint32_t)(n < QS_CAP0 && s->max_buckets >= QS_CAP0 ? QS_CAP0 : n);
    st->bins = mk_xcalloc(st->cap, sizeof *st->bins);
    st->offset = st->lo = (int32_t)lo;
    st->hi = (int32_t)(lo + (int64_t)n - 1);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t c = 0;
        if (r_leb(r, &c) < 0)
            return -1;
        if (c > UINT64_MAX - st->total)
            return mk_err_set("quantile sketch: %s store count overflows", which);
        st->bins[i] = c;
        st->total += c;
    }
    if (!st->bins[0] || !st->bins[n - 1])
        return mk_err_set("quantile sketch: %s store has empty end buckets (non-canonical)", which);
    return 0;
}

int mk_qsketch_deserialize(mk_qsketch *s, const void *buf, size_t len, size_t *used)
{
    rbuf r = {buf, len, 0, "quantile sketch"};
    mk_qsketch_init(s, 0, 0);
    if (r_frame(&r, "DDS1") < 0 || r_need(&r, 36) < 0)
        return -1;
    double alpha = r_f64(&r);
    uint32_t maxb = (uint32_t)r_uint(&r, 4);
    uint64_t zero = r_uint(&r, 8);
    double mn = r_f64(&r), mx = r_f64(&r);
    if (maxb == 0)
        return mk_err_set("quantile sketch: bucket limit 0");
    if (mk_qsketch_init(s, alpha, maxb) < 0)
        return -1;
    s->zero = zero;
    if (store_read(&r, &s->neg, s, -(int64_t)s->key_max, -(int64_t)s->key_min, "negative") < 0 ||
        store_read(&r, &s->pos, s, s->key_min, s->key_max, "positive") < 0 || r_check_sum(&r) < 0 ||
        r_end(&r, used) < 0)
        goto fail;
    if (s->neg.total > UINT64_MAX - s->zero || s->neg.total + s->zero > UINT64_MAX - s->pos.total) {
        mk_err_set("quantile sketch: total count overflows");
        goto fail;
    }
    if (mk_qsketch_count(s) == 0) {
        if (!(mn == INFINITY && mx == -INFINITY)) {
            mk_err_set("quantile sketch: empty sketch with min/max");
            goto fail;
        }
    } else if (!isfinite(mn) || !isfinite(mx) || mn > mx || (s->neg.total ? mn >= 0 : mn < 0) ||
               (s->pos.total ? mx <= 0 : mx > 0) || (s->zero && (mn > 0 || mx < 0)) ||
               (!s->zero && !s->neg.total && mn <= 0) || (!s->zero && !s->pos.total && mx >= 0)) {
        mk_err_set("quantile sketch: min %g / max %g inconsistent with its buckets", mn, mx);
        goto fail;
    }
    s->min = mn;
    s->max = mx;
    return 0;
fail:
    mk_qsketch_free(s);
    mk_qsketch_init(s, 0, 0);
    return -1;
}

/* ---- moments ------------------------------------------------------------------ */

void mk_moments_init(mk_moments *m)
{
    m->n = 0;
    m->mean = m->m2 = m->sum = m->sum_c = 0;
}

/* Neumaier's compensated sum: s + c carries the rounding error of s. */
static inline void ksum(double *s, double *c, double x)
{
    double t = *s + x;
    if (fabs(*s) >= fabs(x))
        *c += (*s - t) + x;
    else
        *c += (x - t) + *s;
    *s = t;
}

void mk_moments_add(mk_moments *m, double x)
{
    m->n++;
    double d = x - m->mean;
    m->mean += d / (double)m->n;
    m->m2 += d * (x - m->mean);
    ksum(&m->sum, &m->sum_c, x);
}

void mk_moments_merge(mk_moments *dst, const mk_moments *src)
{
    if (!src->n)
        return;
    if (!dst->n) {
        *dst = *src;
        return;
    }
    double na = (double)dst->n, nb = (double)src->n, n = na + nb;
    double d = src->mean - dst->mean;
    dst->mean += d * (nb / n);
    dst->m2 += src->m2 + d * d * (na * nb / n);
    dst->n += src->n;
    double c = src->sum_c;
    ksum(&dst->sum, &dst->sum_c, src->sum);
    dst->sum_c += c;
}

uint64_t mk_moments_count(const mk_moments *m)
{
    return m->n;
}

double mk_moments_sum(const mk_moments *m)
{
    return m->sum + m->sum_c;
}

double mk_moments_mean(const mk_moments *m)
{
    /* The compensated sum is nearly exact, the running mean drifts by about
     * sqrt(n) roundings; use the sum unless it overflowed. */
    double s = mk_moments_sum(m) / (double)m->n;
    return !m->n ? NAN : isfinite(s) ? s : m->mean;
}

double mk_moments_variance(const mk_moments *m)
{
    return m->n > 1 ? m->m2 / (double)(m->n - 1) : NAN;
}

double mk_moments_stddev(const mk_moments *m)
{
    return sqrt(mk_moments_variance(m));
}
