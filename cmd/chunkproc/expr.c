/* expr — the --where language (see expr.h). */
#include "expr.h"
#include "err.h"
#include "parse.h"

#include <ctype.h>
#include <regex.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef enum { N_OR, N_AND, N_NOT, N_CMP } node_kind;
typedef enum { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_RE, OP_NRE } op_kind;
typedef enum { V_COL, V_NUM, V_STR } val_kind;

typedef struct {
    val_kind kind;
    char *text;             /* column name or string literal (owned) */
    size_t len;
    double num;
    int col;                /* bound column index */
    size_t at;              /* column in the expression, for errors */
} value;

struct cp_expr {
    node_kind kind;
    cp_expr *l, *r;         /* N_OR/N_AND: both; N_NOT: l */
    op_kind op;
    value a, b;
    regex_t re;
    int has_re;
};

/* ---- tokens -------------------------------------------------------------- */

typedef enum { T_END, T_LP, T_RP, T_OP, T_AND, T_OR, T_NOT, T_IDENT, T_COLNUM, T_NUM, T_STR } tok_kind;

typedef struct {
    const char *src, *p;
    tok_kind kind;
    const char *start;      /* token text */
    size_t len;
    op_kind op;
    char *str;              /* T_STR / quoted T_IDENT: unescaped, owned until taken */
    int failed;
} lexer;

static int lex_error(lexer *lx, const char *at, const char *fmt, const char *what)
{
    if (!lx->failed)
        mk_err_set("column %zu: %s%s", (size_t)(at - lx->src) + 1, fmt, what ? what : "");
    lx->failed = 1;
    return -1;
}

/* Reads a quoted string ending in q, with doubled quotes as escapes. */
static int lex_quoted(lexer *lx, char q)
{
    const char *s = lx->p + 1;
    size_t cap = strlen(s) + 1, n = 0;
    char *out = mk_xmalloc(cap);
    for (const char *c = s;; c++) {
        if (!*c) {
            free(out);
            return lex_error(lx, lx->p, "unterminated quote", NULL);
        }
        if (*c == q) {
            if (c[1] == q) {
                out[n++] = q;
                c++;
                continue;
            }
            out[n] = 0;
            lx->str = out;
            lx->len = n;
            lx->p = c + 1;
            return 0;
        }
        out[n++] = *c;
    }
}

static int is_ident(int c) { return isalnum(c) || c == '_' || c == '.' || c == '-'; }

static int next(lexer *lx)
{
    free(lx->str);
    lx->str = NULL;
    while (isspace((unsigned char)*lx->p))
        lx->p++;
    const char *p = lx->p;
    lx->start = p;
    if (!*p) {
        lx->kind = T_END;
        lx->len = 0;
        return 0;
    }
    static const struct { const char *s; op_kind op; } ops[] = {
        { "==", OP_EQ }, { "!=", OP_NE }, { "<>", OP_NE }, { "<=", OP_LE }, { ">=", OP_GE },
        { "!~", OP_NRE }, { "=", OP_EQ }, { "<", OP_LT }, { ">", OP_GT }, { "~", OP_RE },
    };
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
        size_t n = strlen(ops[i].s);
        if (strncmp(p, ops[i].s, n) == 0) {
            lx->kind = T_OP;
            lx->op = ops[i].op;
            lx->len = n;
            lx->p = p + n;
            return 0;
        }
    }
    if (*p == '(' || *p == ')') {
        lx->kind = *p == '(' ? T_LP : T_RP;
        lx->len = 1;
        lx->p = p + 1;
        return 0;
    }
    if (*p == '\'' || *p == '"' || *p == '`') {
        lx->kind = *p == '`' ? T_IDENT : T_STR;
        return lex_quoted(lx, *p);
    }
    if (*p == '$') {
        const char *e = p + 1;
        while (isdigit((unsigned char)*e))
            e++;
        if (e == p + 1)
            return lex_error(lx, p, "expected a column number after '$'", NULL);
        lx->kind = T_COLNUM;
        lx->len = (size_t)(e - p);
        lx->p = e;
        return 0;
    }
    if (isdigit((unsigned char)*p) || ((*p == '-' || *p == '+' || *p == '.') && (isdigit((unsigned char)p[1]) || p[1] == '.'))) {
        const char *e = p + 1;
        while (is_ident((unsigned char)*e) || ((*e == '+' || *e == '-') && (e[-1] == 'e' || e[-1] == 'E')))
            e++;
        lx->kind = T_NUM;
        lx->len = (size_t)(e - p);
        lx->p = e;
        return 0;
    }
    if (isalpha((unsigned char)*p) || *p == '_') {
        const char *e = p + 1;
        while (is_ident((unsigned char)*e))
            e++;
        size_t n = (size_t)(e - p);
        lx->len = n;
        lx->p = e;
        lx->kind = n == 3 && strncasecmp(p, "and", 3) == 0 ? T_AND
                 : n == 2 && strncasecmp(p, "or", 2) == 0 ? T_OR
                 : n == 3 && strncasecmp(p, "not", 3) == 0 ? T_NOT : T_IDENT;
        return 0;
    }
    char what[8];
    snprintf(what, sizeof what, "'%c'", *p);
    return lex_error(lx, p, "unexpected character ", what);
}

