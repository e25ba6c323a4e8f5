/* model — see model.h.
 *
 * Records: a live object is 32 bytes (name, count, type and flags, its
 * outstanding references) in one array reused through a free list, found
 * through rw_tab. Its outstanding references (reflist.h) name their holder
 * by value (a compact 64-bit form of the name, below), so a ref never looks
 * its holder up. When an object dies its record is freed at once and its
 * name, count and flags move to the dead ring: a FIFO of the last
 * `quarantine` dead objects with its own small table, consulted only when a
 * name is not live; it stays in cache where the big table would not. Weak
 * references have their own array and table and keep their target's name.
 * Links are index + 1, so 0 is "none" and arrays may move. */
#include "model.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "map.h"
#include "reflist.h"

const char *const rw_op_name[RW_NOPS] = { "new", "ref", "unref", "free", "weak", "deref" };
const char *const rw_kind_name[RW_NKINDS] = {
    "over-release", "use-after-free", "free-while-referenced", "double-free",
    "dead-weak-deref", "unknown-object",
};

enum {
    F_LIVE = 1, F_FREED = 2, F_NEG = 4, F_IMPLICIT = 8,
    F_WEAKY = 16,       /* has an entry in the weak side table */
    F_HADWEAK = 32,     /* a weak reference was registered: its bus topic may hold entries */
    F_UNBAL = 64,       /* already reported unbalanced */
};
#define TYPE_NONE 0xFFFFFFu
enum { SITE_WINDOW = 64, RING_AHEAD = 4 };

typedef struct {
    rw_key key;
    int32_t count;
    uint32_t tf;            /* type id (24 bits) | flags << 24 */
    uint32_t rblk, nrefs;   /* outstanding references on it (reflist.h); free list link in rblk */
} obj;

/* A dead object, remembered for use-after-free. */
typedef struct {
    rw_key key;
    int32_t count;
    uint32_t tf;
    uint32_t hash;          /* low bits of the name's hash, for the table */
    uint32_t used;          /* 0 empty, 1 findable, 2 superseded by a later death of its name */
} dead;

enum { W_DEAD = 1 };

typedef struct {
    rw_key key;             /* W */
    rw_key target_key;      /* its object's name, kept for reports after death */
    uint32_t target;        /* object index + 1 while the object lives */
    uint32_t tnext;         /* next weak reference to the same target */
    uint32_t holder;        /* object index + 1 or 0 */
    uint32_t hnext;         /* next weak reference of the same holder */
    uint32_t cb, filter, flags, link, target_type;
    int64_t prio;
    mk_bus_handle h;
} weak;

typedef struct {
    uint32_t weaks;         /* weak references to the object */
    uint32_t wheld;         /* weak references it holds */
} weakside;

struct rw_model {
    obj *objs;
    size_t nobjs, cap_objs;
    uint32_t free_obj;
    rw_tab tab;
    rw_reflists refs;
    dead *ring;
    size_t ring_cap, ring_next;
    rw_tab dtab;
    weak *weaks;
    size_t nweaks, cap_weaks;
    uint32_t free_weak;
    rw_tab wtab;
    mk_imap side;           /* object index -> weakside (packed in 64 bits) */
    rw_keystore keys;
    mk_intern types, sites, names;
    mk_bus *bus;

    mk_vec errors, unbalanced, firings;
    mk_arena strs;          /* names in findings */
    mk_vec files;           /* char * */
    rw_totals t;

    /* --history */
    rw_history_fn hist;
    void *hist_ctx;
    rw_key hist_key;
    uint32_t hist_type;
    char *hist_name;
};

/* The death being published, for the bus callbacks. */
typedef struct {
    rw_model *m;
    const rw_key *name;
    uint32_t type, file;
    uint64_t line;
} death;

/* ---- small helpers ---------------------------------------------------------------- */

static uint32_t tf_type(uint32_t tf)
{
    uint32_t t = tf & TYPE_NONE;
    return t == TYPE_NONE ? RW_NONE : t;
}

static unsigned tf_flags(uint32_t tf)
{
    return tf >> 24;
}

static void set_flag(uint32_t *tf, unsigned f)
{
    *tf |= (uint32_t)f << 24;
}

static void clear_flag(uint32_t *tf, unsigned f)
{
    *tf &= ~((uint32_t)f << 24);
}

static const char *save_str(rw_model *m, const char *p, size_t n)
{
    return mk_arena_strdup(&m->strs, p, n);
}

static const char *save_key(rw_model *m, const rw_key *k)
{
    char buf[40];
    size_t n;
    const char *p = rw_key_str(k, buf, &n);
    return save_str(m, p, n);
}

static uint32_t intern_opt(mk_intern *in, rw_str s)
{
    return s.p ? mk_intern_id(in, s.p, s.n) : RW_NONE;
}

/* ---- holders by value --------------------------------------------------------------
 * 0 none; top byte 1..7: that many bytes inline; top bit set: up to 14 hex
 * digits (value in the low 7 bytes; RW_SP_* spelling << 4 | digit count on
 * top);
 * top byte 0x40: an id in names. One name, one encoding. */

enum { H_INTERN = 0x40 };

/* The code of a holder name; with add = 0 a name never interned gets
 * NO_HOLDER, which no reference carries. */
#define NO_HOLDER UINT64_MAX

static uint64_t holder_encode(rw_model *m, const char *s, size_t n, int add)
{
    if (n >= 1 && n <= 7) {
        uint64_t v = 0;
        memcpy(&v, s, n);
        return v | (uint64_t)n << 56;
    }
    uint64_t v;
    unsigned digits, sp;
    if (rw_hex_name(s, n, 14, &v, &digits, &sp))
        return v | (uint64_t)(0x80 | sp << 4 | digits) << 56;
    uint32_t id;
    if (add)
        id = mk_intern_id(&m->names, s, n);
    else if (!mk_intern_find(&m->names, s, n, &id))
        return NO_HOLDER;
    return (uint64_t)H_INTERN << 56 | id;
}

