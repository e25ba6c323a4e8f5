/* Unit tests for lib/bus: priority order with ties in subscription order,
 * filters, stale and destroyed handles (never called, dropped on publish or
 * cleanup and counted), a callback that unsubscribes or destroys itself or
 * subscribes another, close, and a stress run (also built under
 * ThreadSanitizer by make check): publishers, subscribers, unsubscribers and
 * destroyers on 6 threads, where every subscriber records when its destroy
 * returned and a call after that fails the test. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#include "bus.h"
#include "err.h"
#include "unit.h"

UNIT_RNG(0x6275735f74657374ull)

/* ---- single-threaded semantics --------------------------------------------- */

typedef struct {
    char log[256];
    size_t n;
} trace;

typedef struct {
    trace *t;
    char name;
    int accept;           /* filter answer */
    mk_bus *b;
    mk_bus_handle self, other;
    int action;           /* 1 unsubscribe self, 2 destroy self, 3 subscribe other */
} sub;

static void record(void *p, uint64_t topic, const void *ev)
{
    sub *s = p;
    (void)topic;
    (void)ev;
    s->t->log[s->t->n++] = s->name;
    s->t->log[s->t->n] = 0;
    if (s->action == 1)
        mk_bus_unsubscribe(s->b, s->self);
    if (s->action == 2)
        mk_bus_destroyed(s->b, s->self);
    if (s->action == 3 && !s->other)
        s->other = mk_bus_subscribe(s->b, 1, 100, record, NULL, s + 1);
}

static int accept_filter(void *p, uint64_t topic, const void *ev)
{
    const sub *s = p;
    return s->accept && topic == 1 && *(const int *)ev == 42;
}

static void test_priority_order(void)
{
    mk_bus *b = mk_bus_new();
    trace t = { .n = 0 };
    sub s[6] = { { &t, 'a' }, { &t, 'b' }, { &t, 'c' }, { &t, 'd' }, { &t, 'e' }, { &t, 'x' } };
    int ev = 42;
    mk_bus_subscribe(b, 1, 0, record, NULL, &s[0]);
    mk_bus_subscribe(b, 1, 5, record, NULL, &s[1]);
    mk_bus_subscribe(b, 1, 0, record, NULL, &s[2]);
    mk_bus_subscribe(b, 1, -3, record, NULL, &s[3]);
    mk_bus_subscribe(b, 1, 5, record, NULL, &s[4]);
    mk_bus_subscribe(b, 2, 9, record, NULL, &s[5]);   /* other topic */
    CHECK_INT(mk_bus_publish(b, 1, &ev), 5);
    CHECK_STR(t.log, "beacd");
    CHECK_INT(mk_bus_publish(b, 3, &ev), 0);
    CHECK_INT(mk_bus_publish(b, 2, &ev), 1);
    CHECK_STR(t.log, "beacdx");
    mk_bus_stats st;
    mk_bus_get_stats(b, &st);
    CHECK_U64(st.subscribed, 6);
    CHECK_U64(st.live, 6);
    CHECK_U64(st.calls, 6);
    mk_bus_free(b);
}

static void test_filter(void)
{
    mk_bus *b = mk_bus_new();
    trace t = { .n = 0 };
    sub s[2] = { { &t, 'y', 1 }, { &t, 'n', 0 } };
    int ev = 42, other = 7;
    mk_bus_subscribe(b, 1, 0, record, accept_filter, &s[0]);
    mk_bus_subscribe(b, 1, 0, record, accept_filter, &s[1]);
    CHECK_INT(mk_bus_publish(b, 1, &ev), 1);
    CHECK_INT(mk_bus_publish(b, 1, &other), 0);
    CHECK_STR(t.log, "y");
    mk_bus_stats st;
    mk_bus_get_stats(b, &st);
    CHECK_U64(st.filtered, 3);
    mk_bus_free(b);
}

