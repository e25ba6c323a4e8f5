/* gengraph — seeded directed graphs for the cyclefind benchmark.
 *
 * usage: gengraph [dot] random N M SEED
 *        gengraph [dot] heap N CYCLES SEED
 *        gengraph [dot] dense N P SEED
 *        gengraph [dot] chain N
 *        gengraph [dot] ring N
 *
 * Writes the graph to stdout as an edge list, `SRC DST [LABEL]` one edge a
 * line (the memkit graph format), or with `dot` first as a graphviz digraph
 * `digraph g { "SRC" -> "DST" [label="LABEL"]; ... }` with the same edges in
 * the same order. The same arguments give the same bytes.
 *
 * random  N nodes named 0..N-1, M edges with uniformly random ends
 *         (self-loops and duplicate edges as they fall).
 * heap    a forest of N nodes shaped like an object graph: half the nodes
 *         are named like addresses (0x7f3a12c4e0a8: distinct, 12 hex digits,
 *         8-byte aligned), half like Type#123 (a few type names, numbered
 *         1, 2, ... per type). Each non-root node has exactly one parent and
 *         the edge parent -> child carries a field name (next, child,
 *         items[3], __dict__, ...). The forest grows by attaching, to an
 *         existing node (the shallowest of three random picks), a single
 *         field, a linked list (head, next, next, ...; up to 4096 long) or a
 *         container with 1..2000 items. A new root (a module or a frame)
 *         starts now and then; the first shape after it hangs from it.
 *         At N = 2 M: median depth 14, 90 % under ~1900 (the nodes in long
 *         lists), deepest ~4700; fan-out up to 2000.
 *         Then exactly CYCLES back edges are planted: for cycle k a length L
 *         (1 + k % 50 when CYCLES >= 50, else spread evenly over 1..50) and
 *         an edge from a node v at depth d+L-1 back to its ancestor at
 *         depth d (L = 1: a self-loop v -> v). The L tree nodes of one cycle
 *         are never in another, so the graph has exactly CYCLES cyclic
 *         strongly connected components, each exactly one planted cycle.
 *         The back edges are placed at random among the tree edges. stderr
 *         gets `planted CYCLES cycles, lengths MIN..MAX, nodes in cycles K`.
 * dense   N nodes named 0..N-1; each ordered pair (i, j), i != j, is an edge
 *         with probability P percent (P may have decimals: 37.5).
 *         For elementary-cycle enumeration: with seed 1, N = 10, P = 70 has
 *         127 k simple cycles, N = 12, P = 60 1.54 M and N = 16, P = 35
 *         1.69 M (networkx's simple_cycles: 1 to 30 s).
 * chain   0 -> 1 -> ... -> N-1 (no cycle).
 * ring    the chain plus N-1 -> 0 (one cycle through every node).
 *
 * PRNG: splitmix64 seeded from SEED, never rand(). Plain C11. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* uniform in [0, n), n > 0; the bias of % is below 2^-32 for n < 2^32 */
static uint64_t below(uint64_t n) { return rnd() % n; }

static void seed(uint64_t s) { rng_state = s * 0xD1B54A32D192ED03ull + 0x2545F4914F6CDD1Dull; }

static int dot;

static _Noreturn void die(const char *msg)
{
    fprintf(stderr, "gengraph: %s\n", msg);
    exit(2);
}

static uint64_t num(const char *s, const char *what)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end) {
        fprintf(stderr, "gengraph: %s: not a number: %s\n", what, s);
        exit(2);
    }
    return v;
}

static void begin(void)
{
    if (dot)
        fputs("digraph g {\n", stdout);
}

static void edge(const char *a, const char *b, const char *label)
{
    if (dot) {
        if (label)
            printf("  \"%s\" -> \"%s\" [label=\"%s\"];\n", a, b, label);
        else
            printf("  \"%s\" -> \"%s\";\n", a, b);
    } else if (label) {
        printf("%s %s %s\n", a, b, label);
    } else {
        printf("%s %s\n", a, b);
    }
}

/* numbered edge without a label, the common case of random/dense/chain */
static void nedge(uint64_t a, uint64_t b)
{
    if (dot)
        printf("  \"%" PRIu64 "\" -> \"%" PRIu64 "\";\n", a, b);
    else
        printf("%" PRIu64 " %" PRIu64 "\n", a, b);
}

static int end(void)
{
    if (dot)
        fputs("}\n", stdout);
    return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}

/* ---- heap -------------------------------------------------------------- */

#define NONE UINT32_MAX

static const char *const types[] = { "Node", "dict", "list", "Buffer", "tuple", "Widget", "function", "cell" };
enum { T_NODE, T_DICT, T_LIST, T_BUFFER, T_TUPLE, T_WIDGET, T_FUNCTION, T_CELL, NTYPES, T_ADDR = 255 };
static const char *const fields[] = { "child",  "value",    "left",    "right", "data", "__dict__", "owner",
                                      "target", "callback", "f_back", "cell_contents", "buffer", "key" };
