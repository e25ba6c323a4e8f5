/* log — see log.h. The memkit parser splits a line into blank-separated
 * tokens once, in place; nothing is copied: the reading thread's records
 * and the events made from them point into the block until it has been
 * applied and released. */
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blocks.h"
#include "err.h"
#include "parse.h"
#include "vec.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif


/* ---- memkit refs lines -------------------------------------------------------------- */

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static int op_of(const char *p, size_t n)
{
    switch (n) {
    case 3:
        if (!memcmp(p, "new", 3))
            return RW_NEW;
        if (!memcmp(p, "ref", 3))
            return RW_REF;
        break;
    case 4:
        if (!memcmp(p, "free", 4))
            return RW_FREE;
        if (!memcmp(p, "weak", 4))
            return RW_WEAK;
        break;
    case 5:
        if (!memcmp(p, "unref", 5))
            return RW_UNREF;
        if (!memcmp(p, "deref", 5))
            return RW_DEREF;
        break;
    }
    return -1;
}

/* Which fields each operation takes. */
enum { K_TYPE, K_SITE, K_FROM, K_CB, K_PRIO, K_FILTER, K_N };
static const char *const key_name[K_N] = { "type", "site", "from", "cb", "prio", "filter" };
static const size_t key_len[K_N] = { 4, 4, 4, 2, 4, 6 };
static const unsigned allowed[RW_NOPS] = {
    [RW_NEW] = 1u << K_TYPE | 1u << K_SITE,
    [RW_REF] = 1u << K_FROM | 1u << K_SITE,
    [RW_UNREF] = 1u << K_FROM | 1u << K_SITE,
    [RW_FREE] = 1u << K_SITE,
    [RW_WEAK] = 1u << K_CB | 1u << K_PRIO | 1u << K_FILTER | 1u << K_FROM | 1u << K_SITE,
    [RW_DEREF] = 1u << K_SITE,
};

static int key_of(const char *p, size_t n)
{
    int k;
    switch (p[0]) {
    case 't': k = K_TYPE; break;
    case 's': k = K_SITE; break;
    case 'f': k = n == 4 ? K_FROM : K_FILTER; break;
    case 'c': k = K_CB; break;
    case 'p': k = K_PRIO; break;
    default: return -1;
    }
    return n && key_len[k] == n && !memcmp(p, key_name[k], n) ? k : -1;
}

/* A line's tokens, blank-separated. A line of at most 64 bytes that may
 * be read 64 bytes from its start (not near the end of its block) is
 * classified at once: a bit a byte for "not blank" and for '=', from four
 * 16-byte compares, so each token then costs a few bit operations instead
 * of a loop over its bytes (the loop was half of the reading thread's
 * time). Other lines take the loop. */
typedef struct {
    const char *p;
    size_t n, i;
    uint64_t text, eqs;        /* fast: bit j for p[j] not blank, p[j] == '=' (j < n) */
    int fast;
} toks;

static void toks_init(toks *t, const char *p, size_t n, int readable64)
{
    t->p = p;
    t->n = n;
    t->i = 0;
    t->text = t->eqs = 0;
    t->fast = 0;
#ifdef __SSE2__
    if (readable64 && n <= 64) {
        const __m128i sp = _mm_set1_epi8(' '), tab = _mm_set1_epi8('\t'), eq = _mm_set1_epi8('=');
        uint64_t blank = 0, eqs = 0;
        for (int k = 0; k < 4; k++) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * k));
            blank |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, sp), _mm_cmpeq_epi8(v, tab)))
                     << (16 * k);
            eqs |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, eq)) << (16 * k);
        }
        uint64_t in = n == 64 ? ~0ull : (1ull << n) - 1;
        t->text = ~blank & in;
        t->eqs = eqs & in;
        t->fast = 1;
    }
#else
    (void)readable64;
#endif
}

/* The next token, or 0 at the end of the line; *eq gets its first '=' or
 * NULL. */
