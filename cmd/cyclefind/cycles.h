/* cycles — every elementary cycle of the chosen components (--all-cycles).
 *
 * Without a length bound this is Johnson's algorithm ("Finding all the
 * elementary circuits of a directed graph", 1975), run iteratively: for each
 * start node s in id order, cycles through s among the nodes of s's
 * component with ids >= s, with the blocked set and B-lists that keep each
 * dead end from being walked again. With --max-length L it is a depth-first
 * search pruned by each node's distance back to s (a breadth-first pass on
 * the reversed component), so no path that cannot close within L edges is
 * extended; Johnson's blocking is not valid under a bound.
 *
 * Cycles are node sequences: parallel edges are walked once. With multi,
 * each cycle is then expanded into one cycle per choice of parallel edge
 * (as igraph counts them), each with its own labels. Output order: by start
 * node, then depth-first in neighbour order, so it is reproducible.
 *
 * Memory: a few arrays of n entries and one B-list entry per blocked edge.
 * Single-threaded. */
#ifndef CF_CYCLES_H
#define CF_CYCLES_H

#include <stddef.h>
#include <stdint.h>

#include "graph.h"
#include "scc.h"

/* Called per cycle with nodes v0 .. vk-1 (the closing edge back to v0 is
 * implied) and the label of each of the k edges. Return nonzero to stop. */
typedef int (*cf_cycle_fn)(void *ctx, const uint32_t *nodes, const uint32_t *labs, size_t k);

typedef struct {
    uint64_t limit;            /* stop after this many cycles (0 = none) */
    uint32_t max_len;          /* only cycles of at most this many edges (0 = any) */
    int multi;
    cf_cycle_fn fn;            /* NULL: count only */
    void *ctx;
} cf_cycles_opts;

/* Enumerate the cycles of the cyclic components i with want[i] set (want
 * NULL = all). Returns how many were found; *truncated = 1 when the limit
 * (or fn) stopped it. */
uint64_t cf_all_cycles(const cf_graph *g, const cf_sccs *s, const uint8_t *want,
                       const cf_cycles_opts *o, int *truncated);

#endif
