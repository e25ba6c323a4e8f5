/* fuzz_cyclefind — the graph readers (edge lists and DOT) and every
 * algorithm behind cyclefind's reports.
 *
 * The input is read as a graph (lenient: junk lines are skipped; a DOT
 * syntax error just ends the case), frozen with and without parallel edges
 * kept apart, and then checked against the definitions rather than against
 * another implementation: the components partition the nodes; a component
 * is cyclic exactly when it has a cycle; each chain is a real cycle inside
 * its component through its first member; every enumerated cycle is a real
 * elementary cycle inside one component; removing the --break set leaves
 * each component acyclic; a topological order exists exactly when no
 * component is cyclic, and respects every edge.
 * The cyclefind sources are compiled in here: they are not in lib. */
#include <stdint.h>
#include <string.h>

#include "fuzz.h"

#include "../../cmd/cyclefind/core.c"
#include "../../cmd/cyclefind/cycles.c"
#include "../../cmd/cyclefind/dot.c"
#include "../../cmd/cyclefind/fas.c"
#include "../../cmd/cyclefind/graph.c"
#include "../../cmd/cyclefind/scc.c"

static int has_edge(const cf_graph *g, uint32_t u, uint32_t v)
{
    uint64_t lo, hi;
    cf_edge_range(g, u, v, &lo, &hi);
    return lo < hi;
}

typedef struct {
    const cf_graph *g;
    const cf_sccs *s;
    uint8_t *seen;
} cyc_ctx;

static int check_cycle(void *ctx, const uint32_t *nodes, const uint32_t *labs, size_t k)
{
    cyc_ctx *c = ctx;
    (void)labs;
    FUZZ_CHECK(k >= 1 && k <= c->g->n, "cycle of %zu nodes", k);
    for (size_t i = 0; i < k; i++) {
        FUZZ_CHECK(!c->seen[nodes[i]], "node twice in a cycle");
        c->seen[nodes[i]] = 1;
        FUZZ_CHECK(c->s->comp[nodes[i]] == c->s->comp[nodes[0]], "cycle leaves its component");
        FUZZ_CHECK(has_edge(c->g, nodes[i], nodes[(i + 1) % k]), "cycle uses a missing edge");
    }
    for (size_t i = 0; i < k; i++)
        c->seen[nodes[i]] = 0;
    return 0;
}

static int bsearch_u64(const uint64_t *a, size_t n, uint64_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && a[lo] == x;
}

/* Is component i acyclic once the cut edges (sorted positions) are gone?
 * Kahn's algorithm on the component's edges. */
static int acyclic_without(const cf_graph *g, const cf_sccs *s, uint32_t i, const uint64_t *cut, size_t ncut)
{
    const uint32_t *mem = s->members + s->moff[i];
    uint32_t k = (uint32_t)(s->moff[i + 1] - s->moff[i]), c = s->cyc_comp[i];
    uint32_t *indeg = calloc(g->n ? g->n : 1, sizeof *indeg), *q = malloc(k * sizeof *q);
#define CUT(p) bsearch_u64(cut, ncut, p)
    for (uint32_t a = 0; a < k; a++)
        for (uint64_t p = g->off[mem[a]]; p < g->off[mem[a] + 1]; p++)
            if (s->comp[g->adj[p]] == c && !CUT(p))
                indeg[g->adj[p]]++;
    uint32_t head = 0, tail = 0;
    for (uint32_t a = 0; a < k; a++)
        if (!indeg[mem[a]])
            q[tail++] = mem[a];
    while (head < tail) {
        uint32_t u = q[head++];
        for (uint64_t p = g->off[u]; p < g->off[u + 1]; p++)
            if (s->comp[g->adj[p]] == c && !CUT(p) && --indeg[g->adj[p]] == 0)
                q[tail++] = g->adj[p];
    }
#undef CUT
    free(indeg);
    free(q);
    return tail == k;
}

