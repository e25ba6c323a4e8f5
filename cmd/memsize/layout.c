/* layout — struct layouts as gcc makes them, from YAML (see layout.h).
 *
 * The file has five parts, in the order a struct goes through them: C type
 * spellings (parse_type), the YAML reader (libyaml's document API: the
 * schema is nested, and every node keeps its mark for messages), resolution
 * (struct references, recursion, per-ABI sizes of every struct), the layout
 * (gcc's placement rules and pahole's hole accounting) and the search for
 * the best order.
 *
 * gcc's rules, from stor-layout.c (place_field, excess_unit_span,
 * update_alignment_for_field) with PCC_BITFIELD_TYPE_MATTERS, as they apply
 * to the three ABIs (positions in bits):
 *   - a plain member goes to the next multiple of its alignment (i386:
 *     x86_field_alignment caps long long, double and long double at 4);
 *   - a bitfield of width w whose type has alignment ta and size ts goes at
 *     the current bit p unless (p mod ta) + w > ts, then at the next
 *     multiple of ta: it may not span more alignment units than its type
 *     has (two 32-bit units for long long on i386, else one);
 *   - a zero-width bitfield moves p to the next multiple of ta;
 *   - the struct's alignment is the largest of its plain members'
 *     alignments, its named bitfields' type alignments and, on aarch64
 *     only (TARGET_ALIGN_ANON_BITFIELD), its zero-width bitfields'; its size
 *     is the bits rounded up to bytes, then to that alignment. */
#include "layout.h"

#include "arena.h"
#include "err.h"
#include "map.h"
#include "parse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

typedef unsigned __int128 u128;

/* One struct's size and alignment on one ABI; err is set (arena string)
 * when the struct cannot be laid out there. */
typedef struct {
    uint64_t size, align;
    const char *err;
    int done;
} sinfo;

struct ml_priv {
    mk_arena arena;
    mk_map names;              /* struct name -> index + 1 */
    int resolved;
    sinfo *info[ML_NABI];      /* per struct, once resolved */
};

/* ---- ABIs and scalar types ------------------------------------------------ */

static const struct { uint8_t size, align; } SC[ML_NABI][ML_T_COUNT] = {
    [ML_ABI_X86_64] = {
        [ML_T_CHAR] = { 1, 1 }, [ML_T_SHORT] = { 2, 2 }, [ML_T_INT] = { 4, 4 },
        [ML_T_LONG] = { 8, 8 }, [ML_T_LLONG] = { 8, 8 }, [ML_T_BOOL] = { 1, 1 },
        [ML_T_FLOAT] = { 4, 4 }, [ML_T_DOUBLE] = { 8, 8 }, [ML_T_LDOUBLE] = { 16, 16 },
        [ML_T_PTR] = { 8, 8 } },
    [ML_ABI_I386] = {
        [ML_T_CHAR] = { 1, 1 }, [ML_T_SHORT] = { 2, 2 }, [ML_T_INT] = { 4, 4 },
        [ML_T_LONG] = { 4, 4 }, [ML_T_LLONG] = { 8, 4 }, [ML_T_BOOL] = { 1, 1 },
        [ML_T_FLOAT] = { 4, 4 }, [ML_T_DOUBLE] = { 8, 4 }, [ML_T_LDOUBLE] = { 12, 4 },
        [ML_T_PTR] = { 4, 4 } },
    [ML_ABI_AARCH64] = {
        [ML_T_CHAR] = { 1, 1 }, [ML_T_SHORT] = { 2, 2 }, [ML_T_INT] = { 4, 4 },
        [ML_T_LONG] = { 8, 8 }, [ML_T_LLONG] = { 8, 8 }, [ML_T_BOOL] = { 1, 1 },
        [ML_T_FLOAT] = { 4, 4 }, [ML_T_DOUBLE] = { 8, 8 }, [ML_T_LDOUBLE] = { 16, 16 },
        [ML_T_PTR] = { 8, 8 } },
};

static const char *const ABI_NAMES[ML_NABI] = { "x86_64", "i386", "aarch64" };

int ml_abi_parse(const char *s, ml_abi *abi)
{
    static const struct { const char *name; ml_abi abi; } names[] = {
        { "x86_64", ML_ABI_X86_64 }, { "amd64", ML_ABI_X86_64 }, { "x86-64", ML_ABI_X86_64 },
        { "i386", ML_ABI_I386 }, { "i686", ML_ABI_I386 }, { "x86", ML_ABI_I386 },
        { "aarch64", ML_ABI_AARCH64 }, { "arm64", ML_ABI_AARCH64 },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i].name) == 0) {
            *abi = names[i].abi;
            return 0;
        }
    return mk_err_set("unknown ABI '%.40s' (valid: x86_64, i386, aarch64)", s);
}

const char *ml_abi_name(ml_abi abi)
{
    return (unsigned)abi < ML_NABI ? ABI_NAMES[abi] : "?";
}

/* Quotes at most 48 bytes of s for a message, escaping what is not printable. */
static const char *qt(char *buf, size_t cap, const char *s, size_t n)
{
    size_t o = 0, i = 0;
    for (; i < n && o + 5 < cap && i < 48; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\')
            buf[o++] = (char)c;
        else
            o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
    }
    if (i < n && o + 4 < cap)
        o += (size_t)snprintf(buf + o, cap - o, "...");
    buf[o] = 0;
    return buf;
}
#define QBUF 200

