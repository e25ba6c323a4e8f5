/* cycles — Johnson's algorithm and a length-bounded search (see cycles.h). */
#include "cycles.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

typedef struct {
    const cf_graph *g;
    const cf_sccs *s;
    const cf_cycles_opts *o;
    uint64_t found;
    int stop;
    /* the current path: node, next adjacency position, closed flag */
    uint32_t *node;
    uint64_t *it;
    uint8_t *closed;
    uint32_t depth;
    /* per node */
    uint8_t *blocked;
    uint32_t *bhead;           /* B-list head (index into bpool), CF_NONE = empty */
    uint32_t *stamp;           /* last start that touched the node, + 1 */
    uint32_t *dist;            /* bounded search: edges back to the start */
    mk_vec touched;            /* nodes to reset after a start */
    mk_vec ustack;             /* unblock's work list */
    /* B-list entries: { node, next } */
    mk_vec bpool;
    uint32_t bfree;
    /* cycle being emitted */
    uint32_t *cnodes, *clabs;
    uint64_t *ranges;          /* multi: per edge lo, hi */
    uint32_t *pick;
    /* reverse adjacency (bounded search only) */
    uint64_t *roff;
    uint32_t *radj;
} run;

struct bent {
    uint32_t node, next;
};

/* ---- emitting ---------------------------------------------------------------- */

/* The path node[0..depth) plus the edge at it[depth-1] back to the start. */
static void emit(run *r)
{
    const cf_graph *g = r->g;
    size_t k = r->depth;
    for (size_t i = 0; i < k; i++)
        r->cnodes[i] = r->node[i];
    if (!r->o->multi) {
        for (size_t i = 0; i < k; i++)
            r->clabs[i] = g->lab ? g->lab[r->it[i]] : CF_NONE;
        r->found++;
        if (r->o->fn && r->o->fn(r->o->ctx, r->cnodes, r->clabs, k))
            r->stop = 1;
        else if (r->o->limit && r->found >= r->o->limit)
            r->stop = 1;
        return;
    }
    /* One cycle per choice of parallel edge: count through the choices
     * like an odometer. */
    for (size_t i = 0; i < k; i++) {
        uint64_t lo = r->it[i], hi = lo;
        while (hi < g->off[r->node[i] + 1] && g->adj[hi] == g->adj[lo])
            hi++;
        r->ranges[2 * i] = lo;
        r->ranges[2 * i + 1] = hi;
        r->pick[i] = 0;
    }
    for (;;) {
        for (size_t i = 0; i < k; i++)
            r->clabs[i] = g->lab ? g->lab[r->ranges[2 * i] + r->pick[i]] : CF_NONE;
        r->found++;
        if ((r->o->fn && r->o->fn(r->o->ctx, r->cnodes, r->clabs, k)) ||
            (r->o->limit && r->found >= r->o->limit)) {
            r->stop = 1;
            return;
        }
        size_t i = k;
        while (i-- > 0) {
            if (r->ranges[2 * i] + ++r->pick[i] < r->ranges[2 * i + 1])
                break;
            r->pick[i] = 0;
        }
        if (i == (size_t)-1)
            return;
    }
}

/* ---- Johnson -------------------------------------------------------------------- */

static void touch(run *r, uint32_t v, uint32_t start)
{
    if (r->stamp[v] != start + 1) {
        r->stamp[v] = start + 1;
        *(uint32_t *)mk_vec_push(&r->touched) = v;
    }
}

static void unblock(run *r, uint32_t u)
{
    /* Iterative: a stack of nodes whose B-lists are to be released. */
    mk_vec *st = &r->ustack;
    r->blocked[u] = 0;
    *(uint32_t *)mk_vec_push(st) = u;
    while (mk_vec_len(st)) {
        uint32_t x = *(uint32_t *)mk_vec_pop(st);
        uint32_t e = r->bhead[x];
        r->bhead[x] = CF_NONE;
        while (e != CF_NONE) {
            struct bent *b = (struct bent *)mk_vec_data(&r->bpool) + e;
            uint32_t w = b->node, nx = b->next;
            b->next = r->bfree;
            r->bfree = e;
            if (r->blocked[w]) {
                r->blocked[w] = 0;
                *(uint32_t *)mk_vec_push(st) = w;
            }
            e = nx;
        }
    }
}

