/* select — order statistics by repeated bucketing passes (see select.h). */
#include "select.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

enum { BUCKETS = 4096 };

typedef struct {
    uint64_t rank;
    uint64_t lo, hi;           /* open key range, inclusive */
    uint64_t below;            /* values with key < lo */
    int collecting, done;
    unsigned shift;            /* bucket = (key - lo) >> shift */
    uint64_t *count;           /* BUCKETS, while bucketing */
    double *vals;              /* while collecting */
    size_t nvals, cap;
    double value;
} rank_state;

struct mk_select {
    uint64_t n, seen;
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

static void plan_pass(rank_state *r)
{
    unsigned s = 0;
    while (((r->hi - r->lo) >> s) >= BUCKETS)
        s++;
    r->shift = s;
    memset(r->count, 0, BUCKETS * sizeof *r->count);
}

mk_select *mk_select_new(uint64_t n, const uint64_t *ranks, size_t nranks, size_t hold)
{
    mk_select *s = mk_xcalloc(1, sizeof *s);
    s->n = n;
    s->hold = hold ? hold : 1;
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
    return s;
}

int mk_select_done(const mk_select *s)
{
    for (size_t i = 0; i < s->nr; i++)
        if (!s->r[i].done)
            return 0;
    return 1;
}

void mk_select_add(mk_select *s, double v)
{
    uint64_t k = key_of(v);
    s->seen++;
    for (size_t i = 0; i < s->nr; i++) {
        rank_state *r = &s->r[i];
        if (r->done || k < r->lo || k > r->hi)
            continue;
        if (!r->collecting) {
            r->count[(k - r->lo) >> r->shift]++;
            continue;
        }
        if (r->nvals == r->cap) {
            r->cap = r->cap ? 2 * r->cap : 1024;
            r->vals = mk_xrealloc(r->vals, r->cap * sizeof *r->vals);
        }
        r->vals[r->nvals++] = v;
    }
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* After a counting pass: keep the bucket holding the rank. */
static int narrow(mk_select *s, rank_state *r)
{
    uint64_t want = r->rank - r->below, cum = 0;
    for (uint64_t b = 0; b < BUCKETS; b++) {
        if (cum + r->count[b] <= want) {
            cum += r->count[b];
            continue;
        }
        r->below += cum;
        uint64_t lo = r->lo + (b << r->shift);
        uint64_t width = r->shift >= 64 ? UINT64_MAX : (1ull << r->shift) - 1;
        r->hi = r->hi - lo < width ? r->hi : lo + width;
        r->lo = lo;
        if (r->shift == 0) {           /* one key: every value in it is the answer */
            r->value = value_of(lo);
            r->done = 1;
        } else if (r->count[b] <= s->hold) {
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

int mk_select_end_pass(mk_select *s)
{
    s->passes++;
    if (s->seen != s->n)
        return mk_err_set("select: expected %llu values, read %llu", (unsigned long long)s->n,
                          (unsigned long long)s->seen);
    s->seen = 0;
    for (size_t i = 0; i < s->nr; i++) {
        rank_state *r = &s->r[i];
        if (r->done)
            continue;
        if (!r->collecting) {
            if (narrow(s, r) < 0)
                return -1;
            continue;
        }
        uint64_t at = r->rank - r->below;
        if (at >= r->nvals)
            return mk_err_set("select: the values changed between passes");
        qsort(r->vals, r->nvals, sizeof *r->vals, dbl_cmp);
        r->value = r->vals[at];
        r->done = 1;
        free(r->vals);
        r->vals = NULL;
        r->nvals = r->cap = 0;
    }
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
