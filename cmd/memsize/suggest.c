/* suggest — techniques measured one by one and together. See suggest.h. */
#include "suggest.h"

#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- structs ------------------------------------------------------------------------ */

enum { T_REORDER = 1, T_NARROW = 2, T_BITS = 4, T_INTERN = 8, T_SOA = 16, T_COUNT = 5 };

static const char *const tech_name[T_COUNT] = { "reorder", "narrow", "bitfields", "intern", "soa" };

static int integer_kind(ml_kind k)
{
    return k == ML_KIND_SIGNED || k == ML_KIND_UNSIGNED || k == ML_KIND_CHAR;
}

/* The narrowest fixed-width type holding [lo, hi]. */
static const char *narrow_type(__int128 lo, __int128 hi, uint64_t *size)
{
    static const struct { const char *u, *s; uint64_t size; } w[] = {
        { "uint8_t", "int8_t", 1 }, { "uint16_t", "int16_t", 2 },
        { "uint32_t", "int32_t", 4 }, { "uint64_t", "int64_t", 8 },
    };
    for (size_t i = 0; i < 4; i++) {
        unsigned bits = 8 * (unsigned)w[i].size;
        if (lo >= 0 && hi <= (((__int128)1 << bits) - 1)) {
            *size = w[i].size;
            return w[i].u;
        }
        if (lo >= -((__int128)1 << (bits - 1)) && hi <= (((__int128)1 << (bits - 1)) - 1)) {
            *size = w[i].size;
            return w[i].s;
        }
    }
    return NULL;
}

static const char *index_type(uint64_t distinct, uint64_t *size)
{
    *size = distinct <= 256 ? 1 : distinct <= 65536 ? 2 : distinct <= 4294967296ull ? 4 : 0;
    return *size == 1 ? "uint8_t" : *size == 2 ? "uint16_t" : *size == 4 ? "uint32_t" : NULL;
}

/* The struct's fields with the techniques in `flags` applied; what
 * changed is appended to `what` for the flags in `describe`. */
static int rewrite(const ml_doc *d, ml_abi abi, const ml_struct *s, unsigned flags, ml_field *f,
                   uint64_t *once, char *what, size_t wcap)
{
    *once = 0;
    size_t wl = 0;
    if (what)
        what[0] = 0;
    for (size_t i = 0; i < s->nfields; i++) {
        f[i] = s->fields[i];
        uint64_t size;
        int changed = 0;
        if ((flags & T_NARROW) && f[i].has_range && integer_kind(f[i].kind) && !f[i].is_bitfield) {
            uint64_t cur;
            const char *t = narrow_type(f[i].lo, f[i].hi, &size);
            if (t && ml_field_scalar(d, abi, &f[i], &cur, NULL, NULL, NULL) == 0 && size < cur &&
                ml_field_set_type(d, &f[i], t) == 0)
                changed = 1;
        }
        if ((flags & T_BITS) && !f[i].is_bitfield && !f[i].count &&
            (f[i].kind == ML_KIND_BOOL ||
             (integer_kind(f[i].kind) && f[i].has_range && f[i].lo >= 0 && f[i].hi <= 1))) {
            if (f[i].kind == ML_KIND_BOOL || ml_field_set_type(d, &f[i], "unsigned char") == 0) {
                f[i].is_bitfield = 1;
                f[i].bits = 1;
                changed = 1;
            }
        }
        if ((flags & T_INTERN) && f[i].kind == ML_KIND_POINTER && f[i].has_distinct && !f[i].count) {
            const char *t = index_type(f[i].distinct, &size);
            uint64_t ptr;
            if (t && ml_field_scalar(d, abi, &f[i], &ptr, NULL, NULL, NULL) == 0 &&
                ml_field_set_type(d, &f[i], t) == 0) {
                *once += f[i].distinct * ptr;
                changed = 1;
            }
        }
        if (changed && what && wl < wcap)
            wl += (size_t)snprintf(what + wl, wcap - wl, "%s%s %s%s", wl ? ", " : "", f[i].name,
                                   f[i].type, f[i].is_bitfield ? ":1" : "");
    }
    return 0;
}

