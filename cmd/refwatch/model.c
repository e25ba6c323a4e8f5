/* model — see model.h. Records: objects (36 bytes, in one array indexed by
 * a free list), outstanding references (12 bytes, a singly linked stack per
 * object, newest first) and weak references (their own array and table).
 * Links are index + 1, so 0 is "none" and arrays may move. */
#include "model.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "map.h"

const char *const rw_op_name[RW_NOPS] = { "new", "ref", "unref", "free", "weak", "deref" };
const char *const rw_kind_name[RW_NKINDS] = {
    "over-release", "use-after-free", "free-while-referenced", "double-free",
    "dead-weak-deref", "unknown-object",
};

enum {
    F_LIVE = 1, F_FREED = 2, F_NEG = 4, F_IMPLICIT = 8, F_INTAB = 16, F_QLIST = 32,
    F_WEAKY = 64,       /* has an entry in the weak side table */
    F_HADWEAK = 128,    /* a weak reference was registered: its bus topic may hold entries */
};
#define RELEASED UINT32_MAX   /* pins of a record on the free list */
#define TYPE_NONE 0xFFFFFFu
#define ROOT 0x80000000u

typedef struct {
    rw_key key;
    int32_t count;
    uint32_t tf;        /* type id (24 bits) | flags << 24 */
    uint32_t refs;      /* outstanding references on it, newest first */
    uint32_t pins;      /* references to this record: as a holder, as a weak target */
    uint32_t link;      /* quarantine FIFO or free list */
} obj;

typedef struct {
    uint32_t site;      /* intern id in sites, or RW_NONE */
    uint32_t holder;    /* 0, object index + 1, or ROOT | names id */
    uint32_t next;
} entry;

enum { W_DEAD = 1 };

typedef struct {
    rw_key key;
    uint32_t target;    /* object index + 1 (pinned) */
    uint32_t tnext;     /* next weak reference to the same target */
    uint32_t holder;    /* object index + 1 or 0 */
    uint32_t hnext;     /* next weak reference of the same holder */
    uint32_t cb, filter, flags, link;
    int64_t prio;
    mk_bus_handle h;
} weak;

typedef struct {
    uint32_t weaks;     /* weak references to the object */
    uint32_t wheld;     /* weak references it holds */
} weakside;

struct rw_model {
    obj *objs;
    size_t nobjs, cap_objs;
    uint32_t free_obj;
    rw_tab tab;
    entry *ents;
    size_t nents, cap_ents;
    uint32_t free_ent;
    weak *weaks;
    size_t nweaks, cap_weaks;
    uint32_t free_weak;
    rw_tab wtab;
    mk_imap side;       /* object index -> weakside (packed in 64 bits) */
    rw_keystore keys;
    mk_intern types, sites, names;
    mk_bus *bus;

    uint64_t quarantine;
    uint32_t qhead, qtail;
    uint64_t qlen;

    mk_vec errors, unbalanced, firings;
    mk_arena strs;       /* names in findings */
    mk_vec files;        /* char * */
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
    uint32_t obj;
    uint32_t type;
    uint32_t file;
    uint64_t line;
} death;

/* ---- small helpers ---------------------------------------------------------------- */

static uint32_t type_of(const obj *o)
{
    uint32_t t = o->tf & TYPE_NONE;
    return t == TYPE_NONE ? RW_NONE : t;
}

static unsigned flags_of(const obj *o)
{
    return o->tf >> 24;
}

static void set_flag(obj *o, unsigned f)
{
    o->tf |= (uint32_t)f << 24;
}

static void clear_flag(obj *o, unsigned f)
{
    o->tf &= ~((uint32_t)f << 24);
}

static const char *obj_name(const rw_model *m, uint32_t i, char *buf, size_t *n)
{
    return rw_key_str(&m->objs[i].key, buf, n);
}

static const char *save_str(rw_model *m, const char *p, size_t n)
{
    return mk_arena_strdup(&m->strs, p, n);
}

static const char *save_obj_name(rw_model *m, uint32_t i)
{
    char buf[40];
    size_t n;
    const char *p = obj_name(m, i, buf, &n);
    return save_str(m, p, n);
}

static uint32_t intern_opt(mk_intern *in, rw_str s)
{
    return s.p ? mk_intern_id(in, s.p, s.n) : RW_NONE;
}