static int is_ident(const char *s, size_t n)
{
    if (n == 0 || !(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!(s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9')))
            return 0;
    return 1;
}

/* ---- C type spellings -------------------------------------------------------- */

enum {
    W_OTHER, W_SIGNED, W_UNSIGNED, W_CHAR, W_SHORT, W_INT, W_LONG, W_FLOAT, W_DOUBLE,
    W_VOID, W_BOOL, W_STRUCT, W_UNION, W_ENUM, W_CONST, W_VOLATILE, W_RESTRICT, W_NWORDS
};

static const char *const WORDS[W_NWORDS] = {
    [W_SIGNED] = "signed", [W_UNSIGNED] = "unsigned", [W_CHAR] = "char", [W_SHORT] = "short",
    [W_INT] = "int", [W_LONG] = "long", [W_FLOAT] = "float", [W_DOUBLE] = "double",
    [W_VOID] = "void", [W_BOOL] = "_Bool", [W_STRUCT] = "struct", [W_UNION] = "union",
    [W_ENUM] = "enum", [W_CONST] = "const", [W_VOLATILE] = "volatile",
    [W_RESTRICT] = "restrict",
};

static int word_of(const char *s, size_t n)
{
    for (int w = 1; w < W_NWORDS; w++)
        if (strlen(WORDS[w]) == n && memcmp(WORDS[w], s, n) == 0)
            return w;
    if (n == 4 && memcmp(s, "bool", 4) == 0)
        return W_BOOL;
    return W_OTHER;
}

static const struct { const char *name; ml_scalar sc; ml_kind kind; } TYPEDEFS[] = {
    { "size_t", ML_T_LONG, ML_KIND_UNSIGNED },    { "ssize_t", ML_T_LONG, ML_KIND_SIGNED },
    { "ptrdiff_t", ML_T_LONG, ML_KIND_SIGNED },   { "intptr_t", ML_T_LONG, ML_KIND_SIGNED },
    { "uintptr_t", ML_T_LONG, ML_KIND_UNSIGNED }, { "intmax_t", ML_T_LLONG, ML_KIND_SIGNED },
    { "uintmax_t", ML_T_LLONG, ML_KIND_UNSIGNED }, { "int8_t", ML_T_CHAR, ML_KIND_SIGNED },
    { "uint8_t", ML_T_CHAR, ML_KIND_UNSIGNED },   { "int16_t", ML_T_SHORT, ML_KIND_SIGNED },
    { "uint16_t", ML_T_SHORT, ML_KIND_UNSIGNED }, { "int32_t", ML_T_INT, ML_KIND_SIGNED },
    { "uint32_t", ML_T_INT, ML_KIND_UNSIGNED },   { "int64_t", ML_T_LLONG, ML_KIND_SIGNED },
    { "uint64_t", ML_T_LLONG, ML_KIND_UNSIGNED },
};

typedef struct {
    ml_kind kind;
    ml_scalar scalar;
    const char *sname;         /* struct NAME by value: into the parsed text */
    size_t slen;
} tinfo;

enum { MAXTOK = 32 };

/* Parses a type spelling: scalars in any valid C word order, typedefs from
 * TYPEDEFS, struct NAME, and pointers to anything that could be a type.
 * Qualifiers are accepted and kept in the spelling. norm (cap >= 2n + 1)
 * gets the spelling with blanks normalised; t->sname points into s. 0, or
 * -1 with an unlocated mk_err. */
static int parse_type(const char *s, size_t n, char *norm, tinfo *t)
{
    char q[QBUF];
    struct { const char *p; size_t n; int w; } tok[MAXTOK];
    size_t nt = 0;
    for (size_t i = 0; i < n;) {
        char c = s[i];
        if (c == ' ' || c == '\t') {
            i++;
            continue;
        }
        if (nt == MAXTOK)
            return mk_err_set("type '%s' has too many words", qt(q, sizeof q, s, n));
        if (c == '*') {
            tok[nt].p = s + i, tok[nt].n = 1, tok[nt++].w = -1;
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && (s[j] == '_' || (s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z') ||
                         (s[j] >= '0' && s[j] <= '9')))
            j++;
        if (j == i || (c >= '0' && c <= '9')) {
            if (c == '(')
                return mk_err_set("type '%s': function pointers are not supported (use void *)",
                                  qt(q, sizeof q, s, n));
            if (c == '[')
                return mk_err_set("type '%s': give an array's length as count:, not in the type",
                                  qt(q, sizeof q, s, n));
            return mk_err_set("type '%s': unexpected '%s'", qt(q, sizeof q, s, n),
                              qt(q + 100, sizeof q - 100, s + i, 1));
        }
        tok[nt].p = s + i, tok[nt].n = j - i, tok[nt].w = word_of(s + i, j - i);
        nt++;
        i = j;
    }
    if (nt == 0)
        return mk_err_set("empty type");

    /* The spelling, blanks normalised: "unsigned  long*" -> "unsigned long *". */
    size_t o = 0;
    for (size_t i = 0; i < nt; i++) {
        if (i && !(tok[i].w == -1 && tok[i - 1].w == -1))
            norm[o++] = ' ';
        memcpy(norm + o, tok[i].p, tok[i].n);
        o += tok[i].n;
    }
    norm[o] = 0;

    size_t fs = 0;               /* first '*' */
    while (fs < nt && tok[fs].w != -1)
        fs++;
    int ptr = fs < nt;
    for (size_t i = fs; i < nt; i++)
        if (tok[i].w != -1 && tok[i].w != W_CONST && tok[i].w != W_VOLATILE &&
            tok[i].w != W_RESTRICT)
            return mk_err_set("type '%s': only '*' and qualifiers may follow '*'", norm);

    /* The base words, qualifiers dropped. */
    int cnt[W_NWORDS] = { 0 };
    size_t nb = 0, other = 0, first = 0;
    int firstw = 0;
    for (size_t i = 0; i < fs; i++) {
        int w = tok[i].w;
        if (w == W_CONST || w == W_VOLATILE)
            continue;
        if (w == W_RESTRICT)
            return mk_err_set("type '%s': restrict applies to pointers only", norm);
        if (!nb)
            first = i, firstw = w;
        cnt[w]++;
        nb++;
        if (w == W_OTHER)
            other = i;
    }
    if (nb == 0)
        return mk_err_set("type '%s' has no base type", norm);

    memset(t, 0, sizeof *t);
    if (ptr) {
        t->kind = ML_KIND_POINTER;
        t->scalar = ML_T_PTR;
    }

    if (cnt[W_STRUCT] || cnt[W_UNION] || cnt[W_ENUM]) {
        const char *what = cnt[W_STRUCT] ? "struct" : cnt[W_UNION] ? "union" : "enum";
        size_t name = first + 1;
        while (name < fs && (tok[name].w == W_CONST || tok[name].w == W_VOLATILE))
            name++;
        if (nb != 2 || (firstw != W_STRUCT && firstw != W_UNION && firstw != W_ENUM) ||
            name >= fs || tok[name].w != W_OTHER)
            return mk_err_set("type '%s': write %s NAME", norm, what);
        if (ptr)
            return 0;
        if (firstw != W_STRUCT)
            return mk_err_set("type '%s': %ss are not supported by value (a pointer is fine)", norm,
                              what);
        t->kind = ML_KIND_STRUCT;
        t->scalar = ML_T_NONE;
        t->sname = tok[name].p;
        t->slen = tok[name].n;
        return 0;
    }
    if (cnt[W_OTHER]) {
        if (nb != 1)
            return mk_err_set("type '%s' is not a C type", norm);
        for (size_t i = 0; i < sizeof TYPEDEFS / sizeof TYPEDEFS[0]; i++)
            if (strlen(TYPEDEFS[i].name) == tok[other].n &&
                memcmp(TYPEDEFS[i].name, tok[other].p, tok[other].n) == 0) {
                if (!ptr)
                    t->kind = TYPEDEFS[i].kind, t->scalar = TYPEDEFS[i].sc;
                return 0;
            }
        if (ptr)
            return 0;         /* a pointer to any named type */
        return mk_err_set("unknown type '%s' (known: C integer and floating types, bool, size_t, "
                          "ssize_t, ptrdiff_t, intptr_t, uintptr_t, intN_t, uintN_t, pointers, "
                          "struct NAME)", norm);
    }

    int sign = cnt[W_SIGNED], uns = cnt[W_UNSIGNED];
    int bad = sign + uns > 1 || cnt[W_CHAR] > 1 || cnt[W_SHORT] > 1 || cnt[W_INT] > 1 ||
              cnt[W_LONG] > 2 || cnt[W_FLOAT] > 1 || cnt[W_DOUBLE] > 1 || cnt[W_VOID] > 1 ||
              cnt[W_BOOL] > 1;
    ml_scalar sc = ML_T_NONE;
    ml_kind kind = uns ? ML_KIND_UNSIGNED : ML_KIND_SIGNED;
    if (!bad) {
        if (cnt[W_VOID] || cnt[W_BOOL] || cnt[W_FLOAT]) {
            bad = nb != 1;
            sc = cnt[W_BOOL] ? ML_T_BOOL : cnt[W_FLOAT] ? ML_T_FLOAT : ML_T_NONE;
            kind = cnt[W_BOOL] ? ML_KIND_BOOL : ML_KIND_FLOAT;
        } else if (cnt[W_DOUBLE]) {
            bad = nb != 1 + (size_t)cnt[W_LONG] || cnt[W_LONG] > 1;
            sc = cnt[W_LONG] ? ML_T_LDOUBLE : ML_T_DOUBLE;
            kind = ML_KIND_FLOAT;
        } else if (cnt[W_CHAR]) {
            bad = cnt[W_SHORT] || cnt[W_LONG] || cnt[W_INT];
            sc = ML_T_CHAR;
            if (!sign && !uns)
                kind = ML_KIND_CHAR;
        } else if (cnt[W_SHORT]) {
            bad = cnt[W_LONG] != 0;
            sc = ML_T_SHORT;
        } else if (cnt[W_LONG]) {
            sc = cnt[W_LONG] == 2 ? ML_T_LLONG : ML_T_LONG;
        } else {
            sc = ML_T_INT;
        }
    }
    if (bad)
        return mk_err_set("type '%s' is not a C type", norm);
    if (ptr)
        return 0;
    if (cnt[W_VOID])
        return mk_err_set("type '%s': void is not a field type (void * is)", norm);
    t->kind = kind;
    t->scalar = sc;
    return 0;
}

static int is_int_kind(ml_kind k)
{
    return k == ML_KIND_SIGNED || k == ML_KIND_UNSIGNED || k == ML_KIND_CHAR || k == ML_KIND_BOOL;
}

/* Widest bitfield a scalar takes on an ABI. */
static unsigned max_bits(ml_abi abi, ml_scalar sc)
{
    return sc == ML_T_BOOL ? 1u : SC[abi][sc].size * 8u;
}

/* ---- the YAML reader ----------------------------------------------------------- */

typedef struct {
    ml_doc *d;
    mk_arena *a;
    yaml_document_t *doc;
    const char *text;          /* the source, for raw values */
    size_t len;
    mk_map fieldnames;         /* of the struct being read: name -> index + 1 */
    mk_map classnames, attrs;
} loader;

static int at(const loader *l, yaml_mark_t m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int at(const loader *l, yaml_mark_t m, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return mk_err_set("%s:%zu:%zu: %s", l->d->file, m.line + 1, m.column + 1, msg);
}

/* Adds "FILE:LINE:COL: what: " before the message already in mk_err. */
static int at_prefix(const loader *l, yaml_mark_t m, const char *what)
{
    return mk_err_prefix("%s:%zu:%zu: %s: ", l->d->file, m.line + 1, m.column + 1, what);
}

static yaml_node_t *node(const loader *l, int id)
{
    return yaml_document_get_node(l->doc, id);
}

static const char *node_kind(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE ? "a value" : n->type == YAML_SEQUENCE_NODE ? "a list"
                                                                                    : "a mapping";
}

static int is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    const char *v = (const char *)n->data.scalar.value;
    size_t len = n->data.scalar.length;
    return len == 0 || (len == 1 && *v == '~') ||
           (len == 4 && (!memcmp(v, "null", 4) || !memcmp(v, "Null", 4) || !memcmp(v, "NULL", 4)));
}

/* A scalar's text; NUL bytes inside are refused. */
static int scalar(const loader *l, const yaml_node_t *n, const char *what, const char **s,
                  size_t *len)
{
    if (n->type != YAML_SCALAR_NODE)
        return at(l, n->start_mark, "%s: expected a value, found %s", what, node_kind(n));
    *s = (const char *)n->data.scalar.value;
    *len = n->data.scalar.length;
    if (strlen(*s) != *len)
        return at(l, n->start_mark, "%s: the value contains a NUL byte", what);
    return 0;
}

/* A list's items; YAML null ("key:" with nothing) is the empty list. */
static int list(const loader *l, const yaml_node_t *n, const char *what, yaml_node_item_t **items,
                size_t *count)
{
    if (is_null(n)) {
        *items = NULL;
        *count = 0;
        return 0;
    }
    if (n->type != YAML_SEQUENCE_NODE)
        return at(l, n->start_mark, "%s: expected a list, found %s", what, node_kind(n));
    *items = n->data.sequence.items.start;
    *count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    return 0;
}

/* The index of a mapping key among valid[], refusing unknown and duplicate
 * keys (seen is a bit set of the keys met so far). */
static int key_of(const loader *l, const yaml_node_t *k, const char *const *valid, size_t nvalid,
                  unsigned *seen, const char *where)
{
    char q[QBUF];
    if (k->type != YAML_SCALAR_NODE)
        return at(l, k->start_mark, "keys must be plain names, found %s", node_kind(k));
    const char *s = (const char *)k->data.scalar.value;
    size_t n = k->data.scalar.length;
    for (size_t i = 0; i < nvalid; i++)
        if (strlen(valid[i]) == n && memcmp(valid[i], s, n) == 0) {
            if (*seen & (1u << i))
                return at(l, k->start_mark, "duplicate key '%s'%s", valid[i], where);
            *seen |= 1u << i;
            return (int)i;
        }
    char list_[200];
    size_t o = 0;
    for (size_t i = 0; i < nvalid; i++)
        o += (size_t)snprintf(list_ + o, sizeof list_ - o, "%s%s", i ? ", " : "", valid[i]);
    return at(l, k->start_mark, "unknown key '%s'%s (valid keys: %s)", qt(q, sizeof q, s, n), where,
              list_);
}

static int uint_value(const loader *l, const yaml_node_t *n, const char *what, uint64_t *out)
{
    const char *s;
    size_t len;
    if (scalar(l, n, what, &s, &len) < 0)
        return -1;
    if (len && *s == '+')
        s++, len--;
    int rc = len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') ? mk_parse_hex(s, len, out)
                                                                      : mk_parse_u64(s, len, out);
    return rc < 0 ? at_prefix(l, n->start_mark, what) : 0;
}

static int int_value(const loader *l, const yaml_node_t *n, const char *what, __int128 *out)
{
    const char *s;
    size_t len;
    uint64_t u;
    if (scalar(l, n, what, &s, &len) < 0)
        return -1;
    int neg = len && *s == '-';
    if (len && (*s == '-' || *s == '+'))
        s++, len--;
    int rc = len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') ? mk_parse_hex(s, len, &u)
                                                                      : mk_parse_u64(s, len, &u);
    if (rc < 0)
        return at_prefix(l, n->start_mark, what);
    *out = neg ? -(__int128)u : (__int128)u;
    return 0;
}

/* A name: a scalar; C identifiers when ident is set. */
static int name_value(const loader *l, const yaml_node_t *n, const char *what, int ident,
                      const char **out)
{
    char q[QBUF];
    const char *s;
    size_t len;
    if (scalar(l, n, what, &s, &len) < 0)
        return -1;
    if (len == 0)
        return at(l, n->start_mark, "%s: empty name", what);
    if (ident && !is_ident(s, len))
        return at(l, n->start_mark, "%s: '%s' is not a C identifier", what, qt(q, sizeof q, s, len));
    *out = mk_arena_strdup(l->a, s, len);
    return 0;
}

/* The YAML text of a node as written (a scalar's value for scalars). */
static const char *const FIELD_KEYS[] = { "name", "type", "count", "bits", "range", "distinct" };
static const char *const STRUCT_KEYS[] = { "name", "count", "fields" };
static const char *const CLASS_KEYS[] = { "name", "count", "attrs", "list_len", "distinct", "str_len" };
static const char *const ROOT_KEYS[] = { "structs", "classes" };
#define NKEYS(a) (sizeof(a) / sizeof(a[0]))

static int read_field(loader *l, const ml_struct *st, const yaml_node_t *n, ml_field *f)
{
    char q[QBUF];
    if (n->type != YAML_MAPPING_NODE)
        return at(l, n->start_mark, "struct '%s': a field is a mapping with name and type, found %s",
                  st->name, node_kind(n));
    memset(f, 0, sizeof *f);
    f->name = "";
    f->line = n->start_mark.line + 1;
    f->col = n->start_mark.column + 1;
    f->struct_index = -1;
    unsigned seen = 0;
    const yaml_node_t *tnode = NULL, *bnode = NULL, *cnode = NULL, *nnode = NULL;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = node(l, p->key), *v = node(l, p->value);
        int ki = key_of(l, k, FIELD_KEYS, NKEYS(FIELD_KEYS), &seen, " in a field");
        if (ki < 0)
            return -1;
        switch (ki) {
        case 0:
            if (name_value(l, v, "name", 1, &f->name) < 0)
                return -1;
            nnode = v;
            break;
        case 1:
            tnode = v;
            break;
        case 2:
            if (uint_value(l, v, "count", &f->count) < 0)
                return -1;
            if (f->count == 0)
                return at(l, v->start_mark, "count: an array needs at least 1 element "
                          "(leave count out for a single value)");
            cnode = v;
            break;
        case 3: {
            uint64_t b;
            if (uint_value(l, v, "bits", &b) < 0)
                return -1;
            if (b > 128)
                return at(l, v->start_mark, "bits: %llu is wider than any type",
                          (unsigned long long)b);
            f->bits = (unsigned)b;
            f->is_bitfield = 1;
            f->bits_line = v->start_mark.line + 1;
            f->bits_col = v->start_mark.column + 1;
            bnode = v;
            break;
        }
        case 4: {
            if (v->type != YAML_SEQUENCE_NODE ||
                v->data.sequence.items.top - v->data.sequence.items.start != 2)
                return at(l, v->start_mark, "range: expected [lo, hi], found %s",
                          v->type == YAML_SEQUENCE_NODE ? "a list of another length" : node_kind(v));
            const yaml_node_t *lo = node(l, v->data.sequence.items.start[0]);
            const yaml_node_t *hi = node(l, v->data.sequence.items.start[1]);
            if (int_value(l, lo, "range", &f->lo) < 0 || int_value(l, hi, "range", &f->hi) < 0)
                return -1;
            if (f->lo > f->hi)
                return at(l, v->start_mark, "range: lo is greater than hi");
            f->has_range = 1;
            break;
        }
        case 5:
            if (uint_value(l, v, "distinct", &f->distinct) < 0)
                return -1;
            f->has_distinct = 1;
            break;
        }
    }
    if (!tnode)
        return at(l, n->start_mark, "struct '%s': field %s%s%smissing 'type'", st->name,
                  *f->name ? "'" : "", f->name, *f->name ? "' " : "");
    if (!nnode && !(f->is_bitfield && f->bits == 0))
        return at(l, n->start_mark, "struct '%s': field missing 'name' (only bits: 0 may be "
                  "unnamed)", st->name);

    const char *ts;
    size_t tl;
    if (scalar(l, tnode, "type", &ts, &tl) < 0)
        return -1;
    char *norm = mk_arena_alloc_unaligned(l->a, 2 * tl + 2);
    tinfo ti;
    if (parse_type(ts, tl, norm, &ti) < 0)
        return mk_err_prefix("%s:%zu:%zu: ", l->d->file, tnode->start_mark.line + 1,
                             tnode->start_mark.column + 1);
    f->type = norm;
    f->type_line = tnode->start_mark.line + 1;
    f->type_col = tnode->start_mark.column + 1;
    f->kind = ti.kind;
    f->scalar = ti.scalar;

    if (f->is_bitfield) {
        if (cnode)
            return at(l, bnode->start_mark, "bits: an array cannot be a bitfield");
        if (!is_int_kind(f->kind))
            return at(l, bnode->start_mark, "bits: a bitfield needs an integer or bool type, not '%s'",
                      f->type);
        unsigned w = max_bits(ML_ABI_X86_64, f->scalar);
        if (f->bits > w)
            return at(l, bnode->start_mark, "bits: %u is wider than '%s' (%u bit%s)", f->bits,
                      f->type, w, w == 1 ? "" : "s");
    }
    if (*f->name) {
        int ins;
        uint64_t *v = mk_map_put(&l->fieldnames, f->name, strlen(f->name), &ins);
        if (!ins)
            return at(l, nnode->start_mark, "struct '%s': duplicate field '%s' (first at line %zu)",
                      st->name, qt(q, sizeof q, f->name, strlen(f->name)),
                      st->fields[*v - 1].line);
        *v = (uint64_t)(f - st->fields) + 1;
    }
    return 0;
}

static int read_struct(loader *l, const yaml_node_t *n, ml_struct *st)
{
    char q[QBUF];
    if (n->type != YAML_MAPPING_NODE)
        return at(l, n->start_mark, "structs: each struct is a mapping with name and fields, "
                  "found %s", node_kind(n));
    memset(st, 0, sizeof *st);
    st->line = n->start_mark.line + 1;
    st->col = n->start_mark.column + 1;
    unsigned seen = 0;
    const yaml_node_t *fields = NULL, *nnode = NULL;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = node(l, p->key), *v = node(l, p->value);
        int ki = key_of(l, k, STRUCT_KEYS, NKEYS(STRUCT_KEYS), &seen, " in a struct");
        if (ki < 0)
            return -1;
        if (ki == 0) {
            if (name_value(l, v, "name", 1, &st->name) < 0)
                return -1;
            nnode = v;
        } else if (ki == 1) {
            if (uint_value(l, v, "count", &st->count) < 0)
                return -1;
            st->has_count = 1;
        } else {
            fields = v;
        }
    }
    if (!nnode)
        return at(l, n->start_mark, "struct missing 'name'");
    if (!fields)
        return at(l, n->start_mark, "struct '%s': missing 'fields' (fields: [] for an empty struct)",
                  st->name);
    int ins;
    uint64_t *v = mk_map_put(&l->d->priv->names, st->name, strlen(st->name), &ins);
    if (!ins)
        return at(l, nnode->start_mark, "duplicate struct '%s' (first at line %zu)",
                  qt(q, sizeof q, st->name, strlen(st->name)), l->d->structs[*v - 1].line);
    *v = (uint64_t)(st - l->d->structs) + 1;

    yaml_node_item_t *items;
    size_t count;
    if (list(l, fields, "fields", &items, &count) < 0)
        return -1;
    st->fields = mk_arena_alloc(l->a, (count ? count : 1) * sizeof *st->fields);
    mk_map_clear(&l->fieldnames);
    for (size_t i = 0; i < count; i++) {
        if (read_field(l, st, node(l, items[i]), &st->fields[i]) < 0)
            return -1;
        st->nfields = i + 1;
    }
    return 0;
}

/* distinct: {ATTR: N} and str_len: {ATTR: L} of a class: mappings over
 * its attrs (l->attrs holds them), naming the same ones. */
static int strattr_map(loader *l, const ml_class *c, const yaml_node_t *m, const char *what)
{
    char q[QBUF];
    if (m->type != YAML_MAPPING_NODE)
        return at(l, m->start_mark, "class '%s': %s is a mapping from attr to a count, found %s", c->name, what,
                  node_kind(m));
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = node(l, p->key);
        const char *s;
        size_t len;
        if (scalar(l, k, what, &s, &len) < 0)
            return -1;
        if (!mk_map_get(&l->attrs, s, len))
            return at(l, k->start_mark, "class '%s': %s names '%s', which is not one of its attrs", c->name, what,
                      qt(q, sizeof q, s, len));
    }
    return 0;
}

static int read_strattrs(loader *l, ml_class *c, const yaml_node_t *dn, const yaml_node_t *ln,
                         const yaml_node_t *cls)
{
    char q[QBUF];
    if (!dn && !ln)
        return 0;
    if (!dn || !ln)
        return at(l, (dn ? dn : ln)->start_mark, "class '%s': distinct and str_len go together (how many "
                  "different strings an attr holds, and how long they are)", c->name);
    if (strattr_map(l, c, dn, "distinct") < 0 || strattr_map(l, c, ln, "str_len") < 0)
        return -1;
    size_t n = (size_t)(dn->data.mapping.pairs.top - dn->data.mapping.pairs.start);
    c->strs = mk_arena_alloc(l->a, (n ? n : 1) * sizeof *c->strs);
    for (yaml_node_pair_t *p = dn->data.mapping.pairs.start; p < dn->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = node(l, p->key), *v = node(l, p->value);
        ml_strattr *a = &c->strs[c->nstrs];
        const char *s;
        size_t len;
        if (scalar(l, k, "distinct", &s, &len) < 0 || uint_value(l, v, "distinct", &a->distinct) < 0)
            return -1;
        for (size_t i = 0; i < c->nstrs; i++)
            if (strlen(c->strs[i].attr) == len && memcmp(c->strs[i].attr, s, len) == 0)
                return at(l, k->start_mark, "class '%s': distinct names '%s' twice", c->name, qt(q, sizeof q, s, len));
        a->attr = mk_arena_strdup(l->a, s, len);
        int found = 0;
        for (yaml_node_pair_t *r = ln->data.mapping.pairs.start; r < ln->data.mapping.pairs.top; r++) {
            const yaml_node_t *lk = node(l, r->key);
            const char *ls;
            size_t ll;
            if (scalar(l, lk, "str_len", &ls, &ll) < 0)
                return -1;
            if (ll == len && memcmp(ls, s, len) == 0) {
                if (uint_value(l, node(l, r->value), "str_len", &a->len) < 0)
                    return -1;
                found = 1;
            }
        }
        if (!found)
            return at(l, k->start_mark, "class '%s': attr '%s' has distinct but no str_len", c->name,
                      qt(q, sizeof q, s, len));
        c->nstrs++;
    }
    if ((size_t)(ln->data.mapping.pairs.top - ln->data.mapping.pairs.start) != c->nstrs)
        return at(l, ln->start_mark, "class '%s': str_len names an attr distinct does not", c->name);
    (void)cls;
    return 0;
}

static int read_class(loader *l, const yaml_node_t *n, ml_class *c)
{
    char q[QBUF];
    if (n->type != YAML_MAPPING_NODE)
        return at(l, n->start_mark, "classes: each class is a mapping with name and attrs, "
                  "found %s", node_kind(n));
    memset(c, 0, sizeof *c);
    c->count = 1;
    c->line = n->start_mark.line + 1;
    c->col = n->start_mark.column + 1;
    unsigned seen = 0;
    const yaml_node_t *attrs = NULL, *nnode = NULL, *dnode = NULL, *lnode = NULL;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = node(l, p->key), *v = node(l, p->value);
        int ki = key_of(l, k, CLASS_KEYS, NKEYS(CLASS_KEYS), &seen, " in a class");
        if (ki < 0)
            return -1;
        switch (ki) {
        case 0:
            if (name_value(l, v, "name", 0, &c->name) < 0)
                return -1;
            nnode = v;
            break;
        case 1:
            if (uint_value(l, v, "count", &c->count) < 0)
                return -1;
            break;
        case 2:
            attrs = v;
            break;
        case 3:
            if (uint_value(l, v, "list_len", &c->list_len) < 0)
                return -1;
            c->has_list_len = 1;
            break;
        case 4:
            dnode = v;
            break;
        case 5:
            lnode = v;
            break;
        }
    }
    if (!nnode)
        return at(l, n->start_mark, "class missing 'name'");
    int ins;
    uint64_t *v = mk_map_put(&l->classnames, c->name, strlen(c->name), &ins);
    if (!ins)
        return at(l, nnode->start_mark, "duplicate class '%s' (first at line %zu)",
                  qt(q, sizeof q, c->name, strlen(c->name)), l->d->classes[*v - 1].line);
    *v = (uint64_t)(c - l->d->classes) + 1;
    if (!attrs) {
        mk_map_clear(&l->attrs);
        return read_strattrs(l, c, dnode, lnode, n);
    }
    yaml_node_item_t *items;
    size_t count;
    if (list(l, attrs, "attrs", &items, &count) < 0)
        return -1;
    c->attrs = mk_arena_alloc(l->a, (count ? count : 1) * sizeof *c->attrs);
    mk_map_clear(&l->attrs);
    for (size_t i = 0; i < count; i++) {
        const yaml_node_t *a = node(l, items[i]);
        const char *s;
        if (name_value(l, a, "attrs", 0, &s) < 0)
            return -1;
        uint64_t *w = mk_map_put(&l->attrs, s, strlen(s), &ins);
        if (!ins)
            return at(l, a->start_mark, "class '%s': duplicate attr '%s'", c->name,
                      qt(q, sizeof q, s, strlen(s)));
        *w = 1;
        c->attrs[i] = (char *)s;
        c->nattrs = i + 1;
    }
    return read_strattrs(l, c, dnode, lnode, n);
}

