/* The recorder's benchmark program: N malloc/free pairs (default
 * 5000000) of mixed sizes through a ring of 1024 live slots — each step
 * frees the block in slot i % 1024 and puts a new one there; at the end the
 * ring is emptied. Sizes come from a fixed LCG: 15 in 16 are 16..271 B, one
 * in 16 is 1024..5119 B. With "deep", every allocation goes through a chain
 * of three noinline functions (so --frames has something to walk). Built
 * with -O2 -fno-omit-frame-pointer.
 *   rec-bench [deep] [N] [peak]   "peak" prints the program's own reckoning
 *                                 of the peak of its live bytes
 * Truth at exit: live 0 B in 0 blocks; allocs N, frees N; peak 418900 B
 * for the default N (the "peak" argument prints it for any N; 399444 B
 * for N = 100000). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { RING = 1024 };

static void *ring[RING];
static size_t sizes[RING];

__attribute__((noinline)) static void *leaf(size_t n)
{
    void *p = malloc(n);
    __asm__ volatile("" ::"r"(p) : "memory");
    return p;
}

__attribute__((noinline)) static void *middle(size_t n)
{
    void *p = leaf(n);
    __asm__ volatile("" ::"r"(p) : "memory");
    return p;
}

__attribute__((noinline)) static void *outer(size_t n)
{
    void *p = middle(n);
    __asm__ volatile("" ::"r"(p) : "memory");
    return p;
}

int main(int argc, char **argv)
{
    int deep = 0, peak_out = 0;
    long n = 5000000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "deep"))
            deep = 1;
        else if (!strcmp(argv[i], "peak"))
            peak_out = 1;
        else
            n = atol(argv[i]);
    }
    unsigned x = 1;
    size_t live = 0, peak = 0;
    for (long i = 0; i < n; i++) {
        size_t s = i % RING;
        if (ring[s]) {
            free(ring[s]);
            live -= sizes[s];
        }
        x = x * 1103515245u + 12345u;
        unsigned r = x >> 8;
        size_t sz = r % 16 ? 16 + r % 256 : 1024 + r % 4096;
        ring[s] = deep ? outer(sz) : malloc(sz);
        if (!ring[s])
            return 1;
        sizes[s] = sz;
        live += sz;
        if (live > peak)
            peak = live;
    }
    for (int s = 0; s < RING; s++)
        free(ring[s]);
    if (peak_out)
        printf("%zu\n", peak);
    return 0;
}