static inline int next_tok(toks *t, rw_str *out, const char **eq)
{
    if (t->fast) {
        uint64_t m = t->i >= 64 ? 0 : t->text >> t->i << t->i;
        if (!m)
            return 0;
        unsigned s = (unsigned)__builtin_ctzll(m);
        uint64_t after = ~t->text >> s;          /* blanks (and the end) from s on */
        unsigned e = after ? s + (unsigned)__builtin_ctzll(after) : 64;
        uint64_t em = t->eqs >> s;
        if (e - s < 64)
            em &= (1ull << (e - s)) - 1;
        *eq = em ? t->p + s + __builtin_ctzll(em) : NULL;
        *out = (rw_str){ t->p + s, e - s };
        t->i = e;
        return 1;
    }
    size_t j = t->i, n = t->n;
    const char *p = t->p;
    while (j < n && is_blank(p[j]))
        j++;
    if (j == n)
        return 0;
    size_t s0 = j;
    *eq = NULL;
    for (; j < n && !is_blank(p[j]); j++)
        if (p[j] == '=' && !*eq)
            *eq = p + j;
    *out = (rw_str){ p + s0, (uint32_t)(j - s0) };
    t->i = j;
    return 1;
}

static void clip(const rw_str *t, int *len)
{
    *len = (int)(t->n > 40 ? 40 : t->n);
}

/* 1 event, 0 nothing (blank, comment), -1 error (message in err). One pass,
 * no token array: this runs once per line of a billion-line log. */
static int parse_native(const char *p, size_t n, int readable64, rw_event *e, char *err, size_t cap)
{
    static const rw_str none = { NULL, 0 };
    toks tk;
    toks_init(&tk, p, n, readable64);
    rw_str t, t2;
    const char *eq;
    int len;
    if (!next_tok(&tk, &t, &eq) || t.p[0] == '#')
        return 0;
    e->ts = none;
    int op = op_of(t.p, t.n);
    if (op < 0) {
        toks tk2 = tk;
        if (next_tok(&tk2, &t2, &eq) && (op = op_of(t2.p, t2.n)) >= 0) {
            e->ts = t;
            tk = tk2;
        } else {
            clip(&t, &len);
            snprintf(err, cap, "unknown operation '%.*s' (new, ref, unref, free, weak or deref)", len, t.p);
            return -1;
        }
    }
    e->op = (rw_op)op;
    e->obj = e->weak = e->type = e->site = e->from = e->cb = e->filter = none;
    e->prio = e->count = 0;
    e->has_count = e->has_prio = e->stack = 0;
    size_t want = op == RW_WEAK ? 2 : 1, got = 0;
    int have = next_tok(&tk, &t, &eq);
    for (; have && !eq; have = next_tok(&tk, &t, &eq)) {
        if (got == want) {
            clip(&t, &len);
            snprintf(err, cap, "%s: unexpected argument '%.*s'", rw_op_name[op], len, t.p);
            return -1;
        }
        if (op == RW_WEAK && got == 0)
            e->weak = t;
        else
            e->obj = t;
        got++;
    }
    if (got < want) {
        if (op == RW_WEAK)
            snprintf(err, cap, "weak: missing %s (weak W OBJ)", got ? "object id" : "weak reference and object id");
        else
            snprintf(err, cap, "%s: missing object id", rw_op_name[op]);
        return -1;
    }
    unsigned seen = 0;
    for (; have; have = next_tok(&tk, &t, &eq)) {
        if (!eq) {
            clip(&t, &len);
            snprintf(err, cap, "%s: argument '%.*s' after the fields", rw_op_name[op], len, t.p);
            return -1;
        }
        size_t kn = (size_t)(eq - t.p);
        rw_str v = { eq + 1, (uint32_t)(t.n - kn - 1) };
        int k = key_of(t.p, kn);
        if (k < 0) {
            snprintf(err, cap, "unknown field '%.*s' (type, site, from, cb, prio, filter)",
                     (int)(kn > 40 ? 40 : kn), t.p);
            return -1;
        }
        if (!(allowed[op] >> k & 1)) {
            snprintf(err, cap, "field '%s' does not apply to %s", key_name[k], rw_op_name[op]);
            return -1;
        }
        if (seen >> k & 1) {
            snprintf(err, cap, "field '%s' given twice", key_name[k]);
            return -1;
        }
        seen |= 1u << k;
        if (v.n == 0) {
            snprintf(err, cap, "field '%s' has no value", key_name[k]);
            return -1;
        }
        switch (k) {
        case K_TYPE: e->type = v; break;
        case K_SITE: e->site = v; break;
        case K_FROM: e->from = v; break;
        case K_CB: e->cb = v; break;
        case K_FILTER: e->filter = v; break;
        case K_PRIO:
            if (mk_parse_i64(v.p, v.n, &e->prio) < 0 || e->prio < INT32_MIN || e->prio > INT32_MAX) {
                clip(&v, &len);
                snprintf(err, cap, "prio: '%.*s' is not an integer", len, v.p);
                return -1;
            }
            e->has_prio = 1;
            break;
        }
    }
    return 1;
}