/* Per-instance bytes of the rewritten fields. */
static int measure(const ml_doc *d, ml_abi abi, ml_field *f, size_t n, unsigned flags, uint64_t *bytes)
{
    if (flags & T_SOA) {
        uint64_t b = 0;
        for (size_t i = 0; i < n; i++) {
            uint64_t size;
            if (f[i].is_bitfield) {
                unsigned bits = f[i].bits;
                b += bits == 0 ? 0 : bits <= 8 ? 1 : bits <= 16 ? 2 : bits <= 32 ? 4 : 8;
                continue;
            }
            if (ml_field_scalar(d, abi, &f[i], &size, NULL, NULL, NULL) < 0)
                return -1;
            b += size * (f[i].count ? f[i].count : 1);
        }
        *bytes = b;
        return 0;
    }
    if (flags & T_REORDER) {
        size_t *order = mk_xmalloc((n ? n : 1) * sizeof *order);
        int proven, rc = ml_best_order(d, abi, f, n, order, bytes, &proven);
        free(order);
        return rc;
    }
    ml_layout l;
    if (ml_lay_out(d, abi, f, n, &l) < 0)
        return -1;
    *bytes = l.size;
    ml_layout_free(&l);
    return 0;
}

static int size_with(const ml_doc *d, ml_abi abi, const ml_struct *s, unsigned flags, uint64_t *bytes,
                     uint64_t *once, char *what, size_t wcap)
{
    ml_field *f = mk_xmalloc((s->nfields ? s->nfields : 1) * sizeof *f);
    int rc = rewrite(d, abi, s, flags, f, once, what, wcap);
    if (rc == 0)
        rc = measure(d, abi, f, s->nfields, flags, bytes);
    free(f);
    return rc;
}

/* The combination that leaves the fewest bytes is found by trying them
 * all (at most 2^5), fewest techniques on ties; its techniques are then
 * listed in order of impact: each step the one that, added to the steps
 * before it, leaves the fewest bytes. A greedy pick from the start would
 * not do: struct-of-arrays saves most alone, yet reordering, narrowing
 * and bitfields together can beat it. Techniques that save something
 * alone but nothing on top of the best combination follow, marked as not
 * combined. m(flags) gives the per-instance and one-off bytes of a
 * combination. */
typedef int (*measure_fn)(void *ctx, unsigned flags, uint64_t *bytes, uint64_t *once, char *what, size_t wcap);

static int plan_steps(ms_plan *p, unsigned ntech, const char *const *names, measure_fn m, void *ctx,
                      const char *const *fixed_what, char (*whats)[256])
{
    if (m(ctx, 0, &p->before, &p->before_once, NULL, 0) < 0)
        return -1;
    uint64_t alone[8], alone_once[8];
    for (unsigned t = 0; t < ntech; t++)
        if (m(ctx, 1u << t, &alone[t], &alone_once[t], whats[t], sizeof whats[t]) < 0)
            return -1;
    unsigned best_mask = 0;
    uint64_t best = p->before, best_once = p->before_once;
    for (unsigned mask = 1; mask < 1u << ntech; mask++) {
        uint64_t b, o;
        if (m(ctx, mask, &b, &o, NULL, 0) < 0)
            return -1;
        if (b < best || (b == best && (o < best_once || (o == best_once &&
                                                         __builtin_popcount(mask) < __builtin_popcount(best_mask))))) {
            best = b;
            best_once = o;
            best_mask = mask;
        }
    }
    unsigned acc = 0;
    while (acc != best_mask) {
        int pick = -1;
        uint64_t pb = 0, po = 0;
        for (unsigned t = 0; t < ntech; t++) {
            if (!(best_mask & 1u << t) || (acc & 1u << t))
                continue;
            uint64_t b, o;
            if (m(ctx, acc | 1u << t, &b, &o, NULL, 0) < 0)
                return -1;
            if (pick < 0 || b < pb || (b == pb && o < po)) {
                pick = (int)t;
                pb = b;
                po = o;
            }
        }
        acc |= 1u << pick;
        p->steps[p->nsteps++] = (ms_step){ names[pick], fixed_what[pick] ? fixed_what[pick] : whats[pick],
                                           alone[pick], pb, alone_once[pick], po, 1 };
    }
    for (unsigned t = 0; t < ntech && p->nsteps < MS_MAX_STEPS; t++)
        if (!(best_mask & 1u << t) && alone[t] < p->before)
            p->steps[p->nsteps++] = (ms_step){ names[t], fixed_what[t] ? fixed_what[t] : whats[t], alone[t],
                                               best, alone_once[t], best_once, 0 };
    return 0;
}

