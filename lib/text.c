/* text — edit distance and nearest-name suggestions (see text.h). */
#include "text.h"

#include <string.h>

size_t mk_edit_distance(const char *a, size_t na, const char *b, size_t nb)
{
    if (na > 255 || nb > 255)
        return na == nb && memcmp(a, b, na) == 0 ? 0 : (na > nb ? na : nb);
    size_t row[256];
    for (size_t j = 0; j <= nb; j++)
        row[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
}

int mk_nearest(const char *name, size_t len, const char *const *cands, size_t n)
{
    int best = -1;
    size_t best_d = (len + 2) / 3 + 1;   /* farther than this is no suggestion */
    for (size_t i = 0; i < n; i++) {
        if (!cands[i])
            continue;
        size_t cl = strlen(cands[i]);
        size_t d = mk_edit_distance(name, len, cands[i], cl);
        /* A prefix ("--thread" for "--threads") is a strong hint too. */
        if (len >= 3 && cl > len && strncmp(cands[i], name, len) == 0 && d > 1)
            d = 1;
        if (d < best_d) {
            best_d = d;
            best = (int)i;
        }
    }
    return best;
}
