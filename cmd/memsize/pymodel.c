/* pymodel — CPython sizes from tallies. See pymodel.h.
 *
 * The constants are the 64-bit layouts of each version's object structs
 * (Include/cpython/ headers), plus the 16-byte GC header getsizeof() adds for
 * objects the collector tracks. Growth rules are transcribed as
 * behaviour, not code: the list over-allocation formula, set tables that
 * quadruple (double past 50000 keys) once 3/5 full, dict tables sized
 * from three times the keys in use once their usable slots run out. */
#include "pymodel.h"

#include <string.h>

/* ---- data ---------------------------------------------------------------------------- */

struct ms_pyver {
    const char *name;
    int minor;
    uint64_t str_ascii, str_compact;   /* PyASCIIObject, PyCompactUnicodeObject */
    uint64_t int_min_digits;           /* 0 has one (zero) digit */
    uint64_t array_base;               /* getsizeof(array('b')) */
    uint64_t latin1_single_utf8;       /* the shared 'é' etc. carry their UTF-8 */
};

static const ms_pyver versions[] = {
    { "3.11", 11, 48, 72, 1, 80, 0 },
    { "3.12", 12, 40, 56, 1, 80, 3 },
    { "3.13", 13, 40, 56, 1, 80, 3 },
};

const char *const ms_py_structure[MS_PY_STRUCTURES] = {
    "list", "list-append", "tuple", "set", "frozenset", "dict", "array",
};

enum { GC = 16, PTR = 8 };

const ms_pyver *ms_pyver_find(const char *name)
{
    if (strncmp(name, "python", 6) == 0)
        name += 6;
    for (size_t i = 0; i < sizeof versions / sizeof *versions; i++)
        if (strcmp(name, versions[i].name) == 0)
            return &versions[i];
    return NULL;
}

const ms_pyver *ms_pyver_at(int i)
{
    return i >= 0 && (size_t)i < sizeof versions / sizeof *versions ? &versions[i] : NULL;
}

const char *ms_pyver_name(const ms_pyver *v)
{
    return v->name;
}

/* ---- objects ---------------------------------------------------------------------------- */

uint64_t ms_py_int_size(const ms_pyver *v, unsigned digits)
{
    if (digits < v->int_min_digits)
        digits = (unsigned)v->int_min_digits;
    return 24 + 4 * (uint64_t)digits;
}

uint64_t ms_py_float_size(const ms_pyver *v)
{
    (void)v;
    return 24;
}

static const uint64_t char_size[MS_KINDS] = { 1, 1, 2, 4 };

uint64_t ms_py_str_size(const ms_pyver *v, int kind, uint64_t chars)
{
    uint64_t base = kind == MS_ASCII ? v->str_ascii : v->str_compact;
    return base + (chars + 1) * char_size[kind];
}

static unsigned digits_of(int64_t x)
{
    uint64_t m = x < 0 ? 0 - (uint64_t)x : (uint64_t)x;
    unsigned d = 0;
    while (m) {
        d++;
        m >>= 30;
    }
    return d;
}

static int bit(const uint64_t *bits, unsigned i)
{
    return (int)(bits[i >> 6] >> (i & 63) & 1);
}

/* The element objects of a tally; shared singletons once each when asked. */
static uint64_t objects(const ms_pyver *v, const ms_tally *t, int count_shared)
{
    uint64_t b = 0;
    for (unsigned d = 0; d < MS_MAX_PYDIGITS; d++)
        if (t->int_digits[d])
            b += t->int_digits[d] * ms_py_int_size(v, d);
    b += t->floats * ms_py_float_size(v);
    for (int k = 0; k < MS_KINDS; k++)
        if (t->strs[k]) {
            uint64_t base = k == MS_ASCII ? v->str_ascii : v->str_compact;
            b += t->strs[k] * (base + char_size[k]) + t->str_chars[k] * char_size[k];
        }
    if (!count_shared)
        return b;
    for (unsigned i = 0; i < 262; i++)
        if (bit(t->small_int, i))
            b += ms_py_int_size(v, digits_of((int64_t)i - 5));
    if (bit(t->small_str, 0))
        b += ms_py_str_size(v, MS_ASCII, 0);
    for (unsigned c = 0; c < 256; c++)
        if (bit(t->small_str, 1 + c))
            b += c < 128 ? ms_py_str_size(v, MS_ASCII, 1)
                         : ms_py_str_size(v, MS_LATIN1, 1) + v->latin1_single_utf8;
    return b;
}

/* ---- containers ---------------------------------------------------------------------------- */

static uint64_t list_size(uint64_t allocated)
{
    return GC + 40 + PTR * allocated;
}

