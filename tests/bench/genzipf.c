/* genzipf — a seeded Zipf request trace for cachesim's tests and benchmark.
 *
 * Usage: genzipf -n REQUESTS -m OBJECTS [-a ALPHA] [-s SEED] [-z MIN:MAX]
 *                [-x FRACTION] [-r PER_SECOND] [-f oracle|text|keys] [-o FILE]
 *
 * Object of popularity rank r (0 = most popular) is requested with
 * probability proportional to 1 / (r+1)^ALPHA (default 1.0): a uniform draw
 * is located by binary search in the cumulative table of those weights. Its
 * key is a bijective 64-bit mix of (r, SEED), so popular keys are not
 * 0, 1, 2 and different seeds give different keys. Its size is fixed per
 * object, uniform in MIN..MAX from a hash of (r, SEED) (default 1:1, so
 * bytes = objects). -x writes that fraction of the requests (chosen by the
 * random stream) with size 0, to test that readers skip them. Timestamps
 * are request_index / PER_SECOND (default 1: one request a second).
 *
 * Formats:
 *   oracle  libCacheSim oracleGeneral: packed 24-byte little-endian records
 *           u32 time, u64 obj_id, u32 obj_size, i64 next_access_vtime, where
 *           next_access_vtime is the 1-based index of the next record with
 *           the same obj_id, or -1 if there is none — what libCacheSim's
 *           traceConv writes (convert_to_oracleGeneral + _reverse_file) and
 *           its reader expects (it maps -1 and INT64_MAX to "never"). Every
 *           record counts, size-0 ones included. Computed in a backward pass,
 *           so this format holds 13 bytes per request in memory.
 *   text    memkit cache trace: "#memkit cache v1", then "TS get KEY SIZE".
 *   keys    one KEY per line.
 * Same options and seed → the same bytes, on any platform.
 * Build: cc -O2 -std=gnu11 -Wall -Wextra -Werror -o genzipf genzipf.c -lm */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* bijective on 64-bit values (xor-shift and odd multiplications) */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void die(const char *msg)
{
    fprintf(stderr, "genzipf: %s\n", msg);
    exit(2);
}

static void usage(void)
{
    fprintf(stderr, "usage: genzipf -n REQUESTS -m OBJECTS [-a ALPHA] [-s SEED] [-z MIN:MAX]\n"
                    "               [-x FRACTION] [-r PER_SECOND] [-f oracle|text|keys] [-o FILE]\n");
    exit(2);
}

static uint64_t num(const char *s, const char *what)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || *s == '-') {
        fprintf(stderr, "genzipf: bad %s '%s'\n", what, s);
        exit(2);
    }
    return v;
}

static double dbl(const char *s, const char *what)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 0)) {
        fprintf(stderr, "genzipf: bad %s '%s'\n", what, s);
        exit(2);
    }
    return v;
}

static void put_le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) p[i] = (unsigned char)(v >> (8 * i));
}

