/* genints — N pseudo-random integers, one a line, for the memsize benchmark.
 * Usage: genints N [SEED [MAX]]: values uniform in [-MAX/10, MAX) (default
 * MAX 1e9, ~10 bytes a line), from a seeded xorshift, so every run of the
 * benchmark reads the same bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: genints N [SEED [MAX]]\n");
        return 2;
    }
    uint64_t n = strtoull(argv[1], NULL, 10);
    uint64_t x = argc > 2 ? strtoull(argv[2], NULL, 10) * 0x9E3779B97F4A7C15ull + 1 : 88172645463325252ull;
    int64_t max = argc > 3 ? strtoll(argv[3], NULL, 10) : 1000000000;
    static char buf[1 << 16];
    setvbuf(stdout, buf, _IOFBF, sizeof buf);
    for (uint64_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int64_t span = max + max / 10;
        printf("%lld\n", (long long)((int64_t)(x % (uint64_t)span) - max / 10));
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
