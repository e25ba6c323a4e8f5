/* scc — strongly connected components of a frozen graph, and the walks
 * cyclefind builds on them: a shortest cycle through a node, reachability
 * from a set of nodes, a topological order.
 *
 * Every algorithm here is iterative (explicit stacks on the heap), so a
 * path or ring of ten million nodes needs memory, never stack depth. All of
 * them visit nodes and neighbours in id order, so results depend only on the
 * graph (see graph.h), not on input order.
 *
 * Memory: cf_scc uses 4 bytes a node for the result plus, while it runs, a
 * 4-byte index, a bit and stack room (12 bytes a node on a deep path).
 * Single-threaded; results are owned by the struct and freed by cf_sccs_free. */
#ifndef CF_SCC_H
#define CF_SCC_H

#include <stdint.h>

#include "graph.h"
#include "vec.h"

typedef struct {
    uint32_t *comp;            /* node -> component (0 .. ncomp-1) */
    uint32_t ncomp;
    /* Cyclic components (more than one node, or a self-loop): largest
     * first, equal sizes by their smallest node. */
    uint32_t ncyclic;
    uint32_t *cyc_comp;        /* cyclic index -> component */
    uint64_t *moff;            /* ncyclic + 1: members of cyclic i are */
    uint32_t *members;         /* members[moff[i] .. moff[i+1]), ascending */
    uint64_t nodes_in_cycles;
} cf_sccs;

void cf_scc(const cf_graph *g, cf_sccs *s);
/* The same, its stacks in scratch when bytes holds 17 a node (memory that
 * is resident already: see mk_intern_seal_keep). */
void cf_scc_in(const cf_graph *g, cf_sccs *s, void *scratch, size_t bytes);
void cf_sccs_free(cf_sccs *s);

/* Scratch for breadth-first walks: reused, reset after each walk. */
typedef struct {
    uint32_t *parent;          /* n, CF_NONE = not reached */
    uint32_t *queue;           /* n */
} cf_bfs;

void cf_bfs_init(cf_bfs *b, uint32_t n);
void cf_bfs_free(cf_bfs *b);

/* A shortest cycle through s inside s's component, as nodes s .. s into
 * path (cleared first) and the label of each edge into labs (one fewer).
 * In a component of several nodes a self-loop on s is not taken, so the
 * chain shows how the objects reference each other. Returns 0 when s lies
 * on no cycle. */
int cf_shortest_cycle(const cf_graph *g, const uint32_t *comp, int several, uint32_t s, cf_bfs *b,
                      mk_vec *path, mk_vec *labs);

/* The label of the first edge u -> v (binary search; CF_NONE if none). */
uint32_t cf_edge_label(const cf_graph *g, uint32_t u, uint32_t v);
/* The adjacency positions of the edges u -> v: [*lo, *hi). */
void cf_edge_range(const cf_graph *g, uint32_t u, uint32_t v, uint64_t *lo, uint64_t *hi);

/* mark[v] = 1 for every node reachable from the k starts (themselves
 * included). mark has n bytes, zeroed by the caller. */
void cf_reach(const cf_graph *g, const uint32_t *starts, size_t k, uint8_t *mark, cf_bfs *b);

/* A topological order (smallest available node first, so the order is
 * unique); 0 and the order in out (n entries) when the graph is acyclic,
 * -1 when it is not. */
int cf_topo(const cf_graph *g, uint32_t *out);

#endif
