/* select — order statistics by repeated bucketing passes (see select.h). */
#include "select.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

enum { BUCKETS = 4096 };

/* Binades the upper buckets of a range cover at most. A key range that
 * spans more (from 0 to 2000: every binade below 1 too) gives its top
 * SPAN binades half the buckets and the rest the other half: evenly spread
 * over all keys, data like latencies would get 4 buckets a binade and take
 * a pass more. */
enum { SPAN = 20 };

typedef struct {
    uint64_t rank;
    uint64_t lo, hi;           /* open key range, inclusive */
    uint64_t cut;              /* keys from cut up get buckets nlow.., below it 0..nlow-1 */
    unsigned nlow, shift_lo, shift;
    uint64_t below;            /* values with key < lo */
    int collecting, done;
    int same;                  /* an earlier rank with the same range and phase, or -1:
                                * it does the counting or collecting for both */
    uint64_t *count;           /* BUCKETS, while bucketing */
    double *vals;              /* while collecting */
    size_t nvals, cap;
    int sorted;
    double value;
} rank_state;

struct mk_select {
    uint64_t n, seen;
    uint64_t blo, bhi, outside;   /* mk_select_bound, and values seen outside it */
    size_t hold;
    rank_state *r;
    size_t nr;
    unsigned passes;
};

/* Order-preserving: negative doubles have their bits flipped, others the
 * sign bit set, so unsigned comparison is numeric comparison. */
static uint64_t key_of(double d)
{
    uint64_t b;
    memcpy(&b, &d, 8);
    return b >> 63 ? ~b : b | 1ull << 63;
}

static double value_of(uint64_t k)
{
    uint64_t b = k >> 63 ? k & ~(1ull << 63) : ~k;
    double d;
    memcpy(&d, &b, 8);
    return d;
}

static unsigned shift_for(uint64_t span, unsigned buckets)
{
    unsigned s = 0;
    while ((span >> s) >= buckets)
        s++;
    return s;
}

static void plan_pass(rank_state *r)
{
    unsigned elo = (unsigned)(r->lo >> 52 & 0x7ff), ehi = (unsigned)(r->hi >> 52 & 0x7ff);
    r->cut = r->lo;
    r->nlow = 0;
    r->shift_lo = 0;
    if (r->lo >> 63 && ehi > elo + SPAN) {          /* non-negative, many binades */
        r->cut = 1ull << 63 | (uint64_t)(ehi - SPAN) << 52;
        r->nlow = BUCKETS / 2;
        r->shift_lo = shift_for(r->cut - 1 - r->lo, r->nlow);
    }
    r->shift = shift_for(r->hi - r->cut, BUCKETS - r->nlow);
    memset(r->count, 0, BUCKETS * sizeof *r->count);
}

static unsigned bucket_of(const rank_state *r, uint64_t k)
{
    return k < r->cut ? (unsigned)((k - r->lo) >> r->shift_lo)
                      : r->nlow + (unsigned)((k - r->cut) >> r->shift);
}

static void collect(rank_state *r, double v)
{
    if (r->nvals == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 1024;
        r->vals = mk_xrealloc(r->vals, r->cap * sizeof *r->vals);
    }
    r->vals[r->nvals++] = v;
}

/* Ranks whose range and phase match an earlier one's share its work. */
static void find_same(mk_select *s)
{
    for (size_t i = 0; i < s->nr; i++) {
        rank_state *r = &s->r[i];
        r->same = -1;
        for (size_t j = 0; j < i && !r->done; j++) {
            const rank_state *o = &s->r[j];
            if (!o->done && o->same < 0 && o->lo == r->lo && o->hi == r->hi &&
                o->collecting == r->collecting) {
                r->same = (int)j;
                break;
            }
        }
    }
}

mk_select *mk_select_new(uint64_t n, const uint64_t *ranks, size_t nranks, size_t hold)
{
    mk_select *s = mk_xcalloc(1, sizeof *s);
    s->n = n;
    s->hold = hold ? hold : 1;
    s->bhi = UINT64_MAX;
    s->nr = nranks;
    s->r = mk_xcalloc(nranks ? nranks : 1, sizeof *s->r);
    for (size_t i = 0; i < nranks; i++) {
        rank_state *r = &s->r[i];
        r->rank = ranks[i];
        r->lo = 0;
        r->hi = UINT64_MAX;
        r->done = ranks[i] >= n;       /* no such rank: nothing to find */
        if (n <= s->hold) {
            r->collecting = 1;         /* everything fits: one pass */
        } else {
            r->count = mk_xmalloc(BUCKETS * sizeof *r->count);
            plan_pass(r);
        }
    }
    find_same(s);
    return s;
}

void mk_select_bound(mk_select *s, double lo, double hi)
{
    s->blo = key_of(lo);
    s->bhi = key_of(hi);
    for (size_t i = 0; i < s->nr; i++) {
        rank_state *r = &s->r[i];
        r->lo = key_of(lo);
        r->hi = key_of(hi);
        if (r->count)
            plan_pass(r);
    }
    find_same(s);
}

mk_select *mk_select_clone(const mk_select *s)
{
    mk_select *c = mk_xmalloc(sizeof *c);
    *c = *s;
    c->seen = c->outside = 0;
    c->r = mk_xmalloc((s->nr ? s->nr : 1) * sizeof *c->r);
    for (size_t i = 0; i < s->nr; i++) {
        rank_state *r = &c->r[i];
        *r = s->r[i];
        r->vals = NULL;
        r->nvals = r->cap = 0;
        if (r->count)
            r->count = mk_xcalloc(BUCKETS, sizeof *r->count);
    }
    return c;
}

