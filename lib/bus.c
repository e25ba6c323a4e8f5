/* bus — see bus.h. One mutex guards the topic lists and the slot free
 * list; callbacks run outside it. Each slot carries its generation, a dead
 * flag and a count of publishers about to call or calling it: a publisher
 * raises the count under the lock, then checks generation and dead flag
 * just before calling, so whoever unsubscribes or destroys (changing one of
 * them under the lock) only has to wait for the count to fall. */
#include "bus.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "map.h"
#include "vec.h"

enum { CHUNK = 512, NCHUNKS = MK_BUS_MAX / CHUNK, SNAP = 64 };

typedef struct {
    _Atomic uint32_t gen;     /* a handle is valid while its gen matches */
    _Atomic uint32_t busy;    /* publishers holding a snapshot of this slot */
    _Atomic int dead;         /* destroyed: never call again */
    uint32_t next;            /* next in the topic list or free list (index + 1) */
    int prio;
    uint64_t seq, topic;
    mk_bus_fn fn;
    mk_bus_filter filter;
    void *sub;
} slot;

struct mk_bus {
    pthread_mutex_t mu;
    mk_imap topics;            /* topic -> first slot (index + 1) */
    uint32_t free_head;        /* index + 1 */
    uint32_t nslots;           /* slots ever handed out */
    uint64_t seq;
    uint64_t subscribed, live, dropped_dead;
    _Atomic uint64_t calls, filtered;
    slot *chunks[NCHUNKS];
};

/* The calls in progress on this thread, innermost first: a callback that
 * unsubscribes or destroys a subscriber it is itself running under must not
 * wait for its own call to end. */
struct frame {
    const mk_bus *b;
    uint32_t idx;
    struct frame *up;
};
static __thread struct frame *tl_calls;

static slot *at(mk_bus *b, uint32_t idx)
{
    return &b->chunks[idx / CHUNK][idx % CHUNK];
}

static mk_bus_handle handle_of(uint32_t idx, uint32_t gen)
{
    return (uint64_t)gen << 32 | (uint64_t)(idx + 1);
}

mk_bus *mk_bus_new(void)
{
    mk_bus *b = mk_xcalloc(1, sizeof *b);
    if (pthread_mutex_init(&b->mu, NULL) != 0)
        mk_die("bus: cannot create a mutex");
    mk_imap_init(&b->topics, 0);
    return b;
}

void mk_bus_free(mk_bus *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < NCHUNKS && b->chunks[i]; i++)
        free(b->chunks[i]);
    mk_imap_free(&b->topics);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

/* ---- slots (under the lock) ------------------------------------------------- */

static int slot_alloc(mk_bus *b, uint32_t *idx)
{
    if (b->free_head) {
        *idx = b->free_head - 1;
        b->free_head = at(b, *idx)->next;
        return 0;
    }
    if (b->nslots == MK_BUS_MAX)
        return mk_err_set("bus: more than %d subscribers", MK_BUS_MAX);
    uint32_t i = b->nslots++;
    if (!b->chunks[i / CHUNK]) {
        b->chunks[i / CHUNK] = mk_xcalloc(CHUNK, sizeof(slot));
        for (uint32_t k = 0; k < CHUNK; k++)
            atomic_init(&b->chunks[i / CHUNK][k].gen, 1);
    }
    *idx = i;
    return 0;
}

/* The slot leaves its list: its handles go stale. */
static void slot_release(mk_bus *b, uint32_t idx)
{
    slot *s = at(b, idx);
    atomic_fetch_add(&s->gen, 1);
    if (atomic_load(&s->gen) == 0)
        atomic_store(&s->gen, 1);
    if (!atomic_load(&s->dead))
        b->live--;
    s->next = b->free_head;
    b->free_head = idx + 1;
}

/* The slot of a current handle, or NULL. */
static slot *lookup(mk_bus *b, mk_bus_handle h, uint32_t *idx)
{
    uint32_t i = (uint32_t)h, gen = (uint32_t)(h >> 32);
    if (i == 0 || i > b->nslots)
        return NULL;
    slot *s = at(b, i - 1);
    if (atomic_load(&s->gen) != gen)
        return NULL;
    *idx = i - 1;
    return s;
}

/* Wait until no other call of this slot is running (ours, up the stack, may). */
static void wait_idle(mk_bus *b, uint32_t idx)
{
    uint32_t mine = 0;
    for (struct frame *f = tl_calls; f; f = f->up)
        mine += f->b == b && f->idx == idx;
    slot *s = at(b, idx);
    while (atomic_load(&s->busy) > mine)
        sched_yield();
}