/* ---- parser (recursive descent, lowest precedence first) ------------------- */

static cp_expr *parse_or(lexer *lx);

static const char *found(const lexer *lx)
{
    return lx->kind == T_END ? "the end" : NULL;
}

static int expect_error(lexer *lx, const char *what)
{
    char msg[160];
    const char *f = found(lx);
    if (f)
        snprintf(msg, sizeof msg, "%s, found the end of the expression", what);
    else
        snprintf(msg, sizeof msg, "%s, found '%.*s'", what, (int)(lx->len ? lx->len : 1), lx->start);
    return lex_error(lx, lx->start, msg, NULL);
}

static int parse_value(lexer *lx, value *v)
{
    v->at = (size_t)(lx->start - lx->src) + 1;
    v->col = -1;
    switch (lx->kind) {
    case T_IDENT:
        v->kind = V_COL;
        if (lx->str) {
            v->text = lx->str;
            v->len = lx->len;
            lx->str = NULL;
        } else {
            v->text = mk_xstrndup(lx->start, lx->len);
            v->len = lx->len;
        }
        break;
    case T_COLNUM:
        v->kind = V_COL;
        v->text = mk_xstrndup(lx->start, lx->len);
        v->len = lx->len;
        break;
    case T_NUM:
        v->kind = V_NUM;
        if (mk_parse_double(lx->start, lx->len, &v->num) < 0) {
            char msg[160];
            snprintf(msg, sizeof msg, "%s", mk_err_msg());
            return lex_error(lx, lx->start, msg, NULL);
        }
        v->text = mk_xstrndup(lx->start, lx->len);
        v->len = lx->len;
        break;
    case T_STR:
        v->kind = V_STR;
        v->text = lx->str;
        v->len = lx->len;
        lx->str = NULL;
        break;
    default:
        return expect_error(lx, "expected a column, number or string");
    }
    return next(lx);
}

static void free_node(cp_expr *e)
{
    if (!e)
        return;
    free_node(e->l);
    free_node(e->r);
    free(e->a.text);
    free(e->b.text);
    if (e->has_re)
        regfree(&e->re);
    free(e);
}

