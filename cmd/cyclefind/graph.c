/* graph — reading edge lists, freezing into sorted adjacency (see graph.h). */
#include "graph.h"

#include <stdlib.h>
#include <string.h>

#include "blocks.h"
#include "dot.h"
#include "err.h"

void cf_graph_init(cf_graph *g)
{
    memset(g, 0, sizeof *g);
    mk_intern_init(&g->names, 0);
    mk_intern_init(&g->labels, 0);
    mk_vec_init(&g->edges, sizeof(cf_edge));
    mk_vec_init(&g->elab, sizeof(uint32_t));
}

void cf_graph_free(cf_graph *g)
{
    mk_intern_free(&g->names);
    mk_intern_free(&g->labels);
    mk_vec_free(&g->edges);
    mk_vec_free(&g->elab);
    free(g->off);
    free(g->adj);
    free(g->lab);
    free(g->node_id);
    free(g->lab_id);
    memset(g, 0, sizeof *g);
}

/* ---- building ------------------------------------------------------------------- */

uint32_t cf_graph_node(cf_graph *g, const char *s, size_t n)
{
    return mk_intern_id(&g->names, s, n);
}

uint32_t cf_graph_label(cf_graph *g, const char *s, size_t n)
{
    return mk_intern_id(&g->labels, s, n);
}

void cf_graph_edge(cf_graph *g, uint32_t s, uint32_t d, uint32_t label)
{
    cf_edge *e = mk_vec_push(&g->edges);
    e->s = s;
    e->d = d;
    /* Labels cost nothing until the first one appears. */
    if (label == CF_NONE && !mk_vec_len(&g->elab))
        return;
    size_t have = mk_vec_len(&g->elab), need = mk_vec_len(&g->edges) - 1;
    if (have < need) {
        uint32_t *p = mk_vec_push_n(&g->elab, need - have);
        for (size_t i = 0; i < need - have; i++)
            p[i] = CF_NONE;
    }
    *(uint32_t *)mk_vec_push(&g->elab) = label;
}

/* ---- reading edge lists ------------------------------------------------------------ */

static int blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Whether the first significant line opens a DOT graph: its first word is
 * strict, digraph or graph (DOT keywords ignore case), or it starts a
 * C-style comment. An edge list whose first node is called "digraph" is
 * the price; it is documented. */
static int looks_dot(const char *p, size_t n)
{
    size_t i = 0, w;
    while (i < n && blank(p[i]))
        i++;
    if (n - i >= 2 && p[i] == '/' && (p[i + 1] == '*' || p[i + 1] == '/'))
        return 1;
    for (w = i; w < n && ((p[w] | 0x20) >= 'a' && (p[w] | 0x20) <= 'z'); w++)
        ;
    if (w < n && !blank(p[w]) && p[w] != '{')
        return 0;
    return (w - i == 6 && strncasecmp(p + i, "strict", 6) == 0) ||
           (w - i == 7 && strncasecmp(p + i, "digraph", 7) == 0) ||
           (w - i == 5 && strncasecmp(p + i, "graph", 5) == 0);
}

/* A parsed edge line waiting for its names to be looked up: the batch
 * hashes every name first and prefetches its slot, so the cache misses of
 * a big name table overlap instead of queueing. */
enum { BATCH = 64 };
typedef struct {
    const char *tok[2], *lab;
    uint32_t len[2], lablen;
    uint64_t h[2];
} pending;

