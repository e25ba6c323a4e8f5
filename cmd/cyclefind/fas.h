/* fas — which references to make weak: a small feedback arc set per cyclic
 * component (--break).
 *
 * Eades, Lin and Smyth's greedy ordering ("A fast and effective heuristic
 * for the feedback arc set problem", 1993): peel sinks to the back and
 * sources to the front, otherwise move the node with the largest
 * out-degree minus in-degree to the front; the edges that point backwards
 * in the final order break every cycle, and there are at most m/2 - n/6 of
 * them. Self-loops are always in the set. When the component is small
 * enough (edges × set size under a budget), a second pass puts back each
 * edge whose return does not close a cycle, so the set is minimal (no edge
 * in it is redundant), though not always minimum (NP-hard).
 *
 * Linear time and memory in the component's size for the ordering.
 * Single-threaded. */
#ifndef CF_FAS_H
#define CF_FAS_H

#include <stdint.h>

#include "graph.h"
#include "scc.h"
#include "vec.h"

/* Adjacency positions of the edges to remove from cyclic component i
 * (every parallel copy of an edge), appended to out (uint64_t), ascending. */
void cf_break(const cf_graph *g, const cf_sccs *s, uint32_t i, mk_vec *out);

#endif
