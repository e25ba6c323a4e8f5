/* scc — components, shortest cycles, reachability, order (see scc.h). */
#include "scc.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "heap.h"

/* ---- components ----------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Pearce's single-index variant of Tarjan's algorithm ("A space-efficient
 * algorithm for finding strongly connected components", 2016): one index
 * array that ends up holding component numbers (counted down from n-1), a
 * root bit per node, and explicit stacks. */
void cf_scc(const cf_graph *g, cf_sccs *s)
{
    cf_scc_in(g, s, NULL, 0);
}

void cf_scc_in(const cf_graph *g, cf_sccs *s, void *scratch, size_t bytes)
{
    uint32_t n = g->n;
    memset(s, 0, sizeof *s);
    uint32_t *rindex = mk_xcalloc(n ? n : 1, sizeof *rindex);
    uint64_t *cs_i;                     /* call stack: next edge, node */
    uint32_t *cs_v, *stk;               /* stk: visited, not yet assigned */
    uint8_t *root;
    size_t m1 = n ? n : 1;
    int own = !scratch || bytes < m1 * (sizeof *cs_i + sizeof *cs_v + sizeof *stk + 1);
    if (own) {
        root = mk_xcalloc(m1, 1);
        cs_v = mk_xmalloc(m1 * sizeof *cs_v);
        cs_i = mk_xmalloc(m1 * sizeof *cs_i);
        stk = mk_xmalloc(m1 * sizeof *stk);
    } else {   /* widest first: every part stays aligned */
        cs_i = scratch;
        cs_v = (uint32_t *)(cs_i + m1);
        stk = cs_v + m1;
        root = memset(stk + m1, 0, m1);
    }
    /* Component numbers count down from n (not n-1), so none is 0, the
     * mark of a node not yet visited. */
    uint32_t index = 1, c = n, top = 0, sp = 0;
    const uint64_t *off = g->off;
    const uint32_t *adj = g->adj;

    /* A node without out-edges is a component of its own: numbered here,
     * in one pass in memory order, it is never pushed, and the walk only
     * reads its number. Object graphs are mostly such leaves. */
    for (uint32_t v = 0; v < n; v++)
        if (off[v] == off[v + 1])
            rindex[v] = c--;

    for (uint32_t r = 0; r < n; r++) {
        if (rindex[r])
            continue;
        cs_v[0] = r;
        cs_i[0] = off[r];
        root[r] = 1;
        rindex[r] = index++;
        top = 1;
        while (top) {
            uint32_t v = cs_v[top - 1];
            uint64_t i = cs_i[top - 1];
            if (i < off[v + 1]) {
                uint32_t w = adj[i];
                /* Targets are random in big graphs: ask for the next
                 * ones' indexes while this one is handled. */
                if (i + 4 < off[v + 1]) {
                    __builtin_prefetch(&rindex[adj[i + 4]]);
                    __builtin_prefetch(&off[adj[i + 4]]);
                }
                if (!rindex[w]) {
                    for (uint64_t j = off[w]; j < off[w + 1] && j < off[w] + 4; j++) {
                        __builtin_prefetch(&rindex[adj[j]]);
                        __builtin_prefetch(&off[adj[j]]);
                    }
                    cs_v[top] = w;
                    cs_i[top] = off[w];
                    root[w] = 1;
                    rindex[w] = index++;
                    top++;
                    continue;
                }
                if (rindex[w] < rindex[v]) {
                    rindex[v] = rindex[w];
                    root[v] = 0;
                }
                cs_i[top - 1] = i + 1;
                continue;
            }
            top--;
            if (root[v]) {
                index--;
                while (sp && rindex[v] <= rindex[stk[sp - 1]]) {
                    rindex[stk[--sp]] = c;
                    index--;
                }
                rindex[v] = c--;
            } else {
                stk[sp++] = v;
            }
            if (top) {   /* finish the parent's edge to v */
                uint32_t u = cs_v[top - 1];
                if (rindex[v] < rindex[u]) {
                    rindex[u] = rindex[v];
                    root[u] = 0;
                }
                cs_i[top - 1]++;
            }
        }
    }
    if (own) {
        free(cs_v);
        free(cs_i);
        free(stk);
        free(root);
    }
    /* Components were numbered n-1 downwards; make them 0 .. ncomp-1. */
    uint32_t ncomp = n - c;
    for (uint32_t v = 0; v < n; v++)
        rindex[v] = rindex[v] - c - 1;
    s->comp = rindex;
    s->ncomp = ncomp;

    /* Sizes, self-loops, then the cyclic ones and their members. */
    size_t c1 = ncomp ? ncomp : 1;
    uint32_t *size, *first, *index_of;
    uint8_t *loop;
    if (own) {
        size = mk_xcalloc(c1, sizeof *size);
        first = mk_xmalloc(c1 * sizeof *first);
        loop = mk_xcalloc(c1, 1);
        index_of = mk_xmalloc(c1 * sizeof *index_of);
    } else {   /* the stacks' room, 13 bytes a component of the 17 a node */
        size = memset(scratch, 0, c1 * sizeof *size);
        first = size + c1;
        index_of = first + c1;
        loop = memset(index_of + c1, 0, c1);
    }
    for (uint32_t v = n; v-- > 0;) {
        size[rindex[v]]++;
        first[rindex[v]] = v;
    }
    for (uint32_t v = 0; v < n; v++)
        if (size[rindex[v]] == 1)
            for (uint64_t i = off[v]; i < off[v + 1]; i++)
                if (adj[i] == v)
                    loop[rindex[v]] = 1;
    uint32_t k = 0;
    for (uint32_t x = 0; x < ncomp; x++)
        k += size[x] > 1 || loop[x];
    s->ncyclic = k;
    s->cyc_comp = mk_xmalloc((k ? k : 1) * sizeof *s->cyc_comp);
    uint64_t *order = mk_xmalloc((k ? k : 1) * sizeof *order);
    k = 0;
    for (uint32_t x = 0; x < ncomp; x++)
        if (size[x] > 1 || loop[x])
            order[k++] = x;
    /* largest first, then by smallest node: sort (size desc, first asc) */
    for (uint32_t i = 0; i < k; i++)
        order[i] = (uint64_t)(UINT32_MAX - size[order[i]]) << 32 | first[order[i]];
    qsort(order, k, sizeof *order, cmp_u64);
    for (uint32_t x = 0; x < ncomp; x++)
        index_of[x] = CF_NONE;
    s->moff = mk_xcalloc((size_t)k + 1, sizeof *s->moff);
    for (uint32_t i = 0; i < k; i++) {
        uint32_t x = rindex[(uint32_t)order[i]];
        s->cyc_comp[i] = x;
        index_of[x] = i;
        s->moff[i + 1] = s->moff[i] + size[x];
    }
    s->nodes_in_cycles = s->moff[k];
    s->members = mk_xmalloc((s->moff[k] ? s->moff[k] : 1) * sizeof *s->members);
    uint64_t *fill = mk_xmalloc(((size_t)k + 1) * sizeof *fill);
    memcpy(fill, s->moff, ((size_t)k + 1) * sizeof *fill);
    for (uint32_t v = 0; v < n; v++) {
        uint32_t i = index_of[rindex[v]];
        if (i != CF_NONE)
            s->members[fill[i]++] = v;
    }
    free(fill);
    free(order);
    if (own) {
        free(index_of);
        free(size);
        free(first);
        free(loop);
    }
}

