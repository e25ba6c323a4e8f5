/* Unit tests for lib/map: mk_map (byte-string keys) and mk_imap (integer
 * keys): basics, odd keys, growth, backward-shift deletion across the array's
 * wrap-around, iteration, clear, and 1e5 random operations per universe size
 * compared against plain arrays. */
#include <stdint.h>
#include <stdlib.h>

#include "map.h"
#include "unit.h"

UNIT_RNG(0x13198a2e03707344u)

/* Key k of the reference universe: "" for k = 0, else k as LEB128 (which is
 * self-delimiting, so keys are distinct) padded with k % 7 bytes that are NUL
 * for a third of the keys; lengths 1..12 and plenty of embedded NULs. */
static size_t make_key(uint64_t k, unsigned char *buf)
{
    size_t n = 0;
    if (k == 0)
        return 0;
    uint64_t x = k;
    do {
        buf[n++] = (unsigned char)((x & 0x7f) | (x > 0x7f ? 0x80 : 0));
        x >>= 7;
    } while (x);
    for (uint64_t i = 0; i < k % 7; i++)
        buf[n++] = k % 3 == 0 ? 0 : (unsigned char)('a' + k % 26);
    return n;
}

static void test_basic(void)
{
    mk_map m;
    mk_map_init(&m, 0);
    CHECK_U64(mk_map_len(&m), 0);
    CHECK(mk_map_get(&m, "a", 1) == NULL);
    CHECK_INT(mk_map_del(&m, "a", 1), 0);
    CHECK_U64(mk_map_bytes(&m), 0);   /* hint 0 allocates nothing */

    int ins = -1;
    uint64_t *v = mk_map_put(&m, "apple", 5, &ins);
    CHECK_INT(ins, 1);
    CHECK_U64(*v, 0);   /* new values start at 0 */
    *v = 10;
    v = mk_map_put(&m, "apple", 5, &ins);
    CHECK_INT(ins, 0);
    CHECK_U64(*v, 10);
    (*mk_map_put(&m, "pear", 4, NULL))++;
    CHECK_U64(mk_map_len(&m), 2);
    CHECK_U64(*mk_map_get(&m, "pear", 4), 1);
    CHECK(mk_map_get(&m, "appl", 4) == NULL);
    CHECK(mk_map_get(&m, "apples", 6) == NULL);
    CHECK(mk_map_bytes(&m) > 0);

    CHECK_INT(mk_map_del(&m, "apple", 5), 1);
    CHECK_INT(mk_map_del(&m, "apple", 5), 0);
    CHECK(mk_map_get(&m, "apple", 5) == NULL);
    CHECK_U64(mk_map_len(&m), 1);
    mk_map_free(&m);
    CHECK_U64(mk_map_len(&m), 0);
    /* Usable again after free. */
    mk_map_put(&m, "x", 1, NULL);
    CHECK_U64(mk_map_len(&m), 1);
    mk_map_free(&m);
}