static const char *holder_str(const rw_model *m, uint64_t code, char *buf, size_t *n)
{
    unsigned top = (unsigned)(code >> 56);
    if (top >= 1 && top <= 7) {
        memcpy(buf, &code, 7);
        *n = top;
        buf[top] = 0;
        return buf;
    }
    if (top == H_INTERN)
        return mk_intern_str(&m->names, (uint32_t)code, n);
    *n = rw_hex_spell(buf, code & ((1ull << 56) - 1), top & 15, top >> 4 & 7);
    return buf;
}

/* ---- set-up ----------------------------------------------------------------------- */

rw_model *rw_model_new(uint64_t quarantine)
{
    rw_model *m = mk_xcalloc(1, sizeof *m);
    m->cap_objs = 1024;
    m->objs = mk_xmalloc(m->cap_objs * sizeof *m->objs);
    rw_refs_init(&m->refs);
    m->ring_cap = quarantine;
    m->ring = mk_xcalloc(quarantine ? quarantine : 1, sizeof *m->ring);
    m->cap_weaks = 64;
    m->weaks = mk_xmalloc(m->cap_weaks * sizeof *m->weaks);
    rw_tab_init(&m->tab, (void *const *)&m->objs, sizeof(obj));
    rw_tab_init(&m->dtab, (void *const *)&m->ring, sizeof(dead));
    rw_tab_init(&m->wtab, (void *const *)&m->weaks, sizeof(weak));
    mk_imap_init(&m->side, 0);
    rw_keystore_init(&m->keys);
    mk_intern_init(&m->types, 0);
    mk_intern_init(&m->sites, 0);
    mk_intern_init(&m->names, 0);
    m->bus = mk_bus_new();
    mk_vec_init(&m->errors, sizeof(rw_error));
    mk_vec_init(&m->unbalanced, sizeof(rw_unbalanced));
    mk_vec_init(&m->firings, sizeof(rw_firing));
    mk_arena_init(&m->strs, 0);
    mk_vec_init(&m->files, sizeof(char *));
    m->hist_type = RW_NONE;
    return m;
}

void rw_model_free(rw_model *m)
{
    if (!m)
        return;
    mk_xgrow_free(m->objs, m->cap_objs * sizeof *m->objs);
    rw_refs_free(&m->refs);
    free(m->ring);
    free(m->weaks);
    rw_tab_free(&m->tab);
    rw_tab_free(&m->dtab);
    rw_tab_free(&m->wtab);
    mk_imap_free(&m->side);
    rw_keystore_free(&m->keys);
    mk_intern_free(&m->types);
    mk_intern_free(&m->sites);
    mk_intern_free(&m->names);
    mk_bus_free(m->bus);
    mk_vec_free(&m->errors);
    mk_vec_free(&m->unbalanced);
    mk_vec_free(&m->firings);
    mk_arena_free(&m->strs);
    for (size_t i = 0; i < mk_vec_len(&m->files); i++)
        free(((char **)mk_vec_data(&m->files))[i]);
    mk_vec_free(&m->files);
    free(m->hist_name);
    free(m);
}

uint32_t rw_model_file(rw_model *m, const char *name)
{
    *(char **)mk_vec_push(&m->files) = mk_xstrdup(name);
    return (uint32_t)(mk_vec_len(&m->files) - 1);
}

const char *rw_model_file_name(const rw_model *m, uint32_t file)
{
    return ((char **)mk_vec_data(&m->files))[file];
}

void rw_model_history(rw_model *m, const char *name, rw_history_fn fn, void *ctx)
{
    m->hist = fn;
    m->hist_ctx = ctx;
    m->hist_name = mk_xstrdup(name);
    /* A long key points into hist_name, which lives as long as the model. */
    rw_key_probe(&m->hist_key, m->hist_name, strlen(name));
    m->hist_type = mk_intern_id(&m->types, name, strlen(name));
}

/* ---- object records ------------------------------------------------------------------ */

static uint32_t obj_alloc(rw_model *m)
{
    if (m->free_obj) {
        uint32_t i = m->free_obj - 1;
        m->free_obj = m->objs[i].rblk;
        return i;
    }
    if (m->nobjs == m->cap_objs) {
        if (m->cap_objs >= UINT32_MAX / 2)
            mk_die("more than 2^31 objects at once");
        m->objs = mk_xgrow(m->objs, m->cap_objs * sizeof *m->objs, 2 * m->cap_objs * sizeof *m->objs);
        m->cap_objs *= 2;
    }
    return (uint32_t)m->nobjs++;
}

/* The record goes back to the free list; its key has moved elsewhere. */
static void obj_release(rw_model *m, uint32_t i)
{
    obj *o = &m->objs[i];
    o->tf = 0;
    o->nrefs = 0;
    o->rblk = m->free_obj;
    m->free_obj = i + 1;
}

static weakside side_get(rw_model *m, uint32_t i)
{
    weakside s = { 0, 0 };
    if (tf_flags(m->objs[i].tf) & F_WEAKY) {
        uint64_t *v = mk_imap_get(&m->side, i);
        if (v) {
            s.weaks = (uint32_t)*v;
            s.wheld = (uint32_t)(*v >> 32);
        }
    }
    return s;
}

static void side_set(rw_model *m, uint32_t i, weakside s)
{
    obj *o = &m->objs[i];
    if (!s.weaks && !s.wheld) {
        if (tf_flags(o->tf) & F_WEAKY) {
            mk_imap_del(&m->side, i);
            clear_flag(&o->tf, F_WEAKY);
        }
        return;
    }
    int ins;
    *mk_imap_put(&m->side, i, &ins) = (uint64_t)s.wheld << 32 | s.weaks;
    set_flag(&o->tf, F_WEAKY);
}

/* ---- lookups ---------------------------------------------------------------------------- */

static uint32_t find_live(rw_model *m, rw_str s, uint64_t h)
{
    rw_key k;
    rw_key_probe(&k, s.p, s.n);
    return rw_tab_find(&m->tab, &k, h);
}

