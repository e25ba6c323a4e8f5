/* cyclefind — strongly connected components and concrete reference-cycle
 * chains in big directed graphs.
 *
 * Flow: options → every input (edge list or DOT; plain, zstd or gzip) read
 * into one graph → frozen into sorted adjacency (node ids in name order, so
 * output never depends on input order) → components (iterative) → for each
 * cyclic component one shortest cycle as a chain, and on request every
 * elementary cycle, reachability from --from or --roots, a topological
 * order, or the edges that break the cycles → text, TSV, CSV, JSON, NDJSON
 * or DOT. Exit 1 when a cycle exists, 0 when none, 2 on bad input. */
#include "cli.h"
#include "core.h"
#include "cycles.h"
#include "err.h"
#include "fas.h"
#include "graph.h"
#include "out.h"
#include "progress.h"
#include "scc.h"
#include "source.h"
#include "text.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- options ---------------------------------------------------------------------- */

static int all_cycles, topo, do_break, multi, context, count_only;
static uint64_t max_length, limit, members_shown = 20;
static mk_vec from_names, root_names;   /* char * each */
static mk_cli cli;

/* --from and --roots take node names whole: names may hold commas. */
static int add_name(const mk_opt *o, const char *val, void *ctx)
{
    (void)ctx;
    *(char **)mk_vec_push(o->dst) = mk_xstrdup(val);
    return 0;
}

static const mk_opt opts[] = {
    { "all-cycles", 0, MK_ARG_FLAG, &all_cycles, NULL, "list every elementary cycle (Johnson's algorithm)" },
    { "max-length", 0, MK_ARG_UINT, &max_length, "L", "--all-cycles: only cycles of at most L edges "
      "(0 = any)", NULL, "0" },
    { "limit", 0, MK_ARG_UINT, &limit, "N", "--all-cycles: stop after N cycles (0 = no limit)", NULL, "0" },
    { "count", 0, MK_ARG_FLAG, &count_only, NULL, "--all-cycles: count the cycles, do not list them" },
    { "from", 0, MK_ARG_STR, &from_names, "NODE", "only cycles through NODE and those reachable from it "
      "(repeatable)", NULL, NULL, add_name },
    { "roots", 0, MK_ARG_STR, &root_names, "NODE|@FILE", "split cycles into reachable from these roots and "
      "cyclic garbage (repeatable; @FILE: one name a line)", NULL, NULL, add_name },
    { "topo", 0, MK_ARG_FLAG, &topo, NULL, "print a topological order when the graph is acyclic" },
    { "break", 0, MK_ARG_FLAG, &do_break, NULL, "per cyclic component, edges whose removal breaks every "
      "cycle (the references to make weak)" },
    { "multi", 0, MK_ARG_FLAG, &multi, NULL, "keep parallel edges apart (each counts as its own cycle)" },
    { "context", 0, MK_ARG_FLAG, &context, NULL, "-f dot: the whole graph, cycles highlighted" },
    { "members", 0, MK_ARG_UINT, &members_shown, "N", "text: list at most N members per component "
      "(0 = all)", NULL, "20" },
    { 0 },
};

static const mk_cli_spec spec = {
    "cyclefind", "[OPTIONS] [FILE...]",
    "Strongly connected components and concrete reference-cycle chains in directed graphs.",
    "Input: edge lists (SRC DST [LABEL...] per line, # comments) or DOT digraphs,\n"
    "plain, zstd or gzip; several files are one graph.\n"
    "\n"
    "Exit status: 0 no cycle; 1 a cycle exists (or, with --topo, no order);\n"
    "2 bad usage or input.\n"
    "\n"
    "Examples:\n"
    "  refwatch --graph app.log | cyclefind\n"
    "  cyclefind --from 0x7f3a10 heap.edges\n"
    "  cyclefind --roots @roots.txt --break heap.edges\n"
    "  cyclefind -f dot deps.dot | dot -Tsvg > cycles.svg",
    opts, MK_STD_CONFIG | MK_STD_FORMAT | MK_STD_OUTPUT | MK_STD_QUIET | MK_STD_STATS | MK_STD_LENIENT,
    NULL, NULL, "dot",
};

/* ---- state ------------------------------------------------------------------------- */

static cf_graph g;
static cf_sccs sc;
static cf_bfs bfs;
static uint8_t *want;          /* cyclic component shown (selection by --from) */
static uint8_t *reachable;     /* cyclic component reachable from --roots */
static uint32_t *start;        /* cyclic component -> node its chain starts at */
static mk_vec chain, chain_labs, cut;
static uint32_t nroots;