static int read_root(loader *l, const yaml_node_t *root)
{
    if (is_null(root))
        return 0;
    if (root->type != YAML_MAPPING_NODE)
        return at(l, root->start_mark, "expected a mapping with the keys structs and classes, "
                  "found %s", node_kind(root));
    unsigned seen = 0;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *k = node(l, p->key), *v = node(l, p->value);
        int ki = key_of(l, k, ROOT_KEYS, NKEYS(ROOT_KEYS), &seen, "");
        if (ki < 0)
            return -1;
        yaml_node_item_t *items;
        size_t count;
        if (list(l, v, ROOT_KEYS[ki], &items, &count) < 0)
            return -1;
        if (ki == 0) {
            l->d->structs = mk_arena_alloc(l->a, (count ? count : 1) * sizeof *l->d->structs);
            for (size_t i = 0; i < count; i++) {
                if (read_struct(l, node(l, items[i]), &l->d->structs[i]) < 0)
                    return -1;
                l->d->nstructs = i + 1;
            }
        } else {
            l->d->classes = mk_arena_alloc(l->a, (count ? count : 1) * sizeof *l->d->classes);
            for (size_t i = 0; i < count; i++) {
                if (read_class(l, node(l, items[i]), &l->d->classes[i]) < 0)
                    return -1;
                l->d->nclasses = i + 1;
            }
        }
    }
    return 0;
}

