/* realloc chains, through volatile function pointers so that the compiler
 * keeps every call:
 *   p = malloc(10); p = realloc(p, 20); p = realloc(p, 400)   (kept)
 *   q = realloc(NULL, 30)            an allocation
 *   q = realloc(q, 0)                a free (glibc returns NULL)
 *   free(malloc(5))
 *   a failed realloc (SIZE_MAX): no event, p unchanged
 * Truth at exit: live 400 B in 1 block; peak 430 B (400 + 30); allocs 3
 * (malloc 10, realloc(NULL, 30), malloc 5), reallocs 2, frees 2. */
#include <stdint.h>
#include <stdlib.h>

static void *(*volatile mal)(size_t) = malloc;
static void *(*volatile rea)(void *, size_t) = realloc;
static void (*volatile fre)(void *) = free;
static void *volatile keep;

int main(void)
{
    char *p = mal(10);
    p = rea(p, 20);
    p = rea(p, 400);
    void *q = rea(NULL, 30);
    q = rea(q, 0);
    fre(mal(5));
    if (rea(p, SIZE_MAX) != NULL)
        return 1;
    keep = p;
    return p == NULL || q != NULL;
}
