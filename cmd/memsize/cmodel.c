/* cmodel — C structure sizes from tallies. See cmodel.h. */
#include "cmodel.h"

#include <string.h>

const char *const ms_c_structure[MS_C_STRUCTURES] = {
    "array", "vector", "list", "hashset", "strings-malloc", "strings-arena",
};

/* The narrowest element type; 0 bytes when none holds every value. */
static uint64_t element(const ms_result *r, const char **name, int *is_str)
{
    *is_str = 0;
    if (r->n_str) {
        *is_str = 1;
        *name = "char *";
        return 8;
    }
    if (r->big_int) {
        *name = NULL;
        return 0;
    }
    if (r->n_float) {
        *name = r->f32_exact ? "float" : "double";
        return r->f32_exact ? 4 : 8;
    }
    static const char *const names[8] = { "int8_t", "uint8_t", "int16_t", "uint16_t",
                                          "int32_t", "uint32_t", "int64_t", "uint64_t" };
    int w = ms_narrowest_int(r);
    *name = w < 0 ? NULL : names[w];
    return w < 0 ? 0 : (uint64_t)1 << (w / 2);
}

static uint64_t block(uint64_t bytes)
{
    return bytes ? ms_glibc_chunk(bytes) : 0;
}

static uint64_t pow2_at_least(uint64_t n)
{
    uint64_t c = 1;
    while (c < n)
        c <<= 1;
    return c;
}

void ms_c_size(int structure, const ms_result *r, ms_csize *out)
{
    memset(out, 0, sizeof *out);
    int is_str;
    uint64_t e = element(r, &out->ctype, &is_str);
    out->available = 1;
    out->count = r->n;
    if (structure == MS_C_STRINGS_MALLOC || structure == MS_C_STRINGS_ARENA) {
        /* the values' text, however they were typed */
        out->ctype = "char *";
        out->shallow = block(8 * r->n);
        out->deep = out->shallow + (structure == MS_C_STRINGS_MALLOC
                                        ? r->text_chunks
                                        : block(r->text_bytes ? pow2_at_least(r->text_bytes) : 0));
        return;
    }
    if (!e) {
        out->available = 0;
        out->note = "n/a: integers beyond 64 bits";
        return;
    }
    uint64_t strings = is_str ? r->all.c_chunks : 0;
    switch (structure) {
    case MS_C_ARRAY:
        out->shallow = block(e * r->n);
        break;
    case MS_C_VECTOR:
        out->shallow = r->n ? block(e * pow2_at_least(r->n)) : 0;
        break;
    case MS_C_LIST: {
        uint64_t node = (8 + e + 7) & ~(uint64_t)7;   /* next pointer, value */
        out->shallow = r->n * ms_glibc_chunk(node);
        break;
    }
    case MS_C_HASHSET: {
        out->count = r->distinct;
        uint64_t cap = 8;
        while (r->distinct * 4 > cap * 3)
            cap <<= 1;
        /* strings mark empty slots with NULL; numbers need a bitmap */
        out->shallow = block(e * cap) + (is_str ? 0 : block(cap / 8));
        strings = is_str ? r->uniq.c_chunks : 0;
        break;
    }
    }
    out->deep = out->shallow + strings;
}