static const char *const heads[] = { "head", "first", "next" };
static const char *const holders[] = { "items", "__dict__", "children", "entries" };
static const char *const backs[] = { "parent", "prev", "owner", "__self__", "f_back", "root" };
enum { L_FIELD, L_ITEM, L_HEAD, L_NEXT, L_HOLDER };

typedef struct {
    uint32_t parent, depth;
    uint32_t num;    /* Type#num, or the address' index */
    uint32_t lnum;   /* field index, or k of items[k] */
    uint8_t type, lkind;
} hnode;

static hnode *hn;
static uint64_t addr_key;

/* a bijection on 37 bits: distinct indexes give distinct addresses */
static uint64_t addr_of(uint64_t i)
{
    const uint64_t m = (1ull << 37) - 1;
    uint64_t x = (i ^ addr_key) & m;
    x = (x * 0x9E3779B97F4A7C15ull) & m;
    x ^= x >> 17;
    x = (x * 0xC2B2AE3D27D4EB4Full) & m;
    x ^= x >> 19;
    x = (x * 0x165667B19E3779F9ull) & m;
    return 0x7f0000000000ull | x << 3;
}

static void hname(uint32_t i, char *buf, size_t n)
{
    if (hn[i].type == T_ADDR)
        snprintf(buf, n, "0x%012" PRIx64, addr_of(i));
    else
        snprintf(buf, n, "%s#%" PRIu32, types[hn[i].type], hn[i].num);
}

static void hlabel(uint32_t i, char *buf, size_t n)
{
    switch (hn[i].lkind) {
    case L_ITEM: snprintf(buf, n, "items[%" PRIu32 "]", hn[i].lnum); break;
    case L_HEAD: snprintf(buf, n, "%s", heads[hn[i].lnum]); break;
    case L_NEXT: snprintf(buf, n, "next"); break;
    case L_HOLDER: snprintf(buf, n, "%s", holders[hn[i].lnum]); break;
    default: snprintf(buf, n, "%s", fields[hn[i].lnum]); break;
    }
}

static uint32_t tcount[NTYPES];

/* new node n under parent p (NONE: a root); type T_ADDR half the time */
static void hnew(uint32_t n, uint32_t p, int type, int lkind, uint32_t lnum)
{
    hnode *h = &hn[n];
    h->parent = p;
    h->depth = p == NONE ? 0 : hn[p].depth + 1;
    h->lkind = (uint8_t)lkind;
    h->lnum = lnum;
    if (rnd() & 1) {
        h->type = T_ADDR;
        h->num = 0;
    } else {
        h->type = (uint8_t)type;
        h->num = ++tcount[type];
    }
}

typedef struct {
    uint32_t from, to, slot, len;
} back;

static int cmp_slot(const void *a, const void *b)
{
    const back *x = a, *y = b;
    return x->slot < y->slot ? -1 : x->slot > y->slot;
}

