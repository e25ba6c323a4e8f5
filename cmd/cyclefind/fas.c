/* fas — greedy feedback arc sets, then made minimal (see fas.h). */
#include "fas.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

enum { MINIMAL_BUDGET = 50 * 1000 * 1000 };   /* edge visits for the second pass */

typedef struct {
    uint32_t k;                /* members */
    const uint32_t *mem;       /* sorted node ids */
    uint32_t *in, *out;        /* degrees among the remaining */
    uint64_t *roff;            /* local in-lists */
    uint32_t *radj;
    uint8_t *gone;
    mk_vec sinks, sources, pool;   /* pool: bucket entries { local, next } */
    uint32_t *head;            /* 2k + 1 buckets by out - in */
    int64_t top;
} els;

struct fent {
    uint32_t v, next;
};

/* Local index of node v (members are sorted). */
static uint32_t local(const els *e, uint32_t v)
{
    uint32_t lo = 0, hi = e->k;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (e->mem[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < e->k && e->mem[lo] == v ? lo : CF_NONE;
}

/* Distinct targets of u inside the component, self-loops left out, as
 * local indexes: the loop body sees x. */
#define FOR_OUT(g, e, u, x)                                                            \
    for (uint64_t i_ = (g)->off[(e)->mem[u]]; i_ < (g)->off[(e)->mem[u] + 1]; i_++)    \
        if ((i_ == (g)->off[(e)->mem[u]] || (g)->adj[i_] != (g)->adj[i_ - 1]) &&       \
            (g)->adj[i_] != (e)->mem[u] && ((x) = local((e), (g)->adj[i_])) != CF_NONE)

static void place(els *e, uint32_t v)
{
    if (e->gone[v])
        return;
    if (!e->out[v]) {
        *(uint32_t *)mk_vec_push(&e->sinks) = v;
        return;
    }
    if (!e->in[v]) {
        *(uint32_t *)mk_vec_push(&e->sources) = v;
        return;
    }
    int64_t b = (int64_t)e->out[v] - e->in[v] + e->k;
    struct fent *x = mk_vec_push(&e->pool);
    x->v = v;
    x->next = e->head[b];
    e->head[b] = (uint32_t)(mk_vec_len(&e->pool) - 1);
    if (b > e->top)
        e->top = b;
}

static void take(els *e, const cf_graph *g, uint32_t v)
{
    e->gone[v] = 1;
    uint32_t x;
    FOR_OUT(g, e, v, x) {
        if (!e->gone[x]) {
            e->in[x]--;
            place(e, x);
        }
    }
    for (uint64_t i = e->roff[v]; i < e->roff[v + 1]; i++) {
        x = e->radj[i];
        if (!e->gone[x]) {
            e->out[x]--;
            place(e, x);
        }
    }
}

static int pop_valid(els *e, mk_vec *st, int sink, uint32_t *v)
{
    while (mk_vec_len(st)) {
        uint32_t x = *(uint32_t *)mk_vec_pop(st);
        if (!e->gone[x] && (sink ? e->out[x] == 0 : e->in[x] == 0)) {
            *v = x;
            return 1;
        }
    }
    return 0;
}

static int pop_max(els *e, uint32_t *v)
{
    while (e->top >= 0) {
        uint32_t h = e->head[e->top];
        if (h == CF_NONE) {
            e->top--;
            continue;
        }
        struct fent *x = (struct fent *)mk_vec_data(&e->pool) + h;
        e->head[e->top] = x->next;
        uint32_t u = x->v;
        if (!e->gone[u] && e->out[u] && e->in[u] && (int64_t)e->out[u] - e->in[u] + e->k == e->top) {
            *v = u;
            return 1;
        }
    }
    return 0;
}

/* Whether `to` reaches `from` without the cut edges (the second pass). */
static int reaches(const cf_graph *g, const els *e, const uint8_t *cut, uint64_t lo, uint32_t from,
                   uint32_t to, uint8_t *seen, uint32_t *q)
{
    uint32_t head = 0, tail = 0;
    q[tail++] = to;
    seen[to] = 1;
    int found = to == from;
    while (head < tail && !found) {
        uint32_t u = q[head++], node = e->mem[u];
        for (uint64_t i = g->off[node]; i < g->off[node + 1]; i++) {
            uint32_t x;
            if (cut[i - lo] || (x = local(e, g->adj[i])) == CF_NONE || seen[x])
                continue;
            if (x == from) {
                found = 1;
                break;
            }
            seen[x] = 1;
            q[tail++] = x;
        }
    }
    for (uint32_t i = 0; i < tail; i++)
        seen[q[i]] = 0;
    return found;
}

void cf_break(const cf_graph *g, const cf_sccs *s, uint32_t ci, mk_vec *out)
{
    els e;
    memset(&e, 0, sizeof e);
    e.k = (uint32_t)(s->moff[ci + 1] - s->moff[ci]);
    e.mem = s->members + s->moff[ci];
    uint32_t k = e.k;
    e.in = mk_xcalloc(k, sizeof *e.in);
    e.out = mk_xcalloc(k, sizeof *e.out);
    e.gone = mk_xcalloc(k, 1);
    e.roff = mk_xcalloc((size_t)k + 1, sizeof *e.roff);
    uint32_t x;
    for (uint32_t u = 0; u < k; u++)
        FOR_OUT(g, &e, u, x) {
            e.out[u]++;
            e.in[x]++;
            e.roff[x + 1]++;
        }
    for (uint32_t u = 0; u < k; u++)
        e.roff[u + 1] += e.roff[u];
    e.radj = mk_xmalloc((e.roff[k] ? e.roff[k] : 1) * sizeof *e.radj);
    uint64_t *pos = mk_xmalloc(((size_t)k + 1) * sizeof *pos);
    memcpy(pos, e.roff, ((size_t)k + 1) * sizeof *pos);
    for (uint32_t u = 0; u < k; u++)
        FOR_OUT(g, &e, u, x)
            e.radj[pos[x]++] = u;
    mk_vec_init(&e.sinks, sizeof(uint32_t));
    mk_vec_init(&e.sources, sizeof(uint32_t));
    mk_vec_init(&e.pool, sizeof(struct fent));
    e.head = mk_xmalloc((2 * (size_t)k + 1) * sizeof *e.head);
    for (size_t b = 0; b < 2 * (size_t)k + 1; b++)
        e.head[b] = CF_NONE;
    e.top = -1;
    /* Highest ids pushed first, so equal candidates come out smallest first. */
    for (uint32_t u = k; u-- > 0;)
        place(&e, u);

    /* The order: s1 grows at the front, s2 at the back (kept reversed). */
    uint32_t *order = mk_xmalloc((k ? k : 1) * sizeof *order);
    uint32_t n1 = 0, n2 = 0, v;
    uint32_t *s2 = mk_xmalloc((k ? k : 1) * sizeof *s2);
    for (uint32_t left = k; left;) {
        if (pop_valid(&e, &e.sinks, 1, &v)) {
            s2[n2++] = v;
        } else if (pop_valid(&e, &e.sources, 0, &v) || pop_max(&e, &v)) {
            order[n1++] = v;
        } else {
            break;   /* cannot happen: every remaining node is somewhere */
        }
        take(&e, g, v);
        left--;
    }
    while (n2)
        order[n1++] = s2[--n2];
    free(s2);
    uint32_t *rank = (uint32_t *)pos;   /* reuse: k + 1 entries of 8 bytes */
    for (uint32_t i = 0; i < n1; i++)
        rank[order[i]] = i;

    /* Backward edges and self-loops (all parallel copies). */
    size_t first = mk_vec_len(out);
    for (uint32_t u = 0; u < k; u++) {
        uint32_t node = e.mem[u];
        for (uint64_t i = g->off[node]; i < g->off[node + 1]; i++) {
            uint32_t w = g->adj[i];
            if (w == node || ((x = local(&e, w)) != CF_NONE && rank[x] < rank[u]))
                *(uint64_t *)mk_vec_push(out) = i;
        }
    }

    /* Make it minimal: put back each edge whose return closes no cycle. */
    size_t nf = mk_vec_len(out) - first;
    uint64_t budget = (uint64_t)e.roff[k] * nf;
    if (nf > 1 && budget <= MINIMAL_BUDGET) {
        uint64_t lo = g->off[e.mem[0]], hi = g->off[e.mem[k - 1] + 1];
        uint8_t *cut = mk_xcalloc(hi - lo, 1);
        uint64_t *f = (uint64_t *)mk_vec_data(out) + first;
        for (size_t j = 0; j < nf; j++)
            cut[f[j] - lo] = 1;
        uint8_t *seen = mk_xcalloc(k, 1);
        uint32_t *q = mk_xmalloc(k * sizeof *q);
        size_t kept = 0;
        for (size_t j = 0; j < nf; j++) {
            uint64_t p = f[j];
            uint32_t u = 0, ub = k;   /* the member whose list holds p */
            while (ub - u > 1) {
                uint32_t mid = u + (ub - u) / 2;
                if (g->off[e.mem[mid]] <= p)
                    u = mid;
                else
                    ub = mid;
            }
            uint32_t w = local(&e, g->adj[p]);
            if (g->adj[p] != e.mem[u]) {
                /* Parallel copies go back together. */
                uint64_t a = p, z = p;
                while (a > g->off[e.mem[u]] && g->adj[a - 1] == g->adj[p])
                    a--;
                while (z + 1 < g->off[e.mem[u] + 1] && g->adj[z + 1] == g->adj[p])
                    z++;
                for (uint64_t t = a; t <= z; t++)
                    cut[t - lo] = 0;
                if (!reaches(g, &e, cut, lo, u, w, seen, q))
                    continue;   /* not needed: stays out of the set */
                for (uint64_t t = a; t <= z; t++)
                    cut[t - lo] = 1;
            }
            f[kept++] = p;
        }
        out->len = first + kept;
        free(cut);
        free(seen);
        free(q);
    }
    free(order);
    free(pos);
    free(e.in);
    free(e.out);
    free(e.gone);
    free(e.roff);
    free(e.radj);
    free(e.head);
    mk_vec_free(&e.sinks);
    mk_vec_free(&e.sources);
    mk_vec_free(&e.pool);
}
