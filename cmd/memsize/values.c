/* values — typing, tallying and distinct-counting the values of one pass.
 * See values.h for the typing rules and the memory bound. */
#include "values.h"

#include "arena.h"
#include "err.h"
#include "map.h"
#include "sketch.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- data ------------------------------------------------------------------------------ */

/* A distinct key: its hash with the low 3 bits replaced by what the key and
 * the object that a set would keep are (so the slot is never 0 and the
 * object's size can be recomputed from the slot alone), and the key itself:
 * an int64 or a double's bits inline, or a pointer to length-prefixed bytes
 * (big integers as sign + limbs, strings as their UTF-8). */
enum {
    K_INT = 1,          /* int64 key, int object */
    K_INT_FLOAT,        /* int64 key, float object (1.0 seen before 1) */
    K_FLOAT,            /* non-integral or infinite float */
    K_BIG,              /* integer beyond int64, int object */
    K_BIG_FLOAT,        /* integer beyond int64, float object */
    K_STR,
};

typedef struct {
    uint64_t h;
    uint64_t v;
} slot;

struct ms_values {
    ms_values_opts o;
    ms_result r;
    slot *t;
    size_t cap, len;
    mk_arena keys;
    /* past the budget */
    int sampling;
    uint64_t threshold;        /* keep keys whose hash < threshold */
    mk_hll hll;
    uint32_t *limbs;           /* scratch for big integers */
    uint64_t distinct_seen;    /* keys inserted while exact */
    uint64_t text_len[256];    /* values by byte length, for the C text figures */
    uint64_t bh[16], bv[16];   /* integer keys waiting (BATCH) */
    unsigned bn;
    uint32_t bcounted;         /* bit i: bh[i] arrived while sampling */
};

enum { BATCH = 16 };

enum { LIMBS_MAX = 4300 / 9 + 2 };   /* 9 decimal digits a base-10^9 step */

int ms_narrowest_int(const ms_result *r)
{
    static const struct { int64_t lo; uint64_t hi; } w[] = {
        { INT8_MIN, INT8_MAX }, { 0, UINT8_MAX }, { INT16_MIN, INT16_MAX }, { 0, UINT16_MAX },
        { INT32_MIN, INT32_MAX }, { 0, UINT32_MAX }, { INT64_MIN, INT64_MAX }, { 0, UINT64_MAX },
    };
    if (r->big_int)
        return -1;
    int64_t lo = r->has_int ? r->min_int : 0;
    uint64_t hi = r->has_int ? r->max_uint : 0;
    for (int i = 0; i < 8; i++)
        if (lo >= w[i].lo && hi <= w[i].hi)
            return i;
    return -1;
}

/* ---- glibc ------------------------------------------------------------------------------- */

uint64_t ms_glibc_chunk(uint64_t n)
{
    /* request2size: n + SIZE_SZ rounded up to 16, at least MINSIZE (32).
     * Chunks at or above M_MMAP_THRESHOLD (128 KiB in a fresh process;
     * freeing an mmapped chunk raises it, which is not modelled) are
     * mmapped: the chunk plus its prev_size word, in whole pages. */
    uint64_t c = (n + 8 + 15) & ~(uint64_t)15;
    if (c < 32)
        c = 32;
    if (c >= 128 * 1024)
        c = (c + 8 + 4095) & ~(uint64_t)4095;
    return c;
}

/* ---- typing ---------------------------------------------------------------------------------- */

static int is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r' || c == '\n';
}

static void trim(const char **p, size_t *n)
{
    const unsigned char *s = (const unsigned char *)*p, *e = s + *n;
    while (s < e && is_blank(*s))
        s++;
    while (e > s && is_blank(e[-1]))
        e--;
    *p = (const char *)s;
    *n = (size_t)(e - s);
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* Digits with single underscores between them, from *i; how many digits. */
static size_t digit_run(const char *s, size_t n, size_t *i)
{
    size_t d = 0, j = *i;
    if (j >= n || !is_digit((unsigned char)s[j]))
        return 0;
    while (j < n) {
        if (is_digit((unsigned char)s[j])) {
            d++;
            j++;
        } else if (s[j] == '_' && j + 1 < n && is_digit((unsigned char)s[j + 1])) {
            j++;
        } else {
            break;
        }
    }
    *i = j;
    return d;
}

/* int syntax on a trimmed value; the number of digits, or 0. */
static size_t int_syntax(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    size_t d = digit_run(s, n, &i);
    return i == n ? d : 0;
}

static int word_ci(const char *s, size_t n, const char *w)
{
    size_t k = strlen(w);
    if (n != k)
        return 0;
    for (size_t i = 0; i < k; i++)
        if ((s[i] | 0x20) != w[i])
            return 0;
    return 1;
}

static int float_syntax(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    if (word_ci(s + i, n - i, "inf") || word_ci(s + i, n - i, "infinity") || word_ci(s + i, n - i, "nan"))
        return 1;
    size_t d = digit_run(s, n, &i);
    if (i < n && s[i] == '.') {
        i++;
        d += digit_run(s, n, &i);
    }
    if (!d)
        return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (!digit_run(s, n, &i))
            return 0;
    }
    return i == n;
}

