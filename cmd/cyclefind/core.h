/* core — freezing only the cyclic core of a graph that is mostly acyclic.
 *
 * Heap graphs and dependency graphs are mostly trees: of 2 M objects a few
 * thousand sit on cycles. Sorting every name and building name-ordered
 * adjacency for all of them (what cf_graph_freeze does, so that output
 * never depends on input order) is then most of the work. The partition
 * into components does not depend on numbering, so it is found first on
 * the nodes as read (intern ids), and only the nodes of cyclic components,
 * with the edges inside each, are frozen in name order. The components of
 * that part are exactly the cyclic ones of the whole graph, with the same
 * members, chains and cycles, so every report that looks only at cycles
 * prints the same bytes either way; those that look further (--topo,
 * --from, --roots, --context) need the whole graph.
 *
 * Whether it pays is decided from the degrees: when a quarter of the nodes
 * or more have no in-edges or no out-edges (and so lie on no cycle), the
 * part is likely small; otherwise (a random graph, one giant component)
 * the whole graph is frozen as before. CYCLEFIND_CORE=always or never
 * overrides the choice, for tests that compare the two ways.
 *
 * Memory: while it runs, 20 bytes a node and 4 an edge beside the graph.
 * Single-threaded. */
#ifndef CF_CORE_H
#define CF_CORE_H

#include "graph.h"

/* Freezes g to its cyclic core and returns 1 (g->n_all, m_all, ncomp_all,
 * duplicates and self_loops then describe the whole graph), or returns 0
 * having done nothing, when the reduction is not worth it. */
int cf_freeze_core(cf_graph *g, int multi);

#endif