static void check_graph(const cf_graph *g, int multi)
{
    cf_sccs s;
    cf_scc(g, &s);
    uint64_t in_cyclic = 0;
    for (uint32_t i = 0; i < s.ncyclic; i++) {
        uint64_t size = s.moff[i + 1] - s.moff[i];
        FUZZ_CHECK(size >= 1, "empty component");
        for (uint64_t j = s.moff[i]; j < s.moff[i + 1]; j++) {
            FUZZ_CHECK(s.comp[s.members[j]] == s.cyc_comp[i], "member of another component");
            FUZZ_CHECK(j == s.moff[i] || s.members[j - 1] < s.members[j], "members out of order");
        }
        if (i)
            FUZZ_CHECK(s.moff[i] - s.moff[i - 1] >= size, "components not largest first");
        in_cyclic += size;
    }
    FUZZ_CHECK(in_cyclic == s.nodes_in_cycles, "nodes in cycles miscounted");

    cf_bfs b;
    cf_bfs_init(&b, g->n);
    mk_vec path, labs, cut;
    mk_vec_init(&path, sizeof(uint32_t));
    mk_vec_init(&labs, sizeof(uint32_t));
    mk_vec_init(&cut, sizeof(uint64_t));
    for (uint32_t i = 0; i < s.ncyclic; i++) {
        uint32_t first = s.members[s.moff[i]];
        int several = s.moff[i + 1] - s.moff[i] > 1;
        FUZZ_CHECK(cf_shortest_cycle(g, s.comp, several, first, &b, &path, &labs), "no chain in a cyclic component");
        const uint32_t *p = mk_vec_data(&path);
        size_t n = mk_vec_len(&path);
        FUZZ_CHECK(n >= 2 && p[0] == first && p[n - 1] == first, "chain does not close");
        FUZZ_CHECK(mk_vec_len(&labs) == n - 1, "labels miscounted");
        for (size_t j = 0; j + 1 < n; j++) {
            FUZZ_CHECK(has_edge(g, p[j], p[j + 1]), "chain uses a missing edge");
            FUZZ_CHECK(s.comp[p[j]] == s.cyc_comp[i], "chain leaves the component");
        }
        mk_vec_clear(&cut);
        cf_break(g, &s, i, &cut);
        FUZZ_CHECK(mk_vec_len(&cut) > 0, "empty break set for a cyclic component");
        FUZZ_CHECK(acyclic_without(g, &s, i, mk_vec_data(&cut), mk_vec_len(&cut)), "cycles survive --break");
    }
    /* A component of one node without a self-loop is acyclic; so is the
     * whole graph exactly when a topological order exists. */
    uint32_t *order = malloc((g->n ? g->n : 1) * sizeof *order);
    int ok = cf_topo(g, order) == 0;
    FUZZ_CHECK(ok == (s.ncyclic == 0), "order exists: %d, cyclic components: %u", ok, s.ncyclic);
    if (ok) {
        uint32_t *pos = malloc((g->n ? g->n : 1) * sizeof *pos);
        for (uint32_t i = 0; i < g->n; i++)
            pos[order[i]] = i;
        for (uint32_t u = 0; u < g->n; u++)
            for (uint64_t p = g->off[u]; p < g->off[u + 1]; p++)
                FUZZ_CHECK(pos[u] < pos[g->adj[p]], "order breaks an edge");
        free(pos);
    }
    free(order);

    cyc_ctx c = { g, &s, calloc(g->n ? g->n : 1, 1) };
    int trunc;
    cf_cycles_opts o = { 2000, 0, multi, check_cycle, &c };
    cf_all_cycles(g, &s, NULL, &o, &trunc);
    o.max_len = 3;
    cf_all_cycles(g, &s, NULL, &o, &trunc);
    free(c.seen);
    cf_bfs_free(&b);
    mk_vec_free(&path);
    mk_vec_free(&labs);
    mk_vec_free(&cut);
    cf_sccs_free(&s);
}