static int parser_error(const ml_doc *d, const yaml_parser_t *p)
{
    const yaml_mark_t *m = &p->problem_mark;
    const char *what = p->problem ? p->problem : "YAML syntax error";
    if (p->error == YAML_MEMORY_ERROR)
        return mk_err_set("%s: out of memory reading YAML", d->file);
    if (p->context)
        return mk_err_set("%s:%zu:%zu: %s %s", d->file, m->line + 1, m->column + 1, what,
                          p->context);
    return mk_err_set("%s:%zu:%zu: %s", d->file, m->line + 1, m->column + 1, what);
}

static ml_doc *doc_new(const char *name)
{
    ml_doc *d = mk_xcalloc(1, sizeof *d);
    d->priv = mk_xcalloc(1, sizeof *d->priv);
    mk_arena_init(&d->priv->arena, 0);
    mk_map_init(&d->priv->names, 0);
    d->file = mk_arena_strdup(&d->priv->arena, name, strlen(name));
    return d;
}

ml_doc *ml_load_mem(const char *name, const char *data, size_t len)
{
    ml_doc *d = doc_new(name);
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        mk_err_set("%s: cannot initialize the YAML parser", name);
        ml_free(d);
        return NULL;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
    loader l = { .d = d, .a = &d->priv->arena, .text = data, .len = len };
    mk_map_init(&l.fieldnames, 0);
    mk_map_init(&l.classnames, 0);
    mk_map_init(&l.attrs, 0);
    yaml_document_t doc;
    int rc = -1;
    if (!yaml_parser_load(&p, &doc)) {
        parser_error(d, &p);
    } else {
        l.doc = &doc;
        yaml_node_t *root = yaml_document_get_root_node(&doc);
        rc = root ? read_root(&l, root) : 0;
        yaml_document_delete(&doc);
        if (rc == 0 && root) {
            /* Anything after the first document is an error. */
            if (!yaml_parser_load(&p, &doc)) {
                rc = parser_error(d, &p);
            } else {
                yaml_node_t *r2 = yaml_document_get_root_node(&doc);
                if (r2)
                    rc = at(&l, r2->start_mark, "a struct file holds one YAML document");
                yaml_document_delete(&doc);
            }
        }
    }
    yaml_parser_delete(&p);
    mk_map_free(&l.fieldnames);
    mk_map_free(&l.classnames);
    mk_map_free(&l.attrs);
    if (rc < 0) {
        ml_free(d);
        return NULL;
    }
    return d;
}

