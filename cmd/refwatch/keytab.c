/* keytab — see keytab.h. Key layout, by the tag in byte 15:
 *   0..15  inline: that many bytes, the rest zero
 *   HEX    packed: value in bytes 0-7, digit count in 8, spelling in 9
 *   LONG   pointer in bytes 0-7, length in 8-11 */
#include "keytab.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "map.h"
#include "parse.h"

enum { TAG_HEX = 0x40, TAG_LONG = 0x80 };



uint64_t rw_hash(const char *s, size_t n)
{
    return mk_map_hash(s, n);
}

/* ---- long key store ------------------------------------------------------------- */

void rw_keystore_init(rw_keystore *ks)
{
    memset(ks, 0, sizeof *ks);
    mk_arena_init(&ks->arena, 256 * 1024);
}

void rw_keystore_free(rw_keystore *ks)
{
    mk_arena_free(&ks->arena);
    memset(ks->free, 0, sizeof ks->free);
}

static void *store(rw_keystore *ks, size_t n)
{
    size_t c = (n + 15) / 16 - 1;
    ks->bytes += n;
    if (c >= 64)
        return mk_xmalloc(n);
    if (ks->free[c]) {
        void *p = ks->free[c];
        ks->free[c] = *(void **)p;
        return p;
    }
    return mk_arena_alloc(&ks->arena, (c + 1) * 16);
}

static void unstore(rw_keystore *ks, void *p, size_t n)
{
    size_t c = (n + 15) / 16 - 1;
    ks->bytes -= n;
    if (c >= 64) {
        free(p);
        return;
    }
    *(void **)p = ks->free[c];
    ks->free[c] = p;
}

/* ---- keys ------------------------------------------------------------------------ */

int rw_hex_name(const char *s, size_t n, size_t max_digits, uint64_t *v, unsigned *digits, unsigned *sp)
{
    size_t i = 0;
    *sp = 0;
    if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        *sp = s[1] == 'x' ? RW_SP_0x : RW_SP_0X;
        i = 2;
    }
    if (n - i == 0 || n - i > max_digits)
        return 0;
    int lower = 0, upper = 0;
    uint64_t x = 0;
    for (; i < n; i++) {
        unsigned d = mk_hex_value[(unsigned char)s[i]];
        if (d > 15)
            return 0;
        if (s[i] >= 'a')
            lower = 1;
        else if (s[i] >= 'A')
            upper = 1;
        x = x << 4 | d;
    }
    if (lower && upper)
        return 0;
    if (upper)
        *sp |= RW_SP_UPPER;
    *v = x;
    *digits = (unsigned)(n - (*sp & (RW_SP_0x | RW_SP_0X) ? 2 : 0));
    return 1;
}

size_t rw_hex_spell(char *buf, uint64_t v, unsigned digits, unsigned sp)
{
    const char *hex = sp & RW_SP_UPPER ? "0123456789ABCDEF" : "0123456789abcdef";
    size_t o = 0;
    if (sp & (RW_SP_0x | RW_SP_0X)) {
        buf[o++] = '0';
        buf[o++] = sp & RW_SP_0x ? 'x' : 'X';
    }
    for (unsigned i = 0; i < digits; i++)
        buf[o + i] = hex[(v >> (4 * (digits - 1 - i))) & 15];
    o += digits;
    buf[o] = 0;
    return o;
}