static void test_odd_keys(void)
{
    mk_map m;
    mk_map_init(&m, 4);
    *mk_map_put(&m, "", 0, NULL) = 1;
    *mk_map_put(&m, NULL, 0, NULL) += 1;   /* NULL with length 0 is the empty key */
    *mk_map_put(&m, "\0", 1, NULL) = 2;
    *mk_map_put(&m, "\0\0", 2, NULL) = 3;
    *mk_map_put(&m, "a\0b", 3, NULL) = 4;
    *mk_map_put(&m, "a\0c", 3, NULL) = 5;
    *mk_map_put(&m, "a", 1, NULL) = 6;
    CHECK_U64(mk_map_len(&m), 6);
    CHECK_U64(*mk_map_get(&m, "", 0), 2);
    CHECK_U64(*mk_map_get(&m, "\0", 1), 2);
    CHECK_U64(*mk_map_get(&m, "\0\0", 2), 3);
    CHECK_U64(*mk_map_get(&m, "a\0b", 3), 4);
    CHECK_U64(*mk_map_get(&m, "a\0c", 3), 5);
    CHECK_U64(*mk_map_get(&m, "a", 1), 6);
    CHECK(mk_map_get(&m, "\0\0\0", 3) == NULL);

    /* The map keeps its own NUL-terminated copy: the caller's buffer may change. */
    char buf[16] = "volatile";
    mk_map_put(&m, buf, 8, NULL);
    memcpy(buf, "changed!", 8);
    CHECK(mk_map_get(&m, "volatile", 8) != NULL);
    CHECK(mk_map_get(&m, "changed!", 8) == NULL);
    size_t kl;
    const char *k = mk_map_key_of(mk_map_get(&m, "volatile", 8), &kl);
    CHECK_U64(kl, 8);
    CHECK_STR(k, "volatile");
    k = mk_map_key_of(mk_map_get(&m, "a\0b", 3), &kl);
    CHECK(kl == 3 && memcmp(k, "a\0b\0", 4) == 0);

    CHECK_INT(mk_map_del(&m, "", 0), 1);
    CHECK(mk_map_get(&m, "", 0) == NULL);
    CHECK_U64(*mk_map_get(&m, "\0", 1), 2);

    /* A long key. */
    char *big = malloc(200000);
    memset(big, 'z', 200000);
    *mk_map_put(&m, big, 200000, NULL) = 77;
    CHECK_U64(*mk_map_get(&m, big, 200000), 77);
    CHECK(mk_map_get(&m, big, 199999) == NULL);
    free(big);
    mk_map_free(&m);
}

static void test_hint_and_load(void)
{
    mk_map m;
    mk_map_init(&m, 1000);
    size_t cap = m.cap, bytes = mk_map_bytes(&m);
    CHECK(cap >= 1000);
    CHECK_U64(cap & (cap - 1), 0);
    char buf[32];
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(buf, sizeof buf, "key%d", i);
        mk_map_put(&m, buf, (size_t)n, NULL);
    }
    CHECK_U64(m.cap, cap);   /* the hint was enough: no growth */
    CHECK(mk_map_bytes(&m) > bytes);   /* only the key arena grew */
    for (int i = 1000; i < 100000; i++) {
        int n = snprintf(buf, sizeof buf, "key%d", i);
        mk_map_put(&m, buf, (size_t)n, NULL);
        if (m.len * 10 > m.cap * 7)
            CHECK(0);   /* load factor above 0.7 */
    }
    CHECK_U64(mk_map_len(&m), 100000);
    CHECK(m.len * 10 <= m.cap * 7);
    CHECK(m.len * 10 > m.cap * 3);   /* and not wastefully low */
    mk_map_free(&m);

    mk_imap im;
    mk_imap_init(&im, 5);
    CHECK_U64(im.cap, 8);
    for (uint64_t i = 0; i < 5; i++)
        mk_imap_put(&im, i, NULL);
    CHECK_U64(im.cap, 8);
    mk_imap_put(&im, 5, NULL);
    CHECK_U64(im.cap, 16);
    mk_imap_free(&im);
}

/* Keys whose home slot is the last one of an 8-slot table, so their probe
 * run wraps to slots 0, 1, ...; deleting from the head of such a run must
 * shift the wrapped entries back across the end of the array. */