int main(int argc, char **argv)
{
    uint64_t n = 0, m = 0, seed = 1, zmin = 1, zmax = 1, rate = 1;
    double alpha = 1.0, zero_frac = 0;
    const char *fmt = "oracle", *out = NULL;
    int have_n = 0, have_m = 0, c;
    while ((c = getopt(argc, argv, "n:m:a:s:z:x:r:f:o:h")) != -1) {
        switch (c) {
        case 'n': n = num(optarg, "request count"); have_n = 1; break;
        case 'm': m = num(optarg, "object count"); have_m = 1; break;
        case 'a': alpha = dbl(optarg, "alpha"); break;
        case 's': seed = num(optarg, "seed"); break;
        case 'z': {
            char *colon = strchr(optarg, ':');
            if (!colon) die("-z wants MIN:MAX");
            *colon = 0;
            zmin = num(optarg, "minimum size");
            zmax = num(colon + 1, "maximum size");
            if (zmin > zmax || zmax > UINT32_MAX) die("-z wants MIN <= MAX <= 4294967295");
            break;
        }
        case 'x': zero_frac = dbl(optarg, "size-0 fraction"); if (zero_frac > 1) die("-x wants 0..1"); break;
        case 'r': rate = num(optarg, "rate"); if (!rate) die("-r wants >= 1"); break;
        case 'f': fmt = optarg; break;
        case 'o': out = optarg; break;
        default: usage();
        }
    }
    if (optind != argc || !have_n || !have_m) usage();
    int f_oracle = !strcmp(fmt, "oracle") || !strcmp(fmt, "oracleGeneral");
    int f_text = !strcmp(fmt, "text"), f_keys = !strcmp(fmt, "keys");
    if (!f_oracle && !f_text && !f_keys) die("-f wants oracle, text or keys");
    if (m == 0 && n > 0) die("-m must be at least 1");
    if (m > UINT32_MAX) die("-m at most 4294967295");

    /* cumulative weights: cdf[r] = sum_{j<=r} 1/(j+1)^alpha */
    double *cdf = malloc((m ? m : 1) * sizeof *cdf);
    if (!cdf) die("out of memory");
    double total = 0;
    for (uint64_t r = 0; r < m; r++) {
        total += alpha == 1.0 ? 1.0 / (double)(r + 1) : pow((double)(r + 1), -alpha);
        cdf[r] = total;
    }
    const uint64_t key_salt = mix64(seed ^ 0x6A09E667F3BCC909ull);
    const uint64_t size_salt = mix64(seed ^ 0xBB67AE8584CAA73Bull);
    const uint64_t span = zmax - zmin + 1;
    uint64_t rng = seed;

    FILE *o = stdout;
    if (out && !(o = fopen(out, "wb"))) {
        fprintf(stderr, "genzipf: %s: %s\n", out, strerror(errno));
        return 2;
    }
    static char obuf[1 << 16];
    setvbuf(o, obuf, _IOFBF, sizeof obuf);

    uint32_t *rank = NULL;
    uint8_t *zero = NULL;
    if (f_oracle) {
        rank = malloc((n ? n : 1) * sizeof *rank);
        zero = malloc(n ? n : 1);
        if (!rank || !zero) die("out of memory");
    } else if (f_text) {
        fputs("#memkit cache v1\n", o);
    }
    for (uint64_t i = 0; i < n; i++) {
        /* 53 random bits → u in [0, total) */
        double u = (double)(splitmix(&rng) >> 11) * (1.0 / 9007199254740992.0) * total;
        uint64_t lo = 0, hi = m - 1; /* first r with cdf[r] > u */
        while (lo < hi) {
            uint64_t mid = lo + (hi - lo) / 2;
            if (cdf[mid] > u) hi = mid; else lo = mid + 1;
        }
        int z = zero_frac > 0 && (double)(splitmix(&rng) >> 11) * (1.0 / 9007199254740992.0) < zero_frac;
        if (f_oracle) {
            rank[i] = (uint32_t)lo;
            zero[i] = (uint8_t)z;
        } else {
            uint64_t key = mix64(lo + key_salt);
            if (f_keys) {
                fprintf(o, "%llu\n", (unsigned long long)key);
            } else {
                uint64_t size = z ? 0 : zmin + mix64(lo ^ size_salt) % span;
                fprintf(o, "%llu get %llu %llu\n", (unsigned long long)(i / rate),
                        (unsigned long long)key, (unsigned long long)size);
            }
        }
    }
    if (f_oracle) {
        /* backward pass: next[i] = 1-based index of the next request of the
         * same object, -1 if none */
        int64_t *next = malloc((n ? n : 1) * sizeof *next);
        int64_t *last = malloc((m ? m : 1) * sizeof *last);
        if (!next || !last) die("out of memory");
        for (uint64_t r = 0; r < m; r++) last[r] = -1;
        for (uint64_t i = n; i-- > 0;) {
            next[i] = last[rank[i]];
            last[rank[i]] = (int64_t)i + 1;
        }
        unsigned char rec[24];
        for (uint64_t i = 0; i < n; i++) {
            uint64_t r = rank[i];
            uint64_t size = zero[i] ? 0 : zmin + mix64(r ^ size_salt) % span;
            put_le(rec, (uint32_t)(i / rate), 4);
            put_le(rec + 4, mix64(r + key_salt), 8);
            put_le(rec + 12, size, 4);
            put_le(rec + 16, (uint64_t)next[i], 8);
            fwrite(rec, 1, sizeof rec, o);
        }
        free(next);
        free(last);
    }
    if (fflush(o) != 0 || ferror(o) || (out && fclose(o) != 0)) {
        fprintf(stderr, "genzipf: write error: %s\n", strerror(errno));
        return 2;
    }
    free(cdf);
    free(rank);
    free(zero);
    return 0;
}