static void flush(cf_graph *g, pending *b, size_t k)
{
    enum { AHEAD = 12 };   /* edges between a string's prefetch and its use */
    for (size_t i = 0; i < k; i++) {
        b[i].h[0] = mk_intern_hash(b[i].tok[0], b[i].len[0]);
        b[i].h[1] = mk_intern_hash(b[i].tok[1], b[i].len[1]);
        mk_intern_prefetch(&g->names, b[i].h[0]);
        mk_intern_prefetch(&g->names, b[i].h[1]);
    }
    for (size_t i = 0; i < k && i < AHEAD; i++) {
        mk_intern_prefetch_str(&g->names, b[i].h[0]);
        mk_intern_prefetch_str(&g->names, b[i].h[1]);
    }
    for (size_t i = 0; i < k; i++) {
        if (i + AHEAD < k) {
            mk_intern_prefetch_str(&g->names, b[i + AHEAD].h[0]);
            mk_intern_prefetch_str(&g->names, b[i + AHEAD].h[1]);
        }
        uint32_t s = mk_intern_id_hashed(&g->names, b[i].tok[0], b[i].len[0], b[i].h[0]);
        uint32_t d = mk_intern_id_hashed(&g->names, b[i].tok[1], b[i].len[1], b[i].h[1]);
        uint32_t l = b[i].lab ? cf_graph_label(g, b[i].lab, b[i].lablen) : CF_NONE;
        cf_graph_edge(g, s, d, l);
    }
}

/* One block of edge-list lines. Returns -1 on a malformed line (not lenient). */
static int edge_block(cf_graph *g, const mk_block *blk, const char *name, int lenient)
{
    pending b[BATCH];
    size_t k = 0;
    const char *p = blk->data, *end = p + blk->len;
    uint64_t line = blk->first_line;
    for (; p < end; line++) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        const char *q = p;
        p = eol + 1;
        while (q < eol && blank(*q))
            q++;
        if (q == eol || *q == '#')
            continue;
        pending *e = &b[k];
        int t;
        for (t = 0; t < 2 && q < eol; t++) {
            const char *s = q;
            while (q < eol && !blank(*q))
                q++;
            e->tok[t] = s;
            e->len[t] = (uint32_t)(q - s);
            while (q < eol && blank(*q))
                q++;
        }
        if (t < 2) {
            if (lenient) {
                g->skipped++;
                continue;
            }
            flush(g, b, k);
            return mk_err_set("%s:%llu: an edge needs a source and a target node, found one word "
                              "'%.*s'", name, (unsigned long long)line, (int)e->len[0] > 64 ? 64 :
                              (int)e->len[0], e->tok[0]);
        }
        /* The label is the rest of the line, blanks around it dropped. */
        const char *le = eol;
        while (le > q && blank(le[-1]))
            le--;
        e->lab = q < le ? q : NULL;
        e->lablen = (uint32_t)(le - q);
        if (++k == BATCH) {
            flush(g, b, k);
            k = 0;
        }
    }
    flush(g, b, k);
    return 0;
}

int cf_graph_read(cf_graph *g, mk_source *src, int lenient)
{
    mk_blocks_opts o;
    mk_blocks_defaults(&o);
    mk_blocks *bl = mk_blocks_open(src, &o);
    const char *name = mk_source_name(src);
    mk_block *blk;
    int r, first = 1, rc = 0;
    while ((r = mk_blocks_next(bl, &blk)) > 0) {
        if (first) {
            /* The first significant line decides the format. */
            const char *p = blk->data, *end = p + blk->len;
            while (p < end) {
                const char *eol = memchr(p, '\n', (size_t)(end - p));
                size_t n = eol ? (size_t)(eol - p) : (size_t)(end - p);
                size_t i = 0;
                while (i < n && blank(p[i]))
                    i++;
                if (i < n && p[i] != '#') {
                    first = 0;
                    if (looks_dot(p, n)) {
                        rc = cf_dot_read(g, bl, blk, name);
                        mk_blocks_close(bl);
                        return rc;
                    }
                    break;
                }
                p += n + 1;
            }
        }
        rc = edge_block(g, blk, name, lenient);
        mk_blocks_release(bl, blk);
        if (rc < 0)
            break;
    }
    if (r < 0)
        rc = -1;
    mk_blocks_close(bl);
    return rc;
}

/* ---- freezing ------------------------------------------------------------------- */

struct key {
    uint64_t pre;    /* 8 bytes of the name from the current depth, big-endian, zero padded */
    uint32_t id, len;
};

static uint64_t prefix(const char *p, size_t len, size_t depth)
{
    const unsigned char *s = (const unsigned char *)p;
    uint64_t pre = 0;
    for (size_t j = depth; j < depth + 8; j++)
        pre = pre << 8 | (j < len ? s[j] : 0);
    return pre;
}