/* ---- names ---------------------------------------------------------------------------- */

static uint32_t node_or_die(const char *name, const char *opt)
{
    uint32_t v;
    if (cf_find(&g, name, strlen(name), &v))
        return v;
    /* Suggest a near name on graphs small enough to scan. */
    if (g.n <= 100000) {
        const char **c = mk_xmalloc((g.n ? g.n : 1) * sizeof *c);
        for (uint32_t i = 0; i < g.n; i++)
            c[i] = cf_name(&g, i, NULL);
        int k = mk_nearest(name, strlen(name), c, g.n);
        if (k >= 0)
            mk_die("unknown node '%s' (%s); did you mean '%s'?", name, opt, c[k]);
        free(c);
    }
    mk_die("unknown node '%s' (%s)", name, opt);
}

static void load_roots(mk_vec *ids)
{
    char **v = mk_vec_data(&root_names);
    for (size_t i = 0; i < mk_vec_len(&root_names); i++) {
        if (v[i][0] != '@') {
            uint32_t id;
            if (cf_find(&g, v[i], strlen(v[i]), &id))
                *(uint32_t *)mk_vec_push(ids) = id;
            else if (!cli.quiet)
                mk_warn("root '%s' is not a node of the graph", v[i]);
            nroots++;
            continue;
        }
        mk_source *src = mk_source_open(v[i] + 1);
        if (!src)
            mk_die_err();
        /* One name a line, blanks around it dropped; # comments. */
        mk_vec buf;
        mk_vec_init(&buf, 1);
        char tmp[65536];
        ssize_t r;
        while ((r = mk_source_read(src, tmp, sizeof tmp)) > 0)
            mk_vec_append(&buf, tmp, (size_t)r);
        if (r < 0)
            mk_die_err();
        mk_source_close(src);
        char *p = mk_vec_data(&buf), *end = p + mk_vec_len(&buf);
        uint64_t missing = 0;
        while (p && p < end) {
            char *eol = memchr(p, '\n', (size_t)(end - p));
            char *e = eol ? eol : end;
            char *a = p;
            while (a < e && (*a == ' ' || *a == '\t'))
                a++;
            while (e > a && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
                e--;
            if (a < e && *a != '#') {
                uint32_t id;
                nroots++;
                if (cf_find(&g, a, (size_t)(e - a), &id))
                    *(uint32_t *)mk_vec_push(ids) = id;
                else
                    missing++;
            }
            p = eol ? eol + 1 : end;
        }
        if (missing && !cli.quiet)
            mk_warn("%s: %llu %s not %s of the graph", v[i] + 1, (unsigned long long)missing,
                    missing == 1 ? "root is" : "roots are", missing == 1 ? "a node" : "nodes");
        mk_vec_free(&buf);
    }
}

/* Which cyclic components hold a marked node. */
static void mark_components(const uint8_t *mark, uint8_t *out)
{
    for (uint32_t i = 0; i < sc.ncyclic; i++)
        out[i] = mark[sc.members[sc.moff[i]]];
}

/* ---- output helpers ------------------------------------------------------------------ */

static void name_text(mk_out *o, uint32_t v)
{
    size_t n;
    const char *s = cf_name(&g, v, &n);
    mk_out_write(o, s, n);
}

static void name_json(mk_out *o, uint32_t v)
{
    size_t n;
    const char *s = cf_name(&g, v, &n);
    mk_out_json_str(o, s, n);
}

static void label_json(mk_out *o, uint32_t l)
{
    size_t n;
    const char *s = cf_label(&g, l, &n);
    if (s)
        mk_out_json_str(o, s, n);
    else
        mk_out_str(o, "null");
}

/* "A -[next]-> B -> A" into o: k + 1 nodes (the last = the first). */
static void chain_text(mk_out *o, const uint32_t *nodes, const uint32_t *labs, size_t k, int closed)
{
    for (size_t i = 0; i < k; i++) {
        name_text(o, nodes[i]);
        size_t n;
        const char *l = cf_label(&g, labs[i], &n);
        if (l) {
            mk_out_str(o, " -[");
            mk_out_write(o, l, n);
            mk_out_str(o, "]-> ");
        } else {
            mk_out_str(o, " -> ");
        }
    }
    name_text(o, closed ? nodes[0] : nodes[k]);
}

static void json_names(mk_out *o, const uint32_t *v, size_t k, int close)
{
    mk_out_char(o, '[');
    for (size_t i = 0; i < k; i++) {
        if (i)
            mk_out_char(o, ',');
        cf_name_prefetch(&g, v, i, k);
        name_json(o, v[i]);
    }
    if (close) {
        if (k)
            mk_out_char(o, ',');
        name_json(o, v[0]);
    }
    mk_out_char(o, ']');
}

static void json_labels(mk_out *o, const uint32_t *l, size_t k)
{
    mk_out_char(o, '[');
    for (size_t i = 0; i < k; i++) {
        if (i)
            mk_out_char(o, ',');
        label_json(o, l[i]);
    }
    mk_out_char(o, ']');
}

static void field(mk_out *o, const char *p, size_t n)
{
    if (cli.format == MK_FMT_TSV)
        mk_out_tsv_field(o, p, n);
    else
        mk_out_csv_field(o, p, n, ',');
}

static void sep(mk_out *o)
{
    mk_out_char(o, cli.format == MK_FMT_TSV ? '\t' : ',');
}

/* A field made by writing into a memory writer first (chains, lists). */
static mk_out *scratch;

static void scratch_field(mk_out *o)
{
    size_t n;
    const char *p = mk_out_mem(scratch, &n);
    field(o, p, n);
    mk_out_mem_reset(scratch);
}

/* ---- per component --------------------------------------------------------------------- */

/* The chain of cyclic component i into chain/chain_labs. */
static void component_chain(uint32_t i)
{
    int several = sc.moff[i + 1] - sc.moff[i] > 1;
    if (!cf_shortest_cycle(&g, sc.comp, several, start[i], &bfs, &chain, &chain_labs))
        mk_die("internal error: no cycle through a node of a cyclic component");
}

static void component_break(uint32_t i)
{
    mk_vec_clear(&cut);
    cf_break(&g, &sc, i, &cut);
}

/* The source node of adjacency position p (binary search over off). */
static uint32_t edge_source(uint64_t p)
{
    uint32_t lo = 0, hi = g.n;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (g.off[mid] <= p)
            lo = mid;
        else
            hi = mid;
    }
    while (lo + 1 < g.n && g.off[lo + 1] <= p)   /* skip nodes without edges */
        lo++;
    return lo;
}

