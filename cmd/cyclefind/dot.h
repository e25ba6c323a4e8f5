/* dot — the Graphviz DOT subset cyclefind reads: digraphs with node, edge,
 * attribute and subgraph statements.
 *
 * Edges come from `a -> b -> c` chains; a subgraph as an operand stands for
 * every node mentioned inside it (Graphviz's meaning), so `a -> {b c}` is
 * two edges. A `label` attribute on an edge statement labels its edges;
 * other attributes, ports and graph attributes are read and ignored.
 * Quoted ids keep their bytes, with \" and backslash-newline undone;
 * `"a" + "b"` concatenates; HTML ids <...> keep their text. Several graphs
 * in one input are read into one. An undirected graph is an error (its
 * cycles mean something else). Subgraphs nest at most 1000 deep.
 *
 * The parser works on the blocks of an mk_blocks stream, from the block the
 * format was recognised in; it releases every block it takes. Single-threaded. */
#ifndef CF_DOT_H
#define CF_DOT_H

#include "blocks.h"

struct cf_graph;

/* -1 with "NAME:LINE: ..." in mk_err on a syntax error. */
int cf_dot_read(struct cf_graph *g, mk_blocks *bl, mk_block *first, const char *name);

#endif
