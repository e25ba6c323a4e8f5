/* Unit tests for lib/heap: ordering, duplicates, struct elements, top-k with
 * replace_top and fix_top, and 1e5 random push/pop operations against a
 * counting reference. */
#include <stdint.h>
#include <stdlib.h>

#include "heap.h"
#include "unit.h"

UNIT_RNG(0x082efa98ec4e6c89u)

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int cmp_int_desc(const void *a, const void *b)
{
    return cmp_int(b, a);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

struct item { uint64_t count; uint32_t id; };

/* Smallest count first, ties by larger id first (any strict order will do). */
static int cmp_item(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? -1 : 1;
    return (x->id < y->id) - (x->id > y->id);
}

static void test_empty(void)
{
    mk_heap h;
    mk_heap_init(&h, sizeof(int), cmp_int);
    CHECK_U64(mk_heap_len(&h), 0);
    CHECK(mk_heap_peek(&h) == NULL);
    int x = 7;
    CHECK_INT(mk_heap_pop(&h, &x), 0);
    CHECK_INT(x, 7);
    mk_heap_fix_top(&h);   /* no-op on an empty heap */
    int y = 3, old = -1;
    CHECK_INT(mk_heap_replace_top(&h, &y, &old), 0);   /* empty: pushes */
    CHECK_INT(old, -1);
    CHECK_U64(mk_heap_len(&h), 1);
    CHECK_INT(*(int *)mk_heap_peek(&h), 3);
    mk_heap_fix_top(&h);   /* no-op with one element */
    CHECK_INT(mk_heap_pop(&h, NULL), 1);
    CHECK_U64(mk_heap_len(&h), 0);
    mk_heap_free(&h);
    mk_heap_free(&h);
}

static void test_sorts(void)
{
    enum { N = 10000 };
    int *a = malloc(N * sizeof *a);
    mk_heap h;
    mk_heap_init(&h, sizeof(int), cmp_int);
    for (int i = 0; i < N; i++) {
        a[i] = (int)(rnd() % 1000) - 500;   /* many duplicates, negatives */
        mk_heap_push(&h, &a[i]);
    }
    CHECK_U64(mk_heap_len(&h), N);
    qsort(a, N, sizeof *a, cmp_int);
    int bad = 0, x;
    for (int i = 0; i < N; i++) {
        bad += *(int *)mk_heap_peek(&h) != a[i];
        bad += !mk_heap_pop(&h, &x) || x != a[i];
    }
    CHECK_INT(bad, 0);
    CHECK_U64(mk_heap_len(&h), 0);

    /* Max-heap by inverting the comparison; already sorted input. */
    mk_heap g;
    mk_heap_init(&g, sizeof(int), cmp_int_desc);
    for (int i = 0; i < 100; i++)
        mk_heap_push(&g, &i);
    for (int i = 99; i >= 0; i--)
        bad += !mk_heap_pop(&g, &x) || x != i;
    CHECK_INT(bad, 0);
    mk_heap_free(&g);
    mk_heap_free(&h);
    free(a);
}

static void test_structs(void)
{
    mk_heap h;
    mk_heap_init(&h, sizeof(struct item), cmp_item);
    mk_heap_reserve(&h, 1000);
    void *d = mk_heap_data(&h);
    for (uint32_t i = 0; i < 1000; i++) {
        struct item it = {.count = i % 10, .id = i};
        mk_heap_push(&h, &it);
    }
    CHECK(mk_heap_data(&h) == d);   /* reserve covered the pushes */
    struct item prev = {0, UINT32_MAX}, cur;
    int bad = 0;
    while (mk_heap_pop(&h, &cur)) {
        bad += cmp_item(&prev, &cur) > 0;
        prev = cur;
    }
    CHECK_INT(bad, 0);
    CHECK_U64(prev.count, 9);
    CHECK_U64(prev.id, 9);
    mk_heap_free(&h);
}

/* The k largest of many values with a min-heap of size k. */
static void test_top_k(void)
{
    enum { N = 100000, K = 50 };
    uint32_t *all = malloc(N * sizeof *all);
    mk_heap h;
    mk_heap_init(&h, sizeof(struct item), cmp_item);
    for (uint32_t i = 0; i < N; i++) {
        all[i] = (uint32_t)(rnd() % 1000000);
        struct item it = {.count = all[i], .id = i};
        if (mk_heap_len(&h) < K)
            mk_heap_push(&h, &it);
        else if (cmp_item(&it, mk_heap_peek(&h)) > 0) {
            struct item out;
            CHECK_INT(mk_heap_replace_top(&h, &it, &out), 1);
            if (out.count > it.count)
                CHECK(0);
        }
    }
    CHECK_U64(mk_heap_len(&h), K);
    /* Compare with the sorted tail of all values. */
    uint32_t *sorted = malloc(N * sizeof *sorted);
    memcpy(sorted, all, N * sizeof *sorted);
    qsort(sorted, N, sizeof *sorted, cmp_u32);
    struct item it;
    int bad = 0;
    for (int i = N - K; i < N; i++) {
        mk_heap_pop(&h, &it);
        bad += it.count != sorted[i];
        bad += all[it.id] != it.count;
    }
    CHECK_INT(bad, 0);
    free(sorted);
    free(all);
    mk_heap_free(&h);
}

static void test_fix_top(void)
{
    mk_heap h;
    mk_heap_init(&h, sizeof(int), cmp_int);
    for (int i = 0; i < 64; i++)
        mk_heap_push(&h, &i);
    /* Raise the smallest in place, repeatedly: a counting top-k pattern. */
    for (int round = 0; round < 1000; round++) {
        int *top = mk_heap_peek(&h);
        *top += 64;
        mk_heap_fix_top(&h);
    }
    int bad = 0, prev = -1, x;
    size_t n = 0;
    while (mk_heap_pop(&h, &x)) {
        bad += x < prev;
        prev = x;
        n++;
    }
    CHECK_INT(bad, 0);
    CHECK_U64(n, 64);
    /* 1000 raises of +64 go round-robin over 0..63: the values end as 1000..1063. */
    CHECK_INT(prev, 1063);
    mk_heap_free(&h);
}

static void test_replace_top_overlap(void)
{
    mk_heap h;
    mk_heap_init(&h, sizeof(int), cmp_int);
    int v[] = {5, 3, 8};
    for (int i = 0; i < 3; i++)
        mk_heap_push(&h, &v[i]);
    int x = 10;
    CHECK_INT(mk_heap_replace_top(&h, &x, &x), 1);   /* same buffer in and out */
    CHECK_INT(x, 3);
    CHECK_INT(*(int *)mk_heap_peek(&h), 5);
    int out[3];
    for (int i = 0; i < 3; i++)
        mk_heap_pop(&h, &out[i]);
    CHECK(out[0] == 5 && out[1] == 8 && out[2] == 10);
    mk_heap_free(&h);
}

static void test_clear_reuse(void)
{
    mk_heap h;
    mk_heap_init(&h, sizeof(int), cmp_int);
    for (int i = 100; i > 0; i--)
        mk_heap_push(&h, &i);
    mk_heap_clear(&h);
    CHECK_U64(mk_heap_len(&h), 0);
    CHECK(mk_heap_peek(&h) == NULL);
    int x = 42;
    mk_heap_push(&h, &x);
    CHECK_INT(*(int *)mk_heap_peek(&h), 42);
    mk_heap_free(&h);
    mk_heap_push(&h, &x);   /* usable after free */
    CHECK_U64(mk_heap_len(&h), 1);
    mk_heap_free(&h);
}

/* 1e5 random push/pop/replace_top ops; the reference is a count per value
 * (values 0..511), whose minimum is found by scanning. */
static void test_random_vs_counts(void)
{
    enum { V = 512, OPS = 100000 };
    static unsigned counts[V];
    size_t n = 0;
    mk_heap h;
    mk_heap_init(&h, sizeof(int), cmp_int);
    int bad = 0;
    for (int op = 0; op < OPS; op++) {
        uint64_t r = rnd();
        int x = (int)((r >> 16) % V), y;
        int min = -1;
        for (int v = 0; v < V; v++)
            if (counts[v]) {
                min = v;
                break;
            }
        switch (r % 8) {
        case 0: case 1: case 2: case 3:
            mk_heap_push(&h, &x);
            counts[x]++;
            n++;
            break;
        case 4: case 5: case 6:
            if (mk_heap_pop(&h, &y)) {
                bad += y != min;
                if (min >= 0)
                    counts[min]--;
                n--;
            } else {
                bad += min != -1;
            }
            break;
        default:
            if (mk_heap_replace_top(&h, &x, &y)) {
                bad += y != min;
                counts[min]--;
            } else {
                bad += min != -1;
                n++;
            }
            counts[x]++;
        }
        bad += mk_heap_len(&h) != n;
        int *top = mk_heap_peek(&h);
        if (n) {
            for (min = 0; !counts[min]; min++)
                ;
            bad += !top || *top != min;
        } else {
            bad += top != NULL;
        }
    }
    CHECK_INT(bad, 0);
    mk_heap_free(&h);
}

int main(void)
{
    RUN(test_empty);
    RUN(test_sorts);
    RUN(test_structs);
    RUN(test_top_k);
    RUN(test_fix_top);
    RUN(test_replace_top_overlap);
    RUN(test_clear_reuse);
    RUN(test_random_vs_counts);
    return DONE();
}