static void edge_text(mk_out *o, uint64_t p)
{
    uint32_t u = edge_source(p), l = g.lab ? g.lab[p] : CF_NONE;
    chain_text(o, (uint32_t[]){ u, g.adj[p] }, &l, 1, 0);
}

/* ---- text ---------------------------------------------------------------------------- */

static const char *plural(uint64_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

static uint64_t shown_sccs, shown_nodes, garbage_sccs, garbage_nodes, largest;

static void summary_text(mk_out *o)
{
    mk_out_printf(o, "%u %s, %llu %s", g.n_all, plural(g.n_all, "node", "nodes"), (unsigned long long)g.edges_read,
                  plural(g.edges_read, "edge", "edges"));
    if (g.duplicates)
        mk_out_printf(o, " (%llu %s)", (unsigned long long)g.duplicates,
                      plural(g.duplicates, "repeats an earlier one", "repeat earlier ones"));
    mk_out_printf(o, ", %llu %s\n", (unsigned long long)g.self_loops, plural(g.self_loops, "self-loop",
                                                                             "self-loops"));
    if (!shown_sccs) {
        mk_out_str(o, mk_vec_len(&from_names) ? "no cycles reachable from --from\n" : "no cycles\n");
        return;
    }
    mk_out_printf(o, "%llu cyclic %s, %llu %s in cycles, largest %llu\n", (unsigned long long)shown_sccs,
                  plural(shown_sccs, "component", "components"), (unsigned long long)shown_nodes,
                  plural(shown_nodes, "node", "nodes"), (unsigned long long)largest);
    if (reachable)
        mk_out_printf(o, "cyclic garbage: %llu %s, %llu %s unreachable from %u %s\n",
                      (unsigned long long)garbage_sccs, plural(garbage_sccs, "component", "components"),
                      (unsigned long long)garbage_nodes, plural(garbage_nodes, "node", "nodes"), nroots,
                      plural(nroots, "root", "roots"));
}

static void components_text(mk_out *o)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < sc.ncyclic; i++) {
        if (!want[i])
            continue;
        uint64_t size = sc.moff[i + 1] - sc.moff[i];
        mk_out_printf(o, "\ncomponent %u: %llu %s", ++k, (unsigned long long)size, plural(size, "node", "nodes"));
        if (reachable)
            mk_out_str(o, reachable[i] ? ", reachable from the roots" : ", cyclic garbage (unreachable from "
                       "the roots)");
        mk_out_str(o, "\n  members: ");
        uint64_t shown = members_shown && size > members_shown ? members_shown : size;
        for (uint64_t j = 0; j < shown; j++) {
            if (j)
                mk_out_char(o, ' ');
            name_text(o, sc.members[sc.moff[i] + j]);
        }
        if (shown < size)
            mk_out_printf(o, " ... and %llu more (--members 0 lists all)", (unsigned long long)(size - shown));
        component_chain(i);
        mk_out_str(o, "\n  cycle:   ");
        chain_text(o, mk_vec_data(&chain), mk_vec_data(&chain_labs), mk_vec_len(&chain_labs), 0);
        if (do_break) {
            component_break(i);
            mk_out_printf(o, "\n  break:   make %s weak:", plural(mk_vec_len(&cut), "this reference",
                                                                  "these references"));
            const uint64_t *c = mk_vec_data(&cut);
            for (size_t j = 0; j < mk_vec_len(&cut); j++) {
                mk_out_str(o, "\n           ");
                edge_text(o, c[j]);
            }
        }
        mk_out_char(o, '\n');
    }
}

