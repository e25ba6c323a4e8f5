/* map — linear-probing hash maps with backward-shift deletion (see map.h). */
#include "map.h"

#include <stdlib.h>
#include <string.h>

/* Inlined rather than called through libxxhash: keys are mostly short, and
 * for an 8-byte key the call costs more than the hash itself. */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "err.h"

struct mk_map_slot {
    uint64_t hash;      /* 0 = empty */
    const char *key;    /* NUL-terminated copy in the map's arena */
    size_t klen;
    uint64_t val;
};

struct mk_imap_slot {
    uint64_t hash;      /* 0 = empty */
    uint64_t key;
    uint64_t val;
};

/* Backward-shift deletion, shared by both flavours (every slot starts with
 * its uint64_t hash, 0 = empty): walk the rest of the run after the hole at
 * i; an entry may fill the hole unless its home slot lies cyclically in
 * (i, j], where moving it before its home would make it unreachable. */
static void backshift(void *slots, size_t esz, size_t mask, size_t i)
{
    char *base = slots;
    uint64_t h;
    for (size_t j = (i + 1) & mask; memcpy(&h, base + j * esz, sizeof h), h; j = (j + 1) & mask) {
        size_t home = h & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            memcpy(base + i * esz, base + j * esz, esz);
            i = j;
        }
    }
    h = 0;
    memcpy(base + i * esz, &h, sizeof h);
}

enum { MIN_CAP = 8 };

/* Largest len allowed at capacity cap: 70%, computed without overflow. */
static size_t grow_limit(size_t cap)
{
    return cap / 10 * 7 + cap % 10 * 7 / 10;
}

static size_t cap_for(size_t n)
{
    size_t cap = MIN_CAP;
    while (grow_limit(cap) < n) {
        if (cap > SIZE_MAX / 4)
            mk_die("out of memory");
        cap *= 2;
    }
    return cap;
}

uint64_t mk_map_hash(const void *key, size_t klen)
{
    /* XXH3 reads nothing for length 0, but its pointer must still be valid. */
    return XXH3_64bits(klen ? key : "", klen);
}

/* Slot hashes are never 0: 0 means empty. */
static inline uint64_t slot_hash(uint64_t h)
{
    return h ? h : 1;
}

static inline int key_eq(const char *a, const void *b, size_t n)
{
    return n == 0 || memcmp(a, b, n) == 0;
}

/* ---- byte-string keys ---------------------------------------------------- */

void mk_map_init(mk_map *m, size_t hint)
{
    m->slots = NULL;
    m->cap = m->len = m->grow_at = 0;
    mk_arena_init(&m->keys, 0);
    if (hint) {
        m->cap = cap_for(hint);
        m->slots = mk_xcalloc(m->cap, sizeof *m->slots);
        m->grow_at = grow_limit(m->cap);
    }
}

void mk_map_free(mk_map *m)
{
    free(m->slots);
    mk_arena_free(&m->keys);
    mk_map_init(m, 0);
}

void mk_map_clear(mk_map *m)
{
    if (m->slots)
        memset(m->slots, 0, m->cap * sizeof *m->slots);
    m->len = 0;
    mk_arena_reset(&m->keys);
}

static void map_grow(mk_map *m)
{
    size_t ncap = m->cap ? m->cap * 2 : MIN_CAP;
    if (m->cap > SIZE_MAX / 4)
        mk_die("out of memory");
    struct mk_map_slot *ns = mk_xcalloc(ncap, sizeof *ns);
    size_t mask = ncap - 1;
    /* Keys are distinct and hashes stored, so re-placing is a probe for the
     * first empty slot: no key is hashed or compared again. */
    for (size_t i = 0; i < m->cap; i++) {
        struct mk_map_slot *s = &m->slots[i];
        if (!s->hash)
            continue;
        size_t j = s->hash & mask;
        while (ns[j].hash)
            j = (j + 1) & mask;
        ns[j] = *s;
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    m->grow_at = grow_limit(ncap);
}

uint64_t *mk_map_get(const mk_map *m, const void *key, size_t klen)
{
    if (!m->len)
        return NULL;
    uint64_t h = slot_hash(mk_map_hash(key, klen));
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct mk_map_slot *s = &m->slots[i];
        if (!s->hash)
            return NULL;
        if (s->hash == h && s->klen == klen && key_eq(s->key, key, klen))
            return &s->val;
    }
}

uint64_t *mk_map_put(mk_map *m, const void *key, size_t klen, int *inserted)
{
    uint64_t h = slot_hash(mk_map_hash(key, klen));
    if (!m->cap)
        map_grow(m);
    size_t mask = m->cap - 1, i;
    for (i = h & mask; m->slots[i].hash; i = (i + 1) & mask) {
        struct mk_map_slot *s = &m->slots[i];
        if (s->hash == h && s->klen == klen && key_eq(s->key, key, klen)) {
            if (inserted)
                *inserted = 0;
            return &s->val;
        }
    }
    /* Grow only on a real insert, so updating a full map never moves it. */
    if (m->len >= m->grow_at) {
        map_grow(m);
        mask = m->cap - 1;
        for (i = h & mask; m->slots[i].hash; i = (i + 1) & mask)
            ;
    }
    struct mk_map_slot *s = &m->slots[i];
    s->hash = h;
    s->key = mk_arena_strdup(&m->keys, key, klen);
    s->klen = klen;
    s->val = 0;
    m->len++;
    if (inserted)
        *inserted = 1;
    return &s->val;
}