/* The prefixes at depth of k[0..n), whose ids are in random order: each
 * id's pointer is asked for 16 keys ahead and its string 8 ahead, so the
 * two cache misses per key overlap with the work on the others. */
static void prefixes(const mk_intern *in, struct key *k, size_t n, size_t depth)
{
    for (size_t i = 0; i < n; i++) {
        if (i + 16 < n)
            mk_intern_prefetch_id(in, k[i + 16].id);
        if (i + 8 < n)
            __builtin_prefetch(mk_intern_str(in, k[i + 8].id, NULL) + depth);
        k[i].pre = prefix(mk_intern_str(in, k[i].id, NULL), k[i].len, depth);
    }
}

/* LSD radix sort of k[0..n) by pre, t as scratch; the result is in k.
 * Passes over a byte every key shares are skipped. */
static void radix(struct key *k, struct key *t, size_t n)
{
    struct key *in = k;
    for (int shift = 0; shift < 64; shift += 8) {
        size_t cnt[256] = { 0 };
        for (size_t i = 0; i < n; i++)
            cnt[k[i].pre >> shift & 255]++;
        if (cnt[k[0].pre >> shift & 255] == n)
            continue;
        size_t sum = 0;
        for (int c = 0; c < 256; c++) {
            size_t x = cnt[c];
            cnt[c] = sum;
            sum += x;
        }
        for (size_t i = 0; i < n; i++)
            t[cnt[k[i].pre >> shift & 255]++] = k[i];
        struct key *x = k;
        k = t;
        t = x;
    }
    if (k != in)
        memcpy(in, k, n * sizeof *k);
}

/* Small runs: by prefix, then (for names equal but for trailing NULs,
 * the only ties left when no name goes on) by length. */
static void insertion(struct key *k, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        struct key x = k[i];
        size_t j = i;
        for (; j > 0 && (k[j - 1].pre > x.pre || (k[j - 1].pre == x.pre && k[j - 1].len > x.len)); j--)
            k[j] = k[j - 1];
        k[j] = x;
    }
}

/* The intern ids of in (or the n ids of subset), in byte order of their
 * strings: sorts on 8 bytes at a time, most significant first (each run of
 * equal bytes sorted again on the next 8: radix when big, insertion when
 * small). The first 8 bytes are read in id order (the strings lie in that
 * order); deeper ones only for the runs that need them. Returns a malloc'd
 * array. */
static uint32_t *sorted_ids(const mk_intern *in, const uint32_t *subset, size_t n)
{
    if (!subset)
        n = mk_intern_count(in);
    struct key *k = mk_xmalloc((n ? n : 1) * sizeof *k), *t = mk_xmalloc((n ? n : 1) * sizeof *t);
    struct run { size_t a, b, depth; };
    mk_vec todo;
    mk_vec_init(&todo, sizeof(struct run));
    for (size_t i = 0; i < n; i++) {
        uint32_t id = subset ? subset[i] : (uint32_t)i;
        size_t len;
        const char *s = mk_intern_str(in, id, &len);
        k[i] = (struct key){ prefix(s, len, 0), id, (uint32_t)len };
    }
    *(struct run *)mk_vec_push(&todo) = (struct run){ 0, n, 0 };
    while (mk_vec_len(&todo)) {
        struct run r = *(struct run *)mk_vec_pop(&todo);
        size_t m = r.b - r.a;
        if (r.depth)
            prefixes(in, k + r.a, m, r.depth);
        if (m <= 32)
            insertion(k + r.a, m);
        else
            radix(k + r.a, t, m);
        for (size_t i = r.a; i < r.b;) {
            size_t j = i + 1, longest = k[i].len;
            while (j < r.b && k[j].pre == k[i].pre) {
                if (k[j].len > longest)
                    longest = k[j].len;
                j++;
            }
            if (j - i > 1) {
                if (longest > r.depth + 8)
                    *(struct run *)mk_vec_push(&todo) = (struct run){ i, j, r.depth + 8 };
                else if (m > 32)   /* equal but for trailing NULs: by length */
                    insertion(k + i, j - i);
            }
            i = j;
        }
    }
    mk_vec_free(&todo);
    free(t);
    uint32_t *ids = (uint32_t *)k;   /* 4 bytes per entry, written behind the reads */
    for (size_t i = 0; i < n; i++)
        ids[i] = k[i].id;
    return mk_xrealloc(ids, (n ? n : 1) * sizeof *ids);
}