ml_doc *ml_load(const char *path)
{
    int is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        mk_err_errno("%s", path);
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = mk_xmalloc(cap);
    for (;;) {
        if (len == cap)
            buf = mk_xrealloc(buf, cap *= 2);
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f);
    int e = errno;
    if (!is_stdin)
        fclose(f);
    if (bad) {
        errno = e;
        mk_err_errno("%s: read error", is_stdin ? "<stdin>" : path);
        free(buf);
        return NULL;
    }
    ml_doc *d = ml_load_mem(is_stdin ? "<stdin>" : path, buf, len);
    free(buf);
    return d;
}

void ml_free(ml_doc *d)
{
    if (!d)
        return;
    for (int a = 0; a < ML_NABI; a++)
        free(d->priv->info[a]);
    mk_map_free(&d->priv->names);
    mk_arena_free(&d->priv->arena);
    free(d->priv);
    free(d);
}

/* ---- the layout ------------------------------------------------------------------ */

enum { BF_NONE, BF_BITS, BF_ZERO };

/* A field's layout facts on one ABI (all in bytes but bits). */
typedef struct {
    uint64_t size;     /* storage: element size x count; for bitfields sizeof the type */
    uint64_t align;    /* plain: member alignment; bitfields: the type's alignment unit */
    uint64_t rec;      /* what it raises the struct's alignment to */
    unsigned bits;
    int bf;
} fact;

/* "FILE:LINE:COL: " when the field came from the file, else "field 'x': ". */
static int field_err(const ml_doc *d, const ml_field *f, size_t line, size_t col, const char *fmt,
                     ...) __attribute__((format(printf, 5, 6)));

static int field_err(const ml_doc *d, const ml_field *f, size_t line, size_t col, const char *fmt,
                     ...)
{
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!line)
        line = f->line, col = f->col;
    if (line)
        return mk_err_set("%s:%zu:%zu: %s", d->file, line, col, msg);
    return mk_err_set("field '%.60s': %s", f->name ? f->name : "", msg);
}

/* The element's size and alignment: a scalar's from the table, a struct's
 * from info (that ABI's sizes, filled in dependency order). */
static int elem_of(const ml_doc *d, ml_abi abi, const ml_field *f, const sinfo *info,
                   uint64_t *size, uint64_t *align)
{
    if ((unsigned)abi >= ML_NABI)
        return mk_err_set("unknown ABI %d", (int)abi);
    if (f->kind == ML_KIND_STRUCT) {
        if (!info || f->struct_index < 0 || (size_t)f->struct_index >= d->nstructs)
            return field_err(d, f, f->type_line, f->type_col, "'%s' is not resolved "
                             "(ml_resolve first)", f->type ? f->type : "?");
        const sinfo *s = &info[f->struct_index];
        if (s->err)
            return mk_err_set("%s", s->err);
        if (!s->done)
            return field_err(d, f, f->type_line, f->type_col, "'%s' is not laid out yet", f->type);
        *size = s->size;
        *align = s->align;
        return 0;
    }
    if (f->kind == ML_KIND_NONE || f->scalar <= ML_T_NONE || f->scalar >= ML_T_COUNT)
        return field_err(d, f, f->type_line, f->type_col, "'%s' is not a resolved type",
                         f->type ? f->type : "?");
    *size = SC[abi][f->scalar].size;
    *align = SC[abi][f->scalar].align;
    return 0;
}

static int fact_of(const ml_doc *d, ml_abi abi, const ml_field *f, const sinfo *info, fact *x)
{
    uint64_t es, ea;
    if (elem_of(d, abi, f, info, &es, &ea) < 0)
        return -1;
    memset(x, 0, sizeof *x);
    x->align = ea;
    if (!f->is_bitfield) {
        x->bf = BF_NONE;
        x->rec = ea;
        x->size = es;
        if (f->count && __builtin_mul_overflow(es, f->count, &x->size))
            return field_err(d, f, 0, 0, "an array of %llu x %llu bytes overflows 64 bits",
                             (unsigned long long)f->count, (unsigned long long)es);
        return 0;
    }
    if (f->count)
        return field_err(d, f, f->bits_line, f->bits_col, "bits: an array cannot be a bitfield");
    if (!is_int_kind(f->kind))
        return field_err(d, f, f->bits_line, f->bits_col,
                         "bits: a bitfield needs an integer or bool type, not '%s'", f->type);
    unsigned w = max_bits(abi, f->scalar);
    if (f->bits > w)
        return field_err(d, f, f->bits_line, f->bits_col, "bits: %u is wider than '%s' (%u bit%s "
                         "on %s)", f->bits, f->type, w, w == 1 ? "" : "s", ABI_NAMES[abi]);
    x->size = es;
    x->bits = f->bits;
    x->bf = f->bits ? BF_BITS : BF_ZERO;
    x->rec = f->bits || abi == ML_ABI_AARCH64 ? ea : 1;
    return 0;
}

static inline u128 round_up(u128 p, u128 a)
{
    return (p + a - 1) & ~(a - 1);
}

/* Where a field with facts x goes when the struct has pos bits so far:
 * its first bit in *start, the bit after it returned. */