/* ---- big integers ----------------------------------------------------------------------------- */

/* Decimal digits (underscores skipped) into little-endian 32-bit limbs;
 * returns the limb count (0 for zero). */
static size_t big_from_dec(const char *s, size_t n, uint32_t *l)
{
    size_t len = 0;
    uint32_t chunk = 0, mul = 1;
    for (size_t i = 0; i <= n; i++) {
        int end = i == n;
        if (!end && s[i] == '_')
            continue;
        if (!end) {
            chunk = chunk * 10 + (uint32_t)(s[i] - '0');
            mul *= 10;
        }
        if (mul == 1000000000 || (end && mul > 1)) {
            uint64_t carry = chunk;
            for (size_t k = 0; k < len; k++) {
                uint64_t x = (uint64_t)l[k] * mul + carry;
                l[k] = (uint32_t)x;
                carry = x >> 32;
            }
            if (carry)
                l[len++] = (uint32_t)carry;
            chunk = 0;
            mul = 1;
        }
    }
    return len;
}

static uint64_t big_bits(const uint32_t *l, size_t len)
{
    if (!len)
        return 0;
    return (uint64_t)(len - 1) * 32 + (uint64_t)(32 - __builtin_clz(l[len - 1]));
}

static unsigned pydigits_of_bits(uint64_t bits)
{
    return (unsigned)((bits + 29) / 30);
}

static unsigned pydigits_u64(uint64_t m)
{
    return m ? pydigits_of_bits((uint64_t)(64 - __builtin_clzll(m))) : 0;
}

/* ---- UTF-8 ------------------------------------------------------------------------------------ */

/* Validates UTF-8 (no overlongs, surrogates or code points past 10FFFF, as
 * Python's strict decoder); sets the storage kind and code point count. */