/* ---- XPCOM / Gallium lines ------------------------------------------------------------------ */

typedef struct {
    int open;                  /* a record waits for its stack */
    rw_event ev;
    mk_vec buf;                /* the record's strings: obj, type, then frames */
    size_t obj_len, type_len;
} moz_rec;

static int is_digits(const char *p, size_t n)
{
    if (!n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return 0;
    return 1;
}

static int is_hex(const char *p, size_t n)
{
    if (n > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        p += 2, n -= 2;
    if (!n || n > 16)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (mk_hex_value[(unsigned char)p[i]] > 15)
            return 0;
    return 1;
}

/* The last blank-separated token of p[0..*n), which shrinks to before it. */
static rw_str last_token(const char *p, size_t *n)
{
    size_t e = *n;
    while (e && is_blank(p[e - 1]))
        e--;
    size_t s = e;
    while (s && !is_blank(p[s - 1]))
        s--;
    *n = s;
    return (rw_str){ p + s, (uint32_t)(e - s) };
}

/* Counts are printed unsigned; a wrapped one is negative. */
static int64_t moz_count(const char *p, size_t n, int *ok)
{
    uint64_t v;
    *ok = mk_parse_u64(p, n, &v) == 0;
    if (!*ok)
        return 0;
    if (v > UINT32_MAX)
        return v > INT64_MAX ? (int64_t)v : INT32_MAX;
    if (v > INT32_MAX)
        return (int64_t)v - 4294967296LL;
    return (int64_t)v;
}

/* A record line: 1 and the event's parts in rec, or -1 with a message. */
static int parse_moz(const char *p, size_t n, moz_rec *rec, char *err, size_t cap)
{
    /* "[thread 0x...]" at the end, in newer Firefox builds. */
    if (n && p[n - 1] == ']') {
        const char *lb = NULL;
        for (size_t i = n; i-- > 0;)
            if (p[i] == '[') {
                lb = p + i;
                break;
            }
        if (lb && lb > p && is_blank(lb[-1]))
            n = (size_t)(lb - p);
    }
    size_t rest = n;
    rw_str a = last_token(p, &rest), opt, cnt = { NULL, 0 };
    rw_event *e = &rec->ev;
    memset(e, 0, sizeof *e);
    int op = -1, ok = 1;
    if (a.n == 6 && !memcmp(a.p, "Create", 6))
        op = RW_NEW;
    else if (a.n == 7 && !memcmp(a.p, "Destroy", 7))
        op = RW_FREE;
    else {
        cnt = a;
        opt = last_token(p, &rest);
        if (opt.n == 6 && !memcmp(opt.p, "AddRef", 6))
            op = RW_REF;
        else if (opt.n == 7 && !memcmp(opt.p, "Release", 7))
            op = RW_UNREF;
        else if (opt.n == 4 && (!memcmp(opt.p, "Ctor", 4) || !memcmp(opt.p, "Dtor", 4)) &&
                 cnt.n > 2 && cnt.p[0] == '(' && cnt.p[cnt.n - 1] == ')') {
            op = opt.p[0] == 'C' ? RW_NEW : RW_FREE;
            cnt.p = NULL;
        } else {
            snprintf(err, cap, "not a refcount record: expected Create, AddRef N, Release N, Destroy, "
                     "Ctor (N) or Dtor (N) at the end");
            return -1;
        }
    }
    if (op == RW_REF || op == RW_UNREF) {
        e->count = moz_count(cnt.p, cnt.n, &ok);
        if (!ok) {
            snprintf(err, cap, "%s: count '%.*s' is not a number", op == RW_REF ? "AddRef" : "Release",
                     (int)(cnt.n > 40 ? 40 : cnt.n), cnt.p);
            return -1;
        }
    }
    e->has_count = 1;
    rw_str serial = last_token(p, &rest), addr = last_token(p, &rest);
    while (rest && is_blank(p[rest - 1]))
        rest--;
    if (!is_digits(serial.p, serial.n) || !is_hex(addr.p, addr.n) || rest < 2 || p[0] != '<' ||
        p[rest - 1] != '>') {
        snprintf(err, cap, "not a refcount record: expected <Type> ADDRESS SERIAL before the operation");
        return -1;
    }
    e->op = (rw_op)op;
    mk_vec_clear(&rec->buf);
    mk_vec_append(&rec->buf, addr.p, addr.n);
    mk_vec_append(&rec->buf, p + 1, rest - 2);
    rec->obj_len = addr.n;
    rec->type_len = rest - 2;
    return 1;
}

/* ---- parsing ahead, on the reading thread ---------------------------------------------------------
 * The thread that decompresses a block also parses its memkit lines into
 * compact records: where each field is, the name's hash and key, and the
 * site and type as numbers of the reader's own (their strings interned in
 * its tables, not the model's); everything that needs no model state. The
 * applying thread then only expands them, looks names up and changes
 * counts; a memo turns the reader's numbers into the model's ids. A line the
 * record cannot hold (a weak reference, a field past byte 255, an error,
 * the header) is marked slow and parsed again there, which is also where
 * errors are reported. */

typedef struct {
    rw_ahead a;                /* hash, op, guess; skip: a slow line */
    rw_key key;
    uint32_t site, type;       /* the reader's numbers (+ 1, 0 = none) */
    uint32_t pos;              /* the line's offset in the block */
    uint32_t line;             /* its line number - the block's first */
    uint8_t ts_len;
    uint8_t obj_off, obj_len, type_off, type_len, site_off, site_len, from_off, from_len;
} rw_pre;
_Static_assert(sizeof(rw_pre) == 64, "a record is a cache line");

typedef struct {
    rw_pre *v;
    size_t n, cap;
    int format;                /* the file's, as far as known at this block: -1, 0 memkit, 1 XPCOM/Gallium */
} pre_block;

/* The reading thread's, used on every line: on the heap, on lines of its
 * own, not on the applying thread's stack beside the locals it writes. */
typedef struct {
    int format;                /* of the file being read, -1 until a significant line */
    mk_intern sites, types;    /* the reading thread's own */
} __attribute__((aligned(64))) pre_ctx;

static const char *first_significant(const mk_block *blk);

/* A slice of the line at p as an offset and length that fit a byte each. */
static int fits(const char *p, rw_str t, uint8_t *off, uint8_t *len)
{
    if (!t.p) {
        *off = *len = 0;
        return 1;
    }
    size_t o = (size_t)(t.p - p);
    if (o > 255 || t.n > 255)
        return 0;
    *off = (uint8_t)o;
    *len = (uint8_t)t.n;
    return 1;
}

/* One line into r: 1 a record, 0 nothing (blank or comment). */
static int pre_line(pre_ctx *c, const char *p, size_t n, int readable64, int first_line, rw_pre *r)
{
    rw_event e;
    char err[200];
    r->a.skip = 1;
    if (first_line && n >= 7 && !memcmp(p, "#memkit", 7))
        return 1;
    int rc = parse_native(p, n, readable64, &e, err, sizeof err);
    if (rc <= 0)
        return rc < 0;
    if (e.op == RW_WEAK || e.ts.n > 255 || (e.ts.p && e.ts.p != p) ||
        !fits(p, e.obj, &r->obj_off, &r->obj_len) || !fits(p, e.type, &r->type_off, &r->type_len) ||
        !fits(p, e.site, &r->site_off, &r->site_len) || !fits(p, e.from, &r->from_off, &r->from_len))
        return 1;
    r->a.op = (uint8_t)e.op;
    r->ts_len = (uint8_t)e.ts.n;
    r->a.hash = rw_hash(e.obj.p, e.obj.n);
    rw_key_probe(&r->key, e.obj.p, e.obj.n);
    r->a.skip = 0;
    r->site = e.site.p ? mk_intern_id(&c->sites, e.site.p, e.site.n) + 1 : 0;
    r->type = e.type.p ? mk_intern_id(&c->types, e.type.p, e.type.n) + 1 : 0;
    return 1;
}

static void pre_free(void *aux)
{
    pre_block *pb = aux;
    free(pb->v);
    free(pb);
}

static void prepare(void *ctx, mk_block *blk)
{
    pre_ctx *c = ctx;
    pre_block *pb = blk->aux;
    if (!pb)
        pb = blk->aux = mk_xcalloc(1, sizeof *pb);
    pb->n = 0;
    if (c->format < 0) {
        const char *f = first_significant(blk);
        if (f)
            c->format = *f == '<';
    }
    pb->format = c->format;
    if (c->format != 0)
        return;
    const char *p = blk->data, *end = p + blk->len;
    for (uint32_t ln = 0; p < end; ln++) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t n = eol ? (size_t)(eol - p) : (size_t)(end - p);
        if (n && p[n - 1] == '\r')
            n--;
        if (pb->n == pb->cap) {
            pb->cap = pb->cap ? pb->cap * 2 : 4096;
            pb->v = mk_xrealloc(pb->v, pb->cap * sizeof *pb->v);
        }
        rw_pre *r = &pb->v[pb->n];
        if (pre_line(c, p, n, end - p >= 64, blk->first_line + ln == 1, r)) {
            r->pos = (uint32_t)(p - blk->data);
            r->line = ln;
            pb->n++;
        }
        p = eol ? eol + 1 : end;
    }
}

/* ---- driving ----------------------------------------------------------------------------------------- */

/* The model's ids of the reader's site and type numbers, as rw_event's
 * memos: id + 1, 0 until the model has given one. */
typedef struct {
    uint32_t *v;
    size_t cap;
} memo;

typedef struct {
    rw_reader *r;
    uint32_t file;
    const char *name;
    memo sites, types;
} run;

static void memo_grow(memo *mm, size_t i)
{
    size_t cap = mm->cap ? mm->cap : 64;
    while (cap <= i)
        cap *= 2;
    mm->v = mk_xrealloc(mm->v, cap * sizeof *mm->v);
    memset(mm->v + mm->cap, 0, (cap - mm->cap) * sizeof *mm->v);
    mm->cap = cap;
}

static inline uint32_t *memo_at(memo *mm, uint32_t number)
{
    if (!number)
        return NULL;
    size_t i = number - 1;
    if (__builtin_expect(i >= mm->cap, 0))
        memo_grow(mm, i);
    return &mm->v[i];
}


static int past_at(const rw_reader *r, const rw_event *e)
{
    if (r->at_line && r->line_base + e->line > r->at_line)
        return 1;
    if (r->at_ts && e->ts.p) {
        double a, b;
        size_t an = strlen(r->at_ts);
        if (mk_parse_double(r->at_ts, an, &a) == 0 && mk_parse_double(e->ts.p, e->ts.n, &b) == 0)
            return b > a;
        size_t m = an < e->ts.n ? an : e->ts.n;
        int c = memcmp(e->ts.p, r->at_ts, m);
        return c > 0 || (c == 0 && e->ts.n > an);
    }
    return 0;
}

/* Apply one event (its hash computed): 1 when reading stops there (--at,
 * --strict), else 0. */
static int apply_one(run *u, rw_event *e)
{
    rw_reader *r = u->r;
    if ((r->at_line || r->at_ts) && past_at(r, e)) {
        r->stopped = 1;
        return 1;
    }
    e->file = u->file;
    if (rw_model_apply(r->m, e)) {
        r->findings++;
        if (r->strict) {
            r->stopped = 1;
            return 1;
        }
    }
    return 0;
}

static int bad_line(run *u, uint64_t line, const char *msg)
{
    if (u->r->lenient) {
        u->r->skipped++;
        return 0;
    }
    return mk_err_set("%s:%llu: %s", u->name, (unsigned long long)line, msg);
}

/* A slow line, parsed here: the header, weak references, errors. */
static int native_slow(run *u, const mk_block *blk, const rw_pre *r, rw_event *e, uint64_t line)
{
    const char *p = blk->data + r->pos, *end = blk->data + blk->len;
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    size_t n = eol ? (size_t)(eol - p) : (size_t)(end - p);
    if (n && p[n - 1] == '\r')
        n--;
    if (line == 1 && n >= 7 && !memcmp(p, "#memkit", 7)) {
        if (!(n == 15 && !memcmp(p, "#memkit refs v1", 15)))
            return mk_err_set("%s:%llu: not a memkit refs v1 log (header '%.*s')", u->name,
                              (unsigned long long)line, (int)(n > 40 ? 40 : n), p);
        return 0;
    }
    char err[200];
    int rc = parse_native(p, n, end - p >= 64, e, err, sizeof err);
    if (rc < 0)
        return bad_line(u, line, err) < 0 ? -1 : 0;
    e->pre = 0;
    return rc;
}

static rw_str slice(const char *p, uint8_t off, uint8_t len)
{
    return len ? (rw_str){ p + off, len } : (rw_str){ NULL, 0 };
}

static int native_block(run *u, const mk_block *blk, pre_block *pb)
{
    rw_model *m = u->r->m;
    rw_pre *v = pb->v;
    size_t n = pb->n;
    /* The lookups ahead run over the records themselves: a batch of
     * expanded events would fill the L1 cache the fetched lines need. */
    rw_model_ahead_start(m, v, sizeof *v, n);
    for (size_t j = 0; j < n; j++) {
        rw_model_ahead(m, v, sizeof *v, j, n);
        const rw_pre *r = &v[j];
        uint64_t line = blk->first_line + r->line;
        rw_event e;
        if (r->a.skip) {
            int rc = native_slow(u, blk, r, &e, line);
            if (rc <= 0) {
                if (rc < 0)
                    return -1;
                continue;
            }
            rw_model_prefetch(m, &e);
        } else {
            const char *p = blk->data + r->pos;
            e.op = (rw_op)r->a.op;
            e.ts = slice(p, 0, r->ts_len);
            e.obj = slice(p, r->obj_off, r->obj_len);
            e.type = slice(p, r->type_off, r->type_len);
            e.site = slice(p, r->site_off, r->site_len);
            e.from = slice(p, r->from_off, r->from_len);
            /* Three stores each, not one chained assignment: GCC built that
             * from a 16-byte load of the two narrower stores just made, a
             * store-forwarding stall that cost 6 % of the whole run. */
            e.weak = (rw_str){ NULL, 0 };
            e.cb = (rw_str){ NULL, 0 };
            e.filter = (rw_str){ NULL, 0 };
            e.prio = e.count = 0;
            e.has_count = e.has_prio = e.stack = 0;
            e.pre = 1;
            e.hash = r->a.hash;
            e.key = r->key;
            e.site_memo = memo_at(&u->sites, r->site);
            e.type_memo = memo_at(&u->types, r->type);
            e.guess = r->a.guess;
        }
        e.line = line;
        if (apply_one(u, &e))
            return 1;
    }
    return 0;
}

/* Frames: a leading "#NN: " (XPCOM) and blanks (Gallium's tab) go. */
static void add_frame(moz_rec *rec, const char *p, size_t n)
{
    while (n && is_blank(*p))
        p++, n--;
    if (n > 1 && p[0] == '#') {
        size_t i = 1;
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++;
        if (i > 1 && i < n && p[i] == ':') {
            i++;
            while (i < n && is_blank(p[i]))
                i++;
            p += i;
            n -= i;
        }
    }
    while (n && is_blank(p[n - 1]))
        n--;
    if (!n)
        return;
    if (mk_vec_len(&rec->buf) > rec->obj_len + rec->type_len)
        *(char *)mk_vec_push(&rec->buf) = '\n';
    mk_vec_append(&rec->buf, p, n);
}

static int moz_finish(run *u, moz_rec *rec)
{
    if (!rec->open)
        return 0;
    rec->open = 0;
    rw_event *e = &rec->ev;
    const char *b = mk_vec_data(&rec->buf);
    size_t frames = mk_vec_len(&rec->buf) - rec->obj_len - rec->type_len;
    e->obj = (rw_str){ b, (uint32_t)rec->obj_len };
    if (rec->type_len)
        e->type = (rw_str){ b + rec->obj_len, (uint32_t)rec->type_len };
    if (frames) {
        e->site = (rw_str){ b + rec->obj_len + rec->type_len, (uint32_t)frames };
        e->stack = memchr(e->site.p, '\n', e->site.n) != NULL;
    }
    /* Only Create carries the type into the model; every record has it. */
    rw_model_prefetch(u->r->m, e);
    return apply_one(u, e);
}

static int moz_block(run *u, const mk_block *blk, moz_rec *rec)
{
    const char *p = blk->data, *end = p + blk->len;
    uint64_t line = blk->first_line;
    char err[200];
    for (; p < end; line++) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t n = eol ? (size_t)(eol - p) : (size_t)(end - p);
        if (n && p[n - 1] == '\r')
            n--;
        const char *q = p;
        p = eol ? eol + 1 : end;
        if (n && q[0] == '<') {
            int rc = moz_finish(u, rec);
            if (rc)
                return rc;
            if (parse_moz(q, n, rec, err, sizeof err) < 0) {
                if (bad_line(u, line, err) < 0)
                    return -1;
                continue;
            }
            rec->ev.line = line;
            rec->open = 1;
        } else if (rec->open) {
            size_t i = 0;
            while (i < n && is_blank(q[i]))
                i++;
            if (i == n)
                continue;      /* XPCOM puts a blank line before each record */
            add_frame(rec, q, n);
        } else {
            size_t i = 0;
            while (i < n && is_blank(q[i]))
                i++;
            if (i < n && q[i] != '#' && bad_line(u, line, "expected a refcount record (<Type> ADDRESS SERIAL OPERATION)") < 0)
                return -1;
        }
    }
    return 0;
}

