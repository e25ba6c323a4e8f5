/* intern — byte strings to dense ids and back (see intern.h). */
#include "intern.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "err.h"
#include "map.h"

/* tag = the hash's high 32 bits. Its top bits also pick the slot, so a
 * table that doubles re-places slots from the tag alone, without hashing
 * any string again; neighbours in a probe run share only those top bits,
 * so the rest still tells strings apart before any comparison.
 *
 * w is the string: a pointer to it, or, for strings of at most 7 bytes,
 * the string itself (bytes 0..6, zero padded, and 0x80 | length in the top
 * byte, which a user-space pointer never has set), so a lookup of a short
 * name (a number, a short id) reads nothing beyond its slot: a third less
 * time on a graph of a million numbered nodes. An empty slot has w == 0. */
struct mk_intern_slot {
    uint32_t tag, id;
    uint64_t w;
};

_Static_assert(sizeof(struct mk_intern_slot) == MK_INTERN_SLOT_BYTES, "intern.h's slot size");

enum { INLINE_MAX = 7 };
#define INLINE_BIT ((uint64_t)1 << 63)

/* The inline form of a short string (len <= INLINE_MAX). */
static uint64_t inline_word(const void *s, size_t len)
{
    uint64_t w = 0;
    if (len)
        memcpy(&w, s, len);   /* little-endian: byte i is bits 8i.. */
    return w | INLINE_BIT | (uint64_t)len << 56;
}

static const char *slot_str(const struct mk_intern_slot *e)
{
    return (const char *)(uintptr_t)e->w;
}

static uint32_t str_len(const char *p)
{
    uint32_t n;
    memcpy(&n, p - 4, 4);
    return n;
}

/* The home slot of a tag in a table of cap (a power of two, at most 2^32)
 * slots: the tag's top bits. */
static size_t slot_of(uint32_t tag, size_t cap)
{
    return cap > 1 ? (size_t)(((uint64_t)tag * cap) >> 32) : 0;
}

/* A slot table of 2 MiB or more is a mapping of its own (mk_xgrow): all
 * of it is backed by huge pages, and it doubles by mremap, whose new half
 * the kernel hands over zeroed: nothing is copied or cleared by hand. */
static struct mk_intern_slot *slots_new(size_t cap)
{
    size_t bytes = cap * sizeof(struct mk_intern_slot);
    if (bytes < MK_XGROW_MAPPED)
        return mk_xcalloc(cap, sizeof(struct mk_intern_slot));
    return mk_xgrow(NULL, 0, bytes);
}

/* The table of ocap slots as one of ncap, the new slots empty. */
static struct mk_intern_slot *slots_grow(struct mk_intern_slot *s, size_t ocap, size_t ncap)
{
    size_t ob = ocap * sizeof *s, nb = ncap * sizeof *s;
    s = mk_xgrow(s, ob, nb);
    if (nb < MK_XGROW_MAPPED)
        memset(s + ocap, 0, nb - ob);
    return s;
}

static void slots_free(struct mk_intern_slot *s, size_t cap)
{
    mk_xgrow_free(s, cap * sizeof *s);
}

void mk_intern_init(mk_intern *in, size_t hint)
{
    memset(in, 0, sizeof *in);
    mk_arena_init(&in->bytes, 0);
    if (hint) {
        size_t cap = 16;
        while (cap / 10 * 7 < hint)
            cap *= 2;
        in->slots = slots_new(cap);
        in->cap = cap;
        in->grow_at = cap / 10 * 7;
        in->strs = mk_xmalloc(hint * sizeof *in->strs);
        in->strs_cap = hint;
    }
}

void mk_intern_free(mk_intern *in)
{
    slots_free(in->slots, in->cap);
    free(in->strs);
    mk_arena_free(&in->bytes);
    mk_intern_init(in, 0);
}

uint64_t mk_intern_hash(const void *s, size_t len)
{
    return mk_map_hash(len ? s : "", len);
}

void mk_intern_prefetch_str(const mk_intern *in, uint64_t hash)
{
    if (!in->cap)
        return;
    const struct mk_intern_slot *e = &in->slots[slot_of((uint32_t)(hash >> 32), in->cap)];
    if (e->w && !(e->w & INLINE_BIT) && e->tag == (uint32_t)(hash >> 32))
        __builtin_prefetch(slot_str(e) - 4);
}

static struct mk_intern_slot *probe(const mk_intern *in, const void *s, size_t len, uint64_t hash)
{
    uint32_t tag = (uint32_t)(hash >> 32);
    size_t mask = in->cap - 1, i = slot_of(tag, in->cap);
    if (len <= INLINE_MAX) {
        uint64_t w = inline_word(s, len);
        for (;; i = (i + 1) & mask) {
            struct mk_intern_slot *e = &in->slots[i];
            if (!e->w || (e->tag == tag && e->w == w))
                return e;
        }
    }
    for (;; i = (i + 1) & mask) {
        struct mk_intern_slot *e = &in->slots[i];
        if (!e->w || (e->tag == tag && !(e->w & INLINE_BIT) && str_len(slot_str(e)) == len &&
                      memcmp(slot_str(e), s, len) == 0))
            return e;
    }
}