int mk_map_del(mk_map *m, const void *key, size_t klen)
{
    if (!m->len)
        return 0;
    uint64_t h = slot_hash(mk_map_hash(key, klen));
    size_t mask = m->cap - 1, i;
    for (i = h & mask;; i = (i + 1) & mask) {
        struct mk_map_slot *s = &m->slots[i];
        if (!s->hash)
            return 0;
        if (s->hash == h && s->klen == klen && key_eq(s->key, key, klen))
            break;
    }
    backshift(m->slots, sizeof *m->slots, mask, i);
    m->len--;
    return 1;
}

size_t mk_map_bytes(const mk_map *m)
{
    return m->cap * sizeof *m->slots + mk_arena_reserved(&m->keys);
}

size_t mk_map_bytes_ahead(const mk_map *m, size_t more)
{
    size_t cap = m->cap, at = m->grow_at, old = 0;
    while (m->len + more > at) {
        old = cap;
        cap = cap ? cap * 2 : MIN_CAP;
        at = grow_limit(cap);
    }
    return (cap + old) * sizeof *m->slots + mk_arena_reserved(&m->keys);
}

int mk_map_next(const mk_map *m, size_t *it, const char **key, size_t *klen, uint64_t **val)
{
    for (size_t i = *it; i < m->cap; i++) {
        struct mk_map_slot *s = &m->slots[i];
        if (!s->hash)
            continue;
        if (key)
            *key = s->key;
        if (klen)
            *klen = s->klen;
        if (val)
            *val = &s->val;
        *it = i + 1;
        return 1;
    }
    *it = m->cap;
    return 0;
}

const char *mk_map_key_of(const uint64_t *val, size_t *klen)
{
    const struct mk_map_slot *s = (const struct mk_map_slot *)
        ((const char *)val - offsetof(struct mk_map_slot, val));
    if (klen)
        *klen = s->klen;
    return s->key;
}

/* ---- 64-bit integer keys ------------------------------------------------- */

static inline uint64_t ihash(uint64_t key)
{
    return slot_hash(XXH3_64bits(&key, sizeof key));
}

void mk_imap_init(mk_imap *m, size_t hint)
{
    m->slots = NULL;
    m->cap = m->len = m->grow_at = 0;
    if (hint) {
        m->cap = cap_for(hint);
        m->slots = mk_xcalloc(m->cap, sizeof *m->slots);
        m->grow_at = grow_limit(m->cap);
    }
}

void mk_imap_free(mk_imap *m)
{
    free(m->slots);
    mk_imap_init(m, 0);
}

void mk_imap_clear(mk_imap *m)
{
    if (m->slots)
        memset(m->slots, 0, m->cap * sizeof *m->slots);
    m->len = 0;
}

static void imap_grow(mk_imap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : MIN_CAP;
    if (m->cap > SIZE_MAX / 4)
        mk_die("out of memory");
    struct mk_imap_slot *ns = mk_xcalloc(ncap, sizeof *ns);
    size_t mask = ncap - 1;
    for (size_t i = 0; i < m->cap; i++) {
        struct mk_imap_slot *s = &m->slots[i];
        if (!s->hash)
            continue;
        size_t j = s->hash & mask;
        while (ns[j].hash)
            j = (j + 1) & mask;
        ns[j] = *s;
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    m->grow_at = grow_limit(ncap);
}

uint64_t *mk_imap_get(const mk_imap *m, uint64_t key)
{
    if (!m->len)
        return NULL;
    uint64_t h = ihash(key);
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct mk_imap_slot *s = &m->slots[i];
        if (!s->hash)
            return NULL;
        if (s->hash == h && s->key == key)
            return &s->val;
    }
}

uint64_t *mk_imap_put(mk_imap *m, uint64_t key, int *inserted)
{
    uint64_t h = ihash(key);
    if (!m->cap)
        imap_grow(m);
    size_t mask = m->cap - 1, i;
    for (i = h & mask; m->slots[i].hash; i = (i + 1) & mask) {
        struct mk_imap_slot *s = &m->slots[i];
        if (s->hash == h && s->key == key) {
            if (inserted)
                *inserted = 0;
            return &s->val;
        }
    }
    if (m->len >= m->grow_at) {
        imap_grow(m);
        mask = m->cap - 1;
        for (i = h & mask; m->slots[i].hash; i = (i + 1) & mask)
            ;
    }
    struct mk_imap_slot *s = &m->slots[i];
    s->hash = h;
    s->key = key;
    s->val = 0;
    m->len++;
    if (inserted)
        *inserted = 1;
    return &s->val;
}

int mk_imap_del(mk_imap *m, uint64_t key)
{
    if (!m->len)
        return 0;
    uint64_t h = ihash(key);
    size_t mask = m->cap - 1, i;
    for (i = h & mask;; i = (i + 1) & mask) {
        struct mk_imap_slot *s = &m->slots[i];
        if (!s->hash)
            return 0;
        if (s->hash == h && s->key == key)
            break;
    }
    backshift(m->slots, sizeof *m->slots, mask, i);
    m->len--;
    return 1;
}

size_t mk_imap_bytes(const mk_imap *m)
{
    return m->cap * sizeof *m->slots;
}

int mk_imap_next(const mk_imap *m, size_t *it, uint64_t *key, uint64_t **val)
{
    for (size_t i = *it; i < m->cap; i++) {
        struct mk_imap_slot *s = &m->slots[i];
        if (!s->hash)
            continue;
        if (key)
            *key = s->key;
        if (val)
            *val = &s->val;
        *it = i + 1;
        return 1;
    }
    *it = m->cap;
    return 0;
}
