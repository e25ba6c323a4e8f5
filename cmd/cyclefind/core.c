/* core — the cyclic core of a mostly acyclic graph (see core.h). */
#include "core.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "scc.h"

/* "always", "never", or the degrees decide. */
static int forced(void)
{
    const char *e = getenv("CYCLEFIND_CORE");
    if (!e || !*e || !strcmp(e, "auto"))
        return -1;
    if (!strcmp(e, "always"))
        return 1;
    if (!strcmp(e, "never"))
        return 0;
    mk_die("CYCLEFIND_CORE must be auto, always or never, not '%s'", e);
}

int cf_freeze_core(cf_graph *g, int multi)
{
    int force = forced();
    if (!force)
        return 0;
    size_t n = mk_intern_count(&g->names), m = mk_vec_len(&g->edges);
    if (n >= CF_NONE)
        mk_die("more than %lu nodes", (unsigned long)CF_NONE - 1);
    const cf_edge *e = mk_vec_data(&g->edges);
    /* Reading is over: the slots of the name table (64 MB at 2 M names)
     * go before anything else is allocated. */
    mk_intern_seal(&g->names);

    /* Out-degrees (into off, shifted by one for the sums) and in-degrees,
     * each access asked for 16 edges ahead. */
    enum { AHEAD = 16 };
    uint64_t *off = mk_xcalloc(n + 1, sizeof *off);
    uint32_t *indeg = mk_xcalloc(n ? n : 1, sizeof *indeg);
    for (size_t i = 0; i < m; i++) {
        if (i + AHEAD < m) {
            __builtin_prefetch(&off[e[i + AHEAD].s + 1]);
            __builtin_prefetch(&indeg[e[i + AHEAD].d]);
        }
        off[e[i].s + 1]++;
        indeg[e[i].d]++;
    }
    size_t dead = 0;
    for (size_t v = 0; v < n; v++)
        dead += !off[v + 1] || !indeg[v];
    free(indeg);
    if (force < 0 && dead * 4 < n) {
        free(off);
        return 0;
    }

    /* Adjacency in intern-id order: sums, then each edge placed at the end
     * of its source's list, moving that end down; off[v+1] ends at v's
     * start, which off[v] then takes. */
    for (size_t v = 0; v < n; v++)
        off[v + 1] += off[v];
    uint32_t *adj = mk_xmalloc((m ? m : 1) * sizeof *adj);
    for (size_t i = m; i-- > 0;) {
        if (i >= AHEAD)
            __builtin_prefetch(&off[e[i - AHEAD].s + 1]);
        adj[--off[e[i].s + 1]] = e[i].d;
    }
    memmove(off, off + 1, n * sizeof *off);
    off[n] = m;
    uint64_t dup, loops;
    cf_count_repeats(off, adj, (uint32_t)n, multi, &dup, &loops);

    /* Components of the whole graph; the cyclic ones become the classes. */
    cf_graph whole = { .n = (uint32_t)n, .m = m, .off = off, .adj = adj };
    cf_sccs sc;
    cf_scc(&whole, &sc);
    free(off);
    free(adj);
    uint32_t *cls = sc.comp;   /* reused: node -> cyclic index + 1, or 0 */
    memset(cls, 0, n * sizeof *cls);
    for (uint32_t i = 0; i < sc.ncyclic; i++)
        for (uint64_t j = sc.moff[i]; j < sc.moff[i + 1]; j++)
            cls[sc.members[j]] = i + 1;
    uint32_t ncomp = sc.ncomp;

    cf_graph_freeze_part(g, multi, cls);
    cf_sccs_free(&sc);
    g->m_all = m - (multi ? 0 : dup);
    g->ncomp_all = ncomp;
    g->duplicates = dup;
    g->self_loops = loops;
    return 1;
}