static cp_expr *parse_cmp(lexer *lx)
{
    if (lx->kind == T_LP) {
        if (next(lx) < 0)
            return NULL;
        cp_expr *e = parse_or(lx);
        if (!e)
            return NULL;
        if (lx->kind != T_RP) {
            expect_error(lx, "expected ')'");
            free_node(e);
            return NULL;
        }
        if (next(lx) < 0) {
            free_node(e);
            return NULL;
        }
        return e;
    }
    cp_expr *e = mk_xcalloc(1, sizeof *e);
    e->kind = N_CMP;
    if (parse_value(lx, &e->a) < 0)
        goto fail;
    if (lx->kind != T_OP) {
        expect_error(lx, "expected a comparison (= != < <= > >= ~ !~)");
        goto fail;
    }
    e->op = lx->op;
    const char *opat = lx->start;
    if (next(lx) < 0 || parse_value(lx, &e->b) < 0)
        goto fail;
    if (e->op == OP_RE || e->op == OP_NRE) {
        if (e->b.kind != V_STR) {
            lex_error(lx, opat, "a regular expression must be a quoted string", NULL);
            goto fail;
        }
        int rc = regcomp(&e->re, e->b.text, REG_EXTENDED | REG_NOSUB);
        if (rc != 0) {
            char why[128], msg[200];
            regerror(rc, &e->re, why, sizeof why);
            snprintf(msg, sizeof msg, "bad regular expression: %s", why);
            lex_error(lx, lx->src + e->b.at - 1, msg, NULL);
            goto fail;
        }
        e->has_re = 1;
    }
    if (e->a.kind != V_COL && e->b.kind != V_COL) {
        lex_error(lx, lx->src + e->a.at - 1, "a comparison needs at least one column", NULL);
        goto fail;
    }
    return e;
fail:
    free_node(e);
    return NULL;
}

static cp_expr *parse_not(lexer *lx)
{
    if (lx->kind != T_NOT)
        return parse_cmp(lx);
    if (next(lx) < 0)
        return NULL;
    cp_expr *inner = parse_not(lx);
    if (!inner)
        return NULL;
    cp_expr *e = mk_xcalloc(1, sizeof *e);
    e->kind = N_NOT;
    e->l = inner;
    return e;
}

static cp_expr *parse_chain(lexer *lx, tok_kind tk, node_kind nk, cp_expr *(*sub)(lexer *))
{
    cp_expr *l = sub(lx);
    while (l && lx->kind == tk) {
        if (next(lx) < 0) {
            free_node(l);
            return NULL;
        }
        cp_expr *r = sub(lx);
        if (!r) {
            free_node(l);
            return NULL;
        }
        cp_expr *e = mk_xcalloc(1, sizeof *e);
        e->kind = nk;
        e->l = l;
        e->r = r;
        l = e;
    }
    return l;
}

static cp_expr *parse_and(lexer *lx) { return parse_chain(lx, T_AND, N_AND, parse_not); }
static cp_expr *parse_or(lexer *lx) { return parse_chain(lx, T_OR, N_OR, parse_and); }

cp_expr *cp_expr_parse(const char *src)
{
    lexer lx = { .src = src, .p = src };
    cp_expr *e = NULL;
    if (next(&lx) == 0) {
        if (lx.kind == T_END)
            lex_error(&lx, lx.start, "empty expression", NULL);
        else if ((e = parse_or(&lx)) && lx.kind != T_END) {
            expect_error(&lx, "expected 'and', 'or' or the end");
            free_node(e);
            e = NULL;
        }
    }
    free(lx.str);
    return e;
}

/* ---- binding and evaluation ----------------------------------------------- */

static int bind_value(value *v, const mk_header *h)
{
    if (v->kind != V_COL)
        return 0;
    v->col = mk_header_find(h, v->text, v->len);
    if (v->col >= 0)
        return 0;
    const char *s = mk_header_suggest(h, v->text, v->len);
    if (s)
        return mk_err_set("column %zu: unknown column '%s' (did you mean '%s'?)", v->at, v->text, s);
    return mk_err_set("column %zu: unknown column '%s'", v->at, v->text);
}

int cp_expr_bind(cp_expr *e, const mk_header *h)
{
    if (!e)
        return 0;
    if (e->kind == N_CMP)
        return bind_value(&e->a, h) < 0 || bind_value(&e->b, h) < 0 ? -1 : 0;
    return cp_expr_bind(e->l, h) < 0 || cp_expr_bind(e->r, h) < 0 ? -1 : 0;
}

int cp_expr_max_column(const cp_expr *e)
{
    if (!e)
        return -1;
    if (e->kind == N_CMP)
        return e->a.col > e->b.col ? e->a.col : e->b.col;
    int l = cp_expr_max_column(e->l), r = cp_expr_max_column(e->r);
    return l > r ? l : r;
}

