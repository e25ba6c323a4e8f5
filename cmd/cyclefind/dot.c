/* dot — a DOT digraph reader: tokenizer, then recursive descent over
 * statements (see dot.h). Recursion follows subgraph nesting only, which
 * is capped. */
#include "dot.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "graph.h"
#include "vec.h"

enum { MAX_DEPTH = 1000 };
enum { T_EOF = 256, T_ID, T_ARROW, T_DASH };

typedef struct {
    int type, quoted;
    uint64_t line;
    char *buf;
    size_t len, cap;
} token;

typedef struct {
    cf_graph *g;
    mk_blocks *bl;
    mk_block *blk;
    const char *p, *end, *name;
    uint64_t line;
    int back;                  /* a pushed-back byte, or -1 */
    int bol;                   /* at the beginning of a line */
    int src_err;               /* the block stream failed */
    token t[2];                /* the current token and one of lookahead */
    int ahead;                 /* t[1] holds a token */
    token *cur;                /* being lexed */
    /* node ids of the operands of the edge statements being read, and
     * every node mentioned inside open subgraphs */
    mk_vec ops, mention, cuts;
    int depth;
    char *label;               /* the label of the statement being read */
    size_t label_len, label_cap;
    int has_label;
} lex;

/* ---- bytes ------------------------------------------------------------------------ */

static int getb(lex *L)
{
    if (L->back >= 0) {
        int c = L->back;
        L->back = -1;
        return c;
    }
    while (L->p == L->end) {
        if (!L->blk)
            return -1;
        mk_blocks_release(L->bl, L->blk);
        L->blk = NULL;
        int r = mk_blocks_next(L->bl, &L->blk);
        if (r <= 0) {
            L->blk = NULL;
            L->src_err = r < 0;
            return -1;
        }
        L->p = L->blk->data;
        L->end = L->p + L->blk->len;
    }
    int c = (unsigned char)*L->p++;
    if (c == '\n')
        L->line++;
    return c;
}

/* One byte of pushback; it was counted (newlines) when first read. */
static void ungetb(lex *L, int c)
{
    L->back = c;
}

static void put(token *t, int c)
{
    if (t->len + 1 >= t->cap) {
        t->cap = t->cap ? t->cap * 2 : 256;
        t->buf = mk_xrealloc(t->buf, t->cap);
    }
    t->buf[t->len++] = (char)c;
    t->buf[t->len] = 0;
}

/* ---- tokens ----------------------------------------------------------------------- */