static int heap(uint64_t N, uint64_t C)
{
    if (N < 1 || N >= NONE)
        die("heap: N must be 1 .. 4294967294");
    hn = malloc(N * sizeof *hn);
    uint8_t *used = calloc(N, 1);
    back *bk = malloc((C ? C : 1) * sizeof *bk);
    if (!hn || !used || !bk)
        die("out of memory");
    addr_key = rnd();

    /* grow the forest */
    uint32_t n = 0, fresh_root = NONE;
    while (n < N) {
        if (n == 0 || below(5000) == 0) {
            hnew(n, NONE, below(2) ? T_FUNCTION : T_DICT, L_FIELD, 0);
            fresh_root = n++;
            continue;
        }
        uint32_t anchor = fresh_root;
        if (anchor == NONE) {           /* the shallowest of three picks */
            anchor = (uint32_t)below(n);
            for (int t = 0; t < 2; t++) {
                uint32_t o = (uint32_t)below(n);
                if (hn[o].depth < hn[anchor].depth)
                    anchor = o;
            }
        }
        fresh_root = NONE;
        uint64_t room = N - n, r = below(100);
        if (r < 35) {                   /* one field */
            hnew(n++, anchor, (int)below(NTYPES), L_FIELD, (uint32_t)below(sizeof fields / sizeof *fields));
        } else if (r < 60) {            /* a linked list */
            uint64_t q = below(100);
            uint64_t len = q < 70 ? 2 + below(15) : q < 95 ? 16 + below(241) : 256 + below(3841);
            if (len > room)
                len = room;
            hnew(n, anchor, T_NODE, L_HEAD, (uint32_t)below(3));
            for (uint64_t k = 1; k < len; k++, n++)
                hnew(n + 1, n, T_NODE, L_NEXT, 0);
            n++;
        } else {                        /* a container and its items */
            uint64_t q = below(100);
            uint64_t items = q < 60 ? 1 + below(8) : q < 90 ? 8 + below(93) : 100 + below(1901);
            if (items + 1 > room)
                items = room - 1;
            uint32_t c = n;
            hnew(n++, anchor, below(2) ? T_LIST : T_DICT, L_HOLDER, (uint32_t)below(4));
            for (uint64_t k = 0; k < items; k++)
                hnew(n++, c, (int)below(NTYPES), L_ITEM, (uint32_t)k);
        }
    }

    /* plant the cycles on disjoint tree paths */
    uint64_t lmin = 0, lmax = 0, total = 0;
    for (uint64_t k = 0; k < C; k++) {
        uint32_t L = C >= 50 ? (uint32_t)(1 + k % 50) : (uint32_t)(1 + (C > 1 ? k * 49 / (C - 1) : 0));
        uint64_t tries = 0;
        for (;;) {
            if (++tries > 100000000ull)
                die("heap: graph too small or too shallow for the cycles asked");
            uint32_t v = (uint32_t)below(N);
            if (hn[v].depth + 1 < L)
                continue;
            uint32_t u = v, ok = 1;
            for (uint32_t s = 0; s < L; s++) {
                if (used[u]) {
                    ok = 0;
                    break;
                }
                if (s + 1 < L)
                    u = hn[u].parent;
            }
            if (!ok)
                continue;
            for (uint32_t w = v, s = 0; s < L; s++, w = hn[w].parent)
                used[w] = 1;
            bk[k] = (back){ v, u, (uint32_t)below(N), L };
            break;
        }
        lmin = k == 0 || L < lmin ? L : lmin;
        lmax = L > lmax ? L : lmax;
        total += L;
    }
    qsort(bk, C, sizeof *bk, cmp_slot);

    /* write: tree edges in creation order, back edges among them */
    char a[64], b[64], l[64];
    begin();
    uint64_t j = 0;
    for (uint32_t i = 0; i < N; i++) {
        for (; j < C && bk[j].slot == i; j++) {
            hname(bk[j].from, a, sizeof a);
            hname(bk[j].to, b, sizeof b);
            edge(a, b, bk[j].len == 1 ? "self" : backs[(bk[j].from ^ bk[j].to) % (sizeof backs / sizeof *backs)]);
        }
        if (hn[i].parent == NONE)
            continue;
        hname(hn[i].parent, a, sizeof a);
        hname(i, b, sizeof b);
        hlabel(i, l, sizeof l);
        edge(a, b, l);
    }
    int rc = end();
    fprintf(stderr, "planted %" PRIu64 " cycles, lengths %" PRIu64 "..%" PRIu64 ", nodes in cycles %" PRIu64 "\n", C,
            lmin, lmax, total);
    free(hn);
    free(used);
    free(bk);
    return rc;
}

/* ---- the others --------------------------------------------------------- */

static int random_graph(uint64_t N, uint64_t M)
{
    if (N < 1)
        die("random: N must be >= 1");
    begin();
    for (uint64_t e = 0; e < M; e++) {
        uint64_t a = below(N);
        nedge(a, below(N));
    }
    return end();
}

static int dense(uint64_t N, double p)
{
    if (p < 0 || p > 100)
        die("dense: P is a percentage, 0 .. 100");
    /* compare 53 random bits with the threshold: exact for P = 0 and 100 */
    uint64_t lim = (uint64_t)(p / 100 * 9007199254740992.0);
    begin();
    for (uint64_t i = 0; i < N; i++)
        for (uint64_t j = 0; j < N; j++)
            if (i != j && (rnd() >> 11) < lim)
                nedge(i, j);
    return end();
}

static int chain(uint64_t N, int ring)
{
    begin();
    for (uint64_t i = 0; i + 1 < N; i++)
        nedge(i, i + 1);
    if (ring && N > 0)
        nedge(N - 1, 0);
    return end();
}

static _Noreturn void usage(void)
{
    fputs("usage: gengraph [dot] random N M SEED\n"
          "       gengraph [dot] heap N CYCLES SEED\n"
          "       gengraph [dot] dense N P SEED      (P in percent)\n"
          "       gengraph [dot] chain N\n"
          "       gengraph [dot] ring N\n",
          stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    static char buf[1 << 20];
    setvbuf(stdout, buf, _IOFBF, sizeof buf);
    int a = 1;
    if (a < argc && strcmp(argv[a], "dot") == 0) {
        dot = 1;
        a++;
    }
    if (a >= argc)
        usage();
    const char *mode = argv[a++];
    int nargs = argc - a;
    if (strcmp(mode, "random") == 0 && nargs == 3) {
        seed(num(argv[a + 2], "SEED"));
        return random_graph(num(argv[a], "N"), num(argv[a + 1], "M"));
    }
    if (strcmp(mode, "heap") == 0 && nargs == 3) {
        seed(num(argv[a + 2], "SEED"));
        return heap(num(argv[a], "N"), num(argv[a + 1], "CYCLES"));
    }
    if (strcmp(mode, "dense") == 0 && nargs == 3) {
        char *e;
        double p = strtod(argv[a + 1], &e);
        if (e == argv[a + 1] || *e)
            die("dense: P: not a number");
        seed(num(argv[a + 2], "SEED"));
        return dense(num(argv[a], "N"), p);
    }
    if ((strcmp(mode, "chain") == 0 || strcmp(mode, "ring") == 0) && nargs == 1)
        return chain(num(argv[a], "N"), mode[0] == 'r');
    usage();
}