/* ---- JSON ---------------------------------------------------------------------------- */

static void summary_json(mk_out *o)
{
    mk_out_printf(o, "\"nodes\":%u,\"edges\":%llu,\"duplicate_edges\":%llu,\"self_loops\":%llu,"
                  "\"cyclic_sccs\":%llu,\"nodes_in_cycles\":%llu,\"largest_scc\":%llu", g.n_all,
                  (unsigned long long)g.edges_read, (unsigned long long)g.duplicates,
                  (unsigned long long)g.self_loops, (unsigned long long)shown_sccs,
                  (unsigned long long)shown_nodes, (unsigned long long)largest);
    if (reachable)
        mk_out_printf(o, ",\"roots\":%u,\"garbage_sccs\":%llu,\"garbage_nodes\":%llu", nroots,
                      (unsigned long long)garbage_sccs, (unsigned long long)garbage_nodes);
}

static void component_json(mk_out *o, uint32_t i, uint32_t k)
{
    uint64_t size = sc.moff[i + 1] - sc.moff[i];
    mk_out_printf(o, "{\"scc\":%u,\"size\":%llu,\"members\":", k, (unsigned long long)size);
    json_names(o, sc.members + sc.moff[i], size, 0);
    component_chain(i);
    mk_out_str(o, ",\"cycle\":");
    json_names(o, mk_vec_data(&chain), mk_vec_len(&chain), 0);
    mk_out_str(o, ",\"labels\":");
    json_labels(o, mk_vec_data(&chain_labs), mk_vec_len(&chain_labs));
    if (reachable)
        mk_out_printf(o, ",\"reachable\":%s", reachable[i] ? "true" : "false");
    if (do_break) {
        component_break(i);
        mk_out_str(o, ",\"break\":[");
        const uint64_t *c = mk_vec_data(&cut);
        for (size_t j = 0; j < mk_vec_len(&cut); j++) {
            mk_out_str(o, j ? ",{\"src\":" : "{\"src\":");
            name_json(o, edge_source(c[j]));
            mk_out_str(o, ",\"dst\":");
            name_json(o, g.adj[c[j]]);
            mk_out_str(o, ",\"label\":");
            label_json(o, g.lab ? g.lab[c[j]] : CF_NONE);
            mk_out_char(o, '}');
        }
        mk_out_char(o, ']');
    }
    mk_out_char(o, '}');
}

/* ---- cycles (--all-cycles), written as they are found ----------------------------- */

typedef struct {
    mk_out *o;
    uint64_t n;
} emit_ctx;

static int emit_cycle(void *ctx, const uint32_t *nodes, const uint32_t *labs, size_t k)
{
    emit_ctx *e = ctx;
    mk_out *o = e->o;
    e->n++;
    switch (cli.format) {
    case MK_FMT_TEXT:
        mk_out_str(o, "  ");
        chain_text(o, nodes, labs, k, 1);
        mk_out_char(o, '\n');
        break;
    case MK_FMT_JSON:
        if (e->n > 1)
            mk_out_char(o, ',');
        json_names(o, nodes, k, 1);
        break;
    case MK_FMT_NDJSON:
        mk_out_str(o, "{\"cycle\":");
        json_names(o, nodes, k, 1);
        mk_out_str(o, ",\"labels\":");
        json_labels(o, labs, k);
        mk_out_str(o, "}\n");
        break;
    default:
        mk_out_printf(o, "%llu", (unsigned long long)e->n);
        sep(o);
        mk_out_printf(o, "%zu", k);
        sep(o);
        chain_text(scratch, nodes, labs, k, 1);
        scratch_field(o);
        mk_out_char(o, '\n');
        break;
    }
    return 0;
}