void cf_sccs_free(cf_sccs *s)
{
    free(s->comp);
    free(s->cyc_comp);
    free(s->moff);
    free(s->members);
    memset(s, 0, sizeof *s);
}

/* ---- breadth-first walks ------------------------------------------------------------ */

void cf_bfs_init(cf_bfs *b, uint32_t n)
{
    b->parent = mk_xmalloc((n ? n : 1) * sizeof *b->parent);
    for (uint32_t i = 0; i < n; i++)
        b->parent[i] = CF_NONE;
    b->queue = mk_xmalloc((n ? n : 1) * sizeof *b->queue);
}

void cf_bfs_free(cf_bfs *b)
{
    free(b->parent);
    free(b->queue);
}

void cf_edge_range(const cf_graph *g, uint32_t u, uint32_t v, uint64_t *lo, uint64_t *hi)
{
    uint64_t a = g->off[u], z = g->off[u + 1];
    while (a < z) {   /* first entry >= v */
        uint64_t mid = a + (z - a) / 2;
        if (g->adj[mid] < v)
            a = mid + 1;
        else
            z = mid;
    }
    *lo = a;
    while (a < g->off[u + 1] && g->adj[a] == v)
        a++;
    *hi = a;
}

uint32_t cf_edge_label(const cf_graph *g, uint32_t u, uint32_t v)
{
    uint64_t lo, hi;
    cf_edge_range(g, u, v, &lo, &hi);
    return g->lab && lo < hi ? g->lab[lo] : CF_NONE;
}