static inline u128 place(const fact *x, u128 pos, u128 *start)
{
    u128 ta = (u128)x->align * 8;
    if (x->bf == BF_NONE) {
        *start = round_up(pos, ta);
        return *start + (u128)x->size * 8;
    }
    if (x->bf == BF_ZERO)
        return *start = round_up(pos, ta);
    if ((pos & (ta - 1)) + x->bits > (u128)x->size * 8)
        pos = round_up(pos, ta);
    *start = pos;
    return pos + x->bits;
}

static const u128 MAX_BITS = (u128)UINT64_MAX * 8;

/* pahole 1.24's class__find_holes over the placed members (zero-width
 * bitfields are not members), written with signed 128-bit arithmetic where
 * pahole uses 32-bit fields: the same figures for any struct below 512 MiB. */
static void pahole_stats(const fact *fx, const u128 *start, size_t n, ml_layout *L)
{
    typedef __int128 i128;
    i128 size_bits = (i128)L->size * 8;
    i128 cur_end = size_bits, cur_size = 0, last_seen = 0;
    int in_bf = 0;
    for (size_t i = 0; i < n; i++) {
        const fact *x = &fx[i];
        if (x->bf == BF_ZERO)
            continue;
        int bf = x->bf == BF_BITS;
        i128 bit_start = (i128)start[i];
        i128 byte_size = (i128)x->size, bit_size = byte_size * 8;
        i128 bit_end = bit_start + (bf ? (i128)x->bits : bit_size);
        i128 byte_offset = bf ? bit_start / bit_size * byte_size : bit_start / 8;
        i128 bit_holes = 0, byte_holes = 0;
        if (in_bf) {
            i128 e = bit_start < cur_end ? bit_start : cur_end;
            bit_holes = e - last_seen;
            last_seen = e;
        }
        if (bf) {
            i128 aligned_start = byte_offset * 8;
            if (last_seen < aligned_start && aligned_start <= bit_start) {
                byte_holes = byte_offset - last_seen / 8;
                last_seen = aligned_start;
            }
            bit_holes += bit_start - last_seen;
        } else {
            byte_holes = bit_start / 8 - last_seen / 8;
        }
        last_seen = bit_end;
        if (bf) {
            in_bf = 1;
            if (bit_end > cur_end || bit_size > cur_size) {
                cur_size = bit_size;
                cur_end = byte_offset * 8 + cur_size;
                if (bit_end > cur_end)
                    cur_end += cur_size;
            }
            L->sum_bits += x->bits;
        } else {
            in_bf = 0;
            cur_size = 0;
            cur_end = bit_end;
            L->sum_members += x->size;
        }
        if (bit_holes) {
            L->bit_holes++;
            L->bit_hole_bits += (uint64_t)bit_holes;
        }
        if (byte_holes) {
            L->holes++;
            L->hole_bytes += (uint64_t)byte_holes;
        }
    }
    if (in_bf) {
        i128 e = size_bits < cur_end ? size_bits : cur_end;
        L->bit_padding = (uint64_t)(e - last_seen);
        last_seen = e;
    }
    L->padding = L->size - (uint64_t)(last_seen / 8);
}

/* Lays out fields in order with the struct sizes in info; placed and the
 * pahole figures only when want_stats. */
static int lay_out(const ml_doc *d, ml_abi abi, const ml_field *fields, size_t n,
                   const sinfo *info, ml_layout *L, int want_stats)
{
    memset(L, 0, sizeof *L);
    fact *fx = mk_xmalloc((n ? n : 1) * sizeof *fx);
    u128 *start = mk_xmalloc((n ? n : 1) * sizeof *start);
    uint64_t align = 1;
    u128 pos = 0;
    for (size_t i = 0; i < n; i++) {
        if (fact_of(d, abi, &fields[i], info, &fx[i]) < 0)
            goto fail;
        if (fx[i].rec > align)
            align = fx[i].rec;
        pos = place(&fx[i], pos, &start[i]);
        if (pos > MAX_BITS) {
            field_err(d, &fields[i], 0, 0, "the struct's size overflows 64 bits here");
            goto fail;
        }
    }
    u128 bytes = round_up((pos + 7) / 8, align);
    if (bytes > UINT64_MAX) {
        if (n)
            field_err(d, &fields[n - 1], 0, 0, "the struct's size overflows 64 bits");
        goto fail;
    }
    L->size = (uint64_t)bytes;
    L->align = align;
    if (want_stats) {
        L->placed = mk_xmalloc((n ? n : 1) * sizeof *L->placed);
        L->nplaced = n;
        for (size_t i = 0; i < n; i++) {
            L->placed[i].field = i;
            L->placed[i].offset = (uint64_t)(start[i] / 8);
            L->placed[i].bit_offset = (unsigned)(start[i] % 8);
            L->placed[i].size = fx[i].bf == BF_ZERO ? 0 : fx[i].size;
        }
        pahole_stats(fx, start, n, L);
    }
    free(fx);
    free(start);
    return 0;
fail:
    free(fx);
    free(start);
    return -1;
}

int ml_lay_out(const ml_doc *d, ml_abi abi, const ml_field *fields, size_t n, ml_layout *out)
{
    if ((unsigned)abi >= ML_NABI)
        return mk_err_set("unknown ABI %d", (int)abi);
    return lay_out(d, abi, fields, n, d->priv->info[abi], out, 1);
}

void ml_layout_free(ml_layout *l)
{
    if (!l)
        return;
    free(l->placed);
    l->placed = NULL;
    l->nplaced = 0;
}

int ml_field_scalar(const ml_doc *d, ml_abi abi, const ml_field *f, uint64_t *size,
                    uint64_t *align, int *is_integer, int *is_signed)
{
    uint64_t s, a;
    if (elem_of(d, abi, f, (unsigned)abi < ML_NABI ? d->priv->info[abi] : NULL, &s, &a) < 0)
        return -1;
    if (size)
        *size = s;
    if (align)
        *align = a;
    if (is_integer)
        *is_integer = is_int_kind(f->kind);
    if (is_signed)
        *is_signed = f->kind == ML_KIND_SIGNED || (f->kind == ML_KIND_CHAR && abi != ML_ABI_AARCH64);
    return 0;
}

static int bind_struct(const ml_doc *d, const char *name, size_t len, int *index)
{
    uint64_t *v = mk_map_get(&d->priv->names, name, len);
    if (!v)
        return -1;
    *index = (int)(*v - 1);
    return 0;
}

int ml_field_set_type(const ml_doc *d, ml_field *f, const char *type)
{
    size_t n = strlen(type);
    char *norm = mk_xmalloc(2 * n + 2);
    tinfo ti;
    int rc = parse_type(type, n, norm, &ti);
    free(norm);
    if (rc < 0)
        return -1;
    int index = -1;
    if (ti.kind == ML_KIND_STRUCT && bind_struct(d, ti.sname, ti.slen, &index) < 0) {
        char q[QBUF];
        return mk_err_set("unknown struct '%s'", qt(q, sizeof q, ti.sname, ti.slen));
    }
    f->type = type;
    f->kind = ti.kind;
    f->scalar = ti.scalar;
    f->struct_index = index;
    return 0;
}

/* ---- resolution ---------------------------------------------------------------------- */

/* The fields of struct s that hold structs by value, as (struct, field)
 * edges; a depth-first walk finds cycles and a dependency order. */
static int check_cycles(ml_doc *d, size_t *order)
{
    size_t ns = d->nstructs, no = 0;
    unsigned char *color = mk_xcalloc(ns ? ns : 1, 1);   /* 0 new, 1 on the path, 2 done */
    struct frame { size_t s, f; } *stack = mk_xmalloc((ns ? ns : 1) * sizeof *stack);
    int rc = 0;
    for (size_t root = 0; root < ns && rc == 0; root++) {
        if (color[root])
            continue;
        size_t top = 0;
        stack[top++] = (struct frame){ root, 0 };
        color[root] = 1;
        while (top && rc == 0) {
            struct frame *fr = &stack[top - 1];
            const ml_struct *st = &d->structs[fr->s];
            if (fr->f == st->nfields) {
                color[fr->s] = 2;
                order[no++] = fr->s;
                top--;
                continue;
            }
            const ml_field *f = &st->fields[fr->f++];
            if (f->kind != ML_KIND_STRUCT)
                continue;
            size_t t = (size_t)f->struct_index;
            if (color[t] == 0) {
                color[t] = 1;
                stack[top++] = (struct frame){ t, 0 };
            } else if (color[t] == 1) {
                /* The path from t to here, then back to t. */
                size_t b = 0;
                while (stack[b].s != t)
                    b++;
                char chain[600];
                size_t o = 0;
                for (size_t i = b; i < top && o < sizeof chain - 80; i++) {
                    const ml_struct *si = &d->structs[stack[i].s];
                    o += (size_t)snprintf(chain + o, sizeof chain - o, "%s.%s -> ", si->name,
                                          si->fields[stack[i].f - 1].name);
                }
                snprintf(chain + o, sizeof chain - o, "%s", d->structs[t].name);
                const ml_field *g = &d->structs[t].fields[stack[b].f - 1];
                rc = mk_err_set("%s:%zu:%zu: struct '%s' contains itself by value: %s "
                                "(a pointer would be fine)", d->file, g->line, g->col,
                                d->structs[t].name, chain);
            }
        }
    }
    free(color);
    free(stack);
    return rc;
}