/* A slot set aside while a table doubles. */
typedef struct {
    struct mk_intern_slot *e;
    size_t n, cap;
} aside;

static void put_aside(aside *a, struct mk_intern_slot e)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 64;
        a->e = mk_xrealloc(a->e, a->cap * sizeof *a->e);
    }
    a->e[a->n++] = e;
}

/* Doubling in place: the slot array is made twice its size (a big one by
 * mremap, without copying) and the slots are re-placed inside
 * it, so a table never lives twice at once (32 MB less at 2 M names, and
 * half the fresh pages to fault in). Homes keep their order (a new home is
 * twice the old one, or one more), so walking the old slots from the top
 * down, an entry's new home is at or above its old slot, and every slot
 * above that holds only re-placed entries: it probes among those alone.
 * The few that cannot (displaced farther than their home's index, near
 * slot 0, or whose probe would wrap around the new end) are set aside and
 * inserted last, into a table that then holds only re-placed entries. */
static void grow(mk_intern *in)
{
    size_t ocap = in->cap, ncap = ocap ? ocap * 2 : 16;
    if (ncap > (size_t)1 << 32)
        mk_die("intern table over 2^32 slots");
    in->slots = slots_grow(in->slots, ocap, ncap);
    in->cap = ncap;
    in->grow_at = ncap / 10 * 7;
    /* A table this big will hold megabytes of strings: take them in
     * pieces big enough for huge pages. */
    if (ncap == (size_t)1 << 17)
        mk_arena_set_chunk(&in->bytes, 4 << 20);
    struct mk_intern_slot *s = in->slots;
    aside a = { 0 };
    for (size_t p = ocap; p-- > 0;) {
        struct mk_intern_slot e = s[p];
        if (!e.w)
            continue;
        s[p].w = 0;
        size_t j = slot_of(e.tag, ncap);
        if (j < p) {
            put_aside(&a, e);
            continue;
        }
        while (j < ncap && s[j].w)
            j++;
        if (j == ncap)
            put_aside(&a, e);
        else
            s[j] = e;
    }
    for (size_t i = 0; i < a.n; i++) {
        size_t j = slot_of(a.e[i].tag, ncap);
        while (s[j].w)
            j = (j + 1) & (ncap - 1);
        s[j] = a.e[i];
    }
    free(a.e);
}

void mk_intern_seal(mk_intern *in)
{
    slots_free(in->slots, in->cap);
    in->slots = NULL;
    in->cap = in->grow_at = 0;
    in->sealed = 1;
}

void *mk_intern_seal_keep(mk_intern *in, size_t *bytes)
{
    void *p = NULL;
    *bytes = 0;
    if (in->cap * sizeof *in->slots >= MK_XGROW_MAPPED) {
        p = in->slots;
        *bytes = in->cap * sizeof *in->slots;
        in->slots = NULL;
        in->cap = 0;
    }
    mk_intern_seal(in);
    return p;
}

void mk_intern_scratch_free(void *p, size_t bytes)
{
    if (p)
        mk_xgrow_free(p, bytes);
}

uint32_t mk_intern_id_hashed(mk_intern *in, const void *s, size_t len, uint64_t hash)
{
    if (in->sealed)
        mk_die("internal error: lookup in a sealed string table");
    if (in->len >= in->grow_at)
        grow(in);
    struct mk_intern_slot *e = probe(in, s, len, hash);
    if (e->w)
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
    /* A pointer's top byte is 0 in user space: it cannot look inline. */
    e->w = len <= INLINE_MAX ? inline_word(s, len) : (uint64_t)(uintptr_t)(p + 4);
    e->tag = (uint32_t)(hash >> 32);
    e->id = (uint32_t)in->len;
    in->strs[in->len] = p + 4;
    return (uint32_t)in->len++;
}

uint32_t mk_intern_id(mk_intern *in, const void *s, size_t len)
{
    return mk_intern_id_hashed(in, s, len, mk_intern_hash(s, len));
}

int mk_intern_find(const mk_intern *in, const void *s, size_t len, uint32_t *id)
{
    return mk_intern_find_hashed(in, s, len, mk_intern_hash(s, len), id);
}

int mk_intern_find_hashed(const mk_intern *in, const void *s, size_t len, uint64_t hash, uint32_t *id)
{
    if (in->sealed)
        mk_die("internal error: lookup in a sealed string table");
    if (!in->cap)
        return 0;
    const struct mk_intern_slot *e = probe(in, s, len, hash);
    if (!e->w)
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

void mk_intern_prefetch_id(const mk_intern *in, uint32_t id)
{
    if (id < in->len)
        __builtin_prefetch(&in->strs[id]);
}

size_t mk_intern_count(const mk_intern *in)
{
    return in->len;
}

size_t mk_intern_bytes(const mk_intern *in)
{
    return in->cap * sizeof *in->slots + in->strs_cap * sizeof *in->strs + mk_arena_reserved(&in->bytes);
}