static void test_destroyed_dropped(void)
{
    mk_bus *b = mk_bus_new();
    trace t = { .n = 0 };
    sub s[4] = { { &t, 'a' }, { &t, 'b' }, { &t, 'c' }, { &t, 'd' } };
    int ev = 0;
    mk_bus_handle ha = mk_bus_subscribe(b, 1, 0, record, NULL, &s[0]);
    mk_bus_handle hb = mk_bus_subscribe(b, 1, 0, record, NULL, &s[1]);
    mk_bus_handle hc = mk_bus_subscribe(b, 2, 0, record, NULL, &s[2]);
    mk_bus_subscribe(b, 2, 0, record, NULL, &s[3]);
    CHECK(mk_bus_alive(b, ha));
    CHECK_INT(mk_bus_destroyed(b, ha), 1);
    CHECK_INT(mk_bus_destroyed(b, ha), 0);     /* already */
    CHECK(!mk_bus_alive(b, ha));
    CHECK_INT(mk_bus_destroyed(b, hc), 1);
    mk_bus_stats st;
    mk_bus_get_stats(b, &st);
    CHECK_U64(st.live, 2);
    CHECK_U64(st.dropped_dead, 0);             /* lazily */
    CHECK_INT(mk_bus_publish(b, 1, &ev), 1);   /* drops a on the way */
    CHECK_STR(t.log, "b");
    mk_bus_get_stats(b, &st);
    CHECK_U64(st.dropped_dead, 1);
    CHECK_INT(mk_bus_cleanup(b), 1);           /* c */
    CHECK_INT(mk_bus_cleanup(b), 0);
    CHECK_INT(mk_bus_publish(b, 2, &ev), 1);
    CHECK_STR(t.log, "bd");
    /* Stale handles never reach the slot's next owner. */
    CHECK_INT(mk_bus_unsubscribe(b, ha), 0);
    mk_bus_handle he = mk_bus_subscribe(b, 1, 0, record, NULL, &s[0]);
    CHECK(he != ha);
    CHECK_INT(mk_bus_unsubscribe(b, ha), 0);
    CHECK_INT(mk_bus_destroyed(b, hc), 0);
    CHECK(mk_bus_alive(b, he));
    CHECK_INT(mk_bus_unsubscribe(b, hb), 1);
    CHECK_INT(mk_bus_unsubscribe(b, hb), 0);
    CHECK_INT(mk_bus_unsubscribe(b, 0), 0);
    CHECK_INT(mk_bus_unsubscribe(b, 12345), 0);
    CHECK_INT(mk_bus_publish(b, 1, &ev), 1);
    CHECK_STR(t.log, "bda");
    mk_bus_get_stats(b, &st);
    CHECK_U64(st.live, 2);
    CHECK_U64(st.dropped_dead, 2);
    mk_bus_free(b);
}

static void test_callback_changes_bus(void)
{
    mk_bus *b = mk_bus_new();
    trace t = { .n = 0 };
    int ev = 0;
    sub s[5] = { { &t, 'u' }, { &t, 'd' }, { &t, 's' }, { &t, 'n' }, { &t, 'z' } };
    for (int i = 0; i < 5; i++)
        s[i].b = b;
    s[0].action = 1;
    s[1].action = 2;
    s[2].action = 3;    /* subscribes s[3] at priority 100 */
    s[0].self = mk_bus_subscribe(b, 1, 3, record, NULL, &s[0]);
    s[1].self = mk_bus_subscribe(b, 1, 2, record, NULL, &s[1]);
    s[2].self = mk_bus_subscribe(b, 1, 1, record, NULL, &s[2]);
    s[4].self = mk_bus_subscribe(b, 1, 0, record, NULL, &s[4]);
    CHECK_INT(mk_bus_publish(b, 1, &ev), 4);
    CHECK_STR(t.log, "udsz");          /* n joined during the publish */
    CHECK_INT(mk_bus_publish(b, 1, &ev), 3);
    CHECK_STR(t.log, "udszn" "sz");
    mk_bus_stats st;
    mk_bus_get_stats(b, &st);
    CHECK_U64(st.live, 3);
    CHECK_U64(st.dropped_dead, 1);     /* d, destroyed by itself */
    CHECK_INT(mk_bus_close(b, 1), 3);
    CHECK_INT(mk_bus_publish(b, 1, &ev), 0);
    CHECK(!mk_bus_alive(b, s[4].self));
    mk_bus_free(b);
}

static void test_many_subscribers_one_topic(void)
{
    /* More than fit the publish snapshot on the stack. */
    mk_bus *b = mk_bus_new();
    static trace t;
    static sub s[200];
    int ev = 0;
    for (int i = 0; i < 200; i++) {
        s[i] = (sub){ &t, (char)('A' + i % 50) };
        mk_bus_subscribe(b, 7, i % 3, record, NULL, &s[i]);
    }
    t.n = 0;
    CHECK_INT(mk_bus_publish(b, 7, &ev), 200);
    /* Priority 2 first (i = 2, 5, 8, ...), in subscription order. */
    CHECK(t.log[0] == 'C' && t.log[1] == 'F');
    mk_bus_free(b);
}

/* ---- threads ------------------------------------------------------------------ */

