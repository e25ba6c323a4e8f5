/* glibc-chunks — ground truth for memsize's C model: for each request size
 * n, the chunk glibc's malloc really takes, read from the chunk header (the
 * size word before the pointer, flag bits masked) and checked against
 * malloc_usable_size(): usable + 8 for heap chunks, usable + 16 for mmapped
 * ones. Big sizes are each measured in a fresh child: freeing an mmapped
 * chunk raises glibc's mmap threshold, and memsize models a program's
 * first allocation of that size. Prints "n chunk" lines; tests/memsize.bats compares them with
 * memsize's figures. Build without sanitizers: ASan replaces malloc. */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int one(size_t n)
{
    unsigned char *p = malloc(n);
    if (!p)
        return -1;
    /* The header is outside the object malloc returned: hide the pointer's
     * origin from the compiler, which would call the read out of bounds. */
    uintptr_t a = (uintptr_t)p - sizeof(size_t);
    __asm__("" : "+r"(a));
    size_t word = *(const size_t *)a;
    size_t chunk = word & ~(size_t)7;
    int mmapped = (word & 2) != 0;
    size_t usable = malloc_usable_size(p);
    if (usable + (mmapped ? 16 : 8) != chunk) {
        fprintf(stderr, "n=%zu: chunk %zu but usable %zu\n", n, chunk, usable);
        return -1;
    }
    printf("%zu %zu\n", n, chunk);
    free(p);
    return 0;
}

int main(void)
{
    static const size_t big[] = { 4096, 65536, 131064, 131071, 131072, 131073, 200000, 1048576, 10000000 };
    for (size_t n = 0; n <= 1100; n++)
        if (one(n) < 0)
            return 1;
    fflush(stdout);
    for (size_t i = 0; i < sizeof big / sizeof *big; i++) {
        pid_t pid = fork();
        if (pid < 0)
            return 1;
        if (pid == 0)
            _exit(one(big[i]) < 0 || fflush(stdout) != 0);
        int st;
        if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            return 1;
    }
    return 0;
}