/* The event's object, through its guess when that is right: a live record
 * is in the table, and under one name only. Earlier events of the batch
 * may have moved slots or reused records, so the guess is checked. */
static uint32_t find_event_obj(rw_model *m, const rw_event *e)
{
    rw_key k;
    const rw_key *kp = &e->key;
    if (!e->pre) {
        rw_key_probe(&k, e->obj.p, e->obj.n);
        kp = &k;
    }
    uint32_t g = e->guess;
    if (g < m->nobjs && (tf_flags(m->objs[g].tf) & F_LIVE) && rw_key_eq(&m->objs[g].key, kp))
        return g;
    return rw_tab_find(&m->tab, kp, e->hash);
}

/* The id of s in `in` (RW_NONE if s is unset, or new and add is 0),
 * through the reader's memo when it has one: the ids are the ones the
 * model would give without it, in the same order. A memo holds id + 1, or
 * MEMO_ABSENT | the table's size when s was not in it: still true while
 * the table has not grown (an unref's site that no ref has used). */
#define MEMO_ABSENT 0x80000000u
static uint32_t memo_id(mk_intern *in, rw_str s, uint32_t *memo, int add)
{
    if (!s.p)
        return RW_NONE;
    if (memo && *memo) {
        if (!(*memo & MEMO_ABSENT))
            return *memo - 1;
        if (!add && (*memo & ~MEMO_ABSENT) == mk_intern_count(in))
            return RW_NONE;
    }
    uint32_t id;
    if (add) {
        id = mk_intern_id(in, s.p, s.n);
    } else if (!mk_intern_find(in, s.p, s.n, &id)) {
        if (memo && mk_intern_count(in) < MEMO_ABSENT)
            *memo = MEMO_ABSENT | (uint32_t)mk_intern_count(in);
        return RW_NONE;
    }
    if (memo && id < MEMO_ABSENT - 1)
        *memo = id + 1;
    return id;
}

/* The event's site id; with add = 0, RW_NONE for a site never seen. */
static uint32_t event_site(rw_model *m, const rw_event *e, int add)
{
    return memo_id(&m->sites, e->site, e->pre ? e->site_memo : NULL, add);
}

/* The event's object among the dead. With pre, its key is the reader's:
 * the line's bytes were written by the other core, and reading them here
 * costs a cache miss the reader has already paid. */
static dead *find_dead(rw_model *m, const rw_event *e)
{
    if (!m->ring_cap || !m->dtab.len)
        return NULL;
    rw_key k;
    const rw_key *kp = &e->key;
    if (!e->pre) {
        rw_key_probe(&k, e->obj.p, e->obj.n);
        kp = &k;
    }
    uint32_t i = rw_tab_find(&m->dtab, kp, e->hash);
    return i == UINT32_MAX ? NULL : &m->ring[i];
}

static void prefetch_hashed(rw_model *m, rw_op op, uint64_t hash)
{
    rw_tab_prefetch(op == RW_DEREF ? &m->wtab : &m->tab, hash);
}

/* always_inline: see rw_tab_prefetch. */
__attribute__((always_inline)) static inline void stage_slot(rw_model *m, const rw_ahead *a)
{
    if (!a->skip)
        rw_tab_prefetch(a->op == RW_DEREF ? &m->wtab : &m->tab, a->hash);
}

__attribute__((always_inline)) static inline void stage_record(rw_model *m, rw_ahead *a)
{
    a->guess = a->skip ? UINT32_MAX : rw_tab_guess(a->op == RW_DEREF ? &m->wtab : &m->tab, a->hash);
}

/* Third stage, through the guessed record: the object's outstanding
 * references (ref and unref read them), and the dead ring's table slot
 * when the event will look there: a death (a free, an unref at count 1)
 * looks its name up, and so does an event on a name not live. Only then:
 * every fetch ahead takes a miss buffer, and there are few. */
__attribute__((always_inline)) static inline void stage_refs(rw_model *m, const rw_ahead *a)
{
    rw_op op = (rw_op)a->op;
    if (a->skip || op == RW_DEREF || op == RW_NEW)
        return;
    uint32_t g = a->guess;
    if (g >= m->nobjs || !(tf_flags(m->objs[g].tf) & F_LIVE)) {
        if (m->dtab.len)
            rw_tab_prefetch(&m->dtab, a->hash);
        return;
    }
    const obj *o = &m->objs[g];
    int in_block = o->nrefs && !rw_refs_inline(o->rblk);   /* else in the record */
    if (op == RW_REF && in_block)
        __builtin_prefetch(rw_refs_at(&m->refs, o->rblk, o->nrefs) + o->nrefs - 1);
    if (op == RW_UNREF && in_block) {
        /* pop_ref reads back from the newest entry through up to
         * SITE_WINDOW: fetch every line of them, newest first. Fetching
         * only the newest left pop_ref stalled on the rest, 6-11 % of the
         * whole run (the benchmark's unrefs mostly match no site, so they
         * read the whole window); at most 4 lines gained less. */
        uint32_t n = o->nrefs, k = n < SITE_WINDOW ? n : SITE_WINDOW;
        const rw_ref *v = rw_refs_at(&m->refs, o->rblk, n);
        uintptr_t top = (uintptr_t)(v + n - 1) & ~(uintptr_t)63, end = (uintptr_t)(v + n - k) & ~(uintptr_t)63;
        for (; top >= end; top -= 64)
            __builtin_prefetch((const void *)top);
    }
    if ((op == RW_FREE || (op == RW_UNREF && o->count == 1)) && m->dtab.len)
        rw_tab_prefetch(&m->dtab, a->hash);
}

#define AHEAD_AT(i) ((rw_ahead *)((char *)events + (i) * stride))

void rw_model_ahead_start(rw_model *m, void *events, size_t stride, size_t n)
{
    for (size_t j = 0; j < n && j < RW_AHEAD_SLOT; j++)
        stage_slot(m, AHEAD_AT(j));
    for (size_t j = 0; j < n && j < RW_AHEAD_RECORD; j++)
        stage_record(m, AHEAD_AT(j));
    for (size_t j = 0; j < n && j < RW_AHEAD_REFS; j++)
        stage_refs(m, AHEAD_AT(j));
}

