/* Aligned allocations and reallocarray, each recorded with the size the
 * program asked for:
 *   posix_memalign(64, 100)      freed at the end
 *   aligned_alloc(128, 256)      kept
 *   memalign(32, 50)             kept
 *   valloc(10)                   kept
 *   pvalloc(100)                 freed at the end (glibc rounds it to a page;
 *                                the trace says 100)
 *   reallocarray(NULL, 10, 12)   an allocation of 120, then
 *   reallocarray(r, 20, 12)      a realloc to 240, kept
 *   reallocarray(r, huge, 2) overflows: NULL, ENOMEM, no event
 * Truth at exit: live 556 B in 4 blocks (256 + 50 + 10 + 240); peak 756 B
 * (100 + 256 + 50 + 10 + 100 + 240); allocs 6, reallocs 1, frees 2. */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>

static void *volatile keep[4];
static volatile size_t huge = SIZE_MAX;

int main(void)
{
    void *a = NULL;
    if (posix_memalign(&a, 64, 100) != 0)
        return 1;
    keep[0] = aligned_alloc(128, 256);
    keep[1] = memalign(32, 50);
    keep[2] = valloc(10);
    void *e = pvalloc(100);
    void *r = reallocarray(NULL, 10, 12);
    r = reallocarray(r, 20, 12);
    errno = 0;
    if (reallocarray(r, huge, 2) != NULL || errno != ENOMEM)
        return 1;
    keep[3] = r;
    free(a);
    free(e);
    return !keep[0] || !keep[1] || !keep[2] || !keep[3];
}