static void test_wraparound_delete(void)
{
    uint64_t wrap[3], zero[2];
    int nw = 0, nz = 0;
    for (uint64_t k = 1; nw < 3 || nz < 2; k++) {
        uint64_t h = mk_map_hash(&k, sizeof k);
        if ((h & 7) == 7 && nw < 3)
            wrap[nw++] = k;
        else if ((h & 7) == 0 && nz < 2)
            zero[nz++] = k;
    }
    for (int victim = 0; victim < 5; victim++) {
        mk_imap m;
        mk_imap_init(&m, 5);
        CHECK_U64(m.cap, 8);
        uint64_t all[5] = {wrap[0], zero[0], wrap[1], zero[1], wrap[2]};
        for (int i = 0; i < 5; i++)
            *mk_imap_put(&m, all[i], NULL) = all[i] * 2;
        CHECK_INT(mk_imap_del(&m, all[victim]), 1);
        for (int i = 0; i < 5; i++) {
            uint64_t *v = mk_imap_get(&m, all[i]);
            if (i == victim)
                CHECK(v == NULL);
            else
                CHECK(v && *v == all[i] * 2);
        }
        CHECK_U64(mk_imap_len(&m), 4);
        mk_imap_free(&m);
    }

    /* The same with byte keys. */
    char keys[5][16];
    size_t lens[5];
    int w = 0, z = 0;
    for (int k = 0; w < 3 || z < 2; k++) {
        char buf[16];
        int n = snprintf(buf, sizeof buf, "w%d", k);
        uint64_t h = mk_map_hash(buf, (size_t)n);
        int slot = -1;
        if ((h & 7) == 7 && w < 3)
            slot = 2 * w++;          /* 0, 2, 4 */
        else if ((h & 7) == 0 && z < 2)
            slot = 1 + 2 * z++;      /* 1, 3 */
        if (slot >= 0) {
            memcpy(keys[slot], buf, (size_t)n + 1);
            lens[slot] = (size_t)n;
        }
    }
    for (int victim = 0; victim < 5; victim++) {
        mk_map m;
        mk_map_init(&m, 5);
        CHECK_U64(m.cap, 8);
        for (int i = 0; i < 5; i++)
            *mk_map_put(&m, keys[i], lens[i], NULL) = (uint64_t)i + 100;
        CHECK_INT(mk_map_del(&m, keys[victim], lens[victim]), 1);
        for (int i = 0; i < 5; i++) {
            uint64_t *v = mk_map_get(&m, keys[i], lens[i]);
            if (i == victim)
                CHECK(v == NULL);
            else
                CHECK(v && *v == (uint64_t)i + 100);
        }
        mk_map_free(&m);
    }
}

static void test_iterate(void)
{
    mk_map m;
    mk_map_init(&m, 0);
    size_t it = 0;
    CHECK_INT(mk_map_next(&m, &it, NULL, NULL, NULL), 0);
    enum { N = 5000 };
    char buf[32];
    for (int i = 0; i < N; i++) {
        int n = snprintf(buf, sizeof buf, "%d", i);
        *mk_map_put(&m, buf, (size_t)n, NULL) = (uint64_t)i;
    }
    for (int i = 0; i < N; i += 3) {
        int n = snprintf(buf, sizeof buf, "%d", i);
        mk_map_del(&m, buf, (size_t)n);
    }
    unsigned char *seen = calloc(N, 1);
    const char *k;
    size_t kl, count = 0;
    uint64_t *v;
    int bad = 0;
    for (it = 0; mk_map_next(&m, &it, &k, &kl, &v);) {
        count++;
        bad += *v >= N || *v % 3 == 0 || seen[*v]++;
        bad += (uint64_t)atoi(k) != *v || strlen(k) != kl;
        *v += 1000000;   /* writing through the pointer is allowed */
    }
    CHECK_INT(bad, 0);
    CHECK_U64(count, mk_map_len(&m));
    CHECK_U64(count, N - (N + 2) / 3);
    CHECK_U64(*mk_map_get(&m, "1", 1), 1000001);
    /* Only key, or nothing at all. */
    count = 0;
    for (it = 0; mk_map_next(&m, &it, &k, NULL, NULL);)
        count++;
    CHECK_U64(count, mk_map_len(&m));
    free(seen);

    mk_imap im;
    mk_imap_init(&im, 0);
    it = 0;
    CHECK_INT(mk_imap_next(&im, &it, NULL, NULL), 0);
    for (uint64_t i = 0; i < 100; i++)
        *mk_imap_put(&im, i * 1000003, NULL) = i;
    uint64_t key, sum = 0;
    count = 0;
    for (it = 0; mk_imap_next(&im, &it, &key, &v);) {
        bad += key != *v * 1000003;
        sum += *v;
        count++;
    }
    CHECK_INT(bad, 0);
    CHECK_U64(count, 100);
    CHECK_U64(sum, 4950);
    mk_imap_free(&im);
    mk_map_free(&m);
}