void rw_model_ahead(rw_model *m, void *events, size_t stride, size_t j, size_t n)
{
    if (j + RW_AHEAD_SLOT < n)
        stage_slot(m, AHEAD_AT(j + RW_AHEAD_SLOT));
    if (j + RW_AHEAD_RECORD < n)
        stage_record(m, AHEAD_AT(j + RW_AHEAD_RECORD));
    if (j + RW_AHEAD_REFS < n)
        stage_refs(m, AHEAD_AT(j + RW_AHEAD_REFS));
}

void rw_model_prefetch(rw_model *m, rw_event *e)
{
    if (!e->pre)
        e->hash = rw_hash(e->obj.p, e->obj.n);
    e->guess = UINT32_MAX;
    prefetch_hashed(m, e->op, e->hash);
}

/* ---- findings ------------------------------------------------------------------------------ */

static void finding(rw_model *m, const rw_event *e, rw_kind k, const rw_key *name, const char *weakname,
                    uint32_t type, int32_t count)
{
    rw_error *r = mk_vec_push(&m->errors);
    *r = (rw_error){ e->file, e->line, k, e->op, save_key(m, name), weakname, type, count };
    m->t.kinds[k]++;
}

static int cmp_site_count(const void *a, const void *b)
{
    const rw_site_count *x = a, *y = b;
    if (x->refs != y->refs)
        return x->refs > y->refs ? -1 : 1;
    return (x->site > y->site) - (x->site < y->site);
}

static int cmp_site(const void *a, const void *b)
{
    const rw_site_count *x = a, *y = b;
    return (x->site > y->site) - (x->site < y->site);
}

/* Count an object's unmatched references by site, most first. */
static uint32_t sites_of(const rw_ref *r, uint32_t n, rw_site_count *v)
{
    for (uint32_t j = 0; j < n; j++)
        v[j] = (rw_site_count){ r[j].site, 1 };
    qsort(v, n, sizeof *v, cmp_site);
    uint32_t w = 0;
    for (uint32_t j = 0; j < n; j++) {
        if (w && v[w - 1].site == v[j].site)
            v[w - 1].refs++;
        else
            v[w++] = v[j];
    }
    qsort(v, w, sizeof *v, cmp_site_count);
    return w;
}

static void record_unbalanced(rw_model *m, const rw_key *name, int32_t count, uint32_t tf, const rw_ref *refs,
                              uint32_t nrefs, uint32_t file, uint64_t line)
{
    rw_unbalanced *u = mk_vec_push(&m->unbalanced);
    memset(u, 0, sizeof *u);
    u->obj = save_key(m, name);
    u->type = tf_type(tf);
    u->count = count;
    u->went_negative = (tf_flags(tf) & F_NEG) != 0;
    u->file = file;
    u->line = line;
    if (!nrefs)
        return;
    rw_site_count *v = mk_arena_alloc(&m->strs, nrefs * sizeof *v);
    u->nsites = sites_of(refs, nrefs, v);
    u->sites = v;
}

/* ---- history ---------------------------------------------------------------------------------- */

static void history_row(rw_model *m, const rw_event *e, const rw_key *name, uint32_t tf, int32_t count,
                        const char *note)
{
    if (!rw_key_eq(name, &m->hist_key) && tf_type(tf) != m->hist_type)
        return;
    char buf[40];
    rw_step st = { e, e->op, count, NULL, 0, tf_type(tf), NULL, 0, note };
    st.obj = rw_key_str(name, buf, &st.objlen);
    if (e->from.p) {
        st.holder = e->from.p;
        st.holderlen = e->from.n;
    }
    m->hist(m->hist_ctx, &st);
}

/* Most runs keep no history: the test is inline, the row is not. */
static inline void history(rw_model *m, const rw_event *e, const rw_key *name, uint32_t tf, int32_t count,
                           const char *note)
{
    if (m->hist)
        history_row(m, e, name, tf, count, note);
}

static inline void history_obj(rw_model *m, const rw_event *e, uint32_t i, const char *note)
{
    if (!m->hist)
        return;
    const obj *o = &m->objs[i];
    history(m, e, &o->key, o->tf, o->count, note);
}

/* ---- weak references ------------------------------------------------------------------------------ */

static void fire(void *sub, uint64_t topic, const void *event)
{
    const death *d = event;
    rw_model *m = d->m;
    weak *w = &m->weaks[(uintptr_t)sub - 1];
    (void)topic;
    rw_firing *f = mk_vec_push(&m->firings);
    *f = (rw_firing){ d->file, d->line, save_key(m, d->name), save_key(m, &w->key), d->type, w->cb, w->prio };
    m->t.weak_fired++;
}

static int weak_filter(void *sub, uint64_t topic, const void *event)
{
    const death *d = event;
    const weak *w = &d->m->weaks[(uintptr_t)sub - 1];
    (void)topic;
    if (w->filter == RW_NONE || w->filter == d->type)
        return 1;
    d->m->t.weak_filtered++;
    return 0;
}

static uint32_t weak_alloc(rw_model *m)
{
    if (m->free_weak) {
        uint32_t i = m->free_weak - 1;
        m->free_weak = m->weaks[i].link;
        return i;
    }
    if (m->nweaks == m->cap_weaks) {
        m->cap_weaks *= 2;
        m->weaks = mk_xrealloc(m->weaks, m->cap_weaks * sizeof *m->weaks);
    }
    return (uint32_t)m->nweaks++;
}

/* Unlink weak reference wi from a list (by target or by holder). */
static void unlink_weak(rw_model *m, uint32_t *head, uint32_t wi, int by_holder)
{
    uint32_t *p = head;
    while (*p && *p != wi + 1)
        p = by_holder ? &m->weaks[*p - 1].hnext : &m->weaks[*p - 1].tnext;
    if (*p)
        *p = by_holder ? m->weaks[wi].hnext : m->weaks[wi].tnext;
}