void mk_select_merge(mk_select *s, const mk_select *c)
{
    s->seen += c->seen;
    s->outside += c->outside;
    for (size_t i = 0; i < s->nr; i++) {
        rank_state *r = &s->r[i];
        const rank_state *o = &c->r[i];
        if (r->done || r->same >= 0)
            continue;
        if (r->count) {
            for (unsigned b = 0; b < BUCKETS; b++)
                r->count[b] += o->count[b];
            continue;
        }
        for (size_t k = 0; k < o->nvals; k++)
            collect(r, o->vals[k]);
    }
}

int mk_select_done(const mk_select *s)
{
    for (size_t i = 0; i < s->nr; i++)
        if (!s->r[i].done)
            return 0;
    return 1;
}

void mk_select_add_n(mk_select *s, const double *v, size_t n)
{
    s->seen += n;
    uint64_t blo = s->blo, bhi = s->bhi, out = 0;
    for (size_t k = 0; k < n; k++) {
        uint64_t key = key_of(v[k]);
        out += key < blo || key > bhi;
    }
    s->outside += out;
    for (size_t i = 0; i < s->nr; i++) {
        rank_state *r = &s->r[i];
        if (r->done || r->same >= 0)
            continue;
        uint64_t lo = r->lo, hi = r->hi;
        if (r->collecting) {
            for (size_t k = 0; k < n; k++) {
                uint64_t key = key_of(v[k]);
                if (key >= lo && key <= hi)
                    collect(r, v[k]);
            }
            continue;
        }
        uint64_t *count = r->count;
        for (size_t k = 0; k < n; k++) {
            uint64_t key = key_of(v[k]);
            if (key >= lo && key <= hi)
                count[bucket_of(r, key)]++;
        }
    }
}

void mk_select_add(mk_select *s, double v) { mk_select_add_n(s, &v, 1); }

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* After a counting pass (count: this rank's, or the one it shares): keep
 * the bucket holding the rank. */
static int narrow(mk_select *s, rank_state *r, const uint64_t *count)
{
    uint64_t want = r->rank - r->below, cum = 0;
    for (unsigned b = 0; b < BUCKETS; b++) {
        if (cum + count[b] <= want) {
            cum += count[b];
            continue;
        }
        r->below += cum;
        uint64_t lo, hi;
        if (b < r->nlow) {
            lo = r->lo + ((uint64_t)b << r->shift_lo);
            hi = r->cut - 1 - lo < (1ull << r->shift_lo) - 1 ? r->cut - 1 : lo + (1ull << r->shift_lo) - 1;
        } else {
            lo = r->cut + ((uint64_t)(b - r->nlow) << r->shift);
            uint64_t width = r->shift >= 64 ? UINT64_MAX : (1ull << r->shift) - 1;
            hi = r->hi - lo < width ? r->hi : lo + width;
        }
        r->lo = lo;
        r->hi = hi;
        if (lo == hi) {                /* one key: every value in it is the answer */
            r->value = value_of(lo);
            r->done = 1;
        } else if (count[b] <= s->hold) {
            r->collecting = 1;
            free(r->count);
            r->count = NULL;
        } else {
            plan_pass(r);
        }
        return 0;
    }
    return mk_err_set("select: the values changed between passes");
}

/* After a collecting pass (o: the rank holding the values). */
static int pick(rank_state *r, rank_state *o)
{
    uint64_t at = r->rank - r->below;
    if (at >= o->nvals)
        return mk_err_set("select: the values changed between passes");
    if (!o->sorted) {
        qsort(o->vals, o->nvals, sizeof *o->vals, dbl_cmp);
        o->sorted = 1;
    }
    r->value = o->vals[at];
    r->done = 1;
    return 0;
}

int mk_select_end_pass(mk_select *s)
{
    s->passes++;
    if (s->seen != s->n)
        return mk_err_set("select: expected %llu values, read %llu", (unsigned long long)s->n,
                          (unsigned long long)s->seen);
    s->seen = 0;
    if (s->outside)
        return mk_err_set("select: %llu values outside the bound", (unsigned long long)s->outside);
    /* Last to first: a rank sharing an earlier one's counts or values uses
     * them before that one moves on. */
    for (size_t i = s->nr; i-- > 0;) {
        rank_state *r = &s->r[i];
        if (r->done)
            continue;
        rank_state *o = r->same >= 0 ? &s->r[r->same] : r;
        int rc = r->collecting ? pick(r, o) : narrow(s, r, o->count);
        if (rc < 0)
            return -1;
    }
    for (size_t i = 0; i < s->nr; i++) {
        rank_state *r = &s->r[i];
        if (r->done) {
            free(r->vals);
            r->vals = NULL;
            r->nvals = r->cap = 0;
        }
    }
    find_same(s);
    return 0;
}

double mk_select_value(const mk_select *s, size_t i) { return s->r[i].value; }
unsigned mk_select_passes(const mk_select *s) { return s->passes; }

void mk_select_free(mk_select *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nr; i++) {
        free(s->r[i].count);
        free(s->r[i].vals);
    }
    free(s->r);
    free(s);
}