static void test_clear(void)
{
    mk_map m;
    mk_map_init(&m, 0);
    char buf[32];
    for (int i = 0; i < 20000; i++) {
        int n = snprintf(buf, sizeof buf, "k%d", i);
        mk_map_put(&m, buf, (size_t)n, NULL);
    }
    size_t cap = m.cap;
    mk_map_clear(&m);
    CHECK_U64(mk_map_len(&m), 0);
    CHECK_U64(m.cap, cap);
    CHECK(mk_map_get(&m, "k1", 2) == NULL);
    size_t it = 0;
    CHECK_INT(mk_map_next(&m, &it, NULL, NULL, NULL), 0);
    int ins;
    *mk_map_put(&m, "k1", 2, &ins) = 5;
    CHECK_INT(ins, 1);
    CHECK_U64(*mk_map_get(&m, "k1", 2), 5);
    mk_map_free(&m);

    mk_imap im;
    mk_imap_init(&im, 0);
    mk_imap_clear(&im);   /* on a never-allocated map */
    mk_imap_put(&im, 0, NULL);
    mk_imap_put(&im, UINT64_MAX, NULL);
    mk_imap_clear(&im);
    CHECK_U64(mk_imap_len(&im), 0);
    CHECK(mk_imap_get(&im, 0) == NULL);
    mk_imap_free(&im);
}

/* bytes_ahead: what the map holds while more keys go in. With no growth
 * due, its bytes now; with a doubling due, the old slots and the new at
 * once; and inserting that many keys never goes past the figure. */
static void test_bytes_ahead(void)
{
    mk_map m;
    mk_map_init(&m, 0);
    CHECK(mk_map_bytes_ahead(&m, 0) == mk_map_bytes(&m));
    char k[32];
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(k, sizeof k, "key%d", i);
        mk_map_put(&m, k, (size_t)n, NULL);
    }
    size_t cap = m.cap, now = mk_map_bytes(&m), slot = (now - mk_arena_reserved(&m.keys)) / cap;
    CHECK(mk_map_bytes_ahead(&m, 0) == now);
    size_t room = m.grow_at - m.len;
    CHECK(mk_map_bytes_ahead(&m, room) == now);        /* fills up, no doubling yet */
    CHECK(mk_map_bytes_ahead(&m, room + 1) == now + 2 * cap * slot);   /* old + doubled */
    size_t ahead = mk_map_bytes_ahead(&m, 5000);        /* several doublings */
    CHECK(ahead > now + 2 * cap * slot);
    for (int i = 1000; i < 6000; i++) {
        int n = snprintf(k, sizeof k, "key%d", i);
        mk_map_put(&m, k, (size_t)n, NULL);
    }
    /* the last doubling held the final slots and half as many more */
    CHECK(ahead - mk_arena_reserved(&m.keys) >= (mk_map_bytes(&m) - mk_arena_reserved(&m.keys)) * 3 / 2);
    mk_map_free(&m);
}

