/* values — one pass over a stream of values, keeping only what the size
 * models need: how many values of each kind and size class there are, the
 * same for the distinct values (what a set or dict keeps), the range of the
 * integers for array typecodes, and which of CPython's shared singletons
 * occur.
 *
 * Typing follows memsize(1): a value is an int when it is an ASCII decimal
 * integer (Python's int() syntax: blanks around, a sign, single underscores
 * between digits), else a float when it is Python's ASCII float syntax
 * (inf, nan included), else a str: the line itself. --type forces one kind;
 * a value that does not fit it is an error. Equality is Python's: 1 and
 * 1.0 are one set key, every NaN is its own, "1" and 1 are different.
 *
 * Distinct values are kept exactly in a hash table while it fits the memory
 * budget; past it the count comes from a HyperLogLog (lib sketch) and the
 * mix of kinds and sizes among the distinct values from a hash-threshold
 * sample of them (the values whose hash falls below a threshold that halves
 * whenever the sample outgrows half the budget), scaled to the estimate.
 *
 * Memory: the table, its key store and the sketch, all bounded by the
 * budget; nothing per value. Single-threaded: one ms_values per pass. */
#ifndef MS_VALUES_H
#define MS_VALUES_H

#include <stddef.h>
#include <stdint.h>

enum { MS_ANY, MS_INT, MS_FLOAT, MS_STR };           /* --type */
enum { MS_ASCII, MS_LATIN1, MS_UCS2, MS_UCS4, MS_KINDS };  /* str storage */

/* Python ints past 4300 decimal digits are not ints (int() refuses them),
 * so 30-bit digit counts stay below this. */
enum { MS_MAX_PYDIGITS = 480 };

/* Counts of objects by what decides their size, for any model. Shared
 * singletons are not in here: they are in the bitmaps. */
typedef struct ms_tally {
    uint64_t ints;                        /* non-shared int objects */
    uint64_t int_alloc_extra;             /* 30-bit digits int(text) allocates beyond them */
    uint64_t int_digits[MS_MAX_PYDIGITS]; /* ... by 30-bit digit count */
    uint64_t floats;
    uint64_t strs[MS_KINDS];              /* non-shared str objects by kind */
    uint64_t str_chars[MS_KINDS];         /* their code points */
    uint64_t c_chunks;                    /* C: glibc chunk bytes of malloc(len + 1) of each */
    uint64_t c_text;                      /* C: their bytes + NUL each */
    /* shared objects present: small ints -5..256 (index v + 5), '' and
     * one-character Latin-1 strings (index 0 = '', 1 + code point) */
    uint64_t small_int[5];                /* 262 bits */
    uint64_t small_str[5];                /* 257 bits */
} ms_tally;

typedef struct ms_values ms_values;

typedef struct {
    int type;                  /* MS_ANY, MS_INT, MS_FLOAT, MS_STR */
    uint64_t memory;           /* budget for the distinct table, bytes */
} ms_values_opts;

ms_values *ms_values_new(const ms_values_opts *o);
/* One value (a line without its newline). -1 with a message (no location:
 * the caller adds file:line) when it is not valid UTF-8 or not of the
 * forced type. */
int ms_values_add(ms_values *v, const char *p, size_t n);
/* Every line of [p, end) (LF-terminated, CR before LF dropped, the last
 * line may lack its LF), counting lines in *line: on an error *line is the
 * failing line's number if it started as the first's. */
int ms_values_add_lines(ms_values *v, const char *p, const char *end, uint64_t *line);
void ms_values_free(ms_values *v);

/* What the pass found; valid until ms_values_free. */
typedef struct {
    uint64_t n, n_int, n_float, n_str;
    uint64_t n_nan;                    /* NaN values (each its own set key) */
    ms_tally all;                      /* every value's object */
    uint64_t distinct;                 /* set/dict keys (estimated when !exact) */
    ms_tally uniq;                     /* the objects a set keeps (scaled when !exact) */
    int exact;
    double rel_error;                  /* !exact: HyperLogLog's relative std error */
    /* integers (all ints, shared included) */
    int has_int;
    int big_int;                       /* an int outside int64/uint64 */
    int64_t min_int;                   /* min/max of those within int64... */
    uint64_t max_uint;                 /* ... and the largest non-negative one */
    int f32_exact;                     /* every value round-trips through float32 */
    /* C: the raw text of every value (strings-malloc/-arena) */
    uint64_t text_chunks, text_bytes;
    /* dict.fromkeys starts with a str-only table when its first key is a
     * str and switches when the first other key arrives: that key's
     * position among the distinct keys (exact passes only) */
    int dict_first_str, dict_nonstr_known;
    uint64_t dict_nonstr_at;
} ms_result;

const ms_result *ms_values_result(ms_values *v);

/* The narrowest of int8, uint8, int16, uint16, int32, uint32, int64 and
 * uint64 (0..7, in that order) that holds every integer of the pass (all
 * of them when it had none), or -1 when one is beyond 64 bits. The C model
 * names it, the array model takes its typecode (b B h H i I l L). */
int ms_narrowest_int(const ms_result *r);

/* glibc x86_64 chunk size of malloc(n): header, 16-byte alignment, 32-byte
 * minimum, page-rounded mmap above the default threshold. */
uint64_t ms_glibc_chunk(uint64_t n);


#endif