int ml_resolve(ml_doc *d)
{
    struct ml_priv *p = d->priv;
    if (p->resolved)
        return 0;
    char q[QBUF];
    for (size_t s = 0; s < d->nstructs; s++)
        for (size_t i = 0; i < d->structs[s].nfields; i++) {
            ml_field *f = &d->structs[s].fields[i];
            if (f->kind != ML_KIND_STRUCT)
                continue;
            size_t n = strlen(f->type);
            char *norm = mk_xmalloc(2 * n + 2);
            tinfo ti;
            int rc = parse_type(f->type, n, norm, &ti);
            free(norm);
            if (rc == 0 && bind_struct(d, ti.sname, ti.slen, &f->struct_index) < 0)
                rc = mk_err_set("%s:%zu:%zu: unknown struct '%s' (not defined in this file; a "
                                "pointer to it would be fine)", d->file, f->type_line, f->type_col,
                                qt(q, sizeof q, ti.sname, ti.slen));
            if (rc < 0)
                return -1;
        }
    size_t *order = mk_xmalloc((d->nstructs ? d->nstructs : 1) * sizeof *order);
    if (check_cycles(d, order) < 0) {
        free(order);
        return -1;
    }
    for (int a = 0; a < ML_NABI; a++) {
        free(p->info[a]);
        p->info[a] = mk_xcalloc(d->nstructs ? d->nstructs : 1, sizeof *p->info[a]);
    }
    /* Every struct on every ABI, nested ones first. Only x86_64 (the
     * largest sizes) fails the resolve; another ABI keeps its message. */
    for (size_t k = 0; k < d->nstructs; k++) {
        size_t s = order[k];
        const ml_struct *st = &d->structs[s];
        for (int a = 0; a < ML_NABI; a++) {
            sinfo *si = &p->info[a][s];
            ml_layout L;
            int rc = lay_out(d, (ml_abi)a, st->fields, st->nfields, p->info[a], &L, 0);
            uint64_t total;
            if (rc == 0 && st->has_count && __builtin_mul_overflow(st->count, L.size, &total))
                rc = mk_err_set("%s:%zu:%zu: struct '%s': count %llu x %llu bytes overflows 64 bits",
                                d->file, st->line, st->col, st->name,
                                (unsigned long long)st->count, (unsigned long long)L.size);
            if (rc < 0) {
                const char *m = mk_err_msg();
                si->err = mk_arena_strdup(&p->arena, m, strlen(m));
                if (a == ML_ABI_X86_64) {
                    free(order);
                    return -1;
                }
                continue;
            }
            si->size = L.size;
            si->align = L.align;
            si->done = 1;
        }
    }
    free(order);
    p->resolved = 1;
    return 0;
}

/* ---- the best order ---------------------------------------------------------------------
 *
 * Without bitfields, sorting by decreasing alignment is optimal. Proof: in
 * C every type's size is a multiple of its alignment (arrays, structs, i386
 * long double 12/4 and long long 8/4 included), and alignments are powers of
 * two. Sorted by decreasing alignment, each member starts after members
 * whose sizes are multiples of their alignments, hence of its own, so it
 * starts aligned: no holes, and the size is round_up(sum of sizes, A) with A
 * the largest alignment. No order does better: every order's size is at
 * least the sum of the sizes and a multiple of A (the struct's alignment,
 * which the order does not change).
 *
 * With bitfields three facts make an exact search cheap.
 *  (1) Every placement is a monotone map of the current bit position p
 *      (place(): round up, maybe add; if p < q then place(p) <= place(q)),
 *      and the final size is monotone in the final position. So the least
 *      position after placing a set S of fields, in any order, is
 *      min over the last field x in S of place_x(least position for S - x):
 *      a dynamic programme over subsets, or over multisets when fields are
 *      grouped into classes of interchangeable ones (same storage, alignment,
 *      width): prod(count_c + 1) states.
 *  (2) Zero-width bitfields only ever round p up (place(p) >= p), so
 *      leaving them out never makes any order worse; put first, at p = 0,
 *      they do nothing. They go first.
 *  (3) Let M be the largest alignment among the fields left (a plain
 *      member's alignment, a bitfield's unit). Every placement commutes with
 *      adding a multiple of M to p (it depends on p mod its alignment, which
 *      divides M). A plain member B of alignment M has place_B(p) >= p + s_B
 *      with s_B a multiple of M; so in any order, moving B to the front
 *      gives g(s_B + ...) = s_B + g(...) <= the original end, by
 *      monotonicity. Hence all plain members of the largest alignment go
 *      first, and, the position then being a multiple of M, the rest is the
 *      same problem again; repeat while the largest alignment left belongs
 *      to a plain member.
 * What is left (the bitfields and the plain members of at most their
 * alignment) goes through the exact programme when it has at most 2^20
 * states, otherwise through a beam search over the same states (per step
 * the states that waste the fewest bits, at most about 5e6 successor
 * evaluations in all) compared with sorting (plain members by alignment,
 * then bitfields by unit and width); that result is proven only when it
 * meets the lower bound. With the exact programme disabled, the beam alone
 * found the optimum of 3000 random structs of up to 8 fields (brute force
 * over all orders). */

enum { DP_BUDGET = 1 << 20 };

typedef struct {
    fact f;
    size_t cnt, used;
    size_t *members;           /* field indices in the given order */
} klass;

static int same_class(const fact *a, const fact *b)
{
    return a->bf == b->bf && a->size == b->size && a->align == b->align && a->bits == b->bits;
}

/* Preferred first: larger alignment, plain before bitfields, bigger first. */
static int class_cmp(const void *pa, const void *pb)
{
    const klass *a = pa, *b = pb;
    if (a->f.align != b->f.align)
        return a->f.align > b->f.align ? -1 : 1;
    if (a->f.bf != b->f.bf)
        return a->f.bf < b->f.bf ? -1 : 1;
    if (a->f.size != b->f.size)
        return a->f.size > b->f.size ? -1 : 1;
    if (a->f.bits != b->f.bits)
        return a->f.bits > b->f.bits ? -1 : 1;
    return a->members[0] < b->members[0] ? -1 : a->members[0] > b->members[0];
}

/* Exact: dp over the multisets of classes, mixed-radix indexed. seq gets
 * the class of each position. */
static void dp_exact(const klass *k, size_t nk, size_t total, size_t nstates, size_t *seq)
{
    size_t stride[32], digit[32] = { 0 };
    size_t st = 1;
    for (size_t c = 0; c < nk; c++) {
        stride[c] = st;
        st *= k[c].cnt + 1;
    }
    uint64_t *dp = mk_xmalloc(nstates * sizeof *dp);
    unsigned char *ch = mk_xmalloc(nstates);
    dp[0] = 0;
    ch[0] = 0;
    for (size_t idx = 1; idx < nstates; idx++) {
        for (size_t c = 0; c < nk; c++) {     /* mixed-radix increment */
            if (++digit[c] <= k[c].cnt)
                break;
            digit[c] = 0;
        }
        uint64_t best = UINT64_MAX;
        unsigned char bc = 0;
        for (size_t c = 0; c < nk; c++) {
            if (!digit[c])
                continue;
            u128 s;
            uint64_t p = (uint64_t)place(&k[c].f, dp[idx - stride[c]], &s);
            if (p <= best) {          /* ties: the less preferred class goes last */
                best = p;
                bc = (unsigned char)c;
            }
        }
        dp[idx] = best;
        ch[idx] = bc;
    }
    size_t idx = nstates - 1;
    for (size_t i = total; i-- > 0;) {
        seq[i] = ch[idx];
        idx -= stride[ch[idx]];
    }
    free(dp);
    free(ch);
}

typedef struct {
    u128 waste, pos;           /* waste: bits of the position not holding data */
    uint64_t hash;
    uint32_t parent, cls;
} cand;

static int cand_by_hash(const void *pa, const void *pb)
{
    const cand *a = pa, *b = pb;
    if (a->hash != b->hash)
        return a->hash < b->hash ? -1 : 1;
    if (a->pos != b->pos)      /* same multiset, same data: least position first */
        return a->pos < b->pos ? -1 : 1;
    if (a->parent != b->parent)
        return a->parent < b->parent ? -1 : 1;
    return a->cls < b->cls ? -1 : a->cls > b->cls;
}