typedef struct {
    const ml_doc *d;
    ml_abi abi;
    const ml_struct *s;
} struct_ctx;

static int measure_struct(void *ctx, unsigned flags, uint64_t *bytes, uint64_t *once, char *what, size_t wcap)
{
    struct_ctx *c = ctx;
    return size_with(c->d, c->abi, c->s, flags, bytes, once, what, wcap);
}

int ms_suggest_struct(const ml_doc *d, ml_abi abi, size_t si, ms_plan *p)
{
    const ml_struct *s = &d->structs[si];
    memset(p, 0, sizeof *p);
    p->count = s->has_count ? s->count : 1;
    static const char *const fixed[T_COUNT] = { "the best field order", NULL, NULL, NULL, "one array per field" };
    static char whats[T_COUNT][256];   /* valid until the next call */
    struct_ctx c = { d, abi, s };
    return plan_steps(p, T_COUNT, tech_name, measure_struct, &c, fixed, whats);
}

/* ---- classes ------------------------------------------------------------------------ */

typedef struct {
    uint64_t regular, slots, list, tuple, array;
    uint64_t regular_once;     /* what the first instances take beyond the settled size */
    uint64_t strs, strs_interned_once;   /* each instance's own strings; the interned ones, once */
    int has_list;
} class_ctx;

enum { C_SLOTS = 1, C_TUPLE = 2, C_ARRAY = 4, C_INTERN = 8 };

static int measure_class(void *ctx, unsigned flags, uint64_t *bytes, uint64_t *once, char *what, size_t wcap)
{
    class_ctx *c = ctx;
    (void)what;
    (void)wcap;
    uint64_t held = !c->has_list ? 0 : flags & C_ARRAY ? c->array : flags & C_TUPLE ? c->tuple : c->list;
    *bytes = (flags & C_SLOTS ? c->slots : c->regular) + held + (flags & C_INTERN ? 0 : c->strs);
    *once = (flags & C_SLOTS ? 0 : c->regular_once) + (flags & C_INTERN ? c->strs_interned_once : 0);
    return 0;
}

int ms_suggest_class(const ml_doc *d, const ms_pyver *v, size_t ci, ms_plan *p)
{
    const ml_class *c = &d->classes[ci];
    memset(p, 0, sizeof *p);
    p->count = c->count;
    class_ctx x = { 0 };
    ms_pyclass pc;
    ms_py_class(v, c->nattrs, c->count, &pc);
    x.regular = pc.regular;
    x.slots = pc.slots;
    x.regular_once = pc.regular_total - pc.regular * c->count;
    if (c->has_list_len) {
        /* each instance's list of n floats, built by list(...) */
        uint64_t n = c->list_len;
        x.has_list = 1;
        x.list = ms_py_list_exact(v, n) + n * ms_py_float_size(v);
        x.tuple = ms_py_tuple(v, n) + n * ms_py_float_size(v);
        x.array = ms_py_array(v, 8, n);
    }
    /* strings read from input are objects of their own per instance;
     * sys.intern() keeps one per distinct value (no more than instances) */
    for (size_t i = 0; i < c->nstrs; i++) {
        uint64_t one = ms_py_str_size(v, MS_ASCII, c->strs[i].len);
        uint64_t kept = c->strs[i].distinct < c->count ? c->strs[i].distinct : c->count;
        x.strs += one;
        x.strs_interned_once += kept * one;
    }
    static const char *const names[4] = { "slots", "tuple", "array", "intern" };
    static const char *const fixed[4] = { "__slots__ instead of an instance dict", "a tuple instead of the list",
                                          "array('d') instead of the list of floats",
                                          "sys.intern() the repeated strings: one object per distinct value" };
    static char whats[4][256];
    unsigned ntech = 4;
    return plan_steps(p, ntech, names, measure_class, &x, fixed, whats);
}