/* ---- set-up ----------------------------------------------------------------------- */

rw_model *rw_model_new(uint64_t quarantine)
{
    rw_model *m = mk_xcalloc(1, sizeof *m);
    m->cap_objs = 1024;
    m->objs = mk_xmalloc(m->cap_objs * sizeof *m->objs);
    m->cap_ents = 1024;
    m->ents = mk_xmalloc(m->cap_ents * sizeof *m->ents);
    m->cap_weaks = 64;
    m->weaks = mk_xmalloc(m->cap_weaks * sizeof *m->weaks);
    rw_tab_init(&m->tab, (void *const *)&m->objs, sizeof(obj));
    rw_tab_init(&m->wtab, (void *const *)&m->weaks, sizeof(weak));
    mk_imap_init(&m->side, 0);
    rw_keystore_init(&m->keys);
    mk_intern_init(&m->types, 0);
    mk_intern_init(&m->sites, 0);
    mk_intern_init(&m->names, 0);
    m->bus = mk_bus_new();
    m->quarantine = quarantine;
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
    free(m->objs);
    free(m->ents);
    free(m->weaks);
    rw_tab_free(&m->tab);
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
    rw_key_probe(&m->hist_key, m->hist_name, strlen(name));
    /* Keys of long names point into hist_name, which lives as long. */
    m->hist_type = mk_intern_id(&m->types, name, strlen(name));
}

/* ---- records ------------------------------------------------------------------------ */

static uint32_t obj_alloc(rw_model *m)
{
    if (m->free_obj) {
        uint32_t i = m->free_obj - 1;
        m->free_obj = m->objs[i].link;
        return i;
    }
    if (m->nobjs == m->cap_objs) {
        if (m->cap_objs >= UINT32_MAX / 2)
            mk_die("more than 2^31 objects at once");
        m->cap_objs *= 2;
        m->objs = mk_xrealloc(m->objs, m->cap_objs * sizeof *m->objs);
    }
    return (uint32_t)m->nobjs++;
}

static void obj_release(rw_model *m, uint32_t i)
{
    obj *o = &m->objs[i];
    rw_key_drop(&o->key, &m->keys);
    if (flags_of(o) & F_WEAKY)
        mk_imap_del(&m->side, i);
    o->tf = 0;
    o->pins = RELEASED;
    o->link = m->free_obj;
    m->free_obj = i + 1;
}

/* A dead record goes once nothing needs it: not findable, not queued, not
 * named by an outstanding reference or a weak reference. */
static void maybe_release(rw_model *m, uint32_t i)
{
    obj *o = &m->objs[i];
    if (o->pins == RELEASED)
        return;
    if (!(flags_of(o) & (F_LIVE | F_INTAB | F_QLIST)) && o->pins == 0)
        obj_release(m, i);
}

static void unpin(rw_model *m, uint32_t i)
{
    m->objs[i].pins--;
    maybe_release(m, i);
}

static uint32_t ent_alloc(rw_model *m)
{
    if (m->free_ent) {
        uint32_t i = m->free_ent - 1;
        m->free_ent = m->ents[i].next;
        return i;
    }
    if (m->nents == m->cap_ents) {
        if (m->cap_ents >= UINT32_MAX / 2)
            mk_die("more than 2^31 outstanding references");
        m->cap_ents *= 2;
        m->ents = mk_xrealloc(m->ents, m->cap_ents * sizeof *m->ents);
    }
    return (uint32_t)m->nents++;
}

static void ent_release(rw_model *m, uint32_t e)
{
    uint32_t h = m->ents[e].holder;
    if (h && !(h & ROOT))
        unpin(m, h - 1);
    m->ents[e].next = m->free_ent;
    m->free_ent = e + 1;
}