static uint32_t *inverse(const uint32_t *perm, size_t n)
{
    uint32_t *inv = mk_xmalloc((n ? n : 1) * sizeof *inv);
    for (size_t i = 0; i < n; i++)
        inv[perm[i]] = (uint32_t)i;
    return inv;
}

/* Sorting one node's targets (with labels: target << 32 | label rank, so
 * ties order by label name). Most lists are short; hubs get a quicksort
 * that recurses only into the smaller side (depth <= log2 n) and needs no
 * allocation, unlike glibc's qsort. */
#define DEFINE_SORT(name, T)                                                          \
    static void name(T *a, size_t n)                                                  \
    {                                                                                 \
        while (n > 16) {                                                              \
            T p = a[n / 2], lo = a[0], hi = a[n - 1];                                 \
            /* median of three */                                                     \
            if ((lo <= p && p <= hi) || (hi <= p && p <= lo)) {                       \
            } else if ((p <= lo && lo <= hi) || (hi <= lo && lo <= p)) {              \
                p = lo;                                                               \
            } else {                                                                  \
                p = hi;                                                               \
            }                                                                         \
            size_t i = 0, j = n - 1;                                                  \
            for (;;) {                                                                \
                while (a[i] < p)                                                      \
                    i++;                                                              \
                while (a[j] > p)                                                      \
                    j--;                                                              \
                if (i >= j)                                                           \
                    break;                                                            \
                T x = a[i];                                                           \
                a[i++] = a[j];                                                        \
                a[j--] = x;                                                           \
            }                                                                         \
            /* a[0..j] <= p <= a[j+1..n) */                                           \
            if (j + 1 < n - j - 1) {                                                  \
                name(a, j + 1);                                                       \
                a += j + 1;                                                           \
                n -= j + 1;                                                           \
            } else {                                                                  \
                name(a + j + 1, n - j - 1);                                           \
                n = j + 1;                                                            \
            }                                                                         \
        }                                                                             \
        for (size_t i = 1; i < n; i++) {                                              \
            T x = a[i];                                                               \
            size_t j = i;                                                             \
            for (; j > 0 && a[j - 1] > x; j--)                                        \
                a[j] = a[j - 1];                                                      \
            a[j] = x;                                                                 \
        }                                                                             \
    }

DEFINE_SORT(sort_list_u32, uint32_t)
DEFINE_SORT(sort_list_u64, uint64_t)

/* Sorts the label names (every one: there are few) and gives edges read
 * before the first label none. Returns label id -> rank, or NULL. */
static uint32_t *rank_labels(cf_graph *g, size_t m)
{
    if (!mk_vec_len(&g->elab))
        return NULL;
    g->lab_id = sorted_ids(&g->labels, NULL, 0);
    while (mk_vec_len(&g->elab) < m)   /* edges after the last label */
        *(uint32_t *)mk_vec_push(&g->elab) = CF_NONE;
    return inverse(g->lab_id, mk_intern_count(&g->labels));
}

/* Sorts each adjacency list off[v] .. off[v+1] of adj and counts repeated
 * targets and self-loops (each parallel self-loop too when multi), the
 * figures the summary reports. */
void cf_count_repeats(const uint64_t *off, uint32_t *adj, uint32_t n, int multi, uint64_t *dup,
                      uint64_t *loops)
{
    uint64_t d = 0, l = 0;
    for (uint32_t v = 0; v < n; v++) {
        uint64_t a = off[v], b = off[v + 1];
        sort_list_u32(adj + a, b - a);
        for (uint64_t i = a; i < b; i++) {
            if (i > a && adj[i] == adj[i - 1]) {
                d++;
                if (!multi)
                    continue;
            }
            l += adj[i] == v;
        }
    }
    *dup = d;
    *loops = l;
}