uint64_t ms_py_list_exact(const ms_pyver *v, uint64_t n)
{
    (void)v;
    /* list_preallocate_exact() keeps the allocation even */
    return list_size((n + 1) & ~(uint64_t)1);
}

/* list_resize(): room for newsize plus newsize/8 + 6, rounded down to a
 * multiple of 4, unless that is less than the jump asked for. */
uint64_t ms_py_list_append(const ms_pyver *v, uint64_t n)
{
    (void)v;
    uint64_t allocated = 0;
    uint64_t size = 0;
    while (size < n) {
        uint64_t newsize = size + 1;
        if (newsize > allocated) {
            uint64_t na = (newsize + (newsize >> 3) + 6) & ~(uint64_t)3;
            if (newsize - size > na - newsize)
                na = (newsize + 3) & ~(uint64_t)3;
            allocated = na;
            /* appends up to the new allocation need no resize */
            size = allocated < n ? allocated : n;
            continue;
        }
        size = newsize;
    }
    return list_size(allocated);
}

uint64_t ms_py_tuple(const ms_pyver *v, uint64_t n)
{
    (void)v;
    return GC + 24 + PTR * n;
}

/* set_add_entry(): once fill * 5 >= mask * 3 the table is resized to the
 * smallest power of two above used * 4 (used * 2 past 50000). */
uint64_t ms_py_set(const ms_pyver *v, uint64_t distinct)
{
    (void)v;
    uint64_t size = 8, fill = 0;
    while (fill < distinct) {
        /* jump to the next resize point */
        uint64_t mask = size - 1;
        uint64_t trigger = (mask * 3 + 4) / 5;      /* smallest fill with fill*5 >= mask*3 */
        if (trigger > distinct) {
            fill = distinct;
            break;
        }
        fill = trigger;
        uint64_t minused = fill > 50000 ? fill * 2 : fill * 4;
        uint64_t ns = 8;
        while (ns <= minused)
            ns <<= 1;
        size = ns;
    }
    return GC + 200 + (size > 8 ? 16 * size : 0);
}

/* calculate_log2_keysize(): the power of two just above
 * ((minsize | 8) - 1) | 7, which is the next power of two at or above
 * minsize when bit 3 of minsize is set and twice that otherwise
 * (minsize 3 gets 16 slots, not 8). */
static uint64_t log2_keysize(uint64_t minsize)
{
    uint64_t x = ((minsize | 8) - 1) | 7;
    uint64_t s = 1;
    while (s <= x)
        s <<= 1;
    return s;
}

static uint64_t dict_keys_bytes(uint64_t size, int unicode)
{
    uint64_t index = size <= 128 ? 1 : size <= 0xFFFF ? 2 : size <= 0xFFFFFFFFull ? 4 : 8;
    uint64_t usable = (size << 1) / 3;
    return 32 + size * index + usable * (unicode ? 16 : 24);
}

uint64_t ms_py_dict(const ms_pyver *v, uint64_t distinct, uint64_t str_keys_until)
{
    (void)v;
    if (distinct == 0)
        return GC + 48;
    uint64_t size = 8, used = 0;
    int unicode = str_keys_until > 0;
    while (used < distinct) {
        if (unicode && used == str_keys_until) {
            unicode = 0;
            size = log2_keysize(used * 3);
        }
        uint64_t usable = (size << 1) / 3;
        uint64_t stop = distinct;
        if (unicode && str_keys_until < stop)
            stop = str_keys_until;
        if (usable >= stop) {
            used = stop;
            continue;
        }
        used = usable;
        size = log2_keysize(used * 3);
    }
    return GC + 48 + dict_keys_bytes(size, unicode);
}

uint64_t ms_py_array(const ms_pyver *v, uint64_t itemsize, uint64_t n)
{
    return v->array_base + itemsize * n;
}

/* ---- structures ---------------------------------------------------------------------------- */

static char array_typecode(const ms_result *r, uint64_t *itemsize)
{
    if (r->n_str || r->big_int) {
        *itemsize = 0;
        return 0;
    }
    if (r->n_float) {
        *itemsize = r->f32_exact ? 4 : 8;
        return r->f32_exact ? 'f' : 'd';
    }
    int w = ms_narrowest_int(r);
    *itemsize = w < 0 ? 0 : (uint64_t)1 << (w / 2);
    return w < 0 ? 0 : "bBhHiIlL"[w];
}