/* Forget weak reference wi entirely (registered again, or its holder died). */
static void weak_remove(rw_model *m, uint32_t wi, int holder_died)
{
    weak *w = &m->weaks[wi];
    char buf[40];
    size_t n;
    const char *s = rw_key_str(&w->key, buf, &n);
    rw_tab_del(&m->wtab, rw_hash(s, n), wi);
    /* Destroyed, the bus drops it lazily (counted there as auto-cleaned). */
    if (holder_died)
        mk_bus_destroyed(m->bus, w->h);
    else
        mk_bus_unsubscribe(m->bus, w->h);
    if (!(w->flags & W_DEAD)) {
        uint32_t t = w->target - 1;
        weakside ts = side_get(m, t);
        unlink_weak(m, &ts.weaks, wi, 0);
        side_set(m, t, ts);
        m->t.weak_live--;
    }
    if (w->holder && !holder_died) {
        weakside hs = side_get(m, w->holder - 1);
        unlink_weak(m, &hs.wheld, wi, 1);
        side_set(m, w->holder - 1, hs);
    }
    rw_key_drop(&w->key, &m->keys);
    rw_key_drop(&w->target_key, &m->keys);
    w->link = m->free_weak;
    m->free_weak = wi + 1;
}

/* ---- death ------------------------------------------------------------------------------------------- */

/* Remember a dead object (its key moves into the ring). */
static void ring_push(rw_model *m, rw_key *key, uint64_t h, int32_t count, uint32_t tf)
{
    if (!m->ring_cap) {
        rw_key_drop(key, &m->keys);
        return;
    }
    uint32_t slot = (uint32_t)m->ring_next;
    dead *d = &m->ring[slot];
    if (d->used) {
        /* The oldest goes (from the table too, unless a later death of its
         * name took its place there). */
        if (d->used == 1)
            rw_tab_del(&m->dtab, d->hash, slot);
        rw_key_drop(&d->key, &m->keys);
        m->t.quarantine_evicted++;
    }
    /* One entry a name: an earlier death of it gives its slot to this one. */
    uint32_t old = rw_tab_retarget(&m->dtab, key, h, slot);
    if (old != UINT32_MAX)
        m->ring[old].used = 2;
    d->key = *key;
    memset(key, 0, sizeof *key);
    d->count = count;
    d->tf = tf;
    d->hash = (uint32_t)h;
    d->used = 1;
    if (old == UINT32_MAX)
        rw_tab_put(&m->dtab, h, slot);
    m->ring_next = (m->ring_next + 1) % m->ring_cap;
    /* A few deaths on, the entry then evicted leaves the table: fetch its slot. */
    const dead *ahead = &m->ring[(m->ring_next + RING_AHEAD) % m->ring_cap];
    if (ahead->used == 1)
        rw_tab_prefetch(&m->dtab, ahead->hash);
}

static void die(rw_model *m, uint32_t i, uint64_t h, uint32_t file, uint64_t line)
{
    obj *o = &m->objs[i];
    clear_flag(&o->tf, F_LIVE);
    if (tf_flags(o->tf) & F_IMPLICIT) {
        m->t.live_implicit--;
    } else {
        m->t.died++;
        m->t.live--;
    }
    weakside s = side_get(m, i);
    if (s.weaks) {
        /* Its weak references die; their callbacks fire in bus order. */
        for (uint32_t w = s.weaks; w; w = m->weaks[w - 1].tnext) {
            m->weaks[w - 1].flags |= W_DEAD;
            m->t.weak_died++;
            m->t.weak_live--;
        }
        s.weaks = 0;
    }
    if (tf_flags(o->tf) & F_HADWEAK) {
        /* Also drops subscribers destroyed with their holder. */
        death d = { m, &o->key, tf_type(o->tf), file, line };
        mk_bus_publish(m->bus, i, &d);
        mk_bus_close(m->bus, i);
    }
    /* Weak references it held go with it. */
    while (s.wheld) {
        uint32_t w = s.wheld - 1;
        s.wheld = m->weaks[w].hnext;
        weak_remove(m, w, 1);
        m->t.weak_orphaned++;
    }
    side_set(m, i, s);
    o = &m->objs[i];
    rw_ref one;
    const rw_ref *r = rw_refs_get(&m->refs, o->rblk, o->nrefs, &one);
    if (!(tf_flags(o->tf) & F_IMPLICIT) && (o->count != 0 || (tf_flags(o->tf) & F_NEG))) {
        record_unbalanced(m, &o->key, o->count, o->tf, r, o->nrefs, file, line);
        set_flag(&o->tf, F_UNBAL);
    }
    rw_refs_clear(&m->refs, &o->rblk, &o->nrefs);
    rw_tab_del(&m->tab, h, i);
    ring_push(m, &o->key, h, o->count, o->tf);
    obj_release(m, i);
}

/* ---- events --------------------------------------------------------------------------------------------- */

static uint32_t create(rw_model *m, const rw_event *e, int32_t count, unsigned extra)
{
    uint32_t i = obj_alloc(m);
    obj *o = &m->objs[i];
    if (e->pre && !rw_key_is_long(&e->key))
        o->key = e->key;
    else
        rw_key_make(&o->key, &m->keys, e->obj.p, e->obj.n);
    o->count = count;
    uint32_t type = memo_id(&m->types, e->type, e->pre ? e->type_memo : NULL, 1);
    if (type != RW_NONE && type >= TYPE_NONE)
        mk_die("more than 16 million types");
    o->tf = (type == RW_NONE ? TYPE_NONE : type) | (uint32_t)(F_LIVE | extra) << 24;
    o->rblk = o->nrefs = 0;
    rw_tab_put(&m->tab, e->hash, i);
    if (extra & F_IMPLICIT) {
        m->t.implicit++;
        m->t.live_implicit++;
    } else {
        m->t.created++;
        m->t.live++;
    }
    if (m->t.live + m->t.live_implicit > m->t.peak_live)
        m->t.peak_live = m->t.live + m->t.live_implicit;
    return i;
}