static void b_add(run *r, uint32_t w, uint32_t v)
{
    for (uint32_t e = r->bhead[w]; e != CF_NONE;) {
        const struct bent *b = (const struct bent *)mk_vec_data(&r->bpool) + e;
        if (b->node == v)
            return;
        e = b->next;
    }
    uint32_t e = r->bfree;
    struct bent *b;
    if (e != CF_NONE) {
        b = (struct bent *)mk_vec_data(&r->bpool) + e;
        r->bfree = b->next;
    } else {
        e = (uint32_t)mk_vec_len(&r->bpool);
        b = mk_vec_push(&r->bpool);
    }
    b->node = v;
    b->next = r->bhead[w];
    r->bhead[w] = e;
}

/* Next usable edge of v at or after i: a new target (parallel edges once)
 * in v's component with an id >= s. */
static uint64_t next_edge(const run *r, uint32_t v, uint64_t i, uint32_t s, uint32_t c)
{
    const cf_graph *g = r->g;
    for (; i < g->off[v + 1]; i++) {
        uint32_t w = g->adj[i];
        if (i > g->off[v] && w == g->adj[i - 1])
            continue;
        if (w >= s && r->s->comp[w] == c)
            return i;
    }
    return i;
}

static void push(run *r, uint32_t v, uint32_t s, uint32_t c)
{
    r->node[r->depth] = v;
    r->it[r->depth] = next_edge(r, v, r->g->off[v], s, c);
    r->closed[r->depth] = 0;
    r->depth++;
}

static void johnson_from(run *r, uint32_t s)
{
    const cf_graph *g = r->g;
    uint32_t c = r->s->comp[s];
    r->depth = 0;
    r->blocked[s] = 1;
    touch(r, s, s);
    push(r, s, s, c);
    while (r->depth && !r->stop) {
        uint32_t d = r->depth - 1, v = r->node[d];
        uint64_t i = r->it[d];
        if (i < g->off[v + 1]) {
            uint32_t w = g->adj[i];
            if (w == s) {
                emit(r);
                r->closed[d] = 1;
            } else if (!r->blocked[w]) {
                r->blocked[w] = 1;
                touch(r, w, s);
                push(r, w, s, c);
                continue;   /* the parent's edge advances when w is done */
            }
            r->it[d] = next_edge(r, v, i + 1, s, c);
            continue;
        }
        if (r->closed[d]) {
            unblock(r, v);
        } else {
            for (uint64_t j = next_edge(r, v, g->off[v], s, c); j < g->off[v + 1];
                 j = next_edge(r, v, j + 1, s, c)) {
                touch(r, g->adj[j], s);
                b_add(r, g->adj[j], v);
            }
        }
        r->depth--;
        if (r->depth) {
            r->closed[d - 1] |= r->closed[d];
            r->it[d - 1] = next_edge(r, r->node[d - 1], r->it[d - 1] + 1, s, c);
        }
    }
}

/* ---- bounded length -------------------------------------------------------------- */

static void build_reverse(run *r)
{
    const cf_graph *g = r->g;
    r->roff = mk_xcalloc((size_t)g->n + 1, sizeof *r->roff);
    r->radj = mk_xmalloc((g->m ? g->m : 1) * sizeof *r->radj);
    for (uint64_t i = 0; i < g->m; i++)
        r->roff[g->adj[i] + 1]++;
    for (uint32_t v = 0; v < g->n; v++)
        r->roff[v + 1] += r->roff[v];
    uint64_t *pos = mk_xmalloc(((size_t)g->n + 1) * sizeof *pos);
    memcpy(pos, r->roff, ((size_t)g->n + 1) * sizeof *pos);
    for (uint32_t v = 0; v < g->n; v++)
        for (uint64_t i = g->off[v]; i < g->off[v + 1]; i++)
            r->radj[pos[g->adj[i]]++] = v;
    free(pos);
}

/* dist[v] = edges from v back to s within the allowed nodes, for v no
 * farther than L - 1 (the rest stay CF_NONE and are never entered). */
static void distances_back(run *r, uint32_t s, uint32_t c, uint32_t L)
{
    mk_vec *queue = &r->ustack;   /* unblock's list is free in this search */
    mk_vec_clear(queue);
    r->dist[s] = 0;
    touch(r, s, s);
    *(uint32_t *)mk_vec_push(queue) = s;
    for (size_t h = 0; h < mk_vec_len(queue); h++) {
        uint32_t u = ((uint32_t *)mk_vec_data(queue))[h];
        if (r->dist[u] + 1 >= L)
            continue;
        for (uint64_t i = r->roff[u]; i < r->roff[u + 1]; i++) {
            uint32_t w = r->radj[i];
            if (w > s && r->s->comp[w] == c && r->dist[w] == CF_NONE) {
                r->dist[w] = r->dist[u] + 1;
                touch(r, w, s);
                *(uint32_t *)mk_vec_push(queue) = w;
            }
        }
    }
}