static void test_imap_basic(void)
{
    mk_imap m;
    mk_imap_init(&m, 0);
    CHECK(mk_imap_get(&m, 0) == NULL);
    CHECK_INT(mk_imap_del(&m, 0), 0);
    CHECK_U64(mk_imap_bytes(&m), 0);
    int ins;
    *mk_imap_put(&m, 0, &ins) = 11;
    CHECK_INT(ins, 1);
    *mk_imap_put(&m, UINT64_MAX, &ins) = 12;
    *mk_imap_put(&m, 1, &ins) = 13;
    CHECK_U64(*mk_imap_put(&m, 0, &ins), 11);
    CHECK_INT(ins, 0);
    CHECK_U64(*mk_imap_get(&m, UINT64_MAX), 12);
    CHECK_U64(*mk_imap_get(&m, 1), 13);
    CHECK(mk_imap_get(&m, 2) == NULL);
    CHECK_U64(mk_imap_len(&m), 3);
    CHECK_U64(mk_imap_bytes(&m), 8 * 24);
    CHECK_INT(mk_imap_del(&m, 0), 1);
    CHECK(mk_imap_get(&m, 0) == NULL);
    CHECK_U64(mk_imap_len(&m), 2);
    mk_imap_free(&m);
}

/* Random put/get/del against arrays indexed by key number, for a universe
 * of u keys: small universes keep the table tiny and its runs wrapping, big
 * ones exercise growth. Every step checks the map's answer. */
static void random_map(uint64_t u, int ops)
{
    mk_map m;
    mk_map_init(&m, 0);
    unsigned char *present = calloc(u, 1);
    uint64_t *val = calloc(u, sizeof *val);
    size_t n = 0;
    int bad = 0;
    unsigned char key[32];
    for (int op = 0; op < ops; op++) {
        uint64_t r = rnd(), k = (r >> 16) % u;
        size_t kl = make_key(k, key);
        unsigned what = (unsigned)(r % 16);
        if (what < 7) {
            int ins;
            uint64_t *v = mk_map_put(&m, key, kl, &ins);
            bad += ins != !present[k];
            bad += !ins && *v != val[k];
            bad += ins && *v != 0;
            if (ins)
                n++;
            present[k] = 1;
            *v = val[k] = r;
        } else if (what < 11) {
            uint64_t *v = mk_map_get(&m, key, kl);
            bad += present[k] ? !v || *v != val[k] : v != NULL;
        } else if (what < 15) {
            int d = mk_map_del(&m, key, kl);
            bad += d != present[k];
            if (d)
                n--;
            present[k] = 0;
        } else if (r % 4096 == 15) {
            mk_map_clear(&m);
            memset(present, 0, u);
            n = 0;
        }
        bad += mk_map_len(&m) != n;
        if (op % 20000 == 0 || op == ops - 1) {
            /* Full sweep: every key answers correctly, iteration sees each
             * present key once with the right value and key bytes. */
            for (uint64_t j = 0; j < u; j++) {
                kl = make_key(j, key);
                uint64_t *v = mk_map_get(&m, key, kl);
                bad += present[j] ? !v || *v != val[j] : v != NULL;
            }
            size_t count = 0, klen;
            const char *kp;
            uint64_t *v;
            for (size_t it = 0; mk_map_next(&m, &it, &kp, &klen, &v);) {
                count++;
                uint64_t *g = mk_map_get(&m, kp, klen);
                bad += g != v;
                size_t kl2;
                bad += mk_map_key_of(v, &kl2) != kp || kl2 != klen;
                bad += kp[klen] != 0;
            }
            bad += count != n;
        }
    }
    if (bad)
        printf("# universe %llu: %d mismatches\n", (unsigned long long)u, bad);
    CHECK_INT(bad, 0);
    CHECK(m.len * 10 <= m.cap * 7);
    free(present);
    free(val);
    mk_map_free(&m);
}

