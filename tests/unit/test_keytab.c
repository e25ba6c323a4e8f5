/* Unit tests for refwatch's name table (cmd/refwatch/keytab): random puts
 * and deletes against a plain array, through many doublings in place, with
 * hashes bunched at the table's end so clusters wrap around it while it
 * grows, and long names beside short ones. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../cmd/refwatch/keytab.h"
#include "unit.h"

UNIT_RNG(0x13198a2e03707344u)

typedef struct {
    rw_key key;                /* first: the table reads it there */
    uint64_t h;
    int live;
} rec;

enum { N = 60000 };

/* Half the names hash to the last 32 slots of any table (low bits all
 * ones but five), so their clusters run past its end; the rest anywhere. */
static uint64_t hash_of(uint32_t i)
{
    uint64_t h = rw_hash((const char *)&i, sizeof i);
    return i % 2 ? h | 0xffffffe0u : h;
}

static void check_all(const rw_tab *t, const rec *v)
{
    size_t live = 0;
    for (uint32_t i = 0; i < N; i++) {
        uint32_t got = rw_tab_find(t, &v[i].key, v[i].h);
        if (v[i].live) {
            live++;
            CHECK_U64(got, i);
        } else {
            CHECK_U64(got, UINT32_MAX);
        }
        if (got != (v[i].live ? i : UINT32_MAX))
            return;
    }
    CHECK_U64(t->len, live);
}

static void test_random(void)
{
    rw_keystore ks;
    rw_keystore_init(&ks);
    rec *v = calloc(N, sizeof *v);
    CHECK(v != NULL);
    for (uint32_t i = 0; i < N; i++) {
        char name[64];
        int n = i % 5 ? snprintf(name, sizeof name, "0x7f3a%08x", i)
                      : snprintf(name, sizeof name, "a-long-name-that-is-not-hex-%u", i);
        rw_key_make(&v[i].key, &ks, name, (size_t)n);
        v[i].h = hash_of(i);
    }
    rw_tab t;
    rw_tab_init(&t, (void *const *)&v, sizeof *v);
    size_t cap0 = t.cap;
    /* Grow to all N, deleting one in four on the way, then churn. */
    for (uint32_t i = 0; i < N; i++) {
        rw_tab_put(&t, v[i].h, i);
        v[i].live = 1;
        if (rnd() % 4 == 0) {
            uint32_t j = (uint32_t)(rnd() % (i + 1));
            if (v[j].live) {
                rw_tab_del(&t, v[j].h, j);
                v[j].live = 0;
            }
        }
        if (i == 700 || i == 5000 || i == 33000)
            check_all(&t, v);
    }
    CHECK(t.cap >= 64 * cap0);
    check_all(&t, v);
    for (int k = 0; k < 200000; k++) {
        uint32_t j = (uint32_t)(rnd() % N);
        if (v[j].live)
            rw_tab_del(&t, v[j].h, j);
        else
            rw_tab_put(&t, v[j].h, j);
        v[j].live = !v[j].live;
    }
    check_all(&t, v);
    CHECK(t.len * 4 <= t.cap * 3);
    rw_tab_free(&t);
    for (uint32_t i = 0; i < N; i++)
        rw_key_drop(&v[i].key, &ks);
    rw_keystore_free(&ks);
    free(v);
}

/* Every name at the very last slot: one cluster wrapping the whole way. */
static void test_one_cluster(void)
{
    rec v[3000];
    memset(v, 0, sizeof v);
    rec *base = v;
    rw_tab t;
    rw_tab_init(&t, (void *const *)&base, sizeof *v);
    for (uint32_t i = 0; i < 3000; i++) {
        char name[16];
        int n = snprintf(name, sizeof name, "o%u", i);
        rw_key_probe(&v[i].key, name, (size_t)n);
        v[i].h = 0xffffffffu;
        rw_tab_put(&t, v[i].h, i);
    }
    for (uint32_t i = 0; i < 3000; i++)
        CHECK_U64(rw_tab_find(&t, &v[i].key, v[i].h), i);
    for (uint32_t i = 0; i < 3000; i += 2)
        rw_tab_del(&t, v[i].h, i);
    for (uint32_t i = 0; i < 3000; i++)
        CHECK_U64(rw_tab_find(&t, &v[i].key, v[i].h), i % 2 ? i : UINT32_MAX);
    rw_tab_free(&t);
}

int main(void)
{
    RUN(test_random);
    RUN(test_one_cluster);
    return DONE();
}
