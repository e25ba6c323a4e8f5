/* intern — byte strings to dense ids and back (see intern.h). */
#include "intern.h"

#include "err.h"

struct str {
    const char *p;
    size_t len;
};

void mk_intern_init(mk_intern *in, size_t hint)
{
    mk_map_init(&in->ids, hint);
    mk_vec_init(&in->strs, sizeof(struct str));
    mk_vec_reserve(&in->strs, hint);
}

void mk_intern_free(mk_intern *in)
{
    mk_map_free(&in->ids);
    mk_vec_free(&in->strs);
}

uint32_t mk_intern_id(mk_intern *in, const void *s, size_t len)
{
    int inserted;
    uint64_t *v = mk_map_put(&in->ids, s, len, &inserted);
    if (inserted) {
        size_t id = mk_vec_len(&in->strs);
        /* UINT32_MAX stays free so callers can use it as "no id". */
        if (id >= UINT32_MAX)
            mk_die("more than %lu distinct strings", (unsigned long)UINT32_MAX);
        *v = id;
        struct str *e = mk_vec_push(&in->strs);
        /* Point at the map's own copy: the bytes are stored once. */
        e->p = mk_map_key_of(v, &e->len);
    }
    return (uint32_t)*v;
}

int mk_intern_find(const mk_intern *in, const void *s, size_t len, uint32_t *id)
{
    const uint64_t *v = mk_map_get(&in->ids, s, len);
    if (!v)
        return 0;
    if (id)
        *id = (uint32_t)*v;
    return 1;
}

const char *mk_intern_str(const mk_intern *in, uint32_t id, size_t *len)
{
    const struct str *e = mk_vec_get(&in->strs, id);
    if (len)
        *len = e ? e->len : 0;
    return e ? e->p : NULL;
}

size_t mk_intern_count(const mk_intern *in)
{
    return mk_vec_len(&in->strs);
}

size_t mk_intern_bytes(const mk_intern *in)
{
    return mk_map_bytes(&in->ids) + mk_vec_bytes(&in->strs);
}
