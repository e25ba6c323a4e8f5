/* graph — the directed graph cyclefind works on, read and then frozen.
 *
 * Reading: node names are interned (any byte string; "007" and "7" are
 * different nodes), edges go into a flat array of (src, dst) ids plus, once
 * any edge has one, a parallel array of label ids. Memory grows with nodes
 * and edges, never with the input's size: comments, blank lines and
 * repeated names cost nothing.
 *
 * Freezing renumbers the nodes by the byte order of their names and builds
 * compressed adjacency (off[v] .. off[v+1] in adj/lab, sorted by target and
 * then label name). Every algorithm downstream walks nodes and neighbours in
 * that order, so the output depends only on the set of edges, never on the
 * order of the input lines. Unless parallel edges are kept (--multi), a
 * repeated (src, dst) collapses to its first edge in that order.
 *
 * Ownership: the graph owns everything; strings from cf_name()/cf_label()
 * stay valid until cf_graph_free(). Single-threaded. */
#ifndef CF_GRAPH_H
#define CF_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "intern.h"
#include "source.h"
#include "vec.h"

#define CF_NONE UINT32_MAX

typedef struct {
    uint32_t s, d;             /* source and target: intern ids while reading */
} cf_edge;

typedef struct cf_graph {
    mk_intern names, labels;
    mk_vec edges;              /* reading: cf_edge */
    mk_vec elab;               /* reading: uint32_t label id per edge (CF_NONE = none) */
    uint64_t skipped;          /* malformed lines skipped (--lenient) */

    /* frozen */
    uint32_t n;                /* nodes frozen: all, or those of the part */
    uint64_t m;                /* adjacency entries */
    uint32_t n_all;            /* nodes read */
    uint64_t m_all;            /* adjacency entries of the whole graph */
    uint32_t ncomp_all;        /* components of the whole graph, when a part was frozen */
    uint64_t *off;             /* n + 1 */
    uint32_t *adj;             /* m targets */
    uint32_t *lab;             /* m label ranks, or NULL when no edge has a label */
    uint32_t *node_id;         /* node -> intern id of its name */
    uint32_t *lab_id;          /* label rank -> intern id */
    uint64_t edges_read, duplicates, self_loops;
} cf_graph;

void cf_graph_init(cf_graph *g);
void cf_graph_free(cf_graph *g);

/* Read one input (edge list or DOT, told apart by content) into g; -1 with
 * "NAME:LINE: ..." in mk_err on malformed input (or, lenient, malformed
 * edge-list lines are skipped and counted in g->skipped). The caller owns
 * and closes src. */
int cf_graph_read(cf_graph *g, mk_source *src, int lenient);

/* Building blocks for the readers. */
uint32_t cf_graph_node(cf_graph *g, const char *s, size_t n);
uint32_t cf_graph_label(cf_graph *g, const char *s, size_t n);
void cf_graph_edge(cf_graph *g, uint32_t s, uint32_t d, uint32_t label);

/* Renumber and build adjacency; multi keeps parallel edges. Reading ends. */
void cf_graph_freeze(cf_graph *g, int multi);
/* The same for a part of the graph: the nodes whose class cls[intern id]
 * is not 0, and the edges between nodes of one class. Node numbers still
 * follow name order; duplicates and self_loops count the part only (the
 * caller that knows the whole sets them). scratch, when not NULL, has room
 * for a uint32_t a node read and is used instead of allocating. */
void cf_graph_freeze_part(cf_graph *g, int multi, const uint32_t *cls, uint32_t *scratch);
/* Sorts each list off[v] .. off[v+1] of adj by target and counts the
 * repeated targets and the self-loops (each parallel one too when multi):
 * the summary's figures for a graph built some other way. */
void cf_count_repeats(const uint64_t *off, uint32_t *adj, uint32_t n, int multi, uint64_t *dup,
                      uint64_t *loops);

const char *cf_name(const cf_graph *g, uint32_t v, size_t *len);
/* Before writing the names of list v[0..n) in turn: call at each i, and the
 * names a little further on are fetched while the current one is written. */
void cf_name_prefetch(const cf_graph *g, const uint32_t *v, size_t i, size_t n);
const char *cf_label(const cf_graph *g, uint32_t l, size_t *len);   /* NULL for CF_NONE */
/* The frozen node of a name: 1 and *v, or 0. */
int cf_find(const cf_graph *g, const char *s, size_t n, uint32_t *v);

#endif
