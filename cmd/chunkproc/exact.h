/* exact — sums and variances of decimal columns that do not depend on order.
 *
 * Floating-point sums change with the order of the additions, so with
 * threads, shards and --merge the last digits would wander. Values written
 * as plain decimals (-?DIGITS[.DIGITS], up to 36 significant digits) are
 * instead kept as 128-bit integers scaled by 10^scale, where scale is the
 * most fraction digits seen so far: sums, means and variances are then exact
 * and the same for any thread count or merge order, and a sum prints as the
 * exact decimal ("41.95", not 41.949999999999996). A value in another form
 * (exponent, more digits) or an overflow moves the accumulator to compensated
 * floating point for good ("inexact"), which is still close but no longer
 * order-independent.
 *
 * Plain values, no allocation; not thread-safe (one per group and thread). */
#ifndef CP_EXACT_H
#define CP_EXACT_H

#include <stddef.h>
#include <stdint.h>

#include "out.h"
#include "sketch.h"

typedef struct {
    __int128 m;                /* value = m / 10^scale */
    int scale;
} cp_dec;

/* Writes a 128-bit integer in decimal. */
void cp_i128_out(mk_out *o, __int128 v);

/* 1 if p[0..n) is a plain decimal that fits, 0 otherwise. */
int cp_dec_parse(const char *p, size_t n, cp_dec *out);

typedef struct {
    __int128 sum;              /* exact part, scaled by 10^scale */
    int scale, inexact;
    double dsum, dcomp;        /* compensated part, once inexact */
} cp_xsum;

/* dv: the exact form of d, or NULL when d has none. */
void cp_xsum_add(cp_xsum *s, const cp_dec *dv, double d);
/* Adds dv exactly and returns 1; or returns 0 and changes nothing when the
 * sum is inexact or would overflow (then cp_xsum_add(s, NULL, d) goes on).
 * Lets the hot path skip making the double of every value. Inline for the
 * common case, one scale throughout: it runs for every value summed. */
int cp_xsum_add_rescaled(cp_xsum *s, const cp_dec *dv);
static inline int cp_xsum_add_exact(cp_xsum *s, const cp_dec *dv)
{
    __int128 r;
    if (s->inexact || s->scale != dv->scale)
        return cp_xsum_add_rescaled(s, dv);
    if (__builtin_add_overflow(s->sum, dv->m, &r))
        return 0;
    s->sum = r;
    return 1;
}
void cp_xsum_merge(cp_xsum *dst, const cp_xsum *src);
double cp_xsum_value(const cp_xsum *s);
/* The exact decimal when exact (trailing zeros dropped), else the shortest
 * double. Returns the length. */
size_t cp_xsum_format(const cp_xsum *s, char *buf, size_t cap);
void cp_xsum_save(const cp_xsum *s, mk_out *o);              /* "sum:scale:inexact:dsum:dcomp" */
int cp_xsum_load(cp_xsum *s, const char *p, size_t n);

typedef struct {
    uint64_t n;
    __int128 s1, s2;           /* sums of m and m^2, scaled by 10^scale and 10^2scale */
    int scale, inexact;
    mk_moments mo;             /* once inexact */
} cp_xvar;

void cp_xvar_add(cp_xvar *v, const cp_dec *dv, double d);
/* As cp_xsum_add_exact: 1 when added exactly, else 0 and nothing changed. */
int cp_xvar_add_exact(cp_xvar *v, const cp_dec *dv);
void cp_xvar_merge(cp_xvar *dst, const cp_xvar *src);
double cp_xvar_variance(const cp_xvar *v);   /* sample (n-1); NaN when n < 2 */
void cp_xvar_save(const cp_xvar *v, mk_out *o);
int cp_xvar_load(cp_xvar *v, const char *p, size_t n);

#endif
