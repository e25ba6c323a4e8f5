/* pymodel — CPython's object and container sizes, version by version.
 *
 * Everything here reproduces what sys.getsizeof() reports on a 64-bit
 * build of CPython 3.11, 3.12 and 3.13 (and, for --allocated, what
 * tracemalloc traces), from the tallies of a values pass: no Python is
 * run. Container growth is simulated step by step with CPython's own
 * resize rules (list over-allocation, set and dict table resizes), so a
 * figure is exact for any count, not fitted. The committed ground truth
 * under tests/fixtures/memsize/python/ pins every rule.
 *
 * Pure functions over constant tables; thread-safe. */
#ifndef MS_PYMODEL_H
#define MS_PYMODEL_H

#include <stdint.h>

#include "values.h"

typedef struct ms_pyver ms_pyver;

/* "3.11", "3.12", "3.13" (also "python3.11"); NULL if unknown. */
const ms_pyver *ms_pyver_find(const char *name);
const ms_pyver *ms_pyver_at(int i);          /* 0.., NULL past the last */
const char *ms_pyver_name(const ms_pyver *v);  /* "3.11" */

enum { MS_PY_LIST, MS_PY_LIST_APPEND, MS_PY_TUPLE, MS_PY_SET, MS_PY_FROZENSET, MS_PY_DICT,
       MS_PY_ARRAY, MS_PY_STRUCTURES };
extern const char *const ms_py_structure[MS_PY_STRUCTURES];

typedef struct {
    int available;             /* 0: n/a (array of strings, of huge ints) */
    uint64_t count;            /* items in it */
    uint64_t shallow, deep;    /* getsizeof, and with the element objects */
    uint64_t alloc_shallow, alloc_deep;   /* what tracemalloc traces */
    char typecode;             /* array */
    const char *note;
} ms_pysize;

typedef struct {
    int count_shared;          /* shared singletons count (once each) */
} ms_pyopts;

void ms_py_size(const ms_pyver *v, int structure, const ms_result *r, const ms_pyopts *o, ms_pysize *out);

/* Sizes of single objects, for tests and the layout pass. */
uint64_t ms_py_int_size(const ms_pyver *v, unsigned digits);
uint64_t ms_py_str_size(const ms_pyver *v, int kind, uint64_t chars);
uint64_t ms_py_float_size(const ms_pyver *v);

/* Containers of n items (n distinct for set/dict), getsizeof. */
uint64_t ms_py_list_exact(const ms_pyver *v, uint64_t n);
uint64_t ms_py_list_append(const ms_pyver *v, uint64_t n);
uint64_t ms_py_tuple(const ms_pyver *v, uint64_t n);
uint64_t ms_py_set(const ms_pyver *v, uint64_t distinct);
/* dict.fromkeys of distinct keys; str_keys_until = how many keys went in
 * while all were str (distinct for an all-str dict, 0 for none). */
uint64_t ms_py_dict(const ms_pyver *v, uint64_t distinct, uint64_t str_keys_until);

/* array.array of n items of itemsize bytes, built from a list. */
uint64_t ms_py_array(const ms_pyver *v, uint64_t itemsize, uint64_t n);

/* `count` instances of a class whose __init__ sets `attrs` attributes, as
 * tracemalloc traces their creation: per instance once the class has
 * settled (its first instances over-allocate the values of its shared
 * keys, ~30 slots, until about 29 - attrs instances exist), and the exact
 * total of the first `count` (the class's own shared-keys object, made
 * when the class is, is not in either). Regular class vs __slots__. */
typedef struct {
    uint64_t regular, slots;             /* per instance, settled */
    uint64_t regular_total, slots_total; /* the first count instances */
    uint64_t regular_getsizeof, slots_getsizeof;
} ms_pyclass;

void ms_py_class(const ms_pyver *v, uint64_t attrs, uint64_t count, ms_pyclass *out);

#endif
