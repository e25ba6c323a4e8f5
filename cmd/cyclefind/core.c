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

/* Memory carved from the name table's old slots, or allocated when they
 * run out. */
typedef struct {
    char *p;
    size_t left;
} scratch;

static void *carve(scratch *sc, size_t bytes, int *own)
{
    bytes = (bytes + 63) & ~(size_t)63;
    if (bytes > sc->left) {
        *own = 1;
        return mk_xmalloc(bytes);
    }
    void *r = sc->p;
    sc->p += bytes;
    sc->left -= bytes;
    *own = 0;
    return r;
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
     * become the scratch for everything below, in this order: off, adj,
     * then the in-degrees and later the component walk's stacks. */
    size_t bytes;
    void *mem = mk_intern_seal_keep(&g->names, &bytes);
    scratch sc = { mem, bytes };
    int own_off, own_adj, own_deg;
    uint64_t *off = memset(carve(&sc, (n + 1) * sizeof *off, &own_off), 0, (n + 1) * sizeof *off);
    uint32_t *adj = carve(&sc, (m ? m : 1) * sizeof *adj, &own_adj);
    scratch rest = sc;
    uint32_t *indeg = memset(carve(&rest, (n ? n : 1) * sizeof *indeg, &own_deg), 0, (n ? n : 1) * sizeof *indeg);

    /* Out-degrees (into off, shifted by one for the sums) and in-degrees,
     * each access asked for 16 edges ahead. */
    enum { AHEAD = 16 };
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
    if (own_deg)
        free(indeg);
    if (force < 0 && dead * 4 < n) {
        if (own_off)
            free(off);
        if (own_adj)
            free(adj);
        mk_intern_scratch_free(mem, bytes);
        return 0;
    }

    /* Adjacency in intern-id order: sums, then each edge placed at the end
     * of its source's list, moving that end down; off[v+1] ends at v's
     * start, which off[v] then takes. */
    for (size_t v = 0; v < n; v++)
        off[v + 1] += off[v];
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
    cf_sccs comps;
    cf_scc_in(&whole, &comps, sc.p, sc.left);
    if (own_off)
        free(off);
    if (own_adj)
        free(adj);
    uint32_t *cls = comps.comp;   /* reused: node -> cyclic index + 1, or 0 */
    memset(cls, 0, n * sizeof *cls);
    for (uint32_t i = 0; i < comps.ncyclic; i++)
        for (uint64_t j = comps.moff[i]; j < comps.moff[i + 1]; j++)
            cls[comps.members[j]] = i + 1;
    uint32_t ncomp = comps.ncomp;

    /* The scratch serves once more, for the part's renumbering. */
    uint32_t *rank = bytes >= (n ? n : 1) * sizeof *rank ? mem : NULL;
    cf_graph_freeze_part(g, multi, cls, rank);
    mk_intern_scratch_free(mem, bytes);
    cf_sccs_free(&comps);
    g->m_all = m - (multi ? 0 : dup);
    g->ncomp_all = ncomp;
    g->duplicates = dup;
    g->self_loops = loops;
    return 1;
}