static void encode(rw_key *k, rw_keystore *ks, const char *s, size_t n)
{
    memset(k, 0, sizeof *k);
    if (n <= 15) {
        memcpy(k->b, s, n);
        k->b[15] = (unsigned char)n;
        return;
    }
    uint64_t v;
    unsigned digits, sp;
    if (rw_hex_name(s, n, 16, &v, &digits, &sp)) {
        memcpy(k->b, &v, 8);
        k->b[8] = (unsigned char)digits;
        k->b[9] = (unsigned char)sp;
        k->b[15] = TAG_HEX;
        return;
    }
    if (n > UINT32_MAX)
        mk_die("a name of more than 4 GiB");
    const void *p = s;
    if (ks) {
        /* Stored NUL-terminated, so rw_key_str() hands out C strings. */
        char *q = store(ks, n + 1);
        memcpy(q, s, n);
        q[n] = 0;
        p = q;
    }
    uint32_t len = (uint32_t)n;
    memcpy(k->b, &p, sizeof p);
    memcpy(k->b + 8, &len, 4);
    k->b[15] = TAG_LONG;
}

void rw_key_make(rw_key *k, rw_keystore *ks, const char *s, size_t n)
{
    encode(k, ks, s, n);
}

void rw_key_probe(rw_key *k, const char *s, size_t n)
{
    encode(k, NULL, s, n);
}

static const char *long_ptr(const rw_key *k, uint32_t *len)
{
    const char *p;
    memcpy(&p, k->b, sizeof p);
    memcpy(len, k->b + 8, 4);
    return p;
}

void rw_key_drop(rw_key *k, rw_keystore *ks)
{
    if (k->b[15] == TAG_LONG) {
        uint32_t len;
        const char *p = long_ptr(k, &len);
        unstore(ks, (void *)p, (size_t)len + 1);
    }
    memset(k, 0, sizeof *k);
}

int rw_key_eq_long(const rw_key *a, const rw_key *b)
{
    uint32_t na, nb;
    const char *pa = long_ptr(a, &na), *pb = long_ptr(b, &nb);
    return na == nb && memcmp(pa, pb, na) == 0;
}

const char *rw_key_str(const rw_key *k, char *buf, size_t *n)
{
    unsigned tag = k->b[15];
    if (tag <= 15) {
        memcpy(buf, k->b, tag);
        buf[tag] = 0;
        *n = tag;
        return buf;
    }
    if (tag == TAG_LONG) {
        uint32_t len;
        const char *p = long_ptr(k, &len);
        *n = len;
        return p;
    }
    uint64_t v;
    memcpy(&v, k->b, 8);
    *n = rw_hex_spell(buf, v, k->b[8], k->b[9]);
    return buf;
}

/* ---- table ------------------------------------------------------------------------ */

void rw_tab_init(rw_tab *t, void *const *base, size_t stride)
{
    memset(t, 0, sizeof *t);
    t->base = base;
    t->stride = stride;
    t->cap = 1024;
    t->slots = mk_xgrow(NULL, 0, t->cap * sizeof *t->slots);
    memset(t->slots, 0, t->cap * sizeof *t->slots);
}

void rw_tab_free(rw_tab *t)
{
    mk_xgrow_free(t->slots, t->cap * sizeof *t->slots);
    t->slots = NULL;
    t->cap = t->len = 0;
}

/* The slot keeps the low 32 bits of the hash: they hold the home position
 * (so neither growth nor deletion rehashes a name) and the bits above it
 * tell most other names apart without reading their record. */
#define tag_of rw_tab_tag
#define key_at rw_tab_key

uint32_t rw_tab_find(const rw_tab *t, const rw_key *k, uint64_t h)
{
    size_t mask = t->cap - 1, i = (size_t)h & mask;
    uint32_t tag = tag_of(h);
    for (;;) {
        uint64_t s = t->slots[i];
        if (!s)
            return UINT32_MAX;
        if ((uint32_t)(s >> 32) == tag) {
            uint32_t idx = (uint32_t)s - 1;
            if (rw_key_eq(key_at(t, idx), k))
                return idx;
        }
        i = (i + 1) & mask;
    }
}