static int cand_by_waste(const void *pa, const void *pb)
{
    const cand *a = pa, *b = pb;
    if (a->waste != b->waste)
        return a->waste < b->waste ? -1 : 1;
    if (a->pos != b->pos)
        return a->pos < b->pos ? -1 : 1;
    if (a->parent != b->parent)
        return a->parent < b->parent ? -1 : 1;
    return a->cls < b->cls ? -1 : a->cls > b->cls;
}

/* Beam search over the same states: per step, of the distinct multisets
 * reached (told apart by a sum of per-class random keys), the `width` that
 * waste the fewest bits so far (position minus the bits of data placed;
 * ranking by position alone would favour placing small fields first).
 * Returns the final position; seq gets the classes in order. */
static u128 beam(const klass *k, size_t nk, size_t total, size_t width, size_t *seq)
{
    uint64_t *key = mk_xmalloc(nk * sizeof *key);
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (size_t c = 0; c < nk; c++) {          /* splitmix64 */
        uint64_t z = (x += 0x9e3779b97f4a7c15u);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
        key[c] = z ^ (z >> 31);
    }
    uint32_t *cnt = mk_xcalloc(width * nk, sizeof *cnt), *ncnt = mk_xmalloc(width * nk * sizeof *ncnt);
    u128 *pos = mk_xcalloc(width, sizeof *pos), *data = mk_xcalloc(width, sizeof *data);
    uint64_t *hash = mk_xcalloc(width, sizeof *hash);
    u128 *bits = mk_xmalloc(nk * sizeof *bits);   /* data bits of one field of each class */
    for (size_t c = 0; c < nk; c++)
        bits[c] = k[c].f.bf == BF_NONE ? (u128)k[c].f.size * 8 : k[c].f.bits;
    cand *cd = mk_xmalloc(width * nk * sizeof *cd);
    uint32_t *hist = mk_xmalloc(total * width * 2 * sizeof *hist);   /* parent, class per step */
    size_t nstate = 1;
    for (size_t step = 0; step < total; step++) {
        size_t nc = 0;
        for (size_t s = 0; s < nstate; s++)
            for (size_t c = 0; c < nk; c++) {
                if (cnt[s * nk + c] == k[c].cnt)
                    continue;
                u128 st, p = place(&k[c].f, pos[s], &st);
                cd[nc++] = (cand){ p - data[s] - bits[c], p, hash[s] + key[c], (uint32_t)s,
                                   (uint32_t)c };
            }
        qsort(cd, nc, sizeof *cd, cand_by_hash);
        size_t nu = 0;
        for (size_t i = 0; i < nc; i++)
            if (nu == 0 || cd[i].hash != cd[nu - 1].hash)
                cd[nu++] = cd[i];
        qsort(cd, nu, sizeof *cd, cand_by_waste);
        if (nu > width)
            nu = width;
        u128 *npos = mk_xmalloc(nu * sizeof *npos), *ndata = mk_xmalloc(nu * sizeof *ndata);
        uint64_t *nhash = mk_xmalloc(nu * sizeof *nhash);
        for (size_t i = 0; i < nu; i++) {
            memcpy(&ncnt[i * nk], &cnt[cd[i].parent * nk], nk * sizeof *ncnt);
            ncnt[i * nk + cd[i].cls]++;
            npos[i] = cd[i].pos;
            ndata[i] = data[cd[i].parent] + bits[cd[i].cls];
            nhash[i] = cd[i].hash;
            hist[(step * width + i) * 2] = cd[i].parent;
            hist[(step * width + i) * 2 + 1] = cd[i].cls;
        }
        uint32_t *t = cnt;
        cnt = ncnt;
        ncnt = t;
        free(pos);
        free(data);
        free(hash);
        pos = npos;
        data = ndata;
        hash = nhash;
        nstate = nu;
    }
    u128 best = total ? pos[0] : 0;
    size_t s = 0;
    for (size_t step = total; step-- > 0;) {
        seq[step] = hist[(step * width + s) * 2 + 1];
        s = hist[(step * width + s) * 2];
    }
    free(key);
    free(bits);
    free(cnt);
    free(ncnt);
    free(pos);
    free(data);
    free(hash);
    free(cd);
    free(hist);
    return best;
}

/* Plain members by alignment, then bitfields by unit and width (classes are
 * sorted that way already). */
static u128 sorted_seq(const klass *k, size_t nk, size_t *seq)
{
    u128 pos = 0, st;
    size_t o = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t c = 0; c < nk; c++)
            if ((k[c].f.bf == BF_NONE) == (pass == 0))
                for (size_t i = 0; i < k[c].cnt; i++) {
                    seq[o++] = c;
                    pos = place(&k[c].f, pos, &st);
                }
    return pos;
}

int ml_best_order(const ml_doc *d, ml_abi abi, const ml_field *fields, size_t n,
                  size_t *order, uint64_t *best_size, int *proven)
{
    if ((unsigned)abi >= ML_NABI)
        return mk_err_set("unknown ABI %d", (int)abi);
    const sinfo *info = d->priv->info[abi];
    fact *fx = mk_xmalloc((n ? n : 1) * sizeof *fx);
    unsigned char *used = mk_xcalloc(n ? n : 1, 1);
    uint64_t align = 1;
    u128 storage = 0;
    for (size_t i = 0; i < n; i++) {
        if (fact_of(d, abi, &fields[i], info, &fx[i]) < 0) {
            free(fx);
            free(used);
            return -1;
        }
        if (fx[i].rec > align)
            align = fx[i].rec;
        storage += fx[i].bf == BF_NONE ? (u128)fx[i].size * 8 : fx[i].bits;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++)               /* (2) zero-width first */
        if (fx[i].bf == BF_ZERO)
            order[o++] = i, used[i] = 1;
    for (;;) {                                   /* (3) peel the largest alignments */
        uint64_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (!used[i] && fx[i].align > m)
                m = fx[i].align;
        size_t before = o;
        for (size_t i = 0; i < n; i++)
            if (!used[i] && fx[i].bf == BF_NONE && fx[i].align == m)
                order[o++] = i, used[i] = 1;
        if (o == before)
            break;
    }
    int exact = 1;
    size_t rest = n - o;
    if (rest) {
        /* Classes of interchangeable fields among the rest. */
        klass *k = mk_xcalloc(rest, sizeof *k);
        size_t *members = mk_xmalloc(rest * sizeof *members), nk = 0;
        for (size_t i = 0; i < n; i++) {
            if (used[i])
                continue;
            size_t c = 0;
            while (c < nk && !same_class(&k[c].f, &fx[i]))
                c++;
            if (c == nk)
                k[nk++].f = fx[i];
            k[c].cnt++;
        }
        size_t off = 0;
        for (size_t c = 0; c < nk; c++) {
            k[c].members = members + off;
            off += k[c].cnt;
            k[c].cnt = 0;
        }
        for (size_t i = 0; i < n; i++) {
            if (used[i])
                continue;
            size_t c = 0;
            while (!same_class(&k[c].f, &fx[i]))
                c++;
            k[c].members[k[c].cnt++] = i;
        }
        qsort(k, nk, sizeof *k, class_cmp);

        size_t states = 1;
        u128 bound = 0;
        for (size_t c = 0; c < nk; c++) {
            if (states <= DP_BUDGET)
                states *= k[c].cnt + 1;
            bound += (u128)k[c].cnt * ((u128)k[c].f.size * 8 + (u128)k[c].f.align * 8);
        }
        size_t *seq = mk_xmalloc(rest * sizeof *seq);
        if (states <= DP_BUDGET && nk <= 32 && bound < ((u128)1 << 62)) {
            dp_exact(k, nk, rest, states, seq);
        } else {
            exact = 0;
            u128 sp = sorted_seq(k, nk, seq);
            /* About 5e6 successors in all, and 32 MB of history. */
            size_t width = (size_t)(5000000 / ((u128)rest * nk + 1));
            if (width > 4000000 / rest)
                width = 4000000 / rest;
            if (width > 2048)
                width = 2048;
            if (width >= 1) {
                size_t *bseq = mk_xmalloc(rest * sizeof *bseq);
                if (beam(k, nk, rest, width, bseq) < sp)
                    memcpy(seq, bseq, rest * sizeof *seq);
                free(bseq);
            }
        }
        for (size_t i = 0; i < rest; i++) {
            klass *c = &k[seq[i]];
            order[o++] = c->members[c->used++];
        }
        free(seq);
        free(members);
        free(k);
    }
    free(used);
    /* The size of the chosen order, from the layout itself. */
    ml_field *tmp = mk_xmalloc((n ? n : 1) * sizeof *tmp);
    for (size_t i = 0; i < n; i++)
        tmp[i] = fields[order[i]];
    ml_layout L;
    int rc = lay_out(d, abi, tmp, n, info, &L, 0);
    free(tmp);
    free(fx);
    if (rc < 0)
        return -1;
    u128 lb = round_up((storage + 7) / 8, align);
    *best_size = L.size;
    *proven = exact || (u128)L.size <= lb;
    return 0;
}
