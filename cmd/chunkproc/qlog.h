/* qlog — where --exact keeps the values of big quantile stores: one
 * unlinked spill file of binary chunks, shared by every thread.
 *
 * A store (the values of one quantile column in one group) keeps its values
 * in memory up to CP_QLOG_CHUNK; then they go to the log as one chunk,
 * [ref u32][n u32][n doubles], and the store keeps only its ref, the count
 * logged and their range. A ref names (store, group key) for the whole run:
 * every thread's table, spilled segment and partition that holds that
 * group's store gets the same ref, so the values of one group, wherever they
 * were logged, are the chunks carrying its ref. At the end the order
 * statistics each quantile needs are found by passes over the log
 * (lib/select, see cp_groups_resolve): the values never have to be in
 * memory at once, sorted, or written as text. Task C of the benchmark (p50
 * and p99 of 16.7 M latencies in 8 groups, -j 2) takes 0.78 s and 16 MB so;
 * it took 7.0 s and 80 MB when the values were kept in the tables and
 * spilled as text with them (hex floats: strtod was a quarter of the time).
 *
 * Thread-safe: ref and write take one lock, about once per 4096 values.
 * Scans (any number of threads) run while nobody writes. Writing never fails on
 * the spot: a temporary file that cannot be made, or a full disk, is
 * remembered and reported by cp_qlog_check and cp_qlog_scan. */
#ifndef CP_QLOG_H
#define CP_QLOG_H

#include <stddef.h>
#include <stdint.h>

typedef struct cp_qlog cp_qlog;

enum { CP_QLOG_CHUNK = 4096 };     /* values a store holds before they go to the log */

cp_qlog *cp_qlog_new(const char *tmpdir);
/* The ref of (store, key): the same for the same pair all run long; never 0. */
uint32_t cp_qlog_ref(cp_qlog *l, unsigned store, const char *key, size_t klen);
/* Refs handed out so far, plus one (refs are 1..n-1). */
uint32_t cp_qlog_nrefs(cp_qlog *l);
void cp_qlog_write(cp_qlog *l, uint32_t ref, const double *v, size_t n);
/* -1 with mk_err when writing failed so far. */
int cp_qlog_check(cp_qlog *l);

/* Scanning, so that several threads can share a pass: cp_qlog_begin
 * (one thread, nobody writing) gives the number of chunks written so far;
 * then any threads may scan ranges [from, to) of them at once, each chunk
 * in order, only those whose ref is wanted (want[ref] >= 0; NULL: all) —
 * the others are not read. -1 with mk_err on an error. */
typedef void (*cp_qlog_fn)(void *ctx, uint32_t ref, const double *v, size_t n);
int cp_qlog_begin(cp_qlog *l, size_t *chunks);
/* For --stats: a pass was shared by nt threads. */
void cp_qlog_shared(cp_qlog *l, unsigned nt);
int cp_qlog_scan(cp_qlog *l, size_t from, size_t to, const int32_t *want, cp_qlog_fn fn,
                 void *ctx);

typedef struct {
    uint64_t values;           /* values logged */
    uint64_t bytes;            /* bytes written */
    uint64_t scans;            /* passes over the log */
    unsigned threads;          /* most threads that shared a pass */
    uint32_t refs;             /* stores that used it */
} cp_qlog_stats;
void cp_qlog_stats_get(const cp_qlog *l, cp_qlog_stats *st);
void cp_qlog_free(cp_qlog *l);

#endif
