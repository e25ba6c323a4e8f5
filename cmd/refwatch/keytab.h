/* keytab — names of objects and weak references, and a table from name to
 * record that shrinks as records die.
 *
 * refwatch's memory must follow the live objects, not the log: a log of a
 * billion events over a million addresses, or over ever new names, may not
 * keep a byte per dead name. So a name is held in a 16-byte rw_key inside
 * its record: up to 15 bytes inline; a longer run of hex digits (a 64-bit
 * "0x00007f3a4c001230") packed as its value, digit count and spelling;
 * anything else in a size-classed store whose blocks are reused when the
 * record dies. Each encoding is canonical (one string, one key), so keys
 * compare with one 16-byte memcmp except long ones.
 *
 * rw_tab maps keys to record indices with open addressing and backward-
 * shift deletion (no tombstones), 8 bytes a slot (32 hash bits and the
 * index), at most 75 % full. Records
 * live in the caller's array, key first; the table reaches them through a
 * pointer to the array pointer, so the array may move.
 *
 * Single-threaded; the table and store own what they allocate. */
#ifndef RW_KEYTAB_H
#define RW_KEYTAB_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"

typedef struct {
    unsigned char b[16];
} rw_key;

/* Long key bytes: size classes of 16 bytes, freed blocks reused. */
typedef struct {
    mk_arena arena;
    void *free[64];            /* class c holds 16 * (c + 1) bytes; larger: malloc */
    size_t bytes;              /* bytes now held by long keys */
} rw_keystore;

void rw_keystore_init(rw_keystore *ks);
void rw_keystore_free(rw_keystore *ks);

void rw_key_make(rw_key *k, rw_keystore *ks, const char *s, size_t n);
/* A key for lookups only: long keys point at s (nothing is stored). */
void rw_key_probe(rw_key *k, const char *s, size_t n);
void rw_key_drop(rw_key *k, rw_keystore *ks);
int rw_key_eq_long(const rw_key *a, const rw_key *b);
/* A long key points at bytes elsewhere (its probe, at the caller's). */
static inline int rw_key_is_long(const rw_key *k)
{
    return k->b[15] == 0x80;
}
static inline int rw_key_eq(const rw_key *a, const rw_key *b)
{
    if (a->b[15] != 0x80 || b->b[15] != 0x80)
        return __builtin_memcmp(a, b, sizeof *a) == 0;
    return rw_key_eq_long(a, b);
}
/* The name back into buf (at least 40 bytes) or, for long keys, a pointer
 * to the stored bytes; NUL-terminated either way (except for a probe key
 * of a long name: its caller's bytes); *n gets the length. */
const char *rw_key_str(const rw_key *k, char *buf, size_t *n);
uint64_t rw_hash(const char *s, size_t n);

/* A name that is hex digits of one case, maybe behind 0x or 0X, with at
 * most max_digits digits: 1, its value, digit count and spelling (RW_SP_*
 * bits), from which rw_hex_spell() writes it back exactly; else 0. */
enum { RW_SP_UPPER = 1, RW_SP_0x = 2, RW_SP_0X = 4 };
int rw_hex_name(const char *s, size_t n, size_t max_digits, uint64_t *v, unsigned *digits, unsigned *sp);
size_t rw_hex_spell(char *buf, uint64_t v, unsigned digits, unsigned sp);   /* buf: 19 bytes */

typedef struct {
    uint64_t *slots;           /* (hash tag << 32) | (index + 1); 0 = empty */
    size_t cap, len;
    void *const *base;         /* the records' array */
    size_t stride;             /* bytes per record; the rw_key is at offset 0 */
} rw_tab;

void rw_tab_init(rw_tab *t, void *const *base, size_t stride);
void rw_tab_free(rw_tab *t);
/* The record index for key k (hash h), or UINT32_MAX. */
uint32_t rw_tab_find(const rw_tab *t, const rw_key *k, uint64_t h);
/* Point key k's slot at record idx instead (its key must be k's): the
 * record it named before, or UINT32_MAX (then nothing changed). */
uint32_t rw_tab_retarget(rw_tab *t, const rw_key *k, uint64_t h, uint32_t idx);
void rw_tab_put(rw_tab *t, uint64_t h, uint32_t idx);     /* key not present */
void rw_tab_del(rw_tab *t, uint64_t h, uint32_t idx);     /* idx present */
/* The slot keeps the low 32 bits of the hash: they hold the home position
 * (so neither growth nor deletion rehashes a name) and the bits above it
 * tell most other names apart without reading their record. */
static inline uint32_t rw_tab_tag(uint64_t h)
{
    return (uint32_t)h;
}

static inline const rw_key *rw_tab_key(const rw_tab *t, uint32_t idx)
{
    return (const rw_key *)((const char *)*t->base + (size_t)idx * t->stride);
}

/* Lookups in a pipeline, inline: they run for every event. A function
 * that only prefetches must be always_inline: GCC 12 takes it for one
 * without effects and deletes its calls (it did, and refwatch ran 1.6x
 * slower). */
__attribute__((always_inline)) static inline void rw_tab_prefetch(const rw_tab *t, uint64_t h)
{
    __builtin_prefetch(&t->slots[(size_t)h & (t->cap - 1)]);
}

/* Second stage, once the home slot has arrived: the record index of the
 * first slot of h's run whose tag matches, its record prefetched, or
 * UINT32_MAX. A likely hit for a name that is present, never an answer:
 * the caller checks the record's key (rw_tab_find when it differs). It
 * looks 8 slots along at most: one or two cache lines, where nearly every
 * name sits in a table at most three quarters full. */
__attribute__((always_inline)) static inline uint32_t rw_tab_guess(const rw_tab *t, uint64_t h)
{
    size_t mask = t->cap - 1, i = (size_t)h & mask;
    uint32_t tag = rw_tab_tag(h);
    for (int k = 0; k < 8; k++, i = (i + 1) & mask) {
        uint64_t s = t->slots[i];
        if (!s)
            break;
        if ((uint32_t)(s >> 32) == tag) {
            __builtin_prefetch(rw_tab_key(t, (uint32_t)s - 1));
            return (uint32_t)s - 1;
        }
    }
    return UINT32_MAX;
}
size_t rw_tab_bytes(const rw_tab *t);

#endif