/* A field's value: unquoted into tmp only when it holds doubled quotes. */
static const char *field_value(const mk_field *f, char *tmp, size_t *len)
{
    if (f->flags & MK_FIELD_ESCAPED) {
        *len = mk_field_unquote(f, tmp);
        return tmp;
    }
    *len = f->len;
    return f->ptr;
}

static int number(const char *p, size_t n, double *d)
{
    if (!n || !(isdigit((unsigned char)*p) || *p == '-' || *p == '+' || *p == '.'))
        return 0;
    return mk_parse_double(p, n, d) == 0;
}

static int order(op_kind op, int c)
{
    switch (op) {
    case OP_EQ: return c == 0;
    case OP_NE: return c != 0;
    case OP_LT: return c < 0;
    case OP_LE: return c <= 0;
    case OP_GT: return c > 0;
    case OP_GE: return c >= 0;
    default: return 0;
    }
}

static int bytes_cmp(const char *a, size_t na, const char *b, size_t nb)
{
    int c = memcmp(a, b, na < nb ? na : nb);
    return c ? c : (na > nb) - (na < nb);
}

/* Three-valued, as in SQL: 1 true, 0 false, U unknown (a missing field, or a
 * number compared with a non-number). Only a true row matches, so `not` of an
 * unknown comparison still does not match a missing value. */
enum { U = -1 };

static int eval_cmp(const cp_expr *e, const mk_field *f, size_t nf, char *tmp)
{
    const char *ap, *bp;
    size_t an, bn;
    if (e->a.kind == V_COL) {
        if ((size_t)e->a.col >= nf || f[e->a.col].len == 0)
            return U;
        ap = field_value(&f[e->a.col], tmp, &an);
    } else {
        ap = e->a.text;
        an = e->a.len;
    }
    char *tmp2 = tmp + (ap == tmp ? an + 1 : 0);
    if (e->b.kind == V_COL) {
        if ((size_t)e->b.col >= nf || f[e->b.col].len == 0)
            return U;
        bp = field_value(&f[e->b.col], tmp2, &bn);
    } else {
        bp = e->b.text;
        bn = e->b.len;
    }
    if (e->op == OP_RE || e->op == OP_NRE) {
        char *s = tmp2 + (bp == tmp2 ? bn + 1 : 0);
        if (s != ap)
            memcpy(s, ap, an);
        s[an] = 0;
        int m = regexec(&e->re, s, 0, NULL, 0) == 0;
        return e->op == OP_RE ? m : !m;
    }
    if (e->a.kind == V_NUM || e->b.kind == V_NUM) {
        double x, y;
        if (e->a.kind == V_NUM)
            x = e->a.num;
        else if (!number(ap, an, &x))
            return U;
        if (e->b.kind == V_NUM)
            y = e->b.num;
        else if (!number(bp, bn, &y))
            return U;
        return order(e->op, (x > y) - (x < y));
    }
    if (e->a.kind == V_COL && e->b.kind == V_COL) {
        double x, y;
        if (number(ap, an, &x) && number(bp, bn, &y))
            return order(e->op, (x > y) - (x < y));
    }
    return order(e->op, bytes_cmp(ap, an, bp, bn));
}

static int eval3(const cp_expr *e, const mk_field *f, size_t nf, char *tmp)
{
    int l, r;
    switch (e->kind) {
    case N_OR:
        if ((l = eval3(e->l, f, nf, tmp)) == 1)
            return 1;
        r = eval3(e->r, f, nf, tmp);
        return r == 1 ? 1 : (l == U || r == U) ? U : 0;
    case N_AND:
        if ((l = eval3(e->l, f, nf, tmp)) == 0)
            return 0;
        r = eval3(e->r, f, nf, tmp);
        return r == 0 ? 0 : (l == U || r == U) ? U : 1;
    case N_NOT:
        l = eval3(e->l, f, nf, tmp);
        return l == U ? U : !l;
    default:
        return eval_cmp(e, f, nf, tmp);
    }
}

int cp_expr_eval(const cp_expr *e, const mk_field *f, size_t nf, char *tmp)
{
    return eval3(e, f, nf, tmp) == 1;
}

void cp_expr_free(cp_expr *e)
{
    free_node(e);
}