/* The first significant line of a block, or NULL. */
static const char *first_significant(const mk_block *blk)
{
    const char *p = blk->data, *end = p + blk->len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t n = eol ? (size_t)(eol - p) : (size_t)(end - p);
        size_t i = 0;
        while (i < n && (is_blank(p[i]) || p[i] == '\r'))
            i++;
        if (i < n && (p[i] != '#' || (n - i >= 7 && !memcmp(p + i, "#memkit", 7))))
            return p + i;
        p = eol ? eol + 1 : end;
    }
    return NULL;
}

int rw_read(rw_reader *r, mk_source *src, uint32_t file)
{
    mk_blocks_opts o;
    mk_blocks_defaults(&o);
    o.threaded = 1;
    o.check_nul = 1;
    pre_ctx *pc = mk_xcalloc_aligned(64, 1, sizeof *pc);
    pc->format = -1;
    mk_intern_init(&pc->sites, 0);
    mk_intern_init(&pc->types, 0);
    o.prepare = prepare;
    o.aux_free = pre_free;
    o.ctx = pc;
    if (r->block_size) {
        /* Small blocks (the fuzz target): small buffers, no read-ahead
         * thread, so a run costs microseconds, not page faults. */
        o.block_size = r->block_size;
        o.max_record = r->block_size * 4;
        o.threaded = 0;
    }
    mk_blocks *bl = mk_blocks_open(src, &o);
    if (!bl) {
        mk_intern_free(&pc->sites);
        mk_intern_free(&pc->types);
        free(pc);
        return -1;
    }
    run u = { r, file, mk_source_name(src), { NULL, 0 }, { NULL, 0 } };
    moz_rec rec = { 0 };
    mk_vec_init(&rec.buf, 1);
    int format = -1, rc = 0, nr;
    uint64_t lines = 0;
    mk_block *blk;
    while ((nr = mk_blocks_next(bl, &blk)) > 0) {
        pre_block *pb = blk->aux;
        format = pb->format;
        lines = blk->first_line + blk->lines;
        if (format == 1)
            rc = moz_block(&u, blk, &rec);
        else if (format == 0)
            rc = native_block(&u, blk, pb);
        mk_blocks_release(bl, blk);
        if (rc)
            break;
    }
    if (nr < 0)
        rc = -1;
    if (rc == 0 && format == 1)
        rc = moz_finish(&u, &rec);
    mk_blocks_close(bl);
    mk_intern_free(&pc->sites);
    mk_intern_free(&pc->types);
    free(pc);
    free(u.sites.v);
    free(u.types.v);
    mk_vec_free(&rec.buf);
    r->line_base += lines ? lines - 1 : 0;
    return rc;
}