/* Compressed adjacency of g->n nodes from the edge array, whose ends are
 * already node numbers: a counting sort by source, then each list sorted
 * by target (and label rank) with repeats dropped unless multi. Frees the
 * edge arrays. */
static void adjacency(cf_graph *g, const uint32_t *lrank, int multi)
{
    size_t n = g->n, m = mk_vec_len(&g->edges);
    int labels = lrank != NULL;
    g->off = mk_xcalloc(n + 1, sizeof *g->off);
    cf_edge *e = mk_vec_data(&g->edges);
    const uint32_t *el = mk_vec_data(&g->elab);
    /* Counts, then a scatter: both walk the edges in order and touch
     * random nodes, each access asked for 16 edges ahead. */
    enum { AHEAD = 16 };
    for (size_t i = 0; i < m; i++) {
        if (i + AHEAD < m)
            __builtin_prefetch(&g->off[e[i + AHEAD].s + 1]);
        g->off[e[i].s + 1]++;
    }
    for (size_t v = 0; v < n; v++)
        g->off[v + 1] += g->off[v];
    uint64_t *pos = mk_xmalloc((n ? n : 1) * sizeof *pos);
    memcpy(pos, g->off, n * sizeof *pos);
    uint32_t *adj = mk_xmalloc((m ? m : 1) * sizeof *adj);
    uint64_t *wide = NULL;
    if (labels) {
        /* target << 32 | label rank (CF_NONE sorts last: unlabelled after
         * labelled, a fixed rule). */
        wide = mk_xmalloc((m ? m : 1) * sizeof *wide);
        for (size_t i = 0; i < m; i++) {
            if (i + AHEAD < m)
                __builtin_prefetch(&pos[e[i + AHEAD].s]);
            uint32_t l = el[i] == CF_NONE ? CF_NONE : lrank[el[i]];
            wide[pos[e[i].s]++] = (uint64_t)e[i].d << 32 | l;
        }
    } else {
        for (size_t i = 0; i < m; i++) {
            if (i + AHEAD < m)
                __builtin_prefetch(&pos[e[i + AHEAD].s]);
            adj[pos[e[i].s]++] = e[i].d;
        }
    }
    free(pos);
    mk_vec_free(&g->edges);
    mk_vec_free(&g->elab);
    uint32_t *lab = labels ? mk_xmalloc((m ? m : 1) * sizeof *lab) : NULL;

    /* Sort, count and (unless multi) drop repeated targets, in place. */
    uint64_t w = 0, dup = 0, loops = 0;
    for (size_t v = 0; v < n; v++) {
        uint64_t a = g->off[v], b = g->off[v + 1];
        g->off[v] = w;
        if (labels)
            sort_list_u64(wide + a, b - a);
        else
            sort_list_u32(adj + a, b - a);
        uint32_t prev = CF_NONE;
        for (uint64_t i = a; i < b; i++) {
            uint32_t d = labels ? (uint32_t)(wide[i] >> 32) : adj[i];
            if (d == prev) {
                dup++;
                if (!multi)
                    continue;
            }
            prev = d;
            loops += d == v;
            adj[w] = d;
            if (labels)
                lab[w] = (uint32_t)wide[i];
            w++;
        }
    }
    g->off[n] = w;
    free(wide);
    g->m = w;
    g->adj = mk_xrealloc(adj, (w ? w : 1) * sizeof *adj);
    g->lab = labels ? mk_xrealloc(lab, (w ? w : 1) * sizeof *lab) : NULL;
    g->duplicates = dup;
    g->self_loops = loops;
}