static void random_imap(uint64_t u, int ops)
{
    mk_imap m;
    mk_imap_init(&m, u > 100 ? 16 : 0);
    uint64_t *keys = malloc(u * sizeof *keys);
    unsigned char *present = calloc(u, 1);
    uint64_t *val = calloc(u, sizeof *val);
    /* Distinct random keys, with the extremes in. */
    for (uint64_t j = 0; j < u; j++)
        keys[j] = rnd() << 24 | j;   /* low bits = j keeps them distinct */
    keys[0] = 0;
    if (u > 1)
        keys[1] = UINT64_MAX;
    size_t n = 0;
    int bad = 0;
    for (int op = 0; op < ops; op++) {
        uint64_t r = rnd(), k = (r >> 16) % u;
        unsigned what = (unsigned)(r % 16);
        if (what < 7) {
            int ins;
            uint64_t *v = mk_imap_put(&m, keys[k], &ins);
            bad += ins != !present[k];
            bad += !ins && *v != val[k];
            if (ins)
                n++;
            present[k] = 1;
            *v = val[k] = r;
        } else if (what < 11) {
            uint64_t *v = mk_imap_get(&m, keys[k]);
            bad += present[k] ? !v || *v != val[k] : v != NULL;
        } else if (what < 15) {
            int d = mk_imap_del(&m, keys[k]);
            bad += d != present[k];
            if (d)
                n--;
            present[k] = 0;
        } else if (r % 4096 == 15) {
            mk_imap_clear(&m);
            memset(present, 0, u);
            n = 0;
        }
        bad += mk_imap_len(&m) != n;
        if (op % 20000 == 0 || op == ops - 1) {
            for (uint64_t j = 0; j < u; j++) {
                uint64_t *v = mk_imap_get(&m, keys[j]);
                bad += present[j] ? !v || *v != val[j] : v != NULL;
            }
            size_t count = 0;
            uint64_t key, *v;
            for (size_t it = 0; mk_imap_next(&m, &it, &key, &v);) {
                count++;
                bad += mk_imap_get(&m, key) != v;
            }
            bad += count != n;
        }
    }
    if (bad)
        printf("# universe %llu: %d mismatches\n", (unsigned long long)u, bad);
    CHECK_INT(bad, 0);
    free(keys);
    free(present);
    free(val);
    mk_imap_free(&m);
}

static void test_random_map(void)
{
    random_map(1, 20000);
    random_map(7, 100000);
    random_map(100, 100000);
    random_map(5000, 100000);
    random_map(200000, 100000);
}

static void test_random_imap(void)
{
    random_imap(1, 20000);
    random_imap(7, 100000);
    random_imap(100, 100000);
    random_imap(5000, 100000);
    random_imap(200000, 100000);
}

/* Grow to 1e5 entries, delete every other one, then check all of them. */
static void test_many(void)
{
    enum { N = 100000 };
    mk_map m;
    mk_map_init(&m, 0);
    unsigned char key[32];
    for (uint64_t i = 0; i < N; i++)
        *mk_map_put(&m, key, make_key(i, key), NULL) = i;
    CHECK_U64(mk_map_len(&m), N);
    int bad = 0;
    for (uint64_t i = 0; i < N; i += 2)
        bad += mk_map_del(&m, key, make_key(i, key)) != 1;
    for (uint64_t i = 0; i < N; i++) {
        uint64_t *v = mk_map_get(&m, key, make_key(i, key));
        bad += i % 2 ? !v || *v != i : v != NULL;
    }
    CHECK_INT(bad, 0);
    CHECK_U64(mk_map_len(&m), N / 2);
    /* 32-byte slots + keys (at most 13 bytes + NUL each) in 64 KiB chunks */
    CHECK(mk_map_bytes(&m) >= m.cap * 32 + (size_t)N * 7);
    CHECK(mk_map_bytes(&m) < m.cap * 32 + (size_t)N * 14 + 65536);
    mk_map_free(&m);
    CHECK_U64(mk_map_bytes(&m), 0);
}

int main(void)
{
    RUN(test_basic);
    RUN(test_odd_keys);
    RUN(test_hint_and_load);
    RUN(test_wraparound_delete);
    RUN(test_iterate);
    RUN(test_clear);
    RUN(test_bytes_ahead);
    RUN(test_imap_basic);
    RUN(test_random_map);
    RUN(test_random_imap);
    RUN(test_many);
    return DONE();
}