static int read_graph(cf_graph *g, const uint8_t *data, size_t size)
{
    cf_graph_init(g);
    mk_source *src = mk_source_open_mem("fuzz", data, size);
    int ok = src && cf_graph_read(g, src, 1) == 0;
    if (src)
        mk_source_close(src);
    return ok;
}

static int same_name(const cf_graph *a, uint32_t u, const cf_graph *b, uint32_t v)
{
    size_t la, lb;
    const char *x = cf_name(a, u, &la), *y = cf_name(b, v, &lb);
    return la == lb && memcmp(x, y, la) == 0;
}

/* The cyclic core frozen alone (core.h) must give the whole graph's
 * figures and the same cyclic components, members and chains. */
static void check_core(const cf_graph *g, const uint8_t *data, size_t size, int multi)
{
    cf_graph c;
    if (read_graph(&c, data, size) && cf_freeze_core(&c, multi)) {
        FUZZ_CHECK(c.n_all == g->n_all && c.m_all == g->m_all, "core: whole-graph size differs");
        FUZZ_CHECK(c.duplicates == g->duplicates && c.self_loops == g->self_loops, "core: repeats differ");
        cf_sccs s, t;
        cf_scc(g, &s);
        cf_scc(&c, &t);
        FUZZ_CHECK(c.ncomp_all == s.ncomp, "core: %u components, whole graph %u", c.ncomp_all, s.ncomp);
        FUZZ_CHECK(s.ncyclic == t.ncyclic && s.nodes_in_cycles == t.nodes_in_cycles, "core: cyclic components differ");
        cf_bfs b, bc;
        cf_bfs_init(&b, g->n);
        cf_bfs_init(&bc, c.n);
        mk_vec p, q, lp, lq;
        mk_vec_init(&p, sizeof(uint32_t));
        mk_vec_init(&q, sizeof(uint32_t));
        mk_vec_init(&lp, sizeof(uint32_t));
        mk_vec_init(&lq, sizeof(uint32_t));
        for (uint32_t i = 0; i < s.ncyclic; i++) {
            FUZZ_CHECK(s.moff[i + 1] - s.moff[i] == t.moff[i + 1] - t.moff[i], "core: component %u size", i);
            for (uint64_t j = s.moff[i]; j < s.moff[i + 1]; j++)
                FUZZ_CHECK(same_name(g, s.members[j], &c, t.members[j]), "core: component %u members", i);
            int several = s.moff[i + 1] - s.moff[i] > 1;
            cf_shortest_cycle(g, s.comp, several, s.members[s.moff[i]], &b, &p, &lp);
            cf_shortest_cycle(&c, t.comp, several, t.members[t.moff[i]], &bc, &q, &lq);
            FUZZ_CHECK(mk_vec_len(&p) == mk_vec_len(&q), "core: chain %u length", i);
            for (size_t j = 0; j < mk_vec_len(&p); j++)
                FUZZ_CHECK(same_name(g, ((uint32_t *)mk_vec_data(&p))[j], &c, ((uint32_t *)mk_vec_data(&q))[j]),
                           "core: chain %u differs", i);
        }
        cf_bfs_free(&b);
        cf_bfs_free(&bc);
        mk_vec_free(&p);
        mk_vec_free(&q);
        mk_vec_free(&lp);
        mk_vec_free(&lq);
        cf_sccs_free(&s);
        cf_sccs_free(&t);
    }
    cf_graph_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setenv("CYCLEFIND_CORE", "always", 1);
    for (int multi = 0; multi < 2; multi++) {
        cf_graph g;
        if (read_graph(&g, data, size)) {
            cf_graph_freeze(&g, multi);
            check_graph(&g, multi);
            check_core(&g, data, size, multi);
        }
        cf_graph_free(&g);
    }
    return 0;
}
