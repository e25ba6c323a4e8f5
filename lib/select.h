/* select — exact order statistics of more numbers than memory holds, by
 * reading them several times.
 *
 * For a multiset of n doubles the caller can stream again and again (a
 * spill file), mk_select finds the values at given 0-based ranks using a
 * bounded amount of memory: each pass counts the values of the still-open
 * key range into 4096 buckets, keeping only the bucket that holds the rank,
 * until that bucket holds at most `hold` values, which the last pass
 * collects and sorts. Doubles are compared through an order-preserving
 * 64-bit key, so a pass narrows the range 4096-fold and at most six passes
 * resolve any rank (fewer in practice: usually two). Several ranks share
 * the passes.
 *
 *     mk_select *s = mk_select_new(n, ranks, nranks, hold);
 *     while (!mk_select_done(s)) {
 *         for (each value v of the stream) mk_select_add(s, v);
 *         if (mk_select_end_pass(s) < 0) error;    // the stream changed
 *     }
 *     x = mk_select_value(s, i);
 *
 * Memory: 32 KiB per rank plus at most `hold` doubles per rank. NaN is not
 * a value here (callers never have one). One thread per mk_select; clones
 * let several threads share a pass. */
#ifndef MK_SELECT_H
#define MK_SELECT_H

#include <stddef.h>
#include <stdint.h>

typedef struct mk_select mk_select;

/* ranks[i] < n; hold >= 1. */
mk_select *mk_select_new(uint64_t n, const uint64_t *ranks, size_t nranks, size_t hold);
/* Every value lies in [lo, hi] (lo <= hi): the first pass then buckets that
 * range instead of every double (the top bits of a double are its sign and
 * exponent, so the full range splits data like latencies only by binade),
 * which usually saves a pass. Call before the first add; values outside
 * the bound make end_pass fail. */
void mk_select_bound(mk_select *s, double lo, double hi);
int mk_select_done(const mk_select *s);
void mk_select_add(mk_select *s, double v);
/* The same for n values at once: a loop per rank, not per value. */
void mk_select_add_n(mk_select *s, const double *v, size_t n);
/* Several threads in one pass: each feeds a clone of s (made at the start
 * of the pass, before any add) with its share of the values, and the
 * clones are merged back into s before mk_select_end_pass. */
mk_select *mk_select_clone(const mk_select *s);
void mk_select_merge(mk_select *s, const mk_select *clone);
/* -1 with mk_err when the pass saw other counts than n (the data changed). */
int mk_select_end_pass(mk_select *s);
double mk_select_value(const mk_select *s, size_t i);
/* Passes made so far. */
unsigned mk_select_passes(const mk_select *s);
void mk_select_free(mk_select *s);

#endif
