/* cmodel — the same values in C structures on x86_64 with glibc malloc.
 *
 * Each structure holds the values in the narrowest C type that stores all
 * of them exactly (int8_t .. uint64_t, float or double; char * to a
 * malloc'ed copy for strings). Heap bytes are glibc chunk sizes
 * (ms_glibc_chunk: what malloc really takes, header and alignment
 * included), so they match malloc_usable_size() + 8 per block. Only heap
 * memory counts: a vector's or a hash set's few header words live wherever
 * the program keeps them.
 *
 * Pure functions; thread-safe. */
#ifndef MS_CMODEL_H
#define MS_CMODEL_H

#include <stdint.h>

#include "values.h"

enum { MS_C_ARRAY, MS_C_VECTOR, MS_C_LIST, MS_C_HASHSET, MS_C_STRINGS_MALLOC, MS_C_STRINGS_ARENA,
       MS_C_STRUCTURES };
extern const char *const ms_c_structure[MS_C_STRUCTURES];

typedef struct {
    int available;
    uint64_t count, shallow, deep;
    const char *ctype;         /* element type: "uint8_t", "char *", ... */
    const char *note;
} ms_csize;

void ms_c_size(int structure, const ms_result *r, ms_csize *out);

#endif