int cf_shortest_cycle(const cf_graph *g, const uint32_t *comp, int several, uint32_t s, cf_bfs *b,
                      mk_vec *path, mk_vec *labs)
{
    uint32_t *parent = b->parent, *q = b->queue, head = 0, tail = 0, c = comp[s], last = CF_NONE;
    parent[s] = s;
    q[tail++] = s;
    while (head < tail && last == CF_NONE) {
        uint32_t u = q[head++];
        for (uint64_t i = g->off[u]; i < g->off[u + 1]; i++) {
            uint32_t w = g->adj[i];
            if (w == s) {
                if (u == s && several)
                    continue;
                last = u;
                break;
            }
            if (comp[w] == c && parent[w] == CF_NONE) {
                parent[w] = u;
                q[tail++] = w;
            }
        }
    }
    mk_vec_clear(path);
    mk_vec_clear(labs);
    if (last != CF_NONE) {
        /* s <- ... <- last, reversed into s -> ... -> last -> s */
        for (uint32_t v = last;; v = parent[v]) {
            *(uint32_t *)mk_vec_push(path) = v;
            if (v == s)
                break;
        }
        uint32_t *p = mk_vec_data(path);
        size_t k = mk_vec_len(path);
        for (size_t i = 0; i < k / 2; i++) {
            uint32_t x = p[i];
            p[i] = p[k - 1 - i];
            p[k - 1 - i] = x;
        }
        *(uint32_t *)mk_vec_push(path) = s;
        p = mk_vec_data(path);
        for (size_t i = 0; i + 1 < mk_vec_len(path); i++)
            *(uint32_t *)mk_vec_push(labs) = cf_edge_label(g, p[i], p[i + 1]);
    }
    for (uint32_t i = 0; i < tail; i++)
        parent[q[i]] = CF_NONE;
    return last != CF_NONE;
}

void cf_reach(const cf_graph *g, const uint32_t *starts, size_t k, uint8_t *mark, cf_bfs *b)
{
    uint32_t *q = b->queue, tail = 0;
    for (size_t i = 0; i < k; i++)
        if (!mark[starts[i]]) {
            mark[starts[i]] = 1;
            q[tail++] = starts[i];
        }
    for (uint32_t head = 0; head < tail; head++) {
        uint32_t u = q[head];
        for (uint64_t i = g->off[u]; i < g->off[u + 1]; i++)
            if (!mark[g->adj[i]]) {
                mark[g->adj[i]] = 1;
                q[tail++] = g->adj[i];
            }
    }
}

/* ---- topological order ----------------------------------------------------------- */

static int cmp_node(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

int cf_topo(const cf_graph *g, uint32_t *out)
{
    uint32_t n = g->n, k = 0;
    uint32_t *indeg = mk_xcalloc(n ? n : 1, sizeof *indeg);
    for (uint64_t i = 0; i < g->m; i++)
        indeg[g->adj[i]]++;
    mk_heap h;
    mk_heap_init(&h, sizeof(uint32_t), cmp_node);
    for (uint32_t v = 0; v < n; v++)
        if (!indeg[v])
            mk_heap_push(&h, &v);
    uint32_t v;
    while (mk_heap_pop(&h, &v)) {
        out[k++] = v;
        for (uint64_t i = g->off[v]; i < g->off[v + 1]; i++)
            if (--indeg[g->adj[i]] == 0)
                mk_heap_push(&h, &g->adj[i]);
    }
    mk_heap_free(&h);
    free(indeg);
    return k == n ? 0 : -1;
}