/* ---- subscribe and unsubscribe -------------------------------------------- */

mk_bus_handle mk_bus_subscribe(mk_bus *b, uint64_t topic, int prio, mk_bus_fn fn,
                               mk_bus_filter filter, void *sub)
{
    if (!fn) {
        mk_err_set("bus: subscribe without a callback");
        return 0;
    }
    pthread_mutex_lock(&b->mu);
    uint32_t idx = 0;
    if (slot_alloc(b, &idx) < 0) {
        pthread_mutex_unlock(&b->mu);
        return 0;
    }
    slot *s = at(b, idx);
    atomic_store(&s->dead, 0);
    s->prio = prio;
    s->seq = b->seq++;
    s->topic = topic;
    s->fn = fn;
    s->filter = filter;
    s->sub = sub;
    /* Sorted insert: after every subscriber of equal or higher priority. */
    int ins;
    uint64_t *head = mk_imap_put(&b->topics, topic, &ins);
    if (ins)
        *head = 0;
    uint32_t *link = NULL, cur = (uint32_t)*head, prev = 0;
    while (cur && at(b, cur - 1)->prio >= prio) {
        prev = cur;
        cur = at(b, cur - 1)->next;
    }
    s->next = cur;
    if (prev) {
        link = &at(b, prev - 1)->next;
        *link = idx + 1;
    } else {
        *head = idx + 1;
    }
    b->subscribed++;
    b->live++;
    mk_bus_handle h = handle_of(idx, atomic_load(&s->gen));
    pthread_mutex_unlock(&b->mu);
    return h;
}

/* Take slot idx out of its topic list (under the lock). */
static void unlink_slot(mk_bus *b, uint32_t idx)
{
    slot *s = at(b, idx);
    uint64_t *head = mk_imap_get(&b->topics, s->topic);
    if (!head)
        return;
    uint32_t cur = (uint32_t)*head, prev = 0;
    while (cur && cur != idx + 1) {
        prev = cur;
        cur = at(b, cur - 1)->next;
    }
    if (!cur)
        return;
    if (prev)
        at(b, prev - 1)->next = s->next;
    else if (s->next)
        *head = s->next;
    else
        mk_imap_del(&b->topics, s->topic);
}

int mk_bus_unsubscribe(mk_bus *b, mk_bus_handle h)
{
    pthread_mutex_lock(&b->mu);
    uint32_t idx = 0;
    slot *s = lookup(b, h, &idx);
    if (!s) {
        pthread_mutex_unlock(&b->mu);
        return 0;
    }
    unlink_slot(b, idx);
    slot_release(b, idx);
    pthread_mutex_unlock(&b->mu);
    wait_idle(b, idx);
    return 1;
}

int mk_bus_destroyed(mk_bus *b, mk_bus_handle h)
{
    pthread_mutex_lock(&b->mu);
    uint32_t idx = 0;
    slot *s = lookup(b, h, &idx);
    if (!s || atomic_load(&s->dead)) {
        pthread_mutex_unlock(&b->mu);
        return 0;
    }
    atomic_store(&s->dead, 1);
    b->live--;
    pthread_mutex_unlock(&b->mu);
    wait_idle(b, idx);
    return 1;
}

int mk_bus_alive(mk_bus *b, mk_bus_handle h)
{
    pthread_mutex_lock(&b->mu);
    uint32_t idx = 0;
    slot *s = lookup(b, h, &idx);
    int alive = s && !atomic_load(&s->dead);
    pthread_mutex_unlock(&b->mu);
    return alive;
}

/* ---- publish ----------------------------------------------------------------- */

typedef struct {
    uint32_t idx, gen;
    mk_bus_fn fn;
    mk_bus_filter filter;
    void *sub;
} snap;

/* The subscribers publish will call, taken under the lock. */
typedef struct {
    snap local[SNAP], *v;
    size_t n, cap;
} snaps;

static void take(mk_bus *b, uint32_t idx, void *ctx)
{
    snaps *sn = ctx;
    slot *s = at(b, idx);
    if (sn->n == sn->cap) {
        sn->cap *= 2;
        snap *w = mk_xmalloc(sn->cap * sizeof *w);
        memcpy(w, sn->v, sn->n * sizeof *w);
        if (sn->v != sn->local)
            free(sn->v);
        sn->v = w;
    }
    atomic_fetch_add(&s->busy, 1);
    sn->v[sn->n++] = (snap){ idx, atomic_load(&s->gen), s->fn, s->filter, s->sub };
}

