/* intern — byte strings to dense ids and back (see intern.h). */
#include "intern.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "map.h"

/* tag = the hash's high 32 bits (its low bits pick the slot, so they would
 * say nothing); an empty slot has str == NULL. */
struct mk_intern_slot {
    uint32_t tag, id;
    const char *str;
};

static uint32_t str_len(const char *p)
{
    uint32_t n;
    memcpy(&n, p - 4, 4);
    return n;
}

void mk_intern_init(mk_intern *in, size_t hint)
{
    memset(in, 0, sizeof *in);
    mk_arena_init(&in->bytes, 0);
    if (hint) {
        size_t cap = 16;
        while (cap / 10 * 7 < hint)
            cap *= 2;
        in->slots = mk_xcalloc(cap, sizeof *in->slots);
        in->cap = cap;
        in->grow_at = cap / 10 * 7;
        in->strs = mk_xmalloc(hint * sizeof *in->strs);
        in->strs_cap = hint;
    }
}

void mk_intern_free(mk_intern *in)
{
    free(in->slots);
    free(in->strs);
    mk_arena_free(&in->bytes);
    mk_intern_init(in, 0);
}

uint64_t mk_intern_hash(const void *s, size_t len)
{
    return mk_map_hash(len ? s : "", len);
}

void mk_intern_prefetch(const mk_intern *in, uint64_t hash)
{
    if (in->cap)
        __builtin_prefetch(&in->slots[hash & (in->cap - 1)]);
}

static struct mk_intern_slot *probe(const mk_intern *in, const void *s, size_t len, uint64_t hash)
{
    size_t mask = in->cap - 1, i = hash & mask;
    uint32_t tag = (uint32_t)(hash >> 32);
    for (;; i = (i + 1) & mask) {
        struct mk_intern_slot *e = &in->slots[i];
        if (!e->str || (e->tag == tag && str_len(e->str) == len &&
                          (!len || memcmp(e->str, s, len) == 0)))
            return e;
    }
}

static void grow(mk_intern *in)
{
    size_t ncap = in->cap ? in->cap * 2 : 16;
    struct mk_intern_slot *old = in->slots;
    size_t ocap = in->cap;
    in->slots = mk_xcalloc(ncap, sizeof *in->slots);
    in->cap = ncap;
    in->grow_at = ncap / 10 * 7;
    /* Re-placing needs each string's full hash; only the tag is kept, so
     * hash again. Growth is rare (doubling) and strings are short. */
    for (size_t i = 0; i < ocap; i++) {
        if (!old[i].str)
            continue;
        uint64_t h = mk_intern_hash(old[i].str, str_len(old[i].str));
        size_t j = h & (ncap - 1);
        while (in->slots[j].str)
            j = (j + 1) & (ncap - 1);
        in->slots[j] = old[i];
    }
    free(old);
}

uint32_t mk_intern_id_hashed(mk_intern *in, const void *s, size_t len, uint64_t hash)
{
    if (in->len >= in->grow_at)
        grow(in);
    struct mk_intern_slot *e = probe(in, s, len, hash);
    if (e->str)
        return e->id;
    /* UINT32_MAX stays free so callers can use it as "no id". */
    if (in->len >= UINT32_MAX)
        mk_die("more than %lu distinct strings", (unsigned long)UINT32_MAX);
    if (len > UINT32_MAX - 1)
        mk_die("a string of %zu bytes is too long to intern", len);
    if (in->len == in->strs_cap) {
        in->strs_cap = in->strs_cap ? in->strs_cap * 2 : 64;
        in->strs = mk_xrealloc(in->strs, in->strs_cap * sizeof *in->strs);
    }
    char *p = mk_arena_alloc_unaligned(&in->bytes, len + 5);
    uint32_t n = (uint32_t)len;
    memcpy(p, &n, 4);
    if (len)
        memcpy(p + 4, s, len);
    p[4 + len] = 0;
    e->str = p + 4;
    e->tag = (uint32_t)(hash >> 32);
    e->id = (uint32_t)in->len;
    in->strs[in->len] = e->str;
    return (uint32_t)in->len++;
}

uint32_t mk_intern_id(mk_intern *in, const void *s, size_t len)
{
    return mk_intern_id_hashed(in, s, len, mk_intern_hash(s, len));
}

int mk_intern_find(const mk_intern *in, const void *s, size_t len, uint32_t *id)
{
    if (!in->cap)
        return 0;
    const struct mk_intern_slot *e = probe(in, s, len, mk_intern_hash(s, len));
    if (!e->str)
        return 0;
    if (id)
        *id = e->id;
    return 1;
}

const char *mk_intern_str(const mk_intern *in, uint32_t id, size_t *len)
{
    const char *p = id < in->len ? in->strs[id] : NULL;
    if (len)
        *len = p ? str_len(p) : 0;
    return p;
}

size_t mk_intern_count(const mk_intern *in)
{
    return in->len;
}

size_t mk_intern_bytes(const mk_intern *in)
{
    return in->cap * sizeof *in->slots + in->strs_cap * sizeof *in->strs + mk_arena_reserved(&in->bytes);
}
