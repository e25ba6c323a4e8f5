/* word — short byte strings as machine words, for the hot paths that
 * compare or parse a few bytes at a time (chunkproc's numbers and its
 * distinct sets) without a loop over the bytes or a variable-length memcpy.
 *
 * mk_load_short reads one unaligned word that may cover bytes outside the
 * caller's buffer, but never outside the 4 KiB-aligned block (so never the
 * page) that holds the bytes asked for; those bytes are masked off. It is
 * therefore exempt from ASan, and valgrind may name such a read. Header-only:
 * every function is static inline. */
#ifndef MK_WORD_H
#define MK_WORD_H

#include <stddef.h>
#include <stdint.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "word.h: the word layouts assume a little-endian machine"
#endif

typedef uint64_t __attribute__((may_alias, aligned(1))) mk_u64_unaligned;

/* A mask of bytes 0..k-1 of a word (k in 1..8). */
static inline uint64_t mk_low_bytes(size_t k)
{
    return ~0ull >> (64 - 8 * k);
}

/* p[0..k) (k in 1..8) in the low bytes of a word, the rest zero: byte 0 is
 * the least significant, as in memory on a little-endian machine. */
__attribute__((no_sanitize_address)) static inline uint64_t mk_load_short(const void *p, size_t k)
{
    const char *c = p;
    uint64_t w;
    if (((uintptr_t)c & 4095) <= 4096 - 8)
        w = *(const mk_u64_unaligned *)c;
    else
        w = *(const mk_u64_unaligned *)(c + k - 8) >> (8 * (8 - k));
    return w & mk_low_bytes(k);
}

#endif