static uint64_t run_cycles(mk_out *o, int *truncated)
{
    emit_ctx e = { o, 0 };
    cf_cycles_opts co = { limit, (uint32_t)(max_length > UINT32_MAX ? UINT32_MAX : max_length), multi,
                          count_only ? NULL : emit_cycle, &e };
    return cf_all_cycles(&g, &sc, want, &co, truncated);
}

/* ---- the reports ---------------------------------------------------------------------- */

static int report_text(mk_out *o, const uint32_t *order)
{
    if (order) {
        for (uint32_t i = 0; i < g.n; i++) {
            name_text(o, order[i]);
            mk_out_char(o, '\n');
        }
        return 0;
    }
    summary_text(o);
    components_text(o);
    if (all_cycles) {
        int trunc;
        if (!count_only)
            mk_out_str(o, "\ncycles:\n");
        uint64_t n = run_cycles(o, &trunc);
        mk_out_printf(o, "%s%llu %s%s\n", count_only ? "\n" : "", (unsigned long long)n,
                      plural(n, "elementary cycle", "elementary cycles"),
                      trunc ? " (stopped at --limit; there are more)" : "");
        return n > 0;
    }
    return shown_sccs > 0;
}

static int report_json(mk_out *o, const uint32_t *order)
{
    mk_out_char(o, '{');
    summary_json(o);
    if (topo) {
        mk_out_printf(o, ",\"acyclic\":%s,\"order\":", order ? "true" : "false");
        if (order)
            json_names(o, order, g.n, 0);
        else
            mk_out_str(o, "null");
    }
    mk_out_str(o, ",\"sccs\":[");
    uint32_t k = 0;
    for (uint32_t i = 0; i < sc.ncyclic; i++)
        if (want[i]) {
            if (k)
                mk_out_char(o, ',');
            component_json(o, i, ++k);
        }
    mk_out_char(o, ']');
    int rc = shown_sccs > 0;
    if (all_cycles) {
        int trunc;
        if (!count_only)
            mk_out_str(o, ",\"cycles\":[");
        uint64_t n = run_cycles(o, &trunc);
        if (!count_only)
            mk_out_char(o, ']');
        mk_out_printf(o, ",\"cycles_total\":%llu,\"truncated\":%s", (unsigned long long)n,
                      trunc ? "true" : "false");
        rc = n > 0;
    }
    mk_out_str(o, "}\n");
    return rc;
}

static int report_ndjson(mk_out *o, const uint32_t *order)
{
    mk_out_char(o, '{');
    summary_json(o);
    mk_out_str(o, "}\n");
    if (order)
        for (uint32_t i = 0; i < g.n; i++) {
            mk_out_printf(o, "{\"position\":%u,\"node\":", i + 1);
            name_json(o, order[i]);
            mk_out_str(o, "}\n");
        }
    uint32_t k = 0;
    for (uint32_t i = 0; i < sc.ncyclic; i++)
        if (want[i]) {
            component_json(o, i, ++k);
            mk_out_char(o, '\n');
        }
    if (all_cycles) {
        int trunc;
        uint64_t n = run_cycles(o, &trunc);
        mk_out_printf(o, "{\"cycles_total\":%llu,\"truncated\":%s}\n", (unsigned long long)n,
                      trunc ? "true" : "false");
        return n > 0;
    }
    return shown_sccs > 0;
}

/* TSV/CSV: one table. Cycles with --all-cycles, the order with --topo on
 * an acyclic graph, else one row per cyclic component. */