/* Walk a topic's list under the lock: destroyed subscribers are unlinked,
 * released and counted; each live one goes to keep (if any). */
static size_t sweep(mk_bus *b, uint64_t *head, void (*keep)(mk_bus *, uint32_t, void *), void *ctx)
{
    uint32_t cur = (uint32_t)*head, prev = 0;
    size_t dropped = 0;
    while (cur) {
        uint32_t idx = cur - 1;
        slot *s = at(b, idx);
        uint32_t next = s->next;
        if (atomic_load(&s->dead)) {
            if (prev)
                at(b, prev - 1)->next = next;
            else
                *head = next;
            slot_release(b, idx);
            dropped++;
        } else {
            if (keep)
                keep(b, idx, ctx);
            prev = cur;
        }
        cur = next;
    }
    b->dropped_dead += dropped;
    return dropped;
}

size_t mk_bus_publish(mk_bus *b, uint64_t topic, const void *event)
{
    snaps sn;
    sn.v = sn.local;
    sn.n = 0;
    sn.cap = SNAP;
    pthread_mutex_lock(&b->mu);
    uint64_t *head = mk_imap_get(&b->topics, topic);
    if (head) {
        /* Dead subscribers met here are dropped on the spot. */
        sweep(b, head, take, &sn);
        if (!*head)
            mk_imap_del(&b->topics, topic);
    }
    pthread_mutex_unlock(&b->mu);

    snap *v = sn.v;
    size_t n = sn.n;
    size_t called = 0;
    for (size_t i = 0; i < n; i++) {
        slot *s = at(b, v[i].idx);
        if (!atomic_load(&s->dead) && atomic_load(&s->gen) == v[i].gen) {
            struct frame f = { b, v[i].idx, tl_calls };
            tl_calls = &f;
            if (!v[i].filter || v[i].filter(v[i].sub, topic, event)) {
                v[i].fn(v[i].sub, topic, event);
                called++;
            } else {
                atomic_fetch_add(&b->filtered, 1);
            }
            tl_calls = f.up;
        }
        atomic_fetch_sub(&s->busy, 1);
    }
    atomic_fetch_add(&b->calls, called);
    if (v != sn.local)
        free(v);
    return called;
}

/* ---- removal in bulk ----------------------------------------------------------- */

size_t mk_bus_close(mk_bus *b, uint64_t topic)
{
    pthread_mutex_lock(&b->mu);
    uint64_t *head = mk_imap_get(&b->topics, topic);
    uint32_t cur = head ? (uint32_t)*head : 0;
    size_t removed = 0;
    mk_vec wait;
    mk_vec_init(&wait, sizeof(uint32_t));
    while (cur) {
        uint32_t idx = cur - 1;
        slot *s = at(b, idx);
        cur = s->next;
        if (atomic_load(&s->dead)) {
            b->dropped_dead++;
        } else {
            removed++;
            *(uint32_t *)mk_vec_push(&wait) = idx;
        }
        slot_release(b, idx);
    }
    if (head)
        mk_imap_del(&b->topics, topic);
    pthread_mutex_unlock(&b->mu);
    for (size_t i = 0; i < mk_vec_len(&wait); i++)
        wait_idle(b, ((uint32_t *)mk_vec_data(&wait))[i]);
    mk_vec_free(&wait);
    return removed;
}

size_t mk_bus_cleanup(mk_bus *b)
{
    pthread_mutex_lock(&b->mu);
    size_t it = 0, dropped = 0;
    uint64_t topic, *head;
    mk_vec empty;
    mk_vec_init(&empty, sizeof(uint64_t));
    while (mk_imap_next(&b->topics, &it, &topic, &head)) {
        dropped += sweep(b, head, NULL, NULL);
        if (!*head)
            *(uint64_t *)mk_vec_push(&empty) = topic;
    }
    for (size_t i = 0; i < mk_vec_len(&empty); i++)
        mk_imap_del(&b->topics, ((uint64_t *)mk_vec_data(&empty))[i]);
    pthread_mutex_unlock(&b->mu);
    mk_vec_free(&empty);
    return dropped;
}

void mk_bus_get_stats(mk_bus *b, mk_bus_stats *st)
{
    pthread_mutex_lock(&b->mu);
    st->subscribed = b->subscribed;
    st->live = b->live;
    st->dropped_dead = b->dropped_dead;
    pthread_mutex_unlock(&b->mu);
    st->calls = atomic_load(&b->calls);
    st->filtered = atomic_load(&b->filtered);
}