static weakside side_get(rw_model *m, uint32_t i)
{
    weakside s = { 0, 0 };
    if (flags_of(&m->objs[i]) & F_WEAKY) {
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
    if (!s.weaks && !s.wheld) {
        if (flags_of(&m->objs[i]) & F_WEAKY) {
            mk_imap_del(&m->side, i);
            clear_flag(&m->objs[i], F_WEAKY);
        }
        return;
    }
    int ins;
    *mk_imap_put(&m->side, i, &ins) = (uint64_t)s.wheld << 32 | s.weaks;
    set_flag(&m->objs[i], F_WEAKY);
}

/* ---- lookups ---------------------------------------------------------------------------- */

static uint32_t find_obj(rw_model *m, rw_str s, uint64_t h, rw_key *k)
{
    rw_key_probe(k, s.p, s.n);
    return rw_tab_find(&m->tab, k, h);
}

void rw_model_prefetch(rw_model *m, rw_event *e)
{
    e->hash = rw_hash(e->obj.p, e->obj.n);
    rw_tab_prefetch(e->op == RW_DEREF ? &m->wtab : &m->tab, e->hash);
}

/* ---- findings ------------------------------------------------------------------------------ */

static void finding(rw_model *m, const rw_event *e, rw_kind k, const char *objname, const char *weakname,
                    uint32_t type, int32_t count)
{
    rw_error *r = mk_vec_push(&m->errors);
    *r = (rw_error){ e->file, e->line, k, e->op, objname, weakname, type, count };
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

static void record_unbalanced(rw_model *m, uint32_t i, int live, uint32_t file, uint64_t line)
{
    obj *o = &m->objs[i];
    rw_unbalanced *u = mk_vec_push(&m->unbalanced);
    memset(u, 0, sizeof *u);
    u->obj = save_obj_name(m, i);
    u->type = type_of(o);
    u->count = o->count;
    u->live = (uint8_t)live;
    u->went_negative = (flags_of(o) & F_NEG) != 0;
    u->file = file;
    u->line = line;
    size_t k = 0;
    for (uint32_t e = o->refs; e; e = m->ents[e - 1].next)
        k++;
    if (!k)
        return;
    rw_site_count *v = mk_arena_alloc(&m->strs, k * sizeof *v);
    k = 0;
    for (uint32_t e = o->refs; e; e = m->ents[e - 1].next)
        v[k++] = (rw_site_count){ m->ents[e - 1].site, 1 };
    qsort(v, k, sizeof *v, cmp_site);
    size_t w = 0;
    for (size_t j = 0; j < k; j++) {
        if (w && v[w - 1].site == v[j].site)
            v[w - 1].refs++;
        else
            v[w++] = v[j];
    }
    qsort(v, w, sizeof *v, cmp_site_count);
    u->sites = v;
    u->nsites = (uint32_t)w;
}

/* ---- history ---------------------------------------------------------------------------------- */

static void history(rw_model *m, const rw_event *e, uint32_t i, const char *note)
{
    if (!m->hist)
        return;
    obj *o = &m->objs[i];
    if (!rw_key_eq(&o->key, &m->hist_key) && type_of(o) != m->hist_type)
        return;
    char buf[40], hb[40];
    rw_step st = { e, e->op, o->count, NULL, 0, type_of(o), NULL, 0, note };
    st.obj = obj_name(m, i, buf, &st.objlen);
    if (e->from.p) {
        st.holder = e->from.p;
        st.holderlen = e->from.n;
    }
    (void)hb;
    m->hist(m->hist_ctx, &st);
}

/* ---- weak references ------------------------------------------------------------------------------ */

static void fire(void *sub, uint64_t topic, const void *event)
{
    const death *d = event;
    rw_model *m = d->m;
    weak *w = &m->weaks[(uintptr_t)sub - 1];
    (void)topic;
    char buf[40];
    size_t n;
    const char *wn = rw_key_str(&w->key, buf, &n);
    rw_firing *f = mk_vec_push(&m->firings);
    *f = (rw_firing){ d->file, d->line, save_obj_name(m, d->obj), save_str(m, wn, n), d->type, w->cb, w->prio };
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

/* Forget weak reference wi entirely (replaced, or its holder died). */
static void weak_remove(rw_model *m, uint32_t wi, int holder_died)
{
    weak *w = &m->weaks[wi];
    char buf[40];
    size_t n;
    const char *s = rw_key_str(&w->key, buf, &n);
    rw_tab_del(&m->wtab, rw_hash(s, n), wi);
    if (holder_died) {
        /* The bus drops it lazily (counted there as auto-cleaned). */
        mk_bus_destroyed(m->bus, w->h);
    } else {
        mk_bus_unsubscribe(m->bus, w->h);
    }
    uint32_t t = w->target - 1;
    if (!(w->flags & W_DEAD)) {
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
    w->link = m->free_weak;
    m->free_weak = wi + 1;
    unpin(m, t);
}

/* ---- death ------------------------------------------------------------------------------------------- */

static void quarantine_pop(rw_model *m)
{
    uint32_t i = m->qhead - 1;
    obj *o = &m->objs[i];
    m->qhead = o->link;
    if (!m->qhead)
        m->qtail = 0;
    m->qlen--;
    clear_flag(o, F_QLIST);
    if (flags_of(o) & F_INTAB) {
        char buf[40];
        size_t n;
        const char *s = obj_name(m, i, buf, &n);
        rw_tab_del(&m->tab, rw_hash(s, n), i);
        clear_flag(o, F_INTAB);
        m->t.quarantine_evicted++;
    }
    maybe_release(m, i);
}

static void quarantine_push(rw_model *m, uint32_t i)
{
    obj *o = &m->objs[i];
    set_flag(o, F_QLIST);
    o->link = 0;
    if (m->qtail)
        m->objs[m->qtail - 1].link = i + 1;
    else
        m->qhead = i + 1;
    m->qtail = i + 1;
    m->qlen++;
    while (m->qlen > m->quarantine)
        quarantine_pop(m);
}

static void die(rw_model *m, uint32_t i, uint32_t file, uint64_t line)
{
    obj *o = &m->objs[i];
    o->pins++;           /* held while its weak references are taken apart */
    clear_flag(o, F_LIVE);
    if (flags_of(o) & F_IMPLICIT) {
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
        death d = { m, i, type_of(o), file, line };
        mk_bus_publish(m->bus, i, &d);
        mk_bus_close(m->bus, i);
        s.weaks = 0;
    } else if (flags_of(o) & F_HADWEAK) {
        /* Dead subscribers of this topic may still wait there. */
        death d = { m, i, type_of(o), file, line };
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
    if (!(flags_of(o) & F_IMPLICIT) && (o->count != 0 || (flags_of(o) & F_NEG)))
        record_unbalanced(m, i, 0, file, line);
    for (uint32_t e = o->refs, next; e; e = next) {
        next = m->ents[e - 1].next;
        ent_release(m, e - 1);
    }
    o = &m->objs[i];
    o->refs = 0;
    o->pins--;
    if (flags_of(o) & F_INTAB) {
        if (m->quarantine) {
            quarantine_push(m, i);
        } else {
            char buf[40];
            size_t n;
            const char *s2 = obj_name(m, i, buf, &n);
            rw_tab_del(&m->tab, rw_hash(s2, n), i);
            clear_flag(o, F_INTAB);
        }
    }
    maybe_release(m, i);
}

/* The name is taken by a new object: the old record leaves the table. */
static void forget(rw_model *m, uint32_t i, uint64_t h, const rw_event *e)
{
    obj *o = &m->objs[i];
    if (flags_of(o) & F_LIVE) {
        /* Created again while live: the old one was never freed. */
        die(m, i, e->file, e->line);
        o = &m->objs[i];
    }
    if (o->pins == RELEASED)
        return;
    if (flags_of(o) & F_INTAB) {
        rw_tab_del(&m->tab, h, i);
        clear_flag(o, F_INTAB);
    }
    maybe_release(m, i);
}

/* ---- events --------------------------------------------------------------------------------------------- */

static uint32_t create(rw_model *m, const rw_event *e, uint64_t h, int32_t count, unsigned extra)
{
    uint32_t i = obj_alloc(m);
    obj *o = &m->objs[i];
    rw_key_make(&o->key, &m->keys, e->obj.p, e->obj.n);
    o->count = count;
    uint32_t type = e->op == RW_NEW ? intern_opt(&m->types, e->type) : RW_NONE;
    if (type != RW_NONE && type >= TYPE_NONE)
        mk_die("more than 16 million types");
    o->tf = (type == RW_NONE ? TYPE_NONE : type) | (uint32_t)(F_LIVE | F_INTAB | extra) << 24;
    o->refs = 0;
    o->pins = 0;
    o->link = 0;
    rw_tab_put(&m->tab, h, i);
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

static uint32_t holder_of(rw_model *m, rw_str from)
{
    if (!from.p)
        return 0;
    rw_key k;
    uint32_t h = find_obj(m, from, rw_hash(from.p, from.n), &k);
    if (h != UINT32_MAX) {
        m->objs[h].pins++;
        return h + 1;
    }
    uint32_t id = mk_intern_id(&m->names, from.p, from.n);
    if (id >= ROOT)
        mk_die("more than 2^31 holder names");
    return ROOT | id;
}

static void push_ref(rw_model *m, uint32_t i, const rw_event *e)
{
    uint32_t x = ent_alloc(m);
    entry *en = &m->ents[x];
    en->site = intern_opt(&m->sites, e->site);
    en->holder = holder_of(m, e->from);
    en->next = m->objs[i].refs;
    m->objs[i].refs = x + 1;
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

/* Remove the outstanding reference this unref undoes. */
static void pop_ref(rw_model *m, uint32_t i, const rw_event *e)
{
    obj *o = &m->objs[i];
    if (!o->refs)
        return;
    uint32_t *best = &o->refs;
    if (e->from.p || e->site.p) {
        uint32_t hold = 0, site = RW_NONE;
        rw_key k;
        if (e->from.p) {
            uint32_t h = find_obj(m, e->from, rw_hash(e->from.p, e->from.n), &k);
            uint32_t id;
            if (h != UINT32_MAX)
                hold = h + 1;
            else if (mk_intern_find(&m->names, e->from.p, e->from.n, &id))
                hold = ROOT | id;
        }
        if (e->site.p && !mk_intern_find(&m->sites, e->site.p, e->site.n, &site))
            site = RW_NONE;
        uint32_t *by_holder = NULL, *by_site = NULL, *by_stack = NULL;
        size_t stack_best = 0;
        for (uint32_t *p = &o->refs; *p; p = &m->ents[*p - 1].next) {
            entry *en = &m->ents[*p - 1];
            if (hold && en->holder == hold && !by_holder)
                by_holder = p;
            if (site != RW_NONE && en->site == site && !by_site)
                by_site = p;
            if (!by_holder && !by_site && e->site.p && en->site != RW_NONE &&
                memchr(e->site.p, '\n', e->site.n)) {
                size_t n;
                const char *s = mk_intern_str(&m->sites, en->site, &n);
                size_t k2 = shared_frames(e->site.p, e->site.n, s, n);
                if (k2 > stack_best) {
                    stack_best = k2;
                    by_stack = p;
                }
            }
        }
        best = by_holder ? by_holder : by_site ? by_site : by_stack ? by_stack : &o->refs;
    }
    uint32_t x = *best - 1;
    *best = m->ents[x].next;
    ent_release(m, x);
}

static int on_unknown(rw_model *m, rw_event *e, uint64_t h)
{
    char *name = mk_arena_strdup(&m->strs, e->obj.p, e->obj.n);
    finding(m, e, RW_UNKNOWN_OBJECT, name, NULL, RW_NONE, 0);
    if (e->op == RW_FREE || e->op == RW_DEREF)
        return 1;
    /* Track it from here on, so its later events are judged once. */
    uint32_t i = create(m, e, h, 0, F_IMPLICIT);
    if (e->op == RW_REF) {
        m->objs[i].count = e->has_count ? (int32_t)e->count : 1;
        push_ref(m, i, e);
    } else if (e->op == RW_UNREF) {
        m->objs[i].count = e->has_count ? (int32_t)e->count : -1;
    }
    history(m, e, i, "unknown");
    return 1;
}

static int ev_new(rw_model *m, rw_event *e, uint32_t i)
{
    if (i != UINT32_MAX) {
        obj *o = &m->objs[i];
        /* XPCOM logs may announce one object twice (Ctor and Create). */
        if (e->has_count && (flags_of(o) & F_LIVE) && o->count == 0 && !o->refs)
            return 0;
        forget(m, i, e->hash, e);
    }
    i = create(m, e, e->hash, e->has_count ? (int32_t)e->count : 1, 0);
    if (!e->has_count)
        push_ref(m, i, e);   /* the creator's reference */
    history(m, e, i, NULL);
    return 0;
}

static int ev_ref(rw_model *m, rw_event *e, uint32_t i)
{
    obj *o = &m->objs[i];
    if (!(flags_of(o) & F_LIVE)) {
        finding(m, e, RW_USE_AFTER_FREE, save_obj_name(m, i), NULL, type_of(o), o->count);
        history(m, e, i, "use-after-free");
        return 1;
    }
    o->count = e->has_count ? (int32_t)e->count : o->count + 1;
    push_ref(m, i, e);
    history(m, e, i, NULL);
    return 0;
}

static int ev_unref(rw_model *m, rw_event *e, uint32_t i)
{
    obj *o = &m->objs[i];
    unsigned f = flags_of(o);
    if (f & F_IMPLICIT) {
        o->count = e->has_count ? (int32_t)e->count : o->count - 1;
        pop_ref(m, i, e);
        history(m, e, i, NULL);
        if ((f & F_LIVE) && o->count == 0)
            die(m, i, e->file, e->line);
        return 0;
    }
    if (o->count <= 0) {
        int32_t before = o->count;
        o->count = e->has_count ? (int32_t)e->count : o->count - 1;
        if (o->count >= 0)
            o->count = before - 1;
        finding(m, e, RW_OVER_RELEASE, save_obj_name(m, i), NULL, type_of(o), before);
        /* Dead already (at 0): it is unbalanced now, once. */
        if (!(f & (F_LIVE | F_NEG)))
            record_unbalanced(m, i, 0, e->file, e->line);
        set_flag(o, F_NEG);
        history(m, e, i, "over-release");
        return 1;
    }
    if (!(f & F_LIVE)) {
        finding(m, e, RW_USE_AFTER_FREE, save_obj_name(m, i), NULL, type_of(o), o->count);
        history(m, e, i, "use-after-free");
        return 1;
    }
    o->count = e->has_count ? (int32_t)e->count : o->count - 1;
    pop_ref(m, i, e);
    if (o->count == 0) {
        history(m, e, i, "died");
        die(m, i, e->file, e->line);
        return 0;
    }
    if (o->count < 0) {
        /* A stated count below zero (an unsigned wrap in the log). */
        set_flag(o, F_NEG);
        finding(m, e, RW_OVER_RELEASE, save_obj_name(m, i), NULL, type_of(o), o->count);
        history(m, e, i, "over-release");
        return 1;
    }
    history(m, e, i, NULL);
    return 0;
}

static int ev_free(rw_model *m, rw_event *e, uint32_t i)
{
    obj *o = &m->objs[i];
    unsigned f = flags_of(o);
    if (f & F_FREED) {
        finding(m, e, RW_DOUBLE_FREE, save_obj_name(m, i), NULL, type_of(o), o->count);
        history(m, e, i, "double-free");
        return 1;
    }
    set_flag(o, F_FREED);
    m->t.freed++;
    if (!(f & F_LIVE)) {
        history(m, e, i, NULL);      /* the normal end after the count reached 0 */
        return 0;
    }
    int bad = o->count > 0 && !(f & F_IMPLICIT);
    int32_t count = o->count;
    if (bad)
        finding(m, e, RW_FREE_WHILE_REFERENCED, save_obj_name(m, i), NULL, type_of(o), count);
    history(m, e, i, bad ? "free-while-referenced" : "died");
    die(m, i, e->file, e->line);
    return bad;
}

static int ev_weak(rw_model *m, rw_event *e, uint32_t i)
{
    obj *o = &m->objs[i];
    if (!(flags_of(o) & F_LIVE)) {
        finding(m, e, RW_USE_AFTER_FREE, save_obj_name(m, i), NULL, type_of(o), o->count);
        history(m, e, i, "use-after-free");
        return 1;
    }
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
    w->target = i + 1;
    w->cb = intern_opt(&m->names, e->cb);
    w->filter = intern_opt(&m->types, e->filter);
    w->prio = e->has_prio ? e->prio : 0;
    w->h = mk_bus_subscribe(m->bus, i, (int)w->prio, fire, weak_filter, (void *)(uintptr_t)(wi + 1));
    if (!w->h)
        mk_die_err();
    rw_tab_put(&m->wtab, wh, wi);
    m->objs[i].pins++;
    set_flag(&m->objs[i], F_HADWEAK);
    weakside ts = side_get(m, i);
    /* Appended, so a listing follows registration order. */
    uint32_t *p = &ts.weaks;
    while (*p)
        p = &m->weaks[*p - 1].tnext;
    *p = wi + 1;
    side_set(m, i, ts);
    if (e->from.p) {
        uint32_t h = find_obj(m, e->from, rw_hash(e->from.p, e->from.n), &k);
        if (h != UINT32_MAX && (flags_of(&m->objs[h]) & F_LIVE)) {
            weakside hs = side_get(m, h);
            m->weaks[wi].holder = h + 1;
            m->weaks[wi].hnext = hs.wheld;
            hs.wheld = wi + 1;
            side_set(m, h, hs);
        }
    }
    m->t.weak_made++;
    m->t.weak_live++;
    history(m, e, i, NULL);
    return 0;
}

static int ev_deref(rw_model *m, rw_event *e)
{
    rw_key k;
    rw_key_probe(&k, e->obj.p, e->obj.n);
    uint32_t wi = rw_tab_find(&m->wtab, &k, e->hash);
    if (wi == UINT32_MAX)
        return on_unknown(m, e, e->hash);
    weak *w = &m->weaks[wi];
    uint32_t t = w->target - 1;
    if (w->flags & W_DEAD) {
        const char *wn = mk_arena_strdup(&m->strs, e->obj.p, e->obj.n);
        finding(m, e, RW_DEAD_WEAK_DEREF, save_obj_name(m, t), wn, type_of(&m->objs[t]),
                m->objs[t].count);
        history(m, e, t, "dead");
        return 1;
    }
    history(m, e, t, NULL);
    return 0;
}

int rw_model_apply(rw_model *m, rw_event *e)
{
    m->t.events++;
    if (e->op == RW_DEREF)
        return ev_deref(m, e);
    rw_key k;
    uint32_t i = find_obj(m, e->obj, e->hash, &k);
    if (e->op == RW_NEW)
        return ev_new(m, e, i);
    if (i == UINT32_MAX)
        return on_unknown(m, e, e->hash);
    switch (e->op) {
    case RW_REF: return ev_ref(m, e, i);
    case RW_UNREF: return ev_unref(m, e, i);
    case RW_FREE: return ev_free(m, e, i);
    case RW_WEAK: return ev_weak(m, e, i);
    default: return 0;
    }
}

/* ---- end and results ------------------------------------------------------------------------------------ */

void rw_model_finish(rw_model *m)
{
    for (uint32_t i = 0; i < m->nobjs; i++) {
        obj *o = &m->objs[i];
        unsigned f = flags_of(o);
        if ((f & F_LIVE) && !(f & F_IMPLICIT) && (o->count != 0 || (f & F_NEG)))
            record_unbalanced(m, i, 1, 0, 0);
        if (f & F_LIVE)
            for (uint32_t e = o->refs; e; e = m->ents[e - 1].next)
                m->t.live_refs++;
    }
    m->t.weak_auto_cleaned = 0;
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

const rw_unbalanced *rw_model_unbalanced(const rw_model *m, size_t *n)
{
    *n = mk_vec_len(&m->unbalanced);
    return mk_vec_data(&m->unbalanced);
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
        if (!(flags_of(o) & F_LIVE))
            continue;
        char db[40];
        size_t dn;
        const char *d = obj_name(m, i, db, &dn);
        for (uint32_t e = o->refs; e; e = m->ents[e - 1].next) {
            uint32_t h = m->ents[e - 1].holder;
            if (!h)
                continue;
            char hb[40];
            size_t hn;
            const char *hs = h & ROOT ? mk_intern_str(&m->names, h & ~ROOT, &hn)
                                      : obj_name(m, h - 1, hb, &hn);
            fn(ctx, hs, hn, d, dn);
        }
    }
}

size_t rw_model_bytes(const rw_model *m)
{
    return m->cap_objs * sizeof(obj) + m->cap_ents * sizeof(entry) + m->cap_weaks * sizeof(weak) +
           rw_tab_bytes(&m->tab) + rw_tab_bytes(&m->wtab) + mk_imap_bytes(&m->side) + m->keys.bytes +
           mk_intern_bytes(&m->types) + mk_intern_bytes(&m->sites) + mk_intern_bytes(&m->names);
}