static int err_at(lex *L, uint64_t line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int err_at(lex *L, uint64_t line, const char *fmt, ...)
{
    if (L->src_err)
        return -1;   /* the stream's own message (truncated zstd, ...) stands */
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return mk_err_set("%s:%llu: %s", L->name, (unsigned long long)line, msg);
}

static int idchar(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c >= 128;
}

/* Skip blanks and comments; returns the first byte after them, -1 at the
 * end, -2 on an unterminated comment. A line starting with '#' is C
 * preprocessor output and ignored, as Graphviz does. */
static int skip_space(lex *L)
{
    for (;;) {
        int c = getb(L);
        if (c == '\n') {
            L->bol = 1;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v')
            continue;
        if (c == '#' && L->bol) {
            while ((c = getb(L)) >= 0 && c != '\n')
                ;
            continue;
        }
        L->bol = 0;
        if (c != '/')
            return c;
        int d = getb(L);
        if (d == '/') {
            while ((c = getb(L)) >= 0 && c != '\n')
                ;
            L->bol = 1;
            continue;
        }
        if (d != '*') {
            if (d >= 0)
                ungetb(L, d);
            return '/';
        }
        uint64_t start = L->line;
        int prev = 0;
        while ((c = getb(L)) >= 0 && !(prev == '*' && c == '/'))
            prev = c;
        if (c < 0) {
            err_at(L, start, "unterminated /* comment");
            return -2;
        }
    }
}

static int quoted(lex *L, token *t)
{
    uint64_t start = L->line;
    int c;
    while ((c = getb(L)) >= 0 && c != '"') {
        if (c == '\\') {
            int d = getb(L);
            if (d == '"') {
                put(t, '"');
                continue;
            }
            if (d == '\n')
                continue;   /* line continuation */
            put(t, '\\');
            if (d < 0)
                break;
            c = d;
        }
        put(t, c);
    }
    if (c < 0)
        return err_at(L, start, "unterminated quoted string");
    return 0;
}

static int html(lex *L, token *t)
{
    uint64_t start = L->line;
    int c, level = 1;
    while ((c = getb(L)) >= 0) {
        if (c == '<')
            level++;
        else if (c == '>' && --level == 0)
            return 0;
        put(t, c);
    }
    return err_at(L, start, "unterminated <html> id");
}

static int lex_token(lex *L, token *t)
{
    t->len = 0;
    put(t, 0);
    t->len = 0;
    t->quoted = 0;
    int c = skip_space(L);
    t->line = L->line;
    if (c == -2)
        return -1;
    if (c < 0) {
        t->type = T_EOF;
        return L->src_err ? -1 : 0;
    }
    if (c == '"') {
        t->type = T_ID;
        t->quoted = 1;
        if (quoted(L, t) < 0)
            return -1;
        for (;;) {   /* "a" + "b" is one id */
            int d = skip_space(L);
            if (d == -2)
                return -1;
            if (d != '+') {
                if (d >= 0)
                    ungetb(L, d);
                return 0;
            }
            if (skip_space(L) != '"')
                return err_at(L, L->line, "DOT syntax error: '+' must be followed by a quoted string");
            if (quoted(L, t) < 0)
                return -1;
        }
    }
    if (c == '<') {
        t->type = T_ID;
        t->quoted = 1;
        return html(L, t);
    }
    if (c == '-') {
        int d = getb(L);
        if (d == '>' || d == '-') {
            t->type = d == '>' ? T_ARROW : T_DASH;
            return 0;
        }
        if (d != '.' && !(d >= '0' && d <= '9'))
            return err_at(L, t->line, "DOT syntax error: unexpected '-'");
        put(t, '-');
        c = d;
    }
    if (c == '.' || (c >= '0' && c <= '9')) {
        t->type = T_ID;
        while (c == '.' || (c >= '0' && c <= '9')) {
            put(t, c);
            c = getb(L);
        }
        if (c >= 0)
            ungetb(L, c);
        return 0;
    }
    if (idchar(c)) {
        t->type = T_ID;
        while (c >= 0 && idchar(c)) {
            put(t, c);
            c = getb(L);
        }
        if (c >= 0)
            ungetb(L, c);
        return 0;
    }
    if (strchr("{}[];,=:", c)) {
        t->type = c;
        return 0;
    }
    return err_at(L, t->line, c >= 32 && c < 127 ? "DOT syntax error: unexpected character '%c'"
                                                 : "DOT syntax error: unexpected byte 0x%02x", c);
}

/* Make the next token current (t[0]). */
static int advance(lex *L)
{
    if (L->ahead) {
        token x = L->t[0];
        L->t[0] = L->t[1];
        L->t[1] = x;
        L->ahead = 0;
        return 0;
    }
    return lex_token(L, &L->t[0]);
}

static const token *peek(lex *L)
{
    if (!L->ahead) {
        if (lex_token(L, &L->t[1]) < 0)
            return NULL;
        L->ahead = 1;
    }
    return &L->t[1];
}

static int is_kw(const token *t, const char *kw)
{
    return t->type == T_ID && !t->quoted && strcasecmp(t->buf, kw) == 0;
}

static int expected(lex *L, const char *what)
{
    const token *t = &L->t[0];
    char s[2] = { (char)t->type, 0 };
    const char *found = t->type == T_EOF ? "end of input" : t->type == T_ARROW ? "->" : t->type == T_DASH ? "--"
                        : t->type == T_ID ? t->buf : s;
    return err_at(L, t->line, "DOT syntax error: expected %s, found '%.60s'", what, found);
}

/* ---- statements ------------------------------------------------------------------- */

static int stmt_list(lex *L);

/* [ a=b, c=d; ... ] [ ... ]; keeps a label. L->t[0] is '['. */
static int attr_list(lex *L)
{
    token *t = &L->t[0];
    while (t->type == '[') {
        for (;;) {
            if (advance(L) < 0)
                return -1;
            if (t->type == ']')
                break;
            if (t->type == ',' || t->type == ';')
                continue;
            if (t->type != T_ID)
                return expected(L, "an attribute name or ']'");
            int is_label = strcmp(t->buf, "label") == 0;
            const token *n = peek(L);
            if (!n)
                return -1;
            if (n->type != '=')
                continue;   /* a bare name */
            if (advance(L) < 0 || advance(L) < 0)
                return -1;
            if (t->type != T_ID)
                return expected(L, "an attribute value");
            if (is_label) {
                if (t->len + 1 > L->label_cap) {
                    L->label_cap = t->len + 1;
                    L->label = mk_xrealloc(L->label, L->label_cap);
                }
                memcpy(L->label, t->buf, t->len + 1);
                L->label_len = t->len;
                L->has_label = 1;
            }
        }
        if (advance(L) < 0)
            return -1;
    }
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* An edge operand at the current token: a node id (with optional port) or
 * a subgraph; its nodes go on L->ops. The token after it is current. */
static int operand(lex *L)
{
    token *t = &L->t[0];
    if (is_kw(t, "subgraph") || t->type == '{') {
        if (t->type != '{') {
            if (advance(L) < 0)
                return -1;
            if (t->type == T_ID && advance(L) < 0)
                return -1;
            if (t->type != '{')
                return expected(L, "'{' after subgraph");
        }
        if (++L->depth > MAX_DEPTH)
            return err_at(L, t->line, "subgraphs nested more than %d deep", MAX_DEPTH);
        size_t from = mk_vec_len(&L->mention);
        if (stmt_list(L) < 0)
            return -1;
        L->depth--;
        /* The subgraph's nodes, each once, are the operand; they stay
         * mentioned for the subgraphs around it. */
        size_t k = mk_vec_len(&L->mention) - from, u = 0;
        uint32_t *dst = k ? mk_vec_push_n(&L->ops, k) : NULL;
        if (k) {
            memcpy(dst, (uint32_t *)mk_vec_data(&L->mention) + from, k * sizeof *dst);
            qsort(dst, k, sizeof *dst, cmp_u32);
        }
        for (size_t i = 0; i < k; i++)
            if (!u || dst[i] != dst[u - 1])
                dst[u++] = dst[i];
        L->ops.len -= k - u;
        if (L->depth == 0)
            mk_vec_clear(&L->mention);
        return advance(L);
    }
    if (t->type != T_ID || is_kw(t, "node") || is_kw(t, "edge") || is_kw(t, "graph"))
        return expected(L, "a node id");
    uint32_t v = cf_graph_node(L->g, t->buf, t->len);
    if (L->depth > 0)
        *(uint32_t *)mk_vec_push(&L->mention) = v;
    *(uint32_t *)mk_vec_push(&L->ops) = v;
    if (advance(L) < 0)
        return -1;
    for (int k = 0; k < 2 && t->type == ':'; k++) {   /* port[:compass] */
        if (advance(L) < 0)
            return -1;
        if (t->type != T_ID)
            return expected(L, "a port name after ':'");
        if (advance(L) < 0)
            return -1;
    }
    return 0;
}

/* A node or edge statement: operands joined by '->', then attributes. The
 * edges are made last, when the label is known. */
static int node_or_edge(lex *L)
{
    token *t = &L->t[0];
    size_t base = mk_vec_len(&L->ops), cbase = mk_vec_len(&L->cuts);
    *(size_t *)mk_vec_push(&L->cuts) = base;
    if (operand(L) < 0)
        return -1;
    while (t->type == T_ARROW || t->type == T_DASH) {
        if (t->type == T_DASH)
            return err_at(L, t->line, "DOT syntax error: '--' in a digraph (use '->')");
        if (advance(L) < 0)
            return -1;
        *(size_t *)mk_vec_push(&L->cuts) = mk_vec_len(&L->ops);
        if (operand(L) < 0)
            return -1;
    }
    L->has_label = 0;
    if (t->type == '[' && attr_list(L) < 0)
        return -1;
    size_t nops = mk_vec_len(&L->cuts) - cbase;
    if (nops > 1) {
        uint32_t lab = L->has_label ? cf_graph_label(L->g, L->label, L->label_len) : CF_NONE;
        const size_t *cut = (const size_t *)mk_vec_data(&L->cuts) + cbase;
        const uint32_t *ops = mk_vec_data(&L->ops);
        size_t end = mk_vec_len(&L->ops);
        for (size_t i = 0; i + 1 < nops; i++) {
            size_t a1 = cut[i + 1], b1 = i + 2 < nops ? cut[i + 2] : end;
            for (size_t a = cut[i]; a < a1; a++)
                for (size_t b = a1; b < b1; b++)
                    cf_graph_edge(L->g, ops[a], ops[b], lab);
        }
    }
    L->cuts.len = cbase;
    L->ops.len = base;
    return 0;
}

/* Statements up to the closing '}' (current on return). L->t[0] is '{'. */
static int stmt_list(lex *L)
{
    token *t = &L->t[0];
    if (advance(L) < 0)
        return -1;
    for (;;) {
        if (t->type == '}')
            return 0;
        if (t->type == ';') {
            if (advance(L) < 0)
                return -1;
            continue;
        }
        if (t->type == T_EOF)
            return expected(L, "'}'");
        if (is_kw(t, "graph") || is_kw(t, "node") || is_kw(t, "edge")) {
            if (advance(L) < 0)
                return -1;
            if (t->type != '[')
                return expected(L, "'[' after an attribute statement");
            if (attr_list(L) < 0)
                return -1;
            continue;
        }
        if (t->type == T_ID && !is_kw(t, "subgraph")) {
            const token *n = peek(L);
            if (!n)
                return -1;
            if (n->type == '=') {   /* a graph attribute, not a node */
                if (advance(L) < 0 || advance(L) < 0)
                    return -1;
                if (t->type != T_ID)
                    return expected(L, "a value after '='");
                if (advance(L) < 0)
                    return -1;
                continue;
            }
        }
        if (node_or_edge(L) < 0)
            return -1;
    }
}

/* [strict] digraph [ID] { ... }, as many as there are. */
static int graphs(lex *L)
{
    token *t = &L->t[0];
    if (advance(L) < 0)
        return -1;
    while (t->type != T_EOF) {
        if (is_kw(t, "strict") && advance(L) < 0)
            return -1;
        if (is_kw(t, "graph"))
            return err_at(L, t->line, "an undirected graph ('graph'): cyclefind reads digraphs");
        if (!is_kw(t, "digraph"))
            return expected(L, "'digraph'");
        if (advance(L) < 0)
            return -1;
        if (t->type == T_ID && advance(L) < 0)
            return -1;
        if (t->type != '{')
            return expected(L, "'{'");
        if (stmt_list(L) < 0 || advance(L) < 0)
            return -1;
    }
    return 0;
}

int cf_dot_read(cf_graph *g, mk_blocks *bl, mk_block *first, const char *name)
{
    lex L;
    memset(&L, 0, sizeof L);
    L.g = g;
    L.bl = bl;
    L.blk = first;
    L.p = first->data;
    L.end = L.p + first->len;
    L.name = name;
    L.line = first->first_line;
    L.back = -1;
    L.bol = 1;
    mk_vec_init(&L.ops, sizeof(uint32_t));
    mk_vec_init(&L.mention, sizeof(uint32_t));
    mk_vec_init(&L.cuts, sizeof(size_t));
    int rc = graphs(&L);
    if (L.blk)
        mk_blocks_release(bl, L.blk);
    /* The rest of the stream is not read after an error; drain nothing. */
    mk_vec_free(&L.ops);
    mk_vec_free(&L.mention);
    mk_vec_free(&L.cuts);
    free(L.t[0].buf);
    free(L.t[1].buf);
    free(L.label);
    return rc;
}