static int report_table(mk_out *o, const uint32_t *order)
{
    const char *const *cols;
    static const char *const ccols[] = { "cycle", "length", "chain", NULL };
    static const char *const ocols[] = { "position", "node", NULL };
    static const char *const scols[] = { "scc", "size", "cycle_length", "cycle", "members", NULL };
    cols = all_cycles ? ccols : order ? ocols : scols;
    for (size_t i = 0; cols[i]; i++) {
        if (i)
            sep(o);
        mk_out_str(o, cols[i]);
    }
    if (!all_cycles && !order) {
        if (reachable) {
            sep(o);
            mk_out_str(o, "reachable");
        }
        if (do_break) {
            sep(o);
            mk_out_str(o, "break");
        }
    }
    mk_out_char(o, '\n');
    if (all_cycles) {
        int trunc;
        return run_cycles(o, &trunc) > 0;
    }
    if (order) {
        for (uint32_t i = 0; i < g.n; i++) {
            mk_out_printf(o, "%u", i + 1);
            sep(o);
            name_text(scratch, order[i]);
            scratch_field(o);
            mk_out_char(o, '\n');
        }
        return 0;
    }
    uint32_t k = 0;
    for (uint32_t i = 0; i < sc.ncyclic; i++) {
        if (!want[i])
            continue;
        uint64_t size = sc.moff[i + 1] - sc.moff[i];
        component_chain(i);
        mk_out_printf(o, "%u", ++k);
        sep(o);
        mk_out_printf(o, "%llu", (unsigned long long)size);
        sep(o);
        mk_out_printf(o, "%zu", mk_vec_len(&chain_labs));
        sep(o);
        chain_text(scratch, mk_vec_data(&chain), mk_vec_data(&chain_labs), mk_vec_len(&chain_labs), 0);
        scratch_field(o);
        sep(o);
        for (uint64_t j = 0; j < size; j++) {
            if (j)
                mk_out_char(scratch, ' ');
            cf_name_prefetch(&g, sc.members + sc.moff[i], j, size);
            name_text(scratch, sc.members[sc.moff[i] + j]);
        }
        scratch_field(o);
        if (reachable) {
            sep(o);
            mk_out_str(o, reachable[i] ? "yes" : "no");
        }
        if (do_break) {
            component_break(i);
            sep(o);
            const uint64_t *c = mk_vec_data(&cut);
            for (size_t j = 0; j < mk_vec_len(&cut); j++) {
                if (j)
                    mk_out_str(scratch, "; ");
                edge_text(scratch, c[j]);
            }
            scratch_field(o);
        }
        mk_out_char(o, '\n');
    }
    return shown_sccs > 0;
}

/* ---- DOT ----------------------------------------------------------------------------- */

static void dot_id(mk_out *o, const char *s, size_t n)
{
    mk_out_char(o, '"');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            mk_out_char(o, '\\');
        mk_out_char(o, s[i]);
    }
    /* A trailing backslash would escape the closing quote. */
    if (n && s[n - 1] == '\\')
        mk_out_char(o, ' ');
    mk_out_char(o, '"');
}

static void dot_node(mk_out *o, uint32_t v)
{
    size_t n;
    const char *s = cf_name(&g, v, &n);
    dot_id(o, s, n);
}

/* The cyclic components (or, with --context, the whole graph), each in a
 * cluster, the chain of each drawn red and thick. */
static int report_dot(mk_out *o)
{
    uint32_t *cyc = mk_xmalloc((g.n ? g.n : 1) * sizeof *cyc);   /* node -> shown component + 1 */
    memset(cyc, 0, (g.n ? g.n : 1) * sizeof *cyc);
    uint8_t *hot = mk_xcalloc(g.m ? g.m : 1, 1);                   /* chain edges */
    for (uint32_t i = 0; i < sc.ncyclic; i++) {
        if (!want[i])
            continue;
        for (uint64_t j = sc.moff[i]; j < sc.moff[i + 1]; j++)
            cyc[sc.members[j]] = i + 1;
        component_chain(i);
        const uint32_t *c = mk_vec_data(&chain);
        for (size_t j = 0; j + 1 < mk_vec_len(&chain); j++) {
            uint64_t lo, hi;
            cf_edge_range(&g, c[j], c[j + 1], &lo, &hi);
            if (lo < hi)
                hot[lo] = 1;
        }
    }
    mk_out_str(o, "digraph cycles {\n  node [shape=box, fontname=\"Helvetica\"];\n");
    uint32_t k = 0;
    for (uint32_t i = 0; i < sc.ncyclic; i++) {
        if (!want[i])
            continue;
        uint64_t size = sc.moff[i + 1] - sc.moff[i];
        mk_out_printf(o, "  subgraph cluster_%u {\n    label=\"component %u: %llu %s%s\";\n"
                      "    color=\"#cc3333\";\n", k + 1, k + 1, (unsigned long long)size,
                      plural(size, "node", "nodes"),
                      reachable && !reachable[i] ? ", cyclic garbage" : "");
        k++;
        for (uint64_t j = sc.moff[i]; j < sc.moff[i + 1]; j++) {
            mk_out_str(o, "    ");
            dot_node(o, sc.members[j]);
            mk_out_str(o, ";\n");
        }
        mk_out_str(o, "  }\n");
    }
    for (uint32_t u = 0; u < g.n; u++) {
        if (!context && !cyc[u])
            continue;
        if (context && g.off[u] == g.off[u + 1] && !cyc[u]) {
            mk_out_str(o, "  ");   /* isolated nodes keep their place */
            dot_node(o, u);
            mk_out_str(o, ";\n");
        }
        for (uint64_t p = g.off[u]; p < g.off[u + 1]; p++) {
            uint32_t w = g.adj[p];
            int inside = cyc[u] && cyc[u] == cyc[w];
            if (!context && !inside)
                continue;
            mk_out_str(o, "  ");
            dot_node(o, u);
            mk_out_str(o, " -> ");
            dot_node(o, w);
            size_t ln;
            const char *l = cf_label(&g, g.lab ? g.lab[p] : CF_NONE, &ln);
            int attrs = l || hot[p] || (context && inside);
            if (attrs) {
                mk_out_str(o, " [");
                if (l) {
                    mk_out_str(o, "label=");
                    dot_id(o, l, ln);
                }
                if (hot[p])
                    mk_out_printf(o, "%scolor=\"#cc3333\", penwidth=2", l ? ", " : "");
                else if (context && inside)
                    mk_out_printf(o, "%scolor=\"#cc6666\"", l ? ", " : "");
                mk_out_char(o, ']');
            }
            mk_out_str(o, ";\n");
        }
    }
    mk_out_str(o, "}\n");
    free(cyc);
    free(hot);
    return shown_sccs > 0;
}