void ms_py_size(const ms_pyver *v, int structure, const ms_result *r, const ms_pyopts *o, ms_pysize *out)
{
    memset(out, 0, sizeof *out);
    out->available = 1;
    uint64_t elems_all = objects(v, &r->all, o->count_shared);
    uint64_t elems_uniq = objects(v, &r->uniq, o->count_shared);
    uint64_t str_until = r->dict_first_str ? (r->dict_nonstr_known ? r->dict_nonstr_at : r->distinct) : 0;
    switch (structure) {
    case MS_PY_LIST:
        out->count = r->n;
        out->shallow = ms_py_list_exact(v, r->n);
        out->deep = out->shallow + elems_all;
        break;
    case MS_PY_LIST_APPEND:
        out->count = r->n;
        out->shallow = ms_py_list_append(v, r->n);
        out->deep = out->shallow + elems_all;
        break;
    case MS_PY_TUPLE:
        out->count = r->n;
        out->shallow = ms_py_tuple(v, r->n);
        out->deep = out->shallow + elems_all;
        break;
    case MS_PY_SET:
    case MS_PY_FROZENSET:
        out->count = r->distinct;
        out->shallow = ms_py_set(v, r->distinct);
        out->deep = out->shallow + elems_uniq;
        break;
    case MS_PY_DICT:
        out->count = r->distinct;
        out->shallow = ms_py_dict(v, r->distinct, str_until);
        out->deep = out->shallow + elems_uniq;
        break;
    case MS_PY_ARRAY: {
        uint64_t item;
        out->count = r->n;
        out->typecode = array_typecode(r, &item);
        if (!out->typecode) {
            out->available = 0;
            out->note = r->n_str ? "n/a: strings" : "n/a: integers beyond 64 bits";
            return;
        }
        out->shallow = ms_py_array(v, item, r->n);
        out->deep = out->shallow;
        break;
    }
    }
    /* tracemalloc sees the same blocks, but for the digits int(text)
     * over-allocates and the shared () (allocated before any program);
     * shared objects are never traced, --count-shared or not */
    const ms_tally *t = structure == MS_PY_SET || structure == MS_PY_FROZENSET || structure == MS_PY_DICT
                            ? &r->uniq : &r->all;
    uint64_t elems = structure == MS_PY_ARRAY ? 0 : objects(v, t, 0) + 4 * t->int_alloc_extra;
    out->alloc_shallow = structure == MS_PY_TUPLE && r->n == 0 ? 0 : out->shallow;
    out->alloc_deep = out->alloc_shallow + elems;
}

/* ---- classes ------------------------------------------------------------------------------ */

/* A class's shared keys hold 29 attribute names (30 slots, one kept
 * back). Instance j (0-based) sizes its values from the keys' usable
 * slots plus entries at the time: s_j = max(29 - j, min(k + 1, 29)) in
 * 3.11 and 3.12, which decrement the usable count before sizing; 3.13
 * decrements after, so max(30 - j, ...). 3.11/3.12 keep the values in a
 * block of their own (a size byte per slot plus prefix, rounded to 8, then
 * 8 per slot); 3.13 inline in the object (rounded byte array, then 8 per
 * slot plus one). Past 29 names the instance gets a real dict with a
 * combined str-keys table (3.11/3.12 free the values, 3.13 keeps them). */
static uint64_t r8(uint64_t x)
{
    return (x + 7) & ~(uint64_t)7;
}

static uint64_t class_values(const ms_pyver *v, uint64_t s)
{
    return v->minor >= 13 ? r8(s) + 8 * (s + 1) : r8(s + 2) + 8 * s;
}

static uint64_t class_dict(uint64_t k)
{
    /* str keys from 128 slots (L = 7), grown by dict's rule as names come */
    uint64_t size = 128;
    while ((size << 1) / 3 < k)
        size = log2_keysize(((size << 1) / 3) * 3);
    return GC + 48 + dict_keys_bytes(size, 1);
}

static uint64_t class_instance(const ms_pyver *v, uint64_t k, uint64_t j)
{
    uint64_t obj = v->minor >= 12 ? 48 : 56;
    uint64_t first = v->minor >= 13 ? 30 : 29;
    uint64_t steady = k + 1 < 29 ? k + 1 : 29;
    uint64_t s = first > j && first - j > steady ? first - j : steady;
    if (k < 30)
        return obj + class_values(v, s);
    return obj + (v->minor >= 13 ? class_values(v, s) : 0) + class_dict(k);
}

void ms_py_class(const ms_pyver *v, uint64_t attrs, uint64_t count, ms_pyclass *out)
{
    memset(out, 0, sizeof *out);
    out->slots = out->slots_getsizeof = GC + 16 + PTR * attrs;
    out->regular = class_instance(v, attrs, 64);
    out->regular_getsizeof = v->minor >= 12 ? 48 : 56;
    out->slots_total = out->slots * count;
    /* the first ~30 instances differ; after them every one is the same */
    uint64_t j = 0;
    for (; j < count && j < 64; j++)
        out->regular_total += class_instance(v, attrs, j);
    out->regular_total += (count - j) * out->regular;
}
