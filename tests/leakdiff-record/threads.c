/* Two threads allocating and freeing each other's blocks at the same time.
 * Each thread, 20000 times: malloc a block of 16..271 B, realloc every
 * other one to twice its size, hand it to the other thread through a
 * lock-free queue of 256 slots, and free what the other thread handed over;
 * at the end it frees what is left for it. That is 20000 mallocs, 10000
 * reallocs and 20000 frees: 50000 events per thread, 100000 in all, with
 * frees and reallocs running against the other thread's allocations (the
 * realloc window of recproto.h). Each thread keeps one block: 111 B
 * (thread 0) and 222 B (thread 1).
 *   Before the threads start, main allocates and frees 1 MiB: the peak,
 * since the queues never hold more than 2 x 256 blocks of at most 542 B.
 * Truth at exit: live 333 B in 2 blocks; peak 1048576 B; allocs 40002 plus
 * what pthread_create allocates (freed again by __libc_freeres); no free
 * or realloc of an address that is not live in sequence order. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

enum { N = 20000, Q = 256 };

struct queue {
    void *slot[Q];
    _Atomic unsigned head, tail; /* single producer, single consumer */
};

static struct queue q[2];        /* q[i]: blocks for thread i */
static void *volatile kept[2];
static void *(*volatile mal)(size_t) = malloc;
static _Atomic int go, done;

static int push(struct queue *s, void *p)
{
    unsigned t = atomic_load_explicit(&s->tail, memory_order_relaxed);
    if (t - atomic_load_explicit(&s->head, memory_order_acquire) == Q)
        return 0;
    s->slot[t % Q] = p;
    atomic_store_explicit(&s->tail, t + 1, memory_order_release);
    return 1;
}

static void *pop(struct queue *s)
{
    unsigned h = atomic_load_explicit(&s->head, memory_order_relaxed);
    if (h == atomic_load_explicit(&s->tail, memory_order_acquire))
        return NULL;
    void *p = s->slot[h % Q];
    atomic_store_explicit(&s->head, h + 1, memory_order_release);
    return p;
}

static void *worker(void *arg)
{
    int me = (int)(long)arg, other = 1 - me;
    unsigned x = 12345u + (unsigned)me;
    while (!atomic_load(&go))
        ;
    for (int i = 0; i < N; i++) {
        x = x * 1103515245u + 12345u;
        size_t n = 16 + (x >> 16) % 256;
        char *p = mal(n);
        p[0] = 1;
        if (i % 2)
            p = realloc(p, 2 * n);
        while (!push(&q[other], p)) {
            void *f = pop(&q[me]);
            if (f)
                free(f);
        }
        void *f = pop(&q[me]);
        if (f)
            free(f);
    }
    kept[me] = mal(me ? 222 : 111);
    /* keep emptying our queue until the other thread has pushed its last */
    atomic_fetch_add(&done, 1);
    while (atomic_load(&done) < 2) {
        void *f = pop(&q[me]);
        if (f)
            free(f);
    }
    return NULL;
}

int main(void)
{
    free(mal(1 << 20));
    pthread_t t[2];
    for (long i = 0; i < 2; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)i) != 0)
            return 1;
    atomic_store(&go, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 2; i++)
        for (void *f; (f = pop(&q[i]));)
            free(f);
    return !kept[0] || !kept[1];
}