static void push_ref(rw_model *m, uint32_t i, const rw_event *e)
{
    uint64_t h = e->from.p ? holder_encode(m, e->from.p, e->from.n, 1) : 0;
    rw_ref x = { event_site(m, e, 1), (uint32_t)h, (uint32_t)(h >> 32) };
    obj *o = &m->objs[i];
    rw_refs_push(&m->refs, &o->rblk, &o->nrefs, x);
}

static uint64_t ref_holder(const rw_ref *r)
{
    return (uint64_t)r->holder_hi << 32 | r->holder_lo;
}

/* Frames (lines) the two stacks share, counted from the outermost. */
static size_t shared_frames(const char *a, size_t na, const char *b, size_t nb)
{
    size_t k = 0, i = na, j = nb;
    while (i && j) {
        size_t fa = i, fb = j;
        while (i && a[i - 1] != '\n')
            i--;
        while (j && b[j - 1] != '\n')
            j--;
        if (fa - i != fb - j || memcmp(a + i, b + j, fa - i) != 0)
            break;
        k++;
        if (i)
            i--;
        if (j)
            j--;
    }
    return k;
}

/* Remove the outstanding reference this unref undoes, newest first within
 * each rule: with from=H, one H holds; else (or without from=) one from
 * the same site; else one whose stack shares the most outer frames; else
 * an anonymous one (taken without from=, like the creator's); else the
 * newest. A reference some other holder took is not released for it, so
 * the graph stays exact. Holders are searched through the whole list;
 * sites, stacks and anonymous ones within the newest SITE_WINDOW only: an
 * object with thousands outstanding must not cost thousands of compares
 * per unref. */
static void pop_ref(rw_model *m, uint32_t i, const rw_event *e)
{
    obj *o = &m->objs[i];
    if (!o->nrefs)
        return;
    uint32_t n = o->nrefs;
    uint64_t hold = e->from.p ? holder_encode(m, e->from.p, e->from.n, 0) : 0;
    uint32_t site = event_site(m, e, 0);
    int stack = e->stack;
    rw_ref one;
    const rw_ref *r = rw_refs_get(&m->refs, o->rblk, n, &one);
    uint32_t by_holder = n, by_site = n, by_stack = n, anon = n;
    size_t stack_best = 0;
    for (uint32_t j = n; j-- > 0;) {
        uint64_t h = ref_holder(&r[j]);
        if (hold && h == hold) {
            by_holder = j;
            break;
        }
        if (n - j > SITE_WINDOW) {
            if (!hold)
                break;
            continue;
        }
        /* With from=, only anonymous references are candidates below. */
        if (hold && h)
            continue;
        if (!h && anon == n)
            anon = j;
        if (site != RW_NONE && r[j].site == site && by_site == n)
            by_site = j;
        if (stack && by_site == n && r[j].site != RW_NONE) {
            size_t sn;
            const char *ss = mk_intern_str(&m->sites, r[j].site, &sn);
            size_t k2 = shared_frames(e->site.p, e->site.n, ss, sn);
            if (k2 > stack_best) {
                stack_best = k2;
                by_stack = j;
            }
        }
    }
    uint32_t best = by_holder < n ? by_holder : by_site < n ? by_site : by_stack < n ? by_stack
                  : anon < n ? anon : n - 1;
    rw_refs_remove(&m->refs, &o->rblk, &o->nrefs, best);
}

static int on_unknown(rw_model *m, rw_event *e)
{
    rw_key k;
    rw_key_probe(&k, e->obj.p, e->obj.n);
    finding(m, e, RW_UNKNOWN_OBJECT, &k, NULL, RW_NONE, 0);
    if (e->op == RW_FREE || e->op == RW_DEREF)
        return 1;
    /* Track it from here on, so its later events are judged once. */
    uint32_t i = create(m, e, 0, F_IMPLICIT);
    if (e->op == RW_REF) {
        m->objs[i].count = e->has_count ? (int32_t)e->count : 1;
        push_ref(m, i, e);
    } else if (e->op == RW_UNREF) {
        m->objs[i].count = e->has_count ? (int32_t)e->count : -1;
    }
    history_obj(m, e, i, "unknown");
    return 1;
}

/* An event on a dead object. */
static int on_dead(rw_model *m, rw_event *e, dead *d)
{
    unsigned f = tf_flags(d->tf);
    uint32_t type = tf_type(d->tf);
    switch (e->op) {
    case RW_UNREF:
        if (d->count <= 0) {
            int32_t before = d->count;
            d->count = e->has_count && e->count < before ? (int32_t)e->count : before - 1;
            finding(m, e, RW_OVER_RELEASE, &d->key, NULL, type, before);
            set_flag(&d->tf, F_NEG);
            /* Dead at 0 and now below: unbalanced, once. */
            if (!(f & (F_NEG | F_UNBAL | F_IMPLICIT))) {
                record_unbalanced(m, &d->key, d->count, d->tf, NULL, 0, e->file, e->line);
                set_flag(&d->tf, F_UNBAL);
            }
            history(m, e, &d->key, d->tf, d->count, "over-release");
            return 1;
        }
        break;
    case RW_FREE:
        if (f & F_FREED) {
            finding(m, e, RW_DOUBLE_FREE, &d->key, NULL, type, d->count);
            history(m, e, &d->key, d->tf, d->count, "double-free");
            return 1;
        }
        /* The normal end after the count reached 0. */
        set_flag(&d->tf, F_FREED);
        m->t.freed++;
        history(m, e, &d->key, d->tf, d->count, NULL);
        return 0;
    default:
        break;
    }
    finding(m, e, RW_USE_AFTER_FREE, &d->key, NULL, type, d->count);
    history(m, e, &d->key, d->tf, d->count, "use-after-free");
    return 1;
}