static void bounded_from(run *r, uint32_t s, uint32_t L)
{
    const cf_graph *g = r->g;
    uint32_t c = r->s->comp[s];
    distances_back(r, s, c, L);
    r->depth = 0;
    r->blocked[s] = 1;   /* on the path */
    push(r, s, s, c);
    while (r->depth && !r->stop) {
        uint32_t d = r->depth - 1, v = r->node[d];
        uint64_t i = r->it[d];
        if (i < g->off[v + 1]) {
            uint32_t w = g->adj[i];
            if (w == s) {
                emit(r);
            } else if (!r->blocked[w] && r->dist[w] != CF_NONE && r->depth + r->dist[w] <= L) {
                /* r->depth edges to w, then at least dist[w] back */
                r->blocked[w] = 1;
                push(r, w, s, c);
                continue;
            }
            r->it[d] = next_edge(r, v, i + 1, s, c);
            continue;
        }
        r->blocked[v] = 0;
        r->depth--;
        if (r->depth)
            r->it[d - 1] = next_edge(r, r->node[d - 1], r->it[d - 1] + 1, s, c);
    }
    r->blocked[s] = 0;
    while (r->depth)   /* stopped early: leave the path unmarked */
        r->blocked[r->node[--r->depth]] = 0;
}

/* ---- driver --------------------------------------------------------------------- */

uint64_t cf_all_cycles(const cf_graph *g, const cf_sccs *s, const uint8_t *want,
                       const cf_cycles_opts *o, int *truncated)
{
    run r;
    memset(&r, 0, sizeof r);
    r.g = g;
    r.s = s;
    r.o = o;
    size_t n = g->n ? g->n : 1;
    r.node = mk_xmalloc(n * sizeof *r.node);
    r.it = mk_xmalloc(n * sizeof *r.it);
    r.closed = mk_xmalloc(n);
    r.blocked = mk_xcalloc(n, 1);
    r.bhead = mk_xmalloc(n * sizeof *r.bhead);
    r.stamp = mk_xcalloc(n, sizeof *r.stamp);
    r.dist = mk_xmalloc(n * sizeof *r.dist);
    for (size_t v = 0; v < n; v++)
        r.bhead[v] = r.dist[v] = CF_NONE;
    r.cnodes = mk_xmalloc(n * sizeof *r.cnodes);
    r.clabs = mk_xmalloc(n * sizeof *r.clabs);
    r.ranges = mk_xmalloc(2 * n * sizeof *r.ranges);
    r.pick = mk_xmalloc(n * sizeof *r.pick);
    r.bfree = CF_NONE;
    mk_vec_init(&r.touched, sizeof(uint32_t));
    mk_vec_init(&r.bpool, sizeof(struct bent));
    mk_vec_init(&r.ustack, sizeof(uint32_t));
    if (o->max_len)
        build_reverse(&r);

    for (uint32_t i = 0; i < s->ncyclic && !r.stop; i++) {
        if (want && !want[i])
            continue;
        for (uint64_t j = s->moff[i]; j < s->moff[i + 1] && !r.stop; j++) {
            uint32_t v = s->members[j];
            mk_vec_clear(&r.touched);
            if (o->max_len)
                bounded_from(&r, v, o->max_len);
            else
                johnson_from(&r, v);
            /* Reset what this start touched, nothing more: a start costs
             * only what it explored. */
            const uint32_t *t = mk_vec_data(&r.touched);
            for (size_t k = 0; k < mk_vec_len(&r.touched); k++) {
                uint32_t x = t[k];
                r.blocked[x] = 0;
                r.dist[x] = CF_NONE;
                for (uint32_t e = r.bhead[x]; e != CF_NONE;) {
                    struct bent *b = (struct bent *)mk_vec_data(&r.bpool) + e;
                    uint32_t nx = b->next;
                    b->next = r.bfree;
                    r.bfree = e;
                    e = nx;
                }
                r.bhead[x] = CF_NONE;
            }
        }
    }
    *truncated = r.stop;
    free(r.node);
    free(r.it);
    free(r.closed);
    free(r.blocked);
    free(r.bhead);
    free(r.stamp);
    free(r.dist);
    free(r.cnodes);
    free(r.clabs);
    free(r.ranges);
    free(r.pick);
    free(r.roff);
    free(r.radj);
    mk_vec_free(&r.touched);
    mk_vec_free(&r.bpool);
    mk_vec_free(&r.ustack);
    return r.found;
}