/* ---- main ---------------------------------------------------------------------------- */

static void read_inputs(char **files, int nfiles, mk_stats_counts *st)
{
    for (int i = 0; i < nfiles; i++) {
        mk_source *src = mk_source_open(files[i]);
        if (!src || cf_graph_read(&g, src, cli.lenient) < 0)
            mk_die_err();
        st->bytes_in += mk_source_in_pos(src);
        if (mk_source_close(src) < 0)
            mk_die_err();
    }
    if (g.skipped && !cli.quiet)
        mk_warn("skipped %llu malformed %s (--lenient)", (unsigned long long)g.skipped, g.skipped == 1 ? "line" : "lines");
    st->bad_records = g.skipped;
}

int main(int argc, char **argv)
{
    /* Big arrays from mmap, always: the edge array then grows by mremap,
     * without copying or faulting its pages in again, and glibc's moving
     * threshold cannot send it to the heap after a large free. */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    mk_vec_init(&from_names, sizeof(char *));
    mk_vec_init(&root_names, sizeof(char *));
    int first = mk_cli_parse(&cli, &spec, argc, argv);
    int nfiles;
    char **files = mk_cli_files(argc, argv, first, &nfiles);
    if ((max_length || limit || count_only) && !all_cycles)
        mk_cli_usage_error(&cli, "--max-length, --limit and --count go with --all-cycles");
    if (context && !cli.format_extra)
        mk_cli_usage_error(&cli, "--context goes with -f dot");

    mk_stats_counts st = { 0 };
    uint64_t t0 = mk_now_ns();
    cf_graph_init(&g);
    read_inputs(files, nfiles, &st);
    uint64_t t1 = mk_now_ns();
    /* Reports about cycles alone need only the cyclic core; reachability,
     * orders and context need every node. */
    int whole = topo || context || mk_vec_len(&from_names) || mk_vec_len(&root_names);
    if (whole || !cf_freeze_core(&g, multi))
        cf_graph_freeze(&g, multi);
    st.records = g.edges_read;
    uint64_t t2 = mk_now_ns();

    cf_scc(&g, &sc);
    uint64_t t3 = mk_now_ns();
    cf_bfs_init(&bfs, g.n);
    want = mk_xmalloc(sc.ncyclic ? sc.ncyclic : 1);
    memset(want, 1, sc.ncyclic ? sc.ncyclic : 1);
    start = mk_xmalloc((sc.ncyclic ? sc.ncyclic : 1) * sizeof *start);
    for (uint32_t i = 0; i < sc.ncyclic; i++)
        start[i] = sc.members[sc.moff[i]];
    uint8_t *mark = NULL;
    if (mk_vec_len(&from_names)) {
        mk_vec ids;
        mk_vec_init(&ids, sizeof(uint32_t));
        char **v = mk_vec_data(&from_names);
        for (size_t i = 0; i < mk_vec_len(&from_names); i++)
            *(uint32_t *)mk_vec_push(&ids) = node_or_die(v[i], "--from");
        mark = mk_xcalloc(g.n ? g.n : 1, 1);
        cf_reach(&g, mk_vec_data(&ids), mk_vec_len(&ids), mark, &bfs);
        mark_components(mark, want);
        /* The chain of a --from node's own component goes through it. */
        uint32_t *comp_index = mk_xmalloc((sc.ncomp ? sc.ncomp : 1) * sizeof *comp_index);
        for (uint32_t i = 0; i < sc.ncomp; i++)
            comp_index[i] = CF_NONE;
        for (uint32_t i = 0; i < sc.ncyclic; i++)
            comp_index[sc.cyc_comp[i]] = i;
        const uint32_t *id = mk_vec_data(&ids);
        for (size_t i = mk_vec_len(&ids); i-- > 0;) {
            uint32_t x = comp_index[sc.comp[id[i]]];
            if (x != CF_NONE)
                start[x] = id[i];
        }
        free(comp_index);
        mk_vec_free(&ids);
    }
    if (mk_vec_len(&root_names)) {
        mk_vec ids;
        mk_vec_init(&ids, sizeof(uint32_t));
        load_roots(&ids);
        if (!mark)
            mark = mk_xcalloc(g.n ? g.n : 1, 1);
        memset(mark, 0, g.n);
        cf_reach(&g, mk_vec_data(&ids), mk_vec_len(&ids), mark, &bfs);
        reachable = mk_xmalloc(sc.ncyclic ? sc.ncyclic : 1);
        mark_components(mark, reachable);
        mk_vec_free(&ids);
    }
    free(mark);
    for (uint32_t i = 0; i < sc.ncyclic; i++) {
        if (!want[i])
            continue;
        uint64_t size = sc.moff[i + 1] - sc.moff[i];
        shown_sccs++;
        shown_nodes += size;
        if (size > largest)
            largest = size;
        if (reachable && !reachable[i]) {
            garbage_sccs++;
            garbage_nodes += size;
        }
    }
    uint32_t *order = NULL;
    int acyclic = 1;
    if (topo) {
        order = mk_xmalloc((g.n ? g.n : 1) * sizeof *order);
        if (cf_topo(&g, order) < 0) {
            free(order);
            order = NULL;
            acyclic = 0;
            if (!cli.quiet)
                mk_warn("no topological order: the graph has %u cyclic %s (listed instead)", sc.ncyclic,
                        plural(sc.ncyclic, "component", "components"));
        }
    }

    mk_vec_init(&chain, sizeof(uint32_t));
    mk_vec_init(&chain_labs, sizeof(uint32_t));
    mk_vec_init(&cut, sizeof(uint64_t));
    scratch = mk_out_open_mem();
    mk_out *out = mk_out_open(cli.output);
    if (!out)
        mk_die_err();
    int rc;
    if (cli.format_extra)
        rc = report_dot(out);
    else if (cli.format == MK_FMT_JSON)
        rc = report_json(out, order);
    else if (cli.format == MK_FMT_NDJSON)
        rc = report_ndjson(out, order);
    else if (cli.format == MK_FMT_TEXT)
        rc = report_text(out, order);
    else
        rc = report_table(out, order);
    if (topo)
        rc = !acyclic;
    st.bytes_out = mk_out_bytes(out);
    if (mk_out_close(out) < 0)
        mk_die_err();
    if (cli.stats) {
        mk_stats_print(&st);
        fprintf(stderr, "cyclefind: stats: %u nodes, %llu adjacency entries, %u components (%u cyclic)\n",
                g.n_all, (unsigned long long)g.m_all, g.ncomp_all ? g.ncomp_all : sc.ncomp, sc.ncyclic);
        if (g.n < g.n_all)
            fprintf(stderr, "cyclefind: stats: cyclic core frozen alone: %u nodes, %llu adjacency entries\n",
                    g.n, (unsigned long long)g.m);
        uint64_t t4 = mk_now_ns();
        fprintf(stderr, "cyclefind: stats: read %.3f s, sort and index %.3f s, components %.3f s, "
                "report %.3f s\n", (double)(t1 - t0) / 1e9, (double)(t2 - t1) / 1e9, (double)(t3 - t2) / 1e9,
                (double)(t4 - t3) / 1e9);
    }
    mk_out_close(scratch);
    free(order);
    free(want);
    free(start);
    free(reachable);
    mk_vec_free(&chain);
    mk_vec_free(&chain_labs);
    mk_vec_free(&cut);
    cf_bfs_free(&bfs);
    cf_sccs_free(&sc);
    cf_graph_free(&g);
    char **v = mk_vec_data(&from_names);
    for (size_t i = 0; i < mk_vec_len(&from_names); i++)
        free(v[i]);
    v = mk_vec_data(&root_names);
    for (size_t i = 0; i < mk_vec_len(&root_names); i++)
        free(v[i]);
    mk_vec_free(&from_names);
    mk_vec_free(&root_names);
    return rc ? MK_EXIT_FOUND : MK_EXIT_OK;
}