static int utf8_scan(const unsigned char *s, size_t n, int *kind, uint64_t *chars, uint32_t *first)
{
    size_t i = 0, cps = 0;
    uint32_t maxcp = 0;
    *first = n ? s[0] : 0;
    /* ASCII fast path, 8 bytes at a time */
    while (i + 8 <= n) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (w & 0x8080808080808080ull)
            break;
        i += 8;
    }
    cps = i;
    while (i < n) {
        unsigned c = s[i];
        uint32_t cp;
        size_t k;
        if (c < 0x80) {
            cp = c;
            k = 1;
        } else if (c >= 0xC2 && c <= 0xDF) {
            cp = c & 0x1F;
            k = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            cp = c & 0x0F;
            k = 3;
        } else if (c >= 0xF0 && c <= 0xF4) {
            cp = c & 0x07;
            k = 4;
        } else {
            return -1;
        }
        if (i + k > n)
            return -1;
        for (size_t j = 1; j < k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return -1;
            cp = cp << 6 | (s[i + j] & 0x3F);
        }
        if ((k == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (k == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
            return -1;
        if (cps == 0)
            *first = cp;
        if (cp > maxcp)
            maxcp = cp;
        cps++;
        i += k;
    }
    *chars = cps;
    *kind = maxcp < 0x80 ? MS_ASCII : maxcp < 0x100 ? MS_LATIN1 : maxcp < 0x10000 ? MS_UCS2 : MS_UCS4;
    return 0;
}

/* ---- distinct keys ---------------------------------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

/* Low byte of a slot's hash: the tag (bits 0-2) and, for int keys, the
 * leading zeros of the kept object's text (bits 3-7, at most 31), which
 * tracemalloc's figure for it depends on. Equality and the sketch look at
 * the other bits only. */
#define KEY_MASK (~(uint64_t)0xFF)

static unsigned slot_lz(uint64_t h)
{
    return (unsigned)(h >> 3 & 31);
}

static int slot_tag(uint64_t h)
{
    return (int)(h & 7);
}

static int tag_inline(int tag)
{
    return tag == K_INT || tag == K_INT_FLOAT || tag == K_FLOAT;
}

/* The key class decides equality: an int key equals an int key whatever
 * object carries it. */
static int tag_class(int tag)
{
    return tag == K_INT_FLOAT ? K_INT : tag == K_BIG_FLOAT ? K_BIG : tag;
}

static uint64_t slot_bytes(const ms_values *v)
{
    return (uint64_t)v->cap * sizeof(slot) + mk_arena_reserved(&v->keys);
}

static void place_slot(slot *t, size_t cap, slot s)
{
    size_t i = (size_t)(s.h >> 20) & (cap - 1);
    while (t[i].h)
        i = (i + 1) & (cap - 1);
    t[i] = s;
}

/* Re-places the keys into a table of cap slots; while sampling, only those
 * under the threshold, with their bytes re-packed so that dropped keys do
 * not hold memory. */
static void rebuild(ms_values *v, size_t cap)
{
    slot *t = mk_xcalloc(cap, sizeof *t);
    size_t len = 0;
    mk_arena keys;
    mk_arena_init(&keys, 0);
    for (size_t i = 0; i < v->cap; i++) {
        slot s = v->t[i];
        if (!s.h || (v->sampling && s.h >= v->threshold))
            continue;
        if (v->sampling && !tag_inline(slot_tag(s.h))) {
            uint32_t n;
            memcpy(&n, (const void *)(uintptr_t)s.v, 4);
            s.v = (uint64_t)(uintptr_t)mk_arena_memdup(&keys, (const void *)(uintptr_t)s.v, n + 4);
        }
        place_slot(t, cap, s);
        len++;
    }
    if (v->sampling) {
        mk_arena_free(&v->keys);
        v->keys = keys;
    }
    free(v->t);
    v->t = t;
    v->cap = cap;
    v->len = len;
}

/* From exact to estimated: every key so far goes into the sketch, and the
 * table shrinks to a small sample: the keys under a threshold that halves
 * until they fill at most 3/8 of SAMPLE_SLOTS. The sample only has to tell
 * the mix of kinds and sizes among the distinct values (tens of thousands
 * of keys tell it to a fraction of a percent); the count comes from the
 * sketch. A small table also stays in cache, so the values that reach it
 * cost little. */
enum { SAMPLE_SLOTS = 1 << 16 };

static void start_sampling(ms_values *v)
{
    if (!v->sampling) {
        mk_hll_init(&v->hll, MK_HLL_P_DEFAULT);
        for (size_t i = 0; i < v->cap; i++)
            if (v->t[i].h)
                mk_hll_add(&v->hll, v->t[i].h & KEY_MASK);
        v->sampling = 1;
        v->threshold = UINT64_MAX;
        /* a small table within half the budget (the rest for string keys) */
        size_t slots = SAMPLE_SLOTS;
        while (slots > 1024 && slots * sizeof(slot) > v->o.memory / 2)
            slots >>= 1;
        /* drop to the threshold that fits before allocating the small table */
        size_t keep = v->len;
        while (keep > slots / 8 * 3 && v->threshold > 1) {
            v->threshold >>= 1;
            keep = 0;
            for (size_t i = 0; i < v->cap; i++)
                keep += v->t[i].h && v->t[i].h < v->threshold;
        }
        rebuild(v, slots);
    }
    while ((v->len > v->cap / 8 * 3 || slot_bytes(v) > v->o.memory) && v->threshold > 1) {
        v->threshold >>= 1;
        rebuild(v, v->cap);
    }
}

static void grow_or_sample(ms_values *v)
{
    if (v->len + 1 <= v->cap / 4 * 3)
        return;
    if (v->sampling)
        start_sampling(v);
    else if (v->cap && slot_bytes(v) + (uint64_t)v->cap * 2 * sizeof(slot) > v->o.memory)
        start_sampling(v);
    else
        rebuild(v, v->cap ? v->cap * 2 : 1024);
}

static int key_equal(uint64_t sv, const void *kp, size_t kn, uint64_t kv, int inl)
{
    if (inl)
        return sv == kv;
    const unsigned char *s = (const unsigned char *)(uintptr_t)sv;
    uint32_t len;
    memcpy(&len, s, 4);
    return len == kn && memcmp(s + 4, kp, kn) == 0;
}

/* dict.fromkeys' table kind depends on the order keys arrive in. */
static void note_order(ms_values *v, int is_str)
{
    if (v->sampling) {
        /* Every key so far was a str, so a non-str value is a new key: the
         * sketch's count of keys so far stands in for its position. */
        if (!is_str && v->r.dict_first_str && !v->r.dict_nonstr_known) {
            v->r.dict_nonstr_at = (uint64_t)llround(mk_hll_estimate(&v->hll)) + v->r.n_nan;
            v->r.dict_nonstr_known = 1;
        }
        return;
    }
    if (v->distinct_seen == 0)
        v->r.dict_first_str = is_str;
    if (!is_str && v->r.dict_first_str && !v->r.dict_nonstr_known) {
        v->r.dict_nonstr_at = v->distinct_seen;
        v->r.dict_nonstr_known = 1;
    }
    v->distinct_seen++;
}

/* Adds a key (inline value kv, or bytes kp/kn); tag says the key and the
 * object kind. The first object a set sees stays. */
/* Inserts a hashed key unless present. counted: the sketch has seen it
 * (it arrived while sampling); a key that arrived while exact and finds
 * the sampling started (by a batch or its own insertion) is counted here,
 * since start_sampling only counted the keys in the table. */
static void insert_hashed(ms_values *v, uint64_t h, uint64_t kv, const void *kp, size_t kn, int counted)
{
    int tag = slot_tag(h), inl = tag_inline(tag);
    grow_or_sample(v);
    if (v->sampling && !counted)
        mk_hll_add(&v->hll, h & KEY_MASK);
    if (v->sampling && h >= v->threshold)
        return;
    size_t i = (size_t)(h >> 20) & (v->cap - 1);
    for (; v->t[i].h; i = (i + 1) & (v->cap - 1)) {
        uint64_t sh = v->t[i].h;
        if ((sh & KEY_MASK) == (h & KEY_MASK) && tag_class(slot_tag(sh)) == tag_class(tag) &&
            key_equal(v->t[i].v, kp, kn, kv, inl))
            return;
    }
    uint64_t sv = kv;
    if (!inl) {
        unsigned char *s = mk_arena_alloc_unaligned(&v->keys, kn + 4);
        uint32_t len = (uint32_t)kn;
        memcpy(s, &len, 4);
        memcpy(s + 4, kp, kn);
        sv = (uint64_t)(uintptr_t)s;
    }
    note_order(v, tag == K_STR);
    v->t[i] = (slot){ h, sv };
    v->len++;
    if (!v->sampling && slot_bytes(v) > v->o.memory)
        start_sampling(v);
}

static uint64_t key_hash(int tag, uint64_t kv, const void *kp, size_t kn)
{
    uint64_t salt = (uint64_t)tag_class(tag) * 0x9E3779B97F4A7C15ull;
    uint64_t hash = tag_inline(tag) ? mix64(kv ^ salt) : mk_map_hash(kp, kn) ^ salt;
    return (hash & KEY_MASK) | (uint64_t)tag;
}

/* Integer keys, the bulk of big inputs, are inserted in batches: each
 * one's slot is prefetched when it arrives and probed BATCH keys later,
 * so the cache misses of a batch overlap. Keys stay in arrival order
 * (note_order depends on it): any other key flushes the batch first. */
static void flush_ints(ms_values *v)
{
    for (unsigned i = 0; i < v->bn; i++)
        insert_hashed(v, v->bh[i], v->bv[i], NULL, 0, (int)(v->bcounted >> i & 1));
    v->bn = 0;
    v->bcounted = 0;
}

static inline __attribute__((always_inline)) void add_int_key(ms_values *v, int64_t x, unsigned lz)
{
    uint64_t h = key_hash(K_INT, (uint64_t)x, NULL, 0) | (uint64_t)(lz < 31 ? lz : 31) << 3;
    if (v->sampling) {
        if (v->r.dict_first_str && !v->r.dict_nonstr_known)
            note_order(v, 0);
        mk_hll_add(&v->hll, h & KEY_MASK);
        if (h >= v->threshold)
            return;
    }
    if (v->cap)
        __builtin_prefetch(&v->t[(size_t)(h >> 20) & (v->cap - 1)]);
    v->bcounted |= (uint32_t)v->sampling << v->bn;
    v->bh[v->bn] = h;
    v->bv[v->bn] = (uint64_t)x;
    if (++v->bn == BATCH)
        flush_ints(v);
}

/* Adds a key (inline value kv, or bytes kp/kn); tag says the key and the
 * object kind. The first object a set sees stays. */
static void distinct_add(ms_values *v, int tag, uint64_t kv, const void *kp, size_t kn, unsigned lz)
{
    if (v->bn)
        flush_ints(v);
    uint64_t h = key_hash(tag, kv, kp, kn) | (uint64_t)(lz < 31 ? lz : 31) << 3;
    if (v->sampling) {
        if (tag != K_STR && v->r.dict_first_str && !v->r.dict_nonstr_known)
            note_order(v, 0);
        mk_hll_add(&v->hll, h & KEY_MASK);
        if (h >= v->threshold)
            return;
    }
    insert_hashed(v, h, kv, kp, kn, v->sampling);
}

/* ---- tallies ----------------------------------------------------------------------------------- */

static void set_bit(uint64_t *bits, unsigned i)
{
    bits[i >> 6] |= 1ull << (i & 63);
}

/* int(text) allocates the digits its decimal length promises,
 * (Py_ssize_t)(D * log(10) / log(2^30) + 1.0) for D digits (leading zeros
 * included), and never shrinks the block: what tracemalloc traces beyond
 * getsizeof. */
static uint64_t alloc_pydigits(uint64_t dec)
{
    static const double per_dec = 0.11073093649624542;   /* log(10) / log(2^30), as CPython rounds it */
    return (uint64_t)((double)dec * per_dec + 1.0);
}

static unsigned dec_digits(uint64_t m)
{
    unsigned d = 1;
    while (m >= 10) {
        m /= 10;
        d++;
    }
    return d;
}

static inline __attribute__((always_inline)) void tally_int64(ms_tally *t, int64_t x, unsigned dec)
{
    if (x >= -5 && x <= 256) {
        set_bit(t->small_int, (unsigned)(x + 5));
        return;
    }
    uint64_t m = x < 0 ? 0 - (uint64_t)x : (uint64_t)x;
    unsigned nd = pydigits_u64(m);
    t->ints++;
    t->int_digits[nd]++;
    /* up to 9 decimal digits int() asks for one digit, as getsizeof says */
    if (dec > 9)
        t->int_alloc_extra += alloc_pydigits(dec) - nd;
}

static void tally_big(ms_tally *t, uint64_t bits, uint64_t dec)
{
    t->ints++;
    t->int_digits[pydigits_of_bits(bits)]++;
    t->int_alloc_extra += alloc_pydigits(dec) - pydigits_of_bits(bits);
}

static void tally_str(ms_tally *t, int kind, uint64_t chars, uint32_t first, size_t bytes)
{
    t->c_chunks += ms_glibc_chunk(bytes + 1);
    t->c_text += bytes + 1;
    if (chars == 0) {
        set_bit(t->small_str, 0);
        return;
    }
    if (chars == 1 && first < 256) {
        set_bit(t->small_str, 1 + first);
        return;
    }
    t->strs[kind]++;
    t->str_chars[kind] += chars;
}

/* The object a distinct slot stands for, added to t. */
static void tally_slot(ms_tally *t, slot s)
{
    int tag = slot_tag(s.h);
    switch (tag) {
    case K_INT: {
        /* the digits of the value: a kept key's leading zeros are not known */
        int64_t x = (int64_t)s.v;
        tally_int64(t, x, dec_digits(x < 0 ? 0 - (uint64_t)x : (uint64_t)x) + slot_lz(s.h));
        break;
    }
    case K_INT_FLOAT:
    case K_FLOAT:
    case K_BIG_FLOAT:
        t->floats++;
        break;
    case K_BIG: {
        const unsigned char *p = (const unsigned char *)(uintptr_t)s.v;
        uint32_t len;
        memcpy(&len, p, 4);
        /* sign byte, then limbs */
        size_t nl = (len - 1) / 4;
        uint32_t top;
        memcpy(&top, p + 4 + 1 + (nl - 1) * 4, 4);
        uint64_t bits = (uint64_t)(nl - 1) * 32 + (uint64_t)(32 - __builtin_clz(top));
        tally_big(t, bits, (uint64_t)((double)bits * 0.30102999566398120) + 1);
        break;
    }
    case K_STR: {
        const unsigned char *p = (const unsigned char *)(uintptr_t)s.v;
        uint32_t len, first;
        memcpy(&len, p, 4);
        int kind;
        uint64_t chars;
        utf8_scan(p + 4, len, &kind, &chars, &first);
        tally_str(t, kind, chars, first, len);
        break;
    }
    }
}

/* ---- values ------------------------------------------------------------------------------------- */

ms_values *ms_values_new(const ms_values_opts *o)
{
    ms_values *v = mk_xcalloc(1, sizeof *v);
    v->o = *o;
    if (v->o.memory < 1 << 16)
        v->o.memory = 1 << 16;
    mk_arena_init(&v->keys, 0);
    v->limbs = mk_xmalloc(LIMBS_MAX * 2 * sizeof *v->limbs);
    v->r.exact = 1;
    v->r.f32_exact = 1;
    return v;
}

static inline __attribute__((always_inline)) void note_int64(ms_values *v, int64_t x)
{
    ms_result *r = &v->r;
    if (!r->has_int) {
        r->has_int = 1;
        r->min_int = x;
        r->max_uint = 0;
    }
    if (x < r->min_int)
        r->min_int = x;
    if (x >= 0 && (uint64_t)x > r->max_uint)
        r->max_uint = (uint64_t)x;
    /* float32 holds an integer exactly when it has at most 24 significant
     * bits */
    if (r->f32_exact) {
        uint64_t m = x < 0 ? 0 - (uint64_t)x : (uint64_t)x;
        if (m && 64 - __builtin_clzll(m) - __builtin_ctzll(m) > 24)
            r->f32_exact = 0;
    }
}

static void add_int_value(ms_values *v, const char *s, size_t n, size_t ndig)
{
    ms_result *r = &v->r;
    r->n_int++;
    int neg = s[0] == '-';
    size_t i = (s[0] == '-' || s[0] == '+');
    /* common case: at most 19 digits, no underscore */
    if (ndig <= 19 && ndig == n - i) {
        uint64_t m = 0;
        for (size_t j = i; j < n; j++)
            m = m * 10 + (uint64_t)(s[j] - '0');
        if (neg ? m <= (uint64_t)INT64_MAX + 1 : m <= (uint64_t)INT64_MAX) {
            int64_t x = neg ? (int64_t)(0 - m) : (int64_t)m;
            note_int64(v, x);
            tally_int64(&r->all, x, (unsigned)ndig);
            distinct_add(v, K_INT, (uint64_t)x, NULL, 0, (unsigned)ndig - dec_digits(m));
            return;
        }
    }
    /* general: big integer */
    size_t nl = big_from_dec(s + i, n - i, v->limbs);
    if (nl <= 2) {
        uint64_t m = nl ? v->limbs[0] : 0;
        if (nl == 2)
            m |= (uint64_t)v->limbs[1] << 32;
        if (m == 0)
            neg = 0;
        if (neg ? m <= (uint64_t)INT64_MAX + 1 : m <= (uint64_t)INT64_MAX) {
            int64_t x = neg ? (int64_t)(0 - m) : (int64_t)m;
            note_int64(v, x);
            tally_int64(&r->all, x, (unsigned)ndig);
            distinct_add(v, K_INT, (uint64_t)x, NULL, 0, (unsigned)ndig - dec_digits(m));
            return;
        }
        if (!neg) {
            /* fits uint64 (array typecodes L and Q) */
            if (!r->has_int) {
                r->has_int = 1;
                r->min_int = INT64_MAX;
            }
            if (m > r->max_uint)
                r->max_uint = m;
            if (r->f32_exact && 64 - __builtin_clzll(m) - __builtin_ctzll(m) > 24)
                r->f32_exact = 0;
            goto big;
        }
    }
    r->big_int = 1;
big:;
    uint64_t bits = big_bits(v->limbs, nl);
    tally_big(&r->all, bits, ndig);
    unsigned char key[1 + LIMBS_MAX * 4];
    key[0] = (unsigned char)neg;
    memcpy(key + 1, v->limbs, nl * 4);
    distinct_add(v, K_BIG, 0, key, 1 + nl * 4, 0);
}

/* A float's key: an integral value is an int key (Python's 1.0 == 1). */
static void add_float_value(ms_values *v, double x)
{
    ms_result *r = &v->r;
    r->n_float++;
    r->all.floats++;
    if (isnan(x)) {
        r->n_nan++;
        if (v->bn)
            flush_ints(v);
        note_order(v, 0);
    } else if (r->f32_exact && (double)(float)x != x) {
        r->f32_exact = 0;
    }
    if (isnan(x))
        return;
    if (isfinite(x) && x == floor(x)) {
        if (x >= -9223372036854775808.0 && x < 9223372036854775808.0) {
            distinct_add(v, K_INT_FLOAT, (uint64_t)(int64_t)x, NULL, 0, 0);
            return;
        }
        /* exact big integer: mantissa shifted */
        int e;
        double f = frexp(fabs(x), &e);            /* |x| = f * 2^e, e > 63 */
        uint64_t mant = (uint64_t)ldexp(f, 53);   /* 53-bit integer */
        int shift = e - 53;
        size_t nl = (size_t)(shift / 32) + 3;
        memset(v->limbs, 0, nl * 4);
        int q = shift / 32, rem = shift % 32;
        unsigned __int128 w = (unsigned __int128)mant << rem;
        for (int k = 0; k < 4 && w; k++, w >>= 32)
            v->limbs[q + k] = (uint32_t)w;
        while (nl && v->limbs[nl - 1] == 0)
            nl--;
        unsigned char key[1 + LIMBS_MAX * 4];
        key[0] = x < 0;
        memcpy(key + 1, v->limbs, nl * 4);
        distinct_add(v, K_BIG_FLOAT, 0, key, 1 + nl * 4, 0);
        return;
    }
    uint64_t bits;
    memcpy(&bits, &x, 8);
    distinct_add(v, K_FLOAT, bits, NULL, 0, 0);
}

static int parse_float(const char *s, size_t n, double *x)
{
    char buf[512], *b = buf;
    if (n >= sizeof buf)
        b = mk_xmalloc(n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] != '_')
            b[k++] = s[i];
    b[k] = 0;
    char *end;
    *x = strtod(b, &end);
    int ok = *end == 0;
    if (b != buf)
        free(b);
    return ok ? 0 : -1;
}

/* The common case, a plain decimal of at most 18 digits: no blanks,
 * underscores or '+' to look for. (Reading eight digits at a time with
 * SWAR arithmetic measured slower on 10-digit values.) */
static inline int fast_int(const char *p, size_t n, int64_t *out)
{
    size_t i = n && p[0] == '-';
    if (i == n || n - i > 18)
        return 0;
    uint64_t m = 0;
    for (size_t j = i; j < n; j++) {
        unsigned d = (unsigned)(unsigned char)p[j] - '0';
        if (d > 9)
            return 0;
        m = m * 10 + d;
    }
    *out = i ? -(int64_t)m : (int64_t)m;
    return 1;
}

/* A value that fast_int read: m its magnitude, dec its digits. */
static inline __attribute__((always_inline)) void add_fast_int(ms_values *v, const char *p, size_t n, int64_t x)
{
    ms_result *r = &v->r;
    r->n++;
    v->text_len[n]++;               /* n <= 19 */
    r->n_int++;
    note_int64(v, x);
    unsigned dec = (unsigned)(n - (p[0] == '-'));
    tally_int64(&r->all, x, dec);
    add_int_key(v, x, p[n - dec] == '0' && dec > 1 ? dec - dec_digits(x < 0 ? 0 - (uint64_t)x : (uint64_t)x) : 0);
}

/* Every other value. */
static int add_general(ms_values *v, const char *p, size_t n)
{
    ms_result *r = &v->r;
    r->n++;
    if (n < 256) {
        v->text_len[n]++;
    } else {
        r->text_chunks += ms_glibc_chunk(n + 1);
        r->text_bytes += n + 1;
    }
    const char *s = p;
    size_t sn = n;
    if (v->o.type != MS_STR) {
        trim(&s, &sn);
        size_t d = int_syntax(s, sn);
        if (d && d <= 4300 && v->o.type != MS_FLOAT) {
            add_int_value(v, s, sn, d);
            return 0;
        }
        if ((d || float_syntax(s, sn)) && v->o.type != MS_INT) {
            double x;
            if (parse_float(s, sn, &x) < 0)
                return mk_err_set("cannot read '%.*s' as a float", (int)(sn > 40 ? 40 : sn), s);
            add_float_value(v, x);
            return 0;
        }
        if (v->o.type == MS_INT)
            return mk_err_set("'%.*s' is not an integer (--type int)", (int)(n > 40 ? 40 : n), p);
        if (v->o.type == MS_FLOAT)
            return mk_err_set("'%.*s' is not a float (--type float)", (int)(n > 40 ? 40 : n), p);
    }
    int kind;
    uint64_t chars;
    uint32_t first;
    if (utf8_scan((const unsigned char *)p, n, &kind, &chars, &first) < 0)
        return mk_err_set("not valid UTF-8");
    r->n_str++;
    r->f32_exact = 0;
    tally_str(&r->all, kind, chars, first, n);
    distinct_add(v, K_STR, 0, p, n, 0);
    return 0;
}


int ms_values_add(ms_values *v, const char *p, size_t n)
{
    int64_t x;
    if (v->o.type != MS_STR && v->o.type != MS_FLOAT && fast_int(p, n, &x)) {
        add_fast_int(v, p, n, x);
        return 0;
    }
    return add_general(v, p, n);
}

/* Lines are split and plain integers read in the same pass over the
 * bytes: most values of a big input are such integers, and scanning each
 * line twice (for its end, then for its digits) cost a fifth of the time. */
int ms_values_add_lines(ms_values *v, const char *p, const char *end, uint64_t *line)
{
    int ints = v->o.type != MS_STR && v->o.type != MS_FLOAT;
    while (p < end) {
        const char *q = p + (*p == '-');
        const char *d0 = q;
        uint64_t m = 0;
        if (ints)
            while (q < end && q - d0 < 18 && (unsigned)(*q - '0') <= 9)
                m = m * 10 + (uint64_t)(*q++ - '0');
        if (q > d0 && (q == end || *q == '\n')) {
            add_fast_int(v, p, (size_t)(q - p), d0 > p ? -(int64_t)m : (int64_t)m);
        } else {
            const char *eol = memchr(q, '\n', (size_t)(end - q));
            q = eol ? eol : end;
            size_t n = (size_t)(q - p);
            if (n && p[n - 1] == '\r' && eol)
                n--;
            if (add_general(v, p, n) < 0)
                return -1;
        }
        ++*line;
        p = q + 1;
    }
    return 0;
}

const ms_result *ms_values_result(ms_values *v)
{
    ms_result *r = &v->r;
    flush_ints(v);
    for (size_t n = 0; n < 256; n++) {
        r->text_chunks += v->text_len[n] * ms_glibc_chunk(n + 1);
        r->text_bytes += v->text_len[n] * (n + 1);
        v->text_len[n] = 0;
    }
    memset(&r->uniq, 0, sizeof r->uniq);
    for (size_t i = 0; i < v->cap; i++)
        if (v->t[i].h)
            tally_slot(&r->uniq, v->t[i]);
    if (!v->sampling) {
        r->distinct = v->len + r->n_nan;
        r->exact = 1;
    } else {
        double est = mk_hll_estimate(&v->hll);
        double scale = v->len ? est / (double)v->len : 0;
        ms_tally *u = &r->uniq;
        u->ints = (uint64_t)llround((double)u->ints * scale);
        for (int d = 0; d < MS_MAX_PYDIGITS; d++)
            u->int_digits[d] = (uint64_t)llround((double)u->int_digits[d] * scale);
        u->floats = (uint64_t)llround((double)u->floats * scale);
        for (int k = 0; k < MS_KINDS; k++) {
            u->strs[k] = (uint64_t)llround((double)u->strs[k] * scale);
            u->str_chars[k] = (uint64_t)llround((double)u->str_chars[k] * scale);
        }
        u->c_chunks = (uint64_t)llround((double)u->c_chunks * scale);
        u->c_text = (uint64_t)llround((double)u->c_text * scale);
        /* Shared singletons are few and always kept exactly by the sample
         * would be wrong (they are sampled too): take them from all values,
         * which is exact for every kind but the 1.0-before-1 corner. */
        memcpy(u->small_int, r->all.small_int, sizeof u->small_int);
        memcpy(u->small_str, r->all.small_str, sizeof u->small_str);
        r->distinct = (uint64_t)llround(est) + r->n_nan;
        r->exact = 0;
        r->rel_error = 1.04 / sqrt((double)(1u << MK_HLL_P_DEFAULT));
    }
    r->uniq.floats += r->n_nan;
    return r;
}

void ms_values_free(ms_values *v)
{
    if (!v)
        return;
    free(v->t);
    free(v->limbs);
    mk_arena_free(&v->keys);
    if (v->sampling)
        mk_hll_free(&v->hll);
    free(v);
}
