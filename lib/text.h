/* text — small string helpers shared by option, key and column look-ups.
 *
 * mk_nearest() picks the candidate closest to a misspelt name (Damerau-free
 * Levenshtein distance, at most about a third of the name's length), so that
 * every "unknown X" message can say "did you mean Y?". Pure functions,
 * thread-safe, no allocation beyond a fixed stack buffer (names over 255
 * bytes are compared only for equality). */
#ifndef MK_TEXT_H
#define MK_TEXT_H

#include <stddef.h>

size_t mk_edit_distance(const char *a, size_t na, const char *b, size_t nb);
/* Index of the nearest candidate, or -1 when none is close enough. */
int mk_nearest(const char *name, size_t len, const char *const *cands, size_t n);

#endif