uint32_t rw_tab_retarget(rw_tab *t, const rw_key *k, uint64_t h, uint32_t idx)
{
    size_t mask = t->cap - 1, i = (size_t)h & mask;
    uint32_t tag = tag_of(h);
    for (;; i = (i + 1) & mask) {
        uint64_t s = t->slots[i];
        if (!s)
            return UINT32_MAX;
        if ((uint32_t)(s >> 32) == tag && rw_key_eq(key_at(t, (uint32_t)s - 1), k)) {
            t->slots[i] = (uint64_t)tag << 32 | (uint64_t)(idx + 1);
            return (uint32_t)s - 1;
        }
    }
}



static size_t home(const rw_tab *t, uint64_t s)
{
    return (size_t)(s >> 32) & (t->cap - 1);
}

/* Doubling in place, so the peak is the new table, not the old one beside
 * it (calloc and copy had the old 8 MiB beside the new 16 at a million
 * names: 9 bytes more per live object at the peak). The upper half starts
 * empty; from the first empty slot on, every name of the lower half is
 * taken out and put back, in slot order. A name's new home is its old one
 * or that plus the old capacity, so, put back, it lands at or before the
 * slot it left (which the probe finds free) or in the upper half. A probe
 * that wraps past the new end may land on a later slot of the lower half;
 * the scan moves that name again when it gets there, after every hole it
 * left in the name's probe path. The names before the first empty slot
 * (the cluster that wraps past the old end) are set aside first and put
 * back last, into a table that is whole again. */
static void grow(rw_tab *t)
{
    if (t->cap >= (size_t)1 << 32)
        mk_die("more than 2^31 names at once");
    size_t cap = t->cap, ncap = cap * 2, mask = ncap - 1;
    t->slots = mk_xgrow(t->slots, cap * sizeof *t->slots, ncap * sizeof *t->slots);
    uint64_t *v = t->slots;
    memset(v + cap, 0, cap * sizeof *v);
    size_t start = 0;
    while (start < cap && v[start])
        start++;
    uint64_t *wrap = NULL;
    if (start) {
        wrap = mk_xmalloc(start * sizeof *wrap);
        memcpy(wrap, v, start * sizeof *v);
        memset(v, 0, start * sizeof *v);
    }
    for (size_t j = start; j < cap; j++) {
        uint64_t s = v[j];
        if (!s)
            continue;
        v[j] = 0;
        size_t i = (size_t)(s >> 32) & mask;
        while (v[i])
            i = (i + 1) & mask;
        v[i] = s;
    }
    for (size_t j = 0; j < start; j++) {
        size_t i = (size_t)(wrap[j] >> 32) & mask;
        while (v[i])
            i = (i + 1) & mask;
        v[i] = wrap[j];
    }
    free(wrap);
    t->cap = ncap;
}

void rw_tab_put(rw_tab *t, uint64_t h, uint32_t idx)
{
    if ((t->len + 1) * 4 > t->cap * 3)
        grow(t);
    size_t mask = t->cap - 1, i = (size_t)h & mask;
    while (t->slots[i])
        i = (i + 1) & mask;
    t->slots[i] = (uint64_t)tag_of(h) << 32 | (uint64_t)(idx + 1);
    t->len++;
}

void rw_tab_del(rw_tab *t, uint64_t h, uint32_t idx)
{
    size_t mask = t->cap - 1, i = (size_t)h & mask;
    while (t->slots[i] && (uint32_t)t->slots[i] != idx + 1)
        i = (i + 1) & mask;
    if (!t->slots[i])
        mk_die("internal error: deleting a name that is not in the table");
    /* Backward shift: pull later entries of the run into the hole when
     * their home position allows it. */
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        uint64_t s = t->slots[j];
        if (!s)
            break;
        size_t k = home(t, s);
        /* s may move to i if i lies cyclically in [k, j). */
        if ((j > i && (k <= i || k > j)) || (j < i && (k <= i && k > j))) {
            t->slots[i] = s;
            i = j;
        }
    }
    t->slots[i] = 0;
    t->len--;
}

size_t rw_tab_bytes(const rw_tab *t)
{
    return t->cap * sizeof *t->slots;
}
