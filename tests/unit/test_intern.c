/* Unit tests for lib/intern: dense ids, round trips, odd strings, and 1e5
 * random lookups against a reference numbering. */
#include <stdint.h>
#include <stdlib.h>

#include "intern.h"
#include "unit.h"

UNIT_RNG(0xa4093822299f31d0u)

static void test_basic(void)
{
    mk_intern in;
    mk_intern_init(&in, 0);
    CHECK_U64(mk_intern_count(&in), 0);
    uint32_t id = 99;
    CHECK_INT(mk_intern_find(&in, "a", 1, &id), 0);
    CHECK_U64(id, 99);
    CHECK(mk_intern_str(&in, 0, NULL) == NULL);

    CHECK_U64(mk_intern_id(&in, "foo", 3), 0);
    CHECK_U64(mk_intern_id(&in, "bar", 3), 1);
    CHECK_U64(mk_intern_id(&in, "foo", 3), 0);
    CHECK_U64(mk_intern_id(&in, "fo", 2), 2);
    CHECK_U64(mk_intern_count(&in), 3);

    size_t len;
    const char *s = mk_intern_str(&in, 1, &len);
    CHECK_MEM(s, len, "bar");
    CHECK_STR(mk_intern_str(&in, 2, NULL), "fo");   /* NUL-terminated */
    CHECK(mk_intern_str(&in, 3, &len) == NULL);
    CHECK_U64(len, 0);
    CHECK(mk_intern_str(&in, UINT32_MAX, NULL) == NULL);

    CHECK_INT(mk_intern_find(&in, "bar", 3, &id), 1);
    CHECK_U64(id, 1);
    CHECK_INT(mk_intern_find(&in, "baz", 3, NULL), 0);
    CHECK_INT(mk_intern_find(&in, "bar", 3, NULL), 1);
    CHECK_U64(mk_intern_count(&in), 3);   /* find never adds */
    /* With the hash computed elsewhere (another thread, ahead of time). */
    id = 99;
    CHECK_INT(mk_intern_find_hashed(&in, "fo", 2, mk_intern_hash("fo", 2), &id), 1);
    CHECK_U64(id, 2);
    CHECK_INT(mk_intern_find_hashed(&in, "f", 1, mk_intern_hash("f", 1), &id), 0);
    CHECK_U64(mk_intern_id_hashed(&in, "bar", 3, mk_intern_hash("bar", 3)), 1);
    CHECK(mk_intern_bytes(&in) > 0);

    mk_intern_free(&in);
    CHECK_U64(mk_intern_count(&in), 0);
    CHECK_U64(mk_intern_id(&in, "again", 5), 0);   /* usable after free */
    mk_intern_free(&in);
}

static void test_odd_strings(void)
{
    mk_intern in;
    mk_intern_init(&in, 8);
    CHECK_U64(mk_intern_id(&in, "", 0), 0);
    CHECK_U64(mk_intern_id(&in, NULL, 0), 0);
    CHECK_U64(mk_intern_id(&in, "\0", 1), 1);
    CHECK_U64(mk_intern_id(&in, "a\0b", 3), 2);
    CHECK_U64(mk_intern_id(&in, "a", 1), 3);
    size_t len;
    const char *s = mk_intern_str(&in, 0, &len);
    CHECK(s != NULL && len == 0 && s[0] == 0);
    s = mk_intern_str(&in, 2, &len);
    CHECK(len == 3 && memcmp(s, "a\0b\0", 4) == 0);

    /* Up to 7 bytes a string lives in its slot; from 8 on, behind a
     * pointer: both sides of the line, and near misses across it. */
    CHECK_U64(mk_intern_id(&in, "1234567", 7), 4);
    CHECK_U64(mk_intern_id(&in, "12345678", 8), 5);
    CHECK_U64(mk_intern_id(&in, "123456", 6), 6);
    CHECK_U64(mk_intern_id(&in, "1234567", 7), 4);
    CHECK_U64(mk_intern_id(&in, "12345678", 8), 5);
    CHECK_U64(mk_intern_id(&in, "123456\0", 7), 7);
    CHECK_U64(mk_intern_id(&in, "\0\0\0\0\0\0\0", 7), 8);
    CHECK_U64(mk_intern_id(&in, "\0\0\0\0\0\0", 6), 9);
    s = mk_intern_str(&in, 7, &len);
    CHECK(len == 7 && memcmp(s, "123456\0", 8) == 0);

    /* The table keeps its own copy. */
    char buf[8] = "temp";
    uint32_t id = mk_intern_id(&in, buf, 4);
    CHECK_U64(id, 10);
    memcpy(buf, "XXXX", 4);
    CHECK_STR(mk_intern_str(&in, id, NULL), "temp");
    mk_intern_free(&in);
}

/* Strings stay where they are while the table grows. */
static void test_pointers_stable(void)
{
    mk_intern in;
    mk_intern_init(&in, 0);
    const char *first = mk_intern_str(&in, mk_intern_id(&in, "first", 5), NULL);
    char buf[32];
    for (int i = 0; i < 50000; i++) {
        int n = snprintf(buf, sizeof buf, "s%d", i);
        mk_intern_id(&in, buf, (size_t)n);
    }
    CHECK(mk_intern_str(&in, 0, NULL) == first);
    CHECK_STR(first, "first");
    CHECK_U64(mk_intern_count(&in), 50001);
    mk_intern_free(&in);
}