enum { NSUB = 256, ROUNDS = 20000 };
#define CLAIMED UINT64_MAX

typedef struct {
    _Atomic int gone;            /* set once destroy/unsubscribe returned */
    _Atomic mk_bus_handle h;
    _Atomic int calls;
} tsub;

static tsub subs[NSUB];
static mk_bus *tb;
static _Atomic int late_calls, stop, spin, started;

static void tcall(void *p, uint64_t topic, const void *ev)
{
    tsub *s = p;
    (void)topic;
    (void)ev;
    if (atomic_load(&s->gone))
        atomic_fetch_add(&late_calls, 1);
    atomic_fetch_add(&s->calls, 1);
    /* Linger, then look again: a destroy that returned meanwhile broke
     * the promise just as surely as a call that started after it. */
    for (int i = 0; i < 200; i++)
        atomic_fetch_add(&spin, 1);
    if (atomic_load(&s->gone))
        atomic_fetch_add(&late_calls, 1);
}

static int tfilter(void *p, uint64_t topic, const void *ev)
{
    (void)p;
    return (topic + *(const uint64_t *)ev) % 7 != 0;
}

static void *publisher(void *arg)
{
    uint64_t x = (uintptr_t)arg;
    atomic_fetch_add(&started, 1);
    while (!atomic_load(&stop)) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t topic = (x >> 33) % 16;
        mk_bus_publish(tb, topic, &x);
    }
    return NULL;
}

static void *churner(void *arg)
{
    uint64_t x = (uintptr_t)arg;
    /* Churn while publishing runs: on a loaded machine the churners could
     * otherwise be done before a publisher has started. */
    while (atomic_load(&started) < 3)
        sched_yield();
    for (int r = 0; r < ROUNDS; r++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        tsub *s = &subs[(x >> 33) % NSUB];
        /* Claim the subscriber: one churner at a time works on it. */
        mk_bus_handle h = atomic_exchange(&s->h, CLAIMED);
        if (h == CLAIMED)
            continue;
        if (!h) {
            atomic_store(&s->gone, 0);
            h = mk_bus_subscribe(tb, (x >> 20) % 16, (int)((x >> 10) % 5), tcall, tfilter, s);
            atomic_store(&s->h, h);
        } else {
            int ok = (x & 1) ? mk_bus_destroyed(tb, h) : mk_bus_unsubscribe(tb, h);
            if (ok)
                atomic_store(&s->gone, 1);
            atomic_store(&s->h, 0);
            /* Sometimes sweep the dead. */
            if ((x & 0xf0) == 0)
                mk_bus_cleanup(tb);
        }
    }
    return NULL;
}

static uint64_t total_calls(void)
{
    uint64_t calls = 0;
    for (int i = 0; i < NSUB; i++)
        calls += (uint64_t)atomic_load(&subs[i].calls);
    return calls;
}

static void test_threads(void)
{
    tb = mk_bus_new();
    pthread_t pub[3], ch[3];
    for (uintptr_t i = 0; i < 3; i++)
        pthread_create(&pub[i], NULL, publisher, (void *)(i + 1));
    for (uintptr_t i = 0; i < 3; i++)
        pthread_create(&ch[i], NULL, churner, (void *)(rnd() | 1));
    for (int i = 0; i < 3; i++)
        pthread_join(ch[i], NULL);
    /* ...and until some subscriber has been called (about half of them are
     * live now), so the count below cannot be 0 for want of time: a run
     * under ASan on a loaded machine once ended with none. At most 10 s. */
    for (int t = 0; t < 10000 && !total_calls(); t++)
        usleep(1000);
    atomic_store(&stop, 1);
    for (int i = 0; i < 3; i++)
        pthread_join(pub[i], NULL);
    CHECK_INT(atomic_load(&late_calls), 0);
    mk_bus_cleanup(tb);
    mk_bus_stats st;
    mk_bus_get_stats(tb, &st);
    uint64_t held = 0, calls = 0;
    for (int i = 0; i < NSUB; i++) {
        held += atomic_load(&subs[i].h) != 0;
        calls += (uint64_t)atomic_load(&subs[i].calls);
    }
    CHECK_U64(st.live, held);
    CHECK_U64(st.calls, calls);
    CHECK(st.calls > 0);
    mk_bus_free(tb);
}

int main(void)
{
    RUN(test_priority_order);
    RUN(test_filter);
    RUN(test_destroyed_dropped);
    RUN(test_callback_changes_bus);
    RUN(test_many_subscribers_one_topic);
    RUN(test_threads);
    return DONE();
}