static int ev_new(rw_model *m, rw_event *e, uint32_t i)
{
    if (i != UINT32_MAX) {
        obj *o = &m->objs[i];
        /* XPCOM logs may announce one object twice (Ctor and Create). */
        if (e->has_count && o->count == 0 && !o->nrefs)
            return 0;
        /* Created again while live: the old one was never freed. */
        die(m, i, e->hash, e->file, e->line);
    }
    i = create(m, e, e->has_count ? (int32_t)e->count : 1, 0);
    if (!e->has_count)
        push_ref(m, i, e);   /* the creator's reference */
    history_obj(m, e, i, NULL);
    return 0;
}

/* A log that states counts (XPCOM, Gallium) may skip events: the stated
 * count wins, and references beyond it, the oldest, are forgotten. */
static void trim_refs(rw_model *m, uint32_t i)
{
    obj *o = &m->objs[i];
    uint32_t keep = o->count > 0 ? (uint32_t)o->count : 0;
    while (o->nrefs > keep)
        rw_refs_remove(&m->refs, &o->rblk, &o->nrefs, 0);
}

static int ev_ref(rw_model *m, rw_event *e, uint32_t i)
{
    obj *o = &m->objs[i];
    o->count = e->has_count ? (int32_t)e->count : o->count + 1;
    push_ref(m, i, e);
    if (e->has_count)
        trim_refs(m, i);
    history_obj(m, e, i, NULL);
    return 0;
}

static int ev_unref(rw_model *m, rw_event *e, uint32_t i)
{
    obj *o = &m->objs[i];
    unsigned f = tf_flags(o->tf);
    if (!(f & F_IMPLICIT) && o->count <= 0) {
        /* Live at 0 (XPCOM's Create), or already below. */
        int32_t before = o->count;
        o->count = e->has_count && e->count < before ? (int32_t)e->count : before - 1;
        set_flag(&o->tf, F_NEG);
        finding(m, e, RW_OVER_RELEASE, &o->key, NULL, tf_type(o->tf), before);
        history_obj(m, e, i, "over-release");
        return 1;
    }
    o->count = e->has_count ? (int32_t)e->count : o->count - 1;
    pop_ref(m, i, e);
    if (e->has_count)
        trim_refs(m, i);
    if (o->count == 0) {
        history_obj(m, e, i, "died");
        die(m, i, e->hash, e->file, e->line);
        return 0;
    }
    if (o->count < 0 && !(f & F_IMPLICIT)) {
        /* A stated count below zero (an unsigned wrap in the log). */
        set_flag(&o->tf, F_NEG);
        finding(m, e, RW_OVER_RELEASE, &o->key, NULL, tf_type(o->tf), o->count);
        history_obj(m, e, i, "over-release");
        return 1;
    }
    history_obj(m, e, i, NULL);
    return 0;
}

static int ev_free(rw_model *m, rw_event *e, uint32_t i)
{
    obj *o = &m->objs[i];
    unsigned f = tf_flags(o->tf);
    set_flag(&o->tf, F_FREED);
    m->t.freed++;
    int bad = o->count > 0 && !(f & F_IMPLICIT);
    if (bad)
        finding(m, e, RW_FREE_WHILE_REFERENCED, &o->key, NULL, tf_type(o->tf), o->count);
    history_obj(m, e, i, bad ? "free-while-referenced" : "died");
    die(m, i, e->hash, e->file, e->line);
    return bad;
}

static int ev_weak(rw_model *m, rw_event *e, uint32_t i)
{
    rw_key k;
    uint64_t wh = rw_hash(e->weak.p, e->weak.n);
    rw_key_probe(&k, e->weak.p, e->weak.n);
    uint32_t old = rw_tab_find(&m->wtab, &k, wh);
    if (old != UINT32_MAX)
        weak_remove(m, old, 0);          /* registered again: replaced */
    uint32_t wi = weak_alloc(m);
    weak *w = &m->weaks[wi];
    memset(w, 0, sizeof *w);
    rw_key_make(&w->key, &m->keys, e->weak.p, e->weak.n);
    rw_key_make(&w->target_key, &m->keys, e->obj.p, e->obj.n);
    w->target = i + 1;
    w->target_type = tf_type(m->objs[i].tf);
    w->cb = intern_opt(&m->names, e->cb);
    w->filter = intern_opt(&m->types, e->filter);
    w->prio = e->has_prio ? e->prio : 0;
    w->h = mk_bus_subscribe(m->bus, i, (int)w->prio, fire, weak_filter, (void *)(uintptr_t)(wi + 1));
    if (!w->h)
        mk_die_err();
    rw_tab_put(&m->wtab, wh, wi);
    set_flag(&m->objs[i].tf, F_HADWEAK);
    weakside ts = side_get(m, i);
    /* Appended, so a listing follows registration order. */
    uint32_t *p = &ts.weaks;
    while (*p)
        p = &m->weaks[*p - 1].tnext;
    *p = wi + 1;
    side_set(m, i, ts);
    if (e->from.p) {
        uint32_t h = find_live(m, e->from, rw_hash(e->from.p, e->from.n));
        if (h != UINT32_MAX) {
            weakside hs = side_get(m, h);
            m->weaks[wi].holder = h + 1;
            m->weaks[wi].hnext = hs.wheld;
            hs.wheld = wi + 1;
            side_set(m, h, hs);
        }
    }
    m->t.weak_made++;
    m->t.weak_live++;
    history_obj(m, e, i, NULL);
    return 0;
}

static int ev_deref(rw_model *m, rw_event *e)
{
    rw_key k;
    rw_key_probe(&k, e->obj.p, e->obj.n);
    uint32_t wi = rw_tab_find(&m->wtab, &k, e->hash);
    if (wi == UINT32_MAX)
        return on_unknown(m, e);
    weak *w = &m->weaks[wi];
    if (w->flags & W_DEAD) {
        const char *wn = save_str(m, e->obj.p, e->obj.n);
        finding(m, e, RW_DEAD_WEAK_DEREF, &w->target_key, wn, w->target_type, 0);
        history(m, e, &w->target_key, w->target_type == RW_NONE ? TYPE_NONE : w->target_type, 0, "dead");
        return 1;
    }
    history_obj(m, e, w->target - 1, NULL);
    return 0;
}

