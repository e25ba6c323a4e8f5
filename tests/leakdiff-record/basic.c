/* basic: mallocs, a calloc, frees and one leak of known size; no stdio, so
 * every block traced is one of these.
 *   malloc 100 (freed), malloc 200 (freed), calloc 10 x 30 = 300 (freed),
 *   malloc 1000 (leaked), malloc 0 (freed).
 * Truth at exit: live 1000 B in 1 block; peak 1600 B (100 + 200 + 300 +
 * 1000, before the first free); allocs 5, frees 4. */
#include <stdlib.h>

static void *volatile keep;
/* Through a volatile pointer, so that the compiler cannot drop a
 * malloc/free pair. */
static void *(*volatile alloc)(size_t) = malloc;

int main(void)
{
    char *a = malloc(100), *b = malloc(200), *c = calloc(10, 30);
    keep = malloc(1000);
    if (!a || !b || !c || !keep)
        return 1;
    a[0] = b[0] = c[0] = 1;
    free(a);
    free(b);
    free(c);
    free(alloc(0));
    return 0;
}