/* 1e5 random strings drawn from a universe of 20000 (each the decimal form
 * of its number, sometimes with a NUL and a suffix); the reference records
 * the id each number got on first sight, and ids must be handed out densely. */
static void test_random_vs_reference(void)
{
    enum { U = 20000, OPS = 100000 };
    int64_t *ref = malloc(U * sizeof *ref);
    for (int i = 0; i < U; i++)
        ref[i] = -1;
    mk_intern in;
    mk_intern_init(&in, 100);
    uint32_t next = 0;
    int bad = 0;
    char buf[64];
    for (int op = 0; op < OPS; op++) {
        uint64_t r = rnd();
        int k = (int)((r >> 8) % U);
        int n = snprintf(buf, sizeof buf, "%d", k);
        if (k % 4 == 0) {   /* "k\0k" */
            buf[n] = 0;
            n += 1 + snprintf(buf + n + 1, sizeof buf - (size_t)n - 1, "%d", k);
        }
        if (r % 3 == 0) {
            uint32_t id;
            int found = mk_intern_find(&in, buf, (size_t)n, &id);
            bad += found != (ref[k] >= 0);
            bad += found && id != ref[k];
            continue;
        }
        /* Half the lookups go the batched way: hash, prefetch, look up. */
        uint32_t id;
        if (r & 0x10000) {
            uint64_t h = mk_intern_hash(buf, (size_t)n);
            mk_intern_prefetch(&in, h);
            id = mk_intern_id_hashed(&in, buf, (size_t)n, h);
        } else {
            id = mk_intern_id(&in, buf, (size_t)n);
        }
        if (ref[k] < 0) {
            bad += id != next;
            ref[k] = next++;
        } else {
            bad += id != ref[k];
        }
        size_t len;
        const char *s = mk_intern_str(&in, id, &len);
        bad += len != (size_t)n || memcmp(s, buf, len) != 0 || s[len] != 0;
    }
    CHECK_INT(bad, 0);
    CHECK_U64(mk_intern_count(&in), next);
    /* Every id maps back to its number's string. */
    for (int k = 0; k < U; k++) {
        if (ref[k] < 0)
            continue;
        size_t len;
        const char *s = mk_intern_str(&in, (uint32_t)ref[k], &len);
        bad += atoi(s) != k;
        bad += k % 4 == 0 ? len != 2 * strlen(s) + 1 : len != strlen(s);
    }
    CHECK_INT(bad, 0);
    free(ref);
    mk_intern_free(&in);
}

/* Strings two thirds of which hash to the ends of the table: the probe runs
 * near slot 0 are displaced farther than their homes' index, and those at
 * the end wrap around, which are the cases an in-place doubling must set
 * aside and re-insert last. After every insertion, every string so far
 * must still be found with its id. */
static void test_growth_at_the_ends(void)
{
    enum { WANT = 2000 };
    char (*s)[16] = malloc(WANT * sizeof *s);
    int k = 0;
    for (uint64_t c = 0; k < WANT; c++) {
        char buf[16];
        int n = snprintf(buf, sizeof buf, "e%llu", (unsigned long long)c);
        uint32_t tag = (uint32_t)(mk_intern_hash(buf, (size_t)n) >> 32);
        if (c % 3 == 0 || tag < 0x01000000u || tag >= 0xff000000u)
            memcpy(s[k++], buf, sizeof buf);
    }
    mk_intern in;
    mk_intern_init(&in, 0);
    int bad = 0;
    for (int i = 0; i < WANT; i++) {
        bad += mk_intern_id(&in, s[i], strlen(s[i])) != (uint32_t)i;
        for (int j = 0; j <= i; j++) {
            uint32_t id;
            bad += !mk_intern_find(&in, s[j], strlen(s[j]), &id) || id != (uint32_t)j;
        }
    }
    CHECK_INT(bad, 0);
    CHECK_U64(mk_intern_count(&in), WANT);
    free(s);
    mk_intern_free(&in);
}

/* Sealing and keeping the table's memory: a big table hands over at least
 * 2 MiB of writable scratch and its strings stay readable; a small one
 * hands over nothing. */
static void test_seal_keep(void)
{
    mk_intern in;
    mk_intern_init(&in, 0);
    char buf[32];
    for (int i = 0; i < 200000; i++) {
        int n = snprintf(buf, sizeof buf, "k%d", i);
        mk_intern_id(&in, buf, (size_t)n);
    }
    size_t bytes;
    char *p = mk_intern_seal_keep(&in, &bytes);
    CHECK(p != NULL);
    CHECK(bytes >= (size_t)2 << 20);
    memset(p, 0xa5, bytes);
    CHECK_STR(mk_intern_str(&in, 123456, NULL), "k123456");
    CHECK_U64(mk_intern_count(&in), 200000);
    mk_intern_scratch_free(p, bytes);
    mk_intern_free(&in);

    mk_intern_init(&in, 0);
    mk_intern_id(&in, "x", 1);
    CHECK(mk_intern_seal_keep(&in, &bytes) == NULL);
    CHECK_U64(bytes, 0);
    CHECK_STR(mk_intern_str(&in, 0, NULL), "x");
    mk_intern_free(&in);
}

int main(void)
{
    RUN(test_basic);
    RUN(test_odd_strings);
    RUN(test_pointers_stable);
    RUN(test_random_vs_reference);
    RUN(test_growth_at_the_ends);
    RUN(test_seal_keep);
    return DONE();
}