int rw_model_apply(rw_model *m, rw_event *e)
{
    m->t.events++;
    if (e->op == RW_DEREF)
        return ev_deref(m, e);
    uint32_t i = find_event_obj(m, e);
    if (e->op == RW_NEW)
        return ev_new(m, e, i);
    if (i == UINT32_MAX && e->op == RW_REF && e->has_count && e->count == 1) {
        /* XPCOM's refcount log has no Create: an object appears with its
         * first AddRef (a reused address gets a new serial number). */
        i = create(m, e, 0, 0);
        return ev_ref(m, e, i);
    }
    if (i == UINT32_MAX) {
        dead *d = find_dead(m, e);
        return d ? on_dead(m, e, d) : on_unknown(m, e);
    }
    switch (e->op) {
    case RW_REF: return ev_ref(m, e, i);
    case RW_UNREF: return ev_unref(m, e, i);
    case RW_FREE: return ev_free(m, e, i);
    case RW_WEAK: return ev_weak(m, e, i);
    default: return 0;
    }
}

/* ---- end and results ------------------------------------------------------------------------------------ */

static int live_unbalanced(const obj *o)
{
    unsigned f = tf_flags(o->tf);
    return (f & F_LIVE) && !(f & F_IMPLICIT) && (o->count != 0 || (f & F_NEG));
}

/* Live unbalanced objects are counted here and described only when a
 * report walks them (rw_model_unbalanced_each): a log that ends with a
 * million live objects needs no second copy of them. */
void rw_model_finish(rw_model *m)
{
    for (uint32_t i = 0; i < m->nobjs; i++) {
        obj *o = &m->objs[i];
        if (!(tf_flags(o->tf) & F_LIVE))
            continue;
        m->t.live_refs += o->nrefs;
        m->t.live_unbalanced += live_unbalanced(o);
    }
    mk_bus_cleanup(m->bus);
    mk_bus_stats st;
    mk_bus_get_stats(m->bus, &st);
    m->t.weak_auto_cleaned = st.dropped_dead;
}

void rw_model_totals(rw_model *m, rw_totals *t)
{
    *t = m->t;
}

const rw_error *rw_model_errors(const rw_model *m, size_t *n)
{
    *n = mk_vec_len(&m->errors);
    return mk_vec_data(&m->errors);
}

size_t rw_model_unbalanced_count(const rw_model *m)
{
    return mk_vec_len(&m->unbalanced) + m->t.live_unbalanced;
}

void rw_model_unbalanced_each(rw_model *m, rw_unbalanced_fn fn, void *ctx)
{
    const rw_unbalanced *u = mk_vec_data(&m->unbalanced);
    for (size_t i = 0; i < mk_vec_len(&m->unbalanced); i++)
        if (fn(ctx, &u[i]))
            return;
    rw_site_count *v = NULL;
    size_t cap = 0;
    for (uint32_t i = 0; i < m->nobjs; i++) {
        const obj *o = &m->objs[i];
        if (!live_unbalanced(o))
            continue;
        char buf[40];
        size_t n;
        rw_unbalanced x = { 0 };
        x.obj = rw_key_str(&o->key, buf, &n);
        x.type = tf_type(o->tf);
        x.count = o->count;
        x.live = 1;
        x.went_negative = (tf_flags(o->tf) & F_NEG) != 0;
        if (o->nrefs) {
            if (o->nrefs > cap) {
                cap = o->nrefs;
                v = mk_xrealloc(v, cap * sizeof *v);
            }
            rw_ref one;
            x.nsites = sites_of(rw_refs_get(&m->refs, o->rblk, o->nrefs, &one), o->nrefs, v);
            x.sites = v;
        }
        if (fn(ctx, &x))
            break;
    }
    free(v);
}

const rw_firing *rw_model_firings(const rw_model *m, size_t *n)
{
    *n = mk_vec_len(&m->firings);
    return mk_vec_data(&m->firings);
}

const char *rw_model_type(const rw_model *m, uint32_t type)
{
    return type == RW_NONE ? NULL : mk_intern_str(&m->types, type, NULL);
}

const char *rw_model_site(const rw_model *m, uint32_t site)
{
    return site == RW_NONE ? NULL : mk_intern_str(&m->sites, site, NULL);
}

const char *rw_model_name(const rw_model *m, uint32_t id)
{
    return id == RW_NONE ? NULL : mk_intern_str(&m->names, id, NULL);
}

void rw_model_edges(rw_model *m, rw_edge_fn fn, void *ctx)
{
    for (uint32_t i = 0; i < m->nobjs; i++) {
        obj *o = &m->objs[i];
        if (!(tf_flags(o->tf) & F_LIVE))
            continue;
        char db[40];
        size_t dn;
        const char *d = rw_key_str(&o->key, db, &dn);
        rw_ref one;
        const rw_ref *r = rw_refs_get(&m->refs, o->rblk, o->nrefs, &one);
        for (uint32_t j = 0; j < o->nrefs; j++) {
            uint64_t h = ref_holder(&r[j]);
            if (!h)
                continue;
            char hb[40];
            size_t hn;
            const char *hs = holder_str(m, h, hb, &hn);
            fn(ctx, hs, hn, d, dn);
        }
    }
}

size_t rw_model_bytes(const rw_model *m)
{
    return m->cap_objs * sizeof(obj) + rw_refs_bytes(&m->refs) + m->ring_cap * sizeof(dead) +
           m->cap_weaks * sizeof(weak) + rw_tab_bytes(&m->tab) + rw_tab_bytes(&m->dtab) + rw_tab_bytes(&m->wtab) +
           mk_imap_bytes(&m->side) + m->keys.bytes + mk_intern_bytes(&m->types) + mk_intern_bytes(&m->sites) +
           mk_intern_bytes(&m->names);
}