/* Reading ends: no more lookups, so the name tables' slots go first. */
static size_t seal(cf_graph *g)
{
    size_t n = mk_intern_count(&g->names);
    if (n >= CF_NONE)
        mk_die("more than %lu nodes", (unsigned long)CF_NONE - 1);
    mk_intern_seal(&g->names);
    mk_intern_seal(&g->labels);
    g->n_all = (uint32_t)n;
    g->edges_read = mk_vec_len(&g->edges);
    return n;
}

void cf_graph_freeze(cf_graph *g, int multi)
{
    size_t n = seal(g), m = g->edges_read;
    g->n = (uint32_t)n;
    g->node_id = sorted_ids(&g->names, NULL, 0);
    uint32_t *rank = inverse(g->node_id, n);
    uint32_t *lrank = rank_labels(g, m);
    /* Names to ranks in place; each access asked for 16 edges ahead. */
    cf_edge *e = mk_vec_data(&g->edges);
    enum { AHEAD = 16 };
    for (size_t i = 0; i < m; i++) {
        if (i + AHEAD < m) {
            __builtin_prefetch(&rank[e[i + AHEAD].s]);
            __builtin_prefetch(&rank[e[i + AHEAD].d]);
        }
        e[i].s = rank[e[i].s];
        e[i].d = rank[e[i].d];
    }
    free(rank);
    adjacency(g, lrank, multi);
    free(lrank);
    g->m_all = g->m;
}

void cf_graph_freeze_part(cf_graph *g, int multi, const uint32_t *cls, uint32_t *scratch)
{
    size_t n = seal(g), m = g->edges_read;
    uint32_t *rank = scratch ? scratch : mk_xmalloc((n ? n : 1) * sizeof *rank);
    size_t k = 0;
    for (size_t v = 0; v < n; v++)
        if (cls[v])
            rank[k++] = (uint32_t)v;
    g->n = (uint32_t)k;
    g->node_id = sorted_ids(&g->names, rank, k);
    for (size_t v = 0; v < n; v++)
        rank[v] = CF_NONE;
    for (size_t i = 0; i < k; i++)
        rank[g->node_id[i]] = (uint32_t)i;
    uint32_t *lrank = rank_labels(g, m);
    /* The edges inside a class, renumbered, moved to the front in order. */
    cf_edge *e = mk_vec_data(&g->edges);
    uint32_t *el = mk_vec_data(&g->elab);
    size_t w = 0;
    for (size_t i = 0; i < m; i++) {
        uint32_t c = cls[e[i].s];
        if (!c || cls[e[i].d] != c)
            continue;
        e[w] = (cf_edge){ rank[e[i].s], rank[e[i].d] };
        if (lrank)
            el[w] = el[i];
        w++;
    }
    mk_vec_truncate(&g->edges, w);
    if (lrank)
        mk_vec_truncate(&g->elab, w);
    if (!scratch)
        free(rank);
    adjacency(g, lrank, multi);
    free(lrank);
}

/* ---- names ---------------------------------------------------------------------- */

const char *cf_name(const cf_graph *g, uint32_t v, size_t *len)
{
    return mk_intern_str(&g->names, g->node_id[v], len);
}

void cf_name_prefetch(const cf_graph *g, const uint32_t *v, size_t i, size_t n)
{
    if (i + 16 < n)
        mk_intern_prefetch_id(&g->names, g->node_id[v[i + 16]]);
    if (i + 8 < n)
        __builtin_prefetch(mk_intern_str(&g->names, g->node_id[v[i + 8]], NULL));
}

const char *cf_label(const cf_graph *g, uint32_t l, size_t *len)
{
    if (l == CF_NONE) {
        if (len)
            *len = 0;
        return NULL;
    }
    return mk_intern_str(&g->labels, g->lab_id[l], len);
}

int cf_find(const cf_graph *g, const char *s, size_t n, uint32_t *v)
{
    /* Nodes are in byte order of their names: binary search. */
    uint32_t lo = 0, hi = g->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        size_t len;
        const char *x = cf_name(g, mid, &len);
        size_t k = len < n ? len : n;
        int c = k ? memcmp(x, s, k) : 0;
        if (!c)
            c = (len > n) - (len < n);
        if (!c) {
            *v = mid;
            return 1;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}
